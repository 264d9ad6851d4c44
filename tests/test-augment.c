/* test-augment.c — RandAugment as batched tensor ops, against torchvision.
 *
 * The ops are compared pixel for pixel with torchvision 0.14 run by MIEN_REFERENCE_PYTHON on
 * tests/augment_reference.py (skipped when there is none). On the CPU every op, geometric ones
 * included, gives torchvision's bytes exactly: the sample points come from the same float32 steps
 * (base grid, theta / [w/2, h/2], one batched matmul that libtorch runs per image as torchvision's
 * bmm does), checked here and on other sizes (33×47, 64×96, 17×101) with one or several BLAS
 * threads. Only on a GPU (test_cuda) may a sample point on a rounding boundary tip nearest
 * interpolation the other way, as CUDA's sums run in another order.
 */

#include <float.h>
#include <math.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "mien-augment.h"
#include "mien-json.h"
#include "mien-trainer.h"
#include "mien-test-util.h"

#define N_IMAGES 4
#define HEIGHT   32
#define WIDTH    40
#define N_BYTES  (N_IMAGES * 3 * HEIGHT * WIDTH)

/* On CUDA, at most this fraction of the bytes of a geometric op may differ from the CPU. */
#define GEOMETRIC_TOLERANCE 0.005

/* Per-image magnitudes in mien_augment_apply ()'s units, both signs, bin 9's values among them,
 * and blend factors on both sides of 1 that push pixels past 0 and 255. */
static const double test_magnitudes[MIEN_AUGMENT_N_OPS][N_IMAGES] = {
  [MIEN_AUGMENT_IDENTITY]     = { 0.0, 0.0, 0.0, 0.0 },
  [MIEN_AUGMENT_SHEAR_X]      = { 0.09000000357627869, -0.09000000357627869, 0.3, -0.21 },
  [MIEN_AUGMENT_SHEAR_Y]      = { -0.09000000357627869, 0.09000000357627869, -0.3, 0.17 },
  [MIEN_AUGMENT_TRANSLATE_X]  = { 5.438066482543945, -5.438066482543945, 13.9, -0.7 },
  [MIEN_AUGMENT_TRANSLATE_Y]  = { -4.3504533767700195, 4.3504533767700195, 31.5, -12.2 },
  [MIEN_AUGMENT_ROTATE]       = { 9.0, -9.0, 30.0, -23.7 },
  [MIEN_AUGMENT_BRIGHTNESS]   = { 1.2699999809265137, 0.7300000190734863, 1.9, 0.1 },
  [MIEN_AUGMENT_COLOR]        = { 0.7300000190734863, 1.2699999809265137, 0.1, 1.9 },
  [MIEN_AUGMENT_CONTRAST]     = { 1.2699999809265137, 0.7300000190734863, 1.9, 0.1 },
  [MIEN_AUGMENT_SHARPNESS]    = { 0.7300000190734863, 1.2699999809265137, 1.9, 0.1 },
  [MIEN_AUGMENT_POSTERIZE]    = { 7.0, 4.0, 1.0, 8.0 },
  [MIEN_AUGMENT_AUTOCONTRAST] = { 0.0, 0.0, 0.0, 0.0 },
};

/* ---- Fixtures --------------------------------------------------------------------------- */

/* A tiny deterministic generator, so the batch is the same on every machine. */
static guint32
lcg_next (guint32 *state)
{
  *state = *state * 1664525u + 1013904223u;
  return *state >> 8;
}

/* Smooth gradients in different directions per channel, plus noise; image 1 saturates, image 2
 * has a flat channel (AutoContrast's max == min case) and image 3 a narrow range. */
static guint8 *
make_pixels (int n,
             int height,
             int width)
{
  guint8 *pixels = g_new (guint8, (gsize) n * 3 * height * width);
  guint32 state = 12345;

  for (int i = 0; i < n; i++)
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
          {
            double v = 40.0 + 170.0 * ((c == 0) ? (double) x / width :
                                       (c == 1) ? (double) y / height :
                                       (double) (x + y) / (width + height));
            int noise = (int) (lcg_next (&state) % 41) - 20;
            int value;

            if (i == 1)
              v = v * 1.6 - 60.0;
            else if (i == 2 && c == 1)
              v = 77.0, noise = 0;
            else if (i == 3)
              v = 100.0 + v / 8.0, noise /= 4;
            value = CLAMP ((int) v + noise, 0, 255);
            pixels[(((gsize) i * 3 + c) * height + y) * width + x] = (guint8) value;
          }
  return pixels;
}

static MienTensor *
make_images (int n,
             int height,
             int width)
{
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *pixels = make_pixels (n, height, width);
  const gint64 shape[4] = { n, 3, height, width };
  MienTensor *t = mien_tensor_new_from_data (pixels, MIEN_DTYPE_UINT8, shape, 4, &error);

  g_assert_no_error (error);
  return t;
}

static guint8 *
bytes_of (MienTensor *t)
{
  g_autoptr(GError) error = NULL;
  gsize n = (gsize) mien_tensor_numel (t);
  guint8 *bytes = g_new0 (guint8, MAX (n, 1));

  g_assert_cmpint (mien_tensor_dtype (t), ==, MIEN_DTYPE_UINT8);
  g_assert_true (mien_tensor_to_host (t, bytes, n, &error));
  g_assert_no_error (error);
  return bytes;
}

static gsize
count_differences (const guint8 *a,
                   const guint8 *b,
                   gsize         n)
{
  gsize count = 0;

  for (gsize i = 0; i < n; i++)
    count += a[i] != b[i];
  return count;
}

static void
assert_images_like (MienTensor *result,
                    MienTensor *input)
{
  gint64 got[4], want[4];

  g_assert_nonnull (result);
  g_assert_cmpint (mien_tensor_shape (result, got, 4), ==, 4);
  g_assert_cmpint (mien_tensor_shape (input, want, 4), ==, 4);
  for (int d = 0; d < 4; d++)
    g_assert_cmpint (got[d], ==, want[d]);
  g_assert_cmpint (mien_tensor_dtype (result), ==, MIEN_DTYPE_UINT8);
  g_assert_true (mien_device_equal (mien_tensor_device (result), mien_tensor_device (input)));
}

/* ---- The reference ---------------------------------------------------------------------- */

