/* mien-ablation.h — an experiment queue: the paper's ablation (Tables 1–4) as run folders.
 *
 * A plan is a JSON array of steps, run in order, one at a time:
 *   {"name": "smoothing-0.1", "config": {"smoothing": 0.1}}
 *       a training run in the folder DIR/NAME, whose configuration is the queue's base
 *       configuration with the members of "config" (config.json's, mien_train_config_to_json)
 *       replacing the base's; "class_weights": "paper" gives the paper's weights in the order
 *       of the run's classes (mien_class_weights_paper ());
 *   {"name": "dft", "config": {"mode": "dft"}, "from": "baseline"}
 *       the same, starting from the best model of the earlier step "baseline" ("pretrained");
 *   {"name": "ensemble", "ensemble": ["a", "b"]} or {"name": "ensemble", "ensemble": 3}
 *       no training: the ensemble of the named earlier steps' best models, or of the 3 training
 *       steps with the best validation macro F1.
 * Names are plain folder names (letters, digits, '.', '-', '_'), unique in the plan.
 * mien_ablation_paper_plan () is the paper's: baseline; label smoothing 0.1, 0.2, 0.4; the
 * paper's class weights; auto weights; upsampling; on-the-fly RandAugment; upsampling +
 * weights; DFT from the baseline's model; the ensemble of the 3 best runs.
 *
 * The queue lives in DIR: DIR/ablation.json (the base configuration and the plan, written once,
 * atomically, when the queue is made) and one normal run folder per training step. Its state
 * is the state of those run folders (mien-run.h), so nothing else has to be kept in step: a
 * COMPLETE run is never trained again, an EMPTY or INCOMPLETE one resumes through
 * mien_trainer_new_resume (), a missing one is started. A kill at any moment therefore repeats
 * no finished run and loses none.
 *
 * Every run (and ensemble) is evaluated as `mien-cli eval` evaluates a model: its best model
 * loaded with mien_ensemble_load () and scored with mien_ensemble_evaluate () on the
 * validation set the run was trained against (mien_train_config_open_datasets ()).
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mien-metrics.h"
#include "mien-plugin-engine.h"
#include "mien-trainer.h"

G_BEGIN_DECLS

#define MIEN_ABLATION_ERROR (mien_ablation_error_quark ())
GQuark mien_ablation_error_quark (void);

typedef enum {
  MIEN_ABLATION_ERROR_PLAN,    /* a plan that does not parse (names the file and step) */
  MIEN_ABLATION_ERROR_EXISTS,  /* a new queue asked for a folder that holds one */
  MIEN_ABLATION_ERROR_ORDER,   /* a step needs an earlier one that has no best model, or a
                                * change would put a step before one it needs */
  MIEN_ABLATION_ERROR_STARTED, /* a step that has started cannot be moved or removed */
} MienAblationError;

/* The file in DIR that holds a queue. */
#define MIEN_ABLATION_FILE "ablation.json"

/* The paper's plan as JSON text (static). */
const char *mien_ablation_paper_plan (void);

#define MIEN_TYPE_ABLATION (mien_ablation_get_type ())
G_DECLARE_FINAL_TYPE (MienAblation, mien_ablation, MIEN, ABLATION, GObject)

/* Parses and checks a plan (`source` names it in errors). */
JsonArray    *mien_ablation_parse_plan (const char  *text,
                                        gssize       length,
                                        const char  *source,
                                        GError     **error);
/* A new queue in `dir` (missing or empty): writes ablation.json with `base` (its `out` is
 * replaced by each step's folder) and `plan`. */
MienAblation *mien_ablation_create     (const char             *dir,
                                        const MienTrainConfig  *base,
                                        JsonArray              *plan,
                                        GError                **error);
/* The queue in `dir`, as mien_ablation_create () wrote it. */
MienAblation *mien_ablation_open       (const char  *dir,
                                        GError     **error);
/* The queue's folder. */
const char   *mien_ablation_get_dir     (MienAblation *self);
guint         mien_ablation_get_n_steps (MienAblation *self);
const char   *mien_ablation_get_step_name (MienAblation *self,
                                           guint         index);
/* Whether step `index` is done: a COMPLETE run folder, or an ensemble (nothing to train). */
gboolean      mien_ablation_step_is_done (MienAblation *self,
                                          guint         index);

/* Whether training step `index` has started: its run folder exists (ensembles never start). */
gboolean      mien_ablation_step_is_started (MienAblation *self,
                                             guint         index);

/* Changes to the plan of steps that have not started, written to ablation.json atomically
 * before they take effect. Refused (MIEN_ABLATION_ERROR_STARTED) for a step that has started,
 * and (MIEN_ABLATION_ERROR_ORDER, naming both steps) when a step would come before a step it
 * needs: its "from", the members of an ensemble, or fewer training steps than an ensemble's
 * best N. Appending checks the step as a plan is checked (MIEN_ABLATION_ERROR_PLAN) and builds
 * its configuration. A run in progress (mien_ablation_run_async ()) picks the changes up before
 * its next step. */
