/* test-cli-faces.c — `mien-cli predict --faces` and `mien-cli detectors`, end to end: the rows
 * for a photo with one face, four faces, none, a folder and a video, and the errors scripts
 * rely on.
 *
 * The photo is OpenCV's messi5.jpg (Debian's opencv-doc): 548×342, one face of about 40 px near
 * (244, 113). The model is a randomly initialised ResNet-18 at 32 px: its numbers mean nothing,
 * but the command line must give the same ones as the ensemble does in-process for the same
 * face. The program under test is $MIEN_CLI; faces are found with the Haar cascade (YuNet's
 * model file is not packaged, and $XDG_DATA_HOME points into the scratch folder so that a copy
 * in the user's own data folder changes nothing).
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mien-core.h"
#include "mien-ensemble.h"
#include "mien-face-model.h"
#include "mien-face-pipeline.h"
#include "mien-image.h"
#include "mien-test-util.h"

#define MESSI_PHOTO "/usr/share/doc/opencv-doc/examples/data/messi5.jpg"

/* Where Messi's face lies in the photo, with slack (as in test-face-detector.c). */
#define FACE_LEFT     200.0
#define FACE_TOP       60.0
#define FACE_RIGHT    295.0
#define FACE_BOTTOM   160.0
#define FACE_MIN_SIZE  20.0

/* The video: the photo pasted on a grey canvas, STEP px further right in every frame. */
#define VIDEO_FRAMES  8
#define VIDEO_WIDTH   640
#define VIDEO_HEIGHT  480
#define VIDEO_FPS     10
#define VIDEO_LEFT    10
#define VIDEO_TOP     60
#define STEP          6

static const char * const classes[] = { "neutral", "happy", "sad", NULL };
#define N_CLASSES 3
/* The classes of fer-model.safetensors: two of FER2013's, as a fer2013.csv gives them. */
static const char * const fer_classes[] = { "happiness", "neutral", NULL };

/* The face margin margin-model.safetensors records (predict's default is 0.2). */
#define RECORDED_MARGIN 0.05

static const char header[] =
  "path,frame,timestamp,faces,face,track,x,y,width,height,score,class,p_neutral,p_happy,p_sad";

enum {
  COL_PATH,
  COL_FRAME,
  COL_TIMESTAMP,
  COL_FACES,
  COL_FACE,
  COL_TRACK,
  COL_X,
  COL_Y,
  COL_WIDTH,
  COL_HEIGHT,
  COL_SCORE,
  COL_CLASS,
  COL_P,  /* the first of N_CLASSES probabilities */
  N_COLUMNS = COL_P + N_CLASSES
};

static char *tmp_dir;
/* Made on first use (ensure_fixtures ()), so that any one test can run alone. */
static char *model_path;
static char *margin_model_path;
static char *fer_model_path;
static char *tiled_path;
static char *grey_path;
static char *crop_path;
static char *set_dir;
/* YuNet's genuine model file: $MIEN_YUNET_MODEL, else ../shared/models beside the source tree. */
static char *yunet_model;

/* `predict --faces` with the Haar cascade, on the scratch model and the given paths. */
#define PREDICT_FACES(...) \
  mien_test_cli_run ("predict", "--model", model_path, "--faces", "--detector", "opencv:haar", \
           __VA_ARGS__, NULL)

/* ---- Reading the CSV -------------------------------------------------------------------- */

/* The rows after the header (which must be the expected one), each split into its N_COLUMNS
 * fields. No field of these files needs quoting, so a plain split is the whole parser. */
static GPtrArray *
parse_csv (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  guint n_lines = g_strv_length (lines);

  /* Every line ends with "\n", so the split ends with an empty string. */
  g_assert_cmpuint (n_lines, >=, 2);
  g_assert_cmpstr (lines[n_lines - 1], ==, "");
  g_assert_cmpstr (lines[0], ==, header);
  for (guint i = 1; i + 1 < n_lines; i++)
    {
      char **fields = g_strsplit (lines[i], ",", -1);

      g_assert_null (strchr (lines[i], '"'));
      g_assert_cmpuint (g_strv_length (fields), ==, N_COLUMNS);
      g_ptr_array_add (rows, fields);
    }
  return rows;
}

static gint64
int_field (const char *field)
{
  gint64 value = 0;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_ascii_string_to_signed (field, 10, 0, G_MAXINT64, &value, &error));
  g_assert_no_error (error);
  return value;
}

static double
double_field (const char *field)
{
  char *end = NULL;
  double value;

  g_assert_cmpstr (field, !=, "");
  value = g_ascii_strtod (field, &end);
  g_assert_cmpint (*end, ==, '\0');
  return value;
}

/* A row of a face: its box and score parsed, its class the argmax of probabilities that sum
 * to 1; the probabilities are returned in `p`. */
static void
assert_face_row (char   **row,
                 MienFace *box,
                 double   *p)
{
  double sum = 0;
  guint argmax = 0;

  box->x = double_field (row[COL_X]);
  box->y = double_field (row[COL_Y]);
  box->width = double_field (row[COL_WIDTH]);
  box->height = double_field (row[COL_HEIGHT]);
  box->score = double_field (row[COL_SCORE]);
  g_assert_cmpfloat (box->width, >=, FACE_MIN_SIZE);
  g_assert_cmpfloat (box->height, >=, FACE_MIN_SIZE);
  g_assert_cmpfloat (box->score, >, 0.0);
  g_assert_cmpfloat (box->score, <=, 1.0);
  for (guint c = 0; c < N_CLASSES; c++)
    {
      p[c] = double_field (row[COL_P + c]);
      g_assert_cmpfloat (p[c], >=, 0.0);
      g_assert_cmpfloat (p[c], <=, 1.0);
      sum += p[c];
      /* The first of equals, as the command line takes it. */
      if (p[c] > p[argmax])
        argmax = c;
    }
  g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-4);
  g_assert_cmpstr (row[COL_CLASS], ==, classes[argmax]);
}

