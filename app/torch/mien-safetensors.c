/* mien-safetensors.c — reading and writing the safetensors format in C.
 *
 * The reader trusts nothing in the file: every length, offset and size is checked, with overflow
 * checks, before anything is dereferenced, and the rules on the data buffer are those of the
 * reference implementation (huggingface/safetensors): ranges sorted by offset must tile the
 * buffer exactly, no overlap, no hole, nothing after the last tensor.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mien-safetensors.h"

G_DEFINE_QUARK (mien-safetensors-error-quark, mien_safetensors_error)

/* Error messages quote names taken from the file; a hostile file could hold a name of many
 * megabytes, which must not end up in a dialog. */
#define MAX_NAME_IN_MESSAGE 80

static const struct {
  MienDType   dtype;
  const char *name;
  gsize       size;
} dtype_table[] = {
  { MIEN_DTYPE_FLOAT32,  "F32",  4 },
  { MIEN_DTYPE_FLOAT16,  "F16",  2 },
  { MIEN_DTYPE_BFLOAT16, "BF16", 2 },
  { MIEN_DTYPE_FLOAT64,  "F64",  8 },
  { MIEN_DTYPE_INT64,    "I64",  8 },
  { MIEN_DTYPE_INT32,    "I32",  4 },
  { MIEN_DTYPE_INT16,    "I16",  2 },
  { MIEN_DTYPE_INT8,     "I8",   1 },
  { MIEN_DTYPE_UINT8,    "U8",   1 },
  { MIEN_DTYPE_BOOL,     "BOOL", 1 },
};

const char *
mien_safetensors_dtype_to_string (MienDType dtype)
{
  for (guint i = 0; i < G_N_ELEMENTS (dtype_table); i++)
    if (dtype_table[i].dtype == dtype)
      return dtype_table[i].name;

  return NULL;
}

gboolean
mien_safetensors_dtype_from_string (const char *str,
                                    MienDType  *out)
{
  g_return_val_if_fail (str != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (dtype_table); i++)
    {
      if (strcmp (dtype_table[i].name, str) == 0)
        {
          if (out != NULL)
            *out = dtype_table[i].dtype;
          return TRUE;
        }
    }

  return FALSE;
}

/* Kept here rather than calling mien_dtype_size () so that this file does not need libtorch's
 * side of the shim (see the header). 0 for values outside the enum. */
static gsize
dtype_size (MienDType dtype)
{
  for (guint i = 0; i < G_N_ELEMENTS (dtype_table); i++)
    if (dtype_table[i].dtype == dtype)
      return dtype_table[i].size;

  return 0;
}

/* numel * element size, refusing anything that overflows gint64 or gsize. */
static gboolean
checked_byte_size (const gint64 *shape,
                   int           ndim,
                   gsize         element_size,
                   guint64      *numel_out,
                   guint64      *bytes_out)
{
  guint64 numel = 1;
  guint64 bytes;

  for (int i = 0; i < ndim; i++)
    {
      if (shape[i] < 0)
        return FALSE;
      if (!g_uint64_checked_mul (&numel, numel, (guint64) shape[i]) || numel > G_MAXINT64)
        return FALSE;
    }

  if (!g_uint64_checked_mul (&bytes, numel, element_size) || bytes > G_MAXINT64 ||
      bytes > G_MAXSIZE)
    return FALSE;

  if (numel_out != NULL)
    *numel_out = numel;
  *bytes_out = bytes;
  return TRUE;
}

static char *
name_for_message (const char *name)
{
  const char *end;

  if (g_utf8_strlen (name, MAX_NAME_IN_MESSAGE + 1) <= MAX_NAME_IN_MESSAGE)
    return g_strdup (name);

  end = g_utf8_offset_to_pointer (name, MAX_NAME_IN_MESSAGE);
  return g_strdup_printf ("%.*s…", (int) (end - name), name);
}

/* ---- Reading ----------------------------------------------------------------------------- */

typedef struct {
  /* The public view; its name and shape point at the two fields below. */
  MienSafetensorsEntry  entry;
  char                 *name;
  gint64               *shape;
  guint64               begin;
  guint64               end;
} Tensor;

struct _MienSafetensors {
  GBytes     *bytes;
  /* The data buffer, after the length field and the header. */
  const guint8 *buffer;
  guint64     buffer_size;
  Tensor     *tensors;
  guint       n_tensors;
  GHashTable *by_name;   /* borrowed name → Tensor * */
  GHashTable *metadata;  /* owned strings */
};

