/* mien-cli-capture.c — `mien-cli capture`: face crops from a camera or a video file into a
 * class folder of a dataset (mien-capture.h decides what is kept). */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>

#include "mien-camera.h"
#include "mien-capture.h"
#include "mien-cli-private.h"
#include "mien-video.h"

/* What a capture run has done so far. */
typedef struct {
  MienCapture  *capture;
  const char   *class_name;
  gint64        count;        /* stop after this many kept crops; 0: no limit */
  guint64       n_kept;
  int           status;       /* the exit status once it ends */
  gboolean      done;
  /* The camera: its newest frame waits here for the main thread (one frame; a newer one
   * replaces it), so that a slow detector never queues frames up. */
  GMutex        lock;
  GdkPixbuf    *pending;
  gint64        pending_pts;
  gboolean      scheduled;
  guint64       n_dropped;
  GMainContext *context;
  GMainLoop    *loop;
} CaptureRun;

/* Processes one frame: prints the crop's path when one is kept. FALSE (status set and the
 * reason printed) when capture cannot go on. */
static gboolean
capture_frame (CaptureRun *run,
               GdkPixbuf  *frame,
               gint64      pts_us)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienCaptureResult) result = NULL;

  result = mien_capture_add_frame (run->capture, frame, run->class_name, pts_us, &error);
  if (result == NULL)
    {
      mien_cli_error (error->message);
      run->status = EXIT_FAILURE;
      run->done = TRUE;
      return FALSE;
    }
  if (result->outcome == MIEN_CAPTURE_KEPT)
    {
      g_print ("%s\n", result->path);
      /* A script reading the paths sees each one as soon as it exists. */
      fflush (stdout);
      run->n_kept++;
      if (run->count > 0 && (gint64) run->n_kept >= run->count)
        run->done = TRUE;
    }
  return TRUE;
}

/* "Kept 3 crops in DATASET/CLASS; skipped: 2 no face, 0 blurred, …" on stderr, so that the
 * standard output holds the crops' paths only. */
static void
print_summary (CaptureRun *run)
{
  g_autofree char *dir = g_build_filename (mien_capture_get_dataset_dir (run->capture),
                                           run->class_name, NULL);
  g_autoptr(GString) line = g_string_new (NULL);

  g_string_append_printf (line, g_dngettext (GETTEXT_PACKAGE, "Kept %llu crop in %s; skipped:",
                                             "Kept %llu crops in %s; skipped:", run->n_kept),
                          (unsigned long long) run->n_kept, dir);
  for (MienCaptureOutcome o = MIEN_CAPTURE_KEPT + 1; o < MIEN_CAPTURE_N_OUTCOMES; o++)
    {
      g_string_append_c (line, ' ');
      /* TRANSLATORS: a count and a reason a frame was skipped ("2 no face"). */
      g_string_append_printf (line, _("%llu %s"),
                              (unsigned long long) mien_capture_get_n_outcome (run->capture, o),
                              mien_capture_outcome_to_string (o));
      if (o + 1 < MIEN_CAPTURE_N_OUTCOMES)
        g_string_append_c (line, ',');
    }
  if (run->n_dropped > 0)
    g_string_append_printf (line, _("; %llu camera frames not examined (the detector was busy)"),
                            (unsigned long long) run->n_dropped);
  g_printerr ("%s\n", line->str);
}

/* ---- From a video file ------------------------------------------------------------------- */

static void
capture_video (CaptureRun      *run,
               MienVideoReader *reader)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GdkPixbuf) frame = NULL;
      gint64 pts_us = -1;

      /* Ctrl+C is seen between two frames. */
      while (g_main_context_iteration (NULL, FALSE))
        ;
      if (run->done)
        return;
      frame = mien_video_reader_next (reader, &pts_us, &error);
      if (frame == NULL)
        {
          if (error != NULL)
            {
              g_autofree char *message =
                g_strdup_printf ("%s: %s", mien_video_reader_get_path (reader), error->message);

              mien_cli_error (message);
              run->status = EXIT_FAILURE;
            }
          return;  /* the video's end ends the capture */
        }
      capture_frame (run, frame, pts_us);
    }
}

