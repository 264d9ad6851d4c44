/* mien-run.c — reading back the run folders that mien-trainer.c writes. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "mien-run.h"

G_DEFINE_QUARK (mien-run-error-quark, mien_run_error)

struct _MienRun
{
  GObject          parent_instance;
  char            *path;
  char            *name;
  MienTrainConfig *config;
  GPtrArray       *epochs;        /* JsonObject, in log order */
  guint            best_epoch;
  MienMetrics     *best_metrics;
  char            *best_model;
  char            *last_model;
  GDateTime       *modified;
};

G_DEFINE_FINAL_TYPE (MienRun, mien_run, G_TYPE_OBJECT)

static void
mien_run_finalize (GObject *object)
{
  MienRun *self = MIEN_RUN (object);

  g_free (self->path);
  g_free (self->name);
  g_clear_pointer (&self->config, mien_train_config_free);
  g_ptr_array_unref (self->epochs);
  g_clear_pointer (&self->best_metrics, mien_metrics_free);
  g_free (self->best_model);
  g_free (self->last_model);
  g_clear_pointer (&self->modified, g_date_time_unref);
  G_OBJECT_CLASS (mien_run_parent_class)->finalize (object);
}

static void
mien_run_class_init (MienRunClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mien_run_finalize;
}

static void
mien_run_init (MienRun *self)
{
  self->epochs = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
}

static gboolean
load_config (MienRun     *self,
             const char  *config_path,
             GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;

  if (!json_parser_load_from_file (parser, config_path, &local_error))
    {
      /* JSON-GLib's message already starts with the file name, line and column. */
      g_set_error_literal (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT, local_error->message);
      return FALSE;
    }
  if (json_parser_get_root (parser) == NULL)
    {
      g_set_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT, _("%s is empty"), config_path);
      return FALSE;
    }
  self->config = mien_train_config_from_json (json_parser_get_root (parser), &local_error);
  if (self->config == NULL)
    {
      g_set_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT, "%s: %s", config_path,
                   local_error->message);
      return FALSE;
    }
  /* The folder may have been moved or copied since the run started: where it is now is what
   * a resume or a listing needs (mien_trainer_new_resume does the same). */
  g_free (self->config->out);
  self->config->out = g_strdup (self->path);
  return TRUE;
}

/* One log record: a JSON object whose "epoch" follows the one before. */
static JsonObject *
parse_record (const char  *line,
              guint        expected_epoch,
              GError     **error)
{
  g_autoptr(JsonNode) node = NULL;
  JsonObject *object;
  JsonNode *epoch;

  node = json_from_string (line, error);
  if (node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT, _("not a JSON object"));
      return NULL;
    }
  object = json_node_get_object (node);
  epoch = json_object_get_member (object, "epoch");
  if (epoch == NULL || !JSON_NODE_HOLDS_VALUE (epoch) ||
      json_node_get_value_type (epoch) != G_TYPE_INT64)
    {
      g_set_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT, _("no epoch number"));
      return NULL;
    }
  /* The trainer rewrites the whole log after each epoch, keeping only the epochs its
   * checkpoint covers on resume, so anything but 1, 2, 3, ... is not its log. */
  if (json_node_get_int (epoch) != expected_epoch)
    {
      g_set_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT,
                   _("epoch %lld where %u was expected"),
                   (long long) json_node_get_int (epoch), expected_epoch);
      return NULL;
    }
  return json_object_ref (object);
}

