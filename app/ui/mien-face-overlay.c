/* mien-face-overlay.c — the face box and label renderer of the Predict and Live pages. */
#include "config.h"

#include "mien-chart.h"
#include "mien-face-overlay.h"
#include "mien-ui-util.h"

static const GdkRGBA label_colour = { 1.0f, 1.0f, 1.0f, 1.0f };

PangoLayout *
mien_face_overlay_layout (GtkWidget  *widget,
                          const char *text,
                          gboolean    bold,
                          double      scale)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (widget, text);
  PangoAttrList *attrs = pango_attr_list_new ();

  if (bold)
    pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
  if (scale != 1.0)
    pango_attr_list_insert (attrs, pango_attr_scale_new (scale));
  pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum=1"));
  pango_layout_set_attributes (layout, attrs);
  pango_attr_list_unref (attrs);
  return layout;
}

void
mien_face_overlay_append_layout (GtkSnapshot   *snapshot,
                                 PangoLayout   *layout,
                                 float          x,
                                 float          y,
                                 const GdkRGBA *colour)
{
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x, y));
  gtk_snapshot_append_layout (snapshot, layout, colour);
  gtk_snapshot_restore (snapshot);
}

void
mien_face_overlay_append_rounded (GtkSnapshot   *snapshot,
                                  float          x,
                                  float          y,
                                  float          width,
                                  float          height,
                                  float          radius,
                                  const GdkRGBA *colour)
{
  GskRoundedRect rounded;
  graphene_rect_t rect = GRAPHENE_RECT_INIT (x, y, width, height);

  gsk_rounded_rect_init_from_rect (&rounded, &rect, MIN (radius, MIN (width, height) / 2));
  gtk_snapshot_push_rounded_clip (snapshot, &rounded);
  gtk_snapshot_append_color (snapshot, colour, &rect);
  gtk_snapshot_pop (snapshot);
}

void
mien_face_overlay_append_box (GtkWidget             *widget,
                              GtkSnapshot           *snapshot,
                              const graphene_rect_t *box,
                              const char            *label,
                              double                 ox,
                              double                 oy,
                              double                 scale)
{
  GdkRGBA accent;
  GdkRGBA colours[4];
  GskRoundedRect border;
  float widths[4] = { 3, 3, 3, 3 };
  graphene_rect_t rect = GRAPHENE_RECT_INIT (ox + box->origin.x * scale,
                                             oy + box->origin.y * scale,
                                             box->size.width * scale,
                                             box->size.height * scale);

  mien_chart_palette (0, &accent);
  for (guint i = 0; i < 4; i++)
    colours[i] = accent;
  gsk_rounded_rect_init_from_rect (&border, &rect, 6);
  gtk_snapshot_append_border (snapshot, &border, widths, colours);

  if (label != NULL)
    {
      g_autoptr(PangoLayout) layout = mien_face_overlay_layout (widget, label, TRUE, 1.0);
      int tw, th;
      float lx, ly;

      pango_layout_get_pixel_size (layout, &tw, &th);
      lx = rect.origin.x;
      ly = rect.origin.y - th - 8;
      /* No room above the box (it starts at the frame's top): inside it instead. */
      if (ly < oy)
        {
          lx += 6;
          ly = rect.origin.y + 6;
        }
      mien_face_overlay_append_rounded (snapshot, lx, ly, tw + 16, th + 6, 6, &accent);
      mien_face_overlay_append_layout (snapshot, layout, lx + 8, ly + 3, &label_colour);
    }
}

/* ---- MienFaceBoxes ----------------------------------------------------------------------- */

typedef struct {
  graphene_rect_t box;   /* frame pixels */
  char           *text;
} FaceBox;

static void
face_box_clear (gpointer data)
{
  FaceBox *box = data;

  g_free (box->text);
}

struct _MienFaceBoxes
{
  GtkWidget  parent_instance;

  GArray    *boxes;  /* FaceBox */
  int        frame_width;
  int        frame_height;
};

G_DEFINE_FINAL_TYPE (MienFaceBoxes, mien_face_boxes, GTK_TYPE_WIDGET)

static void
mien_face_boxes_snapshot (GtkWidget   *widget,
                          GtkSnapshot *snapshot)
{
  MienFaceBoxes *self = MIEN_FACE_BOXES (widget);
  double ox, oy, scale;

  if (self->boxes->len == 0 || self->frame_width <= 0 || self->frame_height <= 0 ||
      gtk_widget_get_width (widget) <= 0 || gtk_widget_get_height (widget) <= 0)
    return;
  mien_ui_contain_rect (widget, self->frame_width, self->frame_height, &ox, &oy, &scale);
  for (guint i = 0; i < self->boxes->len; i++)
    {
      const FaceBox *box = &g_array_index (self->boxes, FaceBox, i);

      mien_face_overlay_append_box (widget, snapshot, &box->box, box->text, ox, oy, scale);
    }
}

static void
mien_face_boxes_finalize (GObject *object)
{
  MienFaceBoxes *self = MIEN_FACE_BOXES (object);

  g_array_unref (self->boxes);
  G_OBJECT_CLASS (mien_face_boxes_parent_class)->finalize (object);
}

static void
mien_face_boxes_class_init (MienFaceBoxesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = mien_face_boxes_finalize;
  widget_class->snapshot = mien_face_boxes_snapshot;
}

static void
mien_face_boxes_init (MienFaceBoxes *self)
{
  self->boxes = g_array_new (FALSE, TRUE, sizeof (FaceBox));
  g_array_set_clear_func (self->boxes, face_box_clear);
  gtk_widget_set_can_target (GTK_WIDGET (self), FALSE);
  gtk_widget_set_can_focus (GTK_WIDGET (self), FALSE);
}

GtkWidget *
mien_face_boxes_new (void)
{
  return g_object_new (MIEN_TYPE_FACE_BOXES, NULL);
}

void
mien_face_boxes_clear (MienFaceBoxes *self)
{
  g_return_if_fail (MIEN_IS_FACE_BOXES (self));

  if (self->boxes->len == 0)
    return;
  g_array_set_size (self->boxes, 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
mien_face_boxes_add (MienFaceBoxes  *self,
                     const MienFace *face,
                     char           *text)
{
  FaceBox box = { GRAPHENE_RECT_INIT (face->x, face->y, face->width, face->height), text };

  g_return_if_fail (MIEN_IS_FACE_BOXES (self));

  g_array_append_val (self->boxes, box);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
mien_face_boxes_set_frame_size (MienFaceBoxes *self,
                                int            width,
                                int            height)
{
  g_return_if_fail (MIEN_IS_FACE_BOXES (self));

  self->frame_width = width;
  self->frame_height = height;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
mien_face_boxes_get_n_boxes (MienFaceBoxes *self)
{
  g_return_val_if_fail (MIEN_IS_FACE_BOXES (self), 0);
  return self->boxes->len;
}
