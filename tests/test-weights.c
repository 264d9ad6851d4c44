/* test-weights.c — the pretrained weights catalogue and its downloads.
 *
 * Downloads come from a local web server (nothing outside is reachable from tests) serving a
 * generated file: progress, a cancelled transfer resumed with a Range request, a truncated one,
 * a server that ignores ranges or answers for other bytes, wrong sizes and hashes, HTTP errors;
 * after every failure nothing sits at the final path. The catalogue is checked as the plugins
 * declare it, through `mien-cli weights --json` and `train --pretrained imagenet`.
 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mien-download.h"
#include "mien-model.h"
#include "mien-plugin-engine.h"
#include "mien-test-util.h"
#include "mien-weights.h"

#define PAYLOAD_SIZE (700 * 1024 + 33)   /* many chunks and an odd tail */
#define STALL_BYTES  (200 * 1024)        /* what /stall and /truncated send before they stop */

static guint8 *payload;
static char *payload_sha256;

static void
assert_file_is_payload (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_assert_cmpmem (contents, length, payload, PAYLOAD_SIZE);
}

static gint64
file_size (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (gint64) st.st_size : -1;
}

#ifdef MIEN_HAVE_SOUP

/* ---- The server ------------------------------------------------------------------------- */

static GMutex range_lock;
static char *last_range;  /* the Range header of the last request, or NULL */
static guint n_requests;

static char *
take_last_range (void)
{
  char *range;

  g_mutex_lock (&range_lock);
  range = g_steal_pointer (&last_range);
  g_mutex_unlock (&range_lock);
  return range;
}

/* "bytes=N-" → N; 0 for anything else. */
static gint64
range_start (const char *range)
{
  gint64 start = 0;

  if (range != NULL && g_str_has_prefix (range, "bytes=") && g_str_has_suffix (range, "-"))
    {
      g_autofree char *digits = g_strndup (range + 6, strlen (range) - 7);

      g_ascii_string_to_signed (digits, 10, 0, PAYLOAD_SIZE, &start, NULL);
    }
  return start;
}

static void
serve_from (SoupServerMessage *message,
            gint64             start,
            const char        *content_range)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (message);

  if (content_range != NULL)
    {
      soup_server_message_set_status (message, SOUP_STATUS_PARTIAL_CONTENT, NULL);
      soup_message_headers_replace (headers, "Content-Range", content_range);
    }
  else
    soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (message, "application/octet-stream", SOUP_MEMORY_STATIC,
                                    (const char *) payload + start, PAYLOAD_SIZE - start);
}

static void
handle (SoupServer        *soup_server,
        SoupServerMessage *message,
        const char        *path,
        GHashTable        *query,
        gpointer           user_data)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (message);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (message);
  g_autofree char *range = g_strdup (soup_message_headers_get_one (request, "Range"));

  g_mutex_lock (&range_lock);
  g_free (last_range);
  last_range = g_strdup (range);
  n_requests++;
  g_mutex_unlock (&range_lock);
  /* Each path answers ranges its own way, never libsoup's. */
  soup_message_headers_remove (request, "Range");

  if (g_str_equal (path, "/file"))
    {
      /* A server that honours "Range: bytes=N-" (206 from N on). */
      gint64 start = range_start (range);
      g_autofree char *content_range = g_strdup_printf (
        "bytes %" G_GINT64_FORMAT "-%d/%d", start, PAYLOAD_SIZE - 1, PAYLOAD_SIZE);

      if (start >= PAYLOAD_SIZE)
        soup_server_message_set_status (message, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE,
                                        NULL);
      else
        serve_from (message, start, range != NULL ? content_range : NULL);
    }
  else if (g_str_equal (path, "/norange"))
    serve_from (message, 0, NULL);
  else if (g_str_equal (path, "/badrange"))
    {
      /* 206, but for the whole file whatever was asked. */
      g_autofree char *content_range = g_strdup_printf ("bytes 0-%d/%d", PAYLOAD_SIZE - 1,
                                                        PAYLOAD_SIZE);

      serve_from (message, 0, content_range);
    }
  else if (g_str_equal (path, "/stall"))
    {
      /* The whole file announced, its first bytes sent, the rest never. */
      SoupMessageBody *body = soup_server_message_get_response_body (message);

      soup_message_headers_set_content_length (headers, PAYLOAD_SIZE);
      soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
      soup_message_body_append (body, SOUP_MEMORY_STATIC, payload, STALL_BYTES);
    }
  else if (g_str_equal (path, "/truncated"))
    {
      /* The connection closes after part of the announced length. */
      g_autoptr(GIOStream) stream = soup_server_message_steal_connection (message);
      GOutputStream *out = g_io_stream_get_output_stream (stream);
      g_autofree char *head = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                                               "Connection: close\r\n\r\n", PAYLOAD_SIZE);

      g_output_stream_write_all (out, head, strlen (head), NULL, NULL, NULL);
      g_output_stream_write_all (out, payload, STALL_BYTES, NULL, NULL, NULL);
      g_io_stream_close (stream, NULL, NULL);
    }
  else if (g_str_equal (path, "/e500"))
    soup_server_message_set_status (message, SOUP_STATUS_INTERNAL_SERVER_ERROR, NULL);
  else
    soup_server_message_set_status (message, SOUP_STATUS_NOT_FOUND, NULL);
}

