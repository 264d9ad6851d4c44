/* mien-explain.c — Grad-CAM of models and ensembles (see mien-explain.h). */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>

#include "mien-explain.h"

G_DEFINE_QUARK (mien-explain-error-quark, mien_explain_error)

/* pytorch-grad-cam's scale_cam_image () divides by max + 1e-7, so that a map of zeros (a class
 * with no positive evidence) stays zeros instead of becoming NaN. */
#define SCALE_EPSILON 1e-7

typedef struct {
  guint       target;      /* which call of the hook (which copy of the layer) to explain */
  guint       n_calls;     /* how many times the hook was called: copies of the layer */
  MienTensor *activation;  /* the leaf the network continued with at call `target` */
  char       *layer;
} GradCamHook;

/* Cuts the graph at the explained layer: the rest of the network runs on a leaf that requires
 * grad, so the gradient is taken with respect to it whether or not the backbone's parameters
 * require grad (linear probe). A model with several copies of the layer (DFT's two backbones)
 * calls the hook once per copy; the other copies are detached, so that one pass gives the
 * gradient of exactly one of them. */
static MienTensor *
grad_cam_hook (const char  *layer,
               MienTensor  *activation,
               gpointer     user_data,
               GError     **error)
{
  GradCamHook *data = user_data;
  MienTensor *leaf;

  leaf = mien_tensor_detach (activation, error);
  if (leaf == NULL || data->n_calls++ != data->target)
    return leaf;
  mien_tensor_set_requires_grad (leaf, TRUE);

  g_clear_pointer (&data->activation, mien_tensor_free);
  data->activation = mien_tensor_alias (leaf);
  g_free (data->layer);
  data->layer = g_strdup (layer);
  return leaf;
}

/* Σ_c mean_hw (∂ score / ∂ A)_c × A_c [N, h, w] for the copy of the layer `hook->target`, before
 * the ReLU. */
static MienTensor *
grad_cam_term (MienModel   *model,
               MienTensor  *input,
               guint        class_index,
               GradCamHook *hook,
               GError     **error)
{
  static const gint64 spatial[2] = { 2, 3 };
  static const gint64 channels[1] = { 1 };
  g_autoptr(MienTensor) logits = NULL;
  g_autoptr(MienTensor) score = NULL;
  g_autoptr(MienTensor) grad = NULL;
  g_autoptr(MienTensor) weights = NULL;
  g_autoptr(MienTensor) term = NULL;

  /* In eval mode every image's logit depends on its own activation only, so the gradient of
   * the batch's sum gives each image its own gradient in one backward pass. */
  if (!(logits = mien_model_forward_hooked (model, input, grad_cam_hook, hook, error)) ||
      !(score = mien_tensor_select (logits, 1, class_index, error)) ||
      !mien_nn_replace (&score, mien_tensor_sum (score, error)) ||
      !(grad = mien_tensor_grad_of (score, hook->activation, error)) ||
      !(weights = mien_tensor_mean_dims (grad, spatial, G_N_ELEMENTS (spatial), TRUE, error)) ||
      !(term = mien_tensor_mul (weights, hook->activation, error)) ||
      !mien_nn_replace (&term, mien_tensor_sum_dims (term, channels, G_N_ELEMENTS (channels),
                                                     FALSE, error)))
    return NULL;

  return mien_tensor_detach (term, error);
}

