/* mien-torch.cpp — the libtorch side of mien-torch.h.
 *
 * Everything C++ stays in this file. Each extern "C" entry point runs its body through guard (),
 * which turns every exception into a GError, so that nothing unwinds into C frames.
 */

#include "mien-torch.h"

/* GCC 12 reports c10::optional<at::Generator> inside libtorch's inline headers as "maybe
 * uninitialized" once sanitizers or -O3 change the inlining: a false positive in code that is
 * not ours, which -Werror would turn into a broken build. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <torch/nn/init.h>
#include <torch/version.h>

#include <dlfcn.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mien-torch-private.hpp"

using namespace mien_shim;

namespace {

/* ---- Conversions ---------------------------------------------------------------------- */

at::ScalarType
to_scalar_type (MienDType dtype)
{
  switch (dtype)
    {
    case MIEN_DTYPE_FLOAT32: return at::kFloat;
    case MIEN_DTYPE_FLOAT16: return at::kHalf;
    case MIEN_DTYPE_BFLOAT16: return at::kBFloat16;
    case MIEN_DTYPE_FLOAT64: return at::kDouble;
    case MIEN_DTYPE_INT64: return at::kLong;
    case MIEN_DTYPE_INT32: return at::kInt;
    case MIEN_DTYPE_INT16: return at::kShort;
    case MIEN_DTYPE_INT8: return at::kChar;
    case MIEN_DTYPE_UINT8: return at::kByte;
    case MIEN_DTYPE_BOOL: return at::kBool;
    default: break;
    }
  invalid ("unknown MienDType " + std::to_string (static_cast<int> (dtype)));
}

bool
from_scalar_type (at::ScalarType type, MienDType *out)
{
  switch (type)
    {
    case at::kFloat: *out = MIEN_DTYPE_FLOAT32; return true;
    case at::kHalf: *out = MIEN_DTYPE_FLOAT16; return true;
    case at::kBFloat16: *out = MIEN_DTYPE_BFLOAT16; return true;
    case at::kDouble: *out = MIEN_DTYPE_FLOAT64; return true;
    case at::kLong: *out = MIEN_DTYPE_INT64; return true;
    case at::kInt: *out = MIEN_DTYPE_INT32; return true;
    case at::kShort: *out = MIEN_DTYPE_INT16; return true;
    case at::kChar: *out = MIEN_DTYPE_INT8; return true;
    case at::kByte: *out = MIEN_DTYPE_UINT8; return true;
    case at::kBool: *out = MIEN_DTYPE_BOOL; return true;
    default: return false;
    }
}

int
cuda_device_count () noexcept
{
  /* The set of devices is fixed for the life of the process (CUDA_VISIBLE_DEVICES is read once),
   * and asking libtorch on every tensor creation would be wasteful. */
  static const int count = [] {
    try
      {
        return torch::cuda::is_available () ? static_cast<int> (torch::cuda::device_count ()) : 0;
      }
    catch (...)
      {
        return 0;
      }
  } ();
  return count;
}

void
check_cuda_index (int index)
{
  int count = cuda_device_count ();

  if (count == 0)
    {
#ifdef MIEN_TORCH_CUDA
      throw ShimError (MIEN_TORCH_ERROR_NO_DEVICE,
                       "CUDA is not available: no CUDA device or working driver was found");
#else
      throw ShimError (MIEN_TORCH_ERROR_NO_DEVICE,
                       "CUDA is not available: this Mien was built against a CPU-only libtorch");
#endif
    }
  if (index < 0 || index >= count)
    throw ShimError (MIEN_TORCH_ERROR_NO_DEVICE,
                     "cuda:" + std::to_string (index) + " does not exist: " +
                     std::to_string (count) + " CUDA device(s) found");
}


MienDevice
from_at_device (const c10::Device &device)
{
  MienDevice out = MIEN_DEVICE_INIT_CPU;

  if (device.is_cuda ())
    {
      out.type = MIEN_DEVICE_CUDA;
      /* A CUDA device without an index means the current one, which is 0 unless someone
       * changed it; tensors themselves always carry an index. */
      out.index = device.has_index () ? device.index () : 0;
    }
  else if (device.is_meta ())
    out.type = MIEN_DEVICE_META;
  return out;
}

at::TensorOptions
make_options (MienDType dtype, MienDevice device)
{
  return at::TensorOptions ().dtype (to_scalar_type (dtype)).device (to_at_device (device));
}

/* Sizes given by the caller: ndim must be sane and, for new tensors, every size >= 0. */
std::vector<int64_t>
to_int_vector (const gint64 *values, int n, const char *what, bool non_negative)
{
  if (n < 0)
    invalid (std::string ("negative number of ") + what + ": " + std::to_string (n));
  if (n > 0 && values == nullptr)
    invalid (std::string (what) + " is NULL but its length is " + std::to_string (n));

  std::vector<int64_t> out (values, values + n);
  if (non_negative)
    for (int64_t v : out)
      if (v < 0)
        invalid (std::string ("negative size in ") + what + ": " + std::to_string (v));
  return out;
}

std::vector<int64_t>
pair_or (const gint64 *pair, int64_t fallback0, int64_t fallback1)
{
  if (pair == nullptr)
    return { fallback0, fallback1 };
  return { pair[0], pair[1] };
}

c10::optional<at::Tensor>
optional_tensor (MienTensor *tensor)
{
  if (tensor == nullptr)
    return c10::nullopt;
  return tensor->t;
}

std::string
dims_to_string (at::IntArrayRef sizes)
{
  std::string out = "[";

  for (size_t i = 0; i < sizes.size (); i++)
    {
      if (i > 0)
        out += ", ";
      out += std::to_string (sizes[i]);
    }
  return out + "]";
}

std::vector<at::Tensor>
tensor_list (MienTensor * const *tensors, int n)
{
  if (n <= 0)
    invalid ("an empty list of tensors");
  if (tensors == nullptr)
    invalid ("the list of tensors is NULL");

  std::vector<at::Tensor> out;
  out.reserve (n);
  for (int i = 0; i < n; i++)
    {
      if (tensors[i] == nullptr)
        invalid ("tensor " + std::to_string (i) + " of the list is NULL");
      out.push_back (tensors[i]->t);
    }
  return out;
}

/* ---- Shape-only versions of ops that libtorch 1.13 lacks for meta tensors --------------- */

/* A forward pass on meta tensors tells a plugin its feature size without touching memory, but
 * libtorch 1.13 has no meta kernel for convolution, batch norm, layer norm, relu, abs, where,
 * index_select or cross-entropy. These ops return an uninitialised meta tensor of the right
 * shape and dtype instead. */

/* TRUE when the op should take the shape-only path; mixing meta and real tensors is an error
 * either way, so say so clearly. */
bool
meta_inputs (std::initializer_list<const MienTensor *> tensors)
{
  bool any_meta = false, any_real = false;

  for (const MienTensor *t : tensors)
    {
      if (t == nullptr)
        continue;
      if (t->t.is_meta ())
        any_meta = true;
      else
        any_real = true;
    }
  if (any_meta && any_real)
    invalid ("an op mixes meta tensors with tensors that have data");
  return any_meta;
}

at::Tensor
conv2d_meta (const at::Tensor &x, const at::Tensor &w, MienTensor *bias,
             const std::vector<int64_t> &stride, const std::vector<int64_t> &padding,
             const std::vector<int64_t> &dilation, int64_t groups)
{
  if (x.dim () != 4 || w.dim () != 4)
    invalid ("conv2d needs a 4-D input and a 4-D weight, got " + dims_to_string (x.sizes ()) +
             " and " + dims_to_string (w.sizes ()));
  if (groups <= 0 || x.size (1) != w.size (1) * groups || w.size (0) % groups != 0)
    invalid ("conv2d: input " + dims_to_string (x.sizes ()) + " does not fit weight " +
             dims_to_string (w.sizes ()) + " with " + std::to_string (groups) + " group(s)");
  if (bias != nullptr && (bias->t.dim () != 1 || bias->t.size (0) != w.size (0)))
    invalid ("conv2d: bias " + dims_to_string (bias->t.sizes ()) + " does not fit weight " +
             dims_to_string (w.sizes ()));

  std::vector<int64_t> out { x.size (0), w.size (0), 0, 0 };
  for (int i = 0; i < 2; i++)
    {
      if (stride[i] <= 0 || dilation[i] <= 0 || padding[i] < 0)
        invalid ("conv2d needs positive strides and dilations and non-negative padding");
      int64_t span = dilation[i] * (w.size (2 + i) - 1) + 1;
      int64_t padded = x.size (2 + i) + 2 * padding[i];
      if (padded < span)
        invalid ("conv2d: the kernel is larger than the padded input " +
                 dims_to_string (x.sizes ()));
      out[2 + i] = (padded - span) / stride[i] + 1;
    }
  return at::empty (out, x.options ());
}

/* ---- CUDA driver, loaded on demand ---------------------------------------------------- */

/* The driver API (CUresult is an int, CUdevice an int) so that no CUDA header is needed and a
 * CPU-only build still runs where libcuda is absent. */
typedef int (*CuInitFunc) (unsigned int flags);
typedef int (*CuDeviceGetFunc) (int *device, int ordinal);
typedef int (*CuDeviceGetNameFunc) (char *name, int len, int device);

struct CudaDriver {
  CuInitFunc init;
  CuDeviceGetFunc device_get;
  CuDeviceGetNameFunc device_get_name;
  int init_result;
  std::string load_error;
};

