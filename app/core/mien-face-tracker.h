/* mien-face-tracker.h — faces that keep their identity from one video frame to the next.
 *
 * Detectors see each frame on its own; a front end that labels faces, or smooths their
 * predictions over time, needs to know which face of this frame was which face of the last.
 * Each call to mien_face_tracker_update () takes one frame's faces and matches them to the live
 * tracks by the overlap of their boxes (IoU, mien_face_iou ()), greedily, the pair with the
 * highest IoU first, so that two faces crossing in the detector's output order keep their ids.
 * A pair matches when its IoU is more than the threshold. A face left unmatched starts a track
 * with the next id (1, 2, 3…, never reused); a track left unmatched survives `max-missed`
 * frames, its box the last one seen, and ends on the frame after.
 *
 * Probabilities can be smoothed per track with an exponential moving average of weight
 * `smoothing` for the past, which steadies the label a booth shows on a face.
 */
#pragma once

#include <glib-object.h>

#include "mien-face-detector.h"

G_BEGIN_DECLS

#define MIEN_TYPE_FACE_TRACKER (mien_face_tracker_get_type ())
G_DECLARE_FINAL_TYPE (MienFaceTracker, mien_face_tracker, MIEN, FACE_TRACKER, GObject)

MienFaceTracker *mien_face_tracker_new               (void);

/* "iou-threshold", in [0, 1]; 0.3 by default. */
void             mien_face_tracker_set_iou_threshold (MienFaceTracker *self,
                                                      double           threshold);
double           mien_face_tracker_get_iou_threshold (MienFaceTracker *self);
/* "max-missed": the frames a track survives unseen; 10 by default. */
void             mien_face_tracker_set_max_missed    (MienFaceTracker *self,
                                                      guint            max_missed);
guint            mien_face_tracker_get_max_missed    (MienFaceTracker *self);
/* "smoothing": α in [0, 1), the weight of the past; 0 (the default) turns smoothing off. */
void             mien_face_tracker_set_smoothing     (MienFaceTracker *self,
                                                      double           alpha);
double           mien_face_tracker_get_smoothing     (MienFaceTracker *self);

/* One frame's faces (`n_faces` of them; `faces` may be NULL when there are none). `track_ids`
 * (NULL, or room for `n_faces`) receives each face's track id. */
void             mien_face_tracker_update            (MienFaceTracker *self,
                                                      const MienFace  *faces,
                                                      guint            n_faces,
                                                      guint           *track_ids);

/* In place, for a track of the last update: p ← α p_track + (1 − α) p, renormalised to sum 1,
 * and kept as the track's p_track. The first probabilities of a track, those of an unknown
 * (ended) track and every one with α = 0 pass unchanged; a change of `n_classes` starts the
 * track's history again. */
void             mien_face_tracker_smooth            (MienFaceTracker *self,
                                                      guint            track_id,
                                                      float           *probabilities,
                                                      guint            n_classes);

/* Ends every track, as at a new video; ids start again from 1. */
void             mien_face_tracker_reset             (MienFaceTracker *self);
guint            mien_face_tracker_get_n_tracks      (MienFaceTracker *self);

G_END_DECLS