void
mien_safetensors_free (MienSafetensors *st)
{
  if (st == NULL)
    return;

  for (guint i = 0; i < st->n_tensors; i++)
    {
      g_free (st->tensors[i].name);
      g_free (st->tensors[i].shape);
    }
  g_free (st->tensors);
  g_clear_pointer (&st->by_name, g_hash_table_unref);
  g_clear_pointer (&st->metadata, g_hash_table_unref);
  g_clear_pointer (&st->bytes, g_bytes_unref);
  g_free (st);
}

/* A non-negative JSON integer. JSON-GLib keeps 1.0 and "1" as double and string nodes, which
 * the format does not allow; integers beyond gint64 come back negative or as doubles, so they
 * are refused too. */
static gboolean
get_non_negative_int (JsonNode *node,
                      gint64   *out)
{
  gint64 value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;

  value = json_node_get_int (node);
  if (value < 0)
    return FALSE;

  *out = value;
  return TRUE;
}

/* ---- Strict JSON syntax ------------------------------------------------------------------
 *
 * JSON-GLib is a lenient reader: it takes single quotes, comments, hexadecimal and out-of-range
 * integers (wrapped around), keeps the last of two equal keys and ignores anything after the
 * first value. Each of these would let one file show different tensors to Mien and to other
 * readers, and its recursive descent has no depth limit. So the header must first pass this
 * strict RFC 8259 check, bounded in depth, which also counts object members so that duplicate
 * keys can be detected after JSON-GLib has merged them.
 */

#define MAX_JSON_DEPTH 32

typedef struct {
  const char *p;
  const char *end;
  guint       depth;
  guint64     n_members;
} JsonScan;

static void
scan_whitespace (JsonScan *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

static gboolean
scan_string (JsonScan *s)
{
  s->p++; /* the opening quote */

  while (s->p < s->end)
    {
      guchar c = (guchar) *s->p++;

      if (c == '"')
        return TRUE;
      if (c < 0x20)
        return FALSE;
      if (c != '\\')
        continue;

      if (s->p >= s->end)
        return FALSE;
      switch (*s->p++)
        {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          break;
        case 'u':
          {
            guint value = 0;

            if (s->end - s->p < 4)
              return FALSE;
            for (int i = 0; i < 4; i++)
              {
                int digit = g_ascii_xdigit_value (*s->p++);

                if (digit < 0)
                  return FALSE;
                value = value * 16 + (guint) digit;
              }
            /* Valid JSON, but a C string cannot hold it: "a\u0000b" would become "a". */
            if (value == 0)
              return FALSE;
          }
          break;
        default:
          return FALSE;
        }
    }

  return FALSE;
}

static gboolean
scan_digits (JsonScan *s)
{
  const char *start = s->p;

  while (s->p < s->end && g_ascii_isdigit (*s->p))
    s->p++;
  return s->p > start;
}

static gboolean
scan_number (JsonScan *s)
{
  const char *digits, *digits_end;
  gboolean negative = FALSE;
  gboolean integer = TRUE;

  if (*s->p == '-')
    {
      negative = TRUE;
      s->p++;
    }
  digits = s->p;
  if (s->p < s->end && *s->p == '0')
    s->p++;
  else if (s->p < s->end && *s->p >= '1' && *s->p <= '9')
    scan_digits (s);
  else
    return FALSE;
  digits_end = s->p;

  if (s->p < s->end && *s->p == '.')
    {
      integer = FALSE;
      s->p++;
      if (!scan_digits (s))
        return FALSE;
    }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E'))
    {
      integer = FALSE;
      s->p++;
      if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
        s->p++;
      if (!scan_digits (s))
        return FALSE;
    }

  if (integer)
    {
      /* Integers must fit gint64; JSON-GLib would wrap them around. */
      guint64 value = 0;
      guint64 limit = negative ? (guint64) G_MAXINT64 + 1 : (guint64) G_MAXINT64;

      for (const char *q = digits; q < digits_end; q++)
        {
          if (!g_uint64_checked_mul (&value, value, 10) ||
              !g_uint64_checked_add (&value, value, (guint64) (*q - '0')) || value > limit)
            return FALSE;
        }
    }

  return TRUE;
}

static gboolean
scan_literal (JsonScan   *s,
              const char *word)
{
  gsize len = strlen (word);

  if ((gsize) (s->end - s->p) < len || memcmp (s->p, word, len) != 0)
    return FALSE;
  s->p += len;
  return TRUE;
}

static gboolean scan_value (JsonScan *s);

static gboolean
scan_container (JsonScan *s,
                char      close)
{
  gboolean ok = FALSE;

  if (++s->depth > MAX_JSON_DEPTH)
    return FALSE;
  s->p++; /* the opening bracket */

  scan_whitespace (s);
  if (s->p < s->end && *s->p == close)
    {
      s->p++;
      s->depth--;
      return TRUE;
    }

  for (;;)
    {
      if (close == '}')
        {
          scan_whitespace (s);
          if (s->p >= s->end || *s->p != '"' || !scan_string (s))
            break;
          scan_whitespace (s);
          if (s->p >= s->end || *s->p != ':')
            break;
          s->p++;
          s->n_members++;
        }
      if (!scan_value (s))
        break;
      scan_whitespace (s);
      if (s->p < s->end && *s->p == ',')
        {
          s->p++;
          continue;
        }
      if (s->p < s->end && *s->p == close)
        {
          s->p++;
          ok = TRUE;
        }
      break;
    }

  s->depth--;
  return ok;
}

static gboolean
scan_value (JsonScan *s)
{
  scan_whitespace (s);
  if (s->p >= s->end)
    return FALSE;

  switch (*s->p)
    {
    case '{':
      return scan_container (s, '}');
    case '[':
      return scan_container (s, ']');
    case '"':
      return scan_string (s);
    case 't':
      return scan_literal (s, "true");
    case 'f':
      return scan_literal (s, "false");
    case 'n':
      return scan_literal (s, "null");
    default:
      if (*s->p == '-' || g_ascii_isdigit (*s->p))
        return scan_number (s);
      return FALSE;
    }
}

/* Members of every object in the tree, as JSON-GLib kept them. */
static guint64
count_members (JsonNode *node)
{
  guint64 n = 0;

  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      JsonNode *value;

      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, NULL, &value))
        n += 1 + count_members (value);
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        n += count_members (json_array_get_element (array, i));
    }

  return n;
}

