/* mien-explain.h — where a model looks: Grad-CAM on the layer its backbone plugin names.
 *
 * Grad-CAM (Selvaraju et al., 2017), as pytorch-grad-cam computes it: with A [N, C, h, w] the
 * activation of the plugin's layer (MienBackbone's forward_hooked: the last convolutional
 * stage) and G the gradient of one class's logit with respect to A, the map is
 * ReLU (Σ_c mean_hw (G)_c × A_c), a [N, h, w] grid. The model runs in eval mode; nothing is
 * accumulated into its parameters' gradients, so a model being trained is not disturbed.
 *
 * ViT: A is the last block's patch tokens seen as a grid [N, D, h, w] (see mien-vit.c: Grad-CAM
 * rather than attention rollout, because rollout cannot tell one class from another).
 *
 * DFT: the head reads pool (A_f) − pool (A_t) (+ ε) of the frozen copy g_f and the trained copy
 * g_t, so the layer exists twice. The map is the sum of both copies' terms before the ReLU,
 * ReLU (Σ_c mean_hw (G_f)_c × A_f,c + Σ_c mean_hw (G_t)_c × A_t,c): where only the global
 * average pool lies between the layer and the features (ResNet, EfficientNet, GoogLeNet),
 * G_t = −G_f and this is exactly Grad-CAM of the deviation A_f − A_t that the head sees. Explaining g_t alone would also mark places where
 * both copies respond alike and cancel, and g_f alone is the ImageNet network, which knows
 * nothing of expressions. It costs one forward and backward pass per copy.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>

#include "mien-ensemble.h"
#include "mien-model.h"

G_BEGIN_DECLS

#define MIEN_EXPLAIN_ERROR (mien_explain_error_quark ())
GQuark mien_explain_error_quark (void);

typedef enum {
  MIEN_EXPLAIN_ERROR_CLASS,  /* no such class index */
  MIEN_EXPLAIN_ERROR_INPUT,  /* images of the wrong shape, or members of different input sizes */
} MienExplainError;

/* The raw Grad-CAM grid float32 [N, h, w] on the CPU for `input`, float [N, 3, S, S] already
 * prepared (mien_model_prepare_input ()), and class `class_index` of the model. `layer`
 * (optional) receives the plugin's name of the explained layer ("layer4").
 * @layer: (out) (optional) (transfer full). */
MienTensor  *mien_explain_grad_cam        (MienModel    *model,
                                           MienTensor   *input,
                                           guint         class_index,
                                           char        **layer,
                                           GError      **error);
/* Each member's Grad-CAM of uint8 images [N, 3, S, S] (every member must take S × S input),
 * upsampled to S × S and normalised (mien_explain_upsample ()), so that members whose maps
 * have different grids or scales can be compared; and their average, the ensemble's map.
 * `members` receives one float32 [N, S, S] CPU tensor per member, in the ensemble's order.
 * Returns: (transfer full) (nullable): the average float32 [N, S, S] on the CPU.
 * @members: (out) (optional) (element-type MienTensor) (transfer full). */
MienTensor  *mien_explain_grad_cam_ensemble (MienEnsemble  *ensemble,
                                             MienTensor    *images,
                                             guint          class_index,
                                             GPtrArray    **members,
                                             GError       **error);
/* A map [N, h, w] resized (bilinear, as OpenCV's resize in pytorch-grad-cam, without
 * antialias) to [N, height, width] and scaled to [0, 1] per image (divided by its maximum
 * after subtracting its minimum; all zeros stay zeros), ready to draw over an image.
 * Returns: float32 on the CPU. */
MienTensor  *mien_explain_upsample        (MienTensor   *map,
                                           int           height,
                                           int           width,
                                           GError      **error);

/* The colour of map value `value` (clamped to [0, 1]) in the jet scale that Grad-CAM's papers and
 * pytorch-grad-cam draw with (OpenCV's COLORMAP_JET: dark blue 0, cyan, yellow, dark red 1), for
 * overlays and their legends.
 * @rgb: (out caller-allocates) (array fixed-size=3). */
void         mien_explain_colour          (double        value,
                                           guint8        rgb[3]);
/* `image` with `map` drawn over it: float32 [h, w] or [1, h, w] with values in [0, 1] (one
 * image of mien_explain_upsample (); any grid, stretched bilinearly over the whole image),
 * coloured by mien_explain_colour () and blended at `opacity` (0: the image alone, 1: the map
 * alone), as pytorch-grad-cam's show_cam_on_image () blends.
 * Returns: (transfer full) (nullable): a new RGB pixbuf of the image's size. */
GdkPixbuf   *mien_explain_overlay         (GdkPixbuf    *image,
                                           MienTensor   *map,
                                           double        opacity,
                                           GError      **error);

G_END_DECLS
