/* mien-cli-eval.c — `mien-cli eval` and `mien-cli predict`. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "mien-cli-private.h"
#include "mien-ensemble.h"
#include "mien-output.h"

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
  g_autofree char *workers_arg = NULL, *split = NULL;
  gboolean json = FALSE;
  gint64 workers = 0;
  const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &models,
      N_("A model file; give several for an ensemble"), N_("FILE") },
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data, N_("The dataset to evaluate on"),
      N_("DATASET") },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split,
      N_("Only this split of a file that holds several (fer2013.csv, RAF-DB): train, val or "
         "test"), N_("SPLIT") },
    { "classes", 0, 0, G_OPTION_ARG_STRING, &classes_arg,
      N_("The dataset's classes to use (default: the models'); must be the models' classes"),
      N_("a,b,…") },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, N_("cpu (default) or cuda[:N]"),
      N_("DEVICE") },
    { "workers", 0, 0, G_OPTION_ARG_STRING, &workers_arg,
      N_("Image decoding threads, 1 to 4 per processor or 64, whichever is more (default: "
         "one per processor)"),
      N_("N") },
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

  if (!mien_cli_parse_options ("eval", "", entries, &argc, &argv) ||
      !mien_cli_parse_int ("eval", "workers", workers_arg, 1, mien_cli_max_threads (), &workers))
    return EXIT_USAGE;
  if (argc > 1)
    return mien_cli_usage_error ("eval", _("unexpected argument “%s”"), argv[1]);
  if (data == NULL)
    return mien_cli_usage_error ("eval", _("--data DATASET is required"));
  if (classes_arg != NULL &&
      (classes = mien_dataset_parse_class_list (classes_arg, &error)) == NULL)
    return mien_cli_usage_error ("eval", "%s", error->message);
  if (split != NULL && !mien_dataset_check_split_name (split, &error))
    return mien_cli_usage_error ("eval", "%s", error->message);

  ensemble = load_ensemble ("eval", models, device, &status);
  if (ensemble == NULL)
    return status;

  dataset = mien_dataset_open_split (data, split,
                                     classes ? (const char * const *) classes
                                             : mien_ensemble_get_classes (ensemble), &error);
  if (dataset == NULL)
    {
      mien_cli_error (error->message);
      return EXIT_FAILURE;
    }

  mien_cli_cancel_on_signals (cancellable);
  progress = mien_cli_progress_new ();
  metrics = mien_ensemble_evaluate (ensemble, dataset, (int) workers, &per_model, &unreadable,
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

static void
print_csv (const char *text,
           gpointer    user_data)
{
  g_print ("%s", text);
}

/* As before any image is predicted: an unreadable one is reported and left out, and the
 * command then fails. */
static void
report_failure (const char   *path,
                const GError *error,
                gpointer      n_failed)
{
  mien_cli_error (error->message);
  (*(guint *) n_failed)++;
}

int
mien_cli_predict (int    argc,
                  char **argv)
{
  g_auto(GStrv) models = NULL;
  g_autofree char *csv = NULL, *device = NULL, *detector = NULL, *face_model = NULL;
  g_autofree char *margin_arg = NULL, *smoothing_arg = NULL;
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
    { "margin", 0, 0, G_OPTION_ARG_STRING, &margin_arg,
      N_("Room around a face, as a fraction of its box, 0–2 (default 0.2)"), N_("FRACTION") },
    { "no-rotate", 0, 0, G_OPTION_ARG_NONE, &no_rotate,
      N_("Do not level the eyes (when the detector gives landmarks)"), NULL },
    { "smoothing", 0, 0, G_OPTION_ARG_STRING, &smoothing_arg,
      N_("In videos, the weight of a face's past probabilities, 0 (none) to below 1 "
         "(default 0)"), N_("ALPHA") },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv,
      N_("Write the rows to FILE instead of the standard output"), N_("FILE") },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, N_("cpu (default) or cuda[:N]"),
      N_("DEVICE") },
    { NULL }
  };
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(GPtrArray) inputs = g_ptr_array_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  MienPredictCsvOptions options = { NULL, };
  guint n_failed = 0;
  int status = EXIT_SUCCESS;

  if (!mien_cli_parse_options ("predict", _("PATH…"), entries, &argc, &argv) ||
      !mien_cli_parse_double ("predict", "margin", margin_arg, 0.0, 2.0, MIEN_CLI_CLOSED,
                              &margin) ||
      !mien_cli_parse_double ("predict", "smoothing", smoothing_arg, 0.0, 1.0,
                              MIEN_CLI_BELOW_MAX, &smoothing))
    return EXIT_USAGE;
  if (argc < 2)
    return mien_cli_usage_error ("predict", _("give at least one image or folder"));
  /* Refused before any work: the CSV must not replace an input (through any link) nor be
   * something other than a regular file. */
  for (int i = 1; i < argc; i++)
    g_ptr_array_add (inputs, argv[i]);
  for (guint i = 0; models != NULL && models[i] != NULL; i++)
    g_ptr_array_add (inputs, models[i]);
  g_ptr_array_add (inputs, NULL);
  if (csv != NULL && !mien_output_check (csv, (const char * const *) inputs->pdata, &error))
    return mien_cli_usage_error ("predict", "--csv: %s", error->message);

  ensemble = load_ensemble ("predict", models, device, &status);
  if (ensemble == NULL)
    return status;
  if (faces)
    return mien_cli_predict_faces (ensemble, detector, face_model, margin, no_rotate, smoothing,
                                   csv, argv + 1);

  options.protect = (const char * const *) models;
  options.sink = print_csv;
  options.failure = report_failure;
  options.failure_data = &n_failed;
  mien_cli_cancel_on_signals (cancellable);
  if (!mien_ensemble_predict_csv (ensemble, (const char * const *) argv + 1, csv, &options, NULL,
                                  cancellable, &error))
    {
      mien_cli_error (error->message);
      return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ? 130 : EXIT_FAILURE;
    }
  return n_failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
