/* mien-video.c — a video file's frames pulled one by one from an appsink. */
#include "config.h"

#include <glib/gi18n-lib.h>

#ifdef MIEN_HAVE_CAMERA
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "mien-gst-private.h"
#endif

#include "mien-input.h"
#include "mien-video.h"

/* How long one wait for a frame or a bus message lasts before the other is looked at. */
#define POLL_INTERVAL (50 * GST_MSECOND)

G_DEFINE_QUARK (mien-video-error-quark, mien_video_error)

struct _MienVideoReader
{
  GObject      parent_instance;
  char        *path;
  int          width;
  int          height;
  double       fps;
  gint64       duration_us;
  gint64       frame_index;
  gboolean     at_end;
#ifdef MIEN_HAVE_CAMERA
  GstElement  *pipeline;
  GstAppSink  *sink;
  GstBus      *bus;
  GstElement  *convert;
  gint         no_video;   /* atomic: the decoder exposed all its streams, none of them video */
  GMutex       lock;
  char        *video_type; /* under lock: the last coded video stream type decodebin saw */
#endif
};

G_DEFINE_FINAL_TYPE (MienVideoReader, mien_video_reader, G_TYPE_OBJECT)

static void
mien_video_reader_dispose (GObject *object)
{
#ifdef MIEN_HAVE_CAMERA
  MienVideoReader *self = MIEN_VIDEO_READER (object);

  /* Synchronous: the streaming threads have stopped when it returns. */
  if (self->pipeline != NULL)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
  g_clear_object (&self->sink);
  g_clear_object (&self->convert);
  g_clear_object (&self->bus);
  g_clear_pointer (&self->pipeline, gst_object_unref);
#endif
  G_OBJECT_CLASS (mien_video_reader_parent_class)->dispose (object);
}

static void
mien_video_reader_finalize (GObject *object)
{
  MienVideoReader *self = MIEN_VIDEO_READER (object);

  g_free (self->path);
#ifdef MIEN_HAVE_CAMERA
  g_free (self->video_type);
  g_mutex_clear (&self->lock);
#endif
  G_OBJECT_CLASS (mien_video_reader_parent_class)->finalize (object);
}

static void
mien_video_reader_class_init (MienVideoReaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mien_video_reader_dispose;
  object_class->finalize = mien_video_reader_finalize;
}

static void
mien_video_reader_init (MienVideoReader *self)
{
  self->frame_index = -1;
  self->duration_us = -1;
#ifdef MIEN_HAVE_CAMERA
  g_mutex_init (&self->lock);
#endif
}

#ifdef MIEN_HAVE_CAMERA

/* On a streaming thread, once the decoder has exposed every stream it will. Without a video
 * stream (a sound file) nothing reaches the appsink and the pipeline would wait for a first
 * frame forever; this tells open () to give up instead. */
static void
no_more_pads_cb (GstElement *decoder,
                 gpointer    user_data)
{
  MienVideoReader *self = user_data;
  g_autoptr(GstPad) pad = gst_element_get_static_pad (self->convert, "sink");

  if (!gst_pad_is_linked (pad))
    g_atomic_int_set (&self->no_video, 1);
}

/* On a streaming thread, for every stream decodebin looks for a decoder or parser for (but
 * not for the file itself, typefind's pad, whose type names the container). Only video is
 * asked for, so a sound track or subtitles end as streams that nothing decodes, and
 * decodebin's error for those is the same as for a video codec without its plugin ("Your
 * GStreamer installation is missing a plug-in"): wrong for a sound file, and silent about
 * which codec a video needs. What is kept here lets open () say which it was. */
static gboolean
autoplug_continue_cb (GstElement *decoder,
                      GstPad     *pad,
                      GstCaps    *caps,
                      gpointer    user_data)
{
  MienVideoReader *self = user_data;
  g_autoptr(GstElement) parent = gst_pad_get_parent_element (pad);
  GstElementFactory *factory = parent != NULL ? gst_element_get_factory (parent) : NULL;
  const char *name;

  if (factory != NULL && g_str_equal (GST_OBJECT_NAME (factory), "typefind"))
    return TRUE;
  if (gst_caps_is_empty (caps) || gst_caps_is_any (caps))
    return TRUE;
  name = gst_structure_get_name (gst_caps_get_structure (caps, 0));
  if (g_str_has_prefix (name, "video/") || g_str_has_prefix (name, "image/"))
    {
      g_mutex_lock (&self->lock);
      g_free (self->video_type);
      self->video_type = g_strdup (name);
      g_mutex_unlock (&self->lock);
    }
  return TRUE;
}

