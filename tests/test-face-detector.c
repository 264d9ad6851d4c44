/* test-face-detector.c — the MienFaceDetector wrappers and the OpenCV plugin.
 *
 * The photo is OpenCV's messi5.jpg (Debian's opencv-doc): 548×342, one frontal face of about
 * 40 px, Messi's, near (246, 113), and a crowd behind him that fools careless cascades. YuNet runs
 * only when MIEN_YUNET_MODEL names face_detection_yunet_2022mar.onnx (not packaged by Debian).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "mien-core.h"
#include "mien-test-util.h"

#define MESSI_PHOTO "/usr/share/doc/opencv-doc/examples/data/messi5.jpg"

/* Where Messi's face lies in the photo, with slack: every method's box must fit inside. */
#define FACE_LEFT    200.0
#define FACE_TOP      60.0
#define FACE_RIGHT   295.0
#define FACE_BOTTOM  160.0
#define FACE_MIN_SIZE 20.0

typedef struct {
  const char *method;
  /* The improved LBP cascade's 45 px window spans eyes to mouth only: it misses faces under about
   * 90 px, so its photo is enlarged first. */
  double      scale;
} MethodCase;

static const MethodCase haar_case = { "haar", 1.0 };
static const MethodCase lbp_case = { "lbp", 2.5 };

