/* mien-experiments-page.c — the Experiments page (see mien-experiments-page.h).
 *
 * The queue trains in mien_ablation_run_async ()'s thread; its events arrive on the main loop
 * and only update what they name, so nothing here waits for training or evaluation. The queue's
 * state is its folder's (mien-ablation.h): a step is done when its run is, so reopening the
 * folder after a restart shows the same states and "Resume" continues it. What only this page
 * knows (a step that failed or was cancelled, the running step's progress) lives in `notes`.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "mien-experiments-page.h"
#include "mien-train-page.h"
#include "mien-ui-util.h"
#include "mien-window.h"

typedef struct {
  MienExperimentState state;    /* RUNNING, FAILED or CANCELLED */
  char               *message;  /* FAILED: the error */
  double              fraction;
  char               *text;     /* RUNNING: "epoch 1/3 · step 2/9 · loss 1.2345" */
} Note;

static void
note_free (Note *note)
{
  g_free (note->message);
  g_free (note->text);
  g_free (note);
}

struct _MienExperimentsPage
{
  AdwBin         parent_instance;

  MienStudio    *studio;
  MienAblation  *ablation;
  char          *plan_file;     /* NULL: the paper's plan */
  GCancellable  *cancellable;   /* non-NULL while the queue runs */
  GCancellable  *page_cancellable; /* the page's life: evaluating a reopened queue */
  GHashTable    *notes;         /* step name → Note */
  GHashTable    *results;       /* step name → MienMetrics: the rows */

  AdwActionRow  *queue_row;
  AdwActionRow  *plan_row;
  GtkListBox    *steps;
  GtkWidget     *table_group;
  GtkGrid       *table;
  MienBarChart  *chart;
  GHashTable    *bars;          /* step name → its GtkProgressBar, while shown */
};

G_DEFINE_FINAL_TYPE (MienExperimentsPage, mien_experiments_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_RUNNING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  QUEUE_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---- What is shown ----------------------------------------------------------------------- */

/* The rows in plan order, NULL where a step has none yet (borrowed from `results`). */
static GPtrArray *
plan_metrics (MienExperimentsPage *self)
{
  GPtrArray *metrics = g_ptr_array_new ();

  for (guint i = 0; i < mien_ablation_get_n_steps (self->ablation); i++)
    g_ptr_array_add (metrics, g_hash_table_lookup (self->results,
                                                   mien_ablation_get_step_name (self->ablation,
                                                                                i)));
  return metrics;
}

MienExperimentState
mien_experiments_page_get_step_state (MienExperimentsPage *self,
                                      guint                index,
                                      const char         **message)
{
  const char *name;
  Note *note;

  g_return_val_if_fail (MIEN_IS_EXPERIMENTS_PAGE (self), MIEN_EXPERIMENT_WAITING);
  g_return_val_if_fail (self->ablation != NULL, MIEN_EXPERIMENT_WAITING);

  name = mien_ablation_get_step_name (self->ablation, index);
  note = g_hash_table_lookup (self->notes, name);
  if (message != NULL)
    *message = note != NULL ? note->message : NULL;
  if (note != NULL)
    return note->state;
  /* An ensemble trains nothing: it is done when its row is. */
  if (g_hash_table_contains (self->results, name) ||
      (mien_ablation_step_is_started (self->ablation, index) &&
       mien_ablation_step_is_done (self->ablation, index)))
    return MIEN_EXPERIMENT_DONE;
  return MIEN_EXPERIMENT_WAITING;
}

static char *
state_text (MienExperimentsPage *self,
            guint                index)
{
  const char *message = NULL;

  switch (mien_experiments_page_get_step_state (self, index, &message))
    {
    case MIEN_EXPERIMENT_WAITING:
      return g_strdup (_("Waiting"));
    case MIEN_EXPERIMENT_RUNNING:
      {
        Note *note = g_hash_table_lookup (self->notes,
                                          mien_ablation_get_step_name (self->ablation, index));

        return g_strdup (note->text != NULL ? note->text : _("Starting"));
      }
    case MIEN_EXPERIMENT_DONE:
      return g_strdup (_("Done"));
    case MIEN_EXPERIMENT_FAILED:
      /* Translators: a step of the experiment queue that failed, and why. */
      return g_strdup_printf (_("Failed: %s"), message);
    case MIEN_EXPERIMENT_CANCELLED:
    default:
      return g_strdup (_("Cancelled; Resume continues it"));
    }
}

static void
step_button_clicked (GtkButton           *button,
                     MienExperimentsPage *self)
{
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (button), "index"));
  int delta = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "delta"));
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (delta == 0)
    ok = mien_experiments_page_remove_step (self, index, &error);
  else
    ok = mien_experiments_page_move_step (self, index, (guint) ((int) index + delta), &error);
  if (!ok)
    mien_ui_show_error (GTK_WIDGET (self), _("The queue was not changed"), error);
}

