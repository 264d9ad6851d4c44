/* mien-evaluate-page.c — the Evaluate page.
 *
 * The table needs nothing but the runs' logs: each row is a run's best epoch as the trainer
 * measured it on its validation set. Showing the images behind a cell of the confusion matrix
 * needs each image's prediction, which no log keeps; the run's best model is then evaluated
 * again on the very validation set the trainer used (mien_train_config_open_datasets ()), in a
 * thread, once per run (cached by run folder).
 *
 * Rows added by "Evaluate on Another Dataset" carry their own predictions, made when they were
 * evaluated. The other dataset is a folder or a file the Dataset page opens (a manifest, a FER
 * dataset file); a file with several splits is read first, in a thread, to offer its splits. With "Find faces first", the largest face of each image is classified, as `mien-cli
 * eval --faces` does (mien_face_pipeline_evaluate (), with the detector of the Preferences);
 * images without a face count as errors and are listed when the evaluation ends.
 *
 * The same predictions (MienPredictions: each sample's path, class and probabilities, no image)
 * give the Mistakes section: per true class, the images predicted wrong with the most
 * confidence. The heat maps of the one clicked load the row's model again in a thread rather
 * than keep every row's model in memory for images that may never be clicked.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "mien-evaluate-page.h"
#include "mien-explain.h"
#include "mien-face-model.h"
#include "mien-face-pipeline.h"
#include "mien-image.h"
#include "mien-output.h"
#include "mien-ui-util.h"

/* At most this many images are shown for one cell (a large test set's diagonal is thousands). */
#define MAX_CELL_IMAGES 300
#define THUMBNAIL_SIZE 96
/* Images without a face named per run when a face-aware evaluation ends. */
#define MAX_NO_FACE_LISTED 20
/* The most confidently wrong images shown per true class. */
#define MISTAKES_PER_CLASS 12

/* Per-sample predictions of one model on one dataset. */
typedef struct {
  MienDataset     *dataset;
  MienPredictions *predictions;  /* every sample, in dataset order */
  char            *model;        /* the model file evaluated, to explain its mistakes */
  gboolean         faces;        /* each image's largest face was classified, not the image */
} Samples;

static Samples *
samples_new (MienDataset     *dataset,
             MienPredictions *predictions,
             const char      *model,
             gboolean         faces)
{
  Samples *samples = g_new0 (Samples, 1);

  samples->dataset = dataset;
  samples->predictions = predictions;
  samples->model = g_strdup (model);
  samples->faces = faces;
  return samples;
}

static void
samples_free (Samples *samples)
{
  g_clear_object (&samples->dataset);
  g_clear_pointer (&samples->predictions, mien_predictions_free);
  g_free (samples->model);
  g_free (samples);
}

/* A row of the table: a checked run, or a run evaluated on another dataset. */
typedef struct {
  char        *key;        /* the run's folder, or "other:N" */
  char        *name;
  char        *tooltip;
  MienMetrics *metrics;    /* NULL: the run has no finished epoch yet */
  char        *run_path;   /* the run whose validation set explains the cells (NULL: extra) */
  char        *samples_key; /* run rows: the cache key of their samples (folder and best epoch) */
  Samples     *samples;    /* extra rows (those in extra_rows) only: their predictions */
} Row;

static void
row_free (Row *row)
{
  g_free (row->key);
  g_free (row->name);
  g_free (row->tooltip);
  g_clear_pointer (&row->metrics, mien_metrics_free);
  g_free (row->run_path);
  g_free (row->samples_key);
  g_clear_pointer (&row->samples, samples_free);
  g_free (row);
}

/* Evaluating a run's best model on its validation set, for its samples. */
typedef struct {
  int               permille;   /* atomic */
  char             *key;        /* the samples' key */
  MienRun          *run;
  MienPluginEngine *engine;
  MienDevice        device;
  GCancellable     *cancellable;
} EvalJob;

/* Evaluating the checked runs on another dataset. */
typedef struct {
  int               permille;   /* atomic */
  char             *dataset;
  char             *split;      /* NULL: every sample */
  GPtrArray        *runs;       /* MienRun */
  MienPluginEngine *engine;
  MienDevice        device;
  GCancellable     *cancellable;
  GPtrArray        *results;    /* Row, made in the thread */
  GPtrArray        *problems;   /* char * */
  guint             current;
  gboolean          faces;      /* classify the largest face of each image */
  char             *face_model; /* YuNet's file from the preferences; NULL: the default one */
  GString          *no_face;    /* "run: the images without a face", made in the thread */
} OtherJob;

struct _MienEvaluatePage
{
  AdwBin          parent_instance;

  MienStudio     *studio;
  GListModel     *runs;
  GCancellable   *cancellable;      /* the page's life */

  GPtrArray      *selected;         /* char *: checked run folders, in order of checking */
  gboolean        touched;          /* the user (or a caller) chose; no more automatic choice */
  gboolean        rebuilding;
  GPtrArray      *rows;             /* Row: as shown */
  GPtrArray      *extra_rows;       /* Row: from other datasets */
  guint           n_extra;          /* for their keys */
  char           *focus;            /* key of the row whose heatmap is shown */
  GHashTable     *samples;          /* "folder#best epoch" → Samples */

  /* The activated cell */
  gboolean        cell_shown;
  guint           cell_row;
  guint           cell_column;
  EvalJob        *eval;             /* evaluating a run for its samples */
  GCancellable   *thumbs_cancellable;
  guint           poll_id;

  OtherJob       *other;

  /* The mistakes of the focused row */
  char           *mistakes_shown;   /* what the grid shows: row, samples and class chosen */
  GStrv           mistakes_classes; /* the classes the class list offers */
  GCancellable   *mistakes_cancellable; /* their thumbnails */
  struct _DetailJob *detail;        /* the activated mistake's image and heat maps */

  /* Template */
  GtkStack       *stack;
  GtkListBox     *runs_list;
  GtkBox         *other_box;
  GtkProgressBar *other_bar;
  GtkCheckButton *other_faces;
  GtkBox         *other_split_box;
  GtkDropDown    *other_split;
  GCancellable   *list_cancellable; /* listing the splits of a chosen file */
  char           *other_path;       /* the file whose splits other_split shows */
  GtkStack       *table_stack;
  GtkGrid        *table;
  MienHeatmap    *heatmap;
  GtkBox         *cell_box;
  GtkLabel       *cell_title;
  GtkLabel       *cell_status;
  GtkProgressBar *cell_bar;
  GtkFlowBox     *cell_images;
  GtkBox         *mistakes_box;
  GtkDropDown    *mistakes_class;
  GtkLabel       *mistakes_status;
  GtkButton      *mistakes_find;
  GtkFlowBox     *mistakes_grid;
  GtkBox         *mistake_detail;
  GtkPicture     *mistake_picture;
  GtkLabel       *mistake_title;
  GtkGrid        *mistake_bars;
  GtkSpinner     *mistake_spinner;
  GtkLabel       *mistake_status;
  GtkButton      *mistake_cancel;
  GtkLabel       *heat_predicted_label;
  GtkPicture     *heat_predicted;
  GtkLabel       *heat_true_label;
  GtkPicture     *heat_true;
};

G_DEFINE_FINAL_TYPE (MienEvaluatePage, mien_evaluate_page, ADW_TYPE_BIN)

static void rebuild_table (MienEvaluatePage *self);
static void show_cell     (MienEvaluatePage *self);
static void show_mistakes (MienEvaluatePage *self);

static Row *
find_row (MienEvaluatePage *self,
          const char       *key)
{
  for (guint i = 0; key != NULL && i < self->rows->len; i++)
    {
      Row *row = self->rows->pdata[i];

      if (g_str_equal (row->key, key))
        return row;
    }
  return NULL;
}

static Row *
focused_row (MienEvaluatePage *self)
{
  return find_row (self, self->focus);
}

static gboolean
is_selected (MienEvaluatePage *self,
             const char       *path,
             guint            *index)
{
  return g_ptr_array_find_with_equal_func (self->selected, path, g_str_equal, index);
}

static void
update_actions (MienEvaluatePage *self)
{
  Row *row = focused_row (self);
  gboolean any_run = FALSE;

  for (guint i = 0; i < self->rows->len; i++)
    any_run |= ((Row *) self->rows->pdata[i])->run_path != NULL;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluate.export-csv", self->rows->len > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluate.export-chart",
                                 row != NULL && row->metrics != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluate.other-dataset",
                                 any_run && self->other == NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluate.other-file",
                                 any_run && self->other == NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluate.other-split",
                                 any_run && self->other == NULL && self->other_path != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluate.cancel",
                                 self->other != NULL || self->list_cancellable != NULL);
}

/* ---- The runs list ------------------------------------------------------------------------ */

static void
on_run_toggled (GtkCheckButton   *check,
                MienEvaluatePage *self)
{
  const char *path = g_object_get_data (G_OBJECT (check), "mien-path");
  gboolean active = gtk_check_button_get_active (check);
  guint index;

  if (self->rebuilding)
    return;
  self->touched = TRUE;
  if (active && !is_selected (self, path, NULL))
    {
      g_ptr_array_add (self->selected, g_strdup (path));
      /* The run just checked is the one the user wants to look at. */
      g_free (self->focus);
      self->focus = g_strdup (path);
    }
  else if (!active && is_selected (self, path, &index))
    g_ptr_array_remove_index (self->selected, index);
  rebuild_table (self);
}

