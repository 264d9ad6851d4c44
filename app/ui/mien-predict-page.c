/* mien-predict-page.c — the Predict page.
 *
 * Every opened image is an item of a list (the strip under the picture). One worker at a time
 * decodes an item for display and predicts it with mien_ensemble_predict_file () — the very call
 * `mien-cli predict` makes, so that the page and the CLI agree to the last digit. The selected
 * item goes first; the others follow so that switching between them is instant.
 *
 * An ensemble belongs to one thread at a time: the worker and a folder → CSV job may both hold
 * the same one, so it travels with a mutex (SharedEnsemble) that each takes per image. Every
 * new ensemble bumps `generation`; an item's probabilities count only when they were computed
 * with the current one.
 *
 * With "Find faces" on (setting "predict-faces"), the worker runs the image through the face
 * pipeline (MienFacePipeline, as `mien-cli predict --faces` does; the whole image when faces
 * cannot be searched). Opening the face detector reads files, so the worker does it, once; the
 * detector then lives in the page and is lent to each job (jobs run one at a time, and a
 * detector serves one thread at a time). Folder → CSV predicts whole
 * images, as `mien-cli predict` does, and never touches the detector. An item keeps its
 * whole-image and its faces results apart, so that the switch flips between them at once.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>

#include "mien-chart.h"
#include "mien-explain.h"
#include "mien-face-align.h"
#include "mien-face-model.h"
#include "mien-face-overlay.h"
#include "mien-face-pipeline.h"
#include "mien-image.h"
#include "mien-model-chooser.h"
#include "mien-predict-page.h"
#include "mien-ui-util.h"

/* ---- SharedEnsemble --------------------------------------------------------------------- */

typedef struct {
  MienEnsemble *ensemble;
  GMutex        lock;
} SharedEnsemble;

static void
shared_ensemble_clear (gpointer data)
{
  SharedEnsemble *shared = data;

  g_object_unref (shared->ensemble);
  g_mutex_clear (&shared->lock);
}

static SharedEnsemble *
shared_ensemble_new (MienEnsemble *ensemble)
{
  SharedEnsemble *shared = g_rc_box_new0 (SharedEnsemble);

  shared->ensemble = g_object_ref (ensemble);
  g_mutex_init (&shared->lock);
  return shared;
}

static SharedEnsemble *
shared_ensemble_ref (SharedEnsemble *shared)
{
  return g_rc_box_acquire (shared);
}

static void
shared_ensemble_unref (SharedEnsemble *shared)
{
  g_rc_box_release_full (shared, shared_ensemble_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SharedEnsemble, shared_ensemble_unref)

/* ---- FaceResult: one face of an image and its probabilities ------------------------------- */

#define THUMBNAIL_SIZE 96

typedef struct {
  MienFace    face;
  MienFaceAlignOptions align;  /* how the crop the models saw was framed */
  GdkTexture *thumbnail;  /* the aligned crop, as the models see it (in colour) */
  float      *per_model;  /* n_models × n_classes */
  float      *average;    /* n_classes */
} FaceResult;

static void
face_result_free (gpointer data)
{
  FaceResult *result = data;

  g_clear_object (&result->thumbnail);
  g_free (result->per_model);
  g_free (result->average);
  g_free (result);
}

/* ---- MienPredictItem: one opened image ---------------------------------------------------- */

#define MIEN_TYPE_PREDICT_ITEM (mien_predict_item_get_type ())
G_DECLARE_FINAL_TYPE (MienPredictItem, mien_predict_item, MIEN, PREDICT_ITEM, GObject)

struct _MienPredictItem
{
  GObject     parent_instance;

  GFile      *file;
  char       *path;
  GdkTexture *texture;
  gboolean    decoded;      /* a texture was tried (`texture` NULL: it failed) */
  char       *error;        /* why it could not be read or predicted */
  guint       generation;   /* of the ensemble that gave the probabilities; 0: none */
  guint       n_models;
  guint       n_classes;
  float      *per_model;
  float      *average;
  /* Faces: their own generation; `faces` NULL until searched, empty when none was found. */
  guint       faces_generation;
  GPtrArray  *faces;        /* FaceResult */
  int         frame_width;
  int         frame_height;
  char       *faces_error;  /* searching this image failed: its whole is classified instead */
  gboolean    whole_requested;
};

enum {
  ITEM_PROP_0,
  ITEM_PROP_TEXTURE,
  ITEM_N_PROPS
};

static GParamSpec *item_props[ITEM_N_PROPS];

G_DEFINE_FINAL_TYPE (MienPredictItem, mien_predict_item, G_TYPE_OBJECT)

static void
mien_predict_item_finalize (GObject *object)
{
  MienPredictItem *self = MIEN_PREDICT_ITEM (object);

  g_clear_object (&self->file);
  g_clear_object (&self->texture);
  g_free (self->path);
  g_free (self->error);
  g_free (self->per_model);
  g_free (self->average);
  g_clear_pointer (&self->faces, g_ptr_array_unref);
  g_free (self->faces_error);
  G_OBJECT_CLASS (mien_predict_item_parent_class)->finalize (object);
}

static void
mien_predict_item_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  MienPredictItem *self = MIEN_PREDICT_ITEM (object);

  switch (prop_id)
    {
    case ITEM_PROP_TEXTURE:
      g_value_set_object (value, self->texture);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_predict_item_class_init (MienPredictItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mien_predict_item_finalize;
  object_class->get_property = mien_predict_item_get_property;

  item_props[ITEM_PROP_TEXTURE] =
    g_param_spec_object ("texture", NULL, NULL, GDK_TYPE_PAINTABLE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, ITEM_N_PROPS, item_props);
}

static void
mien_predict_item_init (MienPredictItem *self)
{
}

static MienPredictItem *
mien_predict_item_new (GFile      *file,
                       const char *path)
{
  MienPredictItem *self = g_object_new (MIEN_TYPE_PREDICT_ITEM, NULL);

  self->file = g_object_ref (file);
  self->path = g_strdup (path);
  return self;
}

/* ---- The page ------------------------------------------------------------------------------ */

typedef struct _FolderJob FolderJob;
typedef struct _ExplainJob ExplainJob;

/* Which explanation: of an item, predicted by the ensemble of `generation`, for a class; of
 * its whole or of each of its faces. */
typedef struct {
  MienPredictItem *item;   /* a ref */
  guint            generation;
  guint            class_index;  /* faces: FACE_CLASS for each face's predicted class */
  gboolean         faces;
} ExplainKey;

#define FACE_CLASS G_MAXUINT

struct _MienPredictPage
{
  AdwBin              parent_instance;

  MienStudio         *studio;
  GCancellable       *cancellable;        /* the page's life */

  /* Models */
  MienModelChooser   *chooser;
  GCancellable       *load_cancellable;
  gboolean            loading;
  SharedEnsemble     *ensemble;           /* NULL when no model is checked or loading failed */
  char              **model_names;        /* one per member, for the charts */
  guint               generation;
  GPtrArray          *charts;             /* MienBarChart: the average (when >1 model), then members */

  /* Faces */
  GSettings          *settings;
  gboolean            find_faces;         /* "predict-faces" */
  MienFaceDetector   *detector;           /* opened by a job; NULL while lent to one, or none yet */
  guint               detector_generation;  /* bumped when the detector's settings change */
  char               *detector_error;     /* it cannot be opened: whole images are classified */
  GPtrArray          *shown_faces;        /* the FaceResults the face sections show (a ref) */
  MienFaceBoxes      *boxes;

  /* Images */
  GListStore         *items;
  GtkSingleSelection *selection;
  MienPredictItem    *running;            /* the worker's item, or NULL */
  gboolean            busy;

  /* Folder → CSV */
  FolderJob          *folder;
  guint               folder_poll_id;

  /* Explanations: one job at a time; the maps of one item, generation and class are kept, so
   * that moving the opacity or picking another member only draws again. */
  gboolean            explain;
  int                 explain_class;        /* -1: the predicted class */
  int                 explain_member;       /* -1: the ensemble's average */
  double              explain_opacity;
  ExplainJob         *explain_job;          /* running (owned by its task), or NULL */
  ExplainKey          explained;            /* what the maps or the error below are of */
  GdkPixbuf          *explained_image;
  GCancellable       *explain_cancellable;  /* the running job's */
  GPtrArray          *explained_maps;       /* RegionMaps: the whole image's, or each face's */
  GError             *explain_error;
  GdkPixbuf          *overlay;             /* drawn with overlay_member and overlay_opacity */
  GdkTexture         *overlay_texture;
  int                 overlay_member;
  double              overlay_opacity;

  /* Template */
  GtkBox             *chooser_box;
  GtkBox             *folder_box;
  GtkLabel           *folder_label;
  GtkProgressBar     *folder_bar;
  GtkStack           *stack;
  GtkOverlay         *picture_overlay;
  GtkPicture         *picture;
  GtkSwitch          *faces_switch;
  GtkLabel           *note_label;
  AdwStatusPage      *no_face_page;
  GtkBox             *faces_box;
  GtkLabel           *file_label;
  GtkLabel           *class_label;
  GtkLabel           *prob_label;
  GtkSpinner         *spinner;
  GtkLabel           *status_label;
  GtkBox             *charts_box;
  GtkListView        *strip;
  GtkSwitch          *explain_switch;
  GtkBox             *explain_controls;
  GtkDropDown        *explain_class_dropdown;
  GtkDropDown        *explain_member_dropdown;
  GtkScale           *explain_opacity_scale;
  GtkDrawingArea     *explain_legend;
  GtkLabel           *explain_label;
};

G_DEFINE_FINAL_TYPE (MienPredictPage, mien_predict_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void process_next (MienPredictPage *self);
static void update_explain (MienPredictPage *self);
static void show_picture (MienPredictPage *self,
                          MienPredictItem *item);

static MienPredictItem *
selected_item (MienPredictPage *self)
{
  return gtk_single_selection_get_selected_item (self->selection);
}

static void
set_busy (MienPredictPage *self,
          gboolean         busy)
{
  if (self->busy == busy)
    return;
  self->busy = busy;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_BUSY]);
}

static gboolean
item_is_fresh (MienPredictPage *self,
               MienPredictItem *item)
{
  return item != NULL && self->ensemble != NULL && !self->loading &&
         item->generation == self->generation && item->average != NULL;
}

/* Whether the selected mode for `item` is its faces (else its whole image). */
static gboolean
item_wants_faces (MienPredictPage *self,
                  MienPredictItem *item)
{
  return self->find_faces && self->detector_error == NULL && !item->whole_requested;
}

static gboolean
item_faces_fresh (MienPredictPage *self,
                  MienPredictItem *item)
{
  return item != NULL && self->ensemble != NULL && !self->loading &&
         item->faces_generation == self->generation && item->faces != NULL;
}

static void
update_actions (MienPredictPage *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "predict.open-folder",
                                 self->ensemble != NULL && !self->loading &&
                                 self->folder == NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "predict.cancel-folder",
                                 self->folder != NULL);
}

