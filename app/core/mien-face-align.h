/* mien-face-align.h — the square around a detected face, turned upright, for a classifier.
 *
 * A classifier trained on face crops wants the face centred, at a known scale and with the eyes
 * level, whatever the detector's box looks like. The crop is a square centred on the box, its
 * side the box's longer side plus a margin on each side; when the face has landmarks, it is
 * turned by the angle of the eye line (the subject's right eye towards their left eye, as the
 * landmarks give them), so that the eyes come out level.
 *
 * Sampling convention: pixel (i, j) covers [i, i + 1) × [j, j + 1) and its value sits at its
 * centre (i + 0.5, j + 0.5), in the frame as in the crop, so that a crop of margin 0, without
 * rotation, of an integer box at the box's own size is the frame's pixels unchanged. Values
 * between centres are bilinear; points outside the frame take the nearest edge pixel's.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>

#include "mien-face-detector.h"

G_BEGIN_DECLS

typedef struct {
  double   margin;  /* the fraction of the box's longer side added on each side */
  gboolean rotate;  /* level the eyes when the face has landmarks */
} MienFaceAlignOptions;

#define MIEN_FACE_ALIGN_OPTIONS_INIT { 0.2, TRUE }

/* The crop in frame pixels, for front ends that draw it: its centre, its side and the angle (in
 * radians, clockwise on screen since y points down) by which it is turned; 0 without landmarks
 * or without `options->rotate`. `options` NULL means MIEN_FACE_ALIGN_OPTIONS_INIT. */
void       mien_face_align_geometry (const MienFace             *face,
                                     const MienFaceAlignOptions *options,
                                     double                     *centre_x,
                                     double                     *centre_y,
                                     double                     *side,
                                     double                     *angle);

/* A new `size` × `size` RGB pixbuf of that crop, eyes level. `frame` is 8-bit RGB or RGBA (alpha
 * is ignored, as mien_image_from_pixbuf () drops it). With `grey`, every pixel holds
 * mien_image_luminance () of its colour in its three channels, as grey models see images.
 * NULL only when memory runs out. */
GdkPixbuf *mien_face_align          (GdkPixbuf                  *frame,
                                     const MienFace             *face,
                                     const MienFaceAlignOptions *options,
                                     int                         size,
                                     gboolean                    grey);

G_END_DECLS
