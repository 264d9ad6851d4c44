/* mien-output.h — output files (`--csv`, chart and table exports), written atomically.
 *
 * An output is written to a temporary file in its target's folder, synced and renamed over the
 * target, and the folder is synced: a reader sees the old file or the whole new one, never a
 * part. A failed or abandoned output removes its temporary file and leaves the old one intact.
 *
 * Refused targets: an existing path that is not a regular file (a folder, a FIFO — never
 * opened, so it cannot block —, a device such as /dev/full, a socket), and a path that is one
 * of the command's inputs (the same file through any symlink or hard link). A symlink at the
 * target is itself replaced by the new file: the file it pointed to is left untouched.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _MienOutput MienOutput;

/* Checks that `path` may be written as an output of a command reading `inputs` (NULL-terminated,
 * may be NULL; paths that do not exist are ignored), without touching anything. */
gboolean    mien_output_check        (const char          *path,
                                      const char * const  *inputs,
                                      GError             **error);
/* Checks `path` (mien_output_check ()) and creates its temporary file. */
MienOutput *mien_output_new          (const char          *path,
                                      const char * const  *inputs,
                                      GError             **error);
gboolean    mien_output_write        (MienOutput          *self,
                                      const void          *data,
                                      gsize                size,
                                      GError             **error);
/* Syncs the temporary file and renames it over the target; after this (successful or not)
 * only mien_output_free () may be called. */
gboolean    mien_output_commit       (MienOutput          *self,
                                      GError             **error);
/* As mien_output_commit (), but the file only takes the target's name when nothing is there
 * (G_IO_ERROR_EXISTS otherwise, the temporary file then removed by mien_output_free ()): for
 * files that must never replace another, such as captured crops, even when another process
 * writes the same name in between. */
gboolean    mien_output_commit_new   (MienOutput          *self,
                                      GError             **error);
/* Abandons the output unless it was committed: the temporary file is removed. */
void        mien_output_free         (MienOutput          *self);
/* The whole output at once: new, write, commit. */
gboolean    mien_output_set_contents (const char          *path,
                                      const char * const  *inputs,
                                      const void          *data,
                                      gsize                size,
                                      GError             **error);
/* Syncs the data of the file at `path`, written through another descriptor (a GIO stream), so
 * that renaming it over a target cannot leave an empty file after a crash. */
gboolean    mien_output_sync_file    (const char          *path,
                                      GError             **error);
/* Syncs the folder holding `path`, so that a rename into it survives a crash. */
gboolean    mien_output_sync_folder  (const char          *path,
                                      GError             **error);
/* Sets "FORMAT: strerror (saved_errno)" in G_IO_ERROR (the code from the errno); returns FALSE. */
gboolean    mien_output_set_errno_error (GError           **error,
                                         int                saved_errno,
                                         const char        *format,
                                         ...) G_GNUC_PRINTF (3, 4);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienOutput, mien_output_free)

G_END_DECLS
