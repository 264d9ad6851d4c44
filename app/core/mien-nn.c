#include "config.h"

#include <string.h>

#include "mien-nn.h"

char *
mien_nn_name (const char *prefix,
              const char *format,
              ...)
{
  va_list args;
  g_autofree char *name = NULL;

  va_start (args, format);
  name = g_strdup_vprintf (format, args);
  va_end (args);

  return g_strconcat (prefix ? prefix : "", name, NULL);
}

gboolean
mien_nn_replace (MienTensor **x,
                 MienTensor  *y)
{
  if (y == NULL)
    return FALSE;

  g_clear_pointer (x, mien_tensor_free);
  *x = y;
  return TRUE;
}

static MienTensor *
new_parameter (MienVarStore   *vs,
               const char     *name,
               const char     *leaf,
               const gint64   *shape,
               int             ndim,
               const MienInit *init,
               GError        **error)
{
  g_autofree char *full = g_strconcat (name, ".", leaf, NULL);

  return mien_var_store_new_parameter (vs, full, shape, ndim, init, error);
}

static MienTensor *
new_buffer (MienVarStore   *vs,
            const char     *name,
            const char     *leaf,
            const gint64   *shape,
            int             ndim,
            MienDType       dtype,
            const MienInit *init,
            GError        **error)
{
  g_autofree char *full = g_strconcat (name, ".", leaf, NULL);

  return mien_var_store_new_buffer (vs, full, shape, ndim, dtype, init, error);
}

/* ---- Conv2d ------------------------------------------------------------------------------- */

gboolean
mien_conv2d_init (MienConv2d             *conv,
                  MienVarStore           *vs,
                  const char             *name,
                  const MienConv2dConfig *config,
                  GError                **error)
{
  static const MienInit torchvision_conv = { MIEN_INIT_KAIMING_NORMAL_FAN_OUT, 0, 0 };
  static const MienInit zeros = { MIEN_INIT_ZEROS, 0, 0 };
  gint64 groups = config->groups > 0 ? config->groups : 1;
  gint64 stride = config->stride > 0 ? config->stride : 1;
  gint64 shape[4] = { config->out_channels, config->in_channels / groups,
                      config->kernel, config->kernel };

  g_return_val_if_fail (config->in_channels % groups == 0, FALSE);

  memset (conv, 0, sizeof *conv);
  conv->stride[0] = conv->stride[1] = stride;
  conv->padding[0] = conv->padding[1] = config->padding;
  conv->dilation[0] = conv->dilation[1] = 1;
  conv->groups = groups;

  conv->weight = new_parameter (vs, name, "weight", shape, 4,
                                config->weight_init ? config->weight_init : &torchvision_conv,
                                error);
  if (conv->weight == NULL)
    return FALSE;

  if (config->bias)
    {
      conv->bias = new_parameter (vs, name, "bias", shape, 1,
                                  config->bias_init ? config->bias_init : &zeros, error);
      if (conv->bias == NULL)
        return FALSE;
    }

  return TRUE;
}

MienTensor *
mien_conv2d_forward (const MienConv2d *conv,
                     MienTensor       *x,
                     GError          **error)
{
  return mien_tensor_conv2d (x, conv->weight, conv->bias, conv->stride, conv->padding,
                             conv->dilation, conv->groups, error);
}

void
mien_conv2d_clear (MienConv2d *conv)
{
  g_clear_pointer (&conv->weight, mien_tensor_free);
  g_clear_pointer (&conv->bias, mien_tensor_free);
}

/* ---- BatchNorm2d -------------------------------------------------------------------------- */

gboolean
mien_batch_norm2d_init (MienBatchNorm2d *bn,
                        MienVarStore    *vs,
                        const char      *name,
                        gint64           features,
                        double           eps,
                        double           momentum,
                        GError         **error)
{
  static const MienInit zeros = { MIEN_INIT_ZEROS, 0, 0 };
  static const MienInit ones = { MIEN_INIT_ONES, 0, 0 };
  gint64 shape[1] = { features };

  memset (bn, 0, sizeof *bn);
  bn->eps = eps;
  bn->momentum = momentum;

  if (!(bn->weight = new_parameter (vs, name, "weight", shape, 1, &ones, error)) ||
      !(bn->bias = new_parameter (vs, name, "bias", shape, 1, &zeros, error)) ||
      !(bn->running_mean = new_buffer (vs, name, "running_mean", shape, 1, MIEN_DTYPE_FLOAT32,
                                       &zeros, error)) ||
      !(bn->running_var = new_buffer (vs, name, "running_var", shape, 1, MIEN_DTYPE_FLOAT32,
                                      &ones, error)) ||
      !(bn->num_batches_tracked = new_buffer (vs, name, "num_batches_tracked", NULL, 0,
                                              MIEN_DTYPE_INT64, &zeros, error)))
    return FALSE;

  return TRUE;
}

MienTensor *
mien_batch_norm2d_forward (const MienBatchNorm2d *bn,
                           MienTensor            *x,
                           gboolean               training,
                           GError               **error)
{
  if (training)
    {
      /* PyTorch counts training batches even with a fixed momentum, and the count is part of
       * the state_dict; keep it equal. An add + copy avoids a device→host sync. */
      g_autoptr(MienTensor) count = mien_tensor_add_scalar (bn->num_batches_tracked, 1, error);

      if (count == NULL || !mien_tensor_copy_ (bn->num_batches_tracked, count, error))
        return NULL;
    }

  return mien_tensor_batch_norm (x, bn->weight, bn->bias, bn->running_mean, bn->running_var,
                                 training, bn->momentum, bn->eps, error);
}

