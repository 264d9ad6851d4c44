/* mien-cli-private.h — what the command files of mien-cli share. */
#pragma once

#include <stdio.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "mien-core.h"
#include "mien-ensemble.h"
#include "mien-face-pipeline.h"
#include "mien-trainer.h"

G_BEGIN_DECLS

/* Exit status of a usage error (as getopt-style tools do), so that scripts can tell a typo from
 * a failed run (1). */
#define EXIT_USAGE 2

typedef int (*MienCliFunc) (int    argc,
                            char **argv);

typedef struct {
  const char  *name;
  const char  *summary;  /* N_(): translated when shown */
  MienCliFunc  func;
} MienCliCommand;

/* "mien-cli: warning: …" / "mien-cli: error: …" on stderr. */
void      mien_cli_warning       (const char *message);
void      mien_cli_error         (const char *message);
/* Parses command `name`'s options; on a usage error prints one line and returns FALSE.
 * `--help` is handled by GOption (prints and exits 0). */
gboolean  mien_cli_parse_options (const char          *name,
                                  const char          *parameter_string,
                                  const GOptionEntry  *entries,
                                  int                 *argc,
                                  char              ***argv);
/* "mien-cli NAME: MESSAGE" on stderr; returns EXIT_USAGE. */
int       mien_cli_usage_error   (const char *name,
                                  const char *format,
                                  ...) G_GNUC_PRINTF (2, 3);
/* Numeric options are read as text (NULL: not given, so an explicit value is never taken for
 * a missing one) and checked against their documented range. On a value that is not a number
 * or is out of range these print "mien-cli COMMAND: --OPTION takes …, not “TEXT”" and return
 * FALSE (the caller exits with EXIT_USAGE); NULL `text` leaves `value` alone. */
gboolean  mien_cli_parse_int     (const char  *command,
                                  const char  *option,
                                  const char  *text,
                                  gint64       min,
                                  gint64       max,
                                  gint64      *value);
/* Bounds of a real-valued option: closed unless MIEN_CLI_ABOVE_MIN / MIEN_CLI_BELOW_MAX say the
 * bound itself is excluded. NaN and infinities are always refused. */
typedef enum {
  MIEN_CLI_CLOSED    = 0,
  MIEN_CLI_ABOVE_MIN = 1 << 0,
  MIEN_CLI_BELOW_MAX = 1 << 1,
} MienCliBounds;
gboolean  mien_cli_parse_double  (const char    *command,
                                  const char    *option,
                                  const char    *text,
                                  double         min,
                                  double         max,
                                  MienCliBounds  bounds,
                                  double        *value);
/* The most threads --threads and --workers accept: 4 per processor, at least 64. */
gint64    mien_cli_max_threads   (void);
/* Prints `node` as one line of JSON on stdout. */
void      mien_cli_print_json    (JsonNode   *node);
/* 25557032 → "25.6 M" */
char     *mien_cli_format_count  (gint64      n);

/* A plain text table: cells are padded to their column's width (in characters, not bytes, for
 * translated headers); `right_aligned` marks numeric columns. */
typedef struct {
  guint      n_columns;
  guint64    right_aligned;  /* bit i: column i */
  GPtrArray *cells;          /* char *, row-major */
} MienCliTable;

MienCliTable *mien_cli_table_new   (guint         n_columns,
                                    guint64       right_aligned);
void          mien_cli_table_free  (MienCliTable *table);
/* Takes ownership of `cell`. */
void          mien_cli_table_take  (MienCliTable *table,
                                    char         *cell);
void          mien_cli_table_print (MienCliTable *table,
                                    const char   *indent);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienCliTable, mien_cli_table_free)

/* Progress on stderr: a bar redrawn in place with "\r" on a terminal (at most 10 times a
 * second), or a plain line every 10% otherwise (logs stay readable). */
typedef struct _MienCliProgress MienCliProgress;
MienCliProgress *mien_cli_progress_new    (void);
void             mien_cli_progress_update (MienCliProgress *progress,
                                           double           fraction,
                                           const char      *text,
                                           double           eta_s);
/* Ends the bar's line (a terminal) so that later output starts on a new line. */
void             mien_cli_progress_finish (MienCliProgress *progress);
void             mien_cli_progress_free   (MienCliProgress *progress);
/* A MienProgressFunc drawing on a MienCliProgress. */
void             mien_cli_progress_func   (double           fraction,
                                           const char      *message,
                                           gpointer         progress);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienCliProgress, mien_cli_progress_free)

