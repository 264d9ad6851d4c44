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
#include "mien-core.h"
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
  /* Step name → MienMetrics of the training steps evaluated so far: a COMPLETE run's best
   * model never changes, so each is evaluated once. Ensembles are not kept: which runs they
   * average depends on the order of the plan. */
  GHashTable      *results;
  /* A worker's copy (mien_ablation_run_async ()): reads DIR/ablation.json again before each
   * step, so that steps moved, removed or added meanwhile take effect. */
  gboolean         reload;
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
  g_clear_pointer (&self->results, g_hash_table_unref);
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
  self->results = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) mien_metrics_free);
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

/* Writes ablation.json with `plan`, atomically: a kill leaves the old queue or the new one. */
static gboolean
save_queue (MienAblation  *self,
            JsonArray     *plan,
            GError       **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "base");
  json_builder_add_value (b, mien_train_config_to_json (self->base));
  json_builder_set_member_name (b, "plan");
  json_builder_add_value (b, json_node_init_array (json_node_alloc (), plan));
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = mien_json_to_string (root, TRUE);
  return g_file_set_contents_full (self->file, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                   error);
}

MienAblation *
mien_ablation_create (const char             *dir,
                      const MienTrainConfig  *base,
                      JsonArray              *plan,
                      GError                **error)
{
  g_autoptr(MienAblation) self = NULL;
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

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot create %s: %s"), dir, g_strerror (saved));
      return NULL;
    }
  if (!save_queue (self, plan, error))
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

const char *
mien_ablation_get_dir (MienAblation *self)
{
  g_return_val_if_fail (MIEN_IS_ABLATION (self), NULL);
  return self->dir;
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
mien_ablation_step_is_started (MienAblation *self,
                               guint         index)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (MIEN_IS_ABLATION (self), FALSE);
  g_return_val_if_fail (index < mien_ablation_get_n_steps (self), FALSE);
  if (!is_training_step (get_step (self, index)))
    return FALSE;
  path = step_path (self, index);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* Every step of `plan` comes after the steps it needs; else a message that names both. */
static gboolean
check_order (JsonArray  *plan,
             GError    **error)
{
  for (guint i = 0; i < json_array_get_length (plan); i++)
    {
      JsonObject *step = json_array_get_object_element (plan, i);
      const char *name = json_object_get_string_member (step, "name");
      const char *from = json_object_get_string_member_with_default (step, "from", NULL);
      JsonNode *members = json_object_get_member (step, "ensemble");

      if (from != NULL && find_earlier_step (plan, i, from) < 0)
        {
          g_set_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_ORDER,
                       _("“%s” starts from the model of “%s”, which has to come before it"),
                       name, from);
          return FALSE;
        }
      if (members == NULL)
        continue;
      if (JSON_NODE_HOLDS_ARRAY (members))
        for (guint m = 0; m < json_array_get_length (json_node_get_array (members)); m++)
          {
            const char *member = json_array_get_string_element (json_node_get_array (members), m);

            if (find_earlier_step (plan, i, member) < 0)
              {
                g_set_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_ORDER,
                             _("“%s” averages “%s”, which has to come before it"), name, member);
                return FALSE;
              }
          }
      else if (!check_ensemble (plan, i, members, "", NULL))
        {
          g_set_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_ORDER,
                       _("“%s” averages the %d best earlier runs, and fewer come before it"),
                       name, (int) json_node_get_int (members));
          return FALSE;
        }
    }
  return TRUE;
}

/* Makes `plan` the queue's, on disk first, when its order holds; `what` starts the error. */
static gboolean
replace_plan (MienAblation  *self,
              JsonArray     *plan,
              const char    *what,
              GError       **error)
{
  if (!check_order (plan, error) || !check_plan (plan, self->file, error))
    {
      g_prefix_error (error, "%s: ", what);
      return FALSE;
    }
  if (!save_queue (self, plan, error))
    return FALSE;
  g_clear_pointer (&self->plan, json_array_unref);
  self->plan = json_array_ref (plan);
  return TRUE;
}

static JsonArray *
copy_plan (JsonArray *plan,
           int        skip)
{
  JsonArray *copy = json_array_new ();

  for (guint i = 0; i < json_array_get_length (plan); i++)
    if ((int) i != skip)
      json_array_add_element (copy, json_node_copy (json_array_get_element (plan, i)));
  return copy;
}

