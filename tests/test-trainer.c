/* test-trainer.c — reproducibility, resume and the run folder of MienTrainer.
 *
 * Runs are tiny (a small demo set at 32 px, resnet:18, batch 8) so that the suite stays within
 * a few minutes on two CPU cores; what is checked is exactness, not accuracy (test-cli checks
 * accuracy end to end).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "mien-demo-data.h"
#include "mien-json.h"
#include "mien-model.h"
#include "mien-run.h"
#include "mien-trainer.h"
#include "mien-test-util.h"

static char *demo_dir;
static char *demo_train;
static char *demo_val;

static MienTrainConfig *
small_config (const char *out)
{
  MienTrainConfig *config = mien_train_config_new ();

  config->data = g_strdup (demo_dir);
  g_free (config->backbone);
  config->backbone = g_strdup ("resnet:18");
  config->input_size = 32;
  config->epochs = 3;
  config->batch_size = 8;
  config->lr = 1e-3;
  config->smoothing = 0.1;
  config->imbalance = MIEN_IMBALANCE_UPSAMPLE_WEIGHTED;
  config->seed = 7;
  config->threads = 1;
  config->workers = 2;
  config->out = g_strdup (out);
  return config;
}

static guint
count_lines (const char *path)
{
  g_autofree char *text = NULL;
  guint n = 0;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  for (const char *p = text; *p; p++)
    n += *p == '\n';
  return n;
}

static void
run_or_fail (MienTrainer *trainer)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = mien_trainer_run (trainer, NULL, &error);

  /* The error first: it says why. */
  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
test_same_seed_same_weights (MienTestScratch *scratch,
                             gconstpointer    data)
{
  g_autofree char *out_a = g_build_filename (scratch->dir, "a", NULL);
  g_autofree char *out_b = g_build_filename (scratch->dir, "b", NULL);
  g_autofree char *out_c = g_build_filename (scratch->dir, "c", NULL);
  g_autoptr(MienTrainConfig) config_a = small_config (out_a);
  g_autoptr(MienTrainConfig) config_b = small_config (out_b);
  g_autoptr(MienTrainConfig) config_c = small_config (out_c);
  g_autoptr(MienTrainer) a = NULL, b = NULL, c = NULL;
  g_autofree char *last_a = g_build_filename (out_a, "last.safetensors", NULL);
  g_autofree char *last_b = g_build_filename (out_b, "last.safetensors", NULL);
  g_autofree char *last_c = g_build_filename (out_c, "last.safetensors", NULL);
  g_autofree char *log_a = g_build_filename (out_a, "log.jsonl", NULL);
  g_autoptr(MienSafetensors) st_a = NULL, st_c = NULL;
  g_autoptr(GError) error = NULL;
  const MienSafetensorsEntry *wa, *wc;

  config_a->epochs = config_b->epochs = config_c->epochs = 2;
  config_c->seed = 8;
  a = mien_trainer_new (mien_plugin_engine_get_default (), config_a);
  b = mien_trainer_new (mien_plugin_engine_get_default (), config_b);
  c = mien_trainer_new (mien_plugin_engine_get_default (), config_c);
  run_or_fail (a);
  run_or_fail (b);
  run_or_fail (c);

  mien_test_assert_same_tensors (last_a, last_b);
  g_assert_cmpuint (count_lines (log_a), ==, 2);
  g_assert_true (g_file_test (mien_trainer_get_best_path (a), G_FILE_TEST_EXISTS));
  g_assert_cmpuint (mien_trainer_get_best_epoch (a), >=, 1);

  /* Another seed: other weights. */
  st_a = mien_safetensors_open (last_a, &error);
  g_assert_no_error (error);
  st_c = mien_safetensors_open (last_c, &error);
  g_assert_no_error (error);
  wa = mien_safetensors_lookup (st_a, "head.weight");
  wc = mien_safetensors_lookup (st_c, "head.weight");
  g_assert_nonnull (wa);
  g_assert_nonnull (wc);
  g_assert_true (memcmp (wa->data, wc->data, wa->size) != 0);

  /* Upsample+weighted: the auto weights of the training split's own counts. */
  g_assert_nonnull (mien_trainer_get_class_weights (a));

  /* Fault 17: the image that could not be read is named, and nothing was loaded. */
  g_assert_cmpuint (mien_trainer_get_unreadable (a)->len, ==, 1);
  g_assert_nonnull (strstr (mien_trainer_get_unreadable (a)->pdata[0], "zz-broken.png"));
  g_assert_null (mien_trainer_get_pretrained_summary (a));
}

