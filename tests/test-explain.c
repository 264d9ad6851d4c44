/* test-explain.c — Grad-CAM (mien-explain.h) against PyTorch, and what is done with its maps.
 *
 * tests/explain_reference.py (run by MIEN_REFERENCE_PYTHON; skipped without one) builds
 * torchvision's resnet18, efficientnet_b0, googlenet and a ViT-Ti/16 as the parity tests do,
 * with a random three-class head, and computes Grad-CAM with hooks on pytorch-grad-cam's target
 * layers (for ViT with its reshape of the tokens into a grid), and for a DFT ResNet-18 with
 * hooks on both copies; Mien loads the same weights and must find the same maps for every
 * class. Inputs of 96 pixels give 3×3 grids and keep each network within a second or two; the
 * ViT-Ti's 64 pixels give a 4×4 grid of 16-pixel patches, ViT-B's 32 pixels a 2×2 one.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <cairo.h>

#include "mien-core.h"
#include "mien-demo-data.h"
#include "mien-explain.h"
#include "mien-test-util.h"
#include "mien-trainer.h"

#define SIZE 96
#define N_CLASSES 3
/* Relative to the reference map's largest value: a map is read by its shape, and cells near
 * zero carry no meaning of their own. */
#define TOLERANCE 1e-4

static const char * const three_classes[] = { "neutral", "happy", "sad", NULL };

typedef struct {
  const char *torchvision;  /* explain_reference.py's name */
  const char *backbone;     /* Mien's */
  const char *layer;        /* torchvision's module the plugin must hook */
  int         size;
  MienMode    mode;         /* DFT: explain_reference.py's "dft" */
  const char *path;         /* the test's */
} ReferenceCase;

#define VIT_LAYER "encoder.layers.encoder_layer_11.ln_1"

static const ReferenceCase reference_cases[] = {
  { "resnet18", "resnet:18", "layer4", SIZE, MIEN_MODE_FINETUNE, "resnet18" },
  { "efficientnet_b0", "efficientnet:b0", "features.8", SIZE, MIEN_MODE_FINETUNE,
    "efficientnet_b0" },
  { "googlenet", "googlenet", "inception5b", SIZE, MIEN_MODE_FINETUNE, "googlenet" },
  { "vit_ti_16", "vit:ti_16", VIT_LAYER, 64, MIEN_MODE_FINETUNE, "vit_ti_16" },
  /* The paper's ViT-B/16: the same code with its own sizes, on a 2×2 grid to stay cheap. */
  { "vit_b_16", "vit:b_16", VIT_LAYER, 32, MIEN_MODE_FINETUNE, "vit_b_16" },
  { "resnet18", "resnet:18", "layer4", SIZE, MIEN_MODE_DFT, "resnet18-dft" },
};

static MienTensor *
load_tensor (MienSafetensors *st,
             const char      *name)
{
  g_autoptr(GError) error = NULL;
  MienTensor *t = mien_safetensors_load_tensor (st, name, &error);

  g_assert_no_error (error);
  return t;
}

static float *
to_floats (MienTensor *t,
           gsize      *n)
{
  g_autoptr(GError) error = NULL;
  float *data;

  *n = mien_tensor_numel (t);
  data = g_new (float, *n);
  g_assert_true (mien_tensor_to_host (t, data, *n * sizeof (float), &error));
  g_assert_no_error (error);
  return data;
}

/* Element-wise within TOLERANCE × max |expected|; returns that maximum. */
static float
assert_maps_close (MienTensor *got,
                   MienTensor *expected)
{
  gsize n_got, n_expected;
  g_autofree float *g = NULL;
  g_autofree float *e = NULL;
  float scale = 0.0f;
  float worst = 0.0f;

  g_assert_cmpint (mien_tensor_ndim (got), ==, mien_tensor_ndim (expected));
  for (int d = 0; d < mien_tensor_ndim (got); d++)
    g_assert_cmpint (mien_tensor_size (got, d), ==, mien_tensor_size (expected, d));

  g = to_floats (got, &n_got);
  e = to_floats (expected, &n_expected);
  for (gsize i = 0; i < n_expected; i++)
    scale = MAX (scale, fabsf (e[i]));
  for (gsize i = 0; i < n_expected; i++)
    {
      /* <=, not g_assert_cmpfloat_with_epsilon's <: a map of zeros must match zeros. */
      if (fabsf (g[i] - e[i]) > TOLERANCE * scale)
        g_error ("map value %" G_GSIZE_FORMAT ": %g, expected %g (within %g)", i, g[i], e[i],
                 TOLERANCE * scale);
      worst = MAX (worst, fabsf (g[i] - e[i]));
    }
  g_test_message ("largest difference %g, %g of the largest value", worst,
                  scale > 0.0f ? worst / scale : 0.0f);
  return scale;
}

