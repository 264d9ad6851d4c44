/* test-face-detector.c — the MienFaceDetector wrappers and the OpenCV plugin.
 *
 * The cascades' photo is OpenCV's messi5.jpg (Debian's opencv-doc): 548×342, one frontal face of
 * about 40 px, Messi's, near (246, 113), and a crowd behind him that fools careless cascades.
 *
 * YuNet runs on the real photos of the shared folder (`../shared` beside the repository, or
 * $MIEN_TEST_SHARED_DIR): its models/face_detection_yunet_2022mar.onnx is the file Mien's download
 * pins, and photos/ holds group shots whose faces were counted and outlined by eye. Those tests
 * skip only when the shared folder itself is absent; $MIEN_YUNET_MODEL overrides the model.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "mien-core.h"
#include "mien-face-align.h"
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

/* ---- The shared folder's real photos ------------------------------------------------------ */

/* YuNet from the shared folder (or $MIEN_YUNET_MODEL), prepared; NULL and skipped when there is no
 * shared folder or no opencv plugin. */
static MienFaceDetector *
new_yunet (void)
{
  g_autoptr(MienFaceDetector) detector = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *shared = NULL;
  g_autofree char *model = NULL;
  const char *env = g_getenv ("MIEN_YUNET_MODEL");

  if (env != NULL && env[0] != '\0')
    model = g_strdup (env);
  else if ((shared = mien_test_shared_dir ()) != NULL)
    model = g_build_filename (shared, "models", "face_detection_yunet_2022mar.onnx", NULL);
  else
    return NULL;
  detector = new_opencv ();
  if (detector == NULL)
    {
      g_test_skip ("The opencv plugin is not built (-Dface_detection)");
      return NULL;
    }
  g_object_set (detector, "model-file", model, NULL);
  /* With its model, YuNet is the first choice. */
  g_assert_true (mien_face_detector_prepare (detector, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (mien_face_detector_get_method (detector)->name, ==, "yunet");
  return g_steal_pointer (&detector);
}

/* Where a face is in a photo, drawn by eye around forehead, ears and chin. */
typedef struct {
  double left, top, right, bottom;
} Region;

typedef struct {
  const char *file;
  int         width, height;
  guint       n_faces;
  Region      faces[6];
} SharedPhoto;

/* photos/README.md's counts; regions in the photo's own pixels. */
static const SharedPhoto shared_photos[] = {
  { "one-smiling.jpg", 381, 384, 1, { { 95, 60, 270, 300 } } },
  { "two-laughing.jpg", 360, 480, 2, {
      { 140, 60, 220, 165 },     /* the girl, above */
      { 125, 195, 225, 305 } } },  /* the woman, below */
  { "group-six.jpg", 500, 332, 6, {
      { 45, 140, 105, 205 },     /* glasses, front left */
      { 148, 150, 195, 205 },    /* woman, front left of centre */
      { 180, 70, 225, 125 },     /* back row, left */
      { 232, 55, 285, 120 },     /* back row, centre */
      { 320, 30, 375, 100 },     /* red tie, back right */
      { 265, 150, 335, 235 } } },  /* front, centre */
  { "group-selfie.jpg", 2048, 1536, 6, {
      { 300, 310, 430, 480 },    /* scarf, left */
      { 580, 390, 690, 550 },    /* long hair */
      { 840, 340, 956, 500 },    /* glasses, centre */
      { 1196, 360, 1310, 520 },  /* striped shirt */
      { 1524, 330, 1656, 520 },  /* cap, right */
      { 840, 760, 1330, 1480 } } },  /* the selfie's taker, in front */
};

static GdkPixbuf *
load_shared_photo (const char *shared,
                   const char *file)
{
  g_autofree char *path = g_build_filename (shared, "photos", file, NULL);
  g_autoptr(GError) error = NULL;
  GdkPixbuf *photo = gdk_pixbuf_new_from_file (path, &error);

  g_assert_no_error (error);
  return photo;
}

/* The five landmarks lie in the box, in mien-face-detector.h's order: the subject's right eye on
 * the picture's left, both eyes above the nose tip, the nose above both mouth corners. */
static void
assert_landmark_order (const MienFace *face)
{
  const float (*p)[2] = face->landmarks;

  g_assert_true (face->has_landmarks);
  for (int i = 0; i < MIEN_FACE_N_LANDMARKS; i++)
    {
      g_assert_cmpfloat (p[i][0], >=, face->x);
      g_assert_cmpfloat (p[i][0], <=, face->x + face->width);
      g_assert_cmpfloat (p[i][1], >=, face->y);
      g_assert_cmpfloat (p[i][1], <=, face->y + face->height);
    }
  g_assert_cmpfloat (p[MIEN_FACE_LANDMARK_RIGHT_EYE][0], <, p[MIEN_FACE_LANDMARK_LEFT_EYE][0]);
  g_assert_cmpfloat (p[MIEN_FACE_LANDMARK_RIGHT_MOUTH][0], <, p[MIEN_FACE_LANDMARK_LEFT_MOUTH][0]);
  g_assert_cmpfloat (p[MIEN_FACE_LANDMARK_RIGHT_EYE][1], <, p[MIEN_FACE_LANDMARK_NOSE][1]);
  g_assert_cmpfloat (p[MIEN_FACE_LANDMARK_LEFT_EYE][1], <, p[MIEN_FACE_LANDMARK_NOSE][1]);
  g_assert_cmpfloat (p[MIEN_FACE_LANDMARK_NOSE][1], <, p[MIEN_FACE_LANDMARK_RIGHT_MOUTH][1]);
  g_assert_cmpfloat (p[MIEN_FACE_LANDMARK_NOSE][1], <, p[MIEN_FACE_LANDMARK_LEFT_MOUTH][1]);
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

/* Not a benchmark: a rough figure for a webcam frame, in the log. Every run must still find
 * Messi, and the same box each time: a detector is deterministic, and one that kept state
 * between frames (buffers of the previous size) would show it here. */
static void
test_timing (gconstpointer data)
{
  const MethodCase *mc = data;
  g_autoptr(MienFaceDetector) detector = new_prepared (mc->method);
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GdkPixbuf) frame = NULL;
  g_autoptr(GArray) first = NULL;
  double sx = 1, sy = 1;
  int ox = 0, oy = 0;
  gint64 start;
  const int runs = 3;

  SKIP_WITHOUT_OPENCV (detector);
  photo = load_photo (mc->scale);
  if (photo == NULL)
    return;
  /* A webcam-sized frame: the photo stretched to it, or, when the photo is enlarged past it (for
   * LBP), the 640×480 around Messi, whose face must keep the size the method needs. */
  if (gdk_pixbuf_get_width (photo) >= 640 && gdk_pixbuf_get_height (photo) >= 480)
    {
      ox = (int) CLAMP ((FACE_LEFT + FACE_RIGHT) / 2 * mc->scale - 320, 0,
                        gdk_pixbuf_get_width (photo) - 640);
      oy = (int) CLAMP ((FACE_TOP + FACE_BOTTOM) / 2 * mc->scale - 240, 0,
                        gdk_pixbuf_get_height (photo) - 480);
      frame = gdk_pixbuf_new_subpixbuf (photo, ox, oy, 640, 480);
    }
  else
    {
      sx = 640.0 / gdk_pixbuf_get_width (photo);
      sy = 480.0 / gdk_pixbuf_get_height (photo);
      frame = gdk_pixbuf_scale_simple (photo, 640, 480, GDK_INTERP_BILINEAR);
    }

  start = g_get_monotonic_time ();
  for (int i = 0; i < runs; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GArray) faces = mien_face_detector_detect (detector, frame, &error);
      MienFace face;

      g_assert_no_error (error);
      g_assert_cmpuint (faces->len, ==, 1);
      if (first == NULL)
        first = g_array_ref (faces);
      g_assert_cmpmem (faces->data, sizeof (MienFace), first->data, sizeof (MienFace));

      /* Back to the unscaled photo's pixels, where Messi's region is known. */
      face = g_array_index (faces, MienFace, 0);
      face.x = face.x / sx + ox;
      face.width /= sx;
      face.y = face.y / sy + oy;
      face.height /= sy;
      assert_messi_face (&face, mc->scale, 0, 0);
    }
  g_test_message ("%s: %.0f ms a 640×480 frame", mc->method,
                  (g_get_monotonic_time () - start) / 1000.0 / runs);
}

static void
test_yunet_photo (void)
{
  g_autoptr(MienFaceDetector) detector = new_yunet ();
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GdkPixbuf) tiled = NULL;
  g_autoptr(GArray) faces = NULL;
  g_autoptr(GArray) four = NULL;
  const MienFace *face;
  gboolean seen[4] = { FALSE, FALSE, FALSE, FALSE };

  if (detector == NULL)
    return;
  photo = load_photo (1.0);
  if (photo == NULL)
    return;

  faces = detect (detector, photo);
  g_assert_cmpuint (faces->len, ==, 1);
  face = &g_array_index (faces, MienFace, 0);
  assert_messi_face (face, 1.0, 0, 0);
  g_assert_cmpfloat (face->score, >=, 0.7);
  assert_landmark_order (face);

  /* Messi once in each quadrant. Unlike the cascades, YuNet may also find a blurred spectator in
   * the crowd left of him in a tile (it did in the bottom-right one, score 0.8): allowed there
   * only. */
  tiled = tile_2x2 (photo);
  four = detect (detector, tiled);
  for (guint i = 0; i < four->len; i++)
    {
      const MienFace *quarter = &g_array_index (four, MienFace, i);
      int w = gdk_pixbuf_get_width (photo);
      int h = gdk_pixbuf_get_height (photo);
      int q = quadrant_of (quarter, w, h);

      /* Sorted left to right. */
      if (i > 0)
        g_assert_cmpfloat (g_array_index (four, MienFace, i - 1).x, <=, quarter->x);
      if (quarter->x + quarter->width - (q % 2) * w <= FACE_LEFT)
        continue;
      assert_messi_face (quarter, 1.0, (q % 2) * w, (q / 2) * h);
      g_assert_false (seen[q]);
      seen[q] = TRUE;
    }
  for (int q = 0; q < 4; q++)
    g_assert_true (seen[q]);

  /* A threshold above every score leaves nothing. */
  g_object_set (detector, "score-threshold", 1.0, NULL);
  {
    g_autoptr(GArray) none = detect (detector, photo);

    g_assert_cmpuint (none->len, ==, 0);
  }
}

