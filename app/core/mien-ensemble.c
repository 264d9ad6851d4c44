/* mien-ensemble.c — averaging the softmax outputs of several models. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "mien-ensemble.h"
#include "mien-image.h"
#include "mien-loader.h"
#include "mien-output.h"

G_DEFINE_QUARK (mien-ensemble-error-quark, mien_ensemble_error)

struct _MienEnsemble
{
  GObject    parent_instance;
  GPtrArray *models;   /* MienModel */
  GPtrArray *names;    /* char *, each model's file (or "model N") for error messages */
};

G_DEFINE_FINAL_TYPE (MienEnsemble, mien_ensemble, G_TYPE_OBJECT)

static void
mien_ensemble_finalize (GObject *object)
{
  MienEnsemble *self = MIEN_ENSEMBLE (object);

  g_ptr_array_unref (self->models);
  g_ptr_array_unref (self->names);
  G_OBJECT_CLASS (mien_ensemble_parent_class)->finalize (object);
}

static void
mien_ensemble_class_init (MienEnsembleClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mien_ensemble_finalize;
}

static void
mien_ensemble_init (MienEnsemble *self)
{
  self->models = g_ptr_array_new_with_free_func (g_object_unref);
  self->names = g_ptr_array_new_with_free_func (g_free);
}

MienEnsemble *
mien_ensemble_new (void)
{
  return g_object_new (MIEN_TYPE_ENSEMBLE, NULL);
}

MienEnsemble *
mien_ensemble_load (MienPluginEngine    *engine,
                    const char * const  *paths,
                    MienDevice           device,
                    GError             **error)
{
  g_autoptr(MienEnsemble) self = mien_ensemble_new ();

  g_return_val_if_fail (paths != NULL, NULL);

  for (guint i = 0; paths[i] != NULL; i++)
    {
      g_autoptr(MienModel) model = mien_model_load (engine, paths[i], device, error);
      g_autoptr(GError) local_error = NULL;

      if (model == NULL)
        return NULL;
      if (!mien_ensemble_add (self, model, &local_error))
        {
          g_set_error (error, local_error->domain, local_error->code, "%s: %s", paths[i],
                       local_error->message);
          return NULL;
        }
      g_free (self->names->pdata[i]);
      self->names->pdata[i] = g_filename_display_name (paths[i]);
    }
  if (self->models->len == 0)
    {
      g_set_error (error, MIEN_ENSEMBLE_ERROR, MIEN_ENSEMBLE_ERROR_EMPTY, _("No model given"));
      return NULL;
    }
  return g_steal_pointer (&self);
}

static gboolean
same_classes (const char * const *a,
              const char * const *b)
{
  return g_strv_equal ((const char * const *) a, (const char * const *) b);
}

gboolean
mien_ensemble_add (MienEnsemble  *self,
                   MienModel     *model,
                   GError       **error)
{
  g_return_val_if_fail (MIEN_IS_ENSEMBLE (self), FALSE);
  g_return_val_if_fail (MIEN_IS_MODEL (model), FALSE);

  if (self->models->len > 0)
    {
      const char * const *mine = mien_ensemble_get_classes (self);
      const char * const *theirs = mien_model_get_classes (model);

      if (!same_classes (mine, theirs))
        {
          g_autofree char *a = g_strjoinv (", ", (char **) mine);
          g_autofree char *b = g_strjoinv (", ", (char **) theirs);

          g_set_error (error, MIEN_ENSEMBLE_ERROR, MIEN_ENSEMBLE_ERROR_CLASSES,
                       _("The model's classes (%s) differ from the ensemble's (%s)"), b, a);
          return FALSE;
        }
    }
  g_ptr_array_add (self->models, g_object_ref (model));
  g_ptr_array_add (self->names, g_strdup_printf (_("model %u (%s)"), self->models->len,
                                                 mien_model_get_backbone_spec (model)));
  return TRUE;
}