const CudaDriver &
cuda_driver ()
{
  static const CudaDriver driver = [] {
    CudaDriver d { nullptr, nullptr, nullptr, -1, std::string () };
    /* Never dlclose()d: libtorch's CUDA runtime keeps using the same library. */
    void *handle = dlopen ("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);

    if (handle == nullptr)
      {
        const char *message = dlerror ();
        d.load_error = message != nullptr ? message : "dlopen failed";
        return d;
      }
    d.init = reinterpret_cast<CuInitFunc> (dlsym (handle, "cuInit"));
    d.device_get = reinterpret_cast<CuDeviceGetFunc> (dlsym (handle, "cuDeviceGet"));
    d.device_get_name = reinterpret_cast<CuDeviceGetNameFunc> (dlsym (handle, "cuDeviceGetName"));
    if (d.init == nullptr || d.device_get == nullptr || d.device_get_name == nullptr)
      {
        d.load_error = "libcuda.so.1 lacks cuInit, cuDeviceGet or cuDeviceGetName";
        return d;
      }
    d.init_result = d.init (0);
    return d;
  } ();
  return driver;
}

/* ---- Optimiser state ------------------------------------------------------------------ */

struct AdamParam {
  std::string name;
  at::Tensor param;
  /* Undefined until the parameter's first step (or set_state). */
  at::Tensor exp_avg;
  at::Tensor exp_avg_sq;
  at::Tensor step;
};

void
adam_init_state (AdamParam &p)
{
  if (p.step.defined ())
    return;
  /* As torch.optim.Adam: a float32 scalar on the CPU (not capturable, not fused), and moments
   * shaped and laid out like the parameter. */
  p.step = at::zeros ({}, at::TensorOptions ().dtype (at::kFloat));
  p.exp_avg = at::zeros_like (p.param, at::MemoryFormat::Preserve);
  p.exp_avg_sq = at::zeros_like (p.param, at::MemoryFormat::Preserve);
}

} /* namespace */

c10::Device
mien_shim::to_at_device (MienDevice device)
{
  switch (device.type)
    {
    case MIEN_DEVICE_CPU:
      return c10::Device (at::kCPU);
    case MIEN_DEVICE_CUDA:
      check_cuda_index (device.index);
      return c10::Device (at::kCUDA, static_cast<c10::DeviceIndex> (device.index));
    case MIEN_DEVICE_META:
      return c10::Device (at::kMeta);
    default:
      break;
    }
  invalid ("unknown MienDeviceType " + std::to_string (static_cast<int> (device.type)));
}

struct _MienOptimizer {
  MienAdamConfig config;
  std::vector<AdamParam> params;
  std::unordered_map<std::string, size_t> index;
};

extern "C" {

G_DEFINE_QUARK (mien-torch-error-quark, mien_torch_error)

/* ---- Dtypes and devices --------------------------------------------------------------- */

gsize
mien_dtype_size (MienDType dtype)
{
  switch (dtype)
    {
    case MIEN_DTYPE_FLOAT64:
    case MIEN_DTYPE_INT64:
      return 8;
    case MIEN_DTYPE_FLOAT32:
    case MIEN_DTYPE_INT32:
      return 4;
    case MIEN_DTYPE_FLOAT16:
    case MIEN_DTYPE_BFLOAT16:
    case MIEN_DTYPE_INT16:
      return 2;
    case MIEN_DTYPE_INT8:
    case MIEN_DTYPE_UINT8:
    case MIEN_DTYPE_BOOL:
      return 1;
    default:
      break;
    }
  g_return_val_if_reached (0);
}

const char *
mien_dtype_to_string (MienDType dtype)
{
  switch (dtype)
    {
    case MIEN_DTYPE_FLOAT32: return "float32";
    case MIEN_DTYPE_FLOAT16: return "float16";
    case MIEN_DTYPE_BFLOAT16: return "bfloat16";
    case MIEN_DTYPE_FLOAT64: return "float64";
    case MIEN_DTYPE_INT64: return "int64";
    case MIEN_DTYPE_INT32: return "int32";
    case MIEN_DTYPE_INT16: return "int16";
    case MIEN_DTYPE_INT8: return "int8";
    case MIEN_DTYPE_UINT8: return "uint8";
    case MIEN_DTYPE_BOOL: return "bool";
    default: break;
    }
  g_return_val_if_reached ("invalid");
}

gboolean
mien_dtype_is_floating (MienDType dtype)
{
  return dtype == MIEN_DTYPE_FLOAT32 || dtype == MIEN_DTYPE_FLOAT16 ||
         dtype == MIEN_DTYPE_BFLOAT16 || dtype == MIEN_DTYPE_FLOAT64;
}

MienDevice
mien_device_cpu (void)
{
  MienDevice device = MIEN_DEVICE_INIT_CPU;
  return device;
}

MienDevice
mien_device_cuda (int index)
{
  MienDevice device = { MIEN_DEVICE_CUDA, index };
  return device;
}

gboolean
mien_device_parse_name (const char  *str,
                        MienDevice  *out,
                        GError     **error)
{
  g_return_val_if_fail (str != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return guard (error, FALSE, [&] {
    MienDevice device = MIEN_DEVICE_INIT_CPU;

    if (g_str_equal (str, "cpu"))
      device.type = MIEN_DEVICE_CPU;
    else if (g_str_equal (str, "meta"))
      device.type = MIEN_DEVICE_META;
    else if (g_str_equal (str, "cuda"))
      {
        device.type = MIEN_DEVICE_CUDA;
        device.index = 0;
      }
    else if (g_str_has_prefix (str, "cuda:"))
      {
        guint64 index = 0;

        /* Strict: digits only, so "cuda:-1", "cuda:1x" and "cuda:" are typos, not cuda:0. */
        if (!g_ascii_string_to_unsigned (str + strlen ("cuda:"), 10, 0, G_MAXINT, &index, NULL))
          invalid (std::string ("invalid CUDA device \"") + str + "\": expected cuda:N");
        device.type = MIEN_DEVICE_CUDA;
        device.index = static_cast<int> (index);
      }
    else
      invalid (std::string ("unknown device \"") + str + "\": expected cpu, cuda, cuda:N or meta");
    *out = device;
    return TRUE;
  });
}

gboolean
mien_device_check (MienDevice   device,
                   GError     **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return guard (error, FALSE, [&] {
    if (device.type == MIEN_DEVICE_CUDA)
      check_cuda_index (device.index);
    return TRUE;
  });
}

gboolean
mien_device_parse (const char  *str,
                   MienDevice  *out,
                   GError     **error)
{
  MienDevice device;

  if (!mien_device_parse_name (str, &device, error) || !mien_device_check (device, error))
    return FALSE;
  *out = device;
  return TRUE;
}

char *
mien_device_to_string (MienDevice device)
{
  switch (device.type)
    {
    case MIEN_DEVICE_CPU: return g_strdup ("cpu");
    case MIEN_DEVICE_CUDA: return g_strdup_printf ("cuda:%d", device.index);
    case MIEN_DEVICE_META: return g_strdup ("meta");
    default: break;
    }
  g_return_val_if_reached (g_strdup ("invalid"));
}

gboolean
mien_device_equal (MienDevice a,
                   MienDevice b)
{
  if (a.type != b.type)
    return FALSE;
  /* The index only means something for CUDA; cpu and meta with a stray index are the same. */
  return a.type != MIEN_DEVICE_CUDA || a.index == b.index;
}

/* ---- Process-wide state ------------------------------------------------------------- */

/* OpenBLAS (Debian's libtorch without MKL-DNN runs convolutions as matrix products) keeps a
 * thread pool of its own beside libtorch's OpenMP threads, and its threads spin between calls:
 * inference on small crops ran up to seven times slower than with one BLAS thread, whose
 * training speed is the same (59 and 57 images/s, resnet:18 at 48 px on 2 cores). libtorch
 * parallelises the operations itself. OPENBLAS_NUM_THREADS, when set, is left to decide. */
static void
single_threaded_blas ()
{
  using SetThreadsFunc = void (*) (int);
  SetThreadsFunc set_threads;

  if (g_getenv ("OPENBLAS_NUM_THREADS") != NULL)
    return;
  set_threads = reinterpret_cast<SetThreadsFunc> (dlsym (RTLD_DEFAULT,
                                                         "openblas_set_num_threads"));
  if (set_threads != nullptr)
    set_threads (1);
}

void
mien_torch_init (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      int n_threads = static_cast<int> (g_get_num_processors ());
      const char *env = g_getenv ("MIEN_NUM_THREADS");

      if (env != NULL && *env != '\0')
        {
          guint64 value = 0;

          /* An invalid value is ignored rather than fatal: it is an environment knob. */
          if (g_ascii_string_to_unsigned (env, 10, 1, 4096, &value, NULL))
            n_threads = static_cast<int> (value);
        }

      try
        {
          at::init_num_threads ();
          at::set_num_threads (n_threads);
        }
      catch (...)
        {
        }
      /* The inter-op pool can be sized only once, before anything has used it; when the host
       * application (or a test) already ran parallel work, keep libtorch's default. */
      try
        {
          at::set_num_interop_threads (n_threads);
        }
      catch (...)
        {
        }
      single_threaded_blas ();
      g_once_init_leave (&initialized, 1);
    }
}

const char *
mien_torch_version (void)
{
  return TORCH_VERSION;
}

int
mien_torch_get_num_threads (void)
{
  return guard (nullptr, 1, [] { return at::get_num_threads (); });
}

void
mien_torch_set_num_threads (int n_threads)
{
  g_return_if_fail (n_threads > 0);

  guard_critical (G_STRFUNC, [&] { at::set_num_threads (n_threads); });
}

void
mien_torch_manual_seed (guint64 seed)
{
  /* at::manual_seed seeds the CPU generator and, when present, every CUDA one. */
  guard_critical (G_STRFUNC, [&] { at::manual_seed (seed); });
}

gboolean
mien_torch_cuda_is_available (void)
{
  return cuda_device_count () > 0;
}

int
mien_torch_cuda_device_count (void)
{
  return cuda_device_count ();
}

char *
mien_torch_cuda_device_name (int      index,
                             GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return guard (error, static_cast<char *> (nullptr), [&] {
    check_cuda_index (index);

    const CudaDriver &driver = cuda_driver ();
    if (!driver.load_error.empty ())
      throw ShimError (MIEN_TORCH_ERROR_NO_DEVICE,
                       "Cannot load the CUDA driver: " + driver.load_error);
    if (driver.init_result != 0)
      throw ShimError (MIEN_TORCH_ERROR_NO_DEVICE,
                       "cuInit failed with CUDA error " + std::to_string (driver.init_result));

    /* The driver numbers devices like the runtime as long as CUDA_VISIBLE_DEVICES is the same
     * environment for both, which it is within one process. */
    int device = 0;
    int result = driver.device_get (&device, index);
    if (result != 0)
      throw ShimError (MIEN_TORCH_ERROR_NO_DEVICE,
                       "cuDeviceGet(" + std::to_string (index) + ") failed with CUDA error " +
                       std::to_string (result));

    char name[256] = { 0 };
    result = driver.device_get_name (name, sizeof name - 1, device);
    if (result != 0)
      throw ShimError (MIEN_TORCH_ERROR_FAILED,
                       "cuDeviceGetName failed with CUDA error " + std::to_string (result));
    return g_strdup (name);
  });
}

gboolean
mien_torch_cuda_synchronize (int      index,
                             GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return wrap_bool (error, [&] {
    check_cuda_index (index);
    torch::cuda::synchronize (index);
  });
}

/* ---- Guards ------------------------------------------------------------------------- */

MienNoGradGuard *
mien_no_grad_guard_new (void)
{
  /* Only new can throw here (bad_alloc): treat it as GLib treats g_malloc failure. */
  MienNoGradGuard *guard_ = new (std::nothrow) MienNoGradGuard ();

  if (guard_ == nullptr)
    g_error ("%s: out of memory", G_STRFUNC);
  return guard_;
}

void
mien_no_grad_guard_free (MienNoGradGuard *guard_)
{
  delete guard_;
}

gboolean
mien_torch_is_grad_enabled (void)
{
  return at::GradMode::is_enabled ();
}

/* libtorch 2.4 replaced the per-device autocast functions (set_enabled, set_cpu_enabled, ...)
 * with ones taking a device type, and later releases drop the old names; the CUDA build may use a
 * recent wheel while Debian ships 1.13. */
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
static bool
autocast_is_enabled (MienDeviceType type)
{
  return at::autocast::is_autocast_enabled (type == MIEN_DEVICE_CUDA ? at::kCUDA : at::kCPU);
}

static at::ScalarType
autocast_get_dtype (MienDeviceType type)
{
  return at::autocast::get_autocast_dtype (type == MIEN_DEVICE_CUDA ? at::kCUDA : at::kCPU);
}

static void
autocast_set (MienDeviceType type,
              bool           enabled,
              at::ScalarType dtype)
{
  at::DeviceType device = type == MIEN_DEVICE_CUDA ? at::kCUDA : at::kCPU;

  at::autocast::set_autocast_enabled (device, enabled);
  at::autocast::set_autocast_dtype (device, dtype);
}
#else
static bool
autocast_is_enabled (MienDeviceType type)
{
  return type == MIEN_DEVICE_CUDA ? at::autocast::is_enabled () : at::autocast::is_cpu_enabled ();
}

static at::ScalarType
autocast_get_dtype (MienDeviceType type)
{
  return type == MIEN_DEVICE_CUDA ? at::autocast::get_autocast_gpu_dtype ()
                                  : at::autocast::get_autocast_cpu_dtype ();
}

static void
autocast_set (MienDeviceType type,
              bool           enabled,
              at::ScalarType dtype)
{
  if (type == MIEN_DEVICE_CUDA)
    {
      at::autocast::set_enabled (enabled);
      at::autocast::set_autocast_gpu_dtype (dtype);
    }
  else
    {
      at::autocast::set_cpu_enabled (enabled);
      at::autocast::set_autocast_cpu_dtype (dtype);
    }
}
#endif

MienAutocastGuard *
mien_autocast_guard_new (MienDeviceType   device_type,
                         MienDType        dtype,
                         GError         **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return guard (error, static_cast<MienAutocastGuard *> (nullptr), [&] {
    if (dtype != MIEN_DTYPE_FLOAT16 && dtype != MIEN_DTYPE_BFLOAT16)
      invalid (std::string ("autocast runs in float16 or bfloat16, not ") +
               mien_dtype_to_string (dtype));
    switch (device_type)
      {
      case MIEN_DEVICE_CUDA:
        check_cuda_index (0);
        break;
      case MIEN_DEVICE_CPU:
        /* libtorch 1.13's CPU autocast only implements bfloat16 (PyTorch warns and disables
         * itself for float16); fail loudly instead. */
        if (dtype != MIEN_DTYPE_BFLOAT16)
          invalid ("CPU autocast supports only bfloat16 in this libtorch");
        break;
      case MIEN_DEVICE_META:
      default:
        invalid ("autocast needs a cpu or cuda device type");
      }

    at::ScalarType type = to_scalar_type (dtype);
    auto g = std::make_unique<MienAutocastGuard> ();
    g->device_type = device_type;
    g->prev_cache_enabled = at::autocast::is_autocast_cache_enabled ();
    g->prev_enabled = autocast_is_enabled (device_type);
    g->prev_dtype = autocast_get_dtype (device_type);
    autocast_set (device_type, true, type);

    /* As torch.autocast.__enter__: the weight cast cache is on and the nesting depth tells the
     * outermost guard when to drop it. */
    at::autocast::set_autocast_cache_enabled (true);
    at::autocast::increment_nesting ();
    return g.release ();
  });
}

void
mien_autocast_guard_free (MienAutocastGuard *g)
{
  if (g == nullptr)
    return;

  guard_critical (G_STRFUNC, [&] {
    if (at::autocast::decrement_nesting () == 0)
      at::autocast::clear_cache ();
    autocast_set (g->device_type, g->prev_enabled, g->prev_dtype);
    at::autocast::set_autocast_cache_enabled (g->prev_cache_enabled);
  });
  delete g;
}

/* ---- Tensors ------------------------------------------------------------------------ */

void
mien_tensor_free (MienTensor *tensor)
{
  delete tensor;
}

MienTensor *
mien_tensor_new_from_data (const void    *data,
                           MienDType      dtype,
                           const gint64  *shape,
                           int            ndim,
                           GError       **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    std::vector<int64_t> sizes = to_int_vector (shape, ndim, "shape", true);
    at::TensorOptions options = at::TensorOptions ().dtype (to_scalar_type (dtype));

    if (c10::multiply_integers (sizes) == 0)
      return at::empty (sizes, options);
    if (data == nullptr)
      invalid ("data is NULL for a non-empty tensor");
    /* from_blob only borrows `data`; the clone makes the tensor own its copy. */
    return at::from_blob (const_cast<void *> (data), sizes, options).clone ();
  });
}

