/* mien-vit.c — Vision Transformers as torchvision 0.14 builds them.
 *
 * Follows torchvision/models/vision_transformer.py (VisionTransformer without a conv stem or a
 * representation layer): parameter names, their order and shapes are torchvision's, so its
 * checkpoints load as they are, and timm's load through map_timm_key (). The features are the
 * class token after the encoder's final LayerNorm; the classifier "heads.head" belongs to the
 * core's head.
 *
 * Explanations (forward_hooked) are Grad-CAM on the last block's patch tokens, not attention
 * rollout: rollout multiplies the attention maps of all blocks and gives one map per image,
 * whatever the class, while an explanation must be able to show the evidence for any class,
 * which Grad-CAM's gradient of that class's logit does, through the same code as the
 * convolutional families. The layer is the last block's ln_1 (pytorch-grad-cam's
 * blocks[-1].norm1 for ViT): after that block only the class token reaches the head, so the
 * patch tokens of later layers get no gradient. Its tokens [N, 1 + h·w, D] go to the hook as an
 * image [N, D, h, w] without the class token, as pytorch-grad-cam's reshape_transform for ViT
 * gives them, and come back the same way.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <gmodule.h>

#include "mien-backbone.h"
#include "mien-nn.h"

/* torchvision's norm_layer: partial (nn.LayerNorm, eps=1e-6). */
#define LN_EPS 1e-6

typedef struct {
  gint64 patch_size;
  gint64 n_layers;
  gint64 n_heads;
  gint64 hidden_dim;
  gint64 mlp_dim;
} VitConfig;

/* Parallel to vit_configs. ti_16 and s_16 are timm's (DeiT's) sizes; torchvision defines no
 * builder for them, but its VisionTransformer builds them with the same names. Columns: name,
 * description, D, preferred input size, smallest input size (one patch), size multiple (the
 * patch size), classifier, its classes. */
static const MienBackboneVariant vit_variants[] = {
  { "b_16", N_("ViT-B/16 (the reference paper's)"), 768, 224, 16, 16, "heads.head", 1000 },
  { "ti_16", N_("ViT-Ti/16 (timm's ViT-Tiny), for CPUs"), 192, 224, 16, 16, "heads.head", 1000 },
  { "s_16", N_("ViT-S/16 (timm's ViT-Small)"), 384, 224, 16, 16, "heads.head", 1000 },
  { "b_32", N_("ViT-B/32, 32-pixel patches"), 768, 224, 32, 32, "heads.head", 1000 },
};

static const VitConfig vit_configs[] = {
  { 16, 12, 12, 768, 3072 },
  { 16, 12,  3, 192,  768 },
  { 16, 12,  6, 384, 1536 },
  { 32, 12, 12, 768, 3072 },
};

G_STATIC_ASSERT (G_N_ELEMENTS (vit_variants) == G_N_ELEMENTS (vit_configs));

/* One EncoderBlock. The attention keeps nn.MultiheadAttention's packed input projection: one
 * linear gives q, k and v together. */
typedef struct {
  MienLayerNorm ln_1;
  MienTensor   *in_proj_weight;  /* [3D, D]: the rows of q, then k, then v */
  MienTensor   *in_proj_bias;    /* [3D] */
  MienLinear    out_proj;
  MienLayerNorm ln_2;
  MienLinear    mlp_0;           /* D → mlp_dim, then GELU and dropout ("mlp.1", "mlp.2") */
  MienLinear    mlp_3;           /* mlp_dim → D, then dropout ("mlp.4") */
} EncoderLayer;

struct _MienVit
{
  GObject          parent_instance;

  double           dropout;
  double           attention_dropout;

  const VitConfig *config;       /* NULL until built */
  MienTensor      *class_token;  /* [1, 1, D] */
  MienConv2d       conv_proj;
  MienTensor      *pos_embedding; /* [1, S + 1, D] */
  EncoderLayer    *layers;
  gint64           n_layers;
  MienLayerNorm    ln;
};

