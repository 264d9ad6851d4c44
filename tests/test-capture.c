/* test-capture.c — recording face crops into class folders (mien-capture.h).
 *
 * The frames are the shared folder's one-smiling.jpg (`../shared` beside the repository, or
 * $MIEN_TEST_SHARED_DIR), with YuNet from its models/ folder, or OpenCV's Haar cascade where the
 * model is missing; the tests that need a face skip when the shared folder is absent.
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mien-capture.h"
#include "mien-core.h"
#include "mien-test-util.h"

typedef MienTestScratch Fixture;

/* A prepared detector: YuNet when the shared folder has its model, else Haar; NULL (and the
 * test skipped) without the opencv plugin. */
static MienFaceDetector *
new_detector (const char *shared)
{
  MienPluginEngine *engine = mien_plugin_engine_get_default ();
  g_autoptr(MienFaceDetector) detector = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *yunet = NULL;

  if (mien_plugin_engine_find (engine, "opencv") == NULL)
    {
      g_test_skip ("The opencv plugin is not built (-Dface_detection)");
      return NULL;
    }
  detector = mien_plugin_engine_create_face_detector (engine, "opencv", NULL, &error);
  g_assert_no_error (error);
  if (shared != NULL)
    yunet = g_build_filename (shared, "models", "face_detection_yunet_2022mar.onnx", NULL);
  if (yunet != NULL && g_file_test (yunet, G_FILE_TEST_IS_REGULAR))
    {
      g_object_set (detector, "model-file", yunet, NULL);
      g_assert_true (mien_face_detector_prepare (detector, "yunet", &error));
    }
  else
    g_assert_true (mien_face_detector_prepare (detector, "haar", &error));
  g_assert_no_error (error);
  return g_steal_pointer (&detector);
}

/* one-smiling.jpg; NULL (and the test skipped) without the shared folder. */
static GdkPixbuf *
load_face_photo (char **shared_out)
{
  g_autofree char *shared = mien_test_shared_dir ();
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  GdkPixbuf *photo;

  if (shared == NULL)
    return NULL;
  path = g_build_filename (shared, "photos", "one-smiling.jpg", NULL);
  photo = gdk_pixbuf_new_from_file (path, &error);
  g_assert_no_error (error);
  if (shared_out != NULL)
    *shared_out = g_steal_pointer (&shared);
  return photo;
}

/* A capture into SCRATCH/dataset with `options`, and the photo; FALSE when the test skips. */
static gboolean
set_up_capture (Fixture                   *fixture,
                const MienCaptureOptions  *options,
                MienCapture              **capture,
                GdkPixbuf                **photo)
{
  g_autofree char *shared = NULL;
  g_autofree char *dataset = g_build_filename (fixture->dir, "dataset", NULL);
  g_autoptr(MienFaceDetector) detector = NULL;
  g_autoptr(GError) error = NULL;

  *photo = load_face_photo (&shared);
  if (*photo == NULL)
    return FALSE;
  detector = new_detector (shared);
  if (detector == NULL)
    return FALSE;
  *capture = mien_capture_new (dataset, detector, options, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*capture);
  return TRUE;
}

/* The names in `dir`; an empty array when it does not exist. */
static GPtrArray *
list_folder (const char *dir)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  return names;
}

