/* test-model.c — MienModel with the real backbone plugins, on the CPU: the three modes' wiring
 * (what trains, what stays bit-identical), input preparation, model files (round trip and
 * hostile ones), pretrained weights, and the loss against PyTorch's.
 *
 * Small networks at small inputs (ResNet-18 and ViT-Ti at 32 pixels, batches of 4) keep the
 * whole program within seconds; batches of 4 also keep batch norm in training mode away from its
 * one-value-per-channel refusal at ResNet's last 1×1 stage.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "mien-core.h"
#include "mien-demo-data.h"
#include "mien-ensemble.h"
#include "mien-model.h"
#include "mien-test-util.h"

#define SIZE 32
#define BATCH 4

static const char * const six_classes[] = {
  "anger", "disgust", "fear", "happiness", "sadness", "surprise", NULL
};
static const char * const three_classes[] = { "neutral", "happy", "sad", NULL };

static MienPluginEngine *
engine (void)
{
  return mien_plugin_engine_get_default ();
}

static MienModelSpec
make_spec (const char         *backbone,
           MienMode            mode,
           MienBatchNorm       bn,
           const char * const *classes)
{
  MienModelSpec spec = mien_test_random_spec (backbone, SIZE, mode, classes);

  spec.batch_norm = bn;
  return spec;
}

static MienModel *
new_model (const char         *backbone,
           MienMode            mode,
           MienBatchNorm       bn,
           const char * const *classes)
{
  g_autoptr(GError) error = NULL;
  MienModelSpec spec = make_spec (backbone, mode, bn, classes);
  MienModel *model = mien_model_new (engine (), &spec, &error);

  g_assert_no_error (error);
  g_assert_nonnull (model);
  return model;
}

static MienTensor *
random_images (gint64 n)
{
  g_autoptr(GError) error = NULL;
  const gint64 shape[4] = { n, 3, SIZE, SIZE };
  g_autoptr(MienTensor) ints = mien_tensor_new_randint (0, 256, shape, 4, mien_device_cpu (),
                                                        &error);
  MienTensor *images;

  g_assert_no_error (error);
  images = mien_tensor_to_dtype (ints, MIEN_DTYPE_UINT8, &error);
  g_assert_no_error (error);
  return images;
}

static MienTensor *
prepared_batch (MienModel *model)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) images = random_images (BATCH);
  MienTensor *x = mien_model_prepare_input (model, images, &error);

  g_assert_no_error (error);
  return x;
}

/* The raw bytes of a tensor, for bit-for-bit comparisons. */
static GBytes *
tensor_bytes (MienTensor *t)
{
  g_autoptr(GError) error = NULL;
  gsize size = (gsize) mien_tensor_numel (t) * mien_dtype_size (mien_tensor_dtype (t));
  guint8 *data = g_malloc0 (MAX (size, 1));

  g_assert_true (mien_tensor_to_host (t, data, size, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (data, size);
}

static gboolean
tensors_identical (MienTensor *a,
                   MienTensor *b)
{
  g_autoptr(GBytes) ba = tensor_bytes (a);
  g_autoptr(GBytes) bb = tensor_bytes (b);

  return mien_tensor_dtype (a) == mien_tensor_dtype (b) && g_bytes_equal (ba, bb);
}

/* name → GBytes of every entry under `prefix`. */
static GHashTable *
snapshot (MienVarStore *vs,
          const char   *prefix)
{
  GHashTable *snap = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) g_bytes_unref);

  for (guint i = 0; i < mien_var_store_get_n_vars (vs); i++)
    {
      const char *name = mien_var_store_get_name (vs, i);
      g_autoptr(MienTensor) t = NULL;

      if (!g_str_has_prefix (name, prefix))
        continue;
      t = mien_var_store_get_nth (vs, i);
      g_hash_table_insert (snap, g_strdup (name), tensor_bytes (t));
    }

  g_assert_cmpuint (g_hash_table_size (snap), >, 0);
  return snap;
}

/* How many entries of `snap` now hold other bytes. */
static guint
count_changed (MienVarStore *vs,
               GHashTable   *snap)
{
  GHashTableIter iter;
  gpointer key, value;
  guint changed = 0;

  g_hash_table_iter_init (&iter, snap);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_autoptr(MienTensor) t = mien_var_store_get (vs, key);
      g_autoptr(GBytes) now = tensor_bytes (t);

      if (!g_bytes_equal (now, value))
        changed++;
    }

  return changed;
}

static guint
count_parameters (MienVarStore *vs,
                  const char   *prefix)
{
  guint n = 0;

  for (guint i = 0; i < mien_var_store_get_n_vars (vs); i++)
    if (mien_var_store_get_kind (vs, i) == MIEN_VAR_PARAMETER &&
        g_str_has_prefix (mien_var_store_get_name (vs, i), prefix))
      n++;

  return n;
}

static MienOptimizer *
optimizer_for (MienModel *model)
{
  g_autoptr(GError) error = NULL;
  MienAdamConfig config = MIEN_ADAM_CONFIG_INIT;
  MienOptimizer *optimizer = mien_optimizer_new_adam (&config, &error);

  g_assert_no_error (error);
  g_assert_true (mien_model_add_to_optimizer (model, optimizer, &error));
  g_assert_no_error (error);
  return optimizer;
}

/* The loss the training steps minimise, on prepared batch `x`. */
static MienTensor *
batch_loss (MienModel  *model,
            MienTensor *x)
{
  static const gint64 targets_data[BATCH] = { 0, 1, 2, 1 };
  static const gint64 n[1] = { BATCH };
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) targets = mien_tensor_new_from_data (targets_data, MIEN_DTYPE_INT64,
                                                             n, 1, &error);
  g_autoptr(MienTensor) logits = NULL;
  MienTensor *loss;

  g_assert_no_error (error);
  logits = mien_model_forward (model, x, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_size (logits, 0), ==, BATCH);
  g_assert_cmpint (mien_tensor_size (logits, 1), ==, mien_model_get_n_classes (model));
  loss = mien_tensor_cross_entropy (logits, targets, NULL, 0.1, &error);
  g_assert_no_error (error);
  return loss;
}

/* A few Adam steps on batch `x`; the gradients of the last step are left in place. */
static void
train_steps_on (MienModel     *model,
                MienOptimizer *optimizer,
                MienTensor    *x,
                int            steps)
{
  g_autoptr(GError) error = NULL;

  for (int s = 0; s < steps; s++)
    {
      g_autoptr(MienTensor) loss = NULL;

      mien_optimizer_zero_grad (optimizer);
      loss = batch_loss (model, x);
      g_assert_true (mien_tensor_backward (loss, &error));
      g_assert_no_error (error);
      g_assert_true (mien_optimizer_step (optimizer, &error));
      g_assert_no_error (error);
    }
}

/* The same on a fixed random batch. */
static void
train_steps (MienModel     *model,
             MienOptimizer *optimizer,
             int            steps)
{
  g_autoptr(MienTensor) x = prepared_batch (model);

  train_steps_on (model, optimizer, x, steps);
}

static double
loss_value (MienModel  *model,
            MienTensor *x)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) loss = batch_loss (model, x);
  double value = 0;

  g_assert_true (mien_tensor_item (loss, &value, &error));
  g_assert_no_error (error);
  return value;
}

/* Every value of `features` is exactly the float32 nearest 1e-6: g_f (x) - g_t (x) is exactly 0
 * when both copies hold the same weights and run the same ops. */
static void
assert_all_epsilon (MienTensor *features)
{
  g_autofree double *values = NULL;
  gsize n;

  values = mien_test_values_of (features, &n);
  g_assert_cmpuint (n, >, 0);
  for (gsize i = 0; i < n; i++)
    if (values[i] != (double) (float) MIEN_DFT_EPSILON)
      g_error ("feature %" G_GSIZE_FORMAT " is %.9g, not (float) 1e-6", i, values[i]);
}

/* ---- Loss -------------------------------------------------------------------------------- */