static GtkWidget *
step_button (MienExperimentsPage *self,
             guint                index,
             int                  delta,
             const char          *icon,
             const char          *tooltip,
             gboolean             sensitive)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon);

  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_sensitive (button, sensitive);
  g_object_set_data (G_OBJECT (button), "index", GUINT_TO_POINTER (index));
  g_object_set_data (G_OBJECT (button), "delta", GINT_TO_POINTER (delta));
  g_signal_connect (button, "clicked", G_CALLBACK (step_button_clicked), self);
  return button;
}

static void
refresh_steps (MienExperimentsPage *self)
{
  GtkWidget *child;
  guint n = self->ablation != NULL ? mien_ablation_get_n_steps (self->ablation) : 0;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->steps))) != NULL)
    gtk_list_box_remove (self->steps, child);
  g_hash_table_remove_all (self->bars);
  for (guint i = 0; i < n; i++)
    {
      const char *name = mien_ablation_get_step_name (self->ablation, i);
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *subtitle = state_text (self, i);
      MienExperimentState state = mien_experiments_page_get_step_state (self, i, NULL);
      gboolean waiting = !mien_ablation_step_is_started (self->ablation, i) &&
                         state == MIEN_EXPERIMENT_WAITING;

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      if (state == MIEN_EXPERIMENT_RUNNING)
        {
          GtkWidget *bar = gtk_progress_bar_new ();
          Note *note = g_hash_table_lookup (self->notes, name);

          gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (bar), note->fraction);
          gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
          gtk_widget_set_size_request (bar, 160, -1);
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), bar);
          g_hash_table_insert (self->bars, g_strdup (name), bar);
        }
      adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                                 step_button (self, i, -1, "go-up-symbolic", _("Move Up"),
                                              waiting && i > 0));
      adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                                 step_button (self, i, 1, "go-down-symbolic", _("Move Down"),
                                              waiting && i + 1 < n));
      adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                                 step_button (self, i, 0, "user-trash-symbolic", _("Remove"),
                                              waiting));
      gtk_list_box_append (self->steps, row);
    }
}

/* A cell as the Markdown table writes it: the value, and its difference to the baseline. */
static GtkWidget *
table_cell (double        value,
            const double *baseline)
{
  g_autofree char *text = baseline != NULL
                          ? g_strdup_printf ("%.4f (%+.4f)", value, value - *baseline)
                          : g_strdup_printf ("%.4f", value);
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 1.0);
  gtk_widget_add_css_class (label, "numeric");
  if (baseline != NULL && g_strcmp0 (strchr (text, '('), "(+0.0000)") != 0 &&
      g_strcmp0 (strchr (text, '('), "(-0.0000)") != 0)
    gtk_widget_add_css_class (label, value > *baseline ? "success" : "error");
  return label;
}

static void
attach_header (GtkGrid    *grid,
               const char *text,
               int         column)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_widget_add_css_class (label, "heading");
  gtk_label_set_xalign (GTK_LABEL (label), column == 0 ? 0.0 : 1.0);
  gtk_grid_attach (grid, label, column, 0, 1, 1);
}

