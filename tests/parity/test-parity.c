/* test-parity.c — Mien's backbones against torchvision, for the same weights.
 *
 *   test-parity --model CASE --dir DIR [--eval-only]
 *
 * reads DIR/CASE.safetensors (a torchvision state_dict) and DIR/CASE-io.safetensors (reference
 * input and outputs), both written by export_torchvision.py, and checks through the plugin engine:
 *
 *   /parity/CASE/load     the weights load with exactly the head left over (no missing, no
 *                         mismatched key), the var store holds torchvision's state_dict keys in
 *                         torchvision's order, and the parameter count is torchvision's less the
 *                         head's;
 *   /parity/CASE/forward  eval mode: features and logits (features through the file's head);
 *   /parity/CASE/train    one training step (train mode, label-smoothed cross-entropy, Adam):
 *                         loss, every gradient, every updated parameter and running statistic;
 *   /parity/CASE/timm     (ViT-Ti/16) the same weights under timm's names give the same features.
 *
 * Errors are relative, ||mien - torch|| / ||torch||, with a bound on the largest element error;
 * each check prints its figures with g_test_message.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "mien-core.h"

/* ||a - b|| / ||b|| bound for every compared tensor. */
#define REL_TOL 1e-4
/* Largest element error, relative to the largest element of the reference. */
#define ELEMENT_TOL 1e-3
/* Gradients whose norm is below this fraction of the largest gradient norm are rounding noise
 * around an exact 0: Mien's must then be below it too, but noise is not compared with noise. */
#define NEGLIGIBLE_GRAD 1e-5

static char *opt_case;
static char *opt_dir;
static gboolean opt_eval_only;

typedef struct {
  char *model_path;
  char *io_path;
  char *timm_path;
} Files;

static Files files;

typedef struct {
  double rel;
  double max_abs;
  double ref_norm;
  double ref_max;
} Diff;

/* ---- Helpers -------------------------------------------------------------------------- */

static gboolean
files_present (void)
{
  if (!g_file_test (files.model_path, G_FILE_TEST_EXISTS) ||
      !g_file_test (files.io_path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *msg =
        g_strdup_printf ("%s or %s is absent: build the custom target parity-%s "
                         "(meson test builds it) with a python that has torchvision",
                         files.model_path, files.io_path, opt_case);
      g_test_skip (msg);
      return FALSE;
    }
  return TRUE;
}

static double *
to_doubles (MienTensor *t,
            gint64     *n_out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienNoGradGuard) guard = mien_no_grad_guard_new ();
  g_autoptr(MienTensor) detached = mien_tensor_detach (t, &error);
  g_autoptr(MienTensor) d = NULL;
  gint64 n;
  double *out;

  g_assert_no_error (error);
  d = mien_tensor_to (detached, mien_device_cpu (), MIEN_DTYPE_FLOAT64, &error);
  g_assert_no_error (error);
  n = mien_tensor_numel (d);
  out = g_new (double, MAX (n, 1));
  mien_tensor_to_host (d, out, n * sizeof (double), &error);
  g_assert_no_error (error);
  *n_out = n;
  return out;
}

static void
assert_same_shape (const char *what,
                   MienTensor *a,
                   MienTensor *b)
{
  if (mien_tensor_ndim (a) != mien_tensor_ndim (b) ||
      mien_tensor_numel (a) != mien_tensor_numel (b))
    {
      g_autofree char *da = mien_tensor_describe (a);
      g_autofree char *db = mien_tensor_describe (b);

      g_error ("%s: shape %s (Mien) vs %s (torchvision)", what, da, db);
    }
  for (int i = 0; i < mien_tensor_ndim (a); i++)
    if (mien_tensor_size (a, i) != mien_tensor_size (b, i))
      {
        g_autofree char *da = mien_tensor_describe (a);
        g_autofree char *db = mien_tensor_describe (b);

        g_error ("%s: shape %s (Mien) vs %s (torchvision)", what, da, db);
      }
}

/* `a` is Mien's, `b` the reference. */
static Diff
compare (const char *what,
         MienTensor *a,
         MienTensor *b)
{
  g_autofree double *da = NULL;
  g_autofree double *db = NULL;
  gint64 na, nb;
  double diff2 = 0, ref2 = 0;
  Diff d = { 0, 0, 0, 0 };

  assert_same_shape (what, a, b);
  da = to_doubles (a, &na);
  db = to_doubles (b, &nb);
  g_assert_cmpint (na, ==, nb);
  for (gint64 i = 0; i < na; i++)
    {
      double e = fabs (da[i] - db[i]);

      if (isnan (da[i]) != isnan (db[i]))
        e = INFINITY;
      diff2 += e * e;
      ref2 += db[i] * db[i];
      d.max_abs = MAX (d.max_abs, e);
      d.ref_max = MAX (d.ref_max, fabs (db[i]));
    }
  d.ref_norm = sqrt (ref2);
  d.rel = ref2 > 0 ? sqrt (diff2) / d.ref_norm : (diff2 > 0 ? INFINITY : 0);
  return d;
}

