/* mien-metrics.c — confusion matrix, per-class F1, macro F1 and accuracy.
 *
 * Plain C over the counts: only mien_metrics_add_batch () touches libtorch, to take the argmax
 * where the scores are and bring back two small integer arrays.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "mien-metrics.h"

/* The table's numbers: "0.4123". */
#define TABLE_NUMBER_WIDTH 6
#define TABLE_GAP 2

MienMetrics *
mien_metrics_new (const char * const *classes)
{
  MienMetrics *metrics;
  guint n;

  g_return_val_if_fail (classes != NULL, NULL);

  n = g_strv_length ((char **) classes);
  g_return_val_if_fail (n > 0, NULL);

  metrics = g_new0 (MienMetrics, 1);
  metrics->n_classes = n;
  metrics->classes = g_strdupv ((char **) classes);
  metrics->confusion = g_new0 (guint64, (gsize) n * n);
  metrics->missed = g_new0 (guint64, n);
  metrics->precision = g_new0 (double, n);
  metrics->recall = g_new0 (double, n);
  metrics->f1 = g_new0 (double, n);
  return metrics;
}

MienMetrics *
mien_metrics_copy (const MienMetrics *metrics)
{
  MienMetrics *copy;
  guint n;

  g_return_val_if_fail (metrics != NULL, NULL);

  n = metrics->n_classes;
  copy = g_new0 (MienMetrics, 1);
  copy->n_classes = n;
  copy->classes = g_strdupv (metrics->classes);
  copy->confusion = g_memdup2 (metrics->confusion, sizeof (guint64) * n * n);
  copy->missed = g_memdup2 (metrics->missed, sizeof (guint64) * n);
  copy->n = metrics->n;
  copy->precision = g_memdup2 (metrics->precision, sizeof (double) * n);
  copy->recall = g_memdup2 (metrics->recall, sizeof (double) * n);
  copy->f1 = g_memdup2 (metrics->f1, sizeof (double) * n);
  copy->macro_f1 = metrics->macro_f1;
  copy->accuracy = metrics->accuracy;
  return copy;
}

void
mien_metrics_free (MienMetrics *metrics)
{
  if (metrics == NULL)
    return;

  g_strfreev (metrics->classes);
  g_free (metrics->confusion);
  g_free (metrics->missed);
  g_free (metrics->precision);
  g_free (metrics->recall);
  g_free (metrics->f1);
  g_free (metrics);
}

void
mien_metrics_add (MienMetrics *metrics,
                  guint        true_class,
                  guint        predicted_class)
{
  g_return_if_fail (metrics != NULL);
  g_return_if_fail (true_class < metrics->n_classes);
  g_return_if_fail (predicted_class < metrics->n_classes);

  metrics->confusion[(gsize) true_class * metrics->n_classes + predicted_class]++;
  metrics->n++;
}

void
mien_metrics_add_missed (MienMetrics *metrics,
                         guint        true_class)
{
  g_return_if_fail (metrics != NULL);
  g_return_if_fail (true_class < metrics->n_classes);

  metrics->missed[true_class]++;
  metrics->n++;
}

/* The values of `t` as int64 in host memory (n entries). */
static gint64 *
int64_values (MienTensor  *t,
              gsize        n,
              GError     **error)
{
  g_autoptr(MienTensor) host = NULL;
  g_autofree gint64 *values = g_new0 (gint64, MAX (n, 1));

  host = mien_tensor_to (t, mien_device_cpu (), MIEN_DTYPE_INT64, error);
  if (host == NULL || !mien_tensor_to_host (host, values, n * sizeof (gint64), error))
    return NULL;

  return g_steal_pointer (&values);
}

