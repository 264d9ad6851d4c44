/* test-camera.c — frames through GStreamer: the test pattern, a still image, sources that are
 * not there, the source list, and stopping.
 *
 * Needs no camera: the "test" source and files written here are enough. Without camera support
 * in the build (or without GStreamer's base elements) only the errors are checked.
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>

#include "mien-camera.h"
#include "mien-test-util.h"

typedef MienTestScratch Fixture;

/* What the frame function saw, from the streaming thread. */
typedef struct {
  GMutex     lock;
  guint      n;
  guint      n_wrong_format;
  guint      n_after_stop;
  gboolean   stopped;
  int        width;          /* expected, 0 = any */
  int        height;
  GdkPixbuf *last;
} Frames;

static void
frames_init (Frames *frames,
             int     width,
             int     height)
{
  memset (frames, 0, sizeof *frames);
  g_mutex_init (&frames->lock);
  frames->width = width;
  frames->height = height;
}

static void
frames_clear (Frames *frames)
{
  g_clear_object (&frames->last);
  g_mutex_clear (&frames->lock);
}

static void
frame_cb (GdkPixbuf *frame,
          gint64     pts_us,
          gpointer   user_data)
{
  Frames *frames = user_data;
  gboolean right = gdk_pixbuf_get_colorspace (frame) == GDK_COLORSPACE_RGB &&
                   gdk_pixbuf_get_n_channels (frame) == 3 &&
                   !gdk_pixbuf_get_has_alpha (frame) &&
                   gdk_pixbuf_get_bits_per_sample (frame) == 8 &&
                   (frames->width == 0 || gdk_pixbuf_get_width (frame) == frames->width) &&
                   (frames->height == 0 || gdk_pixbuf_get_height (frame) == frames->height);

  g_mutex_lock (&frames->lock);
  frames->n++;
  if (!right)
    frames->n_wrong_format++;
  if (frames->stopped)
    frames->n_after_stop++;
  g_set_object (&frames->last, frame);
  g_mutex_unlock (&frames->lock);
}

static guint
frames_count (Frames *frames)
{
  guint n;

  g_mutex_lock (&frames->lock);
  n = frames->n;
  g_mutex_unlock (&frames->lock);
  return n;
}

/* Runs the default main context until `*counter` reaches `target` or `timeout_ms` passes. */
static gboolean
wait_for_frames (Frames *frames,
                 guint   target,
                 guint   timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * (gint64) 1000;

  while (frames_count (frames) < target && g_get_monotonic_time () < end)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (5000);
    }
  return frames_count (frames) >= target;
}

static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * (gint64) 1000;

  while (g_get_monotonic_time () < end)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (5000);
    }
}

static gboolean
skip_unless_supported (void)
{
  if (mien_camera_is_supported ())
    return FALSE;
  g_test_skip ("no camera support in this build (or GStreamer's base elements are missing)");
  return TRUE;
}

static void
error_cb (MienCamera   *camera,
          const GError *error,
          gpointer      user_data)
{
  GError **out = user_data;

  g_test_message ("error signal: %s", error->message);
  if (*out == NULL)
    *out = g_error_copy (error);
}

/* ---- Tests ------------------------------------------------------------------------------- */

static void
test_pattern (void)
{
  g_autoptr(MienCamera) camera = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) stream_error = NULL;
  Frames frames;
  guint n;

  if (skip_unless_supported ())
    return;

  frames_init (&frames, 160, 120);
  camera = mien_camera_new ("test", 160, 120, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mien_camera_get_source_id (camera), ==, "test");
  g_signal_connect (camera, "error", G_CALLBACK (error_cb), &stream_error);
  mien_camera_set_frame_func (camera, frame_cb, &frames, NULL);

  /* Not started: nothing. */
  spin (100);
  g_assert_cmpuint (frames_count (&frames), ==, 0);

  g_assert_true (mien_camera_start (camera, &error));
  g_assert_no_error (error);
  g_assert_true (wait_for_frames (&frames, 10, 10000));
  g_assert_no_error (stream_error);

  mien_camera_stop (camera);
  g_mutex_lock (&frames.lock);
  frames.stopped = TRUE;
  n = frames.n;
  g_mutex_unlock (&frames.lock);
  g_assert_cmpuint (frames.n_wrong_format, ==, 0);
  g_assert_cmpuint (mien_camera_get_n_frames (camera), ==, n);
  g_assert_cmpint (gdk_pixbuf_get_width (frames.last), ==, 160);
  g_assert_cmpint (gdk_pixbuf_get_height (frames.last), ==, 120);

  /* Stopped means stopped: no callback afterwards, and stopping again changes nothing. */
  spin (300);
  mien_camera_stop (camera);
  g_assert_cmpuint (frames_count (&frames), ==, n);
  g_assert_cmpuint (frames.n_after_stop, ==, 0);

  /* And it plays again. */
  g_mutex_lock (&frames.lock);
  frames.stopped = FALSE;
  g_mutex_unlock (&frames.lock);
  g_assert_true (mien_camera_start (camera, &error));
  g_assert_no_error (error);
  g_assert_true (wait_for_frames (&frames, n + 3, 10000));
  mien_camera_stop (camera);
  g_assert_no_error (stream_error);

  frames_clear (&frames);
}

