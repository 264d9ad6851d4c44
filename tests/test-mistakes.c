/* test-mistakes.c — the mistakes to look at: each sample's prediction kept by an evaluation
 * (MienPredictions) and the most confidently wrong of each class (mien_predictions_mistakes ()).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "mien-core.h"
#include "mien-demo-data.h"
#include "mien-ensemble.h"
#include "mien-test-util.h"

#define SIZE 48

/* Three classes; the ranking below is worked out by hand. */
static void
test_mistakes_ranking (void)
{
  static const struct { const char *path; guint label; float p[3]; } samples[] = {
    { "a.png", 0, { 0.2f, 0.7f, 0.1f } },   /* 0: wrong (1 at 0.7) */
    { "b.png", 0, { 0.6f, 0.3f, 0.1f } },   /* 1: right */
    { "d.png", 0, { 0.1f, 0.1f, 0.8f } },   /* 2: wrong (2 at 0.8) */
    { "c.png", 0, { 0.1f, 0.1f, 0.8f } },   /* 3: wrong (2 at 0.8), before d.png by path */
    { "e.png", 1, { 0.5f, 0.4f, 0.1f } },   /* 4: wrong (0 at 0.5) */
    { "f.png", 1, { 0.1f, 0.9f, 0.0f } },   /* 5: right */
    { "g.png", 0, { 0.3f, 0.1f, 0.6f } },   /* 6: wrong (2 at 0.6) */
    { "h.png", 2, { 0.0f, 0.0f, 0.0f } },   /* 7: no prediction */
    { "c.png", 0, { 0.1f, 0.1f, 0.8f } },   /* 8: the same path again: after 3, as added */
  };
  static const guint class0[] = { 3, 8, 2, 0, 6 };
  static const guint all[] = { 3, 8, 2, 0, 6, 4 };
  g_autoptr(MienPredictions) predictions = mien_predictions_new (3);
  g_autoptr(GArray) mistakes = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    mien_predictions_add (predictions, samples[i].path, samples[i].label,
                          i == 7 ? NULL : samples[i].p);
  g_assert_cmpuint (predictions->n, ==, G_N_ELEMENTS (samples));
  g_assert_cmpint (predictions->predicted[0], ==, 1);
  g_assert_cmpint (predictions->predicted[1], ==, 0);
  g_assert_cmpint (predictions->predicted[7], ==, -1);
  g_assert_cmpstr (predictions->paths[4], ==, "e.png");
  g_assert_cmpuint (predictions->labels[4], ==, 1);
  g_assert_cmpfloat (predictions->probabilities[4 * 3 + 1], ==, 0.4f);

  mistakes = mien_predictions_mistakes (predictions, 0, 100);
  g_assert_cmpmem (mistakes->data, mistakes->len * sizeof (guint), class0, sizeof class0);
  g_clear_pointer (&mistakes, g_array_unref);
  /* At most n: the first n of the ranking. */
  mistakes = mien_predictions_mistakes (predictions, 0, 3);
  g_assert_cmpmem (mistakes->data, mistakes->len * sizeof (guint), class0, 3 * sizeof (guint));
  g_clear_pointer (&mistakes, g_array_unref);
  mistakes = mien_predictions_mistakes (predictions, 1, 100);
  g_assert_cmpuint (mistakes->len, ==, 1);
  g_assert_cmpuint (g_array_index (mistakes, guint, 0), ==, 4);
  g_clear_pointer (&mistakes, g_array_unref);
  /* A sample without a prediction is no mistake to look at. */
  mistakes = mien_predictions_mistakes (predictions, 2, 100);
  g_assert_cmpuint (mistakes->len, ==, 0);
  g_clear_pointer (&mistakes, g_array_unref);
  mistakes = mien_predictions_mistakes (predictions, MIEN_PREDICTIONS_ALL_CLASSES, 100);
  g_assert_cmpmem (mistakes->data, mistakes->len * sizeof (guint), all, sizeof all);
  g_clear_pointer (&mistakes, g_array_unref);
  mistakes = mien_predictions_mistakes (predictions, 0, 0);
  g_assert_cmpuint (mistakes->len, ==, 0);
}

/* A real evaluation (a random model on demo images, an unreadable one among them): every
 * sample is kept with its path, class and the probabilities mien_ensemble_predict_file ()
 * gives; each class's mistakes are wrong, of that class, sorted, and as many as the confusion
 * matrix counts. */
