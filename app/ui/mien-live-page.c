/* mien-live-page.c — camera frames with the models' predictions drawn over them.
 *
 * Three threads meet here. GStreamer's streaming thread hands every frame to a MienFrameFeed
 * (core), which pushes it to the MienFramePredictor (whose worker predicts only the newest
 * frame) and gives the newest frame to the main loop without falling behind. Predictions come
 * back on the main loop as a signal. Nothing on the main loop waits for inference: stopping a
 * predictor (which waits for the inference in progress) and a camera happens on a short-lived
 * thread (mien_frame_feed_teardown ()), except when the page goes away.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mien-annotated-frame.h"
#include "mien-camera.h"
#include "mien-dataset.h"
#include "mien-frame-feed.h"
#include "mien-frame-predictor.h"
#include "mien-live-frames.h"
#include "mien-live-overlay.h"
#include "mien-live-page.h"
#include "mien-model-chooser.h"
#include "mien-prediction-log.h"
#include "mien-ui-util.h"

/* The test pattern's size: enough for the models (224 px at most) and for a demo on screen,
 * and little to copy and upload per frame. */
#define LIVE_TEST_WIDTH   640
#define LIVE_TEST_HEIGHT  480
/* Still images larger than this (on their longer side) are scaled down by GStreamer, on its
 * thread: a photo from a phone would otherwise be copied and uploaded 25 times a second. */
#define LIVE_MAX_IMAGE_SIDE 960
/* How often the status line is refreshed. */
#define STATUS_INTERVAL_MS 500

/* ---- The page -------------------------------------------------------------------------------- */

struct _MienLivePage
{
  AdwBin              parent_instance;

  MienStudio         *studio;
  GSettings          *settings;
  GtkWidget          *chooser;

  /* Camera support and the cameras, found on a thread (GStreamer's first start may scan its
   * plugins for seconds). */
  GCancellable       *cancellable;
  gboolean            probed;
  gboolean            supported;
  GPtrArray          *cameras;        /* MienCameraSource: the cameras, then the test source */
  GPtrArray          *row_ids;        /* char *: the source row's items; NULL = "choose a file" */
  char               *source_id;
  gboolean            source_chosen;  /* by a person or a caller, not only read from settings */
  gboolean            updating_rows;

  /* The models. */
  GCancellable       *load_cancellable;
  MienEnsemble       *ensemble;
  gboolean            loading;

  /* While the camera opens (the camera portal may be asking the user). */
  GCancellable       *open_cancellable;

  /* While running. */
  MienCamera         *camera;
  MienFrameFeed      *feed;
  MienFramePredictor *predictor;
  GCancellable       *detector_cancellable;  /* opening a face detector for the predictor */
  guint               n_faces;        /* in the latest detection */
  gboolean            running;
  gboolean            ready;
  gboolean            predictor_failed;
  guint64             n_frames_shown;
  guint64             n_predictions;
  guint64             n_explanations;
  double              latency_ms;
  guint               status_id;
  guint64             status_frames;
  gint64              status_time;
  double              camera_rate;

  GPtrArray          *teardowns;      /* Teardown: stopping on a thread */
  MienPredictionLog  *log;            /* while the log button is down and models predict */
  GtkWindow          *window;
  gulong              close_id;

  /* Template children. */
  GtkStack           *stack;
  GtkRevealer        *error_revealer;
  GtkLabel           *error_label;
  GtkStack           *view_stack;
  AdwStatusPage      *stopped_page;
  GtkPicture         *picture;
  MienLiveFrames     *frames;
  MienLiveOverlay    *overlay;
  GtkLabel           *status_label;
  GtkWidget          *start_button;
  GtkWidget          *stop_button;
  GtkToggleButton    *log_button;
  AdwComboRow        *source_row;
  AdwComboRow        *region_row;
  AdwActionRow       *smoothing_row;
  GtkSwitch          *smoothing_switch;
  GtkSwitch          *explain_switch;
  AdwBin             *chooser_bin;
};

