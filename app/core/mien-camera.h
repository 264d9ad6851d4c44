/* mien-camera.h — video frames from a camera, a file or a test pattern, through GStreamer.
 *
 * A source is named by an id:
 *   "test"             videotestsrc (a moving pattern; for demos without a camera)
 *   "file:PATH"        an image (shown as a still stream) or a video file, looped
 *   "v4l2:/dev/videoN" a V4L2 camera
 *   "pipewire:SERIAL"  a PipeWire camera, as GStreamer's device monitor lists it
 *   "portal"           the camera through xdg-desktop-portal's Camera portal (inside a sandbox,
 *                      where the devices are hidden): the user is asked, then PipeWire's
 *                      connection is opened for Mien. Only through mien_camera_new_async ().
 * Every source ends in an appsink that hands out packed RGB frames (3 bytes per pixel) at the
 * requested size (or the source's own when 0), with max-buffers=1 drop=true so that a slow
 * consumer drops frames rather than queueing them.
 *
 * Built only when GStreamer is found (MIEN_HAVE_CAMERA in config.h); without it every function
 * that can fail fails with MIEN_CAMERA_ERROR_UNSUPPORTED.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>

G_BEGIN_DECLS

#define MIEN_CAMERA_ERROR (mien_camera_error_quark ())
GQuark mien_camera_error_quark (void);

typedef enum {
  MIEN_CAMERA_ERROR_UNSUPPORTED,  /* built without GStreamer, or a GStreamer element is missing */
  MIEN_CAMERA_ERROR_SOURCE,       /* an unknown source id, a missing file, a busy/absent device */
  MIEN_CAMERA_ERROR_STREAM,       /* an error while streaming (the bus's message) */
  MIEN_CAMERA_ERROR_DENIED,       /* the camera portal: the user (or the system) said no */
  MIEN_CAMERA_ERROR_NO_PORTAL,    /* the camera portal is not on the session bus */
} MienCameraError;

typedef struct {
  char *id;    /* as above */
  char *name;  /* for people: "Integrated Camera", "Test pattern" */
} MienCameraSource;

void              mien_camera_source_free   (MienCameraSource *source);

/* Whether this build has camera support at all. */
gboolean          mien_camera_is_supported  (void);
/* The cameras GstDeviceMonitor sees now (Video/Source), then the test source last. When the
 * portal is used (inside a Flatpak sandbox, or MIEN_CAMERA_PORTAL=1; =0 never), the one
 * "portal" source instead of the cameras: the monitor sees none there. */
GPtrArray        *mien_camera_list_sources  (void);

/* Called on a GStreamer streaming thread for every frame that arrives. `frame` is an RGB
 * GdkPixbuf (no alpha) that the callee may keep (ref it); `pts_us` is the frame's timestamp
 * (-1 when it has none). The function must not call mien_camera_stop () or
 * mien_camera_set_frame_func () (they wait for it). */
typedef void (*MienCameraFrameFunc) (GdkPixbuf *frame,
                                     gint64     pts_us,
                                     gpointer   user_data);

#define MIEN_TYPE_CAMERA (mien_camera_get_type ())
G_DECLARE_FINAL_TYPE (MienCamera, mien_camera, MIEN, CAMERA, GObject)

/* Builds the pipeline (not yet playing). `width`/`height` 0 keep the source's size. A source
 * that cannot be there (a "file:" that does not exist, a "v4l2:" device node that does not
 * exist, an unknown id) fails here with MIEN_CAMERA_ERROR_SOURCE; a missing GStreamer element
 * with MIEN_CAMERA_ERROR_UNSUPPORTED. A file that exists but does not decode fails later, as
 * the "error" signal. "portal" is refused (MIEN_CAMERA_ERROR_SOURCE): its dialog would block,
 * use mien_camera_new_async (). */
MienCamera       *mien_camera_new           (const char  *source_id,
                                             int          width,
                                             int          height,
                                             GError     **error);
/* As mien_camera_new (), for every source id; "portal" first asks the camera portal, which may
 * show a dialog for as long as the user takes. Where the portal is used (see
 * mien_camera_list_sources ()), a "v4l2:" or "pipewire:" id goes through it too, as "portal":
 * the devices themselves are hidden there. Its own errors: MIEN_CAMERA_ERROR_DENIED (the
 * message says how to allow it), MIEN_CAMERA_ERROR_NO_PORTAL (says what to install),
 * MIEN_CAMERA_ERROR_SOURCE (no camera). Cancelling closes the portal's dialog and fails with
 * G_IO_ERROR_CANCELLED. The callback runs on the thread-default main context of this call,
 * which is also where the camera's "error" signal is emitted. */
void              mien_camera_new_async     (const char           *source_id,
                                             int                   width,
                                             int                   height,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
MienCamera       *mien_camera_new_finish    (GAsyncResult         *result,
                                             GError              **error);
/* Replaces the frame function (any thread); the old `destroy` runs once no frame uses it. */
void              mien_camera_set_frame_func (MienCamera          *self,
                                              MienCameraFrameFunc  func,
                                              gpointer             user_data,
                                              GDestroyNotify       destroy);
/* Sets the pipeline playing (again, after a stop); a source that refuses to start (a busy
 * camera) fails here with MIEN_CAMERA_ERROR_SOURCE. Errors that come later are emitted as the
 * "error" signal (const GError *, MIEN_CAMERA_ERROR_STREAM) on the main context that was
 * thread-default at mien_camera_new (); the pipeline is left as it is (call stop). A video
 * file starts again at its end. */
gboolean          mien_camera_start         (MienCamera  *self,
                                             GError     **error);
/* Stops and waits until no frame callback runs any more. Idempotent. */
void              mien_camera_stop          (MienCamera  *self);
const char       *mien_camera_get_source_id (MienCamera  *self);
guint64           mien_camera_get_n_frames  (MienCamera  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienCameraSource, mien_camera_source_free)

G_END_DECLS