/* `face` lies in `region`: inside it give or take 15 % of its size, its centre well inside, and
 * not a fragment of it. */
static gboolean
face_in_region (const MienFace *face,
                const Region   *region)
{
  double w = region->right - region->left;
  double h = region->bottom - region->top;
  double cx = face->x + face->width / 2;
  double cy = face->y + face->height / 2;

  return face->x >= region->left - 0.15 * w && face->y >= region->top - 0.15 * h &&
         face->x + face->width <= region->right + 0.15 * w &&
         face->y + face->height <= region->bottom + 0.15 * h &&
         cx >= region->left && cx <= region->right && cy >= region->top && cy <= region->bottom &&
         face->width >= 0.4 * w && face->height >= 0.4 * h;
}

static void
test_yunet_real_photos (void)
{
  g_autoptr(MienFaceDetector) detector = new_yunet ();
  g_autofree char *shared = NULL;

  if (detector == NULL)
    return;
  shared = mien_test_shared_dir ();
  for (guint p = 0; p < G_N_ELEMENTS (shared_photos); p++)
    {
      const SharedPhoto *sp = &shared_photos[p];
      g_autoptr(GdkPixbuf) photo = load_shared_photo (shared, sp->file);
      g_autoptr(GArray) faces = NULL;
      gboolean found[G_N_ELEMENTS (sp->faces)] = { FALSE, };

      g_test_message ("%s", sp->file);
      g_assert_cmpint (gdk_pixbuf_get_width (photo), ==, sp->width);
      g_assert_cmpint (gdk_pixbuf_get_height (photo), ==, sp->height);
      faces = detect (detector, photo);
      g_assert_cmpuint (faces->len, ==, sp->n_faces);

      /* Each face in one region, each region holding one face. */
      for (guint i = 0; i < faces->len; i++)
        {
          const MienFace *face = &g_array_index (faces, MienFace, i);
          guint r;

          for (r = 0; r < sp->n_faces; r++)
            if (face_in_region (face, &sp->faces[r]))
              break;
          g_assert_cmpuint (r, <, sp->n_faces);
          g_assert_false (found[r]);
          found[r] = TRUE;
          g_assert_cmpfloat (face->score, >=, 0.5);
          g_assert_cmpfloat (face->score, <=, 1.0);
          assert_landmark_order (face);
        }
    }
}

