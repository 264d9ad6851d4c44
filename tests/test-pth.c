/* test-pth.c — the PyTorch checkpoint reader (app/torch/mien-pth.c) and loading .pth weights.
 *
 * Small checkpoints are built here byte by byte (a hand-written pickle in a stored zip or in the
 * legacy container), so that every hostile variant is exact: payloads that would run a command,
 * memo and storage abuse, zip bombs, truncation at every length. Real ones come from torch.save
 * itself (pth_reference.py, run by MIEN_REFERENCE_PYTHON): torchvision's resnet18,
 * efficientnet_b0 and vit_b_16 state dicts in both formats load into Mien's backbones and give
 * torchvision's logits.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "mien-core.h"
#include "mien-demo-data.h"
#include "mien-model.h"
#include "mien-test-util.h"

/* ||mien - torch|| / ||torch|| for the logits, as the parity tests. */
#define REL_TOL 1e-4

/* ---- Building checkpoints ------------------------------------------------------------------ */

static void
put (GByteArray *b,
     const void *data,
     gsize       len)
{
  g_byte_array_append (b, data, len);
}

static void
put_op (GByteArray *b,
        guint8      op)
{
  put (b, &op, 1);
}

static void
put_le (GByteArray *b,
        guint64     v,
        int         n)
{
  for (int i = 0; i < n; i++)
    put_op (b, (v >> (8 * i)) & 0xff);
}

static void
put_str (GByteArray *b,
         const char *s)
{
  put_op (b, 'X');
  put_le (b, strlen (s), 4);
  put (b, s, strlen (s));
}

static void
put_int (GByteArray *b,
         gint32      i)
{
  put_op (b, 'J');
  put_le (b, (guint32) i, 4);
}

static void
put_global (GByteArray *b,
            const char *module,
            const char *name)
{
  put_op (b, 'c');
  put (b, module, strlen (module));
  put_op (b, '\n');
  put (b, name, strlen (name));
  put_op (b, '\n');
}

static void
put_ints_tuple (GByteArray   *b,
                const gint64 *v,
                int           n)
{
  put_op (b, '(');
  for (int i = 0; i < n; i++)
    put_int (b, v[i]);
  put_op (b, 't');
}

/* _rebuild_tensor_v2 of a float storage `key` of `numel` elements. `legacy` adds the sixth
 * (view metadata) element to the persistent id, as the legacy format writes it. */
static void
put_tensor (GByteArray   *b,
            const char   *key,
            gint64        numel,
            gint64        offset,
            const gint64 *size,
            const gint64 *stride,
            int           ndim,
            gboolean      legacy)
{
  put_global (b, "torch._utils", "_rebuild_tensor_v2");
  put_op (b, '(');
  put_op (b, '(');
  put_str (b, "storage");
  put_global (b, "torch", "FloatStorage");
  put_str (b, key);
  put_str (b, "cpu");
  put_int (b, numel);
  if (legacy)
    put_op (b, 'N');
  put_op (b, 't');
  put_op (b, 'Q');
  put_int (b, offset);
  put_ints_tuple (b, size, ndim);
  put_ints_tuple (b, stride, ndim);
  put_op (b, 0x89);
  put_global (b, "collections", "OrderedDict");
  put_op (b, ')');
  put_op (b, 'R');
  put_op (b, 't');
  put_op (b, 'R');
}

/* The small state dict every builder uses: "w" [2, 3] over storage "0" (6 floats) and "b" [2]
 * over storage "1" (2 floats), in an OrderedDict. */
static const float small_w[6] = { 1, 2, 3, 4, 5, 6 };
static const float small_b[2] = { -1, 0.5 };

static void
put_small_state_dict (GByteArray *b,
                      gboolean    legacy)
{
  const gint64 w_size[2] = { 2, 3 }, w_stride[2] = { 3, 1 };
  const gint64 b_size[1] = { 2 }, b_stride[1] = { 1 };

  put_global (b, "collections", "OrderedDict");
  put_op (b, ')');
  put_op (b, 'R');
  put_op (b, '(');
  put_str (b, "w");
  put_tensor (b, "0", 6, 0, w_size, w_stride, 2, legacy);
  put_str (b, "b");
  put_tensor (b, "1", 2, 0, b_size, b_stride, 1, legacy);
  put_op (b, 'u');
}

/* A whole pickle: PROTO 2, `body` (which leaves one value), STOP. */
static GBytes *
pickle (void (*body) (GByteArray *, gboolean),
        gboolean legacy)
{
  GByteArray *b = g_byte_array_new ();

  put_op (b, 0x80);
  put_op (b, 2);
  body (b, legacy);
  put_op (b, '.');
  return g_byte_array_free_to_bytes (b);
}

static guint32
crc32_of (const guint8 *data,
          gsize         len)
{
  guint32 crc = 0xffffffff;

  for (gsize i = 0; i < len; i++)
    {
      crc ^= data[i];
      for (int k = 0; k < 8; k++)
        crc = (crc & 1) ? 0xedb88320 ^ (crc >> 1) : crc >> 1;
    }
  return crc ^ 0xffffffff;
}

typedef struct {
  const char   *name;
  const void   *data;
  gsize         size;
  guint         method;       /* 0 stored; 8 claims deflate */
  guint64       usize;        /* the uncompressed size claimed, 0: size */
} ZipItem;

/* A zip as torch.save's writer lays it out (no data descriptors). With `zip64`, as it writes a
 * file beyond 4 GB: sizes and offsets in zip64 extra fields, a zip64 end record and locator. */