/* ---- Showing the selected item --------------------------------------------------------- */

static void
clear_box (GtkBox *box)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (box))) != NULL)
    gtk_box_remove (box, child);
}

/* A note under the picture or the controls: dimmed, or red when something failed; hidden
 * when `text` is NULL. */
static void
show_message (GtkLabel   *label,
              const char *text,
              gboolean    is_error)
{
  gtk_label_set_text (label, text != NULL ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (label), text != NULL);
  if (is_error)
    {
      gtk_widget_add_css_class (GTK_WIDGET (label), "error");
      gtk_widget_remove_css_class (GTK_WIDGET (label), "dim-label");
    }
  else
    {
      gtk_widget_remove_css_class (GTK_WIDGET (label), "error");
      gtk_widget_add_css_class (GTK_WIDGET (label), "dim-label");
    }
}

/* One chart set of the current ensemble (the average when there are several models, then
 * each model) appended to `box`, the charts to `charts`. Used for the whole image and for
 * each face. */
static void
append_chart_set (MienPredictPage *self,
                  GtkBox          *box,
                  GPtrArray       *charts)
{
  MienEnsemble *ensemble = self->ensemble != NULL ? self->ensemble->ensemble : NULL;
  guint n_models = ensemble != NULL ? mien_ensemble_get_n_models (ensemble) : 0;
  const char * const *classes = ensemble != NULL ? mien_ensemble_get_classes (ensemble) : NULL;
  guint k = ensemble != NULL ? mien_ensemble_get_n_classes (ensemble) : 0;
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  guint n_charts;

  if (n_models == 0)
    return;

  for (guint c = 0; c < k; c++)
    g_ptr_array_add (labels, mien_ui_capitalise (classes[c]));
  g_ptr_array_add (labels, NULL);

  /* With one model its chart is the average: no second chart repeating it. */
  n_charts = n_models > 1 ? n_models + 1 : 1;
  for (guint i = 0; i < n_charts; i++)
    {
      GtkWidget *chart = mien_bar_chart_new ();
      MienBarChart *bars = MIEN_BAR_CHART (chart);
      g_autofree double *zeros = g_new0 (double, k);
      g_autofree char *title = NULL;

      if (n_models > 1 && i == 0)
        title = g_strdup_printf (ngettext ("Ensemble (average of %u)",
                                           "Ensemble (average of %u)", n_models), n_models);
      else
        title = g_strdup (self->model_names[n_models > 1 ? i - 1 : 0]);
      mien_chart_set_title (MIEN_CHART (chart), title);
      mien_bar_chart_set_orientation (bars, GTK_ORIENTATION_HORIZONTAL);
      mien_bar_chart_set_categories (bars, (const char * const *) labels->pdata);
      mien_bar_chart_set_max (bars, 1.0);
      mien_bar_chart_set_value_format (bars, "%.3f");
      mien_bar_chart_add_series (bars, _("Probability"), zeros);
      gtk_widget_set_size_request (chart, -1, 40 + 28 * (int) k);
      gtk_box_append (box, chart);
      g_ptr_array_add (charts, chart);
    }
}

static void
rebuild_charts (MienPredictPage *self)
{
  clear_box (self->charts_box);
  g_ptr_array_set_size (self->charts, 0);
  append_chart_set (self, self->charts_box, self->charts);
  /* The face sections hold charts of the old ensemble too. */
  clear_box (self->faces_box);
  g_clear_pointer (&self->shown_faces, g_ptr_array_unref);
}

static void
set_chart_values (MienBarChart *chart,
                  const float  *p,
                  guint         k)
{
  g_autofree double *values = g_new (double, k);

  for (guint c = 0; c < k; c++)
    values[c] = p[c];
  mien_bar_chart_set_series_values (chart, 0, values);
  mien_bar_chart_set_highlight (chart, (int) mien_probabilities_argmax (p, k));
}

static void
set_chart_set_values (GPtrArray   *charts,
                      guint        n_models,
                      guint        k,
                      const float *per_model,
                      const float *average)
{
  for (guint i = 0; i < charts->len; i++)
    {
      const float *p = n_models > 1 && i > 0 ? per_model + (gsize) (i - 1) * k : average;

      set_chart_values (charts->pdata[i], p, k);
    }
}

/* The face sections of `faces`, built again only when they are other faces. */
static void
show_faces (MienPredictPage *self,
            MienPredictItem *item)
{
  const char * const *classes = mien_ensemble_get_classes (self->ensemble->ensemble);
  guint k = item->n_classes;

  mien_face_boxes_clear (self->boxes);
  mien_face_boxes_set_frame_size (self->boxes, item->frame_width, item->frame_height);
  for (guint f = 0; f < item->faces->len; f++)
    {
      FaceResult *result = item->faces->pdata[f];
      guint best = mien_probabilities_argmax (result->average, k);
      g_autofree char *class_name = mien_ui_capitalise (classes[best]);

      /* Translators: the label of a face on the picture: its number and its class */
      mien_face_boxes_add (self->boxes, &result->face,
                           g_strdup_printf (_("%u · %s"), f + 1, class_name));
    }

  if (self->shown_faces == item->faces)
    return;
  clear_box (self->faces_box);
  g_clear_pointer (&self->shown_faces, g_ptr_array_unref);
  self->shown_faces = g_ptr_array_ref (item->faces);

  for (guint f = 0; f < item->faces->len; f++)
    {
      FaceResult *result = item->faces->pdata[f];
      guint best = mien_probabilities_argmax (result->average, k);
      g_autofree char *class_name = mien_ui_capitalise (classes[best]);
      /* Translators: a face's heading; %u is its number on the picture */
      g_autofree char *heading = g_strdup_printf (_("Face %u"), f + 1);
      /* Translators: the predicted class's probability, in percent */
      g_autofree char *probability = g_strdup_printf (_("%.1f %%"), 100.0 * result->average[best]);
      g_autoptr(GPtrArray) charts = g_ptr_array_new ();
      GtkWidget *section = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
      GtkWidget *header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
      GtkWidget *texts = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
      GtkWidget *thumbnail = gtk_picture_new_for_paintable (GDK_PAINTABLE (result->thumbnail));
      GtkWidget *label;

      gtk_widget_set_size_request (thumbnail, 64, 64);
      gtk_widget_set_valign (thumbnail, GTK_ALIGN_CENTER);
      gtk_picture_set_can_shrink (GTK_PICTURE (thumbnail), TRUE);
      gtk_picture_set_alternative_text (GTK_PICTURE (thumbnail), heading);
      gtk_box_append (GTK_BOX (header), thumbnail);

      gtk_widget_set_valign (texts, GTK_ALIGN_CENTER);
      label = gtk_label_new (heading);
      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_widget_add_css_class (label, "heading");
      gtk_box_append (GTK_BOX (texts), label);
      label = gtk_label_new (class_name);
      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_label_set_wrap (GTK_LABEL (label), TRUE);
      gtk_widget_add_css_class (label, "title-2");
      gtk_box_append (GTK_BOX (texts), label);
      label = gtk_label_new (probability);
      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_widget_add_css_class (label, "numeric");
      gtk_widget_add_css_class (label, "dim-label");
      gtk_box_append (GTK_BOX (texts), label);
      gtk_box_append (GTK_BOX (header), texts);
      gtk_box_append (GTK_BOX (section), header);

      append_chart_set (self, GTK_BOX (section), charts);
      set_chart_set_values (charts, item->n_models, k, result->per_model, result->average);
      gtk_box_append (self->faces_box, section);
    }
}

