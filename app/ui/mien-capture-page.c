/* mien-capture-page.c — recording face crops of each class into a class-folder dataset.
 *
 * The camera's frames reach the main loop through a MienFrameFeed (newest frame only). While a
 * class is held, each frame shown is pushed to the MienCapture, whose own thread detects, crops,
 * checks and writes, and reports every frame back as "result". A capture is made when the
 * source starts (its detector opened on a thread) and is replaced when the dataset or the
 * crops' options change; captures and cameras are stopped on a thread of their own
 * (stop_async ()), since stopping a capture waits for the frame it is working on. A thumbnail
 * keeps the capture that wrote its crop: only that capture may delete it.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mien-camera.h"
#include "mien-capture-page.h"
#include "mien-dataset.h"
#include "mien-demo-data.h"
#include "mien-face-overlay.h"
#include "mien-frame-feed.h"
#include "mien-live-frames.h"
#include "mien-ui-util.h"

/* The test pattern's size (as the Live page's); other sources keep their own. */
#define CAPTURE_TEST_WIDTH  640
#define CAPTURE_TEST_HEIGHT 480
/* Thumbnails shown at most (the oldest go first), and their side in pixels. */
#define MAX_THUMBNAILS      48
#define THUMBNAIL_SIDE      96
/* Classes that have a key: 1–9. */
#define N_CLASS_KEYS        9

typedef struct {
  char      *name;
  guint      count;
  GtkWidget *row;
  GtkWidget *record_button;
  GtkWidget *rename_button;
  GtkWidget *remove_button;
} ClassEntry;

struct _MienCapturePage
{
  AdwBin              parent_instance;

  MienStudio         *studio;
  GSettings          *settings;
  GCancellable       *cancellable;     /* the page's life: probing, opening datasets */

  /* The sources, found on a thread. */
  gboolean            probed;
  gboolean            supported;
  GPtrArray          *cameras;         /* MienCameraSource */
  GPtrArray          *row_ids;         /* char *: the source row's items; NULL = "a file…" */
  char               *source_id;
  gboolean            updating_rows;

  /* The dataset. */
  char               *dataset_dir;     /* what the Train page opens */
  char               *capture_dir;     /* where the class folders are: dataset_dir or its train/ */
  GPtrArray          *classes;         /* ClassEntry */
  GCancellable       *open_cancellable;

  /* While the camera opens (the camera portal may be asking the user). */
  GCancellable       *camera_cancellable;

  /* While running. */
  MienCamera         *camera;
  MienFrameFeed      *feed;
  MienCapture        *capture;
  GCancellable       *detector_cancellable;
  gboolean            running;
  gboolean            ready;
  gboolean            capture_failed;
  char               *recording;       /* the class held, or NULL */
  guint               recording_key;   /* the key holding it, 0 for a button */
  guint64             n_outcomes[MIEN_CAPTURE_N_OUTCOMES];

  GPtrArray          *stopping;        /* Stopping: cameras and captures stopping on a thread */
  GtkWindow          *window;
  GtkEventController *keys;            /* on the window: number keys wherever the focus is */
  gulong              active_id;

  /* Template children. */
  GtkStack           *stack;
  GtkRevealer        *error_revealer;
  GtkLabel           *error_label;
  GtkStack           *view_stack;
  AdwStatusPage      *stopped_page;
  GtkPicture         *picture;
  MienFaceBoxes      *boxes;
  MienLiveFrames     *frames;
  GtkLabel           *status_label;
  GtkWidget          *start_button;
  GtkWidget          *stop_button;
  GtkFlowBox         *thumbnails;
  AdwActionRow       *dataset_row;
  GtkListBox         *class_list;
  AdwEntryRow        *add_row;
  AdwComboRow        *source_row;
  GtkSpinButton      *size_spin;
  GtkSpinButton      *margin_spin;
  GtkSwitch          *grey_switch;
};

G_DEFINE_FINAL_TYPE (MienCapturePage, mien_capture_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_STUDIO,
  PROP_DATASET_DIR,
  PROP_RUNNING,
  PROP_READY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void stop_running    (MienCapturePage *self);
static void replace_capture (MienCapturePage *self);

static void
class_entry_free (gpointer data)
{
  ClassEntry *entry = data;

  g_free (entry->name);
  g_free (entry);
}

static ClassEntry *
find_class (MienCapturePage *self,
            const char      *name)
{
  for (guint i = 0; name != NULL && i < self->classes->len; i++)
    {
      ClassEntry *entry = self->classes->pdata[i];

      if (g_str_equal (entry->name, name))
        return entry;
    }
  return NULL;
}

/* `what` may be NULL when the message says it all. */
static void
show_error (MienCapturePage *self,
            const char      *what,
            const GError    *error)
{
  g_autofree char *text = what != NULL ? g_strdup_printf ("%s: %s", what, error->message)
                                       : g_strdup (error->message);

  gtk_label_set_text (self->error_label, text);
  gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
  mien_studio_post_error (self->studio, what, error);
}

static void
on_dismiss_error (MienCapturePage *self)
{
  gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
}

/* ---- State ----------------------------------------------------------------------------------- */

static void
update_status (MienCapturePage *self)
{
  g_autoptr(GString) text = g_string_new (NULL);

  if (!self->running)
    {
      gtk_label_set_text (self->status_label, "");
      return;
    }
  if (self->capture == NULL)
    g_string_append (text, _("Opening the face detector…"));
  else if (self->recording != NULL)
    /* Translators: the class whose faces are being recorded. */
    g_string_append_printf (text, _("Recording “%s”"), self->recording);
  else
    g_string_append (text, _("Hold a class to record"));
  for (MienCaptureOutcome o = MIEN_CAPTURE_KEPT; o < MIEN_CAPTURE_N_OUTCOMES; o++)
    /* Translators: an outcome ("kept", "no face", "blurred", …) and its frames. */
    g_string_append_printf (text, _(" · %s %llu"), mien_capture_outcome_to_string (o),
                            (unsigned long long) self->n_outcomes[o]);
  gtk_label_set_text (self->status_label, text->str);
}

/* Start needs a source that can be opened, a dataset, nothing running and nothing still
 * stopping (a camera being stopped may still hold its device). */
static gboolean
can_start (MienCapturePage *self)
{
  return self->probed && self->supported && self->dataset_dir != NULL && !self->running &&
         self->camera_cancellable == NULL && self->stopping->len == 0;
}

static void
update_state (MienCapturePage *self)
{
  gboolean ready = self->running && self->capture != NULL;
  gboolean opening = self->camera_cancellable != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "capture.start", can_start (self));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "capture.stop", self->running || opening);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "capture.train", self->dataset_dir != NULL);
  gtk_widget_set_visible (self->start_button, !self->running && !opening);
  gtk_widget_set_visible (self->stop_button, self->running || opening);
  gtk_widget_set_sensitive (GTK_WIDGET (self->add_row), self->dataset_dir != NULL);
  if (self->probed && !self->supported)
    gtk_stack_set_visible_child_name (self->stack, "unsupported");

  if (!self->running)
    {
      const char *title, *description;

      if (!self->probed)
        {
          title = _("Looking for Cameras");
          description = _("This takes a moment the first time.");
        }
      else if (opening)
        {
          title = _("Starting…");
          description = NULL;
        }
      else if (self->dataset_dir == NULL)
        {
          title = _("Choose a Dataset");
          description = _("Make a new dataset or open one on the right: the faces recorded go "
                          "into its class folders.");
        }
      else
        {
          title = _("Camera Off");
          description = _("Press Start, then hold a class’s record button or its number key "
                          "while the face shows that expression.");
        }
      adw_status_page_set_title (self->stopped_page, title);
      adw_status_page_set_description (self->stopped_page, description);
      gtk_stack_set_visible_child_name (self->view_stack, "stopped");
    }
  update_status (self);

  if (self->ready != ready)
    {
      self->ready = ready;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READY]);
    }
}