static MienFaceDetector *
new_opencv (void)
{
  MienPluginEngine *engine = mien_plugin_engine_get_default ();
  g_autoptr(GError) error = NULL;
  MienFaceDetector *detector;

  if (mien_plugin_engine_find (engine, "opencv") == NULL)
    return NULL;
  detector = mien_plugin_engine_create_face_detector (engine, "opencv", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (detector);
  return detector;
}

#define SKIP_WITHOUT_OPENCV(detector)                                           \
  G_STMT_START {                                                                \
    if ((detector) == NULL)                                                     \
      {                                                                         \
        g_test_skip ("The opencv plugin is not built (-Dface_detection)");      \
        return;                                                                 \
      }                                                                         \
  } G_STMT_END

static MienFaceDetector *
new_prepared (const char *method)
{
  MienFaceDetector *detector = new_opencv ();
  g_autoptr(GError) error = NULL;

  if (detector == NULL)
    return NULL;
  g_assert_true (mien_face_detector_prepare (detector, method, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (mien_face_detector_get_method (detector)->name, ==, method);
  return detector;
}

/* The photo, enlarged by `scale`; NULL (and the test skipped) without opencv-doc. */
static GdkPixbuf *
load_photo (double scale)
{
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_test (MESSI_PHOTO, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("No " MESSI_PHOTO " (Debian: install opencv-doc)");
      return NULL;
    }
  photo = gdk_pixbuf_new_from_file (MESSI_PHOTO, &error);
  g_assert_no_error (error);
  if (scale == 1.0)
    return g_steal_pointer (&photo);
  return gdk_pixbuf_scale_simple (photo, (int) (gdk_pixbuf_get_width (photo) * scale + 0.5),
                                  (int) (gdk_pixbuf_get_height (photo) * scale + 0.5),
                                  GDK_INTERP_BILINEAR);
}

static GdkPixbuf *
tile_2x2 (GdkPixbuf *photo)
{
  int w = gdk_pixbuf_get_width (photo);
  int h = gdk_pixbuf_get_height (photo);
  GdkPixbuf *tiled = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 2 * w, 2 * h);

  for (int i = 0; i < 4; i++)
    gdk_pixbuf_copy_area (photo, 0, 0, w, h, tiled, (i % 2) * w, (i / 2) * h);
  return tiled;
}

static GArray *
detect (MienFaceDetector *detector,
        GdkPixbuf        *frame)
{
  g_autoptr(GError) error = NULL;
  GArray *faces;
  gint64 start = g_get_monotonic_time ();

  faces = mien_face_detector_detect (detector, frame, &error);
  g_assert_no_error (error);
  g_assert_nonnull (faces);

  g_test_message ("%s on %d×%d: %u face(s) in %.0f ms",
                  mien_face_detector_get_method (detector)->name,
                  gdk_pixbuf_get_width (frame), gdk_pixbuf_get_height (frame), faces->len,
                  (g_get_monotonic_time () - start) / 1000.0);
  for (guint i = 0; i < faces->len; i++)
    {
      const MienFace *f = &g_array_index (faces, MienFace, i);

      g_test_message ("  [%.0f, %.0f %.0f×%.0f] score %.2f",
                      f->x, f->y, f->width, f->height, f->score);
    }
  return faces;
}

/* `face` lies where Messi's face is in the photo enlarged by `scale` and moved by (dx, dy). */
static void
assert_messi_face (const MienFace *face,
                   double          scale,
                   double          dx,
                   double          dy)
{
  double x = (face->x - dx) / scale;
  double y = (face->y - dy) / scale;
  double w = face->width / scale;
  double h = face->height / scale;

  g_assert_cmpfloat (x, >=, FACE_LEFT);
  g_assert_cmpfloat (y, >=, FACE_TOP);
  g_assert_cmpfloat (x + w, <=, FACE_RIGHT);
  g_assert_cmpfloat (y + h, <=, FACE_BOTTOM);
  g_assert_cmpfloat (w, >=, FACE_MIN_SIZE);
  g_assert_cmpfloat (h, >=, FACE_MIN_SIZE);
  g_assert_cmpfloat (face->score, >, 0.0);
  g_assert_cmpfloat (face->score, <=, 1.0);
}

/* 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right, by the face's centre. */
static int
quadrant_of (const MienFace *face,
             int             w,
             int             h)
{
  return (face->x + face->width / 2 >= w ? 1 : 0) + (face->y + face->height / 2 >= h ? 2 : 0);
}

static void
test_iou (void)
{
  MienFace a = { .x = 0, .y = 0, .width = 10, .height = 10 };
  MienFace b = { .x = 5, .y = 0, .width = 10, .height = 10 };
  MienFace c = { .x = 20, .y = 20, .width = 5, .height = 5 };
  MienFace empty = { .x = 3, .y = 3 };

  g_assert_cmpfloat_with_epsilon (mien_face_iou (&a, &a), 1.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (mien_face_iou (&a, &b), 50.0 / 150.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (mien_face_iou (&b, &a), 50.0 / 150.0, 1e-9);
  g_assert_cmpfloat (mien_face_iou (&a, &c), ==, 0.0);
  /* Touching edges share no area. */
  c.x = 10;
  c.y = 0;
  g_assert_cmpfloat (mien_face_iou (&a, &c), ==, 0.0);
  g_assert_cmpfloat (mien_face_iou (&a, &empty), ==, 0.0);
  g_assert_cmpfloat (mien_face_iou (&empty, &empty), ==, 0.0);
}

static void
test_methods (void)
{
  g_autoptr(MienFaceDetector) detector = new_opencv ();
  g_autoptr(GError) error = NULL;
  const MienFaceDetectorMethod *methods;
  guint n;

  SKIP_WITHOUT_OPENCV (detector);

  methods = mien_face_detector_list_methods (detector, &n);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpstr (methods[0].name, ==, "yunet");
  g_assert_true (methods[0].landmarks);
  g_assert_cmpstr (methods[1].name, ==, "haar");
  g_assert_cmpstr (methods[2].name, ==, "lbp");
  g_assert_false (methods[1].landmarks || methods[2].landmarks);

  g_assert_true (mien_face_detector_find_method (detector, "lbp", &error) == &methods[2]);
  g_assert_no_error (error);

  /* No model file: YuNet is skipped, the first available is the Haar cascade. */
  g_assert_true (mien_face_detector_find_method (detector, NULL, &error) == &methods[1]);
  g_assert_true (mien_face_detector_find_method (detector, "", &error) == &methods[1]);
  g_assert_no_error (error);

  g_assert_null (mien_face_detector_find_method (detector, "dnn", &error));
  g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_UNKNOWN_METHOD);
  g_assert_nonnull (strstr (error->message, "“dnn”"));
  g_assert_nonnull (strstr (error->message, "yunet, haar, lbp"));
  g_clear_error (&error);

  g_assert_false (mien_face_detector_prepare (detector, "dnn", &error));
  g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_UNKNOWN_METHOD);
  g_assert_null (mien_face_detector_get_method (detector));
  g_clear_error (&error);

  /* A cascade folder without cascades leaves nothing available, and says why for each. */
  g_object_set (detector, "cascade-dir", "/nonexistent", NULL);
  g_assert_null (mien_face_detector_find_method (detector, NULL, &error));
  g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_MODEL);
  g_assert_nonnull (strstr (error->message, "haar: "));
  g_assert_nonnull (strstr (error->message, "/nonexistent/"));
  g_clear_error (&error);
  g_assert_false (mien_face_detector_prepare (detector, "haar", &error));
  g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_MODEL);
  g_clear_error (&error);

  /* NULL restores the default folder. */
  g_object_set (detector, "cascade-dir", NULL, NULL);
  g_assert_true (mien_face_detector_prepare (detector, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (mien_face_detector_get_method (detector)->name, ==, "haar");
}

static void
test_not_prepared (void)
{
  g_autoptr(MienFaceDetector) detector = new_opencv ();
  g_autoptr(GdkPixbuf) frame = NULL;
  g_autoptr(GArray) faces = NULL;
  g_autoptr(GError) error = NULL;

  SKIP_WITHOUT_OPENCV (detector);

  frame = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 64, 48);
  gdk_pixbuf_fill (frame, 0x808080ff);
  faces = mien_face_detector_detect (detector, frame, &error);
  g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_NOT_PREPARED);
  g_assert_null (faces);
  g_clear_error (&error);

  /* A failed prepare unprepares: the old method's detector is gone too. */
  g_assert_true (mien_face_detector_prepare (detector, "haar", &error));
  g_assert_false (mien_face_detector_prepare (detector, "yunet", &error));
  g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_MODEL);
  g_clear_error (&error);
  g_assert_null (mien_face_detector_get_method (detector));
  faces = mien_face_detector_detect (detector, frame, &error);
  g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_NOT_PREPARED);
  g_assert_null (faces);
}

