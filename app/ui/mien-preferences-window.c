/* mien-preferences-window.c — Preferences, bound to the GSettings schema. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mien-preferences-window.h"
#include "mien-ui-util.h"

struct _MienPreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  MienStudio   *studio;
  GSettings    *settings;
  /* "cpu", "cuda:0", ... in the order of device_row's items. */
  GPtrArray    *device_ids;

  AdwComboRow  *device_row;
  GtkSpinButton *threads_spin;
  AdwActionRow *datasets_row;
  AdwActionRow *runs_row;
  GtkButton    *datasets_choose;
  GtkButton    *datasets_reset;
  GtkButton    *runs_choose;
  GtkButton    *runs_reset;
  AdwComboRow  *style_row;
};

G_DEFINE_FINAL_TYPE (MienPreferencesWindow, mien_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
update_folders (MienPreferencesWindow *self)
{
  g_autofree char *datasets = mien_studio_dup_datasets_dir (self->studio);
  g_autofree char *runs = mien_studio_dup_runs_dir (self->studio);

  adw_action_row_set_subtitle (self->datasets_row, datasets);
  adw_action_row_set_subtitle (self->runs_row, runs);
}

static void
on_folder_setting_changed (GSettings             *settings,
                           const char            *key,
                           MienPreferencesWindow *self)
{
  update_folders (self);
}

typedef struct {
  MienPreferencesWindow *self;
  const char            *key;
} FolderChoice;

static void
on_folder_chosen (GFile    *file,
                  gpointer  user_data)
{
  FolderChoice *choice = user_data;
  g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

  /* The window may have been closed (and its settings dropped) while the chooser was open. */
  if (path != NULL && choice->self->settings != NULL)
    g_settings_set_string (choice->self->settings, choice->key, path);
  g_object_unref (choice->self);
  g_free (choice);
}

static void
choose_folder (MienPreferencesWindow *self,
               const char            *key,
               const char            *title)
{
  FolderChoice *choice = g_new0 (FolderChoice, 1);

  choice->self = g_object_ref (self);
  choice->key = key;
  mien_ui_choose_file (GTK_WIDGET (self), title, GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                       _("_Select"), NULL, NULL, on_folder_chosen, choice);
}

static void
on_datasets_choose (MienPreferencesWindow *self)
{
  choose_folder (self, "datasets-folder", _("Choose the Datasets Folder"));
}

static void
on_runs_choose (MienPreferencesWindow *self)
{
  choose_folder (self, "runs-folder", _("Choose the Runs Folder"));
}

static void
on_datasets_reset (MienPreferencesWindow *self)
{
  g_settings_reset (self->settings, "datasets-folder");
}

static void
on_runs_reset (MienPreferencesWindow *self)
{
  g_settings_reset (self->settings, "runs-folder");
}

static void
on_device_selected (AdwComboRow           *row,
                    GParamSpec            *pspec,
                    MienPreferencesWindow *self)
{
  guint selected = adw_combo_row_get_selected (row);

  if (selected < self->device_ids->len)
    g_settings_set_string (self->settings, "device", g_ptr_array_index (self->device_ids, selected));
}

static void
fill_devices (MienPreferencesWindow *self)
{
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  g_autofree char *current = g_settings_get_string (self->settings, "device");
  int n_gpus = mien_torch_cuda_device_count ();
  guint selected = 0;

  g_ptr_array_add (self->device_ids, g_strdup ("cpu"));
  gtk_string_list_append (names, _("Processor (CPU)"));
  /* With a CPU-only libtorch there are no GPU entries at all rather than broken ones. */
  for (int i = 0; i < n_gpus; i++)
    {
      g_autofree char *gpu = mien_torch_cuda_device_name (i, NULL);
      g_autofree char *label = g_strdup_printf (_("GPU %d: %s"), i,
                                                gpu != NULL ? gpu : _("CUDA device"));

      g_ptr_array_add (self->device_ids, g_strdup_printf ("cuda:%d", i));
      gtk_string_list_append (names, label);
    }
  for (guint i = 0; i < self->device_ids->len; i++)
    if (g_str_equal (g_ptr_array_index (self->device_ids, i), current))
      selected = i;
  adw_combo_row_set_model (self->device_row, G_LIST_MODEL (names));
  adw_combo_row_set_selected (self->device_row, selected);
  g_signal_connect (self->device_row, "notify::selected", G_CALLBACK (on_device_selected), self);
}

static gboolean
style_get_mapping (GValue   *value,
                   GVariant *variant,
                   gpointer  user_data)
{
  const char *nick = g_variant_get_string (variant, NULL);

  g_value_set_uint (value, g_str_equal (nick, "light") ? 1 : g_str_equal (nick, "dark") ? 2 : 0);
  return TRUE;
}

static GVariant *
style_set_mapping (const GValue       *value,
                   const GVariantType *expected_type,
                   gpointer            user_data)
{
  static const char *nicks[] = { "default", "light", "dark" };

  return g_variant_new_string (nicks[MIN (g_value_get_uint (value), 2)]);
}

static void
mien_preferences_window_dispose (GObject *object)
{
  MienPreferencesWindow *self = MIEN_PREFERENCES_WINDOW (object);

  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);
  g_clear_object (&self->studio);
  g_clear_pointer (&self->device_ids, g_ptr_array_unref);
  G_OBJECT_CLASS (mien_preferences_window_parent_class)->dispose (object);
}

