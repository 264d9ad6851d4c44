/* test-demo-data.c — the synthetic demo dataset: class counts and imbalance, the files written,
 * determinism, refusing to write over a dataset, option checks and cancellation. */
#include <math.h>
#include <string.h>

#include <cairo.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "mien-demo-data.h"
#include "mien-test-util.h"

/* ---- Helpers ----------------------------------------------------------------------------- */

typedef MienTestScratch Fixture;

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      dir = g_dir_open (path, 0, NULL);
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    {
      g_unlink (path);
    }
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  mien_test_scratch_set_up (fixture, data);
}

/* The shared fixture only empties one level; the dataset is three deep. */
static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GDir) dir = g_dir_open (fixture->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (fixture->dir, name, NULL);
      remove_tree (path);
    }
  mien_test_scratch_tear_down (fixture, data);
}

static MienDemoDataOptions
small_options (guint64 seed)
{
  MienDemoDataOptions options = MIEN_DEMO_DATA_OPTIONS_INIT;

  options.per_class = 20;
  options.size = 48;
  options.seed = seed;
  return options;
}

static void
generate (const char                *outdir,
          const MienDemoDataOptions *options)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (mien_demo_data_generate (outdir, options, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static char *
image_path (const char *outdir,
            const char *split,
            guint       klass,
            guint       index)
{
  g_autofree char *name = g_strdup_printf ("%05u.png", index);

  return g_build_filename (outdir, split, mien_demo_data_get_classes ()[klass], name, NULL);
}

static GBytes *
read_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* Names of the entries of `path`, sorted. */
static GPtrArray *
list_folder (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (path, 0, &error);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  return names;
}

static void
assert_valid_png (const char *path,
                  int         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (pixbuf);
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, size);
  g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), ==, size);
}

/* ---- Tests ------------------------------------------------------------------------------- */

static void
test_classes (void)
{
  static const char * const expected[] = {
    "anger", "disgust", "fear", "happiness", "sadness", "surprise", NULL,
  };
  const char * const *classes = mien_demo_data_get_classes ();

  g_assert_cmpstrv (classes, expected);
}

static void
test_class_counts (void)
{
  static const guint expected_train[] = { 45, 25, 10, 70, 100, 40 };
  MienDemoDataOptions options = MIEN_DEMO_DATA_OPTIONS_INIT;
  guint train[6], val[6];
  guint largest = 0, smallest = G_MAXUINT;

  options.per_class = 100;
  mien_demo_data_class_counts (&options, train, val);
  for (guint c = 0; c < 6; c++)
    {
      g_assert_cmpuint (train[c], ==, expected_train[c]);
      g_assert_cmpuint (val[c], ==, (guint) lround (train[c] * 0.25));
      largest = MAX (largest, train[c]);
      smallest = MIN (smallest, train[c]);
    }
  /* like the paper's data: sadness the largest, fear the smallest, ten times apart */
  g_assert_cmpuint (train[4], ==, largest);
  g_assert_cmpuint (train[2], ==, smallest);
  g_assert_cmpuint (largest, ==, 10 * smallest);

  options.balanced = TRUE;
  mien_demo_data_class_counts (&options, train, val);
  for (guint c = 0; c < 6; c++)
    {
      g_assert_cmpuint (train[c], ==, 100);
      g_assert_cmpuint (val[c], ==, 25);
    }

  /* every class keeps at least one image in each split */
  options.balanced = FALSE;
  options.per_class = 1;
  options.val_fraction = 0.01;
  mien_demo_data_class_counts (&options, train, val);
  for (guint c = 0; c < 6; c++)
    {
      g_assert_cmpuint (train[c], ==, 1);
      g_assert_cmpuint (val[c], ==, 1);
    }

  /* the defaults */
  mien_demo_data_class_counts (NULL, train, val);
  g_assert_cmpuint (train[4], ==, 800);
  g_assert_cmpuint (train[2], ==, 80);
  g_assert_cmpuint (val[4], ==, 200);
}

typedef struct {
  double last;
  guint  calls;
} ProgressLog;

static void
log_progress (double      fraction,
              const char *message,
              gpointer    user_data)
{
  ProgressLog *log = user_data;

  g_assert_cmpfloat (fraction, >=, log->last);
  g_assert_cmpfloat (fraction, <=, 1.0);
  g_assert_nonnull (message);
  log->last = fraction;
  log->calls++;
}

