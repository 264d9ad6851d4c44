/* mien-run.c — the run folder's format: reading, repairing and writing it (see mien-run.h). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mien-json.h"
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
  MienRunCheckpoint checkpoint;
  gboolean         has_checkpoint;
  gboolean         rewrite_log;   /* the log on disk differs from `epochs` */
  GPtrArray       *temporaries;   /* paths of stale temporaries */
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
  g_clear_pointer (&self->checkpoint.record, json_object_unref);
  g_ptr_array_unref (self->temporaries);
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
  self->temporaries = g_ptr_array_new_with_free_func (g_free);
}

/* Errors of the readers below, whatever their domain, become MIEN_RUN_ERROR_CORRUPT: their
 * messages already name the file, line and key. */
static gboolean
corrupt (GError **error,
         GError  *cause)
{
  g_set_error_literal (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT, cause->message);
  g_error_free (cause);
  return FALSE;
}

static gboolean
load_config (MienRun     *self,
             const char  *config_path,
             GError     **error)
{
  g_autoptr(JsonObject) object = NULL;
  g_autofree char *display = g_filename_display_name (config_path);
  GError *local_error = NULL;

  object = mien_json_load_object (config_path, &local_error);
  if (object != NULL)
    self->config = mien_train_config_from_json (object, display, &local_error);
  if (self->config == NULL)
    return corrupt (error, local_error);
  /* The folder may have been moved or copied since the run started: where it is now is what
   * a resume or a listing needs. */
  g_free (self->config->out);
  self->config->out = g_strdup (self->path);
  return TRUE;
}

/* One log record: an object whose "epoch" is `expected_epoch` (the trainer writes 1, 2, 3,
 * …) and whose other members, when there, have their types. */
static gboolean
check_record (JsonObject  *record,
              const char  *source,
              guint        expected_epoch,
              GError     **error)
{
  gint64 epoch = 0;
  gboolean best = FALSE;
  JsonObject *val = NULL;
  double value = 0.0;
  static const char * const numbers[] = {
    "lr", "train_loss", "train_accuracy", "val_loss", "val_macro_f1", "val_accuracy",
  };

  if (!mien_json_get_int (record, source, "epoch", MIEN_JSON_REQUIRED, 1, G_MAXUINT, &epoch,
                          error) ||
      !mien_json_get_boolean (record, source, "best", MIEN_JSON_OPTIONAL, &best, error) ||
      !mien_json_get_object (record, source, "val", best ? MIEN_JSON_REQUIRED
                                                         : MIEN_JSON_OPTIONAL, &val, error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    if (!mien_json_get_double (record, source, numbers[i], MIEN_JSON_OPTIONAL, -G_MAXDOUBLE,
                               G_MAXDOUBLE, &value, error))
      return FALSE;
  if (epoch != expected_epoch)
    {
      g_set_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT,
                   _("%s: epoch %lld where %u was expected"), source,
                   (long long) epoch, expected_epoch);
      return FALSE;
    }
  return TRUE;
}

static gboolean
load_log (MienRun     *self,
          const char  *log_path,
          GError     **error)
{
  g_autofree char *text = NULL;
  g_autofree char *display = g_filename_display_name (log_path);
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
      g_autofree char *source = NULL;
      g_autoptr(JsonObject) record = NULL;

      if (lines[i][strspn (lines[i], " \t\r")] == '\0')
        continue;
      /* Translators: a file and a line number in it. */
      source = g_strdup_printf (_("%s, line %u"), display, i + 1);
      record = mien_json_parse_object (lines[i], -1, source, &local_error);
      if (record != NULL &&
          check_record (record, source, self->epochs->len + 1, &local_error))
        {
          g_ptr_array_add (self->epochs, g_steal_pointer (&record));
          continue;
        }
      /* A writer killed in the middle of its last line leaves JSON that does not parse;
       * the epochs before it are whole. */
      if (i + 1 == last && g_error_matches (local_error, MIEN_JSON_ERROR,
                                            MIEN_JSON_ERROR_SYNTAX))
        {
          g_debug ("%s: dropping the cut-short line: %s", source, local_error->message);
          self->rewrite_log = TRUE;
          break;
        }
      return corrupt (error, g_steal_pointer (&local_error));
    }
  return TRUE;
}

