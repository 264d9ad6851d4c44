/* mien-train-page.h — the Train page: a run's settings, its progress, and past runs.
 *
 * Actions (group "train"): "train.start", "train.cancel", "train.resume" (the selected past
 * run). The trainer runs in a GTask thread; its callbacks are marshalled to the main loop. */
#pragma once

#include <adwaita.h>

#include "mien-studio.h"
#include "mien-trainer.h"

G_BEGIN_DECLS

#define MIEN_TYPE_TRAIN_PAGE (mien_train_page_get_type ())
G_DECLARE_FINAL_TYPE (MienTrainPage, mien_train_page, MIEN, TRAIN_PAGE, AdwBin)

GtkWidget       *mien_train_page_new          (MienStudio      *studio);
/* Fills the form from `config` (as a user would; data and out are ignored: the open dataset
 * and a new folder in the runs folder are used). */
void             mien_train_page_set_config   (MienTrainPage         *self,
                                               const MienTrainConfig *config);
/* The configuration the form describes now (data = the open dataset, out = a new run folder);
 * NULL with an error when the form is not valid. */
MienTrainConfig *mien_train_page_build_config (MienTrainPage   *self,
                                               GError         **error);
/* Property "running" (gboolean). Signal "run-finished" (const char *run_dir, const GError *error
 * or NULL: cancelled runs finish with G_IO_ERROR_CANCELLED). */
gboolean         mien_train_page_get_running  (MienTrainPage   *self);
/* The training throughput of the last epoch finished in this page (images/s; 0 before any). */
double           mien_train_page_get_images_per_s (MienTrainPage *self);
/* Selects the past run in `path` in the runs list, as a click would (its curves show when no
 * run is active; "train.resume" follows whether it can be resumed). The list is filled from
 * MienStudio's runs in a thread: after a run, wait for "runs-changed" first. FALSE when the
 * run is not listed. */
gboolean         mien_train_page_select_run   (MienTrainPage   *self,
                                               const char      *path);

G_END_DECLS
