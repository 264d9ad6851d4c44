/* test-dataset.c — datasets: folder and CSV layouts, class selection, splits, statistics,
 * class weights and epoch plans. Every image is written by the test itself.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "mien-dataset.h"
#include "mien-image.h"
#include "mien-test-util.h"

/* ---- Helpers ----------------------------------------------------------------------------- */

typedef MienTestScratch Fixture;

/* Writes a solid-colour PNG at DIR/SUB/NAME (SUB may be NULL) and returns its path. */
static char *
write_solid (const char *dir,
             const char *sub,
             const char *name,
             int         width,
             int         height,
             guint8      r,
             guint8      g,
             guint8      b)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  g_autofree char *folder = sub != NULL ? g_build_filename (dir, sub, NULL) : g_strdup (dir);
  char *path = g_build_filename (folder, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  gdk_pixbuf_fill (pixbuf, ((guint32) r << 24) | ((guint32) g << 16) | ((guint32) b << 8) | 0xff);
  g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
  g_assert_no_error (error);
  return path;
}

static void
write_text (const char *path,
            const char *text)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
}

/* Three classes of sizes 2, 3 and 1 ("anger", "fear", "happiness"), plus things to skip. */
static char *
make_folder_dataset (const char *dir)
{
  char *root = g_build_filename (dir, "faces", NULL);
  g_autofree char *skip = NULL;

  g_free (write_solid (root, "fear", "b.png", 4, 4, 0, 0, 255));
  g_free (write_solid (root, "fear", "a.PNG", 4, 4, 0, 0, 255));
  g_free (write_solid (root, "fear", "c.png", 4, 4, 0, 0, 255));
  g_free (write_solid (root, "anger", "2.png", 4, 4, 255, 0, 0));
  g_free (write_solid (root, "anger", "1.png", 4, 4, 255, 0, 0));
  g_free (write_solid (root, "happiness", "x.png", 4, 4, 0, 255, 0));
  /* Hidden files, non-images and hidden folders are not part of the dataset. */
  g_free (write_solid (root, "anger", ".hidden.png", 4, 4, 0, 0, 0));
  g_free (write_solid (root, ".thumbnails", "t.png", 4, 4, 0, 0, 0));
  skip = g_build_filename (root, "anger", "notes.txt", NULL);
  write_text (skip, "not an image");
  return root;
}

static MienDataset *
open_ok (const char         *path,
         const char * const *classes)
{
  g_autoptr(GError) error = NULL;
  MienDataset *dataset = mien_dataset_open (path, classes, &error);

  g_assert_no_error (error);
  g_assert_nonnull (dataset);
  return dataset;
}

static void
assert_open_fails (const char         *path,
                   const char * const *classes,
                   int                 code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienDataset) dataset = mien_dataset_open (path, classes, &error);

  g_assert_null (dataset);
  g_assert_error (error, MIEN_DATASET_ERROR, code);
}

static const char *
base (MienDataset *dataset,
      guint        index)
{
  return strrchr (mien_dataset_get_path (dataset, index), '/') + 1;
}

/* ---- Layouts ----------------------------------------------------------------------------- */

static void
test_folder (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *root = make_folder_dataset (fixture->dir);
  g_autoptr(MienDataset) dataset = open_ok (root, NULL);
  const char * const *classes = mien_dataset_get_classes (dataset);
  guint counts[3];

  g_assert_cmpstr (mien_dataset_get_source (dataset), ==, root);
  g_assert_cmpuint (mien_dataset_get_n_classes (dataset), ==, 3);
  g_assert_cmpstr (classes[0], ==, "anger");
  g_assert_cmpstr (classes[1], ==, "fear");
  g_assert_cmpstr (classes[2], ==, "happiness");
  g_assert_null (classes[3]);
  g_assert_cmpuint (mien_dataset_get_n_samples (dataset), ==, 6);

  /* Classes in order, files by name (byte order: upper case first). */
  g_assert_cmpstr (base (dataset, 0), ==, "1.png");
  g_assert_cmpstr (base (dataset, 1), ==, "2.png");
  g_assert_cmpstr (base (dataset, 2), ==, "a.PNG");
  g_assert_cmpstr (base (dataset, 3), ==, "b.png");
  g_assert_cmpstr (base (dataset, 4), ==, "c.png");
  g_assert_cmpstr (base (dataset, 5), ==, "x.png");
  g_assert_true (g_path_is_absolute (mien_dataset_get_path (dataset, 0)));
  g_assert_cmpuint (mien_dataset_get_label (dataset, 0), ==, 0);
  g_assert_cmpuint (mien_dataset_get_label (dataset, 4), ==, 1);
  g_assert_cmpuint (mien_dataset_get_label (dataset, 5), ==, 2);

  mien_dataset_count (dataset, counts);
  g_assert_cmpuint (counts[0], ==, 2);
  g_assert_cmpuint (counts[1], ==, 3);
  g_assert_cmpuint (counts[2], ==, 1);

  /* What was left out is said, with why; hidden files are not worth a word. */
  {
    GPtrArray *skipped = mien_dataset_get_skipped (dataset);
    g_autofree char *notes = g_build_filename (root, "anger", "notes.txt", NULL);

    g_assert_cmpuint (skipped->len, ==, 1);
    g_assert_true (g_str_has_prefix (g_ptr_array_index (skipped, 0), notes));
    g_assert_nonnull (strstr (g_ptr_array_index (skipped, 0), "not an image file name"));
  }
}

