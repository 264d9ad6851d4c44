/* mien-frame-predictor.c — mailboxes of one job each between the pusher, the detection thread
 * (faces mode) and the classification thread; results on the main context. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "mien-explain.h"
#include "mien-frame-predictor.h"
#include "mien-image.h"

/* The window of the rates. */
#define RATE_WINDOW_US (2 * G_USEC_PER_SEC)

/* While faces are tracked, the detector searches the whole frame once in this many frames and
 * only around the faces it follows in between (several times cheaper); a face that comes into
 * the picture is found within this many frames. */
#define FULL_SEARCH_EVERY 8

MienFramePrediction *
mien_frame_prediction_copy (const MienFramePrediction *prediction)
{
  MienFramePrediction *copy;

  g_return_val_if_fail (prediction != NULL, NULL);

  copy = g_memdup2 (prediction, sizeof *prediction);
  copy->regions = mien_region_predictions_copy (prediction->regions, prediction->n_regions,
                                                prediction->n_models, prediction->n_classes);
  if (prediction->frame != NULL)
    g_object_ref (prediction->frame);
  return copy;
}

void
mien_frame_prediction_free (MienFramePrediction *prediction)
{
  if (prediction == NULL)
    return;
  mien_region_predictions_free (prediction->regions, prediction->n_regions);
  g_clear_object (&prediction->frame);
  g_free (prediction);
}

G_DEFINE_BOXED_TYPE (MienFramePrediction, mien_frame_prediction,
                     mien_frame_prediction_copy, mien_frame_prediction_free)

MienFrameExplanation *
mien_frame_explanation_copy (const MienFrameExplanation *explanation)
{
  MienFrameExplanation *copy;
  gsize n;

  g_return_val_if_fail (explanation != NULL, NULL);

  n = explanation->n_regions;
  copy = g_memdup2 (explanation, sizeof *explanation);
  copy->boxes = g_memdup2 (explanation->boxes, n * sizeof (MienFace));
  copy->places = g_memdup2 (explanation->places, n * sizeof (MienMapPlace));
  copy->classes = g_memdup2 (explanation->classes, n * sizeof (guint));
  copy->maps = g_memdup2 (explanation->maps, n * explanation->map_size * explanation->map_size *
                                             sizeof (float));
  return copy;
}

void
mien_frame_explanation_free (MienFrameExplanation *explanation)
{
  if (explanation == NULL)
    return;
  g_free (explanation->boxes);
  g_free (explanation->places);
  g_free (explanation->classes);
  g_free (explanation->maps);
  g_free (explanation);
}

G_DEFINE_BOXED_TYPE (MienFrameExplanation, mien_frame_explanation,
                     mien_frame_explanation_copy, mien_frame_explanation_free)