static void
rebuild_runs_list (MienEvaluatePage *self)
{
  GtkWidget *child;
  guint n = g_list_model_get_n_items (self->runs);

  self->rebuilding = TRUE;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->runs_list))) != NULL)
    gtk_list_box_remove (self->runs_list, child);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(MienRun) run = g_list_model_get_item (self->runs, i);
      g_autofree char *description = mien_run_describe (run);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *check = gtk_check_button_new ();

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), mien_run_get_name (run));
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), description);
      adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);
      gtk_widget_set_tooltip_text (row, mien_run_get_path (run));
      gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check),
                                   is_selected (self, mien_run_get_path (run), NULL));
      gtk_accessible_update_property (GTK_ACCESSIBLE (check), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      mien_run_get_name (run), -1);
      g_object_set_data_full (G_OBJECT (check), "mien-path",
                              g_strdup (mien_run_get_path (run)), g_free);
      g_signal_connect (check, "toggled", G_CALLBACK (on_run_toggled), self);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
      gtk_list_box_append (self->runs_list, row);
    }
  self->rebuilding = FALSE;
}

/* ---- The table ------------------------------------------------------------------------------ */

static GtkWidget *
cell_label (const char *text,
            gboolean    bold,
            gboolean    numeric)
{
  GtkWidget *label = gtk_label_new (NULL);

  if (bold)
    {
      g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>", text);

      gtk_label_set_markup (GTK_LABEL (label), markup);
    }
  else
    gtk_label_set_text (GTK_LABEL (label), text);
  if (numeric)
    {
      gtk_widget_add_css_class (label, "numeric");
      gtk_label_set_xalign (GTK_LABEL (label), 1.0);
    }
  else
    gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  return label;
}

/* The classes of the table's columns: those of the first row with metrics. */
static const char * const *
table_classes (MienEvaluatePage *self)
{
  for (guint i = 0; i < self->rows->len; i++)
    {
      Row *row = self->rows->pdata[i];

      if (row->metrics != NULL)
        return (const char * const *) row->metrics->classes;
    }
  return NULL;
}

/* The value of column `c` (classes, then Avg., then Acc.) for `row`; FALSE when it has none. */
static gboolean
row_value (Row                *row,
           const char * const *classes,
           guint               c,
           double             *value)
{
  guint k = g_strv_length ((char **) classes);

  if (row->metrics == NULL ||
      !g_strv_equal ((const char * const *) row->metrics->classes, classes))
    return FALSE;
  if (c < k)
    *value = row->metrics->f1[c];
  else if (c == k)
    *value = row->metrics->macro_f1;
  else
    *value = row->metrics->accuracy;
  return TRUE;
}

static void
on_focus_toggled (GtkToggleButton  *button,
                  MienEvaluatePage *self)
{
  const char *key = g_object_get_data (G_OBJECT (button), "mien-key");

  if (self->rebuilding || !gtk_toggle_button_get_active (button) ||
      g_strcmp0 (key, self->focus) == 0)
    return;
  g_free (self->focus);
  self->focus = g_strdup (key);
  rebuild_table (self);
}

static void
fill_grid (MienEvaluatePage *self)
{
  GtkWidget *child;
  const char * const *classes = table_classes (self);
  guint k = classes != NULL ? g_strv_length ((char **) classes) : 0;
  guint n_columns = k + 2;
  g_autofree double *best = g_new (double, n_columns);
  GtkToggleButton *group = NULL;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->table))) != NULL)
    gtk_grid_remove (self->table, child);

  /* The best of each column is bold, as in the paper; not when there is nothing to compare
   * (fewer than two values, or all equal), nor a best of 0. */
  for (guint c = 0; c < n_columns; c++)
    {
      double lowest = G_MAXDOUBLE;
      guint n_values = 0;

      best[c] = -1.0;
      for (guint i = 0; i < self->rows->len; i++)
        {
          double value;

          if (row_value (self->rows->pdata[i], classes, c, &value))
            {
              best[c] = MAX (best[c], value);
              lowest = MIN (lowest, value);
              n_values++;
            }
        }
      if (n_values < 2 || lowest == best[c] || best[c] <= 0.0)
        best[c] = G_MAXDOUBLE;
    }

  /* Header: Method, the classes as the paper writes them, Avg., Acc. */
  gtk_grid_attach (self->table, cell_label (_("Method"), TRUE, FALSE), 0, 0, 1, 1);
  for (guint c = 0; c < n_columns; c++)
    {
      g_autofree char *name = c < k ? mien_ui_capitalise (classes[c])
                                    : g_strdup (c == k ? _("Avg.") : _("Acc."));
      GtkWidget *label = cell_label (name, TRUE, TRUE);

      if (c == k)
        gtk_widget_set_tooltip_text (label, _("Macro F1: the unweighted mean of the classes' F1"));
      else if (c == k + 1)
        gtk_widget_set_tooltip_text (label, _("Accuracy: the fraction of images predicted right"));
      gtk_grid_attach (self->table, label, (int) c + 1, 0, 1, 1);
    }
  gtk_grid_attach (self->table, gtk_separator_new (GTK_ORIENTATION_HORIZONTAL), 0, 1,
                   (int) n_columns + 1, 1);

  for (guint i = 0; i < self->rows->len; i++)
    {
      Row *row = self->rows->pdata[i];
      GtkWidget *name = gtk_toggle_button_new ();
      GtkWidget *name_label = gtk_label_new (row->name);

      /* The name picks the row whose confusion matrix is shown (one at a time). */
      gtk_label_set_xalign (GTK_LABEL (name_label), 0.0);
      gtk_label_set_ellipsize (GTK_LABEL (name_label), PANGO_ELLIPSIZE_MIDDLE);
      gtk_label_set_max_width_chars (GTK_LABEL (name_label), 32);
      gtk_button_set_child (GTK_BUTTON (name), name_label);
      gtk_widget_add_css_class (name, "flat");
      gtk_widget_set_tooltip_text (name, row->tooltip);
      g_object_set_data_full (G_OBJECT (name), "mien-key", g_strdup (row->key), g_free);
      if (group != NULL)
        gtk_toggle_button_set_group (GTK_TOGGLE_BUTTON (name), group);
      else
        group = GTK_TOGGLE_BUTTON (name);
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (name),
                                    g_strcmp0 (row->key, self->focus) == 0);
      g_signal_connect (name, "toggled", G_CALLBACK (on_focus_toggled), self);
      gtk_grid_attach (self->table, name, 0, (int) i + 2, 1, 1);

      for (guint c = 0; c < n_columns; c++)
        {
          double value;
          GtkWidget *label;

          if (row_value (row, classes, c, &value))
            {
              g_autofree char *text = g_strdup_printf ("%.4f", value);

              label = cell_label (text, value >= best[c], TRUE);
            }
          else
            {
              label = cell_label ("—", FALSE, TRUE);
              gtk_widget_set_tooltip_text (label, row->metrics == NULL
                                                  ? _("No epoch of this run has finished yet")
                                                  : _("This run has other classes"));
            }
          gtk_widget_set_valign (label, GTK_ALIGN_CENTER);
          gtk_grid_attach (self->table, label, (int) c + 1, (int) i + 2, 1, 1);
        }
    }
}

static void
update_heatmap (MienEvaluatePage *self)
{
  Row *row = focused_row (self);
  g_autofree char *heading = NULL;

  if (row == NULL || row->metrics == NULL)
    {
      mien_heatmap_set_matrix (self->heatmap, NULL, NULL, 0);
      mien_chart_set_title (MIEN_CHART (self->heatmap), _("Confusion matrix"));
      return;
    }
  {
    MienMetrics *metrics = row->metrics;
    g_auto(GStrv) labels = g_new0 (char *, metrics->n_classes + 1);

    for (guint c = 0; c < metrics->n_classes; c++)
      labels[c] = mien_ui_capitalise (metrics->classes[c]);
    mien_heatmap_set_matrix (self->heatmap, (const char * const *) labels, metrics->confusion,
                             metrics->n_classes);
  }
  /* Translators: the title of a run's confusion matrix (also in exported images) */
  heading = g_strdup_printf (_("Confusion matrix: %s"), row->name);
  mien_chart_set_title (MIEN_CHART (self->heatmap), heading);
}

/* Rebuilds the rows from the selection and the studio's runs (their objects are replaced on
 * every reread), then the grid, the heatmap and the cell panel. */
static void
rebuild_table (MienEvaluatePage *self)
{
  g_autofree char *old_focus_run = NULL;
  Row *focus;

  g_ptr_array_set_size (self->rows, 0);
  for (guint i = 0; i < self->selected->len; i++)
    {
      MienRun *run = mien_studio_find_run (self->studio, self->selected->pdata[i]);
      MienMetrics *metrics;
      Row *row;

      if (run == NULL)
        continue;
      metrics = mien_run_get_best_metrics (run);
      row = g_new0 (Row, 1);
      row->key = g_strdup (mien_run_get_path (run));
      row->name = g_strdup (mien_run_get_name (run));
      row->tooltip = mien_run_describe (run);
      row->metrics = metrics != NULL ? mien_metrics_copy (metrics) : NULL;
      row->run_path = g_strdup (mien_run_get_path (run));
      row->samples_key = g_strdup_printf ("%s#%u", mien_run_get_path (run),
                                          mien_run_get_best_epoch (run));
      g_ptr_array_add (self->rows, row);
    }
  for (guint i = 0; i < self->extra_rows->len; i++)
    {
      Row *extra = self->extra_rows->pdata[i];
      Row *row = g_new0 (Row, 1);

      /* A copy without the samples: those stay with the extra row (row_samples ()). */
      row->key = g_strdup (extra->key);
      row->name = g_strdup (extra->name);
      row->tooltip = g_strdup (extra->tooltip);
      row->metrics = mien_metrics_copy (extra->metrics);
      g_ptr_array_add (self->rows, row);
    }

  if (focused_row (self) == NULL)
    {
      g_free (self->focus);
      self->focus = self->rows->len > 0 ? g_strdup (((Row *) self->rows->pdata[0])->key) : NULL;
      self->cell_shown = FALSE;
    }
  focus = focused_row (self);

  self->rebuilding = TRUE;
  fill_grid (self);
  self->rebuilding = FALSE;
  gtk_stack_set_visible_child_name (self->table_stack, self->rows->len > 0 ? "table" : "none");
  update_heatmap (self);
  update_actions (self);

  /* The cell panel follows the focused row; a different row's matrix needs a new click. */
  old_focus_run = g_strdup (g_object_get_data (G_OBJECT (self->cell_box), "mien-key"));
  if (focus == NULL || g_strcmp0 (old_focus_run, focus->key) != 0)
    self->cell_shown = FALSE;
  show_cell (self);
  show_mistakes (self);
}

