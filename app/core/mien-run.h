/* mien-run.h — a run folder read back: its configuration, its epochs, its best model.
 *
 * A run folder (DESIGN.md) holds config.json, log.jsonl (one record per epoch, as
 * mien-trainer.c writes them: "epoch", "lr", "train_loss", "train_accuracy", "images_per_s",
 * "val_loss", "val_macro_f1", "val_accuracy", "val" (mien_metrics_to_json), "best", ...),
 * last.safetensors and best.safetensors. Front ends list past runs, chart them, compare them
 * and resume them from here; nothing in this file writes.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mien-metrics.h"
#include "mien-trainer.h"

G_BEGIN_DECLS

#define MIEN_RUN_ERROR (mien_run_error_quark ())
GQuark mien_run_error_quark (void);

typedef enum {
  MIEN_RUN_ERROR_NOT_A_RUN,  /* no config.json (the message names the folder) */
  MIEN_RUN_ERROR_CORRUPT,    /* config.json or a log line that does not parse (names file, line) */
} MienRunError;

typedef enum {
  MIEN_RUN_STATE_EMPTY,       /* configured, no epoch finished */
  MIEN_RUN_STATE_INCOMPLETE,  /* fewer epochs in the log than configured: resumable when last.safetensors exists */
  MIEN_RUN_STATE_COMPLETE,
} MienRunState;

#define MIEN_TYPE_RUN (mien_run_get_type ())
G_DECLARE_FINAL_TYPE (MienRun, mien_run, MIEN, RUN, GObject)

/* Reads `dir`. A log whose last line is cut short (a run killed while writing) keeps the
 * complete lines; any other bad line is an error. */
MienRun               *mien_run_load             (const char *dir,
                                                  GError    **error);
const char            *mien_run_get_path         (MienRun *self);
/* The folder's base name. */
const char            *mien_run_get_name         (MienRun *self);
/* config.json as read, except that `out` is the folder where the run is now (it may have been
 * moved since it was written), as mien_trainer_new_resume () does. */
const MienTrainConfig *mien_run_get_config       (MienRun *self);
/* The log's records in order (borrowed; JsonObject). */
guint                  mien_run_get_n_epochs     (MienRun *self);
JsonObject            *mien_run_get_epoch        (MienRun *self,
                                                  guint    index);
MienRunState           mien_run_get_state        (MienRun *self);
/* Whether mien_trainer_new_resume () can continue it without extending it: INCOMPLETE with
 * last.safetensors, or EMPTY (the trainer then starts it over); never COMPLETE. */
gboolean               mien_run_can_resume       (MienRun *self);
/* The epoch marked best (1-based; 0 when none) and its validation metrics, from the log
 * (borrowed; NULL when none). */
guint                  mien_run_get_best_epoch   (MienRun *self);
MienMetrics           *mien_run_get_best_metrics (MienRun *self);
/* best.safetensors / last.safetensors when they exist, else NULL. */
const char            *mien_run_get_best_model   (MienRun *self);
const char            *mien_run_get_last_model   (MienRun *self);
/* When the folder last changed (config.json or log.jsonl), for sorting. */
GDateTime             *mien_run_get_modified     (MienRun *self);
/* A one-line description for lists: "resnet:18 · DFT · 8 epochs · best F1 0.903 (epoch 7)". */
char                  *mien_run_describe         (MienRun *self);

/* Every run folder directly under `runs_dir` (sub-folders holding config.json), newest first.
 * Folders that fail to load are skipped and described in `problems` ("PATH: reason"; may be
 * NULL). A missing `runs_dir` gives an empty array. */
GPtrArray             *mien_run_list             (const char *runs_dir,
                                                  GPtrArray **problems);

G_END_DECLS