guint
mien_ensemble_get_n_models (MienEnsemble *self)
{
  g_return_val_if_fail (MIEN_IS_ENSEMBLE (self), 0);
  return self->models->len;
}

MienModel *
mien_ensemble_get_model (MienEnsemble *self,
                         guint         index)
{
  g_return_val_if_fail (MIEN_IS_ENSEMBLE (self), NULL);
  g_return_val_if_fail (index < self->models->len, NULL);
  return self->models->pdata[index];
}

const char * const *
mien_ensemble_get_classes (MienEnsemble *self)
{
  g_return_val_if_fail (MIEN_IS_ENSEMBLE (self), NULL);
  if (self->models->len == 0)
    return NULL;
  return mien_model_get_classes (self->models->pdata[0]);
}

guint
mien_ensemble_get_n_classes (MienEnsemble *self)
{
  g_return_val_if_fail (MIEN_IS_ENSEMBLE (self), 0);
  if (self->models->len == 0)
    return 0;
  return mien_model_get_n_classes (self->models->pdata[0]);
}

gboolean
mien_ensemble_get_face_margin (MienEnsemble  *self,
                               double         fallback,
                               double        *margin,
                               GError       **error)
{
  double first = fallback;

  g_return_val_if_fail (MIEN_IS_ENSEMBLE (self), FALSE);
  g_return_val_if_fail (margin != NULL, FALSE);

  for (guint m = 0; m < self->models->len; m++)
    {
      double own = fallback;

      mien_model_get_face_margin (self->models->pdata[m], &own);
      if (m == 0)
        first = own;
      else if (own != first)
        {
          g_set_error (error, MIEN_ENSEMBLE_ERROR, MIEN_ENSEMBLE_ERROR_FACE_MARGIN,
                       /* Translators: the models are named by their files. */
                       _("%s was trained on faces cropped with a margin of %g and %s with %g; "
                         "one crop feeds every model, so choose the margin"),
                       (const char *) self->names->pdata[0], first,
                       (const char *) self->names->pdata[m], own);
          return FALSE;
        }
    }
  *margin = first;
  return TRUE;
}

static gboolean
check_not_empty (MienEnsemble  *self,
                 GError       **error)
{
  if (self->models->len > 0)
    return TRUE;
  g_set_error (error, MIEN_ENSEMBLE_ERROR, MIEN_ENSEMBLE_ERROR_EMPTY,
               _("The ensemble has no model"));
  return FALSE;
}

/* NaN or infinite probabilities come from NaN weights or an unusable mean/std: an error naming
 * the member, never a row of "nan". */
static gboolean
check_finite (MienEnsemble  *self,
              guint          member,
              const float   *probs,
              gsize          n,
              GError       **error)
{
  for (gsize i = 0; i < n; i++)
    if (!isfinite (probs[i]))
      {
        g_set_error (error, MIEN_ENSEMBLE_ERROR, MIEN_ENSEMBLE_ERROR_NOT_FINITE,
                     _("%s gives probabilities that are not numbers (NaN or infinite): its "
                       "weights or its mean/std are unusable"),
                     (const char *) self->names->pdata[member]);
        return FALSE;
      }
  return TRUE;
}

/* What one member is shown: a new reference to a pixbuf of any size, which
 * mien_image_from_pixbuf () brings to the member's input size and colour mode. */
typedef GdkPixbuf *(*MemberInputFunc) (MienModel *model,
                                       gpointer   data);

