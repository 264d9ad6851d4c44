/* mien-face-pipeline.c — detect, align, classify, fall back, track and smooth, once. */
#include "config.h"

#include <math.h>

#include <glib/gi18n-lib.h>

#include "mien-face-pipeline.h"
#include "mien-face-tracker.h"

MienRegionPrediction *
mien_region_predictions_copy (const MienRegionPrediction *regions,
                              guint                       n,
                              guint                       n_models,
                              guint                       n_classes)
{
  /* Never NULL, so that an empty prediction still has its array, as its maker gave it. */
  MienRegionPrediction *copy = g_new0 (MienRegionPrediction, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    {
      copy[i] = regions[i];
      copy[i].per_model = regions[i].per_model != NULL
                          ? g_memdup2 (regions[i].per_model,
                                       sizeof (float) * n_models * n_classes)
                          : NULL;
      copy[i].average = regions[i].average != NULL
                        ? g_memdup2 (regions[i].average, sizeof (float) * n_classes) : NULL;
    }
  return copy;
}

void
mien_region_predictions_free (MienRegionPrediction *regions,
                              guint                 n)
{
  if (regions == NULL)
    return;
  for (guint i = 0; i < n; i++)
    {
      g_free (regions[i].per_model);
      g_free (regions[i].average);
    }
  g_free (regions);
}

MienFacePrediction *
mien_face_prediction_copy (const MienFacePrediction *prediction)
{
  MienFacePrediction *copy;

  g_return_val_if_fail (prediction != NULL, NULL);

  copy = g_memdup2 (prediction, sizeof *prediction);
  copy->detect_error = g_strdup (prediction->detect_error);
  copy->regions = mien_region_predictions_copy (prediction->regions, prediction->n_regions,
                                                prediction->n_models, prediction->n_classes);
  return copy;
}

void
mien_face_prediction_free (MienFacePrediction *prediction)
{
  if (prediction == NULL)
    return;
  mien_region_predictions_free (prediction->regions, prediction->n_regions);
  g_free (prediction->detect_error);
  g_free (prediction);
}

G_DEFINE_BOXED_TYPE (MienFacePrediction, mien_face_prediction,
                     mien_face_prediction_copy, mien_face_prediction_free)

struct _MienFacePipeline
{
  GObject               parent_instance;
  MienEnsemble         *ensemble;       /* the classifying thread's */
  MienFaceDetector     *detector;       /* the detecting thread's; NULL: none */
  MienFaceAlignOptions  align;
  MienFaceFallback      fallback;
  gboolean              tracking;
  guint                 full_search_every;
  GArray               *last_faces;     /* the detecting thread's: the previous frame's faces */
  guint                 since_full;     /* frames since the last whole-frame search */

  /* Ids are the detecting thread's, smoothing the classifying thread's: one lock for both. */
  GMutex                tracker_lock;
  MienFaceTracker      *tracker;
};

G_DEFINE_FINAL_TYPE (MienFacePipeline, mien_face_pipeline, G_TYPE_OBJECT)

static void
mien_face_pipeline_dispose (GObject *object)
{
  MienFacePipeline *self = MIEN_FACE_PIPELINE (object);

  g_clear_object (&self->ensemble);
  g_clear_object (&self->detector);
  g_clear_object (&self->tracker);
  g_clear_pointer (&self->last_faces, g_array_unref);
  G_OBJECT_CLASS (mien_face_pipeline_parent_class)->dispose (object);
}

static void
mien_face_pipeline_finalize (GObject *object)
{
  MienFacePipeline *self = MIEN_FACE_PIPELINE (object);

  g_mutex_clear (&self->tracker_lock);
  G_OBJECT_CLASS (mien_face_pipeline_parent_class)->finalize (object);
}

static void
mien_face_pipeline_class_init (MienFacePipelineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mien_face_pipeline_dispose;
  object_class->finalize = mien_face_pipeline_finalize;
}

static void
mien_face_pipeline_init (MienFacePipeline *self)
{
  g_mutex_init (&self->tracker_lock);
  self->tracker = mien_face_tracker_new ();
  self->align = (MienFaceAlignOptions) MIEN_FACE_ALIGN_OPTIONS_INIT;
}

MienFacePipeline *
mien_face_pipeline_new (MienEnsemble               *ensemble,
                        MienFaceDetector           *detector,
                        const MienFaceAlignOptions *align)
{
  MienFacePipeline *self;

  g_return_val_if_fail (MIEN_IS_ENSEMBLE (ensemble), NULL);
  g_return_val_if_fail (detector == NULL || MIEN_IS_FACE_DETECTOR (detector), NULL);
  g_return_val_if_fail (detector == NULL || mien_face_detector_get_method (detector) != NULL,
                        NULL);

  self = g_object_new (MIEN_TYPE_FACE_PIPELINE, NULL);
  self->ensemble = g_object_ref (ensemble);
  self->detector = detector != NULL ? g_object_ref (detector) : NULL;
  if (align != NULL)
    self->align = *align;
  return self;
}

MienEnsemble *
mien_face_pipeline_get_ensemble (MienFacePipeline *self)
{
  g_return_val_if_fail (MIEN_IS_FACE_PIPELINE (self), NULL);
  return self->ensemble;
}

MienFaceDetector *
mien_face_pipeline_get_detector (MienFacePipeline *self)
{
  g_return_val_if_fail (MIEN_IS_FACE_PIPELINE (self), NULL);
  return self->detector;
}

const MienFaceAlignOptions *
mien_face_pipeline_get_align (MienFacePipeline *self)
{
  g_return_val_if_fail (MIEN_IS_FACE_PIPELINE (self), NULL);
  return &self->align;
}

void
mien_face_pipeline_set_fallback (MienFacePipeline *self,
                                 MienFaceFallback  fallback)
{
  g_return_if_fail (MIEN_IS_FACE_PIPELINE (self));
  self->fallback = fallback;
}

void
mien_face_pipeline_set_tracking (MienFacePipeline *self,
                                 gboolean          tracking)
{
  g_return_if_fail (MIEN_IS_FACE_PIPELINE (self));
  self->tracking = tracking;
}

void
mien_face_pipeline_set_smoothing (MienFacePipeline *self,
                                  double            alpha)
{
  g_return_if_fail (MIEN_IS_FACE_PIPELINE (self));

  g_mutex_lock (&self->tracker_lock);
  mien_face_tracker_set_smoothing (self->tracker, alpha);
  g_mutex_unlock (&self->tracker_lock);
}

void
mien_face_pipeline_set_full_search_every (MienFacePipeline *self,
                                          guint             n)
{
  g_return_if_fail (MIEN_IS_FACE_PIPELINE (self));
  self->full_search_every = n;
}

void
mien_face_pipeline_reset (MienFacePipeline *self)
{
  g_return_if_fail (MIEN_IS_FACE_PIPELINE (self));

  g_clear_pointer (&self->last_faces, g_array_unref);
  self->since_full = 0;
  g_mutex_lock (&self->tracker_lock);
  mien_face_tracker_reset (self->tracker);
  g_mutex_unlock (&self->tracker_lock);
}

static void
region_from_face (MienRegionPrediction *region,
                  const MienFace       *face,
                  guint                 track_id)
{
  region->face = *face;
  region->track_id = track_id;
  region->x = (int) floorf (face->x + 0.5f);
  region->y = (int) floorf (face->y + 0.5f);
  region->width = (int) floorf (face->width + 0.5f);
  region->height = (int) floorf (face->height + 0.5f);
}

static MienFacePrediction *
prediction_new (GdkPixbuf *frame,
                guint      n_regions)
{
  MienFacePrediction *prediction = g_new0 (MienFacePrediction, 1);

  prediction->frame_width = gdk_pixbuf_get_width (frame);
  prediction->frame_height = gdk_pixbuf_get_height (frame);
  prediction->n_regions = n_regions;
  prediction->regions = g_new0 (MienRegionPrediction, MAX (n_regions, 1));
  return prediction;
}

/* The one region of a frame classified whole. */
static MienFacePrediction *
whole_prediction (GdkPixbuf *frame)
{
  MienFacePrediction *prediction = prediction_new (frame, 1);
  MienFace face = { 0, };

  face.width = prediction->frame_width;
  face.height = prediction->frame_height;
  face.score = 1.0f;
  region_from_face (&prediction->regions[0], &face, 0);
  prediction->whole = TRUE;
  return prediction;
}

static GArray *
search (MienFacePipeline  *self,
        GdkPixbuf         *frame,
        GError           **error)
{
  GArray *faces;

  if (self->tracking && self->full_search_every > 1 && self->last_faces != NULL &&
      self->last_faces->len > 0 && ++self->since_full < self->full_search_every)
    faces = mien_face_detector_detect_near (self->detector, frame,
                                            (const MienFace *) self->last_faces->data,
                                            self->last_faces->len, error);
  else
    {
      faces = mien_face_detector_detect (self->detector, frame, error);
      self->since_full = 0;
    }
  if (faces != NULL && self->tracking)
    {
      g_clear_pointer (&self->last_faces, g_array_unref);
      self->last_faces = g_array_ref (faces);
    }
  return faces;
}

MienFacePrediction *
mien_face_pipeline_detect (MienFacePipeline  *self,
                           GdkPixbuf         *frame,
                           GError           **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GArray) faces = NULL;
  g_autofree guint *ids = NULL;
  MienFacePrediction *prediction;
  gint64 start = g_get_monotonic_time ();

  g_return_val_if_fail (MIEN_IS_FACE_PIPELINE (self), NULL);
  g_return_val_if_fail (GDK_IS_PIXBUF (frame), NULL);

  if (self->detector == NULL)
    return whole_prediction (frame);

  faces = search (self, frame, &local_error);
  if (faces == NULL)
    {
      if (self->fallback == MIEN_FACE_FALLBACK_NONE)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      prediction = whole_prediction (frame);
      /* A detector that fails without saying why is still a failure. */
      prediction->detect_error = g_strdup (local_error != NULL
                                           ? local_error->message
                                           : _("the face detector failed without a reason"));
      prediction->detect_ms = (g_get_monotonic_time () - start) / 1000.0;
      return prediction;
    }
  if (faces->len == 0 && self->fallback == MIEN_FACE_FALLBACK_NO_FACE)
    {
      prediction = whole_prediction (frame);
      prediction->detect_ms = (g_get_monotonic_time () - start) / 1000.0;
      return prediction;
    }

  ids = g_new0 (guint, MAX (faces->len, 1));
  if (self->tracking)
    {
      g_mutex_lock (&self->tracker_lock);
      mien_face_tracker_update (self->tracker, (const MienFace *) faces->data, faces->len, ids);
      g_mutex_unlock (&self->tracker_lock);
    }
  prediction = prediction_new (frame, faces->len);
  for (guint i = 0; i < faces->len; i++)
    region_from_face (&prediction->regions[i], &g_array_index (faces, MienFace, i), ids[i]);
  prediction->detect_ms = (g_get_monotonic_time () - start) / 1000.0;
  return prediction;
}

