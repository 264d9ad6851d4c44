/* mien-face-model.h — the face detector's model file: where Mien keeps it, checking it, fetching it.
 *
 * YuNet (OpenCV Zoo, MIT licence) is one 338 KiB ONNX file. A build from source does not ship
 * it: the user downloads it once (mien-cli detectors --download, or the studio's preferences,
 * both through mien_download_file ()), or points to a copy; the Flatpak ships it. A download is
 * verified against the SHA-256 and size below before it takes the place of anything, so an
 * interrupted, truncated or tampered transfer never leaves a file the detector would load.
 */
#pragma once

#include <gio/gio.h>

#include "mien-core.h"
#include "mien-download.h"
#include "mien-face-detector.h"

G_BEGIN_DECLS

typedef struct {
  const char *name;       /* "YuNet" */
  const char *file_name;  /* "face_detection_yunet_2022mar.onnx" */
  const char *url;        /* pinned to a revision of opencv_zoo */
  const char *sha256;     /* lower-case hex */
  gint64      size;       /* bytes */
  const char *licence;
} MienFaceModelInfo;

const MienFaceModelInfo *mien_face_model_get_yunet (void);

/* Where a download of the YuNet file goes: $MIEN_YUNET_MODEL when set, else
 * $XDG_DATA_HOME/mien/models/FILE_NAME. */
char     *mien_face_model_get_download_path (void);
/* Where the YuNet file is looked for: the download path when $MIEN_YUNET_MODEL is set or the
 * file is there; else a copy shipped with Mien (mien/models/FILE_NAME under a system data
 * folder, $XDG_DATA_DIRS: the Flatpak's /app/share, a distribution's /usr/share) when there is
 * one; else the download path. The file need not exist. */
char     *mien_face_model_get_default_path (void);

/* A face detector ready to detect: the plugin and method of `spec` ("opencv", "opencv:haar"; NULL
 * or "": the first face-detector plugin and its best available method), with its "model-file"
 * (when it has one) set to `model_file`, or to the default path when that is NULL. */
MienFaceDetector *mien_face_model_open_detector (MienPluginEngine *engine,
                                                 const char       *spec,
                                                 const char       *model_file,
                                                 GError          **error);

/* Whether `path` holds exactly `expected_size` bytes with that SHA-256 (`expected_size` < 0: any
 * size). */
gboolean  mien_face_model_verify  (const char    *path,
                                   const char    *sha256,
                                   gint64         expected_size,
                                   GError       **error);

G_END_DECLS