/* ---- From a camera ----------------------------------------------------------------------- */

static gboolean
process_pending_cb (gpointer data)
{
  CaptureRun *run = data;
  g_autoptr(GdkPixbuf) frame = NULL;
  gint64 pts_us;

  g_mutex_lock (&run->lock);
  frame = g_steal_pointer (&run->pending);
  pts_us = run->pending_pts;
  run->scheduled = FALSE;
  g_mutex_unlock (&run->lock);

  if (frame != NULL && !run->done)
    capture_frame (run, frame, pts_us);
  if (run->done)
    g_main_loop_quit (run->loop);
  return G_SOURCE_REMOVE;
}

/* On a GStreamer streaming thread. */
static void
on_camera_frame (GdkPixbuf *frame,
                 gint64     pts_us,
                 gpointer   data)
{
  CaptureRun *run = data;
  g_autoptr(GdkPixbuf) replaced = NULL;
  gboolean schedule;

  g_mutex_lock (&run->lock);
  replaced = g_steal_pointer (&run->pending);
  if (replaced != NULL)
    run->n_dropped++;
  run->pending = g_object_ref (frame);
  run->pending_pts = pts_us;
  schedule = !run->scheduled;
  run->scheduled = TRUE;
  g_mutex_unlock (&run->lock);
  if (schedule)
    mien_main_context_post (run->context, G_PRIORITY_DEFAULT, "[mien] capture frame",
                            process_pending_cb, run, NULL);
}

static void
on_camera_error (MienCamera   *camera,
                 const GError *error,
                 CaptureRun   *run)
{
  g_autofree char *message =
    g_strdup_printf (_("the camera %s stopped; every crop written so far is kept: %s"),
                     mien_camera_get_source_id (camera), error->message);

  mien_cli_error (message);
  run->status = EXIT_FAILURE;
  run->done = TRUE;
  g_main_loop_quit (run->loop);
}


/* The source id of --camera's DEVICE: a device node is a V4L2 camera, anything else a
 * MienCamera source id; without one, the first camera there is (not the test pattern). */
static char *
camera_source_id (const char *device)
{
  g_autoptr(GPtrArray) sources = NULL;

  if (device != NULL && g_str_has_prefix (device, "/dev/"))
    return g_strconcat ("v4l2:", device, NULL);
  if (device != NULL)
    return g_strdup (device);
  sources = mien_camera_list_sources ();
  for (guint i = 0; i < sources->len; i++)
    {
      MienCameraSource *source = sources->pdata[i];

      if (!g_str_equal (source->id, "test"))
        return g_strdup (source->id);
    }
  return NULL;
}

typedef struct {
  GMainLoop  *loop;
  MienCamera *camera;
  GError     *error;
} CameraOpen;

static void
camera_opened_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  CameraOpen *open = user_data;

  open->camera = mien_camera_new_finish (result, &open->error);
  g_main_loop_quit (open->loop);
}

/* Waits for the camera on this thread's main context (the one its errors come to later): the
 * camera portal may first ask the person at the desktop. */
static MienCamera *
open_camera (const char  *source_id,
             GError     **error)
{
  CameraOpen open = { g_main_loop_new (NULL, FALSE), NULL, NULL };

  mien_camera_new_async (source_id, 0, 0, NULL, camera_opened_cb, &open);
  g_main_loop_run (open.loop);
  g_main_loop_unref (open.loop);
  if (open.camera == NULL)
    g_propagate_error (error, open.error);
  return open.camera;
}

static void
capture_camera (CaptureRun *run,
                MienCamera *camera)
{
  g_autoptr(GError) error = NULL;
  gulong error_handler;

  error_handler = g_signal_connect (camera, "error", G_CALLBACK (on_camera_error), run);
  mien_camera_set_frame_func (camera, on_camera_frame, run, NULL);
  if (!mien_camera_start (camera, &error))
    {
      mien_cli_error (error->message);
      run->status = EXIT_FAILURE;
    }
  else
    g_main_loop_run (run->loop);

  /* No frame callback runs once stop returns; a frame still waiting is not examined. */
  run->done = TRUE;
  mien_camera_stop (camera);
  g_signal_handler_disconnect (camera, error_handler);
  while (g_main_context_iteration (run->context, FALSE))
    ;
  g_mutex_lock (&run->lock);
  if (run->pending != NULL)
    run->n_dropped++;
  g_clear_object (&run->pending);
  g_mutex_unlock (&run->lock);
}

