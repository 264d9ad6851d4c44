/* test-ablation.c — the experiment queue (mien-ablation.h) and `mien-cli ablate`: plans that
 * parse and plans that do not, a queue of two short runs whose tables.md rows equal `mien-cli
 * eval` on each best model, and a kill in the middle of the second run followed by --resume.
 * Fast: the demo set at 16 px, ResNet-18 at 32 px, one to three epochs of a few images.
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mien-ablation.h"
#include "mien-core.h"
#include "mien-json.h"
#include "mien-test-util.h"

static char *tmp_dir;
static char *demo_dir;  /* made on first use */

static char *
scratch_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static const char *
ensure_demo (void)
{
  if (demo_dir == NULL)
    {
      g_autoptr(MienTestCliResult) r = NULL;

      demo_dir = scratch_path ("demo");
      r = mien_test_cli_run ("demo-data", "--per-class", "12", "--size", "16", demo_dir, NULL);
      mien_test_cli_assert_success (r);
    }
  return demo_dir;
}

static MienTrainConfig *
base_config (const char *out)
{
  MienTrainConfig *config = mien_train_config_new ();

  config->data = g_strdup (ensure_demo ());
  config->out = g_strdup (out);
  return config;
}

static JsonArray *
paper_plan (void)
{
  g_autoptr(GError) error = NULL;
  JsonArray *plan = mien_ablation_parse_plan (mien_ablation_paper_plan (), -1, "paper", &error);

  g_assert_no_error (error);
  return plan;
}

static void
test_paper_plan (void)
{
  const char *names[] = { "baseline", "smoothing-0.1", "smoothing-0.2", "smoothing-0.4",
                          "weights-paper", "weights-auto", "upsample", "onthefly",
                          "upsample-weights", "dft", "ensemble" };
  g_autofree char *dir = scratch_path ("paper");
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) plan = paper_plan ();
  g_autoptr(MienTrainConfig) base = base_config (dir);
  g_autoptr(MienAblation) made = NULL;
  g_autoptr(MienAblation) opened = NULL;
  g_autoptr(MienAblation) again = NULL;

  made = mien_ablation_create (dir, base, plan, &error);
  g_assert_no_error (error);
  opened = mien_ablation_open (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mien_ablation_get_n_steps (opened), ==, G_N_ELEMENTS (names));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_assert_cmpstr (mien_ablation_get_step_name (opened, i), ==, names[i]);
      /* Nothing trained yet: only the ensemble, which trains nothing, counts as done. */
      g_assert_true (mien_ablation_step_is_done (opened, i) == (i == G_N_ELEMENTS (names) - 1));
    }
  /* A second queue in the same folder would mix two plans' runs. */
  again = mien_ablation_create (dir, base, plan, &error);
  g_assert_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_EXISTS);
  g_assert_null (again);
}

/* The paper's weights need the paper's six classes: refused when the queue is made, naming the
 * step, not hours later when its turn comes. */
static void
test_paper_weights_refused (void)
{
  g_autofree char *dir = scratch_path ("two-classes");
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) plan = paper_plan ();
  g_autoptr(MienTrainConfig) base = base_config (dir);
  g_autoptr(MienAblation) made = NULL;

  base->classes = g_strsplit ("anger,fear", ",", -1);
  made = mien_ablation_create (dir, base, plan, &error);
  g_assert_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_PLAN);
  g_assert_nonnull (strstr (error->message, "weights-paper"));
  g_assert_null (made);
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
}