static gboolean
predict_members (MienEnsemble     *self,
                 MemberInputFunc   input,
                 gpointer          input_data,
                 float            *per_model,
                 float            *average,
                 GError          **error)
{
  guint k;

  if (!check_not_empty (self, error))
    return FALSE;
  k = mien_ensemble_get_n_classes (self);
  memset (average, 0, k * sizeof (float));
  for (guint m = 0; m < self->models->len; m++)
    {
      MienModel *model = self->models->pdata[m];
      int size = mien_model_get_input_size (model);
      g_autofree guint8 *pixels = g_malloc (3 * (gsize) size * size);
      g_autofree float *probs = g_new (float, k);
      g_autoptr(GdkPixbuf) pixbuf = input (model, input_data);
      g_autoptr(MienTensor) images = NULL;
      g_autoptr(MienTensor) out = NULL;

      if (pixbuf == NULL)
        {
          g_set_error (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY,
                       _("Not enough memory for a %d × %d image"), size, size);
          return FALSE;
        }
      if (!mien_image_from_pixbuf (pixbuf, size, mien_model_get_grey (model), pixels, NULL,
                                   error))
        return FALSE;
      images = mien_image_batch_tensor (pixels, 1, size, error);
      out = images ? mien_model_predict (model, images, error) : NULL;
      if (out == NULL || !mien_tensor_to_host (out, probs, k * sizeof (float), error) ||
          !check_finite (self, m, probs, k, error))
        return FALSE;
      for (guint c = 0; c < k; c++)
        average[c] += probs[c] / self->models->len;
      if (per_model != NULL)
        memcpy (per_model + (gsize) m * k, probs, k * sizeof (float));
    }
  return TRUE;
}

static GdkPixbuf *
whole_pixbuf (MienModel *model,
              gpointer   data)
{
  return g_object_ref (data);
}

gboolean
mien_ensemble_predict_pixbuf (MienEnsemble  *self,
                              GdkPixbuf     *pixbuf,
                              float         *per_model,
                              float         *average,
                              GError       **error)
{
  g_return_val_if_fail (MIEN_IS_ENSEMBLE (self), FALSE);
  g_return_val_if_fail (GDK_IS_PIXBUF (pixbuf), FALSE);
  g_return_val_if_fail (average != NULL, FALSE);

  return predict_members (self, whole_pixbuf, pixbuf, per_model, average, error);
}

typedef struct {
  GdkPixbuf                  *frame;
  const MienFace             *face;
  const MienFaceAlignOptions *options;
} FaceInput;

static GdkPixbuf *
aligned_face (MienModel *model,
              gpointer   data)
{
  FaceInput *in = data;

  return mien_face_align (in->frame, in->face, in->options, mien_model_get_input_size (model),
                          mien_model_get_grey (model));
}

gboolean
mien_ensemble_predict_face (MienEnsemble                *self,
                            GdkPixbuf                   *frame,
                            const MienFace              *face,
                            const MienFaceAlignOptions  *options,
                            float                       *per_model,
                            float                       *average,
                            GError                     **error)
{
  FaceInput in = { frame, face, options };

  g_return_val_if_fail (MIEN_IS_ENSEMBLE (self), FALSE);
  g_return_val_if_fail (GDK_IS_PIXBUF (frame), FALSE);
  g_return_val_if_fail (face != NULL, FALSE);
  g_return_val_if_fail (average != NULL, FALSE);

  /* mien_face_align () only checks the frame's layout with g_return_val_if_fail; a camera or a
   * file may hand anything, so it is refused here as mien_image_from_pixbuf () would. */
  if (gdk_pixbuf_get_colorspace (frame) != GDK_COLORSPACE_RGB ||
      gdk_pixbuf_get_bits_per_sample (frame) != 8 ||
      (gdk_pixbuf_get_n_channels (frame) != 3 && gdk_pixbuf_get_n_channels (frame) != 4))
    {
      g_set_error (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_UNKNOWN_TYPE,
                   _("Unsupported pixel layout (%d channels, %d bits)"),
                   gdk_pixbuf_get_n_channels (frame), gdk_pixbuf_get_bits_per_sample (frame));
      return FALSE;
    }
  return predict_members (self, aligned_face, &in, per_model, average, error);
}

