/* mien-image.h — decoding images into the pixels a network sees.
 *
 * Every image becomes uint8 RGB in planar CHW order at size × size: decoded with GdkPixbuf, any
 * alpha dropped, resized without keeping the aspect ratio (as torchvision's Resize ((S, S));
 * GDK_INTERP_BILINEAR, which averages over the source area when shrinking). Grey images come out
 * with three equal channels. With `grey`, colour images are turned into luminance first
 * (ITU-R 601: 0.299 R + 0.587 G + 0.114 B, rounded, as PIL's convert ("L")) and repeated in
 * the three channels, for models trained on grey faces.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>

#include "mien-core.h"

G_BEGIN_DECLS

/* PIL's convert ("L") in fixed point, so that grey models see the same values as in Python.
 * Inline because callers run it once per pixel; the weights sum to 65536, so a grey pixel
 * keeps its value. */
static inline guint8
mien_image_luminance (guint r,
                      guint g,
                      guint b)
{
  return (guint8) ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

typedef struct {
  int      width;      /* of the file, before resizing */
  int      height;
  gboolean is_grey;    /* every pixel had R == G == B */
} MienImageInfo;

/* Decodes `path` into `dest` (3 * size * size bytes). `info` may be NULL. Errors are GdkPixbuf's
 * or GIO's, with the message prefixed by the file's name. */
gboolean     mien_image_decode        (const char     *path,
                                       int             size,
                                       gboolean        grey,
                                       guint8         *dest,
                                       MienImageInfo  *info,
                                       GError        **error);
/* The same for a pixbuf already in memory (a camera frame, a dropped image). */
gboolean     mien_image_from_pixbuf   (GdkPixbuf      *pixbuf,
                                       int             size,
                                       gboolean        grey,
                                       guint8         *dest,
                                       MienImageInfo  *info,
                                       GError        **error);
/* A uint8 [n, 3, size, size] CPU tensor of `n` images laid out one after the other in `pixels`. */
MienTensor  *mien_image_batch_tensor  (const guint8   *pixels,
                                       guint           n,
                                       int             size,
                                       GError        **error);

G_END_DECLS
