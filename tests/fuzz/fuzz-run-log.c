/* fuzz-run-log.c — a run folder's log.jsonl (mien_run_load in app/core/mien-run.c).
 *
 * The folder holds a valid config.json (the defaults and a dataset, as the trainer writes them)
 * and the input as log.jsonl. A run that loads is read back through every getter the front ends use.
 */
#include <string.h>

#include <json-glib/json-glib.h>

#include "mien-json.h"
#include "mien-run.h"
#include "fuzz-util.h"

static void
write_config (void)
{
  static gboolean done;
  g_autoptr(MienTrainConfig) config = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  if (done)
    return;
  done = TRUE;
  config = mien_train_config_new ();
  config->data = g_strdup ("/nonexistent/dataset");
  config->out = g_strdup (mien_fuzz_dir ());
  node = mien_train_config_to_json (config);
  text = mien_json_to_string (node, TRUE);
  path = mien_fuzz_write_file ("config.json", text, strlen (text));

  /* Inputs can only reach the log's parser if the configuration passes: a rule added to it
   * later must fail here, not leave the fuzzer testing nothing. */
  {
    g_autoptr(MienRun) run = mien_run_load (mien_fuzz_dir (), &error);

    g_assert_no_error (error);
    g_assert_cmpuint (mien_run_get_n_epochs (run), ==, 0);
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *log_path = NULL;
  g_autoptr(MienRun) run = NULL;
  g_autoptr(GError) error = NULL;
  guint best;

  mien_fuzz_init ();
  write_config ();
  log_path = mien_fuzz_write_file ("log.jsonl", data, size);

  run = mien_run_load (mien_fuzz_dir (), &error);
  if (run == NULL)
    {
      mien_fuzz_assert_error (error, 0);
      g_assert_true (error->domain == MIEN_RUN_ERROR || error->domain == G_FILE_ERROR);
      return 0;
    }
  g_assert_no_error (error);

  for (guint i = 0; i < mien_run_get_n_epochs (run); i++)
    g_assert_nonnull (mien_run_get_epoch (run, i));
  mien_run_get_state (run);
  mien_run_can_resume (run);
  best = mien_run_get_best_epoch (run);
  g_assert_cmpuint (best, <=, mien_run_get_n_epochs (run));
  g_assert_true ((best == 0) == (mien_run_get_best_metrics (run) == NULL));
  return 0;
}
