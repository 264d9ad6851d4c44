/* test-cli-capture.c — `mien-cli capture`: face crops from a video into a class folder.
 *
 * The video is encoded here from the shared folder's real photos (`../shared` beside the
 * repository, or $MIEN_TEST_SHARED_DIR) and plain grey frames; YuNet is its models/ file.
 * The tests that need them skip when the shared folder is absent; the bad-input cases do not
 * need it.
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <gio/gio.h>

#include <glib/gstdio.h>

#include "mien-core.h"
#include "mien-face-detector.h"
#include "mien-test-util.h"

#define VIDEO_WIDTH  640
#define VIDEO_HEIGHT 480
#define VIDEO_FPS    5

static char *tmp_dir;

/* A fresh path in the scratch folder, unique to this call. */
static char *
scratch_path (const char *name)
{
  static guint n;

  return g_strdup_printf ("%s%c%u-%s", tmp_dir, G_DIR_SEPARATOR, ++n, name);
}

/* `photo` at the centre of a grey frame of the video's size. */
static GdkPixbuf *
framed (GdkPixbuf *photo)
{
  GdkPixbuf *frame = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, VIDEO_WIDTH, VIDEO_HEIGHT);
  int w, h;

  gdk_pixbuf_fill (frame, 0x808080ff);
  if (photo == NULL)
    return frame;
  w = MIN (gdk_pixbuf_get_width (photo), VIDEO_WIDTH);
  h = MIN (gdk_pixbuf_get_height (photo), VIDEO_HEIGHT);
  gdk_pixbuf_copy_area (photo, 0, 0, w, h, frame, (VIDEO_WIDTH - w) / 2,
                        (VIDEO_HEIGHT - h) / 2);
  return frame;
}

typedef struct {
  char *shared;
  char *yunet;
  char *video;
  guint n_grey;
} Fixtures;

static void
fixtures_clear (Fixtures *f)
{
  g_free (f->shared);
  g_free (f->yunet);
  g_free (f->video);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Fixtures, fixtures_clear)

/* The photos and grey frames as a video: one-smiling, grey, two-laughing, grey, grey. FALSE
 * (and the test skipped) without the shared folder, the opencv plugin or a video encoder. */
static gboolean
make_fixtures (Fixtures *f)
{
  static const char * const photos[] = { "one-smiling.jpg", NULL, "two-laughing.jpg", NULL, NULL };
  GdkPixbuf *frames[G_N_ELEMENTS (photos)];
  gboolean ok;

  f->shared = mien_test_shared_dir ();
  if (f->shared == NULL)
    return FALSE;
  if (mien_plugin_engine_find (mien_plugin_engine_get_default (), "opencv") == NULL)
    {
      g_test_skip ("The opencv plugin is not built (-Dface_detection)");
      return FALSE;
    }
  f->yunet = g_build_filename (f->shared, "models", "face_detection_yunet_2022mar.onnx", NULL);
  for (guint k = 0; k < G_N_ELEMENTS (photos); k++)
    {
      g_autoptr(GdkPixbuf) photo = NULL;
      g_autoptr(GError) error = NULL;

      if (photos[k] != NULL)
        {
          g_autofree char *path = g_build_filename (f->shared, "photos", photos[k], NULL);

          photo = gdk_pixbuf_new_from_file (path, &error);
          g_assert_no_error (error);
        }
      else
        f->n_grey++;
      frames[k] = framed (photo);
    }
  f->video = scratch_path ("booth.avi");
  ok = mien_test_write_video_or_skip (f->video, frames, G_N_ELEMENTS (photos), VIDEO_FPS);
  for (guint k = 0; k < G_N_ELEMENTS (photos); k++)
    g_object_unref (frames[k]);
  return ok;
}

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* The paths in `dir`, sorted. */
static GPtrArray *
list_folder (const char *dir)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_build_filename (dir, name, NULL));
  g_ptr_array_sort (names, compare_paths);
  return names;
}

/* The committed images in `dir` (0 when it does not exist): a crop being written is a hidden
 * temporary, and for a moment after its link both names exist, so those are not counted. */
static guint
count_files (const char *dir)
{
  g_autoptr(GPtrArray) names = list_folder (dir);
  guint count = 0;

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *base = g_path_get_basename (names->pdata[i]);

      count += base[0] != '.';
    }
  return count;
}

