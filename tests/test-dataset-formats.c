/* test-dataset-formats.c — the FER datasets read as distributed: FER2013's fer2013.csv, FER+'s
 * fer2013new.csv, RAF-DB's list_patition_label.txt, AffectNet's training.csv / validation.csv.
 * Every file is written by the test, a few rows each, with generated pixels.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "mien-dataset.h"
#include "mien-dataset-private.h"
#include "mien-model.h"
#include "mien-test-util.h"
#include "mien-trainer.h"

#define FER_PIXELS (48 * 48)

/* ---- Writing the files ---------------------------------------------------------------------- */

static void
write_text (const char *path,
            const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
}

/* The pixels of generated row `row`: every one different from its neighbours and from the
 * other rows'. */
static guint8
pixel_of (guint row,
          guint i)
{
  return (guint8) ((i * 7 + row * 31 + (i / 48) * 3) % 256);
}

static void
append_pixels (GString *out,
               guint    row)
{
  for (guint i = 0; i < FER_PIXELS; i++)
    g_string_append_printf (out, i == 0 ? "%u" : " %u", pixel_of (row, i));
}

typedef struct {
  guint       emotion;
  const char *usage;
} FerRow;

/* 10 rows: codes 0..6 (anger .. neutral) over the three usages. */
static const FerRow fer_rows[] = {
  { 3, "Training" },    /* happiness */
  { 3, "Training" },
  { 0, "Training" },    /* anger */
  { 6, "Training" },    /* neutral */
  { 4, "PublicTest" },  /* sadness */
  { 3, "PublicTest" },
  { 0, "PublicTest" },
  { 5, "PrivateTest" }, /* surprise */
  { 2, "PrivateTest" }, /* fear */
  { 1, "Training" },    /* disgust */
};

static char *
write_fer2013 (const char *dir)
{
  g_autoptr(GString) text = g_string_new ("emotion,pixels,Usage\r\n");
  char *path = g_build_filename (dir, "fer2013.csv", NULL);

  for (guint r = 0; r < G_N_ELEMENTS (fer_rows); r++)
    {
      g_string_append_printf (text, "%u,", fer_rows[r].emotion);
      append_pixels (text, r);
      g_string_append_printf (text, ",%s\r\n", fer_rows[r].usage);
    }
  write_text (path, text->str);
  return path;
}

static void
assert_counts (MienDataset        *dataset,
               const char * const *classes,
               const guint        *expected)
{
  guint n = mien_dataset_get_n_classes (dataset);
  g_autofree guint *counts = g_new0 (guint, n);

  g_assert_cmpuint (n, ==, g_strv_length ((char **) classes));
  mien_dataset_count (dataset, counts);
  for (guint c = 0; c < n; c++)
    {
      g_assert_cmpstr (mien_dataset_get_classes (dataset)[c], ==, classes[c]);
      g_assert_cmpuint (counts[c], ==, expected[c]);
    }
}

static void
assert_open_fails (const char *path,
                   const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienDataset) dataset = mien_dataset_open (path, NULL, &error);

  g_assert_null (dataset);
  g_assert_nonnull (error);
  if (strstr (error->message, expected) == NULL)
    g_error ("“%s” does not hold “%s”", error->message, expected);
}

/* ---- FER2013 -------------------------------------------------------------------------------- */

