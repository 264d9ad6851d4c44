/* test-frame-predictor.c — predictions on a stream of frames: what arrives where, what equals
 * what, what is dropped, and that nothing arrives after stop.
 *
 * Two randomly initialised ResNet-18s at 32 px make the ensemble: the numbers mean nothing,
 * but each one must equal the ensemble's own answer for the same crop.
 */
#include "config.h"

#include <string.h>

#include "mien-explain.h"
#include "mien-frame-feed.h"
#include "mien-frame-predictor.h"
#include "mien-image.h"
#include "mien-test-util.h"

#define N_BURST 40

static const char * const classes[] = { "neutral", "happy", "sad", NULL };

static MienEnsemble *
make_ensemble (guint n_models)
{
  g_autoptr(MienEnsemble) ensemble = mien_ensemble_new ();
  MienModelSpec spec = mien_test_random_spec ("resnet:18", 32, MIEN_MODE_FINETUNE, classes);
  for (guint m = 0; m < n_models; m++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MienModel) model = mien_model_new (mien_plugin_engine_get_default (), &spec,
                                                   &error);

      g_assert_no_error (error);
      g_assert_true (mien_ensemble_add (ensemble, model, &error));
      g_assert_no_error (error);
    }
  return g_steal_pointer (&ensemble);
}

static GdkPixbuf *
random_frame (GRand *rand,
              int    width,
              int    height)
{
  GdkPixbuf *frame = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  guint8 *pixels = gdk_pixbuf_get_pixels (frame);
  int stride = gdk_pixbuf_get_rowstride (frame);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width * 3; x++)
      pixels[y * stride + x] = g_rand_int_range (rand, 0, 256);
  return frame;
}

/* What the main context received. */
typedef struct {
  GThread   *main_thread;
  GPtrArray *predictions;  /* MienFramePrediction copies */
  GPtrArray *errors;       /* GError copies */
  guint      off_thread;
} Received;

static void
received_init (Received *received)
{
  received->main_thread = g_thread_self ();
  received->predictions = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_frame_prediction_free);
  received->errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  received->off_thread = 0;
}

static void
received_clear (Received *received)
{
  g_ptr_array_unref (received->predictions);
  g_ptr_array_unref (received->errors);
}

static void
prediction_cb (MienFramePredictor        *predictor,
               const MienFramePrediction *prediction,
               gpointer                   user_data)
{
  Received *received = user_data;

  if (g_thread_self () != received->main_thread)
    received->off_thread++;
  g_ptr_array_add (received->predictions, mien_frame_prediction_copy (prediction));
}

static void
error_cb (MienFramePredictor *predictor,
          const GError       *error,
          gpointer            user_data)
{
  Received *received = user_data;

  if (g_thread_self () != received->main_thread)
    received->off_thread++;
  g_ptr_array_add (received->errors, g_error_copy (error));
}

static void
connect (MienFramePredictor *predictor,
         Received           *received)
{
  g_signal_connect (predictor, "prediction", G_CALLBACK (prediction_cb), received);
  g_signal_connect (predictor, "error", G_CALLBACK (error_cb), received);
}

/* Every pushed frame accounted for, and every result delivered. */
static gboolean
drained (MienFramePredictor *predictor,
         Received           *received)
{
  guint64 pushed = mien_frame_predictor_get_n_pushed (predictor);
  guint64 predicted = mien_frame_predictor_get_n_predicted (predictor);
  guint64 dropped = mien_frame_predictor_get_n_dropped (predictor);

  return pushed == predicted + dropped && received->predictions->len == predicted;
}

static void
wait_drained (MienFramePredictor *predictor,
              Received           *received,
              guint               expected_pushed)
{
  gint64 end = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  while ((mien_frame_predictor_get_n_pushed (predictor) < expected_pushed ||
          !drained (predictor, received)) &&
         g_get_monotonic_time () < end)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (1000);
    }
  g_assert_true (drained (predictor, received));
}

static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * (gint64) 1000;

  while (g_get_monotonic_time () < end)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (1000);
    }
}

