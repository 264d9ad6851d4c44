/* mien-var-store.h — named parameters and buffers of a network.
 *
 * Names are dotted paths equal to PyTorch `state_dict` keys ("layer1.0.conv1.weight"), so that a
 * var store saved as safetensors reads as a state_dict and torchvision/timm weights load into it.
 * Entries keep their insertion order (that of the network's state_dict).
 *
 * Handles returned by the store are aliases (mien_tensor_alias): they share the tensor with the
 * store. Moving the store to a device or loading weights replaces the data in place
 * (mien_tensor_set_data_ / mien_tensor_copy_), so handles a plugin keeps stay valid.
 */
#pragma once

#include <glib.h>
#include "mien-torch.h"
#include "mien-safetensors.h"
#include "mien-tensor-source.h"

G_BEGIN_DECLS

#define MIEN_VAR_STORE_ERROR (mien_var_store_error_quark ())
GQuark mien_var_store_error_quark (void);

typedef enum {
  MIEN_VAR_STORE_ERROR_DUPLICATE,   /* a name added twice */
  MIEN_VAR_STORE_ERROR_NOT_FOUND,   /* no such name */
  MIEN_VAR_STORE_ERROR_MISMATCH,    /* strict load: missing, unexpected or wrongly shaped keys;
                                       copy_from between stores of different layout */
} MienVarStoreError;

typedef enum {
  MIEN_VAR_PARAMETER, /* trained by default; counted as a parameter */
  MIEN_VAR_BUFFER,    /* state such as batch-norm running statistics; never trained */
} MienVarKind;

/* How a new entry is initialised (ignored on the meta device; a NULL MienInit means zeros). */
typedef enum {
  MIEN_INIT_ZEROS,
  MIEN_INIT_ONES,
  MIEN_INIT_CONSTANT,        /* a */
  MIEN_INIT_NORMAL,          /* mean a, std b */
  MIEN_INIT_UNIFORM,         /* [a, b) */
  MIEN_INIT_TRUNC_NORMAL,    /* mean 0, std a, truncated to [-2a, 2a]. Not what
                                torch.nn.init.trunc_normal_ (std=a) does by default: its bounds
                                are ±2 absolute, which for a small std is MIEN_INIT_NORMAL */
  MIEN_INIT_KAIMING_NORMAL_FAN_OUT,  /* relu, fan_out: torchvision's conv init */
  MIEN_INIT_KAIMING_UNIFORM, /* PyTorch's default Linear/Conv weight init: slope sqrt(5) */
  MIEN_INIT_FAN_IN_UNIFORM,  /* U(-1/sqrt(a), 1/sqrt(a)) with a = the fan-in of the matching
                                weight: PyTorch's default bias init */
  MIEN_INIT_XAVIER_UNIFORM,
} MienInitKind;

typedef struct {
  MienInitKind kind;
  double       a;
  double       b;
} MienInit;

typedef struct _MienVarStore MienVarStore;

/* New entries are created on `device` as float32 (buffers may choose their dtype). */
MienVarStore *mien_var_store_new           (MienDevice     device);
void          mien_var_store_free          (MienVarStore  *vs);
MienDevice    mien_var_store_get_device    (MienVarStore  *vs);

/* Creates and registers a float32 parameter. Returns an alias (caller-owned). */
MienTensor   *mien_var_store_new_parameter (MienVarStore   *vs,
                                            const char     *name,
                                            const gint64   *shape,
                                            int             ndim,
                                            const MienInit *init,
                                            GError        **error);
MienTensor   *mien_var_store_new_buffer    (MienVarStore   *vs,
                                            const char     *name,
                                            const gint64   *shape,
                                            int             ndim,
                                            MienDType       dtype,
                                            const MienInit *init,
                                            GError        **error);
/* Registers an existing tensor (the store keeps an alias). A floating-point parameter is made
 * to require grad; a buffer that requires grad is refused (MIEN_TORCH_ERROR_INVALID_ARGUMENT). */
gboolean      mien_var_store_add           (MienVarStore   *vs,
                                            const char     *name,
                                            MienVarKind     kind,
                                            MienTensor     *tensor,
                                            GError        **error);

guint         mien_var_store_get_n_vars    (MienVarStore  *vs);
const char   *mien_var_store_get_name      (MienVarStore  *vs,
                                            guint          index);
MienVarKind   mien_var_store_get_kind      (MienVarStore  *vs,
                                            guint          index);
/* Alias of entry `index` / `name`; NULL when absent. */
MienTensor   *mien_var_store_get_nth       (MienVarStore  *vs,
                                            guint          index);
MienTensor   *mien_var_store_get           (MienVarStore  *vs,
                                            const char    *name);
gboolean      mien_var_store_contains      (MienVarStore  *vs,
                                            const char    *name);

/* Sum of numel over parameters (all, or only the trainable ones). Buffers never count. */
gint64        mien_var_store_count_parameters (MienVarStore *vs,
                                               gboolean      trainable_only);

/* Marks every parameter whose name equals `prefix` or starts with `prefix` followed by "." as
 * trainable or frozen ("" selects all; a prefix ending in "." is matched as it is). Frozen
 * parameters do not require grad; integer parameters are never trainable. Returns the number of
 * parameters changed. */
guint         mien_var_store_set_trainable (MienVarStore  *vs,
                                            const char    *prefix,
                                            gboolean       trainable);
gboolean      mien_var_store_is_trainable  (MienVarStore  *vs,
                                            const char    *name);

