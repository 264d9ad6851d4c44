/* test-cli-errors.c — mien-cli on bad input: numbers out of range, output paths that must not
 * be written, models that give NaN, eval's skipped files. Fast: a random ResNet-18 at 32 px and
 * a few 16 px images; nothing trains longer than one epoch of 24 images at 32 px.
 *
 * The program under test is $MIEN_CLI (mien_test_cli_run ()).
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mien-core.h"
#include "mien-ensemble.h"
#include "mien-test-util.h"

static const char * const classes[] = { "calm", "happy", NULL };

static char *tmp_dir;
/* Made on first use (ensure_fixtures ()), so that any one test can run alone. */
static char *model_path;
static char *image_path;
static char *set_dir;
static char *broken_path;

static char *
scratch_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static MienModel *
new_model (double std)
{
  MienModelSpec spec = { 0, };
  g_autoptr(GError) error = NULL;
  MienModel *model;

  spec.backbone = "resnet:18";
  spec.input_size = 32;
  spec.mode = MIEN_MODE_FINETUNE;
  spec.classes = classes;
  for (int c = 0; c < 3; c++)
    {
      spec.mean[c] = 0.5;
      spec.std[c] = std;
    }
  spec.device = mien_device_cpu ();
  mien_torch_manual_seed (3);
  model = mien_model_new (mien_plugin_engine_get_default (), &spec, &error);
  g_assert_no_error (error);
  return model;
}

static void
save_model (MienModel  *model,
            const char *path)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (mien_model_save (model, path, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
save_png (int         grey,
          const char *path)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 16, 16);
  g_autoptr(GError) error = NULL;

  gdk_pixbuf_fill (pixbuf, ((guint32) grey * 0x01010100u) | 0xff);
  g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
  g_assert_no_error (error);
}

static void
ensure_fixtures (void)
{
  g_autoptr(MienModel) model = NULL;

  if (model_path != NULL)
    return;
  model = new_model (0.25);
  model_path = scratch_path ("model.safetensors");
  save_model (model, model_path);
  image_path = scratch_path ("face.png");
  save_png (90, image_path);

  /* A dataset of the model's classes, with one file that is not an image. */
  set_dir = scratch_path ("set");
  for (guint c = 0; classes[c] != NULL; c++)
    {
      g_autofree char *dir = g_build_filename (set_dir, classes[c], NULL);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
      for (int i = 0; i < 2; i++)
        {
          g_autofree char *name = g_strdup_printf ("%d.png", i);
          g_autofree char *path = g_build_filename (dir, name, NULL);

          save_png (40 + 100 * c + 10 * i, path);
        }
    }
  broken_path = g_build_filename (set_dir, "happy", "broken.png", NULL);
  g_assert_true (g_file_set_contents (broken_path, "not a PNG at all", -1, NULL));
}

static char *
contents_of (const char *path)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&text);
}

/* ---- Numbers ---------------------------------------------------------------------------- */

typedef struct {
  const char *option;     /* named in the message */
  const char *args[10];   /* after the command, NULL-terminated */
} BadNumber;

/* Each case is refused with exit 2 and a message naming its option. The commands run side by
 * side: most of each one's time is loading libtorch. */
static void
assert_all_refused (const char * const *commands,
                    const BadNumber    *cases,
                    guint               n_cases)
{
  g_autoptr(GPtrArray) procs = g_ptr_array_new_with_free_func (g_object_unref);
  const char *cli = g_getenv ("MIEN_CLI");

  for (guint i = 0; i < n_cases; i++)
    {
      g_autoptr(GPtrArray) argv = g_ptr_array_new ();
      g_autoptr(GError) error = NULL;
      GSubprocess *proc;

      g_ptr_array_add (argv, (char *) cli);
      g_ptr_array_add (argv, (char *) commands[i]);
      for (guint a = 0; cases[i].args[a] != NULL; a++)
        g_ptr_array_add (argv, (char *) cases[i].args[a]);
      g_ptr_array_add (argv, NULL);
      proc = g_subprocess_newv ((const char * const *) argv->pdata,
                                G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                &error);
      g_assert_no_error (error);
      g_ptr_array_add (procs, proc);
    }
  for (guint i = 0; i < n_cases; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *err = NULL;
      g_autofree char *named = g_strdup_printf ("--%s", cases[i].option);
      GSubprocess *proc = procs->pdata[i];

      g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &err, &error));
      g_assert_no_error (error);
      if (g_subprocess_get_exit_status (proc) != 2 || strstr (err, named) == NULL)
        g_error ("mien-cli %s, case %u: expected exit 2 naming %s, got %d: %s", commands[i], i,
                 named, g_subprocess_get_exit_status (proc), err);
    }
}