MienTensor *
mien_explain_grad_cam (MienModel    *model,
                       MienTensor   *input,
                       guint         class_index,
                       char        **layer,
                       GError      **error)
{
  GradCamHook hook = { 0, 0, NULL, NULL };
  g_autoptr(MienTensor) map = NULL;
  MienTensor *result = NULL;
  guint n_classes;
  guint n_copies = 1;

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

  /* One pass per copy of the layer (see mien_model_forward_hooked ()): the terms of all copies
   * add up before the ReLU, so a DFT model's map is that of the deviation its head reads. */
  for (hook.target = 0; hook.target < n_copies; hook.target++)
    {
      g_autoptr(MienTensor) term = NULL;

      hook.n_calls = 0;
      term = grad_cam_term (model, input, class_index, &hook, error);
      if (term == NULL ||
          (map != NULL && !mien_nn_replace (&term, mien_tensor_add (map, term, error))))
        goto out;
      g_clear_pointer (&map, mien_tensor_free);
      map = g_steal_pointer (&term);
      n_copies = hook.n_calls;
    }

  if (mien_nn_replace (&map, mien_tensor_relu (map, error)))
    result = mien_tensor_to (map, mien_device_cpu (), MIEN_DTYPE_FLOAT32, error);

out:
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

void
mien_explain_colour (double  value,
                     guint8  rgb[3])
{
  double v = isnan (value) ? 0.0 : CLAMP (value, 0.0, 1.0);
  /* Jet: each channel is a trapezoid over the scale, blue's centred at 1/4, green's at 1/2,
   * red's at 3/4, each 1/2 wide at full strength. */
  double channel[3] = { 1.5 - fabs (4.0 * v - 3.0),
                        1.5 - fabs (4.0 * v - 2.0),
                        1.5 - fabs (4.0 * v - 1.0) };

  for (guint i = 0; i < 3; i++)
    rgb[i] = (guint8) lround (255.0 * CLAMP (channel[i], 0.0, 1.0));
}

/* The map at (y, x) in map cells, bilinear between the four nearest cell centres, clamped at
 * the edges (half-pixel centres, as the upsampling above). */
static double
sample_bilinear (const float *map,
                 int          h,
                 int          w,
                 double       y,
                 double       x)
{
  int y0, x0, y1, x1;
  double fy, fx;

  y = CLAMP (y, 0.0, h - 1.0);
  x = CLAMP (x, 0.0, w - 1.0);
  y0 = (int) floor (y);
  x0 = (int) floor (x);
  y1 = MIN (y0 + 1, h - 1);
  x1 = MIN (x0 + 1, w - 1);
  fy = y - y0;
  fx = x - x0;

  return (1 - fy) * ((1 - fx) * map[y0 * w + x0] + fx * map[y0 * w + x1]) +
         fy * ((1 - fx) * map[y1 * w + x0] + fx * map[y1 * w + x1]);
}

GdkPixbuf *
mien_explain_overlay (GdkPixbuf   *image,
                      MienTensor  *map,
                      double       opacity,
                      GError     **error)
{
  g_autoptr(GdkPixbuf) out = NULL;
  g_autofree float *values = NULL;
  gint64 shape[3];
  int ndim, h, w, width, height, channels, in_stride, out_stride;
  const guint8 *in;
  guint8 *pixels;

  g_return_val_if_fail (GDK_IS_PIXBUF (image), NULL);
  g_return_val_if_fail (map != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  ndim = mien_tensor_shape (map, shape, G_N_ELEMENTS (shape));
  if (!(ndim == 2 || (ndim == 3 && shape[0] == 1)) ||
      mien_tensor_dtype (map) != MIEN_DTYPE_FLOAT32 ||
      shape[ndim - 2] < 1 || shape[ndim - 1] < 1 ||
      shape[ndim - 2] > 65536 || shape[ndim - 1] > 65536)
    {
      g_autofree char *got = mien_tensor_describe (map);

      g_set_error (error, MIEN_EXPLAIN_ERROR, MIEN_EXPLAIN_ERROR_INPUT,
                   _("Expected one float map of shape [h, w], got %s"), got);
      return NULL;
    }

  h = (int) shape[ndim - 2];
  w = (int) shape[ndim - 1];
  values = g_new (float, (gsize) h * w);
  if (!mien_tensor_to_host (map, values, (gsize) h * w * sizeof (float), error))
    return NULL;

  opacity = isnan (opacity) ? 0.0 : CLAMP (opacity, 0.0, 1.0);
  width = gdk_pixbuf_get_width (image);
  height = gdk_pixbuf_get_height (image);
  channels = gdk_pixbuf_get_n_channels (image);
  in = gdk_pixbuf_read_pixels (image);
  in_stride = gdk_pixbuf_get_rowstride (image);
  out = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  if (out == NULL)
    {
      g_set_error (error, MIEN_EXPLAIN_ERROR, MIEN_EXPLAIN_ERROR_INPUT,
                   _("Not enough memory for a %d × %d overlay"), width, height);
      return NULL;
    }
  pixels = gdk_pixbuf_get_pixels (out);
  out_stride = gdk_pixbuf_get_rowstride (out);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        const guint8 *src = in + (gsize) y * in_stride + (gsize) x * channels;
        guint8 *dst = pixels + (gsize) y * out_stride + (gsize) x * 3;
        guint8 colour[3];
        double v = sample_bilinear (values, h, w,
                                    (y + 0.5) * h / height - 0.5,
                                    (x + 0.5) * w / width - 0.5);

        mien_explain_colour (v, colour);
        for (int c = 0; c < 3; c++)
          dst[c] = (guint8) lround ((1.0 - opacity) * src[c] + opacity * colour[c]);
      }

  return g_steal_pointer (&out);
}