static void
test_bad_plans (void)
{
  const struct {
    const char *plan;
    const char *expected;  /* in the message */
  } cases[] = {
    { "{\"name\": \"a\"}", "JSON array" },
    { "[]", "no steps" },
    { "[{\"name\": \"a\"}, {\"name\": \"a\"}]", "step 2: two steps have the same name" },
    { "[{\"name\": \"../a\"}]", "step 1: “name”" },
    { "[{\"name\": \"a\", \"confg\": {}}]", "unknown member “confg”" },
    { "[{\"name\": \"a\", \"config\": {\"smoothness\": 0.1}}]", "no member “smoothness”" },
    { "[{\"name\": \"a\", \"config\": {\"out\": \"/tmp\"}}]", "no member “out”" },
    { "[{\"name\": \"a\", \"from\": \"b\"}, {\"name\": \"b\"}]", "step 1: “from”" },
    { "[{\"name\": \"a\"}, {\"name\": \"e\", \"ensemble\": 2}]", "step 2: “ensemble”" },
    { "[{\"name\": \"a\"}, {\"name\": \"e\", \"ensemble\": [\"a\", \"x\"]}]",
      "not an earlier training step" },
    { "[{\"name\": \"e\", \"ensemble\": 1, \"from\": \"a\"}]", "trains nothing" },
    { "[{\"name\": 3}]", "name" },
    { "[{\"name\": \"tables.csv\"}]", "step 1: “name”" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonArray) plan = mien_ablation_parse_plan (cases[i].plan, -1, "plan.json",
                                                            &error);

      g_test_message ("%s", cases[i].plan);
      g_assert_null (plan);
      g_assert_nonnull (error);
      g_assert_true (g_str_has_prefix (error->message, "plan.json"));
      if (strstr (error->message, cases[i].expected) == NULL)
        g_error ("“%s” does not say “%s”", error->message, cases[i].expected);
    }
}

/* Not inlined: GCC 12 at -O3 then takes the returned buffer for the local that pointed at it
 * (-Wdangling-pointer, a false positive). */
static G_GNUC_NO_INLINE char *
read_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

static GBytes *
read_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *data = NULL;
  gsize length = 0;

  g_file_get_contents (path, &data, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, length);
}

static guint
count_lines (const char *path)
{
  g_autofree char *text = NULL;
  guint n = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  for (const char *p = text; *p != '\0'; p++)
    n += *p == '\n';
  return n;
}

/* The row of `name` in tables.md: its numbers (the difference to the baseline left out). */
static GArray *
table_row (const char *tables,
           const char *name)
{
  g_autofree char *start = g_strdup_printf ("| %s |", name);
  g_auto(GStrv) lines = g_strsplit (tables, "\n", -1);
  GArray *values = g_array_new (FALSE, FALSE, sizeof (double));

  for (guint l = 0; lines[l] != NULL; l++)
    {
      g_auto(GStrv) cells = NULL;

      if (!g_str_has_prefix (lines[l], start))
        continue;
      cells = g_strsplit (lines[l], "|", -1);
      /* "", name, the values…, "" */
      for (guint c = 2; cells[c] != NULL && cells[c + 1] != NULL; c++)
        {
          double v = g_ascii_strtod (cells[c], NULL);

          g_array_append_val (values, v);
        }
      return values;
    }
  g_error ("tables.md has no row %s:\n%s", name, tables);
}

/* The row equals `mien-cli eval --json` on the run's best model, on the validation set. */
static void
assert_row_equals_eval (const char *tables,
                        const char *queue,
                        const char *name,
                        const char *member_a,
                        const char *member_b)
{
  g_autofree char *model = g_build_filename (queue, member_a, "best.safetensors", NULL);
  g_autofree char *model_b = member_b != NULL ? g_build_filename (queue, member_b,
                                                                  "best.safetensors", NULL)
                                              : NULL;
  g_autofree char *val = g_build_filename (ensure_demo (), "val", NULL);
  g_autoptr(MienTestCliResult) r = model_b != NULL
    ? mien_test_cli_run ("eval", "--model", model, "--model", model_b, "--data", val, "--json",
                         NULL)
    : mien_test_cli_run ("eval", "--model", model, "--data", val, "--json", NULL);
  g_autoptr(GArray) row = table_row (tables, name);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *eval;
  JsonArray *f1;
  guint k;

  mien_test_cli_assert_success (r);
  json_parser_load_from_data (parser, r->out, -1, &error);
  g_assert_no_error (error);
  eval = json_node_get_object (json_parser_get_root (parser));
  f1 = json_object_get_array_member (eval, "f1");
  k = json_array_get_length (f1);
  g_assert_cmpuint (row->len, ==, k + 2);
  /* tables.md has 4 decimals. */
  for (guint c = 0; c < k; c++)
    g_assert_cmpfloat_with_epsilon (g_array_index (row, double, c),
                                    json_array_get_double_element (f1, c), 5.001e-5);
  g_assert_cmpfloat_with_epsilon (g_array_index (row, double, k),
                                  json_object_get_double_member (eval, "macro_f1"), 5.001e-5);
  g_assert_cmpfloat_with_epsilon (g_array_index (row, double, k + 1),
                                  json_object_get_double_member (eval, "accuracy"), 5.001e-5);
}