/* The header's JSON root object, or NULL with an error. */
static JsonNode *
parse_header_json (const char  *header,
                   gsize        len,
                   GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonScan scan = { header, header + len, 0, 0 };
  JsonNode *root;
  gboolean ok;

  /* As the reference implementation: no leading whitespace, trailing spaces are padding. */
  if (len == 0 || header[0] != '{')
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER,
                   _("The header is not a JSON object"));
      return NULL;
    }
  ok = scan_value (&scan);
  scan_whitespace (&scan);
  if (!ok || scan.p != scan.end)
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER,
                   _("The header is not valid JSON (byte %zu)"),
                   (gsize) (scan.p - header));
      return NULL;
    }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, header, (gssize) len, &local_error))
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER,
                   _("The header is not valid JSON: %s"), local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER,
                   _("The header is not a JSON object"));
      return NULL;
    }
  if (count_members (root) != scan.n_members)
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER,
                   _("The header has a key twice in one object"));
      return NULL;
    }

  return json_node_ref (root);
}

static gboolean
parse_metadata (JsonNode    *node,
                GHashTable  *metadata,
                GError     **error)
{
  JsonObjectIter iter;
  const char *key;
  JsonNode *value;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER,
                   _("“__metadata__” is not an object"));
      return FALSE;
    }

  json_object_iter_init (&iter, json_node_get_object (node));
  while (json_object_iter_next (&iter, &key, &value))
    {
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        {
          g_autofree char *shown = name_for_message (key);

          g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER,
                       _("Metadata entry “%s” is not a string"), shown);
          return FALSE;
        }
      g_hash_table_insert (metadata, g_strdup (key), g_strdup (json_node_get_string (value)));
    }

  return TRUE;
}

