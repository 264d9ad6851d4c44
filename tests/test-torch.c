/* test-torch.c — the libtorch shim against values worked out by hand.
 *
 * Every expected number below comes from the arithmetic in the comment next to it, never from
 * running the code under test. The tests must pass on a CPU-only machine and on a GPU one, so
 * the CUDA checks branch on mien_torch_cuda_is_available ().
 */

#include <math.h>
#include <string.h>

#include <glib.h>

#include "mien-torch.h"

#define EPS 1e-5

/* ---- Helpers ---------------------------------------------------------------------------- */

static MienTensor *
tensor_f32 (const float *data, const gint64 *shape, int ndim)
{
  g_autoptr(GError) error = NULL;
  MienTensor *t = mien_tensor_new_from_data (data, MIEN_DTYPE_FLOAT32, shape, ndim, &error);

  g_assert_no_error (error);
  g_assert_nonnull (t);
  return t;
}

static MienTensor *
scalar_f32 (float value)
{
  return tensor_f32 (&value, NULL, 0);
}

/* Checks shape and values (converted to float32, so any dtype works). */
static void
assert_tensor (MienTensor    *t,
               const gint64  *shape,
               int            ndim,
               const float   *expected,
               double         eps)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) f = NULL;
  g_autofree float *values = NULL;
  gint64 got_shape[8];
  gint64 numel = 1;

  g_assert_nonnull (t);
  g_assert_cmpint (mien_tensor_shape (t, got_shape, G_N_ELEMENTS (got_shape)), ==, ndim);
  for (int i = 0; i < ndim; i++)
    {
      g_assert_cmpint (got_shape[i], ==, shape[i]);
      numel *= shape[i];
    }
  g_assert_cmpint (mien_tensor_numel (t), ==, numel);

  f = mien_tensor_to_dtype (t, MIEN_DTYPE_FLOAT32, &error);
  g_assert_no_error (error);
  values = g_new0 (float, MAX (numel, 1));
  g_assert_true (mien_tensor_to_host (f, values, numel * sizeof (float), &error));
  g_assert_no_error (error);
  /* eps 0 asks for exact values (g_assert_cmpfloat_with_epsilon's bound is strict). */
  for (gint64 i = 0; i < numel; i++)
    if (eps == 0.0)
      g_assert_cmpfloat (values[i], ==, expected[i]);
    else
      g_assert_cmpfloat_with_epsilon (values[i], expected[i], eps);
}

static double
item (MienTensor *t)
{
  g_autoptr(GError) error = NULL;
  double value = NAN;

  g_assert_true (mien_tensor_item (t, &value, &error));
  g_assert_no_error (error);
  return value;
}

/* ---- Dtypes, data in and out ------------------------------------------------------------ */

static void
test_dtypes (void)
{
  g_assert_cmpuint (mien_dtype_size (MIEN_DTYPE_FLOAT32), ==, 4);
  g_assert_cmpuint (mien_dtype_size (MIEN_DTYPE_FLOAT16), ==, 2);
  g_assert_cmpuint (mien_dtype_size (MIEN_DTYPE_BFLOAT16), ==, 2);
  g_assert_cmpuint (mien_dtype_size (MIEN_DTYPE_FLOAT64), ==, 8);
  g_assert_cmpuint (mien_dtype_size (MIEN_DTYPE_INT64), ==, 8);
  g_assert_cmpuint (mien_dtype_size (MIEN_DTYPE_INT32), ==, 4);
  g_assert_cmpuint (mien_dtype_size (MIEN_DTYPE_INT16), ==, 2);
  g_assert_cmpuint (mien_dtype_size (MIEN_DTYPE_INT8), ==, 1);
  g_assert_cmpuint (mien_dtype_size (MIEN_DTYPE_UINT8), ==, 1);
  g_assert_cmpuint (mien_dtype_size (MIEN_DTYPE_BOOL), ==, 1);

  g_assert_cmpstr (mien_dtype_to_string (MIEN_DTYPE_FLOAT32), ==, "float32");
  g_assert_cmpstr (mien_dtype_to_string (MIEN_DTYPE_BFLOAT16), ==, "bfloat16");
  g_assert_cmpstr (mien_dtype_to_string (MIEN_DTYPE_INT64), ==, "int64");
  g_assert_cmpstr (mien_dtype_to_string (MIEN_DTYPE_BOOL), ==, "bool");

  g_assert_true (mien_dtype_is_floating (MIEN_DTYPE_FLOAT16));
  g_assert_true (mien_dtype_is_floating (MIEN_DTYPE_BFLOAT16));
  g_assert_false (mien_dtype_is_floating (MIEN_DTYPE_INT64));
  g_assert_false (mien_dtype_is_floating (MIEN_DTYPE_BOOL));

  /* Every dtype survives a round trip through a tensor. */
  for (int d = 0; d < MIEN_DTYPE_N_TYPES; d++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MienTensor) t = NULL;
      gint64 shape[] = { 3 };

      t = mien_tensor_new_zeros (shape, 1, (MienDType) d, mien_device_cpu (), &error);
      g_assert_no_error (error);
      g_assert_cmpint (mien_tensor_dtype (t), ==, d);
    }
}