static GBytes *
zip_archive_full (const ZipItem *items,
                  guint          n,
                  gboolean       zip64)
{
  GByteArray *b = g_byte_array_new ();
  g_autoptr(GByteArray) cd = g_byte_array_new ();
  guint64 cd_offset;

  for (guint i = 0; i < n; i++)
    {
      guint32 crc = crc32_of (items[i].data, items[i].size);
      guint64 usize = items[i].usize ? items[i].usize : items[i].size;
      guint64 offset = b->len;
      guint32 small = zip64 ? 0xffffffff : 0;

      put_le (b, 0x04034b50, 4);
      put_le (b, zip64 ? 45 : 20, 2);
      put_le (b, 0, 2);
      put_le (b, items[i].method, 2);
      put_le (b, 0, 4);
      put_le (b, crc, 4);
      put_le (b, small | items[i].size, 4);
      put_le (b, small | usize, 4);
      put_le (b, strlen (items[i].name), 2);
      put_le (b, zip64 ? 20 : 0, 2);
      put (b, items[i].name, strlen (items[i].name));
      if (zip64)
        {
          put_le (b, 1, 2);
          put_le (b, 16, 2);
          put_le (b, usize, 8);
          put_le (b, items[i].size, 8);
        }
      put (b, items[i].data, items[i].size);

      put_le (cd, 0x02014b50, 4);
      put_le (cd, zip64 ? 45 : 20, 2);
      put_le (cd, zip64 ? 45 : 20, 2);
      put_le (cd, 0, 2);
      put_le (cd, items[i].method, 2);
      put_le (cd, 0, 4);
      put_le (cd, crc, 4);
      put_le (cd, small | items[i].size, 4);
      put_le (cd, small | usize, 4);
      put_le (cd, strlen (items[i].name), 2);
      put_le (cd, zip64 ? 28 : 0, 2);
      put_le (cd, 0, 2);
      put_le (cd, 0, 2);
      put_le (cd, 0, 2);
      put_le (cd, 0, 4);
      put_le (cd, small | offset, 4);
      put (cd, items[i].name, strlen (items[i].name));
      if (zip64)
        {
          put_le (cd, 1, 2);
          put_le (cd, 24, 2);
          put_le (cd, usize, 8);
          put_le (cd, items[i].size, 8);
          put_le (cd, offset, 8);
        }
    }

  cd_offset = b->len;
  put (b, cd->data, cd->len);
  if (zip64)
    {
      guint64 record = b->len;

      put_le (b, 0x06064b50, 4);
      put_le (b, 44, 8);
      put_le (b, 45, 2);
      put_le (b, 45, 2);
      put_le (b, 0, 4);
      put_le (b, 0, 4);
      put_le (b, n, 8);
      put_le (b, n, 8);
      put_le (b, cd->len, 8);
      put_le (b, cd_offset, 8);
      put_le (b, 0x07064b50, 4);
      put_le (b, 0, 4);
      put_le (b, record, 8);
      put_le (b, 1, 4);
    }
  put_le (b, 0x06054b50, 4);
  put_le (b, 0, 4);
  put_le (b, zip64 ? 0xffff : n, 2);
  put_le (b, zip64 ? 0xffff : n, 2);
  put_le (b, zip64 ? 0xffffffff : cd->len, 4);
  put_le (b, zip64 ? 0xffffffff : cd_offset, 4);
  put_le (b, 0, 2);
  return g_byte_array_free_to_bytes (b);
}

static GBytes *
zip_archive (const ZipItem *items,
             guint          n)
{
  return zip_archive_full (items, n, FALSE);
}

/* A checkpoint in the zip format holding `pkl` and the small dict's two storages. */
static GBytes *
zip_checkpoint_full (GBytes   *pkl,
                     gboolean  zip64)
{
  ZipItem items[] = {
    { "ckpt/data.pkl", g_bytes_get_data (pkl, NULL), g_bytes_get_size (pkl), 0, 0 },
    { "ckpt/data/0", small_w, sizeof small_w, 0, 0 },
    { "ckpt/data/1", small_b, sizeof small_b, 0, 0 },
    { "ckpt/version", "3\n", 2, 0, 0 },
  };

  return zip_archive_full (items, G_N_ELEMENTS (items), zip64);
}

static GBytes *
zip_checkpoint (GBytes *pkl)
{
  return zip_checkpoint_full (pkl, FALSE);
}

static void
put_legacy_head (GByteArray *b)
{
  static const guint8 magic[] = {
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'
  };
  static const guint8 protocol[] = { 0x80, 0x02, 'M', 0xe9, 0x03, '.' };

  put (b, magic, sizeof magic);
  put (b, protocol, sizeof protocol);
  put_op (b, 0x80);
  put_op (b, 2);
  put_op (b, '}');
  put_str (b, "little_endian");
  put_op (b, 0x88);
  put_op (b, 's');
  put_op (b, '.');
}

/* A legacy checkpoint: `pkl`, the storage keys `keys` (NULL-terminated), then the small dict's
 * storages in that order. */
static GBytes *
legacy_checkpoint (GBytes             *pkl,
                   const char * const *keys)
{
  GByteArray *b = g_byte_array_new ();

  put_legacy_head (b);
  put (b, g_bytes_get_data (pkl, NULL), g_bytes_get_size (pkl));
  put_op (b, 0x80);
  put_op (b, 2);
  put_op (b, '(');
  for (guint i = 0; keys[i] != NULL; i++)
    put_str (b, keys[i]);
  put_op (b, 'l');
  put_op (b, '.');
  for (guint i = 0; keys[i] != NULL; i++)
    {
      gboolean w = g_str_equal (keys[i], "0");

      put_le (b, w ? 6 : 2, 8);
      put (b, w ? (const void *) small_w : small_b, w ? sizeof small_w : sizeof small_b);
    }
  return g_byte_array_free_to_bytes (b);
}

static const char * const both_keys[] = { "0", "1", NULL };

/* A checkpoint of the pickle `body` writes, with the small dict's storages (the legacy format
 * lists `keys`, NULL for both). */
static GBytes *
checkpoint (void (*body) (GByteArray *, gboolean),
            gboolean             legacy,
            const char * const  *keys)
{
  g_autoptr(GBytes) pkl = pickle (body, legacy);

  return legacy ? legacy_checkpoint (pkl, keys != NULL ? keys : both_keys) : zip_checkpoint (pkl);
}

typedef enum {
  FORMAT_ZIP,
  FORMAT_LEGACY,
  FORMAT_ZIP64,
} Format;

static GBytes *
small_checkpoint (Format format)
{
  g_autoptr(GBytes) pkl = NULL;

  if (format != FORMAT_ZIP64)
    return checkpoint (put_small_state_dict, format == FORMAT_LEGACY, NULL);
  pkl = pickle (put_small_state_dict, FALSE);
  return zip_checkpoint_full (pkl, TRUE);
}

/* ---- Checks ---------------------------------------------------------------------------------- */

static void
assert_floats (MienTensor  *t,
               const float *expected,
               gsize        n)
{
  g_autofree double *values = NULL;
  gsize got = 0;

  values = mien_test_values_of (t, &got);
  g_assert_cmpuint (got, ==, n);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (values[i], ==, expected[i]);
}

static void
assert_small_entries (MienPth *pth)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) w = NULL;
  g_autoptr(MienTensor) b = NULL;

  g_assert_cmpuint (mien_pth_get_n_entries (pth), ==, 2);
  g_assert_cmpstr (mien_pth_get_entry (pth, 0)->name, ==, "w");
  g_assert_cmpstr (mien_pth_get_entry (pth, 1)->name, ==, "b");
  g_assert_cmpint (mien_pth_get_entry (pth, 0)->ndim, ==, 2);
  g_assert_cmpint (mien_pth_get_entry (pth, 0)->dtype, ==, MIEN_DTYPE_FLOAT32);
  g_assert_true (mien_pth_lookup (pth, "b") == mien_pth_get_entry (pth, 1));
  g_assert_null (mien_pth_lookup (pth, "c"));
  w = mien_pth_load_tensor (pth, 0, &error);
  g_assert_no_error (error);
  b = mien_pth_load_tensor (pth, 1, &error);
  g_assert_no_error (error);
  assert_floats (w, small_w, 6);
  assert_floats (b, small_b, 2);
}