static gboolean
parse_tensor (const char  *name,
              JsonNode    *node,
              Tensor      *t,
              GError     **error)
{
  g_autofree char *shown = name_for_message (name);
  JsonObject *obj;
  JsonNode *dtype_node, *shape_node, *offsets_node;
  JsonArray *shape_array, *offsets_array;
  const char *dtype_str;
  guint ndim;
  gint64 begin, end;
  guint64 bytes;

  t->name = g_strdup (name);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER,
                   _("Tensor “%s” is not described by an object"), shown);
      return FALSE;
    }
  obj = json_node_get_object (node);

  dtype_node = json_object_get_member (obj, "dtype");
  shape_node = json_object_get_member (obj, "shape");
  offsets_node = json_object_get_member (obj, "data_offsets");

  if (dtype_node == NULL || shape_node == NULL || offsets_node == NULL)
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER,
                   _("Tensor “%s” lacks “%s”"), shown,
                   dtype_node == NULL ? "dtype" : shape_node == NULL ? "shape" : "data_offsets");
      return FALSE;
    }

  if (!JSON_NODE_HOLDS_VALUE (dtype_node) ||
      json_node_get_value_type (dtype_node) != G_TYPE_STRING)
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER,
                   _("The dtype of tensor “%s” is not a string"), shown);
      return FALSE;
    }
  dtype_str = json_node_get_string (dtype_node);
  if (!mien_safetensors_dtype_from_string (dtype_str, &t->entry.dtype))
    {
      g_autofree char *shown_dtype = name_for_message (dtype_str);

      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_DTYPE,
                   _("Tensor “%s” has an unsupported dtype “%s”"), shown, shown_dtype);
      return FALSE;
    }

  if (!JSON_NODE_HOLDS_ARRAY (shape_node))
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_SHAPE,
                   _("The shape of tensor “%s” is not an array"), shown);
      return FALSE;
    }
  shape_array = json_node_get_array (shape_node);
  ndim = json_array_get_length (shape_array);
  /* The 100 MB header cap already bounds this far below G_MAXINT, but say so. */
  if (ndim > G_MAXINT / 2)
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_SHAPE,
                   _("Tensor “%s” has too many dimensions"), shown);
      return FALSE;
    }
  t->shape = g_new0 (gint64, MAX (ndim, 1));
  for (guint i = 0; i < ndim; i++)
    {
      if (!get_non_negative_int (json_array_get_element (shape_array, i), &t->shape[i]))
        {
          g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_SHAPE,
                       _("Dimension %u of tensor “%s” is not a non-negative integer"), i, shown);
          return FALSE;
        }
    }
  if (!checked_byte_size (t->shape, (int) ndim, dtype_size (t->entry.dtype), NULL, &bytes))
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_SHAPE,
                   _("The shape of tensor “%s” is too large"), shown);
      return FALSE;
    }

  offsets_array = JSON_NODE_HOLDS_ARRAY (offsets_node) ? json_node_get_array (offsets_node)
                                                      : NULL;
  if (offsets_array == NULL || json_array_get_length (offsets_array) != 2 ||
      !get_non_negative_int (json_array_get_element (offsets_array, 0), &begin) ||
      !get_non_negative_int (json_array_get_element (offsets_array, 1), &end))
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_OFFSETS,
                   _("The data offsets of tensor “%s” are not two non-negative integers"),
                   shown);
      return FALSE;
    }
  if (begin > end)
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_OFFSETS,
                   _("Tensor “%s” begins at %lld after it ends at %lld"), shown,
                   (long long) begin, (long long) end);
      return FALSE;
    }
  if ((guint64) (end - begin) != bytes)
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_OFFSETS,
                   _("Tensor “%s” occupies %lld bytes but its dtype and shape need %llu"), shown,
                   (long long) (end - begin), (unsigned long long) bytes);
      return FALSE;
    }

  t->begin = (guint64) begin;
  t->end = (guint64) end;
  t->entry.name = t->name;
  t->entry.ndim = (int) ndim;
  t->entry.shape = t->shape;
  t->entry.size = (gsize) bytes;
  return TRUE;
}

static int
compare_tensors (const void *pa,
                 const void *pb)
{
  const Tensor *a = pa;
  const Tensor *b = pb;

  /* Empty tensors sort before a tensor starting at the same offset, so that the tiling check
   * below accepts them. */
  if (a->begin != b->begin)
    return a->begin < b->begin ? -1 : 1;
  if (a->end != b->end)
    return a->end < b->end ? -1 : 1;
  return 0;
}

