/* mien-ui-util.c — file choosers, filters and formatting shared by the studio's pages. */
#include "config.h"

#include <math.h>

#include <glib/gi18n-lib.h>

#include "mien-ui-util.h"

#include "mien-dataset.h"

typedef struct {
  gboolean            multiple;
  MienFileChosenFunc  func;
  MienFilesChosenFunc files_func;
  gpointer            user_data;
} ChooserData;

static void
chooser_response (GtkNativeDialog *dialog,
                  int              response,
                  gpointer         user_data)
{
  ChooserData *data = user_data;
  GtkFileChooser *chooser = GTK_FILE_CHOOSER (dialog);

  if (data->multiple)
    {
      g_autoptr(GListModel) files = NULL;

      if (response == GTK_RESPONSE_ACCEPT)
        files = gtk_file_chooser_get_files (chooser);
      data->files_func (files, data->user_data);
    }
  else
    {
      g_autoptr(GFile) file = NULL;

      if (response == GTK_RESPONSE_ACCEPT)
        file = gtk_file_chooser_get_file (chooser);
      data->func (file, data->user_data);
    }
  g_free (data);
  /* The dialog holds the only reference taken at creation. */
  g_object_unref (dialog);
}

static GtkFileChooserNative *
new_chooser (GtkWidget            *parent,
             const char           *title,
             GtkFileChooserAction  action,
             const char           *accept_label,
             GtkFileFilter       **filters)
{
  GtkRoot *root = parent != NULL ? gtk_widget_get_root (parent) : NULL;
  GtkFileChooserNative *native =
    gtk_file_chooser_native_new (title, GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                 action, accept_label, _("_Cancel"));

  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  for (guint i = 0; filters != NULL && filters[i] != NULL; i++)
    gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), filters[i]);
  return native;
}

void
mien_ui_choose_file (GtkWidget            *parent,
                     const char           *title,
                     GtkFileChooserAction  action,
                     const char           *accept_label,
                     GtkFileFilter       **filters,
                     const char           *suggested_name,
                     MienFileChosenFunc    func,
                     gpointer              user_data)
{
  GtkFileChooserNative *native;
  ChooserData *data;

  g_return_if_fail (func != NULL);

  native = new_chooser (parent, title, action, accept_label, filters);
  if (action == GTK_FILE_CHOOSER_ACTION_SAVE && suggested_name != NULL)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (native), suggested_name);
  data = g_new0 (ChooserData, 1);
  data->func = func;
  data->user_data = user_data;
  g_signal_connect (native, "response", G_CALLBACK (chooser_response), data);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

void
mien_ui_choose_files (GtkWidget            *parent,
                      const char           *title,
                      GtkFileFilter       **filters,
                      MienFilesChosenFunc   func,
                      gpointer              user_data)
{
  GtkFileChooserNative *native;
  ChooserData *data;

  g_return_if_fail (func != NULL);

  native = new_chooser (parent, title, GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), filters);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (native), TRUE);
  data = g_new0 (ChooserData, 1);
  data->multiple = TRUE;
  data->files_func = func;
  data->user_data = user_data;
  g_signal_connect (native, "response", G_CALLBACK (chooser_response), data);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

GtkFileFilter *
mien_ui_filter_images (void)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("Images"));
  gtk_file_filter_add_pixbuf_formats (filter);
  return filter;
}

static GtkFileFilter *
filter_for (const char *name,
            const char *mime_type,
            const char *pattern)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, name);
  if (mime_type != NULL)
    gtk_file_filter_add_mime_type (filter, mime_type);
  gtk_file_filter_add_suffix (filter, pattern);
  return filter;
}

GtkFileFilter *
mien_ui_filter_models (void)
{
  return filter_for (_("Mien models (safetensors)"), NULL, "safetensors");
}

GtkFileFilter *
mien_ui_filter_csv (void)
{
  return filter_for (_("CSV files"), "text/csv", "csv");
}

