/* mien-backbone.h — the interface every backbone plugin implements.
 *
 * A plugin registers one GType per family (ResNet, ViT, ...) implementing MienBackbone. An
 * instance describes one network: mien_backbone_build () creates its parameters and buffers in a
 * var store, under a prefix, with torchvision's state_dict names and shapes, and keeps handles to
 * them; mien_backbone_forward () maps a batch of images [N, 3, H, W] (float, normalised) to pooled
 * features [N, D]. The classifier head, DFT and ensembles belong to the core, not to plugins.
 *
 * Plugin ABI: every .plugin key file says X-Mien-Abi=N, and the engine refuses a plugin whose N is
 * not this build's MIEN_PLUGIN_ABI (mien_plugin_abi in the root meson.build) before it opens the
 * module. Bump it in the same commit as any change that would make an already compiled plugin
 * misbehave: a changed signature or meaning of anything a plugin calls (this file, mien-nn.h,
 * mien-torch.h, mien-var-store.h, mien-face-detector.h); a changed layout of a struct plugins
 * fill or embed (MienBackboneVariant, MienConv2d and the other layers, MienAdamConfig, the
 * interface structs), including a field added at the end of one plugins keep in arrays; enum
 * values renumbered or removed (MienDType, MienDeviceType, error codes); an exported function
 * removed. No bump for additions an old plugin cannot notice: new functions, enum values added
 * at the end, a new virtual function that takes one padding slot (padding shrinks by one, and
 * the core must keep the old behaviour when it is NULL), comments.
 */
#pragma once

#include <glib-object.h>
#include "mien-torch.h"
#include "mien-var-store.h"

G_BEGIN_DECLS

#define MIEN_BACKBONE_ERROR (mien_backbone_error_quark ())
GQuark mien_backbone_error_quark (void);

typedef enum {
  MIEN_BACKBONE_ERROR_UNKNOWN_VARIANT,
  MIEN_BACKBONE_ERROR_NOT_BUILT,     /* forward () before build () */
  MIEN_BACKBONE_ERROR_ALREADY_BUILT,
  MIEN_BACKBONE_ERROR_INPUT,         /* wrong input rank, channels or size */
  MIEN_BACKBONE_ERROR_UNSUPPORTED,   /* the plugin lacks an optional function */
} MienBackboneError;

typedef struct {
  const char *name;         /* "50", "b0", "b_16": the part after FAMILY: on command lines */
  const char *description;  /* one line, for people: "ResNet-50, 25.6 M parameters with head" */
  gint64      feature_dim;  /* D of the pooled features */
  int         input_size;   /* preferred square input size in pixels (224) */
  int         min_input_size; /* smallest size the network accepts */
  int         size_multiple;  /* input sizes must be a multiple of this (ViT: patch size), or 1 */
  /* torchvision's name of the classifier that follows the features ("fc", "classifier.1",
   * "heads.head"), so that a torchvision checkpoint's head can be recognised. */
  const char *classifier;
  gint64      n_classes_pretrained; /* torchvision's head size (1000) */
} MienBackboneVariant;

/* Pretrained weights a family publishes for one of its variants (see list_weights below and
 * mien-weights.h, which gathers them into the catalogue). Plugins keep these in static tables.
 *
 * Names follow one scheme, "MODEL.TAG", in the source's own words: MODEL is the source's model
 * name (torchvision's builder function, timm's architecture) and TAG its name for the weights
 * (torchvision's WeightsEnum member in lower case, timm's pretrained tag):
 * "resnet18.imagenet1k_v1" is torchvision's ResNet18_Weights.IMAGENET1K_V1,
 * "vit_tiny_patch16_224.augreg_in21k_ft_in1k" is timm's model of that name. */
typedef struct {
  const char *variant;       /* the MienBackboneVariant's name: "18" */
  const char *name;          /* "resnet18.imagenet1k_v1" */
  const char *dataset;       /* what they were trained on, as --pretrained names it: "imagenet" */
  const char *source;        /* "torchvision" or "timm" */
  const char *url;
  const char *file_name;     /* as the source names it (torch.hub's cache uses the same name) */
  gint64      size;          /* bytes */
  gboolean    size_is_exact; /* FALSE: published rounded (e.g. in MiB); within 1 % */
  /* Lower-case hex: the full SHA-256, or the prefix torch.hub checks (the 8 digits in
   * torchvision's file names), or NULL when none is published (the download is unverified and
   * Mien says so). */
  const char *sha256;
  const char *licence;       /* SPDX identifier where there is one */
  gboolean    is_default;    /* the one "--pretrained imagenet" takes for this variant */
  int         input_size;    /* the square size they were trained (fine-tuned) at */
  double      mean[3];       /* the normalisation they were trained with, RGB */
  double      std[3];
} MienWeightsInfo;

