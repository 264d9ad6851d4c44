/* mien-camera.c — video frames through a GStreamer pipeline that ends in an appsink. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#ifdef MIEN_HAVE_CAMERA
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "mien-gst-private.h"
#endif

#include "mien-camera.h"
#include "mien-camera-portal.h"
#include "mien-camera-private.h"
#include "mien-input.h"
#include "mien-dataset.h"

G_DEFINE_QUARK (mien-camera-error-quark, mien_camera_error)

enum {
  SIGNAL_ERROR,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _MienCamera
{
  GObject              parent_instance;
  char                *source_id;
  int                  width;
  int                  height;
  GMainContext        *context;        /* where the bus is watched and "error" emitted */
  int                  portal_fd;      /* "portal": the PipeWire remote the portal opened */
#ifdef MIEN_HAVE_CAMERA
  GstElement          *pipeline;
  GSource             *bus_source;
  gboolean             loop;           /* a video file: back to its start at its end */
#endif

  /* Shared with the streaming thread. */
  GMutex               lock;
  GCond                cond;           /* n_in_callback went down to 0 */
  gboolean             running;
  guint                n_in_callback;
  guint64              n_frames;
  MienCameraFrameFunc  func;
  gpointer             func_data;
  GDestroyNotify       func_destroy;
};

G_DEFINE_FINAL_TYPE (MienCamera, mien_camera, G_TYPE_OBJECT)

void
mien_camera_source_free (MienCameraSource *source)
{
  if (source == NULL)
    return;
  g_free (source->id);
  g_free (source->name);
  g_free (source);
}

#ifdef MIEN_HAVE_CAMERA

static MienCameraSource *
camera_source_new (const char *id,
                   const char *name)
{
  MienCameraSource *source = g_new0 (MienCameraSource, 1);

  source->id = g_strdup (id);
  source->name = g_strdup (name);
  return source;
}

/* What every pipeline needs, whatever its source. */
static const char * const common_elements[] = {
  "videoconvert", "videoscale", "capsfilter", "appsink", NULL
};

gboolean
mien_gst_has_element (const char *name)
{
  g_autoptr(GstElementFactory) factory = gst_element_factory_find (name);

  return factory != NULL;
}

/* gst_init_check () is idempotent, but its failure is only reported the first time: keep it. */
const char *
mien_gst_init_failure (void)
{
  static gsize initialised = 0;
  static char *failure = NULL;

  if (g_once_init_enter (&initialised))
    {
      g_autoptr(GError) local_error = NULL;

      if (!gst_init_check (NULL, NULL, &local_error))
        failure = g_strdup (local_error->message);
      for (guint i = 0; failure == NULL && common_elements[i] != NULL; i++)
        if (!mien_gst_has_element (common_elements[i]))
          failure = g_strdup_printf (_("the GStreamer element “%s” is not installed"),
                                     common_elements[i]);
      g_once_init_leave (&initialised, 1);
    }
  return failure;
}

static gboolean
ensure_gstreamer (GError **error)
{
  const char *failure = mien_gst_init_failure ();

  if (failure != NULL)
    {
      g_set_error (error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_UNSUPPORTED,
                   _("Camera support is unavailable: %s"), failure);
      return FALSE;
    }
  return TRUE;
}

static gboolean
require_elements (const char * const  *names,
                  const char          *source_id,
                  GError             **error)
{
  for (guint i = 0; names[i] != NULL; i++)
    {
      if (mien_gst_has_element (names[i]))
        continue;
      if (g_str_equal (names[i], "pipewiresrc"))
        g_set_error (error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_UNSUPPORTED,
                     _("PipeWire cameras need GStreamer’s PipeWire plugin (pipewiresrc), "
                       "which is not installed"));
      else
        g_set_error (error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_UNSUPPORTED,
                     _("The GStreamer element “%s” needed for %s is not installed"),
                     names[i], source_id);
      return FALSE;
    }
  return TRUE;
}

