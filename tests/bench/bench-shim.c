/* bench-shim.c — images per second of a Mien backbone + linear head, for comparison with the same
 * torchvision network in python (bench_torch.py; run-bench.sh runs both and prints the table).
 *
 *   bench-shim [--batch 8] [--size 224] [--threads N] [--warmup 2] [--iters 10] [--classes 7]
 *              [--mode train|eval] [--device cpu|cuda[:N]] FAMILY[:VARIANT]...
 *
 * train (default): each iteration drops the gradients, runs forward in train mode, the head,
 * cross-entropy and backward (no optimiser step). eval: forward and head without autograd.
 * Weights are the plugins' random initialisation; the input is random (already on the device).
 * On CUDA the clock stops after a device synchronisation. One line per backbone:
 *
 *   RESULT mien resnet:50 mode=train batch=8 size=224 threads=2 iters=10 img/s=12.34 ms/iter=648.2
 *          cpu_ms/iter=1290.5
 *
 * cpu_ms/iter is the process's CPU time (all threads) per iteration: on a shared machine it is
 * far less noisy than wall time, and with one thread it measures the work done.
 */
#include "config.h"

#include <stdlib.h>
#include <time.h>

#include "mien-core.h"

static int opt_batch = 8;
static int opt_size = 224;
static int opt_threads = 0;
static int opt_warmup = 2;
static int opt_iters = 10;
static int opt_classes = 7;
static char *opt_mode = NULL;
static char *opt_device = NULL;
static MienDevice device = MIEN_DEVICE_INIT_CPU;

typedef struct {
  MienBackbone *backbone;
  MienVarStore *vs;
  MienTensor *head_w;
  MienTensor *head_b;
  MienTensor *x;
  MienTensor *targets;
  gboolean train;
} Bench;

