/* mien-run.h — the run folder: the one module that reads and writes its format.
 *
 * Files (DESIGN.md):
 *   config.json        the MienTrainConfig (mien_train_config_to_json), written once, when the
 *                      run has been prepared (data, backbone, device and model all checked), so
 *                      that a start that fails leaves no run behind
 *   log.jsonl          one JSON object per finished epoch, "epoch" 1, 2, 3, … in order ("lr",
 *                      "train_loss", "val_macro_f1", "val" (mien_metrics_to_json), "best", …);
 *                      rewritten whole and atomically after each epoch
 *   last.safetensors   the model after the last finished epoch, its optimiser state and, in its
 *                      metadata, the trainer state MienRunCheckpoint, which carries the epoch's
 *                      log record
 *   best.safetensors   the model of the epoch with the best validation macro F1 so far
 *   NAME.XXXXXX        a temporary of an atomic write (g_file_set_contents, mien_model_save)
 *                      that a kill left behind
 *
 * The trainer ends an epoch by writing best.safetensors (when the epoch is the best so far),
 * then last.safetensors, then log.jsonl. Each write is atomic, so a kill leaves one of:
 *   - best written, last not: last and the log hold epoch N-1; resume redoes epoch N, which
 *     writes the same best.safetensors again;
 *   - last written, log not (or killed while the log's temporary was written): last holds
 *     epoch N, the log N-1 lines; the log is repaired with the record last.safetensors
 *     carries;
 *   - a log whose last line is cut short (written by something less careful): the line is
 *     dropped, and repaired from last.safetensors when it was its epoch.
 *
 * States of a folder:
 *   not a run        no config.json (MIEN_RUN_ERROR_NOT_A_RUN). A new run may use it only when
 *                    it is missing or empty (temporaries aside): a folder that holds only
 *                    best.safetensors, only log.jsonl or any other file holds something a user
 *                    made (MIEN_RUN_ERROR_USER_FILES).
 *   EMPTY            configured, no epoch finished: resume starts it over.
 *   INCOMPLETE       N of the configured epochs finished: resume continues from epoch N + 1.
 *   COMPLETE         every configured epoch finished (resume with more epochs extends it).
 *   needs repair     any of the above that mien_run_load () read with the repairs below made
 *                    in memory; mien_run_open_for_resume () writes them (damaged but
 *                    repairable):
 *                      - the log lacks last.safetensors' epoch: that record is appended;
 *                      - the log goes past last.safetensors' epoch (last was replaced by an
 *                        older copy): the later epochs are dropped and redone;
 *                      - a cut-short last line: dropped;
 *                      - stale temporaries: removed.
 *   corrupt          what cannot be repaired (MIEN_RUN_ERROR_CORRUPT, naming the file, the line
 *                    and the key): a config.json or log line that does not parse or holds a
 *                    wrong type, epochs out of order, a log more than one epoch behind
 *                    last.safetensors, an unreadable last.safetensors.
 * Resume refuses a folder whose epochs were trained but whose last.safetensors is gone
 * (MIEN_RUN_ERROR_NO_CHECKPOINT): starting over would overwrite best.safetensors.
 *
 * Front ends list past runs, chart them, compare them and resume them from here.
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
  MIEN_RUN_ERROR_NOT_A_RUN,     /* no config.json (the message names the folder) */
  MIEN_RUN_ERROR_CORRUPT,       /* damaged beyond repair (names the file, line and key) */
  MIEN_RUN_ERROR_EXISTS,        /* a new run asked for a folder that holds one */
  MIEN_RUN_ERROR_USER_FILES,    /* a new run asked for a folder holding other files */
  MIEN_RUN_ERROR_NO_CHECKPOINT, /* resume of trained epochs without last.safetensors */
} MienRunError;

typedef enum {
  MIEN_RUN_STATE_EMPTY,       /* configured, no epoch finished */
  MIEN_RUN_STATE_INCOMPLETE,  /* fewer epochs in the log than configured: resumable when last.safetensors exists */
  MIEN_RUN_STATE_COMPLETE,
} MienRunState;

/* The trainer state in last.safetensors' metadata ("trainer"). */
typedef struct {
  guint       epoch;          /* epochs finished */
  gint64      step;           /* optimiser steps taken */
  guint       best_epoch;     /* 0 when none */
  double      best_macro_f1;  /* -1 when none */
  JsonObject *record;         /* the log record of `epoch` (owned) */
} MienRunCheckpoint;

/* The member of the checkpoint's metadata that holds it. */
#define MIEN_RUN_CHECKPOINT_KEY "trainer"

JsonObject *mien_run_checkpoint_to_json (const MienRunCheckpoint *checkpoint);

#define MIEN_TYPE_RUN (mien_run_get_type ())
G_DECLARE_FINAL_TYPE (MienRun, mien_run, MIEN, RUN, GObject)

/* Reads `dir` without changing it; the repairs above are made in memory only. */
MienRun               *mien_run_load             (const char *dir,
                                                  GError    **error);
const char            *mien_run_get_path         (MienRun *self);
/* The folder's base name. */
const char            *mien_run_get_name         (MienRun *self);
/* config.json as read, except that `out` is the folder where the run is now (it may have been
 * moved since it was written). */
const MienTrainConfig *mien_run_get_config       (MienRun *self);
/* The log's records in order (borrowed; JsonObject). */
guint                  mien_run_get_n_epochs     (MienRun *self);
JsonObject            *mien_run_get_epoch        (MienRun *self,
                                                  guint    index);
MienRunState           mien_run_get_state        (MienRun *self);
/* Whether what is on disk differs from what was read (see "needs repair" above). */
gboolean               mien_run_needs_repair     (MienRun *self);
/* Whether mien_trainer_new_resume () can continue it without extending it: INCOMPLETE with
 * last.safetensors, or EMPTY (the trainer then starts it over); never COMPLETE. */
gboolean               mien_run_can_resume       (MienRun *self);
/* The same with the reason when not; also accepts COMPLETE (resume with more epochs). */
gboolean               mien_run_check_resumable  (MienRun  *self,
                                                  GError  **error);
/* last.safetensors' trainer state (borrowed), NULL without last.safetensors. */
const MienRunCheckpoint *mien_run_get_checkpoint (MienRun *self);
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

/* ---- Writing (the trainer) ---------------------------------------------------------------- */

/* Whether a new run may be made in `dir`: it is missing, or a folder holding nothing but
 * stale temporaries (MIEN_RUN_ERROR_EXISTS, MIEN_RUN_ERROR_USER_FILES otherwise). */
gboolean               mien_run_check_new        (const char  *dir,
                                                  GError     **error);
/* Checks `dir` as above, creates it and writes config.json: a run in state EMPTY. */
MienRun               *mien_run_create           (const char            *dir,
                                                  const MienTrainConfig *config,
                                                  GError               **error);
/* Loads `dir`, checks it can be resumed and writes the repairs. */
MienRun               *mien_run_open_for_resume  (const char  *dir,
                                                  GError     **error);
/* Appends the record of the next epoch and rewrites log.jsonl atomically. */
gboolean               mien_run_add_epoch        (MienRun     *self,
                                                  JsonObject  *record,
                                                  GError     **error);

G_END_DECLS
