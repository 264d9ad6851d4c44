/* mien-dataset-page.c — the Dataset page: what is in the open dataset, how imbalanced it is,
 * and what the paper's two balancing methods would make of it. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mien-dataset-page.h"
#include "mien-ui-util.h"

/* Thumbnails per class, and their size in pixels. */
#define N_EXAMPLES     8
#define EXAMPLE_SIZE   64
/* Unreadable files listed one by one; the rest are counted. */
#define MAX_UNREADABLE 200

struct _MienDatasetPage
{
  AdwBin          parent_instance;

  MienStudio     *studio;
  GCancellable   *examples_cancellable;
  /* One GtkFlowBox per class of the dataset shown, for the thumbnails as they arrive. */
  GPtrArray      *example_boxes;
  /* The rows added to unreadable_row, to remove them on the next dataset. */
  GPtrArray      *unreadable_rows;
  guint           pulse_id;

  GtkStack       *stack;
  AdwStatusPage  *loading_status;
  GtkProgressBar *loading_bar;
  GtkRevealer    *reload_revealer;
  GtkLabel       *reload_label;
  GtkProgressBar *reload_bar;
  GtkLabel       *name_label;
  GtkLabel       *path_label;
  GtkDropDown    *split_dropdown;
  GtkLabel       *images_value;
  GtkLabel       *classes_value;
  GtkLabel       *ratio_value;
  MienBarChart   *count_chart;
  GtkLabel       *imbalance_label;
  MienBarChart   *balance_chart;
  GtkListBox     *examples_list;
  GtkLabel       *mean_label;
  GtkLabel       *std_label;
  AdwActionRow   *sizes_row;
  GtkLabel       *sizes_label;
  GtkLabel       *grey_label;
  AdwActionRow   *readable_row;
  AdwExpanderRow *unreadable_row;
};

G_DEFINE_FINAL_TYPE (MienDatasetPage, mien_dataset_page, ADW_TYPE_BIN)

/* ---- Thumbnails, decoded in a thread ------------------------------------------------------- */

typedef struct {
  MienDataset *dataset;
  GPtrArray   *picks;   /* per class: a GArray of sample indices (guint) */
} ExamplesData;

static void
examples_data_free (ExamplesData *data)
{
  g_object_unref (data->dataset);
  g_ptr_array_unref (data->picks);
  g_free (data);
}

/* One class's thumbnails, handed from the thread to the main loop. */
typedef struct {
  MienDatasetPage *page;          /* owned */
  GCancellable    *cancellable;   /* owned: the load they belong to */
  guint            label;
  GPtrArray       *pixbufs;       /* of GdkPixbuf */
  GPtrArray       *names;         /* file names, for tooltips and screen readers */
} ExamplesBatch;

static void
examples_batch_free (gpointer data)
{
  ExamplesBatch *batch = data;

  g_object_unref (batch->page);
  g_object_unref (batch->cancellable);
  g_ptr_array_unref (batch->pixbufs);
  g_ptr_array_unref (batch->names);
  g_free (batch);
}

static gboolean
deliver_examples (gpointer data)
{
  ExamplesBatch *batch = data;
  MienDatasetPage *self = batch->page;
  GtkFlowBox *box;

  /* A newer dataset (or the page's end) cancelled this load: its boxes are gone. */
  if (g_cancellable_is_cancelled (batch->cancellable) || batch->label >= self->example_boxes->len)
    return G_SOURCE_REMOVE;

  box = g_ptr_array_index (self->example_boxes, batch->label);
  for (guint i = 0; i < batch->pixbufs->len; i++)
    {
      GdkPixbuf *pixbuf = g_ptr_array_index (batch->pixbufs, i);
      g_autoptr(GdkTexture) texture = gdk_texture_new_for_pixbuf (pixbuf);
      GtkWidget *picture = gtk_picture_new_for_paintable (GDK_PAINTABLE (texture));
      const char *name = g_ptr_array_index (batch->names, i);

      gtk_picture_set_can_shrink (GTK_PICTURE (picture), FALSE);
      gtk_picture_set_alternative_text (GTK_PICTURE (picture), name);
      gtk_widget_set_tooltip_text (picture, name);
      gtk_widget_set_size_request (picture, EXAMPLE_SIZE, EXAMPLE_SIZE);
      gtk_flow_box_insert (box, picture, -1);
      /* Pictures to look at, not stops for the keyboard. */
      gtk_widget_set_focusable (gtk_widget_get_parent (picture), FALSE);
    }
  return G_SOURCE_REMOVE;
}

