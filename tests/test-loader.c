/* test-loader.c — the input pipeline: batch order and contents, the cache, unreadable files,
 * prepare ()'s statistics, restarting and cancelling epochs, grey mode. Runs on the CPU.
 */
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "mien-dataset.h"
#include "mien-image.h"
#include "mien-loader.h"
#include "mien-test-util.h"

#define SIZE 8

typedef MienTestScratch Fixture;

/* ---- Helpers ----------------------------------------------------------------------------- */

static void
save (GdkPixbuf  *pixbuf,
      const char *root,
      const char *cls,
      const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (root, cls, NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
  g_assert_no_error (error);
}

/* A colour pattern of its own for every (seed), so that resizing has something to do. */
static void
write_pattern (const char *root,
               const char *cls,
               const char *name,
               int         width,
               int         height,
               guint       seed)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        guint8 *p = pixels + y * stride + x * 3;

        p[0] = (guint8) (x * 7 + seed * 31);
        p[1] = (guint8) (y * 11 + seed * 17);
        p[2] = (guint8) ((x + y) * 5 + seed);
      }
  save (pixbuf, root, cls, name);
}

static void
write_solid (const char *root,
             const char *cls,
             const char *name,
             int         width,
             int         height,
             guint8      r,
             guint8      g,
             guint8      b)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);

  gdk_pixbuf_fill (pixbuf, ((guint32) r << 24) | ((guint32) g << 16) | ((guint32) b << 8) | 0xff);
  save (pixbuf, root, cls, name);
}

static void
write_junk (const char *root,
            const char *cls,
            const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (root, cls, NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, "\x89PNG\r\n\x1a\n not really", -1, &error));
  g_assert_no_error (error);
}

/* "few" has 3 images, "many" 8, of assorted sizes (some already SIZE × SIZE). */
static MienDataset *
make_dataset (const char *dir)
{
  g_autofree char *root = g_build_filename (dir, "data", NULL);
  g_autoptr(GError) error = NULL;
  MienDataset *dataset;

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("f%u.png", i);

      write_pattern (root, "few", name, 5 + i * 7, 9 + i, i);
    }
  for (guint i = 0; i < 8; i++)
    {
      g_autofree char *name = g_strdup_printf ("m%u.png", i);

      write_pattern (root, "many", name, i % 2 ? SIZE : 20 + i, i % 2 ? SIZE : 3 + i, 10 + i);
    }
  dataset = mien_dataset_open (root, NULL, &error);
  g_assert_no_error (error);
  return dataset;
}

static MienLoader *
new_loader (MienDataset *dataset,
            guint        batch_size,
            gboolean     drop_last,
            gsize        cache_bytes)
{
  MienLoaderOptions options = MIEN_LOADER_OPTIONS_INIT;
  g_autoptr(GError) error = NULL;
  MienLoader *loader;

  options.input_size = SIZE;
  options.batch_size = batch_size;
  options.drop_last = drop_last;
  options.n_workers = 3;
  options.prefetch = 2;
  options.cache_bytes = cache_bytes;
  loader = mien_loader_new (dataset, &options, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loader);
  return loader;
}

static guint8 *
decode_reference (MienDataset *dataset,
                  guint        index,
                  gboolean     grey)
{
  g_autoptr(GError) error = NULL;
  guint8 *pixels = g_malloc (3 * SIZE * SIZE);

  g_assert_true (mien_dataset_decode (dataset, index, SIZE, grey, pixels, NULL, &error));
  g_assert_no_error (error);
  return pixels;
}

static MienBatch *
next_batch (MienLoader *loader)
{
  g_autoptr(GError) error = NULL;
  MienBatch *batch = mien_loader_next (loader, NULL, &error);

  g_assert_no_error (error);
  return batch;
}

