/* mien-metrics.h — classification metrics as the paper reports them.
 *
 * A confusion matrix (rows: true class, columns: predicted class) and what follows from it: per
 * class precision, recall and F1, their unweighted mean over all classes (macro F1, the paper's
 * "Avg."), and accuracy. Undefined ratios (no prediction of a class, no sample of a class) are 0,
 * as scikit-learn's zero_division=0.
 *
 * A sample can also be counted without any prediction (mien_metrics_add_missed (): a face-aware
 * evaluation that finds no face in the image): it is an error for its true class, as a
 * prediction of a class that does not exist would be, so accuracy and that class's recall (and
 * F1) fall while no class's precision changes.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "mien-core.h"

G_BEGIN_DECLS

typedef struct {
  guint     n_classes;
  char    **classes;     /* NULL-terminated */
  guint64  *confusion;   /* n_classes × n_classes, confusion[t * n_classes + p] */
  guint64  *missed;      /* n_classes: samples of each true class without a prediction */
  guint64   n;           /* samples counted (the confusion matrix and `missed`) */
  /* Filled by mien_metrics_compute (): */
  double   *precision;
  double   *recall;
  double   *f1;
  double    macro_f1;
  double    accuracy;
} MienMetrics;

MienMetrics *mien_metrics_new          (const char * const *classes);
MienMetrics *mien_metrics_copy         (const MienMetrics  *metrics);
void         mien_metrics_free         (MienMetrics        *metrics);
void         mien_metrics_add          (MienMetrics        *metrics,
                                        guint               true_class,
                                        guint               predicted_class);
/* Counts a sample of `true_class` for which nothing was predicted, as an error. */
void         mien_metrics_add_missed   (MienMetrics        *metrics,
                                        guint               true_class);
/* Counts a batch: `targets` int64 [N], `scores` [N, K] (logits or probabilities, any device; the
 * prediction is the argmax). */
gboolean     mien_metrics_add_batch    (MienMetrics        *metrics,
                                        MienTensor         *targets,
                                        MienTensor         *scores,
                                        GError            **error);
/* Fills precision, recall, f1, macro_f1 and accuracy from the confusion matrix. */
void         mien_metrics_compute      (MienMetrics        *metrics);

/* {"classes": [...], "f1": [...], "precision": [...], "recall": [...], "macro_f1": x,
 *  "accuracy": x, "confusion": [[...], ...], "n": n} — computes first; with "missed": [...]
 * (per true class) only when a sample was counted without a prediction. */
JsonNode    *mien_metrics_to_json      (MienMetrics        *metrics);
/* The inverse (for metrics stored in model files and logs); checks every size. */
MienMetrics *mien_metrics_from_json    (JsonNode           *node,
                                        GError            **error);

/* The paper's table: a header row "Method", one column per class (names capitalised), "Avg.",
 * then one row per entry of `rows` (named by `names`): F1 per class and macro F1 with 4 decimals,
 * columns aligned, plain text. All rows must have the same classes. */
char        *mien_metrics_format_table (MienMetrics        **rows,
                                        const char * const  *names,
                                        guint                n_rows);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienMetrics, mien_metrics_free)

/* ---- Each sample's prediction, for the mistakes to look at -------------------------------- */

/* What an evaluation predicted for each sample, in the order added (an evaluation adds them in
 * dataset order, so sample i is the dataset's sample i): its path, true class and the K
 * probabilities. No image is kept. A sample without a prediction (unreadable, no face) keeps
 * its path and class; its `predicted` is -1 and its probabilities are zeros. */
typedef struct {
  guint     n_classes;
  guint     n;              /* samples */
  char    **paths;          /* n */
  guint    *labels;         /* n: the true classes */
  int      *predicted;      /* n: the argmax of the probabilities, -1 without a prediction */
  float    *probabilities;  /* n × n_classes */
  /* private */
  guint     allocated;
} MienPredictions;

/* All true classes at once, for mien_predictions_mistakes (). */
#define MIEN_PREDICTIONS_ALL_CLASSES (-1)

MienPredictions *mien_predictions_new      (guint                  n_classes);
void             mien_predictions_free     (MienPredictions       *predictions);
/* Adds a sample; `probabilities` (n_classes values) NULL for a sample without a prediction. The
 * prediction is mien_probabilities_argmax () of them. */
void             mien_predictions_add      (MienPredictions       *predictions,
                                            const char            *path,
                                            guint                  true_class,
                                            const float           *probabilities);
/* The most confidently wrong samples of `true_class` (MIEN_PREDICTIONS_ALL_CLASSES: of any
 * class): those predicted as another class, the highest probability of the class predicted
 * first, equal probabilities in the order of their paths (strcmp (), then the order added),
 * at most `n` of them. Returns: (transfer full): a new array of guint sample indices. */
GArray          *mien_predictions_mistakes (const MienPredictions *predictions,
                                            int                    true_class,
                                            guint                  n);

/* The class with the highest probability in p[k] (the first of equals). */
guint            mien_probabilities_argmax (const float           *p,
                                            guint                  k);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienPredictions, mien_predictions_free)

G_END_DECLS
