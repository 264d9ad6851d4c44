/* fuzz-plugin-key-file.c — a plugin's .plugin key file, checked as mien-plugin-engine.c checks it
 * before it opens any module (mien_plugin_info_from_key_file).
 *
 * An accepted key file must give what the engine relies on next: a plugin id that cannot leave
 * the plugin folder, a known kind, a name, and a module path inside that folder.
 */
#include <string.h>

#include "mien-plugin-engine-private.h"
#include "fuzz-util.h"

#define PLUGIN_DIR "/nonexistent/plugins"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(MienPluginInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *module_dir = NULL;

  mien_fuzz_init ();

  if (!g_key_file_load_from_data (key_file, (const char *) data, size, G_KEY_FILE_NONE, NULL))
    return 0;

  info = mien_plugin_info_from_key_file (key_file, PLUGIN_DIR, "fuzz.plugin", &error);
  if (info == NULL)
    {
      mien_fuzz_assert_error (error, MIEN_PLUGIN_ERROR);
      g_assert_true (g_str_has_prefix (error->message, "fuzz.plugin: "));
      return 0;
    }
  g_assert_no_error (error);

  g_assert_cmpuint (strspn (info->id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789-_"), ==, strlen (info->id));
  g_assert_cmpstr (info->id, !=, "");
  g_assert_true (g_str_equal (info->kind, "backbone") || g_str_equal (info->kind, "face-detector"));
  g_assert_nonnull (info->name);
  g_assert_nonnull (info->description);
  module_dir = g_path_get_dirname (info->module_path);
  g_assert_cmpstr (module_dir, ==, PLUGIN_DIR);
  return 0;
}