/* A random `backbone` for `size`-pixel inputs and `classes`, trained (or not) in `mode`. */
static MienModel *
random_model_of (const char         *backbone,
                 int                 size,
                 MienMode            mode,
                 const char * const *classes)
{
  g_autoptr(GError) error = NULL;
  MienModelSpec spec = mien_test_random_spec (backbone, size, mode, classes);
  MienModel *model;

  model = mien_model_new (mien_plugin_engine_get_default (), &spec, &error);
  g_assert_no_error (error);
  return model;
}

static MienModel *
random_model (const char *backbone,
              int         size,
              MienMode    mode)
{
  return random_model_of (backbone, size, mode, three_classes);
}

static MienModel *
resnet_model (MienMode mode)
{
  return random_model ("resnet:18", 64, mode);
}

/* Prepared (float) input: N random images of size × size. */
static MienTensor *
random_input (gint64 n,
              gint64 size)
{
  g_autoptr(GError) error = NULL;
  const gint64 shape[4] = { n, 3, size, size };
  MienTensor *t = mien_tensor_new_randn (shape, 4, MIEN_DTYPE_FLOAT32, mien_device_cpu (),
                                         &error);

  g_assert_no_error (error);
  return t;
}

static void
test_explain_reference (MienTestScratch *scratch,
                        gconstpointer    data)
{
  const ReferenceCase *c = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *size = g_strdup_printf ("%d", c->size);
  g_autofree char *out = NULL;
  g_autofree char *model_path = g_build_filename (scratch->dir, "model.safetensors", NULL);
  g_autofree char *io_path = g_build_filename (scratch->dir, "io.safetensors", NULL);
  g_autoptr(MienModel) model = NULL;
  g_autoptr(MienSafetensors) io = NULL;
  g_autoptr(MienTensor) input = NULL;
  MienLoadOptions options = { .flags = MIEN_LOAD_STRICT };
  float largest = 0.0f;

  out = mien_test_run_reference ("explain_reference.py", c->torchvision, size, scratch->dir,
                                 c->mode == MIEN_MODE_DFT ? "dft" : NULL, NULL);
  if (out == NULL)
    return;

  model = random_model (c->backbone, c->size, c->mode);
  g_assert_true (mien_var_store_load (mien_model_get_var_store (model), model_path, &options,
                                      NULL, &error));
  g_assert_no_error (error);

  io = mien_safetensors_open (io_path, &error);
  g_assert_no_error (error);
  input = load_tensor (io, "input");

  for (guint k = 0; k < N_CLASSES; k++)
    {
      g_autofree char *name = g_strdup_printf ("cam.%u", k);
      g_autofree char *layer = NULL;
      g_autoptr(MienTensor) expected = load_tensor (io, name);
      g_autoptr(MienTensor) map = NULL;

      map = mien_explain_grad_cam (model, input, k, &layer, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (layer, ==, c->layer);
      largest = MAX (largest, assert_maps_close (map, expected));
    }
  /* All-zero maps would match anything that is also zero. */
  g_assert_cmpfloat (largest, >, 0.0f);
}

/* Grad-CAM must leave the parameters' gradients alone: a model may be explained between two
 * steps of its training. */
static void
test_explain_no_side_effects (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienModel) model = resnet_model (MIEN_MODE_FINETUNE);
  MienVarStore *vs = mien_model_get_var_store (model);
  g_autoptr(MienTensor) input = random_input (1, 64);
  g_autoptr(MienTensor) map = NULL;

  map = mien_explain_grad_cam (model, input, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (map);

  for (guint i = 0; i < mien_var_store_get_n_vars (vs); i++)
    {
      g_autoptr(MienTensor) var = mien_var_store_get_nth (vs, i);
      g_autoptr(MienTensor) grad = mien_tensor_grad (var);

      g_assert_null (grad);
    }
}

/* A linear probe's backbone has no parameter that requires grad, so nothing above the head is
 * recorded by autograd unless the explained layer is made a leaf that does: its maps must still
 * equal those of the same weights fine-tuned. */
static void
test_explain_probe (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienModel) finetune = resnet_model (MIEN_MODE_FINETUNE);
  g_autoptr(MienModel) probe = resnet_model (MIEN_MODE_PROBE);
  g_autoptr(MienTensor) input = random_input (2, 64);
  float largest = 0.0f;

  g_assert_true (mien_var_store_copy_from (mien_model_get_var_store (probe),
                                           mien_model_get_var_store (finetune), &error));
  g_assert_no_error (error);

  for (guint k = 0; k < N_CLASSES; k++)
    {
      g_autoptr(MienTensor) expected = mien_explain_grad_cam (finetune, input, k, NULL, &error);
      g_autoptr(MienTensor) map = mien_explain_grad_cam (probe, input, k, NULL, &error);

      g_assert_no_error (error);
      largest = MAX (largest, assert_maps_close (map, expected));
    }
  g_assert_cmpfloat (largest, >, 0.0f);
}

