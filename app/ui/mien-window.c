/* mien-window.c — the main window. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mien-capture-page.h"
#include "mien-dataset-page.h"
#include "mien-evaluate-page.h"
#include "mien-experiments-page.h"
#include "mien-kiosk-window.h"
#include "mien-live-page.h"
#include "mien-predict-page.h"
#include "mien-train-page.h"
#include "mien-ui-util.h"
#include "mien-window.h"

struct _MienWindow
{
  AdwApplicationWindow parent_instance;

  MienStudio          *studio;

  AdwToastOverlay     *toast_overlay;
  AdwViewStack        *stack;
  GtkRevealer         *busy_revealer;
  GtkLabel            *busy_label;
  GtkProgressBar      *busy_bar;
  guint                pulse_id;
  /* The user chose to stop a training run by closing the window. */
  gboolean             close_confirmed;
};

G_DEFINE_FINAL_TYPE (MienWindow, mien_window, ADW_TYPE_APPLICATION_WINDOW)

/* The pages in order: their names (for actions and tests), titles and icons. */
static const struct {
  const char *name;
  const char *title;
  const char *icon;
  GtkWidget *(*create) (MienStudio *studio);
} pages[] = {
  { "dataset",  N_("Dataset"),  "folder-pictures-symbolic",     mien_dataset_page_new },
  { "train",    N_("Train"),    "system-run-symbolic",          mien_train_page_new },
  { "evaluate", N_("Evaluate"), "x-office-spreadsheet-symbolic", mien_evaluate_page_new },
  { "predict",  N_("Predict"),  "image-x-generic-symbolic",     mien_predict_page_new },
  { "live",     N_("Live"),     "camera-web-symbolic",          mien_live_page_new },
  { "capture",  N_("Capture"),  "camera-photo-symbolic",        mien_capture_page_new },
  { "experiments", N_("Experiments"), "view-list-symbolic",      mien_experiments_page_new },
};

static void
on_message (MienStudio *studio,
            const char *message,
            MienWindow *self)
{
  AdwToast *toast = adw_toast_new (message);

  adw_toast_set_timeout (toast, 5);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static gboolean
pulse (gpointer data)
{
  MienWindow *self = data;

  gtk_progress_bar_pulse (self->busy_bar);
  return G_SOURCE_CONTINUE;
}

static void
update_busy (MienWindow *self)
{
  gboolean busy;
  double progress;
  g_autofree char *text = NULL;

  g_object_get (self->studio, "busy", &busy, "progress", &progress, "progress-text", &text, NULL);
  gtk_revealer_set_reveal_child (self->busy_revealer, busy);
  gtk_label_set_text (self->busy_label, text != NULL ? text : "");
  if (busy && progress < 0.0)
    {
      if (self->pulse_id == 0)
        self->pulse_id = g_timeout_add (200, pulse, self);
    }
  else
    {
      g_clear_handle_id (&self->pulse_id, g_source_remove);
      gtk_progress_bar_set_fraction (self->busy_bar, MAX (progress, 0.0));
    }
}

static void
on_busy_changed (GObject    *studio,
                 GParamSpec *pspec,
                 MienWindow *self)
{
  update_busy (self);
}

static void
on_dataset_chosen (GFile    *file,
                   gpointer  user_data)
{
  MienWindow *self = user_data;
  g_autofree char *path = NULL;

  /* The window may have been closed (and its studio dropped) while the chooser was open. */
  if (file != NULL && self->studio != NULL && (path = g_file_get_path (file)) != NULL)
    {
      mien_studio_open_dataset (self->studio, path);
      mien_window_show_page (self, "dataset");
    }
  g_object_unref (self);
}

static void
open_dataset_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  MienWindow *self = MIEN_WINDOW (widget);
  gboolean manifest = g_str_equal (action_name, "win.open-manifest");
  g_autoptr(GtkFileFilter) csv = mien_ui_filter_csv ();
  GtkFileFilter *filters[] = { csv, NULL };

  mien_ui_choose_file (widget,
                       manifest ? _("Open a Dataset Manifest") : _("Open a Dataset Folder"),
                       manifest ? GTK_FILE_CHOOSER_ACTION_OPEN
                                : GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                       _("_Open"), manifest ? filters : NULL, NULL,
                       on_dataset_chosen, g_object_ref (self));
}