typedef struct {
  GCancellable *cancellable;
  guint         epoch;
  guint         step;
} CancelAt;

static void
cancel_at_cb (const MienTrainProgress *p,
              gpointer                 user_data)
{
  CancelAt *at = user_data;

  if (p->phase == MIEN_TRAIN_PHASE_TRAINING && p->epoch == at->epoch && p->step == at->step)
    g_cancellable_cancel (at->cancellable);
}

static void
test_resume_matches_uninterrupted (MienTestScratch *scratch,
                                   gconstpointer    data)
{
  g_autofree char *out_a = g_build_filename (scratch->dir, "whole", NULL);
  g_autofree char *out_b = g_build_filename (scratch->dir, "killed", NULL);
  g_autoptr(MienTrainConfig) config_a = small_config (out_a);
  g_autoptr(MienTrainConfig) config_b = small_config (out_b);
  g_autoptr(MienTrainer) a = NULL, b = NULL, resumed = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *last_a = g_build_filename (out_a, "last.safetensors", NULL);
  g_autofree char *last_b = g_build_filename (out_b, "last.safetensors", NULL);
  g_autofree char *best_a = g_build_filename (out_a, "best.safetensors", NULL);
  g_autofree char *best_b = g_build_filename (out_b, "best.safetensors", NULL);
  g_autofree char *log_b = g_build_filename (out_b, "log.jsonl", NULL);
  CancelAt at = { cancellable, 2, 3 };
  gboolean ok;

  /* On-the-fly RandAugment: the per-epoch augmentation must also be redone identically. */
  config_a->imbalance = config_b->imbalance = MIEN_IMBALANCE_ONTHEFLY;
  a = mien_trainer_new (mien_plugin_engine_get_default (), config_a);
  run_or_fail (a);

  b = mien_trainer_new (mien_plugin_engine_get_default (), config_b);
  mien_trainer_set_progress_func (b, cancel_at_cb, &at, NULL);
  ok = mien_trainer_run (b, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (ok);
  g_clear_error (&error);
  /* Killed in epoch 2: the folder holds epoch 1. */
  g_assert_cmpuint (count_lines (log_b), ==, 1);

  /* A new trainer, as after a restart, from the folder alone. */
  resumed = mien_trainer_new_resume (mien_plugin_engine_get_default (), out_b, 0, NULL, 0,
                                     &error);
  g_assert_no_error (error);
  run_or_fail (resumed);
  g_assert_cmpuint (count_lines (log_b), ==, 3);

  mien_test_assert_same_tensors (last_a, last_b);
  mien_test_assert_same_tensors (best_a, best_b);
  g_assert_cmpuint (mien_trainer_get_best_epoch (a), ==, mien_trainer_get_best_epoch (resumed));
}

/* Without a configured margin, a fer2013.csv's tight 48-px crops are recorded as such (in
 * config.json and in the model file), where predicting and eval --faces read it. */
static void
test_dataset_margin (MienTestScratch *scratch,
                     gconstpointer    data)
{
  g_autofree char *out = g_build_filename (scratch->dir, "run", NULL);
  g_autofree char *csv = g_build_filename (scratch->dir, "fer2013.csv", NULL);
  g_autofree char *config_path = g_build_filename (out, "config.json", NULL);
  g_autofree char *best = g_build_filename (out, "best.safetensors", NULL);
  g_autoptr(MienTrainConfig) config = small_config (out);
  g_autoptr(MienTrainer) trainer = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonObject) meta = NULL;
  g_autoptr(GString) text = g_string_new ("emotion,pixels,Usage\n");
  g_autoptr(GError) error = NULL;
  JsonNode *recorded;

  /* Happiness (3) and neutral (6): a batch of eight rows to train on and two to validate. */
  for (guint r = 0; r < 10; r++)
    {
      g_string_append_printf (text, "%u,", r % 2 == 0 ? 3u : 6u);
      for (guint i = 0; i < 48 * 48; i++)
        g_string_append_printf (text, i == 0 ? "%u" : " %u", (i * (r + 1) + r * 40) % 256);
      g_string_append_printf (text, ",%s\n", r < 8 ? "Training" : "PublicTest");
    }
  g_assert_true (g_file_set_contents (csv, text->str, -1, &error));
  g_assert_no_error (error);
  g_free (config->data);
  config->data = g_strdup (csv);
  config->epochs = 1;
  g_assert_true (isnan (config->face_margin));
  trainer = mien_trainer_new (mien_plugin_engine_get_default (), config);
  run_or_fail (trainer);

  g_assert_true (json_parser_load_from_file (parser, config_path, &error));
  g_assert_no_error (error);
  recorded = json_object_get_member (json_node_get_object (json_parser_get_root (parser)),
                                     "face_margin");
  g_assert_nonnull (recorded);
  g_assert_false (JSON_NODE_HOLDS_NULL (recorded));
  g_assert_cmpfloat (json_node_get_double (recorded), ==, MIEN_FACE_MARGIN_TIGHT);
  meta = mien_model_read_metadata (best, &error);
  g_assert_no_error (error);
  g_assert_false (json_object_get_null_member (meta, "face_margin"));
  g_assert_cmpfloat (json_object_get_double_member (meta, "face_margin"), ==,
                     MIEN_FACE_MARGIN_TIGHT);
}