/* ---- Downloads --------------------------------------------------------------------------- */

typedef struct {
  MienTestScratch     scratch;
  MienTestWebServer  *server;
  char               *dest;
  char               *part;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  mien_test_scratch_set_up (&f->scratch, data);
  f->server = mien_test_web_server_start (handle, NULL);
  f->dest = g_build_filename (f->scratch.dir, "weights", "model.pth", NULL);
  f->part = mien_download_get_part_path (f->dest);
  g_free (take_last_range ());
  n_requests = 0;
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  mien_test_web_server_stop (f->server);
  g_free (f->dest);
  g_free (f->part);
  mien_test_scratch_tear_down (&f->scratch, data);
}

static char *
url (Fixture    *f,
     const char *path)
{
  return g_strconcat (mien_test_web_server_get_base (f->server), path, NULL);
}

typedef struct {
  GArray       *fractions;
  GCancellable *cancel_once_started;  /* cancelled at the first report of bytes */
} Progress;

static void
on_progress (double      fraction,
             const char *message,
             gpointer    user_data)
{
  Progress *progress = user_data;

  g_array_append_val (progress->fractions, fraction);
  if (progress->cancel_once_started != NULL && fraction != 0.0)
    g_cancellable_cancel (progress->cancel_once_started);
}

static gboolean
download (Fixture            *f,
          const char         *path,
          const char         *sha256,
          gint64              size,
          MienDownloadFlags   flags,
          Progress           *progress,
          GCancellable       *cancellable,
          GError            **error)
{
  g_autofree char *address = url (f, path);

  return mien_download_file_full (address, sha256, size, flags | MIEN_DOWNLOAD_RESUMABLE,
                                  f->dest, progress != NULL ? on_progress : NULL, progress,
                                  cancellable, error);
}

static void
assert_rising_to_one (GArray *fractions,
                      double  first_at_least)
{
  g_assert_cmpuint (fractions->len, >=, 2);
  g_assert_cmpuint (fractions->len, <=, 101);
  g_assert_cmpfloat (g_array_index (fractions, double, 0), >=, first_at_least);
  for (guint i = 1; i < fractions->len; i++)
    g_assert_cmpfloat (g_array_index (fractions, double, i), >,
                       g_array_index (fractions, double, i - 1));
  g_assert_cmpfloat (g_array_index (fractions, double, fractions->len - 1), ==, 1.0);
}

