/* mien-train-page.c — the Train page: a run's settings, its progress, and past runs.
 *
 * The form on the left describes a MienTrainConfig; fields the form does not show (the
 * validation split, schedule, RandAugment settings, ...) come from `base_config`, the defaults
 * or whatever mien_train_page_set_config () was given, so that nothing set elsewhere is lost.
 *
 * A run's callbacks arrive on the training thread. They reach the page through a RunLink, a
 * small reference-counted struct with a weak reference to the page, so that a page destroyed
 * mid-run is never touched from an idle queued before it went. Progress is coalesced (at most
 * one idle queued at a time; it reads the newest report), epoch records are queued one by one
 * because each is a point on the charts.
 */
#include "config.h"

#include <math.h>

#include <glib/gi18n-lib.h>

#include "mien-chart.h"
#include "mien-device.h"
#include "mien-json.h"
#include "mien-train-page.h"
#include "mien-ui-util.h"
#include "mien-weights.h"

/* ---- One backbone variant in the picker ------------------------------------------------ */

#define MIEN_TYPE_TRAIN_BACKBONE_ITEM (mien_train_backbone_item_get_type ())
G_DECLARE_FINAL_TYPE (MienTrainBackboneItem, mien_train_backbone_item,
                      MIEN, TRAIN_BACKBONE_ITEM, GObject)

struct _MienTrainBackboneItem
{
  GObject  parent_instance;

  char    *spec;         /* "resnet:18" */
  char    *family;       /* "resnet" */
  char    *variant;      /* "18" */
  char    *title;        /* "ResNet-18" */
  char    *detail;       /* "basic blocks, for CPUs" (may be empty) */
  char    *subtitle;
  gint64   feature_dim;
  int      input_size;
  int      min_input_size;
  int      size_multiple;
  gint64   n_params;     /* -1 until counted */
};

enum {
  ITEM_PROP_0,
  ITEM_PROP_TITLE,
  ITEM_PROP_SUBTITLE,
  N_ITEM_PROPS
};

static GParamSpec *item_properties[N_ITEM_PROPS];

G_DEFINE_FINAL_TYPE (MienTrainBackboneItem, mien_train_backbone_item, G_TYPE_OBJECT)

static void
mien_train_backbone_item_finalize (GObject *object)
{
  MienTrainBackboneItem *self = MIEN_TRAIN_BACKBONE_ITEM (object);

  g_free (self->spec);
  g_free (self->family);
  g_free (self->variant);
  g_free (self->title);
  g_free (self->detail);
  g_free (self->subtitle);
  G_OBJECT_CLASS (mien_train_backbone_item_parent_class)->finalize (object);
}

static void
mien_train_backbone_item_get_property (GObject    *object,
                                       guint       prop_id,
                                       GValue     *value,
                                       GParamSpec *pspec)
{
  MienTrainBackboneItem *self = MIEN_TRAIN_BACKBONE_ITEM (object);

  switch (prop_id)
    {
    case ITEM_PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case ITEM_PROP_SUBTITLE:
      g_value_set_string (value, self->subtitle);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_train_backbone_item_class_init (MienTrainBackboneItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mien_train_backbone_item_finalize;
  object_class->get_property = mien_train_backbone_item_get_property;
  item_properties[ITEM_PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  item_properties[ITEM_PROP_SUBTITLE] =
    g_param_spec_string ("subtitle", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_ITEM_PROPS, item_properties);
}

static void
mien_train_backbone_item_init (MienTrainBackboneItem *self)
{
  self->n_params = -1;
}

static char *
format_parameters (gint64 n)
{
  if (n >= 1000000)
    /* Translators: a parameter count in millions: "11.2 M parameters". */
    return g_strdup_printf (_("%.1f M parameters"), n / 1e6);
  /* Translators: a parameter count in thousands: "840 k parameters". */
  return g_strdup_printf (_("%.0f k parameters"), n / 1e3);
}

static void
backbone_item_update_subtitle (MienTrainBackboneItem *self)
{
  GString *s = g_string_new (NULL);

  if (self->detail[0] != '\0')
    g_string_append (s, self->detail);
  if (self->n_params >= 0)
    {
      g_autofree char *params = format_parameters (self->n_params);

      if (s->len > 0)
        g_string_append (s, " · ");
      g_string_append (s, params);
    }
  if (s->len > 0)
    g_string_append (s, " · ");
  /* Translators: the length of the feature vector a backbone gives the classifier head. */
  g_string_append_printf (s, g_dngettext (GETTEXT_PACKAGE, "%lld feature", "%lld features",
                                          (gulong) self->feature_dim),
                          (long long) self->feature_dim);
  g_free (self->subtitle);
  self->subtitle = g_string_free (s, FALSE);
  g_object_notify_by_pspec (G_OBJECT (self), item_properties[ITEM_PROP_SUBTITLE]);
}

/* Variant descriptions are "ResNet-50, bottleneck blocks (the reference paper's)": the name,
 * then details. The name is what the picker shows; the details go below it. */
static MienTrainBackboneItem *
backbone_item_new (const char                *family,
                   const MienBackboneVariant *variant)
{
  MienTrainBackboneItem *self = g_object_new (MIEN_TYPE_TRAIN_BACKBONE_ITEM, NULL);
  const char *description = variant->description && *variant->description
                            ? _(variant->description) : variant->name;
  const char *comma = strstr (description, ", ");
  const char *paren = strstr (description, " (");
  const char *cut = comma && (!paren || comma < paren) ? comma : paren;

  self->family = g_strdup (family);
  self->variant = g_strdup (variant->name);
  self->spec = g_strdup_printf ("%s:%s", family, variant->name);
  if (cut != NULL)
    {
      g_autofree char *rest = g_strstrip (g_strdup (cut + 1));
      const char *close = rest[0] == '(' ? strchr (rest, ')') : NULL;

      self->title = g_strndup (description, cut - description);
      /* "(timm's ViT-Tiny), for CPUs" → "timm's ViT-Tiny, for CPUs" */
      if (close != NULL)
        self->detail = g_strdup_printf ("%.*s%s", (int) (close - rest - 1), rest + 1, close + 1);
      else
        self->detail = g_steal_pointer (&rest);
    }
  else
    {
      self->title = g_strdup (description);
      self->detail = g_strdup ("");
    }
  self->feature_dim = variant->feature_dim;
  self->input_size = variant->input_size;
  self->min_input_size = variant->min_input_size;
  self->size_multiple = MAX (variant->size_multiple, 1);
  backbone_item_update_subtitle (self);
  return self;
}

/* ---- The page ---------------------------------------------------------------------------- */

typedef enum {
  WEIGHTS_AUTO,
  WEIGHTS_PAPER,
  WEIGHTS_NONE,
  WEIGHTS_CUSTOM,
} WeightsChoice;

/* The order of the imbalance row's items. */
static const MienImbalance imbalance_order[] = {
  MIEN_IMBALANCE_NONE,
  MIEN_IMBALANCE_WEIGHTED,
  MIEN_IMBALANCE_UPSAMPLE,
  MIEN_IMBALANCE_UPSAMPLE_WEIGHTED,
  MIEN_IMBALANCE_ONTHEFLY,
};

typedef struct _RunLink RunLink;

struct _MienTrainPage
{
  AdwBin             parent_instance;

  MienStudio        *studio;
  MienTrainConfig   *base_config;
  GCancellable      *cancellable;     /* the page's own background work */

  /* Form */
  AdwComboRow       *backbone_row;
  GListStore        *backbones;       /* MienTrainBackboneItem */
  AdwActionRow      *pretrained_row;
  GtkWidget         *pretrained_button;
  GtkWidget         *pretrained_clear_button;
  char              *pretrained;
  /* The catalogue's default weights for the chosen variant: "ImageNet (torchvision), 44.7 MiB"
   * with Download / Cancel and the transfer's progress (a GTask worker). */
  AdwActionRow      *imagenet_row;
  GtkWidget         *imagenet_button;
  GtkProgressBar    *imagenet_progress;
  const MienWeightsInfo *imagenet;     /* NULL: the variant publishes none */
  GCancellable      *imagenet_cancellable; /* non-NULL while downloading */
  AdwComboRow       *normalisation_row;  /* in MienNormalisation's order */
  AdwActionRow      *input_size_row;
  GtkSpinButton     *input_size_spin;
  GtkCheckButton    *mode_probe;
  GtkCheckButton    *mode_finetune;
  GtkCheckButton    *mode_dft;
  GtkScale          *smoothing_scale;
  GtkStack          *smoothing_stack;
  GtkLabel          *formula_label;
  GtkDropDown       *target_dropdown;
  MienBarChart      *smoothing_chart;
  GtkLabel          *smoothing_values_label;
  AdwComboRow       *imbalance_row;
  GtkSwitch         *flip_switch;     /* the Augmentation group, built in code */
  AdwComboRow       *crop_row;
  AdwComboRow       *weights_row;
  AdwExpanderRow    *weights_expander;
  GPtrArray         *weight_rows;     /* rows inside weights_expander */
  GHashTable        *custom_weights;  /* class name → double *, kept across datasets */
  AdwEntryRow       *lr_row;
  AdwEntryRow       *face_margin_row;
  GtkSpinButton     *epochs_spin;
  GtkSpinButton     *batch_spin;
  GtkSpinButton     *seed_spin;
  AdwComboRow       *device_row;
  GArray            *devices;         /* MienDevice, in device_row's order; ALL_GPUS last
                                       * where there are several GPUs */

  /* The classes the form is about (the open dataset's, or base_config's) and their counts. */
  GStrv              classes;
  guint             *counts;          /* may be NULL */

  /* Progress and curves */
  GtkLabel          *status_label;
  GtkProgressBar    *progress_bar;
  GtkLabel          *phase_label;
  GtkLabel          *prepared_label;
  GtkLabel          *eta_label;
  GtkStack          *charts_stack;
  MienLineChart     *loss_chart;
  MienLineChart     *f1_chart;
  guint              series_running;  /* G_MAXUINT when absent */
  guint              series_train;
  guint              series_val;
  guint              series_macro;    /* G_MAXUINT until the first record with metrics */
  guint              f1_n_classes;
  double             last_running_x;

  /* Past runs */
  GtkListBox        *runs_list;
  char              *selected_path;

  /* The run in progress */
  MienTrainer       *trainer;
  GCancellable      *run_cancellable;
  RunLink           *link;
  char              *run_dir;
  gboolean           running;
  gboolean           cancelling;
  guint              last_epoch;
  double             images_per_s;
  gboolean           prepared;  /* what preparation found is shown */
};

enum {
  PROP_0,
  PROP_STUDIO,
  PROP_RUNNING,
  N_PROPS
};

enum {
  SIGNAL_RUN_FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (MienTrainPage, mien_train_page, ADW_TYPE_BIN)

static void refresh_weights      (MienTrainPage *self);
static void update_imagenet_row  (MienTrainPage *self);
static void backbone_selected_cb (MienTrainPage *self);

/* ---- Small helpers ----------------------------------------------------------------------- */

static MienTrainBackboneItem *
get_selected_backbone (MienTrainPage *self)
{
  gpointer item = adw_combo_row_get_selected_item (self->backbone_row);

  return item != NULL ? MIEN_TRAIN_BACKBONE_ITEM (item) : NULL;
}

static MienMode
get_mode (MienTrainPage *self)
{
  if (gtk_check_button_get_active (self->mode_probe))
    return MIEN_MODE_PROBE;
  if (gtk_check_button_get_active (self->mode_dft))
    return MIEN_MODE_DFT;
  return MIEN_MODE_FINETUNE;
}

static const char *
mode_label (MienMode mode)
{
  switch (mode)
    {
    case MIEN_MODE_PROBE:
      return _("linear probe");
    case MIEN_MODE_DFT:
      return _("DFT");
    case MIEN_MODE_FINETUNE:
    default:
      return _("fine-tune");
    }
}

/* The order of the crop row's items. */
static const MienCropKind crop_order[] = { MIEN_CROP_NONE, MIEN_CROP_PAD, MIEN_CROP_RESIZED };

/* A group "Augmentation" after "Class Imbalance": whether to flip and how to crop training
 * images (mien-augment.h). */
static void
add_augment_rows (MienTrainPage *self)
{
  const char *crops[] = { C_("random crop", "None"), _("Pad and crop"), _("Resized crop"),
                          NULL };
  GtkWidget *imbalance_group = gtk_widget_get_ancestor (GTK_WIDGET (self->imbalance_row),
                                                        ADW_TYPE_PREFERENCES_GROUP);
  GtkWidget *parent = gtk_widget_get_parent (imbalance_group);
  GtkWidget *group = adw_preferences_group_new ();
  GtkWidget *flip_row = adw_action_row_new ();
  g_autoptr(GtkStringList) crop_items = gtk_string_list_new (crops);

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Augmentation"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group),
                                         _("Applied to training images only, anew each epoch"));

  self->flip_switch = GTK_SWITCH (gtk_switch_new ());
  gtk_widget_set_valign (GTK_WIDGET (self->flip_switch), GTK_ALIGN_CENTER);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->flip_switch),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Flip left–right"), -1);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (flip_row), _("_Flip left–right"));
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (flip_row), TRUE);
  adw_action_row_add_suffix (ADW_ACTION_ROW (flip_row), GTK_WIDGET (self->flip_switch));
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (flip_row),
                                         GTK_WIDGET (self->flip_switch));
  gtk_widget_set_tooltip_text (flip_row,
                               _("Mirror a random half of the training images each epoch. "
                                 "Every expression looks the same mirrored, so this doubles "
                                 "the faces the model sees for free."));

  self->crop_row = ADW_COMBO_ROW (adw_combo_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->crop_row), _("Random _crop"));
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (self->crop_row), TRUE);
  adw_combo_row_set_model (self->crop_row, G_LIST_MODEL (crop_items));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->crop_row),
                               _("Pad and crop: shift each training image by up to an eighth "
                                 "of its side, filling the border with black (the usual "
                                 "FER2013 recipe). Resized crop: zoom into a random box of four "
                                 "fifths or more of the image, aspect 3:4 to 4:3. Validation "
                                 "images are never cropped."));

  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), flip_row);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), GTK_WIDGET (self->crop_row));
  if (GTK_IS_BOX (parent))
    gtk_box_insert_child_after (GTK_BOX (parent), group, imbalance_group);
  else
    adw_preferences_group_add (ADW_PREFERENCES_GROUP (imbalance_group), group);
}

