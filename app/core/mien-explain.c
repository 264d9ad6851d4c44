/* mien-explain.c — Grad-CAM of models and ensembles (see mien-explain.h). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mien-explain.h"

G_DEFINE_QUARK (mien-explain-error-quark, mien_explain_error)

/* pytorch-grad-cam's scale_cam_image () divides by max + 1e-7, so that a map of zeros (a class
 * with no positive evidence) stays zeros instead of becoming NaN. */
#define SCALE_EPSILON 1e-7

typedef struct {
  MienTensor *activation;  /* the leaf the network continued with */
  char       *layer;
} GradCamHook;

/* Cuts the graph at the explained layer: the rest of the network runs on a leaf that requires
 * grad, so the gradient is taken with respect to it whether or not the backbone's parameters
 * require grad (linear probe). */
static MienTensor *
grad_cam_hook (const char  *layer,
               MienTensor  *activation,
               gpointer     user_data,
               GError     **error)
{
  GradCamHook *data = user_data;
  MienTensor *leaf;

  leaf = mien_tensor_detach (activation, error);
  if (leaf == NULL)
    return NULL;
  mien_tensor_set_requires_grad (leaf, TRUE);

  g_clear_pointer (&data->activation, mien_tensor_free);
  data->activation = mien_tensor_alias (leaf);
  g_free (data->layer);
  data->layer = g_strdup (layer);
  return leaf;
}