/* Parses `bytes`; asserts a MIEN_PTH_ERROR of `code` whose message holds `needle`. */
static void
assert_refused (GBytes       *bytes,
                MienPthError  code,
                const char   *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienPth) pth = mien_pth_new_from_bytes (bytes, &error);

  g_assert_null (pth);
  g_assert_error (error, MIEN_PTH_ERROR, (int) code);
  g_test_message ("refused: %s", error->message);
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_error ("“%s” does not mention “%s”", error->message, needle);
}

static void
test_small (gconstpointer data)
{
  Format format = GPOINTER_TO_INT (data);
  gboolean legacy = format == FORMAT_LEGACY;
  g_autoptr(GBytes) bytes = small_checkpoint (format);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienPth) pth = mien_pth_new_from_bytes (bytes, &error);

  g_assert_no_error (error);
  g_assert_true (mien_pth_sniff (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes)));
  g_assert_cmpstr (mien_pth_get_format (pth), ==, legacy ? "legacy" : "zip");
  g_assert_cmpstr (mien_pth_get_location (pth), ==, "");
  assert_small_entries (pth);
}

/* Every proper prefix of a valid file is refused, with an error, never a crash. */
static void
test_truncated (gconstpointer data)
{
  Format format = GPOINTER_TO_INT (data);
  gboolean legacy = format == FORMAT_LEGACY;
  g_autoptr(GBytes) bytes = small_checkpoint (format);
  gsize size = g_bytes_get_size (bytes);

  for (gsize len = 0; len < size; len++)
    {
      g_autoptr(GBytes) cut = g_bytes_new_from_bytes (bytes, 0, len);
      g_autoptr(GError) error = NULL;
      g_autoptr(MienPth) pth = mien_pth_new_from_bytes (cut, &error);

      if (pth != NULL)
        g_error ("a %s file cut to %zu of %zu bytes was accepted", legacy ? "legacy" : "zip",
                 len, size);
      g_assert_error (error, MIEN_PTH_ERROR, error->code);
      g_assert_nonnull (error->message);
    }
}

/* ---- Hostile pickles ------------------------------------------------------------------------- */

static char *marker_path;

/* os.system ("touch MARKER"), called in various ways. */
static void
put_payload_args (GByteArray *b)
{
  g_autofree char *command = g_strdup_printf ("touch '%s'", marker_path);

  put_str (b, command);
  put_op (b, 0x85);  /* TUPLE1 */
}

static void
body_global_reduce (GByteArray *b,
                    gboolean    legacy)
{
  put_global (b, "os", "system");
  put_payload_args (b);
  put_op (b, 'R');
}

static void
body_stack_global (GByteArray *b,
                   gboolean    legacy)
{
  put_str (b, "os");
  put_str (b, "system");
  put_op (b, 0x93);
  put_payload_args (b);
  put_op (b, 'R');
}

static void
body_inst (GByteArray *b,
           gboolean    legacy)
{
  g_autofree char *command = g_strdup_printf ("touch '%s'", marker_path);

  put_op (b, '(');
  put_str (b, command);
  put_op (b, 'i');
  put (b, "os\nsystem\n", 10);
}

static void
body_obj (GByteArray *b,
          gboolean    legacy)
{
  g_autofree char *command = g_strdup_printf ("touch '%s'", marker_path);

  put_op (b, '(');
  put_global (b, "os", "system");
  put_str (b, command);
  put_op (b, 'o');
}

/* builtins.eval through STACK_GLOBAL, hidden after a valid entry of a state dict. */
static void
body_eval_in_dict (GByteArray *b,
                   gboolean    legacy)
{
  g_autofree char *code = g_strdup_printf ("open ('%s', 'w')", marker_path);
  const gint64 size[1] = { 2 }, stride[1] = { 1 };

  put_op (b, '}');
  put_op (b, '(');
  put_str (b, "b");
  put_tensor (b, "1", 2, 0, size, stride, 1, legacy);
  put_str (b, "evil");
  put_str (b, "builtins");
  put_str (b, "eval");
  put_op (b, 0x93);
  put_str (b, code);
  put_op (b, 0x85);
  put_op (b, 'R');
  put_op (b, 'u');
}

/* An allowed global called with what it must not get: OrderedDict (iterable) could run code
 * through an iterator in real Python. */
static void
body_allowed_misused (GByteArray *b,
                      gboolean    legacy)
{
  put_global (b, "torch", "FloatStorage");
  put_op (b, ')');
  put_op (b, 'R');
}

typedef struct {
  const char *name;
  void (*body) (GByteArray *, gboolean);
  const char *needle;
  gboolean python_runs_it;   /* pickle.loads of the bare pickle creates the marker */
} Payload;

static const Payload payloads[] = {
  { "global-reduce", body_global_reduce, "refusing global os.system", TRUE },
  { "stack-global", body_stack_global, "refusing global os.system", TRUE },
  { "inst", body_inst, "refusing global os.system", TRUE },
  { "obj", body_obj, "refusing global os.system", TRUE },
  /* Plain pickle has no persistent_load, so Python stops at the tensor before eval. */
  { "eval", body_eval_in_dict, "refusing global builtins.eval", FALSE },
  { "storage-call", body_allowed_misused, "refusing to call torch.FloatStorage", FALSE },
};

static const char *
reference_python (void)
{
  const char *python = g_getenv ("MIEN_REFERENCE_PYTHON");

  return (python != NULL && *python != '\0') ? python : NULL;
}

/* Shows that a payload is live: plain pickle.loads in Python creates the marker. */
static void
assert_python_runs (GBytes *pkl)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_strconcat (marker_path, ".pkl", NULL);
  const char *argv[] = { reference_python (), "-c",
                         "import pickle, sys; pickle.loads(open(sys.argv[1], 'rb').read())",
                         path, NULL };

  g_file_set_contents (path, g_bytes_get_data (pkl, NULL), g_bytes_get_size (pkl), &error);
  g_assert_no_error (error);
  /* Its exit status does not matter (the payload's result is no state dict). */
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL |
                G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (marker_path, G_FILE_TEST_EXISTS));
  g_unlink (marker_path);
  g_unlink (path);
}