static void
show_current (MienPredictPage *self)
{
  MienPredictItem *item = selected_item (self);
  gboolean wants_faces = item != NULL && item_wants_faces (self, item);
  gboolean faces_fresh = wants_faces && item_faces_fresh (self, item);
  gboolean fresh = !wants_faces && item_is_fresh (self, item);
  gboolean working = FALSE;
  const char *status = NULL;
  g_autofree char *note = NULL;
  gboolean note_is_error = FALSE;
  g_autofree char *name = NULL;

  if (!faces_fresh)
    mien_face_boxes_clear (self->boxes);
  update_explain (self);
  if (item == NULL)
    {
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }
  gtk_stack_set_visible_child_name (self->stack, "result");

  name = g_file_get_basename (item->file);
  gtk_picture_set_alternative_text (self->picture, name);
  gtk_label_set_text (self->file_label, item->path);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->file_label), item->path);

  if (item->error != NULL)
    status = item->error;
  else if (self->loading)
    {
      status = _("Loading the models…");
      working = TRUE;
    }
  else if (self->ensemble == NULL)
    status = _("Check a model on the left to predict this image.");
  else if (!fresh && !faces_fresh)
    {
      status = wants_faces ? _("Finding faces…") : _("Predicting…");
      working = TRUE;
    }

  if (item->error == NULL && !self->loading && self->ensemble != NULL && self->find_faces &&
      !wants_faces)
    {
      if (self->detector_error != NULL)
        {
          /* Translators: %s says why faces cannot be found */
          note = g_strdup_printf (_("Faces cannot be found (%s): the whole image is classified instead."),
                                  self->detector_error);
          note_is_error = TRUE;
        }
      else if (item->faces_error != NULL)
        {
          /* Translators: %s says why searching this image for faces failed */
          note = g_strdup_printf (_("Faces could not be searched in this image (%s): the whole image is classified instead."),
                                  item->faces_error);
          note_is_error = TRUE;
        }
      else if (item->whole_requested)
        note = g_strdup (_("No face was found: these are the probabilities of the whole image."));
    }
  show_message (self->note_label, note, note_is_error);
  gtk_widget_set_visible (GTK_WIDGET (self->no_face_page),
                          item->error == NULL && faces_fresh && item->faces->len == 0);
  gtk_widget_set_visible (GTK_WIDGET (self->faces_box),
                          item->error == NULL && faces_fresh && item->faces->len > 0);
  if (item->error == NULL && faces_fresh)
    show_faces (self, item);

  gtk_label_set_text (self->status_label, status != NULL ? status : "");
  gtk_widget_set_visible (GTK_WIDGET (self->status_label), status != NULL);
  gtk_spinner_set_spinning (self->spinner, working);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), working);
  gtk_widget_set_visible (GTK_WIDGET (self->charts_box), fresh);
  gtk_widget_set_visible (GTK_WIDGET (self->class_label), fresh);
  gtk_widget_set_visible (GTK_WIDGET (self->prob_label), fresh);

  if (fresh)
    {
      const char * const *classes = mien_ensemble_get_classes (self->ensemble->ensemble);
      guint k = item->n_classes;
      guint best = mien_probabilities_argmax (item->average, k);
      g_autofree char *class_name = mien_ui_capitalise (classes[best]);
      /* Translators: the predicted class's probability, in percent */
      g_autofree char *probability = g_strdup_printf (_("%.1f %%"), 100.0 * item->average[best]);

      gtk_label_set_text (self->class_label, class_name);
      gtk_label_set_text (self->prob_label, probability);
      set_chart_set_values (self->charts, item->n_models, k, item->per_model, item->average);
    }
}

/* ---- The worker ---------------------------------------------------------------------------- */

typedef struct {
  MienPredictItem *item;
  char            *path;
  GFile           *file;
  SharedEnsemble  *ensemble;      /* NULL: decode only */
  guint            generation;
  gboolean         decode;
  gboolean         faces;         /* predict its faces rather than the whole image */
  MienFaceDetector *detector;     /* lent by the page (NULL: open one); given back when done */
  MienPluginEngine *engine;
  char            *face_model;    /* NULL: the default path */
  guint            detector_generation;
  /* Results */
  GdkTexture      *texture;
  char            *decode_error;
  char            *predict_error;
  char            *detector_error; /* the detector cannot be opened */
  char            *faces_error;    /* searching this image failed */
  gboolean         whole;          /* per_model and average are the whole image's */
  guint            n_models;
  guint            n_classes;
  float           *per_model;
  float           *average;
  GPtrArray       *face_results;   /* FaceResult; NULL unless the faces were searched */
  int              frame_width;
  int              frame_height;
} PredictJob;

static void
predict_job_free (PredictJob *job)
{
  g_clear_object (&job->item);
  g_clear_object (&job->file);
  g_clear_object (&job->texture);
  g_clear_pointer (&job->ensemble, shared_ensemble_unref);
  g_clear_object (&job->detector);
  g_clear_object (&job->engine);
  g_clear_pointer (&job->face_results, g_ptr_array_unref);
  g_free (job->path);
  g_free (job->face_model);
  g_free (job->decode_error);
  g_free (job->predict_error);
  g_free (job->detector_error);
  g_free (job->faces_error);
  g_free (job->per_model);
  g_free (job->average);
  g_free (job);
}

/* Takes the whole image's probabilities of `region`. */
static void
take_whole (PredictJob           *job,
            MienRegionPrediction *region)
{
  job->per_model = g_steal_pointer (&region->per_model);
  job->average = g_steal_pointer (&region->average);
  job->whole = TRUE;
}

/* Every face of the frame, predicted through the face pipeline; the whole image instead when
 * there is no detector or its search fails (job->faces_error says why). */
static void
predict_faces (PredictJob *job,
               GdkPixbuf  *frame)
{
  g_autoptr(MienFacePipeline) pipeline = NULL;
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func (face_result_free);
  g_autoptr(MienFacePrediction) prediction = NULL;
  g_autoptr(GError) error = NULL;
  MienFaceAlignOptions align = MIEN_FACE_ALIGN_OPTIONS_INIT;

  g_mutex_lock (&job->ensemble->lock);
  /* Faces framed as the models' training images were, as `mien-cli predict --faces` does;
   * models that disagree are refused, as there. */
  if (mien_ensemble_get_face_margin (job->ensemble->ensemble, align.margin, &align.margin,
                                     &error))
    {
      pipeline = mien_face_pipeline_new (job->ensemble->ensemble, job->detector, &align);
      mien_face_pipeline_set_fallback (pipeline, MIEN_FACE_FALLBACK_ON_ERROR);
      prediction = mien_face_pipeline_process (pipeline, frame, &error);
    }
  g_mutex_unlock (&job->ensemble->lock);
  if (prediction == NULL)
    {
      job->predict_error = g_strdup (error->message);
      return;
    }
  if (prediction->whole)
    {
      job->faces_error = g_steal_pointer (&prediction->detect_error);
      take_whole (job, &prediction->regions[0]);
      return;
    }
  for (guint f = 0; f < prediction->n_regions; f++)
    {
      MienRegionPrediction *region = &prediction->regions[f];
      FaceResult *result = g_new0 (FaceResult, 1);
      g_autoptr(GdkPixbuf) crop = mien_face_align (frame, &region->face,
                                                   mien_face_pipeline_get_align (pipeline),
                                                   THUMBNAIL_SIZE, FALSE);

      g_ptr_array_add (results, result);
      result->face = region->face;
      result->align = *mien_face_pipeline_get_align (pipeline);
      result->per_model = g_steal_pointer (&region->per_model);
      result->average = g_steal_pointer (&region->average);
      if (crop != NULL)
        {
          G_GNUC_BEGIN_IGNORE_DEPRECATIONS
          result->thumbnail = gdk_texture_new_for_pixbuf (crop);
          G_GNUC_END_IGNORE_DEPRECATIONS
        }
    }
  job->frame_width = prediction->frame_width;
  job->frame_height = prediction->frame_height;
  job->face_results = g_steal_pointer (&results);
}

static void
predict_whole (PredictJob *job)
{
  g_autoptr(GError) error = NULL;
  gboolean ok;

  job->per_model = g_new0 (float, (gsize) job->n_models * job->n_classes);
  job->average = g_new0 (float, job->n_classes);
  g_mutex_lock (&job->ensemble->lock);
  /* From the file, as `mien-cli predict` does. */
  ok = mien_ensemble_predict_file (job->ensemble->ensemble, job->path, job->per_model,
                                   job->average, &error);
  g_mutex_unlock (&job->ensemble->lock);
  if (!ok)
    {
      job->predict_error = g_strdup (error->message);
      g_clear_pointer (&job->per_model, g_free);
      g_clear_pointer (&job->average, g_free);
    }
  else
    job->whole = TRUE;
}

static void
predict_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  PredictJob *job = task_data;
  g_autoptr(GdkPixbuf) frame = NULL;

  /* The faces' boxes are drawn over the picture: both come from the same upright pixels,
   * loaded as every other path loads images (EXIF orientation, size limits). */
  if (job->decode || job->faces)
    {
      g_autoptr(GError) error = NULL;

      frame = mien_image_load (job->path, &error);
      if (frame == NULL)
        *(job->decode ? &job->decode_error : &job->predict_error) = g_strdup (error->message);
    }
  if (job->decode && frame != NULL)
    {
      G_GNUC_BEGIN_IGNORE_DEPRECATIONS
      job->texture = gdk_texture_new_for_pixbuf (frame);
      G_GNUC_END_IGNORE_DEPRECATIONS
    }
  if (job->ensemble != NULL && job->decode_error == NULL && job->predict_error == NULL &&
      !g_cancellable_is_cancelled (cancellable))
    {
      MienEnsemble *ensemble = job->ensemble->ensemble;

      job->n_models = mien_ensemble_get_n_models (ensemble);
      job->n_classes = mien_ensemble_get_n_classes (ensemble);
      if (!job->faces)
        predict_whole (job);
      else
        {
          if (job->detector == NULL)
            {
              g_autoptr(GError) error = NULL;

              job->detector = mien_face_model_open_detector (job->engine, NULL,
                                                             job->face_model, &error);
              if (job->detector == NULL)
                job->detector_error = g_strdup (error->message);
            }
          /* No detector: the whole image, rather than nothing. */
          predict_faces (job, frame);
        }
    }
  g_task_return_boolean (task, TRUE);
}

static void
predict_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  MienPredictPage *self = MIEN_PREDICT_PAGE (source);
  PredictJob *job = g_task_get_task_data (G_TASK (result));
  MienPredictItem *item = job->item;

  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  self->running = NULL;

  if (job->decode)
    {
      item->decoded = TRUE;
      if (job->texture != NULL)
        {
          g_set_object (&item->texture, job->texture);
          g_object_notify_by_pspec (G_OBJECT (item), item_props[ITEM_PROP_TEXTURE]);
        }
      else
        {
          g_free (item->error);
          item->error = g_strdup_printf (_("Could not read this image: %s"), job->decode_error);
        }
    }
  if (job->faces && job->detector_generation == self->detector_generation)
    {
      /* Back from the job, for the next one. */
      if (job->detector != NULL && self->detector == NULL)
        self->detector = g_steal_pointer (&job->detector);
      if (job->detector_error != NULL && self->detector_error == NULL)
        {
          self->detector_error = g_steal_pointer (&job->detector_error);
          /* Every image now wants its whole: show the error once, where it is noticed. */
          mien_studio_post_message (self->studio, _("Faces cannot be found: whole images are classified instead"));
        }
    }
  if (job->ensemble != NULL)
    {
      if (job->faces_error != NULL)
        {
          g_free (item->faces_error);
          item->faces_error = g_steal_pointer (&job->faces_error);
          item->whole_requested = TRUE;
        }
      if (job->face_results != NULL || job->predict_error != NULL)
        {
          item->faces_generation = job->generation;
          g_clear_pointer (&item->faces, g_ptr_array_unref);
          item->faces = g_steal_pointer (&job->face_results);
          item->frame_width = job->frame_width;
          item->frame_height = job->frame_height;
          item->n_models = job->n_models;
          item->n_classes = job->n_classes;
        }
      if (job->whole || job->predict_error != NULL)
        {
          item->generation = job->generation;
          g_clear_pointer (&item->per_model, g_free);
          g_clear_pointer (&item->average, g_free);
        }
      if (job->predict_error != NULL)
        {
          g_free (item->error);
          item->error = g_strdup_printf (_("Could not predict this image: %s"),
                                         job->predict_error);
        }
      else if (job->whole)
        {
          item->n_models = job->n_models;
          item->n_classes = job->n_classes;
          item->per_model = g_steal_pointer (&job->per_model);
          item->average = g_steal_pointer (&job->average);
        }
    }
  if (item == selected_item (self))
    show_current (self);
  process_next (self);
}

