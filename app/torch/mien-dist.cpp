/* mien-dist.cpp — the c10d side of mien-dist.h.
 *
 * Debian's libtorch-dev ships c10d's headers but not torch/csrc/distributed/autograd/, which
 * reducer.hpp includes for one type name; compat/ supplies that name where it is missing (see
 * compat/torch/csrc/distributed/autograd/context/context.h).
 */

#include "mien-dist.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "mien-torch-private.hpp"

#ifdef MIEN_TORCH_C10D
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#ifdef MIEN_TORCH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

#include <gio/gio.h>
#include <glib/gi18n-lib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace mien_shim;

#ifdef MIEN_TORCH_C10D

namespace {

/* How often a rank says it is alive, and how long a silent one is given before it is called
 * dead. */
constexpr auto kHeartbeat = std::chrono::milliseconds (1000);
constexpr auto kSilence = std::chrono::milliseconds (3500);

std::vector<uint8_t>
to_bytes (const std::string &s)
{
  return std::vector<uint8_t> (s.begin (), s.end ());
}

std::string
from_bytes (const std::vector<uint8_t> &v)
{
  return std::string (v.begin (), v.end ());
}

std::string
rank_key (const char *what, int rank)
{
  return std::string ("mien/") + what + "/" + std::to_string (rank);
}

bool
is_loopback (const std::string &addr)
{
  return addr == "localhost" || addr == "::1" || addr.rfind ("127.", 0) == 0;
}

/* A MIEN_DIST_ERROR, which guard () passes through (ShimError carries MienTorchError codes). */
class DistError : public std::runtime_error
{
public:
  DistError (MienDistError code, const std::string &message)
    : std::runtime_error (message), code_ (code) {}
  MienDistError code () const noexcept { return code_; }

private:
  MienDistError code_;
};

/* guard () for the calls that raise DistError too. */
template <class R, class F>
R
dist_guard (GError **error, R failure, F &&f) noexcept
{
  std::string message;
  MienDistError code = MIEN_DIST_ERROR_PEER;
  bool failed = false;
  R result = guard (error, failure, [&] () -> R {
    try
      {
        return f ();
      }
    catch (const DistError &e)
      {
        failed = true;
        code = e.code ();
        message = e.what ();
        return failure;
      }
  });

  if (failed)
    g_set_error_literal (error, MIEN_DIST_ERROR, code, message.c_str ());
  return result;
}

/* printf into a std::string. */
G_GNUC_PRINTF (1, 2) std::string
format (const char *fmt, ...)
{
  va_list args;
  char *text;

  va_start (args, fmt);
  text = g_strdup_vprintf (fmt, args);
  va_end (args);
  std::string out (text);
  g_free (text);
  return out;
}

struct Beat {
  gint64 counter = -1;
  gint64 position = -1;
  std::string where;
};

Beat
parse_beat (const std::string &value)
{
  Beat beat;
  std::istringstream in (value);

  in >> beat.counter >> beat.position;
  in.get ();
  std::getline (in, beat.where);
  return beat;
}

/* The group that synchronises batch norm (mien_dist_set_sync_batch_norm ()). */
std::atomic<MienProcessGroup *> sync_group { nullptr };

} /* namespace */

struct _MienProcessGroup {
  MienDistBackend backend;
  int rank;
  int world_size;
  std::string addr;
  uint16_t port;
  std::chrono::milliseconds timeout;
  c10::Device device { at::kCPU };
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroup> group;

  /* The heartbeat, on its own connection to the store: the main one may be blocked in a get. */
  c10::intrusive_ptr<c10d::TCPStore> beat_store;
  std::thread beat_thread;
  std::mutex lock;
  std::condition_variable cond;
  bool stopping = false;
  gint64 position = 0;
  std::string where;

  void
  beat_loop ()
  {
    std::unique_lock<std::mutex> guard_lock (lock);
    gint64 counter = 0;

    while (!stopping)
      {
        std::string value = std::to_string (counter++) + " " + std::to_string (position) + " " +
                            where;

        guard_lock.unlock ();
        try
          {
            beat_store->set (rank_key ("alive", rank), to_bytes (value));
          }
        catch (...)
          {
            /* Rank 0 (the store) is gone; the next collective says so. */
            return;
          }
        guard_lock.lock ();
        cond.wait_for (guard_lock, kHeartbeat, [this] { return stopping; });
      }
  }

