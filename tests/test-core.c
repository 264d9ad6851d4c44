/* test-core.c — libmien's small shared helpers: name lookup, and posting work from a worker
 * thread to a main context.
 */
#include "config.h"

#include "mien-core.h"

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

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/core/name-lookup", test_name_lookup);
  g_test_add_func ("/core/post/from-worker", test_post_from_worker);
  g_test_add_func ("/core/post/other-context", test_post_to_other_context);
  return g_test_run ();
}
