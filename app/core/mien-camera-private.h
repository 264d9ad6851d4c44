/* mien-camera-private.h — what the camera's tests look at inside it. Not installed, not for
 * other areas.
 */
#pragma once

#include "mien-camera.h"

G_BEGIN_DECLS

/* The fd property of the pipeline's pipewiresrc ("pipewire:" and "portal" sources), -1 when it
 * has none: the portal test checks that it is the remote the portal sent. */
int mien_camera_get_pipewire_fd (MienCamera *self);

G_END_DECLS