MienSafetensors *
mien_safetensors_new_from_bytes (GBytes  *bytes,
                                 GError **error)
{
  g_autoptr(MienSafetensors) st = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *header = NULL;
  JsonObject *root_obj;
  JsonObjectIter iter;
  const char *key;
  JsonNode *value;
  const guint8 *data;
  gsize len;
  guint64 header_len, expected;
  guint n_members, n;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  st = g_new0 (MienSafetensors, 1);
  st->bytes = g_bytes_ref (bytes);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);

  data = g_bytes_get_data (bytes, &len);
  if (len < 8)
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_TRUNCATED,
                   _("The file has %zu bytes, fewer than the 8 of the header length"), len);
      return NULL;
    }

  memcpy (&header_len, data, sizeof header_len);
  header_len = GUINT64_FROM_LE (header_len);
  if (header_len > MIEN_SAFETENSORS_MAX_HEADER)
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER,
                   _("The header claims %llu bytes, more than the %d allowed"),
                   (unsigned long long) header_len, MIEN_SAFETENSORS_MAX_HEADER);
      return NULL;
    }
  if (header_len > len - 8)
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_TRUNCATED,
                   _("The header claims %llu bytes but the file has only %zu after its length"),
                   (unsigned long long) header_len, len - 8);
      return NULL;
    }

  st->buffer = data + 8 + header_len;
  st->buffer_size = len - 8 - header_len;

  /* A NUL-terminated copy: the mapping is not terminated, and a JSON parser should never be
   * one byte away from reading past the end of a file. The reference implementation accepts only
   * UTF-8 and no NUL (padding is spaces), so neither do we. */
  header = g_malloc (header_len + 1);
  memcpy (header, data + 8, header_len);
  header[header_len] = '\0';
  if (memchr (header, '\0', header_len) != NULL ||
      !g_utf8_validate_len (header, header_len, NULL))
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER,
                   _("The header is not UTF-8 text"));
      return NULL;
    }

  root = parse_header_json (header, header_len, error);
  if (root == NULL)
    return NULL;
  root_obj = json_node_get_object (root);

  n_members = json_object_get_size (root_obj);
  st->tensors = g_new0 (Tensor, MAX (n_members, 1));

  json_object_iter_init (&iter, root_obj);
  while (json_object_iter_next (&iter, &key, &value))
    {
      if (strcmp (key, "__metadata__") == 0)
        {
          if (!parse_metadata (value, st->metadata, error))
            return NULL;
          continue;
        }

      g_assert (st->n_tensors < n_members);
      /* Counted first so that mien_safetensors_free () releases a half-parsed entry. */
      n = st->n_tensors++;
      if (!parse_tensor (key, value, &st->tensors[n], error))
        return NULL;
    }

  qsort (st->tensors, st->n_tensors, sizeof (Tensor), compare_tensors);

  expected = 0;
  for (guint i = 0; i < st->n_tensors; i++)
    {
      const Tensor *t = &st->tensors[i];

      if (t->begin != expected)
        {
          g_autofree char *shown = name_for_message (t->name);

          if (t->begin < expected)
            g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_OFFSETS,
                         _("Tensor “%s” at bytes %llu–%llu overlaps the tensor before it, which "
                           "ends at %llu"), shown, (unsigned long long) t->begin,
                         (unsigned long long) t->end, (unsigned long long) expected);
          else
            g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_OFFSETS,
                         _("Bytes %llu–%llu of the data section, before tensor “%s”, belong to no "
                           "tensor"), (unsigned long long) expected,
                         (unsigned long long) t->begin, shown);
          return NULL;
        }
      expected = t->end;
      g_hash_table_insert (st->by_name, t->name, (gpointer) t);
    }
  /* Ranges that tile more than the file holds: the usual sign of an interrupted download or
   * copy, so say that rather than blame an offset. Nothing has pointed into the buffer yet. */
  if (expected > st->buffer_size)
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_TRUNCATED,
                   _("The header describes %llu bytes of tensor data but the file holds only "
                     "%llu: it was cut short"), (unsigned long long) expected,
                   (unsigned long long) st->buffer_size);
      return NULL;
    }
  if (expected < st->buffer_size)
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_OFFSETS,
                   _("Bytes %llu–%llu at the end of the data section belong to no tensor"),
                   (unsigned long long) expected, (unsigned long long) st->buffer_size);
      return NULL;
    }

  /* Pointers into the buffer only now that every range is known to lie inside it. */
  for (guint i = 0; i < st->n_tensors; i++)
    st->tensors[i].entry.data = st->buffer + st->tensors[i].begin;

  return g_steal_pointer (&st);
}

