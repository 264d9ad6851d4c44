/* mien-metrics.h — classification metrics as the paper reports them.
 *
 * A confusion matrix (rows: true class, columns: predicted class) and what follows from it: per
 * class precision, recall and F1, their unweighted mean over all classes (macro F1, the paper's
 * "Avg."), and accuracy. Undefined ratios (no prediction of a class, no sample of a class) are 0,
 * as scikit-learn's zero_division=0.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "mien-core.h"

G_BEGIN_DECLS

typedef struct {
  guint     n_classes;
  char    **classes;     /* NULL-terminated */
  guint64  *confusion;   /* n_classes × n_classes, confusion[t * n_classes + p] */
  guint64   n;           /* samples counted */
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
/* Counts a batch: `targets` int64 [N], `scores` [N, K] (logits or probabilities, any device; the
 * prediction is the argmax). */
gboolean     mien_metrics_add_batch    (MienMetrics        *metrics,
                                        MienTensor         *targets,
                                        MienTensor         *scores,
                                        GError            **error);
/* Fills precision, recall, f1, macro_f1 and accuracy from the confusion matrix. */
void         mien_metrics_compute      (MienMetrics        *metrics);

/* {"classes": [...], "f1": [...], "precision": [...], "recall": [...], "macro_f1": x,
 *  "accuracy": x, "confusion": [[...], ...], "n": n} — computes first. */
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
