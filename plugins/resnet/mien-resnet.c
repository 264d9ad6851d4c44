/* mien-resnet.c — ResNet-18, -34 and -50 (He et al., 2016) as torchvision 0.14 builds them.
 *
 * Parameter names, shapes, order and initialisation follow torchvision.models.resnet, so that a
 * torchvision (or timm, whose ResNet names are the same) state_dict loads as it is. ResNet-50 uses
 * torchvision's "V1.5" bottleneck: the stride sits on the 3×3 convolution, not on the first 1×1.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <gmodule.h>

#include "mien-backbone.h"
#include "mien-nn.h"

/* torchvision's BatchNorm2d defaults. */
#define RESNET_BN_EPS      1e-5
#define RESNET_BN_MOMENTUM 0.1
#define RESNET_STEM_WIDTH  64
#define RESNET_N_STAGES    4

typedef struct {
  int    expansion;  /* output channels = planes × expansion */
  int    n_convs;
  gint64 kernels[3];
  int    stride_conv; /* the convolution that carries the stage's stride */
} ResnetBlockKind;

static const ResnetBlockKind basic_block = { 1, 2, { 3, 3 }, 0 };
static const ResnetBlockKind bottleneck = { 4, 3, { 1, 3, 1 }, 1 };

typedef struct {
  const char            *name;
  const ResnetBlockKind *kind;
  int                    n_blocks[RESNET_N_STAGES];
} ResnetArch;

/* ResNet-50 first: it is the network of the reference paper. Same order as `resnet_variants`. */
static const ResnetArch resnet_archs[] = {
  { "50", &bottleneck, { 3, 4, 6, 3 } },
  { "18", &basic_block, { 2, 2, 2, 2 } },
  { "34", &basic_block, { 3, 4, 6, 3 } },
};

static const MienBackboneVariant resnet_variants[] = {
  { "50", N_("ResNet-50, bottleneck blocks (the reference paper's)"), 2048, 224, 32, 1, "fc", 1000 },
  { "18", N_("ResNet-18, basic blocks, for CPUs"), 512, 224, 32, 1, "fc", 1000 },
  { "34", N_("ResNet-34, basic blocks"), 512, 224, 32, 1, "fc", 1000 },
};

G_STATIC_ASSERT (G_N_ELEMENTS (resnet_archs) == G_N_ELEMENTS (resnet_variants));

static const gint64 stage_planes[RESNET_N_STAGES] = { 64, 128, 256, 512 };
static const gint64 stage_strides[RESNET_N_STAGES] = { 1, 2, 2, 2 };

typedef struct {
  MienConvBn convs[3];       /* convN / bnN; the last one without activation */
  int        n_convs;
  MienConvBn downsample;     /* downsample.0 / downsample.1 */
  gboolean   has_downsample;
} ResnetBlock;

struct _MienResnet
{
  GObject      parent_instance;

  MienConvBn   stem;          /* conv1 / bn1 */
  ResnetBlock *blocks;
  guint        n_blocks;
};

#define MIEN_TYPE_RESNET (mien_resnet_get_type ())
G_DECLARE_FINAL_TYPE (MienResnet, mien_resnet, MIEN, RESNET, GObject)

static void mien_resnet_backbone_iface_init (MienBackboneInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MienResnet, mien_resnet, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (MIEN_TYPE_BACKBONE,
                                                      mien_resnet_backbone_iface_init))

/* Also right for a block whose init failed half-way: unused parts are zeroed. */
static void
resnet_block_clear (ResnetBlock *block)
{
  for (guint i = 0; i < G_N_ELEMENTS (block->convs); i++)
    mien_conv_bn_clear (&block->convs[i]);
  mien_conv_bn_clear (&block->downsample);
}

