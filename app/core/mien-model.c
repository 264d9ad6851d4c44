/* mien-model.c — a backbone plugin, the training mode's wiring and a linear head.
 *
 * One var store holds everything a model file holds ("backbone.", "frozen." in DFT, "head."), so
 * that saving, loading, moving to a device and registering with an optimiser each work on the
 * whole model at once, and the mode is only a matter of which prefixes are trainable.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "mien-json.h"
#include "mien-model.h"

#define BACKBONE_PREFIX "backbone."
#define FROZEN_PREFIX "frozen."
#define HEAD_NAME "head"
#define METADATA_KEY "mien"
#define FORMAT_NAME "mien-model"
#define FORMAT_VERSION 1
/* Far beyond any network here; keeps a hostile file from asking for a huge build. */
#define MAX_INPUT_SIZE 4096
/* How many names an error spells out. */
#define MAX_NAMES 5

const double mien_imagenet_mean[3] = MIEN_IMAGENET_MEAN;
const double mien_imagenet_std[3] = MIEN_IMAGENET_STD;

G_DEFINE_QUARK (mien-model-error-quark, mien_model_error)

struct _MienModel
{
  GObject        parent_instance;

  MienVarStore  *vs;
  MienBackbone  *backbone;       /* g_t, or the only copy */
  MienBackbone  *frozen;         /* g_f in DFT, else NULL */
  MienLinear     head;

  char          *backbone_spec;  /* "resnet:18" */
  char         **classes;
  guint          n_classes;
  int            input_size;
  MienMode       mode;
  MienBatchNorm  batch_norm;     /* never DEFAULT */
  gboolean       grey;
  double         mean[3];
  double         std[3];
  MienDevice     device;
  MienTensor    *mean_t;         /* [1, 3, 1, 1] on the device */
  MienTensor    *std_t;

  JsonObject    *metadata;
};

G_DEFINE_FINAL_TYPE (MienModel, mien_model, G_TYPE_OBJECT)

static void
mien_model_finalize (GObject *object)
{
  MienModel *self = MIEN_MODEL (object);

  mien_linear_clear (&self->head);
  g_clear_object (&self->backbone);
  g_clear_object (&self->frozen);
  g_clear_pointer (&self->vs, mien_var_store_free);
  g_clear_pointer (&self->backbone_spec, g_free);
  g_clear_pointer (&self->classes, g_strfreev);
  g_clear_pointer (&self->mean_t, mien_tensor_free);
  g_clear_pointer (&self->std_t, mien_tensor_free);
  g_clear_pointer (&self->metadata, json_object_unref);

  G_OBJECT_CLASS (mien_model_parent_class)->finalize (object);
}

static void
mien_model_class_init (MienModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mien_model_finalize;
}

static void
mien_model_init (MienModel *self)
{
}

/* ---- Enumerations ------------------------------------------------------------------------ */

static const char * const mode_names[] = { "probe", "finetune", "dft" };
static const char * const batch_norm_names[] = { "default", "train", "eval" };

const char *
mien_mode_to_string (MienMode mode)
{
  g_return_val_if_fail ((guint) mode < G_N_ELEMENTS (mode_names), NULL);

  return mode_names[mode];
}

gboolean
mien_mode_from_string (const char  *str,
                       MienMode    *out,
                       GError     **error)
{
  guint index;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (mien_name_lookup (mode_names, G_N_ELEMENTS (mode_names), str, &index))
    {
      if (out != NULL)
        *out = (MienMode) index;
      return TRUE;
    }

  g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID,
               _("Unknown training mode “%s”; valid modes: probe, finetune, dft"),
               str != NULL ? str : "");
  return FALSE;
}

const char *
mien_batch_norm_to_string (MienBatchNorm bn)
{
  g_return_val_if_fail ((guint) bn < G_N_ELEMENTS (batch_norm_names), NULL);

  return batch_norm_names[bn];
}

gboolean
mien_batch_norm_from_string (const char     *str,
                             MienBatchNorm  *out,
                             GError        **error)
{
  guint index;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (mien_name_lookup (batch_norm_names, G_N_ELEMENTS (batch_norm_names), str, &index))
    {
      if (out != NULL)
        *out = (MienBatchNorm) index;
      return TRUE;
    }

  g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID,
               _("Unknown batch-norm setting “%s”; valid settings: default, train, eval"),
               str != NULL ? str : "");
  return FALSE;
}

static MienBatchNorm
resolve_batch_norm (MienMode      mode,
                    MienBatchNorm bn)
{
  if (bn != MIEN_BATCH_NORM_DEFAULT)
    return bn;
  /* The authors' script runs DFT (and a frozen backbone has no reason to move its statistics)
   * with model.eval (); plain fine-tuning is PyTorch's usual model.train (). */
  return mode == MIEN_MODE_FINETUNE ? MIEN_BATCH_NORM_TRAIN : MIEN_BATCH_NORM_EVAL;
}

/* ---- Building ---------------------------------------------------------------------------- */