static gboolean
diff_ok (const Diff *d)
{
  return d->rel <= REL_TOL && d->max_abs <= ELEMENT_TOL * d->ref_max;
}

static void
check_close (const char *what,
             MienTensor *a,
             MienTensor *b)
{
  Diff d = compare (what, a, b);

  g_test_message ("%s %s: relative error %.3g, max abs error %.3g (|ref| max %.3g)",
                  opt_case, what, d.rel, d.max_abs, d.ref_max);
  if (!diff_ok (&d))
    g_test_fail_printf ("%s %s: relative error %.3g (bound %g), max abs error %.3g "
                        "(bound %.3g)", opt_case, what, d.rel, REL_TOL, d.max_abs,
                        ELEMENT_TOL * d.ref_max);
}

static MienTensor *
load_tensor (MienSafetensors *st,
             const char      *name)
{
  g_autoptr(GError) error = NULL;
  MienTensor *t = mien_safetensors_load_tensor (st, name, &error);

  g_assert_no_error (error);
  return t;
}

static gint64
metadata_int (MienSafetensors *st,
              const char      *key)
{
  const char *value = g_hash_table_lookup (mien_safetensors_get_metadata (st), key);
  gint64 n = 0;
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (value);
  g_ascii_string_to_signed (value, 10, 0, G_MAXINT64, &n, &error);
  g_assert_no_error (error);
  return n;
}

static const char *
metadata_string (MienSafetensors *st,
                 const char      *key)
{
  const char *value = g_hash_table_lookup (mien_safetensors_get_metadata (st), key);

  if (value == NULL)
    g_error ("%s: no \"%s\" in __metadata__", opt_case, key);
  return value;
}

static char *
head_key (const MienBackboneVariant *variant,
          const char                *leaf)
{
  return g_strconcat (variant->classifier, ".", leaf, NULL);
}

/* Sets a plugin property that the reference relies on; the plugin must have it. */
static void
set_property (MienBackbone *backbone,
              const char   *name,
              const GValue *value)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (backbone), name);

  if (pspec == NULL)
    g_error ("%s: the %s backbone has no \"%s\" property", opt_case,
             G_OBJECT_TYPE_NAME (backbone), name);
  g_object_set_property (G_OBJECT (backbone), name, value);
}

/* torchvision's settings of the exported model that differ from the plugin's defaults. */
static void
configure_like_export (MienBackbone *backbone,
                       const char   *model)
{
  if (g_str_equal (model, "googlenet"))
    {
      g_auto(GValue) v = G_VALUE_INIT;

      g_value_init (&v, G_TYPE_BOOLEAN);
      g_value_set_boolean (&v, TRUE);
      set_property (backbone, "transform-input", &v);
    }
  else if (g_str_has_prefix (model, "efficientnet"))
    {
      g_auto(GValue) v = G_VALUE_INIT;

      /* Exported with stochastic_depth_prob=0 so that the training step is deterministic. */
      g_value_init (&v, G_TYPE_DOUBLE);
      g_value_set_double (&v, 0.0);
      set_property (backbone, "stochastic-depth-prob", &v);
    }
}

/* A built backbone of the file's family, variant and input size, holding the file's weights. */
typedef struct {
  MienBackbone *backbone;
  MienVarStore *vs;
  MienSafetensors *weights;
  const MienBackboneVariant *variant;
  char *model;
  int input_size;
} Net;

