/* mien-live-frames.h — the Live page's frames as one paintable.
 *
 * The picture keeps one paintable whose contents change, rather than a new texture per frame:
 * a new paintable makes the picture measure itself again (and the window lay out again) at
 * every frame, a changed one only redraws it.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define MIEN_TYPE_LIVE_FRAMES (mien_live_frames_get_type ())
G_DECLARE_FINAL_TYPE (MienLiveFrames, mien_live_frames, MIEN, LIVE_FRAMES, GObject)

MienLiveFrames *mien_live_frames_new         (void);
/* `texture` NULL: nothing. */
void            mien_live_frames_set_texture (MienLiveFrames *self,
                                              GdkTexture     *texture);

G_END_DECLS