MienSafetensors *
mien_safetensors_open (const char  *path,
                       GError     **error)
{
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *display = NULL;
  MienSafetensors *st;
  struct stat stbuf;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display = g_filename_display_name (path);

  /* O_NONBLOCK so that a FIFO given by mistake is refused below instead of hanging here. */
  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
  if (fd < 0)
    {
      int errsv = errno;

      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_IO,
                   _("Cannot open “%s”: %s"), display, g_strerror (errsv));
      return NULL;
    }
  if (fstat (fd, &stbuf) != 0 || !S_ISREG (stbuf.st_mode))
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_IO,
                   _("Cannot open “%s”: not a regular file"), display);
      close (fd);
      return NULL;
    }

  /* Mapped, not read: weights are hundreds of megabytes and each tensor is copied exactly once,
   * by mien_safetensors_load_tensor (). The mapping outlives the descriptor. It is private, but
   * a file truncated by another process while mapped still faults (SIGBUS); Mien's writers never
   * truncate in place, they rename a new file over the old one. */
  mapped = g_mapped_file_new_from_fd (fd, FALSE, &local_error);
  close (fd);
  if (mapped == NULL)
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_IO,
                   _("Cannot map “%s”: %s"), display, local_error->message);
      return NULL;
    }

  bytes = g_mapped_file_get_bytes (mapped);
  st = mien_safetensors_new_from_bytes (bytes, error);
  if (st == NULL)
    g_prefix_error (error, _("Cannot read “%s”: "), display);

  return st;
}

guint
mien_safetensors_get_n_entries (MienSafetensors *st)
{
  g_return_val_if_fail (st != NULL, 0);

  return st->n_tensors;
}

const MienSafetensorsEntry *
mien_safetensors_get_entry (MienSafetensors *st,
                            guint            index)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (index < st->n_tensors, NULL);

  return &st->tensors[index].entry;
}

const MienSafetensorsEntry *
mien_safetensors_lookup (MienSafetensors *st,
                         const char      *name)
{
  Tensor *t;

  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  t = g_hash_table_lookup (st->by_name, name);
  return t != NULL ? &t->entry : NULL;
}

GHashTable *
mien_safetensors_get_metadata (MienSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);

  return st->metadata;
}

MienTensor *
mien_safetensors_load_tensor (MienSafetensors  *st,
                              const char       *name,
                              GError          **error)
{
  g_autofree guint8 *aligned = NULL;
  const MienSafetensorsEntry *entry;
  const guint8 *data;
  gsize element_size;

  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  entry = mien_safetensors_lookup (st, name);
  if (entry == NULL)
    {
      g_autofree char *shown = name_for_message (name);

      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_NOT_FOUND,
                   _("No tensor named “%s”"), shown);
      return NULL;
    }

  /* Nothing aligns the data section of a file: its header may have any length. libtorch reads
   * the source of its copy as typed elements, so hand it a pointer aligned for the dtype. */
  data = entry->data;
  element_size = dtype_size (entry->dtype);
  if (entry->size > 0 && (guintptr) data % element_size != 0)
    {
      aligned = g_try_malloc (entry->size);
      if (aligned == NULL)
        {
          g_set_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_OUT_OF_MEMORY,
                       _("Not enough memory for %zu bytes"), entry->size);
          return NULL;
        }
      memcpy (aligned, data, entry->size);
      data = aligned;
    }

  return mien_tensor_new_from_data (data, entry->dtype, entry->shape, entry->ndim, error);
}

/* ---- Writing ----------------------------------------------------------------------------- */

static gboolean
validate_entries (GHashTable                 *metadata,
                  const MienSafetensorsEntry *entries,
                  guint                       n_entries,
                  gboolean                    have_fill,
                  GError                    **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint64 total = 0;

  if (metadata != NULL)
    {
      GHashTableIter iter;
      gpointer k, v;

      g_hash_table_iter_init (&iter, metadata);
      while (g_hash_table_iter_next (&iter, &k, &v))
        {
          if (k == NULL || v == NULL || !g_utf8_validate (k, -1, NULL) ||
              !g_utf8_validate (v, -1, NULL))
            {
              g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_INVALID,
                           _("Metadata keys and values must be UTF-8 strings"));
              return FALSE;
            }
        }
    }

  for (guint i = 0; i < n_entries; i++)
    {
      const MienSafetensorsEntry *e = &entries[i];
      g_autofree char *shown = NULL;
      guint64 bytes;

      if (e->name == NULL || e->name[0] == '\0' || !g_utf8_validate (e->name, -1, NULL) ||
          strcmp (e->name, "__metadata__") == 0)
        {
          g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_INVALID,
                       _("Entry %u has no valid name"), i);
          return FALSE;
        }
      shown = name_for_message (e->name);
      if (!g_hash_table_add (seen, (gpointer) e->name))
        {
          g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_INVALID,
                       _("Two tensors are named “%s”"), shown);
          return FALSE;
        }
      if (dtype_size (e->dtype) == 0)
        {
          g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_INVALID,
                       _("Tensor “%s” has an unknown dtype (%d)"), shown, (int) e->dtype);
          return FALSE;
        }
      if (e->ndim < 0 || (e->ndim > 0 && e->shape == NULL) ||
          !checked_byte_size (e->shape, e->ndim, dtype_size (e->dtype), NULL, &bytes))
        {
          g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_INVALID,
                       _("Tensor “%s” has an invalid shape"), shown);
          return FALSE;
        }
      if (bytes != e->size)
        {
          g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_INVALID,
                       _("Tensor “%s” has %zu bytes but its dtype and shape need %llu"), shown,
                       e->size, (unsigned long long) bytes);
          return FALSE;
        }
      if (e->data == NULL && e->size > 0 && !have_fill)
        {
          g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_INVALID,
                       _("Tensor “%s” has neither data nor a fill function"), shown);
          return FALSE;
        }
      if (!g_uint64_checked_add (&total, total, bytes) || total > G_MAXINT64)
        {
          g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_INVALID,
                       _("The tensors are too large for one file"));
          return FALSE;
        }
    }

  return TRUE;
}

