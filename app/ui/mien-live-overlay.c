/* mien-live-overlay.c — the Live page's predictions drawn over its frames. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mien-chart.h"
#include "mien-explain.h"
#include "mien-face-overlay.h"
#include "mien-live-overlay.h"
#include "mien-ui-util.h"

struct _MienLiveOverlay
{
  GtkWidget        parent_instance;

  int              frame_width;   /* 0 while no frame is shown */
  int              frame_height;
  MienFrameRegion  region;
  GStrv            labels;        /* class names as headings */
  guint            n_classes;

  guint            n_models;
  /* Faces mode: the latest detection's boxes (`detected` once one came); region mode: the
   * latest prediction's region. */
  gboolean         detected;
  GArray          *boxes;         /* OverlayBox */
  /* The latest probabilities of each box's track (region mode: track 0). */
  GPtrArray       *probs;         /* OverlayProbs * */
  int              announced;     /* the class told to assistive technologies, or -1 */
  /* Explain: the latest maps and one texture per region, coloured once when they come. */
  MienFrameExplanation *explanation;
  GPtrArray            *map_textures; /* GdkTexture */
};

typedef struct {
  int   x, y, width, height;
  guint track_id;
} OverlayBox;

typedef struct {
  guint  track_id;
  guint  best;
  float *average;     /* n_classes */
  float *per_model;   /* n_models × n_classes */
} OverlayProbs;

static void
overlay_probs_free (gpointer data)
{
  OverlayProbs *probs = data;

  g_free (probs->average);
  g_free (probs->per_model);
  g_free (probs);
}

G_DEFINE_FINAL_TYPE (MienLiveOverlay, mien_live_overlay, GTK_TYPE_WIDGET)

static const GdkRGBA panel_colour = { 0.0f, 0.0f, 0.0f, 0.62f };
static const GdkRGBA text_colour = { 1.0f, 1.0f, 1.0f, 1.0f };
static const GdkRGBA track_colour = { 1.0f, 1.0f, 1.0f, 0.22f };
static const GdkRGBA bar_colour = { 1.0f, 1.0f, 1.0f, 0.75f };

static char *
format_percent (float probability)
{
  /* Translators: a probability as a percentage, e.g. “87 %”. */
  return g_strdup_printf (_("%.0f %%"), 100.0 * probability);
}

static OverlayProbs *
overlay_find_probs (MienLiveOverlay *self,
                    guint            track_id)
{
  for (guint i = 0; i < self->probs->len; i++)
    {
      OverlayProbs *probs = g_ptr_array_index (self->probs, i);

      if (probs->track_id == track_id)
        return probs;
    }
  return NULL;
}

/* A box's outline and, above it, its class and probability (and its face's number when there
 * are several, so that a class can tell which face is which). */
static void
snapshot_box (MienLiveOverlay    *self,
              GtkSnapshot        *snapshot,
              const OverlayBox   *box,
              const OverlayProbs *probs,
              gboolean            numbered,
              double              ox,
              double              oy,
              double              scale)
{
  graphene_rect_t rect = GRAPHENE_RECT_INIT (box->x, box->y, box->width, box->height);
  g_autofree char *text = NULL;

  if (probs != NULL && probs->best < self->n_classes)
    {
      g_autofree char *percent = format_percent (probs->average[probs->best]);

      text = numbered
             /* Translators: a face's number, its class and probability. */
             ? g_strdup_printf (_("#%u  %s  %s"), box->track_id, self->labels[probs->best],
                                percent)
             : g_strdup_printf ("%s  %s", self->labels[probs->best], percent);
    }
  mien_face_overlay_append_box (GTK_WIDGET (self), snapshot, &rect, text, ox, oy, scale);
}

/* A pill in the middle of the frame: what there is to say instead of boxes. */
static void
snapshot_notice (MienLiveOverlay *self,
                 GtkSnapshot     *snapshot,
                 const char      *text,
                 double           ox,
                 double           oy,
                 double           scale)
{
  g_autoptr(PangoLayout) layout = mien_face_overlay_layout (GTK_WIDGET (self), text, TRUE, 1.0);
  int tw, th;
  float x, y;

  pango_layout_get_pixel_size (layout, &tw, &th);
  x = ox + (self->frame_width * scale - tw) / 2;
  y = oy + (self->frame_height * scale - th) / 2;
  mien_face_overlay_append_rounded (snapshot, x - 14, y - 8, tw + 28, th + 16, (th + 16) / 2.0f,
                                    &panel_colour);
  mien_face_overlay_append_layout (snapshot, layout, x, y, &text_colour);
}