static gboolean
needs_work (MienPredictPage *self,
            MienPredictItem *item,
            gboolean        *decode,
            gboolean        *predict)
{
  guint done = item_wants_faces (self, item) ? item->faces_generation : item->generation;

  *decode = !item->decoded;
  /* An image that failed once fails again: only a new ensemble is worth another try. */
  *predict = self->ensemble != NULL && !self->loading && done != self->generation &&
             (item->decoded ? item->texture != NULL : TRUE);
  return *decode || *predict;
}

static void
process_next (MienPredictPage *self)
{
  g_autoptr(MienPredictItem) item = NULL;
  g_autoptr(GTask) task = NULL;
  gboolean decode = FALSE, predict = FALSE;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->items));
  PredictJob *job;

  if (self->running != NULL)
    return;
  item = selected_item (self) != NULL ? g_object_ref (selected_item (self)) : NULL;
  if (item == NULL || !needs_work (self, item, &decode, &predict))
    {
      g_clear_object (&item);
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(MienPredictItem) candidate = g_list_model_get_item (G_LIST_MODEL (self->items), i);

          if (needs_work (self, candidate, &decode, &predict))
            {
              item = g_steal_pointer (&candidate);
              break;
            }
        }
    }
  if (item == NULL)
    {
      set_busy (self, self->loading);
      return;
    }

  set_busy (self, TRUE);
  job = g_new0 (PredictJob, 1);
  job->item = g_object_ref (item);
  job->path = g_strdup (item->path);
  job->file = g_object_ref (item->file);
  job->decode = decode;
  if (predict)
    {
      job->ensemble = shared_ensemble_ref (self->ensemble);
      job->generation = self->generation;
      if (item_wants_faces (self, item))
        {
          g_autofree char *face_model = g_settings_get_string (self->settings, "face-model");

          job->faces = TRUE;
          job->detector = g_steal_pointer (&self->detector);
          job->detector_generation = self->detector_generation;
          job->engine = g_object_ref (mien_studio_get_engine (self->studio));
          job->face_model = face_model[0] != '\0' ? g_steal_pointer (&face_model) : NULL;
        }
      /* A new attempt: the error of an older ensemble no longer holds. */
      if (item->decoded)
        g_clear_pointer (&item->error, g_free);
    }
  self->running = item;
  task = g_task_new (self, self->cancellable, predict_done, NULL);
  g_task_set_source_tag (task, process_next);
  g_task_set_task_data (task, job, (GDestroyNotify) predict_job_free);
  g_task_run_in_thread (task, predict_thread);
}

/* ---- Explanations -------------------------------------------------------------------------- */

/* The maps of one region explained: the whole image, or one face's crop. */
typedef struct {
  guint       class_index;
  MienTensor *average;
  GPtrArray  *members;  /* MienTensor, one per model */
} RegionMaps;

static void
region_maps_free (gpointer data)
{
  RegionMaps *maps = data;

  g_clear_pointer (&maps->average, mien_tensor_free);
  g_clear_pointer (&maps->members, g_ptr_array_unref);
  g_free (maps);
}

/* The map of `member` (-1 or none such: the average). */
static MienTensor *
region_maps_get (const RegionMaps *maps,
                 int               member)
{
  return member < 0 || (guint) member >= maps->members->len
         ? maps->average : maps->members->pdata[member];
}

struct _ExplainJob {
  SharedEnsemble *ensemble;
  char           *path;
  ExplainKey      key;
  int             member;
  double          opacity;
  GPtrArray      *faces;      /* FaceResult (a ref) when key.faces */
  /* In: what an earlier job of the same key left (NULL: computed here); out: the results */
  GdkPixbuf      *image;
  GPtrArray      *maps;       /* RegionMaps: one, or one per face */
  GdkPixbuf      *overlay;
  GError         *error;      /* of the image or its maps: they cannot be had */
};

static void
explain_key_clear (ExplainKey *key)
{
  g_clear_object (&key->item);
  key->generation = 0;
  key->class_index = 0;
  key->faces = FALSE;
}

static gboolean
explain_key_equal (const ExplainKey *a,
                   const ExplainKey *b)
{
  return a->item != NULL && a->item == b->item && a->generation == b->generation &&
         a->class_index == b->class_index && a->faces == b->faces;
}

static void
explain_job_free (ExplainJob *job)
{
  g_clear_pointer (&job->ensemble, shared_ensemble_unref);
  explain_key_clear (&job->key);
  g_free (job->path);
  g_clear_pointer (&job->faces, g_ptr_array_unref);
  g_clear_object (&job->image);
  g_clear_pointer (&job->maps, g_ptr_array_unref);
  g_clear_object (&job->overlay);
  g_clear_error (&job->error);
  g_free (job);
}

static int
explain_input_size (SharedEnsemble *shared)
{
  int size;

  g_mutex_lock (&shared->lock);
  size = mien_model_get_input_size (mien_ensemble_get_model (shared->ensemble, 0));
  g_mutex_unlock (&shared->lock);
  return size;
}

/* The Grad-CAM maps of `image` for `class_index`, as mien_explain_grad_cam_ensemble () gives
 * them: the image is resized to the first member's input size (members of other sizes are
 * refused there, naming them); grey models take its luminance in mien_model_prepare_input (). */
static RegionMaps *
explain_pixbuf (SharedEnsemble *shared,
                GdkPixbuf      *image,
                guint           class_index,
                GError        **error)
{
  g_autoptr(MienTensor) images = NULL;
  g_autofree guint8 *pixels = NULL;
  RegionMaps *maps = g_new0 (RegionMaps, 1);
  int size = explain_input_size (shared);

  maps->class_index = class_index;
  pixels = g_malloc ((gsize) 3 * size * size);
  g_mutex_lock (&shared->lock);
  if (mien_image_from_pixbuf (image, size, FALSE, pixels, NULL, error) &&
      (images = mien_image_batch_tensor (pixels, 1, size, error)) != NULL)
    maps->average = mien_explain_grad_cam_ensemble (shared->ensemble, images, class_index,
                                                    &maps->members, error);
  g_mutex_unlock (&shared->lock);
  if (maps->average == NULL)
    g_clear_pointer (&maps, region_maps_free);
  return maps;
}

/* Each face's maps: of the crop the models classified (aligned as predict_faces () did, at
 * their input size), for the chosen class or the face's own predicted one. */
static GPtrArray *
explain_faces (ExplainJob   *job,
               GCancellable *cancellable,
               GError      **error)
{
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (region_maps_free);
  int size = explain_input_size (job->ensemble);
  guint n_classes = mien_ensemble_get_n_classes (job->ensemble->ensemble);

  for (guint f = 0; f < job->faces->len && !g_cancellable_is_cancelled (cancellable); f++)
    {
      FaceResult *face = job->faces->pdata[f];
      g_autoptr(GdkPixbuf) crop = mien_face_align (job->image, &face->face, &face->align, size,
                                                   FALSE);
      guint class_index = job->key.class_index != FACE_CLASS
                          ? job->key.class_index
                          : mien_probabilities_argmax (face->average, n_classes);
      RegionMaps *maps;

      if (crop == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                       _("Not enough memory for the crop of face %u"), f + 1);
          return NULL;
        }
      if ((maps = explain_pixbuf (job->ensemble, crop, class_index, error)) == NULL)
        return NULL;
      g_ptr_array_add (all, maps);
    }
  return g_steal_pointer (&all);
}

/* `image` with each face's map drawn over the crop it is of (turned as the crop was) at
 * `opacity`, coloured as mien_explain_overlay () colours. */
static GdkPixbuf *
overlay_faces (GdkPixbuf *image,
               GPtrArray *faces,
               GPtrArray *maps,
               int        member,
               double     opacity,
               GError   **error)
{
  int width = gdk_pixbuf_get_width (image), height = gdk_pixbuf_get_height (image);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
  cairo_t *cr = cairo_create (surface);
  GdkPixbuf *overlay = NULL;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gdk_cairo_set_source_pixbuf (cr, image, 0, 0);
  cairo_paint (cr);
  for (guint f = 0; f < maps->len; f++)
    {
      FaceResult *face = faces->pdata[f];
      MienTensor *map = region_maps_get (maps->pdata[f], member);
      int size = (int) mien_tensor_size (map, mien_tensor_ndim (map) - 1);
      g_autoptr(GdkPixbuf) blank = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, size, size);
      g_autoptr(GdkPixbuf) colours = NULL;
      double cx, cy, side, angle;

      /* At opacity 1 the drawing is the map's colours alone. */
      gdk_pixbuf_fill (blank, 0);
      if ((colours = mien_explain_overlay (blank, map, 1.0, error)) == NULL)
        goto out;
      mien_face_align_geometry (&face->face, &face->align, &cx, &cy, &side, &angle);
      cairo_save (cr);
      cairo_translate (cr, cx, cy);
      cairo_rotate (cr, angle);
      cairo_scale (cr, side / size, side / size);
      gdk_cairo_set_source_pixbuf (cr, colours, -size / 2.0, -size / 2.0);
      cairo_paint_with_alpha (cr, opacity);
      cairo_restore (cr);
    }
  overlay = gdk_pixbuf_get_from_surface (surface, 0, 0, width, height);
