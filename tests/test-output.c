/* test-output.c — output files: atomic replacement, and the targets that are refused. */
#include "config.h"

#include <errno.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mien-output.h"
#include "mien-test-util.h"

typedef MienTestScratch Fixture;

static char *
scratch_path (Fixture    *f,
              const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

static void
write_file (const char *path,
            const char *text)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

static void
assert_contents (const char *path,
                 const char *expected)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, expected);
}

/* The scratch folder holds exactly `n` entries: no temporary file was left behind. */
static void
assert_n_entries (Fixture *f,
                  guint    n)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  guint count = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    count++;
  g_assert_cmpuint (count, ==, n);
}

static void
test_replace (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *path = scratch_path (f, "out.csv");
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  /* New, then replaced; a replaced file keeps its permissions. */
  g_assert_true (mien_output_set_contents (path, NULL, "a,b\n", 4, &error));
  g_assert_no_error (error);
  assert_contents (path, "a,b\n");
  g_assert_cmpint (g_chmod (path, 0640), ==, 0);
  g_assert_true (mien_output_set_contents (path, NULL, "c\n", 2, &error));
  g_assert_no_error (error);
  assert_contents (path, "c\n");
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0640);
  assert_n_entries (f, 1);
}

/* commit_new () writes a new file, but never takes the name of one that appeared after the
 * output was opened: that file is left as it was, and so is the folder. */
static void
test_commit_new (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *path = scratch_path (f, "crop.png");
  g_autoptr(GError) error = NULL;
  MienOutput *output;

  output = mien_output_new (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (mien_output_write (output, "new", 3, &error));
  g_assert_true (mien_output_commit_new (output, &error));
  g_assert_no_error (error);
  mien_output_free (output);
  assert_contents (path, "new");
  assert_n_entries (f, 1);

  g_unlink (path);
  output = mien_output_new (path, NULL, &error);
  g_assert_no_error (error);
  /* Someone else's file, between the check and the commit. */
  write_file (path, "theirs");
  g_assert_true (mien_output_write (output, "mine", 4, &error));
  g_assert_false (mien_output_commit_new (output, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, path));
  mien_output_free (output);
  assert_contents (path, "theirs");
  assert_n_entries (f, 1);
}

static void
test_abandoned (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *path = scratch_path (f, "out.csv");
  g_autoptr(GError) error = NULL;
  MienOutput *output;

  write_file (path, "old\n");
  output = mien_output_new (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (mien_output_write (output, "half", 4, &error));
  /* Until the commit the target is the old file, and the temporary one is beside it. */
  assert_contents (path, "old\n");
  assert_n_entries (f, 2);
  mien_output_free (output);
  assert_contents (path, "old\n");
  assert_n_entries (f, 1);
}

static void
test_not_regular (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *fifo = scratch_path (f, "fifo");
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  /* A FIFO without a reader: opening it for writing would block; it must not be opened. */
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_false (mien_output_set_contents (fifo, NULL, "x", 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
  g_assert_nonnull (strstr (error->message, fifo));
  g_assert_nonnull (strstr (error->message, "FIFO"));
  g_clear_error (&error);
  g_assert_cmpint (g_lstat (fifo, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));

  /* A folder. */
  g_assert_false (mien_output_set_contents (f->dir, NULL, "x", 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
  g_clear_error (&error);

  /* A device: writing /dev/full would fail only at the end, and renaming over it would replace
   * the device node when run as root. */
  if (g_file_test ("/dev/full", G_FILE_TEST_EXISTS))
    {
      g_assert_false (mien_output_set_contents ("/dev/full", NULL, "x", 1, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
      g_assert_nonnull (strstr (error->message, "/dev/full"));
      g_clear_error (&error);
    }
  assert_n_entries (f, 1);
}

static void
test_symlink (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *target = scratch_path (f, "target.csv");
  g_autofree char *link = scratch_path (f, "link.csv");
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  write_file (target, "kept\n");
  g_assert_cmpint (symlink (target, link), ==, 0);
  /* The link is replaced by a file; what it pointed to is untouched. */
  g_assert_true (mien_output_set_contents (link, NULL, "new\n", 4, &error));
  g_assert_no_error (error);
  assert_contents (target, "kept\n");
  assert_contents (link, "new\n");
  g_assert_cmpint (g_lstat (link, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
}

static void
test_input (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *model = scratch_path (f, "model.safetensors");
  g_autofree char *hard = scratch_path (f, "hard.csv");
  g_autofree char *soft = scratch_path (f, "soft.csv");
  g_autofree char *model_link = scratch_path (f, "model-link.safetensors");
  g_autofree char *other = scratch_path (f, "other.csv");
  const char *inputs[] = { "/nonexistent/input", model, NULL };
  const char *link_inputs[] = { model_link, NULL };
  const char *targets[] = { model, hard, soft };
  g_autoptr(GError) error = NULL;

  write_file (model, "weights");
  g_assert_cmpint (link (model, hard), ==, 0);
  g_assert_cmpint (symlink (model, soft), ==, 0);
  g_assert_cmpint (symlink (model, model_link), ==, 0);

  /* The input itself, a hard link to it, a symlink to it. */
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      g_assert_false (mien_output_set_contents (targets[i], inputs, "x", 1, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, targets[i]));
      g_assert_nonnull (strstr (error->message, model));
      g_clear_error (&error);
    }
  /* The input given as a symlink, and that symlink as the output. */
  g_assert_false (mien_output_set_contents (model_link, link_inputs, "x", 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (mien_output_set_contents (model, link_inputs, "x", 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  assert_contents (model, "weights");

  /* Another path is fine. */
  g_assert_true (mien_output_set_contents (other, inputs, "x", 1, &error));
  g_assert_no_error (error);
  assert_n_entries (f, 5);
}

static void
test_read_only_folder (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *dir = scratch_path (f, "ro");
  g_autofree char *path = g_build_filename (dir, "out.csv", NULL);
  g_autofree char *probe = g_build_filename (dir, "probe", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  write_file (path, "old\n");
  g_assert_cmpint (g_chmod (dir, 0555), ==, 0);
  if (g_file_set_contents (probe, "", 0, NULL))
    {
      g_chmod (dir, 0755);
      g_test_skip ("this user can write in a read-only folder (root)");
      return;
    }
  g_assert_false (mien_output_set_contents (path, NULL, "new\n", 4, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  assert_contents (path, "old\n");
}

static void
test_missing_folder (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "no", "out.csv", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (mien_output_set_contents (path, NULL, "x", 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, path));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add (name, Fixture, NULL, mien_test_scratch_set_up, func, mien_test_scratch_tear_down)
  ADD ("/output/replace", test_replace);
  ADD ("/output/abandoned", test_abandoned);
  ADD ("/output/commit-new", test_commit_new);
  ADD ("/output/not-regular", test_not_regular);
  ADD ("/output/symlink", test_symlink);
  ADD ("/output/input", test_input);
  ADD ("/output/read-only-folder", test_read_only_folder);
  ADD ("/output/missing-folder", test_missing_folder);
#undef ADD
  return g_test_run ();
}