/* Checks one batch against the slots it should hold and returns its pixels. */
static guint8 *
check_batch (MienBatch      *batch,
             MienDataset    *dataset,
             const MienSlot *expected,
             guint           n)
{
  g_autoptr(GError) error = NULL;
  guint8 *pixels = g_malloc (n * 3 * SIZE * SIZE);
  g_autofree gint64 *labels = g_new (gint64, n);
  gint64 shape[4];

  g_assert_nonnull (batch);
  g_assert_cmpuint (batch->n, ==, n);
  g_assert_cmpint (mien_tensor_shape (batch->images, shape, 4), ==, 4);
  g_assert_cmpint (shape[0], ==, n);
  g_assert_cmpint (shape[1], ==, 3);
  g_assert_cmpint (shape[2], ==, SIZE);
  g_assert_cmpint (shape[3], ==, SIZE);
  g_assert_cmpint (mien_tensor_dtype (batch->images), ==, MIEN_DTYPE_UINT8);
  g_assert_cmpint (mien_tensor_dtype (batch->labels), ==, MIEN_DTYPE_INT64);
  g_assert_cmpint (mien_tensor_numel (batch->labels), ==, n);
  g_assert_true (mien_tensor_to_host (batch->images, pixels, n * 3 * SIZE * SIZE, &error));
  g_assert_true (mien_tensor_to_host (batch->labels, labels, n * sizeof (gint64), &error));
  g_assert_no_error (error);

  for (guint row = 0; row < n; row++)
    {
      g_autofree guint8 *reference = decode_reference (dataset, expected[row].index, FALSE);

      g_assert_cmpuint (batch->slots[row].index, ==, expected[row].index);
      g_assert_cmpuint (batch->slots[row].copy, ==, expected[row].copy);
      g_assert_cmpint (labels[row], ==, mien_dataset_get_label (dataset, expected[row].index));
      g_assert_cmpmem (pixels + row * 3 * SIZE * SIZE, 3 * SIZE * SIZE,
                       reference, 3 * SIZE * SIZE);
    }
  return pixels;
}

/* Runs a whole epoch of `slots`, checks every batch and returns all pixels in order. */
static GByteArray *
run_epoch (MienLoader *loader,
           GArray     *slots,
           guint       batch_size,
           gboolean    drop_last)
{
  MienDataset *dataset = mien_loader_get_dataset (loader);
  GByteArray *all = g_byte_array_new ();
  guint expected_batches = drop_last ? slots->len / batch_size
                                     : (slots->len + batch_size - 1) / batch_size;
  guint pos = 0, n_batches = 0;
  MienBatch *batch;

  mien_loader_start (loader, slots);
  g_assert_cmpuint (mien_loader_get_n_batches (loader), ==, expected_batches);
  while ((batch = next_batch (loader)) != NULL)
    {
      guint n = MIN (batch_size, slots->len - pos);
      g_autofree guint8 *pixels = NULL;

      pixels = check_batch (batch, dataset, &g_array_index (slots, MienSlot, pos), n);
      g_byte_array_append (all, pixels, n * 3 * SIZE * SIZE);
      pos += n;
      n_batches++;
      mien_batch_free (batch);
    }
  g_assert_cmpuint (n_batches, ==, expected_batches);
  g_assert_cmpuint (pos, ==, drop_last ? expected_batches * batch_size : slots->len);
  /* The end stays the end. */
  g_assert_null (next_batch (loader));
  return all;
}

/* ---- Tests ------------------------------------------------------------------------------- */

static void
test_batches (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(MienDataset) dataset = make_dataset (fixture->dir);
  g_autoptr(MienLoader) loader = new_loader (dataset, 4, FALSE, 0);
  g_autoptr(GArray) slots = mien_dataset_upsample_plan (dataset, 3);
  g_autoptr(GByteArray) first = NULL;
  g_autoptr(GByteArray) second = NULL;

  g_assert_true (mien_loader_get_dataset (loader) == dataset);
  g_assert_cmpuint (slots->len, ==, 16);
  mien_slots_shuffle (slots, 3, 0);

  /* Twice: the second epoch comes from the cache. */
  first = run_epoch (loader, slots, 4, FALSE);
  second = run_epoch (loader, slots, 4, FALSE);
  g_assert_cmpmem (first->data, first->len, second->data, second->len);
  g_assert_cmpuint (mien_loader_get_unreadable (loader)->len, ==, 0);

  /* An uneven last batch. */
  g_array_set_size (slots, 11);
  g_clear_pointer (&first, g_byte_array_unref);
  first = run_epoch (loader, slots, 4, FALSE);
}