/* Per class: its name, a bar of the ensemble's probability (with one thin bar per model under
 * it when there are several) and the percentage; in a translucent panel at the frame's
 * bottom left. */
static void
snapshot_bars (MienLiveOverlay    *self,
               GtkSnapshot        *snapshot,
               const OverlayProbs *probs,
               const OverlayBox   *under,
               double              ox,
               double              oy,
               double              scale)
{
  const float pad = 10, gap = 8, bar_width = 110, bar_height = 7;
  const float model_bar = 2, model_gap = 1;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) percents = g_ptr_array_new_with_free_func (g_object_unref);
  GdkRGBA accent;
  int name_width = 0, percent_width = 0, row_height = 0;
  float panel_width, panel_height, px, py, extra;

  if (probs == NULL || self->n_classes == 0)
    return;

  for (guint c = 0; c < self->n_classes; c++)
    {
      g_autofree char *percent = format_percent (probs->average[c]);
      PangoLayout *name = mien_face_overlay_layout (GTK_WIDGET (self), self->labels[c],
                                                    c == probs->best, 0.83);
      PangoLayout *value = mien_face_overlay_layout (GTK_WIDGET (self), percent,
                                                     c == probs->best, 0.83);
      int w, h;

      pango_layout_get_pixel_size (name, &w, &h);
      name_width = MAX (name_width, w);
      row_height = MAX (row_height, h);
      pango_layout_get_pixel_size (value, &w, &h);
      percent_width = MAX (percent_width, w);
      g_ptr_array_add (names, name);
      g_ptr_array_add (percents, value);
    }
  /* Room for the per-model bars under the average's. */
  extra = self->n_models > 1 ? self->n_models * (model_bar + model_gap) : 0;
  row_height = MAX (row_height, (int) ceil (bar_height + extra)) + 4;

  panel_width = pad + name_width + gap + bar_width + gap + percent_width + pad;
  panel_height = pad + self->n_classes * row_height + pad - 4;
  if (under == NULL)
    {
      /* The only region: at the frame's bottom left, out of the way. */
      px = ox + 12;
      py = oy + self->frame_height * scale - 12 - panel_height;
    }
  else
    {
      /* One of several faces: under its box, or above it when there is no room below. */
      px = ox + under->x * scale;
      py = oy + (under->y + under->height) * scale + 6;
      if (py + panel_height > oy + self->frame_height * scale)
        py = oy + under->y * scale - 40 - panel_height;
      px = CLAMP (px, ox, ox + self->frame_width * scale - panel_width);
    }
  py = MAX (py, oy + 12);

  mien_chart_palette (0, &accent);
  mien_face_overlay_append_rounded (snapshot, px, py, panel_width, panel_height, 10, &panel_colour);

  for (guint c = 0; c < self->n_classes; c++)
    {
      float row_y = py + pad + c * row_height;
      float bar_x = px + pad + name_width + gap;
      float text_h = pango_layout_get_baseline (names->pdata[c]) / (float) PANGO_SCALE;
      float bar_y = row_y + MAX (0, text_h - bar_height - extra);
      float value = CLAMP (probs->average[c], 0.0f, 1.0f);
      int w, h;

      mien_face_overlay_append_layout (snapshot, names->pdata[c], px + pad, row_y, &text_colour);
      mien_face_overlay_append_rounded (snapshot, bar_x, bar_y, bar_width, bar_height,
                                        bar_height / 2, &track_colour);
      if (value > 0)
        mien_face_overlay_append_rounded (snapshot, bar_x, bar_y, MAX (bar_width * value, 1),
                                          bar_height, bar_height / 2,
                                          c == probs->best ? &accent : &bar_colour);
      for (guint m = 0; self->n_models > 1 && m < self->n_models; m++)
        {
          GdkRGBA colour;
          float p = CLAMP (probs->per_model[m * self->n_classes + c], 0.0f, 1.0f);

          mien_chart_palette (m + 1, &colour);
          gtk_snapshot_append_color (snapshot, &colour,
                                     &GRAPHENE_RECT_INIT (bar_x,
                                                          bar_y + bar_height + model_gap +
                                                          m * (model_bar + model_gap),
                                                          MAX (bar_width * p, 1), model_bar));
        }
      pango_layout_get_pixel_size (percents->pdata[c], &w, &h);
      mien_face_overlay_append_layout (snapshot, percents->pdata[c], px + panel_width - pad - w,
                                       row_y, &text_colour);
    }
}