static gboolean
resnet_block_init (ResnetBlock            *block,
                   const ResnetBlockKind  *kind,
                   MienVarStore           *vs,
                   const char             *prefix,
                   gint64                  in_channels,
                   gint64                  planes,
                   gint64                  stride,
                   GError                **error)
{
  gint64 out_channels = planes * kind->expansion;
  gint64 channels = in_channels;

  memset (block, 0, sizeof *block);

  /* Registration order is torchvision's module order: convN/bnN pairs, then the downsample. */
  for (int i = 0; i < kind->n_convs; i++)
    {
      gboolean last = i == kind->n_convs - 1;
      MienConv2dConfig config = {
        .in_channels = channels,
        .out_channels = last ? out_channels : planes,
        .kernel = kind->kernels[i],
        .stride = i == kind->stride_conv ? stride : 1,
        .padding = kind->kernels[i] / 2,
      };
      g_autofree char *conv_name = mien_nn_name (prefix, "conv%d", i + 1);
      g_autofree char *bn_name = mien_nn_name (prefix, "bn%d", i + 1);

      /* The last activation comes after the residual sum, in the block's forward. */
      if (!mien_conv_bn_init (&block->convs[i], vs, conv_name, bn_name, &config, RESNET_BN_EPS,
                              RESNET_BN_MOMENTUM,
                              last ? MIEN_ACTIVATION_NONE : MIEN_ACTIVATION_RELU, error))
        return FALSE;
      block->n_convs = i + 1;
      channels = config.out_channels;
    }

  if (stride != 1 || in_channels != out_channels)
    {
      MienConv2dConfig config = {
        .in_channels = in_channels,
        .out_channels = out_channels,
        .kernel = 1,
        .stride = stride,
      };
      g_autofree char *conv_name = mien_nn_name (prefix, "downsample.0");
      g_autofree char *bn_name = mien_nn_name (prefix, "downsample.1");

      if (!mien_conv_bn_init (&block->downsample, vs, conv_name, bn_name, &config, RESNET_BN_EPS,
                              RESNET_BN_MOMENTUM, MIEN_ACTIVATION_NONE, error))
        return FALSE;
      block->has_downsample = TRUE;
    }

  return TRUE;
}

static MienTensor *
resnet_block_forward (const ResnetBlock *block,
                      MienTensor        *x,
                      gboolean           training,
                      GError           **error)
{
  g_autoptr(MienTensor) out = mien_tensor_alias (x);
  g_autoptr(MienTensor) identity = NULL;

  for (int i = 0; i < block->n_convs; i++)
    if (!mien_nn_replace (&out, mien_conv_bn_forward (&block->convs[i], out, training, error)))
      return NULL;

  if (block->has_downsample)
    identity = mien_conv_bn_forward (&block->downsample, x, training, error);
  else
    identity = mien_tensor_alias (x);

  if (identity == NULL ||
      !mien_nn_replace (&out, mien_tensor_add (out, identity, error)))
    return NULL;
  g_clear_pointer (&identity, mien_tensor_free);

  return mien_tensor_relu (out, error);
}

static void
mien_resnet_clear_network (MienResnet *self)
{
  for (guint i = 0; i < self->n_blocks; i++)
    resnet_block_clear (&self->blocks[i]);
  g_clear_pointer (&self->blocks, g_free);
  self->n_blocks = 0;
  mien_conv_bn_clear (&self->stem);
}

static const ResnetArch *
find_arch (const MienBackboneVariant *variant)
{
  for (guint i = 0; i < G_N_ELEMENTS (resnet_archs); i++)
    if (strcmp (resnet_archs[i].name, variant->name) == 0)
      return &resnet_archs[i];

  g_return_val_if_reached (NULL);
}

static const MienBackboneVariant *
mien_resnet_list_variants (MienBackbone *backbone,
                           guint        *n_variants)
{
  *n_variants = G_N_ELEMENTS (resnet_variants);
  return resnet_variants;
}

static gboolean
mien_resnet_build (MienBackbone              *backbone,
                   const MienBackboneVariant *variant,
                   int                        input_size,
                   MienVarStore              *vs,
                   const char                *prefix,
                   GError                   **error)
{
  MienResnet *self = MIEN_RESNET (backbone);
  const ResnetArch *arch = find_arch (variant);
  MienConv2dConfig stem_config = {
    .in_channels = 3,
    .out_channels = RESNET_STEM_WIDTH,
    .kernel = 7,
    .stride = 2,
    .padding = 3,
  };
  g_autofree char *stem_conv = mien_nn_name (prefix, "conv1");
  g_autofree char *stem_bn = mien_nn_name (prefix, "bn1");
  gint64 channels = RESNET_STEM_WIDTH;
  guint total = 0;

  g_return_val_if_fail (arch != NULL, FALSE);
  g_return_val_if_fail (self->blocks == NULL, FALSE);

  for (int s = 0; s < RESNET_N_STAGES; s++)
    total += arch->n_blocks[s];
  self->blocks = g_new0 (ResnetBlock, total);

  if (!mien_conv_bn_init (&self->stem, vs, stem_conv, stem_bn, &stem_config, RESNET_BN_EPS,
                          RESNET_BN_MOMENTUM, MIEN_ACTIVATION_RELU, error))
    goto fail;

  for (int s = 0; s < RESNET_N_STAGES; s++)
    for (int b = 0; b < arch->n_blocks[s]; b++)
      {
        g_autofree char *block_prefix = mien_nn_name (prefix, "layer%d.%d.", s + 1, b);

        /* Only a stage's first block changes resolution and width. */
        if (!resnet_block_init (&self->blocks[self->n_blocks], arch->kind, vs, block_prefix,
                                channels, stage_planes[s], b == 0 ? stage_strides[s] : 1,
                                error))
          {
            /* The half-made block may hold handles already. */
            self->n_blocks++;
            goto fail;
          }
        self->n_blocks++;
        channels = stage_planes[s] * arch->kind->expansion;
      }

  g_assert (channels == variant->feature_dim);
  return TRUE;

fail:
  mien_resnet_clear_network (self);
  return FALSE;
}

