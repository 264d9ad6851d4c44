/* replay-main.c — the normal build's main () for a harness: every file of the folders named on
 * the command line goes through LLVMFuzzerTestOneInput () as one g_test case, so the seed corpus
 * and every fixed crash reproducer are regression tests.
 *
 *   fuzz-TARGET CORPUS_DIR [--optional] [DIR ...]
 *
 * A folder before --optional must exist and hold at least one file (a corpus that went missing
 * must fail the test, not pass it with nothing checked); folders after it may be absent or empty
 * (tests/fuzz/crashes/TARGET has files only once a fuzzer has found something).
 */
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "fuzz-util.h"

static void
replay_file (gconstpointer user_data)
{
  const char *path = user_data;
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  /* An exact-size copy, as libFuzzer passes: reading one byte past the input is then a fault. */
  {
    g_autofree guint8 *input = g_memdup2 (contents, len);

    g_assert_cmpint (LLVMFuzzerTestOneInput (input, len), ==, 0);
  }
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Adds one test per file of `dir`, sorted by name; returns how many. */
static guint
add_folder (const char *dir,
            gboolean    required)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) handle = g_dir_open (dir, 0, &error);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *base = g_path_get_basename (dir);
  g_autofree char *parent = g_path_get_dirname (dir);
  g_autofree char *kind = g_path_get_basename (parent);
  const char *name;

  if (handle == NULL)
    {
      if (required)
        {
          g_printerr ("%s: cannot open the corpus folder: %s\n", dir, error->message);
          exit (EXIT_FAILURE);
        }
      return 0;
    }
  while ((name = g_dir_read_name (handle)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *test_path = g_strdup_printf ("/fuzz/%s/%s/%s", base, kind,
                                                    (char *) names->pdata[i]);

      /* The path lives as long as the test program. */
      g_test_add_data_func_full (test_path, g_build_filename (dir, names->pdata[i], NULL),
                                 replay_file, g_free);
    }

  if (required && names->len == 0)
    {
      g_printerr ("%s: the corpus folder is empty\n", dir);
      exit (EXIT_FAILURE);
    }
  return names->len;
}

int
main (int    argc,
      char **argv)
{
  gboolean required = TRUE;

  g_test_init (&argc, &argv, NULL);
  mien_fuzz_init ();

  if (argc < 2)
    {
      g_printerr ("Usage: %s CORPUS_DIR [--optional] [DIR ...]\n", argv[0]);
      return EXIT_FAILURE;
    }
  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--optional"))
        required = FALSE;
      else
        add_folder (argv[i], required);
    }
  return g_test_run ();
}