static const char *
reference_python (void)
{
  const char *python = g_getenv ("MIEN_REFERENCE_PYTHON");

  return (python != NULL && *python != '\0') ? python : NULL;
}

#define LOSS_N 8
#define LOSS_K 6

/* The class weights of the paper, and "auto" weights worked out by hand for class counts
 * 40, 10, 5, 40, 20, 10: inverse frequencies 0.025, 0.1, 0.2, 0.025, 0.05, 0.1 (sum 0.5),
 * normalised to a mean of 1: 12 / count = 0.3, 1.2, 2.4, 0.3, 0.6, 1.2. (A weighted mean is
 * invariant to the weights' scale, so any normalisation gives the same loss.) */
static const double paper_weights[LOSS_K] = { 1, 3, 5, 1, 1, 1 };
static const double auto_weights[LOSS_K] = { 0.3, 1.2, 2.4, 0.3, 0.6, 1.2 };
static const double alphas[] = { 0.0, 0.1, 0.2, 0.4 };

static void
test_model_loss_reference (MienTestScratch *scratch,
                           gconstpointer    data)
{
  static const gint64 targets_data[LOSS_N] = { 0, 1, 2, 3, 4, 5, 1, 2 };
  const double *weights[] = { NULL, paper_weights, auto_weights };
  const gint64 logits_shape[2] = { LOSS_N, LOSS_K };
  const gint64 n_shape[1] = { LOSS_N };
  const gint64 k_shape[1] = { LOSS_K };
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) spec = g_string_new (NULL);
  g_autoptr(MienTensor) logits = NULL;
  g_autoptr(MienTensor) targets = NULL;
  g_autoptr(JsonNode) result = NULL;
  g_autofree char *spec_path = NULL;
  g_autofree char *script = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  float logits_data[LOSS_N * LOSS_K];
  const char *python = reference_python ();
  JsonArray *losses;
  int status = 0;
  guint c;

  if (python == NULL)
    {
      g_test_skip ("MIEN_REFERENCE_PYTHON is unset: no python with torch to compare the loss "
                   "against (set it, or configure with -Dparity=enabled)");
      return;
    }

  /* Fixed logits, spread over a few units as a trained network's are. */
  for (int i = 0; i < LOSS_N * LOSS_K; i++)
    logits_data[i] = (float) (3.0 * sin (1.3 * (i / LOSS_K) + 0.7 * (i % LOSS_K) + 0.1 * i));

  g_string_append (spec, "{\"logits\": [");
  for (int i = 0; i < LOSS_N; i++)
    {
      g_string_append (spec, i > 0 ? ", [" : "[");
      for (int j = 0; j < LOSS_K; j++)
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];

          /* 9 significant digits give back the same float32 exactly. */
          g_string_append_printf (spec, "%s%s", j > 0 ? ", " : "",
                                  g_ascii_formatd (buf, sizeof buf, "%.9g",
                                                   logits_data[i * LOSS_K + j]));
        }
      g_string_append_c (spec, ']');
    }
  g_string_append (spec, "], \"targets\": [");
  for (int i = 0; i < LOSS_N; i++)
    g_string_append_printf (spec, "%s%" G_GINT64_FORMAT, i > 0 ? ", " : "", targets_data[i]);
  g_string_append (spec, "], \"cases\": [");
  c = 0;
  for (guint w = 0; w < G_N_ELEMENTS (weights); w++)
    for (guint a = 0; a < G_N_ELEMENTS (alphas); a++)
      {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        g_string_append (spec, c++ > 0 ? ", {\"weight\": " : "{\"weight\": ");
        if (weights[w] == NULL)
          {
            g_string_append (spec, "null");
          }
        else
          {
            g_string_append_c (spec, '[');
            for (int k = 0; k < LOSS_K; k++)
              g_string_append_printf (spec, "%s%s", k > 0 ? ", " : "",
                                      g_ascii_dtostr (buf, sizeof buf, weights[w][k]));
            g_string_append_c (spec, ']');
          }
        g_string_append_printf (spec, ", \"alpha\": %s}",
                                g_ascii_dtostr (buf, sizeof buf, alphas[a]));
      }
  g_string_append (spec, "]}\n");

  spec_path = g_build_filename (scratch->dir, "loss.json", NULL);
  g_assert_true (g_file_set_contents (spec_path, spec->str, -1, &error));
  g_assert_no_error (error);

  script = g_test_build_filename (G_TEST_DIST, "loss_reference.py", NULL);
  {
    const char *argv[] = { python, script, spec_path, NULL };

    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,
                  &error);
    g_assert_no_error (error);
    if (!g_spawn_check_wait_status (status, &error))
      g_error ("%s failed: %s\n%s", script, error->message, err);
  }

  result = json_from_string (out, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (result));
  losses = json_node_get_array (result);
  g_assert_cmpuint (json_array_get_length (losses), ==, c);

  logits = mien_tensor_new_from_data (logits_data, MIEN_DTYPE_FLOAT32, logits_shape, 2, &error);
  g_assert_no_error (error);
  targets = mien_tensor_new_from_data (targets_data, MIEN_DTYPE_INT64, n_shape, 1, &error);
  g_assert_no_error (error);

  c = 0;
  for (guint w = 0; w < G_N_ELEMENTS (weights); w++)
    for (guint a = 0; a < G_N_ELEMENTS (alphas); a++, c++)
      {
        g_autoptr(MienTensor) weight = NULL;
        g_autoptr(MienTensor) loss = NULL;
        double expected = json_array_get_double_element (losses, c);
        double got;

        if (weights[w] != NULL)
          {
            float wf[LOSS_K];

            for (int k = 0; k < LOSS_K; k++)
              wf[k] = (float) weights[w][k];
            weight = mien_tensor_new_from_data (wf, MIEN_DTYPE_FLOAT32, k_shape, 1, &error);
            g_assert_no_error (error);
          }

        loss = mien_tensor_cross_entropy (logits, targets, weight, alphas[a], &error);
        g_assert_no_error (error);
        g_assert_true (mien_tensor_item (loss, &got, &error));
        g_assert_no_error (error);

        g_test_message ("weights %u, alpha %g: %.9g (PyTorch %.9g)", w, alphas[a], got,
                        expected);
        g_assert_cmpfloat (fabs (got - expected), <=, 1e-6 * fabs (expected));
      }
}

/* ---- Modes ------------------------------------------------------------------------------- */

