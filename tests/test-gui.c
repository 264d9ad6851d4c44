/* test-gui.c — the studio driven as a user would, under Xvfb (suite gui).
 *
 * One application for the whole program, in a scratch XDG_DATA_HOME so that the first start
 * draws the demo dataset. The cases run in order and build on each other: the dataset opens,
 * a one-epoch run is trained through the Train page's action, it shows on the Evaluate page,
 * its model predicts on the Predict page (compared with mien-cli predict), and it runs on the
 * Live page's test source while the main loop's stalls are measured; then a dataset is recorded
 * on the Capture page from a looped video of real photos and opened on the Train page.
 *
 * With MIEN_SCREENSHOT_DIR set, every page is also saved as DIR/<page>.png at the point where
 * it shows the most (build-aux/screenshots.sh); MIEN_SCREENSHOT_EPOCHS trains longer for them.
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mien-application.h"
#include "mien-capture-page.h"
#include "mien-chart.h"
#include "mien-dataset-page.h"
#include "mien-demo-data.h"
#include "mien-evaluate-page.h"
#include "mien-experiments-page.h"
#include "mien-explain.h"
#include "mien-face-align.h"
#include "mien-face-model.h"
#include "mien-image.h"
#include "mien-kiosk-window.h"
#include "mien-live-page.h"
#include "mien-predict-page.h"
#include "mien-preferences-window.h"
#include "mien-test-util.h"
#include "mien-train-page.h"
#include "mien-ui-util.h"
#include "mien-weights.h"
#include "mien-window.h"

/* A real photo with one face (Debian's opencv-doc). */
#define MESSI_PHOTO "/usr/share/doc/opencv-doc/examples/data/messi5.jpg"

static struct {
  char            *scratch;
  MienApplication *app;
  MienWindow      *window;
  MienStudio      *studio;
  char            *run_dir;        /* the run trained in /gui/train */
  char            *best_model;
  gboolean         run_finished;
  char            *run_error;
  gboolean         runs_changed;
} fixture;

/* Iterates the main context until `done ()` or `timeout_s` pass (then fails the test). */
#define WAIT_FOR(condition, timeout_s, what) G_STMT_START {                                      \
    gint64 wait_end_ = g_get_monotonic_time () + (gint64) (timeout_s) * G_USEC_PER_SEC;        \
    while (!(condition))                                                                       \
      {                                                                                        \
        if (g_get_monotonic_time () > wait_end_)                                               \
          g_error ("timed out after %d s waiting for %s", (int) (timeout_s), what);            \
        g_main_context_iteration (NULL, FALSE);                                                \
        g_usleep (1000);                                                                       \
      }                                                                                        \
  } G_STMT_END

static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static void
screenshot (const char *page)
{
  const char *dir = g_getenv ("MIEN_SCREENSHOT_DIR");
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  if (dir == NULL || dir[0] == '\0')
    return;
  mien_window_show_page (fixture.window, page);
  spin (1500);  /* transitions, thumbnails and charts settle */
  path = g_strdup_printf ("%s/%s.png", dir, page);
  /* Just after a redraw was queued the window's paintable can be empty: try a few frames. */
  for (guint attempt = 0; !mien_window_save_screenshot (fixture.window, path, &error); attempt++)
    {
      if (attempt == 20)
        g_error ("screenshot %s: %s", path, error->message);
      g_clear_error (&error);
      spin (50);
    }
  g_test_message ("screenshot: %s", path);
}

static GtkWidget *
page (const char *name)
{
  GtkWidget *widget = mien_window_get_page (fixture.window, name);

  g_assert_nonnull (widget);
  return widget;
}

/* ---- The window on the demo dataset ---------------------------------------------------- */

static void
on_runs_changed (MienStudio *studio,
                 gpointer    user_data)
{
  fixture.runs_changed = TRUE;
}

/* The application and its window, once for the program (cases run alone with -p start it). */
static void
start_app (void)
{
  g_autoptr(GError) error = NULL;

  if (fixture.app != NULL)
    return;
  fixture.app = mien_application_new ();
  g_application_set_flags (G_APPLICATION (fixture.app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (fixture.app), NULL, &error));
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (fixture.app));

  fixture.window = MIEN_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (fixture.app)));
  g_assert_nonnull (fixture.window);
  fixture.studio = mien_application_get_studio (fixture.app);
  g_signal_connect (fixture.studio, "runs-changed", G_CALLBACK (on_runs_changed), NULL);
}

static void
test_dataset (void)
{
  g_autofree char *demo = NULL;
  g_autofree char *demo_train = NULL;
  MienDatasetStats *stats;
  MienBarChart *chart;
  graphene_rect_t first, bar;
  double first_value;

  start_app ();

  /* First start: the demo set is drawn into the user's data folder and opened. */
  WAIT_FOR (mien_studio_get_stats (fixture.studio) != NULL, 300, "the demo dataset");
  demo = g_build_filename (fixture.scratch, "xdg-data", "mien", "datasets", "demo", NULL);
  demo_train = g_build_filename (demo, "train", NULL);
  g_assert_true (g_file_test (demo_train, G_FILE_TEST_IS_DIR));
  g_assert_cmpstr (mien_studio_get_dataset_path (fixture.studio), ==, demo);

  /* The chart's bars are the statistics: one per class, value = images of that class. */
  stats = mien_studio_get_stats (fixture.studio);
  g_assert_cmpuint (stats->n_classes, ==, 6);
  chart = mien_dataset_page_get_count_chart (MIEN_DATASET_PAGE (page ("dataset")));
  g_assert_nonnull (chart);
  g_assert_cmpuint (mien_bar_chart_get_n_categories (chart), ==, stats->n_classes);
  g_assert_cmpuint (mien_bar_chart_get_n_series (chart), >=, 1);
  for (guint c = 0; c < stats->n_classes; c++)
    g_assert_cmpfloat (mien_bar_chart_get_value (chart, 0, c), ==, (double) stats->counts[c]);

  /* And as drawn: bar heights in proportion to the counts (to a pixel). */
  mien_window_show_page (fixture.window, "dataset");
  WAIT_FOR (mien_bar_chart_get_bar_rect (chart, 0, 0, &first), 30, "the chart to be drawn");
  first_value = stats->counts[0];
  for (guint c = 1; c < stats->n_classes; c++)
    {
      g_assert_true (mien_bar_chart_get_bar_rect (chart, 0, c, &bar));
      g_assert_cmpfloat_with_epsilon (bar.size.height,
                                      first.size.height * stats->counts[c] / first_value, 1.0);
    }
  screenshot ("dataset");
}

/* A fer2013.csv opens on its train split; the Dataset page's selector shows another split, and
 * the demo set opens again for the cases that follow. */
static void
test_dataset_split (void)
{
  static const char * const usages[] = {
    "Training", "Training", "Training", "PublicTest", "PublicTest", "PrivateTest",
  };
  g_autofree char *path = g_build_filename (fixture.scratch, "fer2013.csv", NULL);
  g_autofree char *demo = g_strdup (mien_studio_get_dataset_path (fixture.studio));
  g_autoptr(GString) text = g_string_new ("emotion,pixels,Usage\n");
  g_autoptr(GError) error = NULL;
  GtkDropDown *dropdown;
  GListModel *model;
  GSettings *settings;
  g_autofree char *remembered = NULL;

  for (guint r = 0; r < G_N_ELEMENTS (usages); r++)
    {
      g_string_append_printf (text, "%u,", r % 2 == 0 ? 3 : 0);
      for (guint i = 0; i < 48 * 48; i++)
        g_string_append_printf (text, i == 0 ? "%u" : " %u", (i + r * 40) % 256);
      g_string_append_printf (text, ",%s\n", usages[r]);
    }
  g_assert_true (g_file_set_contents (path, text->str, -1, &error));
  g_assert_no_error (error);

  mien_studio_open_dataset (fixture.studio, path);
  WAIT_FOR (g_strcmp0 (mien_studio_get_dataset_path (fixture.studio), path) == 0 &&
            mien_studio_get_stats (fixture.studio) != NULL, 60, "fer2013.csv");
  g_assert_cmpstr (mien_studio_get_dataset_split (fixture.studio), ==, "train");
  g_assert_cmpuint (mien_studio_get_stats (fixture.studio)->n_images, ==, 3);
  g_assert_cmpuint (mien_dataset_get_n_samples (mien_studio_get_val_dataset (fixture.studio)), ==,
                    2);

  dropdown = mien_dataset_page_get_split_dropdown (MIEN_DATASET_PAGE (page ("dataset")));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (dropdown)));
  model = gtk_drop_down_get_model (dropdown);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 3);
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (model), 0), ==, "train");
  g_assert_cmpuint (gtk_drop_down_get_selected (dropdown), ==, 0);

  /* The user picks "test": the page shows PrivateTest's image. */
  gtk_drop_down_set_selected (dropdown, 2);
  WAIT_FOR (g_strcmp0 (mien_studio_get_dataset_split (fixture.studio), "test") == 0, 60,
            "the test split");
  g_assert_cmpuint (mien_studio_get_stats (fixture.studio)->n_images, ==, 1);
  g_assert_cmpuint (gtk_drop_down_get_selected (dropdown), ==, 2);

  /* The next session opens the same split; one the file no longer has gives its default. */
  settings = mien_studio_get_settings (fixture.studio);
  remembered = g_settings_get_string (settings, "last-dataset-split");
  g_assert_cmpstr (remembered, ==, "test");
  mien_studio_open_dataset (fixture.studio, demo);
  WAIT_FOR (g_strcmp0 (mien_studio_get_dataset_path (fixture.studio), demo) == 0, 120,
            "the demo dataset");
  g_settings_set_string (settings, "last-dataset", path);
  g_settings_set_string (settings, "last-dataset-split", "test");
  mien_studio_open_initial_dataset (fixture.studio);
  WAIT_FOR (g_strcmp0 (mien_studio_get_dataset_path (fixture.studio), path) == 0 &&
            g_strcmp0 (mien_studio_get_dataset_split (fixture.studio), "test") == 0, 60,
            "fer2013.csv's test split again");
  g_assert_cmpuint (mien_studio_get_stats (fixture.studio)->n_images, ==, 1);
  g_assert_cmpuint (gtk_drop_down_get_selected (dropdown), ==, 2);
  g_settings_set_string (settings, "last-dataset-split", "no-such-split");
  mien_studio_open_initial_dataset (fixture.studio);
  WAIT_FOR (g_strcmp0 (mien_studio_get_dataset_split (fixture.studio), "train") == 0, 60,
            "fer2013.csv's default split");
  g_assert_cmpuint (mien_studio_get_stats (fixture.studio)->n_images, ==, 3);

  mien_studio_open_dataset (fixture.studio, demo);
  WAIT_FOR (g_strcmp0 (mien_studio_get_dataset_path (fixture.studio), demo) == 0, 120,
            "the demo dataset again");
  g_assert_null (mien_studio_get_dataset_split (fixture.studio));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (dropdown)));
}

/* ---- A run trained through the app's actions ------------------------------------------- */

static void
on_run_finished (MienTrainPage *train_page,
                 const char    *run_dir,
                 const GError  *error,
                 gpointer       user_data)
{
  fixture.run_finished = TRUE;
  g_free (fixture.run_dir);
  fixture.run_dir = g_strdup (run_dir);
  if (error != NULL)
    fixture.run_error = g_strdup (error->message);
}

/* ---- The Train page's ImageNet weights row ------------------------------------------------- */

/* The first descendant of `widget` of `type` for which `match` (may be NULL) says TRUE. */
static GtkWidget *
find_descendant (GtkWidget   *widget,
                 GType        type,
                 gboolean   (*match) (GtkWidget *, gconstpointer),
                 gconstpointer data)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type) && (match == NULL || match (child, data)))
        return child;
      found = find_descendant (child, type, match, data);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
title_starts_with (GtkWidget     *row,
                   gconstpointer  prefix)
{
  return g_str_has_prefix (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), prefix);
}

static AdwActionRow *
imagenet_row (MienTrainPage *train_page,
              const char    *backbone)
{
  g_autoptr(MienTrainConfig) config = mien_train_config_new ();
  GtkWidget *row;

  g_free (config->backbone);
  config->backbone = g_strdup (backbone);
  mien_train_page_set_config (train_page, config);
  spin (50);
  row = find_descendant (GTK_WIDGET (train_page), ADW_TYPE_ACTION_ROW, title_starts_with,
                         "ImageNet (");
  g_assert_nonnull (row);
  g_assert_true (gtk_widget_get_visible (row));
  return ADW_ACTION_ROW (row);
}

/* The chosen variant's catalogue weights: their size, Download while they are absent, Use once
 * they are there, which selects them for training. (Downloads themselves are tested against a
 * local server in test-weights.) */
static void
test_train_weights (void)
{
  MienTrainPage *train_page = MIEN_TRAIN_PAGE (page ("train"));
  g_autoptr(MienWeightsEntry) r18 = mien_weights_find (mien_plugin_engine_get_default (),
                                                       "resnet18.imagenet1k_v1", NULL);
  g_autofree char *path = mien_weights_get_path (r18->info);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(MienTrainConfig) built = NULL;
  g_autoptr(GError) error = NULL;
  AdwActionRow *row;
  GtkButton *button;

  mien_window_show_page (fixture.window, "train");
  row = imagenet_row (train_page, "resnet:18");
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==,
                   "ImageNet (torchvision), 44.7\xc2\xa0MiB");  /* g_format_size's NBSP */
  button = GTK_BUTTON (find_descendant (GTK_WIDGET (row), GTK_TYPE_BUTTON, NULL, NULL));
  g_assert_cmpstr (gtk_button_get_label (button), ==, "_Download");

  /* timm's have no published hash: the row says so. */
  row = imagenet_row (train_page, "vit:ti_16");
  g_assert_true (g_str_has_prefix (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)),
                                   "ImageNet (timm), "));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (row), "unverified"));

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, "weights", -1, NULL));
  row = imagenet_row (train_page, "resnet:18");
  button = GTK_BUTTON (find_descendant (GTK_WIDGET (row), GTK_TYPE_BUTTON, NULL, NULL));
  g_assert_cmpstr (gtk_button_get_label (button), ==, "_Use");
  g_signal_emit_by_name (button, "clicked");
  built = mien_train_page_build_config (train_page, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (built->pretrained, ==, path);
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (button)));

  /* Back to random weights for the tests that follow. */
  imagenet_row (train_page, "resnet:18");
  g_unlink (path);
}

