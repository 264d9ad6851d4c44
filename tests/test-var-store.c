/* test-var-store.c — the var store: naming, trainability, copies, conversions, loading and
 * saving safetensors. Runs on the CPU; the CUDA checks branch on mien_torch_cuda_is_available ().
 */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "mien-var-store.h"
#include "mien-test-util.h"

/* ---- Helpers ----------------------------------------------------------------------------- */

typedef MienTestScratch Fixture;

static void
assert_same_values (MienTensor *a,
                    MienTensor *b)
{
  g_autofree double *va = NULL;
  g_autofree double *vb = NULL;
  gsize na, nb;

  va = mien_test_values_of (a, &na);
  vb = mien_test_values_of (b, &nb);
  g_assert_cmpuint (na, ==, nb);
  for (gsize i = 0; i < na; i++)
    g_assert_cmpfloat (va[i], ==, vb[i]);
}

static void
assert_all (MienTensor *t,
            double      expected)
{
  g_autofree double *v = NULL;
  gsize n;

  v = mien_test_values_of (t, &n);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (v[i], ==, expected);
}

static void
fill (MienTensor *t,
      double      value)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (mien_tensor_fill_ (t, value, &error));
  g_assert_no_error (error);
}

static MienTensor *
add_parameter (MienVarStore *vs,
               const char   *name,
               gint64        d0,
               gint64        d1)
{
  static const MienInit normal = { MIEN_INIT_NORMAL, 0.0, 1.0 };
  g_autoptr(GError) error = NULL;
  gint64 shape[2] = { d0, d1 };
  MienTensor *t;

  t = mien_var_store_new_parameter (vs, name, shape, d1 > 0 ? 2 : 1, &normal, &error);
  g_assert_no_error (error);
  g_assert_nonnull (t);
  return t;
}

static void
add_parameter_ (MienVarStore *vs,
                const char   *name,
                gint64        d0,
                gint64        d1)
{
  g_autoptr(MienTensor) t = add_parameter (vs, name, d0, d1);
}

/* ---- Tests ------------------------------------------------------------------------------- */

static void
test_new_and_order (void)
{
  static const MienInit kaiming = { MIEN_INIT_KAIMING_UNIFORM, 0, 0 };
  static const MienInit fan_in = { MIEN_INIT_FAN_IN_UNIFORM, 4, 0 };
  static const MienInit ones = { MIEN_INIT_ONES, 0, 0 };
  static const MienInit constant = { MIEN_INIT_CONSTANT, 2.5, 0 };
  static const MienInit trunc = { MIEN_INIT_TRUNC_NORMAL, 0.1, 0 };
  static const MienInit uniform = { MIEN_INIT_UNIFORM, 3.0, 4.0 };
  const gint64 w_shape[] = { 8, 4 };
  const gint64 b_shape[] = { 8 };
  const gint64 big_shape[] = { 1000 };
  g_autoptr(MienVarStore) vs = mien_var_store_new (mien_device_cpu ());
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) w = NULL;
  g_autoptr(MienTensor) b = NULL;
  g_autoptr(MienTensor) rv = NULL;
  g_autoptr(MienTensor) nbt = NULL;
  g_autoptr(MienTensor) c = NULL;
  g_autoptr(MienTensor) tn = NULL;
  g_autoptr(MienTensor) u = NULL;
  g_autoptr(MienTensor) again = NULL;
  g_autofree double *values = NULL;
  const char *expected_names[] = { "fc.weight", "fc.bias", "bn.running_var",
                                   "bn.num_batches_tracked", "c", "tn", "u" };
  gsize n;

  w = mien_var_store_new_parameter (vs, "fc.weight", w_shape, 2, &kaiming, &error);
  g_assert_no_error (error);
  b = mien_var_store_new_parameter (vs, "fc.bias", b_shape, 1, &fan_in, &error);
  g_assert_no_error (error);
  rv = mien_var_store_new_buffer (vs, "bn.running_var", b_shape, 1, MIEN_DTYPE_FLOAT32, &ones,
                                  &error);
  g_assert_no_error (error);
  /* NULL init: zeros. */
  nbt = mien_var_store_new_buffer (vs, "bn.num_batches_tracked", NULL, 0, MIEN_DTYPE_INT64,
                                   NULL, &error);
  g_assert_no_error (error);
  c = mien_var_store_new_parameter (vs, "c", b_shape, 1, &constant, &error);
  g_assert_no_error (error);
  tn = mien_var_store_new_parameter (vs, "tn", big_shape, 1, &trunc, &error);
  g_assert_no_error (error);
  u = mien_var_store_new_parameter (vs, "u", big_shape, 1, &uniform, &error);
  g_assert_no_error (error);

  g_assert_true (mien_device_equal (mien_var_store_get_device (vs), mien_device_cpu ()));
  g_assert_cmpuint (mien_var_store_get_n_vars (vs), ==, G_N_ELEMENTS (expected_names));
  for (guint i = 0; i < G_N_ELEMENTS (expected_names); i++)
    {
      g_autoptr(MienTensor) nth = mien_var_store_get_nth (vs, i);

      g_assert_cmpstr (mien_var_store_get_name (vs, i), ==, expected_names[i]);
      g_assert_nonnull (nth);
      g_assert_true (mien_var_store_contains (vs, expected_names[i]));
    }
  g_assert_null (mien_var_store_get_nth (vs, G_N_ELEMENTS (expected_names)));
  g_assert_null (mien_var_store_get (vs, "fc"));
  g_assert_false (mien_var_store_contains (vs, "fc"));

  g_assert_cmpint (mien_var_store_get_kind (vs, 0), ==, MIEN_VAR_PARAMETER);
  g_assert_cmpint (mien_var_store_get_kind (vs, 2), ==, MIEN_VAR_BUFFER);
  g_assert_cmpint (mien_var_store_get_kind (vs, 3), ==, MIEN_VAR_BUFFER);

  /* Parameters are float32 and require grad; buffers never do. */
  g_assert_cmpint (mien_tensor_dtype (w), ==, MIEN_DTYPE_FLOAT32);
  g_assert_true (mien_tensor_requires_grad (w));
  g_assert_true (mien_tensor_requires_grad (b));
  g_assert_false (mien_tensor_requires_grad (rv));
  g_assert_cmpint (mien_tensor_dtype (nbt), ==, MIEN_DTYPE_INT64);
  g_assert_cmpint (mien_tensor_ndim (nbt), ==, 0);
  g_assert_false (mien_tensor_requires_grad (nbt));
  g_assert_true (mien_var_store_is_trainable (vs, "fc.weight"));
  g_assert_false (mien_var_store_is_trainable (vs, "bn.running_var"));
  g_assert_false (mien_var_store_is_trainable (vs, "nothing"));

  /* kaiming_uniform_ (a = sqrt 5) on fan-in 4: bound = sqrt (6 / ((1 + 5) * 4)) = 0.5. */
  values = mien_test_values_of (w, &n);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (fabs (values[i]), <=, 0.5);
  g_clear_pointer (&values, g_free);
  /* Fan-in 4: U(-1/2, 1/2). */
  values = mien_test_values_of (b, &n);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (fabs (values[i]), <=, 0.5);
  g_clear_pointer (&values, g_free);
  assert_all (rv, 1.0);
  assert_all (nbt, 0.0);
  assert_all (c, 2.5);
  values = mien_test_values_of (tn, &n);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (fabs (values[i]), <=, 0.2 + 1e-6);
  g_clear_pointer (&values, g_free);
  values = mien_test_values_of (u, &n);
  for (gsize i = 0; i < n; i++)
    g_assert_true (values[i] >= 3.0 && values[i] < 4.0);

  /* The handles alias the store's tensors. */
  again = mien_var_store_get (vs, "fc.weight");
  fill (again, 7.0);
  assert_all (w, 7.0);
}