G_DEFINE_FINAL_TYPE (MienLivePage, mien_live_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_STUDIO,
  PROP_RUNNING,
  PROP_READY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void stop_running (MienLivePage *self,
                          gboolean      wait);

/* The settings' enumeration has the values of MienFrameRegion. */
static MienFrameRegion
get_region (MienLivePage *self)
{
  return g_settings_get_enum (self->settings, "live-region");
}

/* The weight of a face's past probabilities when smoothing is on: about the last three frames
 * count (0.6, 0.36, 0.22, …). */
#define SMOOTHING_ALPHA 0.6


static double
get_smoothing (MienLivePage *self)
{
  return g_settings_get_boolean (self->settings, "live-smoothing") ? SMOOTHING_ALPHA : 0.0;
}

/* `what` may be NULL when the message says it all. */
static void
show_error (MienLivePage *self,
            const char   *what,
            const GError *error)
{
  g_autofree char *text = what != NULL ? g_strdup_printf ("%s: %s", what, error->message)
                                       : g_strdup (error->message);

  gtk_label_set_text (self->error_label, text);
  gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
  mien_studio_post_error (self->studio, what, error);
}

static void
on_dismiss_error (MienLivePage *self)
{
  gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
}

static void
update_status (MienLivePage *self)
{
  g_autofree char *text = NULL;
  g_autofree char *latency = NULL;
  g_autofree char *dropped_text = NULL;
  g_autofree char *count = NULL;
  double prediction_rate = 0.0;
  guint64 dropped = 0;

  if (!self->running)
    {
      gtk_label_set_text (self->status_label, "");
      return;
    }
  if (self->predictor == NULL)
    {
      /* Translators: camera frames per second, while no model predicts. */
      text = g_strdup_printf (self->loading ? _("%.1f frames/s · loading the models…")
                                            : _("%.1f frames/s · no model chosen"),
                              self->camera_rate);
      gtk_label_set_text (self->status_label, text);
      return;
    }
  prediction_rate = mien_frame_predictor_get_rate (self->predictor);
  dropped = mien_frame_predictor_get_n_dropped (self->predictor);
  latency = self->latency_ms > 0.0
            /* Translators: the time from a camera frame to its prediction. */
            ? g_strdup_printf (_("%.0f ms latency"), self->latency_ms)
            : g_strdup (_("— ms latency"));
  /* The count as text: xgettext cannot read G_GUINT64_FORMAT inside a message. */
  count = g_strdup_printf ("%" G_GUINT64_FORMAT, dropped);
  /* Translators: frames the models had no time for (the camera is faster than they are). */
  dropped_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s frame skipped",
                                               "%s frames skipped",
                                               (gulong) MIN (dropped, G_MAXULONG)),
                                  count);
  if (get_region (self) == MIEN_FRAME_REGION_FACES)
    /* Translators: camera frames per second, frames searched for faces per second, frames
     * whose faces were classified per second, the latency, the frames skipped. */
    text = g_strdup_printf (_("%.1f frames/s · detection %.1f/s · classification %.1f/s · %s · "
                              "%s"),
                            self->camera_rate,
                            mien_frame_predictor_get_detect_rate (self->predictor),
                            prediction_rate, latency, dropped_text);
  else
    /* Translators: camera frames per second, predictions per second, the latency, the frames
     * skipped. */
    text = g_strdup_printf (_("%.1f frames/s · %.1f predictions/s · %s · %s"),
                            self->camera_rate, prediction_rate, latency, dropped_text);
  gtk_label_set_text (self->status_label, text);
}

static gboolean
status_tick (gpointer data)
{
  MienLivePage *self = data;
  gint64 now = g_get_monotonic_time ();
  guint64 frames = self->camera != NULL ? mien_camera_get_n_frames (self->camera) : 0;

  if (self->status_time != 0 && now > self->status_time)
    self->camera_rate = (frames - self->status_frames) * (double) G_USEC_PER_SEC /
                        (now - self->status_time);
  self->status_frames = frames;
  self->status_time = now;
  update_status (self);
  return G_SOURCE_CONTINUE;
}

/* Start needs camera support, a loaded model, nothing running and nothing still stopping
 * (a predictor being stopped may still be using the ensemble). */
static void
update_state (MienLivePage *self)
{
  gboolean opening = self->open_cancellable != NULL;
  gboolean ready = self->probed && self->supported && self->ensemble != NULL && !self->loading &&
                   !self->running && !opening && self->teardowns->len == 0;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "live.start", ready);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "live.stop", self->running || opening);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "live.snapshot", self->running);
  gtk_widget_set_visible (self->start_button, !self->running && !opening);
  gtk_widget_set_visible (self->stop_button, self->running || opening);

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
      else if (self->loading)
        {
          title = _("Loading Models");
          description = _("The live view can start once they are loaded.");
        }
      else if (self->ensemble == NULL)
        {
          title = _("Choose a Model");
          description = _("Check a model on the right to see its predictions on the camera’s "
                          "frames. The Train page makes new ones.");
        }
      else
        {
          title = _("Camera Off");
          description = _("Press Start to see the frames with the models’ predictions.");
        }
      adw_status_page_set_title (self->stopped_page, title);
      adw_status_page_set_description (self->stopped_page, description);
      gtk_stack_set_visible_child_name (self->view_stack, "stopped");
    }

  if (self->ready != ready)
    {
      self->ready = ready;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READY]);
    }
}

/* ---- Stopping on a thread -------------------------------------------------------------------- */

typedef struct {
  GWeakRef  page;
  GThread  *thread;
} Teardown;

static gboolean
teardown_done_cb (gpointer data)
{
  Teardown *teardown = data;
  g_autoptr(MienLivePage) self = g_weak_ref_get (&teardown->page);

  /* Not listed any more: dispose joined the thread already. */
  if (self != NULL && self->teardowns != NULL &&
      g_ptr_array_remove_fast (self->teardowns, teardown))
    {
      g_thread_join (teardown->thread);
      update_state (self);
    }
  return G_SOURCE_REMOVE;
}

static void
teardown_free (gpointer data)
{
  Teardown *teardown = data;

  g_weak_ref_clear (&teardown->page);
  g_free (teardown);
}

/* Stops and releases a camera and/or a predictor, whose signals must be disconnected from the
 * page already. `wait`: until they are stopped (the page is going away), else in the
 * background, the page listing the stop until it is done. */
static void
teardown (MienLivePage       *self,
          MienCamera         *camera,
          MienFramePredictor *predictor,
          gboolean            wait)
{
  Teardown *data;

  if (camera == NULL && predictor == NULL)
    return;
  if (wait)
    {
      g_thread_join (mien_frame_feed_teardown (camera, predictor, NULL, NULL, NULL));
      return;
    }
  data = g_new0 (Teardown, 1);
  g_weak_ref_init (&data->page, self);
  g_ptr_array_add (self->teardowns, data);
  data->thread = mien_frame_feed_teardown (camera, predictor, teardown_done_cb, data,
                                           teardown_free);
}

/* ---- Frames and predictions ------------------------------------------------------------------ */