static gboolean
refuse_started (MienAblation  *self,
                guint          index,
                const char    *what,
                GError       **error)
{
  if (!mien_ablation_step_is_started (self, index))
    return FALSE;
  g_set_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_STARTED,
               _("%s: “%s” has started; only waiting steps can be moved or removed"), what,
               mien_ablation_get_step_name (self, index));
  return TRUE;
}

gboolean
mien_ablation_move_step (MienAblation  *self,
                         guint          index,
                         guint          to,
                         GError       **error)
{
  g_autoptr(JsonArray) plan = NULL;
  g_autofree char *what = NULL;

  g_return_val_if_fail (MIEN_IS_ABLATION (self), FALSE);
  g_return_val_if_fail (index < mien_ablation_get_n_steps (self), FALSE);
  g_return_val_if_fail (to < mien_ablation_get_n_steps (self), FALSE);

  /* Translators: a step's name and its new place (1-based). */
  what = g_strdup_printf (_("Cannot move “%s” to place %u"),
                          mien_ablation_get_step_name (self, index), to + 1);
  if (index == to)
    return TRUE;
  if (refuse_started (self, index, what, error))
    return FALSE;
  plan = copy_plan (self->plan, (int) index);
  /* json_array_add_element () only appends: rebuild around the new place. */
  {
    g_autoptr(JsonArray) moved = json_array_new ();

    for (guint i = 0; i <= json_array_get_length (plan); i++)
      {
        if (i == to)
          json_array_add_element (moved, json_node_copy (json_array_get_element (self->plan,
                                                                                 index)));
        if (i < json_array_get_length (plan))
          json_array_add_element (moved, json_node_copy (json_array_get_element (plan, i)));
      }
    return replace_plan (self, moved, what, error);
  }
}

gboolean
mien_ablation_remove_step (MienAblation  *self,
                           guint          index,
                           GError       **error)
{
  g_autoptr(JsonArray) plan = NULL;
  g_autofree char *what = NULL;

  g_return_val_if_fail (MIEN_IS_ABLATION (self), FALSE);
  g_return_val_if_fail (index < mien_ablation_get_n_steps (self), FALSE);

  what = g_strdup_printf (_("Cannot remove “%s”"), mien_ablation_get_step_name (self, index));
  if (refuse_started (self, index, what, error))
    return FALSE;
  plan = copy_plan (self->plan, (int) index);
  return replace_plan (self, plan, what, error);
}

