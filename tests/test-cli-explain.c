/* test-cli-explain.c — `mien-cli explain`, end to end: the raw maps of --json against Grad-CAM
 * computed in-process on the same input, an ensemble's map against its members', the PNGs
 * against mien_explain_overlay () of the printed map, --class, --faces on the shared photos,
 * and every refused input.
 *
 * The models are randomly initialised ResNet-18s at 64 px (a 2 × 2 grid): their maps mean
 * nothing, but the command line must give the numbers the library gives in-process. Both run
 * libtorch on one thread, so the numbers are the same, not only close.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mien-core.h"
#include "mien-ensemble.h"
#include "mien-explain.h"
#include "mien-image.h"
#include "mien-test-util.h"

#define SIZE 64
#define N_CLASSES 3

static const char * const classes[] = { "neutral", "happy", "sad", NULL };
static const char * const other_classes[] = { "neutral", "happy", "angry", NULL };

static char *tmp_dir;
/* Made on first use (ensure_fixtures ()), so that any one test can run alone. */
static char *model_a;
static char *model_b;
static char *model_other;
static char *image_path;   /* 80 × 56: not square, not the models' size */
static char *image2_path;

static char *
scratch_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* Smooth colours with a bright blob, so that the map has something to point at. */
static char *
save_image (const char *name,
            int         width,
            int         height,
            int         blob_x,
            int         blob_y)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  g_autoptr(GError) error = NULL;
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  char *path = scratch_path (name);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        guint8 *p = pixels + y * stride + x * 3;
        gboolean blob = hypot (x - blob_x, y - blob_y) < 10;

        p[0] = blob ? 250 : (guint8) (x * 255 / width);
        p[1] = blob ? 240 : (guint8) (y * 255 / height);
        p[2] = (guint8) ((x + y) * 2);
      }
  g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
  g_assert_no_error (error);
  return path;
}

static char *save_model (const char         *name,
                         guint64             seed,
                         const char * const *model_classes);

static void
ensure_fixtures (void)
{
  if (model_a != NULL)
    return;
  image_path = save_image ("photo.png", 80, 56, 20, 40);
  image2_path = save_image ("second.png", 50, 70, 30, 15);
  model_a = save_model ("a.safetensors", 1, classes);
  model_b = save_model ("b.safetensors", 100, classes);
  model_other = save_model ("other.safetensors", 200, other_classes);
}

static MienModel *
load_model (const char *path)
{
  g_autoptr(GError) error = NULL;
  MienModel *model = mien_model_load (mien_plugin_engine_get_default (), path,
                                      mien_device_cpu (), &error);

  g_assert_no_error (error);
  return model;
}

/* The JSON's {"height", "width", "values"} as a float32 [1, h, w] tensor. */
static MienTensor *
grid_tensor (JsonObject *grid)
{
  g_autoptr(GError) error = NULL;
  gint64 shape[3] = { 1, json_object_get_int_member (grid, "height"),
                      json_object_get_int_member (grid, "width") };
  JsonArray *values = json_object_get_array_member (grid, "values");
  g_autofree float *data = NULL;
  MienTensor *tensor;

  g_assert_cmpuint (json_array_get_length (values), ==, shape[1] * shape[2]);
  data = g_new (float, shape[1] * shape[2]);
  for (guint i = 0; i < json_array_get_length (values); i++)
    data[i] = (float) json_array_get_double_element (values, i);
  tensor = mien_tensor_new_from_data (data, MIEN_DTYPE_FLOAT32, shape, 3, &error);
  g_assert_no_error (error);
  return tensor;
}

/* Exactly equal, shape and values, or within `tolerance`. */
static void
assert_tensors (MienTensor *a,
                MienTensor *b,
                double      tolerance)
{
  gsize n_a = 0, n_b = 0;
  g_autofree double *va = mien_test_values_of (a, &n_a);
  g_autofree double *vb = mien_test_values_of (b, &n_b);
  gint64 sa[4], sb[4];
  int nd = mien_tensor_shape (a, sa, 4);

  g_assert_cmpint (nd, ==, mien_tensor_shape (b, sb, 4));
  for (int d = 0; d < nd; d++)
    g_assert_cmpint (sa[d], ==, sb[d]);
  g_assert_cmpuint (n_a, ==, n_b);
  for (gsize i = 0; i < n_a; i++)
    if (tolerance == 0)
      g_assert_cmpfloat (va[i], ==, vb[i]);
    else
      g_assert_cmpfloat_with_epsilon (va[i], vb[i], tolerance);
}

