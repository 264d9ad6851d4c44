/* mien-pth.h — a safe reader for PyTorch checkpoints (.pth/.pt as torch.save writes them).
 *
 * Two containers are read:
 *  - the zip format (torch >= 1.6): PREFIX/data.pkl, PREFIX/data/KEY (one stored entry per
 *    storage), PREFIX/version, all STORED (uncompressed);
 *  - the legacy format (_use_new_zipfile_serialization=False): five pickles in a row — magic
 *    number, protocol version 1001, sys_info, the object, the list of storage keys — then each
 *    storage as an int64 element count and its raw little-endian bytes.
 *
 * The pickle is read by a restricted unpickler that accepts what torch.load (weights_only=True)
 * accepts: tensors rebuilt by torch._utils._rebuild_tensor_v2 / _rebuild_parameter from
 * persistent-id storages (torch.FloatStorage ... torch.BoolStorage), collections.OrderedDict,
 * lists, tuples, dicts, str, bytes, ints, floats, None and booleans. Any other global, and any
 * call (REDUCE, BUILD, INST, OBJ, NEWOBJ) of anything else, is refused with an error naming it:
 * nothing is imported, resolved or executed, ever.
 *
 * Everything is checked before use: zip offsets and sizes (central directory, local headers,
 * zip64 fields, entries that overlap or run past the end, compressed or encrypted entries are
 * refused), every pickle length, memo index (the memo is bounded), stack depth and nesting,
 * storage sizes against their data, each tensor's sizes × strides + offset inside its storage
 * (without overflow). Views sharing a storage are legitimate (tied weights); two storages of a
 * legacy file are read one after the other, so they cannot overlap, and a key listed twice is
 * refused.
 *
 * The state dict is found at the top level or under "state_dict", "model_state_dict", "model"
 * or "module" (searched a few levels deep); a "module." prefix on every key (DataParallel) is
 * removed. Only tensor values become entries.
 *
 * The file is mapped, not read: entries point into the mapping until load_tensor copies one.
 *
 * Plain C + GLib: this file does not need libtorch (load_tensor goes through mien-torch.h).
 */
#pragma once

#include <glib.h>
#include "mien-torch.h"

G_BEGIN_DECLS

#define MIEN_PTH_ERROR (mien_pth_error_quark ())
GQuark mien_pth_error_quark (void);

typedef enum {
  MIEN_PTH_ERROR_IO,         /* open or map failed */
  MIEN_PTH_ERROR_FORMAT,     /* not a PyTorch checkpoint, or a broken zip / legacy container */
  MIEN_PTH_ERROR_TRUNCATED,  /* shorter than its own structure says */
  MIEN_PTH_ERROR_PICKLE,     /* a malformed pickle: bad opcode, length, memo index, stack */
  MIEN_PTH_ERROR_REFUSED,    /* a global or a call weights_only would refuse */
  MIEN_PTH_ERROR_STORAGE,    /* a storage or tensor outside its data, overlapping, too big */
  MIEN_PTH_ERROR_NO_STATE_DICT, /* no dict of tensors where a state dict is looked for */
} MienPthError;

typedef struct {
  const char    *name;           /* the state_dict key ("module." removed) */
  MienDType      dtype;
  int            ndim;
  const gint64  *shape;          /* ndim entries */
  const gint64  *stride;         /* ndim entries, in elements */
  gint64         storage_offset; /* in elements */
  const guint8  *storage;        /* the storage's first byte, inside the mapping */
  gsize          storage_size;   /* bytes */
} MienPthEntry;

typedef struct _MienPth MienPth;

/* Whether `data` starts like a checkpoint this reader takes (a zip, or the legacy format's
 * pickled magic number): content, not the file name, decides. */
gboolean            mien_pth_sniff            (const guint8 *data,
                                               gsize         size);

MienPth            *mien_pth_open             (const char  *path,
                                               GError     **error);
/* Parses a buffer already in memory (kept alive by a reference on `bytes`). */
MienPth            *mien_pth_new_from_bytes   (GBytes      *bytes,
                                               GError     **error);
void                mien_pth_free             (MienPth     *pth);

/* "zip" or "legacy". */
const char         *mien_pth_get_format       (MienPth     *pth);
/* Where the state dict was found: "" for the top level, else e.g. "state_dict" or
 * "checkpoint.model" (nested keys joined with "."). */
const char         *mien_pth_get_location     (MienPth     *pth);

/* Entries in the state dict's order. */
guint               mien_pth_get_n_entries    (MienPth     *pth);
const MienPthEntry *mien_pth_get_entry        (MienPth     *pth,
                                               guint        index);
/* NULL when absent. */
const MienPthEntry *mien_pth_lookup           (MienPth     *pth,
                                               const char  *name);
/* A contiguous CPU tensor holding a copy of entry `index` (strided views are gathered). */
MienTensor         *mien_pth_load_tensor      (MienPth     *pth,
                                               guint        index,
                                               GError     **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienPth, mien_pth_free)

G_END_DECLS
