/* test-face-model.c — the detector's model file: where it is looked for, checking it, and
 * downloading it from a local web server (the real one is not reachable from tests): what a
 * good, a wrong, an oversized, a missing and a cancelled transfer leave behind.
 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#ifdef MIEN_HAVE_SOUP
#include <libsoup/soup.h>
#endif

#include "mien-face-model.h"
#include "mien-test-util.h"

#define PAYLOAD_SIZE (300 * 1024 + 17)  /* a few chunks and an odd tail */

static guint8 *payload;
static char *payload_sha256;

static guint
count_entries (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (d != NULL && g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static void
test_default_path (void)
{
  g_autofree char *path = NULL;
  const MienFaceModelInfo *info = mien_face_model_get_yunet ();

  g_assert_cmpstr (info->file_name, ==, "face_detection_yunet_2022mar.onnx");
  g_assert_cmpuint (strlen (info->sha256), ==, 64);
  g_assert_true (g_str_has_prefix (info->url, "https://"));
  g_assert_true (g_str_has_suffix (info->url, info->file_name));

  g_setenv ("MIEN_YUNET_MODEL", "/somewhere/yunet.onnx", TRUE);
  path = mien_face_model_get_default_path ();
  g_assert_cmpstr (path, ==, "/somewhere/yunet.onnx");
  g_clear_pointer (&path, g_free);

  g_unsetenv ("MIEN_YUNET_MODEL");
  path = mien_face_model_get_default_path ();
  g_assert_true (g_str_has_prefix (path, g_get_user_data_dir ()));
  g_assert_true (g_str_has_suffix (path, "/mien/models/face_detection_yunet_2022mar.onnx"));
}

/* A copy shipped with Mien (the Flatpak's /app/share/mien/models) is used until the user has
 * one of their own; downloads always go to the user's folder. main () gave this test data
 * folders of its own. */
static void
test_shipped_copy (void)
{
  const MienFaceModelInfo *info = mien_face_model_get_yunet ();
  const char * const *system_dirs = g_get_system_data_dirs ();
  g_autofree char *own = g_build_filename (g_get_user_data_dir (), "mien", "models",
                                           info->file_name, NULL);
  g_autofree char *own_dir = g_path_get_dirname (own);
  g_autofree char *shipped_dir = NULL;
  g_autofree char *shipped = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (system_dirs[0]);
  g_unsetenv ("MIEN_YUNET_MODEL");
  shipped_dir = g_build_filename (system_dirs[0], "mien", "models", NULL);
  shipped = g_build_filename (shipped_dir, info->file_name, NULL);

  /* Nothing anywhere: the user's path, where a download would go. */
  path = mien_face_model_get_default_path ();
  g_assert_cmpstr (path, ==, own);
  g_clear_pointer (&path, g_free);

  /* Shipped only: that copy. */
  g_assert_cmpint (g_mkdir_with_parents (shipped_dir, 0755), ==, 0);
  g_file_set_contents (shipped, "onnx", -1, &error);
  g_assert_no_error (error);
  path = mien_face_model_get_default_path ();
  g_assert_cmpstr (path, ==, shipped);
  g_clear_pointer (&path, g_free);
  path = mien_face_model_get_download_path ();
  g_assert_cmpstr (path, ==, own);
  g_clear_pointer (&path, g_free);

  /* The user's own copy wins. */
  g_assert_cmpint (g_mkdir_with_parents (own_dir, 0755), ==, 0);
  g_file_set_contents (own, "onnx", -1, &error);
  g_assert_no_error (error);
  path = mien_face_model_get_default_path ();
  g_assert_cmpstr (path, ==, own);
  g_clear_pointer (&path, g_free);

  /* And MIEN_YUNET_MODEL over both, for looking and for downloading. */
  g_setenv ("MIEN_YUNET_MODEL", "/somewhere/yunet.onnx", TRUE);
  path = mien_face_model_get_default_path ();
  g_assert_cmpstr (path, ==, "/somewhere/yunet.onnx");
  g_clear_pointer (&path, g_free);
  path = mien_face_model_get_download_path ();
  g_assert_cmpstr (path, ==, "/somewhere/yunet.onnx");
  g_unsetenv ("MIEN_YUNET_MODEL");
}

static void
test_verify (MienTestScratch *scratch,
             gconstpointer    data)
{
  g_autofree char *path = g_build_filename (scratch->dir, "model.onnx", NULL);
  g_autofree char *missing = g_build_filename (scratch->dir, "missing.onnx", NULL);
  g_autoptr(GError) error = NULL;

  mien_test_write_file (path, payload, PAYLOAD_SIZE);
  g_assert_true (mien_face_model_verify (path, payload_sha256, PAYLOAD_SIZE, &error));
  g_assert_no_error (error);
  g_assert_true (mien_face_model_verify (path, payload_sha256, -1, &error));
  g_assert_no_error (error);

  g_assert_false (mien_face_model_verify (path, payload_sha256, PAYLOAD_SIZE - 1, &error));
  g_assert_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_SIZE);
  g_clear_error (&error);

  /* One byte changed. */
  payload[1000] ^= 1;
  mien_test_write_file (path, payload, PAYLOAD_SIZE);
  payload[1000] ^= 1;
  g_assert_false (mien_face_model_verify (path, payload_sha256, PAYLOAD_SIZE, &error));
  g_assert_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_CHECKSUM);
  g_assert_nonnull (strstr (error->message, payload_sha256));
  g_clear_error (&error);

  g_assert_false (mien_face_model_verify (missing, payload_sha256, PAYLOAD_SIZE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

#ifdef MIEN_HAVE_SOUP

static MienTestWebServer *web;

static void
handle (SoupServer        *soup_server,
        SoupServerMessage *message,
        const char        *path,
        GHashTable        *query,
        gpointer           user_data)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (message);

  if (g_str_equal (path, "/model.onnx"))
    {
      soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (message, "application/octet-stream", SOUP_MEMORY_STATIC,
                                        (const char *) payload, PAYLOAD_SIZE);
    }
  else if (g_str_equal (path, "/moved"))
    {
      g_autofree char *to = g_strdup_printf ("%s/model.onnx",
                                             mien_test_web_server_get_base (web));

      soup_server_message_set_redirect (message, SOUP_STATUS_FOUND, to);
    }
  else if (g_str_equal (path, "/bigger"))
    {
      /* The right bytes and then some: a server that never stops must be cut off. */
      g_autofree guint8 *more = g_malloc0 (PAYLOAD_SIZE * 2);

      memcpy (more, payload, PAYLOAD_SIZE);
      soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (message, "application/octet-stream", SOUP_MEMORY_COPY,
                                        (const char *) more, PAYLOAD_SIZE * 2);
    }
  else if (g_str_equal (path, "/slow"))
    {
      /* Chunked: the headers and a first piece now, the rest never (until released). */
      SoupMessageBody *body = soup_server_message_get_response_body (message);

      soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
      soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
      soup_message_body_append (body, SOUP_MEMORY_STATIC, payload, 1024);
    }
  else
    soup_server_message_set_status (message, SOUP_STATUS_NOT_FOUND, NULL);
}

static const char *
start_web (void)
{
  web = mien_test_web_server_start (handle, NULL);
  return mien_test_web_server_get_base (web);
}

typedef struct {
  GArray *fractions;
} Progress;

static void
on_progress (double      fraction,
             const char *message,
             gpointer    user_data)
{
  Progress *progress = user_data;

  g_array_append_val (progress->fractions, fraction);
}

static void
test_download (MienTestScratch *scratch,
               gconstpointer    data)
{
  const char *base = start_web ();
  g_autofree char *url = g_strdup_printf ("%s/model.onnx", base);
  g_autofree char *moved = g_strdup_printf ("%s/moved", base);
  g_autofree char *dest = g_build_filename (scratch->dir, "models", "yunet.onnx", NULL);
  g_autofree char *dir = g_path_get_dirname (dest);
  Progress progress = { g_array_new (FALSE, FALSE, sizeof (double)) };
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;

  /* The folder does not exist yet: made. */
  g_assert_true (mien_download_file (url, payload_sha256, PAYLOAD_SIZE, dest, on_progress,
                                     &progress, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (dest, &contents, &length, NULL));
  g_assert_cmpmem (contents, length, payload, PAYLOAD_SIZE);
  g_assert_true (mien_face_model_verify (dest, payload_sha256, PAYLOAD_SIZE, NULL));
  /* Progress rises to 1, a report per percent at most, and no temporary file stays. */
  g_assert_cmpuint (progress.fractions->len, >=, 2);
  g_assert_cmpuint (progress.fractions->len, <=, 101);
  for (guint i = 1; i < progress.fractions->len; i++)
    g_assert_cmpfloat (g_array_index (progress.fractions, double, i), >,
                       g_array_index (progress.fractions, double, i - 1));
  g_assert_cmpfloat (g_array_index (progress.fractions, double, progress.fractions->len - 1),
                     ==, 1.0);
  g_assert_cmpuint (count_entries (dir), ==, 1);
  g_array_unref (progress.fractions);

  /* Redirections are followed (GitHub's raw links redirect to their LFS store). */
  g_unlink (dest);
  g_assert_true (mien_download_file (moved, payload_sha256, PAYLOAD_SIZE, dest, NULL, NULL,
                                     NULL, &error));
  g_assert_no_error (error);
  g_assert_true (mien_face_model_verify (dest, payload_sha256, PAYLOAD_SIZE, NULL));

  mien_test_web_server_stop (web);
}

static gpointer
cancel_later (gpointer cancellable)
{
  g_usleep (300 * 1000);
  g_cancellable_cancel (cancellable);
  return NULL;
}

/* Every failure leaves the file that was there (here: a good one) as it was, and nothing else. */
static void
test_download_failures (MienTestScratch *scratch,
                        gconstpointer    data)
{
  const char *base = start_web ();
  g_autofree char *url = g_strdup_printf ("%s/model.onnx", base);
  g_autofree char *bigger = g_strdup_printf ("%s/bigger", base);
  g_autofree char *absent = g_strdup_printf ("%s/absent.onnx", base);
  g_autofree char *slow = g_strdup_printf ("%s/slow", base);
  g_autofree char *dest = g_build_filename (scratch->dir, "yunet.onnx", NULL);
  g_autofree char *wrong_sha = g_strdup (payload_sha256);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  static const guint8 old[] = "the file that was there before";
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;

  mien_test_write_file (dest, old, sizeof old);
  wrong_sha[0] = wrong_sha[0] == '0' ? '1' : '0';

  g_assert_false (mien_download_file (url, wrong_sha, PAYLOAD_SIZE, dest, NULL, NULL, NULL,
                                      &error));
  g_assert_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_CHECKSUM);
  g_clear_error (&error);

  g_assert_false (mien_download_file (url, payload_sha256, PAYLOAD_SIZE + 1, dest, NULL, NULL,
                                      NULL, &error));
  g_assert_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_SIZE);
  g_clear_error (&error);

  g_assert_false (mien_download_file (bigger, payload_sha256, PAYLOAD_SIZE, dest, NULL, NULL,
                                      NULL, &error));
  g_assert_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_SIZE);
  g_clear_error (&error);

  g_assert_false (mien_download_file (absent, payload_sha256, PAYLOAD_SIZE, dest, NULL, NULL,
                                      NULL, &error));
  g_assert_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_HTTP);
  g_assert_nonnull (strstr (error->message, "404"));
  g_clear_error (&error);

  g_assert_false (mien_download_file ("not a url", payload_sha256, PAYLOAD_SIZE, dest, NULL,
                                      NULL, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* A transfer that stalls, cancelled from another thread. */
  {
    GThread *canceller = g_thread_new ("test-cancel", cancel_later, cancellable);

    g_assert_false (mien_download_file (slow, payload_sha256, PAYLOAD_SIZE, dest, NULL, NULL,
                                        cancellable, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);
    g_thread_join (canceller);
  }
  mien_test_web_server_stop (web);

  g_assert_true (g_file_get_contents (dest, &contents, &length, NULL));
  g_assert_cmpmem (contents, length, old, sizeof old);
  g_assert_cmpuint (count_entries (scratch->dir), ==, 1);
}

#endif  /* MIEN_HAVE_SOUP */

int
main (int    argc,
      char **argv)
{
  g_autofree char *dirs = g_dir_make_tmp ("mien-face-model-XXXXXX", NULL);
  g_autofree char *data_home = g_build_filename (dirs, "data", NULL);
  g_autofree char *data_dirs = NULL;
  const char *system_dirs = g_getenv ("XDG_DATA_DIRS");
  int status;

  /* Data folders of the test's own, read once by GLib: the user's, and a system one (ahead of
   * the machine's, whose GSettings schemas the downloads' proxy lookup needs). */
  g_assert_nonnull (dirs);
  data_dirs = g_strconcat (dirs, "/system:", system_dirs != NULL && system_dirs[0] != '\0'
                                             ? system_dirs : "/usr/local/share:/usr/share", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_setenv ("XDG_DATA_DIRS", data_dirs, TRUE);
  g_test_init (&argc, &argv, NULL);
  payload = mien_test_random_bytes (5, PAYLOAD_SIZE, &payload_sha256);

  g_test_add_func ("/face-model/default-path", test_default_path);
  g_test_add_func ("/face-model/shipped-copy", test_shipped_copy);
  g_test_add ("/face-model/verify", MienTestScratch, NULL, mien_test_scratch_set_up, test_verify,
              mien_test_scratch_tear_down);
#ifdef MIEN_HAVE_SOUP
  g_test_add ("/face-model/download", MienTestScratch, NULL, mien_test_scratch_set_up,
              test_download, mien_test_scratch_tear_down);
  g_test_add ("/face-model/download-failures", MienTestScratch, NULL, mien_test_scratch_set_up,
              test_download_failures, mien_test_scratch_tear_down);
#endif
  status = g_test_run ();
  mien_test_remove_tree (dirs);
  return status;
}