/* Two detections of one face agree: boxes overlapping by IoU ≥ 0.8 and every landmark within a
 * tenth of the face's size. */
static void
assert_same_face (const MienFace *a,
                  const MienFace *b)
{
  double tolerance = 0.1 * MAX (a->width, a->height);

  g_assert_cmpfloat (mien_face_iou (a, b), >=, 0.8);
  g_assert_cmpint (a->has_landmarks, ==, b->has_landmarks);
  for (guint l = 0; a->has_landmarks && l < MIEN_FACE_N_LANDMARKS; l++)
    {
      g_assert_cmpfloat (fabs (a->landmarks[l][0] - b->landmarks[l][0]), <=, tolerance);
      g_assert_cmpfloat (fabs (a->landmarks[l][1] - b->landmarks[l][1]), <=, tolerance);
    }
}

/* The cheap searches of a stream — a frame searched shrunk when small faces are not wanted
 * ("min-face-size"), the square around a large tracked face shrunk to at most 192 px — find the
 * faces the full-size search finds, with the same boxes and landmarks. */
static void
test_yunet_shrunk (void)
{
  g_autoptr(MienFaceDetector) detector = new_yunet ();
  g_autofree char *shared = NULL;

  if (detector == NULL)
    return;
  shared = mien_test_shared_dir ();
  for (guint p = 0; p < G_N_ELEMENTS (shared_photos); p++)
    {
      const SharedPhoto *sp = &shared_photos[p];
      g_autoptr(GdkPixbuf) photo = load_shared_photo (shared, sp->file);
      g_autoptr(GArray) full = NULL;
      g_autoptr(GArray) shrunk = NULL;
      g_autoptr(GArray) near = NULL;
      g_autoptr(GError) error = NULL;
      const int min_face = 30;
      guint n_large = 0;

      g_test_message ("%s", sp->file);
      g_object_set (detector, "min-face-size", 0, NULL);
      full = detect (detector, photo);
      g_object_set (detector, "min-face-size", min_face, NULL);
      shrunk = detect (detector, photo);
      /* Every face found at full size that is well over the minimum is found shrunk, the same;
       * and the shrunk search finds nothing the full one did not. */
      for (guint i = 0; i < full->len; i++)
        {
          const MienFace *face = &g_array_index (full, MienFace, i);
          gboolean matched = FALSE;

          for (guint j = 0; j < shrunk->len && !matched; j++)
            if (mien_face_iou (face, &g_array_index (shrunk, MienFace, j)) >= 0.5)
              {
                assert_same_face (face, &g_array_index (shrunk, MienFace, j));
                matched = TRUE;
              }
          if (MIN (face->width, face->height) >= 1.2 * min_face)
            {
              g_assert_true (matched);
              n_large++;
            }
        }
      g_assert_cmpuint (shrunk->len, <=, full->len);
      g_assert_cmpuint (n_large, >, 0);

      /* Around each face, as a tracker searches the next frame. */
      g_object_set (detector, "min-face-size", 0, NULL);
      near = mien_face_detector_detect_near (detector, photo, (const MienFace *) full->data,
                                             full->len, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (near->len, ==, full->len);
      for (guint i = 0; i < near->len; i++)
        assert_same_face (&g_array_index (full, MienFace, i), &g_array_index (near, MienFace, i));
    }
}

/* Where frame point (x, y) lands in the `size`-pixel crop of mien_face_align (), continuous
 * coordinates: the inverse of the turn and scale mien-face-align.h describes. */
static void
frame_to_crop (const MienFace *face,
               int             size,
               double          x,
               double          y,
               double         *u,
               double         *v)
{
  double cx, cy, side, angle;
  double c, s, scale;

  mien_face_align_geometry (face, NULL, &cx, &cy, &side, &angle);
  c = cos (angle);
  s = sin (angle);
  scale = side / size;
  *u = (c * (x - cx) + s * (y - cy) + side / 2) / scale;
  *v = (-s * (x - cx) + c * (y - cy) + side / 2) / scale;
}

/* `photo` turned clockwise on screen by `degrees` about its centre, grey where it had nothing. */
static GdkPixbuf *
rotate_photo (GdkPixbuf *photo,
              double     degrees)
{
  int w = gdk_pixbuf_get_width (photo);
  int h = gdk_pixbuf_get_height (photo);
  int n = gdk_pixbuf_get_n_channels (photo);
  int src_stride = gdk_pixbuf_get_rowstride (photo);
  const guint8 *src = gdk_pixbuf_read_pixels (photo);
  GdkPixbuf *turned = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, w, h);
  guint8 *dst = gdk_pixbuf_get_pixels (turned);
  int dst_stride = gdk_pixbuf_get_rowstride (turned);
  double c = cos (degrees * G_PI / 180);
  double s = sin (degrees * G_PI / 180);

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        double dx = x + 0.5 - w / 2.0;
        double dy = y + 0.5 - h / 2.0;
        /* The point this pixel shows, turned back; nearest neighbour is enough for a detector. */
        int sx = (int) floor (w / 2.0 + c * dx + s * dy);
        int sy = (int) floor (h / 2.0 - s * dx + c * dy);
        guint8 *d = dst + (gsize) y * dst_stride + 3 * x;

        if (sx >= 0 && sx < w && sy >= 0 && sy < h)
          memcpy (d, src + (gsize) sy * src_stride + n * sx, 3);
        else
          memset (d, 0x80, 3);
      }
  return turned;
}