static void
bench_clear (Bench *b)
{
  g_clear_object (&b->backbone);
  g_clear_pointer (&b->vs, mien_var_store_free);
  g_clear_pointer (&b->head_w, mien_tensor_free);
  g_clear_pointer (&b->head_b, mien_tensor_free);
  g_clear_pointer (&b->x, mien_tensor_free);
  g_clear_pointer (&b->targets, mien_tensor_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Bench, bench_clear)

static gboolean
bench_setup (Bench       *b,
             const char  *spec,
             int          size,
             GError     **error)
{
  MienPluginEngine *engine = mien_plugin_engine_get_default ();
  g_autofree char *variant = NULL;
  gint64 dim;
  gint64 w_shape[2], b_shape[1], x_shape[4], t_shape[1];
  MienInit w_init = { MIEN_INIT_KAIMING_UNIFORM, 2.23606797749979, 0 };
  MienInit b_init = { MIEN_INIT_FAN_IN_UNIFORM, 0, 0 };

  b->backbone = mien_plugin_engine_create_backbone (engine, spec, &variant, error);
  if (b->backbone == NULL)
    return FALSE;
  b->vs = mien_var_store_new (device);
  if (!mien_backbone_build (b->backbone, variant, size, b->vs, "backbone.", error))
    return FALSE;
  dim = mien_backbone_get_feature_dim (b->backbone);

  /* The head as torch.nn.Linear (dim, classes) initialises itself. */
  w_shape[0] = opt_classes;
  w_shape[1] = dim;
  b_shape[0] = opt_classes;
  b_init.a = dim;
  b->head_w = mien_var_store_new_parameter (b->vs, "head.weight", w_shape, 2, &w_init, error);
  if (b->head_w == NULL)
    return FALSE;
  b->head_b = mien_var_store_new_parameter (b->vs, "head.bias", b_shape, 1, &b_init, error);
  if (b->head_b == NULL)
    return FALSE;

  x_shape[0] = opt_batch;
  x_shape[1] = 3;
  x_shape[2] = size;
  x_shape[3] = size;
  t_shape[0] = opt_batch;
  b->x = mien_tensor_new_randn (x_shape, 4, MIEN_DTYPE_FLOAT32, device, error);
  if (b->x == NULL)
    return FALSE;
  b->targets = mien_tensor_new_randint (0, opt_classes, t_shape, 1, device, error);
  return b->targets != NULL;
}

static gboolean
bench_step (Bench   *b,
            GError **error)
{
  g_autoptr(MienTensor) features = NULL;
  g_autoptr(MienTensor) logits = NULL;
  g_autoptr(MienTensor) loss = NULL;

  if (!b->train)
    {
      g_autoptr(MienNoGradGuard) guard = mien_no_grad_guard_new ();

      features = mien_backbone_forward (b->backbone, b->x, FALSE, error);
      if (features == NULL)
        return FALSE;
      logits = mien_tensor_linear (features, b->head_w, b->head_b, error);
      return logits != NULL;
    }

  /* optimizer.zero_grad (set_to_none=True) */
  for (guint i = 0; i < mien_var_store_get_n_vars (b->vs); i++)
    {
      g_autoptr(MienTensor) t = mien_var_store_get_nth (b->vs, i);

      if (mien_var_store_get_kind (b->vs, i) == MIEN_VAR_PARAMETER)
        mien_tensor_zero_grad (t);
    }
  features = mien_backbone_forward (b->backbone, b->x, TRUE, error);
  if (features == NULL)
    return FALSE;
  logits = mien_tensor_linear (features, b->head_w, b->head_b, error);
  if (logits == NULL)
    return FALSE;
  loss = mien_tensor_cross_entropy (logits, b->targets, NULL, 0.0, error);
  if (loss == NULL)
    return FALSE;
  return mien_tensor_backward (loss, error);
}

static double
cpu_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static gboolean
synchronize (GError **error)
{
  if (device.type != MIEN_DEVICE_CUDA)
    return TRUE;
  return mien_torch_cuda_synchronize (device.index, error);
}

static gboolean
run_one (const char  *spec,
         GError     **error)
{
  g_auto(Bench) b = { 0 };
  g_autofree char *device_name = NULL;
  gint64 t0, elapsed;
  double img_s, cpu0, cpu;

  b.train = g_strcmp0 (opt_mode, "eval") != 0;
  if (!bench_setup (&b, spec, opt_size, error))
    return FALSE;
  for (int i = 0; i < opt_warmup; i++)
    if (!bench_step (&b, error))
      return FALSE;
  if (!synchronize (error))
    return FALSE;
  t0 = g_get_monotonic_time ();
  cpu0 = cpu_seconds ();
  for (int i = 0; i < opt_iters; i++)
    if (!bench_step (&b, error))
      return FALSE;
  if (!synchronize (error))
    return FALSE;
  elapsed = g_get_monotonic_time () - t0;
  cpu = cpu_seconds () - cpu0;
  img_s = (double) opt_batch * opt_iters / (elapsed / 1e6);
  device_name = mien_device_to_string (device);
  g_print ("RESULT mien %s mode=%s batch=%d size=%d threads=%d iters=%d img/s=%.4f "
           "ms/iter=%.2f cpu_ms/iter=%.2f device=%s\n", spec, b.train ? "train" : "eval",
           opt_batch, mien_backbone_get_input_size (b.backbone), mien_torch_get_num_threads (),
           opt_iters, img_s, elapsed / 1e3 / opt_iters, cpu * 1e3 / opt_iters, device_name);
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  GOptionEntry entries[] = {
    { "batch", 'b', 0, G_OPTION_ARG_INT, &opt_batch, "Images per batch (8)", "N" },
    { "size", 's', 0, G_OPTION_ARG_INT, &opt_size,
      "Input size in pixels (224; 0 = the variant's preferred)", "PX" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &opt_threads,
      "libtorch intra-op threads (default: the number of processors)", "N" },
    { "warmup", 'w', 0, G_OPTION_ARG_INT, &opt_warmup, "Untimed iterations first (2)", "N" },
    { "iters", 'n', 0, G_OPTION_ARG_INT, &opt_iters, "Timed iterations (10)", "N" },
    { "classes", 'c', 0, G_OPTION_ARG_INT, &opt_classes, "Outputs of the head (7)", "N" },
    { "mode", 'm', 0, G_OPTION_ARG_STRING, &opt_mode,
      "train (forward, loss, backward) or eval (forward only)", "MODE" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &opt_device, "cpu (default), cuda or cuda:N",
      "DEVICE" },
    { NULL }
  };

  context = g_option_context_new ("FAMILY[:VARIANT]... - Mien training throughput");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (argc < 2 || opt_batch < 1 || opt_iters < 1 || opt_warmup < 0 || opt_classes < 2 ||
      (opt_mode != NULL && !g_str_equal (opt_mode, "train") && !g_str_equal (opt_mode, "eval")))
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

      g_printerr ("%s", help);
      return 2;
    }

  mien_init ();
  if (opt_device != NULL && !mien_device_parse (opt_device, &device, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (opt_threads > 0)
    mien_torch_set_num_threads (opt_threads);
  mien_torch_manual_seed (0);

  for (int i = 1; i < argc; i++)
    if (!run_one (argv[i], &error))
      {
        g_printerr ("%s: %s\n", argv[i], error->message);
        return 1;
      }
  return 0;
}