MienTensor *
mien_tensor_new_empty (const gint64  *shape,
                       int            ndim,
                       MienDType      dtype,
                       MienDevice     device,
                       GError       **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    return at::empty (to_int_vector (shape, ndim, "shape", true), make_options (dtype, device));
  });
}

MienTensor *
mien_tensor_new_zeros (const gint64  *shape,
                       int            ndim,
                       MienDType      dtype,
                       MienDevice     device,
                       GError       **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    return at::zeros (to_int_vector (shape, ndim, "shape", true), make_options (dtype, device));
  });
}

MienTensor *
mien_tensor_new_full (const gint64  *shape,
                      int            ndim,
                      double         value,
                      MienDType      dtype,
                      MienDevice     device,
                      GError       **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    return at::full (to_int_vector (shape, ndim, "shape", true), value,
                     make_options (dtype, device));
  });
}

MienTensor *
mien_tensor_new_randn (const gint64  *shape,
                       int            ndim,
                       MienDType      dtype,
                       MienDevice     device,
                       GError       **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    return at::randn (to_int_vector (shape, ndim, "shape", true), make_options (dtype, device));
  });
}

MienTensor *
mien_tensor_new_rand (const gint64  *shape,
                      int            ndim,
                      MienDType      dtype,
                      MienDevice     device,
                      GError       **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    return at::rand (to_int_vector (shape, ndim, "shape", true), make_options (dtype, device));
  });
}

MienTensor *
mien_tensor_new_randint (gint64         low,
                         gint64         high,
                         const gint64  *shape,
                         int            ndim,
                         MienDevice     device,
                         GError       **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    if (low >= high)
      invalid ("randint needs low < high, got [" + std::to_string (low) + ", " +
               std::to_string (high) + ")");
    return at::randint (low, high, to_int_vector (shape, ndim, "shape", true),
                        make_options (MIEN_DTYPE_INT64, device));
  });
}

MienTensor *
mien_tensor_new_arange (gint64         n,
                        MienDType      dtype,
                        MienDevice     device,
                        GError       **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    if (n < 0)
      invalid ("arange needs n >= 0, got " + std::to_string (n));
    return at::arange (n, make_options (dtype, device));
  });
}