static void
on_runs_changed (GListModel       *runs,
                 guint             position,
                 guint             removed,
                 guint             added,
                 MienEvaluatePage *self)
{
  guint n = g_list_model_get_n_items (runs);

  /* A run folder that is gone leaves the selection. (Cached samples are keyed by best epoch:
   * a resumed run with a new best model is evaluated again.) */
  for (guint i = self->selected->len; i > 0; i--)
    if (mien_studio_find_run (self->studio, self->selected->pdata[i - 1]) == NULL)
      g_ptr_array_remove_index (self->selected, i - 1);

  /* Until the user chooses, the newest run is shown (the one just trained, say): the table is
   * never empty beside runs. */
  if (!self->touched && n > 0)
    {
      g_autoptr(MienRun) newest = g_list_model_get_item (runs, 0);

      g_ptr_array_set_size (self->selected, 0);
      g_ptr_array_add (self->selected, g_strdup (mien_run_get_path (newest)));
    }

  gtk_stack_set_visible_child_name (self->stack, n > 0 ? "main" : "empty");
  rebuild_runs_list (self);
  rebuild_table (self);
}

/* ---- Per-sample predictions of a run (for the cells' images) -------------------------------- */

static void
eval_job_free (EvalJob *job)
{
  g_free (job->key);
  g_clear_object (&job->run);
  g_clear_object (&job->engine);
  g_clear_object (&job->cancellable);
  g_free (job);
}

static void
eval_progress (double      fraction,
               const char *message,
               gpointer    user_data)
{
  EvalJob *job = user_data;

  g_atomic_int_set (&job->permille, (int) (CLAMP (fraction, 0.0, 1.0) * 1000));
}

static void
eval_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  EvalJob *job = task_data;
  const MienTrainConfig *config = mien_run_get_config (job->run);
  const char *best = mien_run_get_best_model (job->run);
  const char *paths[2] = { best, NULL };
  g_autoptr(MienDataset) train = NULL;
  g_autoptr(MienDataset) val = NULL;
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(MienMetrics) metrics = NULL;
  g_autoptr(MienPredictions) predictions = NULL;
  GError *error = NULL;
  Samples *samples;

  if (best == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _("The run has no best model yet"));
      return;
    }
  if (!mien_train_config_open_datasets (config, &train, &val, &error) ||
      (ensemble = mien_ensemble_load (job->engine, paths, job->device, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  metrics = mien_ensemble_evaluate_predictions (ensemble, val, 0, NULL, &predictions, NULL,
                                                eval_progress, job, cancellable, &error);
  if (metrics == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  samples = samples_new (g_steal_pointer (&val), g_steal_pointer (&predictions), best, FALSE);
  g_task_return_pointer (task, samples, (GDestroyNotify) samples_free);
}

static gboolean
poll_progress (gpointer data)
{
  MienEvaluatePage *self = data;

  if (self->eval != NULL)
    gtk_progress_bar_set_fraction (self->cell_bar,
                                   g_atomic_int_get (&self->eval->permille) / 1000.0);
  if (self->other != NULL)
    gtk_progress_bar_set_fraction (self->other_bar,
                                   g_atomic_int_get (&self->other->permille) / 1000.0);
  /* Reading a file to list its splits has no fraction to show. */
  else if (self->list_cancellable != NULL)
    gtk_progress_bar_pulse (self->other_bar);
  if (self->eval == NULL && self->other == NULL && self->list_cancellable == NULL)
    {
      self->poll_id = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
ensure_polling (MienEvaluatePage *self)
{
  if (self->poll_id == 0)
    self->poll_id = g_timeout_add (100, poll_progress, self);
}

static void
eval_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  MienEvaluatePage *self = MIEN_EVALUATE_PAGE (source);
  EvalJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  Samples *samples = g_task_propagate_pointer (G_TASK (result), &error);

  if (g_cancellable_is_cancelled (self->cancellable))
    {
      g_clear_pointer (&samples, samples_free);
      return;
    }
  if (self->eval == job)
    self->eval = NULL;
  if (samples != NULL)
    g_hash_table_replace (self->samples, g_strdup (job->key), samples);
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      Row *row = focused_row (self);

      if (row != NULL && g_strcmp0 (row->samples_key, job->key) == 0)
        {
          g_autofree char *message =
            g_strdup_printf (_("Could not evaluate the run again: %s"), error->message);

          gtk_label_set_text (self->cell_status, message);
          gtk_label_set_text (self->mistakes_status, message);
          gtk_widget_set_visible (GTK_WIDGET (self->cell_bar), FALSE);
          /* To try again. */
          gtk_widget_set_visible (GTK_WIDGET (self->mistakes_find), TRUE);
        }
      return;
    }
  show_cell (self);
  show_mistakes (self);
}

static void
start_eval (MienEvaluatePage *self,
            Row              *row)
{
  g_autoptr(GTask) task = NULL;
  MienRun *run = mien_studio_find_run (self->studio, row->run_path);
  EvalJob *job;

  if (self->eval != NULL)
    {
      if (g_str_equal (self->eval->key, row->samples_key))
        return;
      g_cancellable_cancel (self->eval->cancellable);
      self->eval = NULL;
    }
  if (run == NULL)
    return;
  job = g_new0 (EvalJob, 1);
  job->key = g_strdup (row->samples_key);
  job->run = g_object_ref (run);
  job->engine = g_object_ref (mien_studio_get_engine (self->studio));
  job->device = mien_studio_get_device (self->studio);
  job->cancellable = g_cancellable_new ();
  self->eval = job;
  ensure_polling (self);

  task = g_task_new (self, job->cancellable, eval_done, NULL);
  g_task_set_source_tag (task, start_eval);
  g_task_set_task_data (task, job, (GDestroyNotify) eval_job_free);
  g_task_run_in_thread (task, eval_thread);
  /* The mistakes wait for the same predictions, whether a cell or the section asked. */
  show_mistakes (self);
}

/* ---- The cell's images -------------------------------------------------------------------- */

typedef struct {
  MienDataset *dataset;
  GArray      *indices;    /* guint: the samples shown */
  GPtrArray   *paths;      /* char *: their names */
  GPtrArray   *captions;   /* char *: shown under each (NULL: none) */
  GtkFlowBox  *grid;       /* where they go (the page's, which the task keeps alive) */
  GPtrArray   *textures;   /* GdkTexture, NULL where unreadable */
} ThumbsJob;

static void
thumbs_job_free (ThumbsJob *job)
{
  g_object_unref (job->dataset);
  g_array_unref (job->indices);
  g_ptr_array_unref (job->paths);
  g_clear_pointer (&job->captions, g_ptr_array_unref);
  g_clear_pointer (&job->textures, g_ptr_array_unref);
  g_free (job);
}

static void
thumbs_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  ThumbsJob *job = task_data;

  job->textures = g_ptr_array_new_full (job->paths->len, g_object_unref);
  for (guint i = 0; i < job->paths->len; i++)
    {
      g_autoptr(GdkPixbuf) pixbuf = NULL;

      if (g_task_return_error_if_cancelled (task))
        return;
      /* Through the dataset: a sample may be a face box or pixels held by a CSV file. */
      pixbuf = mien_dataset_load_thumbnail (job->dataset, g_array_index (job->indices, guint, i),
                                            THUMBNAIL_SIZE, NULL);
      g_ptr_array_add (job->textures,
                       pixbuf != NULL ? gdk_texture_new_for_pixbuf (pixbuf) : NULL);
    }
  g_task_return_boolean (task, TRUE);
}

static void
thumbs_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  MienEvaluatePage *self = MIEN_EVALUATE_PAGE (source);
  ThumbsJob *job = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), NULL) ||
      g_cancellable_is_cancelled (self->cancellable))
    return;
  for (guint i = 0; i < job->paths->len; i++)
    {
      GdkTexture *texture = job->textures->pdata[i];
      g_autofree char *name = g_path_get_basename (job->paths->pdata[i]);
      GtkWidget *image;

      if (texture != NULL)
        {
          image = gtk_picture_new_for_paintable (GDK_PAINTABLE (texture));
          gtk_picture_set_can_shrink (GTK_PICTURE (image), TRUE);
          gtk_picture_set_content_fit (GTK_PICTURE (image), GTK_CONTENT_FIT_CONTAIN);
          gtk_picture_set_alternative_text (GTK_PICTURE (image), name);
        }
      else
        image = gtk_image_new_from_icon_name ("image-missing-symbolic");
      gtk_widget_set_size_request (image, THUMBNAIL_SIZE, THUMBNAIL_SIZE);
      if (job->captions != NULL)
        {
          GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
          GtkWidget *caption = gtk_label_new (job->captions->pdata[i]);

          gtk_label_set_justify (GTK_LABEL (caption), GTK_JUSTIFY_CENTER);
          gtk_widget_add_css_class (caption, "caption");
          gtk_box_append (GTK_BOX (box), image);
          gtk_box_append (GTK_BOX (box), caption);
          image = box;
        }
      gtk_widget_set_tooltip_text (image, job->paths->pdata[i]);
      gtk_flow_box_append (job->grid, image);
      /* The sample behind the child the flow box wrapped it in (+1: never NULL). */
      g_object_set_data (G_OBJECT (gtk_widget_get_parent (image)), "mien-index",
                         GUINT_TO_POINTER (g_array_index (job->indices, guint, i) + 1));
    }
}

