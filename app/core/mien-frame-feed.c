/* mien-frame-feed.c — a one-frame mailbox between a camera's streaming thread and a main loop. */
#include "config.h"

#include "mien-frame-feed.h"

struct _MienFrameFeed
{
  GObject             parent_instance;
  GMainContext       *context;

  GMutex              lock;
  /* Under lock: */
  gboolean            stopped;
  MienFramePredictor *predictor;   /* NULL while there is none */
  GdkPixbuf          *newest;      /* the mailbox */
  gboolean            queued;      /* a delivery will empty the mailbox */
};

G_DEFINE_FINAL_TYPE (MienFrameFeed, mien_frame_feed, G_TYPE_OBJECT)

enum {
  SIGNAL_FRAME,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
mien_frame_feed_finalize (GObject *object)
{
  MienFrameFeed *self = MIEN_FRAME_FEED (object);

  g_clear_object (&self->predictor);
  g_clear_object (&self->newest);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (mien_frame_feed_parent_class)->finalize (object);
}

static void
mien_frame_feed_class_init (MienFrameFeedClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mien_frame_feed_finalize;

  signals[SIGNAL_FRAME] =
    g_signal_new ("frame", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, GDK_TYPE_PIXBUF);
}

static void
mien_frame_feed_init (MienFrameFeed *self)
{
  g_mutex_init (&self->lock);
  self->context = g_main_context_ref_thread_default ();
}

MienFrameFeed *
mien_frame_feed_new (void)
{
  return g_object_new (MIEN_TYPE_FRAME_FEED, NULL);
}

MienFramePredictor *
mien_frame_feed_swap_predictor (MienFrameFeed      *self,
                                MienFramePredictor *predictor)
{
  MienFramePredictor *old;

  g_return_val_if_fail (MIEN_IS_FRAME_FEED (self), NULL);
  g_return_val_if_fail (predictor == NULL || MIEN_IS_FRAME_PREDICTOR (predictor), NULL);

  g_mutex_lock (&self->lock);
  old = g_steal_pointer (&self->predictor);
  if (!self->stopped && predictor != NULL)
    self->predictor = g_object_ref (predictor);
  g_mutex_unlock (&self->lock);
  return old;
}

static gboolean
deliver_cb (gpointer data)
{
  MienFrameFeed *self = data;
  g_autoptr(GdkPixbuf) frame = NULL;
  gboolean stopped;

  g_mutex_lock (&self->lock);
  frame = g_steal_pointer (&self->newest);
  self->queued = FALSE;
  stopped = self->stopped;
  g_mutex_unlock (&self->lock);

  if (!stopped && frame != NULL)
    g_signal_emit (self, signals[SIGNAL_FRAME], 0, frame);
  return G_SOURCE_REMOVE;
}

void
mien_frame_feed_push (MienFrameFeed *self,
                      GdkPixbuf     *frame)
{
  g_autoptr(MienFramePredictor) predictor = NULL;
  g_autoptr(GdkPixbuf) replaced = NULL;
  gboolean schedule;

  g_return_if_fail (MIEN_IS_FRAME_FEED (self));
  g_return_if_fail (GDK_IS_PIXBUF (frame));

  g_mutex_lock (&self->lock);
  if (self->stopped)
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  if (self->predictor != NULL)
    predictor = g_object_ref (self->predictor);
  replaced = g_steal_pointer (&self->newest);
  self->newest = g_object_ref (frame);
  schedule = !self->queued;
  self->queued = TRUE;
  g_mutex_unlock (&self->lock);

  /* Above redraws' priority would starve them; the default one runs before them. */
  if (schedule)
    mien_main_context_post (self->context, G_PRIORITY_DEFAULT, "[mien] frame feed",
                            deliver_cb, g_object_ref (self), g_object_unref);
  if (predictor != NULL)
    mien_frame_predictor_push (predictor, frame);
}

/* On the camera's streaming thread. */
static void
on_camera_frame (GdkPixbuf *frame,
                 gint64     pts_us,
                 gpointer   user_data)
{
  mien_frame_feed_push (user_data, frame);
}

void
mien_frame_feed_attach (MienFrameFeed *self,
                        MienCamera    *camera)
{
  g_return_if_fail (MIEN_IS_FRAME_FEED (self));
  g_return_if_fail (MIEN_IS_CAMERA (camera));

  mien_camera_set_frame_func (camera, on_camera_frame, g_object_ref (self), g_object_unref);
}

MienFramePredictor *
mien_frame_feed_stop (MienFrameFeed *self)
{
  g_autoptr(GdkPixbuf) newest = NULL;
  MienFramePredictor *predictor;

  g_return_val_if_fail (MIEN_IS_FRAME_FEED (self), NULL);

  g_mutex_lock (&self->lock);
  self->stopped = TRUE;
  predictor = g_steal_pointer (&self->predictor);
  newest = g_steal_pointer (&self->newest);
  g_mutex_unlock (&self->lock);
  return predictor;
}

/* ---- Teardown ------------------------------------------------------------------------------ */

typedef struct {
  MienCamera         *camera;
  MienFramePredictor *predictor;
  GMainContext       *context;
  GSourceFunc         done;
  gpointer            done_data;
  GDestroyNotify      done_notify;
} Teardown;

static gboolean
teardown_done_cb (gpointer data)
{
  Teardown *teardown = data;

  if (teardown->done != NULL)
    teardown->done (teardown->done_data);
  return G_SOURCE_REMOVE;
}

static void
teardown_free (gpointer data)
{
  Teardown *teardown = data;

  if (teardown->done_notify != NULL)
    teardown->done_notify (teardown->done_data);
  g_main_context_unref (teardown->context);
  g_free (teardown);
}

static gpointer
teardown_thread (gpointer data)
{
  Teardown *teardown = data;

  /* The camera first, so that no frame is pushed any more. */
  if (teardown->camera != NULL)
    mien_camera_stop (teardown->camera);
  if (teardown->predictor != NULL)
    mien_frame_predictor_stop (teardown->predictor);
  g_clear_object (&teardown->camera);
  g_clear_object (&teardown->predictor);
  mien_main_context_post (teardown->context, G_PRIORITY_DEFAULT, "[mien] feed teardown",
                          teardown_done_cb, teardown, teardown_free);
  return NULL;
}

GThread *
mien_frame_feed_teardown (MienCamera         *camera,
                          MienFramePredictor *predictor,
                          GSourceFunc         done,
                          gpointer            done_data,
                          GDestroyNotify      done_notify)
{
  Teardown *teardown;

  g_return_val_if_fail (camera == NULL || MIEN_IS_CAMERA (camera), NULL);
  g_return_val_if_fail (predictor == NULL || MIEN_IS_FRAME_PREDICTOR (predictor), NULL);

  teardown = g_new0 (Teardown, 1);
  teardown->camera = camera;
  teardown->predictor = predictor;
  teardown->context = g_main_context_ref_thread_default ();
  teardown->done = done;
  teardown->done_data = done_data;
  teardown->done_notify = done_notify;
  return g_thread_new ("mien-feed-stop", teardown_thread, teardown);
}
