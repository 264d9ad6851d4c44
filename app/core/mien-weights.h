/* mien-weights.h — the catalogue of pretrained weights: what the backbone plugins publish, where
 * Mien keeps the files, and fetching them.
 *
 * The catalogue is gathered from the loaded plugins (each declares its variants' weights through
 * MienBackbone's list_weights; see MienWeightsInfo for the naming scheme), never from a central
 * list. Files live in one folder, $MIEN_WEIGHTS_DIR when set, else $XDG_DATA_HOME/mien/weights,
 * under the source's own file name (torch.hub's cache names them the same, so a copy from
 * ~/.cache/torch/hub/checkpoints can be dropped in). A file at its final name is whole: a
 * download is checked (size, SHA-256 or torchvision's prefix of it) before it is renamed into
 * place, and an interrupted one waits in FILE.part to be resumed.
 *
 * "--pretrained imagenet" is resolved here: mien_weights_resolve () gives the path of the
 * variant's default weights, or an error of one line saying which file to fetch, from where, and
 * where to put it.
 */
#pragma once

#include <gio/gio.h>

#include "mien-backbone.h"
#include "mien-core.h"
#include "mien-plugin-engine.h"

G_BEGIN_DECLS

#define MIEN_WEIGHTS_ERROR (mien_weights_error_quark ())
GQuark mien_weights_error_quark (void);

typedef enum {
  MIEN_WEIGHTS_ERROR_UNKNOWN,   /* no weights of that name, or none for that dataset */
  MIEN_WEIGHTS_ERROR_NONE,      /* the variant publishes no weights for that dataset */
  MIEN_WEIGHTS_ERROR_ABSENT,    /* known, but the file has not been downloaded */
} MienWeightsError;

typedef enum {
  MIEN_WEIGHTS_ABSENT,          /* neither the file nor a part of it */
  MIEN_WEIGHTS_PARTIAL,         /* an interrupted download waits in FILE.part */
  MIEN_WEIGHTS_DOWNLOADED,      /* the file is in place */
} MienWeightsState;

/* One entry of the catalogue: the plugin's row and the backbone it belongs to. */
typedef struct {
  char                  *family;   /* the plugin id: "resnet" */
  const MienWeightsInfo *info;     /* the plugin's static row (plugins stay resident) */
} MienWeightsEntry;

void      mien_weights_entry_free     (MienWeightsEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienWeightsEntry, mien_weights_entry_free)

/* The folder the files live in (it need not exist). Returns: (transfer full). */
char     *mien_weights_get_dir        (void);
/* Where `info`'s file is (or will be). Returns: (transfer full). */
char     *mien_weights_get_path       (const MienWeightsInfo *info);
/* `part_bytes` (may be NULL): the size of FILE.part when PARTIAL, else 0. */
MienWeightsState mien_weights_get_state (const MienWeightsInfo *info,
                                         gint64                *part_bytes);
/* "absent", "partial", "downloaded" (for --json). */
const char *mien_weights_state_to_string (MienWeightsState state);
/* "44.7 MiB" (the published size, as people compare it with the source's page).
 * Returns: (transfer full). */
char     *mien_weights_format_size    (const MienWeightsInfo *info);

/* Every backbone plugin's weights, in plugin id order, then variant, then the plugin's order.
 * Returns: (transfer container) (element-type MienWeightsEntry). */
GPtrArray *mien_weights_list          (MienPluginEngine *engine);
/* The entry called `name` (ASCII case ignored), or NULL and MIEN_WEIGHTS_ERROR_UNKNOWN.
 * Returns: (transfer full) (nullable). */
MienWeightsEntry *mien_weights_find   (MienPluginEngine  *engine,
                                       const char        *name,
                                       GError           **error);

/* Whether a --pretrained value names catalogue weights ("imagenet", "imagenet:NAME") rather
 * than a file. Use "./imagenet" for a file of that name. */
gboolean  mien_weights_is_spec        (const char *pretrained);
/* The path of the weights `spec` ("imagenet": the variant's default; "imagenet:NAME": that
 * entry, which must belong to the variant) names for the backbone `backbone` ("family[:variant]",
 * as --backbone takes it; no variant: the family's default), when the file is there. Otherwise
 * NULL and one line: which file to download, from where, and where to put it
 * (MIEN_WEIGHTS_ERROR_ABSENT), or why there is nothing to download (an unknown backbone or
 * variant is the plugin engine's error). Nothing is fetched here.
 * Returns: (transfer full) (nullable). */
char     *mien_weights_resolve        (MienPluginEngine  *engine,
                                       const char        *spec,
                                       const char        *backbone,
                                       GError           **error);

/* The row of the backbone `spec` ("family[:variant]", as --backbone takes it) whose file `path`
 * is, told by its file name (the catalogue's, as torch.hub names it too), or NULL: a file of the
 * user's own, or no such backbone. Training uses it to normalise as the weights were trained
 * (timm's AugReg ViTs: 0.5 / 0.5).
 * Returns: (transfer none) (nullable). */
const MienWeightsInfo *mien_weights_find_file (MienPluginEngine *engine,
                                               const char       *spec,
                                               const char       *path);

/* Fetches `info`'s file to its place, resuming a part left by an earlier try (see
 * mien_download_file_full ()). Blocking: call it from a worker thread or a command-line tool. */
gboolean  mien_weights_download       (const MienWeightsInfo  *info,
                                       MienProgressFunc        progress,
                                       gpointer                progress_data,
                                       GCancellable           *cancellable,
                                       GError                **error);

G_END_DECLS