static const char *
reference_python (void)
{
  const char *python = g_getenv ("MIEN_REFERENCE_PYTHON");

  return (python != NULL && *python != '\0') ? python : NULL;
}

/* Runs the reference script; returns its stdout, or NULL after g_test_skip () when there is no
 * python with torchvision. */
static char *
run_reference (const char * const *args)
{
  return mien_test_run_referencev ("augment_reference.py", args);
}

/* torchvision's results for test_magnitudes, worked out once for all the per-op tests. */
static guint8 *reference_outputs;
static guint8 *reference_inputs;

/* Runs the reference's `mode` ("apply" or "geometry") on n images of height × width `pixels`
 * with `spec`; returns its output (expected_length bytes), or NULL after g_test_skip (). */
static guint8 *
reference_run (const char   *mode,
               const guint8 *pixels,
               int           n,
               int           height,
               int           width,
               const char   *spec,
               gsize         expected_length)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *input_path = NULL;
  g_autofree char *spec_path = NULL;
  g_autofree char *output_path = NULL;
  g_autofree char *n_text = g_strdup_printf ("%d", n);
  g_autofree char *h_text = g_strdup_printf ("%d", height);
  g_autofree char *w_text = g_strdup_printf ("%d", width);
  g_autofree char *stdout_text = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;

  if (reference_python () == NULL)
    {
      g_free (run_reference (NULL));
      return NULL;
    }

  dir = g_dir_make_tmp ("mien-test-augment-XXXXXX", &error);
  g_assert_no_error (error);
  input_path = g_build_filename (dir, "input.bin", NULL);
  spec_path = g_build_filename (dir, "spec.txt", NULL);
  output_path = g_build_filename (dir, "output.bin", NULL);

  g_assert_true (g_file_set_contents (input_path, (const char *) pixels,
                                      (gssize) n * 3 * height * width, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (spec_path, spec, -1, &error));
  g_assert_no_error (error);

  {
    const char *args[] = { mode, input_path, n_text, h_text, w_text, spec_path, output_path,
                           NULL };

    stdout_text = run_reference (args);
  }
  g_assert_true (g_file_get_contents (output_path, &contents, &length, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (length, ==, expected_length);

  g_unlink (input_path);
  g_unlink (spec_path);
  g_unlink (output_path);
  g_rmdir (dir);
  return (guint8 *) g_steal_pointer (&contents);
}

static gboolean
ensure_reference (void)
{
  g_autoptr(GString) spec = g_string_new (NULL);

  if (reference_outputs != NULL)
    return TRUE;
  if (reference_python () == NULL)
    {
      g_free (run_reference (NULL));
      return FALSE;
    }

  reference_inputs = make_pixels (N_IMAGES, HEIGHT, WIDTH);
  for (guint op = 0; op < MIEN_AUGMENT_N_OPS; op++)
    {
      g_string_append (spec, mien_augment_op_name (op));
      for (int i = 0; i < N_IMAGES; i++)
        {
          char buffer[G_ASCII_DTOSTR_BUF_SIZE];

          g_string_append_printf (spec, " %s",
                                  g_ascii_dtostr (buffer, sizeof buffer, test_magnitudes[op][i]));
        }
      g_string_append_c (spec, '\n');
    }
  reference_outputs = reference_run ("apply", reference_inputs, N_IMAGES, HEIGHT, WIDTH,
                                     spec->str, (gsize) N_BYTES * MIEN_AUGMENT_N_OPS);
  return TRUE;
}

/* ---- Tests ------------------------------------------------------------------------------ */

static void
test_names (void)
{
  static const char * const expected[] = {
    "Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate",
    "Brightness", "Color", "Contrast", "Sharpness", "Posterize", "AutoContrast",
  };

  g_assert_cmpint (G_N_ELEMENTS (expected), ==, MIEN_AUGMENT_N_OPS);
  for (guint op = 0; op < MIEN_AUGMENT_N_OPS; op++)
    g_assert_cmpstr (mien_augment_op_name (op), ==, expected[op]);
}

/* Bin 9 of 31, by hand: m/(bins-1) = 0.3. Torchvision's table is float32 (linspace), so the
 * values agree to float32 precision. */
static void
test_magnitude_constants (void)
{
  const MienRandAugment config = MIEN_RAND_AUGMENT_INIT;
  const double eps = 1e-6;

  g_assert_cmpuint (config.num_ops, ==, 2);
  g_assert_cmpuint (config.magnitude, ==, 9);
  g_assert_cmpuint (config.num_bins, ==, 31);

  g_assert_cmpfloat (mien_augment_op_magnitude (&config, MIEN_AUGMENT_IDENTITY, 32, 40), ==, 0.0);
  g_assert_cmpfloat_with_epsilon (mien_augment_op_magnitude (&config, MIEN_AUGMENT_SHEAR_X, 32, 40),
                                  0.09, eps);
  g_assert_cmpfloat_with_epsilon (mien_augment_op_magnitude (&config, MIEN_AUGMENT_SHEAR_Y, 32, 40),
                                  0.09, eps);
  /* 150/331 · 40 · 0.3 = 5.4380664...; 150/331 · 32 · 0.3 = 4.3504531... */
  g_assert_cmpfloat_with_epsilon (mien_augment_op_magnitude (&config, MIEN_AUGMENT_TRANSLATE_X, 32, 40),
                                  150.0 / 331.0 * 40 * 0.3, 1e-5);
  g_assert_cmpfloat_with_epsilon (mien_augment_op_magnitude (&config, MIEN_AUGMENT_TRANSLATE_Y, 32, 40),
                                  150.0 / 331.0 * 32 * 0.3, 1e-5);
  g_assert_cmpfloat_with_epsilon (mien_augment_op_magnitude (&config, MIEN_AUGMENT_TRANSLATE_X, 224, 224),
                                  150.0 / 331.0 * 224 * 0.3, 1e-4);
  g_assert_cmpfloat_with_epsilon (mien_augment_op_magnitude (&config, MIEN_AUGMENT_ROTATE, 32, 40),
                                  9.0, eps);
  for (MienAugmentOp op = MIEN_AUGMENT_BRIGHTNESS; op <= MIEN_AUGMENT_SHARPNESS; op++)
    g_assert_cmpfloat_with_epsilon (mien_augment_op_magnitude (&config, op, 32, 40), 0.27, eps);
  /* 8 - round (9 / 7.5) = 8 - 1 */
  g_assert_cmpfloat (mien_augment_op_magnitude (&config, MIEN_AUGMENT_POSTERIZE, 32, 40), ==, 7.0);
  g_assert_cmpfloat (mien_augment_op_magnitude (&config, MIEN_AUGMENT_AUTOCONTRAST, 32, 40), ==, 0.0);
}

/* Every bin of torchvision's own table, to the last bit. */
static void
test_magnitude_table (void)
{
  static const guint bin_counts[] = { 31, 10, 2 };

  for (guint b = 0; b < G_N_ELEMENTS (bin_counts); b++)
    {
      g_autofree char *bins = g_strdup_printf ("%u", bin_counts[b]);
      const char *args[] = { "space", bins, "32", "40", NULL };
      g_autofree char *table = run_reference (args);
      g_auto(GStrv) lines = NULL;

      if (table == NULL)
        return;
      lines = g_strsplit (table, "\n", -1);
      for (guint op = 0; op < MIEN_AUGMENT_N_OPS; op++)
        {
          const char *name = mien_augment_op_name (op);
          gboolean found = FALSE;

          for (int l = 0; lines[l] != NULL && !found; l++)
            {
              g_auto(GStrv) fields = g_strsplit (lines[l], " ", -1);

              if (g_strcmp0 (fields[0], name) != 0)
                continue;
              found = TRUE;
              g_assert_cmpuint (g_strv_length (fields), ==, bin_counts[b] + 1);
              for (guint m = 0; m < bin_counts[b]; m++)
                {
                  MienRandAugment config = { 2, m, bin_counts[b] };
                  double expected = g_ascii_strtod (fields[m + 1], NULL);
                  double got = mien_augment_op_magnitude (&config, op, 32, 40);

                  /* Bit for bit where libtorch's kernel runs with FMA (its AVX2 build on
                   * x86-64, as here); otherwise the upper bins may be one float32 ulp off. */
                  if (got != expected)
                    g_test_message ("%s, bin %u of %u: %.17g, torchvision has %.17g",
                                    name, m, bin_counts[b], got, expected);
                  if (fabs (got - expected) > fabs (expected) * FLT_EPSILON)
                    g_error ("%s, bin %u of %u: %.17g, torchvision has %.17g",
                             name, m, bin_counts[b], got, expected);
                }
            }
          g_assert_true (found);
        }
    }
}

static void
test_shape_dtype_device (void)
{
  g_autoptr(MienTensor) images = make_images (N_IMAGES, HEIGHT, WIDTH);
  g_autofree guint8 *before = bytes_of (images);

  for (guint op = 0; op < MIEN_AUGMENT_N_OPS; op++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MienTensor) result = mien_augment_apply (images, op, test_magnitudes[op], &error);
      g_autofree guint8 *after = NULL;

      g_assert_no_error (error);
      assert_images_like (result, images);
      after = bytes_of (images);
      /* the input is borrowed, never written */
      g_assert_cmpmem (after, N_BYTES, before, N_BYTES);
    }

  /* Identity is an exact copy; so are blend factor 1, posterize 8 bits and zero shifts. */
  {
    static const MienAugmentOp no_change[] = {
      MIEN_AUGMENT_IDENTITY, MIEN_AUGMENT_SHEAR_X, MIEN_AUGMENT_TRANSLATE_Y, MIEN_AUGMENT_ROTATE,
      MIEN_AUGMENT_BRIGHTNESS, MIEN_AUGMENT_COLOR, MIEN_AUGMENT_CONTRAST, MIEN_AUGMENT_SHARPNESS,
    };
    const double zero[N_IMAGES] = { 0.0, 0.0, 0.0, 0.0 };
    const double one[N_IMAGES] = { 1.0, 1.0, 1.0, 1.0 };
    const double eight[N_IMAGES] = { 8.0, 8.0, 8.0, 8.0 };

    for (guint k = 0; k < G_N_ELEMENTS (no_change) + 1; k++)
      {
        g_autoptr(GError) error = NULL;
        MienAugmentOp op = k < G_N_ELEMENTS (no_change) ? no_change[k] : MIEN_AUGMENT_POSTERIZE;
        const double *m = op >= MIEN_AUGMENT_BRIGHTNESS ? one : zero;
        g_autoptr(MienTensor) result = NULL;
        g_autofree guint8 *after = NULL;

        if (op == MIEN_AUGMENT_POSTERIZE)
          m = eight;
        result = mien_augment_apply (images, op, m, &error);
        g_assert_no_error (error);
        after = bytes_of (result);
        if (memcmp (after, before, N_BYTES) != 0)
          g_error ("%s with a neutral magnitude changed the images", mien_augment_op_name (op));
      }
  }

  /* an empty batch stays empty */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(MienTensor) empty = make_images (0, HEIGHT, WIDTH);

    for (guint op = 0; op < MIEN_AUGMENT_N_OPS; op++)
      {
        g_autoptr(MienTensor) result = mien_augment_apply (empty, op, test_magnitudes[op], &error);

        g_assert_no_error (error);
        assert_images_like (result, empty);
      }
  }

  /* not uint8 [N, 3, H, W]: a GError, not a crash */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(MienTensor) floats = mien_tensor_to_dtype (images, MIEN_DTYPE_FLOAT32, &error);
    g_autoptr(MienTensor) result = NULL;

    g_assert_no_error (error);
    result = mien_augment_apply (floats, MIEN_AUGMENT_ROTATE, test_magnitudes[0], &error);
    g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
    g_assert_null (result);
  }
}

