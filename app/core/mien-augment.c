/* mien-augment.c — RandAugment as batched tensor ops.
 *
 * Every op mirrors torchvision 0.14's functional_tensor code step by step, including where it
 * rounds to float32 and where it truncates to uint8, so that a batch gives the same bytes as
 * torchvision applied image by image. Per-image parameters become [N, 1, 1, 1] (or [N, 3, 2])
 * tensors made on the host and moved to the images' device; the pixels never leave it.
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "mien-augment.h"

static const char * const op_names[MIEN_AUGMENT_N_OPS] = {
  "Identity",
  "ShearX",
  "ShearY",
  "TranslateX",
  "TranslateY",
  "Rotate",
  "Brightness",
  "Color",
  "Contrast",
  "Sharpness",
  "Posterize",
  "AutoContrast",
};

const char *
mien_augment_op_name (MienAugmentOp op)
{
  g_return_val_if_fail ((guint) op < MIEN_AUGMENT_N_OPS, NULL);

  return op_names[op];
}

static gboolean
op_is_signed (MienAugmentOp op)
{
  return op != MIEN_AUGMENT_IDENTITY &&
         op != MIEN_AUGMENT_POSTERIZE &&
         op != MIEN_AUGMENT_AUTOCONTRAST;
}

static gboolean
op_is_blend (MienAugmentOp op)
{
  return op == MIEN_AUGMENT_BRIGHTNESS ||
         op == MIEN_AUGMENT_COLOR ||
         op == MIEN_AUGMENT_CONTRAST ||
         op == MIEN_AUGMENT_SHARPNESS;
}

/* torch.linspace (start, end, steps)[index] in float32, as libtorch's CPU kernel computes it:
 * from both ends towards the middle, and (in its AVX2 build, which contracts to FMA) the upper
 * half with a single rounding. So magnitudes are the very floats torchvision uses. */
static double
linspace_f32 (float start,
              float end,
              guint steps,
              guint index)
{
  float step;

  if (steps <= 1)
    return start;
  step = (end - start) / (float) (steps - 1);
  if (index < steps / 2)
    return start + step * (float) index;
  return fmaf (-step, (float) (steps - index - 1), end);
}

double
mien_augment_op_magnitude (const MienRandAugment *config,
                           MienAugmentOp          op,
                           int                    height,
                           int                    width)
{
  guint bins, m;

  g_return_val_if_fail (config != NULL, 0.0);
  g_return_val_if_fail ((guint) op < MIEN_AUGMENT_N_OPS, 0.0);
  g_return_val_if_fail (config->num_bins > 0 && config->magnitude < config->num_bins, 0.0);

  bins = config->num_bins;
  m = config->magnitude;

  switch (op)
    {
    case MIEN_AUGMENT_SHEAR_X:
    case MIEN_AUGMENT_SHEAR_Y:
      return linspace_f32 (0.0f, 0.3f, bins, m);
    case MIEN_AUGMENT_TRANSLATE_X:
      return linspace_f32 (0.0f, (float) (150.0 / 331.0 * width), bins, m);
    case MIEN_AUGMENT_TRANSLATE_Y:
      return linspace_f32 (0.0f, (float) (150.0 / 331.0 * height), bins, m);
    case MIEN_AUGMENT_ROTATE:
      return linspace_f32 (0.0f, 30.0f, bins, m);
    case MIEN_AUGMENT_BRIGHTNESS:
    case MIEN_AUGMENT_COLOR:
    case MIEN_AUGMENT_CONTRAST:
    case MIEN_AUGMENT_SHARPNESS:
      return linspace_f32 (0.0f, 0.9f, bins, m);
    case MIEN_AUGMENT_POSTERIZE:
      /* 8 - round (arange / ((bins - 1) / 4)) with a float32 quotient rounded half to even;
       * one bin would divide 0 by 0 in torchvision, and means "no change" here. */
      if (bins <= 1)
        return 8.0;
      return 8.0 - rintf ((float) m / (float) ((bins - 1) / 4.0));
    case MIEN_AUGMENT_IDENTITY:
    case MIEN_AUGMENT_AUTOCONTRAST:
    default:
      return 0.0;
    }
}

/* ---- Randomness ------------------------------------------------------------------------- */

#define SPLITMIX64_GAMMA G_GUINT64_CONSTANT (0x9e3779b97f4a7c15)