/* SIGINT/SIGTERM cancel `cancellable` (a second one exits at once), so that training stops
 * cleanly at the next batch and the run folder stays resumable. */
void             mien_cli_cancel_on_signals (GCancellable *cancellable);

/* torchrun's variables (mien-cli-dist.c): world_size 0 when none is set. `master_addr` is the
 * environment's. */
typedef struct {
  int         rank;
  int         world_size;
  int         local_rank;   /* LOCAL_RANK, else RANK */
  const char *master_addr;
  guint       master_port;
} MienCliDistEnv;

gboolean mien_cli_dist_env_read (MienCliDistEnv *env,
                                 GError        **error);
/* Runs `args` (a command and its arguments, NULL-terminated) as `nproc` local ranks of this
 * program, with torchrun's variables set (MASTER_PORT: the environment's, else a free one);
 * with `set_threads`, each gets --threads (processors / nproc). Ctrl+C reaches every rank once;
 * when one fails, the others get a grace period to stop by themselves, then are terminated.
 * Returns the first failed rank's exit status (130 after Ctrl+C), or 0. */
int      mien_cli_launch_local  (const char * const *args,
                                 guint               nproc,
                                 gboolean            set_threads);

/* The training options that `train` and `ablate` share (everything but --out, --resume,
 * --json and --time-limit). */
typedef struct _MienCliTrainOptions MienCliTrainOptions;
MienCliTrainOptions *mien_cli_train_options_new     (void);
void                 mien_cli_train_options_free    (MienCliTrainOptions *options);
/* Whether any of them was given. */
gboolean             mien_cli_train_options_any_given (MienCliTrainOptions *options);
/* The shared entries bound to `options`, followed by `extra` (NULL-terminated); g_free () it
 * after parsing. */
GOptionEntry        *mien_cli_train_options_entries (MienCliTrainOptions *options,
                                                     const GOptionEntry  *extra);
/* The configuration the parsed options describe, in the run folder `out`, checked; NULL once
 * the reason is printed, `*status` the exit status. */
MienTrainConfig     *mien_cli_train_options_to_config (MienCliTrainOptions *options,
                                                       const char          *command,
                                                       const char          *out,
                                                       int                 *status);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienCliTrainOptions, mien_cli_train_options_free)

/* The commands */
int mien_cli_demo_data (int argc, char **argv);
int mien_cli_stats     (int argc, char **argv);
int mien_cli_train     (int argc, char **argv);
int mien_cli_ablate    (int argc, char **argv);
int mien_cli_eval      (int argc, char **argv);
int mien_cli_predict   (int argc, char **argv);
int mien_cli_detectors (int argc, char **argv);
int mien_cli_weights   (int argc, char **argv);
int mien_cli_capture   (int argc, char **argv);
int mien_cli_explain   (int argc, char **argv);
/* The ensemble of the --model files on --device `device_arg` (NULL: the CPU): NULL once the
 * reason is printed, `*status` the exit status (a usage error without a model or with a bad
 * device). */
MienEnsemble *mien_cli_load_ensemble (const char  *command,
                                      char       **models,
                                      const char  *device_arg,
                                      int         *status);
/* The face detector `detector_spec` (NULL: the best available) with YuNet's model file
 * `face_model` (NULL: Mien's data folder), prepared; warns when it is not YuNet for want of
 * its file. NULL once the reason is printed. */
MienFaceDetector *mien_cli_open_face_detector (const char *detector_spec,
                                               const char *face_model);
/* The face pipeline of predict --faces and eval --faces: the detector `detector_spec` (NULL:
 * the best available; YuNet's model file `face_model`, NULL: Mien's data folder), faces cropped
 * with `margin` (NAN: the margin the models record, mien_ensemble_get_face_margin (), else
 * MIEN_FACE_ALIGN_OPTIONS_INIT's) and levelled unless `no_rotate`. NULL once the reason is
 * printed, `*status` the exit status. */
MienFacePipeline *mien_cli_open_face_pipeline (const char   *command,
                                               MienEnsemble *ensemble,
                                               const char   *detector_spec,
                                               const char   *face_model,
                                               double        margin,
                                               gboolean      no_rotate,
                                               int          *status);
/* predict --faces: the rows of every face in `inputs` (images, folders, videos); `margin` as
 * mien_cli_open_face_pipeline () takes it. */
int mien_cli_predict_faces (MienEnsemble *ensemble,
                            const char   *detector_spec,
                            const char   *face_model,
                            double        margin,
                            gboolean      no_rotate,
                            double        smoothing,
                            const char   *csv,
                            char        **inputs);

G_END_DECLS
