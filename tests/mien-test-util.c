#include "config.h"

#include <string.h>

#include <gio/gio.h>
#ifdef MIEN_HAVE_CAMERA
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#endif

#include <glib/gstdio.h>

#include "mien-safetensors.h"

#include "mien-test-util.h"

void
mien_test_scratch_set_up (MienTestScratch *scratch,
                          gconstpointer    data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *program = g_path_get_basename (g_get_prgname ());
  g_autofree char *template = g_strdup_printf ("mien-%s-XXXXXX", program);

  scratch->dir = g_dir_make_tmp (template, &error);
  g_assert_no_error (error);
}

void
mien_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR) || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_unlink (path);
      return;
    }
  dir = g_dir_open (path, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      mien_test_remove_tree (child);
    }
  g_rmdir (path);
}

guint8 *
mien_test_random_bytes (guint32   seed,
                        gsize     size,
                        char    **sha256)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  guint8 *bytes = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    bytes[i] = g_rand_int (rand) & 0xff;
  if (sha256 != NULL)
    *sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, bytes, size);
  return bytes;
}

void
mien_test_write_file (const char *path,
                      const void *data,
                      gsize       size)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, data, size, &error);
  g_assert_no_error (error);
}

void
mien_test_scratch_tear_down (MienTestScratch *scratch,
                             gconstpointer    data)
{
  mien_test_remove_tree (scratch->dir);
  g_clear_pointer (&scratch->dir, g_free);
}

double *
mien_test_values_of (MienTensor *t,
                     gsize      *n_out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTensor) d = mien_tensor_to_dtype (t, MIEN_DTYPE_FLOAT64, &error);
  gsize n = (gsize) mien_tensor_numel (t);
  double *values = g_new0 (double, MAX (n, 1));

  g_assert_no_error (error);
  g_assert_true (mien_tensor_to_host (d, values, n * sizeof (double), &error));
  g_assert_no_error (error);
  if (n_out != NULL)
    *n_out = n;
  return values;
}

void
mien_test_assert_same_tensors (const char *path_a,
                               const char *path_b)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienSafetensors) a = mien_safetensors_open (path_a, &error);
  g_autoptr(MienSafetensors) b = NULL;

  g_assert_no_error (error);
  b = mien_safetensors_open (path_b, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mien_safetensors_get_n_entries (a), ==, mien_safetensors_get_n_entries (b));
  for (guint i = 0; i < mien_safetensors_get_n_entries (a); i++)
    {
      const MienSafetensorsEntry *ea = mien_safetensors_get_entry (a, i);
      const MienSafetensorsEntry *eb = mien_safetensors_lookup (b, ea->name);

      g_assert_nonnull (eb);
      g_assert_cmpuint (ea->size, ==, eb->size);
      if (memcmp (ea->data, eb->data, ea->size) != 0)
        g_error ("%s differs between %s and %s", ea->name, path_a, path_b);
    }
}

#ifdef MIEN_HAVE_CAMERA
/* A pixbuf's rows in a buffer laid out as GStreamer's video info says (its stride rounds rows
 * up to 4 bytes, GdkPixbuf's need not be the same). */
static GstBuffer *
buffer_from_pixbuf (GdkPixbuf          *pixbuf,
                    const GstVideoInfo *info)
{
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info), NULL);
  const guint8 *src = gdk_pixbuf_read_pixels (pixbuf);
  int src_stride = gdk_pixbuf_get_rowstride (pixbuf);
  gsize row = (gsize) GST_VIDEO_INFO_WIDTH (info) * gdk_pixbuf_get_n_channels (pixbuf);
  GstMapInfo map;

  g_assert (gst_buffer_map (buffer, &map, GST_MAP_WRITE));
  for (int y = 0; y < GST_VIDEO_INFO_HEIGHT (info); y++)
    memcpy (map.data + GST_VIDEO_INFO_PLANE_OFFSET (info, 0) +
              (gsize) y * GST_VIDEO_INFO_PLANE_STRIDE (info, 0),
            src + (gsize) y * src_stride, row);
  gst_buffer_unmap (buffer, &map);
  return buffer;
}
#endif

