/* mien-input.c — opening files a user named without hanging on them or reading them whole. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gi18n-lib.h>

#include "mien-input.h"

static const char *
file_kind (mode_t mode)
{
  if (S_ISDIR (mode))
    return _("a folder");
  if (S_ISFIFO (mode))
    return _("a FIFO (named pipe)");
  if (S_ISCHR (mode))
    return _("a character device");
  if (S_ISBLK (mode))
    return _("a block device");
  if (S_ISSOCK (mode))
    return _("a socket");
  return _("an unknown kind of file");
}

int
mien_input_open (const char  *path,
                 goffset      max_bytes,
                 goffset     *size,
                 GError     **error)
{
  g_autofree char *name = NULL;
  struct stat st;
  int fd;
  int saved_errno;

  g_return_val_if_fail (path != NULL, -1);
  g_return_val_if_fail (max_bytes >= 0, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  /* O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever; regular files
   * ignore the flag. */
  do
    fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  while (fd < 0 && errno == EINTR);
  saved_errno = errno;
  name = g_filename_display_name (path);
  if (fd < 0)
    {
      if (saved_errno == ELOOP)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_LINKS,
                     _("%s: too many levels of symbolic links (a symlink loop?)"),
                     name);
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                     _("%s: cannot open: %s"), name, g_strerror (saved_errno));
      return -1;
    }

  if (fstat (fd, &st) != 0)
    {
      saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("%s: cannot read: %s"), name, g_strerror (saved_errno));
      close (fd);
      return -1;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR,
                   S_ISDIR (st.st_mode) ? G_IO_ERROR_IS_DIRECTORY
                                        : G_IO_ERROR_NOT_REGULAR_FILE,
                   _("%s: %s, not a regular file"), name, file_kind (st.st_mode));
      close (fd);
      return -1;
    }
  if (max_bytes > 0 && st.st_size > max_bytes)
    {
      g_autofree char *actual = g_format_size ((guint64) st.st_size);
      g_autofree char *limit = g_format_size ((guint64) max_bytes);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("%s: too large (%s; at most %s is read)"), name, actual, limit);
      close (fd);
      return -1;
    }

  if (size != NULL)
    *size = st.st_size;
  return fd;
}

gssize
mien_input_read (int       fd,
                 void     *buffer,
                 gsize     size,
                 GError  **error)
{
  gssize n;

  do
    n = read (fd, buffer, size);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("cannot read: %s"), g_strerror (saved_errno));
    }
  return n;
}

gboolean
mien_input_read_all (const char  *path,
                     goffset      max_bytes,
                     char       **contents,
                     gsize       *length,
                     GError     **error)
{
  g_autoptr(GByteArray) bytes = NULL;
  goffset size = 0;
  int fd;

  g_return_val_if_fail (contents != NULL, FALSE);
  g_return_val_if_fail (max_bytes > 0, FALSE);

  fd = mien_input_open (path, max_bytes, &size, error);
  if (fd < 0)
    return FALSE;

  bytes = g_byte_array_sized_new ((guint) size + 1);
  for (;;)
    {
      guint8 chunk[16384];
      gssize n = mien_input_read (fd, chunk, sizeof chunk, error);

      if (n < 0)
        {
          g_autofree char *name = g_filename_display_name (path);

          g_prefix_error (error, "%s: ", name);
          close (fd);
          return FALSE;
        }
      if (n == 0)
        break;
      /* The size checked at open () may have grown since. */
      if ((goffset) bytes->len + n > max_bytes)
        {
          g_autofree char *name = g_filename_display_name (path);
          g_autofree char *limit = g_format_size ((guint64) max_bytes);

          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       _("%s: too large (more than %s)"), name, limit);
          close (fd);
          return FALSE;
        }
      g_byte_array_append (bytes, chunk, (guint) n);
    }
  close (fd);

  if (length != NULL)
    *length = bytes->len;
  g_byte_array_append (bytes, (const guint8 *) "", 1);
  *contents = (char *) g_byte_array_free (g_steal_pointer (&bytes), FALSE);
  return TRUE;
}

gboolean
mien_input_check_regular (const char  *path,
                          GError     **error)
{
  int fd = mien_input_open (path, 0, NULL, error);

  if (fd < 0)
    return FALSE;
  close (fd);
  return TRUE;
}