static void
test_generate (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  MienDemoDataOptions options = small_options (7);
  ProgressLog log = { 0 };
  guint counts[2][6];
  const char * const splits[] = { "train", "val" };

  g_assert_true (mien_demo_data_generate (fixture->dir, &options, log_progress, &log, NULL,
                                          &error));
  g_assert_no_error (error);
  g_assert_cmpuint (log.calls, >=, 2);
  g_assert_cmpfloat (log.last, ==, 1.0);

  mien_demo_data_class_counts (&options, counts[0], counts[1]);
  for (guint s = 0; s < 2; s++)
    {
      g_autofree char *split = g_build_filename (fixture->dir, splits[s], NULL);
      g_autoptr(GPtrArray) classes = list_folder (split);

      g_assert_cmpuint (classes->len, ==, 6);
      for (guint c = 0; c < 6; c++)
        {
          g_autofree char *folder = g_build_filename (split, mien_demo_data_get_classes ()[c], NULL);
          g_autoptr(GPtrArray) files = list_folder (folder);
          g_autoptr(GBytes) first = NULL;
          g_autoptr(GBytes) second = NULL;

          g_assert_cmpuint (files->len, ==, counts[s][c]);
          for (guint i = 0; i < files->len; i++)
            {
              g_autofree char *expected = g_strdup_printf ("%05u.png", i);
              g_autofree char *path = g_build_filename (folder, files->pdata[i], NULL);

              g_assert_cmpstr (files->pdata[i], ==, expected);
              assert_valid_png (path, options.size);
            }

          /* faces of one class are not copies of each other */
          if (files->len >= 2)
            {
              g_autofree char *a = g_build_filename (folder, files->pdata[0], NULL);
              g_autofree char *b = g_build_filename (folder, files->pdata[1], NULL);

              first = read_bytes (a);
              second = read_bytes (b);
              g_assert_false (g_bytes_equal (first, second));
            }
        }
    }
  /* the imbalance shows in the files too */
  g_assert_cmpuint (counts[0][4], ==, 20);
  g_assert_cmpuint (counts[0][2], ==, 2);
}

static void
test_deterministic (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *a = g_build_filename (fixture->dir, "a", NULL);
  g_autofree char *b = g_build_filename (fixture->dir, "b", NULL);
  g_autofree char *c = g_build_filename (fixture->dir, "c", NULL);
  MienDemoDataOptions options = small_options (42);
  MienDemoDataOptions other = small_options (43);
  guint counts[2][6];
  guint n_same_as_other = 0, n_files = 0;

  generate (a, &options);
  generate (b, &options);
  generate (c, &other);

  mien_demo_data_class_counts (&options, counts[0], counts[1]);
  for (guint s = 0; s < 2; s++)
    for (guint k = 0; k < 6; k++)
      for (guint i = 0; i < counts[s][k]; i++)
        {
          const char *split = s == 0 ? "train" : "val";
          g_autofree char *pa = image_path (a, split, k, i);
          g_autofree char *pb = image_path (b, split, k, i);
          g_autofree char *pc = image_path (c, split, k, i);
          g_autoptr(GBytes) ba = read_bytes (pa);
          g_autoptr(GBytes) bb = read_bytes (pb);
          g_autoptr(GBytes) bc = read_bytes (pc);

          g_assert_true (g_bytes_equal (ba, bb));
          n_same_as_other += g_bytes_equal (ba, bc);
          n_files++;
        }
  g_assert_cmpuint (n_files, >, 0);
  g_assert_cmpuint (n_same_as_other, ==, 0);
}

static void
test_draw_face (void)
{
  for (guint k = 0; k < 6; k++)
    {
      cairo_surface_t *one = mien_demo_data_draw_face (k, 40, 99);
      cairo_surface_t *two = mien_demo_data_draw_face (k, 40, 99);
      cairo_surface_t *three = mien_demo_data_draw_face (k, 40, 100);
      int stride = cairo_image_surface_get_stride (one);

      g_assert_cmpint (cairo_surface_status (one), ==, CAIRO_STATUS_SUCCESS);
      g_assert_cmpint (cairo_image_surface_get_format (one), ==, CAIRO_FORMAT_RGB24);
      g_assert_cmpint (cairo_image_surface_get_width (one), ==, 40);
      g_assert_cmpint (cairo_image_surface_get_height (one), ==, 40);
      cairo_surface_flush (one);
      cairo_surface_flush (two);
      cairo_surface_flush (three);
      g_assert_cmpmem (cairo_image_surface_get_data (one), stride * 40,
                       cairo_image_surface_get_data (two), stride * 40);
      g_assert_true (memcmp (cairo_image_surface_get_data (one),
                             cairo_image_surface_get_data (three), stride * 40) != 0);
      cairo_surface_destroy (one);
      cairo_surface_destroy (two);
      cairo_surface_destroy (three);
    }
}

