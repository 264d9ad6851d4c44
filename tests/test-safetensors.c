/* test-safetensors.c — the safetensors reader and writer, without libtorch.
 *
 * Much of this feeds the reader files a hostile or broken writer could produce: each must be
 * refused with the right error code, never crash, never read outside the file.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "mien-safetensors.h"
#include "mien-test-util.h"

/* ---- Helpers ----------------------------------------------------------------------------- */

typedef MienTestScratch Fixture;

static guint
count_files (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* The 8-byte little-endian length, `header` as given, then `data_len` bytes 0, 1, 2, ... */
static GBytes *
make_file (const char *header,
           gsize       data_len)
{
  gsize header_len = strlen (header);
  guint64 len_le = GUINT64_TO_LE ((guint64) header_len);
  guint8 *buf = g_malloc (8 + header_len + data_len);

  memcpy (buf, &len_le, 8);
  memcpy (buf + 8, header, header_len);
  for (gsize i = 0; i < data_len; i++)
    buf[8 + header_len + i] = (guint8) i;

  return g_bytes_new_take (buf, 8 + header_len + data_len);
}

static void
assert_refused (GBytes *bytes,
                int     code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienSafetensors) st = NULL;

  st = mien_safetensors_new_from_bytes (bytes, &error);
  g_assert_error (error, MIEN_SAFETENSORS_ERROR, code);
  g_assert_null (st);
  g_test_message ("refused as expected: %s", error->message);
}

static void
assert_header_refused (const char *header,
                       gsize       data_len,
                       int         code)
{
  g_autoptr(GBytes) bytes = make_file (header, data_len);

  assert_refused (bytes, code);
}

static GBytes *
read_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, len);
}

/* ---- Round trip -------------------------------------------------------------------------- */

typedef struct {
  const guint8 *const *data;
  guint                n_fill_calls;
} FillData;

static gboolean
fill_from_table (guint     index,
                 guint8   *dest,
                 gsize     size,
                 gpointer  user_data,
                 GError  **error)
{
  FillData *fd = user_data;

  fd->n_fill_calls++;
  memcpy (dest, fd->data[index], size);
  return TRUE;
}

static void
test_round_trip (Fixture       *f,
                 gconstpointer  unused)
{
  static const float f32[6] = { 1.5f, -2.0f, 0.0f, 3.25f, 1e-7f, -1e30f };
  static const guint16 f16[4] = { 0x3c00, 0xc000, 0x0000, 0x7bff };   /* 1, -2, 0, 65504 */
  static const guint16 bf16[4] = { 0x3f80, 0xc000, 0x0000, 0x7f7f };  /* 1, -2, 0, ~3.4e38 */
  static const double f64[3] = { G_PI, -G_E, 1e300 };
  static const gint64 i64[2] = { G_MININT64, G_MAXINT64 };
  static const guint8 u8[5] = { 0, 1, 127, 128, 255 };
  static const guint8 b8[3] = { 1, 0, 1 };
  static const float scalar[1] = { 42.0f };
  static const gint64 shape_f32[] = { 2, 3 };
  static const gint64 shape_4[] = { 4 };
  static const gint64 shape_bf16[] = { 2, 2 };
  static const gint64 shape_3[] = { 3 };
  static const gint64 shape_2[] = { 2 };
  static const gint64 shape_5[] = { 5 };
  static const gint64 shape_empty[] = { 0, 3 };
  /* u8 comes before the others on purpose: 5 bytes leave the following tensors unaligned. */
  const MienSafetensorsEntry entries[] = {
    { "layer.weight", MIEN_DTYPE_FLOAT32, 2, shape_f32, (const guint8 *) f32, sizeof f32 },
    { "u8", MIEN_DTYPE_UINT8, 1, shape_5, NULL, sizeof u8 },
    { "half", MIEN_DTYPE_FLOAT16, 1, shape_4, (const guint8 *) f16, sizeof f16 },
    { "brain", MIEN_DTYPE_BFLOAT16, 2, shape_bf16, NULL, sizeof bf16 },
    { "double", MIEN_DTYPE_FLOAT64, 1, shape_3, (const guint8 *) f64, sizeof f64 },
    { "empty", MIEN_DTYPE_FLOAT32, 2, shape_empty, NULL, 0 },
    { "long", MIEN_DTYPE_INT64, 1, shape_2, NULL, sizeof i64 },
    { "mask", MIEN_DTYPE_BOOL, 1, shape_3, (const guint8 *) b8, sizeof b8 },
    { "scalar", MIEN_DTYPE_FLOAT32, 0, NULL, NULL, sizeof scalar },
    /* Names that need escaping in JSON. */
    { "q\"b\\s/t\tn\n\x01 é ✓", MIEN_DTYPE_UINT8, 1, shape_2, b8, 2 },
  };
  const guint8 *const table[] = {
    (const guint8 *) f32, u8, (const guint8 *) f16, (const guint8 *) bf16,
    (const guint8 *) f64, NULL, (const guint8 *) i64, b8, (const guint8 *) scalar, b8,
  };
  FillData fd = { table, 0 };
  g_autoptr(GHashTable) metadata = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienSafetensors) st = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *path = g_build_filename (f->dir, "model.safetensors", NULL);
  GHashTable *read_metadata;
  const guint8 *raw;
  guint64 header_len;
  gsize len;
  struct stat stbuf;
  mode_t mask;

  g_hash_table_insert (metadata, "format", "pt");
  g_hash_table_insert (metadata, "mien", "{\"classes\": [\"anger\", \"joie\"], \"é\": 1}");

  g_assert_true (mien_safetensors_write (path, metadata, entries, G_N_ELEMENTS (entries),
                                         fill_from_table, &fd, &error));
  g_assert_no_error (error);
  /* Not for entries with data, and not for empty ones. */
  g_assert_cmpuint (fd.n_fill_calls, ==, 4);
  g_assert_cmpuint (count_files (f->dir), ==, 1);

  /* Created with 0644 less the umask, as any new file. */
  mask = umask (0);
  umask (mask);
  g_assert_cmpint (g_stat (path, &stbuf), ==, 0);
  g_assert_cmpint (stbuf.st_mode & 0777, ==, 0644 & ~mask);

  /* The layout the reference implementation writes: a space-padded header whose length is a
   * multiple of 8, so that the data section is aligned. */
  bytes = read_bytes (path);
  raw = g_bytes_get_data (bytes, &len);
  g_assert_cmpuint (len, >, 8);
  memcpy (&header_len, raw, 8);
  header_len = GUINT64_FROM_LE (header_len);
  g_assert_cmpuint (header_len % 8, ==, 0);
  g_assert_cmpint (raw[8], ==, '{');
  g_assert_cmpuint (8 + header_len + sizeof f32 + sizeof u8 + sizeof f16 + sizeof bf16 +
                    sizeof f64 + sizeof i64 + sizeof b8 + sizeof scalar + 2, ==, len);

  st = mien_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (st);
  g_assert_cmpuint (mien_safetensors_get_n_entries (st), ==, G_N_ELEMENTS (entries));

  for (guint i = 0; i < G_N_ELEMENTS (entries); i++)
    {
      const MienSafetensorsEntry *e = mien_safetensors_lookup (st, entries[i].name);
      /* Written in order, so the offset order is the same. */
      const MienSafetensorsEntry *nth = mien_safetensors_get_entry (st, i);

      g_assert_nonnull (e);
      g_assert_true (e == nth);
      g_assert_cmpstr (e->name, ==, entries[i].name);
      g_assert_cmpint (e->dtype, ==, entries[i].dtype);
      g_assert_cmpint (e->ndim, ==, entries[i].ndim);
      for (int d = 0; d < e->ndim; d++)
        g_assert_cmpint (e->shape[d], ==, entries[i].shape[d]);
      g_assert_cmpuint (e->size, ==, entries[i].size);
      if (e->size > 0)
        g_assert_cmpmem (e->data, e->size, table[i], entries[i].size);
    }
  g_assert_null (mien_safetensors_lookup (st, "nothing"));
  g_assert_null (mien_safetensors_lookup (st, "__metadata__"));

  read_metadata = mien_safetensors_get_metadata (st);
  g_assert_cmpuint (g_hash_table_size (read_metadata), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (read_metadata, "format"), ==, "pt");
  g_assert_cmpstr (g_hash_table_lookup (read_metadata, "mien"), ==,
                   "{\"classes\": [\"anger\", \"joie\"], \"é\": 1}");

  /* The same through a buffer in memory. */
  {
    g_autoptr(MienSafetensors) st2 = mien_safetensors_new_from_bytes (bytes, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (mien_safetensors_get_n_entries (st2), ==, G_N_ELEMENTS (entries));
    g_assert_cmpmem (mien_safetensors_lookup (st2, "long")->data, sizeof i64, i64, sizeof i64);
  }
}

