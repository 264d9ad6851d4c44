/* test-cli.c — mien-cli end to end: the demo set, training to the accuracy the issue asks for,
 * ensembles, predictions, a real kill and resume, and the errors scripts rely on.
 *
 * Suite "slow": it trains for a few CPU minutes. The program under test is $MIEN_CLI.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mien-core.h"
#include "mien-test-util.h"

static char *tmp_dir;
static char *demo_dir;

/* The last line of stdout as a JSON object. */
static JsonObject *
last_json (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  int last = -1;

  for (int i = 0; lines[i] != NULL; i++)
    if (*lines[i] != '\0')
      last = i;
  g_assert_cmpint (last, >=, 0);
  g_assert_true (json_parser_load_from_data (parser, lines[last], -1, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static char *
scratch_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* Trained once, used by the later tests (g_test runs them in the order added). */
static char *best_64;
static char *best_48;
static double best_64_f1;

static void
test_demo_data_and_stats (void)
{
  g_autoptr(MienTestCliResult) again = NULL;
  g_autoptr(MienTestCliResult) stats = NULL;
  g_autoptr(JsonObject) o = NULL;
  g_autofree char *train_dir = g_build_filename (demo_dir, "train", NULL);
  JsonArray *counts;
  gint64 largest = 0, smallest = G_MAXINT64;

  /* main () made the set; writing it again is refused and leaves it alone. */
  again = mien_test_cli_run ("demo-data", demo_dir, NULL);
  g_assert_cmpint (again->status, ==, 1);
  g_assert_nonnull (strstr (again->err, "error:"));

  stats = mien_test_cli_run ("stats", train_dir, "--json", NULL);
  mien_test_cli_assert_success (stats);
  o = last_json (stats->out);
  counts = json_object_get_array_member (o, "counts");
  g_assert_cmpuint (json_array_get_length (counts), ==, 6);
  for (guint i = 0; i < 6; i++)
    {
      largest = MAX (largest, json_array_get_int_element (counts, i));
      smallest = MIN (smallest, json_array_get_int_element (counts, i));
    }
  /* The paper's imbalance: largest class about ten times the smallest. */
  g_assert_cmpfloat (json_object_get_double_member (o, "imbalance_ratio"), ==,
                     (double) largest / smallest);
  g_assert_cmpfloat (json_object_get_double_member (o, "imbalance_ratio"), >=, 8.0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "unreadable")), ==, 0);
}

static void
test_train_reaches_target (void)
{
  g_autofree char *run = scratch_path ("run-64");
  g_autofree char *run48 = scratch_path ("run-48");
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(MienTestCliResult) r48 = NULL;
  g_autoptr(JsonObject) final = NULL;
  g_autoptr(JsonObject) final48 = NULL;
  JsonObject *metrics;
  g_auto(GStrv) lines = NULL;
  guint n_epoch_lines = 0;

  /* Two of the paper's modules help here too: class weights for the 10:1 imbalance and label
   * smoothing against over-confidence on a small set. */
  r = mien_test_cli_run ("train", "--data", demo_dir, "--backbone", "resnet:18", "--input-size",
                         "64", "--epochs", "8", "--batch", "32", "--schedule", "cosine",
                         "--imbalance", "weighted", "--smoothing", "0.1", "--weight-decay", "1e-4",
                         "--seed", "1", "--out", run, "--json", NULL);
  mien_test_cli_assert_success (r);
  lines = g_strsplit (r->out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    n_epoch_lines += g_str_has_prefix (lines[i], "{\"epoch\"");
  g_assert_cmpuint (n_epoch_lines, ==, 8);

  final = last_json (r->out);
  best_64 = g_strdup (json_object_get_string_member (final, "best"));
  g_assert_true (g_file_test (best_64, G_FILE_TEST_EXISTS));
  metrics = json_object_get_object_member (final, "metrics");
  best_64_f1 = json_object_get_double_member (metrics, "macro_f1");
  g_test_message ("resnet:18 at 64 px, 8 epochs: validation macro F1 %.4f", best_64_f1);
  /* The target for the demo set. */
  g_assert_cmpfloat (best_64_f1, >=, 0.9);

  /* A second member for the ensemble, at another input size. */
  r48 = mien_test_cli_run ("train", "--data", demo_dir, "--backbone", "resnet:18", "--input-size",
                           "48", "--epochs", "2", "--batch", "32", "--seed", "2", "--smoothing",
                           "0.1", "--imbalance", "onthefly", "--out", run48, "--json", NULL);
  mien_test_cli_assert_success (r48);
  final48 = last_json (r48->out);
  best_48 = g_strdup (json_object_get_string_member (final48, "best"));
}

static void
test_eval_and_ensemble (void)
{
  g_autofree char *val_dir = g_build_filename (demo_dir, "val", NULL);
  g_autoptr(MienTestCliResult) one = NULL;
  g_autoptr(MienTestCliResult) two = NULL;
  g_autoptr(MienTestCliResult) table = NULL;
  g_autoptr(JsonObject) o1 = NULL;
  g_autoptr(JsonObject) o2 = NULL;
  JsonArray *confusion;
  gint64 n, sum = 0;

  g_assert_nonnull (best_64);
  one = mien_test_cli_run ("eval", "--model", best_64, "--data", val_dir, "--json", NULL);
  mien_test_cli_assert_success (one);
  o1 = last_json (one->out);
  /* The same images and model as the training's last validation: the same figure. */
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o1, "macro_f1"), best_64_f1,
                                  1e-9);
  g_assert_true (json_object_has_member (o1, "classes"));
  g_assert_true (json_object_has_member (o1, "f1"));
  g_assert_true (json_object_has_member (o1, "precision"));
  g_assert_true (json_object_has_member (o1, "recall"));
  g_assert_true (json_object_has_member (o1, "accuracy"));

  two = mien_test_cli_run ("eval", "--model", best_64, "--model", best_48, "--data", val_dir,
                           "--json", NULL);
  mien_test_cli_assert_success (two);
  o2 = last_json (two->out);
  n = json_object_get_int_member (o2, "n");
  confusion = json_object_get_array_member (o2, "confusion");
  g_assert_cmpuint (json_array_get_length (confusion), ==, 6);
  for (guint t = 0; t < 6; t++)
    {
      JsonArray *row = json_array_get_array_element (confusion, t);

      for (guint p = 0; p < 6; p++)
        sum += json_array_get_int_element (row, p);
    }
  g_assert_cmpint (sum, ==, n);
  g_assert_cmpint (n, ==, json_object_get_int_member (o1, "n"));
  g_test_message ("ensemble of two: macro F1 %.4f",
                  json_object_get_double_member (o2, "macro_f1"));

  /* The paper's table, with a row per member and one for the ensemble. */
  table = mien_test_cli_run ("eval", "--model", best_64, "--model", best_48, "--data", val_dir,
                             NULL);
  mien_test_cli_assert_success (table);
  g_assert_nonnull (strstr (table->out, "Avg."));
  g_assert_nonnull (strstr (table->out, "Ensemble"));
  g_assert_nonnull (strstr (table->out, "Happiness"));
}

