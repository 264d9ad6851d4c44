/* test-core.c — libmien's small shared helpers: name lookup, and posting work from a worker
 * thread to a main context.
 */
#include "config.h"

#include <string.h>

#include "mien-core.h"
#include "mien-device.h"
#include "mien-json.h"

static void
test_name_lookup (void)
{
  static const char * const names[] = { "none", "weighted", "upsample" };
  guint index = 99;

  g_assert_true (mien_name_lookup (names, G_N_ELEMENTS (names), "upsample", &index));
  g_assert_cmpuint (index, ==, 2);
  g_assert_true (mien_name_lookup (names, G_N_ELEMENTS (names), "none", &index));
  g_assert_cmpuint (index, ==, 0);
  /* Not there, not a prefix, not case-folded, NULL: FALSE, and the index left alone. */
  index = 99;
  g_assert_false (mien_name_lookup (names, G_N_ELEMENTS (names), "weight", &index));
  g_assert_false (mien_name_lookup (names, G_N_ELEMENTS (names), "None", &index));
  g_assert_false (mien_name_lookup (names, G_N_ELEMENTS (names), NULL, &index));
  g_assert_cmpuint (index, ==, 99);
  /* Only the first n_names count. */
  g_assert_false (mien_name_lookup (names, 2, "upsample", NULL));
}

typedef struct {
  GThread *ran_on;       /* the thread that ran the posted function */
  guint    runs;
  guint    notified;
  GArray  *order;        /* the tags of posted functions, in the order they ran */
} Posted;

typedef struct {
  Posted *posted;
  int     tag;
} Job;

static gboolean
posted_func (gpointer data)
{
  Job *job = data;

  job->posted->ran_on = g_thread_self ();
  job->posted->runs++;
  g_array_append_val (job->posted->order, job->tag);
  return G_SOURCE_REMOVE;
}

static void
posted_notify (gpointer data)
{
  Job *job = data;

  job->posted->notified++;
  g_free (job);
}

static Job *
job_new (Posted *posted,
         int     tag)
{
  Job *job = g_new0 (Job, 1);

  job->posted = posted;
  job->tag = tag;
  return job;
}

static gpointer
post_from_worker (gpointer data)
{
  Posted *posted = data;

  /* Nobody owns the default main context now (the main thread is waiting in g_thread_join),
   * so g_main_context_invoke() would acquire it and run the function right here. */
  mien_main_context_post (NULL, G_PRIORITY_DEFAULT_IDLE, "[test] low", posted_func,
                          job_new (posted, 2), posted_notify);
  mien_main_context_post (NULL, G_PRIORITY_DEFAULT, "[test] high", posted_func,
                          job_new (posted, 1), posted_notify);
  return NULL;
}

/* Every double written by mien_json_to_string () reads back as itself: JSON-GLib 1.6 alone
 * writes 3e-10 as "3e-10.0", which nothing parses. Strings that look like it are kept. */
static void
test_json_to_string (void)
{
  const double values[] = { 3e-10, 1e+17, 1e-300, 5e-324, 1e-6, 0.1, 2.0, 0.0, -7e+22, 123456789.0 };

  for (guint pretty = 0; pretty < 2; pretty++)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autoptr(JsonObject) back = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;
      JsonArray *array;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "values");
      json_builder_begin_array (b);
      for (guint i = 0; i < G_N_ELEMENTS (values); i++)
        json_builder_add_double_value (b, values[i]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "text");
      json_builder_add_string_value (b, "3e-10.0 \"1e+17.0\" e5.0");
      json_builder_end_object (b);
      root = json_builder_get_root (b);

      text = mien_json_to_string (root, pretty);
      back = mien_json_parse_object (text, -1, "written", &error);
      g_assert_no_error (error);
      array = json_object_get_array_member (back, "values");
      g_assert_cmpuint (json_array_get_length (array), ==, G_N_ELEMENTS (values));
      for (guint i = 0; i < G_N_ELEMENTS (values); i++)
        g_assert_cmpfloat (json_array_get_double_element (array, i), ==, values[i]);
      g_assert_cmpstr (json_object_get_string_member (back, "text"), ==,
                       "3e-10.0 \"1e+17.0\" e5.0");
      g_assert_cmpint (pretty, ==, strchr (text, '\n') != NULL);
    }
}

