/* test-video.c — reading a video file frame by frame: every frame, in order, where it was
 * drawn, at its time; then the end, and files that are missing, not videos, or cut short.
 *
 * The videos are written here (mien_test_write_video ()). Without GStreamer in the build only
 * the "unsupported" error is checked.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>

#include "mien-camera.h"
#include "mien-test-util.h"
#include "mien-video.h"

typedef MienTestScratch Fixture;

#define N_FRAMES 12
#define WIDTH    160
#define HEIGHT   120
#define FPS      10
#define SQUARE   16

/* Where frame k's bright square starts: 8 px a frame to the right, 4 px down. */
static int
square_x (guint k)
{
  return 4 + 8 * (int) k;
}

static int
square_y (guint k)
{
  return 20 + 4 * (int) k;
}

static GdkPixbuf *
draw_frame (guint k)
{
  GdkPixbuf *frame = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, WIDTH, HEIGHT);
  g_autoptr(GdkPixbuf) square = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, SQUARE, SQUARE);

  gdk_pixbuf_fill (frame, 0x181818ff);
  gdk_pixbuf_fill (square, 0xf0f0f0ff);
  gdk_pixbuf_copy_area (square, 0, 0, SQUARE, SQUARE, frame, square_x (k), square_y (k));
  return frame;
}

/* The centre of the bright pixels (the square), from the green channel. */
static gboolean
bright_centroid (GdkPixbuf *frame,
                 double    *cx,
                 double    *cy)
{
  const guint8 *pixels = gdk_pixbuf_read_pixels (frame);
  int stride = gdk_pixbuf_get_rowstride (frame);
  int channels = gdk_pixbuf_get_n_channels (frame);
  double sx = 0, sy = 0;
  guint n = 0;

  for (int y = 0; y < gdk_pixbuf_get_height (frame); y++)
    for (int x = 0; x < gdk_pixbuf_get_width (frame); x++)
      if (pixels[(gsize) y * stride + (gsize) x * channels + 1] > 128)
        {
          sx += x;
          sy += y;
          n++;
        }
  if (n == 0)
    return FALSE;
  *cx = sx / n;
  *cy = sy / n;
  return TRUE;
}

/* The test clip in the fixture's folder, or NULL (the test skipped) where this build or this
 * system cannot write one. */
static char *
write_clip (Fixture *fixture)
{
  g_autofree char *path = g_build_filename (fixture->dir, "clip.avi", NULL);
  GdkPixbuf *frames[N_FRAMES];
  gboolean ok;

  for (guint k = 0; k < N_FRAMES; k++)
    frames[k] = draw_frame (k);
  ok = mien_test_write_video_or_skip (path, frames, N_FRAMES, FPS);
  for (guint k = 0; k < N_FRAMES; k++)
    g_object_unref (frames[k]);
  return ok ? g_steal_pointer (&path) : NULL;
}

static void
assert_rgb (GdkPixbuf *frame)
{
  g_assert_cmpint (gdk_pixbuf_get_colorspace (frame), ==, GDK_COLORSPACE_RGB);
  g_assert_cmpint (gdk_pixbuf_get_n_channels (frame), ==, 3);
  g_assert_false (gdk_pixbuf_get_has_alpha (frame));
  g_assert_cmpint (gdk_pixbuf_get_bits_per_sample (frame), ==, 8);
  g_assert_cmpint (gdk_pixbuf_get_width (frame), ==, WIDTH);
  g_assert_cmpint (gdk_pixbuf_get_height (frame), ==, HEIGHT);
}