static void
test_csv (Fixture       *fixture,
          gconstpointer  data)
{
  g_autofree char *img_a = write_solid (fixture->dir, "imgs", "a, with comma.png", 2, 2, 1, 2, 3);
  g_autofree char *img_b = write_solid (fixture->dir, "imgs", "b.png", 2, 2, 1, 2, 3);
  g_autofree char *img_c = write_solid (fixture->dir, NULL, "c.png", 2, 2, 1, 2, 3);
  g_autofree char *csv = g_build_filename (fixture->dir, "list.csv", NULL);
  g_autofree char *text = NULL;
  g_autoptr(MienDataset) dataset = NULL;
  const char * const *classes;

  /* Header, CRLF, a quoted path with a comma and a doubled quote-free field, a blank line, an
   * absolute path, relative paths. */
  text = g_strdup_printf ("path,label\r\n"
                          "\"imgs/a, with comma.png\",sad\r\n"
                          "\r\n"
                          "imgs/b.png,happy\n"
                          "\n"
                          "\"%s\",\"sad\"\n"
                          "./c.png, happy\n",
                          img_c);
  write_text (csv, text);

  dataset = open_ok (csv, NULL);
  classes = mien_dataset_get_classes (dataset);
  g_assert_cmpuint (mien_dataset_get_n_classes (dataset), ==, 2);
  g_assert_cmpstr (classes[0], ==, "happy");
  g_assert_cmpstr (classes[1], ==, "sad");
  g_assert_cmpuint (mien_dataset_get_n_samples (dataset), ==, 4);
  /* Manifest order, paths made absolute against the CSV's folder. */
  g_assert_cmpstr (mien_dataset_get_path (dataset, 0), ==, img_a);
  g_assert_cmpuint (mien_dataset_get_label (dataset, 0), ==, 1);
  g_assert_cmpstr (mien_dataset_get_path (dataset, 1), ==, img_b);
  g_assert_cmpuint (mien_dataset_get_label (dataset, 1), ==, 0);
  g_assert_cmpstr (mien_dataset_get_path (dataset, 2), ==, img_c);
  g_assert_cmpuint (mien_dataset_get_label (dataset, 2), ==, 1);
  g_assert_cmpstr (mien_dataset_get_path (dataset, 3), ==, img_c);
  g_assert_cmpuint (mien_dataset_get_label (dataset, 3), ==, 0);
  g_assert_cmpstr (mien_dataset_get_source (dataset), ==, csv);

  /* Without a header, and with a class selection leaving rows out. */
  {
    const char *only[] = { "sad", "happy", NULL };
    g_autoptr(MienDataset) d2 = NULL;

    write_text (csv, "imgs/b.png,happy\nc.png,sad\nc.png,neutral\n");
    d2 = open_ok (csv, only);
    g_assert_cmpuint (mien_dataset_get_n_samples (d2), ==, 2);
    g_assert_cmpuint (mien_dataset_get_label (d2, 0), ==, 1);
    g_assert_cmpuint (mien_dataset_get_label (d2, 1), ==, 0);
  }
}

static void
assert_csv_error (const char *csv,
                  const char *text,
                  guint       line)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienDataset) dataset = NULL;
  g_autofree char *where = g_strdup_printf ("%s:%u", csv, line);

  write_text (csv, text);
  dataset = mien_dataset_open (csv, NULL, &error);
  g_assert_null (dataset);
  g_assert_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CSV);
  if (strstr (error->message, where) == NULL)
    g_error ("“%s” does not name %s", error->message, where);
}

