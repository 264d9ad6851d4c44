/* mien-image.c — decoding images into the pixels a network sees.
 *
 * Called from many decoding threads at once: everything here works on pixbufs it owns (or only
 * reads borrowed ones), and GdkPixbuf serialises the loaders that are not thread-safe itself.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gi18n-lib.h>

#include "mien-image.h"
#include "mien-input.h"

static gboolean
pixbuf_is_grey (GdkPixbuf *pixbuf)
{
  int width = gdk_pixbuf_get_width (pixbuf);
  int height = gdk_pixbuf_get_height (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  int n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  const guint8 *pixels = gdk_pixbuf_read_pixels (pixbuf);

  for (int y = 0; y < height; y++)
    {
      const guint8 *p = pixels + (gsize) y * stride;

      for (int x = 0; x < width; x++, p += n_channels)
        if (p[0] != p[1] || p[1] != p[2])
          return FALSE;
    }
  return TRUE;
}

static void
set_resize_error (GError **error,
                  int      width,
                  int      height)
{
  g_set_error (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY,
               _("Not enough memory to resize a %d × %d image"), width, height);
}

/* The pixels in planar order, [3, H, W], or [1, H, W] of luminance with `grey`. Alpha is
 * dropped without compositing, as PIL's convert ("RGB") does. */