gboolean
mien_tensor_to_host (MienTensor  *tensor,
                     void        *dest,
                     gsize        size,
                     GError     **error)
{
  g_return_val_if_fail (tensor != NULL, FALSE);
  g_return_val_if_fail (dest != NULL || size == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return wrap_bool (error, [&] {
    const at::Tensor &t = tensor->t;
    gsize expected = static_cast<gsize> (t.numel ()) * t.element_size ();

    if (size != expected)
      invalid ("to_host: the destination holds " + std::to_string (size) + " bytes but " +
               c10::toString (t.scalar_type ()) + dims_to_string (t.sizes ()) + " needs " +
               std::to_string (expected));
    if (expected == 0)
      return;

    /* detach: the copy must not join the autograd graph. to() is a no-op for CPU tensors. */
    at::Tensor host = t.detach ().to (at::kCPU).contiguous ();
    memcpy (dest, host.data_ptr (), expected);
  });
}

gboolean
mien_tensor_item (MienTensor  *tensor,
                  double      *out,
                  GError     **error)
{
  g_return_val_if_fail (tensor != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return wrap_bool (error, [&] {
    if (tensor->t.numel () != 1)
      invalid ("item needs a one-element tensor, got shape " + dims_to_string (tensor->t.sizes ()));
    *out = tensor->t.item<double> ();
  });
}

MienTensor *
mien_tensor_alias (MienTensor *tensor)
{
  g_return_val_if_fail (tensor != NULL, NULL);

  /* Copying an at::Tensor only bumps a reference count; the sole failure is bad_alloc, which
   * like g_malloc failure is fatal. */
  MienTensor *alias = new (std::nothrow) MienTensor { tensor->t };
  if (alias == nullptr)
    g_error ("%s: out of memory", G_STRFUNC);
  return alias;
}

int
mien_tensor_ndim (MienTensor *tensor)
{
  g_return_val_if_fail (tensor != NULL, 0);

  return static_cast<int> (tensor->t.dim ());
}

gint64
mien_tensor_size (MienTensor *tensor,
                  int         dim)
{
  g_return_val_if_fail (tensor != NULL, -1);

  int64_t ndim = tensor->t.dim ();
  int64_t d = dim < 0 ? dim + ndim : dim;

  if (d < 0 || d >= ndim)
    return -1;
  return tensor->t.size (d);
}

int
mien_tensor_shape (MienTensor *tensor,
                   gint64     *shape,
                   int         max_dims)
{
  g_return_val_if_fail (tensor != NULL, 0);
  g_return_val_if_fail (shape != NULL || max_dims <= 0, 0);

  at::IntArrayRef sizes = tensor->t.sizes ();
  int ndim = static_cast<int> (sizes.size ());

  /* Like snprintf: at most max_dims are written, the return value is the real ndim. */
  for (int i = 0; i < ndim && i < max_dims; i++)
    shape[i] = sizes[i];
  return ndim;
}

gint64
mien_tensor_numel (MienTensor *tensor)
{
  g_return_val_if_fail (tensor != NULL, 0);

  return tensor->t.numel ();
}

MienDType
mien_tensor_dtype (MienTensor *tensor)
{
  g_return_val_if_fail (tensor != NULL, MIEN_DTYPE_FLOAT32);

  MienDType dtype = MIEN_DTYPE_FLOAT32;
  if (!from_scalar_type (tensor->t.scalar_type (), &dtype))
    g_critical ("%s: libtorch dtype %s has no MienDType", G_STRFUNC,
                c10::toString (tensor->t.scalar_type ()));
  return dtype;
}

MienDevice
mien_tensor_device (MienTensor *tensor)
{
  MienDevice cpu = MIEN_DEVICE_INIT_CPU;

  g_return_val_if_fail (tensor != NULL, cpu);

  return from_at_device (tensor->t.device ());
}

char *
mien_tensor_describe (MienTensor *tensor)
{
  g_return_val_if_fail (tensor != NULL, NULL);

  const at::Tensor &t = tensor->t;
  MienDType dtype = MIEN_DTYPE_FLOAT32;
  const char *dtype_name = from_scalar_type (t.scalar_type (), &dtype)
                               ? mien_dtype_to_string (dtype)
                               : c10::toString (t.scalar_type ());
  g_autofree char *device = mien_device_to_string (from_at_device (t.device ()));
  GString *out = g_string_new (dtype_name);

  g_string_append_c (out, '[');
  for (int64_t i = 0; i < t.dim (); i++)
    g_string_append_printf (out, "%s%" G_GINT64_FORMAT, i > 0 ? ", " : "",
                            static_cast<gint64> (t.size (i)));
  g_string_append_printf (out, "] %s", device);
  return g_string_free (out, FALSE);
}

MienTensor *
mien_tensor_to (MienTensor  *tensor,
                MienDevice   device,
                MienDType    dtype,
                GError     **error)
{
  g_return_val_if_fail (tensor != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    c10::Device target = to_at_device (device);
    /* Pinned host memory can be copied to a GPU asynchronously; the caching host allocator
     * keeps the source alive until the copy has finished. */
    bool non_blocking = target.is_cuda () && tensor->t.is_cpu () && tensor->t.is_pinned ();
    return tensor->t.to (target, to_scalar_type (dtype), non_blocking);
  });
}

MienTensor *
mien_tensor_to_device (MienTensor  *tensor,
                       MienDevice   device,
                       GError     **error)
{
  g_return_val_if_fail (tensor != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    c10::Device target = to_at_device (device);
    bool non_blocking = target.is_cuda () && tensor->t.is_cpu () && tensor->t.is_pinned ();
    return tensor->t.to (target, tensor->t.scalar_type (), non_blocking);
  });
}

MienTensor *
mien_tensor_to_dtype (MienTensor  *tensor,
                      MienDType    dtype,
                      GError     **error)
{
  g_return_val_if_fail (tensor != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return tensor->t.to (to_scalar_type (dtype)); });
}

MienTensor *
mien_tensor_pin_memory (MienTensor  *tensor,
                        GError     **error)
{
  g_return_val_if_fail (tensor != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    if (cuda_device_count () > 0 && tensor->t.is_cpu ())
      return tensor->t.pin_memory ();
    return tensor->t.clone ();
  });
}

MienTensor *
mien_tensor_clone (MienTensor  *tensor,
                   GError     **error)
{
  g_return_val_if_fail (tensor != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return tensor->t.clone (); });
}

MienTensor *
mien_tensor_detach (MienTensor  *tensor,
                    GError     **error)
{
  g_return_val_if_fail (tensor != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return tensor->t.detach (); });
}

MienTensor *
mien_tensor_contiguous (MienTensor  *tensor,
                        GError     **error)
{
  g_return_val_if_fail (tensor != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return tensor->t.contiguous (); });
}

/* ---- In place ----------------------------------------------------------------------- */

