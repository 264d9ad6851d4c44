/* test-run.c — run folders read back: one real (tiny) run trained once, then copies of it that
 * are cut short, damaged, emptied or listed beside others.
 */
#include "config.h"

#include <string.h>
#include <utime.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "mien-demo-data.h"
#include "mien-run.h"
#include "mien-trainer.h"
#include "mien-test-util.h"

typedef MienTestScratch Fixture;

/* The run every test starts from, and what its trainer reported. */
static char *trained_dir;
static guint trained_best_epoch;
static MienMetrics *trained_best_metrics;

/* ---- Helpers ----------------------------------------------------------------------------- */

/* Copies the files of the (flat) folder `from` into a new folder `to`. */
static void
copy_run (const char *from,
          const char *to)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;

  g_assert_cmpint (g_mkdir_with_parents (to, 0755), ==, 0);
  dir = g_dir_open (from, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *src_path = g_build_filename (from, name, NULL);
      g_autofree char *dest_path = g_build_filename (to, name, NULL);
      g_autoptr(GFile) src = g_file_new_for_path (src_path);
      g_autoptr(GFile) dest = g_file_new_for_path (dest_path);

      if (!g_file_test (src_path, G_FILE_TEST_IS_REGULAR))
        continue;
      g_assert_true (g_file_copy (src, dest, G_FILE_COPY_NONE, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
    }
}

static char *
read_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  return text;
}

static void
write_text (const char *path,
            const char *text)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
}

static void
set_mtime (const char *path,
           time_t      when)
{
  struct utimbuf times = { when, when };

  g_assert_cmpint (g_utime (path, &times), ==, 0);
}

static void
set_run_mtime (const char *dir,
               time_t      when)
{
  g_autofree char *config = g_build_filename (dir, "config.json", NULL);
  g_autofree char *log = g_build_filename (dir, "log.jsonl", NULL);

  set_mtime (config, when);
  set_mtime (log, when);
}

static void
assert_same_metrics (MienMetrics *a,
                     MienMetrics *b)
{
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  g_assert_cmpuint (a->n_classes, ==, b->n_classes);
  g_assert_true (g_strv_equal ((const char * const *) a->classes,
                               (const char * const *) b->classes));
  g_assert_cmpuint (a->n, ==, b->n);
  g_assert_cmpmem (a->confusion, a->n_classes * a->n_classes * sizeof (guint64),
                   b->confusion, b->n_classes * b->n_classes * sizeof (guint64));
  g_assert_cmpfloat (a->macro_f1, ==, b->macro_f1);
  g_assert_cmpfloat (a->accuracy, ==, b->accuracy);
}


/* Rewrites `key` of dir's config.json to the JSON text `value` (NULL: removes it). */
static void
set_config_member (const char *dir,
                   const char *key,
                   const char *value)
{
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *text = read_text (path);
  g_autoptr(JsonNode) root = json_from_string (text, NULL);
  g_autofree char *out = NULL;
  JsonObject *object;

  g_assert_nonnull (root);
  object = json_node_get_object (root);
  if (value == NULL)
    json_object_remove_member (object, key);
  else
    {
      g_autoptr(GError) error = NULL;
      JsonNode *node = json_from_string (value, &error);

      g_assert_no_error (error);
      json_object_set_member (object, key, node);
    }
  out = json_to_string (root, TRUE);
  write_text (path, out);
}

/* ---- Tests ------------------------------------------------------------------------------- */