static void
test_predict_csv (void)
{
  g_autofree char *fear_dir = g_build_filename (demo_dir, "val", "fear", NULL);
  g_autofree char *csv = scratch_path ("predictions.csv");
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(MienTestCliResult) bad = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GDir) dir = g_dir_open (fear_dir, 0, NULL);
  guint n_files = 0, n_rows = 0;
  g_autofree char *missing = scratch_path ("missing.png");

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n_files++;

  r = mien_test_cli_run ("predict", "--model", best_64, "--model", best_48, fear_dir, "--csv", csv,
                         NULL);
  mien_test_cli_assert_success (r);
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpstr (lines[0], ==,
                   "path,class,p_anger,p_disgust,p_fear,p_happiness,p_sadness,p_surprise");
  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;
      double total = 0;

      if (*lines[i] == '\0')
        continue;
      fields = g_strsplit (lines[i], ",", -1);
      g_assert_cmpuint (g_strv_length (fields), ==, 8);
      for (guint c = 2; c < 8; c++)
        total += g_ascii_strtod (fields[c], NULL);
      g_assert_cmpfloat_with_epsilon (total, 1.0, 1e-4);
      n_rows++;
    }
  g_assert_cmpuint (n_rows, ==, n_files);

  /* A missing file: one clear line, a non-zero exit, the other rows still written. */
  bad = mien_test_cli_run ("predict", "--model", best_64, missing, NULL);
  g_assert_cmpint (bad->status, ==, 1);
  g_assert_nonnull (strstr (bad->err, "missing.png"));
}