out:
  G_GNUC_END_IGNORE_DEPRECATIONS
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
  return overlay;
}

static void
explain_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  ExplainJob *job = task_data;

  if (job->image == NULL && job->error == NULL)
    job->image = mien_image_load (job->path, &job->error);
  if (job->maps == NULL && job->error == NULL && !g_cancellable_is_cancelled (cancellable))
    {
      if (job->key.faces)
        job->maps = explain_faces (job, cancellable, &job->error);
      else
        {
          RegionMaps *maps = explain_pixbuf (job->ensemble, job->image, job->key.class_index,
                                             &job->error);

          if (maps != NULL)
            {
              job->maps = g_ptr_array_new_with_free_func (region_maps_free);
              g_ptr_array_add (job->maps, maps);
            }
        }
    }
  if (job->maps == NULL || g_cancellable_is_cancelled (cancellable))
    {
      g_task_return_boolean (task, FALSE);
      return;
    }
  /* Kept as the maps' error, so that a drawing that cannot be made is not tried again. */
  if (job->key.faces)
    job->overlay = overlay_faces (job->image, job->faces, job->maps, job->member, job->opacity,
                                  &job->error);
  else
    job->overlay = mien_explain_overlay (job->image, region_maps_get (job->maps->pdata[0],
                                                                      job->member),
                                         job->opacity, &job->error);
  g_task_return_boolean (task, job->overlay != NULL);
}

/* The selected item when its explanation is wanted and can be computed (its probabilities are
 * known, for "Predicted class"; its faces, when they are what is shown), and the class to
 * explain. */
static MienPredictItem *
explain_target (MienPredictPage *self,
                guint           *class_index,
                gboolean        *faces)
{
  MienPredictItem *item = selected_item (self);
  gboolean chosen;

  if (!self->explain || item == NULL || item->error != NULL)
    return NULL;
  *faces = item_wants_faces (self, item);
  if (*faces ? !item_faces_fresh (self, item) || item->faces->len == 0
             : !item_is_fresh (self, item))
    return NULL;
  chosen = self->explain_class >= 0 && (guint) self->explain_class < item->n_classes;
  if (chosen)
    *class_index = (guint) self->explain_class;
  else
    *class_index = *faces ? FACE_CLASS : mien_probabilities_argmax (item->average,
                                                                    item->n_classes);
  return item;
}

/* The explanation the current choices want (its item NULL: none). */
static ExplainKey
wanted_explanation (MienPredictPage *self)
{
  ExplainKey want = { 0 };

  want.item = explain_target (self, &want.class_index, &want.faces);
  want.generation = self->generation;
  return want;
}

static gboolean
overlay_is_current (MienPredictPage *self)
{
  ExplainKey want = wanted_explanation (self);

  return self->overlay != NULL && explain_key_equal (&self->explained, &want) &&
         self->overlay_member == self->explain_member &&
         self->overlay_opacity == self->explain_opacity;
}

static void
show_picture (MienPredictPage *self,
              MienPredictItem *item)
{
  ExplainKey want = wanted_explanation (self);

  /* While another opacity or member is drawn, the last drawing of the same map stays. */
  if (item != NULL && self->overlay_texture != NULL && item == want.item &&
      explain_key_equal (&self->explained, &want))
    gtk_picture_set_paintable (self->picture, GDK_PAINTABLE (self->overlay_texture));
  else
    gtk_picture_set_paintable (self->picture, item != NULL ? GDK_PAINTABLE (item->texture) : NULL);
}

static void explain_done (GObject      *source,
                          GAsyncResult *result,
                          gpointer      user_data);

static void
start_explain_job (MienPredictPage  *self,
                   const ExplainKey *key,
                   GCancellable     *cancellable)
{
  g_autoptr(GTask) task = NULL;
  ExplainJob *job = g_new0 (ExplainJob, 1);

  job->ensemble = shared_ensemble_ref (self->ensemble);
  job->path = g_strdup (key->item->path);
  job->key.item = g_object_ref (key->item);
  job->key.generation = key->generation;
  job->key.class_index = key->class_index;
  job->key.faces = key->faces;
  if (key->faces)
    job->faces = g_ptr_array_ref (key->item->faces);
  job->member = self->explain_member;
  job->opacity = self->explain_opacity;
  /* The maps travel with the job and come back with it: it is cancelled only when they are
   * of no use anymore. */
  if (explain_key_equal (&self->explained, key) && self->explained_maps != NULL)
    {
      job->image = g_steal_pointer (&self->explained_image);
      job->maps = g_steal_pointer (&self->explained_maps);
    }
  self->explain_job = job;
  task = g_task_new (self, cancellable, explain_done, NULL);
  g_task_set_source_tag (task, start_explain_job);
  g_task_set_task_data (task, job, (GDestroyNotify) explain_job_free);
  g_task_run_in_thread (task, explain_thread);
}

static void
explain_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  MienPredictPage *self = MIEN_PREDICT_PAGE (source);
  ExplainJob *job = g_task_get_task_data (G_TASK (result));

  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  self->explain_job = NULL;
  /* Cancelled: its image, model or class changed while it ran; its maps are of no use. */
  if (!g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))) &&
      (job->maps != NULL || job->error != NULL))
    {
      if (!explain_key_equal (&self->explained, &job->key))
        {
          g_clear_object (&self->overlay);
          g_clear_object (&self->overlay_texture);
        }
      explain_key_clear (&self->explained);
      self->explained = job->key;
      job->key.item = NULL;
      g_set_object (&self->explained_image, job->image);
      g_clear_pointer (&self->explained_maps, g_ptr_array_unref);
      self->explained_maps = g_steal_pointer (&job->maps);
      g_clear_error (&self->explain_error);
      self->explain_error = g_steal_pointer (&job->error);
      if (job->overlay != NULL)
        {
          g_set_object (&self->overlay, job->overlay);
          g_clear_object (&self->overlay_texture);
          G_GNUC_BEGIN_IGNORE_DEPRECATIONS
          self->overlay_texture = gdk_texture_new_for_pixbuf (job->overlay);
          G_GNUC_END_IGNORE_DEPRECATIONS
          self->overlay_member = job->member;
          self->overlay_opacity = job->opacity;
        }
    }
  update_explain (self);
}

/* Starts what the explanation shown lacks (one job at a time: the newest request wins, the
 * others are cancelled), and says where it stands. */
static void
update_explain (MienPredictPage *self)
{
  ExplainKey want = wanted_explanation (self);
  MienPredictItem *item = selected_item (self);
  g_autofree char *message = NULL;
  gboolean is_error = FALSE;

  gtk_widget_set_visible (GTK_WIDGET (self->explain_controls), self->explain);

  if (self->explain_job != NULL)
    {
      if (!explain_key_equal (&self->explain_job->key, &want))
        g_cancellable_cancel (self->explain_cancellable);
    }
  else if (want.item != NULL && !overlay_is_current (self) &&
           !(explain_key_equal (&self->explained, &want) && self->explain_error != NULL))
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();

      g_set_object (&self->explain_cancellable, cancellable);
      start_explain_job (self, &want, cancellable);
    }

  if (!self->explain || item == NULL)
    ;
  else if (want.item != NULL && explain_key_equal (&self->explained, &want) &&
           self->explain_error != NULL)
    {
      is_error = TRUE;
      if (g_error_matches (self->explain_error, MIEN_BACKBONE_ERROR,
                           MIEN_BACKBONE_ERROR_UNSUPPORTED) ||
          g_error_matches (self->explain_error, MIEN_MODEL_ERROR, MIEN_MODEL_ERROR_UNSUPPORTED))
        /* Translators: %s says what the model lacks */
        message = g_strdup_printf (_("These models cannot be explained yet: %s"),
                                   self->explain_error->message);
      else
        /* Translators: %s says why */
        message = g_strdup_printf (_("Could not explain this image: %s"),
                                   self->explain_error->message);
    }
  else if (want.item != NULL && self->explain_job != NULL)
    message = g_strdup (_("Explaining…"));
  show_message (self->explain_label, message, is_error);
  show_picture (self, item);
}

/* The class and member pickers of the current ensemble ("Predicted class" and "Average"
 * first); the choices go back to those. */
static void
rebuild_explain_choices (MienPredictPage *self)
{
  MienEnsemble *ensemble = self->ensemble != NULL ? self->ensemble->ensemble : NULL;
  guint n_models = ensemble != NULL ? mien_ensemble_get_n_models (ensemble) : 0;
  g_autoptr(GtkStringList) classes = gtk_string_list_new (NULL);
  g_autoptr(GtkStringList) members = gtk_string_list_new (NULL);

  gtk_string_list_append (classes, _("Predicted class"));
  for (guint c = 0; ensemble != NULL && c < mien_ensemble_get_n_classes (ensemble); c++)
    {
      g_autofree char *name = mien_ui_capitalise (mien_ensemble_get_classes (ensemble)[c]);

      gtk_string_list_append (classes, name);
    }
  /* Translators: the ensemble's map, the mean of its models' */
  gtk_string_list_append (members, _("Average"));
  for (guint i = 0; i < n_models; i++)
    gtk_string_list_append (members, self->model_names[i]);
  gtk_drop_down_set_model (self->explain_class_dropdown, G_LIST_MODEL (classes));
  gtk_drop_down_set_model (self->explain_member_dropdown, G_LIST_MODEL (members));
  gtk_drop_down_set_selected (self->explain_class_dropdown, 0);
  gtk_drop_down_set_selected (self->explain_member_dropdown, 0);
  gtk_widget_set_visible (GTK_WIDGET (self->explain_member_dropdown), n_models > 1);
}

/* The dropdowns' first entries ("Predicted class", "Average") are -1. */
static int
dropdown_choice (GtkDropDown *dropdown)
{
  guint selected = gtk_drop_down_get_selected (dropdown);

  return selected == GTK_INVALID_LIST_POSITION || selected == 0 ? -1 : (int) selected - 1;
}