static void
test_load_complete (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienRun) run = mien_run_load (trained_dir, &error);
  g_autofree char *config_path = g_build_filename (trained_dir, "config.json", NULL);
  g_autofree char *best_path = g_build_filename (trained_dir, "best.safetensors", NULL);
  g_autofree char *last_path = g_build_filename (trained_dir, "last.safetensors", NULL);
  g_autofree char *basename = g_path_get_basename (trained_dir);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonNode) config_node = NULL;
  g_autofree char *from_file = NULL;
  g_autofree char *from_run = NULL;
  g_autofree char *description = NULL;
  const MienTrainConfig *config;

  g_assert_no_error (error);
  g_assert_nonnull (run);
  g_assert_cmpstr (mien_run_get_path (run), ==, trained_dir);
  g_assert_cmpstr (mien_run_get_name (run), ==, basename);

  /* The configuration round-trips: written by the trainer, read here, written again. */
  config = mien_run_get_config (run);
  g_assert_nonnull (config);
  g_assert_cmpstr (config->backbone, ==, "resnet:18");
  g_assert_cmpint (config->input_size, ==, 32);
  g_assert_cmpuint (config->epochs, ==, 2);
  g_assert_cmpuint (config->batch_size, ==, 8);
  g_assert_true (json_parser_load_from_file (parser, config_path, &error));
  g_assert_no_error (error);
  from_file = json_to_string (json_parser_get_root (parser), FALSE);
  config_node = mien_train_config_to_json (config);
  from_run = json_to_string (config_node, FALSE);
  g_assert_cmpstr (from_run, ==, from_file);

  g_assert_cmpuint (mien_run_get_n_epochs (run), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *record = mien_run_get_epoch (run, i);

      g_assert_cmpint (json_object_get_int_member (record, "epoch"), ==, i + 1);
      g_assert_true (json_object_has_member (record, "val_macro_f1"));
      g_assert_true (json_object_has_member (record, "train_loss"));
    }
  g_assert_cmpint (mien_run_get_state (run), ==, MIEN_RUN_STATE_COMPLETE);
  g_assert_false (mien_run_can_resume (run));

  g_assert_cmpuint (mien_run_get_best_epoch (run), ==, trained_best_epoch);
  assert_same_metrics (mien_run_get_best_metrics (run), trained_best_metrics);
  g_assert_cmpstr (mien_run_get_best_model (run), ==, best_path);
  g_assert_cmpstr (mien_run_get_last_model (run), ==, last_path);
  g_assert_true (g_file_test (mien_run_get_best_model (run), G_FILE_TEST_IS_REGULAR));
  g_assert_nonnull (mien_run_get_modified (run));

  description = mien_run_describe (run);
  g_test_message ("%s", description);
  g_assert_true (g_str_has_prefix (description, "resnet:18 · "));
  g_assert_nonnull (strstr (description, "2 epochs"));
  g_assert_nonnull (strstr (description, "best F1 "));
}

static void
test_truncated_last_line (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autofree char *dir = g_build_filename (fixture->dir, "killed", NULL);
  g_autofree char *log_path = g_build_filename (dir, "log.jsonl", NULL);
  g_autofree char *text = NULL;
  g_autofree char *cut = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienRun) run = NULL;
  const char *second, *end;

  copy_run (trained_dir, dir);
  text = read_text (log_path);
  second = strchr (text, '\n');
  g_assert_nonnull (second);
  second++;
  end = strchr (second, '\n');
  g_assert_nonnull (end);
  /* Half of the second line and no newline: what a writer killed mid-line leaves. */
  cut = g_strndup (text, (second - text) + (end - second) / 2);
  write_text (log_path, cut);

  /* The cut line is dropped, and last.safetensors, which holds that epoch, gives it back. */
  run = mien_run_load (dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (run);
  g_assert_true (mien_run_needs_repair (run));
  g_assert_cmpuint (mien_run_get_n_epochs (run), ==, 2);
  g_assert_cmpint (mien_run_get_state (run), ==, MIEN_RUN_STATE_COMPLETE);
  g_assert_cmpint (json_object_get_int_member (mien_run_get_epoch (run, 1), "epoch"), ==, 2);
  g_assert_cmpuint (mien_run_get_best_epoch (run), ==, trained_best_epoch);
  assert_same_metrics (mien_run_get_best_metrics (run), trained_best_metrics);
}