static void
test_duplicate (void)
{
  g_autoptr(MienVarStore) vs = mien_var_store_new (mien_device_cpu ());
  g_autoptr(MienTensor) w = add_parameter (vs, "w", 2, 0);
  g_autoptr(MienTensor) dup = NULL;
  g_autoptr(MienTensor) ext = NULL;
  g_autoptr(MienTensor) grad = NULL;
  g_autoptr(GError) error = NULL;
  const gint64 shape[] = { 2 };

  dup = mien_var_store_new_parameter (vs, "w", shape, 1, NULL, &error);
  g_assert_error (error, MIEN_VAR_STORE_ERROR, MIEN_VAR_STORE_ERROR_DUPLICATE);
  g_assert_null (dup);
  g_assert_nonnull (strstr (error->message, "“w”"));
  g_clear_error (&error);

  dup = mien_var_store_new_buffer (vs, "w", shape, 1, MIEN_DTYPE_FLOAT32, NULL, &error);
  g_assert_error (error, MIEN_VAR_STORE_ERROR, MIEN_VAR_STORE_ERROR_DUPLICATE);
  g_clear_error (&error);

  ext = mien_tensor_new_zeros (shape, 1, MIEN_DTYPE_FLOAT32, mien_device_cpu (), &error);
  g_assert_no_error (error);
  g_assert_false (mien_var_store_add (vs, "w", MIEN_VAR_PARAMETER, ext, &error));
  g_assert_error (error, MIEN_VAR_STORE_ERROR, MIEN_VAR_STORE_ERROR_DUPLICATE);
  g_clear_error (&error);
  g_assert_cmpuint (mien_var_store_get_n_vars (vs), ==, 1);

  /* A failed creation registers nothing. */
  {
    const gint64 negative[] = { -3 };

    dup = mien_var_store_new_parameter (vs, "neg", negative, 1, NULL, &error);
    g_assert_null (dup);
    g_assert_nonnull (error);
    g_clear_error (&error);
    g_assert_false (mien_var_store_contains (vs, "neg"));
  }

  /* add () keeps an alias; a parameter becomes trainable, a buffer must not require grad. */
  g_assert_true (mien_var_store_add (vs, "ext", MIEN_VAR_PARAMETER, ext, &error));
  g_assert_no_error (error);
  g_assert_true (mien_tensor_requires_grad (ext));
  fill (ext, 3.0);
  {
    g_autoptr(MienTensor) got = mien_var_store_get (vs, "ext");
    assert_all (got, 3.0);
  }

  grad = mien_tensor_new_zeros (shape, 1, MIEN_DTYPE_FLOAT32, mien_device_cpu (), &error);
  g_assert_no_error (error);
  mien_tensor_set_requires_grad (grad, TRUE);
  g_assert_false (mien_var_store_add (vs, "buf", MIEN_VAR_BUFFER, grad, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpuint (mien_var_store_get_n_vars (vs), ==, 2);
}

static void
test_count_and_trainable (void)
{
  g_autoptr(MienVarStore) vs = mien_var_store_new (mien_device_cpu ());
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) l1w = NULL;
  g_autoptr(MienTensor) buf = NULL;
  const gint64 buf_shape[] = { 100 };

  l1w = add_parameter (vs, "layer1.0.weight", 2, 5);    /* 10 */
  add_parameter_ (vs, "layer1.0.bias", 2, 0);           /* 2 */
  add_parameter_ (vs, "layer10.weight", 5, 0);          /* 5 */
  add_parameter_ (vs, "layer1", 1, 0);                  /* 1: the prefix itself */
  add_parameter_ (vs, "fc.weight", 3, 0);               /* 3 */
  buf = mien_var_store_new_buffer (vs, "layer1.bn.running_mean", buf_shape, 1,
                                   MIEN_DTYPE_FLOAT32, NULL, &error);
  g_assert_no_error (error);

  /* Buffers never count. */
  g_assert_cmpint (mien_var_store_count_parameters (vs, FALSE), ==, 21);
  g_assert_cmpint (mien_var_store_count_parameters (vs, TRUE), ==, 21);

  /* "layer1" selects layer1 and layer1.*, not layer10.*; buffers are not parameters. */
  g_assert_cmpuint (mien_var_store_set_trainable (vs, "layer1", FALSE), ==, 3);
  g_assert_cmpint (mien_var_store_count_parameters (vs, FALSE), ==, 21);
  g_assert_cmpint (mien_var_store_count_parameters (vs, TRUE), ==, 8);
  g_assert_false (mien_var_store_is_trainable (vs, "layer1.0.weight"));
  g_assert_false (mien_var_store_is_trainable (vs, "layer1"));
  g_assert_true (mien_var_store_is_trainable (vs, "layer10.weight"));
  g_assert_false (mien_tensor_requires_grad (l1w));
  g_assert_false (mien_tensor_requires_grad (buf));

  /* Nothing to change the second time. */
  g_assert_cmpuint (mien_var_store_set_trainable (vs, "layer1", FALSE), ==, 0);
  /* No dotted ancestor called "layer". */
  g_assert_cmpuint (mien_var_store_set_trainable (vs, "layer", FALSE), ==, 0);
  /* A prefix ending in "." is taken as it is. */
  g_assert_cmpuint (mien_var_store_set_trainable (vs, "layer1.", TRUE), ==, 2);
  g_assert_true (mien_tensor_requires_grad (l1w));
  g_assert_false (mien_var_store_is_trainable (vs, "layer1"));

  /* "" selects everything. */
  g_assert_cmpuint (mien_var_store_set_trainable (vs, "", FALSE), ==, 4);
  g_assert_cmpint (mien_var_store_count_parameters (vs, TRUE), ==, 0);
  g_assert_cmpuint (mien_var_store_set_trainable (vs, "", TRUE), ==, 5);
  g_assert_cmpint (mien_var_store_count_parameters (vs, TRUE), ==, 21);
}

static void
test_copy_from (void)
{
  g_autoptr(MienVarStore) a = mien_var_store_new (mien_device_cpu ());
  g_autoptr(MienVarStore) b = mien_var_store_new (mien_device_cpu ());
  g_autoptr(MienVarStore) other_shape = mien_var_store_new (mien_device_cpu ());
  g_autoptr(MienVarStore) more = mien_var_store_new (mien_device_cpu ());
  g_autoptr(MienTensor) aw = add_parameter (a, "w", 3, 4);
  g_autoptr(MienTensor) ab = add_parameter (a, "b", 3, 0);
  g_autoptr(MienTensor) bw = add_parameter (b, "w", 3, 4);
  g_autoptr(MienTensor) bb = add_parameter (b, "b", 3, 0);
  g_autoptr(GError) error = NULL;

  add_parameter_ (other_shape, "w", 4, 3);
  add_parameter_ (other_shape, "b", 3, 0);
  add_parameter_ (more, "w", 3, 4);
  add_parameter_ (more, "b", 3, 0);
  add_parameter_ (more, "extra", 1, 0);

  fill (bw, 0.0);
  fill (bb, 0.0);
  g_assert_true (mien_var_store_copy_from (b, a, &error));
  g_assert_no_error (error);
  assert_same_values (aw, bw);
  assert_same_values (ab, bb);

  /* Independent afterwards. */
  fill (aw, 5.0);
  assert_all (aw, 5.0);
  {
    g_autofree double *v = mien_test_values_of (bw, NULL);
    g_assert_cmpfloat (v[0], !=, 5.0);
  }
  fill (bb, -1.0);
  assert_all (bb, -1.0);
  {
    g_autofree double *v = mien_test_values_of (ab, NULL);
    g_assert_cmpfloat (v[0], !=, -1.0);
  }

  /* Different layouts: refused with the first difference named, nothing copied. */
  fill (bw, 9.0);
  g_assert_false (mien_var_store_copy_from (b, other_shape, &error));
  g_assert_error (error, MIEN_VAR_STORE_ERROR, MIEN_VAR_STORE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "“w”"));
  g_assert_nonnull (strstr (error->message, "[4, 3]"));
  g_assert_nonnull (strstr (error->message, "[3, 4]"));
  g_clear_error (&error);
  assert_all (bw, 9.0);

  g_assert_false (mien_var_store_copy_from (b, more, &error));
  g_assert_error (error, MIEN_VAR_STORE_ERROR, MIEN_VAR_STORE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "extra"));
  g_clear_error (&error);
  assert_all (bw, 9.0);

  g_assert_false (mien_var_store_copy_from (more, b, &error));
  g_assert_error (error, MIEN_VAR_STORE_ERROR, MIEN_VAR_STORE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "extra"));
  g_clear_error (&error);
}

