/* mien-face-model.c — the YuNet model file: its place, its checksum, its download. */
#include "config.h"

#include <errno.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#ifdef MIEN_HAVE_SOUP
#include <libsoup/soup.h>
#endif

#include "mien-face-model.h"
#include "mien-output.h"

G_DEFINE_QUARK (mien-download-error-quark, mien_download_error)

#define CHUNK_SIZE (64 * 1024)

/* The 2022mar file: OpenCV 4.6's FaceDetectorYN cannot run the 2023mar one. */
static const MienFaceModelInfo yunet = {
  .name = "YuNet",
  .file_name = "face_detection_yunet_2022mar.onnx",
  .url = "https://github.com/opencv/opencv_zoo/raw/c97242ce7f2a554e288b50eabd9f5df957e78801/"
         "models/face_detection_yunet/face_detection_yunet_2022mar.onnx",
  .sha256 = "50ef07f702a31741ca46a4c0d947773b64143b9362780237bf0d427d6c79bab7",
  .size = 345478,
  .licence = "MIT",
};

const MienFaceModelInfo *
mien_face_model_get_yunet (void)
{
  return &yunet;
}

char *
mien_face_model_get_default_path (void)
{
  const char *env = g_getenv ("MIEN_YUNET_MODEL");

  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  return g_build_filename (g_get_user_data_dir (), "mien", "models", yunet.file_name, NULL);
}

MienFaceDetector *
mien_face_model_open_detector (MienPluginEngine *engine,
                               const char       *spec,
                               const char       *model_file,
                               GError          **error)
{
  g_autoptr(MienFaceDetector) detector = NULL;
  g_autofree char *method = NULL;
  g_autofree char *default_path = NULL;

  g_return_val_if_fail (MIEN_IS_PLUGIN_ENGINE (engine), NULL);

  detector = mien_plugin_engine_create_face_detector (engine, spec, &method, error);
  if (detector == NULL)
    return NULL;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (detector), "model-file") != NULL)
    {
      if (model_file == NULL)
        model_file = default_path = mien_face_model_get_default_path ();
      g_object_set (detector, "model-file", model_file, NULL);
    }
  if (!mien_face_detector_prepare (detector, method, error))
    return NULL;
  return g_steal_pointer (&detector);
}

static gboolean
check_digest (GChecksum   *checksum,
              gint64       n_bytes,
              const char  *sha256,
              gint64       expected_size,
              const char  *what,
              GError     **error)
{
  const char *digest = g_checksum_get_string (checksum);

  if (expected_size >= 0 && n_bytes != expected_size)
    {
      /* The counts as text: xgettext cannot read G_GINT64_FORMAT inside a message. */
      g_autofree char *got = g_strdup_printf ("%" G_GINT64_FORMAT, n_bytes);
      g_autofree char *want = g_strdup_printf ("%" G_GINT64_FORMAT, expected_size);

      g_set_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_SIZE,
                   _("%s has %s bytes, not the %s expected"), what, got, want);
      return FALSE;
    }
  if (g_ascii_strcasecmp (digest, sha256) != 0)
    {
      g_set_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_CHECKSUM,
                   _("%s has the SHA-256 %s, not the expected %s"), what, digest, sha256);
      return FALSE;
    }
  return TRUE;
}

gboolean
mien_face_model_verify (const char  *path,
                        const char  *sha256,
                        gint64       expected_size,
                        GError     **error)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFileInputStream) in = NULL;
  g_autofree guint8 *buffer = NULL;
  gint64 n_bytes = 0;

  g_return_val_if_fail (path != NULL && sha256 != NULL, FALSE);

  file = g_file_new_for_path (path);
  in = g_file_read (file, NULL, error);
  if (in == NULL)
    return FALSE;
  buffer = g_malloc (CHUNK_SIZE);
  for (;;)
    {
      gssize n = g_input_stream_read (G_INPUT_STREAM (in), buffer, CHUNK_SIZE, NULL, error);

      if (n < 0)
        return FALSE;
      if (n == 0)
        break;
      g_checksum_update (checksum, buffer, n);
      n_bytes += n;
      /* A file far larger than expected is not worth hashing to the end. */
      if (expected_size >= 0 && n_bytes > expected_size)
        break;
    }
  return check_digest (checksum, n_bytes, sha256, expected_size, path, error);
}

#ifdef MIEN_HAVE_SOUP