static void
test_corrupt (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *dir = g_build_filename (fixture->dir, "damaged", NULL);
  g_autofree char *log_path = g_build_filename (dir, "log.jsonl", NULL);
  g_autofree char *config_path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *text = NULL;
  g_autofree char *damaged = NULL;
  g_autofree char *doubled = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienRun) run = NULL;
  const char *second;

  copy_run (trained_dir, dir);
  text = read_text (log_path);
  second = strchr (text, '\n') + 1;

  /* Garbage in a line that is not the last one. */
  damaged = g_strconcat ("{\"epoch\": 1, garbage\n", second, NULL);
  write_text (log_path, damaged);
  run = mien_run_load (dir, &error);
  g_assert_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT);
  g_assert_null (run);
  g_assert_nonnull (strstr (error->message, "log.jsonl"));
  g_assert_nonnull (strstr (error->message, "line 1"));
  g_clear_error (&error);

  /* Whole lines, but not a log the trainer writes: epoch 2 twice. */
  doubled = g_strconcat (text, second, NULL);
  write_text (log_path, doubled);
  run = mien_run_load (dir, &error);
  g_assert_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "line 3"));
  g_assert_null (run);
  g_clear_error (&error);

  /* A configuration that does not parse. */
  write_text (log_path, text);
  write_text (config_path, "{ \"backbone\": ");
  run = mien_run_load (dir, &error);
  g_assert_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "config.json"));
  g_assert_null (run);
}

static void
test_not_a_run (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *empty = g_build_filename (fixture->dir, "empty", NULL);
  g_autofree char *missing = g_build_filename (fixture->dir, "missing", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienRun) run = NULL;

  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  run = mien_run_load (empty, &error);
  g_assert_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_NOT_A_RUN);
  g_assert_nonnull (strstr (error->message, empty));
  g_assert_null (run);
  g_clear_error (&error);

  run = mien_run_load (missing, &error);
  g_assert_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_NOT_A_RUN);
  g_assert_null (run);
}

static void
test_empty_run (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *dir = g_build_filename (fixture->dir, "configured", NULL);
  g_autofree char *from = g_build_filename (trained_dir, "config.json", NULL);
  g_autofree char *to = g_build_filename (dir, "config.json", NULL);
  g_autofree char *text = read_text (from);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienRun) run = NULL;

  /* Configured, killed before the first epoch ended: no log, no checkpoint. */
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  write_text (to, text);
  run = mien_run_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mien_run_get_n_epochs (run), ==, 0);
  g_assert_cmpint (mien_run_get_state (run), ==, MIEN_RUN_STATE_EMPTY);
  g_assert_true (mien_run_can_resume (run));
  g_assert_cmpuint (mien_run_get_best_epoch (run), ==, 0);
  g_assert_null (mien_run_get_best_metrics (run));
  g_assert_null (mien_run_get_best_model (run));
  g_assert_null (mien_run_get_last_model (run));
  /* The folder it is in now, not the one it was trained in. */
  g_assert_cmpstr (mien_run_get_config (run)->out, ==, dir);
}

static void
test_list (Fixture       *fixture,
           gconstpointer  data)
{
  g_autofree char *runs_dir = g_build_filename (fixture->dir, "runs", NULL);
  g_autofree char *older = g_build_filename (runs_dir, "zeta", NULL);
  g_autofree char *older_log = g_build_filename (older, "log.jsonl", NULL);
  g_autofree char *newer = g_build_filename (runs_dir, "alpha", NULL);
  g_autofree char *broken = g_build_filename (runs_dir, "broken", NULL);
  g_autofree char *broken_config = g_build_filename (broken, "config.json", NULL);
  g_autofree char *other = g_build_filename (runs_dir, "datasets", NULL);
  g_autofree char *stray = g_build_filename (runs_dir, "notes.txt", NULL);
  g_autofree char *nowhere = g_build_filename (fixture->dir, "nowhere", NULL);
  g_autoptr(GPtrArray) runs = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  time_t now = time (NULL);

  copy_run (trained_dir, older);
  copy_run (trained_dir, newer);
  /* Names in the other order than times, so that the order can only come from the times. */
  set_run_mtime (older, now - 3600);
  set_run_mtime (newer, now - 60);
  g_assert_cmpint (g_mkdir (broken, 0755), ==, 0);
  write_text (broken_config, "not JSON");
  /* Neither is a run: not listed, not a problem. */
  g_assert_cmpint (g_mkdir (other, 0755), ==, 0);
  write_text (stray, "hello");

  runs = mien_run_list (runs_dir, &problems);
  g_assert_nonnull (runs);
  g_assert_nonnull (problems);
  g_assert_cmpuint (runs->len, ==, 2);
  g_assert_cmpstr (mien_run_get_name (runs->pdata[0]), ==, "alpha");
  g_assert_cmpstr (mien_run_get_name (runs->pdata[1]), ==, "zeta");
  g_assert_cmpint (g_date_time_compare (mien_run_get_modified (runs->pdata[0]),
                                        mien_run_get_modified (runs->pdata[1])), >, 0);
  g_assert_cmpuint (problems->len, ==, 1);
  g_test_message ("%s", (char *) problems->pdata[0]);
  g_assert_true (g_str_has_prefix (problems->pdata[0], broken));

  /* Touching the older run's log makes it the newest. */
  set_mtime (older_log, now);
  g_clear_pointer (&runs, g_ptr_array_unref);
  runs = mien_run_list (runs_dir, NULL);
  g_assert_cmpuint (runs->len, ==, 2);
  g_assert_cmpstr (mien_run_get_name (runs->pdata[0]), ==, "zeta");

  /* No runs folder yet: nothing, and no problem. */
  g_clear_pointer (&runs, g_ptr_array_unref);
  g_clear_pointer (&problems, g_ptr_array_unref);
  runs = mien_run_list (nowhere, &problems);
  g_assert_cmpuint (runs->len, ==, 0);
  g_assert_cmpuint (problems->len, ==, 0);
}

