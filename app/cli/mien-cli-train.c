/* mien-cli-train.c — `mien-cli train`. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "mien-cli-private.h"
#include "mien-trainer.h"

typedef struct {
  gboolean         json;
  MienCliProgress *progress;
  MienTrainer     *trainer;
  gboolean         prepared;  /* what preparation found has been said */
} TrainOutput;

/* What preparation found, once, before the first epoch: the pretrained weights' load report
 * and the images left out (as `eval` lists them). */
static void
report_preparation (TrainOutput *out)
{
  const char *summary = mien_trainer_get_pretrained_summary (out->trainer);
  GPtrArray *unreadable = mien_trainer_get_unreadable (out->trainer);

  out->prepared = TRUE;
  mien_cli_progress_finish (out->progress);
  /* On stderr, like the warnings, so that --json output stays one record per line. */
  if (summary != NULL)
    g_printerr (_("Pretrained weights: %s\n"), summary);
  for (guint i = 0; unreadable != NULL && i < unreadable->len; i++)
    {
      g_autofree char *message = g_strdup_printf (_("skipped %s"),
                                                  (const char *) unreadable->pdata[i]);

      mien_cli_warning (message);
    }
}

static void
progress_cb (const MienTrainProgress *p,
             gpointer                 user_data)
{
  TrainOutput *out = user_data;
  g_autofree char *text = NULL;

  if (p->phase != MIEN_TRAIN_PHASE_PREPARING && !out->prepared)
    report_preparation (out);
  switch (p->phase)
    {
    case MIEN_TRAIN_PHASE_PREPARING:
      text = g_strdup_printf (_("decoding images %u/%u"), p->step, p->n_steps);
      break;
    case MIEN_TRAIN_PHASE_TRAINING:
      text = g_strdup_printf (_("epoch %u/%u  step %u/%u  loss %.4f  %.0f img/s"), p->epoch,
                              p->n_epochs, p->step, p->n_steps, p->loss, p->images_per_s);
      break;
    case MIEN_TRAIN_PHASE_VALIDATING:
      text = g_strdup_printf (_("epoch %u/%u  validating"), p->epoch, p->n_epochs);
      break;
    default:
      g_assert_not_reached ();
    }
  mien_cli_progress_update (out->progress, p->fraction, text, p->eta_s);
}

static void
epoch_cb (JsonObject *record,
          gpointer    user_data)
{
  TrainOutput *out = user_data;

  mien_cli_progress_finish (out->progress);
  if (out->json)
    {
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), record);

      mien_cli_print_json (node);
      return;
    }
  g_print (_("epoch %3lld  train loss %.4f  acc %.4f  │  val loss %.4f  "
             "macro F1 %.4f  acc %.4f  │  %.0f img/s%s\n"),
           (long long) json_object_get_int_member (record, "epoch"),
           json_object_get_double_member (record, "train_loss"),
           json_object_get_double_member (record, "train_accuracy"),
           json_object_get_double_member (record, "val_loss"),
           json_object_get_double_member (record, "val_macro_f1"),
           json_object_get_double_member (record, "val_accuracy"),
           json_object_get_double_member (record, "images_per_s"),
           json_object_get_boolean_member (record, "best") ? _("  ★ best") : "");
}

static gboolean
parse_class_weights (const char       *arg,
                     MienTrainConfig  *config,
                     GError          **error)
{
  g_auto(GStrv) parts = NULL;

  if (g_strcmp0 (arg, "auto") == 0)
    {
      config->class_weights = MIEN_CLASS_WEIGHTS_AUTO;
      return TRUE;
    }
  if (g_strcmp0 (arg, "none") == 0)
    {
      config->class_weights = MIEN_CLASS_WEIGHTS_NONE;
      return TRUE;
    }
  parts = g_strsplit (arg, ",", -1);
  config->n_weights = g_strv_length (parts);
  config->weights = g_new0 (double, MAX (config->n_weights, 1));
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *end = NULL;
      const char *text = g_strstrip (parts[i]);

      config->weights[i] = g_ascii_strtod (text, &end);
      if (*text == '\0' || end == NULL || *end != '\0' || !isfinite (config->weights[i]) ||
          config->weights[i] < 0)
        {
          g_set_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG,
                       _("--class-weights takes auto, none or non-negative numbers like "
                         "1,3,5,1,1,1; “%s” is not one"), text);
          return FALSE;
        }
    }
  config->class_weights = MIEN_CLASS_WEIGHTS_CUSTOM;
  return TRUE;
}

