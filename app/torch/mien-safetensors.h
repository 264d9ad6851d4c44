/* mien-safetensors.h — reading and writing the safetensors format in C.
 *
 * Format: an 8-byte little-endian header length N, N bytes of JSON
 *   {"__metadata__": {"k": "v", ...}, "name": {"dtype": "F32", "shape": [2, 3],
 *    "data_offsets": [begin, end]}, ...}
 * then the data buffer; offsets are relative to the buffer's start.
 *
 * Reading maps the file and checks every length and offset before use: the header length against
 * the file size and a 100 MB cap, the JSON's shape, each dtype, each shape (non-negative, no
 * overflow), each [begin, end) inside the buffer with end - begin == numel * dtype size, no two
 * ranges overlapping and no hole in the buffer. A file that fails any check is refused whole with
 * a MIEN_SAFETENSORS_ERROR naming the tensor and the reason.
 *
 * Writing is atomic: a temporary file beside the target, fsync'ed, then renamed over it. On any
 * error (a full disk, say) the temporary file is removed and the target is left as it was.
 *
 * Plain C + GLib + JSON-GLib: this file does not need libtorch.
 */
#pragma once

#include <glib.h>
#include "mien-torch.h"

G_BEGIN_DECLS

#define MIEN_SAFETENSORS_ERROR (mien_safetensors_error_quark ())
GQuark mien_safetensors_error_quark (void);

typedef enum {
  MIEN_SAFETENSORS_ERROR_IO,          /* open, map, write, fsync or rename failed */
  MIEN_SAFETENSORS_ERROR_TRUNCATED,   /* shorter than its header says (cut in the header, or
                                         tensors that tile more data than the file holds) */
  MIEN_SAFETENSORS_ERROR_HEADER,      /* header too large, not strict JSON (RFC 8259: no
                                         comments, duplicate keys, trailing data, integers
                                         beyond gint64, \u0000), or not the expected shape */
  MIEN_SAFETENSORS_ERROR_DTYPE,       /* unknown dtype string */
  MIEN_SAFETENSORS_ERROR_SHAPE,       /* negative or overflowing shape */
  MIEN_SAFETENSORS_ERROR_OFFSETS,     /* out of bounds, overlapping, a hole, or wrong size */
  MIEN_SAFETENSORS_ERROR_NOT_FOUND,   /* no tensor of that name */
  MIEN_SAFETENSORS_ERROR_INVALID,     /* bad arguments to the writer (duplicate name, ...) */
} MienSafetensorsError;

/* Largest header accepted, as the reference implementation. */
#define MIEN_SAFETENSORS_MAX_HEADER (100 * 1000 * 1000)

typedef struct {
  const char    *name;
  MienDType      dtype;
  int            ndim;
  const gint64  *shape;   /* ndim entries */
  /* Reading: points into the mapping, valid while the MienSafetensors lives.
   * Writing: the bytes to write, or NULL to have the writer's fill function provide them. */
  const guint8  *data;
  gsize          size;    /* bytes: numel * mien_dtype_size (dtype) */
} MienSafetensorsEntry;

/* "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL" */
const char *mien_safetensors_dtype_to_string   (MienDType    dtype);
gboolean    mien_safetensors_dtype_from_string (const char  *str,
                                                MienDType   *out);

/* ---- Reading ----------------------------------------------------------------------------- */

typedef struct _MienSafetensors MienSafetensors;

MienSafetensors *mien_safetensors_open       (const char   *path,
                                              GError      **error);
/* Parses a buffer already in memory (kept alive by a reference on `bytes`). */
MienSafetensors *mien_safetensors_new_from_bytes (GBytes  *bytes,
                                                  GError **error);
void             mien_safetensors_free       (MienSafetensors *st);

/* Entries in the order of their data offsets. */
guint                        mien_safetensors_get_n_entries (MienSafetensors *st);
const MienSafetensorsEntry  *mien_safetensors_get_entry     (MienSafetensors *st,
                                                             guint            index);
/* NULL when absent. */
const MienSafetensorsEntry  *mien_safetensors_lookup        (MienSafetensors *st,
                                                             const char      *name);
/* The `__metadata__` map (string → string); never NULL, possibly empty. Borrowed. */
GHashTable                  *mien_safetensors_get_metadata  (MienSafetensors *st);
/* A CPU tensor holding a copy of entry `name`. */
MienTensor                  *mien_safetensors_load_tensor   (MienSafetensors *st,
                                                             const char      *name,
                                                             GError         **error);

/* ---- Writing ----------------------------------------------------------------------------- */

/* Fills `dest` (entries[index].size bytes) with the data of entry `index`. Not called for
 * empty entries. Its error is passed on, prefixed with the file name. */
typedef gboolean (*MienSafetensorsFillFunc) (guint     index,
                                             guint8   *dest,
                                             gsize     size,
                                             gpointer  user_data,
                                             GError  **error);

/* Writes `n_entries` tensors in the given order, with `metadata` (string → string, may be NULL)
 * as `__metadata__` (keys sorted, so equal inputs give equal files). Entries whose `data` is
 * NULL get their bytes from `fill`, one entry at a time. Names must be non-empty UTF-8, unique
 * and not "__metadata__" (else MIEN_SAFETENSORS_ERROR_INVALID). The new file has mode 0644 less
 * the umask. */
gboolean mien_safetensors_write (const char                 *path,
                                 GHashTable                 *metadata,
                                 const MienSafetensorsEntry *entries,
                                 guint                       n_entries,
                                 MienSafetensorsFillFunc     fill,
                                 gpointer                    user_data,
                                 GError                    **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienSafetensors, mien_safetensors_free)

G_END_DECLS