gboolean
mien_ensemble_predict_file (MienEnsemble  *self,
                            const char    *path,
                            float         *per_model,
                            float         *average,
                            GError       **error)
{
  g_autoptr(GdkPixbuf) pixbuf = NULL;

  g_return_val_if_fail (MIEN_IS_ENSEMBLE (self), FALSE);

  /* The one way an image file becomes a pixbuf: bounded, upright, and never NULL without an
   * error ("PATH: reason"). */
  pixbuf = mien_image_load (path, error);
  if (pixbuf == NULL)
    return FALSE;
  return mien_ensemble_predict_pixbuf (self, pixbuf, per_model, average, error);
}

/* Every member's probabilities for every readable sample, with one loader per member (members
 * may see the images at different sizes and colour modes). */
static gboolean
predict_dataset (MienEnsemble      *self,
                 MienDataset       *dataset,
                 int                n_workers,
                 float            **probs,     /* [n_models][n_samples * K] */
                 gboolean          *readable,  /* [n_samples] */
                 GPtrArray        **unreadable,
                 MienProgressFunc   progress,
                 gpointer           progress_data,
                 GCancellable      *cancellable,
                 GError           **error)
{
  guint n_models = self->models->len;
  guint n = mien_dataset_get_n_samples (dataset);
  guint k = mien_ensemble_get_n_classes (self);
  g_autoptr(GPtrArray) loaders = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_loader_free);
  g_autoptr(GArray) slots = NULL;
  guint done = 0, total;

  for (guint i = 0; i < n; i++)
    readable[i] = TRUE;
  for (guint m = 0; m < n_models; m++)
    {
      MienModel *model = self->models->pdata[m];
      MienLoaderOptions options = MIEN_LOADER_OPTIONS_INIT;
      MienLoader *loader;

      options.input_size = mien_model_get_input_size (model);
      options.grey = mien_model_get_grey (model);
      options.batch_size = 64;
      options.n_workers = n_workers;
      options.device = mien_model_get_device (model);
      loader = mien_loader_new (dataset, &options, error);
      if (loader == NULL)
        return FALSE;
      g_ptr_array_add (loaders, loader);
      if (!mien_loader_prepare (loader, NULL, NULL, NULL, NULL, cancellable, error))
        return FALSE;
      for (guint i = 0; i < n; i++)
        readable[i] &= mien_loader_is_readable (loader, i);
    }
  if (unreadable != NULL)
    {
      GPtrArray *reasons = mien_loader_get_unreadable (loaders->pdata[0]);

      /* Copies: the loader's strings go with the loader when this returns. */
      *unreadable = g_ptr_array_new_full (reasons->len, g_free);
      for (guint i = 0; i < reasons->len; i++)
        g_ptr_array_add (*unreadable, g_strdup (reasons->pdata[i]));
    }

  slots = mien_dataset_plain_plan (dataset);
  for (guint m = 0; m < n_models; m++)
    mien_loader_filter_readable (loaders->pdata[m], slots);
  total = slots->len * n_models;

  for (guint m = 0; m < n_models; m++)
    {
      MienLoader *loader = loaders->pdata[m];

      mien_loader_start (loader, slots);
      for (;;)
        {
          g_autoptr(GError) local_error = NULL;
          g_autoptr(MienBatch) batch = mien_loader_next (loader, cancellable, &local_error);
          g_autoptr(MienTensor) out = NULL;
          g_autofree float *host = NULL;

          if (batch == NULL)
            {
              if (local_error == NULL)
                break;
              g_propagate_error (error, g_steal_pointer (&local_error));
              return FALSE;
            }
          out = mien_model_predict (self->models->pdata[m], batch->images, error);
          host = g_new (float, (gsize) batch->n * k);
          if (out == NULL ||
              !mien_tensor_to_host (out, host, (gsize) batch->n * k * sizeof (float), error) ||
              !check_finite (self, m, host, (gsize) batch->n * k, error))
            return FALSE;
          for (guint i = 0; i < batch->n; i++)
            memcpy (probs[m] + (gsize) batch->slots[i].index * k, host + (gsize) i * k,
                    k * sizeof (float));
          done += batch->n;
          if (progress != NULL)
            progress ((double) done / MAX (total, 1), _("Evaluating"), progress_data);
        }
    }
  return TRUE;
}