static void
test_csv_errors (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *csv = g_build_filename (fixture->dir, "bad.csv", NULL);

  assert_csv_error (csv, "path,label\na.png,x\n\nb.png,y,z\n", 4);
  assert_csv_error (csv, "a.png,x\nb.png\n", 2);
  assert_csv_error (csv, "a.png,x\n\"b.png,y\n", 2);
  assert_csv_error (csv, "a.png,x\n,y\n", 2);
  assert_csv_error (csv, "a.png,x\n\"b\"c.png,y\n", 2);
  /* A quoted field spanning lines moves the line count on. */
  assert_csv_error (csv, "\"a\nb.png\",x\nc.png\n", 3);

  /* Binary junk is not a manifest at all. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(MienDataset) dataset = NULL;
    g_autofree char *png = write_solid (fixture->dir, NULL, "lonely.png", 2, 2, 0, 0, 0);

    dataset = mien_dataset_open (png, NULL, &error);
    g_assert_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_LAYOUT);
  }
}

/* Spreadsheet manifests: a byte-order mark, CRLF, a "label,path" header in any case (which is
 * no sample and sets the column order), quoted fields holding commas and doubled quotes. */
static void
test_csv_quirks (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *img_a = write_solid (fixture->dir, NULL, "a, \"quoted\".png", 2, 2, 1, 2, 3);
  g_autofree char *img_b = write_solid (fixture->dir, NULL, "b.png", 2, 2, 1, 2, 3);
  g_autofree char *csv = g_build_filename (fixture->dir, "list.csv", NULL);
  const char *headers[] = { "label,path", "LABEL,Path", "Path,Label" };

  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      gboolean label_first = g_ascii_strncasecmp (headers[i], "label", 5) == 0;
      g_autofree char *text = NULL;
      g_autoptr(MienDataset) dataset = NULL;
      const char * const *classes;

      text = label_first
        ? g_strdup_printf ("\xEF\xBB\xBF%s\r\n\"sad, very\",\"a, \"\"quoted\"\".png\"\r\n"
                           "happy,b.png\r\n", headers[i])
        : g_strdup_printf ("\xEF\xBB\xBF%s\r\n\"a, \"\"quoted\"\".png\",\"sad, very\"\r\n"
                           "b.png,happy\r\n", headers[i]);
      write_text (csv, text);
      dataset = open_ok (csv, NULL);
      classes = mien_dataset_get_classes (dataset);
      g_assert_cmpuint (mien_dataset_get_n_samples (dataset), ==, 2);
      g_assert_cmpuint (mien_dataset_get_n_classes (dataset), ==, 2);
      g_assert_cmpstr (classes[0], ==, "happy");
      g_assert_cmpstr (classes[1], ==, "sad, very");
      g_assert_cmpstr (mien_dataset_get_path (dataset, 0), ==, img_a);
      g_assert_cmpuint (mien_dataset_get_label (dataset, 0), ==, 1);
      g_assert_cmpstr (mien_dataset_get_path (dataset, 1), ==, img_b);
      g_assert_cmpuint (mien_dataset_get_label (dataset, 1), ==, 0);
    }

  /* A first row naming a column is meant as a header: one it cannot read is an error, not a
   * sample of class "label". */
  assert_csv_error (csv, "path,emotion\na.png,x\nb.png,y\n", 1);
  assert_csv_error (csv, "\xEF\xBB\xBFlabel,file\r\nx,a.png\r\ny,b.png\r\n", 1);
}

/* A class name with a control character, a line break, an escape sequence or a path separator
 * is refused with the file and line, and shown escaped: it would otherwise rewrite the tables
 * and logs it is printed in. */
static void
test_csv_class_names (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *csv = g_build_filename (fixture->dir, "names.csv", NULL);
  const struct {
    const char *label;
    const char *shown;
  } bad[] = {
    { "\"hap\npy\"", "hap\\x0Apy" },
    { "\"hap\r\npy\"", "hap\\x0D\\x0Apy" },
    { "\x1b[31mred", "\\x1B[31mred" },
    { "tab\there", "tab\\x09here" },
    { "del\x7f", "del\\x7F" },
    { "csi\xc2\x9b" "2J", "csi\\u009B2J" },
    { "evil\xe2\x80\xae" "txt", "evil\\u202Etxt" },
    { "line\xe2\x80\xa8sep", "line\\u2028sep" },
    { "..", ".." },
    { ".", "." },
    { "a/b", "a/b" },
    { "\"\"", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *text = g_strdup_printf ("path,label\na.png,happy\nb.png,%s\n",
                                               bad[i].label);
      g_autofree char *where = g_strdup_printf ("%s:3: ", csv);
      g_autoptr(GError) error = NULL;
      g_autoptr(MienDataset) dataset = NULL;

      write_text (csv, text);
      dataset = mien_dataset_open (csv, NULL, &error);
      g_assert_null (dataset);
      g_assert_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CLASSES);
      g_assert_true (g_str_has_prefix (error->message, where));
      if (bad[i].shown != NULL)
        g_assert_nonnull (strstr (error->message, bad[i].shown));
      /* Nothing in the message can move the cursor or break the line. */
      for (const char *p = error->message; *p != '\0'; p = g_utf8_next_char (p))
        g_assert_false (g_unichar_iscntrl (g_utf8_get_char (p)));
    }

  /* Non-ASCII names that are just text stay allowed. */
  write_text (csv, "a.png,joie\nb.png,\xe6\x84\xa4\xe6\x80\x92\nc.png,\"sad, very\"\n");
  {
    g_autoptr(MienDataset) dataset = open_ok (csv, NULL);

    g_assert_cmpuint (mien_dataset_get_n_classes (dataset), ==, 3);
  }

  /* A NUL byte names its line. */
  {
    static const char nul[] = "a.png,x\nb.png,y\0z\n";
    g_autoptr(GError) error = NULL;
    g_autoptr(MienDataset) dataset = NULL;
    g_autofree char *where = g_strdup_printf ("%s:2: ", csv);

    g_assert_true (g_file_set_contents (csv, nul, sizeof nul - 1, &error));
    dataset = mien_dataset_open (csv, NULL, &error);
    g_assert_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_LAYOUT);
    g_assert_true (g_str_has_prefix (error->message, where));
  }

  /* The same rule for a class list given by the user. */
  {
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) list = mien_dataset_parse_class_list ("happy,\x1b[2Jsad", &error);

    g_assert_null (list);
    g_assert_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CLASSES);
    g_assert_nonnull (strstr (error->message, "\\x1B[2Jsad"));
  }
}