int
mien_cli_train (int    argc,
                char **argv)
{
  g_autoptr(MienTrainConfig) config = mien_train_config_new ();
  g_autofree char *data = NULL, *val = NULL, *classes = NULL, *backbone = NULL;
  g_autofree char *mode = NULL, *batch_norm = NULL, *pretrained = NULL, *weights = NULL;
  g_autofree char *imbalance = NULL, *device = NULL, *out = NULL, *schedule = NULL;
  double val_split = -1, lr = config->lr, smoothing = config->smoothing;
  double weight_decay = 0.0, warmup = 0.0;
  int input_size = 0, epochs = 0, batch = (int) config->batch_size, threads = 0, workers = 0;
  int magnitude = (int) config->rand_augment.magnitude;
  gint64 seed = 0;
  gboolean resume = FALSE, json = FALSE, grey = FALSE, amp = FALSE;
  const GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data,
      N_("Training set: class folders, a CSV manifest, or a folder with train/ and val/"),
      N_("DATASET") },
    { "val", 0, 0, G_OPTION_ARG_FILENAME, &val, N_("Validation set"), N_("DATASET") },
    { "val-split", 0, 0, G_OPTION_ARG_DOUBLE, &val_split,
      N_("Hold out this fraction of --data for validation, stratified (default 0.1)"), N_("F") },
    { "classes", 0, 0, G_OPTION_ARG_STRING, &classes,
      N_("Only these classes, in this order (e.g. the six ABAW4 classes)"), N_("a,b,…") },
    { "grey", 0, 0, G_OPTION_ARG_NONE, &grey, N_("Train on grey images"), NULL },
    { "backbone", 0, 0, G_OPTION_ARG_STRING, &backbone,
      N_("Backbone plugin and variant (default resnet:18; see “mien-cli plugins”)"),
      N_("FAMILY[:VARIANT]") },
    { "input-size", 0, 0, G_OPTION_ARG_INT, &input_size,
      N_("Input size in pixels (default: the variant's)"), N_("PX") },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode,
      N_("probe (train the head only), finetune (default) or dft (deviation fine-tuning)"),
      N_("MODE") },
    { "batch-norm", 0, 0, G_OPTION_ARG_STRING, &batch_norm,
      N_("Batch norm while training: default (finetune: train; probe, dft: eval), train or "
         "eval"), N_("HOW") },
    { "pretrained", 0, 0, G_OPTION_ARG_FILENAME, &pretrained,
      N_("Backbone weights: torchvision/timm safetensors or a Mien model file"), N_("FILE") },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &epochs, N_("Epochs (default 10)"), N_("N") },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, N_("Batch size (default 64)"), N_("N") },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, N_("Adam's learning rate (default 0.001)"),
      N_("F") },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &weight_decay,
      N_("Adam's weight decay (default 0)"), N_("F") },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &schedule,
      N_("Learning-rate schedule: constant (default) or cosine"), N_("S") },
    { "warmup", 0, 0, G_OPTION_ARG_DOUBLE, &warmup,
      N_("Linear warm-up, in epochs (default 0)"), N_("EPOCHS") },
    { "smoothing", 0, 0, G_OPTION_ARG_DOUBLE, &smoothing,
      N_("Label smoothing α, eq. (1) (default 0; the paper tried 0.1, 0.2, 0.4)"), N_("F") },
    { "class-weights", 0, 0, G_OPTION_ARG_STRING, &weights,
      N_("auto (inverse frequency), none, or one weight per class (the paper: 1,3,5,1,1,1)"),
      N_("W") },
    { "imbalance", 0, 0, G_OPTION_ARG_STRING, &imbalance,
      N_("none, weighted, upsample, upsample+weighted or onthefly (default none)"),
      N_("HOW") },
    { "magnitude", 0, 0, G_OPTION_ARG_INT, &magnitude,
      N_("RandAugment magnitude, 0–30 (default 9)"), N_("M") },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, N_("cpu (default) or cuda[:N]"),
      N_("DEVICE") },
    { "amp", 0, 0, G_OPTION_ARG_NONE, &amp, N_("Mixed precision (bfloat16) on CUDA"), NULL },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_("Random seed (default 0)"), N_("S") },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads,
      N_("libtorch threads (default: one per processor)"), N_("N") },
    { "workers", 0, 0, G_OPTION_ARG_INT, &workers,
      N_("Image decoding threads (default: one per processor)"), N_("N") },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_("Run folder (required)"), N_("RUNDIR") },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &resume,
      N_("Continue the run in RUNDIR with its own configuration (only --epochs, --device and "
         "--threads apply)"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      N_("Print one JSON line per epoch and a final one with the best model"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTrainer) trainer = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  TrainOutput output = { 0 };
  MienMetrics *best;
  gboolean ok;

  if (!mien_cli_parse_options ("train", "", entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return mien_cli_usage_error ("train", _("unexpected argument “%s”"), argv[1]);
  if (out == NULL)
    return mien_cli_usage_error ("train", _("--out RUNDIR is required"));
  if (epochs < 0 || batch < 0 || threads < 0 || workers < 0 || input_size < 0 || seed < 0 ||
      magnitude < 0)
    return mien_cli_usage_error ("train", _("numbers cannot be negative"));

  if (resume)
    {
      MienDevice dev;

      if (device != NULL && !mien_device_parse (device, &dev, &error))
        return mien_cli_usage_error ("train", "%s", error->message);
      trainer = mien_trainer_new_resume (mien_plugin_engine_get_default (), out, epochs,
                                         device ? &dev : NULL, threads, &error);
      if (trainer == NULL)
        {
          mien_cli_error (error->message);
          return EXIT_FAILURE;
        }
    }
  else
    {
      if (data == NULL)
        return mien_cli_usage_error ("train", _("--data DATASET is required"));
      if (val != NULL && val_split >= 0)
        return mien_cli_usage_error ("train", _("give --val or --val-split, not both"));
      config->data = g_steal_pointer (&data);
      config->val = g_steal_pointer (&val);
      if (val_split >= 0)
        config->val_split = val_split;
      if (classes != NULL &&
          (config->classes = mien_dataset_parse_class_list (classes, &error)) == NULL)
        return mien_cli_usage_error ("train", "%s", error->message);
      config->grey = grey;
      if (backbone != NULL)
        {
          g_free (config->backbone);
          config->backbone = g_steal_pointer (&backbone);
        }
      config->input_size = input_size;
      if ((mode != NULL && !mien_mode_from_string (mode, &config->mode, &error)) ||
          (batch_norm != NULL &&
           !mien_batch_norm_from_string (batch_norm, &config->batch_norm, &error)) ||
          (imbalance != NULL &&
           !mien_imbalance_from_string (imbalance, &config->imbalance, &error)) ||
          (weights != NULL && !parse_class_weights (weights, config, &error)) ||
          (device != NULL && !mien_device_parse (device, &config->device, &error)))
        return mien_cli_usage_error ("train", "%s", error->message);
      if (schedule != NULL)
        {
          if (g_strcmp0 (schedule, "cosine") == 0)
            config->schedule = MIEN_SCHEDULE_COSINE;
          else if (g_strcmp0 (schedule, "constant") != 0)
            return mien_cli_usage_error ("train", _("--schedule is constant or cosine, not “%s”"),
                                         schedule);
        }
      config->pretrained = g_steal_pointer (&pretrained);
      if (epochs > 0)
        config->epochs = epochs;
      config->batch_size = batch;
      config->lr = lr;
      config->weight_decay = weight_decay;
      config->warmup_epochs = warmup;
      config->smoothing = smoothing;
      config->rand_augment.magnitude = magnitude;
      config->amp = amp;
      config->seed = (guint64) seed;
      config->threads = threads;
      config->workers = workers;
      config->out = g_steal_pointer (&out);
      if (!mien_train_config_validate (config, &error))
        return mien_cli_usage_error ("train", "%s", error->message);
      trainer = mien_trainer_new (mien_plugin_engine_get_default (), config);
    }

  output.json = json;
  output.trainer = trainer;
  output.progress = mien_cli_progress_new ();
  mien_trainer_set_progress_func (trainer, progress_cb, &output, NULL);
  mien_trainer_set_epoch_func (trainer, epoch_cb, &output, NULL);
  mien_cli_cancel_on_signals (cancellable);

  ok = mien_trainer_run (trainer, cancellable, &error);
  mien_cli_progress_free (output.progress);
  if (!ok)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *message = g_strdup_printf (
            _("stopped; the last finished epoch is in %s (continue with --resume)"),
            mien_trainer_get_config (trainer)->out);

          mien_cli_error (message);
          return 130;
        }
      mien_cli_error (error->message);
      return EXIT_FAILURE;
    }

  best = mien_trainer_get_best_metrics (trainer);
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "best");
      json_builder_add_string_value (b, mien_trainer_get_best_path (trainer));
      json_builder_set_member_name (b, "best_epoch");
      json_builder_add_int_value (b, mien_trainer_get_best_epoch (trainer));
      json_builder_set_member_name (b, "run");
      json_builder_add_string_value (b, mien_trainer_get_config (trainer)->out);
      json_builder_set_member_name (b, "metrics");
      if (best != NULL)
        json_builder_add_value (b, mien_metrics_to_json (best));
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      mien_cli_print_json (root);
    }
  else if (best != NULL)
    {
      g_autofree char *table = NULL;
      g_autofree char *name = g_strdup_printf (_("epoch %u"), mien_trainer_get_best_epoch (trainer));
      const char *names[] = { name };

      table = mien_metrics_format_table (&best, names, 1);
      g_print (_("\nBest model: %s (validation macro F1 %.4f, accuracy %.4f)\n\n%s"),
               mien_trainer_get_best_path (trainer), best->macro_f1, best->accuracy, table);
    }
  return EXIT_SUCCESS;
}
