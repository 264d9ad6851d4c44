/* mien-trainer.c — the training loop, its run folder and resume. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mien-json.h"
#include "mien-loader.h"
#include "mien-run.h"
#include "mien-trainer.h"
#include "mien-weights.h"

G_DEFINE_QUARK (mien-trainer-error-quark, mien_trainer_error)

/* ---- Configuration ------------------------------------------------------------------- */

static const char * const imbalance_names[] = {
  "none", "weighted", "upsample", "upsample+weighted", "onthefly",
};

const char *
mien_imbalance_to_string (MienImbalance imbalance)
{
  g_return_val_if_fail ((guint) imbalance < G_N_ELEMENTS (imbalance_names), NULL);
  return imbalance_names[imbalance];
}

gboolean
mien_imbalance_from_string (const char     *str,
                            MienImbalance  *out,
                            GError        **error)
{
  guint index;

  if (mien_name_lookup (imbalance_names, G_N_ELEMENTS (imbalance_names), str, &index))
    {
      *out = (MienImbalance) index;
      return TRUE;
    }
  g_set_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG,
               _("Unknown imbalance strategy “%s” (expected none, weighted, upsample, "
                 "upsample+weighted or onthefly)"), str ? str : "");
  return FALSE;
}

static const char * const schedule_names[] = { "constant", "cosine" };
static const char * const normalisation_names[] = { "auto", "dataset", "imagenet" };

const char *
mien_normalisation_to_string (MienNormalisation normalisation)
{
  g_return_val_if_fail ((guint) normalisation < G_N_ELEMENTS (normalisation_names), NULL);

  return normalisation_names[normalisation];
}

gboolean
mien_normalisation_from_string (const char         *str,
                                MienNormalisation  *out,
                                GError            **error)
{
  guint index;

  if (str != NULL && mien_name_lookup (normalisation_names, G_N_ELEMENTS (normalisation_names),
                                       str, &index))
    {
      *out = (MienNormalisation) index;
      return TRUE;
    }
  g_set_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG,
               _("Unknown normalisation “%s” (expected auto, dataset or imagenet)"),
               str ? str : "");
  return FALSE;
}

MienNormalisation
mien_train_config_get_normalisation (const MienTrainConfig *config)
{
  g_return_val_if_fail (config != NULL, MIEN_NORMALISATION_DATASET);

  if (config->normalisation != MIEN_NORMALISATION_AUTO)
    return config->normalisation;
  /* ImageNet weights expect ImageNet's statistics: the features they learnt are tuned to them. */
  return config->pretrained != NULL ? MIEN_NORMALISATION_IMAGENET : MIEN_NORMALISATION_DATASET;
}
static const char * const weights_names[] = { "default", "none", "auto", "custom" };

MienTrainConfig *
mien_train_config_new (void)
{
  MienTrainConfig *config = g_new0 (MienTrainConfig, 1);
  MienRandAugment ra = MIEN_RAND_AUGMENT_INIT;
  MienGeometryAugment geometry = MIEN_GEOMETRY_AUGMENT_NONE;

  config->val_split = 0.1;
  config->backbone = g_strdup ("resnet:18");
  config->mode = MIEN_MODE_FINETUNE;
  config->batch_norm = MIEN_BATCH_NORM_DEFAULT;
  config->epochs = 10;
  config->batch_size = 64;
  /* PyTorch's Adam default. The paper used 1e-6 for fine-tuning pretrained ViTs; from scratch
   * (the demo) that would take forever. */
  config->lr = 1e-3;
  config->beta1 = 0.9;
  config->beta2 = 0.999;
  config->schedule = MIEN_SCHEDULE_CONSTANT;
  config->smoothing = 0.0;
  config->class_weights = MIEN_CLASS_WEIGHTS_DEFAULT;
  config->imbalance = MIEN_IMBALANCE_NONE;
  config->rand_augment = ra;
  /* flip and "pad": see mien-trainer.h */
  geometry.flip = TRUE;
  geometry.crop = MIEN_CROP_PAD;
  config->geometry = geometry;
  config->device = mien_device_cpu ();
  config->seed = 0;
  config->face_margin = NAN;
  return config;
}

MienTrainConfig *
mien_train_config_copy (const MienTrainConfig *config)
{
  MienTrainConfig *copy = g_memdup2 (config, sizeof *config);

  copy->data = g_strdup (config->data);
  copy->val = g_strdup (config->val);
  copy->split = g_strdup (config->split);
  copy->classes = g_strdupv (config->classes);
  copy->backbone = g_strdup (config->backbone);
  copy->pretrained = g_strdup (config->pretrained);
  copy->weights = config->n_weights ? g_memdup2 (config->weights,
                                                 config->n_weights * sizeof (double)) : NULL;
  copy->out = g_strdup (config->out);
  return copy;
}

void
mien_train_config_free (MienTrainConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->data);
  g_free (config->val);
  g_free (config->split);
  g_strfreev (config->classes);
  g_free (config->backbone);
  g_free (config->pretrained);
  g_free (config->weights);
  g_free (config->out);
  g_free (config);
}

static gboolean
config_error (GError    **error,
              const char *format,
              ...) G_GNUC_PRINTF (2, 3);

static gboolean
config_error (GError    **error,
              const char *format,
              ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG, message);
  return FALSE;
}

gboolean
mien_train_config_validate (const MienTrainConfig  *config,
                            GError                **error)
{
  if (config->data == NULL || *config->data == '\0')
    return config_error (error, _("No training data given"));
  if (config->out == NULL || *config->out == '\0')
    return config_error (error, _("No run folder given"));
  if (config->backbone == NULL || *config->backbone == '\0')
    return config_error (error, _("No backbone given"));
  if (config->split != NULL && !mien_dataset_check_split_name (config->split, error))
    return FALSE;
  if (config->val == NULL && !(config->val_split > 0.0 && config->val_split < 1.0))
    return config_error (error, _("The validation split has to be between 0 and 1, not %g"),
                         config->val_split);
  if (config->input_size < 0 || config->input_size > 4096)
    return config_error (error, _("Input size %d is out of range"), config->input_size);
  if (config->epochs < 1 || config->epochs > 100000)
    return config_error (error, _("The number of epochs has to be at least 1"));
  if (config->batch_size < 2 || config->batch_size > 65536)
    return config_error (error, _("The batch size has to be at least 2 (batch norm needs two "
                                  "values per channel), not %u"), config->batch_size);
  if (!(config->lr > 0.0 && config->lr < 10.0))
    return config_error (error, _("The learning rate has to be positive, not %g"), config->lr);
  if (!(config->beta1 >= 0.0 && config->beta1 < 1.0 && config->beta2 >= 0.0 &&
        config->beta2 < 1.0))
    return config_error (error, _("Adam's betas have to be in [0, 1)"));
  if (!(config->weight_decay >= 0.0 && config->weight_decay < 1.0))
    return config_error (error, _("The weight decay has to be in [0, 1), not %g"),
                         config->weight_decay);
  if (!(config->warmup_epochs >= 0.0 && config->warmup_epochs <= config->epochs))
    return config_error (error, _("The warm-up has to be between 0 and the number of epochs"));
  if (!(config->smoothing >= 0.0 && config->smoothing < 1.0))
    return config_error (error, _("Label smoothing has to be in [0, 1), not %g"),
                         config->smoothing);
  if (config->class_weights == MIEN_CLASS_WEIGHTS_CUSTOM)
    {
      if (config->n_weights == 0)
        return config_error (error, _("Custom class weights need at least one weight"));
      for (guint i = 0; i < config->n_weights; i++)
        if (!(config->weights[i] >= 0.0 && isfinite (config->weights[i])))
          return config_error (error, _("Class weight %g is not a non-negative number"),
                               config->weights[i]);
      /* The weighted mean of the loss would divide by zero: "loss is nan" epochs later. */
      for (guint i = 0; i < config->n_weights && config->weights[i] == 0.0; i++)
        if (i + 1 == config->n_weights)
          return config_error (error, _("The custom class weights are all zero: at least one "
                                        "class needs a weight above 0"));
    }
  if (config->rand_augment.num_bins < 2 || config->rand_augment.num_bins > 1000 ||
      config->rand_augment.magnitude >= config->rand_augment.num_bins ||
      config->rand_augment.num_ops < 1 || config->rand_augment.num_ops > 12)
    return config_error (error, _("Invalid RandAugment settings (%u ops, magnitude %u of %u "
                                  "bins)"), config->rand_augment.num_ops,
                         config->rand_augment.magnitude, config->rand_augment.num_bins);
  if (!isnan (config->face_margin) &&
      !(config->face_margin >= 0.0 && config->face_margin <= MIEN_FACE_MARGIN_MAX))
    return config_error (error, _("The face margin has to be between 0 and %g, not %g"),
                         MIEN_FACE_MARGIN_MAX, config->face_margin);
  if ((config->geometry.crop == MIEN_CROP_RESIZED &&
       !(config->geometry.scale_min > 0.0 && config->geometry.scale_min <= 1.0)) ||
      config->geometry.padding > 1024 || (guint) config->geometry.crop > MIEN_CROP_RESIZED)
    return config_error (error, _("Invalid crop settings (padding %u, smallest area %g)"),
                         config->geometry.padding, config->geometry.scale_min);
  if (config->threads < 0 || config->workers < 0)
    return config_error (error, _("Thread counts cannot be negative"));
  if (config->amp && config->device.type != MIEN_DEVICE_CUDA)
    return config_error (error, _("Mixed precision (--amp) needs a CUDA device"));
  return TRUE;
}

JsonNode *
mien_train_config_to_json (const MienTrainConfig *config)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *device = mien_device_to_string (config->device);

  json_builder_begin_object (b);
#define STR(key, value) G_STMT_START { json_builder_set_member_name (b, key); \
  if ((value) != NULL) json_builder_add_string_value (b, value); \
  else json_builder_add_null_value (b); } G_STMT_END
#define NUM(key, value) G_STMT_START { json_builder_set_member_name (b, key); \
  json_builder_add_double_value (b, value); } G_STMT_END
