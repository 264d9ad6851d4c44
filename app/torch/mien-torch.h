/* mien-torch.h — Mien's C interface to libtorch.
 *
 * Plain C: no C++ header is reachable from here. Conventions (DESIGN.md, Architecture):
 *  - handles are opaque (MienTensor, MienOptimizer, guards), never void *;
 *  - every function that can fail takes `GError **error` last and returns NULL/FALSE on failure;
 *    no C++ exception ever crosses this boundary;
 *  - returned handles belong to the caller (free them, or use g_autoptr); arguments are borrowed;
 *  - a MienTensor handle is a reference to a libtorch tensor: two handles may share storage and
 *    autograd identity (mien_tensor_alias), exactly like two at::Tensor values.
 *
 * GObject-Introspection annotations: where a declaration's comment names none, a returned handle
 * is (transfer full) (nullable), NULL exactly when the GError is set, and arguments are
 * (transfer none) and not nullable; comments annotate what differs or is not obvious.
 *
 * Ops return a new tensor; functions whose name ends in `_` work in place, as in PyTorch.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MIEN_TORCH_ERROR (mien_torch_error_quark ())
GQuark mien_torch_error_quark (void);

typedef enum {
  MIEN_TORCH_ERROR_FAILED,           /* libtorch raised an error; the message is libtorch's */
  MIEN_TORCH_ERROR_INVALID_ARGUMENT, /* rejected by the shim before reaching libtorch */
  MIEN_TORCH_ERROR_NO_DEVICE,        /* the device is absent, or this libtorch lacks CUDA */
  MIEN_TORCH_ERROR_OUT_OF_MEMORY,    /* host or device allocation failed */
} MienTorchError;

/* Element types. The order is stable (it is part of the plugin ABI). */
typedef enum {
  MIEN_DTYPE_FLOAT32,
  MIEN_DTYPE_FLOAT16,
  MIEN_DTYPE_BFLOAT16,
  MIEN_DTYPE_FLOAT64,
  MIEN_DTYPE_INT64,
  MIEN_DTYPE_INT32,
  MIEN_DTYPE_INT16,
  MIEN_DTYPE_INT8,
  MIEN_DTYPE_UINT8,
  MIEN_DTYPE_BOOL,
} MienDType;

#define MIEN_DTYPE_N_TYPES (MIEN_DTYPE_BOOL + 1)

gsize        mien_dtype_size           (MienDType dtype);
/* "float32", "bfloat16", ...
 * Returns: (transfer none): a static string. */
const char  *mien_dtype_to_string      (MienDType dtype);
gboolean     mien_dtype_is_floating    (MienDType dtype);

typedef enum {
  MIEN_DEVICE_CPU,
  MIEN_DEVICE_CUDA,
  /* Shapes without storage: lets a var store count parameters without allocating them. Ops on
   * meta tensors give meta tensors of the right shape (a forward pass works, for shapes only);
   * in-place ops (fills, initialisers, copy_, set_data_) succeed and do nothing; reading data
   * (to_host, item) fails. Meta and real tensors never mix in one op. */
  MIEN_DEVICE_META,
} MienDeviceType;

typedef struct {
  MienDeviceType type;
  int index; /* CUDA ordinal; 0 for cpu and meta */
} MienDevice;

#define MIEN_DEVICE_INIT_CPU { MIEN_DEVICE_CPU, 0 }

MienDevice   mien_device_cpu           (void);
MienDevice   mien_device_cuda          (int index);
/* Accepts "cpu", "cuda", "cuda:N" and "meta"; fails with MIEN_TORCH_ERROR_NO_DEVICE when the
 * device does not exist here (no CUDA in this libtorch, or N out of range), and with
 * MIEN_TORCH_ERROR_INVALID_ARGUMENT for anything else ("gpu", "cuda:x").
 * @out: (out caller-allocates). */
