/* test-image.c — mien_image_load (), the one way an image file becomes a pixbuf, and the
 * decoding built on it: EXIF orientation, and hostile files (FIFOs, devices, folders, symlink
 * loops, decompression bombs, truncated, empty and unreadable files) that must fail at once with
 * an error naming the file; and the pixels a network sees, compared with what Python gets from
 * the same file (PIL, then torchvision's resize with antialias) by tests/image_reference.py.
 * Every file is written by the test itself.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "mien-image.h"
#include "mien-input.h"
#include "mien-safetensors.h"
#include "mien-test-util.h"
#include "mien-var-store.h"

typedef MienTestScratch Fixture;

/* A hostile file must be refused by the loader, the thumbnail loader and the decoder, at once (a
 * watchdog kills a test that blocks), with `domain`/`code` (-1: any code, where GdkPixbuf's
 * own decoders choose) and a message naming the file once and holding `reason`. */
static void
assert_refused (const char *path,
                GQuark      domain,
                int         code,
                const char *reason)
{
  g_autofree char *name = g_filename_display_name (path);
  guint8 pixels[3 * 8 * 8];
  gint64 start = g_get_monotonic_time ();

  alarm (20);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GdkPixbuf) pixbuf = NULL;
      gboolean ok;

      if (i == 0)
        ok = (pixbuf = mien_image_load (path, &error)) != NULL;
      else if (i == 1)
        ok = (pixbuf = mien_image_load_thumbnail (path, 16, &error)) != NULL;
      else
        ok = mien_image_decode (path, 8, FALSE, pixels, NULL, &error);
      g_assert_false (ok);
      g_assert_nonnull (error);
      g_assert_true (error->domain == domain);
      if (code >= 0)
        g_assert_cmpint (error->code, ==, code);
      g_assert_nonnull (strstr (error->message, name));
      g_assert_nonnull (strstr (error->message, reason));
      /* The file is named once, not once per layer. */
      g_assert_null (strstr (strstr (error->message, name) + 1, name));
    }
  alarm (0);
  /* "Quickly": nothing was decoded (a bomb took 11 s and 1.3 GB here; the bound leaves room
   * for a busy CI machine). */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
}

static char *
write_bytes (const char   *dir,
             const char   *name,
             const guint8 *data,
             gsize         len)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) len, &error));
  g_assert_no_error (error);
  return path;
}

/* A JPEG of a wide image, left half red and right half blue, encoded by GdkPixbuf; with
 * `orientation`, an EXIF APP1 segment holding that orientation tag goes right after SOI. */
static GBytes *
make_jpeg (int width,
           int height,
           int orientation)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autofree char *jpeg = NULL;
  gsize len = 0;
  /* Big-endian TIFF: one IFD with one entry, tag 0x0112 (Orientation), SHORT, count 1. */
  guint8 app1[] = {
    0xff, 0xe1, 0x00, 34, 'E', 'x', 'i', 'f', 0, 0,
    'M', 'M', 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08,
    0x00, 0x01,
    0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, (guint8) orientation, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
  };

  g_assert_cmpuint (sizeof app1, ==, 2 + 34);
  for (int y = 0; y < height; y++)
    {
      guint8 *row = gdk_pixbuf_get_pixels (pixbuf) + y * gdk_pixbuf_get_rowstride (pixbuf);

      for (int x = 0; x < width; x++)
        {
          row[3 * x] = x < width / 2 ? 255 : 0;
          row[3 * x + 1] = 0;
          row[3 * x + 2] = x < width / 2 ? 0 : 255;
        }
    }
  g_assert_true (gdk_pixbuf_save_to_buffer (pixbuf, &jpeg, &len, "jpeg", &error,
                                            "quality", "95", NULL));
  g_assert_no_error (error);
  g_assert_cmpuint (len, >, 2);
  g_byte_array_append (out, (const guint8 *) jpeg, 2);
  if (orientation != 0)
    g_byte_array_append (out, app1, sizeof app1);
  g_byte_array_append (out, (const guint8 *) jpeg + 2, (guint) len - 2);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static void
