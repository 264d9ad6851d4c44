/* mien-input.h — opening files a user named without hanging on them or reading them whole.
 *
 * A path from the command line, a CSV manifest or a dataset folder may name a FIFO (open ()
 * blocks until a writer comes), a device (/dev/zero never ends), a directory or a symlink loop.
 * These functions open with O_NONBLOCK, accept only regular files and bound how much they read,
 * so bad input fails at once with an error naming the path and what it is.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Opens `path` read-only (O_NONBLOCK | O_CLOEXEC; symlinks are followed, a loop is an error).
 * Anything but a regular file, or one over `max_bytes` (0: no limit), is refused with a
 * G_IO_ERROR whose message is "PATH: reason". Returns the descriptor, or -1 with `error` set; `size` (may be
 * NULL) gets the file's size. */
int       mien_input_open     (const char  *path,
                               goffset      max_bytes,
                               goffset     *size,
                               GError     **error);

/* Whether `path` is a regular file that can be opened for reading, as mien_input_open ()
 * checks it (with its G_IO_ERROR "PATH: reason" when not), for a reader that opens it later
 * itself (GStreamer). */
gboolean  mien_input_check_regular (const char  *path,
                                    GError     **error);
/* read () retried when interrupted: the number of bytes read (0 at the end), or -1 with a
 * G_IO_ERROR "cannot read: …" that the caller prefixes with the file's name. */
gssize    mien_input_read     (int          fd,
                               void        *buffer,
                               gsize        size,
                               GError     **error);

/* Reads all of the regular file `path`, refusing one over `max_bytes`; the contents end with a
 * NUL that `length` does not count. A file that grows while it is read is refused too. */
gboolean  mien_input_read_all (const char  *path,
                               goffset      max_bytes,
                               char       **contents,
                               gsize       *length,
                               GError     **error);

G_END_DECLS
