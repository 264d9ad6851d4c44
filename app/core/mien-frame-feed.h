/* mien-frame-feed.h — a camera's frames, to a predictor and to a display, without falling behind.
 *
 * A camera's streaming thread pushes every frame. The feed hands it to its MienFramePredictor
 * (if any; the predictor keeps only the newest frame itself) and keeps it in a one-frame mailbox
 * for the main context the feed was created on: at most one delivery is queued there, and a
 * frame that arrives before it runs replaces the one waiting, so a busy main loop shows fewer
 * frames instead of falling behind. The feed holds no GTK: front ends draw what "frame" gives.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>

#include "mien-camera.h"
#include "mien-frame-predictor.h"

G_BEGIN_DECLS

#define MIEN_TYPE_FRAME_FEED (mien_frame_feed_get_type ())
G_DECLARE_FINAL_TYPE (MienFrameFeed, mien_frame_feed, MIEN, FRAME_FEED, GObject)

/* Delivers on the thread-default main context of the caller. */
MienFrameFeed      *mien_frame_feed_new            (void);
/* The predictor frames go to from now on (NULL: none); returns the previous one (transfer
 * full), for the caller to stop. Thread-safe. */
MienFramePredictor *mien_frame_feed_swap_predictor (MienFrameFeed      *self,
                                                    MienFramePredictor *predictor);
/* From any thread. After mien_frame_feed_stop (), does nothing. */
void                mien_frame_feed_push           (MienFrameFeed      *self,
                                                    GdkPixbuf          *frame);
/* Sends `camera`'s frames to the feed (the camera holds a reference to it). */
void                mien_frame_feed_attach         (MienFrameFeed      *self,
                                                    MienCamera         *camera);
/* No frame is pushed or delivered any more; returns the predictor (transfer full, may be
 * NULL), for the caller to stop. Idempotent. */
MienFramePredictor *mien_frame_feed_stop           (MienFrameFeed      *self);

/* Signal "frame" (GdkPixbuf *): the newest frame, on the feed's main context; never after
 * mien_frame_feed_stop (). */

/* Takes `camera` and `predictor` (either may be NULL) and stops them on a thread of their own:
 * the camera first, so that no frame is pushed any more, then the predictor (which waits for
 * the inference in progress); releases them there, and then calls `done` (may be NULL) on the
 * caller's thread-default main context, so that nothing on the main loop waits for inference.
 * Returns the thread, which the caller must join (at once, to stop them here and now; or from
 * `done`, or before it goes away). */
GThread            *mien_frame_feed_teardown       (MienCamera         *camera,
                                                    MienFramePredictor *predictor,
                                                    GSourceFunc         done,
                                                    gpointer            done_data,
                                                    GDestroyNotify      done_notify);

G_END_DECLS