static void
test_torchvision (gconstpointer data)
{
  MienAugmentOp op = GPOINTER_TO_UINT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) images = NULL;
  g_autoptr(MienTensor) result = NULL;
  g_autofree guint8 *got = NULL;
  const guint8 *expected;
  gsize differing;
  char *message;

  if (!ensure_reference ())
    return;

  images = make_images (N_IMAGES, HEIGHT, WIDTH);
  result = mien_augment_apply (images, op, test_magnitudes[op], &error);
  g_assert_no_error (error);
  assert_images_like (result, images);

  got = bytes_of (result);
  expected = reference_outputs + (gsize) op * N_BYTES;
  differing = count_differences (got, expected, N_BYTES);

  message = g_strdup_printf ("%s: %" G_GSIZE_FORMAT " of %d bytes differ from torchvision",
                             mien_augment_op_name (op), differing, N_BYTES);
  g_test_message ("%s", message);
  g_free (message);

  g_assert_cmpuint (differing, ==, 0);

  /* the op must have done something, or the comparison proves little */
  if (op != MIEN_AUGMENT_IDENTITY)
    g_assert_cmpuint (count_differences (got, reference_inputs, N_BYTES), >, 0);
}

static void
test_key (void)
{
  GHashTable *seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  g_assert_cmpuint (mien_augment_key (1, 2, 3, 4), ==, mien_augment_key (1, 2, 3, 4));
  /* swapped fields are different keys */
  g_assert_cmpuint (mien_augment_key (1, 2, 3, 0), !=, mien_augment_key (1, 3, 2, 0));
  g_assert_cmpuint (mien_augment_key (1, 0, 0, 5), !=, mien_augment_key (1, 0, 5, 0));

  for (guint seed = 0; seed < 4; seed++)
    for (guint index = 0; index < 50; index++)
      for (guint copy = 0; copy < 5; copy++)
        for (guint epoch = 0; epoch < 5; epoch++)
          {
            gint64 *key = g_new (gint64, 1);

            *key = (gint64) mien_augment_key (seed, index, copy, epoch);
            g_assert_false (g_hash_table_contains (seen, key));
            g_hash_table_add (seen, key);
          }
  g_hash_table_unref (seen);
}