MienTensor *
mien_explain_grad_cam (MienModel    *model,
                       MienTensor   *input,
                       guint         class_index,
                       char        **layer,
                       GError      **error)
{
  static const gint64 spatial[2] = { 2, 3 };
  static const gint64 channels[1] = { 1 };
  GradCamHook hook = { NULL, NULL };
  g_autoptr(MienTensor) logits = NULL;
  g_autoptr(MienTensor) score = NULL;
  g_autoptr(MienTensor) grad = NULL;
  g_autoptr(MienTensor) weights = NULL;
  g_autoptr(MienTensor) map = NULL;
  MienTensor *result = NULL;
  guint n_classes;

  g_return_val_if_fail (MIEN_IS_MODEL (model), NULL);
  g_return_val_if_fail (input != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  n_classes = mien_model_get_n_classes (model);
  if (class_index >= n_classes)
    {
      g_set_error (error, MIEN_EXPLAIN_ERROR, MIEN_EXPLAIN_ERROR_CLASS,
                   _("Cannot explain class %u: the model has %u classes"),
                   class_index, n_classes);
      return NULL;
    }

  /* In eval mode every image's logit depends on its own activation only, so the gradient of
   * the batch's sum gives each image its own gradient in one backward pass. */
  if ((logits = mien_model_forward_hooked (model, input, grad_cam_hook, &hook, error)) &&
      (score = mien_tensor_select (logits, 1, class_index, error)) &&
      mien_nn_replace (&score, mien_tensor_sum (score, error)) &&
      (grad = mien_tensor_grad_of (score, hook.activation, error)) &&
      (weights = mien_tensor_mean_dims (grad, spatial, G_N_ELEMENTS (spatial), TRUE, error)) &&
      (map = mien_tensor_mul (weights, hook.activation, error)) &&
      mien_nn_replace (&map, mien_tensor_sum_dims (map, channels, G_N_ELEMENTS (channels),
                                                   FALSE, error)) &&
      mien_nn_replace (&map, mien_tensor_relu (map, error)) &&
      mien_nn_replace (&map, mien_tensor_detach (map, error)))
    result = mien_tensor_to (map, mien_device_cpu (), MIEN_DTYPE_FLOAT32, error);

  if (result != NULL && layer != NULL)
    *layer = g_steal_pointer (&hook.layer);
  g_clear_pointer (&hook.activation, mien_tensor_free);
  g_free (hook.layer);
  return result;
}

MienTensor *
mien_explain_upsample (MienTensor  *map,
                       int          height,
                       int          width,
                       GError     **error)
{
  static const gint64 spatial[2] = { 1, 2 };
  const gint64 size[2] = { height, width };
  g_autoptr(MienTensor) x = NULL;
  g_autoptr(MienTensor) low = NULL;
  g_autoptr(MienTensor) high = NULL;

  g_return_val_if_fail (map != NULL, NULL);
  g_return_val_if_fail (height > 0 && width > 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (mien_tensor_ndim (map) != 3)
    {
      g_autofree char *got = mien_tensor_describe (map);

      g_set_error (error, MIEN_EXPLAIN_ERROR, MIEN_EXPLAIN_ERROR_INPUT,
                   _("Expected a map of shape [N, h, w], got %s"), got);
      return NULL;
    }

  if (!(x = mien_tensor_to (map, mien_device_cpu (), MIEN_DTYPE_FLOAT32, error)) ||
      !mien_nn_replace (&x, mien_tensor_unsqueeze (x, 1, error)) ||
      !mien_nn_replace (&x, mien_tensor_interpolate (x, size, MIEN_INTERPOLATION_BILINEAR,
                                                     FALSE, error)) ||
      !mien_nn_replace (&x, mien_tensor_squeeze_dim (x, 1, error)) ||
      !(low = mien_tensor_amin_dims (x, spatial, G_N_ELEMENTS (spatial), TRUE, error)) ||
      !mien_nn_replace (&x, mien_tensor_sub (x, low, error)) ||
      !(high = mien_tensor_amax_dims (x, spatial, G_N_ELEMENTS (spatial), TRUE, error)) ||
      !mien_nn_replace (&high, mien_tensor_add_scalar (high, SCALE_EPSILON, error)))
    return NULL;

  return mien_tensor_div (x, high, error);
}

MienTensor *
mien_explain_grad_cam_ensemble (MienEnsemble  *ensemble,
                                MienTensor    *images,
                                guint          class_index,
                                GPtrArray    **members,
                                GError       **error)
{
  g_autoptr(GPtrArray) maps = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_tensor_free);
  g_autoptr(MienTensor) sum = NULL;
  guint n_models;
  gint64 size;

  g_return_val_if_fail (MIEN_IS_ENSEMBLE (ensemble), NULL);
  g_return_val_if_fail (images != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  n_models = mien_ensemble_get_n_models (ensemble);
  g_return_val_if_fail (n_models > 0, NULL);

  size = mien_tensor_ndim (images) == 4 ? mien_tensor_size (images, 3) : 0;
  for (guint i = 0; i < n_models; i++)
    {
      MienModel *model = mien_ensemble_get_model (ensemble, i);
      g_autoptr(MienTensor) input = NULL;
      g_autoptr(MienTensor) map = NULL;
      MienTensor *scaled;

      if (mien_model_get_input_size (model) != size)
        {
          g_autofree char *got = mien_tensor_describe (images);

          g_set_error (error, MIEN_EXPLAIN_ERROR, MIEN_EXPLAIN_ERROR_INPUT,
                       _("Model %u of the ensemble takes %d×%d images, got %s"),
                       i + 1, mien_model_get_input_size (model),
                       mien_model_get_input_size (model), got);
          return NULL;
        }

      if (!(input = mien_model_prepare_input (model, images, error)) ||
          !(map = mien_explain_grad_cam (model, input, class_index, NULL, error)) ||
          !(scaled = mien_explain_upsample (map, size, size, error)))
        return NULL;
      g_ptr_array_add (maps, scaled);

      if (sum == NULL ? !(sum = mien_tensor_clone (scaled, error))
                      : !mien_nn_replace (&sum, mien_tensor_add (sum, scaled, error)))
        return NULL;
    }

  if (members != NULL)
    *members = g_steal_pointer (&maps);
  return mien_tensor_mul_scalar (sum, 1.0 / n_models, error);
}
