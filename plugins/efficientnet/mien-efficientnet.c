/* mien-efficientnet.c — EfficientNet-B0…B7 (Tan and Le, 2019) as torchvision 0.14 builds them.
 *
 * Parameter names, shapes, order and initialisation follow torchvision.models.efficientnet, so
 * that a torchvision state_dict loads as it is; timm's names (efficientnet_bN, whose weights
 * torchvision's are ported from) are mapped by map_timm_key.
 *
 * Layout of torchvision's `features`:
 *   features.0                  stem: Conv2dNormActivation (3 → 32, 3×3, stride 2), SiLU
 *   features.1 … features.7     one stage each of MBConv blocks, features.S.B.block.K:
 *                                 [expand 1×1 conv+BN+SiLU, only when expand_ratio ≠ 1]
 *                                 depthwise k×k conv+BN+SiLU
 *                                 squeeze-excitation (fc1, fc2: 1×1 convs with bias)
 *                                 project 1×1 conv+BN
 *                               plus a residual with stochastic depth when shape allows
 *   features.8                  head: Conv2dNormActivation (320 → 1280, 1×1), SiLU
 * then adaptive average pooling and flatten: features [N, 1280] for B0.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <gmodule.h>

#include "mien-backbone.h"
#include "mien-nn.h"

#define EFFICIENTNET_N_STAGES 7
#define EFFICIENTNET_DEFAULT_STOCHASTIC_DEPTH_PROB 0.2

/* One row of Table 1 of the paper (torchvision's MBConvConfig for B0, before scaling). */
typedef struct {
  double expand_ratio;
  int    kernel;
  int    stride;
  int    in_channels;
  int    out_channels;
  int    n_layers;
} MbconvStage;

static const MbconvStage b0_stages[EFFICIENTNET_N_STAGES] = {
  { 1, 3, 1,  32,  16, 1 },
  { 6, 3, 2,  16,  24, 2 },
  { 6, 5, 2,  24,  40, 2 },
  { 6, 3, 2,  40,  80, 3 },
  { 6, 5, 1,  80, 112, 3 },
  { 6, 5, 2, 112, 192, 4 },
  { 6, 3, 1, 192, 320, 1 },
};

/* Compound scaling of each variant; same order as `efficientnet_variants`. torchvision gives
 * B5–B7 BatchNorm2d (eps=0.001, momentum=0.01), B0–B4 the defaults. */
typedef struct {
  const char *name;
  double      width_mult;
  double      depth_mult;
  double      bn_eps;
  double      bn_momentum;
} EfficientnetScaling;

static const EfficientnetScaling efficientnet_scalings[] = {
  { "b0", 1.0, 1.0, 1e-5, 0.1 },
  { "b1", 1.0, 1.1, 1e-5, 0.1 },
  { "b2", 1.1, 1.2, 1e-5, 0.1 },
  { "b3", 1.2, 1.4, 1e-5, 0.1 },
  { "b4", 1.4, 1.8, 1e-5, 0.1 },
  { "b5", 1.6, 2.2, 1e-3, 0.01 },
  { "b6", 1.8, 2.6, 1e-3, 0.01 },
  { "b7", 2.0, 3.1, 1e-3, 0.01 },
};

static const MienBackboneVariant efficientnet_variants[] = {
  { "b0", N_("EfficientNet-B0 (the reference paper's)"), 1280, 224, 32, 1, "classifier.1", 1000 },
  { "b1", N_("EfficientNet-B1"), 1280, 240, 32, 1, "classifier.1", 1000 },
  { "b2", N_("EfficientNet-B2"), 1408, 288, 32, 1, "classifier.1", 1000 },
  { "b3", N_("EfficientNet-B3"), 1536, 300, 32, 1, "classifier.1", 1000 },
  { "b4", N_("EfficientNet-B4"), 1792, 380, 32, 1, "classifier.1", 1000 },
  { "b5", N_("EfficientNet-B5"), 2048, 456, 32, 1, "classifier.1", 1000 },
  { "b6", N_("EfficientNet-B6"), 2304, 528, 32, 1, "classifier.1", 1000 },
  { "b7", N_("EfficientNet-B7"), 2560, 600, 32, 1, "classifier.1", 1000 },
};

