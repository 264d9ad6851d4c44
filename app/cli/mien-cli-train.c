/* mien-cli-train.c — `mien-cli train`. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mien-cli-private.h"
#include "mien-trainer.h"
#include "mien-weights.h"

typedef struct {
  gboolean         quiet;     /* a rank above 0 of a data-parallel run: rank 0 reports */
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

  if (out->quiet)
    return;
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
  if (out->quiet)
    return;
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
parse_class_weights (const char       *command,
                     const char       *arg,
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
          mien_cli_usage_error (command, _("--class-weights takes auto, none, paper or "
                                           "non-negative numbers like 1,3,5,1,1,1; “%s” is "
                                           "not one"), text);
          return FALSE;
        }
      any_positive |= config->weights[i] > 0;
    }
  if (!any_positive)
    {
      mien_cli_usage_error (command, _("--class-weights %s: at least one weight has to be "
                                       "above 0"), arg);
      return FALSE;
    }
  config->class_weights = MIEN_CLASS_WEIGHTS_CUSTOM;
  return TRUE;
}

/* --class-weights paper: the paper's weights in the order of the classes training will use.
 * Returns EXIT_SUCCESS, or the exit status of the failure it printed. */
static int
set_paper_weights (const char      *command,
                   MienTrainConfig *config)
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

      return mien_cli_usage_error (command, _("--class-weights paper is for the classes "
                                              "anger, disgust, fear, happiness, sadness and "
                                              "surprise, not %s"), names);
    }
  config->class_weights = MIEN_CLASS_WEIGHTS_CUSTOM;
  return EXIT_SUCCESS;
}

struct _MienCliTrainOptions
{
  MienTrainConfig *config;  /* the defaults, for the numbers' starting values */
  char *data, *val, *classes, *backbone, *mode, *batch_norm, *pretrained, *weights;
  char *imbalance, *device, *schedule, *split, *normalise, *crop;
  /* Numbers as text: NULL is "not given" (see mien_cli_parse_int ()). */
  char *val_split_arg, *input_size_arg, *epochs_arg, *batch_arg, *lr_arg;
  char *weight_decay_arg, *warmup_arg, *smoothing_arg, *magnitude_arg, *seed_arg;
  char *threads_arg, *workers_arg, *face_margin_arg;
  gboolean flip, no_flip, grey, amp;
  /* Parsed by check_options () */
  gint64 epochs, threads, workers, batch, input_size, magnitude, seed;
  double val_split, lr, weight_decay, warmup, smoothing, face_margin;
  MienDevice dev;
};

MienCliTrainOptions *
mien_cli_train_options_new (void)
{
  MienCliTrainOptions *o = g_new0 (MienCliTrainOptions, 1);

  o->config = mien_train_config_new ();
  return o;
}

/* Every option held as text, to free them or to see whether any was given. */
static void
get_strings (MienCliTrainOptions   *o,
             char                ***strings,
             guint                 *n)
{
  char **all[] = {
    &o->data, &o->val, &o->classes, &o->backbone, &o->mode, &o->batch_norm, &o->pretrained,
    &o->weights, &o->imbalance, &o->device, &o->schedule, &o->split, &o->normalise, &o->crop,
    &o->val_split_arg, &o->input_size_arg, &o->epochs_arg, &o->batch_arg, &o->lr_arg,
    &o->weight_decay_arg, &o->warmup_arg, &o->smoothing_arg, &o->magnitude_arg, &o->seed_arg,
    &o->threads_arg, &o->workers_arg, &o->face_margin_arg,
  };

  g_assert (*n >= G_N_ELEMENTS (all));
  memcpy (strings, all, sizeof all);
  *n = G_N_ELEMENTS (all);
}

void
mien_cli_train_options_free (MienCliTrainOptions *o)
{
  char **strings[64];
  guint n = G_N_ELEMENTS (strings);

  get_strings (o, strings, &n);
  for (guint i = 0; i < n; i++)
    g_free (*strings[i]);
  mien_train_config_free (o->config);
  g_free (o);
}

