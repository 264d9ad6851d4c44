/* mien-frame-predictor.h — predictions on a stream of frames without falling behind.
 *
 * Frames are pushed from any thread (a camera's streaming thread). In region mode one worker
 * thread classifies a fixed region of the newest frame. In faces mode a detection thread finds
 * and tracks the faces of the newest frame and hands them to a classification thread, which
 * classifies every face of the newest detection: the two stages run side by side at their own
 * rates, so boxes keep up with moving faces even when an ensemble classifies more slowly.
 * At each stage a frame that arrives while another waits replaces it (counted as dropped), so
 * latency stays one detection plus one classification at most and nothing queues up. Results
 * are delivered on the GMainContext that was thread-default when the predictor was created, so
 * a UI never blocks on a network.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>

#include "mien-ensemble.h"
#include "mien-face-pipeline.h"

G_BEGIN_DECLS

typedef struct {
  guint64               frame_number;  /* of the pushed frames, 1-based */
  guint                 n_models;
  guint                 n_classes;
  gboolean              faces;         /* faces mode: n_regions 0 means no face was found */
  guint                 n_regions;
  MienRegionPrediction *regions;       /* faces: left to right */
  GdkPixbuf            *frame;         /* the frame itself (a reference) */
  gint64                pushed_us;     /* g_get_monotonic_time () at push */
  gint64                done_us;       /* when the prediction was ready */
  double                latency_ms;    /* done - pushed */
  double                detect_ms;     /* time spent detecting (faces mode) */
  double                classify_ms;   /* time spent classifying every region */
} MienFramePrediction;

#define MIEN_TYPE_FRAME_PREDICTION (mien_frame_prediction_get_type ())
GType                mien_frame_prediction_get_type (void);
MienFramePrediction *mien_frame_prediction_copy     (const MienFramePrediction *prediction);
void                 mien_frame_prediction_free     (MienFramePrediction       *prediction);

typedef enum {
  MIEN_FRAME_REGION_WHOLE,   /* the whole frame (the model's resize squashes it) */
  MIEN_FRAME_REGION_CENTRE,  /* the largest centred square */
  MIEN_FRAME_REGION_FACES,   /* every face a detector finds (mien_frame_predictor_new_for_faces) */
} MienFrameRegion;

/* The rectangle `region` covers in a frame of that size (CENTRE: the odd pixel, if any, goes
 * to the right/bottom margin); for front ends that draw it over the frame. */
void                mien_frame_region_rect (MienFrameRegion  region,
                                            int              frame_width,
                                            int              frame_height,
                                            int             *x,
                                            int             *y,
                                            int             *width,
                                            int             *height);

/* Where a map lies in the frame: the crop the models saw (in faces mode the aligned face with
 * its margin, mien_face_align_geometry (); in region mode the region), turned by `angle`
 * (radians, clockwise on screen) about its centre. */
typedef struct {
  double centre_x;
  double centre_y;
  double width;
  double height;
  double angle;
} MienMapPlace;

/* Where the models looked in the faces (or the region) of one prediction: each region's
 * Grad-CAM map for its predicted class (mien_explain_grad_cam_ensemble () of the crop the
 * models saw), upsampled to the models' input size and scaled to [0, 1]. */
typedef struct {
  guint64   frame_number;  /* of the prediction explained */
  guint     n_regions;     /* as in that prediction, left to right */
  MienFace *boxes;         /* n_regions: each region's box in the frame */
  MienMapPlace *places;    /* n_regions: where each map lies in the frame */
  guint    *classes;       /* n_regions: the class each map is of */
  int       map_size;      /* each map is map_size × map_size */
  float    *maps;          /* n_regions × map_size × map_size, row-major */
  double    explain_ms;    /* time spent explaining every region */
} MienFrameExplanation;

#define MIEN_TYPE_FRAME_EXPLANATION (mien_frame_explanation_get_type ())
GType                 mien_frame_explanation_get_type (void);
MienFrameExplanation *mien_frame_explanation_copy     (const MienFrameExplanation *explanation);
void                  mien_frame_explanation_free     (MienFrameExplanation       *explanation);