static void
test_run_folder (MienTestScratch *scratch,
                 gconstpointer    data)
{
  g_autofree char *out = g_build_filename (scratch->dir, "run", NULL);
  g_autoptr(MienTrainConfig) config = small_config (out);
  g_autoptr(MienTrainer) first = NULL, second = NULL, again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *config_path = g_build_filename (out, "config.json", NULL);
  g_autofree char *best = g_build_filename (out, "best.safetensors", NULL);
  g_autofree char *log_path = g_build_filename (out, "log.jsonl", NULL);
  g_autofree char *log_before = NULL, *log_after = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(MienTrainConfig) read_back = NULL;
  g_autoptr(JsonObject) meta = NULL;
  JsonObject *training;

  config->epochs = 1;
  config->mode = MIEN_MODE_DFT;
  config->class_weights = MIEN_CLASS_WEIGHTS_CUSTOM;
  config->n_weights = 6;
  config->weights = g_new (double, 6);
  for (guint i = 0; i < 6; i++)
    config->weights[i] = (double[]) { 1, 3, 5, 1, 1, 1 }[i];
  config->face_margin = 0.1;
  first = mien_trainer_new (mien_plugin_engine_get_default (), config);
  run_or_fail (first);

  /* config.json reads back as the same configuration. */
  g_assert_true (json_parser_load_from_file (parser, config_path, &error));
  g_assert_no_error (error);
  read_back = mien_train_config_from_json (json_node_get_object (json_parser_get_root (parser)),
                                           config_path, &error);
  g_assert_no_error (error);
  /* Fault 8: the demo folder's own train/ and val/ were used, and config.json says so. */
  g_assert_cmpstr (read_back->data, ==, demo_train);
  g_assert_cmpstr (read_back->val, ==, demo_val);
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (
    json_node_get_object (json_parser_get_root (parser)), "val_split")));
  g_assert_cmpint (read_back->mode, ==, MIEN_MODE_DFT);
  g_assert_cmpuint (read_back->n_weights, ==, 6);
  g_assert_cmpfloat (read_back->weights[2], ==, 5.0);
  g_assert_cmpfloat (read_back->smoothing, ==, 0.1);
  g_assert_cmpuint (read_back->seed, ==, 7);
  g_assert_cmpfloat (read_back->face_margin, ==, 0.1);

  /* The best model file carries what predicting needs, and the training configuration. */
  meta = mien_model_read_metadata (best, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (meta, "mode"), ==, "dft");
  g_assert_cmpint (json_object_get_int_member (meta, "input_size"), ==, 32);
  training = json_object_get_object_member (meta, "training");
  g_assert_nonnull (training);
  g_assert_cmpfloat (json_object_get_double_member (training, "smoothing"), ==, 0.1);
  g_assert_true (json_object_has_member (meta, "metrics"));
  /* How its faces were framed, where predict --faces and eval --faces read it. */
  g_assert_cmpfloat (json_object_get_double_member (meta, "face_margin"), ==, 0.1);

  /* A second run into the same folder is refused and changes nothing. */
  g_assert_true (g_file_get_contents (log_path, &log_before, NULL, NULL));
  second = mien_trainer_new (mien_plugin_engine_get_default (), config);
  g_assert_false (mien_trainer_run (second, NULL, &error));
  g_assert_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_true (g_file_get_contents (log_path, &log_after, NULL, NULL));
  g_assert_cmpstr (log_before, ==, log_after);

  /* Fault 7: starting from this run's weights says what was loaded. */
  {
    g_autofree char *from_out = g_build_filename (scratch->dir, "from-pretrained", NULL);
    g_autoptr(MienTrainConfig) from_config = mien_train_config_copy (config);
    g_autoptr(MienTrainer) from = NULL;
    const char *summary;

    g_free (from_config->out);
    from_config->out = g_strdup (from_out);
    from_config->pretrained = g_strdup (best);
    from = mien_trainer_new (mien_plugin_engine_get_default (), from_config);
    run_or_fail (from);
    summary = mien_trainer_get_pretrained_summary (from);
    g_test_message ("%s", summary);
    g_assert_nonnull (summary);
    g_assert_nonnull (strstr (summary, "best.safetensors"));
    g_assert_nonnull (strstr (summary, "loaded"));
  }

  /* Resuming a finished run with more epochs continues it. */
  again = mien_trainer_new_resume (mien_plugin_engine_get_default (), out, 2, NULL, 0, &error);
  g_assert_no_error (error);
  run_or_fail (again);
  g_assert_cmpuint (count_lines (log_path), ==, 2);
}

