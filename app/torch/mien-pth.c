/* mien-pth.c — a safe reader for PyTorch checkpoints (see mien-pth.h).
 *
 * Nothing here recurses over the pickle's values except the state-dict search, which follows a
 * few named keys to a fixed depth, so cyclic or deeply nested values cost nothing. Every value
 * lives in one arena freed with the reader: the number of values is bounded, so is its memory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mien-pth.h"

G_DEFINE_QUARK (mien-pth-error-quark, mien_pth_error)

/* Bounds of the unpickler: a torchvision ViT-B/16 state dict needs ~3 000 memo slots, a stack of
 * a few hundred and ~10 000 values. */
#define MAX_MEMO     (1 << 20)
#define MAX_STACK    (1 << 20)
#define MAX_MARKS    1024
#define MAX_VALUES   (1 << 21)
#define MAX_DEPTH    100
#define MAX_DIMS     64
/* Python ints beyond 64 bits are kept as bytes only to compare the legacy magic number. */
#define MAX_BIGINT   64
#define MAX_GLOBAL   256
#define MAX_KEY      64
/* How many dict levels the state-dict search descends through named keys. */
#define SEARCH_DEPTH 4

#define ZIP_LOCAL_SIG   0x04034b50
#define ZIP_CENTRAL_SIG 0x02014b50
#define ZIP_EOCD_SIG    0x06054b50
#define ZIP64_LOC_SIG   0x07064b50
#define ZIP64_EOCD_SIG  0x06064b50

/* torch.serialization.MAGIC_NUMBER, 0x1950a86a20f9469cfc6c, as pickle's LONG1 stores it. */
static const guint8 legacy_magic[] = {
  0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19
};
#define LEGACY_PROTOCOL 1001

typedef enum {
  V_NONE,
  V_BOOL,
  V_INT,
  V_BIGINT,   /* raw little-endian two's complement bytes in s */
  V_FLOAT,
  V_STR,
  V_BYTES,
  V_LIST,
  V_TUPLE,
  V_DICT,     /* dict and OrderedDict: items holds key, value, key, value, ... */
  V_GLOBAL,
  V_STORAGE,
  V_TENSOR,
} ValueKind;

typedef enum {
  GLOBAL_ORDERED_DICT,
  GLOBAL_REBUILD_TENSOR_V2,
  GLOBAL_REBUILD_PARAMETER,
  GLOBAL_STORAGE,
} GlobalKind;

typedef struct {
  char          *key;
  MienDType      dtype;
  gint64         numel;
  const guint8  *data;      /* NULL until the container says where the bytes are */
} Storage;

typedef struct {
  Storage *storage;
  gint64   offset;
  int      ndim;
  gint64   shape[MAX_DIMS];
  gint64   stride[MAX_DIMS];
} Tensor;

typedef struct {
  ValueKind kind;
  guint     depth;   /* containers: 1 + the deepest item's depth */
  union {
    gboolean  b;
    gint64    i;
    double    f;
    struct {
      char  *data;
      gsize  len;
    } s;
    GPtrArray *items;
    struct {
      GlobalKind  kind;
      MienDType   dtype;
      const char *name;   /* static */
    } global;
    Storage   *storage;
    Tensor    *tensor;
  } u;
} Value;

struct _MienPth {
  GBytes      *bytes;
  const char  *format;
  char        *location;
  GPtrArray   *arena;      /* Value *, owned */
  GHashTable  *storages;   /* key → Storage *, owned */
  GArray      *entries;    /* MienPthEntry */
  GHashTable  *by_name;    /* name → entry index + 1 */
};

typedef struct {
  MienPth       *pth;
  const guint8  *data;
  gsize          len;
  gsize          pos;
  GPtrArray     *stack;   /* Value *, borrowed from the arena */
  GArray        *marks;   /* guint: stack heights */
  GPtrArray     *memo;    /* Value * or NULL */
} Unpickler;

static const struct {
  const char *name;
  MienDType   dtype;
} storage_types[] = {
  { "torch.FloatStorage", MIEN_DTYPE_FLOAT32 },
  { "torch.HalfStorage", MIEN_DTYPE_FLOAT16 },
  { "torch.BFloat16Storage", MIEN_DTYPE_BFLOAT16 },
  { "torch.DoubleStorage", MIEN_DTYPE_FLOAT64 },
  { "torch.LongStorage", MIEN_DTYPE_INT64 },
  { "torch.IntStorage", MIEN_DTYPE_INT32 },
  { "torch.ShortStorage", MIEN_DTYPE_INT16 },
  { "torch.CharStorage", MIEN_DTYPE_INT8 },
  { "torch.ByteStorage", MIEN_DTYPE_UINT8 },
  { "torch.BoolStorage", MIEN_DTYPE_BOOL },
};

/* Keys torch.save callers commonly nest a state dict under, most specific first. */
static const char * const nesting_keys[] = {
  "state_dict", "model_state_dict", "model", "module",
};

static gboolean G_GNUC_PRINTF (3, 4)
fail (GError     **error,
      MienPthError code,
      const char  *format,
      ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (MIEN_PTH_ERROR, code, format, args));
  va_end (args);
  return FALSE;
}

/* A file's bytes fit for a message: valid UTF-8, at most 80 characters. */
static char *
shown (const char *data,
       gssize      len)
{
  g_autofree char *valid = g_utf8_make_valid (data, len);

  if (g_utf8_strlen (valid, -1) > 80)
    {
      g_autofree char *cut = g_utf8_substring (valid, 0, 80);

      return g_strconcat (cut, "…", NULL);
    }
  return g_steal_pointer (&valid);
}