/* ---- Stopping on a thread -------------------------------------------------------------------- */

typedef struct {
  GWeakRef      page;
  GThread      *thread;
  GMainContext *context;
  MienCamera   *camera;
  MienCapture  *capture;
} Stopping;

static void
stopping_free (Stopping *stopping)
{
  g_weak_ref_clear (&stopping->page);
  g_main_context_unref (stopping->context);
  g_clear_object (&stopping->camera);
  g_clear_object (&stopping->capture);
  g_free (stopping);
}

static gboolean
stopping_done (gpointer data)
{
  Stopping *stopping = data;
  g_autoptr(MienCapturePage) self = g_weak_ref_get (&stopping->page);

  /* Not listed any more: dispose joined the thread already. */
  if (self != NULL && self->stopping != NULL &&
      g_ptr_array_remove_fast (self->stopping, stopping))
    {
      g_thread_join (stopping->thread);
      update_state (self);
    }
  /* Released here, on the main context, where the capture's signals were connected. */
  stopping_free (stopping);
  return G_SOURCE_REMOVE;
}

static gpointer
stopping_thread (gpointer data)
{
  Stopping *stopping = data;
  g_autoptr(GSource) source = g_idle_source_new ();

  /* The camera first: no frame is pushed any more. */
  if (stopping->camera != NULL)
    mien_camera_stop (stopping->camera);
  if (stopping->capture != NULL)
    mien_capture_stop (stopping->capture);
  g_source_set_callback (source, stopping_done, stopping, NULL);
  g_source_set_static_name (source, "[mien] capture stopped");
  g_source_attach (source, stopping->context);
  return NULL;
}

/* Takes `camera` and `capture` (either may be NULL), whose signals must be disconnected from
 * the page already, and stops them on a thread. */
static void
stop_async (MienCapturePage *self,
            MienCamera      *camera,
            MienCapture     *capture)
{
  Stopping *stopping;

  if (camera == NULL && capture == NULL)
    return;
  stopping = g_new0 (Stopping, 1);
  g_weak_ref_init (&stopping->page, self);
  stopping->context = g_main_context_ref_thread_default ();
  stopping->camera = camera;
  stopping->capture = capture;
  g_ptr_array_add (self->stopping, stopping);
  stopping->thread = g_thread_new ("mien-capture-stop", stopping_thread, stopping);
}

/* ---- Classes --------------------------------------------------------------------------------- */

static void
update_class_row (MienCapturePage *self,
                  ClassEntry      *entry)
{
  g_autofree char *subtitle =
    /* Translators: the images a class has in the dataset. */
    g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u image", "%u images", entry->count),
                     entry->count);
  gboolean held = g_strcmp0 (self->recording, entry->name) == 0;

  adw_action_row_set_subtitle (ADW_ACTION_ROW (entry->row), subtitle);
  /* Renaming or removing a class that has images would move or lose them. */
  gtk_widget_set_sensitive (entry->rename_button, entry->count == 0);
  gtk_widget_set_sensitive (entry->remove_button, entry->count == 0);
  if (held)
    gtk_widget_add_css_class (entry->record_button, "destructive-action");
  else
    gtk_widget_remove_css_class (entry->record_button, "destructive-action");
}

static void
start_recording (MienCapturePage *self,
                 const char      *name,
                 guint            key)
{
  ClassEntry *old = find_class (self, self->recording);
  ClassEntry *entry = find_class (self, name);

  if (entry == NULL)
    return;
  g_free (self->recording);
  self->recording = g_strdup (name);
  self->recording_key = key;
  if (old != NULL)
    update_class_row (self, old);
  update_class_row (self, entry);
  update_status (self);
}

static void
stop_recording (MienCapturePage *self)
{
  ClassEntry *entry = find_class (self, self->recording);

  g_clear_pointer (&self->recording, g_free);
  self->recording_key = 0;
  mien_face_boxes_clear (self->boxes);
  if (entry != NULL)
    update_class_row (self, entry);
  update_status (self);
}

static void
on_record_pressed (GtkGestureClick *gesture,
                   int              n_press,
                   double           x,
                   double           y,
                   MienCapturePage *self)
{
  GtkWidget *button = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (gesture));

  /* Held, not clicked: the button's own click must not take the release away. */
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  start_recording (self, g_object_get_data (G_OBJECT (button), "mien-class"), 0);
}

static void
on_record_released (MienCapturePage *self)
{
  if (self->recording_key == 0)
    stop_recording (self);
}

static GtkWidget *
class_button (const char *icon,
              const char *tooltip,
              const char *action,
              const char *name)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon);

  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (button, tooltip);
  /* An icon says nothing to a screen reader. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, tooltip,
                                  -1);
  gtk_widget_add_css_class (button, "flat");
  if (action != NULL)
    {
      gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
      gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "s", name);
    }
  return button;
}

static void
rebuild_class_list (MienCapturePage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->class_list))) !=
         GTK_WIDGET (self->add_row))
    gtk_list_box_remove (self->class_list, child);
  for (guint i = 0; i < self->classes->len; i++)
    {
      ClassEntry *entry = self->classes->pdata[i];
      GtkGesture *gesture = gtk_gesture_click_new ();
      g_autofree char *record_tooltip = NULL;

      entry->row = adw_action_row_new ();
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (entry->row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (entry->row), entry->name);
      if (i < N_CLASS_KEYS)
        {
          g_autofree char *key = g_strdup_printf ("%u", i + 1);
          GtkWidget *label = gtk_label_new (key);

          gtk_widget_add_css_class (label, "dim-label");
          gtk_widget_add_css_class (label, "numeric");
          adw_action_row_add_prefix (ADW_ACTION_ROW (entry->row), label);
          /* Translators: the number key that records a class while it is held. */
          record_tooltip = g_strdup_printf (_("Hold to record this class (or hold key %u)"),
                                            i + 1);
        }
      entry->record_button = class_button ("media-record-symbolic",
                                           record_tooltip != NULL ? record_tooltip
                                                                  : _("Hold to record this class"),
                                           NULL, NULL);
      g_object_set_data_full (G_OBJECT (entry->record_button), "mien-class",
                              g_strdup (entry->name), g_free);
      gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (gesture),
                                                  GTK_PHASE_CAPTURE);
      g_signal_connect (gesture, "pressed", G_CALLBACK (on_record_pressed), self);
      g_signal_connect_swapped (gesture, "released", G_CALLBACK (on_record_released), self);
      g_signal_connect_swapped (gesture, "cancel", G_CALLBACK (on_record_released), self);
      gtk_widget_add_controller (entry->record_button, GTK_EVENT_CONTROLLER (gesture));
      entry->rename_button = class_button ("document-edit-symbolic",
                                           _("Rename this class (while it has no images)"),
                                           "capture.rename-class", entry->name);
      entry->remove_button = class_button ("list-remove-symbolic",
                                           _("Remove this class (while it has no images)"),
                                           "capture.remove-class", entry->name);
      adw_action_row_add_suffix (ADW_ACTION_ROW (entry->row), entry->rename_button);
      adw_action_row_add_suffix (ADW_ACTION_ROW (entry->row), entry->remove_button);
      adw_action_row_add_suffix (ADW_ACTION_ROW (entry->row), entry->record_button);
      gtk_list_box_insert (self->class_list, entry->row, i);
      update_class_row (self, entry);
    }
}

