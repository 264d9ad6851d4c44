/* mien-cli-explain.c — `mien-cli explain`: where a model or an ensemble looks (Grad-CAM),
 * drawn over each image or each face (mien-explain.h), and with --json the raw maps. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "mien-backbone.h"
#include "mien-cli-private.h"
#include "mien-ensemble.h"
#include "mien-explain.h"
#include "mien-face-align.h"
#include "mien-face-pipeline.h"
#include "mien-image.h"
#include "mien-output.h"

/* pytorch-grad-cam's show_cam_on_image () blends half and half by default. */
#define DEFAULT_OPACITY 0.5
/* A face is drawn at its own size in the photo, at least the models' input size (the map's
 * grid) and at most this, so that a face filling a 24-megapixel photo stays a reasonable PNG. */
#define MAX_FACE_SIDE 1024

typedef struct {
  MienEnsemble        *ensemble;
  char               **models;
  const char          *out;
  const char * const  *inputs;       /* images and models: never written over */
  int                  class_index;  /* -1: each image's predicted class */
  double               opacity;
  int                  size;         /* every member's input size */
  gboolean             grey;         /* every member is grey: they see one luminance image */
  JsonArray           *explained;    /* --json: one object per image or face; else NULL */
} ExplainJob;

/* One image or face to explain. */
typedef struct {
  const char                 *path;
  char                       *stem;       /* the output's name without ".png" */
  GdkPixbuf                  *shown;      /* what the map is drawn over */
  MienTensor                 *images;     /* uint8 [1, 3, S, S]: what the members see */
  const float                *per_model;  /* n_models × K */
  const float                *average;    /* K */
  int                         face;       /* its index in the image, as predict --faces'; -1 */
  const MienFace             *box;        /* with a face: the detector's box */
  const MienFaceAlignOptions *align;      /* with a face: how it was cropped */
} ExplainItem;

static gboolean
is_unsupported (const GError *error)
{
  return g_error_matches (error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_UNSUPPORTED) ||
         g_error_matches (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_UNSUPPORTED);
}

/* "photo" of "dir/photo.jpg" */
static char *
stem_of (const char *path)
{
  char *base = g_path_get_basename (path);
  char *dot = strrchr (base, '.');

  if (dot != NULL && dot != base)
    *dot = '\0';
  return base;
}

static char *
output_path (ExplainJob *job,
             const char *stem,
             guint       member)  /* 1-based; 0: the ensemble's */
{
  g_autofree char *name = member == 0 ? g_strdup_printf ("%s.png", stem)
                                      : g_strdup_printf ("%s-model%u.png", stem, member);

  return g_build_filename (job->out, name, NULL);
}

static void
set_exists_error (GError     **error,
                  const char  *path)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
               _("%s already exists: explain never replaces a file (remove it or choose "
                 "another --out)"), path);
}

/* The PNG of `image` with `map` drawn over it, at `path`, atomically and only if nothing is
 * there (mien-output.h). */
static gboolean
write_overlay (ExplainJob  *job,
               GdkPixbuf   *image,
               MienTensor  *map,
               const char  *path,
               GError     **error)
{
  g_autoptr(GdkPixbuf) overlay = mien_explain_overlay (image, map, job->opacity, error);
  g_autofree char *png = NULL;
  g_autoptr(MienOutput) output = NULL;
  gsize size = 0;

  if (overlay == NULL ||
      !gdk_pixbuf_save_to_buffer (overlay, &png, &size, "png", error, NULL))
    return FALSE;
  /* Made with the first file, so that a run that explains nothing leaves nothing behind. */
  if (g_mkdir_with_parents (job->out, 0777) != 0)
    return mien_output_set_errno_error (error, errno, _("Cannot make the folder %s"), job->out);
  if ((output = mien_output_new (path, job->inputs, error)) == NULL ||
      !mien_output_write (output, png, size, error))
    return FALSE;
  if (!mien_output_commit_new (output, error))
    {
      if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_EXISTS))
        {
          g_clear_error (error);
          set_exists_error (error, path);
        }
      return FALSE;
    }
  return TRUE;
}

static JsonArray *
probabilities_to_json (const float *p,
                       guint        k)
{
  JsonArray *array = json_array_new ();

  for (guint c = 0; c < k; c++)
    json_array_add_double_element (array, p[c]);
  return array;
}

