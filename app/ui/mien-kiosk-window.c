/* mien-kiosk-window.c — full screen live predictions for a booth, left running all day.
 *
 * The camera, its feed and the predictor run as on the Live page. What is the kiosk's own is
 * what a booth needs without anybody at the keyboard: the state screens (starting, attract,
 * camera unavailable), a watchdog that notices a camera that went away (an error, or no frame
 * for a few seconds: some drivers just stop sending) and starts it again every few seconds,
 * and gestures that a visitor does not make by chance.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mien-annotated-frame.h"
#include "mien-camera.h"
#include "mien-frame-feed.h"
#include "mien-kiosk-window.h"
#include "mien-live-frames.h"
#include "mien-live-overlay.h"

#define TICK_MS           250
/* A camera that sends nothing for this long is treated as gone. */
#define STALL_US          (4 * G_USEC_PER_SEC)
#define RETRY_S           3
#define CURSOR_HIDE_MS    3000
#define ESCAPE_HOLD_MS    2000
#define NOTICE_S          4
#define LOG_SAVE_US       (10 * G_USEC_PER_SEC)
/* A log file is closed and a new one started past this size, so that a day's session neither
 * grows memory without bound nor rewrites ever larger files. */
#define LOG_MAX_BYTES     (16 * 1024 * 1024)
#define KIOSK_SMOOTHING   0.6

/* What the camera's streaming thread needs, shared with the window (which may go first). */
typedef struct {
  MienFrameFeed *feed;
  int            mirror;  /* atomic */
} FrameSink;

struct _MienKioskWindow
{
  AdwApplicationWindow parent_instance;

  MienStudio          *studio;
  GSettings           *settings;
  char                *source_id;
  GStrv                models;

  GtkWidget           *picture;
  MienLiveFrames      *frames;
  MienLiveOverlay     *overlay;
  GtkWidget           *attract;
  GtkWidget           *status_page;
  GtkWidget           *notice;

  GCancellable        *cancellable;
  MienEnsemble        *ensemble;
  MienFaceDetector    *detector;
  MienFramePredictor  *predictor;
  MienFrameFeed       *feed;
  FrameSink           *sink;
  MienCamera          *camera;
  GCancellable        *camera_cancellable;  /* opening it (the camera portal may be asking) */
  GdkTexture          *last_frame;

  MienKioskState       state;
  char                *failure;      /* FAILED: why */
  char                *camera_error; /* UNAVAILABLE: why */
  gint64               last_frame_us;
  gint64               last_face_us;
  guint64              n_frames_shown;
  guint64              n_predictions;
  guint                n_faces;
  guint                n_retries;

  MienPredictionLog   *log;
  char                *log_path;
  guint64              log_saved_rows;
  gint64               log_saved_us;

  guint                tick_id;
  guint                retry_id;
  guint                cursor_id;
  guint                escape_id;
  guint                notice_id;
  double               pointer_x, pointer_y;
  gboolean             leaving;
  gboolean             confirming;
};

G_DEFINE_FINAL_TYPE (MienKioskWindow, mien_kiosk_window, ADW_TYPE_APPLICATION_WINDOW)

static void
frame_sink_clear (FrameSink *sink)
{
  g_clear_object (&sink->feed);
}

static void
frame_sink_release (gpointer data)
{
  g_atomic_rc_box_release_full (data, (GDestroyNotify) frame_sink_clear);
}

/* On the camera's streaming thread. */
static void
frame_sink_push (GdkPixbuf *frame,
                 gint64     pts_us,
                 gpointer   user_data)
{
  FrameSink *sink = user_data;

  /* Mirrored before anything sees it: the faces' boxes, the snapshot and the log are all of
   * the picture the visitors see. */
  if (g_atomic_int_get (&sink->mirror))
    {
      g_autoptr(GdkPixbuf) mirrored = gdk_pixbuf_flip (frame, TRUE);

      mien_frame_feed_push (sink->feed, mirrored);
      return;
    }
  mien_frame_feed_push (sink->feed, frame);
}

/* ---- Folders, snapshot and log ------------------------------------------------------------- */

static gboolean
hide_notice (gpointer data)
{
  MienKioskWindow *self = data;

  self->notice_id = 0;
  gtk_widget_set_visible (self->notice, FALSE);
  return G_SOURCE_REMOVE;
}