static MienImbalance
get_imbalance (MienTrainPage *self)
{
  guint i = adw_combo_row_get_selected (self->imbalance_row);

  return i < G_N_ELEMENTS (imbalance_order) ? imbalance_order[i] : MIEN_IMBALANCE_NONE;
}

static gboolean
imbalance_uses_weights (MienImbalance imbalance)
{
  return imbalance == MIEN_IMBALANCE_WEIGHTED || imbalance == MIEN_IMBALANCE_UPSAMPLE_WEIGHTED;
}

static guint
n_classes (MienTrainPage *self)
{
  return self->classes != NULL ? g_strv_length (self->classes) : 0;
}

/* Fills `weights` (n_classes, may be NULL) with the paper's weights mapped by class name; FALSE
 * when the classes are not exactly the paper's six. */
static gboolean
map_paper_weights (MienTrainPage *self,
                   double        *weights)
{
  return self->classes != NULL &&
         mien_class_weights_paper ((const char * const *) self->classes, weights);
}

static double *
custom_weight_slot (MienTrainPage *self,
                    const char    *name)
{
  double *slot = g_hash_table_lookup (self->custom_weights, name);

  if (slot == NULL)
    {
      slot = g_new (double, 1);
      *slot = 1.0;
      g_hash_table_insert (self->custom_weights, g_strdup (name), slot);
    }
  return slot;
}

/* The number written in `row` (a comma taken for the decimal point); FALSE when it is not one.
 * `empty` says whether nothing is written. */
static gboolean
parse_row_number (AdwEntryRow *row,
                  double      *value,
                  gboolean    *empty)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));
  char *end = NULL;

  *empty = text[0] == '\0';
  g_strdelimit (text, ",", '.');
  *value = g_ascii_strtod (text, &end);
  return !*empty && end != NULL && *end == '\0';
}

static gboolean
parse_lr (MienTrainPage *self,
          double        *out)
{
  gboolean empty;
  double lr;

  if (!parse_row_number (self->lr_row, &lr, &empty) || !(lr > 0.0 && lr < 10.0))
    return FALSE;
  *out = lr;
  return TRUE;
}

/* The face margin row: empty is NAN (whole images, or the dataset's own framing). */
static gboolean
parse_face_margin (MienTrainPage *self,
                   double        *out)
{
  gboolean empty;
  double margin;

  if (!parse_row_number (self->face_margin_row, &margin, &empty))
    {
      *out = NAN;
      return empty;
    }
  if (!(margin >= 0.0 && margin <= MIEN_FACE_MARGIN_MAX))
    return FALSE;
  *out = margin;
  return TRUE;
}

static char *
format_number (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup (g_ascii_formatd (buffer, sizeof buffer, "%g", value));
}

static void
lr_changed_cb (MienTrainPage *self)
{
  double lr;

  if (parse_lr (self, &lr))
    gtk_widget_remove_css_class (GTK_WIDGET (self->lr_row), "error");
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->lr_row), "error");
}

/* ---- Actions' enabled states ------------------------------------------------------------- */

static MienRun *
get_selected_run (MienTrainPage *self)
{
  GtkListBoxRow *row = gtk_list_box_get_selected_row (self->runs_list);

  if (row == NULL)
    return NULL;
  return g_object_get_data (G_OBJECT (row), "mien-run");
}

static void
update_actions (MienTrainPage *self)
{
  MienRun *run = get_selected_run (self);
  gboolean have_data = self->studio != NULL && mien_studio_get_dataset (self->studio) != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.start",
                                 have_data && !self->running &&
                                 get_selected_backbone (self) != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.cancel",
                                 self->running && !self->cancelling);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.resume",
                                 !self->running && run != NULL && mien_run_can_resume (run));
}

static void
show_idle_status (MienTrainPage *self)
{
  MienDataset *dataset = self->studio != NULL ? mien_studio_get_dataset (self->studio) : NULL;

  if (self->running)
    return;
  gtk_label_set_text (self->status_label, _("Ready to Train"));
  if (dataset == NULL)
    gtk_label_set_text (self->phase_label,
                        _("Open a dataset on the Dataset page first: its images are what the "
                          "network learns from."));
  else
    {
      g_autofree char *name = g_path_get_basename (mien_studio_get_dataset_path (self->studio));
      guint n_images = mien_dataset_get_n_samples (dataset);
      g_autofree char *images = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u image",
                                                              "%u images", n_images),
                                                 n_images);
      /* Translators: the open dataset's name, its number of classes, its images ("2900
       * images"). */
      g_autofree char *text = g_strdup_printf (_("“%s”: %u classes, %s. Choose the settings, "
                                                 "then start training."),
                                               name, mien_dataset_get_n_classes (dataset),
                                               images);

      gtk_label_set_text (self->phase_label, text);
    }
  gtk_label_set_text (self->eta_label, "");
  gtk_widget_remove_css_class (GTK_WIDGET (self->phase_label), "error");
  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
}

/* ---- Charts ------------------------------------------------------------------------------ */

static void
charts_reset (MienTrainPage *self,
              gboolean       live)
{
  mien_line_chart_clear (self->loss_chart);
  mien_line_chart_clear (self->f1_chart);
  self->series_running = G_MAXUINT;
  if (live)
    self->series_running = mien_line_chart_add_series (self->loss_chart,
                                                       _("Training loss (running)"));
  self->series_train = mien_line_chart_add_series (self->loss_chart, _("Training loss"));
  self->series_val = mien_line_chart_add_series (self->loss_chart, _("Validation loss"));
  self->series_macro = G_MAXUINT;
  self->f1_n_classes = 0;
  self->last_running_x = -1.0;
  gtk_stack_set_visible_child_name (self->charts_stack, live ? "charts" : "empty");
}

static double
record_double (JsonObject *record,
               const char *member)
{
  JsonNode *node = json_object_get_member (record, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NAN;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_DOUBLE:
    case G_TYPE_INT64:
      return json_node_get_double (node);
    default:
      return NAN;
    }
}

static void
charts_add_record (MienTrainPage *self,
                   JsonObject    *record,
                   guint          fallback_epoch)
{
  double epoch = (double) json_object_get_int_member_with_default (record, "epoch",
                                                                    fallback_epoch);
  double train_loss = record_double (record, "train_loss");
  double val_loss = record_double (record, "val_loss");
  JsonNode *val = json_object_get_member (record, "val");
  g_autoptr(MienMetrics) metrics = NULL;

  if (isfinite (train_loss))
    mien_line_chart_append (self->loss_chart, self->series_train, epoch, train_loss);
  if (isfinite (val_loss))
    mien_line_chart_append (self->loss_chart, self->series_val, epoch, val_loss);

  if (val != NULL)
    metrics = mien_metrics_from_json (val, NULL);
  if (metrics != NULL)
    {
      if (self->series_macro == G_MAXUINT)
        {
          for (guint i = 0; i < metrics->n_classes; i++)
            {
              g_autofree char *name = mien_ui_capitalise (metrics->classes[i]);

              mien_line_chart_add_series (self->f1_chart, name);
            }
          self->series_macro = mien_line_chart_add_series (self->f1_chart, _("Macro F1"));
          self->f1_n_classes = metrics->n_classes;
        }
      for (guint i = 0; i < MIN (metrics->n_classes, self->f1_n_classes); i++)
        mien_line_chart_append (self->f1_chart, i, epoch, metrics->f1[i]);
      mien_line_chart_append (self->f1_chart, self->series_macro, epoch, metrics->macro_f1);
    }
  gtk_stack_set_visible_child_name (self->charts_stack, "charts");
}