static void
show_frame (MienLivePage *self,
            GdkPixbuf    *frame)
{
  int width = gdk_pixbuf_get_width (frame);
  int height = gdk_pixbuf_get_height (frame);
  /* A view of the frame's pixels (holding a reference to it), not a copy. */
  g_autoptr(GBytes) bytes = gdk_pixbuf_read_pixel_bytes (frame);
  g_autoptr(GdkTexture) texture = NULL;

  g_return_if_fail (gdk_pixbuf_get_n_channels (frame) == 3 && !gdk_pixbuf_get_has_alpha (frame));

  texture = gdk_memory_texture_new (width, height, GDK_MEMORY_R8G8B8, bytes,
                                    gdk_pixbuf_get_rowstride (frame));
  mien_live_frames_set_texture (self->frames, texture);
  mien_live_overlay_set_frame_size (self->overlay, width, height);
  if (self->n_frames_shown++ == 0)
    gtk_stack_set_visible_child_name (self->view_stack, "frames");

}

static void
on_feed_frame (MienFrameFeed *feed,
               GdkPixbuf     *frame,
               MienLivePage  *self)
{
  /* Frames of a feed that was stopped meanwhile are not shown. */
  if (self->feed == feed)
    show_frame (self, frame);
}

static void
on_prediction (MienFramePredictor        *predictor,
               const MienFramePrediction *prediction,
               MienLivePage              *self)
{
  if (predictor != self->predictor)
    return;
  self->n_predictions++;
  self->latency_ms = prediction->latency_ms;
  if (prediction->faces)
    self->n_faces = prediction->n_regions;
  mien_live_overlay_set_prediction (self->overlay, prediction);
  if (gtk_toggle_button_get_active (self->log_button) && self->ensemble != NULL)
    {
      if (self->log == NULL)
        self->log = mien_prediction_log_new (self->ensemble, self->source_id);
      mien_prediction_log_add (self->log, prediction);
    }
}

static void
on_explanation (MienFramePredictor         *predictor,
                const MienFrameExplanation *explanation,
                MienLivePage               *self)
{
  /* One that was on its way when Explain went off is not drawn. */
  if (predictor != self->predictor || !gtk_switch_get_active (self->explain_switch))
    return;
  self->n_explanations++;
  mien_live_overlay_set_explanation (self->overlay, explanation);
}

static void
on_explanation_error (MienFramePredictor *predictor,
                      const GError       *error,
                      MienLivePage       *self)
{
  /* The predictor tries no more until Explain is turned on again: said once. */
  if (predictor == self->predictor)
    show_error (self, _("The faces cannot be explained"), error);
}

static void
on_explain_toggled (MienLivePage *self)
{
  gboolean explain = gtk_switch_get_active (self->explain_switch);

  if (self->predictor != NULL)
    mien_frame_predictor_set_explain (self->predictor, explain);
  if (!explain)
    mien_live_overlay_set_explanation (self->overlay, NULL);
}

static void
on_detection (MienFramePredictor        *predictor,
              const MienFramePrediction *detection,
              MienLivePage              *self)
{
  if (predictor != self->predictor)
    return;
  self->n_faces = detection->n_regions;
  mien_live_overlay_set_detection (self->overlay, detection);
}

static void
on_prediction_error (MienFramePredictor *predictor,
                     const GError       *error,
                     MienLivePage       *self)
{
  /* The worker goes on with the next frame: say it once, not at every frame. */
  if (predictor != self->predictor || self->predictor_failed)
    return;
  self->predictor_failed = TRUE;
  show_error (self, _("The models could not predict a frame"), error);
}

static void
use_predictor (MienLivePage       *self,
               MienFramePredictor *predictor)
{
  MienFramePredictor *old;

  g_signal_connect (predictor, "prediction", G_CALLBACK (on_prediction), self);
  g_signal_connect (predictor, "detection", G_CALLBACK (on_detection), self);
  g_signal_connect (predictor, "error", G_CALLBACK (on_prediction_error), self);
  g_signal_connect (predictor, "explanation", G_CALLBACK (on_explanation), self);
  g_signal_connect (predictor, "explanation-error", G_CALLBACK (on_explanation_error), self);
  mien_frame_predictor_set_explain (predictor, gtk_switch_get_active (self->explain_switch));
  self->predictor = g_object_ref (predictor);
  old = mien_frame_feed_swap_predictor (self->feed, predictor);
  g_assert (old == NULL);
  update_status (self);
}

static void
on_detector_opened (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(MienLivePage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienFaceDetector) detector =
    mien_studio_open_face_detector_finish (MIEN_STUDIO (source), result, &error);
  g_autoptr(MienFramePredictor) predictor = NULL;
  MienFaceAlignOptions align = MIEN_FACE_ALIGN_OPTIONS_INIT;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->detector_cancellable);
  if (detector == NULL)
    {
      show_error (self, _("Faces cannot be found"), error);
      return;
    }
  if (!self->running || self->ensemble == NULL || self->predictor != NULL)
    return;
  /* Faces framed as the models' training images were, as `mien-cli predict --faces` does. */
  if (!mien_ensemble_get_face_margin (self->ensemble, align.margin, &align.margin, &error))
    {
      show_error (self, _("Faces cannot be cropped for these models"), error);
      return;
    }
  predictor = mien_frame_predictor_new_for_faces (self->ensemble, detector, &align);
  mien_frame_predictor_set_smoothing (predictor, get_smoothing (self));
  use_predictor (self, predictor);
}

/* Replaces the predictor (when running) with one on the current ensemble, or none. In faces
 * mode the new one comes once its detector is open. */