/* The log records of two runs, but for how long each epoch took. */
static void
assert_same_log (const char *log_a,
                 const char *log_b)
{
  g_autofree char *text_a = NULL, *text_b = NULL;
  g_auto(GStrv) lines_a = NULL, lines_b = NULL;

  g_assert_true (g_file_get_contents (log_a, &text_a, NULL, NULL));
  g_assert_true (g_file_get_contents (log_b, &text_b, NULL, NULL));
  lines_a = g_strsplit (text_a, "\n", -1);
  lines_b = g_strsplit (text_b, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines_a), ==, g_strv_length (lines_b));
  for (guint i = 0; lines_a[i] != NULL; i++)
    {
      g_autoptr(JsonNode) a = NULL, b = NULL;
      g_autofree char *str_a = NULL, *str_b = NULL;

      if (*lines_a[i] == '\0')
        {
          g_assert_cmpstr (lines_b[i], ==, "");
          continue;
        }
      a = json_from_string (lines_a[i], NULL);
      b = json_from_string (lines_b[i], NULL);
      g_assert_nonnull (a);
      g_assert_nonnull (b);
      for (guint k = 0; k < 2; k++)
        {
          json_object_remove_member (json_node_get_object (k ? b : a), "train_seconds");
          json_object_remove_member (json_node_get_object (k ? b : a), "images_per_s");
          json_object_remove_member (json_node_get_object (k ? b : a), "time");
        }
      str_a = json_to_string (a, FALSE);
      str_b = json_to_string (b, FALSE);
      g_assert_cmpstr (str_a, ==, str_b);
    }
}

/* Fault 2: stopped after each step of the end of an epoch (what a kill there leaves), a run
 * resumes to exactly the weights and log of an uninterrupted one. */