static void
show_notice (MienKioskWindow *self,
             const char      *text)
{
  gtk_label_set_text (GTK_LABEL (self->notice), text);
  gtk_widget_set_visible (self->notice, TRUE);
  g_clear_handle_id (&self->notice_id, g_source_remove);
  self->notice_id = g_timeout_add_seconds (NOTICE_S, hide_notice, self);
}

char *
mien_kiosk_window_save_snapshot (MienKioskWindow  *self,
                                 const char       *path,
                                 GError          **error)
{
  g_autofree char *target = NULL;

  g_return_val_if_fail (MIEN_IS_KIOSK_WINDOW (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (self->last_frame == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED, _("No frame is shown"));
      return NULL;
    }
  if (path != NULL)
    target = g_strdup (path);
  else
    {
      g_autofree char *folder = mien_annotated_frame_dup_folder (self->settings, error);

      if (folder == NULL)
        return NULL;
      target = mien_annotated_frame_dup_path (folder, "mien-kiosk", ".png");
    }
  if (!mien_annotated_frame_save (GTK_WIDGET (self->overlay), self->last_frame, target, error))
    return NULL;
  return g_steal_pointer (&target);
}

static void
snapshot_key (MienKioskWindow *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = mien_kiosk_window_save_snapshot (self, NULL, &error);
  g_autofree char *text = NULL;

  if (path == NULL)
    {
      /* Translators: a snapshot could not be saved, and why. */
      text = g_strdup_printf (_("No snapshot: %s"), error->message);
      show_notice (self, text);
      return;
    }
  {
    g_autofree char *name = g_path_get_basename (path);

    /* Translators: the file name of a snapshot just saved. */
    text = g_strdup_printf (_("Snapshot saved: %s"), name);
    show_notice (self, text);
  }
}

MienPredictionLog *
mien_kiosk_window_get_log (MienKioskWindow *self)
{
  g_return_val_if_fail (MIEN_IS_KIOSK_WINDOW (self), NULL);
  return self->log;
}

const char *
mien_kiosk_window_get_log_path (MienKioskWindow *self)
{
  g_return_val_if_fail (MIEN_IS_KIOSK_WINDOW (self), NULL);
  return self->log_path;
}

gboolean
mien_kiosk_window_save_log (MienKioskWindow  *self,
                            GError          **error)
{
  g_return_val_if_fail (MIEN_IS_KIOSK_WINDOW (self), FALSE);

  if (self->log == NULL)
    return TRUE;
  self->log_saved_us = g_get_monotonic_time ();
  if (!mien_prediction_log_save (self->log, self->log_path, error))
    return FALSE;
  self->log_saved_rows = mien_prediction_log_get_n_rows (self->log);
  /* That file is complete: the next rows go to a new one. */
  if (mien_prediction_log_get_size (self->log) > LOG_MAX_BYTES)
    {
      g_autofree char *folder = g_path_get_dirname (self->log_path);

      mien_prediction_log_clear (self->log);
      self->log_saved_rows = 0;
      g_free (self->log_path);
      self->log_path = mien_annotated_frame_dup_path (folder, "mien-kiosk", ".csv");
    }
  return TRUE;
}

/* Every few seconds, when there is something new: a full disk is said on screen, the rows stay
 * in memory and the next save tries again. */
static void
save_log_when_due (MienKioskWindow *self,
                   gboolean         now)
{
  g_autoptr(GError) error = NULL;

  if (self->log == NULL || mien_prediction_log_get_n_rows (self->log) == self->log_saved_rows ||
      (!now && g_get_monotonic_time () - self->log_saved_us < LOG_SAVE_US))
    return;
  if (!mien_kiosk_window_save_log (self, &error))
    show_notice (self, error->message);
}

static void
start_log (MienKioskWindow *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = NULL;

  if (self->ensemble == NULL || self->log != NULL ||
      !g_settings_get_boolean (self->settings, "kiosk-log"))
    return;
  folder = mien_annotated_frame_dup_folder (self->settings, &error);
  if (folder == NULL)
    {
      show_notice (self, error->message);
      return;
    }
  self->log = mien_prediction_log_new (self->ensemble, self->source_id);
  self->log_path = mien_annotated_frame_dup_path (folder, "mien-kiosk", ".csv");
  self->log_saved_us = g_get_monotonic_time ();
}

/* ---- State ----------------------------------------------------------------------------------- */

static void
update_state (MienKioskWindow *self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 delay_us = g_settings_get_int (self->settings, "kiosk-attract-delay") * G_USEC_PER_SEC;
  MienKioskState state;

  if (self->failure != NULL)
    state = MIEN_KIOSK_STATE_FAILED;
  else if (self->camera_error != NULL)
    state = MIEN_KIOSK_STATE_UNAVAILABLE;
  else if (self->predictor == NULL || self->last_frame == NULL)
    state = MIEN_KIOSK_STATE_STARTING;
  else if (now - self->last_face_us >= delay_us)
    state = MIEN_KIOSK_STATE_ATTRACT;
  else
    state = MIEN_KIOSK_STATE_LIVE;

  /* Unavailable again: the newest try's reason is shown. */
  if (state == self->state && state != MIEN_KIOSK_STATE_UNAVAILABLE)
    return;
  self->state = state;
  switch (state)
    {
    case MIEN_KIOSK_STATE_STARTING:
      adw_status_page_set_icon_name (ADW_STATUS_PAGE (self->status_page), "camera-web-symbolic");
      adw_status_page_set_title (ADW_STATUS_PAGE (self->status_page), _("Starting…"));
      adw_status_page_set_description (ADW_STATUS_PAGE (self->status_page), NULL);
      break;
    case MIEN_KIOSK_STATE_UNAVAILABLE:
      {
        /* Translators: under “Camera unavailable”: why, and that it is being tried again. */
        g_autofree char *text = g_strdup_printf (_("%s\nTrying again every few seconds…"),
                                                 self->camera_error);

        adw_status_page_set_icon_name (ADW_STATUS_PAGE (self->status_page),
                                       "camera-disabled-symbolic");
        adw_status_page_set_title (ADW_STATUS_PAGE (self->status_page), _("Camera unavailable"));
        adw_status_page_set_description (ADW_STATUS_PAGE (self->status_page), text);
      }
      break;
    case MIEN_KIOSK_STATE_FAILED:
      adw_status_page_set_icon_name (ADW_STATUS_PAGE (self->status_page), "dialog-error-symbolic");
      adw_status_page_set_title (ADW_STATUS_PAGE (self->status_page), _("Kiosk mode cannot start"));
      adw_status_page_set_description (ADW_STATUS_PAGE (self->status_page), self->failure);
      break;
    case MIEN_KIOSK_STATE_LIVE:
    case MIEN_KIOSK_STATE_ATTRACT:
    default:
      break;
    }
  gtk_widget_set_visible (self->status_page, state != MIEN_KIOSK_STATE_LIVE &&
                                             state != MIEN_KIOSK_STATE_ATTRACT);
  gtk_widget_set_visible (self->attract, state == MIEN_KIOSK_STATE_ATTRACT);
}

static void
fail (MienKioskWindow *self,
      const char      *title,
      const GError    *error)
{
  g_free (self->failure);
  self->failure = error != NULL ? g_strdup_printf ("%s: %s", title, error->message)
                                : g_strdup (title);
  update_state (self);
}

/* ---- Frames and predictions ------------------------------------------------------------------ */

static void
on_feed_frame (MienFrameFeed   *feed,
               GdkPixbuf       *frame,
               MienKioskWindow *self)
{
  int width = gdk_pixbuf_get_width (frame);
  int height = gdk_pixbuf_get_height (frame);
  g_autoptr(GBytes) bytes = gdk_pixbuf_read_pixel_bytes (frame);

  /* A frame still on its way from a camera that was given up meanwhile. */
  if (self->camera == NULL)
    return;
  g_clear_object (&self->last_frame);
  self->last_frame = gdk_memory_texture_new (width, height, GDK_MEMORY_R8G8B8, bytes,
                                             gdk_pixbuf_get_rowstride (frame));
  mien_live_frames_set_texture (self->frames, self->last_frame);
  mien_live_overlay_set_frame_size (self->overlay, width, height);
  self->last_frame_us = g_get_monotonic_time ();
  if (self->n_frames_shown++ == 0)
    self->last_face_us = self->last_frame_us;
  update_state (self);
}

static void
on_detection (MienFramePredictor        *predictor,
              const MienFramePrediction *detection,
              MienKioskWindow           *self)
{
  self->n_faces = detection->n_regions;
  if (detection->n_regions > 0)
    self->last_face_us = g_get_monotonic_time ();
  mien_live_overlay_set_detection (self->overlay, detection);
  update_state (self);
}

static void
on_prediction (MienFramePredictor        *predictor,
               const MienFramePrediction *prediction,
               MienKioskWindow           *self)
{
  self->n_predictions++;
  mien_live_overlay_set_prediction (self->overlay, prediction);
  if (self->log != NULL)
    mien_prediction_log_add (self->log, prediction);
}

static void
on_prediction_error (MienFramePredictor *predictor,
                     const GError       *error,
                     MienKioskWindow    *self)
{
  /* The worker goes on with the next frame; a booth shows no error box for one frame. */
  g_debug ("kiosk: a frame could not be predicted: %s", error->message);
}

static void
start_predictor (MienKioskWindow *self)
{
  g_autoptr(GError) error = NULL;
  MienFaceAlignOptions align = MIEN_FACE_ALIGN_OPTIONS_INIT;
  MienFramePredictor *old;

  if (self->ensemble == NULL || self->detector == NULL || self->predictor != NULL)
    return;
  /* Faces framed as the models' training images were, as `mien-cli predict --faces` does. */
  if (!mien_ensemble_get_face_margin (self->ensemble, align.margin, &align.margin, &error))
    {
      fail (self, _("Faces cannot be cropped for these models"), error);
      return;
    }
  self->predictor = mien_frame_predictor_new_for_faces (self->ensemble,
                                                        g_steal_pointer (&self->detector), &align);
  mien_frame_predictor_set_smoothing (self->predictor, KIOSK_SMOOTHING);
  g_signal_connect (self->predictor, "prediction", G_CALLBACK (on_prediction), self);
  g_signal_connect (self->predictor, "detection", G_CALLBACK (on_detection), self);
  g_signal_connect (self->predictor, "error", G_CALLBACK (on_prediction_error), self);
  old = mien_frame_feed_swap_predictor (self->feed, self->predictor);
  g_assert (old == NULL);
  self->last_face_us = g_get_monotonic_time ();
  start_log (self);
  update_state (self);
}

static void
on_detector_opened (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(MienKioskWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  MienFaceDetector *detector =
    mien_studio_open_face_detector_finish (MIEN_STUDIO (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (detector == NULL)
    {
      fail (self, _("Faces cannot be found"), error);
      return;
    }
  self->detector = detector;
  start_predictor (self);
}

/* The overlay's class names, with an emoji each when the settings ask for one. */
static void
update_labels (MienKioskWindow *self)
{
  g_autoptr(GPtrArray) labels = NULL;
  const char * const *classes;

  if (self->ensemble == NULL)
    return;
  classes = mien_ensemble_get_classes (self->ensemble);
  labels = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; classes[i] != NULL; i++)
    {
      /* An emoji says a class to visitors at a glance, whatever language they read. */
      static const char * const emoji[][2] = {
        { "anger", "😠" }, { "angry", "😠" }, { "contempt", "😏" }, { "disgust", "🤢" },
        { "fear", "😨" }, { "happiness", "😄" }, { "happy", "😄" }, { "neutral", "😐" },
        { "sadness", "😢" }, { "sad", "😢" }, { "surprise", "😮" },
      };
      const char *symbol = NULL;

      for (guint e = 0; e < G_N_ELEMENTS (emoji) && symbol == NULL; e++)
        if (g_ascii_strcasecmp (classes[i], emoji[e][0]) == 0)
          symbol = emoji[e][1];
      g_ptr_array_add (labels, symbol != NULL &&
                               g_settings_get_boolean (self->settings, "kiosk-emoji")
                               ? g_strdup_printf ("%s %s", classes[i], symbol)
                               : g_strdup (classes[i]));
    }
  g_ptr_array_add (labels, NULL);
  mien_live_overlay_set_classes (self->overlay, (const char * const *) labels->pdata);
}

static void
on_ensemble_loaded (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(MienKioskWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienEnsemble) ensemble = NULL;

  ensemble = mien_studio_load_ensemble_finish (MIEN_STUDIO (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (ensemble == NULL)
    {
      fail (self, _("The models could not be loaded"), error);
      return;
    }
  self->ensemble = g_steal_pointer (&ensemble);
  update_labels (self);
  start_predictor (self);
}

/* ---- The camera ------------------------------------------------------------------------------ */

static void start_camera (MienKioskWindow *self);

static gboolean
retry_camera (gpointer data)
{
  MienKioskWindow *self = data;

  self->retry_id = 0;
  self->n_retries++;
  start_camera (self);
  return G_SOURCE_REMOVE;
}

/* Stopping a camera only waits for its frame callback (the predictor keeps running): done
 * here rather than on a thread. */
static void
drop_camera (MienKioskWindow *self)
{
  g_autoptr(MienCamera) camera = g_steal_pointer (&self->camera);

  g_cancellable_cancel (self->camera_cancellable);
  g_clear_object (&self->camera_cancellable);
  if (camera == NULL)
    return;
  g_signal_handlers_disconnect_by_data (camera, self);
  mien_camera_stop (camera);
}

static void
camera_lost (MienKioskWindow *self,
             const char      *why)
{
  /* For whoever reads a booth's journal after a day: when and why (once, not every try). */
  if (self->camera_error == NULL)
    g_message ("kiosk: %s unavailable: %s", self->source_id, why);
  drop_camera (self);
  g_free (self->camera_error);
  self->camera_error = g_strdup (why);
  g_clear_object (&self->last_frame);
  mien_live_frames_set_texture (self->frames, NULL);
  mien_live_overlay_clear_prediction (self->overlay);
  self->n_faces = 0;
  if (self->retry_id == 0)
    self->retry_id = g_timeout_add_seconds (RETRY_S, retry_camera, self);
  update_state (self);
}

static void
on_camera_error (MienCamera      *camera,
                 const GError    *error,
                 MienKioskWindow *self)
{
  camera_lost (self, error->message);
}

static void
on_camera_opened (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(MienKioskWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienCamera) camera = mien_camera_new_finish (result, &error);

  /* The window is going, or a newer start replaced this one. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->camera_cancellable);
  if (camera == NULL)
    {
      camera_lost (self, error->message);
      return;
    }
  mien_camera_set_frame_func (camera, frame_sink_push, g_atomic_rc_box_acquire (self->sink),
                              frame_sink_release);
  g_signal_connect (camera, "error", G_CALLBACK (on_camera_error), self);
  self->camera = g_object_ref (camera);
  if (!mien_camera_start (camera, &error))
    {
      camera_lost (self, error->message);
      return;
    }
  if (self->camera_error != NULL)
    g_message ("kiosk: %s is back", self->source_id);
  g_clear_pointer (&self->camera_error, g_free);
  /* The watchdog counts from now. */
  self->last_frame_us = g_get_monotonic_time ();
  update_state (self);
}

static void
start_camera (MienKioskWindow *self)
{
  drop_camera (self);
  self->camera_cancellable = g_cancellable_new ();
  mien_camera_new_async (self->source_id, 0, 0, self->camera_cancellable, on_camera_opened,
                         g_object_ref (self));
}

/* ---- Ticks: the watchdog, the attract screen, the log ---------------------------------------- */

static gboolean
tick (gpointer data)
{
  MienKioskWindow *self = data;

  if (self->camera != NULL && g_get_monotonic_time () - self->last_frame_us > STALL_US)
    camera_lost (self, _("The camera sends no pictures."));
  update_state (self);
  save_log_when_due (self, FALSE);
  return G_SOURCE_CONTINUE;
}

/* ---- Pointer and keys ------------------------------------------------------------------------ */

static gboolean
hide_cursor (gpointer data)
{
  MienKioskWindow *self = data;

  self->cursor_id = 0;
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "none");
  return G_SOURCE_REMOVE;
}

static void
on_motion (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           MienKioskWindow          *self)
{
  /* Windowing systems repeat the last position (a cursor change, a window shown): not a move. */
  if (x == self->pointer_x && y == self->pointer_y && self->cursor_id != 0)
    return;
  self->pointer_x = x;
  self->pointer_y = y;
  gtk_widget_set_cursor (GTK_WIDGET (self), NULL);
  g_clear_handle_id (&self->cursor_id, g_source_remove);
  self->cursor_id = g_timeout_add (CURSOR_HIDE_MS, hide_cursor, self);
}

static void
on_leave_response (AdwMessageDialog *dialog,
                   const char       *response,
                   MienKioskWindow  *self)
{
  self->confirming = FALSE;
  if (g_str_equal (response, "leave"))
    {
      /* The dialog lets go of its parent first: it would touch it after it is gone. */
      gtk_window_set_transient_for (GTK_WINDOW (dialog), NULL);
      gtk_window_destroy (GTK_WINDOW (dialog));
      self->leaving = TRUE;
      gtk_window_close (GTK_WINDOW (self));
    }
}

void
mien_kiosk_window_request_leave (MienKioskWindow *self)
{
  GtkWidget *dialog;

  g_return_if_fail (MIEN_IS_KIOSK_WINDOW (self));

  if (self->confirming)
    return;
  self->confirming = TRUE;
  gtk_widget_set_cursor (GTK_WIDGET (self), NULL);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Leave Kiosk Mode?"),
                                   _("The camera stops and the window closes."));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "stay", _("_Stay"),
                                    "leave", _("_Leave"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "leave",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "stay");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "stay");
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_leave_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static gboolean
escape_held (gpointer data)
{
  MienKioskWindow *self = data;

  self->escape_id = 0;
  mien_kiosk_window_request_leave (self);
  return G_SOURCE_REMOVE;
}

static gboolean
on_key_pressed (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                MienKioskWindow       *self)
{
  GdkModifierType mods = state & gtk_accelerator_get_default_mod_mask ();

  if (keyval == GDK_KEY_Escape)
    {
      /* Held: the key repeats; the first press starts the count. */
      if (self->escape_id == 0)
        self->escape_id = g_timeout_add (ESCAPE_HOLD_MS, escape_held, self);
      return TRUE;
    }
  if ((keyval == GDK_KEY_q || keyval == GDK_KEY_Q) &&
      mods == (GDK_CONTROL_MASK | GDK_ALT_MASK))
    {
      mien_kiosk_window_request_leave (self);
      return TRUE;
    }
  if ((keyval == GDK_KEY_s || keyval == GDK_KEY_S) && mods == 0)
    {
      snapshot_key (self);
      return TRUE;
    }
  /* Everything else (Alt+F4 included, through close-request) does nothing. */
  return TRUE;
}

static void
on_key_released (GtkEventControllerKey *controller,
                 guint                  keyval,
                 guint                  keycode,
                 GdkModifierType        state,
                 MienKioskWindow       *self)
{
  if (keyval == GDK_KEY_Escape)
    g_clear_handle_id (&self->escape_id, g_source_remove);
}

static gboolean
mien_kiosk_window_close_request (GtkWindow *window)
{
  MienKioskWindow *self = MIEN_KIOSK_WINDOW (window);

  if (self->leaving)
    return GTK_WINDOW_CLASS (mien_kiosk_window_parent_class)->close_request (window);
  mien_kiosk_window_request_leave (self);
  return TRUE;
}

static void
on_mirror_changed (GSettings       *settings,
                   const char      *key,
                   MienKioskWindow *self)
{
  g_atomic_int_set (&self->sink->mirror, g_settings_get_boolean (settings, "kiosk-mirror"));
}

static void
on_log_changed (GSettings       *settings,
                const char      *key,
                MienKioskWindow *self)
{
  if (g_settings_get_boolean (settings, "kiosk-log"))
    {
      start_log (self);
      return;
    }
  save_log_when_due (self, TRUE);
  g_clear_object (&self->log);
  g_clear_pointer (&self->log_path, g_free);
}

/* ---- The window ------------------------------------------------------------------------------ */

static void
mien_kiosk_window_dispose (GObject *object)
{
  MienKioskWindow *self = MIEN_KIOSK_WINDOW (object);
  MienFramePredictor *predictor = NULL;
  g_autoptr(GError) error = NULL;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_clear_handle_id (&self->cursor_id, g_source_remove);
  g_clear_handle_id (&self->escape_id, g_source_remove);
  g_clear_handle_id (&self->notice_id, g_source_remove);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  /* The last rows; nothing is left on screen to say a failure on. */
  if (self->log != NULL && mien_prediction_log_get_n_rows (self->log) != self->log_saved_rows &&
      !mien_kiosk_window_save_log (self, &error))
    g_warning ("kiosk: %s", error->message);

  drop_camera (self);
  if (self->predictor != NULL)
    g_signal_handlers_disconnect_by_data (self->predictor, self);
  if (self->feed != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->feed, self);
      predictor = mien_frame_feed_stop (self->feed);
    }
  /* The window is going: wait for the inference in progress, here. */
  if (predictor != NULL)
    g_thread_join (mien_frame_feed_teardown (NULL, predictor, NULL, NULL, NULL));
  g_clear_object (&self->predictor);
  g_clear_object (&self->feed);
  g_clear_pointer (&self->sink, frame_sink_release);
  g_clear_object (&self->detector);
  g_clear_object (&self->ensemble);
  g_clear_object (&self->last_frame);
  g_clear_object (&self->log);
  g_clear_object (&self->frames);
  g_clear_object (&self->settings);
  g_clear_object (&self->studio);
  G_OBJECT_CLASS (mien_kiosk_window_parent_class)->dispose (object);
}

static void
mien_kiosk_window_finalize (GObject *object)
{
  MienKioskWindow *self = MIEN_KIOSK_WINDOW (object);

  g_free (self->source_id);
  g_strfreev (self->models);
  g_free (self->failure);
  g_free (self->camera_error);
  g_free (self->log_path);
  G_OBJECT_CLASS (mien_kiosk_window_parent_class)->finalize (object);
}

static void
mien_kiosk_window_class_init (MienKioskWindowClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = mien_kiosk_window_dispose;
  G_OBJECT_CLASS (klass)->finalize = mien_kiosk_window_finalize;
  GTK_WINDOW_CLASS (klass)->close_request = mien_kiosk_window_close_request;
}

static void
build_content (MienKioskWindow *self)
{
  GtkWidget *overlay = gtk_overlay_new ();
  GtkWidget *label;
  GtkEventController *controller;

  self->frames = mien_live_frames_new ();
  self->picture = gtk_picture_new_for_paintable (GDK_PAINTABLE (self->frames));
  gtk_picture_set_content_fit (GTK_PICTURE (self->picture), GTK_CONTENT_FIT_CONTAIN);
  gtk_widget_add_css_class (overlay, "mien-live-view");
  gtk_overlay_set_child (GTK_OVERLAY (overlay), self->picture);

  self->overlay = MIEN_LIVE_OVERLAY (mien_live_overlay_new ());
  mien_live_overlay_set_region (self->overlay, MIEN_FRAME_REGION_FACES);
  gtk_widget_add_css_class (GTK_WIDGET (self->overlay), "mien-kiosk-overlay");
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), GTK_WIDGET (self->overlay));

  self->attract = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_widget_add_css_class (self->attract, "mien-kiosk-attract");
  gtk_widget_set_halign (self->attract, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (self->attract, GTK_ALIGN_CENTER);
  label = gtk_label_new (_("Step in front of the camera"));
  gtk_widget_add_css_class (label, "mien-kiosk-attract-title");
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_justify (GTK_LABEL (label), GTK_JUSTIFY_CENTER);
  gtk_box_append (GTK_BOX (self->attract), label);
  label = gtk_label_new (_("Smile, frown, look surprised: the models guess your expression."));
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_justify (GTK_LABEL (label), GTK_JUSTIFY_CENTER);
  gtk_box_append (GTK_BOX (self->attract), label);
  gtk_widget_set_visible (self->attract, FALSE);
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), self->attract);

  self->status_page = adw_status_page_new ();
  gtk_widget_add_css_class (self->status_page, "mien-kiosk-status");
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), self->status_page);

  self->notice = gtk_label_new (NULL);
  gtk_widget_add_css_class (self->notice, "osd");
  gtk_widget_add_css_class (self->notice, "mien-kiosk-notice");
  gtk_widget_set_halign (self->notice, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (self->notice, GTK_ALIGN_END);
  gtk_widget_set_visible (self->notice, FALSE);
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), self->notice);

  adw_application_window_set_content (ADW_APPLICATION_WINDOW (self), overlay);

  controller = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (controller, GTK_PHASE_CAPTURE);
  g_signal_connect (controller, "key-pressed", G_CALLBACK (on_key_pressed), self);
  g_signal_connect (controller, "key-released", G_CALLBACK (on_key_released), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);
  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (on_motion), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);
}

