/* mien-opencv-faces.h — the C side of the OpenCV face detectors used by the opencv plugin.
 *
 * Plain C, like app/torch/mien-torch.h: the plugin's GObject code never sees a C++ header, and no
 * C++ exception ever leaves mien-opencv-faces.cpp (each one becomes a GError in the
 * MIEN_FACE_DETECTOR_ERROR domain). Handles are owned by the caller; arguments are borrowed.
 */
#pragma once

#include <glib.h>

#include "mien-face-detector.h"

G_BEGIN_DECLS

typedef struct _MienOpencvFaces MienOpencvFaces;

/* How a cascade searches: passed to cv::CascadeClassifier::detectMultiScale (). */
typedef struct {
  double   scale_factor;   /* between two sizes of the image pyramid, > 1 */
  int      min_neighbours; /* raw hits a face needs to be kept */
  gboolean equalise;       /* equalise the grey image's histogram first */
} MienOpencvCascadeParams;

/* YuNet (cv::FaceDetectorYN) from its ONNX file; fails with MIEN_FACE_DETECTOR_ERROR_MODEL when
 * the file is missing or is not a model OpenCV can read. */
MienOpencvFaces *mien_opencv_faces_new_yunet   (const char                    *model_path,
                                                GError                       **error);
/* A Haar or LBP cascade from its XML file (MIEN_FACE_DETECTOR_ERROR_MODEL when it won't load). */
MienOpencvFaces *mien_opencv_faces_new_cascade (const char                    *cascade_path,
                                                const MienOpencvCascadeParams *params,
                                                GError                       **error);
void             mien_opencv_faces_free        (MienOpencvFaces               *self);

/* Appends the faces of a packed 8-bit RGB frame to `faces` (GArray of MienFace). Faces smaller
 * than `min_face_size` pixels are not looked for (cascades) or dropped (YuNet); YuNet also drops
 * faces scoring under `score_threshold`. */
gboolean         mien_opencv_faces_detect      (MienOpencvFaces               *self,
                                                const guint8                  *rgb,
                                                int                            width,
                                                int                            height,
                                                int                            rowstride,
                                                int                            min_face_size,
                                                float                          score_threshold,
                                                GArray                        *faces,
                                                GError                       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienOpencvFaces, mien_opencv_faces_free)

G_END_DECLS