static void
test_model_dft (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienModel) model = NULL;
  g_autoptr(MienOptimizer) optimizer = NULL;
  g_autoptr(MienTensor) x = NULL;
  g_autoptr(MienTensor) features = NULL;
  g_autoptr(MienTensor) after = NULL;
  g_autoptr(GHashTable) frozen_before = NULL;
  g_autoptr(GHashTable) backbone_before = NULL;
  g_autoptr(MienTensor) frozen_out = NULL;
  g_autoptr(MienTensor) trained_out = NULL;
  g_autofree double *values = NULL;
  g_autofree double *frozen_values = NULL;
  g_autofree double *trained_values = NULL;
  MienVarStore *vs;
  guint n_backbone, n_head, n_frozen;
  gsize n, n_frozen_values, n_trained_values, dim;
  double loss_before, loss_after;

  mien_torch_manual_seed (1);
  model = new_model ("resnet:18", MIEN_MODE_DFT, MIEN_BATCH_NORM_DEFAULT, six_classes);
  vs = mien_model_get_var_store (model);

  g_assert_cmpint (mien_model_get_mode (model), ==, MIEN_MODE_DFT);
  g_assert_cmpint (mien_model_get_batch_norm (model), ==, MIEN_BATCH_NORM_EVAL);
  g_assert_nonnull (mien_model_get_frozen_backbone (model));
  g_assert_true (mien_model_get_frozen_backbone (model) != mien_model_get_backbone (model));
  g_assert_cmpstr (mien_model_get_backbone_spec (model), ==, "resnet:18");
  g_assert_cmpint (mien_model_get_input_size (model), ==, SIZE);

  n_backbone = count_parameters (vs, "backbone.");
  n_frozen = count_parameters (vs, "frozen.");
  n_head = count_parameters (vs, "head.");
  g_assert_cmpuint (n_backbone, >, 0);
  g_assert_cmpuint (n_frozen, ==, n_backbone);
  g_assert_cmpuint (n_head, ==, 2);

  /* Fresh: both copies equal, so the deviation is exactly ε. */
  x = prepared_batch (model);
  features = mien_model_features (model, x, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_size (features, 0), ==, BATCH);
  g_assert_cmpint (mien_tensor_size (features, 1), ==,
                   mien_backbone_get_feature_dim (mien_model_get_backbone (model)));
  assert_all_epsilon (features);

  frozen_before = snapshot (vs, "frozen.");
  backbone_before = snapshot (vs, "backbone.");
  frozen_out = mien_backbone_forward (mien_model_get_frozen_backbone (model), x, FALSE, &error);
  g_assert_no_error (error);
  loss_before = loss_value (model, x);

  optimizer = optimizer_for (model);
  g_assert_cmpuint (mien_optimizer_get_n_parameters (optimizer), ==, n_backbone + n_head);

  train_steps_on (model, optimizer, x, 3);

  /* g_f: bit-identical (weights and batch-norm statistics), no gradient, no grad required. */
  g_assert_cmpuint (count_changed (vs, frozen_before), ==, 0);
  /* g_t: every parameter moved (its batch-norm statistics stay: eval mode). */
  g_assert_cmpuint (count_changed (vs, backbone_before), ==, n_backbone);

  for (guint i = 0; i < mien_var_store_get_n_vars (vs); i++)
    {
      const char *name = mien_var_store_get_name (vs, i);
      g_autoptr(MienTensor) t = mien_var_store_get_nth (vs, i);
      g_autoptr(MienTensor) grad = mien_tensor_grad (t);

      if (mien_var_store_get_kind (vs, i) != MIEN_VAR_PARAMETER)
        continue;

      if (g_str_has_prefix (name, "frozen."))
        {
          if (grad != NULL || mien_tensor_requires_grad (t))
            g_error ("%s of the frozen copy has a gradient or requires one", name);
        }
      else
        {
          if (grad == NULL || !mien_tensor_requires_grad (t))
            g_error ("%s has no gradient", name);
        }
    }

  /* Training did its job: the loss it minimises fell on the batch it saw. */
  loss_after = loss_value (model, x);
  g_test_message ("loss %.6f before training, %.6f after", loss_before, loss_after);
  g_assert_cmpfloat (loss_after, <, loss_before);

  /* The features are g_f (x) as it was before training minus g_t (x) now, plus ε, and g_t moved
   * away from g_f for every image of the batch. */
  after = mien_model_features (model, x, FALSE, &error);
  g_assert_no_error (error);
  trained_out = mien_backbone_forward (mien_model_get_backbone (model), x, FALSE, &error);
  g_assert_no_error (error);
  values = mien_test_values_of (after, &n);
  frozen_values = mien_test_values_of (frozen_out, &n_frozen_values);
  trained_values = mien_test_values_of (trained_out, &n_trained_values);
  g_assert_cmpuint (n, ==, n_frozen_values);
  g_assert_cmpuint (n, ==, n_trained_values);
  dim = n / BATCH;
  for (gsize row = 0; row < BATCH; row++)
    {
      double largest = 0;

      for (gsize j = row * dim; j < (row + 1) * dim; j++)
        {
          double expected = frozen_values[j] - trained_values[j] + MIEN_DFT_EPSILON;

          g_assert_cmpfloat_with_epsilon (values[j], expected, 1e-5 * MAX (1, fabs (expected)));
          largest = MAX (largest, fabs (values[j] - MIEN_DFT_EPSILON));
        }
      g_test_message ("image %" G_GSIZE_FORMAT ": largest |g_f - g_t| %.3g", row, largest);
      g_assert_cmpfloat (largest, >, 1e-4);
    }
}

/* With batch norm in training mode, g_t uses batch statistics and moves its running ones, while
 * g_f stays in eval mode. */
static void
test_model_dft_batch_norm_train (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienModel) model = NULL;
  g_autoptr(MienTensor) x = NULL;
  g_autoptr(MienTensor) features = NULL;
  g_autoptr(GHashTable) frozen_before = NULL;
  g_autoptr(GHashTable) stats_before = NULL;
  MienVarStore *vs;

  mien_torch_manual_seed (2);
  model = new_model ("resnet:18", MIEN_MODE_DFT, MIEN_BATCH_NORM_TRAIN, six_classes);
  vs = mien_model_get_var_store (model);
  g_assert_cmpint (mien_model_get_batch_norm (model), ==, MIEN_BATCH_NORM_TRAIN);

  frozen_before = snapshot (vs, "frozen.");
  stats_before = snapshot (vs, "backbone.bn1.running_mean");

  x = prepared_batch (model);
  features = mien_model_features (model, x, TRUE, &error);
  g_assert_no_error (error);

  g_assert_cmpuint (count_changed (vs, frozen_before), ==, 0);
  g_assert_cmpuint (count_changed (vs, stats_before), ==, 1);

  /* Not training: no statistics move anywhere. */
  g_clear_pointer (&stats_before, g_hash_table_unref);
  stats_before = snapshot (vs, "backbone.bn1.running_mean");
  g_clear_pointer (&features, mien_tensor_free);
  features = mien_model_features (model, x, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count_changed (vs, stats_before), ==, 0);
}

static void
test_model_probe (void)
{
  g_autoptr(MienModel) model = NULL;
  g_autoptr(MienOptimizer) optimizer = NULL;
  g_autoptr(GHashTable) backbone_before = NULL;
  g_autoptr(GHashTable) head_before = NULL;
  MienVarStore *vs;

  mien_torch_manual_seed (3);
  model = new_model ("resnet:18", MIEN_MODE_PROBE, MIEN_BATCH_NORM_DEFAULT, six_classes);
  vs = mien_model_get_var_store (model);
  g_assert_cmpint (mien_model_get_batch_norm (model), ==, MIEN_BATCH_NORM_EVAL);
  g_assert_null (mien_model_get_frozen_backbone (model));
  g_assert_cmpuint (count_parameters (vs, "frozen."), ==, 0);

  optimizer = optimizer_for (model);
  g_assert_cmpuint (mien_optimizer_get_n_parameters (optimizer), ==, 2);
  g_assert_true (mien_var_store_is_trainable (vs, "head.weight"));
  g_assert_false (mien_var_store_is_trainable (vs, "backbone.conv1.weight"));

  backbone_before = snapshot (vs, "backbone.");
  head_before = snapshot (vs, "head.");
  train_steps (model, optimizer, 3);

  g_assert_cmpuint (count_changed (vs, backbone_before), ==, 0);
  g_assert_cmpuint (count_changed (vs, head_before), ==, 2);

  {
    g_autoptr(MienTensor) conv = mien_var_store_get (vs, "backbone.conv1.weight");
    g_autoptr(MienTensor) grad = mien_tensor_grad (conv);

    g_assert_null (grad);
    g_assert_false (mien_tensor_requires_grad (conv));
  }
}

static void
test_model_finetune (void)
{
  g_autoptr(MienModel) model = NULL;
  g_autoptr(MienOptimizer) optimizer = NULL;
  g_autoptr(GHashTable) backbone_before = NULL;
  g_autoptr(GHashTable) stats_before = NULL;
  MienVarStore *vs;

  mien_torch_manual_seed (4);
  model = new_model ("resnet:18", MIEN_MODE_FINETUNE, MIEN_BATCH_NORM_DEFAULT, six_classes);
  vs = mien_model_get_var_store (model);
  g_assert_cmpint (mien_model_get_batch_norm (model), ==, MIEN_BATCH_NORM_TRAIN);

  optimizer = optimizer_for (model);
  g_assert_cmpuint (mien_optimizer_get_n_parameters (optimizer), ==, count_parameters (vs, ""));

  backbone_before = snapshot (vs, "backbone.");
  stats_before = snapshot (vs, "backbone.layer1.0.bn1.running_var");
  train_steps (model, optimizer, 2);

  g_assert_cmpuint (count_changed (vs, backbone_before), >=,
                    count_parameters (vs, "backbone."));
  g_assert_cmpuint (count_changed (vs, stats_before), ==, 1);
}