static guint64
read_le (const guint8 *p,
         int           n)
{
  guint64 v = 0;

  for (int i = n - 1; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

static void
value_free (Value *v)
{
  switch (v->kind)
    {
    case V_BIGINT:
    case V_STR:
    case V_BYTES:
      g_free (v->u.s.data);
      break;
    case V_LIST:
    case V_TUPLE:
    case V_DICT:
      g_ptr_array_unref (v->u.items);
      break;
    case V_TENSOR:
      g_free (v->u.tensor);
      break;
    default:
      break;
    }
  g_free (v);
}

static void
storage_free (Storage *s)
{
  g_free (s->key);
  g_free (s);
}

/* ---- The unpickler -------------------------------------------------------------------------- */

static Value *
new_value (Unpickler  *u,
           ValueKind   kind,
           GError    **error)
{
  Value *v;

  if (u->pth->arena->len >= MAX_VALUES)
    {
      fail (error, MIEN_PTH_ERROR_PICKLE, _("more than %d values"), MAX_VALUES);
      return NULL;
    }
  v = g_new0 (Value, 1);
  v->kind = kind;
  if (kind == V_LIST || kind == V_TUPLE || kind == V_DICT)
    v->u.items = g_ptr_array_new ();
  g_ptr_array_add (u->pth->arena, v);
  return v;
}

static gboolean
push (Unpickler  *u,
      Value      *v,
      GError    **error)
{
  if (v == NULL)
    return FALSE;
  if (u->stack->len >= MAX_STACK)
    return fail (error, MIEN_PTH_ERROR_PICKLE, _("the stack grows beyond %d items"), MAX_STACK);
  g_ptr_array_add (u->stack, v);
  return TRUE;
}

static guint
mark_base (Unpickler *u)
{
  return u->marks->len > 0 ? g_array_index (u->marks, guint, u->marks->len - 1) : 0;
}

/* The top item above the current mark (popped when `pop`), else NULL with an error. */
static Value *
top (Unpickler  *u,
     gboolean    pop,
     GError    **error)
{
  if (u->stack->len <= mark_base (u))
    {
      fail (error, MIEN_PTH_ERROR_PICKLE, _("an opcode needs a value but the stack is empty"));
      return NULL;
    }
  if (pop)
    return g_ptr_array_steal_index (u->stack, u->stack->len - 1);
  return g_ptr_array_index (u->stack, u->stack->len - 1);
}

static gboolean
need (Unpickler  *u,
      guint64     n,
      GError    **error)
{
  if (n > u->len - u->pos)
    return fail (error, MIEN_PTH_ERROR_TRUNCATED, _("the pickle ends inside an opcode"));
  return TRUE;
}

/* An opcode's unsigned little-endian argument of `width` bytes. */
static gboolean
arg (Unpickler  *u,
     int         width,
     guint64    *out,
     GError    **error)
{
  if (!need (u, width, error))
    return FALSE;
  *out = read_le (u->data + u->pos, width);
  u->pos += width;
  return TRUE;
}

static gboolean
add_item (Value   *container,
          Value   *item,
          GError **error)
{
  g_ptr_array_add (container->u.items, item);
  container->depth = MAX (container->depth, item->depth + 1);
  if (container->depth > MAX_DEPTH)
    return fail (error, MIEN_PTH_ERROR_PICKLE, _("values nested more than %d deep"), MAX_DEPTH);
  return TRUE;
}

/* Moves the items above the top mark into `container` (NULL: just drops them) and the mark. */
static gboolean
pop_mark (Unpickler  *u,
          Value      *container,
          GError    **error)
{
  guint base;

  if (u->marks->len == 0)
    return fail (error, MIEN_PTH_ERROR_PICKLE, _("an opcode needs a mark but there is none"));
  base = mark_base (u);
  g_array_set_size (u->marks, u->marks->len - 1);
  for (guint i = base; i < u->stack->len; i++)
    if (container != NULL && !add_item (container, g_ptr_array_index (u->stack, i), error))
      return FALSE;
  g_ptr_array_set_size (u->stack, base);
  return TRUE;
}

static Value *
new_string (Unpickler  *u,
            ValueKind   kind,
            guint64     len,
            GError    **error)
{
  Value *v;

  if (!need (u, len, error))
    return NULL;
  if (kind == V_STR && !g_utf8_validate_len ((const char *) u->data + u->pos, len, NULL))
    {
      fail (error, MIEN_PTH_ERROR_PICKLE, _("a string is not valid UTF-8"));
      return NULL;
    }
  v = new_value (u, kind, error);
  if (v == NULL)
    return NULL;
  v->u.s.data = g_malloc (len + 1);
  memcpy (v->u.s.data, u->data + u->pos, len);
  v->u.s.data[len] = '\0';
  v->u.s.len = len;
  u->pos += len;
  return v;
}

static Value *
new_int (Unpickler  *u,
         gint64      i,
         GError    **error)
{
  Value *v = new_value (u, V_INT, error);

  if (v != NULL)
    v->u.i = i;
  return v;
}

/* LONG1/LONG4: little-endian two's complement of `len` bytes. */
static Value *
new_long (Unpickler  *u,
          guint64     len,
          GError    **error)
{
  gint64 i = 0;

  if (!need (u, len, error))
    return NULL;
  if (len > 8)
    {
      if (len > MAX_BIGINT)
        {
          fail (error, MIEN_PTH_ERROR_PICKLE, _("an integer of %llu bytes"), (unsigned long long) len);
          return NULL;
        }
      return new_string (u, V_BIGINT, len, error);
    }
  if (len > 0)
    {
      guint64 raw = read_le (u->data + u->pos, len);

      /* Sign-extend from the top byte. */
      if (len < 8 && (u->data[u->pos + len - 1] & 0x80) != 0)
        raw |= ~G_GUINT64_CONSTANT (0) << (8 * len);
      i = (gint64) raw;
    }
  u->pos += len;
  return new_int (u, i, error);
}

static const char *
kind_name (const Value *v)
{
  switch (v->kind)
    {
    case V_NONE: return "None";
    case V_BOOL: return "bool";
    case V_INT: case V_BIGINT: return "int";
    case V_FLOAT: return "float";
    case V_STR: return "str";
    case V_BYTES: return "bytes";
    case V_LIST: return "list";
    case V_TUPLE: return "tuple";
    case V_DICT: return "dict";
    case V_GLOBAL: return v->u.global.name;
    case V_STORAGE: return "storage";
    case V_TENSOR: return "tensor";
    default: return "?";
    }
}

static Value *
resolve_global (Unpickler   *u,
                const char  *module,
                gsize        module_len,
                const char  *name,
                gsize        name_len,
                GError     **error)
{
  Value *v;
  GlobalKind kind = GLOBAL_STORAGE;
  MienDType dtype = MIEN_DTYPE_FLOAT32;
  const char *static_name = NULL;

#define IS(str, len, lit) ((len) == strlen (lit) && memcmp ((str), (lit), (len)) == 0)
  if (IS (module, module_len, "collections") && IS (name, name_len, "OrderedDict"))
    {
      kind = GLOBAL_ORDERED_DICT;
      static_name = "collections.OrderedDict";
    }
  else if (IS (module, module_len, "torch._utils") && IS (name, name_len, "_rebuild_tensor_v2"))
    {
      kind = GLOBAL_REBUILD_TENSOR_V2;
      static_name = "torch._utils._rebuild_tensor_v2";
    }
  else if (IS (module, module_len, "torch._utils") && IS (name, name_len, "_rebuild_parameter"))
    {
      kind = GLOBAL_REBUILD_PARAMETER;
      static_name = "torch._utils._rebuild_parameter";
    }
  else if (IS (module, module_len, "torch"))
    {
      for (guint i = 0; i < G_N_ELEMENTS (storage_types); i++)
        if (IS (name, name_len, storage_types[i].name + strlen ("torch.")))
          {
            dtype = storage_types[i].dtype;
            static_name = storage_types[i].name;
          }
    }
#undef IS

  if (static_name == NULL)
    {
      g_autofree char *m = shown (module, module_len);
      g_autofree char *n = shown (name, name_len);

      fail (error, MIEN_PTH_ERROR_REFUSED,
            _("refusing global %s.%s: a checkpoint may only hold tensors, storages, "
              "OrderedDict, lists, tuples, dicts, strings and numbers"), m, n);
      return NULL;
    }

  v = new_value (u, V_GLOBAL, error);
  if (v != NULL)
    {
      v->u.global.kind = kind;
      v->u.global.dtype = dtype;
      v->u.global.name = static_name;
    }
  return v;
}

/* A "module\nname\n" pair as GLOBAL and INST write it. */
static gboolean
read_global_lines (Unpickler    *u,
                   const char  **module,
                   gsize        *module_len,
                   const char  **name,
                   gsize        *name_len,
                   GError      **error)
{
  const char **parts[2] = { module, name };
  gsize *lens[2] = { module_len, name_len };

  for (int k = 0; k < 2; k++)
    {
      const guint8 *start = u->data + u->pos;
      gsize avail = MIN (u->len - u->pos, MAX_GLOBAL + 1);
      const guint8 *nl = memchr (start, '\n', avail);

      if (nl == NULL)
        return fail (error, avail > MAX_GLOBAL ? MIEN_PTH_ERROR_PICKLE : MIEN_PTH_ERROR_TRUNCATED,
                     _("a global's name is cut or longer than %d bytes"), MAX_GLOBAL);
      *parts[k] = (const char *) start;
      *lens[k] = nl - start;
      u->pos += *lens[k] + 1;
    }
  return TRUE;
}

static gboolean
get_int (const Value *v,
         gint64      *out)
{
  if (v->kind == V_INT)
    *out = v->u.i;
  else if (v->kind == V_BOOL)
    *out = v->u.b;
  else
    return FALSE;
  return TRUE;
}

static gboolean
is_str (const Value *v,
        const char  *str)
{
  return v->kind == V_STR && v->u.s.len == strlen (str) &&
         memcmp (v->u.s.data, str, v->u.s.len) == 0;
}

static Value *
dict_get (const Value *dict,
          const char  *key)
{
  for (guint i = 0; i + 1 < dict->u.items->len; i += 2)
    if (is_str (g_ptr_array_index (dict->u.items, i), key))
      return g_ptr_array_index (dict->u.items, i + 1);
  return NULL;
}

static char *
dims_to_string (const gint64 *dims,
                int           n)
{
  GString *s = g_string_new ("[");

  for (int i = 0; i < n; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i > 0 ? ", " : "", dims[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static gboolean
read_dims (const Value *tuple,
           const char  *what,
           gint64      *dims,
           int         *n,
           GError     **error)
{
  if (tuple->kind != V_TUPLE && tuple->kind != V_LIST)
    return fail (error, MIEN_PTH_ERROR_REFUSED, _("a tensor's %s is a %s, not a tuple"), what,
                 kind_name (tuple));
  if (tuple->u.items->len > MAX_DIMS)
    return fail (error, MIEN_PTH_ERROR_STORAGE, _("a tensor of %u dimensions (at most %d)"),
                 tuple->u.items->len, MAX_DIMS);
  *n = tuple->u.items->len;
  for (int i = 0; i < *n; i++)
    if (!get_int (g_ptr_array_index (tuple->u.items, i), &dims[i]) || dims[i] < 0)
      return fail (error, MIEN_PTH_ERROR_STORAGE, _("a tensor's %s holds something other than "
                                                   "a non-negative integer"), what);
  return TRUE;
}

/* _rebuild_tensor_v2 (storage, storage_offset, size, stride, requires_grad, backward_hooks
 * [, metadata]): every element the view reaches must lie inside the storage. */
static Value *
rebuild_tensor (Unpickler  *u,
                Value      *args,
                GError    **error)
{
  GPtrArray *a = args->u.items;
  g_autofree Tensor *t = g_new0 (Tensor, 1);
  Value *v;
  int n_stride = 0;
  gint64 numel = 1, last = 0;

  if (a->len != 6 && a->len != 7)
    {
      fail (error, MIEN_PTH_ERROR_REFUSED, _("_rebuild_tensor_v2 called with %u arguments"),
            a->len);
      return NULL;
    }
  if (((Value *) a->pdata[0])->kind != V_STORAGE)
    {
      fail (error, MIEN_PTH_ERROR_REFUSED, _("_rebuild_tensor_v2 called on a %s, not a storage"),
            kind_name (a->pdata[0]));
      return NULL;
    }
  t->storage = ((Value *) a->pdata[0])->u.storage;
  if (!get_int (a->pdata[1], &t->offset) || t->offset < 0)
    {
      fail (error, MIEN_PTH_ERROR_STORAGE, _("a tensor's storage offset is not a non-negative "
                                            "integer"));
      return NULL;
    }
  if (!read_dims (a->pdata[2], _("size"), t->shape, &t->ndim, error) ||
      !read_dims (a->pdata[3], _("stride"), t->stride, &n_stride, error))
    return NULL;
  if (n_stride != t->ndim)
    {
      fail (error, MIEN_PTH_ERROR_STORAGE, _("a tensor has %d sizes but %d strides"), t->ndim,
            n_stride);
      return NULL;
    }
  if (((Value *) a->pdata[5])->kind != V_DICT)
    {
      fail (error, MIEN_PTH_ERROR_REFUSED, _("a tensor's backward hooks are a %s, not a dict"),
            kind_name (a->pdata[5]));
      return NULL;
    }

  /* numel, and the last element's index (offset + sum of (size - 1) * stride), without
   * overflow: an empty tensor reaches nothing. */
  for (int d = 0; d < t->ndim && numel > 0; d++)
    numel = t->shape[d] == 0 ? 0 : t->shape[d] > G_MAXINT64 / numel ? -1 : numel * t->shape[d];
  for (int d = 0; d < t->ndim && numel > 0; d++)
    {
      if (t->stride[d] > 0 && t->shape[d] - 1 > (G_MAXINT64 - last) / t->stride[d])
        numel = -1;
      else
        last += (t->shape[d] - 1) * t->stride[d];
    }
  if (numel < 0 || (numel > 0 && (last > G_MAXINT64 - t->offset ||
                                  last + t->offset >= t->storage->numel)))
    {
      g_autofree char *size = dims_to_string (t->shape, t->ndim);
      g_autofree char *stride = dims_to_string (t->stride, t->ndim);

      fail (error, MIEN_PTH_ERROR_STORAGE,
            _("a tensor of size %s, stride %s and offset %lld reaches past its storage “%s” of "
              "%lld elements"),
            size, stride, (long long) t->offset, t->storage->key,
            (long long) t->storage->numel);
      return NULL;
    }

  v = new_value (u, V_TENSOR, error);
  if (v != NULL)
    v->u.tensor = g_steal_pointer (&t);
  return v;
}

static Value *
call_global (Unpickler  *u,
             Value      *callable,
             Value      *args,
             GError    **error)
{
  if (callable->kind != V_GLOBAL)
    {
      fail (error, MIEN_PTH_ERROR_REFUSED, _("refusing to call a %s"), kind_name (callable));
      return NULL;
    }
  if (args->kind != V_TUPLE)
    {
      fail (error, MIEN_PTH_ERROR_REFUSED, _("refusing to call %s with a %s"),
            callable->u.global.name, kind_name (args));
      return NULL;
    }

  switch (callable->u.global.kind)
    {
    case GLOBAL_ORDERED_DICT:
      /* The pickler calls OrderedDict () and adds the items with SETITEMS. */
      if (args->u.items->len != 0)
        break;
      return new_value (u, V_DICT, error);
    case GLOBAL_REBUILD_TENSOR_V2:
      return rebuild_tensor (u, args, error);
    case GLOBAL_REBUILD_PARAMETER:
      /* (data, requires_grad, backward_hooks): the parameter is its data. */
      if (args->u.items->len != 3 || ((Value *) args->u.items->pdata[0])->kind != V_TENSOR)
        break;
      return args->u.items->pdata[0];
    case GLOBAL_STORAGE:
    default:
      break;
    }

  fail (error, MIEN_PTH_ERROR_REFUSED, _("refusing to call %s with these arguments"),
        callable->u.global.name);
  return NULL;
}

/* BINPERSID: ('storage', torch.XStorage, key, location, numel[, view_metadata]). */
static Value *
persistent_load (Unpickler  *u,
                 Value      *pid,
                 GError    **error)
{
  GPtrArray *a;
  Value *type, *key, *v;
  Storage *storage;
  gint64 numel;
  gsize element_size;

  if (pid->kind != V_TUPLE || (pid->u.items->len != 5 && pid->u.items->len != 6) ||
      !is_str (pid->u.items->pdata[0], "storage"))
    {
      fail (error, MIEN_PTH_ERROR_REFUSED, _("a persistent id that is not a storage"));
      return NULL;
    }
  a = pid->u.items;
  type = a->pdata[1];
  key = a->pdata[2];
  if (type->kind != V_GLOBAL || type->u.global.kind != GLOBAL_STORAGE)
    {
      fail (error, MIEN_PTH_ERROR_REFUSED, _("a storage of type %s"), kind_name (type));
      return NULL;
    }
  /* Keys name zip entries: digits and letters only, so that no key can climb out of data/. */
  if (key->kind != V_STR || key->u.s.len == 0 || key->u.s.len > MAX_KEY ||
      strspn (key->u.s.data, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
      != key->u.s.len)
    {
      fail (error, MIEN_PTH_ERROR_STORAGE, _("a storage key that is not a short alphanumeric "
                                            "string"));
      return NULL;
    }
  element_size = mien_dtype_size (type->u.global.dtype);
  if (!get_int (a->pdata[4], &numel) || numel < 0 || (guint64) numel > G_MAXSIZE / element_size)
    {
      fail (error, MIEN_PTH_ERROR_STORAGE, _("storage “%s” has an impossible size"),
            key->u.s.data);
      return NULL;
    }
  if (a->len == 6 && ((Value *) a->pdata[5])->kind != V_NONE)
    {
      fail (error, MIEN_PTH_ERROR_REFUSED, _("storage “%s” is a view of another storage, which "
                                            "only files from torch 0.3 and older hold"),
            key->u.s.data);
      return NULL;
    }

  storage = g_hash_table_lookup (u->pth->storages, key->u.s.data);
  if (storage == NULL)
    {
      storage = g_new0 (Storage, 1);
      storage->key = g_strdup (key->u.s.data);
      storage->dtype = type->u.global.dtype;
      storage->numel = numel;
      g_hash_table_insert (u->pth->storages, storage->key, storage);
    }
  else if (storage->dtype != type->u.global.dtype || storage->numel != numel)
    {
      fail (error, MIEN_PTH_ERROR_STORAGE, _("storage “%s” is referred to with two types or "
                                            "sizes"), key->u.s.data);
      return NULL;
    }

  v = new_value (u, V_STORAGE, error);
  if (v != NULL)
    v->u.storage = storage;
  return v;
}

static gboolean
memo_put (Unpickler  *u,
          guint64     index,
          GError    **error)
{
  Value *v = top (u, FALSE, error);

  if (v == NULL)
    return FALSE;
  /* The pickler numbers memo entries 0, 1, 2, ...: anything else is not torch.save's. */
  if (index > u->memo->len || index >= MAX_MEMO)
    return fail (error, MIEN_PTH_ERROR_PICKLE, _("memo index %llu out of range (%u entries)"),
                 (unsigned long long) index, u->memo->len);
  if (index == u->memo->len)
    g_ptr_array_add (u->memo, v);
  else
    u->memo->pdata[index] = v;
  return TRUE;
}

static gboolean
memo_get (Unpickler  *u,
          guint64     index,
          GError    **error)
{
  if (index >= u->memo->len || u->memo->pdata[index] == NULL)
    return fail (error, MIEN_PTH_ERROR_PICKLE, _("memo index %llu out of range (%u entries)"),
                 (unsigned long long) index, u->memo->len);
  return push (u, u->memo->pdata[index], error);
}

/* Pops n items above the mark into a new tuple. */
static Value *
pop_tuple (Unpickler  *u,
           guint       n,
           GError    **error)
{
  Value *tuple;
  guint base = mark_base (u);

  if (u->stack->len - base < n)
    {
      fail (error, MIEN_PTH_ERROR_PICKLE, _("an opcode needs a value but the stack is empty"));
      return NULL;
    }
  tuple = new_value (u, V_TUPLE, error);
  if (tuple == NULL)
    return NULL;
  for (guint i = u->stack->len - n; i < u->stack->len; i++)
    if (!add_item (tuple, g_ptr_array_index (u->stack, i), error))
      return NULL;
  g_ptr_array_set_size (u->stack, u->stack->len - n);
  return tuple;
}

static gboolean
refuse_object (Value   *cls,
               GError **error)
{
  if (cls->kind == V_GLOBAL)
    return fail (error, MIEN_PTH_ERROR_REFUSED, _("refusing to instantiate global %s"),
                 cls->u.global.name);
  return fail (error, MIEN_PTH_ERROR_REFUSED, _("refusing to instantiate a %s"), kind_name (cls));
}

/* One opcode. Sets *result on STOP. */
static gboolean
step (Unpickler  *u,
      guint8      op,
      Value     **result,
      GError    **error)
{
  Value *v, *w, *x;
  const char *module, *name;
  gsize module_len, name_len;
  guint64 n;

  switch (op)
    {
    case 0x80: /* PROTO */
      if (!arg (u, 1, &n, error))
        return FALSE;
      if (n < 2 || n > 5)
        return fail (error, MIEN_PTH_ERROR_PICKLE, _("pickle protocol %d (2 to 5 are read)"),
                     (int) n);
      return TRUE;
    case 0x95: /* FRAME: a length hint, nothing to check it against */
      return arg (u, 8, &n, error);
    case '.': /* STOP */
      *result = top (u, TRUE, error);
      return *result != NULL;
    case '(': /* MARK */
      if (u->marks->len >= MAX_MARKS)
        return fail (error, MIEN_PTH_ERROR_PICKLE, _("more than %d nested marks"), MAX_MARKS);
      g_array_append_val (u->marks, u->stack->len);
      return TRUE;
    case '0': /* POP */
      if (u->stack->len > mark_base (u))
        return top (u, TRUE, error) != NULL;
      return pop_mark (u, NULL, error);
    case '1': /* POP_MARK */
      return pop_mark (u, NULL, error);
    case '2': /* DUP */
      v = top (u, FALSE, error);
      return v != NULL && push (u, v, error);
    case 'N':
      return push (u, new_value (u, V_NONE, error), error);
    case 0x88: /* NEWTRUE */
    case 0x89: /* NEWFALSE */
      v = new_value (u, V_BOOL, error);
      if (v != NULL)
        v->u.b = op == 0x88;
      return push (u, v, error);
    case 'J': /* BININT */
      return arg (u, 4, &n, error) && push (u, new_int (u, (gint32) (guint32) n, error), error);
    case 'K': /* BININT1 */
    case 'M': /* BININT2 */
      return arg (u, op == 'K' ? 1 : 2, &n, error) && push (u, new_int (u, n, error), error);
    case 0x8a: /* LONG1 */
    case 0x8b: /* LONG4 */
      return arg (u, op == 0x8a ? 1 : 4, &n, error) && push (u, new_long (u, n, error), error);
    case 'G': /* BINFLOAT, big-endian */
      {
        guint64 bits = 0;

        if (!need (u, 8, error))
          return FALSE;
        for (int i = 0; i < 8; i++)
          bits = (bits << 8) | u->data[u->pos + i];
        u->pos += 8;
        v = new_value (u, V_FLOAT, error);
        if (v != NULL)
          memcpy (&v->u.f, &bits, sizeof bits);
        return push (u, v, error);
      }
    case 0x8c: /* SHORT_BINUNICODE */
    case 'X':  /* BINUNICODE */
    case 0x8d: /* BINUNICODE8 */
    case 'C':  /* SHORT_BINBYTES */
    case 'B':  /* BINBYTES */
    case 0x8e: /* BINBYTES8 */
      {
        int width = (op == 0x8c || op == 'C') ? 1 : (op == 'X' || op == 'B') ? 4 : 8;
        ValueKind kind = (op == 'C' || op == 'B' || op == 0x8e) ? V_BYTES : V_STR;

        return arg (u, width, &n, error) && push (u, new_string (u, kind, n, error), error);
      }
    case ']': /* EMPTY_LIST */
      return push (u, new_value (u, V_LIST, error), error);
    case ')': /* EMPTY_TUPLE */
      return push (u, new_value (u, V_TUPLE, error), error);
    case '}': /* EMPTY_DICT */
      return push (u, new_value (u, V_DICT, error), error);
    case 'l': /* LIST */
    case 't': /* TUPLE */
    case 'd': /* DICT */
      v = new_value (u, op == 'l' ? V_LIST : op == 't' ? V_TUPLE : V_DICT, error);
      if (v == NULL || !pop_mark (u, v, error))
        return FALSE;
      if (op == 'd' && v->u.items->len % 2 != 0)
        return fail (error, MIEN_PTH_ERROR_PICKLE, _("a dict with a key but no value"));
      return push (u, v, error);
    case 0x85: /* TUPLE1 */
    case 0x86: /* TUPLE2 */
    case 0x87: /* TUPLE3 */
      return push (u, pop_tuple (u, op - 0x84, error), error);
    case 'a': /* APPEND */
      if ((v = top (u, TRUE, error)) == NULL || (w = top (u, FALSE, error)) == NULL)
        return FALSE;
      if (w->kind != V_LIST)
        return fail (error, MIEN_PTH_ERROR_REFUSED, _("refusing to append to a %s"),
                     kind_name (w));
      return add_item (w, v, error);
    case 'e': /* APPENDS */
    case 'u': /* SETITEMS */
      {
        guint base = mark_base (u);

        if (u->marks->len == 0 || base == 0)
          return fail (error, MIEN_PTH_ERROR_PICKLE, _("an opcode needs a mark but there is "
                                                      "none"));
        w = g_ptr_array_index (u->stack, base - 1);
        if (w->kind != (op == 'e' ? V_LIST : V_DICT))
          return fail (error, MIEN_PTH_ERROR_REFUSED, _("refusing to add items to a %s"),
                       kind_name (w));
        if (op == 'u' && (u->stack->len - base) % 2 != 0)
          return fail (error, MIEN_PTH_ERROR_PICKLE, _("a dict with a key but no value"));
        return pop_mark (u, w, error);
      }
    case 's': /* SETITEM */
      if ((v = top (u, TRUE, error)) == NULL || (w = top (u, TRUE, error)) == NULL ||
          (x = top (u, FALSE, error)) == NULL)
        return FALSE;
      if (x->kind != V_DICT)
        return fail (error, MIEN_PTH_ERROR_REFUSED, _("refusing to set an item of a %s"),
                     kind_name (x));
      return add_item (x, w, error) && add_item (x, v, error);
    case 'q': /* BINPUT */
    case 'r': /* LONG_BINPUT */
      return arg (u, op == 'q' ? 1 : 4, &n, error) && memo_put (u, n, error);
    case 0x94: /* MEMOIZE */
      return memo_put (u, u->memo->len, error);
    case 'h': /* BINGET */
    case 'j': /* LONG_BINGET */
      return arg (u, op == 'h' ? 1 : 4, &n, error) && memo_get (u, n, error);
    case 'c': /* GLOBAL */
      if (!read_global_lines (u, &module, &module_len, &name, &name_len, error))
        return FALSE;
      return push (u, resolve_global (u, module, module_len, name, name_len, error), error);
    case 0x93: /* STACK_GLOBAL */
      if ((w = top (u, TRUE, error)) == NULL || (v = top (u, TRUE, error)) == NULL)
        return FALSE;
      if (v->kind != V_STR || w->kind != V_STR)
        return fail (error, MIEN_PTH_ERROR_PICKLE, _("STACK_GLOBAL on a %s and a %s"),
                     kind_name (v), kind_name (w));
      return push (u, resolve_global (u, v->u.s.data, v->u.s.len, w->u.s.data, w->u.s.len,
                                      error), error);
    case 'R': /* REDUCE */
      if ((w = top (u, TRUE, error)) == NULL || (v = top (u, TRUE, error)) == NULL)
        return FALSE;
      return push (u, call_global (u, v, w, error), error);
    case 'b': /* BUILD: OrderedDict's attributes (the state dict's _metadata) are dropped */
      if ((w = top (u, TRUE, error)) == NULL || (v = top (u, FALSE, error)) == NULL)
        return FALSE;
      if ((v->kind == V_DICT && (w->kind == V_DICT || w->kind == V_NONE)) ||
          (v->kind == V_TENSOR && ((w->kind == V_DICT && w->u.items->len == 0) ||
                                   w->kind == V_NONE)))
        return TRUE;
      return fail (error, MIEN_PTH_ERROR_REFUSED, _("refusing to set the state of a %s"),
                   kind_name (v));
    case 'Q': /* BINPERSID */
      if ((v = top (u, TRUE, error)) == NULL)
        return FALSE;
      return push (u, persistent_load (u, v, error), error);
    case 'i': /* INST */
      if (!read_global_lines (u, &module, &module_len, &name, &name_len, error))
        return FALSE;
      {
        g_autofree char *m = shown (module, module_len);
        g_autofree char *nm = shown (name, name_len);

        return fail (error, MIEN_PTH_ERROR_REFUSED, _("refusing global %s.%s (INST)"), m, nm);
      }
    case 'o': /* OBJ */
      {
        guint base = mark_base (u);

        if (u->marks->len == 0 || u->stack->len == base)
          return fail (error, MIEN_PTH_ERROR_PICKLE, _("OBJ without a class"));
        return refuse_object (g_ptr_array_index (u->stack, base), error);
      }
    case 0x81: /* NEWOBJ */
    case 0x92: /* NEWOBJ_EX */
      {
        guint depth = op == 0x81 ? 2 : 3;

        if (u->stack->len - mark_base (u) < depth)
          return fail (error, MIEN_PTH_ERROR_PICKLE, _("an opcode needs a value but the stack "
                                                      "is empty"));
        return refuse_object (g_ptr_array_index (u->stack, u->stack->len - depth), error);
      }
    default:
      return fail (error, MIEN_PTH_ERROR_PICKLE, _("opcode 0x%02x is not one torch.save "
                                                  "writes"), op);
    }
}

/* Runs one pickle from data[*pos] to its STOP; advances *pos past it. */
static Value *
unpickle (MienPth       *pth,
          const guint8  *data,
          gsize          len,
          gsize         *pos,
          GError       **error)
{
  Unpickler u = { pth, data, len, *pos, NULL, NULL, NULL };
  g_autoptr(GPtrArray) stack = g_ptr_array_new ();
  g_autoptr(GArray) marks = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GPtrArray) memo = g_ptr_array_new ();
  Value *result = NULL;

  u.stack = stack;
  u.marks = marks;
  u.memo = memo;

  while (result == NULL)
    {
      gsize at = u.pos;

      if (u.pos >= u.len)
        {
          fail (error, MIEN_PTH_ERROR_TRUNCATED, _("the pickle ends before its STOP opcode"));
          g_prefix_error (error, _("byte %zu: "), at);
          return NULL;
        }
      if (!step (&u, u.data[u.pos++], &result, error))
        {
          g_prefix_error (error, _("byte %zu: "), at);
          return NULL;
        }
    }

  *pos = u.pos;
  return result;
}

/* ---- Finding the state dict ----------------------------------------------------------------- */

static gboolean
is_state_dict (const Value *v)
{
  if (v->kind != V_DICT || v->u.items->len == 0)
    return FALSE;
  for (guint i = 1; i < v->u.items->len; i += 2)
    if (((Value *) v->u.items->pdata[i])->kind != V_TENSOR)
      return FALSE;
  return TRUE;
}

static const Value *
find_state_dict (const Value *v,
                 int          depth,
                 GString     *location)
{
  if (is_state_dict (v))
    return v;
  if (v->kind != V_DICT || depth >= SEARCH_DEPTH)
    return NULL;

  for (guint k = 0; k < G_N_ELEMENTS (nesting_keys); k++)
    {
      const Value *child = dict_get (v, nesting_keys[k]);
      gsize len = location->len;
      const Value *found;

      if (child == NULL)
        continue;
      g_string_append_printf (location, "%s%s", len > 0 ? "." : "", nesting_keys[k]);
      found = find_state_dict (child, depth + 1, location);
      if (found != NULL)
        return found;
      g_string_truncate (location, len);
    }
  return NULL;
}

static char *
describe_top (const Value *v)
{
  GString *s;

  if (v->kind != V_DICT)
    return g_strdup (kind_name (v));

  s = g_string_new (_("dict with keys"));
  for (guint i = 0; i < v->u.items->len && i < 10; i += 2)
    {
      const Value *key = v->u.items->pdata[i];

      if (key->kind == V_STR)
        {
          g_autofree char *k = shown (key->u.s.data, key->u.s.len);

          g_string_append_printf (s, "%s “%s”", i > 0 ? "," : "", k);
        }
      else
        g_string_append_printf (s, "%s (%s)", i > 0 ? "," : "", kind_name (key));
    }
  if (v->u.items->len > 10)
    g_string_append (s, ", …");
  if (v->u.items->len == 0)
    g_string_append (s, _(" (none)"));
  return g_string_free (s, FALSE);
}

static gboolean
build_entries (MienPth      *pth,
               const Value  *root,
               GError      **error)
{
  g_autoptr(GString) location = g_string_new (NULL);
  const Value *sd = find_state_dict (root, 0, location);
  gboolean strip_module = TRUE;

  if (sd == NULL)
    {
      g_autofree char *what = describe_top (root);

      return fail (error, MIEN_PTH_ERROR_NO_STATE_DICT,
                   _("no state dict (a dict of tensors) at the top level or under “state_dict”, "
                     "“model_state_dict”, “model” or “module”: the file holds a %s"), what);
    }
  pth->location = g_string_free (g_steal_pointer (&location), FALSE);

  for (guint i = 0; i < sd->u.items->len; i += 2)
    {
      const Value *key = sd->u.items->pdata[i];

      if (key->kind != V_STR)
        return fail (error, MIEN_PTH_ERROR_NO_STATE_DICT, _("the state dict has a key that is a "
                                                           "%s, not a string"), kind_name (key));
      strip_module &= g_str_has_prefix (key->u.s.data, "module.") &&
                      strlen (key->u.s.data) == key->u.s.len;
    }

  for (guint i = 0; i < sd->u.items->len; i += 2)
    {
      const Value *key = sd->u.items->pdata[i];
      const Tensor *t = ((const Value *) sd->u.items->pdata[i + 1])->u.tensor;
      MienPthEntry entry = { 0 };

      /* A NUL inside a key would make two keys look alike. */
      if (strlen (key->u.s.data) != key->u.s.len)
        return fail (error, MIEN_PTH_ERROR_NO_STATE_DICT, _("a state dict key holds a NUL byte"));
      entry.name = key->u.s.data + (strip_module ? strlen ("module.") : 0);
      if (g_hash_table_contains (pth->by_name, entry.name))
        {
          g_autofree char *k = shown (entry.name, -1);

          return fail (error, MIEN_PTH_ERROR_NO_STATE_DICT, _("the state dict holds “%s” twice"),
                       k);
        }
      entry.dtype = t->storage->dtype;
      entry.ndim = t->ndim;
      entry.shape = t->shape;
      entry.stride = t->stride;
      entry.storage_offset = t->offset;
      entry.storage = t->storage->data;
      entry.storage_size = t->storage->numel * mien_dtype_size (t->storage->dtype);
      g_array_append_val (pth->entries, entry);
      g_hash_table_insert (pth->by_name, (gpointer) entry.name,
                           GUINT_TO_POINTER (pth->entries->len));
    }
  return TRUE;
}

/* ---- The legacy container ------------------------------------------------------------------- */

/* One of the legacy file's five pickles; errors say which. */
static Value *
unpickle_named (MienPth       *pth,
                const guint8  *data,
                gsize          len,
                gsize         *pos,
                const char    *what,
                GError       **error)
{
  Value *v = unpickle (pth, data, len, pos, error);

  if (v == NULL)
    g_prefix_error (error, "%s: ", what);
  return v;
}

static gboolean
read_legacy (MienPth       *pth,
             const guint8  *data,
             gsize          len,
             Value        **root,
             GError       **error)
{
  gsize pos = 0;
  Value *magic, *protocol, *sys_info, *keys, *little;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer value;

  if ((magic = unpickle_named (pth, data, len, &pos, _("magic number"), error)) == NULL)
    return FALSE;
  if (magic->kind != V_BIGINT || magic->u.s.len != sizeof legacy_magic ||
      memcmp (magic->u.s.data, legacy_magic, sizeof legacy_magic) != 0)
    return fail (error, MIEN_PTH_ERROR_FORMAT, _("not a PyTorch checkpoint (wrong magic number)"));
  if ((protocol = unpickle_named (pth, data, len, &pos, _("protocol"), error)) == NULL)
    return FALSE;
  if (protocol->kind != V_INT || protocol->u.i != LEGACY_PROTOCOL)
    return fail (error, MIEN_PTH_ERROR_FORMAT, _("the legacy checkpoint's protocol is not %d"),
                 LEGACY_PROTOCOL);
  if ((sys_info = unpickle_named (pth, data, len, &pos, _("system information"), error)) == NULL)
    return FALSE;
  little = sys_info->kind == V_DICT ? dict_get (sys_info, "little_endian") : NULL;
  if (little == NULL || little->kind != V_BOOL || !little->u.b)
    return fail (error, MIEN_PTH_ERROR_FORMAT, _("the checkpoint was not written on a "
                                                "little-endian machine"));
  if ((*root = unpickle_named (pth, data, len, &pos, _("saved object"), error)) == NULL)
    return FALSE;
  if ((keys = unpickle_named (pth, data, len, &pos, _("storage list"), error)) == NULL)
    return FALSE;
  if (keys->kind != V_LIST)
    return fail (error, MIEN_PTH_ERROR_FORMAT, _("the storage key list is a %s"),
                 kind_name (keys));

  /* The storages follow in the list's order, each as an int64 count and its bytes. */
  for (guint i = 0; i < keys->u.items->len; i++)
    {
      const Value *key = keys->u.items->pdata[i];
      Storage *storage = key->kind == V_STR ? g_hash_table_lookup (pth->storages, key->u.s.data)
                                            : NULL;
      guint64 numel;
      gsize size;

      if (storage == NULL)
        return fail (error, MIEN_PTH_ERROR_STORAGE, _("the storage list names a storage no "
                                                     "tensor uses"));
      if (!g_hash_table_add (seen, storage->key))
        return fail (error, MIEN_PTH_ERROR_STORAGE, _("storage “%s” is listed twice (its data "
                                                     "would overlap)"), storage->key);
      if (len - pos < 8)
        return fail (error, MIEN_PTH_ERROR_TRUNCATED, _("the file ends before storage “%s”"),
                     storage->key);
      numel = read_le (data + pos, 8);
      pos += 8;
      if (numel != (guint64) storage->numel)
        return fail (error, MIEN_PTH_ERROR_STORAGE, _("storage “%s” holds %llu elements, its tensors say %lld"),
                     storage->key, (unsigned long long) numel, (long long) storage->numel);
      size = storage->numel * mien_dtype_size (storage->dtype);
      if (len - pos < size)
        return fail (error, MIEN_PTH_ERROR_TRUNCATED, _("storage “%s” runs past the end of the "
                                                       "file"), storage->key);
      storage->data = data + pos;
      pos += size;
    }

  g_hash_table_iter_init (&iter, pth->storages);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((Storage *) value)->data == NULL)
      return fail (error, MIEN_PTH_ERROR_STORAGE, _("storage “%s” has no data"),
                   ((Storage *) value)->key);
  return TRUE;
}

/* ---- The zip container ---------------------------------------------------------------------- */

typedef struct {
  char     *name;
  guint64   local_offset;   /* the local header */
  guint64   data_offset;
  guint64   size;
  guint32   crc;
} ZipEntry;

static void
zip_entry_clear (ZipEntry *e)
{
  g_free (e->name);
}

static gint
compare_offsets (gconstpointer a,
                 gconstpointer b)
{
  const ZipEntry *x = a, *y = b;

  return x->local_offset < y->local_offset ? -1 : x->local_offset > y->local_offset;
}

static guint32
crc32_of (const guint8 *data,
          gsize         len)
{
  static guint32 table[256];
  static gsize init = 0;
  guint32 crc = 0xffffffff;

  if (g_once_init_enter (&init))
    {
      for (guint32 i = 0; i < 256; i++)
        {
          guint32 c = i;

          for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320 ^ (c >> 1) : c >> 1;
          table[i] = c;
        }
      g_once_init_leave (&init, 1);
    }
  for (gsize i = 0; i < len; i++)
    crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffff;
}

/* Reads the zip64 extended-information extra field for the values set to 0xffffffff. */
static gboolean
read_zip64_extra (const guint8  *extra,
                  gsize          extra_len,
                  guint64       *usize,
                  guint64       *csize,
                  guint64       *offset,
                  GError       **error)
{
  gsize p = 0;

  while (extra_len - p >= 4)
    {
      guint id = read_le (extra + p, 2);
      gsize size = read_le (extra + p + 2, 2);
      gsize q = p + 4;
      guint64 *fields[3] = { usize, csize, offset };

      if (size > extra_len - q)
        return fail (error, MIEN_PTH_ERROR_FORMAT, _("a zip extra field runs past its entry"));
      if (id == 1)
        for (int k = 0; k < 3; k++)
          {
            if (*fields[k] != 0xffffffff)
              continue;
            if (q + 8 > p + 4 + size)
              return fail (error, MIEN_PTH_ERROR_FORMAT, _("a zip64 field is missing"));
            *fields[k] = read_le (extra + q, 8);
            q += 8;
          }
      p += 4 + size;
    }
  return TRUE;
}

static gboolean
read_zip_directory (const guint8  *data,
                    gsize          len,
                    GArray        *entries,
                    GError       **error)
{
  gsize eocd = G_MAXSIZE, scan_end;
  guint64 n_entries, cd_size, cd_offset, cd_end, p;

  if (len < 22)
    return fail (error, MIEN_PTH_ERROR_TRUNCATED, _("the zip file is cut short"));
  /* The end record is the last 22 bytes plus a comment of up to 65535 bytes. */
  scan_end = len > 22 + 65535 ? len - 22 - 65535 : 0;
  for (gsize q = len - 22 + 1; q-- > scan_end;)
    if (read_le (data + q, 4) == ZIP_EOCD_SIG && read_le (data + q + 20, 2) == len - q - 22)
      {
        eocd = q;
        break;
      }
  if (eocd == G_MAXSIZE)
    return fail (error, MIEN_PTH_ERROR_TRUNCATED, _("the zip file has no end record (is it cut "
                                                   "short?)"));
  if (read_le (data + eocd + 4, 2) != 0 || read_le (data + eocd + 6, 2) != 0)
    return fail (error, MIEN_PTH_ERROR_FORMAT, _("a zip file split over several disks"));
  n_entries = read_le (data + eocd + 10, 2);
  cd_size = read_le (data + eocd + 12, 4);
  cd_offset = read_le (data + eocd + 16, 4);
  cd_end = eocd;

  if (n_entries == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff)
    {
      guint64 z64;

      if (eocd < 20 || read_le (data + eocd - 20, 4) != ZIP64_LOC_SIG)
        return fail (error, MIEN_PTH_ERROR_FORMAT, _("a zip64 file without its zip64 locator"));
      z64 = read_le (data + eocd - 20 + 8, 8);
      if (z64 > eocd - 20 || eocd - 20 - z64 < 56 || read_le (data + z64, 4) != ZIP64_EOCD_SIG)
        return fail (error, MIEN_PTH_ERROR_FORMAT, _("the zip64 end record is not where its "
                                                    "locator says"));
      n_entries = read_le (data + z64 + 32, 8);
      cd_size = read_le (data + z64 + 40, 8);
      cd_offset = read_le (data + z64 + 48, 8);
      cd_end = z64;
    }

  if (cd_offset > cd_end || cd_size > cd_end - cd_offset)
    return fail (error, MIEN_PTH_ERROR_TRUNCATED, _("the zip central directory lies outside the "
                                                   "file"));
  if (n_entries > cd_size / 46)
    return fail (error, MIEN_PTH_ERROR_FORMAT, _("the zip central directory cannot hold %llu entries"),
                 (unsigned long long) n_entries);

  p = cd_offset;
  for (guint64 i = 0; i < n_entries; i++)
    {
      ZipEntry e = { 0 };
      guint flags, method, local_name_len, local_extra_len;
      guint64 csize, usize, name_len, extra_len, comment_len, end = cd_offset + cd_size;

      if (end - p < 46 || read_le (data + p, 4) != ZIP_CENTRAL_SIG)
        return fail (error, MIEN_PTH_ERROR_FORMAT, _("zip entry %llu of the central directory is damaged"),
                     (unsigned long long) i);
      flags = read_le (data + p + 8, 2);
      method = read_le (data + p + 10, 2);
      e.crc = read_le (data + p + 16, 4);
      csize = read_le (data + p + 20, 4);
      usize = read_le (data + p + 24, 4);
      name_len = read_le (data + p + 28, 2);
      extra_len = read_le (data + p + 30, 2);
      comment_len = read_le (data + p + 32, 2);
      e.local_offset = read_le (data + p + 42, 4);
      if (end - p - 46 < name_len + extra_len + comment_len)
        return fail (error, MIEN_PTH_ERROR_FORMAT, _("zip entry %llu runs past the central directory"),
                     (unsigned long long) i);
      e.name = g_strndup ((const char *) data + p + 46, name_len);
      if (strlen (e.name) != name_len || !g_utf8_validate (e.name, -1, NULL))
        {
          zip_entry_clear (&e);
          return fail (error, MIEN_PTH_ERROR_FORMAT, _("a zip entry name is not text"));
        }
      g_array_append_val (entries, e);  /* freed with the array from here on */
      if (!read_zip64_extra (data + p + 46 + name_len, extra_len, &usize, &csize,
                             &e.local_offset, error))
        return FALSE;
      p += 46 + name_len + extra_len + comment_len;

      if ((flags & 1) != 0)
        return fail (error, MIEN_PTH_ERROR_FORMAT, _("zip entry “%s” is encrypted"), e.name);
      if (method != 0 || csize != usize)
        return fail (error, MIEN_PTH_ERROR_FORMAT,
                     _("zip entry “%s” is compressed (method %u): torch.save stores entries as "
                       "they are, and compressed data is not inflated (it could be a zip bomb)"),
                     e.name, method);
      if (e.local_offset > cd_offset || cd_offset - e.local_offset < 30 ||
          read_le (data + e.local_offset, 4) != ZIP_LOCAL_SIG)
        return fail (error, MIEN_PTH_ERROR_FORMAT, _("zip entry “%s” has no local header where "
                                                    "the directory says"), e.name);
      local_name_len = read_le (data + e.local_offset + 26, 2);
      local_extra_len = read_le (data + e.local_offset + 28, 2);
      e.data_offset = e.local_offset + 30 + local_name_len + local_extra_len;
      e.size = usize;
      if (e.data_offset > cd_offset || e.size > cd_offset - e.data_offset)
        return fail (error, MIEN_PTH_ERROR_TRUNCATED, _("zip entry “%s” runs past the end of "
                                                       "the archive"), e.name);
      if (local_name_len != name_len ||
          memcmp (data + e.local_offset + 30, e.name, name_len) != 0)
        return fail (error, MIEN_PTH_ERROR_FORMAT, _("zip entry “%s” has another name in its "
                                                    "local header"), e.name);
      g_array_index (entries, ZipEntry, entries->len - 1) = e;
    }

  /* Entries sharing bytes are the classic zip-bomb trick and never what torch.save writes. */
  {
    g_autoptr(GArray) sorted = g_array_copy (entries);

    g_array_set_clear_func (sorted, NULL);
    g_array_sort (sorted, compare_offsets);
    for (guint i = 0; i + 1 < sorted->len; i++)
      {
        const ZipEntry *a = &g_array_index (sorted, ZipEntry, i);
        const ZipEntry *b = &g_array_index (sorted, ZipEntry, i + 1);

        if (a->data_offset + a->size > b->local_offset)
          return fail (error, MIEN_PTH_ERROR_FORMAT, _("zip entries “%s” and “%s” overlap"),
                       a->name, b->name);
      }
  }
  return TRUE;
}

static const ZipEntry *
zip_find (GArray     *entries,
          const char *name)
{
  for (guint i = 0; i < entries->len; i++)
    if (g_str_equal (g_array_index (entries, ZipEntry, i).name, name))
      return &g_array_index (entries, ZipEntry, i);
  return NULL;
}

static gboolean
read_zip (MienPth       *pth,
          const guint8  *data,
          gsize          len,
          Value        **root,
          GError       **error)
{
  g_autoptr(GArray) entries = g_array_new (FALSE, TRUE, sizeof (ZipEntry));
  g_autoptr(GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *prefix = NULL;
  g_autofree char *byteorder_name = NULL;
  const ZipEntry *pkl = NULL, *byteorder;
  GHashTableIter iter;
  gpointer value;
  gsize pos;

  g_array_set_clear_func (entries, (GDestroyNotify) zip_entry_clear);
  if (!read_zip_directory (data, len, entries, error))
    return FALSE;

  for (guint i = 0; i < entries->len; i++)
    {
      const ZipEntry *e = &g_array_index (entries, ZipEntry, i);
      const char *slash = strchr (e->name, '/');

      if (!g_hash_table_add (by_name, e->name))
        return fail (error, MIEN_PTH_ERROR_FORMAT, _("the zip file holds “%s” twice"), e->name);
      if (slash != NULL && slash != e->name && g_str_equal (slash, "/data.pkl"))
        {
          if (pkl != NULL)
            return fail (error, MIEN_PTH_ERROR_FORMAT, _("the zip file holds two data.pkl"));
          pkl = e;
        }
    }
  if (pkl == NULL)
    return fail (error, MIEN_PTH_ERROR_FORMAT, _("a zip file without data.pkl is not a PyTorch "
                                                "checkpoint"));
  prefix = g_strndup (pkl->name, strchr (pkl->name, '/') - pkl->name);

  byteorder_name = g_strconcat (prefix, "/byteorder", NULL);
  byteorder = zip_find (entries, byteorder_name);
  if (byteorder != NULL && (byteorder->size != 6 ||
                            memcmp (data + byteorder->data_offset, "little", 6) != 0))
    return fail (error, MIEN_PTH_ERROR_FORMAT, _("the checkpoint was not written on a "
                                                "little-endian machine"));

  if (crc32_of (data + pkl->data_offset, pkl->size) != pkl->crc)
    return fail (error, MIEN_PTH_ERROR_FORMAT, _("“%s” is damaged (CRC mismatch)"), pkl->name);
  pos = 0;
  *root = unpickle (pth, data + pkl->data_offset, pkl->size, &pos, error);
  if (*root == NULL)
    {
      g_prefix_error (error, "%s: ", pkl->name);
      return FALSE;
    }

  g_hash_table_iter_init (&iter, pth->storages);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Storage *storage = value;
      g_autofree char *name = g_strconcat (prefix, "/data/", storage->key, NULL);
      const ZipEntry *e = zip_find (entries, name);
      guint64 size = storage->numel * mien_dtype_size (storage->dtype);

      if (e == NULL)
        return fail (error, MIEN_PTH_ERROR_STORAGE, _("storage “%s” has no entry %s in the "
                                                     "archive"), storage->key, name);
      if (e->size != size)
        return fail (error, MIEN_PTH_ERROR_STORAGE, _("storage “%s” holds %llu bytes, its tensors say %llu"),
                     storage->key, (unsigned long long) e->size, (unsigned long long) size);
      storage->data = data + e->data_offset;
    }
  return TRUE;
}

/* ---- Public API ----------------------------------------------------------------------------- */

static gboolean
is_legacy (const guint8 *data,
           gsize         size)
{
  /* PROTO n, then (after a FRAME for protocol 4+) LONG1 10 and the magic number. */
  for (gsize i = 2; i + 2 + sizeof legacy_magic <= MIN (size, 32); i++)
    if (data[i] == 0x8a && data[i + 1] == sizeof legacy_magic &&
        memcmp (data + i + 2, legacy_magic, sizeof legacy_magic) == 0)
      return data[0] == 0x80;
  return FALSE;
}

static gboolean
is_zip (const guint8 *data,
        gsize         size)
{
  return size >= 4 && memcmp (data, "PK\x03\x04", 4) == 0;
}

gboolean
mien_pth_sniff (const guint8 *data,
                gsize         size)
{
  g_return_val_if_fail (data != NULL || size == 0, FALSE);

  return is_zip (data, size) || is_legacy (data, size);
}

void
mien_pth_free (MienPth *pth)
{
  if (pth == NULL)
    return;

  g_clear_pointer (&pth->by_name, g_hash_table_unref);
  g_clear_pointer (&pth->entries, g_array_unref);
  g_clear_pointer (&pth->storages, g_hash_table_unref);
  g_clear_pointer (&pth->arena, g_ptr_array_unref);
  g_clear_pointer (&pth->bytes, g_bytes_unref);
  g_free (pth->location);
  g_free (pth);
}

MienPth *
mien_pth_new_from_bytes (GBytes  *bytes,
                         GError **error)
{
  g_autoptr(MienPth) pth = NULL;
  const guint8 *data;
  gsize size;
  Value *root = NULL;
  gboolean ok;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  pth = g_new0 (MienPth, 1);
  pth->bytes = g_bytes_ref (bytes);
  pth->arena = g_ptr_array_new_with_free_func ((GDestroyNotify) value_free);
  pth->storages = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) storage_free);
  pth->entries = g_array_new (FALSE, TRUE, sizeof (MienPthEntry));
  pth->by_name = g_hash_table_new (g_str_hash, g_str_equal);

  data = g_bytes_get_data (bytes, &size);
  if (is_zip (data, size))
    {
      pth->format = "zip";
      ok = read_zip (pth, data, size, &root, error);
    }
  else if (is_legacy (data, size))
    {
      pth->format = "legacy";
      ok = read_legacy (pth, data, size, &root, error);
    }
  else
    {
      fail (error, MIEN_PTH_ERROR_FORMAT, _("not a PyTorch checkpoint (neither a zip file nor a "
                                            "legacy torch.save file)"));
      return NULL;
    }

  if (!ok || !build_entries (pth, root, error))
    return NULL;
  return g_steal_pointer (&pth);
}

MienPth *
mien_pth_open (const char  *path,
               GError     **error)
{
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *display = NULL;
  MienPth *pth;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display = g_filename_display_name (path);
  /* Mapping a FIFO would block, and a folder cannot be mapped: say so plainly. */
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      fail (error, MIEN_PTH_ERROR_IO, _("Cannot read “%s”: not a regular file"), display);
      return NULL;
    }
  /* Mapped, not read: each tensor is copied once, by mien_pth_load_tensor (). */
  mapped = g_mapped_file_new (path, FALSE, &local_error);
  if (mapped == NULL)
    {
      fail (error, MIEN_PTH_ERROR_IO, _("Cannot read “%s”: %s"), display, local_error->message);
      return NULL;
    }
  bytes = g_mapped_file_get_bytes (mapped);
  pth = mien_pth_new_from_bytes (bytes, error);
  if (pth == NULL)
    g_prefix_error (error, _("Cannot read “%s”: "), display);
  return pth;
}

const char *
mien_pth_get_format (MienPth *pth)
{
  g_return_val_if_fail (pth != NULL, NULL);

  return pth->format;
}

const char *
mien_pth_get_location (MienPth *pth)
{
  g_return_val_if_fail (pth != NULL, NULL);

  return pth->location;
}

guint
mien_pth_get_n_entries (MienPth *pth)
{
  g_return_val_if_fail (pth != NULL, 0);

  return pth->entries->len;
}

const MienPthEntry *
mien_pth_get_entry (MienPth *pth,
                    guint    index)
{
  g_return_val_if_fail (pth != NULL, NULL);
  g_return_val_if_fail (index < pth->entries->len, NULL);

  return &g_array_index (pth->entries, MienPthEntry, index);
}

const MienPthEntry *
mien_pth_lookup (MienPth    *pth,
                 const char *name)
{
  guint index;

  g_return_val_if_fail (pth != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  index = GPOINTER_TO_UINT (g_hash_table_lookup (pth->by_name, name));
  return index > 0 ? &g_array_index (pth->entries, MienPthEntry, index - 1) : NULL;
}

MienTensor *
mien_pth_load_tensor (MienPth  *pth,
                      guint     index,
                      GError  **error)
{
  const MienPthEntry *e;
  g_autofree guint8 *copy = NULL;
  const guint8 *src;
  gsize element_size, numel = 1, expected = 1;
  gboolean contiguous = TRUE;
  static const gint64 scalar_shape[1] = { 1 };

  g_return_val_if_fail (pth != NULL, NULL);
  g_return_val_if_fail (index < pth->entries->len, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  e = &g_array_index (pth->entries, MienPthEntry, index);
  element_size = mien_dtype_size (e->dtype);
  for (int d = e->ndim - 1; d >= 0; d--)
    {
      if (e->shape[d] != 1 && (gsize) e->stride[d] != expected)
        contiguous = FALSE;
      expected *= e->shape[d];
      numel *= e->shape[d];
    }
  /* The reader checked that a non-empty view lies inside its storage, so numel and the offsets
   * fit; an empty one may have any offset, and points nowhere. */
  src = numel > 0 ? e->storage + e->storage_offset * element_size : (const guint8 *) scalar_shape;
  if (numel > 0 && (!contiguous || (guintptr) src % element_size != 0))
    {
      copy = g_try_malloc (numel * element_size);
      if (copy == NULL)
        {
          g_set_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_OUT_OF_MEMORY,
                       _("Not enough memory for %zu bytes"), numel * element_size);
          return NULL;
        }
      if (contiguous)
        memcpy (copy, src, numel * element_size);
      else
        {
          gint64 counter[MAX_DIMS] = { 0 };

          /* Odometer over the view's indices, last dimension fastest. */
          for (gsize i = 0; i < numel; i++)
            {
              gint64 offset = 0;

              for (int d = 0; d < e->ndim; d++)
                offset += counter[d] * e->stride[d];
              memcpy (copy + i * element_size, src + offset * element_size, element_size);
              for (int d = e->ndim - 1; d >= 0; d--)
                {
                  if (++counter[d] < e->shape[d])
                    break;
                  counter[d] = 0;
                }
            }
        }
      src = copy;
    }

  return mien_tensor_new_from_data (src, e->dtype, e->ndim > 0 ? e->shape : scalar_shape, e->ndim,
                                    error);
}
