/* test-pretrained.c — pretrained weights that come from elsewhere, and what Python does with
 * Mien's files, compared with PyTorch by tests/pretrained_reference.py (skipped without a python
 * with torchvision):
 *
 *   /pretrained/vit-pos-embedding  a 224-px ViT checkpoint (torchvision's names, or a Mien model
 *                                  file) loads into ViTs built for 112 and 160 px, its position
 *                                  embedding resampled as timm's resample_abs_pos_embed ();
 *   /pretrained/efficientnet-timm  timm's names for efficientnet_b0 load strictly, every tensor
 *                                  in its place: torchvision's logits for the same weights;
 *   /pretrained/python-pipeline    README.md's preprocessing, done in Python from a Mien model
 *                                  file, gives `mien-cli predict`'s probabilities.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "mien-core.h"
#include "mien-model.h"
#include "mien-safetensors.h"
#include "mien-test-util.h"

typedef MienTestScratch Fixture;

static MienPluginEngine *
engine (void)
{
  return mien_plugin_engine_get_default ();
}

/* The largest |a - b| over two tensors of the same shape, after checking that shape. */
static double
max_difference (MienTensor *a,
                MienTensor *b)
{
  g_autofree double *va = NULL;
  g_autofree double *vb = NULL;
  gsize na = 0, nb = 0;
  double worst = 0.0;

  g_assert_cmpint (mien_tensor_ndim (a), ==, mien_tensor_ndim (b));
  for (int d = 0; d < mien_tensor_ndim (a); d++)
    g_assert_cmpint (mien_tensor_size (a, d), ==, mien_tensor_size (b, d));
  va = mien_test_values_of (a, &na);
  vb = mien_test_values_of (b, &nb);
  g_assert_cmpuint (na, ==, nb);
  for (gsize i = 0; i < na; i++)
    worst = MAX (worst, fabs (va[i] - vb[i]));
  return worst;
}

static double
max_abs (MienTensor *t)
{
  g_autofree double *v = NULL;
  gsize n = 0;
  double largest = 0.0;

  v = mien_test_values_of (t, &n);
  for (gsize i = 0; i < n; i++)
    largest = MAX (largest, fabs (v[i]));
  return largest;
}

static MienTensor *
load_tensor (const char *path,
             const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienSafetensors) st = mien_safetensors_open (path, &error);
  MienTensor *t;

  g_assert_no_error (error);
  t = mien_safetensors_load_tensor (st, name, &error);
  g_assert_no_error (error);
  return t;
}

static void
save_tensor (const char *path,
             const char *name,
             MienTensor *t)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienVarStore) vs = mien_var_store_new (mien_device_cpu ());

  g_assert_true (mien_var_store_add (vs, name, MIEN_VAR_BUFFER, t, &error));
  g_assert_true (mien_var_store_save (vs, path, "", NULL, &error));
  g_assert_no_error (error);
}

static MienModel *
new_model (const char *backbone,
           int         input_size,
           MienMode    mode)
{
  static const char * const classes[] = { "anger", "happiness", "surprise", NULL };
  g_autoptr(GError) error = NULL;
  MienModelSpec spec = { 0 };
  MienModel *model;

  spec.backbone = backbone;
  spec.input_size = input_size;
  spec.mode = mode;
  spec.batch_norm = MIEN_BATCH_NORM_DEFAULT;
  spec.classes = classes;
  memcpy (spec.mean, mien_imagenet_mean, sizeof spec.mean);
  memcpy (spec.std, mien_imagenet_std, sizeof spec.std);
  spec.device = mien_device_cpu ();
  model = mien_model_new (engine (), &spec, &error);
  g_assert_no_error (error);
  return model;
}

/* ---- ViT position embeddings ------------------------------------------------------------ */

/* `pretrained` loaded into a ViT-Ti/16 for `size` px: every tensor of the checkpoint but the
 * position embedding as it is. The checkpoint's position embedding and the loaded one go into
 * `cases` (for timm's resampling, all at once: python starts slowly) as "IN OUT SIDE" and the
 * loaded tensor into `loaded`. */
