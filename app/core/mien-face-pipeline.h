/* mien-face-pipeline.h — faces in a frame, found, aligned, classified, tracked and smoothed.
 *
 * The one home of what `mien-cli predict --faces`, the Predict page and the Live page (through
 * MienFramePredictor) do with a frame: the detector finds the faces, each face is aligned and
 * classified by the ensemble (mien_ensemble_predict_face ()), a tracker gives each face its
 * identity across frames and, when asked, smooths its probabilities over time. When faces
 * cannot be classified (no detector, a search that failed, or none found, as the fallback
 * says) the whole frame can be classified instead.
 *
 * mien_face_pipeline_process () runs both stages on one thread. A front end that must keep
 * boxes moving while a slow ensemble classifies runs mien_face_pipeline_detect () on one thread
 * and mien_face_pipeline_classify () on another: each stage is used from one thread at a time,
 * and the two may run at once (the detector belongs to the first, the ensemble to the second;
 * the tracker they share has a lock of its own).
 *
 * mien_face_pipeline_evaluate () is the face-aware evaluation of a labelled dataset (`mien-cli
 * eval --faces`, the Evaluate page): the largest face of each image, found and aligned as above,
 * is what the ensemble classifies.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib-object.h>

#include "mien-ensemble.h"
#include "mien-face-align.h"
#include "mien-face-detector.h"

G_BEGIN_DECLS

/* One classified region of a frame: a face, the whole frame, or (MienFramePredictor's region
 * mode) a fixed region. */
typedef struct {
  int        x, y, width, height;  /* the face's box rounded, in frame pixels */
  MienFace   face;                 /* the detection (the whole frame: a box without landmarks) */
  guint      track_id;             /* the face's identity across frames (1, 2, …); 0: untracked */
  float     *per_model;            /* n_models × n_classes; NULL until classified */
  float     *average;              /* n_classes: the ensemble's mean (smoothed, if asked) */
  guint      best_class;           /* argmax of average */
} MienRegionPrediction;

typedef enum {
  MIEN_FACE_FALLBACK_NONE,      /* no face: no region; a search that fails is an error */
  MIEN_FACE_FALLBACK_ON_ERROR,  /* the whole frame when faces cannot be searched (no detector,
                                 * or the search failed: `detect_error` says why) */
  MIEN_FACE_FALLBACK_NO_FACE,   /* that, and the whole frame when no face is found */
} MienFaceFallback;

typedef struct {
  int                   frame_width;
  int                   frame_height;
  guint                 n_models;      /* 0 until classified */
  guint                 n_classes;
  gboolean              whole;         /* the one region is the whole frame, for want of faces */
  char                 *detect_error;  /* whole because the search failed: why; else NULL */
  guint                 n_regions;     /* faces, left to right (0: none found) */
  MienRegionPrediction *regions;
  double                detect_ms;     /* time spent detecting */
  double                classify_ms;   /* time spent classifying every region */
} MienFacePrediction;

#define MIEN_TYPE_FACE_PREDICTION (mien_face_prediction_get_type ())
GType               mien_face_prediction_get_type (void);
MienFacePrediction *mien_face_prediction_copy     (const MienFacePrediction *prediction);
void                mien_face_prediction_free     (MienFacePrediction       *prediction);

/* Deep copies of `n` regions, per_model and average included (for n_models × n_classes). */
MienRegionPrediction *mien_region_predictions_copy (const MienRegionPrediction *regions,
                                                    guint                       n,
                                                    guint                       n_models,
                                                    guint                       n_classes);
void                  mien_region_predictions_free (MienRegionPrediction       *regions,
                                                    guint                       n);

#define MIEN_TYPE_FACE_PIPELINE (mien_face_pipeline_get_type ())
G_DECLARE_FINAL_TYPE (MienFacePipeline, mien_face_pipeline, MIEN, FACE_PIPELINE, GObject)

/* `detector` (NULL: none, every frame is classified whole) must be prepared. `align` NULL means
 * MIEN_FACE_ALIGN_OPTIONS_INIT. Tracking is off, the fallback NONE, and every frame is searched
 * whole, until said otherwise. */
MienFacePipeline *mien_face_pipeline_new        (MienEnsemble               *ensemble,
                                                 MienFaceDetector           *detector,
                                                 const MienFaceAlignOptions *align);
MienEnsemble     *mien_face_pipeline_get_ensemble (MienFacePipeline *self);
MienFaceDetector *mien_face_pipeline_get_detector (MienFacePipeline *self);
const MienFaceAlignOptions *mien_face_pipeline_get_align (MienFacePipeline *self);