/* The first error message on the bus, if any; the other messages (state changes, stream
 * starts, tags) are dropped so that the bus, which nobody watches, does not grow. */
static GError *
pop_bus_error (MienVideoReader *self)
{
  GstMessage *message;
  GError *gst_error = NULL;

  while (gst_error == NULL && (message = gst_bus_pop (self->bus)) != NULL)
    {
      g_autofree char *debug = NULL;

      if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
        {
          gst_message_parse_error (message, &gst_error, &debug);
          /* For developers only: element internals and source lines. */
          g_debug ("%s: %s (%s)", self->path, gst_error->message, debug != NULL ? debug : "");
        }
      else if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_WARNING)
        {
          g_autoptr(GError) warning = NULL;

          gst_message_parse_warning (message, &warning, &debug);
          g_debug ("%s: %s (%s)", self->path, warning->message, debug != NULL ? debug : "");
        }
      gst_message_unref (message);
    }
  return gst_error;
}

static gboolean
build_pipeline (MienVideoReader  *self,
                GError          **error)
{
  static const char * const needed[] = { "uridecodebin", NULL };
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GstElement) src = NULL;
  g_autoptr(GstCaps) video_only = NULL;
  g_autofree char *absolute = NULL;
  g_autofree char *uri = NULL;

  for (guint i = 0; needed[i] != NULL; i++)
    if (!mien_gst_has_element (needed[i]))
      {
        g_set_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_UNSUPPORTED,
                     _("The GStreamer element “%s” needed to read videos is not installed"),
                     needed[i]);
        return FALSE;
      }

  absolute = g_canonicalize_filename (self->path, NULL);
  uri = g_filename_to_uri (absolute, NULL, &local_error);
  if (uri == NULL)
    {
      g_set_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_NOT_FOUND, "%s: %s",
                   self->path, local_error->message);
      return FALSE;
    }

  /* sync=false: as fast as it decodes, not at the video's pace. drop=false with a short
   * queue: the decoder waits for the consumer instead of losing frames, and memory stays at
   * a few frames whatever the video's length. */
  self->pipeline = gst_parse_launch_full ("uridecodebin name=src expose-all-streams=false ! "
                                          "videoconvert name=convert ! "
                                          "video/x-raw,format=RGB ! "
                                          "appsink name=sink sync=false max-buffers=4 "
                                          "drop=false enable-last-sample=false",
                                          NULL, GST_PARSE_FLAG_FATAL_ERRORS, &local_error);
  if (self->pipeline == NULL)
    {
      g_set_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_UNSUPPORTED,
                   _("Cannot build the pipeline to read %s: %s"), self->path,
                   local_error->message);
      return FALSE;
    }
  gst_object_ref_sink (self->pipeline);

  src = gst_bin_get_by_name (GST_BIN (self->pipeline), "src");
  self->convert = gst_bin_get_by_name (GST_BIN (self->pipeline), "convert");
  self->sink = GST_APP_SINK (gst_bin_get_by_name (GST_BIN (self->pipeline), "sink"));
  self->bus = gst_element_get_bus (self->pipeline);
  g_assert (src != NULL && self->convert != NULL && self->sink != NULL);

  /* Decode the video only: a sound track would be decoded for nothing. */
  video_only = gst_caps_from_string ("video/x-raw(ANY)");
  g_object_set (src, "uri", uri, "caps", video_only, NULL);
  /* Connected after gst_parse's own handler, which links the video pad when it appears. */
  g_signal_connect (src, "no-more-pads", G_CALLBACK (no_more_pads_cb), self);
  g_signal_connect (src, "autoplug-continue", G_CALLBACK (autoplug_continue_cb), self);
  return TRUE;
}

/* Decodes up to the first frame (the appsink's preroll), so that open () knows whether this
 * is a video at all, and learns its size and rate from the negotiated caps. */