static void
test_fer2013 (MienTestScratch *scratch,
              gconstpointer    data)
{
  static const char * const classes[] = {
    "anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise", NULL,
  };
  static const guint all[] = { 2, 1, 1, 3, 1, 1, 1 };
  static const guint train[] = { 1, 1, 0, 2, 1, 0, 0 };
  static const guint val[] = { 1, 0, 0, 1, 0, 1, 0 };
  static const char * const splits[] = { "train", "val", "test", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *path = write_fer2013 (scratch->dir);
  g_autoptr(MienDataset) dataset = mien_dataset_open (path, NULL, &error);
  g_autoptr(MienDataset) train_set = NULL;
  g_autoptr(MienDataset) val_set = NULL;
  g_autoptr(MienDataset) six = NULL;
  g_autofree char *name = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (mien_dataset_get_n_samples (dataset), ==, G_N_ELEMENTS (fer_rows));
  assert_counts (dataset, classes, all);
  g_assert_true (g_strv_equal ((const char * const *) mien_dataset_get_splits (dataset),
                               splits));

  train_set = mien_dataset_select_split (dataset, "train", &error);
  g_assert_no_error (error);
  assert_counts (train_set, classes, train);
  val_set = mien_dataset_open_split (path, "val", NULL, &error);
  g_assert_no_error (error);
  assert_counts (val_set, classes, val);
  g_assert_true (g_strv_equal ((const char * const *) mien_dataset_get_splits (val_set),
                               (const char * const[]) { "val", NULL }));

  /* A sample is named by its file and line (row 5 is on line 6, after the header). */
  name = g_strdup_printf ("%s:%u", path, 6u);
  g_assert_cmpstr (mien_dataset_get_path (val_set, 0), ==, name);
  /* Tight 48-px crops, which the trainer records as the face margin; the split too. */
  g_assert_cmpfloat (mien_dataset_get_face_margin (dataset), ==, MIEN_FACE_MARGIN_TIGHT);
  g_assert_cmpfloat (mien_dataset_get_face_margin (val_set), ==, MIEN_FACE_MARGIN_TIGHT);

  /* The pixels are the row's values, in the three channels. */
  for (guint r = 0; r < G_N_ELEMENTS (fer_rows); r++)
    {
      g_autoptr(GdkPixbuf) pixbuf = mien_dataset_load_pixbuf (dataset, r, &error);
      g_autofree guint8 *decoded = g_malloc (3 * FER_PIXELS);
      MienImageInfo info = { 0, };
      const guint8 *pixels;
      int stride;

      g_assert_no_error (error);
      g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, 48);
      g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), ==, 48);
      pixels = gdk_pixbuf_read_pixels (pixbuf);
      stride = gdk_pixbuf_get_rowstride (pixbuf);
      for (guint i = 0; i < FER_PIXELS; i++)
        for (guint ch = 0; ch < 3; ch++)
          g_assert_cmpuint (pixels[(i / 48) * stride + (i % 48) * 3 + ch], ==, pixel_of (r, i));

      /* At its own size, the network sees the same values (planar CHW). */
      g_assert_true (mien_dataset_decode (dataset, r, 48, FALSE, decoded, &info, &error));
      g_assert_no_error (error);
      g_assert_true (info.is_grey);
      for (guint ch = 0; ch < 3; ch++)
        for (guint i = 0; i < FER_PIXELS; i++)
          g_assert_cmpuint (decoded[ch * FER_PIXELS + i], ==, pixel_of (r, i));
    }

  /* The pages' thumbnails of these samples. */
  {
    g_autoptr(GdkPixbuf) thumbnail = mien_dataset_load_thumbnail (dataset, 0, 24, &error);

    g_assert_no_error (error);
    g_assert_cmpint (gdk_pixbuf_get_width (thumbnail), ==, 24);
    g_assert_cmpint (gdk_pixbuf_get_height (thumbnail), ==, 24);
  }

  /* The six classes of ABAW4, selected as from any dataset; the split keeps its samples. */
  six = mien_dataset_open_split (path, "train",
                                 (const char * const[]) { "anger", "disgust", "fear",
                                                          "happiness", "sadness", "surprise",
                                                          NULL }, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mien_dataset_get_n_samples (six), ==, 4);
  g_assert_null (mien_dataset_select_split (dataset, "holdout", &error));
  g_assert_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_SPLIT);
}

static void
test_fer2013_stats (MienTestScratch *scratch,
                    gconstpointer    data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = write_fer2013 (scratch->dir);
  g_autoptr(MienDataset) dataset = mien_dataset_open (path, NULL, &error);
  g_autoptr(MienDatasetStats) stats = NULL;
  guint64 sum = 0;

  g_assert_no_error (error);
  stats = mien_dataset_compute_stats (dataset, 2, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stats->n_readable, ==, G_N_ELEMENTS (fer_rows));
  g_assert_cmpuint (stats->n_grey, ==, G_N_ELEMENTS (fer_rows));
  g_assert_cmpint (stats->min_width, ==, 48);
  g_assert_cmpint (stats->max_height, ==, 48);
  for (guint r = 0; r < G_N_ELEMENTS (fer_rows); r++)
    for (guint i = 0; i < FER_PIXELS; i++)
      sum += pixel_of (r, i);
  g_assert_cmpfloat_with_epsilon (stats->mean[0],
                                  (double) sum / (G_N_ELEMENTS (fer_rows) * FER_PIXELS) / 255.0,
                                  1e-9);
}