/* {"height": h, "width": w, "values": [row-major]} of a map [1, h, w]. */
static JsonObject *
grid_to_json (MienTensor  *map,
              GError     **error)
{
  g_autoptr(JsonObject) grid = json_object_new ();
  g_autofree float *values = NULL;
  JsonArray *array;
  gint64 shape[3];
  gsize n;

  if (mien_tensor_shape (map, shape, G_N_ELEMENTS (shape)) != 3 || shape[0] != 1)
    {
      g_autofree char *got = mien_tensor_describe (map);

      g_set_error (error, MIEN_EXPLAIN_ERROR, MIEN_EXPLAIN_ERROR_INPUT,
                   _("Expected one map of shape [1, h, w], got %s"), got);
      return NULL;
    }
  n = (gsize) shape[1] * shape[2];
  values = g_new (float, n);
  if (!mien_tensor_to_host (map, values, n * sizeof (float), error))
    return NULL;
  json_object_set_int_member (grid, "height", shape[1]);
  json_object_set_int_member (grid, "width", shape[2]);
  array = json_array_sized_new (n);
  for (gsize i = 0; i < n; i++)
    json_array_add_double_element (array, values[i]);
  json_object_set_array_member (grid, "values", array);
  return g_steal_pointer (&grid);
}

/* Member `m`'s raw Grad-CAM grid of the item (and the layer its plugin explains). */
static MienTensor *
member_grad_cam (ExplainJob   *job,
                 ExplainItem  *item,
                 guint         m,
                 guint         class_index,
                 char        **layer,
                 GError      **error)
{
  MienModel *model = mien_ensemble_get_model (job->ensemble, m);
  g_autoptr(MienTensor) input = mien_model_prepare_input (model, item->images, error);

  return input != NULL ? mien_explain_grad_cam (model, input, class_index, layer, error) : NULL;
}

/* --json: the item, its probabilities, the ensemble's map and each member's raw grid. */
static JsonObject *
item_to_json (ExplainJob   *job,
              ExplainItem  *item,
              guint         class_index,
              MienTensor   *average_map,
              GError      **error)
{
  const char * const *classes = mien_ensemble_get_classes (job->ensemble);
  guint k = mien_ensemble_get_n_classes (job->ensemble);
  guint n_models = mien_ensemble_get_n_models (job->ensemble);
  g_autoptr(JsonObject) object = json_object_new ();
  g_autofree char *path = output_path (job, item->stem, 0);
  JsonArray *members = json_array_new ();
  JsonObject *grid;

  json_object_set_string_member (object, "file", item->path);
  if (item->face >= 0)
    {
      JsonArray *box = json_array_new ();
      JsonArray *crop = json_array_new ();
      double cx, cy, side, angle;

      json_object_set_int_member (object, "face", item->face);
      json_array_add_double_element (box, item->box->x);
      json_array_add_double_element (box, item->box->y);
      json_array_add_double_element (box, item->box->width);
      json_array_add_double_element (box, item->box->height);
      json_object_set_array_member (object, "box", box);
      mien_face_align_geometry (item->box, item->align, &cx, &cy, &side, &angle);
      json_array_add_double_element (crop, cx);
      json_array_add_double_element (crop, cy);
      json_array_add_double_element (crop, side);
      json_array_add_double_element (crop, angle);
      json_object_set_array_member (object, "crop", crop);
    }
  json_object_set_string_member (object, "class", classes[class_index]);
  json_object_set_string_member (object, "predicted",
                                 classes[mien_probabilities_argmax (item->average, k)]);
  json_object_set_array_member (object, "probabilities",
                                probabilities_to_json (item->average, k));
  json_object_set_string_member (object, "output", path);
  json_object_set_array_member (object, "members", members);
  if ((grid = grid_to_json (average_map, error)) == NULL)
    return NULL;
  json_object_set_object_member (object, "map", grid);

  for (guint m = 0; m < n_models; m++)
    {
      JsonObject *member = json_object_new ();
      g_autofree char *layer = NULL;
      g_autoptr(MienTensor) raw = member_grad_cam (job, item, m, class_index, &layer, error);

      json_array_add_object_element (members, member);
      if (raw == NULL || (grid = grid_to_json (raw, error)) == NULL)
        return NULL;
      json_object_set_string_member (member, "model", job->models[m]);
      json_object_set_string_member (member, "layer", layer);
      json_object_set_array_member (member, "probabilities",
                                    probabilities_to_json (item->per_model + (gsize) m * k, k));
      if (n_models > 1)
        {
          g_autofree char *member_path = output_path (job, item->stem, m + 1);

          json_object_set_string_member (member, "output", member_path);
        }
      json_object_set_object_member (member, "grad_cam", grid);
    }
  return g_steal_pointer (&object);
}

