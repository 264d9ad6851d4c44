/* mien-augment.h — RandAugment as batched tensor ops (so it runs where the batch is: CPU or GPU).
 *
 * The op list is torchvision's RandAugment without Solarize and Equalize (the paper drops them
 * as unsuited to faces), and every op behaves as torchvision.transforms.functional does on uint8
 * tensors: geometric ops use nearest interpolation with fill 0 about the image centre; blends
 * (brightness, color, contrast, sharpness) clamp to [0, 255] and truncate to uint8; posterize
 * keeps the top `bits` bits; autocontrast stretches every channel to [0, 255].
 *
 * Magnitudes follow torchvision's table for `num_bins` bins (default 31) at bin `magnitude`
 * (default 9): shear 0.3 · m/(bins−1) (a shear factor, applied as atan in degrees as torchvision
 * does), translate 150/331 · size · m/(bins−1) pixels, rotate 30° · m/(bins−1), the four blends
 * 1 + 0.9 · m/(bins−1) (sign flipped → 1 − …), posterize 8 − round (m / ((bins−1)/4)) bits.
 * Signed ops get a random sign. All randomness comes from a 64-bit key per image, so the same
 * key always gives the same ops and magnitudes.
 */
#pragma once

#include "mien-core.h"

G_BEGIN_DECLS

typedef enum {
  MIEN_AUGMENT_IDENTITY,
  MIEN_AUGMENT_SHEAR_X,
  MIEN_AUGMENT_SHEAR_Y,
  MIEN_AUGMENT_TRANSLATE_X,
  MIEN_AUGMENT_TRANSLATE_Y,
  MIEN_AUGMENT_ROTATE,
  MIEN_AUGMENT_BRIGHTNESS,
  MIEN_AUGMENT_COLOR,
  MIEN_AUGMENT_CONTRAST,
  MIEN_AUGMENT_SHARPNESS,
  MIEN_AUGMENT_POSTERIZE,
  MIEN_AUGMENT_AUTOCONTRAST,
} MienAugmentOp;

#define MIEN_AUGMENT_N_OPS (MIEN_AUGMENT_AUTOCONTRAST + 1)

/* "Identity", "ShearX", ... (torchvision's names). */
const char  *mien_augment_op_name        (MienAugmentOp op);

typedef struct {
  guint num_ops;    /* ops per image (2) */
  guint magnitude;  /* bin, 0 .. num_bins - 1 (9) */
  guint num_bins;   /* (31) */
} MienRandAugment;

#define MIEN_RAND_AUGMENT_INIT { 2, 9, 31 }

/* The unsigned magnitude of `op` for images of height × width (see above): shear factor,
 * pixels, degrees, blend factor − 1, or posterize bits; 0 for Identity and AutoContrast. */
double       mien_augment_op_magnitude   (const MienRandAugment *config,
                                          MienAugmentOp          op,
                                          int                    height,
                                          int                    width);

/* Applies `op` to every image of `images` (uint8 [N, 3, H, W], any device) with per-image
 * signed magnitudes `magnitudes[N]` (shear factor, pixels, degrees, blend factor (1 = no
 * change), posterize bits; ignored for Identity and AutoContrast). Returns uint8 of the same
 * shape on the same device. */
MienTensor  *mien_augment_apply          (MienTensor     *images,
                                          MienAugmentOp   op,
                                          const double   *magnitudes,
                                          GError        **error);

/* Draws the config->num_ops ops of one image, and their signed magnitudes in the units of
 * mien_augment_apply (), from `key`. */
void         mien_rand_augment_draw      (const MienRandAugment *config,
                                          guint64                key,
                                          int                    height,
                                          int                    width,
                                          MienAugmentOp         *ops,
                                          double                *magnitudes);

/* RandAugment on a batch (uint8 [N, 3, H, W], any device): image i gets the ops drawn from
 * keys[i] when apply[i] (apply may be NULL = all), and is left exactly as it is otherwise. Each op
 * runs once per round, on the images that drew it. */
MienTensor  *mien_rand_augment_batch     (const MienRandAugment *config,
                                          MienTensor            *images,
                                          const guint64         *keys,
                                          const gboolean        *apply,
                                          GError               **error);

/* The key of one image: a 64-bit mix (splitmix64) of the run's seed, the sample index, the copy
 * number and the epoch (0 for upsampling copies, which stay the same every epoch, as copies
 * made once offline would; the epoch for on-the-fly augmentation). */