/* Two runs, "a" (1 epoch) and "b" (3), DFT from a and the ensemble of a and b: killed
 * (SIGKILL, no chance to clean up) after b's first epoch, when tables.md has a's row already,
 * then --resume: a is not trained again, b continues from its epoch 1, and tables.md rows
 * equal `mien-cli eval` on each best model. */
static void
test_kill_and_resume (void)
{
  g_autofree char *queue = scratch_path ("queue");
  g_autofree char *plan = scratch_path ("plan.json");
  g_autofree char *a_log = g_build_filename (queue, "a", "log.jsonl", NULL);
  g_autofree char *a_best = g_build_filename (queue, "a", "best.safetensors", NULL);
  g_autofree char *b_log = g_build_filename (queue, "b", "log.jsonl", NULL);
  g_autofree char *tables_path = g_build_filename (queue, "tables.md", NULL);
  g_autofree char *a_log_before = NULL, *b_log_before = NULL;
  g_autofree char *a_log_after = NULL, *b_log_after = NULL;
  g_autoptr(GBytes) a_best_before = NULL, a_best_after = NULL;
  g_autofree char *tables = NULL;
  const char *plan_text = "[{\"name\": \"a\"}, {\"name\": \"b\", \"config\": "
                          "{\"epochs\": 3, \"smoothing\": 0.2}}, "
                          "{\"name\": \"dft\", \"config\": {\"mode\": \"dft\"}, "
                          "\"from\": \"a\"}, {\"name\": \"ab\", \"ensemble\": "
                          "[\"a\", \"b\"]}]";
  const char *argv[] = { g_getenv ("MIEN_CLI"), "ablate", "--data", ensure_demo (), "--out",
                         queue, "--plan", plan, "--backbone", "resnet:18", "--input-size", "32",
                         "--epochs", "1", "--batch", "16", "--threads", "1", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTestCliResult) resumed = NULL;
  g_autoptr(MienTestCliResult) twice = NULL;
  g_autoptr(MienTestCliResult) refused = NULL;
  g_autoptr(MienTestCliResult) refused_options = NULL;
  GPid pid;
  int wait_status;
  gint64 deadline;

  mien_test_write_file (plan, plan_text, strlen (plan_text));
  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                                G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  deadline = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;
  while (count_lines (b_log) < 1)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20000);
    }
  kill (pid, SIGKILL);
  g_assert_cmpint (waitpid (pid, &wait_status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (WIFSIGNALED (wait_status));
  g_assert_cmpuint (count_lines (b_log), <, 3);
  /* The tables of what finished before the kill: a's row, nothing of b yet. */
  {
    g_autofree char *partial = read_text (tables_path);

    assert_row_equals_eval (partial, queue, "a", "a", NULL);
    g_assert_null (strstr (partial, "| b |"));
    g_assert_null (strstr (partial, "| ab |"));
  }
  a_log_before = read_text (a_log);
  a_best_before = read_bytes (a_best);
  b_log_before = read_text (b_log);

  /* Without --resume the queue is not touched. */
  refused = mien_test_cli_run ("ablate", "--data", ensure_demo (), "--out", queue, NULL);
  g_assert_cmpint (refused->status, ==, 1);
  g_assert_nonnull (strstr (refused->err, "--resume"));

  /* --resume keeps the queue's own options rather than mix two configurations. */
  refused_options = mien_test_cli_run ("ablate", "--out", queue, "--resume", "--epochs", "2",
                                       NULL);
  g_assert_cmpint (refused_options->status, ==, 2);
  g_assert_nonnull (strstr (refused_options->err, "--resume"));

  resumed = mien_test_cli_run ("ablate", "--out", queue, "--resume", NULL);
  mien_test_cli_assert_success (resumed);
  a_log_after = read_text (a_log);
  a_best_after = read_bytes (a_best);
  g_assert_cmpstr (a_log_after, ==, a_log_before);
  g_assert_true (g_bytes_equal (a_best_after, a_best_before));
  g_assert_cmpuint (count_lines (a_log), ==, 1);
  /* b continued: its first epochs are the ones trained before the kill. */
  g_assert_cmpuint (count_lines (b_log), ==, 3);
  b_log_after = read_text (b_log);
  g_assert_true (g_str_has_prefix (b_log_after, b_log_before));

  tables = read_text (tables_path);
  /* The CSV holds the same numbers, each followed by its difference to the baseline. */
  {
    g_autofree char *csv_path = g_build_filename (queue, "tables.csv", NULL);
    g_autofree char *csv = read_text (csv_path);
    g_autoptr(GArray) md_row = table_row (tables, "b");
    g_auto(GStrv) lines = g_strsplit (csv, "\n", -1);
    g_auto(GStrv) a_cells = g_strsplit (lines[1], ",", -1);
    g_auto(GStrv) b_cells = g_strsplit (lines[2], ",", -1);

    g_assert_cmpstr (b_cells[0], ==, "b");
    g_assert_cmpuint (g_strv_length (b_cells), ==, 1 + 2 * md_row->len);
    for (guint c = 0; c < md_row->len; c++)
      {
        g_assert_cmpfloat (g_ascii_strtod (b_cells[1 + 2 * c], NULL), ==,
                           g_array_index (md_row, double, c));
        g_assert_cmpfloat_with_epsilon (g_ascii_strtod (b_cells[2 + 2 * c], NULL),
                                        g_ascii_strtod (b_cells[1 + 2 * c], NULL) -
                                        g_ascii_strtod (a_cells[1 + 2 * c], NULL), 1.001e-4);
      }
  }
  assert_row_equals_eval (tables, queue, "a", "a", NULL);
  assert_row_equals_eval (tables, queue, "b", "b", NULL);
  assert_row_equals_eval (tables, queue, "dft", "dft", NULL);
  assert_row_equals_eval (tables, queue, "ab", "a", "b");
  /* DFT starts from a's best model, normalised as a was (not ImageNet's, which "auto" would
   * pick now that there are pretrained weights). */
  {
    g_autofree char *dft_config = g_build_filename (queue, "dft", "config.json", NULL);
    g_autoptr(JsonObject) config = mien_json_load_object (dft_config, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (json_object_get_string_member (config, "mode"), ==, "dft");
    g_assert_cmpstr (json_object_get_string_member (config, "pretrained"), ==, a_best);
    g_assert_cmpstr (json_object_get_string_member (config, "normalisation"), ==, "dataset");
  }

  /* A finished queue: --resume trains nothing and writes the same tables. */
  twice = mien_test_cli_run ("ablate", "--out", queue, "--resume", NULL);
  mien_test_cli_assert_success (twice);
  g_assert_cmpuint (count_lines (b_log), ==, 3);
  {
    g_autofree char *b_log_twice = read_text (b_log);
    g_autofree char *tables_twice = read_text (tables_path);

    g_assert_cmpstr (b_log_twice, ==, b_log_after);
    g_assert_cmpstr (tables_twice, ==, tables);
  }
}

static char *
queue_file_text (const char *queue)
{
  g_autofree char *file = g_build_filename (queue, MIEN_ABLATION_FILE, NULL);

  return read_text (file);
}

static char *
join_names (MienAblation *ablation)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();

  for (guint i = 0; i < mien_ablation_get_n_steps (ablation); i++)
    g_ptr_array_add (names, (gpointer) mien_ablation_get_step_name (ablation, i));
  g_ptr_array_add (names, NULL);
  return g_strjoinv (",", (char **) names->pdata);
}

/* The plan's step names as ablation.json has them now, joined with ",". */
static char *
names_on_disk (const char *queue)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienAblation) opened = mien_ablation_open (queue, &error);

  g_assert_no_error (error);
  return join_names (opened);
}