static void
test_download_progress (Fixture       *f,
                        gconstpointer  data)
{
  Progress progress = { g_array_new (FALSE, FALSE, sizeof (double)), NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *range = NULL;

  g_assert_true (download (f, "/file", payload_sha256, PAYLOAD_SIZE, MIEN_DOWNLOAD_NONE,
                           &progress, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_payload (f->dest);
  g_assert_false (g_file_test (f->part, G_FILE_TEST_EXISTS));
  assert_rising_to_one (progress.fractions, 0.0);
  /* A first try asks for the whole file. */
  range = take_last_range ();
  g_assert_null (range);
  g_array_unref (progress.fractions);
}

/* Cancelled once bytes came: they wait in the part, and the next try asks for the rest. */
static void
test_download_cancel_resume (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Progress progress = { g_array_new (FALSE, FALSE, sizeof (double)), cancellable };
  g_autoptr(GError) error = NULL;
  g_autofree char *range = NULL;
  g_autofree char *expected = NULL;
  gint64 kept;

  g_assert_false (download (f, "/stall", payload_sha256, PAYLOAD_SIZE, MIEN_DOWNLOAD_NONE,
                            &progress, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (g_file_test (f->dest, G_FILE_TEST_EXISTS));
  kept = file_size (f->part);
  g_assert_cmpint (kept, >, 0);
  g_assert_cmpint (kept, <=, STALL_BYTES);
  g_assert_cmpint (mien_download_verify_file (f->part, NULL, -1, MIEN_DOWNLOAD_NONE, NULL), ==,
                   TRUE);
  g_free (take_last_range ());

  g_array_set_size (progress.fractions, 0);
  progress.cancel_once_started = NULL;
  g_assert_true (download (f, "/file", payload_sha256, PAYLOAD_SIZE, MIEN_DOWNLOAD_NONE,
                           &progress, NULL, &error));
  g_assert_no_error (error);
  range = take_last_range ();
  expected = g_strdup_printf ("bytes=%" G_GINT64_FORMAT "-", kept);
  g_assert_cmpstr (range, ==, expected);
  assert_file_is_payload (f->dest);
  g_assert_false (g_file_test (f->part, G_FILE_TEST_EXISTS));
  /* Progress counts the bytes kept from the first try. */
  assert_rising_to_one (progress.fractions, (double) kept / PAYLOAD_SIZE);
  g_array_unref (progress.fractions);
}

/* A connection closed early: an error, the bytes kept, and the next try completes the file. */
static void
test_download_truncated (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *range = NULL;
  g_autofree char *expected = NULL;

  g_assert_false (download (f, "/truncated", payload_sha256, PAYLOAD_SIZE, MIEN_DOWNLOAD_NONE,
                            NULL, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_false (g_file_test (f->dest, G_FILE_TEST_EXISTS));
  g_assert_cmpint (file_size (f->part), ==, STALL_BYTES);

  g_assert_true (download (f, "/file", payload_sha256, PAYLOAD_SIZE, MIEN_DOWNLOAD_NONE, NULL,
                           NULL, &error));
  g_assert_no_error (error);
  range = take_last_range ();
  expected = g_strdup_printf ("bytes=%d-", STALL_BYTES);
  g_assert_cmpstr (range, ==, expected);
  assert_file_is_payload (f->dest);
}

/* A server that answers 200 to a range request sends the whole file: it replaces the part
 * (here bytes that are not the file's, which would spoil the result if kept). */
static void
test_download_ignored_range (Fixture       *f,
                             gconstpointer  data)
{
  static const guint8 junk[4096] = { 1, 2, 3 };
  g_autofree char *dir = g_path_get_dirname (f->dest);
  g_autofree char *range = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  mien_test_write_file (f->part, junk, sizeof junk);
  g_assert_true (download (f, "/norange", payload_sha256, PAYLOAD_SIZE, MIEN_DOWNLOAD_NONE,
                           NULL, NULL, &error));
  g_assert_no_error (error);
  range = take_last_range ();
  g_assert_cmpstr (range, ==, "bytes=4096-");
  assert_file_is_payload (f->dest);
  g_assert_false (g_file_test (f->part, G_FILE_TEST_EXISTS));
}

/* A part as long as the file (its size only known roughly, so it is asked for): the server
 * has nothing after it (416), and the file is fetched again from its start. */
static void
test_download_unsatisfiable (Fixture       *f,
                             gconstpointer  data)
{
  static const guint8 junk[PAYLOAD_SIZE] = { 7 };
  g_autofree char *dir = g_path_get_dirname (f->dest);
  g_autofree char *range = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  mien_test_write_file (f->part, junk, sizeof junk);
  g_assert_true (download (f, "/file", payload_sha256, PAYLOAD_SIZE,
                           MIEN_DOWNLOAD_SIZE_APPROXIMATE, NULL, NULL, &error));
  g_assert_no_error (error);
  /* After the 416, a second request for the whole file. */
  g_assert_cmpuint (n_requests, ==, 2);
  range = take_last_range ();
  g_assert_null (range);
  assert_file_is_payload (f->dest);
  g_assert_false (g_file_test (f->part, G_FILE_TEST_EXISTS));
}

/* A 206 for other bytes than those asked for is refused; the part goes, so that the next try
 * starts afresh. */
static void
test_download_wrong_range (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *dir = g_path_get_dirname (f->dest);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  mien_test_write_file (f->part, payload, 4096);
  g_assert_false (download (f, "/badrange", payload_sha256, PAYLOAD_SIZE, MIEN_DOWNLOAD_NONE,
                            NULL, NULL, &error));
  g_assert_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_RANGE);
  g_assert_nonnull (strstr (error->message, "bytes 0-"));
  g_assert_false (g_file_test (f->dest, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (f->part, G_FILE_TEST_EXISTS));
}

static void
test_download_wrong_size (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  /* Exact sizes must match to the byte. */
  g_assert_false (download (f, "/file", payload_sha256, PAYLOAD_SIZE + 1, MIEN_DOWNLOAD_NONE,
                            NULL, NULL, &error));
  g_assert_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_SIZE);
  g_clear_error (&error);
  g_assert_false (g_file_test (f->dest, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (f->part, G_FILE_TEST_EXISTS));

  /* Approximate ones within 1 %. */
  g_assert_false (download (f, "/file", payload_sha256, PAYLOAD_SIZE * 105 / 100,
                            MIEN_DOWNLOAD_SIZE_APPROXIMATE, NULL, NULL, &error));
  g_assert_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_SIZE);
  g_clear_error (&error);
  g_assert_false (g_file_test (f->dest, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (f->part, G_FILE_TEST_EXISTS));

  g_assert_true (download (f, "/file", payload_sha256, PAYLOAD_SIZE * 1005 / 1000,
                           MIEN_DOWNLOAD_SIZE_APPROXIMATE, NULL, NULL, &error));
  g_assert_no_error (error);
  assert_file_is_payload (f->dest);
}

static void
test_download_wrong_hash (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *wrong = g_strdup (payload_sha256);
  g_autofree char *prefix = g_strndup (payload_sha256, 8);
  g_autofree char *wrong_prefix = NULL;
  g_autoptr(GError) error = NULL;

  wrong[63] = wrong[63] == '0' ? '1' : '0';
  wrong_prefix = g_strdup (prefix);
  wrong_prefix[0] = wrong_prefix[0] == '0' ? '1' : '0';

  g_assert_false (download (f, "/file", wrong, PAYLOAD_SIZE, MIEN_DOWNLOAD_NONE, NULL, NULL,
                            &error));
  g_assert_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_CHECKSUM);
  g_assert_nonnull (strstr (error->message, payload_sha256));
  g_clear_error (&error);
  g_assert_false (g_file_test (f->dest, G_FILE_TEST_EXISTS));
  /* The bytes are not the file's: not kept for a resume. */
  g_assert_false (g_file_test (f->part, G_FILE_TEST_EXISTS));

  /* torchvision's 8-digit prefixes. */
  g_assert_false (download (f, "/file", wrong_prefix, PAYLOAD_SIZE, MIEN_DOWNLOAD_NONE, NULL,
                            NULL, &error));
  g_assert_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_CHECKSUM);
  g_clear_error (&error);
  g_assert_false (g_file_test (f->dest, G_FILE_TEST_EXISTS));

  g_assert_true (download (f, "/file", prefix, PAYLOAD_SIZE, MIEN_DOWNLOAD_NONE, NULL, NULL,
                           &error));
  g_assert_no_error (error);
  assert_file_is_payload (f->dest);
  g_unlink (f->dest);

  /* No hash published: size only. */
  g_assert_true (download (f, "/file", NULL, PAYLOAD_SIZE, MIEN_DOWNLOAD_NONE, NULL, NULL,
                           &error));
  g_assert_no_error (error);
  assert_file_is_payload (f->dest);
}

static void
test_download_http_errors (Fixture       *f,
                           gconstpointer  data)
{
  static const char *paths[] = { "/absent", "/e500" };
  static const char *codes[] = { "404", "500" };
  g_autofree char *dir = g_path_get_dirname (f->dest);

  /* A part from an earlier try stays for when the server is back. */
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  mien_test_write_file (f->part, payload, 4096);
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (download (f, paths[i], payload_sha256, PAYLOAD_SIZE, MIEN_DOWNLOAD_NONE,
                                NULL, NULL, &error));
      g_assert_error (error, MIEN_DOWNLOAD_ERROR, MIEN_DOWNLOAD_ERROR_HTTP);
      g_assert_nonnull (strstr (error->message, codes[i]));
      g_assert_false (g_file_test (f->dest, G_FILE_TEST_EXISTS));
      g_assert_cmpint (file_size (f->part), ==, 4096);
    }
}

#endif  /* MIEN_HAVE_SOUP */

/* ---- The catalogue ----------------------------------------------------------------------- */

static void
weights_dir_set_up (MienTestScratch *scratch,
                    gconstpointer    data)
{
  mien_test_scratch_set_up (scratch, data);
  g_setenv ("MIEN_WEIGHTS_DIR", scratch->dir, TRUE);
}

static void
weights_dir_tear_down (MienTestScratch *scratch,
                       gconstpointer    data)
{
  g_unsetenv ("MIEN_WEIGHTS_DIR");
  mien_test_scratch_tear_down (scratch, data);
}

/* Every variant of every backbone plugin declares its weights, one of them the default; the
 * torchvision rows carry the prefix their file name has (what torch.hub checks). */
static void
test_catalogue (MienTestScratch *scratch,
                gconstpointer    data)
{
  MienPluginEngine *engine = mien_plugin_engine_get_default ();
  GPtrArray *plugins = mien_plugin_engine_get_plugins (engine);
  g_autoptr(GPtrArray) entries = mien_weights_list (engine);
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GRegex) hash_in_name = g_regex_new ("-([a-f0-9]+)\\.", 0, 0, NULL);
  guint n_backbones = 0;

  for (guint i = 0; i < entries->len; i++)
    {
      const MienWeightsEntry *entry = g_ptr_array_index (entries, i);
      const MienWeightsInfo *info = entry->info;
      g_autofree char *path = mien_weights_get_path (info);
      g_autofree char *dir = g_path_get_dirname (path);

      g_assert_true (g_hash_table_add (names, (gpointer) info->name));
      g_assert_true (g_str_has_prefix (info->url, "https://"));
      g_assert_cmpint (info->size, >, 0);
      g_assert_cmpint (info->input_size, >, 0);
      g_assert_cmpstr (info->dataset, ==, "imagenet");
      g_assert_cmpstr (dir, ==, scratch->dir);
      if (g_str_equal (info->source, "torchvision"))
        {
          g_autoptr(GMatchInfo) match = NULL;
          g_autofree char *prefix = NULL;

          g_assert_true (g_str_has_suffix (info->url, info->file_name));
          g_assert_true (g_regex_match (hash_in_name, info->file_name, 0, &match));
          prefix = g_match_info_fetch (match, 1);
          g_assert_nonnull (info->sha256);
          g_assert_true (g_str_has_prefix (info->sha256, prefix));
        }
      else
        g_assert_cmpstr (info->source, ==, "timm");
      g_assert_cmpint (mien_weights_get_state (info, NULL), ==, MIEN_WEIGHTS_ABSENT);
    }

  for (guint i = 0; i < plugins->len; i++)
    {
      const MienPluginInfo *plugin = g_ptr_array_index (plugins, i);
      g_autoptr(MienBackbone) backbone = NULL;
      const MienBackboneVariant *variants;
      guint n_variants = 0;

      if (!g_str_equal (plugin->kind, "backbone"))
        continue;
      n_backbones++;
      backbone = mien_plugin_engine_create_backbone (engine, plugin->id, NULL, NULL);
      variants = mien_backbone_list_variants (backbone, &n_variants);
      for (guint v = 0; v < n_variants; v++)
        {
          guint n_defaults = 0, n_listed = 0;

          for (guint e = 0; e < entries->len; e++)
            {
              const MienWeightsEntry *entry = g_ptr_array_index (entries, e);

              if (g_str_equal (entry->family, plugin->id) &&
                  g_str_equal (entry->info->variant, variants[v].name))
                {
                  n_listed++;
                  n_defaults += entry->info->is_default;
                }
            }
          g_assert_cmpuint (n_listed, >=, 1);
          g_assert_cmpuint (n_defaults, ==, 1);
        }
    }
  g_assert_cmpuint (n_backbones, >=, 4);
}

static JsonArray *
weights_json (JsonParser *parser)
{
  g_autoptr(MienTestCliResult) r = mien_test_cli_run ("weights", "--json", NULL);
  g_autoptr(GError) error = NULL;

  mien_test_cli_assert_success (r);
  json_parser_load_from_data (parser, r->out, -1, &error);
  g_assert_no_error (error);
  return json_node_get_array (json_parser_get_root (parser));
}

static JsonObject *
find_json_entry (JsonArray  *array,
                 const char *name)
{
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *o = json_array_get_object_element (array, i);

      if (g_str_equal (json_object_get_string_member (o, "name"), name))
        return o;
    }
  g_assert_not_reached ();
}

static void
test_cli_list (MienTestScratch *scratch,
               gconstpointer    data)
{
  g_autoptr(GPtrArray) entries = mien_weights_list (mien_plugin_engine_get_default ());
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonParser) parser2 = json_parser_new ();
  g_autoptr(MienWeightsEntry) r18 = NULL;
  g_autoptr(MienWeightsEntry) r34 = NULL;
  g_autofree char *path = NULL, *path18 = NULL, *part = NULL;
  JsonArray *array = weights_json (parser);
  JsonObject *o;

  /* Every plugin's entries, in the catalogue's order. */
  g_assert_cmpuint (json_array_get_length (array), ==, entries->len);
  for (guint i = 0; i < entries->len; i++)
    {
      const MienWeightsEntry *entry = g_ptr_array_index (entries, i);
      g_autofree char *expected_path = mien_weights_get_path (entry->info);

      o = json_array_get_object_element (array, i);
      g_assert_cmpstr (json_object_get_string_member (o, "family"), ==, entry->family);
      g_assert_cmpstr (json_object_get_string_member (o, "variant"), ==, entry->info->variant);
      g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, entry->info->name);
      g_assert_cmpstr (json_object_get_string_member (o, "source"), ==, entry->info->source);
      g_assert_cmpint (json_object_get_int_member (o, "size"), ==, entry->info->size);
      g_assert_cmpstr (json_object_get_string_member (o, "path"), ==, expected_path);
      g_assert_cmpstr (json_object_get_string_member (o, "state"), ==, "absent");
      g_assert_cmpint (json_object_get_boolean_member (o, "verified"), ==,
                       entry->info->sha256 != NULL);
    }
  o = find_json_entry (array, "vit_tiny_patch16_224.augreg_in21k_ft_in1k");
  g_assert_false (json_object_get_boolean_member (o, "verified"));

  /* A part of one, another whole. */
  r18 = mien_weights_find (mien_plugin_engine_get_default (), "ResNet18.IMAGENET1K_V1", NULL);
  r34 = mien_weights_find (mien_plugin_engine_get_default (), "resnet34.imagenet1k_v1", NULL);
  g_assert_nonnull (r18);
  g_assert_nonnull (r34);
  path = mien_weights_get_path (r34->info);
  path18 = mien_weights_get_path (r18->info);
  part = mien_download_get_part_path (path18);
  mien_test_write_file (part, payload, 1000);
  mien_test_write_file (path, payload, 1000);
  array = weights_json (parser2);
  o = find_json_entry (array, "resnet18.imagenet1k_v1");
  g_assert_cmpstr (json_object_get_string_member (o, "state"), ==, "partial");
  g_assert_cmpint (json_object_get_int_member (o, "part_bytes"), ==, 1000);
  o = find_json_entry (array, "resnet34.imagenet1k_v1");
  g_assert_cmpstr (json_object_get_string_member (o, "state"), ==, "downloaded");

  {
    /* Already there: nothing to fetch (and nothing is tried on the network). */
    g_autoptr(MienTestCliResult) r = mien_test_cli_run ("weights", "--download",
                                                        "resnet34.imagenet1k_v1", NULL);

    mien_test_cli_assert_success (r);
    g_assert_nonnull (strstr (r->out, path));
  }
  {
    g_autoptr(MienTestCliResult) r = mien_test_cli_run ("weights", "--download", "resnet19",
                                                        NULL);

    g_assert_cmpint (r->status, ==, 2);
    g_assert_nonnull (strstr (r->err, "“resnet19”"));
  }
}