  std::string
  describe_failure (const std::string &cause);
};

namespace mien_shim {

/* A sum over the ranks that autograd sees through: its gradient is the sum of the ranks'
 * gradients, which is what the statistics of a synchronised batch norm need. */
struct AllReduceSum : public torch::autograd::Function<AllReduceSum>
{
  static at::Tensor
  reduce (const at::Tensor &x)
  {
    MienProcessGroup *pg = sync_group.load ();
    std::vector<at::Tensor> tensors { x.clone () };

    if (pg == nullptr || !pg->group)
      throw ShimError (MIEN_TORCH_ERROR_FAILED, "synchronised batch norm without a group");
    pg->group->allreduce (tensors)->wait (pg->timeout);
    return tensors[0];
  }

  static at::Tensor
  forward (torch::autograd::AutogradContext *, at::Tensor x)
  {
    return reduce (x);
  }

  static torch::autograd::variable_list
  backward (torch::autograd::AutogradContext *, torch::autograd::variable_list grads)
  {
    return { reduce (grads[0]) };
  }
};

bool
sync_batch_norm_active ()
{
  return sync_group.load () != nullptr;
}

/* torch.nn.SyncBatchNorm's arithmetic with two reductions (the mean, then the squared
 * deviations from it) rather than E[x²] − E[x]², which loses digits in float32. */
at::Tensor
sync_batch_norm (const at::Tensor &x,
                 const at::Tensor &weight,
                 const at::Tensor &bias,
                 const at::Tensor &running_mean,
                 const at::Tensor &running_var,
                 double            momentum,
                 double            eps)
{
  int64_t channels = x.size (1);
  std::vector<int64_t> dims { 0 };
  std::vector<int64_t> shape (x.dim (), 1);
  at::Tensor count, total, mean, centred, var, y;

  for (int64_t d = 2; d < x.dim (); d++)
    dims.push_back (d);
  shape[1] = channels;
  count = at::full ({ 1 }, static_cast<double> (x.numel () / channels), x.options ());
  total = AllReduceSum::reduce (count);
  mean = AllReduceSum::apply (x.sum (dims)) / total;
  centred = x - mean.view (shape);
  var = AllReduceSum::apply ((centred * centred).sum (dims)) / total;
  y = centred * (var + eps).rsqrt ().view (shape);
  if (weight.defined ())
    y = y * weight.view (shape);
  if (bias.defined ())
    y = y + bias.view (shape);
  {
    at::NoGradGuard no_grad;
    double n = total.item<double> ();

    if (running_mean.defined ())
      running_mean.mul_ (1.0 - momentum).add_ (mean.detach () * momentum);
    if (running_var.defined ())
      running_var.mul_ (1.0 - momentum).add_ (var.detach () * (n / std::max (n - 1.0, 1.0)) *
                                              momentum);
  }
  return y;
}

} /* namespace mien_shim */

/* What is known of why a collective failed on this rank, in words naming the rank to blame. */
std::string
_MienProcessGroup::describe_failure (const std::string &cause)
{
  std::vector<Beat> first (world_size), second (world_size);
  auto read_stopped = [&] () -> std::string {
    for (int r = 0; r < world_size; r++)
      if (r != rank && store->check ({ rank_key ("stopped", r) }))
        return format (_("Rank %d stopped: %s"), r,
                                from_bytes (store->get (rank_key ("stopped", r))).c_str ());
    return std::string ();
  };
  auto read_beats = [&] (std::vector<Beat> &beats) {
    for (int r = 0; r < world_size; r++)
      if (r != rank && store->check ({ rank_key ("alive", r) }))
        beats[r] = parse_beat (from_bytes (store->get (rank_key ("alive", r))));
  };
  std::string stopped;
  std::vector<int> silent, behind;
  gint64 my_position;
  std::string my_where;

  {
    std::lock_guard<std::mutex> guard_lock (lock);
    my_position = position;
    my_where = where;
  }
  try
    {
      /* A dead store must not make the diagnosis itself hang. */
      store->setTimeout (std::chrono::milliseconds (5000));
      stopped = read_stopped ();
      if (!stopped.empty ())
        return stopped;
      read_beats (first);
      std::this_thread::sleep_for (kSilence);
      stopped = read_stopped ();
      if (!stopped.empty ())
        return stopped;
      read_beats (second);
    }
  catch (...)
    {
      if (rank != 0)
        {
          return format (_("Rank 0, which holds the rendezvous at %s:%u, stopped responding (%s)"),
                         addr.c_str (), (guint) port, cause.c_str ());
        }
      return cause;
    }
  for (int r = 0; r < world_size; r++)
    {
      if (r == rank)
        continue;
      if (second[r].counter <= first[r].counter)
        silent.push_back (r);
      else if (second[r].position < my_position)
        behind.push_back (r);
    }
  if (!silent.empty ())
    {
      int r = silent[0];
      if (second[r].where.empty ())
        return format (_("Rank %d stopped responding (%s)"), r, cause.c_str ());
      return format (_("Rank %d stopped responding during %s (%s)"), r,
                     second[r].where.c_str (), cause.c_str ());
    }
  if (!behind.empty ())
    {
      int r = behind[0];
      return format (_("Rank %d is alive but did not reach %s within %g s: it is still at %s"),
                     r, my_where.c_str (), timeout.count () / 1000.0, second[r].where.c_str ());
    }
  return std::string ();
}