/* The normalisations most published weights were trained with. */
#define MIEN_IMAGENET_MEAN   { 0.485, 0.456, 0.406 }
#define MIEN_IMAGENET_STD    { 0.229, 0.224, 0.225 }
#define MIEN_INCEPTION_MEAN  { 0.5, 0.5, 0.5 }
#define MIEN_INCEPTION_STD   { 0.5, 0.5, 0.5 }
/* torchvision publishes sizes in MiB with three decimals. */
#define MIEN_MIB(m) ((gint64) ((m) * 1048576.0 + 0.5))

/* Called by forward_hooked () with the activation of the layer explanations look at (`layer`:
 * torchvision's module name, "layer4"); the network continues with the tensor it returns, which
 * must have the same shape. Grad-CAM returns a leaf that requires grad, to take the gradient of
 * a logit with respect to it. NULL with `error` set stops the forward pass.
 * @activation: (transfer none); Returns: (transfer full) (nullable). */
typedef MienTensor *(*MienBackboneHook) (const char  *layer,
                                         MienTensor  *activation,
                                         gpointer     user_data,
                                         GError     **error);

#define MIEN_TYPE_BACKBONE (mien_backbone_get_type ())
G_DECLARE_INTERFACE (MienBackbone, mien_backbone, MIEN, BACKBONE, GObject)

struct _MienBackboneInterface
{
  GTypeInterface parent_iface;

  /* Static table, first entry = the family's default variant.
   * @n_variants: (out) (optional); Returns: (transfer none) (array length=n_variants). */
  const MienBackboneVariant *(*list_variants) (MienBackbone *self,
                                               guint        *n_variants);
  /* Creates the parameters of `variant` for square inputs of `input_size` pixels in `vs`, every
   * name prefixed with `prefix` (e.g. "backbone."; may be "").
   * @variant: (not nullable); @vs: (transfer none). */
  gboolean    (*build)         (MienBackbone              *self,
                                const MienBackboneVariant *variant,
                                int                        input_size,
                                MienVarStore              *vs,
                                const char                *prefix,
                                GError                   **error);
  /* `training` selects batch-norm batch statistics, dropout and stochastic depth.
   * Returns: (transfer full) (nullable). */
  MienTensor *(*forward)       (MienBackbone *self,
                                MienTensor   *images,
                                gboolean      training,
                                GError      **error);
  /* Optional: maps a key in timm's naming to torchvision's (without prefix); NULL if the key is
   * not timm's or needs no change.
   * Returns: (transfer full) (nullable). */
  char       *(*map_timm_key)  (MienBackbone *self,
                                const char   *key);
  /* Optional (NULL: none published): the pretrained weights of `variant`, a static table.
   * @variant: (not nullable); @n_weights: (out);
   * Returns: (transfer none) (array length=n_weights) (nullable). */
  const MienWeightsInfo *(*list_weights) (MienBackbone              *self,
                                          const MienBackboneVariant *variant,
                                          guint                     *n_weights);
  /* Optional: makes a pretrained tensor fit when its shape differs from the one build () made
   * (`shape`), e.g. ViT's position embedding of a 224-px checkpoint for another input size.
   * `name` is torchvision's (without prefix), `value` the file's tensor (borrowed). Returns NULL
   * without setting `error` when it cannot (the tensor is then reported as mismatched).
   * Returns: (transfer full) (nullable). */
  MienTensor *(*adapt_pretrained) (MienBackbone  *self,
                                   const char    *name,
                                   MienTensor    *value,
                                   const gint64  *shape,
                                   int            ndim,
                                   GError       **error);

  /* Optional (NULL: the family has no layer to explain): forward () that passes the output of the
   * layer explanations look at through `hook` once per call. For convolutional networks it is
   * the last convolutional stage [N, C, h, w], pytorch-grad-cam's usual target layer (ResNet's
   * layer4, EfficientNet's features[-1], GoogLeNet's inception5b).
   * Returns: (transfer full) (nullable). */
  MienTensor *(*forward_hooked) (MienBackbone     *self,
                                 MienTensor       *images,
                                 gboolean          training,
                                 MienBackboneHook  hook,
                                 gpointer          user_data,
                                 GError          **error);

  /*< private >*/
  gpointer padding[9];
};

/* @n_variants: (out) (optional); Returns: (transfer none) (array length=n_variants). */
const MienBackboneVariant *mien_backbone_list_variants (MienBackbone *self,
                                                        guint        *n_variants);
/* NULL or "" gives the default variant; NULL when there is no such variant.
 * @name: (nullable); Returns: (transfer none) (nullable). */
const MienBackboneVariant *mien_backbone_find_variant  (MienBackbone *self,
                                                        const char   *name);