gboolean     mien_device_parse         (const char  *str,
                                        MienDevice  *out,
                                        GError     **error);
/* The same without the check that the device exists here: files written on another machine
 * name devices this one may not have. */
gboolean     mien_device_parse_name    (const char  *str,
                                        MienDevice  *out,
                                        GError     **error);
/* Whether `device` exists here (MIEN_TORCH_ERROR_NO_DEVICE, saying why, when not). */
gboolean     mien_device_check         (MienDevice   device,
                                        GError     **error);
/* Returns: (transfer full). */
char        *mien_device_to_string     (MienDevice   device);
gboolean     mien_device_equal         (MienDevice   a,
                                        MienDevice   b);

/* ---- Process-wide state ---------------------------------------------------------------- */

/* Idempotent and thread-safe. Sets libtorch's intra-op thread count from
 * g_get_num_processors () (libtorch defaults to 1 here) unless MIEN_NUM_THREADS says otherwise. */
void         mien_torch_init           (void);
/* Returns: (transfer none). */
const char  *mien_torch_version        (void);
int          mien_torch_get_num_threads (void);
void         mien_torch_set_num_threads (int n_threads);
/* Seeds libtorch's CPU and CUDA generators. */
void         mien_torch_manual_seed    (guint64 seed);

gboolean     mien_torch_cuda_is_available (void);
int          mien_torch_cuda_device_count (void);
/* The marketing name of CUDA device `index`, e.g. "NVIDIA H100 80GB HBM3".
 * Returns: (transfer full) (nullable). */
char        *mien_torch_cuda_device_name  (int          index,
                                           GError     **error);
gboolean     mien_torch_cuda_synchronize  (int          index,
                                           GError     **error);

/* Grad mode is per thread, as in libtorch. A guard restores the previous mode when freed, and
 * must be freed on the thread that made it. */
typedef struct _MienNoGradGuard MienNoGradGuard;
/* Returns: (transfer full). */
MienNoGradGuard *mien_no_grad_guard_new  (void);
void             mien_no_grad_guard_free (MienNoGradGuard *guard);
gboolean         mien_torch_is_grad_enabled (void);

/* Mixed precision: inside the guard, eligible ops (conv, linear, matmul) run in `dtype`
 * (MIEN_DTYPE_FLOAT16 or MIEN_DTYPE_BFLOAT16) on devices of `device_type`. */
typedef struct _MienAutocastGuard MienAutocastGuard;
/* Returns: (transfer full) (nullable). */
MienAutocastGuard *mien_autocast_guard_new  (MienDeviceType   device_type,
                                             MienDType        dtype,
                                             GError         **error);
void               mien_autocast_guard_free (MienAutocastGuard *guard);

/* ---- Tensors --------------------------------------------------------------------------- */

typedef struct _MienTensor MienTensor;

void         mien_tensor_free          (MienTensor *tensor);

/* Copies `data` (host memory, C-contiguous, mien_dtype_size (dtype) * numel bytes).
 * @data: (array) (element-type guint8); @shape: (array length=ndim). */
MienTensor  *mien_tensor_new_from_data (const void    *data,
                                        MienDType      dtype,
                                        const gint64  *shape,
                                        int            ndim,
                                        GError       **error);
/* @shape: (array length=ndim). */
MienTensor  *mien_tensor_new_empty     (const gint64  *shape,
                                        int            ndim,
                                        MienDType      dtype,
                                        MienDevice     device,
                                        GError       **error);
/* @shape: (array length=ndim). */
MienTensor  *mien_tensor_new_zeros     (const gint64  *shape,
                                        int            ndim,
                                        MienDType      dtype,
                                        MienDevice     device,
                                        GError       **error);
/* @shape: (array length=ndim). */
MienTensor  *mien_tensor_new_full      (const gint64  *shape,
                                        int            ndim,
                                        double         value,
                                        MienDType      dtype,
                                        MienDevice     device,
                                        GError       **error);