static void
test_frames (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *path = write_clip (fixture);
  g_autoptr(MienVideoReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  gint64 duration;
  guint k;

  if (path == NULL)
    return;

  reader = mien_video_reader_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reader);
  g_assert_cmpstr (mien_video_reader_get_path (reader), ==, path);
  g_assert_cmpint (mien_video_reader_get_width (reader), ==, WIDTH);
  g_assert_cmpint (mien_video_reader_get_height (reader), ==, HEIGHT);
  g_assert_cmpfloat_with_epsilon (mien_video_reader_get_fps (reader), FPS, 1e-6);
  g_assert_cmpint (mien_video_reader_get_frame_index (reader), ==, -1);
  duration = mien_video_reader_get_duration (reader);
  if (duration != -1)
    g_assert_cmpint (ABS (duration - N_FRAMES * G_USEC_PER_SEC / FPS), <=, 1000);

  for (k = 0; ; k++)
    {
      g_autoptr(GdkPixbuf) frame = NULL;
      gint64 pts_us = 0;
      double cx = -1, cy = -1;

      frame = mien_video_reader_next (reader, &pts_us, &error);
      g_assert_no_error (error);
      if (frame == NULL)
        break;
      g_assert_cmpuint (k, <, N_FRAMES);
      assert_rgb (frame);
      g_assert_cmpint (mien_video_reader_get_frame_index (reader), ==, k);
      g_assert_cmpint (ABS (pts_us - (gint64) k * G_USEC_PER_SEC / FPS), <=, 1000);
      g_assert_true (bright_centroid (frame, &cx, &cy));
      g_assert_cmpfloat_with_epsilon (cx, square_x (k) + (SQUARE - 1) / 2.0, 2.0);
      g_assert_cmpfloat_with_epsilon (cy, square_y (k) + (SQUARE - 1) / 2.0, 2.0);
    }
  g_assert_cmpuint (k, ==, N_FRAMES);

  /* The end stays the end. */
  for (guint i = 0; i < 2; i++)
    {
      gint64 pts_us = 0;

      g_assert_null (mien_video_reader_next (reader, &pts_us, &error));
      g_assert_no_error (error);
      g_assert_cmpint (pts_us, ==, -1);
    }
  g_assert_cmpint (mien_video_reader_get_frame_index (reader), ==, N_FRAMES - 1);
}

/* Open descriptors of this process on `path`. */
static guint
count_fds_on (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *entry;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link = g_build_filename ("/proc/self/fd", entry, NULL);
      g_autofree char *target = g_file_read_link (link, NULL);

      if (g_strcmp0 (target, path) == 0)
        n++;
    }
  return n;
}

/* A consumer that stops early (a cancelled prediction) releases a pipeline whose decoder is
 * blocked on the full appsink: that must not wait for a frame nobody pulls, and must stop the
 * streaming threads, which close the file. A reader opened again starts from the first frame. */
static void
test_early_close (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *path = write_clip (fixture);
  g_autoptr(GError) error = NULL;
  g_autofree char *real_path = NULL;

  if (path == NULL)
    return;
  if (!g_file_test ("/proc/self/fd", G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("No /proc/self/fd to count open files in");
      return;
    }
  real_path = realpath (path, NULL);
  g_assert_nonnull (real_path);

  for (guint round = 0; round < 3; round++)
    {
      MienVideoReader *reader = mien_video_reader_open (path, &error);
      g_autoptr(GdkPixbuf) frame = NULL;
      gint64 pts_us = -1;
      double cx = -1, cy = -1;
      gint64 start;

      g_assert_no_error (error);
      g_object_add_weak_pointer (G_OBJECT (reader), (gpointer *) &reader);
      frame = mien_video_reader_next (reader, &pts_us, &error);
      g_assert_no_error (error);
      assert_rgb (frame);
      g_assert_cmpint (mien_video_reader_get_frame_index (reader), ==, 0);
      g_assert_cmpint (pts_us, ==, 0);
      g_assert_true (bright_centroid (frame, &cx, &cy));
      g_assert_cmpfloat_with_epsilon (cx, square_x (0) + (SQUARE - 1) / 2.0, 2.0);
      g_assert_cmpfloat_with_epsilon (cy, square_y (0) + (SQUARE - 1) / 2.0, 2.0);
      /* The decoder runs ahead: its streaming threads hold the file, blocked on the full sink.
       * (Their number says nothing: GStreamer keeps idle ones in a pool for the next pipeline,
       * as many as the timing of their return happens to leave.) */
      g_assert_cmpuint (count_fds_on (real_path), >=, 1);

      start = g_get_monotonic_time ();
      g_object_unref (reader);
      g_assert_null (reader);
      /* Not a wait for a timeout somewhere: a pipeline stops in milliseconds. */
      g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
      /* Stopped and gone, not merely unreferenced. */
      g_assert_cmpuint (count_fds_on (real_path), ==, 0);
    }
}

static void
test_not_videos (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *missing = g_build_filename (fixture->dir, "nobody.avi", NULL);
  g_autofree char *text = g_build_filename (fixture->dir, "notes.avi", NULL);
  g_autofree char *fifo = g_build_filename (fixture->dir, "fifo.avi", NULL);
  g_autoptr(GError) error = NULL;
  MienVideoReader *reader;

  if (!mien_camera_is_supported ())
    {
      g_test_skip ("GStreamer's base elements are missing");
      return;
    }

  reader = mien_video_reader_open (missing, &error);
  g_assert_null (reader);
  g_assert_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  reader = mien_video_reader_open (fixture->dir, &error);
  g_assert_null (reader);
  g_assert_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "a folder, not a regular file"));
  g_clear_error (&error);

  /* A FIFO and a device are named as what they are, at once (nothing waits for a writer). */
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  reader = mien_video_reader_open (fifo, &error);
  g_assert_null (reader);
  g_assert_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "FIFO"));
  g_clear_error (&error);
  reader = mien_video_reader_open ("/dev/zero", &error);
  g_assert_null (reader);
  g_assert_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "character device"));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (text, "These are my notes, not a film.\n", -1, NULL));
  reader = mien_video_reader_open (text, &error);
  g_assert_null (reader);
  g_assert_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_NOT_VIDEO);
  g_test_message ("a text file named .avi: %s", error->message);
  g_assert_nonnull (strstr (error->message, text));
  g_clear_error (&error);
}

