/* mien-download.c — checked, resumable HTTP downloads (see mien-download.h). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#ifdef MIEN_HAVE_SOUP
#include <libsoup/soup.h>
#endif

#include "mien-download.h"
#include "mien-output.h"

G_DEFINE_QUARK (mien-download-error-quark, mien_download_error)

#define CHUNK_SIZE (64 * 1024)
/* How far a file may be from an approximate size: torchvision publishes MiB with three
 * decimals and the Hugging Face Hub three significant digits, both well inside this. */
#define APPROXIMATE_TOLERANCE 0.01

/* The counts as text: xgettext cannot read G_GINT64_FORMAT inside a message. */
static char *
format_bytes (gint64 n)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT, n);
}

static gint64
largest_allowed (gint64            expected_size,
                 MienDownloadFlags flags)
{
  if (expected_size < 0)
    return G_MAXINT64;
  if (flags & MIEN_DOWNLOAD_SIZE_APPROXIMATE)
    return expected_size + (gint64) (expected_size * APPROXIMATE_TOLERANCE);
  return expected_size;
}

static gboolean
size_fits (gint64            n_bytes,
           gint64            expected_size,
           MienDownloadFlags flags)
{
  if (expected_size < 0)
    return TRUE;
  if (flags & MIEN_DOWNLOAD_SIZE_APPROXIMATE)
    return n_bytes >= expected_size - (gint64) (expected_size * APPROXIMATE_TOLERANCE) &&
           n_bytes <= largest_allowed (expected_size, flags);
  return n_bytes == expected_size;
}

static gboolean
check_size (gint64              n_bytes,
            gint64              expected_size,
            MienDownloadFlags   flags,
            const char         *what,
            GError            **error)
{
  g_autofree char *got = NULL, *want = NULL;

  if (size_fits (n_bytes, expected_size, flags))
    return TRUE;
  got = format_bytes (n_bytes);
  want = format_bytes (expected_size);
  if (flags & MIEN_DOWNLOAD_SIZE_APPROXIMATE)
    g_set_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_SIZE,
                 _("%s has %s bytes, not about the %s expected"), what, got, want);
  else
    g_set_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_SIZE,
                 _("%s has %s bytes, not the %s expected"), what, got, want);
  return FALSE;
}

gboolean
mien_download_digest_matches (const char *digest,
                              const char *expected)
{
  gsize n = strlen (expected);

  g_return_val_if_fail (digest != NULL, FALSE);

  return n >= 8 && n <= strlen (digest) && g_ascii_strncasecmp (digest, expected, n) == 0;
}

static gboolean
check_digest (GChecksum   *checksum,
              const char  *sha256,
              const char  *what,
              GError     **error)
{
  const char *digest = g_checksum_get_string (checksum);

  if (sha256 == NULL || mien_download_digest_matches (digest, sha256))
    return TRUE;
  if (strlen (sha256) < 64)
    g_set_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_CHECKSUM,
                 _("%s has the SHA-256 %s, which does not start with the expected %s"), what,
                 digest, sha256);
  else
    g_set_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_CHECKSUM,
                 _("%s has the SHA-256 %s, not the expected %s"), what, digest, sha256);
  return FALSE;
}

/* Hashes the first bytes of `path` (all of them when `limit` < 0) into `checksum`; stops early
 * once `stop_after` bytes have been read (a file far larger than expected is not worth hashing
 * to the end). */
static gboolean
hash_file (const char  *path,
           gint64       stop_after,
           GChecksum   *checksum,
           gint64      *n_bytes,
           GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) in = NULL;
  g_autofree guint8 *buffer = NULL;

  *n_bytes = 0;
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
        return TRUE;
      g_checksum_update (checksum, buffer, n);
      *n_bytes += n;
      if (*n_bytes > stop_after)
        return TRUE;
    }
}