static void
assert_close (const float *a,
              const float *b,
              guint        n)
{
  for (guint i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (a[i], b[i], 1e-6);
}

typedef struct {
  MienFramePredictor *predictor;
  GPtrArray          *frames;
} Pusher;

static gpointer
push_all (gpointer data)
{
  Pusher *pusher = data;

  for (guint i = 0; i < pusher->frames->len; i++)
    mien_frame_predictor_push (pusher->predictor, pusher->frames->pdata[i]);
  return NULL;
}

/* ---- Tests ------------------------------------------------------------------------------- */

static void
test_burst (void)
{
  g_autoptr(MienEnsemble) ensemble = make_ensemble (2);
  g_autoptr(MienFramePredictor) predictor = NULL;
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  Received received;
  Pusher pusher;
  GThread *thread;
  guint64 last_number = 0;
  guint n;

  received_init (&received);
  for (guint i = 0; i < N_BURST; i++)
    g_ptr_array_add (frames, random_frame (rand, 48, 40));

  predictor = mien_frame_predictor_new (ensemble, MIEN_FRAME_REGION_CENTRE);
  connect (predictor, &received);
  g_assert_cmpfloat (mien_frame_predictor_get_rate (predictor), ==, 0.0);

  /* A burst from another thread, far faster than inference. */
  pusher.predictor = predictor;
  pusher.frames = frames;
  thread = g_thread_new ("pusher", push_all, &pusher);
  g_thread_join (thread);
  wait_drained (predictor, &received, N_BURST);

  g_assert_cmpuint (mien_frame_predictor_get_n_pushed (predictor), ==, N_BURST);
  g_assert_cmpuint (mien_frame_predictor_get_n_dropped (predictor), >, 0);
  g_assert_cmpuint (mien_frame_predictor_get_n_predicted (predictor), >=, 1);
  g_assert_cmpuint (received.errors->len, ==, 0);
  g_assert_cmpuint (received.off_thread, ==, 0);
  g_assert_cmpfloat (mien_frame_predictor_get_rate (predictor), >, 0.0);
  g_test_message ("%u of %u frames predicted, %.1f per second",
                  received.predictions->len, N_BURST,
                  mien_frame_predictor_get_rate (predictor));

  for (guint i = 0; i < received.predictions->len; i++)
    {
      MienFramePrediction *p = received.predictions->pdata[i];

      /* Newest first: numbers only go up, and the last frame is never replaced. */
      g_assert_cmpuint (p->frame_number, >, last_number);
      last_number = p->frame_number;
      g_assert_true (p->frame == frames->pdata[p->frame_number - 1]);
      g_assert_cmpuint (p->n_models, ==, 2);
      g_assert_cmpuint (p->n_classes, ==, 3);
      g_assert_false (p->faces);
      g_assert_cmpuint (p->n_regions, ==, 1);
      g_assert_cmpuint (p->regions[0].track_id, ==, 0);
      g_assert_cmpint (p->regions[0].x, ==, 4);
      g_assert_cmpint (p->regions[0].y, ==, 0);
      g_assert_cmpint (p->regions[0].width, ==, 40);
      g_assert_cmpint (p->regions[0].height, ==, 40);
      g_assert_cmpint (p->done_us, >=, p->pushed_us);
      g_assert_cmpfloat (p->latency_ms, ==, (p->done_us - p->pushed_us) / 1000.0);
      for (guint c = 0; c < p->n_classes; c++)
        g_assert_cmpfloat (p->regions[0].average[p->regions[0].best_class], >=, p->regions[0].average[c]);
    }
  g_assert_cmpuint (last_number, ==, N_BURST);

  /* The ensemble is ours again once the worker has stopped: each result must be what it
   * says about the same crop. */
  mien_frame_predictor_stop (predictor);
  for (guint i = 0; i < received.predictions->len; i++)
    {
      MienFramePrediction *p = received.predictions->pdata[i];
      g_autoptr(GdkPixbuf) crop = gdk_pixbuf_new_subpixbuf (p->frame, p->regions[0].x, p->regions[0].y, p->regions[0].width,
                                                            p->regions[0].height);
      g_autoptr(GError) error = NULL;
      float per_model[2 * 3], average[3];

      g_assert_true (mien_ensemble_predict_pixbuf (ensemble, crop, per_model, average, &error));
      g_assert_no_error (error);
      assert_close (p->regions[0].per_model, per_model, 2 * 3);
      assert_close (p->regions[0].average, average, 3);
    }

  /* Stopped: pushing does nothing. */
  n = received.predictions->len;
  mien_frame_predictor_push (predictor, frames->pdata[0]);
  spin (300);
  g_assert_cmpuint (received.predictions->len, ==, n);
  g_assert_cmpuint (mien_frame_predictor_get_n_pushed (predictor), ==, N_BURST);
  mien_frame_predictor_stop (predictor);

  received_clear (&received);
}

static void
test_stop_discards (void)
{
  g_autoptr(MienEnsemble) ensemble = make_ensemble (1);
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  g_autoptr(GdkPixbuf) frame = random_frame (rand, 32, 32);
  Received received;

  received_init (&received);
  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(MienFramePredictor) predictor = mien_frame_predictor_new (ensemble,
                                                                          MIEN_FRAME_REGION_WHOLE);

      connect (predictor, &received);
      mien_frame_predictor_push (predictor, frame);
      /* Round 0 stops before the worker can finish; later rounds after it has finished and
       * queued its result for the main context, which must then not deliver it. */
      if (round > 0)
        {
          gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

          while (mien_frame_predictor_get_n_predicted (predictor) == 0 &&
                 g_get_monotonic_time () < end)
            g_usleep (1000);
          g_assert_cmpuint (mien_frame_predictor_get_n_predicted (predictor), ==, 1);
        }
      mien_frame_predictor_stop (predictor);
      g_assert_cmpuint (mien_frame_predictor_get_n_pushed (predictor), ==,
                        mien_frame_predictor_get_n_predicted (predictor) +
                        mien_frame_predictor_get_n_dropped (predictor));
      /* Round 2 drops the predictor with its delivery still queued. */
      if (round == 2)
        {
          mien_frame_predictor_push (predictor, frame);
          g_clear_object (&predictor);
        }
      spin (100);
    }
  g_assert_cmpuint (received.predictions->len, ==, 0);
  g_assert_cmpuint (received.errors->len, ==, 0);
  received_clear (&received);
}