GdkPixbuf *
mien_gst_sample_to_pixbuf (GstSample *sample,
                           gint64    *pts_us)
{
  GstCaps *caps = gst_sample_get_caps (sample);
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  GstVideoInfo info;
  GstVideoFrame frame;
  GdkPixbuf *pixbuf;
  const guint8 *src;
  guint8 *dest;
  int width, height, src_stride, dest_stride;

  if (pts_us != NULL)
    *pts_us = buffer != NULL && GST_CLOCK_TIME_IS_VALID (GST_BUFFER_PTS (buffer))
              ? (gint64) GST_TIME_AS_USECONDS (GST_BUFFER_PTS (buffer)) : -1;
  if (caps == NULL || buffer == NULL || !gst_video_info_from_caps (&info, caps) ||
      GST_VIDEO_INFO_FORMAT (&info) != GST_VIDEO_FORMAT_RGB)
    return NULL;
  if (!gst_video_frame_map (&frame, &info, buffer, GST_MAP_READ))
    return NULL;

  width = GST_VIDEO_FRAME_WIDTH (&frame);
  height = GST_VIDEO_FRAME_HEIGHT (&frame);
  pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  if (pixbuf != NULL)
    {
      /* Copied (a few hundred kB at camera sizes) so that the pixbuf may outlive the buffer,
       * which goes back to the source's pool; rows are copied one by one because GStreamer's
       * stride (a video meta's, or its own rounding) need not be GdkPixbuf's. */
      src = GST_VIDEO_FRAME_PLANE_DATA (&frame, 0);
      src_stride = GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);
      dest = gdk_pixbuf_get_pixels (pixbuf);
      dest_stride = gdk_pixbuf_get_rowstride (pixbuf);
      for (int y = 0; y < height; y++)
        memcpy (dest + (gsize) y * dest_stride, src + (gsize) y * src_stride, (gsize) width * 3);
    }
  gst_video_frame_unmap (&frame);
  return pixbuf;
}

static GstFlowReturn
new_sample_cb (GstAppSink *sink,
               gpointer    user_data)
{
  MienCamera *self = user_data;
  g_autoptr(GstSample) sample = gst_app_sink_pull_sample (sink);
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  MienCameraFrameFunc func;
  gpointer func_data;
  gint64 pts_us = -1;

  if (sample == NULL)
    return GST_FLOW_OK;

  g_mutex_lock (&self->lock);
  if (!self->running)
    {
      g_mutex_unlock (&self->lock);
      return GST_FLOW_OK;
    }
  self->n_in_callback++;
  g_mutex_unlock (&self->lock);

  pixbuf = mien_gst_sample_to_pixbuf (sample, &pts_us);

  g_mutex_lock (&self->lock);
  if (pixbuf != NULL)
    self->n_frames++;
  /* Read under the lock: mien_camera_set_frame_func () may swap them from another thread. */
  func = self->func;
  func_data = self->func_data;
  g_mutex_unlock (&self->lock);

  if (pixbuf != NULL && func != NULL)
    func (pixbuf, pts_us, func_data);

  g_mutex_lock (&self->lock);
  if (--self->n_in_callback == 0)
    g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return GST_FLOW_OK;
}

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

static gboolean
bus_cb (GstBus     *bus,
        GstMessage *message,
        gpointer    user_data)
{
  /* Weak: the camera may be stopped and released on another thread (the live page stops on
   * one) while this watch is being dispatched here; g_source_destroy () does not wait for a
   * dispatch in progress. */
  g_autoptr(MienCamera) self = g_weak_ref_get (user_data);

  if (self == NULL)
    return G_SOURCE_REMOVE;

  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_ERROR:
      {
        g_autoptr(GError) gst_error = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *debug = NULL;

        gst_message_parse_error (message, &gst_error, &debug);
        /* The debug string is for developers (element internals, source lines). */
        g_debug ("%s: %s (%s)", self->source_id, gst_error->message,
                 debug != NULL ? debug : "");
        error = g_error_new (MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_STREAM,
                             _("The video from %s failed: %s"), self->source_id,
                             gst_error->message);
        g_signal_emit (self, signals[SIGNAL_ERROR], 0, error);
        break;
      }
    case GST_MESSAGE_EOS:
      /* A flushing seek from the bus watch rather than a segment seek: simpler, and a few
       * milliseconds of gap at the loop point do not matter for predictions. */
      if (self->loop &&
          !gst_element_seek_simple (self->pipeline, GST_FORMAT_TIME,
                                    GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_KEY_UNIT, 0))
        g_debug ("%s: cannot seek back to the start", self->source_id);
      break;
    default:
      break;
    }
  return G_SOURCE_CONTINUE;
}

