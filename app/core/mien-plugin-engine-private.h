/* mien-plugin-engine-private.h — the key-file check of mien-plugin-engine.c on its own, for the
 * engine and for tests/fuzz/fuzz-plugin-key-file.c; not part of the plugin-facing API.
 */
#pragma once

#include "mien-plugin-engine.h"

G_BEGIN_DECLS

/* Checks the [Plugin] group of `key_file`, read from `path` (only named in errors) in `dir` (where
 * the module is looked for). Returns a new info without a type (not yet loaded), or NULL with a
 * MIEN_PLUGIN_ERROR that starts with `path`. Opens nothing. */
MienPluginInfo *mien_plugin_info_from_key_file (GKeyFile    *key_file,
                                                const char  *dir,
                                                const char  *path,
                                                GError     **error);
void            mien_plugin_info_free          (MienPluginInfo *info);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienPluginInfo, mien_plugin_info_free)

G_END_DECLS