static void
test_train (void)
{
  MienTrainPage *train_page = MIEN_TRAIN_PAGE (page ("train"));
  MienEvaluatePage *evaluate_page = MIEN_EVALUATE_PAGE (page ("evaluate"));
  g_autoptr(MienTrainConfig) config = mien_train_config_new ();
  const char *epochs = g_getenv ("MIEN_SCREENSHOT_EPOCHS");
  g_autofree char *run_name = NULL;
  const char *selected[2] = { NULL, NULL };
  MienRun *run;

  g_assert_nonnull (mien_studio_get_stats (fixture.studio));
  mien_window_show_page (fixture.window, "train");

  config->backbone = g_strdup ("resnet:18");
  config->input_size = 32;
  config->epochs = epochs != NULL ? (guint) atoi (epochs) : 1;
  config->batch_size = 32;
  config->imbalance = MIEN_IMBALANCE_WEIGHTED;
  config->smoothing = 0.1;
  mien_train_page_set_config (train_page, config);
  /* The Face margin row: empty shows none configured, a value out of range is refused naming
   * the row, and the run records the one written (the Predict page then crops with it). */
  {
    GtkEditable *margin_row = GTK_EDITABLE (gtk_widget_get_template_child (
                                              GTK_WIDGET (train_page), MIEN_TYPE_TRAIN_PAGE,
                                              "face_margin_row"));
    g_autoptr(MienTrainConfig) refused = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_nonnull (margin_row);
    g_assert_cmpstr (gtk_editable_get_text (margin_row), ==, "");
    gtk_editable_set_text (margin_row, "3");
    refused = mien_train_page_build_config (train_page, &error);
    g_assert_null (refused);
    g_assert_nonnull (error);
    g_assert_nonnull (strstr (error->message, "face margin “3”"));
    gtk_editable_set_text (margin_row, "0.05");
  }

  g_signal_connect (train_page, "run-finished", G_CALLBACK (on_run_finished), NULL);
  fixture.runs_changed = FALSE;
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (train_page), "train.start", NULL));
  WAIT_FOR (mien_train_page_get_running (train_page), 10, "the run to start");

  /* Closing the window while it trains asks first; keeping it changes nothing. */
  {
    AdwMessageDialog *dialog = NULL;
    GListModel *toplevels = gtk_window_get_toplevels ();

    gtk_window_close (GTK_WINDOW (fixture.window));
    for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
      {
        g_autoptr(GObject) toplevel = g_list_model_get_item (toplevels, i);

        if (ADW_IS_MESSAGE_DIALOG (toplevel))
          dialog = ADW_MESSAGE_DIALOG (toplevel);
      }
    g_assert_nonnull (dialog);
    g_assert_true (gtk_widget_get_visible (GTK_WIDGET (fixture.window)));
    adw_message_dialog_response (dialog, "keep");
    spin (100);
    g_assert_true (mien_train_page_get_running (train_page));
    g_assert_true (gtk_widget_get_visible (GTK_WIDGET (fixture.window)));
  }
  WAIT_FOR (fixture.run_finished, 1200, "the run to finish");
  g_assert_cmpstr (fixture.run_error, ==, NULL);
  g_assert_false (mien_train_page_get_running (train_page));
  g_assert_cmpfloat (mien_train_page_get_images_per_s (train_page), >, 0.0);
  g_test_message ("GUI training: %.1f images/s", mien_train_page_get_images_per_s (train_page));

  /* It is listed among the runs, with its best model... */
  WAIT_FOR (fixture.runs_changed && mien_studio_find_run (fixture.studio, fixture.run_dir) != NULL,
            60, "the run in the runs list");
  run = mien_studio_find_run (fixture.studio, fixture.run_dir);
  g_assert_cmpint (mien_run_get_state (run), ==, MIEN_RUN_STATE_COMPLETE);
  g_assert_cmpuint (mien_run_get_n_epochs (run), ==, config->epochs);
  g_assert_nonnull (mien_run_get_best_model (run));
  fixture.best_model = g_strdup (mien_run_get_best_model (run));
  g_assert_true (g_file_test (fixture.best_model, G_FILE_TEST_IS_REGULAR));
  {
    g_autoptr(JsonObject) meta = mien_model_read_metadata (fixture.best_model, NULL);
    double margin;

    g_assert_nonnull (meta);
    margin = json_object_get_double_member (meta, "face_margin");
    g_assert_cmpfloat (margin, ==, 0.05);
  }
  screenshot ("train");

  /* ... and on the Evaluate page, as a row of the table named after its folder. */
  selected[0] = fixture.run_dir;
  mien_evaluate_page_select_runs (evaluate_page, selected);
  g_assert_cmpuint (mien_evaluate_page_get_n_rows (evaluate_page), ==, 1);
  run_name = g_path_get_basename (fixture.run_dir);
  g_assert_cmpstr (mien_evaluate_page_get_row_name (evaluate_page, 0), ==, run_name);
  g_assert_cmpuint (mien_heatmap_get_size (mien_evaluate_page_get_heatmap (evaluate_page)), ==, 6);
  screenshot ("evaluate");
}

/* ---- Evaluating on a FER dataset file --------------------------------------------------- */

/* The table row `row` of the Evaluate page as its CSV export writes it: per-class F1, Avg.,
 * Acc. (k + 2 values). */
static double *
evaluate_row_values (MienEvaluatePage *evaluate_page,
                     guint             row,
                     guint             k)
{
  g_autofree char *path = g_build_filename (fixture.scratch, "table.csv", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) fields = NULL;
  double *values = g_new0 (double, k + 2);

  g_assert_true (mien_evaluate_page_export_csv (evaluate_page, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  lines = g_strsplit (g_strstrip (text), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, mien_evaluate_page_get_n_rows (evaluate_page) + 1);
  /* Row names hold no comma here: "RUN on fer2013.csv (val)". */
  fields = g_strsplit (lines[row + 1], ",", -1);
  g_assert_cmpuint (g_strv_length (fields), ==, k + 3);
  g_assert_cmpstr (fields[0], ==, mien_evaluate_page_get_row_name (evaluate_page, row));
  for (guint c = 0; c < k + 2; c++)
    {
      char *end = NULL;

      values[c] = g_ascii_strtod (fields[c + 1], &end);
      g_assert_true (end != fields[c + 1] && *end == '\0');
    }
  return values;
}

/* The row `row` of the Evaluate page shows what `mien-cli eval --data PATH --split SPLIT
 * [--faces] --json` measures with the same model; returns that JSON's images without a face. */
static guint
assert_row_is_cli_eval (MienEvaluatePage *evaluate_page,
                        guint             row,
                        const char       *path,
                        const char       *split,
                        gboolean          faces,
                        guint             n)
{
  g_autofree double *values = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  const char *cli = g_getenv ("MIEN_CLI");
  const char *argv[] = { cli, "eval", "--model", fixture.best_model, "--data", path, "--split",
                         split, "--json", faces ? "--faces" : NULL, NULL };
  JsonObject *metrics;
  JsonArray *f1;
  guint k;
  int status;

  g_assert_nonnull (cli);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("mien-cli eval failed: %s", err);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  metrics = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (metrics, "n"), ==, n);
  f1 = json_object_get_array_member (metrics, "f1");
  k = json_array_get_length (f1);
  g_assert_cmpuint (k, ==, 6);

  /* The table prints four decimals. */
  values = evaluate_row_values (evaluate_page, row, k);
  for (guint c = 0; c < k; c++)
    g_assert_cmpfloat_with_epsilon (values[c], json_array_get_double_element (f1, c), 5.1e-5);
  g_assert_cmpfloat_with_epsilon (values[k], json_object_get_double_member (metrics, "macro_f1"),
                                  5.1e-5);
  g_assert_cmpfloat_with_epsilon (values[k + 1],
                                  json_object_get_double_member (metrics, "accuracy"), 5.1e-5);
  return faces ? json_array_get_length (json_object_get_array_member (metrics, "no_face")) : 0;
}

/* Closes the "Images Without a Face" dialog; whether there was one. */
static gboolean
close_no_face_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) toplevel = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (toplevel) &&
          g_strcmp0 (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (toplevel)),
                     "Images Without a Face") == 0)
        {
          adw_message_dialog_response (ADW_MESSAGE_DIALOG (toplevel), "close");
          return TRUE;
        }
    }
  return FALSE;
}

/* Chooses `path` with "Evaluate on Another Dataset": its splits are offered, `offered` selected
 * (the default), and `split` is picked and evaluated; returns the row's index. */
static guint
evaluate_file_split (MienEvaluatePage *evaluate_page,
                     const char       *path,
                     const char       *offered,
                     const char       *split,
                     gboolean          faces)
{
  GtkDropDown *dropdown = mien_evaluate_page_get_split_dropdown (evaluate_page);
  guint n_rows = mien_evaluate_page_get_n_rows (evaluate_page);
  g_autofree char *run_name = g_path_get_basename (fixture.run_dir);
  g_autofree char *basename = g_path_get_basename (path);
  g_autofree char *row_name = NULL;
  GtkCheckButton *faces_check;
  GListModel *model;
  guint picked = G_MAXUINT;

  faces_check = GTK_CHECK_BUTTON (gtk_widget_get_template_child (
                                    GTK_WIDGET (evaluate_page), MIEN_TYPE_EVALUATE_PAGE,
                                    "other_faces"));
  gtk_check_button_set_active (faces_check, faces);
  /* The file is read off the main loop; then its splits are offered. */
  mien_evaluate_page_open_other (evaluate_page, path);
  g_assert_false (gtk_widget_is_visible (GTK_WIDGET (dropdown)));
  WAIT_FOR (gtk_widget_is_visible (GTK_WIDGET (dropdown)), 60, "the splits of the file");
  model = gtk_drop_down_get_model (dropdown);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 3);
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (model), 0), ==, "train");
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (model), 1), ==, "val");
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (model), 2), ==, "test");
  g_assert_cmpstr (gtk_string_object_get_string (gtk_drop_down_get_selected_item (dropdown)), ==,
                   offered);
  g_assert_cmpuint (mien_evaluate_page_get_n_rows (evaluate_page), ==, n_rows);

  for (guint i = 0; i < 3; i++)
    if (g_str_equal (gtk_string_list_get_string (GTK_STRING_LIST (model), i), split))
      picked = i;
  gtk_drop_down_set_selected (dropdown, picked);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (evaluate_page), "evaluate.other-split",
                                             NULL));
  WAIT_FOR (mien_evaluate_page_get_n_rows (evaluate_page) == n_rows + 1, 120, split);
  row_name = faces ? g_strdup_printf ("%s on %s (%s) (faces)", run_name, basename, split)
                   : g_strdup_printf ("%s on %s (%s)", run_name, basename, split);
  g_assert_cmpstr (mien_evaluate_page_get_row_name (evaluate_page, n_rows), ==, row_name);
  return n_rows;
}

/* "Evaluate on Another Dataset" takes a fer2013.csv: its splits are offered (test by default),
 * the one picked is evaluated, also with "Find faces first", and each row shows what `mien-cli
 * eval --data FILE --split S` measures with the same model. */
static void
test_evaluate_file (void)
{
  /* Every class of the demo set (FER codes 0–5), in other proportions per split, and neutral
   * faces (6) the model's classes leave out. */
  static const struct { guint emotion; const char *usage; } rows[] = {
    { 0, "Training" }, { 3, "Training" }, { 5, "Training" },
    { 0, "PublicTest" }, { 1, "PublicTest" }, { 2, "PublicTest" }, { 3, "PublicTest" },
    { 3, "PublicTest" }, { 3, "PublicTest" }, { 4, "PublicTest" }, { 5, "PublicTest" },
    { 6, "PublicTest" },
    { 0, "PrivateTest" }, { 1, "PrivateTest" }, { 2, "PrivateTest" }, { 3, "PrivateTest" },
    { 4, "PrivateTest" }, { 5, "PrivateTest" }, { 6, "PrivateTest" },
  };
  MienEvaluatePage *evaluate_page = MIEN_EVALUATE_PAGE (page ("evaluate"));
  g_autofree char *path = g_build_filename (fixture.scratch, "evaluate-fer2013.csv", NULL);
  g_autoptr(GString) text = g_string_new ("emotion,pixels,Usage\n");
  g_autoptr(GError) error = NULL;
  const char *selected[2] = { fixture.run_dir, NULL };
  GtkWidget *other_box;
  guint row, n_no_face;

  g_assert_nonnull (fixture.best_model);
  for (guint r = 0; r < G_N_ELEMENTS (rows); r++)
    {
      g_string_append_printf (text, "%u,", rows[r].emotion);
      for (guint i = 0; i < 48 * 48; i++)
        g_string_append_printf (text, i == 0 ? "%u" : " %u", (i * (r + 1) + r * 37) % 256);
      g_string_append_printf (text, ",%s\n", rows[r].usage);
    }
  g_assert_true (g_file_set_contents (path, text->str, -1, &error));
  g_assert_no_error (error);

  mien_window_show_page (fixture.window, "evaluate");
  mien_evaluate_page_select_runs (evaluate_page, selected);
  g_assert_cmpuint (mien_evaluate_page_get_n_rows (evaluate_page), ==, 1);

  /* Cancel while the file is read: the progress goes, nothing is offered. */
  other_box = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (evaluate_page),
                                                         MIEN_TYPE_EVALUATE_PAGE, "other_box"));
  mien_evaluate_page_open_other (evaluate_page, path);
  g_assert_true (gtk_widget_get_visible (other_box));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (evaluate_page), "evaluate.cancel", NULL));
  g_assert_false (gtk_widget_get_visible (other_box));
  spin (500);
  g_assert_false (gtk_widget_is_visible (
                    GTK_WIDGET (mien_evaluate_page_get_split_dropdown (evaluate_page))));
  g_assert_cmpuint (mien_evaluate_page_get_n_rows (evaluate_page), ==, 1);

  /* PublicTest's rows of the model's classes: 8. */
  row = evaluate_file_split (evaluate_page, path, "test", "val", FALSE);
  assert_row_is_cli_eval (evaluate_page, row, path, "val", FALSE, 8);

  /* PrivateTest's 6, each image's largest face (these have none: each counts as an error and
   * is listed, as the command line lists it). */
  row = evaluate_file_split (evaluate_page, path, "test", "test", TRUE);
  n_no_face = assert_row_is_cli_eval (evaluate_page, row, path, "test", TRUE, 6);
  g_assert_cmpint (close_no_face_dialog (), ==, n_no_face > 0);
}

/* ---- The mistakes to look at ------------------------------------------------------------ */

static gpointer
evaluate_child (MienEvaluatePage *evaluate_page,
                const char       *name)
{
  return gtk_widget_get_template_child (GTK_WIDGET (evaluate_page), MIEN_TYPE_EVALUATE_PAGE,
                                        name);
}

static guint
count_children (GtkWidget *widget)
{
  guint n = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n++;
  return n;
}

/* The overlay the page must show for sample `index` and class `class_index`: the ensemble's
 * Grad-CAM of the image as the evaluation saw it, drawn over the whole image. */
static GdkPixbuf *
expected_heat_map (MienEnsemble *ensemble,
                   MienDataset  *dataset,
                   guint         index,
                   guint         class_index)
{
  MienModel *model = mien_ensemble_get_model (ensemble, 0);
  int size = mien_model_get_input_size (model);
  g_autofree guint8 *pixels = g_malloc (3 * (gsize) size * size);
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = mien_dataset_load_pixbuf (dataset, index, &error);
  g_autoptr(MienTensor) images = NULL;
  g_autoptr(MienTensor) map = NULL;
  GdkPixbuf *overlay;

  g_assert_no_error (error);
  g_assert_true (mien_image_from_pixbuf (pixbuf, size, mien_model_get_grey (model), pixels, NULL,
                                         &error));
  images = mien_image_batch_tensor (pixels, 1, size, &error);
  g_assert_no_error (error);
  map = mien_explain_grad_cam_ensemble (ensemble, images, class_index, NULL, &error);
  g_assert_no_error (error);
  overlay = mien_explain_overlay (pixbuf, map, MIEN_EVALUATE_HEAT_MAP_OPACITY, &error);
  g_assert_no_error (error);
  return overlay;
}