static void
test_fer2013_errors (MienTestScratch *scratch,
                     gconstpointer    data)
{
  g_autofree char *path = g_build_filename (scratch->dir, "fer2013.csv", NULL);
  g_autoptr(GString) good = g_string_new ("emotion,pixels,Usage\n3,");
  const struct {
    const char *row;
    const char *expected;
  } cases[] = {
    { "3,1 2 3,Training", ":3: 3 pixel values where a 48 × 48 image has 2304" },
    { "7,@,Training", ":3: unknown emotion code “7”" },
    { "3,@", ":3: expected 3 fields, as the header row has, found 2" },
    { "3,@,Validation", ":3: unknown Usage “Validation”" },
  };

  append_pixels (good, 0);
  g_string_append (good, ",Training\n");
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr(GString) text = g_string_new (good->str);
      g_autoptr(GString) pixels = g_string_new (NULL);
      g_auto(GStrv) parts = g_strsplit (cases[k].row, "@", -1);
      g_autofree char *row = NULL;
      g_autofree char *expected = g_strconcat (path, cases[k].expected, NULL);

      /* "@" stands for a good row of pixels. */
      append_pixels (pixels, 1);
      row = g_strjoinv (pixels->str, parts);
      g_string_append_printf (text, "%s\n", row);
      write_text (path, text->str);
      assert_open_fails (path, expected);
    }

  /* A value past 255, and one that is not a number, named by position. */
  {
    g_autoptr(GString) text = g_string_new (good->str);
    g_autofree char *expected = g_strconcat (path, ":3: pixel 2 is “256”", NULL);

    g_string_append (text, "0,1 256");
    for (guint i = 2; i < FER_PIXELS; i++)
      g_string_append (text, " 0");
    g_string_append (text, ",Training\n");
    write_text (path, text->str);
    assert_open_fails (path, expected);

    g_string_assign (text, good->str);
    g_string_append (text, "0,1 2 x3,Training\n");
    write_text (path, text->str);
    g_free (expected);
    expected = g_strconcat (path, ":3: pixel 3 is “x3”", NULL);
    assert_open_fails (path, expected);
  }
}

/* ---- FER+ ----------------------------------------------------------------------------------- */

