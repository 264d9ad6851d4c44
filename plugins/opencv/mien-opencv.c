/* mien-opencv.c — face detection with OpenCV: YuNet, Haar and LBP cascades.
 *
 * The GObject side of the plugin; everything C++ is behind mien-opencv-faces.h. YuNet is the best
 * (landmarks, a real score, profile and tilted faces) but its ONNX file does not come with Debian,
 * so it is available only once "model-file" points at it; the cascades come with opencv-data.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gmodule.h>

#include "mien-face-detector.h"
#include "mien-opencv-faces.h"

/* Faces smaller than 1/32 of the frame's short side carry too few pixels for an expression (the
 * classifiers look at 224×224 crops), and skipping them keeps the cascades' pyramid short: at
 * 640×480 the search still starts at the cascade's own window (20 px). The improved LBP
 * cascade's boxes span eyes to mouth only, about 2/3 of a Haar box, hence its larger divisor. */
#define HAAR_MIN_FACE_DIVISOR 32
#define LBP_MIN_FACE_DIVISOR 48
#define DEFAULT_SCORE_THRESHOLD 0.7

typedef enum {
  METHOD_YUNET,
  METHOD_HAAR,
  METHOD_LBP,
} OpencvMethodId;

static const MienFaceDetectorMethod opencv_methods[] = {
  { "yunet", N_("YuNet CNN (OpenCV DNN): boxes, scores and five landmarks; needs its model file"), TRUE },
  { "haar", N_("Haar cascade (Viola–Jones), frontal faces"), FALSE },
  { "lbp", N_("LBP cascade, frontal faces; faster than Haar, for larger faces"), FALSE },
};

typedef struct {
  const char             *file;    /* under the cascade folder */
  MienOpencvCascadeParams params;
  int                     min_face_divisor;  /* automatic min-face-size: short side / this */
} OpencvCascade;

/* Chosen on messi5.jpg (tests/test-face-detector.c), whose crowd holds face-like patches: with
 * alt2 and a 1.15 pyramid step Messi's 40 px face gets 10-15 raw hits, alone and tiled 2×2, and
 * the best false hit at most 4, so 7 neighbours leaves room on both sides (the default cascade
 * at 1.1 leaves 10 against 9). The improved LBP cascade misses faces under about 90 px (its
 * window is 45 px of eyes and mouth); on the photo enlarged 2.5× a 1.08 step gives the face
 * 9-13 hits and false ones at most 4, hence 6. */
static const OpencvCascade haar_cascade = {
  "haarcascades/haarcascade_frontalface_alt2.xml", { 1.15, 7, TRUE }, HAAR_MIN_FACE_DIVISOR,
};
static const OpencvCascade lbp_cascade = {
  "lbpcascades/lbpcascade_frontalface_improved.xml", { 1.08, 6, TRUE }, LBP_MIN_FACE_DIVISOR,
};

struct _MienOpencv
{
  GObject          parent_instance;

  char            *model_file;
  char            *cascade_dir;
  double           score_threshold;
  int              min_face_size;
  double           min_face_fraction;

  MienOpencvFaces *faces;     /* the prepared method's detector */
  OpencvMethodId   prepared;
};

#define MIEN_TYPE_OPENCV (mien_opencv_get_type ())
G_DECLARE_FINAL_TYPE (MienOpencv, mien_opencv, MIEN, OPENCV, GObject)

static void mien_opencv_face_detector_iface_init (MienFaceDetectorInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MienOpencv, mien_opencv, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (MIEN_TYPE_FACE_DETECTOR,
                                                      mien_opencv_face_detector_iface_init))