static void
test_model_vit (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienModel) model = NULL;
  g_autoptr(MienTensor) x = NULL;
  g_autoptr(MienTensor) features = NULL;
  g_autoptr(MienTensor) images = NULL;
  g_autoptr(MienTensor) probs = NULL;
  g_autofree double *values = NULL;
  gsize n;

  mien_torch_manual_seed (5);
  model = new_model ("vit:ti_16", MIEN_MODE_DFT, MIEN_BATCH_NORM_DEFAULT, three_classes);
  g_assert_cmpstr (mien_model_get_backbone_spec (model), ==, "vit:ti_16");

  x = prepared_batch (model);
  features = mien_model_features (model, x, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_size (features, 1), ==, 192);
  assert_all_epsilon (features);

  images = random_images (BATCH);
  probs = mien_model_predict (model, images, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_dtype (probs), ==, MIEN_DTYPE_FLOAT32);
  g_assert_cmpint (mien_tensor_device (probs).type, ==, MIEN_DEVICE_CPU);
  g_assert_cmpint (mien_tensor_size (probs, 0), ==, BATCH);
  g_assert_cmpint (mien_tensor_size (probs, 1), ==, 3);
  values = mien_test_values_of (probs, &n);
  for (int i = 0; i < BATCH; i++)
    g_assert_cmpfloat_with_epsilon (values[3 * i] + values[3 * i + 1] + values[3 * i + 2], 1.0,
                                    1e-5);
}

static void
test_model_spec_errors (void)
{
  static const char * const one_class[] = { "only", NULL };
  static const char * const duplicate[] = { "a", "b", "a", NULL };
  static const char * const unnamed[] = { "a", "", NULL };
  g_autoptr(GError) error = NULL;
  MienModelSpec spec;
  MienMode mode;
  MienBatchNorm bn;

  spec = make_spec ("resnet:18", MIEN_MODE_PROBE, MIEN_BATCH_NORM_DEFAULT, one_class);
  g_assert_null (mien_model_new (engine (), &spec, &error));
  g_assert_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID);
  g_clear_error (&error);

  spec.classes = duplicate;
  g_assert_null (mien_model_new (engine (), &spec, &error));
  g_assert_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID);
  g_clear_error (&error);

  spec.classes = unnamed;
  g_assert_null (mien_model_new (engine (), &spec, &error));
  g_assert_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID);
  g_clear_error (&error);

  spec.classes = three_classes;
  spec.std[1] = 0;
  g_assert_null (mien_model_new (engine (), &spec, &error));
  g_assert_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID);
  g_clear_error (&error);

  spec.std[1] = 0.25;
  spec.mean[2] = NAN;
  g_assert_null (mien_model_new (engine (), &spec, &error));
  g_assert_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID);
  g_clear_error (&error);

  spec.mean[2] = 0.5;
  spec.backbone = "nosuchfamily";
  g_assert_null (mien_model_new (engine (), &spec, &error));
  g_assert_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);

  spec.backbone = "resnet:99";
  g_assert_null (mien_model_new (engine (), &spec, &error));
  g_assert_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_UNKNOWN_VARIANT);
  g_clear_error (&error);

  spec.backbone = "resnet:18";
  spec.input_size = 16;
  g_assert_null (mien_model_new (engine (), &spec, &error));
  g_assert_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_INPUT);
  g_clear_error (&error);

  for (int m = MIEN_MODE_PROBE; m <= MIEN_MODE_DFT; m++)
    {
      g_assert_true (mien_mode_from_string (mien_mode_to_string (m), &mode, &error));
      g_assert_cmpint (mode, ==, m);
    }
  g_assert_false (mien_mode_from_string ("fine-tune", &mode, &error));
  g_assert_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID);
  g_clear_error (&error);
  for (int b = MIEN_BATCH_NORM_DEFAULT; b <= MIEN_BATCH_NORM_EVAL; b++)
    {
      g_assert_true (mien_batch_norm_from_string (mien_batch_norm_to_string (b), &bn, &error));
      g_assert_cmpint (bn, ==, b);
    }
  g_assert_false (mien_batch_norm_from_string ("frozen", &bn, &error));
  g_assert_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID);
  g_clear_error (&error);
}

/* ---- Input ------------------------------------------------------------------------------- */

static void
test_model_prepare_input (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienModel) rgb = NULL;
  g_autoptr(MienModel) grey = NULL;
  g_autoptr(MienTensor) images = NULL;
  g_autoptr(MienTensor) x = NULL;
  g_autoptr(MienTensor) g = NULL;
  g_autoptr(MienTensor) floats = NULL;
  g_autofree guint8 *pixels = g_new0 (guint8, 3 * SIZE * SIZE);
  g_autofree double *values = NULL;
  g_autofree double *grey_values = NULL;
  const gint64 shape[4] = { 1, 3, SIZE, SIZE };
  const double mean[3] = { 0.5, 0.4, 0.3 };
  const double std[3] = { 0.2, 0.25, 0.5 };
  const double pixel[3] = { 255, 0, 128 };
  double got_mean[3], got_std[3], luminance;
  MienModelSpec spec;
  gsize n;

  spec = make_spec ("resnet:18", MIEN_MODE_PROBE, MIEN_BATCH_NORM_DEFAULT, three_classes);
  memcpy (spec.mean, mean, sizeof mean);
  memcpy (spec.std, std, sizeof std);
  rgb = mien_model_new (engine (), &spec, &error);
  g_assert_no_error (error);
  spec.grey = TRUE;
  grey = mien_model_new (engine (), &spec, &error);
  g_assert_no_error (error);

  g_assert_false (mien_model_get_grey (rgb));
  g_assert_true (mien_model_get_grey (grey));
  mien_model_get_mean_std (grey, got_mean, got_std);
  g_assert_cmpmem (got_mean, sizeof got_mean, mean, sizeof mean);
  g_assert_cmpmem (got_std, sizeof got_std, std, sizeof std);

  /* Every pixel (255, 0, 128). */
  for (int c = 0; c < 3; c++)
    memset (pixels + c * SIZE * SIZE, (int) pixel[c], SIZE * SIZE);
  images = mien_tensor_new_from_data (pixels, MIEN_DTYPE_UINT8, shape, 4, &error);
  g_assert_no_error (error);

  x = mien_model_prepare_input (rgb, images, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_dtype (x), ==, MIEN_DTYPE_FLOAT32);
  g_assert_false (mien_tensor_requires_grad (x));
  values = mien_test_values_of (x, &n);
  g_assert_cmpuint (n, ==, 3 * SIZE * SIZE);
  /* (255/255 - 0.5) / 0.2 = 2.5; (0 - 0.4) / 0.25 = -1.6; (128/255 - 0.3) / 0.5 = 0.403921… */
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < SIZE * SIZE; i += 97)
      g_assert_cmpfloat_with_epsilon (values[c * SIZE * SIZE + i],
                                      (pixel[c] / 255.0 - mean[c]) / std[c], 1e-5);
  g_assert_cmpfloat_with_epsilon (values[0], 2.5, 1e-6);
  g_assert_cmpfloat_with_epsilon (values[SIZE * SIZE], -1.6, 1e-6);

  /* Grey: L = 0.299·1 + 0.587·0 + 0.114·128/255 in all three channels, then each normalised. */
  luminance = 0.299 + 0.114 * 128.0 / 255.0;
  g = mien_model_prepare_input (grey, images, &error);
  g_assert_no_error (error);
  grey_values = mien_test_values_of (g, &n);
  g_assert_cmpuint (n, ==, 3 * SIZE * SIZE);
  for (int c = 0; c < 3; c++)
    g_assert_cmpfloat_with_epsilon (grey_values[c * SIZE * SIZE + 5],
                                    (luminance - mean[c]) / std[c], 1e-5);

  floats = mien_tensor_to_dtype (images, MIEN_DTYPE_FLOAT32, &error);
  g_assert_no_error (error);
  g_assert_null (mien_model_prepare_input (rgb, floats, &error));
  g_assert_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_INPUT);
  g_clear_error (&error);

  /* Moving is all-or-nothing: a refused move leaves a working model where it was. */
  g_assert_true (mien_model_to_device (rgb, mien_device_cpu (), &error));
  g_assert_no_error (error);
  g_assert_false (mien_model_to_device (rgb, (MienDevice) { MIEN_DEVICE_META, 0 }, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpint (mien_model_get_device (rgb).type, ==, MIEN_DEVICE_CPU);
  g_clear_pointer (&x, mien_tensor_free);
  x = mien_model_prepare_input (rgb, images, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_device (x).type, ==, MIEN_DEVICE_CPU);
}

/* ---- Model files ------------------------------------------------------------------------- */

static void
copy_member (JsonObject  *src,
             const char  *name,
             JsonNode    *node,
             gpointer     dst)
{
  json_object_set_member (dst, name, json_node_copy (node));
}

static JsonObject *
copy_metadata (MienModel *model)
{
  JsonObject *md = json_object_new ();

  json_object_foreach_member (mien_model_get_metadata (model), copy_member, md);
  return md;
}

/* Detached aliases of every entry of `src` (except `skip`) into `dst`. */
static void
add_entries (MienVarStore *dst,
             MienVarStore *src,
             const char   *prefix,
             const char   *skip)
{
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < mien_var_store_get_n_vars (src); i++)
    {
      const char *name = mien_var_store_get_name (src, i);
      g_autoptr(MienTensor) t = NULL;
      g_autoptr(MienTensor) d = NULL;
      g_autofree char *full = NULL;

      if (g_strcmp0 (name, skip) == 0)
        continue;
      t = mien_var_store_get_nth (src, i);
      d = mien_tensor_detach (t, &error);
      g_assert_no_error (error);
      full = g_strconcat (prefix, name, NULL);
      g_assert_true (mien_var_store_add (dst, full, MIEN_VAR_BUFFER, d, &error));
      g_assert_no_error (error);
    }
}