static void
test_region (void)
{
  g_autoptr(MienEnsemble) ensemble = make_ensemble (1);
  g_autoptr(MienFramePredictor) predictor = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autoptr(GdkPixbuf) wide = random_frame (rand, 64, 32);
  g_autoptr(GdkPixbuf) tall = random_frame (rand, 31, 64);
  Received received;
  MienFramePrediction *p;
  int x, y, w, h;

  mien_frame_region_rect (MIEN_FRAME_REGION_CENTRE, 64, 32, &x, &y, &w, &h);
  g_assert_cmpint (x, ==, 16);
  g_assert_cmpint (y, ==, 0);
  g_assert_cmpint (w, ==, 32);
  g_assert_cmpint (h, ==, 32);
  mien_frame_region_rect (MIEN_FRAME_REGION_CENTRE, 31, 64, &x, &y, &w, &h);
  g_assert_cmpint (x, ==, 0);
  g_assert_cmpint (y, ==, 16);
  g_assert_cmpint (w, ==, 31);
  g_assert_cmpint (h, ==, 31);
  mien_frame_region_rect (MIEN_FRAME_REGION_WHOLE, 64, 32, &x, &y, &w, &h);
  g_assert_cmpint (x, ==, 0);
  g_assert_cmpint (y, ==, 0);
  g_assert_cmpint (w, ==, 64);
  g_assert_cmpint (h, ==, 32);

  /* And what the predictor reports. */
  received_init (&received);
  predictor = mien_frame_predictor_new (ensemble, MIEN_FRAME_REGION_CENTRE);
  connect (predictor, &received);
  mien_frame_predictor_push (predictor, wide);
  wait_drained (predictor, &received, 1);
  g_assert_cmpuint (received.predictions->len, ==, 1);
  p = received.predictions->pdata[0];
  g_assert_cmpint (p->regions[0].x, ==, 16);
  g_assert_cmpint (p->regions[0].y, ==, 0);
  g_assert_cmpint (p->regions[0].width, ==, 32);
  g_assert_cmpint (p->regions[0].height, ==, 32);
  g_assert_cmpuint (p->frame_number, ==, 1);

  mien_frame_predictor_set_region (predictor, MIEN_FRAME_REGION_WHOLE);
  mien_frame_predictor_push (predictor, wide);
  wait_drained (predictor, &received, 2);
  g_assert_cmpuint (received.predictions->len, ==, 2);
  p = received.predictions->pdata[1];
  g_assert_cmpint (p->regions[0].x, ==, 0);
  g_assert_cmpint (p->regions[0].y, ==, 0);
  g_assert_cmpint (p->regions[0].width, ==, 64);
  g_assert_cmpint (p->regions[0].height, ==, 32);
  g_assert_cmpuint (p->frame_number, ==, 2);

  mien_frame_predictor_set_region (predictor, MIEN_FRAME_REGION_CENTRE);
  mien_frame_predictor_push (predictor, tall);
  wait_drained (predictor, &received, 3);
  p = received.predictions->pdata[2];
  g_assert_cmpint (p->regions[0].x, ==, 0);
  g_assert_cmpint (p->regions[0].y, ==, 16);
  g_assert_cmpint (p->regions[0].width, ==, 31);
  g_assert_cmpint (p->regions[0].height, ==, 31);

  mien_frame_predictor_stop (predictor);
  received_clear (&received);
}