static guint64
splitmix64_mix (guint64 z)
{
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static guint64
splitmix64_next (guint64 *state)
{
  *state += SPLITMIX64_GAMMA;
  return splitmix64_mix (*state);
}

guint64
mien_augment_key (guint64 seed,
                  guint   index,
                  guint   copy,
                  guint   epoch)
{
  /* Absorbing one field at a time through a bijection keeps (index, copy) and (copy, index)
   * apart, which a plain xor of the fields would not. */
  guint64 h = splitmix64_mix (seed + SPLITMIX64_GAMMA);

  h = splitmix64_mix ((h ^ index) + SPLITMIX64_GAMMA);
  h = splitmix64_mix ((h ^ copy) + SPLITMIX64_GAMMA);
  h = splitmix64_mix ((h ^ epoch) + SPLITMIX64_GAMMA);
  return h;
}

void
mien_rand_augment_draw (const MienRandAugment *config,
                        guint64                key,
                        int                    height,
                        int                    width,
                        MienAugmentOp         *ops,
                        double                *magnitudes)
{
  guint64 state = key;

  g_return_if_fail (config != NULL);
  g_return_if_fail (config->num_bins > 0 && config->magnitude < config->num_bins);
  g_return_if_fail (config->num_ops == 0 || (ops != NULL && magnitudes != NULL));

  for (guint i = 0; i < config->num_ops; i++)
    {
      /* The modulo bias is 2^64 mod 12 in 2^64: far below anything observable. */
      MienAugmentOp op = (MienAugmentOp) (splitmix64_next (&state) % MIEN_AUGMENT_N_OPS);
      double magnitude = mien_augment_op_magnitude (config, op, height, width);

      if (op_is_signed (op) && (splitmix64_next (&state) >> 63) != 0)
        magnitude = -magnitude;
      if (op_is_blend (op))
        magnitude += 1.0;
      ops[i] = op;
      magnitudes[i] = magnitude;
    }
}

/* ---- Helpers ---------------------------------------------------------------------------- */

/* Host floats shaped `shape`, on `device`. */
static MienTensor *
host_floats_on (const float  *values,
                const gint64 *shape,
                int           ndim,
                MienDevice    device,
                GError      **error)
{
  g_autoptr(MienTensor) host = mien_tensor_new_from_data (values, MIEN_DTYPE_FLOAT32, shape,
                                                          ndim, error);

  if (host == NULL)
    return NULL;
  return mien_tensor_to_device (host, device, error);
}

/* One float32 per image, shaped [N, 1, 1, 1] so that it broadcasts over an image batch. The
 * cast to float32 is where torchvision's python scalars meet a float32 tensor too. */
static MienTensor *
per_image (const double *values,
           gint64        n,
           MienDevice    device,
           GError      **error)
{
  g_autofree float *f = g_new (float, n);
  const gint64 shape[4] = { n, 1, 1, 1 };

  for (gint64 i = 0; i < n; i++)
    f[i] = (float) values[i];
  return host_floats_on (f, shape, 4, device, error);
}

/* torchvision's _blend: (ratio * img1 + (1 - ratio) * img2).clamp (0, 255), truncated to uint8.
 * `img2` NULL is an image of zeros (brightness). `one_minus` is 1 - ratio worked out in double,
 * as python does, before the cast to float32. */
static MienTensor *
blend (MienTensor   *img1,
       MienTensor   *img2,
       const double *ratios,
       gint64        n,
       MienDevice    device,
       GError      **error)
{
  g_autofree double *one_minus = g_new (double, n);
  g_autoptr(MienTensor) ratio = NULL;
  g_autoptr(MienTensor) sum = NULL;
  g_autoptr(MienTensor) clamped = NULL;

  ratio = per_image (ratios, n, device, error);
  if (ratio == NULL)
    return NULL;
  sum = mien_tensor_mul (img1, ratio, error);
  if (sum == NULL)
    return NULL;

  /* (1 - ratio) * 0 adds ±0, which changes no pixel: brightness needs no second term. */
  if (img2 != NULL)
    {
      g_autoptr(MienTensor) rest = NULL;
      g_autoptr(MienTensor) weighted = NULL;
      g_autoptr(MienTensor) total = NULL;

      for (gint64 i = 0; i < n; i++)
        one_minus[i] = 1.0 - ratios[i];
      rest = per_image (one_minus, n, device, error);
      if (rest == NULL)
        return NULL;
      weighted = mien_tensor_mul (img2, rest, error);
      if (weighted == NULL)
        return NULL;
      total = mien_tensor_add (sum, weighted, error);
      if (total == NULL)
        return NULL;
      g_clear_pointer (&sum, mien_tensor_free);
      sum = g_steal_pointer (&total);
    }

  clamped = mien_tensor_clamp (sum, 0.0, 255.0, error);
  if (clamped == NULL)
    return NULL;
  return mien_tensor_to_dtype (clamped, MIEN_DTYPE_UINT8, error);
}

/* torchvision's rgb_to_grayscale on uint8: the float32 weighted sum truncated to uint8, here
 * handed back as float32 [N, 1, H, W] holding those integers. */
static MienTensor *
grayscale (MienTensor  *img,
           GError     **error)
{
  static const double weights[3] = { 0.2989, 0.587, 0.114 };
  g_autoptr(MienTensor) sum = NULL;
  g_autoptr(MienTensor) truncated = NULL;
  g_autoptr(MienTensor) gray = NULL;

  for (int c = 0; c < 3; c++)
    {
      g_autoptr(MienTensor) channel = mien_tensor_select (img, 1, c, error);
      g_autoptr(MienTensor) weighted = NULL;

      if (channel == NULL)
        return NULL;
      weighted = mien_tensor_mul_scalar (channel, weights[c], error);
      if (weighted == NULL)
        return NULL;
      if (sum == NULL)
        {
          sum = g_steal_pointer (&weighted);
        }
      else
        {
          g_autoptr(MienTensor) total = mien_tensor_add (sum, weighted, error);

          if (total == NULL)
            return NULL;
          g_clear_pointer (&sum, mien_tensor_free);
          sum = g_steal_pointer (&total);
        }
    }

  truncated = mien_tensor_to_dtype (sum, MIEN_DTYPE_UINT8, error);
  if (truncated == NULL)
    return NULL;
  gray = mien_tensor_to_dtype (truncated, MIEN_DTYPE_FLOAT32, error);
  if (gray == NULL)
    return NULL;
  return mien_tensor_unsqueeze (gray, 1, error);
}

/* ---- Geometric ops ---------------------------------------------------------------------- */

/* torchvision's _get_inverse_affine_matrix with scale 1, angle and shear in degrees, operation
 * for operation (including the degrees round trip of the shear) so the doubles agree. */
static void
inverse_affine_matrix (double  cx,
                       double  cy,
                       double  angle,
                       double  tx,
                       double  ty,
                       double  shear_x,
                       double  shear_y,
                       double  matrix[6])
{
  const double deg_to_rad = G_PI / 180.0;
  double rot = angle * deg_to_rad;
  double sx = shear_x * deg_to_rad;
  double sy = shear_y * deg_to_rad;
  double a = cos (rot - sy) / cos (sy);
  double b = -cos (rot - sy) * tan (sx) / cos (sy) - sin (rot);
  double c = sin (rot - sy) / cos (sy);
  double d = -sin (rot - sy) * tan (sx) / cos (sy) + cos (rot);

  matrix[0] = d;
  matrix[1] = -b;
  matrix[2] = 0.0;
  matrix[3] = -c;
  matrix[4] = a;
  matrix[5] = 0.0;
  matrix[2] += matrix[0] * (-cx - tx) + matrix[1] * (-cy - ty);
  matrix[5] += matrix[3] * (-cx - tx) + matrix[4] * (-cy - ty);
  matrix[2] += cx;
  matrix[5] += cy;
}

static void
op_matrix (MienAugmentOp op,
           double        magnitude,
           gint64        height,
           gint64        width,
           double        matrix[6])
{
  const double rad_to_deg = 180.0 / G_PI;
  /* ShearX/ShearY pass center [0, 0] (the top-left corner) to F.affine, which moves it to
   * coordinates about the image centre. */
  double corner_x = 0.0 - width * 0.5;
  double corner_y = 0.0 - height * 0.5;

  switch (op)
    {
    case MIEN_AUGMENT_SHEAR_X:
      inverse_affine_matrix (corner_x, corner_y, 0.0, 0.0, 0.0,
                             atan (magnitude) * rad_to_deg, 0.0, matrix);
      break;
    case MIEN_AUGMENT_SHEAR_Y:
      inverse_affine_matrix (corner_x, corner_y, 0.0, 0.0, 0.0,
                             0.0, atan (magnitude) * rad_to_deg, matrix);
      break;
    case MIEN_AUGMENT_TRANSLATE_X:
      /* python's int (): towards zero */
      inverse_affine_matrix (0.0, 0.0, 0.0, (double) (gint64) magnitude, 0.0, 0.0, 0.0, matrix);
      break;
    case MIEN_AUGMENT_TRANSLATE_Y:
      inverse_affine_matrix (0.0, 0.0, 0.0, 0.0, (double) (gint64) magnitude, 0.0, 0.0, matrix);
      break;
    case MIEN_AUGMENT_ROTATE:
      /* F.rotate negates the angle to agree with F.affine's direction */
      inverse_affine_matrix (0.0, 0.0, -magnitude, 0.0, 0.0, 0.0, 0.0, matrix);
      break;
    case MIEN_AUGMENT_IDENTITY:
    case MIEN_AUGMENT_BRIGHTNESS:
    case MIEN_AUGMENT_COLOR:
    case MIEN_AUGMENT_CONTRAST:
    case MIEN_AUGMENT_SHARPNESS:
    case MIEN_AUGMENT_POSTERIZE:
    case MIEN_AUGMENT_AUTOCONTRAST:
    default:
      g_assert_not_reached ();
    }
}

/* functional_tensor.affine: torchvision builds its own grid (not F.affine_grid): pixel centres
 * about the image centre, times theta^T / [w/2, h/2] through bmm, then grid_sample nearest with
 * zeros padding and align_corners=False. The same float32 steps give the same sample points. */
static MienTensor *
apply_geometric (MienTensor    *img,
                 MienAugmentOp  op,
                 const double  *magnitudes,
                 gint64         n,
                 gint64         height,
                 gint64         width,
                 MienDevice     device,
                 GError       **error)
{
  g_autofree float *base = g_new (float, height * width * 3);
  g_autofree float *theta = g_new (float, n * 6);
  const gint64 base_shape[3] = { 1, height * width, 3 };
  const gint64 theta_shape[3] = { n, 3, 2 };
  const gint64 grid_shape[4] = { n, height, width, 2 };
  const float half_w = (float) (0.5 * width);
  const float half_h = (float) (0.5 * height);
  g_autoptr(MienTensor) base_t = NULL;
  g_autoptr(MienTensor) theta_t = NULL;
  g_autoptr(MienTensor) points = NULL;
  g_autoptr(MienTensor) grid = NULL;
  g_autoptr(MienTensor) sampled = NULL;

  for (gint64 y = 0; y < height; y++)
    for (gint64 x = 0; x < width; x++)
      {
        float *p = base + (y * width + x) * 3;

        p[0] = (float) (-width * 0.5 + 0.5) + (float) x;
        p[1] = (float) (-height * 0.5 + 0.5) + (float) y;
        p[2] = 1.0f;
      }

  for (gint64 i = 0; i < n; i++)
    {
      double matrix[6];
      float *t = theta + i * 6;

      op_matrix (op, magnitudes[i], height, width, matrix);
      /* theta is float32; its transpose is divided by the float32 [w/2, h/2] */
      for (int k = 0; k < 3; k++)
        {
          t[k * 2 + 0] = (float) matrix[k] / half_w;
          t[k * 2 + 1] = (float) matrix[3 + k] / half_h;
        }
    }

  base_t = host_floats_on (base, base_shape, 3, device, error);
  if (base_t == NULL)
    return NULL;
  theta_t = host_floats_on (theta, theta_shape, 3, device, error);
  if (theta_t == NULL)
    return NULL;
  points = mien_tensor_matmul (base_t, theta_t, error);
  if (points == NULL)
    return NULL;
  grid = mien_tensor_reshape (points, grid_shape, 4, error);
  if (grid == NULL)
    return NULL;
  sampled = mien_tensor_grid_sample (img, grid, MIEN_INTERPOLATION_NEAREST, FALSE, error);
  if (sampled == NULL)
    return NULL;
  /* Nearest sampling of integers gives integers (or the zero fill): nothing to round. */
  return mien_tensor_to_dtype (sampled, MIEN_DTYPE_UINT8, error);
}

/* ---- Colour ops ------------------------------------------------------------------------- */

static MienTensor *
apply_contrast (MienTensor    *img,
                const double  *factors,
                gint64         n,
                MienDevice     device,
                GError       **error)
{
  const gint64 dims[3] = { 1, 2, 3 };
  g_autoptr(MienTensor) gray = grayscale (img, error);
  g_autoptr(MienTensor) mean = NULL;

  if (gray == NULL)
    return NULL;
  mean = mien_tensor_mean_dims (gray, dims, 3, TRUE, error);
  if (mean == NULL)
    return NULL;
  return blend (img, mean, factors, n, device, error);
}

/* _blurred_degenerate_image: a depthwise 3×3 smoothing rounded to uint8 inside the image, the
 * one-pixel border kept as it is. */
static MienTensor *
apply_sharpness (MienTensor    *img,
                 const double  *factors,
                 gint64         n,
                 gint64         height,
                 gint64         width,
                 MienDevice     device,
                 GError       **error)
{
  const gint64 kernel_shape[4] = { 3, 1, 3, 3 };
  const gint64 mask_shape[4] = { 1, 1, height, width };
  const gint64 pad[4] = { 1, 1, 1, 1 };
  float kernel[27];
  g_autofree float *inside = NULL;
  g_autoptr(MienTensor) kernel_t = NULL;
  g_autoptr(MienTensor) mask_f = NULL;
  g_autoptr(MienTensor) mask = NULL;
  g_autoptr(MienTensor) smooth = NULL;
  g_autoptr(MienTensor) rounded = NULL;
  g_autoptr(MienTensor) padded = NULL;
  g_autoptr(MienTensor) blurred = NULL;

  /* torchvision returns the image unchanged when there is no inside */
  if (height <= 2 || width <= 2)
    return mien_tensor_to_dtype (img, MIEN_DTYPE_UINT8, error);

  /* ones with 5 in the middle, divided by their float32 sum, 13 */
  for (int i = 0; i < 27; i++)
    kernel[i] = (i % 9 == 4 ? 5.0f : 1.0f) / 13.0f;

  inside = g_new (float, height * width);
  for (gint64 y = 0; y < height; y++)
    for (gint64 x = 0; x < width; x++)
      inside[y * width + x] = (y > 0 && y < height - 1 && x > 0 && x < width - 1) ? 1.0f : 0.0f;

  kernel_t = host_floats_on (kernel, kernel_shape, 4, device, error);
  if (kernel_t == NULL)
    return NULL;
  mask_f = host_floats_on (inside, mask_shape, 4, device, error);
  if (mask_f == NULL)
    return NULL;
  mask = mien_tensor_gt_scalar (mask_f, 0.5, error);
  if (mask == NULL)
    return NULL;
  smooth = mien_tensor_conv2d (img, kernel_t, NULL, NULL, NULL, NULL, 3, error);
  if (smooth == NULL)
    return NULL;
  rounded = mien_tensor_round (smooth, error);
  if (rounded == NULL)
    return NULL;
  padded = mien_tensor_pad2d (rounded, pad, 0.0, error);
  if (padded == NULL)
    return NULL;
  blurred = mien_tensor_where (mask, padded, img, error);
  if (blurred == NULL)
    return NULL;
  return blend (img, blurred, factors, n, device, error);
}

/* img & -(2^(8 - bits)) on uint8 is floor (img / 2^(8 - bits)) · 2^(8 - bits), exact in float32. */
static MienTensor *
apply_posterize (MienTensor    *img,
                 const double  *magnitudes,
                 gint64         n,
                 MienDevice     device,
                 GError       **error)
{
  g_autofree double *steps = g_new (double, n);
  g_autofree double *inverse = g_new (double, n);
  g_autoptr(MienTensor) step = NULL;
  g_autoptr(MienTensor) inverse_step = NULL;
  g_autoptr(MienTensor) scaled = NULL;
  g_autoptr(MienTensor) floored = NULL;
  g_autoptr(MienTensor) result = NULL;

  for (gint64 i = 0; i < n; i++)
    {
      /* python's int (), then kept to the meaningful 0..8 bits */
      gint64 bits = CLAMP ((gint64) magnitudes[i], 0, 8);

      steps[i] = ldexp (1.0, (int) (8 - bits));
      inverse[i] = ldexp (1.0, (int) (bits - 8));
    }

  step = per_image (steps, n, device, error);
  if (step == NULL)
    return NULL;
  inverse_step = per_image (inverse, n, device, error);
  if (inverse_step == NULL)
    return NULL;
  scaled = mien_tensor_mul (img, inverse_step, error);
  if (scaled == NULL)
    return NULL;
  floored = mien_tensor_floor (scaled, error);
  if (floored == NULL)
    return NULL;
  result = mien_tensor_mul (floored, step, error);
  if (result == NULL)
    return NULL;
  return mien_tensor_to_dtype (result, MIEN_DTYPE_UINT8, error);
}

/* Per channel: (img - min) · (255 / (max - min)); a flat channel (max == min) is left alone.
 * torchvision's 255 / t is t.reciprocal () * 255, two roundings that are kept here. */
static MienTensor *
apply_autocontrast (MienTensor  *img,
                    gint64       n,
                    MienDevice   device,
                    GError     **error)
{
  const gint64 dims[2] = { 2, 3 };
  const gint64 shape[4] = { n, 3, 1, 1 };
  g_autoptr(MienTensor) lo = NULL;
  g_autoptr(MienTensor) hi = NULL;
  g_autoptr(MienTensor) range = NULL;
  g_autoptr(MienTensor) flat = NULL;
  g_autoptr(MienTensor) ones = NULL;
  g_autoptr(MienTensor) zeros = NULL;
  g_autoptr(MienTensor) reciprocal = NULL;
  g_autoptr(MienTensor) scale_raw = NULL;
  g_autoptr(MienTensor) scale = NULL;
  g_autoptr(MienTensor) minimum = NULL;
  g_autoptr(MienTensor) shifted = NULL;
  g_autoptr(MienTensor) stretched = NULL;
  g_autoptr(MienTensor) clamped = NULL;

  lo = mien_tensor_amin_dims (img, dims, 2, TRUE, error);
  if (lo == NULL)
    return NULL;
  hi = mien_tensor_amax_dims (img, dims, 2, TRUE, error);
  if (hi == NULL)
    return NULL;
  range = mien_tensor_sub (hi, lo, error);
  if (range == NULL)
    return NULL;
  flat = mien_tensor_lt_scalar (range, 0.5, error);
  if (flat == NULL)
    return NULL;
  ones = mien_tensor_new_full (shape, 4, 1.0, MIEN_DTYPE_FLOAT32, device, error);
  if (ones == NULL)
    return NULL;
  zeros = mien_tensor_new_zeros (shape, 4, MIEN_DTYPE_FLOAT32, device, error);
  if (zeros == NULL)
    return NULL;
  reciprocal = mien_tensor_div (ones, range, error);
  if (reciprocal == NULL)
    return NULL;
  scale_raw = mien_tensor_mul_scalar (reciprocal, 255.0, error);
  if (scale_raw == NULL)
    return NULL;
  scale = mien_tensor_where (flat, ones, scale_raw, error);
  if (scale == NULL)
    return NULL;
  minimum = mien_tensor_where (flat, zeros, lo, error);
  if (minimum == NULL)
    return NULL;
  shifted = mien_tensor_sub (img, minimum, error);
  if (shifted == NULL)
    return NULL;
  stretched = mien_tensor_mul (shifted, scale, error);
  if (stretched == NULL)
    return NULL;
  clamped = mien_tensor_clamp (stretched, 0.0, 255.0, error);
  if (clamped == NULL)
    return NULL;
  return mien_tensor_to_dtype (clamped, MIEN_DTYPE_UINT8, error);
}

/* ---- Public ops ------------------------------------------------------------------------- */

/* Checks that `images` is a uint8 batch [N, 3, H, W] and gives N, H and W. */
static gboolean
check_images (MienTensor  *images,
              gint64      *n,
              gint64      *height,
              gint64      *width,
              GError     **error)
{
  if (mien_tensor_ndim (images) != 4 || mien_tensor_size (images, 1) != 3 ||
      mien_tensor_dtype (images) != MIEN_DTYPE_UINT8)
    {
      g_autofree char *description = mien_tensor_describe (images);

      g_set_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT,
                   "Augmentation needs uint8 images [N, 3, H, W], got %s", description);
      return FALSE;
    }
  *n = mien_tensor_size (images, 0);
  *height = mien_tensor_size (images, 2);
  *width = mien_tensor_size (images, 3);
  return TRUE;
}

