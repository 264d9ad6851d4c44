/* test-metrics.c — confusion matrix, per-class P/R/F1, macro F1, accuracy, JSON and the table,
 * checked against values worked out by hand. */
#include "config.h"

#include <string.h>

#include "mien-metrics.h"

#define ASSERT_CLOSE(a, b) g_assert_cmpfloat_with_epsilon ((a), (b), 1e-12)

static MienMetrics *
metrics_with (const char * const *classes,
              const guint        *pairs,
              guint               n_pairs)
{
  MienMetrics *metrics = mien_metrics_new (classes);

  for (guint i = 0; i < n_pairs; i++)
    mien_metrics_add (metrics, pairs[2 * i], pairs[2 * i + 1]);
  mien_metrics_compute (metrics);
  return metrics;
}

/* Ten samples (true, predicted) of three classes give the confusion matrix
 *
 *              pred a  pred b  pred c   row sum (samples)
 *     true a      3       1       0        4
 *     true b      1       2       1        4
 *     true c      1       0       1        2
 *     col sum     5       3       2       10   (predictions)
 *
 * precision = tp / column sum: a 3/5, b 2/3, c 1/2
 * recall    = tp / row sum:    a 3/4, b 2/4, c 1/2
 * F1 = 2tp / (column + row):   a 6/9 = 2/3 (= 2·0.6·0.75 / 1.35), b 4/7, c 2/4 = 1/2
 * macro F1 = (2/3 + 4/7 + 1/2) / 3 = (28 + 24 + 21) / 42 / 3 = 73/126
 * accuracy = (3 + 2 + 1) / 10 = 0.6
 */
static void
test_metrics_three_classes (void)
{
  static const char * const classes[] = { "a", "b", "c", NULL };
  static const guint pairs[] = {
    0, 0, 0, 0, 0, 0, 0, 1,
    1, 0, 1, 1, 1, 1, 1, 2,
    2, 0, 2, 2,
  };
  static const guint64 expected[9] = { 3, 1, 0, 1, 2, 1, 1, 0, 1 };
  g_autoptr(MienMetrics) m = metrics_with (classes, pairs, G_N_ELEMENTS (pairs) / 2);

  g_assert_cmpuint (m->n_classes, ==, 3);
  g_assert_cmpuint (m->n, ==, 10);
  for (guint i = 0; i < 9; i++)
    g_assert_cmpuint (m->confusion[i], ==, expected[i]);

  ASSERT_CLOSE (m->precision[0], 3.0 / 5);
  ASSERT_CLOSE (m->precision[1], 2.0 / 3);
  ASSERT_CLOSE (m->precision[2], 1.0 / 2);
  ASSERT_CLOSE (m->recall[0], 3.0 / 4);
  ASSERT_CLOSE (m->recall[1], 2.0 / 4);
  ASSERT_CLOSE (m->recall[2], 1.0 / 2);
  ASSERT_CLOSE (m->f1[0], 2.0 / 3);
  ASSERT_CLOSE (m->f1[1], 4.0 / 7);
  ASSERT_CLOSE (m->f1[2], 1.0 / 2);
  ASSERT_CLOSE (m->macro_f1, 73.0 / 126);
  ASSERT_CLOSE (m->accuracy, 0.6);
}

/* Classes x, y, z; samples (x,x) (y,y) (z,x) (z,y): z has two samples, never predicted.
 * z: precision 0/0 → 0, recall 0/2 = 0, F1 0.
 * x: precision 1/2, recall 1/1, F1 2·1/(2 + 1) = 2/3; y likewise.
 * macro F1 = (2/3 + 2/3 + 0) / 3 = 4/9; accuracy 2/4. */
static void
test_metrics_never_predicted (void)
{
  static const char * const classes[] = { "x", "y", "z", NULL };
  static const guint pairs[] = { 0, 0, 1, 1, 2, 0, 2, 1 };
  g_autoptr(MienMetrics) m = metrics_with (classes, pairs, G_N_ELEMENTS (pairs) / 2);

  ASSERT_CLOSE (m->precision[2], 0.0);
  ASSERT_CLOSE (m->recall[2], 0.0);
  ASSERT_CLOSE (m->f1[2], 0.0);
  ASSERT_CLOSE (m->precision[0], 0.5);
  ASSERT_CLOSE (m->recall[0], 1.0);
  ASSERT_CLOSE (m->f1[0], 2.0 / 3);
  ASSERT_CLOSE (m->f1[1], 2.0 / 3);
  ASSERT_CLOSE (m->macro_f1, 4.0 / 9);
  ASSERT_CLOSE (m->accuracy, 0.5);
}