static void
test_yunet_model_errors (gconstpointer data)
{
  MienTestScratch scratch = { NULL };
  g_autoptr(MienFaceDetector) detector = new_opencv ();
  g_autoptr(GError) error = NULL;
  g_autofree char *missing = NULL;
  g_autofree char *garbage = NULL;
  g_autofree char *truncated = NULL;
  g_autofree char *empty = NULL;
  /* The first bytes of an ONNX protobuf (ir_version 7, producer "pytorch"), then nothing. */
  static const guint8 onnx_head[] = { 0x08, 0x07, 0x12, 0x07, 'p', 'y', 't', 'o', 'r', 'c', 'h',
                                      0x1a, 0x05, '1', '.', '1', '2', 0x3a, 0xff, 0xff, 0x7f };

  SKIP_WITHOUT_OPENCV (detector);
  mien_test_scratch_set_up (&scratch, NULL);

  /* Unset. */
  g_assert_false (mien_face_detector_is_available (detector, "yunet", &error));
  g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_MODEL);
  g_assert_nonnull (strstr (error->message, "face_detection_yunet_2022mar.onnx"));
  g_clear_error (&error);
  g_assert_false (mien_face_detector_prepare (detector, "yunet", &error));
  g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_MODEL);
  g_clear_error (&error);

  /* Missing: the message names the path. */
  missing = g_build_filename (scratch.dir, "nothing-here.onnx", NULL);
  g_object_set (detector, "model-file", missing, NULL);
  g_assert_false (mien_face_detector_is_available (detector, "yunet", &error));
  g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_MODEL);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  /* Present but not a model: available (only the file's presence is checked), refused by
   * prepare (), never a crash. */
  garbage = g_build_filename (scratch.dir, "garbage.onnx", NULL);
  g_assert_true (g_file_set_contents (garbage, "this is not an ONNX model\n", -1, NULL));
  truncated = g_build_filename (scratch.dir, "truncated.onnx", NULL);
  g_assert_true (g_file_set_contents (truncated, (const char *) onnx_head, sizeof onnx_head,
                                      NULL));
  empty = g_build_filename (scratch.dir, "empty.onnx", NULL);
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));

  for (const char * const *path = (const char * const []) { garbage, truncated, empty, NULL };
       *path != NULL; path++)
    {
      g_test_message ("model file %s", *path);
      g_object_set (detector, "model-file", *path, NULL);
      g_assert_true (mien_face_detector_is_available (detector, "yunet", &error));
      g_assert_no_error (error);
      g_assert_false (mien_face_detector_prepare (detector, "yunet", &error));
      g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_MODEL);
      g_test_message ("  %s", error->message);
      g_assert_nonnull (strstr (error->message, *path));
      g_clear_error (&error);
      g_assert_null (mien_face_detector_get_method (detector));
    }

  /* The cascades stay usable when YuNet is not; without a model file they come first. */
  g_object_set (detector, "model-file", NULL, NULL);
  g_assert_true (mien_face_detector_prepare (detector, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (mien_face_detector_get_method (detector)->name, ==, "haar");

  mien_test_scratch_tear_down (&scratch, NULL);
}

static void
test_bad_frames (void)
{
  g_autoptr(MienFaceDetector) detector = new_prepared ("haar");
  g_autoptr(GdkPixbuf) deep = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GArray) faces = NULL;
  g_autoptr(GArray) raw = NULL;
  g_autoptr(GError) error = NULL;
  guint8 pixel[3] = { 0, 0, 0 };

  SKIP_WITHOUT_OPENCV (detector);

  /* GdkPixbuf itself makes only 8-bit pixbufs, but a 16-bit one can be built by hand. */
  bytes = g_bytes_new_take (g_malloc0 (32 * 32 * 6), 32 * 32 * 6);
  deep = g_object_new (GDK_TYPE_PIXBUF, "colorspace", GDK_COLORSPACE_RGB, "n-channels", 3,
                       "has-alpha", FALSE, "bits-per-sample", 16, "width", 32, "height", 32,
                       "rowstride", 32 * 6, "pixel-bytes", bytes, NULL);
  faces = mien_face_detector_detect (detector, deep, &error);
  g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_INPUT);
  g_assert_nonnull (strstr (error->message, "16 bits"));
  g_assert_null (faces);
  g_clear_error (&error);

  /* GdkPixbuf cannot be empty either; the plugin's own check is what guards other callers. */
  raw = g_array_new (FALSE, TRUE, sizeof (MienFace));
  g_assert_false (MIEN_FACE_DETECTOR_GET_IFACE (detector)->detect (detector, pixel, 0, 0, 0, raw,
                                                                   &error));
  g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_INPUT);
  g_clear_error (&error);
  g_assert_false (MIEN_FACE_DETECTOR_GET_IFACE (detector)->detect (detector, pixel, 1, 1, 2, raw,
                                                                   &error));
  g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_INPUT);
  g_assert_cmpuint (raw->len, ==, 0);

  /* A 1×1 frame is valid, merely faceless. */
  g_clear_error (&error);
  g_assert_true (MIEN_FACE_DETECTOR_GET_IFACE (detector)->detect (detector, pixel, 1, 1, 3, raw,
                                                                  &error));
  g_assert_no_error (error);
  g_assert_cmpuint (raw->len, ==, 0);
}