G_STATIC_ASSERT (G_N_ELEMENTS (efficientnet_scalings) == G_N_ELEMENTS (efficientnet_variants));

typedef struct {
  MienConvBn expand;           /* block.0, only when has_expand */
  gboolean   has_expand;
  MienConvBn depthwise;
  MienConv2d se_fc1;
  MienConv2d se_fc2;
  MienConvBn project;
  gboolean   use_residual;
  /* torchvision's per-block stochastic depth probability is prob × block_id / n_blocks; the
   * product is taken at forward time so that the property may change after build. */
  guint      block_id;
} MbconvBlock;

struct _MienEfficientnet
{
  GObject      parent_instance;

  double       stochastic_depth_prob;

  MienConvBn   stem;   /* features.0 */
  MbconvBlock *blocks;
  guint        n_blocks;
  MienConvBn   head;   /* features.8 */
};

enum {
  PROP_0,
  PROP_STOCHASTIC_DEPTH_PROB,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

#define MIEN_TYPE_EFFICIENTNET (mien_efficientnet_get_type ())
G_DECLARE_FINAL_TYPE (MienEfficientnet, mien_efficientnet, MIEN, EFFICIENTNET, GObject)

static void mien_efficientnet_backbone_iface_init (MienBackboneInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MienEfficientnet, mien_efficientnet, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (MIEN_TYPE_BACKBONE,
                                                      mien_efficientnet_backbone_iface_init))

/* torchvision.models._utils._make_divisible (v, 8): the nearest multiple of 8, at least 8, and
 * never more than 10 % below v. */
static gint64
make_divisible (double v)
{
  gint64 new_v = MAX (8, (gint64) (v + 4.0) / 8 * 8);

  if (new_v < 0.9 * v)
    new_v += 8;
  return new_v;
}

static gint64
scale_channels (int                        channels,
                const EfficientnetScaling *scaling)
{
  return make_divisible (channels * scaling->width_mult);
}

static int
scale_depth (int                        n_layers,
             const EfficientnetScaling *scaling)
{
  return (int) ceil (n_layers * scaling->depth_mult);
}

/* Conv2dNormActivation: "NAME.0" is the convolution, "NAME.1" the batch norm. Padding as
 * torchvision computes it: (kernel - 1) / 2. */
static gboolean
conv_norm_activation_init (MienConvBn                *block,
                           MienVarStore              *vs,
                           const char                *name,
                           gint64                     in_channels,
                           gint64                     out_channels,
                           int                        kernel,
                           int                        stride,
                           gint64                     groups,
                           MienActivation             activation,
                           const EfficientnetScaling *scaling,
                           GError                   **error)
{
  MienConv2dConfig config = {
    .in_channels = in_channels,
    .out_channels = out_channels,
    .kernel = kernel,
    .stride = stride,
    .padding = (kernel - 1) / 2,
    .groups = groups,
  };
  g_autofree char *conv_name = g_strconcat (name, ".0", NULL);
  g_autofree char *bn_name = g_strconcat (name, ".1", NULL);

  return mien_conv_bn_init (block, vs, conv_name, bn_name, &config, scaling->bn_eps,
                            scaling->bn_momentum, activation, error);
}

static void
mbconv_block_clear (MbconvBlock *block)
{
  /* Parts never made are zeroed, so a block whose init failed half-way clears too. */
  mien_conv_bn_clear (&block->expand);
  mien_conv_bn_clear (&block->depthwise);
  mien_conv2d_clear (&block->se_fc1);
  mien_conv2d_clear (&block->se_fc2);
  mien_conv_bn_clear (&block->project);
}

/* torchvision's MBConv (cnf, ...): `in_channels` and `stride` are this block's (the stage's only
 * for its first block). */
static gboolean
mbconv_block_init (MbconvBlock               *block,
                   MienVarStore              *vs,
                   const char                *prefix,
                   const MbconvStage         *stage,
                   gint64                     in_channels,
                   gint64                     out_channels,
                   int                        stride,
                   const EfficientnetScaling *scaling,
                   GError                   **error)
{
  gint64 expanded = make_divisible (in_channels * stage->expand_ratio);
  /* Taken from the block's input width, not the expanded one, as torchvision does. */
  gint64 squeezed = MAX (1, in_channels / 4);
  int k = 0;
  MienConv2dConfig fc1_config = {
    .in_channels = expanded,
    .out_channels = squeezed,
    .kernel = 1,
    .bias = TRUE,
  };
  MienConv2dConfig fc2_config = {
    .in_channels = squeezed,
    .out_channels = expanded,
    .kernel = 1,
    .bias = TRUE,
  };
  g_autofree char *name = NULL;
  g_autofree char *fc1_name = NULL;
  g_autofree char *fc2_name = NULL;

  memset (block, 0, sizeof *block);
  block->use_residual = stride == 1 && in_channels == out_channels;

  /* Without an expansion the block's Sequential starts with the depthwise convolution, and every
   * later index shifts down by one. */
  if (expanded != in_channels)
    {
      name = mien_nn_name (prefix, "block.%d", k++);
      if (!conv_norm_activation_init (&block->expand, vs, name, in_channels, expanded, 1, 1, 1,
                                      MIEN_ACTIVATION_SILU, scaling, error))
        return FALSE;
      block->has_expand = TRUE;
      g_clear_pointer (&name, g_free);
    }

  name = mien_nn_name (prefix, "block.%d", k++);
  if (!conv_norm_activation_init (&block->depthwise, vs, name, expanded, expanded,
                                  stage->kernel, stride, expanded, MIEN_ACTIVATION_SILU,
                                  scaling, error))
    return FALSE;
  g_clear_pointer (&name, g_free);

  fc1_name = mien_nn_name (prefix, "block.%d.fc1", k);
  fc2_name = mien_nn_name (prefix, "block.%d.fc2", k++);
  if (!mien_conv2d_init (&block->se_fc1, vs, fc1_name, &fc1_config, error) ||
      !mien_conv2d_init (&block->se_fc2, vs, fc2_name, &fc2_config, error))
    return FALSE;

  name = mien_nn_name (prefix, "block.%d", k);
  return conv_norm_activation_init (&block->project, vs, name, expanded, out_channels, 1, 1, 1,
                                    MIEN_ACTIVATION_NONE, scaling, error);
}

/* torchvision.ops.SqueezeExcitation: x × sigmoid (fc2 (silu (fc1 (avgpool (x))))). */
static MienTensor *
squeeze_excitation_forward (const MbconvBlock *block,
                            MienTensor        *x,
                            GError           **error)
{
  static const gint64 pooled_size[2] = { 1, 1 };
  g_autoptr(MienTensor) scale = NULL;

  if (!(scale = mien_tensor_adaptive_avg_pool2d (x, pooled_size, error)) ||
      !mien_nn_replace (&scale, mien_conv2d_forward (&block->se_fc1, scale, error)) ||
      !mien_nn_replace (&scale, mien_tensor_silu (scale, error)) ||
      !mien_nn_replace (&scale, mien_conv2d_forward (&block->se_fc2, scale, error)) ||
      !mien_nn_replace (&scale, mien_tensor_sigmoid (scale, error)))
    return NULL;

  return mien_tensor_mul (scale, x, error);
}

static MienTensor *
mbconv_block_forward (const MbconvBlock *block,
                      MienTensor        *x,
                      double             stochastic_depth_prob,
                      gboolean           training,
                      GError           **error)
{
  g_autoptr(MienTensor) out = mien_tensor_alias (x);

  if (block->has_expand &&
      !mien_nn_replace (&out, mien_conv_bn_forward (&block->expand, out, training, error)))
    return NULL;

  if (!mien_nn_replace (&out, mien_conv_bn_forward (&block->depthwise, out, training, error)) ||
      !mien_nn_replace (&out, squeeze_excitation_forward (block, out, error)) ||
      !mien_nn_replace (&out, mien_conv_bn_forward (&block->project, out, training, error)))
    return NULL;

  if (!block->use_residual)
    return g_steal_pointer (&out);

  /* Skipped outright when it is the identity, as torchvision's stochastic_depth () returns its
   * input then. */
  if (training && stochastic_depth_prob > 0.0 &&
      !mien_nn_replace (&out, mien_tensor_stochastic_depth (out, stochastic_depth_prob, training,
                                                           error)))
    return NULL;

  return mien_tensor_add (out, x, error);
}

static const EfficientnetScaling *
find_scaling (const MienBackboneVariant *variant)
{
  for (guint i = 0; i < G_N_ELEMENTS (efficientnet_scalings); i++)
    if (strcmp (efficientnet_scalings[i].name, variant->name) == 0)
      return &efficientnet_scalings[i];

  g_return_val_if_reached (NULL);
}

static void
mien_efficientnet_clear_network (MienEfficientnet *self)
{
  mien_conv_bn_clear (&self->stem);
  for (guint i = 0; i < self->n_blocks; i++)
    mbconv_block_clear (&self->blocks[i]);
  g_clear_pointer (&self->blocks, g_free);
  self->n_blocks = 0;
  mien_conv_bn_clear (&self->head);
}

static const MienBackboneVariant *
mien_efficientnet_list_variants (MienBackbone *backbone,
                                 guint        *n_variants)
{
  *n_variants = G_N_ELEMENTS (efficientnet_variants);
  return efficientnet_variants;
}

static gboolean
mien_efficientnet_build (MienBackbone              *backbone,
                         const MienBackboneVariant *variant,
                         int                        input_size,
                         MienVarStore              *vs,
                         const char                *prefix,
                         GError                   **error)
{
  MienEfficientnet *self = MIEN_EFFICIENTNET (backbone);
  const EfficientnetScaling *scaling = find_scaling (variant);
  g_autofree char *stem_name = NULL;
  g_autofree char *head_name = NULL;
  gint64 channels;
  gint64 head_channels;
  guint total = 0;

  g_return_val_if_fail (scaling != NULL, FALSE);
  g_return_val_if_fail (self->blocks == NULL, FALSE);

  for (int s = 0; s < EFFICIENTNET_N_STAGES; s++)
    total += scale_depth (b0_stages[s].n_layers, scaling);
  self->blocks = g_new0 (MbconvBlock, total);

  channels = scale_channels (b0_stages[0].in_channels, scaling);
  stem_name = mien_nn_name (prefix, "features.0");
  if (!conv_norm_activation_init (&self->stem, vs, stem_name, 3, channels, 3, 2, 1,
                                  MIEN_ACTIVATION_SILU, scaling, error))
    goto fail;

  for (int s = 0; s < EFFICIENTNET_N_STAGES; s++)
    {
      const MbconvStage *stage = &b0_stages[s];
      gint64 out_channels = scale_channels (stage->out_channels, scaling);
      int n_layers = scale_depth (stage->n_layers, scaling);

      for (int b = 0; b < n_layers; b++)
        {
          MbconvBlock *block = &self->blocks[self->n_blocks];
          g_autofree char *block_prefix = mien_nn_name (prefix, "features.%d.%d.", s + 1, b);

          /* Counted before init so that a half-made block is cleared too. */
          self->n_blocks++;
          if (!mbconv_block_init (block, vs, block_prefix, stage, channels, out_channels,
                                  b == 0 ? stage->stride : 1, scaling, error))
            goto fail;
          block->block_id = self->n_blocks - 1;
          channels = out_channels;
        }
    }

  head_channels = 4 * channels;
  g_assert (head_channels == variant->feature_dim);
  head_name = mien_nn_name (prefix, "features.%d", EFFICIENTNET_N_STAGES + 1);
  if (!conv_norm_activation_init (&self->head, vs, head_name, channels, head_channels, 1, 1, 1,
                                  MIEN_ACTIVATION_SILU, scaling, error))
    goto fail;

  return TRUE;

fail:
  mien_efficientnet_clear_network (self);
  return FALSE;
}

static MienTensor *
mien_efficientnet_forward_hooked (MienBackbone      *backbone,
                                  MienTensor        *images,
                                  gboolean           training,
                                  MienBackboneHook   hook,
                                  gpointer           user_data,
                                  GError           **error)
{
  static const gint64 pooled_size[2] = { 1, 1 };
  MienEfficientnet *self = MIEN_EFFICIENTNET (backbone);
  g_autoptr(MienTensor) x = NULL;

  if (!(x = mien_conv_bn_forward (&self->stem, images, training, error)))
    return NULL;

  for (guint i = 0; i < self->n_blocks; i++)
    {
      /* Same expression as torchvision, so that the probabilities are bit-identical. */
      double p = self->stochastic_depth_prob * (double) self->blocks[i].block_id / self->n_blocks;

      if (!mien_nn_replace (&x, mbconv_block_forward (&self->blocks[i], x, p, training, error)))
        return NULL;
    }

  if (!mien_nn_replace (&x, mien_conv_bn_forward (&self->head, x, training, error)))
    return NULL;

  if (!mien_backbone_run_hook (hook, "features.8", &x, user_data, error))
    return NULL;

  if (!mien_nn_replace (&x, mien_tensor_adaptive_avg_pool2d (x, pooled_size, error)))
    return NULL;

  return mien_tensor_flatten (x, 1, -1, error);
}

static MienTensor *
mien_efficientnet_forward (MienBackbone  *backbone,
                           MienTensor    *images,
                           gboolean       training,
                           GError       **error)
{
  return mien_efficientnet_forward_hooked (backbone, images, training, NULL, NULL, error);
}

/* timm's efficientnet_bN → torchvision. timm's first stage is made of DepthwiseSeparableConv
 * blocks (conv_dw, bn1, se, conv_pw, bn2: no expansion, so conv_pw is the projection); the other
 * stages of InvertedResidual blocks (conv_pw is the expansion, conv_pwl the projection). */
typedef struct {
  const char *timm;
  const char *torchvision;
} KeyRename;

static const KeyRename depthwise_separable_renames[] = {
  { "conv_dw", "block.0.0" },
  { "bn1", "block.0.1" },
  { "se.conv_reduce", "block.1.fc1" },
  { "se.conv_expand", "block.1.fc2" },
  { "conv_pw", "block.2.0" },
  { "bn2", "block.2.1" },
};

static const KeyRename inverted_residual_renames[] = {
  { "conv_pw", "block.0.0" },
  { "bn1", "block.0.1" },
  { "conv_dw", "block.1.0" },
  { "bn2", "block.1.1" },
  { "se.conv_reduce", "block.2.fc1" },
  { "se.conv_expand", "block.2.fc2" },
  { "conv_pwl", "block.3.0" },
  { "bn3", "block.3.1" },
};

static const KeyRename top_level_renames[] = {
  { "conv_stem", "features.0.0" },
  { "bn1", "features.0.1" },
  { "conv_head", "features.8.0" },
  { "bn2", "features.8.1" },
  { "classifier", "classifier.1" },
};

G_STATIC_ASSERT (EFFICIENTNET_N_STAGES + 1 == 8);  /* "features.8" above */

/* When `key` is one of `renames`' timm names followed by a parameter name (no further dots),
 * returns `new_prefix` + the torchvision name + the parameter name. */
static char *
rename_leaf (const char      *key,
             const KeyRename *renames,
             guint            n_renames,
             const char      *new_prefix)
{
  for (guint i = 0; i < n_renames; i++)
    {
      gsize len = strlen (renames[i].timm);

      if (strncmp (key, renames[i].timm, len) == 0 && key[len] == '.' &&
          key[len + 1] != '\0' && strchr (key + len + 1, '.') == NULL)
        return g_strconcat (new_prefix, renames[i].torchvision, key + len, NULL);
    }

  return NULL;
}

static char *
mien_efficientnet_map_timm_key (MienBackbone *backbone,
                                const char   *key)
{
  guint64 stage, block;
  const char *rest;
  char *end;
  g_autofree char *block_prefix = NULL;

  if (!g_str_has_prefix (key, "blocks."))
    return rename_leaf (key, top_level_renames, G_N_ELEMENTS (top_level_renames), "");

  rest = key + strlen ("blocks.");
  if (!g_ascii_isdigit (*rest))
    return NULL;
  stage = g_ascii_strtoull (rest, &end, 10);
  if (*end != '.' || !g_ascii_isdigit (end[1]) || stage >= EFFICIENTNET_N_STAGES)
    return NULL;
  block = g_ascii_strtoull (end + 1, &end, 10);
  if (*end != '.')
    return NULL;

  block_prefix = g_strdup_printf ("features.%" G_GUINT64_FORMAT ".%" G_GUINT64_FORMAT ".",
                                  stage + 1, block);
  /* Which blocks have no expansion is the same for every variant: the first stage's. */
  if (b0_stages[stage].expand_ratio == 1)
    return rename_leaf (end + 1, depthwise_separable_renames,
                        G_N_ELEMENTS (depthwise_separable_renames), block_prefix);
  return rename_leaf (end + 1, inverted_residual_renames,
                      G_N_ELEMENTS (inverted_residual_renames), block_prefix);
}

/* torchvision's ImageNet weights (torchvision.models.EfficientNet_B*_Weights; sizes from its
 * documentation's "file size", in MiB). The V1 files are ported from timm (B0-B4) and from
 * lukemelas/EfficientNet-PyTorch (B5-B7), both Apache-2.0. Their names are torchvision 0.16.1's:
 * the names Debian's torchvision 0.14 uses carry hash prefixes that do not match the files
 * (pytorch/vision#7744, renamed in #8036; the bytes are the same). The full SHA-256 of the
 * files is the one torch.hub computed in #7744. */
static const MienWeightsInfo efficientnet_weights[] = {
  { "b0", "efficientnet_b0.imagenet1k_v1", "imagenet", "torchvision",
    "https://download.pytorch.org/models/efficientnet_b0_rwightman-7f5810bc.pth",
    "efficientnet_b0_rwightman-7f5810bc.pth", MIEN_MIB (20.451), FALSE,
    "7f5810bc96def8f7552d5b7e68d53c4786f81167d28291b21c0d90e1fca14934",
    "Apache-2.0", TRUE, 224, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
  { "b1", "efficientnet_b1.imagenet1k_v1", "imagenet", "torchvision",
    "https://download.pytorch.org/models/efficientnet_b1_rwightman-bac287d4.pth",
    "efficientnet_b1_rwightman-bac287d4.pth", MIEN_MIB (30.134), FALSE,
    "bac287d4", "Apache-2.0", FALSE, 240, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
  { "b1", "efficientnet_b1.imagenet1k_v2", "imagenet", "torchvision",
    "https://download.pytorch.org/models/efficientnet_b1-c27df63c.pth",
    "efficientnet_b1-c27df63c.pth", MIEN_MIB (30.136), FALSE,
    "c27df63c", "BSD-3-Clause", TRUE, 240, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
  { "b2", "efficientnet_b2.imagenet1k_v1", "imagenet", "torchvision",
    "https://download.pytorch.org/models/efficientnet_b2_rwightman-c35c1473.pth",
    "efficientnet_b2_rwightman-c35c1473.pth", MIEN_MIB (35.174), FALSE,
    "c35c147384e385a5bab5a8eabdabbe5a3df0487ee4a554108626ae474a5bf755",
    "Apache-2.0", TRUE, 288, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
  { "b3", "efficientnet_b3.imagenet1k_v1", "imagenet", "torchvision",
    "https://download.pytorch.org/models/efficientnet_b3_rwightman-b3899882.pth",
    "efficientnet_b3_rwightman-b3899882.pth", MIEN_MIB (47.184), FALSE,
    "b3899882250c22946d0229d266049fcd133c169233530b36b9ffa7983988362f",
    "Apache-2.0", TRUE, 300, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
  { "b4", "efficientnet_b4.imagenet1k_v1", "imagenet", "torchvision",
    "https://download.pytorch.org/models/efficientnet_b4_rwightman-23ab8bcd.pth",
    "efficientnet_b4_rwightman-23ab8bcd.pth", MIEN_MIB (74.489), FALSE,
    "23ab8bcd5bdbef61a7a43b91adcad81f622fd7f36fb4935a569828d77888c44e",
    "Apache-2.0", TRUE, 380, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
  { "b5", "efficientnet_b5.imagenet1k_v1", "imagenet", "torchvision",
    "https://download.pytorch.org/models/efficientnet_b5_lukemelas-1a07897c.pth",
    "efficientnet_b5_lukemelas-1a07897c.pth", MIEN_MIB (116.864), FALSE,
    "1a07897c0d357db7981640f6be44a63420f11deb932344a69768b62ebe272946",
    "Apache-2.0", TRUE, 456, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
  { "b6", "efficientnet_b6.imagenet1k_v1", "imagenet", "torchvision",
    "https://download.pytorch.org/models/efficientnet_b6_lukemelas-24a108a5.pth",
    "efficientnet_b6_lukemelas-24a108a5.pth", MIEN_MIB (165.362), FALSE,
    "24a108a596a00ad522bdfb9a2d98a9bd31819dfd7e37dd96bad6bb5bc00d6015",
    "Apache-2.0", TRUE, 528, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
  { "b7", "efficientnet_b7.imagenet1k_v1", "imagenet", "torchvision",
    "https://download.pytorch.org/models/efficientnet_b7_lukemelas-c5b4e57e.pth",
    "efficientnet_b7_lukemelas-c5b4e57e.pth", MIEN_MIB (254.675), FALSE,
    "c5b4e57e0da1a10bb4f8a5b410dd3b7b6e7461f9b757209be29409707c3d87dd",
    "Apache-2.0", TRUE, 600, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
};

static const MienWeightsInfo *
mien_efficientnet_list_weights (MienBackbone              *backbone,
                                const MienBackboneVariant *variant,
                                guint                     *n_weights)
{
  return mien_backbone_weights_of_variant (efficientnet_weights,
                                           G_N_ELEMENTS (efficientnet_weights), variant,
                                           n_weights);
}

static void
mien_efficientnet_backbone_iface_init (MienBackboneInterface *iface)
{
  iface->list_variants = mien_efficientnet_list_variants;
  iface->build = mien_efficientnet_build;
  iface->forward = mien_efficientnet_forward;
  iface->forward_hooked = mien_efficientnet_forward_hooked;
  iface->list_weights = mien_efficientnet_list_weights;
  iface->map_timm_key = mien_efficientnet_map_timm_key;
}

static void
mien_efficientnet_finalize (GObject *object)
{
  mien_efficientnet_clear_network (MIEN_EFFICIENTNET (object));

  G_OBJECT_CLASS (mien_efficientnet_parent_class)->finalize (object);
}

static void
mien_efficientnet_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  MienEfficientnet *self = MIEN_EFFICIENTNET (object);

  switch (prop_id)
    {
    case PROP_STOCHASTIC_DEPTH_PROB:
      g_value_set_double (value, self->stochastic_depth_prob);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_efficientnet_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  MienEfficientnet *self = MIEN_EFFICIENTNET (object);

  switch (prop_id)
    {
    case PROP_STOCHASTIC_DEPTH_PROB:
      if (self->stochastic_depth_prob != g_value_get_double (value))
        {
          self->stochastic_depth_prob = g_value_get_double (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_efficientnet_class_init (MienEfficientnetClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mien_efficientnet_finalize;
  object_class->get_property = mien_efficientnet_get_property;
  object_class->set_property = mien_efficientnet_set_property;

  /* The largest probability, that of the last block, of skipping a block's residual branch in
   * training; earlier blocks get proportionally less. May change between forward passes. */
  properties[PROP_STOCHASTIC_DEPTH_PROB] =
    g_param_spec_double ("stochastic-depth-prob", NULL, NULL,
                         0.0, 1.0, EFFICIENTNET_DEFAULT_STOCHASTIC_DEPTH_PROB,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
mien_efficientnet_init (MienEfficientnet *self)
{
  self->stochastic_depth_prob = EFFICIENTNET_DEFAULT_STOCHASTIC_DEPTH_PROB;
}

G_MODULE_EXPORT GType
mien_plugin_query_type (void)
{
  return MIEN_TYPE_EFFICIENTNET;
}