static void
test_ferplus_majority (void)
{
  /* neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF */
  static const struct {
    guint votes[10];
    int   label;
  } cases[] = {
    { { 2, 8, 0, 0, 0, 0, 0, 0, 0, 0 }, 1 },   /* clear majority */
    { { 4, 4, 2, 0, 0, 0, 0, 0, 0, 0 }, -1 },  /* a tie */
    { { 5, 5, 0, 0, 0, 0, 0, 0, 0, 0 }, -1 },  /* half is not a majority */
    { { 0, 4, 0, 0, 0, 0, 0, 0, 6, 0 }, -1 },  /* mostly unknown */
    { { 0, 2, 0, 0, 0, 0, 0, 0, 0, 8 }, -1 },  /* mostly not a face */
    /* Single votes are outliers: without them happiness holds 5 of 5. */
    { { 1, 5, 1, 1, 1, 1, 0, 0, 0, 0 }, 1 },
    { { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, -1 },  /* nothing left */
    { { 0, 0, 0, 0, 0, 0, 0, 6, 0, 4 }, 7 },   /* contempt */
  };

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    g_assert_cmpint (mien_ferplus_majority (cases[k].votes), ==, cases[k].label);
}

static void
test_ferplus (MienTestScratch *scratch,
              gconstpointer    data)
{
  static const char * const classes[] = { "anger", "contempt", "happiness", "neutral", NULL };
  static const guint counts[] = { 1, 1, 2, 1 };
  g_autoptr(GError) error = NULL;
  g_autofree char *fer = write_fer2013 (scratch->dir);
  g_autofree char *path = g_build_filename (scratch->dir, "fer2013new.csv", NULL);
  g_autoptr(MienDataset) dataset = NULL;
  g_autoptr(MienDataset) val_set = NULL;
  GPtrArray *skipped;
  /* One line per fer2013.csv row (the usages must agree with it). */
  const char *text =
    "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
    "Training,fer0000000.png,2,8,0,0,0,0,0,0,0,0\n"      /* happiness */
    "Training,fer0000001.png,4,4,2,0,0,0,0,0,0,0\n"      /* tie: left out */
    "Training,fer0000002.png,1,1,1,1,6,0,0,0,0,0\n"      /* anger (single votes dropped) */
    "Training,fer0000003.png,0,4,0,0,0,0,0,0,6,0\n"      /* mostly unknown: left out */
    "PublicTest,fer0000004.png,9,1,0,0,0,0,0,0,0,0\n"    /* neutral */
    "PublicTest,,10,0,0,0,0,0,0,0,0,0\n"                 /* no name: left out */
    "PublicTest,fer0000006.png,0,0,0,0,0,0,0,7,0,3\n"    /* contempt */
    "PrivateTest,fer0000007.png,0,10,0,0,0,0,0,0,0,0\n"  /* happiness */
    "PrivateTest,fer0000008.png,0,0,0,0,0,0,0,0,0,10\n"  /* not a face: left out */
    "Training,fer0000009.png,3,3,0,0,0,0,0,0,0,4\n";     /* no majority: left out */
  const guint kept_rows[] = { 0, 2, 4, 6, 7 };

  write_text (path, text);
  dataset = mien_dataset_open (path, NULL, &error);
  g_assert_no_error (error);
  assert_counts (dataset, classes, counts);
  g_assert_cmpuint (mien_dataset_get_n_samples (dataset), ==, G_N_ELEMENTS (kept_rows));
  g_assert_cmpfloat (mien_dataset_get_face_margin (dataset), ==, MIEN_FACE_MARGIN_TIGHT);

  /* The pixels of FER+ row i are those of fer2013.csv row i. */
  for (guint k = 0; k < G_N_ELEMENTS (kept_rows); k++)
    {
      g_autoptr(GdkPixbuf) pixbuf = mien_dataset_load_pixbuf (dataset, k, &error);
      const guint8 *pixels;

      g_assert_no_error (error);
      pixels = gdk_pixbuf_read_pixels (pixbuf);
      for (guint i = 0; i < 48; i++)
        g_assert_cmpuint (pixels[i * 3], ==, pixel_of (kept_rows[k], i));
    }

  /* What was left out is counted, by reason. */
  skipped = mien_dataset_get_skipped (dataset);
  g_assert_cmpuint (skipped->len, ==, 2);
  g_assert_nonnull (strstr (g_ptr_array_index (skipped, 0), ": 1 row without an image name"));
  g_assert_nonnull (strstr (g_ptr_array_index (skipped, 1),
                            ": 4 images without a majority label"));

  val_set = mien_dataset_select_split (dataset, "val", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mien_dataset_get_n_samples (val_set), ==, 2);
}

static void
test_ferplus_errors (MienTestScratch *scratch,
                     gconstpointer    data)
{
  g_autofree char *path = g_build_filename (scratch->dir, "fer2013new.csv", NULL);
  g_autofree char *fer = NULL;
  g_autofree char *expected = NULL;
  const char *header =
    "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n";
  g_autofree char *one = g_strconcat (header, "Training,a.png,0,10,0,0,0,0,0,0,0,0\n", NULL);

  /* Without fer2013.csv there are no pixels. */
  write_text (path, one);
  assert_open_fails (path, "put fer2013.csv beside it");

  /* Usages that disagree: the files do not belong together. */
  fer = write_fer2013 (scratch->dir);
  {
    g_autoptr(GString) text = g_string_new (header);

    for (guint r = 0; r < G_N_ELEMENTS (fer_rows); r++)
      g_string_append_printf (text, "%s,a.png,0,10,0,0,0,0,0,0,0,0\n",
                              r == 4 ? "Training" : fer_rows[r].usage);
    write_text (path, text->str);
    expected = g_strconcat (path, ":6: Usage “Training” differs from row 5", NULL);
    assert_open_fails (path, expected);
  }
  /* Fewer rows than fer2013.csv. */
  write_text (path, one);
  assert_open_fails (path, "has 1 rows but");
  /* A vote that is not a count. */
  {
    g_autofree char *text = g_strconcat (header, "Training,a.png,0,ten,0,0,0,0,0,0,0,0\n", NULL);

    write_text (path, text);
    g_free (expected);
    expected = g_strconcat (path, ":2: the happiness votes “ten” are not a count", NULL);
    assert_open_fails (path, expected);
  }
}

/* ---- RAF-DB --------------------------------------------------------------------------------- */

static void
save_image (const char *path,
            const char *type,
            int         width,
            int         height,
            guint32     rgb)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  gdk_pixbuf_fill (pixbuf, rgb << 8 | 0xff);
  g_assert_true (gdk_pixbuf_save (pixbuf, path, type, &error, NULL));
  g_assert_no_error (error);
}