/* Samples (x,x) (x,z) (y,y): z has no sample but is predicted once.
 * z: precision 0/1 = 0, recall 0/0 → 0, F1 0 — and it still counts in the macro average,
 * as the paper's "Avg." over all classes.
 * x: precision 1/1, recall 1/2, F1 2/(1 + 2) = 2/3. y: 1, 1, 1.
 * macro F1 = (2/3 + 1 + 0) / 3 = 5/9; accuracy 2/3. */
/* Samples (x,x) (x,y) (y,y), and two x and one y without a prediction (no face found): errors,
 * as a prediction wrong for every class would be. x: tp 1, predicted 1, actual 4 → precision 1,
 * recall 1/4, F1 2/(1 + 4) = 2/5. y: tp 1, predicted 2, actual 2 → 1/2, 1/2, F1 2/(2 + 2) =
 * 1/2. Accuracy 2/6, macro F1 9/20. The JSON keeps the misses; a copy too. */
static void
test_metrics_missed (void)
{
  static const char * const classes[] = { "x", "y", NULL };
  static const guint pairs[] = { 0, 0, 0, 1, 1, 1 };
  g_autoptr(MienMetrics) m = metrics_with (classes, pairs, G_N_ELEMENTS (pairs) / 2);
  g_autoptr(MienMetrics) copy = NULL;
  g_autoptr(MienMetrics) back = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;

  mien_metrics_add_missed (m, 0);
  mien_metrics_add_missed (m, 0);
  mien_metrics_add_missed (m, 1);
  mien_metrics_compute (m);
  g_assert_cmpuint (m->n, ==, 6);
  ASSERT_CLOSE (m->precision[0], 1.0);
  ASSERT_CLOSE (m->recall[0], 1.0 / 4);
  ASSERT_CLOSE (m->f1[0], 2.0 / 5);
  ASSERT_CLOSE (m->precision[1], 1.0 / 2);
  ASSERT_CLOSE (m->recall[1], 1.0 / 2);
  ASSERT_CLOSE (m->f1[1], 1.0 / 2);
  ASSERT_CLOSE (m->macro_f1, 9.0 / 20);
  ASSERT_CLOSE (m->accuracy, 2.0 / 6);

  copy = mien_metrics_copy (m);
  g_assert_cmpuint (copy->missed[0], ==, 2);
  g_assert_cmpuint (copy->missed[1], ==, 1);
  node = mien_metrics_to_json (m);
  back = mien_metrics_from_json (node, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->n, ==, 6);
  g_assert_cmpuint (back->missed[0], ==, 2);
  ASSERT_CLOSE (back->accuracy, m->accuracy);
  ASSERT_CLOSE (back->macro_f1, m->macro_f1);
}

static void
test_metrics_no_samples (void)
{
  static const char * const classes[] = { "x", "y", "z", NULL };
  static const guint pairs[] = { 0, 0, 0, 2, 1, 1 };
  g_autoptr(MienMetrics) m = metrics_with (classes, pairs, G_N_ELEMENTS (pairs) / 2);

  ASSERT_CLOSE (m->precision[2], 0.0);
  ASSERT_CLOSE (m->recall[2], 0.0);
  ASSERT_CLOSE (m->f1[2], 0.0);
  ASSERT_CLOSE (m->precision[0], 1.0);
  ASSERT_CLOSE (m->recall[0], 0.5);
  ASSERT_CLOSE (m->f1[0], 2.0 / 3);
  ASSERT_CLOSE (m->f1[1], 1.0);
  ASSERT_CLOSE (m->macro_f1, 5.0 / 9);
  ASSERT_CLOSE (m->accuracy, 2.0 / 3);
}

static void
test_metrics_empty (void)
{
  static const char * const classes[] = { "x", "y", NULL };
  g_autoptr(MienMetrics) m = metrics_with (classes, NULL, 0);
  g_autoptr(MienMetrics) copy = NULL;

  for (guint c = 0; c < 2; c++)
    {
      ASSERT_CLOSE (m->precision[c], 0.0);
      ASSERT_CLOSE (m->recall[c], 0.0);
      ASSERT_CLOSE (m->f1[c], 0.0);
    }
  ASSERT_CLOSE (m->macro_f1, 0.0);
  ASSERT_CLOSE (m->accuracy, 0.0);

  mien_metrics_add (m, 1, 0);
  copy = mien_metrics_copy (m);
  mien_metrics_add (m, 1, 1);
  g_assert_cmpuint (copy->n, ==, 1);
  g_assert_cmpuint (copy->confusion[2], ==, 1);
  g_assert_cmpuint (copy->confusion[3], ==, 0);
  g_assert_cmpstr (copy->classes[1], ==, "y");
}