MienTensor *
mien_augment_apply (MienTensor     *images,
                    MienAugmentOp   op,
                    const double   *magnitudes,
                    GError        **error)
{
  g_autoptr(MienTensor) img = NULL;
  MienDevice device;
  gint64 n, height, width;

  g_return_val_if_fail (images != NULL, NULL);
  g_return_val_if_fail ((guint) op < MIEN_AUGMENT_N_OPS, NULL);
  g_return_val_if_fail (magnitudes != NULL || op == MIEN_AUGMENT_IDENTITY ||
                        op == MIEN_AUGMENT_AUTOCONTRAST, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_images (images, &n, &height, &width, error))
    return NULL;
  device = mien_tensor_device (images);

  if (op == MIEN_AUGMENT_IDENTITY || n == 0 || height == 0 || width == 0)
    return mien_tensor_clone (images, error);

  /* Every op works on the float32 pixels, as torchvision's do once a python float or a float32
   * tensor meets the uint8 image. */
  img = mien_tensor_to_dtype (images, MIEN_DTYPE_FLOAT32, error);
  if (img == NULL)
    return NULL;

  switch (op)
    {
    case MIEN_AUGMENT_SHEAR_X:
    case MIEN_AUGMENT_SHEAR_Y:
    case MIEN_AUGMENT_TRANSLATE_X:
    case MIEN_AUGMENT_TRANSLATE_Y:
    case MIEN_AUGMENT_ROTATE:
      return apply_geometric (img, op, magnitudes, n, height, width, device, error);
    case MIEN_AUGMENT_BRIGHTNESS:
      return blend (img, NULL, magnitudes, n, device, error);
    case MIEN_AUGMENT_COLOR:
      {
        g_autoptr(MienTensor) gray = grayscale (img, error);

        if (gray == NULL)
          return NULL;
        return blend (img, gray, magnitudes, n, device, error);
      }
    case MIEN_AUGMENT_CONTRAST:
      return apply_contrast (img, magnitudes, n, device, error);
    case MIEN_AUGMENT_SHARPNESS:
      return apply_sharpness (img, magnitudes, n, height, width, device, error);
    case MIEN_AUGMENT_POSTERIZE:
      return apply_posterize (img, magnitudes, n, device, error);
    case MIEN_AUGMENT_AUTOCONTRAST:
      return apply_autocontrast (img, n, device, error);
    case MIEN_AUGMENT_IDENTITY:
    default:
      g_assert_not_reached ();
    }
}

