/* mien-face-align.c — the square around a detected face, turned upright, for a classifier. */
#include "config.h"

#include <math.h>

#include "mien-face-align.h"
#include "mien-image.h"

void
mien_face_align_geometry (const MienFace             *face,
                          const MienFaceAlignOptions *options,
                          double                     *centre_x,
                          double                     *centre_y,
                          double                     *side,
                          double                     *angle)
{
  static const MienFaceAlignOptions defaults = MIEN_FACE_ALIGN_OPTIONS_INIT;
  double turn = 0;

  g_return_if_fail (face != NULL);

  if (options == NULL)
    options = &defaults;
  if (face->has_landmarks && options->rotate)
    {
      const float *right = face->landmarks[MIEN_FACE_LANDMARK_RIGHT_EYE];
      const float *left = face->landmarks[MIEN_FACE_LANDMARK_LEFT_EYE];
      double dx = (double) left[0] - right[0];
      double dy = (double) left[1] - right[1];

      /* Both eyes on one point (a broken detection) say nothing about the angle. */
      if (dx != 0 || dy != 0)
        turn = atan2 (dy, dx);
    }

  if (centre_x != NULL)
    *centre_x = face->x + face->width / 2.0;
  if (centre_y != NULL)
    *centre_y = face->y + face->height / 2.0;
  if (side != NULL)
    *side = MAX (face->width, face->height) * (1 + 2 * options->margin);
  if (angle != NULL)
    *angle = turn;
}

/* One channel-interleaved sample at (x, y), already shifted so that pixel centres are integers;
 * the four neighbours clamped to the frame. */
static void
sample (const guint8 *pixels,
        int           width,
        int           height,
        int           stride,
        int           n_channels,
        double        x,
        double        y,
        guint8       *out)
{
  double fx = floor (x);
  double fy = floor (y);
  double tx = x - fx;
  double ty = y - fy;
  /* Clamped in double first: a point far outside the frame must not overflow an int. */
  int x0 = (int) CLAMP (fx, 0, width - 1);
  int x1 = (int) CLAMP (fx + 1, 0, width - 1);
  int y0 = (int) CLAMP (fy, 0, height - 1);
  int y1 = (int) CLAMP (fy + 1, 0, height - 1);
  const guint8 *row0 = pixels + (gsize) y0 * stride;
  const guint8 *row1 = pixels + (gsize) y1 * stride;

  for (int c = 0; c < 3; c++)
    {
      double top = row0[x0 * n_channels + c] * (1 - tx) + row0[x1 * n_channels + c] * tx;
      double bottom = row1[x0 * n_channels + c] * (1 - tx) + row1[x1 * n_channels + c] * tx;
      double v = top * (1 - ty) + bottom * ty;

      out[c] = (guint8) CLAMP (floor (v + 0.5), 0, 255);
    }
}

GdkPixbuf *
mien_face_align (GdkPixbuf                  *frame,
                 const MienFace             *face,
                 const MienFaceAlignOptions *options,
                 int                         size,
                 gboolean                    grey)
{
  g_autoptr(GdkPixbuf) crop = NULL;
  const guint8 *src;
  guint8 *dst;
  int width, height, src_stride, dst_stride, n_channels;
  double cx, cy, side, angle, scale, c, s;

  g_return_val_if_fail (GDK_IS_PIXBUF (frame), NULL);
  g_return_val_if_fail (gdk_pixbuf_get_colorspace (frame) == GDK_COLORSPACE_RGB, NULL);
  g_return_val_if_fail (gdk_pixbuf_get_bits_per_sample (frame) == 8, NULL);
  g_return_val_if_fail (gdk_pixbuf_get_n_channels (frame) == 3 ||
                        gdk_pixbuf_get_n_channels (frame) == 4, NULL);
  g_return_val_if_fail (face != NULL, NULL);
  g_return_val_if_fail (size > 0, NULL);

  width = gdk_pixbuf_get_width (frame);
  height = gdk_pixbuf_get_height (frame);
  src_stride = gdk_pixbuf_get_rowstride (frame);
  n_channels = gdk_pixbuf_get_n_channels (frame);
  src = gdk_pixbuf_read_pixels (frame);

  crop = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, size, size);
  if (crop == NULL)
    return NULL;
  dst = gdk_pixbuf_get_pixels (crop);
  dst_stride = gdk_pixbuf_get_rowstride (crop);

  mien_face_align_geometry (face, options, &cx, &cy, &side, &angle);
  scale = side / size;
  c = cos (angle);
  s = sin (angle);
  for (int v = 0; v < size; v++)
    {
      guint8 *d = dst + (gsize) v * dst_stride;
      /* The crop's own coordinates, from its centre, of this row's pixel centres. */
      double dy = (v + 0.5) * scale - side / 2;

      for (int u = 0; u < size; u++, d += 3)
        {
          double dx = (u + 0.5) * scale - side / 2;
          /* The crop's x axis runs along the eye line: rotate by +angle into the frame, then
           * step back half a pixel to index the frame by pixel centres. */
          double x = cx + c * dx - s * dy - 0.5;
          double y = cy + s * dx + c * dy - 0.5;

          sample (src, width, height, src_stride, n_channels, x, y, d);
          if (grey)
            d[0] = d[1] = d[2] = mien_image_luminance (d[0], d[1], d[2]);
        }
    }
  return g_steal_pointer (&crop);
}