static void
test_drop_last (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(MienDataset) dataset = make_dataset (fixture->dir);
  g_autoptr(MienLoader) loader = new_loader (dataset, 3, TRUE, 0);
  g_autoptr(GArray) slots = mien_dataset_plain_plan (dataset);
  g_autoptr(GByteArray) pixels = NULL;

  g_assert_cmpuint (slots->len, ==, 11);
  pixels = run_epoch (loader, slots, 3, TRUE);
  g_assert_cmpuint (pixels->len, ==, 9 * 3 * SIZE * SIZE);

  /* Exactly divisible: nothing dropped. */
  g_array_set_size (slots, 9);
  g_clear_pointer (&pixels, g_byte_array_unref);
  pixels = run_epoch (loader, slots, 3, TRUE);
  g_assert_cmpuint (pixels->len, ==, 9 * 3 * SIZE * SIZE);
}

static void
test_cache (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(MienDataset) dataset = make_dataset (fixture->dir);
  g_autoptr(MienLoader) cached = new_loader (dataset, 5, FALSE, 0);
  g_autoptr(MienLoader) uncached = new_loader (dataset, 5, FALSE, 1);
  g_autoptr(MienLoader) partly = new_loader (dataset, 5, FALSE, 4 * 3 * SIZE * SIZE);
  g_autoptr(GArray) slots = mien_dataset_upsample_plan (dataset, 8);

  g_assert_true (mien_loader_prepare (cached, NULL, NULL, NULL, NULL, NULL, NULL));
  for (guint epoch = 0; epoch < 2; epoch++)
    {
      g_autoptr(GByteArray) a = NULL, b = NULL, c = NULL;

      mien_slots_shuffle (slots, 8, epoch);
      a = run_epoch (cached, slots, 5, FALSE);
      b = run_epoch (uncached, slots, 5, FALSE);
      c = run_epoch (partly, slots, 5, FALSE);
      g_assert_cmpmem (a->data, a->len, b->data, b->len);
      g_assert_cmpmem (a->data, a->len, c->data, c->len);
    }
}