gboolean
mien_download_verify_file (const char         *path,
                           const char         *sha256,
                           gint64              expected_size,
                           MienDownloadFlags   flags,
                           GError            **error)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  gint64 n_bytes = 0;

  g_return_val_if_fail (path != NULL, FALSE);

  return hash_file (path, largest_allowed (expected_size, flags), checksum, &n_bytes, error) &&
         check_size (n_bytes, expected_size, flags, path, error) &&
         check_digest (checksum, sha256, path, error);
}

char *
mien_download_get_part_path (const char *dest)
{
  g_return_val_if_fail (dest != NULL, NULL);

  return g_strconcat (dest, ".part", NULL);
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
  g_return_val_if_fail (sha256 != NULL, FALSE);

  return mien_download_file_full (url, sha256, expected_size, MIEN_DOWNLOAD_NONE, dest, progress,
                                  progress_data, cancellable, error);
}

#ifdef MIEN_HAVE_SOUP

/* One download: where its bytes go and what is known about them so far. */
typedef struct {
  const char        *url;
  const char        *sha256;
  gint64             expected_size;
  MienDownloadFlags  flags;
  char              *part_path;
  GChecksum         *checksum;
  gint64             n_bytes;      /* in the part file, this try's included */
  gint64             total;        /* the whole file's size as the server says it, or -1 */
  gint64             last_report;
  MienProgressFunc   progress;
  gpointer           progress_data;
  /* Whether the bytes in the part may still be right: FALSE after a size or hash mismatch or a
   * server that answered for another range, so that the next try starts afresh. */
  gboolean           part_usable;
} Transfer;

static void
transfer_clear (Transfer *t)
{
  g_clear_pointer (&t->part_path, g_free);
  g_clear_pointer (&t->checksum, g_checksum_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Transfer, transfer_clear)

/* Empties the part file: the next bytes are the file's first. */
static gboolean
transfer_restart (Transfer  *t,
                  GError   **error)
{
  g_checksum_reset (t->checksum);
  t->n_bytes = 0;
  t->last_report = -1;
  if (truncate (t->part_path, 0) != 0 && errno != ENOENT)
    return mien_output_set_errno_error (error, errno, _("Could not write %s"), t->part_path);
  return TRUE;
}

static void
transfer_report (Transfer *t)
{
  gint64 percent;

  if (t->progress == NULL)
    return;
  percent = t->total > 0 ? t->n_bytes * 100 / t->total : -1;
  if (t->total > 0 && percent == t->last_report)
    return;
  t->last_report = percent;
  t->progress (t->total > 0 ? (double) t->n_bytes / t->total : -1.0, NULL, t->progress_data);
}

/* Copies the response to the end of the part file, hashing it; refuses more bytes than the
 * file may have. */
static gboolean
copy_response (Transfer       *t,
               GInputStream   *in,
               GOutputStream  *out,
               GCancellable   *cancellable,
               GError        **error)
{
  g_autofree guint8 *buffer = g_malloc (CHUNK_SIZE);
  gint64 limit = largest_allowed (t->expected_size, t->flags);

  if (t->total >= 0)
    limit = MIN (limit, t->total);
  for (;;)
    {
      gssize n = g_input_stream_read (in, buffer, CHUNK_SIZE, cancellable, error);

      if (n < 0)
        return FALSE;
      if (n == 0)
        return TRUE;
      if (t->n_bytes + n > limit)
        {
          g_autofree char *want = format_bytes (limit);

          t->part_usable = FALSE;
          g_set_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_SIZE,
                       _("The server sent more than the %s bytes expected"), want);
          return FALSE;
        }
      if (!g_output_stream_write_all (out, buffer, n, NULL, cancellable, error))
        return FALSE;
      g_checksum_update (t->checksum, buffer, n);
      t->n_bytes += n;
      transfer_report (t);
    }
}

/* The size the server announces must be the one expected. */
static gboolean
check_announced_size (Transfer  *t,
                      GError   **error)
{
  g_autofree char *what = NULL;

  if (t->total < 0)
    return TRUE;
  what = g_strdup_printf (_("The file at %s"), t->url);
  if (!check_size (t->total, t->expected_size, t->flags, what, error))
    {
      t->part_usable = FALSE;
      return FALSE;
    }
  return TRUE;
}