static void
test_payload (MienTestScratch *scratch,
              gconstpointer    data)
{
  const Payload *p = data;

  marker_path = g_build_filename (scratch->dir, "marker", NULL);
  for (int legacy = 0; legacy <= 1; legacy++)
    {
      g_autoptr(GBytes) pkl = pickle (p->body, legacy);
      g_autoptr(GBytes) file = checkpoint (p->body, legacy, NULL);
      g_autofree char *path = g_build_filename (scratch->dir, "payload.pth", NULL);
      g_autoptr(MienVarStore) vs = mien_var_store_new (mien_device_cpu ());
      g_autoptr(GError) error = NULL;

      if (!legacy && p->python_runs_it && reference_python () != NULL)
        assert_python_runs (pkl);

      assert_refused (file, MIEN_PTH_ERROR_REFUSED, p->needle);
      /* Through the var store, from a file, as --pretrained would. */
      g_file_set_contents (path, g_bytes_get_data (file, NULL), g_bytes_get_size (file), &error);
      g_assert_no_error (error);
      g_assert_false (mien_var_store_load (vs, path, NULL, NULL, &error));
      g_assert_error (error, MIEN_PTH_ERROR, MIEN_PTH_ERROR_REFUSED);
      g_assert_nonnull (strstr (error->message, "payload.pth"));
      g_assert_false (g_file_test (marker_path, G_FILE_TEST_EXISTS));
    }
  g_clear_pointer (&marker_path, g_free);
}

/* ---- Malformed pickles and containers -------------------------------------------------------- */

static void
body_memo_put_huge (GByteArray *b,
                    gboolean    legacy)
{
  put_op (b, '}');
  put_op (b, 'r');
  put_le (b, 0xfffffff0, 4);
}

static void
body_memo_get_unset (GByteArray *b,
                     gboolean    legacy)
{
  put_op (b, '}');
  put_op (b, 'q');
  put_op (b, 0);
  put_op (b, 'j');
  put_le (b, 5, 4);
}

/* 150 lists, each inside the next. */
static void
body_deep (GByteArray *b,
           gboolean    legacy)
{
  for (int i = 0; i < 150; i++)
    put_op (b, ']');
  for (int i = 0; i < 149; i++)
    put_op (b, 'a');
}

static void
body_marks (GByteArray *b,
            gboolean    legacy)
{
  for (int i = 0; i < 5000; i++)
    put_op (b, '(');
}

/* One None, duplicated past the stack's bound (1 << 20 items). */
static void
body_stack (GByteArray *b,
            gboolean    legacy)
{
  put_op (b, 'N');
  for (int i = 0; i < (1 << 20); i++)
    put_op (b, '2');
}

static void
body_huge_string (GByteArray *b,
                  gboolean    legacy)
{
  put_op (b, 0x8d);  /* BINUNICODE8 */
  put_le (b, G_MAXUINT64 - 3, 8);
}

static void
put_one_tensor_dict (GByteArray   *b,
                     const char   *key,
                     gint64        numel,
                     gint64        offset,
                     const gint64 *size,
                     const gint64 *stride,
                     int           ndim,
                     gboolean      legacy)
{
  put_op (b, '}');
  put_str (b, "w");
  put_tensor (b, key, numel, offset, size, stride, ndim, legacy);
  put_op (b, 's');
}

/* A view reaching one element past its storage of 6. */
static void
body_view_past_storage (GByteArray *b,
                        gboolean    legacy)
{
  const gint64 size[2] = { 2, 3 }, stride[2] = { 3, 1 };

  put_one_tensor_dict (b, "0", 6, 1, size, stride, 2, legacy);
}

/* Sizes whose product overflows 64 bits. */
static void
body_absurd_size (GByteArray *b,
                  gboolean    legacy)
{
  const gint64 size[3] = { G_MAXINT32, G_MAXINT32, G_MAXINT32 }, stride[3] = { 0, 0, 0 };

  put_one_tensor_dict (b, "0", 6, 0, size, stride, 3, legacy);
}

static void
body_absurd_stride (GByteArray *b,
                    gboolean    legacy)
{
  const gint64 size[2] = { 2, 3 }, stride[2] = { G_MAXINT32, 1 };

  put_one_tensor_dict (b, "0", 6, 0, size, stride, 2, legacy);
}

static void
body_negative_size (GByteArray *b,
                    gboolean    legacy)
{
  const gint64 size[1] = { -1 }, stride[1] = { 1 };

  put_one_tensor_dict (b, "0", 6, 0, size, stride, 1, legacy);
}

/* A storage key that would climb out of data/ in the zip. */
static void
body_key_path (GByteArray *b,
               gboolean    legacy)
{
  const gint64 size[1] = { 2 }, stride[1] = { 1 };

  put_one_tensor_dict (b, "../version", 2, 0, size, stride, 1, legacy);
}

/* Storage "0" (6 floats in the file) claimed as 1000 elements. */
static void
body_storage_too_big (GByteArray *b,
                      gboolean    legacy)
{
  const gint64 size[1] = { 1000 }, stride[1] = { 1 };

  put_one_tensor_dict (b, "0", 1000, 0, size, stride, 1, legacy);
}

static void
body_list (GByteArray *b,
           gboolean    legacy)
{
  put_op (b, ']');
}

/* {"epoch": 3, outer: {inner: the small dict}} */
static void
put_nested (GByteArray *b,
            gboolean    legacy,
            const char *outer,
            const char *inner)
{
  put_op (b, '}');
  put_op (b, '(');
  put_str (b, "epoch");
  put_int (b, 3);
  put_str (b, outer);
  put_op (b, '}');
  put_str (b, inner);
  put_small_state_dict (b, legacy);
  put_op (b, 's');
  put_op (b, 'u');
}

/* "checkpoint" is not a key the state dict is looked for under. */
static void
body_nested_unknown (GByteArray *b,
                     gboolean    legacy)
{
  put_nested (b, legacy, "checkpoint", "model");
}

typedef struct {
  const char *name;
  void (*body) (GByteArray *, gboolean);
  MienPthError code;
  const char *needle;
  const char * const *keys;   /* the legacy storage list; NULL: just "0" */
} Malformed;

static const char * const no_keys[] = { NULL };
static const char * const key_0[] = { "0", NULL };

static const Malformed malformed[] = {
  { "memo-put", body_memo_put_huge, MIEN_PTH_ERROR_PICKLE, "memo index" },
  { "memo-get", body_memo_get_unset, MIEN_PTH_ERROR_PICKLE, "memo index 5" },
  { "deep", body_deep, MIEN_PTH_ERROR_PICKLE, "nested" },
  { "marks", body_marks, MIEN_PTH_ERROR_PICKLE, "marks" },
  { "stack", body_stack, MIEN_PTH_ERROR_PICKLE, "stack grows beyond" },
  { "huge-string", body_huge_string, MIEN_PTH_ERROR_TRUNCATED, NULL },
  { "view-past-storage", body_view_past_storage, MIEN_PTH_ERROR_STORAGE, "reaches past" },
  { "absurd-size", body_absurd_size, MIEN_PTH_ERROR_STORAGE, "reaches past" },
  { "absurd-stride", body_absurd_stride, MIEN_PTH_ERROR_STORAGE, "reaches past" },
  { "negative-size", body_negative_size, MIEN_PTH_ERROR_STORAGE, "non-negative" },
  { "key-path", body_key_path, MIEN_PTH_ERROR_STORAGE, "alphanumeric" },
  { "storage-too-big", body_storage_too_big, MIEN_PTH_ERROR_STORAGE, "storage “0”" },
  { "no-state-dict", body_list, MIEN_PTH_ERROR_NO_STATE_DICT, "list", no_keys },
  { "unknown-nesting", body_nested_unknown, MIEN_PTH_ERROR_NO_STATE_DICT, "“checkpoint”",
    both_keys },
};