/* Fault 1: a run trained on a GPU loads here, lists, and resumes on the CPU; the device is
 * only checked when a run starts. */
static void
test_gpu_run (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *runs = g_build_filename (fixture->dir, "runs", NULL);
  g_autofree char *dir = g_build_filename (runs, "from-gpu", NULL);
  g_autofree char *log_path = g_build_filename (dir, "log.jsonl", NULL);
  g_autofree char *log_before = NULL, *log_after = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienRun) run = NULL;
  g_autoptr(GPtrArray) listed = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(MienTrainer) here = NULL;
  g_autoptr(MienTrainer) on_cpu = NULL;
  MienDevice cpu = mien_device_cpu ();

  copy_run (trained_dir, dir);
  /* A device this machine cannot have, whatever it is. */
  set_config_member (dir, "device", "\"cuda:999\"");
  log_before = read_text (log_path);

  run = mien_run_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_run_get_config (run)->device.type, ==, MIEN_DEVICE_CUDA);
  g_assert_cmpint (mien_run_get_config (run)->device.index, ==, 999);
  listed = mien_run_list (runs, &problems);
  g_assert_cmpuint (listed->len, ==, 1);
  g_assert_cmpuint (problems->len, ==, 0);

  /* Continuing there fails when the run starts, saying why, and changes nothing. */
  here = mien_trainer_new_resume (mien_plugin_engine_get_default (), dir, 3, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_false (mien_trainer_run (here, NULL, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_NO_DEVICE);
  g_clear_error (&error);
  log_after = read_text (log_path);
  g_assert_cmpstr (log_before, ==, log_after);

  /* --resume --device cpu */
  on_cpu = mien_trainer_new_resume (mien_plugin_engine_get_default (), dir, 0, &cpu, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (on_cpu);
  g_assert_cmpint (mien_trainer_get_config (on_cpu)->device.type, ==, MIEN_DEVICE_CPU);
}

typedef struct {
  const char *key;
  const char *value;  /* JSON text; NULL removes the key */
} Edit;

/* Fault 3: every hand edit gives an error naming config.json and the key; none crashes. */
static void
test_hostile_config (Fixture       *fixture,
                     gconstpointer  data)
{
  static const Edit bad[] = {
    { "seed", "-1" }, { "seed", "1.5" }, { "seed", "\"12abc\"" }, { "seed", "null" },
    { "seed", "[5]" }, { "seed", "\"18446744073709551616\"" },
    { "device", "5" }, { "device", "null" }, { "device", "\"gpu\"" }, { "device", "{}" },
    { "device", "\"cuda:-1\"" },
    { "epochs", "-3" }, { "epochs", "0" }, { "epochs", "4294967296" }, { "epochs", "1.5e3" },
    { "epochs", "\"10\"" }, { "epochs", NULL }, { "epochs", "9223372036854775807" },
    { "batch_size", "0" }, { "batch_size", "true" },
    { "lr", "\"fast\"" }, { "lr", "-1" }, { "lr", "1e300" }, { "lr", NULL },
    { "input_size", "99999999999" }, { "threads", "2147483648" }, { "workers", "-1" },
    { "classes", "[1, 2]" }, { "classes", "\"anger\"" }, { "classes", "[\"a\", null]" },
    { "classes", "[\"a\", \"\"]" },
    { "weights", "[\"x\"]" }, { "weights", "[true]" }, { "weights", "[-1]" },
    { "weights", "7" },
    { "backbone", "[]" }, { "backbone", NULL }, { "data", NULL }, { "data", "3" },
    { "mode", "3" }, { "mode", "\"fast\"" }, { "batch_norm", "\"sometimes\"" },
    { "imbalance", "false" }, { "schedule", "\"linear\"" }, { "class_weights", "[]" },
    { "colour_mode", "\"sepia\"" }, { "amp", "\"yes\"" }, { "val_split", "\"NaN\"" },
    { "val_split", "2" }, { "smoothing", "-0.5" }, { "randaugment_ops", "-1" },
    { "randaugment_bins", "1e3" }, { "val", "7" }, { "pretrained", "[]" },
    { "face_margin", "-0.1" }, { "face_margin", "2.5" }, { "face_margin", "\"tight\"" },
  };
  g_autofree char *runs = g_build_filename (fixture->dir, "runs", NULL);
  g_autofree char *good = g_build_filename (runs, "good", NULL);
  g_autofree char *numeric_seed = g_build_filename (runs, "numeric-seed", NULL);
  g_autoptr(GPtrArray) listed = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  g_autofree char *trained_config = g_build_filename (trained_dir, "config.json", NULL);
  g_autofree char *config_text = read_text (trained_config);
  g_autoptr(MienRun) run = NULL;
  g_autoptr(GError) error = NULL;

  copy_run (trained_dir, good);

  /* A seed written as a number (by hand, or another tool) is the same seed. */
  copy_run (trained_dir, numeric_seed);
  set_config_member (numeric_seed, "seed", "5");
  run = mien_run_load (numeric_seed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mien_run_get_config (run)->seed, ==, 5);
  g_clear_object (&run);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *name = g_strdup_printf ("bad-%02u", i);
      g_autofree char *dir = g_build_filename (runs, name, NULL);
      g_autofree char *config_path = g_build_filename (dir, "config.json", NULL);
      g_autofree char *quoted = g_strdup_printf ("“%s”", bad[i].key);

      /* config.json alone: the checkpoints are not what is read here. */
      g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
      write_text (config_path, config_text);
      set_config_member (dir, bad[i].key, bad[i].value);
      run = mien_run_load (dir, &error);
      g_test_message ("%s = %s: %s", bad[i].key, bad[i].value ? bad[i].value : "(removed)",
                      error ? error->message : "(loaded)");
      g_assert_null (run);
      g_assert_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT);
      g_assert_nonnull (strstr (error->message, config_path));
      g_assert_true (strstr (error->message, quoted) != NULL ||
                     strstr (error->message, bad[i].key) != NULL);
      g_clear_error (&error);
    }

  /* The studio's list at start-up: the good ones listed, each bad one described. */
  listed = mien_run_list (runs, &problems);
  g_assert_cmpuint (listed->len, ==, 2);
  g_assert_cmpuint (problems->len, ==, G_N_ELEMENTS (bad));
  for (guint i = 0; i < problems->len; i++)
    g_assert_nonnull (strstr (problems->pdata[i], "config.json"));

  /* Not even an object. */
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *path = g_build_filename (good, "config.json", NULL);

      write_text (path, (const char *[]) { "[]", "null", "" }[i]);
      run = mien_run_load (good, &error);
      g_assert_null (run);
      g_assert_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT);
      g_assert_nonnull (strstr (error->message, path));
      g_clear_error (&error);
    }
}