static void
examples_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  ExamplesData *data = task_data;

  for (guint label = 0; label < data->picks->len; label++)
    {
      GArray *picks = g_ptr_array_index (data->picks, label);
      ExamplesBatch *batch;

      if (g_cancellable_is_cancelled (cancellable))
        break;

      batch = g_new0 (ExamplesBatch, 1);
      batch->page = g_object_ref (source_object);
      batch->cancellable = g_object_ref (cancellable);
      batch->label = label;
      batch->pixbufs = g_ptr_array_new_with_free_func (g_object_unref);
      batch->names = g_ptr_array_new_with_free_func (g_free);

      for (guint i = 0; i < picks->len && !g_cancellable_is_cancelled (cancellable); i++)
        {
          guint index = g_array_index (picks, guint, i);
          const char *path = mien_dataset_get_path (data->dataset, index);
          /* Unreadable files are listed further down the page; here they are just left out.
           * Through the dataset: a sample may be a face box or pixels held by a CSV file. */
          GdkPixbuf *pixbuf = mien_dataset_load_thumbnail (data->dataset, index, EXAMPLE_SIZE,
                                                           NULL);

          if (pixbuf == NULL)
            continue;
          g_ptr_array_add (batch->pixbufs, pixbuf);
          g_ptr_array_add (batch->names, g_path_get_basename (path));
        }

      /* Class by class, so that the first rows fill while the rest decode. */
      mien_main_context_post (NULL, G_PRIORITY_DEFAULT_IDLE, "[mien] dataset examples",
                              deliver_examples, batch, examples_batch_free);
    }
  g_task_return_boolean (task, TRUE);
}

/* Up to N_EXAMPLES images of every class, spread over the class (the first few are often
 * near-duplicates from one session): per class, a GArray of sample indices. */
static GPtrArray *
pick_examples (MienDataset *dataset)
{
  guint n_classes = mien_dataset_get_n_classes (dataset);
  guint n = mien_dataset_get_n_samples (dataset);
  g_autofree guint *counts = g_new0 (guint, n_classes);
  g_autofree guint *seen = g_new0 (guint, n_classes);
  GPtrArray *picks = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);

  mien_dataset_count (dataset, counts);
  for (guint c = 0; c < n_classes; c++)
    g_ptr_array_add (picks, g_array_new (FALSE, FALSE, sizeof (guint)));

  for (guint i = 0; i < n; i++)
    {
      guint label = mien_dataset_get_label (dataset, i);
      GArray *class_picks = g_ptr_array_index (picks, label);
      guint k = seen[label]++;
      guint want = class_picks->len;

      /* The want-th pick is the image at want × count / N_EXAMPLES within its class. */
      if (want < N_EXAMPLES && (guint64) k * N_EXAMPLES >= (guint64) want * counts[label])
        g_array_append_val (class_picks, i);
    }
  return picks;
}