/* A map with nothing to compare: one value everywhere (a random head can give a class no
 * positive evidence at all, an all-zero map that any mistake would still match). */
static gboolean
is_flat (MienTensor *map)
{
  gsize n = 0;
  g_autofree double *v = mien_test_values_of (map, &n);
  gboolean flat = TRUE;

  for (gsize i = 1; i < n; i++)
    flat = flat && v[i] == v[0];
  return flat;
}

static void
assert_not_flat (MienTensor *map)
{
  g_assert_false (is_flat (map));
}

/* What the members see of an image file, as predict prepares it: uint8 [1, 3, S, S]. */
static MienTensor *
image_tensor (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *pixels = g_malloc (3 * SIZE * SIZE);
  MienTensor *images;

  g_assert_true (mien_image_decode (path, SIZE, FALSE, pixels, NULL, &error));
  g_assert_no_error (error);
  images = mien_image_batch_tensor (pixels, 1, SIZE, &error);
  g_assert_no_error (error);
  return images;
}

/* A random model saved as `name`: the first from `seed` on whose maps of the test image are
 * none flat, for any class, so that every comparison below compares something. */
static char *
save_model (const char         *name,
            guint64             seed,
            const char * const *model_classes)
{
  g_autoptr(MienTensor) images = image_tensor (image_path);
  g_autoptr(GError) error = NULL;
  char *path = scratch_path (name);

  for (guint64 s = seed; s < seed + 100; s++)
    {
      g_autoptr(MienModel) model = NULL;
      g_autoptr(MienTensor) input = NULL;
      gboolean usable = TRUE;

      mien_torch_manual_seed (s);
      model = mien_test_random_model ("resnet:18", SIZE, model_classes, FALSE);
      input = mien_model_prepare_input (model, images, &error);
      g_assert_no_error (error);
      for (guint c = 0; c < N_CLASSES && usable; c++)
        {
          g_autoptr(MienTensor) map = mien_explain_grad_cam (model, input, c, NULL, &error);

          g_assert_no_error (error);
          usable = !is_flat (map);
        }
      if (!usable)
        continue;
      g_assert_true (mien_model_save (model, path, NULL, NULL, &error));
      g_assert_no_error (error);
      return path;
    }
  g_error ("no random model of %s has maps to compare", name);
}

/* mien_explain_grad_cam () of `model_path` on `path` for `class_index`. */
static MienTensor *
grad_cam_in_process (const char *model_path,
                     const char *path,
                     guint       class_index)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienModel) model = load_model (model_path);
  g_autoptr(MienTensor) images = image_tensor (path);
  g_autoptr(MienTensor) input = mien_model_prepare_input (model, images, &error);
  g_autofree char *layer = NULL;
  MienTensor *map;

  g_assert_no_error (error);
  map = mien_explain_grad_cam (model, input, class_index, &layer, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (layer, ==, "layer4");
  return map;
}

static MienTensor *
upsampled (MienTensor *raw)
{
  g_autoptr(GError) error = NULL;
  MienTensor *map = mien_explain_upsample (raw, SIZE, SIZE, &error);

  g_assert_no_error (error);
  return map;
}

/* The PNG at `png` is `map` drawn over the image at `path` at `opacity`, pixel for pixel. */
static void
assert_overlay_png (const char *png,
                    const char *path,
                    MienTensor *map,
                    double      opacity)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) image = mien_image_load (path, &error);
  g_autoptr(GdkPixbuf) expected = NULL;
  g_autoptr(GdkPixbuf) written = NULL;
  int height, stride;

  g_assert_no_error (error);
  expected = mien_explain_overlay (image, map, opacity, &error);
  g_assert_no_error (error);
  written = gdk_pixbuf_new_from_file (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (written), ==, gdk_pixbuf_get_width (image));
  g_assert_cmpint (gdk_pixbuf_get_height (written), ==, gdk_pixbuf_get_height (image));
  g_assert_cmpint (gdk_pixbuf_get_n_channels (written), ==, 3);
  height = gdk_pixbuf_get_height (written);
  stride = gdk_pixbuf_get_rowstride (written);
  g_assert_cmpint (stride, ==, gdk_pixbuf_get_rowstride (expected));
  for (int y = 0; y < height; y++)
    g_assert_cmpmem (gdk_pixbuf_read_pixels (written) + y * stride,
                     gdk_pixbuf_get_width (written) * 3,
                     gdk_pixbuf_read_pixels (expected) + y * stride,
                     gdk_pixbuf_get_width (expected) * 3);
}