/* A refused change names the steps, leaves ablation.json as it was and the plan too. */
static void
assert_refused (MienAblation *ablation,
                const char   *queue,
                gboolean      ok,
                GError       *error,
                int           code,
                const char   *expected,
                const char   *before)
{
  g_autofree char *after = queue_file_text (queue);
  g_autofree char *names = names_on_disk (queue);
  g_autofree char *in_memory = join_names (ablation);

  g_assert_false (ok);
  g_assert_error (error, MIEN_ABLATION_ERROR, code);
  if (strstr (error->message, expected) == NULL)
    g_error ("“%s” does not say “%s”", error->message, expected);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpstr (in_memory, ==, names);
}

/* Moving, removing and appending steps that have not started, and the refusals. */
static void
test_reorder (void)
{
  g_autofree char *queue = scratch_path ("reorder");
  g_autoptr(MienTrainConfig) base = base_config (queue);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) plan = mien_ablation_parse_plan (
    "[{\"name\": \"a\"}, {\"name\": \"b\"}, {\"name\": \"dft\", \"config\": {\"mode\": \"dft\"}, "
    "\"from\": \"a\"}, {\"name\": \"ab\", \"ensemble\": [\"a\", \"b\"]}, "
    "{\"name\": \"best2\", \"ensemble\": 2}]", -1, "plan", &error);
  g_autoptr(MienAblation) ablation = NULL;
  g_autoptr(JsonObject) c = mien_test_parse_json_object ("{\"name\": \"c\", \"config\": {\"smoothing\": 0.1}}");
  g_autoptr(JsonObject) bad = mien_test_parse_json_object ("{\"name\": \"d\", \"config\": {\"colour\": 1}}");
  g_autoptr(JsonObject) twice = mien_test_parse_json_object ("{\"name\": \"b\"}");
  g_autofree char *b_dir = g_build_filename (queue, "b", NULL);
  g_autofree char *names = NULL;
  g_autofree char *before = NULL;
  gboolean ok;

  g_assert_no_error (error);
  ablation = mien_ablation_create (queue, base, plan, &error);
  g_assert_no_error (error);

  /* b first: written at once, as mien_ablation_open () reads it back. */
  g_assert_true (mien_ablation_move_step (ablation, 1, 0, &error));
  g_assert_no_error (error);
  names = names_on_disk (queue);
  g_assert_cmpstr (names, ==, "b,a,dft,ab,best2");
  g_assert_cmpstr (mien_ablation_get_step_name (ablation, 0), ==, "b");
  g_assert_true (mien_ablation_move_step (ablation, 0, 1, &error));
  g_assert_no_error (error);
  g_clear_pointer (&names, g_free);
  names = names_on_disk (queue);
  g_assert_cmpstr (names, ==, "a,b,dft,ab,best2");

  /* Before what a step needs: refused, naming both, nothing written. */
  before = queue_file_text (queue);
  ok = mien_ablation_move_step (ablation, 2, 0, &error);
  assert_refused (ablation, queue, ok, error, MIEN_ABLATION_ERROR_ORDER,
                  "“dft” starts from the model of “a”, which has to come before it", before);
  g_clear_error (&error);
  ok = mien_ablation_move_step (ablation, 3, 1, &error);
  assert_refused (ablation, queue, ok, error, MIEN_ABLATION_ERROR_ORDER,
                  "“ab” averages “b”, which has to come before it", before);
  g_clear_error (&error);
  ok = mien_ablation_move_step (ablation, 4, 1, &error);
  assert_refused (ablation, queue, ok, error, MIEN_ABLATION_ERROR_ORDER,
                  "“best2” averages the 2 best earlier runs, and fewer come before it", before);
  g_clear_error (&error);
  ok = mien_ablation_remove_step (ablation, 0, &error);
  assert_refused (ablation, queue, ok, error, MIEN_ABLATION_ERROR_ORDER,
                  "Cannot remove “a”: “dft” starts from the model of “a”", before);
  g_clear_error (&error);

  /* A bad or doubled step is refused as a plan is. */
  ok = mien_ablation_append_step (ablation, bad, &error);
  assert_refused (ablation, queue, ok, error, MIEN_ABLATION_ERROR_PLAN,
                  "“config” has no member “colour”", before);
  g_clear_error (&error);
  ok = mien_ablation_append_step (ablation, twice, &error);
  assert_refused (ablation, queue, ok, error, MIEN_ABLATION_ERROR_PLAN,
                  "two steps have the same name", before);
  g_clear_error (&error);

  g_assert_true (mien_ablation_remove_step (ablation, 2, &error));
  g_assert_no_error (error);
  g_assert_true (mien_ablation_append_step (ablation, c, &error));
  g_assert_no_error (error);
  g_clear_pointer (&names, g_free);
  names = names_on_disk (queue);
  g_assert_cmpstr (names, ==, "a,b,ab,best2,c");

  /* A step that has started stays where it is. */
  g_assert_cmpint (g_mkdir (b_dir, 0755), ==, 0);
  g_assert_true (mien_ablation_step_is_started (ablation, 1));
  g_assert_false (mien_ablation_step_is_started (ablation, 0));
  g_clear_pointer (&before, g_free);
  before = queue_file_text (queue);
  ok = mien_ablation_move_step (ablation, 1, 0, &error);
  assert_refused (ablation, queue, ok, error, MIEN_ABLATION_ERROR_STARTED,
                  "“b” has started", before);
  g_clear_error (&error);
  ok = mien_ablation_remove_step (ablation, 1, &error);
  assert_refused (ablation, queue, ok, error, MIEN_ABLATION_ERROR_STARTED,
                  "“b” has started", before);
}