assert_colour (GdkPixbuf *pixbuf,
               int        x,
               int        y,
               gboolean   red)
{
  const guint8 *p = gdk_pixbuf_read_pixels (pixbuf) + y * gdk_pixbuf_get_rowstride (pixbuf) +
                    x * gdk_pixbuf_get_n_channels (pixbuf);

  g_assert_cmpint (p[0] > 128, ==, red);
  g_assert_cmpint (p[2] > 128, ==, !red);
}

/* EXIF orientation 6 ("rotate 90° clockwise to display"): the file's left column, red, becomes
 * the top row; the 32 × 16 image becomes 16 × 32. Without the tag it stays as it is. */
static void
test_exif_orientation (Fixture       *fixture,
                       gconstpointer  data)
{
  const int orientations[] = { 0, 6 };

  for (guint i = 0; i < G_N_ELEMENTS (orientations); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) jpeg = make_jpeg (32, 16, orientations[i]);
      g_autofree char *path = write_bytes (fixture->dir, "portrait.jpg",
                                           g_bytes_get_data (jpeg, NULL),
                                           g_bytes_get_size (jpeg));
      g_autoptr(GdkPixbuf) pixbuf = mien_image_load (path, &error);
      gboolean rotated = orientations[i] == 6;
      guint8 pixels[3 * 2 * 2];
      MienImageInfo info;

      g_assert_no_error (error);
      g_assert_nonnull (pixbuf);
      g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, rotated ? 16 : 32);
      g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), ==, rotated ? 32 : 16);
      assert_colour (pixbuf, 2, 2, TRUE);
      assert_colour (pixbuf, gdk_pixbuf_get_width (pixbuf) - 3, gdk_pixbuf_get_height (pixbuf) - 3,
                     FALSE);
      if (rotated)
        assert_colour (pixbuf, 13, 2, TRUE);
      else
        assert_colour (pixbuf, 2, 13, TRUE);

      /* Thumbnails are upright too, and keep the aspect ratio. */
      {
        g_autoptr(GdkPixbuf) thumbnail = mien_image_load_thumbnail (path, 8, &error);

        g_assert_no_error (error);
        g_assert_cmpint (gdk_pixbuf_get_width (thumbnail), ==, rotated ? 4 : 8);
        g_assert_cmpint (gdk_pixbuf_get_height (thumbnail), ==, rotated ? 8 : 4);
        assert_colour (thumbnail, 0, 0, TRUE);
        assert_colour (thumbnail, rotated ? 3 : 7, rotated ? 7 : 3, FALSE);
      }

      /* The network's pixels come through the same function: at 2 × 2, red on top when upright
       * (R plane, then G, then B). */
      g_assert_true (mien_image_decode (path, 2, FALSE, pixels, &info, &error));
      g_assert_no_error (error);
      g_assert_cmpint (info.width, ==, rotated ? 16 : 32);
      g_assert_cmpint (pixels[0] > 128, ==, TRUE);
      g_assert_cmpint (pixels[rotated ? 1 : 2] > 128, ==, TRUE);
      g_assert_cmpint (pixels[rotated ? 2 : 1] > 128, ==, FALSE);
    }
}

static void
test_fifo (Fixture       *fixture,
           gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "pipe.png", NULL);

  g_assert_cmpint (mkfifo (path, 0600), ==, 0);
  assert_refused (path, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE, "FIFO");
}

static void
test_device_and_folder (Fixture       *fixture,
                        gconstpointer  data)
{
  assert_refused ("/dev/zero", G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE, "character device");
  assert_refused (fixture->dir, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY, "folder");
}