gboolean
mien_tensor_copy_ (MienTensor  *dst,
                   MienTensor  *src,
                   GError     **error)
{
  g_return_val_if_fail (dst != NULL, FALSE);
  g_return_val_if_fail (src != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* The shapes are checked even on meta tensors: a wrong checkpoint is wrong everywhere. */
  if (!dst->t.sizes ().equals (src->t.sizes ()))
    return wrap_bool (error, [&] {
      invalid ("copy_: shape " + dims_to_string (src->t.sizes ()) + " into " +
               dims_to_string (dst->t.sizes ()));
    });
  return in_place (dst, error, [&] { dst->t.copy_ (src->t); });
}

gboolean
mien_tensor_set_data_ (MienTensor  *dst,
                       MienTensor  *src,
                       GError     **error)
{
  g_return_val_if_fail (dst != NULL, FALSE);
  g_return_val_if_fail (src != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* libtorch refuses set_data between meta and real tensors (incompatible TensorImpl types), so
   * a meta `dst` stays as it is, like every in-place op on meta tensors. */
  return in_place (dst, error, [&] { dst->t.set_data (src->t); });
}

gboolean
mien_tensor_fill_ (MienTensor  *tensor,
                   double       value,
                   GError     **error)
{
  g_return_val_if_fail (tensor != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return in_place (tensor, error, [&] { tensor->t.fill_ (value); });
}

gboolean
mien_tensor_normal_ (MienTensor  *tensor,
                     double       mean,
                     double       std,
                     GError     **error)
{
  g_return_val_if_fail (tensor != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return in_place (tensor, error, [&] { tensor->t.normal_ (mean, std); });
}

gboolean
mien_tensor_uniform_ (MienTensor  *tensor,
                      double       low,
                      double       high,
                      GError     **error)
{
  g_return_val_if_fail (tensor != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return in_place (tensor, error, [&] { tensor->t.uniform_ (low, high); });
}

gboolean
mien_tensor_trunc_normal_ (MienTensor  *tensor,
                           double       mean,
                           double       std,
                           double       low,
                           double       high,
                           GError     **error)
{
  g_return_val_if_fail (tensor != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return in_place (tensor, error, [&] {
    if (!(std > 0.0) || !(low < high))
      invalid ("trunc_normal_ needs std > 0 and low < high");
    /* libtorch's C++ init has no trunc_normal_; this is torch.nn.init._no_grad_trunc_normal_
     * step by step, so that a seeded run draws the same numbers as PyTorch. */
    auto norm_cdf = [] (double x) { return (1.0 + std::erf (x / std::sqrt (2.0))) / 2.0; };
    double l = norm_cdf ((low - mean) / std);
    double u = norm_cdf ((high - mean) / std);
    tensor->t.uniform_ (2 * l - 1, 2 * u - 1);
    tensor->t.erfinv_ ();
    tensor->t.mul_ (std * std::sqrt (2.0));
    tensor->t.add_ (mean);
    tensor->t.clamp_ (low, high);
  });
}

gboolean
mien_tensor_kaiming_normal_ (MienTensor  *tensor,
                             MienFanMode  mode,
                             GError     **error)
{
  g_return_val_if_fail (tensor != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return in_place (tensor, error, [&] {
    /* PyTorch warns and does nothing for zero-element tensors; libtorch would divide by 0. */
    if (tensor->t.numel () == 0)
      return;
    if (tensor->t.dim () < 2)
      invalid ("kaiming_normal_ needs a tensor with at least 2 dims");
    if (mode == MIEN_FAN_IN)
      torch::nn::init::kaiming_normal_ (tensor->t, 0, torch::kFanIn, torch::kReLU);
    else
      torch::nn::init::kaiming_normal_ (tensor->t, 0, torch::kFanOut, torch::kReLU);
  });
}

gboolean
mien_tensor_kaiming_uniform_ (MienTensor  *tensor,
                              double       a,
                              GError     **error)
{
  g_return_val_if_fail (tensor != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return in_place (tensor, error, [&] {
    if (tensor->t.numel () == 0)
      return;
    if (tensor->t.dim () < 2)
      invalid ("kaiming_uniform_ needs a tensor with at least 2 dims");
    torch::nn::init::kaiming_uniform_ (tensor->t, a, torch::kFanIn, torch::kLeakyReLU);
  });
}

gboolean
mien_tensor_xavier_uniform_ (MienTensor  *tensor,
                             GError     **error)
{
  g_return_val_if_fail (tensor != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return in_place (tensor, error, [&] {
    if (tensor->t.dim () < 2)
      invalid ("xavier_uniform_ needs a tensor with at least 2 dims");
    torch::nn::init::xavier_uniform_ (tensor->t, 1.0);
  });
}

gint64
mien_tensor_fan_in (MienTensor *tensor)
{
  g_return_val_if_fail (tensor != NULL, -1);
  /* PyTorch raises for fewer than 2 dims: asking for it is a bug in the caller. */
  g_return_val_if_fail (tensor->t.dim () >= 2, -1);

  int64_t receptive_field = 1;
  for (int64_t d = 2; d < tensor->t.dim (); d++)
    receptive_field *= tensor->t.size (d);
  return tensor->t.size (1) * receptive_field;
}

/* ---- Autograd ----------------------------------------------------------------------- */

void
mien_tensor_set_requires_grad (MienTensor *tensor,
                               gboolean    requires_grad)
{
  g_return_if_fail (tensor != NULL);

  guard_critical (G_STRFUNC, [&] { tensor->t.set_requires_grad (requires_grad != FALSE); });
}

gboolean
mien_tensor_requires_grad (MienTensor *tensor)
{
  g_return_val_if_fail (tensor != NULL, FALSE);

  return tensor->t.requires_grad ();
}

gboolean
mien_tensor_backward (MienTensor  *tensor,
                      GError     **error)
{
  g_return_val_if_fail (tensor != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return wrap_bool (error, [&] {
    if (tensor->t.numel () != 1)
      invalid ("backward needs a one-element tensor, got shape " +
               dims_to_string (tensor->t.sizes ()));
    tensor->t.backward ();
  });
}

MienTensor *
mien_tensor_grad (MienTensor *tensor)
{
  g_return_val_if_fail (tensor != NULL, NULL);

  const at::Tensor &grad = tensor->t.grad ();
  if (!grad.defined ())
    return NULL;

  MienTensor *out = new (std::nothrow) MienTensor { grad };
  if (out == nullptr)
    g_error ("%s: out of memory", G_STRFUNC);
  return out;
}

void
mien_tensor_zero_grad (MienTensor *tensor)
{
  g_return_if_fail (tensor != NULL);

  guard_critical (G_STRFUNC, [&] { tensor->t.mutable_grad ().reset (); });
}

MienTensor *
mien_tensor_grad_of (MienTensor  *output,
                     MienTensor  *input,
                     GError     **error)
{
  g_return_val_if_fail (output != NULL, NULL);
  g_return_val_if_fail (input != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    if (output->t.numel () != 1)
      invalid ("a gradient needs a one-element output, got shape " +
               dims_to_string (output->t.sizes ()));
    /* allow_unused: an input the output ignores is reported below in our words rather than
     * libtorch's. */
    auto grads = torch::autograd::grad ({ output->t }, { input->t }, {}, false, false, true);
    if (!grads[0].defined ())
      invalid ("the output does not depend on the input");
    return grads[0];
  });
}

/* ---- Element-wise ------------------------------------------------------------------- */

#define MIEN_UNARY(name, expr)                                        \
  MienTensor *                                                        \
  mien_tensor_##name (MienTensor *a, GError **error)                  \
  {                                                                   \
    g_return_val_if_fail (a != NULL, NULL);                           \
    g_return_val_if_fail (error == NULL || *error == NULL, NULL);     \
    return wrap (error, [&] { return (expr); });                      \
  }

#define MIEN_BINARY(name, expr)                                       \
  MienTensor *                                                        \
  mien_tensor_##name (MienTensor *a, MienTensor *b, GError **error)   \
  {                                                                   \
    g_return_val_if_fail (a != NULL, NULL);                           \
    g_return_val_if_fail (b != NULL, NULL);                           \
    g_return_val_if_fail (error == NULL || *error == NULL, NULL);     \
    return wrap (error, [&] { return (expr); });                      \
  }

#define MIEN_SCALAR(name, arg, expr)                                  \
  MienTensor *                                                        \
  mien_tensor_##name (MienTensor *a, double arg, GError **error)      \
  {                                                                   \
    g_return_val_if_fail (a != NULL, NULL);                           \
    g_return_val_if_fail (error == NULL || *error == NULL, NULL);     \
    return wrap (error, [&] { return (expr); });                      \
  }

MIEN_BINARY (add, at::add (a->t, b->t))
MIEN_BINARY (sub, at::sub (a->t, b->t))
MIEN_BINARY (mul, at::mul (a->t, b->t))
MIEN_BINARY (div, at::div (a->t, b->t))
MIEN_BINARY (maximum, at::maximum (a->t, b->t))
MIEN_BINARY (minimum, at::minimum (a->t, b->t))
MIEN_SCALAR (add_scalar, s, at::add (a->t, s))
MIEN_SCALAR (mul_scalar, s, at::mul (a->t, s))
MIEN_SCALAR (pow_scalar, exponent, at::pow (a->t, exponent))
MIEN_BINARY (eq, at::eq (a->t, b->t))
MIEN_SCALAR (lt_scalar, s, at::lt (a->t, s))
MIEN_SCALAR (gt_scalar, s, at::gt (a->t, s))

MienTensor *
mien_tensor_clamp (MienTensor  *a,
                   double       min,
                   double       max,
                   GError     **error)
{
  g_return_val_if_fail (a != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return at::clamp (a->t, min, max); });
}

MienTensor *
mien_tensor_where (MienTensor  *cond,
                   MienTensor  *a,
                   MienTensor  *b,
                   GError     **error)
{
  g_return_val_if_fail (cond != NULL, NULL);
  g_return_val_if_fail (a != NULL, NULL);
  g_return_val_if_fail (b != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    if (meta_inputs ({ cond, a, b }))
      {
        std::vector<int64_t> shape = at::infer_size (a->t.sizes (), b->t.sizes ());
        shape = at::infer_size (cond->t.sizes (), shape);
        return at::empty (shape, a->t.options ().dtype (at::result_type (a->t, b->t)));
      }
    return at::where (cond->t, a->t, b->t);
  });
}

MIEN_UNARY (neg, at::neg (a->t))
MIEN_UNARY (abs, a->t.is_meta () ? at::empty_like (a->t) : at::abs (a->t))
MIEN_UNARY (exp, at::exp (a->t))
MIEN_UNARY (log, at::log (a->t))
MIEN_UNARY (sqrt, at::sqrt (a->t))
MIEN_UNARY (floor, at::floor (a->t))
MIEN_UNARY (round, at::round (a->t))

/* ---- Activations -------------------------------------------------------------------- */

MIEN_UNARY (relu, a->t.is_meta () ? at::empty_like (a->t) : at::relu (a->t))
MIEN_UNARY (gelu, at::gelu (a->t, "none"))
MIEN_UNARY (silu, at::silu (a->t))
MIEN_UNARY (sigmoid, at::sigmoid (a->t))
MIEN_UNARY (tanh, at::tanh (a->t))

MienTensor *
mien_tensor_softmax (MienTensor  *a,
                     int          dim,
                     GError     **error)
{
  g_return_val_if_fail (a != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return at::softmax (a->t, dim); });
}

MienTensor *
mien_tensor_log_softmax (MienTensor  *a,
                         int          dim,
                         GError     **error)
{
  g_return_val_if_fail (a != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return at::log_softmax (a->t, dim); });
}

/* ---- Reductions --------------------------------------------------------------------- */

MIEN_UNARY (sum, at::sum (a->t))
MIEN_UNARY (mean, at::mean (a->t))

#define MIEN_REDUCE_DIMS(name, fn)                                                   \
  MienTensor *                                                                       \
  mien_tensor_##name (MienTensor *a, const gint64 *dims, int n_dims,                 \
                      gboolean keepdim, GError **error)                              \
  {                                                                                  \
    g_return_val_if_fail (a != NULL, NULL);                                          \
    g_return_val_if_fail (error == NULL || *error == NULL, NULL);                    \
    return wrap (error, [&] {                                                        \
      return fn (a->t, to_int_vector (dims, n_dims, "dims", false), keepdim != FALSE); \
    });                                                                              \
  }

MIEN_REDUCE_DIMS (sum_dims, at::sum)
MIEN_REDUCE_DIMS (mean_dims, at::mean)
MIEN_REDUCE_DIMS (amax_dims, at::amax)
MIEN_REDUCE_DIMS (amin_dims, at::amin)

MienTensor *
mien_tensor_argmax (MienTensor  *a,
                    int          dim,
                    gboolean     keepdim,
                    GError     **error)
{
  g_return_val_if_fail (a != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return at::argmax (a->t, dim, keepdim != FALSE); });
}

/* ---- Shapes ------------------------------------------------------------------------- */

MienTensor *
mien_tensor_reshape (MienTensor    *a,
                     const gint64  *shape,
                     int            ndim,
                     GError       **error)
{
  g_return_val_if_fail (a != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    return at::reshape (a->t, to_int_vector (shape, ndim, "shape", false));
  });
}

MienTensor *
mien_tensor_permute (MienTensor    *a,
                     const gint64  *dims,
                     int            ndim,
                     GError       **error)
{
  g_return_val_if_fail (a != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    return at::permute (a->t, to_int_vector (dims, ndim, "dims", false));
  });
}

MienTensor *
mien_tensor_transpose (MienTensor  *a,
                       int          dim0,
                       int          dim1,
                       GError     **error)
{
  g_return_val_if_fail (a != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return at::transpose (a->t, dim0, dim1); });
}