static void
mien_kiosk_window_init (MienKioskWindow *self)
{
  self->state = MIEN_KIOSK_STATE_LIVE;  /* so that the first update shows STARTING */
  self->pointer_x = self->pointer_y = -1;
  self->cancellable = g_cancellable_new ();
  gtk_window_set_title (GTK_WINDOW (self), _("Mien Kiosk"));
  build_content (self);
}

/* Full screen needs a window manager to honour it; a booth's bare X session may have none, and
 * the window would keep its natural size. The monitor's size covers both. */
static void
size_to_monitor (MienKioskWindow *self)
{
  GListModel *monitors = gdk_display_get_monitors (gtk_widget_get_display (GTK_WIDGET (self)));
  g_autoptr(GdkMonitor) monitor = g_list_model_get_item (monitors, 0);
  GdkRectangle geometry;

  if (monitor == NULL)
    return;
  gdk_monitor_get_geometry (monitor, &geometry);
  gtk_window_set_default_size (GTK_WINDOW (self), geometry.width, geometry.height);
}

GtkWidget *
mien_kiosk_window_new (GtkApplication     *app,
                       MienStudio         *studio,
                       const char * const *models,
                       const char         *source_id)
{
  MienKioskWindow *self;

  g_return_val_if_fail (GTK_IS_APPLICATION (app), NULL);
  g_return_val_if_fail (MIEN_IS_STUDIO (studio), NULL);

  self = g_object_new (MIEN_TYPE_KIOSK_WINDOW, "application", app, NULL);
  self->studio = g_object_ref (studio);
  self->settings = g_object_ref (mien_studio_get_settings (studio));
  self->source_id = source_id != NULL ? g_strdup (source_id)
                                      : g_settings_get_string (self->settings, "live-source");
  self->models = g_strdupv ((char **) models);
  self->sink = g_atomic_rc_box_new0 (FrameSink);
  self->feed = mien_frame_feed_new ();
  self->sink->feed = g_object_ref (self->feed);
  self->sink->mirror = g_settings_get_boolean (self->settings, "kiosk-mirror");
  g_signal_connect (self->feed, "frame", G_CALLBACK (on_feed_frame), self);
  g_signal_connect (self->settings, "changed::kiosk-mirror", G_CALLBACK (on_mirror_changed), self);
  g_signal_connect (self->settings, "changed::kiosk-log", G_CALLBACK (on_log_changed), self);
  g_signal_connect_swapped (self->settings, "changed::kiosk-emoji", G_CALLBACK (update_labels),
                            self);
  size_to_monitor (self);
  gtk_window_fullscreen (GTK_WINDOW (self));
  update_state (self);

  if (self->models == NULL || self->models[0] == NULL)
    fail (self, _("No model is chosen: choose models on the Live page, or name them with "
                  "--model."), NULL);
  else
    {
      mien_studio_load_ensemble_async (studio, (const char * const *) self->models,
                                       self->cancellable, on_ensemble_loaded,
                                       g_object_ref (self));
      mien_studio_open_face_detector_async (studio, MIEN_STUDIO_STREAM_MIN_FACE_FRACTION,
                                            self->cancellable, on_detector_opened,
                                            g_object_ref (self));
    }
  start_camera (self);
  self->tick_id = g_timeout_add (TICK_MS, tick, self);
  /* Hidden even if the pointer never moves. */
  self->cursor_id = g_timeout_add (CURSOR_HIDE_MS, hide_cursor, self);
  return GTK_WIDGET (self);
}

