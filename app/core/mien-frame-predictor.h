/* mien-frame-predictor.h — predictions on a stream of frames without falling behind.
 *
 * Frames are pushed from any thread (a camera's streaming thread); one worker thread predicts
 * the newest frame only: a frame that arrives while another waits replaces it (counted as
 * dropped), so latency stays one inference at most and nothing queues up. Results are delivered
 * on the GMainContext that was thread-default when the predictor was created, through the
 * "prediction" signal, so a UI never blocks on the network.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>

#include "mien-ensemble.h"

G_BEGIN_DECLS

typedef struct {
  guint64    frame_number;  /* of the pushed frames, 1-based */
  guint      n_models;
  guint      n_classes;
  float     *per_model;     /* n_models × n_classes */
  float     *average;       /* n_classes: the ensemble's mean */
  guint      best_class;    /* argmax of average */
  /* The region of the frame that was classified, in frame pixels. */
  int        x, y, width, height;
  GdkPixbuf *frame;         /* the frame itself (a reference) */
  gint64     pushed_us;     /* g_get_monotonic_time () at push */
  gint64     done_us;       /* when the prediction was ready */
  double     latency_ms;    /* done - pushed */
} MienFramePrediction;

#define MIEN_TYPE_FRAME_PREDICTION (mien_frame_prediction_get_type ())
GType                mien_frame_prediction_get_type (void);
MienFramePrediction *mien_frame_prediction_copy     (const MienFramePrediction *prediction);
void                 mien_frame_prediction_free     (MienFramePrediction       *prediction);

typedef enum {
  MIEN_FRAME_REGION_WHOLE,   /* the whole frame (the model's resize squashes it) */
  MIEN_FRAME_REGION_CENTRE,  /* the largest centred square */
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

#define MIEN_TYPE_FRAME_PREDICTOR (mien_frame_predictor_get_type ())
G_DECLARE_FINAL_TYPE (MienFramePredictor, mien_frame_predictor, MIEN, FRAME_PREDICTOR, GObject)

/* Starts the worker. The ensemble is used from the worker thread only, from now on (until
 * mien_frame_predictor_stop () returns). */
MienFramePredictor *mien_frame_predictor_new      (MienEnsemble       *ensemble,
                                                   MienFrameRegion     region);
void                mien_frame_predictor_set_region (MienFramePredictor *self,
                                                     MienFrameRegion     region);
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
/* Predictions per second over the last two seconds. */
double              mien_frame_predictor_get_rate (MienFramePredictor *self);

/* Signal "prediction" (MIEN_TYPE_FRAME_PREDICTION, static scope: const MienFramePrediction *,
 * valid during the emission; copy it to keep it): on the creating main context.
 * Signal "error" (G_TYPE_ERROR, const GError *): a frame that could not be predicted; the worker
 * goes on. Neither is emitted once mien_frame_predictor_stop () has been called. */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienFramePrediction, mien_frame_prediction_free)

G_END_DECLS