/* Every control character survives writing and reading, in names, metadata keys and values: JSON
 * must escape them all, and JSON-GLib 1.6's generator leaves U+001F as it is (found by
 * tests/fuzz/fuzz-model-metadata: a class name with it gave a model file no reader accepts). */
static void
test_control_characters (Fixture       *f,
                         gconstpointer  unused)
{
  static const gint64 shape_1[] = { 1 };
  static const guint8 byte[1] = { 7 };
  g_autoptr(GHashTable) metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) entries = g_array_new (FALSE, TRUE, sizeof (MienSafetensorsEntry));
  g_autoptr(MienSafetensors) st = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (f->dir, "control.safetensors", NULL);
  const guint8 *raw;
  guint64 header_len;

  for (char c = 0x01; c < 0x20; c++)
    {
      MienSafetensorsEntry entry = { NULL, MIEN_DTYPE_UINT8, 1, shape_1, byte, 1 };

      g_ptr_array_add (names, g_strdup_printf ("t%c%d", c, c));
      entry.name = names->pdata[names->len - 1];
      g_array_append_val (entries, entry);
      g_hash_table_insert (metadata, g_strdup_printf ("k%c%d", c, c), g_strdup_printf ("v%c", c));
    }

  g_assert_true (mien_safetensors_write (path, metadata, (MienSafetensorsEntry *) entries->data,
                                         entries->len, NULL, NULL, &error));
  g_assert_no_error (error);

  bytes = read_bytes (path);
  raw = g_bytes_get_data (bytes, NULL);
  memcpy (&header_len, raw, 8);
  header_len = GUINT64_FROM_LE (header_len);
  for (guint64 i = 0; i < header_len; i++)
    g_assert_cmpint (raw[8 + i], >=, 0x20);

  st = mien_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (st);
  g_assert_cmpuint (mien_safetensors_get_n_entries (st), ==, names->len);
  for (guint i = 0; i < names->len; i++)
    g_assert_nonnull (mien_safetensors_lookup (st, names->pdata[i]));
  for (char c = 0x01; c < 0x20; c++)
    {
      g_autofree char *key = g_strdup_printf ("k%c%d", c, c);
      g_autofree char *value = g_strdup_printf ("v%c", c);

      g_assert_cmpstr (g_hash_table_lookup (mien_safetensors_get_metadata (st), key), ==, value);
    }
}