static void
test_kill_at_every_step (MienTestScratch *scratch,
                         gconstpointer    data)
{
  static const char * const steps[] = { "best:1", "last:1", "log:1", "last:2" };
  g_autofree char *whole = g_build_filename (scratch->dir, "whole", NULL);
  g_autoptr(MienTrainConfig) config = small_config (whole);
  g_autoptr(MienTrainer) trainer = NULL;
  g_autofree char *whole_last = g_build_filename (whole, "last.safetensors", NULL);
  g_autofree char *whole_best = g_build_filename (whole, "best.safetensors", NULL);
  g_autofree char *whole_log = g_build_filename (whole, "log.jsonl", NULL);

  config->epochs = 2;
  trainer = mien_trainer_new (mien_plugin_engine_get_default (), config);
  run_or_fail (trainer);

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      g_autofree char *name = g_strdelimit (g_strdup (steps[i]), ":", '-');
      g_autofree char *out = g_build_filename (scratch->dir, name, NULL);
      g_autofree char *last = g_build_filename (out, "last.safetensors", NULL);
      g_autofree char *best = g_build_filename (out, "best.safetensors", NULL);
      g_autofree char *log = g_build_filename (out, "log.jsonl", NULL);
      g_autofree char *stale = g_build_filename (out, "log.jsonl.k1ll3d", NULL);
      g_autoptr(MienTrainer) killed = NULL;
      g_autoptr(MienTrainer) resumed = NULL;
      g_autoptr(GError) error = NULL;

      g_free (config->out);
      config->out = g_strdup (out);
      killed = mien_trainer_new (mien_plugin_engine_get_default (), config);
      g_setenv ("MIEN_TRAINER_FAIL_AFTER", steps[i], TRUE);
      g_assert_false (mien_trainer_run (killed, NULL, &error));
      g_unsetenv ("MIEN_TRAINER_FAIL_AFTER");
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
      g_clear_error (&error);
      /* What a kill while the log was written leaves beside it. */
      g_assert_true (g_file_set_contents (stale, "{\"epoch\": 1", -1, NULL));

      resumed = mien_trainer_new_resume (mien_plugin_engine_get_default (), out, 0, NULL, 0,
                                         &error);
      g_assert_no_error (error);
      run_or_fail (resumed);

      mien_test_assert_same_tensors (whole_last, last);
      mien_test_assert_same_tensors (whole_best, best);
      assert_same_log (whole_log, log);
      g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
      g_assert_cmpuint (mien_trainer_get_best_epoch (resumed), ==,
                        mien_trainer_get_best_epoch (trainer));
    }
}

/* The mean and std a finished run's best model was saved with. */
static void
read_mean_std (const char *out,
               double     *mean,
               double     *std)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *best = g_build_filename (out, "best.safetensors", NULL);
  g_autoptr(JsonObject) meta = mien_model_read_metadata (best, &error);
  JsonArray *m, *s;

  g_assert_no_error (error);
  m = json_object_get_array_member (meta, "mean");
  s = json_object_get_array_member (meta, "std");
  for (guint c = 0; c < 3; c++)
    {
      mean[c] = json_array_get_double_element (m, c);
      std[c] = json_array_get_double_element (s, c);
    }
}

/* From ImageNet weights, a run normalises with ImageNet's mean and std unless told otherwise
 * (`--normalise dataset`); config.json keeps the choice, and one from before the choice existed
 * reads as "dataset", what those versions did. */