/* The texture a picture shows has the pixels of `expected`. */
static void
assert_picture_shows (GtkPicture *picture,
                      GdkPixbuf  *expected)
{
  GdkPaintable *paintable = gtk_picture_get_paintable (picture);
  int width = gdk_pixbuf_get_width (expected), height = gdk_pixbuf_get_height (expected);
  int channels = gdk_pixbuf_get_n_channels (expected);
  gsize stride = (gsize) width * 4;
  g_autofree guint8 *argb = NULL;

  g_assert_true (GDK_IS_TEXTURE (paintable));
  g_assert_cmpint (gdk_texture_get_width (GDK_TEXTURE (paintable)), ==, width);
  g_assert_cmpint (gdk_texture_get_height (GDK_TEXTURE (paintable)), ==, height);
  argb = g_malloc (stride * height);
  /* Cairo's ARGB32, native-endian; the overlay is opaque, so nothing is premultiplied. */
  gdk_texture_download (GDK_TEXTURE (paintable), argb, stride);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        const guint8 *e = gdk_pixbuf_read_pixels (expected) +
                          (gsize) y * gdk_pixbuf_get_rowstride (expected) + (gsize) x * channels;
        guint32 px = *(const guint32 *) (argb + (gsize) y * stride + (gsize) x * 4);
        guint8 got[3] = { (px >> 16) & 0xff, (px >> 8) & 0xff, px & 0xff };

        if (memcmp (got, e, 3) != 0)
          g_error ("heat map pixel (%d, %d): %u %u %u, expected %u %u %u", x, y, got[0], got[1],
                   got[2], e[0], e[1], e[2]);
      }
}

/* After "Evaluate on Another Dataset" (a small demo set), the Mistakes grid shows, for the
 * class chosen, exactly mien_predictions_mistakes () of the same model on the same images, in
 * its order; clicking one shows the ensemble's Grad-CAM overlay for the predicted class. */
static void
test_evaluate_mistakes (void)
{
  MienEvaluatePage *evaluate_page = MIEN_EVALUATE_PAGE (page ("evaluate"));
  g_autofree char *root = g_build_filename (fixture.scratch, "mistakes-demo", NULL);
  g_autofree char *val_dir = g_build_filename (root, "val", NULL);
  const char *selected[2] = { fixture.run_dir, NULL };
  const char *models[2] = { fixture.best_model, NULL };
  MienDemoDataOptions options = MIEN_DEMO_DATA_OPTIONS_INIT;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(MienDataset) val = NULL;
  g_autoptr(MienMetrics) metrics = NULL;
  g_autoptr(MienPredictions) predictions = NULL;
  g_autoptr(GArray) mistakes = NULL;
  g_autoptr(GdkPixbuf) expected = NULL;
  GtkFlowBox *grid = evaluate_child (evaluate_page, "mistakes_grid");
  GtkDropDown *classes = evaluate_child (evaluate_page, "mistakes_class");
  GtkPicture *heat = evaluate_child (evaluate_page, "heat_predicted");
  GtkSpinner *spinner = evaluate_child (evaluate_page, "mistake_spinner");
  GtkLabel *status = evaluate_child (evaluate_page, "mistake_status");
  GtkWidget *first;
  guint n_rows, chosen = 0, n_all = 0, index, predicted;
  guint longest = 0;
  g_autofree char *label = NULL;
  g_autofree char *predicted_name = NULL;
  g_autofree char *true_name = NULL;

  g_assert_nonnull (fixture.best_model);
  options.per_class = 12;
  options.balanced = TRUE;
  options.size = 48;
  options.seed = 15;
  g_assert_true (mien_demo_data_generate (root, &options, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  /* What the core finds with the run's model. */
  ensemble = mien_ensemble_load (mien_studio_get_engine (fixture.studio), models,
                                 mien_studio_get_device (fixture.studio), &error);
  g_assert_no_error (error);
  val = mien_dataset_open (val_dir, mien_ensemble_get_classes (ensemble), &error);
  g_assert_no_error (error);
  metrics = mien_ensemble_evaluate_predictions (ensemble, val, 1, NULL, &predictions, NULL, NULL,
                                                NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint c = 0; c < predictions->n_classes; c++)
    {
      g_autoptr(GArray) of_class = mien_predictions_mistakes (predictions, (int) c, 12);

      n_all += of_class->len;
      if (of_class->len > longest)
        {
          longest = of_class->len;
          chosen = c;
        }
    }
  /* A model trained for an epoch gets some wrong, or there would be nothing to check. */
  g_assert_cmpuint (longest, >, 0);
  mistakes = mien_predictions_mistakes (predictions, (int) chosen, 12);

  mien_window_show_page (fixture.window, "evaluate");
  mien_evaluate_page_select_runs (evaluate_page, selected);
  n_rows = mien_evaluate_page_get_n_rows (evaluate_page);
  /* Whole images (an earlier case may have left "Find faces first" checked). */
  gtk_check_button_set_active (evaluate_child (evaluate_page, "other_faces"), FALSE);
  mien_evaluate_page_open_other (evaluate_page, val_dir);
  WAIT_FOR (mien_evaluate_page_get_n_rows (evaluate_page) == n_rows + 1, 120, "the evaluation");
  g_assert_true (gtk_widget_is_visible (evaluate_child (evaluate_page, "mistakes_box")));

  /* All classes by default: each class's most confident mistakes. */
  g_assert_cmpuint (gtk_drop_down_get_selected (classes), ==, 0);
  WAIT_FOR (count_children (GTK_WIDGET (grid)) == n_all, 60, "the thumbnails of all classes");

  gtk_drop_down_set_selected (classes, chosen + 1);
  WAIT_FOR (count_children (GTK_WIDGET (grid)) == mistakes->len, 60, "the class's thumbnails");
  spin (200);
  g_assert_cmpuint (count_children (GTK_WIDGET (grid)), ==, mistakes->len);
  for (guint m = 0; m < mistakes->len; m++)
    {
      GtkFlowBoxChild *child = gtk_flow_box_get_child_at_index (grid, (int) m);
      guint i = g_array_index (mistakes, guint, m);

      g_assert_cmpuint (GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (child), "mien-index")),
                        ==, i + 1);
      g_assert_cmpstr (gtk_widget_get_tooltip_text (gtk_flow_box_child_get_child (child)), ==,
                       predictions->paths[i]);
    }

  /* The first, larger, with its heat map for the class predicted. */
  first = GTK_WIDGET (gtk_flow_box_get_child_at_index (grid, 0));
  index = g_array_index (mistakes, guint, 0);
  predicted = (guint) predictions->predicted[index];
  predicted_name = mien_ui_capitalise (mien_ensemble_get_classes (ensemble)[predicted]);
  true_name = mien_ui_capitalise (
                mien_ensemble_get_classes (ensemble)[predictions->labels[index]]);
  g_signal_emit_by_name (first, "activate");
  g_assert_true (gtk_widget_is_visible (evaluate_child (evaluate_page, "mistake_detail")));
  WAIT_FOR (!gtk_spinner_get_spinning (spinner), 120, "the heat maps");
  g_assert_nonnull (gtk_picture_get_paintable (heat));
  g_assert_false (g_str_has_prefix (gtk_label_get_text (status), "Could not"));
  expected = expected_heat_map (ensemble, val, index, predicted);
  assert_picture_shows (heat, expected);
  label = g_strdup_printf ("Predicted: %s", predicted_name);
  g_assert_cmpstr (gtk_label_get_text (evaluate_child (evaluate_page, "heat_predicted_label")), ==,
                   label);
  g_free (label);
  label = g_strdup_printf ("True: %s", true_name);
  g_assert_cmpstr (gtk_label_get_text (evaluate_child (evaluate_page, "heat_true_label")), ==,
                   label);
  /* The true class's map beside it (the same drawing: with the 32-pixel model of /gui/train,
   * Grad-CAM's grid is a single cell, so this checks the image and the blend, not the class). */
  g_clear_object (&expected);
  expected = expected_heat_map (ensemble, val, index, predictions->labels[index]);
  assert_picture_shows (evaluate_child (evaluate_page, "heat_true"), expected);
}

/* ---- Prediction equals mien-cli's ------------------------------------------------------- */

/* The first image of the demo set's validation part. */
static char *
first_val_image (void)
{
  MienDataset *val = mien_studio_get_val_dataset (fixture.studio);

  g_assert_nonnull (val);
  return g_strdup (mien_dataset_get_path (val, mien_dataset_get_n_samples (val) / 2));
}

static void
test_predict (void)
{
  MienPredictPage *predict_page = MIEN_PREDICT_PAGE (page ("predict"));
  g_autofree char *image = first_val_image ();
  g_autofree char *csv_path = g_build_filename (fixture.scratch, "predict.csv", NULL);
  g_autofree char *csv = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) header = NULL;
  g_auto(GStrv) fields = NULL;
  const char *models[2] = { fixture.best_model, NULL };
  const float *per_model = NULL, *average = NULL;
  guint n_models = 0, n_classes = 0;
  g_autoptr(GFile) file = g_file_new_for_path (image);
  const char *cli = g_getenv ("MIEN_CLI");
  const char *argv[] = { cli, "predict", "--model", fixture.best_model, "--csv", csv_path,
                         image, NULL };
  int status;
  guint first_prob;

  g_assert_nonnull (fixture.best_model);
  g_assert_nonnull (cli);

  mien_window_show_page (fixture.window, "predict");
  /* The whole image, as `mien-cli predict` sees it (the demo set's cartoons are no faces for
   * a cascade). */
  mien_predict_page_set_find_faces (predict_page, FALSE);
  mien_predict_page_set_models (predict_page, models);
  mien_predict_page_open_file (predict_page, file);
  WAIT_FOR (!mien_predict_page_get_busy (predict_page)
            && mien_predict_page_get_probabilities (predict_page, &n_models, &n_classes,
                                                    &per_model, &average),
            120, "the prediction");
  g_assert_cmpuint (n_models, ==, 1);
  g_assert_cmpuint (n_classes, ==, 6);

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("mien-cli predict failed: %s", err);
  g_assert_true (g_file_get_contents (csv_path, &csv, NULL, &error));
  g_assert_no_error (error);

  /* The CLI's CSV: a header naming p_<class> columns, one row for the image. */
  lines = g_strsplit (g_strstrip (csv), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  header = g_strsplit (lines[0], ",", -1);
  fields = g_strsplit (lines[1], ",", -1);
  g_assert_cmpuint (g_strv_length (header), ==, g_strv_length (fields));
  for (first_prob = 0; header[first_prob] != NULL; first_prob++)
    if (g_str_has_prefix (header[first_prob], "p_"))
      break;
  g_assert_nonnull (header[first_prob]);
  g_assert_cmpuint (g_strv_length (header) - first_prob, >=, n_classes);
  for (guint c = 0; c < n_classes; c++)
    {
      double cli_p = g_ascii_strtod (fields[first_prob + c], NULL);

      /* The CLI prints six decimals; the page holds floats from the same code. */
      g_assert_cmpfloat_with_epsilon (average[c], cli_p, 5e-6);
      g_assert_cmpfloat_with_epsilon (per_model[c], cli_p, 5e-6);
    }
  /* The screenshots show the project's own images, not the third-party photo below. */
  screenshot ("predict");
}

/* The one face of the image at `path` on the page: its box and probabilities are
 * `mien-cli predict --faces`'s for the same model. */
static void
assert_page_face_is_cli_face (const char *path)
{
  MienPredictPage *predict_page = MIEN_PREDICT_PAGE (page ("predict"));
  g_autofree char *csv_path = g_build_filename (fixture.scratch, "faces.csv", NULL);
  g_autofree char *csv = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) fields = NULL;
  const char *cli = g_getenv ("MIEN_CLI");
  const char *argv[] = { cli, "predict", "--faces", "--model", fixture.best_model, "--csv",
                         csv_path, path, NULL };
  const float *per_model = NULL, *average = NULL;
  guint n_models = 0, n_classes = 0;
  MienFace box;
  int status;

  g_test_message ("%s", path);
  mien_predict_page_open_file (predict_page, file);
  WAIT_FOR (!mien_predict_page_get_busy (predict_page)
            && mien_predict_page_get_n_faces (predict_page) >= 0, 120, "the faces");
  g_assert_cmpint (mien_predict_page_get_n_faces (predict_page), ==, 1);
  g_assert_true (mien_predict_page_get_face_probabilities (predict_page, 0, &box, &n_models,
                                                           &n_classes, &per_model, &average));
  g_assert_cmpuint (n_models, ==, 1);
  g_assert_cmpuint (n_classes, ==, 6);

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                               &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("mien-cli predict --faces failed: %s", err);
  g_assert_true (g_file_get_contents (csv_path, &csv, NULL, &error));
  g_assert_no_error (error);
  /* path,frame,timestamp,faces,face,track,x,y,width,height,score,class,p_… */
  lines = g_strsplit (g_strstrip (csv), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  fields = g_strsplit (lines[1], ",", -1);
  g_assert_cmpuint (g_strv_length (fields), ==, 12 + n_classes);
  g_assert_cmpstr (fields[3], ==, "1");
  g_assert_cmpfloat_with_epsilon (box.x, g_ascii_strtod (fields[6], NULL), 0.051);
  g_assert_cmpfloat_with_epsilon (box.y, g_ascii_strtod (fields[7], NULL), 0.051);
  g_assert_cmpfloat_with_epsilon (box.width, g_ascii_strtod (fields[8], NULL), 0.051);
  g_assert_cmpfloat_with_epsilon (box.height, g_ascii_strtod (fields[9], NULL), 0.051);
  for (guint c = 0; c < n_classes; c++)
    g_assert_cmpfloat_with_epsilon (average[c], g_ascii_strtod (fields[12 + c], NULL), 5e-6);
}

/* The photo, and a phone portrait of it (stored turned, with an EXIF orientation): the page
 * finds the same face as the command line in both, and crops it with the margin the model
 * records (0.05, from /gui/train), as the command line does. */
static void
test_predict_faces (void)
{
  MienPredictPage *predict_page = MIEN_PREDICT_PAGE (page ("predict"));
  g_autofree char *portrait_path = g_build_filename (fixture.scratch, "portrait.jpg", NULL);
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GdkPixbuf) portrait = NULL;
  g_autoptr(GError) error = NULL;
  const char *models[2] = { fixture.best_model, NULL };

  if (!g_file_test (MESSI_PHOTO, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no " MESSI_PHOTO " (Debian's opencv-doc)");
      return;
    }
  photo = gdk_pixbuf_new_from_file (MESSI_PHOTO, &error);
  g_assert_no_error (error);
  portrait = gdk_pixbuf_new_subpixbuf (photo, 150, 0, 220, gdk_pixbuf_get_height (photo));
  mien_test_write_turned_jpeg (portrait_path, portrait);

  mien_window_show_page (fixture.window, "predict");
  mien_predict_page_set_models (predict_page, models);
  mien_predict_page_set_find_faces (predict_page, TRUE);
  assert_page_face_is_cli_face (MESSI_PHOTO);
  assert_page_face_is_cli_face (portrait_path);
}

/* ---- Predict: explanations ------------------------------------------------------------------ */

/* A randomly initialised model of `backbone` at `size` px with the demo set's classes, saved
 * once as `name` in the scratch folder. */
static char *
random_model_file (const char *name,
                   const char *backbone,
                   int         size)
{
  static const char * const classes[] = {
    "anger", "disgust", "fear", "happiness", "sadness", "surprise", NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(MienModel) model = mien_test_random_model (backbone, size, classes, FALSE);
  char *path = g_build_filename (fixture.scratch, name, NULL);

  g_assert_true (mien_model_save (model, path, NULL, NULL, &error));
  g_assert_no_error (error);
  return path;
}

/* The ensemble's Grad-CAM of `image` (resized to the models' input size) for `class_index`. */
static MienTensor *
expected_map (MienEnsemble *ensemble,
              GdkPixbuf    *image,
              guint         class_index)
{
  int size = mien_model_get_input_size (mien_ensemble_get_model (ensemble, 0));
  g_autofree guint8 *pixels = g_malloc ((gsize) 3 * size * size);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) images = NULL;
  MienTensor *map;

  g_assert_true (mien_image_from_pixbuf (image, size, FALSE, pixels, NULL, &error));
  g_assert_no_error (error);
  images = mien_image_batch_tensor (pixels, 1, size, &error);
  g_assert_no_error (error);
  map = mien_explain_grad_cam_ensemble (ensemble, images, class_index, NULL, &error);
  g_assert_no_error (error);
  return map;
}

/* What the page should draw: the ensemble's Grad-CAM for `class_index` over `image` at
 * `opacity`. */
static GdkPixbuf *
expected_explanation (MienEnsemble *ensemble,
                      GdkPixbuf    *image,
                      guint         class_index,
                      double        opacity)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) map = expected_map (ensemble, image, class_index);
  GdkPixbuf *overlay;

  overlay = mien_explain_overlay (image, map, opacity, &error);
  g_assert_no_error (error);
  return overlay;
}