/* Whether `name` can be added (or another class renamed to it): a folder name, not listed. */
static gboolean
check_new_class (MienCapturePage  *self,
                 const char       *name,
                 GError          **error)
{
  if (!mien_capture_check_class_name (name, error))
    return FALSE;
  if (find_class (self, name) != NULL)
    {
      g_set_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_CLASS,
                   _("There is a class “%s” already"), name);
      return FALSE;
    }
  return TRUE;
}

static void
add_class (MienCapturePage *self,
           const char      *name,
           guint            count)
{
  ClassEntry *entry = g_new0 (ClassEntry, 1);

  entry->name = g_strdup (name);
  entry->count = count;
  g_ptr_array_add (self->classes, entry);
}

static void
on_add_class (MienCapturePage *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->add_row))));

  if (!check_new_class (self, name, &error))
    {
      show_error (self, _("Could not add the class"), error);
      return;
    }
  add_class (self, name, 0);
  rebuild_class_list (self);
  gtk_editable_set_text (GTK_EDITABLE (self->add_row), "");
}

/* The class folder, which need not exist. */
static char *
class_dir (MienCapturePage *self,
           const char      *name)
{
  return g_build_filename (self->capture_dir, name, NULL);
}

static gboolean
rename_class (MienCapturePage  *self,
              const char       *old_name,
              const char       *new_name,
              GError          **error)
{
  ClassEntry *entry = find_class (self, old_name);
  g_autofree char *old_dir = NULL;
  g_autofree char *new_dir = NULL;

  if (entry == NULL || entry->count > 0)
    {
      g_set_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_CLASS,
                   _("“%s” has images: only a class without images is renamed here"), old_name);
      return FALSE;
    }
  if (g_str_equal (old_name, new_name))
    return TRUE;
  if (!check_new_class (self, new_name, error))
    return FALSE;
  old_dir = class_dir (self, old_name);
  new_dir = class_dir (self, new_name);
  /* A folder of that name that is not listed (not a class folder) is not taken over. */
  if (g_file_test (new_dir, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, _("“%s” exists already"), new_dir);
      return FALSE;
    }
  if (g_file_test (old_dir, G_FILE_TEST_IS_DIR) && g_rename (old_dir, new_dir) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not rename “%s”: %s"), old_dir, g_strerror (saved_errno));
      return FALSE;
    }
  if (g_strcmp0 (self->recording, old_name) == 0)
    stop_recording (self);
  g_free (entry->name);
  entry->name = g_strdup (new_name);
  rebuild_class_list (self);
  return TRUE;
}

static void
remove_class_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  MienCapturePage *self = MIEN_CAPTURE_PAGE (widget);
  const char *name = g_variant_get_string (parameter, NULL);
  ClassEntry *entry = find_class (self, name);
  g_autofree char *dir = NULL;

  if (entry == NULL || entry->count > 0)
    return;
  if (g_strcmp0 (self->recording, name) == 0)
    stop_recording (self);
  /* An empty folder goes with it; one holding other files stays (and lists it again). */
  dir = class_dir (self, name);
  g_rmdir (dir);
  g_ptr_array_remove (self->classes, entry);
  rebuild_class_list (self);
}

/* ---- Asking for a name ----------------------------------------------------------------------- */

typedef gboolean (*NameFunc) (MienCapturePage  *self,
                              const char       *old_name,
                              const char       *name,
                              GError          **error);

typedef struct {
  MienCapturePage *self;
  GtkEditable     *entry;
  char            *old_name;
  NameFunc         func;
  const char      *failure;
} NameRequest;

static void
name_request_free (gpointer data)
{
  NameRequest *request = data;

  g_object_unref (request->self);
  g_free (request->old_name);
  g_free (request);
}

static void
on_name_response (AdwMessageDialog *dialog,
                  const char       *response,
                  NameRequest      *request)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;

  if (!g_str_equal (response, "ok") || request->self->studio == NULL)
    return;
  name = g_strstrip (g_strdup (gtk_editable_get_text (request->entry)));
  if (!request->func (request->self, request->old_name, name, &error))
    show_error (request->self, request->failure, error);
}

static void
ask_name (MienCapturePage *self,
          const char      *heading,
          const char      *body,
          const char      *accept,
          const char      *old_name,
          NameFunc         func,
          const char      *failure)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))),
                                              heading, body);
  GtkWidget *entry = gtk_entry_new ();
  NameRequest *request = g_new0 (NameRequest, 1);

  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  if (old_name != NULL)
    gtk_editable_set_text (GTK_EDITABLE (entry), old_name);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"),
                                    "ok", accept, NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "ok",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "ok");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  request->self = g_object_ref (self);
  request->entry = GTK_EDITABLE (entry);
  request->old_name = g_strdup (old_name);
  request->func = func;
  request->failure = failure;
  g_signal_connect_data (dialog, "response", G_CALLBACK (on_name_response), request,
                         (GClosureNotify) (void (*) (void)) name_request_free, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

static void
rename_class_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  ask_name (MIEN_CAPTURE_PAGE (widget), _("Rename the Class"), NULL, _("_Rename"),
            g_variant_get_string (parameter, NULL), rename_class,
            _("Could not rename the class"));
}

/* ---- Thumbnails ------------------------------------------------------------------------------ */

static void
clear_thumbnails (MienCapturePage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->thumbnails))) != NULL)
    gtk_flow_box_remove (self->thumbnails, child);
}

static guint
count_thumbnails (MienCapturePage *self)
{
  guint n = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->thumbnails));
       child != NULL; child = gtk_widget_get_next_sibling (child))
    n++;
  return n;
}

/* The thumbnail's own widget (inside its GtkFlowBoxChild), which carries its file, class and
 * capture. */