static void
net_clear (Net *net)
{
  g_clear_object (&net->backbone);
  g_clear_pointer (&net->vs, mien_var_store_free);
  g_clear_pointer (&net->weights, mien_safetensors_free);
  g_clear_pointer (&net->model, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Net, net_clear)

static void
net_build (Net *net)
{
  g_autoptr(GError) error = NULL;
  MienPluginEngine *engine = mien_plugin_engine_get_default ();
  g_autofree char *variant = NULL;
  const char *spec;

  net->weights = mien_safetensors_open (files.model_path, &error);
  g_assert_no_error (error);
  spec = metadata_string (net->weights, "mien_spec");
  net->model = g_strdup (metadata_string (net->weights, "model"));
  net->input_size = metadata_int (net->weights, "input_size");
  /* Same thread count as the export: kernels then reduce in the same order (see
   * export_torchvision.py for why this matters to the training step). */
  mien_torch_set_num_threads (metadata_int (net->weights, "threads"));

  net->backbone = mien_plugin_engine_create_backbone (engine, spec, &variant, &error);
  if (net->backbone == NULL)
    {
      const char * const *errors = mien_plugin_engine_get_errors (engine);

      for (guint i = 0; errors != NULL && errors[i] != NULL; i++)
        g_test_message ("plugin engine: %s", errors[i]);
    }
  g_assert_no_error (error);
  configure_like_export (net->backbone, net->model);

  net->vs = mien_var_store_new (mien_device_cpu ());
  mien_backbone_build (net->backbone, variant, net->input_size, net->vs, "", &error);
  g_assert_no_error (error);
  net->variant = mien_backbone_get_variant (net->backbone);
  g_assert_nonnull (net->variant);
  g_assert_cmpstr (net->variant->classifier, ==, metadata_string (net->weights, "classifier"));
}

static gboolean
names_equal (GPtrArray          *names,
             const char * const *expected,
             guint               n_expected)
{
  if (names->len != n_expected)
    return FALSE;
  for (guint i = 0; i < n_expected; i++)
    {
      gboolean found = FALSE;

      for (guint j = 0; j < names->len; j++)
        found |= g_str_equal (g_ptr_array_index (names, j), expected[i]);
      if (!found)
        return FALSE;
    }
  return TRUE;
}

/* Loads `path` into the net (tolerant, optionally through the backbone's timm map) and asserts
 * that the file's head, named `head_weight` and `head_bias` in the file, is all that is left. */
static void
net_load (Net        *net,
          const char *path,
          gboolean    timm,
          const char *head_weight,
          const char *head_bias)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienLoadReport) report = NULL;
  g_autoptr(MienSafetensors) st = NULL;
  g_autofree char *summary = NULL;
  const char *head[2] = { head_weight, head_bias };
  MienLoadOptions options = { NULL, NULL, NULL, NULL, MIEN_LOAD_TOLERANT };

  if (timm)
    {
      options.map_key = mien_backbone_key_map_func;
      options.map_key_data = net->backbone;
    }
  st = mien_safetensors_open (path, &error);
  g_assert_no_error (error);
  mien_var_store_load_from (net->vs, st, &options, &report, &error);
  g_assert_no_error (error);
  summary = mien_load_report_to_string (report);
  g_test_message ("%s: load %s: %s", opt_case, path, summary);
  if (report->missing->len != 0 || report->mismatched->len != 0 ||
      !names_equal (report->unexpected, head, 2))
    g_error ("%s: loading %s should leave exactly %s and %s unexpected: %s", opt_case, path,
             head_weight, head_bias, summary);
  g_assert_cmpuint (report->n_loaded, ==, mien_var_store_get_n_vars (net->vs));
}

static void
net_load_torchvision (Net *net)
{
  g_autofree char *w = head_key (net->variant, "weight");
  g_autofree char *b = head_key (net->variant, "bias");

  net_load (net, files.model_path, FALSE, w, b);
}

/* ---- Tests ---------------------------------------------------------------------------- */

static void
test_load (void)
{
  g_auto(Net) net = { 0 };
  g_autofree char *head_w = NULL;
  g_autofree char *head_b = NULL;
  gint64 n_params, n_head, n_mien;
  guint n_file, k = 0;
  guint n_order_errors = 0;

  if (!files_present ())
    return;
  net_build (&net);
  net_load_torchvision (&net);

  /* Parameter counts: torchvision's whole network less its classifier. */
  n_params = metadata_int (net.weights, "n_params");
  n_head = metadata_int (net.weights, "n_params_head");
  n_mien = mien_var_store_count_parameters (net.vs, FALSE);
  g_test_message ("%s: %" G_GINT64_FORMAT " parameters in Mien, torchvision %" G_GINT64_FORMAT
                  " - head %" G_GINT64_FORMAT " = %" G_GINT64_FORMAT, opt_case, n_mien,
                  n_params, n_head, n_params - n_head);
  g_assert_cmpint (n_mien, ==, n_params - n_head);
  g_assert_cmpint (mien_var_store_count_parameters (net.vs, TRUE), ==, n_mien);
  if (net.input_size == net.variant->input_size)
    {
      g_autoptr(GError) error = NULL;
      gint64 n_meta = mien_backbone_count_parameters (net.backbone, net.variant->name, &error);

      /* The same count, from the meta device. */
      g_assert_no_error (error);
      g_assert_cmpint (n_meta, ==, n_mien);
    }

  /* The store's entries follow the state_dict's order (the file's order, less the head). */
  head_w = head_key (net.variant, "weight");
  head_b = head_key (net.variant, "bias");
  n_file = mien_safetensors_get_n_entries (net.weights);
  for (guint i = 0; i < n_file; i++)
    {
      const char *name = mien_safetensors_get_entry (net.weights, i)->name;

      if (g_str_equal (name, head_w) || g_str_equal (name, head_b))
        continue;
      if (k >= mien_var_store_get_n_vars (net.vs) ||
          !g_str_equal (name, mien_var_store_get_name (net.vs, k)))
        {
          if (n_order_errors++ < 5)
            g_test_message ("%s: entry %u is %s in torchvision's state_dict, %s in Mien",
                            opt_case, k, name,
                            k < mien_var_store_get_n_vars (net.vs) ?
                            mien_var_store_get_name (net.vs, k) : "(none)");
        }
      k++;
    }
  g_assert_cmpuint (k, ==, mien_var_store_get_n_vars (net.vs));
  if (n_order_errors > 0)
    g_test_fail_printf ("%s: %u entries out of torchvision's state_dict order", opt_case,
                        n_order_errors);

  /* Buffers are buffers, parameters parameters, with the file's dtypes. */
  for (guint i = 0; i < mien_var_store_get_n_vars (net.vs); i++)
    {
      const char *name = mien_var_store_get_name (net.vs, i);
      const MienSafetensorsEntry *entry = mien_safetensors_lookup (net.weights, name);
      g_autoptr(MienTensor) t = mien_var_store_get_nth (net.vs, i);

      g_assert_nonnull (entry);
      g_assert_cmpint (mien_tensor_dtype (t), ==, entry->dtype);
      if (g_str_has_suffix (name, "running_mean") || g_str_has_suffix (name, "running_var") ||
          g_str_has_suffix (name, "num_batches_tracked"))
        g_assert_cmpint (mien_var_store_get_kind (net.vs, i), ==, MIEN_VAR_BUFFER);
      else
        g_assert_cmpint (mien_var_store_get_kind (net.vs, i), ==, MIEN_VAR_PARAMETER);
    }
}

