/* mien-application.c — the studio's GtkApplication. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mien-application.h"
#include "mien-kiosk-window.h"
#include "mien-preferences-window.h"
#include "mien-window.h"

struct _MienApplication
{
  AdwApplication parent_instance;

  GSettings     *settings;
  MienStudio    *studio;
  /* --kiosk, --model, --source */
  gboolean       kiosk;
  GStrv          kiosk_models;
  char          *kiosk_source;
};

G_DEFINE_FINAL_TYPE (MienApplication, mien_application, ADW_TYPE_APPLICATION)

static void
apply_style (MienApplication *self)
{
  static const AdwColorScheme schemes[] = {
    ADW_COLOR_SCHEME_DEFAULT, ADW_COLOR_SCHEME_FORCE_LIGHT, ADW_COLOR_SCHEME_FORCE_DARK,
  };
  guint variant = (guint) g_settings_get_enum (self->settings, "style-variant");

  adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                      schemes[MIN (variant, G_N_ELEMENTS (schemes) - 1)]);
}

static void
on_style_changed (GSettings       *settings,
                  const char      *key,
                  MienApplication *self)
{
  apply_style (self);
}

static void
on_threads_changed (GSettings       *settings,
                    const char      *key,
                    MienApplication *self)
{
  mien_torch_set_num_threads (mien_studio_get_threads (self->studio));
}

static void
on_runs_folder_changed (GSettings       *settings,
                        const char      *key,
                        MienApplication *self)
{
  mien_studio_reload_runs (self->studio);
}

static void
quit_activated (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  GApplication *app = user_data;
  /* A copy: closing a window removes it (and its link) from the application's list. */
  GList *windows = g_list_copy_deep (gtk_application_get_windows (GTK_APPLICATION (app)),
                                     (GCopyFunc) (void (*) (void)) g_object_ref, NULL);

  /* Closing through close-request lets the window save its size; training threads stop with
   * their pages' cancellables when the windows are destroyed. No g_application_quit (): the
   * application ends with its last window, or once a cancelled run's thread has finished
   * (the Train page holds it until then). */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
  g_list_free_full (windows, g_object_unref);
}

static void
preferences_activated (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  MienApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));

  gtk_window_present (GTK_WINDOW (mien_preferences_window_new (parent, self->studio)));
}

static void
about_activated (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  GtkApplication *app = user_data;
  static const char *developers[] = { "The Mien developers", NULL };
  GtkWidget *about = adw_about_window_new ();

  g_object_set (about,
                "transient-for", gtk_application_get_active_window (app),
                "application-name", _("Mien"),
                "application-icon", MIEN_APP_ID,
                "version", PACKAGE_VERSION,
                "developer-name", _("The Mien developers"),
                "developers", developers,
                "comments", _("Train and try facial expression recognition models. The training "
                              "method follows “Facial Expression Recognition in the Wild”: label "
                              "smoothing, class weights, RandAugment upsampling and deviation "
                              "fine-tuning."),
                "website", "https://github.com/mienapp/mien",
                "issue-url", "https://github.com/mienapp/mien/issues",
                "license-type", GTK_LICENSE_GPL_3_0,
                "copyright", _("© 2026 The Mien developers"),
                /* Translators: your name and e-mail, one per line */
                "translator-credits", _("translator-credits"),
                NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_actions[] = {
  { "quit", quit_activated, NULL, NULL, NULL, { 0 } },
  { "preferences", preferences_activated, NULL, NULL, NULL, { 0 } },
  { "about", about_activated, NULL, NULL, NULL, { 0 } },
};

static void
mien_application_startup (GApplication *app)
{
  MienApplication *self = MIEN_APPLICATION (app);
  static const struct {
    const char *action;
    const char *accels[3];
  } accels[] = {
    { "app.quit", { "<Control>q", NULL } },
    { "app.preferences", { "<Control>comma", NULL } },
    { "win.show-help-overlay", { "<Control>question", NULL } },
  };

  G_APPLICATION_CLASS (mien_application_parent_class)->startup (app);

  mien_init ();

  self->settings = g_settings_new (MIEN_APP_ID);
  self->studio = mien_studio_new (self->settings);
  mien_torch_set_num_threads (mien_studio_get_threads (self->studio));
  apply_style (self);
  g_signal_connect (self->settings, "changed::style-variant", G_CALLBACK (on_style_changed), self);
  g_signal_connect (self->settings, "changed::threads", G_CALLBACK (on_threads_changed), self);
  g_signal_connect (self->settings, "changed::runs-folder",
                    G_CALLBACK (on_runs_folder_changed), self);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions),
                                   app);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (app), accels[i].action,
                                           accels[i].accels);
}