gboolean
mien_test_write_video (const char        *path,
                       GdkPixbuf * const *frames,
                       guint              n_frames,
                       int                fps,
                       GError           **error)
{
#ifdef MIEN_HAVE_CAMERA
  static const char * const needed[] = {
    "appsrc", "videoconvert", "jpegenc", "avimux", "filesink", NULL
  };
  g_autoptr(GstElement) pipeline = NULL;
  g_autoptr(GstElement) src = NULL;
  g_autoptr(GstElement) sink = NULL;
  g_autoptr(GstBus) bus = NULL;
  g_autoptr(GstCaps) caps = NULL;
  g_autoptr(GstMessage) message = NULL;
  g_autoptr(GError) local_error = NULL;
  GstVideoInfo info;
  gboolean alpha;
  int width, height;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (n_frames > 0 && frames != NULL, FALSE);
  g_return_val_if_fail (fps > 0, FALSE);

  if (!gst_init_check (NULL, NULL, &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "GStreamer: %s",
                   local_error->message);
      return FALSE;
    }
  for (guint i = 0; needed[i] != NULL; i++)
    {
      g_autoptr(GstElementFactory) factory = gst_element_factory_find (needed[i]);

      if (factory == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "the GStreamer element “%s” is not installed", needed[i]);
          return FALSE;
        }
    }

  width = gdk_pixbuf_get_width (frames[0]);
  height = gdk_pixbuf_get_height (frames[0]);
  alpha = gdk_pixbuf_get_has_alpha (frames[0]);
  for (guint k = 0; k < n_frames; k++)
    g_return_val_if_fail (gdk_pixbuf_get_width (frames[k]) == width &&
                          gdk_pixbuf_get_height (frames[k]) == height &&
                          gdk_pixbuf_get_has_alpha (frames[k]) == alpha &&
                          gdk_pixbuf_get_bits_per_sample (frames[k]) == 8, FALSE);

  /* quality=95: the tests locate shapes in the decoded frames; JPEG's default (85) smears
   * their edges more than needed. */
  pipeline = gst_parse_launch_full ("appsrc name=src format=time ! videoconvert ! "
                                    "jpegenc quality=95 ! avimux ! filesink name=sink",
                                    NULL, GST_PARSE_FLAG_FATAL_ERRORS, &local_error);
  if (pipeline == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", local_error->message);
      return FALSE;
    }
  gst_object_ref_sink (pipeline);
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  gst_video_info_set_format (&info, alpha ? GST_VIDEO_FORMAT_RGBA : GST_VIDEO_FORMAT_RGB,
                             (guint) width, (guint) height);
  GST_VIDEO_INFO_FPS_N (&info) = fps;
  GST_VIDEO_INFO_FPS_D (&info) = 1;
  caps = gst_video_info_to_caps (&info);
  g_object_set (src, "caps", caps, NULL);
  g_object_set (sink, "location", path, NULL);

  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot start writing %s", path);
      gst_element_set_state (pipeline, GST_STATE_NULL);
      return FALSE;
    }
  /* appsrc queues without limit by default: every frame is pushed at once, then the end. */
  for (guint k = 0; k < n_frames; k++)
    {
      GstBuffer *buffer = buffer_from_pixbuf (frames[k], &info);

      GST_BUFFER_PTS (buffer) = gst_util_uint64_scale (k, GST_SECOND, (guint64) fps);
      GST_BUFFER_DURATION (buffer) = gst_util_uint64_scale (1, GST_SECOND, (guint64) fps);
      gst_app_src_push_buffer (GST_APP_SRC (src), buffer);
    }
  gst_app_src_end_of_stream (GST_APP_SRC (src));

  /* avimux writes its index and fixes its header at the end of stream: wait for it. */
  bus = gst_element_get_bus (pipeline);
  message = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
                                        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  if (message == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "writing %s took too long", path);
      return FALSE;
    }
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      g_autoptr(GError) gst_error = NULL;

      gst_message_parse_error (message, &gst_error, NULL);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "writing %s: %s", path,
                   gst_error->message);
      return FALSE;
    }
  return TRUE;
#else
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
               "this build has no GStreamer to write videos with");
  return FALSE;
#endif
}

void
mien_test_cli_result_free (MienTestCliResult *result)
{
  g_free (result->out);
  g_free (result->err);
  g_free (result);
}

MienTestCliResult *
mien_test_cli_runv (const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  MienTestCliResult *r = g_new0 (MienTestCliResult, 1);
  const char *cli = g_getenv ("MIEN_CLI");
  int wait_status;

  g_assert_nonnull (cli);
  g_ptr_array_add (argv, (char *) cli);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &r->out, &r->err, &wait_status, &error));
  g_assert_no_error (error);
  r->status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -WTERMSIG (wait_status);
  if (g_test_verbose ())
    g_printerr ("$ mien-cli %s… → %d\n%s", args[0], r->status, r->err);
  return r;
}