static void
test_error (void)
{
  g_autoptr(MienEnsemble) empty = mien_ensemble_new ();
  g_autoptr(MienFramePredictor) predictor = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (9);
  g_autoptr(GdkPixbuf) frame = random_frame (rand, 32, 32);
  Received received;
  GError *error;

  /* No model: every frame fails, the worker goes on, each failure counts as dropped. */
  received_init (&received);
  predictor = mien_frame_predictor_new (empty, MIEN_FRAME_REGION_WHOLE);
  connect (predictor, &received);
  mien_frame_predictor_push (predictor, frame);
  while (received.errors->len < 1)
    spin (5);
  mien_frame_predictor_push (predictor, frame);
  while (received.errors->len < 2)
    spin (5);
  error = received.errors->pdata[0];
  g_assert_error (error, MIEN_ENSEMBLE_ERROR, MIEN_ENSEMBLE_ERROR_EMPTY);
  g_assert_cmpuint (received.predictions->len, ==, 0);
  g_assert_cmpuint (mien_frame_predictor_get_n_pushed (predictor), ==, 2);
  g_assert_cmpuint (mien_frame_predictor_get_n_predicted (predictor), ==, 0);
  g_assert_cmpuint (mien_frame_predictor_get_n_dropped (predictor), ==, 2);
  g_assert_cmpuint (received.off_thread, ==, 0);
  mien_frame_predictor_stop (predictor);
  received_clear (&received);
}

static void
test_prediction_boxed (void)
{
  float per_model[] = { 0.25f, 0.75f, 0.5f, 0.5f };
  float average[] = { 0.375f, 0.625f };
  g_autoptr(GdkPixbuf) frame = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 4, 4);
  MienRegionPrediction region = { 0, };
  MienFramePrediction p = { 0, };
  MienFramePrediction *copy;

  p.frame_number = 7;
  p.n_models = 2;
  p.n_classes = 2;
  region.per_model = per_model;
  region.average = average;
  region.best_class = 1;
  region.width = region.height = 4;
  region.track_id = 3;
  p.n_regions = 1;
  p.regions = &region;
  p.frame = frame;
  copy = g_boxed_copy (MIEN_TYPE_FRAME_PREDICTION, &p);
  g_assert_true (copy->regions != &region);
  g_assert_true (copy->regions[0].per_model != per_model);
  g_assert_cmpmem (copy->regions[0].per_model, sizeof per_model, per_model, sizeof per_model);
  g_assert_cmpmem (copy->regions[0].average, sizeof average, average, sizeof average);
  g_assert_cmpuint (copy->regions[0].track_id, ==, 3);
  g_assert_true (copy->frame == frame);
  g_assert_cmpuint (copy->frame_number, ==, 7);
  g_boxed_free (MIEN_TYPE_FRAME_PREDICTION, copy);
}