/* `box` (in a frame where the photo was moved by (dx, dy)) lies where Messi's face is. */
static void
assert_messi_box (const MienFace *box,
                  double          dx,
                  double          dy)
{
  g_assert_cmpfloat (box->x - dx, >=, FACE_LEFT);
  g_assert_cmpfloat (box->y - dy, >=, FACE_TOP);
  g_assert_cmpfloat (box->x - dx + box->width, <=, FACE_RIGHT);
  g_assert_cmpfloat (box->y - dy + box->height, <=, FACE_BOTTOM);
}

/* A box read from the CSV is `face`'s, given with one decimal. */
static void
assert_csv_box (const MienFace *box,
                const MienFace *face)
{
  g_assert_cmpfloat_with_epsilon (box->x, face->x, 0.051);
  g_assert_cmpfloat_with_epsilon (box->y, face->y, 0.051);
  g_assert_cmpfloat_with_epsilon (box->width, face->width, 0.051);
  g_assert_cmpfloat_with_epsilon (box->height, face->height, 0.051);
}

/* The one row of an image without faces: frame 0, no timestamp, and nothing after faces=0. */
static void
assert_faceless_image_row (char       **row,
                           const char  *path)
{
  g_assert_cmpstr (row[COL_PATH], ==, path);
  g_assert_cmpstr (row[COL_FRAME], ==, "0");
  g_assert_cmpstr (row[COL_TIMESTAMP], ==, "");
  g_assert_cmpstr (row[COL_FACES], ==, "0");
  for (guint c = COL_FACE; c < N_COLUMNS; c++)
    g_assert_cmpstr (row[c], ==, "");
}

/* ---- Fixtures --------------------------------------------------------------------------- */

static char *
scratch_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static void
save_png (GdkPixbuf  *pixbuf,
          const char *path)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
  g_assert_no_error (error);
}

static GdkPixbuf *
load_photo (void)
{
  g_autoptr(GError) error = NULL;
  GdkPixbuf *photo = gdk_pixbuf_new_from_file (MESSI_PHOTO, &error);

  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (photo), ==, 548);
  g_assert_cmpint (gdk_pixbuf_get_height (photo), ==, 342);
  return photo;
}

/* The scratch model, saved twice: as it is (no face margin recorded, as files written before
 * Mien recorded one) and with the metadata of a model trained on crops of margin
 * RECORDED_MARGIN. */
static void
ensure_models (void)
{
  MienModelSpec spec = { 0, };
  g_autoptr(MienModel) model = NULL;
  g_autoptr(JsonObject) extra = json_object_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = scratch_path ("model.safetensors");
  g_autofree char *margin_path = scratch_path ("margin-model.safetensors");
  g_autofree char *fer_path = scratch_path ("fer-model.safetensors");

  if (model_path != NULL)
    return;
  spec.backbone = "resnet:18";
  spec.input_size = 32;
  spec.mode = MIEN_MODE_FINETUNE;
  spec.classes = classes;
  for (int c = 0; c < 3; c++)
    {
      spec.mean[c] = 0.5;
      spec.std[c] = 0.25;
    }
  spec.device = mien_device_cpu ();
  mien_torch_manual_seed (7);
  model = mien_model_new (mien_plugin_engine_get_default (), &spec, &error);
  g_assert_no_error (error);
  g_assert_true (mien_model_save (model, path, NULL, NULL, &error));
  g_assert_no_error (error);
  json_object_set_double_member (extra, "face_margin", RECORDED_MARGIN);
  g_assert_true (mien_model_save (model, margin_path, extra, NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&model);
  spec.classes = fer_classes;
  model = mien_model_new (mien_plugin_engine_get_default (), &spec, &error);
  g_assert_no_error (error);
  g_assert_true (mien_model_save (model, fer_path, NULL, NULL, &error));
  g_assert_no_error (error);
  model_path = g_steal_pointer (&path);
  margin_model_path = g_steal_pointer (&margin_path);
  fer_model_path = g_steal_pointer (&fer_path);
}

/* The model and the images; FALSE (and the test skipped) without the photo or the plugin. */
static gboolean
ensure_fixtures (void)
{
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_test (MESSI_PHOTO, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("No " MESSI_PHOTO " (Debian: install opencv-doc)");
      return FALSE;
    }
  if (mien_plugin_engine_find (mien_plugin_engine_get_default (), "opencv") == NULL)
    {
      g_test_skip ("The opencv plugin is not built (-Dface_detection)");
      return FALSE;
    }
  ensure_models ();
  if (set_dir != NULL)
    return TRUE;

  photo = load_photo ();
  set_dir = scratch_path ("set");
  {
    g_autofree char *sub = g_build_filename (set_dir, "b-sub", NULL);

    g_assert_cmpint (g_mkdir_with_parents (sub, 0755), ==, 0);
  }
  /* Names chosen so that name order puts the subfolder between the two files. */
  tiled_path = g_build_filename (set_dir, "a-tiled.png", NULL);
  crop_path = g_build_filename (set_dir, "b-sub", "crop.png", NULL);
  grey_path = g_build_filename (set_dir, "c-grey.png", NULL);

  {
    int w = gdk_pixbuf_get_width (photo);
    int h = gdk_pixbuf_get_height (photo);
    g_autoptr(GdkPixbuf) tiled = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 2 * w, 2 * h);

    for (int i = 0; i < 4; i++)
      gdk_pixbuf_copy_area (photo, 0, 0, w, h, tiled, (i % 2) * w, (i / 2) * h);
    save_png (tiled, tiled_path);
  }
  {
    /* The stands and the ball, right of the face (test-face-detector.c: no face there). */
    g_autoptr(GdkPixbuf) right = gdk_pixbuf_new_subpixbuf (photo, 310, 0, 548 - 310, 342);

    save_png (right, crop_path);
  }
  {
    g_autoptr(GdkPixbuf) grey = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 320, 240);

    gdk_pixbuf_fill (grey, 0x808080ff);
    save_png (grey, grey_path);
  }
  return TRUE;
}

/* ---- Tests ------------------------------------------------------------------------------ */