static void
load_vit (Fixture    *fixture,
          const char *pretrained,
          const char *prefix,
          int         size,
          GPtrArray  *cases,
          GPtrArray  *loaded)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienModel) model = new_model ("vit:ti_16", size, MIEN_MODE_FINETUNE);
  MienVarStore *vs = mien_model_get_var_store (model);
  g_autofree char *summary = NULL;
  g_autofree char *pos_name = g_strconcat (prefix, "encoder.pos_embedding", NULL);
  g_autofree char *token_name = g_strconcat (prefix, "class_token", NULL);
  g_autofree char *in_name = g_strdup_printf ("pos-%u.safetensors", loaded->len);
  g_autofree char *out_name = g_strdup_printf ("reference-%u.safetensors", loaded->len);
  g_autoptr(MienTensor) pos = load_tensor (pretrained, pos_name);
  g_autoptr(MienTensor) token = load_tensor (pretrained, token_name);
  g_autoptr(MienTensor) loaded_token = NULL;
  MienTensor *loaded_pos;
  char *in_path = g_build_filename (fixture->dir, in_name, NULL);

  g_assert_true (mien_model_load_pretrained (model, pretrained, &summary, &error));
  g_assert_no_error (error);
  g_test_message ("%d px: %s", size, summary);

  loaded_pos = mien_var_store_get (vs, "backbone.encoder.pos_embedding");
  g_assert_cmpint (mien_tensor_size (loaded_pos, 1), ==, (size / 16) * (size / 16) + 1);
  g_ptr_array_add (loaded, loaded_pos);
  loaded_token = mien_var_store_get (vs, "backbone.class_token");
  g_assert_cmpfloat (max_difference (loaded_token, token), ==, 0.0);

  save_tensor (in_path, "pos", pos);
  g_ptr_array_add (cases, in_path);
  g_ptr_array_add (cases, g_build_filename (fixture->dir, out_name, NULL));
  g_ptr_array_add (cases, g_strdup_printf ("%d", size / 16));
}

static void
test_vit_pos_embedding (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienBackbone) backbone = NULL;
  g_autoptr(MienVarStore) vs = mien_var_store_new (mien_device_cpu ());
  g_autoptr(MienModel) model224 = NULL;
  g_autoptr(GPtrArray) cases = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) loaded = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_tensor_free);
  g_autofree char *torchvision = g_build_filename (fixture->dir, "vit-224.safetensors", NULL);
  g_autofree char *mien = g_build_filename (fixture->dir, "model-224.safetensors", NULL);
  g_autofree char *out = NULL;

  /* A torchvision state_dict for 224 px: Mien's names are torchvision's. */
  backbone = mien_plugin_engine_create_backbone (engine (), "vit:ti_16", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (mien_backbone_build (backbone, "ti_16", 224, vs, "", &error));
  g_assert_no_error (error);
  g_assert_true (mien_var_store_save (vs, torchvision, "", NULL, &error));
  g_assert_no_error (error);
  load_vit (fixture, torchvision, "", 112, cases, loaded);
  load_vit (fixture, torchvision, "", 160, cases, loaded);

  /* A Mien model file trained at 224 px. */
  model224 = new_model ("vit:ti_16", 224, MIEN_MODE_FINETUNE);
  g_assert_true (mien_model_save (model224, mien, NULL, NULL, &error));
  g_assert_no_error (error);
  load_vit (fixture, mien, "backbone.", 160, cases, loaded);

  g_ptr_array_insert (cases, 0, g_strdup ("posembed"));
  g_ptr_array_add (cases, NULL);
  out = mien_test_run_referencev ("pretrained_reference.py", (const char * const *) cases->pdata);
  if (out == NULL)
    return;
  for (guint i = 0; i < loaded->len; i++)
    {
      g_autoptr(MienTensor) reference = load_tensor (cases->pdata[1 + 3 * i + 1], "pos");
      double diff = max_difference (loaded->pdata[i], reference);

      g_test_message ("case %u: largest difference from timm's resampling %g", i, diff);
      g_assert_cmpfloat (diff, <=, 1e-5);
    }
}

/* ---- EfficientNet under timm's names ------------------------------------------------------ */

