/* bench-pipeline.c — images per second of Mien's input pipeline alone (MienLoader), for
 * comparison with a torch.utils.data.DataLoader over the same ImageFolder
 * (bench_pipeline_torch.py; `bench-train.sh pipeline` runs both and prints the table).
 *
 *   bench-pipeline [--size 64] [--batch 64] [--workers N] [--threads N] [--epochs 3]
 *                  [--classes a,b,…] [--cache-bytes N] [--seed 0] [--raw] DATASET
 *
 * First mien_loader_prepare () is timed: the first pass that decodes every image (filling the
 * cache) and computes the mean and standard deviation — the work torchvision users do in a
 * separate loop over the data before training. Then `epochs` epochs of mien_loader_start () /
 * mien_loader_next () over mien_dataset_plain_plan (), shuffled per epoch, drop_last as in
 * training. Unless --raw, every batch is also normalised the way the trainer does it
 * (uint8 → float / 255, − mean, / std, with libtorch's threads), so that both sides end with
 * the same normalised float batch. --cache-bytes 1 turns the decode cache off: every epoch
 * decodes again, as a DataLoader does. Output, one JSON line:
 *
 *   {"side":"mien","images":1160,"classes":6,"size":64,"batch":64,"workers":2,"threads":2,
 *    "cache_bytes":0,"normalize":true,"prepare_seconds":1.9,"prepare_images_per_s":610.5,
 *    "epochs":[{"seconds":0.21,"images":1152,"images_per_s":5485.7,"cpu_seconds":0.4},…],
 *    "epoch_images_per_s":5485.7,"mean":[…],"std":[…],"unreadable":0,"cpu_seconds":2.3,
 *    "peak_rss_kb":123456}
 *
 * epoch_images_per_s is the median over the epochs; cpu_seconds are the process's CPU time (all
 * threads), far less noisy than wall time on a shared machine.
 */
#include "config.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include <json-glib/json-glib.h>

#include "mien-loader.h"

static int opt_size = 64;
static int opt_batch = 64;
static int opt_workers = 0;
static int opt_threads = 0;
static int opt_epochs = 3;
static char *opt_classes = NULL;
static gint64 opt_cache_bytes = 0;
static gint64 opt_seed = 0;
static gboolean opt_raw = FALSE;

static double
cpu_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static MienTensor *
channel_tensor (const double *values,
                GError      **error)
{
  const gint64 shape[4] = { 1, 3, 1, 1 };
  const float v[3] = { values[0], values[1], values[2] };

  return mien_tensor_new_from_data (v, MIEN_DTYPE_FLOAT32, shape, 4, error);
}

/* What mien_model_prepare_input () does to a batch on the CPU (colour mode). */
static gboolean
normalize (MienTensor  *images,
           MienTensor  *max,
           MienTensor  *mean,
           MienTensor  *std,
           GError     **error)
{
  g_autoptr(MienNoGradGuard) no_grad = mien_no_grad_guard_new ();
  g_autoptr(MienTensor) x = mien_tensor_to (images, mien_device_cpu (), MIEN_DTYPE_FLOAT32,
                                            error);
  g_autoptr(MienTensor) scaled = NULL;
  g_autoptr(MienTensor) centred = NULL;
  g_autoptr(MienTensor) out = NULL;

  if (x == NULL ||
      (scaled = mien_tensor_div (x, max, error)) == NULL ||
      (centred = mien_tensor_sub (scaled, mean, error)) == NULL ||
      (out = mien_tensor_div (centred, std, error)) == NULL)
    return FALSE;
  return TRUE;
}