/* Class folders follow the same rule as labels. */
static void
test_folder_class_names (Fixture       *fixture,
                         gconstpointer  data)
{
  const char *bad[] = { "new\nline", "\x1b[2J", "bell\a" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *root = g_build_filename (fixture->dir, "faces", NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(MienDataset) dataset = NULL;

      g_free (write_solid (root, "happy", "a.png", 2, 2, 0, 0, 0));
      g_free (write_solid (root, bad[i], "b.png", 2, 2, 0, 0, 0));
      dataset = mien_dataset_open (root, NULL, &error);
      g_assert_null (dataset);
      g_assert_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CLASSES);
      g_assert_true (g_str_has_prefix (error->message, root));
      for (const char *p = error->message; *p != '\0'; p++)
        g_assert_false (g_ascii_iscntrl (*p));
      mien_test_remove_tree (root);
    }
}

/* A FIFO, a device or an endless file named as a dataset fails at once, saying what it is; a
 * manifest is read only up to its limit. A watchdog fails a test that blocks. */
static void
test_special_files (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *fifo = g_build_filename (fixture->dir, "list.csv", NULL);
  g_autofree char *huge = g_build_filename (fixture->dir, "huge.csv", NULL);
  g_autofree char *loop = g_build_filename (fixture->dir, "loop.csv", NULL);
  const struct {
    const char *path;
    const char *says;
  } cases[] = {
    { fifo, "FIFO" },
    { "/dev/zero", "character device" },
    { huge, "too large" },
    { loop, "symlink loop" },
  };
  FILE *file;

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_cmpint (symlink ("loop.csv", loop), ==, 0);
  /* Sparse: no disk space, no time. */
  file = fopen (huge, "w");
  g_assert_nonnull (file);
  g_assert_cmpint (ftruncate (fileno (file), MIEN_DATASET_MAX_MANIFEST_BYTES + 1), ==, 0);
  fclose (file);

  alarm (20);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MienDataset) dataset = mien_dataset_open (cases[i].path, NULL, &error);

      g_assert_null (dataset);
      g_assert_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_LAYOUT);
      g_assert_nonnull (strstr (error->message, cases[i].path));
      g_assert_nonnull (strstr (error->message, cases[i].says));
    }
  alarm (0);
}

static void
test_classes (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *root = make_folder_dataset (fixture->dir);
  const char *order[] = { "happiness", "anger", NULL };
  const char *missing[] = { "anger", "contempt", NULL };
  const char *twice[] = { "anger", "fear", "anger", NULL };
  const char *one[] = { "anger", NULL };
  g_autoptr(MienDataset) dataset = open_ok (root, order);
  const char * const *classes = mien_dataset_get_classes (dataset);
  guint counts[2];

  g_assert_cmpuint (mien_dataset_get_n_classes (dataset), ==, 2);
  g_assert_cmpstr (classes[0], ==, "happiness");
  g_assert_cmpstr (classes[1], ==, "anger");
  g_assert_cmpuint (mien_dataset_get_n_samples (dataset), ==, 3);
  g_assert_cmpstr (base (dataset, 0), ==, "x.png");
  g_assert_cmpuint (mien_dataset_get_label (dataset, 0), ==, 0);
  g_assert_cmpuint (mien_dataset_get_label (dataset, 1), ==, 1);
  mien_dataset_count (dataset, counts);
  g_assert_cmpuint (counts[0], ==, 1);
  g_assert_cmpuint (counts[1], ==, 2);

  assert_open_fails (root, missing, MIEN_DATASET_ERROR_CLASSES);
  assert_open_fails (root, twice, MIEN_DATASET_ERROR_CLASSES);
  assert_open_fails (root, one, MIEN_DATASET_ERROR_CLASSES);
}

static void
test_bad_layouts (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *root = make_folder_dataset (fixture->dir);
  g_autofree char *empty_class = g_build_filename (root, "sadness", NULL);
  g_autofree char *flat = g_build_filename (fixture->dir, "flat", NULL);
  g_autofree char *nowhere = g_build_filename (fixture->dir, "nowhere", NULL);

  /* A class folder without a single image. */
  g_assert_cmpint (g_mkdir (empty_class, 0755), ==, 0);
  assert_open_fails (root, NULL, MIEN_DATASET_ERROR_EMPTY);

  /* Images without class folders. */
  g_free (write_solid (flat, NULL, "a.png", 2, 2, 0, 0, 0));
  assert_open_fails (flat, NULL, MIEN_DATASET_ERROR_LAYOUT);

  assert_open_fails (nowhere, NULL, MIEN_DATASET_ERROR_NOT_FOUND);
}

static void
test_parse_class_list (void)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) list = mien_dataset_parse_class_list (" anger, fear ,happiness", &error);
  g_auto(GStrv) bad = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (list), ==, 3);
  g_assert_cmpstr (list[0], ==, "anger");
  g_assert_cmpstr (list[1], ==, "fear");
  g_assert_cmpstr (list[2], ==, "happiness");

  bad = mien_dataset_parse_class_list ("anger,,fear", &error);
  g_assert_null (bad);
  g_assert_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CLASSES);
  g_clear_error (&error);
  bad = mien_dataset_parse_class_list ("", &error);
  g_assert_null (bad);
  g_assert_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CLASSES);
  g_clear_error (&error);
  bad = mien_dataset_parse_class_list ("a,b,a", &error);
  g_assert_null (bad);
  g_assert_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CLASSES);
}

