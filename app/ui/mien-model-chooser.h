/* mien-model-chooser.h — choose one model or several (an ensemble): the best models of past
 * runs, plus model files opened from anywhere. Used by the Predict and Live pages. */
#pragma once

#include <adwaita.h>

#include "mien-studio.h"

G_BEGIN_DECLS

#define MIEN_TYPE_MODEL_CHOOSER (mien_model_chooser_get_type ())
G_DECLARE_FINAL_TYPE (MienModelChooser, mien_model_chooser, MIEN, MODEL_CHOOSER, AdwBin)

GtkWidget *mien_model_chooser_new          (MienStudio         *studio);
/* The checked model files (NULL-terminated, newly allocated; empty when none). */
char     **mien_model_chooser_dup_selected (MienModelChooser   *self);
/* Checks exactly these files, adding those not listed yet. */
void       mien_model_chooser_set_selected (MienModelChooser   *self,
                                            const char * const *paths);
/* Signal "changed" (): the selection changed. */

G_END_DECLS