static gboolean
preroll (MienVideoReader  *self,
         GError          **error)
{
  g_autoptr(GError) gst_error = NULL;
  g_autoptr(GstPad) pad = NULL;
  g_autoptr(GstCaps) caps = NULL;
  GstVideoInfo info;
  gint64 duration;
  gboolean done = FALSE;

  if (gst_element_set_state (self->pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE)
    gst_error = pop_bus_error (self);

  while (!done && gst_error == NULL)
    {
      g_autoptr(GstMessage) message =
        gst_bus_timed_pop_filtered (self->bus, POLL_INTERVAL,
                                    GST_MESSAGE_ERROR | GST_MESSAGE_ASYNC_DONE);

      if (message == NULL)
        {
          if (g_atomic_int_get (&self->no_video))
            {
              g_set_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_NOT_VIDEO,
                           _("%s has no video stream"), self->path);
              return FALSE;
            }
          continue;
        }
      if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
        {
          g_autofree char *debug = NULL;

          gst_message_parse_error (message, &gst_error, &debug);
          g_debug ("%s: %s (%s)", self->path, gst_error->message, debug != NULL ? debug : "");
        }
      else if (GST_MESSAGE_SRC (message) == GST_OBJECT (self->pipeline))
        done = TRUE;
    }
  if (gst_error != NULL &&
      (g_error_matches (gst_error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN) ||
       g_error_matches (gst_error, GST_STREAM_ERROR, GST_STREAM_ERROR_CODEC_NOT_FOUND)))
    {
      g_autofree char *video_type = NULL;

      g_mutex_lock (&self->lock);
      video_type = g_strdup (self->video_type);
      g_mutex_unlock (&self->lock);
      if (video_type != NULL)
        {
          g_set_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_UNSUPPORTED,
                       _("Cannot decode %s: no GStreamer plugin for its video format (%s) "
                         "is installed"), self->path, video_type);
          return FALSE;
        }
      g_set_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_NOT_VIDEO,
                   _("%s has no video stream"), self->path);
      return FALSE;
    }
  if (gst_error != NULL || !done)
    {
      g_set_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_NOT_VIDEO,
                   _("%s is not a video that can be decoded: %s"), self->path,
                   gst_error != NULL ? gst_error->message : _("the pipeline refused to start"));
      return FALSE;
    }

  /* A video stream that ends before its first frame prerolls on its end, without caps. */
  pad = gst_element_get_static_pad (GST_ELEMENT (self->sink), "sink");
  caps = gst_pad_get_current_caps (pad);
  if (caps == NULL || !gst_video_info_from_caps (&info, caps))
    {
      g_set_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_NOT_VIDEO,
                   _("%s has no video frames"), self->path);
      return FALSE;
    }
  self->width = GST_VIDEO_INFO_WIDTH (&info);
  self->height = GST_VIDEO_INFO_HEIGHT (&info);
  if (GST_VIDEO_INFO_FPS_N (&info) > 0 && GST_VIDEO_INFO_FPS_D (&info) > 0)
    self->fps = (double) GST_VIDEO_INFO_FPS_N (&info) / GST_VIDEO_INFO_FPS_D (&info);
  if (gst_element_query_duration (self->pipeline, GST_FORMAT_TIME, &duration) &&
      GST_CLOCK_TIME_IS_VALID (duration))
    self->duration_us = GST_TIME_AS_USECONDS (duration);

  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_autoptr(GError) play_error = pop_bus_error (self);

      g_set_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_DECODE,
                   _("Cannot play %s: %s"), self->path,
                   play_error != NULL ? play_error->message : _("the pipeline refused to play"));
      return FALSE;
    }
  return TRUE;
}

#endif /* MIEN_HAVE_CAMERA */

MienVideoReader *
mien_video_reader_open (const char  *path,
                        GError     **error)
{
#ifdef MIEN_HAVE_CAMERA
  g_autoptr(MienVideoReader) self = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *failure;
#endif

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

#ifdef MIEN_HAVE_CAMERA
  failure = mien_gst_init_failure ();
  if (failure != NULL)
    {
      g_set_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_UNSUPPORTED,
                   _("Video support is unavailable: %s"), failure);
      return NULL;
    }
  /* Checked here: GStreamer's own message for a missing file ("Resource not found") does not
   * say which file, and this one needs no pipeline; a FIFO or a device is named as what it is. */
  if (!mien_input_check_regular (path, &local_error))
    {
      g_set_error_literal (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_NOT_FOUND,
                           local_error->message);
      return NULL;
    }

  self = g_object_new (MIEN_TYPE_VIDEO_READER, NULL);
  self->path = g_strdup (path);
  if (!build_pipeline (self, error) || !preroll (self, error))
    return NULL;
  return g_steal_pointer (&self);
