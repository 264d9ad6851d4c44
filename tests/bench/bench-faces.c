/* bench-faces.c — faces in 640×480 frames: how fast detection + classification run, for a demo
 * booth (the target: 15 frames/s with one small model on 2 CPU cores, 30 with the four
 * full-size backbones on a GPU).
 *
 *   bench-faces [--frames 60] [--detector opencv:haar] [--min-face PX] [--device cpu|cuda[:N]]
 *               [--fps 30] [--photo PATH] [--explain] SCENARIO...
 *
 * SCENARIO: "one" (resnet:18 at 64 px, a small model), "four" (resnet:50, efficientnet:b0,
 * googlenet and vit:b_16 at 224 px, the reference paper's ensemble), or a list of
 * FAMILY:VARIANT@SIZE joined by "+". Weights are random (the timing does not depend on them);
 * the frames are the photo (OpenCV's messi5.jpg) pasted on a grey 640×480 canvas, moving 4 px
 * a frame, so that detection, tracking and alignment do their real work.
 *
 * Two measurements per scenario, one line each:
 *   RESULT sequential …  detection then classification of every frame on this thread: the
 *                        median milliseconds of each stage and the frames/s of the two in a row;
 *   RESULT pipelined  …  MienFramePredictor's faces mode fed at --fps like a camera: the frames
 *                        detected and classified per second, the latency, the frames skipped,
 *                        and ratio = pipelined classified/s ÷ sequential frames/s (what running
 *                        the stages side by side gains on this machine). With --explain
 *                        the predictor also explains faces (mien_frame_predictor_set_explain ())
 *                        and explained/s says how many frames got their maps.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mien-core.h"
#include "mien-ensemble.h"
#include "mien-face-model.h"
#include "mien-frame-predictor.h"

#define FRAME_WIDTH 640
#define FRAME_HEIGHT 480

static int opt_frames = 60;
static char *opt_detector = NULL;
static int opt_min_face = 0;
static char *opt_device = NULL;
static int opt_fps = 30;
static char *opt_photo = NULL;
static gboolean opt_explain = FALSE;

static const char * const classes[] = {
  "anger", "disgust", "fear", "happiness", "sadness", "surprise", NULL
};

static MienEnsemble *
make_ensemble (const char  *scenario,
               MienDevice   device,
               GError     **error)
{
  g_autoptr(MienEnsemble) ensemble = mien_ensemble_new ();
  g_auto(GStrv) members = NULL;

  if (g_str_equal (scenario, "one"))
    members = g_strsplit ("resnet:18@64", "+", -1);
  else if (g_str_equal (scenario, "four"))
    members = g_strsplit ("resnet:50@224+efficientnet:b0@224+googlenet@224+vit:b_16@224", "+",
                          -1);
  else
    members = g_strsplit (scenario, "+", -1);

  for (guint i = 0; members[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (members[i], "@", 2);
      MienModelSpec spec = { 0, };
      g_autoptr(MienModel) model = NULL;

      spec.backbone = parts[0];
      spec.input_size = parts[1] != NULL ? atoi (parts[1]) : 0;
      spec.mode = MIEN_MODE_FINETUNE;
      spec.classes = classes;
      for (int c = 0; c < 3; c++)
        {
          spec.mean[c] = 0.5;
          spec.std[c] = 0.25;
        }
      spec.device = device;
      model = mien_model_new (mien_plugin_engine_get_default (), &spec, error);
      if (model == NULL || !mien_ensemble_add (ensemble, model, error))
        return NULL;
    }
  return g_steal_pointer (&ensemble);
}

static GPtrArray *
make_frames (GdkPixbuf *photo)
{
  GPtrArray *frames = g_ptr_array_new_with_free_func (g_object_unref);
  int w = MIN (gdk_pixbuf_get_width (photo), FRAME_WIDTH);
  int h = MIN (gdk_pixbuf_get_height (photo), FRAME_HEIGHT);

  for (int i = 0; i < opt_frames; i++)
    {
      GdkPixbuf *frame = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, FRAME_WIDTH, FRAME_HEIGHT);
      int x = (i * 4) % MAX (FRAME_WIDTH - w + 1, 1);

      gdk_pixbuf_fill (frame, 0x808080ff);
      gdk_pixbuf_copy_area (photo, 0, 0, w, h, frame, x, (FRAME_HEIGHT - h) / 2);
      g_ptr_array_add (frames, frame);
    }
  return frames;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
median (GArray *values)
{
  g_array_sort (values, compare_doubles);
  return values->len > 0 ? g_array_index (values, double, values->len / 2) : 0.0;
}

static MienFaceDetector *
open_detector (GError **error)
{
  MienFaceDetector *detector =
    mien_face_model_open_detector (mien_plugin_engine_get_default (), opt_detector, NULL, error);

  if (detector != NULL && opt_min_face > 0 &&
      g_object_class_find_property (G_OBJECT_GET_CLASS (detector), "min-face-size") != NULL)
    g_object_set (detector, "min-face-size", opt_min_face, NULL);
  return detector;
}

/* Returns the frames/s of detection + classification in a row, or -1. */
static double
run_sequential (const char   *scenario,
                MienEnsemble *ensemble,
                GPtrArray    *frames,
                GError      **error)
{
  g_autoptr(MienFaceDetector) detector = open_detector (error);
  g_autoptr(GArray) detect_ms = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) classify_ms = g_array_new (FALSE, FALSE, sizeof (double));
  guint n_models = mien_ensemble_get_n_models (ensemble);
  guint n_classes = mien_ensemble_get_n_classes (ensemble);
  g_autofree float *per_model = g_new (float, n_models * n_classes);
  g_autofree float *average = g_new (float, n_classes);
  MienFaceAlignOptions align = MIEN_FACE_ALIGN_OPTIONS_INIT;
  guint n_faces = 0;
  gint64 start_all;
  double seconds;

  if (detector == NULL)
    return -1;
  /* One frame first: libtorch and OpenCV allocate their buffers on the first call. */
  for (guint i = 0; i <= frames->len; i++)
    {
      GdkPixbuf *frame = frames->pdata[i == 0 ? 0 : i - 1];
      gint64 t0 = g_get_monotonic_time (), t1, t2;
      g_autoptr(GArray) faces = mien_face_detector_detect (detector, frame, error);
      double ms;

      if (faces == NULL)
        return -1;
      t1 = g_get_monotonic_time ();
      for (guint f = 0; f < faces->len; f++)
        if (!mien_ensemble_predict_face (ensemble, frame, &g_array_index (faces, MienFace, f),
                                         &align, per_model, average, error))
          return -1;
      t2 = g_get_monotonic_time ();
      if (i == 0)
        {
          start_all = g_get_monotonic_time ();
          continue;
        }
      n_faces += faces->len;
      ms = (t1 - t0) / 1000.0;
      g_array_append_val (detect_ms, ms);
      ms = (t2 - t1) / 1000.0;
      g_array_append_val (classify_ms, ms);
    }
  seconds = (g_get_monotonic_time () - start_all) / (double) G_USEC_PER_SEC;
  g_print ("RESULT sequential scenario=%s method=%s frames=%u faces/frame=%.2f "
           "detect_ms=%.1f classify_ms=%.1f fps=%.2f\n",
           scenario, mien_face_detector_get_method (detector)->name, frames->len,
           (double) n_faces / frames->len, median (detect_ms), median (classify_ms),
           frames->len / seconds);
  return frames->len / seconds;
}