/* Saving the same thing twice gives the same bytes (metadata order is not the hash table's). */
static void
test_deterministic (Fixture       *f,
                    gconstpointer  unused)
{
  static const gint32 values[2] = { 7, -1 };
  static const gint64 shape[] = { 2 };
  const MienSafetensorsEntry entry = {
    "x", MIEN_DTYPE_INT32, 1, shape, (const guint8 *) values, sizeof values
  };
  g_autoptr(GHashTable) m1 = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) m2 = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *p1 = g_build_filename (f->dir, "1.safetensors", NULL);
  g_autofree char *p2 = g_build_filename (f->dir, "2.safetensors", NULL);
  g_autoptr(GBytes) b1 = NULL;
  g_autoptr(GBytes) b2 = NULL;
  g_autoptr(GError) error = NULL;
  const char *keys[] = { "a", "b", "c", "d", "e", "f", "g", "h" };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_hash_table_insert (m1, (char *) keys[i], "v");
      g_hash_table_insert (m2, (char *) keys[G_N_ELEMENTS (keys) - 1 - i], "v");
    }
  g_assert_true (mien_safetensors_write (p1, m1, &entry, 1, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (mien_safetensors_write (p2, m2, &entry, 1, NULL, NULL, &error));
  g_assert_no_error (error);
  b1 = read_bytes (p1);
  b2 = read_bytes (p2);
  g_assert_true (g_bytes_equal (b1, b2));
}

/* Byte for byte what huggingface/safetensors' save_file writes for {"x": tensor([1.0])}: a
 * compact header padded with spaces to a multiple of 8. */
static void
test_reference_bytes (Fixture       *f,
                      gconstpointer  unused)
{
  static const char expected_header[] =
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
  static const float one = 1.0f;
  static const gint64 shape[] = { 1 };
  const MienSafetensorsEntry entry = {
    "x", MIEN_DTYPE_FLOAT32, 1, shape, (const guint8 *) &one, sizeof one
  };
  g_autofree char *path = g_build_filename (f->dir, "x.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GString) expected = g_string_new (NULL);
  guint64 len_le;
  gsize padded = (sizeof expected_header - 1 + 7) / 8 * 8;

  len_le = GUINT64_TO_LE ((guint64) padded);
  g_string_append_len (expected, (const char *) &len_le, 8);
  g_string_append (expected, expected_header);
  while (expected->len < 8 + padded)
    g_string_append_c (expected, ' ');
  g_string_append_len (expected, "\x00\x00\x80\x3f", 4);

  g_assert_true (mien_safetensors_write (path, NULL, &entry, 1, NULL, NULL, &error));
  g_assert_no_error (error);
  bytes = read_bytes (path);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                   expected->str, expected->len);
}

/* A file from another writer: a header we did not generate (member order, spacing, no padding
 * to 8, metadata in the middle, a key we do not know), read both from memory and from disk. */
static void
test_independent_writer (Fixture       *f,
                         gconstpointer  unused)
{
  static const char header[] =
    "{ \"b\" : {\"data_offsets\": [4, 12], \"shape\": [2], \"dtype\": \"I32\"},\n"
    "  \"__metadata__\": {\"format\": \"pt\"},\n"
    "  \"a\": {\"dtype\": \"U8\", \"shape\": [2, 2], \"data_offsets\": [0, 4]},"
    "  \"z\": {\"dtype\": \"F16\", \"shape\": [0], \"data_offsets\": [12, 12],\n"
    "          \"note\": [1.5e-3, -0, true, null, {\"k\": \"\\u00e9\\n\"}]} }   ";
  static const guint8 data[12] = { 1, 2, 3, 4,  7, 0, 0, 0,  0xff, 0xff, 0xff, 0xff };
  g_autoptr(GString) file = g_string_new (NULL);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (f->dir, "other.safetensors", NULL);
  guint64 len_le = GUINT64_TO_LE ((guint64) (sizeof header - 1));

  g_string_append_len (file, (const char *) &len_le, 8);
  g_string_append_len (file, header, sizeof header - 1);
  g_string_append_len (file, (const char *) data, sizeof data);
  bytes = g_bytes_new (file->str, file->len);
  g_file_set_contents (path, file->str, (gssize) file->len, &error);
  g_assert_no_error (error);

  for (guint pass = 0; pass < 2; pass++)
    {
      g_autoptr(MienSafetensors) st = NULL;
      const MienSafetensorsEntry *a, *b, *z;
      gint32 b_values[2];

      st = pass == 0 ? mien_safetensors_new_from_bytes (bytes, &error)
                     : mien_safetensors_open (path, &error);
      g_assert_no_error (error);
      g_assert_nonnull (st);
      g_assert_cmpuint (mien_safetensors_get_n_entries (st), ==, 3);

      /* In offset order, not header order. */
      a = mien_safetensors_get_entry (st, 0);
      b = mien_safetensors_get_entry (st, 1);
      z = mien_safetensors_get_entry (st, 2);
      g_assert_cmpstr (a->name, ==, "a");
      g_assert_cmpstr (b->name, ==, "b");
      g_assert_cmpstr (z->name, ==, "z");
      g_assert_true (mien_safetensors_lookup (st, "b") == b);

      g_assert_cmpint (a->dtype, ==, MIEN_DTYPE_UINT8);
      g_assert_cmpint (a->ndim, ==, 2);
      g_assert_cmpint (a->shape[0], ==, 2);
      g_assert_cmpint (a->shape[1], ==, 2);
      g_assert_cmpmem (a->data, a->size, data, 4);

      g_assert_cmpint (b->dtype, ==, MIEN_DTYPE_INT32);
      g_assert_cmpuint (b->size, ==, 8);
      memcpy (b_values, b->data, sizeof b_values);
      g_assert_cmpint (GINT32_FROM_LE (b_values[0]), ==, 7);
      g_assert_cmpint (GINT32_FROM_LE (b_values[1]), ==, -1);

      g_assert_cmpint (z->dtype, ==, MIEN_DTYPE_FLOAT16);
      g_assert_cmpint (z->ndim, ==, 1);
      g_assert_cmpint (z->shape[0], ==, 0);
      g_assert_cmpuint (z->size, ==, 0);

      g_assert_cmpstr (g_hash_table_lookup (mien_safetensors_get_metadata (st), "format"), ==,
                       "pt");
    }
}

static void
test_no_tensors (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = make_file ("{}", 0);
  g_autoptr(GBytes) bytes2 = make_file ("{\"__metadata__\": {}}      ", 0);
  g_autoptr(MienSafetensors) st = mien_safetensors_new_from_bytes (bytes, &error);
  g_autoptr(MienSafetensors) st2 = mien_safetensors_new_from_bytes (bytes2, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (mien_safetensors_get_n_entries (st), ==, 0);
  g_assert_cmpuint (g_hash_table_size (mien_safetensors_get_metadata (st)), ==, 0);
  g_assert_cmpuint (mien_safetensors_get_n_entries (st2), ==, 0);
}

static void
test_dtype_strings (void)
{
  static const char *names[] = { "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8",
                                 "BOOL" };
  MienDType dtype;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_assert_true (mien_safetensors_dtype_from_string (names[i], &dtype));
      g_assert_cmpstr (mien_safetensors_dtype_to_string (dtype), ==, names[i]);
    }
  /* Every MienDType has a name. */
  for (int d = 0; d < MIEN_DTYPE_N_TYPES; d++)
    g_assert_nonnull (mien_safetensors_dtype_to_string ((MienDType) d));

  g_assert_false (mien_safetensors_dtype_from_string ("f32", &dtype));
  g_assert_false (mien_safetensors_dtype_from_string ("F8_E4M3", &dtype));
  g_assert_false (mien_safetensors_dtype_from_string ("", &dtype));
}

/* ---- Hostile and broken files ------------------------------------------------------------ */

static void
test_hostile_lengths (void)
{
  static const guint8 seven[7] = { 2, 0, 0, 0, 0, 0, 0 };
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
  g_autoptr(GBytes) short7 = g_bytes_new (seven, sizeof seven);
  g_autoptr(GError) error = NULL;
  guint8 buf[32] = { 0 };

  assert_refused (empty, MIEN_SAFETENSORS_ERROR_TRUNCATED);
  assert_refused (short7, MIEN_SAFETENSORS_ERROR_TRUNCATED);

  /* The header length runs past the end of the file. */
  {
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(MienSafetensors) st = NULL;

    buf[0] = 100;
    memcpy (buf + 8, "{}", 2);
    bytes = g_bytes_new (buf, sizeof buf);
    st = mien_safetensors_new_from_bytes (bytes, &error);
    g_assert_null (st);
    g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_TRUNCATED);
    g_assert_nonnull (strstr (error->message, "100"));
    g_assert_nonnull (strstr (error->message, "24"));
    g_clear_error (&error);
  }

  /* A 2 GiB header claim: refused before anything is allocated, naming the size. */
  {
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(MienSafetensors) st = NULL;

    memset (buf, 0, 8);
    buf[3] = 0x80;
    bytes = g_bytes_new (buf, sizeof buf);
    st = mien_safetensors_new_from_bytes (bytes, &error);
    g_assert_null (st);
    g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER);
    g_assert_nonnull (strstr (error->message, "2147483648"));
    g_clear_error (&error);
  }

  /* The largest claim possible: no overflow in the comparison with the file size. */
  {
    g_autoptr(GBytes) bytes = NULL;

    memset (buf, 0xff, 8);
    bytes = g_bytes_new (buf, sizeof buf);
    assert_refused (bytes, MIEN_SAFETENSORS_ERROR_HEADER);
  }

  /* Exactly the cap is allowed in principle; here the file is just too short for it. */
  {
    g_autoptr(GBytes) bytes = NULL;
    guint64 cap = GUINT64_TO_LE ((guint64) MIEN_SAFETENSORS_MAX_HEADER);

    memcpy (buf, &cap, 8);
    bytes = g_bytes_new (buf, sizeof buf);
    assert_refused (bytes, MIEN_SAFETENSORS_ERROR_TRUNCATED);
  }
}