static void
test_efficientnet_timm (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienBackbone) backbone = NULL;
  g_autoptr(MienVarStore) vs = mien_var_store_new (mien_device_cpu ());
  g_autoptr(MienLoadReport) report = NULL;
  g_autoptr(MienTensor) input = NULL;
  g_autoptr(MienTensor) reference = NULL;
  g_autoptr(MienTensor) weight = NULL;
  g_autoptr(MienTensor) bias = NULL;
  g_autoptr(MienTensor) features = NULL;
  g_autoptr(MienTensor) logits = NULL;
  g_autoptr(MienNoGradGuard) no_grad = NULL;
  g_autofree char *timm = g_build_filename (fixture->dir, "timm.safetensors", NULL);
  g_autofree char *io = g_build_filename (fixture->dir, "io.safetensors", NULL);
  g_autofree char *head = NULL;
  g_autofree char *out = NULL;
  MienLoadOptions options = { 0 };
  double diff, scale;

  out = mien_test_run_reference ("pretrained_reference.py", "efficientnet", fixture->dir, "64",
                                 NULL);
  if (out == NULL)
    return;

  backbone = mien_plugin_engine_create_backbone (engine (), "efficientnet:b0", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (mien_backbone_build (backbone, "b0", 64, vs, "", &error));
  g_assert_no_error (error);
  /* Strict: every tensor of the model named by the file, no key left over. */
  options.map_key = mien_backbone_key_map_func;
  options.map_key_data = backbone;
  options.flags = MIEN_LOAD_STRICT;
  g_assert_true (mien_var_store_load (vs, timm, &options, &report, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (report->n_loaded, ==, mien_var_store_get_n_vars (vs));
  head = mien_backbone_map_timm_key (backbone, "classifier.weight");
  g_assert_cmpstr (head, ==, "classifier.1.weight");

  /* In their places: torchvision's logits, through the classifier the file kept apart. */
  input = load_tensor (io, "input");
  reference = load_tensor (io, "logits");
  weight = load_tensor (io, "classifier.weight");
  bias = load_tensor (io, "classifier.bias");
  no_grad = mien_no_grad_guard_new ();
  features = mien_backbone_forward (backbone, input, FALSE, &error);
  g_assert_no_error (error);
  logits = mien_tensor_linear (features, weight, bias, &error);
  g_assert_no_error (error);
  diff = max_difference (logits, reference);
  scale = max_abs (reference);
  g_test_message ("largest logit difference %g (largest logit %g)", diff, scale);
  g_assert_cmpfloat (diff, <=, 1e-4 * MAX (scale, 1.0));
}

/* ---- The pipeline, in Python ------------------------------------------------------------- */

static void
test_python_pipeline (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienModel) model = new_model ("resnet:18", 40, MIEN_MODE_FINETUNE);
  g_autoptr(MienTestCliResult) mien = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (4);
  g_autofree char *model_path = g_build_filename (fixture->dir, "model.safetensors", NULL);
  g_auto(GStrv) images = g_new0 (char *, 4);
  g_autofree char *out = NULL;
  g_auto(GStrv) mien_lines = NULL;
  g_auto(GStrv) python_lines = NULL;
  static const int sizes[3][2] = { { 97, 61 }, { 40, 40 }, { 23, 50 } };
  MienTensor *head;
  g_autoptr(MienTensor) sharper = NULL;
  double worst = 0.0;

  /* A head 30 times larger than its initialisation spreads the probabilities out, so that a
   * pipeline that differs shows in them. */
  head = mien_var_store_get (mien_model_get_var_store (model), "head.weight");
  sharper = mien_tensor_mul_scalar (head, 30.0, &error);
  g_assert_no_error (error);
  g_assert_true (mien_tensor_copy_ (head, sharper, &error));
  g_assert_no_error (error);
  mien_tensor_free (head);
  g_assert_true (mien_model_save (model, model_path, NULL, NULL, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, sizes[i][0],
                                                    sizes[i][1]);
      g_autofree char *name = g_strdup_printf ("%u.png", i);
      guint8 *p = gdk_pixbuf_get_pixels (pixbuf);
      gsize n = (gsize) gdk_pixbuf_get_rowstride (pixbuf) * sizes[i][1];

      for (gsize j = 0; j < n; j++)
        p[j] = (guint8) g_rand_int_range (rand, 0, 256);
      images[i] = g_build_filename (fixture->dir, name, NULL);
      g_assert_true (gdk_pixbuf_save (pixbuf, images[i], "png", &error, NULL));
      g_assert_no_error (error);
    }

  out = mien_test_run_reference ("pretrained_reference.py", "predict", model_path, images[0],
                                 images[1], images[2], NULL);
  if (out == NULL)
    return;
  mien = mien_test_cli_run ("predict", "--model", model_path, images[0], images[1], images[2],
                            NULL);
  mien_test_cli_assert_success (mien);

  /* mien-cli: a header, then "path,class,p_anger,p_happiness,p_surprise" rows. */
  mien_lines = g_strsplit (g_strstrip (mien->out), "\n", -1);
  python_lines = g_strsplit (g_strstrip (out), "\n", -1);
  g_assert_cmpuint (g_strv_length (mien_lines), ==, 4);
  g_assert_cmpuint (g_strv_length (python_lines), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_auto(GStrv) m = g_strsplit (mien_lines[i + 1], ",", -1);
      g_auto(GStrv) p = g_strsplit (python_lines[i], ",", -1);

      g_assert_cmpuint (g_strv_length (m), ==, 5);
      g_assert_cmpuint (g_strv_length (p), ==, 4);
      g_assert_cmpstr (m[0], ==, images[i]);
      g_assert_cmpstr (p[0], ==, images[i]);
      for (guint c = 0; c < 3; c++)
        worst = MAX (worst, fabs (g_ascii_strtod (m[c + 2], NULL) -
                                  g_ascii_strtod (p[c + 1], NULL)));
    }
  g_test_message ("largest probability difference from Python's %g", worst);
  /* mien-cli prints 6 decimals. */
  g_assert_cmpfloat (worst, <=, 1e-4);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, mien_test_scratch_set_up, func, mien_test_scratch_tear_down)
  ADD ("/pretrained/vit-pos-embedding", test_vit_pos_embedding);
  ADD ("/pretrained/efficientnet-timm", test_efficientnet_timm);
  ADD ("/pretrained/python-pipeline", test_python_pipeline);
#undef ADD

  return g_test_run ();
}