static void
test_draw (void)
{
  const MienRandAugment config = MIEN_RAND_AUGMENT_INIT;
  guint counts[MIEN_AUGMENT_N_OPS] = { 0 };
  guint positive[MIEN_AUGMENT_N_OPS] = { 0 };
  guint negative[MIEN_AUGMENT_N_OPS] = { 0 };
  const guint n_keys = 6000;

  for (guint k = 0; k < n_keys; k++)
    {
      guint64 key = mien_augment_key (42, k, k % 3, 0);
      MienAugmentOp ops[2], again_ops[2];
      double magnitudes[2], again_magnitudes[2];

      mien_rand_augment_draw (&config, key, HEIGHT, WIDTH, ops, magnitudes);
      mien_rand_augment_draw (&config, key, HEIGHT, WIDTH, again_ops, again_magnitudes);
      g_assert_cmpmem (ops, sizeof ops, again_ops, sizeof again_ops);
      g_assert_cmpmem (magnitudes, sizeof magnitudes, again_magnitudes, sizeof again_magnitudes);

      for (int r = 0; r < 2; r++)
        {
          MienAugmentOp op = ops[r];
          double unsigned_m = mien_augment_op_magnitude (&config, op, HEIGHT, WIDTH);
          gboolean blend = op >= MIEN_AUGMENT_BRIGHTNESS && op <= MIEN_AUGMENT_SHARPNESS;
          double m = blend ? magnitudes[r] - 1.0 : magnitudes[r];

          if ((guint) op >= MIEN_AUGMENT_N_OPS)
            g_error ("drew op %u, beyond the list", (guint) op);
          counts[op]++;
          if (blend)
            g_assert_true (magnitudes[r] == 1.0 + unsigned_m || magnitudes[r] == 1.0 - unsigned_m);
          else if (op == MIEN_AUGMENT_POSTERIZE || op == MIEN_AUGMENT_IDENTITY ||
                   op == MIEN_AUGMENT_AUTOCONTRAST)
            g_assert_cmpfloat (magnitudes[r], ==, unsigned_m);
          else
            g_assert_true (magnitudes[r] == unsigned_m || magnitudes[r] == -unsigned_m);
          if (m > 0)
            positive[op]++;
          else if (m < 0)
            negative[op]++;
        }
    }

  /* 12000 draws over 12 ops: 1000 each on average, far from 700 by chance */
  for (guint op = 0; op < MIEN_AUGMENT_N_OPS; op++)
    {
      g_assert_cmpuint (counts[op], >, 700);
      if (op != MIEN_AUGMENT_IDENTITY && op != MIEN_AUGMENT_POSTERIZE &&
          op != MIEN_AUGMENT_AUTOCONTRAST)
        {
          g_assert_cmpuint (positive[op], >, counts[op] / 4);
          g_assert_cmpuint (negative[op], >, counts[op] / 4);
        }
    }
}

static guint64 *
make_keys (guint64 seed,
           int     n)
{
  guint64 *keys = g_new (guint64, n);

  for (int i = 0; i < n; i++)
    keys[i] = mien_augment_key (seed, i, 0, 0);
  return keys;
}