static void
test_hostile_headers (void)
{
  const struct {
    const char *header;
    gsize       data_len;
    int         code;
  } cases[] = {
    /* Not a JSON object. */
    { "", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "        ", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "this is not json", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"a\": {\"dtype\": \"F32\"", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "[1, 2, 3]", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "\"string\"", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "null", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{} {}", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{}\n\xff\xfe", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    /* What JSON-GLib alone would accept but other readers refuse or read differently. */
    { " {}", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{'__metadata__': {'a': 'b'}}", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "/* comment */ {}", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{} /* comment */", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\": {\"dtype\": \"U8\", \"shape\": [0x4], \"data_offsets\": [0, 4]}}", 4,
      MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\": {\"dtype\": \"U8\", \"shape\": [04], \"data_offsets\": [0, 4]}}", 4,
      MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}} {\"u\": 1}", 4,
      MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]},"
      " \"t\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 4,
      MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\": {\"dtype\": \"F32\", \"dtype\": \"U8\", \"shape\": [4], "
      "\"data_offsets\": [0, 4]}}", 4, MIEN_SAFETENSORS_ERROR_HEADER },
    /* Wraps around to 4 in JSON-GLib. */
    { "{\"t\": {\"dtype\": \"U8\", \"shape\": [4], "
      "\"data_offsets\": [0, 18446744073709551620]}}", 4, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\": {\"dtype\": \"U8\", \"shape\": [-9223372036854775809], "
      "\"data_offsets\": [0, 4]}}", 4, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\\u0000x\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 4,
      MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4], \"x\": \"a\tb\"}}",
      4, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4], \"x\": \"\\q\"}}",
      4, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4], \"x\": 1.}}",
      4, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4], \"x\": tru}}",
      4, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"a\": 1,}", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    /* Metadata. */
    { "{\"__metadata__\": {\"a\": 1}}", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"__metadata__\": {\"a\": null}}", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"__metadata__\": {\"a\": {\"b\": \"c\"}}}", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"__metadata__\": \"x\"}", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"__metadata__\": [\"x\"]}", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    /* Tensor descriptions. */
    { "{\"t\": 5}", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\": [\"F32\", [1], [0, 4]]}", 4, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4,
      MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\": {\"dtype\": 1, \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
      MIEN_SAFETENSORS_ERROR_HEADER },
    /* dtype */
    { "{\"t\": {\"dtype\": \"F8_E4M3\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 1,
      MIEN_SAFETENSORS_ERROR_DTYPE },
    { "{\"t\": {\"dtype\": \"f32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
      MIEN_SAFETENSORS_ERROR_DTYPE },
    { "{\"t\": {\"dtype\": \"\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
      MIEN_SAFETENSORS_ERROR_DTYPE },
    /* shape */
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4,
      MIEN_SAFETENSORS_ERROR_SHAPE },
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [2.0], \"data_offsets\": [0, 8]}}", 8,
      MIEN_SAFETENSORS_ERROR_SHAPE },
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [\"2\"], \"data_offsets\": [0, 8]}}", 8,
      MIEN_SAFETENSORS_ERROR_SHAPE },
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [null], \"data_offsets\": [0, 8]}}", 8,
      MIEN_SAFETENSORS_ERROR_SHAPE },
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": 2, \"data_offsets\": [0, 8]}}", 8,
      MIEN_SAFETENSORS_ERROR_SHAPE },
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [[2]], \"data_offsets\": [0, 8]}}", 8,
      MIEN_SAFETENSORS_ERROR_SHAPE },
    /* numel overflows 64 bits; so does numel * 4 in the second. */
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 16], "
      "\"data_offsets\": [0, 0]}}", 0, MIEN_SAFETENSORS_ERROR_SHAPE },
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904], "
      "\"data_offsets\": [0, 0]}}", 0, MIEN_SAFETENSORS_ERROR_SHAPE },
    /* Beyond gint64, where JSON-GLib would wrap around: refused as JSON. */
    { "{\"t\": {\"dtype\": \"U8\", \"shape\": [18446744073709551616], "
      "\"data_offsets\": [0, 0]}}", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    { "{\"t\": {\"dtype\": \"U8\", \"shape\": [9223372036854775808], "
      "\"data_offsets\": [0, 0]}}", 0, MIEN_SAFETENSORS_ERROR_HEADER },
    /* The largest gint64 is a valid number, but not a valid size. */
    { "{\"t\": {\"dtype\": \"U8\", \"shape\": [9223372036854775807], "
      "\"data_offsets\": [0, 0]}}", 0, MIEN_SAFETENSORS_ERROR_OFFSETS },
    { "{\"t\": {\"dtype\": \"U8\", \"shape\": [-9223372036854775808], "
      "\"data_offsets\": [0, 0]}}", 0, MIEN_SAFETENSORS_ERROR_SHAPE },
    /* data_offsets */
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}", 4,
      MIEN_SAFETENSORS_ERROR_OFFSETS },
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0.0, 4.0]}}", 4,
      MIEN_SAFETENSORS_ERROR_OFFSETS },
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [\"0\", \"4\"]}}", 4,
      MIEN_SAFETENSORS_ERROR_OFFSETS },
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 8]}}", 4,
      MIEN_SAFETENSORS_ERROR_OFFSETS },
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4,
      MIEN_SAFETENSORS_ERROR_OFFSETS },
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}}", 4,
      MIEN_SAFETENSORS_ERROR_OFFSETS },
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": {\"0\": 4}}}", 4,
      MIEN_SAFETENSORS_ERROR_OFFSETS },
    /* Size not numel * dtype size, both ways. */
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8,
      MIEN_SAFETENSORS_ERROR_OFFSETS },
    { "{\"t\": {\"dtype\": \"F16\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8,
      MIEN_SAFETENSORS_ERROR_OFFSETS },
    /* Data offsets past the end of the data section: the file holds less than its header
     * describes. */
    { "{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 4,
      MIEN_SAFETENSORS_ERROR_TRUNCATED },
    { "{\"t\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": "
      "[9223372036854775806, 9223372036854775807]}}", 4, MIEN_SAFETENSORS_ERROR_OFFSETS },
    /* Overlapping ranges. */
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
      " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12,
      MIEN_SAFETENSORS_ERROR_OFFSETS },
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
      " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8,
      MIEN_SAFETENSORS_ERROR_OFFSETS },
    /* An empty tensor inside another one. */
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
      " \"b\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4, 4]}}", 8,
      MIEN_SAFETENSORS_ERROR_OFFSETS },
    /* A hole between tensors, at the start, at the end. */
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
      " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}", 12,
      MIEN_SAFETENSORS_ERROR_OFFSETS },
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8,
      MIEN_SAFETENSORS_ERROR_OFFSETS },
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 12,
      MIEN_SAFETENSORS_ERROR_OFFSETS },
    { "{}", 1, MIEN_SAFETENSORS_ERROR_OFFSETS },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *escaped = g_strescape (cases[i].header, NULL);

      g_test_message ("case %u: %s", i, escaped);
      assert_header_refused (cases[i].header, cases[i].data_len, cases[i].code);
    }

  /* Nesting deep enough to exhaust the stack of a recursive parser. */
  {
    g_autoptr(GString) header = g_string_new ("{\"__metadata__\": ");
    g_autoptr(GBytes) bytes = NULL;

    for (guint i = 0; i < 1000000; i++)
      g_string_append_c (header, '[');
    for (guint i = 0; i < 1000000; i++)
      g_string_append_c (header, ']');
    g_string_append_c (header, '}');
    bytes = make_file (header->str, 0);
    assert_refused (bytes, MIEN_SAFETENSORS_ERROR_HEADER);
  }

  /* Padding with NUL bytes rather than spaces (make_file () would lose them to strlen ()). */
  {
    static const char padded_with_nul[16] = "{}\0\0\0\0\0\0\0\0\0\0\0\0\0";
    g_autoptr(GBytes) bytes = NULL;
    guint8 buf[8 + sizeof padded_with_nul];
    guint64 len_le = GUINT64_TO_LE ((guint64) sizeof padded_with_nul);

    memcpy (buf, &len_le, 8);
    memcpy (buf + 8, padded_with_nul, sizeof padded_with_nul);
    bytes = g_bytes_new (buf, sizeof buf);
    assert_refused (bytes, MIEN_SAFETENSORS_ERROR_HEADER);
  }
}