static void
load_examples (MienDatasetPage  *self,
               MienDataset      *dataset,
               MienDatasetStats *stats)
{
  g_autoptr(GTask) task = NULL;
  ExamplesData *data;
  GtkWidget *child;

  g_cancellable_cancel (self->examples_cancellable);
  g_clear_object (&self->examples_cancellable);
  g_ptr_array_set_size (self->example_boxes, 0);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->examples_list))) != NULL)
    gtk_list_box_remove (self->examples_list, child);

  if (dataset == NULL)
    return;

  for (guint c = 0; c < mien_dataset_get_n_classes (dataset); c++)
    {
      const char *name = mien_dataset_get_classes (dataset)[c];
      guint count = c < stats->n_classes ? stats->counts[c] : 0;
      g_autofree char *count_text = g_strdup_printf (ngettext ("%u image", "%u images", count),
                                                     count);
      GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
      GtkWidget *titles = gtk_box_new (GTK_ORIENTATION_VERTICAL, 3);
      GtkWidget *title = gtk_label_new (name);
      GtkWidget *subtitle = gtk_label_new (count_text);
      GtkWidget *box = gtk_flow_box_new ();

      gtk_widget_set_margin_start (row, 12);
      gtk_widget_set_margin_end (row, 12);
      gtk_widget_set_margin_top (row, 9);
      gtk_widget_set_margin_bottom (row, 9);

      gtk_widget_set_size_request (titles, 120, -1);
      gtk_widget_set_valign (titles, GTK_ALIGN_CENTER);
      gtk_label_set_xalign (GTK_LABEL (title), 0);
      gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_END);
      gtk_widget_add_css_class (title, "heading");
      gtk_label_set_xalign (GTK_LABEL (subtitle), 0);
      gtk_widget_add_css_class (subtitle, "dim-label");
      gtk_widget_add_css_class (subtitle, "caption");
      gtk_box_append (GTK_BOX (titles), title);
      gtk_box_append (GTK_BOX (titles), subtitle);

      gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (box), GTK_SELECTION_NONE);
      gtk_flow_box_set_max_children_per_line (GTK_FLOW_BOX (box), N_EXAMPLES);
      gtk_flow_box_set_min_children_per_line (GTK_FLOW_BOX (box), 1);
      gtk_flow_box_set_column_spacing (GTK_FLOW_BOX (box), 6);
      gtk_flow_box_set_row_spacing (GTK_FLOW_BOX (box), 6);
      gtk_widget_set_hexpand (box, TRUE);
      gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
      gtk_widget_set_focusable (box, FALSE);
      gtk_accessible_update_property (GTK_ACCESSIBLE (box), GTK_ACCESSIBLE_PROPERTY_LABEL, name,
                                      -1);

      gtk_box_append (GTK_BOX (row), titles);
      gtk_box_append (GTK_BOX (row), box);
      gtk_list_box_append (self->examples_list, row);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (gtk_widget_get_parent (row)), FALSE);
      g_ptr_array_add (self->example_boxes, box);
    }

  self->examples_cancellable = g_cancellable_new ();
  data = g_new0 (ExamplesData, 1);
  data->dataset = g_object_ref (dataset);
  data->picks = pick_examples (dataset);
  task = g_task_new (self, self->examples_cancellable, NULL, NULL);
  g_task_set_source_tag (task, load_examples);
  g_task_set_task_data (task, data, (GDestroyNotify) examples_data_free);
  g_task_run_in_thread (task, examples_thread);
}

/* ---- Filling the page ---------------------------------------------------------------------- */

static void
update_balance_chart (MienDatasetPage  *self,
                      MienDataset      *dataset,
                      MienDatasetStats *stats)
{
  guint n = stats->n_classes;
  g_autofree double *as_is = g_new0 (double, n);
  g_autofree double *upsampled = g_new0 (double, n);
  g_autofree double *weighted = g_new0 (double, n);
  g_autofree double *weights = g_new0 (double, n);
  g_autoptr(GArray) plan = NULL;

  for (guint c = 0; c < n; c++)
    as_is[c] = stats->counts[c];

  /* What the trainer would draw: the upsampling plan's slots, counted per class. */
  plan = mien_dataset_upsample_plan (dataset, 0);
  for (guint i = 0; i < plan->len; i++)
    {
      guint label = mien_dataset_get_label (dataset, g_array_index (plan, MienSlot, i).index);

      if (label < n)
        upsampled[label] += 1;
    }

  /* A class's share of the loss under class weights: its images × their weight. */
  mien_class_weights_auto (stats->counts, n, weights);
  for (guint c = 0; c < n; c++)
    weighted[c] = stats->counts[c] * weights[c];

  mien_bar_chart_set_categories (self->balance_chart, (const char * const *) stats->classes);
  mien_bar_chart_add_series (self->balance_chart, _("As is"), as_is);
  mien_bar_chart_add_series (self->balance_chart, _("Upsampled"), upsampled);
  mien_bar_chart_add_series (self->balance_chart, _("Class weights"), weighted);
  mien_bar_chart_set_value_format (self->balance_chart, "%.0f");
}