static void
mien_application_activate (GApplication *app)
{
  MienApplication *self = MIEN_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (self->kiosk)
    {
      g_auto(GStrv) saved = g_settings_get_strv (self->settings, "kiosk-models");
      const char * const *models = self->kiosk_models != NULL
                                   ? (const char * const *) self->kiosk_models
                                   : (const char * const *) saved;

      /* Once: a second activation (the desktop's launcher) shows the studio. */
      self->kiosk = FALSE;
      gtk_window_present (GTK_WINDOW (mien_kiosk_window_new (GTK_APPLICATION (app), self->studio,
                                                             models, self->kiosk_source)));
      return;
    }
  if (window == NULL)
    {
      window = GTK_WINDOW (mien_window_new (ADW_APPLICATION (app), self->studio));
      mien_studio_open_initial_dataset (self->studio);
      mien_studio_reload_runs (self->studio);
    }
  gtk_window_present (window);
}

static int
mien_application_handle_local_options (GApplication *app,
                                       GVariantDict *options)
{
  MienApplication *self = MIEN_APPLICATION (app);

  self->kiosk = g_variant_dict_contains (options, "kiosk");
  g_variant_dict_lookup (options, "model", "^aay", &self->kiosk_models);
  g_variant_dict_lookup (options, "source", "s", &self->kiosk_source);
  if (!self->kiosk && (self->kiosk_models != NULL || self->kiosk_source != NULL))
    {
      g_printerr (_("--model and --source are options of --kiosk\n"));
      return 1;
    }
  for (guint i = 0; self->kiosk_models != NULL && self->kiosk_models[i] != NULL; i++)
    if (!g_file_test (self->kiosk_models[i], G_FILE_TEST_IS_REGULAR))
      {
        g_printerr (_("--model %s: no such model file\n"), self->kiosk_models[i]);
        return 1;
      }
  /* A booth's process of its own, even while the studio runs. */
  if (self->kiosk)
    g_application_set_flags (app, g_application_get_flags (app) | G_APPLICATION_NON_UNIQUE);
  return -1;
}

static void
mien_application_shutdown (GApplication *app)
{
  MienApplication *self = MIEN_APPLICATION (app);

  G_APPLICATION_CLASS (mien_application_parent_class)->shutdown (app);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->studio);
  g_clear_object (&self->settings);
}

static void
mien_application_finalize (GObject *object)
{
  MienApplication *self = MIEN_APPLICATION (object);

  g_strfreev (self->kiosk_models);
  g_free (self->kiosk_source);
  G_OBJECT_CLASS (mien_application_parent_class)->finalize (object);
}

static void
mien_application_class_init (MienApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  app_class->startup = mien_application_startup;
  app_class->activate = mien_application_activate;
  app_class->shutdown = mien_application_shutdown;
  app_class->handle_local_options = mien_application_handle_local_options;
  G_OBJECT_CLASS (klass)->finalize = mien_application_finalize;
}

static void
mien_application_init (MienApplication *self)
{
  static const GOptionEntry entries[] = {
    { "kiosk", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Run full screen for a booth: the camera and the models' predictions, no controls "
         "(leave with Escape held or Ctrl+Alt+Q)"), NULL },
    { "model", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, NULL,
      N_("A model file for kiosk mode (repeat for an ensemble; default: the models last chosen "
         "on the Live page)"), N_("FILE") },
    { "source", 0, 0, G_OPTION_ARG_STRING, NULL,
      N_("The camera for kiosk mode: test, file:PATH, v4l2:/dev/videoN, pipewire:SERIAL or "
         "portal (default: the Live page's)"), N_("ID") },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
}

MienApplication *
mien_application_new (void)
{
  return g_object_new (MIEN_TYPE_APPLICATION,
                       "application-id", MIEN_APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/io/github/mienapp/Mien",
                       NULL);
}

MienStudio *
mien_application_get_studio (MienApplication *self)
{
  g_return_val_if_fail (MIEN_IS_APPLICATION (self), NULL);
  return self->studio;
}