static void
test_mistakes_evaluation (MienTestScratch *scratch,
                          gconstpointer    data)
{
  const char * const *classes = mien_demo_data_get_classes ();
  guint k = g_strv_length ((char **) classes);
  g_autofree char *root = g_build_filename (scratch->dir, "demo", NULL);
  g_autofree char *val_dir = g_build_filename (root, "val", NULL);
  g_autofree char *broken = g_build_filename (val_dir, classes[0], "zz-broken.png", NULL);
  MienDemoDataOptions options = MIEN_DEMO_DATA_OPTIONS_INIT;
  g_autoptr(MienModel) model = mien_test_random_model ("resnet:18", SIZE, classes, FALSE);
  g_autoptr(MienEnsemble) ensemble = mien_ensemble_new ();
  g_autoptr(MienDataset) val = NULL;
  g_autoptr(MienMetrics) metrics = NULL;
  g_autoptr(MienPredictions) predictions = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *average = g_new (float, k);
  guint n_mistakes = 0;

  options.per_class = 8;
  options.size = SIZE;
  g_assert_true (mien_demo_data_generate (root, &options, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (broken, "not a picture", -1, &error));
  g_assert_true (mien_ensemble_add (ensemble, model, &error));
  g_assert_no_error (error);
  val = mien_dataset_open (val_dir, classes, &error);
  g_assert_no_error (error);

  metrics = mien_ensemble_evaluate_predictions (ensemble, val, 1, NULL, &predictions, NULL,
                                                NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (predictions);
  g_assert_cmpuint (predictions->n, ==, mien_dataset_get_n_samples (val));
  g_assert_cmpuint (predictions->n_classes, ==, k);
  for (guint i = 0; i < predictions->n; i++)
    {
      const float *p = predictions->probabilities + (gsize) i * k;

      g_assert_cmpstr (predictions->paths[i], ==, mien_dataset_get_path (val, i));
      g_assert_cmpuint (predictions->labels[i], ==, mien_dataset_get_label (val, i));
      if (g_str_equal (predictions->paths[i], broken))
        {
          g_assert_cmpint (predictions->predicted[i], ==, -1);
          continue;
        }
      g_assert_true (mien_ensemble_predict_file (ensemble, predictions->paths[i], NULL, average,
                                                 &error));
      g_assert_no_error (error);
      for (guint c = 0; c < k; c++)
        g_assert_cmpfloat_with_epsilon (p[c], average[c], 1e-5);
      g_assert_cmpint (predictions->predicted[i], ==, (int) mien_probabilities_argmax (p, k));
    }

  for (guint t = 0; t < k; t++)
    {
      g_autoptr(GArray) mistakes = mien_predictions_mistakes (predictions, (int) t, G_MAXUINT);
      guint64 wrong = 0;

      for (guint c = 0; c < k; c++)
        if (c != t)
          wrong += metrics->confusion[t * k + c];
      g_assert_cmpuint (mistakes->len, ==, wrong);
      for (guint m = 0; m < mistakes->len; m++)
        {
          guint i = g_array_index (mistakes, guint, m);
          int predicted = predictions->predicted[i];
          float p = predictions->probabilities[(gsize) i * k + (guint) predicted];

          g_assert_cmpuint (predictions->labels[i], ==, t);
          g_assert_cmpint (predicted, >=, 0);
          g_assert_cmpint (predicted, !=, (int) t);
          if (m > 0)
            {
              guint before = g_array_index (mistakes, guint, m - 1);
              float q = predictions->probabilities[(gsize) before * k +
                                                   (guint) predictions->predicted[before]];

              g_assert_cmpfloat (q, >=, p);
              if (q == p)
                g_assert_cmpint (strcmp (predictions->paths[before], predictions->paths[i]), <=,
                                 0);
            }
        }
      n_mistakes += mistakes->len;
    }
  /* A random model gets some wrong: the checks above did check something. */
  g_assert_cmpuint (n_mistakes, >, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  mien_init ();
  if (g_getenv ("MIEN_NUM_THREADS") == NULL)
    mien_torch_set_num_threads (1);
  mien_torch_manual_seed (15);

  g_test_add_func ("/mistakes/ranking", test_mistakes_ranking);
  g_test_add ("/mistakes/evaluation", MienTestScratch, NULL, mien_test_scratch_set_up,
              test_mistakes_evaluation, mien_test_scratch_tear_down);
  return g_test_run ();
}