static MienTensor *
mien_resnet_forward_hooked (MienBackbone      *backbone,
                            MienTensor        *images,
                            gboolean           training,
                            MienBackboneHook   hook,
                            gpointer           user_data,
                            GError           **error)
{
  static const gint64 pool_kernel[2] = { 3, 3 };
  static const gint64 pool_stride[2] = { 2, 2 };
  static const gint64 pool_padding[2] = { 1, 1 };
  static const gint64 pooled_size[2] = { 1, 1 };
  MienResnet *self = MIEN_RESNET (backbone);
  g_autoptr(MienTensor) x = NULL;

  if (!(x = mien_conv_bn_forward (&self->stem, images, training, error)) ||
      !mien_nn_replace (&x, mien_tensor_max_pool2d (x, pool_kernel, pool_stride, pool_padding,
                                                   FALSE, error)))
    return NULL;

  for (guint i = 0; i < self->n_blocks; i++)
    if (!mien_nn_replace (&x, resnet_block_forward (&self->blocks[i], x, training, error)))
      return NULL;

  if (!mien_backbone_run_hook (hook, "layer4", &x, user_data, error))
    return NULL;

  if (!mien_nn_replace (&x, mien_tensor_adaptive_avg_pool2d (x, pooled_size, error)))
    return NULL;

  return mien_tensor_flatten (x, 1, -1, error);
}

static MienTensor *
mien_resnet_forward (MienBackbone  *backbone,
                     MienTensor    *images,
                     gboolean       training,
                     GError       **error)
{
  return mien_resnet_forward_hooked (backbone, images, training, NULL, NULL, error);
}

/* torchvision's ImageNet weights (torchvision.models.ResNet*_Weights; sizes from its
 * documentation's "file size", in MiB). */
static const MienWeightsInfo resnet_weights[] = {
  { "50", "resnet50.imagenet1k_v1", "imagenet", "torchvision",
    "https://download.pytorch.org/models/resnet50-0676ba61.pth",
    "resnet50-0676ba61.pth", MIEN_MIB (97.781), FALSE,
    "0676ba61", "BSD-3-Clause", FALSE, 224, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
  { "50", "resnet50.imagenet1k_v2", "imagenet", "torchvision",
    "https://download.pytorch.org/models/resnet50-11ad3fa6.pth",
    "resnet50-11ad3fa6.pth", MIEN_MIB (97.79), FALSE,
    "11ad3fa6", "BSD-3-Clause", TRUE, 224, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
  { "18", "resnet18.imagenet1k_v1", "imagenet", "torchvision",
    "https://download.pytorch.org/models/resnet18-f37072fd.pth",
    "resnet18-f37072fd.pth", MIEN_MIB (44.661), FALSE,
    "f37072fd", "BSD-3-Clause", TRUE, 224, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
  { "34", "resnet34.imagenet1k_v1", "imagenet", "torchvision",
    "https://download.pytorch.org/models/resnet34-b627a593.pth",
    "resnet34-b627a593.pth", MIEN_MIB (83.275), FALSE,
    "b627a593", "BSD-3-Clause", TRUE, 224, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
};

static const MienWeightsInfo *
mien_resnet_list_weights (MienBackbone              *backbone,
                          const MienBackboneVariant *variant,
                          guint                     *n_weights)
{
  return mien_backbone_weights_of_variant (resnet_weights,
                                           G_N_ELEMENTS (resnet_weights), variant,
                                           n_weights);
}

static void
mien_resnet_backbone_iface_init (MienBackboneInterface *iface)
{
  iface->list_variants = mien_resnet_list_variants;
  iface->build = mien_resnet_build;
  iface->forward = mien_resnet_forward;
  iface->forward_hooked = mien_resnet_forward_hooked;
  iface->list_weights = mien_resnet_list_weights;
  /* timm's ResNet state_dict keys are torchvision's. */
  iface->map_timm_key = NULL;
}

static void
mien_resnet_finalize (GObject *object)
{
  mien_resnet_clear_network (MIEN_RESNET (object));

  G_OBJECT_CLASS (mien_resnet_parent_class)->finalize (object);
}

static void
mien_resnet_class_init (MienResnetClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mien_resnet_finalize;
}

static void
mien_resnet_init (MienResnet *self)
{
}

G_MODULE_EXPORT GType
mien_plugin_query_type (void)
{
  return MIEN_TYPE_RESNET;
}