static void
on_explain_changed (MienPredictPage *self)
{
  self->explain = gtk_switch_get_active (self->explain_switch);
  self->explain_class = dropdown_choice (self->explain_class_dropdown);
  self->explain_member = dropdown_choice (self->explain_member_dropdown);
  self->explain_opacity = gtk_range_get_value (GTK_RANGE (self->explain_opacity_scale));
  update_explain (self);
}

/* The colour scale, low (left) to high. */
static void
draw_legend (GtkDrawingArea *area,
             cairo_t        *cr,
             int             width,
             int             height,
             gpointer        user_data)
{
  for (int x = 0; x < width; x++)
    {
      guint8 rgb[3];

      mien_explain_colour (width > 1 ? (double) x / (width - 1) : 0.0, rgb);
      cairo_set_source_rgb (cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
      cairo_rectangle (cr, x, 0, 1, height);
      cairo_fill (cr);
    }
}

/* ---- Models ---------------------------------------------------------------------------------- */

/* A run's best model is named after its run folder; any other file after itself. */
static char *
model_name (MienPredictPage *self,
            const char      *path)
{
  g_autofree char *folder = g_path_get_dirname (path);
  MienRun *run = mien_studio_find_run (self->studio, folder);

  if (run != NULL && g_strcmp0 (mien_run_get_best_model (run), path) == 0)
    return g_strdup (mien_run_get_name (run));
  return g_path_get_basename (path);
}

static void
set_ensemble (MienPredictPage *self,
              MienEnsemble    *ensemble,
              char           **paths)
{
  g_clear_pointer (&self->ensemble, shared_ensemble_unref);
  g_clear_pointer (&self->model_names, g_strfreev);
  if (ensemble != NULL)
    {
      guint n = g_strv_length (paths);

      self->ensemble = shared_ensemble_new (ensemble);
      self->model_names = g_new0 (char *, n + 1);
      for (guint i = 0; i < n; i++)
        self->model_names[i] = model_name (self, paths[i]);
    }
  self->generation++;
  rebuild_charts (self);
  rebuild_explain_choices (self);
}

typedef struct {
  MienPredictPage *self;
  char           **paths;
} LoadData;

static void
on_ensemble_loaded (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  LoadData *data = user_data;
  MienPredictPage *self = data->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(MienEnsemble) ensemble = mien_studio_load_ensemble_finish (MIEN_STUDIO (source),
                                                                       result, &error);

  /* Cancelled: the page went away, or another selection's load replaced this one. */
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      self->loading = FALSE;
      if (ensemble == NULL)
        mien_studio_post_error (self->studio, _("Could not load the models"), error);
      set_ensemble (self, ensemble, data->paths);
      update_actions (self);
      show_current (self);
      process_next (self);
    }
  g_strfreev (data->paths);
  g_object_unref (data->self);
  g_free (data);
}

static void
on_models_changed (MienModelChooser *chooser,
                   MienPredictPage  *self)
{
  g_auto(GStrv) paths = mien_model_chooser_dup_selected (chooser);
  LoadData *data;

  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  if (paths[0] == NULL)
    {
      self->loading = FALSE;
      set_ensemble (self, NULL, NULL);
      update_actions (self);
      show_current (self);
      process_next (self);
      return;
    }

  self->loading = TRUE;
  set_busy (self, TRUE);
  update_actions (self);
  show_current (self);
  self->load_cancellable = g_cancellable_new ();
  data = g_new0 (LoadData, 1);
  data->self = g_object_ref (self);
  data->paths = g_steal_pointer (&paths);
  mien_studio_load_ensemble_async (self->studio, (const char * const *) data->paths,
                                   self->load_cancellable, on_ensemble_loaded, data);
}

/* ---- Opening images -------------------------------------------------------------------------- */

/* Adds `file` (or finds it among the open ones) and selects it. */
static gboolean
open_one (MienPredictPage *self,
          GFile           *file,
          gboolean         select)
{
  g_autofree char *path = g_file_get_path (file);
  g_autoptr(MienPredictItem) item = NULL;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->items));

  if (path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (file);
      g_autofree char *message = g_strdup_printf (_("Only local files can be predicted, not %s"),
                                                  uri);

      mien_studio_post_message (self->studio, message);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(MienPredictItem) other = g_list_model_get_item (G_LIST_MODEL (self->items), i);

      if (g_str_equal (other->path, path))
        {
          if (select)
            gtk_single_selection_set_selected (self->selection, i);
          return TRUE;
        }
    }
  item = mien_predict_item_new (file, path);
  g_list_store_append (self->items, item);
  if (select)
    gtk_single_selection_set_selected (self->selection, n);
  return TRUE;
}

static void
open_files (MienPredictPage *self,
            GSList          *files)
{
  gboolean first = TRUE;

  for (GSList *l = files; l != NULL; l = l->next)
    if (open_one (self, l->data, first))
      first = FALSE;
  show_current (self);
  process_next (self);
}

static void
on_images_chosen (GListModel *files,
                  gpointer    user_data)
{
  g_autoptr(MienPredictPage) self = user_data;
  GSList *list = NULL;
  guint n = files != NULL ? g_list_model_get_n_items (files) : 0;

  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  for (guint i = n; i > 0; i--)
    list = g_slist_prepend (list, g_list_model_get_item (files, i - 1));
  open_files (self, list);
  g_slist_free_full (list, g_object_unref);
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  g_autoptr(GtkFileFilter) images = mien_ui_filter_images ();
  GtkFileFilter *filters[] = { images, NULL };

  mien_ui_choose_files (widget, _("Open Images"), filters, on_images_chosen,
                        g_object_ref (widget));
}

/* ---- Folder → CSV ---------------------------------------------------------------------------- */

struct _FolderJob {
  char           *folder;
  char           *csv_path;
  SharedEnsemble *ensemble;
  GCancellable   *cancellable;
  int             permille;    /* atomic; -1 while listing */
  char           *text;        /* atomic: the latest progress text, taken by poll_folder () */
  guint           n_rows;
  guint           n_failed;
  char           *first_failure;
};

static void
folder_job_free (FolderJob *job)
{
  g_free (job->folder);
  g_free (job->csv_path);
  g_clear_pointer (&job->ensemble, shared_ensemble_unref);
  g_clear_object (&job->cancellable);
  g_free (job->first_failure);
  g_free (job->text);
  g_free (job);
}

static void
folder_progress (double      fraction,
                 const char *message,
                 gpointer    data)
{
  FolderJob *job = data;

  g_atomic_int_set (&job->permille, fraction < 0 ? -1 : (int) (fraction * 1000));
  g_free (g_atomic_pointer_exchange (&job->text, g_strdup (message)));
}

/* As mien-cli predict: an unreadable image is reported and left out. */
static void
folder_failure (const char   *path,
                const GError *error,
                gpointer      data)
{
  FolderJob *job = data;

  if (job->first_failure == NULL)
    job->first_failure = g_strdup (error->message);
  job->n_failed++;
}

static void
folder_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  FolderJob *job = task_data;
  const char *inputs[] = { job->folder, NULL };
  MienPredictCsvOptions options = { NULL, };
  GError *error = NULL;

  options.lock = &job->ensemble->lock;
  options.failure = folder_failure;
  options.failure_data = job;
  options.progress = folder_progress;
  options.progress_data = job;
  if (mien_ensemble_predict_csv (job->ensemble->ensemble, inputs, job->csv_path, &options,
                                 &job->n_rows, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
poll_folder (gpointer data)
{
  MienPredictPage *self = data;
  g_autofree char *text = NULL;
  int permille;

  if (self->folder == NULL)
    {
      self->folder_poll_id = 0;
      return G_SOURCE_REMOVE;
    }
  permille = g_atomic_int_get (&self->folder->permille);
  text = g_atomic_pointer_exchange (&self->folder->text, NULL);
  if (permille < 0)
    gtk_progress_bar_pulse (self->folder_bar);
  else
    gtk_progress_bar_set_fraction (self->folder_bar, permille / 1000.0);
  if (text != NULL)
    gtk_progress_bar_set_text (self->folder_bar, text);
  return G_SOURCE_CONTINUE;
}

static void
folder_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  MienPredictPage *self = MIEN_PREDICT_PAGE (source);
  FolderJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  self->folder = NULL;
  g_clear_handle_id (&self->folder_poll_id, g_source_remove);
  gtk_widget_set_visible (GTK_WIDGET (self->folder_box), FALSE);
  update_actions (self);

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        mien_studio_post_message (self->studio, _("Stopped predicting the folder; nothing was written"));
      else
        mien_ui_show_error (GTK_WIDGET (self), _("Could not predict the folder"), error);
      return;
    }
  if (job->n_failed > 0)
    {
      g_autofree char *message =
        g_strdup_printf (ngettext ("Wrote %u predictions to %s; %u image could not be read (%s)",
                                   "Wrote %u predictions to %s; %u images could not be read (%s)",
                                   job->n_failed),
                         job->n_rows, job->csv_path, job->n_failed, job->first_failure);

      mien_studio_post_message (self->studio, message);
    }
  else
    {
      g_autofree char *message =
        g_strdup_printf (ngettext ("Wrote %u prediction to %s", "Wrote %u predictions to %s",
                                   job->n_rows),
                         job->n_rows, job->csv_path);

      mien_studio_post_message (self->studio, message);
    }
}