static void
test_forward (void)
{
  g_auto(Net) net = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(MienSafetensors) io = NULL;
  g_autoptr(MienTensor) x = NULL;
  g_autoptr(MienTensor) features = NULL;
  g_autoptr(MienTensor) logits = NULL;
  g_autoptr(MienTensor) ref_features = NULL;
  g_autoptr(MienTensor) ref_logits = NULL;
  g_autoptr(MienTensor) head_w = NULL;
  g_autoptr(MienTensor) head_b = NULL;
  g_autofree char *head_w_name = NULL;
  g_autofree char *head_b_name = NULL;
  g_autoptr(MienNoGradGuard) guard = NULL;
  gint64 t0;

  if (!files_present ())
    return;
  net_build (&net);
  net_load_torchvision (&net);
  io = mien_safetensors_open (files.io_path, &error);
  g_assert_no_error (error);

  head_w_name = head_key (net.variant, "weight");
  head_b_name = head_key (net.variant, "bias");
  head_w = load_tensor (net.weights, head_w_name);
  head_b = load_tensor (net.weights, head_b_name);
  x = load_tensor (io, "input");
  ref_features = load_tensor (io, "features");
  ref_logits = load_tensor (io, "logits");

  guard = mien_no_grad_guard_new ();
  t0 = g_get_monotonic_time ();
  features = mien_backbone_forward (net.backbone, x, FALSE, &error);
  g_assert_no_error (error);
  g_test_message ("%s: eval forward of %" G_GINT64_FORMAT " images in %.2f s", opt_case,
                  mien_tensor_size (x, 0), (g_get_monotonic_time () - t0) / 1e6);
  g_assert_cmpint (mien_tensor_size (features, 1), ==,
                   mien_backbone_get_feature_dim (net.backbone));
  logits = mien_tensor_linear (features, head_w, head_b, &error);
  g_assert_no_error (error);

  check_close ("features", features, ref_features);
  check_close ("logits", logits, ref_logits);
}

typedef struct {
  const char *worst_name;
  Diff worst;
  guint n_checked;
  guint n_negligible;
  guint n_failed;
} Summary;

static void
summary_add (Summary    *s,
             const char *kind,
             const char *name,
             const Diff *d,
             gboolean    ok)
{
  s->n_checked++;
  if (!ok)
    {
      s->n_failed++;
      if (s->n_failed <= 10)
        g_test_message ("%s: %s %s differs: relative error %.3g, max abs error %.3g "
                        "(|ref| max %.3g, norm %.3g)", opt_case, kind, name, d->rel,
                        d->max_abs, d->ref_max, d->ref_norm);
    }
  if (s->worst_name == NULL || d->rel > s->worst.rel)
    {
      s->worst_name = name;
      s->worst = *d;
    }
}

