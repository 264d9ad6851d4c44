/* mien-model-chooser.c — check one model or several: the best model of every past run, then
 * the files the user added.
 *
 * The selection is a list of paths, in the order they were checked (so that an ensemble's
 * members keep the order a caller gave). The rows are rebuilt whenever the studio's runs are
 * reread: MienRun objects are replaced then, so rows are keyed by model path, never by run.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mien-model-chooser.h"
#include "mien-ui-util.h"

struct _MienModelChooser
{
  AdwBin      parent_instance;

  MienStudio *studio;
  GListModel *runs;
  GPtrArray  *files;      /* char *: added model files, in order of addition */
  GPtrArray  *selected;   /* char *: checked paths, in order of checking */
  GHashTable *listed;     /* path → GtkCheckButton of its row (borrowed) */
  gboolean    rebuilding;

  GtkListBox *list;
};

G_DEFINE_FINAL_TYPE (MienModelChooser, mien_model_chooser, ADW_TYPE_BIN)

enum {
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static gboolean
strv_contains (GPtrArray  *array,
               const char *path,
               guint      *index)
{
  return g_ptr_array_find_with_equal_func (array, path, g_str_equal, index);
}

static void
on_check_toggled (GtkCheckButton   *check,
                  MienModelChooser *self)
{
  const char *path = g_object_get_data (G_OBJECT (check), "mien-path");
  gboolean active = gtk_check_button_get_active (check);
  guint index;

  if (self->rebuilding)
    return;
  if (active && !strv_contains (self->selected, path, NULL))
    g_ptr_array_add (self->selected, g_strdup (path));
  else if (!active && strv_contains (self->selected, path, &index))
    g_ptr_array_remove_index (self->selected, index);
  else
    return;
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
add_row (MienModelChooser *self,
         const char       *path,
         const char       *title,
         const char       *subtitle)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *check = gtk_check_button_new ();

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);
  gtk_widget_set_tooltip_text (row, path);

  gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
  gtk_check_button_set_active (GTK_CHECK_BUTTON (check),
                               strv_contains (self->selected, path, NULL));
  gtk_accessible_update_property (GTK_ACCESSIBLE (check), GTK_ACCESSIBLE_PROPERTY_LABEL, title,
                                  -1);
  g_object_set_data_full (G_OBJECT (check), "mien-path", g_strdup (path), g_free);
  g_signal_connect (check, "toggled", G_CALLBACK (on_check_toggled), self);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);

  gtk_list_box_append (self->list, row);
  g_hash_table_insert (self->listed, g_strdup (path), check);
}

/* Rebuilds the rows; checked paths that are no longer listed leave the selection. */
static void
rebuild (MienModelChooser *self)
{
  GtkWidget *child;
  guint n_runs = self->runs != NULL ? g_list_model_get_n_items (self->runs) : 0;
  gboolean changed = FALSE;

  self->rebuilding = TRUE;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL)
    gtk_list_box_remove (self->list, child);
  g_hash_table_remove_all (self->listed);

  for (guint i = 0; i < n_runs; i++)
    {
      g_autoptr(MienRun) run = g_list_model_get_item (self->runs, i);
      const char *best = mien_run_get_best_model (run);
      g_autofree char *description = NULL;

      if (best == NULL || g_hash_table_contains (self->listed, best))
        continue;
      description = mien_run_describe (run);
      add_row (self, best, mien_run_get_name (run), description);
    }
  for (guint i = 0; i < self->files->len; i++)
    {
      const char *path = self->files->pdata[i];
      g_autofree char *name = NULL;
      g_autofree char *folder = NULL;

      if (g_hash_table_contains (self->listed, path))
        continue;
      name = g_path_get_basename (path);
      folder = g_path_get_dirname (path);
      add_row (self, path, name, folder);
    }
  self->rebuilding = FALSE;

  for (guint i = self->selected->len; i > 0; i--)
    if (!g_hash_table_contains (self->listed, self->selected->pdata[i - 1]))
      {
        g_ptr_array_remove_index (self->selected, i - 1);
        changed = TRUE;
      }
  if (changed)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
on_runs_changed (GListModel       *runs,
                 guint             position,
                 guint             removed,
                 guint             added,
                 MienModelChooser *self)
{
  rebuild (self);
}