gboolean
mien_ablation_append_step (MienAblation  *self,
                           JsonObject    *step,
                           GError       **error)
{
  g_autoptr(JsonArray) plan = NULL;
  g_autoptr(JsonArray) old = NULL;
  g_autoptr(MienTrainConfig) config = NULL;
  g_autofree char *what = NULL;
  guint index;

  g_return_val_if_fail (MIEN_IS_ABLATION (self), FALSE);
  g_return_val_if_fail (step != NULL, FALSE);

  what = g_strdup_printf (_("Cannot add “%s”"),
                          json_object_get_string_member_with_default (step, "name", "?"));
  plan = copy_plan (self->plan, -1);
  index = json_array_get_length (plan);
  json_array_add_object_element (plan, json_object_ref (step));
  if (!check_order (plan, error) || !check_plan (plan, self->file, error))
    {
      g_prefix_error (error, "%s: ", what);
      return FALSE;
    }
  /* Its configuration is checked now, as mien_ablation_create () checks every step's. */
  old = g_steal_pointer (&self->plan);
  self->plan = json_array_ref (plan);
  if (is_training_step (step) && (config = step_config (self, index, TRUE, error)) == NULL)
    {
      g_clear_pointer (&self->plan, json_array_unref);
      self->plan = g_steal_pointer (&old);
      return FALSE;
    }
  if (!save_queue (self, plan, error))
    {
      g_clear_pointer (&self->plan, json_array_unref);
      self->plan = g_steal_pointer (&old);
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
 * (by the macro F1 in `metrics`); NULL while one of them has no row in `metrics` yet. */
static GArray *
ensemble_members (MienAblation *self,
                  guint         index,
                  GPtrArray    *metrics)
{
  JsonNode *members = json_object_get_member (get_step (self, index), "ensemble");
  g_autoptr(GArray) steps = g_array_new (FALSE, FALSE, sizeof (guint));

  if (JSON_NODE_HOLDS_ARRAY (members))
    {
      JsonArray *names = json_node_get_array (members);

      for (guint m = 0; m < json_array_get_length (names); m++)
        {
          guint step = (guint) find_earlier_step (self->plan, index,
                                                  json_array_get_string_element (names, m));
          g_array_append_val (steps, step);
        }
    }
  else
    for (guint i = 0; i < index; i++)
      if (is_training_step (get_step (self, i)))
        g_array_append_val (steps, i);
  for (guint s = 0; s < steps->len; s++)
    if (g_ptr_array_index (metrics, g_array_index (steps, guint, s)) == NULL)
      return NULL;
  if (!JSON_NODE_HOLDS_ARRAY (members))
    {
      g_array_sort_with_data (steps, compare_macro_f1, metrics);
      g_array_set_size (steps, MIN (steps->len, (guint) json_node_get_int (members)));
    }
  return g_steal_pointer (&steps);
}

/* The best models of `steps`, evaluated on the validation set and device of the first. */
static MienMetrics *
evaluate_steps (MienAblation      *self,
                MienPluginEngine  *engine,
                GArray            *steps,
                GCancellable      *cancellable,
                GError           **error)
{
  g_autoptr(GPtrArray) models = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *first = step_path (self, g_array_index (steps, guint, 0));
  g_autoptr(MienRun) run = NULL;

  for (guint s = 0; s < steps->len; s++)
    {
      char *best = step_best_model (self, g_array_index (steps, guint, s), error);

      if (best == NULL)
        return NULL;
      g_ptr_array_add (models, best);
    }
  g_ptr_array_add (models, NULL);
  if ((run = mien_run_load (first, error)) == NULL)
    return NULL;
  return evaluate_models (engine, (const char * const *) models->pdata,
                          mien_run_get_config (run), cancellable, error);
}

/* A row per step in plan order, NULL for steps that cannot be evaluated yet (not done, or an
 * ensemble of runs not done); the indices of rows evaluated now are appended to `fresh`. */
static GPtrArray *
evaluate_known (MienAblation      *self,
                MienPluginEngine  *engine,
                GArray            *fresh,
                GCancellable      *cancellable,
                GError           **error)
{
  g_autoptr(GPtrArray) metrics = g_ptr_array_new_with_free_func (
                                   (GDestroyNotify) mien_metrics_free);

  for (guint i = 0; i < mien_ablation_get_n_steps (self); i++)
    {
      const char *name = mien_ablation_get_step_name (self, i);
      MienMetrics *known = g_hash_table_lookup (self->results, name);
      g_autoptr(GArray) steps = NULL;
      MienMetrics *m;

      if (known != NULL)
        {
          g_ptr_array_add (metrics, mien_metrics_copy (known));
          continue;
        }
      if (is_training_step (get_step (self, i)))
        {
          if (mien_ablation_step_is_done (self, i))
            {
              steps = g_array_new (FALSE, FALSE, sizeof (guint));
              g_array_append_val (steps, i);
            }
        }
      else
        steps = ensemble_members (self, i, metrics);
      if (steps == NULL)
        {
          g_ptr_array_add (metrics, NULL);
          continue;
        }
      if ((m = evaluate_steps (self, engine, steps, cancellable, error)) == NULL)
        return NULL;
      if (is_training_step (get_step (self, i)))
        g_hash_table_insert (self->results, g_strdup (name), mien_metrics_copy (m));
      g_ptr_array_add (metrics, m);
      if (fresh != NULL)
        g_array_append_val (fresh, i);
    }
  return g_steal_pointer (&metrics);
}

GPtrArray *
mien_ablation_evaluate (MienAblation      *self,
                        MienPluginEngine  *engine,
                        GCancellable      *cancellable,
                        GError           **error)
{
  g_autoptr(GPtrArray) metrics = NULL;

  g_return_val_if_fail (MIEN_IS_ABLATION (self), NULL);

  if ((metrics = evaluate_known (self, engine, NULL, cancellable, error)) == NULL)
    return NULL;
  for (guint i = 0; i < metrics->len; i++)
    if (metrics->pdata[i] == NULL)
      {
        g_set_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_ORDER,
                     _("%s: “%s” has not finished yet"), self->file,
                     mien_ablation_get_step_name (self, i));
        return NULL;
      }
  return g_steal_pointer (&metrics);
}

GPtrArray *
mien_ablation_evaluate_done (MienAblation      *self,
                             MienPluginEngine  *engine,
                             GCancellable      *cancellable,
                             GError           **error)
{
  g_return_val_if_fail (MIEN_IS_ABLATION (self), NULL);
  return evaluate_known (self, engine, NULL, cancellable, error);
}

static const char * const table_files[] = {
  [MIEN_ABLATION_FORMAT_MARKDOWN] = "tables.md",
  [MIEN_ABLATION_FORMAT_CSV] = "tables.csv",
  [MIEN_ABLATION_FORMAT_LATEX] = "tables.tex",
};

char *
mien_ablation_dup_table_path (MienAblation       *self,
                              MienAblationFormat  format)
{
  g_return_val_if_fail (MIEN_IS_ABLATION (self), NULL);
  g_return_val_if_fail (format < G_N_ELEMENTS (table_files), NULL);
  return g_build_filename (self->dir, table_files[format], NULL);
}

gboolean
mien_ablation_write_tables (MienAblation  *self,
                            GPtrArray     *metrics,
                            GError       **error)
{
  g_return_val_if_fail (MIEN_IS_ABLATION (self), FALSE);

  for (guint f = 0; f < G_N_ELEMENTS (table_files); f++)
    {
      g_autofree char *table = mien_ablation_format_table (self, metrics, f);
      g_autofree char *file = mien_ablation_dup_table_path (self, f);

      if (!g_file_set_contents_full (file, table, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                     error))
        return FALSE;
    }
  return TRUE;
}

typedef void (*EvaluatedFunc) (MienAblation      *self,
                               guint              index,
                               const MienMetrics *metrics,
                               gpointer           user_data);

/* Evaluates what became evaluable, reports it, and rewrites DIR/tables.* with every row known:
 * a queue stopped at any point has the tables of what it finished. */
static gboolean
update_tables (MienAblation      *self,
               MienPluginEngine  *engine,
               EvaluatedFunc      func,
               gpointer           user_data,
               GCancellable      *cancellable,
               GError           **error)
{
  g_autoptr(GArray) fresh = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GPtrArray) metrics = evaluate_known (self, engine, fresh, cancellable, error);

  if (metrics == NULL)
    return FALSE;
  if (fresh->len == 0)
    return TRUE;
  for (guint f = 0; f < fresh->len && func != NULL; f++)
    {
      guint i = g_array_index (fresh, guint, f);

      func (self, i, metrics->pdata[i], user_data);
    }
  return mien_ablation_write_tables (self, metrics, error);
}

