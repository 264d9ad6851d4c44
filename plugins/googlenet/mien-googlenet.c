/* mien-googlenet.c — GoogLeNet (Inception v1) as torchvision 0.14 builds it.
 *
 * Follows torchvision/models/googlenet.py with aux_logits=False: the auxiliary classifiers only
 * exist to help training from scratch and are never part of torchvision's pretrained state_dict
 * once aux_logits is off, so Mien does not create them. Parameter names, their order and shapes
 * are torchvision's, so its checkpoints load as they are. The classifier "fc" and the dropout in
 * front of it belong to the core's head.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gmodule.h>

#include "mien-backbone.h"
#include "mien-nn.h"

/* BasicConv2d's BatchNorm2d (eps=0.001); momentum is PyTorch's default. */
#define BN_EPS      0.001
#define BN_MOMENTUM 0.1

#define FEATURE_DIM 1024

/* One BasicConv2d of the stem. */
typedef struct {
  const char *name;
  gint64      in_channels;
  gint64      out_channels;
  gint64      kernel;
  gint64      stride;
  gint64      padding;
  gboolean    pool_after;   /* maxpool1, maxpool2: 3×3, stride 2 */
} StemConfig;

static const StemConfig stem_configs[] = {
  { "conv1",  3,  64, 7, 2, 3, TRUE },
  { "conv2", 64,  64, 1, 1, 0, FALSE },
  { "conv3", 64, 192, 3, 1, 1, TRUE },
};

/* torchvision's Inception (in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj). */
typedef struct {
  const char *name;
  gint64      in_channels;
  gint64      ch1x1;
  gint64      ch3x3red;
  gint64      ch3x3;
  gint64      ch5x5red;
  gint64      ch5x5;
  gint64      pool_proj;
  /* Kernel of the stride-2 max pool in front of the block (maxpool3 is 3×3, maxpool4 2×2), or 0. */
  gint64      pool_before;
} InceptionConfig;

static const InceptionConfig inception_configs[] = {
  { "inception3a", 192,  64,  96, 128, 16,  32,  32, 0 },
  { "inception3b", 256, 128, 128, 192, 32,  96,  64, 0 },
  { "inception4a", 480, 192,  96, 208, 16,  48,  64, 3 },
  { "inception4b", 512, 160, 112, 224, 24,  64,  64, 0 },
  { "inception4c", 512, 128, 128, 256, 24,  64,  64, 0 },
  { "inception4d", 512, 112, 144, 288, 32,  64,  64, 0 },
  { "inception4e", 528, 256, 160, 320, 32, 128, 128, 0 },
  { "inception5a", 832, 256, 160, 320, 32, 128, 128, 2 },
  { "inception5b", 832, 384, 192, 384, 48, 128, 128, 0 },
};

#define N_STEM      G_N_ELEMENTS (stem_configs)
#define N_INCEPTION G_N_ELEMENTS (inception_configs)

/* The mean and std that torchvision's pretrained weights expect; _transform_input maps images
 * normalised with them to the (x - 0.5) / 0.5 normalisation those weights were trained with. */
static const double imagenet_mean[3] = { 0.485, 0.456, 0.406 };
static const double imagenet_std[3] = { 0.229, 0.224, 0.225 };

static const MienBackboneVariant googlenet_variants[] = {
  {
    .name = "inception_v1",
    .description = N_("GoogLeNet / Inception v1 (the reference paper's)"),
    .feature_dim = FEATURE_DIM,
    .input_size = 224,
    /* Below 15 pixels the ceil-mode pools of the stem run out of input. */
    .min_input_size = 15,
    .size_multiple = 1,
    .classifier = "fc",
    .n_classes_pretrained = 1000,
  },
};

typedef struct {
  MienConvBn branch1;
  MienConvBn branch2[2];
  MienConvBn branch3[2];
  MienConvBn branch4;     /* "branch4.1": branch4.0 is the max pool, which has no parameters */
} Inception;

struct _MienGooglenet
{
  GObject    parent_instance;

  gboolean   transform_input;
  gboolean   built;
  MienConvBn stem[N_STEM];
  Inception  inception[N_INCEPTION];
};