static MienCaptureResult *
add_frame (MienCapture *capture,
           GdkPixbuf   *frame,
           const char  *class_name,
           gint64       pts_us)
{
  g_autoptr(GError) error = NULL;
  MienCaptureResult *result = mien_capture_add_frame (capture, frame, class_name, pts_us, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_cmpstr (result->class_name, ==, class_name);
  return result;
}

/* A kept crop is an aligned face of the chosen size in DATASET/CLASS, alone there (no temporary
 * file left); the same frame again is a near-duplicate and writes nothing. */
static void
test_kept_and_duplicate (Fixture       *fixture,
                         gconstpointer  data)
{
  MienCaptureOptions options = MIEN_CAPTURE_OPTIONS_INIT;
  g_autoptr(MienCapture) capture = NULL;
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(MienCaptureResult) kept = NULL;
  g_autoptr(MienCaptureResult) again = NULL;
  g_autoptr(GdkPixbuf) written = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *class_dir = NULL;
  g_autofree char *expected = NULL;

  options.size = 96;
  if (!set_up_capture (fixture, &options, &capture, &photo))
    return;
  class_dir = g_build_filename (mien_capture_get_dataset_dir (capture), "happiness", NULL);

  kept = add_frame (capture, photo, "happiness", -1);
  g_assert_cmpint (kept->outcome, ==, MIEN_CAPTURE_KEPT);
  g_assert_true (kept->has_face);
  g_assert_cmpfloat (kept->difference, ==, -1.0);
  g_assert_cmpfloat (kept->sharpness, >=, options.min_sharpness);
  g_assert_nonnull (kept->path);
  names = list_folder (class_dir);
  g_assert_cmpuint (names->len, ==, 1);
  expected = g_build_filename (class_dir, g_ptr_array_index (names, 0), NULL);
  g_assert_cmpstr (kept->path, ==, expected);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (names, 0), "capture-"));
  g_assert_true (g_str_has_suffix (g_ptr_array_index (names, 0), ".png"));
  written = gdk_pixbuf_new_from_file (kept->path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (written), ==, 96);
  g_assert_cmpint (gdk_pixbuf_get_height (written), ==, 96);
  g_assert_cmpint (gdk_pixbuf_get_width (kept->crop), ==, 96);

  again = add_frame (capture, photo, "happiness", -1);
  g_assert_cmpint (again->outcome, ==, MIEN_CAPTURE_DUPLICATE);
  g_assert_null (again->path);
  g_assert_nonnull (again->crop);
  g_assert_cmpfloat (again->difference, <, options.min_difference);
  g_clear_pointer (&names, g_ptr_array_unref);
  names = list_folder (class_dir);
  g_assert_cmpuint (names->len, ==, 1);

  g_assert_cmpuint (mien_capture_count_images (mien_capture_get_dataset_dir (capture),
                                               "happiness"), ==, 1);
  g_assert_cmpuint (mien_capture_count_images (mien_capture_get_dataset_dir (capture),
                                               "sadness"), ==, 0);
  g_assert_cmpuint (mien_capture_get_n_kept_for (capture, "happiness"), ==, 1);
  g_assert_cmpuint (mien_capture_get_n_kept_for (capture, "sadness"), ==, 0);
  g_assert_cmpuint (mien_capture_get_n_outcome (capture, MIEN_CAPTURE_KEPT), ==, 1);
  g_assert_cmpuint (mien_capture_get_n_outcome (capture, MIEN_CAPTURE_DUPLICATE), ==, 1);
}

/* A name taken by someone else's file is skipped: that file is left as it was. */
static void
test_no_overwrite (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(MienCapture) capture = NULL;
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(MienCaptureResult) kept = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *class_dir = NULL;
  char *taken[3];

  if (!set_up_capture (fixture, NULL, &capture, &photo))
    return;
  class_dir = g_build_filename (mien_capture_get_dataset_dir (capture), "fear", NULL);
  g_assert_cmpint (g_mkdir (class_dir, 0755), ==, 0);
  /* The first name of this second and the next two, whenever the crop is written. */
  now = g_date_time_new_now_local ();
  for (guint i = 0; i < G_N_ELEMENTS (taken); i++)
    {
      g_autoptr(GDateTime) then = g_date_time_add_seconds (now, i);
      g_autofree char *stamp = g_date_time_format (then, "%Y%m%d-%H%M%S");
      g_autofree char *name = g_strdup_printf ("capture-%s-0001.png", stamp);

      taken[i] = g_build_filename (class_dir, name, NULL);
      mien_test_write_file (taken[i], "theirs", 6);
    }
  kept = add_frame (capture, photo, "fear", -1);
  g_assert_cmpint (kept->outcome, ==, MIEN_CAPTURE_KEPT);
  g_assert_true (g_str_has_suffix (kept->path, "-0002.png"));
  for (guint i = 0; i < G_N_ELEMENTS (taken); i++)
    {
      g_autofree char *contents = NULL;

      g_assert_true (g_file_get_contents (taken[i], &contents, NULL, NULL));
      g_assert_cmpstr (contents, ==, "theirs");
      g_free (taken[i]);
    }
}