static void
test_error_messages (void)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienSafetensors) st = NULL;

  bytes = make_file ("{\"conv1.weight\": {\"dtype\": \"F8_E5M2\", \"shape\": [1], "
                     "\"data_offsets\": [0, 1]}}", 1);
  st = mien_safetensors_new_from_bytes (bytes, &error);
  g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_DTYPE);
  g_assert_nonnull (strstr (error->message, "conv1.weight"));
  g_assert_nonnull (strstr (error->message, "F8_E5M2"));
  g_clear_error (&error);
  g_clear_pointer (&bytes, g_bytes_unref);

  bytes = make_file ("{\"fc.bias\": {\"dtype\": \"F32\", \"shape\": [3], "
                     "\"data_offsets\": [0, 8]}}", 8);
  st = mien_safetensors_new_from_bytes (bytes, &error);
  g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_OFFSETS);
  g_assert_nonnull (strstr (error->message, "fc.bias"));
  g_assert_nonnull (strstr (error->message, "12"));
  g_clear_error (&error);
  g_clear_pointer (&bytes, g_bytes_unref);

  /* A hostile name does not make a hostile message. */
  {
    g_autoptr(GString) header = g_string_new ("{\"");
    for (guint i = 0; i < 100000; i++)
      g_string_append_c (header, 'n');
    g_string_append (header, "\": {\"dtype\": \"XX\", \"shape\": [], \"data_offsets\": [0, 0]}}");
    bytes = make_file (header->str, 0);
    st = mien_safetensors_new_from_bytes (bytes, &error);
    g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_DTYPE);
    g_assert_cmpuint (strlen (error->message), <, 400);
    g_clear_error (&error);
  }
}