/* A sound file has streams, but none of them video: the reader must say so instead of
 * waiting for a first frame. */
static void
test_sound_only (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "beep.wav", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienVideoReader) reader = NULL;
  const guint32 rate = 8000, n_samples = 4000;
  g_autoptr(GByteArray) wav = g_byte_array_new ();
  guint32 u32;
  guint16 u16;

  if (!mien_camera_is_supported ())
    {
      g_test_skip ("GStreamer's base elements are missing");
      return;
    }

  /* A canonical 16-bit mono PCM WAV, little-endian fields. */
#define PUT32(v) (u32 = GUINT32_TO_LE (v), g_byte_array_append (wav, (guint8 *) &u32, 4))
#define PUT16(v) (u16 = GUINT16_TO_LE (v), g_byte_array_append (wav, (guint8 *) &u16, 2))
  g_byte_array_append (wav, (const guint8 *) "RIFF", 4);
  PUT32 (36 + n_samples * 2);
  g_byte_array_append (wav, (const guint8 *) "WAVEfmt ", 8);
  PUT32 (16);
  PUT16 (1);
  PUT16 (1);
  PUT32 (rate);
  PUT32 (rate * 2);
  PUT16 (2);
  PUT16 (16);
  g_byte_array_append (wav, (const guint8 *) "data", 4);
  PUT32 (n_samples * 2);
  for (guint i = 0; i < n_samples; i++)
    PUT16 ((guint16) ((i % 16) < 8 ? 8000 : -8000));
#undef PUT32
#undef PUT16
  g_assert_true (g_file_set_contents (path, (const char *) wav->data, wav->len, &error));
  g_assert_no_error (error);

  g_assert_false (mien_video_is_video_file (path));
  reader = mien_video_reader_open (path, &error);
  g_assert_null (reader);
  g_assert_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_NOT_VIDEO);
  g_test_message ("a sound file: %s", error->message);
}

typedef struct {
  char     *path;
  GMutex    lock;
  GCond     cond;
  gboolean  done;
  gboolean  opened;
  guint     n_frames;
  GError   *error;
} Truncated;