static void
test_malformed (gconstpointer data)
{
  const Malformed *m = data;

  for (int legacy = 0; legacy <= 1; legacy++)
    {
      g_autoptr(GBytes) file = checkpoint (m->body, legacy, m->keys != NULL ? m->keys : key_0);

      assert_refused (file, m->code, m->needle);
    }
}

/* The legacy storage list naming one storage twice: its bytes would be read as two. */
static void
test_legacy_overlap (void)
{
  g_autoptr(GBytes) pkl = pickle (put_small_state_dict, TRUE);
  const char * const keys[] = { "0", "0", "1", NULL };
  g_autoptr(GBytes) file = legacy_checkpoint (pkl, keys);

  assert_refused (file, MIEN_PTH_ERROR_STORAGE, "listed twice");
}

/* A storage entry of the zip shorter than its tensors say. */
static void
test_zip_storage_short (void)
{
  g_autoptr(GBytes) pkl = pickle (put_small_state_dict, FALSE);
  ZipItem items[] = {
    { "ckpt/data.pkl", g_bytes_get_data (pkl, NULL), g_bytes_get_size (pkl), 0, 0 },
    { "ckpt/data/0", small_w, sizeof small_w - 4, 0, 0 },
    { "ckpt/data/1", small_b, sizeof small_b, 0, 0 },
  };
  g_autoptr(GBytes) file = zip_archive (items, G_N_ELEMENTS (items));

  assert_refused (file, MIEN_PTH_ERROR_STORAGE, "storage “0” holds 20 bytes");
}

/* A deflated entry claiming 4 GB: refused without inflating anything. */
static void
test_zip_bomb (void)
{
  g_autoptr(GBytes) pkl = pickle (put_small_state_dict, FALSE);
  static const guint8 deflated[16] = { 0xed, 0xc1, 0x01, 0x0d };
  ZipItem items[] = {
    { "ckpt/data.pkl", g_bytes_get_data (pkl, NULL), g_bytes_get_size (pkl), 0, 0 },
    { "ckpt/data/0", deflated, sizeof deflated, 8, G_MAXUINT32 - 1 },
    { "ckpt/data/1", small_b, sizeof small_b, 0, 0 },
  };
  g_autoptr(GBytes) file = zip_archive (items, G_N_ELEMENTS (items));

  assert_refused (file, MIEN_PTH_ERROR_FORMAT, "compressed");
}

/* Patches the central directory's 32-bit field at `field` (from an entry's start) of entry
 * `index`. */
static GBytes *
patch_central (GBytes  *bytes,
               guint    index,
               guint    field,
               guint32  value)
{
  gsize size = g_bytes_get_size (bytes);
  guint8 *data = g_memdup2 (g_bytes_get_data (bytes, NULL), size);
  guint8 *p = data;
  guint found = 0;

  for (gsize i = 0; i + 4 <= size; i++)
    if (memcmp (data + i, "PK\x01\x02", 4) == 0 && found++ == index)
      {
        p = data + i;
        break;
      }
  g_assert_true (p != data);
  for (int k = 0; k < 4; k++)
    p[field + k] = (value >> (8 * k)) & 0xff;
  return g_bytes_new_take (data, size);
}

/* A storage whose entry runs past the end of the archive, and an entry whose data runs over the
 * next entry's local header (zip bombs overlap entries so). */
static void
test_zip_offsets (void)
{
  g_autoptr(GBytes) file = small_checkpoint (FORMAT_ZIP);
  g_autoptr(GBytes) past_end = patch_central (file, 1, 24, 1 << 20);   /* uncompressed size */
  g_autoptr(GBytes) past_end2 = patch_central (past_end, 1, 20, 1 << 20);
  guint32 longer = sizeof small_w + 30 + strlen ("ckpt/data/1");
  g_autoptr(GBytes) over = patch_central (file, 1, 24, longer);
  g_autoptr(GBytes) overlap = patch_central (over, 1, 20, longer);

  assert_refused (past_end2, MIEN_PTH_ERROR_TRUNCATED, "runs past the end");
  assert_refused (overlap, MIEN_PTH_ERROR_FORMAT, "overlap");
}

/* {"epoch": 3, "model": {"state_dict": the small dict}} */
static void
body_nested_found (GByteArray *b,
                   gboolean    legacy)
{
  put_nested (b, legacy, "model", "state_dict");
}