/* The one explained item of a --json run. */
static JsonObject *
only_item (JsonObject *root)
{
  JsonArray *explained = json_object_get_array_member (root, "explained");

  g_assert_cmpuint (json_array_get_length (explained), ==, 1);
  return json_array_get_object_element (explained, 0);
}

/* Member `m`'s raw Grad-CAM grid in an explained item. */
static MienTensor *
member_grid (JsonObject *item,
             guint       m)
{
  JsonArray *members = json_object_get_array_member (item, "members");

  g_assert_cmpuint (m, <, json_array_get_length (members));
  return grid_tensor (json_object_get_object_member (json_array_get_object_element (members, m),
                                                     "grad_cam"));
}

static guint
class_of (const char *name)
{
  for (guint c = 0; c < N_CLASSES; c++)
    if (g_str_equal (classes[c], name))
      return c;
  g_assert_not_reached ();
}

/* One model: its raw grid is mien_explain_grad_cam ()'s on the same input, the class is the
 * predicted one (with predict's probabilities), the map is the grid upsampled, and the PNG is
 * that map drawn over the image at --opacity. */
static void
test_single (void)
{
  g_autofree char *out = NULL;
  g_autofree char *png = NULL;
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(JsonObject) root = NULL;
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(MienTensor) expected = NULL;
  g_autoptr(MienTensor) raw = NULL;
  g_autoptr(MienTensor) map = NULL;
  g_autoptr(GdkPixbuf) image = NULL;
  g_autoptr(GError) error = NULL;
  const char *models[] = { NULL, NULL };
  float average[N_CLASSES];
  JsonObject *item, *member;
  JsonArray *p;
  guint predicted;

  ensure_fixtures ();
  out = scratch_path ("single");
  png = g_build_filename (out, "photo.png", NULL);
  r = mien_test_cli_run ("explain", "--model", model_a, image_path, "--out", out, "--json",
                         "--opacity", "0.3", "--threads", "1", NULL);
  mien_test_cli_assert_success (r);
  root = mien_test_parse_json_object (r->out);
  item = only_item (root);
  g_assert_cmpstr (json_object_get_string_member (item, "file"), ==, image_path);
  g_assert_cmpstr (json_object_get_string_member (item, "output"), ==, png);
  g_assert_false (json_object_has_member (item, "face"));

  /* predict's probabilities and class. */
  models[0] = model_a;
  ensemble = mien_ensemble_load (mien_plugin_engine_get_default (), models, mien_device_cpu (),
                                 &error);
  g_assert_no_error (error);
  image = mien_image_load (image_path, &error);
  g_assert_no_error (error);
  g_assert_true (mien_ensemble_predict_pixbuf (ensemble, image, NULL, average, &error));
  g_assert_no_error (error);
  predicted = mien_probabilities_argmax (average, N_CLASSES);
  p = json_object_get_array_member (item, "probabilities");
  for (guint c = 0; c < N_CLASSES; c++)
    g_assert_cmpfloat (json_array_get_double_element (p, c), ==, average[c]);
  g_assert_cmpstr (json_object_get_string_member (item, "predicted"), ==, classes[predicted]);
  g_assert_cmpstr (json_object_get_string_member (item, "class"), ==, classes[predicted]);

  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (item, "members")), ==,
                    1);
  member = json_array_get_object_element (json_object_get_array_member (item, "members"), 0);
  g_assert_cmpstr (json_object_get_string_member (member, "model"), ==, model_a);
  g_assert_cmpstr (json_object_get_string_member (member, "layer"), ==, "layer4");
  g_assert_false (json_object_has_member (member, "output"));
  raw = member_grid (item, 0);
  expected = grad_cam_in_process (model_a, image_path, predicted);
  /* ResNet-18's layer4 at 64 px: a 2 × 2 grid. */
  g_assert_cmpint (mien_tensor_size (raw, 1), ==, 2);
  assert_not_flat (expected);
  assert_tensors (raw, expected, 0);
  map = grid_tensor (json_object_get_object_member (item, "map"));
  g_clear_pointer (&expected, mien_tensor_free);
  expected = upsampled (raw);
  assert_tensors (map, expected, 0);

  assert_overlay_png (png, image_path, map, 0.3);
  g_assert_cmpfloat (json_object_get_double_member (root, "opacity"), ==, 0.3);
}