static void
test_mismatched_ensemble (void)
{
  g_autofree char *run = scratch_path ("run-two-classes");
  g_autofree char *val_dir = g_build_filename (demo_dir, "val", NULL);
  g_autoptr(MienTestCliResult) train = NULL;
  g_autoptr(MienTestCliResult) eval = NULL;
  g_autoptr(JsonObject) final = NULL;

  train = mien_test_cli_run ("train", "--data", demo_dir, "--classes", "anger,fear", "--backbone",
                             "resnet:18", "--input-size", "32", "--epochs", "1", "--batch", "8",
                             "--out", run, "--json", NULL);
  mien_test_cli_assert_success (train);
  final = last_json (train->out);
  eval = mien_test_cli_run ("eval", "--model", best_64, "--model",
                            json_object_get_string_member (final, "best"), "--data", val_dir, NULL);
  g_assert_cmpint (eval->status, ==, 1);
  g_assert_nonnull (strstr (eval->err, "classes"));
}

static gboolean
file_has_lines (const char *path,
                guint       n)
{
  g_autofree char *text = NULL;
  guint lines = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  for (const char *p = text; *p; p++)
    lines += *p == '\n';
  return lines >= n;
}

/* SIGKILL in the middle of epoch 2 (no chance to clean up), then --resume: the same weights as
 * a run never interrupted. */