MienTensor *
mien_tensor_flatten (MienTensor  *a,
                     int          start_dim,
                     int          end_dim,
                     GError     **error)
{
  g_return_val_if_fail (a != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return at::flatten (a->t, start_dim, end_dim); });
}

MienTensor *
mien_tensor_unsqueeze (MienTensor  *a,
                       int          dim,
                       GError     **error)
{
  g_return_val_if_fail (a != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return at::unsqueeze (a->t, dim); });
}

MienTensor *
mien_tensor_squeeze_dim (MienTensor  *a,
                         int          dim,
                         GError     **error)
{
  g_return_val_if_fail (a != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return at::squeeze (a->t, dim); });
}

MienTensor *
mien_tensor_expand (MienTensor    *a,
                    const gint64  *shape,
                    int            ndim,
                    GError       **error)
{
  g_return_val_if_fail (a != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return a->t.expand (to_int_vector (shape, ndim, "shape", false)); });
}

MienTensor *
mien_tensor_narrow (MienTensor  *a,
                    int          dim,
                    gint64       start,
                    gint64       length,
                    GError     **error)
{
  g_return_val_if_fail (a != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return at::narrow (a->t, dim, start, length); });
}

MienTensor *
mien_tensor_select (MienTensor  *a,
                    int          dim,
                    gint64       index,
                    GError     **error)
{
  g_return_val_if_fail (a != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return at::select (a->t, dim, index); });
}

MienTensor *
mien_tensor_index_select (MienTensor  *a,
                          int          dim,
                          MienTensor  *index,
                          GError     **error)
{
  g_return_val_if_fail (a != NULL, NULL);
  g_return_val_if_fail (index != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    if (meta_inputs ({ a, index }))
      {
        if (index->t.dim () > 1)
          invalid ("index_select needs a 0-D or 1-D index, got " +
                   dims_to_string (index->t.sizes ()));
        std::vector<int64_t> shape = a->t.sizes ().vec ();
        shape[c10::maybe_wrap_dim (dim, a->t.dim ())] = index->t.numel ();
        return at::empty (shape, a->t.options ());
      }
    return at::index_select (a->t, dim, index->t);
  });
}

MienTensor *
mien_tensor_cat (MienTensor * const  *tensors,
                 int                  n,
                 int                  dim,
                 GError             **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return at::cat (tensor_list (tensors, n), dim); });
}

MienTensor *
mien_tensor_stack (MienTensor * const  *tensors,
                   int                  n,
                   int                  dim,
                   GError             **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return at::stack (tensor_list (tensors, n), dim); });
}

/* ---- Neural-network layers ---------------------------------------------------------- */

MIEN_BINARY (matmul, at::matmul (a->t, b->t))

MienTensor *
mien_tensor_linear (MienTensor  *x,
                    MienTensor  *weight,
                    MienTensor  *bias,
                    GError     **error)
{
  g_return_val_if_fail (x != NULL, NULL);
  g_return_val_if_fail (weight != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] { return at::linear (x->t, weight->t, optional_tensor (bias)); });
}

MienTensor *
mien_tensor_conv2d (MienTensor    *x,
                    MienTensor    *weight,
                    MienTensor    *bias,
                    const gint64   stride[2],
                    const gint64   padding[2],
                    const gint64   dilation[2],
                    gint64         groups,
                    GError       **error)
{
  g_return_val_if_fail (x != NULL, NULL);
  g_return_val_if_fail (weight != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    std::vector<int64_t> stride_v = pair_or (stride, 1, 1);
    std::vector<int64_t> padding_v = pair_or (padding, 0, 0);
    std::vector<int64_t> dilation_v = pair_or (dilation, 1, 1);

    if (meta_inputs ({ x, weight, bias }))
      return conv2d_meta (x->t, weight->t, bias, stride_v, padding_v, dilation_v, groups);
    return at::conv2d (x->t, weight->t, optional_tensor (bias), stride_v, padding_v, dilation_v,
                       groups);
  });
}

MienTensor *
mien_tensor_batch_norm (MienTensor  *x,
                        MienTensor  *weight,
                        MienTensor  *bias,
                        MienTensor  *running_mean,
                        MienTensor  *running_var,
                        gboolean     training,
                        double       momentum,
                        double       eps,
                        GError     **error)
{
  g_return_val_if_fail (x != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    if (!training && (running_mean == nullptr || running_var == nullptr))
      invalid ("batch_norm in eval mode needs running_mean and running_var");
    if (meta_inputs ({ x, weight, bias, running_mean, running_var }))
      {
        if (x->t.dim () < 2)
          invalid ("batch_norm needs at least 2 dims, got " + dims_to_string (x->t.sizes ()));
        for (MienTensor *t : { weight, bias, running_mean, running_var })
          if (t != nullptr && t->t.numel () != x->t.size (1))
            invalid ("batch_norm: " + dims_to_string (t->t.sizes ()) + " does not fit " +
                     std::to_string (x->t.size (1)) + " channels");
        return at::empty_like (x->t);
      }
    /* PyTorch's Python layer refuses this ("Expected more than 1 value per channel when
     * training"); libtorch's C++ does not, and silently writes NaN into running_var. */
    if (training && x->t.dim () >= 2 && x->t.size (1) > 0 && x->t.numel () / x->t.size (1) <= 1)
      invalid ("batch_norm in training needs more than 1 value per channel, got input " +
               dims_to_string (x->t.sizes ()) + " (use a batch of at least 2)");
    if (training && sync_batch_norm_active ())
      {
        static const at::Tensor undefined;

        return sync_batch_norm (x->t, weight ? weight->t : undefined, bias ? bias->t : undefined,
                                running_mean ? running_mean->t : undefined,
                                running_var ? running_var->t : undefined, momentum, eps);
      }
    /* The running statistics are buffers, updated in place by the kernel; they must never
     * require grad. cudnn_enabled = true, as torch.nn.functional.batch_norm passes. */
    return at::batch_norm (x->t, optional_tensor (weight), optional_tensor (bias),
                           optional_tensor (running_mean), optional_tensor (running_var),
                           training != FALSE, momentum, eps, true);
  });
}

MienTensor *
mien_tensor_layer_norm (MienTensor    *x,
                        const gint64  *normalized_shape,
                        int            n_normalized,
                        MienTensor    *weight,
                        MienTensor    *bias,
                        double         eps,
                        GError       **error)
{
  g_return_val_if_fail (x != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    std::vector<int64_t> shape = to_int_vector (normalized_shape, n_normalized,
                                                "normalized_shape", true);

    if (meta_inputs ({ x, weight, bias }))
      {
        at::IntArrayRef sizes = x->t.sizes ();
        if (shape.empty () || shape.size () > sizes.size () ||
            !sizes.slice (sizes.size () - shape.size ()).equals (shape))
          invalid ("layer_norm over " + dims_to_string (shape) + " does not fit " +
                   dims_to_string (sizes));
        return at::empty_like (x->t);
      }
    return at::layer_norm (x->t, shape, optional_tensor (weight), optional_tensor (bias), eps,
                           true);
  });
}

MienTensor *
mien_tensor_max_pool2d (MienTensor    *x,
                        const gint64   kernel[2],
                        const gint64   stride[2],
                        const gint64   padding[2],
                        gboolean       ceil_mode,
                        GError       **error)
{
  g_return_val_if_fail (x != NULL, NULL);
  g_return_val_if_fail (kernel != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    return at::max_pool2d (x->t, pair_or (kernel, 1, 1), pair_or (stride, kernel[0], kernel[1]),
                           pair_or (padding, 0, 0), { 1, 1 }, ceil_mode != FALSE);
  });
}

MienTensor *
mien_tensor_avg_pool2d (MienTensor    *x,
                        const gint64   kernel[2],
                        const gint64   stride[2],
                        const gint64   padding[2],
                        gboolean       ceil_mode,
                        gboolean       count_include_pad,
                        GError       **error)
{
  g_return_val_if_fail (x != NULL, NULL);
  g_return_val_if_fail (kernel != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    return at::avg_pool2d (x->t, pair_or (kernel, 1, 1), pair_or (stride, kernel[0], kernel[1]),
                           pair_or (padding, 0, 0), ceil_mode != FALSE,
                           count_include_pad != FALSE, c10::nullopt);
  });
}

MienTensor *
mien_tensor_adaptive_avg_pool2d (MienTensor    *x,
                                 const gint64   output_size[2],
                                 GError       **error)
{
  g_return_val_if_fail (x != NULL, NULL);
  g_return_val_if_fail (output_size != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    return at::adaptive_avg_pool2d (x->t, pair_or (output_size, 1, 1));
  });
}

MienTensor *
mien_tensor_dropout (MienTensor  *x,
                     double       p,
                     gboolean     training,
                     GError     **error)
{
  g_return_val_if_fail (x != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    if (!(p >= 0.0 && p <= 1.0))
      invalid ("dropout probability has to be between 0 and 1, but got " + std::to_string (p));
    return at::dropout (x->t, p, training != FALSE);
  });
}

MienTensor *
mien_tensor_stochastic_depth (MienTensor  *x,
                              double       p,
                              gboolean     training,
                              GError     **error)
{
  g_return_val_if_fail (x != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    if (!(p >= 0.0 && p <= 1.0))
      invalid ("drop probability has to be between 0 and 1, but got " + std::to_string (p));
    if (!training || p == 0.0)
      return x->t;

    const at::Tensor &in = x->t;
    double survival_rate = 1.0 - p;
    /* Mode "row": one coin per sample, broadcast over the other dims. */
    std::vector<int64_t> size (in.dim () > 0 ? in.dim () : 1, 1);
    size[0] = in.dim () > 0 ? in.size (0) : 1;
    at::Tensor noise = at::empty (size, in.options ());
    noise.bernoulli_ (survival_rate);
    if (survival_rate > 0.0)
      noise.div_ (survival_rate);
    return in * noise;
  });
}