static void
refresh_table (MienExperimentsPage *self)
{
  g_autoptr(GPtrArray) metrics = NULL;
  MienMetrics *baseline = NULL, *first = NULL;
  GtkWidget *child;
  int row = 1;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->table))) != NULL)
    gtk_grid_remove (self->table, child);
  mien_bar_chart_clear_series (self->chart);
  if (self->ablation == NULL)
    return;
  metrics = plan_metrics (self);
  baseline = metrics->pdata[0];
  for (guint i = 0; i < metrics->len && first == NULL; i++)
    first = metrics->pdata[i];
  gtk_widget_set_visible (self->table_group, first != NULL);
  if (first == NULL)
    return;

  mien_bar_chart_set_categories (self->chart, (const char * const *) first->classes);
  /* Translators: the first column of the experiments table: the run's name. */
  attach_header (self->table, _("Run"), 0);
  for (guint c = 0; c < first->n_classes; c++)
    {
      g_autofree char *heading = mien_ui_capitalise (first->classes[c]);

      attach_header (self->table, heading, (int) c + 1);
    }
  attach_header (self->table, _("Avg."), (int) first->n_classes + 1);
  attach_header (self->table, _("Acc."), (int) first->n_classes + 2);
  for (guint i = 0; i < metrics->len; i++)
    {
      MienMetrics *m = metrics->pdata[i];
      const char *name = mien_ablation_get_step_name (self->ablation, i);
      gboolean diff = i > 0 && baseline != NULL;
      GtkWidget *label;

      if (m == NULL)
        continue;
      label = gtk_label_new (name);
      gtk_label_set_xalign (GTK_LABEL (label), 0.0);
      gtk_grid_attach (self->table, label, 0, row, 1, 1);
      for (guint c = 0; c < m->n_classes; c++)
        gtk_grid_attach (self->table, table_cell (m->f1[c], diff ? &baseline->f1[c] : NULL),
                         (int) c + 1, row, 1, 1);
      gtk_grid_attach (self->table, table_cell (m->macro_f1, diff ? &baseline->macro_f1 : NULL),
                       (int) m->n_classes + 1, row, 1, 1);
      gtk_grid_attach (self->table, table_cell (m->accuracy, diff ? &baseline->accuracy : NULL),
                       (int) m->n_classes + 2, row, 1, 1);
      mien_bar_chart_add_series (self->chart, name, m->f1);
      row++;
    }
}

static void
refresh_actions (MienExperimentsPage *self)
{
  gboolean running = self->cancellable != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "experiments.new", !running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "experiments.open", !running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "experiments.start",
                                 !running && self->ablation != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "experiments.cancel", running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "experiments.export",
                                 g_hash_table_size (self->results) > 0);
  adw_action_row_set_subtitle (self->queue_row,
                               self->ablation != NULL
                               ? mien_ablation_get_dir (self->ablation)
                               : _("None: make a new queue or open one"));
  adw_action_row_set_subtitle (self->plan_row,
                               self->plan_file != NULL ? self->plan_file
                               : _("The paper’s: baseline, label smoothing 0.1/0.2/0.4, class "
                                   "weights, upsampling, on-the-fly RandAugment, DFT, "
                                   "ensemble"));
}

static void
refresh (MienExperimentsPage *self)
{
  refresh_steps (self);
  refresh_table (self);
  refresh_actions (self);
}

/* ---- The queue --------------------------------------------------------------------------- */

static void
show_queue (MienExperimentsPage *self,
            MienAblation        *ablation)
{
  g_set_object (&self->ablation, ablation);
  g_hash_table_remove_all (self->notes);
  g_hash_table_remove_all (self->results);
  refresh (self);
}

static JsonArray *
load_plan (const char  *plan_file,
           GError     **error)
{
  g_autofree char *text = NULL;
  gsize length = 0;

  if (plan_file == NULL)
    return mien_ablation_parse_plan (mien_ablation_paper_plan (), -1, _("the paper’s plan"),
                                     error);
  if (!g_file_get_contents (plan_file, &text, &length, error))
    return NULL;
  return mien_ablation_parse_plan (text, (gssize) length, plan_file, error);
}