gboolean
mien_face_pipeline_classify (MienFacePipeline    *self,
                             GdkPixbuf           *frame,
                             MienFacePrediction  *prediction,
                             GError             **error)
{
  guint n_models, n_classes;
  gint64 start = g_get_monotonic_time ();

  g_return_val_if_fail (MIEN_IS_FACE_PIPELINE (self), FALSE);
  g_return_val_if_fail (GDK_IS_PIXBUF (frame), FALSE);
  g_return_val_if_fail (prediction != NULL && prediction->n_models == 0, FALSE);

  n_models = mien_ensemble_get_n_models (self->ensemble);
  n_classes = mien_ensemble_get_n_classes (self->ensemble);
  for (guint i = 0; i < prediction->n_regions; i++)
    {
      MienRegionPrediction *region = &prediction->regions[i];

      region->per_model = g_new0 (float, MAX (n_models * n_classes, 1));
      region->average = g_new0 (float, MAX (n_classes, 1));
      if (prediction->whole)
        {
          if (!mien_ensemble_predict_pixbuf (self->ensemble, frame, region->per_model,
                                             region->average, error))
            return FALSE;
        }
      else
        {
          if (!mien_ensemble_predict_face (self->ensemble, frame, &region->face, &self->align,
                                           region->per_model, region->average, error))
            return FALSE;
          if (region->track_id != 0)
            {
              g_mutex_lock (&self->tracker_lock);
              mien_face_tracker_smooth (self->tracker, region->track_id, region->average,
                                        n_classes);
              g_mutex_unlock (&self->tracker_lock);
            }
        }
      region->best_class = mien_probabilities_argmax (region->average, n_classes);
    }
  prediction->n_models = n_models;
  prediction->n_classes = n_classes;
  prediction->classify_ms = (g_get_monotonic_time () - start) / 1000.0;
  return TRUE;
}