/* ---- The feed: frames to a predictor and to the main loop ---------------------------------- */

typedef struct {
  GThread   *main_thread;
  GPtrArray *frames;      /* GdkPixbuf, as delivered */
  guint      off_thread;
} Shown;

static void
shown_cb (MienFrameFeed *feed,
          GdkPixbuf     *frame,
          gpointer       user_data)
{
  Shown *shown = user_data;

  if (g_thread_self () != shown->main_thread)
    shown->off_thread++;
  g_ptr_array_add (shown->frames, g_object_ref (frame));
}

typedef struct {
  MienFrameFeed *feed;
  GPtrArray     *frames;
} FeedPusher;

static gpointer
feed_all (gpointer data)
{
  FeedPusher *pusher = data;

  for (guint i = 0; i < pusher->frames->len; i++)
    mien_frame_feed_push (pusher->feed, pusher->frames->pdata[i]);
  return NULL;
}

/* Every frame reaches the predictor; the main loop gets only the newest of those that came
 * while it was busy, on its own thread; nothing moves after stop. */
static void
test_feed (void)
{
  g_autoptr(MienEnsemble) ensemble = make_ensemble (1);
  g_autoptr(MienFramePredictor) predictor = mien_frame_predictor_new (ensemble,
                                                                      MIEN_FRAME_REGION_WHOLE);
  g_autoptr(MienFramePredictor) stopped = NULL;
  g_autoptr(MienFrameFeed) feed = mien_frame_feed_new ();
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GRand) rand = g_rand_new_with_seed (8);
  Shown shown = { g_thread_self (), g_ptr_array_new_with_free_func (g_object_unref), 0 };
  FeedPusher pusher = { feed, frames };

  for (guint i = 0; i < 13; i++)
    g_ptr_array_add (frames, random_frame (rand, 24, 16));
  g_signal_connect (feed, "frame", G_CALLBACK (shown_cb), &shown);
  g_assert_null (mien_frame_feed_swap_predictor (feed, predictor));

  /* Ten frames from a streaming thread while the main loop is busy (joining it). */
  pusher.frames = g_ptr_array_new ();
  for (guint i = 0; i < 10; i++)
    g_ptr_array_add (pusher.frames, frames->pdata[i]);
  g_thread_join (g_thread_new ("feed", feed_all, &pusher));
  g_ptr_array_unref (pusher.frames);
  g_assert_cmpuint (mien_frame_predictor_get_n_pushed (predictor), ==, 10);
  spin (50);
  g_assert_cmpuint (shown.frames->len, ==, 1);
  g_assert_true (shown.frames->pdata[0] == frames->pdata[9]);

  /* One more, shown on its own. */
  mien_frame_feed_push (feed, frames->pdata[10]);
  spin (50);
  g_assert_cmpuint (shown.frames->len, ==, 2);
  g_assert_true (shown.frames->pdata[1] == frames->pdata[10]);
  g_assert_cmpuint (mien_frame_predictor_get_n_pushed (predictor), ==, 11);

  /* Stopped before the main loop ran: the waiting frame is not shown, later ones go nowhere. */
  mien_frame_feed_push (feed, frames->pdata[11]);
  stopped = mien_frame_feed_stop (feed);
  g_assert_true (stopped == predictor);
  mien_frame_feed_push (feed, frames->pdata[12]);
  spin (50);
  g_assert_cmpuint (shown.frames->len, ==, 2);
  g_assert_cmpuint (mien_frame_predictor_get_n_pushed (predictor), ==, 12);
  g_assert_null (mien_frame_feed_stop (feed));
  g_assert_null (mien_frame_feed_swap_predictor (feed, predictor));
  g_assert_null (mien_frame_feed_stop (feed));
  g_assert_cmpuint (shown.off_thread, ==, 0);
  g_ptr_array_unref (shown.frames);
}