/* Remembers `path` as an added file unless it is listed already. */
static gboolean
add_file (MienModelChooser *self,
          const char       *path)
{
  if (g_hash_table_contains (self->listed, path) || strv_contains (self->files, path, NULL))
    return FALSE;
  g_ptr_array_add (self->files, g_strdup (path));
  return TRUE;
}

static void
on_files_chosen (GListModel *files,
                 gpointer    user_data)
{
  g_autoptr(MienModelChooser) self = user_data;
  guint n = files != NULL ? g_list_model_get_n_items (files) : 0;
  gboolean changed = FALSE;

  if (n == 0 || self->studio == NULL)
    return;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GFile) file = g_list_model_get_item (files, i);
      g_autofree char *path = g_file_get_path (file);

      if (path == NULL)
        continue;
      add_file (self, path);
      /* A file the user just picked is one they mean to use. */
      if (!strv_contains (self->selected, path, NULL))
        {
          g_ptr_array_add (self->selected, g_strdup (path));
          changed = TRUE;
        }
    }
  rebuild (self);
  if (changed)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
on_add_clicked (MienModelChooser *self)
{
  g_autoptr(GtkFileFilter) models = mien_ui_filter_models ();
  GtkFileFilter *filters[] = { models, NULL };

  mien_ui_choose_files (GTK_WIDGET (self), _("Add Model Files"), filters, on_files_chosen,
                        g_object_ref (self));
}

static void
mien_model_chooser_dispose (GObject *object)
{
  MienModelChooser *self = MIEN_MODEL_CHOOSER (object);

  if (self->runs != NULL)
    g_signal_handlers_disconnect_by_data (self->runs, self);
  g_clear_object (&self->runs);
  g_clear_object (&self->studio);
  G_OBJECT_CLASS (mien_model_chooser_parent_class)->dispose (object);
}

static void
mien_model_chooser_finalize (GObject *object)
{
  MienModelChooser *self = MIEN_MODEL_CHOOSER (object);

  g_ptr_array_unref (self->files);
  g_ptr_array_unref (self->selected);
  g_hash_table_unref (self->listed);
  G_OBJECT_CLASS (mien_model_chooser_parent_class)->finalize (object);
}

static void
mien_model_chooser_class_init (MienModelChooserClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mien_model_chooser_dispose;
  object_class->finalize = mien_model_chooser_finalize;

  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/mienapp/Mien/ui/mien-model-chooser.ui");
  gtk_widget_class_bind_template_child (widget_class, MienModelChooser, list);
  gtk_widget_class_bind_template_callback (widget_class, on_add_clicked);
}

static void
mien_model_chooser_init (MienModelChooser *self)
{
  self->files = g_ptr_array_new_with_free_func (g_free);
  self->selected = g_ptr_array_new_with_free_func (g_free);
  self->listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mien_model_chooser_new (MienStudio *studio)
{
  MienModelChooser *self;

  g_return_val_if_fail (MIEN_IS_STUDIO (studio), NULL);

  self = g_object_new (MIEN_TYPE_MODEL_CHOOSER, NULL);
  self->studio = g_object_ref (studio);
  self->runs = g_object_ref (mien_studio_get_runs (studio));
  g_signal_connect (self->runs, "items-changed", G_CALLBACK (on_runs_changed), self);
  rebuild (self);
  return GTK_WIDGET (self);
}

char **
mien_model_chooser_dup_selected (MienModelChooser *self)
{
  GStrvBuilder *builder;
  char **paths;

  g_return_val_if_fail (MIEN_IS_MODEL_CHOOSER (self), NULL);

  builder = g_strv_builder_new ();
  for (guint i = 0; i < self->selected->len; i++)
    g_strv_builder_add (builder, self->selected->pdata[i]);
  paths = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return paths;
}

void
mien_model_chooser_set_selected (MienModelChooser   *self,
                                 const char * const *paths)
{
  g_auto(GStrv) before = NULL;
  g_auto(GStrv) after = NULL;

  g_return_if_fail (MIEN_IS_MODEL_CHOOSER (self));

  before = mien_model_chooser_dup_selected (self);
  g_ptr_array_set_size (self->selected, 0);
  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    {
      add_file (self, paths[i]);
      if (!strv_contains (self->selected, paths[i], NULL))
        g_ptr_array_add (self->selected, g_strdup (paths[i]));
    }
  rebuild (self);
  after = mien_model_chooser_dup_selected (self);
  if (!g_strv_equal ((const char * const *) before, (const char * const *) after))
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}