static void
test_numbers (void)
{
  g_autofree char *run = scratch_path ("run-numbers");
  g_autofree char *threads = g_strdup_printf ("%d", 4 * (int) g_get_num_processors () + 65);
  /* Every numeric option of train is checked before anything else: the data and the run folder
   * need not exist. */
#define TRAIN(...) { "--out", run, "--data", "/nonexistent", __VA_ARGS__, NULL }
  const BadNumber train[] = {
    { "epochs", TRAIN ("--epochs", "0") },
    { "epochs", TRAIN ("--epochs", "ten") },
    { "threads", TRAIN ("--threads", threads) },
    { "workers", TRAIN ("--workers", threads) },
    { "batch", TRAIN ("--batch", "100000") },
    { "val-split", TRAIN ("--val-split", "nan") },
    { "val-split", TRAIN ("--val-split", "1") },
    { "lr", TRAIN ("--lr", "0") },
    { "weight-decay", TRAIN ("--weight-decay", "-0.1") },
    { "warmup", TRAIN ("--epochs", "2", "--warmup", "3") },
    { "smoothing", TRAIN ("--smoothing", "1") },
    { "magnitude", TRAIN ("--magnitude", "31") },
    { "input-size", TRAIN ("--input-size", "0") },
    { "seed", TRAIN ("--seed", "-1") },
    { "class-weights", TRAIN ("--class-weights", "0,0,0") },
    { "class-weights", TRAIN ("--class-weights", "1,nan") },
    { "face-margin", TRAIN ("--face-margin", "2.5") },
    { "crop", TRAIN ("--crop", "pad:0") },
    { "crop", TRAIN ("--crop", "resized:1.5") },
    { "crop", TRAIN ("--crop", "reflect") },
    { "flip", TRAIN ("--flip", "--no-flip") },
    { "time-limit", TRAIN ("--time-limit", "0") },
    { "crop", TRAIN ("--resume", "--crop", "none") },
    /* --resume: its --epochs and --threads too. */
    { "epochs", TRAIN ("--resume", "--epochs", "0") },
    { "threads", TRAIN ("--resume", "--threads", threads) },
  };
#undef TRAIN
  const BadNumber others[] = {
    { "workers", { "--model", "m", "--data", "d", "--workers", "0", NULL } },
    { "margin", { "--model", "m", "--data", "d", "--faces", "--margin", "-1", NULL } },
    { "margin", { "--model", "m", "--margin", "3", "x.png", NULL } },
    { "smoothing", { "--model", "m", "--smoothing", "1", "x.png", NULL } },
    { "per-class", { "--per-class", "0", "out", NULL } },
    { "size", { "--size", "100000", "out", NULL } },
    { "mistakes", { "--model", "m", "--data", "d", "--mistakes", "0", NULL } },
    { "mistakes", { "--model", "m", "--data", "d", "--faces", "--mistakes", "3", NULL } },
  };
  const char *other_commands[] = { "eval", "eval", "predict", "predict", "demo-data",
                                   "demo-data", "eval", "eval" };

  const char *train_commands[G_N_ELEMENTS (train)];

  for (guint i = 0; i < G_N_ELEMENTS (train); i++)
    train_commands[i] = "train";
  assert_all_refused (train_commands, train, G_N_ELEMENTS (train));
  assert_all_refused (other_commands, others, G_N_ELEMENTS (others));
  g_assert_false (g_file_test (run, G_FILE_TEST_EXISTS));
}