/* Whether two pixbufs hold the same RGB pixels (alpha, if any, aside). */
static gboolean
same_rgb (GdkPixbuf *a,
          GdkPixbuf *b)
{
  int width = gdk_pixbuf_get_width (a);
  int height = gdk_pixbuf_get_height (a);
  int na = gdk_pixbuf_get_n_channels (a), nb = gdk_pixbuf_get_n_channels (b);

  if (width != gdk_pixbuf_get_width (b) || height != gdk_pixbuf_get_height (b))
    return FALSE;
  for (int y = 0; y < height; y++)
    {
      const guint8 *ra = gdk_pixbuf_read_pixels (a) + (gsize) y * gdk_pixbuf_get_rowstride (a);
      const guint8 *rb = gdk_pixbuf_read_pixels (b) + (gsize) y * gdk_pixbuf_get_rowstride (b);

      for (int x = 0; x < width; x++)
        if (memcmp (ra + x * na, rb + x * nb, 3) != 0)
          return FALSE;
    }
  return TRUE;
}

/* The page's overlay once it is drawn for `class_index` (-1: any). */
static GdkPixbuf *
wait_for_explanation (MienPredictPage *predict_page,
                      int              class_index,
                      guint           *explained)
{
  GdkPixbuf *overlay = NULL;

  WAIT_FOR ((overlay = mien_predict_page_get_explain_overlay (predict_page, explained)) != NULL &&
            (class_index < 0 || *explained == (guint) class_index), 120, "the explanation");
  return overlay;
}

/* Explain on the Predict page: the ensemble's Grad-CAM of the predicted class, then of another
 * class, over the image; opacity 0 is the image; a ViT is explained too. */
static void
test_predict_explain (void)
{
  MienPredictPage *predict_page = MIEN_PREDICT_PAGE (page ("predict"));
  g_autofree char *image_path = first_val_image ();
  g_autofree char *resnet = random_model_file ("explain-resnet.safetensors", "resnet:18", 96);
  g_autofree char *vit = random_model_file ("explain-vit.safetensors", "vit:ti_16", 32);
  const char *models[2] = { resnet, NULL };
  const char *vit_models[2] = { vit, NULL };
  g_autoptr(GFile) file = g_file_new_for_path (image_path);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(GdkPixbuf) image = NULL;
  g_autoptr(GdkPixbuf) predicted_expected = NULL;
  g_autoptr(GdkPixbuf) other_expected = NULL;
  const float *average = NULL;
  guint n_classes = 0, predicted, explained = G_MAXUINT, other;
  GdkPixbuf *overlay;

  ensemble = mien_ensemble_load (mien_studio_get_engine (fixture.studio), models,
                                 mien_device_cpu (), &error);
  g_assert_no_error (error);
  image = mien_image_load (image_path, &error);
  g_assert_no_error (error);

  mien_window_show_page (fixture.window, "predict");
  mien_predict_page_set_find_faces (predict_page, FALSE);
  mien_predict_page_set_models (predict_page, models);
  mien_predict_page_open_file (predict_page, file);
  mien_predict_page_set_explain_opacity (predict_page, 0.5);
  mien_predict_page_set_explain (predict_page, TRUE);
  WAIT_FOR (mien_predict_page_get_probabilities (predict_page, NULL, &n_classes, NULL, &average),
            120, "the prediction");
  predicted = mien_probabilities_argmax (average, n_classes);

  /* 96 px: a 3 × 3 grid, a map with some shape (at 32 px its one cell scales to zeros). */
  overlay = wait_for_explanation (predict_page, -1, &explained);
  g_assert_cmpuint (explained, ==, predicted);
  predicted_expected = expected_explanation (ensemble, image, predicted, 0.5);
  g_assert_true (same_rgb (overlay, predicted_expected));
  g_assert_false (same_rgb (overlay, image));

  /* Another class: another map (the first whose drawing differs, as a random head can give
   * two classes no evidence anywhere). */
  for (other = 0; other < n_classes; other++)
    {
      g_clear_object (&other_expected);
      other_expected = expected_explanation (ensemble, image, other, 0.5);
      if (other != predicted && !same_rgb (other_expected, predicted_expected))
        break;
    }
  g_assert_cmpuint (other, <, n_classes);
  mien_predict_page_set_explain_class (predict_page, (int) other);
  overlay = wait_for_explanation (predict_page, (int) other, &explained);
  g_assert_true (same_rgb (overlay, other_expected));

  /* Opacity 0: the image alone. */
  mien_predict_page_set_explain_opacity (predict_page, 0.0);
  WAIT_FOR ((overlay = mien_predict_page_get_explain_overlay (predict_page, NULL)) != NULL, 120,
            "the explanation at opacity 0");
  g_assert_true (same_rgb (overlay, image));
  mien_predict_page_set_explain_class (predict_page, -1);
  mien_predict_page_set_explain_opacity (predict_page, 0.5);

  /* A ViT is explained too (Grad-CAM on its last block's tokens): an overlay, no message. */
  mien_predict_page_set_models (predict_page, vit_models);
  WAIT_FOR (mien_predict_page_get_explain_overlay (predict_page, NULL) != NULL, 120,
            "the ViT's explanation");
  g_assert_null (mien_predict_page_get_explain_message (predict_page));

  /* Off: the image again, no message. */
  mien_predict_page_set_explain (predict_page, FALSE);
  g_assert_null (mien_predict_page_get_explain_message (predict_page));
  mien_predict_page_set_models (predict_page, models);
}

/* The Grad-CAM map the page should show for face `face`: of the crop the models classified,
 * aligned with the margin the ensemble records, for `class_index`. */
static MienTensor *
expected_face_map (MienEnsemble   *ensemble,
                   GdkPixbuf      *frame,
                   const MienFace *box,
                   guint           class_index)
{
  int size = mien_model_get_input_size (mien_ensemble_get_model (ensemble, 0));
  MienFaceAlignOptions align = MIEN_FACE_ALIGN_OPTIONS_INIT;
  g_autoptr(GdkPixbuf) crop = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (mien_ensemble_get_face_margin (ensemble, align.margin, &align.margin, &error));
  g_assert_no_error (error);
  crop = mien_face_align (frame, box, &align, size, FALSE);
  return expected_map (ensemble, crop, class_index);
}

static void
assert_same_map (MienTensor *got,
                 MienTensor *expected)
{
  gint64 n = mien_tensor_numel (expected);
  g_autofree float *a = g_new (float, n);
  g_autofree float *b = g_new (float, n);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (mien_tensor_numel (got), ==, n);
  g_assert_true (mien_tensor_to_host (got, a, n * sizeof (float), &error));
  g_assert_true (mien_tensor_to_host (expected, b, n * sizeof (float), &error));
  g_assert_no_error (error);
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (a[i], b[i], 1e-5);
}

/* Whether (x, y) lies within `slack` px of face `box`'s crop, turned as it is. */
static gboolean
in_crop (const MienFace             *box,
         const MienFaceAlignOptions *align,
         double                      x,
         double                      y,
         double                      slack)
{
  double cx, cy, side, angle, u, v;

  mien_face_align_geometry (box, align, &cx, &cy, &side, &angle);
  u = cos (angle) * (x - cx) + sin (angle) * (y - cy);
  v = -sin (angle) * (x - cx) + cos (angle) * (y - cy);
  return fabs (u) <= side / 2 + slack && fabs (v) <= side / 2 + slack;
}

/* The overlay is the frame outside the faces' crops, and not inside any. */
static void
assert_maps_over_crops (MienEnsemble *ensemble,
                        GdkPixbuf    *overlay,
                        GdkPixbuf    *frame,
                        GArray       *boxes)
{
  MienFaceAlignOptions align = MIEN_FACE_ALIGN_OPTIONS_INIT;
  g_autofree guint *changed = g_new0 (guint, boxes->len);
  g_autoptr(GError) error = NULL;
  int n = gdk_pixbuf_get_n_channels (frame);

  g_assert_true (mien_ensemble_get_face_margin (ensemble, align.margin, &align.margin, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (overlay), ==, gdk_pixbuf_get_width (frame));
  g_assert_cmpint (gdk_pixbuf_get_height (overlay), ==, gdk_pixbuf_get_height (frame));
  for (int y = 0; y < gdk_pixbuf_get_height (frame); y++)
    for (int x = 0; x < gdk_pixbuf_get_width (frame); x++)
      {
        const guint8 *a = gdk_pixbuf_read_pixels (overlay) +
                          (gsize) y * gdk_pixbuf_get_rowstride (overlay) +
                          x * gdk_pixbuf_get_n_channels (overlay);
        const guint8 *b = gdk_pixbuf_read_pixels (frame) +
                          (gsize) y * gdk_pixbuf_get_rowstride (frame) + x * n;
        gboolean inside = FALSE;

        for (guint f = 0; f < boxes->len; f++)
          if (in_crop (&g_array_index (boxes, MienFace, f), &align, x + 0.5, y + 0.5, 2.0))
            {
              inside = TRUE;
              changed[f] += memcmp (a, b, 3) != 0;
            }
        if (!inside)
          g_assert_cmpmem (a, 3, b, 3);
      }
  for (guint f = 0; f < boxes->len; f++)
    g_assert_cmpuint (changed[f], >, 0);
}

/* Explain with "Find faces" on: every face gets the map of its own crop (for its predicted
 * class, then for a chosen one), drawn over the image; no note sends the user to whole images. */
static void
test_predict_explain_faces (void)
{
  MienPredictPage *predict_page = MIEN_PREDICT_PAGE (page ("predict"));
  g_autofree char *shared = mien_test_shared_dir ();
  g_autofree char *photo = NULL;
  g_autofree char *resnet = NULL;
  const char *models[2] = { NULL, NULL };
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(GdkPixbuf) frame = NULL;
  g_autoptr(GArray) boxes = g_array_new (FALSE, FALSE, sizeof (MienFace));
  guint n_classes = 0, explained = 0, n_faces;
  MienTensor *map;

  if (shared == NULL)
    return;
  photo = g_build_filename (shared, "photos", "two-laughing.jpg", NULL);
  file = g_file_new_for_path (photo);
  resnet = random_model_file ("explain-faces-resnet.safetensors", "resnet:18", 96);
  models[0] = resnet;
  ensemble = mien_ensemble_load (mien_studio_get_engine (fixture.studio), models,
                                 mien_device_cpu (), &error);
  g_assert_no_error (error);
  frame = mien_image_load (photo, &error);
  g_assert_no_error (error);

  mien_window_show_page (fixture.window, "predict");
  mien_predict_page_set_models (predict_page, models);
  mien_predict_page_set_find_faces (predict_page, TRUE);
  mien_predict_page_set_explain_class (predict_page, -1);
  mien_predict_page_set_explain_opacity (predict_page, 0.5);
  mien_predict_page_open_file (predict_page, file);
  mien_predict_page_set_explain (predict_page, TRUE);
  WAIT_FOR (mien_predict_page_get_n_faces (predict_page) >= 0, 120, "the faces");
  n_faces = (guint) mien_predict_page_get_n_faces (predict_page);
  g_assert_cmpuint (n_faces, >=, 1);
  WAIT_FOR (mien_predict_page_get_explain_overlay (predict_page, NULL) != NULL, 120,
            "the faces' explanation");
  g_assert_null (mien_predict_page_get_explain_message (predict_page));
  g_assert_false (same_rgb (mien_predict_page_get_explain_overlay (predict_page, NULL), frame));
  g_assert_null (mien_predict_page_get_explain_face_map (predict_page, n_faces, NULL));
  for (guint f = 0; f < n_faces; f++)
    {
      MienFace box;
      const float *average = NULL;
      g_autoptr(MienTensor) expected = NULL;

      g_assert_true (mien_predict_page_get_face_probabilities (predict_page, f, &box, NULL,
                                                               &n_classes, NULL, &average));
      g_array_append_val (boxes, box);
      map = mien_predict_page_get_explain_face_map (predict_page, f, &explained);
      g_assert_nonnull (map);
      g_assert_cmpuint (explained, ==, mien_probabilities_argmax (average, n_classes));
      expected = expected_face_map (ensemble, frame, &box, explained);
      assert_same_map (map, expected);
    }

  /* A chosen class: each face's map of that class. */
  mien_predict_page_set_explain_class (predict_page, (int) (explained + 1) % n_classes);
  WAIT_FOR ((map = mien_predict_page_get_explain_face_map (predict_page, 0, &explained)) != NULL,
            120, "the faces' explanation of another class");
  {
    MienFace box;
    g_autoptr(MienTensor) expected = NULL;

    g_assert_true (mien_predict_page_get_face_probabilities (predict_page, 0, &box, NULL, NULL,
                                                             NULL, NULL));
    expected = expected_face_map (ensemble, frame, &box, explained);
    assert_same_map (map, expected);
  }
  /* Each map lies over its face's crop, and nowhere else. */
  assert_maps_over_crops (ensemble, mien_predict_page_get_explain_overlay (predict_page, NULL),
                          frame, boxes);
  mien_predict_page_set_explain (predict_page, FALSE);
  mien_predict_page_set_explain_class (predict_page, -1);
  mien_predict_page_set_find_faces (predict_page, FALSE);
}

/* ---- Live: frames, predictions and a main loop that never stalls ------------------------ */

typedef struct {
  gint64 last;
  gint64 max_gap;
} StallProbe;

static gboolean
stall_tick (gpointer data)
{
  StallProbe *probe = data;
  gint64 now = g_get_monotonic_time ();

  if (probe->last != 0)
    probe->max_gap = MAX (probe->max_gap, now - probe->last);
  probe->last = now;
  return G_SOURCE_CONTINUE;
}

/* Streams `source` with `region` until 30 frames are shown and `n_predictions` predictions
 * made, measuring the main loop's longest stall meanwhile. */
static void
run_live (const char *source,
          const char *region,
          guint       n_predictions,
          const char *screenshot_name)
{
  MienLivePage *live_page = MIEN_LIVE_PAGE (page ("live"));
  const char *models[2] = { fixture.best_model, NULL };
  StallProbe probe = { 0, 0 };
  guint probe_id;

  g_assert_nonnull (fixture.best_model);
  g_settings_set_string (mien_studio_get_settings (fixture.studio), "live-region", region);
  mien_window_show_page (fixture.window, "live");
  mien_live_page_set_source (live_page, source);
  mien_live_page_set_models (live_page, models);
  WAIT_FOR (mien_live_page_get_ready (live_page), 120, "the live models");

  probe_id = g_timeout_add (5, stall_tick, &probe);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (live_page), "live.start", NULL));
  WAIT_FOR (mien_live_page_get_n_frames_shown (live_page) >= 30
            && mien_live_page_get_n_predictions (live_page) >= n_predictions, 180,
            "frames with predictions");
  g_source_remove (probe_id);
  g_test_message ("live (%s, %s): %" G_GUINT64_FORMAT " frames shown, %" G_GUINT64_FORMAT
                  " predictions, %u faces, longest main-loop stall %.1f ms", source, region,
                  mien_live_page_get_n_frames_shown (live_page),
                  mien_live_page_get_n_predictions (live_page),
                  mien_live_page_get_n_faces (live_page), probe.max_gap / 1000.0);
  g_assert_cmpint (probe.max_gap, <, 100 * 1000);
  g_assert_true (mien_live_page_get_running (live_page));
  if (screenshot_name != NULL)
    screenshot (screenshot_name);
}