static void
start_folder (MienPredictPage *self,
              const char      *folder,
              const char      *csv_path)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *name = g_path_get_basename (folder);
  g_autofree char *label = NULL;
  FolderJob *job;

  if (self->ensemble == NULL || self->folder != NULL)
    return;
  job = g_new0 (FolderJob, 1);
  job->folder = g_strdup (folder);
  job->csv_path = g_strdup (csv_path);
  job->ensemble = shared_ensemble_ref (self->ensemble);
  job->cancellable = g_cancellable_new ();
  job->permille = -1;
  self->folder = job;

  /* Translators: the folder being predicted */
  label = g_strdup_printf (_("Predicting %s"), name);
  gtk_label_set_text (self->folder_label, label);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->folder_label), folder);
  gtk_progress_bar_set_fraction (self->folder_bar, 0.0);
  gtk_widget_set_visible (GTK_WIDGET (self->folder_box), TRUE);
  self->folder_poll_id = g_timeout_add (100, poll_folder, self);
  update_actions (self);

  task = g_task_new (self, job->cancellable, folder_done, NULL);
  g_task_set_source_tag (task, start_folder);
  g_task_set_task_data (task, job, (GDestroyNotify) folder_job_free);
  g_task_run_in_thread (task, folder_thread);
}

typedef struct {
  MienPredictPage *self;
  char            *folder;
} FolderChoice;

static void
on_csv_chosen (GFile    *file,
               gpointer  user_data)
{
  FolderChoice *choice = user_data;
  g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

  if (path != NULL && !g_cancellable_is_cancelled (choice->self->cancellable))
    start_folder (choice->self, choice->folder, path);
  g_object_unref (choice->self);
  g_free (choice->folder);
  g_free (choice);
}

static void
choose_csv_for (MienPredictPage *self,
                const char      *folder)
{
  g_autoptr(GtkFileFilter) csv = mien_ui_filter_csv ();
  GtkFileFilter *filters[] = { csv, NULL };
  g_autofree char *name = g_path_get_basename (folder);
  /* Translators: the suggested file name of a folder's predictions; %s is the folder's name */
  g_autofree char *suggested = g_strdup_printf (_("%s-predictions.csv"), name);
  FolderChoice *choice = g_new0 (FolderChoice, 1);

  choice->self = g_object_ref (self);
  choice->folder = g_strdup (folder);
  mien_ui_choose_file (GTK_WIDGET (self), _("Save the Predictions"),
                       GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), filters, suggested,
                       on_csv_chosen, choice);
}

static void
on_folder_chosen (GFile    *file,
                  gpointer  user_data)
{
  g_autoptr(MienPredictPage) self = user_data;
  g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

  if (path != NULL && !g_cancellable_is_cancelled (self->cancellable))
    choose_csv_for (self, path);
}

static void
open_folder_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  mien_ui_choose_file (widget, _("Predict a Folder"), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                       _("_Select"), NULL, NULL, on_folder_chosen, g_object_ref (widget));
}

static void
cancel_folder_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  MienPredictPage *self = MIEN_PREDICT_PAGE (widget);

  if (self->folder != NULL)
    g_cancellable_cancel (self->folder->cancellable);
}

/* ---- Faces ------------------------------------------------------------------------------------ */

static void
classify_whole_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  MienPredictPage *self = MIEN_PREDICT_PAGE (widget);
  MienPredictItem *item = selected_item (self);

  if (item == NULL)
    return;
  item->whole_requested = TRUE;
  show_current (self);
  process_next (self);
}

/* Every item's faces search over again: after the switch comes back on, or another detector. */
static void
forget_faces (MienPredictPage *self,
              gboolean         results)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->items));

  g_clear_pointer (&self->detector_error, g_free);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(MienPredictItem) item = g_list_model_get_item (G_LIST_MODEL (self->items), i);

      item->whole_requested = FALSE;
      g_clear_pointer (&item->faces_error, g_free);
      if (results)
        item->faces_generation = 0;
    }
}

static void
on_faces_setting_changed (GSettings       *settings,
                          const char      *key,
                          MienPredictPage *self)
{
  gboolean find_faces = g_settings_get_boolean (settings, "predict-faces");

  if (find_faces == self->find_faces)
    return;
  self->find_faces = find_faces;
  if (find_faces)
    forget_faces (self, FALSE);
  show_current (self);
  process_next (self);
}

static void
on_face_model_changed (GSettings       *settings,
                       const char      *key,
                       MienPredictPage *self)
{
  /* A job holding the old detector drops it when it comes back. */
  g_clear_object (&self->detector);
  self->detector_generation++;
  forget_faces (self, TRUE);
  show_current (self);
  process_next (self);
}

/* ---- Drag and drop ------------------------------------------------------------------------- */

static gboolean
on_drop (GtkDropTarget   *target,
         const GValue    *value,
         double           x,
         double           y,
         MienPredictPage *self)
{
  GSList *files = NULL;
  GSList *images = NULL;
  gboolean accepted = FALSE;

  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    files = g_slist_copy_deep (gdk_file_list_get_files (g_value_get_boxed (value)),
                               (GCopyFunc) (void (*) (void)) g_object_ref, NULL);
  else if (G_VALUE_HOLDS (value, G_TYPE_FILE))
    files = g_slist_prepend (NULL, g_value_dup_object (value));

  for (GSList *l = files; l != NULL; l = l->next)
    {
      GFile *file = l->data;
      g_autofree char *name = g_file_get_basename (file);
      g_autofree char *path = g_file_get_path (file);

      /* A folder is what "Predict a Folder" is for; it needs a model and a CSV to write. */
      if (path != NULL && g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (self->ensemble != NULL && self->folder == NULL && !self->loading)
            {
              choose_csv_for (self, path);
              accepted = TRUE;
            }
          else
            mien_studio_post_message (self->studio,
                                      _("Check a model first to predict a whole folder"));
        }
      else if (name != NULL && mien_dataset_is_image_name (name))
        images = g_slist_prepend (images, g_object_ref (file));
      else
        {
          g_autofree char *message =
            g_strdup_printf (_("%s is not an image Mien can read"), name != NULL ? name : "?");

          mien_studio_post_message (self->studio, message);
        }
    }
  images = g_slist_reverse (images);
  if (images != NULL)
    {
      open_files (self, images);
      accepted = TRUE;
    }
  g_slist_free_full (images, g_object_unref);
  g_slist_free_full (files, g_object_unref);
  return accepted;
}

/* ---- The strip ----------------------------------------------------------------------------- */

static void
setup_thumbnail (GtkSignalListItemFactory *factory,
                 GtkListItem              *list_item,
                 gpointer                  user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *picture = gtk_picture_new ();
  GtkWidget *label = gtk_label_new (NULL);

  gtk_widget_set_size_request (picture, 88, 88);
  gtk_picture_set_content_fit (GTK_PICTURE (picture), GTK_CONTENT_FIT_CONTAIN);
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 12);
  gtk_widget_add_css_class (label, "caption");
  gtk_box_append (GTK_BOX (box), picture);
  gtk_box_append (GTK_BOX (box), label);
  gtk_widget_set_margin_top (box, 4);
  gtk_widget_set_margin_bottom (box, 4);
  gtk_list_item_set_child (list_item, box);
}

static void
bind_thumbnail (GtkSignalListItemFactory *factory,
                GtkListItem              *list_item,
                gpointer                  user_data)
{
  MienPredictItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *box = gtk_list_item_get_child (list_item);
  GtkWidget *picture = gtk_widget_get_first_child (box);
  GtkWidget *label = gtk_widget_get_last_child (box);
  g_autofree char *name = g_file_get_basename (item->file);
  g_autoptr(GFile) parent = g_file_get_parent (item->file);
  g_autofree char *folder = parent != NULL ? g_file_get_basename (parent) : NULL;
  /* Images of a class-folder dataset share their names across classes: the folder tells. */
  g_autofree char *caption = folder != NULL ? g_build_filename (folder, name, NULL)
                                            : g_strdup (name);
  GBinding *binding;

  gtk_label_set_text (GTK_LABEL (label), caption);
  gtk_picture_set_alternative_text (GTK_PICTURE (picture), name);
  gtk_widget_set_tooltip_text (box, item->path);
  binding = g_object_bind_property (item, "texture", picture, "paintable", G_BINDING_SYNC_CREATE);
  g_object_set_data (G_OBJECT (list_item), "mien-binding", binding);
}

static void
unbind_thumbnail (GtkSignalListItemFactory *factory,
                  GtkListItem              *list_item,
                  gpointer                  user_data)
{
  GBinding *binding = g_object_steal_data (G_OBJECT (list_item), "mien-binding");

  if (binding != NULL)
    g_binding_unbind (binding);
}

static void
on_selection_changed (GtkSingleSelection *selection,
                      GParamSpec         *pspec,
                      MienPredictPage    *self)
{
  show_current (self);
  process_next (self);
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
mien_predict_page_dispose (GObject *object)
{
  MienPredictPage *self = MIEN_PREDICT_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->load_cancellable);
  g_cancellable_cancel (self->explain_cancellable);
  g_clear_object (&self->explain_cancellable);
  self->explain_job = NULL;  /* its task owns it */
  explain_key_clear (&self->explained);
  g_clear_object (&self->explained_image);
  g_clear_pointer (&self->explained_maps, g_ptr_array_unref);
  g_clear_error (&self->explain_error);
  g_clear_object (&self->overlay);
  g_clear_object (&self->overlay_texture);
  if (self->folder != NULL)
    g_cancellable_cancel (self->folder->cancellable);
  self->folder = NULL;  /* the task owns it */
  g_clear_handle_id (&self->folder_poll_id, g_source_remove);
  if (self->chooser != NULL)
    g_signal_handlers_disconnect_by_data (self->chooser, self);
  if (self->selection != NULL)
    g_signal_handlers_disconnect_by_data (self->selection, self);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);
  g_clear_object (&self->detector);
  g_clear_pointer (&self->detector_error, g_free);
  g_clear_pointer (&self->shown_faces, g_ptr_array_unref);
  self->chooser = NULL;
  g_clear_object (&self->selection);
  g_clear_object (&self->items);
  g_clear_object (&self->load_cancellable);
  g_clear_pointer (&self->ensemble, shared_ensemble_unref);
  g_clear_pointer (&self->model_names, g_strfreev);
  g_clear_object (&self->studio);
  G_OBJECT_CLASS (mien_predict_page_parent_class)->dispose (object);
}

static void
mien_predict_page_finalize (GObject *object)
{
  MienPredictPage *self = MIEN_PREDICT_PAGE (object);

  g_clear_object (&self->cancellable);
  g_ptr_array_unref (self->charts);
  G_OBJECT_CLASS (mien_predict_page_parent_class)->finalize (object);
}