gboolean
mien_ensemble_check_dataset (MienEnsemble  *self,
                             MienDataset   *dataset,
                             GError       **error)
{
  const char * const *classes;

  g_return_val_if_fail (MIEN_IS_ENSEMBLE (self), FALSE);
  g_return_val_if_fail (MIEN_IS_DATASET (dataset), FALSE);

  if (!check_not_empty (self, error))
    return FALSE;
  classes = mien_ensemble_get_classes (self);
  if (!same_classes (classes, mien_dataset_get_classes (dataset)))
    {
      g_autofree char *a = g_strjoinv (", ", (char **) classes);
      g_autofree char *b = g_strjoinv (", ", (char **) mien_dataset_get_classes (dataset));

      g_set_error (error, MIEN_ENSEMBLE_ERROR, MIEN_ENSEMBLE_ERROR_CLASSES,
                   _("The dataset's classes (%s) differ from the models' (%s)"), b, a);
      return FALSE;
    }
  return TRUE;
}

/* The evaluate functions: `predictions` and `records` may be NULL. */
static MienMetrics *
evaluate (MienEnsemble      *self,
          MienDataset       *dataset,
          int                n_workers,
          GPtrArray        **per_model,
          GPtrArray        **unreadable,
          GArray           **predictions,
          MienPredictions  **records,
          MienProgressFunc   progress,
          gpointer           progress_data,
          GCancellable      *cancellable,
          GError           **error)
{
  const char * const *classes;
  guint n, k, n_models;
  g_autofree gboolean *readable = NULL;
  g_autofree float *average = NULL;
  float **probs;
  g_autoptr(MienMetrics) metrics = NULL;
  g_autoptr(GPtrArray) member_metrics = NULL;
  g_autoptr(GArray) predicted = NULL;
  g_autoptr(MienPredictions) recorded = NULL;
  gboolean ok;

  g_return_val_if_fail (MIEN_IS_ENSEMBLE (self), NULL);
  g_return_val_if_fail (MIEN_IS_DATASET (dataset), NULL);

  if (!mien_ensemble_check_dataset (self, dataset, error))
    return NULL;
  classes = mien_ensemble_get_classes (self);

  n = mien_dataset_get_n_samples (dataset);
  k = mien_ensemble_get_n_classes (self);
  n_models = self->models->len;
  readable = g_new (gboolean, n);
  probs = g_new0 (float *, n_models);
  for (guint m = 0; m < n_models; m++)
    probs[m] = g_new0 (float, (gsize) n * k);

  ok = predict_dataset (self, dataset, n_workers, probs, readable, unreadable, progress,
                        progress_data, cancellable, error);
  if (ok)
    {
      metrics = mien_metrics_new (classes);
      member_metrics = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_metrics_free);
      for (guint m = 0; m < n_models; m++)
        g_ptr_array_add (member_metrics, mien_metrics_new (classes));
      average = g_new (float, k);
      predicted = g_array_sized_new (FALSE, FALSE, sizeof (int), n);
      if (records != NULL)
        recorded = mien_predictions_new (k);
      for (guint i = 0; i < n; i++)
        {
          guint label = mien_dataset_get_label (dataset, i);
          int best = -1;

          if (readable[i])
            {
              memset (average, 0, k * sizeof (float));
              for (guint m = 0; m < n_models; m++)
                {
                  const float *p = probs[m] + (gsize) i * k;

                  for (guint c = 0; c < k; c++)
                    average[c] += p[c] / n_models;
                  mien_metrics_add (member_metrics->pdata[m], label,
                                    mien_probabilities_argmax (p, k));
                }
              best = mien_probabilities_argmax (average, k);
              mien_metrics_add (metrics, label, best);
            }
          g_array_append_val (predicted, best);
          if (recorded != NULL)
            mien_predictions_add (recorded, mien_dataset_get_path (dataset, i), label,
                                  readable[i] ? average : NULL);
        }
      if (metrics->n == 0)
        {
          g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_EMPTY,
                       _("%s has no readable image"), mien_dataset_get_source (dataset));
          ok = FALSE;
        }
    }
  for (guint m = 0; m < n_models; m++)
    g_free (probs[m]);
  g_free (probs);
  if (!ok)
    return NULL;

  mien_metrics_compute (metrics);
  for (guint m = 0; m < n_models; m++)
    mien_metrics_compute (member_metrics->pdata[m]);
  if (per_model != NULL)
    *per_model = g_steal_pointer (&member_metrics);
  if (predictions != NULL)
    *predictions = g_steal_pointer (&predicted);
  if (records != NULL)
    *records = g_steal_pointer (&recorded);
  return g_steal_pointer (&metrics);
}