/* The lines of `text`, sorted. */
static GPtrArray *
sorted_lines (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0')
      g_ptr_array_add (out, g_strdup (lines[i]));
  g_ptr_array_sort (out, compare_paths);
  return out;
}

static MienFaceDetector *
new_yunet (const char *model)
{
  g_autoptr(MienFaceDetector) detector = NULL;
  g_autoptr(GError) error = NULL;

  detector = mien_plugin_engine_create_face_detector (mien_plugin_engine_get_default (),
                                                      "opencv", NULL, &error);
  g_assert_no_error (error);
  g_object_set (detector, "model-file", model, NULL);
  g_assert_true (mien_face_detector_prepare (detector, "yunet", &error));
  g_assert_no_error (error);
  return g_steal_pointer (&detector);
}

/* The crops it reports are exactly the files in DATASET/CLASS, each one a face, and the grey
 * frames are counted as frames without a face. */
static void
test_video (void)
{
  g_auto(Fixtures) f = { 0, };
  g_autofree char *dataset = NULL;
  g_autofree char *class_dir = NULL;
  g_autofree char *no_face = NULL;
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(GPtrArray) reported = NULL;
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(MienFaceDetector) detector = NULL;

  if (!make_fixtures (&f))
    return;
  dataset = scratch_path ("dataset");
  class_dir = g_build_filename (dataset, "happiness", NULL);
  r = mien_test_cli_run ("capture", "--video", f.video, "--class", "happiness", "--to", dataset,
                         "--size", "128", "--detector", "opencv:yunet", "--face-model", f.yunet,
                         NULL);
  mien_test_cli_assert_success (r);
  g_test_message ("%s", r->err);

  reported = sorted_lines (r->out);
  files = list_folder (class_dir);
  /* The two photos; the grey frames give nothing. */
  g_assert_cmpuint (reported->len, ==, 2);
  g_assert_cmpuint (files->len, ==, reported->len);
  for (guint i = 0; i < files->len; i++)
    g_assert_cmpstr (reported->pdata[i], ==, files->pdata[i]);

  detector = new_yunet (f.yunet);
  for (guint i = 0; i < files->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GdkPixbuf) crop = gdk_pixbuf_new_from_file (files->pdata[i], &error);
      g_autoptr(GArray) faces = NULL;

      g_assert_no_error (error);
      g_assert_cmpint (gdk_pixbuf_get_width (crop), ==, 128);
      g_assert_cmpint (gdk_pixbuf_get_height (crop), ==, 128);
      faces = mien_face_detector_detect (detector, crop, &error);
      g_assert_no_error (error);
      g_test_message ("%s: %u faces", (char *) files->pdata[i], faces->len);
      g_assert_cmpuint (faces->len, ==, 1);
    }

  /* The summary counts the grey frames, and names the folder. */
  no_face = g_strdup_printf ("%u no face", f.n_grey);
  g_assert_nonnull (strstr (r->err, no_face));
  g_assert_nonnull (strstr (r->err, "Kept 2 crops"));
  g_assert_nonnull (strstr (r->err, class_dir));
}

/* --count N stops after N kept crops; a second run adds to the class without replacing. */
static void
test_count (void)
{
  g_auto(Fixtures) f = { 0, };
  g_autofree char *dataset = NULL;
  g_autofree char *class_dir = NULL;
  g_autoptr(GPtrArray) files = NULL;
  g_autofree char *first_out = NULL;

  if (!make_fixtures (&f))
    return;
  dataset = scratch_path ("dataset");
  class_dir = g_build_filename (dataset, "joy", NULL);
  for (guint run = 0; run < 2; run++)
    {
      g_autoptr(MienTestCliResult) r = NULL;
      g_autoptr(GPtrArray) reported = NULL;

      r = mien_test_cli_run ("capture", "--video", f.video, "--class", "joy", "--to", dataset,
                             "--count", "1", "--size", "32", "--detector", "opencv:yunet",
                             "--face-model", f.yunet, NULL);
      mien_test_cli_assert_success (r);
      reported = sorted_lines (r->out);
      g_assert_cmpuint (reported->len, ==, 1);
      /* The first video frame is a face: the grey ones after it were never read. */
      g_assert_nonnull (strstr (r->err, "0 no face"));
      if (run == 0)
        first_out = g_strdup (r->out);
      else
        g_assert_cmpstr (r->out, !=, first_out);
    }
  files = list_folder (class_dir);
  g_assert_cmpuint (files->len, ==, 2);
}

