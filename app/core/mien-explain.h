/* mien-explain.h — where a model looks: Grad-CAM on the layer its backbone plugin names.
 *
 * Grad-CAM (Selvaraju et al., 2017), as pytorch-grad-cam computes it: with A [N, C, h, w] the
 * activation of the plugin's layer (MienBackbone's forward_hooked: the last convolutional
 * stage) and G the gradient of one class's logit with respect to A, the map is
 * ReLU (Σ_c mean_hw (G)_c × A_c), a [N, h, w] grid. The model runs in eval mode; nothing is
 * accumulated into its parameters' gradients, so a model being trained is not disturbed.
 */
#pragma once

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

G_END_DECLS