typedef enum {
  SOURCE_TEST,
  SOURCE_IMAGE,
  SOURCE_VIDEO,
  SOURCE_V4L2,
  SOURCE_PIPEWIRE,
  SOURCE_PORTAL,
} SourceKind;

static gboolean
parse_source_id (const char  *source_id,
                 SourceKind  *kind,
                 char       **argument,
                 GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  const char *arg;

  if (g_str_equal (source_id, "test"))
    {
      *kind = SOURCE_TEST;
      *argument = NULL;
      return TRUE;
    }
  if (g_str_equal (source_id, "portal"))
    {
      *kind = SOURCE_PORTAL;
      *argument = NULL;
      return TRUE;
    }
  if (g_str_has_prefix (source_id, "file:") && source_id[5] != '\0')
    {
      arg = source_id + 5;
      /* Checked here rather than left to the pipeline so that a wrong path is an error of
       * mien_camera_new (), not a signal some time after starting. */
      if (!mien_input_check_regular (arg, &local_error))
        {
          g_set_error_literal (error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_SOURCE,
                               local_error->message);
          return FALSE;
        }
      *kind = mien_dataset_is_image_name (arg) ? SOURCE_IMAGE : SOURCE_VIDEO;
      *argument = g_strdup (arg);
      return TRUE;
    }
  if (g_str_has_prefix (source_id, "v4l2:") && source_id[5] != '\0')
    {
      arg = source_id + 5;
      if (!g_file_test (arg, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_SOURCE,
                       _("There is no camera at %s"), arg);
          return FALSE;
        }
      *kind = SOURCE_V4L2;
      *argument = g_strdup (arg);
      return TRUE;
    }
  if (g_str_has_prefix (source_id, "pipewire:") && source_id[9] != '\0')
    {
      *kind = SOURCE_PIPEWIRE;
      *argument = g_strdup (source_id + 9);
      return TRUE;
    }
  g_set_error (error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_SOURCE,
               _("Unknown video source “%s”"), source_id);
  return FALSE;
}