/* Copies the response into `out`, hashing it; refuses more than `expected_size` bytes. */
static gboolean
copy_response (GInputStream      *in,
               GOutputStream     *out,
               gint64             total,
               gint64             expected_size,
               GChecksum         *checksum,
               gint64            *n_bytes,
               MienProgressFunc   progress,
               gpointer           progress_data,
               GCancellable      *cancellable,
               GError           **error)
{
  g_autofree guint8 *buffer = g_malloc (CHUNK_SIZE);
  gint64 last_report = -1;

  *n_bytes = 0;
  for (;;)
    {
      gssize n = g_input_stream_read (in, buffer, CHUNK_SIZE, cancellable, error);

      if (n < 0)
        return FALSE;
      if (n == 0)
        return TRUE;
      if (expected_size >= 0 && *n_bytes + n > expected_size)
        {
          g_autofree char *want = g_strdup_printf ("%" G_GINT64_FORMAT, expected_size);

          g_set_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_SIZE,
                       _("The server sent more than the %s bytes expected"), want);
          return FALSE;
        }
      if (!g_output_stream_write_all (out, buffer, n, NULL, cancellable, error))
        return FALSE;
      g_checksum_update (checksum, buffer, n);
      *n_bytes += n;
      /* Every 1 %, not every chunk. */
      if (progress != NULL && (total <= 0 || *n_bytes * 100 / total != last_report))
        {
          last_report = total > 0 ? *n_bytes * 100 / total : -1;
          progress (total > 0 ? (double) *n_bytes / total : -1.0, NULL, progress_data);
        }
    }
}

gboolean
mien_download_file (const char        *url,
                    const char        *sha256,
                    gint64             expected_size,
                    const char        *dest,
                    MienProgressFunc   progress,
                    gpointer           progress_data,
                    GCancellable      *cancellable,
                    GError           **error)
{
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GFile) dest_file = NULL;
  g_autoptr(GFile) tmp_file = NULL;
  g_autoptr(GFileOutputStream) out = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *tmp_path = NULL;
  g_autoptr(GError) local_error = NULL;
  gint64 total, n_bytes = 0;
  guint status;
  int fd;

  g_return_val_if_fail (url != NULL && sha256 != NULL && dest != NULL, FALSE);

  message = soup_message_new ("GET", url);
  if (message == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("Not a web address: %s"),
                   url);
      return FALSE;
    }
  session = soup_session_new ();
  soup_session_set_user_agent (session, "Mien/" PACKAGE_VERSION " ");
  in = soup_session_send (session, message, cancellable, error);
  if (in == NULL)
    return FALSE;
  status = soup_message_get_status (message);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      g_set_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_HTTP,
                   _("%s: the server answered %u %s"), url, status,
                   soup_message_get_reason_phrase (message));
      return FALSE;
    }
  total = soup_message_headers_get_content_length (soup_message_get_response_headers (message));
  if (total <= 0)
    total = expected_size;

  dir = g_path_get_dirname (dest);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Could not create the folder %s: %s"), dir, g_strerror (saved));
      return FALSE;
    }
  /* Beside the destination, so that the final rename stays on one file system. */
  tmp_path = g_build_filename (dir, ".mien-download-XXXXXX", NULL);
  fd = g_mkstemp (tmp_path);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Could not write in %s: %s"), dir, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  tmp_file = g_file_new_for_path (tmp_path);
  /* Into the file mkstemp made (g_file_replace would write yet another temporary file, which
   * a failed transfer could leave behind). */
  out = g_file_append_to (tmp_file, G_FILE_CREATE_NONE, cancellable, &local_error);
  if (out != NULL &&
      copy_response (in, G_OUTPUT_STREAM (out), total, expected_size, checksum, &n_bytes,
                     progress, progress_data, cancellable, &local_error) &&
      g_output_stream_close (G_OUTPUT_STREAM (out), cancellable, &local_error) &&
      check_digest (checksum, n_bytes, sha256, expected_size, url, &local_error))
    {
      dest_file = g_file_new_for_path (dest);
      /* Synced before the rename and the folder after it: a crash leaves the old file or the
       * whole new one, never an empty one under the final name. */
      if (mien_output_sync_file (tmp_path, &local_error) &&
          g_file_move (tmp_file, dest_file, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL,
                       &local_error))
        return mien_output_sync_folder (dest, error);
    }
  g_unlink (tmp_path);
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

#else  /* !MIEN_HAVE_SOUP */

gboolean
mien_download_file (const char        *url,
                    const char        *sha256,
                    gint64             expected_size,
                    const char        *dest,
                    MienProgressFunc   progress,
                    gpointer           progress_data,
                    GCancellable      *cancellable,
                    GError           **error)
{
  g_set_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_UNSUPPORTED,
               _("This Mien was built without libsoup and cannot download; fetch %s by hand"),
               url);
  return FALSE;
}

#endif