MienKioskState
mien_kiosk_window_get_state (MienKioskWindow *self)
{
  g_return_val_if_fail (MIEN_IS_KIOSK_WINDOW (self), MIEN_KIOSK_STATE_FAILED);
  return self->state;
}

guint64
mien_kiosk_window_get_n_frames_shown (MienKioskWindow *self)
{
  g_return_val_if_fail (MIEN_IS_KIOSK_WINDOW (self), 0);
  return self->n_frames_shown;
}

guint64
mien_kiosk_window_get_n_predictions (MienKioskWindow *self)
{
  g_return_val_if_fail (MIEN_IS_KIOSK_WINDOW (self), 0);
  return self->n_predictions;
}

guint
mien_kiosk_window_get_n_faces (MienKioskWindow *self)
{
  g_return_val_if_fail (MIEN_IS_KIOSK_WINDOW (self), 0);
  return self->n_faces;
}

MienLiveOverlay *
mien_kiosk_window_get_overlay (MienKioskWindow *self)
{
  g_return_val_if_fail (MIEN_IS_KIOSK_WINDOW (self), NULL);
  return self->overlay;
}

guint
mien_kiosk_window_get_n_retries (MienKioskWindow *self)
{
  g_return_val_if_fail (MIEN_IS_KIOSK_WINDOW (self), 0);
  return self->n_retries;
}