gboolean
mien_cli_train_options_any_given (MienCliTrainOptions *o)
{
  char **strings[64];
  guint n = G_N_ELEMENTS (strings);

  get_strings (o, strings, &n);
  for (guint i = 0; i < n; i++)
    if (*strings[i] != NULL)
      return TRUE;
  return o->flip || o->no_flip || o->grey || o->amp;
}

GOptionEntry *
mien_cli_train_options_entries (MienCliTrainOptions *o,
                                const GOptionEntry  *extra)
{
  const GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &o->data,
      N_("Training set: class folders, a CSV manifest, or a folder with train/ and val/"),
      N_("DATASET") },
    { "val", 0, 0, G_OPTION_ARG_FILENAME, &o->val, N_("Validation set"), N_("DATASET") },
    { "split", 0, 0, G_OPTION_ARG_STRING, &o->split,
      N_("The split of --data to train on where the file holds several (fer2013.csv, RAF-DB): "
         "train (default), val or test; validation then uses the file’s val split when it has "
         "one"), N_("SPLIT") },
    { "val-split", 0, 0, G_OPTION_ARG_STRING, &o->val_split_arg,
      N_("Hold out this fraction of --data for validation, stratified; 0–1 exclusive "
         "(default 0.1)"), N_("F") },
    { "classes", 0, 0, G_OPTION_ARG_STRING, &o->classes,
      N_("Only these classes, in this order (e.g. the six ABAW4 classes)"), N_("a,b,…") },
    { "grey", 0, 0, G_OPTION_ARG_NONE, &o->grey, N_("Train on grey images"), NULL },
    { "face-margin", 0, 0, G_OPTION_ARG_STRING, &o->face_margin_arg,
      N_("The images are face crops with this room around the face, as a fraction of its box, "
         "0–2 (0 for tight crops such as FER2013's); recorded in the model, so that predict "
         "--faces and eval --faces crop faces the same way (default: the dataset's own, 0 for "
         "fer2013.csv, FER+ and AffectNet; else whole images, nothing recorded)"),
      N_("FRACTION") },
    { "backbone", 0, 0, G_OPTION_ARG_STRING, &o->backbone,
      N_("Backbone plugin and variant (default resnet:18; see “mien-cli plugins”)"),
      N_("FAMILY[:VARIANT]") },
    { "input-size", 0, 0, G_OPTION_ARG_STRING, &o->input_size_arg,
      N_("Input size in pixels, 8–4096 (default: the variant's)"), N_("PX") },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &o->mode,
      N_("probe (train the head only), finetune (default) or dft (deviation fine-tuning)"),
      N_("MODE") },
    { "batch-norm", 0, 0, G_OPTION_ARG_STRING, &o->batch_norm,
      N_("Batch norm while training: default (finetune: train; probe, dft: eval), train or "
         "eval"), N_("HOW") },
    { "pretrained", 0, 0, G_OPTION_ARG_FILENAME, &o->pretrained,
      N_("Backbone weights: torchvision/timm safetensors or .pth, a Mien model file, or "
         "imagenet[:NAME] for the catalogue's (the variant's default; see “mien-cli weights”)"),
      N_("FILE|imagenet[:NAME]") },
    { "normalise", 0, 0, G_OPTION_ARG_STRING, &o->normalise,
      N_("Normalise inputs with the training set's mean and std (dataset) or ImageNet's "
         "(imagenet; the default with --pretrained)"), N_("dataset|imagenet") },
    { "epochs", 0, 0, G_OPTION_ARG_STRING, &o->epochs_arg, N_("Epochs, 1–100000 (default 10)"),
      N_("N") },
    { "batch", 0, 0, G_OPTION_ARG_STRING, &o->batch_arg, N_("Batch size, 2–65536 (default 64)"),
      N_("N") },
    { "lr", 0, 0, G_OPTION_ARG_STRING, &o->lr_arg,
      N_("Adam's learning rate, above 0 and below 10 (default 0.001)"), N_("F") },
    { "weight-decay", 0, 0, G_OPTION_ARG_STRING, &o->weight_decay_arg,
      N_("Adam's weight decay, 0 to below 1 (default 0)"), N_("F") },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &o->schedule,
      N_("Learning-rate schedule: constant (default) or cosine"), N_("S") },
    { "warmup", 0, 0, G_OPTION_ARG_STRING, &o->warmup_arg,
      N_("Linear warm-up, in epochs, 0 to --epochs (default 0)"), N_("EPOCHS") },
    { "smoothing", 0, 0, G_OPTION_ARG_STRING, &o->smoothing_arg,
      N_("Label smoothing α, eq. (1), 0 to below 1 (default 0; the paper tried 0.1, 0.2, "
         "0.4)"), N_("F") },
    { "class-weights", 0, 0, G_OPTION_ARG_STRING, &o->weights,
      N_("auto (inverse frequency), none, paper (anger 1, disgust 3, fear 5, happiness 1, "
         "sadness 1, surprise 1, by class name) or one non-negative weight per class, not all "
         "0"), N_("W") },
    { "imbalance", 0, 0, G_OPTION_ARG_STRING, &o->imbalance,
      N_("none, weighted, upsample, upsample+weighted or onthefly (default none)"),
      N_("HOW") },
    { "magnitude", 0, 0, G_OPTION_ARG_STRING, &o->magnitude_arg,
      N_("RandAugment magnitude, 0–30 (default 9)"), N_("M") },
    { "flip", 0, 0, G_OPTION_ARG_NONE, &o->flip,
      N_("Flip training images left-right at random, half of them (the default)"), NULL },
    { "no-flip", 0, 0, G_OPTION_ARG_NONE, &o->no_flip, N_("Never flip training images"), NULL },
    { "crop", 0, 0, G_OPTION_ARG_STRING, &o->crop,
      N_("Random crop of training images: none; pad:P (pad P px of black on each side, crop "
         "back to size; pad = an eighth of the side, the default); resized:SMIN (a box of "
         "SMIN–1 of the area, aspect 3/4–4/3, resized to size; resized = 0.8)"),
      N_("HOW") },
    { "device", 0, 0, G_OPTION_ARG_STRING, &o->device, N_("cpu (default) or cuda[:N]"),
      N_("DEVICE") },
    { "amp", 0, 0, G_OPTION_ARG_NONE, &o->amp, N_("Mixed precision (bfloat16) on CUDA"), NULL },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &o->seed_arg,
      N_("Random seed, 0 or more (default 0)"), N_("S") },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &o->threads_arg,
      N_("libtorch threads, 1 to 4 per processor or 64, whichever is more (default: one per "
         "processor)"),
      N_("N") },
    { "workers", 0, 0, G_OPTION_ARG_STRING, &o->workers_arg,
      N_("Image decoding threads, 1 to 4 per processor or 64, whichever is more (default: "
         "one per processor)"),
      N_("N") },
  };
  guint n_extra = 0;
  GOptionEntry *all;

  while (extra[n_extra].long_name != NULL)
    n_extra++;
  all = g_new0 (GOptionEntry, G_N_ELEMENTS (entries) + n_extra + 1);
  memcpy (all, entries, sizeof entries);
  memcpy (all + G_N_ELEMENTS (entries), extra, n_extra * sizeof *extra);
  return all;
}