static GtkWidget *
thumbnail_at (MienCapturePage *self,
              guint            index)
{
  GtkFlowBoxChild *child = gtk_flow_box_get_child_at_index (self->thumbnails, index);

  return child != NULL ? gtk_flow_box_child_get_child (child) : NULL;
}

static void
add_thumbnail (MienCapturePage         *self,
               const MienCaptureResult *result)
{
  g_autoptr(GdkPixbuf) small = gdk_pixbuf_scale_simple (result->crop, THUMBNAIL_SIDE,
                                                        THUMBNAIL_SIDE, GDK_INTERP_BILINEAR);
  g_autoptr(GdkTexture) texture = gdk_texture_new_for_pixbuf (small);
  g_autofree char *description = NULL;
  GtkWidget *overlay = gtk_overlay_new ();
  GtkWidget *picture = gtk_picture_new_for_paintable (GDK_PAINTABLE (texture));
  GtkWidget *delete = class_button ("user-trash-symbolic", _("Delete this crop"),
                                    "capture.delete-crop", result->path);
  guint n;

  gtk_widget_set_size_request (picture, THUMBNAIL_SIDE, THUMBNAIL_SIDE);
  /* Translators: a thumbnail's description: the class of the face recorded. */
  description = g_strdup_printf (_("A face recorded for “%s”"), result->class_name);
  gtk_picture_set_alternative_text (GTK_PICTURE (picture), description);
  gtk_overlay_set_child (GTK_OVERLAY (overlay), picture);
  gtk_widget_remove_css_class (delete, "flat");
  gtk_widget_add_css_class (delete, "osd");
  gtk_widget_add_css_class (delete, "circular");
  gtk_widget_set_halign (delete, GTK_ALIGN_END);
  gtk_widget_set_valign (delete, GTK_ALIGN_START);
  gtk_widget_set_margin_top (delete, 4);
  gtk_widget_set_margin_end (delete, 4);
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), delete);
  g_object_set_data_full (G_OBJECT (overlay), "mien-path", g_strdup (result->path), g_free);
  g_object_set_data_full (G_OBJECT (overlay), "mien-class", g_strdup (result->class_name),
                          g_free);
  g_object_set_data_full (G_OBJECT (overlay), "mien-capture", g_object_ref (self->capture),
                          g_object_unref);
  gtk_flow_box_insert (self->thumbnails, overlay, 0);

  for (n = count_thumbnails (self); n > MAX_THUMBNAILS; n--)
    gtk_flow_box_remove (self->thumbnails,
                         GTK_WIDGET (gtk_flow_box_get_child_at_index (self->thumbnails, n - 1)));
}

static void
delete_crop_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  MienCapturePage *self = MIEN_CAPTURE_PAGE (widget);
  const char *path = g_variant_get_string (parameter, NULL);
  g_autoptr(GError) error = NULL;
  GtkWidget *thumbnail = NULL;
  ClassEntry *entry;

  for (guint i = 0; (thumbnail = thumbnail_at (self, i)) != NULL; i++)
    if (g_str_equal (g_object_get_data (G_OBJECT (thumbnail), "mien-path"), path))
      break;
  if (thumbnail == NULL)
    return;
  if (!mien_capture_delete (g_object_get_data (G_OBJECT (thumbnail), "mien-capture"), path,
                            &error))
    {
      show_error (self, _("Could not delete the crop"), error);
      return;
    }
  entry = find_class (self, g_object_get_data (G_OBJECT (thumbnail), "mien-class"));
  if (entry != NULL && entry->count > 0)
    {
      entry->count--;
      update_class_row (self, entry);
    }
  gtk_flow_box_remove (self->thumbnails, gtk_widget_get_parent (thumbnail));
}

/* ---- Frames and results ---------------------------------------------------------------------- */

static void
on_feed_frame (MienFrameFeed   *feed,
               GdkPixbuf       *frame,
               MienCapturePage *self)
{
  int width = gdk_pixbuf_get_width (frame);
  int height = gdk_pixbuf_get_height (frame);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GdkTexture) texture = NULL;

  if (feed != self->feed)
    return;
  /* A view of the frame's pixels, not a copy. */
  bytes = gdk_pixbuf_read_pixel_bytes (frame);
  texture = gdk_memory_texture_new (width, height, GDK_MEMORY_R8G8B8, bytes,
                                    gdk_pixbuf_get_rowstride (frame));
  mien_live_frames_set_texture (self->frames, texture);
  mien_face_boxes_set_frame_size (self->boxes, width, height);
  gtk_stack_set_visible_child_name (self->view_stack, "frames");
  if (self->recording != NULL && self->capture != NULL)
    mien_capture_push (self->capture, frame, self->recording, -1);
}

static void
on_capture_result (MienCapture             *capture,
                   const MienCaptureResult *result,
                   MienCapturePage         *self)
{
  ClassEntry *entry;

  if (capture != self->capture)
    return;
  self->n_outcomes[result->outcome]++;
  mien_face_boxes_clear (self->boxes);
  if (result->has_face && self->recording != NULL)
    {
      const char *label = result->outcome == MIEN_CAPTURE_KEPT
                          ? result->class_name
                          : mien_capture_outcome_to_string (result->outcome);

      mien_face_boxes_add (self->boxes, &result->face, g_strdup (label));
    }
  if (result->outcome == MIEN_CAPTURE_KEPT)
    {
      if ((entry = find_class (self, result->class_name)) != NULL)
        {
          entry->count++;
          update_class_row (self, entry);
        }
      if (result->crop != NULL && result->path != NULL)
        add_thumbnail (self, result);
    }
  update_status (self);
}

static void
on_capture_error (MienCapture     *capture,
                  const GError    *error,
                  MienCapturePage *self)
{
  /* The thread goes on with the next frame: said once, not at every frame. */
  if (capture != self->capture || self->capture_failed)
    return;
  self->capture_failed = TRUE;
  stop_recording (self);
  show_error (self, _("Could not record a face"), error);
}

/* ---- The capture and its detector ------------------------------------------------------------ */

static void
on_detector_opened (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(MienCapturePage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienFaceDetector) detector =
    mien_studio_open_face_detector_finish (MIEN_STUDIO (source), result, &error);
  MienCaptureOptions options = MIEN_CAPTURE_OPTIONS_INIT;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->detector_cancellable);
  if (detector == NULL)
    {
      show_error (self, _("Faces cannot be found"), error);
      return;
    }
  if (!self->running || self->capture_dir == NULL)
    return;
  options.size = g_settings_get_int (self->settings, "capture-size");
  options.margin = g_settings_get_double (self->settings, "capture-margin");
  options.grey = g_settings_get_boolean (self->settings, "capture-grey");
  self->capture = mien_capture_new (self->capture_dir, g_steal_pointer (&detector), &options,
                                    &error);
  if (self->capture == NULL)
    {
      show_error (self, _("Could not record into the dataset"), error);
      return;
    }
  self->capture_failed = FALSE;
  g_signal_connect (self->capture, "result", G_CALLBACK (on_capture_result), self);
  g_signal_connect (self->capture, "error", G_CALLBACK (on_capture_error), self);
  update_state (self);
}