gboolean
mien_metrics_add_batch (MienMetrics  *metrics,
                        MienTensor   *targets,
                        MienTensor   *scores,
                        GError      **error)
{
  g_autoptr(MienNoGradGuard) no_grad = NULL;
  g_autoptr(MienTensor) predicted = NULL;
  g_autofree gint64 *t = NULL;
  g_autofree gint64 *p = NULL;
  gint64 n;

  g_return_val_if_fail (metrics != NULL, FALSE);
  g_return_val_if_fail (targets != NULL, FALSE);
  g_return_val_if_fail (scores != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  n = mien_tensor_size (targets, 0);
  if (mien_tensor_ndim (targets) != 1 || mien_tensor_ndim (scores) != 2 ||
      mien_tensor_size (scores, 0) != n ||
      mien_tensor_size (scores, 1) != (gint64) metrics->n_classes)
    {
      g_autofree char *ts = mien_tensor_describe (targets);
      g_autofree char *ss = mien_tensor_describe (scores);

      g_set_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT,
                   _("Metrics over %u classes need targets [N] and scores [N, %u], got %s and %s"),
                   metrics->n_classes, metrics->n_classes, ts, ss);
      return FALSE;
    }
  if (mien_dtype_is_floating (mien_tensor_dtype (targets)))
    {
      g_set_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT,
                   _("Targets must be class indices (integers), not %s"),
                   mien_dtype_to_string (mien_tensor_dtype (targets)));
      return FALSE;
    }
  if (n == 0)
    return TRUE;

  /* Scores may be the output of a forward pass that still carries a graph. */
  no_grad = mien_no_grad_guard_new ();
  predicted = mien_tensor_argmax (scores, 1, FALSE, error);
  if (predicted == NULL)
    return FALSE;

  t = int64_values (targets, n, error);
  if (t == NULL)
    return FALSE;
  p = int64_values (predicted, n, error);
  if (p == NULL)
    return FALSE;

  /* All checked before any is counted, so that a bad batch leaves the counts as they were. */
  for (gint64 i = 0; i < n; i++)
    if (t[i] < 0 || t[i] >= (gint64) metrics->n_classes)
      {
        g_set_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT,
                     _("Target %lld of sample %lld is not a class index (0 to %u)"),
                     (long long) t[i], (long long) i, metrics->n_classes - 1);
        return FALSE;
      }

  for (gint64 i = 0; i < n; i++)
    mien_metrics_add (metrics, (guint) t[i], (guint) p[i]);

  return TRUE;
}

void
mien_metrics_compute (MienMetrics *metrics)
{
  guint k;
  guint64 correct = 0;
  double f1_sum = 0.0;

  g_return_if_fail (metrics != NULL);

  k = metrics->n_classes;
  for (guint c = 0; c < k; c++)
    {
      guint64 tp = metrics->confusion[(gsize) c * k + c];
      guint64 predicted = 0, actual = metrics->missed[c];

      for (guint i = 0; i < k; i++)
        {
          predicted += metrics->confusion[(gsize) i * k + c];
          actual += metrics->confusion[(gsize) c * k + i];
        }

      metrics->precision[c] = predicted > 0 ? (double) tp / (double) predicted : 0.0;
      metrics->recall[c] = actual > 0 ? (double) tp / (double) actual : 0.0;
      /* 2tp / (2tp + fp + fn), as scikit-learn: the same as 2PR / (P + R) where both are
       * defined, 0 where either is not (tp is then 0), and without the rounding of P and R. */
      metrics->f1[c] = predicted + actual > 0
                       ? 2.0 * (double) tp / (double) (predicted + actual) : 0.0;

      correct += tp;
      f1_sum += metrics->f1[c];
    }

  metrics->macro_f1 = f1_sum / k;
  metrics->accuracy = metrics->n > 0 ? (double) correct / (double) metrics->n : 0.0;
}

static JsonNode *
doubles_to_json (const double *values,
                 guint         n)
{
  JsonArray *array = json_array_sized_new (n);

  for (guint i = 0; i < n; i++)
    json_array_add_double_element (array, values[i]);
  return json_node_init_array (json_node_alloc (), array);
}

JsonNode *
mien_metrics_to_json (MienMetrics *metrics)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  guint k;

  g_return_val_if_fail (metrics != NULL, NULL);

  mien_metrics_compute (metrics);
  k = metrics->n_classes;

  json_builder_begin_object (builder);

  json_builder_set_member_name (builder, "classes");
  json_builder_begin_array (builder);
  for (guint i = 0; i < k; i++)
    json_builder_add_string_value (builder, metrics->classes[i]);
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "f1");
  json_builder_add_value (builder, doubles_to_json (metrics->f1, k));
  json_builder_set_member_name (builder, "precision");
  json_builder_add_value (builder, doubles_to_json (metrics->precision, k));
  json_builder_set_member_name (builder, "recall");
  json_builder_add_value (builder, doubles_to_json (metrics->recall, k));
  json_builder_set_member_name (builder, "macro_f1");
  json_builder_add_double_value (builder, metrics->macro_f1);
  json_builder_set_member_name (builder, "accuracy");
  json_builder_add_double_value (builder, metrics->accuracy);

  json_builder_set_member_name (builder, "confusion");
  json_builder_begin_array (builder);
  for (guint t = 0; t < k; t++)
    {
      json_builder_begin_array (builder);
      for (guint p = 0; p < k; p++)
        json_builder_add_int_value (builder, (gint64) metrics->confusion[(gsize) t * k + p]);
      json_builder_end_array (builder);
    }
  json_builder_end_array (builder);

  for (guint t = 0; t < k; t++)
    if (metrics->missed[t] > 0)
      {
        json_builder_set_member_name (builder, "missed");
        json_builder_begin_array (builder);
        for (guint c = 0; c < k; c++)
          json_builder_add_int_value (builder, (gint64) metrics->missed[c]);
        json_builder_end_array (builder);
        break;
      }

  json_builder_set_member_name (builder, "n");
  json_builder_add_int_value (builder, (gint64) metrics->n);

  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

