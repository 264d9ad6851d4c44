/* mien-gst-private.h — what the camera and the video reader share of GStreamer.
 *
 * Private to libmien (hidden symbols, defined in mien-camera.c); only included when
 * MIEN_HAVE_CAMERA is set, since it needs GStreamer's headers.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gst/gst.h>

G_BEGIN_DECLS

/* Initialises GStreamer once and checks for the elements every pipeline of ours ends in
 * (videoconvert, videoscale, capsfilter, appsink). Returns NULL when all is well, or why not
 * (translated, owned by the function, valid forever): each caller wraps it in its own error
 * domain. */
G_GNUC_INTERNAL
const char *mien_gst_init_failure   (void);

G_GNUC_INTERNAL
gboolean    mien_gst_has_element    (const char *name);

/* A copy of an appsink sample whose caps are video/x-raw,format=RGB as an RGB GdkPixbuf
 * (no alpha), or NULL when the sample is not that. `pts_us` (may be NULL) gets the buffer's
 * timestamp in µs, -1 when it has none. */
G_GNUC_INTERNAL
GdkPixbuf  *mien_gst_sample_to_pixbuf (GstSample *sample,
                                       gint64    *pts_us);

G_END_DECLS