/* Stops the capture (on a thread) and, when the source is on, makes a new one for the dataset
 * and the options of now, once its detector is open. */
static void
replace_capture (MienCapturePage *self)
{
  MienCapture *old = g_steal_pointer (&self->capture);

  g_cancellable_cancel (self->detector_cancellable);
  g_clear_object (&self->detector_cancellable);
  if (old != NULL)
    g_signal_handlers_disconnect_by_data (old, self);
  /* With the camera, when the source stops: the camera first. */
  stop_async (self, self->running ? NULL : g_steal_pointer (&self->camera), old);
  mien_face_boxes_clear (self->boxes);
  if (self->running && self->capture_dir != NULL)
    {
      /* A face too small for the Live page would make a crop of little but upscaled pixels. */
      self->detector_cancellable = g_cancellable_new ();
      mien_studio_open_face_detector_async (self->studio, MIEN_STUDIO_STREAM_MIN_FACE_FRACTION,
                                            self->detector_cancellable, on_detector_opened,
                                            g_object_ref (self));
    }
  update_state (self);
}

static void
on_options_changed (MienCapturePage *self)
{
  replace_capture (self);
}

/* ---- Start and stop -------------------------------------------------------------------------- */

static void
on_camera_error (MienCamera      *camera,
                 const GError    *error,
                 MienCapturePage *self)
{
  if (camera != self->camera)
    return;
  stop_running (self);
  /* The camera's message names the source and what went wrong. */
  show_error (self, _("The video source stopped; the crops recorded so far are kept"), error);
}

static void
on_camera_opened (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(MienCapturePage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienCamera) camera = mien_camera_new_finish (result, &error);

  /* Stopped, another source chosen, or the page gone meanwhile. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->camera_cancellable);
  if (camera == NULL)
    {
      /* The camera portal's refusal says how to allow the camera. */
      show_error (self, _("Could not open the video source"), error);
      update_state (self);
      return;
    }
  gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
  self->camera = g_object_ref (camera);
  self->feed = mien_frame_feed_new ();
  g_signal_connect (self->feed, "frame", G_CALLBACK (on_feed_frame), self);
  g_signal_connect (camera, "error", G_CALLBACK (on_camera_error), self);
  mien_frame_feed_attach (self->feed, camera);
  self->running = TRUE;
  replace_capture (self);
  if (!mien_camera_start (camera, &error))
    {
      stop_running (self);
      show_error (self, _("Could not start the video source"), error);
      return;
    }
  adw_status_page_set_title (self->stopped_page, _("Starting…"));
  adw_status_page_set_description (self->stopped_page, NULL);
  update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static void
start_running (MienCapturePage *self)
{
  gboolean test = g_str_equal (self->source_id, "test");

  if (!can_start (self))
    return;
  self->camera_cancellable = g_cancellable_new ();
  mien_camera_new_async (self->source_id, test ? CAPTURE_TEST_WIDTH : 0,
                         test ? CAPTURE_TEST_HEIGHT : 0, self->camera_cancellable,
                         on_camera_opened, g_object_ref (self));
  update_state (self);
}

static void
stop_running (MienCapturePage *self)
{
  g_autoptr(MienFramePredictor) predictor = NULL;

  if (self->camera_cancellable != NULL)
    {
      /* Closes the camera portal's dialog, if it is up. */
      g_cancellable_cancel (self->camera_cancellable);
      g_clear_object (&self->camera_cancellable);
      update_state (self);
    }
  if (!self->running)
    return;
  stop_recording (self);
  g_signal_handlers_disconnect_by_data (self->camera, self);
  g_signal_handlers_disconnect_by_data (self->feed, self);
  predictor = mien_frame_feed_stop (self->feed);
  g_clear_object (&self->feed);
  self->running = FALSE;
  replace_capture (self);
  mien_live_frames_set_texture (self->frames, NULL);
  update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static void
start_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  start_running (MIEN_CAPTURE_PAGE (widget));
}

static void
stop_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  stop_running (MIEN_CAPTURE_PAGE (widget));
}

/* ---- The dataset ----------------------------------------------------------------------------- */

/* Records into `dataset_dir` from now on, with `names` and their counts. */
static void
set_dataset (MienCapturePage    *self,
             const char         *dataset_dir,
             const char         *capture_dir,
             const char * const *names,
             const guint        *counts)
{
  g_autofree char *title = g_path_get_basename (dataset_dir);

  stop_recording (self);
  g_free (self->dataset_dir);
  self->dataset_dir = g_strdup (dataset_dir);
  g_free (self->capture_dir);
  self->capture_dir = g_strdup (capture_dir);
  g_ptr_array_set_size (self->classes, 0);
  for (guint i = 0; names[i] != NULL; i++)
    add_class (self, names[i], counts != NULL ? counts[i] : 0);
  rebuild_class_list (self);
  clear_thumbnails (self);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->dataset_row), title);
  adw_action_row_set_subtitle (self->dataset_row, dataset_dir);
  g_settings_set_string (self->settings, "capture-dataset", dataset_dir);
  replace_capture (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATASET_DIR]);
}

static gboolean
new_dataset (MienCapturePage  *self,
             const char       *unused,
             const char       *name,
             GError          **error)
{
  return mien_capture_page_new_dataset (self, name, error);
}

static void
new_dataset_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  MienCapturePage *self = MIEN_CAPTURE_PAGE (widget);
  g_autofree char *folder = mien_studio_dup_datasets_dir (self->studio);
  /* Translators: the folder the new dataset is made in. */
  g_autofree char *body = g_strdup_printf (_("A folder of that name is made in %s."), folder);

  ask_name (self, _("New Dataset"), body, _("_Create"), NULL, new_dataset,
            _("Could not make the dataset"));
}

typedef struct {
  char  *dataset_dir;
  char  *capture_dir;
  GStrv  classes;
  guint *counts;
} OpenedDataset;

static void
opened_dataset_free (gpointer data)
{
  OpenedDataset *opened = data;

  g_free (opened->dataset_dir);
  g_free (opened->capture_dir);
  g_strfreev (opened->classes);
  g_free (opened->counts);
  g_free (opened);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* A dataset's class folders and their images: reading a large dataset's folders takes time. */
static void
open_dataset_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  const char *path = task_data;
  g_autofree char *train = g_build_filename (path, "train", NULL);
  OpenedDataset *opened = g_new0 (OpenedDataset, 1);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;

  opened->dataset_dir = g_strdup (path);
  /* A dataset with splits is recorded into its training part. */
  opened->capture_dir = g_strdup (g_file_test (train, G_FILE_TEST_IS_DIR) ? train : path);
  dir = g_dir_open (opened->capture_dir, 0, &error);
  if (dir == NULL)
    {
      opened_dataset_free (opened);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *full = g_build_filename (opened->capture_dir, name, NULL);

      if (g_file_test (full, G_FILE_TEST_IS_DIR) && mien_capture_check_class_name (name, NULL))
        g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  opened->classes = (GStrv) g_ptr_array_free (g_steal_pointer (&names), FALSE);
  opened->counts = g_new0 (guint, g_strv_length (opened->classes) + 1);
  for (guint i = 0; opened->classes[i] != NULL; i++)
    opened->counts[i] = mien_capture_count_images (opened->capture_dir, opened->classes[i]);
  g_task_return_pointer (task, opened, opened_dataset_free);
}

static void
on_dataset_opened (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  MienCapturePage *self = MIEN_CAPTURE_PAGE (source);
  g_autoptr(GError) error = NULL;
  OpenedDataset *opened = g_task_propagate_pointer (G_TASK (result), &error);
  const char * const *classes;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->open_cancellable);
  if (opened == NULL)
    {
      show_error (self, _("Could not open the dataset"), error);
      return;
    }
  /* A folder without class folders yet starts with the six classes, as a new one. */
  classes = opened->classes[0] != NULL ? (const char * const *) opened->classes
                                       : mien_demo_data_get_classes ();
  set_dataset (self, opened->dataset_dir, opened->capture_dir, classes,
               opened->classes[0] != NULL ? opened->counts : NULL);
  opened_dataset_free (opened);
}

