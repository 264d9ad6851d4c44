/* Exports the entry point, but the type it returns is a plain GObject. */
#include <gmodule.h>

#include "mien-backbone.h"

#define MIEN_TYPE_NOT_BACKBONE (mien_not_backbone_get_type ())
G_DECLARE_FINAL_TYPE (MienNotBackbone, mien_not_backbone, MIEN, NOT_BACKBONE, GObject)

struct _MienNotBackbone
{
  GObject parent_instance;
};

G_DEFINE_FINAL_TYPE (MienNotBackbone, mien_not_backbone, G_TYPE_OBJECT)

static void
mien_not_backbone_class_init (MienNotBackboneClass *klass)
{
}

static void
mien_not_backbone_init (MienNotBackbone *self)
{
}

G_MODULE_EXPORT GType
mien_plugin_query_type (void)
{
  return MIEN_TYPE_NOT_BACKBONE;
}
