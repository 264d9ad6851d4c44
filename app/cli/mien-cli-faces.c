/* mien-cli-faces.c — `mien-cli predict --faces` (faces in images, folders and videos) and
 * `mien-cli detectors` (the face detectors, and fetching YuNet's model file). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mien-cli-private.h"
#include "mien-dataset.h"
#include "mien-ensemble.h"
#include "mien-face-model.h"
#include "mien-face-pipeline.h"
#include "mien-image.h"
#include "mien-output.h"
#include "mien-video.h"

/* ---- predict --faces ------------------------------------------------------------------- */

typedef struct {
  MienFacePipeline *pipeline;
  GString          *text;      /* the CSV so far (all of it with --csv, else one file's) */
  gboolean          to_stdout;
} FacesJob;

static void
flush_rows (FacesJob *job)
{
  if (job->to_stdout)
    {
      g_print ("%s", job->text->str);
      g_string_truncate (job->text, 0);
    }
}

/* The rows of one frame: one per face, or one saying there is none. */
static gboolean
predict_frame (FacesJob     *job,
               const char   *path,
               GdkPixbuf    *frame,
               gint64        index,
               gint64        pts_us,
               GError      **error)
{
  g_autoptr(MienFacePrediction) prediction = mien_face_pipeline_process (job->pipeline, frame,
                                                                         error);
  MienEnsemble *ensemble = mien_face_pipeline_get_ensemble (job->pipeline);
  MienFaceRow row = { 0, };

  if (prediction == NULL)
    return FALSE;
  row.path = path;
  row.frame = index;
  row.timestamp_us = pts_us;
  row.n_faces = prediction->n_regions;
  if (prediction->n_regions == 0)
    mien_ensemble_append_faces_csv_row (ensemble, job->text, &row);
  for (guint i = 0; i < prediction->n_regions; i++)
    {
      row.index = i;
      row.track_id = prediction->regions[i].track_id;
      row.face = &prediction->regions[i].face;
      row.average = prediction->regions[i].average;
      mien_ensemble_append_faces_csv_row (ensemble, job->text, &row);
    }
  return TRUE;
}

static gboolean
predict_image (FacesJob    *job,
               const char  *path,
               GError     **error)
{
  /* Upright as cameras meant it (a portrait photo's faces are upright only once turned), and
   * refused when too large to decode. */
  g_autoptr(GdkPixbuf) frame = mien_image_load (path, error);

  if (frame == NULL)
    return FALSE;
  /* A photo has no time of its own: an empty timestamp tells its row from a video's first. */
  mien_face_pipeline_set_tracking (job->pipeline, FALSE);
  return predict_frame (job, path, frame, 0, -1, error);
}

static gboolean
predict_video (FacesJob         *job,
               const char       *path,
               MienCliProgress  *progress,
               GCancellable     *cancellable,
               GError          **error)
{
  g_autoptr(MienVideoReader) reader = mien_video_reader_open (path, error);
  g_autofree char *name = g_path_get_basename (path);
  gint64 duration;

  if (reader == NULL)
    return FALSE;
  duration = mien_video_reader_get_duration (reader);
  /* Identities start afresh in every video. */
  mien_face_pipeline_set_tracking (job->pipeline, TRUE);
  mien_face_pipeline_reset (job->pipeline);
  for (;;)
    {
      g_autoptr(GdkPixbuf) frame = NULL;
      gint64 pts_us = -1;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      frame = mien_video_reader_next (reader, &pts_us, error);
      if (frame == NULL)
        return error == NULL || *error == NULL;
      if (!predict_frame (job, path, frame, mien_video_reader_get_frame_index (reader), pts_us,
                          error))
        return FALSE;
      flush_rows (job);
      if (duration > 0 && pts_us >= 0)
        mien_cli_progress_update (progress, MIN ((double) pts_us / duration, 1.0), name, -1);
    }
}

static gboolean
is_image_or_video (const char *path)
{
  return mien_dataset_is_image_name (path) || mien_video_is_video_file (path);
}

/* Images and videos: a folder's, recursively, in name order (as mien_ensemble_collect_images
 * sorts); a file given by name is taken as it is, so that an unreadable one is reported. */
static void
collect_inputs (const char *path,
                GPtrArray  *out)
{
  mien_ensemble_collect_files (path, is_image_or_video, out);
}

