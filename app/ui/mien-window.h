/* mien-window.h — the main window: a view stack of the five pages, toasts, the primary menu. */
#pragma once

#include <adwaita.h>

#include "mien-studio.h"

G_BEGIN_DECLS

#define MIEN_TYPE_WINDOW (mien_window_get_type ())
G_DECLARE_FINAL_TYPE (MienWindow, mien_window, MIEN, WINDOW, AdwApplicationWindow)

MienWindow *mien_window_new       (AdwApplication *app,
                                   MienStudio     *studio);
/* "dataset", "train", "evaluate", "predict", "live". */
GtkWidget  *mien_window_get_page  (MienWindow     *self,
                                   const char     *name);
void        mien_window_show_page (MienWindow     *self,
                                   const char     *name);

/* Renders the window as it is now into a PNG file (for the screenshots in the README). */
gboolean    mien_window_save_screenshot (MienWindow  *self,
                                         const char  *path,
                                         GError     **error);

G_END_DECLS