/* Writes `vs` with `md` (may be NULL) as the "mien" metadata, bypassing mien_model_save's
 * guarantees, to make inconsistent files. */
static void
save_raw (MienVarStore *vs,
          const char   *path,
          JsonObject   *md)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) metadata = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  if (md != NULL)
    {
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), md);

      g_hash_table_insert (metadata, "mien", json_to_string (node, FALSE));
    }
  g_assert_true (mien_var_store_save (vs, path, NULL, metadata, &error));
  g_assert_no_error (error);
}

static void
assert_message_names (const GError *error,
                      const char   *path)
{
  g_autofree char *base = g_path_get_basename (path);

  if (strstr (error->message, base) == NULL)
    g_error ("the error “%s” does not name the file %s", error->message, base);
}

static void
test_model_save_load (MienTestScratch *scratch,
                      gconstpointer    data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienModel) model = NULL;
  g_autoptr(MienModel) loaded = NULL;
  g_autoptr(MienOptimizer) optimizer = NULL;
  g_autoptr(MienVarStore) extra = NULL;
  g_autoptr(MienVarStore) bad_extra = NULL;
  g_autoptr(JsonObject) extra_md = json_object_new ();
  g_autoptr(JsonObject) md = NULL;
  g_autoptr(MienTensor) images = NULL;
  g_autoptr(MienTensor) p1 = NULL;
  g_autoptr(MienTensor) p2 = NULL;
  g_autoptr(MienTensor) t = NULL;
  g_autoptr(MienSafetensors) st = NULL;
  g_autoptr(GHashTable) all_before = NULL;
  g_autofree char *path = g_build_filename (scratch->dir, "model.safetensors", NULL);
  g_autofree char *bad_path = g_build_filename (scratch->dir, "bad.safetensors", NULL);
  const gint64 shape[2] = { 6, 512 };
  const gint64 one[1] = { 1 };
  JsonArray *bogus = json_array_new ();
  JsonObject *loaded_md;

  mien_torch_manual_seed (6);
  model = new_model ("resnet:18", MIEN_MODE_DFT, MIEN_BATCH_NORM_DEFAULT, six_classes);
  /* Trained a little, so that g_t and g_f differ and the file has to keep both. */
  optimizer = optimizer_for (model);
  train_steps (model, optimizer, 1);

  extra = mien_var_store_new (mien_device_cpu ());
  t = mien_var_store_new_buffer (extra, "optimizer.head.weight.exp_avg", shape, 2,
                                 MIEN_DTYPE_FLOAT32, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&t, mien_tensor_free);
  t = mien_var_store_new_buffer (extra, "trainer.epoch", one, 1, MIEN_DTYPE_INT64, NULL, &error);
  g_assert_no_error (error);

  json_object_set_int_member (extra_md, "epoch", 3);
  /* How the training faces were framed: none said for a model built here, the trainer's
   * value once saved and read back. */
  g_assert_false (mien_model_get_face_margin (model, NULL));
  json_object_set_double_member (extra_md, "face_margin", 0.15);
  /* A caller cannot make the file lie about its network. */
  json_array_add_string_element (bogus, "bogus");
  json_object_set_array_member (extra_md, "classes", bogus);

  g_assert_true (mien_model_save (model, path, extra_md, extra, &error));
  g_assert_no_error (error);

  /* Readable by plain safetensors readers, extra tensors included. */
  st = mien_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (mien_safetensors_lookup (st, "optimizer.head.weight.exp_avg"));
  g_assert_nonnull (mien_safetensors_lookup (st, "trainer.epoch"));
  g_assert_nonnull (mien_safetensors_lookup (st, "frozen.conv1.weight"));
  g_assert_nonnull (mien_safetensors_lookup (st, "head.bias"));
  g_assert_nonnull (g_hash_table_lookup (mien_safetensors_get_metadata (st), "mien"));

  md = mien_model_read_metadata (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (md, "format"), ==, "mien-model");
  g_assert_cmpint (json_object_get_int_member (md, "format_version"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (md, "backbone"), ==, "resnet");
  g_assert_cmpstr (json_object_get_string_member (md, "variant"), ==, "18");
  g_assert_cmpint (json_object_get_int_member (md, "input_size"), ==, SIZE);
  g_assert_cmpstr (json_object_get_string_member (md, "mode"), ==, "dft");
  g_assert_cmpstr (json_object_get_string_member (md, "batch_norm"), ==, "eval");
  g_assert_cmpstr (json_object_get_string_member (md, "colour_mode"), ==, "rgb");
  g_assert_cmpstr (json_object_get_string_member (md, "mien_version"), ==, PACKAGE_VERSION);
  g_assert_nonnull (json_object_get_string_member (md, "created"));
  g_assert_cmpfloat (json_object_get_double_member (md, "dft_epsilon"), ==, 1e-6);
  g_assert_cmpint (json_object_get_int_member (md, "epoch"), ==, 3);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (md, "classes")), ==, 6);

  loaded = mien_model_load (engine (), path, mien_device_cpu (), &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_model_get_mode (loaded), ==, MIEN_MODE_DFT);
  g_assert_cmpint (mien_model_get_batch_norm (loaded), ==, MIEN_BATCH_NORM_EVAL);
  g_assert_cmpint (mien_model_get_input_size (loaded), ==, SIZE);
  g_assert_cmpstr (mien_model_get_backbone_spec (loaded), ==, "resnet:18");
  g_assert_true (g_strv_equal (mien_model_get_classes (loaded), six_classes));
  loaded_md = mien_model_get_metadata (loaded);
  g_assert_cmpint (json_object_get_int_member (loaded_md, "epoch"), ==, 3);
  {
    double margin = -1;

    g_assert_true (mien_model_get_face_margin (loaded, &margin));
    g_assert_cmpfloat (margin, ==, 0.15);
  }

  /* Every entry bit-identical, and so the predictions. */
  all_before = snapshot (mien_model_get_var_store (model), "");
  g_assert_cmpuint (count_changed (mien_model_get_var_store (loaded), all_before), ==, 0);
  g_assert_cmpuint (mien_var_store_get_n_vars (mien_model_get_var_store (loaded)), ==,
                    mien_var_store_get_n_vars (mien_model_get_var_store (model)));

  images = random_images (BATCH);
  p1 = mien_model_predict (model, images, &error);
  g_assert_no_error (error);
  p2 = mien_model_predict (loaded, images, &error);
  g_assert_no_error (error);
  g_assert_true (tensors_identical (p1, p2));

  /* Extra tensors belong under optimizer. or trainer. */
  bad_extra = mien_var_store_new (mien_device_cpu ());
  g_clear_pointer (&t, mien_tensor_free);
  t = mien_var_store_new_buffer (bad_extra, "head.weight", one, 1, MIEN_DTYPE_FLOAT32, NULL,
                                 &error);
  g_assert_no_error (error);
  g_assert_false (mien_model_save (model, bad_path, NULL, bad_extra, &error));
  g_assert_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_INVALID);
  g_assert_false (g_file_test (bad_path, G_FILE_TEST_EXISTS));
}

