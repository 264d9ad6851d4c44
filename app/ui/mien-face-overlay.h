/* mien-face-overlay.h — faces drawn over a picture, the same way on every page.
 *
 * The Predict page (a photo's faces) and the Live page (a stream's) both outline each face and
 * label it with its class in a pill above the box; mien_face_overlay_append_box () is that
 * drawing, once. MienFaceBoxes is a widget that draws a list of such boxes over a GtkPicture
 * (same allocation, in a GtkOverlay, "contain" fit): decorative, it takes no input.
 */
#pragma once

#include <gtk/gtk.h>

#include "mien-face-detector.h"

G_BEGIN_DECLS

/* A layout of `widget`'s font for overlays: bold if asked, scaled by `scale`, with digits of
 * equal width so that percentages do not jitter from frame to frame. */
PangoLayout *mien_face_overlay_layout      (GtkWidget       *widget,
                                            const char      *text,
                                            gboolean         bold,
                                            double           scale);
void         mien_face_overlay_append_rounded (GtkSnapshot   *snapshot,
                                               float          x,
                                               float          y,
                                               float          width,
                                               float          height,
                                               float          radius,
                                               const GdkRGBA *colour);
void         mien_face_overlay_append_layout (GtkSnapshot   *snapshot,
                                              PangoLayout   *layout,
                                              float          x,
                                              float          y,
                                              const GdkRGBA *colour);

/* The outline of `box` (in frame pixels; the frame is shown from `ox`, `oy` at `scale`) and,
 * when `label` is not NULL, the label in a pill above it, or inside it when there is no room
 * above the frame's top. */
void         mien_face_overlay_append_box  (GtkWidget             *widget,
                                            GtkSnapshot           *snapshot,
                                            const graphene_rect_t *box,
                                            const char            *label,
                                            double                 ox,
                                            double                 oy,
                                            double                 scale);

#define MIEN_TYPE_FACE_BOXES (mien_face_boxes_get_type ())
G_DECLARE_FINAL_TYPE (MienFaceBoxes, mien_face_boxes, MIEN, FACE_BOXES, GtkWidget)

GtkWidget *mien_face_boxes_new            (void);
void       mien_face_boxes_clear          (MienFaceBoxes  *self);
/* Takes `text`. */
void       mien_face_boxes_add            (MienFaceBoxes  *self,
                                           const MienFace *face,
                                           char           *text);
void       mien_face_boxes_set_frame_size (MienFaceBoxes  *self,
                                           int             width,
                                           int             height);
guint      mien_face_boxes_get_n_boxes    (MienFaceBoxes  *self);

G_END_DECLS