/* Standard normal / uniform [0, 1), from libtorch's generator (mien_torch_manual_seed).
 * @shape: (array length=ndim). */
MienTensor  *mien_tensor_new_randn     (const gint64  *shape,
                                        int            ndim,
                                        MienDType      dtype,
                                        MienDevice     device,
                                        GError       **error);
/* @shape: (array length=ndim). */
MienTensor  *mien_tensor_new_rand      (const gint64  *shape,
                                        int            ndim,
                                        MienDType      dtype,
                                        MienDevice     device,
                                        GError       **error);
/* Integers uniform in [low, high).
 * @shape: (array length=ndim). */
MienTensor  *mien_tensor_new_randint   (gint64         low,
                                        gint64         high,
                                        const gint64  *shape,
                                        int            ndim,
                                        MienDevice     device,
                                        GError       **error);
/* 0, 1, ..., n - 1 */
MienTensor  *mien_tensor_new_arange    (gint64         n,
                                        MienDType      dtype,
                                        MienDevice     device,
                                        GError       **error);

/* Copies the elements, converted to nothing: `size` must equal numel * dtype size. Works from any
 * device and any layout (non-contiguous tensors are made contiguous first).
 * @dest: (out caller-allocates) (array length=size) (element-type guint8). */
gboolean     mien_tensor_to_host       (MienTensor    *tensor,
                                        void          *dest,
                                        gsize          size,
                                        GError       **error);
/* The value of a one-element tensor, as a double.
 * @out: (out). */
gboolean     mien_tensor_item          (MienTensor    *tensor,
                                        double        *out,
                                        GError       **error);

/* A new handle to the same tensor (same storage, same autograd identity). Cannot fail.
 * Returns: (transfer full): never NULL. */
MienTensor  *mien_tensor_alias         (MienTensor    *tensor);

int          mien_tensor_ndim          (MienTensor    *tensor);
/* Negative dims count from the end, as in PyTorch; out of range returns -1. */
gint64       mien_tensor_size          (MienTensor    *tensor,
                                        int            dim);
/* Writes ndim sizes into `shape` (room for `max_dims`); returns ndim. Like snprintf, at most
 * `max_dims` are written even when ndim is larger.
 * @shape: (out caller-allocates) (array length=max_dims). */
int          mien_tensor_shape         (MienTensor    *tensor,
                                        gint64        *shape,
                                        int            max_dims);
gint64       mien_tensor_numel         (MienTensor    *tensor);
MienDType    mien_tensor_dtype         (MienTensor    *tensor);
MienDevice   mien_tensor_device        (MienTensor    *tensor);
/* "float32[2, 3] cpu" — for error messages and logs.
 * Returns: (transfer full). */
char        *mien_tensor_describe      (MienTensor    *tensor);

MienTensor  *mien_tensor_to            (MienTensor    *tensor,
                                        MienDevice     device,
                                        MienDType      dtype,
                                        GError       **error);
MienTensor  *mien_tensor_to_device     (MienTensor    *tensor,
                                        MienDevice     device,
                                        GError       **error);
MienTensor  *mien_tensor_to_dtype      (MienTensor    *tensor,
                                        MienDType      dtype,
                                        GError       **error);
/* Host memory that CUDA can copy from asynchronously. A plain copy without CUDA. */
MienTensor  *mien_tensor_pin_memory    (MienTensor    *tensor,
                                        GError       **error);
MienTensor  *mien_tensor_clone         (MienTensor    *tensor,
                                        GError       **error);
MienTensor  *mien_tensor_detach        (MienTensor    *tensor,
                                        GError       **error);
MienTensor  *mien_tensor_contiguous    (MienTensor    *tensor,
                                        GError       **error);

/* ---- In place (never recorded by autograd) --------------------------------------------- */