static gboolean
build_pipeline (MienCamera  *self,
                GError     **error)
{
  static const char * const test_elements[] = { "videotestsrc", NULL };
  static const char * const image_elements[] = { "filesrc", "decodebin", "imagefreeze", NULL };
  static const char * const video_elements[] = { "uridecodebin", NULL };
  static const char * const v4l2_elements[] = { "v4l2src", NULL };
  static const char * const pipewire_elements[] = { "pipewiresrc", NULL };
  const char * const *needed = NULL;
  const char *head = NULL;
  g_autofree char *argument = NULL;
  g_autofree char *description = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GstElement) src = NULL;
  g_autoptr(GstElement) capsfilter = NULL;
  g_autoptr(GstElement) sink = NULL;
  g_autoptr(GstCaps) caps = NULL;
  GstAppSinkCallbacks callbacks = { 0 };
  SourceKind kind;

  if (!parse_source_id (self->source_id, &kind, &argument, error))
    return FALSE;

  switch (kind)
    {
    case SOURCE_TEST:
      needed = test_elements;
      head = "videotestsrc name=src is-live=true horizontal-speed=2";
      break;
    case SOURCE_IMAGE:
      needed = image_elements;
      /* imagefreeze repeats the one decoded picture; live, so that it paces itself like a
       * camera instead of racing ahead. */
      head = "filesrc name=src ! decodebin ! imagefreeze is-live=true";
      break;
    case SOURCE_VIDEO:
      needed = video_elements;
      head = "uridecodebin name=src expose-all-streams=false";
      self->loop = TRUE;
      break;
    case SOURCE_V4L2:
      needed = v4l2_elements;
      head = "v4l2src name=src";
      break;
    case SOURCE_PIPEWIRE:
    case SOURCE_PORTAL:
      needed = pipewire_elements;
      head = "pipewiresrc name=src";
      break;
    default:
      g_assert_not_reached ();
    }
  if (!require_elements (needed, self->source_id, error))
    return FALSE;

  description = g_strconcat (head, " ! videoconvert ! videoscale ! capsfilter name=caps ! "
                             "appsink name=sink max-buffers=1 drop=true sync=true", NULL);
  self->pipeline = gst_parse_launch_full (description, NULL, GST_PARSE_FLAG_FATAL_ERRORS,
                                          &local_error);
  if (self->pipeline == NULL)
    {
      g_set_error (error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_UNSUPPORTED,
                   _("Cannot build the video pipeline for %s: %s"), self->source_id,
                   local_error->message);
      return FALSE;
    }
  gst_object_ref_sink (self->pipeline);

  src = gst_bin_get_by_name (GST_BIN (self->pipeline), "src");
  capsfilter = gst_bin_get_by_name (GST_BIN (self->pipeline), "caps");
  sink = gst_bin_get_by_name (GST_BIN (self->pipeline), "sink");
  g_assert (src != NULL && capsfilter != NULL && sink != NULL);

  switch (kind)
    {
    case SOURCE_IMAGE:
    case SOURCE_V4L2:
      g_object_set (src, kind == SOURCE_IMAGE ? "location" : "device", argument, NULL);
      break;
    case SOURCE_VIDEO:
      {
        g_autofree char *absolute = g_canonicalize_filename (argument, NULL);
        g_autofree char *uri = g_filename_to_uri (absolute, NULL, &local_error);
        g_autoptr(GstCaps) video_only = gst_caps_from_string ("video/x-raw(ANY)");

        if (uri == NULL)
          {
            g_set_error (error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_SOURCE, "%s: %s",
                         argument, local_error->message);
            return FALSE;
          }
        /* Decode the video only: a sound track would be decoded for nothing. */
        g_object_set (src, "uri", uri, "caps", video_only, NULL);
        break;
      }
    case SOURCE_PIPEWIRE:
      /* PipeWire ≥ 0.3.64 names nodes by serial in target-object; older ones only know
       * the node id through the deprecated path. */
      if (g_object_class_find_property (G_OBJECT_GET_CLASS (src), "target-object") != NULL)
        g_object_set (src, "target-object", argument, NULL);
      else
        g_object_set (src, "path", argument, NULL);
      break;
    case SOURCE_PORTAL:
      /* The remote shows only the cameras the portal allowed; pipewiresrc takes the default
       * one. It dups the fd: ours stays open until the camera goes. */
      g_object_set (src, "fd", self->portal_fd, NULL);
      break;
    case SOURCE_TEST:
    default:
      break;
    }

  /* Square pixels: asked for one side only, videoscale then keeps the picture's proportions
   * instead of stretching it. */
  caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "RGB",
                              "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, NULL);
  if (self->width > 0)
    gst_caps_set_simple (caps, "width", G_TYPE_INT, self->width, NULL);
  if (self->height > 0)
    gst_caps_set_simple (caps, "height", G_TYPE_INT, self->height, NULL);
  g_object_set (capsfilter, "caps", caps, NULL);

  callbacks.new_sample = new_sample_cb;
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, self, NULL);
  return TRUE;
}

/* A value of a device's properties as text, whatever its type (PipeWire gives serials as
 * strings or integers depending on its version). */
static char *
structure_get_text (const GstStructure *structure,
                    const char         *field)
{
  const GValue *value = gst_structure_get_value (structure, field);
  g_auto(GValue) text = G_VALUE_INIT;

  if (value == NULL)
    return NULL;
  if (G_VALUE_HOLDS_STRING (value))
    return g_value_dup_string (value);
  g_value_init (&text, G_TYPE_STRING);
  if (!g_value_transform (value, &text))
    return NULL;
  return g_value_dup_string (&text);
}