/* The first training step that is not done, or -1. */
static int
next_step (MienAblation *self)
{
  for (guint i = 0; i < mien_ablation_get_n_steps (self); i++)
    if (is_training_step (get_step (self, i)) && !mien_ablation_step_is_done (self, i))
      return (int) i;
  return -1;
}

static gboolean
reload_plan (MienAblation  *self,
             GError       **error)
{
  g_autoptr(MienAblation) disk = mien_ablation_open (self->dir, error);

  if (disk == NULL)
    return FALSE;
  g_clear_pointer (&self->plan, json_array_unref);
  self->plan = json_array_ref (disk->plan);
  return TRUE;
}

static MienTrainer *
step_trainer (MienAblation      *self,
              MienPluginEngine  *engine,
              guint              index,
              GError           **error)
{
  g_autofree char *path = step_path (self, index);
  g_autoptr(GError) local = NULL;
  g_autoptr(MienRun) run = mien_run_load (path, &local);
  g_autoptr(MienTrainConfig) config = NULL;

  /* Half-trained (or configured and killed before its first epoch). */
  if (run != NULL)
    return mien_trainer_new_resume (engine, path, 0, NULL, 0, error);
  if (!g_error_matches (local, MIEN_RUN_ERROR, MIEN_RUN_ERROR_NOT_A_RUN))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  if ((config = step_config (self, index, FALSE, error)) == NULL)
    return NULL;
  return mien_trainer_new (engine, config);
}