static char *
format_triple (const double values[3])
{
  /* Translators: red, green and blue values of a per-channel statistic */
  return g_strdup_printf (_("%.3f, %.3f, %.3f"), values[0], values[1], values[2]);
}

static void
clear_unreadable (MienDatasetPage *self)
{
  for (guint i = 0; i < self->unreadable_rows->len; i++)
    adw_expander_row_remove (self->unreadable_row, g_ptr_array_index (self->unreadable_rows, i));
  g_ptr_array_set_size (self->unreadable_rows, 0);
}

static void
add_unreadable_row (MienDatasetPage *self,
                    const char      *text)
{
  GtkWidget *row = adw_action_row_new ();

  /* File names are not markup. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), text);
  adw_preferences_row_set_title_selectable (ADW_PREFERENCES_ROW (row), TRUE);
  adw_expander_row_add_row (self->unreadable_row, row);
  g_ptr_array_add (self->unreadable_rows, row);
}

static void
update_unreadable (MienDatasetPage  *self,
                   MienDatasetStats *stats)
{
  guint n = stats->unreadable != NULL ? stats->unreadable->len : 0;
  g_autofree char *title = NULL;

  clear_unreadable (self);
  gtk_widget_set_visible (GTK_WIDGET (self->readable_row), n == 0);
  gtk_widget_set_visible (GTK_WIDGET (self->unreadable_row), n > 0);
  if (n == 0)
    return;

  title = g_strdup_printf (ngettext ("%u file could not be read", "%u files could not be read", n),
                           n);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->unreadable_row), title);
  for (guint i = 0; i < MIN (n, MAX_UNREADABLE); i++)
    add_unreadable_row (self, g_ptr_array_index (stats->unreadable, i));
  if (n > MAX_UNREADABLE)
    {
      g_autofree char *more = g_strdup_printf (ngettext ("And %u more", "And %u more",
                                                         n - MAX_UNREADABLE),
                                               n - MAX_UNREADABLE);

      add_unreadable_row (self, more);
    }
}

static void
update_sizes (MienDatasetPage  *self,
              MienDatasetStats *stats)
{
  guint n_sizes = stats->sizes != NULL ? g_hash_table_size (stats->sizes) : 0;
  g_autofree char *text = NULL;
  g_autofree char *subtitle = NULL;

  if (stats->n_readable == 0)
    text = g_strdup ("—");
  else if (stats->min_width == stats->max_width && stats->min_height == stats->max_height)
    /* Translators: width × height in pixels */
    text = g_strdup_printf (_("%d × %d"), stats->min_width, stats->min_height);
  else
    /* Translators: the smallest and largest width, then height, in pixels */
    text = g_strdup_printf (_("%d–%d × %d–%d"), stats->min_width, stats->max_width,
                            stats->min_height, stats->max_height);
  gtk_label_set_label (self->sizes_label, text);

  if (n_sizes > 1)
    subtitle = g_strdup_printf (ngettext ("%u different size; every image is resized for training",
                                          "%u different sizes; every image is resized for training",
                                          n_sizes),
                                n_sizes);
  else
    subtitle = g_strdup (_("Every image is resized to the model’s input size for training"));
  adw_action_row_set_subtitle (self->sizes_row, subtitle);
}