void              mien_face_pipeline_set_fallback (MienFacePipeline *self,
                                                   MienFaceFallback  fallback);
/* Tracking gives faces ids across the frames processed (off: every id is 0). */
void              mien_face_pipeline_set_tracking (MienFacePipeline *self,
                                                   gboolean          tracking);
/* The weight of a face's past probabilities in [0, 1) (0: none; see mien_face_tracker_smooth ());
 * only tracked faces are smoothed. Thread-safe. */
void              mien_face_pipeline_set_smoothing (MienFacePipeline *self,
                                                    double            alpha);
/* While faces are tracked, search the whole frame only once in `n` frames and around the faces
 * followed in between (mien_face_detector_detect_near (), several times cheaper); a face that
 * comes into the picture is then found within `n` frames. 0 or 1: every frame whole. */
void              mien_face_pipeline_set_full_search_every (MienFacePipeline *self,
                                                            guint             n);
/* Forgets every face, as at a new video: ids start again from 1. */
void              mien_face_pipeline_reset        (MienFacePipeline *self);

/* Both stages. NULL (and `error`) when the search fails without a fallback, or the ensemble
 * fails. */
MienFacePrediction *mien_face_pipeline_process  (MienFacePipeline  *self,
                                                 GdkPixbuf         *frame,
                                                 GError           **error);
/* The first stage: the faces found (and tracked), without probabilities (n_models 0); a whole
 * frame region when the fallback asks for one. */
MienFacePrediction *mien_face_pipeline_detect   (MienFacePipeline  *self,
                                                 GdkPixbuf         *frame,
                                                 GError           **error);
/* The second stage, on a prediction of mien_face_pipeline_detect () for the same frame: every
 * region classified (and smoothed). */
gboolean            mien_face_pipeline_classify (MienFacePipeline   *self,
                                                 GdkPixbuf          *frame,
                                                 MienFacePrediction *prediction,
                                                 GError            **error);

/* ---- Face-aware evaluation ------------------------------------------------------------ */

#define MIEN_FACE_EVAL_UNREADABLE (-1)  /* unreadable, or the detector failed: not counted */
#define MIEN_FACE_EVAL_NO_FACE    (-2)  /* no face found: an error for the image's class */

typedef struct {
  int       predicted;  /* the class (argmax of average), or one of MIEN_FACE_EVAL_* */
  guint     n_faces;    /* faces found in the image */
  MienFace  face;       /* the largest, the one classified (zeros without one) */
  float    *average;    /* its K probabilities, the ensemble's mean; NULL without a face */
} MienFaceEvalSample;

typedef struct {
  /* The ensemble's metrics. An image without a face counts as an error for its class
   * (mien_metrics_add_missed ()), as a "no face" prediction that is wrong for every class
   * would: accuracy and that class's recall fall, no class's precision changes. */
  MienMetrics        *metrics;
  GPtrArray          *per_model;   /* each member's MienMetrics, on the same crops */
  guint               n_samples;
  MienFaceEvalSample *samples;     /* n_samples, in dataset order */
  /* "PATH: reason" of the images left out: those that could not be read, and those the
   * detector failed on (MIEN_FACE_EVAL_UNREADABLE too: the model never saw them). */
  GPtrArray          *unreadable;
  GPtrArray          *no_face;     /* the paths of the images without a face */
} MienFaceEvaluation;

void                mien_face_evaluation_free   (MienFaceEvaluation *evaluation);

/* Finds the faces of every image of `dataset` (opened with the ensemble's classes, in the same
 * order; else MIEN_ENSEMBLE_ERROR_CLASSES) and classifies the largest one, aligned with the
 * pipeline's options (the margin: see mien_ensemble_get_face_margin ()). Needs a detector;
 * tracking is turned off and the fallback set to NONE. An image the detector fails on is left
 * out and listed in `unreadable`, and the evaluation goes on. Fails when cancelled, when the
 * detector failed on every image it was given (with its first error, naming the image), when no
 * image can be read, or when the classifier fails. `progress` (may be NULL) hears the fraction
 * of the images done. */
MienFaceEvaluation *mien_face_pipeline_evaluate (MienFacePipeline  *self,
                                                 MienDataset       *dataset,
                                                 MienProgressFunc   progress,
                                                 gpointer           progress_data,
                                                 GCancellable      *cancellable,
                                                 GError           **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienFacePrediction, mien_face_prediction_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienFaceEvaluation, mien_face_evaluation_free)

G_END_DECLS
