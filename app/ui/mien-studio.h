/* mien-studio.h — what the studio's pages share: the plugin engine, the settings, the open
 * dataset and its statistics, the list of past runs, and messages for the user.
 *
 * One MienStudio exists per application; every page gets it at construction. Long work it
 * starts (decoding a dataset, generating the demo set) runs in GTask threads and reports
 * through the "busy", "progress" and "progress-text" properties; nothing blocks the main loop.
 */
#pragma once

#include <gio/gio.h>

#include "mien-core.h"
#include "mien-dataset.h"
#include "mien-ensemble.h"
#include "mien-face-detector.h"
#include "mien-run.h"

G_BEGIN_DECLS

#define MIEN_TYPE_STUDIO (mien_studio_get_type ())
G_DECLARE_FINAL_TYPE (MienStudio, mien_studio, MIEN, STUDIO, GObject)

/* `settings`: the io.github.mienapp.Mien schema. */
MienStudio         *mien_studio_new               (GSettings   *settings);
MienPluginEngine   *mien_studio_get_engine        (MienStudio  *self);
GSettings          *mien_studio_get_settings      (MienStudio  *self);

/* Folders: the settings' values, or XDG_DATA_HOME/mien/{datasets,runs} when empty. Created on
 * first use. */
char               *mien_studio_dup_runs_dir      (MienStudio  *self);
char               *mien_studio_dup_datasets_dir  (MienStudio  *self);
/* Where the built-in demo set lives: <datasets dir>/demo. */
char               *mien_studio_dup_demo_dir      (MienStudio  *self);
/* The settings' device when this libtorch has it, else the CPU. */
MienDevice          mien_studio_get_device        (MienStudio  *self);
/* libtorch threads: the settings' value, or one per processor when 0. */
int                 mien_studio_get_threads       (MienStudio  *self);

/* ---- The open dataset ------------------------------------------------------------------ */

/* Opens a class-folder tree, a CSV manifest, or a folder holding train/ (and val/), computing
 * the statistics of the training part in a thread. The previous load is cancelled. On success
 * "dataset-changed" is emitted and the path is remembered in the settings ("last-dataset");
 * on failure a message is posted and the previous dataset stays. */
void                mien_studio_open_dataset      (MienStudio  *self,
                                                   const char  *path);
/* The same for one split of a file that holds several (fer2013.csv: "train", "val", "test");
 * `split` NULL: "train" for such a file (its "val" split is then the validation part), the
 * whole of any other dataset. */
void                mien_studio_open_dataset_split (MienStudio  *self,
                                                    const char  *path,
                                                    const char  *split);
/* On first start (no last dataset, or it is gone): writes the demo set into the demo folder
 * when it is not there yet, then opens it; otherwise opens the last dataset. */
void                mien_studio_open_initial_dataset (MienStudio *self);
/* The path given to open_dataset (what a training run's "data" is); NULL before any. */
const char         *mien_studio_get_dataset_path  (MienStudio  *self);
/* The training part (`path`/train when it exists, else `path`) and its statistics; NULL
 * before the first load finishes. Borrowed. */
MienDataset        *mien_studio_get_dataset       (MienStudio  *self);
MienDatasetStats   *mien_studio_get_stats         (MienStudio  *self);
/* The validation part (`path`/val, or a file's val split) when there is one, else NULL.
 * Borrowed. */
MienDataset        *mien_studio_get_val_dataset   (MienStudio  *self);
/* The split shown (what a training run's "split" is), NULL for a dataset without splits; and
 * every split of the open file (NULL-terminated, empty when it has none). Borrowed. */
const char         *mien_studio_get_dataset_split  (MienStudio  *self);
const char * const *mien_studio_get_dataset_splits (MienStudio  *self);

/* ---- Past runs -------------------------------------------------------------------------- */

/* A GListModel of MienRun, newest first, read from the runs folder. Borrowed. */
GListModel         *mien_studio_get_runs          (MienStudio  *self);
/* Rereads the runs folder (after a run ends, or the folder setting changes). */
void                mien_studio_reload_runs       (MienStudio  *self);
/* The run in `path`, when listed. Borrowed. */
MienRun            *mien_studio_find_run          (MienStudio  *self,
                                                   const char  *path);

/* ---- Models ----------------------------------------------------------------------------- */

/* Loads the model files into an ensemble on the studio's device, in a thread. */
void                mien_studio_load_ensemble_async  (MienStudio          *self,
                                                      const char * const  *paths,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
MienEnsemble       *mien_studio_load_ensemble_finish (MienStudio          *self,
                                                      GAsyncResult        *result,
                                                      GError             **error);

/* ---- Faces ------------------------------------------------------------------------------ */

/* The smallest face looked for in a camera's frames, as a fraction of the frame's shorter side
 * (40 px in a 480-line frame): a booth's faces fill a good part of the frame, and not searching
 * for tiny ones makes the cascades several times faster (the smallest scales cost the most). */
#define MIEN_STUDIO_STREAM_MIN_FACE_FRACTION (1.0 / 12)

/* Opens the face detector the preferences name (the "face-model" setting, else YuNet's default
 * path; the first face-detector plugin's best method) in a thread, since that reads its model.
 * With `min_face_fraction` > 0 (a stream's frames) smaller faces are not searched for. The
 * callback's source object is the studio, so that the thread never touches the caller. */
void                mien_studio_open_face_detector_async  (MienStudio          *self,
                                                           double               min_face_fraction,
                                                           GCancellable        *cancellable,
                                                           GAsyncReadyCallback  callback,
                                                           gpointer             user_data);
MienFaceDetector   *mien_studio_open_face_detector_finish (MienStudio          *self,
                                                           GAsyncResult        *result,
                                                           GError             **error);

/* ---- Messages --------------------------------------------------------------------------- */

/* Posts a short message for the user (the window shows it as a toast): signal "message". */
void                mien_studio_post_message      (MienStudio  *self,
                                                   const char  *message);
void                mien_studio_post_error        (MienStudio  *self,
                                                   const char  *what,
                                                   const GError *error);

/* Properties: "busy" (gboolean), "progress" (double, 0..1 or -1), "progress-text" (string),
 * "dataset-path" (string).
 * Signals: "dataset-changed" (), "runs-changed" (), "message" (const char *). */

G_END_DECLS