static void
charts_show_run (MienTrainPage *self,
                 MienRun       *run,
                 gboolean       live)
{
  guint n = run != NULL ? mien_run_get_n_epochs (run) : 0;

  charts_reset (self, live);
  for (guint i = 0; i < n; i++)
    charts_add_record (self, mien_run_get_epoch (run, i), i + 1);
  if (!live && n == 0)
    gtk_stack_set_visible_child_name (self->charts_stack, "empty");
}

/* ---- Backbones --------------------------------------------------------------------------- */

typedef struct {
  MienBackbone *backbone;
  char         *variant;
} CountJob;

static void
count_job_free (gpointer data)
{
  CountJob *job = data;

  g_object_unref (job->backbone);
  g_free (job->variant);
  g_free (job);
}

/* Counting builds each variant on libtorch's meta device: nothing is allocated, but a ViT-B
 * still has thousands of tensors to make, so it is done here rather than on the main loop. */
static void
count_parameters_thread (GTask        *task,
                         gpointer      source_object,
                         gpointer      task_data,
                         GCancellable *cancellable)
{
  GPtrArray *jobs = task_data;
  GArray *counts = g_array_sized_new (FALSE, FALSE, sizeof (gint64), jobs->len);

  for (guint i = 0; i < jobs->len && !g_cancellable_is_cancelled (cancellable); i++)
    {
      CountJob *job = g_ptr_array_index (jobs, i);
      g_autoptr(GError) error = NULL;
      gint64 n = mien_backbone_count_parameters (job->backbone, job->variant, &error);

      if (n < 0)
        g_debug ("Counting the parameters of %s: %s", job->variant, error->message);
      g_array_append_val (counts, n);
    }
  g_task_return_pointer (task, counts, (GDestroyNotify) g_array_unref);
}

static void
count_parameters_done (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  MienTrainPage *self = MIEN_TRAIN_PAGE (source);
  g_autoptr(GArray) counts = g_task_propagate_pointer (G_TASK (result), NULL);
  guint n;

  if (counts == NULL)  /* cancelled: the page is going away */
    return;
  n = MIN (counts->len, g_list_model_get_n_items (G_LIST_MODEL (self->backbones)));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(MienTrainBackboneItem) item =
        g_list_model_get_item (G_LIST_MODEL (self->backbones), i);

      item->n_params = g_array_index (counts, gint64, i);
      if (item->n_params >= 0)
        backbone_item_update_subtitle (item);
    }
  backbone_selected_cb (self);
}

static void
load_backbones (MienTrainPage *self)
{
  MienPluginEngine *engine = mien_studio_get_engine (self->studio);
  GPtrArray *plugins = mien_plugin_engine_get_plugins (engine);
  g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func (count_job_free);
  g_autoptr(GTask) task = NULL;
  guint selected = GTK_INVALID_LIST_POSITION;

  for (guint i = 0; plugins != NULL && i < plugins->len; i++)
    {
      const MienPluginInfo *info = g_ptr_array_index (plugins, i);
      g_autoptr(GError) error = NULL;
      g_autoptr(MienBackbone) backbone = NULL;
      const MienBackboneVariant *variants;
      guint n_variants = 0;

      if (g_strcmp0 (info->kind, "backbone") != 0)
        continue;
      backbone = mien_plugin_engine_create_backbone (engine, info->id, NULL, &error);
      if (backbone == NULL)
        {
          g_debug ("Backbone plugin %s: %s", info->id, error->message);
          continue;
        }
      variants = mien_backbone_list_variants (backbone, &n_variants);
      for (guint v = 0; v < n_variants; v++)
        {
          g_autoptr(MienTrainBackboneItem) item = backbone_item_new (info->id, &variants[v]);
          CountJob *job = g_new0 (CountJob, 1);

          job->backbone = g_object_ref (backbone);
          job->variant = g_strdup (variants[v].name);
          g_ptr_array_add (jobs, job);
          g_list_store_append (self->backbones, item);
        }
    }

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->backbones)); i++)
    {
      g_autoptr(MienTrainBackboneItem) item =
        g_list_model_get_item (G_LIST_MODEL (self->backbones), i);

      if (g_strcmp0 (item->spec, "resnet:18") == 0)
        selected = i;
    }
  if (selected != GTK_INVALID_LIST_POSITION)
    adw_combo_row_set_selected (self->backbone_row, selected);

  if (jobs->len == 0)
    return;
  task = g_task_new (self, self->cancellable, count_parameters_done, NULL);
  g_task_set_source_tag (task, load_backbones);
  g_task_set_task_data (task, g_steal_pointer (&jobs), (GDestroyNotify) g_ptr_array_unref);
  g_task_run_in_thread (task, count_parameters_thread);
}

/* `spec`: "family" (its default variant: the first listed) or "family:variant". */
static gboolean
select_backbone (MienTrainPage *self,
                 const char    *spec)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->backbones));
  gboolean family_only = spec != NULL && strchr (spec, ':') == NULL;

  for (guint i = 0; spec != NULL && i < n; i++)
    {
      g_autoptr(MienTrainBackboneItem) item =
        g_list_model_get_item (G_LIST_MODEL (self->backbones), i);

      if (family_only ? g_strcmp0 (item->family, spec) == 0 : g_strcmp0 (item->spec, spec) == 0)
        {
          adw_combo_row_set_selected (self->backbone_row, i);
          return TRUE;
        }
    }
  return FALSE;
}

static void
backbone_selected_cb (MienTrainPage *self)
{
  MienTrainBackboneItem *item = get_selected_backbone (self);

  if (item != NULL)
    {
      g_autofree char *text = NULL;

      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->backbone_row), item->subtitle);
      update_imagenet_row (self);
      /* Translators: %d is the backbone's own input size in pixels. */
      text = g_strdup_printf (_("Square images of this many pixels; 0 uses the backbone's own "
                                "(%d)"), item->input_size);
      adw_action_row_set_subtitle (self->input_size_row, text);
    }
  update_actions (self);
}

/* ---- Pretrained weights ------------------------------------------------------------------ */

static void
set_pretrained (MienTrainPage *self,
                const char    *path)
{
  g_free (self->pretrained);
  self->pretrained = g_strdup (path && *path ? path : NULL);
  if (self->pretrained != NULL)
    {
      g_autofree char *name = g_path_get_basename (self->pretrained);

      adw_action_row_set_subtitle (self->pretrained_row, name);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->pretrained_row), self->pretrained);
    }
  else
    {
      adw_action_row_set_subtitle (self->pretrained_row,
                                   _("None: the backbone starts from random weights"));
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->pretrained_row), NULL);
    }
  gtk_widget_set_visible (self->pretrained_clear_button, self->pretrained != NULL);
  update_imagenet_row (self);
}

static void
pretrained_chosen_cb (GFile    *file,
                      gpointer  user_data)
{
  g_autoptr(MienTrainPage) self = user_data;
  g_autofree char *path = NULL;

  if (file == NULL || self->studio == NULL)
    return;
  path = g_file_get_path (file);
  if (path == NULL)
    {
      g_autoptr(GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                                             _("The file is not on a local disk"));

      mien_studio_post_error (self->studio, _("Cannot use these weights"), error);
      return;
    }
  set_pretrained (self, path);
}

static void
pretrained_button_cb (MienTrainPage *self)
{
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  GtkFileFilter *filters[] = { filter, NULL };

  gtk_file_filter_set_name (filter, _("Weights (safetensors, PyTorch .pth)"));
  gtk_file_filter_add_pattern (filter, "*.safetensors");
  gtk_file_filter_add_pattern (filter, "*.pth");
  gtk_file_filter_add_pattern (filter, "*.pt");
  mien_ui_choose_file (GTK_WIDGET (self), _("Choose Pretrained Weights"),
                       GTK_FILE_CHOOSER_ACTION_OPEN, _("_Choose"), filters, NULL,
                       pretrained_chosen_cb, g_object_ref (self));
}

static void
pretrained_clear_cb (MienTrainPage *self)
{
  set_pretrained (self, NULL);
}

/* ---- The catalogue's ImageNet weights for the chosen variant --------------------------------- */

static void
update_imagenet_row (MienTrainPage *self)
{
  MienTrainBackboneItem *item = get_selected_backbone (self);
  g_autoptr(MienBackbone) backbone = NULL;
  g_autofree char *title = NULL, *size = NULL, *path = NULL, *subtitle = NULL;
  const MienWeightsInfo *weights = NULL;
  gboolean downloading = self->imagenet_cancellable != NULL;
  gint64 part_bytes = 0;
  guint n = 0;

  if (self->imagenet_row == NULL)
    return;
  if (!downloading)
    {
      self->imagenet = NULL;
      if (item != NULL)
        backbone = mien_plugin_engine_create_backbone (mien_plugin_engine_get_default (),
                                                       item->family, NULL, NULL);
      if (backbone != NULL)
        weights = mien_backbone_list_weights (backbone, item->variant, &n);
      for (guint i = 0; i < n; i++)
        if (weights[i].is_default && g_str_equal (weights[i].dataset, "imagenet"))
          self->imagenet = &weights[i];
    }
  gtk_widget_set_visible (GTK_WIDGET (self->imagenet_row), self->imagenet != NULL);
  if (self->imagenet == NULL)
    return;

  size = mien_weights_format_size (self->imagenet);
  path = mien_weights_get_path (self->imagenet);
  /* Translators: "ImageNet (torchvision), 44.7 MiB": where the weights come from, their size */
  title = g_strdup_printf (_("ImageNet (%s), %s"), self->imagenet->source, size);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->imagenet_row), title);
  gtk_widget_set_visible (GTK_WIDGET (self->imagenet_progress), downloading);
  gtk_widget_set_sensitive (self->imagenet_button, TRUE);
  switch (downloading ? MIEN_WEIGHTS_PARTIAL : mien_weights_get_state (self->imagenet,
                                                                       &part_bytes))
    {
    case MIEN_WEIGHTS_DOWNLOADED:
      gtk_button_set_label (GTK_BUTTON (self->imagenet_button), _("_Use"));
      gtk_widget_set_tooltip_text (self->imagenet_button, _("Start from these weights"));
      gtk_widget_set_sensitive (self->imagenet_button, g_strcmp0 (self->pretrained, path) != 0);
      subtitle = g_strdup_printf (_("%s, downloaded"), self->imagenet->name);
      break;
    case MIEN_WEIGHTS_PARTIAL:
      if (downloading)
        {
          gtk_button_set_label (GTK_BUTTON (self->imagenet_button), _("_Cancel"));
          gtk_widget_set_tooltip_text (self->imagenet_button,
                                       _("Stop; the next download continues from here"));
          subtitle = g_strdup_printf (_("%s, downloading…"), self->imagenet->name);
          break;
        }
      else
        {
          g_autofree char *got = g_format_size_full ((guint64) part_bytes,
                                                     G_FORMAT_SIZE_IEC_UNITS);

          gtk_button_set_label (GTK_BUTTON (self->imagenet_button), _("_Resume"));
          /* Translators: an interrupted download: the weights' name, how much is there */
          subtitle = g_strdup_printf (_("%s, %s downloaded"), self->imagenet->name, got);
        }
      gtk_widget_set_tooltip_text (self->imagenet_button,
                                   _("Continue the download where it stopped"));
      break;
    case MIEN_WEIGHTS_ABSENT:
    default:
      gtk_button_set_label (GTK_BUTTON (self->imagenet_button), _("_Download"));
      gtk_widget_set_tooltip_text (self->imagenet_button,
                                   _("Fetch these weights into Mien's weights folder; they are "
                                     "checked before they are used"));
      subtitle = g_strdup (self->imagenet->name);
      break;
    }
  if (self->imagenet->sha256 == NULL)
    {
      /* Translators: appended to the weights' state */
      g_autofree char *more = g_strdup_printf (_("%s; unverified: no SHA-256 is published"),
                                               subtitle);

      g_free (subtitle);
      subtitle = g_steal_pointer (&more);
    }
  adw_action_row_set_subtitle (self->imagenet_row, subtitle);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->imagenet_row), path);
}