static MienTensor *
tensor_of (const void *data,
           MienDType   dtype,
           gint64      rows,
           gint64      cols)
{
  g_autoptr(GError) error = NULL;
  gint64 shape[2] = { rows, cols };
  MienTensor *t = mien_tensor_new_from_data (data, dtype, shape, cols > 0 ? 2 : 1, &error);

  g_assert_no_error (error);
  return t;
}

static void
test_metrics_add_batch (void)
{
  static const char * const classes[] = { "a", "b", "c", NULL };
  /* argmax per row: 1, 0, 2, 2 */
  static const float scores[12] = {
    0.1f, 0.7f, 0.2f,
    3.0f, -1.0f, 0.0f,
    -2.0f, -3.0f, -1.0f,
    0.0f, 0.2f, 0.9f,
  };
  static const gint64 targets[4] = { 1, 1, 2, 0 };
  static const gint64 bad_targets[4] = { 1, 1, 3, 0 };
  static const gint64 short_targets[3] = { 0, 1, 2 };
  g_autoptr(MienMetrics) m = mien_metrics_new (classes);
  g_autoptr(MienTensor) s = tensor_of (scores, MIEN_DTYPE_FLOAT32, 4, 3);
  g_autoptr(MienTensor) t = tensor_of (targets, MIEN_DTYPE_INT64, 4, 0);
  g_autoptr(MienTensor) bad = tensor_of (bad_targets, MIEN_DTYPE_INT64, 4, 0);
  g_autoptr(MienTensor) short_t = tensor_of (short_targets, MIEN_DTYPE_INT64, 3, 0);
  g_autoptr(MienTensor) wide = tensor_of (scores, MIEN_DTYPE_FLOAT32, 3, 4);
  g_autoptr(GError) error = NULL;

  g_assert_true (mien_metrics_add_batch (m, t, s, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (m->n, ==, 4);
  g_assert_cmpuint (m->confusion[1 * 3 + 1], ==, 1);  /* (b, b) */
  g_assert_cmpuint (m->confusion[1 * 3 + 0], ==, 1);  /* (b, a) */
  g_assert_cmpuint (m->confusion[2 * 3 + 2], ==, 1);  /* (c, c) */
  g_assert_cmpuint (m->confusion[0 * 3 + 2], ==, 1);  /* (a, c) */

  /* A target out of range counts nothing, not even the good samples before it. */
  g_assert_false (mien_metrics_add_batch (m, bad, s, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (m->n, ==, 4);

  g_assert_false (mien_metrics_add_batch (m, short_t, s, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* Scores with the wrong number of classes. */
  g_assert_false (mien_metrics_add_batch (m, short_t, wide, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (m->n, ==, 4);
}

static void
test_metrics_json_round_trip (void)
{
  static const char * const classes[] = { "anger", "disgust", "fear", NULL };
  static const guint pairs[] = { 0, 0, 0, 1, 1, 1, 2, 0, 2, 2, 2, 2 };
  g_autoptr(MienMetrics) m = metrics_with (classes, pairs, G_N_ELEMENTS (pairs) / 2);
  g_autoptr(JsonNode) node = mien_metrics_to_json (m);
  g_autofree char *text = json_to_string (node, FALSE);
  g_autoptr(JsonNode) parsed = json_from_string (text, NULL);
  g_autoptr(MienMetrics) back = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object = json_node_get_object (node);

  g_assert_cmpuint (json_object_get_int_member (object, "n"), ==, 6);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "f1")), ==, 3);
  ASSERT_CLOSE (json_object_get_double_member (object, "macro_f1"), m->macro_f1);

  back = mien_metrics_from_json (parsed, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  g_assert_cmpuint (back->n_classes, ==, 3);
  g_assert_cmpuint (back->n, ==, m->n);
  g_assert_true (g_strv_equal ((const char * const *) back->classes,
                               (const char * const *) m->classes));
  g_assert_cmpmem (back->confusion, 9 * sizeof (guint64), m->confusion, 9 * sizeof (guint64));
  for (guint c = 0; c < 3; c++)
    {
      ASSERT_CLOSE (back->f1[c], m->f1[c]);
      ASSERT_CLOSE (back->precision[c], m->precision[c]);
      ASSERT_CLOSE (back->recall[c], m->recall[c]);
    }
  ASSERT_CLOSE (back->macro_f1, m->macro_f1);
  ASSERT_CLOSE (back->accuracy, m->accuracy);
}

static void
test_metrics_json_malformed (void)
{
  static const char * const good =
    "{\"classes\": [\"a\", \"b\"], \"f1\": [1.0, 0.5], \"precision\": [1, 0.5],"
    " \"recall\": [0.5, 1], \"macro_f1\": 0.75, \"accuracy\": 0.5,"
    " \"confusion\": [[1, 1], [0, 1]], \"n\": 3}";
  static const char * const bad[] = {
    "[1, 2]",
    "{\"f1\": [], \"confusion\": []}",
    /* duplicate or empty class names */
    "{\"classes\": [\"a\", \"a\"], \"f1\": [1, 1], \"precision\": [1, 1], \"recall\": [1, 1],"
    " \"macro_f1\": 1, \"accuracy\": 1, \"confusion\": [[1, 0], [0, 1]], \"n\": 2}",
    "{\"classes\": [\"a\", \"\"], \"f1\": [1, 1], \"precision\": [1, 1], \"recall\": [1, 1],"
    " \"macro_f1\": 1, \"accuracy\": 1, \"confusion\": [[1, 0], [0, 1]], \"n\": 2}",
    "{\"classes\": [\"a\", 7], \"f1\": [1, 1], \"precision\": [1, 1], \"recall\": [1, 1],"
    " \"macro_f1\": 1, \"accuracy\": 1, \"confusion\": [[1, 0], [0, 1]], \"n\": 2}",
    /* f1 of the wrong length, or not numbers */
    "{\"classes\": [\"a\", \"b\"], \"f1\": [1], \"precision\": [1, 1], \"recall\": [1, 1],"
    " \"macro_f1\": 1, \"accuracy\": 1, \"confusion\": [[1, 0], [0, 1]], \"n\": 2}",
    "{\"classes\": [\"a\", \"b\"], \"f1\": [1, \"x\"], \"precision\": [1, 1],"
    " \"recall\": [1, 1], \"macro_f1\": 1, \"accuracy\": 1,"
    " \"confusion\": [[1, 0], [0, 1]], \"n\": 2}",
    /* no macro F1 */
    "{\"classes\": [\"a\", \"b\"], \"f1\": [1, 1], \"precision\": [1, 1], \"recall\": [1, 1],"
    " \"accuracy\": 1, \"confusion\": [[1, 0], [0, 1]], \"n\": 2}",
    /* confusion not square, negative, fractional */
    "{\"classes\": [\"a\", \"b\"], \"f1\": [1, 1], \"precision\": [1, 1], \"recall\": [1, 1],"
    " \"macro_f1\": 1, \"accuracy\": 1, \"confusion\": [[1, 0, 0], [0, 1]], \"n\": 2}",
    "{\"classes\": [\"a\", \"b\"], \"f1\": [1, 1], \"precision\": [1, 1], \"recall\": [1, 1],"
    " \"macro_f1\": 1, \"accuracy\": 1, \"confusion\": [[1, 0]], \"n\": 1}",
    "{\"classes\": [\"a\", \"b\"], \"f1\": [1, 1], \"precision\": [1, 1], \"recall\": [1, 1],"
    " \"macro_f1\": 1, \"accuracy\": 1, \"confusion\": [[3, -1], [0, 1]], \"n\": 3}",
    "{\"classes\": [\"a\", \"b\"], \"f1\": [1, 1], \"precision\": [1, 1], \"recall\": [1, 1],"
    " \"macro_f1\": 1, \"accuracy\": 1, \"confusion\": [[1.5, 0], [0, 1]], \"n\": 2}",
    /* n is not the total */
    "{\"classes\": [\"a\", \"b\"], \"f1\": [1, 1], \"precision\": [1, 1], \"recall\": [1, 1],"
    " \"macro_f1\": 1, \"accuracy\": 1, \"confusion\": [[1, 0], [0, 1]], \"n\": 5}",
    "{\"classes\": [\"a\", \"b\"], \"f1\": [1, 1], \"precision\": [1, 1], \"recall\": [1, 1],"
    " \"macro_f1\": 1, \"accuracy\": 1, \"confusion\": [[1, 0], [0, 1]], \"missed\": [1, 0],"
    " \"n\": 2}",
    /* misses of the wrong length, negative, not counts */
    "{\"classes\": [\"a\", \"b\"], \"f1\": [1, 1], \"precision\": [1, 1], \"recall\": [1, 1],"
    " \"macro_f1\": 1, \"accuracy\": 1, \"confusion\": [[1, 0], [0, 1]], \"missed\": [1],"
    " \"n\": 3}",
    "{\"classes\": [\"a\", \"b\"], \"f1\": [1, 1], \"precision\": [1, 1], \"recall\": [1, 1],"
    " \"macro_f1\": 1, \"accuracy\": 1, \"confusion\": [[1, 0], [0, 1]], \"missed\": [-1, 0],"
    " \"n\": 1}",
    "{\"classes\": [\"a\", \"b\"], \"f1\": [1, 1], \"precision\": [1, 1], \"recall\": [1, 1],"
    " \"macro_f1\": 1, \"accuracy\": 1, \"confusion\": [[1, 0], [0, 1]], \"missed\": \"1\","
    " \"n\": 3}",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) good_node = json_from_string (good, &error);
  g_autoptr(MienMetrics) m = NULL;

  g_assert_no_error (error);
  m = mien_metrics_from_json (good_node, &error);
  g_assert_no_error (error);
  /* The ratios come from the counts, not from what the file claims. */
  ASSERT_CLOSE (m->accuracy, 2.0 / 3);

  g_assert_null (mien_metrics_from_json (NULL, &error));
  g_assert_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA);
  g_clear_error (&error);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonNode) node = json_from_string (bad[i], &error);
      g_autoptr(MienMetrics) none = NULL;

      g_assert_no_error (error);
      none = mien_metrics_from_json (node, &error);
      if (none != NULL)
        g_error ("accepted malformed metrics %u: %s", i, bad[i]);
      g_assert_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA);
      g_assert_true (g_str_has_prefix (error->message, "Invalid metrics: "));
      g_clear_error (&error);
    }
}

/* baseline: (anger, anger) (anger, disgust) (disgust, disgust) ×2
 *   anger: 2·1 / (1 + 2) = 0.6667; disgust: 2·2 / (3 + 2) = 0.8; Avg. 0.7333
 * dft: (anger, anger) (disgust, disgust): 1, 1, 1
 * Columns: "Method" as wide as the widest name ("baseline", 8), each class as wide as its
 * capitalised name but at least the 6 of "0.0000", two spaces between, the last unpadded. */
static void
test_metrics_table (void)
{
  static const char * const classes[] = { "anger", "disgust", NULL };
  static const guint baseline_pairs[] = { 0, 0, 0, 1, 1, 1, 1, 1 };
  static const guint dft_pairs[] = { 0, 0, 1, 1 };
  static const char * const names[] = { "baseline", "dft" };
  static const char * const expected =
    "Method    Anger   Disgust  Avg.\n"
    "baseline  0.6667  0.8000   0.7333\n"
    "dft       1.0000  1.0000   1.0000\n";
  g_autoptr(MienMetrics) baseline = metrics_with (classes, baseline_pairs, 4);
  g_autoptr(MienMetrics) dft = metrics_with (classes, dft_pairs, 2);
  MienMetrics *rows[2] = { baseline, dft };
  g_autofree char *table = mien_metrics_format_table (rows, names, 2);

  g_assert_cmpstr (table, ==, expected);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  mien_init ();

  g_test_add_func ("/metrics/three-classes", test_metrics_three_classes);
  g_test_add_func ("/metrics/zero-division/never-predicted", test_metrics_never_predicted);
  g_test_add_func ("/metrics/zero-division/no-samples", test_metrics_no_samples);
  g_test_add_func ("/metrics/missed", test_metrics_missed);
  g_test_add_func ("/metrics/empty-and-copy", test_metrics_empty);
  g_test_add_func ("/metrics/add-batch", test_metrics_add_batch);
  g_test_add_func ("/metrics/json/round-trip", test_metrics_json_round_trip);
  g_test_add_func ("/metrics/json/malformed", test_metrics_json_malformed);
  g_test_add_func ("/metrics/table", test_metrics_table);

  return g_test_run ();
}