MienFacePrediction *
mien_face_pipeline_process (MienFacePipeline  *self,
                            GdkPixbuf         *frame,
                            GError           **error)
{
  g_autoptr(MienFacePrediction) prediction = mien_face_pipeline_detect (self, frame, error);

  if (prediction == NULL || !mien_face_pipeline_classify (self, frame, prediction, error))
    return NULL;
  return g_steal_pointer (&prediction);
}

/* ---- Face-aware evaluation ------------------------------------------------------------ */

void
mien_face_evaluation_free (MienFaceEvaluation *evaluation)
{
  if (evaluation == NULL)
    return;
  g_clear_pointer (&evaluation->metrics, mien_metrics_free);
  g_clear_pointer (&evaluation->per_model, g_ptr_array_unref);
  for (guint i = 0; i < evaluation->n_samples; i++)
    g_free (evaluation->samples[i].average);
  g_free (evaluation->samples);
  g_clear_pointer (&evaluation->unreadable, g_ptr_array_unref);
  g_clear_pointer (&evaluation->no_face, g_ptr_array_unref);
  g_free (evaluation);
}

/* Keeps only the largest region (by the detector's box), so that the classifier runs once. */
static void
keep_largest (MienFacePrediction *prediction)
{
  guint best = 0;

  for (guint i = 1; i < prediction->n_regions; i++)
    if (prediction->regions[i].face.width * prediction->regions[i].face.height >
        prediction->regions[best].face.width * prediction->regions[best].face.height)
      best = i;
  if (prediction->n_regions > 1)
    {
      prediction->regions[0] = prediction->regions[best];
      prediction->n_regions = 1;
    }
}