static void
summary_report (Summary    *s,
                const char *kind)
{
  g_autofree char *negligible = NULL;

  if (s->n_negligible > 0)
    negligible = g_strdup_printf (" (%u of them zero in exact arithmetic: negligible on both "
                                  "sides)", s->n_negligible);
  g_test_message ("%s: %u %s compared%s; worst %s: relative error %.3g, max abs error %.3g "
                  "(|ref| max %.3g)", opt_case, s->n_checked, kind,
                  negligible ? negligible : "", s->worst_name ? s->worst_name : "-",
                  s->worst.rel, s->worst.max_abs, s->worst.ref_max);
  if (s->n_failed > 0)
    g_test_fail_printf ("%s: %u of %u %s differ from torchvision's (worst %s: relative error "
                        "%.3g)", opt_case, s->n_failed, s->n_checked, kind, s->worst_name,
                        s->worst.rel);
}

typedef struct {
  const char *worst_name;
  double worst;          /* largest |Mien's updated value - Adam's from Mien's gradient| */
  guint n_failed;
  gint64 n_undetermined;
  gint64 n_elements;
} AdamCheck;

/* Adam's first step from zero state is p - lr g / (|g| + eps) (both moments bias-corrected),
 * about lr sign (g). Checks Mien's updated `value`
 *  - against that formula applied to Mien's own gradient, on every element (the optimiser), and
 *  - against torchvision's updated value, on the elements whose sign is determined: those whose
 *    torchvision gradient exceeds 10x the largest gradient discrepancy of this tensor. */
static void
compare_adam_update (const char *name,
                     MienTensor *value,
                     MienTensor *ref_value,
                     MienTensor *original,
                     MienTensor *grad,
                     MienTensor *ref_grad,
                     double      lr,
                     double      eps,
                     Summary    *summary,
                     AdamCheck  *check)
{
  g_autofree double *v = NULL;
  g_autofree double *rv = NULL;
  g_autofree double *o = NULL;
  g_autofree double *g = NULL;
  g_autofree double *rg = NULL;
  gint64 n, n2;
  double grad_err = 0, worst = 0, diff2 = 0, ref2 = 0;
  gboolean bad = FALSE;
  gboolean explained = TRUE;
  Diff d = { 0, 0, 0, 0 };

  assert_same_shape (name, value, ref_value);
  g_assert_nonnull (grad);
  v = to_doubles (value, &n);
  rv = to_doubles (ref_value, &n2);
  g_assert_cmpint (n, ==, n2);
  o = to_doubles (original, &n2);
  g_assert_cmpint (n, ==, n2);
  g = to_doubles (grad, &n2);
  g_assert_cmpint (n, ==, n2);
  rg = to_doubles (ref_grad, &n2);
  g_assert_cmpint (n, ==, n2);

  for (gint64 j = 0; j < n; j++)
    grad_err = MAX (grad_err, fabs (g[j] - rg[j]));

  for (gint64 j = 0; j < n; j++)
    {
      double expected = o[j] - lr * g[j] / (fabs (g[j]) + eps);
      /* float32 rounding of the parameter and of Adam's few operations */
      double bound = 1e-5 * lr + 4 * FLT_EPSILON * fabs (o[j]);
      double e = isnan (v[j]) ? INFINITY : fabs (v[j] - expected);

      worst = MAX (worst, e);
      if (e > bound)
        bad = TRUE;
      if (fabs (rg[j]) < 10 * grad_err)
        {
          check->n_undetermined++;
          continue;
        }
      e = fabs (v[j] - rv[j]);
      /* Adam's first step is lr g / (|g| + eps): for a gradient not far above eps, a tiny
       * difference between the two sides' gradients moves it by up to
       * lr eps |g - g'| / ((|g| + eps) (|g'| + eps)). A difference within that (plus rounding)
       * follows from the gradients, which are compared on their own. */
      if (e > lr * eps * fabs (g[j] - rg[j]) / ((fabs (g[j]) + eps) * (fabs (rg[j]) + eps)) +
              2 * bound)
        explained = FALSE;
      diff2 += e * e;
      ref2 += rv[j] * rv[j];
      d.max_abs = MAX (d.max_abs, e);
      d.ref_max = MAX (d.ref_max, fabs (rv[j]));
    }
  check->n_elements += n;
  if (bad && check->n_failed++ < 10)
    g_test_message ("%s: %s was not updated as Adam would from Mien's gradient: error up to "
                    "%.3g of lr", opt_case, name, worst / lr);
  if (check->worst_name == NULL || worst > check->worst)
    {
      check->worst_name = name;
      check->worst = worst;
    }
  d.ref_norm = sqrt (ref2);
  d.rel = ref2 > 0 ? sqrt (diff2) / d.ref_norm : (diff2 > 0 ? INFINITY : 0);
  summary_add (summary, "updated parameter", name, &d, diff_ok (&d) || explained);
}