MienTensor *
mien_rand_augment_batch (const MienRandAugment *config,
                         MienTensor            *images,
                         const guint64         *keys,
                         const gboolean        *apply,
                         GError               **error)
{
  g_autoptr(MienTensor) current = NULL;
  g_autofree MienAugmentOp *ops = NULL;
  g_autofree double *magnitudes = NULL;
  g_autofree gint64 *members = NULL;
  g_autofree double *member_magnitudes = NULL;
  MienDevice device;
  gint64 n, height, width;
  guint num_ops;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (images != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (config->num_bins == 0 || config->magnitude >= config->num_bins)
    {
      g_set_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT,
                   "RandAugment magnitude %u is not a bin of 0 … %d",
                   config->magnitude, (int) config->num_bins - 1);
      return NULL;
    }
  if (!check_images (images, &n, &height, &width, error))
    return NULL;
  device = mien_tensor_device (images);
  num_ops = config->num_ops;

  g_return_val_if_fail (n == 0 || keys != NULL, NULL);

  ops = g_new0 (MienAugmentOp, MAX (n * num_ops, 1));
  magnitudes = g_new0 (double, MAX (n * num_ops, 1));
  for (gint64 i = 0; i < n; i++)
    if (apply == NULL || apply[i])
      mien_rand_augment_draw (config, keys[i], (int) height, (int) width,
                              ops + i * num_ops, magnitudes + i * num_ops);
    else
      for (guint r = 0; r < num_ops; r++)
        ops[i * num_ops + r] = MIEN_AUGMENT_IDENTITY;

  current = mien_tensor_clone (images, error);
  if (current == NULL)
    return NULL;

  members = g_new (gint64, MAX (n, 1));
  member_magnitudes = g_new (double, MAX (n, 1));

  /* Ops compose in order, so round r must finish on every image before round r + 1 starts;
   * within a round, one call per op covers all the images that drew it. */
  for (guint r = 0; r < num_ops; r++)
    for (guint k = 0; k < MIEN_AUGMENT_N_OPS; k++)
      {
        gint64 count = 0;
        gint64 shape[1];
        g_autoptr(MienTensor) index_host = NULL;
        g_autoptr(MienTensor) index = NULL;
        g_autoptr(MienTensor) subset = NULL;
        g_autoptr(MienTensor) augmented = NULL;
        g_autoptr(MienTensor) merged = NULL;

        if (k == MIEN_AUGMENT_IDENTITY)
          continue;
        for (gint64 i = 0; i < n; i++)
          if (ops[i * num_ops + r] == k)
            {
              members[count] = i;
              member_magnitudes[count] = magnitudes[i * num_ops + r];
              count++;
            }
        if (count == 0)
          continue;

        shape[0] = count;
        index_host = mien_tensor_new_from_data (members, MIEN_DTYPE_INT64, shape, 1, error);
        if (index_host == NULL)
          return NULL;
        index = mien_tensor_to_device (index_host, device, error);
        if (index == NULL)
          return NULL;
        subset = mien_tensor_index_select (current, 0, index, error);
        if (subset == NULL)
          return NULL;
        augmented = mien_augment_apply (subset, (MienAugmentOp) k, member_magnitudes, error);
        if (augmented == NULL)
          return NULL;
        merged = mien_tensor_index_copy (current, 0, index, augmented, error);
        if (merged == NULL)
          return NULL;
        g_clear_pointer (&current, mien_tensor_free);
        current = g_steal_pointer (&merged);
      }

  return g_steal_pointer (&current);
}