/* Half transparent, so that the face shows through its map. */
#define MAP_ALPHA 128

/* Map `index` of the explanation in jet colours. */
static GdkTexture *
map_texture (const MienFrameExplanation *explanation,
             guint                       index)
{
  int size = explanation->map_size;
  const float *map = explanation->maps + (gsize) index * size * size;
  g_autofree guint8 *rgba = g_malloc ((gsize) 4 * size * size);
  g_autoptr(GBytes) bytes = NULL;

  for (int i = 0; i < size * size; i++)
    {
      mien_explain_colour (map[i], rgba + 4 * i);
      rgba[4 * i + 3] = MAP_ALPHA;
    }
  bytes = g_bytes_new_take (g_steal_pointer (&rgba), (gsize) 4 * size * size);
  return gdk_memory_texture_new (size, size, GDK_MEMORY_R8G8B8A8, bytes, (gsize) 4 * size);
}

static void
snapshot_maps (MienLiveOverlay *self,
               GtkSnapshot     *snapshot,
               double           ox,
               double           oy,
               double           scale)
{
  for (guint i = 0; self->explanation != NULL && i < self->map_textures->len; i++)
    {
      const MienMapPlace *place = &self->explanation->places[i];
      float width = place->width * scale, height = place->height * scale;

      /* Over the crop the models saw, turned as it was. */
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (ox + place->centre_x * scale,
                                                              oy + place->centre_y * scale));
      gtk_snapshot_rotate (snapshot, place->angle * 180.0 / G_PI);
      gtk_snapshot_append_texture (snapshot, self->map_textures->pdata[i],
                                   &GRAPHENE_RECT_INIT (-width / 2, -height / 2, width, height));
      gtk_snapshot_restore (snapshot);
    }
}

static void
mien_live_overlay_snapshot (GtkWidget   *widget,
                            GtkSnapshot *snapshot)
{
  MienLiveOverlay *self = MIEN_LIVE_OVERLAY (widget);
  double ox, oy, scale;

  if (self->frame_width <= 0 || self->frame_height <= 0 ||
      gtk_widget_get_width (widget) <= 0 || gtk_widget_get_height (widget) <= 0)
    return;

  mien_ui_contain_rect (GTK_WIDGET (self), self->frame_width, self->frame_height, &ox, &oy,
                        &scale);
  snapshot_maps (self, snapshot, ox, oy, scale);
  if (self->region == MIEN_FRAME_REGION_FACES)
    {
      if (self->detected && self->boxes->len == 0)
        snapshot_notice (self, snapshot, _("No face found"), ox, oy, scale);
      for (guint i = 0; i < self->boxes->len; i++)
        {
          const OverlayBox *box = &g_array_index (self->boxes, OverlayBox, i);

          snapshot_box (self, snapshot, box, overlay_find_probs (self, box->track_id),
                        self->boxes->len > 1, ox, oy, scale);
        }
      for (guint i = 0; i < self->boxes->len; i++)
        {
          const OverlayBox *box = &g_array_index (self->boxes, OverlayBox, i);

          snapshot_bars (self, snapshot, overlay_find_probs (self, box->track_id),
                         self->boxes->len > 1 ? box : NULL, ox, oy, scale);
        }
      return;
    }
  if (self->boxes->len > 0)
    {
      const OverlayBox *box = &g_array_index (self->boxes, OverlayBox, 0);

      snapshot_box (self, snapshot, box, overlay_find_probs (self, 0), FALSE, ox, oy, scale);
      snapshot_bars (self, snapshot, overlay_find_probs (self, 0), NULL, ox, oy, scale);
    }
  else
    {
      OverlayBox box = { 0, };

      /* Before the first prediction: where the models will look. */
      mien_frame_region_rect (self->region, self->frame_width, self->frame_height,
                              &box.x, &box.y, &box.width, &box.height);
      snapshot_box (self, snapshot, &box, NULL, FALSE, ox, oy, scale);
    }
}