guint64      mien_augment_key            (guint64 seed,
                                          guint   index,
                                          guint   copy,
                                          guint   epoch);

/* ---- Geometry: flip and crop -------------------------------------------------------------
 *
 * The augmentations FER models are usually trained with, drawn per image from the same 64-bit
 * key as RandAugment (from a separate stream of it, so that adding them changes no RandAugment
 * draw) and applied to a whole batch at once, on its device: along the width, then the height,
 * every output pixel is w0 · p0 + w1 · p1 of two source pixels picked by 0/1 matrix products
 * (exact). Crop and flip pick one pixel (or none: the padding); a resized crop carries the
 * bilinear weights, with libtorch's own arithmetic, so the bytes equal torchvision 0.14's
 * for the same parameters (on the CPU; on a GPU within a rounding of .5):
 *
 *  - crop "pad:P": F.crop (F.pad (img, P), top, left, H, W), constant padding with 0 (black
 *    borders, as torchvision's RandomCrop (size, padding=P) default; reflection would mirror
 *    half a face into the border, making eyes and mouths where none are), top and left uniform
 *    in 0 … 2P. P 0 ("pad") means an eighth of the image side, rounded (6 px at 48 px), the
 *    CIFAR/FER2013 recipe's proportion (4 px of 32).
 *  - crop "resized:SMIN": F.resized_crop (img, top, left, h, w, [H, W], bilinear) with
 *    torchvision 0.14's default for tensors, antialias off, the box drawn as RandomResizedCrop's
 *    get_params does with scale (SMIN, 1) and ratio (3/4, 4/3) — ten tries, then the centre
 *    crop. Face crops are already tight, so 0.08 (ImageNet's default) would often keep just an
 *    eye; the default SMIN here is 0.8.
 *  - flip: F.hflip with probability ½, after the crop (RandomCrop then RandomHorizontalFlip).
 */

typedef enum {
  MIEN_CROP_NONE,
  MIEN_CROP_PAD,
  MIEN_CROP_RESIZED,
} MienCropKind;

typedef struct {
  gboolean      flip;
  MienCropKind  crop;
  guint         padding;     /* MIEN_CROP_PAD: pixels on each side, 0 = an eighth of the side */
  double        scale_min;   /* MIEN_CROP_RESIZED: the smallest area fraction, (0, 1] */
} MienGeometryAugment;

/* "resized" without a number */
#define MIEN_CROP_SCALE_MIN_DEFAULT 0.8
#define MIEN_GEOMETRY_AUGMENT_NONE { FALSE, MIEN_CROP_NONE, 0, MIEN_CROP_SCALE_MIN_DEFAULT }

/* The crop as "none", "pad", "pad:P" or "resized:SMIN" (newly allocated), and back: a
 * clear error (MIEN_TORCH_ERROR_INVALID_ARGUMENT) naming what was expected for anything else
 * (P 1 … 1024, SMIN in (0, 1]). Only the crop members of `out` are set. */
char        *mien_crop_to_string         (const MienGeometryAugment *config);
gboolean     mien_crop_from_string       (const char                *str,
                                          MienGeometryAugment       *out,
                                          GError                   **error);

/* One image's draw: flip, and the crop box (top, left, height, width) in the padded image for
 * "pad" (height × width is the image's), in the image for "resized"; the whole image for
 * "none". */
typedef struct {
  gboolean flip;
  int      top;
  int      left;
  int      height;
  int      width;
} MienGeometryDraw;

/* The padding "pad" uses on an image of height × width. */
guint        mien_geometry_padding       (const MienGeometryAugment *config,
                                          int                        height,
                                          int                        width);
void         mien_geometry_draw          (const MienGeometryAugment *config,
                                          guint64                    key,
                                          int                        height,
                                          int                        width,
                                          MienGeometryDraw          *draw);
/* Applies draws[i] to image i of `images` (uint8 [N, 3, H, W], any device), for `config`'s
 * crop kind; same shape, dtype and device. */
MienTensor  *mien_geometry_apply         (const MienGeometryAugment *config,
                                          MienTensor                *images,
                                          const MienGeometryDraw    *draws,
                                          GError                   **error);
/* Draws from keys[i] and applies, image by image; a clone when config does nothing. */
MienTensor  *mien_geometry_augment_batch (const MienGeometryAugment *config,
                                          MienTensor                *images,
                                          const guint64             *keys,
                                          GError                   **error);

G_END_DECLS
