/* mien-toy.c — the smallest backbone that follows the MienBackbone contract, for the tests of the
 * plugin engine and of the interface's wrappers: global average pooling, then one linear layer
 * "proj" from the 3 colour channels to D features.
 */
#include <gmodule.h>

#include "mien-backbone.h"

#define MIEN_TYPE_TOY_BACKBONE (mien_toy_backbone_get_type ())
G_DECLARE_FINAL_TYPE (MienToyBackbone, mien_toy_backbone, MIEN, TOY_BACKBONE, GObject)

struct _MienToyBackbone
{
  GObject     parent_instance;

  MienTensor *weight;
  MienTensor *bias;
};

static void mien_toy_backbone_iface_init (MienBackboneInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MienToyBackbone, mien_toy_backbone, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (MIEN_TYPE_BACKBONE,
                                                      mien_toy_backbone_iface_init))

/* Sizes chosen so that the wrappers' checks have something to refuse: 4 is the smallest input
 * and inputs must be multiples of 4. Parameters: D * 3 + D. */
static const MienBackboneVariant toy_variants[] = {
  { "tiny", "Toy, 16 parameters", 4, 8, 4, 4, "fc", 10 },
  { "wide", "Toy, 32 parameters", 8, 16, 4, 4, "fc", 10 },
};

static const MienBackboneVariant *
mien_toy_backbone_list_variants (MienBackbone *backbone,
                                 guint        *n_variants)
{
  *n_variants = G_N_ELEMENTS (toy_variants);
  return toy_variants;
}

static gboolean
mien_toy_backbone_build (MienBackbone              *backbone,
                         const MienBackboneVariant *variant,
                         int                        input_size,
                         MienVarStore              *vs,
                         const char                *prefix,
                         GError                   **error)
{
  MienToyBackbone *self = MIEN_TOY_BACKBONE (backbone);
  const MienInit weight_init = { MIEN_INIT_KAIMING_UNIFORM, 0, 0 };
  const MienInit bias_init = { MIEN_INIT_FAN_IN_UNIFORM, 3, 0 };
  gint64 weight_shape[] = { variant->feature_dim, 3 };
  gint64 bias_shape[] = { variant->feature_dim };
  g_autofree char *weight_name = g_strconcat (prefix, "proj.weight", NULL);
  g_autofree char *bias_name = g_strconcat (prefix, "proj.bias", NULL);

  self->weight = mien_var_store_new_parameter (vs, weight_name, weight_shape, 2, &weight_init,
                                               error);
  if (self->weight == NULL)
    return FALSE;

  self->bias = mien_var_store_new_parameter (vs, bias_name, bias_shape, 1, &bias_init, error);
  if (self->bias == NULL)
    return FALSE;

  return TRUE;
}

static MienTensor *
mien_toy_backbone_forward (MienBackbone *backbone,
                           MienTensor   *images,
                           gboolean      training,
                           GError      **error)
{
  MienToyBackbone *self = MIEN_TOY_BACKBONE (backbone);
  const gint64 dims[] = { 2, 3 };
  g_autoptr(MienTensor) pooled = NULL;

  pooled = mien_tensor_mean_dims (images, dims, G_N_ELEMENTS (dims), FALSE, error);
  if (pooled == NULL)
    return NULL;

  return mien_tensor_linear (pooled, self->weight, self->bias, error);
}

/* timm would call it "proj_w"/"proj_b"; enough to see the wrapper reach the plugin. */
static char *
mien_toy_backbone_map_timm_key (MienBackbone *backbone,
                                const char   *key)
{
  if (g_str_equal (key, "proj_w"))
    return g_strdup ("proj.weight");
  if (g_str_equal (key, "proj_b"))
    return g_strdup ("proj.bias");
  return NULL;
}

static void
mien_toy_backbone_finalize (GObject *object)
{
  MienToyBackbone *self = MIEN_TOY_BACKBONE (object);

  g_clear_pointer (&self->weight, mien_tensor_free);
  g_clear_pointer (&self->bias, mien_tensor_free);

  G_OBJECT_CLASS (mien_toy_backbone_parent_class)->finalize (object);
}

static void
mien_toy_backbone_class_init (MienToyBackboneClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mien_toy_backbone_finalize;
}

static void
mien_toy_backbone_iface_init (MienBackboneInterface *iface)
{
  iface->list_variants = mien_toy_backbone_list_variants;
  iface->build = mien_toy_backbone_build;
  iface->forward = mien_toy_backbone_forward;
  iface->map_timm_key = mien_toy_backbone_map_timm_key;
}

static void
mien_toy_backbone_init (MienToyBackbone *self)
{
}

G_MODULE_EXPORT GType
mien_plugin_query_type (void)
{
  return MIEN_TYPE_TOY_BACKBONE;
}