/* Sets the error and returns NULL, so that every check of from_json () is one statement. */
static gpointer
invalid (GError     **error,
         const char  *why)
{
  g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
               _("Invalid metrics: %s"), why);
  return NULL;
}

static gboolean
is_number (JsonNode *node)
{
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  return type == G_TYPE_DOUBLE || type == G_TYPE_INT64;
}

static gboolean
is_int (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_INT64;
}

/* A member that is an array of `n` finite numbers. */
static gboolean
check_numbers (JsonObject  *object,
               const char  *member,
               guint        n,
               GError     **error)
{
  JsonNode *node = json_object_get_member (object, member);
  JsonArray *array = NULL;
  gboolean ok;

  ok = node != NULL && JSON_NODE_HOLDS_ARRAY (node) &&
       json_array_get_length (array = json_node_get_array (node)) == n;
  for (guint i = 0; ok && i < n; i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      ok = is_number (element) && isfinite (json_node_get_double (element));
    }

  if (!ok)
    {
      g_autofree char *why = g_strdup_printf (_("“%s” is not an array of %u numbers"),
                                              member, n);
      invalid (error, why);
    }
  return ok;
}

static gboolean
check_number (JsonObject  *object,
              const char  *member,
              GError     **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (!is_number (node) || !isfinite (json_node_get_double (node)))
    {
      g_autofree char *why = g_strdup_printf (_("“%s” is not a number"), member);

      invalid (error, why);
      return FALSE;
    }
  return TRUE;
}

/* The counts of `array` (of `member`, its length checked) into `out`, added to `total`. */
static gboolean
read_counts (JsonArray   *array,
             const char  *member,
             guint64     *out,
             guint64     *total,
             GError     **error)
{
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *cell = json_array_get_element (array, i);
      gint64 count;

      if (!is_int (cell) || (count = json_node_get_int (cell)) < 0)
        {
          g_autofree char *why = g_strdup_printf (_("“%s” must hold counts (non-negative "
                                                    "integers)"), member);

          invalid (error, why);
          return FALSE;
        }
      if ((guint64) count > G_MAXUINT64 - *total)
        {
          invalid (error, _("the counts overflow"));
          return FALSE;
        }
      out[i] = (guint64) count;
      *total += (guint64) count;
    }
  return TRUE;
}