static void
replace_predictor (MienLivePage *self)
{
  g_autoptr(MienFramePredictor) predictor = NULL;
  MienFramePredictor *old;

  g_cancellable_cancel (self->detector_cancellable);
  g_clear_object (&self->detector_cancellable);
  if (self->predictor != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->predictor, self);
      /* The feed's reference first, so that the streaming thread pushes no more. */
      g_clear_object (&self->predictor);
      if (self->feed != NULL)
        {
          old = mien_frame_feed_swap_predictor (self->feed, NULL);
          teardown (self, NULL, old, FALSE);
        }
    }
  mien_live_overlay_clear_prediction (self->overlay);
  self->predictor_failed = FALSE;
  self->latency_ms = 0.0;
  self->n_faces = 0;

  if (!self->running || self->ensemble == NULL)
    {
      update_status (self);
      return;
    }
  if (get_region (self) == MIEN_FRAME_REGION_FACES)
    {
      self->detector_cancellable = g_cancellable_new ();
      mien_studio_open_face_detector_async (self->studio, MIEN_STUDIO_STREAM_MIN_FACE_FRACTION,
                                            self->detector_cancellable, on_detector_opened,
                                            g_object_ref (self));
      update_status (self);
      return;
    }
  predictor = mien_frame_predictor_new (self->ensemble, get_region (self));
  use_predictor (self, predictor);
}

/* ---- Snapshot and log ------------------------------------------------------------------------ */

static char *
new_output_path (MienLivePage  *self,
                 const char    *suffix,
                 GError       **error)
{
  g_autofree char *folder = mien_annotated_frame_dup_folder (self->settings, error);

  return folder != NULL ? mien_annotated_frame_dup_path (folder, "mien-live", suffix) : NULL;
}

static void
post_saved (MienLivePage *self,
            const char   *path)
{
  g_autofree char *name = g_path_get_basename (path);
  /* Translators: a snapshot or log file just saved in the snapshots folder. */
  g_autofree char *message = g_strdup_printf (_("Saved %s"), name);

  mien_studio_post_message (self->studio, message);
}

static void
snapshot_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  MienLivePage *self = MIEN_LIVE_PAGE (widget);
  g_autoptr(GdkPaintable) image = gdk_paintable_get_current_image (GDK_PAINTABLE (self->frames));
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  if (!GDK_IS_TEXTURE (image))
    g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED, _("No frame is shown"));
  else if ((path = new_output_path (self, ".png", &error)) != NULL &&
           mien_annotated_frame_save (GTK_WIDGET (self->overlay), GDK_TEXTURE (image), path,
                                      &error))
    {
      post_saved (self, path);
      return;
    }
  show_error (self, _("Could not save the snapshot"), error);
}

/* The rows recorded since the button went down, to a new file in the snapshots folder. */
static void
finish_log (MienLivePage *self)
{
  g_autoptr(MienPredictionLog) log = g_steal_pointer (&self->log);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  if (log == NULL || mien_prediction_log_get_n_rows (log) == 0)
    return;
  if ((path = new_output_path (self, ".csv", &error)) != NULL &&
      mien_prediction_log_save (log, path, &error))
    post_saved (self, path);
  else
    show_error (self, _("Could not save the prediction log"), error);
}

static void
on_log_toggled (MienLivePage *self)
{
  if (!gtk_toggle_button_get_active (self->log_button))
    finish_log (self);
}

/* ---- Start and stop -------------------------------------------------------------------------- */

static void
on_camera_error (MienCamera   *camera,
                 const GError *error,
                 MienLivePage *self)
{
  if (camera != self->camera)
    return;
  stop_running (self, FALSE);
  /* The camera's message names the source and what went wrong. */
  show_error (self, NULL, error);
}

/* The frame size to ask the camera for; 0 keeps the source's. Only both sides together: with
 * one side fixed, GStreamer keeps the other and stretches the pixels (a pixel aspect ratio
 * that a GdkPixbuf cannot carry). */
static void
frame_size_for_source (const char *source_id,
                       int        *width,
                       int        *height)
{
  int w = 0, h = 0;

  *width = *height = 0;
  if (g_str_equal (source_id, "test"))
    {
      *width = LIVE_TEST_WIDTH;
      *height = LIVE_TEST_HEIGHT;
    }
  else if (g_str_has_prefix (source_id, "file:") && mien_dataset_is_image_name (source_id + 5) &&
           gdk_pixbuf_get_file_info (source_id + 5, &w, &h) != NULL &&
           MAX (w, h) > LIVE_MAX_IMAGE_SIDE)
    {
      double scale = (double) LIVE_MAX_IMAGE_SIDE / MAX (w, h);

      *width = MAX (1, (int) round (w * scale));
      *height = MAX (1, (int) round (h * scale));
    }
}

static void
on_camera_opened (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(MienLivePage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienCamera) camera = mien_camera_new_finish (result, &error);

  /* Stopped, another source chosen, or the page gone meanwhile. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->open_cancellable);
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
  self->latency_ms = 0.0;
  self->camera_rate = 0.0;
  self->status_frames = 0;
  self->status_time = g_get_monotonic_time ();
  replace_predictor (self);

  if (!mien_camera_start (camera, &error))
    {
      stop_running (self, FALSE);
      show_error (self, _("Could not start the video source"), error);
      return;
    }

  adw_status_page_set_title (self->stopped_page, _("Starting…"));
  adw_status_page_set_description (self->stopped_page, NULL);
  self->status_id = g_timeout_add (STATUS_INTERVAL_MS, status_tick, self);
  g_source_set_static_name (g_main_context_find_source_by_id (NULL, self->status_id),
                            "[mien] live status");
  update_status (self);
  update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static void
start_running (MienLivePage *self)
{
  int width, height;

  if (!self->ready)
    return;
  frame_size_for_source (self->source_id, &width, &height);
  /* This run's counts start at Start, not once the camera is open: until then, the last run's
   * would pass for this one's. */
  self->n_frames_shown = 0;
  self->n_predictions = 0;
  self->n_explanations = 0;
  self->open_cancellable = g_cancellable_new ();
  mien_camera_new_async (self->source_id, width, height, self->open_cancellable,
                         on_camera_opened, g_object_ref (self));
  update_state (self);
}