/* A small network: two parameters, a float buffer and an integer one. */
static MienVarStore *
make_net (gboolean fill_values)
{
  MienVarStore *vs = mien_var_store_new (mien_device_cpu ());
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) w = add_parameter (vs, "conv.weight", 4, 3);
  g_autoptr(MienTensor) b = add_parameter (vs, "conv.bias", 4, 0);
  g_autoptr(MienTensor) rm = NULL;
  g_autoptr(MienTensor) nbt = NULL;
  const gint64 shape[] = { 4 };

  rm = mien_var_store_new_buffer (vs, "bn.running_mean", shape, 1, MIEN_DTYPE_FLOAT32, NULL,
                                  &error);
  g_assert_no_error (error);
  nbt = mien_var_store_new_buffer (vs, "bn.num_batches_tracked", NULL, 0, MIEN_DTYPE_INT64,
                                   NULL, &error);
  g_assert_no_error (error);

  if (fill_values)
    {
      fill (rm, 0.25);
      fill (nbt, 42);
    }
  else
    {
      fill (w, 0);
      fill (b, 0);
    }
  return vs;
}

static void
test_save_load (Fixture       *f,
                gconstpointer  unused)
{
  g_autoptr(MienVarStore) src = make_net (TRUE);
  g_autoptr(MienVarStore) dst = make_net (FALSE);
  g_autoptr(MienLoadReport) report = NULL;
  g_autoptr(GHashTable) metadata = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienSafetensors) st = NULL;
  g_autofree char *path = g_build_filename (f->dir, "net.safetensors", NULL);
  g_autofree char *summary = NULL;

  g_hash_table_insert (metadata, "mien", "{\"backbone\": \"toy\"}");
  g_assert_true (mien_var_store_save (src, path, NULL, metadata, &error));
  g_assert_no_error (error);

  /* A state_dict as PyTorch writes it: the store's names, order and dtypes. */
  st = mien_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mien_safetensors_get_n_entries (st), ==, 4);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpstr (mien_safetensors_get_entry (st, i)->name, ==,
                     mien_var_store_get_name (src, i));
  g_assert_cmpint (mien_safetensors_lookup (st, "bn.num_batches_tracked")->dtype, ==,
                   MIEN_DTYPE_INT64);
  g_assert_cmpint (mien_safetensors_lookup (st, "bn.num_batches_tracked")->ndim, ==, 0);

  g_assert_true (mien_var_store_load (dst, path, NULL, &report, &error));
  g_assert_no_error (error);
  g_assert_nonnull (report);
  g_assert_cmpuint (report->n_loaded, ==, 4);
  g_assert_cmpuint (report->missing->len, ==, 0);
  g_assert_cmpuint (report->unexpected->len, ==, 0);
  g_assert_cmpuint (report->mismatched->len, ==, 0);
  g_assert_cmpstr (g_hash_table_lookup (report->metadata, "mien"), ==,
                   "{\"backbone\": \"toy\"}");
  summary = mien_load_report_to_string (report);
  g_assert_cmpstr (summary, ==, "loaded 4 tensors; 0 missing; 0 unexpected; 0 shape mismatches");

  for (guint i = 0; i < mien_var_store_get_n_vars (src); i++)
    {
      g_autoptr(MienTensor) a = mien_var_store_get_nth (src, i);
      g_autoptr(MienTensor) b = mien_var_store_get_nth (dst, i);

      assert_same_values (a, b);
      g_assert_cmpint (mien_tensor_dtype (a), ==, mien_tensor_dtype (b));
    }
  /* Loading keeps the identity of the tensors: still parameters that require grad. */
  {
    g_autoptr(MienTensor) w = mien_var_store_get (dst, "conv.weight");
    g_assert_true (mien_tensor_requires_grad (w));
  }

  /* A prefix on save, removed again on load. */
  {
    g_autoptr(MienVarStore) dst2 = make_net (FALSE);
    g_autoptr(MienLoadReport) report2 = NULL;
    g_autofree char *path2 = g_build_filename (f->dir, "prefixed.safetensors", NULL);
    MienLoadOptions options = { "model.", NULL, NULL, NULL, MIEN_LOAD_STRICT };
    g_autoptr(MienTensor) a = mien_var_store_get (src, "conv.bias");
    g_autoptr(MienTensor) b = mien_var_store_get (dst2, "conv.bias");

    g_assert_true (mien_var_store_save (src, path2, "model.", NULL, &error));
    g_assert_no_error (error);
    g_assert_true (mien_var_store_load (dst2, path2, &options, &report2, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (report2->n_loaded, ==, 4);
    assert_same_values (a, b);
  }

  /* A missing file is an error, not a crash. */
  {
    g_autofree char *nowhere = g_build_filename (f->dir, "nowhere.safetensors", NULL);

    g_assert_false (mien_var_store_load (dst, nowhere, NULL, NULL, &error));
    g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_IO);
    g_clear_error (&error);
  }
}

