/* mien-camera-portal.h — the camera through xdg-desktop-portal's Camera portal.
 *
 * Inside a sandbox (Flatpak) the camera devices are hidden; the portal asks the user, then hands
 * out a PipeWire connection on which only the cameras are visible. mien-camera.c uses this for
 * its "portal" source. Private to libmien (not installed), plain GDBus on the session bus.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Whether cameras are offered through the portal: MIEN_CAMERA_PORTAL=1 asks for it, =0 forces
 * the direct path (GStreamer's devices); unset, the portal is used inside a Flatpak sandbox. */
gboolean mien_camera_portal_wanted       (void);

/* Asks the portal for the camera (the user may be shown a dialog, however long they take),
 * then opens the PipeWire remote. Errors: MIEN_CAMERA_ERROR_NO_PORTAL (no portal on the session
 * bus, or one without the Camera interface), MIEN_CAMERA_ERROR_SOURCE (no camera present, or
 * the portal failed), MIEN_CAMERA_ERROR_DENIED (the user or the system refused),
 * G_IO_ERROR_CANCELLED (the request is closed, and its dialog with it). */
void     mien_camera_portal_open_async   (GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
/* The PipeWire remote's file descriptor, owned by the caller; -1 on error. */
int      mien_camera_portal_open_finish  (GAsyncResult         *result,
                                          GError              **error);

G_END_DECLS