typedef struct {
  MienTrainPage *self;
  double         fraction;
} ImagenetProgress;

static gboolean
imagenet_progress_idle (gpointer data)
{
  ImagenetProgress *p = data;

  /* Nothing to draw once the page is gone or the download over. */
  if (p->self->imagenet_progress != NULL && p->self->imagenet_cancellable != NULL)
    {
      if (p->fraction >= 0)
        gtk_progress_bar_set_fraction (p->self->imagenet_progress, p->fraction);
      else
        gtk_progress_bar_pulse (p->self->imagenet_progress);
    }
  g_object_unref (p->self);
  g_free (p);
  return G_SOURCE_REMOVE;
}

/* On the worker thread, at most once per percent: handed to the main loop. */
static void
imagenet_progress_cb (double      fraction,
                      const char *message,
                      gpointer    user_data)
{
  ImagenetProgress *p = g_new0 (ImagenetProgress, 1);

  p->self = g_object_ref (user_data);
  p->fraction = fraction;
  g_idle_add (imagenet_progress_idle, p);
}

static void
imagenet_download_thread (GTask        *task,
                          gpointer      source_object,
                          gpointer      task_data,
                          GCancellable *cancellable)
{
  g_autoptr(GError) error = NULL;

  if (mien_weights_download (task_data, imagenet_progress_cb, source_object, cancellable,
                             &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static void
imagenet_download_done (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  MienTrainPage *self = MIEN_TRAIN_PAGE (object);
  g_autoptr(GError) error = NULL;

  g_clear_object (&self->imagenet_cancellable);
  if (self->imagenet_row == NULL)
    return;  /* the page is gone */
  if (g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_autofree char *path = mien_weights_get_path (g_task_get_task_data (G_TASK (result)));

      set_pretrained (self, path);
    }
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && self->studio != NULL)
    mien_studio_post_error (self->studio, _("Cannot download the weights"), error);
  update_imagenet_row (self);
}

static void
imagenet_button_cb (MienTrainPage *self)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *path = NULL;

  if (self->imagenet == NULL)
    return;
  if (self->imagenet_cancellable != NULL)
    {
      g_cancellable_cancel (self->imagenet_cancellable);
      return;
    }
  if (mien_weights_get_state (self->imagenet, NULL) == MIEN_WEIGHTS_DOWNLOADED)
    {
      path = mien_weights_get_path (self->imagenet);
      set_pretrained (self, path);
      return;
    }
  self->imagenet_cancellable = g_cancellable_new ();
  gtk_progress_bar_set_fraction (self->imagenet_progress, 0);
  task = g_task_new (self, self->imagenet_cancellable, imagenet_download_done, NULL);
  g_task_set_source_tag (task, imagenet_button_cb);
  /* The plugin's static row: plugins stay resident. */
  g_task_set_task_data (task, (gpointer) self->imagenet, NULL);
  g_task_run_in_thread (task, imagenet_download_thread);
  update_imagenet_row (self);
}

/* Built here rather than in the template: it follows pretrained_row, which it fills. */
static void
add_imagenet_row (MienTrainPage *self)
{
  GtkWidget *list = gtk_widget_get_parent (GTK_WIDGET (self->pretrained_row));
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  self->imagenet_row = ADW_ACTION_ROW (adw_action_row_new ());
  self->imagenet_progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_widget_set_valign (GTK_WIDGET (self->imagenet_progress), GTK_ALIGN_CENTER);
  gtk_widget_set_size_request (GTK_WIDGET (self->imagenet_progress), 120, -1);
  self->imagenet_button = gtk_button_new_with_mnemonic (_("_Download"));
  gtk_widget_set_valign (self->imagenet_button, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->imagenet_progress));
  gtk_box_append (GTK_BOX (box), self->imagenet_button);
  adw_action_row_add_suffix (self->imagenet_row, box);
  gtk_list_box_insert (GTK_LIST_BOX (list), GTK_WIDGET (self->imagenet_row),
                       gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (self->pretrained_row)) + 1);
  g_signal_connect_object (self->imagenet_button, "clicked",
                           G_CALLBACK (imagenet_button_cb), self, G_CONNECT_SWAPPED);
}

/* ---- Label smoothing preview --------------------------------------------------------------- */

static void
refresh_smoothing (MienTrainPage *self)
{
  guint k = n_classes (self);
  double alpha = gtk_range_get_value (GTK_RANGE (self->smoothing_scale));
  guint target = gtk_drop_down_get_selected (self->target_dropdown);
  g_autofree double *values = NULL;
  g_autofree char *formula = NULL;
  g_autofree char *numbers = NULL;
  double other, top;

  if (k < 2)
    {
      gtk_stack_set_visible_child_name (self->smoothing_stack, "empty");
      return;
    }
  if (target >= k)
    target = 0;
  other = alpha / k;
  top = (1.0 - alpha) + alpha / k;
  values = g_new (double, k);
  for (guint i = 0; i < k; i++)
    values[i] = i == target ? top : other;
  if (mien_bar_chart_get_n_series (self->smoothing_chart) == 0)
    mien_bar_chart_add_series (self->smoothing_chart, _("Smoothed target"), values);
  else
    mien_bar_chart_set_series_values (self->smoothing_chart, 0, values);
  mien_bar_chart_set_highlight (self->smoothing_chart, (int) target);

  /* Translators: eq. (1) of the paper; %.2f is α, %u the number of classes K. */
  formula = g_strdup_printf (_("y<sub>ls</sub> = (1 − α)·y + α/K  with α = %.2f, K = %u"),
                             alpha, k);
  gtk_label_set_markup (self->formula_label, formula);
  /* Translators: the smoothed probability of the true class, then of each other class. */
  numbers = g_strdup_printf (_("True class %.3f, every other class %.3f"), top, other);
  gtk_label_set_text (self->smoothing_values_label, numbers);
  gtk_stack_set_visible_child_name (self->smoothing_stack, "preview");
}

/* ---- Class weights ----------------------------------------------------------------------- */

static void
custom_weight_changed_cb (GtkSpinButton *spin,
                          MienTrainPage *self)
{
  const char *name = g_object_get_data (G_OBJECT (spin), "mien-class");

  *custom_weight_slot (self, name) = gtk_spin_button_get_value (spin);
}

static const char *
imbalance_explanation (MienImbalance imbalance)
{
  switch (imbalance)
    {
    case MIEN_IMBALANCE_WEIGHTED:
      return _("Mistakes on rare classes cost more in the loss (weighted cross-entropy).");
    case MIEN_IMBALANCE_UPSAMPLE:
      return _("Rare classes are filled up to the largest with RandAugment copies, made once.");
    case MIEN_IMBALANCE_UPSAMPLE_WEIGHTED:
      return _("Upsampling, and class weights in the loss as well.");
    case MIEN_IMBALANCE_ONTHEFLY:
      return _("Every training image gets two random RandAugment operations each epoch; no "
               "copies are made.");
    case MIEN_IMBALANCE_NONE:
    default:
      return _("Every image once per epoch; rare classes stay rare.");
    }
}

static void
refresh_weights (MienTrainPage *self)
{
  MienImbalance imbalance = get_imbalance (self);
  WeightsChoice choice = adw_combo_row_get_selected (self->weights_row);
  gboolean used = imbalance_uses_weights (imbalance);
  guint k = n_classes (self);
  g_autofree double *values = g_new0 (double, MAX (k, 1));
  gboolean have_values = k > 0;
  GString *summary = g_string_new (NULL);

  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->imbalance_row),
                               imbalance_explanation (imbalance));
  gtk_widget_set_sensitive (GTK_WIDGET (self->weights_row), used);
  gtk_widget_set_sensitive (GTK_WIDGET (self->weights_expander), used && k > 0);

  for (guint i = 0; i < self->weight_rows->len; i++)
    adw_expander_row_remove (self->weights_expander, g_ptr_array_index (self->weight_rows, i));
  g_ptr_array_set_size (self->weight_rows, 0);

  if (!used)
    {
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->weights_row),
                                   _("Only the strategies with class weights use them"));
      adw_expander_row_set_subtitle (self->weights_expander, _("Every class counts the same"));
      g_string_free (summary, TRUE);
      return;
    }

  switch (choice)
    {
    case WEIGHTS_PAPER:
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->weights_row),
                                   _("What the paper's authors used for its six classes"));
      if (k > 0 && !map_paper_weights (self, values))
        {
          adw_expander_row_set_subtitle (self->weights_expander,
                                         _("Unavailable: the paper's weights are for the six "
                                           "classes anger, disgust, fear, happiness, sadness "
                                           "and surprise"));
          gtk_widget_set_sensitive (GTK_WIDGET (self->weights_expander), FALSE);
          g_string_free (summary, TRUE);
          return;
        }
      break;
    case WEIGHTS_NONE:
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->weights_row),
                                   _("Every class counts the same in the loss"));
      for (guint i = 0; i < k; i++)
        values[i] = 1.0;
      break;
    case WEIGHTS_CUSTOM:
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->weights_row),
                                   _("One weight per class, set below"));
      for (guint i = 0; i < k; i++)
        values[i] = *custom_weight_slot (self, self->classes[i]);
      break;
    case WEIGHTS_AUTO:
    default:
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->weights_row),
                                   _("Inverse frequency: the rarer a class, the more it "
                                     "weighs"));
      if (self->counts != NULL && k > 0)
        mien_class_weights_auto (self->counts, k, values);
      else
        have_values = FALSE;
      break;
    }

  if (k == 0)
    {
      adw_expander_row_set_subtitle (self->weights_expander, _("Open a dataset to see them"));
      g_string_free (summary, TRUE);
      return;
    }

  for (guint i = 0; i < k; i++)
    {
      g_autofree char *name = mien_ui_capitalise (self->classes[i]);
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
      if (self->counts != NULL)
        {
          /* Translators: the number of images of a class. */
          g_autofree char *count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u image",
                                                                 "%u images",
                                                                 self->counts[i]),
                                                    self->counts[i]);

          adw_action_row_set_subtitle (ADW_ACTION_ROW (row), count);
        }
      if (choice == WEIGHTS_CUSTOM)
        {
          GtkWidget *spin = gtk_spin_button_new_with_range (0.0, 1000.0, 0.1);

          gtk_spin_button_set_digits (GTK_SPIN_BUTTON (spin), 2);
          gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), values[i]);
          gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
          g_object_set_data_full (G_OBJECT (spin), "mien-class",
                                  g_strdup (self->classes[i]), g_free);
          g_signal_connect_object (spin, "value-changed",
                                   G_CALLBACK (custom_weight_changed_cb), self, 0);
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), spin);
          adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), spin);
        }
      else
        {
          g_autofree char *text = have_values ? g_strdup_printf ("%.3f", values[i])
                                              : g_strdup ("—");
          GtkWidget *label = gtk_label_new (text);

          gtk_widget_add_css_class (label, "numeric");
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);
        }
      adw_expander_row_add_row (self->weights_expander, row);
      g_ptr_array_add (self->weight_rows, row);

      if (have_values && i < 8)
        g_string_append_printf (summary, "%s%s %.2f", i > 0 ? ", " : "", self->classes[i],
                                values[i]);
    }
  if (k > 8)
    g_string_append (summary, ", …");
  adw_expander_row_set_subtitle (self->weights_expander,
                                 choice == WEIGHTS_CUSTOM ? _("Set each class's weight") :
                                 have_values ? summary->str : "");
  g_string_free (summary, TRUE);
}