typedef struct {
  GThread *main_thread;
  guint    n_done;
  guint    n_notified;
  guint    off_thread;
} TeardownDone;

static gboolean
teardown_done_cb (gpointer data)
{
  TeardownDone *done = data;

  if (g_thread_self () != done->main_thread)
    done->off_thread++;
  done->n_done++;
  return G_SOURCE_REMOVE;
}

static void
teardown_notify_cb (gpointer data)
{
  ((TeardownDone *) data)->n_notified++;
}

/* A running camera and its predictor stopped on a thread, the camera first: every frame it
 * gave reached the predictor, none comes after, and the main loop hears of it once. */
static void
test_feed_teardown (void)
{
  g_autoptr(MienEnsemble) ensemble = make_ensemble (1);
  g_autoptr(MienFramePredictor) predictor = mien_frame_predictor_new (ensemble,
                                                                      MIEN_FRAME_REGION_WHOLE);
  g_autoptr(MienFrameFeed) feed = mien_frame_feed_new ();
  g_autoptr(MienCamera) camera = NULL;
  g_autoptr(GError) error = NULL;
  TeardownDone done = { g_thread_self (), 0, 0, 0 };
  GThread *thread;
  guint64 n_frames, n_pushed;
  gint64 end;

  if (!mien_camera_is_supported ())
    {
      g_test_skip ("Built without camera support");
      return;
    }
  camera = mien_camera_new ("test", 64, 48, &error);
  g_assert_no_error (error);
  mien_frame_feed_attach (feed, camera);
  g_assert_null (mien_frame_feed_swap_predictor (feed, predictor));
  g_assert_true (mien_camera_start (camera, &error));
  g_assert_no_error (error);
  end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (mien_frame_predictor_get_n_pushed (predictor) < 5 && g_get_monotonic_time () < end)
    spin (10);
  g_assert_cmpuint (mien_frame_predictor_get_n_pushed (predictor), >=, 5);

  thread = mien_frame_feed_teardown (g_object_ref (camera), g_object_ref (predictor),
                                     teardown_done_cb, &done, teardown_notify_cb);
  g_thread_join (thread);
  n_frames = mien_camera_get_n_frames (camera);
  n_pushed = mien_frame_predictor_get_n_pushed (predictor);
  g_assert_cmpuint (n_pushed, ==, n_frames);
  g_assert_cmpuint (done.n_done, ==, 0);
  spin (200);
  g_assert_cmpuint (done.n_done, ==, 1);
  g_assert_cmpuint (done.n_notified, ==, 1);
  g_assert_cmpuint (done.off_thread, ==, 0);
  g_assert_cmpuint (mien_camera_get_n_frames (camera), ==, n_frames);
  g_assert_cmpuint (mien_frame_predictor_get_n_pushed (predictor), ==, n_pushed);
  /* Stopped for good: a frame pushed now is not counted. */
  {
    g_autoptr(GRand) rand = g_rand_new_with_seed (9);
    g_autoptr(GdkPixbuf) frame = random_frame (rand, 24, 16);

    mien_frame_predictor_push (predictor, frame);
    g_assert_cmpuint (mien_frame_predictor_get_n_pushed (predictor), ==, n_pushed);
  }
}

/* ---- Explanations ---------------------------------------------------------------------- */

typedef struct {
  Received  *received;
  GPtrArray *explanations;    /* MienFrameExplanation copies */
  guint      before_prediction;  /* explanations that came before their prediction */
} Explained;