static void
test_open_errors (Fixture       *f,
                  gconstpointer  unused)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *missing = g_build_filename (f->dir, "missing.safetensors", NULL);
  g_autofree char *empty = g_build_filename (f->dir, "empty.safetensors", NULL);
  g_autofree char *cut = g_build_filename (f->dir, "cut.safetensors", NULL);
  g_autofree char *fifo = g_build_filename (f->dir, "fifo.safetensors", NULL);
  MienSafetensors *st;

  st = mien_safetensors_open (missing, &error);
  g_assert_null (st);
  g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "missing.safetensors"));
  g_assert_nonnull (strstr (error->message, g_strerror (ENOENT)));
  g_clear_error (&error);

  /* Not regular files: refused at once, never read (a FIFO would block). */
  st = mien_safetensors_open (f->dir, &error);
  g_assert_null (st);
  g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_IO);
  g_clear_error (&error);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  st = mien_safetensors_open (fifo, &error);
  g_assert_null (st);
  g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_IO);
  g_clear_error (&error);

  g_file_set_contents (empty, "", 0, &error);
  g_assert_no_error (error);
  st = mien_safetensors_open (empty, &error);
  g_assert_null (st);
  g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_TRUNCATED);
  g_assert_nonnull (strstr (error->message, "empty.safetensors"));
  g_clear_error (&error);

  g_file_set_contents (cut, "\x08\0\0\0\0\0\0\0{}  ", 12, &error);
  g_assert_no_error (error);
  st = mien_safetensors_open (cut, &error);
  g_assert_null (st);
  g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_TRUNCATED);
  g_clear_error (&error);
}

static GBytes *
make_valid_file (const char *dir)
{
  static const float w[6] = { 1, 2, 3, 4, 5, 6 };
  static const gint64 b[2] = { -1, 1 };
  static const gint64 shape_w[] = { 2, 3 };
  static const gint64 shape_b[] = { 2 };
  const MienSafetensorsEntry entries[] = {
    { "w", MIEN_DTYPE_FLOAT32, 2, shape_w, (const guint8 *) w, sizeof w },
    { "b", MIEN_DTYPE_INT64, 1, shape_b, (const guint8 *) b, sizeof b },
    { "s", MIEN_DTYPE_FLOAT32, 0, NULL, (const guint8 *) w, 4 },
  };
  g_autoptr(GHashTable) metadata = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *path = g_build_filename (dir, "valid.safetensors", NULL);
  g_autoptr(GError) error = NULL;

  g_hash_table_insert (metadata, "format", "pt");
  g_assert_true (mien_safetensors_write (path, metadata, entries, G_N_ELEMENTS (entries), NULL,
                                         NULL, &error));
  g_assert_no_error (error);
  return read_bytes (path);
}

/* Whatever the reader accepts must describe memory inside the buffer it was given. */
static void
check_parsed (MienSafetensors *st,
              GBytes          *bytes)
{
  const guint8 *start = g_bytes_get_data (bytes, NULL);
  const guint8 *end = start + g_bytes_get_size (bytes);

  for (guint i = 0; i < mien_safetensors_get_n_entries (st); i++)
    {
      const MienSafetensorsEntry *e = mien_safetensors_get_entry (st, i);
      volatile guint8 sink = 0;

      g_assert_true (e->data >= start && e->data <= end);
      g_assert_cmpuint (e->size, <=, (gsize) (end - e->data));
      /* Touch every byte, so that ASan sees any read out of bounds. */
      for (gsize k = 0; k < e->size; k++)
        sink ^= e->data[k];
      (void) sink;
    }
}

static void
test_truncations (Fixture       *f,
                  gconstpointer  unused)
{
  g_autoptr(GBytes) valid = make_valid_file (f->dir);
  const guint8 *data = g_bytes_get_data (valid, NULL);
  gsize len = g_bytes_get_size (valid);

  /* Every prefix of a file with data is refused: the tensors must tile the data exactly. A copy
   * each time, so that ASan catches a read past the end. */
  for (gsize cut = 0; cut < len; cut++)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (data, cut);
      g_autoptr(GError) error = NULL;
      g_autoptr(MienSafetensors) st = mien_safetensors_new_from_bytes (bytes, &error);

      g_assert_null (st);
      g_assert_nonnull (error);
      g_assert_true (error->domain == MIEN_SAFETENSORS_ERROR);
      if (cut < 8)
        g_assert_cmpint (error->code, ==, MIEN_SAFETENSORS_ERROR_TRUNCATED);
    }
}