gboolean
mien_experiments_page_create_queue (MienExperimentsPage *self,
                                    const char          *dir,
                                    const char          *plan_file,
                                    GError             **error)
{
  GtkWidget *window;
  GtkWidget *train_page;
  g_autoptr(MienTrainConfig) base = NULL;
  g_autoptr(JsonArray) plan = NULL;
  g_autoptr(MienAblation) ablation = NULL;

  g_return_val_if_fail (MIEN_IS_EXPERIMENTS_PAGE (self), FALSE);
  g_return_val_if_fail (dir != NULL, FALSE);

  /* The Train page's form is the base: one place to set backbone, epochs, input size… */
  window = gtk_widget_get_ancestor (GTK_WIDGET (self), MIEN_TYPE_WINDOW);
  train_page = window != NULL ? mien_window_get_page (MIEN_WINDOW (window), "train") : NULL;
  if (train_page == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                   _("The Train page’s settings are not available"));
      return FALSE;
    }
  if ((base = mien_train_page_build_config (MIEN_TRAIN_PAGE (train_page), error)) == NULL ||
      (plan = load_plan (plan_file, error)) == NULL ||
      (ablation = mien_ablation_create (dir, base, plan, error)) == NULL)
    return FALSE;
  show_queue (self, ablation);
  return TRUE;
}

/* The rows of the steps a reopened queue has done, evaluated in a thread on a copy of it: a
 * table of step name → MienMetrics (names: the plan may change meanwhile). */
static void
evaluate_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  MienAblation *ablation = task_data;
  MienPluginEngine *engine = g_object_get_data (G_OBJECT (task), "engine");
  g_autoptr(GError) error = NULL;
  g_autoptr(MienAblation) copy = mien_ablation_open (mien_ablation_get_dir (ablation), &error);
  g_autoptr(GPtrArray) metrics = NULL;
  GHashTable *rows;

  if (copy == NULL ||
      (metrics = mien_ablation_evaluate_done (copy, engine, cancellable, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                (GDestroyNotify) mien_metrics_free);
  for (guint i = 0; i < metrics->len; i++)
    if (metrics->pdata[i] != NULL)
      g_hash_table_insert (rows, g_strdup (mien_ablation_get_step_name (copy, i)),
                           mien_metrics_copy (metrics->pdata[i]));
  g_task_return_pointer (task, rows, (GDestroyNotify) g_hash_table_unref);
}

static void
evaluate_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  MienExperimentsPage *self = MIEN_EXPERIMENTS_PAGE (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) rows = g_task_propagate_pointer (G_TASK (result), &error);
  GHashTableIter iter;
  gpointer name, m;

  if (rows == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        mien_studio_post_error (self->studio, _("The queue’s runs were not evaluated"), error);
      return;
    }
  if (self->ablation != g_task_get_task_data (G_TASK (result)))
    return;  /* another queue was opened meanwhile */
  g_hash_table_iter_init (&iter, rows);
  while (g_hash_table_iter_next (&iter, &name, &m))
    if (!g_hash_table_contains (self->results, name))
      g_hash_table_insert (self->results, g_strdup (name), mien_metrics_copy (m));
  refresh (self);
}

gboolean
mien_experiments_page_open_queue (MienExperimentsPage *self,
                                  const char          *dir,
                                  GError             **error)
{
  g_autoptr(MienAblation) ablation = NULL;
  g_autoptr(GTask) task = NULL;

  g_return_val_if_fail (MIEN_IS_EXPERIMENTS_PAGE (self), FALSE);

  if ((ablation = mien_ablation_open (dir, error)) == NULL)
    return FALSE;
  show_queue (self, ablation);
  task = g_task_new (self, self->page_cancellable, evaluate_done, NULL);
  g_task_set_source_tag (task, mien_experiments_page_open_queue);
  g_task_set_task_data (task, g_object_ref (ablation), g_object_unref);
  g_object_set_data_full (G_OBJECT (task), "engine",
                          g_object_ref (mien_studio_get_engine (self->studio)), g_object_unref);
  g_task_run_in_thread (task, evaluate_thread);
  return TRUE;
}

MienAblation *
mien_experiments_page_get_ablation (MienExperimentsPage *self)
{
  g_return_val_if_fail (MIEN_IS_EXPERIMENTS_PAGE (self), NULL);
  return self->ablation;
}

gboolean
mien_experiments_page_get_running (MienExperimentsPage *self)
{
  g_return_val_if_fail (MIEN_IS_EXPERIMENTS_PAGE (self), FALSE);
  return self->cancellable != NULL;
}

gboolean
mien_experiments_page_move_step (MienExperimentsPage *self,
                                 guint                index,
                                 guint                to,
                                 GError             **error)
{
  g_return_val_if_fail (MIEN_IS_EXPERIMENTS_PAGE (self), FALSE);
  g_return_val_if_fail (self->ablation != NULL, FALSE);

  if (!mien_ablation_move_step (self->ablation, index, to, error))
    return FALSE;
  refresh (self);
  return TRUE;
}