typedef struct {
  GCancellable *cancellable;
  GString      *events;      /* "started:a evaluated:a …" (progress left out) */
  guint         n_progress;
  gboolean      done;
  GError       *error;
} AsyncRun;

static void
async_event_cb (MienAblation            *ablation,
                const MienAblationEvent *event,
                gpointer                 user_data)
{
  AsyncRun *run = user_data;

  switch (event->kind)
    {
    case MIEN_ABLATION_EVENT_STARTED:
      g_string_append_printf (run->events, "started:%s ", event->name);
      /* While a trains, c moves before b: the thread reads the plan again before b. */
      if (g_str_equal (event->name, "a") && run->cancellable != NULL)
        {
          g_autoptr(GError) error = NULL;

          g_assert_true (mien_ablation_move_step (ablation, 2, 1, &error));
          g_assert_no_error (error);
        }
      break;
    case MIEN_ABLATION_EVENT_PROGRESS:
      run->n_progress++;
      /* Stop b in the middle of its first epoch. */
      if (g_str_equal (event->name, "b") && run->cancellable != NULL &&
          event->progress.epoch >= 1 && event->progress.step >= 1)
        g_cancellable_cancel (run->cancellable);
      break;
    case MIEN_ABLATION_EVENT_EVALUATED:
      g_assert_nonnull (event->metrics);
      g_string_append_printf (run->events, "evaluated:%s ", event->name);
      break;
    }
}