/* ---- The dataset ------------------------------------------------------------------------- */

static void
refresh_classes (MienTrainPage *self)
{
  MienDataset *dataset = mien_studio_get_dataset (self->studio);
  MienDatasetStats *stats = mien_studio_get_stats (self->studio);
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  g_autoptr(GPtrArray) capitalised = g_ptr_array_new_with_free_func (g_free);
  guint k;

  g_clear_pointer (&self->classes, g_strfreev);
  g_clear_pointer (&self->counts, g_free);
  if (self->base_config->classes != NULL)
    self->classes = g_strdupv (self->base_config->classes);
  else if (dataset != NULL)
    self->classes = g_strdupv ((char **) mien_dataset_get_classes (dataset));

  k = n_classes (self);
  if (k > 0 && stats != NULL && stats->classes != NULL)
    {
      /* By name, since a configuration may name the classes in another order. */
      self->counts = g_new0 (guint, k);
      for (guint i = 0; i < k; i++)
        for (guint j = 0; j < stats->n_classes; j++)
          if (g_strcmp0 (self->classes[i], stats->classes[j]) == 0)
            self->counts[i] = stats->counts[j];
    }

  for (guint i = 0; i < k; i++)
    {
      char *name = mien_ui_capitalise (self->classes[i]);

      gtk_string_list_append (names, name);
      g_ptr_array_add (capitalised, name);
    }
  g_ptr_array_add (capitalised, NULL);
  /* The chart's classes first: a new model makes the dropdown notify "selected", whose
   * handler draws the smoothed label of the new classes into the chart. */
  mien_bar_chart_set_categories (self->smoothing_chart,
                                 (const char * const *) capitalised->pdata);
  gtk_drop_down_set_model (self->target_dropdown, G_LIST_MODEL (names));
  gtk_drop_down_set_selected (self->target_dropdown, 0);

  refresh_smoothing (self);
  refresh_weights (self);
  show_idle_status (self);
  update_actions (self);
}

static void
dataset_changed_cb (MienTrainPage *self)
{
  refresh_classes (self);
}

/* ---- Devices ----------------------------------------------------------------------------- */

/* The device row's "All GPUs (N)": data-parallel training with a rank per GPU on threads of
 * the studio (mien_trainer_set_local_devices ()). */
static const MienDevice ALL_GPUS = { MIEN_DEVICE_CUDA, -1 };

static void
load_devices (MienTrainPage *self)
{
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  g_autoptr(GPtrArray) devices = mien_device_list ();
  MienDevice preferred = mien_studio_get_device (self->studio);
  g_autofree char *threads = NULL;

  g_array_set_size (self->devices, 0);
  for (guint i = 0; i < devices->len; i++)
    {
      MienDeviceInfo *info = devices->pdata[i];

      gtk_string_list_append (names, info->label);
      g_array_append_val (self->devices, info->device);
    }
  if (mien_torch_cuda_device_count () >= 2)
    {
      g_autofree char *label = g_strdup_printf (_("All GPUs (%d)"),
                                                mien_torch_cuda_device_count ());

      gtk_string_list_append (names, label);
      g_array_append_val (self->devices, ALL_GPUS);
    }
  adw_combo_row_set_model (self->device_row, G_LIST_MODEL (names));
  for (guint i = 0; i < self->devices->len; i++)
    if (mien_device_equal (g_array_index (self->devices, MienDevice, i), preferred))
      adw_combo_row_set_selected (self->device_row, i);

  threads = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                          "The CPU works with %d thread (Preferences)",
                                          "The CPU works with %d threads (Preferences)",
                                          mien_studio_get_threads (self->studio)),
                             mien_studio_get_threads (self->studio));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->device_row), threads);
}

static gboolean
all_gpus_selected (MienTrainPage *self)
{
  guint i = adw_combo_row_get_selected (self->device_row);

  return i < self->devices->len &&
         mien_device_equal (g_array_index (self->devices, MienDevice, i), ALL_GPUS);
}

/* The run's device: with All GPUs, the first (rank 0's, what config.json records). */
static MienDevice
get_device (MienTrainPage *self)
{
  guint i = adw_combo_row_get_selected (self->device_row);
  MienDevice first_gpu = { MIEN_DEVICE_CUDA, 0 };

  if (all_gpus_selected (self))
    return first_gpu;
  if (i < self->devices->len)
    return g_array_index (self->devices, MienDevice, i);
  return mien_device_cpu ();
}

/* ---- Past runs --------------------------------------------------------------------------- */

static const char *
run_state_label (MienRun *run)
{
  switch (mien_run_get_state (run))
    {
    case MIEN_RUN_STATE_COMPLETE:
      return _("Complete");
    case MIEN_RUN_STATE_INCOMPLETE:
      return mien_run_can_resume (run) ? _("Stopped, resumable") : _("Stopped");
    case MIEN_RUN_STATE_EMPTY:
    default:
      return _("Not started");
    }
}

static GtkWidget *
create_run_row (gpointer item,
                gpointer user_data)
{
  MienTrainPage *self = user_data;
  MienRun *run = MIEN_RUN (item);
  g_autofree char *description = mien_run_describe (run);
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *state;
  gboolean active = self->running && g_strcmp0 (self->run_dir, mien_run_get_path (run)) == 0;

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), mien_run_get_name (run));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), description);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);
  gtk_widget_set_tooltip_text (row, mien_run_get_path (run));
  state = gtk_label_new (active ? _("Running") : run_state_label (run));
  gtk_widget_add_css_class (state, active ? "accent" : "dim-label");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), state);
  g_object_set_data_full (G_OBJECT (row), "mien-run", g_object_ref (run), g_object_unref);
  return row;
}

static gboolean
select_run_path (MienTrainPage *self,
                 const char    *path)
{
  for (int i = 0;; i++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (self->runs_list, i);
      MienRun *run;

      if (row == NULL)
        break;
      run = g_object_get_data (G_OBJECT (row), "mien-run");
      if (run != NULL && g_strcmp0 (mien_run_get_path (run), path) == 0)
        {
          gtk_list_box_select_row (self->runs_list, row);
          return TRUE;
        }
    }
  return FALSE;
}

static void
run_selected_cb (MienTrainPage *self,
                 GtkListBoxRow *row)
{
  MienRun *run = row != NULL ? g_object_get_data (G_OBJECT (row), "mien-run") : NULL;

  /* Rows go away (and the selection with them) whenever the runs folder is reread; the path
   * is kept so that the same run is selected again afterwards. */
  if (run != NULL)
    {
      g_free (self->selected_path);
      self->selected_path = g_strdup (mien_run_get_path (run));
      if (!self->running)
        charts_show_run (self, run, FALSE);
    }
  update_actions (self);
}

static void
runs_changed_cb (MienTrainPage *self)
{
  if (self->selected_path != NULL)
    select_run_path (self, self->selected_path);
  update_actions (self);
}

/* ---- Training: from the training thread to the page -------------------------------------- */

struct _RunLink
{
  GWeakRef           page;
  GMainContext      *context;
  GMutex             lock;
  MienTrainProgress  latest;    /* under lock */
  gboolean           pending;   /* under lock: an idle is queued and will read `latest` */
  gboolean           finished;  /* main thread only: late idles are ignored */
  GApplication      *app;       /* held until the run's thread has finished */
};

static void
run_link_clear (gpointer data)
{
  RunLink *link = data;

  g_weak_ref_clear (&link->page);
  g_clear_object (&link->app);
  g_main_context_unref (link->context);
  g_mutex_clear (&link->lock);
}

static RunLink *
run_link_new (MienTrainPage *self)
{
  RunLink *link = g_atomic_rc_box_new0 (RunLink);

  g_weak_ref_init (&link->page, self);
  link->context = g_main_context_ref_thread_default ();
  g_mutex_init (&link->lock);
  return link;
}

static void
run_link_release (gpointer data)
{
  g_atomic_rc_box_release_full (data, run_link_clear);
}

static MienTrainPage *
run_link_get_page (RunLink *link)
{
  if (link->finished)
    return NULL;
  return g_weak_ref_get (&link->page);
}

/* Once preparation is over (the trainer no longer changes these): the pretrained weights'
 * load report and how many images were left out. */
static void
show_preparation (MienTrainPage *self)
{
  const char *summary = mien_trainer_get_pretrained_summary (self->trainer);
  GPtrArray *unreadable = mien_trainer_get_unreadable (self->trainer);
  guint n_skipped = unreadable != NULL ? unreadable->len : 0;
  g_autoptr(GString) text = g_string_new (NULL);

  self->prepared = TRUE;
  if (summary != NULL)
    /* Translators: what loading the pretrained weights did, "102 tensors loaded; …". */
    g_string_append_printf (text, _("Pretrained weights: %s"), summary);
  if (n_skipped > 0)
    {
      if (text->len > 0)
        g_string_append_c (text, '\n');
      g_string_append_printf (text, g_dngettext (GETTEXT_PACKAGE,
                                                 "%u image could not be read and was skipped "
                                                 "(first: %s)",
                                                 "%u images could not be read and were skipped "
                                                 "(first: %s)", n_skipped),
                              n_skipped, (const char *) unreadable->pdata[0]);
    }
  gtk_label_set_text (self->prepared_label, text->str);
  gtk_widget_set_visible (GTK_WIDGET (self->prepared_label), text->len > 0);
}