static gboolean
load_log (MienRun     *self,
          const char  *log_path,
          GError     **error)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) lines = NULL;
  guint n_lines, last = 0;

  if (!g_file_get_contents (log_path, &text, NULL, &local_error))
    {
      /* A run stopped before its first epoch ended has no log yet. */
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  lines = g_strsplit (text, "\n", -1);
  n_lines = g_strv_length (lines);
  for (guint i = 0; i < n_lines; i++)
    if (lines[i][strspn (lines[i], " \t\r")] != '\0')
      last = i + 1;

  for (guint i = 0; i < last; i++)
    {
      JsonObject *record;

      if (lines[i][strspn (lines[i], " \t\r")] == '\0')
        continue;
      record = parse_record (lines[i], self->epochs->len + 1, &local_error);
      if (record != NULL)
        {
          g_ptr_array_add (self->epochs, record);
          continue;
        }
      /* A writer killed in the middle of its last line leaves JSON that does not parse;
       * the epochs before it are whole. */
      if (i + 1 == last && local_error->domain == JSON_PARSER_ERROR)
        {
          g_debug ("%s: dropping the cut-short line %u: %s", log_path, i + 1,
                   local_error->message);
          break;
        }
      g_set_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT, _("%s, line %u: %s"),
                   log_path, i + 1, local_error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
find_best (MienRun     *self,
           const char  *log_path,
           GError     **error)
{
  /* The trainer marks an epoch best when it beats every epoch before it, so the best of the
   * run is the last one marked. */
  for (guint i = self->epochs->len; i > 0; i--)
    {
      JsonObject *record = self->epochs->pdata[i - 1];
      g_autoptr(GError) local_error = NULL;
      JsonNode *val;

      if (!json_object_get_boolean_member_with_default (record, "best", FALSE))
        continue;
      val = json_object_get_member (record, "val");
      self->best_metrics = val != NULL ? mien_metrics_from_json (val, &local_error) : NULL;
      if (self->best_metrics == NULL)
        {
          g_set_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT, _("%s, line %u: %s"),
                       log_path, i, local_error != NULL ? local_error->message
                                                        : _("the best epoch has no metrics"));
          return FALSE;
        }
      self->best_epoch = i;
      break;
    }
  return TRUE;
}

static GDateTime *
modified_time (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInfo) info = NULL;

  info = g_file_query_info (file, G_FILE_ATTRIBUTE_TIME_MODIFIED ","
                            G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC,
                            G_FILE_QUERY_INFO_NONE, NULL, NULL);
  if (info == NULL)
    return NULL;
  return g_file_info_get_modification_date_time (info);
}

static char *
existing_file (const char *dir,
               const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return NULL;
  return g_steal_pointer (&path);
}

MienRun *
mien_run_load (const char  *dir,
               GError     **error)
{
  g_autoptr(MienRun) self = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *log_path = NULL;
  g_autoptr(GDateTime) config_time = NULL;
  g_autoptr(GDateTime) log_time = NULL;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  config_path = g_build_filename (dir, "config.json", NULL);
  log_path = g_build_filename (dir, "log.jsonl", NULL);
  if (!g_file_test (config_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_NOT_A_RUN,
                   _("%s is not a run folder (it has no config.json)"), dir);
      return NULL;
    }

  self = g_object_new (MIEN_TYPE_RUN, NULL);
  self->path = g_strdup (dir);
  self->name = g_path_get_basename (dir);
  if (!load_config (self, config_path, error) ||
      !load_log (self, log_path, error) ||
      !find_best (self, log_path, error))
    return NULL;
  self->best_model = existing_file (dir, "best.safetensors");
  self->last_model = existing_file (dir, "last.safetensors");

  config_time = modified_time (config_path);
  log_time = modified_time (log_path);
  if (config_time != NULL && log_time != NULL)
    self->modified = g_date_time_ref (g_date_time_compare (log_time, config_time) > 0
                                      ? log_time : config_time);
  else if (config_time != NULL)
    self->modified = g_date_time_ref (config_time);
  else
    self->modified = g_date_time_new_now_utc ();
  return g_steal_pointer (&self);
}

const char *
mien_run_get_path (MienRun *self)
{
  g_return_val_if_fail (MIEN_IS_RUN (self), NULL);
  return self->path;
}

const char *
mien_run_get_name (MienRun *self)
{
  g_return_val_if_fail (MIEN_IS_RUN (self), NULL);
  return self->name;
}

const MienTrainConfig *
mien_run_get_config (MienRun *self)
{
  g_return_val_if_fail (MIEN_IS_RUN (self), NULL);
  return self->config;
}

guint
mien_run_get_n_epochs (MienRun *self)
{
  g_return_val_if_fail (MIEN_IS_RUN (self), 0);
  return self->epochs->len;
}

JsonObject *
mien_run_get_epoch (MienRun *self,
                    guint    index)
{
  g_return_val_if_fail (MIEN_IS_RUN (self), NULL);
  g_return_val_if_fail (index < self->epochs->len, NULL);
  return self->epochs->pdata[index];
}

MienRunState
mien_run_get_state (MienRun *self)
{
  g_return_val_if_fail (MIEN_IS_RUN (self), MIEN_RUN_STATE_EMPTY);

  if (self->epochs->len == 0)
    return MIEN_RUN_STATE_EMPTY;
  if (self->epochs->len < self->config->epochs)
    return MIEN_RUN_STATE_INCOMPLETE;
  return MIEN_RUN_STATE_COMPLETE;
}

