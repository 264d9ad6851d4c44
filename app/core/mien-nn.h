/* mien-nn.h — the layers that backbone plugins (and the core's heads) are made of.
 *
 * Each layer is a small struct of tensor handles created in a var store under a dotted name with
 * PyTorch's parameter names ("NAME.weight", "NAME.running_mean", ...), so the var store reads as
 * the torch module's state_dict. init () creates the entries; forward () is functional; clear ()
 * drops the handles (the var store keeps the tensors).
 */
#pragma once

#include "mien-torch.h"
#include "mien-var-store.h"

G_BEGIN_DECLS

/* g_strdup_printf ("%s%s", prefix, name) — names are built from a prefix ending in "." or "".
 * Returns: (transfer full). */
char *mien_nn_name (const char *prefix,
                    const char *format,
                    ...) G_GNUC_PRINTF (2, 3);

/* Replaces *x by y, the result of an op on *x, releasing *x at once so that a forward pass keeps
 * no more intermediates alive than it needs (as PyTorch does when a Python name is rebound).
 * Returns FALSE, keeping *x, when y is NULL (the op failed and set its GError).
 * @x: (inout) (transfer full); @y: (transfer full) (nullable). */
gboolean mien_nn_replace (MienTensor **x,
                          MienTensor  *y);

/* ---- Conv2d ------------------------------------------------------------------------------- */

typedef struct {
  MienTensor *weight;
  MienTensor *bias;     /* NULL without bias */
  gint64      stride[2];
  gint64      padding[2];
  gint64      dilation[2];
  gint64      groups;
} MienConv2d;

typedef struct {
  gint64          in_channels;
  gint64          out_channels;
  gint64          kernel;       /* square kernel */
  gint64          stride;       /* 0 = 1 */
  gint64          padding;
  gint64          groups;       /* 0 = 1 */
  gboolean        bias;
  /* NULL = torchvision's conv init: kaiming normal, fan_out, relu. */
  const MienInit *weight_init;
  /* NULL = zeros. */
  const MienInit *bias_init;
} MienConv2dConfig;

/* @conv: (out caller-allocates); @config: (transfer none). */
gboolean    mien_conv2d_init    (MienConv2d             *conv,
                                 MienVarStore           *vs,
                                 const char             *name,
                                 const MienConv2dConfig *config,
                                 GError                **error);
/* Returns: (transfer full) (nullable). */
MienTensor *mien_conv2d_forward (const MienConv2d       *conv,
                                 MienTensor             *x,
                                 GError                **error);
void        mien_conv2d_clear   (MienConv2d             *conv);

/* ---- BatchNorm2d -------------------------------------------------------------------------- */

typedef struct {
  MienTensor *weight;
  MienTensor *bias;
  MienTensor *running_mean;
  MienTensor *running_var;
  MienTensor *num_batches_tracked;  /* int64 scalar, as PyTorch keeps it */
  double      eps;
  double      momentum;
} MienBatchNorm2d;

/* weight 1, bias 0, running mean 0, running var 1.
 * @bn: (out caller-allocates). */
gboolean    mien_batch_norm2d_init    (MienBatchNorm2d *bn,
                                       MienVarStore    *vs,
                                       const char      *name,
                                       gint64           features,
                                       double           eps,
                                       double           momentum,
                                       GError         **error);
/* With `training`: batch statistics, running statistics and num_batches_tracked updated.
 * Returns: (transfer full) (nullable). */
MienTensor *mien_batch_norm2d_forward (const MienBatchNorm2d *bn,
                                       MienTensor            *x,
                                       gboolean               training,
                                       GError               **error);
void        mien_batch_norm2d_clear   (MienBatchNorm2d *bn);

/* ---- Linear ------------------------------------------------------------------------------- */

typedef struct {
  MienTensor *weight;  /* [out, in] */
  MienTensor *bias;    /* [out] or NULL */
} MienLinear;

/* weight_init NULL = PyTorch's default (kaiming uniform, slope sqrt(5)); bias_init NULL =
 * PyTorch's default (uniform ±1/sqrt(in)).
 * @linear: (out caller-allocates); @weight_init, @bias_init: (nullable). */
gboolean    mien_linear_init    (MienLinear     *linear,
                                 MienVarStore   *vs,
                                 const char     *name,
                                 gint64          in_features,
                                 gint64          out_features,
                                 gboolean        bias,
                                 const MienInit *weight_init,
                                 const MienInit *bias_init,
                                 GError        **error);
/* Returns: (transfer full) (nullable). */
MienTensor *mien_linear_forward (const MienLinear *linear,
                                 MienTensor       *x,
                                 GError          **error);
void        mien_linear_clear   (MienLinear       *linear);

/* ---- LayerNorm ---------------------------------------------------------------------------- */

typedef struct {
  MienTensor *weight;
  MienTensor *bias;
  gint64      dim;
  double      eps;
} MienLayerNorm;

/* @ln: (out caller-allocates). */
gboolean    mien_layer_norm_init    (MienLayerNorm  *ln,
                                     MienVarStore   *vs,
                                     const char     *name,
                                     gint64          dim,
                                     double          eps,
                                     GError        **error);
/* Returns: (transfer full) (nullable). */
MienTensor *mien_layer_norm_forward (const MienLayerNorm *ln,
                                     MienTensor          *x,
                                     GError             **error);
void        mien_layer_norm_clear   (MienLayerNorm *ln);

/* ---- Conv2d + BatchNorm2d (+ activation), the block every CNN family repeats --------------- */

typedef enum {
  MIEN_ACTIVATION_NONE,
  MIEN_ACTIVATION_RELU,
  MIEN_ACTIVATION_SILU,
} MienActivation;

typedef struct {
  MienConv2d      conv;
  MienBatchNorm2d bn;
  MienActivation  activation;
} MienConvBn;

/* Creates `conv_name`.weight and `bn_name`.{weight,bias,running_*,num_batches_tracked}: the two
 * names differ between families ("conv1"/"bn1" in ResNet, "0"/"1" in torchvision's
 * Conv2dNormActivation, "conv"/"bn" in GoogLeNet's BasicConv2d).
 * @block: (out caller-allocates). */
gboolean    mien_conv_bn_init    (MienConvBn             *block,
                                  MienVarStore           *vs,
                                  const char             *conv_name,
                                  const char             *bn_name,
                                  const MienConv2dConfig *conv_config,
                                  double                  bn_eps,
                                  double                  bn_momentum,
                                  MienActivation          activation,
                                  GError                **error);
/* Returns: (transfer full) (nullable). */
MienTensor *mien_conv_bn_forward (const MienConvBn       *block,
                                  MienTensor             *x,
                                  gboolean                training,
                                  GError                **error);
void        mien_conv_bn_clear   (MienConvBn             *block);

/* Returns: (transfer full) (nullable). */
MienTensor *mien_activation_forward (MienActivation  activation,
                                     MienTensor     *x,
                                     GError        **error);

G_END_DECLS