static void
stop_live (void)
{
  MienLivePage *live_page = MIEN_LIVE_PAGE (page ("live"));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (live_page), "live.stop", NULL));
  WAIT_FOR (!mien_live_page_get_running (live_page), 30, "the camera to stop");
}

static void
test_live (void)
{
  /* The test pattern, its centre square classified: 30 predictions. */
  run_live ("test", "centre", 30, "live");
  stop_live ();
}

static void
test_live_faces (void)
{
  g_autofree char *source = g_strconcat ("file:", MESSI_PHOTO, NULL);

  if (!g_file_test (MESSI_PHOTO, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no " MESSI_PHOTO " (Debian's opencv-doc)");
      return;
    }
  /* The photo as a still stream: its one face found, tracked and classified frame after
   * frame, the faces shown by the page being the detector's. */
  run_live (source, "faces", 10, NULL);
  g_assert_cmpuint (mien_live_page_get_n_faces (MIEN_LIVE_PAGE (page ("live"))), ==, 1);
  stop_live ();
}

/* ---- Capture: a dataset recorded from a looped video ------------------------------------- */

/* The images in DATASET/CLASS on disk (0 when the folder does not exist). */
static guint
count_files (const char *dataset,
             const char *class_name)
{
  g_autofree char *folder = g_build_filename (dataset, class_name, NULL);
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;
  guint n = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    n += g_str_has_suffix (name, ".png");
  return n;
}

/* `photo` in the middle of a grey 640 × 480 frame (a video's frames are all of one size). */
static GdkPixbuf *
video_frame (const char *photo)
{
  GdkPixbuf *frame = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 640, 480);
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autoptr(GError) error = NULL;
  int width, height;

  gdk_pixbuf_fill (frame, 0x808080ff);
  if (photo == NULL)
    return frame;
  pixbuf = gdk_pixbuf_new_from_file (photo, &error);
  g_assert_no_error (error);
  width = gdk_pixbuf_get_width (pixbuf);
  height = gdk_pixbuf_get_height (pixbuf);
  g_assert_true (width <= 640 && height <= 480);
  gdk_pixbuf_copy_area (pixbuf, 0, 0, width, height, frame, (640 - width) / 2,
                        (480 - height) / 2);
  return frame;
}

/* The first controller of `widget` of type `type` (and named `name`, when not NULL). */
static GtkEventController *
find_controller (GtkWidget  *widget,
                 GType       type,
                 const char *name)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (controller, type) &&
          (name == NULL || g_strcmp0 (gtk_event_controller_get_name (controller), name) == 0))
        return controller;  /* the widget keeps it */
    }
  return NULL;
}

/* The widget under `widget` whose object data `key` is the string `value`. */
static GtkWidget *
find_widget_with_data (GtkWidget  *widget,
                       const char *key,
                       const char *value)
{
  if (g_strcmp0 (g_object_get_data (G_OBJECT (widget), key), value) == 0)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget_with_data (child, key, value);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Holds class `index` (as a person would: its number key, with the key's repeats, or its record
 * button) until the page counts `n_more` more crops for it, then releases it and lets the last
 * frame's result come in (a crop is on disk before the page hears of it). */
static void
hold_class (const char *dataset,
            guint       index,
            const char *class_name,
            gboolean    with_key,
            guint       n_more)
{
  MienCapturePage *capture_page = MIEN_CAPTURE_PAGE (page ("capture"));
  guint target = mien_capture_page_get_count (capture_page, class_name) + n_more;
  GtkEventController *controller;
  GtkWidget *button;
  gboolean handled = FALSE;

  if (with_key)
    {
      controller = find_controller (GTK_WIDGET (fixture.window), GTK_TYPE_EVENT_CONTROLLER_KEY,
                                    "mien-capture-keys");
      g_assert_nonnull (controller);
      for (guint repeat = 0; repeat < 2; repeat++)
        {
          g_signal_emit_by_name (controller, "key-pressed", GDK_KEY_1 + index, 0, 0, &handled);
          g_assert_true (handled);
        }
    }
  else
    {
      button = find_widget_with_data (GTK_WIDGET (capture_page), "mien-class", class_name);
      g_assert_true (GTK_IS_BUTTON (button));
      controller = find_controller (button, GTK_TYPE_GESTURE_CLICK, NULL);
      g_assert_nonnull (controller);
      g_signal_emit_by_name (controller, "pressed", 1, 10.0, 10.0);
    }
  WAIT_FOR (mien_capture_page_get_count (capture_page, class_name) >= target, 120,
            "crops of the class held");
  if (with_key)
    g_signal_emit_by_name (controller, "key-released", GDK_KEY_1 + index, 0, 0);
  else
    g_signal_emit_by_name (controller, "released", 1, 10.0, 10.0);
  spin (500);
  WAIT_FOR (mien_capture_page_get_count (capture_page, class_name)
            == count_files (dataset, class_name), 30, "the last crop's result");
}

/* A new dataset recorded from a looped video of the two photos and faceless grey frames: while
 * a class's key (the first) or record button (the second) is held its crops land in its folder, and only there; the counts shown are the
 * files; the grey frames are skipped as faceless; a thumbnail's delete removes its file; and
 * "Train on This Dataset" opens it on the Train page. */
static void
test_capture (void)
{
  MienCapturePage *capture_page = MIEN_CAPTURE_PAGE (page ("capture"));
  g_autofree char *shared = mien_test_shared_dir ();
  g_autofree char *video = g_build_filename (fixture.scratch, "capture.avi", NULL);
  g_autofree char *source = g_strconcat ("file:", video, NULL);
  g_autofree char *dataset = g_build_filename (fixture.scratch, "xdg-data", "mien", "datasets",
                                               "booth", NULL);
  g_autofree char *smiling = NULL;
  g_autofree char *laughing = NULL;
  g_autofree char *yunet = NULL;
  g_autofree char *newest = NULL;
  g_autofree char *newest_dir = NULL;
  g_autofree char *newest_class = NULL;
  g_autoptr(GdkPixbuf) face_one = NULL;
  g_autoptr(GdkPixbuf) face_two = NULL;
  g_autoptr(GdkPixbuf) grey = NULL;
  g_autoptr(GError) error = NULL;
  GdkPixbuf *frames[16];
  const char * const *classes;
  guint n_anger, n_disgust, n_thumbnails;
  int width = 0, height = 0;

  if (shared == NULL)
    return;
  smiling = g_build_filename (shared, "photos", "one-smiling.jpg", NULL);
  laughing = g_build_filename (shared, "photos", "two-laughing.jpg", NULL);
  yunet = g_build_filename (shared, "models", "face_detection_yunet_2022mar.onnx", NULL);
  /* Half a second of each photo, each followed by half a second without a face. */
  face_one = video_frame (smiling);
  face_two = video_frame (laughing);
  grey = video_frame (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (frames); i++)
    frames[i] = (i / 4) % 2 == 1 ? grey : i < 4 ? face_one : face_two;
  if (!mien_test_write_video_or_skip (video, frames, G_N_ELEMENTS (frames), 8))
    return;
  g_settings_set_string (mien_studio_get_settings (fixture.studio), "face-model",
                         g_file_test (yunet, G_FILE_TEST_IS_REGULAR) ? yunet : "");

  mien_window_show_page (fixture.window, "capture");
  /* A name that is no folder name, then the new dataset, which cannot be made twice. */
  g_assert_false (mien_capture_page_new_dataset (capture_page, "../booth", &error));
  g_assert_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_DATASET);
  g_clear_error (&error);
  g_assert_true (mien_capture_page_new_dataset (capture_page, "booth", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (mien_capture_page_get_dataset_dir (capture_page), ==, dataset);
  g_assert_false (mien_capture_page_new_dataset (capture_page, "booth", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  classes = mien_demo_data_get_classes ();
  for (guint c = 0; classes[c] != NULL; c++)
    g_assert_cmpuint (mien_capture_page_get_count (capture_page, classes[c]), ==, 0);

  mien_capture_page_set_source (capture_page, source);
  /* Start is enabled once the cameras are probed. */
  WAIT_FOR ((gtk_widget_activate_action (GTK_WIDGET (capture_page), "capture.start", NULL),
             mien_capture_page_get_running (capture_page)), 60, "the source to start");
  WAIT_FOR (mien_capture_page_get_ready (capture_page), 60, "the face detector");

  hold_class (dataset, 0, classes[0], TRUE, 2);
  n_anger = mien_capture_page_get_count (capture_page, classes[0]);
  g_assert_cmpuint (count_files (dataset, classes[0]), ==, n_anger);
  g_assert_cmpuint (count_files (dataset, classes[1]), ==, 0);
  hold_class (dataset, 1, classes[1], FALSE, 2);
  n_disgust = mien_capture_page_get_count (capture_page, classes[1]);
  g_test_message ("capture: %u + %u crops kept, %" G_GUINT64_FORMAT " faceless frames, %"
                  G_GUINT64_FORMAT " near-duplicates", n_anger, n_disgust,
                  mien_capture_page_get_n_outcome (capture_page, MIEN_CAPTURE_NO_FACE),
                  mien_capture_page_get_n_outcome (capture_page, MIEN_CAPTURE_DUPLICATE));

  /* Each class's crops in its own folder only, as many as the page shows. */
  g_assert_cmpuint (mien_capture_page_get_count (capture_page, classes[0]), ==, n_anger);
  g_assert_cmpuint (count_files (dataset, classes[0]), ==, n_anger);
  g_assert_cmpuint (count_files (dataset, classes[1]), ==, n_disgust);
  for (guint c = 2; classes[c] != NULL; c++)
    {
      g_assert_cmpuint (mien_capture_page_get_count (capture_page, classes[c]), ==, 0);
      g_assert_cmpuint (count_files (dataset, classes[c]), ==, 0);
    }
  g_assert_cmpuint (mien_capture_page_get_n_outcome (capture_page, MIEN_CAPTURE_KEPT), ==,
                    n_anger + n_disgust);
  g_assert_cmpuint (mien_capture_page_get_n_outcome (capture_page, MIEN_CAPTURE_NO_FACE), >, 0);
  n_thumbnails = mien_capture_page_get_n_thumbnails (capture_page);
  g_assert_cmpuint (n_thumbnails, ==, n_anger + n_disgust);

  /* The newest thumbnail is the last crop of the second class: a face crop of the size asked. */
  newest = g_strdup (mien_capture_page_get_thumbnail_path (capture_page, 0));
  g_assert_nonnull (newest);
  newest_dir = g_path_get_dirname (newest);
  newest_class = g_path_get_basename (newest_dir);
  g_assert_cmpstr (newest_class, ==, classes[1]);
  g_assert_nonnull (gdk_pixbuf_get_file_info (newest, &width, &height));
  g_assert_cmpint (width, ==, 224);
  g_assert_cmpint (height, ==, 224);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (capture_page), "capture.delete-crop",
                                             "s", newest));
  g_assert_false (g_file_test (newest, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (mien_capture_page_get_count (capture_page, classes[1]), ==, n_disgust - 1);
  g_assert_cmpuint (count_files (dataset, classes[1]), ==, n_disgust - 1);
  g_assert_cmpuint (mien_capture_page_get_n_thumbnails (capture_page), ==, n_thumbnails - 1);
  g_assert_cmpstr (mien_capture_page_get_thumbnail_path (capture_page, 0), !=, newest);

  /* A class without images can be removed; one with images cannot (they would be lost). */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (capture_page), "capture.remove-class",
                                             "s", classes[2]));
  g_assert_cmpuint (mien_capture_page_get_count (capture_page, classes[2]), ==, G_MAXUINT);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (capture_page), "capture.remove-class",
                                             "s", classes[0]));
  g_assert_cmpuint (mien_capture_page_get_count (capture_page, classes[0]), ==, n_anger);

  /* The Train page on the new dataset; leaving the page stopped the source. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (capture_page), "capture.train", NULL));
  WAIT_FOR (mien_studio_get_dataset (fixture.studio) != NULL
            && g_strcmp0 (mien_dataset_get_source (mien_studio_get_dataset (fixture.studio)),
                          dataset) == 0, 60, "the captured dataset to open");
  g_assert_true (gtk_widget_get_mapped (page ("train")));
  g_assert_cmpstr (mien_studio_get_dataset_path (fixture.studio), ==, dataset);
  g_assert_cmpuint (mien_dataset_get_n_classes (mien_studio_get_dataset (fixture.studio)), ==, 2);
  g_assert_false (mien_capture_page_get_running (capture_page));
}

static void
on_studio_message (MienStudio  *studio,
                   const char  *message,
                   char       **last)
{
  g_free (*last);
  *last = g_strdup (message);
}

/* A source that fails while recording (a camera unplugged; here a "video" that does not decode)
 * stops the page with a message naming it, and leaves every crop as it was. */
static void
test_capture_broken_source (void)
{
  MienCapturePage *capture_page = MIEN_CAPTURE_PAGE (page ("capture"));
  g_autofree char *broken = g_build_filename (fixture.scratch, "broken.avi", NULL);
  g_autofree char *source = g_strconcat ("file:", broken, NULL);
  g_autofree char *message = NULL;
  const char *dataset = mien_capture_page_get_dataset_dir (capture_page);
  const char * const *classes = mien_demo_data_get_classes ();
  guint n_files[2];
  gulong handler;

  if (dataset == NULL)
    {
      g_test_skip ("no dataset recorded by /gui/capture");
      return;
    }
  for (guint c = 0; c < 2; c++)
    n_files[c] = count_files (dataset, classes[c]);
  mien_test_write_file (broken, "RIFF, but not a video", 21);
  handler = g_signal_connect (fixture.studio, "message", G_CALLBACK (on_studio_message),
                              &message);
  mien_window_show_page (fixture.window, "capture");
  mien_capture_page_set_source (capture_page, source);
  WAIT_FOR ((gtk_widget_activate_action (GTK_WIDGET (capture_page), "capture.start", NULL),
             mien_capture_page_get_running (capture_page) || message != NULL), 60,
            "the source to start");
  WAIT_FOR (message != NULL && !mien_capture_page_get_running (capture_page), 60,
            "the source's error");
  g_signal_handler_disconnect (fixture.studio, handler);
  g_test_message ("%s", message);
  g_assert_nonnull (strstr (message, broken));
  for (guint c = 0; c < 2; c++)
    g_assert_cmpuint (count_files (dataset, classes[c]), ==, n_files[c]);
}

/* An existing dataset: its class folders become the classes, each counting the images it holds;
 * one with splits (the demo set) is recorded into its train/ folder. */
static void
test_capture_open_dataset (void)
{
  MienCapturePage *capture_page = MIEN_CAPTURE_PAGE (page ("capture"));
  g_autofree char *dataset = g_strdup (mien_capture_page_get_dataset_dir (capture_page));
  g_autofree char *demo = g_build_filename (fixture.scratch, "xdg-data", "mien", "datasets",
                                            "demo", NULL);
  g_autofree char *demo_train = g_build_filename (demo, "train", NULL);
  const char * const *classes = mien_demo_data_get_classes ();

  if (dataset == NULL)
    {
      g_test_skip ("no dataset recorded by /gui/capture");
      return;
    }
  mien_capture_page_open_dataset (capture_page, demo);
  WAIT_FOR (mien_capture_page_get_count (capture_page, classes[2]) != G_MAXUINT, 60,
            "the demo dataset's classes");
  g_assert_cmpstr (mien_capture_page_get_dataset_dir (capture_page), ==, demo);
  for (guint c = 0; classes[c] != NULL; c++)
    {
      g_assert_cmpuint (mien_capture_page_get_count (capture_page, classes[c]), >, 0);
      g_assert_cmpuint (mien_capture_page_get_count (capture_page, classes[c]), ==,
                        count_files (demo_train, classes[c]));
    }

  /* The recorded dataset: only the two classes that have folders. */
  mien_capture_page_open_dataset (capture_page, dataset);
  WAIT_FOR (mien_capture_page_get_count (capture_page, classes[2]) == G_MAXUINT, 60,
            "the recorded dataset's classes");
  g_assert_cmpstr (mien_capture_page_get_dataset_dir (capture_page), ==, dataset);
  for (guint c = 0; c < 2; c++)
    g_assert_cmpuint (mien_capture_page_get_count (capture_page, classes[c]), ==,
                      count_files (dataset, classes[c]));
  for (guint c = 2; classes[c] != NULL; c++)
    g_assert_cmpuint (mien_capture_page_get_count (capture_page, classes[c]), ==, G_MAXUINT);
}

/* ---- Kiosk mode ---------------------------------------------------------------------------- */

static const char * const kiosk_classes[] = {
  "anger", "disgust", "fear", "happiness", "sadness", "surprise", NULL
};

/* A randomly initialised ResNet-18 at 32 px: what it predicts means nothing, that it predicts
 * (and how that is drawn and logged) is what the kiosk cases check. */
static const char *
kiosk_model (void)
{
  static char *path = NULL;

  if (path == NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MienModel) model = mien_test_random_model ("resnet:18", 32, kiosk_classes, FALSE);

      path = g_build_filename (fixture.scratch, "kiosk-model.safetensors", NULL);
      g_assert_true (mien_model_save (model, path, NULL, NULL, &error));
      g_assert_no_error (error);
    }
  return path;
}