static void
test_nested_found (gconstpointer data)
{
  gboolean legacy = GPOINTER_TO_INT (data);
  g_autoptr(GBytes) file = checkpoint (body_nested_found, legacy, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienPth) pth = mien_pth_new_from_bytes (file, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (mien_pth_get_location (pth), ==, "model.state_dict");
  assert_small_entries (pth);
}

/* An empty view may sit at any offset (torch does not check it): accepted, and never read. */
static void
body_empty_far (GByteArray *b,
                gboolean    legacy)
{
  const gint64 size[2] = { 0, 5 }, stride[2] = { 5, 1 };

  put_one_tensor_dict (b, "0", 6, G_MAXINT32, size, stride, 2, legacy);
}

static void
test_empty_far (void)
{
  for (int legacy = 0; legacy <= 1; legacy++)
    {
      g_autoptr(GBytes) file = checkpoint (body_empty_far, legacy, key_0);
      g_autoptr(GError) error = NULL;
      g_autoptr(MienPth) pth = mien_pth_new_from_bytes (file, &error);
      g_autoptr(MienTensor) t = NULL;

      g_assert_no_error (error);
      t = mien_pth_load_tensor (pth, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpint (mien_tensor_numel (t), ==, 0);
      g_assert_cmpint (mien_tensor_size (t, 1), ==, 5);
    }
}

/* ---- Through the var store ------------------------------------------------------------------- */

static void
test_var_store (MienTestScratch *scratch,
                gconstpointer    data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienVarStore) vs = mien_var_store_new (mien_device_cpu ());
  g_autoptr(MienLoadReport) report = NULL;
  g_autoptr(MienTensor) w = NULL;
  g_autoptr(MienTensor) extra = NULL;
  g_autoptr(GBytes) file = small_checkpoint (GPOINTER_TO_INT (data));
  g_autofree char *path = g_build_filename (scratch->dir, "weights.pt", NULL);
  const gint64 w_shape[2] = { 2, 3 }, extra_shape[1] = { 4 };
  MienLoadOptions strict = { NULL, NULL, NULL, NULL, MIEN_LOAD_STRICT };

  g_file_set_contents (path, g_bytes_get_data (file, NULL), g_bytes_get_size (file), &error);
  g_assert_no_error (error);
  /* float64: the values are converted to the entry's dtype. */
  w = mien_var_store_new_buffer (vs, "w", w_shape, 2, MIEN_DTYPE_FLOAT64, NULL, &error);
  g_assert_no_error (error);
  extra = mien_var_store_new_parameter (vs, "extra", extra_shape, 1, NULL, &error);
  g_assert_no_error (error);

  /* Strict: "b" is unexpected and "extra" missing, so nothing loads. */
  g_assert_false (mien_var_store_load (vs, path, &strict, NULL, &error));
  g_assert_error (error, MIEN_VAR_STORE_ERROR, MIEN_VAR_STORE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "extra"));
  g_clear_error (&error);

  g_assert_true (mien_var_store_load (vs, path, NULL, &report, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (report->n_loaded, ==, 1);
  g_assert_cmpuint (report->missing->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (report->missing, 0), ==, "extra");
  g_assert_cmpuint (report->unexpected->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (report->unexpected, 0), ==, "b");
  g_assert_cmpint (mien_tensor_dtype (w), ==, MIEN_DTYPE_FLOAT64);
  assert_floats (w, small_w, 6);
}

/* A file in neither format gets one message naming both, not the safetensors reader's view of
 * its first eight bytes as a header length; a file too short to tell still gets that reader's
 * "truncated". */
static void
test_neither_format (MienTestScratch *scratch,
                     gconstpointer    data)
{
  static const char junk[] = "<html><body>404 Not Found</body></html>\n";
  g_autoptr(MienVarStore) vs = mien_var_store_new (mien_device_cpu ());
  g_autofree char *path = g_build_filename (scratch->dir, "resnet18.pth", NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, junk, sizeof junk - 1, &error);
  g_assert_no_error (error);
  g_assert_false (mien_var_store_load (vs, path, NULL, NULL, &error));
  g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER);
  g_assert_nonnull (strstr (error->message, "resnet18.pth"));
  g_assert_nonnull (strstr (error->message, "neither safetensors"));
  g_assert_nonnull (strstr (error->message, "PyTorch checkpoint"));
  g_clear_error (&error);

  g_file_set_contents (path, "PK", 2, &error);
  g_assert_no_error (error);
  g_assert_false (mien_var_store_load (vs, path, NULL, NULL, &error));
  g_assert_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_TRUNCATED);
}

/* ---- Files torch.save wrote ------------------------------------------------------------------ */

static char *reference_dir;

/* Runs pth_reference.py once for every case; FALSE (and the test skipped) without python. */
static gboolean
ensure_reference (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *script = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  if (reference_dir != NULL)
    return TRUE;
  if (reference_python () == NULL)
    {
      g_test_skip ("MIEN_REFERENCE_PYTHON is unset: no python with torch and torchvision to "
                   "write checkpoints (set it, or configure with -Dparity=enabled)");
      return FALSE;
    }

  reference_dir = g_dir_make_tmp ("mien-test-pth-XXXXXX", &error);
  g_assert_no_error (error);
  script = g_test_build_filename (G_TEST_DIST, "pth_reference.py", NULL);
  {
    const char *argv[] = {
      reference_python (), script, reference_dir, "views",
      "resnet18:zip", "resnet18:legacy", "resnet18:nested", "resnet18:whole",
      "efficientnet_b0:zip", "efficientnet_b0:legacy", "vit_b_16:zip", NULL
    };
    gint64 t0 = g_get_monotonic_time ();

    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                  &err, &status, &error);
    g_assert_no_error (error);
    if (!g_spawn_check_wait_status (status, &error))
      g_error ("%s failed: %s\n%s", script, error->message, err);
    g_test_message ("pth_reference.py: %.1f s", (g_get_monotonic_time () - t0) / 1e6);
  }
  return TRUE;
}

static char *
reference_file (const char *name)
{
  return g_build_filename (reference_dir, name, NULL);
}

/* Every entry of views-{zip,legacy}.pth equals the contiguous copy torch wrote: strided views,
 * offsets, shared storages, every dtype, "module." removed. */
static void
test_torch_views (gconstpointer data)
{
  const char *kind = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienPth) pth = NULL;
  g_autoptr(MienSafetensors) expected = NULL;
  g_autofree char *name = g_strdup_printf ("views-%s.pth", kind);
  g_autofree char *path = NULL;
  g_autofree char *expected_path = NULL;

  if (!ensure_reference ())
    return;
  path = reference_file (name);
  expected_path = reference_file ("views-expected.safetensors");
  pth = mien_pth_open (path, &error);
  g_assert_no_error (error);
  expected = mien_safetensors_open (expected_path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mien_pth_get_format (pth), ==, kind);
  g_assert_cmpuint (mien_pth_get_n_entries (pth), ==, mien_safetensors_get_n_entries (expected));

  for (guint i = 0; i < mien_pth_get_n_entries (pth); i++)
    {
      const MienPthEntry *e = mien_pth_get_entry (pth, i);
      g_autoptr(MienTensor) got = mien_pth_load_tensor (pth, i, &error);
      g_autoptr(MienTensor) want = NULL;
      g_autofree double *a = NULL;
      g_autofree double *b = NULL;
      gsize na = 0, nb = 0;

      g_assert_no_error (error);
      g_assert_nonnull (mien_safetensors_lookup (expected, e->name));
      want = mien_safetensors_load_tensor (expected, e->name, &error);
      g_assert_no_error (error);
      if (e->dtype != MIEN_DTYPE_BFLOAT16)
        g_assert_cmpint (mien_tensor_dtype (got), ==, mien_tensor_dtype (want));
      g_assert_cmpint (mien_tensor_ndim (got), ==, mien_tensor_ndim (want));
      for (int d = 0; d < mien_tensor_ndim (got); d++)
        g_assert_cmpint (mien_tensor_size (got, d), ==, mien_tensor_size (want, d));
      a = mien_test_values_of (got, &na);
      b = mien_test_values_of (want, &nb);
      g_assert_cmpuint (na, ==, nb);
      for (gsize k = 0; k < na; k++)
        if (a[k] != b[k])
          g_error ("%s: %s element %zu is %g, torch saved %g", name, e->name, k, a[k], b[k]);
    }
}

typedef struct {
  const char *model;
  const char *kind;
} TorchCase;