MienMetrics *
mien_metrics_from_json (JsonNode  *node,
                        GError   **error)
{
  g_autoptr(MienMetrics) metrics = NULL;
  g_autoptr(GPtrArray) classes = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  JsonObject *object;
  JsonNode *member;
  JsonArray *array;
  guint64 total = 0;
  guint k;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return invalid (error, _("not a JSON object"));
  object = json_node_get_object (node);

  member = json_object_get_member (object, "classes");
  if (member == NULL || !JSON_NODE_HOLDS_ARRAY (member) ||
      json_array_get_length (json_node_get_array (member)) == 0)
    return invalid (error, _("“classes” is not a non-empty array"));
  array = json_node_get_array (member);
  k = json_array_get_length (array);
  for (guint i = 0; i < k; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      const char *name;

      if (!JSON_NODE_HOLDS_VALUE (element) ||
          json_node_get_value_type (element) != G_TYPE_STRING ||
          (name = json_node_get_string (element))[0] == '\0' ||
          !g_hash_table_add (seen, (gpointer) name))
        return invalid (error, _("“classes” must hold distinct, non-empty names"));
      g_ptr_array_add (classes, (gpointer) name);
    }
  g_ptr_array_add (classes, NULL);

  if (!check_numbers (object, "f1", k, error) ||
      !check_numbers (object, "precision", k, error) ||
      !check_numbers (object, "recall", k, error) ||
      !check_number (object, "macro_f1", error) ||
      !check_number (object, "accuracy", error))
    return NULL;

  metrics = mien_metrics_new ((const char * const *) classes->pdata);

  member = json_object_get_member (object, "confusion");
  if (member == NULL || !JSON_NODE_HOLDS_ARRAY (member) ||
      json_array_get_length (json_node_get_array (member)) != k)
    return invalid (error, _("“confusion” is not a square matrix of the classes"));
  array = json_node_get_array (member);
  for (guint t = 0; t < k; t++)
    {
      JsonNode *row_node = json_array_get_element (array, t);
      JsonArray *row;

      if (!JSON_NODE_HOLDS_ARRAY (row_node) ||
          json_array_get_length (row = json_node_get_array (row_node)) != k)
        return invalid (error, _("“confusion” is not a square matrix of the classes"));

      if (!read_counts (row, "confusion", metrics->confusion + (gsize) t * k, &total, error))
        return NULL;
    }

  /* Absent from metrics where every sample has a prediction. */
  member = json_object_get_member (object, "missed");
  if (member != NULL &&
      (!JSON_NODE_HOLDS_ARRAY (member) ||
       json_array_get_length (array = json_node_get_array (member)) != k))
    return invalid (error, _("“missed” is not an array of counts, one per class"));
  if (member != NULL && !read_counts (array, "missed", metrics->missed, &total, error))
    return NULL;

  member = json_object_get_member (object, "n");
  if (!is_int (member) || json_node_get_int (member) < 0 ||
      (guint64) json_node_get_int (member) != total)
    return invalid (error, _("“n” is not the sum of the confusion matrix and “missed”"));
  metrics->n = total;

  /* The counts are the record; the ratios are derived again rather than trusted. */
  mien_metrics_compute (metrics);
  return g_steal_pointer (&metrics);
}

/* "happiness" → "Happiness" */
static char *
capitalise (const char *name)
{
  gunichar first = g_utf8_get_char (name);
  char buf[8] = { 0 };

  if (first == 0)
    return g_strdup ("");

  g_unichar_to_utf8 (g_unichar_totitle (first), buf);
  return g_strconcat (buf, g_utf8_next_char (name), NULL);
}

static void
append_cell (GString    *s,
             const char *text,
             guint       width,
             gboolean    last)
{
  g_string_append (s, text);
  if (!last)
    {
      glong len = g_utf8_strlen (text, -1);

      for (glong i = len; i < (glong) (width + TABLE_GAP); i++)
        g_string_append_c (s, ' ');
    }
}

char *
mien_metrics_format_table (MienMetrics        **rows,
                           const char * const  *names,
                           guint                n_rows)
{
  g_autoptr(GPtrArray) headers = g_ptr_array_new_with_free_func (g_free);
  g_autofree guint *widths = NULL;
  const MienMetrics *first;
  guint n_columns, k;
  GString *s;

  g_return_val_if_fail (rows != NULL && n_rows > 0, NULL);
  g_return_val_if_fail (names != NULL, NULL);

  first = rows[0];
  k = first->n_classes;
  for (guint r = 1; r < n_rows; r++)
    g_return_val_if_fail (g_strv_equal ((const char * const *) rows[r]->classes,
                                        (const char * const *) first->classes), NULL);

  g_ptr_array_add (headers, g_strdup (_("Method")));
  for (guint c = 0; c < k; c++)
    g_ptr_array_add (headers, capitalise (first->classes[c]));
  g_ptr_array_add (headers, g_strdup (_("Avg.")));

  n_columns = headers->len;
  widths = g_new0 (guint, n_columns);
  for (guint i = 0; i < n_columns; i++)
    widths[i] = MAX ((guint) g_utf8_strlen (g_ptr_array_index (headers, i), -1),
                     i == 0 ? 0 : TABLE_NUMBER_WIDTH);
  for (guint r = 0; r < n_rows; r++)
    widths[0] = MAX (widths[0], (guint) g_utf8_strlen (names[r], -1));

  s = g_string_new (NULL);
  for (guint i = 0; i < n_columns; i++)
    append_cell (s, g_ptr_array_index (headers, i), widths[i], i + 1 == n_columns);
  g_string_append_c (s, '\n');

  for (guint r = 0; r < n_rows; r++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];

      mien_metrics_compute (rows[r]);
      append_cell (s, names[r], widths[0], FALSE);
      for (guint c = 0; c < k; c++)
        /* Always a point, whatever the locale: this is the paper's format. */
        append_cell (s, g_ascii_formatd (buf, sizeof buf, "%.4f", rows[r]->f1[c]),
                     widths[c + 1], FALSE);
      append_cell (s, g_ascii_formatd (buf, sizeof buf, "%.4f", rows[r]->macro_f1),
                   widths[n_columns - 1], TRUE);
      g_string_append_c (s, '\n');
    }

  return g_string_free (s, FALSE);
}