static int
compare_strings (const void *pa,
                 const void *pb)
{
  return strcmp (*(const char * const *) pa, *(const char * const *) pb);
}

/* The JSON header, padded with spaces to a multiple of 8 bytes as the reference implementation
 * does, so that the data section (and every tensor, when their sizes allow) is aligned. */
static char *
build_header (GHashTable                 *metadata,
              const MienSafetensorsEntry *entries,
              guint                       n_entries,
              gsize                      *len_out)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;
  GString *padded;
  gsize len;
  guint64 offset = 0;

  json_builder_begin_object (builder);

  if (metadata != NULL && g_hash_table_size (metadata) > 0)
    {
      /* Sorted, so that saving the same thing twice gives the same bytes. */
      g_autofree const char **keys =
        (const char **) g_hash_table_get_keys_as_array (metadata, NULL);
      guint n_keys = g_hash_table_size (metadata);

      qsort (keys, n_keys, sizeof (char *), compare_strings);
      json_builder_set_member_name (builder, "__metadata__");
      json_builder_begin_object (builder);
      for (guint i = 0; i < n_keys; i++)
        {
          json_builder_set_member_name (builder, keys[i]);
          json_builder_add_string_value (builder, g_hash_table_lookup (metadata, keys[i]));
        }
      json_builder_end_object (builder);
    }

  for (guint i = 0; i < n_entries; i++)
    {
      const MienSafetensorsEntry *e = &entries[i];

      json_builder_set_member_name (builder, e->name);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "dtype");
      json_builder_add_string_value (builder, mien_safetensors_dtype_to_string (e->dtype));
      json_builder_set_member_name (builder, "shape");
      json_builder_begin_array (builder);
      for (int d = 0; d < e->ndim; d++)
        json_builder_add_int_value (builder, e->shape[d]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "data_offsets");
      json_builder_begin_array (builder);
      json_builder_add_int_value (builder, (gint64) offset);
      offset += e->size;
      json_builder_add_int_value (builder, (gint64) offset);
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }

  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, FALSE);
  json = json_generator_to_data (generator, &len);

  /* JSON-GLib 1.6 escapes control characters below U+001F only, and a raw U+001F makes a header
   * that no strict reader (this one included) accepts. Outside strings the generator writes no
   * control character, and no byte of a multi-byte UTF-8 sequence is below 0x80, so every 0x1F
   * byte is that character inside a string. */
  padded = g_string_sized_new (len + 8);
  for (gsize i = 0; i < len; i++)
    {
      if (json[i] == 0x1f)
        g_string_append (padded, "\\u001f");
      else
        g_string_append_c (padded, json[i]);
    }
  while (padded->len % 8 != 0)
    g_string_append_c (padded, ' ');

  *len_out = padded->len;
  return g_string_free (padded, FALSE);
}

/* Writes everything, through short writes and signals. Sets errno on failure. */
static gboolean
write_all (int         fd,
           const void *data,
           gsize       size)
{
  const guint8 *p = data;

  while (size > 0)
    {
      /* Linux moves at most ~2 GiB per call; ask for no more than SSIZE_MAX anyway. */
      gssize n = write (fd, p, MIN (size, (gsize) G_MAXSSIZE));

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return FALSE;
        }
      if (n == 0)
        {
          /* Cannot happen for a regular file with size > 0; do not spin if it does. */
          errno = EIO;
          return FALSE;
        }
      p += n;
      size -= (gsize) n;
    }

  return TRUE;
}

static void
set_io_error (GError     **error,
              const char  *display,
              int          errsv)
{
  g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_IO,
               _("Cannot write “%s”: %s"), display, g_strerror (errsv));
}