enum {
  PROP_0,
  PROP_DROPOUT,
  PROP_ATTENTION_DROPOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

#define MIEN_TYPE_VIT (mien_vit_get_type ())
G_DECLARE_FINAL_TYPE (MienVit, mien_vit, MIEN, VIT, GObject)

static void mien_vit_backbone_iface_init (MienBackboneInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MienVit, mien_vit, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (MIEN_TYPE_BACKBONE,
                                                      mien_vit_backbone_iface_init))

/* nn.Dropout: nothing to do (not even a copy) outside training or with p = 0. */
static gboolean
dropout_ (MienTensor **x,
          double       p,
          gboolean     training,
          GError     **error)
{
  if (!training || p <= 0.0)
    return TRUE;

  return mien_nn_replace (x, mien_tensor_dropout (*x, p, training, error));
}

/* ---- Encoder block ------------------------------------------------------------------------ */

static gboolean
encoder_layer_init (EncoderLayer     *layer,
                    MienVarStore     *vs,
                    const char       *name,
                    const VitConfig  *config,
                    GError          **error)
{
  /* nn.MultiheadAttention._reset_parameters: xavier-uniform in_proj_weight, zero biases;
   * out_proj.weight keeps nn.Linear's default init. MLPBlock: xavier-uniform weights, N(0, 1e-6)
   * biases. */
  static const MienInit xavier_uniform = { MIEN_INIT_XAVIER_UNIFORM, 0, 0 };
  static const MienInit zeros = { MIEN_INIT_ZEROS, 0, 0 };
  static const MienInit mlp_bias = { MIEN_INIT_NORMAL, 0.0, 1e-6 };
  gint64 d = config->hidden_dim;
  gint64 in_proj_shape[2] = { 3 * d, d };
  g_autofree char *ln_1 = mien_nn_name (name, "ln_1");
  g_autofree char *in_proj_weight = mien_nn_name (name, "self_attention.in_proj_weight");
  g_autofree char *in_proj_bias = mien_nn_name (name, "self_attention.in_proj_bias");
  g_autofree char *out_proj = mien_nn_name (name, "self_attention.out_proj");
  g_autofree char *ln_2 = mien_nn_name (name, "ln_2");
  g_autofree char *mlp_0 = mien_nn_name (name, "mlp.0");
  g_autofree char *mlp_3 = mien_nn_name (name, "mlp.3");

  return mien_layer_norm_init (&layer->ln_1, vs, ln_1, d, LN_EPS, error) &&
         (layer->in_proj_weight = mien_var_store_new_parameter (vs, in_proj_weight,
                                                                in_proj_shape, 2,
                                                                &xavier_uniform, error)) &&
         (layer->in_proj_bias = mien_var_store_new_parameter (vs, in_proj_bias,
                                                              in_proj_shape, 1,
                                                              &zeros, error)) &&
         mien_linear_init (&layer->out_proj, vs, out_proj, d, d, TRUE, NULL, &zeros, error) &&
         mien_layer_norm_init (&layer->ln_2, vs, ln_2, d, LN_EPS, error) &&
         mien_linear_init (&layer->mlp_0, vs, mlp_0, d, config->mlp_dim, TRUE,
                           &xavier_uniform, &mlp_bias, error) &&
         mien_linear_init (&layer->mlp_3, vs, mlp_3, config->mlp_dim, d, TRUE,
                           &xavier_uniform, &mlp_bias, error);
}

static void
encoder_layer_clear (EncoderLayer *layer)
{
  mien_layer_norm_clear (&layer->ln_1);
  g_clear_pointer (&layer->in_proj_weight, mien_tensor_free);
  g_clear_pointer (&layer->in_proj_bias, mien_tensor_free);
  mien_linear_clear (&layer->out_proj);
  mien_layer_norm_clear (&layer->ln_2);
  mien_linear_clear (&layer->mlp_0);
  mien_linear_clear (&layer->mlp_3);
}

/* nn.MultiheadAttention (x, x, x, need_weights=False) with batch_first=True: x [N, L, D]. */
static MienTensor *
self_attention_forward (MienVit            *self,
                        const EncoderLayer *layer,
                        MienTensor         *x,
                        gboolean            training,
                        GError            **error)
{
  gint64 n = mien_tensor_size (x, 0);
  gint64 l = mien_tensor_size (x, 1);
  gint64 d = self->config->hidden_dim;
  gint64 heads = self->config->n_heads;
  /* [N, L, 3D] seen as [N, L, 3, heads, head_dim], then as [3, N, heads, L, head_dim]: q, k and
   * v are views of the one projection, with head_dim contiguous as the attention kernels like. */
  const gint64 split_shape[5] = { n, l, 3, heads, d / heads };
  const gint64 split_order[5] = { 2, 0, 3, 1, 4 };
  const gint64 merged_shape[3] = { n, l, d };
  g_autoptr(MienTensor) qkv = NULL;
  g_autoptr(MienTensor) q = NULL;
  g_autoptr(MienTensor) k = NULL;
  g_autoptr(MienTensor) v = NULL;
  g_autoptr(MienTensor) y = NULL;

  if (!(qkv = mien_tensor_linear (x, layer->in_proj_weight, layer->in_proj_bias, error)) ||
      !mien_nn_replace (&qkv, mien_tensor_reshape (qkv, split_shape, 5, error)) ||
      !mien_nn_replace (&qkv, mien_tensor_permute (qkv, split_order, 5, error)) ||
      !(q = mien_tensor_select (qkv, 0, 0, error)) ||
      !(k = mien_tensor_select (qkv, 0, 1, error)) ||
      !(v = mien_tensor_select (qkv, 0, 2, error)))
    return NULL;
  g_clear_pointer (&qkv, mien_tensor_free);

  y = mien_tensor_scaled_dot_product_attention (q, k, v,
                                                training ? self->attention_dropout : 0.0,
                                                training, error);
  if (y == NULL)
    return NULL;
  g_clear_pointer (&q, mien_tensor_free);
  g_clear_pointer (&k, mien_tensor_free);
  g_clear_pointer (&v, mien_tensor_free);

  /* [N, heads, L, head_dim] → [N, L, D] */
  if (!mien_nn_replace (&y, mien_tensor_transpose (y, 1, 2, error)) ||
      !mien_nn_replace (&y, mien_tensor_reshape (y, merged_shape, 3, error)))
    return NULL;

  return mien_linear_forward (&layer->out_proj, y, error);
}

/* Where forward_hooked () calls its hook: the output of `layer`'s ln_1, on a grid of h × w
 * patches. */
typedef struct {
  MienBackboneHook  hook;
  gpointer          user_data;
  const char       *layer;
  gint64            h;
  gint64            w;
} TokenHook;

/* Passes tokens [N, 1 + h·w, D] through the hook as [N, D, h, w] (the class token left out, the
 * patch tokens row-major as conv_proj made them, channels first) and puts the class token back
 * in front of what it returns. */
static gboolean
run_token_hook (const TokenHook  *token_hook,
                MienTensor      **tokens,
                GError          **error)
{
  static const gint64 to_channels[4] = { 0, 3, 1, 2 };
  static const gint64 to_tokens[4] = { 0, 2, 3, 1 };
  gint64 n = mien_tensor_size (*tokens, 0);
  gint64 d = mien_tensor_size (*tokens, 2);
  gint64 hw = token_hook->h * token_hook->w;
  const gint64 grid_shape[4] = { n, token_hook->h, token_hook->w, d };
  const gint64 tokens_shape[3] = { n, hw, d };
  g_autoptr(MienTensor) class_token = NULL;
  g_autoptr(MienTensor) patches = NULL;

  if (!(class_token = mien_tensor_narrow (*tokens, 1, 0, 1, error)) ||
      !(patches = mien_tensor_narrow (*tokens, 1, 1, hw, error)) ||
      !mien_nn_replace (&patches, mien_tensor_reshape (patches, grid_shape, 4, error)) ||
      !mien_nn_replace (&patches, mien_tensor_permute (patches, to_channels, 4, error)) ||
      !mien_backbone_run_hook (token_hook->hook, token_hook->layer, &patches,
                               token_hook->user_data, error) ||
      !mien_nn_replace (&patches, mien_tensor_permute (patches, to_tokens, 4, error)) ||
      !mien_nn_replace (&patches, mien_tensor_reshape (patches, tokens_shape, 3, error)))
    return FALSE;

  {
    MienTensor *parts[2] = { class_token, patches };

    return mien_nn_replace (tokens, mien_tensor_cat (parts, G_N_ELEMENTS (parts), 1, error));
  }
}

/* EncoderBlock.forward: pre-norm attention and MLP, each with a residual connection.
 * `token_hook` (nullable) is called on ln_1's output. */
static MienTensor *
encoder_layer_forward (MienVit            *self,
                       const EncoderLayer *layer,
                       MienTensor         *input,
                       gboolean            training,
                       const TokenHook    *token_hook,
                       GError            **error)
{
  g_autoptr(MienTensor) x = NULL;
  g_autoptr(MienTensor) y = NULL;

  if (!(y = mien_layer_norm_forward (&layer->ln_1, input, error)) ||
      (token_hook != NULL && !run_token_hook (token_hook, &y, error)) ||
      !mien_nn_replace (&y, self_attention_forward (self, layer, y, training, error)) ||
      !dropout_ (&y, self->dropout, training, error) ||
      !(x = mien_tensor_add (y, input, error)))
    return NULL;

  /* MLP: Linear, GELU, Dropout, Linear, Dropout. */
  if (!mien_nn_replace (&y, mien_layer_norm_forward (&layer->ln_2, x, error)) ||
      !mien_nn_replace (&y, mien_linear_forward (&layer->mlp_0, y, error)) ||
      !mien_nn_replace (&y, mien_tensor_gelu (y, error)) ||
      !dropout_ (&y, self->dropout, training, error) ||
      !mien_nn_replace (&y, mien_linear_forward (&layer->mlp_3, y, error)) ||
      !dropout_ (&y, self->dropout, training, error))
    return NULL;

  return mien_tensor_add (x, y, error);
}

/* ---- The network -------------------------------------------------------------------------- */

static void
clear_parameters (MienVit *self)
{
  g_clear_pointer (&self->class_token, mien_tensor_free);
  mien_conv2d_clear (&self->conv_proj);
  g_clear_pointer (&self->pos_embedding, mien_tensor_free);
  for (gint64 i = 0; i < self->n_layers; i++)
    encoder_layer_clear (&self->layers[i]);
  g_clear_pointer (&self->layers, g_free);
  mien_layer_norm_clear (&self->ln);
  self->n_layers = 0;
}

static const MienBackboneVariant *
mien_vit_list_variants (MienBackbone *backbone,
                        guint        *n_variants)
{
  *n_variants = G_N_ELEMENTS (vit_variants);
  return vit_variants;
}

static gboolean
mien_vit_build (MienBackbone              *backbone,
                const MienBackboneVariant *variant,
                int                        input_size,
                MienVarStore              *vs,
                const char                *prefix,
                GError                   **error)
{
  static const MienInit zeros = { MIEN_INIT_ZEROS, 0, 0 };
  static const MienInit pos_embedding_init = { MIEN_INIT_NORMAL, 0.0, 0.02 };
  MienVit *self = MIEN_VIT (backbone);
  const VitConfig *config;
  gint64 d;
  gint64 side;
  gint64 fan_in;
  gint64 class_token_shape[3];
  gint64 pos_embedding_shape[3];
  MienInit conv_proj_init;
  MienConv2dConfig conv_proj_config;
  g_autofree char *class_token = NULL;
  g_autofree char *conv_proj = NULL;
  g_autofree char *pos_embedding = NULL;
  g_autofree char *ln = NULL;

  g_return_val_if_fail (self->config == NULL, FALSE);
  g_return_val_if_fail (variant >= vit_variants &&
                        variant < vit_variants + G_N_ELEMENTS (vit_variants), FALSE);

  /* What a build that failed half-way left behind. */
  clear_parameters (self);

  config = &vit_configs[variant - vit_variants];
  d = config->hidden_dim;
  side = input_size / config->patch_size;  /* the core checked the multiple */
  fan_in = 3 * config->patch_size * config->patch_size;

  class_token_shape[0] = 1;
  class_token_shape[1] = 1;
  class_token_shape[2] = d;
  pos_embedding_shape[0] = 1;
  pos_embedding_shape[1] = side * side + 1;
  pos_embedding_shape[2] = d;

  /* torchvision: trunc_normal_ (std = sqrt (1 / fan_in)) with its default bounds of ±2 absolute,
   * over 50 std away for every patch size here: a plain normal distribution.
   * MIEN_INIT_TRUNC_NORMAL would cut at ±2 std. */
  conv_proj_init = (MienInit) { MIEN_INIT_NORMAL, 0.0, sqrt (1.0 / fan_in) };
  conv_proj_config = (MienConv2dConfig) {
    .in_channels = 3,
    .out_channels = d,
    .kernel = config->patch_size,
    .stride = config->patch_size,
    .bias = TRUE,
    .weight_init = &conv_proj_init,
    .bias_init = &zeros,
  };

  class_token = mien_nn_name (prefix, "class_token");
  conv_proj = mien_nn_name (prefix, "conv_proj");
  pos_embedding = mien_nn_name (prefix, "encoder.pos_embedding");
  ln = mien_nn_name (prefix, "encoder.ln");

  /* self->config doubles as the "built" flag, set at the end; the layers exist from the start
   * so that finalize (or the next build) frees what a build that fails half-way has made.
   * pos_embedding is sized for `input_size`; checkpoints of another size are resampled on
   * load (mien_vit_adapt_pretrained ()). */
  self->layers = g_new0 (EncoderLayer, config->n_layers);
  self->n_layers = config->n_layers;

  /* In torchvision's state_dict order: class_token, conv_proj, encoder.pos_embedding, the
   * layers, encoder.ln. */
  if (!(self->class_token = mien_var_store_new_parameter (vs, class_token, class_token_shape, 3,
                                                          &zeros, error)) ||
      !mien_conv2d_init (&self->conv_proj, vs, conv_proj, &conv_proj_config, error) ||
      !(self->pos_embedding = mien_var_store_new_parameter (vs, pos_embedding,
                                                            pos_embedding_shape, 3,
                                                            &pos_embedding_init, error)))
    return FALSE;

  for (gint64 i = 0; i < config->n_layers; i++)
    {
      g_autofree char *name = mien_nn_name (prefix, "encoder.layers.encoder_layer_%"
                                            G_GINT64_FORMAT ".", i);

      if (!encoder_layer_init (&self->layers[i], vs, name, config, error))
        return FALSE;
    }

  if (!mien_layer_norm_init (&self->ln, vs, ln, d, LN_EPS, error))
    return FALSE;

  self->config = config;
  return TRUE;
}

static MienTensor *
mien_vit_forward_hooked (MienBackbone      *backbone,
                         MienTensor        *images,
                         gboolean           training,
                         MienBackboneHook   hook,
                         gpointer           user_data,
                         GError           **error)
{
  MienVit *self = MIEN_VIT (backbone);
  g_autofree char *hooked_layer = NULL;
  TokenHook token_hook = { hook, user_data, NULL, 0, 0 };
  gint64 n;
  gint64 d;
  gint64 tokens_shape[3];
  gint64 class_token_shape[3];
  const gint64 token_order[3] = { 0, 2, 1 };
  g_autoptr(MienTensor) x = NULL;
  g_autoptr(MienTensor) class_tokens = NULL;

  g_return_val_if_fail (self->config != NULL, NULL);

  n = mien_tensor_size (images, 0);
  d = self->config->hidden_dim;
  tokens_shape[0] = n;
  tokens_shape[1] = d;
  tokens_shape[2] = -1;
  class_token_shape[0] = n;
  class_token_shape[1] = -1;
  class_token_shape[2] = -1;

  /* _process_input: patches [N, D, h, w] → tokens [N, h * w, D] (a view) */
  if (!(x = mien_conv2d_forward (&self->conv_proj, images, error)) ||
      !mien_nn_replace (&x, mien_tensor_reshape (x, tokens_shape, 3, error)) ||
      !mien_nn_replace (&x, mien_tensor_permute (x, token_order, 3, error)))
    return NULL;

  /* The class token first; the cat makes the sequence contiguous. */
  if (!(class_tokens = mien_tensor_expand (self->class_token, class_token_shape, 3, error)))
    return NULL;
  {
    MienTensor *parts[2] = { class_tokens, x };

    if (!mien_nn_replace (&x, mien_tensor_cat (parts, G_N_ELEMENTS (parts), 1, error)))
      return NULL;
  }
  g_clear_pointer (&class_tokens, mien_tensor_free);

  /* Encoder */
  if (!mien_nn_replace (&x, mien_tensor_add (x, self->pos_embedding, error)) ||
      !dropout_ (&x, self->dropout, training, error))
    return NULL;

  if (hook != NULL)
    {
      hooked_layer = g_strdup_printf ("encoder.layers.encoder_layer_%" G_GINT64_FORMAT ".ln_1",
                                      self->config->n_layers - 1);
      token_hook.layer = hooked_layer;
      token_hook.h = mien_tensor_size (images, 2) / self->config->patch_size;
      token_hook.w = mien_tensor_size (images, 3) / self->config->patch_size;
    }

  for (gint64 i = 0; i < self->config->n_layers; i++)
    {
      gboolean last = i == self->config->n_layers - 1;

      if (!mien_nn_replace (&x, encoder_layer_forward (self, &self->layers[i], x, training,
                                                       last && hook != NULL ? &token_hook : NULL,
                                                       error)))
        return NULL;
    }

  /* torchvision normalises every token, then keeps the class token. LayerNorm works token by
   * token, so normalising only the class token gives the same numbers for less work. */
  if (!mien_nn_replace (&x, mien_tensor_select (x, 1, 0, error)) ||
      !mien_nn_replace (&x, mien_layer_norm_forward (&self->ln, x, error)))
    return NULL;

  return g_steal_pointer (&x);
}

static MienTensor *
mien_vit_forward (MienBackbone  *backbone,
                  MienTensor    *images,
                  gboolean       training,
                  GError       **error)
{
  return mien_vit_forward_hooked (backbone, images, training, NULL, NULL, error);
}

typedef struct {
  const char *timm;
  const char *torchvision;
} KeyRename;

/* timm's names (vision_transformer.py) for the parts of a block, after "blocks.I.". timm's qkv
 * is laid out as in_proj: the rows of q, then k, then v. */
static const KeyRename block_renames[] = {
  { "norm1.", "ln_1." },
  { "attn.qkv.weight", "self_attention.in_proj_weight" },
  { "attn.qkv.bias", "self_attention.in_proj_bias" },
  { "attn.proj.", "self_attention.out_proj." },
  { "norm2.", "ln_2." },
  { "mlp.fc1.", "mlp.0." },
  { "mlp.fc2.", "mlp.3." },
};

/* timm's names outside the blocks. */
static const KeyRename top_renames[] = {
  { "cls_token", "class_token" },
  { "pos_embed", "encoder.pos_embedding" },
  { "patch_embed.proj.", "conv_proj." },
  { "norm.", "encoder.ln." },
  { "head.", "heads.head." },
};

/* Renames the start of `key` by the first entry it matches: entries ending in "." rename a
 * module (any key under it), the others one tensor (the whole key). NULL when none matches. */
static char *
rename_key (const char      *key,
            const KeyRename *renames,
            gsize            n_renames)
{
  for (gsize i = 0; i < n_renames; i++)
    {
      const char *from = renames[i].timm;
      gsize len = strlen (from);

      if (strncmp (key, from, len) != 0)
        continue;
      if (from[len - 1] != '.' && key[len] != '\0')
        continue;

      return g_strconcat (renames[i].torchvision, key + len, NULL);
    }

  return NULL;
}

static char *
mien_vit_map_timm_key (MienBackbone *backbone,
                       const char   *key)
{
  const char *rest;
  char *end = NULL;
  guint64 index;
  g_autofree char *mapped = NULL;

  if (!g_str_has_prefix (key, "blocks."))
    return rename_key (key, top_renames, G_N_ELEMENTS (top_renames));

  rest = key + strlen ("blocks.");
  if (!g_ascii_isdigit (rest[0]))
    return NULL;
  index = g_ascii_strtoull (rest, &end, 10);
  if (end == NULL || *end != '.')
    return NULL;

  mapped = rename_key (end + 1, block_renames, G_N_ELEMENTS (block_renames));
  if (mapped == NULL)
    return NULL;

  return g_strdup_printf ("encoder.layers.encoder_layer_%" G_GUINT64_FORMAT ".%s",
                          index, mapped);
}

/* Published ImageNet weights. ViT-B: torchvision's (torchvision.models.ViT_B_*_Weights; sizes
 * from its documentation's "file size", in MiB; the SWAG ones carry SWAG's non-commercial
 * licence). ViT-Ti and ViT-S: torchvision has none, so timm's AugReg weights (ImageNet-21k,
 * fine-tuned on ImageNet-1k) on the Hugging Face Hub, loaded through map_timm_key; the Hub
 * shows their sizes rounded to three digits and publishes no SHA-256 beside them, so these
 * downloads are unverified (Mien says so). */
static const MienWeightsInfo vit_weights[] = {
  { "b_16", "vit_b_16.imagenet1k_v1", "imagenet", "torchvision",
    "https://download.pytorch.org/models/vit_b_16-c867db91.pth",
    "vit_b_16-c867db91.pth", MIEN_MIB (330.285), FALSE,
    "c867db91", "BSD-3-Clause", TRUE, 224, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
  { "b_16", "vit_b_16.imagenet1k_swag_e2e_v1", "imagenet", "torchvision",
    "https://download.pytorch.org/models/vit_b_16_swag-9ac1b537.pth",
    "vit_b_16_swag-9ac1b537.pth", MIEN_MIB (331.398), FALSE,
    "9ac1b537", "CC-BY-NC-4.0", FALSE, 384, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
  { "b_16", "vit_b_16.imagenet1k_swag_linear_v1", "imagenet", "torchvision",
    "https://download.pytorch.org/models/vit_b_16_lc_swag-4e70ced5.pth",
    "vit_b_16_lc_swag-4e70ced5.pth", MIEN_MIB (330.285), FALSE,
    "4e70ced5", "CC-BY-NC-4.0", FALSE, 224, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
  { "ti_16", "vit_tiny_patch16_224.augreg_in21k_ft_in1k", "imagenet", "timm",
    "https://huggingface.co/timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k/"
    "resolve/main/model.safetensors",
    "vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors", 22900000, FALSE,
    NULL, "Apache-2.0", TRUE, 224, MIEN_INCEPTION_MEAN, MIEN_INCEPTION_STD },
  { "s_16", "vit_small_patch16_224.augreg_in21k_ft_in1k", "imagenet", "timm",
    "https://huggingface.co/timm/vit_small_patch16_224.augreg_in21k_ft_in1k/"
    "resolve/main/model.safetensors",
    "vit_small_patch16_224.augreg_in21k_ft_in1k.safetensors", 88200000, FALSE,
    NULL, "Apache-2.0", TRUE, 224, MIEN_INCEPTION_MEAN, MIEN_INCEPTION_STD },
  { "b_32", "vit_b_32.imagenet1k_v1", "imagenet", "torchvision",
    "https://download.pytorch.org/models/vit_b_32-d86f8d99.pth",
    "vit_b_32-d86f8d99.pth", MIEN_MIB (336.604), FALSE,
    "d86f8d99", "BSD-3-Clause", TRUE, 224, MIEN_IMAGENET_MEAN, MIEN_IMAGENET_STD },
};

static const MienWeightsInfo *
mien_vit_list_weights (MienBackbone              *backbone,
                       const MienBackboneVariant *variant,
                       guint                     *n_weights)
{
  return mien_backbone_weights_of_variant (vit_weights,
                                           G_N_ELEMENTS (vit_weights), variant,
                                           n_weights);
}

/* The side of a square grid of `n` patches, or 0. */
static gint64
grid_side (gint64 n)
{
  gint64 side = (gint64) llround (sqrt ((double) n));

  return side > 0 && side * side == n ? side : 0;
}

/* timm's resample_abs_pos_embed (): the class token is kept; the grid part is reshaped to its
 * square, resampled to the model's grid by bicubic interpolation (align_corners=False, with
 * antialias, as timm does) in float32, and put back in the checkpoint's dtype. So a checkpoint
 * for 224-px inputs (14 × 14 patches of 16) trains at 112 or 160 px. */
static MienTensor *
mien_vit_adapt_pretrained (MienBackbone  *backbone,
                           const char    *name,
                           MienTensor    *value,
                           const gint64  *shape,
                           int            ndim,
                           GError       **error)
{
  g_autoptr(MienTensor) token = NULL;
  g_autoptr(MienTensor) grid = NULL;
  gint64 old_side, new_side, d;
  gint64 square[4], flat[3], new_grid[2];
  static const gint64 to_channels[4] = { 0, 3, 1, 2 };
  static const gint64 to_tokens[4] = { 0, 2, 3, 1 };

  if (strcmp (name, "encoder.pos_embedding") != 0 || ndim != 3 ||
      mien_tensor_ndim (value) != 3 || mien_tensor_size (value, 0) != 1 || shape[0] != 1 ||
      mien_tensor_size (value, 2) != shape[2] || !mien_dtype_is_floating (mien_tensor_dtype (value)))
    return NULL;
  old_side = grid_side (mien_tensor_size (value, 1) - 1);
  new_side = grid_side (shape[1] - 1);
  if (old_side == 0 || new_side == 0)
    return NULL;
  d = shape[2];

  square[0] = 1;
  square[1] = old_side;
  square[2] = old_side;
  square[3] = d;
  flat[0] = 1;
  flat[1] = new_side * new_side;
  flat[2] = d;
  new_grid[0] = new_grid[1] = new_side;
  if (!(token = mien_tensor_narrow (value, 1, 0, 1, error)) ||
      !(grid = mien_tensor_narrow (value, 1, 1, old_side * old_side, error)) ||
      !mien_nn_replace (&grid, mien_tensor_to_dtype (grid, MIEN_DTYPE_FLOAT32, error)) ||
      !mien_nn_replace (&grid, mien_tensor_reshape (grid, square, 4, error)) ||
      !mien_nn_replace (&grid, mien_tensor_permute (grid, to_channels, 4, error)) ||
      !mien_nn_replace (&grid, mien_tensor_interpolate (grid, new_grid,
                                                        MIEN_INTERPOLATION_BICUBIC, TRUE,
                                                        error)) ||
      !mien_nn_replace (&grid, mien_tensor_permute (grid, to_tokens, 4, error)) ||
      !mien_nn_replace (&grid, mien_tensor_reshape (grid, flat, 3, error)) ||
      !mien_nn_replace (&grid, mien_tensor_to_dtype (grid, mien_tensor_dtype (value), error)))
    return NULL;

  {
    MienTensor *parts[2] = { token, grid };

    return mien_tensor_cat (parts, 2, 1, error);
  }
}

static void
mien_vit_backbone_iface_init (MienBackboneInterface *iface)
{
  iface->list_variants = mien_vit_list_variants;
  iface->build = mien_vit_build;
  iface->forward = mien_vit_forward;
  iface->forward_hooked = mien_vit_forward_hooked;
  iface->list_weights = mien_vit_list_weights;
  iface->map_timm_key = mien_vit_map_timm_key;
  iface->adapt_pretrained = mien_vit_adapt_pretrained;
}

static void
mien_vit_finalize (GObject *object)
{
  clear_parameters (MIEN_VIT (object));

  G_OBJECT_CLASS (mien_vit_parent_class)->finalize (object);
}

static void
mien_vit_get_property (GObject    *object,
                       guint       prop_id,
                       GValue     *value,
                       GParamSpec *pspec)
{
  MienVit *self = MIEN_VIT (object);

  switch (prop_id)
    {
    case PROP_DROPOUT:
      g_value_set_double (value, self->dropout);
      break;
    case PROP_ATTENTION_DROPOUT:
      g_value_set_double (value, self->attention_dropout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_vit_set_property (GObject      *object,
                       guint         prop_id,
                       const GValue *value,
                       GParamSpec   *pspec)
{
  MienVit *self = MIEN_VIT (object);
  double *field;

  switch (prop_id)
    {
    case PROP_DROPOUT:
      field = &self->dropout;
      break;
    case PROP_ATTENTION_DROPOUT:
      field = &self->attention_dropout;
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      return;
    }

  if (*field != g_value_get_double (value))
    {
      *field = g_value_get_double (value);
      g_object_notify_by_pspec (object, pspec);
    }
}

static void
mien_vit_class_init (MienVitClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mien_vit_finalize;
  object_class->get_property = mien_vit_get_property;
  object_class->set_property = mien_vit_set_property;

  /**
   * MienVit:dropout:
   *
   * torchvision's `dropout`: the probability of the dropout after the token embedding, after
   * each attention and in each MLP. Only active in training. torchvision's default and its
   * pretrained weights use 0.
   */
  properties[PROP_DROPOUT] =
    g_param_spec_double ("dropout", NULL, NULL,
                         0.0, 1.0, 0.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * MienVit:attention-dropout:
   *
   * torchvision's `attention_dropout`: the dropout on the attention weights, in training.
   */
  properties[PROP_ATTENTION_DROPOUT] =
    g_param_spec_double ("attention-dropout", NULL, NULL,
                         0.0, 1.0, 0.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
mien_vit_init (MienVit *self)
{
}

G_MODULE_EXPORT GType
mien_plugin_query_type (void)
{
  return MIEN_TYPE_VIT;
}