static void
test_unreadable (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *root = g_build_filename (fixture->dir, "data", NULL);
  g_autofree char *fifo = g_build_filename (root, "b", "b1.png", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienDataset) dataset = NULL;
  g_autoptr(MienLoader) loader = NULL;
  g_autoptr(GArray) slots = NULL;
  GPtrArray *unreadable;
  guint n_rows = 0, n_batches = 0;
  MienBatch *batch;

  /* Sorted: a0 a1 (good), b0 b1 (junk and a FIFO, which must not block a worker: one whole
   * batch of 2), b2 (good); c0 (junk), c1. */
  write_pattern (root, "a", "a0.png", 9, 9, 1);
  write_pattern (root, "a", "a1.png", 9, 9, 2);
  write_pattern (root, "b", "b2.png", 9, 9, 3);
  write_junk (root, "b", "b0.png");
  write_junk (root, "b", "b1.png");
  g_assert_cmpint (g_unlink (fifo), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  write_junk (root, "c", "c0.png");
  write_pattern (root, "c", "c1.png", 9, 9, 4);
  dataset = mien_dataset_open (root, NULL, &error);
  g_assert_no_error (error);
  loader = new_loader (dataset, 2, FALSE, 0);
  slots = mien_dataset_plain_plan (dataset);

  /* A watchdog: a worker stuck opening the FIFO would hang the test. */
  alarm (60);
  mien_loader_start (loader, slots);
  g_assert_cmpuint (mien_loader_get_n_batches (loader), ==, 4);
  while ((batch = next_batch (loader)) != NULL)
    {
      g_assert_cmpuint (batch->n, >, 0);
      for (guint i = 0; i < batch->n; i++)
        {
          guint index = batch->slots[i].index;

          g_assert_true (index != 2 && index != 3 && index != 5);
        }
      n_rows += batch->n;
      n_batches++;
      mien_batch_free (batch);
    }
  /* [a0 a1] [ ] [b2 —] [c1]: the empty batch is left out. */
  g_assert_cmpuint (n_rows, ==, 4);
  g_assert_cmpuint (n_batches, ==, 3);

  unreadable = mien_loader_get_unreadable (loader);
  g_assert_cmpuint (unreadable->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      static const guint bad[] = { 2, 3, 5 };
      g_autofree char *prefix = g_strconcat (mien_dataset_get_path (dataset, bad[i]), ": ", NULL);

      const char *reason = g_ptr_array_index (unreadable, i);

      /* One reason per file, naming it once. */
      g_assert_true (g_str_has_prefix (reason, prefix));
      g_assert_null (strstr (reason + 1, mien_dataset_get_path (dataset, bad[i])));
    }
  g_assert_nonnull (strstr (g_ptr_array_index (unreadable, 1), "FIFO"));

  /* prepare () finds the same three, and the plan can be cleaned of them. */
  g_assert_true (mien_loader_prepare (loader, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (mien_loader_get_unreadable (loader)->len, ==, 3);
  g_assert_true (mien_loader_is_readable (loader, 0));
  g_assert_false (mien_loader_is_readable (loader, 2));
  g_assert_false (mien_loader_is_readable (loader, 5));
  mien_loader_filter_readable (loader, slots);
  g_assert_cmpuint (slots->len, ==, 4);
  g_assert_cmpuint (g_array_index (slots, MienSlot, 2).index, ==, 4);
  g_assert_cmpuint (g_array_index (slots, MienSlot, 3).index, ==, 6);
  alarm (0);
}

typedef struct {
  guint  calls;
  double last;
} Progress;

static void
on_progress (double      fraction,
             const char *message,
             gpointer    user_data)
{
  Progress *progress = user_data;

  g_assert_cmpfloat (fraction, >=, progress->last);
  g_assert_nonnull (message);
  progress->last = fraction;
  progress->calls++;
}

static void
test_prepare (Fixture       *fixture,
              gconstpointer  data)
{
  static const guint8 colours[][3] = {
    { 255, 0, 0 }, { 10, 200, 30 }, { 128, 128, 128 }, { 0, 0, 255 }, { 1, 2, 3 },
  };
  g_autofree char *root = g_build_filename (fixture->dir, "data", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienDataset) dataset = NULL;
  g_autoptr(MienLoader) loader = NULL;
  double mean[3], std[3], mean2[3], std2[3];
  Progress progress = { 0, 0 };

  /* Solid colours of assorted sizes: at any input size, every image is all its colour. */
  for (guint i = 0; i < G_N_ELEMENTS (colours); i++)
    {
      g_autofree char *name = g_strdup_printf ("%u.png", i);

      write_solid (root, i < 2 ? "x" : "y", name, 3 + i * 5, 20 - i * 3,
                   colours[i][0], colours[i][1], colours[i][2]);
    }
  write_junk (root, "y", "zz.png");
  dataset = mien_dataset_open (root, NULL, &error);
  g_assert_no_error (error);
  loader = new_loader (dataset, 4, FALSE, 2 * 3 * SIZE * SIZE);

  g_assert_true (mien_loader_prepare (loader, mean, std, on_progress, &progress, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (progress.calls, >, 0);
  g_assert_cmpfloat (progress.last, ==, 1.0);
  for (int c = 0; c < 3; c++)
    {
      double m = 0, sq = 0;

      for (guint i = 0; i < G_N_ELEMENTS (colours); i++)
        {
          m += colours[i][c] / 255.0;
          sq += (colours[i][c] / 255.0) * (colours[i][c] / 255.0);
        }
      m /= G_N_ELEMENTS (colours);
      sq /= G_N_ELEMENTS (colours);
      g_assert_cmpfloat_with_epsilon (mean[c], m, 1e-12);
      g_assert_cmpfloat_with_epsilon (std[c], sqrt (sq - m * m), 1e-12);
    }
  g_assert_cmpuint (mien_loader_get_unreadable (loader)->len, ==, 1);

  /* Idempotent: the same figures, without decoding or reporting again. */
  progress.calls = 0;
  g_assert_true (mien_loader_prepare (loader, mean2, std2, on_progress, &progress, NULL, &error));
  g_assert_cmpuint (progress.calls, ==, 0);
  g_assert_cmpmem (mean, sizeof mean, mean2, sizeof mean2);
  g_assert_cmpmem (std, sizeof std, std2, sizeof std2);
}

/* Entries of a /proc/self folder whose "comm" (for tasks) is `name`, or all with `name` NULL. */
static guint
count_proc_entries (const char *folder,
                    const char *name)
{
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  const char *entry;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *comm_path = NULL;
      g_autofree char *comm = NULL;

      if (name == NULL)
        {
          n++;
          continue;
        }
      comm_path = g_build_filename (folder, entry, "comm", NULL);
      /* A task that ended since the folder was read has no comm any more. */
      if (g_file_get_contents (comm_path, &comm, NULL, NULL) &&
          g_strcmp0 (g_strchomp (comm), name) == 0)
        n++;
    }
  return n;
}

/* Producer threads alive: each restart must stop and join the previous epoch's. */
static guint
count_producers (void)
{
  return count_proc_entries ("/proc/self/task", "mien-loader");
}

static void
test_restart (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(MienDataset) dataset = make_dataset (fixture->dir);
  g_autoptr(GArray) slots = mien_dataset_upsample_plan (dataset, 1);
  g_autoptr(GArray) first_slots = NULL;
  g_autoptr(GByteArray) pixels = NULL;
  g_autofree guint8 *batch_pixels = NULL;
  MienLoader *loader;
  MienBatch *batch;
  guint n_fds;

  if (!g_file_test ("/proc/self/task", G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("No /proc/self/task to count the loader's threads in");
      return;
    }
  g_assert_cmpuint (count_producers (), ==, 0);
  n_fds = count_proc_entries ("/proc/self/fd", NULL);
  loader = new_loader (dataset, 2, FALSE, 0);
  first_slots = g_array_copy (slots);

  /* Abandoned after one batch, with the producer blocked on a full queue. */
  mien_loader_start (loader, slots);
  batch = next_batch (loader);
  batch_pixels = check_batch (batch, dataset, &g_array_index (first_slots, MienSlot, 0), 2);
  mien_batch_free (batch);
  g_usleep (20000);
  g_assert_cmpuint (count_producers (), ==, 1);

  /* A new order: the whole epoch comes in it (run_epoch checks every batch against its slots),
   * nothing of the abandoned one, and that epoch's producer is gone. */
  mien_slots_shuffle (slots, 1, 1);
  g_assert_true (memcmp (slots->data, first_slots->data, slots->len * sizeof (MienSlot)) != 0);
  pixels = run_epoch (loader, slots, 2, FALSE);
  g_assert_cmpuint (pixels->len, ==, slots->len * 3 * SIZE * SIZE);
  g_assert_cmpuint (count_producers (), <=, 1);

  /* Abandoned before taking anything: the next batch is the new epoch's first. */
  mien_loader_start (loader, first_slots);
  mien_loader_start (loader, slots);
  g_assert_cmpuint (count_producers (), <=, 1);
  g_assert_cmpuint (mien_loader_get_n_batches (loader), ==, (slots->len + 1) / 2);
  batch = next_batch (loader);
  g_free (check_batch (batch, dataset, &g_array_index (slots, MienSlot, 0), 2));
  mien_batch_free (batch);

  /* Freed in the middle of an epoch: no thread and no file left behind. */
  mien_loader_free (loader);
  g_assert_cmpuint (count_producers (), ==, 0);
  g_assert_cmpuint (count_proc_entries ("/proc/self/fd", NULL), ==, n_fds);
}

static void
test_cancel (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(MienDataset) dataset = make_dataset (fixture->dir);
  g_autoptr(MienLoader) loader = new_loader (dataset, 2, FALSE, 0);
  g_autoptr(GArray) slots = mien_dataset_plain_plan (dataset);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) pixels = NULL;
  MienBatch *batch;

  mien_loader_start (loader, slots);
  batch = mien_loader_next (loader, cancellable, &error);
  g_assert_no_error (error);
  g_assert_nonnull (batch);
  mien_batch_free (batch);

  g_cancellable_cancel (cancellable);
  batch = mien_loader_next (loader, cancellable, &error);
  g_assert_null (batch);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  /* The epoch is over. */
  g_assert_null (mien_loader_next (loader, NULL, &error));
  g_assert_no_error (error);

  /* prepare () honours it too, and leaves the loader usable. */
  g_assert_false (mien_loader_prepare (loader, NULL, NULL, NULL, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  pixels = run_epoch (loader, slots, 2, FALSE);
}

static void
test_grey (Fixture       *fixture,
           gconstpointer  data)
{
  g_autofree char *root = g_build_filename (fixture->dir, "data", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienDataset) dataset = NULL;
  g_autoptr(MienLoader) loader = NULL;
  g_autoptr(GArray) slots = NULL;
  g_autoptr(MienBatch) batch = NULL;
  MienLoaderOptions options = MIEN_LOADER_OPTIONS_INIT;
  g_autofree guint8 *pixels = g_malloc (2 * 3 * SIZE * SIZE);
  /* PIL's convert ("L"): (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16. */
  const guint8 expected[2] = {
    (200 * 19595 + 100 * 38470 + 50 * 7471 + 0x8000) >> 16,
    (13 * 19595 + 250 * 38470 + 77 * 7471 + 0x8000) >> 16,
  };
  double mean[3], std[3];

  write_solid (root, "a", "0.png", 11, 5, 200, 100, 50);
  write_solid (root, "b", "1.png", SIZE, SIZE, 13, 250, 77);
  dataset = mien_dataset_open (root, NULL, &error);
  g_assert_no_error (error);
  options.input_size = SIZE;
  options.batch_size = 2;
  options.grey = TRUE;
  loader = mien_loader_new (dataset, &options, &error);
  g_assert_no_error (error);

  g_assert_true (mien_loader_prepare (loader, mean, std, NULL, NULL, NULL, &error));
  for (int c = 0; c < 3; c++)
    {
      double m = (expected[0] + expected[1]) / 2.0 / 255.0;

      g_assert_cmpfloat_with_epsilon (mean[c], m, 1e-12);
      g_assert_cmpfloat_with_epsilon (std[c], fabs ((double) expected[0] - expected[1]) / 2.0 / 255.0,
                                      1e-12);
    }

  slots = mien_dataset_plain_plan (dataset);
  mien_loader_start (loader, slots);
  batch = next_batch (loader);
  g_assert_cmpuint (batch->n, ==, 2);
  g_assert_true (mien_tensor_to_host (batch->images, pixels, 2 * 3 * SIZE * SIZE, &error));
  for (guint i = 0; i < 2 * 3 * SIZE * SIZE; i++)
    g_assert_cmpuint (pixels[i], ==, expected[i / (3 * SIZE * SIZE)]);
}

static void
test_invalid_options (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(MienDataset) dataset = make_dataset (fixture->dir);
  MienLoaderOptions options = MIEN_LOADER_OPTIONS_INIT;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienLoader) loader = NULL;

  options.batch_size = 0;
  loader = mien_loader_new (dataset, &options, &error);
  g_assert_null (loader);
  g_assert_nonnull (error);
  g_clear_error (&error);

  options.batch_size = 1;
  options.input_size = 0;
  loader = mien_loader_new (dataset, &options, &error);
  g_assert_null (loader);
  g_assert_nonnull (error);
}

/* A sample whose pixels the dataset holds (a row of fer2013.csv) reaches the batch: every row
 * is one grey level, whatever the resizing does to it. */
static void
test_inline_pixels (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "fer2013.csv", NULL);
  g_autoptr(GString) text = g_string_new ("emotion,pixels,Usage\n");
  g_autoptr(GError) error = NULL;
  g_autoptr(MienDataset) dataset = NULL;
  g_autoptr(MienLoader) loader = NULL;
  g_autoptr(GArray) slots = NULL;
  g_autoptr(GByteArray) all = NULL;

  for (guint r = 0; r < 5; r++)
    {
      g_string_append_printf (text, "%u,", r % 2);
      for (guint i = 0; i < 48 * 48; i++)
        g_string_append_printf (text, i == 0 ? "%u" : " %u", 10 + r * 40);
      g_string_append (text, ",Training\n");
    }
  g_assert_true (g_file_set_contents (path, text->str, -1, &error));
  g_assert_no_error (error);
  dataset = mien_dataset_open (path, NULL, &error);
  g_assert_no_error (error);

  loader = new_loader (dataset, 2, FALSE, 0);
  slots = mien_dataset_plain_plan (dataset);
  all = run_epoch (loader, slots, 2, FALSE);
  g_assert_cmpuint (all->len, ==, 5 * 3 * SIZE * SIZE);
  for (guint i = 0; i < all->len; i++)
    g_assert_cmpuint (all->data[i], ==, 10 + (i / (3 * SIZE * SIZE)) * 40);
  g_assert_cmpuint (mien_loader_get_unreadable (loader)->len, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  mien_torch_init ();

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, mien_test_scratch_set_up, func, mien_test_scratch_tear_down)

  ADD ("/loader/batches", test_batches);
  ADD ("/loader/drop-last", test_drop_last);
  ADD ("/loader/cache", test_cache);
  ADD ("/loader/unreadable", test_unreadable);
  ADD ("/loader/prepare", test_prepare);
  ADD ("/loader/restart", test_restart);
  ADD ("/loader/cancel", test_cancel);
  ADD ("/loader/grey", test_grey);
  ADD ("/loader/invalid-options", test_invalid_options);
  ADD ("/loader/inline-pixels", test_inline_pixels);

#undef ADD

  return g_test_run ();
}