MienFaceDetector *
mien_cli_open_face_detector (const char *detector_spec,
                             const char *face_model)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienFaceDetector) detector = NULL;
  const MienFaceDetectorMethod *method;

  detector = mien_face_model_open_detector (mien_plugin_engine_get_default (), detector_spec,
                                            face_model, &error);
  if (detector == NULL)
    {
      mien_cli_error (error->message);
      return NULL;
    }
  method = mien_face_detector_get_method (detector);
  /* Said once, so that nobody wonders which detector found (or missed) the faces. */
  if (!g_str_equal (method->name, "yunet") && face_model == NULL)
    {
      g_autofree char *path = mien_face_model_get_default_path ();
      g_autofree char *message =
        g_strdup_printf (_("finding faces with the %s method; YuNet finds more (its model "
                           "file is not at %s: “mien-cli detectors --download” fetches it)"),
                         method->name, path);

      mien_cli_warning (message);
    }
  return g_steal_pointer (&detector);
}

MienFacePipeline *
mien_cli_open_face_pipeline (const char   *command,
                             MienEnsemble *ensemble,
                             const char   *detector_spec,
                             const char   *face_model,
                             double        margin,
                             gboolean      no_rotate,
                             int          *status)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienFaceDetector) detector = NULL;
  MienFaceAlignOptions align = MIEN_FACE_ALIGN_OPTIONS_INIT;

  /* A margin given on the command line wins over the models' own. */
  if (isnan (margin) &&
      !mien_ensemble_get_face_margin (ensemble, align.margin, &margin, &error))
    {
      *status = mien_cli_usage_error (command, _("%s with --margin"), error->message);
      return NULL;
    }
  detector = mien_cli_open_face_detector (detector_spec, face_model);
  if (detector == NULL)
    {
      *status = EXIT_FAILURE;
      return NULL;
    }
  align.margin = margin;
  align.rotate = !no_rotate;
  return mien_face_pipeline_new (ensemble, detector, &align);
}

int
mien_cli_predict_faces (MienEnsemble      *ensemble,
                        const char        *detector_spec,
                        const char        *face_model,
                        double             margin,
                        gboolean           no_rotate,
                        double             smoothing,
                        const char        *csv,
                        char             **inputs)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienFacePipeline) pipeline = NULL;
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(MienCliProgress) progress = mien_cli_progress_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  FacesJob job = { 0, };
  guint n_failed = 0;
  int status = EXIT_SUCCESS;

  if (margin < 0 || margin > MIEN_FACE_MARGIN_MAX)
    return mien_cli_usage_error ("predict", _("--margin must be between 0 and 2"));
  if (smoothing < 0 || smoothing >= 1)
    return mien_cli_usage_error ("predict", _("--smoothing must be at least 0 and below 1"));

  pipeline = mien_cli_open_face_pipeline ("predict", ensemble, detector_spec, face_model,
                                          margin, no_rotate, &status);
  if (pipeline == NULL)
    return status;
  mien_face_pipeline_set_smoothing (pipeline, smoothing);
  mien_cli_cancel_on_signals (cancellable);

  for (int i = 0; inputs[i] != NULL; i++)
    collect_inputs (inputs[i], paths);

  job.pipeline = pipeline;
  job.text = text;
  job.to_stdout = csv == NULL;

  mien_ensemble_append_faces_csv_header (ensemble, text);
  flush_rows (&job);
  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = paths->pdata[i];
      gboolean ok;

      g_clear_error (&error);
      if (mien_video_is_video_file (path))
        ok = predict_video (&job, path, progress, cancellable, &error);
      else
        ok = predict_image (&job, path, &error);
      mien_cli_progress_finish (progress);
      flush_rows (&job);
      if (!ok && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return EXIT_FAILURE;  /* nothing written with --csv: a file is whole or absent */
      if (!ok)
        {
          g_autofree char *message = g_strdup_printf ("%s: %s", path, error->message);

          mien_cli_error (message);
          n_failed++;
        }
    }

  if (csv != NULL)
    {
      /* An output file (mien-output.h): atomic, never over an input. */
      if (!mien_output_set_contents (csv, (const char * const *) inputs, text->str, text->len,
                                     &error))
        {
          mien_cli_error (error->message);
          return EXIT_FAILURE;
        }
    }
  if (paths->len == 0)
    {
      mien_cli_error (_("no image or video found in the given paths"));
      return EXIT_FAILURE;
    }
  return n_failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---- detectors ------------------------------------------------------------------------- */

