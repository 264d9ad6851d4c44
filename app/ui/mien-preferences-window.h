/* mien-preferences-window.h — Preferences: default device, threads, folders. */
#pragma once

#include <adwaita.h>

#include "mien-studio.h"

G_BEGIN_DECLS

#define MIEN_TYPE_PREFERENCES_WINDOW (mien_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (MienPreferencesWindow, mien_preferences_window, MIEN, PREFERENCES_WINDOW, AdwPreferencesWindow)

GtkWidget *mien_preferences_window_new (GtkWindow  *parent,
                                        MienStudio *studio);

G_END_DECLS