gboolean
mien_experiments_page_remove_step (MienExperimentsPage *self,
                                   guint                index,
                                   GError             **error)
{
  g_return_val_if_fail (MIEN_IS_EXPERIMENTS_PAGE (self), FALSE);
  g_return_val_if_fail (self->ablation != NULL, FALSE);

  if (!mien_ablation_remove_step (self->ablation, index, error))
    return FALSE;
  refresh (self);
  return TRUE;
}

static Note *
running_note (MienExperimentsPage *self,
              const char          *name)
{
  Note *note = g_hash_table_lookup (self->notes, name);

  if (note == NULL)
    {
      note = g_new0 (Note, 1);
      g_hash_table_insert (self->notes, g_strdup (name), note);
    }
  note->state = MIEN_EXPERIMENT_RUNNING;
  return note;
}

static void
on_event (MienAblation            *ablation,
          const MienAblationEvent *event,
          gpointer                 user_data)
{
  MienExperimentsPage *self = user_data;
  Note *note;
  GtkProgressBar *bar;

  if (ablation != self->ablation)
    return;  /* another queue was opened meanwhile */
  switch (event->kind)
    {
    case MIEN_ABLATION_EVENT_STARTED:
      running_note (self, event->name);
      refresh_steps (self);
      break;
    case MIEN_ABLATION_EVENT_PROGRESS:
      note = running_note (self, event->name);
      note->fraction = event->progress.fraction;
      g_free (note->text);
      if (event->progress.phase == MIEN_TRAIN_PHASE_PREPARING)
        note->text = g_strdup_printf (_("Decoding images %u/%u"), event->progress.step,
                                      event->progress.n_steps);
      else
        note->text = g_strdup_printf (_("Epoch %u/%u · step %u/%u · loss %.4f"),
                                      event->progress.epoch, event->progress.n_epochs,
                                      event->progress.step, event->progress.n_steps,
                                      event->progress.loss);
      /* Only the running row changes: no rebuilding ten times a second. */
      if ((bar = g_hash_table_lookup (self->bars, event->name)) != NULL)
        {
          GtkWidget *row = gtk_widget_get_ancestor (GTK_WIDGET (bar), ADW_TYPE_ACTION_ROW);

          gtk_progress_bar_set_fraction (bar, note->fraction);
          adw_action_row_set_subtitle (ADW_ACTION_ROW (row), note->text);
        }
      else
        refresh_steps (self);
      break;
    case MIEN_ABLATION_EVENT_EVALUATED:
      g_hash_table_remove (self->notes, event->name);
      g_hash_table_insert (self->results, g_strdup (event->name),
                           mien_metrics_copy (event->metrics));
      refresh (self);
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
run_done (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(MienExperimentsPage) self = user_data;
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  Note *note;

  mien_ablation_run_finish (MIEN_ABLATION (source), result, &error);
  g_clear_object (&self->cancellable);
  /* The step that was running is where it stopped. */
  g_hash_table_iter_init (&iter, self->notes);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &note))
    if (note->state == MIEN_EXPERIMENT_RUNNING)
      {
        if (error == NULL)
          g_hash_table_iter_remove (&iter);
        else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
          note->state = MIEN_EXPERIMENT_CANCELLED;
        else
          {
            note->state = MIEN_EXPERIMENT_FAILED;
            g_free (note->message);
            note->message = g_strdup (error->message);
          }
      }
  if (source == G_OBJECT (self->ablation))
    refresh (self);
  else
    refresh_actions (self);
  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    mien_studio_post_error (self->studio, _("The experiment queue stopped"), error);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  g_signal_emit (self, signals[QUEUE_FINISHED], 0, error);
}

static void
start_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  MienExperimentsPage *self = MIEN_EXPERIMENTS_PAGE (widget);

  if (self->ablation == NULL || self->cancellable != NULL)
    return;
  self->cancellable = g_cancellable_new ();
  /* Cancelled and failed steps start again; done ones stay done. */
  g_hash_table_remove_all (self->notes);
  mien_ablation_run_async (self->ablation, mien_studio_get_engine (self->studio), on_event, self,
                           self->cancellable, run_done, g_object_ref (self));
  refresh (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  MienExperimentsPage *self = MIEN_EXPERIMENTS_PAGE (widget);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
}