/* A file with "conv.weight" of the wrong shape, no "conv.bias", and an extra key. */
static char *
write_mismatched_file (const char *dir)
{
  static const float w[6] = { 1, 2, 3, 4, 5, 6 };
  static const float rm[4] = { 1, 2, 3, 4 };
  static const gint64 nbt = 7;
  static const float extra[2] = { 0, 0 };
  static const gint64 w_shape[] = { 3, 2 };
  static const gint64 rm_shape[] = { 4 };
  static const gint64 extra_shape[] = { 2 };
  const MienSafetensorsEntry entries[] = {
    { "conv.weight", MIEN_DTYPE_FLOAT32, 2, w_shape, (const guint8 *) w, sizeof w },
    { "bn.running_mean", MIEN_DTYPE_FLOAT32, 1, rm_shape, (const guint8 *) rm, sizeof rm },
    { "bn.num_batches_tracked", MIEN_DTYPE_INT64, 0, NULL, (const guint8 *) &nbt,
      sizeof nbt },
    { "fc.weight", MIEN_DTYPE_FLOAT32, 1, extra_shape, (const guint8 *) extra, sizeof extra },
  };
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, "mismatched.safetensors", NULL);

  g_assert_true (mien_safetensors_write (path, NULL, entries, G_N_ELEMENTS (entries), NULL,
                                         NULL, &error));
  g_assert_no_error (error);
  return path;
}