static void
test_photo (gconstpointer data)
{
  const MethodCase *mc = data;
  g_autoptr(MienFaceDetector) detector = new_prepared (mc->method);
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GdkPixbuf) rgba = NULL;
  g_autoptr(GArray) faces = NULL;
  g_autoptr(GArray) faces_rgba = NULL;

  SKIP_WITHOUT_OPENCV (detector);
  photo = load_photo (mc->scale);
  if (photo == NULL)
    return;

  faces = detect (detector, photo);
  g_assert_cmpuint (faces->len, ==, 1);
  assert_messi_face (&g_array_index (faces, MienFace, 0), mc->scale, 0, 0);
  g_assert_false (g_array_index (faces, MienFace, 0).has_landmarks);
  g_assert_cmpfloat (g_array_index (faces, MienFace, 0).score, ==, 1.0);

  /* RGBA is the same picture to a face detector. */
  rgba = gdk_pixbuf_add_alpha (photo, FALSE, 0, 0, 0);
  faces_rgba = detect (detector, rgba);
  g_assert_cmpuint (faces_rgba->len, ==, 1);
  g_assert_cmpmem (faces_rgba->data, sizeof (MienFace), faces->data, sizeof (MienFace));
}

/* Searching near the previous frame's faces: the same face again, nothing where there was
 * none, and one face however many previous boxes lead to it. */
