/* mien-live-overlay.h — the Live page's predictions drawn over its frames.
 *
 * Over a GtkPicture of the frames (same allocation, "contain" fit): in faces mode every face's
 * box and label (mien_face_overlay_append_box ()), kept up with each detection and labelled
 * with its track's latest classes; in region mode the region's box; and a panel of the
 * probabilities; with Explain, the latest maps over the faces. The class shown is told to
 * assistive technologies when it changes.
 */
#pragma once

#include <gtk/gtk.h>

#include "mien-frame-predictor.h"

G_BEGIN_DECLS

#define MIEN_TYPE_LIVE_OVERLAY (mien_live_overlay_get_type ())
G_DECLARE_FINAL_TYPE (MienLiveOverlay, mien_live_overlay, MIEN, LIVE_OVERLAY, GtkWidget)

GtkWidget      *mien_live_overlay_new              (void);
/* The classes of the predictions to come (NULL: none); forgets the last prediction. */
void            mien_live_overlay_set_classes      (MienLiveOverlay           *self,
                                                    const char * const        *classes);
void            mien_live_overlay_set_frame_size   (MienLiveOverlay           *self,
                                                    int                        width,
                                                    int                        height);
void            mien_live_overlay_set_region       (MienLiveOverlay           *self,
                                                    MienFrameRegion            region);
MienFrameRegion mien_live_overlay_get_region       (MienLiveOverlay           *self);
/* Faces mode: the boxes of the newest frame, drawn with their tracks' latest classes. */
void            mien_live_overlay_set_detection    (MienLiveOverlay           *self,
                                                    const MienFramePrediction *detection);
void            mien_live_overlay_set_prediction   (MienLiveOverlay           *self,
                                                    const MienFramePrediction *prediction);
void            mien_live_overlay_clear_prediction (MienLiveOverlay           *self);
/* Explain: each region's map of `explanation` drawn where it lies (half transparent, in the
 * colours of mien_explain_colour ()), under the boxes and labels, until the next one or NULL
 * (which removes them). Kept over a copy. */
void            mien_live_overlay_set_explanation  (MienLiveOverlay            *self,
                                                    const MienFrameExplanation *explanation);
/* The explanation drawn (NULL: none). Returns: (transfer none) (nullable). */
const MienFrameExplanation *mien_live_overlay_get_explanation (MienLiveOverlay *self);
/* The label drawn for class `index` (as set, capitalised), or NULL past the last class. */
const char     *mien_live_overlay_get_label        (MienLiveOverlay           *self,
                                                    guint                      index);

G_END_DECLS