#define INT(key, value) G_STMT_START { json_builder_set_member_name (b, key); \
  json_builder_add_int_value (b, value); } G_STMT_END
  STR ("data", config->data);
  STR ("val", config->val);
  STR ("split", config->split);
  /* With a validation set the split is not used: say so rather than record a fraction. */
  if (config->val != NULL)
    {
      json_builder_set_member_name (b, "val_split");
      json_builder_add_null_value (b);
    }
  else
    NUM ("val_split", config->val_split);
  json_builder_set_member_name (b, "classes");
  if (config->classes != NULL)
    {
      json_builder_begin_array (b);
      for (guint i = 0; config->classes[i] != NULL; i++)
        json_builder_add_string_value (b, config->classes[i]);
      json_builder_end_array (b);
    }
  else
    json_builder_add_null_value (b);
  STR ("colour_mode", config->grey ? "grey" : "rgb");
  json_builder_set_member_name (b, "face_margin");
  if (isnan (config->face_margin))
    json_builder_add_null_value (b);
  else
    json_builder_add_double_value (b, config->face_margin);
  STR ("backbone", config->backbone);
  INT ("input_size", config->input_size);
  STR ("mode", mien_mode_to_string (config->mode));
  STR ("batch_norm", mien_batch_norm_to_string (config->batch_norm));
  STR ("pretrained", config->pretrained);
  INT ("epochs", config->epochs);
  INT ("batch_size", config->batch_size);
  NUM ("lr", config->lr);
  NUM ("beta1", config->beta1);
  NUM ("beta2", config->beta2);
  NUM ("weight_decay", config->weight_decay);
  STR ("schedule", schedule_names[config->schedule]);
  NUM ("warmup_epochs", config->warmup_epochs);
  NUM ("smoothing", config->smoothing);
  STR ("class_weights", weights_names[config->class_weights]);
  json_builder_set_member_name (b, "weights");
  json_builder_begin_array (b);
  for (guint i = 0; i < config->n_weights; i++)
    json_builder_add_double_value (b, config->weights[i]);
  json_builder_end_array (b);
  STR ("imbalance", mien_imbalance_to_string (config->imbalance));
  INT ("randaugment_ops", config->rand_augment.num_ops);
  INT ("randaugment_magnitude", config->rand_augment.magnitude);
  INT ("randaugment_bins", config->rand_augment.num_bins);
  json_builder_set_member_name (b, "flip");
  json_builder_add_boolean_value (b, config->geometry.flip);
  {
    g_autofree char *crop = mien_crop_to_string (&config->geometry);
    STR ("crop", crop);
  }
  STR ("device", device);
  json_builder_set_member_name (b, "amp");
  json_builder_add_boolean_value (b, config->amp);
  json_builder_set_member_name (b, "sync_batch_norm");
  json_builder_add_boolean_value (b, config->sync_batch_norm);
  /* A string: JSON numbers lose 64-bit seeds in most readers. */
  {
    g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, config->seed);
    STR ("seed", seed);
  }
  INT ("threads", config->threads);
  INT ("workers", config->workers);
  STR ("out", config->out);
  STR ("normalisation", normalisation_names[config->normalisation]);
#undef STR
#undef NUM
#undef INT
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* A name among `names` (an enumeration's strings) read from `key`, with the file and key in
 * the error. */
static gboolean
get_name (JsonObject         *o,
          const char         *source,
          const char         *key,
          const char * const *names,
          guint               n_names,
          guint              *out,
          GError            **error)
{
  const char *str = NULL;
  g_autoptr(GString) expected = g_string_new (NULL);

  if (!mien_json_get_string (o, source, key, MIEN_JSON_OPTIONAL, &str, error))
    return FALSE;
  if (str == NULL || mien_name_lookup (names, n_names, str, out))
    return TRUE;
  for (guint i = 0; i < n_names; i++)
    g_string_append_printf (expected, "%s%s", i > 0 ? ", " : "", names[i]);
  /* Translators: a file, a JSON key, the names it may hold, the one found. */
  g_set_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_RANGE,
               _("%s: “%s” has to be one of %s, not “%s”"), source, key, expected->str, str);
  return FALSE;
}

MienTrainConfig *
mien_train_config_from_json (JsonObject  *o,
                             const char  *source,
                             GError     **error)
{
  g_autoptr(MienTrainConfig) config = mien_train_config_new ();
  static const char * const colour_names[] = { "rgb", "grey" };
  const char *data = NULL, *val = NULL, *backbone = NULL, *pretrained = NULL, *out = NULL;
  const char *split = NULL;
  const char *device = "cpu", *mode = NULL, *batch_norm = NULL;
  gint64 input_size = 0, epochs = 0, batch_size = 0, ops, magnitude, bins, threads = 0;
  gint64 workers = 0;
  const char *crop = "none";
  guint imbalance = config->imbalance;
  guint schedule = config->schedule, weights = config->class_weights, colour = 0;
  guint normalisation = MIEN_NORMALISATION_DATASET;
  const MienJsonFlags opt = MIEN_JSON_OPTIONAL;
  const MienJsonFlags opt_null = MIEN_JSON_OPTIONAL | MIEN_JSON_NULLABLE;

  g_return_val_if_fail (o != NULL, NULL);
  g_return_val_if_fail (source != NULL, NULL);

  ops = config->rand_augment.num_ops;
  magnitude = config->rand_augment.magnitude;
  bins = config->rand_augment.num_bins;
  /* Files from before flip and crop existed trained without them. */
  config->geometry.flip = FALSE;
  /* Written by every version; what a run cannot do without is required, the rest has the
   * defaults of mien_train_config_new (). The ranges are validate ()'s, so that the error names
   * the key; validate () then checks what depends on several members. */
  if (!mien_json_get_string (o, source, "data", MIEN_JSON_REQUIRED, &data, error) ||
      !mien_json_get_string (o, source, "val", opt_null, &val, error) ||
      !mien_json_get_string (o, source, "split", opt_null, &split, error) ||
      !mien_json_get_double (o, source, "val_split", opt_null, 0.0, 1.0, &config->val_split,
                             error) ||
      !mien_json_get_strv (o, source, "classes", opt_null, &config->classes, error) ||
      !get_name (o, source, "colour_mode", colour_names, 2, &colour, error) ||
      !mien_json_get_double (o, source, "face_margin", opt_null, 0.0, MIEN_FACE_MARGIN_MAX,
                             &config->face_margin, error) ||
      !mien_json_get_string (o, source, "backbone", MIEN_JSON_REQUIRED, &backbone, error) ||
      !mien_json_get_int (o, source, "input_size", opt, 0, 4096, &input_size, error) ||
      !mien_json_get_string (o, source, "mode", opt, &mode, error) ||
      !mien_json_get_string (o, source, "batch_norm", opt, &batch_norm, error) ||
      !mien_json_get_string (o, source, "pretrained", opt_null, &pretrained, error) ||
      !mien_json_get_int (o, source, "epochs", MIEN_JSON_REQUIRED, 1, 100000, &epochs,
                          error) ||
      !mien_json_get_int (o, source, "batch_size", MIEN_JSON_REQUIRED, 2, 65536,
                          &batch_size, error) ||
      !mien_json_get_double (o, source, "lr", MIEN_JSON_REQUIRED, 0.0, 10.0, &config->lr,
                             error) ||
      !mien_json_get_double (o, source, "beta1", opt, 0.0, 1.0, &config->beta1, error) ||
      !mien_json_get_double (o, source, "beta2", opt, 0.0, 1.0, &config->beta2, error) ||
      !mien_json_get_double (o, source, "weight_decay", opt, 0.0, 1.0,
                             &config->weight_decay, error) ||
      !get_name (o, source, "schedule", schedule_names, G_N_ELEMENTS (schedule_names),
                 &schedule, error) ||
      !mien_json_get_double (o, source, "warmup_epochs", opt, 0.0, 100000.0,
                             &config->warmup_epochs, error) ||
      !mien_json_get_double (o, source, "smoothing", opt, 0.0, 1.0, &config->smoothing, error) ||
      !get_name (o, source, "class_weights", weights_names, G_N_ELEMENTS (weights_names),
                 &weights, error) ||
      !mien_json_get_doubles (o, source, "weights", opt_null, 0.0, G_MAXDOUBLE,
                              &config->weights, &config->n_weights, error) ||
      !get_name (o, source, "imbalance", imbalance_names, G_N_ELEMENTS (imbalance_names),
                 &imbalance, error) ||
      !mien_json_get_int (o, source, "randaugment_ops", opt, 1, 12, &ops, error) ||
      !mien_json_get_int (o, source, "randaugment_magnitude", opt, 0, 999, &magnitude,
                          error) ||
      !mien_json_get_int (o, source, "randaugment_bins", opt, 2, 1000, &bins, error) ||
      !mien_json_get_boolean (o, source, "flip", opt, &config->geometry.flip, error) ||
      !mien_json_get_string (o, source, "crop", opt, &crop, error) ||
      !mien_json_get_string (o, source, "device", opt, &device, error) ||
      !mien_json_get_boolean (o, source, "amp", opt, &config->amp, error) ||
      !mien_json_get_boolean (o, source, "sync_batch_norm", opt, &config->sync_batch_norm,
                              error) ||
      !mien_json_get_uint64 (o, source, "seed", opt, &config->seed, error) ||
      !mien_json_get_int (o, source, "threads", opt, 0, 4096, &threads, error) ||
      !mien_json_get_int (o, source, "workers", opt, 0, 4096, &workers, error) ||
      !mien_json_get_string (o, source, "out", opt_null, &out, error) ||
      !get_name (o, source, "normalisation", normalisation_names,
                 G_N_ELEMENTS (normalisation_names), &normalisation, error))
    return NULL;
  if (mode != NULL && !mien_mode_from_string (mode, &config->mode, error))
    {
      g_prefix_error (error, "%s: “%s”: ", source, "mode");
      return NULL;
    }
  if (batch_norm != NULL && !mien_batch_norm_from_string (batch_norm, &config->batch_norm,
                                                          error))
    {
      g_prefix_error (error, "%s: “%s”: ", source, "batch_norm");
      return NULL;
    }

  if (!mien_crop_from_string (crop, &config->geometry, error))
    {
      g_prefix_error (error, "%s: “%s”: ", source, "crop");
      return NULL;
    }

  /* Only the name: the machine that reads a run folder may not have the device that trained
   * it; mien_trainer_run () checks it is here. */
  if (device == NULL || !mien_device_parse_name (device, &config->device, NULL))
    {
      g_set_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_RANGE,
                   _("%s: “%s” has to be cpu, cuda or cuda:N, not “%s”"), source, "device",
                   device != NULL ? device : "null");
      return NULL;
    }

  g_free (config->data);
  config->data = g_strdup (data);
  config->val = g_strdup (val);
  config->split = g_strdup (split);
  g_free (config->backbone);
  config->backbone = g_strdup (backbone);
  config->pretrained = g_strdup (pretrained);
  config->out = g_strdup (out);
  config->grey = colour == 1;
  config->input_size = (int) input_size;
  config->epochs = (guint) epochs;
  config->batch_size = (guint) batch_size;
  config->schedule = (MienSchedule) schedule;
  config->class_weights = (MienClassWeightsKind) weights;
  config->imbalance = (MienImbalance) imbalance;
  config->rand_augment.num_ops = (guint) ops;
  config->rand_augment.magnitude = (guint) magnitude;
  config->rand_augment.num_bins = (guint) bins;
  config->threads = (int) threads;
  config->workers = (int) workers;
  config->normalisation = (MienNormalisation) normalisation;
  if (!mien_train_config_validate (config, error))
    {
      g_prefix_error (error, "%s: ", source);
      return NULL;
    }
  return g_steal_pointer (&config);
}

