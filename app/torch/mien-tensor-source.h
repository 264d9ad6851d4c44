/* mien-tensor-source.h — the named tensors of a weights file, whatever its format.
 *
 * A source lists (name, dtype, shape) entries and loads each as a CPU tensor, from a safetensors
 * file (MienSafetensors) or a PyTorch checkpoint (MienPth). mien_var_store_load_from_source ()
 * reads any source, so the var store does not care which format a file is in.
 */
#pragma once

#include <glib.h>
#include "mien-torch.h"
#include "mien-safetensors.h"
#include "mien-pth.h"

G_BEGIN_DECLS

typedef struct {
  const char    *name;
  MienDType      dtype;
  int            ndim;
  const gint64  *shape;   /* ndim entries */
} MienTensorSourceEntry;

typedef struct _MienTensorSource MienTensorSource;

/* Opens `path` by its content: a PyTorch checkpoint (zip or legacy torch.save file, see
 * mien-pth.h) or else safetensors. Errors are those of mien_pth_open () or
 * mien_safetensors_open (). */
MienTensorSource            *mien_tensor_source_open          (const char       *path,
                                                               GError          **error);
/* Sources over an open reader, which must outlive them. */
MienTensorSource            *mien_tensor_source_new_for_safetensors (MienSafetensors *st);
MienTensorSource            *mien_tensor_source_new_for_pth   (MienPth          *pth);
void                         mien_tensor_source_free          (MienTensorSource *src);

/* "safetensors" or "pth". */
const char                  *mien_tensor_source_get_format    (MienTensorSource *src);
guint                        mien_tensor_source_get_n_entries (MienTensorSource *src);
const MienTensorSourceEntry *mien_tensor_source_get_entry     (MienTensorSource *src,
                                                               guint             index);
/* safetensors' `__metadata__` (string → string); empty for a checkpoint. Borrowed. */
GHashTable                  *mien_tensor_source_get_metadata  (MienTensorSource *src);
/* A CPU tensor holding a copy of entry `index`, in the file's dtype. */
MienTensor                  *mien_tensor_source_load_tensor   (MienTensorSource *src,
                                                               guint             index,
                                                               GError          **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienTensorSource, mien_tensor_source_free)

G_END_DECLS