GtkFileFilter *
mien_ui_filter_datasets (void)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  /* RAF-DB's labels are a .txt file; the other FER datasets are CSV files. */
  gtk_file_filter_set_name (filter, _("Manifests and FER dataset files"));
  gtk_file_filter_add_suffix (filter, "csv");
  gtk_file_filter_add_suffix (filter, "txt");
  return filter;
}

void
mien_ui_show_splits (GtkDropDown        *dropdown,
                     const char * const *splits,
                     const char         *shown)
{
  g_autoptr(GtkStringList) model = gtk_string_list_new (splits);
  guint n = g_strv_length ((char **) splits);
  guint selected = 0;

  g_return_if_fail (GTK_IS_DROP_DOWN (dropdown));

  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (splits[i], shown) == 0)
      selected = i;
  gtk_drop_down_set_model (dropdown, G_LIST_MODEL (model));
  gtk_drop_down_set_selected (dropdown, selected);
  gtk_widget_set_visible (GTK_WIDGET (dropdown), n > 1);
}

static void
list_splits_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  g_autoptr(MienDataset) dataset = NULL;
  GError *error = NULL;

  dataset = mien_dataset_open (task_data, NULL, &error);
  if (dataset == NULL)
    g_task_return_error (task, error);
  else if (!g_task_return_error_if_cancelled (task))
    g_task_return_pointer (task, g_strdupv ((char **) mien_dataset_get_splits (dataset)),
                           (GDestroyNotify) g_strfreev);
}

void
mien_ui_list_splits_async (const char          *path,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_return_if_fail (path != NULL);

  g_task_set_source_tag (task, mien_ui_list_splits_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, list_splits_thread);
}

char **
mien_ui_list_splits_finish (GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

GtkFileFilter *
mien_ui_filter_png (void)
{
  return filter_for (_("PNG images"), "image/png", "png");
}

GtkFileFilter *
mien_ui_filter_svg (void)
{
  return filter_for (_("SVG images"), "image/svg+xml", "svg");
}

char *
mien_ui_format_duration (double seconds)
{
  guint64 s;

  if (seconds < 0.0 || !isfinite (seconds))
    return g_strdup ("—");
  s = (guint64) (seconds + 0.5);
  if (s >= 3600)
    return g_strdup_printf ("%" G_GUINT64_FORMAT ":%02u:%02u", s / 3600,
                            (guint) (s / 60 % 60), (guint) (s % 60));
  return g_strdup_printf ("%u:%02u", (guint) (s / 60), (guint) (s % 60));
}

char *
mien_ui_capitalise (const char *name)
{
  g_autofree char *first = NULL;
  const char *rest;

  g_return_val_if_fail (name != NULL, NULL);

  if (name[0] == '\0')
    return g_strdup ("");
  rest = g_utf8_next_char (name);
  first = g_utf8_strup (name, rest - name);
  return g_strconcat (first, rest, NULL);
}

void
mien_ui_show_error (GtkWidget    *widget,
                    const char   *heading,
                    const GError *error)
{
  GtkRoot *root = widget != NULL ? gtk_widget_get_root (widget) : NULL;
  GtkWidget *dialog;

  g_return_if_fail (heading != NULL);

  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, heading,
                                   error != NULL ? error->message : NULL);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "close");
  gtk_window_present (GTK_WINDOW (dialog));
}

void
mien_ui_contain_rect (GtkWidget *widget,
                      int        frame_width,
                      int        frame_height,
                      double    *ox,
                      double    *oy,
                      double    *scale)
{
  double width = gtk_widget_get_width (widget);
  double height = gtk_widget_get_height (widget);
  double ratio = (double) frame_width / frame_height;
  double w, h;

  if (ratio > width / height)
    {
      w = width;
      h = width / ratio;
    }
  else
    {
      w = height * ratio;
      h = height;
    }
  *scale = w / frame_width;
  *ox = (width - ceil (w)) / 2;
  *oy = floor ((height - ceil (h)) / 2);
}