static void
test_batch (void)
{
  const MienRandAugment config = MIEN_RAND_AUGMENT_INIT;
  const int n = 24;
  const gsize image_bytes = 3 * HEIGHT * WIDTH;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) images = make_images (n, HEIGHT, WIDTH);
  g_autofree guint64 *keys = make_keys (7, n);
  g_autofree guint64 *other_keys = make_keys (8, n);
  g_autofree gboolean *apply = g_new (gboolean, n);
  g_autofree guint8 *input = bytes_of (images);
  g_autoptr(MienTensor) first = NULL;
  g_autoptr(MienTensor) second = NULL;
  g_autoptr(MienTensor) other = NULL;
  g_autoptr(MienTensor) partial = NULL;
  g_autofree guint8 *first_bytes = NULL;
  g_autofree guint8 *second_bytes = NULL;
  g_autofree guint8 *other_bytes = NULL;
  g_autofree guint8 *partial_bytes = NULL;

  first = mien_rand_augment_batch (&config, images, keys, NULL, &error);
  g_assert_no_error (error);
  assert_images_like (first, images);
  second = mien_rand_augment_batch (&config, images, keys, NULL, &error);
  g_assert_no_error (error);
  other = mien_rand_augment_batch (&config, images, other_keys, NULL, &error);
  g_assert_no_error (error);

  first_bytes = bytes_of (first);
  second_bytes = bytes_of (second);
  other_bytes = bytes_of (other);
  g_assert_cmpmem (first_bytes, n * image_bytes, second_bytes, n * image_bytes);
  g_assert_cmpuint (count_differences (first_bytes, other_bytes, n * image_bytes), >, 0);

  /* The batch equals each image run through its own ops one at a time. */
  for (int i = 0; i < n; i++)
    {
      g_autoptr(MienTensor) one = NULL;
      g_autofree guint8 *one_bytes = NULL;
      MienAugmentOp ops[2];
      double magnitudes[2];

      mien_rand_augment_draw (&config, keys[i], HEIGHT, WIDTH, ops, magnitudes);
      one = mien_tensor_narrow (images, 0, i, 1, &error);
      g_assert_no_error (error);
      for (int r = 0; r < 2; r++)
        {
          g_autoptr(MienTensor) next = mien_augment_apply (one, ops[r], &magnitudes[r], &error);

          g_assert_no_error (error);
          g_clear_pointer (&one, mien_tensor_free);
          one = g_steal_pointer (&next);
        }
      one_bytes = bytes_of (one);
      if (memcmp (one_bytes, first_bytes + i * image_bytes, image_bytes) != 0)
        g_error ("image %d (%s %g, %s %g) differs from its ops applied alone", i,
                 mien_augment_op_name (ops[0]), magnitudes[0],
                 mien_augment_op_name (ops[1]), magnitudes[1]);
    }

  /* Rows not applied are left exactly as they were; the others are as with apply = NULL. */
  for (int i = 0; i < n; i++)
    apply[i] = i % 3 != 0;
  partial = mien_rand_augment_batch (&config, images, keys, apply, &error);
  g_assert_no_error (error);
  partial_bytes = bytes_of (partial);
  for (int i = 0; i < n; i++)
    {
      const guint8 *want = apply[i] ? first_bytes : input;

      g_assert_cmpmem (partial_bytes + i * image_bytes, image_bytes,
                       want + i * image_bytes, image_bytes);
    }

  /* no ops: an unchanged copy */
  {
    const MienRandAugment none = { 0, 9, 31 };
    g_autoptr(MienTensor) same = mien_rand_augment_batch (&none, images, keys, NULL, &error);
    g_autofree guint8 *same_bytes = NULL;

    g_assert_no_error (error);
    same_bytes = bytes_of (same);
    g_assert_cmpmem (same_bytes, n * image_bytes, input, n * image_bytes);
  }

  /* a magnitude outside the bins is an error */
  {
    const MienRandAugment bad = { 2, 31, 31 };
    g_autoptr(MienTensor) none = mien_rand_augment_batch (&bad, images, keys, NULL, &error);

    g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
    g_assert_null (none);
  }
}

/* On a GPU, every op and a whole batch agree with the CPU (geometric ops and the blends within
 * a few boundary pixels: CUDA's sums run in another order). */
static void
test_cuda (void)
{
  const MienRandAugment config = MIEN_RAND_AUGMENT_INIT;
  const int n = 16;
  const gsize n_bytes = (gsize) n * 3 * HEIGHT * WIDTH;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) images = NULL;
  g_autoptr(MienTensor) on_gpu = NULL;
  g_autofree guint64 *keys = NULL;
  double magnitudes[16];

  if (!mien_torch_cuda_is_available ())
    {
      g_test_skip ("no CUDA device");
      return;
    }

  images = make_images (n, HEIGHT, WIDTH);
  on_gpu = mien_tensor_to_device (images, mien_device_cuda (0), &error);
  g_assert_no_error (error);
  keys = make_keys (3, n);

  for (guint op = 0; op <= MIEN_AUGMENT_N_OPS; op++)
    {
      g_autoptr(MienTensor) cpu = NULL;
      g_autoptr(MienTensor) gpu = NULL;
      g_autofree guint8 *cpu_bytes = NULL;
      g_autofree guint8 *gpu_bytes = NULL;
      gsize differing;
      const char *name;

      if (op < MIEN_AUGMENT_N_OPS)
        {
          for (int i = 0; i < n; i++)
            magnitudes[i] = test_magnitudes[op][i % N_IMAGES];
          cpu = mien_augment_apply (images, op, magnitudes, &error);
          g_assert_no_error (error);
          gpu = mien_augment_apply (on_gpu, op, magnitudes, &error);
          name = mien_augment_op_name (op);
        }
      else
        {
          cpu = mien_rand_augment_batch (&config, images, keys, NULL, &error);
          g_assert_no_error (error);
          gpu = mien_rand_augment_batch (&config, on_gpu, keys, NULL, &error);
          name = "batch";
        }
      g_assert_no_error (error);
      assert_images_like (gpu, on_gpu);
      cpu_bytes = bytes_of (cpu);
      gpu_bytes = bytes_of (gpu);
      differing = count_differences (cpu_bytes, gpu_bytes, n_bytes);
      g_test_message ("%s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes differ on CUDA",
                      name, differing, n_bytes);
      g_assert_cmpuint (differing, <=, (gsize) (GEOMETRIC_TOLERANCE * n_bytes));
    }

  /* Flip and crop: 0/1 maps are exact anywhere; bilinear weights within the same tolerance. */
  for (guint kind = MIEN_CROP_PAD; kind <= MIEN_CROP_RESIZED; kind++)
    {
      const MienGeometryAugment geometry = { TRUE, kind, 0, 0.3 };
      g_autoptr(MienTensor) cpu = mien_geometry_augment_batch (&geometry, images, keys, &error);
      g_autoptr(MienTensor) gpu = NULL;
      g_autofree guint8 *cpu_bytes = NULL;
      g_autofree guint8 *gpu_bytes = NULL;
      gsize differing;

      g_assert_no_error (error);
      gpu = mien_geometry_augment_batch (&geometry, on_gpu, keys, &error);
      g_assert_no_error (error);
      assert_images_like (gpu, on_gpu);
      cpu_bytes = bytes_of (cpu);
      gpu_bytes = bytes_of (gpu);
      differing = count_differences (cpu_bytes, gpu_bytes, n_bytes);
      g_test_message ("crop %u: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes differ on "
                      "CUDA", kind, differing, n_bytes);
      if (kind == MIEN_CROP_PAD)
        g_assert_cmpuint (differing, ==, 0);
      else
        g_assert_cmpuint (differing, <=, (gsize) (GEOMETRIC_TOLERANCE * n_bytes));
    }
}

/* ---- Geometry: flip and crop ----------------------------------------------------------- */