static void
on_split_selected (GtkDropDown     *dropdown,
                   GParamSpec      *pspec,
                   MienDatasetPage *self)
{
  GtkStringObject *item = gtk_drop_down_get_selected_item (dropdown);
  const char *path = mien_studio_get_dataset_path (self->studio);

  if (item == NULL || path == NULL)
    return;
  mien_studio_open_dataset_split (self->studio, path, gtk_string_object_get_string (item));
}

/* The splits of a file that holds several (fer2013.csv), with the one shown selected. */
static void
update_splits (MienDatasetPage *self)
{
  g_signal_handlers_block_by_func (self->split_dropdown, on_split_selected, self);
  mien_ui_show_splits (self->split_dropdown, mien_studio_get_dataset_splits (self->studio),
                       mien_studio_get_dataset_split (self->studio));
  g_signal_handlers_unblock_by_func (self->split_dropdown, on_split_selected, self);
}

static void
update_content (MienDatasetPage *self)
{
  MienDatasetStats *stats = mien_studio_get_stats (self->studio);
  MienDataset *dataset = mien_studio_get_dataset (self->studio);
  const char *path = mien_studio_get_dataset_path (self->studio);
  g_autofree char *name = NULL;
  g_autofree char *text = NULL;
  g_autofree double *counts = NULL;
  guint largest = 0, smallest = 0;

  update_splits (self);
  if (stats == NULL || dataset == NULL)
    {
      load_examples (self, NULL, NULL);
      mien_bar_chart_set_categories (self->count_chart, NULL);
      mien_bar_chart_set_categories (self->balance_chart, NULL);
      return;
    }

  name = g_path_get_basename (path != NULL ? path : mien_dataset_get_source (dataset));
  gtk_label_set_label (self->name_label, name);
  gtk_label_set_label (self->path_label, path != NULL ? path : mien_dataset_get_source (dataset));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->path_label), path);

  text = g_strdup_printf ("%u", stats->n_images);
  gtk_label_set_label (self->images_value, text);
  g_clear_pointer (&text, g_free);
  text = g_strdup_printf ("%u", stats->n_classes);
  gtk_label_set_label (self->classes_value, text);
  g_clear_pointer (&text, g_free);
  /* Translators: the imbalance ratio, as in "10.0×" (times as many) */
  text = g_strdup_printf (_("%.1f×"), stats->imbalance_ratio);
  gtk_label_set_label (self->ratio_value, text);
  g_clear_pointer (&text, g_free);

  /* The bars are the statistics' counts, one series, labelled with the count. */
  counts = g_new0 (double, MAX (1, stats->n_classes));
  for (guint c = 0; c < stats->n_classes; c++)
    {
      counts[c] = stats->counts[c];
      if (stats->counts[c] > stats->counts[largest])
        largest = c;
      if (stats->counts[c] < stats->counts[smallest])
        smallest = c;
    }
  mien_bar_chart_set_categories (self->count_chart, (const char * const *) stats->classes);
  mien_bar_chart_add_series (self->count_chart, _("Images"), counts);
  mien_bar_chart_set_value_format (self->count_chart, "%.0f");

  if (stats->n_classes > 0 && stats->counts[largest] == stats->counts[smallest])
    text = g_strdup (_("Every class has the same number of images: the dataset is balanced."));
  else if (stats->n_classes > 0)
    /* Translators: largest class, ratio, smallest class */
    text = g_strdup_printf (_("The largest class, %s, has %.1f times as many images as the "
                              "smallest, %s."),
                            stats->classes[largest], stats->imbalance_ratio,
                            stats->classes[smallest]);
  gtk_label_set_label (self->imbalance_label, text);
  g_clear_pointer (&text, g_free);

  update_balance_chart (self, dataset, stats);

  text = format_triple (stats->mean);
  gtk_label_set_label (self->mean_label, text);
  g_clear_pointer (&text, g_free);
  text = format_triple (stats->std);
  gtk_label_set_label (self->std_label, text);
  g_clear_pointer (&text, g_free);
  update_sizes (self, stats);
  /* Translators: greyscale images out of readable images */
  text = g_strdup_printf (_("%u of %u"), stats->n_grey, stats->n_readable);
  gtk_label_set_label (self->grey_label, text);
  g_clear_pointer (&text, g_free);

  update_unreadable (self, stats);
  load_examples (self, dataset, stats);
}