/* `t`, or a copy of it on the group's device where the backend needs one (NCCL: a CUDA
 * device; Adam's step counts live on the CPU). */
static at::Tensor
on_group_device (MienProcessGroup *pg, const at::Tensor &t)
{
  if (pg->backend == MIEN_DIST_BACKEND_NCCL && t.device () != pg->device)
    return t.to (pg->device);
  return t;
}

/* Runs `f` (a collective to its end, or a store operation); a failure becomes
 * MIEN_DIST_ERROR_PEER, explained. */
template <class F>
gboolean
collective (MienProcessGroup *pg,
            GError          **error,
            F               &&f)
{
  GError *local_error = nullptr;

  if (guard (&local_error, FALSE, [&] {
        if (!pg->group)
          throw std::runtime_error ("this rank has left its group");
        f ();
        return TRUE;
      }))
    return TRUE;
  local_error->domain = MIEN_DIST_ERROR;
  local_error->code = MIEN_DIST_ERROR_PEER;
  mien_process_group_explain_failure (pg, &local_error);
  g_propagate_error (error, local_error);
  return FALSE;
}

/* Refuses to go on when rank `r` was started with another world size than this one. Rank 0
 * holds the store: it waits a moment for that rank to read the same verdict before leaving. */
static void
check_world (MienProcessGroup *pg, int r)
{
  std::string theirs = from_bytes (pg->store->get (rank_key ("world", r)));

  if (theirs == std::to_string (pg->world_size))
    return;
  if (pg->rank == 0)
    {
      auto deadline = std::chrono::steady_clock::now () + kSilence;

      while (!pg->store->check ({ rank_key ("seen", r) }) &&
             std::chrono::steady_clock::now () < deadline)
        std::this_thread::sleep_for (std::chrono::milliseconds (50));
    }
  else
    pg->store->set (rank_key ("seen", pg->rank), to_bytes ("1"));
  throw DistError (MIEN_DIST_ERROR_RENDEZVOUS,
                   format (_("Rank %d was started with WORLD_SIZE=%s, rank %d with %d"), r,
                           theirs.c_str (), pg->rank, pg->world_size));
}

#else /* !MIEN_TORCH_C10D: a libtorch without c10d's headers, or Gloo's */

bool
mien_shim::sync_batch_norm_active ()
{
  return false;
}

at::Tensor
mien_shim::sync_batch_norm (const at::Tensor &, const at::Tensor &, const at::Tensor &,
                            const at::Tensor &, const at::Tensor &, double, double)
{
  throw ShimError (MIEN_TORCH_ERROR_FAILED, "synchronised batch norm without c10d");
}

#endif /* MIEN_TORCH_C10D */

extern "C" {

G_DEFINE_QUARK (mien-dist-error-quark, mien_dist_error)

static const char * const backend_names[] = { "gloo", "nccl" };
gboolean
mien_dist_backend_from_string (const char       *str,
                               MienDistBackend  *out,
                               GError          **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (backend_names); i++)
    if (g_strcmp0 (str, backend_names[i]) == 0)
      {
        *out = static_cast<MienDistBackend> (i);
        return TRUE;
      }
  g_set_error (error, MIEN_DIST_ERROR, MIEN_DIST_ERROR_UNSUPPORTED,
               _("Unknown distributed backend “%s”: use gloo or nccl"), str);
  return FALSE;
}