static void
show_progress (MienTrainPage           *self,
               const MienTrainProgress *p)
{
  g_autofree char *text = NULL;

  if (p->phase != MIEN_TRAIN_PHASE_PREPARING && !self->prepared && self->trainer != NULL)
    show_preparation (self);
  if (self->cancelling)
    return;
  switch (p->phase)
    {
    case MIEN_TRAIN_PHASE_PREPARING:
      /* Translators: images decoded so far, of all of them. */
      text = g_strdup_printf (_("Preparing images… %u of %u"), p->step, p->n_steps);
      gtk_progress_bar_set_fraction (self->progress_bar,
                                     p->n_steps > 0 ? (double) p->step / p->n_steps : 0.0);
      break;
    case MIEN_TRAIN_PHASE_VALIDATING:
      /* Translators: the epoch, the number of epochs. */
      text = g_strdup_printf (_("Epoch %u of %u · validating…"), p->epoch, p->n_epochs);
      gtk_progress_bar_set_fraction (self->progress_bar, p->fraction);
      break;
    case MIEN_TRAIN_PHASE_TRAINING:
    default:
      /* Translators: epoch and epochs, step and steps in this epoch, the running mean of the
       * loss, and the training speed. */
      text = g_strdup_printf (_("Epoch %u of %u · step %u of %u · loss %.3f · %.0f images/s"),
                              p->epoch, p->n_epochs, p->step, p->n_steps, p->loss,
                              p->images_per_s);
      gtk_progress_bar_set_fraction (self->progress_bar, p->fraction);
      if (p->n_steps > 0 && isfinite (p->loss) && self->series_running != G_MAXUINT)
        {
          double x = (p->epoch - 1) + (double) p->step / p->n_steps;

          /* About a hundred points an epoch are plenty for a curve. */
          if (x - self->last_running_x >= 0.01)
            {
              mien_line_chart_append (self->loss_chart, self->series_running, x, p->loss);
              self->last_running_x = x;
              gtk_stack_set_visible_child_name (self->charts_stack, "charts");
            }
        }
      break;
    }
  gtk_label_set_text (self->phase_label, text);
  if (p->eta_s >= 0.0)
    {
      g_autofree char *duration = mien_ui_format_duration (p->eta_s);
      /* Translators: time left in the run, "1:05" or "12:05:00". */
      g_autofree char *eta = g_strdup_printf (_("%s left"), duration);

      gtk_label_set_text (self->eta_label, eta);
    }
  else
    gtk_label_set_text (self->eta_label, "");
}

static gboolean
progress_idle (gpointer data)
{
  RunLink *link = data;
  g_autoptr(MienTrainPage) self = NULL;
  MienTrainProgress p;

  g_mutex_lock (&link->lock);
  p = link->latest;
  link->pending = FALSE;
  g_mutex_unlock (&link->lock);

  self = run_link_get_page (link);
  if (self != NULL)
    show_progress (self, &p);
  return G_SOURCE_REMOVE;
}

static void
progress_cb (const MienTrainProgress *progress,
             gpointer                 user_data)
{
  RunLink *link = user_data;
  gboolean queue;

  g_mutex_lock (&link->lock);
  link->latest = *progress;
  queue = !link->pending;
  link->pending = TRUE;
  g_mutex_unlock (&link->lock);

  /* Below the redraw's priority: a fast GPU may report every millisecond, and the window has
   * to be drawn all the same. */
  if (queue)
    mien_main_context_post (link->context, G_PRIORITY_DEFAULT_IDLE, "[mien] training progress",
                            progress_idle, g_atomic_rc_box_acquire (link), run_link_release);
}

typedef struct {
  RunLink *link;
  char    *json;
} EpochMessage;

static void
epoch_message_free (gpointer data)
{
  EpochMessage *message = data;

  run_link_release (message->link);
  g_free (message->json);
  g_free (message);
}

static gboolean
epoch_idle (gpointer data)
{
  EpochMessage *message = data;
  g_autoptr(MienTrainPage) self = run_link_get_page (message->link);
  g_autoptr(JsonNode) node = NULL;
  JsonObject *record;

  if (self == NULL)
    return G_SOURCE_REMOVE;
  node = json_from_string (message->json, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return G_SOURCE_REMOVE;
  record = json_node_get_object (node);
  self->last_epoch = json_object_get_int_member_with_default (record, "epoch",
                                                              self->last_epoch + 1);
  self->images_per_s = json_object_get_double_member_with_default (record, "images_per_s",
                                                                   self->images_per_s);
  charts_add_record (self, record, self->last_epoch);
  return G_SOURCE_REMOVE;
}

static void
epoch_cb (JsonObject *record,
          gpointer    user_data)
{
  RunLink *link = user_data;
  EpochMessage *message = g_new0 (EpochMessage, 1);
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  /* A copy as text: the record belongs to the training thread and goes away after this
   * call, and JSON-GLib's objects are not meant to be shared between threads. */
  json_node_set_object (node, record);
  message->link = g_atomic_rc_box_acquire (link);
  message->json = mien_json_to_string (node, FALSE);
  /* The default priority, like the task's own completion, so that every epoch reaches the
   * charts before the run is reported finished. */
  mien_main_context_post (link->context, G_PRIORITY_DEFAULT, "[mien] training epoch", epoch_idle,
                          message, epoch_message_free);
}

/* ---- Training: start, finish ------------------------------------------------------------- */

static void
run_done (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  RunLink *link = user_data;
  MienTrainer *trainer = MIEN_TRAINER (source);
  g_autoptr(MienTrainPage) self = run_link_get_page (link);
  g_autoptr(GError) error = NULL;
  g_autofree char *run_dir = NULL;
  g_autofree char *message = NULL;
  gboolean ok;

  link->finished = TRUE;
  ok = mien_trainer_run_finish (trainer, result, &error);
  run_link_release (link);
  if (self == NULL || self->link != link)
    return;

  run_dir = g_strdup (mien_trainer_get_config (trainer)->out);
  g_clear_pointer (&self->link, run_link_release);
  g_clear_object (&self->trainer);
  g_clear_object (&self->run_cancellable);
  self->running = FALSE;
  self->cancelling = FALSE;
  gtk_label_set_text (self->eta_label, "");

  if (ok)
    {
      MienMetrics *best = mien_trainer_get_best_metrics (trainer);

      gtk_progress_bar_set_fraction (self->progress_bar, 1.0);
      gtk_label_set_text (self->status_label, _("Training Finished"));
      if (best != NULL)
        /* Translators: the best validation macro F1 of the run and the epoch of it. */
        message = g_strdup_printf (_("Training finished: best macro F1 %.3f at epoch %u"),
                                   best->macro_f1, mien_trainer_get_best_epoch (trainer));
      else
        message = g_strdup (_("Training finished"));
      gtk_label_set_text (self->phase_label, message);
      mien_studio_post_message (self->studio, message);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      gtk_label_set_text (self->status_label, _("Training Stopped"));
      if (self->last_epoch > 0)
        /* Translators: %u is the last finished epoch. */
        message = g_strdup_printf (_("Training stopped after epoch %u; select the run under "
                                     "Past Runs to resume it"), self->last_epoch);
      else
        message = g_strdup (_("Training stopped before the first epoch finished"));
      gtk_label_set_text (self->phase_label, message);
      mien_studio_post_message (self->studio, message);
    }
  else
    {
      gtk_label_set_text (self->status_label, _("Training Failed"));
      gtk_label_set_text (self->phase_label, error->message);
      gtk_widget_add_css_class (GTK_WIDGET (self->phase_label), "error");
      mien_studio_post_error (self->studio, _("Training failed"), error);
    }

  g_free (self->selected_path);
  self->selected_path = g_strdup (run_dir);
  mien_studio_reload_runs (self->studio);
  update_actions (self);
  g_signal_emit (self, signals[SIGNAL_RUN_FINISHED], 0, run_dir, ok ? NULL : error);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static void
run_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  RunLink *link = user_data;
  g_autoptr(GApplication) app = g_steal_pointer (&link->app);

  run_done (source, result, link);
  if (app != NULL)
    g_application_release (app);
}

static void
begin_run (MienTrainPage *self,
           MienTrainer   *trainer,
           MienRun       *resumed)
{
  const MienTrainConfig *config = mien_trainer_get_config (trainer);
  g_autofree char *title = NULL;

  if (all_gpus_selected (self))
    {
      int n = mien_torch_cuda_device_count ();
      g_autofree MienDevice *gpus = g_new (MienDevice, n);

      for (int i = 0; i < n; i++)
        gpus[i] = (MienDevice) { MIEN_DEVICE_CUDA, i };
      mien_trainer_set_local_devices (trainer, gpus, n);
    }
  self->trainer = g_object_ref (trainer);
  self->run_cancellable = g_cancellable_new ();
  self->link = run_link_new (self);
  /* Closing the window cancels the run, but its thread still finishes the batch (and may be
   * writing a checkpoint): the application must not exit under it. */
  if (g_application_get_default () != NULL)
    {
      self->link->app = g_object_ref (g_application_get_default ());
      g_application_hold (self->link->app);
    }
  g_free (self->run_dir);
  self->run_dir = g_strdup (config->out);
  self->running = TRUE;
  self->cancelling = FALSE;
  self->last_epoch = resumed != NULL ? mien_run_get_n_epochs (resumed) : 0;
  self->images_per_s = 0.0;
  self->prepared = FALSE;
  gtk_widget_set_visible (GTK_WIDGET (self->prepared_label), FALSE);

  mien_trainer_set_progress_func (trainer, progress_cb, g_atomic_rc_box_acquire (self->link),
                                  run_link_release);
  mien_trainer_set_epoch_func (trainer, epoch_cb, g_atomic_rc_box_acquire (self->link),
                               run_link_release);

  charts_show_run (self, resumed, TRUE);
  /* Translators: the backbone and the training mode of the run now in progress. */
  title = g_strdup_printf (resumed ? _("Resuming %s · %s") : _("Training %s · %s"),
                           config->backbone, mode_label (config->mode));
  gtk_label_set_text (self->status_label, title);
  gtk_label_set_text (self->phase_label, _("Starting…"));
  gtk_label_set_text (self->eta_label, "");
  gtk_widget_remove_css_class (GTK_WIDGET (self->phase_label), "error");
  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);

  mien_trainer_run_async (trainer, self->run_cancellable, run_done_cb,
                          g_atomic_rc_box_acquire (self->link));
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static void
report_start_error (MienTrainPage *self,
                    const char    *what,
                    const GError  *error)
{
  gtk_label_set_text (self->phase_label, error->message);
  gtk_widget_add_css_class (GTK_WIDGET (self->phase_label), "error");
  mien_studio_post_error (self->studio, what, error);
}

static void
start_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  MienTrainPage *self = MIEN_TRAIN_PAGE (widget);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTrainConfig) config = NULL;
  g_autoptr(MienTrainer) trainer = NULL;

  if (self->running)
    return;
  config = mien_train_page_build_config (self, &error);
  if (config == NULL)
    {
      report_start_error (self, _("Cannot start training"), error);
      return;
    }
  trainer = mien_trainer_new (mien_studio_get_engine (self->studio), config);
  begin_run (self, trainer, NULL);
}