/* ---- Loading state ------------------------------------------------------------------------- */

static gboolean
pulse (gpointer user_data)
{
  MienDatasetPage *self = user_data;

  gtk_progress_bar_pulse (self->loading_bar);
  gtk_progress_bar_pulse (self->reload_bar);
  return G_SOURCE_CONTINUE;
}

static void
update_progress (MienDatasetPage *self)
{
  double progress = -1;
  g_autofree char *text = NULL;
  g_autofree char *percent = NULL;

  g_object_get (self->studio, "progress", &progress, "progress-text", &text, NULL);

  adw_status_page_set_description (self->loading_status, text);
  gtk_label_set_label (self->reload_label, text);

  /* An unknown amount of work (-1) pulses rather than sitting at zero. */
  if (progress < 0)
    {
      if (self->pulse_id == 0)
        self->pulse_id = g_timeout_add (100, pulse, self);
      gtk_progress_bar_set_text (self->loading_bar, NULL);
      return;
    }
  g_clear_handle_id (&self->pulse_id, g_source_remove);
  gtk_progress_bar_set_fraction (self->loading_bar, progress);
  gtk_progress_bar_set_fraction (self->reload_bar, progress);
  percent = g_strdup_printf (_("%.0f %%"), progress * 100);
  gtk_progress_bar_set_text (self->loading_bar, percent);
}

static void
update_state (MienDatasetPage *self)
{
  gboolean busy = FALSE;
  gboolean have = mien_studio_get_stats (self->studio) != NULL;

  g_object_get (self->studio, "busy", &busy, NULL);

  if (busy)
    update_progress (self);
  else
    g_clear_handle_id (&self->pulse_id, g_source_remove);

  gtk_revealer_set_reveal_child (self->reload_revealer, busy && have);
  if (have)
    gtk_stack_set_visible_child_name (self->stack, "content");
  else
    gtk_stack_set_visible_child_name (self->stack, busy ? "loading" : "empty");
}

static void
on_busy_changed (GObject         *studio,
                 GParamSpec      *pspec,
                 MienDatasetPage *self)
{
  update_state (self);
}

static void
on_progress_changed (GObject         *studio,
                     GParamSpec      *pspec,
                     MienDatasetPage *self)
{
  gboolean busy = FALSE;

  g_object_get (studio, "busy", &busy, NULL);
  if (busy)
    update_progress (self);
}

static void
on_dataset_changed (MienStudio      *studio,
                    MienDatasetPage *self)
{
  update_content (self);
  update_state (self);
}

/* ---- Actions ------------------------------------------------------------------------------- */