MienMetrics *
mien_ensemble_evaluate (MienEnsemble      *self,
                        MienDataset       *dataset,
                        int                n_workers,
                        GPtrArray        **per_model,
                        GPtrArray        **unreadable,
                        MienProgressFunc   progress,
                        gpointer           progress_data,
                        GCancellable      *cancellable,
                        GError           **error)
{
  return evaluate (self, dataset, n_workers, per_model, unreadable, NULL, NULL, progress,
                   progress_data, cancellable, error);
}

MienMetrics *
mien_ensemble_evaluate_samples (MienEnsemble      *self,
                                MienDataset       *dataset,
                                int                n_workers,
                                GArray           **predictions,
                                GPtrArray        **unreadable,
                                MienProgressFunc   progress,
                                gpointer           progress_data,
                                GCancellable      *cancellable,
                                GError           **error)
{
  g_return_val_if_fail (predictions != NULL, NULL);

  return evaluate (self, dataset, n_workers, NULL, unreadable, predictions, NULL, progress,
                   progress_data, cancellable, error);
}

MienMetrics *
mien_ensemble_evaluate_predictions (MienEnsemble      *self,
                                    MienDataset       *dataset,
                                    int                n_workers,
                                    GPtrArray        **per_model,
                                    MienPredictions  **predictions,
                                    GPtrArray        **unreadable,
                                    MienProgressFunc   progress,
                                    gpointer           progress_data,
                                    GCancellable      *cancellable,
                                    GError           **error)
{
  g_return_val_if_fail (predictions != NULL, NULL);

  return evaluate (self, dataset, n_workers, per_model, unreadable, NULL, predictions, progress,
                   progress_data, cancellable, error);
}

/* ---- The predictions CSV ---------------------------------------------------------------- */

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

void
mien_ensemble_collect_files (const char     *path,
                             MienFileFilter  accept,
                             GPtrArray      *out)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = NULL;
  const char *name;

  g_return_if_fail (path != NULL);
  g_return_if_fail (accept != NULL);
  g_return_if_fail (out != NULL);

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_ptr_array_add (out, g_strdup (path));
      return;
    }
  dir = g_dir_open (path, 0, NULL);
  if (dir == NULL)
    {
      /* Kept so that predicting it reports why it cannot be read. */
      g_ptr_array_add (out, g_strdup (path));
      return;
    }
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *child = g_build_filename (path, names->pdata[i], NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        mien_ensemble_collect_files (child, accept, out);
      else if (accept (child))
        g_ptr_array_add (out, g_steal_pointer (&child));
    }
}

void
mien_ensemble_collect_images (const char *path,
                              GPtrArray  *out)
{
  /* A path ends with its file's name, which is all mien_dataset_is_image_name () looks at. */
  mien_ensemble_collect_files (path, mien_dataset_is_image_name, out);
}

/* RFC 4180: quote fields holding a comma, a quote or a line break. */
static void
append_csv_field (GString    *line,
                  const char *field)
{
  if (strpbrk (field, ",\"\r\n") == NULL)
    {
      g_string_append (line, field);
      return;
    }
  g_string_append_c (line, '"');
  for (const char *p = field; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (line, '"');
      g_string_append_c (line, *p);
    }
  g_string_append_c (line, '"');
}