enum {
  PROP_0,
  PROP_MODEL_FILE,
  PROP_CASCADE_DIR,
  PROP_SCORE_THRESHOLD,
  PROP_MIN_FACE_SIZE,
  PROP_MIN_FACE_FRACTION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static OpencvMethodId
method_id (const MienFaceDetectorMethod *method)
{
  return (OpencvMethodId) (method - opencv_methods);
}

static const MienFaceDetectorMethod *
mien_opencv_list_methods (MienFaceDetector *detector,
                          guint            *n_methods)
{
  *n_methods = G_N_ELEMENTS (opencv_methods);
  return opencv_methods;
}

/* The file `id` loads, as a new path; NULL with an error when it is not set. */
static char *
method_file (MienOpencv      *self,
             OpencvMethodId   id,
             GError         **error)
{
  switch (id)
    {
    case METHOD_YUNET:
      if (self->model_file == NULL || self->model_file[0] == '\0')
        {
          g_set_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_MODEL,
                       _("YuNet needs its model file face_detection_yunet_2022mar.onnx "
                         "(the “model-file” setting is empty)"));
          return NULL;
        }
      return g_strdup (self->model_file);
    case METHOD_HAAR:
      return g_build_filename (self->cascade_dir, haar_cascade.file, NULL);
    case METHOD_LBP:
      return g_build_filename (self->cascade_dir, lbp_cascade.file, NULL);
    default:
      g_assert_not_reached ();
    }
}

static gboolean
mien_opencv_is_available (MienFaceDetector             *detector,
                          const MienFaceDetectorMethod *method,
                          GError                      **error)
{
  MienOpencv *self = MIEN_OPENCV (detector);
  OpencvMethodId id = method_id (method);
  g_autofree char *path = method_file (self, id, error);

  if (path == NULL)
    return FALSE;
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      if (id == METHOD_YUNET)
        g_set_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_MODEL,
                     _("The YuNet model file %s does not exist"), path);
      else
        g_set_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_MODEL,
                     _("The cascade file %s does not exist (Debian: install opencv-data)"), path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
mien_opencv_prepare (MienFaceDetector             *detector,
                     const MienFaceDetectorMethod *method,
                     GError                      **error)
{
  MienOpencv *self = MIEN_OPENCV (detector);
  OpencvMethodId id = method_id (method);
  g_autoptr(MienOpencvFaces) faces = NULL;
  g_autofree char *path = NULL;

  /* The old detector goes first, so that a failure leaves nothing half-prepared behind. */
  g_clear_pointer (&self->faces, mien_opencv_faces_free);

  if (!mien_opencv_is_available (detector, method, error))
    return FALSE;
  path = method_file (self, id, error);
  g_assert (path != NULL);

  switch (id)
    {
    case METHOD_YUNET:
      faces = mien_opencv_faces_new_yunet (path, error);
      break;
    case METHOD_HAAR:
      faces = mien_opencv_faces_new_cascade (path, &haar_cascade.params, error);
      break;
    case METHOD_LBP:
      faces = mien_opencv_faces_new_cascade (path, &lbp_cascade.params, error);
      break;
    default:
      g_assert_not_reached ();
    }
  if (faces == NULL)
    return FALSE;

  self->faces = g_steal_pointer (&faces);
  self->prepared = id;
  return TRUE;
}

static gboolean
mien_opencv_detect (MienFaceDetector *detector,
                    const guint8     *rgb,
                    int               width,
                    int               height,
                    int               rowstride,
                    GArray           *faces,
                    GError          **error)
{
  MienOpencv *self = MIEN_OPENCV (detector);
  int min_face_size = self->min_face_size;

  if (self->faces == NULL)
    {
      g_set_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_NOT_PREPARED,
                   _("The OpenCV face detector has no method prepared"));
      return FALSE;
    }

  /* YuNet is cheap at every size and its small faces have honest scores; a cascade's cost and
   * its false hits both grow with the number of small windows it tries. */
  if (min_face_size == 0 && self->min_face_fraction > 0)
    min_face_size = (int) (MIN (width, height) * self->min_face_fraction);
  if (min_face_size == 0 && self->prepared != METHOD_YUNET)
    min_face_size = MIN (width, height) / (self->prepared == METHOD_LBP
                                           ? lbp_cascade.min_face_divisor
                                           : haar_cascade.min_face_divisor);

  return mien_opencv_faces_detect (self->faces, rgb, width, height, rowstride, min_face_size,
                                   (float) self->score_threshold, faces, error);
}