static void
test_explain_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienModel) resnet = resnet_model (MIEN_MODE_FINETUNE);
  g_autoptr(MienTensor) input = random_input (1, 64);
  MienTensor *map;

  map = mien_explain_grad_cam (resnet, input, N_CLASSES, NULL, &error);
  g_assert_error (error, MIEN_EXPLAIN_ERROR, MIEN_EXPLAIN_ERROR_CLASS);
  g_assert_null (map);
  g_assert_nonnull (strstr (error->message, "3 classes"));
}

static void
test_explain_upsample (void)
{
  g_autoptr(GError) error = NULL;
  /* Two maps: one with a peak in a corner, one without evidence at all. */
  const float values[2 * 2 * 2] = { 4.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f };
  const gint64 shape[3] = { 2, 2, 2 };
  g_autoptr(MienTensor) map = mien_tensor_new_from_data (values, MIEN_DTYPE_FLOAT32, shape, 3,
                                                         &error);
  g_autoptr(MienTensor) up = NULL;
  g_autofree float *v = NULL;
  gsize n;

  g_assert_no_error (error);
  up = mien_explain_upsample (map, 8, 6, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_size (up, 0), ==, 2);
  g_assert_cmpint (mien_tensor_size (up, 1), ==, 8);
  g_assert_cmpint (mien_tensor_size (up, 2), ==, 6);

  v = to_floats (up, &n);
  /* The peak's corner is 1, the far corner 0, everything in between. */
  g_assert_cmpfloat_with_epsilon (v[0], 1.0f, 1e-6);
  g_assert_cmpfloat_with_epsilon (v[8 * 6 - 1], 0.0f, 1e-6);
  for (gsize i = 0; i < 8 * 6; i++)
    g_assert_true (v[i] >= 0.0f && v[i] <= 1.0f);
  for (gsize i = 8 * 6; i < n; i++)
    g_assert_cmpfloat (v[i], ==, 0.0f);
}

/* The ensemble's map is the mean of its members' maps, each upsampled and scaled on its own. */
static void
test_explain_ensemble (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienEnsemble) ensemble = mien_ensemble_new ();
  g_autoptr(GPtrArray) members = NULL;
  g_autoptr(MienTensor) images = NULL;
  g_autoptr(MienTensor) average = NULL;
  g_autoptr(MienTensor) sum = NULL;
  const gint64 shape[4] = { 2, 3, 64, 64 };
  const char *backbones[] = { "resnet:18", "efficientnet:b0" };

  for (guint i = 0; i < G_N_ELEMENTS (backbones); i++)
    {
      g_autoptr(MienModel) model = mien_test_random_model (backbones[i], 64, three_classes, FALSE);

      g_assert_true (mien_ensemble_add (ensemble, model, &error));
      g_assert_no_error (error);
    }

  images = mien_tensor_new_randint (0, 256, shape, 4, mien_device_cpu (), &error);
  g_assert_no_error (error);
  g_assert_true (mien_nn_replace (&images, mien_tensor_to_dtype (images, MIEN_DTYPE_UINT8,
                                                                 &error)));
  average = mien_explain_grad_cam_ensemble (ensemble, images, 2, &members, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (members->len, ==, G_N_ELEMENTS (backbones));

  for (guint i = 0; i < members->len; i++)
    {
      MienModel *model = mien_ensemble_get_model (ensemble, i);
      g_autoptr(MienTensor) input = mien_model_prepare_input (model, images, &error);
      g_autoptr(MienTensor) map = mien_explain_grad_cam (model, input, 2, NULL, &error);
      g_autoptr(MienTensor) expected = mien_explain_upsample (map, 64, 64, &error);

      g_assert_no_error (error);
      assert_maps_close (g_ptr_array_index (members, i), expected);
      if (sum == NULL)
        sum = mien_tensor_clone (expected, &error);
      else
        g_assert_true (mien_nn_replace (&sum, mien_tensor_add (sum, expected, &error)));
      g_assert_no_error (error);
    }
  g_assert_true (mien_nn_replace (&sum, mien_tensor_mul_scalar (sum, 0.5, &error)));
  assert_maps_close (average, sum);
}