/* dst <- src, converting dtype and device; shapes must be equal. */
gboolean     mien_tensor_copy_         (MienTensor    *dst,
                                        MienTensor    *src,
                                        GError       **error);
/* Makes `dst` use `src`'s data (any shape, dtype, device) while keeping its identity: every
 * handle to `dst`, including those held by plugins, sees the new data. A meta `dst` is left
 * as it is (libtorch cannot swap meta and real storage); a meta `src` into a real `dst` fails. */
gboolean     mien_tensor_set_data_     (MienTensor    *dst,
                                        MienTensor    *src,
                                        GError       **error);
gboolean     mien_tensor_fill_         (MienTensor    *tensor,
                                        double         value,
                                        GError       **error);
gboolean     mien_tensor_normal_       (MienTensor    *tensor,
                                        double         mean,
                                        double         std,
                                        GError       **error);
gboolean     mien_tensor_uniform_      (MienTensor    *tensor,
                                        double         low,
                                        double         high,
                                        GError       **error);
/* Normal(mean, std) redrawn/clamped into [low, high], as torch.nn.init.trunc_normal_. */
gboolean     mien_tensor_trunc_normal_ (MienTensor    *tensor,
                                        double         mean,
                                        double         std,
                                        double         low,
                                        double         high,
                                        GError       **error);

typedef enum {
  MIEN_FAN_IN,
  MIEN_FAN_OUT,
} MienFanMode;

/* torch.nn.init.kaiming_normal_ with nonlinearity "relu". */
gboolean     mien_tensor_kaiming_normal_  (MienTensor  *tensor,
                                           MienFanMode  mode,
                                           GError     **error);
/* torch.nn.init.kaiming_uniform_ with nonlinearity "leaky_relu" and slope `a` (PyTorch's default
 * init of Linear and Conv weights uses a = sqrt(5)). */
gboolean     mien_tensor_kaiming_uniform_ (MienTensor  *tensor,
                                           double       a,
                                           GError     **error);
gboolean     mien_tensor_xavier_uniform_  (MienTensor  *tensor,
                                           GError     **error);
/* Fan-in of a weight shaped [out, in, ...] (in * receptive field), as PyTorch computes it.
 * Fewer than 2 dims is a programmer error (critical, returns -1). */
gint64       mien_tensor_fan_in           (MienTensor  *tensor);

/* ---- Autograd -------------------------------------------------------------------------- */

void         mien_tensor_set_requires_grad (MienTensor *tensor,
                                            gboolean    requires_grad);
gboolean     mien_tensor_requires_grad     (MienTensor *tensor);
/* Backpropagates from a one-element tensor. */
gboolean     mien_tensor_backward          (MienTensor *tensor,
                                            GError    **error);
/* The accumulated gradient, or NULL when there is none (not an error). The handle refers to
 * the gradient itself, not a copy.
 * Returns: (transfer full) (nullable): a new handle. */
MienTensor  *mien_tensor_grad              (MienTensor *tensor);
/* Drops the accumulated gradient (PyTorch's set_to_none). */
void         mien_tensor_zero_grad         (MienTensor *tensor);
/* torch.autograd.grad (output, input): the gradient of the one-element `output` with respect
 * to `input` (a tensor `output` was computed from, leaf or not), without accumulating into
 * any tensor's grad; the graph is freed. Fails when `output` does not depend on `input`. */
MienTensor  *mien_tensor_grad_of           (MienTensor *output,
                                            MienTensor *input,
                                            GError    **error);

/* ---- Element-wise ---------------------------------------------------------------------- */