static void
test_normalisation (MienTestScratch *scratch,
                    gconstpointer    data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *weights = g_build_filename (scratch->dir, "resnet18.safetensors", NULL);
  g_autofree char *auto_out = g_build_filename (scratch->dir, "auto", NULL);
  g_autofree char *dataset_out = g_build_filename (scratch->dir, "dataset", NULL);
  g_autofree char *config_path = g_build_filename (auto_out, "config.json", NULL);
  g_autoptr(MienTrainConfig) config = small_config (auto_out);
  g_autoptr(MienTrainer) trainer = NULL;
  g_autoptr(MienBackbone) backbone = NULL;
  g_autoptr(MienVarStore) vs = mien_var_store_new (mien_device_cpu ());
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonObject) old = NULL;
  g_autoptr(MienTrainConfig) read_back = NULL;
  g_autoptr(MienTrainConfig) read_old = NULL;
  g_autoptr(MienTestCliResult) bad = NULL;
  g_autoptr(MienTestCliResult) cli = NULL;
  JsonObject *written;
  double mean[3], std[3];

  /* Defaults, resolved. */
  g_assert_cmpint (config->normalisation, ==, MIEN_NORMALISATION_AUTO);
  g_assert_cmpint (mien_train_config_get_normalisation (config), ==, MIEN_NORMALISATION_DATASET);

  backbone = mien_plugin_engine_create_backbone (mien_plugin_engine_get_default (), "resnet:18",
                                                 NULL, &error);
  g_assert_no_error (error);
  g_assert_true (mien_backbone_build (backbone, "18", 32, vs, "", &error));
  g_assert_true (mien_var_store_save (vs, weights, "", NULL, &error));
  g_assert_no_error (error);

  config->epochs = 1;
  config->pretrained = g_strdup (weights);
  g_assert_cmpint (mien_train_config_get_normalisation (config), ==,
                   MIEN_NORMALISATION_IMAGENET);
  trainer = mien_trainer_new (mien_plugin_engine_get_default (), config);
  run_or_fail (trainer);
  read_mean_std (auto_out, mean, std);
  for (guint c = 0; c < 3; c++)
    {
      g_assert_cmpfloat (mean[c], ==, mien_imagenet_mean[c]);
      g_assert_cmpfloat (std[c], ==, mien_imagenet_std[c]);
    }

  g_assert_true (json_parser_load_from_file (parser, config_path, &error));
  g_assert_no_error (error);
  written = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (written, "normalisation"), ==, "auto");
  read_back = mien_train_config_from_json (written, config_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (read_back->normalisation, ==, MIEN_NORMALISATION_AUTO);

  /* An older config.json, without the member. */
  old = json_object_ref (written);
  json_object_remove_member (old, "normalisation");
  read_old = mien_train_config_from_json (old, config_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (read_old->normalisation, ==, MIEN_NORMALISATION_DATASET);
  g_assert_cmpint (mien_train_config_get_normalisation (read_old), ==,
                   MIEN_NORMALISATION_DATASET);
  json_object_set_string_member (old, "normalisation", "imagenette");
  g_assert_null (mien_train_config_from_json (old, config_path, &error));
  g_assert_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_RANGE);
  g_assert_nonnull (strstr (error->message, "normalisation"));
  g_clear_error (&error);

  /* The command line: a wrong value names the option; dataset overrides the default. */
  bad = mien_test_cli_run ("train", "--data", demo_dir, "--normalise", "imagenette", "--out",
                           dataset_out, NULL);
  g_assert_cmpint (bad->status, ==, 2);
  g_assert_nonnull (strstr (bad->err, "--normalise"));
  g_assert_false (g_file_test (dataset_out, G_FILE_TEST_EXISTS));
  cli = mien_test_cli_run ("train", "--data", demo_dir, "--backbone", "resnet:18",
                           "--input-size", "32", "--epochs", "1", "--batch", "8", "--threads",
                           "1", "--workers", "2", "--pretrained", weights, "--normalise",
                           "dataset", "--out", dataset_out, NULL);
  mien_test_cli_assert_success (cli);
  read_mean_std (dataset_out, mean, std);
  for (guint c = 0; c < 3; c++)
    {
      g_assert_cmpfloat (mean[c], !=, mien_imagenet_mean[c]);
      g_assert_cmpfloat (std[c], !=, mien_imagenet_std[c]);
      g_assert_cmpfloat (mean[c], >, 0.0);
      g_assert_cmpfloat (mean[c], <, 1.0);
    }
}