/* ---- Geometry: flip and crop ------------------------------------------------------------ */

/* Geometry draws come from their own stream of the image's key ("geometry" in ASCII), so that
 * RandAugment's draws from the same key stay what they were. */
#define GEOMETRY_STREAM G_GUINT64_CONSTANT (0x67656f6d65747279)
#define MAX_PADDING 1024

char *
mien_crop_to_string (const MienGeometryAugment *config)
{
  char scale[G_ASCII_DTOSTR_BUF_SIZE];

  g_return_val_if_fail (config != NULL, NULL);

  switch (config->crop)
    {
    case MIEN_CROP_PAD:
      if (config->padding == 0)
        return g_strdup ("pad");
      return g_strdup_printf ("pad:%u", config->padding);
    case MIEN_CROP_RESIZED:
      /* Not printf's %g: a French locale would write 0,8. */
      return g_strconcat ("resized:", g_ascii_formatd (scale, sizeof scale, "%g",
                                                       config->scale_min), NULL);
    case MIEN_CROP_NONE:
    default:
      return g_strdup ("none");
    }
}

gboolean
mien_crop_from_string (const char           *str,
                       MienGeometryAugment  *out,
                       GError              **error)
{
  const char *arg;
  char *end = NULL;

  g_return_val_if_fail (out != NULL, FALSE);

  if (str == NULL)
    str = "";
  if (strcmp (str, "none") == 0)
    {
      out->crop = MIEN_CROP_NONE;
      return TRUE;
    }
  if (strcmp (str, "pad") == 0)
    {
      out->crop = MIEN_CROP_PAD;
      out->padding = 0;
      return TRUE;
    }
  if (strcmp (str, "resized") == 0)
    {
      out->crop = MIEN_CROP_RESIZED;
      out->scale_min = MIEN_CROP_SCALE_MIN_DEFAULT;
      return TRUE;
    }
  if (g_str_has_prefix (str, "pad:"))
    {
      guint64 padding;

      arg = str + strlen ("pad:");
      if (g_ascii_isdigit (*arg))
        {
          padding = g_ascii_strtoull (arg, &end, 10);
          if (*end == '\0' && padding >= 1 && padding <= MAX_PADDING)
            {
              out->crop = MIEN_CROP_PAD;
              out->padding = (guint) padding;
              return TRUE;
            }
        }
      g_set_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT,
                   _("Invalid crop “%s”: the padding after “pad:” has to be a whole number of "
                     "pixels from 1 to %d"), str, MAX_PADDING);
      return FALSE;
    }
  if (g_str_has_prefix (str, "resized:"))
    {
      double scale;

      arg = str + strlen ("resized:");
      scale = g_ascii_strtod (arg, &end);
      if (*arg != '\0' && end != arg && *end == '\0' && scale > 0.0 && scale <= 1.0)
        {
          out->crop = MIEN_CROP_RESIZED;
          out->scale_min = scale;
          return TRUE;
        }
      g_set_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT,
                   _("Invalid crop “%s”: the smallest area fraction after “resized:” has to be "
                     "a number above 0 and at most 1"), str);
      return FALSE;
    }
  g_set_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT,
               _("Invalid crop “%s” (expected none, pad, pad:PIXELS, resized or "
                 "resized:SMIN)"), str);
  return FALSE;
}