/* A 64 × 48 picture in which every pixel differs from its neighbours. */
static GdkPixbuf *
make_picture (void)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 64, 48);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);

  for (int y = 0; y < 48; y++)
    for (int x = 0; x < 64; x++)
      {
        guint8 *p = pixels + y * stride + x * 3;

        p[0] = x * 4;
        p[1] = y * 5;
        p[2] = (x * 7 + y * 13) & 0xff;
      }
  return pixbuf;
}

static void
assert_same_pixels (GdkPixbuf *a,
                    GdkPixbuf *b)
{
  int width = gdk_pixbuf_get_width (a);
  int height = gdk_pixbuf_get_height (a);

  g_assert_cmpint (gdk_pixbuf_get_width (b), ==, width);
  g_assert_cmpint (gdk_pixbuf_get_height (b), ==, height);
  g_assert_cmpint (gdk_pixbuf_get_n_channels (a), ==, gdk_pixbuf_get_n_channels (b));
  for (int y = 0; y < height; y++)
    g_assert_cmpmem (gdk_pixbuf_read_pixels (a) + y * gdk_pixbuf_get_rowstride (a),
                     width * gdk_pixbuf_get_n_channels (a),
                     gdk_pixbuf_read_pixels (b) + y * gdk_pixbuf_get_rowstride (b),
                     width * gdk_pixbuf_get_n_channels (b));
}

static void
test_image_file (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "face.png", NULL);
  g_autofree char *id = g_strconcat ("file:", path, NULL);
  g_autoptr(GdkPixbuf) picture = make_picture ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) stream_error = NULL;

  if (skip_unless_supported ())
    return;

  g_assert_true (gdk_pixbuf_save (picture, path, "png", &error, NULL));
  g_assert_no_error (error);

  /* At its own size, and at a requested size equal to it: the very pixels either way. */
  for (int requested = 0; requested < 2; requested++)
    {
      g_autoptr(MienCamera) camera = NULL;
      Frames frames;

      frames_init (&frames, 64, 48);
      camera = mien_camera_new (id, requested ? 64 : 0, requested ? 48 : 0, &error);
      g_assert_no_error (error);
      g_signal_connect (camera, "error", G_CALLBACK (error_cb), &stream_error);
      mien_camera_set_frame_func (camera, frame_cb, &frames, NULL);
      g_assert_true (mien_camera_start (camera, &error));
      g_assert_no_error (error);
      /* A still picture keeps coming, like a camera. */
      g_assert_true (wait_for_frames (&frames, 3, 10000));
      mien_camera_stop (camera);
      g_assert_no_error (stream_error);
      g_assert_cmpuint (frames.n_wrong_format, ==, 0);
      assert_same_pixels (frames.last, picture);
      frames_clear (&frames);
    }
}

static void
test_missing (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *missing = g_build_filename (fixture->dir, "nobody.png", NULL);
  g_autofree char *missing_id = g_strconcat ("file:", missing, NULL);
  g_autofree char *missing_video = g_strconcat ("file:", fixture->dir, "/nobody.webm", NULL);
  const char * const bad_ids[] = {
    missing_id, missing_video, "v4l2:/dev/no-such-camera", "file:", "webcam", "", NULL
  };
  gboolean supported = mien_camera_is_supported ();

  /* Missing sources fail at mien_camera_new (), not later through a signal. */
  for (guint i = 0; bad_ids[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MienCamera) camera = mien_camera_new (bad_ids[i], 0, 0, &error);

      g_assert_null (camera);
      g_assert_error (error, MIEN_CAMERA_ERROR,
                      supported ? MIEN_CAMERA_ERROR_SOURCE : MIEN_CAMERA_ERROR_UNSUPPORTED);
      g_test_message ("%s: %s", bad_ids[i], error->message);
    }

  /* A FIFO is named as one, at once: nothing waits for a writer. */
  if (supported)
    {
      g_autofree char *fifo = g_build_filename (fixture->dir, "fifo.webm", NULL);
      g_autofree char *fifo_id = g_strconcat ("file:", fifo, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(MienCamera) camera = NULL;

      g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
      camera = mien_camera_new (fifo_id, 0, 0, &error);
      g_assert_null (camera);
      g_assert_error (error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_SOURCE);
      g_assert_nonnull (strstr (error->message, "FIFO"));
    }
}

static void
test_undecodable (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "broken.png", NULL);
  g_autofree char *id = g_strconcat ("file:", path, NULL);
  g_autoptr(MienCamera) camera = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) stream_error = NULL;
  gint64 end;
  Frames frames;

  if (skip_unless_supported ())
    return;

  g_assert_true (g_file_set_contents (path, "this is not a PNG file", -1, &error));
  g_assert_no_error (error);

  /* The file is there, so this is no error yet; decoding fails once it plays. */
  frames_init (&frames, 0, 0);
  camera = mien_camera_new (id, 0, 0, &error);
  g_assert_no_error (error);
  g_signal_connect (camera, "error", G_CALLBACK (error_cb), &stream_error);
  mien_camera_set_frame_func (camera, frame_cb, &frames, NULL);
  g_assert_true (mien_camera_start (camera, &error));
  g_assert_no_error (error);
  end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (stream_error == NULL && g_get_monotonic_time () < end)
    spin (10);
  g_assert_error (stream_error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_STREAM);
  mien_camera_stop (camera);
  g_assert_cmpuint (frames_count (&frames), ==, 0);
  frames_clear (&frames);
}