/* Everything after creating the temporary file and before closing it. */
static gboolean
write_contents (int                         fd,
                const char                 *display,
                const char                 *header,
                gsize                       header_len,
                const MienSafetensorsEntry *entries,
                guint                       n_entries,
                MienSafetensorsFillFunc     fill,
                gpointer                    user_data,
                GError                    **error)
{
  guint64 len_le = GUINT64_TO_LE ((guint64) header_len);

  if (!write_all (fd, &len_le, sizeof len_le) || !write_all (fd, header, header_len))
    {
      set_io_error (error, display, errno);
      return FALSE;
    }

  for (guint i = 0; i < n_entries; i++)
    {
      const MienSafetensorsEntry *e = &entries[i];
      g_autofree guint8 *buffer = NULL;
      const guint8 *data = e->data;

      if (e->size == 0)
        continue;

      if (data == NULL)
        {
          g_autoptr(GError) local_error = NULL;

          /* One tensor at a time: a model need not fit twice in memory to be saved. */
          buffer = g_try_malloc (e->size);
          if (buffer == NULL)
            {
              g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_IO,
                           _("Cannot write “%s”: not enough memory for %zu bytes"), display,
                           e->size);
              return FALSE;
            }
          if (!fill (i, buffer, e->size, user_data, &local_error))
            {
              if (local_error == NULL)
                g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_IO,
                             _("Cannot write “%s”: no data for tensor “%s”"), display, e->name);
              else
                g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                            _("Cannot write “%s”: "), display);
              return FALSE;
            }
          data = buffer;
        }

      if (!write_all (fd, data, e->size))
        {
          set_io_error (error, display, errno);
          return FALSE;
        }
    }

  /* Without fsync, a crash shortly after the rename can leave an empty file under the target's
   * name on ext4/xfs; with it, the target holds either the old or the new contents. It is also
   * where a full disk shows up on file systems that allocate lazily. */
  while (fsync (fd) != 0)
    {
      if (errno != EINTR)
        {
          set_io_error (error, display, errno);
          return FALSE;
        }
    }

  return TRUE;
}

gboolean
mien_safetensors_write (const char                 *path,
                        GHashTable                 *metadata,
                        const MienSafetensorsEntry *entries,
                        guint                       n_entries,
                        MienSafetensorsFillFunc     fill,
                        gpointer                    user_data,
                        GError                    **error)
{
  g_autofree char *display = NULL;
  g_autofree char *header = NULL;
  g_autofree char *tmp_path = NULL;
  g_autofree char *dir = NULL;
  gsize header_len;
  int fd, dir_fd;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (entries != NULL || n_entries == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  display = g_filename_display_name (path);

  if (!validate_entries (metadata, entries, n_entries, fill != NULL, error))
    {
      g_prefix_error (error, _("Cannot write “%s”: "), display);
      return FALSE;
    }

  header = build_header (metadata, entries, n_entries, &header_len);
  if (header_len > MIEN_SAFETENSORS_MAX_HEADER)
    {
      g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_INVALID,
                   _("Cannot write “%s”: its header would have %zu bytes, more than readers "
                     "accept"), display, header_len);
      return FALSE;
    }

  /* Beside the target, so that rename () stays on one file system and is atomic. */
  tmp_path = g_strconcat (path, ".XXXXXX", NULL);
  fd = g_mkstemp_full (tmp_path, O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      set_io_error (error, display, errno);
      return FALSE;
    }

  if (!write_contents (fd, display, header, header_len, entries, n_entries, fill, user_data,
                       error))
    {
      close (fd);
      g_unlink (tmp_path);
      return FALSE;
    }

  /* close () reports deferred write errors on some file systems (NFS); on Linux the descriptor
   * is gone even when it fails with EINTR, so that one is not an error. */
  if (close (fd) != 0 && errno != EINTR)
    {
      int errsv = errno;

      g_unlink (tmp_path);
      set_io_error (error, display, errsv);
      return FALSE;
    }

  if (g_rename (tmp_path, path) != 0)
    {
      int errsv = errno;

      g_unlink (tmp_path);
      set_io_error (error, display, errsv);
      return FALSE;
    }

  /* Makes the rename itself durable. Best effort: the new file is complete either way, and some
   * file systems refuse to open or sync directories. */
  dir = g_path_get_dirname (path);
  dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0)
    {
      (void) fsync (dir_fd);
      close (dir_fd);
    }

  return TRUE;
}
