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

  run = mien_run_load (dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (run);
  g_assert_cmpuint (mien_run_get_n_epochs (run), ==, 1);
  g_assert_cmpint (mien_run_get_state (run), ==, MIEN_RUN_STATE_INCOMPLETE);
  g_assert_true (mien_run_can_resume (run));
  /* The first epoch always beats "nothing yet". */
  g_assert_cmpuint (mien_run_get_best_epoch (run), ==, 1);
  g_assert_nonnull (mien_run_get_best_metrics (run));
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
  status = g_test_run ();

  g_clear_pointer (&trained_best_metrics, mien_metrics_free);
  g_clear_pointer (&trained_dir, g_free);
  mien_test_remove_tree (tmp);
  return status;
}