/* The jet scale's ends and middle, by hand: blue peaks at 1/4 and red at 3/4, each channel
 * 1.5 − |4v − centre| clamped to [0, 1]. */
static void
test_explain_colour (void)
{
  static const struct { double v; guint8 rgb[3]; } cases[] = {
    { 0.0,   { 0, 0, 128 } },
    { 0.125, { 0, 0, 255 } },
    { 0.5,   { 128, 255, 128 } },
    { 0.875, { 255, 0, 0 } },
    { 1.0,   { 128, 0, 0 } },
    { -3.0,  { 0, 0, 128 } },
    { 7.0,   { 128, 0, 0 } },
    { NAN,   { 0, 0, 128 } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint8 rgb[3];

      mien_explain_colour (cases[i].v, rgb);
      g_assert_cmpmem (rgb, 3, cases[i].rgb, 3);
    }
}

/* A 1 × 2 map [0, 1] over a 4 × 1 image: the map's cell centres fall on x = 0.5 and 2.5 of the
 * image's pixel grid (pixels 0.5…3.5 wide), so the pixels read 0, 0.25, 0.75, 1 of the map. */
static void
test_explain_overlay (void)
{
  const float values[2] = { 0.0f, 1.0f };
  const gint64 shape[2] = { 1, 2 };
  const double expected_v[4] = { 0.0, 0.25, 0.75, 1.0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) map = mien_tensor_new_from_data (values, MIEN_DTYPE_FLOAT32, shape, 2,
                                                         &error);
  g_autoptr(GdkPixbuf) image = gdk_pixbuf_new (GDK_COLORSPACE_RGB, TRUE, 8, 4, 1);
  g_autoptr(GdkPixbuf) out = NULL;
  g_autoptr(GdkPixbuf) same = NULL;
  guint8 *in = gdk_pixbuf_get_pixels (image);

  g_assert_no_error (error);
  for (int x = 0; x < 4; x++)
    {
      in[x * 4 + 0] = 200;
      in[x * 4 + 1] = (guint8) (10 * x);
      in[x * 4 + 2] = 40;
      in[x * 4 + 3] = 255;
    }

  out = mien_explain_overlay (image, map, 0.25, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (out), ==, 4);
  g_assert_cmpint (gdk_pixbuf_get_height (out), ==, 1);
  g_assert_false (gdk_pixbuf_get_has_alpha (out));
  for (int x = 0; x < 4; x++)
    {
      const guint8 *px = gdk_pixbuf_read_pixels (out) + x * 3;
      guint8 colour[3];

      mien_explain_colour (expected_v[x], colour);
      for (int c = 0; c < 3; c++)
        g_assert_cmpint (px[c], ==, lround (0.75 * in[x * 4 + c] + 0.25 * colour[c]));
    }

  /* Opacity 0 is the image itself, without its alpha. */
  same = mien_explain_overlay (image, map, 0.0, &error);
  g_assert_no_error (error);
  for (int x = 0; x < 4; x++)
    g_assert_cmpmem (gdk_pixbuf_read_pixels (same) + x * 3, 3, in + x * 4, 3);

  /* A batch of two maps is refused, not half drawn. */
  {
    const float two[4] = { 0, 1, 0, 1 };
    const gint64 two_shape[3] = { 2, 1, 2 };
    g_autoptr(MienTensor) batch = mien_tensor_new_from_data (two, MIEN_DTYPE_FLOAT32, two_shape, 3,
                                                             &error);
    g_autoptr(GdkPixbuf) none = NULL;

    g_assert_no_error (error);
    none = mien_explain_overlay (image, batch, 0.5, &error);
    g_assert_error (error, MIEN_EXPLAIN_ERROR, MIEN_EXPLAIN_ERROR_INPUT);
    g_assert_null (none);
  }
}

/* ---- Where a trained model looks ---------------------------------------------------------- */

/* resnet:18 at 96 px: a 3×3 grid, the coarsest whose middle cell is the face's middle. */
#define FEATURES_SIZE 96
#define FEATURES_PER_CLASS 8
#define N_DEMO_CLASSES 6
/* A balanced demo set of this many training images per class, trained for FEATURES_EPOCHS. */
#define FEATURES_TRAIN_PER_CLASS 60
#define FEATURES_EPOCHS 6
/* How much more of the map must fall on the features than on the background, on average.
 * Measured: 1.62 trained (0.600 / 0.370, accuracy 0.56), 1.17 untrained (0.423 / 0.360). */
#define FEATURES_MARGIN 1.4
/* Seeds of the test faces, far from any the generator gives its images (mixed 64-bit hashes). */
#define FEATURES_SEED 424242

typedef struct {
  double features;    /* mean map value over the features' pixels, averaged over the images */
  double background;  /* the same outside the face */
  double accuracy;
} FeaturesMeasure;

/* FEATURES_PER_CLASS fresh demo faces of every class, as uint8 [N, 3, S, S], and their regions
 * [N, S, S]. */
static MienTensor *
draw_test_faces (guint8 **regions,
                 guint   *labels)
{
  g_autoptr(GError) error = NULL;
  guint n = N_DEMO_CLASSES * FEATURES_PER_CLASS;
  gsize plane = FEATURES_SIZE * FEATURES_SIZE;
  g_autofree guint8 *pixels = g_new (guint8, n * 3 * plane);
  MienTensor *images;

  *regions = g_new (guint8, n * plane);
  for (guint i = 0; i < n; i++)
    {
      cairo_surface_t *face;
      const guint8 *data;
      int stride;

      labels[i] = i / FEATURES_PER_CLASS;
      face = mien_demo_data_draw_face_regions (labels[i], FEATURES_SIZE, FEATURES_SEED + i,
                                               *regions + i * plane);
      cairo_surface_flush (face);
      data = cairo_image_surface_get_data (face);
      stride = cairo_image_surface_get_stride (face);
      for (int y = 0; y < FEATURES_SIZE; y++)
        for (int x = 0; x < FEATURES_SIZE; x++)
          {
            /* RGB24: native-endian 0x00RRGGBB words */
            guint32 px = *(const guint32 *) (data + y * stride + 4 * x);

            for (int c = 0; c < 3; c++)
              pixels[(i * 3 + c) * plane + y * FEATURES_SIZE + x] = (px >> (16 - 8 * c)) & 0xff;
          }
      cairo_surface_destroy (face);
    }

  images = mien_image_batch_tensor (pixels, n, FEATURES_SIZE, &error);
  g_assert_no_error (error);
  return images;
}

/* The regions come with the very image mien_demo_data_draw_face () draws, and hold all three
 * kinds, the features inside the face: what test_explain_features () relies on. */
static void
test_explain_demo_regions (void)
{
  gsize plane = FEATURES_SIZE * FEATURES_SIZE;
  g_autofree guint8 *regions = g_new (guint8, plane);

  for (guint k = 0; k < N_DEMO_CLASSES; k++)
    {
      cairo_surface_t *plain = mien_demo_data_draw_face (k, FEATURES_SIZE, FEATURES_SEED + k);
      cairo_surface_t *with = mien_demo_data_draw_face_regions (k, FEATURES_SIZE,
                                                                FEATURES_SEED + k, regions);
      gsize counts[3] = { 0, 0, 0 };
      int row = 4 * FEATURES_SIZE;

      cairo_surface_flush (plain);
      cairo_surface_flush (with);
      for (int y = 0; y < FEATURES_SIZE; y++)
        g_assert_cmpmem (cairo_image_surface_get_data (plain) +
                         y * cairo_image_surface_get_stride (plain), row,
                         cairo_image_surface_get_data (with) +
                         y * cairo_image_surface_get_stride (with), row);
      cairo_surface_destroy (plain);
      cairo_surface_destroy (with);

      for (gsize j = 0; j < plane; j++)
        {
          g_assert_cmpuint (regions[j], <=, MIEN_DEMO_REGION_FEATURES);
          counts[regions[j]]++;
        }
      /* Brows, eyes and a mouth are a small part of a face that is most of the image. */
      g_assert_cmpuint (counts[MIEN_DEMO_REGION_FEATURES], >, plane / 100);
      g_assert_cmpuint (counts[MIEN_DEMO_REGION_FEATURES], <, counts[MIEN_DEMO_REGION_FACE]);
      g_assert_cmpuint (counts[MIEN_DEMO_REGION_BACKGROUND], >, plane / 20);
    }
}

/* The model's accuracy on the faces, and where the Grad-CAM of each face's predicted class
 * (upsampled and scaled to [0, 1] as it is drawn) puts its mass. */
static FeaturesMeasure
measure_features (MienModel    *model,
                  MienTensor   *images,
                  const guint8 *regions,
                  const guint  *labels)
{
  g_autoptr(GError) error = NULL;
  guint n = mien_tensor_size (images, 0);
  gsize plane = FEATURES_SIZE * FEATURES_SIZE;
  g_autoptr(MienTensor) input = mien_model_prepare_input (model, images, &error);
  g_autoptr(MienTensor) probabilities = mien_model_predict (model, images, &error);
  g_autofree float *p = NULL;
  FeaturesMeasure m = { 0, 0, 0 };
  gsize n_p;

  g_assert_no_error (error);
  p = to_floats (probabilities, &n_p);
  for (guint i = 0; i < n; i++)
    {
      guint predicted = 0;
      g_autoptr(MienTensor) one = mien_tensor_narrow (input, 0, i, 1, &error);
      g_autoptr(MienTensor) map = NULL;
      g_autofree float *v = NULL;
      double sums[3] = { 0, 0, 0 };
      guint counts[3] = { 0, 0, 0 };
      gsize n_v;

      for (guint k = 1; k < N_DEMO_CLASSES; k++)
        if (p[i * N_DEMO_CLASSES + k] > p[i * N_DEMO_CLASSES + predicted])
          predicted = k;
      m.accuracy += predicted == labels[i];

      map = mien_explain_grad_cam (model, one, predicted, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (mien_nn_replace (&map, mien_explain_upsample (map, FEATURES_SIZE,
                                                                   FEATURES_SIZE, &error)));
      v = to_floats (map, &n_v);
      for (gsize j = 0; j < plane; j++)
        {
          guint8 r = regions[i * plane + j];

          sums[r] += v[j];
          counts[r]++;
        }
      g_assert_cmpuint (counts[MIEN_DEMO_REGION_FEATURES], >, 0);
      g_assert_cmpuint (counts[MIEN_DEMO_REGION_BACKGROUND], >, 0);
      m.features += sums[MIEN_DEMO_REGION_FEATURES] / counts[MIEN_DEMO_REGION_FEATURES];
      m.background += sums[MIEN_DEMO_REGION_BACKGROUND] / counts[MIEN_DEMO_REGION_BACKGROUND];
    }

  m.features /= n;
  m.background /= n;
  m.accuracy /= n;
  return m;
}

/* The check that Grad-CAM shows something real: a ResNet-18 trained from scratch on a
 * small balanced demo set looks at the drawn brows, eyes and mouth — the only things that tell
 * the classes apart — rather than at the background; the same network untrained does not. The
 * regions come from the demo generator itself (mien_demo_data_draw_face_regions ()). */
static void
test_explain_features (MienTestScratch *scratch,
                       gconstpointer    data)
{
  g_autoptr(GError) error = NULL;
  MienDemoDataOptions options = MIEN_DEMO_DATA_OPTIONS_INIT;
  g_autofree char *demo_dir = g_build_filename (scratch->dir, "demo", NULL);
  g_autoptr(MienTrainConfig) config = mien_train_config_new ();
  g_autoptr(MienTrainer) trainer = NULL;
  g_autoptr(MienModel) trained = NULL;
  g_autoptr(MienModel) untrained = NULL;
  g_autoptr(MienTensor) images = NULL;
  g_autofree guint8 *regions = NULL;
  guint labels[N_DEMO_CLASSES * FEATURES_PER_CLASS];
  FeaturesMeasure before, after;

  options.per_class = FEATURES_TRAIN_PER_CLASS;
  options.balanced = TRUE;
  options.size = FEATURES_SIZE;
  options.seed = 15;
  g_assert_true (mien_demo_data_generate (demo_dir, &options, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  config->data = g_strdup (demo_dir);
  g_free (config->backbone);
  config->backbone = g_strdup ("resnet:18");
  config->input_size = FEATURES_SIZE;
  config->epochs = FEATURES_EPOCHS;
  config->batch_size = 32;
  config->schedule = MIEN_SCHEDULE_COSINE;
  config->seed = 15;
  config->out = g_build_filename (scratch->dir, "run", NULL);
  trainer = mien_trainer_new (mien_plugin_engine_get_default (), config);
  g_assert_true (mien_trainer_run (trainer, NULL, &error));
  g_assert_no_error (error);
  trained = mien_model_load (mien_plugin_engine_get_default (),
                             mien_trainer_get_best_path (trainer), mien_device_cpu (), &error);
  g_assert_no_error (error);
  untrained = mien_model_load (mien_plugin_engine_get_default (),
                               mien_trainer_get_best_path (trainer), mien_device_cpu (), &error);
  g_assert_no_error (error);
  {
    /* The same network and normalisation, with the weights a new model starts from. */
    g_autoptr(MienModel) fresh = random_model_of ("resnet:18", FEATURES_SIZE,
                                                  MIEN_MODE_FINETUNE,
                                                  mien_demo_data_get_classes ());

    g_assert_true (mien_var_store_copy_from (mien_model_get_var_store (untrained),
                                             mien_model_get_var_store (fresh), &error));
    g_assert_no_error (error);
  }

  images = draw_test_faces (&regions, labels);
  after = measure_features (trained, images, regions, labels);
  before = measure_features (untrained, images, regions, labels);
  g_test_message ("trained: accuracy %.3f, mean map on the features %.3f, on the background "
                  "%.3f; untrained: accuracy %.3f, %.3f, %.3f", after.accuracy, after.features,
                  after.background, before.accuracy, before.features, before.background);

  /* Chance is 1/6. */
  g_assert_cmpfloat (after.accuracy, >=, 0.5);
  g_assert_cmpfloat (after.features, >=, FEATURES_MARGIN * after.background);
  g_assert_cmpfloat (before.features, <, FEATURES_MARGIN * before.background);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  mien_init ();
  if (g_getenv ("MIEN_NUM_THREADS") == NULL)
    mien_torch_set_num_threads (1);
  /* Random models and inputs, but the same ones every run: a random head can give a class no
   * positive evidence anywhere (an all-zero map), which the tests that need some would flag. */
  mien_torch_manual_seed (15);

  for (guint i = 0; i < G_N_ELEMENTS (reference_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/explain/grad-cam/%s",
                                               reference_cases[i].path);

      g_test_add (path, MienTestScratch, &reference_cases[i], mien_test_scratch_set_up,
                  test_explain_reference, mien_test_scratch_tear_down);
    }
  g_test_add_func ("/explain/no-side-effects", test_explain_no_side_effects);
  g_test_add_func ("/explain/probe", test_explain_probe);
  g_test_add_func ("/explain/errors", test_explain_errors);
  g_test_add_func ("/explain/upsample", test_explain_upsample);
  g_test_add_func ("/explain/ensemble", test_explain_ensemble);
  g_test_add_func ("/explain/colour", test_explain_colour);
  g_test_add_func ("/explain/overlay", test_explain_overlay);
  g_test_add_func ("/explain/demo-regions", test_explain_demo_regions);
  /* Trains a network: a minute or more of CPU, so only in the slow suite (-m slow). */
  if (g_test_slow ())
    g_test_add ("/explain/features", MienTestScratch, NULL, mien_test_scratch_set_up,
                test_explain_features, mien_test_scratch_tear_down);

  return g_test_run ();
}
