/* mien-torch-private.hpp — what the shim's C++ files share: the handles' layouts and the
 * guard that turns every exception into a GError (mien-torch.cpp, mien-dist.cpp). Never
 * included from C.
 */
#pragma once

#include "mien-torch.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <cstring>
#include <stdexcept>
#include <string>

struct _MienTensor {
  at::Tensor t;
};

struct _MienNoGradGuard {
  at::NoGradGuard guard;
};

struct _MienAutocastGuard {
  MienDeviceType device_type;
  bool prev_enabled;
  at::ScalarType prev_dtype;
  bool prev_cache_enabled;
};

namespace mien_shim {


/* An error the shim raises itself, with the GError code it should become. */
class ShimError : public std::runtime_error
{
public:
  ShimError (MienTorchError code, const std::string &message)
    : std::runtime_error (message), code_ (code) {}
  MienTorchError code () const noexcept { return code_; }

private:
  MienTorchError code_;
};

[[noreturn]] inline void
invalid (const std::string &message)
{
  throw ShimError (MIEN_TORCH_ERROR_INVALID_ARGUMENT, message);
}

/* libtorch's CPU allocator reports exhaustion as a plain c10::Error; only the CUDA caching
 * allocator throws c10::OutOfMemoryError. Callers need to tell the two apart (e.g. to suggest a
 * smaller batch), so recognise the CPU message too. */
inline bool
is_cpu_oom_message (const char *message)
{
  /* posix_memalign failing ("can't allocate memory") or returning NULL ("not enough memory"). */
  return strstr (message, "DefaultCPUAllocator: can't allocate memory") != nullptr ||
         strstr (message, "DefaultCPUAllocator: not enough memory") != nullptr;
}

/* "Could not run 'aten::relu' with arguments from the 'Meta' backend. [...]" is followed by a
 * blank line and one line per registered dispatch key: noise in a dialog or a log. */
inline std::string
trim_message (const char *message)
{
  std::string text (message);
  size_t blank = text.find ("\n\n");

  if (blank != std::string::npos && text.find (" registered at ", blank) != std::string::npos)
    text.erase (blank);
  return text;
}

/* Runs `f` and converts any exception into `error`, returning `failure` instead. */
template <class R, class F>
R
guard (GError **error, R failure, F &&f) noexcept
{
  try
    {
      return f ();
    }
  catch (const ShimError &e)
    {
      g_set_error_literal (error, MIEN_TORCH_ERROR, e.code (), e.what ());
    }
  catch (const c10::OutOfMemoryError &e)
    {
      g_set_error_literal (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_OUT_OF_MEMORY,
                           e.what_without_backtrace ());
    }
  catch (const c10::Error &e)
    {
      const char *raw = e.what_without_backtrace ();
      std::string trimmed;

      /* Nothing may escape from here either, not even bad_alloc. */
      try
        {
          trimmed = trim_message (raw);
        }
      catch (...)
        {
        }
      const char *message = trimmed.empty () ? raw : trimmed.c_str ();
      g_set_error_literal (error, MIEN_TORCH_ERROR,
                           is_cpu_oom_message (message) ? MIEN_TORCH_ERROR_OUT_OF_MEMORY
                                                        : MIEN_TORCH_ERROR_FAILED,
                           message);
    }
  catch (const std::bad_alloc &)
    {
      g_set_error_literal (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_OUT_OF_MEMORY,
                           "Out of host memory");
    }
  catch (const std::exception &e)
    {
      g_set_error_literal (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_FAILED, e.what ());
    }
  catch (...)
    {
      g_set_error_literal (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_FAILED,
                           "unknown C++ exception");
    }
  return failure;
}

/* For the few entry points without a GError: a failure there is a programmer error (e.g.
 * requires_grad on an integer tensor), so it becomes a critical, like g_return_if_fail (). */
template <class F>
void
guard_critical (const char *func, F &&f) noexcept
{
  GError *error = nullptr;

  guard (&error, false, [&] { f (); return true; });
  if (error != nullptr)
    {
      g_critical ("%s: %s", func, error->message);
      g_error_free (error);
    }
}

/* The usual shape of an op: compute an at::Tensor, hand back a new handle to it. */
template <class F>
MienTensor *
wrap (GError **error, F &&f) noexcept
{
  return guard (error, static_cast<MienTensor *> (nullptr), [&] {
    at::Tensor result = f ();
    if (!result.defined ())
      throw std::runtime_error ("libtorch returned an undefined tensor");
    return new MienTensor { std::move (result) };
  });
}

/* In-place ops: FALSE on error, TRUE otherwise. */
template <class F>
gboolean
wrap_bool (GError **error, F &&f) noexcept
{
  return guard (error, FALSE, [&] { f (); return TRUE; });
}

/* Shared by every in-place op: no autograd recording, and nothing to do on meta tensors (they
 * have no data, and libtorch lacks meta kernels for some of the random fills). */
template <class F>
gboolean
in_place (MienTensor *tensor, GError **error, F &&f) noexcept
{
  return wrap_bool (error, [&] {
    if (tensor->t.is_meta ())
      return;
    at::NoGradGuard no_grad;
    f ();
  });
}

/* Synchronised batch norm (mien-dist.cpp): whether a group is set, and the normalisation with
 * the statistics of the whole global batch, for mien_tensor_batch_norm () in training mode. */
bool       sync_batch_norm_active ();
at::Tensor sync_batch_norm (const at::Tensor &x,
                            const at::Tensor &weight,
                            const at::Tensor &bias,
                            const at::Tensor &running_mean,
                            const at::Tensor &running_var,
                            double            momentum,
                            double            eps);

/* A MienDevice as libtorch's; MIEN_TORCH_ERROR_NO_DEVICE for a CUDA device that is not here. */
c10::Device to_at_device (MienDevice device);

} /* namespace mien_shim */
