/* mien-download.h — fetching a file over HTTP(S) so that only a whole, checked file ever sits
 * at its destination.
 *
 * One home for every download Mien makes (YuNet's model file, pretrained weights). The bytes go
 * to a file beside the destination, are counted and hashed as they come, and only a transfer of
 * the expected size and SHA-256 is renamed into place (after an fsync; the folder is synced
 * after the rename). A resumable download keeps its bytes in DEST.part when it is interrupted
 * (cancelled, connection lost, truncated) and continues from there the next time with an HTTP
 * `Range: bytes=N-` request: a 206 answer must start exactly at N, a 200 answer (a server that
 * ignores ranges) starts the file again from its first byte, a 416 answer discards the part.
 * A part whose bytes cannot be right (wrong size or hash, a server that sent another range) is
 * deleted, so that the next try starts afresh.
 */
#pragma once

#include <gio/gio.h>

#include "mien-core.h"

G_BEGIN_DECLS

#define MIEN_DOWNLOAD_ERROR (mien_download_error_quark ())
GQuark mien_download_error_quark (void);

typedef enum {
  MIEN_DOWNLOAD_ERROR_UNSUPPORTED,  /* built without libsoup */
  MIEN_DOWNLOAD_ERROR_HTTP,         /* the server answered with an error status */
  MIEN_DOWNLOAD_ERROR_SIZE,         /* more or fewer bytes than expected */
  MIEN_DOWNLOAD_ERROR_CHECKSUM,     /* the SHA-256 differs */
  MIEN_DOWNLOAD_ERROR_RANGE,        /* a 206 answer for other bytes than the ones asked for */
} MienDownloadError;

typedef enum {
  MIEN_DOWNLOAD_NONE             = 0,
  /* Keep DEST.part after an interruption and continue from it. Without it the bytes go to a
   * uniquely named temporary file that is removed on any failure. */
  MIEN_DOWNLOAD_RESUMABLE        = 1 << 0,
  /* `expected_size` is a published approximation (e.g. torchvision's size in MiB with three
   * decimals): the file may differ by up to 1 %, and the server's Content-Length decides. */
  MIEN_DOWNLOAD_SIZE_APPROXIMATE = 1 << 1,
} MienDownloadFlags;

/* Whether `digest` (64 lower- or upper-case hex digits) matches `expected`: the full SHA-256, or
 * a prefix of at least 8 hex digits (torch.hub's check_hash: the digits in a torchvision file
 * name). */
gboolean  mien_download_digest_matches (const char  *digest,
                                        const char  *expected);

/* Whether `path` holds `expected_size` bytes (< 0: any size; within 1 % with
 * MIEN_DOWNLOAD_SIZE_APPROXIMATE) whose SHA-256 matches `sha256` (full or prefix; NULL: not
 * checked). */
gboolean  mien_download_verify_file    (const char         *path,
                                        const char         *sha256,
                                        gint64              expected_size,
                                        MienDownloadFlags   flags,
                                        GError            **error);

/* DEST.part: where a resumable download of `dest` keeps its bytes. */
char     *mien_download_get_part_path  (const char         *dest);

/* Fetches `url` (http or https; redirections followed) into `dest` (folders are created), as
 * described above. `sha256` may be NULL (no hash to check: the caller says so to its user).
 * On any failure, cancellation included, `dest` is left as it was. `progress` (may be NULL) is
 * called on the calling thread with the fraction done, bytes kept from an earlier try included
 * (-1, after every chunk, when the size is unknown), at most once per percent. Blocking: call it from a worker
 * thread or a command-line tool. */
gboolean  mien_download_file_full      (const char         *url,
                                        const char         *sha256,
                                        gint64              expected_size,
                                        MienDownloadFlags   flags,
                                        const char         *dest,
                                        MienProgressFunc    progress,
                                        gpointer            progress_data,
                                        GCancellable       *cancellable,
                                        GError            **error);

/* mien_download_file_full () with MIEN_DOWNLOAD_NONE and a required `sha256`. */
gboolean  mien_download_file           (const char         *url,
                                        const char         *sha256,
                                        gint64              expected_size,
                                        const char         *dest,
                                        MienProgressFunc    progress,
                                        gpointer            progress_data,
                                        GCancellable       *cancellable,
                                        GError            **error);

G_END_DECLS