static char *
io_string (MienSafetensors *io,
           const char      *key)
{
  const char *value = g_hash_table_lookup (mien_safetensors_get_metadata (io), key);

  g_assert_nonnull (value);
  return g_strdup (value);
}

static MienTensor *
pth_tensor (MienPth    *pth,
            const char *name)
{
  g_autoptr(GError) error = NULL;
  MienTensor *t = NULL;

  for (guint i = 0; i < mien_pth_get_n_entries (pth); i++)
    if (g_str_equal (mien_pth_get_entry (pth, i)->name, name))
      t = mien_pth_load_tensor (pth, i, &error);
  g_assert_no_error (error);
  g_assert_nonnull (t);
  return t;
}

/* The backbone from its plugin, the weights from the .pth through mien_var_store_load (), the
 * head from the .pth: torchvision's logits. */
static void
test_torch_logits (gconstpointer data)
{
  const TorchCase *c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienSafetensors) io = NULL;
  g_autoptr(MienPth) pth = NULL;
  g_autoptr(MienBackbone) backbone = NULL;
  g_autoptr(MienVarStore) vs = NULL;
  g_autoptr(MienLoadReport) report = NULL;
  g_autoptr(MienTensor) x = NULL;
  g_autoptr(MienTensor) ref = NULL;
  g_autoptr(MienTensor) features = NULL;
  g_autoptr(MienTensor) logits = NULL;
  g_autoptr(MienTensor) head_w = NULL;
  g_autoptr(MienTensor) head_b = NULL;
  g_autoptr(MienNoGradGuard) guard = NULL;
  g_autofree char *io_name = g_strdup_printf ("%s-io.safetensors", c->model);
  g_autofree char *pth_name = g_strdup_printf ("%s-%s.pth", c->model, c->kind);
  g_autofree char *io_path = NULL;
  g_autofree char *path = NULL;
  g_autofree char *spec = NULL;
  g_autofree char *classifier = NULL;
  g_autofree char *size_str = NULL;
  g_autofree char *head_w_name = NULL;
  g_autofree char *head_b_name = NULL;
  g_autofree char *variant = NULL;
  g_autofree char *summary = NULL;
  g_autofree double *a = NULL;
  g_autofree double *b = NULL;
  double diff2 = 0, ref2 = 0, rel;
  gsize na = 0, nb = 0;

  if (!ensure_reference ())
    return;
  io_path = reference_file (io_name);
  path = reference_file (pth_name);
  io = mien_safetensors_open (io_path, &error);
  g_assert_no_error (error);
  spec = io_string (io, "mien_spec");
  classifier = io_string (io, "classifier");
  size_str = io_string (io, "input_size");
  head_w_name = g_strconcat (classifier, ".weight", NULL);
  head_b_name = g_strconcat (classifier, ".bias", NULL);

  mien_torch_set_num_threads (1);
  backbone = mien_plugin_engine_create_backbone (mien_plugin_engine_get_default (), spec,
                                                 &variant, &error);
  g_assert_no_error (error);
  vs = mien_var_store_new (mien_device_cpu ());
  mien_backbone_build (backbone, variant, g_ascii_strtoll (size_str, NULL, 10), vs, "", &error);
  g_assert_no_error (error);

  g_assert_true (mien_var_store_load (vs, path, NULL, &report, &error));
  g_assert_no_error (error);
  summary = mien_load_report_to_string (report);
  g_test_message ("%s: %s", pth_name, summary);
  /* Everything but the head, which the backbone does not have. */
  g_assert_cmpuint (report->missing->len, ==, 0);
  g_assert_cmpuint (report->mismatched->len, ==, 0);
  g_assert_cmpuint (report->unexpected->len, ==, 2);
  g_assert_cmpuint (report->n_loaded, ==, mien_var_store_get_n_vars (vs));

  pth = mien_pth_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mien_pth_get_location (pth), ==,
                   g_str_equal (c->kind, "nested") ? "state_dict" : "");
  head_w = pth_tensor (pth, head_w_name);
  head_b = pth_tensor (pth, head_b_name);

  x = mien_safetensors_load_tensor (io, "input", &error);
  g_assert_no_error (error);
  ref = mien_safetensors_load_tensor (io, "logits", &error);
  g_assert_no_error (error);
  guard = mien_no_grad_guard_new ();
  features = mien_backbone_forward (backbone, x, FALSE, &error);
  g_assert_no_error (error);
  logits = mien_tensor_linear (features, head_w, head_b, &error);
  g_assert_no_error (error);

  a = mien_test_values_of (logits, &na);
  b = mien_test_values_of (ref, &nb);
  g_assert_cmpuint (na, ==, nb);
  for (gsize i = 0; i < na; i++)
    {
      diff2 += (a[i] - b[i]) * (a[i] - b[i]);
      ref2 += b[i] * b[i];
    }
  rel = sqrt (diff2 / ref2);
  g_test_message ("%s: logits relative error %.3g", pth_name, rel);
  g_assert_cmpfloat (ref2, >, 0);
  g_assert_cmpfloat (rel, <=, REL_TOL);
}

/* torch.save (model) pickles the module's class: refused, naming it, and nothing is loaded. */
static void
test_torch_whole_model (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienPth) pth = NULL;
  g_autofree char *path = NULL;

  if (!ensure_reference ())
    return;
  path = reference_file ("resnet18-whole.pth");
  pth = mien_pth_open (path, &error);
  g_assert_null (pth);
  g_assert_error (error, MIEN_PTH_ERROR, MIEN_PTH_ERROR_REFUSED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "refusing global torchvision.models.resnet.ResNet"));
}

/* --pretrained's path: mien_model_load_pretrained () takes a .pth. */
static void
test_pretrained (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienModel) model = NULL;
  g_autoptr(MienPth) pth = NULL;
  g_autoptr(MienTensor) loaded = NULL;
  g_autoptr(MienTensor) saved = NULL;
  g_autofree char *path = NULL;
  g_autofree char *summary = NULL;
  g_autofree double *a = NULL;
  g_autofree double *b = NULL;
  const char * const classes[] = { "a", "b", NULL };
  MienModelSpec spec = { 0, };
  gsize na = 0, nb = 0;

  if (!ensure_reference ())
    return;
  path = reference_file ("resnet18-nested.pth");
  spec.backbone = "resnet:18";
  spec.input_size = 64;
  spec.mode = MIEN_MODE_FINETUNE;
  spec.classes = classes;
  for (int c = 0; c < 3; c++)
    spec.std[c] = 1;
  spec.device = mien_device_cpu ();
  model = mien_model_new (mien_plugin_engine_get_default (), &spec, &error);
  g_assert_no_error (error);

  g_assert_true (mien_model_load_pretrained (model, path, &summary, &error));
  g_assert_no_error (error);
  g_test_message ("%s", summary);
  g_assert_nonnull (strstr (summary, "resnet18-nested.pth"));

  pth = mien_pth_open (path, &error);
  g_assert_no_error (error);
  saved = pth_tensor (pth, "layer4.1.conv2.weight");
  loaded = mien_var_store_get (mien_model_get_var_store (model), "backbone.layer4.1.conv2.weight");
  g_assert_nonnull (loaded);
  a = mien_test_values_of (loaded, &na);
  b = mien_test_values_of (saved, &nb);
  g_assert_cmpuint (na, ==, nb);
  g_assert_true (memcmp (a, b, na * sizeof (double)) == 0);
}