static void
on_dataset_chosen (GFile    *file,
                   gpointer  user_data)
{
  g_autoptr(MienCapturePage) self = user_data;
  g_autofree char *path = NULL;

  /* Nothing to do once the page is gone (the chooser outlived it). */
  if (file != NULL && self->studio != NULL && (path = g_file_get_path (file)) != NULL)
    mien_capture_page_open_dataset (self, path);
}

static void
open_dataset_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  mien_ui_choose_file (widget, _("Record Into a Dataset Folder"),
                       GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Open"), NULL, NULL,
                       on_dataset_chosen, g_object_ref (widget));
}

static void
train_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  MienCapturePage *self = MIEN_CAPTURE_PAGE (widget);

  if (self->dataset_dir == NULL)
    return;
  mien_studio_open_dataset (self->studio, self->dataset_dir);
  gtk_widget_activate_action (widget, "win.show-page", "s", "train");
}

/* ---- Sources --------------------------------------------------------------------------------- */

static void apply_source (MienCapturePage *self,
                          const char      *source_id);

static gboolean
source_equal (gconstpointer a,
              gconstpointer b)
{
  return g_strcmp0 (a, b) == 0;
}

/* The row lists the cameras (or the test pattern before they are known), the source in use when
 * it is none of them (a file), and last the entry that opens a file chooser. */
static void
rebuild_source_rows (MienCapturePage *self)
{
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  guint selected = 0;

  g_ptr_array_set_size (self->row_ids, 0);
  for (guint i = 0; self->cameras != NULL && i < self->cameras->len; i++)
    {
      MienCameraSource *camera = self->cameras->pdata[i];

      gtk_string_list_append (names, camera->name);
      g_ptr_array_add (self->row_ids, g_strdup (camera->id));
    }
  if (self->cameras == NULL)
    {
      gtk_string_list_append (names, _("Test pattern"));
      g_ptr_array_add (self->row_ids, g_strdup ("test"));
    }
  if (!g_ptr_array_find_with_equal_func (self->row_ids, self->source_id, source_equal, NULL))
    {
      g_autofree char *name = g_str_has_prefix (self->source_id, "file:")
                              ? g_path_get_basename (self->source_id + 5)
                              : g_strdup (self->source_id);

      gtk_string_list_append (names, name);
      g_ptr_array_add (self->row_ids, g_strdup (self->source_id));
    }
  gtk_string_list_append (names, _("Image or Video File…"));
  g_ptr_array_add (self->row_ids, NULL);
  g_ptr_array_find_with_equal_func (self->row_ids, self->source_id, source_equal, &selected);

  self->updating_rows = TRUE;
  adw_combo_row_set_model (self->source_row, G_LIST_MODEL (names));
  adw_combo_row_set_selected (self->source_row, selected);
  self->updating_rows = FALSE;
}

static void
on_source_file_chosen (GFile    *file,
                       gpointer  user_data)
{
  g_autoptr(MienCapturePage) self = user_data;
  g_autofree char *path = NULL;
  g_autofree char *id = NULL;

  if (file == NULL || self->studio == NULL || (path = g_file_get_path (file)) == NULL)
    return;
  id = g_strconcat ("file:", path, NULL);
  apply_source (self, id);
}

static void
on_source_selected (AdwComboRow     *row,
                    GParamSpec      *pspec,
                    MienCapturePage *self)
{
  guint index = adw_combo_row_get_selected (row);
  g_autoptr(GtkFileFilter) media = NULL;
  GtkFileFilter *filters[2] = { NULL, NULL };

  if (self->updating_rows || index >= self->row_ids->len)
    return;
  if (self->row_ids->pdata[index] != NULL)
    {
      apply_source (self, self->row_ids->pdata[index]);
      return;
    }
  /* Until a file is chosen the source stays what it was. */
  rebuild_source_rows (self);
  media = gtk_file_filter_new ();
  gtk_file_filter_set_name (media, _("Images and videos"));
  gtk_file_filter_add_mime_type (media, "image/*");
  gtk_file_filter_add_mime_type (media, "video/*");
  filters[0] = media;
  mien_ui_choose_file (GTK_WIDGET (self), _("Record From an Image or a Video"),
                       GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), filters, NULL,
                       on_source_file_chosen, g_object_ref (self));
}

static void
apply_source (MienCapturePage *self,
              const char      *source_id)
{
  if (g_strcmp0 (self->source_id, source_id) != 0)
    {
      stop_running (self);
      g_free (self->source_id);
      self->source_id = g_strdup (source_id);
      /* Shared with the Live page: one camera for the studio. */
      g_settings_set_string (self->settings, "live-source", source_id);
    }
  rebuild_source_rows (self);
}

static void
on_live_source_changed (GSettings       *settings,
                        const char      *key,
                        MienCapturePage *self)
{
  g_autofree char *source_id = g_settings_get_string (settings, key);

  if (source_id[0] != '\0')
    apply_source (self, source_id);
}

/* The cameras there are (NULL: no camera support). GStreamer's first start may scan its
 * plugins for seconds. */
static void
probe_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  g_task_return_pointer (task, mien_camera_is_supported () ? mien_camera_list_sources () : NULL,
                         (GDestroyNotify) g_ptr_array_unref);
}

static void
on_probed (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  MienCapturePage *self = MIEN_CAPTURE_PAGE (source);
  GPtrArray *cameras = g_task_propagate_pointer (G_TASK (result), NULL);

  if (g_cancellable_is_cancelled (self->cancellable))
    {
      g_clear_pointer (&cameras, g_ptr_array_unref);
      return;
    }
  self->probed = TRUE;
  self->supported = cameras != NULL;
  g_clear_pointer (&self->cameras, g_ptr_array_unref);
  self->cameras = cameras;
  rebuild_source_rows (self);
  update_state (self);
}

/* ---- Keys and leaving ------------------------------------------------------------------------ */