static void
test_crop_strings (void)
{
  static const char * const good[] = { "none", "pad", "pad:4", "pad:1024", "resized",
                                       "resized:0.08", "resized:1" };
  static const char * const canonical[] = { "none", "pad", "pad:4", "pad:1024", "resized:0.8",
                                            "resized:0.08", "resized:1" };
  static const char * const bad[] = { "", "pad:", "pad:0", "pad:-3", "pad:4x", "pad:1025",
                                      "pad:99999999999999999999", "resized:", "resized:0",
                                      "resized:1.5", "resized:-0.2", "resized:0.5x", "resized:nan",
                                      "reflect", "Pad:4", "none:1" };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      MienGeometryAugment config = MIEN_GEOMETRY_AUGMENT_NONE;
      g_autofree char *back = NULL;

      g_assert_true (mien_crop_from_string (good[i], &config, &error));
      g_assert_no_error (error);
      back = mien_crop_to_string (&config);
      g_assert_cmpstr (back, ==, canonical[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      MienGeometryAugment config = { TRUE, MIEN_CROP_PAD, 3, 0.5 };

      g_assert_false (mien_crop_from_string (bad[i], &config, &error));
      g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
      /* the message quotes what was given; the config is untouched */
      g_assert_nonnull (strstr (error->message, bad[i]));
      g_assert_cmpint (config.crop, ==, MIEN_CROP_PAD);
      g_assert_cmpuint (config.padding, ==, 3);
    }
}

/* Draws applied with one configuration. */
typedef struct {
  MienGeometryAugment     config;
  const MienGeometryDraw *draws;
  int                     n;
} GeometryGroup;

/* Compares mien_geometry_apply () with torchvision, byte for byte, for every group on its own
 * generated images, with one run of the reference for them all. */
static void
compare_geometry (const GeometryGroup *groups,
                  guint                n_groups,
                  int                  height,
                  int                  width)
{
  static const char * const kinds[] = { "none", "pad", "resized" };
  g_autoptr(GString) spec = g_string_new (NULL);
  gsize image_bytes = (gsize) 3 * height * width;
  g_autofree guint8 *pixels = NULL;
  g_autofree guint8 *expected = NULL;
  g_autoptr(MienTensor) images = NULL;
  int total = 0, offset = 0;

  for (guint g = 0; g < n_groups; g++)
    for (int i = 0; i < groups[g].n; i++)
      {
        const MienGeometryDraw *d = &groups[g].draws[i];

        g_string_append_printf (spec, "%s %u %d %d %d %d %d\n", kinds[groups[g].config.crop],
                                mien_geometry_padding (&groups[g].config, height, width),
                                d->top, d->left, d->height, d->width, d->flip);
        total++;
      }
  pixels = make_pixels (total, height, width);
  expected = reference_run ("geometry", pixels, total, height, width, spec->str,
                            total * image_bytes);
  if (expected == NULL)
    return;
  images = make_images (total, height, width);

  for (guint g = 0; g < n_groups; g++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MienTensor) subset = mien_tensor_narrow (images, 0, offset, groups[g].n,
                                                         &error);
      g_autoptr(MienTensor) result = NULL;
      g_autofree guint8 *got = NULL;
      const guint8 *want = expected + offset * image_bytes;

      g_assert_no_error (error);
      result = mien_geometry_apply (&groups[g].config, subset, groups[g].draws, &error);
      g_assert_no_error (error);
      assert_images_like (result, subset);
      got = bytes_of (result);
      for (gsize b = 0; b < groups[g].n * image_bytes; b++)
        if (got[b] != want[b])
          {
            const MienGeometryDraw *d = &groups[g].draws[b / image_bytes];

            g_error ("%dx%d, %s, box %d, %d, %d × %d, flip %d: byte %" G_GSIZE_FORMAT
                     " is %u, torchvision's %u", height, width, kinds[groups[g].config.crop],
                     d->top, d->left, d->height, d->width, d->flip, b % image_bytes, got[b],
                     want[b]);
          }
      offset += groups[g].n;
    }
}

/* Fixed boxes at the edges of their ranges, then boxes drawn from keys, on several sizes: the
 * same bytes as torchvision (the resized crop included: the weights and the one fused
 * multiply-add of libtorch's kernel are reproduced, see mien-augment.c). */
static void
test_geometry_torchvision (void)
{
  static const int sizes[][2] = { { HEIGHT, WIDTH }, { 17, 23 }, { 48, 48 } };

  if (reference_python () == NULL)
    {
      g_free (run_reference (NULL));
      return;
    }

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      const int h = sizes[s][0], w = sizes[s][1];
      const MienGeometryAugment flip = { TRUE, MIEN_CROP_NONE, 0, 0.8 };
      const MienGeometryAugment pad = { TRUE, MIEN_CROP_PAD, 0, 0.8 };
      const MienGeometryAugment pad3 = { TRUE, MIEN_CROP_PAD, 3, 0.8 };
      const MienGeometryAugment resized = { TRUE, MIEN_CROP_RESIZED, 0, 0.08 };
      int p = (int) mien_geometry_padding (&pad, h, w);
      const MienGeometryDraw flips[2] = { { TRUE, 0, 0, h, w }, { FALSE, 0, 0, h, w } };
      const MienGeometryDraw pads[6] = {
        { FALSE, 0, 0, h, w }, { TRUE, 2 * p, 2 * p, h, w }, { FALSE, p, p, h, w },
        { TRUE, 0, 2 * p, h, w }, { FALSE, 2 * p, 1, h, w }, { TRUE, p, p, h, w },
      };
      const MienGeometryDraw pads3[2] = { { FALSE, 6, 0, h, w }, { TRUE, 1, 5, h, w } };
      const MienGeometryDraw boxes[7] = {
        { FALSE, 0, 0, h, w },                       /* the whole image, flipped below */
        { TRUE, 0, 0, h, w },
        { FALSE, 3, 2, 5, 7 },                       /* enlarged */
        { TRUE, h - 9, w - 4, 9, 4 },                /* the bottom-right corner */
        { FALSE, 0, 1, h, w - 3 },                   /* only the width changes */
        { TRUE, 2, 0, h - 5, w },                    /* only the height changes */
        { FALSE, 1, 1, h - 1, w - 1 },               /* shrunk by a non-integer factor */
      };
      g_autofree guint64 *keys = make_keys (11 + s, 24);
      MienGeometryDraw drawn_pad[24], drawn_resized[24];
      GeometryGroup groups[6];

      for (int i = 0; i < 24; i++)
        {
          mien_geometry_draw (&pad, keys[i], h, w, &drawn_pad[i]);
          mien_geometry_draw (&resized, keys[i], h, w, &drawn_resized[i]);
        }
      groups[0] = (GeometryGroup) { flip, flips, G_N_ELEMENTS (flips) };
      groups[1] = (GeometryGroup) { pad, pads, G_N_ELEMENTS (pads) };
      groups[2] = (GeometryGroup) { pad3, pads3, G_N_ELEMENTS (pads3) };
      groups[3] = (GeometryGroup) { resized, boxes, G_N_ELEMENTS (boxes) };
      groups[4] = (GeometryGroup) { pad, drawn_pad, 24 };
      groups[5] = (GeometryGroup) { resized, drawn_resized, 24 };
      compare_geometry (groups, G_N_ELEMENTS (groups), h, w);
    }
}