/* One image: its sample filled, the metrics counted. FALSE only for a failure that ends the
 * evaluation. A detector that fails on the image leaves it out as unreadable, and its error
 * (naming the image) goes to `detect_error` when that holds none yet. */
static gboolean
evaluate_image (MienFacePipeline    *self,
                MienDataset         *dataset,
                guint                index,
                MienFaceEvaluation  *evaluation,
                GError             **detect_error,
                GError             **error)
{
  MienFaceEvalSample *sample = &evaluation->samples[index];
  const char *path = mien_dataset_get_path (dataset, index);
  guint label = mien_dataset_get_label (dataset, index);
  g_autoptr(GError) local_error = NULL;
  /* Through the dataset: a sample may be a box of its file or pixels the dataset holds. */
  g_autoptr(GdkPixbuf) frame = mien_dataset_load_pixbuf (dataset, index, &local_error);
  g_autoptr(MienFacePrediction) prediction = NULL;
  const MienRegionPrediction *region;

  sample->predicted = MIEN_FACE_EVAL_UNREADABLE;
  if (frame == NULL)
    {
      /* mien_dataset_load_pixbuf () names the sample. */
      g_ptr_array_add (evaluation->unreadable, g_strdup (local_error->message));
      return TRUE;
    }
  prediction = mien_face_pipeline_detect (self, frame, &local_error);
  if (prediction == NULL)
    {
      g_autofree char *reason = g_strdup_printf (_("%s: face detection failed: %s"), path,
                                                 local_error->message);

      /* Not a missed face: the model was never asked, so the metrics do not blame it. */
      if (*detect_error == NULL)
        g_set_error_literal (detect_error, local_error->domain, local_error->code, reason);
      g_ptr_array_add (evaluation->unreadable, g_steal_pointer (&reason));
      return TRUE;
    }
  sample->n_faces = prediction->n_regions;
  if (prediction->n_regions == 0)
    {
      sample->predicted = MIEN_FACE_EVAL_NO_FACE;
      g_ptr_array_add (evaluation->no_face, g_strdup (path));
      mien_metrics_add_missed (evaluation->metrics, label);
      for (guint m = 0; m < evaluation->per_model->len; m++)
        mien_metrics_add_missed (evaluation->per_model->pdata[m], label);
      return TRUE;
    }
  keep_largest (prediction);
  if (!mien_face_pipeline_classify (self, frame, prediction, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  region = &prediction->regions[0];
  sample->face = region->face;
  sample->average = g_memdup2 (region->average, sizeof (float) * prediction->n_classes);
  sample->predicted = (int) region->best_class;
  mien_metrics_add (evaluation->metrics, label, region->best_class);
  for (guint m = 0; m < prediction->n_models; m++)
    mien_metrics_add (evaluation->per_model->pdata[m], label,
                      mien_probabilities_argmax (region->per_model + (gsize) m *
                                                 prediction->n_classes,
                                                 prediction->n_classes));
  return TRUE;
}

MienFaceEvaluation *
mien_face_pipeline_evaluate (MienFacePipeline  *self,
                             MienDataset       *dataset,
                             MienProgressFunc   progress,
                             gpointer           progress_data,
                             GCancellable      *cancellable,
                             GError           **error)
{
  g_autoptr(MienFaceEvaluation) evaluation = NULL;
  g_autoptr(GError) detect_error = NULL;
  const char * const *classes;
  guint n;

  g_return_val_if_fail (MIEN_IS_FACE_PIPELINE (self), NULL);
  g_return_val_if_fail (MIEN_IS_DATASET (dataset), NULL);
  g_return_val_if_fail (self->detector != NULL, NULL);

  if (!mien_ensemble_check_dataset (self->ensemble, dataset, error))
    return NULL;
  classes = mien_ensemble_get_classes (self->ensemble);
  n = mien_dataset_get_n_samples (dataset);
  evaluation = g_new0 (MienFaceEvaluation, 1);
  evaluation->metrics = mien_metrics_new (classes);
  evaluation->per_model = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_metrics_free);
  for (guint m = 0; m < mien_ensemble_get_n_models (self->ensemble); m++)
    g_ptr_array_add (evaluation->per_model, mien_metrics_new (classes));
  evaluation->n_samples = n;
  evaluation->samples = g_new0 (MienFaceEvalSample, MAX (n, 1));
  evaluation->unreadable = g_ptr_array_new_with_free_func (g_free);
  evaluation->no_face = g_ptr_array_new_with_free_func (g_free);

  /* Every image is a photo of its own: no identity carries over from the one before. An image
   * without a face is what is measured, never replaced by the whole image. */
  mien_face_pipeline_set_tracking (self, FALSE);
  mien_face_pipeline_set_fallback (self, MIEN_FACE_FALLBACK_NONE);
  for (guint i = 0; i < n; i++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
          !evaluate_image (self, dataset, i, evaluation, &detect_error, error))
        return NULL;
      if (progress != NULL)
        progress ((double) (i + 1) / n, _("Finding and classifying faces"), progress_data);
    }
  /* A detector that failed on every image it was given is broken, whatever the data: its
   * first error says why better than "no readable image". */
  if (evaluation->metrics->n == 0 && detect_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&detect_error));
      return NULL;
    }
  if (evaluation->metrics->n == 0)
    {
      g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_EMPTY,
                   _("%s has no readable image"), mien_dataset_get_source (dataset));
      return NULL;
    }
  mien_metrics_compute (evaluation->metrics);
  for (guint m = 0; m < evaluation->per_model->len; m++)
    mien_metrics_compute (evaluation->per_model->pdata[m]);
  return g_steal_pointer (&evaluation);
}