static void
test_photo (void)
{
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(MienFaceDetector) detector = NULL;
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GArray) faces = NULL;
  g_autoptr(GError) error = NULL;
  const char *paths[2] = { NULL, NULL };
  float expected[N_CLASSES];
  const MienFace *face;
  MienFace box;
  double p[N_CLASSES];
  char **row;

  if (!ensure_fixtures ())
    return;

  r = PREDICT_FACES (MESSI_PHOTO);
  mien_test_cli_assert_success (r);
  rows = parse_csv (r->out);
  g_assert_cmpuint (rows->len, ==, 1);
  row = rows->pdata[0];
  g_assert_cmpstr (row[COL_PATH], ==, MESSI_PHOTO);
  g_assert_cmpstr (row[COL_FRAME], ==, "0");
  /* An image has no time of its own. */
  g_assert_cmpstr (row[COL_TIMESTAMP], ==, "");
  g_assert_cmpstr (row[COL_FACES], ==, "1");
  g_assert_cmpstr (row[COL_FACE], ==, "0");
  /* Identities belong to videos. */
  g_assert_cmpstr (row[COL_TRACK], ==, "");
  assert_face_row (row, &box, p);
  assert_messi_box (&box, 0, 0);

  /* In-process, by another route to the same engine: the saved model loaded back, the cascade
   * opened directly, the default alignment (margin 0.2, eyes levelled). */
  paths[0] = model_path;
  ensemble = mien_ensemble_load (mien_plugin_engine_get_default (), paths, mien_device_cpu (),
                                 &error);
  g_assert_no_error (error);
  detector = mien_face_model_open_detector (mien_plugin_engine_get_default (), "opencv:haar",
                                            NULL, &error);
  g_assert_no_error (error);
  photo = load_photo ();
  faces = mien_face_detector_detect (detector, photo, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (faces->len, ==, 1);
  face = &g_array_index (faces, MienFace, 0);
  assert_csv_box (&box, face);
  g_assert_true (mien_ensemble_predict_face (ensemble, photo, face, NULL, NULL, expected,
                                             &error));
  g_assert_no_error (error);
  for (guint c = 0; c < N_CLASSES; c++)
    g_assert_cmpfloat_with_epsilon (p[c], expected[c], 1e-5);
}

/* A phone portrait (the photo's middle, stored turned with an EXIF orientation): its face is
 * found upright, where it shows, by the command line and by the face pipeline on the pixels
 * the studio's pages load — the same box and probabilities. */
static void
test_exif_portrait (void)
{
  g_autofree char *path = NULL;
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GdkPixbuf) portrait = NULL;
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(MienFaceDetector) detector = NULL;
  g_autoptr(MienFacePipeline) pipeline = NULL;
  g_autoptr(MienFacePrediction) prediction = NULL;
  g_autoptr(GError) error = NULL;
  const char *paths[2] = { NULL, NULL };
  const MienFace *face;
  MienFace box;
  double p[N_CLASSES];

  if (!ensure_fixtures ())
    return;

  path = scratch_path ("portrait.jpg");
  photo = load_photo ();
  portrait = gdk_pixbuf_new_subpixbuf (photo, 150, 0, 220, 342);
  mien_test_write_turned_jpeg (path, portrait);

  r = PREDICT_FACES (path);
  mien_test_cli_assert_success (r);
  rows = parse_csv (r->out);
  g_assert_cmpuint (rows->len, ==, 1);
  g_assert_cmpstr (((char **) rows->pdata[0])[COL_FACES], ==, "1");
  assert_face_row (rows->pdata[0], &box, p);
  assert_messi_box (&box, -150, 0);

  paths[0] = model_path;
  ensemble = mien_ensemble_load (mien_plugin_engine_get_default (), paths, mien_device_cpu (),
                                 &error);
  g_assert_no_error (error);
  detector = mien_face_model_open_detector (mien_plugin_engine_get_default (), "opencv:haar",
                                            NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&photo);
  photo = mien_image_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (photo), ==, 220);
  g_assert_cmpint (gdk_pixbuf_get_height (photo), ==, 342);
  pipeline = mien_face_pipeline_new (ensemble, detector, NULL);
  prediction = mien_face_pipeline_process (pipeline, photo, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (prediction->n_regions, ==, 1);
  face = &prediction->regions[0].face;
  assert_csv_box (&box, face);
  for (guint c = 0; c < N_CLASSES; c++)
    g_assert_cmpfloat_with_epsilon (p[c], prediction->regions[0].average[c], 1e-5);
}

/* What the Predict and Live pages open (no detector named, the preferences' model file): YuNet
 * when its file is there, else the Haar cascade. */