guint
mien_dist_free_port (GError **error)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  if (socket == NULL || !g_socket_bind (socket, address, FALSE, error) ||
      (bound = g_socket_get_local_address (socket, error)) == NULL)
    return 0;
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

gboolean
mien_dist_backend_check (MienDistBackend   backend,
                         GError          **error)
{
#ifndef MIEN_TORCH_C10D
  g_set_error (error, MIEN_DIST_ERROR, MIEN_DIST_ERROR_UNSUPPORTED,
               _("This Mien was built without PyTorch's distributed engine (libtorch's c10d "
                 "headers or Gloo's were missing; on Debian, install libgloo-dev and rebuild)"));
  return FALSE;
#endif
#ifndef MIEN_TORCH_NCCL
  if (backend == MIEN_DIST_BACKEND_NCCL)
    {
      g_set_error (error, MIEN_DIST_ERROR, MIEN_DIST_ERROR_UNSUPPORTED,
                   _("This Mien was built against a libtorch without NCCL (Debian's is CPU-only): "
                     "use --backend gloo, or build with -Dlibtorch= pointing at a CUDA PyTorch"));
      return FALSE;
    }
#endif
  return TRUE;
}

#ifdef MIEN_TORCH_C10D

MienProcessGroup *
mien_process_group_new (MienDistBackend   backend,
                        const char       *master_addr,
                        guint             port,
                        int               rank,
                        int               world_size,
                        MienDevice        device,
                        double            timeout_s,
                        GError          **error)
{
  g_return_val_if_fail (master_addr != NULL, NULL);
  g_return_val_if_fail (port > 0 && port <= 65535, NULL);
  g_return_val_if_fail (world_size >= 1 && rank >= 0 && rank < world_size, NULL);
  g_return_val_if_fail (timeout_s > 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!mien_dist_backend_check (backend, error))
    return NULL;

  std::unique_ptr<MienProcessGroup> pg (new MienProcessGroup ());
  GError *local_error = nullptr;
  gboolean ok;

  pg->backend = backend;
  pg->rank = rank;
  pg->world_size = world_size;
  pg->addr = master_addr;
  pg->port = static_cast<uint16_t> (port);
  pg->timeout = std::chrono::milliseconds (static_cast<int64_t> (timeout_s * 1000.0));

  ok = dist_guard (&local_error, FALSE, [&] {
    c10d::TCPStoreOptions options;

    pg->device = to_at_device (device);
    options.port = pg->port;
    options.isServer = rank == 0;
    options.numWorkers = world_size;
    options.waitWorkers = false;
    options.timeout = pg->timeout;
    try
      {
        pg->store = c10::make_intrusive<c10d::TCPStore> (pg->addr, options);
      }
    catch (const std::exception &e)
      {
        const c10::Error *c10_error = dynamic_cast<const c10::Error *> (&e);
        std::string what = c10_error ? c10_error->what_without_backtrace () : e.what ();

        if (rank == 0 && (what.find ("errno: 98") != std::string::npos ||
                          what.find ("in use") != std::string::npos))
          throw DistError (MIEN_DIST_ERROR_ADDRESS_IN_USE,
                           format (_("Cannot listen for the other ranks on port %u: it is in use "
                                     "(another run?); choose another MASTER_PORT"), port));
        if (rank == 0)
          throw DistError (MIEN_DIST_ERROR_RENDEZVOUS,
                           format (_("Cannot listen for the other ranks on port %u: %s"), port,
                                   what.c_str ()));
        throw DistError (MIEN_DIST_ERROR_RENDEZVOUS,
                         format (_("Rank %d could not reach rank 0 at %s:%u within %g s: %s"),
                                 rank, master_addr, port, timeout_s, what.c_str ()));
      }

    /* The ranks must agree on the world, and each index be taken once. */
    if (pg->store->add (rank_key ("taken", rank), 1) > 1)
      throw DistError (MIEN_DIST_ERROR_RENDEZVOUS,
                       format (_("Rank %d was started twice (check RANK)"), rank));
    pg->store->set (rank_key ("world", rank), to_bytes (std::to_string (world_size)));
    /* Rank 0's first, so that a rank started with another world size says so at once. */
    if (rank > 0)
      check_world (pg.get (), 0);
    std::vector<std::string> keys;
    for (int r = 0; r < world_size; r++)
      keys.push_back (rank_key ("world", r));
    try
      {
        pg->store->wait (keys, pg->timeout);
      }
    catch (const std::exception &)
      {
        std::string missing;
        int n_missing = 0;

        for (int r = 0; r < world_size; r++)
          if (!pg->store->check ({ keys[r] }))
            {
              missing += (n_missing++ > 0 ? ", " : "") + std::to_string (r);
            }
        throw DistError (MIEN_DIST_ERROR_RENDEZVOUS,
                         format (_("Only %d of %d ranks joined within %g s; missing: %s"),
                                 world_size - n_missing, world_size, timeout_s, missing.c_str ()));
      }
    for (int r = 0; r < world_size; r++)
      check_world (pg.get (), r);
    /* A process too many has a RANK its own WORLD_SIZE refuses (mien-cli), or an index that
     * another rank took ("taken" above). */

    auto prefix = c10::make_intrusive<c10d::PrefixStore> ("c10d", pg->store);
    if (backend == MIEN_DIST_BACKEND_GLOO)
      {
        auto options_gloo = c10d::ProcessGroupGloo::Options::create (pg->timeout);
        const char *ifname = g_getenv ("GLOO_SOCKET_IFNAME");

        if (ifname != nullptr && *ifname != '\0')
          options_gloo->devices.push_back (
              c10d::ProcessGroupGloo::createDeviceForInterface (ifname));
        else if (is_loopback (pg->addr))
          options_gloo->devices.push_back (
              c10d::ProcessGroupGloo::createDeviceForHostname ("127.0.0.1"));
        else
          options_gloo->devices.push_back (c10d::ProcessGroupGloo::createDefaultDevice ());
        pg->group = c10::make_intrusive<c10d::ProcessGroupGloo> (prefix, rank, world_size,
                                                                  options_gloo);
      }
#ifdef MIEN_TORCH_NCCL
    else
      {
        auto options_nccl = c10d::ProcessGroupNCCL::Options::create ();

        options_nccl->timeout = pg->timeout;
        pg->group = c10::make_intrusive<c10d::ProcessGroupNCCL> (prefix, rank, world_size,
                                                                  options_nccl);
      }
#endif

    c10d::TCPStoreOptions beat_options;
    beat_options.port = pg->port;
    beat_options.isServer = false;
    beat_options.waitWorkers = false;
    beat_options.timeout = pg->timeout;
    pg->beat_store = c10::make_intrusive<c10d::TCPStore> (pg->addr, beat_options);
    return TRUE;
  });
  if (!ok)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }
  pg->where = _("joining");
  pg->beat_thread = std::thread ([p = pg.get ()] { p->beat_loop (); });
  return pg.release ();
}