static void
test_fuzz_header (Fixture       *f,
                  gconstpointer  unused)
{
  g_autoptr(GBytes) valid = make_valid_file (f->dir);
  const guint8 *data = g_bytes_get_data (valid, NULL);
  gsize len = g_bytes_get_size (valid);
  guint64 header_len;
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240611);
  guint n_parsed = 0, n_refused = 0;
  static const char interesting[] = "{}[]\",:0123456789-.eE \\ntfu\x80\xff";

  memcpy (&header_len, data, 8);
  header_len = GUINT64_FROM_LE (header_len);

  for (guint iter = 0; iter < 600; iter++)
    {
      g_autofree guint8 *copy = g_memdup2 (data, len);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(MienSafetensors) st = NULL;
      guint n_flips = g_rand_int_range (rand, 1, 5);

      for (guint k = 0; k < n_flips; k++)
        {
          /* Mostly the JSON, sometimes the length field. */
          gsize pos = g_rand_int_range (rand, 0, 10) == 0
                      ? (gsize) g_rand_int_range (rand, 0, 8)
                      : 8 + (gsize) g_rand_int_range (rand, 0, (gint32) header_len);

          if (g_rand_boolean (rand))
            copy[pos] = (guint8) interesting[g_rand_int_range (rand, 0, sizeof interesting - 1)];
          else
            copy[pos] ^= (guint8) (1u << g_rand_int_range (rand, 0, 8));
        }

      bytes = g_bytes_new (copy, len);
      st = mien_safetensors_new_from_bytes (bytes, &error);
      if (st != NULL)
        {
          g_assert_no_error (error);
          check_parsed (st, bytes);
          n_parsed++;
        }
      else
        {
          g_assert_nonnull (error);
          g_assert_true (error->domain == MIEN_SAFETENSORS_ERROR);
          n_refused++;
        }
    }

  g_test_message ("%u mutated headers parsed, %u refused", n_parsed, n_refused);
  g_assert_cmpuint (n_refused, >, 0);
}

/* ---- Writer ------------------------------------------------------------------------------ */

static gboolean
fill_fails (guint     index,
            guint8   *dest,
            gsize     size,
            gpointer  user_data,
            GError  **error)
{
  guint *n_calls = user_data;

  if ((*n_calls)++ == 0)
    {
      memset (dest, 0xab, size);
      return TRUE;
    }
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "tensor %u is on fire", index);
  return FALSE;
}

static void
test_write_atomic (Fixture       *f,
                   gconstpointer  unused)
{
  static const gint64 shape[] = { 1024 };
  const MienSafetensorsEntry entries[] = {
    { "a", MIEN_DTYPE_FLOAT32, 1, shape, NULL, 4096 },
    { "b", MIEN_DTYPE_FLOAT32, 1, shape, NULL, 4096 },
  };
  g_autofree char *path = g_build_filename (f->dir, "model.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  guint n_calls = 0;

  g_file_set_contents (path, "old contents", -1, &error);
  g_assert_no_error (error);

  g_assert_false (mien_safetensors_write (path, NULL, entries, G_N_ELEMENTS (entries),
                                          fill_fails, &n_calls, &error));
  /* The fill function's own error, with the file named. */
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "on fire"));
  g_assert_nonnull (strstr (error->message, "model.safetensors"));
  g_assert_cmpuint (n_calls, ==, 2);

  g_file_get_contents (path, &contents, NULL, NULL);
  g_assert_cmpstr (contents, ==, "old contents");
  /* No temporary file left behind. */
  g_assert_cmpuint (count_files (f->dir), ==, 1);

  /* A fill function that fails without saying why still gives an error. */
  g_clear_error (&error);
  n_calls = 1;
  g_assert_false (mien_safetensors_write (path, NULL, entries, 1, fill_fails, &n_calls, NULL));
  g_assert_cmpuint (count_files (f->dir), ==, 1);
}

static void
test_write_invalid (Fixture       *f,
                    gconstpointer  unused)
{
  static const guint8 data[8] = { 0 };
  static const gint64 shape2[] = { 2 };
  static const gint64 negative[] = { -2 };
  static const gint64 huge[] = { G_MAXINT64, G_MAXINT64 };
  const struct {
    MienSafetensorsEntry entries[2];
    guint                n;
  } cases[] = {
    /* Duplicate names. */
    { { { "x", MIEN_DTYPE_FLOAT32, 1, shape2, data, 8 },
        { "x", MIEN_DTYPE_FLOAT32, 1, shape2, data, 8 } }, 2 },
    /* Reserved, empty and missing names. */
    { { { "__metadata__", MIEN_DTYPE_FLOAT32, 1, shape2, data, 8 } }, 1 },
    { { { "", MIEN_DTYPE_FLOAT32, 1, shape2, data, 8 } }, 1 },
    { { { NULL, MIEN_DTYPE_FLOAT32, 1, shape2, data, 8 } }, 1 },
    { { { "x\xff", MIEN_DTYPE_FLOAT32, 1, shape2, data, 8 } }, 1 },
    /* Size not numel * dtype size. */
    { { { "x", MIEN_DTYPE_FLOAT32, 1, shape2, data, 4 } }, 1 },
    { { { "x", MIEN_DTYPE_FLOAT16, 1, shape2, data, 8 } }, 1 },
    /* Bad shapes and dtypes. */
    { { { "x", MIEN_DTYPE_FLOAT32, 1, negative, data, 8 } }, 1 },
    { { { "x", MIEN_DTYPE_FLOAT32, 2, huge, data, 8 } }, 1 },
    { { { "x", MIEN_DTYPE_FLOAT32, -1, NULL, data, 8 } }, 1 },
    { { { "x", MIEN_DTYPE_FLOAT32, 1, NULL, data, 8 } }, 1 },
    { { { "x", (MienDType) 99, 1, shape2, data, 8 } }, 1 },
    /* No data and no fill function. */
    { { { "x", MIEN_DTYPE_FLOAT32, 1, shape2, NULL, 8 } }, 1 },
  };
  g_autofree char *path = g_build_filename (f->dir, "bad.safetensors", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("case %u", i);
      g_assert_false (mien_safetensors_write (path, NULL, cases[i].entries, cases[i].n, NULL,
                                              NULL, &error));
      g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_INVALID);
      g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
      g_assert_cmpuint (count_files (f->dir), ==, 0);
    }

  /* Metadata must be UTF-8. */
  {
    g_autoptr(GHashTable) metadata = g_hash_table_new (g_str_hash, g_str_equal);
    g_autoptr(GError) error = NULL;

    g_hash_table_insert (metadata, "k", "\xc3");
    g_assert_false (mien_safetensors_write (path, metadata, NULL, 0, NULL, NULL, &error));
    g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_INVALID);
    g_assert_cmpuint (count_files (f->dir), ==, 0);
  }
}