/* ---- The trainer --------------------------------------------------------------------- */

struct _MienTrainer
{
  GObject                parent_instance;

  MienPluginEngine      *engine;
  MienTrainConfig       *config;
  gboolean               continuing;  /* made by new_resume (): the folder is this run's */
  gboolean               resume;      /* a checkpoint is there to continue from */

  MienTrainProgressFunc  progress_func;
  gpointer               progress_data;
  GDestroyNotify         progress_destroy;
  MienTrainEpochFunc     epoch_func;
  gpointer               epoch_data;
  GDestroyNotify         epoch_destroy;

  /* Results */
  guint                  best_epoch;
  double                 best_f1;
  MienMetrics           *best_metrics;
  char                  *best_path;
  double                *class_weights;
  char                  *pretrained_summary;
  GPtrArray             *unreadable;   /* "PATH: reason" of the images left out */

  MienProcessGroup      *pg;           /* borrowed; NULL: one process */
  GArray                *local_devices; /* MienDevice: ranks on threads of this process */
};

G_DEFINE_FINAL_TYPE (MienTrainer, mien_trainer, G_TYPE_OBJECT)

static void
mien_trainer_finalize (GObject *object)
{
  MienTrainer *self = MIEN_TRAINER (object);

  if (self->progress_destroy)
    self->progress_destroy (self->progress_data);
  if (self->epoch_destroy)
    self->epoch_destroy (self->epoch_data);
  g_clear_object (&self->engine);
  mien_train_config_free (self->config);
  mien_metrics_free (self->best_metrics);
  g_free (self->best_path);
  g_free (self->class_weights);
  g_free (self->pretrained_summary);
  g_clear_pointer (&self->unreadable, g_ptr_array_unref);
  g_clear_pointer (&self->local_devices, g_array_unref);
  G_OBJECT_CLASS (mien_trainer_parent_class)->finalize (object);
}

static void
mien_trainer_class_init (MienTrainerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mien_trainer_finalize;
}

static void
mien_trainer_init (MienTrainer *self)
{
  self->best_f1 = -1.0;
}

MienTrainer *
mien_trainer_new (MienPluginEngine      *engine,
                  const MienTrainConfig *config)
{
  MienTrainer *self;

  g_return_val_if_fail (MIEN_IS_PLUGIN_ENGINE (engine), NULL);
  g_return_val_if_fail (config != NULL, NULL);

  self = g_object_new (MIEN_TYPE_TRAINER, NULL);
  self->engine = g_object_ref (engine);
  self->config = mien_train_config_copy (config);
  return self;
}

MienTrainer *
mien_trainer_new_resume (MienPluginEngine  *engine,
                         const char        *run_dir,
                         guint              epochs,
                         const MienDevice  *device,
                         int                threads,
                         GError           **error)
{
  g_autoptr(MienRun) folder = NULL;
  g_autoptr(MienTrainConfig) config = NULL;
  g_autoptr(GError) local_error = NULL;
  MienTrainer *self;

  g_return_val_if_fail (MIEN_IS_PLUGIN_ENGINE (engine), NULL);

  folder = mien_run_load (run_dir, &local_error);
  if (folder == NULL || !mien_run_check_resumable (folder, &local_error))
    {
      g_set_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_RESUME,
                   _("Cannot resume %s: %s"), run_dir, local_error->message);
      return NULL;
    }
  /* `out` is where the folder is now (mien_run_load). */
  config = mien_train_config_copy (mien_run_get_config (folder));
  if (epochs > 0)
    config->epochs = epochs;
  if (device != NULL)
    config->device = *device;
  if (threads > 0)
    config->threads = threads;
  if (config->amp && config->device.type != MIEN_DEVICE_CUDA)
    config->amp = FALSE;
  if (!mien_train_config_validate (config, error))
    return NULL;

  self = mien_trainer_new (engine, config);
  self->continuing = TRUE;
  /* A run killed before its first epoch ended has no checkpoint: it starts over. */
  self->resume = mien_run_get_checkpoint (folder) != NULL;
  return self;
}

void
mien_trainer_set_process_group (MienTrainer      *self,
                                MienProcessGroup *pg)
{
  g_return_if_fail (MIEN_IS_TRAINER (self));

  self->pg = pg;
}

void
mien_trainer_set_local_devices (MienTrainer      *self,
                                const MienDevice *devices,
                                guint             n_devices)
{
  g_return_if_fail (MIEN_IS_TRAINER (self));
  g_return_if_fail (devices != NULL || n_devices == 0);

  g_clear_pointer (&self->local_devices, g_array_unref);
  if (n_devices < 2)
    return;
  self->local_devices = g_array_sized_new (FALSE, FALSE, sizeof (MienDevice), n_devices);
  g_array_append_vals (self->local_devices, devices, n_devices);
}

/* The store key under which rank 0 publishes its configuration. */
#define DIST_CONFIG_KEY "trainer/config"
#define DIST_STATE_KEY  "trainer/state"

MienTrainer *
mien_trainer_new_rank (MienPluginEngine  *engine,
                       MienProcessGroup  *pg,
                       const MienDevice  *device,
                       int                local_gpu,
                       int                threads,
                       GError           **error)
{
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(MienTrainConfig) config = NULL;
  MienTrainer *self;

  g_return_val_if_fail (MIEN_IS_PLUGIN_ENGINE (engine), NULL);
  g_return_val_if_fail (pg != NULL && mien_process_group_get_rank (pg) > 0, NULL);

  text = mien_process_group_store_get (pg, DIST_CONFIG_KEY, error);
  if (text == NULL)
    return NULL;
  node = json_from_string (text, error);
  if (node == NULL)
    return NULL;
  config = mien_train_config_from_json (json_node_get_object (node), _("rank 0's configuration"),
                                        error);
  if (config == NULL)
    return NULL;
  if (device != NULL)
    config->device = *device;
  else if (config->device.type == MIEN_DEVICE_CUDA)
    config->device.index = local_gpu;
  if (threads > 0)
    config->threads = threads;
  self = mien_trainer_new (engine, config);
  self->pg = pg;
  return self;
}

void
mien_trainer_set_progress_func (MienTrainer           *self,
                                MienTrainProgressFunc  func,
                                gpointer               user_data,
                                GDestroyNotify         destroy)
{
  g_return_if_fail (MIEN_IS_TRAINER (self));

  if (self->progress_destroy)
    self->progress_destroy (self->progress_data);
  self->progress_func = func;
  self->progress_data = user_data;
  self->progress_destroy = destroy;
}

void
mien_trainer_set_epoch_func (MienTrainer        *self,
                             MienTrainEpochFunc  func,
                             gpointer            user_data,
                             GDestroyNotify      destroy)
{
  g_return_if_fail (MIEN_IS_TRAINER (self));

  if (self->epoch_destroy)
    self->epoch_destroy (self->epoch_data);
  self->epoch_func = func;
  self->epoch_data = user_data;
  self->epoch_destroy = destroy;
}

const MienTrainConfig *
mien_trainer_get_config (MienTrainer *self)
{
  g_return_val_if_fail (MIEN_IS_TRAINER (self), NULL);
  return self->config;
}

guint
mien_trainer_get_best_epoch (MienTrainer *self)
{
  g_return_val_if_fail (MIEN_IS_TRAINER (self), 0);
  return self->best_epoch;
}

MienMetrics *
mien_trainer_get_best_metrics (MienTrainer *self)
{
  g_return_val_if_fail (MIEN_IS_TRAINER (self), NULL);
  return self->best_metrics;
}

const char *
mien_trainer_get_best_path (MienTrainer *self)
{
  g_return_val_if_fail (MIEN_IS_TRAINER (self), NULL);
  return self->best_path;
}

const double *
mien_trainer_get_class_weights (MienTrainer *self)
{
  g_return_val_if_fail (MIEN_IS_TRAINER (self), NULL);
  return self->class_weights;
}

const char *
mien_trainer_get_pretrained_summary (MienTrainer *self)
{
  g_return_val_if_fail (MIEN_IS_TRAINER (self), NULL);
  return self->pretrained_summary;
}

GPtrArray *
mien_trainer_get_unreadable (MienTrainer *self)
{
  g_return_val_if_fail (MIEN_IS_TRAINER (self), NULL);
  return self->unreadable;
}

/* ---- One run --------------------------------------------------------------------------- */

/* Everything a run holds while it goes; freed at its end. */
typedef struct {
  MienTrainer     *self;
  MienTrainConfig *config;
  GCancellable    *cancellable;

  MienDataset     *train_set;
  MienDataset     *val_set;
  MienLoader      *train_loader;
  MienLoader      *val_loader;
  GArray          *plan;         /* MienSlot, before shuffling */
  guint            n_classes;
  guint           *train_counts;

  MienModel       *model;
  MienOptimizer   *optimizer;
  MienTensor      *weight;       /* class weights on the device, or NULL */
  gboolean         augment;

  guint            start_epoch;  /* epochs already done (resume) */
  gint64           global_step;
  guint            steps_per_epoch;
  MienRun         *folder;       /* the run folder, once it exists */

  gint64           run_start_us;
  guint64          steps_this_session;

  /* Data-parallel runs: the group (borrowed from the trainer), this rank and the world size
   * (0 and 1 alone), and the gradient reducer */
  MienProcessGroup *pg;
  guint            rank;
  guint            world_size;
  MienGradReducer *reducer;

  /* Where this epoch's time went, in µs (the log's "time" record): waiting for the loader,
   * forward (with the augmentation and the loss), backward (with a group's all-reduce, which
   * overlaps it, and its wait for the slowest rank), the optimiser, and the buffers' broadcast */
  gint64           time_data, time_forward, time_backward, time_optimizer, time_sync;
} Run;