static void
test_symlink_loop (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *a = g_build_filename (fixture->dir, "a.png", NULL);
  g_autofree char *b = g_build_filename (fixture->dir, "b.png", NULL);
  g_autofree char *real = g_build_filename (fixture->dir, "real.jpg", NULL);
  g_autofree char *link = g_build_filename (fixture->dir, "link.jpg", NULL);
  g_autoptr(GBytes) jpeg = make_jpeg (8, 8, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;

  g_assert_cmpint (symlink ("b.png", a), ==, 0);
  g_assert_cmpint (symlink ("a.png", b), ==, 0);
  assert_refused (a, G_IO_ERROR, G_IO_ERROR_TOO_MANY_LINKS, "symlink loop");

  /* A symlink to an image is fine. */
  g_assert_true (g_file_set_contents (real, g_bytes_get_data (jpeg, NULL),
                                      (gssize) g_bytes_get_size (jpeg), &error));
  g_assert_cmpint (symlink ("real.jpg", link), ==, 0);
  pixbuf = mien_image_load (link, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, 8);
}

static guint32
png_crc (const guint8 *data,
         gsize         len)
{
  guint32 crc = 0xffffffff;

  for (gsize i = 0; i < len; i++)
    {
      crc ^= data[i];
      for (int k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
    }
  return crc ^ 0xffffffff;
}

static void
append_be32 (GByteArray *out,
             guint32     value)
{
  guint8 be[4] = { value >> 24, value >> 16, value >> 8, value };

  g_byte_array_append (out, be, 4);
}

static void
append_png_chunk (GByteArray   *out,
                  const char   *type,
                  const guint8 *data,
                  gsize         len)
{
  guint start;

  append_be32 (out, (guint32) len);
  start = out->len;
  g_byte_array_append (out, (const guint8 *) type, 4);
  g_byte_array_append (out, data, (guint) len);
  append_be32 (out, png_crc (out->data + start, len + 4));
}

/* A valid one-bit grey PNG of side × side black pixels: a few tens of kilobytes that decode to
 * side² × 3 bytes. */
static GBytes *
make_png_bomb (guint32 side)
{
  static const guint8 signature[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  g_autoptr(GError) error = NULL;
  g_autoptr(GZlibCompressor) zlib = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 9);
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) deflate = g_converter_output_stream_new (memory,
                                                                    G_CONVERTER (zlib));
  g_autofree guint8 *row = g_malloc0 (1 + (side + 7) / 8);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GByteArray) ihdr = g_byte_array_new ();
  static const guint8 ihdr_tail[] = { 1, 0, 0, 0, 0 };   /* 1 bit, grey, no interlace */

  for (guint32 y = 0; y < side; y++)
    g_assert_true (g_output_stream_write_all (deflate, row, 1 + (side + 7) / 8, NULL, NULL,
                                              &error));
  g_assert_true (g_output_stream_close (deflate, NULL, &error));
  g_assert_no_error (error);

  append_be32 (ihdr, side);
  append_be32 (ihdr, side);
  g_byte_array_append (ihdr, ihdr_tail, sizeof ihdr_tail);
  g_byte_array_append (out, signature, sizeof signature);
  append_png_chunk (out, "IHDR", ihdr->data, ihdr->len);
  append_png_chunk (out, "IDAT",
                    g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (memory)),
                    g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (memory)));
  append_png_chunk (out, "IEND", NULL, 0);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* A 20000 × 20000 PNG (1.2 GB decoded, in every loader thread) is refused from its header.
 * The same kind of file at 64 × 64 proves the PNG is well made. */
static void
test_decompression_bomb (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GBytes) small = make_png_bomb (64);
  g_autoptr(GBytes) bomb = make_png_bomb (20000);
  g_autofree char *small_path = write_bytes (fixture->dir, "small.png",
                                             g_bytes_get_data (small, NULL),
                                             g_bytes_get_size (small));
  g_autofree char *bomb_path = write_bytes (fixture->dir, "bomb.png",
                                            g_bytes_get_data (bomb, NULL),
                                            g_bytes_get_size (bomb));
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = mien_image_load (small_path, &error);

  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, 64);
  g_assert_cmpuint (g_bytes_get_size (bomb), <, 1024 * 1024);
  assert_refused (bomb_path, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY,
                  "20000 × 20000");
}