static void
test_default_detector (void)
{
  g_autofree char *missing = scratch_path ("missing.onnx");
  g_autoptr(MienFaceDetector) yunet = NULL;
  g_autoptr(MienFaceDetector) haar = NULL;
  g_autoptr(GError) error = NULL;

  if (!ensure_fixtures ())
    return;
  if (!g_file_test (yunet_model, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("No face_detection_yunet_2022mar.onnx in ../shared/models");
      return;
    }
  yunet = mien_face_model_open_detector (mien_plugin_engine_get_default (), NULL, yunet_model,
                                         &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mien_face_detector_get_method (yunet)->name, ==, "yunet");
  haar = mien_face_model_open_detector (mien_plugin_engine_get_default (), NULL, missing,
                                        &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mien_face_detector_get_method (haar)->name, ==, "haar");
}

static void
test_tiled (void)
{
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  gboolean seen[4] = { FALSE, };

  if (!ensure_fixtures ())
    return;

  r = PREDICT_FACES (tiled_path);
  mien_test_cli_assert_success (r);
  rows = parse_csv (r->out);
  g_assert_cmpuint (rows->len, ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      char **row = rows->pdata[i];
      g_autofree char *index = g_strdup_printf ("%u", i);
      MienFace box;
      double p[N_CLASSES];
      int quadrant;

      g_assert_cmpstr (row[COL_PATH], ==, tiled_path);
      g_assert_cmpstr (row[COL_FRAME], ==, "0");
      g_assert_cmpstr (row[COL_TIMESTAMP], ==, "");
      g_assert_cmpstr (row[COL_FACES], ==, "4");
      g_assert_cmpstr (row[COL_FACE], ==, index);
      g_assert_cmpstr (row[COL_TRACK], ==, "");
      assert_face_row (row, &box, p);
      quadrant = (box.x + box.width / 2 >= 548 ? 1 : 0) + (box.y + box.height / 2 >= 342 ? 2 : 0);
      g_assert_false (seen[quadrant]);
      seen[quadrant] = TRUE;
      assert_messi_box (&box, (quadrant % 2) * 548, (quadrant / 2) * 342);
    }
}

static void
test_no_face (void)
{
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(GPtrArray) rows = NULL;

  if (!ensure_fixtures ())
    return;

  /* Finding nothing is an answer, not an error. */
  r = PREDICT_FACES (grey_path, crop_path);
  mien_test_cli_assert_success (r);
  rows = parse_csv (r->out);
  g_assert_cmpuint (rows->len, ==, 2);
  assert_faceless_image_row (rows->pdata[0], grey_path);
  assert_faceless_image_row (rows->pdata[1], crop_path);
}

static void
test_folder (void)
{
  g_autoptr(MienTestCliResult) files = NULL;
  g_autoptr(MienTestCliResult) folder = NULL;
  g_autoptr(GPtrArray) rows = NULL;

  if (!ensure_fixtures ())
    return;

  /* Name order, into the subfolder between the two files beside it. */
  files = PREDICT_FACES (tiled_path, crop_path, grey_path);
  mien_test_cli_assert_success (files);
  folder = PREDICT_FACES (set_dir);
  mien_test_cli_assert_success (folder);
  g_assert_cmpstr (folder->out, ==, files->out);
  rows = parse_csv (folder->out);
  g_assert_cmpuint (rows->len, ==, 6);
  for (guint i = 0; i < 4; i++)
    {
      char **row = rows->pdata[i];

      g_assert_cmpstr (row[COL_PATH], ==, tiled_path);
      g_assert_cmpstr (row[COL_FACES], ==, "4");
    }
  assert_faceless_image_row (rows->pdata[4], crop_path);
  assert_faceless_image_row (rows->pdata[5], grey_path);
}

/* The moving photo as an AVI; NULL (and the test skipped) without GStreamer's encoders. */
static char *
write_video (void)
{
  g_autoptr(GdkPixbuf) photo = load_photo ();
  g_autofree char *path = scratch_path ("walk.avi");
  GdkPixbuf *frames[VIDEO_FRAMES];
  gboolean ok;

  for (guint k = 0; k < VIDEO_FRAMES; k++)
    {
      frames[k] = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, VIDEO_WIDTH, VIDEO_HEIGHT);
      gdk_pixbuf_fill (frames[k], 0x808080ff);
      gdk_pixbuf_copy_area (photo, 0, 0, 548, 342, frames[k], VIDEO_LEFT + STEP * (int) k,
                            VIDEO_TOP);
    }
  ok = mien_test_write_video_or_skip (path, frames, VIDEO_FRAMES, VIDEO_FPS);
  for (guint k = 0; k < VIDEO_FRAMES; k++)
    g_object_unref (frames[k]);
  return ok ? g_steal_pointer (&path) : NULL;
}

static void
test_video (void)
{
  g_autofree char *video = NULL;
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(MienTestCliResult) smoothed = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) smoothed_rows = NULL;
  double p[VIDEO_FRAMES][N_CLASSES];
  double past[N_CLASSES] = { 0 };
  double last_x = 0;

  if (!ensure_fixtures ())
    return;
  video = write_video ();
  if (video == NULL)
    return;

  r = PREDICT_FACES (video);
  mien_test_cli_assert_success (r);
  rows = parse_csv (r->out);
  g_assert_cmpuint (rows->len, ==, VIDEO_FRAMES);
  for (guint k = 0; k < VIDEO_FRAMES; k++)
    {
      char **row = rows->pdata[k];
      g_autofree char *timestamp = g_strdup_printf ("%.3f", (double) k / VIDEO_FPS);
      MienFace box;

      g_assert_cmpstr (row[COL_PATH], ==, video);
      g_assert_cmpint (int_field (row[COL_FRAME]), ==, k);
      g_assert_cmpstr (row[COL_TIMESTAMP], ==, timestamp);
      g_assert_cmpstr (row[COL_FACES], ==, "1");
      g_assert_cmpstr (row[COL_FACE], ==, "0");
      /* One face seen throughout keeps one identity. */
      g_assert_cmpstr (row[COL_TRACK], !=, "");
      g_assert_cmpstr (row[COL_TRACK], ==, ((char **) rows->pdata[0])[COL_TRACK]);
      assert_face_row (row, &box, p[k]);
      g_test_message ("frame %u: [%.1f, %.1f %.1f×%.1f]", k, box.x, box.y, box.width, box.height);
      assert_messi_box (&box, VIDEO_LEFT + STEP * k, VIDEO_TOP);
      if (k > 0)
        g_assert_cmpfloat_with_epsilon (box.x - last_x, STEP, 4.0);
      last_x = box.x;
    }

  /* Smoothing: the first frame has no past, every later one leans on it. */
  smoothed = PREDICT_FACES ("--smoothing", "0.5", video);
  mien_test_cli_assert_success (smoothed);
  smoothed_rows = parse_csv (smoothed->out);
  g_assert_cmpuint (smoothed_rows->len, ==, VIDEO_FRAMES);
  for (guint k = 0; k < VIDEO_FRAMES; k++)
    {
      char **row = smoothed_rows->pdata[k];
      char **plain = rows->pdata[k];
      double q[N_CLASSES];
      double difference = 0;
      MienFace box;

      /* The same faces, found the same way. */
      for (guint c = COL_PATH; c <= COL_SCORE; c++)
        g_assert_cmpstr (row[c], ==, plain[c]);
      assert_face_row (row, &box, q);
      for (guint c = 0; c < N_CLASSES; c++)
        {
          difference = MAX (difference, fabs (q[c] - p[k][c]));
          /* An even blend of the smoothed past and the frame's own: each printed value is off
           * by up to 5e-7, the blend by up to 1e-6. */
          if (k > 0)
            g_assert_cmpfloat_with_epsilon (q[c], 0.5 * past[c] + 0.5 * p[k][c], 2e-6);
        }
      memcpy (past, q, sizeof past);
      g_test_message ("frame %u: smoothed %.6f %.6f %.6f (by up to %.6f)", k, q[0], q[1], q[2],
                      difference);
      if (k == 0)
        g_assert_cmpfloat (difference, ==, 0.0);
      else
        g_assert_cmpfloat (difference, >, 0.0);
    }
}