MienTensor  *mien_tensor_add           (MienTensor *a, MienTensor *b, GError **error);
MienTensor  *mien_tensor_sub           (MienTensor *a, MienTensor *b, GError **error);
MienTensor  *mien_tensor_mul           (MienTensor *a, MienTensor *b, GError **error);
MienTensor  *mien_tensor_div           (MienTensor *a, MienTensor *b, GError **error);
MienTensor  *mien_tensor_maximum       (MienTensor *a, MienTensor *b, GError **error);
MienTensor  *mien_tensor_minimum       (MienTensor *a, MienTensor *b, GError **error);
MienTensor  *mien_tensor_add_scalar    (MienTensor *a, double s, GError **error);
MienTensor  *mien_tensor_mul_scalar    (MienTensor *a, double s, GError **error);
MienTensor  *mien_tensor_pow_scalar    (MienTensor *a, double exponent, GError **error);
MienTensor  *mien_tensor_clamp         (MienTensor *a, double min, double max, GError **error);
/* Comparisons give MIEN_DTYPE_BOOL. */
MienTensor  *mien_tensor_eq            (MienTensor *a, MienTensor *b, GError **error);
MienTensor  *mien_tensor_lt_scalar     (MienTensor *a, double s, GError **error);
MienTensor  *mien_tensor_gt_scalar     (MienTensor *a, double s, GError **error);
/* cond ? a : b, broadcasting. */
MienTensor  *mien_tensor_where         (MienTensor *cond, MienTensor *a, MienTensor *b, GError **error);

MienTensor  *mien_tensor_neg           (MienTensor *a, GError **error);
MienTensor  *mien_tensor_abs           (MienTensor *a, GError **error);
MienTensor  *mien_tensor_exp           (MienTensor *a, GError **error);
MienTensor  *mien_tensor_log           (MienTensor *a, GError **error);
MienTensor  *mien_tensor_sqrt          (MienTensor *a, GError **error);
MienTensor  *mien_tensor_floor         (MienTensor *a, GError **error);
MienTensor  *mien_tensor_round         (MienTensor *a, GError **error);

/* ---- Activations ----------------------------------------------------------------------- */

MienTensor  *mien_tensor_relu          (MienTensor *a, GError **error);
/* Exact (erf) GELU, as torch.nn.GELU (). */
MienTensor  *mien_tensor_gelu          (MienTensor *a, GError **error);
MienTensor  *mien_tensor_silu          (MienTensor *a, GError **error);
MienTensor  *mien_tensor_sigmoid       (MienTensor *a, GError **error);
MienTensor  *mien_tensor_tanh          (MienTensor *a, GError **error);
MienTensor  *mien_tensor_softmax       (MienTensor *a, int dim, GError **error);
MienTensor  *mien_tensor_log_softmax   (MienTensor *a, int dim, GError **error);

/* ---- Reductions ------------------------------------------------------------------------ */

MienTensor  *mien_tensor_sum           (MienTensor *a, GError **error);
MienTensor  *mien_tensor_mean          (MienTensor *a, GError **error);
/* @dims: (array length=n_dims). */
MienTensor  *mien_tensor_sum_dims      (MienTensor *a, const gint64 *dims, int n_dims,
                                        gboolean keepdim, GError **error);
/* @dims: (array length=n_dims). */
MienTensor  *mien_tensor_mean_dims     (MienTensor *a, const gint64 *dims, int n_dims,
                                        gboolean keepdim, GError **error);
/* @dims: (array length=n_dims). */
MienTensor  *mien_tensor_amax_dims     (MienTensor *a, const gint64 *dims, int n_dims,
                                        gboolean keepdim, GError **error);
/* @dims: (array length=n_dims). */
MienTensor  *mien_tensor_amin_dims     (MienTensor *a, const gint64 *dims, int n_dims,
                                        gboolean keepdim, GError **error);
/* Indices (MIEN_DTYPE_INT64) of the maxima along `dim`. */
MienTensor  *mien_tensor_argmax        (MienTensor *a, int dim, gboolean keepdim, GError **error);

/* ---- Shapes ---------------------------------------------------------------------------- */

/* One size may be -1.
 * @shape: (array length=ndim). */