/* A box blur of `radius` pixels (horizontal then vertical) of an RGB(A) pixbuf. */
static GdkPixbuf *
box_blur (GdkPixbuf *src,
          int        radius)
{
  g_autoptr(GdkPixbuf) tmp = gdk_pixbuf_copy (src);
  GdkPixbuf *dst = gdk_pixbuf_copy (src);
  int w = gdk_pixbuf_get_width (src), h = gdk_pixbuf_get_height (src);
  int nc = gdk_pixbuf_get_n_channels (src);

  for (int pass = 0; pass < 2; pass++)
    {
      GdkPixbuf *from = pass == 0 ? src : tmp;
      GdkPixbuf *to = pass == 0 ? tmp : dst;
      const guint8 *in = gdk_pixbuf_read_pixels (from);
      guint8 *out = gdk_pixbuf_get_pixels (to);
      int stride = gdk_pixbuf_get_rowstride (from);

      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          for (int c = 0; c < 3; c++)
            {
              int sum = 0, n = 0;

              for (int k = -radius; k <= radius; k++)
                {
                  int xx = pass == 0 ? CLAMP (x + k, 0, w - 1) : x;
                  int yy = pass == 1 ? CLAMP (y + k, 0, h - 1) : y;

                  sum += in[yy * stride + xx * nc + c];
                  n++;
                }
              out[y * stride + x * nc + c] = (guint8) ((sum + n / 2) / n);
            }
    }
  return dst;
}

/* A blurred copy of the photo still has its face, but the crop is skipped as blurred. */
static void
test_blurred (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(MienCapture) capture = NULL;
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GdkPixbuf) blurred = NULL;
  g_autoptr(MienCaptureResult) result = NULL;
  g_autoptr(MienCaptureResult) sharp = NULL;

  if (!set_up_capture (fixture, NULL, &capture, &photo))
    return;
  /* A 25-px window on a face of about 170 px: a face moving fast. The default threshold (50)
   * lets milder ones pass (the sharp crop measures about 900, a 13-px window about 110, this
   * one about 26). */
  blurred = box_blur (photo, 12);
  result = add_frame (capture, blurred, "happiness", -1);
  g_assert_cmpint (result->outcome, ==, MIEN_CAPTURE_BLURRED);
  g_assert_true (result->has_face);
  g_assert_nonnull (result->crop);
  g_assert_null (result->path);
  g_assert_cmpfloat (result->sharpness, <, mien_capture_get_options (capture)->min_sharpness);
  g_assert_cmpuint (mien_capture_count_images (mien_capture_get_dataset_dir (capture),
                                               "happiness"), ==, 0);
  g_assert_cmpuint (mien_capture_get_n_outcome (capture, MIEN_CAPTURE_BLURRED), ==, 1);

  /* The same face unblurred is sharp enough: the threshold parts the two. */
  sharp = add_frame (capture, photo, "happiness", -1);
  g_assert_cmpint (sharp->outcome, ==, MIEN_CAPTURE_KEPT);
  g_assert_cmpfloat (sharp->sharpness, >, 2 * result->sharpness);
}

