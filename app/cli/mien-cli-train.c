/* mien-cli-train.c — `mien-cli train`. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "mien-cli-private.h"
#include "mien-trainer.h"
#include "mien-weights.h"

typedef struct {
  gboolean         json;
  MienCliProgress *progress;
  MienTrainer     *trainer;
  gboolean         prepared;  /* what preparation found has been said */
  GTimer          *timer;     /* since the run started, for --time-limit */
  double           limit_s;   /* 0: none */
  GCancellable    *cancellable;
  gboolean         timed_out; /* --time-limit stopped the run after an epoch */
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

  /* The epoch is saved (checkpoints, best) before this runs: stopping here loses nothing. */
  if (out->limit_s > 0 && g_timer_elapsed (out->timer, NULL) >= out->limit_s)
    {
      out->timed_out = TRUE;
      g_cancellable_cancel (out->cancellable);
    }
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

/* --class-weights: auto, none, paper (mapped to the classes later, once they are known) or one
 * non-negative weight per class, not all zero (the loss would be 0/0). */
static gboolean
parse_class_weights (const char       *arg,
                     MienTrainConfig  *config,
                     gboolean         *paper)
{
  g_auto(GStrv) parts = NULL;
  gboolean any_positive = FALSE;

  *paper = FALSE;
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
  if (g_strcmp0 (arg, "paper") == 0)
    {
      *paper = TRUE;
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
          mien_cli_usage_error ("train", _("--class-weights takes auto, none, paper or "
                                           "non-negative numbers like 1,3,5,1,1,1; “%s” is "
                                           "not one"), text);
          return FALSE;
        }
      any_positive |= config->weights[i] > 0;
    }
  if (!any_positive)
    {
      mien_cli_usage_error ("train", _("--class-weights %s: at least one weight has to be "
                                       "above 0"), arg);
      return FALSE;
    }
  config->class_weights = MIEN_CLASS_WEIGHTS_CUSTOM;
  return TRUE;
}

/* --class-weights paper: the paper's weights in the order of the classes training will use.
 * Returns EXIT_SUCCESS, or the exit status of the failure it printed. */
static int
set_paper_weights (MienTrainConfig *config)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienDataset) train = NULL;
  g_autoptr(MienDataset) val = NULL;
  const char * const *classes;
  guint k;

  if (!mien_train_config_open_datasets (config, &train, &val, &error))
    {
      mien_cli_error (error->message);
      return EXIT_FAILURE;
    }
  classes = mien_dataset_get_classes (train);
  k = mien_dataset_get_n_classes (train);
  g_free (config->weights);
  config->weights = g_new0 (double, MAX (k, 1));
  config->n_weights = k;
  if (!mien_class_weights_paper (classes, config->weights))
    {
      g_autofree char *names = g_strjoinv (", ", (char **) classes);

      return mien_cli_usage_error ("train", _("--class-weights paper is for the classes "
                                              "anger, disgust, fear, happiness, sadness and "
                                              "surprise, not %s"), names);
    }
  config->class_weights = MIEN_CLASS_WEIGHTS_CUSTOM;
  return EXIT_SUCCESS;
}

