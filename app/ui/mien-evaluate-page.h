/* mien-evaluate-page.h — the Evaluate page: the paper-style table (per-class F1 and Avg.) for
 * several runs side by side, a confusion-matrix heatmap whose cells open their images, and
 * exports. Actions (group "evaluate"): "evaluate.export-csv", "evaluate.export-chart". */
#pragma once

#include <adwaita.h>

#include "mien-chart.h"
#include "mien-studio.h"

G_BEGIN_DECLS

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
/* Writes the table as CSV (header: Method, one column per class, Avg., Acc.). */
gboolean     mien_evaluate_page_export_csv     (MienEvaluatePage   *self,
                                                const char         *path,
                                                GError            **error);

G_END_DECLS
