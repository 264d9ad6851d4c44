/* test-prediction-log.c — a session's per-face predictions as predict --faces CSV.
 *
 * The predictions are made up (two faces in one frame, then one face half a second later): what
 * is checked is which of them become rows, what the rows say and how the file is written. A
 * randomly initialised ResNet-18 at 32 px gives the ensemble its classes.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "mien-prediction-log.h"
#include "mien-test-util.h"

typedef MienTestScratch Fixture;

static const char * const classes[] = { "neutral", "happy", "sad", NULL };

static MienEnsemble *
make_ensemble (void)
{
  g_autoptr(MienEnsemble) ensemble = mien_ensemble_new ();
  g_autoptr(MienModel) model = mien_test_random_model ("resnet:18", 32, classes, FALSE);
  g_autoptr(GError) error = NULL;

  g_assert_true (mien_ensemble_add (ensemble, model, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&ensemble);
}

static float probs[2][3] = { { 0.125f, 0.75f, 0.125f }, { 0.5f, 0.25f, 0.25f } };

/* Frame `number` pushed at `pushed_us` with `n_faces` faces (at most two), 3 classes. */
static MienFramePrediction
make_prediction (guint64               number,
                 gint64                pushed_us,
                 guint                 n_faces,
                 MienRegionPrediction *regions)
{
  MienFramePrediction prediction = { 0, };

  for (guint i = 0; i < n_faces; i++)
    {
      MienRegionPrediction region = { 0, };

      region.x = 10 + 100 * i;
      region.y = 20;
      region.width = region.height = 50;
      region.face.x = 10.25f + 100 * i;
      region.face.y = 20.0f;
      region.face.width = region.face.height = 50.0f;
      region.face.score = 0.875f;
      region.track_id = 3 + i;
      region.average = probs[i];
      region.per_model = probs[i];
      region.best_class = i == 0 ? 1 : 0;
      regions[i] = region;
    }
  prediction.frame_number = number;
  prediction.n_models = 1;
  prediction.n_classes = 3;
  prediction.faces = TRUE;
  prediction.n_regions = n_faces;
  prediction.regions = regions;
  prediction.pushed_us = pushed_us;
  return prediction;
}

static void
test_rows (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(MienEnsemble) ensemble = make_ensemble ();
  g_autoptr(MienPredictionLog) log = mien_prediction_log_new (ensemble, "v4l2:/dev/video0");
  g_autofree char *path = g_build_filename (f->dir, "log.csv", NULL);
  g_autofree char *csv = NULL;
  g_autoptr(GError) error = NULL;
  MienRegionPrediction regions[2];
  MienFramePrediction prediction;

  /* Two faces in frame 7 (0-based 6), the first logged: time 0. */
  prediction = make_prediction (7, 5000000, 2, regions);
  g_assert_cmpuint (mien_prediction_log_add (log, &prediction), ==, 2);
  /* No face: nothing. */
  prediction = make_prediction (8, 5250000, 0, regions);
  g_assert_cmpuint (mien_prediction_log_add (log, &prediction), ==, 0);
  /* Other models' classes (the models being changed): nothing. */
  prediction = make_prediction (9, 5300000, 1, regions);
  prediction.n_classes = 4;
  g_assert_cmpuint (mien_prediction_log_add (log, &prediction), ==, 0);
  /* Region mode: not faces, nothing. */
  prediction = make_prediction (9, 5300000, 1, regions);
  prediction.faces = FALSE;
  g_assert_cmpuint (mien_prediction_log_add (log, &prediction), ==, 0);
  /* One face half a second later. */
  prediction = make_prediction (10, 5500000, 1, regions);
  g_assert_cmpuint (mien_prediction_log_add (log, &prediction), ==, 1);
  g_assert_cmpuint (mien_prediction_log_get_n_rows (log), ==, 3);

  g_assert_true (mien_prediction_log_save (log, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &csv, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (csv, ==,
                   "path,frame,timestamp,faces,face,track,x,y,width,height,score,class,"
                   "p_neutral,p_happy,p_sad\n"
                   "v4l2:/dev/video0,6,0.000,2,0,3,10.2,20.0,50.0,50.0,0.875,happy,"
                   "0.125000,0.750000,0.125000\n"
                   "v4l2:/dev/video0,6,0.000,2,1,4,110.2,20.0,50.0,50.0,0.875,neutral,"
                   "0.500000,0.250000,0.250000\n"
                   "v4l2:/dev/video0,9,0.500,1,0,3,10.2,20.0,50.0,50.0,0.875,happy,"
                   "0.125000,0.750000,0.125000\n");

  /* Cleared: the header only. */
  mien_prediction_log_clear (log);
  g_assert_cmpuint (mien_prediction_log_get_n_rows (log), ==, 0);
  g_assert_cmpuint (mien_prediction_log_get_size (log), ==, 0);
}

static void
test_save_failure (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(MienEnsemble) ensemble = make_ensemble ();
  g_autoptr(MienPredictionLog) log = mien_prediction_log_new (ensemble, "test");
  g_autofree char *missing = g_build_filename (f->dir, "gone", "log.csv", NULL);
  g_autofree char *path = g_build_filename (f->dir, "log.csv", NULL);
  g_autofree char *csv = NULL;
  g_autoptr(GError) error = NULL;
  MienRegionPrediction regions[2];
  MienFramePrediction prediction = make_prediction (1, 0, 2, regions);
  g_auto(GStrv) lines = NULL;

  mien_prediction_log_add (log, &prediction);
  /* A folder that is not there: an error naming the file; the rows stay for the next try. */
  g_assert_false (mien_prediction_log_save (log, missing, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, missing));
  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
  g_clear_error (&error);
  /* A folder where the file should be: refused, left alone. */
  g_assert_false (mien_prediction_log_save (log, f->dir, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
  g_clear_error (&error);
  g_assert_true (g_file_test (f->dir, G_FILE_TEST_IS_DIR));

  g_assert_cmpuint (mien_prediction_log_get_n_rows (log), ==, 2);
  g_assert_true (mien_prediction_log_save (log, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &csv, NULL, &error));
  lines = g_strsplit (csv, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);  /* the header, two rows, the last newline */
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  mien_init ();

  g_test_add ("/prediction-log/rows", Fixture, NULL, mien_test_scratch_set_up, test_rows,
              mien_test_scratch_tear_down);
  g_test_add ("/prediction-log/save-failure", Fixture, NULL, mien_test_scratch_set_up,
              test_save_failure, mien_test_scratch_tear_down);
  return g_test_run ();
}
