/* mien-ensemble.h — several models with the same classes; their softmax outputs averaged.
 *
 * The paper's module 4. Members may differ in backbone, input size, colour mode and
 * normalisation: each sees the image as its own metadata says, and only the probabilities are
 * averaged. A model whose classes (names and order) differ from the first one's is refused.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>

#include "mien-dataset.h"
#include "mien-face-align.h"
#include "mien-metrics.h"
#include "mien-model.h"

G_BEGIN_DECLS

#define MIEN_ENSEMBLE_ERROR (mien_ensemble_error_quark ())
GQuark mien_ensemble_error_quark (void);

typedef enum {
  MIEN_ENSEMBLE_ERROR_CLASSES,  /* a member whose classes differ, or a dataset without them */
  MIEN_ENSEMBLE_ERROR_EMPTY,    /* no model */
  MIEN_ENSEMBLE_ERROR_NOT_FINITE, /* a member gave NaN or infinite probabilities */
  MIEN_ENSEMBLE_ERROR_FACE_MARGIN, /* members whose training faces were framed differently */
} MienEnsembleError;

#define MIEN_TYPE_ENSEMBLE (mien_ensemble_get_type ())
G_DECLARE_FINAL_TYPE (MienEnsemble, mien_ensemble, MIEN, ENSEMBLE, GObject)

MienEnsemble       *mien_ensemble_new          (void);
/* Loads every file (mien_model_load) and adds it; the first failure is returned, naming the
 * file. */
MienEnsemble       *mien_ensemble_load         (MienPluginEngine   *engine,
                                                const char * const *paths,
                                                MienDevice          device,
                                                GError            **error);
gboolean            mien_ensemble_add          (MienEnsemble *self,
                                                MienModel    *model,
                                                GError      **error);
guint               mien_ensemble_get_n_models (MienEnsemble *self);
MienModel          *mien_ensemble_get_model    (MienEnsemble *self,
                                                guint         index);
/* The members' classes; NULL while empty. */
const char * const *mien_ensemble_get_classes  (MienEnsemble *self);
guint               mien_ensemble_get_n_classes (MienEnsemble *self);

/* The face margin to crop faces with for these models (mien_model_get_face_margin ()): the
 * members' own, `fallback` for a member that records none (whole images, or a file from before
 * Mien recorded it). One crop feeds every member, so members that ask for different margins
 * are refused (MIEN_ENSEMBLE_ERROR_FACE_MARGIN, naming them): the caller then chooses one. */
gboolean            mien_ensemble_get_face_margin (MienEnsemble *self,
                                                   double        fallback,
                                                   double       *margin,
                                                   GError      **error);

/* Probabilities for one image: `per_model` (n_models × K, may be NULL) and their mean `average`
 * (K). */
gboolean            mien_ensemble_predict_pixbuf (MienEnsemble *self,
                                                  GdkPixbuf    *pixbuf,
                                                  float        *per_model,
                                                  float        *average,
                                                  GError      **error);
/* The same for one face in a frame: each member sees the face aligned (mien_face_align ()) at
 * its own input size and colour mode, so the crop reaches it without another resize. `options`
 * NULL means MIEN_FACE_ALIGN_OPTIONS_INIT. */
gboolean            mien_ensemble_predict_face (MienEnsemble               *self,
                                                GdkPixbuf                  *frame,
                                                const MienFace             *face,
                                                const MienFaceAlignOptions *options,
                                                float                      *per_model,
                                                float                      *average,
                                                GError                    **error);
gboolean            mien_ensemble_predict_file (MienEnsemble *self,
                                                const char   *path,
                                                float        *per_model,
                                                float        *average,
                                                GError      **error);

/* Whether `dataset` has the ensemble's classes, in the same order (else
 * MIEN_ENSEMBLE_ERROR_CLASSES, naming both), as evaluating needs. */
gboolean            mien_ensemble_check_dataset (MienEnsemble  *self,
                                                 MienDataset   *dataset,
                                                 GError       **error);

/* Evaluates on `dataset` (opened with the ensemble's classes, in the same order; else
 * MIEN_ENSEMBLE_ERROR_CLASSES). Unreadable images are skipped (listed in `unreadable`, may be
 * NULL: a new array of "PATH: reason" strings, the caller's). Returns the metrics of the average; `per_model` (may be NULL) receives a new array
 * of each member's own metrics. */
MienMetrics        *mien_ensemble_evaluate     (MienEnsemble      *self,
                                                MienDataset       *dataset,
                                                int                n_workers,
                                                GPtrArray        **per_model,
                                                GPtrArray        **unreadable,
                                                MienProgressFunc   progress,
                                                gpointer           progress_data,
                                                GCancellable      *cancellable,
                                                GError           **error);

/* The same, also giving each sample's predicted class (the argmax of the average): a new
 * array of n_samples ints, in dataset order, -1 for an unreadable image. Its metrics are those
 * mien_ensemble_evaluate () returns. */