/* The ensemble's Grad-CAM failed for every image alike (a backbone or a mode explanations do
 * not support yet): the member that cannot be explained, named. */
static void
name_unsupported_member (ExplainJob   *job,
                         ExplainItem  *item,
                         guint         class_index,
                         GError      **error)
{
  for (guint m = 0; m < mien_ensemble_get_n_models (job->ensemble); m++)
    {
      g_autoptr(GError) why = NULL;
      g_autoptr(MienTensor) raw = member_grad_cam (job, item, m, class_index, NULL, &why);

      if (raw == NULL && is_unsupported (why))
        {
          g_clear_error (error);
          g_set_error (error, why->domain, why->code, "%s: %s", job->models[m], why->message);
          return;
        }
    }
}

/* Explains one image or face: its PNGs and, with --json, its object. */
static gboolean
explain_item (ExplainJob   *job,
              ExplainItem  *item,
              GError      **error)
{
  const char * const *classes = mien_ensemble_get_classes (job->ensemble);
  guint k = mien_ensemble_get_n_classes (job->ensemble);
  guint n_models = mien_ensemble_get_n_models (job->ensemble);
  guint class_index = job->class_index >= 0 ? (guint) job->class_index
                                            : mien_probabilities_argmax (item->average, k);
  g_autoptr(GPtrArray) members = NULL;
  g_autoptr(MienTensor) average_map = NULL;
  g_autoptr(JsonObject) object = NULL;
  g_autofree char *path = output_path (job, item->stem, 0);

  average_map = mien_explain_grad_cam_ensemble (job->ensemble, item->images, class_index,
                                                &members, error);
  if (average_map == NULL)
    {
      if (is_unsupported (*error))
        name_unsupported_member (job, item, class_index, error);
      return FALSE;
    }
  /* The JSON first: it may still fail, and then no PNG of the item is left behind. */
  if (job->explained != NULL &&
      (object = item_to_json (job, item, class_index, average_map, error)) == NULL)
    return FALSE;
  if (!write_overlay (job, item->shown, average_map, path, error))
    return FALSE;
  for (guint m = 0; n_models > 1 && m < n_models; m++)
    {
      g_autofree char *member_path = output_path (job, item->stem, m + 1);

      if (!write_overlay (job, item->shown, members->pdata[m], member_path, error))
        return FALSE;
    }
  if (object != NULL)
    json_array_add_object_element (job->explained, g_steal_pointer (&object));
  else
    {
      /* Translators: "IMAGE, face K: CLASS (predicted CLASS) → PNG" */
      if (item->face >= 0)
        g_print (_("%s, face %d: %s (predicted %s) → %s\n"), item->path, item->face,
                 classes[class_index], classes[mien_probabilities_argmax (item->average, k)],
                 path);
      else
        g_print (_("%s: %s (predicted %s) → %s\n"), item->path, classes[class_index],
                 classes[mien_probabilities_argmax (item->average, k)], path);
    }
  return TRUE;
}

/* What the members see of `pixbuf` (a whole image, or a face already aligned at their size). */
static MienTensor *
member_images (ExplainJob  *job,
               GdkPixbuf   *pixbuf,
               GError     **error)
{
  g_autofree guint8 *pixels = g_malloc (3 * (gsize) job->size * job->size);

  if (!mien_image_from_pixbuf (pixbuf, job->size, job->grey, pixels, NULL, error))
    return NULL;
  return mien_image_batch_tensor (pixels, 1, job->size, error);
}

