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

/* "Explain": the Grad-CAM map (mien_explain_grad_cam_ensemble ()) of the selected image's
 * whole, for a class, drawn over it with mien_explain_overlay (); with "Find faces", each
 * face's map, of the crop the models classified (mien_face_align () at their input size),
 * drawn over that crop in the image. It is computed in a thread, one at a time, after the
 * image's prediction; a change of image, models, faces mode or class cancels it.
 * `class_index` -1 is the predicted class (the default), `member` -1 the ensemble's average
 * (the default), else one model's map. These set the page's widgets, as a user would. */
void        mien_predict_page_set_explain         (MienPredictPage *self,
                                                   gboolean         explain);
void        mien_predict_page_set_explain_class   (MienPredictPage *self,
                                                   int              class_index);
void        mien_predict_page_set_explain_member  (MienPredictPage *self,
                                                   int              member);
void        mien_predict_page_set_explain_opacity (MienPredictPage *self,
                                                   double           opacity);
/* The image with the map over it, as the page shows it now, and the class explained
 * (G_MAXUINT with faces for "Predicted class": each face's own); NULL while none is shown for
 * the current choices (not computed yet, or it cannot be).
 * Returns: (transfer none) (nullable). */
GdkPixbuf  *mien_predict_page_get_explain_overlay (MienPredictPage *self,
                                                   guint           *class_index);
/* With faces, face `face`'s map drawn now (the chosen member's, or the average: float32
 * [1, S, S] as mien_explain_grad_cam_ensemble () gives it) and its class; NULL when none is
 * shown or there is no such face.
 * Returns: (transfer none) (nullable). */
MienTensor *mien_predict_page_get_explain_face_map (MienPredictPage *self,
                                                    guint            face,
                                                    guint           *class_index);
/* The message under the Explain controls ("Explaining…", or why there is no explanation, for
 * instance a model the engine cannot explain yet); NULL when none is shown. */
const char *mien_predict_page_get_explain_message (MienPredictPage *self);

G_END_DECLS