static void
pixbuf_to_planes (GdkPixbuf *pixbuf,
                  gboolean   grey,
                  guint8    *dest)
{
  int width = gdk_pixbuf_get_width (pixbuf);
  int height = gdk_pixbuf_get_height (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  int n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  const guint8 *pixels = gdk_pixbuf_read_pixels (pixbuf);
  gsize plane = (gsize) width * height;

  for (int y = 0; y < height; y++)
    {
      const guint8 *p = pixels + (gsize) y * stride;
      guint8 *r = dest + (gsize) y * width;
      guint8 *g = r + plane;
      guint8 *b = g + plane;

      if (grey)
        for (int x = 0; x < width; x++, p += n_channels)
          r[x] = mien_image_luminance (p[0], p[1], p[2]);
      else
        for (int x = 0; x < width; x++, p += n_channels)
          {
            r[x] = p[0];
            g[x] = p[1];
            b[x] = p[2];
          }
    }
}

gboolean
mien_image_from_pixbuf (GdkPixbuf      *pixbuf,
                        int             size,
                        gboolean        grey,
                        guint8         *dest,
                        MienImageInfo  *info,
                        GError        **error)
{
  g_autofree guint8 *planes = NULL;
  g_autoptr(MienTensor) image = NULL;
  g_autoptr(MienTensor) resized = NULL;
  gsize plane = (gsize) size * size;
  gint64 shape[3];
  int width, height, n_channels, n_planes;

  g_return_val_if_fail (GDK_IS_PIXBUF (pixbuf), FALSE);
  g_return_val_if_fail (size > 0, FALSE);
  g_return_val_if_fail (dest != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  width = gdk_pixbuf_get_width (pixbuf);
  height = gdk_pixbuf_get_height (pixbuf);
  n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  if (gdk_pixbuf_get_colorspace (pixbuf) != GDK_COLORSPACE_RGB ||
      gdk_pixbuf_get_bits_per_sample (pixbuf) != 8 ||
      (n_channels != 3 && n_channels != 4) ||
      (n_channels == 4) != gdk_pixbuf_get_has_alpha (pixbuf) ||
      width <= 0 || height <= 0)
    {
      g_set_error (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_UNKNOWN_TYPE,
                   _("Unsupported pixel layout (%d channels, %d bits)"),
                   n_channels, gdk_pixbuf_get_bits_per_sample (pixbuf));
      return FALSE;
    }

  if (info != NULL)
    {
      info->width = width;
      info->height = height;
      info->is_grey = pixbuf_is_grey (pixbuf);
    }

  /* Grey models see luminance resized, as Python's Image.convert ("L") followed by the resize:
   * one plane to resize instead of three. */
  n_planes = grey ? 1 : 3;
  planes = g_try_malloc ((gsize) width * height * n_planes);
  if (planes == NULL)
    {
      set_resize_error (error, width, height);
      return FALSE;
    }
  pixbuf_to_planes (pixbuf, grey, planes);

  /* The resize is torchvision's own (see mien_tensor_resize_image ()), so that a Python user
   * who resizes the same decoded pixels with torchvision gets the same input. */
  shape[0] = n_planes;
  shape[1] = height;
  shape[2] = width;
  image = mien_tensor_new_from_data (planes, MIEN_DTYPE_UINT8, shape, 3, error);
  g_clear_pointer (&planes, g_free);
  if (image == NULL ||
      (resized = mien_tensor_resize_image (image, size, size, error)) == NULL ||
      !mien_tensor_to_host (resized, dest, plane * n_planes, error))
    return FALSE;
  if (grey)
    {
      memcpy (dest + plane, dest, plane);
      memcpy (dest + 2 * plane, dest, plane);
    }
  return TRUE;
}

static gboolean
image_size_allowed (int width,
                    int height)
{
  return width > 0 && height > 0 &&
         width <= MIEN_IMAGE_MAX_SIDE && height <= MIEN_IMAGE_MAX_SIDE &&
         (gint64) width * height <= MIEN_IMAGE_MAX_PIXELS;
}

typedef struct {
  int width;
  int height;
  gboolean seen;
} HeaderSize;

static void
on_size_prepared (GdkPixbufLoader *loader,
                  int              width,
                  int              height,
                  gpointer         user_data)
{
  HeaderSize *header = user_data;

  header->width = width;
  header->height = height;
  header->seen = TRUE;
  /* A zero size makes every loader stop before it allocates the pixels (it is how
   * gdk_pixbuf_get_file_info () reads only the header). */
  gdk_pixbuf_loader_set_size (loader, 0, 0);
}

static void
set_too_large_error (GError **error,
                     int      width,
                     int      height)
{
  g_set_error (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY,
               _("The image is too large (%d × %d; at most %d pixels a side and %d megapixels)"),
               width, height, MIEN_IMAGE_MAX_SIDE,
               (int) (MIEN_IMAGE_MAX_PIXELS / 1000000));
}

/* Reads the open file in small pieces until its header gives the image's size, which is then
 * checked, or until it ends. An unknown format or a broken header fails here. */
static gboolean
check_header (int       fd,
              GError  **error)
{
  g_autoptr(GdkPixbufLoader) loader = gdk_pixbuf_loader_new ();
  g_autoptr(GError) local_error = NULL;
  HeaderSize header = { 0, 0, FALSE };
  guint8 chunk[4096];
  goffset total = 0;
  gboolean closed;

  g_signal_connect (loader, "size-prepared", G_CALLBACK (on_size_prepared), &header);
  while (!header.seen && local_error == NULL)
    {
      gssize n = mien_input_read (fd, chunk, sizeof chunk, &local_error);

      if (n <= 0)
        break;
      /* The file may have grown since it was opened. */
      total += n;
      if (total > MIEN_IMAGE_MAX_BYTES)
        {
          g_set_error_literal (&local_error, G_IO_ERROR, G_IO_ERROR_FAILED,
                               _("the file grew past the size limit while it was read"));
          break;
        }
      gdk_pixbuf_loader_write (loader, chunk, (gsize) n, &local_error);
    }
  /* A small file may sit in the loader's buffer until it is closed, which is when its header is
   * read; a loader must be closed in any case. */
  closed = gdk_pixbuf_loader_close (loader, local_error == NULL ? &local_error : NULL);
  if (header.seen)
    {
      /* The zero size stopped the loader with an error of its own. */
      g_clear_error (&local_error);
      if (!image_size_allowed (header.width, header.height))
        {
          set_too_large_error (error, header.width, header.height);
          return FALSE;
        }
      return TRUE;
    }

  /* The file failed or ended before its size was known: an unknown format or a broken header,
   * unless the format gives its size only with its pixels. */
  if (!closed && local_error == NULL)
    /* Some loaders fail without saying why (fault 4 of issue 12). */
    g_set_error_literal (&local_error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_CORRUPT_IMAGE,
                         _("The image could not be decoded"));
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return TRUE;
}

/* GdkPixbuf words its errors "Failed to load image “FD_PATH”: reason"; the caller names the
 * real file, so only the reason is kept. */
static GError *
drop_fd_path (GError     *error,
              const char *fd_path)
{
  const char *at = strstr (error->message, fd_path);
  const char *reason = at != NULL ? strstr (at + strlen (fd_path), ": ") : NULL;

  if (reason != NULL && reason[2] != '\0')
    {
      char *message = g_strdup (reason + 2);

      g_free (error->message);
      error->message = message;
    }
  return error;
}

static GdkPixbuf *
load_from_fd (int      fd,
              GError **error)
{
  g_autoptr(GdkPixbuf) loaded = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *fd_path = NULL;
  GdkPixbuf *pixbuf;

  if (!check_header (fd, error))
    return NULL;

  /* The decoding itself is GdkPixbuf's whole-file one, stricter than its incremental loader,
   * which takes a truncated PNG as a partly blank image. It reads the very file checked above
   * (a regular file, so nothing blocks) through its descriptor, whatever became of the path. */
  fd_path = g_strdup_printf ("/proc/self/fd/%d", fd);
  loaded = gdk_pixbuf_new_from_file (fd_path, &local_error);
  if (loaded == NULL)
    {
      /* Some loaders fail without saying why (fault 4 of issue 12). */
      if (local_error == NULL)
        g_set_error_literal (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_CORRUPT_IMAGE,
                             _("The image could not be decoded"));
      else
        g_propagate_error (error, drop_fd_path (g_steal_pointer (&local_error), fd_path));
      return NULL;
    }
  /* Formats that give their size only with their pixels were not checked before decoding. */
  if (!image_size_allowed (gdk_pixbuf_get_width (loaded), gdk_pixbuf_get_height (loaded)))
    {
      set_too_large_error (error, gdk_pixbuf_get_width (loaded), gdk_pixbuf_get_height (loaded));
      return NULL;
    }

  /* Phones store portraits sideways with an EXIF orientation; faces must be upright. */
  pixbuf = gdk_pixbuf_apply_embedded_orientation (loaded);
  if (pixbuf == NULL)
    g_set_error_literal (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY,
                         _("Not enough memory to rotate the image"));
  return pixbuf;
}

static GdkPixbuf *
load (const char  *path,
      int          max_side,
      GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  GdkPixbuf *pixbuf;
  goffset size = 0;
  int fd;

  /* mien_input_open ()'s errors already name the file. */
  fd = mien_input_open (path, MIEN_IMAGE_MAX_BYTES, &size, error);
  if (fd < 0)
    return NULL;

  if (size == 0)
    g_set_error_literal (&local_error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_CORRUPT_IMAGE,
                         _("The file is empty"));
  pixbuf = size == 0 ? NULL : load_from_fd (fd, &local_error);
  close (fd);
  if (pixbuf != NULL && max_side > 0)
    {
      g_autoptr(GdkPixbuf) full = pixbuf;
      int width = gdk_pixbuf_get_width (full);
      int height = gdk_pixbuf_get_height (full);
      double scale = (double) max_side / MAX (width, height);

      pixbuf = gdk_pixbuf_scale_simple (full, MAX (1, (int) round (width * scale)),
                                        MAX (1, (int) round (height * scale)),
                                        GDK_INTERP_BILINEAR);
      if (pixbuf == NULL)
        set_resize_error (&local_error, width, height);
    }
  if (pixbuf == NULL)
    {
      g_autofree char *name = g_filename_display_name (path);

      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", name);
    }
  return pixbuf;
}

GdkPixbuf *
mien_image_load (const char  *path,
                 GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return load (path, 0, error);
}

GdkPixbuf *
mien_image_load_thumbnail (const char  *path,
                           int          max_side,
                           GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (max_side > 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return load (path, max_side, error);
}

gboolean
mien_image_decode (const char     *path,
                   int             size,
                   gboolean        grey,
                   guint8         *dest,
                   MienImageInfo  *info,
                   GError        **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (size > 0, FALSE);
  g_return_val_if_fail (dest != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  pixbuf = mien_image_load (path, error);
  if (pixbuf == NULL)
    return FALSE;
  if (!mien_image_from_pixbuf (pixbuf, size, grey, dest, info, &local_error))
    {
      g_autofree char *name = g_filename_display_name (path);

      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", name);
      return FALSE;
    }
  return TRUE;
}

MienTensor *
mien_image_batch_tensor (const guint8   *pixels,
                         guint           n,
                         int             size,
                         GError        **error)
{
  gint64 shape[4] = { n, 3, size, size };

  g_return_val_if_fail (pixels != NULL || n == 0, NULL);
  g_return_val_if_fail (size > 0, NULL);

  return mien_tensor_new_from_data (pixels, MIEN_DTYPE_UINT8, shape, 4, error);
}
