/* mien-cli-eval.c — `mien-cli eval` and `mien-cli predict`. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "mien-cli-private.h"
#include "mien-ensemble.h"

static MienEnsemble *
load_ensemble (const char  *command,
               char       **models,
               const char  *device_arg,
               int         *status)
{
  g_autoptr(GError) error = NULL;
  MienDevice device = mien_device_cpu ();
  MienEnsemble *ensemble;

  if (models == NULL || models[0] == NULL)
    {
      *status = mien_cli_usage_error (command, _("give at least one --model FILE"));
      return NULL;
    }
  if (device_arg != NULL && !mien_device_parse (device_arg, &device, &error))
    {
      *status = mien_cli_usage_error (command, "%s", error->message);
      return NULL;
    }
  ensemble = mien_ensemble_load (mien_plugin_engine_get_default (),
                                 (const char * const *) models, device, &error);
  if (ensemble == NULL)
    {
      mien_cli_error (error->message);
      *status = EXIT_FAILURE;
    }
  return ensemble;
}

/* ---- eval ------------------------------------------------------------------------------- */

int
mien_cli_eval (int    argc,
               char **argv)
{
  g_auto(GStrv) models = NULL;
  g_autofree char *data = NULL, *classes_arg = NULL, *device = NULL;
  gboolean json = FALSE;
  int workers = 0;
  const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &models,
      N_("A model file; give several for an ensemble"), N_("FILE") },
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data, N_("The dataset to evaluate on"),
      N_("DATASET") },
    { "classes", 0, 0, G_OPTION_ARG_STRING, &classes_arg,
      N_("The dataset's classes to use (default: the models'); must be the models' classes"),
      N_("a,b,…") },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, N_("cpu (default) or cuda[:N]"),
      N_("DEVICE") },
    { "workers", 0, 0, G_OPTION_ARG_INT, &workers,
      N_("Image decoding threads (default: one per processor)"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(MienDataset) dataset = NULL;
  g_autoptr(MienMetrics) metrics = NULL;
  g_autoptr(GPtrArray) per_model = NULL;
  g_autoptr(GPtrArray) unreadable = NULL;
  g_autoptr(MienCliProgress) progress = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_auto(GStrv) classes = NULL;
  int status = EXIT_SUCCESS;

  if (!mien_cli_parse_options ("eval", "", entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return mien_cli_usage_error ("eval", _("unexpected argument “%s”"), argv[1]);
  if (data == NULL)
    return mien_cli_usage_error ("eval", _("--data DATASET is required"));
  if (classes_arg != NULL &&
      (classes = mien_dataset_parse_class_list (classes_arg, &error)) == NULL)
    return mien_cli_usage_error ("eval", "%s", error->message);

  ensemble = load_ensemble ("eval", models, device, &status);
  if (ensemble == NULL)
    return status;

  dataset = mien_dataset_open (data, classes ? (const char * const *) classes
                                             : mien_ensemble_get_classes (ensemble), &error);
  if (dataset == NULL)
    {
      mien_cli_error (error->message);
      return EXIT_FAILURE;
    }

  mien_cli_cancel_on_signals (cancellable);
  progress = mien_cli_progress_new ();
  metrics = mien_ensemble_evaluate (ensemble, dataset, workers, &per_model, &unreadable,
                                    mien_cli_progress_func, progress, cancellable, &error);
  mien_cli_progress_finish (progress);
  if (metrics == NULL)
    {
      mien_cli_error (error->message);
      return EXIT_FAILURE;
    }
  for (guint i = 0; unreadable != NULL && i < unreadable->len; i++)
    {
      g_autofree char *message = g_strdup_printf (_("skipped %s"),
                                                  (const char *) unreadable->pdata[i]);

      mien_cli_warning (message);
    }

  if (json)
    {
      g_autoptr(JsonNode) node = mien_metrics_to_json (metrics);

      mien_cli_print_json (node);
    }
  else
    {
      guint n = per_model->len + (per_model->len > 1 ? 1 : 0);
      g_autofree MienMetrics **rows = g_new0 (MienMetrics *, n);
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *table = NULL;

      for (guint m = 0; m < per_model->len; m++)
        {
          rows[m] = per_model->pdata[m];
          g_ptr_array_add (names, g_path_get_basename (models[m]));
        }
      if (per_model->len > 1)
        {
          rows[per_model->len] = metrics;
          g_ptr_array_add (names, g_strdup_printf (_("Ensemble (%u)"), per_model->len));
        }
      table = mien_metrics_format_table (rows, (const char * const *) names->pdata, n);
      g_print ("%s", table);
      g_print (_("\n%llu images; accuracy %.4f; macro F1 %.4f\n"),
               (unsigned long long) metrics->n, metrics->accuracy, metrics->macro_f1);
      g_print ("%s\n", _("Confusion matrix (rows: true class, columns: predicted):"));
      {
        g_autoptr(MienCliTable) confusion = mien_cli_table_new (metrics->n_classes + 1,
                                                                ~(guint64) 1);

        mien_cli_table_take (confusion, g_strdup (""));
        for (guint c = 0; c < metrics->n_classes; c++)
          mien_cli_table_take (confusion, g_strdup (metrics->classes[c]));
        for (guint t = 0; t < metrics->n_classes; t++)
          {
            mien_cli_table_take (confusion, g_strdup (metrics->classes[t]));
            for (guint p = 0; p < metrics->n_classes; p++)
              mien_cli_table_take (confusion, g_strdup_printf ("%" G_GUINT64_FORMAT,
                                                               metrics->confusion[t * metrics->n_classes + p]));
          }
        mien_cli_table_print (confusion, "  ");
      }
    }
  return EXIT_SUCCESS;
}

/* ---- predict ---------------------------------------------------------------------------- */

int
mien_cli_predict (int    argc,
                  char **argv)
{
  g_auto(GStrv) models = NULL;
  g_autofree char *csv = NULL, *device = NULL, *detector = NULL, *face_model = NULL;
  gboolean faces = FALSE, no_rotate = FALSE;
  double margin = 0.2, smoothing = 0.0;
  const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &models,
      N_("A model file; give several for an ensemble (their softmax outputs are averaged)"),
      N_("FILE") },
    { "faces", 0, 0, G_OPTION_ARG_NONE, &faces,
      N_("Find the faces first and predict each one (images, folders and videos); one row per "
         "face and frame, or one saying there is none"), NULL },
    { "detector", 0, 0, G_OPTION_ARG_STRING, &detector,
      N_("The face detector (see mien-cli detectors; default: the best available)"),
      N_("PLUGIN[:METHOD]") },
    { "face-model", 0, 0, G_OPTION_ARG_FILENAME, &face_model,
      N_("YuNet's model file, if it is not in Mien's data folder"), N_("FILE") },
    { "margin", 0, 0, G_OPTION_ARG_DOUBLE, &margin,
      N_("Room around a face, as a fraction of its box (default 0.2)"), N_("FRACTION") },
    { "no-rotate", 0, 0, G_OPTION_ARG_NONE, &no_rotate,
      N_("Do not level the eyes (when the detector gives landmarks)"), NULL },
    { "smoothing", 0, 0, G_OPTION_ARG_DOUBLE, &smoothing,
      N_("In videos, the weight of a face's past probabilities (0 = none, below 1)"),
      N_("ALPHA") },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv,
      N_("Write the rows to FILE instead of the standard output"), N_("FILE") },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, N_("cpu (default) or cuda[:N]"),
      N_("DEVICE") },
    { NULL }
  };
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree float *average = NULL;
  guint n_failed = 0;
  int status = EXIT_SUCCESS;

  if (!mien_cli_parse_options ("predict", _("PATH…"), entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc < 2)
    return mien_cli_usage_error ("predict", _("give at least one image or folder"));
  /* Refuse before any work: the CSV must not replace one of the inputs. */
  for (int i = 1; csv != NULL && i < argc; i++)
    if (g_strcmp0 (csv, argv[i]) == 0)
      return mien_cli_usage_error ("predict", _("--csv %s is also an input"), csv);

  ensemble = load_ensemble ("predict", models, device, &status);
  if (ensemble == NULL)
    return status;
  if (faces)
    return mien_cli_predict_faces (ensemble, detector, face_model, margin, no_rotate, smoothing,
                                   csv, argv + 1);
  average = g_new (float, mien_ensemble_get_n_classes (ensemble));

  for (int i = 1; i < argc; i++)
    mien_ensemble_collect_images (argv[i], paths);

  mien_ensemble_append_csv_header (ensemble, text);
  if (csv == NULL)
    {
      g_print ("%s", text->str);
      g_string_truncate (text, 0);
    }

  for (guint i = 0; i < paths->len; i++)
    {
      g_autoptr(GError) error = NULL;

      if (!mien_ensemble_predict_file (ensemble, paths->pdata[i], NULL, average, &error))
        {
          mien_cli_error (error->message);
          n_failed++;
          continue;
        }
      mien_ensemble_append_csv_row (ensemble, text, paths->pdata[i], average);
      if (csv == NULL)
        {
          g_print ("%s", text->str);
          g_string_truncate (text, 0);
        }
    }

  if (csv != NULL)
    {
      g_autoptr(GError) error = NULL;

      /* Atomic: an existing file is replaced only by a complete one. */
      if (!g_file_set_contents_full (csv, text->str, text->len, G_FILE_SET_CONTENTS_CONSISTENT,
                                     0644, &error))
        {
          mien_cli_error (error->message);
          return EXIT_FAILURE;
        }
    }
  if (paths->len == 0)
    {
      mien_cli_error (_("no image found in the given paths"));
      return EXIT_FAILURE;
    }
  return n_failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