static void
test_resolve (MienTestScratch *scratch,
              gconstpointer    data)
{
  MienPluginEngine *engine = mien_plugin_engine_get_default ();
  g_autoptr(MienWeightsEntry) r18 = mien_weights_find (engine, "resnet18.imagenet1k_v1", NULL);
  g_autoptr(MienWeightsEntry) r50 = mien_weights_find (engine, "resnet50.imagenet1k_v2", NULL);
  g_autofree char *path18 = mien_weights_get_path (r18->info);
  g_autofree char *path50 = mien_weights_get_path (r50->info);
  g_autoptr(GError) error = NULL;
  char *path;

  g_assert_true (mien_weights_is_spec ("imagenet"));
  g_assert_true (mien_weights_is_spec ("ImageNet:resnet18.imagenet1k_v1"));
  g_assert_false (mien_weights_is_spec ("imagenet.safetensors"));
  g_assert_false (mien_weights_is_spec ("./imagenet"));
  g_assert_false (mien_weights_is_spec (NULL));

  /* Absent: one line naming the file, where it comes from and where it goes. */
  path = mien_weights_resolve (engine, "imagenet", "resnet:18", &error);
  g_assert_null (path);
  g_assert_error (error, MIEN_WEIGHTS_ERROR, MIEN_WEIGHTS_ERROR_ABSENT);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_nonnull (strstr (error->message, "resnet18.imagenet1k_v1"));
  g_assert_nonnull (strstr (error->message, r18->info->url));
  g_assert_nonnull (strstr (error->message, path18));
  g_clear_error (&error);

  mien_test_write_file (path18, payload, 100);
  mien_test_write_file (path50, payload, 100);
  path = mien_weights_resolve (engine, "imagenet", "resnet:18", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (path, ==, path18);
  g_free (path);
  /* The family's default variant, and its default weights (ResNet-50's V2). */
  path = mien_weights_resolve (engine, "imagenet", "resnet", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (path, ==, path50);
  g_free (path);
  path = mien_weights_resolve (engine, "imagenet:resnet18.imagenet1k_v1", "resnet:18",
                               &error);
  g_assert_no_error (error);
  g_assert_cmpstr (path, ==, path18);
  g_free (path);

  /* Weights of another variant, an unknown variant. */
  path = mien_weights_resolve (engine, "imagenet:resnet18.imagenet1k_v1", "resnet:34",
                               &error);
  g_assert_null (path);
  g_assert_error (error, MIEN_WEIGHTS_ERROR, MIEN_WEIGHTS_ERROR_UNKNOWN);
  g_clear_error (&error);
  path = mien_weights_resolve (engine, "imagenet", "resnet:19", &error);
  g_assert_null (path);
  g_assert_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_UNKNOWN_VARIANT);
}

/* `train --pretrained imagenet` takes the variant's default from the weights folder: here a
 * ResNet-18 Mien built and saved under the catalogue's name (the hash is checked on download
 * only), and without it one line saying what to fetch. */
static void
test_cli_train (MienTestScratch *scratch,
                gconstpointer    data)
{
  MienPluginEngine *engine = mien_plugin_engine_get_default ();
  g_autoptr(MienWeightsEntry) r18 = mien_weights_find (engine, "resnet18.imagenet1k_v1", NULL);
  g_autofree char *path = mien_weights_get_path (r18->info);
  g_autofree char *data_dir = g_build_filename (scratch->dir, "data", NULL);
  g_autofree char *run = g_build_filename (scratch->dir, "run", NULL);
  g_autoptr(GError) error = NULL;

  {
    g_autoptr(MienTestCliResult) r = mien_test_cli_run ("demo-data", "--per-class", "2",
                                                        "--balanced", "--size", "16", data_dir,
                                                        NULL);

    mien_test_cli_assert_success (r);
  }
  {
    g_autoptr(MienTestCliResult) r = mien_test_cli_run (
      "train", "--data", data_dir, "--backbone", "resnet:18", "--pretrained", "imagenet",
      "--input-size", "32", "--epochs", "1", "--batch", "4", "--threads", "1", "--workers",
      "1", "--out", run, NULL);
    g_auto(GStrv) lines = g_strsplit (g_strchomp (r->err), "\n", -1);

    g_assert_cmpint (r->status, ==, 1);
    g_assert_cmpuint (g_strv_length (lines), ==, 1);
    g_assert_nonnull (strstr (r->err, "mien-cli weights --download resnet18.imagenet1k_v1"));
    g_assert_nonnull (strstr (r->err, path));
    g_assert_false (g_file_test (run, G_FILE_TEST_EXISTS));
  }
  {
    g_autoptr(MienBackbone) backbone = mien_plugin_engine_create_backbone (engine, "resnet",
                                                                           NULL, NULL);
    g_autoptr(MienVarStore) vs = mien_var_store_new ((MienDevice) { MIEN_DEVICE_CPU, 0 });

    g_assert_true (mien_backbone_build (backbone, "18", 32, vs, "", &error));
    g_assert_true (mien_var_store_save (vs, path, "", NULL, &error));
    g_assert_no_error (error);
  }
  {
    g_autoptr(MienTestCliResult) r = mien_test_cli_run (
      "train", "--data", data_dir, "--backbone", "resnet:18", "--pretrained", "imagenet",
      "--input-size", "32", "--epochs", "1", "--batch", "4", "--threads", "1", "--workers",
      "1", "--out", run, NULL);

    mien_test_cli_assert_success (r);
    g_assert_nonnull (strstr (r->err, "resnet18-f37072fd.pth"));
  }
  {
    /* Normalised as torchvision's weights were trained: ImageNet's mean and std. */
    g_autofree char *best = g_build_filename (run, "best.safetensors", NULL);
    g_autoptr(MienModel) model = mien_model_load (engine, best, (MienDevice) { MIEN_DEVICE_CPU, 0 }, &error);
    double mean[3], std[3];

    g_assert_no_error (error);
    mien_model_get_mean_std (model, mean, std);
    for (int c = 0; c < 3; c++)
      {
        g_assert_cmpfloat (mean[c], ==, r18->info->mean[c]);
        g_assert_cmpfloat (std[c], ==, r18->info->std[c]);
      }
  }
}

/* A catalogue file is told by its name, whatever folder it was put in; its row says how the
 * weights were normalised (timm's AugReg ViT-Ti: 0.5, not ImageNet's). A file of the user's own
 * is nobody's row. */
static void
test_find_file (MienTestScratch *scratch,
                gconstpointer    data)
{
  MienPluginEngine *engine = mien_plugin_engine_get_default ();
  const MienWeightsInfo *info;

  info = mien_weights_find_file (engine, "vit:ti_16",
                                 "/somewhere/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors");
  g_assert_nonnull (info);
  g_assert_cmpstr (info->name, ==, "vit_tiny_patch16_224.augreg_in21k_ft_in1k");
  g_assert_cmpfloat (info->mean[0], ==, 0.5);
  g_assert_cmpfloat (info->std[2], ==, 0.5);
  info = mien_weights_find_file (engine, "resnet", "resnet50-11ad3fa6.pth");
  g_assert_nonnull (info);
  g_assert_cmpstr (info->name, ==, "resnet50.imagenet1k_v2");
  /* Another variant's file, a file of one's own, an unknown family. */
  g_assert_null (mien_weights_find_file (engine, "resnet:34", "resnet50-11ad3fa6.pth"));
  g_assert_null (mien_weights_find_file (engine, "resnet:18", "my-resnet18.pth"));
  g_assert_null (mien_weights_find_file (engine, "nosuchfamily", "resnet50-11ad3fa6.pth"));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  payload = mien_test_random_bytes (13, PAYLOAD_SIZE, &payload_sha256);

#ifdef MIEN_HAVE_SOUP
  g_test_add ("/weights/download/progress", Fixture, NULL, fixture_set_up,
              test_download_progress, fixture_tear_down);
  g_test_add ("/weights/download/cancel-resume", Fixture, NULL, fixture_set_up,
              test_download_cancel_resume, fixture_tear_down);
  g_test_add ("/weights/download/truncated", Fixture, NULL, fixture_set_up,
              test_download_truncated, fixture_tear_down);
  g_test_add ("/weights/download/ignored-range", Fixture, NULL, fixture_set_up,
              test_download_ignored_range, fixture_tear_down);
  g_test_add ("/weights/download/unsatisfiable", Fixture, NULL, fixture_set_up,
              test_download_unsatisfiable, fixture_tear_down);
  g_test_add ("/weights/download/wrong-range", Fixture, NULL, fixture_set_up,
              test_download_wrong_range, fixture_tear_down);
  g_test_add ("/weights/download/wrong-size", Fixture, NULL, fixture_set_up,
              test_download_wrong_size, fixture_tear_down);
  g_test_add ("/weights/download/wrong-hash", Fixture, NULL, fixture_set_up,
              test_download_wrong_hash, fixture_tear_down);
  g_test_add ("/weights/download/http-errors", Fixture, NULL, fixture_set_up,
              test_download_http_errors, fixture_tear_down);
#endif
  g_test_add ("/weights/catalogue", MienTestScratch, NULL, weights_dir_set_up, test_catalogue,
              weights_dir_tear_down);
  g_test_add ("/weights/cli-list", MienTestScratch, NULL, weights_dir_set_up, test_cli_list,
              weights_dir_tear_down);
  g_test_add ("/weights/resolve", MienTestScratch, NULL, weights_dir_set_up, test_resolve,
              weights_dir_tear_down);
  g_test_add ("/weights/find-file", MienTestScratch, NULL, weights_dir_set_up, test_find_file,
              weights_dir_tear_down);
  g_test_add ("/weights/cli-train", MienTestScratch, NULL, weights_dir_set_up, test_cli_train,
              weights_dir_tear_down);
  return g_test_run ();
}