static void
test_near (void)
{
  g_autoptr(MienFaceDetector) detector = new_prepared ("haar");
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GArray) faces = NULL;
  g_autoptr(GArray) near = NULL;
  g_autoptr(GArray) nowhere = NULL;
  g_autoptr(GArray) twice = NULL;
  g_autoptr(GError) error = NULL;
  MienFace previous[2];

  SKIP_WITHOUT_OPENCV (detector);
  photo = load_photo (1.0);
  if (photo == NULL)
    return;
  faces = detect (detector, photo);
  g_assert_cmpuint (faces->len, ==, 1);

  /* The face, moved a little since the previous frame. */
  previous[0] = g_array_index (faces, MienFace, 0);
  previous[0].x += 6;
  previous[0].y -= 4;
  near = mien_face_detector_detect_near (detector, photo, previous, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (near->len, ==, 1);
  g_assert_cmpfloat (mien_face_iou (&g_array_index (near, MienFace, 0),
                                    &g_array_index (faces, MienFace, 0)), >, 0.7);
  assert_messi_face (&g_array_index (near, MienFace, 0), 1.0, 0, 0);

  /* A box on the grass at the bottom left: nothing there. */
  previous[1] = previous[0];
  previous[1].x = 20;
  previous[1].y = gdk_pixbuf_get_height (photo) - 80;
  nowhere = mien_face_detector_detect_near (detector, photo, &previous[1], 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (nowhere->len, ==, 0);

  /* Two previous boxes over the same face give it once. */
  previous[1] = g_array_index (faces, MienFace, 0);
  twice = mien_face_detector_detect_near (detector, photo, previous, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (twice->len, ==, 1);
}

static void
test_no_face (gconstpointer data)
{
  const MethodCase *mc = data;
  g_autoptr(MienFaceDetector) detector = new_prepared (mc->method);
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GdkPixbuf) flat = NULL;
  g_autoptr(GdkPixbuf) gradient = NULL;
  int w, h;

  SKIP_WITHOUT_OPENCV (detector);
  photo = load_photo (mc->scale);
  if (photo == NULL)
    return;
  w = gdk_pixbuf_get_width (photo);
  h = gdk_pixbuf_get_height (photo);

  /* Crops away from Messi's face: the crowd on the left, the stands and the ball on the right. */
  {
    g_autoptr(GdkPixbuf) left = gdk_pixbuf_new_subpixbuf (photo, 0, 0, (int) (190 * mc->scale), h);
    g_autoptr(GdkPixbuf) right = gdk_pixbuf_new_subpixbuf (photo, (int) (310 * mc->scale), 0,
                                                           w - (int) (310 * mc->scale), h);
    g_autoptr(GArray) faces_left = detect (detector, left);
    g_autoptr(GArray) faces_right = detect (detector, right);

    g_assert_cmpuint (faces_left->len, ==, 0);
    g_assert_cmpuint (faces_right->len, ==, 0);
  }

  flat = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 640, 480);
  gdk_pixbuf_fill (flat, 0x7f7f7fff);
  {
    g_autoptr(GArray) faces = detect (detector, flat);

    g_assert_cmpuint (faces->len, ==, 0);
  }

  gradient = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 640, 480);
  for (int y = 0; y < 480; y++)
    {
      guint8 *row = gdk_pixbuf_get_pixels (gradient) + y * gdk_pixbuf_get_rowstride (gradient);

      for (int x = 0; x < 640; x++)
        {
          row[3 * x + 0] = (guint8) (x * 255 / 639);
          row[3 * x + 1] = (guint8) (y * 255 / 479);
          row[3 * x + 2] = (guint8) ((x + y) * 255 / 1118);
        }
    }
  {
    g_autoptr(GArray) faces = detect (detector, gradient);

    g_assert_cmpuint (faces->len, ==, 0);
  }
}

