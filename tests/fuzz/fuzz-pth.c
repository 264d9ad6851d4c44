/* fuzz-pth.c — the PyTorch checkpoint reader (app/torch/mien-pth.c) on any bytes.
 *
 * Beyond not crashing, what the reader promises (mien-pth.h) is checked on every file it
 * accepts: each entry's storage lies inside the input, every element its sizes and strides reach
 * lies inside its storage, lookup finds each entry by name, and small tensors load.
 */
#include <string.h>

#include "mien-pth.h"
#include "fuzz-util.h"

/* Loading copies the data into a libtorch tensor; larger ones add time, not coverage. */
#define MAX_LOAD_ELEMENTS 1024

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(MienPth) pth = NULL;
  g_autoptr(GError) error = NULL;
  const guint8 *base = g_bytes_get_data (bytes, NULL);

  mien_fuzz_init ();

  pth = mien_pth_new_from_bytes (bytes, &error);
  if (pth == NULL)
    {
      mien_fuzz_assert_error (error, MIEN_PTH_ERROR);
      return 0;
    }
  g_assert_no_error (error);
  g_assert_true (mien_pth_sniff (base, size));
  g_assert_nonnull (mien_pth_get_location (pth));

  for (guint i = 0; i < mien_pth_get_n_entries (pth); i++)
    {
      const MienPthEntry *entry = mien_pth_get_entry (pth, i);
      gsize element_size = mien_dtype_size (entry->dtype);
      guint64 numel = 1, last = entry->storage_offset;

      g_assert_nonnull (entry->name);
      g_assert_true (mien_pth_lookup (pth, entry->name) == entry);
      g_assert_cmpint (entry->ndim, >=, 0);
      g_assert_cmpint (entry->storage_offset, >=, 0);
      g_assert_true (entry->storage_size == 0 ||
                     (entry->storage >= base &&
                      entry->storage + entry->storage_size <= base + size));
      g_assert_cmpuint (entry->storage_size % element_size, ==, 0);
      for (int d = 0; d < entry->ndim; d++)
        {
          g_assert_cmpint (entry->shape[d], >=, 0);
          g_assert_cmpint (entry->stride[d], >=, 0);
          numel *= entry->shape[d];
        }
      if (numel == 0)
        continue;
      for (int d = 0; d < entry->ndim; d++)
        last += (guint64) (entry->shape[d] - 1) * entry->stride[d];
      g_assert_cmpuint (last, <, entry->storage_size / element_size);

      if (numel <= MAX_LOAD_ELEMENTS)
        {
          g_autoptr(MienTensor) tensor = mien_pth_load_tensor (pth, i, &error);

          g_assert_no_error (error);
          g_assert_cmpint (mien_tensor_numel (tensor), ==, numel);
        }
    }

  return 0;
}