/* What the answer to a request for the bytes from `t->n_bytes` on means for the part: go on
 * (TRUE), or `retry` without a range, or fail. */
static gboolean
handle_status (Transfer     *t,
               SoupMessage  *message,
               gboolean     *retry,
               GError      **error)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (message);
  guint status = soup_message_get_status (message);
  goffset start = 0, end = 0, total = -1;
  gint64 length = soup_message_headers_get_content_length (headers);

  *retry = FALSE;
  if (status == SOUP_STATUS_PARTIAL_CONTENT)
    {
      if (!soup_message_headers_get_content_range (headers, &start, &end, &total) ||
          start != t->n_bytes)
        {
          g_autofree char *from = format_bytes (t->n_bytes);
          const char *range = soup_message_headers_get_one (headers, "Content-Range");

          t->part_usable = FALSE;
          g_set_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_RANGE,
                       _("%s: asked for the bytes from %s on, the server sent “%s”; the next "
                         "try starts again from the beginning"),
                       t->url, from, range != NULL ? range : "");
          return FALSE;
        }
      t->total = total >= 0 ? total : (end >= start ? end + 1 : -1);
      return check_announced_size (t, error);
    }
  if (status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE && t->n_bytes > 0)
    {
      /* The part is as long as the file or longer: whatever it holds, start over. */
      *retry = TRUE;
      return transfer_restart (t, error);
    }
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      g_set_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_HTTP,
                   _("%s: the server answered %u %s"), t->url, status,
                   soup_message_get_reason_phrase (message));
      return FALSE;
    }
  /* A whole file (a server that ignores ranges answers 200): it replaces the part. */
  if (t->n_bytes > 0 && !transfer_restart (t, error))
    return FALSE;
  t->total = length > 0 ? length : -1;
  return check_announced_size (t, error);
}

/* Sends the request for the rest of the file and appends the answer to the part. */
static gboolean
fetch (Transfer      *t,
       SoupSession   *session,
       GCancellable  *cancellable,
       GError       **error)
{
  for (int attempt = 0; attempt < 2; attempt++)
    {
      g_autoptr(SoupMessage) message = soup_message_new ("GET", t->url);
      g_autoptr(GInputStream) in = NULL;
      g_autoptr(GFile) part = NULL;
      g_autoptr(GFileOutputStream) out = NULL;
      gboolean retry = FALSE, ok;

      if (t->n_bytes > 0)
        soup_message_headers_set_range (soup_message_get_request_headers (message), t->n_bytes,
                                        -1);
      in = soup_session_send (session, message, cancellable, error);
      if (in == NULL)
        return FALSE;
      if (!handle_status (t, message, &retry, error))
        return FALSE;
      if (retry)
        continue;

      transfer_report (t);
      part = g_file_new_for_path (t->part_path);
      /* Appending to the part itself (g_file_replace would write yet another temporary file,
       * which a failed transfer could leave behind). */
      out = g_file_append_to (part, G_FILE_CREATE_NONE, cancellable, error);
      if (out == NULL)
        return FALSE;
      ok = copy_response (t, in, G_OUTPUT_STREAM (out), cancellable, error);
      /* Closed even after a failure, so that what came is on disk for the next try. */
      if (!g_output_stream_close (G_OUTPUT_STREAM (out), NULL, ok ? error : NULL))
        return FALSE;
      if (!ok)
        return FALSE;
      if (t->total >= 0 && t->n_bytes < t->total)
        {
          g_autofree char *got = format_bytes (t->n_bytes);
          g_autofree char *want = format_bytes (t->total);

          g_set_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_SIZE,
                       _("The transfer of %s stopped after %s of %s bytes"), t->url, got, want);
          return FALSE;
        }
      return TRUE;
    }
  g_assert_not_reached ();
}

/* Hashes what an earlier try left in the part, or empties a part that cannot be right. */
static gboolean
transfer_resume (Transfer  *t,
                 GError   **error)
{
  gint64 limit = largest_allowed (t->expected_size, t->flags);

  if (!g_file_test (t->part_path, G_FILE_TEST_EXISTS))
    return TRUE;
  if (!hash_file (t->part_path, limit, t->checksum, &t->n_bytes, error))
    return FALSE;
  if (t->n_bytes > limit)
    return transfer_restart (t, error);
  return TRUE;
}