static void
test_tiled (gconstpointer data)
{
  const MethodCase *mc = data;
  g_autoptr(MienFaceDetector) detector = new_prepared (mc->method);
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GdkPixbuf) tiled = NULL;
  g_autoptr(GArray) single = NULL;
  g_autoptr(GArray) faces = NULL;
  const MienFace *first;
  gboolean seen[4] = { FALSE, FALSE, FALSE, FALSE };
  int w, h;

  SKIP_WITHOUT_OPENCV (detector);
  photo = load_photo (mc->scale);
  if (photo == NULL)
    return;
  w = gdk_pixbuf_get_width (photo);
  h = gdk_pixbuf_get_height (photo);

  single = detect (detector, photo);
  g_assert_cmpuint (single->len, ==, 1);
  first = &g_array_index (single, MienFace, 0);

  tiled = tile_2x2 (photo);
  faces = detect (detector, tiled);
  g_assert_cmpuint (faces->len, ==, 4);

  for (guint i = 0; i < 4; i++)
    {
      const MienFace *face = &g_array_index (faces, MienFace, i);
      int q = quadrant_of (face, w, h);
      double dx = (q % 2) * w;
      double dy = (q / 2) * h;
      /* The pyramid's sizes round differently on a frame twice as large. */
      double slack = 4.0 * mc->scale;

      g_test_message ("face %u in quadrant %d", i, q);
      g_assert_false (seen[q]);
      seen[q] = TRUE;
      /* Sorted left to right: the two left quadrants first. */
      g_assert_cmpint (q % 2, ==, i >= 2);
      assert_messi_face (face, mc->scale, dx, dy);
      g_assert_cmpfloat (fabs (face->x - dx - first->x), <=, slack);
      g_assert_cmpfloat (fabs (face->y - dy - first->y), <=, slack);
      g_assert_cmpfloat (fabs (face->width - first->width), <=, slack);
      g_assert_cmpfloat (fabs (face->height - first->height), <=, slack);
    }
}

/* Not a benchmark: a rough figure for a webcam frame, in the log. */
static void
test_timing (gconstpointer data)
{
  const MethodCase *mc = data;
  g_autoptr(MienFaceDetector) detector = new_prepared (mc->method);
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GdkPixbuf) frame = NULL;
  gint64 start;
  const int runs = 3;

  SKIP_WITHOUT_OPENCV (detector);
  photo = load_photo (1.0);
  if (photo == NULL)
    return;
  frame = gdk_pixbuf_scale_simple (photo, 640, 480, GDK_INTERP_BILINEAR);

  start = g_get_monotonic_time ();
  for (int i = 0; i < runs; i++)
    {
      g_autoptr(GArray) faces = mien_face_detector_detect (detector, frame, NULL);

      g_assert_nonnull (faces);
    }
  g_test_message ("%s: %.0f ms a 640×480 frame", mc->method,
                  (g_get_monotonic_time () - start) / 1000.0 / runs);
}

