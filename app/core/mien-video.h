/* mien-video.h — every frame of a video file, in order, as fast as it decodes.
 *
 * For offline work on a file (mien-cli predict --faces): unlike MienCamera, which paces a file
 * in real time and drops what a slow consumer misses, a reader is pulled one frame at a time
 * and never drops one. A GStreamer pipeline (uridecodebin ! videoconvert ! appsink) decodes
 * whatever format the installed plugins know; the video stream only, a sound track is ignored.
 *
 * Built only when GStreamer is found (MIEN_HAVE_CAMERA in config.h); without it
 * mien_video_reader_open () fails with MIEN_VIDEO_ERROR_UNSUPPORTED.
 *
 * A reader belongs to one thread at a time.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/* A domain of its own rather than MIEN_CAMERA_ERROR's: a front end handed a list of files
 * wants to tell a file that is not a video (try it as an image, or skip it) from one that
 * is missing or breaks half way, which the camera's SOURCE/STREAM codes do not separate. */
#define MIEN_VIDEO_ERROR (mien_video_error_quark ())
GQuark mien_video_error_quark (void);

typedef enum {
  MIEN_VIDEO_ERROR_UNSUPPORTED,  /* built without GStreamer, or a GStreamer element is missing */
  MIEN_VIDEO_ERROR_NOT_FOUND,    /* no such file (or not a regular file) */
  MIEN_VIDEO_ERROR_NOT_VIDEO,    /* not a video this build decodes: another kind of file, an
                                  * unknown format, no video stream, or corrupt from its start */
  MIEN_VIDEO_ERROR_DECODE,       /* a decoding error after some frames (GStreamer's message) */
} MienVideoError;

#define MIEN_TYPE_VIDEO_READER (mien_video_reader_get_type ())
G_DECLARE_FINAL_TYPE (MienVideoReader, mien_video_reader, MIEN, VIDEO_READER, GObject)

/* Opens `path` and decodes up to its first frame, so that a file that is not a video fails
 * here (MIEN_VIDEO_ERROR_NOT_VIDEO, with GStreamer's message) rather than at the first
 * mien_video_reader_next (). A still image that GStreamer decodes (a PNG, say) opens as a
 * one-frame video: use mien_video_is_video_file () to choose between the two. */
MienVideoReader *mien_video_reader_open              (const char       *path,
                                                      GError          **error);
/* The next frame as an RGB GdkPixbuf (no alpha, owned by the caller) and its timestamp in µs
 * (-1 when it has none; `pts_us` may be NULL). At the end: NULL without an error, and again
 * on every later call. On a decoding error: NULL with MIEN_VIDEO_ERROR_DECODE, and then NULL
 * without an error (the reader is at its end). */
GdkPixbuf       *mien_video_reader_next              (MienVideoReader  *self,
                                                      gint64           *pts_us,
                                                      GError          **error);
const char      *mien_video_reader_get_path          (MienVideoReader  *self);
int              mien_video_reader_get_width         (MienVideoReader  *self);
int              mien_video_reader_get_height        (MienVideoReader  *self);
/* Frames per second as the container declares it; 0 when it does not (variable rate). */
double           mien_video_reader_get_fps           (MienVideoReader  *self);
/* The 0-based index of the frame the last mien_video_reader_next () returned; -1 before the
 * first. */
gint64           mien_video_reader_get_frame_index   (MienVideoReader  *self);
/* In µs; -1 when the container does not say. */
gint64           mien_video_reader_get_duration      (MienVideoReader  *self);

/* Whether `path` is a video by its content type (its name and first bytes; the file need not
 * be decodable, and this needs no GStreamer): for front ends that take images and videos. */
gboolean         mien_video_is_video_file            (const char       *path);

G_END_DECLS