int
mien_cli_train (int    argc,
                char **argv)
{
  g_autoptr(MienTrainConfig) config = mien_train_config_new ();
  g_autofree char *data = NULL, *val = NULL, *classes = NULL, *backbone = NULL;
  g_autofree char *mode = NULL, *batch_norm = NULL, *pretrained = NULL, *weights = NULL;
  g_autofree char *imbalance = NULL, *device = NULL, *out = NULL, *schedule = NULL;
  g_autofree char *split = NULL;
  /* Numbers as text: NULL is "not given" (see mien_cli_parse_int ()). */
  g_autofree char *val_split_arg = NULL, *input_size_arg = NULL, *epochs_arg = NULL;
  g_autofree char *batch_arg = NULL, *lr_arg = NULL, *weight_decay_arg = NULL;
  g_autofree char *warmup_arg = NULL, *smoothing_arg = NULL, *magnitude_arg = NULL;
  g_autofree char *seed_arg = NULL, *threads_arg = NULL, *workers_arg = NULL;
  g_autofree char *face_margin_arg = NULL;
  double face_margin = NAN;
  g_autofree char *crop = NULL, *time_limit_arg = NULL;
  double val_split = config->val_split, lr = config->lr, smoothing = config->smoothing;
  double weight_decay = config->weight_decay, warmup = config->warmup_epochs;
  gint64 input_size = config->input_size, epochs = config->epochs;
  gint64 batch = config->batch_size, threads = 0, workers = 0;
  gint64 magnitude = config->rand_augment.magnitude, seed = (gint64) config->seed;
  gint64 max_threads = mien_cli_max_threads ();
  double time_limit = 0.0;
  gboolean flip = FALSE, no_flip = FALSE;
  gboolean resume = FALSE, json = FALSE, grey = FALSE, amp = FALSE, paper = FALSE;
  g_autofree char *normalise = NULL;
  const GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data,
      N_("Training set: class folders, a CSV manifest, or a folder with train/ and val/"),
      N_("DATASET") },
    { "val", 0, 0, G_OPTION_ARG_FILENAME, &val, N_("Validation set"), N_("DATASET") },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split,
      N_("The split of --data to train on where the file holds several (fer2013.csv, RAF-DB): "
         "train (default), val or test; validation then uses the file’s val split when it has "
         "one"), N_("SPLIT") },
    { "val-split", 0, 0, G_OPTION_ARG_STRING, &val_split_arg,
      N_("Hold out this fraction of --data for validation, stratified; 0–1 exclusive "
         "(default 0.1)"), N_("F") },
    { "classes", 0, 0, G_OPTION_ARG_STRING, &classes,
      N_("Only these classes, in this order (e.g. the six ABAW4 classes)"), N_("a,b,…") },
    { "grey", 0, 0, G_OPTION_ARG_NONE, &grey, N_("Train on grey images"), NULL },
    { "face-margin", 0, 0, G_OPTION_ARG_STRING, &face_margin_arg,
      N_("The images are face crops with this room around the face, as a fraction of its box, "
         "0–2 (0 for tight crops such as FER2013's); recorded in the model, so that predict "
         "--faces and eval --faces crop faces the same way (default: the dataset's own, 0 for "
         "fer2013.csv, FER+ and AffectNet; else whole images, nothing recorded)"),
      N_("FRACTION") },
    { "backbone", 0, 0, G_OPTION_ARG_STRING, &backbone,
      N_("Backbone plugin and variant (default resnet:18; see “mien-cli plugins”)"),
      N_("FAMILY[:VARIANT]") },
    { "input-size", 0, 0, G_OPTION_ARG_STRING, &input_size_arg,
      N_("Input size in pixels, 8–4096 (default: the variant's)"), N_("PX") },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode,
      N_("probe (train the head only), finetune (default) or dft (deviation fine-tuning)"),
      N_("MODE") },
    { "batch-norm", 0, 0, G_OPTION_ARG_STRING, &batch_norm,
      N_("Batch norm while training: default (finetune: train; probe, dft: eval), train or "
         "eval"), N_("HOW") },
    { "pretrained", 0, 0, G_OPTION_ARG_FILENAME, &pretrained,
      N_("Backbone weights: torchvision/timm safetensors or .pth, a Mien model file, or "
         "imagenet[:NAME] for the catalogue's (the variant's default; see “mien-cli weights”)"),
      N_("FILE|imagenet[:NAME]") },
    { "normalise", 0, 0, G_OPTION_ARG_STRING, &normalise,
      N_("Normalise inputs with the training set's mean and std (dataset) or ImageNet's "
         "(imagenet; the default with --pretrained)"), N_("dataset|imagenet") },
    { "epochs", 0, 0, G_OPTION_ARG_STRING, &epochs_arg, N_("Epochs, 1–100000 (default 10)"),
      N_("N") },
    { "batch", 0, 0, G_OPTION_ARG_STRING, &batch_arg, N_("Batch size, 2–65536 (default 64)"),
      N_("N") },
    { "lr", 0, 0, G_OPTION_ARG_STRING, &lr_arg,
      N_("Adam's learning rate, above 0 and below 10 (default 0.001)"), N_("F") },
    { "weight-decay", 0, 0, G_OPTION_ARG_STRING, &weight_decay_arg,
      N_("Adam's weight decay, 0 to below 1 (default 0)"), N_("F") },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &schedule,
      N_("Learning-rate schedule: constant (default) or cosine"), N_("S") },
    { "warmup", 0, 0, G_OPTION_ARG_STRING, &warmup_arg,
      N_("Linear warm-up, in epochs, 0 to --epochs (default 0)"), N_("EPOCHS") },
    { "smoothing", 0, 0, G_OPTION_ARG_STRING, &smoothing_arg,
      N_("Label smoothing α, eq. (1), 0 to below 1 (default 0; the paper tried 0.1, 0.2, "
         "0.4)"), N_("F") },
    { "class-weights", 0, 0, G_OPTION_ARG_STRING, &weights,
      N_("auto (inverse frequency), none, paper (anger 1, disgust 3, fear 5, happiness 1, "
         "sadness 1, surprise 1, by class name) or one non-negative weight per class, not all "
         "0"), N_("W") },
    { "imbalance", 0, 0, G_OPTION_ARG_STRING, &imbalance,
      N_("none, weighted, upsample, upsample+weighted or onthefly (default none)"),
      N_("HOW") },
    { "magnitude", 0, 0, G_OPTION_ARG_STRING, &magnitude_arg,
      N_("RandAugment magnitude, 0–30 (default 9)"), N_("M") },
    { "flip", 0, 0, G_OPTION_ARG_NONE, &flip,
      N_("Flip training images left-right at random, half of them (the default)"), NULL },
    { "no-flip", 0, 0, G_OPTION_ARG_NONE, &no_flip, N_("Never flip training images"), NULL },
    { "crop", 0, 0, G_OPTION_ARG_STRING, &crop,
      N_("Random crop of training images: none; pad:P (pad P px of black on each side, crop "
         "back to size; pad = an eighth of the side, the default); resized:SMIN (a box of "
         "SMIN–1 of the area, aspect 3/4–4/3, resized to size; resized = 0.8)"),
      N_("HOW") },
    { "time-limit", 0, 0, G_OPTION_ARG_STRING, &time_limit_arg,
      N_("Stop after the epoch that passes this many minutes, keeping the best model "
         "(resumable); above 0"), N_("MINUTES") },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, N_("cpu (default) or cuda[:N]"),
      N_("DEVICE") },
    { "amp", 0, 0, G_OPTION_ARG_NONE, &amp, N_("Mixed precision (bfloat16) on CUDA"), NULL },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_arg,
      N_("Random seed, 0 or more (default 0)"), N_("S") },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads_arg,
      N_("libtorch threads, 1 to 4 per processor or 64, whichever is more (default: one per "
         "processor)"),
      N_("N") },
    { "workers", 0, 0, G_OPTION_ARG_STRING, &workers_arg,
      N_("Image decoding threads, 1 to 4 per processor or 64, whichever is more (default: "
         "one per processor)"),
      N_("N") },
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
  if (!mien_cli_parse_int ("train", "epochs", epochs_arg, 1, 100000, &epochs) ||
      !mien_cli_parse_int ("train", "threads", threads_arg, 1, max_threads, &threads) ||
      !mien_cli_parse_int ("train", "workers", workers_arg, 1, max_threads, &workers) ||
      !mien_cli_parse_int ("train", "batch", batch_arg, 2, 65536, &batch) ||
      !mien_cli_parse_int ("train", "input-size", input_size_arg, 8, 4096, &input_size) ||
      !mien_cli_parse_int ("train", "magnitude", magnitude_arg, 0,
                           config->rand_augment.num_bins - 1, &magnitude) ||
      !mien_cli_parse_int ("train", "seed", seed_arg, 0, G_MAXINT64, &seed) ||
      !mien_cli_parse_double ("train", "val-split", val_split_arg, 0.0, 1.0,
                              MIEN_CLI_ABOVE_MIN | MIEN_CLI_BELOW_MAX, &val_split) ||
      !mien_cli_parse_double ("train", "lr", lr_arg, 0.0, 10.0,
                              MIEN_CLI_ABOVE_MIN | MIEN_CLI_BELOW_MAX, &lr) ||
      !mien_cli_parse_double ("train", "weight-decay", weight_decay_arg, 0.0, 1.0,
                              MIEN_CLI_BELOW_MAX, &weight_decay) ||
      !mien_cli_parse_double ("train", "warmup", warmup_arg, 0.0, (double) epochs,
                              MIEN_CLI_CLOSED, &warmup) ||
      !mien_cli_parse_double ("train", "smoothing", smoothing_arg, 0.0, 1.0,
                              MIEN_CLI_BELOW_MAX, &smoothing) ||
      !mien_cli_parse_double ("train", "face-margin", face_margin_arg, 0.0,
                              MIEN_FACE_MARGIN_MAX, MIEN_CLI_CLOSED, &face_margin) ||
      !mien_cli_parse_double ("train", "time-limit", time_limit_arg, 0.0, 1e6,
                              MIEN_CLI_ABOVE_MIN, &time_limit))
    return EXIT_USAGE;
  if (flip && no_flip)
    return mien_cli_usage_error ("train", _("give --flip or --no-flip, not both"));
  if (resume && (flip || no_flip || crop != NULL))
    return mien_cli_usage_error ("train", _("--flip, --no-flip and --crop are the run's own "
                                            "with --resume"));

  if (resume)
    {
      MienDevice dev;

      if (device != NULL && !mien_device_parse (device, &dev, &error))
        return mien_cli_usage_error ("train", "%s", error->message);
      /* 0: the run's own epochs and threads. */
      trainer = mien_trainer_new_resume (mien_plugin_engine_get_default (), out,
                                         epochs_arg != NULL ? (guint) epochs : 0,
                                         device ? &dev : NULL,
                                         threads_arg != NULL ? (int) threads : 0, &error);
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
      if (val != NULL && val_split_arg != NULL)
        return mien_cli_usage_error ("train", _("give --val or --val-split, not both"));
      config->data = g_steal_pointer (&data);
      config->val = g_steal_pointer (&val);
      config->val_split = val_split;
      if (split != NULL && !mien_dataset_check_split_name (split, &error))
        return mien_cli_usage_error ("train", "%s", error->message);
      config->split = g_steal_pointer (&split);
      if (classes != NULL &&
          (config->classes = mien_dataset_parse_class_list (classes, &error)) == NULL)
        return mien_cli_usage_error ("train", "%s", error->message);
      config->grey = grey;
      config->face_margin = face_margin;
      if (backbone != NULL)
        {
          g_free (config->backbone);
          config->backbone = g_steal_pointer (&backbone);
        }
      if (input_size_arg != NULL)
        config->input_size = (int) input_size;
      if ((mode != NULL && !mien_mode_from_string (mode, &config->mode, &error)) ||
          (batch_norm != NULL &&
           !mien_batch_norm_from_string (batch_norm, &config->batch_norm, &error)) ||
          (imbalance != NULL &&
           !mien_imbalance_from_string (imbalance, &config->imbalance, &error)) ||
          (device != NULL && !mien_device_parse (device, &config->device, &error)))
        return mien_cli_usage_error ("train", "%s", error->message);
      if (weights != NULL && !parse_class_weights (weights, config, &paper))
        return EXIT_USAGE;
      if (schedule != NULL)
        {
          if (g_strcmp0 (schedule, "cosine") == 0)
            config->schedule = MIEN_SCHEDULE_COSINE;
          else if (g_strcmp0 (schedule, "constant") != 0)
            return mien_cli_usage_error ("train", _("--schedule is constant or cosine, not “%s”"),
                                         schedule);
        }
      if (mien_weights_is_spec (pretrained))
        {
          char *path = mien_weights_resolve (mien_plugin_engine_get_default (), pretrained,
                                             config->backbone, &error);

          if (path == NULL)
            {
              mien_cli_error (error->message);
              return EXIT_FAILURE;
            }
          g_free (pretrained);
          pretrained = path;
        }
      if (normalise != NULL &&
          !mien_normalisation_from_string (normalise, &config->normalisation, NULL))
        return mien_cli_usage_error ("train", _("--normalise is dataset or imagenet, not “%s”"),
                                     normalise);
      config->pretrained = g_steal_pointer (&pretrained);
      config->epochs = (guint) epochs;
      config->batch_size = (guint) batch;
      config->lr = lr;
      config->weight_decay = weight_decay;
      config->warmup_epochs = warmup;
      config->smoothing = smoothing;
      config->rand_augment.magnitude = (guint) magnitude;
      if (flip || no_flip)
        config->geometry.flip = flip;
      if (crop != NULL && !mien_crop_from_string (crop, &config->geometry, &error))
        return mien_cli_usage_error ("train", "--crop: %s", error->message);
      config->amp = amp;
      config->seed = (guint64) seed;
      config->threads = (int) threads;
      config->workers = (int) workers;
      config->out = g_steal_pointer (&out);
      if (paper)
        {
          int status = set_paper_weights (config);

          if (status != EXIT_SUCCESS)
            return status;
        }
      if (!mien_train_config_validate (config, &error))
        return mien_cli_usage_error ("train", "%s", error->message);
      trainer = mien_trainer_new (mien_plugin_engine_get_default (), config);
    }

  output.json = json;
  output.trainer = trainer;
  output.progress = mien_cli_progress_new ();
  output.timer = g_timer_new ();
  output.limit_s = time_limit * 60.0;
  output.cancellable = cancellable;
  mien_trainer_set_progress_func (trainer, progress_cb, &output, NULL);
  mien_trainer_set_epoch_func (trainer, epoch_cb, &output, NULL);
  mien_cli_cancel_on_signals (cancellable);

  ok = mien_trainer_run (trainer, cancellable, &error);
  mien_cli_progress_free (output.progress);
  g_timer_destroy (output.timer);
  if (!ok && output.timed_out && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      ok = TRUE;
      g_clear_error (&error);
      if (!json)
        g_print (_("Stopped at the time limit; continue with --resume --epochs N.\n"));
    }
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