/* The numbers in their documented ranges (what a resumed run takes, --epochs, --device and
 * --threads, among them); FALSE once the usage error is printed. */
static gboolean
check_options (MienCliTrainOptions *o,
               const char          *command)
{
  MienTrainConfig *config = o->config;
  gint64 max_threads = mien_cli_max_threads ();
  g_autoptr(GError) error = NULL;

  o->epochs = config->epochs;
  o->threads = 0;
  o->workers = 0;
  o->batch = config->batch_size;
  o->input_size = config->input_size;
  o->magnitude = config->rand_augment.magnitude;
  o->seed = (gint64) config->seed;
  o->val_split = config->val_split;
  o->lr = config->lr;
  o->weight_decay = config->weight_decay;
  o->warmup = config->warmup_epochs;
  o->smoothing = config->smoothing;
  o->face_margin = NAN;
  o->dev = config->device;
  if (!mien_cli_parse_int (command, "epochs", o->epochs_arg, 1, 100000, &o->epochs) ||
      !mien_cli_parse_int (command, "threads", o->threads_arg, 1, max_threads, &o->threads) ||
      !mien_cli_parse_int (command, "workers", o->workers_arg, 1, max_threads, &o->workers) ||
      !mien_cli_parse_int (command, "batch", o->batch_arg, 2, 65536, &o->batch) ||
      !mien_cli_parse_int (command, "input-size", o->input_size_arg, 8, 4096, &o->input_size) ||
      !mien_cli_parse_int (command, "magnitude", o->magnitude_arg, 0,
                           config->rand_augment.num_bins - 1, &o->magnitude) ||
      !mien_cli_parse_int (command, "seed", o->seed_arg, 0, G_MAXINT64, &o->seed) ||
      !mien_cli_parse_double (command, "val-split", o->val_split_arg, 0.0, 1.0,
                              MIEN_CLI_ABOVE_MIN | MIEN_CLI_BELOW_MAX, &o->val_split) ||
      !mien_cli_parse_double (command, "lr", o->lr_arg, 0.0, 10.0,
                              MIEN_CLI_ABOVE_MIN | MIEN_CLI_BELOW_MAX, &o->lr) ||
      !mien_cli_parse_double (command, "weight-decay", o->weight_decay_arg, 0.0, 1.0,
                              MIEN_CLI_BELOW_MAX, &o->weight_decay) ||
      !mien_cli_parse_double (command, "warmup", o->warmup_arg, 0.0, (double) o->epochs,
                              MIEN_CLI_CLOSED, &o->warmup) ||
      !mien_cli_parse_double (command, "smoothing", o->smoothing_arg, 0.0, 1.0,
                              MIEN_CLI_BELOW_MAX, &o->smoothing) ||
      !mien_cli_parse_double (command, "face-margin", o->face_margin_arg, 0.0,
                              MIEN_FACE_MARGIN_MAX, MIEN_CLI_CLOSED, &o->face_margin))
    return FALSE;
  if (o->flip && o->no_flip)
    {
      mien_cli_usage_error (command, _("give --flip or --no-flip, not both"));
      return FALSE;
    }
  if (o->device != NULL && !mien_device_parse (o->device, &o->dev, &error))
    {
      mien_cli_usage_error (command, "%s", error->message);
      return FALSE;
    }
  return TRUE;
}

