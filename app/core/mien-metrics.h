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

G_END_DECLS