/* ---- Splits ------------------------------------------------------------------------------ */

/* Classes of 10, 20 and 5 images; solid pixels are irrelevant here, so the files are tiny. */
static char *
make_sized_dataset (const char  *dir,
                    const guint *sizes,
                    guint        n_classes)
{
  char *root = g_build_filename (dir, "sized", NULL);

  for (guint c = 0; c < n_classes; c++)
    {
      g_autofree char *cls = g_strdup_printf ("class%u", c);

      for (guint i = 0; i < sizes[c]; i++)
        {
          g_autofree char *name = g_strdup_printf ("%03u.png", i);

          g_free (write_solid (root, cls, name, 1, 1, c, i, 0));
        }
    }
  return root;
}

static GHashTable *
path_set (MienDataset *dataset)
{
  GHashTable *set = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < mien_dataset_get_n_samples (dataset); i++)
    g_hash_table_add (set, (gpointer) mien_dataset_get_path (dataset, i));
  return set;
}

static void
test_split (Fixture       *fixture,
            gconstpointer  data)
{
  static const guint sizes[] = { 10, 20, 5 };
  g_autofree char *root = make_sized_dataset (fixture->dir, sizes, 3);
  g_autoptr(MienDataset) all = open_ok (root, NULL);
  g_autoptr(MienDataset) train = NULL, val = NULL, train2 = NULL, val2 = NULL;
  g_autoptr(MienDataset) train3 = NULL, val3 = NULL;
  g_autoptr(GHashTable) train_set = NULL, val_set = NULL, val3_set = NULL;
  g_autoptr(GError) error = NULL;
  guint counts[3];
  gboolean same = TRUE;

  g_assert_true (mien_dataset_split (all, 0.2, 42, &train, &val, &error));
  g_assert_no_error (error);

  /* Stratified: round (n_c * 0.2) per class. */
  mien_dataset_count (val, counts);
  g_assert_cmpuint (counts[0], ==, 2);
  g_assert_cmpuint (counts[1], ==, 4);
  g_assert_cmpuint (counts[2], ==, 1);
  mien_dataset_count (train, counts);
  g_assert_cmpuint (counts[0], ==, 8);
  g_assert_cmpuint (counts[1], ==, 16);
  g_assert_cmpuint (counts[2], ==, 4);
  g_assert_cmpuint (mien_dataset_get_n_classes (train), ==, 3);
  g_assert_cmpstr (mien_dataset_get_source (val), ==, root);

  /* Disjoint, and together everything, labels kept. */
  train_set = path_set (train);
  val_set = path_set (val);
  g_assert_cmpuint (g_hash_table_size (train_set) + g_hash_table_size (val_set), ==, 35);
  for (guint i = 0; i < mien_dataset_get_n_samples (all); i++)
    {
      const char *path = mien_dataset_get_path (all, i);

      g_assert_true (g_hash_table_contains (train_set, path) !=
                     g_hash_table_contains (val_set, path));
    }
  for (guint i = 0; i < mien_dataset_get_n_samples (val); i++)
    {
      g_autofree char *dir = g_path_get_dirname (mien_dataset_get_path (val, i));
      g_autofree char *expected = g_strdup_printf ("class%u", mien_dataset_get_label (val, i));
      g_autofree char *cls = g_path_get_basename (dir);

      g_assert_cmpstr (cls, ==, expected);
    }

  /* Same seed, same split; another seed, another split. */
  g_assert_true (mien_dataset_split (all, 0.2, 42, &train2, &val2, &error));
  g_assert_cmpuint (mien_dataset_get_n_samples (val2), ==, mien_dataset_get_n_samples (val));
  for (guint i = 0; i < mien_dataset_get_n_samples (val); i++)
    g_assert_cmpstr (mien_dataset_get_path (val2, i), ==, mien_dataset_get_path (val, i));
  g_assert_true (mien_dataset_split (all, 0.2, 43, &train3, &val3, &error));
  val3_set = path_set (val3);
  for (guint i = 0; i < mien_dataset_get_n_samples (val); i++)
    same &= g_hash_table_contains (val3_set, mien_dataset_get_path (val, i));
  g_assert_false (same);

  /* Fractions outside (0, 1). */
  {
    g_autoptr(MienDataset) t = NULL, v = NULL;

    g_assert_false (mien_dataset_split (all, 0.0, 1, &t, &v, &error));
    g_assert_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_SPLIT);
    g_clear_error (&error);
    g_assert_false (mien_dataset_split (all, 1.0, 1, &t, &v, &error));
    g_assert_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_SPLIT);
  }
}