static void
stop_running (MienLivePage *self,
              gboolean      wait)
{
  MienFramePredictor *predictor = NULL;

  if (self->open_cancellable != NULL)
    {
      /* Closes the camera portal's dialog, if it is up. */
      g_cancellable_cancel (self->open_cancellable);
      g_clear_object (&self->open_cancellable);
      update_state (self);
    }
  if (!self->running)
    return;

  g_signal_handlers_disconnect_by_data (self->camera, self);
  if (self->predictor != NULL)
    g_signal_handlers_disconnect_by_data (self->predictor, self);
  g_clear_object (&self->predictor);
  g_signal_handlers_disconnect_by_data (self->feed, self);
  predictor = mien_frame_feed_stop (self->feed);
  g_clear_object (&self->feed);
  teardown (self, g_steal_pointer (&self->camera), predictor, wait);

  self->running = FALSE;
  g_clear_handle_id (&self->status_id, g_source_remove);
  mien_live_frames_set_texture (self->frames, NULL);
  mien_live_overlay_clear_prediction (self->overlay);
  mien_live_overlay_set_frame_size (self->overlay, 0, 0);
  update_status (self);
  update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static void
start_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  start_running (MIEN_LIVE_PAGE (widget));
}

static void
stop_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  stop_running (MIEN_LIVE_PAGE (widget), FALSE);
}

/* ---- Models ---------------------------------------------------------------------------------- */

static void
on_ensemble_loaded (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(MienLivePage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienEnsemble) ensemble = NULL;

  ensemble = mien_studio_load_ensemble_finish (MIEN_STUDIO (source), result, &error);
  /* A newer selection replaced this one (or the page went away). */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  g_clear_object (&self->load_cancellable);
  self->loading = FALSE;
  if (ensemble == NULL)
    show_error (self, _("Could not load the models"), error);
  g_set_object (&self->ensemble, ensemble);
  mien_live_overlay_set_classes (self->overlay,
                                 ensemble != NULL ? mien_ensemble_get_classes (ensemble) : NULL);
  replace_predictor (self);
  update_state (self);
}

static void
load_models (MienLivePage       *self,
             const char * const *paths)
{
  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  g_clear_object (&self->ensemble);
  self->loading = paths != NULL && paths[0] != NULL;
  /* The old models stop predicting now; the camera goes on. */
  replace_predictor (self);
  mien_live_overlay_set_classes (self->overlay, NULL);

  if (self->loading)
    {
      self->load_cancellable = g_cancellable_new ();
      mien_studio_load_ensemble_async (self->studio, paths, self->load_cancellable,
                                       on_ensemble_loaded, g_object_ref (self));
    }
  update_state (self);
}

static void
on_models_changed (MienModelChooser *chooser,
                   MienLivePage     *self)
{
  g_auto(GStrv) paths = mien_model_chooser_dup_selected (chooser);

  load_models (self, (const char * const *) paths);
}

/* ---- Sources --------------------------------------------------------------------------------- */

static void apply_source (MienLivePage *self,
                          const char   *source_id);

/* For row_ids, whose last entry is NULL. */
static gboolean
str_equal0 (gconstpointer a,
            gconstpointer b)
{
  return g_strcmp0 (a, b) == 0;
}

static gboolean
row_index (MienLivePage *self,
           const char   *id,
           guint        *index)
{
  return g_ptr_array_find_with_equal_func (self->row_ids, id, str_equal0, index);
}

static gboolean
cameras_have (MienLivePage *self,
              const char   *id)
{
  for (guint i = 0; self->cameras != NULL && i < self->cameras->len; i++)
    if (g_str_equal (((MienCameraSource *) self->cameras->pdata[i])->id, id))
      return TRUE;
  return FALSE;
}

static char *
source_display_name (const char *id)
{
  if (g_str_has_prefix (id, "file:"))
    return g_path_get_basename (id + 5);
  if (g_str_equal (id, "test"))
    return g_strdup (_("Test pattern"));
  return g_strdup (id);
}

/* The source row lists the cameras and the test pattern, then the chosen source when it is
 * none of them (a file), then the entry that opens a file chooser. */
static void
rebuild_source_rows (MienLivePage *self)
{
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  guint selected = 0;

  g_ptr_array_set_size (self->row_ids, 0);
  if (self->cameras != NULL)
    for (guint i = 0; i < self->cameras->len; i++)
      {
        MienCameraSource *source = self->cameras->pdata[i];

        gtk_string_list_append (names, source->name);
        g_ptr_array_add (self->row_ids, g_strdup (source->id));
      }
  else
    {
      gtk_string_list_append (names, _("Test pattern"));
      g_ptr_array_add (self->row_ids, g_strdup ("test"));
    }
  if (!row_index (self, self->source_id, NULL))
    {
      g_autofree char *name = source_display_name (self->source_id);

      gtk_string_list_append (names, name);
      g_ptr_array_add (self->row_ids, g_strdup (self->source_id));
    }
  gtk_string_list_append (names, _("Image or Video File…"));
  g_ptr_array_add (self->row_ids, NULL);

  row_index (self, self->source_id, &selected);
  self->updating_rows = TRUE;
  adw_combo_row_set_model (self->source_row, G_LIST_MODEL (names));
  adw_combo_row_set_selected (self->source_row, selected);
  self->updating_rows = FALSE;
}