enum {
  SIGNAL_PREDICTION,
  SIGNAL_DETECTION,
  SIGNAL_EXPLANATION,
  SIGNAL_EXPLANATION_ERROR,
  SIGNAL_ERROR,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* A frame on its way through the stages. */
typedef struct {
  GdkPixbuf *frame;
  guint64    number;
  gint64     pushed_us;
  MienFacePrediction *faces;  /* faces mode, once detected */
} Job;

static void
job_free (Job *job)
{
  if (job == NULL)
    return;
  g_clear_object (&job->frame);
  g_clear_pointer (&job->faces, mien_face_prediction_free);
  g_free (job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Job, job_free)

struct _MienFramePredictor
{
  GObject               parent_instance;
  MienEnsemble         *ensemble;       /* the classification thread's alone once it runs */
  MienFacePipeline     *pipeline;       /* faces mode: detect () the detection thread's,
                                         * classify () the classification thread's */
  GMainContext         *context;
  GThread              *detect_thread;  /* faces mode */
  GThread              *classify_thread;
  gint                  stopped;        /* atomic; set before the workers are told to quit */

  GMutex                lock;
  GCond                 cond;
  /* Under lock: */
  gboolean              quit;
  Job                  *to_detect;      /* the newest frame waiting for the detector */
  Job                  *to_classify;    /* the newest frame (with its faces) for the classifier */
  MienFrameRegion       region;
  guint64               n_pushed;
  guint64               n_predicted;
  guint64               n_dropped;
  gint64                first_push_us;
  gboolean              explain;
  gboolean              explain_failed; /* the models cannot be explained: no more tries */
  guint64               n_explained;
  gint64                next_explain_us; /* the classification thread's */
  GQueue                detect_times;   /* gint64 * of detections in the last RATE_WINDOW_US */
  GQueue                done_times;     /* gint64 * of predictions in the last RATE_WINDOW_US */
};

G_DEFINE_FINAL_TYPE (MienFramePredictor, mien_frame_predictor, G_TYPE_OBJECT)

static void
deliver (MienFramePredictor  *self,
         guint                signal,
         MienFramePrediction *prediction,
         GError              *error)
{
  if (prediction != NULL)
    mien_main_context_emit (self->context, "[mien] frame prediction", self, &self->stopped,
                            signals[signal], prediction,
                            (GDestroyNotify) mien_frame_prediction_free);
  else
    mien_main_context_emit (self->context, "[mien] frame prediction", self, &self->stopped,
                            signals[SIGNAL_ERROR], error, (GDestroyNotify) g_error_free);
}

static void
deliver_error (MienFramePredictor *self,
               guint64             number,
               GError             *error)
{
  g_prefix_error (&error, _("Frame %llu: "), (unsigned long long) number);
  deliver (self, SIGNAL_ERROR, NULL, error);
}

/* Under lock. */
static void
note_time (GQueue *times,
           gint64  now)
{
  gint64 *t = g_new (gint64, 1);

  *t = now;
  g_queue_push_tail (times, t);
  while (now - *(gint64 *) g_queue_peek_head (times) > RATE_WINDOW_US)
    g_free (g_queue_pop_head (times));
}

/* Puts `job` in a mailbox; a job still waiting there is dropped. Under lock. */
static Job *
post_job (MienFramePredictor  *self,
          Job                **mailbox,
          Job                 *job)
{
  Job *replaced = g_steal_pointer (mailbox);

  if (replaced != NULL)
    self->n_dropped++;
  *mailbox = job;
  g_cond_broadcast (&self->cond);
  return replaced;
}

/* Waits for a job in `mailbox`; NULL when told to quit. */
static Job *
take_job (MienFramePredictor  *self,
          Job                **mailbox)
{
  Job *job;

  g_mutex_lock (&self->lock);
  while (*mailbox == NULL && !self->quit)
    g_cond_wait (&self->cond, &self->lock);
  job = self->quit ? NULL : g_steal_pointer (mailbox);
  g_mutex_unlock (&self->lock);
  return job;
}

static void
count_dropped (MienFramePredictor *self)
{
  g_mutex_lock (&self->lock);
  self->n_dropped++;
  g_mutex_unlock (&self->lock);
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

/* A prediction of `job`'s frame; in faces mode its regions are (copies of) the job's faces. */
static MienFramePrediction *
prediction_new (const Job *job,
                guint      n_regions)
{
  MienFramePrediction *prediction = g_new0 (MienFramePrediction, 1);

  prediction->frame = g_object_ref (job->frame);
  prediction->frame_number = job->number;
  prediction->pushed_us = job->pushed_us;
  prediction->faces = job->faces != NULL;
  prediction->n_regions = n_regions;
  if (job->faces != NULL)
    {
      prediction->detect_ms = job->faces->detect_ms;
      prediction->classify_ms = job->faces->classify_ms;
      prediction->n_models = job->faces->n_models;
      prediction->n_classes = job->faces->n_classes;
      prediction->regions = mien_region_predictions_copy (job->faces->regions, n_regions,
                                                          job->faces->n_models,
                                                          job->faces->n_classes);
    }
  else
    prediction->regions = g_new0 (MienRegionPrediction, MAX (n_regions, 1));
  return prediction;
}

/* The detection thread (faces mode). */
static gpointer
detect_worker (gpointer data)
{
  MienFramePredictor *self = data;
  Job *job;

  while ((job = take_job (self, &self->to_detect)) != NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(Job) replaced = NULL;
      MienFramePrediction *detection;
      gint64 now;

      job->faces = mien_face_pipeline_detect (self->pipeline, job->frame, &error);
      if (job->faces == NULL)
        {
          /* Counted so that every pushed frame ends up predicted or dropped. */
          count_dropped (self);
          deliver_error (self, job->number, g_steal_pointer (&error));
          job_free (job);
          continue;
        }
      now = g_get_monotonic_time ();
      detection = prediction_new (job, job->faces->n_regions);
      detection->done_us = now;
      detection->latency_ms = (now - job->pushed_us) / 1000.0;
      deliver (self, SIGNAL_DETECTION, detection, NULL);

      g_mutex_lock (&self->lock);
      note_time (&self->detect_times, now);
      if (self->quit)
        {
          self->n_dropped++;
          replaced = job;
        }
      else
        replaced = post_job (self, &self->to_classify, job);
      g_mutex_unlock (&self->lock);
    }
  return NULL;
}

/* Region mode: the fixed region of the frame. */
static MienFramePrediction *
classify_region (MienFramePredictor  *self,
                 const Job           *job,
                 GError             **error)
{
  g_autoptr(MienFramePrediction) prediction = prediction_new (job, 1);
  MienRegionPrediction *region = &prediction->regions[0];
  g_autoptr(GdkPixbuf) crop = NULL;
  MienFrameRegion mode;
  gint64 start = g_get_monotonic_time ();

  g_mutex_lock (&self->lock);
  mode = self->region;
  g_mutex_unlock (&self->lock);
  mien_frame_region_rect (mode, gdk_pixbuf_get_width (job->frame),
                          gdk_pixbuf_get_height (job->frame),
                          &region->x, &region->y, &region->width, &region->height);
  region->face.x = region->x;
  region->face.y = region->y;
  region->face.width = region->width;
  region->face.height = region->height;
  region->face.score = 1.0f;
  prediction->n_models = mien_ensemble_get_n_models (self->ensemble);
  prediction->n_classes = mien_ensemble_get_n_classes (self->ensemble);
  region->per_model = g_new0 (float, MAX (prediction->n_models * prediction->n_classes, 1));
  region->average = g_new0 (float, MAX (prediction->n_classes, 1));
  /* A view into the frame's pixels, not a copy. */
  crop = gdk_pixbuf_new_subpixbuf (job->frame, region->x, region->y, region->width,
                                   region->height);
  if (!mien_ensemble_predict_pixbuf (self->ensemble, crop, region->per_model, region->average,
                                     error))
    return NULL;
  region->best_class = mien_probabilities_argmax (region->average, prediction->n_classes);
  prediction->classify_ms = (g_get_monotonic_time () - start) / 1000.0;
  return g_steal_pointer (&prediction);
}

static MienFramePrediction *
classify (MienFramePredictor  *self,
          const Job           *job,
          GError             **error)
{
  if (job->faces == NULL)
    return classify_region (self, job, error);
  if (!mien_face_pipeline_classify (self->pipeline, job->frame, job->faces, error))
    return NULL;
  return prediction_new (job, job->faces->n_regions);
}

/* The crop of `region` the models saw, at `size`: the aligned face, or the region itself;
 * and where it lies in the frame. */
static GdkPixbuf *
region_crop (MienFramePredictor         *self,
             GdkPixbuf                  *frame,
             const MienRegionPrediction *region,
             int                         size,
             MienMapPlace               *place)
{
  if (self->pipeline != NULL)
    {
      const MienFaceAlignOptions *align = mien_face_pipeline_get_align (self->pipeline);

      mien_face_align_geometry (&region->face, align, &place->centre_x, &place->centre_y,
                                &place->width, &place->angle);
      place->height = place->width;
      return mien_face_align (frame, &region->face, align, size, FALSE);
    }
  place->centre_x = region->x + region->width / 2.0;
  place->centre_y = region->y + region->height / 2.0;
  place->width = region->width;
  place->height = region->height;
  place->angle = 0.0;
  return gdk_pixbuf_new_subpixbuf (frame, region->x, region->y, region->width, region->height);
}

/* Every region's Grad-CAM for its predicted class, on the classification thread. */
static MienFrameExplanation *
explain (MienFramePredictor        *self,
         const MienFramePrediction *prediction,
         GError                   **error)
{
  g_autoptr(MienFrameExplanation) explanation = g_new0 (MienFrameExplanation, 1);
  int size = mien_model_get_input_size (mien_ensemble_get_model (self->ensemble, 0));
  gsize map_len = (gsize) size * size;
  g_autofree guint8 *pixels = g_malloc (3 * map_len);
  gint64 start = g_get_monotonic_time ();

  explanation->frame_number = prediction->frame_number;
  explanation->n_regions = prediction->n_regions;
  explanation->map_size = size;
  explanation->boxes = g_new0 (MienFace, MAX (prediction->n_regions, 1));
  explanation->places = g_new0 (MienMapPlace, MAX (prediction->n_regions, 1));
  explanation->classes = g_new0 (guint, MAX (prediction->n_regions, 1));
  explanation->maps = g_new0 (float, MAX (prediction->n_regions, 1) * map_len);
  for (guint i = 0; i < prediction->n_regions; i++)
    {
      const MienRegionPrediction *region = &prediction->regions[i];
      g_autoptr(GdkPixbuf) crop = region_crop (self, prediction->frame, region, size,
                                               &explanation->places[i]);
      g_autoptr(MienTensor) images = NULL;
      g_autoptr(MienTensor) map = NULL;

      if (crop == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       _("Face %u could not be cropped"), i + 1);
          return NULL;
        }
      if (!mien_image_from_pixbuf (crop, size, FALSE, pixels, NULL, error) ||
          !(images = mien_image_batch_tensor (pixels, 1, size, error)) ||
          !(map = mien_explain_grad_cam_ensemble (self->ensemble, images, region->best_class,
                                                  NULL, error)) ||
          !mien_tensor_to_host (map, explanation->maps + i * map_len, map_len * sizeof (float),
                                error))
        return NULL;
      explanation->boxes[i] = region->face;
      explanation->classes[i] = region->best_class;
    }
  explanation->explain_ms = (g_get_monotonic_time () - start) / 1000.0;
  return g_steal_pointer (&explanation);
}

/* Explains `prediction` when explanations are on and the last one is old enough. */
static void
maybe_explain (MienFramePredictor        *self,
               const MienFramePrediction *prediction)
{
  g_autoptr(GError) error = NULL;
  MienFrameExplanation *explanation;
  gboolean wanted;
  gint64 start = g_get_monotonic_time ();

  g_mutex_lock (&self->lock);
  wanted = self->explain && !self->explain_failed && start >= self->next_explain_us;
  g_mutex_unlock (&self->lock);
  if (!wanted || prediction->n_regions == 0)
    return;

  explanation = explain (self, prediction, &error);
  g_mutex_lock (&self->lock);
  /* Twice its time before the next: a third of the thread at most. */
  self->next_explain_us = g_get_monotonic_time () + 2 * (g_get_monotonic_time () - start);
  if (explanation != NULL)
    self->n_explained++;
  else
    self->explain_failed = TRUE;
  g_mutex_unlock (&self->lock);
  if (explanation != NULL)
    mien_main_context_emit (self->context, "[mien] frame explanation", self, &self->stopped,
                            signals[SIGNAL_EXPLANATION], explanation,
                            (GDestroyNotify) mien_frame_explanation_free);
  else
    {
      g_prefix_error (&error, _("Frame %llu: "), (unsigned long long) prediction->frame_number);
      mien_main_context_emit (self->context, "[mien] frame explanation", self, &self->stopped,
                              signals[SIGNAL_EXPLANATION_ERROR], g_steal_pointer (&error),
                              (GDestroyNotify) g_error_free);
    }
}

/* The classification thread. */
static gpointer
classify_worker (gpointer data)
{
  MienFramePredictor *self = data;
  Job *job;

  /* libtorch's thread count is per thread (OpenMP's), and a new thread starts with every core.
   * Beside a detection thread, one core is the detector's. */
  if (self->pipeline != NULL)
    mien_torch_set_num_threads (MAX ((int) g_get_num_processors () - 1, 1));

  while ((job = take_job (self, &self->to_classify)) != NULL)
    {
      g_autoptr(GError) error = NULL;
      MienFramePrediction *prediction = classify (self, job, &error);
      gint64 done_us = g_get_monotonic_time ();

      g_mutex_lock (&self->lock);
      if (prediction != NULL)
        {
          self->n_predicted++;
          note_time (&self->done_times, done_us);
        }
      else
        {
          /* Counted so that every pushed frame ends up predicted or dropped. */
          self->n_dropped++;
        }
      g_mutex_unlock (&self->lock);

      if (prediction != NULL)
        {
          prediction->done_us = done_us;
          prediction->latency_ms = (done_us - job->pushed_us) / 1000.0;
          /* The prediction goes out first: the explanation never delays it. */
          deliver (self, SIGNAL_PREDICTION, mien_frame_prediction_copy (prediction), NULL);
          maybe_explain (self, prediction);
          mien_frame_prediction_free (prediction);
        }
      else
        deliver_error (self, job->number, g_steal_pointer (&error));
      job_free (job);
    }
  return NULL;
}

static void
mien_frame_predictor_dispose (GObject *object)
{
  MienFramePredictor *self = MIEN_FRAME_PREDICTOR (object);

  mien_frame_predictor_stop (self);
  g_clear_object (&self->ensemble);
  g_clear_object (&self->pipeline);
  G_OBJECT_CLASS (mien_frame_predictor_parent_class)->dispose (object);
}

static void
mien_frame_predictor_finalize (GObject *object)
{
  MienFramePredictor *self = MIEN_FRAME_PREDICTOR (object);

  g_queue_clear_full (&self->detect_times, g_free);
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
  signals[SIGNAL_DETECTION] =
    g_signal_new ("detection", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1,
                  MIEN_TYPE_FRAME_PREDICTION | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[SIGNAL_EXPLANATION] =
    g_signal_new ("explanation", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1,
                  MIEN_TYPE_FRAME_EXPLANATION | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[SIGNAL_EXPLANATION_ERROR] =
    g_signal_new ("explanation-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[SIGNAL_ERROR] =
    g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
mien_frame_predictor_init (MienFramePredictor *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->detect_times);
  g_queue_init (&self->done_times);
}

MienFramePredictor *
mien_frame_predictor_new (MienEnsemble    *ensemble,
                          MienFrameRegion  region)
{
  MienFramePredictor *self;

  g_return_val_if_fail (MIEN_IS_ENSEMBLE (ensemble), NULL);
  g_return_val_if_fail (region != MIEN_FRAME_REGION_FACES, NULL);

  self = g_object_new (MIEN_TYPE_FRAME_PREDICTOR, NULL);
  self->ensemble = g_object_ref (ensemble);
  self->region = region;
  self->context = g_main_context_ref_thread_default ();
  self->classify_thread = g_thread_new ("mien-frame-predictor", classify_worker, self);
  return self;
}

MienFramePredictor *
mien_frame_predictor_new_for_faces (MienEnsemble               *ensemble,
                                    MienFaceDetector           *detector,
                                    const MienFaceAlignOptions *align)
{
  MienFramePredictor *self;

  g_return_val_if_fail (MIEN_IS_ENSEMBLE (ensemble), NULL);
  g_return_val_if_fail (MIEN_IS_FACE_DETECTOR (detector), NULL);
  g_return_val_if_fail (mien_face_detector_get_method (detector) != NULL, NULL);

  self = g_object_new (MIEN_TYPE_FRAME_PREDICTOR, NULL);
  self->ensemble = g_object_ref (ensemble);
  self->pipeline = mien_face_pipeline_new (ensemble, detector, align);
  mien_face_pipeline_set_tracking (self->pipeline, TRUE);
  mien_face_pipeline_set_full_search_every (self->pipeline, FULL_SEARCH_EVERY);
  self->region = MIEN_FRAME_REGION_FACES;
  self->context = g_main_context_ref_thread_default ();
  self->classify_thread = g_thread_new ("mien-face-classify", classify_worker, self);
  self->detect_thread = g_thread_new ("mien-face-detect", detect_worker, self);
  return self;
}

void
mien_frame_predictor_set_region (MienFramePredictor *self,
                                 MienFrameRegion     region)
{
  g_return_if_fail (MIEN_IS_FRAME_PREDICTOR (self));
  g_return_if_fail (self->pipeline == NULL && region != MIEN_FRAME_REGION_FACES);

  g_mutex_lock (&self->lock);
  self->region = region;
  g_mutex_unlock (&self->lock);
}

void
mien_frame_predictor_set_smoothing (MienFramePredictor *self,
                                    double              alpha)
{
  g_return_if_fail (MIEN_IS_FRAME_PREDICTOR (self));

  if (self->pipeline != NULL)
    mien_face_pipeline_set_smoothing (self->pipeline, alpha);
}

void
mien_frame_predictor_push (MienFramePredictor *self,
                           GdkPixbuf          *frame)
{
  g_autoptr(Job) replaced = NULL;
  Job *job;

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
  job = g_new0 (Job, 1);
  job->frame = g_object_ref (frame);
  job->number = self->n_pushed;
  job->pushed_us = g_get_monotonic_time ();
  replaced = post_job (self, self->pipeline != NULL ? &self->to_detect : &self->to_classify, job);
  g_mutex_unlock (&self->lock);
  /* `replaced` is freed here, outside the lock: it may hold the last reference to a frame. */
}

void
mien_frame_predictor_stop (MienFramePredictor *self)
{
  g_autoptr(Job) to_detect = NULL;
  g_autoptr(Job) to_classify = NULL;
  GThread *detect_thread, *classify_thread;

  g_return_if_fail (MIEN_IS_FRAME_PREDICTOR (self));

  g_atomic_int_set (&self->stopped, TRUE);
  g_mutex_lock (&self->lock);
  self->quit = TRUE;
  to_detect = g_steal_pointer (&self->to_detect);
  to_classify = g_steal_pointer (&self->to_classify);
  self->n_dropped += (to_detect != NULL) + (to_classify != NULL);
  detect_thread = g_steal_pointer (&self->detect_thread);
  classify_thread = g_steal_pointer (&self->classify_thread);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  /* At most one detection and one inference to wait for. A frame the detector finishes after
   * quit is dropped there, so nothing is posted once this returns. */
  if (detect_thread != NULL)
    g_thread_join (detect_thread);
  if (classify_thread != NULL)
    g_thread_join (classify_thread);
}
void
mien_frame_predictor_set_explain (MienFramePredictor *self,
                                  gboolean            explain)
{
  g_return_if_fail (MIEN_IS_FRAME_PREDICTOR (self));

  g_mutex_lock (&self->lock);
  if (explain && !self->explain)
    {
      self->explain_failed = FALSE;
      self->next_explain_us = 0;
    }
  self->explain = explain;
  g_mutex_unlock (&self->lock);
}

guint64
mien_frame_predictor_get_n_explained (MienFramePredictor *self)
{
  guint64 n;

  g_return_val_if_fail (MIEN_IS_FRAME_PREDICTOR (self), 0);

  g_mutex_lock (&self->lock);
  n = self->n_explained;
  g_mutex_unlock (&self->lock);
  return n;
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

static double
rate_of (MienFramePredictor *self,
         GQueue             *times)
{
  gint64 now = g_get_monotonic_time ();
  gint64 span_us;
  guint n = 0;

  g_mutex_lock (&self->lock);
  for (GList *l = times->tail; l != NULL; l = l->prev)
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

double
mien_frame_predictor_get_rate (MienFramePredictor *self)
{
  g_return_val_if_fail (MIEN_IS_FRAME_PREDICTOR (self), 0.0);
  return rate_of (self, &self->done_times);
}

double
mien_frame_predictor_get_detect_rate (MienFramePredictor *self)
{
  g_return_val_if_fail (MIEN_IS_FRAME_PREDICTOR (self), 0.0);
  return rate_of (self, &self->detect_times);
}
