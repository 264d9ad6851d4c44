/* mien-preferences-window.c — Preferences, bound to the GSettings schema. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mien-annotated-frame.h"
#include "mien-device.h"
#include "mien-face-model.h"
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
  AdwActionRow *face_model_row;
  AdwActionRow *snapshots_row;
  GtkWidget    *face_model_reset;
  GtkWidget    *face_model_choose;
  GtkWidget    *face_model_download;
  GtkWidget    *face_model_cancel;
  GtkProgressBar *face_model_progress;

  /* The YuNet download, while it runs. */
  GCancellable *download_cancellable;
  guint         download_poll_id;
  gint          download_permille;  /* atomic: written by the download's thread */
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

/* ---- Kiosk mode: built here rather than in the template, as one group of its own ---------- */

static void
update_snapshots_folder (MienPreferencesWindow *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = mien_annotated_frame_dup_folder (self->settings, &error);

  adw_action_row_set_subtitle (self->snapshots_row, folder != NULL ? folder : error->message);
}

static void
on_snapshots_setting_changed (GSettings             *settings,
                              const char            *key,
                              MienPreferencesWindow *self)
{
  update_snapshots_folder (self);
}

static void
on_snapshots_choose (MienPreferencesWindow *self)
{
  choose_folder (self, "snapshots-folder", _("Snapshots Folder"));
}

static GtkWidget *
add_kiosk_row (MienPreferencesWindow *self,
               AdwPreferencesGroup   *group,
               const char            *title,
               const char            *tooltip,
               GtkWidget             *suffix)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (row), TRUE);
  gtk_widget_set_tooltip_text (row, tooltip);
  gtk_widget_set_valign (suffix, GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), suffix);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), suffix);
  adw_preferences_group_add (group, row);
  return row;
}

static void
add_kiosk_switch (MienPreferencesWindow *self,
                  AdwPreferencesGroup   *group,
                  const char            *key,
                  const char            *title,
                  const char            *tooltip)
{
  GtkWidget *toggle = gtk_switch_new ();

  g_settings_bind (self->settings, key, toggle, "active", G_SETTINGS_BIND_DEFAULT);
  add_kiosk_row (self, group, title, tooltip, toggle);
}

static void
add_kiosk_page (MienPreferencesWindow *self)
{
  GtkWidget *page = adw_preferences_page_new ();
  GtkWidget *group = adw_preferences_group_new ();
  GtkWidget *spin = gtk_spin_button_new_with_range (1, 3600, 1);
  GtkWidget *choose = gtk_button_new_from_icon_name ("folder-open-symbolic");

  adw_preferences_page_set_title (ADW_PREFERENCES_PAGE (page), _("Kiosk"));
  adw_preferences_page_set_icon_name (ADW_PREFERENCES_PAGE (page), "video-display-symbolic");
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Kiosk Mode"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group),
                                         _("Full screen predictions for a booth: the primary "
                                           "menu’s Kiosk Mode, or mien --kiosk. Leave it with "
                                           "Escape held for two seconds, or Ctrl+Alt+Q."));
  add_kiosk_switch (self, ADW_PREFERENCES_GROUP (group), "kiosk-mirror", _("_Mirror the Camera"),
                    _("Show the camera as a mirror would: visitors who move left see themselves "
                      "move left"));
  add_kiosk_switch (self, ADW_PREFERENCES_GROUP (group), "kiosk-emoji", _("_Emoji"),
                    _("Show an emoji beside each class that has one"));
  g_settings_bind (self->settings, "kiosk-attract-delay", spin, "value", G_SETTINGS_BIND_DEFAULT);
  add_kiosk_row (self, ADW_PREFERENCES_GROUP (group), _("_Attract Screen After (Seconds)"),
                 _("Seconds without a face in view before “Step in front of the camera” shows"),
                 spin);
  add_kiosk_switch (self, ADW_PREFERENCES_GROUP (group), "kiosk-log", _("_Log the Predictions"),
                    _("Record every face’s predictions as a CSV file in the snapshots folder"));
  gtk_widget_set_tooltip_text (choose, _("Choose the folder"));
  self->snapshots_row = ADW_ACTION_ROW (add_kiosk_row (self, ADW_PREFERENCES_GROUP (group),
                                                       _("_Snapshots Folder"),
                                                       _("Where snapshots (S in kiosk mode) and "
                                                         "prediction logs are saved"),
                                                       choose));
  gtk_widget_add_css_class (choose, "flat");
  g_signal_connect_swapped (choose, "clicked", G_CALLBACK (on_snapshots_choose), self);
  g_signal_connect (self->settings, "changed::snapshots-folder",
                    G_CALLBACK (on_snapshots_setting_changed), self);
  update_snapshots_folder (self);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (group));
  adw_preferences_window_add (ADW_PREFERENCES_WINDOW (self), ADW_PREFERENCES_PAGE (page));
}

