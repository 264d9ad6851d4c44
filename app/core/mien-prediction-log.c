/* mien-prediction-log.c — a session's per-face predictions, kept as predict --faces CSV. */
#include "config.h"

#include "mien-output.h"
#include "mien-prediction-log.h"

struct _MienPredictionLog
{
  GObject       parent_instance;

  MienEnsemble *ensemble;
  char         *source_id;
  GString      *rows;
  guint64       n_rows;
  gint64        start_us;   /* the first logged frame's push time: timestamps count from it */
};

G_DEFINE_FINAL_TYPE (MienPredictionLog, mien_prediction_log, G_TYPE_OBJECT)

static void
mien_prediction_log_finalize (GObject *object)
{
  MienPredictionLog *self = MIEN_PREDICTION_LOG (object);

  g_clear_object (&self->ensemble);
  g_free (self->source_id);
  g_string_free (self->rows, TRUE);
  G_OBJECT_CLASS (mien_prediction_log_parent_class)->finalize (object);
}

static void
mien_prediction_log_class_init (MienPredictionLogClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mien_prediction_log_finalize;
}

static void
mien_prediction_log_init (MienPredictionLog *self)
{
  self->rows = g_string_new (NULL);
  self->start_us = -1;
}

MienPredictionLog *
mien_prediction_log_new (MienEnsemble *ensemble,
                         const char   *source_id)
{
  MienPredictionLog *self;

  g_return_val_if_fail (MIEN_IS_ENSEMBLE (ensemble), NULL);
  g_return_val_if_fail (source_id != NULL, NULL);

  self = g_object_new (MIEN_TYPE_PREDICTION_LOG, NULL);
  self->ensemble = g_object_ref (ensemble);
  self->source_id = g_strdup (source_id);
  return self;
}

guint
mien_prediction_log_add (MienPredictionLog         *self,
                         const MienFramePrediction *prediction)
{
  g_return_val_if_fail (MIEN_IS_PREDICTION_LOG (self), 0);
  g_return_val_if_fail (prediction != NULL, 0);

  /* Another ensemble's prediction (models being changed) would not fit the header. */
  if (!prediction->faces || prediction->n_regions == 0 ||
      prediction->n_classes != mien_ensemble_get_n_classes (self->ensemble))
    return 0;

  if (self->start_us < 0)
    self->start_us = prediction->pushed_us;
  for (guint i = 0; i < prediction->n_regions; i++)
    {
      const MienRegionPrediction *region = &prediction->regions[i];
      MienFaceRow row = {
        .path = self->source_id,
        .frame = (gint64) prediction->frame_number - 1,
        .timestamp_us = MAX (prediction->pushed_us - self->start_us, 0),
        .n_faces = prediction->n_regions,
        .index = i,
        .track_id = region->track_id,
        .face = &region->face,
        .average = region->average,
      };

      mien_ensemble_append_faces_csv_row (self->ensemble, self->rows, &row);
    }
  self->n_rows += prediction->n_regions;
  return prediction->n_regions;
}

guint64
mien_prediction_log_get_n_rows (MienPredictionLog *self)
{
  g_return_val_if_fail (MIEN_IS_PREDICTION_LOG (self), 0);
  return self->n_rows;
}

gsize
mien_prediction_log_get_size (MienPredictionLog *self)
{
  g_return_val_if_fail (MIEN_IS_PREDICTION_LOG (self), 0);
  return self->rows->len;
}

gboolean
mien_prediction_log_save (MienPredictionLog  *self,
                          const char         *path,
                          GError            **error)
{
  g_autoptr(GString) csv = g_string_new (NULL);
  g_return_val_if_fail (MIEN_IS_PREDICTION_LOG (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  mien_ensemble_append_faces_csv_header (self->ensemble, csv);
  g_string_append_len (csv, self->rows->str, self->rows->len);
  /* mien-output's messages name the file and say why (ENOSPC: "No space left on device"). */
  return mien_output_set_contents (path, NULL, csv->str, csv->len, error);
}

void
mien_prediction_log_clear (MienPredictionLog *self)
{
  g_return_if_fail (MIEN_IS_PREDICTION_LOG (self));
  g_string_truncate (self->rows, 0);
  self->n_rows = 0;
}