static void
explanation_cb (MienFramePredictor         *predictor,
                const MienFrameExplanation *explanation,
                gpointer                    user_data)
{
  Explained *explained = user_data;
  GPtrArray *predictions = explained->received->predictions;

  if (g_thread_self () != explained->received->main_thread)
    explained->received->off_thread++;
  if (predictions->len == 0 ||
      ((MienFramePrediction *) g_ptr_array_index (predictions, predictions->len - 1))->frame_number <
      explanation->frame_number)
    explained->before_prediction++;
  g_ptr_array_add (explained->explanations, mien_frame_explanation_copy (explanation));
}

/* Pushes `frame` and waits until it is predicted. */
static void
push_and_wait (MienFramePredictor *predictor,
               Received           *received,
               GdkPixbuf          *frame)
{
  guint64 n = mien_frame_predictor_get_n_pushed (predictor) + 1;

  mien_frame_predictor_push (predictor, frame);
  wait_drained (predictor, received, n);
}

/* A region's map is the ensemble's Grad-CAM of that region for its predicted class, the
 * prediction arrives first, explanations take at most a third of the thread (so frames that
 * follow one closely are predicted, not explained), and off means none. */
static void
test_explain (void)
{
  g_autoptr(MienEnsemble) ensemble = make_ensemble (2);
  g_autoptr(MienFramePredictor) predictor = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (15);
  g_autoptr(GdkPixbuf) frame = random_frame (rand, 48, 32);
  g_autoptr(GdkPixbuf) crop = gdk_pixbuf_new_subpixbuf (frame, 8, 0, 32, 32);
  g_autoptr(GPtrArray) explanations = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_frame_explanation_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) images = NULL;
  g_autoptr(MienTensor) expected = NULL;
  g_autofree guint8 *pixels = g_malloc (3 * 32 * 32);
  float expected_map[32 * 32];
  Received received;
  Explained explained = { &received, explanations, 0 };
  MienFrameExplanation *e;
  MienFramePrediction *p;
  guint n_explained;

  received_init (&received);
  predictor = mien_frame_predictor_new (ensemble, MIEN_FRAME_REGION_CENTRE);
  connect (predictor, &received);
  g_signal_connect (predictor, "explanation", G_CALLBACK (explanation_cb), &explained);

  /* Off by default. */
  push_and_wait (predictor, &received, frame);
  spin (50);
  g_assert_cmpuint (explanations->len, ==, 0);

  mien_frame_predictor_set_explain (predictor, TRUE);
  push_and_wait (predictor, &received, frame);
  while (explanations->len < 1)
    spin (5);
  e = explanations->pdata[0];
  p = received.predictions->pdata[1];
  g_assert_cmpuint (e->frame_number, ==, 2);
  g_assert_cmpuint (e->n_regions, ==, 1);
  g_assert_cmpint (e->boxes[0].x, ==, p->regions[0].face.x);
  g_assert_cmpint (e->boxes[0].y, ==, p->regions[0].face.y);
  g_assert_cmpint (e->boxes[0].width, ==, p->regions[0].face.width);
  g_assert_cmpint (e->boxes[0].height, ==, p->regions[0].face.height);
  g_assert_cmpuint (e->classes[0], ==, p->regions[0].best_class);
  /* The map lies over the centre square, unturned. */
  g_assert_cmpfloat (e->places[0].centre_x, ==, 24.0);
  g_assert_cmpfloat (e->places[0].centre_y, ==, 16.0);
  g_assert_cmpfloat (e->places[0].width, ==, 32.0);
  g_assert_cmpfloat (e->places[0].height, ==, 32.0);
  g_assert_cmpfloat (e->places[0].angle, ==, 0.0);
  g_assert_cmpint (e->map_size, ==, 32);

  g_assert_true (mien_image_from_pixbuf (crop, 32, FALSE, pixels, NULL, &error));
  images = mien_image_batch_tensor (pixels, 1, 32, &error);
  g_assert_no_error (error);
  expected = mien_explain_grad_cam_ensemble (ensemble, images, p->regions[0].best_class, NULL,
                                             &error);
  g_assert_no_error (error);
  g_assert_true (mien_tensor_to_host (expected, expected_map, sizeof expected_map, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 32 * 32; i++)
    g_assert_cmpfloat_with_epsilon (e->maps[i], expected_map[i], 1e-5);

  /* Frames pushed as soon as the last is predicted: the explanation of one delays the next
   * by twice its time, during which the frames are predicted only. */
  for (guint i = 0; i < 6; i++)
    push_and_wait (predictor, &received, frame);
  /* The last one's explanation, if any, delivered too. */
  spin (50);
  while (explanations->len < mien_frame_predictor_get_n_explained (predictor))
    spin (5);
  spin (50);
  g_test_message ("%u of 7 frames explained", explanations->len);
  /* Explained every frame: 7; every other one at most with the rule (an explanation costs
   * more than a prediction): 4. */
  g_assert_cmpuint (explanations->len, >=, 1);
  g_assert_cmpuint (explanations->len, <=, 4);
  g_assert_cmpuint (mien_frame_predictor_get_n_explained (predictor), ==, explanations->len);
  g_assert_cmpuint (explained.before_prediction, ==, 0);

  /* Off: no more. */
  mien_frame_predictor_set_explain (predictor, FALSE);
  spin (50);
  n_explained = explanations->len;
  for (guint i = 0; i < 3; i++)
    push_and_wait (predictor, &received, frame);
  spin (50);
  g_assert_cmpuint (explanations->len, ==, n_explained);
  g_assert_cmpuint (received.errors->len, ==, 0);
  g_assert_cmpuint (received.off_thread, ==, 0);
  mien_frame_predictor_stop (predictor);
  received_clear (&received);
}