MienTensor  *mien_tensor_reshape       (MienTensor *a, const gint64 *shape, int ndim, GError **error);
/* @dims: (array length=ndim). */
MienTensor  *mien_tensor_permute       (MienTensor *a, const gint64 *dims, int ndim, GError **error);
MienTensor  *mien_tensor_transpose     (MienTensor *a, int dim0, int dim1, GError **error);
MienTensor  *mien_tensor_flatten       (MienTensor *a, int start_dim, int end_dim, GError **error);
MienTensor  *mien_tensor_unsqueeze     (MienTensor *a, int dim, GError **error);
MienTensor  *mien_tensor_squeeze_dim   (MienTensor *a, int dim, GError **error);
/* @shape: (array length=ndim). */
MienTensor  *mien_tensor_expand        (MienTensor *a, const gint64 *shape, int ndim, GError **error);
MienTensor  *mien_tensor_narrow        (MienTensor *a, int dim, gint64 start, gint64 length,
                                        GError **error);
MienTensor  *mien_tensor_select        (MienTensor *a, int dim, gint64 index, GError **error);
MienTensor  *mien_tensor_index_select  (MienTensor *a, int dim, MienTensor *index, GError **error);
/* Out of place index_copy: a copy of `a` whose slices `index` (int64 [K]) along `dim` are
 * replaced by those of `source`. */
MienTensor  *mien_tensor_index_copy    (MienTensor *a, int dim, MienTensor *index,
                                        MienTensor *source, GError **error);
/* @tensors: (array length=n) (transfer none). */
MienTensor  *mien_tensor_cat           (MienTensor * const *tensors, int n, int dim, GError **error);
/* @tensors: (array length=n) (transfer none). */
MienTensor  *mien_tensor_stack         (MienTensor * const *tensors, int n, int dim, GError **error);

/* ---- Neural-network layers (functional, weights are arguments) ------------------------- */

MienTensor  *mien_tensor_matmul        (MienTensor *a, MienTensor *b, GError **error);
/* x @ weight^T + bias; bias may be NULL.
 * @bias: (nullable). */
MienTensor  *mien_tensor_linear        (MienTensor *x, MienTensor *weight, MienTensor *bias,
                                        GError **error);
/* stride, padding and dilation are [h, w], each NULL for PyTorch's default (1, 0, 1); bias may
 * be NULL.
 * @bias: (nullable); @stride, @padding, @dilation: (nullable) (array fixed-size=2). */
MienTensor  *mien_tensor_conv2d        (MienTensor *x, MienTensor *weight, MienTensor *bias,
                                        const gint64 stride[2], const gint64 padding[2],
                                        const gint64 dilation[2], gint64 groups, GError **error);
/* With `training`, normalises with batch statistics and updates running_mean/running_var in
 * place (momentum as PyTorch: new = (1 - m) * old + m * batch); otherwise uses the running
 * statistics. weight, bias may be NULL.
 * @weight, @bias: (nullable). */
MienTensor  *mien_tensor_batch_norm    (MienTensor *x, MienTensor *weight, MienTensor *bias,
                                        MienTensor *running_mean, MienTensor *running_var,
                                        gboolean training, double momentum, double eps,
                                        GError **error);
/* Normalises over the last `n_normalized` dims, whose sizes are `normalized_shape`.
 * @normalized_shape: (array length=n_normalized); @weight, @bias: (nullable). */
MienTensor  *mien_tensor_layer_norm    (MienTensor *x, const gint64 *normalized_shape,
                                        int n_normalized, MienTensor *weight, MienTensor *bias,
                                        double eps, GError **error);
/* Pooling: a NULL stride means stride = kernel and a NULL padding means 0, as in PyTorch.
 * @kernel: (array fixed-size=2); @stride, @padding: (nullable) (array fixed-size=2). */
MienTensor  *mien_tensor_max_pool2d    (MienTensor *x, const gint64 kernel[2],
                                        const gint64 stride[2], const gint64 padding[2],
                                        gboolean ceil_mode, GError **error);