void
mien_process_group_free (MienProcessGroup *pg)
{
  if (pg == NULL)
    return;
  if (sync_group.load () == pg)
    sync_group.store (nullptr);
  {
    std::lock_guard<std::mutex> guard_lock (pg->lock);
    pg->stopping = true;
  }
  pg->cond.notify_all ();
  if (pg->beat_thread.joinable ())
    pg->beat_thread.join ();
  /* libtorch's destructors may throw; nothing may escape into C. */
  try
    {
      pg->group.reset ();
      pg->beat_store.reset ();
      pg->store.reset ();
    }
  catch (...)
    {
    }
  delete pg;
}

int
mien_process_group_get_rank (MienProcessGroup *pg)
{
  return pg->rank;
}

int
mien_process_group_get_world_size (MienProcessGroup *pg)
{
  return pg->world_size;
}gboolean
mien_process_group_broadcast_many (MienProcessGroup   *pg,
                                   MienTensor * const *tensors,
                                   guint               n_tensors,
                                   int                 root,
                                   GError            **error)
{
  /* DDP's broadcast bucket (torch.nn.parallel.distributed._DEFAULT_BROADCAST_BUCKET_SIZE). */
  constexpr size_t kBucketBytes = 250u << 20;
  std::vector<bool> done (n_tensors, false);

  g_return_val_if_fail (pg != NULL && (tensors != NULL || n_tensors == 0), FALSE);
  g_return_val_if_fail (root >= 0 && root < pg->world_size, FALSE);

  for (guint first = 0; first < n_tensors; first++)
    {
      std::vector<guint> bucket;
      size_t bytes = 0;

      if (done[first])
        continue;
      /* The tensors of `first`'s dtype and device, up to the bucket's size. */
      for (guint i = first; i < n_tensors; i++)
        {
          const at::Tensor &t = tensors[i]->t;
          const at::Tensor &f = tensors[first]->t;
          size_t size = t.numel () * t.element_size ();

          if (done[i] || t.scalar_type () != f.scalar_type () || t.device () != f.device () ||
              (!bucket.empty () && bytes + size > kBucketBytes))
            continue;
          bucket.push_back (i);
          bytes += size;
          done[i] = true;
        }
      if (!collective (pg, error, [&] {
            std::vector<at::Tensor> flat;
            at::NoGradGuard no_grad;

            for (guint i : bucket)
              flat.push_back (tensors[i]->t.reshape ({ -1 }));
            std::vector<at::Tensor> packed { on_group_device (pg, at::cat (flat)) };
            c10d::BroadcastOptions options;

            options.rootRank = root;
            pg->group->broadcast (packed, options)->wait (pg->timeout);
            int64_t offset = 0;
            for (guint i : bucket)
              {
                at::Tensor &t = tensors[i]->t;

                t.copy_ (packed[0].narrow (0, offset, t.numel ()).view_as (t));
                offset += t.numel ();
              }
          }))
        return FALSE;
    }
  return TRUE;
}