static void
assert_load_fails (const char *path,
                   GQuark      domain,
                   int         code,
                   const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienModel) model = mien_model_load (engine (), path, mien_device_cpu (), &error);

  g_assert_null (model);
  g_assert_error (error, domain, code);
  assert_message_names (error, path);
  if (fragment != NULL && strstr (error->message, fragment) == NULL)
    g_error ("the error “%s” does not mention %s", error->message, fragment);
  g_test_message ("%s", error->message);
}

static void
assert_metadata_refused (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) md = mien_model_read_metadata (path, &error);

  g_assert_null (md);
  g_assert_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_FILE);
  assert_message_names (error, path);
  assert_load_fails (path, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_FILE, NULL);
}

typedef void (*EditFunc) (JsonObject *md);

static void
edit_format_version (JsonObject *md)
{
  json_object_set_int_member (md, "format_version", 2);
}

static void
edit_format (JsonObject *md)
{
  json_object_remove_member (md, "format");
}

static void
edit_std (JsonObject *md)
{
  JsonArray *a = json_array_new ();

  json_array_add_double_element (a, 0.2);
  json_array_add_double_element (a, 0.0);
  json_array_add_double_element (a, 0.2);
  json_object_set_array_member (md, "std", a);
}

static void
edit_mean (JsonObject *md)
{
  JsonArray *a = json_array_new ();

  json_array_add_double_element (a, 0.2);
  json_array_add_string_element (a, "x");
  json_array_add_double_element (a, 0.2);
  json_object_set_array_member (md, "mean", a);
}

static void
edit_classes (JsonObject *md)
{
  JsonArray *a = json_array_new ();

  for (int i = 0; i < 6; i++)
    json_array_add_string_element (a, i == 4 ? "anger" : six_classes[i]);
  json_object_set_array_member (md, "classes", a);
}

static void
edit_colour (JsonObject *md)
{
  json_object_set_string_member (md, "colour_mode", "cmyk");
}

static void
edit_mode (JsonObject *md)
{
  json_object_set_string_member (md, "mode", "finetuning");
}

static void
edit_input_size (JsonObject *md)
{
  json_object_set_string_member (md, "input_size", "32");
}

static void
edit_face_margin (JsonObject *md)
{
  json_object_set_double_member (md, "face_margin", 2.5);
}

static void
edit_face_margin_type (JsonObject *md)
{
  json_object_set_string_member (md, "face_margin", "tight");
}