static gboolean
explain_image (ExplainJob   *job,
               const char   *path,
               GError      **error)
{
  guint k = mien_ensemble_get_n_classes (job->ensemble);
  guint n_models = mien_ensemble_get_n_models (job->ensemble);
  g_autoptr(GdkPixbuf) image = mien_image_load (path, error);
  g_autofree float *per_model = g_new (float, (gsize) n_models * k);
  g_autofree float *average = g_new (float, k);
  g_autofree char *stem = stem_of (path);
  g_autoptr(MienTensor) images = NULL;
  ExplainItem item = { path, stem, image, NULL, per_model, average, -1, NULL, NULL };

  /* The probabilities exactly as predict gives them. */
  if (image == NULL ||
      !mien_ensemble_predict_pixbuf (job->ensemble, image, per_model, average, error) ||
      (images = member_images (job, image, error)) == NULL)
    return FALSE;
  item.images = images;
  return explain_item (job, &item, error);
}

/* Every face of the image, found and classified by predict --faces' pipeline, aligned as the
 * members see it; `no_face` (may be NULL) hears of an image without one. */
static gboolean
explain_faces (ExplainJob        *job,
               MienFacePipeline  *pipeline,
               const char        *path,
               JsonArray         *no_face,
               GError           **error)
{
  const MienFaceAlignOptions *align = mien_face_pipeline_get_align (pipeline);
  g_autoptr(GdkPixbuf) frame = mien_image_load (path, error);
  g_autoptr(MienFacePrediction) prediction = NULL;
  g_autofree char *stem = stem_of (path);

  if (frame == NULL ||
      (prediction = mien_face_pipeline_process (pipeline, frame, error)) == NULL)
    return FALSE;
  if (prediction->n_regions == 0)
    {
      g_autofree char *message = g_strdup_printf (_("%s: no face found"), path);

      mien_cli_warning (message);
      if (no_face != NULL)
        json_array_add_string_element (no_face, path);
      return TRUE;
    }
  for (guint i = 0; i < prediction->n_regions; i++)
    {
      MienRegionPrediction *region = &prediction->regions[i];
      double cx, cy, side, angle;
      g_autoptr(GdkPixbuf) seen = NULL;
      g_autoptr(GdkPixbuf) shown = NULL;
      g_autoptr(MienTensor) images = NULL;
      g_autofree char *face_stem = g_strdup_printf ("%s-face%u", stem, i);
      ExplainItem item = { path, face_stem, NULL, NULL, region->per_model, region->average,
                           (int) i, &region->face, align };

      mien_face_align_geometry (&region->face, align, &cx, &cy, &side, &angle);
      seen = mien_face_align (frame, &region->face, align, job->size, job->grey);
      shown = mien_face_align (frame, &region->face, align,
                               CLAMP ((int) lround (side), job->size, MAX_FACE_SIDE), FALSE);
      if (seen == NULL || shown == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                       _("Not enough memory for the crop of face %u"), i);
          return FALSE;
        }
      if ((images = member_images (job, seen, error)) == NULL)
        return FALSE;
      item.shown = shown;
      item.images = images;
      if (!explain_item (job, &item, error))
        return FALSE;
    }
  return TRUE;
}

/* Refuses, before anything is written, a file that would be written twice or over one already
 * there (whole images: their names are known before any face is found). */
static gboolean
check_outputs (ExplainJob  *job,
               GPtrArray   *paths,
               gboolean     faces,
               GError     **error)
{
  g_autoptr(GHashTable) stems = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n_models = mien_ensemble_get_n_models (job->ensemble);

  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = paths->pdata[i];
      g_autofree char *stem = stem_of (path);
      const char *other = g_hash_table_lookup (stems, stem);

      if (other != NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       _("%s and %s would both be explained as %s in %s: give images of "
                         "different names"), other, path, stem, job->out);
          return FALSE;
        }
      for (guint m = 0; !faces && m <= (n_models > 1 ? n_models : 0); m++)
        {
          g_autofree char *target = output_path (job, stem, m);

          if (g_file_test (target, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK))
            {
              set_exists_error (error, target);
              return FALSE;
            }
        }
      g_hash_table_insert (stems, g_steal_pointer (&stem), (gpointer) path);
    }
  return TRUE;
}

/* The class named `name` (-1: none named), or a usage error listing the valid ones. */
static gboolean
find_class (MienEnsemble *ensemble,
            const char   *name,
            int          *class_index)
{
  const char * const *classes = mien_ensemble_get_classes (ensemble);
  g_autofree char *valid = NULL;

  *class_index = -1;
  if (name == NULL)
    return TRUE;
  for (int c = 0; classes[c] != NULL; c++)
    if (g_str_equal (classes[c], name))
      {
        *class_index = c;
        return TRUE;
      }
  valid = g_strjoinv (", ", (char **) classes);
  mien_cli_usage_error ("explain", _("--class: the models have no class “%s” (their classes: "
                                     "%s)"), name, valid);
  return FALSE;
}