static void
test_subset (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *root = make_folder_dataset (fixture->dir);
  g_autoptr(MienDataset) dataset = open_ok (root, NULL);
  const guint indices[] = { 5, 0, 5 };
  g_autoptr(MienDataset) subset = mien_dataset_subset (dataset, indices, 3);

  g_assert_cmpuint (mien_dataset_get_n_samples (subset), ==, 3);
  g_assert_cmpuint (mien_dataset_get_n_classes (subset), ==, 3);
  g_assert_cmpstr (mien_dataset_get_path (subset, 0), ==, mien_dataset_get_path (dataset, 5));
  g_assert_cmpuint (mien_dataset_get_label (subset, 0), ==, 2);
  g_assert_cmpuint (mien_dataset_get_label (subset, 1), ==, 0);
  g_assert_cmpstr (mien_dataset_get_source (subset), ==, root);
}

/* ---- Statistics -------------------------------------------------------------------------- */

static char *
write_corrupt (const char *dir,
               const char *sub,
               const char *name)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, sub, name, NULL);
  guint8 junk[300];
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  for (guint i = 0; i < sizeof junk; i++)
    junk[i] = (guint8) g_rand_int (rand);
  g_assert_true (g_file_set_contents (path, (const char *) junk, sizeof junk, &error));
  g_assert_no_error (error);
  return path;
}

/* A noisy PNG cut in the middle of its image data. */
static char *
write_truncated (const char *dir,
                 const char *sub,
                 const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 64, 64);
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  g_autofree char *contents = NULL;
  char *path = g_build_filename (dir, sub, name, NULL);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  gsize len;

  for (int i = 0; i < gdk_pixbuf_get_rowstride (pixbuf) * 64; i++)
    pixels[i] = (guint8) g_rand_int (rand);
  g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  g_assert_true (g_file_set_contents (path, contents, len / 2, &error));
  g_assert_no_error (error);
  return path;
}

typedef struct {
  guint8 rgb[3];
  int    width, height;
} Solid;

static const Solid stats_images[] = {
  /* class "a" */
  { { 255, 0, 0 }, 2, 2 },
  { { 10, 200, 30 }, 3, 1 },
  { { 128, 128, 128 }, 1, 4 },
  /* class "b" */
  { { 0, 0, 255 }, 2, 2 },
};

static char *
make_stats_dataset (const char  *dir,
                    GPtrArray  **bad_paths)
{
  char *root = g_build_filename (dir, "stats", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (stats_images); i++)
    {
      const Solid *s = &stats_images[i];
      g_autofree char *name = g_strdup_printf ("%u.png", i);

      g_free (write_solid (root, i < 3 ? "a" : "b", name, s->width, s->height,
                           s->rgb[0], s->rgb[1], s->rgb[2]));
    }
  *bad_paths = g_ptr_array_new_with_free_func (g_free);
  /* Sorted after the good ones of class "a", before class "b". */
  g_ptr_array_add (*bad_paths, write_corrupt (root, "a", "8-corrupt.png"));
  g_ptr_array_add (*bad_paths, write_truncated (root, "a", "9-truncated.png"));
  return root;
}

static void
test_stats (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GPtrArray) bad = NULL;
  g_autofree char *root = make_stats_dataset (fixture->dir, &bad);
  g_autoptr(MienDataset) dataset = open_ok (root, NULL);
  g_autoptr(MienDatasetStats) stats = NULL;
  g_autoptr(GError) error = NULL;
  double sum[3] = { 0 }, sum_sq[3] = { 0 }, n_pixels = 0;

  stats = mien_dataset_compute_stats (dataset, 3, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (stats);

  g_assert_cmpuint (stats->n_classes, ==, 2);
  g_assert_cmpstr (stats->classes[1], ==, "b");
  g_assert_cmpuint (stats->counts[0], ==, 5);
  g_assert_cmpuint (stats->counts[1], ==, 1);
  g_assert_cmpuint (stats->n_images, ==, 6);
  g_assert_cmpuint (stats->n_readable, ==, 4);
  g_assert_cmpfloat (stats->imbalance_ratio, ==, 5.0);
  g_assert_cmpint (stats->min_width, ==, 1);
  g_assert_cmpint (stats->max_width, ==, 3);
  g_assert_cmpint (stats->min_height, ==, 1);
  g_assert_cmpint (stats->max_height, ==, 4);
  g_assert_cmpuint (g_hash_table_size (stats->sizes), ==, 3);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (stats->sizes, "2x2")), ==, 2);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (stats->sizes, "3x1")), ==, 1);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (stats->sizes, "1x4")), ==, 1);
  g_assert_cmpuint (stats->n_grey, ==, 1);

  /* Every pixel of every image, at its own size. */
  for (guint i = 0; i < G_N_ELEMENTS (stats_images); i++)
    {
      const Solid *s = &stats_images[i];
      double px = s->width * s->height;

      n_pixels += px;
      for (int c = 0; c < 3; c++)
        {
          sum[c] += px * s->rgb[c] / 255.0;
          sum_sq[c] += px * (s->rgb[c] / 255.0) * (s->rgb[c] / 255.0);
        }
    }
  for (int c = 0; c < 3; c++)
    {
      double mean = sum[c] / n_pixels;
      double std = sqrt (sum_sq[c] / n_pixels - mean * mean);

      g_assert_cmpfloat_with_epsilon (stats->mean[c], mean, 1e-12);
      g_assert_cmpfloat_with_epsilon (stats->std[c], std, 1e-12);
    }

  /* Unreadable files are listed, by path, in dataset order. */
  g_assert_cmpuint (stats->unreadable->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *prefix = g_strconcat (g_ptr_array_index (bad, i), ": ", NULL);
      const char *line = g_ptr_array_index (stats->unreadable, i);

      g_assert_true (g_str_has_prefix (line, prefix));
      g_assert_cmpuint (strlen (line), >, strlen (prefix));
      /* One reason per file, naming it once. */
      g_assert_null (strstr (line + 1, g_ptr_array_index (bad, i)));
    }
}