static void
test_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) f = NULL;
  g_autoptr(MienTensor) l = NULL;
  g_autoptr(MienTensor) b = NULL;
  g_autoptr(MienTensor) alias = NULL;
  g_autofree char *description = NULL;
  const float f_data[] = { 1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, -7.0f };
  const gint64 l_data[] = { G_GINT64_CONSTANT (1) << 40, -3, 7 };
  /* bfloat16 is the top half of a float32: 1.0 = 0x3F80, -2.0 = 0xC000. */
  const guint16 b_data[] = { 0x3F80, 0xC000 };
  gint64 shape23[] = { 2, 3 };
  gint64 shape3[] = { 3 };
  gint64 shape2[] = { 2 };
  float f_out[6] = { 0 };
  gint64 l_out[3] = { 0 };
  guint16 b_out[2] = { 0 };
  gint64 shape_out[1] = { 0 };

  f = mien_tensor_new_from_data (f_data, MIEN_DTYPE_FLOAT32, shape23, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_ndim (f), ==, 2);
  g_assert_cmpint (mien_tensor_size (f, 0), ==, 2);
  g_assert_cmpint (mien_tensor_size (f, -1), ==, 3);
  g_assert_cmpint (mien_tensor_size (f, 2), ==, -1);
  g_assert_cmpint (mien_tensor_size (f, -3), ==, -1);
  g_assert_cmpint (mien_tensor_numel (f), ==, 6);
  /* Too little room: only the first size is written, the real ndim is returned. */
  g_assert_cmpint (mien_tensor_shape (f, shape_out, 1), ==, 2);
  g_assert_cmpint (shape_out[0], ==, 2);
  g_assert_true (mien_tensor_to_host (f, f_out, sizeof f_out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (f_out, sizeof f_out, f_data, sizeof f_data);
  description = mien_tensor_describe (f);
  g_assert_cmpstr (description, ==, "float32[2, 3] cpu");
  g_assert_true (mien_device_equal (mien_tensor_device (f), mien_device_cpu ()));

  l = mien_tensor_new_from_data (l_data, MIEN_DTYPE_INT64, shape3, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_dtype (l), ==, MIEN_DTYPE_INT64);
  g_assert_true (mien_tensor_to_host (l, l_out, sizeof l_out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (l_out, sizeof l_out, l_data, sizeof l_data);

  b = mien_tensor_new_from_data (b_data, MIEN_DTYPE_BFLOAT16, shape2, 1, &error);
  g_assert_no_error (error);
  g_assert_true (mien_tensor_to_host (b, b_out, sizeof b_out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (b_out, sizeof b_out, b_data, sizeof b_data);
  {
    const float expected[] = { 1.0f, -2.0f };
    assert_tensor (b, shape2, 1, expected, 0.0);
  }

  /* The size must be exact: 2 bfloat16 are 4 bytes, not 8. */
  g_assert_false (mien_tensor_to_host (b, b_out, 2 * sizeof (float), &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (mien_tensor_to_host (f, f_out, sizeof f_out - 1, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* The data was copied: changing the source later changes nothing. An alias shares it. */
  alias = mien_tensor_alias (f);
  g_assert_true (mien_tensor_fill_ (alias, 4.0, &error));
  g_assert_no_error (error);
  g_assert_true (mien_tensor_to_host (f, f_out, sizeof f_out, &error));
  g_assert_cmpfloat (f_out[5], ==, 4.0f);
  g_assert_cmpfloat (f_data[5], ==, -7.0f);

  /* Negative sizes are the caller's mistake, reported before libtorch sees them. */
  {
    gint64 bad[] = { 2, -1 };
    MienTensor *t = mien_tensor_new_zeros (bad, 2, MIEN_DTYPE_FLOAT32, mien_device_cpu (), &error);
    g_assert_null (t);
    g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
}

static void
test_item_and_factories (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) s = scalar_f32 (2.5f);
  g_autoptr(MienTensor) full = NULL;
  g_autoptr(MienTensor) range = NULL;
  g_autoptr(MienTensor) ri = NULL;
  g_autoptr(MienTensor) r1 = NULL;
  g_autoptr(MienTensor) r2 = NULL;
  g_autoptr(MienTensor) same = NULL;
  g_autoptr(MienTensor) n_same = NULL;
  gint64 shape22[] = { 2, 2 };
  gint64 shape5[] = { 5 };
  gint64 shape100[] = { 100 };
  double value = 0;
  gint64 ints[100];

  g_assert_cmpfloat (item (s), ==, 2.5);
  g_assert_cmpint (mien_tensor_ndim (s), ==, 0);

  full = mien_tensor_new_full (shape22, 2, 3.0, MIEN_DTYPE_FLOAT64, mien_device_cpu (), &error);
  g_assert_no_error (error);
  {
    const float expected[] = { 3, 3, 3, 3 };
    assert_tensor (full, shape22, 2, expected, 0.0);
  }
  g_assert_false (mien_tensor_item (full, &value, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  range = mien_tensor_new_arange (5, MIEN_DTYPE_INT64, mien_device_cpu (), &error);
  g_assert_no_error (error);
  {
    const float expected[] = { 0, 1, 2, 3, 4 };
    assert_tensor (range, shape5, 1, expected, 0.0);
  }

  ri = mien_tensor_new_randint (-2, 3, shape100, 1, mien_device_cpu (), &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_dtype (ri), ==, MIEN_DTYPE_INT64);
  g_assert_true (mien_tensor_to_host (ri, ints, sizeof ints, &error));
  for (int i = 0; i < 100; i++)
    g_assert_true (ints[i] >= -2 && ints[i] < 3);

  /* The same seed draws the same numbers. */
  mien_torch_manual_seed (1234);
  r1 = mien_tensor_new_randn (shape100, 1, MIEN_DTYPE_FLOAT32, mien_device_cpu (), &error);
  g_assert_no_error (error);
  mien_torch_manual_seed (1234);
  r2 = mien_tensor_new_randn (shape100, 1, MIEN_DTYPE_FLOAT32, mien_device_cpu (), &error);
  g_assert_no_error (error);
  same = mien_tensor_eq (r1, r2, &error);
  g_assert_no_error (error);
  n_same = mien_tensor_sum (same, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (item (n_same), ==, 100.0);
}

/* ---- Layers ----------------------------------------------------------------------------- */

static void
test_linear (void)
{
  g_autoptr(GError) error = NULL;
  const float x_data[] = { 1, 2 };
  const float w_data[] = { 1, 0, 2, -1 };
  const float b_data[] = { 0.5f, -0.5f };
  gint64 x_shape[] = { 1, 2 };
  gint64 w_shape[] = { 2, 2 };
  gint64 b_shape[] = { 2 };
  g_autoptr(MienTensor) x = tensor_f32 (x_data, x_shape, 2);
  g_autoptr(MienTensor) w = tensor_f32 (w_data, w_shape, 2);
  g_autoptr(MienTensor) b = tensor_f32 (b_data, b_shape, 1);
  g_autoptr(MienTensor) y = NULL;
  g_autoptr(MienTensor) y_nobias = NULL;
  /* y = x W^T + b: y0 = 1*1 + 2*0 + 0.5 = 1.5; y1 = 1*2 + 2*(-1) - 0.5 = -0.5 */
  const float expected[] = { 1.5f, -0.5f };
  const float expected_nobias[] = { 1.0f, 0.0f };

  y = mien_tensor_linear (x, w, b, &error);
  g_assert_no_error (error);
  assert_tensor (y, x_shape, 2, expected, EPS);

  y_nobias = mien_tensor_linear (x, w, NULL, &error);
  g_assert_no_error (error);
  assert_tensor (y_nobias, x_shape, 2, expected_nobias, EPS);
}

static void
test_conv2d (void)
{
  g_autoptr(GError) error = NULL;
  const float x_data[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
  const float k_data[] = { 1, 2, 3, 4 };
  const float bias_data[] = { 0.5f };
  gint64 x_shape[] = { 1, 1, 3, 3 };
  gint64 k_shape[] = { 1, 1, 2, 2 };
  gint64 bias_shape[] = { 1 };
  gint64 out_shape[] = { 1, 1, 2, 2 };
  const gint64 stride2[] = { 2, 2 };
  const gint64 pad1[] = { 1, 1 };
  g_autoptr(MienTensor) x = tensor_f32 (x_data, x_shape, 4);
  g_autoptr(MienTensor) k = tensor_f32 (k_data, k_shape, 4);
  g_autoptr(MienTensor) bias = tensor_f32 (bias_data, bias_shape, 1);
  g_autoptr(MienTensor) y = NULL;
  g_autoptr(MienTensor) y2 = NULL;
  /* Cross-correlation with [[1, 2], [3, 4]] over x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]:
   *   (0,0): 1*1 + 2*2 + 3*4 + 4*5 = 37   (0,1): 1*2 + 2*3 + 3*5 + 4*6 = 47
   *   (1,0): 1*4 + 2*5 + 3*7 + 4*8 = 67   (1,1): 1*5 + 2*6 + 3*8 + 4*9 = 77 */
  const float expected[] = { 37, 47, 67, 77 };
  /* Zero padding 1, stride 2: windows start at rows/cols 0 and 2 of the padded 5x5 input,
   *   (0,0): [[0, 0], [0, 1]] -> 4*1 = 4           (0,1): [[0, 0], [2, 3]] -> 3*2 + 4*3 = 18
   *   (1,0): [[0, 4], [0, 7]] -> 2*4 + 4*7 = 36    (1,1): [[5, 6], [8, 9]] -> 77
   * plus the bias 0.5. */
  const float expected2[] = { 4.5f, 18.5f, 36.5f, 77.5f };

  /* NULL stride, padding and dilation are PyTorch's defaults (1, 0, 1). */
  y = mien_tensor_conv2d (x, k, NULL, NULL, NULL, NULL, 1, &error);
  g_assert_no_error (error);
  assert_tensor (y, out_shape, 4, expected, EPS);

  y2 = mien_tensor_conv2d (x, k, bias, stride2, pad1, NULL, 1, &error);
  g_assert_no_error (error);
  assert_tensor (y2, out_shape, 4, expected2, EPS);
}

static void
test_batch_norm (void)
{
  g_autoptr(GError) error = NULL;
  const float x_data[] = { 1, 2, 3, 4 };
  const float zero = 0, one = 1, two = 2;
  gint64 x_shape[] = { 4, 1 };
  gint64 c_shape[] = { 1 };
  g_autoptr(MienTensor) x = tensor_f32 (x_data, x_shape, 2);
  g_autoptr(MienTensor) weight = tensor_f32 (&two, c_shape, 1);
  g_autoptr(MienTensor) bias = tensor_f32 (&one, c_shape, 1);
  g_autoptr(MienTensor) rm = tensor_f32 (&zero, c_shape, 1);
  g_autoptr(MienTensor) rv = tensor_f32 (&one, c_shape, 1);
  g_autoptr(MienTensor) y_train = NULL;
  g_autoptr(MienTensor) y_eval = NULL;
  /* Batch mean 2.5, biased variance (1.5² + 0.5² + 0.5² + 1.5²) / 4 = 1.25,
   * y = 2 (x - 2.5) / sqrt (1.25) + 1, 1 / sqrt (1.25) = 0.894427191:
   *   -1.683281573, 0.105572809, 1.894427191, 3.683281573 */
  const float expected_train[] = { -1.683281573f, 0.105572809f, 1.894427191f, 3.683281573f };
  /* Running stats with momentum 0.1: mean 0.9*0 + 0.1*2.5 = 0.25;
   * var uses the unbiased batch variance 5/3: 0.9*1 + 0.1*5/3 = 1.0666667 */
  const float expected_rm[] = { 0.25f };
  const float expected_rv[] = { 1.0666667f };
  /* Eval: y = 2 (x - 0.25) / sqrt (1.0666667) + 1, sqrt (1.0666667) = 1.0327956:
   *   x=1: 2*0.75/1.0327956 + 1 = 2.4523687   x=2: 2*1.75/1.0327956 + 1 = 4.3888604
   *   x=3: 2*2.75/1.0327956 + 1 = 6.3253520   x=4: 2*3.75/1.0327956 + 1 = 8.2618437 */
  const float expected_eval[] = { 2.4523687f, 4.3888604f, 6.3253520f, 8.2618437f };

  y_train = mien_tensor_batch_norm (x, weight, bias, rm, rv, TRUE, 0.1, 1e-5, &error);
  g_assert_no_error (error);
  assert_tensor (y_train, x_shape, 2, expected_train, 1e-4);
  assert_tensor (rm, c_shape, 1, expected_rm, EPS);
  assert_tensor (rv, c_shape, 1, expected_rv, EPS);

  y_eval = mien_tensor_batch_norm (x, weight, bias, rm, rv, FALSE, 0.1, 1e-5, &error);
  g_assert_no_error (error);
  assert_tensor (y_eval, x_shape, 2, expected_eval, 1e-4);
  /* Eval leaves the running statistics alone. */
  assert_tensor (rm, c_shape, 1, expected_rm, EPS);
}

static void
test_layer_norm_softmax (void)
{
  g_autoptr(GError) error = NULL;
  const float x_data[] = { 1, 2, 3, 4 };
  const float s_data[] = { 1, 2, 3 };
  gint64 x_shape[] = { 1, 4 };
  gint64 normalized[] = { 4 };
  gint64 s_shape[] = { 3 };
  g_autoptr(MienTensor) x = tensor_f32 (x_data, x_shape, 2);
  g_autoptr(MienTensor) s = tensor_f32 (s_data, s_shape, 1);
  g_autoptr(MienTensor) y = NULL;
  g_autoptr(MienTensor) p = NULL;
  g_autoptr(MienTensor) lp = NULL;
  /* Mean 2.5, variance 1.25: (x - 2.5) / sqrt (1.25) */
  const float expected_ln[] = { -1.3416408f, -0.4472136f, 0.4472136f, 1.3416408f };
  /* e + e² + e³ = 2.7182818 + 7.3890561 + 20.0855369 = 30.1928748 */
  const float expected_sm[] = { 0.0900306f, 0.2447285f, 0.6652410f };
  /* log of the above: x - log (30.1928748) = x - 3.4076059 */
  const float expected_lsm[] = { -2.4076059f, -1.4076059f, -0.4076059f };

  y = mien_tensor_layer_norm (x, normalized, 1, NULL, NULL, 1e-5, &error);
  g_assert_no_error (error);
  assert_tensor (y, x_shape, 2, expected_ln, 1e-4);

  p = mien_tensor_softmax (s, 0, &error);
  g_assert_no_error (error);
  assert_tensor (p, s_shape, 1, expected_sm, EPS);

  lp = mien_tensor_log_softmax (s, -1, &error);
  g_assert_no_error (error);
  assert_tensor (lp, s_shape, 1, expected_lsm, EPS);
}

static void
test_cross_entropy (void)
{
  g_autoptr(GError) error = NULL;
  /* Row 0 is uniform; row 1 has softmax [1/4, 1/2, 1/4] (logit ln 2 in the middle). */
  const float logits_data[] = { 0, 0, 0, 0, (float) G_LN2, 0 };
  const gint64 targets_data[] = { 0, 1 };
  const float weight_data[] = { 1, 3, 5 };
  gint64 logits_shape[] = { 2, 3 };
  gint64 targets_shape[] = { 2 };
  gint64 weight_shape[] = { 3 };
  g_autoptr(MienTensor) logits = tensor_f32 (logits_data, logits_shape, 2);
  g_autoptr(MienTensor) targets = NULL;
  g_autoptr(MienTensor) weight = tensor_f32 (weight_data, weight_shape, 1);
  g_autoptr(MienTensor) loss = NULL;
  g_autoptr(MienTensor) plain = NULL;

  targets = mien_tensor_new_from_data (targets_data, MIEN_DTYPE_INT64, targets_shape, 1, &error);
  g_assert_no_error (error);

  /* No weight, no smoothing: mean of -log p = (ln 3 + ln 2) / 2 = (1.0986123 + 0.6931472) / 2
   * = 0.8958797 */
  plain = mien_tensor_cross_entropy (logits, targets, NULL, 0.0, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (item (plain), 0.8958797, EPS);

  /* weight [1, 3, 5], alpha = 0.2, C = 3. PyTorch's mean with weights divides by the sum of the
   * targets' weights, w[0] + w[1] = 4, for both terms:
   *   nll    = (1 * ln 3 + 3 * ln 2) / 4 = (1.0986123 + 2.0794415) / 4 = 0.7945135
   *   smooth = (sum_c w_c (-log p_0c) + sum_c w_c (-log p_1c)) / 4
   *          = ((1 + 3 + 5) ln 3 + (1 * ln 4 + 3 * ln 2 + 5 * ln 4)) / 4
   *          = (9 ln 3 + 15 ln 2) / 4 = (9.8875106 + 10.3972077) / 4 = 5.0711796
   *   loss   = (1 - alpha) nll + alpha / C * smooth = 0.8 * 0.7945135 + 0.2 / 3 * 5.0711796
   *          = 0.6356108 + 0.3380786 = 0.9736894 */
  loss = mien_tensor_cross_entropy (logits, targets, weight, 0.2, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (item (loss), 0.9736894, EPS);
}

static void
test_pooling (void)
{
  g_autoptr(GError) error = NULL;
  float x_data[16];
  const float small_data[] = { 1, 2, 3, 4 };
  gint64 x_shape[] = { 1, 1, 4, 4 };
  gint64 small_shape[] = { 1, 1, 2, 2 };
  gint64 out_shape[] = { 1, 1, 2, 2 };
  gint64 one_shape[] = { 1, 1, 1, 1 };
  const gint64 k2[] = { 2, 2 };
  const gint64 k3[] = { 3, 3 };
  const gint64 s1[] = { 1, 1 };
  const gint64 p1[] = { 1, 1 };
  const gint64 out1[] = { 1, 1 };
  g_autoptr(MienTensor) x = NULL;
  g_autoptr(MienTensor) small = NULL;
  g_autoptr(MienTensor) maxp = NULL;
  g_autoptr(MienTensor) avgp = NULL;
  g_autoptr(MienTensor) avg_excl = NULL;
  g_autoptr(MienTensor) avg_incl = NULL;
  g_autoptr(MienTensor) adaptive = NULL;
  /* x = 1..16 row-major; 2x2 windows: {1,2,5,6} {3,4,7,8} {9,10,13,14} {11,12,15,16} */
  const float expected_max[] = { 6, 8, 14, 16 };
  const float expected_avg[] = { 3.5f, 5.5f, 11.5f, 13.5f };
  /* 3x3 windows with padding 1 over a 2x2 input each cover all four values (sum 10): */
  const float expected_excl[] = { 2.5f, 2.5f, 2.5f, 2.5f };   /* 10 / 4 real cells */
  const float expected_incl[] = { 10.0f / 9, 10.0f / 9, 10.0f / 9, 10.0f / 9 };  /* 10 / 9 */
  const float expected_adaptive[] = { 8.5f };                  /* mean of 1..16 */

  for (int i = 0; i < 16; i++)
    x_data[i] = i + 1;
  x = tensor_f32 (x_data, x_shape, 4);
  small = tensor_f32 (small_data, small_shape, 4);

  /* NULL stride means stride = kernel, as in PyTorch. */
  maxp = mien_tensor_max_pool2d (x, k2, NULL, NULL, FALSE, &error);
  g_assert_no_error (error);
  assert_tensor (maxp, out_shape, 4, expected_max, 0.0);

  avgp = mien_tensor_avg_pool2d (x, k2, k2, NULL, FALSE, TRUE, &error);
  g_assert_no_error (error);
  assert_tensor (avgp, out_shape, 4, expected_avg, EPS);

  avg_excl = mien_tensor_avg_pool2d (small, k3, s1, p1, FALSE, FALSE, &error);
  g_assert_no_error (error);
  assert_tensor (avg_excl, out_shape, 4, expected_excl, EPS);

  avg_incl = mien_tensor_avg_pool2d (small, k3, s1, p1, FALSE, TRUE, &error);
  g_assert_no_error (error);
  assert_tensor (avg_incl, out_shape, 4, expected_incl, EPS);

  adaptive = mien_tensor_adaptive_avg_pool2d (x, out1, &error);
  g_assert_no_error (error);
  assert_tensor (adaptive, one_shape, 4, expected_adaptive, EPS);
}

static void
test_attention (void)
{
  g_autoptr(GError) error = NULL;
  const float q_data[] = { 1, 0 };
  const float k_data[] = { 1, 0, 0, 1 };
  const float v_data[] = { 1, 2, 3, 4 };
  gint64 q_shape[] = { 1, 1, 2 };
  gint64 kv_shape[] = { 1, 2, 2 };
  g_autoptr(MienTensor) q = tensor_f32 (q_data, q_shape, 3);
  g_autoptr(MienTensor) k = tensor_f32 (k_data, kv_shape, 3);
  g_autoptr(MienTensor) v = tensor_f32 (v_data, kv_shape, 3);
  g_autoptr(MienTensor) out = NULL;
  g_autoptr(MienTensor) out_eval = NULL;
  /* scores = q k^T / sqrt (2) = [1/sqrt 2, 0] = [0.7071068, 0];
   * softmax: e^0.7071068 = 2.0281150, p = [2.0281150, 1] / 3.0281150 = [0.6697615, 0.3302385];
   * out = p0 [1, 2] + p1 [3, 4] = [1 + 2 p1, 2 + 2 p1] = [1.6604770, 2.6604770] */
  const float expected[] = { 1.6604770f, 2.6604770f };

  out = mien_tensor_scaled_dot_product_attention (q, k, v, 0.0, TRUE, &error);
  g_assert_no_error (error);
  assert_tensor (out, q_shape, 3, expected, EPS);

  /* Dropout is ignored outside training. */
  out_eval = mien_tensor_scaled_dot_product_attention (q, k, v, 0.9, FALSE, &error);
  g_assert_no_error (error);
  assert_tensor (out_eval, q_shape, 3, expected, EPS);
}

static void
test_shapes (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) r = NULL;
  g_autoptr(MienTensor) m = NULL;
  g_autoptr(MienTensor) p = NULL;
  g_autoptr(MienTensor) t = NULL;
  g_autoptr(MienTensor) c0 = NULL;
  g_autoptr(MienTensor) c1 = NULL;
  g_autoptr(MienTensor) st = NULL;
  g_autoptr(MienTensor) n = NULL;
  g_autoptr(MienTensor) sel = NULL;
  g_autoptr(MienTensor) idx = NULL;
  g_autoptr(MienTensor) is = NULL;
  g_autoptr(MienTensor) fl = NULL;
  g_autoptr(MienTensor) un = NULL;
  g_autoptr(MienTensor) sq = NULL;
  g_autoptr(MienTensor) ex = NULL;
  g_autoptr(MienTensor) pad = NULL;
  gint64 minus_one[] = { 2, -1 };
  gint64 s23[] = { 2, 3 };
  gint64 s32[] = { 3, 2 };
  gint64 s43[] = { 4, 3 };
  gint64 s26[] = { 2, 6 };
  gint64 s223[] = { 2, 2, 3 };
  gint64 s22[] = { 2, 2 };
  gint64 s2[] = { 2 };
  gint64 s6[] = { 6 };
  gint64 s123[] = { 1, 2, 3 };
  gint64 s1_3[] = { 1, 3 };
  gint64 s3[] = { 3 };
  gint64 s23_expand[] = { 2, 3 };
  gint64 perm[] = { 1, 0 };
  const gint64 index_data[] = { 2, 0 };
  const gint64 pad_lrtb[] = { 1, 0, 0, 2 };
  const float five = 5;
  gint64 one4[] = { 1, 1, 1, 1 };
  gint64 pad_shape[] = { 1, 1, 3, 2 };
  MienTensor *pair[2];

  r = mien_tensor_new_arange (6, MIEN_DTYPE_FLOAT32, mien_device_cpu (), &error);
  g_assert_no_error (error);
  m = mien_tensor_reshape (r, minus_one, 2, &error);
  g_assert_no_error (error);
  {
    const float expected[] = { 0, 1, 2, 3, 4, 5 };
    assert_tensor (m, s23, 2, expected, 0.0);
  }

  /* [[0, 1, 2], [3, 4, 5]] transposed; to_host copes with the non-contiguous layout. */
  p = mien_tensor_permute (m, perm, 2, &error);
  g_assert_no_error (error);
  t = mien_tensor_transpose (m, 0, 1, &error);
  g_assert_no_error (error);
  {
    const float expected[] = { 0, 3, 1, 4, 2, 5 };
    assert_tensor (p, s32, 2, expected, 0.0);
    assert_tensor (t, s32, 2, expected, 0.0);
  }

  pair[0] = m;
  pair[1] = m;
  c0 = mien_tensor_cat (pair, 2, 0, &error);
  g_assert_no_error (error);
  c1 = mien_tensor_cat (pair, 2, 1, &error);
  g_assert_no_error (error);
  st = mien_tensor_stack (pair, 2, 0, &error);
  g_assert_no_error (error);
  {
    const float expected0[] = { 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5 };
    const float expected1[] = { 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5 };
    assert_tensor (c0, s43, 2, expected0, 0.0);
    assert_tensor (c1, s26, 2, expected1, 0.0);
    assert_tensor (st, s223, 3, expected0, 0.0);
  }

  /* Columns 1..2 of each row. */
  n = mien_tensor_narrow (m, 1, 1, 2, &error);
  g_assert_no_error (error);
  {
    const float expected[] = { 1, 2, 4, 5 };
    assert_tensor (n, s22, 2, expected, 0.0);
  }

  sel = mien_tensor_select (m, 1, 2, &error);
  g_assert_no_error (error);
  {
    const float expected[] = { 2, 5 };
    assert_tensor (sel, s2, 1, expected, 0.0);
  }

  idx = mien_tensor_new_from_data (index_data, MIEN_DTYPE_INT64, s2, 1, &error);
  g_assert_no_error (error);
  is = mien_tensor_index_select (m, 1, idx, &error);
  g_assert_no_error (error);
  {
    const float expected[] = { 2, 0, 5, 3 };
    assert_tensor (is, s22, 2, expected, 0.0);
  }

  fl = mien_tensor_flatten (m, 0, -1, &error);
  g_assert_no_error (error);
  un = mien_tensor_unsqueeze (m, 0, &error);
  g_assert_no_error (error);
  {
    const float expected[] = { 0, 1, 2, 3, 4, 5 };
    assert_tensor (fl, s6, 1, expected, 0.0);
    assert_tensor (un, s123, 3, expected, 0.0);
  }

  {
    g_autoptr(MienTensor) row = mien_tensor_narrow (m, 0, 0, 1, &error);
    g_assert_no_error (error);
    sq = mien_tensor_squeeze_dim (row, 0, &error);
    g_assert_no_error (error);
    ex = mien_tensor_expand (row, s23_expand, 2, &error);
    g_assert_no_error (error);
    {
      const float expected_sq[] = { 0, 1, 2 };
      const float expected_ex[] = { 0, 1, 2, 0, 1, 2 };
      assert_tensor (row, s1_3, 2, expected_sq, 0.0);
      assert_tensor (sq, s3, 1, expected_sq, 0.0);
      assert_tensor (ex, s23, 2, expected_ex, 0.0);
    }
  }

  /* [5] padded left by 1 and bottom by 2: [[0, 5], [0, 0], [0, 0]] */
  {
    g_autoptr(MienTensor) one = tensor_f32 (&five, one4, 4);
    pad = mien_tensor_pad2d (one, pad_lrtb, 0.0, &error);
    g_assert_no_error (error);
    {
      const float expected[] = { 0, 5, 0, 0, 0, 0 };
      assert_tensor (pad, pad_shape, 4, expected, 0.0);
    }
  }

  /* A shape that does not fit is libtorch's error, not a crash. */
  {
    gint64 bad[] = { 4, 4 };
    MienTensor *fail = mien_tensor_reshape (r, bad, 2, &error);
    g_assert_null (fail);
    g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_FAILED);
    g_clear_error (&error);
  }
}

static void
test_elementwise (void)
{
  g_autoptr(GError) error = NULL;
  const float a_data[] = { -1.5f, 0.0f, 2.0f, 4.0f };
  const float b_data[] = { 1.0f, 2.0f, 2.0f, -1.0f };
  const float c_data[] = { 1.0f, 4.0f, 9.0f, 0.25f };
  gint64 s4[] = { 4 };
  gint64 s22[] = { 2, 2 };
  gint64 s2[] = { 2 };
  gint64 s21[] = { 2, 1 };
  gint64 dim1[] = { 1 };
  g_autoptr(MienTensor) a = tensor_f32 (a_data, s4, 1);
  g_autoptr(MienTensor) b = tensor_f32 (b_data, s4, 1);
  g_autoptr(MienTensor) c = tensor_f32 (c_data, s4, 1);
  g_autoptr(MienTensor) a22 = NULL;
  MienTensor *r;

#define CHECK(expr, ...)                                        \
  G_STMT_START {                                                \
    const float expected_[] = { __VA_ARGS__ };                  \
    r = (expr);                                                 \
    g_assert_no_error (error);                                  \
    assert_tensor (r, s4, 1, expected_, 1e-5);                  \
    mien_tensor_free (r);                                       \
  } G_STMT_END

  CHECK (mien_tensor_add (a, b, &error), -0.5f, 2, 4, 3);
  CHECK (mien_tensor_sub (a, b, &error), -2.5f, -2, 0, 5);
  CHECK (mien_tensor_mul (a, b, &error), -1.5f, 0, 4, -4);
  CHECK (mien_tensor_div (a, b, &error), -1.5f, 0, 1, -4);
  CHECK (mien_tensor_maximum (a, b, &error), 1, 2, 2, 4);
  CHECK (mien_tensor_minimum (a, b, &error), -1.5f, 0, 2, -1);
  CHECK (mien_tensor_add_scalar (a, 1.0, &error), -0.5f, 1, 3, 5);
  CHECK (mien_tensor_mul_scalar (a, -2.0, &error), 3, 0, -4, -8);
  CHECK (mien_tensor_pow_scalar (a, 2.0, &error), 2.25f, 0, 4, 16);
  CHECK (mien_tensor_clamp (a, -1.0, 3.0, &error), -1, 0, 2, 3);
  CHECK (mien_tensor_eq (a, b, &error), 0, 0, 1, 0);
  CHECK (mien_tensor_lt_scalar (a, 0.5, &error), 1, 1, 0, 0);
  CHECK (mien_tensor_gt_scalar (a, 0.5, &error), 0, 0, 1, 1);
  CHECK (mien_tensor_neg (a, &error), 1.5f, 0, -2, -4);
  CHECK (mien_tensor_abs (a, &error), 1.5f, 0, 2, 4);
  CHECK (mien_tensor_floor (a, &error), -2, 0, 2, 4);
  /* Round half to even, as PyTorch: -1.5 -> -2. */
  CHECK (mien_tensor_round (a, &error), -2, 0, 2, 4);
  CHECK (mien_tensor_relu (a, &error), 0, 0, 2, 4);
  CHECK (mien_tensor_exp (b, &error), (float) G_E, 7.3890561f, 7.3890561f, 0.3678794f);
  CHECK (mien_tensor_sqrt (c, &error), 1, 2, 3, 0.5f);
  /* GELU(x) = x Φ(x): Φ(-1.5) = 0.0668072, Φ(2) = 0.9772499, Φ(4) = 0.9999683 */
  CHECK (mien_tensor_gelu (a, &error), -0.1002108f, 0, 1.9544997f, 3.9998733f);
  /* SiLU(x) = x / (1 + e^-x): e^1.5 = 4.4816891, e^-2 = 0.1353353, e^-4 = 0.0183156 */
  CHECK (mien_tensor_silu (a, &error), -1.5f / 5.4816891f, 0, 2 / 1.1353353f, 4 / 1.0183156f);
  CHECK (mien_tensor_sigmoid (a, &error), 1 / 5.4816891f, 0.5f, 1 / 1.1353353f, 1 / 1.0183156f);
  /* tanh(-1.5) = -0.9051483, tanh(2) = 0.9640276, tanh(4) = 0.9993293 */
  CHECK (mien_tensor_tanh (a, &error), -0.9051483f, 0, 0.9640276f, 0.9993293f);
#undef CHECK

  /* log(0) = -inf, not an error. */
  r = mien_tensor_log (a, &error);
  g_assert_no_error (error);
  {
    float v[4];
    g_assert_true (mien_tensor_to_host (r, v, sizeof v, &error));
    g_assert_true (isnan (v[0]));
    g_assert_true (isinf (v[1]) && v[1] < 0);
    g_assert_cmpfloat_with_epsilon (v[2], G_LN2, 1e-6);
  }
  mien_tensor_free (r);

  /* where (a > 0.5, a, b) */
  {
    g_autoptr(MienTensor) cond = mien_tensor_gt_scalar (a, 0.5, &error);
    const float expected[] = { 1, 2, 2, 4 };
    g_assert_no_error (error);
    g_assert_cmpint (mien_tensor_dtype (cond), ==, MIEN_DTYPE_BOOL);
    r = mien_tensor_where (cond, a, b, &error);
    g_assert_no_error (error);
    assert_tensor (r, s4, 1, expected, 0.0);
    mien_tensor_free (r);
  }

  /* Reductions on a = [[-1.5, 0], [2, 4]] */
  a22 = mien_tensor_reshape (a, s22, 2, &error);
  g_assert_no_error (error);
  r = mien_tensor_sum (a22, &error);
  g_assert_cmpfloat_with_epsilon (item (r), 4.5, 1e-6);
  mien_tensor_free (r);
  r = mien_tensor_mean (a22, &error);
  g_assert_cmpfloat_with_epsilon (item (r), 1.125, 1e-6);
  mien_tensor_free (r);
  {
    const float sums[] = { -1.5f, 6 };
    const float means[] = { -0.75f, 3 };
    const float maxs[] = { 0, 4 };
    const float mins[] = { -1.5f, 2 };
    const float argmaxs[] = { 1, 1 };
    r = mien_tensor_sum_dims (a22, dim1, 1, FALSE, &error);
    g_assert_no_error (error);
    assert_tensor (r, s2, 1, sums, 1e-6);
    mien_tensor_free (r);
    r = mien_tensor_mean_dims (a22, dim1, 1, TRUE, &error);
    g_assert_no_error (error);
    assert_tensor (r, s21, 2, means, 1e-6);
    mien_tensor_free (r);
    r = mien_tensor_amax_dims (a22, dim1, 1, FALSE, &error);
    g_assert_no_error (error);
    assert_tensor (r, s2, 1, maxs, 0.0);
    mien_tensor_free (r);
    r = mien_tensor_amin_dims (a22, dim1, 1, FALSE, &error);
    g_assert_no_error (error);
    assert_tensor (r, s2, 1, mins, 0.0);
    mien_tensor_free (r);
    r = mien_tensor_argmax (a22, 1, FALSE, &error);
    g_assert_no_error (error);
    g_assert_cmpint (mien_tensor_dtype (r), ==, MIEN_DTYPE_INT64);
    assert_tensor (r, s2, 1, argmaxs, 0.0);
    mien_tensor_free (r);
  }
}

static void
test_dropout_stochastic_depth (void)
{
  g_autoptr(GError) error = NULL;
  const float x_data[] = { 1, 2, 3, 4, 5, 6 };
  const float zeros[] = { 0, 0, 0, 0, 0, 0 };
  gint64 shape[] = { 2, 3 };
  g_autoptr(MienTensor) x = tensor_f32 (x_data, shape, 2);
  MienTensor *y;

  /* Identity outside training, and with p = 0. */
  y = mien_tensor_dropout (x, 0.5, FALSE, &error);
  g_assert_no_error (error);
  assert_tensor (y, shape, 2, x_data, 0.0);
  mien_tensor_free (y);
  y = mien_tensor_stochastic_depth (x, 0.5, FALSE, &error);
  g_assert_no_error (error);
  assert_tensor (y, shape, 2, x_data, 0.0);
  mien_tensor_free (y);
  y = mien_tensor_stochastic_depth (x, 0.0, TRUE, &error);
  g_assert_no_error (error);
  assert_tensor (y, shape, 2, x_data, 0.0);
  mien_tensor_free (y);

  /* p = 1 drops everything (and, as torchvision, does not divide by the survival rate 0). */
  y = mien_tensor_dropout (x, 1.0, TRUE, &error);
  g_assert_no_error (error);
  assert_tensor (y, shape, 2, zeros, 0.0);
  mien_tensor_free (y);
  y = mien_tensor_stochastic_depth (x, 1.0, TRUE, &error);
  g_assert_no_error (error);
  assert_tensor (y, shape, 2, zeros, 0.0);
  mien_tensor_free (y);

  /* p = 0.5 in training: each row is either dropped or doubled as a whole. */
  for (int round = 0; round < 8; round++)
    {
      float v[6];

      y = mien_tensor_stochastic_depth (x, 0.5, TRUE, &error);
      g_assert_no_error (error);
      g_assert_true (mien_tensor_to_host (y, v, sizeof v, &error));
      for (int row = 0; row < 2; row++)
        {
          gboolean dropped = v[row * 3] == 0.0f;
          for (int col = 0; col < 3; col++)
            g_assert_cmpfloat (v[row * 3 + col], ==, dropped ? 0.0f : 2 * x_data[row * 3 + col]);
        }
      mien_tensor_free (y);
    }

  y = mien_tensor_stochastic_depth (x, 1.5, TRUE, &error);
  g_assert_null (y);
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
}

/* ---- Autograd and grad mode ------------------------------------------------------------- */

static void
test_autograd (void)
{
  g_autoptr(GError) error = NULL;
  const float x_data[] = { 1, 2, 3 };
  gint64 shape[] = { 3 };
  g_autoptr(MienTensor) x = tensor_f32 (x_data, shape, 1);
  g_autoptr(MienTensor) xx = NULL;
  g_autoptr(MienTensor) y = NULL;
  g_autoptr(MienTensor) grad = NULL;
  /* d/dx sum (x²) = 2x */
  const float expected[] = { 2, 4, 6 };
  const float expected_twice[] = { 4, 8, 12 };

  g_assert_false (mien_tensor_requires_grad (x));
  g_assert_null (mien_tensor_grad (x));
  mien_tensor_set_requires_grad (x, TRUE);
  g_assert_true (mien_tensor_requires_grad (x));

  xx = mien_tensor_mul (x, x, &error);
  g_assert_no_error (error);
  g_assert_true (mien_tensor_requires_grad (xx));

  /* Only a one-element tensor can start backpropagation. */
  g_assert_false (mien_tensor_backward (xx, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  y = mien_tensor_sum (xx, &error);
  g_assert_no_error (error);
  g_assert_true (mien_tensor_backward (y, &error));
  g_assert_no_error (error);
  grad = mien_tensor_grad (x);
  assert_tensor (grad, shape, 1, expected, EPS);
  g_clear_pointer (&grad, mien_tensor_free);

  /* Gradients accumulate until dropped, as in PyTorch. */
  g_clear_pointer (&xx, mien_tensor_free);
  g_clear_pointer (&y, mien_tensor_free);
  xx = mien_tensor_mul (x, x, &error);
  y = mien_tensor_sum (xx, &error);
  g_assert_true (mien_tensor_backward (y, &error));
  grad = mien_tensor_grad (x);
  assert_tensor (grad, shape, 1, expected_twice, EPS);
  g_clear_pointer (&grad, mien_tensor_free);

  mien_tensor_zero_grad (x);
  g_assert_null (mien_tensor_grad (x));

  /* The graph was freed by backward: a second pass through it is libtorch's error. */
  g_assert_false (mien_tensor_backward (y, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_FAILED);
  g_clear_error (&error);

  mien_tensor_set_requires_grad (x, FALSE);
  g_assert_false (mien_tensor_requires_grad (x));
}

static void
test_no_grad_guard (void)
{
  g_autoptr(GError) error = NULL;
  const float x_data[] = { 1, 2 };
  gint64 shape[] = { 2 };
  g_autoptr(MienTensor) x = tensor_f32 (x_data, shape, 1);
  g_autoptr(MienTensor) inside = NULL;
  g_autoptr(MienTensor) outside = NULL;

  mien_tensor_set_requires_grad (x, TRUE);
  g_assert_true (mien_torch_is_grad_enabled ());
  {
    g_autoptr(MienNoGradGuard) guard = mien_no_grad_guard_new ();
    g_assert_false (mien_torch_is_grad_enabled ());
    {
      /* Nested guards restore what they found. */
      g_autoptr(MienNoGradGuard) inner = mien_no_grad_guard_new ();
      g_assert_false (mien_torch_is_grad_enabled ());
    }
    g_assert_false (mien_torch_is_grad_enabled ());
    inside = mien_tensor_mul (x, x, &error);
    g_assert_no_error (error);
    g_assert_false (mien_tensor_requires_grad (inside));
  }
  g_assert_true (mien_torch_is_grad_enabled ());
  outside = mien_tensor_mul (x, x, &error);
  g_assert_no_error (error);
  g_assert_true (mien_tensor_requires_grad (outside));
}

static void
test_autocast (void)
{
  g_autoptr(GError) error = NULL;
  const float x_data[] = { 1, 2 };
  const float w_data[] = { 1, 0, 0, 1 };
  gint64 x_shape[] = { 1, 2 };
  gint64 w_shape[] = { 2, 2 };
  g_autoptr(MienTensor) x = tensor_f32 (x_data, x_shape, 2);
  g_autoptr(MienTensor) w = tensor_f32 (w_data, w_shape, 2);
  MienAutocastGuard *guard;
  MienTensor *y;

  guard = mien_autocast_guard_new (MIEN_DEVICE_CPU, MIEN_DTYPE_BFLOAT16, &error);
  g_assert_no_error (error);
  y = mien_tensor_linear (x, w, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_dtype (y), ==, MIEN_DTYPE_BFLOAT16);
  /* 1 and 2 are exact in bfloat16. */
  assert_tensor (y, x_shape, 2, x_data, 0.0);
  mien_tensor_free (y);
  mien_autocast_guard_free (guard);

  y = mien_tensor_linear (x, w, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_dtype (y), ==, MIEN_DTYPE_FLOAT32);
  mien_tensor_free (y);

  /* Only half types make sense; CPU autocast of this libtorch knows only bfloat16. */
  g_assert_null (mien_autocast_guard_new (MIEN_DEVICE_CPU, MIEN_DTYPE_FLOAT32, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (mien_autocast_guard_new (MIEN_DEVICE_CPU, MIEN_DTYPE_FLOAT16, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (mien_autocast_guard_new (MIEN_DEVICE_META, MIEN_DTYPE_BFLOAT16, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  if (!mien_torch_cuda_is_available ())
    {
      g_assert_null (mien_autocast_guard_new (MIEN_DEVICE_CUDA, MIEN_DTYPE_FLOAT16, &error));
      g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_NO_DEVICE);
      g_clear_error (&error);
    }
  else
    {
      /* A CUDA guard leaves CPU ops alone. */
      guard = mien_autocast_guard_new (MIEN_DEVICE_CUDA, MIEN_DTYPE_FLOAT16, &error);
      g_assert_no_error (error);
      y = mien_tensor_linear (x, w, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (mien_tensor_dtype (y), ==, MIEN_DTYPE_FLOAT32);
      mien_tensor_free (y);
      mien_autocast_guard_free (guard);
    }
}

/* ---- In place ------------------------------------------------------------------------- */

static void
test_in_place (void)
{
  g_autoptr(GError) error = NULL;
  const gint64 int_data[] = { 1, 2, 3 };
  const float big_data[] = { 9, 8, 7, 6 };
  gint64 s3[] = { 3 };
  gint64 s4[] = { 4 };
  gint64 s22[] = { 2, 2 };
  gint64 w_shape[] = { 8, 4, 3, 3 };
  gint64 lin_shape[] = { 16, 3 };
  gint64 big_shape[] = { 2000 };
  g_autoptr(MienTensor) dst = NULL;
  g_autoptr(MienTensor) ints = NULL;
  g_autoptr(MienTensor) handle = NULL;
  g_autoptr(MienTensor) big = NULL;
  g_autoptr(MienTensor) w = NULL;
  g_autoptr(MienTensor) lin = NULL;
  g_autoptr(MienTensor) tn = NULL;
  g_autoptr(MienTensor) mx = NULL;
  g_autoptr(MienTensor) mn = NULL;
  const float expected_copy[] = { 1, 2, 3 };

  dst = mien_tensor_new_zeros (s3, 1, MIEN_DTYPE_FLOAT32, mien_device_cpu (), &error);
  g_assert_no_error (error);
  ints = mien_tensor_new_from_data (int_data, MIEN_DTYPE_INT64, s3, 1, &error);
  g_assert_no_error (error);
  /* copy_ converts the dtype. */
  g_assert_true (mien_tensor_copy_ (dst, ints, &error));
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_dtype (dst), ==, MIEN_DTYPE_FLOAT32);
  assert_tensor (dst, s3, 1, expected_copy, 0.0);

  /* ...but does not broadcast: shapes must be equal. */
  big = tensor_f32 (big_data, s4, 1);
  g_assert_false (mien_tensor_copy_ (dst, big, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* set_data_ swaps the data behind every handle, shape included, and keeps the identity
   * (requires_grad stays). */
  mien_tensor_set_requires_grad (dst, TRUE);
  handle = mien_tensor_alias (dst);
  {
    g_autoptr(MienTensor) big22 = mien_tensor_reshape (big, s22, 2, &error);
    g_assert_no_error (error);
    g_assert_true (mien_tensor_set_data_ (dst, big22, &error));
    g_assert_no_error (error);
  }
  assert_tensor (handle, s22, 2, big_data, 0.0);
  g_assert_true (mien_tensor_requires_grad (handle));

  /* fill_ works on a leaf that requires grad (no autograd recording). */
  g_assert_true (mien_tensor_fill_ (handle, 0.25, &error));
  g_assert_no_error (error);
  {
    const float expected[] = { 0.25f, 0.25f, 0.25f, 0.25f };
    assert_tensor (dst, s22, 2, expected, 0.0);
  }

  /* Initialisers: fan_in of [8, 4, 3, 3] is 4 * 3 * 3 = 36. kaiming_uniform_ with a = sqrt (5)
   * has gain sqrt (2 / (1 + 5)) and bound gain * sqrt (3 / fan_in) = 1 / sqrt (fan_in). */
  w = mien_tensor_new_empty (w_shape, 4, MIEN_DTYPE_FLOAT32, mien_device_cpu (), &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_fan_in (w), ==, 36);
  g_assert_true (mien_tensor_kaiming_uniform_ (w, sqrt (5.0), &error));
  g_assert_no_error (error);
  mx = mien_tensor_amax_dims (w, NULL, 0, FALSE, &error);
  g_assert_no_error (error);
  mn = mien_tensor_amin_dims (w, NULL, 0, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (item (mx), <=, 1.0 / 6.0 + 1e-6);
  g_assert_cmpfloat (item (mn), >=, -1.0 / 6.0 - 1e-6);
  g_clear_pointer (&mx, mien_tensor_free);
  g_clear_pointer (&mn, mien_tensor_free);

  /* xavier_uniform_ on [16, 3]: bound sqrt (6 / (3 + 16)) = 0.5619515 */
  lin = mien_tensor_new_empty (lin_shape, 2, MIEN_DTYPE_FLOAT32, mien_device_cpu (), &error);
  g_assert_true (mien_tensor_xavier_uniform_ (lin, &error));
  g_assert_no_error (error);
  mx = mien_tensor_amax_dims (lin, NULL, 0, FALSE, &error);
  mn = mien_tensor_amin_dims (lin, NULL, 0, FALSE, &error);
  g_assert_cmpfloat (item (mx), <=, 0.5619515 + 1e-6);
  g_assert_cmpfloat (item (mn), >=, -0.5619515 - 1e-6);
  g_clear_pointer (&mx, mien_tensor_free);
  g_clear_pointer (&mn, mien_tensor_free);
  g_assert_true (mien_tensor_kaiming_normal_ (lin, MIEN_FAN_OUT, &error));
  g_assert_no_error (error);

  /* trunc_normal_ (0, 1, -0.5, 0.5) stays inside [-0.5, 0.5]. */
  tn = mien_tensor_new_empty (big_shape, 1, MIEN_DTYPE_FLOAT32, mien_device_cpu (), &error);
  g_assert_true (mien_tensor_trunc_normal_ (tn, 0.0, 1.0, -0.5, 0.5, &error));
  g_assert_no_error (error);
  mx = mien_tensor_amax_dims (tn, NULL, 0, FALSE, &error);
  mn = mien_tensor_amin_dims (tn, NULL, 0, FALSE, &error);
  g_assert_cmpfloat (item (mx), <=, 0.5);
  g_assert_cmpfloat (item (mn), >=, -0.5);
  g_clear_pointer (&mx, mien_tensor_free);
  g_clear_pointer (&mn, mien_tensor_free);

  g_assert_true (mien_tensor_uniform_ (tn, 2.0, 3.0, &error));
  mx = mien_tensor_amax_dims (tn, NULL, 0, FALSE, &error);
  mn = mien_tensor_amin_dims (tn, NULL, 0, FALSE, &error);
  g_assert_cmpfloat (item (mx), <, 3.0);
  g_assert_cmpfloat (item (mn), >=, 2.0);
  g_assert_true (mien_tensor_normal_ (tn, 0.0, 1.0, &error));
  g_assert_no_error (error);
}

/* ---- Devices, meta tensors, errors ---------------------------------------------------- */

static void
test_devices (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *cpu_str = NULL;
  g_autofree char *meta_str = NULL;
  g_autofree char *cuda_str = NULL;
  MienDevice device = { MIEN_DEVICE_META, 7 };
  MienDevice meta = { MIEN_DEVICE_META, 0 };
  gint64 shape[] = { 2 };

  g_assert_true (mien_device_parse ("cpu", &device, &error));
  g_assert_no_error (error);
  g_assert_cmpint (device.type, ==, MIEN_DEVICE_CPU);
  g_assert_cmpint (device.index, ==, 0);

  g_assert_true (mien_device_parse ("meta", &device, &error));
  g_assert_no_error (error);
  g_assert_cmpint (device.type, ==, MIEN_DEVICE_META);
  g_assert_true (mien_device_equal (device, meta));
  g_assert_false (mien_device_equal (device, mien_device_cpu ()));
  g_assert_true (mien_device_equal (mien_device_cuda (1), mien_device_cuda (1)));
  g_assert_false (mien_device_equal (mien_device_cuda (0), mien_device_cuda (1)));

  cpu_str = mien_device_to_string (mien_device_cpu ());
  meta_str = mien_device_to_string (meta);
  cuda_str = mien_device_to_string (mien_device_cuda (2));
  g_assert_cmpstr (cpu_str, ==, "cpu");
  g_assert_cmpstr (meta_str, ==, "meta");
  g_assert_cmpstr (cuda_str, ==, "cuda:2");

  /* Not device names at all. */
  g_assert_false (mien_device_parse ("gpu", &device, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (mien_device_parse ("cuda:x", &device, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (mien_device_parse ("cuda:-1", &device, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* Far beyond any machine. */
  g_assert_false (mien_device_parse ("cuda:999", &device, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_NO_DEVICE);
  g_clear_error (&error);

  g_assert_cmpint (mien_torch_cuda_device_count (), >=, 0);
  if (!mien_torch_cuda_is_available ())
    {
      MienTensor *t;

      g_assert_cmpint (mien_torch_cuda_device_count (), ==, 0);
      g_assert_false (mien_device_parse ("cuda", &device, &error));
      g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_NO_DEVICE);
      g_assert_nonnull (strstr (error->message, "CUDA is not available"));
      g_clear_error (&error);
      g_assert_false (mien_device_parse ("cuda:0", &device, &error));
      g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_NO_DEVICE);
      g_clear_error (&error);

      g_assert_null (mien_torch_cuda_device_name (0, &error));
      g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_NO_DEVICE);
      g_clear_error (&error);
      g_assert_false (mien_torch_cuda_synchronize (0, &error));
      g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_NO_DEVICE);
      g_clear_error (&error);

      t = mien_tensor_new_zeros (shape, 1, MIEN_DTYPE_FLOAT32, mien_device_cuda (0), &error);
      g_assert_null (t);
      g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_NO_DEVICE);
      g_clear_error (&error);
    }
  else
    {
      g_autofree char *name = NULL;
      g_autofree char *description = NULL;
      g_autoptr(MienTensor) t = NULL;
      g_autoptr(MienTensor) pinned = NULL;
      g_autoptr(MienTensor) back = NULL;
      float values[2] = { 0 };
      const float ones[] = { 1, 1 };

      g_assert_true (mien_device_parse ("cuda", &device, &error));
      g_assert_no_error (error);
      g_assert_true (mien_device_equal (device, mien_device_cuda (0)));
      name = mien_torch_cuda_device_name (0, &error);
      g_assert_no_error (error);
      g_assert_nonnull (name);
      g_assert_cmpstr (name, !=, "");
      g_test_message ("CUDA device 0: %s", name);

      pinned = mien_tensor_new_full (shape, 1, 1.0, MIEN_DTYPE_FLOAT32, mien_device_cpu (),
                                     &error);
      g_clear_pointer (&t, mien_tensor_free);
      t = mien_tensor_pin_memory (pinned, &error);
      g_assert_no_error (error);
      back = mien_tensor_to_device (t, mien_device_cuda (0), &error);
      g_assert_no_error (error);
      g_assert_true (mien_torch_cuda_synchronize (0, &error));
      g_assert_no_error (error);
      description = mien_tensor_describe (back);
      g_assert_cmpstr (description, ==, "float32[2] cuda:0");
      g_assert_true (mien_tensor_to_host (back, values, sizeof values, &error));
      g_assert_cmpmem (values, sizeof values, ones, sizeof ones);
    }
}

static void
test_meta (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) t = NULL;
  g_autoptr(MienTensor) e = NULL;
  g_autoptr(MienTensor) real = NULL;
  g_autoptr(MienTensor) y = NULL;
  g_autofree char *description = NULL;
  /* 4 * 10^12 bytes in float32: this only works because meta tensors have no storage. */
  gint64 huge[] = { 1000000, 1000000 };
  gint64 w_shape[] = { 64, 3, 7, 7 };
  gint64 x_shape[] = { 2, 3, 32, 32 };
  float dummy[4];

  t = mien_tensor_new_zeros (huge, 2, MIEN_DTYPE_FLOAT32, (MienDevice) { MIEN_DEVICE_META, 0 },
                             &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_device (t).type, ==, MIEN_DEVICE_META);
  g_assert_cmpint (mien_tensor_numel (t), ==, G_GINT64_CONSTANT (1000000000000));
  description = mien_tensor_describe (t);
  g_assert_cmpstr (description, ==, "float32[1000000, 1000000] meta");

  /* In-place ops are no-ops that succeed. */
  g_assert_true (mien_tensor_normal_ (t, 0.0, 0.02, &error));
  g_assert_no_error (error);
  g_assert_true (mien_tensor_fill_ (t, 1.0, &error));
  g_assert_true (mien_tensor_trunc_normal_ (t, 0.0, 0.02, -2.0, 2.0, &error));
  g_assert_true (mien_tensor_kaiming_normal_ (t, MIEN_FAN_IN, &error));
  g_assert_true (mien_tensor_kaiming_uniform_ (t, sqrt (5.0), &error));
  g_assert_true (mien_tensor_xavier_uniform_ (t, &error));
  g_assert_no_error (error);

  /* Shapes propagate through ops: conv2d 7x7 stride 2 pad 3 on 32x32 gives 16x16. */
  e = mien_tensor_new_empty (w_shape, 4, MIEN_DTYPE_FLOAT32, (MienDevice) { MIEN_DEVICE_META, 0 },
                             &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_fan_in (e), ==, 3 * 7 * 7);
  {
    g_autoptr(MienTensor) x = mien_tensor_new_empty (x_shape, 4, MIEN_DTYPE_FLOAT32,
                                                     (MienDevice) { MIEN_DEVICE_META, 0 },
                                                     &error);
    const gint64 stride[] = { 2, 2 };
    const gint64 padding[] = { 3, 3 };
    g_assert_no_error (error);
    y = mien_tensor_conv2d (x, e, NULL, stride, padding, NULL, 1, &error);
    g_assert_no_error (error);
    g_assert_cmpint (mien_tensor_size (y, 0), ==, 2);
    g_assert_cmpint (mien_tensor_size (y, 1), ==, 64);
    g_assert_cmpint (mien_tensor_size (y, 2), ==, 16);
    g_assert_cmpint (mien_tensor_size (y, 3), ==, 16);
  }

  /* The rest of a ResNet stem and a ViT block: shapes only, no data anywhere. */
  {
    gint64 c_shape[] = { 64 };
    gint64 ln_shape[] = { 16 };
    gint64 targets_shape[] = { 2 };
    gint64 logits_shape[] = { 2, 64 };
    g_autoptr(MienTensor) c = mien_tensor_new_zeros (c_shape, 1, MIEN_DTYPE_FLOAT32,
                                                     (MienDevice) { MIEN_DEVICE_META, 0 },
                                                     &error);
    g_autoptr(MienTensor) bn = NULL;
    g_autoptr(MienTensor) act = NULL;
    g_autoptr(MienTensor) ln = NULL;
    g_autoptr(MienTensor) logits = NULL;
    g_autoptr(MienTensor) targets = NULL;
    g_autoptr(MienTensor) loss = NULL;
    g_autoptr(MienTensor) cpu = NULL;
    MienTensor *mixed;

    g_assert_no_error (error);
    bn = mien_tensor_batch_norm (y, c, c, c, c, FALSE, 0.1, 1e-5, &error);
    g_assert_no_error (error);
    g_assert_cmpint (mien_tensor_numel (bn), ==, mien_tensor_numel (y));
    act = mien_tensor_relu (bn, &error);
    g_assert_no_error (error);
    g_assert_cmpint (mien_tensor_device (act).type, ==, MIEN_DEVICE_META);
    ln = mien_tensor_layer_norm (act, ln_shape, 1, NULL, NULL, 1e-6, &error);
    g_assert_no_error (error);
    g_assert_cmpint (mien_tensor_size (ln, 1), ==, 64);

    logits = mien_tensor_new_empty (logits_shape, 2, MIEN_DTYPE_FLOAT32,
                                    (MienDevice) { MIEN_DEVICE_META, 0 }, &error);
    targets = mien_tensor_new_zeros (targets_shape, 1, MIEN_DTYPE_INT64,
                                     (MienDevice) { MIEN_DEVICE_META, 0 }, &error);
    loss = mien_tensor_cross_entropy (logits, targets, NULL, 0.1, &error);
    g_assert_no_error (error);
    g_assert_cmpint (mien_tensor_ndim (loss), ==, 0);

    /* abs, where and index_select also work on shapes alone. */
    {
      g_autoptr(MienTensor) positive = mien_tensor_abs (logits, &error);
      g_autoptr(MienTensor) cond = NULL;
      g_autoptr(MienTensor) picked = NULL;
      g_autoptr(MienTensor) chosen = NULL;

      g_assert_no_error (error);
      cond = mien_tensor_gt_scalar (positive, 0.0, &error);
      g_assert_no_error (error);
      picked = mien_tensor_where (cond, positive, logits, &error);
      g_assert_no_error (error);
      g_assert_cmpint (mien_tensor_size (picked, 1), ==, 64);
      chosen = mien_tensor_index_select (picked, -1, targets, &error);
      g_assert_no_error (error);
      g_assert_cmpint (mien_tensor_size (chosen, 0), ==, 2);
      g_assert_cmpint (mien_tensor_size (chosen, 1), ==, 2);
    }

    /* copy_ checks shapes even where it has nothing to copy. */
    g_assert_false (mien_tensor_copy_ (c, logits, &error));
    g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);

    /* Meta and real tensors do not mix. */
    cpu = mien_tensor_new_zeros (c_shape, 1, MIEN_DTYPE_FLOAT32, mien_device_cpu (), &error);
    mixed = mien_tensor_batch_norm (y, cpu, NULL, c, c, FALSE, 0.1, 1e-5, &error);
    g_assert_null (mixed);
    g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }

  /* There is no data to read back. */
  {
    gint64 s4[] = { 4 };
    g_autoptr(MienTensor) small = mien_tensor_new_zeros (s4, 1, MIEN_DTYPE_FLOAT32,
                                                         (MienDevice) { MIEN_DEVICE_META, 0 },
                                                         &error);
    g_assert_no_error (error);
    g_assert_false (mien_tensor_to_host (small, dummy, sizeof dummy, &error));
    g_assert_nonnull (error);
    g_clear_error (&error);
  }
}

static void
test_libtorch_error (void)
{
  g_autoptr(GError) error = NULL;
  const float data[] = { 1, 2, 3, 4, 5, 6 };
  gint64 shape[] = { 2, 3 };
  g_autoptr(MienTensor) a = tensor_f32 (data, shape, 2);
  MienTensor *r;

  /* [2, 3] @ [2, 3]: inner sizes differ. */
  r = mien_tensor_matmul (a, a, &error);
  g_assert_null (r);
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_FAILED);
  g_assert_cmpstr (error->message, !=, "");
  /* The C++ backtrace is for libtorch developers, not for our users. */
  g_assert_null (strstr (error->message, "Exception raised from"));
  g_clear_error (&error);

  /* Indices out of range, dims out of range, wrong index dtype: all errors, never crashes. */
  r = mien_tensor_select (a, 0, 5, &error);
  g_assert_null (r);
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_FAILED);
  g_clear_error (&error);
  r = mien_tensor_transpose (a, 0, 4, &error);
  g_assert_null (r);
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_FAILED);
  g_clear_error (&error);
  r = mien_tensor_cat (NULL, 0, 0, &error);
  g_assert_null (r);
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

static void
test_out_of_memory (void)
{
  g_autoptr(GError) error = NULL;
  /* 2^60 float32 elements are 2^62 bytes: more than any address space, so the allocation fails
   * at once (nothing is touched, whatever the overcommit policy). */
  gint64 shape[] = { G_GINT64_CONSTANT (1) << 30, G_GINT64_CONSTANT (1) << 30 };
  MienTensor *t;

  t = mien_tensor_new_empty (shape, 2, MIEN_DTYPE_FLOAT32, mien_device_cpu (), &error);
  g_assert_null (t);
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_OUT_OF_MEMORY);
}

/* ---- Optimiser ------------------------------------------------------------------------ */

/* loss = sum (p²) / 2, so that the gradient is p itself. */
static void
backward_half_square (MienTensor *p)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) sq = mien_tensor_mul (p, p, &error);
  g_autoptr(MienTensor) sum = mien_tensor_sum (sq, &error);
  g_autoptr(MienTensor) loss = mien_tensor_mul_scalar (sum, 0.5, &error);

  g_assert_no_error (error);
  g_assert_true (mien_tensor_backward (loss, &error));
  g_assert_no_error (error);
}

static MienTensor *
make_param (const float *values, gint64 n)
{
  MienTensor *p = tensor_f32 (values, &n, 1);

  mien_tensor_set_requires_grad (p, TRUE);
  return p;
}

static void
test_adam (void)
{
  g_autoptr(GError) error = NULL;
  const float p0[] = { 1, -2 };
  gint64 shape[] = { 2 };
  MienAdamConfig config = MIEN_ADAM_CONFIG_INIT;
  g_autoptr(MienTensor) p = make_param (p0, 2);
  g_autoptr(MienTensor) frozen = make_param (p0, 2);
  g_autoptr(MienOptimizer) adam = NULL;
  /* lr 0.1, betas (0.9, 0.999), eps 1e-8, gradient g = p.
   * Step 1: g1 = [1, -2]; m1 = 0.1 g1 = [0.1, -0.2]; v1 = 0.001 g1² = [0.001, 0.004];
   *   bc1 = 0.1, bc2 = 0.001, step_size = 0.1 / 0.1 = 1;
   *   denom = sqrt (v1) / sqrt (0.001) + eps = [1, 2]; p1 = p0 - m1 / denom = [0.9, -1.9]
   * Step 2: g2 = [0.9, -1.9]; m2 = 0.9 m1 + 0.1 g2 = [0.18, -0.37];
   *   v2 = 0.999 v1 + 0.001 g2² = [0.000999 + 0.00081, 0.003996 + 0.00361] = [0.001809, 0.007606];
   *   bc1 = 1 - 0.81 = 0.19, bc2 = 1 - 0.998001 = 0.001999, step_size = 0.1 / 0.19 = 0.5263158;
   *   denom = sqrt (v2) / sqrt (bc2) = [0.0425323 / 0.0447102, 0.0872124 / 0.0447102]
   *         = [0.9512890, 1.9506159];
   *   p2 = p1 - step_size * m2 / denom
   *      = [0.9 - 0.5263158 * 0.1892171, -1.9 + 0.5263158 * 0.1896840] = [0.8004122, -1.8001665]
   * (torch.optim.Adam in Debian's python3-torch gives the same float32 values.) */
  const float expected[] = { 0.8004122f, -1.8001665f };

  config.lr = 0.1;
  adam = mien_optimizer_new_adam (&config, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (mien_optimizer_get_lr (adam), ==, 0.1);
  g_assert_true (mien_optimizer_add_parameter (adam, "w", p, &error));
  g_assert_true (mien_optimizer_add_parameter (adam, "frozen", frozen, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (mien_optimizer_get_n_parameters (adam), ==, 2);
  g_assert_cmpint (mien_optimizer_get_step (adam), ==, 0);

  /* A name is a key: it may be used once. So is a tensor. */
  g_assert_false (mien_optimizer_add_parameter (adam, "w", frozen, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (mien_optimizer_add_parameter (adam, "again", p, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  for (int step = 0; step < 2; step++)
    {
      mien_optimizer_zero_grad (adam);
      g_assert_null (mien_tensor_grad (p));
      backward_half_square (p);
      g_assert_true (mien_optimizer_step (adam, &error));
      g_assert_no_error (error);
    }
  assert_tensor (p, shape, 1, expected, 1e-6);
  /* "frozen" never had a gradient: untouched, and its step did not advance. */
  assert_tensor (frozen, shape, 1, p0, 0.0);
  g_assert_cmpint (mien_optimizer_get_step (adam), ==, 2);

  mien_optimizer_set_lr (adam, 0.5);
  g_assert_cmpfloat (mien_optimizer_get_lr (adam), ==, 0.5);

  /* torch.optim.Adam's own validation. */
  config.beta1 = 1.0;
  g_assert_null (mien_optimizer_new_adam (&config, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

static void
test_adamw (void)
{
  g_autoptr(GError) error = NULL;
  const float p0[] = { 1, -2 };
  gint64 shape[] = { 2 };
  MienAdamConfig config = MIEN_ADAM_CONFIG_INIT;
  g_autoptr(MienTensor) p = make_param (p0, 2);
  g_autoptr(MienOptimizer) adamw = NULL;
  /* lr 0.1, weight_decay 0.1, decoupled: each step first scales p by 1 - 0.01 = 0.99, the
   * gradient being that of the p before the decay.
   * Step 1: g1 = [1, -2]; p <- 0.99 p0 = [0.99, -1.98]; as for Adam, m1 / denom * step_size =
   *   [0.1, -0.1]; p1 = [0.89, -1.88]
   * Step 2: g2 = [0.89, -1.88]; p <- 0.99 p1 = [0.8811, -1.8612];
   *   m2 = [0.09 + 0.089, -0.18 - 0.188] = [0.179, -0.368];
   *   v2 = [0.000999 + 0.0007921, 0.003996 + 0.0035344] = [0.0017911, 0.0075304];
   *   denom = sqrt (v2) / sqrt (0.001999) = [0.0423214 / 0.0447102, 0.0867779 / 0.0447102]
   *         = [0.9465712, 1.9408971];
   *   p2 = [0.8811 - 0.5263158 * 0.179 / 0.9465712, -1.8612 + 0.5263158 * 0.368 / 1.9408971]
   *      = [0.8811 - 0.0995281, -1.8612 + 0.0997911] = [0.7815719, -1.7614090] */
  const float expected[] = { 0.7815719f, -1.7614090f };

  config.lr = 0.1;
  config.weight_decay = 0.1;
  config.decoupled_weight_decay = TRUE;
  adamw = mien_optimizer_new_adam (&config, &error);
  g_assert_no_error (error);
  g_assert_true (mien_optimizer_add_parameter (adamw, "w", p, &error));
  for (int step = 0; step < 2; step++)
    {
      mien_optimizer_zero_grad (adamw);
      backward_half_square (p);
      g_assert_true (mien_optimizer_step (adamw, &error));
      g_assert_no_error (error);
    }
  assert_tensor (p, shape, 1, expected, 1e-6);
}

static void
collect_state (const char *name,
               MienTensor *value,
               gpointer    user_data)
{
  GHashTable *states = user_data;

  g_assert_false (g_hash_table_contains (states, name));
  g_hash_table_insert (states, g_strdup (name), mien_tensor_clone (value, NULL));
}

static void
test_optimizer_state (void)
{
  g_autoptr(GError) error = NULL;
  const float p0[] = { 1, -2 };
  const float expected_step[] = { 2 };
  gint64 shape[] = { 2 };
  gint64 scalar_shape[1] = { 0 };
  MienAdamConfig config = MIEN_ADAM_CONFIG_INIT;
  g_autoptr(MienTensor) a = make_param (p0, 2);
  g_autoptr(MienTensor) b = NULL;
  g_autoptr(MienTensor) unused = make_param (p0, 2);
  g_autoptr(MienOptimizer) opt_a = NULL;
  g_autoptr(MienOptimizer) opt_b = NULL;
  g_autoptr(GHashTable) states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                       (GDestroyNotify) mien_tensor_free);
  g_autoptr(GHashTable) states_b = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) mien_tensor_free);
  GHashTableIter iter;
  gpointer key, value;

  config.lr = 0.1;
  opt_a = mien_optimizer_new_adam (&config, &error);
  g_assert_true (mien_optimizer_add_parameter (opt_a, "layer.weight", a, &error));
  g_assert_true (mien_optimizer_add_parameter (opt_a, "unused", unused, &error));
  g_assert_no_error (error);

  /* Nothing before the first step. */
  mien_optimizer_foreach_state (opt_a, collect_state, states);
  g_assert_cmpuint (g_hash_table_size (states), ==, 0);

  for (int step = 0; step < 2; step++)
    {
      mien_optimizer_zero_grad (opt_a);
      backward_half_square (a);
      g_assert_true (mien_optimizer_step (opt_a, &error));
    }

  mien_optimizer_foreach_state (opt_a, collect_state, states);
  g_assert_cmpuint (g_hash_table_size (states), ==, 3);
  g_assert_true (g_hash_table_contains (states, "layer.weight.exp_avg"));
  g_assert_true (g_hash_table_contains (states, "layer.weight.exp_avg_sq"));
  g_assert_true (g_hash_table_contains (states, "layer.weight.step"));
  {
    MienTensor *step = g_hash_table_lookup (states, "layer.weight.step");
    /* m2 and v2 of test_adam */
    const float m2[] = { 0.18f, -0.37f };
    const float v2[] = { 0.001809f, 0.007606f };

    g_assert_cmpint (mien_tensor_dtype (step), ==, MIEN_DTYPE_FLOAT32);
    assert_tensor (step, scalar_shape, 0, expected_step, 0.0);
    assert_tensor (g_hash_table_lookup (states, "layer.weight.exp_avg"), shape, 1, m2, 1e-6);
    assert_tensor (g_hash_table_lookup (states, "layer.weight.exp_avg_sq"), shape, 1, v2, 1e-8);
  }

  /* A second optimiser over a copy of the parameter, resumed from that state, must take exactly
   * the same third step. */
  b = mien_tensor_clone (a, &error);
  g_assert_no_error (error);
  {
    g_autoptr(MienTensor) detached = mien_tensor_detach (b, &error);
    g_clear_pointer (&b, mien_tensor_free);
    b = g_steal_pointer (&detached);
  }
  mien_tensor_set_requires_grad (b, TRUE);
  opt_b = mien_optimizer_new_adam (&config, &error);
  g_assert_true (mien_optimizer_add_parameter (opt_b, "layer.weight", b, &error));
  g_assert_no_error (error);

  g_hash_table_iter_init (&iter, states);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_assert_true (mien_optimizer_set_state (opt_b, key, value, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpint (mien_optimizer_get_step (opt_b), ==, 2);

  mien_optimizer_foreach_state (opt_b, collect_state, states_b);
  g_assert_cmpuint (g_hash_table_size (states_b), ==, 3);

  mien_optimizer_zero_grad (opt_a);
  backward_half_square (a);
  g_assert_true (mien_optimizer_step (opt_a, &error));
  mien_optimizer_zero_grad (opt_b);
  backward_half_square (b);
  g_assert_true (mien_optimizer_step (opt_b, &error));
  g_assert_no_error (error);
  {
    float va[2], vb[2];
    g_assert_true (mien_tensor_to_host (a, va, sizeof va, &error));
    g_assert_true (mien_tensor_to_host (b, vb, sizeof vb, &error));
    g_assert_cmpmem (va, sizeof va, vb, sizeof vb);
  }
  g_assert_cmpint (mien_optimizer_get_step (opt_b), ==, 3);

  /* Wrong names and shapes are refused. */
  {
    g_autoptr(MienTensor) wrong = make_param (p0, 1);
    g_autoptr(MienTensor) one = scalar_f32 (1.0f);

    g_assert_false (mien_optimizer_set_state (opt_b, "layer.weight.momentum", one, &error));
    g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g_assert_false (mien_optimizer_set_state (opt_b, "layer.bias.step", one, &error));
    g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g_assert_false (mien_optimizer_set_state (opt_b, "layer.weight.exp_avg", wrong, &error));
    g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g_assert_false (mien_optimizer_set_state (opt_b, "layer.weight.step", a, &error));
    g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
}

/* ---- Process-wide ----------------------------------------------------------------------- */

/* What mien_torch_init () promises, whatever libtorch's own default (1 thread in Debian's 1.13,
 * the core count in 2.x builds) and whether its inter-op pool could still be sized. */
static void
test_threads (void)
{
  const char *env = g_getenv ("MIEN_NUM_THREADS");
  int expected = (int) g_get_num_processors ();
  int before = mien_torch_get_num_threads ();
  g_auto(GStrv) version = NULL;
  guint64 major = 0;
  guint64 value;

  if (env != NULL && g_ascii_string_to_unsigned (env, 10, 1, 4096, &value, NULL))
    expected = (int) value;
  g_assert_cmpint (before, ==, expected);

  mien_torch_set_num_threads (1);
  g_assert_cmpint (mien_torch_get_num_threads (), ==, 1);
  mien_torch_set_num_threads (2);
  g_assert_cmpint (mien_torch_get_num_threads (), ==, 2);

  /* Idempotent: a second init leaves a count set since alone. */
  mien_torch_init ();
  g_assert_cmpint (mien_torch_get_num_threads (), ==, 2);
  mien_torch_set_num_threads (before);
  g_assert_cmpint (mien_torch_get_num_threads (), ==, before);

  /* "MAJOR.MINOR.PATCH", any major since 1. */
  version = g_strsplit (mien_torch_version (), ".", -1);
  g_assert_cmpuint (g_strv_length (version), >=, 3);
  g_assert_true (g_ascii_string_to_unsigned (version[0], 10, 1, G_MAXINT, &major, NULL));
  g_assert_true (g_ascii_string_to_unsigned (version[1], 10, 0, G_MAXINT, &value, NULL));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  mien_torch_init ();

  g_test_add_func ("/torch/dtypes", test_dtypes);
  g_test_add_func ("/torch/round-trip", test_round_trip);
  g_test_add_func ("/torch/item-and-factories", test_item_and_factories);
  g_test_add_func ("/torch/linear", test_linear);
  g_test_add_func ("/torch/conv2d", test_conv2d);
  g_test_add_func ("/torch/batch-norm", test_batch_norm);
  g_test_add_func ("/torch/layer-norm-softmax", test_layer_norm_softmax);
  g_test_add_func ("/torch/cross-entropy", test_cross_entropy);
  g_test_add_func ("/torch/pooling", test_pooling);
  g_test_add_func ("/torch/attention", test_attention);
  g_test_add_func ("/torch/shapes", test_shapes);
  g_test_add_func ("/torch/elementwise", test_elementwise);
  g_test_add_func ("/torch/dropout-stochastic-depth", test_dropout_stochastic_depth);
  g_test_add_func ("/torch/autograd", test_autograd);
  g_test_add_func ("/torch/no-grad-guard", test_no_grad_guard);
  g_test_add_func ("/torch/autocast", test_autocast);
  g_test_add_func ("/torch/in-place", test_in_place);
  g_test_add_func ("/torch/devices", test_devices);
  g_test_add_func ("/torch/meta", test_meta);
  g_test_add_func ("/torch/libtorch-error", test_libtorch_error);
  g_test_add_func ("/torch/out-of-memory", test_out_of_memory);
  g_test_add_func ("/torch/adam", test_adam);
  g_test_add_func ("/torch/adamw", test_adamw);
  g_test_add_func ("/torch/optimizer-state", test_optimizer_state);
  g_test_add_func ("/torch/threads", test_threads);

  return g_test_run ();
}