static void
test_rafdb (MienTestScratch *scratch,
            gconstpointer    data)
{
  static const char * const names[] = {
    "train_00001", "train_00002", "train_00003", "test_0001", "test_0002",
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *root = g_build_filename (scratch->dir, "RAF-DB", "basic", NULL);
  g_autofree char *list = g_build_filename (root, "EmoLabel", "list_patition_label.txt", NULL);
  g_autofree char *missing = g_build_filename (root, "Image", "aligned",
                                               "train_00004_aligned.jpg", NULL);
  g_autoptr(MienDataset) dataset = NULL;
  g_autoptr(MienDataset) from_folder = NULL;
  g_autoptr(MienDataset) test_set = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  GPtrArray *skipped;

  for (guint k = 0; k < G_N_ELEMENTS (names); k++)
    {
      g_autofree char *file = g_strconcat (names[k], "_aligned.jpg", NULL);
      g_autofree char *image = g_build_filename (root, "Image", "aligned", file, NULL);

      save_image (image, "jpeg", 20, 20, 0x808080);
    }
  /* labels 1..7 = surprise, fear, disgust, happiness, sadness, anger, neutral; train_00004's
   * image is missing. */
  write_text (list, "train_00001.jpg 1\ntrain_00002.jpg 2\ntrain_00003.jpg  4\n"
                    "train_00004.jpg 5\ntest_0001.jpg 6\r\ntest_0002.jpg 7\n\n");
  dataset = mien_dataset_open (list, NULL, &error);
  g_assert_no_error (error);
  /* sadness's only image is missing: the class is not there. */
  assert_counts (dataset,
                 (const char * const[]) { "anger", "fear", "happiness", "neutral", "surprise",
                                          NULL },
                 (const guint[]) { 1, 1, 1, 1, 1 });
  g_assert_true (g_strv_equal ((const char * const *) mien_dataset_get_splits (dataset),
                               (const char * const[]) { "train", "test", NULL }));
  skipped = mien_dataset_get_skipped (dataset);
  g_assert_cmpuint (skipped->len, ==, 1);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (skipped, 0), missing));
  g_assert_nonnull (strstr (g_ptr_array_index (skipped, 0), "list_patition_label.txt:4"));

  test_set = mien_dataset_select_split (dataset, "test", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mien_dataset_get_n_samples (test_set), ==, 2);
  g_assert_cmpstr (mien_dataset_get_classes (test_set)[mien_dataset_get_label (test_set, 0)], ==,
                   "anger");
  pixbuf = mien_dataset_load_thumbnail (test_set, 1, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, 10);

  /* The folder holding EmoLabel/ opens the same dataset. */
  from_folder = mien_dataset_open (root, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mien_dataset_get_n_samples (from_folder), ==, 5);
  /* Aligned images framed loosely, as portraits: no margin is implied. */
  g_assert_true (isnan (mien_dataset_get_face_margin (dataset)));
  g_assert_true (isnan (mien_dataset_get_face_margin (from_folder)));
  /* Nor by a plain folder of class folders. */
  {
    g_autofree char *plain = g_build_filename (scratch->dir, "plain", NULL);
    g_autofree char *a = g_build_filename (plain, "happiness", "a.png", NULL);
    g_autofree char *b = g_build_filename (plain, "neutral", "b.png", NULL);
    g_autoptr(MienDataset) folder = NULL;

    save_image (a, "png", 8, 8, 0x808080);
    save_image (b, "png", 8, 8, 0x404040);
    folder = mien_dataset_open (plain, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (isnan (mien_dataset_get_face_margin (folder)));
  }

  /* Bad labels and names, by line. */
  write_text (list, "train_00001.jpg 1\ntrain_00002.jpg 8\n");
  assert_open_fails (list, "list_patition_label.txt:2: unknown label “8”");
  write_text (list, "train_00001.jpg 0\n");
  assert_open_fails (list, "list_patition_label.txt:1: unknown label “0”");
  write_text (list, "train_00001.jpg\n");
  assert_open_fails (list, "list_patition_label.txt:1: expected an image name and a label");
  write_text (list, "val_00001.jpg 3\n");
  assert_open_fails (list, "list_patition_label.txt:1: “val_00001.jpg” starts with neither");
}