guint
mien_geometry_padding (const MienGeometryAugment *config,
                       int                        height,
                       int                        width)
{
  g_return_val_if_fail (config != NULL, 0);

  if (config->padding > 0)
    return config->padding;
  return (guint) MAX (1, (MIN (height, width) + 4) / 8);
}

/* A double uniform in [0, 1), from the top 53 bits. */
static double
uniform_unit (guint64 *state)
{
  return (double) (splitmix64_next (state) >> 11) * (1.0 / 9007199254740992.0);
}

/* An integer uniform in [0, n); the modulo bias is below 2^-40 for any image size. */
static int
uniform_below (guint64 *state,
               guint64  n)
{
  return (int) (splitmix64_next (state) % n);
}

/* RandomResizedCrop.get_params with scale (scale_min, 1) and ratio (3/4, 4/3). */
static void
draw_resized_box (guint64          *state,
                  double            scale_min,
                  int               height,
                  int               width,
                  MienGeometryDraw *draw)
{
  const double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;
  const double log_min = log (ratio_min), log_max = log (ratio_max);
  double area = (double) height * width;
  double in_ratio;

  for (int attempt = 0; attempt < 10; attempt++)
    {
      double target = area * (scale_min + (1.0 - scale_min) * uniform_unit (state));
      double aspect = exp (log_min + (log_max - log_min) * uniform_unit (state));
      /* python's round (): half to even, as rint () in the default rounding mode */
      double w = rint (sqrt (target * aspect));
      double h = rint (sqrt (target / aspect));

      if (w > 0 && w <= width && h > 0 && h <= height)
        {
          draw->height = (int) h;
          draw->width = (int) w;
          draw->top = uniform_below (state, (guint64) (height - draw->height + 1));
          draw->left = uniform_below (state, (guint64) (width - draw->width + 1));
          return;
        }
    }

  /* The centre crop torchvision falls back on */
  in_ratio = (double) width / height;
  draw->width = width;
  draw->height = height;
  if (in_ratio < ratio_min)
    draw->height = (int) rint (width / ratio_min);
  else if (in_ratio > ratio_max)
    draw->width = (int) rint (height * ratio_max);
  draw->top = (height - draw->height) / 2;
  draw->left = (width - draw->width) / 2;
}

