/* mien-experiments-page.h — the Experiments page: an experiment queue (mien-ablation.h) on the
 * open dataset with the Train page's settings, each step's state and progress, the paper-style
 * per-class F1 table with the difference to the baseline, a per-class F1 chart (a series per
 * run) and exports as Markdown, CSV and LaTeX.
 *
 * Actions (group "experiments"): "experiments.new" (asks for a folder), "experiments.open" (a
 * queue's folder, e.g. after a restart), "experiments.plan-file" (a JSON plan instead of the
 * paper's), "experiments.plan-paper" (the paper's again), "experiments.start" (starts or
 * resumes the queue in a thread), "experiments.cancel", "experiments.export" ("s":
 * "markdown", "csv" or "latex"; asks for a file). */
#pragma once

#include <adwaita.h>

#include "mien-ablation.h"
#include "mien-chart.h"
#include "mien-studio.h"

G_BEGIN_DECLS

#define MIEN_TYPE_EXPERIMENTS_PAGE (mien_experiments_page_get_type ())
G_DECLARE_FINAL_TYPE (MienExperimentsPage, mien_experiments_page, MIEN, EXPERIMENTS_PAGE, AdwBin)

typedef enum {
  MIEN_EXPERIMENT_WAITING,
  MIEN_EXPERIMENT_RUNNING,
  MIEN_EXPERIMENT_DONE,
  MIEN_EXPERIMENT_FAILED,
  MIEN_EXPERIMENT_CANCELLED,
} MienExperimentState;

GtkWidget    *mien_experiments_page_new          (MienStudio          *studio);
/* What "experiments.new" does once a folder is chosen: a new queue in `dir` with the plan of
 * `plan_file` (NULL: the paper's) and the Train page's configuration as its base. */
gboolean      mien_experiments_page_create_queue (MienExperimentsPage *self,
                                                  const char          *dir,
                                                  const char          *plan_file,
                                                  GError             **error);
/* What "experiments.open" does: shows the queue in `dir` and, as soon as they are evaluated (in
 * a thread), the rows of the steps it has done; "experiments.start" resumes it. */
gboolean      mien_experiments_page_open_queue   (MienExperimentsPage *self,
                                                  const char          *dir,
                                                  GError             **error);
/* The queue shown (NULL before one is made or opened). */
MienAblation *mien_experiments_page_get_ablation (MienExperimentsPage *self);
/* Property "running" (gboolean). Signal "queue-finished" (const GError *error or NULL). */
gboolean      mien_experiments_page_get_running  (MienExperimentsPage *self);
/* What the up/down and remove buttons of a waiting step do (errors are also shown). */
gboolean      mien_experiments_page_move_step    (MienExperimentsPage *self,
                                                  guint                index,
                                                  guint                to,
                                                  GError             **error);
gboolean      mien_experiments_page_remove_step  (MienExperimentsPage *self,
                                                  guint                index,
                                                  GError             **error);
/* The state shown for step `index` of the plan; `message` (may be NULL) gets a failed step's
 * error. */
MienExperimentState mien_experiments_page_get_step_state (MienExperimentsPage *self,
                                                          guint                index,
                                                          const char         **message);
/* The table as shown: one row per evaluated step in plan order; column 0 is the step's name,
 * then per-class F1, Avg. and Acc. as "0.1234 (+0.0100)" (the baseline without difference). */
guint         mien_experiments_page_get_n_rows   (MienExperimentsPage *self);
char         *mien_experiments_page_dup_cell     (MienExperimentsPage *self,
                                                  guint                row,
                                                  guint                column);
MienBarChart *mien_experiments_page_get_chart    (MienExperimentsPage *self);
/* What "experiments.export" writes: mien_ablation_format_table () of the rows shown. */
gboolean      mien_experiments_page_export       (MienExperimentsPage *self,
                                                  const char          *path,
                                                  MienAblationFormat   format,
                                                  GError             **error);

G_END_DECLS
