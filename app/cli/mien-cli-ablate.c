/* mien-cli-ablate.c — `mien-cli ablate`: the paper's ablation as a queue of runs. */
#include "config.h"

#include <stdlib.h>

#include <glib/gstdio.h>

#include "mien-ablation.h"
#include "mien-cli-private.h"
#include "mien-output.h"

typedef struct {
  MienCliProgress *progress;
  const char      *name;  /* the step being trained */
} AblateOutput;

static void
progress_cb (const MienTrainProgress *p,
             gpointer                 user_data)
{
  AblateOutput *out = user_data;
  g_autofree char *text = NULL;

  if (p->phase == MIEN_TRAIN_PHASE_PREPARING)
    text = g_strdup_printf (_("%s: decoding images %u/%u"), out->name, p->step, p->n_steps);
  else
    text = g_strdup_printf (_("%s: epoch %u/%u  step %u/%u  loss %.4f"), out->name, p->epoch,
                            p->n_epochs, p->step, p->n_steps, p->loss);
  mien_cli_progress_update (out->progress, p->fraction, text, p->eta_s);
}

static void
step_cb (MienAblation *ablation,
         guint         index,
         MienTrainer  *trainer,
         gpointer      user_data)
{
  AblateOutput *out = user_data;

  out->name = mien_ablation_get_step_name (ablation, index);
  mien_cli_progress_finish (out->progress);
  g_print (_("Training %s (%u of %u)\n"), out->name, index + 1,
           mien_ablation_get_n_steps (ablation));
  mien_trainer_set_progress_func (trainer, progress_cb, out, NULL);
}

/* The plan of --plan: "paper" (the default) or a JSON file. */
static JsonArray *
load_plan (const char *plan)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  gsize length = 0;
  JsonArray *array;

  if (plan == NULL || g_strcmp0 (plan, "paper") == 0)
    array = mien_ablation_parse_plan (mien_ablation_paper_plan (), -1, "paper", &error);
  else if (!g_file_get_contents (plan, &text, &length, &error))
    array = NULL;
  else
    array = mien_ablation_parse_plan (text, (gssize) length, plan, &error);
  if (array == NULL)
    mien_cli_usage_error ("ablate", "--plan: %s", error->message);
  return array;
}

/* The tables of the whole queue, printed as Markdown. mien_ablation_run () has written them
 * after the last step already; the rows come from its cache, so this costs no evaluation. */
static gboolean
write_tables (MienAblation  *ablation,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autoptr(GPtrArray) metrics = NULL;
  g_autofree char *markdown = NULL;
  g_autofree char *path = mien_ablation_dup_table_path (ablation, MIEN_ABLATION_FORMAT_MARKDOWN);

  metrics = mien_ablation_evaluate (ablation, mien_plugin_engine_get_default (), cancellable,
                                    error);
  if (metrics == NULL || !mien_ablation_write_tables (ablation, metrics, error))
    return FALSE;
  markdown = mien_ablation_format_table (ablation, metrics, MIEN_ABLATION_FORMAT_MARKDOWN);
  g_print (_("\nValidation F1 of each run's best model (difference to %s), in %s (and .csv, "
             ".tex):\n\n%s"), mien_ablation_get_step_name (ablation, 0), path, markdown);
  return TRUE;
}

int
mien_cli_ablate (int    argc,
                 char **argv)
{
  g_autoptr(MienCliTrainOptions) options = mien_cli_train_options_new ();
  g_autofree char *out = NULL, *plan_arg = NULL;
  gboolean resume = FALSE;
  const GOptionEntry own[] = {
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out,
      N_("The queue's folder: one run folder per step, and tables.md (required)"), N_("DIR") },
    { "plan", 0, 0, G_OPTION_ARG_FILENAME, &plan_arg,
      N_("paper (the default: baseline, label smoothing 0.1/0.2/0.4, class weights, "
         "upsampling, on-the-fly RandAugment, DFT, ensemble) or a JSON file of steps"),
      N_("paper|FILE.json") },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &resume,
      N_("Continue the queue in DIR: finished runs are kept, a half-trained one resumes"),
      NULL },
    { NULL }
  };
  g_autofree GOptionEntry *entries = mien_cli_train_options_entries (options, own);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienAblation) ablation = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  AblateOutput output = { 0 };
  gboolean ok;

  if (!mien_cli_parse_options ("ablate", "", entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return mien_cli_usage_error ("ablate", _("unexpected argument “%s”"), argv[1]);
  if (out == NULL)
    return mien_cli_usage_error ("ablate", _("--out DIR is required"));

  if (resume)
    {
      /* The queue keeps the plan and the options it was made with. */
      if (plan_arg != NULL || mien_cli_train_options_any_given (options))
        return mien_cli_usage_error ("ablate", _("--plan and the training options are the "
                                                 "queue's own with --resume"));
      ablation = mien_ablation_open (out, &error);
    }
  else
    {
      int status;
      g_autoptr(MienTrainConfig) config = mien_cli_train_options_to_config (options, "ablate",
                                                                            out, &status);
      g_autoptr(JsonArray) plan = NULL;

      if (config == NULL)
        return status;
      if ((plan = load_plan (plan_arg)) == NULL)
        return EXIT_USAGE;
      ablation = mien_ablation_create (out, config, plan, &error);
    }
  if (ablation == NULL)
    {
      mien_cli_error (error->message);
      return EXIT_FAILURE;
    }

  output.progress = mien_cli_progress_new ();
  mien_cli_cancel_on_signals (cancellable);
  ok = mien_ablation_run (ablation, mien_plugin_engine_get_default (), step_cb, &output,
                          cancellable, &error);
  mien_cli_progress_finish (output.progress);
  mien_cli_progress_free (output.progress);
  if (ok)
    ok = write_tables (ablation, cancellable, &error);
  if (!ok)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *message = g_strdup_printf (
            _("stopped; continue the queue with mien-cli ablate --out %s --resume"), out);

          mien_cli_error (message);
          return 130;
        }
      mien_cli_error (error->message);
      return EXIT_FAILURE;
    }
  return EXIT_SUCCESS;
}
