/* mien-backbone.c — the MienBackbone interface and the checks around its virtual functions.
 *
 * Plugins implement only the vfuncs; every caller goes through the wrappers here, so that variant
 * names, input sizes and build order are checked once, with the same messages, for every family.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mien-backbone.h"

G_DEFINE_QUARK (mien-backbone-error-quark, mien_backbone_error)

G_DEFINE_INTERFACE (MienBackbone, mien_backbone, G_TYPE_OBJECT)

/* What the last successful build chose. An interface has no instance struct, so it lives in the
 * instance's qdata. */
typedef struct {
  const MienBackboneVariant *variant;  /* points into the plugin's static table */
  int                        input_size;
} MienBackboneBuilt;

static GQuark
mien_backbone_built_quark (void)
{
  static GQuark quark;

  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("mien-backbone-built");
  return quark;
}

static const MienBackboneBuilt *
get_built (MienBackbone *self)
{
  return g_object_get_qdata (G_OBJECT (self), mien_backbone_built_quark ());
}

static void
mien_backbone_default_init (MienBackboneInterface *iface)
{
}

const MienBackboneVariant *
mien_backbone_list_variants (MienBackbone *self,
                             guint        *n_variants)
{
  MienBackboneInterface *iface;
  const MienBackboneVariant *variants;
  guint n = 0;

  g_return_val_if_fail (MIEN_IS_BACKBONE (self), NULL);

  iface = MIEN_BACKBONE_GET_IFACE (self);
  g_return_val_if_fail (iface->list_variants != NULL, NULL);

  variants = iface->list_variants (self, &n);
  if (variants == NULL)
    n = 0;
  if (n_variants != NULL)
    *n_variants = n;
  return n > 0 ? variants : NULL;
}

const MienBackboneVariant *
mien_backbone_find_variant (MienBackbone *self,
                            const char   *name)
{
  const MienBackboneVariant *variants;
  guint n;

  g_return_val_if_fail (MIEN_IS_BACKBONE (self), NULL);

  variants = mien_backbone_list_variants (self, &n);
  if (n == 0)
    return NULL;
  if (name == NULL || name[0] == '\0')
    return &variants[0];

  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (variants[i].name, name) == 0)
      return &variants[i];

  return NULL;
}

/* "18, 34, 50" — for the error that names the variants a user may choose from. */
static char *
join_variant_names (MienBackbone *self)
{
  const MienBackboneVariant *variants;
  g_autoptr(GString) names = g_string_new (NULL);
  guint n;

  variants = mien_backbone_list_variants (self, &n);
  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (names, ", ");
      g_string_append (names, variants[i].name);
    }

  return g_string_free (g_steal_pointer (&names), FALSE);
}

gboolean
mien_backbone_build (MienBackbone  *self,
                     const char    *variant,
                     int            input_size,
                     MienVarStore  *vs,
                     const char    *prefix,
                     GError       **error)
{
  MienBackboneInterface *iface;
  const MienBackboneVariant *v;
  MienBackboneBuilt *built;

  g_return_val_if_fail (MIEN_IS_BACKBONE (self), FALSE);
  g_return_val_if_fail (vs != NULL, FALSE);
  g_return_val_if_fail (input_size >= 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = MIEN_BACKBONE_GET_IFACE (self);
  g_return_val_if_fail (iface->build != NULL, FALSE);

  /* A plugin keeps handles to the tensors of one build; a second build would silently leave the
   * first var store's handles behind. Callers make a fresh instance instead. */
  if (get_built (self) != NULL)
    {
      g_set_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_ALREADY_BUILT,
                   _("This %s backbone has already been built"),
                   G_OBJECT_TYPE_NAME (self));
      return FALSE;
    }

  v = mien_backbone_find_variant (self, variant);
  if (v == NULL)
    {
      g_autofree char *names = join_variant_names (self);

      g_set_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_UNKNOWN_VARIANT,
                   _("Unknown variant “%s” of %s; valid variants: %s"),
                   variant != NULL ? variant : "", G_OBJECT_TYPE_NAME (self),
                   names[0] != '\0' ? names : _("(none)"));
      return FALSE;
    }

  if (input_size == 0)
    input_size = v->input_size;

  if (input_size < v->min_input_size)
    {
      g_set_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_INPUT,
                   _("Input size %d is too small for variant “%s” of %s: the smallest is %d"),
                   input_size, v->name, G_OBJECT_TYPE_NAME (self), v->min_input_size);
      return FALSE;
    }

  if (v->size_multiple > 1 && input_size % v->size_multiple != 0)
    {
      g_set_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_INPUT,
                   _("Input size %d does not suit variant “%s” of %s: it must be a multiple "
                     "of %d (try %d)"),
                   input_size, v->name, G_OBJECT_TYPE_NAME (self), v->size_multiple,
                   MAX (v->min_input_size,
                        (input_size + v->size_multiple / 2) / v->size_multiple
                        * v->size_multiple));
      return FALSE;
    }

  if (!iface->build (self, v, input_size, vs, prefix != NULL ? prefix : "", error))
    return FALSE;

  built = g_new0 (MienBackboneBuilt, 1);
  built->variant = v;
  built->input_size = input_size;
  g_object_set_qdata_full (G_OBJECT (self), mien_backbone_built_quark (), built, g_free);

  return TRUE;
}

