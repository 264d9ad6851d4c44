/* mien-model.h — a classifier: a backbone plugin, the training mode's wiring, a linear head.
 *
 * Var store layout (these are the names in model files):
 *   "backbone.*"  the backbone (the trained copy g_t in DFT; frozen in a linear probe)
 *   "frozen.*"    DFT only: the frozen copy g_f, same weights at the start, never trained
 *   "head.weight" [K, D], "head.bias" [K]: the linear head (PyTorch's nn.Linear init)
 *
 * Modes (DESIGN.md, the method):
 *   probe     features = g (x) with g frozen; only the head trains
 *   finetune  features = g (x); backbone and head train
 *   dft       features = g_f (x) - g_t (x) + 1e-6 (eq. 2); g_f runs without autograd (no graph,
 *             no gradients, no optimiser state) and in eval mode; g_t and the head train
 *
 * Batch norm: MIEN_BATCH_NORM_DEFAULT means eval for probe and DFT (as the authors' script),
 * train for finetune. The frozen DFT copy is always in eval mode.
 *
 * Model file: one .safetensors holding every var store entry (plus extra tensors a trainer adds,
 * all under "optimizer." or "trainer.") and __metadata__ {"mien": JSON}:
 *   {"format": "mien-model", "format_version": 1, "backbone": "resnet", "variant": "18",
 *    "input_size": 64, "mode": "dft", "batch_norm": "eval", "classes": [...],
 *    "colour_mode": "rgb" | "grey", "mean": [r, g, b], "std": [r, g, b], "dft_epsilon": 1e-6,
 *    "mien_version": "0.1.0", "created": "ISO 8601", + any members a caller adds
 *    ("face_margin": how the training images framed faces, mien_model_get_face_margin ();
 *    "training": the run's configuration, "metrics": validation metrics, "epoch": n, ...)}
 * so that the file alone is enough to predict.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "mien-core.h"

G_BEGIN_DECLS

#define MIEN_MODEL_ERROR (mien_model_error_quark ())
GQuark mien_model_error_quark (void);

/* ImageNet's per-channel mean and std (RGB, of images in [0, 1]): what torchvision's and timm's
 * ImageNet weights were trained with, and the default normalisation of a model trained from
 * them (MienTrainConfig.normalisation). */
extern const double mien_imagenet_mean[3];
extern const double mien_imagenet_std[3];

typedef enum {
  MIEN_MODEL_ERROR_INVALID,     /* a bad spec: classes, sizes, mean/std */
  MIEN_MODEL_ERROR_FILE,        /* not a Mien model file, or inconsistent metadata/tensors */
  MIEN_MODEL_ERROR_PRETRAINED,  /* pretrained weights that do not fit the backbone */
  MIEN_MODEL_ERROR_UNSUPPORTED, /* something this kind of model cannot do (yet) */
} MienModelError;

typedef enum {
  MIEN_MODE_PROBE,
  MIEN_MODE_FINETUNE,
  MIEN_MODE_DFT,
} MienMode;

typedef enum {
  MIEN_BATCH_NORM_DEFAULT,
  MIEN_BATCH_NORM_TRAIN,
  MIEN_BATCH_NORM_EVAL,
} MienBatchNorm;

#define MIEN_DFT_EPSILON 1e-6

/* "probe", "finetune", "dft" */
const char  *mien_mode_to_string        (MienMode       mode);
gboolean     mien_mode_from_string      (const char    *str,
                                         MienMode      *out,
                                         GError       **error);
/* "default", "train", "eval" */
const char  *mien_batch_norm_to_string  (MienBatchNorm  bn);
gboolean     mien_batch_norm_from_string (const char   *str,
                                          MienBatchNorm *out,
                                          GError      **error);

typedef struct {
  const char         *backbone;    /* "family" or "family:variant" */
  int                 input_size;  /* 0 = the variant's preferred size */
  MienMode            mode;
  MienBatchNorm       batch_norm;
  const char * const *classes;     /* NULL-terminated, at least 2, no duplicates */
  gboolean            grey;        /* colour mode: inputs are turned into luminance */
  double              mean[3];     /* of the training images in [0, 1] */
  double              std[3];      /* > 0 */
  MienDevice          device;
} MienModelSpec;

#define MIEN_TYPE_MODEL (mien_model_get_type ())
G_DECLARE_FINAL_TYPE (MienModel, mien_model, MIEN, MODEL, GObject)

/* Builds the backbone(s) from the plugin and a fresh head on spec->device; parameters are drawn
 * from libtorch's global generator (seed it first for reproducible runs). */
MienModel   *mien_model_new             (MienPluginEngine     *engine,
                                         const MienModelSpec  *spec,
                                         GError              **error);

/* Fills the backbone (both copies in DFT) from `path`: a torchvision- or timm-layout state dict
 * of the backbone, as safetensors or a PyTorch checkpoint (.pth, see mien-pth.h) (timm names are mapped by the plugin; the pretrained classifier and other
 * extra keys are ignored), or a Mien model file (its "backbone." entries; its classes may
 * differ, the head stays as it is). Every backbone entry must be found with the right shape,
 * else MIEN_MODEL_ERROR_PRETRAINED names what is missing and nothing changes. `summary` (may be
 * NULL) receives one line: what was loaded and what was ignored. */
gboolean     mien_model_load_pretrained (MienModel     *self,
                                         const char    *path,
                                         char         **summary,
                                         GError       **error);

/* uint8 [N, 3, S, S] images (any device) → float32 on the model's device: /255, luminance in
 * the three channels when the model is grey, minus mean, divided by std. */