/* Hostile log records: typed like config.json, with the line in the error. */
static void
test_hostile_log (Fixture       *fixture,
                  gconstpointer  data)
{
  static const char * const bad[] = {
    "{\"epoch\": \"1\"}", "{\"epoch\": 1.0}", "{\"epoch\": -1}", "{\"epoch\": null}",
    "{\"epoch\": 1, \"best\": \"yes\"}", "{\"epoch\": 1, \"best\": true}",
    "{\"epoch\": 1, \"val_macro_f1\": \"high\"}", "{\"epoch\": 1, \"val\": []}",
    "[1]", "{\"epoch\": 18446744073709551617}",
  };
  g_autofree char *dir = g_build_filename (fixture->dir, "run", NULL);
  g_autofree char *log_path = g_build_filename (dir, "log.jsonl", NULL);
  g_autofree char *last_path = g_build_filename (dir, "last.safetensors", NULL);
  g_autofree char *text = NULL;
  const char *second;

  copy_run (trained_dir, dir);
  text = read_text (log_path);
  second = strchr (text, '\n') + 1;
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *damaged = g_strconcat (bad[i], "\n", second, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(MienRun) run = NULL;

      write_text (log_path, damaged);
      run = mien_run_load (dir, &error);
      g_test_message ("%s: %s", bad[i], error ? error->message : "(loaded)");
      g_assert_null (run);
      g_assert_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT);
      g_assert_nonnull (strstr (error->message, "log.jsonl, line 1"));
    }
}

