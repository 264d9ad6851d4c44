/* fuzz-csv-manifest.c — a dataset's CSV manifest (mien_dataset_open in app/core/mien-dataset.c),
 * and the FER datasets' tables the same function reads (fer2013.csv's pixel rows, AffectNet's
 * CSV files: app/core/mien-dataset-formats.c; the corpus has a seed of each).
 *
 * A manifest that opens must give one class index below the class count per sample, and a path
 * for each (images are not read: the manifest reader does not open them).
 */
#include "mien-dataset.h"
#include "fuzz-util.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *path = NULL;
  g_autoptr(MienDataset) dataset = NULL;
  g_autoptr(GError) error = NULL;
  guint n_classes;

  mien_fuzz_init ();
  path = mien_fuzz_write_file ("manifest.csv", data, size);

  dataset = mien_dataset_open (path, NULL, &error);
  if (dataset == NULL)
    {
      mien_fuzz_assert_error (error, MIEN_DATASET_ERROR);
      return 0;
    }
  g_assert_no_error (error);

  n_classes = mien_dataset_get_n_classes (dataset);
  g_assert_cmpuint (n_classes, ==, g_strv_length ((char **) mien_dataset_get_classes (dataset)));
  for (guint i = 0; i < mien_dataset_get_n_samples (dataset); i++)
    {
      g_assert_nonnull (mien_dataset_get_path (dataset, i));
      g_assert_cmpuint (mien_dataset_get_label (dataset, i), <, n_classes);
    }
  return 0;
}
