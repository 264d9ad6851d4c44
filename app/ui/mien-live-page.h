/* mien-live-page.h — the Live page: camera frames (GStreamer) with the chosen model's or
 * ensemble's predictions drawn over them, frames/s and latency. Inference runs in a worker
 * thread that drops frames rather than queueing them (MienFramePredictor).
 * Actions (group "live"): "live.start", "live.stop".
 *
 * "live.start" is enabled only when it can start at once: camera support was checked (on a
 * thread, when the page is made), the models given last are loaded (set_models and the chooser
 * load them asynchronously) and nothing is running or still stopping. Property "ready" (read
 * only, notified) says exactly that; a caller waits for it, then activates "live.start".
 * Changing the models while running keeps the camera and swaps the predictor once the new
 * models are loaded. */
#pragma once

#include <adwaita.h>

#include "mien-frame-predictor.h"
#include "mien-studio.h"

G_BEGIN_DECLS

#define MIEN_TYPE_LIVE_PAGE (mien_live_page_get_type ())
G_DECLARE_FINAL_TYPE (MienLivePage, mien_live_page, MIEN, LIVE_PAGE, AdwBin)

GtkWidget *mien_live_page_new            (MienStudio         *studio);
/* A MienCamera source id ("test", "file:PATH", "v4l2:/dev/video0", ...). */
void       mien_live_page_set_source     (MienLivePage       *self,
                                          const char         *source_id);
void       mien_live_page_set_models     (MienLivePage       *self,
                                          const char * const *paths);
/* The model files chosen now (transfer full; empty when none). */
GStrv      mien_live_page_dup_models     (MienLivePage       *self);
/* Property "running". Frames shown and predictions drawn since the last start, for tests. */
gboolean   mien_live_page_get_running    (MienLivePage       *self);
/* Property "ready": whether "live.start" is enabled (see above). */
gboolean   mien_live_page_get_ready      (MienLivePage       *self);
guint64    mien_live_page_get_n_frames_shown (MienLivePage   *self);
guint64    mien_live_page_get_n_predictions  (MienLivePage   *self);
/* Faces mode: the faces of the latest frame searched. */
guint      mien_live_page_get_n_faces        (MienLivePage   *self);

/* "Explain": the models' Grad-CAM of the predicted faces (or region), computed on the
 * predictor's thread at a lower rate than predictions (mien_frame_predictor_set_explain ()) and
 * drawn over them; off removes them. Sets the page's switch, as a user would. */
void       mien_live_page_set_explain        (MienLivePage   *self,
                                              gboolean        explain);
/* Explanations received since the page started its source. */
guint64    mien_live_page_get_n_explanations (MienLivePage   *self);
/* The explanation drawn now (NULL: none). Returns: (transfer none) (nullable). */
const MienFrameExplanation *mien_live_page_get_explanation (MienLivePage *self);

G_END_DECLS