/* Loads the thumbnails of samples `indices` of `dataset` in a thread, then shows them in `grid`
 * (with `captions`, may be NULL); `*cancellable` is set to cancel them. Takes the arrays. */
static void
start_thumbnails (MienEvaluatePage  *self,
                  MienDataset       *dataset,
                  GArray            *indices,
                  GPtrArray         *paths,
                  GPtrArray         *captions,
                  GtkFlowBox        *grid,
                  GCancellable     **cancellable)
{
  g_autoptr(GTask) task = NULL;
  ThumbsJob *job = g_new0 (ThumbsJob, 1);

  job->dataset = g_object_ref (dataset);
  job->indices = indices;
  job->paths = paths;
  job->captions = captions;
  job->grid = grid;
  *cancellable = g_cancellable_new ();
  task = g_task_new (self, *cancellable, thumbs_done, NULL);
  g_task_set_source_tag (task, start_thumbnails);
  g_task_set_task_data (task, job, (GDestroyNotify) thumbs_job_free);
  g_task_run_in_thread (task, thumbs_thread);
}

/* Cancels the thumbnails on their way to `grid` and empties it. */
static void
clear_grid (GtkFlowBox    *grid,
            GCancellable **cancellable)
{
  GtkWidget *child;

  g_cancellable_cancel (*cancellable);
  g_clear_object (cancellable);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (grid))) != NULL)
    gtk_flow_box_remove (grid, child);
}

static void
clear_cell_images (MienEvaluatePage *self)
{
  clear_grid (self->cell_images, &self->thumbs_cancellable);
}

static Samples *
row_samples (MienEvaluatePage *self,
             Row              *row)
{
  if (row->samples_key != NULL)
    return g_hash_table_lookup (self->samples, row->samples_key);
  for (guint i = 0; i < self->extra_rows->len; i++)
    {
      Row *extra = self->extra_rows->pdata[i];

      if (g_str_equal (extra->key, row->key))
        return extra->samples;
    }
  return NULL;
}

static void
show_cell (MienEvaluatePage *self)
{
  Row *row = focused_row (self);
  Samples *samples;
  MienMetrics *metrics;
  g_autofree char *true_name = NULL;
  g_autofree char *predicted_name = NULL;
  g_autofree char *title = NULL;
  g_autoptr(GPtrArray) paths = NULL;
  g_autoptr(GArray) indices = g_array_new (FALSE, FALSE, sizeof (guint));
  guint n_found = 0;

  clear_cell_images (self);
  if (!self->cell_shown || row == NULL || row->metrics == NULL ||
      self->cell_row >= row->metrics->n_classes || self->cell_column >= row->metrics->n_classes)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->cell_box), FALSE);
      return;
    }
  metrics = row->metrics;
  g_object_set_data_full (G_OBJECT (self->cell_box), "mien-key", g_strdup (row->key), g_free);
  gtk_widget_set_visible (GTK_WIDGET (self->cell_box), TRUE);
  true_name = mien_ui_capitalise (metrics->classes[self->cell_row]);
  predicted_name = mien_ui_capitalise (metrics->classes[self->cell_column]);
  /* Translators: the images of a cell of the confusion matrix */
  title = g_strdup_printf (_("True %s, predicted %s"), true_name, predicted_name);
  gtk_label_set_text (self->cell_title, title);

  samples = row_samples (self, row);
  if (samples == NULL)
    {
      /* Translators: %s is a run's name */
      g_autofree char *status =
        g_strdup_printf (_("Predicting the validation images again with %s’s best model, to "
                           "find which ones fall here…"), row->name);

      gtk_label_set_text (self->cell_status, status);
      gtk_widget_set_visible (GTK_WIDGET (self->cell_bar), TRUE);
      gtk_progress_bar_set_fraction (self->cell_bar, 0.0);
      if (row->run_path != NULL)
        start_eval (self, row);
      return;
    }
  gtk_widget_set_visible (GTK_WIDGET (self->cell_bar), FALSE);

  paths = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < samples->predictions->n; i++)
    if (samples->predictions->predicted[i] == (int) self->cell_column &&
        samples->predictions->labels[i] == self->cell_row)
      {
        if (paths->len < MAX_CELL_IMAGES)
          {
            g_ptr_array_add (paths, g_strdup (mien_dataset_get_path (samples->dataset, i)));
            g_array_append_val (indices, i);
          }
        n_found++;
      }
  if (n_found == 0)
    gtk_label_set_text (self->cell_status, _("No image falls in this cell."));
  else
    {
      g_autofree char *status = NULL;

      if (n_found > paths->len)
        status = g_strdup_printf (_("The first %u of %u images"), paths->len, n_found);
      else
        status = g_strdup_printf (ngettext ("%u image", "%u images", n_found), n_found);
      gtk_label_set_text (self->cell_status, status);
    }
  if (paths->len == 0)
    return;
  start_thumbnails (self, samples->dataset, g_steal_pointer (&indices), g_steal_pointer (&paths),
                    NULL, self->cell_images, &self->thumbs_cancellable);
}

static void
on_cell_activated (MienEvaluatePage *self,
                   guint             row,
                   guint             column)
{
  self->cell_shown = TRUE;
  self->cell_row = row;
  self->cell_column = column;
  show_cell (self);
}

static void
on_cell_close (MienEvaluatePage *self)
{
  self->cell_shown = FALSE;
  show_cell (self);
}

/* ---- The mistakes to look at --------------------------------------------------------------- */

/* The activated mistake's image, and its heat maps for the predicted and the true class. */
typedef struct _DetailJob {
  MienDataset      *dataset;
  guint             index;
  char             *model;
  gboolean          faces;
  MienPluginEngine *engine;
  MienDevice        device;
  guint             classes[2];   /* predicted, true */
  GCancellable     *cancellable;
  GdkTexture       *image;
  GdkTexture       *heat[2];
  GError           *heat_error;
} DetailJob;

static void
detail_job_free (DetailJob *job)
{
  g_object_unref (job->dataset);
  g_free (job->model);
  g_object_unref (job->engine);
  g_object_unref (job->cancellable);
  g_clear_object (&job->image);
  g_clear_object (&job->heat[0]);
  g_clear_object (&job->heat[1]);
  g_clear_error (&job->heat_error);
  g_free (job);
}

/* Grad-CAM of the model for both classes, drawn over the whole image. */
static gboolean
explain_mistake (DetailJob     *job,
                 GdkPixbuf     *pixbuf,
                 GCancellable  *cancellable,
                 GError       **error)
{
  const char *paths[2] = { job->model, NULL };
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(MienTensor) images = NULL;
  g_autofree guint8 *pixels = NULL;
  MienModel *model;
  int size;

  ensemble = mien_ensemble_load (job->engine, paths, job->device, error);
  if (ensemble == NULL)
    return FALSE;
  model = mien_ensemble_get_model (ensemble, 0);
  size = mien_model_get_input_size (model);
  pixels = g_malloc (3 * (gsize) size * size);
  /* As the evaluation saw it (mien_ensemble_predict_pixbuf ()). */
  if (!mien_image_from_pixbuf (pixbuf, size, mien_model_get_grey (model), pixels, NULL, error))
    return FALSE;
  images = mien_image_batch_tensor (pixels, 1, size, error);
  if (images == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (job->classes); i++)
    {
      g_autoptr(MienTensor) map = NULL;
      g_autoptr(GdkPixbuf) overlay = NULL;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      map = mien_explain_grad_cam_ensemble (ensemble, images, job->classes[i], NULL, error);
      if (map == NULL)
        return FALSE;
      overlay = mien_explain_overlay (pixbuf, map, MIEN_EVALUATE_HEAT_MAP_OPACITY, error);
      if (overlay == NULL)
        return FALSE;
      job->heat[i] = gdk_texture_new_for_pixbuf (overlay);
    }
  return TRUE;
}

static void
detail_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  DetailJob *job = task_data;
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  GError *error = NULL;

  pixbuf = mien_dataset_load_pixbuf (job->dataset, job->index, &error);
  if (pixbuf == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  job->image = gdk_texture_new_for_pixbuf (pixbuf);
  if (job->faces)
    g_set_error_literal (&job->heat_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                         _("this evaluation classified the largest face of each image, and "
                           "heat maps are drawn over whole images"));
  else if (!explain_mistake (job, pixbuf, cancellable, &job->heat_error))
    g_clear_object (&job->heat[0]);
  g_task_return_boolean (task, TRUE);
}