static gboolean
check_classes (const char * const  *classes,
               GError             **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint n = classes != NULL ? g_strv_length ((char **) classes) : 0;

  if (n < 2)
    {
      g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID,
                   _("A classifier needs at least two classes, not %u"), n);
      return FALSE;
    }

  for (guint i = 0; i < n; i++)
    {
      if (classes[i][0] == '\0' || !g_utf8_validate (classes[i], -1, NULL))
        {
          g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID,
                       _("Class %u has no name"), i + 1);
          return FALSE;
        }
      if (!g_hash_table_add (seen, (gpointer) classes[i]))
        {
          g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID,
                       _("Class “%s” is listed twice"), classes[i]);
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
check_spec (const MienModelSpec  *spec,
            GError              **error)
{
  if (spec->backbone == NULL || spec->backbone[0] == '\0')
    {
      g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID,
                   _("No backbone given"));
      return FALSE;
    }
  if ((guint) spec->mode >= G_N_ELEMENTS (mode_names) ||
      (guint) spec->batch_norm >= G_N_ELEMENTS (batch_norm_names))
    {
      g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID,
                   _("Unknown training mode or batch-norm setting"));
      return FALSE;
    }
  if (spec->input_size < 0 || spec->input_size > MAX_INPUT_SIZE)
    {
      g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID,
                   _("Input size %d is out of range (1 to %d)"),
                   spec->input_size, MAX_INPUT_SIZE);
      return FALSE;
    }
  if (!check_classes (spec->classes, error))
    return FALSE;

  for (guint c = 0; c < 3; c++)
    if (!isfinite (spec->mean[c]) || !isfinite (spec->std[c]) || !(spec->std[c] > 0))
      {
        g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID,
                     _("Invalid normalisation: the mean must be finite and the standard "
                       "deviation finite and above 0 (channel %u: mean %g, std %g)"),
                     c, spec->mean[c], spec->std[c]);
        return FALSE;
      }

  return TRUE;
}

/* A [1, 3, 1, 1] float32 tensor on `device`, to broadcast over [N, 3, H, W]. */
static MienTensor *
channel_tensor (const double  *values,
                MienDevice     device,
                GError       **error)
{
  static const gint64 shape[4] = { 1, 3, 1, 1 };
  float data[3] = { (float) values[0], (float) values[1], (float) values[2] };
  g_autoptr(MienTensor) cpu = mien_tensor_new_from_data (data, MIEN_DTYPE_FLOAT32, shape, 4,
                                                         error);

  if (cpu == NULL)
    return NULL;
  return mien_tensor_to_device (cpu, device, error);
}

/* Copies every "backbone." entry into its "frozen." twin, so that g_f and g_t start equal. */
static gboolean
copy_backbone_to_frozen (MienModel  *self,
                         GError    **error)
{
  guint n = mien_var_store_get_n_vars (self->vs);

  for (guint i = 0; i < n; i++)
    {
      const char *name = mien_var_store_get_name (self->vs, i);
      g_autofree char *twin_name = NULL;
      g_autoptr(MienTensor) src = NULL;
      g_autoptr(MienTensor) dst = NULL;

      if (!g_str_has_prefix (name, BACKBONE_PREFIX))
        continue;

      twin_name = g_strconcat (FROZEN_PREFIX, name + strlen (BACKBONE_PREFIX), NULL);
      dst = mien_var_store_get (self->vs, twin_name);
      if (dst == NULL)
        {
          g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID,
                       _("The two copies of the backbone differ: no “%s”"), twin_name);
          return FALSE;
        }

      src = mien_var_store_get_nth (self->vs, i);
      if (!mien_tensor_copy_ (dst, src, error))
        {
          g_prefix_error (error, "%s: ", twin_name);
          return FALSE;
        }
    }

  return TRUE;
}

static JsonArray *
doubles_array (const double *values,
               guint         n)
{
  JsonArray *array = json_array_sized_new (n);

  for (guint i = 0; i < n; i++)
    json_array_add_double_element (array, values[i]);
  return array;
}

static void
set_description (MienModel  *self,
                 JsonObject *md)
{
  const MienBackboneVariant *variant = mien_backbone_get_variant (self->backbone);
  g_autofree char *family = g_strndup (self->backbone_spec,
                                       strcspn (self->backbone_spec, ":"));
  JsonArray *classes = json_array_sized_new (self->n_classes);

  for (guint i = 0; i < self->n_classes; i++)
    json_array_add_string_element (classes, self->classes[i]);

  json_object_set_string_member (md, "format", FORMAT_NAME);
  json_object_set_int_member (md, "format_version", FORMAT_VERSION);
  json_object_set_string_member (md, "backbone", family);
  json_object_set_string_member (md, "variant", variant->name);
  json_object_set_int_member (md, "input_size", self->input_size);
  json_object_set_string_member (md, "mode", mien_mode_to_string (self->mode));
  json_object_set_string_member (md, "batch_norm", mien_batch_norm_to_string (self->batch_norm));
  json_object_set_array_member (md, "classes", classes);
  json_object_set_string_member (md, "colour_mode", self->grey ? "grey" : "rgb");
  json_object_set_array_member (md, "mean", doubles_array (self->mean, 3));
  json_object_set_array_member (md, "std", doubles_array (self->std, 3));
  json_object_set_double_member (md, "dft_epsilon", MIEN_DFT_EPSILON);
}

static MienBackbone *
build_backbone (MienPluginEngine  *engine,
                const char        *spec,
                int                input_size,
                MienVarStore      *vs,
                const char        *prefix,
                GError           **error)
{
  g_autoptr(MienBackbone) backbone = NULL;
  g_autofree char *variant = NULL;

  backbone = mien_plugin_engine_create_backbone (engine, spec, &variant, error);
  if (backbone == NULL)
    return NULL;
  if (!mien_backbone_build (backbone, variant, input_size, vs, prefix, error))
    return NULL;

  return g_steal_pointer (&backbone);
}