/* ---- The face detector's model file ------------------------------------------------------ */

static void
update_face_model (MienPreferencesWindow *self)
{
  const MienFaceModelInfo *info = mien_face_model_get_yunet ();
  g_autofree char *custom = g_settings_get_string (self->settings, "face-model");
  g_autofree char *path = custom[0] != '\0' ? g_strdup (custom)
                                             : mien_face_model_get_default_path ();
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  gboolean downloading = self->download_cancellable != NULL;
  gboolean ready;

  /* A file of one's own need not be the pinned one; the detector says whether it loads. */
  if (custom[0] != '\0')
    ready = g_file_test (path, G_FILE_TEST_IS_REGULAR);
  else
    ready = mien_face_model_verify (path, info->sha256, info->size, &error);

  if (downloading)
    text = g_strdup (_("Downloading…"));
  else if (ready)
    /* Translators: %s is the model file's path. */
    text = g_strdup_printf (_("In use: %s"), path);
  else if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    /* Translators: the downloaded file is damaged or not the expected one. */
    text = g_strdup_printf (_("Not usable (%s); download it again"), error->message);
  else
    /* Translators: %s is where the model file is looked for. */
    text = g_strdup_printf (_("Not downloaded: faces are found with OpenCV’s Haar cascade. "
                              "YuNet is looked for at %s."), path);
  adw_action_row_set_subtitle (self->face_model_row, text);
  gtk_widget_set_visible (self->face_model_download, !downloading && !ready &&
                                                      custom[0] == '\0');
  gtk_widget_set_visible (self->face_model_cancel, downloading);
  gtk_widget_set_visible (self->face_model_reset, custom[0] != '\0');
  gtk_widget_set_visible (GTK_WIDGET (self->face_model_progress), downloading);
}

static void
download_progress (double      fraction,
                   const char *message,
                   gpointer    user_data)
{
  MienPreferencesWindow *self = user_data;

  g_atomic_int_set (&self->download_permille, fraction < 0 ? -1 : (int) (fraction * 1000));
}

static gboolean
poll_download (gpointer data)
{
  MienPreferencesWindow *self = data;
  int permille = g_atomic_int_get (&self->download_permille);

  if (permille < 0)
    gtk_progress_bar_pulse (self->face_model_progress);
  else
    gtk_progress_bar_set_fraction (self->face_model_progress, permille / 1000.0);
  return G_SOURCE_CONTINUE;
}

static void
download_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  const MienFaceModelInfo *info = mien_face_model_get_yunet ();
  g_autofree char *dest = mien_face_model_get_download_path ();
  GError *error = NULL;

  if (mien_download_file (info->url, info->sha256, info->size, dest, download_progress,
                          source_object, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
download_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  MienPreferencesWindow *self = MIEN_PREFERENCES_WINDOW (source);
  g_autoptr(GError) error = NULL;

  g_clear_handle_id (&self->download_poll_id, g_source_remove);
  g_clear_object (&self->download_cancellable);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *text = g_strdup_printf (_("Could not download YuNet: %s"),
                                                   error->message);

          adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (text));
        }
    }
  else
    adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                      adw_toast_new (_("YuNet is ready: faces are found with it "
                                                       "from the next start of Live")));
  if (self->settings != NULL)
    update_face_model (self);
}

