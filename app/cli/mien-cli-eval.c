/* mien-cli-eval.c — `mien-cli eval` and `mien-cli predict`. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "mien-cli-private.h"
#include "mien-ensemble.h"
#include "mien-output.h"

static const char margin_help[] =
  N_("Room around a face, as a fraction of its box, 0–2 (default: the margin the models were "
     "trained with, else 0.2)");

MienEnsemble *
mien_cli_load_ensemble (const char  *command,
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

/* The paper's table (a row per model, and the ensemble's), the totals and the confusion matrix;
 * with `faces`, a last column counts the images of each class where no face was found. */
static void
print_metrics (MienMetrics  *metrics,
               GPtrArray    *per_model,
               char        **models,
               gboolean      faces)
{
  guint n = per_model->len + (per_model->len > 1 ? 1 : 0);
  guint k = metrics->n_classes;
  g_autofree MienMetrics **rows = g_new0 (MienMetrics *, n);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *table = NULL;
  g_autoptr(MienCliTable) confusion = mien_cli_table_new (k + 1 + (faces ? 1 : 0),
                                                          ~(guint64) 1);

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
  mien_cli_table_take (confusion, g_strdup (""));
  for (guint c = 0; c < k; c++)
    mien_cli_table_take (confusion, g_strdup (metrics->classes[c]));
  if (faces)
    mien_cli_table_take (confusion, g_strdup (_("no face")));
  for (guint t = 0; t < k; t++)
    {
      mien_cli_table_take (confusion, g_strdup (metrics->classes[t]));
      for (guint p = 0; p < k; p++)
        mien_cli_table_take (confusion, g_strdup_printf ("%" G_GUINT64_FORMAT,
                                                         metrics->confusion[t * k + p]));
      if (faces)
        mien_cli_table_take (confusion, g_strdup_printf ("%" G_GUINT64_FORMAT,
                                                         metrics->missed[t]));
    }
  mien_cli_table_print (confusion, "  ");
}

/* eval --faces in JSON: the metrics' members, then "face_margin", "no_face" (the paths) and
 * "faces": per image, its path, class, predicted class (null: no face, or unreadable, which
 * "unreadable" says), the faces found, and the one classified: the detector's box, the square
 * cropped around it (mien_face_align_geometry ()) and the probabilities. */
static JsonNode *
faces_to_json (MienFaceEvaluation         *evaluation,
               MienDataset                *dataset,
               const MienFaceAlignOptions *align)
{
  JsonNode *node = mien_metrics_to_json (evaluation->metrics);
  JsonObject *object = json_node_get_object (node);
  JsonArray *no_face = json_array_new ();
  JsonArray *images = json_array_new ();
  const char * const *classes = mien_dataset_get_classes (dataset);
  guint k = evaluation->metrics->n_classes;

  json_object_set_double_member (object, "face_margin", align->margin);
  for (guint i = 0; i < evaluation->no_face->len; i++)
    json_array_add_string_element (no_face, evaluation->no_face->pdata[i]);
  json_object_set_array_member (object, "no_face", no_face);
  for (guint i = 0; i < evaluation->n_samples; i++)
    {
      const MienFaceEvalSample *sample = &evaluation->samples[i];
      JsonObject *image = json_object_new ();

      json_object_set_string_member (image, "path", mien_dataset_get_path (dataset, i));
      json_object_set_string_member (image, "class",
                                     classes[mien_dataset_get_label (dataset, i)]);
      if (sample->predicted >= 0)
        json_object_set_string_member (image, "predicted", classes[sample->predicted]);
      else
        json_object_set_null_member (image, "predicted");
      json_object_set_int_member (image, "faces", sample->n_faces);
      /* Left out of the metrics, as the warning on the standard error says. */
      if (sample->predicted == MIEN_FACE_EVAL_UNREADABLE)
        json_object_set_boolean_member (image, "unreadable", TRUE);
      if (sample->average != NULL)
        {
          JsonArray *box = json_array_new ();
          JsonArray *crop = json_array_new ();
          JsonArray *probabilities = json_array_new ();
          double cx, cy, side, angle;

          json_array_add_double_element (box, sample->face.x);
          json_array_add_double_element (box, sample->face.y);
          json_array_add_double_element (box, sample->face.width);
          json_array_add_double_element (box, sample->face.height);
          json_object_set_array_member (image, "box", box);
          mien_face_align_geometry (&sample->face, align, &cx, &cy, &side, &angle);
          json_array_add_double_element (crop, cx);
          json_array_add_double_element (crop, cy);
          json_array_add_double_element (crop, side);
          json_array_add_double_element (crop, angle);
          json_object_set_array_member (image, "crop", crop);
          for (guint c = 0; c < k; c++)
            json_array_add_double_element (probabilities, sample->average[c]);
          json_object_set_array_member (image, "probabilities", probabilities);
        }
      json_array_add_object_element (images, image);
    }
  json_object_set_array_member (object, "faces", images);
  return node;
}