/* @kernel: (array fixed-size=2); @stride, @padding: (nullable) (array fixed-size=2). */
MienTensor  *mien_tensor_avg_pool2d    (MienTensor *x, const gint64 kernel[2],
                                        const gint64 stride[2], const gint64 padding[2],
                                        gboolean ceil_mode, gboolean count_include_pad,
                                        GError **error);
/* @output_size: (array fixed-size=2). */
MienTensor  *mien_tensor_adaptive_avg_pool2d (MienTensor *x, const gint64 output_size[2],
                                              GError **error);
/* Identity unless `training`; inverted dropout as torch.nn.functional.dropout. */
MienTensor  *mien_tensor_dropout       (MienTensor *x, double p, gboolean training,
                                        GError **error);
/* torchvision.ops.stochastic_depth (x, p, "row", training). */
MienTensor  *mien_tensor_stochastic_depth (MienTensor *x, double p, gboolean training,
                                           GError **error);
/* softmax (q @ k^T / sqrt (E)) @ v over the last two dims: q [..., L, E], k [..., S, E],
 * v [..., S, Ev]; attention dropout `dropout_p` only when `training`. */
MienTensor  *mien_tensor_scaled_dot_product_attention (MienTensor *q, MienTensor *k,
                                                       MienTensor *v, double dropout_p,
                                                       gboolean training, GError **error);
/* Constant padding of the last two dims by [left, right, top, bottom].
 * @pad: (array fixed-size=4). */
MienTensor  *mien_tensor_pad2d         (MienTensor *x, const gint64 pad[4], double value,
                                        GError **error);

/* ---- Resampling ------------------------------------------------------------------------ */

typedef enum {
  MIEN_INTERPOLATION_BILINEAR,
  MIEN_INTERPOLATION_NEAREST,
  MIEN_INTERPOLATION_BICUBIC,
} MienInterpolation;

/* torch.nn.functional.affine_grid (theta [N, 2, 3], size [N, C, H, W], align_corners).
 * @size: (array fixed-size=4). */
MienTensor  *mien_tensor_affine_grid   (MienTensor *theta, const gint64 size[4],
                                        gboolean align_corners, GError **error);
/* torch.nn.functional.grid_sample (x, grid, mode, padding_mode "zeros", align_corners):
 * x [N, C, H, W] floating point, grid [N, Ho, Wo, 2] in [-1, 1]. */
MienTensor  *mien_tensor_grid_sample   (MienTensor *x, MienTensor *grid, MienInterpolation mode,
                                        gboolean align_corners, GError **error);
/* torch.nn.functional.interpolate (x, size = output_size, mode, align_corners = False for
 * bilinear and bicubic, antialias): x [N, C, H, W] floating point, output_size [Ho, Wo].
 * `antialias` (a filter as wide as the scale when shrinking, as PIL does) only with bilinear
 * and bicubic.
 * @output_size: (array fixed-size=2). */
MienTensor  *mien_tensor_interpolate   (MienTensor *x, const gint64 output_size[2],
                                        MienInterpolation mode, gboolean antialias,
                                        GError **error);
/* torchvision.transforms.functional.resize (x, [height, width], antialias = True) on uint8
 * images x [C, H, W] or [N, C, H, W], as torchvision 0.14 does it: to float32, bilinear
 * interpolate with antialias and align_corners = False, rounded (half to even) and back to
 * uint8. An image already of that size is returned as it is (a new handle), as torchvision
 * does. Runs on the calling thread alone, without libtorch's intra-op threads (images are
 * resized by several decoding threads at once), one channel at a time (the float copy of a
 * large photo is 4 bytes a pixel, not 12). */
MienTensor  *mien_tensor_resize_image  (MienTensor *x, gint64 height, gint64 width,
                                        GError **error);

/* ---- Losses ---------------------------------------------------------------------------- */