/* The class of a number key, or -1. */
static int
key_class (MienCapturePage *self,
           guint            keyval,
           GdkModifierType  state)
{
  int digit = -1;

  /* Alt+1… switch pages; Ctrl, Super: shortcuts of their own. */
  if ((state & (GDK_CONTROL_MASK | GDK_ALT_MASK | GDK_SUPER_MASK)) != 0)
    return -1;
  if (keyval >= GDK_KEY_1 && keyval <= GDK_KEY_9)
    digit = keyval - GDK_KEY_1;
  else if (keyval >= GDK_KEY_KP_1 && keyval <= GDK_KEY_KP_9)
    digit = keyval - GDK_KEY_KP_1;
  return digit >= 0 && (guint) digit < self->classes->len ? digit : -1;
}

static gboolean
on_key_pressed (GtkEventControllerKey *keys,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                MienCapturePage       *self)
{
  int index;

  if (!gtk_widget_get_mapped (GTK_WIDGET (self)) || (index = key_class (self, keyval, state)) < 0)
    return GDK_EVENT_PROPAGATE;
  /* A held key repeats. */
  if (self->recording_key != keyval)
    start_recording (self, ((ClassEntry *) self->classes->pdata[index])->name, keyval);
  return GDK_EVENT_STOP;
}

static void
on_key_released (GtkEventControllerKey *keys,
                 guint                  keyval,
                 guint                  keycode,
                 GdkModifierType        state,
                 MienCapturePage       *self)
{
  if (keyval != 0 && keyval == self->recording_key)
    stop_recording (self);
}

/* A key or a button released in another window never comes back here. */
static void
on_window_active (GtkWindow       *window,
                  GParamSpec      *pspec,
                  MienCapturePage *self)
{
  if (!gtk_window_is_active (window))
    stop_recording (self);
}

static void
mien_capture_page_root (GtkWidget *widget)
{
  MienCapturePage *self = MIEN_CAPTURE_PAGE (widget);
  GtkRoot *root;

  GTK_WIDGET_CLASS (mien_capture_page_parent_class)->root (widget);
  root = gtk_widget_get_root (widget);
  if (!GTK_IS_WINDOW (root))
    return;
  self->window = GTK_WINDOW (root);
  /* On the window, in the bubble phase: keys typed into an entry stay there. */
  self->keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_name (self->keys, "mien-capture-keys");
  g_signal_connect (self->keys, "key-pressed", G_CALLBACK (on_key_pressed), self);
  g_signal_connect (self->keys, "key-released", G_CALLBACK (on_key_released), self);
  gtk_widget_add_controller (GTK_WIDGET (root), self->keys);
  self->active_id = g_signal_connect (root, "notify::is-active", G_CALLBACK (on_window_active),
                                      self);
}

static void
mien_capture_page_unroot (GtkWidget *widget)
{
  MienCapturePage *self = MIEN_CAPTURE_PAGE (widget);

  if (self->window != NULL)
    {
      g_clear_signal_handler (&self->active_id, self->window);
      gtk_widget_remove_controller (GTK_WIDGET (self->window), self->keys);
    }
  self->keys = NULL;
  self->window = NULL;
  GTK_WIDGET_CLASS (mien_capture_page_parent_class)->unroot (widget);
}

/* Leaving the page (or closing the window) stops the source: a booth's camera is not left on
 * behind another page. */
static void
mien_capture_page_unmap (GtkWidget *widget)
{
  stop_running (MIEN_CAPTURE_PAGE (widget));
  GTK_WIDGET_CLASS (mien_capture_page_parent_class)->unmap (widget);
}

/* ---- GObject --------------------------------------------------------------------------------- */

static void
mien_capture_page_constructed (GObject *object)
{
  MienCapturePage *self = MIEN_CAPTURE_PAGE (object);
  g_autoptr(GTask) task = NULL;
  g_autofree char *last = NULL;
  const char *option_keys[] = { "capture-size", "capture-margin", "capture-grey" };

  G_OBJECT_CLASS (mien_capture_page_parent_class)->constructed (object);

  g_assert (MIEN_IS_STUDIO (self->studio));
  self->settings = g_object_ref (mien_studio_get_settings (self->studio));

  self->source_id = g_settings_get_string (self->settings, "live-source");
  if (self->source_id[0] == '\0')
    {
      g_free (self->source_id);
      self->source_id = g_strdup ("test");
    }
  rebuild_source_rows (self);
  g_signal_connect (self->source_row, "notify::selected", G_CALLBACK (on_source_selected), self);
  g_signal_connect (self->settings, "changed::live-source", G_CALLBACK (on_live_source_changed),
                    self);

  g_settings_bind (self->settings, "capture-size", self->size_spin, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "capture-margin", self->margin_spin, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "capture-grey", self->grey_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  for (guint i = 0; i < G_N_ELEMENTS (option_keys); i++)
    {
      g_autofree char *signal = g_strconcat ("changed::", option_keys[i], NULL);

      g_signal_connect_swapped (self->settings, signal, G_CALLBACK (on_options_changed), self);
    }

  /* The dataset recorded into last time, when it is still there. */
  last = g_settings_get_string (self->settings, "capture-dataset");
  if (last[0] != '\0' && g_file_test (last, G_FILE_TEST_IS_DIR))
    mien_capture_page_open_dataset (self, last);
  else
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->dataset_row),
                                   _("No dataset chosen"));

  task = g_task_new (self, self->cancellable, on_probed, NULL);
  g_task_set_source_tag (task, mien_capture_page_constructed);
  g_task_run_in_thread (task, probe_thread);
  update_state (self);
}