gboolean
mien_process_group_all_reduce_sum (MienProcessGroup  *pg,
                                   MienTensor        *tensor,
                                   GError           **error)
{
  g_return_val_if_fail (pg != NULL && tensor != NULL, FALSE);

  return collective (pg, error, [&] {
    std::vector<at::Tensor> tensors { on_group_device (pg, tensor->t) };

    at::NoGradGuard no_grad;
    pg->group->allreduce (tensors)->wait (pg->timeout);
    if (!tensors[0].is_same (tensor->t))
      tensor->t.copy_ (tensors[0]);
  });
}

gboolean
mien_process_group_sum_doubles (MienProcessGroup  *pg,
                                double            *values,
                                gsize              n_values,
                                GError           **error)
{
  at::Tensor buffer;

  g_return_val_if_fail (pg != NULL && (values != NULL || n_values == 0), FALSE);

  if (n_values == 0)
    return TRUE;
  if (!collective (pg, error, [&] {
        std::vector<at::Tensor> tensors;
        at::Device where = pg->backend == MIEN_DIST_BACKEND_NCCL ? pg->device
                                                                 : c10::Device (at::kCPU);

        buffer = at::from_blob (values, { static_cast<int64_t> (n_values) }, at::kDouble)
                   .to (where, /* non_blocking */ false, /* copy */ true);
        tensors.push_back (buffer);
        pg->group->allreduce (tensors)->wait (pg->timeout);
      }))
    return FALSE;
  return guard (error, FALSE, [&] {
    at::Tensor host = buffer.to (at::kCPU).contiguous ();

    memcpy (values, host.data_ptr<double> (), n_values * sizeof (double));
    return TRUE;
  });
}

gboolean
mien_process_group_barrier (MienProcessGroup  *pg,
                            GError           **error)
{
  g_return_val_if_fail (pg != NULL, FALSE);

  /* Gloo's barrier; NCCL's would need a device set for the rank, an all-reduce does not. */
  if (pg->backend == MIEN_DIST_BACKEND_NCCL)
    {
      double one = 1.0;

      return mien_process_group_sum_doubles (pg, &one, 1, error);
    }
  return collective (pg, error, [&] { pg->group->barrier ()->wait (pg->timeout); });
}

gboolean
mien_process_group_store_set (MienProcessGroup  *pg,
                              const char        *key,
                              const char        *value,
                              GError           **error)
{
  g_return_val_if_fail (pg != NULL && key != NULL && value != NULL, FALSE);

  return collective (pg, error, [&] {
    pg->store->set (std::string ("mien/user/") + key, to_bytes (value));
  });
}