static void
overlay_announce (MienLiveOverlay *self,
                  int              best)
{
  /* Told to assistive technologies when the class changes, not at every prediction. */
  if (best == self->announced)
    return;
  self->announced = best;
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  best >= 0 ? self->labels[best] : "", -1);
}

void
mien_live_overlay_set_explanation (MienLiveOverlay            *self,
                                   const MienFrameExplanation *explanation)
{
  g_return_if_fail (MIEN_IS_LIVE_OVERLAY (self));

  g_clear_pointer (&self->explanation, mien_frame_explanation_free);
  g_ptr_array_set_size (self->map_textures, 0);
  if (explanation != NULL)
    {
      self->explanation = mien_frame_explanation_copy (explanation);
      for (guint i = 0; i < explanation->n_regions; i++)
        g_ptr_array_add (self->map_textures, map_texture (explanation, i));
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const MienFrameExplanation *
mien_live_overlay_get_explanation (MienLiveOverlay *self)
{
  g_return_val_if_fail (MIEN_IS_LIVE_OVERLAY (self), NULL);
  return self->explanation;
}

void
mien_live_overlay_clear_prediction (MienLiveOverlay *self)
{
  g_array_set_size (self->boxes, 0);
  g_ptr_array_set_size (self->probs, 0);
  self->detected = FALSE;
  self->n_models = 0;
  g_clear_pointer (&self->explanation, mien_frame_explanation_free);
  g_ptr_array_set_size (self->map_textures, 0);
  overlay_announce (self, -1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
mien_live_overlay_set_classes (MienLiveOverlay    *self,
                               const char * const *classes)
{
  guint n = classes != NULL ? g_strv_length ((char **) classes) : 0;

  mien_live_overlay_clear_prediction (self);
  g_strfreev (self->labels);
  self->labels = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    self->labels[i] = mien_ui_capitalise (classes[i]);
  self->n_classes = n;
}

const char *
mien_live_overlay_get_label (MienLiveOverlay *self,
                             guint            index)
{
  g_return_val_if_fail (MIEN_IS_LIVE_OVERLAY (self), NULL);
  return index < self->n_classes ? self->labels[index] : NULL;
}

static void
overlay_set_boxes (MienLiveOverlay           *self,
                   const MienFramePrediction *prediction)
{
  g_array_set_size (self->boxes, prediction->n_regions);
  for (guint i = 0; i < prediction->n_regions; i++)
    {
      const MienRegionPrediction *region = &prediction->regions[i];
      OverlayBox *box = &g_array_index (self->boxes, OverlayBox, i);

      box->x = region->x;
      box->y = region->y;
      box->width = region->width;
      box->height = region->height;
      box->track_id = region->track_id;
    }
}

/* Faces mode: the boxes of the newest frame, drawn with their tracks' latest classes. */
void
mien_live_overlay_set_detection (MienLiveOverlay           *self,
                                 const MienFramePrediction *detection)
{
  overlay_set_boxes (self, detection);
  self->detected = TRUE;
  /* Tracks that are gone take their probabilities with them. */
  for (guint i = self->probs->len; i-- > 0;)
    {
      OverlayProbs *probs = g_ptr_array_index (self->probs, i);
      gboolean seen = FALSE;

      for (guint b = 0; b < self->boxes->len && !seen; b++)
        seen = g_array_index (self->boxes, OverlayBox, b).track_id == probs->track_id;
      if (!seen)
        g_ptr_array_remove_index_fast (self->probs, i);
    }
  if (self->boxes->len == 0)
    overlay_announce (self, -1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
mien_live_overlay_set_prediction (MienLiveOverlay           *self,
                                  const MienFramePrediction *prediction)
{
  /* A prediction of other classes than the labels' (models changing) is not drawn. */
  if (prediction->n_classes != self->n_classes || prediction->n_classes == 0)
    return;

  /* In faces mode the detections, which are newer, place the boxes. */
  if (!prediction->faces)
    overlay_set_boxes (self, prediction);
  self->n_models = prediction->n_models;
  for (guint i = 0; i < prediction->n_regions; i++)
    {
      const MienRegionPrediction *region = &prediction->regions[i];
      OverlayProbs *probs = overlay_find_probs (self, region->track_id);

      if (probs == NULL)
        {
          probs = g_new0 (OverlayProbs, 1);
          probs->track_id = region->track_id;
          g_ptr_array_add (self->probs, probs);
        }
      g_free (probs->average);
      g_free (probs->per_model);
      probs->average = g_memdup2 (region->average, sizeof (float) * prediction->n_classes);
      probs->per_model = g_memdup2 (region->per_model, sizeof (float) * prediction->n_classes *
                                                       prediction->n_models);
      probs->best = region->best_class;
    }
  if (prediction->n_regions > 0)
    overlay_announce (self, prediction->regions[0].best_class);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
mien_live_overlay_set_frame_size (MienLiveOverlay *self,
                                  int              width,
                                  int              height)
{
  if (self->frame_width == width && self->frame_height == height)
    return;
  self->frame_width = width;
  self->frame_height = height;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
mien_live_overlay_set_region (MienLiveOverlay *self,
                              MienFrameRegion  region)
{
  gboolean faces_changed = (region == MIEN_FRAME_REGION_FACES) !=
                           (self->region == MIEN_FRAME_REGION_FACES);

  self->region = region;
  /* Boxes of one kind are no use to the other. */
  if (faces_changed)
    mien_live_overlay_clear_prediction (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Pango loads a face the first time text uses it (tens of milliseconds from disk, longer on a
 * busy machine): done when the page is realized rather than at the first prediction, while
 * frames are streaming. */
static void
mien_live_overlay_realize (GtkWidget *widget)
{
  MienLiveOverlay *self = MIEN_LIVE_OVERLAY (widget);

  GTK_WIDGET_CLASS (mien_live_overlay_parent_class)->realize (widget);
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(PangoLayout) layout = mien_face_overlay_layout (GTK_WIDGET (self), "Ag 100 %",
                                                                i % 2 == 0, i < 2 ? 1.0 : 0.83);
      int width, height;

      pango_layout_get_pixel_size (layout, &width, &height);
    }
}

static void
mien_live_overlay_finalize (GObject *object)
{
  MienLiveOverlay *self = MIEN_LIVE_OVERLAY (object);

  g_strfreev (self->labels);
  g_array_unref (self->boxes);
  g_ptr_array_unref (self->probs);
  g_clear_pointer (&self->explanation, mien_frame_explanation_free);
  g_ptr_array_unref (self->map_textures);
  G_OBJECT_CLASS (mien_live_overlay_parent_class)->finalize (object);
}

static void
mien_live_overlay_class_init (MienLiveOverlayClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = mien_live_overlay_finalize;
  widget_class->snapshot = mien_live_overlay_snapshot;
  widget_class->realize = mien_live_overlay_realize;
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
mien_live_overlay_init (MienLiveOverlay *self)
{
  self->labels = g_new0 (char *, 1);
  self->map_textures = g_ptr_array_new_with_free_func (g_object_unref);
  self->region = MIEN_FRAME_REGION_CENTRE;
  self->boxes = g_array_new (FALSE, TRUE, sizeof (OverlayBox));
  self->probs = g_ptr_array_new_with_free_func (overlay_probs_free);
  self->announced = -1;
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Live predictions"), -1);
}

GtkWidget *
mien_live_overlay_new (void)
{
  return g_object_new (MIEN_TYPE_LIVE_OVERLAY, NULL);
}

MienFrameRegion
mien_live_overlay_get_region (MienLiveOverlay *self)
{
  g_return_val_if_fail (MIEN_IS_LIVE_OVERLAY (self), MIEN_FRAME_REGION_CENTRE);
  return self->region;
}