/* Two models: each member's map and the average, in the JSON and as PNGs. */
static void
test_ensemble (void)
{
  g_autofree char *out = NULL;
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(JsonObject) root = NULL;
  g_autoptr(MienTensor) sum = NULL;
  g_autoptr(MienTensor) map = NULL;
  g_autoptr(GError) error = NULL;
  const char *files[] = { NULL, NULL };
  JsonObject *item;
  JsonArray *members;
  guint class_index;

  ensure_fixtures ();
  files[0] = model_a;
  files[1] = model_b;
  out = scratch_path ("ensemble");
  r = mien_test_cli_run ("explain", "--model", model_a, "--model", model_b, image_path,
                         "--out", out, "--json", "--threads", "1", NULL);
  mien_test_cli_assert_success (r);
  root = mien_test_parse_json_object (r->out);
  item = only_item (root);
  class_index = class_of (json_object_get_string_member (item, "class"));
  members = json_object_get_array_member (item, "members");
  g_assert_cmpuint (json_array_get_length (members), ==, 2);
  for (guint m = 0; m < 2; m++)
    {
      JsonObject *member = json_array_get_object_element (members, m);
      g_autoptr(MienTensor) raw = member_grid (item, m);
      g_autoptr(MienTensor) expected = grad_cam_in_process (files[m], image_path, class_index);
      g_autoptr(MienTensor) scaled = upsampled (raw);
      g_autofree char *name = g_strdup_printf ("photo-model%u.png", m + 1);
      g_autofree char *png = g_build_filename (out, name, NULL);

      g_assert_cmpstr (json_object_get_string_member (member, "model"), ==, files[m]);
      g_assert_cmpstr (json_object_get_string_member (member, "output"), ==, png);
      assert_not_flat (expected);
      assert_tensors (raw, expected, 0);
      assert_overlay_png (png, image_path, scaled, 0.5);
      if (sum == NULL)
        sum = mien_tensor_clone (scaled, &error);
      else
        g_assert_true (mien_nn_replace (&sum, mien_tensor_add (sum, scaled, &error)));
      g_assert_no_error (error);
    }
  g_assert_true (mien_nn_replace (&sum, mien_tensor_mul_scalar (sum, 0.5, &error)));
  map = grid_tensor (json_object_get_object_member (item, "map"));
  assert_tensors (map, sum, 1e-6);
  {
    g_autofree char *png = g_build_filename (out, "photo.png", NULL);

    assert_overlay_png (png, image_path, map, 0.5);
  }
}