/* ---- Each sample's prediction ------------------------------------------------------------ */

MienPredictions *
mien_predictions_new (guint n_classes)
{
  MienPredictions *predictions;

  g_return_val_if_fail (n_classes > 0, NULL);

  predictions = g_new0 (MienPredictions, 1);
  predictions->n_classes = n_classes;
  return predictions;
}

void
mien_predictions_free (MienPredictions *predictions)
{
  if (predictions == NULL)
    return;

  for (guint i = 0; i < predictions->n; i++)
    g_free (predictions->paths[i]);
  g_free (predictions->paths);
  g_free (predictions->labels);
  g_free (predictions->predicted);
  g_free (predictions->probabilities);
  g_free (predictions);
}

void
mien_predictions_add (MienPredictions *predictions,
                      const char      *path,
                      guint            true_class,
                      const float     *probabilities)
{
  guint k, i;

  g_return_if_fail (predictions != NULL);
  g_return_if_fail (path != NULL);
  g_return_if_fail (true_class < predictions->n_classes);

  k = predictions->n_classes;
  if (predictions->n == predictions->allocated)
    {
      predictions->allocated = MAX (64, predictions->allocated * 2);
      predictions->paths = g_renew (char *, predictions->paths, predictions->allocated);
      predictions->labels = g_renew (guint, predictions->labels, predictions->allocated);
      predictions->predicted = g_renew (int, predictions->predicted, predictions->allocated);
      predictions->probabilities = g_renew (float, predictions->probabilities,
                                            (gsize) predictions->allocated * k);
    }
  i = predictions->n++;
  predictions->paths[i] = g_strdup (path);
  predictions->labels[i] = true_class;
  if (probabilities != NULL)
    {
      memcpy (predictions->probabilities + (gsize) i * k, probabilities, k * sizeof (float));
      predictions->predicted[i] = (int) mien_probabilities_argmax (probabilities, k);
    }
  else
    {
      memset (predictions->probabilities + (gsize) i * k, 0, k * sizeof (float));
      predictions->predicted[i] = -1;
    }
}

static float
predicted_probability (const MienPredictions *predictions,
                       guint                  i)
{
  return predictions->probabilities[(gsize) i * predictions->n_classes +
                                    (guint) predictions->predicted[i]];
}

static int
compare_mistakes (gconstpointer a,
                  gconstpointer b,
                  gpointer      user_data)
{
  const MienPredictions *predictions = user_data;
  guint i = *(const guint *) a, j = *(const guint *) b;
  float p = predicted_probability (predictions, i), q = predicted_probability (predictions, j);
  int by_path;

  if (p != q)
    return p > q ? -1 : 1;
  by_path = strcmp (predictions->paths[i], predictions->paths[j]);
  if (by_path != 0)
    return by_path;
  return i < j ? -1 : i > j;
}

GArray *
mien_predictions_mistakes (const MienPredictions *predictions,
                           int                    true_class,
                           guint                  n)
{
  GArray *mistakes;

  g_return_val_if_fail (predictions != NULL, NULL);
  g_return_val_if_fail (true_class == MIEN_PREDICTIONS_ALL_CLASSES ||
                        (true_class >= 0 && (guint) true_class < predictions->n_classes), NULL);

  mistakes = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = 0; i < predictions->n; i++)
    if (predictions->predicted[i] >= 0 &&
        (guint) predictions->predicted[i] != predictions->labels[i] &&
        (true_class == MIEN_PREDICTIONS_ALL_CLASSES ||
         predictions->labels[i] == (guint) true_class))
      g_array_append_val (mistakes, i);
  g_array_sort_with_data (mistakes, compare_mistakes, (gpointer) predictions);
  if (mistakes->len > n)
    g_array_set_size (mistakes, n);
  return mistakes;
}

guint
mien_probabilities_argmax (const float *p,
                           guint        k)
{
  guint best = 0;

  for (guint c = 1; c < k; c++)
    if (p[c] > p[best])
      best = c;
  return best;
}