static void
stop_detail (MienEvaluatePage *self)
{
  if (self->detail != NULL)
    g_cancellable_cancel (self->detail->cancellable);
  self->detail = NULL;   /* its task owns it */
  gtk_spinner_stop (self->mistake_spinner);
  gtk_widget_set_visible (GTK_WIDGET (self->mistake_cancel), FALSE);
}

static void
detail_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  MienEvaluatePage *self = MIEN_EVALUATE_PAGE (source);
  DetailJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);
  g_autofree char *message = NULL;

  /* Gone, or replaced by another image (which took care of the rest). */
  if (g_cancellable_is_cancelled (self->cancellable) || self->detail != job)
    return;
  self->detail = NULL;
  gtk_spinner_stop (self->mistake_spinner);
  gtk_widget_set_visible (GTK_WIDGET (self->mistake_cancel), FALSE);
  if (!ok)
    {
      message = g_strdup_printf (_("Could not load the image: %s"), error->message);
      gtk_label_set_text (self->mistake_status, message);
      return;
    }
  gtk_picture_set_paintable (self->mistake_picture, GDK_PAINTABLE (job->image));
  gtk_picture_set_paintable (self->heat_predicted, GDK_PAINTABLE (job->heat[0]));
  gtk_picture_set_paintable (self->heat_true, GDK_PAINTABLE (job->heat[1]));
  if (job->heat_error == NULL)
    gtk_label_set_text (self->mistake_status,
                        _("Heat maps: where the model looked for each class (Grad-CAM), red "
                          "the most."));
  else if (g_error_matches (job->heat_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    gtk_label_set_text (self->mistake_status, _("The heat maps were cancelled."));
  else if (g_error_matches (job->heat_error, MIEN_BACKBONE_ERROR,
                            MIEN_BACKBONE_ERROR_UNSUPPORTED) ||
           g_error_matches (job->heat_error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_UNSUPPORTED) ||
           g_error_matches (job->heat_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
    {
      message = g_strdup_printf (_("No heat map: %s"), job->heat_error->message);
      gtk_label_set_text (self->mistake_status, message);
    }
  else
    {
      message = g_strdup_printf (_("Could not compute the heat maps: %s"),
                                 job->heat_error->message);
      gtk_label_set_text (self->mistake_status, message);
    }
}

/* One bar per class, its name and probability; the predicted and the true class named. */
static void
fill_probability_bars (MienEvaluatePage      *self,
                       const MienPredictions *predictions,
                       const char * const    *classes,
                       guint                  index)
{
  GtkWidget *child;
  const float *p = predictions->probabilities + (gsize) index * predictions->n_classes;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->mistake_bars))) != NULL)
    gtk_grid_remove (self->mistake_bars, child);
  for (guint c = 0; c < predictions->n_classes; c++)
    {
      g_autofree char *name = mien_ui_capitalise (classes[c]);
      g_autofree char *value = g_strdup_printf ("%.3f", p[c]);
      GtkWidget *label;
      GtkWidget *bar = gtk_level_bar_new_for_interval (0.0, 1.0);
      GtkWidget *number = cell_label (value, FALSE, TRUE);

      if ((int) c == predictions->predicted[index])
        {
          /* Translators: a class in a list of probabilities, the one predicted */
          g_autofree char *text = g_strdup_printf (_("%s (predicted)"), name);

          label = cell_label (text, TRUE, FALSE);
        }
      else if (c == predictions->labels[index])
        {
          /* Translators: a class in a list of probabilities, the image's own */
          g_autofree char *text = g_strdup_printf (_("%s (true)"), name);

          label = cell_label (text, TRUE, FALSE);
        }
      else
        label = cell_label (name, FALSE, FALSE);
      gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), CLAMP (p[c], 0.0, 1.0));
      gtk_widget_set_hexpand (bar, TRUE);
      gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
      gtk_accessible_update_property (GTK_ACCESSIBLE (bar), GTK_ACCESSIBLE_PROPERTY_LABEL, name,
                                      -1);
      gtk_grid_attach (self->mistake_bars, label, 0, (int) c, 1, 1);
      gtk_grid_attach (self->mistake_bars, bar, 1, (int) c, 1, 1);
      gtk_grid_attach (self->mistake_bars, number, 2, (int) c, 1, 1);
    }
}

static void
show_mistake (MienEvaluatePage *self,
              Samples          *samples,
              guint             index)
{
  const MienPredictions *predictions = samples->predictions;
  const char * const *classes = (const char * const *) self->mistakes_classes;
  guint predicted = (guint) predictions->predicted[index];
  guint label = predictions->labels[index];
  g_autofree char *predicted_name = mien_ui_capitalise (classes[predicted]);
  g_autofree char *true_name = mien_ui_capitalise (classes[label]);
  g_autofree char *heading = NULL;
  g_autoptr(GTask) task = NULL;
  DetailJob *job;

  stop_detail (self);
  /* Translators: an image predicted wrong: its file, then its true and predicted classes */
  heading = g_strdup_printf (_("%s: true %s, predicted %s"), predictions->paths[index], true_name,
                             predicted_name);
  gtk_label_set_text (self->mistake_title, heading);
  fill_probability_bars (self, predictions, classes, index);
  g_free (heading);
  /* Translators: the heat map of the class an image was predicted as */
  heading = g_strdup_printf (_("Predicted: %s"), predicted_name);
  gtk_label_set_text (self->heat_predicted_label, heading);
  g_free (heading);
  /* Translators: the heat map of an image's true class */
  heading = g_strdup_printf (_("True: %s"), true_name);
  gtk_label_set_text (self->heat_true_label, heading);
  gtk_picture_set_paintable (self->mistake_picture, NULL);
  gtk_picture_set_paintable (self->heat_predicted, NULL);
  gtk_picture_set_paintable (self->heat_true, NULL);
  gtk_label_set_text (self->mistake_status, _("Computing the heat maps…"));
  gtk_spinner_start (self->mistake_spinner);
  gtk_widget_set_visible (GTK_WIDGET (self->mistake_cancel), TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->mistake_detail), TRUE);

  job = g_new0 (DetailJob, 1);
  job->dataset = g_object_ref (samples->dataset);
  job->index = index;
  job->model = g_strdup (samples->model);
  job->faces = samples->faces;
  job->engine = g_object_ref (mien_studio_get_engine (self->studio));
  job->device = mien_studio_get_device (self->studio);
  job->classes[0] = predicted;
  job->classes[1] = label;
  job->cancellable = g_cancellable_new ();
  self->detail = job;
  task = g_task_new (self, job->cancellable, detail_done, NULL);
  /* Cancelling stops the heat maps, not the image already loaded. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_source_tag (task, show_mistake);
  g_task_set_task_data (task, job, (GDestroyNotify) detail_job_free);
  g_task_run_in_thread (task, detail_thread);
}

static Samples *
focused_samples (MienEvaluatePage *self)
{
  Row *row = focused_row (self);

  return row != NULL ? row_samples (self, row) : NULL;
}

static void
on_mistake_activated (MienEvaluatePage *self,
                      GtkFlowBoxChild  *child)
{
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (child), "mien-index"));
  Samples *samples = focused_samples (self);

  if (index > 0 && samples != NULL)
    show_mistake (self, samples, index - 1);
}

static void
on_mistake_close (MienEvaluatePage *self)
{
  stop_detail (self);
  gtk_widget_set_visible (GTK_WIDGET (self->mistake_detail), FALSE);
}

static void
on_mistake_cancel (MienEvaluatePage *self)
{
  if (self->detail != NULL)
    g_cancellable_cancel (self->detail->cancellable);
}

/* The class list: "All classes", then the row's classes (kept while they stay the same). */
static void
update_mistakes_classes (MienEvaluatePage   *self,
                         const char * const *classes)
{
  g_autoptr(GtkStringList) list = NULL;

  if (self->mistakes_classes != NULL &&
      g_strv_equal ((const char * const *) self->mistakes_classes, classes))
    return;
  g_strfreev (self->mistakes_classes);
  self->mistakes_classes = g_strdupv ((char **) classes);
  list = gtk_string_list_new (NULL);
  gtk_string_list_append (list, _("All Classes"));
  for (guint c = 0; classes[c] != NULL; c++)
    {
      g_autofree char *name = mien_ui_capitalise (classes[c]);

      gtk_string_list_append (list, name);
    }
  self->rebuilding = TRUE;
  gtk_drop_down_set_model (self->mistakes_class, G_LIST_MODEL (list));
  gtk_drop_down_set_selected (self->mistakes_class, 0);
  self->rebuilding = FALSE;
}

/* The caption under a mistake: the class predicted and its probability, the true class's. */
static char *
mistake_caption (const MienPredictions *predictions,
                 const char * const    *classes,
                 guint                  i)
{
  const float *p = predictions->probabilities + (gsize) i * predictions->n_classes;
  g_autofree char *predicted = mien_ui_capitalise (classes[predictions->predicted[i]]);
  g_autofree char *truth = mien_ui_capitalise (classes[predictions->labels[i]]);

  /* Translators: under an image predicted wrong: the predicted class and its probability, then
   * the true class and its probability */
  return g_strdup_printf (_("%s %.2f\ntrue %s %.2f"), predicted, p[predictions->predicted[i]],
                          truth, p[predictions->labels[i]]);
}