static void
explanation_error_cb (MienFramePredictor *predictor,
                      const GError       *error,
                      gpointer            user_data)
{
  g_ptr_array_add (user_data, g_error_copy (error));
}

/* A model the engine cannot explain: one explanation error (not a frame's), predictions go
 * on, no more tries. */
static void
test_explain_unsupported (void)
{
  g_autoptr(MienEnsemble) ensemble = mien_ensemble_new ();
  g_autoptr(MienModel) toy = mien_test_toy_model (classes, NULL);
  g_autoptr(MienFramePredictor) predictor = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (16);
  g_autoptr(GdkPixbuf) frame = random_frame (rand, 32, 32);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) failures = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  const GError *failure;
  Received received;

  g_assert_true (mien_ensemble_add (ensemble, toy, &error));
  g_assert_no_error (error);
  received_init (&received);
  predictor = mien_frame_predictor_new (ensemble, MIEN_FRAME_REGION_WHOLE);
  connect (predictor, &received);
  g_signal_connect (predictor, "explanation-error", G_CALLBACK (explanation_error_cb), failures);
  mien_frame_predictor_set_explain (predictor, TRUE);
  for (guint i = 0; i < 3; i++)
    push_and_wait (predictor, &received, frame);
  spin (100);
  g_assert_cmpuint (received.predictions->len, ==, 3);
  g_assert_cmpuint (received.errors->len, ==, 0);
  g_assert_cmpuint (failures->len, ==, 1);
  failure = failures->pdata[0];
  g_assert_error (failure, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_UNSUPPORTED);
  g_assert_cmpuint (mien_frame_predictor_get_n_explained (predictor), ==, 0);
  mien_frame_predictor_stop (predictor);
  received_clear (&received);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  mien_init ();

  g_test_add_func ("/frame-predictor/prediction-boxed", test_prediction_boxed);
  g_test_add_func ("/frame-predictor/burst", test_burst);
  g_test_add_func ("/frame-predictor/stop-discards", test_stop_discards);
  g_test_add_func ("/frame-predictor/region", test_region);
  g_test_add_func ("/frame-predictor/error", test_error);
  g_test_add_func ("/frame-predictor/feed", test_feed);
  g_test_add_func ("/frame-predictor/feed-teardown", test_feed_teardown);
  g_test_add_func ("/frame-predictor/explain", test_explain);
  g_test_add_func ("/frame-predictor/explain-unsupported", test_explain_unsupported);
  return g_test_run ();
}