static void
test_csv_file (void)
{
  g_autofree char *csv = scratch_path ("faces.csv");
  g_autofree char *written = NULL;
  g_autoptr(MienTestCliResult) to_stdout = NULL;
  g_autoptr(MienTestCliResult) to_file = NULL;
  g_autoptr(GError) error = NULL;

  if (!ensure_fixtures ())
    return;

  to_stdout = PREDICT_FACES (MESSI_PHOTO, grey_path);
  mien_test_cli_assert_success (to_stdout);
  to_file = PREDICT_FACES ("--csv", csv, MESSI_PHOTO, grey_path);
  mien_test_cli_assert_success (to_file);
  g_assert_cmpstr (to_file->out, ==, "");
  g_assert_true (g_file_get_contents (csv, &written, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (written, ==, to_stdout->out);
}

static void
test_errors (void)
{
  g_autofree char *missing = scratch_path ("missing.png");
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(MienTestCliResult) yunet = NULL;
  g_autoptr(MienTestCliResult) margin = NULL;
  g_autoptr(GPtrArray) rows = NULL;

  if (!ensure_fixtures ())
    return;

  /* A missing file is reported, and the inputs after it still get their rows. */
  r = PREDICT_FACES (missing, grey_path);
  g_assert_cmpint (r->status, ==, 1);
  g_assert_nonnull (strstr (r->err, missing));
  rows = parse_csv (r->out);
  g_assert_cmpuint (rows->len, ==, 1);
  assert_faceless_image_row (rows->pdata[0], grey_path);

  yunet = mien_test_cli_run ("predict", "--model", model_path, "--faces", "--detector",
                             "opencv:yunet", "--face-model", "/nonexistent.onnx", grey_path, NULL);
  g_assert_cmpint (yunet->status, ==, 1);
  g_assert_nonnull (strstr (yunet->err, "/nonexistent.onnx"));

  margin = PREDICT_FACES ("--margin", "5", grey_path);
  g_assert_cmpint (margin->status, ==, 2);
  g_assert_nonnull (strstr (margin->err, "--margin"));
}

static void
test_detectors (void)
{
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(MienTestCliResult) plugins = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *array;
  JsonArray *backbones;
  gboolean seen_haar = FALSE, seen_yunet = FALSE;

  if (!ensure_fixtures ())
    return;

  r = mien_test_cli_run ("detectors", "--json", NULL);
  mien_test_cli_assert_success (r);
  g_assert_true (json_parser_load_from_data (parser, r->out, -1, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)));
  array = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *o = json_array_get_object_element (array, i);
      const char *spec = json_object_get_string_member (o, "spec");

      g_assert_nonnull (spec);
      if (g_str_equal (spec, "opencv:haar"))
        {
          seen_haar = TRUE;
          g_assert_true (json_object_get_boolean_member (o, "available"));
          g_assert_false (json_object_has_member (o, "why_not"));
        }
      else if (g_str_equal (spec, "opencv:yunet"))
        {
          seen_yunet = TRUE;
          /* Its model file is not in the scratch data folder. */
          g_assert_false (json_object_get_boolean_member (o, "available"));
          g_assert_cmpstr (json_object_get_string_member (o, "why_not"), !=, "");
          g_assert_true (json_object_get_boolean_member (o, "landmarks"));
        }
    }
  g_assert_true (seen_haar);
  g_assert_true (seen_yunet);

  /* Face detectors are not backbones. */
  plugins = mien_test_cli_run ("plugins", "--json", NULL);
  mien_test_cli_assert_success (plugins);
  g_clear_object (&parser);
  parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, plugins->out, -1, &error));
  g_assert_no_error (error);
  backbones = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                            "plugins");
  g_assert_cmpuint (json_array_get_length (backbones), >, 0);
  for (guint i = 0; i < json_array_get_length (backbones); i++)
    {
      JsonObject *o = json_array_get_object_element (backbones, i);

      g_assert_cmpstr (json_object_get_string_member (o, "id"), !=, "opencv");
    }
}

/* ---- eval --faces ----------------------------------------------------------------------- */

/* The row of `path` with the largest face (the one eval --faces classifies). */
static char **
largest_face_row (GPtrArray  *rows,
                  const char *path)
{
  char **best = NULL;
  double best_area = -1;

  for (guint i = 0; i < rows->len; i++)
    {
      char **row = rows->pdata[i];
      double area;

      if (!g_str_equal (row[COL_PATH], path) || g_str_equal (row[COL_FACES], "0"))
        continue;
      area = double_field (row[COL_WIDTH]) * double_field (row[COL_HEIGHT]);
      if (area > best_area)
        {
          best = row;
          best_area = area;
        }
    }
  g_assert_nonnull (best);
  return best;
}

static void
copy_file (const char *from,
           const char *to)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (from, &contents, &length, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (to, contents, length, &error));
  g_assert_no_error (error);
}

/* A dataset of the shared folder's real photos, one per class, and a blank image in "happy";
 * the paths of the three photos (in dataset order) and of the blank one. */
static char *
make_photo_set (const char  *shared,
                char       **photos,
                char       **blank)
{
  static const char * const names[] = { "one-smiling.jpg", "two-laughing.jpg", "group-six.jpg" };
  g_autofree char *dir = scratch_path ("eval-photos");
  g_autoptr(GdkPixbuf) grey = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 320, 240);

  for (guint c = 0; c < N_CLASSES; c++)
    {
      g_autofree char *class_dir = g_build_filename (dir, classes[c], NULL);
      g_autofree char *from = g_build_filename (shared, "photos", names[c], NULL);

      g_assert_cmpint (g_mkdir_with_parents (class_dir, 0755), ==, 0);
      photos[c] = g_build_filename (class_dir, names[c], NULL);
      copy_file (from, photos[c]);
    }
  /* After two-laughing.jpg in name order: "z". */
  *blank = g_build_filename (dir, "happy", "z-blank.png", NULL);
  gdk_pixbuf_fill (grey, 0x808080ff);
  save_png (grey, *blank);
  return g_steal_pointer (&dir);
}