static void
test_model_hostile_files (MienTestScratch *scratch,
                          gconstpointer    data)
{
  static const EditFunc edits[] = {
    edit_format_version, edit_format, edit_std, edit_mean, edit_classes, edit_colour,
    edit_mode, edit_input_size, edit_face_margin, edit_face_margin_type,
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(MienModel) model = NULL;
  g_autoptr(MienVarStore) with_junk = NULL;
  g_autoptr(MienVarStore) without_bias = NULL;
  g_autoptr(MienTensor) junk = NULL;
  g_autofree char *good = g_build_filename (scratch->dir, "good.safetensors", NULL);
  g_autofree char *path = g_build_filename (scratch->dir, "hostile.safetensors", NULL);
  g_autofree char *contents = NULL;
  const gint64 one[1] = { 1 };
  MienVarStore *vs;
  gsize length;

  mien_torch_manual_seed (7);
  model = new_model ("resnet:18", MIEN_MODE_PROBE, MIEN_BATCH_NORM_DEFAULT, six_classes);
  vs = mien_model_get_var_store (model);
  g_assert_true (mien_model_save (model, good, NULL, NULL, &error));
  g_assert_no_error (error);

  /* Not safetensors at all. */
  g_assert_true (g_file_set_contents (path, "not a model, just some words\n", -1, &error));
  g_assert_no_error (error);
  assert_load_fails (path, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER, NULL);
  g_assert_null (mien_model_read_metadata (path, &error));
  g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER);
  g_clear_error (&error);

  /* Truncated: cut in the data, and cut in the header. */
  g_assert_true (g_file_get_contents (good, &contents, &length, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (path, contents, length / 2, &error));
  g_assert_no_error (error);
  assert_load_fails (path, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_TRUNCATED, NULL);
  g_assert_true (g_file_set_contents (path, contents, 100, &error));
  g_assert_no_error (error);
  assert_load_fails (path, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_TRUNCATED, NULL);

  /* Weights without the "mien" metadata: a state dict, not a model. */
  save_raw (vs, path, NULL);
  assert_metadata_refused (path);

  /* Metadata that is not JSON. */
  {
    g_autoptr(GHashTable) md = g_hash_table_new (g_str_hash, g_str_equal);

    g_hash_table_insert (md, "mien", "{\"format\": \"mien-model\", ");
    g_assert_true (mien_var_store_save (vs, path, NULL, md, &error));
    g_assert_no_error (error);
    assert_metadata_refused (path);
  }

  /* Each member spoilt in turn. */
  for (guint i = 0; i < G_N_ELEMENTS (edits); i++)
    {
      g_autoptr(JsonObject) md = copy_metadata (model);

      edits[i] (md);
      save_raw (vs, path, md);
      assert_metadata_refused (path);
    }

  /* Well-formed metadata that the engine or the tensors contradict. */
  {
    g_autoptr(JsonObject) md = copy_metadata (model);

    json_object_set_string_member (md, "backbone", "nosuchfamily");
    save_raw (vs, path, md);
    assert_load_fails (path, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_NOT_FOUND, "nosuchfamily");
  }
  {
    g_autoptr(JsonObject) md = copy_metadata (model);

    json_object_set_string_member (md, "variant", "99");
    save_raw (vs, path, md);
    assert_load_fails (path, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_UNKNOWN_VARIANT, "99");
  }
  {
    g_autoptr(JsonObject) md = copy_metadata (model);

    json_object_set_int_member (md, "input_size", 16);
    save_raw (vs, path, md);
    assert_load_fails (path, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_INPUT, NULL);
  }
  {
    /* Three classes named, a head of six. */
    g_autoptr(JsonObject) md = copy_metadata (model);
    JsonArray *classes = json_array_new ();

    for (int i = 0; i < 3; i++)
      json_array_add_string_element (classes, three_classes[i]);
    json_object_set_array_member (md, "classes", classes);
    save_raw (vs, path, md);
    assert_load_fails (path, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_FILE, "head.weight");
  }
  {
    /* The weights of a DFT model are not those of a probe. */
    g_autoptr(JsonObject) md = copy_metadata (model);

    json_object_set_string_member (md, "mode", "dft");
    save_raw (vs, path, md);
    assert_load_fails (path, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_FILE, "frozen.");
  }

  /* A tensor that belongs to nothing, and one missing. */
  with_junk = mien_var_store_new (mien_device_cpu ());
  add_entries (with_junk, vs, "", NULL);
  junk = mien_var_store_new_buffer (with_junk, "junk.x", one, 1, MIEN_DTYPE_FLOAT32, NULL,
                                    &error);
  g_assert_no_error (error);
  {
    g_autoptr(JsonObject) md = copy_metadata (model);

    save_raw (with_junk, path, md);
    assert_load_fails (path, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_FILE, "junk.x");
  }
  without_bias = mien_var_store_new (mien_device_cpu ());
  add_entries (without_bias, vs, "", "head.bias");
  {
    g_autoptr(JsonObject) md = copy_metadata (model);

    save_raw (without_bias, path, md);
    assert_load_fails (path, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_FILE, "head.bias");
  }

  /* A missing file. */
  g_assert_true (g_remove (path) == 0);
  assert_load_fails (path, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_IO, NULL);
}

/* ---- Pretrained weights ------------------------------------------------------------------ */

/* Every entry NAME of `src` (but fc.*) equals PREFIX + NAME in `vs`. */
static void
assert_backbone_from (MienVarStore *vs,
                      const char   *prefix,
                      MienVarStore *src,
                      const char   *src_prefix)
{
  for (guint i = 0; i < mien_var_store_get_n_vars (src); i++)
    {
      const char *name = mien_var_store_get_name (src, i);
      g_autoptr(MienTensor) expected = NULL;
      g_autoptr(MienTensor) got = NULL;
      g_autofree char *target = NULL;

      if (!g_str_has_prefix (name, src_prefix) || g_str_has_prefix (name, "fc."))
        continue;
      target = g_strconcat (prefix, name + strlen (src_prefix), NULL);
      expected = mien_var_store_get_nth (src, i);
      got = mien_var_store_get (vs, target);
      g_assert_nonnull (got);
      if (!tensors_identical (expected, got))
        g_error ("%s does not hold the pretrained %s", target, name);
    }
}

static void
test_model_pretrained (MienTestScratch *scratch,
                       gconstpointer    data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienBackbone) source = NULL;
  g_autoptr(MienVarStore) torchvision = NULL;
  g_autoptr(MienVarStore) partial = NULL;
  g_autoptr(MienBackbone) vit = NULL;
  g_autoptr(MienVarStore) vit_store = NULL;
  g_autoptr(MienModel) model = NULL;
  g_autoptr(MienModel) other = NULL;
  g_autoptr(MienTensor) fc_weight = NULL;
  g_autoptr(MienTensor) fc_bias = NULL;
  g_autoptr(MienTensor) x = NULL;
  g_autoptr(MienTensor) features = NULL;
  g_autoptr(GHashTable) head_before = NULL;
  g_autoptr(GHashTable) all_before = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *tv_path = g_build_filename (scratch->dir, "resnet18.safetensors", NULL);
  g_autofree char *other_path = g_build_filename (scratch->dir, "other.safetensors", NULL);
  g_autofree char *partial_path = g_build_filename (scratch->dir, "partial.safetensors", NULL);
  g_autofree char *vit_path = g_build_filename (scratch->dir, "vit.safetensors", NULL);
  const gint64 fc_shape[2] = { 1000, 512 };
  const gint64 bias_shape[1] = { 1000 };
  const MienInit normal = { MIEN_INIT_NORMAL, 0, 0.01 };
  MienVarStore *vs;

  mien_torch_manual_seed (8);

  /* torchvision's layout: the backbone's names at the top level, and its 1000-class head. */
  source = mien_plugin_engine_create_backbone (engine (), "resnet:18", NULL, &error);
  g_assert_no_error (error);
  torchvision = mien_var_store_new (mien_device_cpu ());
  g_assert_true (mien_backbone_build (source, "18", SIZE, torchvision, "", &error));
  g_assert_no_error (error);
  fc_weight = mien_var_store_new_parameter (torchvision, "fc.weight", fc_shape, 2, &normal,
                                            &error);
  g_assert_no_error (error);
  fc_bias = mien_var_store_new_parameter (torchvision, "fc.bias", bias_shape, 1, &normal,
                                          &error);
  g_assert_no_error (error);
  g_assert_true (mien_var_store_save (torchvision, tv_path, NULL, NULL, &error));
  g_assert_no_error (error);

  model = new_model ("resnet:18", MIEN_MODE_DFT, MIEN_BATCH_NORM_DEFAULT, six_classes);
  vs = mien_model_get_var_store (model);
  head_before = snapshot (vs, "head.");

  g_assert_true (mien_model_load_pretrained (model, tv_path, &summary, &error));
  g_assert_no_error (error);
  g_test_message ("%s", summary);
  g_assert_nonnull (strstr (summary, "fc.weight"));
  g_assert_nonnull (strstr (summary, "resnet18.safetensors"));
  assert_backbone_from (vs, "backbone.", torchvision, "");
  assert_backbone_from (vs, "frozen.", torchvision, "");
  g_assert_cmpuint (count_changed (vs, head_before), ==, 0);

  /* Both copies hold the same weights again. */
  x = prepared_batch (model);
  features = mien_model_features (model, x, TRUE, &error);
  g_assert_no_error (error);
  assert_all_epsilon (features);

  /* A Mien model of other classes: its backbone, not its head. */
  other = new_model ("resnet:18", MIEN_MODE_FINETUNE, MIEN_BATCH_NORM_DEFAULT, three_classes);
  g_assert_true (mien_model_save (other, other_path, NULL, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&summary, g_free);
  g_assert_true (mien_model_load_pretrained (model, other_path, &summary, &error));
  g_assert_no_error (error);
  g_test_message ("%s", summary);
  assert_backbone_from (vs, "backbone.", mien_model_get_var_store (other), "backbone.");
  assert_backbone_from (vs, "frozen.", mien_model_get_var_store (other), "backbone.");
  g_assert_cmpuint (count_changed (vs, head_before), ==, 0);

  /* One tensor short: refused, and nothing changes. */
  partial = mien_var_store_new (mien_device_cpu ());
  add_entries (partial, torchvision, "", "layer4.1.bn2.running_var");
  g_assert_true (mien_var_store_save (partial, partial_path, NULL, NULL, &error));
  g_assert_no_error (error);
  all_before = snapshot (vs, "");
  g_assert_false (mien_model_load_pretrained (model, partial_path, NULL, &error));
  g_assert_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_PRETRAINED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "layer4.1.bn2.running_var"));
  assert_message_names (error, partial_path);
  g_assert_cmpuint (count_changed (vs, all_before), ==, 0);
  g_clear_error (&error);

  /* Weights of another family. */
  vit = mien_plugin_engine_create_backbone (engine (), "vit:ti_16", NULL, &error);
  g_assert_no_error (error);
  vit_store = mien_var_store_new (mien_device_cpu ());
  g_assert_true (mien_backbone_build (vit, "ti_16", SIZE, vit_store, "", &error));
  g_assert_no_error (error);
  g_assert_true (mien_var_store_save (vit_store, vit_path, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (mien_model_load_pretrained (model, vit_path, NULL, &error));
  g_assert_error (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_PRETRAINED);
  g_assert_cmpuint (count_changed (vs, all_before), ==, 0);
}

/* mien_ensemble_evaluate_samples () gives the metrics mien_ensemble_evaluate () gives, and
 * per-sample predictions that rebuild its confusion matrix, with -1 for an unreadable image;
 * each prediction is the class mien_ensemble_predict_file () ranks first (the Evaluate page
 * shows these images under the cell of the Predict page's answer). Also the predictions CSV. */
static void
test_model_ensemble_samples (MienTestScratch *scratch,
                             gconstpointer    data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *root = g_build_filename (scratch->dir, "demo", NULL);
  g_autofree char *val_dir = g_build_filename (root, "val", NULL);
  g_autofree char *broken = g_build_filename (val_dir, "fear", "zz-broken.png", NULL);
  MienDemoDataOptions options = MIEN_DEMO_DATA_OPTIONS_INIT;
  g_autoptr(MienModel) a = new_model ("resnet:18", MIEN_MODE_PROBE, MIEN_BATCH_NORM_DEFAULT,
                                      six_classes);
  g_autoptr(MienModel) b = new_model ("resnet:18", MIEN_MODE_FINETUNE, MIEN_BATCH_NORM_DEFAULT,
                                      six_classes);
  g_autoptr(MienEnsemble) ensemble = mien_ensemble_new ();
  g_autoptr(MienDataset) val = NULL;
  g_autoptr(MienMetrics) plain = NULL;
  g_autoptr(MienMetrics) metrics = NULL;
  g_autoptr(MienMetrics) rebuilt = mien_metrics_new (six_classes);
  g_autoptr(GArray) predictions = NULL;
  g_autoptr(GPtrArray) unreadable = NULL;
  g_autoptr(GPtrArray) images = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) csv = g_string_new (NULL);
  g_autofree float *average = g_new (float, 6);
  guint n_skipped = 0;

  options.per_class = 8;
  options.size = SIZE;
  g_assert_true (mien_demo_data_generate (root, &options, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (broken, "not a picture", -1, &error));
  g_assert_true (mien_ensemble_add (ensemble, a, &error));
  g_assert_true (mien_ensemble_add (ensemble, b, &error));
  g_assert_no_error (error);
  val = mien_dataset_open (val_dir, six_classes, &error);
  g_assert_no_error (error);

  plain = mien_ensemble_evaluate (ensemble, val, 2, NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  metrics = mien_ensemble_evaluate_samples (ensemble, val, 2, &predictions, &unreadable, NULL,
                                            NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (metrics);
  g_assert_cmpuint (metrics->n, ==, plain->n);
  g_assert_cmpmem (metrics->confusion, 36 * sizeof (guint64), plain->confusion,
                   36 * sizeof (guint64));
  g_assert_cmpfloat (metrics->macro_f1, ==, plain->macro_f1);
  g_assert_cmpuint (unreadable->len, ==, 1);

  g_assert_cmpuint (predictions->len, ==, mien_dataset_get_n_samples (val));
  for (guint i = 0; i < predictions->len; i++)
    {
      int p = g_array_index (predictions, int, i);
      const char *path = mien_dataset_get_path (val, i);
      guint best = 0;

      if (g_str_equal (path, broken))
        {
          g_assert_cmpint (p, ==, -1);
          n_skipped++;
          continue;
        }
      g_assert_cmpint (p, >=, 0);
      g_assert_cmpint (p, <, 6);
      mien_metrics_add (rebuilt, mien_dataset_get_label (val, i), p);
      g_assert_true (mien_ensemble_predict_file (ensemble, path, NULL, average, &error));
      g_assert_no_error (error);
      for (guint c = 1; c < 6; c++)
        if (average[c] > average[best])
          best = c;
      g_assert_cmpint (p, ==, best);
    }
  g_assert_cmpuint (n_skipped, ==, 1);
  g_assert_cmpmem (rebuilt->confusion, 36 * sizeof (guint64), metrics->confusion,
                   36 * sizeof (guint64));

  /* Folders are walked in name order; the row holds the argmax and six decimals. */
  mien_ensemble_collect_images (val_dir, images);
  g_assert_cmpuint (images->len, ==, mien_dataset_get_n_samples (val));
  g_assert_cmpstr (images->pdata[0], ==, mien_dataset_get_path (val, 0));
  mien_ensemble_append_csv_header (ensemble, csv);
  g_assert_cmpstr (csv->str, ==,
                   "path,class,p_anger,p_disgust,p_fear,p_happiness,p_sadness,p_surprise\n");
  g_string_truncate (csv, 0);
  {
    const float p[6] = { 0.1f, 0.05f, 0.5f, 0.15f, 0.1f, 0.1f };

    mien_ensemble_append_csv_row (ensemble, csv, "/x/a,b.png", p);
    g_assert_cmpstr (csv->str, ==, "\"/x/a,b.png\",fear,0.100000,0.050000,0.500000,0.150000,"
                                   "0.100000,0.100000\n");
  }
}

/* Resident memory in KiB (VmRSS of /proc/self/status), or 0 where there is none. */
static gsize
resident_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL) ||
      (line = strstr (status, "VmRSS:")) == NULL)
    return 0;
  return (gsize) g_ascii_strtoull (line + strlen ("VmRSS:"), NULL, 10);
}