static void
test_load_tolerant (Fixture       *f,
                    gconstpointer  unused)
{
  g_autoptr(MienVarStore) vs = make_net (FALSE);
  g_autoptr(MienLoadReport) report = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) rm = mien_var_store_get (vs, "bn.running_mean");
  g_autoptr(MienTensor) nbt = mien_var_store_get (vs, "bn.num_batches_tracked");
  g_autoptr(MienTensor) w = mien_var_store_get (vs, "conv.weight");
  g_autofree char *path = write_mismatched_file (f->dir);
  g_autofree char *summary = NULL;
  g_autofree double *rm_values = NULL;

  g_assert_true (mien_var_store_load (vs, path, NULL, &report, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (report->n_loaded, ==, 2);
  g_assert_cmpuint (report->missing->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (report->missing, 0), ==, "conv.bias");
  g_assert_cmpuint (report->unexpected->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (report->unexpected, 0), ==, "fc.weight");
  g_assert_cmpuint (report->mismatched->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (report->mismatched, 0), ==,
                   "conv.weight: file [3, 2] vs model [4, 3]");

  summary = mien_load_report_to_string (report);
  g_assert_cmpstr (summary, ==,
                   "loaded 2 tensors; 1 missing (conv.bias); 1 unexpected (fc.weight); "
                   "1 shape mismatch (conv.weight: file [3, 2] vs model [4, 3])");

  /* What matched is loaded, with the file's values; the rest is as it was. */
  rm_values = mien_test_values_of (rm, NULL);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (rm_values[i], ==, i + 1);
  assert_all (nbt, 7.0);
  assert_all (w, 0.0);

  /* report may be NULL. */
  g_assert_true (mien_var_store_load (vs, path, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
test_load_strict (Fixture       *f,
                  gconstpointer  unused)
{
  g_autoptr(MienVarStore) vs = make_net (FALSE);
  g_autoptr(MienLoadReport) report = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) rm = mien_var_store_get (vs, "bn.running_mean");
  g_autoptr(MienTensor) nbt = mien_var_store_get (vs, "bn.num_batches_tracked");
  g_autofree char *path = write_mismatched_file (f->dir);
  MienLoadOptions options = { NULL, NULL, NULL, NULL, MIEN_LOAD_STRICT };

  g_assert_false (mien_var_store_load (vs, path, &options, &report, &error));
  g_assert_error (error, MIEN_VAR_STORE_ERROR, MIEN_VAR_STORE_ERROR_MISMATCH);
  g_assert_null (report);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "mismatched.safetensors"));
  g_assert_nonnull (strstr (error->message, "conv.bias"));
  g_assert_nonnull (strstr (error->message, "fc.weight"));
  g_assert_nonnull (strstr (error->message, "conv.weight: file [3, 2] vs model [4, 3]"));

  /* Nothing loaded, not even what matched. */
  assert_all (rm, 0.0);
  assert_all (nbt, 0.0);
}

static char *
map_timm_like (const char *key,
               gpointer    user_data)
{
  guint *n_calls = user_data;

  (*n_calls)++;
  if (g_str_equal (key, "head.weight"))
    return g_strdup ("fc.weight");
  return NULL;
}

static void
test_load_prefixes (Fixture       *f,
                    gconstpointer  unused)
{
  static const float x[2] = { 1, 2 };
  static const float hw[3] = { 3, 4, 5 };
  static const float other[1] = { 9 };
  static const gint64 x_shape[] = { 2 };
  static const gint64 hw_shape[] = { 3 };
  static const gint64 other_shape[] = { 1 };
  const MienSafetensorsEntry entries[] = {
    { "module.x", MIEN_DTYPE_FLOAT32, 1, x_shape, (const guint8 *) x, sizeof x },
    { "module.head.weight", MIEN_DTYPE_FLOAT32, 1, hw_shape, (const guint8 *) hw, sizeof hw },
    { "optimizer.state", MIEN_DTYPE_FLOAT32, 1, other_shape, (const guint8 *) other,
      sizeof other },
  };
  g_autofree char *path = g_build_filename (f->dir, "prefixed.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienVarStore) vs = mien_var_store_new (mien_device_cpu ());
  g_autoptr(MienTensor) gt_x = add_parameter (vs, "g_t.x", 2, 0);
  g_autoptr(MienTensor) gt_fc = add_parameter (vs, "g_t.fc.weight", 3, 0);
  g_autoptr(MienTensor) gf_x = add_parameter (vs, "g_f.x", 2, 0);
  g_autoptr(MienLoadReport) report = NULL;
  guint n_calls = 0;
  MienLoadOptions options = { "module.", "g_t.", map_timm_like, &n_calls, MIEN_LOAD_STRICT };
  g_autofree double *values = NULL;

  fill (gf_x, -1.0);
  g_assert_true (mien_safetensors_write (path, NULL, entries, G_N_ELEMENTS (entries), NULL,
                                         NULL, &error));
  g_assert_no_error (error);

  /* "optimizer.state" lacks the file prefix: ignored, not unexpected. "g_f.x" lies outside the
   * store prefix: not missing. So even strict mode is content. */
  g_assert_true (mien_var_store_load (vs, path, &options, &report, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (report->n_loaded, ==, 2);
  g_assert_cmpuint (report->missing->len, ==, 0);
  g_assert_cmpuint (report->unexpected->len, ==, 0);
  /* Called with the key after the file prefix, once per key carrying it. */
  g_assert_cmpuint (n_calls, ==, 2);

  values = mien_test_values_of (gt_x, NULL);
  g_assert_cmpfloat (values[0], ==, 1.0);
  g_assert_cmpfloat (values[1], ==, 2.0);
  g_clear_pointer (&values, g_free);
  values = mien_test_values_of (gt_fc, NULL);
  g_assert_cmpfloat (values[2], ==, 5.0);
  assert_all (gf_x, -1.0);

  /* Without the mapping, head.weight is unexpected (as written in the file) and fc.weight
   * missing (as named in the store). */
  {
    g_autoptr(MienLoadReport) report2 = NULL;
    MienLoadOptions plain = { "module.", "g_t.", NULL, NULL, MIEN_LOAD_TOLERANT };

    g_assert_true (mien_var_store_load (vs, path, &plain, &report2, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (report2->n_loaded, ==, 1);
    g_assert_cmpuint (report2->unexpected->len, ==, 1);
    g_assert_cmpstr (g_ptr_array_index (report2->unexpected, 0), ==, "module.head.weight");
    g_assert_cmpuint (report2->missing->len, ==, 1);
    g_assert_cmpstr (g_ptr_array_index (report2->missing, 0), ==, "g_t.fc.weight");
  }

  /* No options: every key as it is. */
  {
    g_autoptr(MienLoadReport) report3 = NULL;

    g_assert_true (mien_var_store_load (vs, path, NULL, &report3, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (report3->n_loaded, ==, 0);
    g_assert_cmpuint (report3->unexpected->len, ==, 3);
    g_assert_cmpuint (report3->missing->len, ==, 3);
  }
}

static void
test_report_string (void)
{
  g_autoptr(MienLoadReport) report = g_new0 (MienLoadReport, 1);
  g_autofree char *s = NULL;

  report->missing = g_ptr_array_new_with_free_func (g_free);
  report->unexpected = g_ptr_array_new_with_free_func (g_free);
  report->mismatched = g_ptr_array_new_with_free_func (g_free);
  report->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  report->n_loaded = 1;
  for (guint i = 0; i < 8; i++)
    g_ptr_array_add (report->missing, g_strdup_printf ("m%u", i));
  for (guint i = 0; i < 6; i++)
    g_ptr_array_add (report->unexpected, g_strdup_printf ("u%u", i));
  g_ptr_array_add (report->mismatched, g_strdup ("a: file [1] vs model [2]"));
  g_ptr_array_add (report->mismatched, g_strdup ("b: file [] vs model [1, 1]"));

  s = mien_load_report_to_string (report);
  g_assert_cmpstr (s, ==,
                   "loaded 1 tensor; 8 missing (m0, m1, m2, m3, m4 and 3 more); "
                   "6 unexpected (u0, u1, u2, u3, u4 and 1 more); "
                   "2 shape mismatches (a: file [1] vs model [2], b: file [] vs model [1, 1])");
}

static void
test_to_dtype (void)
{
  g_autoptr(MienVarStore) vs = make_net (TRUE);
  g_autoptr(MienTensor) w = mien_var_store_get (vs, "conv.weight");
  g_autoptr(MienTensor) rm = mien_var_store_get (vs, "bn.running_mean");
  g_autoptr(MienTensor) nbt = mien_var_store_get (vs, "bn.num_batches_tracked");
  g_autoptr(MienTensor) before = NULL;
  g_autoptr(GError) error = NULL;

  fill (w, 1.5);  /* exact in bfloat16 */
  g_assert_true (mien_var_store_to_dtype (vs, MIEN_DTYPE_BFLOAT16, &error));
  g_assert_no_error (error);

  /* Handles taken before see the new dtype: the identity is kept. */
  g_assert_cmpint (mien_tensor_dtype (w), ==, MIEN_DTYPE_BFLOAT16);
  g_assert_cmpint (mien_tensor_dtype (rm), ==, MIEN_DTYPE_BFLOAT16);
  g_assert_cmpint (mien_tensor_dtype (nbt), ==, MIEN_DTYPE_INT64);
  g_assert_true (mien_tensor_requires_grad (w));
  assert_all (w, 1.5);
  assert_all (rm, 0.25);
  assert_all (nbt, 42.0);
  g_assert_cmpint (mien_var_store_count_parameters (vs, TRUE), ==, 16);

  /* Writes through an old handle land in the store. */
  fill (w, 2.0);
  before = mien_var_store_get (vs, "conv.weight");
  assert_all (before, 2.0);

  g_assert_true (mien_var_store_to_dtype (vs, MIEN_DTYPE_FLOAT32, &error));
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_dtype (before), ==, MIEN_DTYPE_FLOAT32);

  g_assert_false (mien_var_store_to_dtype (vs, MIEN_DTYPE_INT32, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpint (mien_tensor_dtype (w), ==, MIEN_DTYPE_FLOAT32);
}

static void
test_meta (Fixture       *f,
           gconstpointer  unused)
{
  MienDevice meta = { MIEN_DEVICE_META, 0 };
  g_autoptr(MienVarStore) vs = mien_var_store_new (meta);
  g_autoptr(MienTensor) big = NULL;
  g_autoptr(MienTensor) buf = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (f->dir, "meta.safetensors", NULL);
  static const MienInit kaiming = { MIEN_INIT_KAIMING_UNIFORM, 0, 0 };
  /* 64 GB as float32: only the meta device can hold it here. */
  const gint64 shape[] = { 1 << 17, 1 << 17 };
  const gint64 buf_shape[] = { 1 << 20 };

  big = mien_var_store_new_parameter (vs, "huge.weight", shape, 2, &kaiming, &error);
  g_assert_no_error (error);
  buf = mien_var_store_new_buffer (vs, "huge.running_mean", buf_shape, 1, MIEN_DTYPE_FLOAT32,
                                   NULL, &error);
  g_assert_no_error (error);

  g_assert_cmpint (mien_tensor_device (big).type, ==, MIEN_DEVICE_META);
  g_assert_cmpint (mien_var_store_count_parameters (vs, FALSE), ==, (gint64) 1 << 34);
  g_assert_cmpint (mien_var_store_get_device (vs).type, ==, MIEN_DEVICE_META);

  /* No values to save or to move. */
  g_assert_false (mien_var_store_save (vs, path, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "meta"));
  g_clear_error (&error);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  g_assert_false (mien_var_store_to_device (vs, mien_device_cpu (), &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpint (mien_tensor_device (big).type, ==, MIEN_DEVICE_META);
  g_assert_cmpint (mien_var_store_get_device (vs).type, ==, MIEN_DEVICE_META);
}

static void
test_to_device (void)
{
  g_autoptr(MienVarStore) vs = make_net (TRUE);
  g_autoptr(MienTensor) w = mien_var_store_get (vs, "conv.weight");
  g_autoptr(MienTensor) nbt = mien_var_store_get (vs, "bn.num_batches_tracked");
  g_autoptr(GError) error = NULL;
  MienDevice meta = { MIEN_DEVICE_META, 0 };

  fill (w, 0.5);
  g_assert_true (mien_var_store_to_device (vs, mien_device_cpu (), &error));
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_device (w).type, ==, MIEN_DEVICE_CPU);
  assert_all (w, 0.5);
  g_assert_true (mien_tensor_requires_grad (w));

  /* Real data cannot become meta: refused, nothing changed. */
  g_assert_false (mien_var_store_to_device (vs, meta, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpint (mien_tensor_device (w).type, ==, MIEN_DEVICE_CPU);
  g_assert_cmpint (mien_var_store_get_device (vs).type, ==, MIEN_DEVICE_CPU);

  if (!mien_torch_cuda_is_available ())
    {
      g_test_message ("no CUDA here: only the CPU part ran");
      return;
    }

  g_assert_true (mien_var_store_to_device (vs, mien_device_cuda (0), &error));
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_device (w).type, ==, MIEN_DEVICE_CUDA);
  g_assert_cmpint (mien_tensor_device (nbt).type, ==, MIEN_DEVICE_CUDA);
  g_assert_cmpint (mien_var_store_get_device (vs).type, ==, MIEN_DEVICE_CUDA);
  g_assert_true (mien_tensor_requires_grad (w));
  assert_all (w, 0.5);
  assert_all (nbt, 42.0);

  /* New entries go to the store's device. */
  {
    g_autoptr(MienTensor) late = add_parameter (vs, "late", 2, 0);
    g_assert_cmpint (mien_tensor_device (late).type, ==, MIEN_DEVICE_CUDA);
  }

  g_assert_true (mien_var_store_to_device (vs, mien_device_cpu (), &error));
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_device (w).type, ==, MIEN_DEVICE_CPU);
  assert_all (w, 0.5);
}

/* Saving from and loading into CUDA goes through the host; bf16 survives byte for byte. */
static void
test_save_load_cuda (Fixture       *f,
                     gconstpointer  unused)
{
  g_autoptr(MienVarStore) src = make_net (TRUE);
  g_autoptr(MienVarStore) dst = make_net (FALSE);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (f->dir, "cuda.safetensors", NULL);
  MienLoadOptions strict = { NULL, NULL, NULL, NULL, MIEN_LOAD_STRICT };

  if (!mien_torch_cuda_is_available ())
    {
      g_test_skip ("no CUDA device");
      return;
    }

  g_assert_true (mien_var_store_to_device (src, mien_device_cuda (0), &error));
  g_assert_no_error (error);
  g_assert_true (mien_var_store_to_dtype (src, MIEN_DTYPE_BFLOAT16, &error));
  g_assert_no_error (error);
  g_assert_true (mien_var_store_save (src, path, NULL, NULL, &error));
  g_assert_no_error (error);

  g_assert_true (mien_var_store_to_device (dst, mien_device_cuda (0), &error));
  g_assert_no_error (error);
  g_assert_true (mien_var_store_load (dst, path, &strict, NULL, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < mien_var_store_get_n_vars (src); i++)
    {
      g_autoptr(MienTensor) a = mien_var_store_get_nth (src, i);
      g_autoptr(MienTensor) b = mien_var_store_get_nth (dst, i);

      /* dst stayed float32 on CUDA; the values are the bf16 ones. */
      g_assert_cmpint (mien_tensor_device (b).type, ==, MIEN_DEVICE_CUDA);
      assert_same_values (a, b);
    }
}

static void
test_optimizer (void)
{
  g_autoptr(MienVarStore) vs = make_net (TRUE);
  g_autoptr(MienOptimizer) opt = NULL;
  g_autoptr(GError) error = NULL;
  MienAdamConfig config = MIEN_ADAM_CONFIG_INIT;

  g_assert_cmpuint (mien_var_store_set_trainable (vs, "conv.bias", FALSE), ==, 1);
  opt = mien_optimizer_new_adam (&config, &error);
  g_assert_no_error (error);
  g_assert_true (mien_var_store_add_to_optimizer (vs, opt, &error));
  g_assert_no_error (error);
  /* conv.weight only: conv.bias is frozen, buffers are never trained. */
  g_assert_cmpuint (mien_optimizer_get_n_parameters (opt), ==, 1);
}

/* Data at an offset that suits no dtype (the header length is odd): still read correctly. */
static void
test_load_tensor_unaligned (void)
{
  static const char header[] =
    "{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
    "\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[1,17]}}";
  const double d[2] = { G_PI, -0.5 };
  g_autoptr(GString) file = g_string_new (NULL);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(MienSafetensors) st = NULL;
  g_autoptr(MienTensor) t = NULL;
  g_autoptr(MienTensor) none = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree double *values = NULL;
  guint64 len_le = GUINT64_TO_LE ((guint64) (sizeof header - 1));
  gsize n;

  g_assert_cmpuint ((sizeof header - 1) % 8, !=, 7);
  g_string_append_len (file, (const char *) &len_le, 8);
  g_string_append_len (file, header, sizeof header - 1);
  g_string_append_c (file, 0x11);
  g_string_append_len (file, (const char *) d, sizeof d);
  bytes = g_bytes_new (file->str, file->len);

  st = mien_safetensors_new_from_bytes (bytes, &error);
  g_assert_no_error (error);
  t = mien_safetensors_load_tensor (st, "d", &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_dtype (t), ==, MIEN_DTYPE_FLOAT64);
  g_assert_cmpint (mien_tensor_device (t).type, ==, MIEN_DEVICE_CPU);
  values = mien_test_values_of (t, &n);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpfloat (values[0], ==, G_PI);
  g_assert_cmpfloat (values[1], ==, -0.5);

  none = mien_safetensors_load_tensor (st, "nothing", &error);
  g_assert_null (none);
  g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_NOT_FOUND);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  mien_torch_init ();
  mien_torch_manual_seed (1);

  g_test_add_func ("/var-store/new-and-order", test_new_and_order);
  g_test_add_func ("/var-store/duplicate", test_duplicate);
  g_test_add_func ("/var-store/count-and-trainable", test_count_and_trainable);
  g_test_add_func ("/var-store/copy-from", test_copy_from);
  g_test_add ("/var-store/save-load", Fixture, NULL,
              mien_test_scratch_set_up, test_save_load, mien_test_scratch_tear_down);
  g_test_add ("/var-store/load-tolerant", Fixture, NULL,
              mien_test_scratch_set_up, test_load_tolerant, mien_test_scratch_tear_down);
  g_test_add ("/var-store/load-strict", Fixture, NULL,
              mien_test_scratch_set_up, test_load_strict, mien_test_scratch_tear_down);
  g_test_add ("/var-store/load-prefixes", Fixture, NULL,
              mien_test_scratch_set_up, test_load_prefixes, mien_test_scratch_tear_down);
  g_test_add_func ("/var-store/report-string", test_report_string);
  g_test_add_func ("/var-store/to-dtype", test_to_dtype);
  g_test_add ("/var-store/meta", Fixture, NULL,
              mien_test_scratch_set_up, test_meta, mien_test_scratch_tear_down);
  g_test_add_func ("/var-store/to-device", test_to_device);
  g_test_add ("/var-store/save-load-cuda", Fixture, NULL,
              mien_test_scratch_set_up, test_save_load_cuda, mien_test_scratch_tear_down);
  g_test_add_func ("/var-store/optimizer", test_optimizer);
  g_test_add_func ("/var-store/load-tensor-unaligned", test_load_tensor_unaligned);

  return g_test_run ();
}