char *
mien_process_group_store_get (MienProcessGroup  *pg,
                              const char        *key,
                              GError           **error)
{
  std::string value;

  g_return_val_if_fail (pg != NULL && key != NULL, NULL);

  /* Polled rather than one blocking get, so that a rank that stops meanwhile (rank 0 refusing
   * to start, say) is reported at once rather than after the timeout. */
  if (!collective (pg, error, [&] {
        std::string full = std::string ("mien/user/") + key;
        auto deadline = std::chrono::steady_clock::now () + pg->timeout;

        while (!pg->store->check ({ full }))
          {
            for (int r = 0; r < pg->world_size; r++)
              if (r != pg->rank && pg->store->check ({ rank_key ("stopped", r) }))
                throw std::runtime_error ("stopped");
            if (std::chrono::steady_clock::now () > deadline)
              throw std::runtime_error (format (_("“%s” did not arrive within %g s"), key,
                                                pg->timeout.count () / 1000.0));
            std::this_thread::sleep_for (std::chrono::milliseconds (50));
          }
        value = from_bytes (pg->store->get (full));
      }))
    return NULL;
  return g_strndup (value.data (), value.size ());
}

void
mien_process_group_set_progress (MienProcessGroup *pg,
                                 gint64            position,
                                 const char       *where)
{
  g_return_if_fail (pg != NULL && where != NULL);

  std::lock_guard<std::mutex> guard_lock (pg->lock);
  pg->position = position;
  pg->where = where;
}

void
mien_process_group_announce_stop (MienProcessGroup *pg,
                                  const char       *reason)
{
  g_return_if_fail (pg != NULL && reason != NULL);

  try
    {
      pg->store->setTimeout (std::chrono::milliseconds (5000));
      pg->store->set (rank_key ("stopped", pg->rank), to_bytes (reason));
      /* Closing this rank's connections fails the others' pending collectives at once, rather
       * than at the timeout. */
      pg->group.reset ();
      if (pg->rank != 0)
        return;
      /* Rank 0 serves the store: it stays until every other rank has read why (or stopped
       * itself), for at most a few heartbeats. */
      auto deadline = std::chrono::steady_clock::now () + kSilence + kSilence;
      for (int r = 1; r < pg->world_size; r++)
        while (!pg->store->check ({ rank_key ("seen", r) }) &&
               !pg->store->check ({ rank_key ("stopped", r) }) &&
               std::chrono::steady_clock::now () < deadline)
          std::this_thread::sleep_for (std::chrono::milliseconds (50));
    }
  catch (...)
    {
      /* The store is gone with rank 0: nobody is left to tell. */
    }
}

void
mien_process_group_explain_failure (MienProcessGroup  *pg,
                                    GError           **error)
{
  std::string text;

  g_return_if_fail (pg != NULL);
  g_return_if_fail (error != NULL && *error != NULL);

  /* A rank stopped by its own Cancel has nobody to blame. */
  if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  try
    {
      text = pg->describe_failure ((*error)->message);
      /* Rank 0 may be waiting for this before it leaves (mien_process_group_announce_stop ()). */
      pg->store->set (rank_key ("seen", pg->rank), to_bytes ("1"));
    }
  catch (...)
    {
    }
  if (text.empty ())
    return;
  g_clear_error (error);
  g_set_error_literal (error, MIEN_DIST_ERROR, MIEN_DIST_ERROR_PEER, text.c_str ());
}

struct _MienGradReducer {
  std::unique_ptr<c10d::Reducer> reducer;
};

MienGradReducer *
mien_grad_reducer_new (MienProcessGroup   *pg,
                       MienTensor * const *params,
                       guint               n_params,
                       GError            **error)
{
  g_return_val_if_fail (pg != NULL, NULL);
  g_return_val_if_fail (params != NULL || n_params == 0, NULL);

  return guard (error, static_cast<MienGradReducer *> (nullptr), [&] {
    std::vector<at::Tensor> tensors;
    std::vector<bool> sparse (n_params, false);

    for (guint i = 0; i < n_params; i++)
      tensors.push_back (params[i]->t);
    if (tensors.empty ())
      invalid ("no trainable parameter to reduce");
    /* As DistributedDataParallel: the buckets in reverse order of the parameters, roughly the
     * order in which backward produces their gradients. */
    auto assignment = c10d::compute_bucket_assignment_by_size (
        tensors, { static_cast<size_t> (c10d::kDefaultFirstBucketBytes),
                   static_cast<size_t> (c10d::kDefaultBucketBytesCap) },
        sparse, {}, c10::nullopt);
    std::vector<std::vector<size_t>> buckets = std::get<0> (assignment);
    std::vector<size_t> limits = std::get<1> (assignment);
    std::reverse (buckets.begin (), buckets.end ());
    std::reverse (limits.begin (), limits.end ());

    auto out = std::make_unique<MienGradReducer> ();
    out->reducer = std::make_unique<c10d::Reducer> (
        tensors, buckets, limits, pg->group, sparse, c10d::kDefaultBucketBytesCap,
        /* find_unused_parameters */ false, /* gradient_as_bucket_view */ false,
        std::unordered_map<size_t, std::string> (), c10d::kDefaultFirstBucketBytes);
    return out.release ();
  });
}