static void
on_dataset_chosen (GFile    *file,
                   gpointer  user_data)
{
  g_autoptr(MienDatasetPage) self = user_data;
  g_autofree char *path = NULL;

  /* Nothing to do once the page is gone (the chooser outlived it). */
  if (file == NULL || self->studio == NULL)
    return;
  path = g_file_get_path (file);
  if (path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (file);
      g_autoptr(GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                                             _("“%s” is not a local file"), uri);

      mien_studio_post_error (self->studio, _("Could not open the dataset"), error);
      return;
    }
  mien_studio_open_dataset (self->studio, path);
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  MienDatasetPage *self = MIEN_DATASET_PAGE (widget);

  if (g_str_equal (action_name, "dataset.open-csv"))
    {
      g_autoptr(GtkFileFilter) datasets = mien_ui_filter_datasets ();
      g_autoptr(GtkFileFilter) csv = mien_ui_filter_csv ();
      GtkFileFilter *filters[] = { datasets, csv, NULL };

      mien_ui_choose_file (widget, _("Open a Dataset File"), GTK_FILE_CHOOSER_ACTION_OPEN,
                           _("_Open"), filters, NULL, on_dataset_chosen, g_object_ref (self));
    }
  else
    mien_ui_choose_file (widget, _("Open a Dataset Folder"),
                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Open"), NULL, NULL,
                         on_dataset_chosen, g_object_ref (self));
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
mien_dataset_page_dispose (GObject *object)
{
  MienDatasetPage *self = MIEN_DATASET_PAGE (object);

  g_cancellable_cancel (self->examples_cancellable);
  g_clear_object (&self->examples_cancellable);
  g_clear_handle_id (&self->pulse_id, g_source_remove);
  if (self->studio != NULL)
    g_signal_handlers_disconnect_by_data (self->studio, self);
  g_clear_object (&self->studio);

  G_OBJECT_CLASS (mien_dataset_page_parent_class)->dispose (object);
}

static void
mien_dataset_page_finalize (GObject *object)
{
  MienDatasetPage *self = MIEN_DATASET_PAGE (object);

  g_ptr_array_unref (self->example_boxes);
  g_ptr_array_unref (self->unreadable_rows);
  G_OBJECT_CLASS (mien_dataset_page_parent_class)->finalize (object);
}

static void
mien_dataset_page_class_init (MienDatasetPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mien_dataset_page_dispose;
  object_class->finalize = mien_dataset_page_finalize;

  g_type_ensure (MIEN_TYPE_BAR_CHART);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/mienapp/Mien/ui/mien-dataset-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, stack);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, loading_status);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, loading_bar);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, reload_revealer);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, reload_label);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, reload_bar);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, name_label);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, path_label);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, split_dropdown);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, images_value);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, classes_value);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, ratio_value);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, count_chart);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, imbalance_label);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, balance_chart);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, examples_list);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, mean_label);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, std_label);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, sizes_row);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, sizes_label);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, grey_label);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, readable_row);
  gtk_widget_class_bind_template_child (widget_class, MienDatasetPage, unreadable_row);

  gtk_widget_class_install_action (widget_class, "dataset.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "dataset.open-csv", NULL, open_action);
}

static void
mien_dataset_page_init (MienDatasetPage *self)
{
  self->example_boxes = g_ptr_array_new ();
  self->unreadable_rows = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mien_dataset_page_new (MienStudio *studio)
{
  MienDatasetPage *self;

  g_return_val_if_fail (MIEN_IS_STUDIO (studio), NULL);

  self = g_object_new (MIEN_TYPE_DATASET_PAGE, NULL);
  self->studio = g_object_ref (studio);
  g_signal_connect (self->split_dropdown, "notify::selected", G_CALLBACK (on_split_selected),
                    self);
  g_signal_connect (studio, "dataset-changed", G_CALLBACK (on_dataset_changed), self);
  g_signal_connect (studio, "notify::busy", G_CALLBACK (on_busy_changed), self);
  g_signal_connect (studio, "notify::progress", G_CALLBACK (on_progress_changed), self);
  g_signal_connect (studio, "notify::progress-text", G_CALLBACK (on_progress_changed), self);

  /* The studio may have finished loading before this page existed. */
  update_content (self);
  update_state (self);
  return GTK_WIDGET (self);
}

MienBarChart *
mien_dataset_page_get_count_chart (MienDatasetPage *self)
{
  g_return_val_if_fail (MIEN_IS_DATASET_PAGE (self), NULL);

  return self->count_chart;
}

GtkDropDown *
mien_dataset_page_get_split_dropdown (MienDatasetPage *self)
{
  g_return_val_if_fail (MIEN_IS_DATASET_PAGE (self), NULL);
  return self->split_dropdown;
}