static void
resume_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  MienTrainPage *self = MIEN_TRAIN_PAGE (widget);
  MienRun *run = get_selected_run (self);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienTrainer) trainer = NULL;
  MienDevice device = get_device (self);

  if (self->running || run == NULL)
    return;
  trainer = mien_trainer_new_resume (mien_studio_get_engine (self->studio),
                                     mien_run_get_path (run), 0, &device,
                                     mien_studio_get_threads (self->studio), &error);
  if (trainer == NULL)
    {
      report_start_error (self, _("Cannot resume the run"), error);
      return;
    }
  begin_run (self, trainer, run);
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  MienTrainPage *self = MIEN_TRAIN_PAGE (widget);

  if (!self->running || self->cancelling)
    return;
  self->cancelling = TRUE;
  g_cancellable_cancel (self->run_cancellable);
  gtk_label_set_text (self->phase_label, _("Cancelling…"));
  gtk_label_set_text (self->eta_label, "");
  update_actions (self);
}

/* ---- GObject ----------------------------------------------------------------------------- */

static void
mien_train_page_constructed (GObject *object)
{
  MienTrainPage *self = MIEN_TRAIN_PAGE (object);

  G_OBJECT_CLASS (mien_train_page_parent_class)->constructed (object);

  g_return_if_fail (self->studio != NULL);

  load_backbones (self);
  load_devices (self);
  gtk_list_box_bind_model (self->runs_list, mien_studio_get_runs (self->studio),
                           create_run_row, self, NULL);
  g_signal_connect_object (self->studio, "dataset-changed", G_CALLBACK (dataset_changed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->studio, "runs-changed", G_CALLBACK (runs_changed_cb),
                           self, G_CONNECT_SWAPPED);
  refresh_classes (self);
}

static void
mien_train_page_dispose (GObject *object)
{
  MienTrainPage *self = MIEN_TRAIN_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  if (self->imagenet_cancellable != NULL)
    g_cancellable_cancel (self->imagenet_cancellable);
  /* The download's last callbacks may come after this: they see the page is gone. */
  self->imagenet_row = NULL;
  self->imagenet_progress = NULL;
  if (self->run_cancellable != NULL)
    g_cancellable_cancel (self->run_cancellable);
  if (self->link != NULL)
    {
      /* The run finishes on its own within a batch; nothing of it reaches this page now. */
      self->link->finished = TRUE;
      g_clear_pointer (&self->link, run_link_release);
    }
  g_clear_object (&self->trainer);
  g_clear_object (&self->run_cancellable);
  if (self->runs_list != NULL)
    gtk_list_box_bind_model (self->runs_list, NULL, NULL, NULL, NULL);
  g_clear_object (&self->studio);
  G_OBJECT_CLASS (mien_train_page_parent_class)->dispose (object);
}

static void
mien_train_page_finalize (GObject *object)
{
  MienTrainPage *self = MIEN_TRAIN_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->backbones);
  g_clear_pointer (&self->base_config, mien_train_config_free);
  g_clear_pointer (&self->weight_rows, g_ptr_array_unref);
  g_clear_pointer (&self->custom_weights, g_hash_table_unref);
  g_clear_pointer (&self->devices, g_array_unref);
  g_clear_pointer (&self->classes, g_strfreev);
  g_free (self->counts);
  g_free (self->pretrained);
  g_free (self->selected_path);
  g_free (self->run_dir);
  G_OBJECT_CLASS (mien_train_page_parent_class)->finalize (object);
}

static void
mien_train_page_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  MienTrainPage *self = MIEN_TRAIN_PAGE (object);

  switch (prop_id)
    {
    case PROP_STUDIO:
      g_value_set_object (value, self->studio);
      break;
    case PROP_RUNNING:
      g_value_set_boolean (value, self->running);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_train_page_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  MienTrainPage *self = MIEN_TRAIN_PAGE (object);

  switch (prop_id)
    {
    case PROP_STUDIO:
      self->studio = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_train_page_class_init (MienTrainPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = mien_train_page_constructed;
  object_class->dispose = mien_train_page_dispose;
  object_class->finalize = mien_train_page_finalize;
  object_class->get_property = mien_train_page_get_property;
  object_class->set_property = mien_train_page_set_property;

  properties[PROP_STUDIO] =
    g_param_spec_object ("studio", NULL, NULL, MIEN_TYPE_STUDIO,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_RUN_FINISHED] =
    g_signal_new ("run-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);

  g_type_ensure (MIEN_TYPE_BAR_CHART);
  g_type_ensure (MIEN_TYPE_LINE_CHART);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/mienapp/Mien/ui/mien-train-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, backbone_row);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, pretrained_row);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, pretrained_button);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, pretrained_clear_button);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, normalisation_row);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, input_size_row);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, input_size_spin);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, mode_probe);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, mode_finetune);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, mode_dft);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, smoothing_scale);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, smoothing_stack);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, formula_label);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, target_dropdown);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, smoothing_chart);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, smoothing_values_label);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, imbalance_row);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, weights_row);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, weights_expander);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, lr_row);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, face_margin_row);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, epochs_spin);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, batch_spin);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, seed_spin);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, device_row);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, phase_label);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, prepared_label);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, eta_label);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, charts_stack);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, loss_chart);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, f1_chart);
  gtk_widget_class_bind_template_child (widget_class, MienTrainPage, runs_list);

  gtk_widget_class_install_action (widget_class, "train.start", NULL, start_action);
  gtk_widget_class_install_action (widget_class, "train.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "train.resume", NULL, resume_action);
}

/* The picker's popup shows each variant's details under its name. */
static const char backbone_list_item_ui[] =
  "<interface>"
  "<template class=\"GtkListItem\">"
  "<property name=\"child\">"
  "<object class=\"GtkBox\">"
  "<property name=\"orientation\">vertical</property>"
  "<property name=\"spacing\">2</property>"
  "<child><object class=\"GtkLabel\">"
  "<property name=\"xalign\">0</property>"
  "<binding name=\"label\"><lookup name=\"title\" type=\"MienTrainBackboneItem\">"
  "<lookup name=\"item\">GtkListItem</lookup></lookup></binding>"
  "</object></child>"
  "<child><object class=\"GtkLabel\">"
  "<property name=\"xalign\">0</property>"
  "<property name=\"wrap\">True</property>"
  "<property name=\"max-width-chars\">40</property>"
  "<style><class name=\"caption\"/><class name=\"dim-label\"/></style>"
  "<binding name=\"label\"><lookup name=\"subtitle\" type=\"MienTrainBackboneItem\">"
  "<lookup name=\"item\">GtkListItem</lookup></lookup></binding>"
  "</object></child>"
  "</object>"
  "</property>"
  "</template>"
  "</interface>";