static gboolean
checkpoint_from_json (JsonObject         *meta,
                      const char         *source,
                      MienRunCheckpoint  *cp,
                      GError            **error)
{
  JsonObject *trainer = NULL, *record = NULL;
  gint64 epoch = 0, best_epoch = 0;
  g_autofree char *record_source = NULL;

  if (!mien_json_get_object (meta, source, MIEN_RUN_CHECKPOINT_KEY, MIEN_JSON_REQUIRED,
                             &trainer, error) ||
      !mien_json_get_int (trainer, source, "epoch", MIEN_JSON_REQUIRED, 1, G_MAXUINT, &epoch,
                          error) ||
      !mien_json_get_int (trainer, source, "step", MIEN_JSON_REQUIRED, 0, G_MAXINT64,
                          &cp->step, error) ||
      !mien_json_get_int (trainer, source, "best_epoch", MIEN_JSON_REQUIRED, 0, epoch,
                          &best_epoch, error) ||
      !mien_json_get_double (trainer, source, "best_macro_f1", MIEN_JSON_REQUIRED, -1.0, 1.0,
                             &cp->best_macro_f1, error) ||
      /* Checkpoints written before the record was carried have none. */
      !mien_json_get_object (trainer, source, "record", MIEN_JSON_OPTIONAL, &record, error))
    return FALSE;
  record_source = g_strdup_printf ("%s (%s.record)", source, MIEN_RUN_CHECKPOINT_KEY);
  if (record != NULL && !check_record (record, record_source, epoch, error))
    return FALSE;
  cp->epoch = (guint) epoch;
  cp->best_epoch = (guint) best_epoch;
  cp->record = record != NULL ? json_object_ref (record) : NULL;
  return TRUE;
}

/* Reads last.safetensors' trainer state and lines the log up with it (see mien-run.h). */
static gboolean
load_checkpoint (MienRun     *self,
                 GError     **error)
{
  g_autoptr(JsonObject) meta = NULL;
  g_autofree char *display = g_filename_display_name (self->last_model);
  GError *local_error = NULL;
  guint n = self->epochs->len;

  meta = mien_model_read_metadata (self->last_model, &local_error);
  if (meta == NULL || !checkpoint_from_json (meta, display, &self->checkpoint, &local_error))
    return corrupt (error, local_error);
  self->has_checkpoint = TRUE;

  if (self->checkpoint.epoch == n + 1 && self->checkpoint.record != NULL)
    {
      /* Killed between the checkpoint and the log. */
      g_ptr_array_add (self->epochs, json_object_ref (self->checkpoint.record));
      self->rewrite_log = TRUE;
    }
  else if (self->checkpoint.epoch < n)
    {
      /* The later epochs are redone from the checkpoint, as they would have been. */
      g_ptr_array_set_size (self->epochs, self->checkpoint.epoch);
      self->rewrite_log = TRUE;
    }
  else if (self->checkpoint.epoch != n)
    {
      g_set_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_CORRUPT,
                   _("%s holds epoch %u but the log ends at epoch %u: the epochs between are "
                     "lost"), display, self->checkpoint.epoch, n);
      return FALSE;
    }
  return TRUE;
}

static const char * const run_files[] = {
  "config.json", "log.jsonl", "last.safetensors", "best.safetensors",
};