static void
test_help_ranges (void)
{
  g_autoptr(MienTestCliResult) r = mien_test_cli_run ("train", "--help", NULL);

  mien_test_cli_assert_success (r);
  g_assert_nonnull (strstr (r->out, "1–100000"));
  g_assert_nonnull (strstr (r->out, "paper"));
}

/* --class-weights paper: the paper's weights by class name, in the order training uses. */
static void
test_paper_weights (void)
{
  g_autofree char *data = scratch_path ("demo");
  g_autofree char *run = scratch_path ("run-paper");
  g_autofree char *config_path = g_build_filename (run, "config.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  static const double expected[] = { 5, 1, 3, 1, 1, 1 };
  JsonArray *weights;

  {
    g_autoptr(MienTestCliResult) r = mien_test_cli_run ("demo-data", "--per-class", "4",
                                                        "--balanced", "--size", "16", data,
                                                        NULL);

    mien_test_cli_assert_success (r);
  }
  {
    /* Classes that are not the paper's: refused, naming them. */
    g_autoptr(MienTestCliResult) r = mien_test_cli_run (
      "train", "--data", data, "--classes", "anger,fear", "--class-weights", "paper",
      "--out", run, NULL);

    g_assert_cmpint (r->status, ==, 2);
    g_assert_nonnull (strstr (r->err, "anger, fear"));
    g_assert_false (g_file_test (run, G_FILE_TEST_EXISTS));
  }
  {
    g_autoptr(MienTestCliResult) r = mien_test_cli_run (
      "train", "--data", data, "--classes", "fear,anger,disgust,happiness,sadness,surprise",
      "--class-weights", "paper", "--imbalance", "weighted", "--backbone", "resnet:18",
      "--input-size", "32", "--epochs", "1", "--batch", "8", "--threads", "1",
      "--workers", "1", "--out", run, NULL);

    mien_test_cli_assert_success (r);
  }
  json_parser_load_from_file (parser, config_path, &error);
  g_assert_no_error (error);
  weights = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                          "weights");
  g_assert_nonnull (weights);
  g_assert_cmpuint (json_array_get_length (weights), ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpfloat (json_array_get_double_element (weights, i), ==, expected[i]);
}

/* --flip/--no-flip and --crop reach config.json (new runs: flip and pad by default);
 * --time-limit stops after the epoch that passes it, keeping the best model. */
static void
test_augment_options (void)
{
  g_autofree char *data = scratch_path ("demo-augment");
  const char *crops[] = { "resized:0.5", NULL };
  const gboolean flips[] = { FALSE, TRUE };
  const char *expected_crops[] = { "resized:0.5", "pad" };

  {
    g_autoptr(MienTestCliResult) r = mien_test_cli_run ("demo-data", "--per-class", "4",
                                                        "--balanced", "--size", "16", data,
                                                        NULL);

    mien_test_cli_assert_success (r);
  }
  for (guint i = 0; i < G_N_ELEMENTS (flips); i++)
    {
      g_autofree char *name = g_strdup_printf ("run-augment-%u", i);
      g_autofree char *run = scratch_path (name);
      g_autofree char *config_path = g_build_filename (run, "config.json", NULL);
      g_autofree char *log_path = g_build_filename (run, "log.jsonl", NULL);
      g_autofree char *best_path = g_build_filename (run, "best.safetensors", NULL);
      g_autofree char *log = NULL;
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(MienTestCliResult) r = NULL;
      JsonObject *config;

      if (crops[i] != NULL)
        r = mien_test_cli_run ("train", "--data", data, "--crop", crops[i], "--no-flip",
                               "--input-size", "32", "--epochs", "4", "--batch", "8",
                               "--threads", "1", "--workers", "1", "--time-limit", "0.00001",
                               "--out", run, NULL);
      else
        r = mien_test_cli_run ("train", "--data", data, "--input-size", "32", "--epochs", "1",
                               "--batch", "8", "--threads", "1", "--workers", "1", "--out",
                               run, NULL);
      mien_test_cli_assert_success (r);
      json_parser_load_from_file (parser, config_path, &error);
      g_assert_no_error (error);
      config = json_node_get_object (json_parser_get_root (parser));
      g_assert_cmpint (json_object_get_boolean_member (config, "flip"), ==, flips[i]);
      g_assert_cmpstr (json_object_get_string_member (config, "crop"), ==, expected_crops[i]);

      /* one epoch of the four: the limit passed during the first */
      g_assert_true (g_file_get_contents (log_path, &log, NULL, &error));
      g_assert_no_error (error);
      {
        g_auto(GStrv) lines = g_strsplit (g_strstrip (log), "\n", -1);

        g_assert_cmpuint (g_strv_length (lines), ==, 1);
      }
      g_assert_true (g_file_test (best_path, G_FILE_TEST_IS_REGULAR));
    }
}

/* ---- Output files ----------------------------------------------------------------------- */

static MienTestCliResult *
predict_to (const char *csv)
{
  return mien_test_cli_run ("predict", "--model", model_path, "--csv", csv, image_path, NULL);
}

static void
test_csv_refused (void)
{
  g_autofree char *fifo = scratch_path ("out.fifo");
  g_autofree char *hard = scratch_path ("hard.safetensors");
  g_autofree char *model_before = NULL;
  g_autofree char *image_before = NULL;
  GStatBuf st;

  ensure_fixtures ();
  model_before = contents_of (model_path);
  image_before = contents_of (image_path);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_cmpint (link (model_path, hard), ==, 0);

  {
    /* A FIFO: refused without opening it (opening it for writing would block). */
    g_autoptr(MienTestCliResult) r = predict_to (fifo);

    g_assert_cmpint (r->status, ==, 2);
    g_assert_nonnull (strstr (r->err, fifo));
    g_assert_cmpint (g_lstat (fifo, &st), ==, 0);
    g_assert_true (S_ISFIFO (st.st_mode));
  }
  if (g_file_test ("/dev/full", G_FILE_TEST_EXISTS))
    {
      g_autoptr(MienTestCliResult) r = predict_to ("/dev/full");

      g_assert_cmpint (r->status, ==, 2);
      g_assert_nonnull (strstr (r->err, "/dev/full"));
    }
  {
    /* The model, a hard link to it, the image predicted. */
    const char *inputs[] = { model_path, hard, image_path };

    for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
      {
        g_autoptr(MienTestCliResult) r = predict_to (inputs[i]);

        g_assert_cmpint (r->status, ==, 2);
        g_assert_nonnull (strstr (r->err, inputs[i]));
      }
  }
  {
    g_autofree char *model_after = contents_of (model_path);
    g_autofree char *image_after = contents_of (image_path);

    g_assert_true (g_str_equal (model_before, model_after));
    g_assert_true (g_str_equal (image_before, image_after));
  }
  g_unlink (hard);
  g_unlink (fifo);
}

static void
test_csv_symlink (void)
{
  g_autofree char *target = scratch_path ("kept.csv");
  g_autofree char *link = scratch_path ("link.csv");
  g_autofree char *kept = NULL;
  g_autofree char *written = NULL;
  GStatBuf st;

  ensure_fixtures ();
  g_assert_true (g_file_set_contents (target, "kept\n", -1, NULL));
  g_assert_cmpint (symlink (target, link), ==, 0);
  {
    g_autoptr(MienTestCliResult) r = predict_to (link);

    mien_test_cli_assert_success (r);
  }
  /* The link became the CSV; the file it pointed to is untouched. */
  kept = contents_of (target);
  g_assert_cmpstr (kept, ==, "kept\n");
  g_assert_cmpint (g_lstat (link, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  written = contents_of (link);
  g_assert_true (g_str_has_prefix (written, "path,class,p_calm,p_happy\n"));
  g_assert_nonnull (strstr (written, image_path));
}

static void
test_csv_read_only_folder (void)
{
  g_autofree char *dir = scratch_path ("ro");
  g_autofree char *csv = g_build_filename (dir, "out.csv", NULL);
  g_autofree char *probe = g_build_filename (dir, "probe", NULL);
  g_autofree char *after = NULL;

  ensure_fixtures ();
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (csv, "old\n", -1, NULL));
  g_assert_cmpint (g_chmod (dir, 0555), ==, 0);
  if (g_file_set_contents (probe, "", 0, NULL))
    {
      g_chmod (dir, 0755);
      g_test_skip ("this user can write in a read-only folder (root)");
      return;
    }
  {
    g_autoptr(MienTestCliResult) r = predict_to (csv);

    g_assert_cmpint (r->status, ==, 1);
    g_assert_nonnull (strstr (r->err, csv));
  }
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  after = contents_of (csv);
  g_assert_cmpstr (after, ==, "old\n");
}

/* ---- Non-finite outputs ----------------------------------------------------------------- */

/* predict and eval fail with the model at `path`, naming it, printing no "nan", and the CSV
 * predict was to replace is intact. */
static void
assert_unusable (const char *path)
{
  g_autofree char *csv = scratch_path ("unusable.csv");
  g_autofree char *after = NULL;
  const char *commands[][8] = {
    { "predict", "--model", path, "--csv", csv, image_path, NULL },
    { "eval", "--model", path, "--data", set_dir, "--workers", "1", NULL },
  };

  g_assert_true (g_file_set_contents (csv, "old\n", -1, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autoptr(MienTestCliResult) r = mien_test_cli_run (commands[i][0], commands[i][1],
                                                          commands[i][2], commands[i][3],
                                                          commands[i][4], commands[i][5],
                                                          commands[i][6], NULL);

      g_assert_cmpint (r->status, ==, 1);
      g_assert_nonnull (strstr (r->err, path));
      g_assert_null (strstr (r->out, "nan"));
    }
  after = contents_of (csv);
  g_assert_cmpstr (after, ==, "old\n");
}

static void
test_nan_weights (void)
{
  g_autoptr(MienModel) model = new_model (0.25);
  g_autofree char *path = scratch_path ("nan.safetensors");
  g_autoptr(GError) error = NULL;
  MienTensor *weight;

  ensure_fixtures ();
  weight = mien_var_store_get (mien_model_get_var_store (model), "head.weight");
  g_assert_nonnull (weight);
  g_assert_true (mien_tensor_fill_ (weight, NAN, &error));
  g_assert_no_error (error);
  save_model (model, path);

  /* In process: the ensemble refuses to give NaN probabilities. */
  {
    g_autoptr(MienEnsemble) ensemble = mien_ensemble_new ();
    g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file (image_path, &error);
    float average[2];

    g_assert_no_error (error);
    g_assert_true (mien_ensemble_add (ensemble, model, &error));
    g_assert_false (mien_ensemble_predict_pixbuf (ensemble, pixbuf, NULL, average, &error));
    g_assert_error (error, MIEN_ENSEMBLE_ERROR, MIEN_ENSEMBLE_ERROR_NOT_FINITE);
    g_clear_error (&error);
  }
  /* Loading the file refuses it, naming the tensor. */
  {
    g_autoptr(MienModel) loaded = mien_model_load (mien_plugin_engine_get_default (), path,
                                                   mien_device_cpu (), &error);

    g_assert_null (loaded);
    g_assert_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_FILE);
    g_assert_nonnull (strstr (error->message, "head.weight"));
    g_clear_error (&error);
  }
  assert_unusable (path);
}

/* A standard deviation so small (float32's least) that the normalised pixels overflow: NaN from a
 * model whose weights are all finite. */
static void
test_extreme_std (void)
{
  g_autoptr(MienModel) model = new_model (1e-45);
  g_autofree char *path = scratch_path ("tiny-std.safetensors");

  ensure_fixtures ();
  save_model (model, path);
  assert_unusable (path);
}

/* ---- Folder to CSV in core -------------------------------------------------------------- */

typedef struct {
  GCancellable *cancellable;
  guint         n_calls;
  double        last;
  guint         n_failed;
  char         *failed;
} PredictWatch;

static void
watch_progress (double      fraction,
                const char *message,
                gpointer    data)
{
  PredictWatch *watch = data;

  watch->n_calls++;
  watch->last = fraction;
  /* After the first image, when it is asked to. */
  if (watch->cancellable != NULL && fraction > 0)
    g_cancellable_cancel (watch->cancellable);
}

static void
watch_failure (const char   *path,
               const GError *error,
               gpointer      data)
{
  PredictWatch *watch = data;

  watch->n_failed++;
  g_free (watch->failed);
  watch->failed = g_strdup (path);
}

static void
test_predict_csv (void)
{
  g_autofree char *dir = scratch_path ("csv-out");
  g_autofree char *csv = g_build_filename (dir, "predictions.csv", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_auto(GStrv) lines = NULL;
  const char *models[] = { NULL, NULL };
  const char *inputs[] = { NULL, NULL };
  PredictWatch watch = { NULL, };
  MienPredictCsvOptions options = { NULL, };
  guint n_rows = 0;

  ensure_fixtures ();
  models[0] = model_path;
  inputs[0] = set_dir;
  ensemble = mien_ensemble_load (mien_plugin_engine_get_default (), models, mien_device_cpu (),
                                 &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (csv, "old\n", -1, NULL));
  options.protect = models;
  options.progress = watch_progress;
  options.progress_data = &watch;
  options.failure = watch_failure;
  options.failure_data = &watch;

  /* Cancelled after the first image: an error, and the old file as it was, alone. */
  watch.cancellable = cancellable;
  g_assert_false (mien_ensemble_predict_csv (ensemble, inputs, csv, &options, &n_rows,
                                             cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  text = contents_of (csv);
  g_assert_cmpstr (text, ==, "old\n");
  g_clear_pointer (&text, g_free);
  {
    g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);

    g_assert_cmpstr (g_dir_read_name (d), ==, "predictions.csv");
    g_assert_null (g_dir_read_name (d));
  }

  /* To the end: every readable image a row, the broken one reported, progress at 1. */
  memset (&watch, 0, sizeof watch);
  g_assert_true (mien_ensemble_predict_csv (ensemble, inputs, csv, &options, &n_rows, NULL,
                                            &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_rows, ==, 4);
  g_assert_cmpuint (watch.n_failed, ==, 1);
  g_assert_cmpstr (watch.failed, ==, broken_path);
  g_assert_cmpfloat (watch.last, ==, 1.0);
  g_assert_cmpuint (watch.n_calls, ==, 1 + 5);  /* listing, then each of the 5 files */
  text = contents_of (csv);
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 1 + 4 + 1);  /* header, rows, "" after the last */
  g_assert_cmpstr (lines[0], ==, "path,class,p_calm,p_happy");
  g_free (watch.failed);

  /* A CSV path that is one of the images is refused before anything is predicted. */
  memset (&watch, 0, sizeof watch);
  g_assert_false (mien_ensemble_predict_csv (ensemble, inputs, broken_path, &options, NULL, NULL,
                                             &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (watch.n_calls, ==, 1);
}

/* ---- eval's skipped files --------------------------------------------------------------- */

/* The reasons eval prints outlive the loader that found them (under ASan a use after free). */
static void
test_eval_skipped (void)
{
  g_autoptr(MienTestCliResult) r = NULL;
  g_autofree char *skipped = NULL;

  ensure_fixtures ();
  r = mien_test_cli_run ("eval", "--model", model_path, "--data", set_dir, "--workers", "1",
                         NULL);
  mien_test_cli_assert_success (r);
  skipped = g_strdup_printf ("skipped %s", broken_path);
  g_assert_nonnull (strstr (r->err, skipped));
  g_assert_nonnull (strstr (r->out, "4 images"));
}

/* ---- eval --mistakes ------------------------------------------------------------------- */

/* eval --mistakes N --json lists each class's mistakes as mien_predictions_mistakes () ranks
 * them for the same model and images; the text output lists the same paths. */
static void
test_eval_mistakes (void)
{
  const char *paths[2] = { NULL, NULL };
  g_autoptr(MienTestCliResult) json = NULL;
  g_autoptr(MienTestCliResult) text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(MienDataset) dataset = NULL;
  g_autoptr(MienMetrics) metrics = NULL;
  g_autoptr(MienPredictions) predictions = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *mistakes;
  guint n_listed = 0;

  ensure_fixtures ();
  paths[0] = model_path;
  ensemble = mien_ensemble_load (mien_plugin_engine_get_default (), paths, mien_device_cpu (),
                                 &error);
  g_assert_no_error (error);
  dataset = mien_dataset_open (set_dir, classes, &error);
  g_assert_no_error (error);
  metrics = mien_ensemble_evaluate_predictions (ensemble, dataset, 1, NULL, &predictions, NULL,
                                                NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  json = mien_test_cli_run ("eval", "--model", model_path, "--data", set_dir, "--workers", "1",
                            "--mistakes", "1", "--json", NULL);
  mien_test_cli_assert_success (json);
  text = mien_test_cli_run ("eval", "--model", model_path, "--data", set_dir, "--workers", "1",
                            "--mistakes", "1", NULL);
  mien_test_cli_assert_success (text);
  g_assert_true (json_parser_load_from_data (parser, json->out, -1, &error));
  g_assert_no_error (error);
  mistakes = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                            "mistakes");
  g_assert_nonnull (mistakes);
  g_assert_cmpuint (json_object_get_size (mistakes), ==, g_strv_length ((char **) classes));
  for (guint t = 0; classes[t] != NULL; t++)
    {
      g_autoptr(GArray) expected = mien_predictions_mistakes (predictions, (int) t, 1);
      JsonArray *listed = json_object_get_array_member (mistakes, classes[t]);

      g_assert_cmpuint (json_array_get_length (listed), ==, expected->len);
      for (guint m = 0; m < expected->len; m++)
        {
          guint i = g_array_index (expected, guint, m);
          JsonObject *mistake = json_array_get_object_element (listed, m);
          const float *p = predictions->probabilities + (gsize) i * predictions->n_classes;

          g_assert_cmpstr (json_object_get_string_member (mistake, "path"), ==,
                           predictions->paths[i]);
          g_assert_cmpstr (json_object_get_string_member (mistake, "predicted"), ==,
                           classes[predictions->predicted[i]]);
          g_assert_cmpfloat_with_epsilon (json_object_get_double_member (mistake, "probability"),
                                          p[predictions->predicted[i]], 1e-6);
          g_assert_cmpfloat_with_epsilon (json_object_get_double_member (mistake,
                                                                         "true_probability"),
                                          p[t], 1e-6);
          g_assert_nonnull (strstr (text->out, predictions->paths[i]));
          n_listed++;
        }
    }
  /* One per class that has any wrong (the confusion matrix's off-diagonal cells); this model
   * gets some wrong, or nothing above was checked. */
  g_assert_cmpuint (n_listed, ==, MIN (1, metrics->confusion[1]) + MIN (1, metrics->confusion[2]));
  g_assert_cmpuint (n_listed, >, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  tmp_dir = g_dir_make_tmp ("mien-cli-errors-XXXXXX", &error);
  g_assert_no_error (error);
  g_test_init (&argc, &argv, NULL);
  mien_init ();

  g_test_add_func ("/cli-errors/numbers", test_numbers);
  g_test_add_func ("/cli-errors/help-ranges", test_help_ranges);
  g_test_add_func ("/cli-errors/paper-weights", test_paper_weights);
  g_test_add_func ("/cli-errors/augment-options", test_augment_options);
  g_test_add_func ("/cli-errors/csv-refused", test_csv_refused);
  g_test_add_func ("/cli-errors/csv-symlink", test_csv_symlink);
  g_test_add_func ("/cli-errors/csv-read-only-folder", test_csv_read_only_folder);
  g_test_add_func ("/cli-errors/nan-weights", test_nan_weights);
  g_test_add_func ("/cli-errors/extreme-std", test_extreme_std);
  g_test_add_func ("/cli-errors/predict-csv", test_predict_csv);
  g_test_add_func ("/cli-errors/eval-skipped", test_eval_skipped);
  g_test_add_func ("/cli-errors/eval-mistakes", test_eval_mistakes);

  status = g_test_run ();
  mien_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  g_free (model_path);
  g_free (image_path);
  g_free (set_dir);
  g_free (broken_path);
  return status;
}