/* --class explains the class named, whose map differs from the predicted class's. */
static void
test_class (void)
{
  g_autofree char *out_default = NULL;
  g_autofree char *out_class = NULL;
  g_autoptr(MienTestCliResult) plain = NULL;
  g_autoptr(MienTestCliResult) chosen = NULL;
  g_autoptr(JsonObject) plain_root = NULL;
  g_autoptr(JsonObject) chosen_root = NULL;
  g_autoptr(MienTensor) plain_raw = NULL;
  g_autoptr(MienTensor) chosen_raw = NULL;
  g_autoptr(MienTensor) expected = NULL;
  g_autofree double *a = NULL;
  g_autofree double *b = NULL;
  JsonObject *item;
  guint predicted, other = N_CLASSES;
  gsize n = 0;
  gboolean differ = FALSE;

  ensure_fixtures ();
  out_default = scratch_path ("class-default");
  out_class = scratch_path ("class-chosen");
  plain = mien_test_cli_run ("explain", "--model", model_a, image_path, "--out", out_default,
                             "--json", "--threads", "1", NULL);
  mien_test_cli_assert_success (plain);
  plain_root = mien_test_parse_json_object (plain->out);
  item = only_item (plain_root);
  predicted = class_of (json_object_get_string_member (item, "predicted"));
  plain_raw = member_grid (item, 0);

  /* A class whose evidence lies elsewhere than the predicted one's (a random head can give a
   * class none at all: an all-zero map). */
  for (guint c = 0; c < N_CLASSES && other == N_CLASSES; c++)
    {
      g_autoptr(MienTensor) map = grad_cam_in_process (model_a, image_path, c);
      g_autofree double *v = mien_test_values_of (map, &n);
      g_autofree double *w = mien_test_values_of (plain_raw, &n);

      for (gsize i = 0; c != predicted && i < n; i++)
        if (v[i] != w[i])
          other = c;
    }
  g_assert_cmpuint (other, <, N_CLASSES);

  chosen = mien_test_cli_run ("explain", "--model", model_a, image_path, "--out", out_class,
                              "--json", "--threads", "1", "--class", classes[other], NULL);
  mien_test_cli_assert_success (chosen);
  chosen_root = mien_test_parse_json_object (chosen->out);
  item = only_item (chosen_root);
  g_assert_cmpstr (json_object_get_string_member (item, "class"), ==, classes[other]);
  g_assert_cmpstr (json_object_get_string_member (item, "predicted"), ==, classes[predicted]);
  chosen_raw = member_grid (item, 0);
  expected = grad_cam_in_process (model_a, image_path, other);
  assert_not_flat (expected);
  assert_tensors (chosen_raw, expected, 0);
  a = mien_test_values_of (plain_raw, &n);
  b = mien_test_values_of (chosen_raw, &n);
  for (gsize i = 0; i < n; i++)
    differ = differ || a[i] != b[i];
  g_assert_true (differ);
}