/* mien-cli capture with `args` (NULL-terminated) as a subprocess, its output piped. */
static GSubprocess *
spawn_capture (const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_ptr_array_add (argv, (gpointer) g_getenv ("MIEN_CLI"));
  g_ptr_array_add (argv, "capture");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               &error);
  g_assert_no_error (error);
  return process;
}

/* A camera capture without --count ends with Ctrl+C: the crops written so far are reported
 * and kept, the summary printed, exit 0. The camera is MienCamera's still-image source. */
static void
test_camera_interrupted (void)
{
  g_auto(Fixtures) f = { 0, };
  g_autofree char *dataset = NULL;
  g_autofree char *class_dir = NULL;
  g_autofree char *source = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GPtrArray) reported = NULL;
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GError) error = NULL;
  gint64 deadline;

  if (!make_fixtures (&f))
    return;
  dataset = scratch_path ("dataset");
  class_dir = g_build_filename (dataset, "joy", NULL);
  source = g_strdup_printf ("file:%s%cphotos%cone-smiling.jpg", f.shared, G_DIR_SEPARATOR,
                            G_DIR_SEPARATOR);
  process = spawn_capture ((const char * const []) { "--camera", source, "--class", "joy",
                                                     "--to", dataset, "--size", "32",
                                                     "--detector", "opencv:yunet",
                                                     "--face-model", f.yunet, NULL });
  /* A still image: its first crop is kept, every later one is a near-duplicate. */
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (count_files (class_dir) == 0 && g_get_monotonic_time () < deadline)
    g_usleep (50000);
  g_assert_cmpuint (count_files (class_dir), ==, 1);
  g_subprocess_send_signal (process, SIGINT);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_test_message ("%s", err);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);

  reported = sorted_lines (out);
  files = list_folder (class_dir);
  g_assert_cmpuint (reported->len, ==, 1);
  g_assert_cmpuint (files->len, ==, 1);
  g_assert_cmpstr (reported->pdata[0], ==, files->pdata[0]);
  g_assert_nonnull (strstr (err, "Kept 1 crop in"));
  g_assert_nonnull (strstr (err, "near-duplicate"));
}

/* A camera that fails while streaming (a "file:" source that does not decode: MienCamera's
 * "error" signal, as for a camera unplugged) ends the capture with one message naming it,
 * the summary and exit 1. */
static void
test_camera_error (void)
{
  g_autofree char *dataset = scratch_path ("dataset");
  g_autofree char *broken = scratch_path ("broken.avi");
  g_autofree char *source = g_strconcat ("file:", broken, NULL);
  g_autoptr(MienTestCliResult) r = NULL;
  g_autofree char *named = NULL;

  if (mien_plugin_engine_find (mien_plugin_engine_get_default (), "opencv") == NULL)
    {
      g_test_skip ("The opencv plugin is not built (-Dface_detection)");
      return;
    }
  mien_test_write_file (broken, "not a video at all", 18);
  r = mien_test_cli_run ("capture", "--camera", source, "--class", "joy", "--to", dataset,
                         "--detector", "opencv:haar", NULL);
  g_test_message ("%s", r->err);
  if (r->status == 1 && strstr (r->err, "GStreamer") != NULL && strstr (r->err, "stopped") == NULL)
    {
      g_test_skip ("This build has no camera support");
      return;
    }
  g_assert_cmpint (r->status, ==, 1);
  g_assert_cmpstr (r->out, ==, "");
  named = g_strdup_printf ("the camera %s stopped", source);
  g_assert_nonnull (strstr (r->err, named));
  g_assert_nonnull (strstr (r->err, "Kept 0 crops in"));
}