/* `first` and the rest of a NULL-terminated argument list, as a NULL-terminated array (the
 * strings borrowed). */
static GPtrArray *
args_from_list (const char *first,
                va_list     ap)
{
  GPtrArray *args = g_ptr_array_new ();

  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) a);
  g_ptr_array_add (args, NULL);
  return args;
}

MienTestCliResult *
mien_test_cli_run (const char *first,
                   ...)
{
  g_autoptr(GPtrArray) args = NULL;
  va_list ap;

  va_start (ap, first);
  args = args_from_list (first, ap);
  va_end (ap);
  return mien_test_cli_runv ((const char * const *) args->pdata);
}

void
mien_test_cli_assert_success (MienTestCliResult *result)
{
  if (result->status != 0)
    g_error ("mien-cli failed with %d:\n%s", result->status, result->err);
}

gboolean
mien_test_write_video_or_skip (const char        *path,
                               GdkPixbuf * const *frames,
                               guint              n_frames,
                               int                fps)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = mien_test_write_video (path, frames, n_frames, fps, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
    {
      g_test_skip (error->message);
      return FALSE;
    }
  g_assert_no_error (error);
  g_assert_true (ok);
  return TRUE;
}

void
mien_test_write_turned_jpeg (const char *path,
                             GdkPixbuf  *upright)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) stored = gdk_pixbuf_rotate_simple (upright,
                                                          GDK_PIXBUF_ROTATE_COUNTERCLOCKWISE);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autofree char *jpeg = NULL;
  gsize len = 0;
  /* APP1 "Exif", a big-endian TIFF with one IFD of one entry: tag 0x0112 (Orientation),
   * SHORT, count 1, value 6. GdkPixbuf's JPEG saver writes no EXIF of its own. */
  static const guint8 app1[] = {
    0xff, 0xe1, 0x00, 34, 'E', 'x', 'i', 'f', 0, 0,
    'M', 'M', 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08,
    0x00, 0x01,
    0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 6, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
  };

  g_assert_true (gdk_pixbuf_save_to_buffer (stored, &jpeg, &len, "jpeg", &error,
                                            "quality", "95", NULL));
  g_assert_no_error (error);
  /* Right after SOI, where readers look for it. */
  g_byte_array_append (out, (const guint8 *) jpeg, 2);
  g_byte_array_append (out, app1, sizeof app1);
  g_byte_array_append (out, (const guint8 *) jpeg + 2, (guint) len - 2);
  g_assert_true (g_file_set_contents (path, (const char *) out->data, out->len, &error));
  g_assert_no_error (error);
}

char *
mien_test_shared_dir (void)
{
  const char *env = g_getenv ("MIEN_TEST_SHARED_DIR");
  g_autofree char *dir = NULL;
  g_autofree char *why = NULL;

  if (env != NULL && env[0] != '\0')
    {
      if (!g_file_test (env, G_FILE_TEST_IS_DIR))
        g_error ("MIEN_TEST_SHARED_DIR is %s, which is not a folder", env);
      return g_strdup (env);
    }
  dir = g_test_build_filename (G_TEST_DIST, "..", "..", "shared", NULL);
  if (g_file_test (dir, G_FILE_TEST_IS_DIR))
    return g_steal_pointer (&dir);
  why = g_strdup_printf ("No shared folder at %s (set MIEN_TEST_SHARED_DIR): YuNet's real-photo "
                         "tests need its models/ and photos/", dir);
  g_test_skip (why);
  return NULL;
}

#ifdef MIEN_HAVE_SOUP

struct _MienTestWebServer {
  GThread            *thread;
  GMainContext       *context;
  GMainLoop          *loop;
  SoupServer         *server;
  SoupServerCallback  handler;
  gpointer            user_data;
  char               *base;
  GMutex              lock;
  GCond               cond;
  gboolean            ready;
};