static void
test_post_from_worker (void)
{
  Posted posted = { NULL, 0, 0, g_array_new (FALSE, FALSE, sizeof (int)) };
  GThread *worker = g_thread_new ("test-post", post_from_worker, &posted);

  g_thread_join (worker);
  /* Queued, not run: neither in the worker nor yet here. */
  g_assert_cmpuint (posted.runs, ==, 0);
  g_assert_cmpuint (posted.notified, ==, 0);
  while (posted.runs < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (posted.ran_on == g_thread_self ());
  g_assert_cmpuint (posted.notified, ==, 2);
  /* By priority, not by the order they were posted in. */
  g_assert_cmpint (g_array_index (posted.order, int, 0), ==, 1);
  g_assert_cmpint (g_array_index (posted.order, int, 1), ==, 2);
  g_array_unref (posted.order);
}

static void
test_post_to_other_context (void)
{
  Posted posted = { NULL, 0, 0, g_array_new (FALSE, FALSE, sizeof (int)) };
  g_autoptr(GMainContext) context = g_main_context_new ();

  /* From the thread that could run it at once: still queued, and only on its context. */
  mien_main_context_post (context, G_PRIORITY_DEFAULT, "[test] other", posted_func,
                          job_new (&posted, 7), posted_notify);
  g_assert_cmpuint (posted.runs, ==, 0);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (posted.runs, ==, 0);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_assert_cmpuint (posted.runs, ==, 1);
  g_assert_cmpuint (posted.notified, ==, 1);
  g_assert_cmpint (g_array_index (posted.order, int, 0), ==, 7);
  g_array_unref (posted.order);
}

/* A device is a name: parsed anywhere, checked only where it is used (fault 1). */
static void
test_device_name (void)
{
  static const char * const invalid[] = { "gpu", "cuda:", "cuda:-1", "cuda:1x", "CPU", "" };
  g_autoptr(GError) error = NULL;
  MienDevice device = MIEN_DEVICE_INIT_CPU;
  int n_cuda = mien_torch_cuda_is_available () ? mien_torch_cuda_device_count () : 0;

  g_assert_true (mien_device_parse_name ("cuda:7", &device, &error));
  g_assert_no_error (error);
  g_assert_cmpint (device.type, ==, MIEN_DEVICE_CUDA);
  g_assert_cmpint (device.index, ==, 7);
  if (n_cuda <= 7)
    {
      g_assert_false (mien_device_check (device, &error));
      g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_NO_DEVICE);
      g_clear_error (&error);
      g_assert_false (mien_device_parse ("cuda:7", &device, &error));
      g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_NO_DEVICE);
      g_clear_error (&error);
    }
  g_assert_true (mien_device_check (mien_device_cpu (), &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_assert_false (mien_device_parse_name (invalid[i], &device, &error));
      g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
}

/* The one list of devices: the CPU first, then each CUDA device, each name parsing back. */
static void
test_device_list (void)
{
  g_autoptr(GPtrArray) devices = mien_device_list ();
  int n_cuda = mien_torch_cuda_is_available () ? mien_torch_cuda_device_count () : 0;

  g_assert_cmpuint (devices->len, ==, 1 + n_cuda);
  for (guint i = 0; i < devices->len; i++)
    {
      MienDeviceInfo *info = devices->pdata[i];
      g_autoptr(GError) error = NULL;
      MienDevice parsed;

      g_assert_true (mien_device_parse (info->name, &parsed, &error));
      g_assert_no_error (error);
      g_assert_true (mien_device_equal (parsed, info->device));
      g_assert_cmpint (info->device.type, ==, i == 0 ? MIEN_DEVICE_CPU : MIEN_DEVICE_CUDA);
      g_assert_true (info->label != NULL && *info->label != '\0');
      if (i > 0)
        {
          g_assert_cmpint (info->device.index, ==, (int) i - 1);
          g_assert_nonnull (strstr (info->label, info->model));
        }
      else
        g_assert_null (info->model);
    }
}

/* The typed getters: the wrong type, range or presence is an error naming source and key. */
static void
test_json_getters (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) o = NULL;
  gint64 i = 42;
  double d = 0.5;
  guint64 u = 0;
  const char *str = "default";
  gboolean b = FALSE;
  g_auto(GStrv) strv = NULL;
  g_autofree double *doubles = NULL;
  guint n = 0;
  JsonObject *child = NULL;

  o = mien_json_parse_object ("{\"big\": 4294967296, \"neg\": -1, \"half\": 0.5, "
                              "\"str\": \"x\", \"null\": null, \"seed\": \"18446744073709551615\", "
                              "\"list\": [\"a\", 1], \"nums\": [1, 2.5], \"flag\": true, "
                              "\"obj\": {}}", -1, "test.json", &error);
  g_assert_no_error (error);

  /* 2^32 does not fit a guint: refused before narrowing. */
  g_assert_false (mien_json_get_int (o, "test.json", "big", MIEN_JSON_REQUIRED, 0, G_MAXUINT,
                                     &i, &error));
  g_assert_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_RANGE);
  g_assert_nonnull (strstr (error->message, "test.json"));
  g_assert_nonnull (strstr (error->message, "big"));
  g_assert_cmpint (i, ==, 42);
  g_clear_error (&error);
  /* 0.5 is not an integer. */
  g_assert_false (mien_json_get_int (o, "test.json", "half", MIEN_JSON_REQUIRED, 0, 10, &i,
                                     &error));
  g_assert_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_TYPE);
  g_clear_error (&error);
  /* Missing: an error when required, the default when optional. */
  g_assert_false (mien_json_get_int (o, "test.json", "absent", MIEN_JSON_REQUIRED, 0, 10, &i,
                                     &error));
  g_assert_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_MISSING);
  g_assert_nonnull (strstr (error->message, "absent"));
  g_clear_error (&error);
  g_assert_true (mien_json_get_int (o, "test.json", "absent", MIEN_JSON_OPTIONAL, 0, 10, &i,
                                    &error));
  g_assert_cmpint (i, ==, 42);
  /* null: an error unless allowed; a string then becomes NULL. */
  g_assert_false (mien_json_get_double (o, "test.json", "null", MIEN_JSON_OPTIONAL, 0, 1, &d,
                                        &error));
  g_assert_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_TYPE);
  g_assert_nonnull (strstr (error->message, "null"));
  g_clear_error (&error);
  g_assert_true (mien_json_get_string (o, "test.json", "null", MIEN_JSON_NULLABLE, &str,
                                       &error));
  g_assert_null (str);
  g_assert_false (mien_json_get_string (o, "test.json", "half", MIEN_JSON_REQUIRED, &str,
                                        &error));
  g_assert_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_TYPE);
  g_clear_error (&error);
  /* 64-bit seeds as strings; negative numbers are not seeds. */
  g_assert_true (mien_json_get_uint64 (o, "test.json", "seed", MIEN_JSON_REQUIRED, &u, &error));
  g_assert_cmpuint (u, ==, G_MAXUINT64);
  g_assert_false (mien_json_get_uint64 (o, "test.json", "neg", MIEN_JSON_REQUIRED, &u, &error));
  g_assert_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_RANGE);
  g_clear_error (&error);
  /* Arrays: the element at fault is named. */
  g_assert_false (mien_json_get_strv (o, "test.json", "list", MIEN_JSON_REQUIRED, &strv,
                                      &error));
  g_assert_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_TYPE);
  g_assert_nonnull (strstr (error->message, "element 1"));
  g_assert_null (strv);
  g_clear_error (&error);
  g_assert_true (mien_json_get_doubles (o, "test.json", "nums", MIEN_JSON_REQUIRED, 0, 3,
                                        &doubles, &n, &error));
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpfloat (doubles[1], ==, 2.5);
  g_assert_false (mien_json_get_boolean (o, "test.json", "str", MIEN_JSON_REQUIRED, &b,
                                         &error));
  g_assert_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_TYPE);
  g_clear_error (&error);
  g_assert_true (mien_json_get_object (o, "test.json", "obj", MIEN_JSON_REQUIRED, &child,
                                       &error));
  g_assert_nonnull (child);

  /* A lone surrogate escape: JSON-GLib keeps bytes that are not UTF-8, which no writer or
   * reader would take back. */
  g_clear_pointer (&o, json_object_unref);
  o = mien_json_parse_object ("{\"s\": \"a\\ud800b\", \"l\": [\"x\", \"\\ud834y\"]}", -1,
                              "test.json", &error);
  g_assert_no_error (error);
  str = "default";
  g_assert_false (mien_json_get_string (o, "test.json", "s", MIEN_JSON_REQUIRED, &str, &error));
  g_assert_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_RANGE);
  g_assert_nonnull (strstr (error->message, "“s”"));
  g_assert_cmpstr (str, ==, "default");
  g_clear_error (&error);
  g_assert_false (mien_json_get_strv (o, "test.json", "l", MIEN_JSON_REQUIRED, &strv, &error));
  g_assert_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_RANGE);
  g_assert_null (strv);
  g_clear_error (&error);

  /* Not an object at all. */
  g_assert_null (mien_json_parse_object ("[1]", -1, "test.json", &error));
  g_assert_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_SYNTAX);
  g_assert_nonnull (strstr (error->message, "test.json"));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/core/name-lookup", test_name_lookup);
  g_test_add_func ("/core/device-name", test_device_name);
  g_test_add_func ("/core/device-list", test_device_list);
  g_test_add_func ("/core/json-getters", test_json_getters);
  g_test_add_func ("/core/json-to-string", test_json_to_string);
  g_test_add_func ("/core/post/from-worker", test_post_from_worker);
  g_test_add_func ("/core/post/other-context", test_post_to_other_context);
  return g_test_run ();
}