MienMetrics        *mien_ensemble_evaluate_samples (MienEnsemble      *self,
                                                    MienDataset       *dataset,
                                                    int                n_workers,
                                                    GArray           **predictions,
                                                    GPtrArray        **unreadable,
                                                    MienProgressFunc   progress,
                                                    gpointer           progress_data,
                                                    GCancellable      *cancellable,
                                                    GError           **error);

/* The same, also keeping each sample's path, true class and the average probabilities
 * (mien_predictions_mistakes () finds the most confidently wrong): a new MienPredictions of
 * every sample, in dataset order (an unreadable image without a prediction). */
MienMetrics        *mien_ensemble_evaluate_predictions (MienEnsemble      *self,
                                                        MienDataset       *dataset,
                                                        int                n_workers,
                                                        GPtrArray        **per_model,
                                                        MienPredictions  **predictions,
                                                        GPtrArray        **unreadable,
                                                        MienProgressFunc   progress,
                                                        gpointer           progress_data,
                                                        GCancellable      *cancellable,
                                                        GError           **error);

/* ---- Predictions as CSV (`mien-cli predict`, the studio's folder → CSV) ----------------- */

/* Adds `path` when it is not a folder, else the files inside it that `accept` takes (by their
 * path; recursively, sorted by name; hidden files skipped) to `out` (of char *, newly
 * allocated). */
typedef gboolean (*MienFileFilter) (const char *path);
void                mien_ensemble_collect_files  (const char     *path,
                                                  MienFileFilter  accept,
                                                  GPtrArray      *out);
/* The same for images (mien_dataset_is_image_name ()). */
void                mien_ensemble_collect_images (const char *path,
                                                  GPtrArray  *out);
/* The header line "path,class,p_<class>,…" and one row: the path, the predicted class (argmax
 * of `average`) and the K probabilities with six decimals; RFC 4180 quoting. */
void                mien_ensemble_append_csv_header (MienEnsemble *self,
                                                     GString      *csv);
/* Faces (predict --faces): one row per face and frame, or one row saying a frame has none.
 * Columns: path, frame (0-based; 0 for an image), timestamp (seconds, empty when unknown),
 * faces (in the frame; 0 in the row of a frame without any), face (0-based, left to right),
 * track (a video's face identity; empty for an image), x, y, width, height (the face's box in
 * pixels), score (the detector's), class, p_<class>…; a frame without faces leaves face to the
 * last column empty. */
typedef struct {
  const char     *path;
  gint64          frame;
  gint64          timestamp_us;  /* -1: none */
  guint           n_faces;
  guint           index;
  guint           track_id;      /* 0: not tracked */
  const MienFace *face;          /* NULL when n_faces is 0 */
  const float    *average;
} MienFaceRow;
void                mien_ensemble_append_faces_csv_header (MienEnsemble      *self,
                                                           GString           *csv);
void                mien_ensemble_append_faces_csv_row    (MienEnsemble      *self,
                                                           GString           *csv,
                                                           const MienFaceRow *row);
void                mien_ensemble_append_csv_row    (MienEnsemble *self,
                                                     GString      *csv,
                                                     const char   *path,
                                                     const float  *average);

/* Folder → CSV (`mien-cli predict`, the Predict page): see mien_ensemble_predict_csv (). */
typedef void (*MienPredictFailureFunc) (const char   *path,
                                        const GError *error,
                                        gpointer      user_data);
typedef void (*MienPredictSinkFunc)    (const char   *text,
                                        gpointer      user_data);
typedef struct {
  /* More inputs of the command that the CSV must not replace (the model files); may be NULL. */
  const char * const     *protect;
  /* Without a CSV path: receives the CSV as it comes, the header then each row (to print it). */
  MienPredictSinkFunc     sink;
  gpointer                sink_data;
  /* Held around each prediction when other threads use the ensemble too; may be NULL. */
  GMutex                 *lock;
  /* Hears of each image that cannot be read, on the working thread; may be NULL. */
  MienPredictFailureFunc  failure;
  gpointer                failure_data;
  /* -1 while listing, then "N of M images"; may be NULL. */
  MienProgressFunc        progress;
  gpointer                progress_data;
} MienPredictCsvOptions;

/* Predicts every image of `inputs` (files and folders, as mien_ensemble_collect_images () lists
 * them) and writes the header and a row per readable image (mien_ensemble_append_csv_row ()) to
 * `csv_path` as an output file (mien-output.h: refused when it is one of the images, one of
 * options->protect or not a regular file), or to options->sink when `csv_path` is NULL.
 * Unreadable images are left out and reported to options->failure. Fails, writing nothing and
 * leaving an old file intact, when no image is found (G_IO_ERROR_NOT_FOUND), when cancelled,
 * when a member gives non-finite probabilities (MIEN_ENSEMBLE_ERROR_NOT_FINITE) and when the
 * output cannot be written. `n_rows` (may be NULL): the rows written. */
gboolean            mien_ensemble_predict_csv       (MienEnsemble                *self,
                                                     const char * const          *inputs,
                                                     const char                  *csv_path,
                                                     const MienPredictCsvOptions *options,
                                                     guint                       *n_rows,
                                                     GCancellable                *cancellable,
                                                     GError                     **error);

G_END_DECLS