static gboolean
run_queue (MienAblation         *self,
           MienPluginEngine     *engine,
           MienAblationStepFunc  step_func,
           EvaluatedFunc         evaluated_func,
           gpointer              user_data,
           GCancellable         *cancellable,
           GError              **error)
{
  for (;;)
    {
      g_autoptr(MienTrainer) trainer = NULL;
      int i;

      /* The rows of what is done (at first: what a resumed queue finished before), in the
       * order of the plan as it is now. */
      if ((self->reload && !reload_plan (self, error)) ||
          !update_tables (self, engine, evaluated_func, user_data, cancellable, error))
        return FALSE;
      if ((i = next_step (self)) < 0)
        return TRUE;
      if ((trainer = step_trainer (self, engine, (guint) i, error)) == NULL)
        return FALSE;
      if (step_func != NULL)
        step_func (self, (guint) i, trainer, user_data);
      if (!mien_trainer_run (trainer, cancellable, error))
        return FALSE;
      if (!mien_ablation_step_is_done (self, (guint) i))
        {
          /* Never loop on a run that the trainer left unfinished. */
          g_set_error (error, MIEN_ABLATION_ERROR, MIEN_ABLATION_ERROR_ORDER,
                       _("%s: “%s” ended without finishing"), self->file,
                       mien_ablation_get_step_name (self, (guint) i));
          return FALSE;
        }
    }
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

  return run_queue (self, engine, func, NULL, user_data, cancellable, error);
}

/* ---- In a thread, reporting to the caller's main context ------------------------------ */

/* At most this often a step's progress is handed to the main context. */
#define PROGRESS_INTERVAL_US (G_USEC_PER_SEC / 10)

typedef struct {
  MienAblation          *self;      /* the caller's */
  MienPluginEngine      *engine;
  GMainContext          *context;
  MienAblationEventFunc  func;
  gpointer               user_data;
  char                  *step;      /* the step being trained (worker thread) */
  gint64                 last_progress;
} RunData;

static void
run_data_free (RunData *data)
{
  g_object_unref (data->self);
  g_object_unref (data->engine);
  g_main_context_unref (data->context);
  g_free (data->step);
  g_free (data);
}

typedef struct {
  MienAblation          *self;
  MienAblationEventFunc  func;
  gpointer               user_data;
  MienAblationEvent      event;
  char                  *name;
  MienMetrics           *metrics;
} PostedEvent;

static void
posted_event_free (PostedEvent *posted)
{
  g_object_unref (posted->self);
  g_free (posted->name);
  g_clear_pointer (&posted->metrics, mien_metrics_free);
  g_free (posted);
}

static gboolean
posted_event_dispatch (gpointer user_data)
{
  PostedEvent *posted = user_data;

  posted->event.name = posted->name;
  posted->event.metrics = posted->metrics;
  posted->func (posted->self, &posted->event, posted->user_data);
  return G_SOURCE_REMOVE;
}

static void
post_event (RunData                 *data,
            MienAblationEventKind    kind,
            const char              *name,
            const MienTrainProgress *progress,
            const MienMetrics       *metrics)
{
  PostedEvent *posted = g_new0 (PostedEvent, 1);

  posted->self = g_object_ref (data->self);
  posted->func = data->func;
  posted->user_data = data->user_data;
  posted->event.kind = kind;
  if (progress != NULL)
    posted->event.progress = *progress;
  posted->name = g_strdup (name);
  posted->metrics = metrics != NULL ? mien_metrics_copy (metrics) : NULL;
  mien_main_context_post (data->context, G_PRIORITY_DEFAULT, "[mien] ablation event",
                          posted_event_dispatch, posted, (GDestroyNotify) posted_event_free);
}

static void
async_progress_cb (const MienTrainProgress *progress,
                   gpointer                 user_data)
{
  RunData *data = user_data;
  gint64 now = g_get_monotonic_time ();

  if (now - data->last_progress < PROGRESS_INTERVAL_US && progress->fraction < 1.0)
    return;
  data->last_progress = now;
  post_event (data, MIEN_ABLATION_EVENT_PROGRESS, data->step, progress, NULL);
}

static void
async_step_cb (MienAblation *worker,
               guint         index,
               MienTrainer  *trainer,
               gpointer      user_data)
{
  RunData *data = user_data;

  g_free (data->step);
  data->step = g_strdup (mien_ablation_get_step_name (worker, index));
  data->last_progress = 0;
  post_event (data, MIEN_ABLATION_EVENT_STARTED, data->step, NULL, NULL);
  mien_trainer_set_progress_func (trainer, async_progress_cb, data, NULL);
}

