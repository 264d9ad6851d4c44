/* mien-ablation.c — the experiment queue (see mien-ablation.h). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mien-ablation.h"
#include "mien-dataset.h"
#include "mien-ensemble.h"
#include "mien-json.h"
#include "mien-run.h"

G_DEFINE_QUARK (mien-ablation-error-quark, mien_ablation_error)

static const char paper_plan[] =
  "[\n"
  "  {\"name\": \"baseline\"},\n"
  "  {\"name\": \"smoothing-0.1\", \"config\": {\"smoothing\": 0.1}},\n"
  "  {\"name\": \"smoothing-0.2\", \"config\": {\"smoothing\": 0.2}},\n"
  "  {\"name\": \"smoothing-0.4\", \"config\": {\"smoothing\": 0.4}},\n"
  "  {\"name\": \"weights-paper\", \"config\": {\"imbalance\": \"weighted\", "
  "\"class_weights\": \"paper\"}},\n"
  "  {\"name\": \"weights-auto\", \"config\": {\"imbalance\": \"weighted\", "
  "\"class_weights\": \"auto\"}},\n"
  "  {\"name\": \"upsample\", \"config\": {\"imbalance\": \"upsample\"}},\n"
  "  {\"name\": \"onthefly\", \"config\": {\"imbalance\": \"onthefly\"}},\n"
  "  {\"name\": \"upsample-weights\", \"config\": {\"imbalance\": \"upsample+weighted\"}},\n"
  "  {\"name\": \"dft\", \"config\": {\"mode\": \"dft\"}, \"from\": \"baseline\"},\n"
  "  {\"name\": \"ensemble\", \"ensemble\": 3}\n"
  "]\n";

const char *
mien_ablation_paper_plan (void)
{
  return paper_plan;
}

struct _MienAblation
{
  GObject          parent_instance;
  char            *dir;
  char            *file;   /* DIR/ablation.json, for errors */
  MienTrainConfig *base;
  JsonArray       *plan;
};

G_DEFINE_FINAL_TYPE (MienAblation, mien_ablation, G_TYPE_OBJECT)

static void
mien_ablation_finalize (GObject *object)
{
  MienAblation *self = MIEN_ABLATION (object);

  g_free (self->dir);
  g_free (self->file);
  g_clear_pointer (&self->base, mien_train_config_free);
  g_clear_pointer (&self->plan, json_array_unref);
  G_OBJECT_CLASS (mien_ablation_parent_class)->finalize (object);
}

static void
mien_ablation_class_init (MienAblationClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mien_ablation_finalize;
}

static void
mien_ablation_init (MienAblation *self)
{
}

static gboolean
plan_error (GError    **error,
            const char *source,
            guint       index,
            const char *message)
{
  /* Translators: a file, a step's number (1-based), what is wrong with it. */
  g_set_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_PLAN, _("%s, step %u: %s"),
               source, index + 1, message);
  return FALSE;
}

static gboolean
is_plain_name (const char *name)
{
  if (*name == '\0' || *name == '.')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '-' && *p != '_')
      return FALSE;
  /* The queue's own files share the folder. */
  return !g_str_equal (name, MIEN_ABLATION_FILE) && !g_str_has_prefix (name, "tables.");
}

static gboolean
is_training_step (JsonObject *step)
{
  return !json_object_has_member (step, "ensemble");
}

/* The training step named `name` before `index`, or -1. */
static int
find_earlier_step (JsonArray  *plan,
                   guint       index,
                   const char *name)
{
  for (guint i = 0; i < index; i++)
    {
      JsonObject *step = json_array_get_object_element (plan, i);

      if (is_training_step (step) &&
          g_strcmp0 (json_object_get_string_member (step, "name"), name) == 0)
        return (int) i;
    }
  return -1;
}

