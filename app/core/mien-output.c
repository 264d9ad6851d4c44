/* mien-output.c — output files written atomically. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mien-output.h"

struct _MienOutput
{
  char     *path;
  char     *tmp_path;  /* NULL once renamed */
  int       fd;        /* -1 once closed */
};

gboolean
mien_output_set_errno_error (GError     **error,
                             int          saved_errno,
                             const char  *format,
                             ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s: %s", what,
               g_strerror (saved_errno));
  return FALSE;
}

/* "a folder", "a FIFO", …: what a path that is not a regular file is. */
static const char *
describe_type (mode_t mode)
{
  if (S_ISDIR (mode))
    return _("a folder");
  if (S_ISFIFO (mode))
    return _("a FIFO");
  if (S_ISCHR (mode) || S_ISBLK (mode))
    return _("a device");
  if (S_ISSOCK (mode))
    return _("a socket");
  return _("not a regular file");
}

gboolean
mien_output_check (const char          *path,
                   const char * const  *inputs,
                   GError             **error)
{
  GStatBuf link_st, st;
  gboolean followed;

  g_return_val_if_fail (path != NULL, FALSE);

  if (*path == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_FILENAME, _("An empty output path"));
      return FALSE;
    }
  if (g_lstat (path, &link_st) != 0)
    {
      if (errno == ENOENT)
        return TRUE;  /* a new file; its folder is checked when the temporary file is made */
      return mien_output_set_errno_error (error, errno, _("Cannot write %s"), path);
    }
  /* A symlink is replaced, not followed; the file it points to is only compared with the
   * inputs below, so that a link to an input is refused all the same. */
  followed = S_ISLNK (link_st.st_mode) && g_stat (path, &st) == 0;
  if (!S_ISLNK (link_st.st_mode))
    {
      st = link_st;
      followed = TRUE;
      if (!S_ISREG (st.st_mode))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                       _("Refusing to write %s: it is %s, not a regular file"), path,
                       describe_type (st.st_mode));
          return FALSE;
        }
    }

  for (guint i = 0; inputs != NULL && inputs[i] != NULL; i++)
    {
      GStatBuf in_link, in;
      gboolean same;

      /* The input itself (as a hard link or through symlinks), or the input's own symlink. */
      same = followed && g_stat (inputs[i], &in) == 0 && in.st_dev == st.st_dev &&
             in.st_ino == st.st_ino;
      same = same || (g_lstat (inputs[i], &in_link) == 0 && in_link.st_dev == link_st.st_dev &&
                      in_link.st_ino == link_st.st_ino);
      if (same)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("Refusing to write %s: it is the input %s"), path, inputs[i]);
          return FALSE;
        }
    }
  return TRUE;
}

MienOutput *
mien_output_new (const char          *path,
                 const char * const  *inputs,
                 GError             **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *template = NULL;
  GStatBuf st;
  mode_t mode = 0644;
  MienOutput *self;
  int fd;

  if (!mien_output_check (path, inputs, error))
    return NULL;

  dir = g_path_get_dirname (path);
  base = g_path_get_basename (path);
  /* Hidden and beside the target, so that the rename stays on one file system. */
  template = g_strdup_printf ("%s%c.%s.XXXXXX", dir, G_DIR_SEPARATOR, base);
  fd = g_mkstemp_full (template, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      mien_output_set_errno_error (error, errno, _("Cannot write %s: cannot create a file in %s"),
                                   path, dir);
      return NULL;
    }
  /* A replaced file keeps its permissions; a new one gets what g_file_set_contents () gives. */
  if (g_stat (path, &st) == 0 && S_ISREG (st.st_mode))
    mode = st.st_mode & 0777;
  if (fchmod (fd, mode) != 0)
    {
      int saved = errno;

      close (fd);
      g_unlink (template);
      mien_output_set_errno_error (error, saved, _("Cannot write %s"), path);
      return NULL;
    }

  self = g_new0 (MienOutput, 1);
  self->path = g_strdup (path);
  self->tmp_path = g_steal_pointer (&template);
  self->fd = fd;
  return self;
}