static void
mien_predict_page_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  MienPredictPage *self = MIEN_PREDICT_PAGE (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_predict_page_class_init (MienPredictPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mien_predict_page_dispose;
  object_class->finalize = mien_predict_page_finalize;
  object_class->get_property = mien_predict_page_get_property;

  props[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/mienapp/Mien/ui/mien-predict-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, chooser_box);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, folder_box);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, folder_label);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, folder_bar);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, stack);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, picture_overlay);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, picture);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, faces_switch);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, note_label);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, no_face_page);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, faces_box);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, file_label);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, class_label);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, prob_label);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, charts_box);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, strip);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, explain_switch);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, explain_controls);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, explain_class_dropdown);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, explain_member_dropdown);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, explain_opacity_scale);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, explain_legend);
  gtk_widget_class_bind_template_child (widget_class, MienPredictPage, explain_label);

  gtk_widget_class_install_action (widget_class, "predict.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "predict.open-folder", NULL, open_folder_action);
  gtk_widget_class_install_action (widget_class, "predict.cancel-folder", NULL,
                                   cancel_folder_action);
  gtk_widget_class_install_action (widget_class, "predict.classify-whole", NULL,
                                   classify_whole_action);
}

static void
mien_predict_page_init (MienPredictPage *self)
{
  GtkListItemFactory *factory;
  GtkDropTarget *drop;
  GType types[] = { GDK_TYPE_FILE_LIST, G_TYPE_FILE };

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->charts = g_ptr_array_new ();
  self->boxes = MIEN_FACE_BOXES (mien_face_boxes_new ());
  gtk_overlay_add_overlay (self->picture_overlay, GTK_WIDGET (self->boxes));

  self->items = g_list_store_new (MIEN_TYPE_PREDICT_ITEM);
  self->selection = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->items)));
  g_signal_connect (self->selection, "notify::selected-item",
                    G_CALLBACK (on_selection_changed), self);
  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_thumbnail), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_thumbnail), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_thumbnail), NULL);
  gtk_list_view_set_factory (self->strip, factory);
  g_object_unref (factory);
  gtk_list_view_set_model (self->strip, GTK_SELECTION_MODEL (self->selection));

  drop = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (drop, types, G_N_ELEMENTS (types));
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  self->explain_class = -1;
  self->explain_member = -1;
  self->explain_opacity = gtk_range_get_value (GTK_RANGE (self->explain_opacity_scale));
  rebuild_explain_choices (self);
  gtk_drawing_area_set_draw_func (self->explain_legend, draw_legend, NULL, NULL);
  g_signal_connect_swapped (self->explain_switch, "notify::active",
                            G_CALLBACK (on_explain_changed), self);
  g_signal_connect_swapped (self->explain_class_dropdown, "notify::selected",
                            G_CALLBACK (on_explain_changed), self);
  g_signal_connect_swapped (self->explain_member_dropdown, "notify::selected",
                            G_CALLBACK (on_explain_changed), self);
  g_signal_connect_swapped (self->explain_opacity_scale, "value-changed",
                            G_CALLBACK (on_explain_changed), self);

  update_actions (self);
  show_current (self);
}

GtkWidget *
mien_predict_page_new (MienStudio *studio)
{
  MienPredictPage *self;

  g_return_val_if_fail (MIEN_IS_STUDIO (studio), NULL);

  self = g_object_new (MIEN_TYPE_PREDICT_PAGE, NULL);
  self->studio = g_object_ref (studio);
  self->settings = g_object_ref (mien_studio_get_settings (studio));
  self->find_faces = g_settings_get_boolean (self->settings, "predict-faces");
  g_settings_bind (self->settings, "predict-faces", self->faces_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_signal_connect (self->settings, "changed::predict-faces",
                    G_CALLBACK (on_faces_setting_changed), self);
  g_signal_connect (self->settings, "changed::face-model",
                    G_CALLBACK (on_face_model_changed), self);
  self->chooser = MIEN_MODEL_CHOOSER (mien_model_chooser_new (studio));
  gtk_box_append (self->chooser_box, GTK_WIDGET (self->chooser));
  g_signal_connect (self->chooser, "changed", G_CALLBACK (on_models_changed), self);
  return GTK_WIDGET (self);
}

void
mien_predict_page_set_models (MienPredictPage    *self,
                              const char * const *paths)
{
  g_return_if_fail (MIEN_IS_PREDICT_PAGE (self));

  /* Through the chooser, so that its checks show what is predicting; it says "changed" only
   * when the selection differs. */
  mien_model_chooser_set_selected (self->chooser, paths);
}

void
mien_predict_page_open_file (MienPredictPage *self,
                             GFile           *file)
{
  GSList one = { file, NULL };

  g_return_if_fail (MIEN_IS_PREDICT_PAGE (self));
  g_return_if_fail (G_IS_FILE (file));

  open_files (self, &one);
}

gboolean
mien_predict_page_get_busy (MienPredictPage *self)
{
  g_return_val_if_fail (MIEN_IS_PREDICT_PAGE (self), FALSE);
  return self->busy;
}

gboolean
mien_predict_page_get_probabilities (MienPredictPage  *self,
                                     guint            *n_models,
                                     guint            *n_classes,
                                     const float     **per_model,
                                     const float     **average)
{
  MienPredictItem *item;

  g_return_val_if_fail (MIEN_IS_PREDICT_PAGE (self), FALSE);

  item = selected_item (self);
  if (item == NULL || item_wants_faces (self, item) || !item_is_fresh (self, item))
    return FALSE;
  if (n_models != NULL)
    *n_models = item->n_models;
  if (n_classes != NULL)
    *n_classes = item->n_classes;
  if (per_model != NULL)
    *per_model = item->per_model;
  if (average != NULL)
    *average = item->average;
  return TRUE;
}

void
mien_predict_page_set_find_faces (MienPredictPage *self,
                                  gboolean         find_faces)
{
  g_return_if_fail (MIEN_IS_PREDICT_PAGE (self));

  /* Through the settings, so that the switch follows (and the choice is remembered). */
  g_settings_set_boolean (self->settings, "predict-faces", find_faces);
}

gboolean
mien_predict_page_get_find_faces (MienPredictPage *self)
{
  g_return_val_if_fail (MIEN_IS_PREDICT_PAGE (self), FALSE);
  return self->find_faces;
}

int
mien_predict_page_get_n_faces (MienPredictPage *self)
{
  MienPredictItem *item;

  g_return_val_if_fail (MIEN_IS_PREDICT_PAGE (self), -1);

  item = selected_item (self);
  if (item == NULL || !self->find_faces || !item_faces_fresh (self, item))
    return -1;
  return (int) item->faces->len;
}

gboolean
mien_predict_page_get_face_probabilities (MienPredictPage  *self,
                                          guint             face,
                                          MienFace         *box,
                                          guint            *n_models,
                                          guint            *n_classes,
                                          const float     **per_model,
                                          const float     **average)
{
  MienPredictItem *item;
  FaceResult *result;

  g_return_val_if_fail (MIEN_IS_PREDICT_PAGE (self), FALSE);

  item = selected_item (self);
  if (item == NULL || !self->find_faces || !item_faces_fresh (self, item) ||
      face >= item->faces->len)
    return FALSE;
  result = item->faces->pdata[face];
  if (box != NULL)
    *box = result->face;
  if (n_models != NULL)
    *n_models = item->n_models;
  if (n_classes != NULL)
    *n_classes = item->n_classes;
  if (per_model != NULL)
    *per_model = result->per_model;
  if (average != NULL)
    *average = result->average;
  return TRUE;
}

void
mien_predict_page_set_explain (MienPredictPage *self,
                               gboolean         explain)
{
  g_return_if_fail (MIEN_IS_PREDICT_PAGE (self));

  /* Through the widgets, so that they show the choice. */
  gtk_switch_set_active (self->explain_switch, explain);
}

void
mien_predict_page_set_explain_class (MienPredictPage *self,
                                     int              class_index)
{
  g_return_if_fail (MIEN_IS_PREDICT_PAGE (self));

  gtk_drop_down_set_selected (self->explain_class_dropdown, class_index < 0 ? 0 : class_index + 1);
}

void
mien_predict_page_set_explain_member (MienPredictPage *self,
                                      int              member)
{
  g_return_if_fail (MIEN_IS_PREDICT_PAGE (self));

  gtk_drop_down_set_selected (self->explain_member_dropdown, member < 0 ? 0 : member + 1);
}

void
mien_predict_page_set_explain_opacity (MienPredictPage *self,
                                       double           opacity)
{
  g_return_if_fail (MIEN_IS_PREDICT_PAGE (self));

  gtk_range_set_value (GTK_RANGE (self->explain_opacity_scale), opacity);
}

GdkPixbuf *
mien_predict_page_get_explain_overlay (MienPredictPage *self,
                                       guint           *class_index)
{
  g_return_val_if_fail (MIEN_IS_PREDICT_PAGE (self), NULL);

  if (!overlay_is_current (self))
    return NULL;
  if (class_index != NULL)
    *class_index = self->explained.class_index;
  return self->overlay;
}

MienTensor *
mien_predict_page_get_explain_face_map (MienPredictPage *self,
                                        guint            face,
                                        guint           *class_index)
{
  RegionMaps *maps;

  g_return_val_if_fail (MIEN_IS_PREDICT_PAGE (self), NULL);

  if (!overlay_is_current (self) || !self->explained.faces || face >= self->explained_maps->len)
    return NULL;
  maps = self->explained_maps->pdata[face];
  if (class_index != NULL)
    *class_index = maps->class_index;
  return region_maps_get (maps, self->explain_member);
}

const char *
mien_predict_page_get_explain_message (MienPredictPage *self)
{
  g_return_val_if_fail (MIEN_IS_PREDICT_PAGE (self), NULL);

  if (!gtk_widget_get_visible (GTK_WIDGET (self->explain_label)))
    return NULL;
  return gtk_label_get_text (self->explain_label);
}