gboolean      mien_ablation_move_step   (MienAblation  *self,
                                         guint          index,
                                         guint          to,
                                         GError       **error);
gboolean      mien_ablation_remove_step (MienAblation  *self,
                                         guint          index,
                                         GError       **error);
gboolean      mien_ablation_append_step (MienAblation  *self,
                                         JsonObject    *step,
                                         GError       **error);

/* Called before each training step runs, with the trainer (borrowed), so that a front end can
 * set its progress and epoch callbacks; on the calling thread. */
typedef void (*MienAblationStepFunc) (MienAblation *self,
                                      guint         index,
                                      MienTrainer  *trainer,
                                      gpointer      user_data);

/* Trains every step that is not done, in order, one at a time, on the calling thread.
 * Cancelling stops the running step as mien_trainer_run () does (G_IO_ERROR_CANCELLED); the
 * queue then continues from there with another mien_ablation_run ().
 * Each step is evaluated as soon as it is done (and the steps done before, at the start), and
 * DIR/tables.md, .csv and .tex are rewritten then with every row known: a stopped queue has the
 * tables of what it finished (rows of steps not done are left out). */
gboolean      mien_ablation_run        (MienAblation         *self,
                                        MienPluginEngine     *engine,
                                        MienAblationStepFunc  func,
                                        gpointer              user_data,
                                        GCancellable         *cancellable,
                                        GError              **error);

/* Evaluates every step (all must be done): an array of MienMetrics (owned by the array), one
 * per step, in plan order. */
GPtrArray    *mien_ablation_evaluate   (MienAblation  *self,
                                        MienPluginEngine *engine,
                                        GCancellable  *cancellable,
                                        GError       **error);
/* The same for the steps that can be evaluated: NULL in place of a step not done (or an
 * ensemble of steps not done). A training step is evaluated once per MienAblation. */
GPtrArray    *mien_ablation_evaluate_done (MienAblation  *self,
                                           MienPluginEngine *engine,
                                           GCancellable  *cancellable,
                                           GError       **error);
typedef enum {
  MIEN_ABLATION_FORMAT_MARKDOWN,  /* tables.md */
  MIEN_ABLATION_FORMAT_CSV,       /* a "… vs baseline" column after each value */
  MIEN_ABLATION_FORMAT_LATEX,     /* a tabular */
} MienAblationFormat;

/* The paper-style table: a row per step (NULL in `metrics`: no row; no differences while the
 * first step has none), per-class F1, macro F1 ("Avg.") and accuracy with 4
 * decimals, each followed by its difference to the first step's (the baseline) as "(+0.0123)",
 * or in a column of its own in CSV. */
char         *mien_ablation_format_table (MienAblation       *self,
                                          GPtrArray          *metrics,
                                          MienAblationFormat  format);

/* DIR/tables.md, .csv or .tex. */
char         *mien_ablation_dup_table_path (MienAblation       *self,
                                            MienAblationFormat  format);
/* Writes the three tables of `metrics` (as mien_ablation_format_table () takes it) atomically. */
gboolean      mien_ablation_write_tables (MienAblation  *self,
                                          GPtrArray     *metrics,
                                          GError       **error);

/* What mien_ablation_run_async () reports, on the caller's main context. */
typedef enum {
  MIEN_ABLATION_EVENT_STARTED,    /* a training step starts (or resumes) */
  MIEN_ABLATION_EVENT_PROGRESS,   /* its training's progress (at most ten a second) */
  MIEN_ABLATION_EVENT_EVALUATED,  /* a step's row: `metrics` */
} MienAblationEventKind;

typedef struct {
  MienAblationEventKind  kind;
  const char            *name;      /* the step's (steps may move: names, not indices) */
  MienTrainProgress      progress;  /* PROGRESS */
  const MienMetrics     *metrics;   /* EVALUATED */
} MienAblationEvent;

typedef void (*MienAblationEventFunc) (MienAblation            *self,
                                       const MienAblationEvent *event,
                                       gpointer                 user_data);

/* mien_ablation_run () in a thread, on a copy of the queue read from DIR that reads
 * ablation.json again before each step (so mien_ablation_move_step () etc. on `self` apply).
 * `func` gets the events on the thread-default main context of this call, all before
 * `callback`; `func_data` has to stay valid until then. */
void          mien_ablation_run_async  (MienAblation          *self,
                                        MienPluginEngine      *engine,
                                        MienAblationEventFunc  func,
                                        gpointer               func_data,
                                        GCancellable          *cancellable,
                                        GAsyncReadyCallback    callback,
                                        gpointer               user_data);
gboolean      mien_ablation_run_finish (MienAblation  *self,
                                        GAsyncResult  *result,
                                        GError       **error);

G_END_DECLS