/* ---- AffectNet ------------------------------------------------------------------------------ */

static void
test_affectnet (MienTestScratch *scratch,
                gconstpointer    data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *images = g_build_filename (scratch->dir, "Manually_Annotated_Images", NULL);
  g_autofree char *sub = g_build_filename (images, "689", NULL);
  g_autofree char *photo = g_build_filename (sub, "face.png", NULL);
  g_autofree char *other = g_build_filename (sub, "other.png", NULL);
  g_autofree char *csv = g_build_filename (scratch->dir, "validation.csv", NULL);
  g_autoptr(GdkPixbuf) full = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 40, 30);
  g_autoptr(MienDataset) dataset = NULL;
  g_autoptr(GdkPixbuf) face = NULL;
  guint8 decoded[3 * 4 * 4];
  GPtrArray *skipped;
  const char *header = "subDirectory_filePath,face_x,face_y,face_width,face_height,"
                       "facial_landmarks,expression,valence,arousal\n";
  g_autofree char *text = NULL;

  /* Black, with a distinctive 12 × 8 box at (10, 5) and a bright border around it. */
  gdk_pixbuf_fill (full, 0x000000ff);
  {
    g_autoptr(GdkPixbuf) ring = gdk_pixbuf_new_subpixbuf (full, 9, 4, 14, 10);
    g_autoptr(GdkPixbuf) box = gdk_pixbuf_new_subpixbuf (full, 10, 5, 12, 8);

    gdk_pixbuf_fill (ring, 0xffffffff);
    gdk_pixbuf_fill (box, 0xc83264ff);
  }
  g_assert_cmpint (g_mkdir_with_parents (sub, 0755), ==, 0);
  g_assert_true (gdk_pixbuf_save (full, photo, "png", &error, NULL));
  save_image (other, "png", 8, 8, 0x102030);

  text = g_strconcat (header,
                      "689/face.png,10,5,12,8,\"1.0;2.0\",6,-0.5,0.4\n"    /* anger */
                      "689/other.png,0,0,8,8,,0,0.1,0.1\n"                 /* neutral */
                      "689/other.png,0,0,8,8,,9,0,0\n"                     /* uncertain */
                      "689/other.png,0,0,8,8,,10,0,0\n"                    /* no face */
                      "689/gone.png,0,0,8,8,,1,0,0\n"                      /* missing */
                      "689/face.png,100,100,5,5,,3,0,0\n",                 /* box outside */
                      NULL);
  write_text (csv, text);
  dataset = mien_dataset_open (csv, NULL, &error);
  g_assert_no_error (error);
  assert_counts (dataset, (const char * const[]) { "anger", "neutral", "surprise", NULL },
                 (const guint[]) { 1, 1, 1 });
  g_assert_true (g_strv_equal ((const char * const *) mien_dataset_get_splits (dataset),
                               (const char * const[]) { "val", NULL }));
  g_assert_cmpstr (mien_dataset_get_path (dataset, 0), ==, photo);
  /* Cropped to the annotated box: as tight as FER2013's crops. */
  g_assert_cmpfloat (mien_dataset_get_face_margin (dataset), ==, MIEN_FACE_MARGIN_TIGHT);
  skipped = mien_dataset_get_skipped (dataset);
  g_assert_cmpuint (skipped->len, ==, 2);
  g_assert_nonnull (strstr (g_ptr_array_index (skipped, 0), "gone.png: no such file"));
  g_assert_nonnull (strstr (g_ptr_array_index (skipped, 1), ": 2 rows coded none, uncertain"));

  /* The crop is the box: 12 × 8 of its colour, none of the border. */
  face = mien_dataset_load_pixbuf (dataset, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (face), ==, 12);
  g_assert_cmpint (gdk_pixbuf_get_height (face), ==, 8);
  g_assert_true (mien_dataset_decode (dataset, 0, 4, FALSE, decoded, NULL, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 16; i++)
    {
      g_assert_cmpuint (decoded[i], ==, 0xc8);
      g_assert_cmpuint (decoded[16 + i], ==, 0x32);
      g_assert_cmpuint (decoded[32 + i], ==, 0x64);
    }
  /* A box outside the image is that sample's error, named. */
  g_assert_false (mien_dataset_decode (dataset, 2, 4, FALSE, decoded, NULL, &error));
  g_assert_nonnull (strstr (error->message, "face.png: the face box (x 100, y 100, 5 × 5) lies "
                                            "outside the 40 × 30 image"));
  g_clear_error (&error);

  /* Malformed rows, by line. */
  g_free (text);
  text = g_strconcat (header, "689/face.png,10,5,12,8,,11,0,0\n", NULL);
  write_text (csv, text);
  assert_open_fails (csv, "validation.csv:2: unknown expression code “11”");
  g_free (text);
  text = g_strconcat (header, "689/face.png,10,5,0,8,,1,0,0\n", NULL);
  write_text (csv, text);
  assert_open_fails (csv, "validation.csv:2: the face box (10, 5, 0, 8)");
  g_free (text);
  text = g_strconcat (header, "689/face.png,10,5,12,8,1,0,0\n", NULL);
  write_text (csv, text);
  assert_open_fails (csv, "validation.csv:2: expected 9 fields, as the header row has, found 8");
}