static void
test_train (void)
{
  g_auto(Net) net = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(MienSafetensors) io = NULL;
  g_autoptr(MienTensor) x = NULL;
  g_autoptr(MienTensor) targets = NULL;
  g_autoptr(MienTensor) features = NULL;
  g_autoptr(MienTensor) logits = NULL;
  g_autoptr(MienTensor) loss = NULL;
  g_autoptr(MienTensor) ref = NULL;
  g_autoptr(MienTensor) head_w = NULL;
  g_autoptr(MienTensor) head_b = NULL;
  g_autoptr(MienOptimizer) optimizer = NULL;
  g_autofree char *head_w_name = NULL;
  g_autofree char *head_b_name = NULL;
  MienAdamConfig adam = MIEN_ADAM_CONFIG_INIT;
  Summary grads = { 0 }, updated = { 0 };
  AdamCheck adam_check = { 0 };
  double loss_value, ref_loss, grad_scale = 0;
  guint n_vars, n_file_grads = 0;
  gint64 t0;

  if (!files_present ())
    return;
  net_build (&net);
  net_load_torchvision (&net);
  io = mien_safetensors_open (files.io_path, &error);
  g_assert_no_error (error);
  if (mien_safetensors_lookup (io, "loss") == NULL)
    g_error ("%s: %s has no training step (exported with --no-train?)", opt_case, files.io_path);
  g_assert_cmpfloat (g_ascii_strtod (metadata_string (io, "lr"), NULL), ==, 1e-3);
  g_assert_cmpfloat (g_ascii_strtod (metadata_string (io, "label_smoothing"), NULL), ==, 0.1);

  /* The head joins the store as trainable parameters under the file's names. */
  head_w_name = head_key (net.variant, "weight");
  head_b_name = head_key (net.variant, "bias");
  head_w = load_tensor (net.weights, head_w_name);
  head_b = load_tensor (net.weights, head_b_name);
  mien_tensor_set_requires_grad (head_w, TRUE);
  mien_tensor_set_requires_grad (head_b, TRUE);
  mien_var_store_add (net.vs, head_w_name, MIEN_VAR_PARAMETER, head_w, &error);
  g_assert_no_error (error);
  mien_var_store_add (net.vs, head_b_name, MIEN_VAR_PARAMETER, head_b, &error);
  g_assert_no_error (error);
  mien_var_store_set_trainable (net.vs, "", TRUE);
  g_assert_cmpint (mien_var_store_count_parameters (net.vs, TRUE), ==,
                   metadata_int (io, "n_params"));

  adam.lr = 1e-3;
  optimizer = mien_optimizer_new_adam (&adam, &error);
  g_assert_no_error (error);
  mien_var_store_add_to_optimizer (net.vs, optimizer, &error);
  g_assert_no_error (error);

  x = load_tensor (io, "input");
  targets = load_tensor (io, "targets");

  t0 = g_get_monotonic_time ();
  features = mien_backbone_forward (net.backbone, x, TRUE, &error);
  g_assert_no_error (error);
  logits = mien_tensor_linear (features, head_w, head_b, &error);
  g_assert_no_error (error);
  loss = mien_tensor_cross_entropy (logits, targets, NULL, 0.1, &error);
  g_assert_no_error (error);
  mien_tensor_backward (loss, &error);
  g_assert_no_error (error);
  g_test_message ("%s: training forward and backward in %.2f s", opt_case,
                  (g_get_monotonic_time () - t0) / 1e6);

  /* Train-mode outputs first: when gradients differ, these say whether the forward did. */
  ref = load_tensor (io, "train.features");
  check_close ("train-mode features", features, ref);
  g_clear_pointer (&ref, mien_tensor_free);
  ref = load_tensor (io, "train.logits");
  check_close ("train-mode logits", logits, ref);
  g_clear_pointer (&ref, mien_tensor_free);

  ref = load_tensor (io, "loss");
  mien_tensor_item (loss, &loss_value, &error);
  g_assert_no_error (error);
  mien_tensor_item (ref, &ref_loss, &error);
  g_assert_no_error (error);
  g_clear_pointer (&ref, mien_tensor_free);
  g_test_message ("%s: loss %.9g (torchvision %.9g), relative error %.3g", opt_case,
                  loss_value, ref_loss, fabs (loss_value - ref_loss) / fabs (ref_loss));
  g_assert_cmpfloat (fabs (loss_value - ref_loss), <=, REL_TOL * fabs (ref_loss));

  /* Gradients. Every parameter of the file has one, and so has every trainable one here. */
  for (guint i = 0; i < mien_safetensors_get_n_entries (io); i++)
    {
      const MienSafetensorsEntry *e = mien_safetensors_get_entry (io, i);

      if (g_str_has_prefix (e->name, "grad."))
        {
          const char *pname = e->name + strlen ("grad.");
          double norm = 0;
          g_autoptr(MienTensor) g = load_tensor (io, e->name);
          g_autoptr(MienTensor) n = mien_tensor_pow_scalar (g, 2, &error);
          g_autoptr(MienTensor) s = NULL;

          n_file_grads++;
          if (!mien_var_store_contains (net.vs, pname))
            g_error ("%s: torchvision parameter %s is not in the var store", opt_case, pname);
          g_assert_no_error (error);
          s = mien_tensor_sum (n, &error);
          g_assert_no_error (error);
          mien_tensor_item (s, &norm, &error);
          g_assert_no_error (error);
          grad_scale = MAX (grad_scale, sqrt (norm));
        }
    }
  g_assert_cmpuint (n_file_grads, ==, mien_optimizer_get_n_parameters (optimizer));

  n_vars = mien_var_store_get_n_vars (net.vs);
  for (guint i = 0; i < n_vars; i++)
    {
      const char *name = mien_var_store_get_name (net.vs, i);
      g_autofree char *key = NULL;
      g_autoptr(MienTensor) param = NULL;
      g_autoptr(MienTensor) grad = NULL;
      g_autoptr(MienTensor) ref_grad = NULL;
      Diff d;
      gboolean ok;

      if (mien_var_store_get_kind (net.vs, i) != MIEN_VAR_PARAMETER)
        continue;
      param = mien_var_store_get_nth (net.vs, i);
      grad = mien_tensor_grad (param);
      if (grad == NULL)
        g_error ("%s: %s got no gradient", opt_case, name);
      key = g_strconcat ("grad.", name, NULL);
      ref_grad = load_tensor (io, key);
      d = compare (key, grad, ref_grad);
      if (d.ref_norm < NEGLIGIBLE_GRAD * grad_scale)
        {
          /* Zero in exact arithmetic (a shift that the next batch norm removes, the key bias of
           * attention): both sides are rounding noise, which cannot be compared; Mien's must be
           * as negligible as torchvision's. */
          double norm = 0;
          g_autofree double *gm = NULL;
          gint64 n;

          gm = to_doubles (grad, &n);
          for (gint64 j = 0; j < n; j++)
            norm += gm[j] * gm[j];
          norm = sqrt (norm);
          ok = norm < NEGLIGIBLE_GRAD * grad_scale;
          grads.n_negligible++;
          grads.n_checked++;
          if (!ok)
            {
              grads.n_failed++;
              g_test_message ("%s: gradient %s is negligible in torchvision (norm %.3g) but not "
                              "in Mien (norm %.3g)", opt_case, name, d.ref_norm, norm);
            }
          continue;
        }
      ok = diff_ok (&d);
      summary_add (&grads, "gradient", name, &d, ok);
    }
  summary_report (&grads, "gradients");

  /* One Adam step, then every state_dict entry: parameters, running statistics, counters. */
  t0 = g_get_monotonic_time ();
  mien_optimizer_step (optimizer, &error);
  g_assert_no_error (error);
  g_test_message ("%s: Adam step in %.2f s", opt_case, (g_get_monotonic_time () - t0) / 1e6);
  for (guint i = 0; i < n_vars; i++)
    {
      const char *name = mien_var_store_get_name (net.vs, i);
      g_autofree char *key = g_strconcat ("updated.", name, NULL);
      g_autoptr(MienTensor) value = mien_var_store_get_nth (net.vs, i);
      g_autoptr(MienTensor) ref_value = load_tensor (io, key);
      Diff d;

      if (!mien_dtype_is_floating (mien_tensor_dtype (ref_value)))
        {
          /* num_batches_tracked */
          d = compare (key, value, ref_value);
          summary_add (&updated, "state entry", name, &d, d.max_abs == 0);
        }
      else if (mien_var_store_get_kind (net.vs, i) == MIEN_VAR_PARAMETER)
        {
          g_autoptr(MienTensor) original = load_tensor (net.weights, name);
          g_autoptr(MienTensor) grad = mien_tensor_grad (value);
          g_autofree char *grad_key = g_strconcat ("grad.", name, NULL);
          g_autoptr(MienTensor) ref_grad = load_tensor (io, grad_key);

          compare_adam_update (name, value, ref_value, original, grad, ref_grad, adam.lr,
                               adam.eps, &updated, &adam_check);
        }
      else
        {
          d = compare (key, value, ref_value);
          if (g_str_has_suffix (name, ".running_mean"))
            {
              /* A mean that is zero in exact arithmetic (the input of this batch norm is the
               * output of another, through a conv without bias) is rounding noise: judge means
               * against the spread of the data, sqrt (running_var). */
              g_autofree char *var_name = g_strdup (name);
              g_autofree char *var_key = NULL;
              g_autoptr(MienTensor) ref_var = NULL;
              g_autofree double *v = NULL;
              gint64 n;
              double spread = 0;

              strcpy (var_name + strlen (var_name) - strlen ("mean"), "var");
              var_key = g_strconcat ("updated.", var_name, NULL);
              ref_var = load_tensor (io, var_key);
              v = to_doubles (ref_var, &n);
              for (gint64 j = 0; j < n; j++)
                spread += v[j];
              spread = sqrt (spread);
              if (spread > d.ref_norm)
                {
                  d.rel = d.rel * d.ref_norm / spread;
                  d.ref_norm = spread;
                  d.ref_max = MAX (d.ref_max, sqrt (spread * spread / MAX (n, 1)));
                }
            }
          summary_add (&updated, "state entry", name, &d, diff_ok (&d));
        }
    }
  g_test_message ("%s: Adam step checked against Mien's own gradients on every element: worst "
                  "error %.3g of lr (%s)", opt_case, adam_check.worst / adam.lr,
                  adam_check.worst_name ? adam_check.worst_name : "-");
  g_test_message ("%s: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " updated parameter "
                  "elements left out of the comparison with torchvision: their gradient is "
                  "within 10x the gradient discrepancy of 0, so Adam's first step (lr sign (g)) "
                  "has an undetermined sign", opt_case, adam_check.n_undetermined,
                  adam_check.n_elements);
  if (adam_check.n_failed > 0)
    g_test_fail_printf ("%s: %u parameters were not updated as Adam would from Mien's own "
                        "gradients (worst %s: %.3g of lr)", opt_case, adam_check.n_failed,
                        adam_check.worst_name, adam_check.worst / adam.lr);
  summary_report (&updated, "updated state_dict entries");
}