/* "NAME.XXXXXX", where NAME is a file of the run and XXXXXX what g_mkstemp () puts there. */
static gboolean
is_temporary (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (run_files); i++)
    {
      gsize len = strlen (run_files[i]);
      const char *suffix = name + len;

      if (strncmp (name, run_files[i], len) != 0 || suffix[0] != '.' || strlen (suffix) != 7)
        continue;
      for (guint j = 1; j < 7; j++)
        if (!g_ascii_isalnum (suffix[j]))
          return FALSE;
      return TRUE;
    }
  return FALSE;
}

/* Sorts the entries of `dir` into the run's temporaries and the rest. */
static gboolean
scan_folder (const char  *dir,
             GPtrArray   *temporaries,
             GPtrArray   *others,
             GError     **error)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, error);
  const char *name;

  if (d == NULL)
    return FALSE;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      if (is_temporary (name))
        g_ptr_array_add (temporaries, g_build_filename (dir, name, NULL));
      else if (others != NULL)
        g_ptr_array_add (others, g_strdup (name));
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
  self->best_model = existing_file (dir, "best.safetensors");
  self->last_model = existing_file (dir, "last.safetensors");
  if (!load_config (self, config_path, error) ||
      !load_log (self, log_path, error) ||
      (self->last_model != NULL && !load_checkpoint (self, error)) ||
      !find_best (self, log_path, error) ||
      !scan_folder (dir, self->temporaries, NULL, error))
    return NULL;

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

  return mien_run_get_state (self) != MIEN_RUN_STATE_COMPLETE &&
         mien_run_check_resumable (self, NULL);
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

gboolean
mien_run_needs_repair (MienRun *self)
{
  g_return_val_if_fail (MIEN_IS_RUN (self), FALSE);
  return self->rewrite_log || self->temporaries->len > 0;
}

const MienRunCheckpoint *
mien_run_get_checkpoint (MienRun *self)
{
  g_return_val_if_fail (MIEN_IS_RUN (self), NULL);
  return self->has_checkpoint ? &self->checkpoint : NULL;
}

JsonObject *
mien_run_checkpoint_to_json (const MienRunCheckpoint *checkpoint)
{
  JsonObject *o = json_object_new ();

  g_return_val_if_fail (checkpoint != NULL, o);

  json_object_set_int_member (o, "epoch", checkpoint->epoch);
  json_object_set_int_member (o, "step", checkpoint->step);
  json_object_set_int_member (o, "best_epoch", checkpoint->best_epoch);
  json_object_set_double_member (o, "best_macro_f1", checkpoint->best_macro_f1);
  if (checkpoint->record != NULL)
    json_object_set_object_member (o, "record", json_object_ref (checkpoint->record));
  return o;
}

/* The epoch best.safetensors holds, 0 when it cannot be read. */
static guint
best_model_epoch (MienRun *self)
{
  g_autoptr(JsonObject) meta = mien_model_read_metadata (self->best_model, NULL);
  gint64 epoch = 0;

  if (meta == NULL ||
      !mien_json_get_int (meta, self->best_model, "epoch", MIEN_JSON_REQUIRED, 1, G_MAXUINT,
                          &epoch, NULL))
    return 0;
  return (guint) epoch;
}

gboolean
mien_run_check_resumable (MienRun  *self,
                          GError  **error)
{
  g_return_val_if_fail (MIEN_IS_RUN (self), FALSE);

  if (self->last_model != NULL)
    return TRUE;
  /* Without a checkpoint the trainer starts over, which is only right when nothing was
   * trained: a kill in the first epoch (after best.safetensors of epoch 1, at most). */
  if (self->epochs->len == 0 && (self->best_model == NULL || best_model_epoch (self) == 1))
    return TRUE;
  g_set_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_NO_CHECKPOINT,
               _("%s holds a trained run (%s) but no last.safetensors to continue from, and "
                 "starting over would replace best.safetensors; start a new run in another "
                 "folder"), self->path,
               self->epochs->len > 0 ? _("log.jsonl lists finished epochs")
                                     : _("best.safetensors is from a later epoch than the first"));
  return FALSE;
}