MienTrainConfig *
mien_cli_train_options_to_config (MienCliTrainOptions *o,
                                  const char          *command,
                                  const char          *out,
                                  int                 *status)
{
  g_autoptr(MienTrainConfig) config = mien_train_config_copy (o->config);
  g_autoptr(GError) error = NULL;
  gboolean paper = FALSE;

  *status = EXIT_USAGE;
  if (!check_options (o, command))
    return NULL;
  if (o->data == NULL)
    {
      mien_cli_usage_error (command, _("--data DATASET is required"));
      return NULL;
    }
  if (o->val != NULL && o->val_split_arg != NULL)
    {
      mien_cli_usage_error (command, _("give --val or --val-split, not both"));
      return NULL;
    }
  config->data = g_strdup (o->data);
  config->val = g_strdup (o->val);
  config->val_split = o->val_split;
  if (o->split != NULL && !mien_dataset_check_split_name (o->split, &error))
    {
      mien_cli_usage_error (command, "%s", error->message);
      return NULL;
    }
  config->split = g_strdup (o->split);
  if (o->classes != NULL &&
      (config->classes = mien_dataset_parse_class_list (o->classes, &error)) == NULL)
    {
      mien_cli_usage_error (command, "%s", error->message);
      return NULL;
    }
  config->grey = o->grey;
  config->face_margin = o->face_margin;
  if (o->backbone != NULL)
    {
      g_free (config->backbone);
      config->backbone = g_strdup (o->backbone);
    }
  if (o->input_size_arg != NULL)
    config->input_size = (int) o->input_size;
  if ((o->mode != NULL && !mien_mode_from_string (o->mode, &config->mode, &error)) ||
      (o->batch_norm != NULL &&
       !mien_batch_norm_from_string (o->batch_norm, &config->batch_norm, &error)) ||
      (o->imbalance != NULL &&
       !mien_imbalance_from_string (o->imbalance, &config->imbalance, &error)))
    {
      mien_cli_usage_error (command, "%s", error->message);
      return NULL;
    }
  config->device = o->dev;
  if (o->weights != NULL && !parse_class_weights (command, o->weights, config, &paper))
    return NULL;
  if (o->schedule != NULL)
    {
      if (g_strcmp0 (o->schedule, "cosine") == 0)
        config->schedule = MIEN_SCHEDULE_COSINE;
      else if (g_strcmp0 (o->schedule, "constant") != 0)
        {
          mien_cli_usage_error (command, _("--schedule is constant or cosine, not “%s”"),
                                o->schedule);
          return NULL;
        }
    }
  if (mien_weights_is_spec (o->pretrained))
    {
      config->pretrained = mien_weights_resolve (mien_plugin_engine_get_default (),
                                                 o->pretrained, config->backbone, &error);
      if (config->pretrained == NULL)
        {
          mien_cli_error (error->message);
          *status = EXIT_FAILURE;
          return NULL;
        }
    }
  else
    config->pretrained = g_strdup (o->pretrained);
  if (o->normalise != NULL &&
      !mien_normalisation_from_string (o->normalise, &config->normalisation, NULL))
    {
      mien_cli_usage_error (command, _("--normalise is dataset or imagenet, not “%s”"),
                            o->normalise);
      return NULL;
    }
  config->epochs = (guint) o->epochs;
  config->batch_size = (guint) o->batch;
  config->lr = o->lr;
  config->weight_decay = o->weight_decay;
  config->warmup_epochs = o->warmup;
  config->smoothing = o->smoothing;
  config->rand_augment.magnitude = (guint) o->magnitude;
  if (o->flip || o->no_flip)
    config->geometry.flip = o->flip;
  if (o->crop != NULL && !mien_crop_from_string (o->crop, &config->geometry, &error))
    {
      mien_cli_usage_error (command, "--crop: %s", error->message);
      return NULL;
    }
  config->amp = o->amp;
  config->seed = (guint64) o->seed;
  config->threads = (int) o->threads;
  config->workers = (int) o->workers;
  config->out = g_strdup (out);
  if (paper)
    {
      *status = set_paper_weights (command, config);
      if (*status != EXIT_SUCCESS)
        return NULL;
    }
  if (!mien_train_config_validate (config, &error))
    {
      mien_cli_usage_error (command, "%s", error->message);
      return NULL;
    }
  *status = EXIT_SUCCESS;
  return g_steal_pointer (&config);
}

