/* fuzz-safetensors.c — the safetensors reader (app/torch/mien-safetensors.c) on any bytes.
 *
 * Beyond not crashing, what the reader promises (mien-safetensors.h) is checked on every file it
 * accepts: each entry lies inside the input and has numel * dtype-size bytes, entries are sorted
 * by offset without overlap, lookup finds each by name, and small tensors load.
 */
#include <string.h>

#include "mien-safetensors.h"
#include "fuzz-util.h"

/* Loading copies the data into a libtorch tensor; larger ones add time, not coverage. */
#define MAX_LOAD_SIZE 4096

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(MienSafetensors) st = NULL;
  g_autoptr(GError) error = NULL;
  const guint8 *base = g_bytes_get_data (bytes, NULL);
  const guint8 *previous_end = NULL;
  GHashTableIter iter;
  gpointer key, value;

  mien_fuzz_init ();

  st = mien_safetensors_new_from_bytes (bytes, &error);
  if (st == NULL)
    {
      mien_fuzz_assert_error (error, MIEN_SAFETENSORS_ERROR);
      return 0;
    }
  g_assert_no_error (error);

  for (guint i = 0; i < mien_safetensors_get_n_entries (st); i++)
    {
      const MienSafetensorsEntry *entry = mien_safetensors_get_entry (st, i);
      gsize numel = 1;

      g_assert_nonnull (entry->name);
      g_assert_true (mien_safetensors_lookup (st, entry->name) == entry);
      g_assert_cmpint (entry->ndim, >=, 0);
      for (int d = 0; d < entry->ndim; d++)
        {
          g_assert_cmpint (entry->shape[d], >=, 0);
          numel *= entry->shape[d];
        }
      g_assert_cmpuint (entry->size, ==, numel * mien_dtype_size (entry->dtype));
      if (entry->size == 0)
        continue;
      g_assert_true (entry->data >= base && entry->data + entry->size <= base + size);
      g_assert_true (previous_end == NULL || entry->data >= previous_end);
      previous_end = entry->data + entry->size;

      if (entry->size <= MAX_LOAD_SIZE)
        {
          g_autoptr(MienTensor) tensor = mien_safetensors_load_tensor (st, entry->name, &error);

          g_assert_no_error (error);
          g_assert_cmpint (mien_tensor_numel (tensor), ==, numel);
        }
    }

  g_hash_table_iter_init (&iter, mien_safetensors_get_metadata (st));
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_assert_true (g_utf8_validate (key, -1, NULL) && g_utf8_validate (value, -1, NULL));

  return 0;
}