/* Checks the variant name and input size, then builds. `input_size` 0 = the variant's preferred.
 * @variant: (nullable); @vs: (transfer none). */
gboolean     mien_backbone_build          (MienBackbone  *self,
                                           const char    *variant,
                                           int            input_size,
                                           MienVarStore  *vs,
                                           const char    *prefix,
                                           GError       **error);
/* Checks the input's rank, channels and size against what was built, then runs the network.
 * Returns: (transfer full) (nullable). */
MienTensor  *mien_backbone_forward        (MienBackbone  *self,
                                           MienTensor    *images,
                                           gboolean       training,
                                           GError       **error);
/* mien_backbone_forward () with `hook` applied to the layer explanations look at (see
 * MienBackboneHook); MIEN_BACKBONE_ERROR_UNSUPPORTED when the plugin names no such layer.
 * @hook: (scope call). Returns: (transfer full) (nullable). */
MienTensor  *mien_backbone_forward_hooked (MienBackbone     *self,
                                           MienTensor       *images,
                                           gboolean          training,
                                           MienBackboneHook  hook,
                                           gpointer          user_data,
                                           GError          **error);
/* For plugins' forward_hooked (): passes `*x` (the activation of `layer`) through `hook` and
 * replaces it with the result; TRUE and nothing done when `hook` is NULL, so that forward () and
 * forward_hooked () can share one function.
 * @hook: (nullable) (scope call); @x: (inout) (transfer full). */
gboolean     mien_backbone_run_hook       (MienBackboneHook   hook,
                                           const char        *layer,
                                           MienTensor       **x,
                                           gpointer           user_data,
                                           GError           **error);
/* Returns: (transfer full) (nullable). */
char        *mien_backbone_map_timm_key   (MienBackbone  *self,
                                           const char    *key);
/* The pretrained weights the plugin declares for `variant` (NULL or "": the default variant);
 * none (NULL, 0) when it declares none or there is no such variant.
 * @n_weights: (out) (optional); Returns: (transfer none) (array length=n_weights) (nullable). */
const MienWeightsInfo *mien_backbone_list_weights (MienBackbone *self,
                                                   const char   *variant,
                                                   guint        *n_weights);
/* For plugins: the entries of `variant` in `table` (a plugin's weights of all its variants, each
 * variant's entries next to each other), as list_weights returns them.
 * Returns: (transfer none) (array length=n_weights) (nullable). */
const MienWeightsInfo *mien_backbone_weights_of_variant (const MienWeightsInfo     *table,
                                                         guint                      n_table,
                                                         const MienBackboneVariant *variant,
                                                         guint                     *n_weights);
/* The interface's adapt_pretrained (); NULL without error when the plugin has none.
 * Returns: (transfer full) (nullable). */
MienTensor  *mien_backbone_adapt_pretrained (MienBackbone  *self,
                                             const char    *name,
                                             MienTensor    *value,
                                             const gint64  *shape,
                                             int            ndim,
                                             GError       **error);
/* The variant and input size of the last successful build, or NULL / 0.
 * Returns: (transfer none) (nullable). */
const MienBackboneVariant *mien_backbone_get_variant (MienBackbone *self);
int          mien_backbone_get_input_size (MienBackbone  *self);
gint64       mien_backbone_get_feature_dim (MienBackbone *self);
/* Number of parameters of `variant` at its preferred input size, counted on the meta device
 * (nothing allocated). Builds a fresh instance of the same type; `self` is untouched. */
gint64       mien_backbone_count_parameters (MienBackbone *self,
                                             const char   *variant,
                                             GError      **error);

/* A MienKeyMapFunc for mien_var_store_load (): user_data is the backbone; timm keys become
 * torchvision's, other keys stay as they are.
 * @backbone: (type MienBackbone); Returns: (transfer full) (nullable). */
char        *mien_backbone_key_map_func   (const char *key,
                                           gpointer    backbone);

/* A MienAdaptFunc for mien_var_store_load (): user_data is the backbone
 * (mien_backbone_adapt_pretrained ()).
 * @backbone: (type MienBackbone); Returns: (transfer full) (nullable). */
MienTensor  *mien_backbone_adapt_func     (const char    *name,
                                           MienTensor    *value,
                                           const gint64  *shape,
                                           int            ndim,
                                           gpointer       backbone,
                                           GError       **error);

/* Every plugin module defines and exports this (G_MODULE_EXPORT): it registers the family's type
 * statically (the engine makes the module resident) and returns it. Declared here so plugins get
 * the prototype; libmien itself does not define it. */
GType mien_plugin_query_type (void);
typedef GType (*MienPluginQueryTypeFunc) (void);
#define MIEN_PLUGIN_QUERY_TYPE_SYMBOL "mien_plugin_query_type"

G_END_DECLS