void
mien_geometry_draw (const MienGeometryAugment *config,
                    guint64                    key,
                    int                        height,
                    int                        width,
                    MienGeometryDraw          *draw)
{
  guint64 state = splitmix64_mix (key ^ GEOMETRY_STREAM);

  g_return_if_fail (config != NULL);
  g_return_if_fail (draw != NULL);
  g_return_if_fail (height > 0 && width > 0);

  draw->flip = config->flip && (splitmix64_next (&state) >> 63) != 0;
  draw->top = 0;
  draw->left = 0;
  draw->height = height;
  draw->width = width;

  switch (config->crop)
    {
    case MIEN_CROP_PAD:
      {
        guint64 span = 2 * (guint64) mien_geometry_padding (config, height, width) + 1;

        draw->top = uniform_below (&state, span);
        draw->left = uniform_below (&state, span);
      }
      break;
    case MIEN_CROP_RESIZED:
      draw_resized_box (&state, config->scale_min, height, width, draw);
      break;
    case MIEN_CROP_NONE:
    default:
      break;
    }
}

/* Where output pixel `out` of one axis of `size` pixels comes from: two taps (index, weight),
 * index -1 for none (the padding, 0). "pad": one pixel of the padded image; "resized": the two
 * taps of upsample_bilinear2d (align_corners=False) over the box [start, start + extent), with
 * libtorch 1.13's arithmetic — a float32 scale, the source position in double, lambda1 rounded
 * to float32 and lambda0 = 1 - lambda1 in float32; "none": the pixel itself. The flip reads the
 * axis backwards. */
static void
axis_taps (MienCropKind  crop,
           int           out,
           int           size,
           int           start,
           int           extent,
           guint         padding,
           gboolean      flip,
           int           index[2],
           float         weight[2])
{
  int position = flip ? size - 1 - out : out;

  index[0] = index[1] = position;
  weight[0] = 1.0f;
  weight[1] = 0.0f;
  switch (crop)
    {
    case MIEN_CROP_PAD:
      index[0] = index[1] = start + position - (int) padding;
      if (index[0] < 0 || index[0] >= size)
        index[0] = index[1] = -1;
      break;
    case MIEN_CROP_RESIZED:
      index[0] = index[1] = start + position;
      if (extent != size)
        {
          float scale = (float) extent / (float) size;
          double real = (double) scale * (position + 0.5) - 0.5;
          int i;

          if (real < 0.0)
            real = 0.0;
          i = MIN ((int) floor (real), extent - 1);
          weight[1] = (float) CLAMP (real - i, 0.0, 1.0);
          weight[0] = 1.0f - weight[1];
          index[0] = start + i;
          index[1] = start + i + (i < extent - 1 ? 1 : 0);
        }
      break;
    case MIEN_CROP_NONE:
    default:
      break;
    }
}

/* What one axis of a batch of draws needs: for each tap k, a 0/1 selection [N, 1, S, S] and
 * the weights [N, 1, S, 1] (rows, the height) or its transpose and [N, 1, 1, S] (columns). */
typedef struct {
  float *select[2];
  float *weights[2];
} AxisMaps;

static void
axis_maps_fill (const MienGeometryAugment *config,
                const MienGeometryDraw    *draws,
                gint64                     n,
                int                        size,
                guint                      padding,
                gboolean                   columns,
                AxisMaps                  *maps)
{
  gsize plane = (gsize) size * size;

  for (int k = 0; k < 2; k++)
    {
      maps->select[k] = g_new0 (float, n * plane);
      maps->weights[k] = g_new (float, n * size);
    }
  for (gint64 i = 0; i < n; i++)
    for (int o = 0; o < size; o++)
      {
        const MienGeometryDraw *d = &draws[i];
        int index[2];
        float weight[2];

        if (columns)
          axis_taps (config->crop, o, size, d->left, d->width, padding, d->flip, index, weight);
        else
          axis_taps (config->crop, o, size, d->top, d->height, padding, FALSE, index, weight);
        for (int k = 0; k < 2; k++)
          {
            maps->weights[k][i * size + o] = weight[k];
            if (index[k] < 0)
              continue;
            /* rows: out × in; columns: in × out, for img · B */
            if (columns)
              maps->select[k][i * plane + (gsize) index[k] * size + o] = 1.0f;
            else
              maps->select[k][i * plane + (gsize) o * size + index[k]] = 1.0f;
          }
      }
}

static void
axis_maps_clear (AxisMaps *maps)
{
  for (int k = 0; k < 2; k++)
    {
      g_clear_pointer (&maps->select[k], g_free);
      g_clear_pointer (&maps->weights[k], g_free);
    }
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AxisMaps, axis_maps_clear)

/* libtorch's fma (t0, w0, t1 · w1) (its AVX2 kernel contracts t0 · w0 + t1 · w1 so): the float32
 * product t1 · w1, then t0 · w0 added exactly in double and rounded once to float32. */