/* Without --json: one line per image on stdout, and the PNGs of several images. */
static void
test_text (void)
{
  g_autofree char *out = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autoptr(MienTestCliResult) r = NULL;

  ensure_fixtures ();
  out = scratch_path ("text/made/here");
  first = g_build_filename (out, "photo.png", NULL);
  second = g_build_filename (out, "second.png", NULL);
  r = mien_test_cli_run ("explain", "--model", model_a, image_path, image2_path, "--out", out,
                         NULL);
  mien_test_cli_assert_success (r);
  g_assert_nonnull (strstr (r->out, first));
  g_assert_nonnull (strstr (r->out, second));
  g_assert_true (g_file_test (first, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (second, G_FILE_TEST_IS_REGULAR));
}

/* How many entries `dir` holds (-1: it does not exist). */
static int
count_entries (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  int n = 0;

  if (d == NULL)
    return -1;
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

/* photos/README.md's face counts. */
static const struct {
  const char *file;
  guint       n_faces;
} shared_photos[] = {
  { "group-selfie.jpg", 6 },
  { "group-six.jpg", 6 },
  { "one-smiling.jpg", 1 },
  { "two-laughing.jpg", 2 },
};

/* --faces on the shared photos with YuNet: one PNG per face, each the face crop with the map. */
static void
test_faces (void)
{
  g_autofree char *shared = mien_test_shared_dir ();
  g_autofree char *yunet = NULL;
  g_autofree char *photos = NULL;
  g_autofree char *out = NULL;
  g_autofree char *blank = NULL;
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(JsonObject) root = NULL;
  JsonArray *explained, *no_face;
  guint total = 0;

  if (shared == NULL)
    return;
  if (mien_plugin_engine_find (mien_plugin_engine_get_default (), "opencv") == NULL)
    {
      g_test_skip ("The opencv plugin is not built (-Dface_detection)");
      return;
    }
  yunet = g_build_filename (shared, "models", "face_detection_yunet_2022mar.onnx", NULL);
  if (!g_file_test (yunet, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("No face_detection_yunet_2022mar.onnx in ../shared/models");
      return;
    }
  ensure_fixtures ();
  photos = g_build_filename (shared, "photos", NULL);
  out = scratch_path ("faces");
  blank = scratch_path ("zz-blank.png");
  {
    g_autoptr(GdkPixbuf) grey = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 64, 48);
    g_autoptr(GError) error = NULL;

    gdk_pixbuf_fill (grey, 0x808080ff);
    g_assert_true (gdk_pixbuf_save (grey, blank, "png", &error, NULL));
    g_assert_no_error (error);
  }
  r = mien_test_cli_run ("explain", "--model", model_a, "--faces", "--detector", "opencv:yunet",
                         "--face-model", yunet, photos, blank, "--out", out, "--json", NULL);
  /* An image without a face is said and listed, not a failure. */
  mien_test_cli_assert_success (r);
  g_assert_nonnull (strstr (r->err, blank));
  root = mien_test_parse_json_object (r->out);
  explained = json_object_get_array_member (root, "explained");
  for (guint i = 0; i < G_N_ELEMENTS (shared_photos); i++)
    {
      g_autofree char *stem = g_strndup (shared_photos[i].file,
                                         strlen (shared_photos[i].file) - strlen (".jpg"));
      g_autofree char *beyond_name = g_strdup_printf ("%s-face%u.png", stem,
                                                      shared_photos[i].n_faces);
      g_autofree char *beyond = g_build_filename (out, beyond_name, NULL);

      for (guint k = 0; k < shared_photos[i].n_faces; k++)
        {
          g_autofree char *name = g_strdup_printf ("%s-face%u.png", stem, k);
          g_autofree char *png = g_build_filename (out, name, NULL);
          g_autoptr(GdkPixbuf) written = NULL;
          g_autoptr(GError) error = NULL;
          JsonObject *item = json_array_get_object_element (explained, total + k);
          JsonArray *crop = json_object_get_array_member (item, "crop");
          int side;

          g_assert_cmpstr (json_object_get_string_member (item, "output"), ==, png);
          g_assert_cmpint (json_object_get_int_member (item, "face"), ==, k);
          g_assert_cmpuint (json_array_get_length (json_object_get_array_member (item, "box")),
                            ==, 4);
          /* The crop at its size in the photo (at least the models'). */
          written = gdk_pixbuf_new_from_file (png, &error);
          g_assert_no_error (error);
          side = MAX (SIZE, (int) lround (json_array_get_double_element (crop, 2)));
          g_assert_cmpint (gdk_pixbuf_get_width (written), ==, side);
          g_assert_cmpint (gdk_pixbuf_get_height (written), ==, side);
        }
      g_assert_false (g_file_test (beyond, G_FILE_TEST_EXISTS));
      total += shared_photos[i].n_faces;
    }
  g_assert_cmpuint (json_array_get_length (explained), ==, total);
  no_face = json_object_get_array_member (root, "no_face");
  g_assert_cmpuint (json_array_get_length (no_face), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (no_face, 0), ==, blank);
  g_assert_cmpint (count_entries (out), ==, total);
}

/* A usage error (exit 2) whose message holds `needle`, with nothing written to `out`. */
static void
assert_usage_error (MienTestCliResult *r,
                    const char        *needle,
                    const char        *out)
{
  if (r->status != 2 || strstr (r->err, needle) == NULL)
    g_error ("expected exit 2 and “%s”, got %d: %s", needle, r->status, r->err);
  g_assert_cmpint (count_entries (out), ==, -1);
}

static void
test_usage_errors (void)
{
  g_autofree char *out = NULL;
  g_autofree char *file = NULL;

  ensure_fixtures ();
  out = scratch_path ("usage");
  file = scratch_path ("not-a-folder");
  mien_test_write_file (file, "x", 1);

  {
    g_autoptr(MienTestCliResult) r = mien_test_cli_run ("explain", "--model", model_a,
                                                        image_path, "--out", out, "--class",
                                                        "angry", NULL);

    assert_usage_error (r, "“angry”", out);
    g_assert_nonnull (strstr (r->err, "neutral, happy, sad"));
  }
  {
    g_autoptr(MienTestCliResult) r = mien_test_cli_run ("explain", "--model", model_a,
                                                        image_path, "--out", out, "--opacity",
                                                        "1.5", NULL);

    assert_usage_error (r, "--opacity", out);
  }
  {
    g_autoptr(MienTestCliResult) r = mien_test_cli_run ("explain", "--model", model_a,
                                                        image_path, "--out", out, "--opacity",
                                                        "-0.1", NULL);

    assert_usage_error (r, "--opacity", out);
  }
  {
    g_autoptr(MienTestCliResult) r = mien_test_cli_run ("explain", "--model", model_a,
                                                        image_path, "--out", file, NULL);

    g_assert_cmpint (r->status, ==, 2);
    g_assert_nonnull (strstr (r->err, file));
    g_assert_nonnull (strstr (r->err, "not a folder"));
  }
  {
    g_autoptr(MienTestCliResult) r = mien_test_cli_run ("explain", "--model", model_a,
                                                        "--out", out, NULL);

    assert_usage_error (r, "give at least one image", out);
  }
  {
    g_autoptr(MienTestCliResult) r = mien_test_cli_run ("explain", "--model", model_a,
                                                        image_path, NULL);

    assert_usage_error (r, "--out DIR", out);
  }
  {
    g_autoptr(MienTestCliResult) r = mien_test_cli_run ("explain", image_path, "--out", out,
                                                        NULL);

    assert_usage_error (r, "--model", out);
  }
  {
    g_autoptr(MienTestCliResult) r = mien_test_cli_run ("explain", "--model", model_a,
                                                        image_path, "--out", out, "--detector",
                                                        "opencv:haar", NULL);

    assert_usage_error (r, "--faces", out);
  }
  {
    /* Two images that would be written under one name. */
    g_autofree char *dir = scratch_path ("same-name");
    g_autofree char *twin = g_build_filename (dir, "photo.jpg", NULL);
    g_autoptr(MienTestCliResult) r = NULL;

    g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
    mien_test_write_file (twin, "x", 1);
    r = mien_test_cli_run ("explain", "--model", model_a, image_path, twin, "--out", out, NULL);
    assert_usage_error (r, twin, out);
  }
}

/* An existing output is never replaced: refused before anything is computed. */
static void
test_existing_output (void)
{
  g_autofree char *out = NULL;
  g_autofree char *png = NULL;
  g_autofree char *other = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(MienTestCliResult) r = NULL;

  ensure_fixtures ();
  out = scratch_path ("existing");
  png = g_build_filename (out, "photo.png", NULL);
  other = g_build_filename (out, "second.png", NULL);
  g_assert_cmpint (g_mkdir_with_parents (out, 0755), ==, 0);
  mien_test_write_file (png, "mine", 4);
  r = mien_test_cli_run ("explain", "--model", model_a, image2_path, image_path, "--out", out,
                         NULL);
  g_assert_cmpint (r->status, ==, 2);
  g_assert_nonnull (strstr (r->err, png));
  g_assert_nonnull (strstr (r->err, "already exists"));
  g_assert_true (g_file_get_contents (png, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "mine");
  g_assert_false (g_file_test (other, G_FILE_TEST_EXISTS));
}

/* An unreadable image is named and the others are still explained; the exit status is 1. */
static void
test_unreadable (void)
{
  g_autofree char *out = NULL;
  g_autofree char *corrupt = NULL;
  g_autofree char *good = NULL;
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(JsonObject) root = NULL;
  JsonArray *failed;

  ensure_fixtures ();
  out = scratch_path ("unreadable");
  corrupt = scratch_path ("corrupt.png");
  good = g_build_filename (out, "photo.png", NULL);
  mien_test_write_file (corrupt, "\x89PNG\r\n\x1a\nnot really", 18);
  r = mien_test_cli_run ("explain", "--model", model_a, corrupt, image_path, "--out", out,
                         "--json", NULL);
  g_assert_cmpint (r->status, ==, 1);
  g_assert_nonnull (strstr (r->err, corrupt));
  g_assert_true (g_file_test (good, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (count_entries (out), ==, 1);
  root = mien_test_parse_json_object (r->out);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "explained")),
                    ==, 1);
  failed = json_object_get_array_member (root, "failed");
  g_assert_cmpuint (json_array_get_length (failed), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (failed, 0),
                                                  "file"), ==, corrupt);
}

/* Models whose classes differ cannot be averaged: refused, naming the file, nothing written. */
static void
test_classes_differ (void)
{
  g_autofree char *out = NULL;
  g_autoptr(MienTestCliResult) r = NULL;

  ensure_fixtures ();
  out = scratch_path ("classes-differ");
  r = mien_test_cli_run ("explain", "--model", model_a, "--model", model_other, image_path,
                         "--out", out, NULL);
  g_assert_cmpint (r->status, ==, 1);
  g_assert_nonnull (strstr (r->err, model_other));
  g_assert_cmpint (count_entries (out), ==, -1);
}

/* A DFT model is explained like any other (both copies' layers; see mien-explain.h). A model
 * whose backbone names no layer (the "toy" test plugin) gives the engine's reason, naming the
 * model, once for two images, and writes nothing. */
static void
test_unsupported (void)
{
  g_autofree char *out = scratch_path ("unsupported");
  g_autofree char *dft_out = scratch_path ("dft");
  g_autofree char *path = scratch_path ("toy.safetensors");
  g_autofree char *dft_path = scratch_path ("dft.safetensors");
  g_autofree char *toy_dir = NULL;
  g_autofree char *old_path = g_strdup (g_getenv ("MIEN_PLUGIN_PATH"));
  g_autofree char *plugin_path = NULL;
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(MienTestCliResult) dft = NULL;
  g_autoptr(MienModel) model = NULL;
  g_autoptr(MienModel) dft_model = NULL;
  g_autoptr(MienTensor) images = NULL;
  g_autoptr(MienTensor) input = NULL;
  g_autoptr(MienTensor) map = NULL;
  g_autoptr(GError) error = NULL;
  MienModelSpec spec;

  ensure_fixtures ();
  spec = mien_test_random_spec ("resnet:18", SIZE, MIEN_MODE_DFT, classes);
  dft_model = mien_model_new (mien_plugin_engine_get_default (), &spec, &error);
  g_assert_no_error (error);
  g_assert_true (mien_model_save (dft_model, dft_path, NULL, NULL, &error));
  g_assert_no_error (error);
  dft = mien_test_cli_run ("explain", "--model", dft_path, image_path, "--out", dft_out, NULL);
  mien_test_cli_assert_success (dft);
  g_assert_cmpint (count_entries (dft_out), ==, 1);

  model = mien_test_toy_model (classes, &toy_dir);
  g_assert_true (mien_model_save (model, path, NULL, NULL, &error));
  g_assert_no_error (error);
  images = image_tensor (image_path);
  input = mien_model_prepare_input (model, images, &error);
  g_assert_no_error (error);
  map = mien_explain_grad_cam (model, input, 0, NULL, &error);
  g_assert_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_UNSUPPORTED);
  g_assert_null (map);

  /* mien-cli finds the fixture plugin beside the real ones. */
  plugin_path = g_strjoin (G_SEARCHPATH_SEPARATOR_S, toy_dir, old_path, NULL);
  g_setenv ("MIEN_PLUGIN_PATH", plugin_path, TRUE);
  r = mien_test_cli_run ("explain", "--model", path, image_path, image2_path, "--out", out,
                         NULL);
  if (old_path != NULL)
    g_setenv ("MIEN_PLUGIN_PATH", old_path, TRUE);
  else
    g_unsetenv ("MIEN_PLUGIN_PATH");
  g_assert_cmpint (r->status, ==, 1);
  g_assert_nonnull (strstr (r->err, path));
  g_assert_nonnull (strstr (r->err, error->message));
  /* Said once, not once per image. */
  g_assert_null (strstr (strstr (r->err, error->message) + 1, error->message));
  g_assert_cmpint (count_entries (out), ==, -1);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  tmp_dir = g_dir_make_tmp ("mien-cli-explain-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_init (&argc, &argv, NULL);
  mien_init ();
  mien_torch_set_num_threads (1);

  g_test_add_func ("/cli-explain/single", test_single);
  g_test_add_func ("/cli-explain/ensemble", test_ensemble);
  g_test_add_func ("/cli-explain/class", test_class);
  g_test_add_func ("/cli-explain/text", test_text);
  g_test_add_func ("/cli-explain/faces", test_faces);
  g_test_add_func ("/cli-explain/usage-errors", test_usage_errors);
  g_test_add_func ("/cli-explain/existing-output", test_existing_output);
  g_test_add_func ("/cli-explain/unreadable", test_unreadable);
  g_test_add_func ("/cli-explain/classes-differ", test_classes_differ);
  g_test_add_func ("/cli-explain/unsupported", test_unsupported);

  status = g_test_run ();
  mien_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  g_free (model_a);
  g_free (model_b);
  g_free (model_other);
  g_free (image_path);
  g_free (image2_path);
  return status;
}