static void
test_yunet_photo (void)
{
  const char *model = g_getenv ("MIEN_YUNET_MODEL");
  g_autoptr(MienFaceDetector) detector = NULL;
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GdkPixbuf) tiled = NULL;
  g_autoptr(GArray) faces = NULL;
  g_autoptr(GArray) four = NULL;
  g_autoptr(GError) error = NULL;
  const MienFace *face;

  if (model == NULL || model[0] == '\0')
    {
      g_test_skip ("Set MIEN_YUNET_MODEL to face_detection_yunet_2022mar.onnx to run YuNet");
      return;
    }
  detector = new_opencv ();
  SKIP_WITHOUT_OPENCV (detector);
  photo = load_photo (1.0);
  if (photo == NULL)
    return;

  g_object_set (detector, "model-file", model, NULL);
  /* With its model, YuNet is the first choice. */
  g_assert_true (mien_face_detector_prepare (detector, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (mien_face_detector_get_method (detector)->name, ==, "yunet");

  faces = detect (detector, photo);
  g_assert_cmpuint (faces->len, ==, 1);
  face = &g_array_index (faces, MienFace, 0);
  assert_messi_face (face, 1.0, 0, 0);
  g_assert_cmpfloat (face->score, >=, 0.7);
  g_assert_true (face->has_landmarks);
  for (int i = 0; i < MIEN_FACE_N_LANDMARKS; i++)
    {
      g_assert_cmpfloat (face->landmarks[i][0], >=, face->x);
      g_assert_cmpfloat (face->landmarks[i][0], <=, face->x + face->width);
      g_assert_cmpfloat (face->landmarks[i][1], >=, face->y);
      g_assert_cmpfloat (face->landmarks[i][1], <=, face->y + face->height);
    }
  /* The subject's right eye is on the left of the picture, above the mouth. */
  g_assert_cmpfloat (face->landmarks[MIEN_FACE_LANDMARK_RIGHT_EYE][0], <,
                     face->landmarks[MIEN_FACE_LANDMARK_LEFT_EYE][0]);
  g_assert_cmpfloat (face->landmarks[MIEN_FACE_LANDMARK_RIGHT_EYE][1], <,
                     face->landmarks[MIEN_FACE_LANDMARK_RIGHT_MOUTH][1]);

  tiled = tile_2x2 (photo);
  four = detect (detector, tiled);
  g_assert_cmpuint (four->len, ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      const MienFace *quarter = &g_array_index (four, MienFace, i);
      int w = gdk_pixbuf_get_width (photo);
      int h = gdk_pixbuf_get_height (photo);
      int q = quadrant_of (quarter, w, h);

      g_assert_cmpint (q % 2, ==, i >= 2);
      assert_messi_face (quarter, 1.0, (q % 2) * w, (q / 2) * h);
    }

  /* A threshold above every score leaves nothing. */
  g_object_set (detector, "score-threshold", 1.0, NULL);
  {
    g_autoptr(GArray) none = detect (detector, photo);

    g_assert_cmpuint (none->len, ==, 0);
  }
}

static void
test_engine_specs (void)
{
  MienPluginEngine *engine = mien_plugin_engine_get_default ();
  const MienPluginInfo *info = mien_plugin_engine_find (engine, "opencv");
  g_autoptr(MienFaceDetector) detector = NULL;
  g_autoptr(MienFaceDetector) first = NULL;
  g_autoptr(MienFaceDetector) refused = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *method = NULL;
  g_autofree char *no_method = NULL;

  if (info == NULL)
    {
      g_test_skip ("The opencv plugin is not built (-Dface_detection)");
      return;
    }
  g_assert_cmpstr (info->kind, ==, "face-detector");
  g_assert_cmpstr (info->name, ==, "OpenCV faces");

  detector = mien_plugin_engine_create_face_detector (engine, "opencv:haar", &method, &error);
  g_assert_no_error (error);
  g_assert_true (MIEN_IS_FACE_DETECTOR (detector));
  g_assert_cmpstr (method, ==, "haar");
  /* New and unprepared. */
  g_assert_null (mien_face_detector_get_method (detector));
  g_assert_true (mien_face_detector_prepare (detector, method, &error));
  g_assert_no_error (error);

  first = mien_plugin_engine_create_face_detector (engine, NULL, &no_method, &error);
  g_assert_no_error (error);
  g_assert_true (G_OBJECT_TYPE (first) == info->type);
  g_assert_null (no_method);

  refused = mien_plugin_engine_create_face_detector (engine, "opencv:dnn", NULL, &error);
  g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_UNKNOWN_METHOD);
  g_assert_null (refused);
  g_clear_error (&error);

  refused = mien_plugin_engine_create_face_detector (engine, "resnet", NULL, &error);
  g_assert_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "available: opencv"));
  g_assert_null (refused);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  mien_init ();

  g_test_add_func ("/face-detector/iou", test_iou);
  g_test_add_func ("/face-detector/methods", test_methods);
  g_test_add_func ("/face-detector/not-prepared", test_not_prepared);
  g_test_add_data_func ("/face-detector/yunet/model-errors", NULL, test_yunet_model_errors);
  g_test_add_func ("/face-detector/yunet/photo", test_yunet_photo);
  g_test_add_func ("/face-detector/bad-frames", test_bad_frames);
  g_test_add_data_func ("/face-detector/haar/photo", &haar_case, test_photo);
  g_test_add_data_func ("/face-detector/haar/no-face", &haar_case, test_no_face);
  g_test_add_data_func ("/face-detector/haar/tiled", &haar_case, test_tiled);
  g_test_add_func ("/face-detector/haar/near", test_near);
  g_test_add_data_func ("/face-detector/haar/timing", &haar_case, test_timing);
  g_test_add_data_func ("/face-detector/lbp/photo", &lbp_case, test_photo);
  g_test_add_data_func ("/face-detector/lbp/no-face", &lbp_case, test_no_face);
  g_test_add_data_func ("/face-detector/lbp/tiled", &lbp_case, test_tiled);
  g_test_add_data_func ("/face-detector/lbp/timing", &lbp_case, test_timing);
  g_test_add_func ("/face-detector/engine", test_engine_specs);

  return g_test_run ();
}