static void
run_clear (Run *run)
{
  g_clear_object (&run->train_set);
  g_clear_object (&run->val_set);
  g_clear_pointer (&run->train_loader, mien_loader_free);
  g_clear_pointer (&run->val_loader, mien_loader_free);
  g_clear_pointer (&run->plan, g_array_unref);
  g_clear_pointer (&run->train_counts, g_free);
  g_clear_object (&run->model);
  g_clear_pointer (&run->optimizer, mien_optimizer_free);
  g_clear_pointer (&run->weight, mien_tensor_free);
  g_clear_object (&run->folder);
  g_clear_pointer (&run->reducer, mien_grad_reducer_free);
}

/* splitmix64: the per-epoch libtorch seed, so that a resumed run draws what the uninterrupted
 * one would have. */
static guint64
mix_seed (guint64 seed,
          guint64 salt)
{
  guint64 z = seed + 0x9e3779b97f4a7c15ull * (salt + 1);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void
report (Run            *run,
        MienTrainPhase  phase,
        guint           epoch,
        guint           step,
        guint           n_steps,
        double          loss,
        double          images_per_s)
{
  MienTrainer *self = run->self;
  MienTrainProgress p = { 0 };
  double total_steps = (double) run->config->epochs * MAX (run->steps_per_epoch, 1);
  double done_steps;

  if (self->progress_func == NULL)
    return;

  p.phase = phase;
  p.epoch = epoch;
  p.n_epochs = run->config->epochs;
  p.step = step;
  p.n_steps = n_steps;
  p.loss = loss;
  p.images_per_s = images_per_s;
  p.eta_s = -1.0;
  if (phase == MIEN_TRAIN_PHASE_PREPARING)
    p.fraction = 0.0;
  else
    {
      done_steps = (double) (epoch - 1) * run->steps_per_epoch +
                   (phase == MIEN_TRAIN_PHASE_VALIDATING ? run->steps_per_epoch : step);
      p.fraction = CLAMP (done_steps / total_steps, 0.0, 1.0);
      if (run->steps_this_session > 0)
        {
          double elapsed = (g_get_monotonic_time () - run->run_start_us) / 1e6;
          p.eta_s = elapsed / run->steps_this_session * (total_steps - done_steps);
        }
    }
  self->progress_func (&p, self->progress_data);
}

typedef struct {
  Run   *run;
  guint  total;
} PrepareProgress;

static void
prepare_progress_cb (double      fraction,
                     const char *message,
                     gpointer    user_data)
{
  PrepareProgress *pp = user_data;

  report (pp->run, MIEN_TRAIN_PHASE_PREPARING, 0, (guint) (fraction * pp->total), pp->total,
          0.0, 0.0);
}

static gboolean
is_dir (const char *path)
{
  return g_file_test (path, G_FILE_TEST_IS_DIR);
}

/* `split` of `dataset`; without one, `fallback` where the file holds several splits, else all
 * of it. */
static MienDataset *
pick_split (MienDataset  *dataset,
            const char   *split,
            const char   *fallback,
            GError      **error)
{
  if (split == NULL && g_strv_length ((char **) mien_dataset_get_splits (dataset)) > 1)
    split = fallback;
  return mien_dataset_select_split (dataset, split, error);
}

gboolean
mien_train_config_open_datasets (const MienTrainConfig  *config,
                                 MienDataset           **train_out,
                                 MienDataset           **val_out,
                                 GError               **error)
{
  g_autofree char *train_dir = NULL;
  g_autofree char *val_dir = NULL;
  g_autoptr(MienDataset) full = NULL;
  g_autoptr(MienDataset) train = NULL;
  g_autoptr(MienDataset) val_set = NULL;
  const char *train_path;
  const char *val_path;

  g_return_val_if_fail (config != NULL && config->data != NULL, FALSE);
  g_return_val_if_fail (train_out != NULL && val_out != NULL, FALSE);

  train_dir = g_build_filename (config->data, "train", NULL);
  val_dir = g_build_filename (config->data, "val", NULL);
  train_path = config->data;
  val_path = config->val;
  if (val_path == NULL && is_dir (train_dir) && is_dir (val_dir))
    {
      train_path = train_dir;
      val_path = val_dir;
    }

  full = mien_dataset_open (train_path, (const char * const *) config->classes, error);
  if (full == NULL)
    return FALSE;
  train = pick_split (full, config->split, "train", error);
  if (train == NULL)
    return FALSE;
  if (val_path != NULL)
    {
      g_autoptr(MienDataset) val_file = mien_dataset_open (val_path,
                                                           mien_dataset_get_classes (full),
                                                           error);

      if (val_file == NULL || (val_set = pick_split (val_file, NULL, "val", error)) == NULL)
        return FALSE;
    }
  else if (g_strv_contains (mien_dataset_get_splits (full), "val") &&
           g_strv_length ((char **) mien_dataset_get_splits (full)) > 1 &&
           g_strcmp0 (config->split, "val") != 0)
    val_set = mien_dataset_select_split (full, "val", error);
  else
    return mien_dataset_split (train, config->val_split, config->seed, train_out, val_out,
                               error);
  if (val_set == NULL)
    return FALSE;
  *train_out = g_steal_pointer (&train);
  *val_out = g_steal_pointer (&val_set);
  return TRUE;
}

static gboolean
open_datasets (Run     *run,
               GError **error)
{
  MienTrainConfig *config = run->config;

  if (!mien_train_config_open_datasets (config, &run->train_set, &run->val_set, error))
    return FALSE;
  /* Before config.json is written: the margin the training images' framing implies is the
   * one recorded, unless one was given. */
  if (isnan (config->face_margin))
    config->face_margin = mien_dataset_get_face_margin (run->train_set);

  run->n_classes = mien_dataset_get_n_classes (run->train_set);
  run->train_counts = g_new0 (guint, run->n_classes);
  mien_dataset_count (run->train_set, run->train_counts);

  if (config->class_weights == MIEN_CLASS_WEIGHTS_CUSTOM && config->n_weights != run->n_classes)
    {
      g_autofree char *names = g_strjoinv (", ",
                                           (char **) mien_dataset_get_classes (run->train_set));

      return config_error (error, _("%u class weights given for %u classes (%s)"),
                           config->n_weights, run->n_classes, names);
    }
  return TRUE;
}

static int
resolve_input_size (Run     *run,
                    GError **error)
{
  g_autofree char *variant_name = NULL;
  g_autoptr(MienBackbone) backbone = NULL;
  const MienBackboneVariant *variant;

  backbone = mien_plugin_engine_create_backbone (run->self->engine, run->config->backbone,
                                                 &variant_name, error);
  if (backbone == NULL)
    return -1;
  variant = mien_backbone_find_variant (backbone, variant_name);
  if (variant == NULL)
    {
      g_set_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_UNKNOWN_VARIANT,
                   _("The %s backbone has no variant “%s”"), run->config->backbone,
                   variant_name);
      return -1;
    }
  return run->config->input_size > 0 ? run->config->input_size : variant->input_size;
}

/* The loaders' lists outlive them here, for front ends to show after the run. */
static void
collect_unreadable (Run *run)
{
  MienTrainer *self = run->self;
  MienLoader *loaders[] = { run->train_loader, run->val_loader };

  g_clear_pointer (&self->unreadable, g_ptr_array_unref);
  self->unreadable = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (loaders); i++)
    {
      GPtrArray *list = mien_loader_get_unreadable (loaders[i]);

      for (guint j = 0; list != NULL && j < list->len; j++)
        g_ptr_array_add (self->unreadable, g_strdup (list->pdata[j]));
    }
}

static gboolean
make_loaders (Run     *run,
              int      input_size,
              double  *mean,
              double  *std,
              GError **error)
{
  MienTrainConfig *config = run->config;
  MienLoaderOptions options = MIEN_LOADER_OPTIONS_INIT;
  PrepareProgress pp = { run, mien_dataset_get_n_samples (run->train_set) +
                               mien_dataset_get_n_samples (run->val_set) };

  options.input_size = input_size;
  options.grey = config->grey;
  options.batch_size = config->batch_size;
  options.n_workers = config->workers;
  options.device = config->device;

  /* A last batch of one image would break batch norm; dropping it costs little. */
  options.drop_last = TRUE;
  run->train_loader = mien_loader_new (run->train_set, &options, error);
  if (run->train_loader == NULL)
    return FALSE;
  options.drop_last = FALSE;
  run->val_loader = mien_loader_new (run->val_set, &options, error);
  if (run->val_loader == NULL)
    return FALSE;

  if (!mien_loader_prepare (run->train_loader, mean, std, prepare_progress_cb, &pp,
                            run->cancellable, error) ||
      !mien_loader_prepare (run->val_loader, NULL, NULL, NULL, NULL, run->cancellable, error))
    return FALSE;

  if (config->imbalance == MIEN_IMBALANCE_UPSAMPLE ||
      config->imbalance == MIEN_IMBALANCE_UPSAMPLE_WEIGHTED)
    run->plan = mien_dataset_upsample_plan (run->train_set, config->seed);
  else
    run->plan = mien_dataset_plain_plan (run->train_set);
  mien_loader_filter_readable (run->train_loader, run->plan);
  collect_unreadable (run);
  run->augment = config->imbalance == MIEN_IMBALANCE_UPSAMPLE ||
                 config->imbalance == MIEN_IMBALANCE_UPSAMPLE_WEIGHTED ||
                 config->imbalance == MIEN_IMBALANCE_ONTHEFLY;

  /* Each rank's share is the padded plan's (mien_slots_shard ()). */
  run->steps_per_epoch = (run->plan->len + run->world_size - 1) / run->world_size /
                         config->batch_size;
  if (run->steps_per_epoch == 0)
    {
      if (run->world_size > 1)
        return config_error (error, _("Only %u readable training images: fewer than one batch "
                                      "of %u on each of %u ranks"), run->plan->len,
                             config->batch_size, run->world_size);
      return config_error (error, _("Only %u readable training images: fewer than one batch of "
                                    "%u"), run->plan->len, config->batch_size);
    }
  return TRUE;
}

