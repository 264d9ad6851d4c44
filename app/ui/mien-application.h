/* mien-application.h — the studio's GtkApplication: settings, plugins, actions and shortcuts. */
#pragma once

#include <adwaita.h>

#include "mien-studio.h"

G_BEGIN_DECLS

#define MIEN_TYPE_APPLICATION (mien_application_get_type ())
G_DECLARE_FINAL_TYPE (MienApplication, mien_application, MIEN, APPLICATION, AdwApplication)

MienApplication *mien_application_new        (void);
MienStudio      *mien_application_get_studio (MienApplication *self);

G_END_DECLS