#define MIEN_TYPE_FRAME_PREDICTOR (mien_frame_predictor_get_type ())
G_DECLARE_FINAL_TYPE (MienFramePredictor, mien_frame_predictor, MIEN, FRAME_PREDICTOR, GObject)

/* Starts the worker (region mode: WHOLE or CENTRE). The ensemble is used from the worker
 * thread only, from now on (until mien_frame_predictor_stop () returns). */
MienFramePredictor *mien_frame_predictor_new      (MienEnsemble       *ensemble,
                                                   MienFrameRegion     region);
/* Starts the detection and classification threads (faces mode): mien_face_pipeline_detect ()
 * on the one, mien_face_pipeline_classify () on the other, with tracking on. `detector` must be
 * prepared; like the ensemble, it belongs to its thread from now on. */
MienFramePredictor *mien_frame_predictor_new_for_faces (MienEnsemble               *ensemble,
                                                        MienFaceDetector           *detector,
                                                        const MienFaceAlignOptions *align);
/* Region mode only: WHOLE or CENTRE. */
void                mien_frame_predictor_set_region (MienFramePredictor *self,
                                                     MienFrameRegion     region);
/* Faces mode: the weight of a face's past probabilities in [0, 1) (0: none; see
 * mien_face_tracker_smooth ()). Thread-safe. */
void                mien_frame_predictor_set_smoothing (MienFramePredictor *self,
                                                        double              alpha);
/* Explanations (thread-safe; off by default): after a prediction the classification thread
 * explains it ("explanation" signal) when the previous explanation is old enough: the time
 * since it ended is at least twice what it took, so explaining takes at most a third of the
 * thread and predictions go on at two thirds of their rate or more. Only the newest
 * prediction is ever explained; nothing queues up. Models that cannot be explained (ViT, DFT
 * for now: MIEN_BACKBONE_ERROR_UNSUPPORTED, MIEN_MODEL_ERROR_UNSUPPORTED) give one
 * "explanation-error" and no more tries until explanations are turned on again. */
void                mien_frame_predictor_set_explain (MienFramePredictor *self,
                                                      gboolean            explain);
guint64             mien_frame_predictor_get_n_explained (MienFramePredictor *self);
/* Thread-safe. Takes a reference to `frame`. After stop it does nothing (and counts nothing). */
void                mien_frame_predictor_push     (MienFramePredictor *self,
                                                   GdkPixbuf          *frame);
/* Stops the worker and waits for it (no "prediction" is emitted afterwards). Idempotent;
 * finalize does it too. */
void                mien_frame_predictor_stop     (MienFramePredictor *self);
/* Thread-safe. Every pushed frame ends up predicted or dropped: replaced while waiting, still
 * waiting at stop, or failed (the "error" signal), so that once the worker is idle
 * n_pushed == n_predicted + n_dropped. */
guint64             mien_frame_predictor_get_n_pushed    (MienFramePredictor *self);
guint64             mien_frame_predictor_get_n_predicted (MienFramePredictor *self);
guint64             mien_frame_predictor_get_n_dropped   (MienFramePredictor *self);
/* Predictions (classified frames) per second over the last two seconds. */
double              mien_frame_predictor_get_rate (MienFramePredictor *self);
/* Faces mode: detected frames per second over the last two seconds (0 in region mode). */
double              mien_frame_predictor_get_detect_rate (MienFramePredictor *self);

/* Signal "prediction" (MIEN_TYPE_FRAME_PREDICTION, static scope: const MienFramePrediction *,
 * valid during the emission; copy it to keep it): on the creating main context.
 * Signal "detection" (the same type; faces mode): the faces of a frame as soon as they are
 * found and tracked, before classification (regions without probabilities: n_models 0).
 * Signal "explanation" (MIEN_TYPE_FRAME_EXPLANATION, static scope, as "prediction"): the maps
 * of a prediction delivered before, while explanations are on. Signal "explanation-error"
 * (G_TYPE_ERROR, const GError *): the first explanation that failed (the frame was predicted).
 * Signal "error" (G_TYPE_ERROR, const GError *): a frame that could not be predicted; the worker
 * goes on. Neither is emitted once mien_frame_predictor_stop () has been called. */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienFramePrediction, mien_frame_prediction_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienFrameExplanation, mien_frame_explanation_free)

G_END_DECLS