static gboolean
check_ensemble (JsonArray  *plan,
                guint       index,
                JsonNode   *members,
                const char *source,
                GError    **error)
{
  if (JSON_NODE_HOLDS_VALUE (members) && json_node_get_value_type (members) == G_TYPE_INT64)
    {
      gint64 n = json_node_get_int (members);
      guint n_training = 0;

      for (guint i = 0; i < index; i++)
        n_training += is_training_step (json_array_get_object_element (plan, i));
      if (n < 1 || n > n_training)
        return plan_error (error, source, index,
                           _("“ensemble” has to be a number of earlier training steps, 1 to "
                             "their count, or a list of their names"));
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (members) || json_array_get_length (json_node_get_array (members)) == 0)
    return plan_error (error, source, index,
                       _("“ensemble” has to be a number or a list of earlier training steps’ "
                         "names"));
  for (guint m = 0; m < json_array_get_length (json_node_get_array (members)); m++)
    {
      JsonNode *member = json_array_get_element (json_node_get_array (members), m);

      if (!JSON_NODE_HOLDS_VALUE (member) || json_node_get_value_type (member) != G_TYPE_STRING ||
          find_earlier_step (plan, index, json_node_get_string (member)) < 0)
        return plan_error (error, source, index,
                           _("“ensemble” names a step that is not an earlier training step"));
    }
  return TRUE;
}

/* Every step of `plan` is well formed: known members of the right types, config members that
 * config.json has, names unique and plain, references to earlier training steps only. */
static gboolean
check_plan (JsonArray   *plan,
            const char  *source,
            GError     **error)
{
  g_autoptr(MienTrainConfig) defaults = mien_train_config_new ();
  g_autoptr(JsonNode) known = mien_train_config_to_json (defaults);
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  guint n = json_array_get_length (plan);

  if (n == 0)
    {
      g_set_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_PLAN,
                   _("%s: the plan has no steps"), source);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (plan, i);
      JsonObject *step;
      const char *name = NULL, *from = NULL;
      JsonObject *config = NULL;
      g_autoptr(GList) members = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return plan_error (error, source, i, _("a step has to be a JSON object"));
      step = json_node_get_object (node);
      members = json_object_get_members (step);
      for (GList *l = members; l != NULL; l = l->next)
        if (!g_strv_contains ((const char * const[]) { "name", "config", "from", "ensemble", NULL },
                              l->data))
          {
            g_autofree char *message = g_strdup_printf (
              _("unknown member “%s” (a step has name, config, from or ensemble)"),
              (const char *) l->data);
            return plan_error (error, source, i, message);
          }
      if (!mien_json_get_string (step, source, "name", MIEN_JSON_REQUIRED, &name, error) ||
          !mien_json_get_string (step, source, "from", MIEN_JSON_OPTIONAL, &from, error) ||
          !mien_json_get_object (step, source, "config", MIEN_JSON_OPTIONAL, &config, error))
        return FALSE;
      if (!is_plain_name (name))
        return plan_error (error, source, i,
                           _("“name” has to be a folder name of letters, digits, “.”, “-” and "
                             "“_”"));
      if (!g_hash_table_add (names, (gpointer) name))
        return plan_error (error, source, i, _("two steps have the same name"));
      if (!is_training_step (step))
        {
          if (config != NULL || from != NULL)
            return plan_error (error, source, i,
                               _("an ensemble step trains nothing: it has no config or from"));
          if (!check_ensemble (plan, i, json_object_get_member (step, "ensemble"), source,
                               error))
            return FALSE;
          continue;
        }
      if (from != NULL && find_earlier_step (plan, i, from) < 0)
        return plan_error (error, source, i, _("“from” names no earlier training step"));
      g_clear_pointer (&members, g_list_free);
      members = config != NULL ? json_object_get_members (config) : NULL;
      for (GList *l = members; l != NULL; l = l->next)
        if (!json_object_has_member (json_node_get_object (known), l->data) ||
            strcmp (l->data, "out") == 0)
          {
            g_autofree char *message = g_strdup_printf (
              _("“config” has no member “%s” that a run’s config.json has"),
              (const char *) l->data);
            return plan_error (error, source, i, message);
          }
    }
  return TRUE;
}