static gboolean
make_class_weights (Run     *run,
                    GError **error)
{
  MienTrainConfig *config = run->config;
  MienTrainer *self = run->self;
  MienClassWeightsKind kind = config->class_weights;
  g_autofree float *w32 = NULL;
  g_autoptr(MienTensor) host = NULL;
  gint64 shape[1] = { run->n_classes };

  if (kind == MIEN_CLASS_WEIGHTS_DEFAULT)
    kind = (config->imbalance == MIEN_IMBALANCE_WEIGHTED ||
            config->imbalance == MIEN_IMBALANCE_UPSAMPLE_WEIGHTED)
           ? MIEN_CLASS_WEIGHTS_AUTO : MIEN_CLASS_WEIGHTS_NONE;
  if (kind == MIEN_CLASS_WEIGHTS_NONE)
    return TRUE;

  g_free (self->class_weights);
  self->class_weights = g_new0 (double, run->n_classes);
  if (kind == MIEN_CLASS_WEIGHTS_AUTO)
    mien_class_weights_auto (run->train_counts, run->n_classes, self->class_weights);
  else
    memcpy (self->class_weights, config->weights, run->n_classes * sizeof (double));

  w32 = g_new (float, run->n_classes);
  for (guint i = 0; i < run->n_classes; i++)
    w32[i] = (float) self->class_weights[i];
  host = mien_tensor_new_from_data (w32, MIEN_DTYPE_FLOAT32, shape, 1, error);
  if (host == NULL)
    return FALSE;
  run->weight = mien_tensor_to_device (host, config->device, error);
  return run->weight != NULL;
}

static GMutex seeded_build;

static gboolean
make_model (Run           *run,
            int            input_size,
            const double  *mean,
            const double  *std,
            GError       **error)
{
  MienTrainConfig *config = run->config;
  MienModelSpec spec = { 0 };
  MienAdamConfig adam = MIEN_ADAM_CONFIG_INIT;
  char *summary = NULL;

  spec.backbone = config->backbone;
  spec.input_size = input_size;
  spec.mode = config->mode;
  spec.batch_norm = config->batch_norm;
  spec.classes = mien_dataset_get_classes (run->train_set);
  spec.grey = config->grey;
  if (mien_train_config_get_normalisation (config) == MIEN_NORMALISATION_IMAGENET)
    {
      const MienWeightsInfo *weights = mien_weights_find_file (run->self->engine,
                                                               config->backbone,
                                                               config->pretrained);

      mean = weights != NULL ? weights->mean : mien_imagenet_mean;
      std = weights != NULL ? weights->std : mien_imagenet_std;
    }
  memcpy (spec.mean, mean, sizeof spec.mean);
  memcpy (spec.std, std, sizeof spec.std);
  spec.device = config->device;

  /* The initial weights come from this seed, whatever happened before in the process, and
   * whatever another trainer of the process (a rank on another thread) draws meanwhile:
   * libtorch's generator is the process's. */
  g_mutex_lock (&seeded_build);
  mien_torch_manual_seed (config->seed);
  run->model = mien_model_new (run->self->engine, &spec, error);
  g_mutex_unlock (&seeded_build);
  if (run->model == NULL)
    return FALSE;
  if (config->pretrained != NULL && !run->self->resume &&
      !mien_model_load_pretrained (run->model, config->pretrained, &summary, error))
    return FALSE;
  g_free (run->self->pretrained_summary);
  run->self->pretrained_summary = g_steal_pointer (&summary);

  adam.lr = config->lr;
  adam.beta1 = config->beta1;
  adam.beta2 = config->beta2;
  adam.weight_decay = config->weight_decay;
  run->optimizer = mien_optimizer_new_adam (&adam, error);
  if (run->optimizer == NULL)
    return FALSE;
  return mien_model_add_to_optimizer (run->model, run->optimizer, error);
}

/* ---- Checkpoints ---------------------------------------------------------------------- */

#define OPTIMIZER_PREFIX "optimizer."

static void
collect_state_cb (const char *name,
                  MienTensor *value,
                  gpointer    user_data)
{
  GPtrArray *pairs = user_data;

  g_ptr_array_add (pairs, g_strconcat (OPTIMIZER_PREFIX, name, NULL));
  g_ptr_array_add (pairs, mien_tensor_alias (value));
}

static MienVarStore *
optimizer_state_store (Run     *run,
                       GError **error)
{
  g_autoptr(MienVarStore) vs = mien_var_store_new (mien_device_cpu ());
  g_autoptr(GPtrArray) pairs = g_ptr_array_new ();
  gboolean ok = TRUE;

  mien_optimizer_foreach_state (run->optimizer, collect_state_cb, pairs);
  for (guint i = 0; i < pairs->len; i += 2)
    {
      if (ok)
        ok = mien_var_store_add (vs, pairs->pdata[i], MIEN_VAR_BUFFER, pairs->pdata[i + 1],
                                 error);
      g_free (pairs->pdata[i]);
      mien_tensor_free (pairs->pdata[i + 1]);
    }
  return ok ? g_steal_pointer (&vs) : NULL;
}

/* `record` is the epoch's log record for last.safetensors, NULL for best.safetensors. */
static JsonObject *
checkpoint_metadata (Run         *run,
                     guint        epoch,
                     MienMetrics *metrics,
                     JsonObject  *record)
{
  JsonObject *o = json_object_new ();
  MienTrainer *self = run->self;
  JsonArray *counts = json_array_new ();

  json_object_set_member (o, "training", mien_train_config_to_json (run->config));
  /* Beside the configuration, where predicting reads it (mien_model_get_face_margin ()). */
  if (isnan (run->config->face_margin))
    json_object_set_null_member (o, "face_margin");
  else
    json_object_set_double_member (o, "face_margin", run->config->face_margin);
  json_object_set_member (o, "metrics", mien_metrics_to_json (metrics));
  json_object_set_int_member (o, "epoch", epoch);
  for (guint i = 0; i < run->n_classes; i++)
    json_array_add_int_element (counts, run->train_counts[i]);
  json_object_set_array_member (o, "train_counts", counts);
  if (self->class_weights != NULL)
    {
      JsonArray *w = json_array_new ();

      for (guint i = 0; i < run->n_classes; i++)
        json_array_add_double_element (w, self->class_weights[i]);
      json_object_set_array_member (o, "class_weights", w);
    }
  if (record != NULL)
    {
      MienRunCheckpoint cp = { epoch, run->global_step, self->best_epoch, self->best_f1,
                               record };

      json_object_set_object_member (o, MIEN_RUN_CHECKPOINT_KEY, mien_run_checkpoint_to_json (&cp));
    }
  return o;
}

/* Tests stop the trainer after each step of the end of an epoch, as a kill would:
 * MIEN_TRAINER_FAIL_AFTER=STEP:EPOCH, STEP one of "best", "last", "log". */
static gboolean
injected_failure (const char  *step,
                  guint        epoch,
                  GError     **error)
{
  const char *spec = g_getenv ("MIEN_TRAINER_FAIL_AFTER");
  g_autofree char *expected = NULL;

  if (spec == NULL)
    return FALSE;
  expected = g_strdup_printf ("%s:%u", step, epoch);
  if (!g_str_equal (spec, expected))
    return FALSE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "stopped after %s (MIEN_TRAINER_FAIL_AFTER)",
               expected);
  return TRUE;
}

static gboolean
save_checkpoints (Run          *run,
                  guint         epoch,
                  MienMetrics  *metrics,
                  gboolean      is_best,
                  JsonObject   *record,
                  GError      **error)
{
  MienTrainer *self = run->self;
  g_autofree char *last_path = g_build_filename (run->config->out, "last.safetensors", NULL);
  g_autoptr(MienVarStore) state = NULL;
  g_autoptr(JsonObject) last_meta = NULL;

  /* best first: if the disk fills up in between, last.safetensors still describes the epoch
   * before, and resume redoes this one. */
  if (is_best)
    {
      g_autoptr(JsonObject) best_meta = checkpoint_metadata (run, epoch, metrics, NULL);
      g_autofree char *best_path = g_build_filename (run->config->out, "best.safetensors", NULL);

      if (!mien_model_save (run->model, best_path, best_meta, NULL, error) ||
          injected_failure ("best", epoch, error))
        return FALSE;
    }

  state = optimizer_state_store (run, error);
  if (state == NULL)
    return FALSE;
  /* The record goes with the checkpoint, so that a kill before the log is written loses
   * nothing (mien-run.h). */
  last_meta = checkpoint_metadata (run, epoch, metrics, record);
  if (!mien_model_save (run->model, last_path, last_meta, state, error) ||
      injected_failure ("last", epoch, error))
    return FALSE;
  if (is_best)
    {
      g_free (self->best_path);
      self->best_path = g_build_filename (run->config->out, "best.safetensors", NULL);
    }
  return TRUE;
}

/* Reads back what a killed run left: the weights, the optimiser state and the trainer state
 * (the log was lined up with them by mien_run_open_for_resume ()). */
static gboolean
restore_checkpoint (Run     *run,
                    GError **error)
{
  MienTrainer *self = run->self;
  const MienRunCheckpoint *cp = mien_run_get_checkpoint (run->folder);
  const char *last_path = mien_run_get_last_model (run->folder);
  g_autoptr(MienSafetensors) st = NULL;
  g_autoptr(MienLoadReport) load_report = NULL;
  MienLoadOptions options = { 0 };

  g_assert (cp != NULL && last_path != NULL);
  st = mien_safetensors_open (last_path, error);
  if (st == NULL)
    return FALSE;

  options.flags = MIEN_LOAD_TOLERANT;
  if (!mien_var_store_load_from (mien_model_get_var_store (run->model), st, &options,
                                 &load_report, error))
    return FALSE;
  if (load_report->missing->len > 0 || load_report->mismatched->len > 0)
    {
      g_autofree char *summary = mien_load_report_to_string (load_report);

      g_set_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_RESUME,
                   _("%s does not fit this run's model: %s"), last_path, summary);
      return FALSE;
    }

  for (guint i = 0; i < mien_safetensors_get_n_entries (st); i++)
    {
      const MienSafetensorsEntry *entry = mien_safetensors_get_entry (st, i);
      g_autoptr(MienTensor) value = NULL;

      if (!g_str_has_prefix (entry->name, OPTIMIZER_PREFIX))
        continue;
      value = mien_safetensors_load_tensor (st, entry->name, error);
      if (value == NULL ||
          !mien_optimizer_set_state (run->optimizer, entry->name + strlen (OPTIMIZER_PREFIX),
                                     value, error))
        return FALSE;
    }

  run->start_epoch = cp->epoch;
  run->global_step = cp->step;
  /* Another world size has another number of steps per epoch: the position is recounted in
   * the new ones, so that the schedule goes on from the same point of the run. */
  if (cp->record == NULL ||
      json_object_get_int_member_with_default (cp->record, "world_size", 1) != run->world_size)
    run->global_step = (gint64) cp->epoch * run->steps_per_epoch;
  self->best_epoch = cp->best_epoch;
  self->best_f1 = cp->best_macro_f1;
  g_clear_pointer (&self->best_metrics, mien_metrics_free);
  g_clear_pointer (&self->best_path, g_free);
  if (mien_run_get_best_metrics (run->folder) != NULL &&
      mien_run_get_best_model (run->folder) != NULL)
    {
      self->best_metrics = mien_metrics_copy (mien_run_get_best_metrics (run->folder));
      self->best_path = g_strdup (mien_run_get_best_model (run->folder));
    }
  return TRUE;
}

