/* mien-frame-predictor.c — one worker thread, a one-frame mailbox, results on the main context. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "mien-frame-predictor.h"

/* The window of mien_frame_predictor_get_rate (). */
#define RATE_WINDOW_US (2 * G_USEC_PER_SEC)

MienFramePrediction *
mien_frame_prediction_copy (const MienFramePrediction *prediction)
{
  MienFramePrediction *copy;

  g_return_val_if_fail (prediction != NULL, NULL);

  copy = g_memdup2 (prediction, sizeof *prediction);
  copy->per_model = g_memdup2 (prediction->per_model,
                               sizeof (float) * prediction->n_models * prediction->n_classes);
  copy->average = g_memdup2 (prediction->average, sizeof (float) * prediction->n_classes);
  if (prediction->frame != NULL)
    g_object_ref (prediction->frame);
  return copy;
}

void
mien_frame_prediction_free (MienFramePrediction *prediction)
{
  if (prediction == NULL)
    return;
  g_free (prediction->per_model);
  g_free (prediction->average);
  g_clear_object (&prediction->frame);
  g_free (prediction);
}

G_DEFINE_BOXED_TYPE (MienFramePrediction, mien_frame_prediction,
                     mien_frame_prediction_copy, mien_frame_prediction_free)

enum {
  SIGNAL_PREDICTION,
  SIGNAL_ERROR,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _MienFramePredictor
{
  GObject          parent_instance;
  MienEnsemble    *ensemble;       /* the worker's alone once it runs */
  GMainContext    *context;
  GThread         *thread;
  gint             stopped;        /* atomic; set before the worker is told to quit */

  GMutex           lock;
  GCond            cond;
  /* Under lock: */
  gboolean         quit;
  GdkPixbuf       *pending;
  guint64          pending_number;
  gint64           pending_us;
  MienFrameRegion  region;
  guint64          n_pushed;
  guint64          n_predicted;
  guint64          n_dropped;
  gint64           first_push_us;
  GQueue           done_times;     /* gint64 * of predictions in the last RATE_WINDOW_US */
};

G_DEFINE_FINAL_TYPE (MienFramePredictor, mien_frame_predictor, G_TYPE_OBJECT)

/* What travels from the worker to the main context. Weak, so that a pending delivery keeps
 * no predictor alive; the "stopped" flag covers a predictor still alive but stopped. */
typedef struct {
  GWeakRef             self;
  MienFramePrediction *prediction;
  GError              *error;
} Delivery;

static void
delivery_free (gpointer data)
{
  Delivery *delivery = data;

  g_weak_ref_clear (&delivery->self);
  g_clear_pointer (&delivery->prediction, mien_frame_prediction_free);
  g_clear_error (&delivery->error);
  g_free (delivery);
}

static gboolean
deliver_cb (gpointer data)
{
  Delivery *delivery = data;
  g_autoptr(MienFramePredictor) self = g_weak_ref_get (&delivery->self);

  if (self == NULL || g_atomic_int_get (&self->stopped))
    return G_SOURCE_REMOVE;
  if (delivery->prediction != NULL)
    g_signal_emit (self, signals[SIGNAL_PREDICTION], 0, delivery->prediction);
  else
    g_signal_emit (self, signals[SIGNAL_ERROR], 0, delivery->error);
  return G_SOURCE_REMOVE;
}

static void
deliver (MienFramePredictor  *self,
         MienFramePrediction *prediction,
         GError              *error)
{
  Delivery *delivery = g_new0 (Delivery, 1);

  g_weak_ref_init (&delivery->self, self);
  delivery->prediction = prediction;
  delivery->error = error;
  /* Default priority: results should not wait behind redraws and other idles. */
  mien_main_context_post (self->context, G_PRIORITY_DEFAULT, "[mien] frame prediction",
                          deliver_cb, delivery, delivery_free);
}

void
mien_frame_region_rect (MienFrameRegion  region,
                        int              frame_width,
                        int              frame_height,
                        int             *x,
                        int             *y,
                        int             *width,
                        int             *height)
{
  int side;

  switch (region)
    {
    case MIEN_FRAME_REGION_CENTRE:
      side = MIN (frame_width, frame_height);
      *x = (frame_width - side) / 2;
      *y = (frame_height - side) / 2;
      *width = *height = side;
      break;
    case MIEN_FRAME_REGION_WHOLE:
    default:
      *x = *y = 0;
      *width = frame_width;
      *height = frame_height;
      break;
    }
}

static MienFramePrediction *
predict (MienFramePredictor  *self,
         GdkPixbuf           *frame,
         MienFrameRegion      region,
         GError             **error)
{
  g_autoptr(MienFramePrediction) prediction = g_new0 (MienFramePrediction, 1);
  g_autoptr(GdkPixbuf) crop = NULL;

  prediction->frame = g_object_ref (frame);
  prediction->n_models = mien_ensemble_get_n_models (self->ensemble);
  prediction->n_classes = mien_ensemble_get_n_classes (self->ensemble);
  mien_frame_region_rect (region, gdk_pixbuf_get_width (frame), gdk_pixbuf_get_height (frame),
                          &prediction->x, &prediction->y,
                          &prediction->width, &prediction->height);
  /* A view into the frame's pixels, not a copy. */
  crop = gdk_pixbuf_new_subpixbuf (frame, prediction->x, prediction->y,
                                   prediction->width, prediction->height);
  prediction->per_model = g_new0 (float, MAX (prediction->n_models * prediction->n_classes, 1));
  prediction->average = g_new0 (float, MAX (prediction->n_classes, 1));
  if (!mien_ensemble_predict_pixbuf (self->ensemble, crop, prediction->per_model,
                                     prediction->average, error))
    return NULL;
  prediction->best_class = mien_probabilities_argmax (prediction->average,
                                                      prediction->n_classes);
  return g_steal_pointer (&prediction);
}

static gpointer
worker (gpointer data)
{
  MienFramePredictor *self = data;

  for (;;)
    {
      g_autoptr(GdkPixbuf) frame = NULL;
      g_autoptr(GError) error = NULL;
      MienFramePrediction *prediction;
      MienFrameRegion region;
      guint64 number;
      gint64 pushed_us, done_us;

      g_mutex_lock (&self->lock);
      while (self->pending == NULL && !self->quit)
        g_cond_wait (&self->cond, &self->lock);
      if (self->quit)
        {
          g_mutex_unlock (&self->lock);
          break;
        }
      frame = g_steal_pointer (&self->pending);
      number = self->pending_number;
      pushed_us = self->pending_us;
      region = self->region;
      g_mutex_unlock (&self->lock);

      prediction = predict (self, frame, region, &error);
      done_us = g_get_monotonic_time ();

      g_mutex_lock (&self->lock);
      if (prediction != NULL)
        {
          gint64 *t = g_new (gint64, 1);

          self->n_predicted++;
          *t = done_us;
          g_queue_push_tail (&self->done_times, t);
          while (done_us - *(gint64 *) g_queue_peek_head (&self->done_times) > RATE_WINDOW_US)
            g_free (g_queue_pop_head (&self->done_times));
        }
      else
        {
          /* Counted so that every pushed frame ends up predicted or dropped. */
          self->n_dropped++;
        }
      g_mutex_unlock (&self->lock);

      if (prediction != NULL)
        {
          prediction->frame_number = number;
          prediction->pushed_us = pushed_us;
          prediction->done_us = done_us;
          prediction->latency_ms = (done_us - pushed_us) / 1000.0;
          deliver (self, prediction, NULL);
        }
      else
        {
          g_prefix_error (&error, _("Frame %llu: "), (unsigned long long) number);
          deliver (self, NULL, g_steal_pointer (&error));
        }
    }
  return NULL;
}

static void
mien_frame_predictor_dispose (GObject *object)
{
  MienFramePredictor *self = MIEN_FRAME_PREDICTOR (object);

  mien_frame_predictor_stop (self);
  g_clear_object (&self->ensemble);
  G_OBJECT_CLASS (mien_frame_predictor_parent_class)->dispose (object);
}

static void
mien_frame_predictor_finalize (GObject *object)
{
  MienFramePredictor *self = MIEN_FRAME_PREDICTOR (object);

  g_queue_clear_full (&self->done_times, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (mien_frame_predictor_parent_class)->finalize (object);
}

static void
mien_frame_predictor_class_init (MienFramePredictorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mien_frame_predictor_dispose;
  object_class->finalize = mien_frame_predictor_finalize;

  /* Static scope: handlers get the worker's prediction without a copy and copy it to keep it. */
  signals[SIGNAL_PREDICTION] =
    g_signal_new ("prediction", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1,
                  MIEN_TYPE_FRAME_PREDICTION | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[SIGNAL_ERROR] =
    g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
mien_frame_predictor_init (MienFramePredictor *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->done_times);
}

MienFramePredictor *
mien_frame_predictor_new (MienEnsemble    *ensemble,
                          MienFrameRegion  region)
{
  MienFramePredictor *self;

  g_return_val_if_fail (MIEN_IS_ENSEMBLE (ensemble), NULL);

  self = g_object_new (MIEN_TYPE_FRAME_PREDICTOR, NULL);
  self->ensemble = g_object_ref (ensemble);
  self->region = region;
  self->context = g_main_context_ref_thread_default ();
  self->thread = g_thread_new ("mien-frame-predictor", worker, self);
  return self;
}

void
mien_frame_predictor_set_region (MienFramePredictor *self,
                                 MienFrameRegion     region)
{
  g_return_if_fail (MIEN_IS_FRAME_PREDICTOR (self));

  g_mutex_lock (&self->lock);
  self->region = region;
  g_mutex_unlock (&self->lock);
}

void
mien_frame_predictor_push (MienFramePredictor *self,
                           GdkPixbuf          *frame)
{
  g_autoptr(GdkPixbuf) replaced = NULL;

  g_return_if_fail (MIEN_IS_FRAME_PREDICTOR (self));
  g_return_if_fail (GDK_IS_PIXBUF (frame));

  g_mutex_lock (&self->lock);
  if (self->quit)
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  self->n_pushed++;
  if (self->first_push_us == 0)
    self->first_push_us = g_get_monotonic_time ();
  if (self->pending != NULL)
    {
      replaced = g_steal_pointer (&self->pending);
      self->n_dropped++;
    }
  self->pending = g_object_ref (frame);
  self->pending_number = self->n_pushed;
  self->pending_us = g_get_monotonic_time ();
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
  /* `replaced` is unreffed here, outside the lock: it may be the last reference to a frame. */
}

void
mien_frame_predictor_stop (MienFramePredictor *self)
{
  g_autoptr(GdkPixbuf) pending = NULL;
  GThread *thread;

  g_return_if_fail (MIEN_IS_FRAME_PREDICTOR (self));

  g_atomic_int_set (&self->stopped, TRUE);
  g_mutex_lock (&self->lock);
  self->quit = TRUE;
  if (self->pending != NULL)
    {
      pending = g_steal_pointer (&self->pending);
      self->n_dropped++;
    }
  thread = g_steal_pointer (&self->thread);
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);

  /* At most one inference to wait for. */
  if (thread != NULL)
    g_thread_join (thread);
}

guint64
mien_frame_predictor_get_n_pushed (MienFramePredictor *self)
{
  guint64 n;

  g_return_val_if_fail (MIEN_IS_FRAME_PREDICTOR (self), 0);

  g_mutex_lock (&self->lock);
  n = self->n_pushed;
  g_mutex_unlock (&self->lock);
  return n;
}

guint64
mien_frame_predictor_get_n_predicted (MienFramePredictor *self)
{
  guint64 n;

  g_return_val_if_fail (MIEN_IS_FRAME_PREDICTOR (self), 0);

  g_mutex_lock (&self->lock);
  n = self->n_predicted;
  g_mutex_unlock (&self->lock);
  return n;
}

guint64
mien_frame_predictor_get_n_dropped (MienFramePredictor *self)
{
  guint64 n;

  g_return_val_if_fail (MIEN_IS_FRAME_PREDICTOR (self), 0);

  g_mutex_lock (&self->lock);
  n = self->n_dropped;
  g_mutex_unlock (&self->lock);
  return n;
}

double
mien_frame_predictor_get_rate (MienFramePredictor *self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 span_us;
  guint n = 0;

  g_return_val_if_fail (MIEN_IS_FRAME_PREDICTOR (self), 0.0);

  g_mutex_lock (&self->lock);
  for (GList *l = self->done_times.tail; l != NULL; l = l->prev)
    {
      if (now - *(gint64 *) l->data > RATE_WINDOW_US)
        break;
      n++;
    }
  /* Right after the first frame the window is not full yet: divide by the time there was. */
  span_us = self->first_push_us != 0 ? MIN (now - self->first_push_us, RATE_WINDOW_US) : 0;
  g_mutex_unlock (&self->lock);

  if (n == 0 || span_us <= 0)
    return 0.0;
  return n / (span_us / (double) G_USEC_PER_SEC);
}