static void
test_kill_and_resume (void)
{
  g_autofree char *whole = scratch_path ("run-whole");
  g_autofree char *killed = scratch_path ("run-killed");
  g_autofree char *log_path = g_build_filename (killed, "log.jsonl", NULL);
  g_autofree char *last_whole = g_build_filename (whole, "last.safetensors", NULL);
  g_autofree char *last_killed = g_build_filename (killed, "last.safetensors", NULL);
  const char *common[] = { "train", "--data", demo_dir, "--backbone", "resnet:18",
                           "--input-size", "32", "--epochs", "3", "--batch", "16", "--seed",
                           "5", "--imbalance", "onthefly", "--threads", "1", "--out" };
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(MienTestCliResult) resumed = NULL;
  GPid pid;
  int wait_status;
  gint64 deadline;

  r = mien_test_cli_run (common[0], common[1], common[2], common[3], common[4], common[5],
                         common[6], common[7], common[8], common[9], common[10], common[11],
                         common[12], common[13], common[14], common[15], common[16], common[17],
                         whole, NULL);
  mien_test_cli_assert_success (r);

  g_ptr_array_add (argv, (char *) g_getenv ("MIEN_CLI"));
  for (guint i = 0; i < G_N_ELEMENTS (common); i++)
    g_ptr_array_add (argv, (char *) common[i]);
  g_ptr_array_add (argv, killed);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_async (NULL, (char **) argv->pdata, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                                G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  deadline = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;
  while (!file_has_lines (log_path, 1))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20000);
    }
  /* Some way into epoch 2. */
  g_usleep (300000);
  kill (pid, SIGKILL);
  g_assert_cmpint (waitpid (pid, &wait_status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (WIFSIGNALED (wait_status));
  g_assert_false (file_has_lines (log_path, 3));

  resumed = mien_test_cli_run ("train", "--out", killed, "--resume", "--json", NULL);
  mien_test_cli_assert_success (resumed);
  g_assert_true (file_has_lines (log_path, 3));
  mien_test_assert_same_tensors (last_whole, last_killed);
}

static void
test_usage_errors (void)
{
  g_autofree char *run = scratch_path ("run-bad");
  g_autofree char *corrupt = scratch_path ("corrupt.safetensors");
  g_autoptr(MienTestCliResult) no_out = mien_test_cli_run ("train", "--data", demo_dir, NULL);
  g_autoptr(MienTestCliResult) bad_imbalance = mien_test_cli_run ("train", "--data", demo_dir,
                                                                  "--out", run, "--imbalance",
                                                                  "sometimes", NULL);
  g_autoptr(MienTestCliResult) bad_weights = mien_test_cli_run ("train", "--data", demo_dir,
                                                                "--out", run, "--class-weights",
                                                                "1,x", NULL);
  g_autoptr(MienTestCliResult) bad_backbone = NULL;
  g_autoptr(MienTestCliResult) bad_model = NULL;
  g_autoptr(MienTestCliResult) no_data = NULL;

  g_assert_cmpint (no_out->status, ==, 2);
  g_assert_nonnull (strstr (no_out->err, "--out"));
  g_assert_cmpint (bad_imbalance->status, ==, 2);
  g_assert_nonnull (strstr (bad_imbalance->err, "sometimes"));
  g_assert_cmpint (bad_weights->status, ==, 2);
  g_assert_false (g_file_test (run, G_FILE_TEST_EXISTS));

  bad_backbone = mien_test_cli_run ("train", "--data", demo_dir, "--out", run, "--backbone",
                                    "alexnet", "--epochs", "1", NULL);
  g_assert_cmpint (bad_backbone->status, ==, 1);
  g_assert_nonnull (strstr (bad_backbone->err, "alexnet"));

  g_assert_true (g_file_set_contents (corrupt, "not a model", -1, NULL));
  bad_model = mien_test_cli_run ("eval", "--model", corrupt, "--data", demo_dir, NULL);
  g_assert_cmpint (bad_model->status, ==, 1);
  g_assert_nonnull (strstr (bad_model->err, "corrupt.safetensors"));

  no_data = mien_test_cli_run ("stats", "/nonexistent/dataset", NULL);
  g_assert_cmpint (no_data->status, ==, 1);
  g_assert_nonnull (strstr (no_data->err, "/nonexistent/dataset"));
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  mien_init ();

  tmp_dir = g_dir_make_tmp ("mien-test-cli-XXXXXX", &error);
  g_assert_no_error (error);
  demo_dir = g_build_filename (tmp_dir, "demo", NULL);
  {
    g_autoptr(MienTestCliResult) demo = mien_test_cli_run ("demo-data", demo_dir, NULL);

    mien_test_cli_assert_success (demo);
  }

  g_test_add_func ("/cli/demo-data-and-stats", test_demo_data_and_stats);
  g_test_add_func ("/cli/train-reaches-target", test_train_reaches_target);
  g_test_add_func ("/cli/eval-and-ensemble", test_eval_and_ensemble);
  g_test_add_func ("/cli/predict-csv", test_predict_csv);
  g_test_add_func ("/cli/mismatched-ensemble", test_mismatched_ensemble);
  g_test_add_func ("/cli/kill-and-resume", test_kill_and_resume);
  g_test_add_func ("/cli/usage-errors", test_usage_errors);
  status = g_test_run ();

  mien_test_remove_tree (tmp_dir);
  return status;
}