gboolean
mien_output_write (MienOutput  *self,
                   const void  *data,
                   gsize        size,
                   GError     **error)
{
  const char *p = data;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (self->fd >= 0, FALSE);

  while (size > 0)
    {
      gssize n = write (self->fd, p, size);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return mien_output_set_errno_error (error, errno, _("Cannot write %s"), self->path);
      p += n;
      size -= (gsize) n;
    }
  return TRUE;
}

/* fsync () of a file or a folder. Some file systems cannot sync a folder (EINVAL): a rename is
 * then as durable as they make it. */
static gboolean
sync_path (const char  *path,
           gboolean     folder,
           GError     **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | (folder ? O_DIRECTORY : 0));
  int saved;

  if (fd >= 0 && (fsync (fd) == 0 || errno == EINVAL))
    {
      close (fd);
      return TRUE;
    }
  saved = errno;
  if (fd >= 0)
    close (fd);
  if (folder)
    return mien_output_set_errno_error (error, saved, _("Cannot sync the folder %s"), path);
  return mien_output_set_errno_error (error, saved, _("Cannot sync %s"), path);
}

gboolean
mien_output_sync_file (const char  *path,
                       GError     **error)
{
  /* Linux syncs the file, not the descriptor: one opened for reading does. */
  return sync_path (path, FALSE, error);
}

gboolean
mien_output_sync_folder (const char  *path,
                         GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  return sync_path (dir, TRUE, error);
}

/* Syncs and closes the temporary file: what both commits do before it takes the target's name. */
static gboolean
close_synced (MienOutput  *self,
              GError     **error)
{
  int fd;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (self->fd >= 0 && self->tmp_path != NULL, FALSE);

  fd = self->fd;
  self->fd = -1;
  /* A full disk may only show here (delayed allocation) or at close. */
  if (fsync (fd) != 0)
    {
      int saved = errno;

      close (fd);
      return mien_output_set_errno_error (error, saved, _("Cannot write %s"), self->path);
    }
  if (close (fd) != 0)
    return mien_output_set_errno_error (error, errno, _("Cannot write %s"), self->path);
  return TRUE;
}

gboolean
mien_output_commit (MienOutput  *self,
                    GError     **error)
{
  if (!close_synced (self, error))
    return FALSE;
  if (g_rename (self->tmp_path, self->path) != 0)
    return mien_output_set_errno_error (error, errno, _("Cannot replace %s"), self->path);
  g_clear_pointer (&self->tmp_path, g_free);
  return mien_output_sync_folder (self->path, error);
}

gboolean
mien_output_commit_new (MienOutput  *self,
                        GError     **error)
{
  if (!close_synced (self, error))
    return FALSE;
  /* link () fails when the name exists, where rename () would replace the file there. */
  if (link (self->tmp_path, self->path) != 0)
    return mien_output_set_errno_error (error, errno, _("Cannot write %s"), self->path);
  g_unlink (self->tmp_path);
  g_clear_pointer (&self->tmp_path, g_free);
  return mien_output_sync_folder (self->path, error);
}

void
mien_output_free (MienOutput *self)
{
  if (self == NULL)
    return;
  if (self->fd >= 0)
    close (self->fd);
  if (self->tmp_path != NULL)
    g_unlink (self->tmp_path);
  g_free (self->tmp_path);
  g_free (self->path);
  g_free (self);
}

gboolean
mien_output_set_contents (const char          *path,
                          const char * const  *inputs,
                          const void          *data,
                          gsize                size,
                          GError             **error)
{
  g_autoptr(MienOutput) output = mien_output_new (path, inputs, error);

  return output != NULL && mien_output_write (output, data, size, error) &&
         mien_output_commit (output, error);
}