static void
mien_train_page_init (MienTrainPage *self)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GtkListItemFactory) factory = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));
  add_augment_rows (self);

  self->cancellable = g_cancellable_new ();
  self->base_config = mien_train_config_new ();
  self->backbones = g_list_store_new (MIEN_TYPE_TRAIN_BACKBONE_ITEM);
  self->weight_rows = g_ptr_array_new ();
  self->custom_weights = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->devices = g_array_new (FALSE, FALSE, sizeof (MienDevice));
  self->series_running = self->series_train = self->series_val = G_MAXUINT;
  self->series_macro = G_MAXUINT;

  adw_combo_row_set_expression (self->backbone_row,
                                gtk_property_expression_new (MIEN_TYPE_TRAIN_BACKBONE_ITEM,
                                                             NULL, "title"));
  bytes = g_bytes_new_static (backbone_list_item_ui, sizeof backbone_list_item_ui - 1);
  factory = gtk_builder_list_item_factory_new_from_bytes (NULL, bytes);
  adw_combo_row_set_list_factory (self->backbone_row, factory);
  adw_combo_row_set_model (self->backbone_row, G_LIST_MODEL (self->backbones));
  g_signal_connect_object (self->backbone_row, "notify::selected",
                           G_CALLBACK (backbone_selected_cb), self, G_CONNECT_SWAPPED);

  g_signal_connect_object (self->pretrained_button, "clicked",
                           G_CALLBACK (pretrained_button_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->pretrained_clear_button, "clicked",
                           G_CALLBACK (pretrained_clear_cb), self, G_CONNECT_SWAPPED);
  set_pretrained (self, NULL);
  add_imagenet_row (self);

  mien_chart_set_title (MIEN_CHART (self->smoothing_chart), _("Smoothed one-hot label"));
  mien_bar_chart_set_max (self->smoothing_chart, 1.0);
  mien_bar_chart_set_value_format (self->smoothing_chart, "%.3f");
  g_signal_connect_object (self->smoothing_scale, "value-changed",
                           G_CALLBACK (refresh_smoothing), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->target_dropdown, "notify::selected",
                           G_CALLBACK (refresh_smoothing), self, G_CONNECT_SWAPPED);

  g_signal_connect_object (self->imbalance_row, "notify::selected",
                           G_CALLBACK (refresh_weights), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->weights_row, "notify::selected",
                           G_CALLBACK (refresh_weights), self, G_CONNECT_SWAPPED);

  mien_chart_set_title (MIEN_CHART (self->loss_chart), _("Loss"));
  mien_line_chart_set_axis_labels (self->loss_chart, _("Epoch"), _("Loss"));
  mien_chart_set_title (MIEN_CHART (self->f1_chart), _("Validation F1 per class"));
  mien_line_chart_set_axis_labels (self->f1_chart, _("Epoch"), _("F1"));
  mien_line_chart_set_y_range (self->f1_chart, 0.0, 1.0);

  g_signal_connect_object (self->lr_row, "changed",
                           G_CALLBACK (lr_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->runs_list, "row-selected",
                           G_CALLBACK (run_selected_cb), self, G_CONNECT_SWAPPED);

  mien_train_page_set_config (self, self->base_config);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.start", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.cancel", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.resume", FALSE);
}

/* ---- Public API -------------------------------------------------------------------------- */

GtkWidget *
mien_train_page_new (MienStudio *studio)
{
  g_return_val_if_fail (MIEN_IS_STUDIO (studio), NULL);

  return g_object_new (MIEN_TYPE_TRAIN_PAGE, "studio", studio, NULL);
}

void
mien_train_page_set_config (MienTrainPage         *self,
                            const MienTrainConfig *config)
{
  g_autofree char *lr = NULL;
  g_autofree char *margin = NULL;
  WeightsChoice choice = WEIGHTS_AUTO;
  MienImbalance imbalance;

  g_return_if_fail (MIEN_IS_TRAIN_PAGE (self));
  g_return_if_fail (config != NULL);

  if (config != self->base_config)
    {
      MienTrainConfig *copy = mien_train_config_copy (config);

      g_clear_pointer (&copy->data, g_free);
      g_clear_pointer (&copy->out, g_free);
      g_clear_pointer (&self->base_config, mien_train_config_free);
      self->base_config = copy;
      if (self->studio != NULL)
        refresh_classes (self);
    }
  config = self->base_config;

  if (!select_backbone (self, config->backbone) && self->studio != NULL)
    {
      /* Translators: %s is a backbone as "family:variant". */
      g_autofree char *message = g_strdup_printf (_("The backbone “%s” is not installed"),
                                                  config->backbone);

      mien_studio_post_message (self->studio, message);
    }
  set_pretrained (self, config->pretrained);
  adw_combo_row_set_selected (self->normalisation_row, config->normalisation);
  gtk_spin_button_set_value (self->input_size_spin, config->input_size);
  gtk_check_button_set_active (config->mode == MIEN_MODE_PROBE ? self->mode_probe :
                               config->mode == MIEN_MODE_DFT ? self->mode_dft :
                               self->mode_finetune, TRUE);
  gtk_range_set_value (GTK_RANGE (self->smoothing_scale), config->smoothing);
  gtk_spin_button_set_value (self->epochs_spin, config->epochs);
  gtk_spin_button_set_value (self->batch_spin, config->batch_size);
  gtk_spin_button_set_value (self->seed_spin, (double) config->seed);
  lr = format_number (config->lr);
  gtk_editable_set_text (GTK_EDITABLE (self->lr_row), lr);
  margin = isnan (config->face_margin) ? g_strdup ("") : format_number (config->face_margin);
  gtk_editable_set_text (GTK_EDITABLE (self->face_margin_row), margin);

  /* The form keeps "which weights" apart from "whether the strategy uses weights"; explicit
   * weights with a strategy that has none become that strategy's weighted sibling. */
  imbalance = config->imbalance;
  switch (config->class_weights)
    {
    case MIEN_CLASS_WEIGHTS_NONE:
      choice = WEIGHTS_NONE;
      break;
    case MIEN_CLASS_WEIGHTS_CUSTOM:
      {
        guint k = n_classes (self);
        g_autofree double *paper = g_new0 (double, MAX (k, 1));

        choice = WEIGHTS_CUSTOM;
        if (k > 0 && k == config->n_weights && map_paper_weights (self, paper) &&
            memcmp (paper, config->weights, k * sizeof (double)) == 0)
          choice = WEIGHTS_PAPER;
        for (guint i = 0; i < MIN (k, config->n_weights); i++)
          *custom_weight_slot (self, self->classes[i]) = config->weights[i];
      }
      break;
    case MIEN_CLASS_WEIGHTS_AUTO:
    case MIEN_CLASS_WEIGHTS_DEFAULT:
    default:
      choice = WEIGHTS_AUTO;
      break;
    }
  if (config->class_weights != MIEN_CLASS_WEIGHTS_DEFAULT &&
      config->class_weights != MIEN_CLASS_WEIGHTS_NONE)
    {
      if (imbalance == MIEN_IMBALANCE_NONE)
        imbalance = MIEN_IMBALANCE_WEIGHTED;
      else if (imbalance == MIEN_IMBALANCE_UPSAMPLE)
        imbalance = MIEN_IMBALANCE_UPSAMPLE_WEIGHTED;
    }
  for (guint i = 0; i < G_N_ELEMENTS (imbalance_order); i++)
    if (imbalance_order[i] == imbalance)
      adw_combo_row_set_selected (self->imbalance_row, i);
  adw_combo_row_set_selected (self->weights_row, choice);
  refresh_weights (self);
  gtk_switch_set_active (self->flip_switch, config->geometry.flip);
  for (guint i = 0; i < G_N_ELEMENTS (crop_order); i++)
    if (crop_order[i] == config->geometry.crop)
      adw_combo_row_set_selected (self->crop_row, i);

  if (self->studio != NULL)
    {
      for (guint i = 0; i < self->devices->len; i++)
        if (mien_device_equal (g_array_index (self->devices, MienDevice, i), config->device))
          adw_combo_row_set_selected (self->device_row, i);
      update_actions (self);
    }
}

/* <runs dir>/<backbone>-<mode>-YYYYmmdd-HHMMSS, with a number after it when that exists. */
static char *
new_run_dir (MienTrainPage *self,
             const char    *backbone,
             MienMode       mode)
{
  g_autofree char *runs_dir = mien_studio_dup_runs_dir (self->studio);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autofree char *safe = g_strdelimit (g_strdup (backbone), ":/\\ ", '-');
  g_autofree char *base = g_strdup_printf ("%s-%s-%s", safe, mien_mode_to_string (mode), stamp);
  char *path = g_build_filename (runs_dir, base, NULL);

  for (guint i = 2; g_file_test (path, G_FILE_TEST_EXISTS); i++)
    {
      g_autofree char *name = g_strdup_printf ("%s-%u", base, i);

      g_free (path);
      path = g_build_filename (runs_dir, name, NULL);
    }
  return path;
}

MienTrainConfig *
mien_train_page_build_config (MienTrainPage  *self,
                              GError        **error)
{
  g_autoptr(MienTrainConfig) config = NULL;
  MienTrainBackboneItem *item;
  const char *data;
  guint k = n_classes (self);
  int input_size;

  g_return_val_if_fail (MIEN_IS_TRAIN_PAGE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = mien_studio_get_dataset_path (self->studio);
  if (data == NULL || mien_studio_get_dataset (self->studio) == NULL)
    {
      g_set_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG,
                   _("No dataset is open: open one on the Dataset page first"));
      return NULL;
    }
  item = get_selected_backbone (self);
  if (item == NULL)
    {
      g_set_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG,
                   _("No backbone is chosen (are the backbone plugins installed?)"));
      return NULL;
    }

  config = mien_train_config_copy (self->base_config);
  config->data = g_strdup (data);
  /* The split the Dataset page shows (fer2013.csv's train split, unless another is chosen). */
  g_free (config->split);
  config->split = g_strdup (mien_studio_get_dataset_split (self->studio));
  g_free (config->backbone);
  config->backbone = g_strdup (item->spec);

  input_size = gtk_spin_button_get_value_as_int (self->input_size_spin);
  if (input_size > 0 && (input_size < item->min_input_size ||
                         input_size % item->size_multiple != 0))
    {
      if (item->size_multiple > 1)
        g_set_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG,
                     _("%s needs an input size of at least %d pixels that is a multiple of %d, "
                       "not %d"), item->title, item->min_input_size, item->size_multiple,
                     input_size);
      else
        g_set_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG,
                     _("%s needs an input size of at least %d pixels, not %d"),
                     item->title, item->min_input_size, input_size);
      return NULL;
    }
  config->input_size = input_size;
  config->mode = get_mode (self);
  g_free (config->pretrained);
  config->pretrained = g_strdup (self->pretrained);
  config->normalisation = (MienNormalisation) adw_combo_row_get_selected (self->normalisation_row);
  config->epochs = gtk_spin_button_get_value_as_int (self->epochs_spin);
  config->batch_size = gtk_spin_button_get_value_as_int (self->batch_spin);
  if (!parse_lr (self, &config->lr))
    {
      g_set_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG,
                   _("The learning rate “%s” is not a positive number below 10 (write e.g. "
                     "0.001 or 1e-6)"), gtk_editable_get_text (GTK_EDITABLE (self->lr_row)));
      return NULL;
    }
  if (config->warmup_epochs > config->epochs)
    config->warmup_epochs = config->epochs;
  if (!parse_face_margin (self, &config->face_margin))
    {
      g_set_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG,
                   _("The face margin “%s” is not a number from 0 to %g (leave it empty for "
                     "whole images or the dataset’s own framing)"),
                   gtk_editable_get_text (GTK_EDITABLE (self->face_margin_row)),
                   MIEN_FACE_MARGIN_MAX);
      return NULL;
    }
  config->seed = (guint64) gtk_spin_button_get_value (self->seed_spin);
  config->smoothing = round (gtk_range_get_value (GTK_RANGE (self->smoothing_scale)) * 100.0) /
                      100.0;

  config->geometry.flip = gtk_switch_get_active (self->flip_switch);
  {
    guint i = adw_combo_row_get_selected (self->crop_row);
    MienCropKind crop = i < G_N_ELEMENTS (crop_order) ? crop_order[i] : MIEN_CROP_NONE;
    const MienGeometryAugment defaults = MIEN_GEOMETRY_AUGMENT_NONE;

    /* A run's own pad:P or resized:SMIN stays while its kind is chosen. */
    if (crop != config->geometry.crop)
      {
        config->geometry.padding = defaults.padding;
        config->geometry.scale_min = defaults.scale_min;
      }
    config->geometry.crop = crop;
  }

  config->imbalance = get_imbalance (self);
  g_clear_pointer (&config->weights, g_free);
  config->n_weights = 0;
  config->class_weights = MIEN_CLASS_WEIGHTS_DEFAULT;
  if (imbalance_uses_weights (config->imbalance))
    {
      switch ((WeightsChoice) adw_combo_row_get_selected (self->weights_row))
        {
        case WEIGHTS_PAPER:
          config->weights = g_new0 (double, MAX (k, 1));
          if (k == 0 || !map_paper_weights (self, config->weights))
            {
              g_set_error (error, MIEN_TRAINER_ERROR, MIEN_TRAINER_ERROR_CONFIG,
                           _("The paper's class weights are for the classes anger, disgust, "
                             "fear, happiness, sadness and surprise; this dataset has other "
                             "classes. Choose automatic or custom weights."));
              return NULL;
            }
          config->n_weights = k;
          config->class_weights = MIEN_CLASS_WEIGHTS_CUSTOM;
          break;
        case WEIGHTS_CUSTOM:
          config->weights = g_new0 (double, MAX (k, 1));
          for (guint i = 0; i < k; i++)
            config->weights[i] = *custom_weight_slot (self, self->classes[i]);
          config->n_weights = k;
          config->class_weights = MIEN_CLASS_WEIGHTS_CUSTOM;
          break;
        case WEIGHTS_NONE:
          config->class_weights = MIEN_CLASS_WEIGHTS_NONE;
          break;
        case WEIGHTS_AUTO:
        default:
          config->class_weights = MIEN_CLASS_WEIGHTS_AUTO;
          break;
        }
    }

  config->device = get_device (self);
  if (config->device.type != MIEN_DEVICE_CUDA)
    config->amp = FALSE;
  config->threads = mien_studio_get_threads (self->studio);
  config->workers = 0;
  g_free (config->out);
  config->out = new_run_dir (self, config->backbone, config->mode);

  if (!mien_train_config_validate (config, error))
    return NULL;
  return g_steal_pointer (&config);
}

gboolean
mien_train_page_get_running (MienTrainPage *self)
{
  g_return_val_if_fail (MIEN_IS_TRAIN_PAGE (self), FALSE);
  return self->running;
}

double
mien_train_page_get_images_per_s (MienTrainPage *self)
{
  g_return_val_if_fail (MIEN_IS_TRAIN_PAGE (self), 0.0);
  return self->images_per_s;
}

gboolean
mien_train_page_select_run (MienTrainPage *self,
                            const char    *path)
{
  g_return_val_if_fail (MIEN_IS_TRAIN_PAGE (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  g_free (self->selected_path);
  self->selected_path = g_strdup (path);
  return select_run_path (self, path);
}