/* "class,p_<class>,…\n" */
static void
append_class_columns (MienEnsemble *self,
                      GString      *csv)
{
  const char * const *classes = mien_ensemble_get_classes (self);

  g_string_append (csv, "class");
  for (guint c = 0; classes != NULL && classes[c] != NULL; c++)
    {
      g_autofree char *column = g_strconcat ("p_", classes[c], NULL);

      g_string_append_c (csv, ',');
      append_csv_field (csv, column);
    }
  g_string_append_c (csv, '\n');
}

/* The predicted class (argmax of `average`) and the K probabilities with six decimals, "\n". */
static void
append_class_and_probabilities (MienEnsemble *self,
                                GString      *csv,
                                const float  *average)
{
  guint k = mien_ensemble_get_n_classes (self);

  append_csv_field (csv, mien_ensemble_get_classes (self)[mien_probabilities_argmax (average, k)]);
  for (guint c = 0; c < k; c++)
    g_string_append_printf (csv, ",%.6f", average[c]);
  g_string_append_c (csv, '\n');
}

void
mien_ensemble_append_csv_header (MienEnsemble *self,
                                 GString      *csv)
{
  g_return_if_fail (MIEN_IS_ENSEMBLE (self));
  g_return_if_fail (csv != NULL);

  g_string_append (csv, "path,");
  append_class_columns (self, csv);
}

void
mien_ensemble_append_faces_csv_header (MienEnsemble *self,
                                       GString      *csv)
{
  g_return_if_fail (MIEN_IS_ENSEMBLE (self));
  g_return_if_fail (csv != NULL);

  g_string_append (csv, "path,frame,timestamp,faces,face,track,x,y,width,height,score,");
  /* "class,p_…" as in the plain header. */
  append_class_columns (self, csv);
}

void
mien_ensemble_append_faces_csv_row (MienEnsemble      *self,
                                    GString           *csv,
                                    const MienFaceRow *row)
{
  guint k;

  g_return_if_fail (MIEN_IS_ENSEMBLE (self));
  g_return_if_fail (csv != NULL && row != NULL && row->path != NULL);
  g_return_if_fail (row->n_faces == 0 || (row->face != NULL && row->average != NULL));

  k = mien_ensemble_get_n_classes (self);
  append_csv_field (csv, row->path);
  g_string_append_printf (csv, ",%" G_GINT64_FORMAT ",", row->frame);
  if (row->timestamp_us >= 0)
    g_string_append_printf (csv, "%.3f", row->timestamp_us / 1e6);
  g_string_append_printf (csv, ",%u", row->n_faces);
  if (row->n_faces == 0)
    {
      /* face, track, x, y, width, height, score, class and the K probabilities: empty. */
      for (guint c = 0; c < 8 + k; c++)
        g_string_append_c (csv, ',');
      g_string_append_c (csv, '\n');
      return;
    }
  g_string_append_printf (csv, ",%u,", row->index);
  if (row->track_id > 0)
    g_string_append_printf (csv, "%u", row->track_id);
  g_string_append_printf (csv, ",%.1f,%.1f,%.1f,%.1f,%.3f,", row->face->x, row->face->y,
                          row->face->width, row->face->height, row->face->score);
  append_class_and_probabilities (self, csv, row->average);
}

void
mien_ensemble_append_csv_row (MienEnsemble *self,
                              GString      *csv,
                              const char   *path,
                              const float  *average)
{
  g_return_if_fail (MIEN_IS_ENSEMBLE (self));
  g_return_if_fail (csv != NULL && path != NULL && average != NULL);
  g_return_if_fail (mien_ensemble_get_n_classes (self) > 0);

  append_csv_field (csv, path);
  g_string_append_c (csv, ',');
  append_class_and_probabilities (self, csv, average);
}