/* Fault 16: a new run never replaces what a user made. */
static void
test_new_run_folder (Fixture       *fixture,
                     gconstpointer  data)
{
  static const char * const user_files[] = { "best.safetensors", "log.jsonl", "notes.txt" };
  g_autofree char *best_src = g_build_filename (trained_dir, "best.safetensors", NULL);
  g_autofree char *best_text = read_text (best_src);
  g_autoptr(MienRun) trained = mien_run_load (trained_dir, NULL);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (user_files); i++)
    {
      g_autofree char *dir = g_build_filename (fixture->dir, user_files[i], NULL);
      g_autofree char *path = g_build_filename (dir, user_files[i], NULL);
      g_autoptr(MienTrainConfig) config = mien_train_config_copy (mien_run_get_config (trained));
      g_autoptr(MienTrainer) trainer = NULL;
      g_autofree char *after = NULL;

      g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
      write_text (path, best_text);
      g_assert_false (mien_run_check_new (dir, &error));
      g_assert_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_USER_FILES);
      g_assert_nonnull (strstr (error->message, user_files[i]));
      g_clear_error (&error);

      /* The trainer asks the same before anything else. */
      g_free (config->out);
      config->out = g_strdup (dir);
      trainer = mien_trainer_new (mien_plugin_engine_get_default (), config);
      g_assert_false (mien_trainer_run (trainer, NULL, &error));
      g_assert_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_USER_FILES);
      g_clear_error (&error);
      after = read_text (path);
      g_assert_cmpstr (after, ==, best_text);
    }

  /* A run: resume it instead. */
  g_assert_false (mien_run_check_new (trained_dir, &error));
  g_assert_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_EXISTS);
  g_clear_error (&error);

  /* Missing, empty, or only the temporaries a killed run left: fine. */
  {
    g_autofree char *missing = g_build_filename (fixture->dir, "new", NULL);
    g_autofree char *leftovers = g_build_filename (fixture->dir, "leftovers", NULL);
    g_autofree char *tmp = g_build_filename (leftovers, "last.safetensors.Ab3xZ9", NULL);

    g_assert_true (mien_run_check_new (missing, &error));
    g_assert_no_error (error);
    g_assert_cmpint (g_mkdir (leftovers, 0755), ==, 0);
    g_assert_true (mien_run_check_new (leftovers, &error));
    write_text (tmp, "half a checkpoint");
    g_assert_true (mien_run_check_new (leftovers, &error));
    g_assert_no_error (error);
  }
}

/* Fault 16: a start that fails leaves no run behind, so the next start is not refused. */
static void
test_failed_start (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *dir = g_build_filename (fixture->dir, "run", NULL);
  g_autofree char *config_path = g_build_filename (dir, "config.json", NULL);
  g_autoptr(MienTrainConfig) config = NULL;
  g_autoptr(MienRun) trained = mien_run_load (trained_dir, NULL);
  g_autoptr(GError) error = NULL;

  config = mien_train_config_copy (mien_run_get_config (trained));
  g_free (config->out);
  config->out = g_strdup (dir);
  /* Fails once the images are decoded and the model built: as late as a start can fail. */
  config->pretrained = g_build_filename (fixture->dir, "no-such-weights.safetensors", NULL);
  {
    g_autoptr(MienTrainer) trainer = mien_trainer_new (mien_plugin_engine_get_default (),
                                                       config);

    g_assert_false (mien_trainer_run (trainer, NULL, &error));
    g_assert_nonnull (error);
    g_assert_nonnull (strstr (error->message, "no-such-weights"));
    g_clear_error (&error);
  }
  g_assert_false (g_file_test (config_path, G_FILE_TEST_EXISTS));
  g_assert_true (mien_run_check_new (dir, &error));
  g_assert_no_error (error);
}