/* SIGINT and SIGTERM: the capture stops after the frame in progress, with its summary, as a
 * camera capture without --count is meant to end. */
static gboolean
on_stop_signal (gpointer data)
{
  CaptureRun *run = data;

  run->done = TRUE;
  g_main_loop_quit (run->loop);
  return G_SOURCE_CONTINUE;
}

/* ---- The command ------------------------------------------------------------------------- */

static gboolean camera_given;
static char *camera_device;

static gboolean
parse_camera (const char  *option_name,
              const char  *value,
              gpointer     data,
              GError     **error)
{
  camera_given = TRUE;
  g_free (camera_device);
  camera_device = g_strdup (value);
  return TRUE;
}

int
mien_cli_capture (int    argc,
                  char **argv)
{
  g_autofree char *video = NULL;
  g_autofree char *class_name = NULL;
  g_autofree char *dataset = NULL;
  g_autofree char *count_arg = NULL;
  g_autofree char *every_arg = NULL;
  g_autofree char *size_arg = NULL;
  g_autofree char *margin_arg = NULL;
  g_autofree char *detector_spec = NULL;
  g_autofree char *face_model = NULL;
  gboolean grey = FALSE;
  const GOptionEntry entries[] = {
    { "camera", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, parse_camera,
      N_("Record from a camera: a device (/dev/videoN) or a source id (v4l2:…, pipewire:…, "
         "portal, file:…); default: the first camera found"), N_("DEVICE") },
    { "video", 0, 0, G_OPTION_ARG_FILENAME, &video,
      N_("Record from a video file, every frame, to its end"), N_("FILE") },
    { "class", 0, 0, G_OPTION_ARG_STRING, &class_name,
      N_("The class the crops are recorded for: its folder in the dataset"), N_("NAME") },
    { "to", 0, 0, G_OPTION_ARG_FILENAME, &dataset,
      N_("The dataset folder (one sub-folder per class); made when missing"), N_("DATASET") },
    { "count", 0, 0, G_OPTION_ARG_STRING, &count_arg,
      N_("Stop after N kept crops (default: no limit; Ctrl+C stops)"), N_("N") },
    { "every", 0, 0, G_OPTION_ARG_STRING, &every_arg,
      N_("The least time between two kept crops, in seconds of the video or the camera "
         "(default 0)"), N_("SECONDS") },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size_arg,
      N_("The crops' side in pixels, 16 to 1024 (default 224)"), N_("PX") },
    { "margin", 0, 0, G_OPTION_ARG_STRING, &margin_arg,
      N_("The margin around the face, a fraction of its box on each side, 0 to 1 (default "
         "0.2)"), N_("FRACTION") },
    { "grey", 0, 0, G_OPTION_ARG_NONE, &grey,
      N_("Store grey crops (for grey datasets such as FER2013)"), NULL },
    { "detector", 0, 0, G_OPTION_ARG_STRING, &detector_spec,
      N_("The face detector (see mien-cli detectors; default: the best available)"),
      N_("PLUGIN[:METHOD]") },
    { "face-model", 0, 0, G_OPTION_ARG_FILENAME, &face_model,
      N_("YuNet's model file, if it is not in Mien's data folder"), N_("FILE") },
    { NULL }
  };
  MienCaptureOptions options = MIEN_CAPTURE_OPTIONS_INIT;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienVideoReader) reader = NULL;
  g_autoptr(MienCamera) camera = NULL;
  g_autoptr(MienFaceDetector) detector = NULL;
  g_autoptr(MienCapture) capture = NULL;
  g_autofree char *device = NULL;
  g_autofree char *source_id = NULL;
  CaptureRun run = { 0, };
  gint64 count = 0, size = options.size;
  guint sigint_id, sigterm_id;
  double every = 0.0;

  camera_given = FALSE;
  g_clear_pointer (&camera_device, g_free);
  if (!mien_cli_parse_options ("capture", NULL, entries, &argc, &argv))
    return EXIT_USAGE;
  device = g_steal_pointer (&camera_device);
  if (argc > 1)
    return mien_cli_usage_error ("capture", _("unexpected argument “%s”"), argv[1]);
  if (camera_given == (video != NULL))
    return mien_cli_usage_error ("capture", _("give either --camera [DEVICE] or --video FILE"));
  if (class_name == NULL)
    return mien_cli_usage_error ("capture", _("--class NAME is required"));
  if (dataset == NULL)
    return mien_cli_usage_error ("capture", _("--to DATASET is required"));
  if (!mien_cli_parse_int ("capture", "count", count_arg, 1, G_MAXINT32, &count) ||
      !mien_cli_parse_int ("capture", "size", size_arg, 16, 1024, &size) ||
      !mien_cli_parse_double ("capture", "every", every_arg, 0.0, 86400.0, MIEN_CLI_CLOSED,
                              &every) ||
      !mien_cli_parse_double ("capture", "margin", margin_arg, 0.0, 1.0, MIEN_CLI_CLOSED,
                              &options.margin))
    return EXIT_USAGE;
  if (!mien_capture_check_class_name (class_name, &error))
    return mien_cli_usage_error ("capture", "--class: %s", error->message);
  if (g_file_test (dataset, G_FILE_TEST_EXISTS) && !g_file_test (dataset, G_FILE_TEST_IS_DIR))
    return mien_cli_usage_error ("capture", _("--to %s is not a folder"), dataset);
  if (face_model != NULL && !g_file_test (face_model, G_FILE_TEST_IS_REGULAR))
    return mien_cli_usage_error ("capture", _("--face-model %s: no such file"), face_model);
  options.size = (int) size;
  options.grey = grey;
  options.every_us = (gint64) llround (every * G_USEC_PER_SEC);

  /* The source is opened before anything is written, so that a bad one leaves no dataset. */
  if (video != NULL)
    {
      reader = mien_video_reader_open (video, &error);
      if (reader == NULL)
        {
          if (g_error_matches (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_UNSUPPORTED))
            {
              mien_cli_error (error->message);
              return EXIT_FAILURE;
            }
          return mien_cli_usage_error ("capture", "--video: %s", error->message);
        }
    }
  else
    {
      source_id = camera_source_id (device);
      if (source_id == NULL)
        {
          mien_cli_error (_("no camera found; name one with --camera DEVICE"));
          return EXIT_FAILURE;
        }
      camera = open_camera (source_id, &error);
      if (camera == NULL)
        {
          if (g_error_matches (error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_SOURCE))
            return mien_cli_usage_error ("capture", "--camera %s: %s", source_id,
                                         error->message);
          mien_cli_error (error->message);
          return EXIT_FAILURE;
        }
    }

  detector = mien_cli_open_face_detector (detector_spec, face_model);
  if (detector == NULL)
    return EXIT_FAILURE;
  capture = mien_capture_new (dataset, detector, &options, &error);
  if (capture == NULL)
    return mien_cli_usage_error ("capture", "%s", error->message);

  run.capture = capture;
  run.class_name = class_name;
  run.count = count;
  run.status = EXIT_SUCCESS;
  g_mutex_init (&run.lock);
  run.context = g_main_context_ref_thread_default ();
  run.loop = g_main_loop_new (run.context, FALSE);
  sigint_id = g_unix_signal_add (SIGINT, on_stop_signal, &run);
  sigterm_id = g_unix_signal_add (SIGTERM, on_stop_signal, &run);
  if (reader != NULL)
    capture_video (&run, reader);
  else
    capture_camera (&run, camera);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  g_clear_pointer (&run.loop, g_main_loop_unref);
  g_clear_pointer (&run.context, g_main_context_unref);
  g_mutex_clear (&run.lock);

  print_summary (&run);
  return run.status;
}
