/* fuzz-model-metadata.c — the "mien" metadata of a model file (mien_model_read_metadata in
 * app/core/mien-model.c).
 *
 * The input is the metadata's JSON text (what a hand-edited or hostile file could hold): Mien's
 * own writer wraps it into a safetensors file without tensors, so that every input reaches the
 * metadata parser instead of dying in the container format, which fuzz-safetensors covers. The
 * writer is checked on the way: a file it wrote must never be refused as a safetensors file.
 */
#include <string.h>

#include "mien-model.h"
#include "mien-safetensors.h"
#include "fuzz-util.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GHashTable) file_metadata = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                               NULL, g_free);
  g_autofree char *path = g_build_filename (mien_fuzz_dir (), "model.safetensors", NULL);
  g_autoptr(JsonObject) metadata = NULL;
  g_autoptr(GError) error = NULL;

  mien_fuzz_init ();

  /* A safetensors metadata value is a JSON string: UTF-8 without NUL (rejects both). */
  if (!g_utf8_validate ((const char *) data, size, NULL))
    return 0;
  g_hash_table_insert (file_metadata, "mien", g_strndup ((const char *) data, size));
  if (!mien_safetensors_write (path, file_metadata, NULL, 0, NULL, NULL, &error))
    g_error ("%s", error->message);

  metadata = mien_model_read_metadata (path, &error);
  if (metadata == NULL)
    {
      mien_fuzz_assert_error (error, MIEN_MODEL_ERROR);
      /* Every message names the file it is about. */
      g_assert_nonnull (strstr (error->message, path));
      return 0;
    }
  g_assert_no_error (error);
  return 0;
}
