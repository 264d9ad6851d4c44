/* mien-annotated-frame.h — a frame with its overlays, as a picture of the frame's own size.
 *
 * The Live page and the kiosk draw predictions over a GtkPicture of the frames with an overlay
 * widget of the picture's allocation ("contain" fit, mien_ui_contain_rect ()). A snapshot of
 * what was shown is the frame at its own size with the overlay's drawing mapped from screen to
 * frame pixels over it, rendered by the overlay's own renderer.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* `frame` with `overlay`'s drawing over it, `frame`'s size. `overlay` must be shown (it has a
 * renderer and a size), else G_IO_ERROR_NOT_INITIALIZED. */
GdkTexture *mien_annotated_frame_render (GtkWidget   *overlay,
                                         GdkTexture  *frame,
                                         GError     **error);
/* The same, written to `path` as PNG, atomically (mien_output_set_contents ()). */
gboolean    mien_annotated_frame_save   (GtkWidget   *overlay,
                                         GdkTexture  *frame,
                                         const char  *path,
                                         GError     **error);
/* "<folder>/<prefix>-YYYYMMDD-HHMMSS<suffix>" at the local time now, with "-2", "-3"… before
 * the suffix when that name is taken, so that nothing is overwritten. */
char       *mien_annotated_frame_dup_path (const char *folder,
                                           const char *prefix,
                                           const char *suffix);

/* The settings' "snapshots-folder", or Pictures/Mien when it is empty (the user data folder's
 * mien/snapshots without a Pictures folder), created if needed; NULL, with an error naming
 * it, when it cannot be. */
char       *mien_annotated_frame_dup_folder (GSettings  *settings,
                                             GError    **error);

G_END_DECLS