/* What forward () and forward_hooked () check before running the network. */
static gboolean
check_forward_input (MienBackbone  *self,
                     MienTensor    *images,
                     GError       **error)
{
  const MienBackboneBuilt *built;
  int size;

  built = get_built (self);
  if (built == NULL)
    {
      g_set_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_NOT_BUILT,
                   _("This %s backbone has not been built yet"),
                   G_OBJECT_TYPE_NAME (self));
      return FALSE;
    }

  /* Checked here rather than left to libtorch, whose shape errors name an inner layer and not
   * what the caller did wrong. */
  size = built->input_size;
  if (mien_tensor_ndim (images) != 4 ||
      mien_tensor_size (images, 1) != 3 ||
      mien_tensor_size (images, 2) != size ||
      mien_tensor_size (images, 3) != size)
    {
      g_autofree char *got = mien_tensor_describe (images);

      g_set_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_INPUT,
                   _("expected images of 3×%d×%d, got %s"), size, size, got);
      return FALSE;
    }

  return TRUE;
}

MienTensor *
mien_backbone_forward (MienBackbone  *self,
                       MienTensor    *images,
                       gboolean       training,
                       GError       **error)
{
  MienBackboneInterface *iface;

  g_return_val_if_fail (MIEN_IS_BACKBONE (self), NULL);
  g_return_val_if_fail (images != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  iface = MIEN_BACKBONE_GET_IFACE (self);
  g_return_val_if_fail (iface->forward != NULL, NULL);

  if (!check_forward_input (self, images, error))
    return NULL;

  return iface->forward (self, images, training, error);
}

MienTensor *
mien_backbone_forward_hooked (MienBackbone      *self,
                              MienTensor        *images,
                              gboolean           training,
                              MienBackboneHook   hook,
                              gpointer           user_data,
                              GError           **error)
{
  MienBackboneInterface *iface;

  g_return_val_if_fail (MIEN_IS_BACKBONE (self), NULL);
  g_return_val_if_fail (images != NULL, NULL);
  g_return_val_if_fail (hook != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  iface = MIEN_BACKBONE_GET_IFACE (self);
  if (iface->forward_hooked == NULL)
    {
      g_set_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_UNSUPPORTED,
                   _("The %s backbone names no layer to explain"), G_OBJECT_TYPE_NAME (self));
      return NULL;
    }

  if (!check_forward_input (self, images, error))
    return NULL;

  return iface->forward_hooked (self, images, training, hook, user_data, error);
}

gboolean
mien_backbone_run_hook (MienBackboneHook   hook,
                        const char        *layer,
                        MienTensor       **x,
                        gpointer           user_data,
                        GError           **error)
{
  MienTensor *y;

  g_return_val_if_fail (x != NULL && *x != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (hook == NULL)
    return TRUE;

  y = hook (layer, *x, user_data, error);
  if (y == NULL)
    return FALSE;

  g_clear_pointer (x, mien_tensor_free);
  *x = y;
  return TRUE;
}

char *
mien_backbone_map_timm_key (MienBackbone *self,
                            const char   *key)
{
  MienBackboneInterface *iface;

  g_return_val_if_fail (MIEN_IS_BACKBONE (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  iface = MIEN_BACKBONE_GET_IFACE (self);
  if (iface->map_timm_key == NULL)
    return NULL;

  return iface->map_timm_key (self, key);
}

const MienWeightsInfo *
mien_backbone_list_weights (MienBackbone *self,
                            const char   *variant,
                            guint        *n_weights)
{
  MienBackboneInterface *iface;
  const MienBackboneVariant *v;
  const MienWeightsInfo *weights = NULL;
  guint n = 0;

  g_return_val_if_fail (MIEN_IS_BACKBONE (self), NULL);

  iface = MIEN_BACKBONE_GET_IFACE (self);
  v = mien_backbone_find_variant (self, variant);
  if (iface->list_weights != NULL && v != NULL)
    weights = iface->list_weights (self, v, &n);
  if (n_weights != NULL)
    *n_weights = weights != NULL ? n : 0;
  return weights;
}

const MienWeightsInfo *
mien_backbone_weights_of_variant (const MienWeightsInfo     *table,
                                  guint                      n_table,
                                  const MienBackboneVariant *variant,
                                  guint                     *n_weights)
{
  guint first = 0, n = 0;

  g_return_val_if_fail (variant != NULL && n_weights != NULL, NULL);

  while (first < n_table && g_strcmp0 (table[first].variant, variant->name) != 0)
    first++;
  while (first + n < n_table && g_strcmp0 (table[first + n].variant, variant->name) == 0)
    n++;
  *n_weights = n;
  return n > 0 ? &table[first] : NULL;
}

MienTensor *
mien_backbone_adapt_pretrained (MienBackbone   *self,
                                const char     *name,
                                MienTensor     *value,
                                const gint64   *shape,
                                int             ndim,
                                GError        **error)
{
  MienBackboneInterface *iface;

  g_return_val_if_fail (MIEN_IS_BACKBONE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (value != NULL, NULL);
  g_return_val_if_fail (shape != NULL || ndim == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  iface = MIEN_BACKBONE_GET_IFACE (self);
  if (iface->adapt_pretrained == NULL)
    return NULL;

  return iface->adapt_pretrained (self, name, value, shape, ndim, error);
}

const MienBackboneVariant *
mien_backbone_get_variant (MienBackbone *self)
{
  const MienBackboneBuilt *built;

  g_return_val_if_fail (MIEN_IS_BACKBONE (self), NULL);

  built = get_built (self);
  return built != NULL ? built->variant : NULL;
}

int
mien_backbone_get_input_size (MienBackbone *self)
{
  const MienBackboneBuilt *built;

  g_return_val_if_fail (MIEN_IS_BACKBONE (self), 0);

  built = get_built (self);
  return built != NULL ? built->input_size : 0;
}

/* The built variant's D, or 0 before build (the caller has not chosen a variant yet). */
gint64
mien_backbone_get_feature_dim (MienBackbone *self)
{
  const MienBackboneBuilt *built;

  g_return_val_if_fail (MIEN_IS_BACKBONE (self), 0);

  built = get_built (self);
  return built != NULL ? built->variant->feature_dim : 0;
}

gint64
mien_backbone_count_parameters (MienBackbone *self,
                                const char   *variant,
                                GError      **error)
{
  MienDevice meta = { MIEN_DEVICE_META, 0 };
  g_autoptr(GObject) fresh = NULL;
  g_autoptr(MienVarStore) vs = NULL;

  g_return_val_if_fail (MIEN_IS_BACKBONE (self), -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  /* A fresh instance, because `self` may already be built (or be built later by the caller), and
   * the meta device, because a ViT-B would otherwise allocate 330 MB just to be counted. */
  fresh = g_object_new (G_OBJECT_TYPE (self), NULL);
  vs = mien_var_store_new (meta);

  if (!mien_backbone_build (MIEN_BACKBONE (fresh), variant, 0, vs, "", error))
    return -1;

  return mien_var_store_count_parameters (vs, FALSE);
}

char *
mien_backbone_key_map_func (const char *key,
                            gpointer    backbone)
{
  g_return_val_if_fail (MIEN_IS_BACKBONE (backbone), NULL);

  return mien_backbone_map_timm_key (MIEN_BACKBONE (backbone), key);
}

MienTensor *
mien_backbone_adapt_func (const char    *name,
                          MienTensor    *value,
                          const gint64  *shape,
                          int            ndim,
                          gpointer       backbone,
                          GError       **error)
{
  g_return_val_if_fail (MIEN_IS_BACKBONE (backbone), NULL);

  return mien_backbone_adapt_pretrained (MIEN_BACKBONE (backbone), name, value, shape, ndim,
                                         error);
}