static void
select_current_row (MienLivePage *self)
{
  guint index;

  if (!row_index (self, self->source_id, &index))
    {
      rebuild_source_rows (self);
      return;
    }
  self->updating_rows = TRUE;
  adw_combo_row_set_selected (self->source_row, index);
  self->updating_rows = FALSE;
}

static void
on_file_chosen (GFile    *file,
                gpointer  user_data)
{
  g_autoptr(MienLivePage) self = user_data;
  g_autofree char *path = NULL;
  g_autofree char *id = NULL;

  /* Nothing to do once the page is gone (the chooser outlived it). */
  if (file == NULL || self->studio == NULL || (path = g_file_get_path (file)) == NULL)
    return;
  id = g_strconcat ("file:", path, NULL);
  self->source_chosen = TRUE;
  apply_source (self, id);
}

static void
choose_file (MienLivePage *self)
{
  g_autoptr(GtkFileFilter) media = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) images = mien_ui_filter_images ();
  GtkFileFilter *filters[] = { media, images, NULL };

  gtk_file_filter_set_name (media, _("Images and videos"));
  gtk_file_filter_add_mime_type (media, "image/*");
  gtk_file_filter_add_mime_type (media, "video/*");
  mien_ui_choose_file (GTK_WIDGET (self), _("Show an Image or a Video"),
                       GTK_FILE_CHOOSER_ACTION_OPEN, _("_Show"), filters, NULL,
                       on_file_chosen, g_object_ref (self));
}

static void
on_source_selected (AdwComboRow  *row,
                    GParamSpec   *pspec,
                    MienLivePage *self)
{
  guint index = adw_combo_row_get_selected (row);
  const char *id;

  if (self->updating_rows || index >= self->row_ids->len)
    return;
  id = self->row_ids->pdata[index];
  if (id == NULL)
    {
      /* The entry opens a chooser; until a file is chosen the source stays what it was. */
      select_current_row (self);
      choose_file (self);
      return;
    }
  self->source_chosen = TRUE;
  apply_source (self, id);
}

static void
apply_source (MienLivePage *self,
              const char   *source_id)
{
  if (g_strcmp0 (self->source_id, source_id) != 0)
    {
      stop_running (self, FALSE);
      g_free (self->source_id);
      self->source_id = g_strdup (source_id);
      g_settings_set_string (self->settings, "live-source", source_id);
    }
  select_current_row (self);
}

typedef struct {
  gboolean   supported;
  GPtrArray *cameras;
} Probe;

static void
probe_free (gpointer data)
{
  Probe *probe = data;

  g_clear_pointer (&probe->cameras, g_ptr_array_unref);
  g_free (probe);
}

static void
probe_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  Probe *probe = g_new0 (Probe, 1);

  probe->supported = mien_camera_is_supported ();
  if (probe->supported)
    probe->cameras = mien_camera_list_sources ();
  g_task_return_pointer (task, probe, probe_free);
}

static void
on_probed (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  MienLivePage *self = MIEN_LIVE_PAGE (source);
  Probe *probe = g_task_propagate_pointer (G_TASK (result), NULL);

  if (probe == NULL || g_cancellable_is_cancelled (self->cancellable))
    {
      g_clear_pointer (&probe, probe_free);
      return;
    }
  self->probed = TRUE;
  self->supported = probe->supported;
  g_clear_pointer (&self->cameras, g_ptr_array_unref);
  self->cameras = g_steal_pointer (&probe->cameras);
  probe_free (probe);

  /* A camera remembered from last time that is not there now (unplugged, or a PipeWire
   * serial of another session) gives way to the first source there is, unless someone chose
   * it meanwhile. */
  if (!self->source_chosen && !g_str_equal (self->source_id, "test") &&
      !g_str_has_prefix (self->source_id, "file:") && !cameras_have (self, self->source_id) &&
      self->cameras != NULL && self->cameras->len > 0)
    {
      g_free (self->source_id);
      self->source_id = g_strdup (((MienCameraSource *) self->cameras->pdata[0])->id);
    }
  rebuild_source_rows (self);
  update_state (self);
}

/* ---- Settings -------------------------------------------------------------------------------- */

/* The region row's items, in their order. */
static const char * const region_nicks[] = { "faces", "whole", "centre" };

static gboolean
region_get_mapping (GValue   *value,
                    GVariant *variant,
                    gpointer  user_data)
{
  guint index = 0;

  mien_name_lookup (region_nicks, G_N_ELEMENTS (region_nicks),
                    g_variant_get_string (variant, NULL), &index);
  g_value_set_uint (value, index);
  return TRUE;
}

static GVariant *
region_set_mapping (const GValue       *value,
                    const GVariantType *expected_type,
                    gpointer            user_data)
{
  guint index = g_value_get_uint (value);

  return g_variant_new_string (region_nicks[index < G_N_ELEMENTS (region_nicks) ? index : 0]);
}

static void
on_region_changed (GSettings    *settings,
                   const char   *key,
                   MienLivePage *self)
{
  MienFrameRegion region = get_region (self);
  MienFrameRegion shown = mien_live_overlay_get_region (self->overlay);
  gboolean faces_changed = (region == MIEN_FRAME_REGION_FACES) !=
                           (shown == MIEN_FRAME_REGION_FACES);

  mien_live_overlay_set_region (self->overlay, region);
  gtk_widget_set_sensitive (GTK_WIDGET (self->smoothing_row), region == MIEN_FRAME_REGION_FACES);
  /* Faces need a predictor of their own (a detector, two threads); a region only a word. */
  if (faces_changed)
    replace_predictor (self);
  else if (self->predictor != NULL)
    mien_frame_predictor_set_region (self->predictor, region);
}