/* Fault 16: resume after last.safetensors was deleted does not start over over best. */
static void
test_resume_without_checkpoint (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autofree char *dir = g_build_filename (fixture->dir, "run", NULL);
  g_autofree char *last = g_build_filename (dir, "last.safetensors", NULL);
  g_autofree char *log_path = g_build_filename (dir, "log.jsonl", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTrainer) trainer = NULL;
  g_autoptr(MienRun) run = NULL;

  copy_run (trained_dir, dir);
  g_assert_cmpint (g_unlink (last), ==, 0);
  trainer = mien_trainer_new_resume (mien_plugin_engine_get_default (), dir, 5, NULL, 0,
                                     &error);
  g_assert_null (trainer);
  g_assert_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_RESUME);
  g_assert_nonnull (strstr (error->message, "last.safetensors"));
  g_clear_error (&error);
  run = mien_run_load (dir, &error);
  g_assert_no_error (error);
  g_assert_false (mien_run_can_resume (run));

  /* Nor when the log went too, as long as best.safetensors is from a later epoch. */
  g_assert_cmpint (g_unlink (log_path), ==, 0);
  g_clear_object (&run);
  run = mien_run_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_run_get_state (run), ==, MIEN_RUN_STATE_EMPTY);
  g_assert_cmpuint (trained_best_epoch, >, 0);
  if (trained_best_epoch > 1)
    g_assert_false (mien_run_can_resume (run));
}

/* Fault 2: a kill between the checkpoint and the log line, and the temporaries of a kill, are
 * repaired on resume; listing only reads. */
static void
test_repair (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *dir = g_build_filename (fixture->dir, "run", NULL);
  g_autofree char *log_path = g_build_filename (dir, "log.jsonl", NULL);
  g_autofree char *tmp_last = g_build_filename (dir, "last.safetensors.Xy12Ab", NULL);
  g_autofree char *tmp_log = g_build_filename (dir, "log.jsonl.0aZ9qQ", NULL);
  g_autofree char *notes = g_build_filename (dir, "notes.txt", NULL);
  g_autofree char *whole = NULL;
  g_autofree char *first_only = NULL;
  g_autofree char *repaired = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienRun) run = NULL;
  g_autoptr(MienRun) resumed = NULL;

  copy_run (trained_dir, dir);
  whole = read_text (log_path);
  /* The second epoch's checkpoint was written, its line was not (the rename never came). */
  first_only = g_strndup (whole, strchr (whole, '\n') + 1 - whole);
  write_text (log_path, first_only);
  write_text (tmp_last, "half a checkpoint");
  write_text (tmp_log, "{\"epoch\": 1}\n{\"ep");
  write_text (notes, "mine");

  run = mien_run_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mien_run_get_n_epochs (run), ==, 2);
  g_assert_cmpint (mien_run_get_state (run), ==, MIEN_RUN_STATE_COMPLETE);
  g_assert_true (mien_run_needs_repair (run));
  g_assert_cmpuint (mien_run_get_best_epoch (run), ==, trained_best_epoch);
  /* Reading changed nothing. */
  g_assert_true (g_file_test (tmp_last, G_FILE_TEST_EXISTS));
  repaired = read_text (log_path);
  g_assert_cmpstr (repaired, ==, first_only);
  g_clear_pointer (&repaired, g_free);

  resumed = mien_run_open_for_resume (dir, &error);
  g_assert_no_error (error);
  g_assert_false (mien_run_needs_repair (resumed));
  repaired = read_text (log_path);
  g_assert_cmpstr (repaired, ==, whole);
  g_assert_false (g_file_test (tmp_last, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (tmp_log, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (notes, G_FILE_TEST_EXISTS));

  /* Two epochs behind the checkpoint: lost, and said so. */
  write_text (log_path, "");
  g_clear_object (&run);
  run = mien_run_load (dir, &error);
  g_assert_null (run);
  g_assert_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "last.safetensors"));
}