static void
show_mistakes (MienEvaluatePage *self)
{
  Row *row = focused_row (self);
  Samples *samples = focused_samples (self);
  guint selected, n_classes;
  gboolean finding;
  g_autofree char *shown = NULL;
  g_autoptr(GArray) indices = NULL;
  g_autoptr(GPtrArray) paths = NULL;
  g_autoptr(GPtrArray) captions = NULL;

  if (row == NULL || row->metrics == NULL)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->mistakes_box), FALSE);
      g_clear_pointer (&self->mistakes_shown, g_free);
      clear_grid (self->mistakes_grid, &self->mistakes_cancellable);
      on_mistake_close (self);
      return;
    }
  gtk_widget_set_visible (GTK_WIDGET (self->mistakes_box), TRUE);
  update_mistakes_classes (self, (const char * const *) row->metrics->classes);
  selected = gtk_drop_down_get_selected (self->mistakes_class);
  /* The table is rebuilt whenever the runs are reread: the grid and the image looked at stay
   * while they would show the same. */
  shown = g_strdup_printf ("%s\n%p\n%u", row->key, (gpointer) samples, selected);
  if (samples != NULL && g_strcmp0 (shown, self->mistakes_shown) == 0)
    return;
  g_free (self->mistakes_shown);
  self->mistakes_shown = g_steal_pointer (&shown);
  clear_grid (self->mistakes_grid, &self->mistakes_cancellable);
  on_mistake_close (self);

  finding = self->eval != NULL && g_strcmp0 (self->eval->key, row->samples_key) == 0;
  gtk_widget_set_visible (GTK_WIDGET (self->mistakes_find),
                          samples == NULL && row->run_path != NULL && !finding);
  if (samples == NULL)
    {
      if (!finding)
        gtk_label_set_text (self->mistakes_status,
                            _("Which images are wrong is known once the validation images are "
                              "predicted again with the run’s best model."));
      else
        gtk_label_set_text (self->mistakes_status, _("Predicting the images again…"));
      return;
    }

  n_classes = samples->predictions->n_classes;
  indices = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint c = 0; c < n_classes; c++)
    if (selected == 0 || selected == c + 1)
      {
        g_autoptr(GArray) mistakes = mien_predictions_mistakes (samples->predictions, (int) c,
                                                                MISTAKES_PER_CLASS);

        g_array_append_vals (indices, mistakes->data, mistakes->len);
      }
  if (indices->len == 0)
    {
      gtk_label_set_text (self->mistakes_status, selected == 0
                                                 ? _("No image was predicted wrong.")
                                                 : _("No image of this class was predicted "
                                                     "wrong."));
      return;
    }
  gtk_label_set_text (self->mistakes_status, "");
  paths = g_ptr_array_new_with_free_func (g_free);
  captions = g_ptr_array_new_with_free_func (g_free);
  for (guint m = 0; m < indices->len; m++)
    {
      guint i = g_array_index (indices, guint, m);

      g_ptr_array_add (paths, g_strdup (samples->predictions->paths[i]));
      g_ptr_array_add (captions, mistake_caption (samples->predictions,
                                                  (const char * const *) self->mistakes_classes,
                                                  i));
    }
  start_thumbnails (self, samples->dataset, g_steal_pointer (&indices), g_steal_pointer (&paths),
                    g_steal_pointer (&captions), self->mistakes_grid,
                    &self->mistakes_cancellable);
}

static void
on_mistakes_class_changed (MienEvaluatePage *self)
{
  if (!self->rebuilding)
    show_mistakes (self);
}

static void
on_mistakes_find (MienEvaluatePage *self)
{
  Row *row = focused_row (self);

  if (row == NULL || row->run_path == NULL)
    return;
  start_eval (self, row);
}

/* ---- Evaluating on another dataset --------------------------------------------------------- */

static void
other_job_free (OtherJob *job)
{
  g_free (job->dataset);
  g_free (job->split);
  g_ptr_array_unref (job->runs);
  g_clear_object (&job->engine);
  g_clear_object (&job->cancellable);
  g_ptr_array_unref (job->results);
  g_ptr_array_unref (job->problems);
  g_free (job->face_model);
  g_string_free (job->no_face, TRUE);
  g_free (job);
}

static void
other_progress (double      fraction,
                const char *message,
                gpointer    user_data)
{
  OtherJob *job = user_data;
  double total = (job->current + CLAMP (fraction, 0.0, 1.0)) / MAX (job->runs->len, 1);

  g_atomic_int_set (&job->permille, (int) (total * 1000));
}

/* One run's face-aware evaluation; the detector is opened for the first run and kept for the
 * others. Its images without a face go to job->no_face. */
static MienMetrics *
evaluate_faces (OtherJob          *job,
                MienRun           *run,
                MienEnsemble      *ensemble,
                MienDataset       *dataset,
                MienFaceDetector **detector,
                MienPredictions  **predictions,
                GCancellable      *cancellable,
                GError           **error)
{
  g_autoptr(MienFacePipeline) pipeline = NULL;
  g_autoptr(MienFaceEvaluation) evaluation = NULL;
  MienFaceAlignOptions align = MIEN_FACE_ALIGN_OPTIONS_INIT;

  if (*detector == NULL &&
      (*detector = mien_face_model_open_detector (job->engine, NULL, job->face_model,
                                                  error)) == NULL)
    return NULL;
  /* The margin the run's images were cropped with (one model: it cannot disagree). */
  if (!mien_ensemble_get_face_margin (ensemble, align.margin, &align.margin, error))
    return NULL;
  pipeline = mien_face_pipeline_new (ensemble, *detector, &align);
  evaluation = mien_face_pipeline_evaluate (pipeline, dataset, other_progress, job, cancellable,
                                            error);
  if (evaluation == NULL)
    return NULL;
  *predictions = mien_predictions_new (evaluation->metrics->n_classes);
  for (guint i = 0; i < evaluation->n_samples; i++)
    mien_predictions_add (*predictions, mien_dataset_get_path (dataset, i),
                          mien_dataset_get_label (dataset, i), evaluation->samples[i].average);
  if (evaluation->no_face->len > 0)
    {
      g_string_append_printf (job->no_face, "%s%s:", job->no_face->len > 0 ? "\n\n" : "",
                              mien_run_get_name (run));
      /* A dialog shows them: a few, and how many more. */
      for (guint i = 0; i < MIN (evaluation->no_face->len, MAX_NO_FACE_LISTED); i++)
        g_string_append_printf (job->no_face, "\n%s",
                                (const char *) evaluation->no_face->pdata[i]);
      if (evaluation->no_face->len > MAX_NO_FACE_LISTED)
        {
          guint more = evaluation->no_face->len - MAX_NO_FACE_LISTED;

          g_string_append_c (job->no_face, '\n');
          g_string_append_printf (job->no_face,
                                  g_dngettext (GETTEXT_PACKAGE, "and %u more", "and %u more",
                                               more), more);
        }
    }
  return g_steal_pointer (&evaluation->metrics);
}

static void
other_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  OtherJob *job = task_data;
  g_autofree char *basename = g_path_get_basename (job->dataset);
  /* Translators: a dataset file and the split evaluated, e.g. "fer2013.csv (test)" */
  g_autofree char *dataset_name = job->split != NULL
                                  ? g_strdup_printf (_("%s (%s)"), basename, job->split)
                                  : g_strdup (basename);
  g_autoptr(MienFaceDetector) detector = NULL;

  for (job->current = 0; job->current < job->runs->len; job->current++)
    {
      MienRun *run = job->runs->pdata[job->current];
      const char *paths[2] = { mien_run_get_best_model (run), NULL };
      g_autoptr(GError) error = NULL;
      g_autoptr(MienEnsemble) ensemble = NULL;
      g_autoptr(MienDataset) dataset = NULL;
      g_autoptr(MienPredictions) predictions = NULL;
      MienMetrics *metrics = NULL;
      Samples *samples;
      Row *row;

      if (g_task_return_error_if_cancelled (task))
        return;
      if (paths[0] == NULL)
        continue;
      ensemble = mien_ensemble_load (job->engine, paths, job->device, &error);
      if (ensemble != NULL)
        dataset = mien_dataset_open_split (job->dataset, job->split,
                                           mien_ensemble_get_classes (ensemble), &error);
      if (dataset != NULL && job->faces)
        metrics = evaluate_faces (job, run, ensemble, dataset, &detector, &predictions,
                                  cancellable, &error);
      else if (dataset != NULL)
        metrics = mien_ensemble_evaluate_predictions (ensemble, dataset, 0, NULL, &predictions,
                                                      NULL, other_progress, job, cancellable,
                                                      &error);
      if (metrics == NULL)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            {
              g_task_return_error (task, g_steal_pointer (&error));
              return;
            }
          g_ptr_array_add (job->problems, g_strdup_printf ("%s: %s", mien_run_get_name (run),
                                                           error->message));
          continue;
        }
      samples = samples_new (g_steal_pointer (&dataset), g_steal_pointer (&predictions),
                             paths[0], job->faces);
      row = g_new0 (Row, 1);
      /* Translators: a table row: a run evaluated on another dataset */
      row->name = job->faces
                  /* Translators: a table row: a run evaluated on the faces of another dataset */
                  ? g_strdup_printf (_("%s on %s (faces)"), mien_run_get_name (run), dataset_name)
                  : g_strdup_printf (_("%s on %s"), mien_run_get_name (run), dataset_name);
      row->tooltip = g_strdup_printf ("%s\n%s", mien_run_get_path (run), job->dataset);
      row->metrics = metrics;
      row->samples = samples;
      g_ptr_array_add (job->results, row);
    }
  g_task_return_boolean (task, TRUE);
}