/* End to end, as a user with torchvision's file: resnet18's state_dict (torch.save, seeded
 * random weights) under the catalogue's name in $MIEN_WEIGHTS_DIR, then `mien-cli train
 * --pretrained imagenet`. The run loads every backbone tensor of the file (all but torchvision's
 * own head, fc.*) and records the file it started from. */
static void
test_train_imagenet (MienTestScratch *scratch,
                     gconstpointer    data)
{
  MienDemoDataOptions options = MIEN_DEMO_DATA_OPTIONS_INIT;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienPth) pth = NULL;
  g_autoptr(MienTestCliResult) r = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *weights_dir = g_build_filename (scratch->dir, "weights", NULL);
  g_autofree char *weights = g_build_filename (weights_dir, "resnet18-f37072fd.pth", NULL);
  g_autofree char *demo = g_build_filename (scratch->dir, "demo", NULL);
  g_autofree char *out = g_build_filename (scratch->dir, "run", NULL);
  g_autofree char *config = g_build_filename (out, "config.json", NULL);
  g_autofree char *source = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  guint n_backbone = 0;

  if (!ensure_reference ())
    return;
  source = reference_file ("resnet18-zip.pth");
  g_assert_true (g_file_get_contents (source, &contents, &length, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (weights_dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (weights, contents, (gssize) length, &error));
  g_assert_no_error (error);
  pth = mien_pth_open (weights, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < mien_pth_get_n_entries (pth); i++)
    if (!g_str_has_prefix (mien_pth_get_entry (pth, i)->name, "fc."))
      n_backbone++;
  g_assert_cmpuint (n_backbone, >, 100);

  options.per_class = 8;
  options.size = 32;
  g_assert_true (mien_demo_data_generate (demo, &options, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  g_setenv ("MIEN_WEIGHTS_DIR", weights_dir, TRUE);
  r = mien_test_cli_run ("train", "--data", demo, "--out", out, "--backbone", "resnet:18",
                         "--pretrained", "imagenet", "--epochs", "1", "--input-size", "32",
                         "--batch", "8", "--threads", "1", NULL);
  g_unsetenv ("MIEN_WEIGHTS_DIR");
  mien_test_cli_assert_success (r);
  g_test_message ("%s", r->err);
  expected = g_strdup_printf ("Backbone weights from “%s”: loaded %u tensors; 0 missing; "
                              "2 unexpected (fc.weight, fc.bias); 0 shape mismatches", weights,
                              n_backbone);
  g_assert_nonnull (strstr (r->err, expected));

  g_assert_true (json_parser_load_from_file (parser, config, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (
                     json_parser_get_root (parser)), "pretrained"), ==, weights);
}

static const TorchCase torch_cases[] = {
  { "resnet18", "zip" },
  { "resnet18", "legacy" },
  { "resnet18", "nested" },
  { "efficientnet_b0", "zip" },
  { "efficientnet_b0", "legacy" },
  { "vit_b_16", "zip" },
};

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/pth/small/zip", GINT_TO_POINTER (FORMAT_ZIP), test_small);
  g_test_add_data_func ("/pth/small/legacy", GINT_TO_POINTER (FORMAT_LEGACY), test_small);
  g_test_add_data_func ("/pth/small/zip64", GINT_TO_POINTER (FORMAT_ZIP64), test_small);
  g_test_add_data_func ("/pth/truncated/zip", GINT_TO_POINTER (FORMAT_ZIP), test_truncated);
  g_test_add_data_func ("/pth/truncated/legacy", GINT_TO_POINTER (FORMAT_LEGACY),
                        test_truncated);
  g_test_add_data_func ("/pth/truncated/zip64", GINT_TO_POINTER (FORMAT_ZIP64), test_truncated);
  g_test_add_data_func ("/pth/nested/zip", GINT_TO_POINTER (FALSE), test_nested_found);
  g_test_add_data_func ("/pth/nested/legacy", GINT_TO_POINTER (TRUE), test_nested_found);
  for (guint i = 0; i < G_N_ELEMENTS (payloads); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pth/payload/%s", payloads[i].name);

      g_test_add (path, MienTestScratch, &payloads[i], mien_test_scratch_set_up, test_payload,
                  mien_test_scratch_tear_down);
    }
  for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pth/malformed/%s", malformed[i].name);

      g_test_add_data_func (path, &malformed[i], test_malformed);
    }
  g_test_add_func ("/pth/empty-far-offset", test_empty_far);
  g_test_add_func ("/pth/malformed/legacy-overlap", test_legacy_overlap);
  g_test_add_func ("/pth/malformed/zip-storage-short", test_zip_storage_short);
  g_test_add_func ("/pth/malformed/zip-bomb", test_zip_bomb);
  g_test_add_func ("/pth/malformed/zip-offsets", test_zip_offsets);
  g_test_add ("/pth/var-store/zip", MienTestScratch, GINT_TO_POINTER (FORMAT_ZIP),
              mien_test_scratch_set_up, test_var_store, mien_test_scratch_tear_down);
  g_test_add ("/pth/var-store/legacy", MienTestScratch, GINT_TO_POINTER (FORMAT_LEGACY),
              mien_test_scratch_set_up, test_var_store, mien_test_scratch_tear_down);
  g_test_add ("/pth/neither-format", MienTestScratch, NULL,
              mien_test_scratch_set_up, test_neither_format, mien_test_scratch_tear_down);
  g_test_add_data_func ("/pth/torch/views/zip", "zip", test_torch_views);
  g_test_add_data_func ("/pth/torch/views/legacy", "legacy", test_torch_views);
  for (guint i = 0; i < G_N_ELEMENTS (torch_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pth/torch/%s/%s", torch_cases[i].model,
                                               torch_cases[i].kind);

      g_test_add_data_func (path, &torch_cases[i], test_torch_logits);
    }
  g_test_add_func ("/pth/torch/whole-model", test_torch_whole_model);
  g_test_add_func ("/pth/torch/pretrained", test_pretrained);
  g_test_add ("/pth/torch/train-imagenet", MienTestScratch, NULL, mien_test_scratch_set_up,
              test_train_imagenet, mien_test_scratch_tear_down);

  status = g_test_run ();
  if (reference_dir != NULL)
    mien_test_remove_tree (reference_dir);
  return status;
}
