/* mien-kiosk-window.h — full screen live predictions for a booth, left running all day.
 *
 * `mien --kiosk` and the primary menu's "Kiosk Mode" open it: the camera's frames (mirrored if
 * the settings say so) with every face's class and probabilities drawn large over them, and no
 * controls. It finds faces with the face pipeline (MienCamera → MienFrameFeed →
 * MienFramePredictor in faces mode; YuNet when its model file is there, else the cascades).
 * Nobody in view for the settings' delay: an attract screen. The camera fails or stops sending
 * frames: a "camera unavailable" screen and a new try every few seconds, until it is back. The
 * pointer hides after a few seconds without motion. S saves a snapshot of the annotated frame;
 * with the log turned on, every face's prediction is recorded as CSV (mien-prediction-log.h)
 * in the settings' snapshots folder. Leaving takes a deliberate gesture (Escape held for two
 * seconds, or Ctrl+Alt+Q) and a confirmation; closing the window any other way is refused.
 */
#pragma once

#include <adwaita.h>

#include "mien-live-overlay.h"

#include "mien-prediction-log.h"
#include "mien-studio.h"

G_BEGIN_DECLS

typedef enum {
  MIEN_KIOSK_STATE_STARTING,     /* models loading, detector opening, first frame awaited */
  MIEN_KIOSK_STATE_LIVE,         /* frames with predictions */
  MIEN_KIOSK_STATE_ATTRACT,      /* nobody in view for the attract delay */
  MIEN_KIOSK_STATE_UNAVAILABLE,  /* the camera failed or stopped sending frames: retrying */
  MIEN_KIOSK_STATE_FAILED,       /* no models, or they could not be loaded: nothing to retry */
} MienKioskState;

#define MIEN_TYPE_KIOSK_WINDOW (mien_kiosk_window_get_type ())
G_DECLARE_FINAL_TYPE (MienKioskWindow, mien_kiosk_window, MIEN, KIOSK_WINDOW, AdwApplicationWindow)

/* `models`: the model files of the ensemble (NULL-terminated); `source_id`: a MienCamera source,
 * or NULL for the "live-source" setting. The window goes full screen when presented. */
GtkWidget        *mien_kiosk_window_new        (GtkApplication      *app,
                                                MienStudio          *studio,
                                                const char * const  *models,
                                                const char          *source_id);
MienKioskState    mien_kiosk_window_get_state  (MienKioskWindow     *self);
guint64           mien_kiosk_window_get_n_frames_shown (MienKioskWindow *self);
guint64           mien_kiosk_window_get_n_predictions  (MienKioskWindow *self);
/* Faces in the newest detection. */
guint             mien_kiosk_window_get_n_faces        (MienKioskWindow *self);
/* Attempts to start the camera after it was lost (or could not start). */
guint             mien_kiosk_window_get_n_retries      (MienKioskWindow *self);
/* The overlay the faces are drawn with (its labels: class names, with emoji when asked). */
MienLiveOverlay  *mien_kiosk_window_get_overlay        (MienKioskWindow *self);
/* The annotated frame shown now, at the frame's size, to `path` as PNG (atomically); `path`
 * NULL: a new file in the snapshots folder. Returns the path written, or NULL with `error` set. */
char             *mien_kiosk_window_save_snapshot (MienKioskWindow  *self,
                                                   const char       *path,
                                                   GError          **error);
/* The session's log (NULL while the log is off or the models are not loaded yet), and the
 * file it is written to. */
MienPredictionLog *mien_kiosk_window_get_log      (MienKioskWindow  *self);
const char        *mien_kiosk_window_get_log_path (MienKioskWindow  *self);
/* Writes the log to its file now (it is also written every few seconds and at the end). */
gboolean           mien_kiosk_window_save_log     (MienKioskWindow  *self,
                                                   GError          **error);
/* What the leaving gestures do: asks for a confirmation, then closes the window. */
void               mien_kiosk_window_request_leave (MienKioskWindow *self);

G_END_DECLS