static void
other_done (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  MienEvaluatePage *self = MIEN_EVALUATE_PAGE (source);
  OtherJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  self->other = NULL;
  gtk_widget_set_visible (GTK_WIDGET (self->other_box), FALSE);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        mien_ui_show_error (GTK_WIDGET (self), _("Could not evaluate on the dataset"), error);
      update_actions (self);
      return;
    }
  for (guint i = 0; i < job->results->len; i++)
    {
      Row *row = job->results->pdata[i];

      row->key = g_strdup_printf ("other:%u", ++self->n_extra);
      if (i == 0)
        {
          g_free (self->focus);
          self->focus = g_strdup (row->key);
        }
    }
  /* Moves the rows (job->results is left empty, for the job to free). */
  g_ptr_array_extend_and_steal (self->extra_rows, g_ptr_array_ref (job->results));
  if (job->no_face->len > 0)
    {
      GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
      GtkWidget *dialog;

      dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                       _("Images Without a Face"), NULL);
      adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog), "%s\n\n%s",
                                      _("They count as errors for their classes."),
                                      job->no_face->str);
      adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
      gtk_window_present (GTK_WINDOW (dialog));
    }
  if (job->problems->len > 0)
    {
      g_autofree char *joined = NULL;
      g_autoptr(GError) problem = NULL;

      g_ptr_array_add (job->problems, NULL);
      joined = g_strjoinv ("\n", (char **) job->problems->pdata);
      problem = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, joined);
      mien_ui_show_error (GTK_WIDGET (self), _("Some runs could not be evaluated"), problem);
    }
  rebuild_table (self);
}

/* Evaluates the checked runs on `split` (NULL: every sample) of the dataset at `path`. */
static void
start_other (MienEvaluatePage *self,
             const char       *path,
             const char       *split)
{
  g_autoptr(GTask) task = NULL;
  OtherJob *job;

  if (g_cancellable_is_cancelled (self->cancellable) || self->other != NULL)
    return;
  job = g_new0 (OtherJob, 1);
  job->dataset = g_strdup (path);
  job->split = g_strdup (split);
  job->runs = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < self->rows->len; i++)
    {
      Row *row = self->rows->pdata[i];
      MienRun *run = row->run_path != NULL ? mien_studio_find_run (self->studio, row->run_path)
                                           : NULL;

      if (run != NULL && mien_run_get_best_model (run) != NULL)
        g_ptr_array_add (job->runs, g_object_ref (run));
    }
  job->engine = g_object_ref (mien_studio_get_engine (self->studio));
  job->device = mien_studio_get_device (self->studio);
  job->cancellable = g_cancellable_new ();
  job->results = g_ptr_array_new_with_free_func ((GDestroyNotify) row_free);
  job->problems = g_ptr_array_new_with_free_func (g_free);
  job->no_face = g_string_new (NULL);
  job->faces = gtk_check_button_get_active (self->other_faces);
  if (job->faces)
    {
      g_autofree char *face_model = g_settings_get_string (mien_studio_get_settings (self->studio),
                                                           "face-model");

      job->face_model = face_model[0] != '\0' ? g_steal_pointer (&face_model) : NULL;
    }
  self->other = job;

  gtk_progress_bar_set_fraction (self->other_bar, 0.0);
  gtk_progress_bar_set_text (self->other_bar, _("Evaluating…"));
  gtk_widget_set_visible (GTK_WIDGET (self->other_box), TRUE);
  ensure_polling (self);
  update_actions (self);

  task = g_task_new (self, job->cancellable, other_done, NULL);
  g_task_set_source_tag (task, start_other);
  g_task_set_task_data (task, job, (GDestroyNotify) other_job_free);
  g_task_run_in_thread (task, other_thread);
}

/* The split a file with several is evaluated on unless the user picks another: the test split
 * where there is one (FER2013's PrivateTest, the split papers report), else val; never train by
 * default, as the runs may have been trained on it. Val comes second because it is often the set
 * a run's best epoch was chosen on, so its scores are a little optimistic. */
static const char *
default_split (const char * const *splits)
{
  if (g_strv_contains (splits, "test"))
    return "test";
  if (g_strv_contains (splits, "val"))
    return "val";
  return splits[0];
}

static void
on_splits_listed (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(MienEvaluatePage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) splits = mien_ui_list_splits_finish (result, &error);

  /* Cancelled: by Cancel, a newer choice or the page going away, which took care of the rest. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->list_cancellable);
  gtk_widget_set_visible (GTK_WIDGET (self->other_box), FALSE);
  if (splits == NULL)
    {
      g_clear_pointer (&self->other_path, g_free);
      update_actions (self);
      mien_ui_show_error (GTK_WIDGET (self), _("Could not evaluate on the dataset"), error);
      return;
    }
  if (g_strv_length (splits) <= 1)
    {
      g_autofree char *path = g_steal_pointer (&self->other_path);

      start_other (self, path, NULL);
      return;
    }
  /* The user picks the split, then evaluates. */
  mien_ui_show_splits (self->other_split, (const char * const *) splits,
                       default_split ((const char * const *) splits));
  gtk_widget_set_visible (GTK_WIDGET (self->other_split_box), TRUE);
  update_actions (self);
}

/* Forgets the file whose splits are listed or offered. */
static void
stop_listing (MienEvaluatePage *self)
{
  if (self->list_cancellable != NULL)
    g_cancellable_cancel (self->list_cancellable);
  g_clear_object (&self->list_cancellable);
  g_clear_pointer (&self->other_path, g_free);
  gtk_widget_set_visible (GTK_WIDGET (self->other_split_box), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->other_box), self->other != NULL);
  update_actions (self);
}

void
mien_evaluate_page_open_other (MienEvaluatePage *self,
                               const char       *path)
{
  g_autofree char *name = NULL;
  g_autofree char *text = NULL;

  g_return_if_fail (MIEN_IS_EVALUATE_PAGE (self));
  g_return_if_fail (path != NULL);

  if (g_cancellable_is_cancelled (self->cancellable) || self->other != NULL)
    return;
  stop_listing (self);
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      start_other (self, path, NULL);
      return;
    }

  self->other_path = g_strdup (path);
  self->list_cancellable = g_cancellable_new ();
  name = g_path_get_basename (path);
  text = g_strdup_printf (_("Reading “%s”…"), name);
  gtk_progress_bar_set_fraction (self->other_bar, 0.0);
  gtk_progress_bar_set_text (self->other_bar, text);
  gtk_widget_set_visible (GTK_WIDGET (self->other_box), TRUE);
  ensure_polling (self);
  update_actions (self);
  mien_ui_list_splits_async (path, self->list_cancellable, on_splits_listed,
                             g_object_ref (self));
}

GtkDropDown *
mien_evaluate_page_get_split_dropdown (MienEvaluatePage *self)
{
  g_return_val_if_fail (MIEN_IS_EVALUATE_PAGE (self), NULL);
  return self->other_split;
}

static void
on_other_dataset_chosen (GFile    *file,
                         gpointer  user_data)
{
  g_autoptr(MienEvaluatePage) self = user_data;
  g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

  if (path != NULL)
    mien_evaluate_page_open_other (self, path);
}

static void
other_dataset_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  if (g_str_equal (action_name, "evaluate.other-file"))
    {
      g_autoptr(GtkFileFilter) datasets = mien_ui_filter_datasets ();
      GtkFileFilter *filters[] = { datasets, NULL };

      mien_ui_choose_file (widget, _("Evaluate on a Dataset File"), GTK_FILE_CHOOSER_ACTION_OPEN,
                           _("_Open"), filters, NULL, on_other_dataset_chosen,
                           g_object_ref (widget));
    }
  else
    mien_ui_choose_file (widget, _("Evaluate on a Dataset"),
                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Evaluate"), NULL, NULL,
                         on_other_dataset_chosen, g_object_ref (widget));
}

static void
other_split_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  MienEvaluatePage *self = MIEN_EVALUATE_PAGE (widget);
  GtkStringObject *item = gtk_drop_down_get_selected_item (self->other_split);

  if (item != NULL && self->other_path != NULL)
    start_other (self, self->other_path, gtk_string_object_get_string (item));
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  MienEvaluatePage *self = MIEN_EVALUATE_PAGE (widget);

  if (self->other != NULL)
    g_cancellable_cancel (self->other->cancellable);
  else if (self->list_cancellable != NULL)
    stop_listing (self);
}

/* ---- Exports ------------------------------------------------------------------------------- */

/* RFC 4180: quote fields holding a comma, a quote or a line break. */
static void
append_csv_field (GString    *csv,
                  const char *field)
{
  if (strpbrk (field, ",\"\r\n") == NULL)
    {
      g_string_append (csv, field);
      return;
    }
  g_string_append_c (csv, '"');
  for (const char *p = field; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (csv, '"');
      g_string_append_c (csv, *p);
    }
  g_string_append_c (csv, '"');
}

static void
on_csv_chosen (GFile    *file,
               gpointer  user_data)
{
  g_autoptr(MienEvaluatePage) self = user_data;
  g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;
  g_autoptr(GError) error = NULL;

  if (path == NULL || g_cancellable_is_cancelled (self->cancellable))
    return;
  if (!mien_evaluate_page_export_csv (self, path, &error))
    mien_ui_show_error (GTK_WIDGET (self), _("Could not save the table"), error);
  else
    {
      /* Translators: %s is a file's path */
      g_autofree char *message = g_strdup_printf (_("Saved the table to %s"), path);

      mien_studio_post_message (self->studio, message);
    }
}