static void
test_stats_json (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GPtrArray) bad = NULL;
  g_autofree char *root = make_stats_dataset (fixture->dir, &bad);
  g_autoptr(MienDataset) dataset = open_ok (root, NULL);
  g_autoptr(MienDatasetStats) stats = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  static const char *members[] = {
    "source", "classes", "counts", "n_images", "n_readable", "imbalance_ratio", "min_width",
    "max_width", "min_height", "max_height", "sizes", "n_grey", "mean", "std", "unreadable",
  };
  JsonObject *object;
  JsonArray *mean;

  stats = mien_dataset_compute_stats (dataset, 0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  node = mien_dataset_stats_to_json (stats, root);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  object = json_node_get_object (node);
  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    if (!json_object_has_member (object, members[i]))
      g_error ("no member “%s”", members[i]);
  g_assert_cmpuint (json_object_get_size (object), ==, G_N_ELEMENTS (members));

  g_assert_cmpstr (json_object_get_string_member (object, "source"), ==, root);
  g_assert_cmpint (json_object_get_int_member (object, "n_images"), ==, 6);
  g_assert_cmpint (json_object_get_int_member (object, "n_readable"), ==, 4);
  g_assert_cmpfloat (json_object_get_double_member (object, "imbalance_ratio"), ==, 5.0);
  g_assert_cmpint (json_array_get_int_element (json_object_get_array_member (object, "counts"),
                                               0), ==, 5);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (object, "sizes"),
                                               "2x2"), ==, 2);
  mean = json_object_get_array_member (object, "mean");
  g_assert_cmpuint (json_array_get_length (mean), ==, 3);
  g_assert_cmpfloat (json_array_get_double_element (mean, 2), ==, stats->mean[2]);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "unreadable")),
                    ==, 2);
}

static void
cancel_on_progress (double      fraction,
                    const char *message,
                    gpointer    user_data)
{
  g_cancellable_cancel (user_data);
}