#else
  g_set_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_UNSUPPORTED,
               _("This build of Mien cannot read videos (GStreamer was not found)"));
  return NULL;
#endif
}

GdkPixbuf *
mien_video_reader_next (MienVideoReader  *self,
                        gint64           *pts_us,
                        GError          **error)
{
  g_return_val_if_fail (MIEN_IS_VIDEO_READER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (pts_us != NULL)
    *pts_us = -1;
  if (self->at_end)
    return NULL;

#ifdef MIEN_HAVE_CAMERA
  while (TRUE)
    {
      g_autoptr(GstSample) sample = gst_app_sink_try_pull_sample (self->sink, POLL_INTERVAL);
      g_autoptr(GError) gst_error = NULL;

      if (sample != NULL)
        {
          GdkPixbuf *pixbuf = mien_gst_sample_to_pixbuf (sample, pts_us);

          /* The caps filter makes every sample RGB: anything else is a bug of ours. */
          g_return_val_if_fail (pixbuf != NULL, NULL);
          self->frame_index++;
          return pixbuf;
        }
      /* No frame within the interval: the end, an error, or a slow decoder (wait more).
       * Errors first: a failed demuxer may also push an end of stream. */
      gst_error = pop_bus_error (self);
      if (gst_error != NULL)
        {
          /* Through a string: gettext cannot see past G_GINT64_FORMAT. */
          g_autofree char *n_frames = g_strdup_printf ("%" G_GINT64_FORMAT,
                                                       self->frame_index + 1);

          self->at_end = TRUE;
          g_set_error (error, MIEN_VIDEO_ERROR, MIEN_VIDEO_ERROR_DECODE,
                       _("Decoding %s failed after %s frames: %s"),
                       self->path, n_frames, gst_error->message);
          return NULL;
        }
      if (gst_app_sink_is_eos (self->sink))
        {
          self->at_end = TRUE;
          return NULL;
        }
    }
#else
  /* open () never returns a reader in such a build. */
  g_assert_not_reached ();
  return NULL;
#endif
}

const char *
mien_video_reader_get_path (MienVideoReader *self)
{
  g_return_val_if_fail (MIEN_IS_VIDEO_READER (self), NULL);
  return self->path;
}

int
mien_video_reader_get_width (MienVideoReader *self)
{
  g_return_val_if_fail (MIEN_IS_VIDEO_READER (self), 0);
  return self->width;
}

int
mien_video_reader_get_height (MienVideoReader *self)
{
  g_return_val_if_fail (MIEN_IS_VIDEO_READER (self), 0);
  return self->height;
}

double
mien_video_reader_get_fps (MienVideoReader *self)
{
  g_return_val_if_fail (MIEN_IS_VIDEO_READER (self), 0);
  return self->fps;
}

gint64
mien_video_reader_get_frame_index (MienVideoReader *self)
{
  g_return_val_if_fail (MIEN_IS_VIDEO_READER (self), -1);
  return self->frame_index;
}

gint64
mien_video_reader_get_duration (MienVideoReader *self)
{
  g_return_val_if_fail (MIEN_IS_VIDEO_READER (self), -1);
  return self->duration_us;
}

gboolean
mien_video_is_video_file (const char *path)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFileInputStream) stream = NULL;
  g_autofree char *content_type = NULL;
  g_autofree char *mime_type = NULL;
  guchar head[4096];
  gssize n_read;

  g_return_val_if_fail (path != NULL, FALSE);

  /* The first bytes too, not only the name: a camera's clip may have no or a wrong
   * extension, and a text file named .avi is not a video. */
  file = g_file_new_for_path (path);
  stream = g_file_read (file, NULL, NULL);
  if (stream == NULL)
    return FALSE;
  n_read = g_input_stream_read (G_INPUT_STREAM (stream), head, sizeof head, NULL, NULL);
  if (n_read < 0)
    return FALSE;
  content_type = g_content_type_guess (path, head, (gsize) n_read, NULL);
  mime_type = g_content_type_get_mime_type (content_type);
  return mime_type != NULL && g_str_has_prefix (mime_type, "video/");
}