/* ---- Data parallelism ------------------------------------------------------------------ */

typedef struct {
  GHashTable *by_name;   /* state name → MienTensor alias */
  GPtrArray  *names;     /* in the optimiser's order */
} StateIndex;

static void
index_state_cb (const char *name,
                MienTensor *value,
                gpointer    user_data)
{
  StateIndex *index = user_data;

  g_ptr_array_add (index->names, g_strdup (name));
  g_hash_table_insert (index->by_name, g_strdup (name), mien_tensor_alias (value));
}

/* Rank 0's trainer state and the names and shapes of its optimiser state, for the others. */
static char *
describe_state (Run        *run,
                StateIndex *index)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "start_epoch");
  json_builder_add_int_value (b, run->start_epoch);
  json_builder_set_member_name (b, "global_step");
  json_builder_add_int_value (b, run->global_step);
  json_builder_set_member_name (b, "best_epoch");
  json_builder_add_int_value (b, run->self->best_epoch);
  json_builder_set_member_name (b, "best_f1");
  json_builder_add_double_value (b, run->self->best_f1);
  json_builder_set_member_name (b, "optimizer");
  json_builder_begin_array (b);
  for (guint i = 0; i < index->names->len; i++)
    {
      MienTensor *value = g_hash_table_lookup (index->by_name, index->names->pdata[i]);
      gint64 shape[8];
      int ndim = mien_tensor_shape (value, shape, G_N_ELEMENTS (shape));

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, index->names->pdata[i]);
      json_builder_set_member_name (b, "shape");
      json_builder_begin_array (b);
      for (int d = 0; d < ndim; d++)
        json_builder_add_int_value (b, shape[d]);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* Makes the ranks other than 0 start where rank 0 does: its counters, its optimiser state
 * (created here as zeros of rank 0's shapes, then overwritten) and every tensor of the model,
 * broadcast from rank 0; then the reducer over the trainable parameters. */
static gboolean
sync_start (Run     *run,
            GError **error)
{
  MienTrainer *self = run->self;
  MienVarStore *vs = mien_model_get_var_store (run->model);
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GPtrArray) params = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_tensor_free);
  g_autoptr(GPtrArray) tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_tensor_free);
  StateIndex index = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify) mien_tensor_free),
                       g_ptr_array_new_with_free_func (g_free) };
  JsonArray *entries;
  gboolean ok = FALSE;

  mien_optimizer_foreach_state (run->optimizer, index_state_cb, &index);
  if (run->rank == 0)
    {
      text = describe_state (run, &index);
      if (!mien_process_group_store_set (run->pg, DIST_STATE_KEY, text, error))
        goto out;
    }
  else
    {
      JsonObject *o;

      text = mien_process_group_store_get (run->pg, DIST_STATE_KEY, error);
      if (text == NULL || (node = json_from_string (text, error)) == NULL)
        goto out;
      o = json_node_get_object (node);
      run->start_epoch = json_object_get_int_member (o, "start_epoch");
      run->global_step = json_object_get_int_member (o, "global_step");
      self->best_epoch = json_object_get_int_member (o, "best_epoch");
      self->best_f1 = json_object_get_double_member (o, "best_f1");
      entries = json_object_get_array_member (o, "optimizer");
      for (guint i = 0; i < json_array_get_length (entries); i++)
        {
          JsonObject *entry = json_array_get_object_element (entries, i);
          const char *name = json_object_get_string_member (entry, "name");
          JsonArray *dims = json_object_get_array_member (entry, "shape");
          gint64 shape[8] = { 0 };
          guint ndim = MIN (json_array_get_length (dims), G_N_ELEMENTS (shape));
          g_autoptr(MienTensor) zeros = NULL;

          for (guint d = 0; d < ndim; d++)
            shape[d] = json_array_get_int_element (dims, d);
          zeros = mien_tensor_new_zeros (shape, ndim, MIEN_DTYPE_FLOAT32, mien_device_cpu (),
                                         error);
          if (zeros == NULL ||
              !mien_optimizer_set_state (run->optimizer, name, zeros, error))
            goto out;
        }
      g_hash_table_remove_all (index.by_name);
      g_ptr_array_set_size (index.names, 0);
      mien_optimizer_foreach_state (run->optimizer, index_state_cb, &index);
      /* Rank 0's order, which the broadcasts below follow. */
      g_ptr_array_set_size (index.names, 0);
      for (guint i = 0; i < json_array_get_length (entries); i++)
        g_ptr_array_add (index.names, g_strdup (json_object_get_string_member (
                                        json_array_get_object_element (entries, i), "name")));
    }

  for (guint i = 0; i < mien_var_store_get_n_vars (vs); i++)
    g_ptr_array_add (tensors, mien_var_store_get_nth (vs, i));
  for (guint i = 0; i < index.names->len; i++)
    {
      MienTensor *value = g_hash_table_lookup (index.by_name, index.names->pdata[i]);

      if (value == NULL)
        {
          g_set_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_RESUME,
                       _("Rank 0's optimiser state %s has no counterpart here"),
                       (const char *) index.names->pdata[i]);
          goto out;
        }
      g_ptr_array_add (tensors, mien_tensor_alias (value));
    }
  if (!mien_process_group_broadcast_many (run->pg, (MienTensor * const *) tensors->pdata,
                                          tensors->len, 0, error))
    goto out;

  for (guint i = 0; i < mien_optimizer_get_n_parameters (run->optimizer); i++)
    g_ptr_array_add (params, mien_optimizer_get_parameter (run->optimizer, i));
  run->reducer = mien_grad_reducer_new (run->pg, (MienTensor * const *) params->pdata, params->len,
                                        error);
  ok = run->reducer != NULL;

out:
  g_hash_table_unref (index.by_name);
  g_ptr_array_unref (index.names);
  return ok;
}

/* DistributedDataParallel's broadcast_buffers: rank 0's batch-norm running statistics, before
 * every training step, in one go. Only where they move: with batch norm in eval mode (DFT, a
 * probe, --batch-norm eval) they are what sync_start () sent, and synchronised batch norm keeps
 * them equal by itself. */
static gboolean
broadcast_buffers (Run     *run,
                   GError **error)
{
  MienVarStore *vs = mien_model_get_var_store (run->model);
  g_autoptr(GPtrArray) buffers = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_tensor_free);

  if (run->config->sync_batch_norm ||
      mien_model_get_batch_norm (run->model) != MIEN_BATCH_NORM_TRAIN)
    return TRUE;
  for (guint i = 0; i < mien_var_store_get_n_vars (vs); i++)
    if (mien_var_store_get_kind (vs, i) == MIEN_VAR_BUFFER)
      g_ptr_array_add (buffers, mien_var_store_get_nth (vs, i));
  return mien_process_group_broadcast_many (run->pg, (MienTensor * const *) buffers->pdata,
                                            buffers->len, 0, error);
}

/* Sums `metrics`' confusion matrix, and the loss summed over `count` images, across the ranks:
 * one reduction for an epoch's training or validation figures. */
static gboolean
reduce_metrics (Run         *run,
                MienMetrics *metrics,
                double      *loss_sum,
                guint64     *count,
                GError     **error)
{
  guint k = metrics->n_classes;
  g_autofree double *values = g_new (double, k * k + k + 2);

  for (guint i = 0; i < k * k; i++)
    values[i] = metrics->confusion[i];
  for (guint i = 0; i < k; i++)
    values[k * k + i] = metrics->missed[i];
  values[k * k + k] = *loss_sum;
  values[k * k + k + 1] = (double) *count;
  if (!mien_process_group_sum_doubles (run->pg, values, k * k + k + 2, error))
    return FALSE;
  metrics->n = 0;
  for (guint i = 0; i < k * k; i++)
    {
      metrics->confusion[i] = (guint64) values[i];
      metrics->n += metrics->confusion[i];
    }
  for (guint i = 0; i < k; i++)
    {
      metrics->missed[i] = (guint64) values[k * k + i];
      metrics->n += metrics->missed[i];
    }
  *loss_sum = values[k * k + k];
  *count = (guint64) values[k * k + k + 1];
  return TRUE;
}

/* ---- Epochs ---------------------------------------------------------------------------- */

static double
scheduled_lr (Run *run)
{
  MienTrainConfig *config = run->config;
  double total = (double) config->epochs * run->steps_per_epoch;
  double warmup = config->warmup_epochs * run->steps_per_epoch;
  double step = (double) run->global_step;

  if (warmup > 0 && step < warmup)
    return config->lr * (step + 1) / warmup;
  if (config->schedule == MIEN_SCHEDULE_COSINE)
    return 0.5 * config->lr * (1.0 + cos (G_PI * (step - warmup) / MAX (total - warmup, 1.0)));
  return config->lr;
}

/* RandAugment (upsampling copies, with the key of epoch 0; every image on the fly), then flip
 * and crop, drawn anew every epoch for every image, copies included (see mien-trainer.h). */