static void
test_stats_cancel (Fixture       *fixture,
                   gconstpointer  data)
{
  static const guint sizes[] = { 12, 12 };
  g_autofree char *root = make_sized_dataset (fixture->dir, sizes, 2);
  g_autoptr(MienDataset) dataset = open_ok (root, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(MienDatasetStats) stats = NULL;

  /* Cancelled from the progress callback: the calling thread runs it. */
  stats = mien_dataset_compute_stats (dataset, 1, cancel_on_progress, cancellable, cancellable,
                                      &error);
  g_assert_null (stats);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  /* Cancelled before it starts. */
  stats = mien_dataset_compute_stats (dataset, 2, NULL, NULL, cancellable, &error);
  g_assert_null (stats);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  /* And the dataset still works afterwards. */
  g_cancellable_reset (cancellable);
  stats = mien_dataset_compute_stats (dataset, 2, NULL, NULL, cancellable, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stats->n_readable, ==, 24);
}

/* ---- Class weights and plans ------------------------------------------------------------- */

static void
test_class_weights (void)
{
  const guint counts[] = { 10, 30, 60 };
  const guint with_empty[] = { 10, 0, 30 };
  double w[3];
  double weighted = 0;

  mien_class_weights_auto (counts, 3, w);
  /* N / (K n_c) = 100 / (3 n_c), whose weighted mean is already 1. */
  g_assert_cmpfloat_with_epsilon (w[0], 100.0 / 30.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (w[1], 100.0 / 90.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (w[2], 100.0 / 180.0, 1e-12);
  for (int c = 0; c < 3; c++)
    weighted += w[c] * counts[c];
  g_assert_cmpfloat_with_epsilon (weighted / 100.0, 1.0, 1e-12);

  /* An absent class gets 0 and the others are rescaled to keep the normalisation. */
  mien_class_weights_auto (with_empty, 3, w);
  g_assert_cmpfloat (w[1], ==, 0.0);
  g_assert_cmpfloat_with_epsilon (w[0], 40.0 / 20.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (w[2], 40.0 / 60.0, 1e-12);
  g_assert_cmpfloat_with_epsilon ((w[0] * 10 + w[2] * 30) / 40.0, 1.0, 1e-12);
}

static void
test_upsample_plan (Fixture       *fixture,
                    gconstpointer  data)
{
  static const guint sizes[] = { 3, 10, 4 };
  g_autofree char *root = make_sized_dataset (fixture->dir, sizes, 3);
  g_autoptr(MienDataset) dataset = open_ok (root, NULL);
  g_autoptr(GArray) plan = mien_dataset_upsample_plan (dataset, 5);
  g_autoptr(GArray) again = mien_dataset_upsample_plan (dataset, 5);
  g_autoptr(GArray) plain = mien_dataset_plain_plan (dataset);
  guint n = mien_dataset_get_n_samples (dataset);
  g_autofree guint *copies = g_new0 (guint, n);
  g_autofree guint *originals = g_new0 (guint, n);
  guint per_class[3] = { 0 };
  guint prev_index = 0;

  g_assert_cmpuint (plan->len, ==, 30);
  for (guint i = 0; i < plan->len; i++)
    {
      MienSlot s = g_array_index (plan, MienSlot, i);

      g_assert_cmpuint (s.index, <, n);
      per_class[mien_dataset_get_label (dataset, s.index)]++;
      if (s.copy == 0)
        originals[s.index]++;
      else
        {
          /* Copies follow their original, numbered 1, 2, ... */
          g_assert_cmpuint (s.index, ==, prev_index);
          copies[s.index]++;
          g_assert_cmpuint (s.copy, ==, copies[s.index]);
        }
      /* Dataset order. */
      g_assert_cmpuint (s.index, >=, prev_index);
      prev_index = s.index;
    }
  for (int c = 0; c < 3; c++)
    g_assert_cmpuint (per_class[c], ==, 10);
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint (originals[i], ==, 1);

  /* Spread evenly: in each class, copies per sample differ by at most one. */
  for (guint c = 0; c < 3; c++)
    {
      guint lo = G_MAXUINT, hi = 0;

      for (guint i = 0; i < n; i++)
        if (mien_dataset_get_label (dataset, i) == c)
          {
            lo = MIN (lo, copies[i]);
            hi = MAX (hi, copies[i]);
          }
      g_assert_cmpuint (hi - lo, <=, 1);
    }

  g_assert_cmpuint (again->len, ==, plan->len);
  g_assert_cmpmem (again->data, again->len * sizeof (MienSlot),
                   plan->data, plan->len * sizeof (MienSlot));

  g_assert_cmpuint (plain->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpuint (g_array_index (plain, MienSlot, i).index, ==, i);
      g_assert_cmpuint (g_array_index (plain, MienSlot, i).copy, ==, 0);
    }
}

static GArray *
numbered_slots (guint n)
{
  GArray *slots = g_array_new (FALSE, FALSE, sizeof (MienSlot));

  for (guint i = 0; i < n; i++)
    {
      MienSlot s = { i, i % 3 };

      g_array_append_val (slots, s);
    }
  return slots;
}

static void
test_shuffle (void)
{
  g_autoptr(GArray) a = numbered_slots (100);
  g_autoptr(GArray) b = numbered_slots (100);
  g_autoptr(GArray) c = numbered_slots (100);
  g_autofree gboolean *seen = g_new0 (gboolean, 100);
  guint moved = 0;

  mien_slots_shuffle (a, 9, 0);
  mien_slots_shuffle (b, 9, 0);
  mien_slots_shuffle (c, 9, 1);
  g_assert_cmpmem (a->data, 100 * sizeof (MienSlot), b->data, 100 * sizeof (MienSlot));
  g_assert_true (memcmp (a->data, c->data, 100 * sizeof (MienSlot)) != 0);

  for (guint i = 0; i < 100; i++)
    {
      MienSlot s = g_array_index (a, MienSlot, i);

      g_assert_cmpuint (s.index, <, 100);
      g_assert_false (seen[s.index]);
      seen[s.index] = TRUE;
      g_assert_cmpuint (s.copy, ==, s.index % 3);
      moved += s.index != i;
    }
  g_assert_cmpuint (moved, >, 50);

  /* Another seed, another order. */
  mien_slots_shuffle (b, 10, 0);
  mien_slots_shuffle (c, 10, 0);
  g_assert_true (memcmp (b->data, c->data, 100 * sizeof (MienSlot)) != 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, mien_test_scratch_set_up, func, mien_test_scratch_tear_down)

  ADD ("/dataset/folder", test_folder);
  ADD ("/dataset/csv", test_csv);
  ADD ("/dataset/csv-errors", test_csv_errors);
  ADD ("/dataset/csv-quirks", test_csv_quirks);
  ADD ("/dataset/csv-class-names", test_csv_class_names);
  ADD ("/dataset/folder-class-names", test_folder_class_names);
  ADD ("/dataset/special-files", test_special_files);
  ADD ("/dataset/classes", test_classes);
  ADD ("/dataset/bad-layouts", test_bad_layouts);
  g_test_add_func ("/dataset/parse-class-list", test_parse_class_list);
  ADD ("/dataset/split", test_split);
  ADD ("/dataset/subset", test_subset);
  ADD ("/dataset/stats", test_stats);
  ADD ("/dataset/stats-json", test_stats_json);
  ADD ("/dataset/stats-cancel", test_stats_cancel);
  g_test_add_func ("/dataset/class-weights", test_class_weights);
  ADD ("/dataset/upsample-plan", test_upsample_plan);
  g_test_add_func ("/dataset/shuffle", test_shuffle);

#undef ADD

  return g_test_run ();
}