/* The same key always gives the same draw; flips are fair; pad offsets are uniform over
 * 0 … 2P; resized boxes stay inside the image within RandomResizedCrop's scale and ratio. */
static void
test_geometry_draws (void)
{
  const int n = 10000, h = 48, w = 40;
  const MienGeometryAugment pad = { TRUE, MIEN_CROP_PAD, 4, 0.8 };
  const MienGeometryAugment resized = { TRUE, MIEN_CROP_RESIZED, 0, 0.5 };
  const MienGeometryAugment flip_only = { TRUE, MIEN_CROP_NONE, 0, 0.8 };
  guint counts_top[9] = { 0 }, counts_left[9] = { 0 };
  guint flips = 0, same_as_next_epoch = 0, flips_only = 0;
  double chi_top = 0.0, chi_left = 0.0, mean_top = 0.0, min_scale = 1.0, max_scale = 0.0;
  double min_ratio = 10.0, max_ratio = 0.0;

  for (int i = 0; i < n; i++)
    {
      guint64 key = mien_augment_key (5, i, 0, 3);
      MienGeometryDraw a, b, next, r, f;

      mien_geometry_draw (&pad, key, h, w, &a);
      mien_geometry_draw (&pad, key, h, w, &b);
      g_assert_cmpmem (&a, sizeof a, &b, sizeof b);
      g_assert_cmpint (a.height, ==, h);
      g_assert_cmpint (a.width, ==, w);
      g_assert_cmpint (a.top, >=, 0);
      g_assert_cmpint (a.top, <=, 8);
      g_assert_cmpint (a.left, >=, 0);
      g_assert_cmpint (a.left, <=, 8);
      counts_top[a.top]++;
      counts_left[a.left]++;
      flips += a.flip;
      mien_geometry_draw (&pad, mien_augment_key (5, i, 0, 4), h, w, &next);
      same_as_next_epoch += memcmp (&a, &next, sizeof a) == 0;

      /* the flip is drawn first: the crop kind does not change it */
      mien_geometry_draw (&flip_only, key, h, w, &f);
      g_assert_cmpint (f.flip, ==, a.flip);
      flips_only += f.top == 0 && f.left == 0 && f.height == h && f.width == w;

      mien_geometry_draw (&resized, key, h, w, &r);
      g_assert_cmpint (r.top, >=, 0);
      g_assert_cmpint (r.left, >=, 0);
      g_assert_cmpint (r.top + r.height, <=, h);
      g_assert_cmpint (r.left + r.width, <=, w);
      min_scale = MIN (min_scale, (double) r.height * r.width / (h * w));
      max_scale = MAX (max_scale, (double) r.height * r.width / (h * w));
      min_ratio = MIN (min_ratio, (double) r.width / r.height);
      max_ratio = MAX (max_ratio, (double) r.width / r.height);
      if (r.height < h)
        mean_top += (double) r.top / (h - r.height);
      else
        mean_top += 0.5;
    }

  /* 3σ of a fair coin over n tosses */
  g_assert_cmpfloat (fabs (flips - n / 2.0), <=, 3.0 * sqrt (n * 0.25));
  g_assert_cmpint (flips_only, ==, n);
  /* χ² with 8 degrees of freedom: 26.1 is its 0.999 quantile */
  for (int k = 0; k < 9; k++)
    {
      double expected = n / 9.0;

      chi_top += (counts_top[k] - expected) * (counts_top[k] - expected) / expected;
      chi_left += (counts_left[k] - expected) * (counts_left[k] - expected) / expected;
    }
  g_assert_cmpfloat (chi_top, <, 26.1);
  g_assert_cmpfloat (chi_left, <, 26.1);
  /* another epoch draws again: 1 in 162 draws repeats by chance */
  g_assert_cmpint (same_as_next_epoch, <, n / 50);

  /* scale (0.5, 1) and ratio (3/4, 4/3), both nearly reached, up to the rounding of sides */
  g_assert_cmpfloat (min_scale, >=, 0.5 * 0.9);
  g_assert_cmpfloat (min_scale, <, 0.52);
  g_assert_cmpfloat (max_scale, >, 0.97);
  g_assert_cmpfloat (min_ratio, >=, 0.75 * 0.95);
  g_assert_cmpfloat (min_ratio, <, 0.78);
  g_assert_cmpfloat (max_ratio, <=, 4.0 / 3.0 / 0.95);
  g_assert_cmpfloat (max_ratio, >, 1.28);
  /* top uniform over its range: mean 1/2 within 4σ (σ of a uniform is 1/√12) */
  g_assert_cmpfloat (fabs (mean_top / n - 0.5), <, 4.0 / sqrt (12.0 * n));

  /* the padding "pad" picks: an eighth of the side, at least 1 */
  {
    const MienGeometryAugment automatic = { FALSE, MIEN_CROP_PAD, 0, 0.8 };

    g_assert_cmpuint (mien_geometry_padding (&automatic, 48, 48), ==, 6);
    g_assert_cmpuint (mien_geometry_padding (&automatic, 224, 200), ==, 25);
    g_assert_cmpuint (mien_geometry_padding (&automatic, 5, 5), ==, 1);
    g_assert_cmpuint (mien_geometry_padding (&pad, 224, 224), ==, 4);
  }
}