static void
test_truncated_and_empty (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GBytes) png = make_png_bomb (64);
  g_autofree char *empty = write_bytes (fixture->dir, "empty.png", NULL, 0);
  g_autofree char *cut_png = write_bytes (fixture->dir, "cut.png", g_bytes_get_data (png, NULL),
                                          g_bytes_get_size (png) - 20);
  g_autofree char *header_only = write_bytes (fixture->dir, "header.png",
                                              g_bytes_get_data (png, NULL), 8);
  g_autofree char *garbage = write_bytes (fixture->dir, "text.png", (const guint8 *) "hello", 5);
  g_autofree char *missing = g_build_filename (fixture->dir, "missing.png", NULL);

  assert_refused (empty, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_CORRUPT_IMAGE, "empty");
  /* Cut in the image data: not a partly blank image (GdkPixbuf's incremental loader would
   * take it). */
  assert_refused (cut_png, GDK_PIXBUF_ERROR, -1, "");
  assert_refused (header_only, GDK_PIXBUF_ERROR, -1, "");
  assert_refused (garbage, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_UNKNOWN_TYPE, "");
  assert_refused (missing, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "");
}

static void
test_unreadable (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GBytes) jpeg = make_jpeg (8, 8, 0);
  g_autofree char *path = write_bytes (fixture->dir, "secret.jpg", g_bytes_get_data (jpeg, NULL),
                                       g_bytes_get_size (jpeg));

  if (geteuid () == 0)
    {
      g_test_skip ("root reads files whatever their mode");
      return;
    }
  g_assert_cmpint (g_chmod (path, 0), ==, 0);
  assert_refused (path, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "ermission");
}