static void
test_timm (void)
{
  g_auto(Net) tv = { 0 };
  g_auto(Net) timm = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(MienSafetensors) io = NULL;
  g_autoptr(MienTensor) x = NULL;
  g_autoptr(MienTensor) a = NULL;
  g_autoptr(MienTensor) b = NULL;
  g_autoptr(MienTensor) ref = NULL;
  g_autoptr(MienNoGradGuard) guard = NULL;
  Diff d;

  if (!files_present ())
    return;
  if (!g_file_test (files.timm_path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *msg = g_strdup_printf ("%s is absent", files.timm_path);

      g_test_skip (msg);
      return;
    }
  net_build (&tv);
  net_load_torchvision (&tv);
  net_build (&timm);
  net_load (&timm, files.timm_path, TRUE, "head.weight", "head.bias");

  io = mien_safetensors_open (files.io_path, &error);
  g_assert_no_error (error);
  x = load_tensor (io, "input");
  ref = load_tensor (io, "features");
  guard = mien_no_grad_guard_new ();
  a = mien_backbone_forward (timm.backbone, x, FALSE, &error);
  g_assert_no_error (error);
  b = mien_backbone_forward (tv.backbone, x, FALSE, &error);
  g_assert_no_error (error);

  d = compare ("features (timm names vs torchvision names)", a, b);
  g_test_message ("%s: timm-named weights: features differ from torchvision-named ones by %.3g "
                  "(max abs %.3g)", opt_case, d.rel, d.max_abs);
  g_assert_cmpfloat (d.rel, <=, 1e-6);
  check_close ("features (timm names)", a, ref);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_STRING, &opt_case,
      "Case: base name of the exported files", "CASE" },
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir,
      "Folder holding CASE.safetensors and CASE-io.safetensors", "DIR" },
    { "eval-only", 0, 0, G_OPTION_ARG_NONE, &opt_eval_only,
      "The case has no training step", NULL },
    { NULL }
  };

  g_test_init (&argc, &argv, NULL);
  context = g_option_context_new ("- parity of a Mien backbone with torchvision");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (opt_case == NULL)
    {
      g_printerr ("--model CASE is required\n");
      return 2;
    }
  if (opt_dir == NULL)
    opt_dir = g_strdup (g_getenv ("G_TEST_BUILDDIR") ? g_getenv ("G_TEST_BUILDDIR") : ".");

  mien_init ();

  files.model_path = g_strdup_printf ("%s/%s.safetensors", opt_dir, opt_case);
  files.io_path = g_strdup_printf ("%s/%s-io.safetensors", opt_dir, opt_case);
  files.timm_path = g_strdup_printf ("%s/%s-timm.safetensors", opt_dir, opt_case);

  path = g_strdup_printf ("/parity/%s/load", opt_case);
  g_test_add_func (path, test_load);
  g_free (path);
  path = g_strdup_printf ("/parity/%s/forward", opt_case);
  g_test_add_func (path, test_forward);
  if (!opt_eval_only)
    {
      g_free (path);
      path = g_strdup_printf ("/parity/%s/train", opt_case);
      g_test_add_func (path, test_train);
    }
  if (g_str_has_prefix (opt_case, "vit_ti"))
    {
      g_free (path);
      path = g_strdup_printf ("/parity/%s/timm", opt_case);
      g_test_add_func (path, test_timm);
    }

  return g_test_run ();
}