static MienKioskWindow *
open_kiosk (const char *source)
{
  const char *models[2] = { kiosk_model (), NULL };
  GtkWidget *kiosk;

  start_app ();
  kiosk = mien_kiosk_window_new (GTK_APPLICATION (fixture.app), fixture.studio, models, source);
  gtk_window_present (GTK_WINDOW (kiosk));
  return MIEN_KIOSK_WINDOW (kiosk);
}

/* Anything a visitor could press, type into or slide. */
static guint
count_controls (GtkWidget *widget)
{
  guint n = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      /* A scrolled window's scrollbar is a range, but nothing a visitor operates. */
      gboolean range = GTK_IS_RANGE (child) && gtk_widget_get_ancestor (child,
                                                                        GTK_TYPE_SCROLLBAR) == NULL;

      if (GTK_IS_BUTTON (child) || GTK_IS_CHECK_BUTTON (child) || GTK_IS_SWITCH (child) ||
          GTK_IS_EDITABLE (child) || range || GTK_IS_DROP_DOWN (child) ||
          GTK_IS_MENU_BUTTON (child))
        {
          g_test_message ("a control in the kiosk: %s", G_OBJECT_TYPE_NAME (child));
          n++;
        }
      n += count_controls (child);
    }
  return n;
}

static gboolean
label_is (GtkWidget     *label,
          gconstpointer  text)
{
  return g_str_equal (gtk_label_get_text (GTK_LABEL (label)), text);
}

static gboolean
kiosk_is_streaming (MienKioskWindow *kiosk)
{
  MienKioskState state = mien_kiosk_window_get_state (kiosk);

  return state == MIEN_KIOSK_STATE_LIVE || state == MIEN_KIOSK_STATE_ATTRACT;
}

/* Pixels of `a` and `b` (RGB or RGBA, the same size) whose colours differ by more than a JPEG
 * decoder's rounding. */
static guint
count_different_pixels (GdkPixbuf *a,
                        GdkPixbuf *b)
{
  guint n = 0;

  for (int y = 0; y < gdk_pixbuf_get_height (a); y++)
    for (int x = 0; x < gdk_pixbuf_get_width (a); x++)
      {
        const guint8 *pa = gdk_pixbuf_get_pixels (a) + y * gdk_pixbuf_get_rowstride (a) +
                           x * gdk_pixbuf_get_n_channels (a);
        const guint8 *pb = gdk_pixbuf_get_pixels (b) + y * gdk_pixbuf_get_rowstride (b) +
                           x * gdk_pixbuf_get_n_channels (b);

        if (ABS (pa[0] - pb[0]) + ABS (pa[1] - pb[1]) + ABS (pa[2] - pb[2]) > 48)
          n++;
      }
  return n;
}

static void
test_kiosk_faces (void)
{
  g_autofree char *shared = mien_test_shared_dir ();
  g_autofree char *photo = NULL;
  g_autofree char *source = NULL;
  g_autofree char *folder = g_build_filename (fixture.scratch, "kiosk", NULL);
  g_autofree char *snapshot_path = g_build_filename (folder, "snapshot.png", NULL);
  g_autofree char *saved = NULL;
  g_autofree char *csv = NULL;
  g_autoptr(GString) header = g_string_new ("path,frame,timestamp,faces,face,track,x,y,width,"
                                            "height,score,class");
  g_autoptr(GdkPixbuf) bare = NULL;
  g_autoptr(GdkPixbuf) annotated = NULL;
  g_autoptr(GdkPixbuf) flipped = NULL;
  g_autoptr(GdkMonitor) monitor = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  GdkRectangle geometry;
  GSettings *settings;
  MienKioskWindow *kiosk;
  guint n_rows = 0, n_different;
  guint64 shown;
  gint64 last_frame = -1;

  if (shared == NULL)
    return;
  photo = g_build_filename (shared, "photos", "one-smiling.jpg", NULL);
  source = g_strconcat ("file:", photo, NULL);
  start_app ();
  settings = mien_studio_get_settings (fixture.studio);
  /* Not mirrored, so that the snapshot can be compared with the photo as it is. */
  g_settings_set_boolean (settings, "kiosk-mirror", FALSE);
  g_settings_set_boolean (settings, "kiosk-log", TRUE);
  g_settings_set_string (settings, "snapshots-folder", folder);

  kiosk = open_kiosk (source);
  WAIT_FOR (mien_kiosk_window_get_state (kiosk) == MIEN_KIOSK_STATE_LIVE &&
            mien_kiosk_window_get_n_faces (kiosk) == 1 &&
            mien_kiosk_window_get_n_predictions (kiosk) >= 5, 180, "the kiosk's predictions");
  /* Full screen (the whole monitor, even without a window manager), and nothing to press. */
  g_assert_true (gtk_window_is_fullscreen (GTK_WINDOW (kiosk)));
  monitor = g_list_model_get_item (gdk_display_get_monitors (gdk_display_get_default ()), 0);
  gdk_monitor_get_geometry (monitor, &geometry);
  /* (Less the resize borders GTK keeps when no window manager made it full screen.) */
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (kiosk)), >=, geometry.width - 20);
  g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (kiosk)), >=, geometry.height - 20);
  g_assert_cmpuint (count_controls (GTK_WIDGET (kiosk)), ==, 0);

  /* The emoji setting takes effect at once (kiosk_classes[3] is happiness). */
  g_settings_set_boolean (settings, "kiosk-emoji", TRUE);
  g_assert_cmpstr (mien_live_overlay_get_label (mien_kiosk_window_get_overlay (kiosk), 3), ==,
                   "Happiness 😄");
  g_settings_set_boolean (settings, "kiosk-emoji", FALSE);
  g_assert_cmpstr (mien_live_overlay_get_label (mien_kiosk_window_get_overlay (kiosk), 3), ==,
                   "Happiness");
  g_settings_set_boolean (settings, "kiosk-emoji", TRUE);
  spin (300);  /* the overlay drawn with the latest prediction */

  /* The snapshot: the frame's size, the photo where nothing is drawn, the overlay where the
   * face's box, its label and the probabilities' panel are. */
  saved = mien_kiosk_window_save_snapshot (kiosk, snapshot_path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (saved, ==, snapshot_path);
  annotated = gdk_pixbuf_new_from_file (snapshot_path, &error);
  g_assert_no_error (error);
  bare = gdk_pixbuf_new_from_file (photo, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (annotated), ==, gdk_pixbuf_get_width (bare));
  g_assert_cmpint (gdk_pixbuf_get_height (annotated), ==, gdk_pixbuf_get_height (bare));
  n_different = count_different_pixels (annotated, bare);
  g_test_message ("kiosk snapshot: %u of %d pixels differ from the photo", n_different,
                  gdk_pixbuf_get_width (bare) * gdk_pixbuf_get_height (bare));
  g_assert_cmpuint (n_different, >, gdk_pixbuf_get_width (bare) * gdk_pixbuf_get_height (bare) / 100);
  g_assert_cmpuint (n_different, <, gdk_pixbuf_get_width (bare) * gdk_pixbuf_get_height (bare) / 2);

  /* Mirrored from the next frames on: the snapshot is the photo flipped. */
  g_settings_set_boolean (settings, "kiosk-mirror", TRUE);
  shown = mien_kiosk_window_get_n_frames_shown (kiosk);
  WAIT_FOR (mien_kiosk_window_get_n_frames_shown (kiosk) >= shown + 5, 30, "mirrored frames");
  g_free (mien_kiosk_window_save_snapshot (kiosk, snapshot_path, &error));
  g_assert_no_error (error);
  g_clear_object (&annotated);
  annotated = gdk_pixbuf_new_from_file (snapshot_path, &error);
  g_assert_no_error (error);
  flipped = gdk_pixbuf_flip (bare, TRUE);
  g_assert_cmpuint (count_different_pixels (annotated, flipped), <,
                    count_different_pixels (annotated, bare) / 2);

  /* The log: predict --faces's header, and a row per face (one here) per classified frame. */
  g_assert_true (mien_kiosk_window_save_log (kiosk, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (mien_kiosk_window_get_log_path (kiosk), folder));
  g_assert_true (g_file_get_contents (mien_kiosk_window_get_log_path (kiosk), &csv, NULL, &error));
  g_assert_no_error (error);
  for (guint c = 0; kiosk_classes[c] != NULL; c++)
    g_string_append_printf (header, ",p_%s", kiosk_classes[c]);
  lines = g_strsplit (csv, "\n", -1);
  g_assert_cmpstr (lines[0], ==, header->str);
  for (guint i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[i], ",", -1);
      gint64 frame;

      g_assert_cmpuint (g_strv_length (fields), ==, 12 + 6);
      g_assert_cmpstr (fields[0], ==, source);
      frame = g_ascii_strtoll (fields[1], NULL, 10);
      g_assert_cmpint (frame, >, last_frame);  /* one row per frame: one face in each */
      last_frame = frame;
      g_assert_cmpstr (fields[3], ==, "1");
      g_assert_cmpstr (fields[4], ==, "0");
      g_assert_true (g_strv_contains (kiosk_classes, fields[11]));
      n_rows++;
    }
  g_assert_cmpuint (n_rows, >=, 5);
  g_assert_cmpuint (n_rows, ==, mien_prediction_log_get_n_rows (mien_kiosk_window_get_log (kiosk)));

  gtk_window_destroy (GTK_WINDOW (kiosk));
  g_settings_reset (settings, "kiosk-mirror");
  g_settings_reset (settings, "kiosk-log");
}

/* The kiosk's "Leave Kiosk Mode?" dialog, when it shows one. */
static AdwMessageDialog *
find_leave_dialog (MienKioskWindow *kiosk)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) &&
          gtk_window_get_transient_for (window) == GTK_WINDOW (kiosk))
        return ADW_MESSAGE_DIALOG (window);
    }
  return NULL;
}

/* Asks `kiosk` to close and answers its confirmation with `response`. */
static void
answer_leave_dialog (MienKioskWindow *kiosk,
                     const char      *response)
{
  AdwMessageDialog *dialog;

  gtk_window_close (GTK_WINDOW (kiosk));
  dialog = find_leave_dialog (kiosk);
  g_assert_nonnull (dialog);
  g_assert_true (adw_message_dialog_has_response (dialog, response));
  /* Held: the dialog may close itself on a response. */
  g_object_ref (dialog);
  adw_message_dialog_response (dialog, response);
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_object_unref (dialog);
}

/* A key pressed (or released) as the kiosk's key controller gets it. */
static void
kiosk_key (MienKioskWindow *kiosk,
           const char      *signal,
           guint            keyval,
           GdkModifierType  state)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (kiosk));
  gboolean found = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);
      gboolean handled = FALSE;

      if (!GTK_IS_EVENT_CONTROLLER_KEY (controller))
        continue;
      found = TRUE;
      if (g_str_equal (signal, "key-pressed"))
        g_signal_emit_by_name (controller, signal, keyval, 0, state, &handled);
      else
        g_signal_emit_by_name (controller, signal, keyval, 0, state);
    }
  g_assert_true (found);
}

/* Escape tapped does nothing; held for two seconds it asks to leave, as Ctrl+Alt+Q does. S
 * saves a snapshot into the snapshots folder. */
static void
test_kiosk_keys (void)
{
  g_autofree char *folder = g_build_filename (fixture.scratch, "key-snapshots", NULL);
  g_autoptr(GDir) dir = NULL;
  GSettings *settings;
  MienKioskWindow *kiosk;
  AdwMessageDialog *dialog;

  start_app ();
  settings = mien_studio_get_settings (fixture.studio);
  g_settings_set_string (settings, "snapshots-folder", folder);
  kiosk = open_kiosk ("test");
  WAIT_FOR (kiosk_is_streaming (kiosk), 120, "the kiosk's frames");

  kiosk_key (kiosk, "key-pressed", GDK_KEY_Escape, 0);
  spin (500);
  kiosk_key (kiosk, "key-released", GDK_KEY_Escape, 0);
  spin (2000);
  g_assert_null (find_leave_dialog (kiosk));

  kiosk_key (kiosk, "key-pressed", GDK_KEY_Escape, 0);
  WAIT_FOR (find_leave_dialog (kiosk) != NULL, 10, "the dialog of Escape held");
  kiosk_key (kiosk, "key-released", GDK_KEY_Escape, 0);
  dialog = g_object_ref (find_leave_dialog (kiosk));
  adw_message_dialog_response (dialog, "stay");
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_object_unref (dialog);

  kiosk_key (kiosk, "key-pressed", GDK_KEY_q, GDK_CONTROL_MASK | GDK_ALT_MASK);
  dialog = g_object_ref (find_leave_dialog (kiosk));
  g_assert_nonnull (dialog);
  adw_message_dialog_response (dialog, "stay");
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_object_unref (dialog);

  kiosk_key (kiosk, "key-pressed", GDK_KEY_s, 0);
  dir = g_dir_open (folder, 0, NULL);
  g_assert_nonnull (dir);
  g_assert_true (g_str_has_suffix (g_dir_read_name (dir), ".png"));
  g_assert_null (g_dir_read_name (dir));

  gtk_window_destroy (GTK_WINDOW (kiosk));
}

