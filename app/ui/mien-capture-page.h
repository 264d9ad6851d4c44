/* mien-capture-page.h — the Capture page: record face crops of each class from the camera (or a
 * looped image or video file) into a class-folder dataset, then train on it.
 *
 * The page draws; MienCapture (core) decides what is kept. While a class's record button or its
 * number key (1–9, the classes in their order) is held, the frames shown go to
 * mien_capture_push () for that class; each class shows its images (those in its folder when
 * the dataset was opened, plus the crops kept since, minus those deleted), and the frames skipped
 * are counted by reason. The newest crops are shown as thumbnails, each with a delete button.
 * Leaving the page or closing the window stops the camera and the capture thread on a thread of
 * their own: nothing on the main loop waits for a detection, and every crop kept stays.
 *
 * Actions (group "capture"): "capture.start", "capture.stop" (the video source),
 * "capture.new-dataset", "capture.open-dataset" (ask with a dialog / chooser),
 * "capture.train" (opens the dataset on the Train page), and with a string parameter
 * "capture.delete-crop" (a thumbnail's file), "capture.rename-class", "capture.remove-class"
 * (a class with no images).
 *
 * Settings: the source is the Live page's ("live-source"), the detector "face-model"; the crops'
 * "capture-size", "capture-margin" and "capture-grey".
 */
#pragma once

#include <adwaita.h>

#include "mien-capture.h"
#include "mien-studio.h"

G_BEGIN_DECLS

#define MIEN_TYPE_CAPTURE_PAGE (mien_capture_page_get_type ())
G_DECLARE_FINAL_TYPE (MienCapturePage, mien_capture_page, MIEN, CAPTURE_PAGE, AdwBin)

GtkWidget  *mien_capture_page_new              (MienStudio       *studio);

/* Makes the folder `name` in the studio's datasets folder and records into it, with the six
 * ABAW4 classes. Refuses a name that cannot be a folder name and a dataset that exists. */
gboolean    mien_capture_page_new_dataset      (MienCapturePage  *self,
                                                const char       *name,
                                                GError          **error);
/* Records into the class-folder dataset at `path` (into its train/ folder when it has one): its
 * class folders become the classes. Read on a thread; property "dataset-dir" is notified once it
 * is open, and a failure is shown on the page. */
void        mien_capture_page_open_dataset     (MienCapturePage  *self,
                                                const char       *path);
/* Property "dataset-dir": the dataset recorded into (what "capture.train" opens); NULL before
 * one is chosen. */
const char *mien_capture_page_get_dataset_dir  (MienCapturePage  *self);
/* A MienCamera source id, as mien_live_page_set_source (). */
void        mien_capture_page_set_source       (MienCapturePage  *self,
                                                const char       *source_id);

/* Property "running": the video source is on. Property "ready": frames are being recorded when
 * a class is held (the source is on and its face detector open). */
gboolean    mien_capture_page_get_running      (MienCapturePage  *self);
gboolean    mien_capture_page_get_ready        (MienCapturePage  *self);

/* What the page shows, for tests: the images it counts for `class_name` (G_MAXUINT for a class
 * it does not list), the frames of each outcome since the page was made, the thumbnails shown
 * and the file of the thumbnail at `index` (0 = the newest; NULL past the end). */
guint       mien_capture_page_get_count        (MienCapturePage  *self,
                                                const char       *class_name);
guint64     mien_capture_page_get_n_outcome    (MienCapturePage  *self,
                                                MienCaptureOutcome outcome);
guint       mien_capture_page_get_n_thumbnails (MienCapturePage  *self);
const char *mien_capture_page_get_thumbnail_path (MienCapturePage *self,
                                                  guint            index);

G_END_DECLS