static gpointer
read_truncated (gpointer data)
{
  Truncated *t = data;
  g_autoptr(MienVideoReader) reader = NULL;
  GError *error = NULL;
  guint n = 0;

  reader = mien_video_reader_open (t->path, &error);
  if (reader != NULL)
    {
      GdkPixbuf *frame;

      while ((frame = mien_video_reader_next (reader, NULL, &error)) != NULL)
        {
          assert_rgb (frame);
          g_object_unref (frame);
          n++;
        }
      /* After an error or the end, the end. */
      g_assert_null (mien_video_reader_next (reader, NULL, NULL));
    }

  g_mutex_lock (&t->lock);
  t->opened = reader != NULL;
  t->n_frames = n;
  t->error = error;
  t->done = TRUE;
  g_cond_signal (&t->cond);
  g_mutex_unlock (&t->lock);
  return NULL;
}

static void
test_truncated (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *path = write_clip (fixture);
  g_autofree char *cut = g_build_filename (fixture->dir, "cut.avi", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GThread) thread = NULL;
  Truncated t = { 0 };
  gint64 deadline;
  gsize length;

  if (path == NULL)
    return;

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (cut, contents, (gssize) (length / 2), &error));
  g_assert_no_error (error);

  /* On a thread, so that a reader that hangs fails the test instead of stalling it. */
  t.path = cut;
  g_mutex_init (&t.lock);
  g_cond_init (&t.cond);
  thread = g_thread_new ("read-truncated", read_truncated, &t);
  deadline = g_get_monotonic_time () + 60 * G_TIME_SPAN_SECOND;
  g_mutex_lock (&t.lock);
  while (!t.done)
    if (!g_cond_wait_until (&t.cond, &t.lock, deadline))
      g_error ("reading a truncated video did not end within 60 s");
  g_mutex_unlock (&t.lock);
  g_thread_join (g_steal_pointer (&thread));

  g_test_message ("half a video: opened %d, %u frames, %s", t.opened, t.n_frames,
                  t.error != NULL ? t.error->message : "a clean end");
  g_assert_cmpuint (t.n_frames, <=, N_FRAMES);
  if (!t.opened)
    g_assert_error (t.error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_NOT_VIDEO);
  else if (t.error != NULL)
    g_assert_error (t.error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_DECODE);
  g_clear_error (&t.error);
  g_mutex_clear (&t.lock);
  g_cond_clear (&t.cond);
}

static void
test_is_video_file (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *path = write_clip (fixture);
  g_autofree char *png = g_build_filename (fixture->dir, "still.png", NULL);
  g_autofree char *missing = g_build_filename (fixture->dir, "nobody.avi", NULL);
  g_autoptr(GdkPixbuf) frame = draw_frame (0);
  g_autoptr(GError) error = NULL;

  if (path == NULL)
    return;

  g_assert_true (mien_video_is_video_file (path));
  g_assert_true (gdk_pixbuf_save (frame, png, "png", &error, NULL));
  g_assert_no_error (error);
  g_assert_false (mien_video_is_video_file (png));
  g_assert_false (mien_video_is_video_file (missing));
}

#ifndef MIEN_HAVE_CAMERA
static void
test_unsupported (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienVideoReader) reader = mien_video_reader_open ("clip.avi", &error);

  g_assert_null (reader);
  g_assert_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_UNSUPPORTED);
}
#endif

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  /* Without GStreamer these skip (nothing writes their videos); the error is checked below. */
  g_test_add ("/video/frames", Fixture, NULL, mien_test_scratch_set_up,
              test_frames, mien_test_scratch_tear_down);
  g_test_add ("/video/early-close", Fixture, NULL, mien_test_scratch_set_up,
              test_early_close, mien_test_scratch_tear_down);
  g_test_add ("/video/not-videos", Fixture, NULL, mien_test_scratch_set_up,
              test_not_videos, mien_test_scratch_tear_down);
  g_test_add ("/video/sound-only", Fixture, NULL, mien_test_scratch_set_up,
              test_sound_only, mien_test_scratch_tear_down);
  g_test_add ("/video/truncated", Fixture, NULL, mien_test_scratch_set_up,
              test_truncated, mien_test_scratch_tear_down);
  g_test_add ("/video/is-video-file", Fixture, NULL, mien_test_scratch_set_up,
              test_is_video_file, mien_test_scratch_tear_down);
#ifndef MIEN_HAVE_CAMERA
  g_test_add_func ("/video/unsupported", test_unsupported);
#endif

  return g_test_run ();
}
