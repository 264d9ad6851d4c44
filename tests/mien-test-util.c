#include <string.h>

#include <glib/gstdio.h>

#include "mien-safetensors.h"

#include "mien-test-util.h"

void
mien_test_scratch_set_up (MienTestScratch *scratch,
                          gconstpointer    data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *program = g_path_get_basename (g_get_prgname ());
  g_autofree char *template = g_strdup_printf ("mien-%s-XXXXXX", program);

  scratch->dir = g_dir_make_tmp (template, &error);
  g_assert_no_error (error);
}

void
mien_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR) || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_unlink (path);
      return;
    }
  dir = g_dir_open (path, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      mien_test_remove_tree (child);
    }
  g_rmdir (path);
}

void
mien_test_scratch_tear_down (MienTestScratch *scratch,
                             gconstpointer    data)
{
  mien_test_remove_tree (scratch->dir);
  g_clear_pointer (&scratch->dir, g_free);
}

double *
mien_test_values_of (MienTensor *t,
                     gsize      *n_out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) d = mien_tensor_to_dtype (t, MIEN_DTYPE_FLOAT64, &error);
  gsize n = (gsize) mien_tensor_numel (t);
  double *values = g_new0 (double, MAX (n, 1));

  g_assert_no_error (error);
  g_assert_true (mien_tensor_to_host (d, values, n * sizeof (double), &error));
  g_assert_no_error (error);
  if (n_out != NULL)
    *n_out = n;
  return values;
}

void
mien_test_assert_same_tensors (const char *path_a,
                               const char *path_b)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienSafetensors) a = mien_safetensors_open (path_a, &error);
  g_autoptr(MienSafetensors) b = NULL;

  g_assert_no_error (error);
  b = mien_safetensors_open (path_b, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mien_safetensors_get_n_entries (a), ==, mien_safetensors_get_n_entries (b));
  for (guint i = 0; i < mien_safetensors_get_n_entries (a); i++)
    {
      const MienSafetensorsEntry *ea = mien_safetensors_get_entry (a, i);
      const MienSafetensorsEntry *eb = mien_safetensors_lookup (b, ea->name);

      g_assert_nonnull (eb);
      g_assert_cmpuint (ea->size, ==, eb->size);
      if (memcmp (ea->data, eb->data, ea->size) != 0)
        g_error ("%s differs between %s and %s", ea->name, path_a, path_b);
    }
}