/* Sends what `text` holds to the output or the sink, and empties it. */
static gboolean
flush_csv (GString                      *text,
           MienOutput                   *output,
           const MienPredictCsvOptions  *options,
           GError                      **error)
{
  gboolean ok = TRUE;

  if (output != NULL)
    ok = mien_output_write (output, text->str, text->len, error);
  else
    options->sink (text->str, options->sink_data);
  g_string_truncate (text, 0);
  return ok;
}

gboolean
mien_ensemble_predict_csv (MienEnsemble                 *self,
                           const char * const           *inputs,
                           const char                   *csv_path,
                           const MienPredictCsvOptions  *options,
                           guint                        *n_rows,
                           GCancellable                 *cancellable,
                           GError                      **error)
{
  static const MienPredictCsvOptions defaults = { NULL, };
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) protect = g_ptr_array_new ();
  g_autoptr(MienOutput) output = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree float *average = NULL;
  guint rows = 0;

  g_return_val_if_fail (MIEN_IS_ENSEMBLE (self), FALSE);
  g_return_val_if_fail (inputs != NULL, FALSE);
  if (options == NULL)
    options = &defaults;
  g_return_val_if_fail (csv_path != NULL || options->sink != NULL, FALSE);

  if (!check_not_empty (self, error))
    return FALSE;
  if (options->progress != NULL)
    options->progress (-1.0, _("Listing images…"), options->progress_data);
  for (guint i = 0; inputs[i] != NULL; i++)
    mien_ensemble_collect_images (inputs[i], paths);
  if (paths->len == 0)
    {
      g_autofree char *list = g_strjoinv (", ", (char **) inputs);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("There is no image in %s"), list);
      return FALSE;
    }

  if (csv_path != NULL)
    {
      /* Every image listed, not only the folders given, so that the CSV cannot replace one. */
      for (guint i = 0; i < paths->len; i++)
        g_ptr_array_add (protect, paths->pdata[i]);
      for (guint i = 0; options->protect != NULL && options->protect[i] != NULL; i++)
        g_ptr_array_add (protect, (gpointer) options->protect[i]);
      g_ptr_array_add (protect, NULL);
      output = mien_output_new (csv_path, (const char * const *) protect->pdata, error);
      if (output == NULL)
        return FALSE;
    }

  average = g_new (float, mien_ensemble_get_n_classes (self));
  mien_ensemble_append_csv_header (self, text);
  for (guint i = 0; i < paths->len; i++)
    {
      g_autoptr(GError) local_error = NULL;
      gboolean ok;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (options->lock != NULL)
        g_mutex_lock (options->lock);
      ok = mien_ensemble_predict_file (self, paths->pdata[i], NULL, average, &local_error);
      if (options->lock != NULL)
        g_mutex_unlock (options->lock);
      if (ok)
        {
          mien_ensemble_append_csv_row (self, text, paths->pdata[i], average);
          rows++;
        }
      else if (g_error_matches (local_error, MIEN_ENSEMBLE_ERROR,
                                MIEN_ENSEMBLE_ERROR_NOT_FINITE))
        {
          /* The model, not the image: every row would be the same failure. */
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      else if (options->failure != NULL)
        options->failure (paths->pdata[i], local_error, options->failure_data);
      /* Rows reach the sink as they come; a file gets them in large writes. */
      if ((output == NULL || text->len >= 65536) &&
          !flush_csv (text, output, options, error))
        return FALSE;
      if (options->progress != NULL)
        {
          /* Translators: progress of predicting a folder: images done of all */
          g_autofree char *message = g_strdup_printf (_("%u of %u images"), i + 1, paths->len);

          options->progress ((double) (i + 1) / paths->len, message, options->progress_data);
        }
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
      !flush_csv (text, output, options, error) ||
      (output != NULL && !mien_output_commit (output, error)))
    return FALSE;
  if (n_rows != NULL)
    *n_rows = rows;
  return TRUE;
}