/* Loading a model file and freeing the model gives its memory back: loaded again and again (a
 * studio switching models all day), memory does not grow by a model each time. (The check for
 * NaN once kept a handle on every tensor, so that each load kept all its weights alive.) */
static void
test_load_frees (MienTestScratch *scratch,
                 gconstpointer    data)
{
  g_autofree char *path = g_build_filename (scratch->dir, "model.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  GStatBuf st;
  gsize model_kib, before = 0, after;

  {
    g_autoptr(MienModel) model = mien_test_random_model ("resnet:18", 32, six_classes, FALSE);

    g_assert_true (mien_model_save (model, path, NULL, NULL, &error));
    g_assert_no_error (error);
  }
  if (resident_kib () == 0)
    {
      g_test_skip ("No /proc/self/status here");
      return;
    }
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  model_kib = (gsize) st.st_size / 1024;
  for (int round = 0; round < 12; round++)
    {
      g_autoptr(MienModel) model = mien_model_load (engine (), path, mien_device_cpu (), &error);

      g_assert_no_error (error);
      g_assert_nonnull (model);
      g_clear_object (&model);
      /* The first six rounds warm the allocators up; the leak kept a whole model a round. */
      if (round == 5)
        before = resident_kib ();
    }
  after = resident_kib ();
  g_test_message ("model file %zu KiB; resident %zu KiB after six loads, %zu after twelve",
                  model_kib, before, after);
  g_assert_cmpuint (after, <, before + 2 * model_kib);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  mien_init ();
  /* These networks are too small to gain from a second thread, and with meson running tests in
   * parallel, OpenMP's spinning threads on a busy machine cost ten times the work itself. */
  if (g_getenv ("MIEN_NUM_THREADS") == NULL)
    mien_torch_set_num_threads (1);

  g_test_add ("/model/loss/reference", MienTestScratch, NULL, mien_test_scratch_set_up,
              test_model_loss_reference, mien_test_scratch_tear_down);
  g_test_add_func ("/model/spec-errors", test_model_spec_errors);
  g_test_add_func ("/model/prepare-input", test_model_prepare_input);
  g_test_add_func ("/model/dft", test_model_dft);
  g_test_add_func ("/model/dft/batch-norm-train", test_model_dft_batch_norm_train);
  g_test_add_func ("/model/probe", test_model_probe);
  g_test_add_func ("/model/finetune", test_model_finetune);
  g_test_add_func ("/model/vit", test_model_vit);
  g_test_add ("/model/file/save-load", MienTestScratch, NULL, mien_test_scratch_set_up,
              test_model_save_load, mien_test_scratch_tear_down);
  g_test_add ("/model/file/load-frees", MienTestScratch, NULL, mien_test_scratch_set_up,
              test_load_frees, mien_test_scratch_tear_down);
  g_test_add ("/model/file/hostile", MienTestScratch, NULL, mien_test_scratch_set_up,
              test_model_hostile_files, mien_test_scratch_tear_down);
  g_test_add ("/model/pretrained", MienTestScratch, NULL, mien_test_scratch_set_up,
              test_model_pretrained, mien_test_scratch_tear_down);
  g_test_add ("/model/ensemble/samples", MienTestScratch, NULL, mien_test_scratch_set_up,
              test_model_ensemble_samples, mien_test_scratch_tear_down);

  return g_test_run ();
}