static double
eye_angle (const MienFace *face)
{
  const float *right = face->landmarks[MIEN_FACE_LANDMARK_RIGHT_EYE];
  const float *left = face->landmarks[MIEN_FACE_LANDMARK_LEFT_EYE];

  return atan2 (left[1] - right[1], left[0] - right[0]) * 180 / G_PI;
}

/* Alignment levels the eyes YuNet finds: mapped into the crop they share one row, and YuNet run
 * again on the crop finds them level (within its own precision, about 5°), however the head was
 * tilted in the photo. The face is turned counter-clockwise only: turned clockwise by 15° or
 * more, YuNet's landmarks on it scatter (eyes 130 px apart instead of 75, a mouth corner beside
 * the eye), which no alignment can level. */
static void
test_yunet_align (void)
{
  g_autoptr(MienFaceDetector) detector = new_yunet ();
  g_autofree char *shared = NULL;
  g_autoptr(GdkPixbuf) photo = NULL;
  const int size = 224;

  if (detector == NULL)
    return;
  shared = mien_test_shared_dir ();
  photo = load_shared_photo (shared, "one-smiling.jpg");

  for (double degrees = -30; degrees <= 0; degrees += 15)
    {
      g_autoptr(GdkPixbuf) tilted = rotate_photo (photo, degrees);
      g_autoptr(GdkPixbuf) crop = NULL;
      g_autoptr(GArray) faces = NULL;
      g_autoptr(GArray) again = NULL;
      const MienFace *face, *upright;
      double ur, vr, ul, vl;

      g_test_message ("turned by %.0f°", degrees);
      faces = detect (detector, tilted);
      g_assert_cmpuint (faces->len, ==, 1);
      face = &g_array_index (faces, MienFace, 0);
      g_assert_true (face->has_landmarks);
      /* The smile's own eye line is within a few degrees of level. */
      g_assert_cmpfloat (fabs (eye_angle (face) - degrees), <=, 5.0);

      frame_to_crop (face, size, face->landmarks[MIEN_FACE_LANDMARK_RIGHT_EYE][0],
                     face->landmarks[MIEN_FACE_LANDMARK_RIGHT_EYE][1], &ur, &vr);
      frame_to_crop (face, size, face->landmarks[MIEN_FACE_LANDMARK_LEFT_EYE][0],
                     face->landmarks[MIEN_FACE_LANDMARK_LEFT_EYE][1], &ul, &vl);
      g_test_message ("  eyes in the crop: (%.1f, %.1f) (%.1f, %.1f)", ur, vr, ul, vl);
      g_assert_cmpfloat (fabs (vr - vl), <=, 0.01);
      /* Upright, not upside down: the right eye stays on the left, both in the upper half. */
      g_assert_cmpfloat (ur, <, ul);
      g_assert_cmpfloat (vr, <, size / 2.0);

      crop = mien_face_align (tilted, face, NULL, size, FALSE);
      again = detect (detector, crop);
      g_assert_cmpuint (again->len, ==, 1);
      upright = &g_array_index (again, MienFace, 0);
      assert_landmark_order (upright);
      g_test_message ("  YuNet on the crop: eyes at y %.1f and %.1f, %.1f°",
                      upright->landmarks[MIEN_FACE_LANDMARK_RIGHT_EYE][1],
                      upright->landmarks[MIEN_FACE_LANDMARK_LEFT_EYE][1], eye_angle (upright));
      g_assert_cmpfloat (fabs (eye_angle (upright)), <=, 6.0);
      /* And at the height the mapping said. */
      g_assert_cmpfloat (fabs ((upright->landmarks[MIEN_FACE_LANDMARK_RIGHT_EYE][1] +
                                upright->landmarks[MIEN_FACE_LANDMARK_LEFT_EYE][1]) / 2 - vr), <=,
                         4.0);
    }
}