static void
test_write_io_errors (Fixture       *f,
                      gconstpointer  unused)
{
  static const guint8 data[4] = { 1, 2, 3, 4 };
  static const gint64 shape[] = { 4 };
  const MienSafetensorsEntry entry = { "x", MIEN_DTYPE_UINT8, 1, shape, data, 4 };
  g_autofree char *nowhere = g_build_filename (f->dir, "no-such-dir", "x.safetensors", NULL);
  g_autofree char *subdir = g_build_filename (f->dir, "a-directory", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (mien_safetensors_write (nowhere, NULL, &entry, 1, NULL, NULL, &error));
  g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "x.safetensors"));
  g_assert_nonnull (strstr (error->message, g_strerror (ENOENT)));
  g_clear_error (&error);

  /* rename () cannot replace a directory: the temporary file must go away. */
  g_assert_cmpint (g_mkdir (subdir, 0755), ==, 0);
  g_assert_false (mien_safetensors_write (subdir, NULL, &entry, 1, NULL, NULL, &error));
  g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_IO);
  g_assert_cmpuint (count_files (f->dir), ==, 1);
  g_assert_true (g_file_test (subdir, G_FILE_TEST_IS_DIR));
  g_clear_error (&error);
  g_rmdir (subdir);
}

/* A full disk cannot be simulated without privileges (/dev/full is a device: the writer never
 * writes to the target itself, it renames a temporary file beside it). Point
 * MIEN_TEST_SMALL_FS_DIR at an empty directory on a small file system to run this, e.g. as root:
 *   mount -t tmpfs -o size=64k tmpfs /tmp/small && MIEN_TEST_SMALL_FS_DIR=/tmp/small ... */
static void
test_write_enospc (void)
{
  const char *dir = g_getenv ("MIEN_TEST_SMALL_FS_DIR");
  g_autofree char *path = NULL;
  g_autofree char *old = NULL;
  g_autofree guint8 *big = NULL;
  g_autoptr(GError) error = NULL;
  gint64 shape[1];
  MienSafetensorsEntry entry = { "big", MIEN_DTYPE_UINT8, 1, shape, NULL, 0 };

  if (dir == NULL)
    {
      g_test_skip ("set MIEN_TEST_SMALL_FS_DIR to a directory on a small file system");
      return;
    }

  path = g_build_filename (dir, "model.safetensors", NULL);
  g_file_set_contents (path, "old", -1, &error);
  g_assert_no_error (error);

  /* Larger than any small test file system: the write must fail part way. */
  shape[0] = 64 * 1024 * 1024;
  entry.size = (gsize) shape[0];
  big = g_malloc0 (entry.size);
  entry.data = big;

  g_assert_false (mien_safetensors_write (path, NULL, &entry, 1, NULL, NULL, &error));
  g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_IO);
  g_assert_nonnull (strstr (error->message, g_strerror (ENOSPC)));
  g_test_message ("%s", error->message);

  g_file_get_contents (path, &old, NULL, NULL);
  g_assert_cmpstr (old, ==, "old");
  g_assert_cmpuint (count_files (dir), ==, 1);
  g_unlink (path);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/safetensors/round-trip", Fixture, NULL,
              mien_test_scratch_set_up, test_round_trip, mien_test_scratch_tear_down);
  g_test_add ("/safetensors/deterministic", Fixture, NULL,
              mien_test_scratch_set_up, test_deterministic, mien_test_scratch_tear_down);
  g_test_add ("/safetensors/reference-bytes", Fixture, NULL,
              mien_test_scratch_set_up, test_reference_bytes, mien_test_scratch_tear_down);
  g_test_add ("/safetensors/independent-writer", Fixture, NULL,
              mien_test_scratch_set_up, test_independent_writer, mien_test_scratch_tear_down);
  g_test_add_func ("/safetensors/no-tensors", test_no_tensors);
  g_test_add_func ("/safetensors/dtype-strings", test_dtype_strings);
  g_test_add_func ("/safetensors/hostile/lengths", test_hostile_lengths);
  g_test_add_func ("/safetensors/hostile/headers", test_hostile_headers);
  g_test_add_func ("/safetensors/hostile/messages", test_error_messages);
  g_test_add ("/safetensors/hostile/open", Fixture, NULL,
              mien_test_scratch_set_up, test_open_errors, mien_test_scratch_tear_down);
  g_test_add ("/safetensors/hostile/truncations", Fixture, NULL,
              mien_test_scratch_set_up, test_truncations, mien_test_scratch_tear_down);
  g_test_add ("/safetensors/hostile/fuzz-header", Fixture, NULL,
              mien_test_scratch_set_up, test_fuzz_header, mien_test_scratch_tear_down);
  g_test_add ("/safetensors/write/atomic", Fixture, NULL,
              mien_test_scratch_set_up, test_write_atomic, mien_test_scratch_tear_down);
  g_test_add ("/safetensors/write/invalid", Fixture, NULL,
              mien_test_scratch_set_up, test_write_invalid, mien_test_scratch_tear_down);
  g_test_add ("/safetensors/write/control-characters", Fixture, NULL,
              mien_test_scratch_set_up, test_control_characters, mien_test_scratch_tear_down);
  g_test_add ("/safetensors/write/io-errors", Fixture, NULL,
              mien_test_scratch_set_up, test_write_io_errors, mien_test_scratch_tear_down);
  g_test_add_func ("/safetensors/write/enospc", test_write_enospc);

  return g_test_run ();
}
