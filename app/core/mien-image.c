/* mien-image.c — decoding images into the pixels a network sees.
 *
 * Called from many decoding threads at once: everything here works on pixbufs it owns (or only
 * reads borrowed ones), and GdkPixbuf serialises the loaders that are not thread-safe itself.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "mien-image.h"

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

/* PIL's convert ("RGB") drops alpha without compositing; scaling an RGBA pixbuf would instead
 * weight colours by their alpha, so the channel goes before resizing. */
static GdkPixbuf *
drop_alpha (GdkPixbuf *pixbuf)
{
  int width = gdk_pixbuf_get_width (pixbuf);
  int height = gdk_pixbuf_get_height (pixbuf);
  int src_stride = gdk_pixbuf_get_rowstride (pixbuf);
  const guint8 *src = gdk_pixbuf_read_pixels (pixbuf);
  GdkPixbuf *rgb;
  guint8 *dst;
  int dst_stride;

  rgb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  if (rgb == NULL)
    return NULL;
  dst = gdk_pixbuf_get_pixels (rgb);
  dst_stride = gdk_pixbuf_get_rowstride (rgb);
  for (int y = 0; y < height; y++)
    {
      const guint8 *s = src + (gsize) y * src_stride;
      guint8 *d = dst + (gsize) y * dst_stride;

      for (int x = 0; x < width; x++, s += 4, d += 3)
        {
          d[0] = s[0];
          d[1] = s[1];
          d[2] = s[2];
        }
    }
  return rgb;
}

gboolean
mien_image_from_pixbuf (GdkPixbuf      *pixbuf,
                        int             size,
                        gboolean        grey,
                        guint8         *dest,
                        MienImageInfo  *info,
                        GError        **error)
{
  g_autoptr(GdkPixbuf) rgb = NULL;
  g_autoptr(GdkPixbuf) scaled = NULL;
  GdkPixbuf *src;
  const guint8 *pixels;
  gsize plane = (gsize) size * size;
  int width, height, stride, n_channels;

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

  src = pixbuf;
  if (n_channels == 4)
    {
      rgb = drop_alpha (pixbuf);
      if (rgb == NULL)
        goto oom;
      src = rgb;
    }
  if (width != size || height != size)
    {
      scaled = gdk_pixbuf_scale_simple (src, size, size, GDK_INTERP_BILINEAR);
      if (scaled == NULL)
        goto oom;
      src = scaled;
    }

  pixels = gdk_pixbuf_read_pixels (src);
  stride = gdk_pixbuf_get_rowstride (src);
  n_channels = gdk_pixbuf_get_n_channels (src);
  for (int y = 0; y < size; y++)
    {
      const guint8 *p = pixels + (gsize) y * stride;
      guint8 *r = dest + (gsize) y * size;
      guint8 *g = r + plane;
      guint8 *b = g + plane;

      if (grey)
        for (int x = 0; x < size; x++, p += n_channels)
          r[x] = g[x] = b[x] = mien_image_luminance (p[0], p[1], p[2]);
      else
        for (int x = 0; x < size; x++, p += n_channels)
          {
            r[x] = p[0];
            g[x] = p[1];
            b[x] = p[2];
          }
    }
  return TRUE;

oom:
  g_set_error (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY,
               _("Not enough memory to resize a %d × %d image"), width, height);
  return FALSE;
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
  g_autoptr(GdkPixbuf) loaded = NULL;
  g_autoptr(GdkPixbuf) oriented = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (size > 0, FALSE);
  g_return_val_if_fail (dest != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  loaded = gdk_pixbuf_new_from_file (path, &local_error);
  /* Some loaders fail without saying why. */
  if (loaded == NULL && local_error == NULL)
    g_set_error_literal (&local_error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_FAILED,
                         _("The image could not be decoded"));
  if (loaded != NULL)
    {
      /* Phones store portraits sideways with an EXIF orientation; faces must be upright. */
      oriented = gdk_pixbuf_apply_embedded_orientation (loaded);
      if (oriented == NULL)
        g_set_error_literal (&local_error, GDK_PIXBUF_ERROR,
                             GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY,
                             _("Not enough memory to rotate the image"));
    }
  if (oriented == NULL ||
      !mien_image_from_pixbuf (oriented, size, grey, dest, info, &local_error))
    {
      g_autofree char *name = g_filename_display_basename (path);

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