static void
mien_capture_page_dispose (GObject *object)
{
  MienCapturePage *self = MIEN_CAPTURE_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  stop_running (self);
  g_cancellable_cancel (self->detector_cancellable);
  g_clear_object (&self->detector_cancellable);
  /* Stops in flight finish before the page goes (their idles then find it unlisted). */
  if (self->stopping != NULL)
    {
      for (guint i = 0; i < self->stopping->len; i++)
        g_thread_join (((Stopping *) self->stopping->pdata[i])->thread);
      g_clear_pointer (&self->stopping, g_ptr_array_unref);
    }
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  /* The bin's child first: disposing the template would unparent it under AdwBin's feet. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), MIEN_TYPE_CAPTURE_PAGE);
  g_clear_object (&self->settings);
  g_clear_object (&self->studio);
  G_OBJECT_CLASS (mien_capture_page_parent_class)->dispose (object);
}

static void
mien_capture_page_finalize (GObject *object)
{
  MienCapturePage *self = MIEN_CAPTURE_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->cameras, g_ptr_array_unref);
  g_clear_pointer (&self->row_ids, g_ptr_array_unref);
  g_clear_pointer (&self->classes, g_ptr_array_unref);
  g_free (self->source_id);
  g_free (self->dataset_dir);
  g_free (self->capture_dir);
  g_free (self->recording);
  g_clear_object (&self->frames);
  G_OBJECT_CLASS (mien_capture_page_parent_class)->finalize (object);
}

static void
mien_capture_page_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  MienCapturePage *self = MIEN_CAPTURE_PAGE (object);

  switch (prop_id)
    {
    case PROP_STUDIO:
      g_value_set_object (value, self->studio);
      break;
    case PROP_DATASET_DIR:
      g_value_set_string (value, self->dataset_dir);
      break;
    case PROP_RUNNING:
      g_value_set_boolean (value, self->running);
      break;
    case PROP_READY:
      g_value_set_boolean (value, self->ready);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_capture_page_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  MienCapturePage *self = MIEN_CAPTURE_PAGE (object);

  switch (prop_id)
    {
    case PROP_STUDIO:
      self->studio = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_capture_page_class_init (MienCapturePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = mien_capture_page_constructed;
  object_class->dispose = mien_capture_page_dispose;
  object_class->finalize = mien_capture_page_finalize;
  object_class->get_property = mien_capture_page_get_property;
  object_class->set_property = mien_capture_page_set_property;
  widget_class->root = mien_capture_page_root;
  widget_class->unroot = mien_capture_page_unroot;
  widget_class->unmap = mien_capture_page_unmap;

  properties[PROP_STUDIO] =
    g_param_spec_object ("studio", NULL, NULL, MIEN_TYPE_STUDIO,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DATASET_DIR] =
    g_param_spec_string ("dataset-dir", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_READY] =
    g_param_spec_boolean ("ready", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (MIEN_TYPE_FACE_BOXES);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/mienapp/Mien/ui/mien-capture-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, stack);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, error_label);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, view_stack);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, stopped_page);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, picture);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, boxes);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, status_label);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, start_button);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, stop_button);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, thumbnails);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, dataset_row);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, class_list);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, add_row);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, source_row);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, size_spin);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, margin_spin);
  gtk_widget_class_bind_template_child (widget_class, MienCapturePage, grey_switch);
  gtk_widget_class_bind_template_callback (widget_class, on_dismiss_error);
  gtk_widget_class_bind_template_callback (widget_class, on_add_class);

  gtk_widget_class_install_action (widget_class, "capture.start", NULL, start_action);
  gtk_widget_class_install_action (widget_class, "capture.stop", NULL, stop_action);
  gtk_widget_class_install_action (widget_class, "capture.new-dataset", NULL,
                                   new_dataset_action);
  gtk_widget_class_install_action (widget_class, "capture.open-dataset", NULL,
                                   open_dataset_action);
  gtk_widget_class_install_action (widget_class, "capture.train", NULL, train_action);
  gtk_widget_class_install_action (widget_class, "capture.delete-crop", "s", delete_crop_action);
  gtk_widget_class_install_action (widget_class, "capture.rename-class", "s",
                                   rename_class_action);
  gtk_widget_class_install_action (widget_class, "capture.remove-class", "s",
                                   remove_class_action);
}

static void
mien_capture_page_init (MienCapturePage *self)
{
  self->cancellable = g_cancellable_new ();
  self->row_ids = g_ptr_array_new_with_free_func (g_free);
  self->classes = g_ptr_array_new_with_free_func (class_entry_free);
  self->stopping = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  self->frames = mien_live_frames_new ();
  gtk_picture_set_paintable (self->picture, GDK_PAINTABLE (self->frames));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "capture.start", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "capture.stop", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "capture.train", FALSE);
}

GtkWidget *
mien_capture_page_new (MienStudio *studio)
{
  g_return_val_if_fail (MIEN_IS_STUDIO (studio), NULL);

  return g_object_new (MIEN_TYPE_CAPTURE_PAGE, "studio", studio, NULL);
}

gboolean
mien_capture_page_new_dataset (MienCapturePage  *self,
                               const char       *name,
                               GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *path = NULL;

  g_return_val_if_fail (MIEN_IS_CAPTURE_PAGE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  /* A dataset's name is a folder name, under the same rules as a class's. */
  if (!mien_capture_check_class_name (name, &local_error))
    {
      g_set_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_DATASET,
                   _("“%s” cannot be a dataset’s folder name: %s"), name, local_error->message);
      return FALSE;
    }
  folder = mien_studio_dup_datasets_dir (self->studio);
  path = g_build_filename (folder, name, NULL);
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   _("“%s” exists already: open it with Open Dataset… to record into it"), path);
      return FALSE;
    }
  if (g_mkdir_with_parents (path, 0755) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not make “%s”: %s"), path, g_strerror (saved_errno));
      return FALSE;
    }
  g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  set_dataset (self, path, path, mien_demo_data_get_classes (), NULL);
  return TRUE;
}

void
mien_capture_page_open_dataset (MienCapturePage *self,
                                const char      *path)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (MIEN_IS_CAPTURE_PAGE (self));
  g_return_if_fail (path != NULL);

  g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  self->open_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->open_cancellable, on_dataset_opened, NULL);
  g_task_set_source_tag (task, mien_capture_page_open_dataset);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, open_dataset_thread);
}

const char *
mien_capture_page_get_dataset_dir (MienCapturePage *self)
{
  g_return_val_if_fail (MIEN_IS_CAPTURE_PAGE (self), NULL);
  return self->dataset_dir;
}

void
mien_capture_page_set_source (MienCapturePage *self,
                              const char      *source_id)
{
  g_return_if_fail (MIEN_IS_CAPTURE_PAGE (self));
  g_return_if_fail (source_id != NULL && source_id[0] != '\0');

  apply_source (self, source_id);
}

gboolean
mien_capture_page_get_running (MienCapturePage *self)
{
  g_return_val_if_fail (MIEN_IS_CAPTURE_PAGE (self), FALSE);
  return self->running;
}

gboolean
mien_capture_page_get_ready (MienCapturePage *self)
{
  g_return_val_if_fail (MIEN_IS_CAPTURE_PAGE (self), FALSE);
  return self->ready;
}

guint
mien_capture_page_get_count (MienCapturePage *self,
                             const char      *class_name)
{
  ClassEntry *entry;

  g_return_val_if_fail (MIEN_IS_CAPTURE_PAGE (self), G_MAXUINT);
  entry = find_class (self, class_name);
  return entry != NULL ? entry->count : G_MAXUINT;
}

guint64
mien_capture_page_get_n_outcome (MienCapturePage    *self,
                                 MienCaptureOutcome  outcome)
{
  g_return_val_if_fail (MIEN_IS_CAPTURE_PAGE (self), 0);
  g_return_val_if_fail (outcome < MIEN_CAPTURE_N_OUTCOMES, 0);
  return self->n_outcomes[outcome];
}

guint
mien_capture_page_get_n_thumbnails (MienCapturePage *self)
{
  g_return_val_if_fail (MIEN_IS_CAPTURE_PAGE (self), 0);
  return count_thumbnails (self);
}

const char *
mien_capture_page_get_thumbnail_path (MienCapturePage *self,
                                      guint            index)
{
  GtkWidget *thumbnail;

  g_return_val_if_fail (MIEN_IS_CAPTURE_PAGE (self), NULL);
  thumbnail = thumbnail_at (self, index);
  return thumbnail != NULL ? g_object_get_data (G_OBJECT (thumbnail), "mien-path") : NULL;
}