static MienCameraSource *
source_from_device (GstDevice *device)
{
  g_autoptr(GstStructure) props = gst_device_get_properties (device);
  g_autofree char *name = gst_device_get_display_name (device);
  g_autofree char *serial = NULL;
  g_autofree char *path = NULL;
  g_autofree char *id = NULL;

  if (props == NULL)
    return NULL;
  /* Only PipeWire's provider gives object serials; its devices may also carry the V4L2 path
   * of the camera behind them, but inside a sandbox only PipeWire can open it. */
  serial = structure_get_text (props, "object.serial");
  if (serial != NULL)
    id = g_strconcat ("pipewire:", serial, NULL);
  else
    {
      path = structure_get_text (props, "api.v4l2.path");
      if (path == NULL)
        path = structure_get_text (props, "device.path");
      if (path != NULL)
        id = g_strconcat ("v4l2:", path, NULL);
    }
  if (id == NULL)
    return NULL;
  return camera_source_new (id, name != NULL ? name : id);
}

#endif /* MIEN_HAVE_CAMERA */

static void
mien_camera_dispose (GObject *object)
{
  MienCamera *self = MIEN_CAMERA (object);

  mien_camera_stop (self);
#ifdef MIEN_HAVE_CAMERA
  g_clear_pointer (&self->pipeline, gst_object_unref);
#endif
  if (self->func_destroy != NULL)
    self->func_destroy (self->func_data);
  self->func = NULL;
  self->func_data = NULL;
  self->func_destroy = NULL;
  G_OBJECT_CLASS (mien_camera_parent_class)->dispose (object);
}

static void
mien_camera_finalize (GObject *object)
{
  MienCamera *self = MIEN_CAMERA (object);

  g_free (self->source_id);
  if (self->portal_fd >= 0)
    g_close (self->portal_fd, NULL);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (mien_camera_parent_class)->finalize (object);
}

static void
mien_camera_class_init (MienCameraClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mien_camera_dispose;
  object_class->finalize = mien_camera_finalize;

  /* (const GError *error): on the main context that was thread-default at
   * mien_camera_new (); MIEN_CAMERA_ERROR_STREAM. */
  signals[SIGNAL_ERROR] =
    g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
mien_camera_init (MienCamera *self)
{
  self->portal_fd = -1;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
}

gboolean
mien_camera_is_supported (void)
{
#ifdef MIEN_HAVE_CAMERA
  return ensure_gstreamer (NULL);
#else
  return FALSE;
#endif
}

#ifdef MIEN_HAVE_CAMERA
/* The cameras GStreamer's device monitor sees now, each once. */
static void
add_device_cameras (GPtrArray *sources)
{
  g_autoptr(GstDeviceMonitor) monitor = gst_device_monitor_new ();
  GList *devices;
  gboolean started;

  gst_device_monitor_add_filter (monitor, "Video/Source", NULL);
  /* Started only for the time of one look: providers that hide others (PipeWire hides V4L2,
   * whose cameras it also offers) take effect, and no monitoring thread is left running. */
  started = gst_device_monitor_start (monitor);
  devices = gst_device_monitor_get_devices (monitor);
  for (GList *l = devices; l != NULL; l = l->next)
    {
      MienCameraSource *source = source_from_device (l->data);
      gboolean seen = FALSE;

      if (source == NULL)
        continue;
      for (guint i = 0; i < sources->len && !seen; i++)
        seen = g_str_equal (((MienCameraSource *) sources->pdata[i])->id, source->id);
      if (seen)
        mien_camera_source_free (source);
      else
        g_ptr_array_add (sources, source);
    }
  g_list_free_full (devices, gst_object_unref);
  if (started)
    gst_device_monitor_stop (monitor);
}
#endif

GPtrArray *
mien_camera_list_sources (void)
{
  GPtrArray *sources = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_camera_source_free);

#ifdef MIEN_HAVE_CAMERA
  if (!ensure_gstreamer (NULL))
    return sources;
  /* Inside a sandbox the monitor sees no camera: the portal is the way to one. */
  if (mien_camera_portal_wanted ())
    g_ptr_array_add (sources, camera_source_new ("portal",
                                                 _("Camera (through the camera portal)")));
  else
    add_device_cameras (sources);
  g_ptr_array_add (sources, camera_source_new ("test", _("Test pattern")));
#endif
  return sources;
}