gboolean
mien_grad_reducer_prepare_for_backward (MienGradReducer  *reducer,
                                        MienTensor       *output,
                                        GError          **error)
{
  g_return_val_if_fail (reducer != NULL && output != NULL, FALSE);

  return guard (error, FALSE, [&] {
    reducer->reducer->prepare_for_forward ();
    reducer->reducer->prepare_for_backward ({ output->t });
    return TRUE;
  });
}
void
mien_grad_reducer_free (MienGradReducer *reducer)
{
  if (reducer == NULL)
    return;
  /* ~Reducer is noexcept(false). */
  try
    {
      reducer->reducer.reset ();
    }
  catch (...)
    {
    }
  delete reducer;
}

void
mien_dist_set_sync_batch_norm (MienProcessGroup *pg)
{
  sync_group.store (pg);
}
#else /* !MIEN_TORCH_C10D: no group can be made (mien_dist_backend_check () says why). */

MienProcessGroup *
mien_process_group_new (MienDistBackend   backend,
                        const char       *master_addr,
                        guint             port,
                        int               rank,
                        int               world_size,
                        MienDevice        device,
                        double            timeout_s,
                        GError          **error)
{
  mien_dist_backend_check (backend, error);
  return NULL;
}

void
mien_process_group_free (MienProcessGroup *pg)
{
  g_return_if_fail (pg == NULL);
}

/* Every other entry point takes a group or a reducer, which cannot exist here. */
int
mien_process_group_get_rank (MienProcessGroup *pg)
{
  g_return_val_if_reached (0);
}

int
mien_process_group_get_world_size (MienProcessGroup *pg)
{
  g_return_val_if_reached (1);
}gboolean
mien_process_group_broadcast_many (MienProcessGroup *pg,
                                   MienTensor * const *tensors,
                                   guint n_tensors,
                                   int root,
                                   GError **error)
{
  g_return_val_if_reached (FALSE);
}

gboolean
mien_process_group_all_reduce_sum (MienProcessGroup *pg,
                                   MienTensor *tensor,
                                   GError **error)
{
  g_return_val_if_reached (FALSE);
}

gboolean
mien_process_group_sum_doubles (MienProcessGroup *pg,
                                double *values,
                                gsize n_values,
                                GError **error)
{
  g_return_val_if_reached (FALSE);
}

gboolean
mien_process_group_barrier (MienProcessGroup *pg,
                            GError **error)
{
  g_return_val_if_reached (FALSE);
}

gboolean
mien_process_group_store_set (MienProcessGroup *pg,
                              const char *key,
                              const char *value,
                              GError **error)
{
  g_return_val_if_reached (FALSE);
}

char *
mien_process_group_store_get (MienProcessGroup *pg,
                              const char *key,
                              GError **error)
{
  g_return_val_if_reached (NULL);
}

void
mien_process_group_set_progress (MienProcessGroup *pg,
                                 gint64 position,
                                 const char *where)
{
  g_return_if_reached ();
}

void
mien_process_group_announce_stop (MienProcessGroup *pg,
                                  const char *reason)
{
  g_return_if_reached ();
}

void
mien_process_group_explain_failure (MienProcessGroup *pg,
                                    GError **error)
{
  g_return_if_reached ();
}

MienGradReducer *
mien_grad_reducer_new (MienProcessGroup *pg,
                       MienTensor * const *params,
                       guint n_params,
                       GError **error)
{
  g_return_val_if_reached (NULL);
}

gboolean
mien_grad_reducer_prepare_for_backward (MienGradReducer *reducer,
                                        MienTensor *output,
                                        GError **error)
{
  g_return_val_if_reached (FALSE);
}
void
mien_grad_reducer_free (MienGradReducer *reducer)
{
  g_return_if_fail (reducer == NULL);
}

void
mien_dist_set_sync_batch_norm (MienProcessGroup *pg)
{
  g_return_if_fail (pg == NULL);
}
#endif /* MIEN_TORCH_C10D */

} /* extern "C" */