/* eval --mistakes: each class's `n` images predicted wrong with the most confidence
 * (mien_predictions_mistakes ()), as text, or a JSON object of class → [{"path", "predicted",
 * "probability" (the predicted class's), "true_probability"}]. */
static void
print_mistakes (MienPredictions    *predictions,
                const char * const *classes,
                guint               n)
{
  g_print (_("\nMost confident mistakes (at most %u per class):\n"), n);
  for (guint t = 0; t < predictions->n_classes; t++)
    {
      g_autoptr(GArray) mistakes = mien_predictions_mistakes (predictions, (int) t, n);

      g_print ("  %s:\n", classes[t]);
      if (mistakes->len == 0)
        g_print ("    %s\n", _("none"));
      for (guint m = 0; m < mistakes->len; m++)
        {
          guint i = g_array_index (mistakes, guint, m);
          const float *p = predictions->probabilities + (gsize) i * predictions->n_classes;
          int predicted = predictions->predicted[i];

          /* Translators: an image predicted wrong: its path, the predicted class and its
           * probability, the true class's probability */
          g_print (_("    %s  %s %.4f (%s %.4f)\n"), predictions->paths[i], classes[predicted],
                   p[predicted], classes[t], p[t]);
        }
    }
}

static JsonNode *
mistakes_to_json (MienPredictions    *predictions,
                  const char * const *classes,
                  guint               n)
{
  JsonObject *object = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  for (guint t = 0; t < predictions->n_classes; t++)
    {
      g_autoptr(GArray) mistakes = mien_predictions_mistakes (predictions, (int) t, n);
      JsonArray *list = json_array_new ();

      for (guint m = 0; m < mistakes->len; m++)
        {
          guint i = g_array_index (mistakes, guint, m);
          const float *p = predictions->probabilities + (gsize) i * predictions->n_classes;
          JsonObject *mistake = json_object_new ();

          json_object_set_string_member (mistake, "path", predictions->paths[i]);
          json_object_set_string_member (mistake, "predicted",
                                         classes[predictions->predicted[i]]);
          json_object_set_double_member (mistake, "probability", p[predictions->predicted[i]]);
          json_object_set_double_member (mistake, "true_probability", p[t]);
          json_array_add_object_element (list, mistake);
        }
      json_object_set_array_member (object, classes[t], list);
    }
  json_node_take_object (node, object);
  return node;
}