/* ---- Choosing folders and files ---------------------------------------------------------- */

static void
on_new_folder (GFile    *file,
               gpointer  user_data)
{
  g_autoptr(MienExperimentsPage) self = user_data;
  g_autofree char *dir = file != NULL ? g_file_get_path (file) : NULL;
  g_autoptr(GError) error = NULL;

  if (dir != NULL && !mien_experiments_page_create_queue (self, dir, self->plan_file, &error))
    mien_ui_show_error (GTK_WIDGET (self), _("No queue was made"), error);
}

static void
on_open_folder (GFile    *file,
                gpointer  user_data)
{
  g_autoptr(MienExperimentsPage) self = user_data;
  g_autofree char *dir = file != NULL ? g_file_get_path (file) : NULL;
  g_autoptr(GError) error = NULL;

  if (dir != NULL && !mien_experiments_page_open_queue (self, dir, &error))
    mien_ui_show_error (GTK_WIDGET (self), _("The queue did not open"), error);
}

static void
on_plan_file (GFile    *file,
              gpointer  user_data)
{
  g_autoptr(MienExperimentsPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) plan = NULL;
  g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

  if (path == NULL)
    return;
  /* Checked now, so that a bad plan is not found out only when a queue is made. */
  if ((plan = load_plan (path, &error)) == NULL)
    {
      mien_ui_show_error (GTK_WIDGET (self), _("The plan was not used"), error);
      return;
    }
  g_free (self->plan_file);
  self->plan_file = g_steal_pointer (&path);
  refresh_actions (self);
}

/* What the actions that ask for a file or folder ask, and what they do with the answer. */
static const struct {
  const char           *action;
  const char           *title;
  GtkFileChooserAction  chooser;
  const char           *accept;
  MienFileChosenFunc    func;
} choosers[] = {
  { "experiments.new", N_("Folder of the New Queue"), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
    N_("_Create"), on_new_folder },
  { "experiments.open", N_("Open an Experiment Queue"), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
    N_("_Open"), on_open_folder },
  { "experiments.plan-file", N_("A Plan of Experiments (JSON)"), GTK_FILE_CHOOSER_ACTION_OPEN,
    N_("_Use"), on_plan_file },
};

static void
choose_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  for (guint i = 0; i < G_N_ELEMENTS (choosers); i++)
    if (g_str_equal (action_name, choosers[i].action))
      mien_ui_choose_file (widget, _(choosers[i].title), choosers[i].chooser,
                           _(choosers[i].accept), NULL, NULL, choosers[i].func,
                           g_object_ref (widget));
}

static void
paper_plan_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  MienExperimentsPage *self = MIEN_EXPERIMENTS_PAGE (widget);

  g_clear_pointer (&self->plan_file, g_free);
  refresh_actions (self);
}

/* ---- Export ------------------------------------------------------------------------------ */

gboolean
mien_experiments_page_export (MienExperimentsPage *self,
                              const char          *path,
                              MienAblationFormat   format,
                              GError             **error)
{
  g_autoptr(GPtrArray) metrics = NULL;
  g_autofree char *table = NULL;

  g_return_val_if_fail (MIEN_IS_EXPERIMENTS_PAGE (self), FALSE);
  g_return_val_if_fail (self->ablation != NULL, FALSE);

  metrics = plan_metrics (self);
  table = mien_ablation_format_table (self->ablation, metrics, format);
  return g_file_set_contents_full (path, table, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

static const struct {
  const char        *name;        /* the action's parameter */
  MienAblationFormat format;
  const char        *file;        /* suggested */
} exports[] = {
  { "markdown", MIEN_ABLATION_FORMAT_MARKDOWN, "tables.md" },
  { "csv",      MIEN_ABLATION_FORMAT_CSV,      "tables.csv" },
  { "latex",    MIEN_ABLATION_FORMAT_LATEX,    "tables.tex" },
};

static void
on_export_file (GFile    *file,
                gpointer  user_data)
{
  g_autoptr(MienExperimentsPage) self = user_data;
  MienAblationFormat format = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (self), "export"));
  g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;
  g_autoptr(GError) error = NULL;

  if (path != NULL && !mien_experiments_page_export (self, path, format, &error))
    mien_ui_show_error (GTK_WIDGET (self), _("The table was not exported"), error);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  const char *name = g_variant_get_string (parameter, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (exports); i++)
    if (g_str_equal (name, exports[i].name))
      {
        g_object_set_data (G_OBJECT (widget), "export", GUINT_TO_POINTER (exports[i].format));
        mien_ui_choose_file (widget, _("Export the Table"), GTK_FILE_CHOOSER_ACTION_SAVE,
                             _("_Save"), NULL, exports[i].file, on_export_file,
                             g_object_ref (widget));
      }
}