static MienTensor *
two_taps (MienTensor  *t0,
          MienTensor  *w0,
          MienTensor  *t1,
          MienTensor  *w1,
          GError     **error)
{
  g_autoptr(MienTensor) second = NULL;
  g_autoptr(MienTensor) second_d = NULL;
  g_autoptr(MienTensor) t0_d = NULL;
  g_autoptr(MienTensor) w0_d = NULL;
  g_autoptr(MienTensor) first_d = NULL;
  g_autoptr(MienTensor) sum_d = NULL;

  second = mien_tensor_mul (t1, w1, error);
  if (second == NULL)
    return NULL;
  second_d = mien_tensor_to_dtype (second, MIEN_DTYPE_FLOAT64, error);
  t0_d = second_d ? mien_tensor_to_dtype (t0, MIEN_DTYPE_FLOAT64, error) : NULL;
  w0_d = t0_d ? mien_tensor_to_dtype (w0, MIEN_DTYPE_FLOAT64, error) : NULL;
  first_d = w0_d ? mien_tensor_mul (t0_d, w0_d, error) : NULL;
  sum_d = first_d ? mien_tensor_add (first_d, second_d, error) : NULL;
  if (sum_d == NULL)
    return NULL;
  return mien_tensor_to_dtype (sum_d, MIEN_DTYPE_FLOAT32, error);
}

/* One axis: the two taps selected by 0/1 matmuls (exact: one product of 1 and zeros), then
 * combined. `columns`: img · Bₖ; else Aₖ · img. */
static MienTensor *
map_axis (MienTensor  *img,
          AxisMaps    *maps,
          gint64       n,
          gint64       size,
          gboolean     columns,
          MienDevice   device,
          GError     **error)
{
  const gint64 select_shape[4] = { n, 1, size, size };
  const gint64 weight_shape[4] = { n, 1, columns ? 1 : size, columns ? size : 1 };
  MienTensor *taps[2] = { NULL, NULL };
  MienTensor *weights[2] = { NULL, NULL };
  MienTensor *result = NULL;

  for (int k = 0; k < 2; k++)
    {
      g_autoptr(MienTensor) select = host_floats_on (maps->select[k], select_shape, 4, device,
                                                     error);

      if (select == NULL)
        goto out;
      taps[k] = columns ? mien_tensor_matmul (img, select, error) :
                          mien_tensor_matmul (select, img, error);
      if (taps[k] == NULL)
        goto out;
      weights[k] = host_floats_on (maps->weights[k], weight_shape, 4, device, error);
      if (weights[k] == NULL)
        goto out;
    }
  result = two_taps (taps[0], weights[0], taps[1], weights[1], error);

out:
  for (int k = 0; k < 2; k++)
    {
      g_clear_pointer (&taps[k], mien_tensor_free);
      g_clear_pointer (&weights[k], mien_tensor_free);
    }
  return result;
}

MienTensor *
mien_geometry_apply (const MienGeometryAugment *config,
                     MienTensor                *images,
                     const MienGeometryDraw    *draws,
                     GError                   **error)
{
  g_auto(AxisMaps) rows = { { NULL, NULL }, { NULL, NULL } };
  g_auto(AxisMaps) columns = { { NULL, NULL }, { NULL, NULL } };
  g_autoptr(MienTensor) img = NULL;
  g_autoptr(MienTensor) horizontal = NULL;
  g_autoptr(MienTensor) mapped = NULL;
  g_autoptr(MienTensor) rounded = NULL;
  g_autoptr(MienTensor) clamped = NULL;
  MienDevice device;
  gint64 n, height, width;
  gboolean identity = TRUE;
  guint padding;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (images != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_images (images, &n, &height, &width, error))
    return NULL;
  device = mien_tensor_device (images);
  g_return_val_if_fail (n == 0 || draws != NULL, NULL);

  for (gint64 i = 0; i < n && identity; i++)
    identity = !draws[i].flip && (config->crop == MIEN_CROP_NONE ||
                                  (config->crop == MIEN_CROP_RESIZED &&
                                   draws[i].height == height && draws[i].width == width));
  if (identity || height == 0 || width == 0)
    return mien_tensor_clone (images, error);

  for (gint64 i = 0; i < n; i++)
    if (draws[i].top < 0 || draws[i].left < 0 || draws[i].height < 1 || draws[i].width < 1 ||
        (config->crop == MIEN_CROP_RESIZED &&
         (draws[i].top + draws[i].height > height || draws[i].left + draws[i].width > width)))
      {
        g_set_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT,
                     "Crop box %d, %d, %d × %d of image %" G_GINT64_FORMAT " is outside its "
                     "%" G_GINT64_FORMAT " × %" G_GINT64_FORMAT " pixels", draws[i].top,
                     draws[i].left, draws[i].height, draws[i].width, i, height, width);
        return NULL;
      }

  padding = mien_geometry_padding (config, (int) height, (int) width);
  axis_maps_fill (config, draws, n, (int) height, padding, FALSE, &rows);
  axis_maps_fill (config, draws, n, (int) width, padding, TRUE, &columns);

  img = mien_tensor_to_dtype (images, MIEN_DTYPE_FLOAT32, error);
  if (img == NULL)
    return NULL;
  /* Along the width first, then the height, as upsample_bilinear2d nests its sums. */
  horizontal = map_axis (img, &columns, n, width, TRUE, device, error);
  if (horizontal == NULL)
    return NULL;
  mapped = map_axis (horizontal, &rows, n, height, FALSE, device, error);
  if (mapped == NULL)
    return NULL;
  /* torchvision rounds a resized uint8 image before the cast; selections give integers. */
  rounded = mien_tensor_round (mapped, error);
  if (rounded == NULL)
    return NULL;
  clamped = mien_tensor_clamp (rounded, 0.0, 255.0, error);
  if (clamped == NULL)
    return NULL;
  return mien_tensor_to_dtype (clamped, MIEN_DTYPE_UINT8, error);
}

MienTensor *
mien_geometry_augment_batch (const MienGeometryAugment *config,
                             MienTensor                *images,
                             const guint64             *keys,
                             GError                   **error)
{
  g_autofree MienGeometryDraw *draws = NULL;
  gint64 n, height, width;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (images != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_images (images, &n, &height, &width, error))
    return NULL;
  if (n == 0 || height == 0 || width == 0 || (!config->flip && config->crop == MIEN_CROP_NONE))
    return mien_tensor_clone (images, error);
  g_return_val_if_fail (keys != NULL, NULL);

  draws = g_new (MienGeometryDraw, n);
  for (gint64 i = 0; i < n; i++)
    mien_geometry_draw (config, keys[i], (int) height, (int) width, &draws[i]);
  return mien_geometry_apply (config, images, draws, error);
}