/* The shared folder (its photos, and YuNet's file in `yunet`) and the scratch models; NULL (and
 * the test skipped) without the folder or the opencv plugin. */
static char *
shared_fixtures (char **yunet)
{
  g_autofree char *shared = mien_test_shared_dir ();

  if (shared == NULL)
    return NULL;
  if (mien_plugin_engine_find (mien_plugin_engine_get_default (), "opencv") == NULL)
    {
      g_test_skip ("The opencv plugin is not built (-Dface_detection)");
      return NULL;
    }
  ensure_models ();
  *yunet = g_build_filename (shared, "models", "face_detection_yunet_2022mar.onnx", NULL);
  return g_steal_pointer (&shared);
}

/* eval --faces on real photos and a blank image, with the model that records a margin: the blank
 * one is an error for its class and listed, each photo's largest face is classified with the
 * probabilities predict --faces gives it, and both crop with the recorded margin. */
static void
test_eval_photos (void)
{
  g_autofree char *shared = NULL;
  g_autofree char *yunet = NULL;
  g_autofree char *set = NULL;
  g_autofree char *blank = NULL;
  char *photos[N_CLASSES + 1] = { NULL, };
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(MienTestCliResult) text = NULL;
  g_autoptr(MienTestCliResult) predicted = NULL;
  g_autoptr(MienTestCliResult) wider = NULL;
  g_autoptr(JsonObject) o = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) wider_rows = NULL;
  JsonArray *no_face, *images, *missed;
  guint correct = 0;
  double max_change = 0;

  if ((shared = shared_fixtures (&yunet)) == NULL)
    return;
  set = make_photo_set (shared, photos, &blank);

  r = mien_test_cli_run ("eval", "--model", margin_model_path, "--data", set, "--faces",
                         "--detector", "opencv:yunet", "--face-model", yunet, "--json", NULL);
  mien_test_cli_assert_success (r);
  o = mien_test_parse_json_object (r->out);
  g_assert_cmpfloat (json_object_get_double_member (o, "face_margin"), ==, RECORDED_MARGIN);
  g_assert_cmpint (json_object_get_int_member (o, "n"), ==, 4);
  no_face = json_object_get_array_member (o, "no_face");
  g_assert_cmpuint (json_array_get_length (no_face), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (no_face, 0), ==, blank);
  /* The blank image is a "happy" sample without a prediction. */
  missed = json_object_get_array_member (o, "missed");
  g_assert_cmpint (json_array_get_int_element (missed, 0), ==, 0);
  g_assert_cmpint (json_array_get_int_element (missed, 1), ==, 1);
  g_assert_cmpint (json_array_get_int_element (missed, 2), ==, 0);

  predicted = mien_test_cli_run ("predict", "--model", margin_model_path, "--faces",
                                 "--detector", "opencv:yunet", "--face-model", yunet,
                                 photos[0], photos[1], photos[2], NULL);
  mien_test_cli_assert_success (predicted);
  rows = parse_csv (predicted->out);
  wider = mien_test_cli_run ("predict", "--model", margin_model_path, "--faces", "--margin",
                             "0.2", "--detector", "opencv:yunet", "--face-model", yunet,
                             photos[0], photos[1], photos[2], NULL);
  mien_test_cli_assert_success (wider);
  wider_rows = parse_csv (wider->out);

  images = json_object_get_array_member (o, "faces");
  g_assert_cmpuint (json_array_get_length (images), ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      JsonObject *image = json_array_get_object_element (images, i);
      const char *path = json_object_get_string_member (image, "path");
      JsonArray *box, *crop, *p;
      char **row, **wider_row;
      MienFace csv_box, eval_box;
      double csv_p[N_CLASSES];

      /* Dataset order: class by class, names in order. */
      g_assert_cmpstr (path, ==, i < 2 ? photos[i] : i == 2 ? blank : photos[2]);
      if (g_str_equal (path, blank))
        {
          g_assert_true (json_object_get_null_member (image, "predicted"));
          g_assert_cmpint (json_object_get_int_member (image, "faces"), ==, 0);
          g_assert_false (json_object_has_member (image, "probabilities"));
          continue;
        }
      g_assert_cmpint (json_object_get_int_member (image, "faces"), >=, 1);
      row = largest_face_row (rows, path);
      assert_face_row (row, &csv_box, csv_p);
      box = json_object_get_array_member (image, "box");
      eval_box.x = json_array_get_double_element (box, 0);
      eval_box.y = json_array_get_double_element (box, 1);
      eval_box.width = json_array_get_double_element (box, 2);
      eval_box.height = json_array_get_double_element (box, 3);
      assert_csv_box (&csv_box, &eval_box);
      /* The square cropped around it: the longer side and the recorded margin on each side. */
      crop = json_object_get_array_member (image, "crop");
      g_assert_cmpfloat_with_epsilon (json_array_get_double_element (crop, 2),
                                      MAX (eval_box.width, eval_box.height) *
                                      (1 + 2 * RECORDED_MARGIN), 1e-3);
      p = json_object_get_array_member (image, "probabilities");
      for (guint c = 0; c < N_CLASSES; c++)
        g_assert_cmpfloat_with_epsilon (json_array_get_double_element (p, c), csv_p[c], 2e-6);
      g_assert_cmpstr (json_object_get_string_member (image, "predicted"), ==, row[COL_CLASS]);
      if (g_str_equal (row[COL_CLASS], json_object_get_string_member (image, "class")))
        correct++;
      /* Predict's own default (0.2) frames the face otherwise, and the model sees it. */
      wider_row = largest_face_row (wider_rows, path);
      for (guint c = 0; c < N_CLASSES; c++)
        max_change = MAX (max_change, fabs (double_field (wider_row[COL_P + c]) - csv_p[c]));
    }
  g_assert_cmpfloat (max_change, >, 1e-4);
  /* Four images, the faceless one among the errors. */
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "accuracy"), correct / 4.0,
                                  1e-9);

  /* The text lists it too, and gives the column of images without a face. */
  text = mien_test_cli_run ("eval", "--model", margin_model_path, "--data", set, "--faces",
                            "--detector", "opencv:yunet", "--face-model", yunet, NULL);
  mien_test_cli_assert_success (text);
  g_assert_nonnull (strstr (text->out, "no face"));
  g_assert_nonnull (strstr (text->out, "1 image without a face"));
  g_assert_nonnull (strstr (text->out, blank));

  for (guint c = 0; c < N_CLASSES; c++)
    g_free (photos[c]);
}