JsonArray *
mien_ablation_parse_plan (const char  *text,
                          gssize       length,
                          const char  *source,
                          GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  JsonNode *root;

  if (!json_parser_load_from_data (parser, text, length, &local))
    {
      g_set_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_PLAN, "%s: %s", source,
                   local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    {
      g_set_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_PLAN,
                   _("%s: a plan has to be a JSON array of steps"), source);
      return NULL;
    }
  if (!check_plan (json_node_get_array (root), source, error))
    return NULL;
  return json_array_ref (json_node_get_array (root));
}

static JsonObject *
get_step (MienAblation *self,
          guint         index)
{
  return json_array_get_object_element (self->plan, index);
}

static char *
step_path (MienAblation *self,
           guint         index)
{
  return g_build_filename (self->dir, json_object_get_string_member (get_step (self, index),
                                                                     "name"), NULL);
}

/* The best model of training step `index`, or NULL with MIEN_ABLATION_ERROR_ORDER. */
static char *
step_best_model (MienAblation  *self,
                 guint          index,
                 GError       **error)
{
  g_autofree char *path = step_path (self, index);
  g_autoptr(MienRun) run = mien_run_load (path, NULL);

  if (run == NULL || mien_run_get_best_model (run) == NULL)
    {
      g_set_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_ORDER,
                   _("%s has no best.safetensors yet"), path);
      return NULL;
    }
  return g_strdup (mien_run_get_best_model (run));
}

/* The configuration of training step `index`: the base with the step's members. With
 * `check_only` a "from" step is built without its pretrained model (which may not exist yet). */
static MienTrainConfig *
step_config (MienAblation  *self,
             guint          index,
             gboolean       check_only,
             GError       **error)
{
  JsonObject *step = get_step (self, index);
  JsonObject *overrides = json_object_has_member (step, "config")
                         ? json_object_get_object_member (step, "config") : NULL;
  const char *from = json_object_get_string_member_with_default (step, "from", NULL);
  g_autoptr(JsonNode) node = mien_train_config_to_json (self->base);
  JsonObject *object = json_node_get_object (node);
  g_autofree char *out = step_path (self, index);
  g_autofree char *source = g_strdup_printf (_("%s, step “%s”"), self->file,
                                             json_object_get_string_member (step, "name"));
  g_autoptr(GList) members = overrides != NULL ? json_object_get_members (overrides) : NULL;
  g_autoptr(MienTrainConfig) config = NULL;
  gboolean paper = FALSE;

  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *value = json_object_get_member (overrides, l->data);

      /* "paper" names weights that depend on the order of the classes, known only here. */
      if (strcmp (l->data, "class_weights") == 0 &&
          g_strcmp0 (json_node_get_string (value), "paper") == 0)
        paper = TRUE;
      else
        json_object_set_member (object, l->data, json_node_copy (value));
    }
  json_object_set_string_member (object, "out", out);
  if (from != NULL)
    {
      int from_index = find_earlier_step (self->plan, index, from);
      g_autoptr(MienTrainConfig) from_config = step_config (self, (guint) from_index, TRUE,
                                                            error);

      if (from_config == NULL)
        return NULL;
      /* The model it starts from was normalised its own way; "auto" would switch to
       * ImageNet's because there now are pretrained weights. */
      if (overrides == NULL || !json_object_has_member (overrides, "normalisation"))
        json_object_set_string_member (object, "normalisation",
                                       mien_normalisation_to_string (
                                         mien_train_config_get_normalisation (from_config)));
      if (!check_only)
        {
          g_autofree char *best = step_best_model (self, (guint) from_index, error);

          if (best == NULL)
            return NULL;
          json_object_set_string_member (object, "pretrained", best);
        }
    }
  config = mien_train_config_from_json (object, source, error);
  if (config == NULL)
    return NULL;
  if (paper)
    {
      g_autoptr(MienDataset) train = NULL;
      g_autoptr(MienDataset) val = NULL;
      const char * const *classes;

      if (!mien_train_config_open_datasets (config, &train, &val, error))
        return NULL;
      classes = mien_dataset_get_classes (train);
      g_free (config->weights);
      config->n_weights = mien_dataset_get_n_classes (train);
      config->weights = g_new0 (double, MAX (config->n_weights, 1));
      if (!mien_class_weights_paper (classes, config->weights))
        {
          g_autofree char *names = g_strjoinv (", ", (char **) classes);

          g_set_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_PLAN,
                       _("%s: the paper’s class weights are for anger, disgust, fear, "
                         "happiness, sadness and surprise, not %s"), source, names);
          return NULL;
        }
      config->class_weights = MIEN_CLASS_WEIGHTS_CUSTOM;
    }
  if (!mien_train_config_validate (config, error))
    {
      g_prefix_error (error, "%s: ", source);
      return NULL;
    }
  return g_steal_pointer (&config);
}