/* A plain grey frame has no face: nothing is made, not even the class folder. */
static void
test_no_face (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(MienCapture) capture = NULL;
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GdkPixbuf) grey = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 320, 240);
  g_autoptr(MienCaptureResult) result = NULL;
  g_autofree char *class_dir = NULL;

  if (!set_up_capture (fixture, NULL, &capture, &photo))
    return;
  gdk_pixbuf_fill (grey, 0x808080ff);
  result = add_frame (capture, grey, "sadness", -1);
  g_assert_cmpint (result->outcome, ==, MIEN_CAPTURE_NO_FACE);
  g_assert_false (result->has_face);
  g_assert_null (result->crop);
  g_assert_null (result->path);
  class_dir = g_build_filename (mien_capture_get_dataset_dir (capture), "sadness", NULL);
  g_assert_false (g_file_test (class_dir, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (mien_capture_get_n_outcome (capture, MIEN_CAPTURE_NO_FACE), ==, 1);
  g_assert_cmpuint (mien_capture_get_n_outcome (capture, MIEN_CAPTURE_KEPT), ==, 0);
}

/* every_us by the frames' timestamps, per class; a timestamp going back starts over. */
static void
test_every (Fixture       *fixture,
            gconstpointer  data)
{
  MienCaptureOptions options = MIEN_CAPTURE_OPTIONS_INIT;
  g_autoptr(MienCapture) capture = NULL;
  g_autoptr(GdkPixbuf) photo = NULL;
  static const struct {
    const char        *class_name;
    gint64             pts_us;
    MienCaptureOutcome outcome;
  } frames[] = {
    { "anger", 0, MIEN_CAPTURE_KEPT },
    { "anger", 400000, MIEN_CAPTURE_TOO_SOON },
    { "fear", 500000, MIEN_CAPTURE_KEPT },        /* another class has its own time */
    { "anger", 999999, MIEN_CAPTURE_TOO_SOON },
    { "anger", 1000000, MIEN_CAPTURE_KEPT },
    { "anger", 1500000, MIEN_CAPTURE_TOO_SOON },
    { "anger", 100000, MIEN_CAPTURE_KEPT },       /* the video starts again */
  };

  /* The same frame every time: only the time decides. */
  options.min_difference = 0.0;
  options.every_us = G_USEC_PER_SEC;
  options.size = 32;
  if (!set_up_capture (fixture, &options, &capture, &photo))
    return;
  for (guint i = 0; i < G_N_ELEMENTS (frames); i++)
    {
      g_autoptr(MienCaptureResult) result = add_frame (capture, photo, frames[i].class_name,
                                                       frames[i].pts_us);

      g_test_message ("frame %u", i);
      g_assert_cmpint (result->outcome, ==, frames[i].outcome);
    }
  g_assert_cmpuint (mien_capture_get_n_kept_for (capture, "anger"), ==, 3);
  g_assert_cmpuint (mien_capture_get_n_outcome (capture, MIEN_CAPTURE_TOO_SOON), ==, 3);
  g_assert_cmpuint (mien_capture_count_images (mien_capture_get_dataset_dir (capture),
                                               "anger"), ==, 3);
}

/* Each rule of the header refuses a name, with a message that names it; good names pass. */
static void
test_class_names (Fixture       *fixture,
                  gconstpointer  data)
{
  static const struct {
    const char *name;
    const char *in_message;
  } bad[] = {
    { "", "empty" },
    { "caf\xe9", "UTF-8" },
    { ".hidden", "dot" },
    { "..", "“..”" },
    { "a/b", "“/”" },
    { "a\\b", "backslash" },
    { "a\tb", "control character" },
    { "a\nb", "control character" },
  };
  static const char * const good[] = {
    "happiness", "café au lait", "a.b", "trailing.",
  };
  g_autofree char *longest = g_strnfill (64, 'a');
  g_autofree char *too_long = g_strnfill (65, 'a');
  g_autoptr(GError) long_error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("bad name %u", i);
      g_assert_false (mien_capture_check_class_name (bad[i].name, &error));
      g_assert_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_CLASS);
      g_assert_nonnull (strstr (error->message, bad[i].in_message));
    }
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (mien_capture_check_class_name (good[i], &error));
      g_assert_no_error (error);
    }
  g_assert_true (mien_capture_check_class_name (longest, NULL));
  g_assert_false (mien_capture_check_class_name (too_long, &long_error));
  g_assert_error (long_error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_CLASS);
  g_assert_nonnull (strstr (long_error->message, "64 bytes"));
}