MienModel *
mien_model_new (MienPluginEngine     *engine,
                const MienModelSpec  *spec,
                GError              **error)
{
  g_autoptr(MienModel) self = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *family = NULL;
  g_autofree char *created = NULL;

  g_return_val_if_fail (MIEN_IS_PLUGIN_ENGINE (engine), NULL);
  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_spec (spec, error))
    return NULL;

  self = g_object_new (MIEN_TYPE_MODEL, NULL);
  self->mode = spec->mode;
  self->batch_norm = resolve_batch_norm (spec->mode, spec->batch_norm);
  self->classes = g_strdupv ((char **) spec->classes);
  self->n_classes = g_strv_length (self->classes);
  self->grey = !!spec->grey;
  memcpy (self->mean, spec->mean, sizeof self->mean);
  memcpy (self->std, spec->std, sizeof self->std);
  self->device = spec->device;

  self->mean_t = channel_tensor (self->mean, self->device, error);
  if (self->mean_t == NULL)
    return NULL;
  self->std_t = channel_tensor (self->std, self->device, error);
  if (self->std_t == NULL)
    return NULL;

  self->vs = mien_var_store_new (self->device);
  self->backbone = build_backbone (engine, spec->backbone, spec->input_size, self->vs,
                                   BACKBONE_PREFIX, error);
  if (self->backbone == NULL)
    return NULL;
  self->input_size = mien_backbone_get_input_size (self->backbone);
  family = g_strndup (spec->backbone, strcspn (spec->backbone, ":"));
  self->backbone_spec = g_strdup_printf ("%s:%s", family,
                                         mien_backbone_get_variant (self->backbone)->name);

  if (self->mode == MIEN_MODE_DFT)
    {
      /* Its own random init is wasted, but building through the plugin is what gives g_f the
       * same structure (and handles) as g_t; the copy then makes them equal. */
      self->frozen = build_backbone (engine, self->backbone_spec, self->input_size, self->vs,
                                     FROZEN_PREFIX, error);
      if (self->frozen == NULL || !copy_backbone_to_frozen (self, error))
        return NULL;
    }

  if (!mien_linear_init (&self->head, self->vs, HEAD_NAME,
                         mien_backbone_get_feature_dim (self->backbone), self->n_classes, TRUE,
                         NULL, NULL, error))
    return NULL;

  switch (self->mode)
    {
    case MIEN_MODE_PROBE:
      mien_var_store_set_trainable (self->vs, "backbone", FALSE);
      break;
    case MIEN_MODE_DFT:
      mien_var_store_set_trainable (self->vs, "frozen", FALSE);
      break;
    case MIEN_MODE_FINETUNE:
    default:
      break;
    }

  now = g_date_time_new_now_utc ();
  created = g_date_time_format_iso8601 (now);
  self->metadata = json_object_new ();
  set_description (self, self->metadata);
  json_object_set_string_member (self->metadata, "mien_version", PACKAGE_VERSION);
  json_object_set_string_member (self->metadata, "created", created);

  return g_steal_pointer (&self);
}

/* ---- Running --------------------------------------------------------------------------- */

MienTensor *
mien_model_prepare_input (MienModel   *self,
                          MienTensor  *images,
                          GError     **error)
{
  static const double luminance[3] = { 0.299, 0.587, 0.114 };
  static const gint64 one[1] = { 1 };
  g_autoptr(MienNoGradGuard) no_grad = NULL;
  g_autoptr(MienTensor) x = NULL;
  g_autoptr(MienTensor) max = NULL;

  g_return_val_if_fail (MIEN_IS_MODEL (self), NULL);
  g_return_val_if_fail (images != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (mien_tensor_ndim (images) != 4 || mien_tensor_size (images, 1) != 3 ||
      mien_tensor_dtype (images) != MIEN_DTYPE_UINT8)
    {
      g_autofree char *got = mien_tensor_describe (images);

      g_set_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_INPUT,
                   _("expected uint8 images [N, 3, H, W], got %s"), got);
      return NULL;
    }

  no_grad = mien_no_grad_guard_new ();

  x = mien_tensor_to (images, self->device, MIEN_DTYPE_FLOAT32, error);
  if (x == NULL)
    return NULL;
  /* A division, not a multiplication by 1/255: the same rounding as torchvision's ToTensor. */
  max = mien_tensor_new_full (one, 1, 255.0, MIEN_DTYPE_FLOAT32, self->device, error);
  if (max == NULL || !mien_nn_replace (&x, mien_tensor_div (x, max, error)))
    return NULL;

  if (self->grey)
    {
      static const gint64 channel_dim[1] = { 1 };
      gint64 shape[4];
      g_autoptr(MienTensor) weights = channel_tensor (luminance, self->device, error);

      mien_tensor_shape (x, shape, 4);
      if (weights == NULL ||
          !mien_nn_replace (&x, mien_tensor_mul (x, weights, error)) ||
          !mien_nn_replace (&x, mien_tensor_sum_dims (x, channel_dim, 1, TRUE, error)) ||
          !mien_nn_replace (&x, mien_tensor_expand (x, shape, 4, error)))
        return NULL;
    }

  if (!mien_nn_replace (&x, mien_tensor_sub (x, self->mean_t, error)) ||
      !mien_nn_replace (&x, mien_tensor_div (x, self->std_t, error)))
    return NULL;

  return g_steal_pointer (&x);
}

/* Backbone plugins take one `training` flag for batch norm, dropout and stochastic depth
 * together. With batch norm in eval mode the trained backbone therefore runs without dropout
 * and stochastic depth too: that is what the authors' script did (model.eval () throughout),
 * and the alternative would need a second flag in the plugin interface. */
static gboolean
backbone_training (MienModel *self,
                   gboolean   training)
{
  return training && self->batch_norm == MIEN_BATCH_NORM_TRAIN;
}

/* DFT's feature, eq. (2): g_f (x) − g_t (x) + ε. */
static MienTensor *
dft_deviation (MienTensor  *frozen,
               MienTensor  *trained,
               GError     **error)
{
  g_autoptr(MienTensor) deviation = mien_tensor_sub (frozen, trained, error);

  if (deviation == NULL)
    return NULL;
  return mien_tensor_add_scalar (deviation, MIEN_DFT_EPSILON, error);
}