static MienAblation *
ablation_new (const char      *dir,
              MienTrainConfig *base,
              JsonArray       *plan)
{
  MienAblation *self = g_object_new (MIEN_TYPE_ABLATION, NULL);

  self->dir = g_strdup (dir);
  self->file = g_build_filename (dir, MIEN_ABLATION_FILE, NULL);
  self->base = base;
  self->plan = json_array_ref (plan);
  return self;
}

static gboolean
is_empty_folder (const char  *dir,
                 GError     **error)
{
  g_autoptr(GDir) d = NULL;

  if (!g_file_test (dir, G_FILE_TEST_EXISTS))
    return TRUE;
  d = g_dir_open (dir, 0, error);
  return d != NULL && g_dir_read_name (d) == NULL;
}

MienAblation *
mien_ablation_create (const char             *dir,
                      const MienTrainConfig  *base,
                      JsonArray              *plan,
                      GError                **error)
{
  g_autoptr(MienAblation) self = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (dir != NULL && base != NULL && plan != NULL, NULL);

  if (!is_empty_folder (dir, &local))
    {
      g_autofree char *file = g_build_filename (dir, MIEN_ABLATION_FILE, NULL);

      if (local != NULL)
        g_propagate_error (error, g_steal_pointer (&local));
      else if (g_file_test (file, G_FILE_TEST_EXISTS))
        g_set_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_EXISTS,
                     _("%s already holds an experiment queue; continue it with --resume or "
                       "choose another folder"), dir);
      else
        g_set_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_EXISTS,
                     _("%s holds other files; an experiment queue needs a new or empty "
                       "folder"), dir);
      return NULL;
    }
  self = ablation_new (dir, mien_train_config_copy (base), plan);
  /* Every step's configuration is checked now, not hours later when its turn comes. */
  for (guint i = 0; i < json_array_get_length (plan); i++)
    {
      g_autoptr(MienTrainConfig) config = NULL;

      if (is_training_step (get_step (self, i)) &&
          (config = step_config (self, i, TRUE, error)) == NULL)
        return NULL;
    }

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "base");
  json_builder_add_value (b, mien_train_config_to_json (self->base));
  json_builder_set_member_name (b, "plan");
  json_builder_add_value (b, json_node_init_array (json_node_alloc (), plan));
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = mien_json_to_string (root, TRUE);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot create %s: %s"), dir, g_strerror (saved));
      return NULL;
    }
  if (!g_file_set_contents_full (self->file, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                 error))
    return NULL;
  return g_steal_pointer (&self);
}

static gboolean
get_plan (JsonObject  *root,
          const char  *file,
          JsonArray  **plan,
          GError     **error)
{
  JsonNode *node = json_object_get_member (root, "plan");

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_PLAN,
                   _("%s: “plan” has to be a JSON array of steps"), file);
      return FALSE;
    }
  *plan = json_node_get_array (node);
  return check_plan (*plan, file, error);
}