MienTensor *
mien_tensor_scaled_dot_product_attention (MienTensor  *q,
                                          MienTensor  *k,
                                          MienTensor  *v,
                                          double       dropout_p,
                                          gboolean     training,
                                          GError     **error)
{
  g_return_val_if_fail (q != NULL, NULL);
  g_return_val_if_fail (k != NULL, NULL);
  g_return_val_if_fail (v != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    if (q->t.dim () < 2 || k->t.dim () < 2 || v->t.dim () < 2)
      invalid ("attention needs q, k and v with at least 2 dims");
    if (!(dropout_p >= 0.0 && dropout_p <= 1.0))
      invalid ("attention dropout has to be between 0 and 1, but got " +
               std::to_string (dropout_p));
#if TORCH_VERSION_MAJOR >= 2
    /* libtorch 2 picks a fused kernel (flash or memory-efficient attention on CUDA), as
     * PyTorch 2's MultiheadAttention does; the plain path below would cost memory and time. */
    if (!q->t.is_meta ())
      return at::scaled_dot_product_attention (q->t, k->t, v->t, {}, training ? dropout_p : 0.0,
                                               false);
#endif
    /* The math path of PyTorch 1.13's F._scaled_dot_product_attention, which MultiheadAttention
     * uses: scale q first (not the product), so rounding matches. */
    at::Tensor scaled = q->t / std::sqrt (static_cast<double> (q->t.size (-1)));
    at::Tensor attn = at::matmul (scaled, k->t.transpose (-2, -1));
    attn = at::softmax (attn, -1);
    if (training && dropout_p > 0.0)
      attn = at::dropout (attn, dropout_p, true);
    return at::matmul (attn, v->t);
  });
}

MienTensor *
mien_tensor_pad2d (MienTensor    *x,
                   const gint64   pad[4],
                   double         value,
                   GError       **error)
{
  g_return_val_if_fail (x != NULL, NULL);
  g_return_val_if_fail (pad != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    return at::constant_pad_nd (x->t, { pad[0], pad[1], pad[2], pad[3] }, value);
  });
}

MienTensor *
mien_tensor_index_copy (MienTensor  *a,
                        int          dim,
                        MienTensor  *index,
                        MienTensor  *source,
                        GError     **error)
{
  g_return_val_if_fail (a != NULL, NULL);
  g_return_val_if_fail (index != NULL, NULL);
  g_return_val_if_fail (source != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    if (meta_inputs ({ a, index, source }))
      return at::empty_like (a->t);
    return at::index_copy (a->t, dim, index->t, source->t);
  });
}

MienTensor *
mien_tensor_affine_grid (MienTensor    *theta,
                         const gint64   size[4],
                         gboolean       align_corners,
                         GError       **error)
{
  g_return_val_if_fail (theta != NULL, NULL);
  g_return_val_if_fail (size != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    if (theta->t.dim () != 3 || theta->t.size (0) != size[0] || theta->t.size (1) != 2 ||
        theta->t.size (2) != 3)
      invalid ("affine_grid needs theta [" + std::to_string (size[0]) + ", 2, 3], got " +
               dims_to_string (theta->t.sizes ()));
    if (meta_inputs ({ theta }))
      return at::empty ({ size[0], size[2], size[3], 2 }, theta->t.options ());
    return at::affine_grid_generator (theta->t, { size[0], size[1], size[2], size[3] },
                                      align_corners != FALSE);
  });
}

/* at::grid_sampler's mode: 0 bilinear, 1 nearest, 2 bicubic. */
static int64_t
grid_sampler_mode (MienInterpolation mode)
{
  switch (mode)
    {
    case MIEN_INTERPOLATION_BILINEAR:
      return 0;
    case MIEN_INTERPOLATION_NEAREST:
      return 1;
    case MIEN_INTERPOLATION_BICUBIC:
      return 2;
    default:
      invalid ("unknown interpolation mode " + std::to_string (static_cast<int> (mode)));
    }
}

MienTensor *
mien_tensor_grid_sample (MienTensor        *x,
                         MienTensor        *grid,
                         MienInterpolation  mode,
                         gboolean           align_corners,
                         GError           **error)
{
  g_return_val_if_fail (x != NULL, NULL);
  g_return_val_if_fail (grid != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    if (x->t.dim () != 4 || grid->t.dim () != 4 || grid->t.size (3) != 2 ||
        grid->t.size (0) != x->t.size (0))
      invalid ("grid_sample needs x [N, C, H, W] and grid [N, Ho, Wo, 2], got " +
               dims_to_string (x->t.sizes ()) + " and " + dims_to_string (grid->t.sizes ()));
    if (meta_inputs ({ x, grid }))
      return at::empty ({ x->t.size (0), x->t.size (1), grid->t.size (1), grid->t.size (2) },
                        x->t.options ());
    /* Padding 0 = zeros. */
    return at::grid_sampler (x->t, grid->t, grid_sampler_mode (mode), 0, align_corners != FALSE);
  });
}

static at::Tensor
interpolate (const at::Tensor  &x,
             at::IntArrayRef    size,
             MienInterpolation  mode,
             bool               antialias)
{
  if (x.dim () != 4)
    invalid ("interpolate needs x [N, C, H, W], got " + dims_to_string (x.sizes ()));
  if (size[0] <= 0 || size[1] <= 0)
    invalid ("interpolate needs a positive output size, got " + dims_to_string (size));
  /* No scale factors: torch.nn.functional.interpolate (size=...) passes none either, and they
   * change the sampling positions. */
  switch (mode)
    {
    case MIEN_INTERPOLATION_BILINEAR:
      return antialias ? at::_upsample_bilinear2d_aa (x, size, false, c10::nullopt, c10::nullopt)
                       : at::upsample_bilinear2d (x, size, false, c10::nullopt, c10::nullopt);
    case MIEN_INTERPOLATION_BICUBIC:
      return antialias ? at::_upsample_bicubic2d_aa (x, size, false, c10::nullopt, c10::nullopt)
                       : at::upsample_bicubic2d (x, size, false, c10::nullopt, c10::nullopt);
    case MIEN_INTERPOLATION_NEAREST:
      if (antialias)
        invalid ("antialias works only with bilinear and bicubic interpolation");
      return at::upsample_nearest2d (x, size, c10::nullopt, c10::nullopt);
    default:
      invalid ("unknown interpolation mode " + std::to_string (static_cast<int> (mode)));
    }
}

MienTensor *
mien_tensor_interpolate (MienTensor         *x,
                         const gint64        output_size[2],
                         MienInterpolation   mode,
                         gboolean            antialias,
                         GError            **error)
{
  g_return_val_if_fail (x != NULL, NULL);
  g_return_val_if_fail (output_size != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    return interpolate (x->t, { output_size[0], output_size[1] }, mode, antialias != FALSE);
  });
}

/* With OpenMP (Debian's libtorch) the intra-op thread count is OpenMP's, which is per thread:
 * this sets it to one on the calling thread and restores it, leaving every other thread and
 * libtorch's process-wide setting alone. Without OpenMP it does nothing. */
class SerialGuard
{
public:
  SerialGuard ()
  {
    using GetFunc = int (*) ();
    static SetFunc set = reinterpret_cast<SetFunc> (dlsym (RTLD_DEFAULT, "omp_set_num_threads"));
    static GetFunc get = reinterpret_cast<GetFunc> (dlsym (RTLD_DEFAULT, "omp_get_max_threads"));

    if (set == nullptr || get == nullptr)
      return;
    /* libtorch sets a thread's count when that thread first asks for it; that must happen
     * before, not after, the count is lowered here. */
    at::get_num_threads ();
    set_ = set;
    saved_ = get ();
    set_ (1);
  }
  ~SerialGuard ()
  {
    if (set_ != nullptr)
      set_ (saved_);
  }
  SerialGuard (const SerialGuard &) = delete;
  SerialGuard &operator= (const SerialGuard &) = delete;

private:
  using SetFunc = void (*) (int);
  SetFunc set_ = nullptr;
  int saved_ = 1;
};

MienTensor *
mien_tensor_resize_image (MienTensor  *x,
                          gint64       height,
                          gint64       width,
                          GError     **error)
{
  g_return_val_if_fail (x != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    SerialGuard serial;
    at::Tensor batch, out;

    if (x->t.scalar_type () != at::kByte || (x->t.dim () != 3 && x->t.dim () != 4))
      invalid ("resize_image needs a uint8 [C, H, W] or [N, C, H, W] image, got " +
               std::string (c10::toString (x->t.scalar_type ())) + dims_to_string (x->t.sizes ()));
    if (x->t.size (-2) == height && x->t.size (-1) == width)
      return x->t;
    batch = x->t.dim () == 3 ? x->t.unsqueeze (0) : x->t;
    out = at::empty ({ batch.size (0), batch.size (1), height, width }, batch.options ());
    /* One channel at a time: channels are resampled independently, so the values are the
     * same, and a 100-megapixel photo needs 400 MB of floats rather than 1.2 GB. Bilinear
     * weights are convex, so the values stay in [0, 255]: torchvision rounds and casts without
     * clamping, as copy_ () does. */
    for (int64_t c = 0; c < batch.size (1); c++)
      out.narrow (1, c, 1).copy_ (interpolate (batch.narrow (1, c, 1).to (at::kFloat),
                                               { height, width }, MIEN_INTERPOLATION_BILINEAR,
                                               true).round ());
    return x->t.dim () == 3 ? out.squeeze (0) : out;
  });
}