/* Which margin eval --faces crops with: the recorded one, 0.2 for a model without one, the
 * command line's over both; an ensemble whose members disagree is refused until one is given.
 * Haar on Messi's photo (a face), blank images (none) and a file that is not an image. */
static void
test_eval_margins (void)
{
  g_autofree char *set = NULL;
  g_autofree char *face = NULL;
  g_autofree char *broken = NULL;
  g_autoptr(MienTestCliResult) old = NULL;
  g_autoptr(MienTestCliResult) mixed = NULL;
  g_autoptr(MienTestCliResult) chosen = NULL;
  g_autoptr(MienTestCliResult) no_faces = NULL;
  g_autoptr(JsonObject) o = NULL;
  g_autoptr(JsonObject) c = NULL;
  JsonArray *images;

  if (!ensure_fixtures ())
    return;
  set = scratch_path ("eval-margins");
  for (guint k = 0; k < N_CLASSES; k++)
    {
      g_autofree char *dir = g_build_filename (set, classes[k], NULL);
      g_autofree char *blank = g_build_filename (dir, "blank.png", NULL);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
      copy_file (grey_path, blank);
    }
  face = g_build_filename (set, "neutral", "messi.jpg", NULL);
  copy_file (MESSI_PHOTO, face);
  broken = g_build_filename (set, "sad", "broken.png", NULL);
  g_assert_true (g_file_set_contents (broken, "not a picture", -1, NULL));

  old = mien_test_cli_run ("eval", "--model", model_path, "--data", set, "--faces",
                           "--detector", "opencv:haar", "--json", NULL);
  mien_test_cli_assert_success (old);
  o = mien_test_parse_json_object (old->out);
  g_assert_cmpfloat (json_object_get_double_member (o, "face_margin"), ==, 0.2);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "no_face")), ==,
                    N_CLASSES);
  /* The unreadable image is left out of the metrics, said on the standard error and marked. */
  g_assert_cmpint (json_object_get_int_member (o, "n"), ==, N_CLASSES + 1);
  g_assert_nonnull (strstr (old->err, "broken.png"));
  images = json_object_get_array_member (o, "faces");
  g_assert_cmpuint (json_array_get_length (images), ==, N_CLASSES + 2);
  for (guint i = 0; i < json_array_get_length (images); i++)
    {
      JsonObject *image = json_array_get_object_element (images, i);

      g_assert_cmpint (json_object_get_boolean_member_with_default (image, "unreadable", FALSE),
                       ==, g_str_equal (json_object_get_string_member (image, "path"), broken));
    }

  mixed = mien_test_cli_run ("eval", "--model", model_path, "--model", margin_model_path,
                             "--data", set, "--faces", "--detector", "opencv:haar", NULL);
  g_assert_cmpint (mixed->status, ==, 2);
  g_assert_nonnull (strstr (mixed->err, "margin-model.safetensors"));
  g_assert_nonnull (strstr (mixed->err, "--margin"));

  chosen = mien_test_cli_run ("eval", "--model", model_path, "--model", margin_model_path,
                              "--data", set, "--faces", "--detector", "opencv:haar",
                              "--margin", "0.1", "--json", NULL);
  mien_test_cli_assert_success (chosen);
  c = mien_test_parse_json_object (chosen->out);
  g_assert_cmpfloat (json_object_get_double_member (c, "face_margin"), ==, 0.1);

  /* Face options without --faces are a usage error, not silently ignored. */
  no_faces = mien_test_cli_run ("eval", "--model", model_path, "--data", set, "--margin", "0.1",
                                NULL);
  g_assert_cmpint (no_faces->status, ==, 2);
  g_assert_nonnull (strstr (no_faces->err, "--faces"));
}

/* FER2013's pixels for `photo`: a 48 × 48 grey square around its largest face (as YuNet finds
 * it), with FER's loose framing, as the space-separated values of fer2013.csv's column. */