/* Manifests and other text inputs: bounded, regular files only. */
static void
test_read_all (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = write_bytes (fixture->dir, "list.csv", (const guint8 *) "a,b\n", 4);
  g_autofree char *contents = NULL;
  g_autofree char *fifo = g_build_filename (fixture->dir, "list-fifo.csv", NULL);
  gsize len = 0;

  g_assert_true (mien_input_read_all (path, 4, &contents, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, "a,b\n");
  g_assert_cmpuint (len, ==, 4);

  g_assert_false (mien_input_read_all (path, 3, &contents, &len, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "too large"));
  g_clear_error (&error);

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  alarm (20);
  g_assert_false (mien_input_read_all (fifo, 1024, &contents, &len, &error));
  alarm (0);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
  g_clear_error (&error);

  g_assert_false (mien_input_read_all ("/dev/zero", 1024, &contents, &len, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
}

/* A noisy image: smooth gradients (where a shifted filter shows) plus noise (where rounding
 * shows), with an alpha channel that must not matter, or with three equal channels. */
static GdkPixbuf *
make_noisy (GRand    *rand,
            int       width,
            int       height,
            gboolean  alpha,
            gboolean  grey)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8, width, height);
  int n_channels = gdk_pixbuf_get_n_channels (pixbuf);

  for (int y = 0; y < height; y++)
    {
      guint8 *p = gdk_pixbuf_get_pixels (pixbuf) + (gsize) y * gdk_pixbuf_get_rowstride (pixbuf);

      for (int x = 0; x < width; x++, p += n_channels)
        {
          for (int c = 0; c < 3; c++)
            p[c] = (guint8) CLAMP ((255 * (x + (c + 1) * y)) / (width + 3 * height) +
                                   g_rand_int_range (rand, -40, 41), 0, 255);
          if (grey)
            p[1] = p[2] = p[0];
          if (alpha)
            p[3] = (guint8) g_rand_int_range (rand, 0, 256);
        }
    }
  return pixbuf;
}

typedef struct {
  int      width;
  int      height;
  int      size;
  gboolean alpha;
  gboolean grey_image;
  gboolean grey_model;
  gboolean turned;   /* a JPEG with EXIF orientation 6 rather than a PNG */
} ResizeCase;

/* Mien's decoding of files it writes equals Python's: shrinking by non-integer factors,
 * enlarging, non-square and odd sizes, 1 × 1, a size that needs no resize, alpha, grey images,
 * a grey model (luminance, then resize) and an EXIF-turned JPEG. */
static void
test_resize_torchvision (Fixture       *fixture,
                         gconstpointer  data)
{
  static const ResizeCase cases[] = {
    { 100, 100, 64, FALSE, FALSE, FALSE, FALSE },
    { 97, 61, 40, FALSE, FALSE, FALSE, FALSE },
    { 37, 23, 64, FALSE, FALSE, FALSE, FALSE },
    { 300, 7, 48, FALSE, FALSE, FALSE, FALSE },
    { 1, 1, 16, FALSE, FALSE, FALSE, FALSE },
    { 45, 30, 32, TRUE, FALSE, FALSE, FALSE },
    { 77, 50, 48, FALSE, TRUE, FALSE, FALSE },
    { 120, 90, 48, FALSE, FALSE, TRUE, FALSE },
    { 64, 64, 64, FALSE, FALSE, FALSE, FALSE },
    { 50, 50, 37, FALSE, FALSE, FALSE, FALSE },
    { 40, 30, 24, FALSE, FALSE, FALSE, TRUE },
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (13);
  g_autoptr(GString) spec = g_string_new (NULL);
  g_autoptr(GByteArray) mine = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *spec_path = g_build_filename (fixture->dir, "spec.txt", NULL);
  g_autofree char *out_path = g_build_filename (fixture->dir, "reference.bin", NULL);
  g_autofree char *out = NULL;
  g_autofree guint8 *theirs = NULL;
  gsize len = 0;
  guint n_different = 0;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const ResizeCase *c = &cases[i];
      g_autoptr(GdkPixbuf) pixbuf = make_noisy (rand, c->width, c->height, c->alpha,
                                                c->grey_image);
      g_autofree char *name = g_strdup_printf ("%u.%s", i, c->turned ? "jpg" : "png");
      g_autofree char *path = g_build_filename (fixture->dir, name, NULL);
      g_autofree guint8 *pixels = g_malloc (3 * (gsize) c->size * c->size);
      MienImageInfo info;

      if (c->turned)
        mien_test_write_turned_jpeg (path, pixbuf);
      else
        g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
      g_assert_no_error (error);
      g_string_append_printf (spec, "%s %d %d\n", path, c->size, c->grey_model);

      g_assert_true (mien_image_decode (path, c->size, c->grey_model, pixels, &info, &error));
      g_assert_no_error (error);
      g_assert_cmpint (info.width, ==, c->width);
      g_assert_cmpint (info.height, ==, c->height);
      g_assert_cmpint (info.is_grey, ==, c->grey_image);
      g_byte_array_append (mine, pixels, 3 * c->size * c->size);
    }

  g_assert_true (g_file_set_contents (spec_path, spec->str, -1, &error));
  g_assert_no_error (error);
  out = mien_test_run_reference ("image_reference.py", spec_path, out_path, NULL);
  if (out == NULL)
    return;
  g_assert_true (g_file_get_contents (out_path, (char **) &theirs, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, mine->len);

  /* Exactly, byte for byte: the same decoder libraries, and the same libtorch kernel. */
  for (gsize i = 0; i < len; i++)
    n_different += mine->data[i] != theirs[i];
  g_test_message ("%u of %u bytes differ from torchvision's", n_different, mine->len);
  g_assert_cmpuint (n_different, ==, 0);
}

/* mien_tensor_interpolate () equals torch.nn.functional.interpolate for every mode, shrinking and
 * enlarging, with and without antialias; antialias with nearest is refused. */
static void
test_interpolate (Fixture       *fixture,
                  gconstpointer  data)
{
  static const gint64 sizes[][2] = { { 7, 5 }, { 29, 40 }, { 13, 9 } };
  static const struct { MienInterpolation mode; gboolean antialias; } modes[] = {
    { MIEN_INTERPOLATION_BILINEAR, FALSE }, { MIEN_INTERPOLATION_BILINEAR, TRUE },
    { MIEN_INTERPOLATION_BICUBIC, FALSE }, { MIEN_INTERPOLATION_BICUBIC, TRUE },
    { MIEN_INTERPOLATION_NEAREST, FALSE },
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(MienVarStore) vs = mien_var_store_new (mien_device_cpu ());
  g_autoptr(GPtrArray) mine = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_tensor_free);
  g_autoptr(MienTensor) x = NULL;
  g_autoptr(MienTensor) cases = NULL;
  g_autoptr(MienSafetensors) st = NULL;
  g_autofree char *in_path = g_build_filename (fixture->dir, "interpolate.safetensors", NULL);
  g_autofree char *out_path = g_build_filename (fixture->dir, "reference.safetensors", NULL);
  g_autofree char *out = NULL;
  float spec[G_N_ELEMENTS (sizes) * G_N_ELEMENTS (modes)][4];
  const gint64 x_shape[4] = { 2, 3, 13, 17 };
  const gint64 cases_shape[2] = { G_N_ELEMENTS (spec), 4 };
  guint n = 0;

  mien_torch_manual_seed (13);
  x = mien_tensor_new_randn (x_shape, 4, MIEN_DTYPE_FLOAT32, mien_device_cpu (), &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    for (guint j = 0; j < G_N_ELEMENTS (modes); j++, n++)
      {
        MienTensor *y = mien_tensor_interpolate (x, sizes[i], modes[j].mode, modes[j].antialias,
                                                 &error);

        g_assert_no_error (error);
        g_ptr_array_add (mine, y);
        spec[n][0] = sizes[i][0];
        spec[n][1] = sizes[i][1];
        spec[n][2] = modes[j].mode;
        spec[n][3] = modes[j].antialias;
      }
  g_assert_null (mien_tensor_interpolate (x, sizes[0], MIEN_INTERPOLATION_NEAREST, TRUE, &error));
  g_assert_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  cases = mien_tensor_new_from_data (spec, MIEN_DTYPE_FLOAT32, cases_shape, 2, &error);
  g_assert_no_error (error);
  g_assert_true (mien_var_store_add (vs, "x", MIEN_VAR_BUFFER, x, &error));
  g_assert_true (mien_var_store_add (vs, "cases", MIEN_VAR_BUFFER, cases, &error));
  g_assert_true (mien_var_store_save (vs, in_path, "", NULL, &error));
  g_assert_no_error (error);
  out = mien_test_run_reference ("image_reference.py", "interpolate", in_path, out_path, NULL);
  if (out == NULL)
    return;

  st = mien_safetensors_open (out_path, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("case.%u", i);
      g_autoptr(MienTensor) theirs = mien_safetensors_load_tensor (st, name, &error);
      g_autofree double *a = NULL;
      g_autofree double *b = NULL;
      gsize na = 0, nb = 0;
      double worst = 0.0;

      g_assert_no_error (error);
      a = mien_test_values_of (mine->pdata[i], &na);
      b = mien_test_values_of (theirs, &nb);
      g_assert_cmpuint (na, ==, nb);
      g_assert_cmpint (mien_tensor_size (mine->pdata[i], 2), ==, mien_tensor_size (theirs, 2));
      for (gsize k = 0; k < na; k++)
        worst = MAX (worst, fabs (a[k] - b[k]));
      g_assert_cmpfloat (worst, <=, 1e-5);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, mien_test_scratch_set_up, func, mien_test_scratch_tear_down)
  ADD ("/image/exif-orientation", test_exif_orientation);
  ADD ("/image/fifo", test_fifo);
  ADD ("/image/device-and-folder", test_device_and_folder);
  ADD ("/image/symlink-loop", test_symlink_loop);
  ADD ("/image/decompression-bomb", test_decompression_bomb);
  ADD ("/image/truncated-and-empty", test_truncated_and_empty);
  ADD ("/image/unreadable", test_unreadable);
  ADD ("/image/read-all", test_read_all);
  ADD ("/image/resize-torchvision", test_resize_torchvision);
  ADD ("/image/interpolate", test_interpolate);
#undef ADD

  return g_test_run ();
}
