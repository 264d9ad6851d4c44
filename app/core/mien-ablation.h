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
  MIEN_ABLATION_ERROR_ORDER,   /* a step needs an earlier one that has no best model */
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
guint         mien_ablation_get_n_steps (MienAblation *self);
const char   *mien_ablation_get_step_name (MienAblation *self,
                                           guint         index);
/* Whether step `index` is done: a COMPLETE run folder, or an ensemble (nothing to train). */
gboolean      mien_ablation_step_is_done (MienAblation *self,
                                          guint         index);

/* Called before each training step runs, with the trainer (borrowed), so that a front end can
 * set its progress and epoch callbacks; on the calling thread. */
typedef void (*MienAblationStepFunc) (MienAblation *self,
                                      guint         index,
                                      MienTrainer  *trainer,
                                      gpointer      user_data);

/* Trains every step that is not done, in order, one at a time, on the calling thread.
 * Cancelling stops the running step as mien_trainer_run () does (G_IO_ERROR_CANCELLED); the
 * queue then continues from there with another mien_ablation_run (). */
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
typedef enum {
  MIEN_ABLATION_FORMAT_MARKDOWN,  /* tables.md */
  MIEN_ABLATION_FORMAT_CSV,       /* a "… vs baseline" column after each value */
  MIEN_ABLATION_FORMAT_LATEX,     /* a tabular */
} MienAblationFormat;

/* The paper-style table: a row per step, per-class F1, macro F1 ("Avg.") and accuracy with 4
 * decimals, each followed by its difference to the first step's (the baseline) as "(+0.0123)",
 * or in a column of its own in CSV. */
char         *mien_ablation_format_table (MienAblation       *self,
                                          GPtrArray          *metrics,
                                          MienAblationFormat  format);

G_END_DECLS