typedef struct {
  guint   n_predictions;
  GArray *latency_ms;
} Received;

static void
on_prediction (MienFramePredictor        *predictor,
               const MienFramePrediction *prediction,
               Received                  *received)
{
  received->n_predictions++;
  g_array_append_val (received->latency_ms, prediction->latency_ms);
}

static gboolean
run_pipelined (const char   *scenario,
               MienEnsemble *ensemble,
               GPtrArray    *frames,
               double        sequential_fps,
               GError      **error)
{
  g_autoptr(MienFaceDetector) detector = open_detector (error);
  g_autoptr(MienFramePredictor) predictor = NULL;
  MienFaceAlignOptions align = MIEN_FACE_ALIGN_OPTIONS_INIT;
  Received received = { 0, g_array_new (FALSE, FALSE, sizeof (double)) };
  gint64 period_us = G_USEC_PER_SEC / MAX (opt_fps, 1);
  gint64 start, next;
  double seconds, detect_rate, classify_rate, explain_rate;
  guint64 pushed, dropped;

  if (detector == NULL)
    return FALSE;
  predictor = mien_frame_predictor_new_for_faces (ensemble, detector, &align);
  g_signal_connect (predictor, "prediction", G_CALLBACK (on_prediction), &received);
  mien_frame_predictor_set_explain (predictor, opt_explain);

  start = next = g_get_monotonic_time ();
  for (guint i = 0; i < frames->len; i++)
    {
      /* A camera: one frame every period, whatever the predictor is doing. */
      while (g_get_monotonic_time () < next)
        if (!g_main_context_iteration (NULL, FALSE))
          g_usleep (1000);
      mien_frame_predictor_push (predictor, frames->pdata[i]);
      next += period_us;
    }
  /* Whatever is still on its way. */
  while (mien_frame_predictor_get_n_predicted (predictor) +
         mien_frame_predictor_get_n_dropped (predictor) <
         mien_frame_predictor_get_n_pushed (predictor))
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  while (g_main_context_iteration (NULL, FALSE))
    ;
  pushed = mien_frame_predictor_get_n_pushed (predictor);
  dropped = mien_frame_predictor_get_n_dropped (predictor);
  classify_rate = mien_frame_predictor_get_n_predicted (predictor) / seconds;
  detect_rate = mien_frame_predictor_get_detect_rate (predictor);
  mien_frame_predictor_stop (predictor);
  explain_rate = mien_frame_predictor_get_n_explained (predictor) / seconds;

  g_print ("RESULT pipelined  scenario=%s feed_fps=%d frames=%" G_GUINT64_FORMAT
           " classified/s=%.2f explained/s=%.2f detected/s(last 2 s)=%.2f latency_ms=%.1f"
           " skipped=%" G_GUINT64_FORMAT " ratio=%.3f\n",
           scenario, opt_fps, pushed, classify_rate, explain_rate, detect_rate,
           median (received.latency_ms), dropped,
           sequential_fps > 0 ? classify_rate / sequential_fps : 0.0);
  g_array_unref (received.latency_ms);
  return TRUE;
}