static int
compare_double (gconstpointer a,
                gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static gboolean
run (const char  *path,
     GError     **error)
{
  g_auto(GStrv) classes = NULL;
  g_autoptr(MienDataset) dataset = NULL;
  g_autoptr(MienLoader) loader = NULL;
  g_autoptr(MienTensor) max = NULL;
  g_autoptr(MienTensor) mean_t = NULL;
  g_autoptr(MienTensor) std_t = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;
  g_autofree double *rates = g_new0 (double, opt_epochs);
  MienLoaderOptions options = MIEN_LOADER_OPTIONS_INIT;
  const gint64 one[1] = { 1 };
  double mean[3], std[3], cpu0, cpu_start = cpu_seconds ();
  gint64 t0;
  guint n;
  struct rusage usage;

  if (opt_classes != NULL && (classes = mien_dataset_parse_class_list (opt_classes, error)) == NULL)
    return FALSE;
  dataset = mien_dataset_open (path, (const char * const *) classes, error);
  if (dataset == NULL)
    return FALSE;
  n = mien_dataset_get_n_samples (dataset);

  options.input_size = opt_size;
  options.batch_size = opt_batch;
  options.drop_last = TRUE;
  options.n_workers = opt_workers;
  options.cache_bytes = opt_cache_bytes;
  loader = mien_loader_new (dataset, &options, error);
  if (loader == NULL)
    return FALSE;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "side");
  json_builder_add_string_value (b, "mien");
  json_builder_set_member_name (b, "images");
  json_builder_add_int_value (b, n);
  json_builder_set_member_name (b, "classes");
  json_builder_add_int_value (b, mien_dataset_get_n_classes (dataset));
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, opt_size);
  json_builder_set_member_name (b, "batch");
  json_builder_add_int_value (b, opt_batch);
  json_builder_set_member_name (b, "workers");
  json_builder_add_int_value (b, opt_workers > 0 ? opt_workers : (int) g_get_num_processors ());
  json_builder_set_member_name (b, "threads");
  json_builder_add_int_value (b, mien_torch_get_num_threads ());
  json_builder_set_member_name (b, "cache_bytes");
  json_builder_add_int_value (b, opt_cache_bytes);
  json_builder_set_member_name (b, "normalize");
  json_builder_add_boolean_value (b, !opt_raw);

  t0 = g_get_monotonic_time ();
  if (!mien_loader_prepare (loader, mean, std, NULL, NULL, NULL, error))
    return FALSE;
  {
    double s = (g_get_monotonic_time () - t0) / 1e6;

    json_builder_set_member_name (b, "prepare_seconds");
    json_builder_add_double_value (b, s);
    json_builder_set_member_name (b, "prepare_images_per_s");
    json_builder_add_double_value (b, n / MAX (s, 1e-9));
  }

  max = mien_tensor_new_full (one, 1, 255.0, MIEN_DTYPE_FLOAT32, mien_device_cpu (), error);
  if (max == NULL || (mean_t = channel_tensor (mean, error)) == NULL ||
      (std_t = channel_tensor (std, error)) == NULL)
    return FALSE;

  json_builder_set_member_name (b, "epochs");
  json_builder_begin_array (b);
  for (int epoch = 1; epoch <= opt_epochs; epoch++)
    {
      g_autoptr(GArray) slots = mien_dataset_plain_plan (dataset);
      guint64 images = 0;
      double s;

      mien_loader_filter_readable (loader, slots);
      mien_slots_shuffle (slots, (guint64) opt_seed, epoch);
      t0 = g_get_monotonic_time ();
      cpu0 = cpu_seconds ();
      mien_loader_start (loader, slots);
      for (;;)
        {
          g_autoptr(GError) local_error = NULL;
          g_autoptr(MienBatch) batch = mien_loader_next (loader, NULL, &local_error);

          if (batch == NULL)
            {
              if (local_error == NULL)
                break;
              g_propagate_error (error, g_steal_pointer (&local_error));
              return FALSE;
            }
          if (!opt_raw && !normalize (batch->images, max, mean_t, std_t, error))
            return FALSE;
          images += batch->n;
        }
      s = (g_get_monotonic_time () - t0) / 1e6;
      rates[epoch - 1] = images / MAX (s, 1e-9);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, s);
      json_builder_set_member_name (b, "images");
      json_builder_add_int_value (b, images);
      json_builder_set_member_name (b, "images_per_s");
      json_builder_add_double_value (b, rates[epoch - 1]);
      json_builder_set_member_name (b, "cpu_seconds");
      json_builder_add_double_value (b, cpu_seconds () - cpu0);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  qsort (rates, opt_epochs, sizeof (double), compare_double);
  json_builder_set_member_name (b, "epoch_images_per_s");
  json_builder_add_double_value (b, opt_epochs % 2 ? rates[opt_epochs / 2]
                                 : (rates[opt_epochs / 2 - 1] + rates[opt_epochs / 2]) / 2);
  json_builder_set_member_name (b, "mean");
  json_builder_begin_array (b);
  for (int c = 0; c < 3; c++)
    json_builder_add_double_value (b, mean[c]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "std");
  json_builder_begin_array (b);
  for (int c = 0; c < 3; c++)
    json_builder_add_double_value (b, std[c]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "unreadable");
  json_builder_add_int_value (b, mien_loader_get_unreadable (loader)->len);
  json_builder_set_member_name (b, "cpu_seconds");
  json_builder_add_double_value (b, cpu_seconds () - cpu_start);
  getrusage (RUSAGE_SELF, &usage);
  json_builder_set_member_name (b, "peak_rss_kb");
  json_builder_add_int_value (b, usage.ru_maxrss);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  g_print ("%s\n", text);
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  GOptionEntry entries[] = {
    { "size", 's', 0, G_OPTION_ARG_INT, &opt_size, "Input size in pixels (64)", "PX" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &opt_batch, "Images per batch (64)", "N" },
    { "workers", 'w', 0, G_OPTION_ARG_INT, &opt_workers,
      "Decoding threads (default: the number of processors)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &opt_threads,
      "libtorch intra-op threads, for the normalisation (default: the number of processors)",
      "N" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &opt_epochs, "Epochs after the first pass (3)", "N" },
    { "classes", 'c', 0, G_OPTION_ARG_STRING, &opt_classes, "Only these classes", "a,b,…" },
    { "cache-bytes", 0, 0, G_OPTION_ARG_INT64, &opt_cache_bytes,
      "Decode cache size (0 = the loader's default; 1 = no cache)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &opt_seed, "Shuffle seed (0)", "S" },
    { "raw", 0, 0, G_OPTION_ARG_NONE, &opt_raw, "Leave the uint8 batches as they are", NULL },
    { NULL }
  };

  context = g_option_context_new ("DATASET - Mien input pipeline throughput");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (argc != 2 || opt_size < 1 || opt_batch < 1 || opt_epochs < 1 || opt_workers < 0 ||
      opt_threads < 0 || opt_cache_bytes < 0 || opt_seed < 0)
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

      g_printerr ("%s", help);
      return 2;
    }

  mien_init ();
  if (opt_threads > 0)
    mien_torch_set_num_threads (opt_threads);
  if (!run (argv[1], &error))
    {
      g_printerr ("%s: %s\n", argv[1], error->message);
      return 1;
    }
  return 0;
}
