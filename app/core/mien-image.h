/* mien-image.h — decoding images into the pixels a network sees.
 *
 * Every image becomes uint8 RGB in planar CHW order at size × size: decoded with GdkPixbuf, turned
 * upright by its EXIF orientation, any alpha dropped (not composited), then resized without
 * keeping the aspect ratio exactly as torchvision 0.14 resizes a uint8 tensor:
 * torchvision.transforms.functional.resize (img, [size, size], antialias=True), i.e. to float,
 * bilinear interpolation with antialias and align_corners=False, rounded half to even, back to
 * uint8 (mien_tensor_resize_image ()). Grey images come out with three equal channels. With
 * `grey`, colour images are turned into luminance first (ITU-R 601: 0.299 R + 0.587 G + 0.114 B,
 * rounded, as PIL's convert ("L")), that one plane is resized and repeated in the three
 * channels, for models trained on grey faces. README.md ("Preprocessing") gives the Python that
 * reproduces it. Thumbnails (mien_image_load_thumbnail ()) are only shown, and keep GdkPixbuf's
 * scaling.
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

/* What mien_image_load () accepts. A file over MIEN_IMAGE_MAX_BYTES is not read; an image whose
 * header announces a side over MIEN_IMAGE_MAX_SIDE or more than MIEN_IMAGE_MAX_PIXELS pixels is
 * refused before it is decoded: a one-colour 20000 × 20000 PNG is a few kilobytes on disk but
 * 1.2 GB once decoded, in every loader thread at once. 100 megapixels (400 MB as RGBA) still
 * takes any camera's photo; 256 MiB holds any such photo compressed. */
#define MIEN_IMAGE_MAX_BYTES  (G_GOFFSET_CONSTANT (256) * 1024 * 1024)
#define MIEN_IMAGE_MAX_SIDE   32768
#define MIEN_IMAGE_MAX_PIXELS (G_GINT64_CONSTANT (100000000))

/* The one way an image file becomes a pixbuf, for every path (training, eval, predict, faces,
 * the pages): the file is opened without blocking and must be a regular file (a FIFO, device,
 * folder, socket or symlink loop fails at once, see mien_input_open ()) of at most
 * MIEN_IMAGE_MAX_BYTES; its size is read from the header and checked against MIEN_IMAGE_MAX_SIDE
 * and MIEN_IMAGE_MAX_PIXELS before any pixel is decoded (a loader fed 4 KiB at a time stops at
 * the header); the pixels are then decoded by GdkPixbuf's whole-file decoder (which, unlike its
 * incremental loader, refuses a truncated PNG) through /proc/self/fd, so from the very file that
 * was checked, and turned upright by their EXIF orientation. Never returns NULL without
 * setting `error`, whose message is "PATH: reason" (lists of skipped files show it as it is).
 * Safe to call from any thread. */
GdkPixbuf   *mien_image_load          (const char     *path,
                                       GError        **error);
/* The same, scaled to fit a `max_side` square keeping its aspect ratio (a small image is scaled
 * up, as gdk_pixbuf_new_from_file_at_scale () does), for pictures shown small: a dataset's
 * examples, a confusion matrix's cells. */
GdkPixbuf   *mien_image_load_thumbnail (const char    *path,
                                        int            max_side,
                                        GError       **error);

typedef struct {
  int      width;      /* of the file, before resizing */
  int      height;
  gboolean is_grey;    /* every pixel had R == G == B */
} MienImageInfo;

/* Decodes `path` (with mien_image_load ()) into `dest` (3 * size * size bytes). `info` may be
 * NULL. Errors are GdkPixbuf's or GIO's, with the message "PATH: reason". */
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