enum {
  PROP_0,
  PROP_TRANSFORM_INPUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

#define MIEN_TYPE_GOOGLENET (mien_googlenet_get_type ())
G_DECLARE_FINAL_TYPE (MienGooglenet, mien_googlenet, MIEN, GOOGLENET, GObject)

static void mien_googlenet_backbone_iface_init (MienBackboneInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MienGooglenet, mien_googlenet, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (MIEN_TYPE_BACKBONE,
                                                      mien_googlenet_backbone_iface_init))

/* ---- BasicConv2d and Inception ------------------------------------------------------------ */

static gboolean
basic_conv_init (MienConvBn    *block,
                 MienVarStore  *vs,
                 const char    *prefix,
                 const char    *name,
                 gint64         in_channels,
                 gint64         out_channels,
                 gint64         kernel,
                 gint64         stride,
                 gint64         padding,
                 GError       **error)
{
  /* torchvision draws conv weights from trunc_normal_ (mean 0, std 0.01, a=-2, b=2): bounds of
   * ±2 absolute are 200 std away, so that is a plain normal distribution. MIEN_INIT_TRUNC_NORMAL
   * would cut at ±2 std (±0.02) and give a narrower distribution. */
  static const MienInit weight_init = { MIEN_INIT_NORMAL, 0.0, 0.01 };
  MienConv2dConfig config = {
    .in_channels = in_channels,
    .out_channels = out_channels,
    .kernel = kernel,
    .stride = stride,
    .padding = padding,
    .bias = FALSE,
    .weight_init = &weight_init,
  };
  g_autofree char *conv_name = mien_nn_name (prefix, "%s.conv", name);
  g_autofree char *bn_name = mien_nn_name (prefix, "%s.bn", name);

  return mien_conv_bn_init (block, vs, conv_name, bn_name, &config, BN_EPS, BN_MOMENTUM,
                            MIEN_ACTIVATION_RELU, error);
}

/* Runs `n` BasicConv2d blocks one after the other. */
static MienTensor *
basic_conv_seq_forward (const MienConvBn *blocks,
                        guint             n,
                        MienTensor       *x,
                        gboolean          training,
                        GError          **error)
{
  g_autoptr(MienTensor) y = mien_tensor_alias (x);

  for (guint i = 0; i < n; i++)
    if (!mien_nn_replace (&y, mien_conv_bn_forward (&blocks[i], y, training, error)))
      return NULL;

  return g_steal_pointer (&y);
}

/* GoogLeNet's pools all round up (ceil_mode=True) and never pad, except branch4's. */
static MienTensor *
max_pool (MienTensor  *x,
          gint64       kernel,
          gint64       stride,
          gint64       padding,
          GError     **error)
{
  const gint64 k[2] = { kernel, kernel };
  const gint64 s[2] = { stride, stride };
  const gint64 p[2] = { padding, padding };

  return mien_tensor_max_pool2d (x, k, s, p, TRUE, error);
}

static gboolean
inception_init (Inception              *block,
                MienVarStore           *vs,
                const char             *prefix,
                const InceptionConfig  *c,
                GError                **error)
{
  g_autofree char *name = mien_nn_name (prefix, "%s.", c->name);

  /* Parameters are created in torchvision's state_dict order. branch3's second conv is 3×3, not
   * the paper's 5×5: torchvision's known deviation (pytorch/vision#906), which its pretrained
   * weights have. */
  return basic_conv_init (&block->branch1, vs, name, "branch1",
                          c->in_channels, c->ch1x1, 1, 1, 0, error) &&
         basic_conv_init (&block->branch2[0], vs, name, "branch2.0",
                          c->in_channels, c->ch3x3red, 1, 1, 0, error) &&
         basic_conv_init (&block->branch2[1], vs, name, "branch2.1",
                          c->ch3x3red, c->ch3x3, 3, 1, 1, error) &&
         basic_conv_init (&block->branch3[0], vs, name, "branch3.0",
                          c->in_channels, c->ch5x5red, 1, 1, 0, error) &&
         basic_conv_init (&block->branch3[1], vs, name, "branch3.1",
                          c->ch5x5red, c->ch5x5, 3, 1, 1, error) &&
         basic_conv_init (&block->branch4, vs, name, "branch4.1",
                          c->in_channels, c->pool_proj, 1, 1, 0, error);
}

static MienTensor *
inception_forward (const Inception  *block,
                   MienTensor       *x,
                   gboolean          training,
                   GError          **error)
{
  MienTensor *outputs[4] = { NULL, };
  g_autoptr(MienTensor) pooled = NULL;
  MienTensor *result = NULL;

  if ((outputs[0] = basic_conv_seq_forward (&block->branch1, 1, x, training, error)) &&
      (outputs[1] = basic_conv_seq_forward (block->branch2, 2, x, training, error)) &&
      (outputs[2] = basic_conv_seq_forward (block->branch3, 2, x, training, error)) &&
      (pooled = max_pool (x, 3, 1, 1, error)) &&
      (outputs[3] = basic_conv_seq_forward (&block->branch4, 1, pooled, training, error)))
    result = mien_tensor_cat (outputs, G_N_ELEMENTS (outputs), 1, error);

  for (guint i = 0; i < G_N_ELEMENTS (outputs); i++)
    g_clear_pointer (&outputs[i], mien_tensor_free);

  return result;
}

static void
inception_clear (Inception *block)
{
  mien_conv_bn_clear (&block->branch1);
  mien_conv_bn_clear (&block->branch2[0]);
  mien_conv_bn_clear (&block->branch2[1]);
  mien_conv_bn_clear (&block->branch3[0]);
  mien_conv_bn_clear (&block->branch3[1]);
  mien_conv_bn_clear (&block->branch4);
}

/* ---- The network -------------------------------------------------------------------------- */

/* torchvision's _transform_input, with its op order (per channel: multiply, then add, then one
 * cat) so that the numbers are the same. */
static MienTensor *
transform_input (MienTensor  *x,
                 GError     **error)
{
  MienTensor *channels[3] = { NULL, };
  MienTensor *result = NULL;
  guint c;

  for (c = 0; c < G_N_ELEMENTS (channels); c++)
    {
      g_autoptr(MienTensor) plane = NULL;
      g_autoptr(MienTensor) scaled = NULL;

      if (!(plane = mien_tensor_narrow (x, 1, c, 1, error)) ||
          !(scaled = mien_tensor_mul_scalar (plane, imagenet_std[c] / 0.5, error)) ||
          !(channels[c] = mien_tensor_add_scalar (scaled, (imagenet_mean[c] - 0.5) / 0.5,
                                                  error)))
        break;
    }

  if (c == G_N_ELEMENTS (channels))
    result = mien_tensor_cat (channels, G_N_ELEMENTS (channels), 1, error);

  for (c = 0; c < G_N_ELEMENTS (channels); c++)
    g_clear_pointer (&channels[c], mien_tensor_free);

  return result;
}

static void
clear_parameters (MienGooglenet *self)
{
  for (guint i = 0; i < N_STEM; i++)
    mien_conv_bn_clear (&self->stem[i]);
  for (guint i = 0; i < N_INCEPTION; i++)
    inception_clear (&self->inception[i]);
}

static const MienBackboneVariant *
mien_googlenet_list_variants (MienBackbone *backbone,
                              guint        *n_variants)
{
  *n_variants = G_N_ELEMENTS (googlenet_variants);
  return googlenet_variants;
}

static gboolean
mien_googlenet_build (MienBackbone              *backbone,
                      const MienBackboneVariant *variant,
                      int                        input_size,
                      MienVarStore              *vs,
                      const char                *prefix,
                      GError                   **error)
{
  MienGooglenet *self = MIEN_GOOGLENET (backbone);

  g_return_val_if_fail (!self->built, FALSE);

  /* What a build that failed half-way left behind. */
  clear_parameters (self);

  for (guint i = 0; i < N_STEM; i++)
    {
      const StemConfig *c = &stem_configs[i];

      if (!basic_conv_init (&self->stem[i], vs, prefix, c->name, c->in_channels,
                            c->out_channels, c->kernel, c->stride, c->padding, error))
        return FALSE;
    }

  for (guint i = 0; i < N_INCEPTION; i++)
    if (!inception_init (&self->inception[i], vs, prefix, &inception_configs[i], error))
      return FALSE;

  self->built = TRUE;
  return TRUE;
}

static MienTensor *
mien_googlenet_forward_hooked (MienBackbone      *backbone,
                               MienTensor        *images,
                               gboolean           training,
                               MienBackboneHook   hook,
                               gpointer           user_data,
                               GError           **error)
{
  static const gint64 pooled_size[2] = { 1, 1 };
  MienGooglenet *self = MIEN_GOOGLENET (backbone);
  g_autoptr(MienTensor) x = NULL;

  g_return_val_if_fail (self->built, NULL);

  x = self->transform_input ? transform_input (images, error) : mien_tensor_alias (images);
  if (x == NULL)
    return NULL;

  for (guint i = 0; i < N_STEM; i++)
    {
      if (!mien_nn_replace (&x, mien_conv_bn_forward (&self->stem[i], x, training, error)))
        return NULL;
      if (stem_configs[i].pool_after && !mien_nn_replace (&x, max_pool (x, 3, 2, 0, error)))
        return NULL;
    }

  for (guint i = 0; i < N_INCEPTION; i++)
    {
      gint64 pool = inception_configs[i].pool_before;

      if (pool > 0 && !mien_nn_replace (&x, max_pool (x, pool, 2, 0, error)))
        return NULL;
      if (!mien_nn_replace (&x, inception_forward (&self->inception[i], x, training, error)))
        return NULL;
    }

  if (!mien_backbone_run_hook (hook, "inception5b", &x, user_data, error))
    return NULL;

  /* AdaptiveAvgPool2d ((1, 1)) + flatten, as torchvision (not a mean, whose rounding differs). */
  if (!mien_nn_replace (&x, mien_tensor_adaptive_avg_pool2d (x, pooled_size, error)) ||
      !mien_nn_replace (&x, mien_tensor_flatten (x, 1, -1, error)))
    return NULL;

  return g_steal_pointer (&x);
}

static MienTensor *
mien_googlenet_forward (MienBackbone  *backbone,
                        MienTensor    *images,
                        gboolean       training,
                        GError       **error)
{
  return mien_googlenet_forward_hooked (backbone, images, training, NULL, NULL, error);
}

/* torchvision's ImageNet weights (torchvision.models.GoogLeNet_Weights, ported from the original
 * paper's; size from its documentation's "file size", in MiB). */
static const MienWeightsInfo googlenet_weights[] = {
  { "inception_v1", "googlenet.imagenet1k_v1", "imagenet", "torchvision",
    "https://download.pytorch.org/models/googlenet-1378be20.pth",
    "googlenet-1378be20.pth", MIEN_MIB (49.731), FALSE,
    "1378be20", "BSD-3-Clause", TRUE, 224, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
};

static const MienWeightsInfo *
mien_googlenet_list_weights (MienBackbone              *backbone,
                             const MienBackboneVariant *variant,
                             guint                     *n_weights)
{
  return mien_backbone_weights_of_variant (googlenet_weights,
                                           G_N_ELEMENTS (googlenet_weights), variant,
                                           n_weights);
}

static void
mien_googlenet_backbone_iface_init (MienBackboneInterface *iface)
{
  iface->list_variants = mien_googlenet_list_variants;
  iface->build = mien_googlenet_build;
  iface->forward = mien_googlenet_forward;
  iface->forward_hooked = mien_googlenet_forward_hooked;
  iface->list_weights = mien_googlenet_list_weights;
  /* timm has no GoogLeNet: map_timm_key stays NULL. */
}

static void
mien_googlenet_finalize (GObject *object)
{
  clear_parameters (MIEN_GOOGLENET (object));

  G_OBJECT_CLASS (mien_googlenet_parent_class)->finalize (object);
}

static void
mien_googlenet_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  MienGooglenet *self = MIEN_GOOGLENET (object);

  switch (prop_id)
    {
    case PROP_TRANSFORM_INPUT:
      g_value_set_boolean (value, self->transform_input);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_googlenet_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  MienGooglenet *self = MIEN_GOOGLENET (object);

  switch (prop_id)
    {
    case PROP_TRANSFORM_INPUT:
      if (self->transform_input != g_value_get_boolean (value))
        {
          self->transform_input = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_googlenet_class_init (MienGooglenetClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mien_googlenet_finalize;
  object_class->get_property = mien_googlenet_get_property;
  object_class->set_property = mien_googlenet_set_property;

  /**
   * MienGooglenet:transform-input:
   *
   * Whether forward first maps images normalised with ImageNet's mean and std to the
   * (x - 0.5) / 0.5 normalisation, as torchvision's GoogLeNet does with transform_input=True,
   * which it sets for its pretrained ImageNet weights.
   */
  properties[PROP_TRANSFORM_INPUT] =
    g_param_spec_boolean ("transform-input", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
mien_googlenet_init (MienGooglenet *self)
{
}

G_MODULE_EXPORT GType
mien_plugin_query_type (void)
{
  return MIEN_TYPE_GOOGLENET;
}