static gboolean
write_log (MienRun  *self,
           GError  **error)
{
  g_autofree char *path = g_build_filename (self->path, "log.jsonl", NULL);
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < self->epochs->len; i++)
    {
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (),
                                                        self->epochs->pdata[i]);
      g_autofree char *line = mien_json_to_string (node, FALSE);

      g_string_append (text, line);
      g_string_append_c (text, '\n');
    }
  if (!g_file_set_contents_full (path, text->str, text->len, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0644, error))
    return FALSE;
  self->rewrite_log = FALSE;
  return TRUE;
}

static void
remove_temporaries (MienRun *self)
{
  for (guint i = 0; i < self->temporaries->len; i++)
    if (g_unlink (self->temporaries->pdata[i]) != 0 && errno != ENOENT)
      g_warning ("Cannot remove %s: %s", (char *) self->temporaries->pdata[i],
                 g_strerror (errno));
  g_ptr_array_set_size (self->temporaries, 0);
}

MienRun *
mien_run_open_for_resume (const char  *dir,
                          GError     **error)
{
  g_autoptr(MienRun) self = NULL;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = mien_run_load (dir, error);
  if (self == NULL || !mien_run_check_resumable (self, error))
    return NULL;
  /* Only now: a listing must not remove the temporaries of a run training elsewhere. */
  remove_temporaries (self);
  if (self->rewrite_log && !write_log (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

gboolean
mien_run_check_new (const char  *dir,
                    GError     **error)
{
  g_autoptr(GPtrArray) temporaries = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) others = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *names = NULL;

  g_return_val_if_fail (dir != NULL, FALSE);

  if (!scan_folder (dir, temporaries, others, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (others->len == 0)
    return TRUE;
  for (guint i = 0; i < others->len; i++)
    if (g_str_equal (others->pdata[i], "config.json"))
      {
        g_set_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_EXISTS,
                     _("%s already holds a run: resume it, or choose another folder"), dir);
        return FALSE;
      }
  g_ptr_array_sort (others, compare_names);
  g_ptr_array_add (others, NULL);
  names = g_strjoinv (", ", (char **) others->pdata);
  g_set_error (error, MIEN_RUN_ERROR, MIEN_RUN_ERROR_USER_FILES,
               _("%s is not empty (it holds %s) and is not a run folder: choose an empty or new "
                 "folder"), dir, names);
  return FALSE;
}

MienRun *
mien_run_create (const char             *dir,
                 const MienTrainConfig  *config,
                 GError                **error)
{
  g_autoptr(MienRun) self = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;
  g_autofree char *config_path = NULL;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (config != NULL, NULL);

  if (!mien_run_check_new (dir, error))
    return NULL;
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot create the run folder %s: %s"), dir, g_strerror (saved_errno));
      return NULL;
    }
  config_path = g_build_filename (dir, "config.json", NULL);
  node = mien_train_config_to_json (config);
  text = mien_json_to_string (node, TRUE);
  if (!g_file_set_contents_full (config_path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                 error))
    return NULL;
  return mien_run_load (dir, error);
}

gboolean
mien_run_add_epoch (MienRun     *self,
                    JsonObject  *record,
                    GError     **error)
{
  g_autofree char *source = NULL;

  g_return_val_if_fail (MIEN_IS_RUN (self), FALSE);
  g_return_val_if_fail (record != NULL, FALSE);

  source = g_strdup_printf ("%s (epoch record)", self->path);
  if (!check_record (record, source, self->epochs->len + 1, error))
    return FALSE;
  g_ptr_array_add (self->epochs, json_object_ref (record));
  if (!write_log (self, error))
    {
      g_ptr_array_set_size (self->epochs, self->epochs->len - 1);
      return FALSE;
    }
  if (json_object_get_boolean_member_with_default (record, "best", FALSE))
    {
      g_clear_pointer (&self->best_metrics, mien_metrics_free);
      return find_best (self, self->path, error);
    }
  return TRUE;
}