static void
test_kiosk_attract (void)
{
  g_autofree char *grey_path = g_build_filename (fixture.scratch, "kiosk-grey.png", NULL);
  g_autofree char *source = g_strconcat ("file:", grey_path, NULL);
  g_autoptr(GdkPixbuf) grey = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 320, 240);
  g_autoptr(GError) error = NULL;
  GSettings *settings;
  MienKioskWindow *kiosk;
  GtkWidget *attract;

  gdk_pixbuf_fill (grey, 0x808080ff);
  g_assert_true (gdk_pixbuf_save (grey, grey_path, "png", &error, NULL));
  g_assert_no_error (error);
  start_app ();
  settings = mien_studio_get_settings (fixture.studio);
  g_settings_set_int (settings, "kiosk-attract-delay", 1);

  /* Nobody in a grey frame: the attract screen, over frames that keep coming. */
  kiosk = open_kiosk (source);
  WAIT_FOR (mien_kiosk_window_get_state (kiosk) == MIEN_KIOSK_STATE_ATTRACT, 120,
            "the attract screen");
  attract = find_descendant (GTK_WIDGET (kiosk), GTK_TYPE_LABEL, label_is,
                             "Step in front of the camera");
  g_assert_nonnull (attract);
  WAIT_FOR (gtk_widget_get_mapped (attract), 10, "the attract screen to be shown");
  g_assert_cmpuint (mien_kiosk_window_get_n_faces (kiosk), ==, 0);
  g_assert_cmpuint (mien_kiosk_window_get_n_frames_shown (kiosk), >, 0);

  /* Closing it any other way (Alt+F4, the window manager) asks first: "Stay" keeps it,
   * "Leave" closes it. */
  g_object_add_weak_pointer (G_OBJECT (kiosk), (gpointer *) &kiosk);
  answer_leave_dialog (kiosk, "stay");
  spin (200);
  g_assert_nonnull (kiosk);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (kiosk)));
  answer_leave_dialog (kiosk, "leave");
  WAIT_FOR (kiosk == NULL, 10, "the kiosk to close");
  g_settings_reset (settings, "kiosk-attract-delay");
}

/* The source goes away while streaming and comes back: a looped video file is emptied in place
 * (the running pipeline reads nothing more from the file it has open) and deleted (every new try
 * to open it fails), then written again. */
static void
test_kiosk_recovery (void)
{
  g_autofree char *video = g_build_filename (fixture.scratch, "kiosk-source.avi", NULL);
  g_autofree char *source = g_strconcat ("file:", video, NULL);
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func (g_object_unref);
  MienKioskWindow *kiosk;
  guint64 shown;
  guint retries;

  for (guint i = 0; i < 10; i++)
    {
      GdkPixbuf *frame = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 160, 120);

      gdk_pixbuf_fill (frame, 0x40404000u + (i * 16u << 8));
      g_ptr_array_add (frames, frame);
    }
  if (!mien_test_write_video_or_skip (video, (GdkPixbuf * const *) frames->pdata, frames->len, 10))
    return;

  kiosk = open_kiosk (source);
  WAIT_FOR (kiosk_is_streaming (kiosk) && mien_kiosk_window_get_n_frames_shown (kiosk) >= 15,
            120, "the kiosk's frames");

  g_assert_cmpint (truncate (video, 0), ==, 0);
  g_assert_cmpint (g_unlink (video), ==, 0);
  WAIT_FOR (mien_kiosk_window_get_state (kiosk) == MIEN_KIOSK_STATE_UNAVAILABLE, 30,
            "the camera-unavailable screen");
  g_assert_nonnull (find_descendant (GTK_WIDGET (kiosk), ADW_TYPE_STATUS_PAGE, NULL, NULL));
  /* Tries that fail while the file is missing leave it unavailable. */
  retries = mien_kiosk_window_get_n_retries (kiosk);
  WAIT_FOR (mien_kiosk_window_get_n_retries (kiosk) >= retries + 2, 30, "tries to reopen it");
  g_assert_cmpint (mien_kiosk_window_get_state (kiosk), ==, MIEN_KIOSK_STATE_UNAVAILABLE);

  /* Back: the next try resumes. */
  shown = mien_kiosk_window_get_n_frames_shown (kiosk);
  if (!mien_test_write_video_or_skip (video, (GdkPixbuf * const *) frames->pdata, frames->len, 10))
    return;
  WAIT_FOR (kiosk_is_streaming (kiosk) && mien_kiosk_window_get_n_frames_shown (kiosk) >= shown + 10,
            30, "the kiosk to resume");
  gtk_window_destroy (GTK_WINDOW (kiosk));
}

/* The Live page's toolbar: a snapshot of the frame with its overlay, and a log of every face's
 * predictions, both into the snapshots folder. */
static void
test_live_snapshot_log (void)
{
  g_autofree char *shared = mien_test_shared_dir ();
  g_autofree char *photo = NULL;
  g_autofree char *source = NULL;
  g_autofree char *folder = g_build_filename (fixture.scratch, "live-snapshots", NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;
  const char *models[2] = { NULL, NULL };
  const char *name;
  MienLivePage *live_page;
  GtkToggleButton *log_button;
  int width = 0, height = 0;

  if (shared == NULL)
    return;
  photo = g_build_filename (shared, "photos", "one-smiling.jpg", NULL);
  source = g_strconcat ("file:", photo, NULL);
  models[0] = kiosk_model ();
  start_app ();
  live_page = MIEN_LIVE_PAGE (page ("live"));
  g_settings_set_string (mien_studio_get_settings (fixture.studio), "snapshots-folder", folder);
  g_settings_set_string (mien_studio_get_settings (fixture.studio), "live-region", "faces");
  mien_window_show_page (fixture.window, "live");
  mien_live_page_set_source (live_page, source);
  mien_live_page_set_models (live_page, models);
  WAIT_FOR (mien_live_page_get_ready (live_page), 120, "the live models");
  log_button = GTK_TOGGLE_BUTTON (find_descendant (GTK_WIDGET (live_page), GTK_TYPE_TOGGLE_BUTTON,
                                                   NULL, NULL));
  g_assert_nonnull (log_button);
  gtk_toggle_button_set_active (log_button, TRUE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (live_page), "live.start", NULL));
  WAIT_FOR (mien_live_page_get_n_predictions (live_page) >= 5 &&
            mien_live_page_get_n_faces (live_page) == 1, 180, "the live predictions");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (live_page), "live.snapshot", NULL));
  gtk_toggle_button_set_active (log_button, FALSE);
  stop_live ();

  /* One snapshot of the frame's size, one log of predict --faces rows. */
  dir = g_dir_open (folder, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_assert_cmpuint (names->len, ==, 2);
  gdk_pixbuf_get_file_info (photo, &width, &height);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (folder, names->pdata[i], NULL);

      if (g_str_has_suffix (path, ".png"))
        {
          g_autoptr(GdkPixbuf) snapshot = gdk_pixbuf_new_from_file (path, &error);

          g_assert_no_error (error);
          g_assert_cmpint (gdk_pixbuf_get_width (snapshot), ==, width);
          g_assert_cmpint (gdk_pixbuf_get_height (snapshot), ==, height);
        }
      else
        {
          g_autofree char *csv = NULL;
          g_auto(GStrv) lines = NULL;

          g_assert_true (g_str_has_suffix (path, ".csv"));
          g_assert_true (g_file_get_contents (path, &csv, NULL, &error));
          lines = g_strsplit (csv, "\n", -1);
          g_assert_true (g_str_has_prefix (lines[0], "path,frame,timestamp,faces,face,track,x,y,"
                                                     "width,height,score,class,p_anger,"));
          g_assert_cmpuint (g_strv_length (lines), >=, 1 + 5 + 1);
          for (guint l = 1; lines[l][0] != '\0'; l++)
            g_assert_true (g_str_has_prefix (lines[l], source));
        }
    }
}

/* Explain on the Live page, on a looped video of one face: the face gets maps (of its box, as
 * the detector finds it), and turning Explain off removes them. */
static void
test_live_explain (void)
{
  g_autofree char *shared = mien_test_shared_dir ();
  g_autofree char *photo = NULL;
  g_autofree char *video = g_build_filename (fixture.scratch, "live-explain.avi", NULL);
  g_autofree char *source = g_strconcat ("file:", video, NULL);
  g_autofree char *model = NULL;
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(MienFaceDetector) detector = NULL;
  g_autoptr(GArray) faces = NULL;
  g_autoptr(GError) error = NULL;
  const char *models[2] = { NULL, NULL };
  const MienFrameExplanation *explanation;
  MienLivePage *live_page;
  guint64 n_explanations;
  float largest = 0.0f;
  double centre_x, centre_y, side, angle;

  if (shared == NULL)
    return;
  photo = g_build_filename (shared, "photos", "one-smiling.jpg", NULL);
  for (guint i = 0; i < 8; i++)
    g_ptr_array_add (frames, video_frame (photo));
  if (!mien_test_write_video_or_skip (video, (GdkPixbuf * const *) frames->pdata, frames->len, 8))
    return;
  model = random_model_file ("live-explain.safetensors", "resnet:18", 64);
  models[0] = model;

  start_app ();
  live_page = MIEN_LIVE_PAGE (page ("live"));
  g_settings_set_string (mien_studio_get_settings (fixture.studio), "live-region", "faces");
  mien_window_show_page (fixture.window, "live");
  mien_live_page_set_source (live_page, source);
  mien_live_page_set_models (live_page, models);
  WAIT_FOR (mien_live_page_get_ready (live_page), 120, "the live models");
  mien_live_page_set_explain (live_page, TRUE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (live_page), "live.start", NULL));
  WAIT_FOR (mien_live_page_get_n_explanations (live_page) >= 1 &&
            mien_live_page_get_explanation (live_page) != NULL, 180, "an explanation");
  g_test_message ("live explain: %" G_GUINT64_FORMAT " predictions, %" G_GUINT64_FORMAT
                  " explanations", mien_live_page_get_n_predictions (live_page),
                  mien_live_page_get_n_explanations (live_page));

  /* One face, its map at the model's size, over the box the detector finds in the frame. */
  explanation = mien_live_page_get_explanation (live_page);
  g_assert_cmpuint (explanation->n_regions, ==, 1);
  g_assert_cmpint (explanation->map_size, ==, 64);
  for (guint i = 0; i < 64 * 64; i++)
    {
      g_assert_true (explanation->maps[i] >= 0.0f && explanation->maps[i] <= 1.0f);
      largest = MAX (largest, explanation->maps[i]);
    }
  /* Scaled to [0, 1] (its maximum within pytorch-grad-cam's 1e-7 of 1). */
  g_assert_cmpfloat (largest, >, 0.999f);
  detector = mien_face_model_open_detector (mien_studio_get_engine (fixture.studio), NULL, NULL,
                                            &error);
  g_assert_no_error (error);
  faces = mien_face_detector_detect (detector, frames->pdata[0], &error);
  g_assert_no_error (error);
  g_assert_cmpuint (faces->len, ==, 1);
  g_assert_cmpfloat (mien_face_iou (&explanation->boxes[0], &g_array_index (faces, MienFace, 0)),
                     >, 0.7);
  /* Drawn over the crop the model saw (the random model records no margin: the default). */
  mien_face_align_geometry (&explanation->boxes[0], NULL, &centre_x, &centre_y, &side, &angle);
  g_assert_cmpfloat_with_epsilon (explanation->places[0].centre_x, centre_x, 1e-9);
  g_assert_cmpfloat_with_epsilon (explanation->places[0].centre_y, centre_y, 1e-9);
  g_assert_cmpfloat_with_epsilon (explanation->places[0].width, side, 1e-9);
  g_assert_cmpfloat_with_epsilon (explanation->places[0].height, side, 1e-9);
  g_assert_cmpfloat_with_epsilon (explanation->places[0].angle, angle, 1e-9);

  /* Off: the maps go at once, and none comes back. */
  mien_live_page_set_explain (live_page, FALSE);
  g_assert_null (mien_live_page_get_explanation (live_page));
  n_explanations = mien_live_page_get_n_explanations (live_page);
  spin (1000);
  g_assert_null (mien_live_page_get_explanation (live_page));
  g_assert_cmpuint (mien_live_page_get_n_explanations (live_page), ==, n_explanations);
  stop_live ();
}

/* Kiosk mode's settings are on the Preferences window, each a widget bound to its key. */
static void
test_kiosk_preferences (void)
{
  g_autofree char *folder = g_build_filename (fixture.scratch, "prefs-snapshots", NULL);
  GSettings *settings;
  GtkWidget *prefs;
  GtkWidget *row;
  GtkWidget *toggle;
  GtkWidget *spin;

  start_app ();
  settings = mien_studio_get_settings (fixture.studio);
  g_settings_set_string (settings, "snapshots-folder", folder);
  prefs = mien_preferences_window_new (GTK_WINDOW (fixture.window), fixture.studio);
  gtk_window_present (GTK_WINDOW (prefs));

  row = find_descendant (prefs, ADW_TYPE_ACTION_ROW, title_starts_with, "_Mirror");
  g_assert_nonnull (row);
  g_assert_nonnull (gtk_widget_get_tooltip_text (row));
  toggle = find_descendant (row, GTK_TYPE_SWITCH, NULL, NULL);
  g_assert_true (gtk_switch_get_active (GTK_SWITCH (toggle)));
  gtk_switch_set_active (GTK_SWITCH (toggle), FALSE);
  g_assert_false (g_settings_get_boolean (settings, "kiosk-mirror"));

  row = find_descendant (prefs, ADW_TYPE_ACTION_ROW, title_starts_with, "_Log");
  toggle = find_descendant (row, GTK_TYPE_SWITCH, NULL, NULL);
  gtk_switch_set_active (GTK_SWITCH (toggle), TRUE);
  g_assert_true (g_settings_get_boolean (settings, "kiosk-log"));

  row = find_descendant (prefs, ADW_TYPE_ACTION_ROW, title_starts_with, "_Attract");
  spin = find_descendant (row, GTK_TYPE_SPIN_BUTTON, NULL, NULL);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), 12);
  g_assert_cmpint (g_settings_get_int (settings, "kiosk-attract-delay"), ==, 12);

  /* The snapshots folder shown is the setting's, made if it was not there. */
  row = find_descendant (prefs, ADW_TYPE_ACTION_ROW, title_starts_with, "_Snapshots");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==, folder);
  g_assert_true (g_file_test (folder, G_FILE_TEST_IS_DIR));

  gtk_window_destroy (GTK_WINDOW (prefs));
  g_settings_reset (settings, "kiosk-mirror");
  g_settings_reset (settings, "kiosk-log");
  g_settings_reset (settings, "kiosk-attract-delay");
}

/* The primary menu's Kiosk Mode: the Live page's models and source, remembered for
 * `mien --kiosk`. */
static void
test_kiosk_menu (void)
{
  MienLivePage *live_page;
  const char *models[2] = { NULL, NULL };
  g_auto(GStrv) remembered = NULL;
  GListModel *toplevels;
  MienKioskWindow *kiosk = NULL;

  models[0] = kiosk_model ();
  start_app ();
  live_page = MIEN_LIVE_PAGE (page ("live"));
  mien_live_page_set_source (live_page, "test");
  mien_live_page_set_models (live_page, models);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture.window), "win.kiosk", NULL));
  toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels) && kiosk == NULL; i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (MIEN_IS_KIOSK_WINDOW (window))
        kiosk = MIEN_KIOSK_WINDOW (window);
    }
  g_assert_nonnull (kiosk);
  remembered = g_settings_get_strv (mien_studio_get_settings (fixture.studio), "kiosk-models");
  g_assert_cmpstrv (remembered, models);
  WAIT_FOR (kiosk_is_streaming (kiosk) && mien_kiosk_window_get_n_predictions (kiosk) > 0, 120,
            "the kiosk's predictions on the test source");
  gtk_window_destroy (GTK_WINDOW (kiosk));
}

/* ---- The shortcuts window ---------------------------------------------------------------- */