static MienTensor *
augment_batch (Run        *run,
               MienBatch  *batch,
               MienTensor *images,
               guint       epoch,
               GError    **error)
{
  MienTrainConfig *config = run->config;
  g_autofree guint64 *keys = g_new (guint64, batch->n);
  g_autofree guint64 *geometry_keys = g_new (guint64, batch->n);
  g_autofree gboolean *apply = g_new (gboolean, batch->n);
  g_autoptr(MienTensor) randaugmented = NULL;
  gboolean onthefly = config->imbalance == MIEN_IMBALANCE_ONTHEFLY;
  gboolean any = FALSE;

  for (guint i = 0; i < batch->n; i++)
    {
      const MienSlot *slot = &batch->slots[i];

      apply[i] = run->augment && (onthefly || slot->copy > 0);
      keys[i] = mien_augment_key (config->seed, slot->index, slot->copy, onthefly ? epoch : 0);
      geometry_keys[i] = mien_augment_key (config->seed, slot->index, slot->copy, epoch);
      any |= apply[i];
    }
  if (any)
    randaugmented = mien_rand_augment_batch (&config->rand_augment, images, keys, apply, error);
  else
    randaugmented = mien_tensor_alias (images);
  if (randaugmented == NULL)
    return NULL;
  if (!config->geometry.flip && config->geometry.crop == MIEN_CROP_NONE)
    return g_steal_pointer (&randaugmented);
  return mien_geometry_augment_batch (&config->geometry, randaugmented, geometry_keys, error);
}

static gboolean
train_step (Run        *run,
            MienBatch  *batch,
            guint       epoch,
            double     *loss_out,
            MienMetrics *train_metrics,
            GError    **error)
{
  MienTrainConfig *config = run->config;
  g_autoptr(MienTensor) images = NULL;
  g_autoptr(MienTensor) augmented = NULL;
  g_autoptr(MienTensor) input = NULL;
  g_autoptr(MienTensor) labels = NULL;
  g_autoptr(MienTensor) logits = NULL;
  g_autoptr(MienTensor) loss = NULL;
  gint64 t0 = g_get_monotonic_time (), t1, t2;

  if (run->pg != NULL && !broadcast_buffers (run, error))
    return FALSE;
  t1 = g_get_monotonic_time ();
  run->time_sync += t1 - t0;
  images = mien_tensor_to_device (batch->images, config->device, error);
  if (images == NULL)
    return FALSE;
  augmented = augment_batch (run, batch, images, epoch, error);
  if (augmented == NULL)
    return FALSE;
  input = mien_model_prepare_input (run->model, augmented, error);
  labels = input ? mien_tensor_to_device (batch->labels, config->device, error) : NULL;
  if (labels == NULL)
    return FALSE;

  {
    g_autoptr(MienAutocastGuard) autocast = NULL;

    if (config->amp)
      {
        autocast = mien_autocast_guard_new (MIEN_DEVICE_CUDA, MIEN_DTYPE_BFLOAT16, error);
        if (autocast == NULL)
          return FALSE;
      }
    logits = mien_model_forward (run->model, input, TRUE, error);
  }
  if (logits == NULL)
    return FALSE;
  /* Eq. (1) with class weights: PyTorch's cross_entropy (weight, label_smoothing). */
  loss = mien_tensor_cross_entropy (logits, labels, run->weight, config->smoothing, error);
  if (loss == NULL)
    return FALSE;

  mien_optimizer_set_lr (run->optimizer, scheduled_lr (run));
  mien_optimizer_zero_grad (run->optimizer);
  if (run->reducer != NULL &&
      !mien_grad_reducer_prepare_for_backward (run->reducer, loss, error))
    return FALSE;
  t2 = g_get_monotonic_time ();
  run->time_forward += t2 - t1;
  if (!mien_tensor_backward (loss, error))
    {
      /* The reducer's all-reduce runs inside backward: its failure is another rank's doing. */
      if (run->pg != NULL)
        mien_process_group_explain_failure (run->pg, error);
      return FALSE;
    }
  run->time_backward += g_get_monotonic_time () - t2;
  t2 = g_get_monotonic_time ();
  if (!mien_optimizer_step (run->optimizer, error) ||
      !mien_tensor_item (loss, loss_out, error) ||
      !mien_metrics_add_batch (train_metrics, batch->labels, logits, error))
    return FALSE;
  run->time_optimizer += g_get_monotonic_time () - t2;
  if (!isfinite (*loss_out))
    {
      g_set_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_DIVERGED,
                   _("The training loss became %g at epoch %u, step %lld; try a lower learning "
                     "rate"), *loss_out, epoch, (long long) (run->global_step + 1));
      return FALSE;
    }
  run->global_step++;
  return TRUE;
}

static MienMetrics *
validate (Run     *run,
          guint    epoch,
          double  *loss_out,
          GError **error)
{
  g_autoptr(MienMetrics) metrics = mien_metrics_new (mien_model_get_classes (run->model));
  g_autoptr(GArray) slots = mien_dataset_plain_plan (run->val_set);
  g_autoptr(MienNoGradGuard) no_grad = mien_no_grad_guard_new ();
  double loss_sum = 0.0;
  guint64 n = 0;
  guint step = 0, n_steps;

  mien_loader_filter_readable (run->val_loader, slots);
  if (run->world_size > 1)
    {
      GArray *share = mien_slots_shard (slots, run->rank, run->world_size, FALSE);

      g_array_unref (slots);
      slots = share;
    }
  mien_loader_start (run->val_loader, slots);
  n_steps = mien_loader_get_n_batches (run->val_loader);
  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(MienBatch) batch = mien_loader_next (run->val_loader, run->cancellable,
                                                     &local_error);
      g_autoptr(MienTensor) images = NULL;
      g_autoptr(MienTensor) input = NULL;
      g_autoptr(MienTensor) labels = NULL;
      g_autoptr(MienTensor) logits = NULL;
      g_autoptr(MienTensor) loss = NULL;
      double value;

      if (batch == NULL)
        {
          if (local_error == NULL)
            break;
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      images = mien_tensor_to_device (batch->images, run->config->device, error);
      input = images ? mien_model_prepare_input (run->model, images, error) : NULL;
      logits = input ? mien_model_forward (run->model, input, FALSE, error) : NULL;
      labels = logits ? mien_tensor_to_device (batch->labels, run->config->device, error) : NULL;
      /* The plain cross-entropy: comparable across runs whatever their smoothing or weights. */
      loss = labels ? mien_tensor_cross_entropy (logits, labels, NULL, 0.0, error) : NULL;
      if (loss == NULL || !mien_tensor_item (loss, &value, error) ||
          !mien_metrics_add_batch (metrics, batch->labels, logits, error))
        return NULL;
      loss_sum += value * batch->n;
      n += batch->n;
      report (run, MIEN_TRAIN_PHASE_VALIDATING, epoch, ++step, n_steps, 0.0, 0.0);
    }
  if (run->world_size > 1 && !reduce_metrics (run, metrics, &loss_sum, &n, error))
    return NULL;
  if (n == 0)
    {
      g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_EMPTY,
                   _("The validation set has no readable image"));
      return NULL;
    }
  *loss_out = loss_sum / n;
  mien_metrics_compute (metrics);
  return g_steal_pointer (&metrics);
}

static gboolean
run_epoch (Run     *run,
           guint    epoch,
           GError **error)
{
  MienTrainer *self = run->self;
  g_autoptr(GArray) slots = g_array_copy (run->plan);
  g_autoptr(MienMetrics) train_metrics = mien_metrics_new (mien_model_get_classes (run->model));
  g_autoptr(MienMetrics) val_metrics = NULL;
  g_autoptr(JsonObject) record = json_object_new ();
  gint64 start_us = g_get_monotonic_time ();
  double loss_sum = 0.0, val_loss = 0.0, train_s;
  guint64 n_images = 0;
  guint step = 0;
  gboolean is_best;

  /* Dropout masks and the like: the same in a resumed run as in an uninterrupted one (and, on
   * rank 0, as in one process). */
  mien_torch_manual_seed (mix_seed (run->config->seed + run->rank, epoch));
  mien_slots_shuffle (slots, run->config->seed, epoch);
  if (run->world_size > 1)
    {
      GArray *share = mien_slots_shard (slots, run->rank, run->world_size, TRUE);

      g_array_unref (slots);
      slots = share;
    }
  mien_loader_start (run->train_loader, slots);
  run->time_data = run->time_forward = run->time_backward = run->time_optimizer = 0;
  run->time_sync = 0;

  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(MienBatch) batch = NULL;
      gint64 wait_start = g_get_monotonic_time ();
      double loss;

      if (g_cancellable_set_error_if_cancelled (run->cancellable, error))
        return FALSE;
      batch = mien_loader_next (run->train_loader, run->cancellable, &local_error);
      run->time_data += g_get_monotonic_time () - wait_start;
      if (batch == NULL)
        {
          if (local_error == NULL)
            break;
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      /* A batch shrunk to one image by unreadable files would break batch norm; the ranks of a
       * group must step together, though, and take it. */
      if (batch->n < 2 && run->pg == NULL)
        continue;
      if (run->pg != NULL)
        {
          g_autofree char *where = g_strdup_printf (_("epoch %u, step %u"), epoch, step + 1);

          mien_process_group_set_progress (run->pg, run->global_step, where);
        }
      if (!train_step (run, batch, epoch, &loss, train_metrics, error))
        return FALSE;
      loss_sum += loss * batch->n;
      n_images += batch->n;
      step++;
      run->steps_this_session++;
      report (run, MIEN_TRAIN_PHASE_TRAINING, epoch, step, run->steps_per_epoch,
              loss_sum / n_images, n_images / ((g_get_monotonic_time () - start_us) / 1e6));
    }
  train_s = (g_get_monotonic_time () - start_us) / 1e6;
  if (run->world_size > 1 && !reduce_metrics (run, train_metrics, &loss_sum, &n_images, error))
    return FALSE;
  mien_metrics_compute (train_metrics);

  val_metrics = validate (run, epoch, &val_loss, error);
  if (val_metrics == NULL)
    return FALSE;

  is_best = val_metrics->macro_f1 > self->best_f1;
  if (is_best)
    {
      self->best_f1 = val_metrics->macro_f1;
      self->best_epoch = epoch;
      mien_metrics_free (self->best_metrics);
      self->best_metrics = mien_metrics_copy (val_metrics);
    }

  json_object_set_int_member (record, "epoch", epoch);
  json_object_set_int_member (record, "step", run->global_step);
  json_object_set_double_member (record, "lr", mien_optimizer_get_lr (run->optimizer));
  json_object_set_double_member (record, "train_loss", n_images ? loss_sum / n_images : NAN);
  json_object_set_double_member (record, "train_accuracy", train_metrics->accuracy);
  json_object_set_int_member (record, "train_images", n_images);
  json_object_set_double_member (record, "train_seconds", train_s);
  json_object_set_double_member (record, "images_per_s", n_images / MAX (train_s, 1e-9));
  {
    JsonObject *time = json_object_new ();

    json_object_set_double_member (time, "data", run->time_data / 1e6);
    json_object_set_double_member (time, "forward", run->time_forward / 1e6);
    json_object_set_double_member (time, "backward", run->time_backward / 1e6);
    json_object_set_double_member (time, "optimizer", run->time_optimizer / 1e6);
    json_object_set_double_member (time, "sync", run->time_sync / 1e6);
    json_object_set_object_member (record, "time", time);
  }
  json_object_set_double_member (record, "val_loss", val_loss);
  json_object_set_double_member (record, "val_macro_f1", val_metrics->macro_f1);
  json_object_set_double_member (record, "val_accuracy", val_metrics->accuracy);
  json_object_set_member (record, "val", mien_metrics_to_json (val_metrics));
  json_object_set_boolean_member (record, "best", is_best);
  if (run->world_size > 1)
    json_object_set_int_member (record, "world_size", run->world_size);

  /* Only rank 0 writes the run folder. */
  if (run->rank == 0 &&
      (!save_checkpoints (run, epoch, val_metrics, is_best, record, error) ||
       !mien_run_add_epoch (run->folder, record, error) ||
       injected_failure ("log", epoch, error)))
    return FALSE;
  if (self->epoch_func != NULL)
    self->epoch_func (record, self->epoch_data);
  return TRUE;
}

