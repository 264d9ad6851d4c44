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