/* A FER2013-like sample of `region` of `photo`: a grey square `size` px wide, 1.2 times the
 * region's longer side (FER's loose framing), scaled with GdkPixbuf's bilinear filter. `scale`:
 * the crop's pixels per photo pixel; (`left`, `top`): the square's corner in the photo. */
static GdkPixbuf *
fer_crop (GdkPixbuf    *photo,
          const Region *region,
          int           size,
          double       *scale,
          int          *left,
          int          *top)
{
  int side = (int) (1.2 * MAX (region->right - region->left, region->bottom - region->top));
  g_autoptr(GdkPixbuf) square = NULL;
  GdkPixbuf *crop;
  guint8 *pixels;
  int stride;

  side = MIN (side, MIN (gdk_pixbuf_get_width (photo), gdk_pixbuf_get_height (photo)));
  *left = CLAMP ((int) ((region->left + region->right - side) / 2), 0,
                 gdk_pixbuf_get_width (photo) - side);
  *top = CLAMP ((int) ((region->top + region->bottom - side) / 2), 0,
                gdk_pixbuf_get_height (photo) - side);
  *scale = (double) size / side;
  square = gdk_pixbuf_new_subpixbuf (photo, *left, *top, side, side);
  crop = gdk_pixbuf_scale_simple (square, size, size, GDK_INTERP_BILINEAR);
  pixels = gdk_pixbuf_get_pixels (crop);
  stride = gdk_pixbuf_get_rowstride (crop);
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++)
      {
        guint8 *p = pixels + (gsize) y * stride + (gsize) x * gdk_pixbuf_get_n_channels (crop);

        p[0] = p[1] = p[2] = (299 * p[0] + 587 * p[1] + 114 * p[2]) / 1000;
      }
  return crop;
}

