/* mien-prediction-log.h — a session's per-face predictions, kept as `mien-cli predict --faces` CSV.
 *
 * The Live page and the kiosk record what a stream's faces were classified as: one row per face
 * of every classified frame, with the columns of mien_ensemble_append_faces_csv_header () (the
 * source's id as the path, the frame's 0-based number, its time since the log started). Frames
 * in which no face was found are not recorded: a booth spends hours with nobody in front of
 * it. The rows are kept in memory and written out whole, atomically (mien-output.h), so that a
 * reader never sees a half-written file and a full disk leaves the previous file intact and
 * the rows still in memory, for the next try.
 */
#pragma once

#include <gio/gio.h>

#include "mien-ensemble.h"
#include "mien-frame-predictor.h"

G_BEGIN_DECLS

#define MIEN_TYPE_PREDICTION_LOG (mien_prediction_log_get_type ())
G_DECLARE_FINAL_TYPE (MienPredictionLog, mien_prediction_log, MIEN, PREDICTION_LOG, GObject)

/* Rows of `ensemble`'s classes (borrowed for the class names only: the log keeps a reference),
 * with `source_id` in the path column. */
MienPredictionLog *mien_prediction_log_new        (MienEnsemble              *ensemble,
                                                   const char                *source_id);
/* Appends a row per face of `prediction` (faces mode; a prediction of other classes than the
 * ensemble's, or without faces, adds nothing). Returns the number of rows added. */
guint              mien_prediction_log_add        (MienPredictionLog         *self,
                                                   const MienFramePrediction *prediction);
guint64            mien_prediction_log_get_n_rows (MienPredictionLog         *self);
/* Bytes of CSV the rows take (the header not counted): for callers that start a new file
 * rather than let one session's log grow without bound. */
gsize              mien_prediction_log_get_size   (MienPredictionLog         *self);
/* Writes the header and every row to `path` as an output file (mien_output_set_contents ()):
 * atomically, refused when `path` is not a regular file; on failure (a full disk, a folder that
 * cannot be written) the error names `path` and the rows are kept. */
gboolean           mien_prediction_log_save       (MienPredictionLog         *self,
                                                   const char                *path,
                                                   GError                   **error);
/* Forgets the rows (after they were saved to a file that is now complete). */
void               mien_prediction_log_clear      (MienPredictionLog         *self);

G_END_DECLS