static void
mien_preferences_window_class_init (MienPreferencesWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = mien_preferences_window_dispose;
  gtk_widget_class_set_template_from_resource (
    widget_class, "/io/github/mienapp/Mien/ui/mien-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MienPreferencesWindow, device_row);
  gtk_widget_class_bind_template_child (widget_class, MienPreferencesWindow, threads_spin);
  gtk_widget_class_bind_template_child (widget_class, MienPreferencesWindow, datasets_row);
  gtk_widget_class_bind_template_child (widget_class, MienPreferencesWindow, runs_row);
  gtk_widget_class_bind_template_child (widget_class, MienPreferencesWindow, datasets_choose);
  gtk_widget_class_bind_template_child (widget_class, MienPreferencesWindow, datasets_reset);
  gtk_widget_class_bind_template_child (widget_class, MienPreferencesWindow, runs_choose);
  gtk_widget_class_bind_template_child (widget_class, MienPreferencesWindow, runs_reset);
  gtk_widget_class_bind_template_child (widget_class, MienPreferencesWindow, style_row);
}

static void
mien_preferences_window_init (MienPreferencesWindow *self)
{
  self->device_ids = g_ptr_array_new_with_free_func (g_free);
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mien_preferences_window_new (GtkWindow  *parent,
                             MienStudio *studio)
{
  MienPreferencesWindow *self;

  g_return_val_if_fail (MIEN_IS_STUDIO (studio), NULL);

  self = g_object_new (MIEN_TYPE_PREFERENCES_WINDOW, "transient-for", parent, NULL);
  self->studio = g_object_ref (studio);
  self->settings = g_object_ref (mien_studio_get_settings (studio));

  fill_devices (self);
  g_settings_bind (self->settings, "threads", self->threads_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (self->settings, "style-variant", self->style_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, style_get_mapping, style_set_mapping,
                                NULL, NULL);
  g_signal_connect_swapped (self->datasets_choose, "clicked", G_CALLBACK (on_datasets_choose), self);
  g_signal_connect_swapped (self->runs_choose, "clicked", G_CALLBACK (on_runs_choose), self);
  g_signal_connect_swapped (self->datasets_reset, "clicked", G_CALLBACK (on_datasets_reset), self);
  g_signal_connect_swapped (self->runs_reset, "clicked", G_CALLBACK (on_runs_reset), self);
  g_signal_connect (self->settings, "changed::datasets-folder",
                    G_CALLBACK (on_folder_setting_changed), self);
  g_signal_connect (self->settings, "changed::runs-folder",
                    G_CALLBACK (on_folder_setting_changed), self);
  update_folders (self);
  return GTK_WIDGET (self);
}