static gpointer
web_server_thread (gpointer data)
{
  MienTestWebServer *server = data;
  g_autoptr(GError) error = NULL;
  GSList *uris;

  g_main_context_push_thread_default (server->context);
  server->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (server->server, NULL, server->handler, server->user_data, NULL);
  soup_server_listen_local (server->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (server->server);
  server->base = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_mutex_lock (&server->lock);
  server->ready = TRUE;
  g_cond_signal (&server->cond);
  g_mutex_unlock (&server->lock);

  g_main_loop_run (server->loop);
  soup_server_disconnect (server->server);
  g_clear_object (&server->server);
  g_main_context_pop_thread_default (server->context);
  return NULL;
}

MienTestWebServer *
mien_test_web_server_start (SoupServerCallback handler,
                            gpointer           user_data)
{
  MienTestWebServer *server = g_new0 (MienTestWebServer, 1);

  server->handler = handler;
  server->user_data = user_data;
  g_mutex_init (&server->lock);
  g_cond_init (&server->cond);
  server->context = g_main_context_new ();
  server->loop = g_main_loop_new (server->context, FALSE);
  server->thread = g_thread_new ("test-web-server", web_server_thread, server);
  g_mutex_lock (&server->lock);
  while (!server->ready)
    g_cond_wait (&server->cond, &server->lock);
  g_mutex_unlock (&server->lock);
  return server;
}

const char *
mien_test_web_server_get_base (MienTestWebServer *server)
{
  return server->base;
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
mien_test_web_server_stop (MienTestWebServer *server)
{
  g_main_context_invoke (server->context, quit_loop, server->loop);
  g_thread_join (server->thread);
  g_main_loop_unref (server->loop);
  g_main_context_unref (server->context);
  g_mutex_clear (&server->lock);
  g_cond_clear (&server->cond);
  g_free (server->base);
  g_free (server);
}

#endif  /* MIEN_HAVE_SOUP */

char *
mien_test_run_referencev (const char         *script,
                          const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, script, NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *python = g_getenv ("MIEN_REFERENCE_PYTHON");
  int status = 0;

  if (python == NULL || *python == '\0')
    {
      g_test_skip ("MIEN_REFERENCE_PYTHON is unset: no python with torch and torchvision to "
                   "compare against (set it, or configure with -Dparity=enabled)");
      return NULL;
    }
  g_ptr_array_add (argv, (char *) python);
  g_ptr_array_add (argv, path);
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("%s failed: %s\n%s", path, error->message, err);
  return g_steal_pointer (&out);
}

char *
mien_test_run_reference (const char *script,
                         const char *first,
                         ...)
{
  g_autoptr(GPtrArray) args = NULL;
  va_list ap;

  va_start (ap, first);
  args = args_from_list (first, ap);
  va_end (ap);
  return mien_test_run_referencev (script, (const char * const *) args->pdata);
}

MienModelSpec
mien_test_random_spec (const char         *backbone,
                       int                 input_size,
                       MienMode            mode,
                       const char * const *classes)
{
  MienModelSpec spec = { 0, };

  spec.backbone = backbone;
  spec.input_size = input_size;
  spec.mode = mode;
  spec.classes = classes;
  for (int c = 0; c < 3; c++)
    {
      spec.mean[c] = 0.5;
      spec.std[c] = 0.25;
    }
  spec.device = mien_device_cpu ();
  return spec;
}

JsonObject *
mien_test_parse_json_object (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_true (node != NULL && JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

MienModel *
mien_test_toy_model (const char * const  *classes,
                     char               **plugin_dir)
{
  static MienPluginEngine *engine;
  g_autofree char *dir = g_test_build_filename (G_TEST_BUILT, "plugins", "toy", NULL);
  g_autoptr(GError) error = NULL;
  MienModelSpec spec = mien_test_random_spec ("toy:tiny", 8, MIEN_MODE_FINETUNE, classes);
  MienModel *model;

  if (engine == NULL)
    {
      const char *path[2] = { dir, NULL };

      engine = mien_plugin_engine_new ();
      mien_plugin_engine_set_search_path (engine, path);
      mien_plugin_engine_load (engine);
    }
  model = mien_model_new (engine, &spec, &error);
  g_assert_no_error (error);
  if (plugin_dir != NULL)
    *plugin_dir = g_steal_pointer (&dir);
  return model;
}

MienModel *
mien_test_random_model (const char         *backbone,
                        int                 input_size,
                        const char * const *classes,
                        gboolean            grey)
{
  g_autoptr(GError) error = NULL;
  MienModelSpec spec = mien_test_random_spec (backbone, input_size, MIEN_MODE_FINETUNE, classes);
  MienModel *model;

  spec.grey = grey;
  model = mien_model_new (mien_plugin_engine_get_default (), &spec, &error);
  g_assert_no_error (error);
  return model;
}
