/* mien-evaluate-page.h — the Evaluate page: the paper-style table (per-class F1 and Avg.) for
 * several runs side by side, a confusion-matrix heatmap whose cells open their images, and
 * exports. Actions (group "evaluate"): "evaluate.export-csv", "evaluate.export-chart",
 * "evaluate.other-dataset" (a folder), "evaluate.other-file" (a dataset file),
 * "evaluate.other-split", "evaluate.cancel". Below the matrix, the focused row's mistakes: the
 * images of each true class predicted wrong with the most confidence (mien_predictions_mistakes
 * ()), and for the one clicked its probabilities and Grad-CAM heat maps for the predicted and
 * the true class, computed in a thread. */
#pragma once

#include <adwaita.h>

#include "mien-chart.h"
#include "mien-studio.h"

G_BEGIN_DECLS

/* How opaque the heat maps drawn over a mistake's image are (mien_explain_overlay ()): half,
 * as pytorch-grad-cam's show_cam_on_image () blends by default. */
#define MIEN_EVALUATE_HEAT_MAP_OPACITY 0.5

#define MIEN_TYPE_EVALUATE_PAGE (mien_evaluate_page_get_type ())
G_DECLARE_FINAL_TYPE (MienEvaluatePage, mien_evaluate_page, MIEN, EVALUATE_PAGE, AdwBin)

GtkWidget   *mien_evaluate_page_new            (MienStudio         *studio);
/* Selects the runs shown in the table (paths of run folders the studio lists). */
void         mien_evaluate_page_select_runs    (MienEvaluatePage   *self,
                                                const char * const *run_paths);
/* The table as shown: rows (one per selected run), for tests; NULL-terminated names. */
guint        mien_evaluate_page_get_n_rows     (MienEvaluatePage   *self);
const char  *mien_evaluate_page_get_row_name   (MienEvaluatePage   *self,
                                                guint               row);
/* The heatmap, for tests. */
MienHeatmap *mien_evaluate_page_get_heatmap    (MienEvaluatePage   *self);
/* What choosing `path` with "Evaluate on Another Dataset" does (a folder, or a file the Dataset
 * page opens): a folder is evaluated at once; a file is read in a thread, then evaluated at once
 * when it has one split, else its splits are offered (mien_evaluate_page_get_split_dropdown ())
 * and action "evaluate.other-split" evaluates the one selected. */
void         mien_evaluate_page_open_other     (MienEvaluatePage   *self,
                                                const char         *path);
GtkDropDown *mien_evaluate_page_get_split_dropdown (MienEvaluatePage *self);
/* Writes the table as CSV (header: Method, one column per class, Avg., Acc.). */
gboolean     mien_evaluate_page_export_csv     (MienEvaluatePage   *self,
                                                const char         *path,
                                                GError            **error);

G_END_DECLS