/* YuNet's network refuses an input side under 63 px, and FER2013's faces are 48 px: the plugin
 * scales such frames up and maps the faces back, and a frame of any size gives faces or none,
 * never an error. */
static void
test_yunet_small (void)
{
  g_autoptr(MienFaceDetector) detector = new_yunet ();
  g_autofree char *shared = NULL;
  g_autoptr(GdkPixbuf) photo = NULL;
  const Region *region = &shared_photos[0].faces[0];
  const int sizes[] = { 48, 32, 62 };

  if (detector == NULL)
    return;
  shared = mien_test_shared_dir ();
  photo = load_shared_photo (shared, shared_photos[0].file);

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      int size = sizes[i];
      double scale;
      int left, top;
      g_autoptr(GdkPixbuf) crop = fer_crop (photo, region, size, &scale, &left, &top);
      g_autoptr(GArray) faces = detect (detector, crop);
      /* The face's region, in the crop's pixels. */
      Region in_crop = { (region->left - left) * scale, (region->top - top) * scale,
                         (region->right - left) * scale, (region->bottom - top) * scale };
      const MienFace *face;

      g_test_message ("%d-px crop", size);
      g_assert_cmpuint (faces->len, ==, 1);
      face = &g_array_index (faces, MienFace, 0);
      g_test_message ("  box %.1f %.1f %.1f × %.1f, score %.3f", face->x, face->y, face->width,
                      face->height, face->score);
      g_assert_cmpfloat (face->score, >=, 0.9);
      /* In the crop's coordinates, not those of the larger frame YuNet saw: within the image
       * (give or take a pixel) and on the face. */
      g_assert_cmpfloat (face->x, >=, -1);
      g_assert_cmpfloat (face->y, >=, -1);
      g_assert_cmpfloat (face->x + face->width, <=, size + 1);
      g_assert_cmpfloat (face->y + face->height, <=, size + 1);
      g_assert_true (face_in_region (face, &in_crop));
      assert_landmark_order (face);
    }

  /* Too small to hold a face, or a strip: no face, and no error. */
  for (guint i = 0; i < 3; i++)
    {
      const int shapes[][2] = { { 4, 4 }, { 1, 1 }, { 600, 4 } };
      g_autoptr(GdkPixbuf) tiny = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, shapes[i][0],
                                                  shapes[i][1]);
      g_autoptr(GArray) faces = NULL;

      gdk_pixbuf_fill (tiny, 0x808080ff);
      faces = detect (detector, tiny);
      g_assert_cmpuint (faces->len, ==, 0);
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
  g_test_add_func ("/face-detector/yunet/real-photos", test_yunet_real_photos);
  g_test_add_func ("/face-detector/yunet/shrunk", test_yunet_shrunk);
  g_test_add_func ("/face-detector/yunet/align", test_yunet_align);
  g_test_add_func ("/face-detector/yunet/small", test_yunet_small);
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