static void
open_demo_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  MienWindow *self = MIEN_WINDOW (widget);

  /* Forgetting the last dataset makes the initial choice the demo set (drawn if missing). */
  g_settings_set_string (mien_studio_get_settings (self->studio), "last-dataset", "");
  mien_studio_open_initial_dataset (self->studio);
  mien_window_show_page (self, "dataset");
}

/* Kiosk mode on the Live page's models and source; the page lets go of the camera first. */
static void
kiosk_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  MienWindow *self = MIEN_WINDOW (widget);
  MienLivePage *live_page = MIEN_LIVE_PAGE (mien_window_get_page (self, "live"));
  g_auto(GStrv) models = mien_live_page_dup_models (live_page);
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  if (mien_live_page_get_running (live_page))
    gtk_widget_activate_action (GTK_WIDGET (live_page), "live.stop", NULL);
  /* What `mien --kiosk` without --model runs next time. */
  g_settings_set_strv (mien_studio_get_settings (self->studio), "kiosk-models",
                       (const char * const *) models);
  gtk_window_present (GTK_WINDOW (mien_kiosk_window_new (app, self->studio,
                                                         (const char * const *) models, NULL)));
}

static void
show_page_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  mien_window_show_page (MIEN_WINDOW (widget), g_variant_get_string (parameter, NULL));
}

/* Page actions live on their pages, so an accelerator would only reach them while the focus is
 * inside that page. The window's shortcuts forward them instead, showing the page first. */
static const struct {
  guint           key;
  GdkModifierType mods;
  const char     *page;
  const char     *action;
} page_shortcuts[] = {
  { GDK_KEY_Return, GDK_CONTROL_MASK, "train",    "train.start" },
  { GDK_KEY_period, GDK_CONTROL_MASK, "train",    "train.cancel" },
  { GDK_KEY_e,      GDK_CONTROL_MASK, "evaluate", "evaluate.export-csv" },
  { GDK_KEY_i,      GDK_CONTROL_MASK, "predict",  "predict.open" },
  { GDK_KEY_l,      GDK_CONTROL_MASK, "live",     "live.toggle" },
};

static gboolean
page_shortcut (GtkWidget *widget,
               GVariant  *args,
               gpointer   user_data)
{
  MienWindow *self = MIEN_WINDOW (widget);
  guint index = g_variant_get_uint32 (args);
  GtkWidget *target = mien_window_get_page (self, page_shortcuts[index].page);
  const char *action = page_shortcuts[index].action;

  if (target == NULL)
    return FALSE;
  mien_window_show_page (self, page_shortcuts[index].page);
  /* One key starts and stops the camera. */
  if (g_str_equal (action, "live.toggle"))
    action = mien_live_page_get_running (MIEN_LIVE_PAGE (target)) ? "live.stop" : "live.start";
  return gtk_widget_activate_action (target, action, NULL);
}

static void
mien_window_dispose (GObject *object)
{
  MienWindow *self = MIEN_WINDOW (object);

  g_clear_handle_id (&self->pulse_id, g_source_remove);
  if (self->studio != NULL)
    g_signal_handlers_disconnect_by_data (self->studio, self);
  g_clear_object (&self->studio);
  G_OBJECT_CLASS (mien_window_parent_class)->dispose (object);
}

static void
on_close_response (AdwMessageDialog *dialog,
                   const char       *response,
                   MienWindow       *self)
{
  if (g_str_equal (response, "stop"))
    {
      self->close_confirmed = TRUE;
      gtk_window_close (GTK_WINDOW (self));
    }
}

/* Closing cancels a training run; the user is asked first, since the epoch in progress is lost
 * (the run stays resumable from its last finished epoch). */
static gboolean
confirm_stop_training (MienWindow *self)
{
  GtkWidget *train_page = mien_window_get_page (self, "train");
  GtkWidget *dialog;

  if (self->close_confirmed || train_page == NULL
      || !mien_train_page_get_running (MIEN_TRAIN_PAGE (train_page)))
    return FALSE;

  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Stop Training?"),
                                   _("Closing the window stops the run after the current batch. "
                                     "The epoch in progress is lost; the run can be resumed "
                                     "later from its last finished epoch."));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "keep", _("_Keep Training"),
                                    "stop", _("_Stop and Close"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "stop",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "keep");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "keep");
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_close_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  return TRUE;
}