static void
on_face_model_download (MienPreferencesWindow *self)
{
  g_autoptr(GTask) task = NULL;

  if (self->download_cancellable != NULL)
    return;
  self->download_cancellable = g_cancellable_new ();
  g_atomic_int_set (&self->download_permille, 0);
  gtk_progress_bar_set_fraction (self->face_model_progress, 0.0);
  self->download_poll_id = g_timeout_add (100, poll_download, self);
  /* The task holds the window until the download ends (closing it cancels the download). */
  task = g_task_new (self, self->download_cancellable, download_done, NULL);
  g_task_set_source_tag (task, on_face_model_download);
  g_task_run_in_thread (task, download_thread);
  update_face_model (self);
}

static void
on_face_model_cancel (MienPreferencesWindow *self)
{
  g_cancellable_cancel (self->download_cancellable);
}

static void
on_face_model_chosen (GFile    *file,
                      gpointer  user_data)
{
  MienPreferencesWindow *self = user_data;
  g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

  if (path != NULL && self->settings != NULL)
    g_settings_set_string (self->settings, "face-model", path);
  g_object_unref (self);
}

static void
on_face_model_choose (MienPreferencesWindow *self)
{
  g_autoptr(GtkFileFilter) onnx = gtk_file_filter_new ();
  GtkFileFilter *filters[] = { onnx, NULL };

  gtk_file_filter_set_name (onnx, _("ONNX models"));
  gtk_file_filter_add_suffix (onnx, "onnx");
  mien_ui_choose_file (GTK_WIDGET (self), _("Choose YuNet’s Model File"),
                       GTK_FILE_CHOOSER_ACTION_OPEN, _("_Select"), filters, NULL,
                       on_face_model_chosen, g_object_ref (self));
}

static void
on_face_model_reset (MienPreferencesWindow *self)
{
  g_settings_reset (self->settings, "face-model");
}

static void
on_face_model_setting_changed (GSettings             *settings,
                               const char            *key,
                               MienPreferencesWindow *self)
{
  update_face_model (self);
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
  g_autoptr(GPtrArray) devices = mien_device_list ();
  guint selected = 0;

  /* With a CPU-only libtorch there are no GPU entries at all rather than broken ones. */
  for (guint i = 0; i < devices->len; i++)
    {
      MienDeviceInfo *info = devices->pdata[i];

      g_ptr_array_add (self->device_ids, g_strdup (info->name));
      gtk_string_list_append (names, info->label);
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

  g_cancellable_cancel (self->download_cancellable);
  g_clear_handle_id (&self->download_poll_id, g_source_remove);
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
  gtk_widget_class_bind_template_child (widget_class, MienPreferencesWindow, face_model_row);
  gtk_widget_class_bind_template_child (widget_class, MienPreferencesWindow, face_model_reset);
  gtk_widget_class_bind_template_child (widget_class, MienPreferencesWindow, face_model_choose);
  gtk_widget_class_bind_template_child (widget_class, MienPreferencesWindow, face_model_download);
  gtk_widget_class_bind_template_child (widget_class, MienPreferencesWindow, face_model_cancel);
  gtk_widget_class_bind_template_child (widget_class, MienPreferencesWindow, face_model_progress);
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
  g_signal_connect_swapped (self->face_model_download, "clicked",
                            G_CALLBACK (on_face_model_download), self);
  g_signal_connect_swapped (self->face_model_cancel, "clicked",
                            G_CALLBACK (on_face_model_cancel), self);
  g_signal_connect_swapped (self->face_model_choose, "clicked",
                            G_CALLBACK (on_face_model_choose), self);
  g_signal_connect_swapped (self->face_model_reset, "clicked",
                            G_CALLBACK (on_face_model_reset), self);
  g_signal_connect (self->settings, "changed::face-model",
                    G_CALLBACK (on_face_model_setting_changed), self);
  update_face_model (self);
  add_kiosk_page (self);
  return GTK_WIDGET (self);
}