static gboolean
transfer_finish (Transfer     *t,
                 const char   *dest,
                 GCancellable *cancellable,
                 GError      **error)
{
  g_autoptr(GFile) part = g_file_new_for_path (t->part_path);
  g_autoptr(GFile) dest_file = g_file_new_for_path (dest);

  if (!check_size (t->n_bytes, t->expected_size, t->flags, t->url, error) ||
      !check_digest (t->checksum, t->sha256, t->url, error))
    {
      t->part_usable = FALSE;
      return FALSE;
    }
  /* Synced before the rename and the folder after it: a crash leaves the old file or the whole
   * new one, never an empty one under the final name. */
  return mien_output_sync_file (t->part_path, error) &&
         g_file_move (part, dest_file, G_FILE_COPY_OVERWRITE, cancellable, NULL, NULL, error) &&
         mien_output_sync_folder (dest, error);
}

gboolean
mien_download_file_full (const char         *url,
                         const char         *sha256,
                         gint64              expected_size,
                         MienDownloadFlags   flags,
                         const char         *dest,
                         MienProgressFunc    progress,
                         gpointer            progress_data,
                         GCancellable       *cancellable,
                         GError            **error)
{
  g_auto(Transfer) t = {
    .url = url, .sha256 = sha256, .expected_size = expected_size, .flags = flags,
    .checksum = g_checksum_new (G_CHECKSUM_SHA256), .total = -1, .last_report = -1,
    .progress = progress, .progress_data = progress_data, .part_usable = TRUE,
  };
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *dir = NULL;
  gboolean resumable = (flags & MIEN_DOWNLOAD_RESUMABLE) != 0;
  gboolean ok;

  g_return_val_if_fail (url != NULL && dest != NULL, FALSE);

  uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);
  if (uri == NULL || (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 &&
                      g_strcmp0 (g_uri_get_scheme (uri), "https") != 0))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("Not a web address: %s"),
                   url);
      return FALSE;
    }

  dir = g_path_get_dirname (dest);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    return mien_output_set_errno_error (error, errno, _("Could not create the folder %s"),
                                        dir);
  if (resumable)
    {
      t.part_path = mien_download_get_part_path (dest);
      if (!transfer_resume (&t, error))
        return FALSE;
    }
  else
    {
      /* Beside the destination, so that the final rename stays on one file system. */
      int fd;

      t.part_path = g_build_filename (dir, ".mien-download-XXXXXX", NULL);
      fd = g_mkstemp (t.part_path);
      if (fd < 0)
        return mien_output_set_errno_error (error, errno, _("Could not write in %s"), dir);
      close (fd);
    }

  /* A part that already holds the whole file (a crash between the last byte and the rename)
   * needs no request. */
  if (t.n_bytes > 0 && !(flags & MIEN_DOWNLOAD_SIZE_APPROXIMATE) && t.n_bytes == expected_size)
    ok = TRUE;
  else
    {
      session = soup_session_new ();
      soup_session_set_user_agent (session, "Mien/" PACKAGE_VERSION " ");
      ok = fetch (&t, session, cancellable, &local_error);
    }
  if (ok && transfer_finish (&t, dest, cancellable, &local_error))
    return TRUE;

  if (!resumable || !t.part_usable)
    g_unlink (t.part_path);
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

#else  /* !MIEN_HAVE_SOUP */

gboolean
mien_download_file_full (const char         *url,
                         const char         *sha256,
                         gint64              expected_size,
                         MienDownloadFlags   flags,
                         const char         *dest,
                         MienProgressFunc    progress,
                         gpointer            progress_data,
                         GCancellable       *cancellable,
                         GError            **error)
{
  g_set_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_UNSUPPORTED,
               _("This Mien was built without libsoup and cannot download; fetch %s by hand"),
               url);
  return FALSE;
}

#endif