static int
download_yunet (const char *to)
{
  const MienFaceModelInfo *info = mien_face_model_get_yunet ();
  g_autofree char *dest = to != NULL ? g_strdup (to) : mien_face_model_get_download_path ();
  g_autoptr(MienCliProgress) progress = mien_cli_progress_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  if (mien_face_model_verify (dest, info->sha256, info->size, NULL))
    {
      g_print (_("%s is already there: %s\n"), info->name, dest);
      return EXIT_SUCCESS;
    }
  mien_cli_cancel_on_signals (cancellable);
  g_printerr (_("Fetching %s (%s licence) from %s\n"), info->name, info->licence, info->url);
  if (!mien_download_file (info->url, info->sha256, info->size, dest, mien_cli_progress_func,
                           progress, cancellable, &error))
    {
      mien_cli_progress_finish (progress);
      mien_cli_error (error->message);
      return EXIT_FAILURE;
    }
  mien_cli_progress_finish (progress);
  g_print (_("%s saved to %s (SHA-256 checked)\n"), info->name, dest);
  return EXIT_SUCCESS;
}

int
mien_cli_detectors (int    argc,
                    char **argv)
{
  g_autofree char *face_model = NULL, *to = NULL;
  gboolean download = FALSE, json = FALSE;
  const GOptionEntry entries[] = {
    { "download", 0, 0, G_OPTION_ARG_NONE, &download,
      N_("Fetch YuNet's model file (338 KiB, checked against its SHA-256)"), NULL },
    { "to", 0, 0, G_OPTION_ARG_FILENAME, &to,
      N_("Where --download saves it (default: Mien's data folder)"), N_("FILE") },
    { "face-model", 0, 0, G_OPTION_ARG_FILENAME, &face_model,
      N_("YuNet's model file, if it is elsewhere"), N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("One line of JSON"), NULL },
    { NULL }
  };
  MienPluginEngine *engine = mien_plugin_engine_get_default ();
  GPtrArray *plugins;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(MienCliTable) table = mien_cli_table_new (3, 0);
  g_autofree char *default_path = NULL;

  if (!mien_cli_parse_options ("detectors", NULL, entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return mien_cli_usage_error ("detectors", _("unexpected argument “%s”"), argv[1]);
  if (download)
    return download_yunet (to);

  default_path = mien_face_model_get_default_path ();
  if (face_model == NULL)
    face_model = g_strdup (default_path);
  plugins = mien_plugin_engine_get_plugins (engine);
  json_builder_begin_array (builder);
  mien_cli_table_take (table, g_strdup (_("Detector")));
  mien_cli_table_take (table, g_strdup (_("Available")));
  mien_cli_table_take (table, g_strdup (_("Description")));
  for (guint i = 0; i < plugins->len; i++)
    {
      const MienPluginInfo *info = g_ptr_array_index (plugins, i);
      g_autoptr(MienFaceDetector) detector = NULL;
      const MienFaceDetectorMethod *methods;
      guint n_methods = 0;

      if (!g_str_equal (info->kind, "face-detector"))
        continue;
      detector = mien_plugin_engine_create_face_detector (engine, info->id, NULL, NULL);
      if (detector == NULL)
        continue;
      if (g_object_class_find_property (G_OBJECT_GET_CLASS (detector), "model-file") != NULL)
        g_object_set (detector, "model-file", face_model, NULL);
      methods = mien_face_detector_list_methods (detector, &n_methods);
      for (guint m = 0; m < n_methods; m++)
        {
          g_autoptr(GError) why = NULL;
          gboolean available = mien_face_detector_is_available (detector, methods[m].name, &why);
          g_autofree char *spec = g_strdup_printf ("%s:%s", info->id, methods[m].name);

          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "spec");
          json_builder_add_string_value (builder, spec);
          json_builder_set_member_name (builder, "description");
          json_builder_add_string_value (builder, methods[m].description);
          json_builder_set_member_name (builder, "landmarks");
          json_builder_add_boolean_value (builder, methods[m].landmarks);
          json_builder_set_member_name (builder, "available");
          json_builder_add_boolean_value (builder, available);
          if (why != NULL)
            {
              json_builder_set_member_name (builder, "why_not");
              json_builder_add_string_value (builder, why->message);
            }
          json_builder_end_object (builder);

          mien_cli_table_take (table, g_steal_pointer (&spec));
          mien_cli_table_take (table, g_strdup (available ? _("yes") : _("no")));
          mien_cli_table_take (table, why != NULL
                                      ? g_strdup_printf ("%s (%s)", methods[m].description,
                                                         why->message)
                                      : g_strdup (methods[m].description));
        }
    }
  json_builder_end_array (builder);
  if (json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (builder);

      mien_cli_print_json (root);
      return EXIT_SUCCESS;
    }
  mien_cli_table_print (table, "");
  g_print (_("\nYuNet's model file is looked for at %s (mien-cli detectors --download).\n"),
           default_path);
  return EXIT_SUCCESS;
}