static void
async_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  AsyncRun *run = user_data;

  mien_ablation_run_finish (MIEN_ABLATION (source), result, &run->error);
  run->done = TRUE;
}

static char *
run_queue_async (MienAblation *ablation,
                 GCancellable *cancellable,
                 GError      **error)
{
  AsyncRun run = { cancellable, g_string_new (NULL), 0, FALSE, NULL };

  mien_ablation_run_async (ablation, mien_plugin_engine_get_default (), async_event_cb, &run,
                           cancellable, async_done_cb, &run);
  while (!run.done)
    g_main_context_iteration (NULL, TRUE);
  if (run.error != NULL)
    g_propagate_error (error, run.error);
  return g_string_free (run.events, FALSE);
}

/* tables.md is the core's formatting of what a fresh evaluation of the queue finds done. */
static void
assert_tables_of_done (const char *queue)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienAblation) opened = mien_ablation_open (queue, &error);
  g_autoptr(GPtrArray) metrics = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *path = g_build_filename (queue, "tables.md", NULL);
  g_autofree char *tables = read_text (path);

  g_assert_no_error (error);
  metrics = mien_ablation_evaluate_done (opened, mien_plugin_engine_get_default (), NULL,
                                         &error);
  g_assert_no_error (error);
  expected = mien_ablation_format_table (opened, metrics, MIEN_ABLATION_FORMAT_MARKDOWN);
  g_assert_cmpstr (tables, ==, expected);
}