static void
test_video_file (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "clip.avi", NULL);
  g_autofree char *id = g_strconcat ("file:", path, NULL);
  g_autoptr(GPtrArray) clip = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(MienCamera) camera = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) stream_error = NULL;
  Frames frames;

  if (skip_unless_supported ())
    return;
  /* Ten frames at 25 per second: 0.4 s, so that many more frames mean it looped. */
  for (guint i = 0; i < 10; i++)
    {
      GdkPixbuf *frame = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 64, 48);

      gdk_pixbuf_fill (frame, 0x20406000u + (i << 24));
      g_ptr_array_add (clip, frame);
    }
  g_assert_true (mien_test_write_video (path, (GdkPixbuf * const *) clip->pdata, clip->len, 25,
                                        &error));
  g_assert_no_error (error);

  frames_init (&frames, 32, 24);
  camera = mien_camera_new (id, 32, 24, &error);
  g_assert_no_error (error);
  g_signal_connect (camera, "error", G_CALLBACK (error_cb), &stream_error);
  mien_camera_set_frame_func (camera, frame_cb, &frames, NULL);
  g_assert_true (mien_camera_start (camera, &error));
  g_assert_no_error (error);
  g_assert_true (wait_for_frames (&frames, 25, 15000));
  mien_camera_stop (camera);
  g_assert_no_error (stream_error);
  g_assert_cmpuint (frames.n_wrong_format, ==, 0);
  frames_clear (&frames);
}

static void
test_list_sources (void)
{
  g_autoptr(GPtrArray) sources = mien_camera_list_sources ();
  MienCameraSource *last;

  g_assert_nonnull (sources);
  if (!mien_camera_is_supported ())
    {
      g_assert_cmpuint (sources->len, ==, 0);
      return;
    }
  g_assert_cmpuint (sources->len, >=, 1);
  for (guint i = 0; i < sources->len; i++)
    {
      MienCameraSource *source = sources->pdata[i];

      g_test_message ("%s: %s", source->id, source->name);
      g_assert_nonnull (source->name);
      g_assert_true (g_str_has_prefix (source->id, "v4l2:") ||
                     g_str_has_prefix (source->id, "pipewire:") ||
                     (i + 1 == sources->len && g_str_equal (source->id, "test")));
    }
  last = sources->pdata[sources->len - 1];
  g_assert_cmpstr (last->id, ==, "test");
  g_assert_cmpstr (last->name, ==, "Test pattern");
}

static void
test_unsupported (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienCamera) camera = NULL;

  if (mien_camera_is_supported ())
    {
      g_test_skip ("this build has camera support");
      return;
    }
  camera = mien_camera_new ("test", 0, 0, &error);
  g_assert_error (error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_UNSUPPORTED);
  g_assert_null (camera);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/camera/test-pattern", test_pattern);
  g_test_add ("/camera/image-file", Fixture, NULL, mien_test_scratch_set_up,
              test_image_file, mien_test_scratch_tear_down);
  g_test_add ("/camera/missing", Fixture, NULL, mien_test_scratch_set_up,
              test_missing, mien_test_scratch_tear_down);
  g_test_add ("/camera/undecodable", Fixture, NULL, mien_test_scratch_set_up,
              test_undecodable, mien_test_scratch_tear_down);
  g_test_add ("/camera/video-file", Fixture, NULL, mien_test_scratch_set_up,
              test_video_file, mien_test_scratch_tear_down);
  g_test_add_func ("/camera/list-sources", test_list_sources);
  g_test_add_func ("/camera/unsupported", test_unsupported);
  return g_test_run ();
}