/* `portal_fd`: the "portal" source's PipeWire remote, taken (closed on failure); -1 else. */
static MienCamera *
camera_new (const char  *source_id,
            int          width,
            int          height,
            int          portal_fd,
            GError     **error)
{
#ifdef MIEN_HAVE_CAMERA
  g_autoptr(MienCamera) self = g_object_new (MIEN_TYPE_CAMERA, NULL);

  self->portal_fd = portal_fd;
  if (!ensure_gstreamer (error))
    return NULL;
  self->source_id = g_strdup (source_id);
  self->width = width;
  self->height = height;
  self->context = g_main_context_ref_thread_default ();
  if (!build_pipeline (self, error))
    return NULL;
  return g_steal_pointer (&self);
#else
  if (portal_fd >= 0)
    g_close (portal_fd, NULL);
  g_set_error (error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_UNSUPPORTED,
               _("This build of Mien has no camera support (GStreamer was not found)"));
  return NULL;
#endif
}

MienCamera *
mien_camera_new (const char  *source_id,
                 int          width,
                 int          height,
                 GError     **error)
{
  g_return_val_if_fail (source_id != NULL, NULL);
  g_return_val_if_fail (width >= 0 && height >= 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_str_equal (source_id, "portal"))
    {
      g_set_error_literal (error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_SOURCE,
                           _("The camera portal asks the user first: open “portal” with "
                             "mien_camera_new_async ()"));
      return NULL;
    }
  return camera_new (source_id, width, height, -1, error);
}

/* The size asked for while the portal answers. */
typedef struct {
  int width;
  int height;
} NewData;

/* `camera` or, when NULL, `error`: both taken. */
static void
return_camera (GTask      *task,
               MienCamera *camera,
               GError     *error)
{
  if (camera == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, camera, g_object_unref);
}

static void
portal_opened_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  NewData *data = g_task_get_task_data (task);
  GError *error = NULL;
  MienCamera *camera;
  int fd;

  fd = mien_camera_portal_open_finish (result, &error);
  if (fd < 0)
    {
      g_task_return_error (task, error);
      return;
    }
  camera = camera_new ("portal", data->width, data->height, fd, &error);
  return_camera (task, camera, error);
}

/* Where the portal is used, a device's own id (one saved from outside the sandbox, or passed on
 * the command line) cannot be opened: the devices are hidden there, and the camera is the one
 * the portal hands out. */
static gboolean
goes_through_portal (const char *source_id)
{
  if (g_str_equal (source_id, "portal"))
    return TRUE;
  return (g_str_has_prefix (source_id, "v4l2:") || g_str_has_prefix (source_id, "pipewire:")) &&
         mien_camera_portal_wanted ();
}

void
mien_camera_new_async (const char          *source_id,
                       int                  width,
                       int                  height,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  MienCamera *camera;
  NewData *data;

  g_return_if_fail (source_id != NULL);
  g_return_if_fail (width >= 0 && height >= 0);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mien_camera_new_async);
  g_task_set_name (task, "[mien] camera");
  if (goes_through_portal (source_id))
    {
      data = g_new0 (NewData, 1);
      data->width = width;
      data->height = height;
      g_task_set_task_data (task, data, g_free);
      mien_camera_portal_open_async (cancellable, portal_opened_cb, g_steal_pointer (&task));
      return;
    }
  /* Quick (no device is opened before start): built here, returned on the next iteration. */
  camera = mien_camera_new (source_id, width, height, &error);
  return_camera (task, camera, error);
}

MienCamera *
mien_camera_new_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, mien_camera_new_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
mien_camera_set_frame_func (MienCamera          *self,
                            MienCameraFrameFunc  func,
                            gpointer             user_data,
                            GDestroyNotify       destroy)
{
  gpointer old_data;
  GDestroyNotify old_destroy;

  g_return_if_fail (MIEN_IS_CAMERA (self));

  g_mutex_lock (&self->lock);
  old_data = self->func_data;
  old_destroy = self->func_destroy;
  self->func = func;
  self->func_data = user_data;
  self->func_destroy = destroy;
  /* A frame being delivered may still use the old data. */
  while (self->n_in_callback > 0)
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);

  if (old_destroy != NULL)
    old_destroy (old_data);
}