/* Copies every value of `src` into `vs` (parameters and buffers). Both must hold the same names
 * with the same shapes, else MIEN_VAR_STORE_ERROR_MISMATCH names the first difference and
 * nothing is copied; devices and dtypes may differ. */
gboolean      mien_var_store_copy_from     (MienVarStore  *vs,
                                            MienVarStore  *src,
                                            GError       **error);
/* Moves every entry to `device` in place (handles stay valid). All-or-nothing: every entry is
 * converted before any is swapped in, so a failure (no such device, out of memory) changes
 * nothing. Accumulated gradients are dropped. Meta tensors cannot move to or from real devices. */
gboolean      mien_var_store_to_device     (MienVarStore  *vs,
                                            MienDevice     device,
                                            GError       **error);
/* Converts floating-point entries to `dtype` (a floating-point type) in place (mixed precision,
 * half-size files); integer entries keep theirs. All-or-nothing, as to_device; gradients are
 * dropped. A no-op on the meta device. */
gboolean      mien_var_store_to_dtype      (MienVarStore  *vs,
                                            MienDType      dtype,
                                            GError       **error);
/* Registers every trainable parameter with `optimizer` under its name. */
gboolean      mien_var_store_add_to_optimizer (MienVarStore  *vs,
                                               MienOptimizer *optimizer,
                                               GError       **error);

/* ---- Loading and saving ------------------------------------------------------------------ */

/* Maps a key of a file to the store's naming (e.g. timm → torchvision). Returns a new string,
 * or NULL to keep the key as it is. */
typedef char *(*MienKeyMapFunc) (const char *key,
                                 gpointer    user_data);

/* Adapts a file's tensor whose shape differs from its store entry's (e.g. a ViT's position
 * embedding saved for another input size). `name` is the entry's name without store_prefix,
 * `value` the file's tensor (on the CPU, borrowed), `shape`/`ndim` the entry's shape. Returns a
 * tensor of that shape, or NULL: with `error` set, loading fails; without, the entry is reported
 * as mismatched as it would be with no adapter. */
typedef MienTensor *(*MienAdaptFunc) (const char    *name,
                                      MienTensor    *value,
                                      const gint64  *shape,
                                      int            ndim,
                                      gpointer       user_data,
                                      GError       **error);

typedef enum {
  MIEN_LOAD_TOLERANT = 0,
  /* Fail (and change nothing) unless every key matches: no missing, unexpected or mismatched. */
  MIEN_LOAD_STRICT = 1 << 0,
} MienLoadFlags;

typedef struct {
  const char     *file_prefix;  /* only file keys starting with this are used, with it removed */
  const char     *store_prefix; /* only store entries starting with this are filled, after it */
  MienKeyMapFunc  map_key;      /* applied after file_prefix is removed; may be NULL */
  gpointer        map_key_data;
  MienLoadFlags   flags;
  MienAdaptFunc   adapt;        /* for entries whose shapes differ; may be NULL */
  gpointer        adapt_data;
} MienLoadOptions;

typedef struct {
  GPtrArray  *missing;      /* store names that got no value */
  GPtrArray  *unexpected;   /* file keys (as written in the file) that matched nothing */
  GPtrArray  *mismatched;   /* "name: file [a, b] vs model [c, d]", name as in the store */
  guint       n_loaded;
  GHashTable *metadata;     /* the file's __metadata__ (string → string) */
} MienLoadReport;

void          mien_load_report_free        (MienLoadReport *report);
/* One human-readable line: counts and the first five names of each list, e.g. "loaded 320
 * tensors; 2 missing (fc.weight, fc.bias); 0 unexpected; 0 shape mismatches". */
char         *mien_load_report_to_string   (MienLoadReport *report);

/* Fills the store from an open file. Tolerant mode loads what matches and reports the rest;
 * strict mode fails with MIEN_VAR_STORE_ERROR_MISMATCH (and loads nothing) unless all matches.
 * Values are converted to each entry's dtype and device. `report` may be NULL, and is left
 * unset on failure (the error message summarises the lists). `options` may be NULL (tolerant,
 * no prefixes, no mapping). The source may be of any format (mien-tensor-source.h). */
gboolean      mien_var_store_load_from_source (MienVarStore          *vs,
                                               MienTensorSource      *src,
                                               const MienLoadOptions *options,
                                               MienLoadReport       **report,
                                               GError               **error);
/* mien_var_store_load_from_source () on an open safetensors file. */
gboolean      mien_var_store_load_from     (MienVarStore          *vs,
                                            MienSafetensors       *st,
                                            const MienLoadOptions *options,
                                            MienLoadReport       **report,
                                            GError               **error);
/* Opens `path` by its content: safetensors or a PyTorch checkpoint (.pth/.pt, read safely: see
 * mien-pth.h). */
gboolean      mien_var_store_load          (MienVarStore          *vs,
                                            const char            *path,
                                            const MienLoadOptions *options,
                                            MienLoadReport       **report,
                                            GError               **error);
/* Saves every entry (in order, with its own dtype) under `prefix` + name, with `metadata`
 * (string → string, may be NULL) as __metadata__. Atomic. Entries on the meta device have no
 * values: saving them fails (MIEN_TORCH_ERROR_INVALID_ARGUMENT). */
gboolean      mien_var_store_save          (MienVarStore  *vs,
                                            const char    *path,
                                            const char    *prefix,
                                            GHashTable    *metadata,
                                            GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienVarStore, mien_var_store_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienLoadReport, mien_load_report_free)

G_END_DECLS