/* Bad input: one line naming the option, exit 2, nothing written. */
static void
test_bad_input (void)
{
  g_autofree char *dataset = scratch_path ("never-made");
  g_autofree char *a_file = scratch_path ("a-file");
  g_autofree char *not_video = scratch_path ("notes.avi");
  g_autofree char *missing_model = scratch_path ("missing.onnx");
  g_autofree char *contents = NULL;
  const struct {
    const char *args[4];
    const char *in_message;
  } cases[] = {
    { { "--count", "0" }, "--count" },
    { { "--every", "-1" }, "--every" },
    { { "--size", "5" }, "--size" },
    { { "--size", "100000" }, "--size" },
    { { "--margin", "3" }, "--margin" },
    { { "--class", "a/b" }, "a/b" },
    { { "--class", ".hidden" }, ".hidden" },
    { { "--to", a_file }, a_file },
    { { "--face-model", missing_model }, missing_model },
    { { "--camera", "--video", not_video }, "--camera" },
  };

  mien_test_write_file (a_file, "keep me", 7);
  mien_test_write_file (not_video, "not a video at all", 18);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GPtrArray) args = g_ptr_array_new ();
      g_autoptr(MienTestCliResult) r = NULL;
      gboolean has_to = FALSE, has_class = FALSE, has_video = FALSE;

      for (guint a = 0; cases[i].args[a] != NULL && a < G_N_ELEMENTS (cases[i].args); a++)
        {
          has_to = has_to || g_str_equal (cases[i].args[a], "--to");
          has_class = has_class || g_str_equal (cases[i].args[a], "--class");
          has_video = has_video || g_str_equal (cases[i].args[a], "--video");
          g_ptr_array_add (args, (gpointer) cases[i].args[a]);
        }
      if (!has_video)
        {
          g_ptr_array_add (args, "--video");
          g_ptr_array_add (args, not_video);
        }
      if (!has_class)
        {
          g_ptr_array_add (args, "--class");
          g_ptr_array_add (args, "happiness");
        }
      if (!has_to)
        {
          g_ptr_array_add (args, "--to");
          g_ptr_array_add (args, dataset);
        }
      /* Every other input is good but the video: it comes last, after these checks. */
      r = mien_test_cli_run ("capture",
                             args->len > 0 ? args->pdata[0] : NULL,
                             args->len > 1 ? args->pdata[1] : NULL,
                             args->len > 2 ? args->pdata[2] : NULL,
                             args->len > 3 ? args->pdata[3] : NULL,
                             args->len > 4 ? args->pdata[4] : NULL,
                             args->len > 5 ? args->pdata[5] : NULL,
                             args->len > 6 ? args->pdata[6] : NULL,
                             args->len > 7 ? args->pdata[7] : NULL,
                             NULL);
      g_test_message ("case %u: %s", i, r->err);
      g_assert_cmpint (r->status, ==, 2);
      g_assert_cmpstr (r->out, ==, "");
      g_assert_nonnull (strstr (r->err, cases[i].in_message));
      g_assert_nonnull (strchr (r->err, '\n'));
      g_assert_cmpstr (strchr (r->err, '\n'), ==, "\n");  /* one line */
      g_assert_false (g_file_test (dataset, G_FILE_TEST_EXISTS));
    }
  g_assert_true (g_file_get_contents (a_file, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "keep me");
}

/* A file that is not a video: one line naming it, exit 2, nothing written. */
static void
test_not_a_video (void)
{
  g_autofree char *dataset = scratch_path ("never-made");
  g_autofree char *not_video = scratch_path ("notes.avi");
  g_autoptr(MienTestCliResult) r = NULL;

  mien_test_write_file (not_video, "not a video at all", 18);
  r = mien_test_cli_run ("capture", "--video", not_video, "--class", "joy", "--to", dataset,
                         NULL);
  if (r->status == 1 && strstr (r->err, "GStreamer") != NULL)
    {
      g_test_skip ("This build reads no videos");
      return;
    }
  g_assert_cmpint (r->status, ==, 2);
  g_assert_nonnull (strstr (r->err, not_video));
  g_assert_cmpstr (strchr (r->err, '\n'), ==, "\n");
  g_assert_false (g_file_test (dataset, G_FILE_TEST_EXISTS));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  tmp_dir = g_dir_make_tmp ("mien-cli-capture-XXXXXX", &error);
  g_assert_no_error (error);
  g_test_init (&argc, &argv, NULL);
  mien_init ();

  g_test_add_func ("/cli-capture/video", test_video);
  g_test_add_func ("/cli-capture/count", test_count);
  g_test_add_func ("/cli-capture/bad-input", test_bad_input);
  g_test_add_func ("/cli-capture/not-a-video", test_not_a_video);
  g_test_add_func ("/cli-capture/camera-interrupted", test_camera_interrupted);
  g_test_add_func ("/cli-capture/camera-error", test_camera_error);

  status = g_test_run ();
  mien_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