/* `--nproc N`: the same command line, less --nproc, as N ranks. */
static int
launch_ranks (const char * const *argv,
              guint               nproc,
              gboolean            set_threads)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  /* argv[0] is "train" (mien-cli.c passes the command's own arguments). */
  for (guint i = 0; argv[i] != NULL; i++)
    {
      if (g_str_equal (argv[i], "--nproc"))
        {
          i++;
          continue;
        }
      if (g_str_has_prefix (argv[i], "--nproc="))
        continue;
      g_ptr_array_add (args, (gpointer) argv[i]);
    }
  g_ptr_array_add (args, NULL);
  return mien_cli_launch_local ((const char * const *) args->pdata, nproc, set_threads);
}

/* The error of a rank above 0, named as such. */
static int
rank_error (MienProcessGroup *pg,
            const GError     *error)
{
  g_autofree char *message = g_strdup_printf (_("rank %d: %s"), mien_process_group_get_rank (pg),
                                              error->message);

  mien_cli_error (message);
  return EXIT_FAILURE;
}

/* Joins the group torchrun's variables describe; on CUDA each rank takes the GPU of its local
 * rank unless --device names one. */
static int
join_group (MienCliTrainOptions  *options,
            const MienCliDistEnv *env,
            const char           *backend_arg,
            double                timeout_s,
            MienProcessGroup    **pg_out)
{
  g_autoptr(GError) error = NULL;
  MienDistBackend backend;

  if (backend_arg != NULL &&
      (!mien_dist_backend_from_string (backend_arg, &backend, &error) ||
       !mien_dist_backend_check (backend, &error)))
    return mien_cli_usage_error ("train", "%s", error->message);
  if (!check_options (options, "train"))
    return EXIT_USAGE;
  if (options->dev.type == MIEN_DEVICE_CUDA && !strchr (options->device, ':'))
    options->dev.index = env->local_rank;
  /* As torch.distributed's default: NCCL for CUDA where this build has it. */
  if (backend_arg == NULL)
    backend = options->dev.type == MIEN_DEVICE_CUDA &&
              mien_dist_backend_check (MIEN_DIST_BACKEND_NCCL, NULL) ? MIEN_DIST_BACKEND_NCCL
                                                                      : MIEN_DIST_BACKEND_GLOO;
  if (backend == MIEN_DIST_BACKEND_NCCL && options->dev.type != MIEN_DEVICE_CUDA)
    return mien_cli_usage_error ("train", _("--backend nccl needs --device cuda"));
  *pg_out = mien_process_group_new (backend, env->master_addr, env->master_port, env->rank,
                                    env->world_size, options->dev, timeout_s, &error);
  if (*pg_out == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("rank %d: %s"), env->rank, error->message);

      mien_cli_error (message);
      return EXIT_FAILURE;
    }
  return EXIT_SUCCESS;
}