/* ---- For tests --------------------------------------------------------------------------- */

guint
mien_experiments_page_get_n_rows (MienExperimentsPage *self)
{
  int rows = 0;

  g_return_val_if_fail (MIEN_IS_EXPERIMENTS_PAGE (self), 0);
  while (gtk_grid_get_child_at (self->table, 0, rows + 1) != NULL)
    rows++;
  return (guint) rows;
}

char *
mien_experiments_page_dup_cell (MienExperimentsPage *self,
                                guint                row,
                                guint                column)
{
  GtkWidget *label;

  g_return_val_if_fail (MIEN_IS_EXPERIMENTS_PAGE (self), NULL);
  label = gtk_grid_get_child_at (self->table, (int) column, (int) row + 1);
  return label != NULL ? g_strdup (gtk_label_get_text (GTK_LABEL (label))) : NULL;
}

MienBarChart *
mien_experiments_page_get_chart (MienExperimentsPage *self)
{
  g_return_val_if_fail (MIEN_IS_EXPERIMENTS_PAGE (self), NULL);
  return self->chart;
}

/* ---- The widget -------------------------------------------------------------------------- */

static GtkWidget *
action_button (const char *label,
               const char *action,
               const char *target)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (label);

  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
  if (target != NULL)
    gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "s", target);
  return button;
}

static GtkWidget *
button_box (GtkWidget *first,
            ...)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  va_list args;

  va_start (args, first);
  for (GtkWidget *button = first; button != NULL; button = va_arg (args, GtkWidget *))
    gtk_box_append (GTK_BOX (box), button);
  va_end (args);
  return box;
}

static void
build (MienExperimentsPage *self)
{
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *clamp = adw_clamp_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 18);
  GtkWidget *queue = adw_preferences_group_new ();
  GtkWidget *steps = adw_preferences_group_new ();
  GtkWidget *table_scrolled = gtk_scrolled_window_new ();
  GtkWidget *start;

  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 1000);
  gtk_widget_set_margin_top (box, 18);
  gtk_widget_set_margin_bottom (box, 18);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (queue), _("Experiment Queue"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (queue),
    _("One run after another on the open dataset, each with the Train page’s settings and "
      "the step’s own changes. The queue lives in its folder: open it again to resume."));
  self->queue_row = ADW_ACTION_ROW (adw_action_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->queue_row), _("Folder"));
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (self->queue_row), FALSE);
  self->plan_row = ADW_ACTION_ROW (adw_action_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->plan_row), _("Plan"));
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (self->plan_row), FALSE);
  adw_action_row_add_suffix (self->plan_row,
                             button_box (action_button (_("_Paper"), "experiments.plan-paper",
                                                        NULL),
                                         action_button (_("_JSON File…"),
                                                        "experiments.plan-file", NULL),
                                         NULL));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (queue), GTK_WIDGET (self->plan_row));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (queue), GTK_WIDGET (self->queue_row));
  start = action_button (_("_Start or Resume"), "experiments.start", NULL);
  gtk_widget_add_css_class (start, "suggested-action");
  gtk_box_append (GTK_BOX (box), queue);
  gtk_box_append (GTK_BOX (box),
                  button_box (action_button (_("_New Queue…"), "experiments.new", NULL),
                              action_button (_("_Open Queue…"), "experiments.open", NULL),
                              start,
                              action_button (_("_Cancel"), "experiments.cancel", NULL),
                              NULL));

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (steps), _("Steps"));
  self->steps = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->steps, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->steps), "boxed-list");
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (steps), GTK_WIDGET (self->steps));
  gtk_box_append (GTK_BOX (box), steps);

  self->table_group = adw_preferences_group_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (self->table_group),
                                   _("Validation F1 of Each Run’s Best Model"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (self->table_group),
                                         _("In brackets: the difference to the first step’s"));
  self->table = GTK_GRID (gtk_grid_new ());
  gtk_grid_set_column_spacing (self->table, 18);
  gtk_grid_set_row_spacing (self->table, 6);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (table_scrolled), GTK_POLICY_AUTOMATIC,
                                  GTK_POLICY_NEVER);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (table_scrolled),
                                 GTK_WIDGET (self->table));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self->table_group), table_scrolled);
  self->chart = MIEN_BAR_CHART (mien_bar_chart_new ());
  mien_chart_set_title (MIEN_CHART (self->chart), _("Per-Class F1"));
  mien_bar_chart_set_max (self->chart, 1.0);
  gtk_widget_set_size_request (GTK_WIDGET (self->chart), -1, 280);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self->table_group),
                             GTK_WIDGET (self->chart));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self->table_group),
                             button_box (action_button (_("Export _Markdown…"),
                                                        "experiments.export", "markdown"),
                                         action_button (_("Export C_SV…"),
                                                        "experiments.export", "csv"),
                                         action_button (_("Export _LaTeX…"),
                                                        "experiments.export", "latex"),
                                         NULL));
  gtk_widget_set_visible (self->table_group, FALSE);
  gtk_box_append (GTK_BOX (box), self->table_group);

  adw_clamp_set_child (ADW_CLAMP (clamp), box);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), clamp);
  adw_bin_set_child (ADW_BIN (self), scrolled);
}