/* Each format's file is bounded, as manifests are: a sparse file past the bound is refused at
 * once, by its size, after the header told what it is. */
static void
test_huge (MienTestScratch *scratch,
           gconstpointer    data)
{
  static const char * const headers[] = {
    "emotion,pixels,Usage\n",
    "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n",
    "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression\n",
  };
  g_autofree char *path = g_build_filename (scratch->dir, "big.csv", NULL);

  for (guint k = 0; k < G_N_ELEMENTS (headers); k++)
    {
      FILE *file;

      write_text (path, headers[k]);
      file = fopen (path, "r+");
      g_assert_nonnull (file);
      g_assert_cmpint (ftruncate (fileno (file), MIEN_DATASET_MAX_TABLE_BYTES + 1), ==, 0);
      fclose (file);
      assert_open_fails (path, "too large");
    }
}

/* ---- Training and the command line ---------------------------------------------------------- */

static void
test_train_config_split (MienTestScratch *scratch,
                         gconstpointer    data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = write_fer2013 (scratch->dir);
  g_autoptr(MienTrainConfig) config = mien_train_config_new ();
  g_autoptr(MienTrainConfig) reread = NULL;
  g_autoptr(MienDataset) train = NULL;
  g_autoptr(MienDataset) val = NULL;
  g_autoptr(JsonNode) node = NULL;

  config->data = g_strdup (path);
  config->out = g_build_filename (scratch->dir, "run", NULL);

  /* By default: the Training rows, validated on PublicTest. */
  g_assert_true (mien_train_config_open_datasets (config, &train, &val, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (mien_dataset_get_n_samples (train), ==, 5);
  g_assert_cmpuint (mien_dataset_get_n_samples (val), ==, 3);
  g_assert_true (g_strv_equal ((const char * const *) mien_dataset_get_splits (val),
                               (const char * const[]) { "val", NULL }));
  g_clear_object (&train);
  g_clear_object (&val);

  /* Another split trains, still validated on PublicTest; it survives config.json. */
  config->split = g_strdup ("test");
  g_assert_true (mien_train_config_validate (config, &error));
  node = mien_train_config_to_json (config);
  reread = mien_train_config_from_json (json_node_get_object (node), "config.json", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reread->split, ==, "test");
  g_assert_true (mien_train_config_open_datasets (reread, &train, &val, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (mien_dataset_get_n_samples (train), ==, 2);
  g_assert_cmpuint (mien_dataset_get_n_samples (val), ==, 3);

  /* A config written before splits loads, without one. */
  json_object_remove_member (json_node_get_object (node), "split");
  g_clear_pointer (&reread, mien_train_config_free);
  reread = mien_train_config_from_json (json_node_get_object (node), "config.json", &error);
  g_assert_no_error (error);
  g_assert_null (reread->split);

  g_free (config->split);
  config->split = g_strdup ("holdout");
  g_assert_false (mien_train_config_validate (config, &error));
  g_assert_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_SPLIT);
}

static void
test_cli_split (MienTestScratch *scratch,
                      gconstpointer    data)
{
  g_autofree char *path = write_fer2013 (scratch->dir);
  g_autoptr(MienTestCliResult) result = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root;
  JsonArray *counts;

  result = mien_test_cli_run ("stats", path, "--split", "val", "--json", NULL);
  mien_test_cli_assert_success (result);
  g_assert_true (json_parser_load_from_data (parser, result->out, -1, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (root, "n_images"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (root, "n_grey"), ==, 3);
  counts = json_object_get_array_member (root, "counts");
  g_assert_cmpuint (json_array_get_length (counts), ==, 7);
  g_assert_cmpint (json_array_get_int_element (counts, 0), ==, 1);  /* anger */
  g_assert_cmpint (json_array_get_int_element (counts, 3), ==, 1);  /* happiness */
  g_assert_cmpint (json_array_get_int_element (counts, 5), ==, 1);  /* sadness */

  /* A split that no file has is a usage error, for every command that takes one. */
  {
    g_autofree char *run = g_build_filename (scratch->dir, "run", NULL);
    const char * const commands[][8] = {
      { "stats", path, "--split", "holdout", NULL },
      { "train", "--data", path, "--split", "holdout", "--out", run, NULL },
      { "eval", "--data", path, "--split", "holdout", "--model", run, NULL },
    };

    for (guint k = 0; k < G_N_ELEMENTS (commands); k++)
      {
        const char * const *c = commands[k];

        g_clear_pointer (&result, mien_test_cli_result_free);
        result = mien_test_cli_run (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], NULL);
        g_assert_cmpint (result->status, ==, 2);
        g_assert_nonnull (strstr (result->err, "Unknown split “holdout”"));
        g_assert_false (g_file_test (run, G_FILE_TEST_EXISTS));
      }
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define SCRATCH_TEST(path, func) \
  g_test_add (path, MienTestScratch, NULL, mien_test_scratch_set_up, func, \
              mien_test_scratch_tear_down)
  SCRATCH_TEST ("/dataset-formats/fer2013", test_fer2013);
  SCRATCH_TEST ("/dataset-formats/fer2013/stats", test_fer2013_stats);
  SCRATCH_TEST ("/dataset-formats/fer2013/errors", test_fer2013_errors);
  g_test_add_func ("/dataset-formats/ferplus/majority", test_ferplus_majority);
  SCRATCH_TEST ("/dataset-formats/ferplus", test_ferplus);
  SCRATCH_TEST ("/dataset-formats/ferplus/errors", test_ferplus_errors);
  SCRATCH_TEST ("/dataset-formats/rafdb", test_rafdb);
  SCRATCH_TEST ("/dataset-formats/affectnet", test_affectnet);
  SCRATCH_TEST ("/dataset-formats/huge", test_huge);
  SCRATCH_TEST ("/dataset-formats/train-config-split", test_train_config_split);
  SCRATCH_TEST ("/dataset-formats/cli-split", test_cli_split);
  return g_test_run ();
}
