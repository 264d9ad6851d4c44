/* mien-predict-page.h — the Predict page: open or drop images, choose a model or an ensemble,
 * see the class probabilities of every model and of their average; a folder → CSV.
 * Actions (group "predict"): "predict.open", "predict.open-folder". */
#pragma once

#include <adwaita.h>

#include "mien-face-detector.h"
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

/* "Find faces" (the setting "predict-faces", which this writes): each face of an image is
 * predicted on its own; off, the whole image is, as mien-cli predict does. With faces on,
 * get_probabilities () gives FALSE unless the whole image is what is shown (no face was found
 * and the user asked for the whole image, or the detector could not be opened). */
void       mien_predict_page_set_find_faces (MienPredictPage *self,
                                             gboolean         find_faces);
gboolean   mien_predict_page_get_find_faces (MienPredictPage *self);
/* The number of faces found in the selected image (0: none); -1 while it is not known: no
 * image, faces off, not searched yet, no model, or the search failed. */
int        mien_predict_page_get_n_faces    (MienPredictPage *self);
/* Face `face` (0-based, left to right, numbered from 1 on screen) of the selected image: its
 * box (may be NULL) and probabilities, borrowed as in get_probabilities (); FALSE when there
 * is no such face (yet). */
gboolean   mien_predict_page_get_face_probabilities (MienPredictPage  *self,
                                                     guint             face,
                                                     MienFace         *box,
                                                     guint            *n_models,
                                                     guint            *n_classes,
                                                     const float     **per_model,
                                                     const float     **average);

G_END_DECLS