static void
test_config_errors (void)
{
  g_autoptr(MienTrainConfig) config = small_config ("/nonexistent-run");
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTrainer) trainer = NULL;
  MienImbalance imbalance;

  config->batch_size = 1;
  g_assert_false (mien_train_config_validate (config, &error));
  g_assert_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG);
  g_clear_error (&error);
  config->batch_size = 8;

  config->smoothing = 1.5;
  g_assert_false (mien_train_config_validate (config, &error));
  g_assert_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG);
  g_clear_error (&error);
  config->smoothing = 0.1;

  config->face_margin = 2.5;
  g_assert_false (mien_train_config_validate (config, &error));
  g_assert_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "face margin"));
  g_clear_error (&error);
  config->face_margin = NAN;

  g_assert_false (mien_imbalance_from_string ("sometimes", &imbalance, &error));
  g_assert_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG);
  g_clear_error (&error);
  g_assert_true (mien_imbalance_from_string ("upsample+weighted", &imbalance, &error));
  g_assert_cmpint (imbalance, ==, MIEN_IMBALANCE_UPSAMPLE_WEIGHTED);

  /* All-zero custom weights would make the loss 0/0 (fault 14). */
  config->class_weights = MIEN_CLASS_WEIGHTS_CUSTOM;
  config->n_weights = 2;
  config->weights = g_new0 (double, 2);
  g_assert_false (mien_train_config_validate (config, &error));
  g_assert_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "zero"));
  g_clear_error (&error);
  g_clear_pointer (&config->weights, g_free);

  /* Custom weights must match the classes. */
  config->class_weights = MIEN_CLASS_WEIGHTS_CUSTOM;
  config->n_weights = 2;
  config->weights = g_new (double, 2);
  config->weights[0] = config->weights[1] = 1.0;
  g_free (config->out);
  config->out = g_build_filename (g_get_tmp_dir (), "mien-test-weights-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (config->out));
  trainer = mien_trainer_new (mien_plugin_engine_get_default (), config);
  g_assert_false (mien_trainer_run (trainer, NULL, &error));
  g_assert_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "2 class weights"));
  mien_test_remove_tree (config->out);

  /* Nothing to resume. */
  g_clear_error (&error);
  g_assert_null (mien_trainer_new_resume (mien_plugin_engine_get_default (),
                                          "/nonexistent-run", 0, NULL, 0, &error));
  g_assert_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_RESUME);
}

int
main (int    argc,
      char **argv)
{
  MienDemoDataOptions options = MIEN_DEMO_DATA_OPTIONS_INIT;
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  mien_init ();

  /* One small demo set shared by every test: 20 images in the largest class, 32 px. */
  tmp = g_dir_make_tmp ("mien-test-trainer-XXXXXX", &error);
  g_assert_no_error (error);
  demo_dir = g_build_filename (tmp, "demo", NULL);
  options.per_class = 24;
  options.size = 32;
  options.seed = 3;
  if (!mien_demo_data_generate (demo_dir, &options, NULL, NULL, NULL, &error))
    g_error ("demo data: %s", error->message);
  demo_train = g_build_filename (demo_dir, "train", NULL);
  demo_val = g_build_filename (demo_dir, "val", NULL);
  g_assert_true (g_file_test (demo_val, G_FILE_TEST_IS_DIR));
  /* One image that does not decode, which every run must leave out and name. */
  {
    g_autoptr(GDir) classes = g_dir_open (demo_train, 0, &error);
    g_autofree char *broken = NULL;

    g_assert_no_error (error);
    broken = g_build_filename (demo_train, g_dir_read_name (classes), "zz-broken.png", NULL);
    g_assert_true (g_file_set_contents (broken, "not a PNG", -1, &error));
  }

  g_test_add ("/trainer/same-seed", MienTestScratch, NULL, mien_test_scratch_set_up,
              test_same_seed_same_weights, mien_test_scratch_tear_down);
  g_test_add ("/trainer/resume", MienTestScratch, NULL, mien_test_scratch_set_up,
              test_resume_matches_uninterrupted, mien_test_scratch_tear_down);
  g_test_add ("/trainer/run-folder", MienTestScratch, NULL, mien_test_scratch_set_up,
              test_run_folder, mien_test_scratch_tear_down);
  g_test_add ("/trainer/dataset-margin", MienTestScratch, NULL, mien_test_scratch_set_up,
              test_dataset_margin, mien_test_scratch_tear_down);
  g_test_add ("/trainer/kill-at-every-step", MienTestScratch, NULL, mien_test_scratch_set_up,
              test_kill_at_every_step, mien_test_scratch_tear_down);
  g_test_add ("/trainer/normalisation", MienTestScratch, NULL, mien_test_scratch_set_up,
              test_normalisation, mien_test_scratch_tear_down);
  g_test_add_func ("/trainer/config-errors", test_config_errors);
  status = g_test_run ();

  mien_test_remove_tree (tmp);
  g_free (demo_train);
  g_free (demo_val);
  return status;
}