MienAblation *
mien_ablation_open (const char  *dir,
                    GError     **error)
{
  g_autofree char *file = g_build_filename (dir, MIEN_ABLATION_FILE, NULL);
  g_autoptr(JsonObject) root = NULL;
  JsonObject *base_object = NULL;
  JsonArray *plan = NULL;
  MienTrainConfig *base;

  g_return_val_if_fail (dir != NULL, NULL);

  if ((root = mien_json_load_object (file, error)) == NULL ||
      !mien_json_get_object (root, file, "base", MIEN_JSON_REQUIRED, &base_object, error) ||
      !get_plan (root, file, &plan, error) ||
      (base = mien_train_config_from_json (base_object, file, error)) == NULL)
    return NULL;
  return ablation_new (dir, base, plan);
}

guint
mien_ablation_get_n_steps (MienAblation *self)
{
  g_return_val_if_fail (MIEN_IS_ABLATION (self), 0);
  return json_array_get_length (self->plan);
}

const char *
mien_ablation_get_step_name (MienAblation *self,
                             guint         index)
{
  g_return_val_if_fail (MIEN_IS_ABLATION (self), NULL);
  g_return_val_if_fail (index < mien_ablation_get_n_steps (self), NULL);
  return json_object_get_string_member (get_step (self, index), "name");
}

gboolean
mien_ablation_step_is_done (MienAblation *self,
                            guint         index)
{
  g_autofree char *path = NULL;
  g_autoptr(MienRun) run = NULL;

  g_return_val_if_fail (MIEN_IS_ABLATION (self), FALSE);
  g_return_val_if_fail (index < mien_ablation_get_n_steps (self), FALSE);
  if (!is_training_step (get_step (self, index)))
    return TRUE;
  path = step_path (self, index);
  run = mien_run_load (path, NULL);
  return run != NULL && mien_run_get_state (run) == MIEN_RUN_STATE_COMPLETE;
}

gboolean
mien_ablation_run (MienAblation         *self,
                   MienPluginEngine     *engine,
                   MienAblationStepFunc  func,
                   gpointer              user_data,
                   GCancellable         *cancellable,
                   GError              **error)
{
  g_return_val_if_fail (MIEN_IS_ABLATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; i < mien_ablation_get_n_steps (self); i++)
    {
      g_autofree char *path = NULL;
      g_autoptr(MienRun) run = NULL;
      g_autoptr(MienTrainer) trainer = NULL;
      g_autoptr(GError) local = NULL;

      if (!is_training_step (get_step (self, i)))
        continue;
      path = step_path (self, i);
      run = mien_run_load (path, &local);
      if (run != NULL)
        {
          if (mien_run_get_state (run) == MIEN_RUN_STATE_COMPLETE)
            continue;
          /* Half-trained (or configured and killed before its first epoch). */
          trainer = mien_trainer_new_resume (engine, path, 0, NULL, 0, error);
          if (trainer == NULL)
            return FALSE;
        }
      else if (g_error_matches (local, MIEN_RUN_ERROR, MIEN_RUN_ERROR_NOT_A_RUN))
        {
          g_autoptr(MienTrainConfig) config = step_config (self, i, FALSE, error);

          if (config == NULL)
            return FALSE;
          trainer = mien_trainer_new (engine, config);
        }
      else
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      if (func != NULL)
        func (self, i, trainer, user_data);
      if (!mien_trainer_run (trainer, cancellable, error))
        return FALSE;
    }
  return TRUE;
}

/* What `mien-cli eval --model MODEL… --data VAL` computes. */
static MienMetrics *
evaluate_models (MienPluginEngine       *engine,
                 const char * const     *models,
                 const MienTrainConfig  *config,
                 GCancellable           *cancellable,
                 GError                **error)
{
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(MienDataset) train = NULL;
  g_autoptr(MienDataset) val = NULL;

  ensemble = mien_ensemble_load (engine, models, config->device, error);
  if (ensemble == NULL ||
      !mien_train_config_open_datasets (config, &train, &val, error))
    return NULL;
  return mien_ensemble_evaluate (ensemble, val, config->workers, NULL, NULL, NULL, NULL,
                                 cancellable, error);
}