static void
export_csv_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  g_autoptr(GtkFileFilter) csv = mien_ui_filter_csv ();
  GtkFileFilter *filters[] = { csv, NULL };

  mien_ui_choose_file (widget, _("Export the Table"), GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"),
                       filters, _("runs.csv"), on_csv_chosen, g_object_ref (widget));
}

static void
on_chart_file_chosen (GFile    *file,
                      gpointer  user_data)
{
  g_autoptr(MienEvaluatePage) self = user_data;
  g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;
  g_autoptr(GError) error = NULL;

  if (path == NULL || g_cancellable_is_cancelled (self->cancellable))
    return;
  if (!mien_chart_export (MIEN_CHART (self->heatmap), path, 800, 800, &error))
    mien_ui_show_error (GTK_WIDGET (self), _("Could not save the chart"), error);
  else
    {
      g_autofree char *message = g_strdup_printf (_("Saved the chart to %s"), path);

      mien_studio_post_message (self->studio, message);
    }
}

static void
export_chart_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  MienEvaluatePage *self = MIEN_EVALUATE_PAGE (widget);
  g_autoptr(GtkFileFilter) png = mien_ui_filter_png ();
  g_autoptr(GtkFileFilter) svg = mien_ui_filter_svg ();
  GtkFileFilter *filters[] = { png, svg, NULL };
  Row *row = focused_row (self);
  /* Translators: the suggested file name of a confusion matrix image; %s is a run's name */
  g_autofree char *suggested = g_strdup_printf (_("%s-confusion.png"),
                                                row != NULL ? row->name : "run");

  mien_ui_choose_file (widget, _("Export the Confusion Matrix"), GTK_FILE_CHOOSER_ACTION_SAVE,
                       _("_Save"), filters, suggested, on_chart_file_chosen,
                       g_object_ref (widget));
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
mien_evaluate_page_dispose (GObject *object)
{
  MienEvaluatePage *self = MIEN_EVALUATE_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->thumbs_cancellable);
  g_cancellable_cancel (self->mistakes_cancellable);
  if (self->detail != NULL)
    g_cancellable_cancel (self->detail->cancellable);
  self->detail = NULL;   /* its task owns it */
  if (self->eval != NULL)
    g_cancellable_cancel (self->eval->cancellable);
  if (self->other != NULL)
    g_cancellable_cancel (self->other->cancellable);
  if (self->list_cancellable != NULL)
    g_cancellable_cancel (self->list_cancellable);
  g_clear_object (&self->list_cancellable);
  g_clear_pointer (&self->other_path, g_free);
  self->eval = NULL;   /* the tasks own them */
  self->other = NULL;
  g_clear_handle_id (&self->poll_id, g_source_remove);
  if (self->runs != NULL)
    g_signal_handlers_disconnect_by_data (self->runs, self);
  g_clear_object (&self->runs);
  g_clear_object (&self->thumbs_cancellable);
  g_clear_object (&self->mistakes_cancellable);
  g_clear_object (&self->studio);
  G_OBJECT_CLASS (mien_evaluate_page_parent_class)->dispose (object);
}

static void
mien_evaluate_page_finalize (GObject *object)
{
  MienEvaluatePage *self = MIEN_EVALUATE_PAGE (object);

  g_clear_object (&self->cancellable);
  g_ptr_array_unref (self->selected);
  g_ptr_array_unref (self->rows);
  g_ptr_array_unref (self->extra_rows);
  g_hash_table_unref (self->samples);
  g_free (self->focus);
  g_free (self->mistakes_shown);
  g_strfreev (self->mistakes_classes);
  G_OBJECT_CLASS (mien_evaluate_page_parent_class)->finalize (object);
}

static void
mien_evaluate_page_class_init (MienEvaluatePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mien_evaluate_page_dispose;
  object_class->finalize = mien_evaluate_page_finalize;

  g_type_ensure (MIEN_TYPE_HEATMAP);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/mienapp/Mien/ui/mien-evaluate-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, stack);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, runs_list);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, other_box);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, other_bar);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, other_faces);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, other_split_box);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, other_split);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, table_stack);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, table);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, heatmap);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, cell_box);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, cell_title);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, cell_status);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, cell_bar);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, cell_images);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, mistakes_box);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, mistakes_class);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, mistakes_status);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, mistakes_find);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, mistakes_grid);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, mistake_detail);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, mistake_picture);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, mistake_title);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, mistake_bars);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, mistake_spinner);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, mistake_status);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, mistake_cancel);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, heat_predicted_label);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, heat_predicted);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, heat_true_label);
  gtk_widget_class_bind_template_child (widget_class, MienEvaluatePage, heat_true);
  gtk_widget_class_bind_template_callback (widget_class, on_cell_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_cell_close);
  gtk_widget_class_bind_template_callback (widget_class, on_mistakes_class_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_mistakes_find);
  gtk_widget_class_bind_template_callback (widget_class, on_mistake_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_mistake_close);
  gtk_widget_class_bind_template_callback (widget_class, on_mistake_cancel);

  gtk_widget_class_install_action (widget_class, "evaluate.export-csv", NULL, export_csv_action);
  gtk_widget_class_install_action (widget_class, "evaluate.export-chart", NULL,
                                   export_chart_action);
  gtk_widget_class_install_action (widget_class, "evaluate.other-dataset", NULL,
                                   other_dataset_action);
  gtk_widget_class_install_action (widget_class, "evaluate.other-file", NULL,
                                   other_dataset_action);
  gtk_widget_class_install_action (widget_class, "evaluate.other-split", NULL,
                                   other_split_action);
  gtk_widget_class_install_action (widget_class, "evaluate.cancel", NULL, cancel_action);
}

static void
mien_evaluate_page_init (MienEvaluatePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->selected = g_ptr_array_new_with_free_func (g_free);
  self->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) row_free);
  self->extra_rows = g_ptr_array_new_with_free_func ((GDestroyNotify) row_free);
  self->samples = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) samples_free);
  update_actions (self);
}

GtkWidget *
mien_evaluate_page_new (MienStudio *studio)
{
  MienEvaluatePage *self;

  g_return_val_if_fail (MIEN_IS_STUDIO (studio), NULL);

  self = g_object_new (MIEN_TYPE_EVALUATE_PAGE, NULL);
  self->studio = g_object_ref (studio);
  self->runs = g_object_ref (mien_studio_get_runs (studio));
  g_signal_connect (self->runs, "items-changed", G_CALLBACK (on_runs_changed), self);
  on_runs_changed (self->runs, 0, 0, 0, self);
  return GTK_WIDGET (self);
}

void
mien_evaluate_page_select_runs (MienEvaluatePage   *self,
                                const char * const *run_paths)
{
  g_return_if_fail (MIEN_IS_EVALUATE_PAGE (self));

  self->touched = TRUE;
  g_ptr_array_set_size (self->selected, 0);
  for (guint i = 0; run_paths != NULL && run_paths[i] != NULL; i++)
    if (!is_selected (self, run_paths[i], NULL) &&
        mien_studio_find_run (self->studio, run_paths[i]) != NULL)
      g_ptr_array_add (self->selected, g_strdup (run_paths[i]));
  g_clear_pointer (&self->focus, g_free);
  rebuild_runs_list (self);
  rebuild_table (self);
}

guint
mien_evaluate_page_get_n_rows (MienEvaluatePage *self)
{
  g_return_val_if_fail (MIEN_IS_EVALUATE_PAGE (self), 0);
  return self->rows->len;
}

const char *
mien_evaluate_page_get_row_name (MienEvaluatePage *self,
                                 guint             row)
{
  g_return_val_if_fail (MIEN_IS_EVALUATE_PAGE (self), NULL);
  g_return_val_if_fail (row < self->rows->len, NULL);
  return ((Row *) self->rows->pdata[row])->name;
}

MienHeatmap *
mien_evaluate_page_get_heatmap (MienEvaluatePage *self)
{
  g_return_val_if_fail (MIEN_IS_EVALUATE_PAGE (self), NULL);
  return self->heatmap;
}

gboolean
mien_evaluate_page_export_csv (MienEvaluatePage  *self,
                               const char        *path,
                               GError           **error)
{
  const char * const *classes;
  guint k;
  g_autoptr(GString) csv = g_string_new (NULL);

  g_return_val_if_fail (MIEN_IS_EVALUATE_PAGE (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  classes = table_classes (self);
  k = classes != NULL ? g_strv_length ((char **) classes) : 0;
  g_string_append (csv, "Method");
  for (guint c = 0; c < k; c++)
    {
      g_autofree char *name = mien_ui_capitalise (classes[c]);

      g_string_append_c (csv, ',');
      append_csv_field (csv, name);
    }
  g_string_append (csv, ",Avg.,Acc.\n");
  for (guint i = 0; i < self->rows->len; i++)
    {
      Row *row = self->rows->pdata[i];

      append_csv_field (csv, row->name);
      for (guint c = 0; c < k + 2; c++)
        {
          double value;

          g_string_append_c (csv, ',');
          if (row_value (row, classes, c, &value))
            {
              char buffer[G_ASCII_DTOSTR_BUF_SIZE];

              /* Four decimals as the paper's tables, and a dot whatever the locale. */
              g_string_append (csv, g_ascii_formatd (buffer, sizeof buffer, "%.4f", value));
            }
        }
      g_string_append_c (csv, '\n');
    }
  /* An output file (mien-output.h): atomic, never over something that is not a file. */
  return mien_output_set_contents (path, NULL, csv->str, csv->len, error);
}
