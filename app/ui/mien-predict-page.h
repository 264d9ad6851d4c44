/* mien-predict-page.h — the Predict page: open or drop images, choose a model or an ensemble,
 * see the class probabilities of every model and of their average; a folder → CSV.
 * Actions (group "predict"): "predict.open", "predict.open-folder". */
#pragma once

#include <adwaita.h>

#include "mien-studio.h"

G_BEGIN_DECLS

#define MIEN_TYPE_PREDICT_PAGE (mien_predict_page_get_type ())
G_DECLARE_FINAL_TYPE (MienPredictPage, mien_predict_page, MIEN, PREDICT_PAGE, AdwBin)

GtkWidget *mien_predict_page_new       (MienStudio         *studio);
void       mien_predict_page_set_models (MienPredictPage   *self,
                                         const char * const *paths);
/* Predicts `file` with the chosen models (in a thread); property "busy" goes FALSE when done. */
void       mien_predict_page_open_file (MienPredictPage    *self,
                                        GFile              *file);
gboolean   mien_predict_page_get_busy  (MienPredictPage    *self);
/* The probabilities shown now: n_classes values of the average, and n_models × n_classes of
 * the members (borrowed); FALSE when nothing is shown. */
gboolean   mien_predict_page_get_probabilities (MienPredictPage *self,
                                                guint           *n_models,
                                                guint           *n_classes,
                                                const float    **per_model,
                                                const float    **average);

G_END_DECLS
