/* Its key file says X-Mien-Kind=face-detector, but the type it returns is a plain GObject. */
#include <gmodule.h>

#include "mien-face-detector.h"

#define MIEN_TYPE_NOT_DETECTOR (mien_not_detector_get_type ())
G_DECLARE_FINAL_TYPE (MienNotDetector, mien_not_detector, MIEN, NOT_DETECTOR, GObject)

struct _MienNotDetector
{
  GObject parent_instance;
};

G_DEFINE_FINAL_TYPE (MienNotDetector, mien_not_detector, G_TYPE_OBJECT)

static void
mien_not_detector_class_init (MienNotDetectorClass *klass)
{
}

static void
mien_not_detector_init (MienNotDetector *self)
{
}

G_MODULE_EXPORT GType
mien_plugin_query_type (void)
{
  return MIEN_TYPE_NOT_DETECTOR;
}