MienTensor *
mien_model_features (MienModel   *self,
                     MienTensor  *input,
                     gboolean     training,
                     GError     **error)
{
  gboolean bb_training;

  g_return_val_if_fail (MIEN_IS_MODEL (self), NULL);
  g_return_val_if_fail (input != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  bb_training = backbone_training (self, training);

  switch (self->mode)
    {
    case MIEN_MODE_PROBE:
      {
        /* Nothing below the head trains, so no graph is kept for it. */
        g_autoptr(MienNoGradGuard) no_grad = mien_no_grad_guard_new ();

        return mien_backbone_forward (self->backbone, input, bb_training, error);
      }

    case MIEN_MODE_DFT:
      {
        g_autoptr(MienTensor) frozen = NULL;
        g_autoptr(MienTensor) trained = NULL;

        {
          /* g_f has no trainable parameter: no graph, so DFT costs one backbone's activations
           * for autograd rather than two. */
          g_autoptr(MienNoGradGuard) no_grad = mien_no_grad_guard_new ();

          frozen = mien_backbone_forward (self->frozen, input, FALSE, error);
          if (frozen == NULL)
            return NULL;
        }

        trained = mien_backbone_forward (self->backbone, input, bb_training, error);
        if (trained == NULL)
          return NULL;
        return dft_deviation (frozen, trained, error);
      }

    case MIEN_MODE_FINETUNE:
    default:
      return mien_backbone_forward (self->backbone, input, bb_training, error);
    }
}

MienTensor *
mien_model_forward (MienModel   *self,
                    MienTensor  *input,
                    gboolean     training,
                    GError     **error)
{
  g_autoptr(MienTensor) features = NULL;

  g_return_val_if_fail (MIEN_IS_MODEL (self), NULL);
  g_return_val_if_fail (input != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  features = mien_model_features (self, input, training, error);
  if (features == NULL)
    return NULL;

  return mien_linear_forward (&self->head, features, error);
}

MienTensor *
mien_model_forward_hooked (MienModel         *self,
                           MienTensor        *input,
                           MienBackboneHook   hook,
                           gpointer           user_data,
                           GError           **error)
{
  g_autoptr(MienTensor) features = NULL;

  g_return_val_if_fail (MIEN_IS_MODEL (self), NULL);
  g_return_val_if_fail (input != NULL, NULL);
  g_return_val_if_fail (hook != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* DFT: the hook sees g_f's layer, then g_t's; g_f runs with autograd too, since an
   * explanation may need the gradient with respect to its layer. */
  if (self->mode == MIEN_MODE_DFT)
    {
      g_autoptr(MienTensor) frozen = NULL;
      g_autoptr(MienTensor) trained = NULL;

      if (!(frozen = mien_backbone_forward_hooked (self->frozen, input, FALSE, hook, user_data,
                                                   error)) ||
          !(trained = mien_backbone_forward_hooked (self->backbone, input, FALSE, hook,
                                                    user_data, error)) ||
          !(features = dft_deviation (frozen, trained, error)))
        return NULL;
    }
  else if (!(features = mien_backbone_forward_hooked (self->backbone, input, FALSE, hook,
                                                      user_data, error)))
    return NULL;

  return mien_linear_forward (&self->head, features, error);
}

MienTensor *
mien_model_predict (MienModel   *self,
                    MienTensor  *images,
                    GError     **error)
{
  g_autoptr(MienNoGradGuard) no_grad = NULL;
  g_autoptr(MienTensor) x = NULL;

  g_return_val_if_fail (MIEN_IS_MODEL (self), NULL);
  g_return_val_if_fail (images != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  no_grad = mien_no_grad_guard_new ();

  x = mien_model_prepare_input (self, images, error);
  if (x == NULL ||
      !mien_nn_replace (&x, mien_model_forward (self, x, FALSE, error)) ||
      !mien_nn_replace (&x, mien_tensor_softmax (x, 1, error)) ||
      !mien_nn_replace (&x, mien_tensor_to (x, mien_device_cpu (), MIEN_DTYPE_FLOAT32, error)))
    return NULL;

  return g_steal_pointer (&x);
}

gboolean
mien_model_add_to_optimizer (MienModel      *self,
                             MienOptimizer  *optimizer,
                             GError        **error)
{
  g_return_val_if_fail (MIEN_IS_MODEL (self), FALSE);
  g_return_val_if_fail (optimizer != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return mien_var_store_add_to_optimizer (self->vs, optimizer, error);
}

/* ---- Accessors --------------------------------------------------------------------------- */

MienVarStore *
mien_model_get_var_store (MienModel *self)
{
  g_return_val_if_fail (MIEN_IS_MODEL (self), NULL);

  return self->vs;
}

MienBackbone *
mien_model_get_backbone (MienModel *self)
{
  g_return_val_if_fail (MIEN_IS_MODEL (self), NULL);

  return self->backbone;
}

MienBackbone *
mien_model_get_frozen_backbone (MienModel *self)
{
  g_return_val_if_fail (MIEN_IS_MODEL (self), NULL);

  return self->frozen;
}

const char * const *
mien_model_get_classes (MienModel *self)
{
  g_return_val_if_fail (MIEN_IS_MODEL (self), NULL);

  return (const char * const *) self->classes;
}

guint
mien_model_get_n_classes (MienModel *self)
{
  g_return_val_if_fail (MIEN_IS_MODEL (self), 0);

  return self->n_classes;
}

int
mien_model_get_input_size (MienModel *self)
{
  g_return_val_if_fail (MIEN_IS_MODEL (self), 0);

  return self->input_size;
}

MienMode
mien_model_get_mode (MienModel *self)
{
  g_return_val_if_fail (MIEN_IS_MODEL (self), MIEN_MODE_PROBE);

  return self->mode;
}

MienBatchNorm
mien_model_get_batch_norm (MienModel *self)
{
  g_return_val_if_fail (MIEN_IS_MODEL (self), MIEN_BATCH_NORM_EVAL);

  return self->batch_norm;
}

gboolean
mien_model_get_grey (MienModel *self)
{
  g_return_val_if_fail (MIEN_IS_MODEL (self), FALSE);

  return self->grey;
}

void
mien_model_get_mean_std (MienModel *self,
                         double    *mean,
                         double    *std)
{
  g_return_if_fail (MIEN_IS_MODEL (self));

  if (mean != NULL)
    memcpy (mean, self->mean, sizeof self->mean);
  if (std != NULL)
    memcpy (std, self->std, sizeof self->std);
}

MienDevice
mien_model_get_device (MienModel *self)
{
  MienDevice cpu = MIEN_DEVICE_INIT_CPU;

  g_return_val_if_fail (MIEN_IS_MODEL (self), cpu);

  return self->device;
}

const char *
mien_model_get_backbone_spec (MienModel *self)
{
  g_return_val_if_fail (MIEN_IS_MODEL (self), NULL);

  return self->backbone_spec;
}

JsonObject *
mien_model_get_metadata (MienModel *self)
{
  g_return_val_if_fail (MIEN_IS_MODEL (self), NULL);

  return self->metadata;
}

gboolean
mien_model_to_device (MienModel   *self,
                      MienDevice   device,
                      GError     **error)
{
  g_autoptr(MienTensor) mean = NULL;
  g_autoptr(MienTensor) std = NULL;

  g_return_val_if_fail (MIEN_IS_MODEL (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* The small tensors first: the var store's move is the step that can fail half-way, and it
   * undoes itself. */
  mean = channel_tensor (self->mean, device, error);
  if (mean == NULL)
    return FALSE;
  std = channel_tensor (self->std, device, error);
  if (std == NULL)
    return FALSE;

  if (!mien_var_store_to_device (self->vs, device, error))
    return FALSE;

  g_clear_pointer (&self->mean_t, mien_tensor_free);
  g_clear_pointer (&self->std_t, mien_tensor_free);
  self->mean_t = g_steal_pointer (&mean);
  self->std_t = g_steal_pointer (&std);
  self->device = device;
  return TRUE;
}

/* ---- Model files --------------------------------------------------------------------------- */

static gboolean
is_extra_name (const char *name)
{
  return g_str_has_prefix (name, "optimizer.") || g_str_has_prefix (name, "trainer.");
}

static void
copy_member (JsonObject  *src,
             const char  *name,
             JsonNode    *node,
             gpointer     dst)
{
  json_object_set_member (dst, name, json_node_copy (node));
}

/* Adds detached aliases (no copy, no autograd) of every entry of `src` to `dst`. */
static gboolean
add_entries (MienVarStore  *dst,
             MienVarStore  *src,
             GError       **error)
{
  for (guint i = 0; i < mien_var_store_get_n_vars (src); i++)
    {
      g_autoptr(MienTensor) t = mien_var_store_get_nth (src, i);
      g_autoptr(MienTensor) detached = mien_tensor_detach (t, error);

      if (detached == NULL ||
          !mien_var_store_add (dst, mien_var_store_get_name (src, i), MIEN_VAR_BUFFER,
                               detached, error))
        return FALSE;
    }

  return TRUE;
}

gboolean
mien_model_save (MienModel     *self,
                 const char    *path,
                 JsonObject    *extra_metadata,
                 MienVarStore  *extra_tensors,
                 GError       **error)
{
  g_autoptr(MienVarStore) all = NULL;
  g_autoptr(JsonObject) md = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GHashTable) file_metadata = NULL;
  g_autofree char *display = NULL;

  g_return_val_if_fail (MIEN_IS_MODEL (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  display = g_filename_display_name (path);

  for (guint i = 0; extra_tensors != NULL && i < mien_var_store_get_n_vars (extra_tensors); i++)
    {
      const char *name = mien_var_store_get_name (extra_tensors, i);

      if (!is_extra_name (name))
        {
          g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID,
                       _("Cannot save “%s”: the extra tensor “%s” is not under “optimizer.” "
                         "or “trainer.”"), display, name);
          return FALSE;
        }
    }

  /* The caller's members may add to or replace the recorded ones, but the members that
   * describe the network are rewritten last: the file must describe the weights it holds. */
  md = json_object_new ();
  json_object_foreach_member (self->metadata, copy_member, md);
  if (extra_metadata != NULL)
    json_object_foreach_member (extra_metadata, copy_member, md);
  set_description (self, md);
  json_object_set_string_member (md, "mien_version", PACKAGE_VERSION);

  root = json_node_init_object (json_node_alloc (), md);
  file_metadata = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_hash_table_insert (file_metadata, METADATA_KEY, mien_json_to_string (root, FALSE));

  /* One store of aliases, so that the var store's writer (atomic, one tensor in host memory at
   * a time) writes both sets; buffers, so that adding them changes no requires_grad. */
  all = mien_var_store_new (self->device);
  if (!add_entries (all, self->vs, error) ||
      (extra_tensors != NULL && !add_entries (all, extra_tensors, error)))
    {
      g_prefix_error (error, _("Cannot save “%s”: "), display);
      return FALSE;
    }

  return mien_var_store_save (all, path, NULL, file_metadata, error);
}

/* What the metadata says, borrowed from its JsonObject. */
typedef struct {
  const char    *backbone;
  const char    *variant;
  int            input_size;
  MienMode       mode;
  MienBatchNorm  batch_norm;
  GPtrArray     *classes;  /* NULL-terminated, borrowed strings */
  gboolean       grey;
  double         mean[3];
  double         std[3];
} FileSpec;

static void
file_spec_clear (FileSpec *fs)
{
  g_clear_pointer (&fs->classes, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (FileSpec, file_spec_clear)

/* The typed reads of mien-json; parse_metadata () words the errors itself (bad_member). */
static const char *
string_member (JsonObject *md,
               const char *member)
{
  const char *s = NULL;

  if (!mien_json_get_string (md, METADATA_KEY, member, MIEN_JSON_REQUIRED, &s, NULL))
    return NULL;
  return s;
}

static gboolean
int_member (JsonObject *md,
            const char *member,
            gint64     *out)
{
  return mien_json_get_int (md, METADATA_KEY, member, MIEN_JSON_REQUIRED, G_MININT64,
                            G_MAXINT64, out, NULL);
}

static gboolean
triple_member (JsonObject *md,
               const char *member,
               double     *out)
{
  g_autofree double *values = NULL;
  guint n = 0;

  if (!mien_json_get_doubles (md, METADATA_KEY, member, MIEN_JSON_REQUIRED, -G_MAXDOUBLE,
                              G_MAXDOUBLE, &values, &n, NULL) || n != 3)
    return FALSE;
  memcpy (out, values, 3 * sizeof (double));
  return TRUE;
}

static gboolean
bad_member (GError     **error,
            const char  *member,
            const char  *what)
{
  g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_FILE,
               _("its “%s” is missing or not %s"), member, what);
  return FALSE;
}

/* "face_margin": NAN when absent or null. */
static gboolean
face_margin_member (JsonObject *md,
                    double     *margin)
{
  JsonNode *node = json_object_get_member (md, "face_margin");

  *margin = NAN;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  return mien_json_get_double (md, METADATA_KEY, "face_margin", MIEN_JSON_REQUIRED, 0.0,
                               MIEN_FACE_MARGIN_MAX, margin, NULL);
}

gboolean
mien_model_get_face_margin (MienModel *self,
                            double    *margin)
{
  double value;

  g_return_val_if_fail (MIEN_IS_MODEL (self), FALSE);

  /* Checked when the file was read; a model built here has none. */
  if (!face_margin_member (self->metadata, &value) || isnan (value))
    return FALSE;
  if (margin != NULL)
    *margin = value;
  return TRUE;
}

/* Checks every member a model needs; the caller prefixes the error with the file's name. */
static gboolean
parse_metadata (JsonObject  *md,
                FileSpec    *fs,
                GError     **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  const char *s;
  JsonNode *node;
  JsonArray *classes;
  gint64 v;
  double epsilon, margin;

  s = string_member (md, "format");
  if (s == NULL || !g_str_equal (s, FORMAT_NAME))
    return bad_member (error, "format", "“" FORMAT_NAME "”");
  if (!int_member (md, "format_version", &v))
    return bad_member (error, "format_version", _("an integer"));
  if (v != FORMAT_VERSION)
    {
      g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_FILE,
                   _("it is in version %lld of the format; this Mien reads version %d"),
                   (long long) v, FORMAT_VERSION);
      return FALSE;
    }

  fs->backbone = string_member (md, "backbone");
  if (fs->backbone == NULL || fs->backbone[0] == '\0' || strchr (fs->backbone, ':') != NULL)
    return bad_member (error, "backbone", _("a backbone family"));
  fs->variant = string_member (md, "variant");
  if (fs->variant == NULL || fs->variant[0] == '\0' || strchr (fs->variant, ':') != NULL)
    return bad_member (error, "variant", _("a variant name"));
  if (!int_member (md, "input_size", &v) || v < 1 || v > MAX_INPUT_SIZE)
    return bad_member (error, "input_size", _("an image size in pixels"));
  fs->input_size = (int) v;

  if (!mien_mode_from_string (string_member (md, "mode"), &fs->mode, NULL))
    return bad_member (error, "mode", "“probe”, “finetune” or “dft”");
  if (!mien_batch_norm_from_string (string_member (md, "batch_norm"), &fs->batch_norm, NULL))
    return bad_member (error, "batch_norm", "“train” or “eval”");

  node = json_object_get_member (md, "classes");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node) ||
      json_array_get_length (classes = json_node_get_array (node)) < 2)
    return bad_member (error, "classes", _("a list of at least two classes"));
  fs->classes = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (classes); i++)
    {
      JsonNode *element = json_array_get_element (classes, i);

      if (!JSON_NODE_HOLDS_VALUE (element) ||
          json_node_get_value_type (element) != G_TYPE_STRING ||
          (s = json_node_get_string (element))[0] == '\0' ||
          !g_hash_table_add (seen, (gpointer) s))
        return bad_member (error, "classes", _("a list of distinct class names"));
      g_ptr_array_add (fs->classes, (gpointer) s);
    }
  g_ptr_array_add (fs->classes, NULL);

  s = string_member (md, "colour_mode");
  if (s == NULL || !(g_str_equal (s, "rgb") || g_str_equal (s, "grey")))
    return bad_member (error, "colour_mode", "“rgb” or “grey”");
  fs->grey = g_str_equal (s, "grey");

  if (!triple_member (md, "mean", fs->mean))
    return bad_member (error, "mean", _("three numbers"));
  if (!triple_member (md, "std", fs->std) ||
      !(fs->std[0] > 0 && fs->std[1] > 0 && fs->std[2] > 0))
    return bad_member (error, "std", _("three numbers above 0"));

  /* Written by every version so far; only checked, since ε is a constant of the method. */
  if (!mien_json_get_double (md, METADATA_KEY, "dft_epsilon", MIEN_JSON_OPTIONAL, -G_MAXDOUBLE,
                             G_MAXDOUBLE, &epsilon, NULL))
    return bad_member (error, "dft_epsilon", _("a number"));
  if (!face_margin_member (md, &margin))
    return bad_member (error, "face_margin", _("null or a number from 0 to 2"));

  return TRUE;
}

/* The "mien" metadata of an open file, parsed and checked; errors name the file. */
static JsonObject *
read_metadata (MienSafetensors  *st,
               const char       *path,
               FileSpec         *fs,
               GError          **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *display = g_filename_display_name (path);
  const char *json = g_hash_table_lookup (mien_safetensors_get_metadata (st), METADATA_KEY);
  JsonNode *root;

  if (json == NULL)
    {
      g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_FILE,
                   _("“%s” is not a Mien model file: it has no “%s” metadata"),
                   display, METADATA_KEY);
      return NULL;
    }

  if (!json_parser_load_from_data (parser, json, -1, &local_error) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_FILE,
                   _("“%s” is not a valid Mien model file: its metadata is not a JSON object%s%s"),
                   display, local_error != NULL ? ": " : "",
                   local_error != NULL ? local_error->message : "");
      return NULL;
    }

  if (!parse_metadata (json_node_get_object (root), fs, error))
    {
      g_prefix_error (error, _("“%s” is not a valid Mien model file: "), display);
      return NULL;
    }

  return json_object_ref (json_node_get_object (root));
}

JsonObject *
mien_model_read_metadata (const char  *path,
                          GError     **error)
{
  g_autoptr(MienSafetensors) st = NULL;
  g_auto(FileSpec) fs = { 0, };

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  st = mien_safetensors_open (path, error);
  if (st == NULL)
    return NULL;

  return read_metadata (st, path, &fs, error);
}

/* " (a, b, c and 2 more)" */
static void
append_names (GString   *s,
              GPtrArray *names)
{
  guint shown = MIN (names->len, MAX_NAMES);

  if (names->len == 0)
    return;

  g_string_append (s, " (");
  for (guint i = 0; i < shown; i++)
    g_string_append_printf (s, "%s%s", i > 0 ? ", " : "",
                            (const char *) g_ptr_array_index (names, i));
  if (names->len > shown)
    g_string_append_printf (s, g_dngettext (GETTEXT_PACKAGE, " and %u more", " and %u more",
                                            names->len - shown),
                            names->len - shown);
  g_string_append_c (s, ')');
}

/* "2 missing (…); 1 with another shape (…)", for the lists that are not empty. */
static char *
describe_misfits (GPtrArray *missing,
                  GPtrArray *unexpected,
                  GPtrArray *mismatched)
{
  GString *s = g_string_new (NULL);

  if (missing != NULL && missing->len > 0)
    {
      g_string_append_printf (s, g_dngettext (GETTEXT_PACKAGE, "%u tensor missing",
                                              "%u tensors missing", missing->len),
                              missing->len);
      append_names (s, missing);
    }
  if (unexpected != NULL && unexpected->len > 0)
    {
      if (s->len > 0)
        g_string_append (s, "; ");
      g_string_append_printf (s, g_dngettext (GETTEXT_PACKAGE, "%u unexpected tensor",
                                              "%u unexpected tensors", unexpected->len),
                              unexpected->len);
      append_names (s, unexpected);
    }
  if (mismatched != NULL && mismatched->len > 0)
    {
      if (s->len > 0)
        g_string_append (s, "; ");
      g_string_append_printf (s, g_dngettext (GETTEXT_PACKAGE, "%u tensor of another shape",
                                              "%u tensors of another shape", mismatched->len),
                              mismatched->len);
      append_names (s, mismatched);
    }

  return g_string_free (s, FALSE);
}

/* NaN or an infinity in any floating-point tensor: x - x is 0 for every finite x and NaN
 * otherwise, so one sum tells. Such a model would only ever predict NaN. */
static gboolean
check_finite (MienVarStore  *vs,
              const char    *display,
              GError       **error)
{
  for (guint i = 0; i < mien_var_store_get_n_vars (vs); i++)
    {
      g_autoptr(MienTensor) t = mien_var_store_get_nth (vs, i);
      MienDType dtype = mien_tensor_dtype (t);
      g_autoptr(MienTensor) zero = NULL;
      g_autoptr(MienTensor) sum = NULL;
      double value = 0.0;

      if (dtype != MIEN_DTYPE_FLOAT32 && dtype != MIEN_DTYPE_FLOAT16 &&
          dtype != MIEN_DTYPE_BFLOAT16 && dtype != MIEN_DTYPE_FLOAT64)
        continue;
      zero = mien_tensor_sub (t, t, error);
      sum = zero ? mien_tensor_sum (zero, error) : NULL;
      if (sum == NULL || !mien_tensor_item (sum, &value, error))
        return FALSE;
      if (value != 0.0)
        {
          g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_FILE,
                       _("“%s” is not a usable model: its tensor %s holds NaN or infinite "
                         "values"), display, mien_var_store_get_name (vs, i));
          return FALSE;
        }
    }
  return TRUE;
}

MienModel *
mien_model_load (MienPluginEngine  *engine,
                 const char        *path,
                 MienDevice         device,
                 GError           **error)
{
  g_autoptr(MienSafetensors) st = NULL;
  g_autoptr(JsonObject) md = NULL;
  g_autoptr(MienModel) model = NULL;
  g_autoptr(MienLoadReport) report = NULL;
  g_autoptr(GPtrArray) unexpected = NULL;
  g_autofree char *spec_string = NULL;
  g_autofree char *display = NULL;
  g_auto(FileSpec) fs = { 0, };
  MienLoadOptions options = { NULL, NULL, NULL, NULL, MIEN_LOAD_TOLERANT };
  MienModelSpec spec = { 0, };

  g_return_val_if_fail (MIEN_IS_PLUGIN_ENGINE (engine), NULL);
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display = g_filename_display_name (path);

  st = mien_safetensors_open (path, error);
  if (st == NULL)
    return NULL;
  md = read_metadata (st, path, &fs, error);
  if (md == NULL)
    return NULL;

  spec_string = g_strdup_printf ("%s:%s", fs.backbone, fs.variant);
  spec.backbone = spec_string;
  spec.input_size = fs.input_size;
  spec.mode = fs.mode;
  spec.batch_norm = fs.batch_norm;
  spec.classes = (const char * const *) fs.classes->pdata;
  spec.grey = fs.grey;
  memcpy (spec.mean, fs.mean, sizeof spec.mean);
  memcpy (spec.std, fs.std, sizeof spec.std);
  spec.device = device;

  model = mien_model_new (engine, &spec, error);
  if (model == NULL)
    {
      g_prefix_error (error, _("Cannot load “%s”: "), display);
      return NULL;
    }

  /* Tolerant, then checked here: the trainer's entries are expected in a file but have no place
   * in the model, which strict mode cannot express. A refused file is dropped whole anyway. */
  if (!mien_var_store_load_from (model->vs, st, &options, &report, error))
    {
      g_prefix_error (error, _("Cannot load “%s”: "), display);
      return NULL;
    }

  unexpected = g_ptr_array_new ();
  for (guint i = 0; i < report->unexpected->len; i++)
    if (!is_extra_name (g_ptr_array_index (report->unexpected, i)))
      g_ptr_array_add (unexpected, g_ptr_array_index (report->unexpected, i));

  if (report->missing->len > 0 || unexpected->len > 0 || report->mismatched->len > 0)
    {
      g_autofree char *misfits = describe_misfits (report->missing, unexpected,
                                                   report->mismatched);

      g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_FILE,
                   _("“%s” is not a valid Mien model file: its tensors do not fit the "
                     "%s model with %u classes it describes: %s"),
                   display, spec_string, model->n_classes, misfits);
      return NULL;
    }

  if (!check_finite (model->vs, display, error))
    return NULL;

  g_clear_pointer (&model->metadata, json_object_unref);
  model->metadata = g_steal_pointer (&md);

  return g_steal_pointer (&model);
}