/* In a thread: c moved before b while a trains, and c runs next; cancelled in b's first
 * epoch, the tables hold a's and c's rows; resumed, neither is trained again and b finishes;
 * the events name each step as it starts and as its row comes. */
static void
test_cancel_and_resume_async (void)
{
  g_autofree char *queue = scratch_path ("async");
  g_autofree char *a_log = g_build_filename (queue, "a", "log.jsonl", NULL);
  g_autofree char *b_log = g_build_filename (queue, "b", "log.jsonl", NULL);
  g_autofree char *tables_path = g_build_filename (queue, "tables.md", NULL);
  g_autoptr(MienTrainConfig) base = base_config (queue);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) plan = mien_ablation_parse_plan (
    "[{\"name\": \"a\"}, {\"name\": \"b\", \"config\": {\"epochs\": 2}}, "
    "{\"name\": \"c\", \"config\": {\"smoothing\": 0.1}}]", -1, "plan", &error);
  g_autoptr(MienAblation) ablation = NULL;
  g_autofree char *events = NULL, *resumed = NULL, *a_log_before = NULL, *a_log_after = NULL;
  g_autofree char *tables = NULL;
  const char *b_row;
  const char *c_row;

  g_assert_no_error (error);
  base->input_size = 32;
  base->epochs = 1;
  base->batch_size = 16;
  base->threads = 1;
  ablation = mien_ablation_create (queue, base, plan, &error);
  g_assert_no_error (error);

  events = run_queue_async (ablation, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpstr (events, ==, "started:a evaluated:a started:c evaluated:c started:b ");
  g_assert_cmpstr (mien_ablation_get_step_name (ablation, 1), ==, "c");
  g_assert_true (mien_ablation_step_is_done (ablation, 0));
  g_assert_true (mien_ablation_step_is_done (ablation, 1));
  g_assert_false (mien_ablation_step_is_done (ablation, 2));
  tables = read_text (tables_path);
  g_assert_nonnull (strstr (tables, "| a |"));
  g_assert_nonnull (strstr (tables, "| c |"));
  g_assert_null (strstr (tables, "| b |"));
  assert_tables_of_done (queue);
  a_log_before = read_text (a_log);

  resumed = run_queue_async (ablation, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (resumed, ==, "evaluated:a evaluated:c started:b evaluated:b ");
  a_log_after = read_text (a_log);
  g_assert_cmpstr (a_log_after, ==, a_log_before);
  g_assert_cmpuint (count_lines (b_log), ==, 2);
  g_clear_pointer (&tables, g_free);
  tables = read_text (tables_path);
  /* In the order of the plan as it was changed during the run. */
  b_row = strstr (tables, "| b |");
  c_row = strstr (tables, "| c |");
  g_assert_nonnull (b_row);
  g_assert_nonnull (c_row);
  g_assert_cmpint (c_row - tables, <, b_row - tables);
  assert_tables_of_done (queue);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  tmp_dir = g_dir_make_tmp ("mien-ablation-XXXXXX", &error);
  g_assert_no_error (error);
  g_test_init (&argc, &argv, NULL);
  mien_init ();

  g_test_add_func ("/ablation/paper-plan", test_paper_plan);
  g_test_add_func ("/ablation/paper-weights-refused", test_paper_weights_refused);
  g_test_add_func ("/ablation/bad-plans", test_bad_plans);
  g_test_add_func ("/ablation/kill-and-resume", test_kill_and_resume);
  g_test_add_func ("/ablation/reorder", test_reorder);
  g_test_add_func ("/ablation/cancel-and-resume-async", test_cancel_and_resume_async);

  status = g_test_run ();
  mien_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  g_free (demo_dir);
  return status;
}