static void
on_smoothing_changed (GSettings    *settings,
                      const char   *key,
                      MienLivePage *self)
{
  if (self->predictor != NULL)
    mien_frame_predictor_set_smoothing (self->predictor, get_smoothing (self));
}

/* ---- The window closing ---------------------------------------------------------------------- */

static gboolean
on_close_request (MienLivePage *self)
{
  /* Waiting here is fine: the window is going; the camera must not outlive it. */
  stop_running (self, TRUE);
  return GDK_EVENT_PROPAGATE;
}

static void
mien_live_page_root (GtkWidget *widget)
{
  MienLivePage *self = MIEN_LIVE_PAGE (widget);
  GtkRoot *root;

  GTK_WIDGET_CLASS (mien_live_page_parent_class)->root (widget);
  root = gtk_widget_get_root (widget);
  if (GTK_IS_WINDOW (root))
    {
      self->window = GTK_WINDOW (root);
      self->close_id = g_signal_connect_swapped (root, "close-request",
                                                 G_CALLBACK (on_close_request), self);
    }
}

static void
mien_live_page_unroot (GtkWidget *widget)
{
  MienLivePage *self = MIEN_LIVE_PAGE (widget);

  if (self->window != NULL)
    g_clear_signal_handler (&self->close_id, self->window);
  self->window = NULL;
  GTK_WIDGET_CLASS (mien_live_page_parent_class)->unroot (widget);
}

/* ---- GObject --------------------------------------------------------------------------------- */