/* A batch is its draws applied, every time the same; nothing to do gives the images back. */
static void
test_geometry_batch (void)
{
  const MienGeometryAugment config = { TRUE, MIEN_CROP_RESIZED, 0, 0.3 };
  const MienGeometryAugment none = MIEN_GEOMETRY_AUGMENT_NONE;
  const int n = 20;
  const gsize n_bytes = (gsize) n * 3 * HEIGHT * WIDTH;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) images = make_images (n, HEIGHT, WIDTH);
  g_autofree guint64 *keys = make_keys (21, n);
  g_autofree MienGeometryDraw *draws = g_new (MienGeometryDraw, n);
  g_autoptr(MienTensor) first = NULL;
  g_autoptr(MienTensor) second = NULL;
  g_autoptr(MienTensor) applied = NULL;
  g_autoptr(MienTensor) same = NULL;
  g_autofree guint8 *input = bytes_of (images);
  g_autofree guint8 *first_bytes = NULL;
  g_autofree guint8 *second_bytes = NULL;
  g_autofree guint8 *applied_bytes = NULL;
  g_autofree guint8 *same_bytes = NULL;

  first = mien_geometry_augment_batch (&config, images, keys, &error);
  g_assert_no_error (error);
  assert_images_like (first, images);
  second = mien_geometry_augment_batch (&config, images, keys, &error);
  g_assert_no_error (error);
  for (int i = 0; i < n; i++)
    mien_geometry_draw (&config, keys[i], HEIGHT, WIDTH, &draws[i]);
  applied = mien_geometry_apply (&config, images, draws, &error);
  g_assert_no_error (error);
  first_bytes = bytes_of (first);
  second_bytes = bytes_of (second);
  applied_bytes = bytes_of (applied);
  g_assert_cmpmem (first_bytes, n_bytes, second_bytes, n_bytes);
  g_assert_cmpmem (first_bytes, n_bytes, applied_bytes, n_bytes);
  g_assert_cmpuint (count_differences (first_bytes, input, n_bytes), >, n_bytes / 2);

  same = mien_geometry_augment_batch (&none, images, keys, &error);
  g_assert_no_error (error);
  same_bytes = bytes_of (same);
  g_assert_cmpmem (same_bytes, n_bytes, input, n_bytes);

  /* a box outside the image is an error, not a read past it */
  draws[3].top = HEIGHT - 2;
  draws[3].height = 5;
  g_clear_pointer (&applied, mien_tensor_free);
  applied = mien_geometry_apply (&config, images, draws, &error);
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_assert_null (applied);
}

static MienTrainConfig *
config_from_text (const char  *text,
                  GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  return mien_train_config_from_json (json_node_get_object (json_parser_get_root (parser)),
                                      "config.json", error);
}

/* New runs flip and pad-crop; a config.json from before these fields trains as it did; what is
 * written is read back; a bad crop names the file and the key. */
static void
test_geometry_config (void)
{
  g_autoptr(MienTrainConfig) fresh = mien_train_config_new ();
  g_autoptr(MienTrainConfig) old = NULL;
  g_autoptr(MienTrainConfig) back = NULL;
  g_autoptr(MienTrainConfig) bad = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_assert_true (fresh->geometry.flip);
  g_assert_cmpint (fresh->geometry.crop, ==, MIEN_CROP_PAD);
  g_assert_cmpuint (fresh->geometry.padding, ==, 0);

  old = config_from_text ("{\"data\": \"d\", \"backbone\": \"resnet:18\", "
                          "\"epochs\": 2, \"batch_size\": 8, \"lr\": 0.001, "
                          "\"out\": \"r\"}", &error);
  g_assert_no_error (error);
  g_assert_false (old->geometry.flip);
  g_assert_cmpint (old->geometry.crop, ==, MIEN_CROP_NONE);

  fresh->data = g_strdup ("d");
  fresh->out = g_strdup ("r");
  fresh->geometry.flip = FALSE;
  g_assert_true (mien_crop_from_string ("resized:0.25", &fresh->geometry, NULL));
  node = mien_train_config_to_json (fresh);
  text = json_to_string (node, FALSE);
  back = config_from_text (text, &error);
  g_assert_no_error (error);
  g_assert_false (back->geometry.flip);
  g_assert_cmpint (back->geometry.crop, ==, MIEN_CROP_RESIZED);
  g_assert_cmpfloat (back->geometry.scale_min, ==, 0.25);

  bad = config_from_text ("{\"data\": \"d\", \"backbone\": \"resnet:18\", "
                          "\"epochs\": 2, \"batch_size\": 8, \"lr\": 0.001, "
                          "\"crop\": \"pad:0\"}", &error);
  g_assert_null (bad);
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, "config.json: “crop”: "));
  g_assert_nonnull (strstr (error->message, "pad:0"));
}

int
main (int argc, char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  mien_torch_init ();

  g_test_add_func ("/augment/names", test_names);
  g_test_add_func ("/augment/magnitude-constants", test_magnitude_constants);
  g_test_add_func ("/augment/magnitude-table", test_magnitude_table);
  g_test_add_func ("/augment/shape-dtype-device", test_shape_dtype_device);
  for (guint op = 0; op < MIEN_AUGMENT_N_OPS; op++)
    {
      g_autofree char *path = g_strdup_printf ("/augment/torchvision/%s",
                                               mien_augment_op_name (op));

      g_test_add_data_func (path, GUINT_TO_POINTER (op), test_torchvision);
    }
  g_test_add_func ("/augment/key", test_key);
  g_test_add_func ("/augment/draw", test_draw);
  g_test_add_func ("/augment/batch", test_batch);
  g_test_add_func ("/augment/cuda", test_cuda);
  g_test_add_func ("/augment/geometry/crop-strings", test_crop_strings);
  g_test_add_func ("/augment/geometry/torchvision", test_geometry_torchvision);
  g_test_add_func ("/augment/geometry/draws", test_geometry_draws);
  g_test_add_func ("/augment/geometry/batch", test_geometry_batch);
  g_test_add_func ("/augment/geometry/config", test_geometry_config);

  status = g_test_run ();
  g_free (reference_outputs);
  g_free (reference_inputs);
  return status;
}