static char *
fer_pixels_of_face (GdkPixbuf  *photo,
                    const char *yunet)
{
  g_autoptr(MienFaceDetector) detector = NULL;
  g_autoptr(GArray) faces = NULL;
  g_autoptr(GdkPixbuf) square = NULL;
  g_autoptr(GdkPixbuf) small = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  const MienFace *face = NULL;
  int width = gdk_pixbuf_get_width (photo);
  int height = gdk_pixbuf_get_height (photo);
  int side, x, y, stride, n_channels;
  const guint8 *pixels;

  detector = mien_face_model_open_detector (mien_plugin_engine_get_default (), "opencv:yunet",
                                            yunet, &error);
  g_assert_no_error (error);
  faces = mien_face_detector_detect (detector, photo, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < faces->len; i++)
    if (face == NULL || g_array_index (faces, MienFace, i).width > face->width)
      face = &g_array_index (faces, MienFace, i);
  g_assert_nonnull (face);
  side = MIN ((int) (MAX (face->width, face->height) * 1.6), MIN (width, height));
  x = CLAMP ((int) (face->x + face->width / 2 - side / 2), 0, width - side);
  y = CLAMP ((int) (face->y + face->height / 2 - side / 2), 0, height - side);
  square = gdk_pixbuf_new_subpixbuf (photo, x, y, side, side);
  small = gdk_pixbuf_scale_simple (square, 48, 48, GDK_INTERP_BILINEAR);
  pixels = gdk_pixbuf_read_pixels (small);
  stride = gdk_pixbuf_get_rowstride (small);
  n_channels = gdk_pixbuf_get_n_channels (small);
  for (int r = 0; r < 48; r++)
    for (int c = 0; c < 48; c++)
      {
        const guint8 *p = pixels + (gsize) r * stride + (gsize) c * n_channels;

        g_string_append_printf (text, "%s%d", text->len > 0 ? " " : "",
                                (299 * p[0] + 587 * p[1] + 114 * p[2]) / 1000);
      }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* eval --faces --detector DETECTOR (`yunet`: its model file, or NULL) on the fer2013.csv of
 * test_eval_fer2013 (), val split: the face row is found and classified, the blank row has no
 * face, and none is unreadable. */
static void
assert_fer2013_evaluation (const char *csv,
                           const char *detector,
                           const char *yunet)
{
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(JsonObject) o = NULL;
  JsonArray *images, *no_face;
  JsonObject *face_image, *blank_image;

  g_test_message ("--detector %s", detector);
  r = mien_test_cli_run ("eval", "--model", fer_model_path, "--data", csv, "--split", "val",
                         "--faces", "--detector", detector, "--json",
                         /* Only YuNet takes a model file. */
                         yunet != NULL ? "--face-model" : NULL, yunet, NULL);
  mien_test_cli_assert_success (r);
  o = mien_test_parse_json_object (r->out);
  g_assert_cmpint (json_object_get_int_member (o, "n"), ==, 2);
  images = json_object_get_array_member (o, "faces");
  g_assert_cmpuint (json_array_get_length (images), ==, 2);
  /* Dataset order: the classes in the model's order. */
  face_image = json_array_get_object_element (images, 0);
  blank_image = json_array_get_object_element (images, 1);
  g_assert_true (g_str_has_suffix (json_object_get_string_member (face_image, "path"), ":2"));
  g_assert_true (g_str_has_suffix (json_object_get_string_member (blank_image, "path"), ":3"));
  for (guint i = 0; i < 2; i++)
    g_assert_false (json_object_get_boolean_member_with_default (
                      json_array_get_object_element (images, i), "unreadable", FALSE));
  g_assert_cmpint (json_object_get_int_member (face_image, "faces"), ==, 1);
  g_assert_false (json_object_get_null_member (face_image, "predicted"));
  g_assert_cmpint (json_object_get_int_member (blank_image, "faces"), ==, 0);
  no_face = json_object_get_array_member (o, "no_face");
  g_assert_cmpuint (json_array_get_length (no_face), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (no_face, 0), ==,
                   json_object_get_string_member (blank_image, "path"));
}

/* eval --faces on a fer2013.csv: its samples are pixels the file holds, not image files, of
 * 48 px. The face row (a crop of a real photo) is found and classified, the blank row has no
 * face, and none is unreadable. */
static void
test_eval_fer2013 (void)
{
  g_autofree char *shared = NULL;
  g_autofree char *yunet = NULL;
  g_autofree char *photo_path = NULL;
  g_autofree char *face_pixels = NULL;
  g_autofree char *csv = NULL;
  g_autoptr(GString) contents = g_string_new ("emotion,pixels,Usage\n");
  g_autoptr(GdkPixbuf) photo = NULL;
  g_autoptr(GError) error = NULL;

  if ((shared = shared_fixtures (&yunet)) == NULL)
    return;
  photo_path = g_build_filename (shared, "photos", "one-smiling.jpg", NULL);
  photo = gdk_pixbuf_new_from_file (photo_path, &error);
  g_assert_no_error (error);
  face_pixels = fer_pixels_of_face (photo, yunet);

  /* Line 2: happiness (3), the face; line 3: neutral (6), a uniform grey square. */
  g_string_append_printf (contents, "3,%s,PublicTest\n6,", face_pixels);
  for (guint i = 0; i < 48 * 48; i++)
    g_string_append (contents, i > 0 ? " 128" : "128");
  g_string_append (contents, ",PublicTest\n");
  csv = scratch_path ("fer2013.csv");
  g_assert_true (g_file_set_contents (csv, contents->str, -1, &error));
  g_assert_no_error (error);

  /* YuNet, whose network takes no side under 63 px (the plugin scales these up), and the Haar
   * cascade. */
  for (guint d = 0; d < 2; d++)
    assert_fer2013_evaluation (csv, d == 0 ? "opencv:yunet" : "opencv:haar",
                               d == 0 ? yunet : NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data_home = NULL;
  int status;

  tmp_dir = g_dir_make_tmp ("mien-cli-faces-XXXXXX", &error);
  g_assert_no_error (error);
  /* Before anything reads them (GLib caches the data folder): YuNet's default file is then
   * looked for in the scratch folder, where it is not, for this process and the command line. */
  data_home = g_build_filename (tmp_dir, "data", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  yunet_model = g_getenv ("MIEN_YUNET_MODEL") != NULL
                ? g_strdup (g_getenv ("MIEN_YUNET_MODEL"))
                : g_build_filename (g_getenv ("G_TEST_SRCDIR") != NULL
                                    ? g_getenv ("G_TEST_SRCDIR") : ".",
                                    "..", "..", "shared", "models",
                                    "face_detection_yunet_2022mar.onnx", NULL);
  g_unsetenv ("MIEN_YUNET_MODEL");

  g_test_init (&argc, &argv, NULL);
  mien_init ();

  g_test_add_func ("/cli-faces/photo", test_photo);
  g_test_add_func ("/cli-faces/exif-portrait", test_exif_portrait);
  g_test_add_func ("/cli-faces/default-detector", test_default_detector);
  g_test_add_func ("/cli-faces/tiled", test_tiled);
  g_test_add_func ("/cli-faces/no-face", test_no_face);
  g_test_add_func ("/cli-faces/folder", test_folder);
  g_test_add_func ("/cli-faces/video", test_video);
  g_test_add_func ("/cli-faces/csv-file", test_csv_file);
  g_test_add_func ("/cli-faces/errors", test_errors);
  g_test_add_func ("/cli-faces/detectors", test_detectors);
  g_test_add_func ("/cli-faces/eval/photos", test_eval_photos);
  g_test_add_func ("/cli-faces/eval/margins", test_eval_margins);
  g_test_add_func ("/cli-faces/eval/fer2013", test_eval_fer2013);

  status = g_test_run ();
  mien_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  g_free (model_path);
  g_free (margin_model_path);
  g_free (fer_model_path);
  g_free (tiled_path);
  g_free (grey_path);
  g_free (crop_path);
  g_free (set_dir);
  g_free (yunet_model);
  return status;
}