/* Every member's input size, the same for all (one image feeds every member's Grad-CAM). */
static gboolean
check_members (ExplainJob *job)
{
  guint n_models = mien_ensemble_get_n_models (job->ensemble);

  job->size = mien_model_get_input_size (mien_ensemble_get_model (job->ensemble, 0));
  job->grey = TRUE;
  for (guint m = 0; m < n_models; m++)
    {
      MienModel *model = mien_ensemble_get_model (job->ensemble, m);

      job->grey = job->grey && mien_model_get_grey (model);
      if (mien_model_get_input_size (model) != job->size)
        {
          g_autofree char *message =
            g_strdup_printf (_("explain needs models of one input size: %s takes %d px "
                               "images, %s takes %d px"), job->models[0], job->size,
                             job->models[m], mien_model_get_input_size (model));

          mien_cli_error (message);
          return FALSE;
        }
    }
  return TRUE;
}

int
mien_cli_explain (int    argc,
                  char **argv)
{
  g_auto(GStrv) models = NULL;
  g_autofree char *out = NULL, *class_name = NULL, *device = NULL, *detector = NULL;
  g_autofree char *face_model = NULL, *margin_arg = NULL, *opacity_arg = NULL;
  g_autofree char *threads_arg = NULL;
  gboolean faces = FALSE, no_rotate = FALSE, json = FALSE;
  double margin = NAN, opacity = DEFAULT_OPACITY;
  gint64 threads = 0;
  const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &models,
      N_("A model file; give several for an ensemble: the average of their maps is drawn in "
         "STEM.png and each one's in STEM-modelN.png (N: its place among the --model "
         "options, from 1)"), N_("FILE") },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out,
      N_("The folder the PNGs are written to (made if missing; an existing file is never "
         "replaced)"), N_("DIR") },
    { "class", 0, 0, G_OPTION_ARG_STRING, &class_name,
      N_("The class whose evidence is shown (default: each image's predicted class)"),
      N_("NAME") },
    { "opacity", 0, 0, G_OPTION_ARG_STRING, &opacity_arg,
      N_("How much of the map covers the image, 0 (none) to 1 (only the map; default 0.5)"),
      N_("F") },
    { "faces", 0, 0, G_OPTION_ARG_NONE, &faces,
      N_("Find the faces first and explain each one, aligned as predict --faces classifies "
         "it, in STEM-faceK.png (K: the face's index, as predict --faces numbers it)"), NULL },
    { "detector", 0, 0, G_OPTION_ARG_STRING, &detector,
      N_("With --faces, the face detector (see mien-cli detectors; default: the best "
         "available)"), N_("PLUGIN[:METHOD]") },
    { "face-model", 0, 0, G_OPTION_ARG_FILENAME, &face_model,
      N_("YuNet's model file, if it is not in Mien's data folder"), N_("FILE") },
    { "margin", 0, 0, G_OPTION_ARG_STRING, &margin_arg,
      N_("Room around a face, as a fraction of its box, 0–2 (default: the margin the models "
         "were trained with, else 0.2)"), N_("FRACTION") },
    { "no-rotate", 0, 0, G_OPTION_ARG_NONE, &no_rotate,
      N_("Do not level the eyes (when the detector gives landmarks)"), NULL },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, N_("cpu (default) or cuda[:N]"),
      N_("DEVICE") },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads_arg,
      N_("libtorch threads, 1 to 4 per processor or 64, whichever is more (default: one per "
         "processor)"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      N_("Print one JSON object: per image or face, the classes, the probabilities and the "
         "raw maps (see README.md)"), NULL },
    { NULL }
  };
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(MienFacePipeline) pipeline = NULL;
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) inputs = g_ptr_array_new ();
  g_autoptr(JsonObject) root = json_object_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *explained = NULL, *no_face = NULL, *failed = NULL;
  ExplainJob job = { NULL, };
  guint n_failed = 0;
  int status = EXIT_SUCCESS;

  if (!mien_cli_parse_options ("explain", _("IMAGE…"), entries, &argc, &argv) ||
      !mien_cli_parse_double ("explain", "opacity", opacity_arg, 0.0, 1.0, MIEN_CLI_CLOSED,
                              &opacity) ||
      !mien_cli_parse_double ("explain", "margin", margin_arg, 0.0, MIEN_FACE_MARGIN_MAX,
                              MIEN_CLI_CLOSED, &margin) ||
      !mien_cli_parse_int ("explain", "threads", threads_arg, 1, mien_cli_max_threads (),
                           &threads))
    return EXIT_USAGE;
  if (argc < 2)
    return mien_cli_usage_error ("explain", _("give at least one image or folder"));
  if (out == NULL)
    return mien_cli_usage_error ("explain", _("--out DIR is required"));
  if (g_file_test (out, G_FILE_TEST_EXISTS) && !g_file_test (out, G_FILE_TEST_IS_DIR))
    return mien_cli_usage_error ("explain", _("--out: %s exists and is not a folder"), out);
  if (!faces && (detector != NULL || face_model != NULL || margin_arg != NULL || no_rotate))
    return mien_cli_usage_error ("explain", _("--detector, --face-model, --margin and "
                                              "--no-rotate need --faces"));

  for (int i = 1; i < argc; i++)
    {
      g_ptr_array_add (inputs, argv[i]);
      mien_ensemble_collect_images (argv[i], paths);
    }
  for (guint i = 0; models != NULL && models[i] != NULL; i++)
    g_ptr_array_add (inputs, models[i]);
  g_ptr_array_add (inputs, NULL);
  if (paths->len == 0)
    return mien_cli_usage_error ("explain", _("no image found in the given paths"));

  if (threads > 0)
    mien_torch_set_num_threads ((int) threads);
  ensemble = mien_cli_load_ensemble ("explain", models, device, &status);
  if (ensemble == NULL)
    return status;
  job.ensemble = ensemble;
  job.models = models;
  job.out = out;
  job.inputs = (const char * const *) inputs->pdata;
  job.opacity = opacity;
  if (!find_class (ensemble, class_name, &job.class_index))
    return EXIT_USAGE;
  if (!check_members (&job))
    return EXIT_FAILURE;
  if (!check_outputs (&job, paths, faces, &error))
    return mien_cli_usage_error ("explain", "--out: %s", error->message);
  if (faces &&
      (pipeline = mien_cli_open_face_pipeline ("explain", ensemble, detector, face_model,
                                               margin, no_rotate, &status)) == NULL)
    return status;
  if (json)
    {
      job.explained = explained = json_array_new ();
      json_object_set_array_member (root, "explained", explained);
      failed = json_array_new ();
      json_object_set_array_member (root, "failed", failed);
      if (faces)
        {
          no_face = json_array_new ();
          json_object_set_array_member (root, "no_face", no_face);
        }
    }
  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = paths->pdata[i];
      gboolean ok;

      g_clear_error (&error);
      ok = faces ? explain_faces (&job, pipeline, path, no_face, &error)
                 : explain_image (&job, path, &error);
      if (ok)
        continue;
      /* Every image would fail alike: said once. */
      if (is_unsupported (error))
        {
          mien_cli_error (error->message);
          return EXIT_FAILURE;
        }
      /* Image errors name the file; the others are given it. */
      if (strstr (error->message, path) == NULL)
        g_prefix_error (&error, "%s: ", path);
      mien_cli_error (error->message);
      if (failed != NULL)
        {
          JsonObject *failure = json_object_new ();

          json_object_set_string_member (failure, "file", path);
          json_object_set_string_member (failure, "error", error->message);
          json_array_add_object_element (failed, failure);
        }
      n_failed++;
    }

  if (json)
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
      JsonArray *classes = json_array_new ();
      JsonArray *files = json_array_new ();

      for (guint c = 0; c < mien_ensemble_get_n_classes (ensemble); c++)
        json_array_add_string_element (classes, mien_ensemble_get_classes (ensemble)[c]);
      for (guint m = 0; models[m] != NULL; m++)
        json_array_add_string_element (files, models[m]);
      json_object_set_array_member (root, "classes", classes);
      json_object_set_array_member (root, "models", files);
      json_object_set_double_member (root, "opacity", opacity);
      json_node_set_object (node, root);
      mien_cli_print_json (node);
    }
  return n_failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