/* ---- Losses ------------------------------------------------------------------------- */

MienTensor *
mien_tensor_cross_entropy (MienTensor  *logits,
                           MienTensor  *targets,
                           MienTensor  *weight,
                           double       label_smoothing,
                           GError     **error)
{
  g_return_val_if_fail (logits != NULL, NULL);
  g_return_val_if_fail (targets != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return wrap (error, [&] {
    if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
      invalid ("label_smoothing has to be between 0 and 1, but got " +
               std::to_string (label_smoothing));
    if (meta_inputs ({ logits, targets, weight }))
      return at::empty ({}, logits->t.options ());
    return at::cross_entropy_loss (logits->t, targets->t, optional_tensor (weight),
                                   at::Reduction::Mean, -100, label_smoothing);
  });
}

/* ---- Optimiser ---------------------------------------------------------------------- */

MienOptimizer *
mien_optimizer_new_adam (const MienAdamConfig  *config,
                         GError               **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return guard (error, static_cast<MienOptimizer *> (nullptr), [&] {
    MienAdamConfig defaults = MIEN_ADAM_CONFIG_INIT;
    const MienAdamConfig &c = config != nullptr ? *config : defaults;

    /* The checks and wording of torch.optim.Adam.__init__. */
    if (!(c.lr >= 0.0))
      invalid ("Invalid learning rate: " + std::to_string (c.lr));
    if (!(c.eps >= 0.0))
      invalid ("Invalid epsilon value: " + std::to_string (c.eps));
    if (!(c.beta1 >= 0.0 && c.beta1 < 1.0))
      invalid ("Invalid beta parameter at index 0: " + std::to_string (c.beta1));
    if (!(c.beta2 >= 0.0 && c.beta2 < 1.0))
      invalid ("Invalid beta parameter at index 1: " + std::to_string (c.beta2));
    if (!(c.weight_decay >= 0.0))
      invalid ("Invalid weight_decay value: " + std::to_string (c.weight_decay));

    auto *optimizer = new MienOptimizer ();
    optimizer->config = c;
    return optimizer;
  });
}

void
mien_optimizer_free (MienOptimizer *optimizer)
{
  delete optimizer;
}

gboolean
mien_optimizer_add_parameter (MienOptimizer  *optimizer,
                              const char     *name,
                              MienTensor     *param,
                              GError        **error)
{
  g_return_val_if_fail (optimizer != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (param != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return wrap_bool (error, [&] {
    std::string key (name);

    if (optimizer->index.count (key) > 0)
      invalid ("the optimiser already has a parameter named \"" + key + "\"");
    for (const AdamParam &p : optimizer->params)
      if (p.param.is_same (param->t))
        invalid ("\"" + key + "\" is the same tensor as the parameter \"" + p.name + "\"");
    if (!param->t.is_floating_point ())
      invalid ("\"" + key + "\" is not a floating-point tensor");

    optimizer->params.push_back (AdamParam { key, param->t, {}, {}, {} });
    try
      {
        optimizer->index.emplace (key, optimizer->params.size () - 1);
      }
    catch (...)
      {
        optimizer->params.pop_back ();
        throw;
      }
  });
}

guint
mien_optimizer_get_n_parameters (MienOptimizer *optimizer)
{
  g_return_val_if_fail (optimizer != NULL, 0);

  return static_cast<guint> (optimizer->params.size ());
}

MienTensor *
mien_optimizer_get_parameter (MienOptimizer *optimizer,
                              guint          index)
{
  g_return_val_if_fail (optimizer != NULL, NULL);
  g_return_val_if_fail (index < optimizer->params.size (), NULL);

  return new MienTensor { optimizer->params[index].param };
}

void
mien_optimizer_set_lr (MienOptimizer *optimizer,
                       double         lr)
{
  g_return_if_fail (optimizer != NULL);
  g_return_if_fail (lr >= 0.0);

  optimizer->config.lr = lr;
}

double
mien_optimizer_get_lr (MienOptimizer *optimizer)
{
  g_return_val_if_fail (optimizer != NULL, 0.0);

  return optimizer->config.lr;
}

void
mien_optimizer_zero_grad (MienOptimizer *optimizer)
{
  g_return_if_fail (optimizer != NULL);

  guard_critical (G_STRFUNC, [&] {
    for (AdamParam &p : optimizer->params)
      p.param.mutable_grad ().reset ();
  });
}

gboolean
mien_optimizer_step (MienOptimizer  *optimizer,
                     GError        **error)
{
  g_return_val_if_fail (optimizer != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return wrap_bool (error, [&] {
    const MienAdamConfig &c = optimizer->config;
    at::NoGradGuard no_grad;

    /* torch.optim.adam._single_tensor_adam / adamw._single_tensor_adamw with amsgrad,
     * maximize, capturable and differentiable all off. Every scalar is computed in double as
     * Python does, so the float32 results are bit-identical. */
    for (AdamParam &p : optimizer->params)
      {
        at::Tensor grad = p.param.grad ();

        if (!grad.defined ())
          continue;
        if (grad.is_sparse ())
          invalid ("Adam does not support sparse gradients (parameter \"" + p.name + "\")");

        adam_init_state (p);
        p.step.add_ (1);

        if (c.decoupled_weight_decay)
          p.param.mul_ (1.0 - c.lr * c.weight_decay);
        else if (c.weight_decay != 0.0)
          grad = grad.add (p.param, c.weight_decay);

        p.exp_avg.mul_ (c.beta1).add_ (grad, 1.0 - c.beta1);
        p.exp_avg_sq.mul_ (c.beta2).addcmul_ (grad, grad, 1.0 - c.beta2);

        /* step_t.item () in Python: the float32 count, widened to double. */
        double step = p.step.item<double> ();
        double bias_correction1 = 1.0 - std::pow (c.beta1, step);
        double bias_correction2 = 1.0 - std::pow (c.beta2, step);
        double step_size = c.lr / bias_correction1;
        double bias_correction2_sqrt = std::sqrt (bias_correction2);

        at::Tensor denom = (p.exp_avg_sq.sqrt () / bias_correction2_sqrt).add_ (c.eps);
        p.param.addcdiv_ (p.exp_avg, denom, -step_size);
      }
  });
}

gint64
mien_optimizer_get_step (MienOptimizer *optimizer)
{
  g_return_val_if_fail (optimizer != NULL, 0);

  gint64 max_step = 0;
  guard_critical (G_STRFUNC, [&] {
    for (const AdamParam &p : optimizer->params)
      if (p.step.defined ())
        max_step = MAX (max_step, static_cast<gint64> (p.step.item<double> ()));
  });
  return max_step;
}

void
mien_optimizer_foreach_state (MienOptimizer          *optimizer,
                              MienOptimizerStateFunc  func,
                              gpointer                user_data)
{
  g_return_if_fail (optimizer != NULL);
  g_return_if_fail (func != NULL);

  guard_critical (G_STRFUNC, [&] {
    for (const AdamParam &p : optimizer->params)
      {
        if (!p.step.defined ())
          continue;

        /* Borrowed: the wrappers live on this stack frame; callers alias what they keep. */
        MienTensor exp_avg { p.exp_avg };
        MienTensor exp_avg_sq { p.exp_avg_sq };
        MienTensor step { p.step };
        std::string name_exp_avg = p.name + ".exp_avg";
        std::string name_exp_avg_sq = p.name + ".exp_avg_sq";
        std::string name_step = p.name + ".step";

        func (name_exp_avg.c_str (), &exp_avg, user_data);
        func (name_exp_avg_sq.c_str (), &exp_avg_sq, user_data);
        func (name_step.c_str (), &step, user_data);
      }
  });
}

gboolean
mien_optimizer_set_state (MienOptimizer  *optimizer,
                          const char     *name,
                          MienTensor     *value,
                          GError        **error)
{
  g_return_val_if_fail (optimizer != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return wrap_bool (error, [&] {
    enum { EXP_AVG, EXP_AVG_SQ, STEP } which = STEP;
    const char *suffix = ".step";

    /* ".exp_avg_sq" before ".exp_avg", which is a prefix of it. */
    if (g_str_has_suffix (name, ".exp_avg_sq"))
      {
        which = EXP_AVG_SQ;
        suffix = ".exp_avg_sq";
      }
    else if (g_str_has_suffix (name, ".exp_avg"))
      {
        which = EXP_AVG;
        suffix = ".exp_avg";
      }
    else if (!g_str_has_suffix (name, ".step"))
      invalid (std::string ("unknown optimiser state \"") + name +
               "\": expected NAME.exp_avg, NAME.exp_avg_sq or NAME.step");

    std::string param_name (name, strlen (name) - strlen (suffix));
    auto it = optimizer->index.find (param_name);
    if (it == optimizer->index.end ())
      invalid (std::string ("optimiser state \"") + name + "\" is for an unknown parameter \"" +
               param_name + "\"");

    AdamParam &p = optimizer->params[it->second];
    const at::Tensor &v = value->t;
    at::NoGradGuard no_grad;

    if (which == STEP)
      {
        if (v.numel () != 1)
          invalid (std::string ("optimiser state \"") + name + "\" must have one element, not " +
                   dims_to_string (v.sizes ()));
        /* Validate fully before touching the state, so that a failure leaves it as it was. */
        at::Tensor step = v.detach ().to (at::kCPU, at::kFloat).reshape ({}).clone ();
        adam_init_state (p);
        p.step = step;
        return;
      }

    if (!v.sizes ().equals (p.param.sizes ()))
      invalid (std::string ("optimiser state \"") + name + "\" has shape " +
               dims_to_string (v.sizes ()) + " but the parameter has " +
               dims_to_string (p.param.sizes ()));
    adam_init_state (p);
    (which == EXP_AVG ? p.exp_avg : p.exp_avg_sq).copy_ (v);
  });
}

} /* extern "C" */