/* What the run will use, recorded as such in config.json: a data folder holding train/ and
 * val/ is these two sets, and no split. */
static void
resolve_datasets (MienTrainConfig *config)
{
  g_autofree char *train_dir = g_build_filename (config->data, "train", NULL);
  g_autofree char *val_dir = g_build_filename (config->data, "val", NULL);

  if (config->val != NULL || !is_dir (train_dir) || !is_dir (val_dir))
    return;
  g_free (config->data);
  config->data = g_steal_pointer (&train_dir);
  config->val = g_steal_pointer (&val_dir);
}

/* Everything that can be checked before the run folder is touched. */
static gboolean
check_start (Run     *run,
             GError **error)
{
  MienTrainer *self = run->self;

  if (!mien_train_config_validate (self->config, error) ||
      !mien_device_check (self->config->device, error))
    return FALSE;
  if (run->rank > 0)
    {
      /* Rank 0 owns the folder and sends the state to start from (sync_start ()). */
      self->resume = FALSE;
      return TRUE;
    }
  if (self->continuing)
    {
      run->folder = mien_run_open_for_resume (self->config->out, error);
      if (run->folder == NULL)
        return FALSE;
      /* The checkpoint may have been deleted since new_resume (), or made since. */
      self->resume = mien_run_get_checkpoint (run->folder) != NULL;
      return TRUE;
    }
  resolve_datasets (self->config);
  return mien_run_check_new (self->config->out, error);
}

/* Rank 0 tells the others what to run (mien_trainer_new_rank ()). */
static gboolean
publish_config (Run     *run,
                GError **error)
{
  g_autoptr(JsonNode) node = mien_train_config_to_json (run->config);
  g_autofree char *text = json_to_string (node, FALSE);

  return mien_process_group_store_set (run->pg, DIST_CONFIG_KEY, text, error);
}

/* How long the ranks of one process wait for each other: they start together, and a failing
 * one closes its connections at once, so this only bounds a hang. */
#define LOCAL_TIMEOUT_S 600.0

typedef struct {
  MienTrainer     *rank0;
  int              rank;
  guint            port;
  MienDistBackend  backend;
  GCancellable    *cancellable;
  GError          *error;
} LocalRank;

static gpointer
local_rank_thread (gpointer data)
{
  LocalRank *lr = data;
  MienTrainer *rank0 = lr->rank0;
  MienDevice device = g_array_index (rank0->local_devices, MienDevice, lr->rank);
  g_autoptr(MienProcessGroup) pg = NULL;
  g_autoptr(MienTrainer) trainer = NULL;

  pg = mien_process_group_new (lr->backend, "127.0.0.1", lr->port, lr->rank,
                               (int) rank0->local_devices->len, device, LOCAL_TIMEOUT_S,
                               &lr->error);
  if (pg == NULL)
    return NULL;
  trainer = mien_trainer_new_rank (rank0->engine, pg, &device, 0, rank0->config->threads,
                                   &lr->error);
  if (trainer != NULL)
    mien_trainer_run (trainer, lr->cancellable, &lr->error);
  return NULL;
}

/* mien_trainer_set_local_devices ()'s run: rank 0 here, the others on threads. */
static gboolean
run_local_ranks (MienTrainer   *self,
                 GCancellable  *cancellable,
                 GError       **error)
{
  GArray *devices = self->local_devices;
  guint n = devices->len;
  g_autofree LocalRank *ranks = g_new0 (LocalRank, n);
  g_autofree GThread **threads = g_new0 (GThread *, n);
  g_autoptr(MienProcessGroup) pg = NULL;
  MienDistBackend backend = MIEN_DIST_BACKEND_NCCL;
  guint port;
  gboolean ok = FALSE;

  if (self->config->sync_batch_norm)
    {
      g_set_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG,
                   _("Synchronised batch norm needs one process per rank (mien-cli train "
                     "--nproc), not ranks on threads"));
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    if (g_array_index (devices, MienDevice, i).type != MIEN_DEVICE_CUDA)
      backend = MIEN_DIST_BACKEND_GLOO;
  if (backend == MIEN_DIST_BACKEND_NCCL && !mien_dist_backend_check (backend, NULL))
    backend = MIEN_DIST_BACKEND_GLOO;
  port = mien_dist_free_port (error);
  if (port == 0 || !mien_dist_backend_check (backend, error))
    return FALSE;

  for (guint r = 1; r < n; r++)
    {
      ranks[r] = (LocalRank) { self, (int) r, port, backend, cancellable, NULL };
      threads[r] = g_thread_new ("mien-rank", local_rank_thread, &ranks[r]);
    }
  pg = mien_process_group_new (backend, "127.0.0.1", port, 0, (int) n,
                               g_array_index (devices, MienDevice, 0), LOCAL_TIMEOUT_S, error);
  if (pg != NULL)
    {
      /* Rank 0 is this trainer, on the first device, with its own callbacks. */
      GArray *saved = g_steal_pointer (&self->local_devices);

      self->config->device = g_array_index (saved, MienDevice, 0);
      self->pg = pg;
      ok = mien_trainer_run (self, cancellable, error);
      self->pg = NULL;
      self->local_devices = saved;
    }
  /* Rank 0 failing to join (the free port taken meanwhile, a rare race) leaves the others
   * waiting for its store until their timeout. */
  for (guint r = 1; r < n; r++)
    {
      g_thread_join (threads[r]);
      /* Rank 0's error says it best; another's only matters when rank 0 finished. */
      if (ranks[r].error != NULL && ok)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&ranks[r].error), _("Rank %u: "), r);
          ok = FALSE;
        }
      g_clear_error (&ranks[r].error);
    }
  return ok;
}

gboolean
mien_trainer_run (MienTrainer   *self,
                  GCancellable  *cancellable,
                  GError       **error)
{
  Run run = { 0 };
  double mean[3], std[3];
  int input_size;
  gboolean ok = FALSE;

  g_return_val_if_fail (MIEN_IS_TRAINER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->local_devices != NULL && self->pg == NULL)
    return run_local_ranks (self, cancellable, error);

  run.self = self;
  run.config = self->config;
  run.cancellable = cancellable;
  run.pg = self->pg;
  run.rank = self->pg != NULL ? (guint) mien_process_group_get_rank (self->pg) : 0;
  run.world_size = self->pg != NULL ? (guint) mien_process_group_get_world_size (self->pg) : 1;

  if (!check_start (&run, error) ||
      (run.pg != NULL && run.rank == 0 && !publish_config (&run, error)))
    goto out;
  if (self->config->threads > 0)
    mien_torch_set_num_threads (self->config->threads);
  if (!open_datasets (&run, error))
    goto out;
  input_size = resolve_input_size (&run, error);
  if (input_size < 0 ||
      !make_loaders (&run, input_size, mean, std, error) ||
      !make_class_weights (&run, error) ||
      !make_model (&run, input_size, mean, std, error))
    goto out;
  /* Only a run that could start gets a folder: a failed start leaves nothing to resume. */
  if (run.rank == 0 && run.folder == NULL &&
      (run.folder = mien_run_create (self->config->out, self->config, error)) == NULL)
    goto out;
  if (self->resume && !restore_checkpoint (&run, error))
    goto out;
  if (run.pg != NULL && !sync_start (&run, error))
    goto out;
  if (run.pg != NULL && self->config->sync_batch_norm)
    mien_dist_set_sync_batch_norm (run.pg);

  run.run_start_us = g_get_monotonic_time ();
  for (guint epoch = run.start_epoch + 1; epoch <= self->config->epochs; epoch++)
    if (!run_epoch (&run, epoch, error))
      goto out;
  /* Nobody leaves while another rank may still need rank 0's store. */
  if (run.pg != NULL && !mien_process_group_barrier (run.pg, error))
    goto out;
  /* From here on, running again means continuing. */
  self->continuing = TRUE;
  self->resume = TRUE;
  ok = TRUE;

out:
  if (run.pg != NULL)
    {
      mien_dist_set_sync_batch_norm (NULL);
      /* The others must not wait for this rank until their timeout. */
      g_clear_pointer (&run.reducer, mien_grad_reducer_free);
      if (!ok && (error == NULL || !g_error_matches (*error, MIEN_DIST_ERROR,
                                                     MIEN_DIST_ERROR_PEER)))
        mien_process_group_announce_stop (run.pg, error != NULL ? (*error)->message
                                                                : _("it failed"));
    }
  run_clear (&run);
  return ok;
}

static void
run_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  GError *error = NULL;

  if (mien_trainer_run (MIEN_TRAINER (source_object), cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
mien_trainer_run_async (MienTrainer         *self,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (MIEN_IS_TRAINER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mien_trainer_run_async);
  /* The run checks the cancellable itself and leaves a resumable folder. */
  g_task_set_return_on_cancel (task, FALSE);
  g_task_run_in_thread (task, run_thread);
}

gboolean
mien_trainer_run_finish (MienTrainer   *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