static void
mien_experiments_page_dispose (GObject *object)
{
  MienExperimentsPage *self = MIEN_EXPERIMENTS_PAGE (object);

  /* The run holds a reference to the page until it stops; stop it when the page goes. */
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->page_cancellable);
  G_OBJECT_CLASS (mien_experiments_page_parent_class)->dispose (object);
}

static void
mien_experiments_page_finalize (GObject *object)
{
  MienExperimentsPage *self = MIEN_EXPERIMENTS_PAGE (object);

  g_clear_object (&self->studio);
  g_clear_object (&self->ablation);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->page_cancellable);
  g_free (self->plan_file);
  g_hash_table_unref (self->notes);
  g_hash_table_unref (self->results);
  g_hash_table_unref (self->bars);
  G_OBJECT_CLASS (mien_experiments_page_parent_class)->finalize (object);
}

static void
mien_experiments_page_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  MienExperimentsPage *self = MIEN_EXPERIMENTS_PAGE (object);

  switch (prop_id)
    {
    case PROP_RUNNING:
      g_value_set_boolean (value, mien_experiments_page_get_running (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_experiments_page_class_init (MienExperimentsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mien_experiments_page_dispose;
  object_class->finalize = mien_experiments_page_finalize;
  object_class->get_property = mien_experiments_page_get_property;

  properties[PROP_RUNNING] = g_param_spec_boolean ("running", NULL, NULL, FALSE,
                                                   G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  signals[QUEUE_FINISHED] = g_signal_new ("queue-finished", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                          1, G_TYPE_POINTER);

  for (guint i = 0; i < G_N_ELEMENTS (choosers); i++)
    gtk_widget_class_install_action (widget_class, choosers[i].action, NULL, choose_action);
  gtk_widget_class_install_action (widget_class, "experiments.plan-paper", NULL,
                                   paper_plan_action);
  gtk_widget_class_install_action (widget_class, "experiments.start", NULL, start_action);
  gtk_widget_class_install_action (widget_class, "experiments.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "experiments.export", "s", export_action);
}

static void
mien_experiments_page_init (MienExperimentsPage *self)
{
  self->notes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) note_free);
  self->results = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) mien_metrics_free);
  self->bars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->page_cancellable = g_cancellable_new ();
  build (self);
  refresh_actions (self);
}

GtkWidget *
mien_experiments_page_new (MienStudio *studio)
{
  MienExperimentsPage *self;

  g_return_val_if_fail (MIEN_IS_STUDIO (studio), NULL);

  self = g_object_new (MIEN_TYPE_EXPERIMENTS_PAGE, NULL);
  self->studio = g_object_ref (studio);
  return GTK_WIDGET (self);
}