static void
mien_live_page_constructed (GObject *object)
{
  MienLivePage *self = MIEN_LIVE_PAGE (object);
  g_autoptr(GTask) task = NULL;
  g_auto(GStrv) selected = NULL;

  G_OBJECT_CLASS (mien_live_page_parent_class)->constructed (object);

  g_assert (MIEN_IS_STUDIO (self->studio));
  self->settings = g_object_ref (mien_studio_get_settings (self->studio));

  self->source_id = g_settings_get_string (self->settings, "live-source");
  /* A file that is gone is no source to start with. */
  if (self->source_id[0] == '\0' ||
      (g_str_has_prefix (self->source_id, "file:") &&
       !g_file_test (self->source_id + 5, G_FILE_TEST_IS_REGULAR)))
    {
      g_free (self->source_id);
      self->source_id = g_strdup ("test");
    }
  rebuild_source_rows (self);
  g_signal_connect (self->source_row, "notify::selected", G_CALLBACK (on_source_selected), self);

  g_settings_bind_with_mapping (self->settings, "live-region", self->region_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, region_get_mapping, region_set_mapping,
                                NULL, NULL);
  g_signal_connect (self->settings, "changed::live-region", G_CALLBACK (on_region_changed), self);
  mien_live_overlay_set_region (self->overlay, get_region (self));
  g_settings_bind (self->settings, "live-smoothing", self->smoothing_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_signal_connect (self->settings, "changed::live-smoothing", G_CALLBACK (on_smoothing_changed),
                    self);
  gtk_widget_set_sensitive (GTK_WIDGET (self->smoothing_row),
                            get_region (self) == MIEN_FRAME_REGION_FACES);
  g_signal_connect_swapped (self->explain_switch, "notify::active",
                            G_CALLBACK (on_explain_toggled), self);

  self->chooser = mien_model_chooser_new (self->studio);
  adw_bin_set_child (self->chooser_bin, self->chooser);
  g_signal_connect (self->chooser, "changed", G_CALLBACK (on_models_changed), self);
  selected = mien_model_chooser_dup_selected (MIEN_MODEL_CHOOSER (self->chooser));
  if (selected != NULL && selected[0] != NULL)
    load_models (self, (const char * const *) selected);

  task = g_task_new (self, self->cancellable, on_probed, NULL);
  g_task_set_source_tag (task, mien_live_page_constructed);
  g_task_run_in_thread (task, probe_thread);

  update_state (self);
}

static void
mien_live_page_dispose (GObject *object)
{
  MienLivePage *self = MIEN_LIVE_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  g_cancellable_cancel (self->detector_cancellable);
  g_clear_object (&self->detector_cancellable);
  stop_running (self, TRUE);
  if (self->predictor != NULL)
    g_signal_handlers_disconnect_by_data (self->predictor, self);
  g_clear_object (&self->predictor);
  if (self->studio != NULL)
    finish_log (self);
  /* Stops still in flight finish before the page is gone (their idles find it unlisted). */
  if (self->teardowns != NULL)
    {
      for (guint i = 0; i < self->teardowns->len; i++)
        g_thread_join (((Teardown *) self->teardowns->pdata[i])->thread);
      g_clear_pointer (&self->teardowns, g_ptr_array_unref);
    }
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  if (self->chooser != NULL)
    g_signal_handlers_disconnect_by_data (self->chooser, self);
  g_clear_handle_id (&self->status_id, g_source_remove);

  /* The bin's child first: disposing the template would unparent it under AdwBin's feet. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), MIEN_TYPE_LIVE_PAGE);
  g_clear_object (&self->ensemble);
  g_clear_object (&self->settings);
  g_clear_object (&self->studio);
  G_OBJECT_CLASS (mien_live_page_parent_class)->dispose (object);
}

static void
mien_live_page_finalize (GObject *object)
{
  MienLivePage *self = MIEN_LIVE_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->cameras, g_ptr_array_unref);
  g_clear_pointer (&self->row_ids, g_ptr_array_unref);
  g_free (self->source_id);
  g_clear_object (&self->frames);
  G_OBJECT_CLASS (mien_live_page_parent_class)->finalize (object);
}

static void
mien_live_page_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  MienLivePage *self = MIEN_LIVE_PAGE (object);

  switch (prop_id)
    {
    case PROP_STUDIO:
      g_value_set_object (value, self->studio);
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
mien_live_page_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  MienLivePage *self = MIEN_LIVE_PAGE (object);

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
mien_live_page_class_init (MienLivePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = mien_live_page_constructed;
  object_class->dispose = mien_live_page_dispose;
  object_class->finalize = mien_live_page_finalize;
  object_class->get_property = mien_live_page_get_property;
  object_class->set_property = mien_live_page_set_property;
  widget_class->root = mien_live_page_root;
  widget_class->unroot = mien_live_page_unroot;

  properties[PROP_STUDIO] =
    g_param_spec_object ("studio", NULL, NULL, MIEN_TYPE_STUDIO,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_READY] =
    g_param_spec_boolean ("ready", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (MIEN_TYPE_LIVE_OVERLAY);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/mienapp/Mien/ui/mien-live-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, stack);
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, error_label);
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, view_stack);
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, stopped_page);
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, picture);
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, overlay);
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, status_label);
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, start_button);
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, stop_button);
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, log_button);
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, source_row);
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, region_row);
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, smoothing_row);
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, smoothing_switch);
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, explain_switch);
  gtk_widget_class_bind_template_child (widget_class, MienLivePage, chooser_bin);
  gtk_widget_class_bind_template_callback (widget_class, on_dismiss_error);
  gtk_widget_class_bind_template_callback (widget_class, on_log_toggled);

  gtk_widget_class_install_action (widget_class, "live.start", NULL, start_action);
  gtk_widget_class_install_action (widget_class, "live.stop", NULL, stop_action);
  gtk_widget_class_install_action (widget_class, "live.snapshot", NULL, snapshot_action);
}

static void
mien_live_page_init (MienLivePage *self)
{
  self->cancellable = g_cancellable_new ();
  self->row_ids = g_ptr_array_new_with_free_func (g_free);
  self->teardowns = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  self->frames = mien_live_frames_new ();
  gtk_picture_set_paintable (self->picture, GDK_PAINTABLE (self->frames));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "live.start", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "live.stop", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "live.snapshot", FALSE);
}

GtkWidget *
mien_live_page_new (MienStudio *studio)
{
  g_return_val_if_fail (MIEN_IS_STUDIO (studio), NULL);

  return g_object_new (MIEN_TYPE_LIVE_PAGE, "studio", studio, NULL);
}

void
mien_live_page_set_source (MienLivePage *self,
                           const char   *source_id)
{
  g_return_if_fail (MIEN_IS_LIVE_PAGE (self));
  g_return_if_fail (source_id != NULL && source_id[0] != '\0');

  self->source_chosen = TRUE;
  apply_source (self, source_id);
}

void
mien_live_page_set_models (MienLivePage       *self,
                           const char * const *paths)
{
  g_return_if_fail (MIEN_IS_LIVE_PAGE (self));

  /* The chooser shows the selection; the load starts here whether or not it says "changed". */
  g_signal_handlers_block_by_func (self->chooser, on_models_changed, self);
  mien_model_chooser_set_selected (MIEN_MODEL_CHOOSER (self->chooser),
                                   paths != NULL ? paths : (const char * const[]) { NULL });
  g_signal_handlers_unblock_by_func (self->chooser, on_models_changed, self);
  load_models (self, paths);
}

gboolean
mien_live_page_get_running (MienLivePage *self)
{
  g_return_val_if_fail (MIEN_IS_LIVE_PAGE (self), FALSE);
  return self->running;
}

GStrv
mien_live_page_dup_models (MienLivePage *self)
{
  g_return_val_if_fail (MIEN_IS_LIVE_PAGE (self), NULL);
  return mien_model_chooser_dup_selected (MIEN_MODEL_CHOOSER (self->chooser));
}

gboolean
mien_live_page_get_ready (MienLivePage *self)
{
  g_return_val_if_fail (MIEN_IS_LIVE_PAGE (self), FALSE);
  return self->ready;
}

guint64
mien_live_page_get_n_frames_shown (MienLivePage *self)
{
  g_return_val_if_fail (MIEN_IS_LIVE_PAGE (self), 0);
  return self->n_frames_shown;
}

guint64
mien_live_page_get_n_predictions (MienLivePage *self)
{
  g_return_val_if_fail (MIEN_IS_LIVE_PAGE (self), 0);
  return self->n_predictions;
}

guint
mien_live_page_get_n_faces (MienLivePage *self)
{
  g_return_val_if_fail (MIEN_IS_LIVE_PAGE (self), 0);
  return self->n_faces;
}

void
mien_live_page_set_explain (MienLivePage *self,
                            gboolean      explain)
{
  g_return_if_fail (MIEN_IS_LIVE_PAGE (self));

  /* Through the switch, so that it shows the choice. */
  gtk_switch_set_active (self->explain_switch, explain);
}

guint64
mien_live_page_get_n_explanations (MienLivePage *self)
{
  g_return_val_if_fail (MIEN_IS_LIVE_PAGE (self), 0);
  return self->n_explanations;
}

const MienFrameExplanation *
mien_live_page_get_explanation (MienLivePage *self)
{
  g_return_val_if_fail (MIEN_IS_LIVE_PAGE (self), NULL);
  return mien_live_overlay_get_explanation (self->overlay);
}