void
mien_batch_norm2d_clear (MienBatchNorm2d *bn)
{
  g_clear_pointer (&bn->weight, mien_tensor_free);
  g_clear_pointer (&bn->bias, mien_tensor_free);
  g_clear_pointer (&bn->running_mean, mien_tensor_free);
  g_clear_pointer (&bn->running_var, mien_tensor_free);
  g_clear_pointer (&bn->num_batches_tracked, mien_tensor_free);
}

/* ---- Linear ------------------------------------------------------------------------------- */

gboolean
mien_linear_init (MienLinear     *linear,
                  MienVarStore   *vs,
                  const char     *name,
                  gint64          in_features,
                  gint64          out_features,
                  gboolean        bias,
                  const MienInit *weight_init,
                  const MienInit *bias_init,
                  GError        **error)
{
  static const MienInit kaiming_uniform = { MIEN_INIT_KAIMING_UNIFORM, 0, 0 };
  gint64 shape[2] = { out_features, in_features };

  memset (linear, 0, sizeof *linear);

  linear->weight = new_parameter (vs, name, "weight", shape, 2,
                                  weight_init ? weight_init : &kaiming_uniform, error);
  if (linear->weight == NULL)
    return FALSE;

  if (bias)
    {
      MienInit fan_in_uniform = { MIEN_INIT_FAN_IN_UNIFORM, (double) in_features, 0 };

      linear->bias = new_parameter (vs, name, "bias", shape, 1,
                                    bias_init ? bias_init : &fan_in_uniform, error);
      if (linear->bias == NULL)
        return FALSE;
    }

  return TRUE;
}

MienTensor *
mien_linear_forward (const MienLinear *linear,
                     MienTensor       *x,
                     GError          **error)
{
  return mien_tensor_linear (x, linear->weight, linear->bias, error);
}

void
mien_linear_clear (MienLinear *linear)
{
  g_clear_pointer (&linear->weight, mien_tensor_free);
  g_clear_pointer (&linear->bias, mien_tensor_free);
}

/* ---- LayerNorm ---------------------------------------------------------------------------- */

gboolean
mien_layer_norm_init (MienLayerNorm *ln,
                      MienVarStore  *vs,
                      const char    *name,
                      gint64         dim,
                      double         eps,
                      GError       **error)
{
  static const MienInit zeros = { MIEN_INIT_ZEROS, 0, 0 };
  static const MienInit ones = { MIEN_INIT_ONES, 0, 0 };
  gint64 shape[1] = { dim };

  memset (ln, 0, sizeof *ln);
  ln->dim = dim;
  ln->eps = eps;

  if (!(ln->weight = new_parameter (vs, name, "weight", shape, 1, &ones, error)) ||
      !(ln->bias = new_parameter (vs, name, "bias", shape, 1, &zeros, error)))
    return FALSE;

  return TRUE;
}

MienTensor *
mien_layer_norm_forward (const MienLayerNorm *ln,
                         MienTensor          *x,
                         GError             **error)
{
  return mien_tensor_layer_norm (x, &ln->dim, 1, ln->weight, ln->bias, ln->eps, error);
}

void
mien_layer_norm_clear (MienLayerNorm *ln)
{
  g_clear_pointer (&ln->weight, mien_tensor_free);
  g_clear_pointer (&ln->bias, mien_tensor_free);
}

/* ---- Conv + BN + activation --------------------------------------------------------------- */

MienTensor *
mien_activation_forward (MienActivation  activation,
                         MienTensor     *x,
                         GError        **error)
{
  switch (activation)
    {
    case MIEN_ACTIVATION_NONE:
      return mien_tensor_alias (x);
    case MIEN_ACTIVATION_RELU:
      return mien_tensor_relu (x, error);
    case MIEN_ACTIVATION_SILU:
      return mien_tensor_silu (x, error);
    default:
      g_return_val_if_reached (NULL);
    }
}

gboolean
mien_conv_bn_init (MienConvBn             *block,
                   MienVarStore           *vs,
                   const char             *conv_name,
                   const char             *bn_name,
                   const MienConv2dConfig *conv_config,
                   double                  bn_eps,
                   double                  bn_momentum,
                   MienActivation          activation,
                   GError                **error)
{
  block->activation = activation;

  return mien_conv2d_init (&block->conv, vs, conv_name, conv_config, error) &&
         mien_batch_norm2d_init (&block->bn, vs, bn_name, conv_config->out_channels, bn_eps,
                                 bn_momentum, error);
}

MienTensor *
mien_conv_bn_forward (const MienConvBn *block,
                      MienTensor       *x,
                      gboolean          training,
                      GError          **error)
{
  g_autoptr(MienTensor) y = NULL;
  g_autoptr(MienTensor) z = NULL;

  if (!(y = mien_conv2d_forward (&block->conv, x, error)) ||
      !(z = mien_batch_norm2d_forward (&block->bn, y, training, error)))
    return NULL;

  if (block->activation == MIEN_ACTIVATION_NONE)
    return g_steal_pointer (&z);

  return mien_activation_forward (block->activation, z, error);
}

void
mien_conv_bn_clear (MienConvBn *block)
{
  mien_conv2d_clear (&block->conv);
  mien_batch_norm2d_clear (&block->bn);
}