static gboolean
mien_window_close_request (GtkWindow *window)
{
  MienWindow *self = MIEN_WINDOW (window);
  GSettings *settings = mien_studio_get_settings (self->studio);
  int width, height;

  if (confirm_stop_training (self))
    return TRUE;

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (settings, "window-width", width);
  g_settings_set_int (settings, "window-height", height);
  g_settings_set_boolean (settings, "window-maximized", gtk_window_is_maximized (window));
  return GTK_WINDOW_CLASS (mien_window_parent_class)->close_request (window);
}

static void
mien_window_class_init (MienWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mien_window_dispose;
  GTK_WINDOW_CLASS (klass)->close_request = mien_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/mienapp/Mien/ui/mien-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MienWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, MienWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, MienWindow, busy_revealer);
  gtk_widget_class_bind_template_child (widget_class, MienWindow, busy_label);
  gtk_widget_class_bind_template_child (widget_class, MienWindow, busy_bar);

  gtk_widget_class_install_action (widget_class, "win.open-dataset", NULL, open_dataset_action);
  gtk_widget_class_install_action (widget_class, "win.open-manifest", NULL, open_dataset_action);
  gtk_widget_class_install_action (widget_class, "win.open-demo", NULL, open_demo_action);
  gtk_widget_class_install_action (widget_class, "win.show-page", "s", show_page_action);
  gtk_widget_class_install_action (widget_class, "win.kiosk", NULL, kiosk_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK,
                                       "win.open-dataset", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1 + i, GDK_ALT_MASK,
                                         "win.show-page", "s", pages[i].name);
  for (guint i = 0; i < G_N_ELEMENTS (page_shortcuts); i++)
    gtk_widget_class_add_binding (widget_class, page_shortcuts[i].key, page_shortcuts[i].mods,
                                  page_shortcut, "u", i);
}

static void
mien_window_init (MienWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

MienWindow *
mien_window_new (AdwApplication *app,
                 MienStudio     *studio)
{
  MienWindow *self;
  GSettings *settings;

  g_return_val_if_fail (ADW_IS_APPLICATION (app), NULL);
  g_return_val_if_fail (MIEN_IS_STUDIO (studio), NULL);

  self = g_object_new (MIEN_TYPE_WINDOW, "application", app, NULL);
  self->studio = g_object_ref (studio);

  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      AdwViewStackPage *page =
        adw_view_stack_add_titled (self->stack, pages[i].create (studio), pages[i].name,
                                   _(pages[i].title));

      adw_view_stack_page_set_icon_name (page, pages[i].icon);
    }

  settings = mien_studio_get_settings (studio);
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (settings, "window-width"),
                               g_settings_get_int (settings, "window-height"));
  if (g_settings_get_boolean (settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  g_signal_connect (studio, "message", G_CALLBACK (on_message), self);
  g_signal_connect (studio, "notify::busy", G_CALLBACK (on_busy_changed), self);
  g_signal_connect (studio, "notify::progress", G_CALLBACK (on_busy_changed), self);
  g_signal_connect (studio, "notify::progress-text", G_CALLBACK (on_busy_changed), self);
  update_busy (self);
  return self;
}

GtkWidget *
mien_window_get_page (MienWindow *self,
                      const char *name)
{
  g_return_val_if_fail (MIEN_IS_WINDOW (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return adw_view_stack_get_child_by_name (self->stack, name);
}

void
mien_window_show_page (MienWindow *self,
                       const char *name)
{
  g_return_if_fail (MIEN_IS_WINDOW (self));

  if (adw_view_stack_get_child_by_name (self->stack, name) != NULL)
    adw_view_stack_set_visible_child_name (self->stack, name);
}

gboolean
mien_window_save_screenshot (MienWindow  *self,
                             const char  *path,
                             GError     **error)
{
  GtkWidget *widget = GTK_WIDGET (self);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GtkSnapshot) snapshot = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GskRenderer *renderer;

  g_return_val_if_fail (MIEN_IS_WINDOW (self), FALSE);

  renderer = gtk_native_get_renderer (GTK_NATIVE (self));
  if (renderer == NULL || width <= 0 || height <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                   _("The window is not shown yet"));
      return FALSE;
    }
  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  if (node == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("The window drew nothing"));
      return FALSE;
    }
  texture = gsk_renderer_render_texture (renderer, node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not write “%s”"), path);
      return FALSE;
    }
  return TRUE;
}