gboolean
mien_camera_start (MienCamera  *self,
                   GError     **error)
{
  g_return_val_if_fail (MIEN_IS_CAMERA (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

#ifdef MIEN_HAVE_CAMERA
  {
    g_autoptr(GstBus) bus = gst_element_get_bus (self->pipeline);
    GstStateChangeReturn ret;

    g_mutex_lock (&self->lock);
    if (self->running)
      {
        g_mutex_unlock (&self->lock);
        return TRUE;
      }
    self->running = TRUE;
    g_mutex_unlock (&self->lock);

    if (self->bus_source == NULL)
      {
        GWeakRef *weak = g_new0 (GWeakRef, 1);

        g_weak_ref_init (weak, self);
        self->bus_source = gst_bus_create_watch (bus);
        g_source_set_callback (self->bus_source, (GSourceFunc) bus_cb, weak, weak_ref_free);
        g_source_set_static_name (self->bus_source, "[mien] camera bus");
        g_source_attach (self->bus_source, self->context);
      }

    ret = gst_element_set_state (self->pipeline, GST_STATE_PLAYING);
    if (ret == GST_STATE_CHANGE_FAILURE)
      {
        /* The element that failed (a busy camera, say) says why on the bus; this caller
         * wants it now rather than as a signal. */
        g_autoptr(GstMessage) message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
        g_autoptr(GError) gst_error = NULL;

        if (message != NULL)
          gst_message_parse_error (message, &gst_error, NULL);
        g_set_error (error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_SOURCE,
                     _("Cannot start %s: %s"), self->source_id,
                     gst_error != NULL ? gst_error->message : _("the pipeline refused to play"));
        mien_camera_stop (self);
        return FALSE;
      }
    return TRUE;
  }
#else
  g_set_error (error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_UNSUPPORTED,
               _("This build of Mien has no camera support (GStreamer was not found)"));
  return FALSE;
#endif
}

void
mien_camera_stop (MienCamera *self)
{
  g_return_if_fail (MIEN_IS_CAMERA (self));

  g_mutex_lock (&self->lock);
  self->running = FALSE;
  g_mutex_unlock (&self->lock);

#ifdef MIEN_HAVE_CAMERA
  /* Going to NULL is synchronous: it returns once the streaming threads have stopped, and
   * the pipeline flushes its bus, so no stale error follows. */
  if (self->pipeline != NULL)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
  if (self->bus_source != NULL)
    {
      g_source_destroy (self->bus_source);
      g_clear_pointer (&self->bus_source, g_source_unref);
    }
#endif

  /* Belt and braces: a callback that got past the running check before it was cleared. */
  g_mutex_lock (&self->lock);
  while (self->n_in_callback > 0)
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);
}

const char *
mien_camera_get_source_id (MienCamera *self)
{
  g_return_val_if_fail (MIEN_IS_CAMERA (self), NULL);
  return self->source_id;
}

guint64
mien_camera_get_n_frames (MienCamera *self)
{
  guint64 n;

  g_return_val_if_fail (MIEN_IS_CAMERA (self), 0);

  g_mutex_lock (&self->lock);
  n = self->n_frames;
  g_mutex_unlock (&self->lock);
  return n;
}

int
mien_camera_get_pipewire_fd (MienCamera *self)
{
  int fd = -1;

  g_return_val_if_fail (MIEN_IS_CAMERA (self), -1);

#ifdef MIEN_HAVE_CAMERA
  {
    g_autoptr(GstElement) src = gst_bin_get_by_name (GST_BIN (self->pipeline), "src");

    if (src != NULL && g_object_class_find_property (G_OBJECT_GET_CLASS (src), "fd") != NULL)
      g_object_get (src, "fd", &fd, NULL);
  }
#endif
  return fd;
}
