/* mien-capture.h — recording face crops from a camera or a video into a class-folder dataset.
 *
 * The booth's way to make a dataset: a person sits in front of the camera, holds the button of
 * a class (or `mien-cli capture --class NAME`), and what lands in DATASET/CLASS/ are aligned
 * face crops — the face pipeline's alignment (mien_face_align ()), the margin and size chosen
 * for training — never whole frames. Of each frame the largest face is recorded. A frame is
 * skipped, and counted by its reason, when
 *   - no face is found in it (MIEN_CAPTURE_NO_FACE);
 *   - the crop is blurred: the variance of the Laplacian of its luminance, measured on the crop
 *     scaled to MIEN_CAPTURE_SHARPNESS_SIZE pixels (so that a small face upscaled to 224 px is
 *     not called blurred for that), is under `min_sharpness` (MIEN_CAPTURE_BLURRED);
 *   - the crop is a near-duplicate of the last crop kept for the same class: the mean absolute
 *     difference of their 32 × 32 luminance thumbnails is under `min_difference` grey levels
 *     (MIEN_CAPTURE_DUPLICATE);
 *   - it comes less than `every_us` after the last crop kept for that class, by the frame's
 *     timestamp, or by the clock when it has none (MIEN_CAPTURE_TOO_SOON).
 *
 * A crop is written as a PNG named capture-YYYYMMDD-HHMMSS-NNNN.png (NNNN counting up, never
 * reusing a name that exists) through a temporary file in the class folder, synced and renamed:
 * a crop is either complete or absent, whatever happens, and nothing there is overwritten.
 *
 * Class names become folder names: a name is refused (MIEN_CAPTURE_ERROR_CLASS) when it is
 * empty, longer than 64 bytes, not UTF-8, starts with a dot, or holds a slash, a backslash or a
 * control character. The dataset folder is made when missing; a path that exists and is not a
 * folder is refused (MIEN_CAPTURE_ERROR_DATASET).
 *
 * A MienCapture is used from one thread at a time (its detector belongs to it). Front ends that
 * must not block (the studio) push frames with mien_capture_push (), which works on a thread of
 * its own and reports on the main context that was thread-default at mien_capture_new ().
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>

#include "mien-face-align.h"
#include "mien-face-detector.h"

G_BEGIN_DECLS

#define MIEN_CAPTURE_ERROR (mien_capture_error_quark ())
GQuark mien_capture_error_quark (void);

typedef enum {
  MIEN_CAPTURE_ERROR_DATASET,  /* the dataset path is not a folder, or cannot be made */
  MIEN_CAPTURE_ERROR_CLASS,    /* a class name that cannot be a folder name (see above) */
  MIEN_CAPTURE_ERROR_WRITE,    /* a crop could not be written (the disk is full, …) */
  MIEN_CAPTURE_ERROR_OPTIONS,  /* an option out of its range */
} MienCaptureError;

typedef enum {
  MIEN_CAPTURE_KEPT,
  MIEN_CAPTURE_NO_FACE,
  MIEN_CAPTURE_BLURRED,
  MIEN_CAPTURE_DUPLICATE,
  MIEN_CAPTURE_TOO_SOON,
  MIEN_CAPTURE_N_OUTCOMES
} MienCaptureOutcome;

/* For people: "kept", "no face", "blurred", "near-duplicate", "too soon" (translated). */
const char *mien_capture_outcome_to_string (MienCaptureOutcome outcome);

#define MIEN_CAPTURE_SHARPNESS_SIZE 64

typedef struct {
  int      size;            /* the crops' side in pixels, 16..1024 */
  double   margin;          /* of the face's box, on each side (MienFaceAlignOptions), 0..1 */
  gboolean rotate;          /* level the eyes when the detector gives landmarks */
  gboolean grey;            /* store grey crops (for grey datasets such as FER2013) */
  double   min_sharpness;   /* variance of the Laplacian; 0 keeps blurred crops. The default,
                             * 50: a sharp 170-px face (one-smiling.jpg) measures about 900, the
                             * same box-blurred over 13 px 110, over 25 px 26 */
  double   min_difference;  /* mean absolute difference in grey levels; 0 keeps duplicates */
  gint64   every_us;        /* the least time between two crops of a class; 0: no limit */
} MienCaptureOptions;