int
main (int    argc,
      char **argv)
{
  const GOptionEntry entries[] = {
    { "frames", 0, 0, G_OPTION_ARG_INT, &opt_frames, "Frames per measurement", "N" },
    { "detector", 0, 0, G_OPTION_ARG_STRING, &opt_detector, "PLUGIN[:METHOD]", "SPEC" },
    { "min-face", 0, 0, G_OPTION_ARG_INT, &opt_min_face, "Smallest face searched (px)", "PX" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &opt_device, "cpu or cuda[:N]", "DEVICE" },
    { "fps", 0, 0, G_OPTION_ARG_INT, &opt_fps, "The pipelined feed's frames/s", "FPS" },
    { "photo", 0, 0, G_OPTION_ARG_FILENAME, &opt_photo, "The face photo", "PATH" },
    { "explain", 0, 0, G_OPTION_ARG_NONE, &opt_explain, "Explain faces while predicting", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("SCENARIO…");
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GPtrArray) frames = NULL;
  MienDevice device = mien_device_cpu ();

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc < 2)
    {
      g_printerr ("%s\n", error != NULL ? error->message : "give a scenario: one, four, …");
      return 2;
    }
  mien_init ();
  if (opt_device != NULL && !mien_device_parse (opt_device, &device, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  photo = gdk_pixbuf_new_from_file (opt_photo != NULL ? opt_photo
                                    : "/usr/share/doc/opencv-doc/examples/data/messi5.jpg",
                                    &error);
  if (photo == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  frames = make_frames (photo);
  g_print ("# %dx%d frames, %d threads, device %s\n", FRAME_WIDTH, FRAME_HEIGHT,
           mien_torch_get_num_threads (), opt_device != NULL ? opt_device : "cpu");

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(MienEnsemble) ensemble = make_ensemble (argv[i], device, &error);
      double fps;

      if (ensemble == NULL)
        {
          g_printerr ("%s: %s\n", argv[i], error->message);
          return 1;
        }
      fps = run_sequential (argv[i], ensemble, frames, &error);
      if (fps < 0 || !run_pipelined (argv[i], ensemble, frames, fps, &error))
        {
          g_printerr ("%s: %s\n", argv[i], error->message);
          return 1;
        }
    }
  return 0;
}