MienTensor  *mien_model_prepare_input   (MienModel     *self,
                                         MienTensor    *images,
                                         GError       **error);
/* The head's input [N, D] for prepared input; `training` selects dropout and (per the batch
 * norm setting) batch statistics in the trained backbone. Plugins take one flag for both, so
 * with batch norm in eval mode the backbone runs without dropout and stochastic depth too (as
 * the authors' script, which trained under model.eval ()). */
MienTensor  *mien_model_features        (MienModel     *self,
                                         MienTensor    *input,
                                         gboolean       training,
                                         GError       **error);
/* Logits [N, K] for prepared input. */
MienTensor  *mien_model_forward         (MienModel     *self,
                                         MienTensor    *input,
                                         gboolean       training,
                                         GError       **error);
/* Eval-mode logits [N, K] for prepared input, with `hook` applied to the layer the backbone
 * plugin names for explanations (MienBackboneHook), and without a no-grad guard so that a hook
 * can take gradients downstream of it. A DFT model has the layer twice: the hook is called on
 * the frozen copy g_f's, then on the trained copy g_t's. The backbone's
 * MIEN_BACKBONE_ERROR_UNSUPPORTED when its plugin names no layer.
 * @hook: (scope call). */
MienTensor  *mien_model_forward_hooked  (MienModel         *self,
                                         MienTensor        *input,
                                         MienBackboneHook   hook,
                                         gpointer           user_data,
                                         GError           **error);
/* Class probabilities (softmax) for uint8 images, without autograd, in eval mode: float32 [N, K]
 * on the CPU. */
MienTensor  *mien_model_predict         (MienModel     *self,
                                         MienTensor    *images,
                                         GError       **error);

/* Registers the parameters the mode trains with `optimizer` (named as in the var store). */
gboolean     mien_model_add_to_optimizer (MienModel     *self,
                                          MienOptimizer *optimizer,
                                          GError       **error);

MienVarStore       *mien_model_get_var_store  (MienModel *self);
MienBackbone       *mien_model_get_backbone   (MienModel *self);   /* the trained copy */
MienBackbone       *mien_model_get_frozen_backbone (MienModel *self); /* DFT only, else NULL */
const char * const *mien_model_get_classes    (MienModel *self);
guint               mien_model_get_n_classes  (MienModel *self);
int                 mien_model_get_input_size (MienModel *self);
MienMode            mien_model_get_mode       (MienModel *self);
/* The setting in effect (never DEFAULT). */
MienBatchNorm       mien_model_get_batch_norm (MienModel *self);
gboolean            mien_model_get_grey       (MienModel *self);
void                mien_model_get_mean_std   (MienModel *self,
                                               double    *mean,
                                               double    *std);
MienDevice          mien_model_get_device     (MienModel *self);
/* "resnet:18" */
const char         *mien_model_get_backbone_spec (MienModel *self);
/* The "mien" metadata: built from the spec, or as read from a file (with the members a
 * trainer added). Borrowed. */
JsonObject         *mien_model_get_metadata   (MienModel *self);

/* The "face_margin" metadata member: the margin around a detected face (as a fraction of its
 * box, MienFaceAlignOptions' margin, 0 to MIEN_FACE_MARGIN_MAX) that frames a face as the
 * model's training images did, for front ends that crop faces before classifying. A trainer
 * records it when its images were face crops; absent or null (FALSE here) when they were
 * whole images as the user gave them, and in files written before Mien recorded it: callers
 * keep their own default then. parse checks it when a file is read. */
#define MIEN_FACE_MARGIN_MAX 2.0
/* The margin of tight face crops such as FER2013's 48-px faces (and FER+, which reuses them):
 * YuNet's box on 280 FER2013 validation faces (upscaled 4×, on a grey canvas) has a median
 * margin of -0.02 to the image's edges (deciles -0.11 to 0.08), its centre within 2% of the
 * image's; aligned crops of ../shared/photos with margin 0 frame faces as FER2013 does, 0.2
 * shows hair and shoulders FER2013 never shows. Readers of such datasets record it. */
#define MIEN_FACE_MARGIN_TIGHT 0.0
gboolean            mien_model_get_face_margin (MienModel *self,
                                                double    *margin);

/* Moves every entry to `device` (all-or-nothing). */
gboolean     mien_model_to_device       (MienModel     *self,
                                         MienDevice     device,
                                         GError       **error);

/* Writes the model file (atomic): every var store entry, then the entries of `extra_tensors`
 * (may be NULL; its names must start with "optimizer." or "trainer."), and the metadata with
 * the members of `extra_metadata` (may be NULL) added or replaced. */
gboolean     mien_model_save            (MienModel     *self,
                                         const char    *path,
                                         JsonObject    *extra_metadata,
                                         MienVarStore  *extra_tensors,
                                         GError       **error);
/* Builds the model a file describes on `device` and loads every entry strictly (entries under
 * "optimizer." and "trainer." are left for the caller). Anything inconsistent — not
 * safetensors, no "mien" metadata, unknown backbone or variant, wrong shapes, missing or
 * unexpected tensors — is MIEN_MODEL_ERROR_FILE (or the plugin/safetensors error) with a
 * message naming the file. */
MienModel   *mien_model_load            (MienPluginEngine  *engine,
                                         const char        *path,
                                         MienDevice         device,
                                         GError           **error);
/* The "mien" metadata of a model file, checked for the members above, without building
 * anything. */
JsonObject  *mien_model_read_metadata   (const char        *path,
                                         GError           **error);

G_END_DECLS