gboolean
mien_model_load_pretrained (MienModel   *self,
                            const char  *path,
                            char       **summary,
                            GError     **error)
{
  g_autoptr(MienTensorSource) src = NULL;
  g_autoptr(MienVarStore) scratch = NULL;
  g_autoptr(MienBackbone) probe = NULL;
  g_autoptr(MienLoadReport) dry = NULL;
  g_autoptr(MienLoadReport) report = NULL;
  g_autofree char *display = NULL;
  g_autofree char *loaded = NULL;
  MienLoadOptions options = { NULL, BACKBONE_PREFIX, NULL, NULL, MIEN_LOAD_TOLERANT };
  gboolean is_model_file;

  g_return_val_if_fail (MIEN_IS_MODEL (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  display = g_filename_display_name (path);

  /* safetensors or a PyTorch checkpoint, by content */
  src = mien_tensor_source_open (path, error);
  if (src == NULL)
    return FALSE;

  is_model_file = g_hash_table_contains (mien_tensor_source_get_metadata (src), METADATA_KEY);
  if (is_model_file)
    {
      options.file_prefix = BACKBONE_PREFIX;
    }
  else
    {
      options.map_key = mien_backbone_key_map_func;
      options.map_key_data = self->backbone;
    }
  /* A checkpoint saved for another input size may still fit once resampled (ViT's position
   * embedding); the plugin knows how. */
  options.adapt = mien_backbone_adapt_func;
  options.adapt_data = self->backbone;

  /* A dry run into a twin of the backbone on the meta device (no storage, copies do nothing)
   * finds what does not fit with the var store's own matching, before anything changes. */
  scratch = mien_var_store_new ((MienDevice) { MIEN_DEVICE_META, 0 });
  probe = g_object_new (G_OBJECT_TYPE (self->backbone), NULL);
  if (!mien_backbone_build (probe, mien_backbone_get_variant (self->backbone)->name,
                            self->input_size, scratch, BACKBONE_PREFIX, error) ||
      !mien_var_store_load_from_source (scratch, src, &options, &dry, error))
    {
      g_prefix_error (error, _("Cannot load the weights in “%s”: "), display);
      return FALSE;
    }

  if (dry->missing->len > 0 || dry->mismatched->len > 0)
    {
      g_autofree char *misfits = describe_misfits (dry->missing, NULL, dry->mismatched);

      g_set_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_PRETRAINED,
                   _("The weights in “%s” do not fit the %s backbone: %s"),
                   display, self->backbone_spec, misfits);
      return FALSE;
    }

  if (!mien_var_store_load_from_source (self->vs, src, &options, &report, error))
    {
      g_prefix_error (error, _("Cannot load the weights in “%s”: "), display);
      return FALSE;
    }
  if (self->mode == MIEN_MODE_DFT && !copy_backbone_to_frozen (self, error))
    return FALSE;

  if (summary != NULL)
    {
      loaded = mien_load_report_to_string (report);
      *summary = g_strdup_printf (is_model_file
                                  ? _("Backbone weights from the Mien model “%s”: %s")
                                  : _("Backbone weights from “%s”: %s"),
                                  display, loaded);
    }

  return TRUE;
}