static void
mien_opencv_face_detector_iface_init (MienFaceDetectorInterface *iface)
{
  iface->list_methods = mien_opencv_list_methods;
  iface->is_available = mien_opencv_is_available;
  iface->prepare = mien_opencv_prepare;
  iface->detect = mien_opencv_detect;
}

static void
mien_opencv_finalize (GObject *object)
{
  MienOpencv *self = MIEN_OPENCV (object);

  g_clear_pointer (&self->faces, mien_opencv_faces_free);
  g_clear_pointer (&self->model_file, g_free);
  g_clear_pointer (&self->cascade_dir, g_free);

  G_OBJECT_CLASS (mien_opencv_parent_class)->finalize (object);
}

static void
mien_opencv_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  MienOpencv *self = MIEN_OPENCV (object);

  switch (prop_id)
    {
    case PROP_MODEL_FILE:
      g_value_set_string (value, self->model_file);
      break;
    case PROP_CASCADE_DIR:
      g_value_set_string (value, self->cascade_dir);
      break;
    case PROP_SCORE_THRESHOLD:
      g_value_set_double (value, self->score_threshold);
      break;
    case PROP_MIN_FACE_SIZE:
      g_value_set_int (value, self->min_face_size);
      break;
    case PROP_MIN_FACE_FRACTION:
      g_value_set_double (value, self->min_face_fraction);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_opencv_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  MienOpencv *self = MIEN_OPENCV (object);

  switch (prop_id)
    {
    case PROP_MODEL_FILE:
      g_free (self->model_file);
      self->model_file = g_value_dup_string (value);
      break;
    case PROP_CASCADE_DIR:
      g_free (self->cascade_dir);
      /* NULL goes back to the default rather than leaving the cascades nowhere. */
      self->cascade_dir = g_value_get_string (value) != NULL ? g_value_dup_string (value)
                                                             : g_strdup (MIEN_OPENCV_DATADIR);
      break;
    case PROP_SCORE_THRESHOLD:
      self->score_threshold = g_value_get_double (value);
      break;
    case PROP_MIN_FACE_SIZE:
      self->min_face_size = g_value_get_int (value);
      break;
    case PROP_MIN_FACE_FRACTION:
      self->min_face_fraction = g_value_get_double (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_opencv_class_init (MienOpencvClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mien_opencv_finalize;
  object_class->get_property = mien_opencv_get_property;
  object_class->set_property = mien_opencv_set_property;

  /* Read at prepare (): changing a file takes another prepare (). */
  properties[PROP_MODEL_FILE] =
    g_param_spec_string ("model-file", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_CASCADE_DIR] =
    g_param_spec_string ("cascade-dir", NULL, NULL, MIEN_OPENCV_DATADIR,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS |
                         G_PARAM_EXPLICIT_NOTIFY);
  /* Read at each detect (). */
  properties[PROP_SCORE_THRESHOLD] =
    g_param_spec_double ("score-threshold", NULL, NULL, 0.0, 1.0, DEFAULT_SCORE_THRESHOLD,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS |
                         G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_MIN_FACE_SIZE] =
    g_param_spec_int ("min-face-size", NULL, NULL, 0, G_MAXINT, 0,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /* The smallest face searched as a fraction of the frame's shorter side (when min-face-size
   * is 0; 0 here too: automatic), for callers that do not know the frames' size yet. */
  properties[PROP_MIN_FACE_FRACTION] =
    g_param_spec_double ("min-face-fraction", NULL, NULL, 0.0, 1.0, 0.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
mien_opencv_init (MienOpencv *self)
{
  self->cascade_dir = g_strdup (MIEN_OPENCV_DATADIR);
  self->score_threshold = DEFAULT_SCORE_THRESHOLD;
}

G_MODULE_EXPORT GType
mien_plugin_query_type (void)
{
  return MIEN_TYPE_OPENCV;
}