/* A refused class name in add_frame: an error, no folder, nothing counted. */
static void
test_add_frame_bad_class (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(MienCapture) capture = NULL;
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(MienCaptureResult) result = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) error = NULL;

  if (!set_up_capture (fixture, NULL, &capture, &photo))
    return;
  result = mien_capture_add_frame (capture, photo, "../escape", -1, &error);
  g_assert_null (result);
  g_assert_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_CLASS);
  names = list_folder (mien_capture_get_dataset_dir (capture));
  g_assert_cmpuint (names->len, ==, 0);
  g_clear_pointer (&names, g_ptr_array_unref);
  names = list_folder (fixture->dir);
  g_assert_cmpuint (names->len, ==, 1);  /* the dataset folder only */
  for (guint o = 0; o < MIEN_CAPTURE_N_OUTCOMES; o++)
    g_assert_cmpuint (mien_capture_get_n_outcome (capture, o), ==, 0);
}

/* A dataset path that is a file, and options out of range, are refused; a missing dataset
 * folder is made. */
static void
test_new_errors (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *file = g_build_filename (fixture->dir, "a-file", NULL);
  g_autofree char *fresh = g_build_filename (fixture->dir, "new", "dataset", NULL);
  g_autoptr(MienFaceDetector) detector = NULL;
  g_autoptr(MienCapture) made = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  MienCaptureOptions bad[6];

  /* Haar is enough here: nothing is detected. */
  detector = new_detector (NULL);
  if (detector == NULL)
    return;

  mien_test_write_file (file, "not a folder", 12);
  g_assert_null (mien_capture_new (file, detector, NULL, &error));
  g_assert_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_DATASET);
  g_assert_nonnull (strstr (error->message, file));
  g_assert_true (g_file_get_contents (file, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "not a folder");
  g_clear_error (&error);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    bad[i] = (MienCaptureOptions) MIEN_CAPTURE_OPTIONS_INIT;
  bad[0].size = 5;
  bad[1].size = 100000;
  bad[2].margin = -0.1;
  bad[3].margin = NAN;
  bad[4].every_us = -1;
  bad[5].min_sharpness = -1.0;
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_test_message ("bad options %u", i);
      g_assert_null (mien_capture_new (fresh, detector, &bad[i], &error));
      g_assert_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_OPTIONS);
      g_clear_error (&error);
      g_assert_false (g_file_test (fresh, G_FILE_TEST_EXISTS));
    }

  made = mien_capture_new (fresh, detector, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (fresh, G_FILE_TEST_IS_DIR));
  g_assert_true (g_path_is_absolute (mien_capture_get_dataset_dir (made)));
}