static void
test_refuses_existing (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *train = g_build_filename (fixture->dir, "train", NULL);
  g_autofree char *keep = g_build_filename (train, "keep.txt", NULL);
  g_autofree char *val = g_build_filename (fixture->dir, "val", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GPtrArray) top = NULL;
  g_autoptr(GPtrArray) in_train = NULL;
  MienDemoDataOptions options = small_options (1);

  g_assert_cmpint (g_mkdir (train, 0755), ==, 0);
  g_assert_true (g_file_set_contents (keep, "mine", -1, NULL));

  g_assert_false (mien_demo_data_generate (fixture->dir, &options, NULL, NULL, NULL, &error));
  g_assert_error (error, MIEN_DEMO_DATA_ERROR, MIEN_DEMO_DATA_ERROR_EXISTS);
  g_clear_error (&error);

  /* nothing touched, nothing added */
  g_assert_true (g_file_get_contents (keep, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "mine");
  top = list_folder (fixture->dir);
  g_assert_cmpuint (top->len, ==, 1);
  in_train = list_folder (train);
  g_assert_cmpuint (in_train->len, ==, 1);

  /* a non-empty val/ is refused the same way, even with train/ empty */
  g_assert_cmpint (g_unlink (keep), ==, 0);
  g_assert_cmpint (g_mkdir (val, 0755), ==, 0);
  g_clear_pointer (&keep, g_free);
  keep = g_build_filename (val, "keep.txt", NULL);
  g_assert_true (g_file_set_contents (keep, "mine", -1, NULL));
  g_assert_false (mien_demo_data_generate (fixture->dir, &options, NULL, NULL, NULL, &error));
  g_assert_error (error, MIEN_DEMO_DATA_ERROR, MIEN_DEMO_DATA_ERROR_EXISTS);
  g_clear_error (&error);

  /* empty split folders are fine */
  g_assert_cmpint (g_unlink (keep), ==, 0);
  generate (fixture->dir, &options);
}

static void
test_invalid_options (Fixture       *fixture,
                      gconstpointer  data)
{
  MienDemoDataOptions cases[8];
  g_autoptr(GPtrArray) left = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    cases[i] = small_options (1);
  cases[0].per_class = 0;
  cases[1].per_class = 100001;
  cases[2].size = 15;
  cases[3].size = 1025;
  cases[4].val_fraction = 1.0;
  cases[5].val_fraction = -0.1;
  cases[6].val_fraction = NAN;
  cases[7].size = -64;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (mien_demo_data_generate (fixture->dir, &cases[i], NULL, NULL, NULL, &error));
      g_assert_error (error, MIEN_DEMO_DATA_ERROR, MIEN_DEMO_DATA_ERROR_INVALID);
    }
  left = list_folder (fixture->dir);
  g_assert_cmpuint (left->len, ==, 0);
}

static void
cancel_on_progress (double      fraction,
                    const char *message,
                    gpointer    user_data)
{
  if (fraction > 0)
    g_cancellable_cancel (user_data);
}

static void
count_files (const char *path,
             int         size,
             guint      *n_files)
{
  g_autoptr(GPtrArray) names = list_folder (path);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *child = g_build_filename (path, names->pdata[i], NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        {
          count_files (child, size, n_files);
          continue;
        }
      /* anything but a finished image would be a leftover temporary file */
      g_assert_true (g_str_has_suffix (names->pdata[i], ".png"));
      g_assert_cmpuint (strlen (names->pdata[i]), ==, strlen ("00000.png"));
      assert_valid_png (child, size);
      (*n_files)++;
    }
}

static void
test_cancel (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  MienDemoDataOptions options = small_options (3);
  guint train[6], val[6];
  g_autofree char *again = NULL;
  guint total = 0, n_files = 0;

  options.per_class = 200;
  mien_demo_data_class_counts (&options, train, val);
  for (guint c = 0; c < 6; c++)
    total += train[c] + val[c];

  g_assert_false (mien_demo_data_generate (fixture->dir, &options, cancel_on_progress,
                                           cancellable, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  count_files (fixture->dir, options.size, &n_files);
  g_assert_cmpuint (n_files, >, 0);
  g_assert_cmpuint (n_files, <, total);

  /* already cancelled: nothing is written at all */
  g_clear_error (&error);
  again = g_build_filename (fixture->dir, "again", NULL);
  g_assert_false (mien_demo_data_generate (again, &options, NULL, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (g_file_test (again, G_FILE_TEST_EXISTS));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/demo-data/classes", test_classes);
  g_test_add_func ("/demo-data/class-counts", test_class_counts);
  g_test_add_func ("/demo-data/draw-face", test_draw_face);
  g_test_add ("/demo-data/generate", Fixture, NULL, fixture_set_up, test_generate,
              fixture_tear_down);
  g_test_add ("/demo-data/deterministic", Fixture, NULL, fixture_set_up, test_deterministic,
              fixture_tear_down);
  g_test_add ("/demo-data/refuses-existing", Fixture, NULL, fixture_set_up,
              test_refuses_existing, fixture_tear_down);
  g_test_add ("/demo-data/invalid-options", Fixture, NULL, fixture_set_up, test_invalid_options,
              fixture_tear_down);
  g_test_add ("/demo-data/cancel", Fixture, NULL, fixture_set_up, test_cancel, fixture_tear_down);

  return g_test_run ();
}