#define MIEN_CAPTURE_OPTIONS_INIT { 224, 0.2, TRUE, FALSE, 50.0, 3.0, 0 }

/* What one frame gave. */
typedef struct {
  MienCaptureOutcome outcome;
  char              *class_name;  /* the class the frame was recorded for */
  char              *path;        /* KEPT: the crop's file; else NULL */
  GdkPixbuf         *crop;        /* the crop when one was made (KEPT, BLURRED, DUPLICATE,
                                   * TOO_SOON), for thumbnails; else NULL */
  gboolean           has_face;
  MienFace           face;        /* the face recorded (when has_face), in frame pixels */
  double             sharpness;   /* of the crop (when made) */
  double             difference;  /* from the class's last kept crop; -1 without one */
} MienCaptureResult;

#define MIEN_TYPE_CAPTURE_RESULT (mien_capture_result_get_type ())
GType              mien_capture_result_get_type (void);
MienCaptureResult *mien_capture_result_copy     (const MienCaptureResult *result);
void               mien_capture_result_free     (MienCaptureResult       *result);

#define MIEN_TYPE_CAPTURE (mien_capture_get_type ())
G_DECLARE_FINAL_TYPE (MienCapture, mien_capture, MIEN, CAPTURE, GObject)

/* `detector` must be prepared; it belongs to the capture from now on. `options` NULL means
 * MIEN_CAPTURE_OPTIONS_INIT. Makes `dataset_dir` when it is missing. */
MienCapture       *mien_capture_new           (const char                *dataset_dir,
                                               MienFaceDetector          *detector,
                                               const MienCaptureOptions  *options,
                                               GError                   **error);
const char        *mien_capture_get_dataset_dir (MienCapture *self);
const MienCaptureOptions *mien_capture_get_options (MienCapture *self);

/* Whether `name` can be a class (folder) name; FALSE with MIEN_CAPTURE_ERROR_CLASS saying why. */
gboolean           mien_capture_check_class_name (const char *name,
                                                  GError    **error);

/* One frame for `class_name` (its folder is made with the first crop kept): the largest face
 * found, aligned, checked and written, or the reason it was skipped. `pts_us` is the frame's
 * timestamp (-1: none, the clock is used; one earlier than the class's last crop, as when a
 * video starts again, is a new stream and never too soon). NULL (and `error`) only when the
 * detector fails, the class name is refused or the crop cannot be written — the dataset is then
 * as it was. Counts every outcome. */
MienCaptureResult *mien_capture_add_frame     (MienCapture  *self,
                                               GdkPixbuf    *frame,
                                               const char   *class_name,
                                               gint64        pts_us,
                                               GError      **error);

/* The frames of each outcome so far (all classes), and the crops kept for one class so far. */
guint64            mien_capture_get_n_outcome (MienCapture        *self,
                                               MienCaptureOutcome  outcome);
guint64            mien_capture_get_n_kept_for (MienCapture *self,
                                                const char  *class_name);

/* The images in DATASET/CLASS now (mien_dataset_is_image_name ()), whoever made them: for the
 * count a front end shows beside each class. 0 when the folder does not exist. */
guint              mien_capture_count_images  (const char *dataset_dir,
                                               const char *class_name);

/* Deletes a crop this capture wrote (a "delete" on a bad thumbnail); refuses any other path. */
gboolean           mien_capture_delete        (MienCapture  *self,
                                               const char   *path,
                                               GError      **error);

/* Asynchronous use (the studio): the frame goes to the capture's own thread, where it waits in a
 * one-frame mailbox (a frame pushed while another waits replaces it; the one replaced is counted
 * as dropped, not as an outcome). Each frame processed is reported as the "result" signal
 * (MIEN_TYPE_CAPTURE_RESULT, const MienCaptureResult *, valid during the emission), a failure
 * as "error" (G_TYPE_ERROR, const GError *), on the main context of mien_capture_new (). Not
 * mixed with mien_capture_add_frame () on another thread. */
void               mien_capture_push          (MienCapture  *self,
                                               GdkPixbuf    *frame,
                                               const char   *class_name,
                                               gint64        pts_us);
guint64            mien_capture_get_n_dropped (MienCapture  *self);
/* Waits for the frame in progress and stops the thread; no signal afterwards. Idempotent;
 * finalize does it too. */
void               mien_capture_stop          (MienCapture  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienCaptureResult, mien_capture_result_free)

G_END_DECLS