static int
compare_macro_f1 (gconstpointer a,
                  gconstpointer b,
                  gpointer      metrics)
{
  double fa = ((MienMetrics *) g_ptr_array_index ((GPtrArray *) metrics,
                                                  *(const guint *) a))->macro_f1;
  double fb = ((MienMetrics *) g_ptr_array_index ((GPtrArray *) metrics,
                                                  *(const guint *) b))->macro_f1;

  return (fa < fb) - (fa > fb);
}

/* The steps an ensemble step averages: the named ones, or the best N earlier training steps
 * (by the macro F1 already in `metrics`). */
static GArray *
ensemble_members (MienAblation *self,
                  guint         index,
                  GPtrArray    *metrics)
{
  JsonNode *members = json_object_get_member (get_step (self, index), "ensemble");
  GArray *steps = g_array_new (FALSE, FALSE, sizeof (guint));

  if (JSON_NODE_HOLDS_ARRAY (members))
    {
      JsonArray *names = json_node_get_array (members);

      for (guint m = 0; m < json_array_get_length (names); m++)
        {
          guint step = (guint) find_earlier_step (self->plan, index,
                                                  json_array_get_string_element (names, m));
          g_array_append_val (steps, step);
        }
      return steps;
    }
  for (guint i = 0; i < index; i++)
    if (is_training_step (get_step (self, i)))
      g_array_append_val (steps, i);
  g_array_sort_with_data (steps, compare_macro_f1, metrics);
  g_array_set_size (steps, MIN (steps->len, (guint) json_node_get_int (members)));
  return steps;
}

GPtrArray *
mien_ablation_evaluate (MienAblation      *self,
                        MienPluginEngine  *engine,
                        GCancellable      *cancellable,
                        GError           **error)
{
  g_autoptr(GPtrArray) metrics = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_metrics_free);

  g_return_val_if_fail (MIEN_IS_ABLATION (self), NULL);

  for (guint i = 0; i < mien_ablation_get_n_steps (self); i++)
    {
      g_autoptr(GPtrArray) models = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GArray) steps = NULL;
      g_autoptr(MienRun) run = NULL;
      MienMetrics *m;

      if (is_training_step (get_step (self, i)))
        {
          steps = g_array_new (FALSE, FALSE, sizeof (guint));
          g_array_append_val (steps, i);
        }
      else
        steps = ensemble_members (self, i, metrics);
      for (guint s = 0; s < steps->len; s++)
        {
          char *best = step_best_model (self, g_array_index (steps, guint, s), error);

          if (best == NULL)
            return NULL;
          g_ptr_array_add (models, best);
        }
      g_ptr_array_add (models, NULL);
      {
        g_autofree char *first = step_path (self, g_array_index (steps, guint, 0));

        /* The validation set and device of the (first) run the models come from. */
        if ((run = mien_run_load (first, error)) == NULL)
          return NULL;
      }
      m = evaluate_models (engine, (const char * const *) models->pdata,
                           mien_run_get_config (run), cancellable, error);
      if (m == NULL)
        return NULL;
      g_ptr_array_add (metrics, m);
    }
  return g_steal_pointer (&metrics);
}

/* How each format spells a table. */
typedef struct {
  const char *row_start, *separator, *row_end;
  gboolean    diff_column;  /* the difference in a column of its own (CSV) */
} TableSyntax;

static const TableSyntax syntaxes[] = {
  [MIEN_ABLATION_FORMAT_MARKDOWN] = { "| ", " | ", " |\n", FALSE },
  [MIEN_ABLATION_FORMAT_CSV]      = { "", ",", "\n", TRUE },
  [MIEN_ABLATION_FORMAT_LATEX]    = { "", " & ", " \\\\\n", FALSE },
};

/* `text` as a cell: CSV quotes what holds a comma or a quote, LaTeX escapes its specials. */
static void
append_text (GString            *out,
             MienAblationFormat  format,
             const char         *text)
{
  if (format == MIEN_ABLATION_FORMAT_CSV && strpbrk (text, ",\"\n") != NULL)
    {
      g_string_append_c (out, '"');
      for (const char *p = text; *p != '\0'; p++)
        g_string_append (out, *p == '"' ? "\"\"" : (char[]) { *p, '\0' });
      g_string_append_c (out, '"');
    }
  else if (format == MIEN_ABLATION_FORMAT_LATEX)
    for (const char *p = text; *p != '\0'; p++)
      {
        if (strchr ("&%$#_{}", *p) != NULL)
          g_string_append_c (out, '\\');
        g_string_append_c (out, *p);
      }
  else
    g_string_append (out, text);
}