/* torch.nn.functional.cross_entropy (logits [N, C], targets int64 [N], weight [C] or NULL,
 * label_smoothing = alpha, reduction "mean").
 * @weight: (nullable). */
MienTensor  *mien_tensor_cross_entropy (MienTensor *logits, MienTensor *targets,
                                        MienTensor *weight, double label_smoothing,
                                        GError **error);

/* ---- Optimiser ------------------------------------------------------------------------- */

typedef struct _MienOptimizer MienOptimizer;

typedef struct {
  double   lr;
  double   beta1;
  double   beta2;
  double   eps;
  double   weight_decay;
  /* FALSE: torch.optim.Adam (L2 added to the gradient); TRUE: torch.optim.AdamW (decoupled). */
  gboolean decoupled_weight_decay;
} MienAdamConfig;

/* PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay. A NULL config
 * to mien_optimizer_new_adam () means these. */
#define MIEN_ADAM_CONFIG_INIT { 1e-3, 0.9, 0.999, 1e-8, 0.0, FALSE }

/* @config: (nullable); Returns: (transfer full) (nullable). */
MienOptimizer *mien_optimizer_new_adam      (const MienAdamConfig *config,
                                             GError              **error);
void           mien_optimizer_free          (MienOptimizer *optimizer);
/* The optimiser keeps its own handle to `param`; `name` keys its state for saving. A name or a
 * tensor added twice, or a tensor that is not floating point, is MIEN_TORCH_ERROR_INVALID_ARGUMENT.
 * An optimiser is not thread-safe: use it from one thread at a time.
 * @param: (transfer none): the optimiser takes a handle of its own. */
gboolean       mien_optimizer_add_parameter (MienOptimizer *optimizer,
                                             const char    *name,
                                             MienTensor    *param,
                                             GError       **error);
guint          mien_optimizer_get_n_parameters (MienOptimizer *optimizer);
/* The `index`-th parameter added, as a new handle to the same tensor (what a gradient reducer
 * must watch). */
MienTensor    *mien_optimizer_get_parameter (MienOptimizer *optimizer,
                                             guint          index);
void           mien_optimizer_set_lr        (MienOptimizer *optimizer,
                                             double         lr);
double         mien_optimizer_get_lr        (MienOptimizer *optimizer);
void           mien_optimizer_zero_grad     (MienOptimizer *optimizer);
/* One update, exactly as torch.optim.Adam/AdamW (single-tensor path); parameters without a
 * gradient are skipped. */
gboolean       mien_optimizer_step          (MienOptimizer *optimizer,
                                             GError       **error);
/* The largest per-parameter step count. */
gint64         mien_optimizer_get_step      (MienOptimizer *optimizer);

/* State for resuming: parameter NAME has "NAME.exp_avg", "NAME.exp_avg_sq" and "NAME.step" (a
 * float32 scalar, as PyTorch keeps it), all absent before its first step. `func` receives
 * borrowed handles.
 * @value: (transfer none). */
typedef void (*MienOptimizerStateFunc) (const char *name,
                                        MienTensor *value,
                                        gpointer    user_data);
/* @func: (scope call) (closure user_data). */
void           mien_optimizer_foreach_state (MienOptimizer         *optimizer,
                                             MienOptimizerStateFunc func,
                                             gpointer               user_data);
/* Restores one state tensor (copied to the parameter's device and dtype); the name must be one
 * of those above and the shape must match ("NAME.step" takes any one-element tensor). Setting
 * any of the three creates the other two as zeros if absent. */
gboolean       mien_optimizer_set_state     (MienOptimizer *optimizer,
                                             const char    *name,
                                             MienTensor    *value,
                                             GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienTensor, mien_tensor_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienNoGradGuard, mien_no_grad_guard_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienAutocastGuard, mien_autocast_guard_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienOptimizer, mien_optimizer_free)

G_END_DECLS