static void
async_evaluated_cb (MienAblation      *worker,
                    guint              index,
                    const MienMetrics *metrics,
                    gpointer           user_data)
{
  post_event (user_data, MIEN_ABLATION_EVENT_EVALUATED,
              mien_ablation_get_step_name (worker, index), NULL, metrics);
}

static void
run_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  RunData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienAblation) worker = mien_ablation_open (data->self->dir, &error);

  if (worker != NULL)
    {
      worker->reload = TRUE;
      if (run_queue (worker, data->engine, async_step_cb, async_evaluated_cb, data, cancellable,
                     &error))
        {
          g_task_return_boolean (task, TRUE);
          return;
        }
    }
  g_task_return_error (task, g_steal_pointer (&error));
}

void
mien_ablation_run_async (MienAblation          *self,
                         MienPluginEngine      *engine,
                         MienAblationEventFunc  func,
                         gpointer               func_data,
                         GCancellable          *cancellable,
                         GAsyncReadyCallback    callback,
                         gpointer               user_data)
{
  g_autoptr(GTask) task = NULL;
  RunData *data;

  g_return_if_fail (MIEN_IS_ABLATION (self));
  g_return_if_fail (func != NULL);

  data = g_new0 (RunData, 1);
  data->self = g_object_ref (self);
  data->engine = g_object_ref (engine);
  data->context = g_main_context_ref_thread_default ();
  data->func = func;
  data->user_data = func_data;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mien_ablation_run_async);
  g_task_set_task_data (task, data, (GDestroyNotify) run_data_free);
  g_task_run_in_thread (task, run_thread);
}

gboolean
mien_ablation_run_finish (MienAblation  *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
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

/* `baseline` NULL: the baseline has no row yet, so there is no difference to give. */
static void
append_cell (GString           *out,
             const TableSyntax *syntax,
             double             value,
             const double      *baseline,
             gboolean           is_baseline)
{
  g_string_append_printf (out, "%s%.4f", syntax->separator, value);
  if (syntax->diff_column)
    {
      g_string_append (out, syntax->separator);
      if (baseline != NULL)
        g_string_append_printf (out, "%+.4f", value - *baseline);
    }
  else if (!is_baseline && baseline != NULL)
    g_string_append_printf (out, " (%+.4f)", value - *baseline);
}

char *
mien_ablation_format_table (MienAblation       *self,
                            GPtrArray          *metrics,
                            MienAblationFormat  format)
{
  GString *out = g_string_new (NULL);
  const TableSyntax *syntax;
  MienMetrics *baseline, *first = NULL;
  g_autoptr(GPtrArray) header = g_ptr_array_new ();
  guint n_columns;

  g_return_val_if_fail (MIEN_IS_ABLATION (self), NULL);
  g_return_val_if_fail (metrics != NULL && metrics->len == mien_ablation_get_n_steps (self),
                        NULL);
  g_return_val_if_fail (format < G_N_ELEMENTS (syntaxes), NULL);

  syntax = &syntaxes[format];
  baseline = metrics->pdata[0];
  for (guint i = 0; i < metrics->len && first == NULL; i++)
    first = metrics->pdata[i];
  for (guint c = 0; first != NULL && c < first->n_classes; c++)
    g_ptr_array_add (header, first->classes[c]);
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

      if (m == NULL)
        continue;
      g_string_append (out, syntax->row_start);
      append_text (out, format, mien_ablation_get_step_name (self, i));
      for (guint c = 0; c < m->n_classes; c++)
        append_cell (out, syntax, m->f1[c], baseline != NULL ? &baseline->f1[c] : NULL, i == 0);
      append_cell (out, syntax, m->macro_f1, baseline != NULL ? &baseline->macro_f1 : NULL,
                   i == 0);
      append_cell (out, syntax, m->accuracy, baseline != NULL ? &baseline->accuracy : NULL,
                   i == 0);
      g_string_append (out, syntax->row_end);
    }
  if (format == MIEN_ABLATION_FORMAT_LATEX)
    g_string_append (out, "\\hline\n\\end{tabular}\n");
  return g_string_free (out, FALSE);
}