static void
append_cell (GString           *out,
             const TableSyntax *syntax,
             double             value,
             double             baseline,
             gboolean           is_baseline)
{
  g_string_append_printf (out, "%s%.4f", syntax->separator, value);
  if (syntax->diff_column)
    g_string_append_printf (out, "%s%+.4f", syntax->separator, value - baseline);
  else if (!is_baseline)
    g_string_append_printf (out, " (%+.4f)", value - baseline);
}

char *
mien_ablation_format_table (MienAblation       *self,
                            GPtrArray          *metrics,
                            MienAblationFormat  format)
{
  GString *out = g_string_new (NULL);
  const TableSyntax *syntax;
  MienMetrics *baseline;
  g_autoptr(GPtrArray) header = g_ptr_array_new ();
  guint n_columns;

  g_return_val_if_fail (MIEN_IS_ABLATION (self), NULL);
  g_return_val_if_fail (metrics != NULL && metrics->len == mien_ablation_get_n_steps (self),
                        NULL);
  g_return_val_if_fail (format < G_N_ELEMENTS (syntaxes), NULL);

  syntax = &syntaxes[format];
  baseline = metrics->pdata[0];
  for (guint c = 0; c < baseline->n_classes; c++)
    g_ptr_array_add (header, baseline->classes[c]);
  g_ptr_array_add (header, (gpointer) _("Avg."));
  g_ptr_array_add (header, (gpointer) _("Acc."));
  n_columns = 1 + header->len * (syntax->diff_column ? 2 : 1);

  if (format == MIEN_ABLATION_FORMAT_LATEX)
    {
      g_string_append (out, "\\begin{tabular}{l");
      for (guint c = 1; c < n_columns; c++)
        g_string_append_c (out, 'r');
      g_string_append (out, "}\n\\hline\n");
    }
  /* Translators: the first column of the ablation table: the run's name. */
  g_string_append (out, syntax->row_start);
  append_text (out, format, _("Run"));
  for (guint c = 0; c < header->len; c++)
    {
      g_string_append (out, syntax->separator);
      append_text (out, format, header->pdata[c]);
      if (syntax->diff_column)
        {
          /* Translators: a CSV column: the difference of a column to the baseline's. */
          g_autofree char *diff = g_strdup_printf (_("%s vs baseline"),
                                                   (const char *) header->pdata[c]);

          g_string_append (out, syntax->separator);
          append_text (out, format, diff);
        }
    }
  g_string_append (out, syntax->row_end);
  if (format == MIEN_ABLATION_FORMAT_MARKDOWN)
    {
      g_string_append (out, "|---|");
      for (guint c = 1; c < n_columns; c++)
        g_string_append (out, "---:|");
      g_string_append_c (out, '\n');
    }
  else if (format == MIEN_ABLATION_FORMAT_LATEX)
    g_string_append (out, "\\hline\n");
  for (guint i = 0; i < metrics->len; i++)
    {
      MienMetrics *m = metrics->pdata[i];

      g_string_append (out, syntax->row_start);
      append_text (out, format, mien_ablation_get_step_name (self, i));
      for (guint c = 0; c < m->n_classes; c++)
        append_cell (out, syntax, m->f1[c], baseline->f1[c], i == 0);
      append_cell (out, syntax, m->macro_f1, baseline->macro_f1, i == 0);
      append_cell (out, syntax, m->accuracy, baseline->accuracy, i == 0);
      g_string_append (out, syntax->row_end);
    }
  if (format == MIEN_ABLATION_FORMAT_LATEX)
    g_string_append (out, "\\hline\n\\end{tabular}\n");
  return g_string_free (out, FALSE);
}