/* The number of GtkShortcutsShortcut below `widget` whose accelerator is `accelerator`. */
static guint
count_shortcuts (GtkWidget  *widget,
                 const char *accelerator)
{
  guint n = 0;

  if (GTK_IS_SHORTCUTS_SHORTCUT (widget))
    {
      g_autofree char *accel = NULL;

      g_object_get (widget, "accelerator", &accel, NULL);
      n += g_strcmp0 (accel, accelerator) == 0;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n += count_shortcuts (child, accelerator);
  return n;
}

/* Ctrl+? shows every shortcut, the pages' (the Experiments page's too), the Capture page's and
 * kiosk mode's, without a warning (an accelerator GTK cannot parse would give one, fatal here,
 * and so would a layout GTK cannot lay out). */
static void
test_shortcuts (void)
{
  GListModel *toplevels;
  GtkWindow *overlay = NULL;

  start_app ();
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture.window),
                                             "win.show-help-overlay", NULL));
  toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels) && overlay == NULL; i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (GTK_IS_SHORTCUTS_WINDOW (window))
        overlay = window;
    }
  g_assert_nonnull (overlay);
  spin (100);
  /* (The window keeps a second copy of each for its search.) */
  g_assert_cmpuint (count_shortcuts (GTK_WIDGET (overlay), "<Alt>6"), >=, 1);
  g_assert_cmpuint (count_shortcuts (GTK_WIDGET (overlay), "<Alt>7"), >=, 1);
  g_assert_cmpuint (count_shortcuts (GTK_WIDGET (overlay), "Escape"), >=, 1);
  g_assert_cmpuint (count_shortcuts (GTK_WIDGET (overlay), "<Ctrl><Alt>q"), >=, 1);
  g_assert_cmpuint (count_shortcuts (GTK_WIDGET (overlay), "s"), >=, 1);
  gtk_window_close (overlay);
}

/* ---- The installed-style binary starts without a warning --------------------------------- */

static void
test_launch_clean (void)
{
  const char *app_path = g_getenv ("MIEN_APP");
  g_autofree char *home = g_build_filename (fixture.scratch, "launch", NULL);
  g_autofree char *err_path = g_build_filename (fixture.scratch, "launch.err", NULL);
  g_autofree char *err = NULL;
  g_auto(GStrv) envp = g_get_environ ();
  g_autoptr(GError) error = NULL;
  const char *argv[] = { app_path, NULL };
  GPid pid;
  int err_fd = -1;
  int status = 0;

  g_assert_nonnull (app_path);
  envp = g_environ_setenv (envp, "XDG_DATA_HOME", home, TRUE);
  envp = g_environ_setenv (envp, "G_DEBUG", "fatal-criticals", TRUE);
  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, envp, G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, &pid, NULL, NULL, &err_fd, &error));
  g_assert_no_error (error);

  /* Long enough to draw the demo set, read it and show every page's first state. */
  spin (20000);
  g_assert_cmpint (waitpid (pid, &status, WNOHANG), ==, 0);  /* still running: no crash */
  kill (pid, SIGTERM);
  waitpid (pid, &status, 0);
  g_spawn_close_pid (pid);

  {
    g_autoptr(GIOChannel) channel = g_io_channel_unix_new (err_fd);

    g_io_channel_set_close_on_unref (channel, TRUE);
    g_io_channel_read_to_end (channel, &err, NULL, NULL);
  }
  g_file_set_contents (err_path, err != NULL ? err : "", -1, NULL);
  if (err != NULL && (strstr (err, "WARNING") != NULL || strstr (err, "CRITICAL") != NULL
                      || strstr (err, "Gtk-") != NULL || strstr (err, "GLib-") != NULL))
    g_error ("mien printed warnings:\n%s", err);
}

/* ---- Experiments: a queue of two short runs ------------------------------------------------ */

static void
on_queue_finished (MienExperimentsPage *page,
                   const GError        *error,
                   gpointer             user_data)
{
  int *finished = user_data;

  if (error != NULL)
    g_test_message ("the queue stopped: %s", error->message);
  *finished = error == NULL ? 1 : g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                                  ? 2 : 3;
}

static char *
read_file_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

/* A JSON plan of two one-epoch runs, reordered before it starts; cancelled while the second
 * trains and resumed, which trains neither run twice; the table shown equals the core's
 * evaluation of the folder (mien_ablation_evaluate ()), the chart has a series per run, and the
 * Markdown export is the core's formatting. */
static void
test_experiments (void)
{
  MienExperimentsPage *experiments = MIEN_EXPERIMENTS_PAGE (page ("experiments"));
  MienTrainPage *train_page = MIEN_TRAIN_PAGE (page ("train"));
  g_autoptr(MienTrainConfig) config = mien_train_config_new ();
  g_autofree char *demo = g_build_filename (fixture.scratch, "xdg-data", "mien", "datasets",
                                            "demo", NULL);
  g_autofree char *queue = g_build_filename (fixture.scratch, "queue", NULL);
  g_autofree char *plan = g_build_filename (fixture.scratch, "plan.json", NULL);
  g_autofree char *exported = g_build_filename (fixture.scratch, "exported.md", NULL);
  g_autofree char *tables_path = g_build_filename (queue, "tables.md", NULL);
  g_autofree char *b_log = g_build_filename (queue, "b", "log.jsonl", NULL);
  g_autofree char *a_log = g_build_filename (queue, "a", "log.jsonl", NULL);
  g_autofree char *b_log_before = NULL, *b_log_after = NULL, *a_log_text = NULL;
  g_autofree char *tables = NULL, *expected = NULL, *export_text = NULL;
  g_autoptr(MienAblation) reopened = NULL;
  g_autoptr(GPtrArray) metrics = NULL;
  g_autoptr(GError) error = NULL;
  const char *plan_text = "[{\"name\": \"a\"}, {\"name\": \"b\", \"config\": {\"smoothing\": 0.1}}]";
  MienAblation *ablation;
  MienBarChart *chart;
  int finished = 0;
  g_auto(GStrv) lines = NULL;
  guint row;

  /* The queue trains on the open dataset: the demo set, whatever the cases before opened
   * (/gui/capture leaves its two-class recording open). */
  mien_studio_open_dataset (fixture.studio, demo);
  WAIT_FOR (g_strcmp0 (mien_studio_get_dataset_path (fixture.studio), demo) == 0 &&
            mien_studio_get_stats (fixture.studio) != NULL, 120, "the demo dataset");
  mien_window_show_page (fixture.window, "experiments");
  config->backbone = g_strdup ("resnet:18");
  config->input_size = 32;
  config->epochs = 1;
  config->batch_size = 32;
  mien_train_page_set_config (train_page, config);
  g_assert_true (g_file_set_contents (plan, plan_text, -1, NULL));
  g_assert_true (mien_experiments_page_create_queue (experiments, queue, plan, &error));
  g_assert_no_error (error);
  ablation = mien_experiments_page_get_ablation (experiments);
  g_signal_connect (experiments, "queue-finished", G_CALLBACK (on_queue_finished), &finished);

  /* b first, as the up button does it; the folder's plan follows. */
  g_assert_true (mien_experiments_page_move_step (experiments, 1, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (mien_ablation_get_step_name (ablation, 0), ==, "b");
  {
    g_autoptr(MienAblation) on_disk = mien_ablation_open (queue, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (mien_ablation_get_step_name (on_disk, 0), ==, "b");
  }
  g_assert_cmpint (mien_experiments_page_get_step_state (experiments, 0, NULL), ==,
                   MIEN_EXPERIMENT_WAITING);

  /* Cancelled as soon as a starts: b stays done, a is cancelled, the table has b's row. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (experiments), "experiments.start",
                                             NULL));
  g_assert_true (mien_experiments_page_get_running (experiments));
  WAIT_FOR (mien_experiments_page_get_step_state (experiments, 1, NULL) ==
            MIEN_EXPERIMENT_RUNNING || finished != 0, 300, "a to start");
  g_assert_cmpint (finished, ==, 0);
  g_assert_cmpint (mien_experiments_page_get_step_state (experiments, 0, NULL), ==,
                   MIEN_EXPERIMENT_DONE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (experiments), "experiments.cancel",
                                             NULL));
  WAIT_FOR (finished != 0, 60, "the queue to stop");
  g_assert_cmpint (finished, ==, 2);
  g_assert_cmpint (mien_experiments_page_get_step_state (experiments, 1, NULL), ==,
                   MIEN_EXPERIMENT_CANCELLED);
  g_assert_cmpuint (mien_experiments_page_get_n_rows (experiments), ==, 1);
  b_log_before = read_file_text (b_log);

  /* Resumed: b is not trained again, a trains once. */
  finished = 0;
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (experiments), "experiments.start",
                                             NULL));
  WAIT_FOR (finished != 0, 300, "the queue to finish");
  g_assert_cmpint (finished, ==, 1);
  b_log_after = read_file_text (b_log);
  g_assert_cmpstr (b_log_after, ==, b_log_before);
  a_log_text = read_file_text (a_log);
  g_assert_cmpuint (g_strv_length (lines = g_strsplit (a_log_text, "\n", -1)), ==, 2);
  g_clear_pointer (&lines, g_strfreev);
  for (guint i = 0; i < 2; i++)
    g_assert_cmpint (mien_experiments_page_get_step_state (experiments, i, NULL), ==,
                     MIEN_EXPERIMENT_DONE);

  /* The rows are the core's evaluation of the folder, cell by cell as tables.md has them. */
  reopened = mien_ablation_open (queue, &error);
  g_assert_no_error (error);
  metrics = mien_ablation_evaluate (reopened, mien_studio_get_engine (fixture.studio), NULL,
                                    &error);
  g_assert_no_error (error);
  expected = mien_ablation_format_table (reopened, metrics, MIEN_ABLATION_FORMAT_MARKDOWN);
  tables = read_file_text (tables_path);
  g_assert_cmpstr (tables, ==, expected);
  g_assert_cmpuint (mien_experiments_page_get_n_rows (experiments), ==, 2);
  lines = g_strsplit (expected, "\n", -1);
  for (row = 0; row < 2; row++)
    {
      g_auto(GStrv) cells = g_strsplit (lines[2 + row], " | ", -1);
      guint n_cells = g_strv_length (cells);

      g_assert_cmpuint (n_cells, ==, 3 + ((MienMetrics *) metrics->pdata[0])->n_classes);
      for (guint c = 0; c < n_cells; c++)
        {
          g_autofree char *shown = mien_experiments_page_dup_cell (experiments, row, c);
          const char *cell = cells[c];
          g_autofree char *trimmed = NULL;

          if (c == 0)
            cell += 2;  /* "| " */
          trimmed = g_strdup (cell);
          if (c + 1 == n_cells)
            *strrchr (trimmed, ' ') = '\0';  /* " |" */
          g_assert_cmpstr (shown, ==, trimmed);
        }
    }
  chart = mien_experiments_page_get_chart (experiments);
  g_assert_cmpuint (mien_bar_chart_get_n_series (chart), ==, 2);
  for (row = 0; row < 2; row++)
    {
      MienMetrics *m = metrics->pdata[row];

      g_assert_cmpuint (mien_bar_chart_get_n_categories (chart), ==, m->n_classes);
      for (guint c = 0; c < m->n_classes; c++)
        g_assert_cmpfloat (mien_bar_chart_get_value (chart, row, c), ==, m->f1[c]);
    }

  g_assert_true (mien_experiments_page_export (experiments, exported,
                                               MIEN_ABLATION_FORMAT_MARKDOWN, &error));
  g_assert_no_error (error);
  export_text = read_file_text (exported);
  g_assert_cmpstr (export_text, ==, expected);
  screenshot ("experiments");

  /* Opened again (as after a restart): the same rows, evaluated without training. */
  g_assert_true (mien_experiments_page_open_queue (experiments, queue, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (mien_experiments_page_get_n_rows (experiments), ==, 0);
  WAIT_FOR (mien_experiments_page_get_n_rows (experiments) == 2, 120, "the rows of the queue");
  g_clear_pointer (&export_text, g_free);
  g_assert_true (mien_experiments_page_export (experiments, exported,
                                               MIEN_ABLATION_FORMAT_MARKDOWN, &error));
  g_assert_no_error (error);
  export_text = read_file_text (exported);
  g_assert_cmpstr (export_text, ==, expected);
  g_assert_cmpint (mien_experiments_page_get_step_state (experiments, 1, NULL), ==,
                   MIEN_EXPERIMENT_DONE);
  g_assert_false (mien_experiments_page_get_running (experiments));
  g_clear_pointer (&b_log_after, g_free);
  b_log_after = read_file_text (b_log);
  g_assert_cmpstr (b_log_after, ==, b_log_before);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *xdg_data = NULL;
  g_autofree char *xdg_config = NULL;
  g_autofree char *xdg_cache = NULL;
  int status;

  fixture.scratch = g_dir_make_tmp ("mien-test-gui-XXXXXX", NULL);
  g_assert_nonnull (fixture.scratch);
  xdg_data = g_build_filename (fixture.scratch, "xdg-data", NULL);
  xdg_config = g_build_filename (fixture.scratch, "xdg-config", NULL);
  xdg_cache = g_build_filename (fixture.scratch, "xdg-cache", NULL);
  g_setenv ("XDG_DATA_HOME", xdg_data, TRUE);
  g_setenv ("XDG_CONFIG_HOME", xdg_config, TRUE);
  g_setenv ("XDG_CACHE_HOME", xdg_cache, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  gtk_test_init (&argc, &argv, NULL);

  g_test_add_func ("/gui/dataset", test_dataset);
  g_test_add_func ("/gui/dataset-split", test_dataset_split);
  g_test_add_func ("/gui/train-weights", test_train_weights);
  g_test_add_func ("/gui/train", test_train);
  g_test_add_func ("/gui/evaluate-file", test_evaluate_file);
  g_test_add_func ("/gui/evaluate-mistakes", test_evaluate_mistakes);
  g_test_add_func ("/gui/predict", test_predict);
  g_test_add_func ("/gui/predict-faces", test_predict_faces);
  g_test_add_func ("/gui/predict-explain", test_predict_explain);
  g_test_add_func ("/gui/predict-explain-faces", test_predict_explain_faces);
  g_test_add_func ("/gui/live", test_live);
  g_test_add_func ("/gui/live-faces", test_live_faces);
  g_test_add_func ("/gui/live-snapshot-log", test_live_snapshot_log);
  g_test_add_func ("/gui/live-explain", test_live_explain);
  g_test_add_func ("/gui/kiosk-preferences", test_kiosk_preferences);
  g_test_add_func ("/gui/kiosk-menu", test_kiosk_menu);
  g_test_add_func ("/gui/kiosk-keys", test_kiosk_keys);
  g_test_add_func ("/gui/kiosk-faces", test_kiosk_faces);
  g_test_add_func ("/gui/kiosk-attract", test_kiosk_attract);
  g_test_add_func ("/gui/kiosk-recovery", test_kiosk_recovery);
  g_test_add_func ("/gui/capture", test_capture);
  g_test_add_func ("/gui/capture-broken-source", test_capture_broken_source);
  g_test_add_func ("/gui/capture-open-dataset", test_capture_open_dataset);
  g_test_add_func ("/gui/shortcuts", test_shortcuts);
  g_test_add_func ("/gui/launch-clean", test_launch_clean);
  g_test_add_func ("/gui/experiments", test_experiments);
  status = g_test_run ();

  if (fixture.window != NULL)
    gtk_window_destroy (GTK_WINDOW (fixture.window));
  if (fixture.app != NULL)
    {
      spin (200);
      g_application_quit (G_APPLICATION (fixture.app));
      g_clear_object (&fixture.app);
    }
  mien_test_remove_tree (fixture.scratch);
  g_free (fixture.scratch);
  g_free (fixture.run_dir);
  g_free (fixture.best_model);
  g_free (fixture.run_error);
  return status;
}
