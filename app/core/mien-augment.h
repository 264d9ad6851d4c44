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

G_END_DECLS