gboolean
mien_run_can_resume (MienRun *self)
{
  g_return_val_if_fail (MIEN_IS_RUN (self), FALSE);

  switch (mien_run_get_state (self))
    {
    case MIEN_RUN_STATE_EMPTY:
      /* Nothing to lose: the trainer starts it over from config.json. */
      return TRUE;
    case MIEN_RUN_STATE_INCOMPLETE:
      return self->last_model != NULL;
    case MIEN_RUN_STATE_COMPLETE:
    default:
      return FALSE;
    }
}

guint
mien_run_get_best_epoch (MienRun *self)
{
  g_return_val_if_fail (MIEN_IS_RUN (self), 0);
  return self->best_epoch;
}

MienMetrics *
mien_run_get_best_metrics (MienRun *self)
{
  g_return_val_if_fail (MIEN_IS_RUN (self), NULL);
  return self->best_metrics;
}

const char *
mien_run_get_best_model (MienRun *self)
{
  g_return_val_if_fail (MIEN_IS_RUN (self), NULL);
  return self->best_model;
}

const char *
mien_run_get_last_model (MienRun *self)
{
  g_return_val_if_fail (MIEN_IS_RUN (self), NULL);
  return self->last_model;
}

GDateTime *
mien_run_get_modified (MienRun *self)
{
  g_return_val_if_fail (MIEN_IS_RUN (self), NULL);
  return self->modified;
}

static const char *
mode_name (MienMode mode)
{
  switch (mode)
    {
    case MIEN_MODE_PROBE:
      return _("linear probe");
    case MIEN_MODE_FINETUNE:
      return _("fine-tune");
    case MIEN_MODE_DFT:
      return _("DFT");
    default:
      return mien_mode_to_string (mode);
    }
}

char *
mien_run_describe (MienRun *self)
{
  GString *s;
  guint n, planned;

  g_return_val_if_fail (MIEN_IS_RUN (self), NULL);

  n = self->epochs->len;
  planned = self->config->epochs;
  s = g_string_new (self->config->backbone);
  g_string_append (s, " · ");
  g_string_append (s, mode_name (self->config->mode));
  g_string_append (s, " · ");
  if (n < planned)
    /* Translators: epochs finished of epochs planned. */
    g_string_append_printf (s, g_dngettext (GETTEXT_PACKAGE, "%u of %u epoch", "%u of %u epochs",
                                            planned), n, planned);
  else
    g_string_append_printf (s, g_dngettext (GETTEXT_PACKAGE, "%u epoch", "%u epochs", n), n);
  if (self->best_metrics != NULL)
    {
      g_string_append (s, " · ");
      /* Translators: the best validation macro F1 and the epoch that reached it. */
      g_string_append_printf (s, _("best F1 %.3f (epoch %u)"), self->best_metrics->macro_f1,
                              self->best_epoch);
    }
  return g_string_free (s, FALSE);
}

static int
compare_newest_first (gconstpointer a,
                      gconstpointer b)
{
  MienRun *run_a = *(MienRun * const *) a;
  MienRun *run_b = *(MienRun * const *) b;
  int c = g_date_time_compare (run_b->modified, run_a->modified);

  /* Same time (a coarse file system): a stable, predictable order all the same. */
  return c != 0 ? c : g_strcmp0 (run_a->name, run_b->name);
}

GPtrArray *
mien_run_list (const char  *runs_dir,
               GPtrArray  **problems)
{
  g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) found_problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *name;

  g_return_val_if_fail (runs_dir != NULL, NULL);

  dir = g_dir_open (runs_dir, 0, &local_error);
  if (dir == NULL && !g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    g_ptr_array_add (found_problems, g_strdup_printf ("%s: %s", runs_dir, local_error->message));

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (runs_dir, name, NULL);
      g_autofree char *config_path = g_build_filename (path, "config.json", NULL);
      g_autoptr(GError) run_error = NULL;
      MienRun *run;

      /* Other folders (datasets, exported models) may live beside the runs. */
      if (!g_file_test (config_path, G_FILE_TEST_EXISTS))
        continue;
      run = mien_run_load (path, &run_error);
      if (run == NULL)
        {
          g_ptr_array_add (found_problems, g_strdup_printf ("%s: %s", path, run_error->message));
          continue;
        }
      g_ptr_array_add (runs, run);
    }

  g_ptr_array_sort (runs, compare_newest_first);
  if (problems != NULL)
    *problems = g_steal_pointer (&found_problems);
  return g_steal_pointer (&runs);
}