/* A crop this capture wrote can be deleted; anything else is refused and left alone. */
static void
test_delete (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(MienCapture) capture = NULL;
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(MienCaptureResult) kept = NULL;
  g_autoptr(MienCaptureResult) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *outside = g_build_filename (fixture->dir, "outside.png", NULL);
  g_autofree char *other = NULL;
  g_autofree char *dotted = NULL;
  const char *dataset;

  if (!set_up_capture (fixture, NULL, &capture, &photo))
    return;
  dataset = mien_capture_get_dataset_dir (capture);
  kept = add_frame (capture, photo, "surprise", -1);
  g_assert_cmpint (kept->outcome, ==, MIEN_CAPTURE_KEPT);

  /* Files of the dataset it did not write, a file outside, a path that climbs out. */
  other = g_build_filename (dataset, "surprise", "someone-elses.png", NULL);
  mien_test_write_file (other, "x", 1);
  mien_test_write_file (outside, "x", 1);
  dotted = g_build_filename (dataset, "surprise", "..", "..", "outside.png", NULL);
  for (guint i = 0; i < 3; i++)
    {
      const char *path = i == 0 ? other : i == 1 ? outside : dotted;

      g_assert_false (mien_capture_delete (capture, path, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
      g_assert_nonnull (strstr (error->message, path));
      g_clear_error (&error);
    }
  g_assert_true (g_file_test (other, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (outside, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (mien_capture_count_images (dataset, "surprise"), ==, 2);

  g_assert_true (mien_capture_delete (capture, kept->path, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (kept->path, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (mien_capture_count_images (dataset, "surprise"), ==, 1);
  /* Once deleted it is no longer this capture's to delete. */
  g_assert_false (mien_capture_delete (capture, kept->path, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);

  /* The deleted crop is no reference for near-duplicates: the same face is wanted again. */
  again = add_frame (capture, photo, "surprise", -1);
  g_assert_cmpint (again->outcome, ==, MIEN_CAPTURE_KEPT);
  g_assert_cmpstr (again->path, !=, kept->path);
}

static void
assert_write_error_leaves_nothing (MienCapture *capture,
                                   GdkPixbuf   *photo,
                                   const char  *class_dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienCaptureResult) result = NULL;
  g_autoptr(GPtrArray) names = NULL;

  result = mien_capture_add_frame (capture, photo, "anger", -1, &error);
  g_assert_null (result);
  g_assert_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_WRITE);
  g_assert_nonnull (strstr (error->message, class_dir));
  names = list_folder (class_dir);
  g_assert_cmpuint (names->len, ==, 0);
  g_assert_cmpuint (mien_capture_get_n_kept_for (capture, "anger"), ==, 0);
  g_assert_cmpuint (mien_capture_get_n_outcome (capture, MIEN_CAPTURE_KEPT), ==, 0);
}

/* A class folder that cannot be written: MIEN_CAPTURE_ERROR_WRITE, nothing left there. */
static void
test_write_error_read_only (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(MienCapture) capture = NULL;
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autofree char *class_dir = NULL;

  if (geteuid () == 0)
    {
      g_test_skip ("root writes into read-only folders");
      return;
    }
  if (!set_up_capture (fixture, NULL, &capture, &photo))
    return;
  class_dir = g_build_filename (mien_capture_get_dataset_dir (capture), "anger", NULL);
  g_assert_cmpint (g_mkdir (class_dir, 0555), ==, 0);
  assert_write_error_leaves_nothing (capture, photo, class_dir);
  g_assert_cmpint (g_chmod (class_dir, 0755), ==, 0);
}

/* A disk that fills up in the middle of a crop (a file-size limit, which binds root too): the
 * error, and no partial file or temporary file left. */
static void
test_write_error_full (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(MienCapture) capture = NULL;
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autofree char *class_dir = NULL;
  struct rlimit saved, small;
  void (*old_handler) (int);

  if (!set_up_capture (fixture, NULL, &capture, &photo))
    return;
  class_dir = g_build_filename (mien_capture_get_dataset_dir (capture), "anger", NULL);
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  small = saved;
  small.rlim_cur = 1000;  /* bytes: far less than a 224-px PNG of a face */
  /* Without a handler SIGXFSZ would end the test instead of failing the write with EFBIG. */
  old_handler = signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small), ==, 0);
  assert_write_error_leaves_nothing (capture, photo, class_dir);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  signal (SIGXFSZ, old_handler);
}

typedef struct {
  GThread *main_thread;
  guint    n_results;
  guint    n_errors;
  guint    n_kept;
} PushState;

static void
on_result (MienCapture             *capture,
           const MienCaptureResult *result,
           PushState               *state)
{
  g_assert_true (g_thread_self () == state->main_thread);
  g_assert_cmpstr (result->class_name, ==, "happiness");
  state->n_results++;
  state->n_kept += result->outcome == MIEN_CAPTURE_KEPT;
}

static void
on_error (MienCapture  *capture,
          const GError *error,
          PushState    *state)
{
  state->n_errors++;
}

/* Pushed frames are processed on the capture's thread and reported on the main context; frames
 * pushed while one waits replace it and are counted as dropped. */
static void
test_push (Fixture       *fixture,
           gconstpointer  data)
{
  MienCaptureOptions options = MIEN_CAPTURE_OPTIONS_INIT;
  g_autoptr(MienCapture) capture = NULL;
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GdkPixbuf) large = NULL;
  PushState state = { g_thread_self (), 0, 0, 0 };
  const guint n_pushed = 6;
  gint64 deadline;

  /* Distinct frames need not differ: every processed one is kept. */
  options.min_difference = 0.0;
  options.size = 32;
  if (!set_up_capture (fixture, &options, &capture, &photo))
    return;
  /* Large, so that a detection takes far longer than the pushes of the loop below. */
  large = gdk_pixbuf_scale_simple (photo, 4 * gdk_pixbuf_get_width (photo),
                                   4 * gdk_pixbuf_get_height (photo), GDK_INTERP_BILINEAR);
  g_signal_connect (capture, "result", G_CALLBACK (on_result), &state);
  g_signal_connect (capture, "error", G_CALLBACK (on_error), &state);

  for (guint i = 0; i < n_pushed; i++)
    mien_capture_push (capture, large, "happiness", -1);
  /* Nothing is delivered before the main context runs. */
  g_assert_cmpuint (state.n_results, ==, 0);

  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (state.n_results + mien_capture_get_n_dropped (capture) < n_pushed &&
         g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (state.n_errors, ==, 0);
  g_assert_cmpuint (state.n_results + mien_capture_get_n_dropped (capture), ==, n_pushed);
  g_assert_cmpuint (mien_capture_get_n_dropped (capture), >=, 1);
  g_assert_cmpuint (state.n_kept, ==, state.n_results);
  g_assert_cmpuint (mien_capture_get_n_outcome (capture, MIEN_CAPTURE_KEPT), ==, state.n_results);
  g_assert_cmpuint (mien_capture_count_images (mien_capture_get_dataset_dir (capture),
                                               "happiness"), ==, state.n_results);

  /* After stop, a push does nothing and nothing more is delivered. */
  mien_capture_stop (capture);
  mien_capture_push (capture, photo, "happiness", -1);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (state.n_results + mien_capture_get_n_dropped (capture), ==, n_pushed);
}

static void
test_outcome_names (void)
{
  for (guint o = 0; o < MIEN_CAPTURE_N_OUTCOMES; o++)
    {
      const char *name = mien_capture_outcome_to_string (o);

      g_assert_nonnull (name);
      g_assert_cmpstr (name, !=, "");
      for (guint p = 0; p < o; p++)
        g_assert_cmpstr (mien_capture_outcome_to_string (p), !=, name);
    }
}

#define ADD(name, func) \
  g_test_add (name, Fixture, NULL, mien_test_scratch_set_up, func, mien_test_scratch_tear_down)

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  mien_init ();

  ADD ("/capture/kept-and-duplicate", test_kept_and_duplicate);
  ADD ("/capture/no-overwrite", test_no_overwrite);
  ADD ("/capture/blurred", test_blurred);
  ADD ("/capture/no-face", test_no_face);
  ADD ("/capture/every", test_every);
  ADD ("/capture/class-names", test_class_names);
  ADD ("/capture/add-frame-bad-class", test_add_frame_bad_class);
  ADD ("/capture/new-errors", test_new_errors);
  ADD ("/capture/delete", test_delete);
  ADD ("/capture/write-error/read-only", test_write_error_read_only);
  ADD ("/capture/write-error/full", test_write_error_full);
  ADD ("/capture/push", test_push);
  g_test_add_func ("/capture/outcome-names", test_outcome_names);

  return g_test_run ();
}