int
mien_cli_eval (int    argc,
               char **argv)
{
  g_auto(GStrv) models = NULL;
  g_autofree char *data = NULL, *classes_arg = NULL, *device = NULL;
  g_autofree char *workers_arg = NULL, *split = NULL, *detector = NULL, *face_model = NULL;
  g_autofree char *margin_arg = NULL, *mistakes_arg = NULL;
  gboolean json = FALSE, faces = FALSE;
  gint64 workers = 0, n_mistakes = 0;
  double margin = NAN;
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
    { "faces", 0, 0, G_OPTION_ARG_NONE, &faces,
      N_("Find the faces first and classify the largest face of each image, as predict "
         "--faces does; an image without a face counts as an error for its class and is "
         "listed"), NULL },
    { "detector", 0, 0, G_OPTION_ARG_STRING, &detector,
      N_("With --faces, the face detector (see mien-cli detectors; default: the best "
         "available)"), N_("PLUGIN[:METHOD]") },
    { "face-model", 0, 0, G_OPTION_ARG_FILENAME, &face_model,
      N_("YuNet's model file, if it is not in Mien's data folder"), N_("FILE") },
    { "margin", 0, 0, G_OPTION_ARG_STRING, &margin_arg, margin_help, N_("FRACTION") },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, N_("cpu (default) or cuda[:N]"),
      N_("DEVICE") },
    { "workers", 0, 0, G_OPTION_ARG_STRING, &workers_arg,
      N_("Image decoding threads, 1 to 4 per processor or 64, whichever is more (default: "
         "one per processor; --faces decodes, finds and classifies on one thread)"),
      N_("N") },
    { "mistakes", 0, 0, G_OPTION_ARG_STRING, &mistakes_arg,
      N_("Also list each class's N images predicted wrong with the most confidence (with "
         "--json: \"mistakes\"); not with --faces"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(MienPredictions) predictions = NULL;
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(MienDataset) dataset = NULL;
  g_autoptr(MienMetrics) whole_metrics = NULL;
  g_autoptr(GPtrArray) whole_per_model = NULL;
  g_autoptr(GPtrArray) whole_unreadable = NULL;
  g_autoptr(MienFacePipeline) pipeline = NULL;
  g_autoptr(MienFaceEvaluation) evaluation = NULL;
  g_autoptr(MienCliProgress) progress = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_auto(GStrv) classes = NULL;
  MienMetrics *metrics;
  GPtrArray *per_model, *unreadable;
  int status = EXIT_SUCCESS;

  if (!mien_cli_parse_options ("eval", "", entries, &argc, &argv) ||
      !mien_cli_parse_int ("eval", "workers", workers_arg, 1, mien_cli_max_threads (), &workers) ||
      !mien_cli_parse_int ("eval", "mistakes", mistakes_arg, 1, G_MAXINT, &n_mistakes) ||
      !mien_cli_parse_double ("eval", "margin", margin_arg, 0.0, MIEN_FACE_MARGIN_MAX,
                              MIEN_CLI_CLOSED, &margin))
    return EXIT_USAGE;
  if (argc > 1)
    return mien_cli_usage_error ("eval", _("unexpected argument “%s”"), argv[1]);
  if (data == NULL)
    return mien_cli_usage_error ("eval", _("--data DATASET is required"));
  if (!faces && (detector != NULL || face_model != NULL || margin_arg != NULL))
    return mien_cli_usage_error ("eval", _("--detector, --face-model and --margin need "
                                           "--faces"));
  if (faces && mistakes_arg != NULL)
    return mien_cli_usage_error ("eval", _("--mistakes lists whole images: not with --faces"));
  if (classes_arg != NULL &&
      (classes = mien_dataset_parse_class_list (classes_arg, &error)) == NULL)
    return mien_cli_usage_error ("eval", "%s", error->message);
  if (split != NULL && !mien_dataset_check_split_name (split, &error))
    return mien_cli_usage_error ("eval", "%s", error->message);

  ensemble = mien_cli_load_ensemble ("eval", models, device, &status);
  if (ensemble == NULL)
    return status;
  if (faces &&
      (pipeline = mien_cli_open_face_pipeline ("eval", ensemble, detector, face_model, margin,
                                               FALSE, &status)) == NULL)
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
  if (faces)
    {
      evaluation = mien_face_pipeline_evaluate (pipeline, dataset, mien_cli_progress_func,
                                                progress, cancellable, &error);
      metrics = evaluation != NULL ? evaluation->metrics : NULL;
      per_model = evaluation != NULL ? evaluation->per_model : NULL;
      unreadable = evaluation != NULL ? evaluation->unreadable : NULL;
    }
  else if (mistakes_arg != NULL)
    {
      metrics = whole_metrics =
        mien_ensemble_evaluate_predictions (ensemble, dataset, (int) workers, &whole_per_model,
                                            &predictions, &whole_unreadable,
                                            mien_cli_progress_func, progress, cancellable,
                                            &error);
      per_model = whole_per_model;
      unreadable = whole_unreadable;
    }
  else
    {
      metrics = whole_metrics = mien_ensemble_evaluate (ensemble, dataset, (int) workers,
                                                        &whole_per_model, &whole_unreadable,
                                                        mien_cli_progress_func, progress,
                                                        cancellable, &error);
      per_model = whole_per_model;
      unreadable = whole_unreadable;
    }
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
      g_autoptr(JsonNode) node = faces
                                 ? faces_to_json (evaluation, dataset,
                                                  mien_face_pipeline_get_align (pipeline))
                                 : mien_metrics_to_json (metrics);

      if (predictions != NULL)
        json_object_set_member (json_node_get_object (node), "mistakes",
                                mistakes_to_json (predictions, mien_dataset_get_classes (dataset),
                                                  (guint) n_mistakes));
      mien_cli_print_json (node);
      return EXIT_SUCCESS;
    }
  print_metrics (metrics, per_model, models, faces);
  if (predictions != NULL)
    print_mistakes (predictions, mien_dataset_get_classes (dataset), (guint) n_mistakes);
  if (faces)
    {
      guint n = evaluation->no_face->len;

      g_print (g_dngettext (GETTEXT_PACKAGE, "\n%u image without a face (counted as an error):\n",
                            "\n%u images without a face (counted as errors):\n", n), n);
      for (guint i = 0; i < evaluation->no_face->len; i++)
        g_print ("  %s\n", (const char *) evaluation->no_face->pdata[i]);
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
  double margin = NAN, smoothing = 0.0;
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
      margin_help, N_("FRACTION") },
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

  ensemble = mien_cli_load_ensemble ("predict", models, device, &status);
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