int
mien_cli_train (int    argc,
                char **argv)
{
  g_autoptr(MienCliTrainOptions) options = mien_cli_train_options_new ();
  g_autofree char *out = NULL, *time_limit_arg = NULL;
  g_autofree char *nproc_arg = NULL, *backend_arg = NULL, *dist_timeout_arg = NULL;
  g_autofree char **original = g_new0 (char *, argc + 1);
  double time_limit = 0.0, dist_timeout = 600.0;
  gint64 nproc = 0;
  gboolean resume = FALSE, json = FALSE, sync_batch_norm = FALSE;
  MienCliDistEnv env;
  g_autoptr(MienProcessGroup) pg = NULL;
  const GOptionEntry own[] = {
    { "time-limit", 0, 0, G_OPTION_ARG_STRING, &time_limit_arg,
      N_("Stop after the epoch that passes this many minutes, keeping the best model "
         "(resumable); above 0"), N_("MINUTES") },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_("Run folder (required)"), N_("RUNDIR") },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &resume,
      N_("Continue the run in RUNDIR with its own configuration (only --epochs, --device and "
         "--threads apply)"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      N_("Print one JSON line per epoch and a final one with the best model"), NULL },
    { "nproc", 0, 0, G_OPTION_ARG_STRING, &nproc_arg,
      N_("Train data-parallel on N local processes (one per GPU with --device cuda), 1–64; "
         "--batch is per process"), N_("N") },
    { "backend", 0, 0, G_OPTION_ARG_STRING, &backend_arg,
      N_("Data-parallel communication: gloo or nccl (default: nccl on CUDA, else gloo)"),
      N_("NAME") },
    { "sync-batch-norm", 0, 0, G_OPTION_ARG_NONE, &sync_batch_norm,
      N_("Data-parallel: batch-norm statistics of the whole global batch"), NULL },
    { "dist-timeout", 0, 0, G_OPTION_ARG_STRING, &dist_timeout_arg,
      N_("Data-parallel: seconds to wait for the other processes before giving up "
         "(default 600)"), N_("SECONDS") },
    { NULL }
  };
  g_autofree GOptionEntry *entries = mien_cli_train_options_entries (options, own);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTrainer) trainer = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  TrainOutput output = { 0 };
  MienMetrics *best;
  gboolean ok;

  for (int i = 0; i < argc; i++)
    original[i] = argv[i];
  if (!mien_cli_parse_options ("train", "", entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return mien_cli_usage_error ("train", _("unexpected argument “%s”"), argv[1]);
  if (out == NULL)
    return mien_cli_usage_error ("train", _("--out RUNDIR is required"));
  if (!mien_cli_parse_double ("train", "time-limit", time_limit_arg, 0.0, 1e6,
                              MIEN_CLI_ABOVE_MIN, &time_limit) ||
      !mien_cli_parse_int ("train", "nproc", nproc_arg, 1, 64, &nproc) ||
      !mien_cli_parse_double ("train", "dist-timeout", dist_timeout_arg, 0.0, 1e6,
                              MIEN_CLI_ABOVE_MIN, &dist_timeout))
    return EXIT_USAGE;
  if (!mien_cli_dist_env_read (&env, &error))
    return mien_cli_usage_error ("train", "%s", error->message);
  /* Each rank would stop after its own epoch: the ranks would have to decide together. */
  if ((nproc > 0 || env.world_size > 0) && time_limit_arg != NULL)
    return mien_cli_usage_error ("train", _("--time-limit is for one process; stop a "
                                            "data-parallel run with Ctrl+C, or give fewer "
                                            "--epochs"));
  if (nproc > 0)
    {
      if (env.world_size > 0)
        return mien_cli_usage_error ("train", _("--nproc starts the processes itself: it cannot "
                                                "run under torchrun or srun (WORLD_SIZE is set)"));
      if (!check_options (options, "train"))
        return EXIT_USAGE;
      /* One GPU per rank, as torchrun's LOCAL_RANK picks them. */
      if (options->dev.type == MIEN_DEVICE_CUDA && !strchr (options->device, ':') &&
          nproc > mien_torch_cuda_device_count ())
        return mien_cli_usage_error ("train", _("--nproc %d on --device cuda needs a GPU per "
                                                "process, and %d were found"),
                                     (int) nproc, mien_torch_cuda_device_count ());
      return launch_ranks ((const char * const *) original, (guint) nproc,
                           options->threads_arg == NULL);
    }
  if (env.world_size > 0)
    {
      int status = join_group (options, &env, backend_arg, dist_timeout, &pg);

      if (pg == NULL)
        return status;
    }
  else if (backend_arg != NULL || sync_batch_norm || dist_timeout_arg != NULL)
    return mien_cli_usage_error ("train", _("--backend, --sync-batch-norm and --dist-timeout "
                                            "are for data-parallel runs (--nproc, torchrun)"));

  if (pg != NULL && mien_process_group_get_rank (pg) > 0)
    {
      /* Rank 0's configuration: this rank's own options are only where it runs. */
      if (!check_options (options, "train"))
        return EXIT_USAGE;
      trainer = mien_trainer_new_rank (mien_plugin_engine_get_default (), pg,
                                       options->device ? &options->dev : NULL, env.local_rank,
                                       options->threads_arg != NULL ? (int) options->threads : 0,
                                       &error);
      if (trainer == NULL)
        return rank_error (pg, error);
    }
  else if (resume)
    {
      if (!check_options (options, "train"))
        return EXIT_USAGE;
      if (options->flip || options->no_flip || options->crop != NULL || sync_batch_norm)
        return mien_cli_usage_error ("train", _("--flip, --no-flip, --crop and "
                                                "--sync-batch-norm are the run's own with "
                                                "--resume"));
      /* 0: the run's own epochs and threads. */
      trainer = mien_trainer_new_resume (mien_plugin_engine_get_default (), out,
                                         options->epochs_arg != NULL ? (guint) options->epochs : 0,
                                         options->device ? &options->dev : NULL,
                                         options->threads_arg != NULL ? (int) options->threads : 0,
                                         &error);
      if (trainer == NULL)
        {
          if (pg != NULL)
            mien_process_group_announce_stop (pg, error->message);
          mien_cli_error (error->message);
          return EXIT_FAILURE;
        }
    }
  else
    {
      int status;
      g_autoptr(MienTrainConfig) config = mien_cli_train_options_to_config (options, "train",
                                                                            out, &status);

      if (config == NULL)
        {
          if (pg != NULL)
            mien_process_group_announce_stop (pg, _("rank 0's options are wrong"));
          return status;
        }
      config->sync_batch_norm = sync_batch_norm;
      trainer = mien_trainer_new (mien_plugin_engine_get_default (), config);
    }
  if (pg != NULL)
    mien_trainer_set_process_group (trainer, pg);

  output.quiet = pg != NULL && mien_process_group_get_rank (pg) > 0;
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
  if (!ok && output.quiet)
    {
      /* Rank 0 says where a cancelled run can be continued. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return 130;
      return rank_error (pg, error);
    }
  if (output.quiet)
    return EXIT_SUCCESS;
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