int
main (int    argc,
      char **argv)
{
  MienDemoDataOptions options = MIEN_DEMO_DATA_OPTIONS_INIT;
  g_autoptr(MienTrainConfig) config = mien_train_config_new ();
  g_autoptr(MienTrainer) trainer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *demo_dir = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  mien_init ();

  /* One real run, trained once for every test: a tiny demo set, resnet:18 at 32 px. */
  tmp = g_dir_make_tmp ("mien-test-run-XXXXXX", &error);
  g_assert_no_error (error);
  demo_dir = g_build_filename (tmp, "demo", NULL);
  options.per_class = 12;
  options.size = 32;
  options.seed = 5;
  if (!mien_demo_data_generate (demo_dir, &options, NULL, NULL, NULL, &error))
    g_error ("demo data: %s", error->message);

  trained_dir = g_build_filename (tmp, "run-1", NULL);
  config->data = g_strdup (demo_dir);
  g_free (config->backbone);
  config->backbone = g_strdup ("resnet:18");
  config->input_size = 32;
  config->epochs = 2;
  config->batch_size = 8;
  config->lr = 1e-3;
  config->imbalance = MIEN_IMBALANCE_WEIGHTED;
  config->seed = 11;
  config->threads = 1;
  config->workers = 2;
  config->out = g_strdup (trained_dir);
  trainer = mien_trainer_new (mien_plugin_engine_get_default (), config);
  if (!mien_trainer_run (trainer, NULL, &error))
    g_error ("training: %s", error->message);
  trained_best_epoch = mien_trainer_get_best_epoch (trainer);
  trained_best_metrics = mien_metrics_copy (mien_trainer_get_best_metrics (trainer));
  g_assert_cmpuint (trained_best_epoch, >=, 1);

  g_test_add_func ("/run/load", test_load_complete);
  g_test_add ("/run/truncated", Fixture, NULL, mien_test_scratch_set_up,
              test_truncated_last_line, mien_test_scratch_tear_down);
  g_test_add ("/run/corrupt", Fixture, NULL, mien_test_scratch_set_up,
              test_corrupt, mien_test_scratch_tear_down);
  g_test_add ("/run/not-a-run", Fixture, NULL, mien_test_scratch_set_up,
              test_not_a_run, mien_test_scratch_tear_down);
  g_test_add ("/run/empty", Fixture, NULL, mien_test_scratch_set_up,
              test_empty_run, mien_test_scratch_tear_down);
  g_test_add ("/run/list", Fixture, NULL, mien_test_scratch_set_up,
              test_list, mien_test_scratch_tear_down);
  g_test_add ("/run/gpu-run", Fixture, NULL, mien_test_scratch_set_up,
              test_gpu_run, mien_test_scratch_tear_down);
  g_test_add ("/run/hostile-config", Fixture, NULL, mien_test_scratch_set_up,
              test_hostile_config, mien_test_scratch_tear_down);
  g_test_add ("/run/hostile-log", Fixture, NULL, mien_test_scratch_set_up,
              test_hostile_log, mien_test_scratch_tear_down);
  g_test_add ("/run/new-run-folder", Fixture, NULL, mien_test_scratch_set_up,
              test_new_run_folder, mien_test_scratch_tear_down);
  g_test_add ("/run/failed-start", Fixture, NULL, mien_test_scratch_set_up,
              test_failed_start, mien_test_scratch_tear_down);
  g_test_add ("/run/resume-without-checkpoint", Fixture, NULL, mien_test_scratch_set_up,
              test_resume_without_checkpoint, mien_test_scratch_tear_down);
  g_test_add ("/run/repair", Fixture, NULL, mien_test_scratch_set_up,
              test_repair, mien_test_scratch_tear_down);
  status = g_test_run ();

  g_clear_pointer (&trained_best_metrics, mien_metrics_free);
  g_clear_pointer (&trained_dir, g_free);
  mien_test_remove_tree (tmp);
  return status;
}
