/* mien-face-detector.h — the interface every face-detector plugin implements.
 *
 * A plugin of kind "face-detector" (X-Mien-Kind=face-detector in its key file) registers one
 * GType implementing MienFaceDetector. An instance offers one or more methods (the OpenCV plugin:
 * "yunet", a small CNN that needs its ONNX model file, and the "haar" and "lbp" cascades that
 * Debian's opencv-data ships); mien_face_detector_prepare () chooses one and loads what it needs,
 * mien_face_detector_detect () finds the faces in one RGB frame.
 *
 * Faces are boxes in frame pixels with a score, and, when the method gives them, five landmarks
 * in YuNet's order: the subject's right eye (on the left of the picture), left eye, nose tip,
 * right and left mouth corners. Everything a front end does with faces after that (alignment,
 * tracking, classification) belongs to the core, not to plugins.
 *
 * An instance is used from one thread at a time (a detector holds per-frame buffers); different
 * instances may run in different threads.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib-object.h>

G_BEGIN_DECLS

#define MIEN_FACE_DETECTOR_ERROR (mien_face_detector_error_quark ())
GQuark mien_face_detector_error_quark (void);

typedef enum {
  MIEN_FACE_DETECTOR_ERROR_UNKNOWN_METHOD,
  MIEN_FACE_DETECTOR_ERROR_MODEL,        /* a model file missing, unreadable or not a model */
  MIEN_FACE_DETECTOR_ERROR_NOT_PREPARED, /* detect () before prepare () */
  MIEN_FACE_DETECTOR_ERROR_INPUT,        /* an empty frame, an unsupported pixel layout */
  MIEN_FACE_DETECTOR_ERROR_FAILED,       /* the library failed (its message follows) */
} MienFaceDetectorError;

typedef enum {
  MIEN_FACE_LANDMARK_RIGHT_EYE,
  MIEN_FACE_LANDMARK_LEFT_EYE,
  MIEN_FACE_LANDMARK_NOSE,
  MIEN_FACE_LANDMARK_RIGHT_MOUTH,
  MIEN_FACE_LANDMARK_LEFT_MOUTH,
  MIEN_FACE_N_LANDMARKS
} MienFaceLandmark;

typedef struct {
  float    x, y, width, height;  /* the box, in frame pixels (may reach past the frame's edges) */
  float    score;                /* the detector's confidence in [0, 1] (cascades: 1) */
  gboolean has_landmarks;
  float    landmarks[MIEN_FACE_N_LANDMARKS][2];  /* (x, y) in frame pixels */
} MienFace;

typedef struct {
  const char *name;         /* "yunet", "haar", "lbp": the part after PLUGIN: on command lines */
  const char *description;  /* one line, for people */
  gboolean    landmarks;    /* whether its faces have landmarks */
} MienFaceDetectorMethod;

#define MIEN_TYPE_FACE_DETECTOR (mien_face_detector_get_type ())
G_DECLARE_INTERFACE (MienFaceDetector, mien_face_detector, MIEN, FACE_DETECTOR, GObject)

struct _MienFaceDetectorInterface
{
  GTypeInterface parent_iface;

  /* Static table, in order of preference (the first is the best when it can be prepared). */
  const MienFaceDetectorMethod *(*list_methods) (MienFaceDetector *self,
                                                 guint            *n_methods);
  /* Whether `method` can be prepared now (its model file is there), without loading it; on FALSE
   * `error` says what is missing. */
  gboolean (*is_available) (MienFaceDetector             *self,
                            const MienFaceDetectorMethod *method,
                            GError                      **error);
  /* Loads what `method` needs. Called again, it replaces the method. */
  gboolean (*prepare)      (MienFaceDetector             *self,
                            const MienFaceDetectorMethod *method,
                            GError                      **error);
  /* The faces in a packed 8-bit RGB frame (3 channels, rows `rowstride` bytes apart), appended
   * to `faces` (a GArray of MienFace). */
  gboolean (*detect)       (MienFaceDetector *self,
                            const guint8     *rgb,
                            int               width,
                            int               height,
                            int               rowstride,
                            GArray           *faces,
                            GError          **error);

  /*< private >*/
  gpointer padding[12];
};

const MienFaceDetectorMethod *mien_face_detector_list_methods (MienFaceDetector *self,
                                                               guint            *n_methods);
/* NULL or "" gives the first method that is available; NULL (and `error`) when there is no such
 * method or none is available. */
const MienFaceDetectorMethod *mien_face_detector_find_method  (MienFaceDetector *self,
                                                               const char       *name,
                                                               GError          **error);
gboolean     mien_face_detector_is_available (MienFaceDetector *self,
                                              const char       *method,
                                              GError          **error);
/* `method` NULL or "": the first available (see find_method). */
gboolean     mien_face_detector_prepare      (MienFaceDetector *self,
                                              const char       *method,
                                              GError          **error);
/* The method of the last successful prepare, or NULL. */
const MienFaceDetectorMethod *mien_face_detector_get_method (MienFaceDetector *self);
/* The faces in `frame` (RGB or RGBA, 8 bits), as a new GArray of MienFace sorted left to right
 * (then top to bottom); an empty array when there is none. Checks the frame's layout and that
 * the detector is prepared. */
GArray      *mien_face_detector_detect       (MienFaceDetector *self,
                                              GdkPixbuf        *frame,
                                              GError          **error);

/* The entry point every plugin module exports (see mien-plugin-engine.h); also declared in
 * mien-backbone.h, and here so that a face-detector plugin needs only this header. */
GType        mien_plugin_query_type          (void);

/* The faces near those of the previous frame: each one searched for in a square of twice its
 * box's size around it, shrunk to at most 192 pixels a side (within the detector's
 * "min-face-size", when it has one), which costs a fraction of a whole frame's search; at most one face per
 * previous one (the one overlapping it most), sorted as above. Faces that came into the frame
 * elsewhere are not found: a tracker alternates this with whole-frame searches. */
GArray      *mien_face_detector_detect_near  (MienFaceDetector *self,
                                              GdkPixbuf        *frame,
                                              const MienFace   *previous,
                                              guint             n_previous,
                                              GError          **error);

/* Intersection over union of two faces' boxes, in [0, 1]. */
double       mien_face_iou                   (const MienFace   *a,
                                              const MienFace   *b);

G_END_DECLS
