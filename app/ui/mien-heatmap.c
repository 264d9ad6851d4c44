/* mien-heatmap.c — a confusion matrix: rows are true classes, columns predicted ones; cells
 * coloured by the share of their row, so that a rare class reads as clearly as a common one. */
#include "config.h"

#include <math.h>

#include <glib/gi18n-lib.h>

#include "mien-chart-private.h"

struct _MienHeatmap
{
  MienChart  parent_instance;

  char     **labels;
  guint64   *values;     /* n × n, row-major */
  guint64   *row_sums;
  guint      n;

  guint      sel_row;
  guint      sel_column;

  /* The grid as last drawn on screen. */
  gboolean   grid_valid;
  double     grid_x;
  double     grid_y;
  double     cell;
};

G_DEFINE_FINAL_TYPE (MienHeatmap, mien_heatmap, MIEN_TYPE_CHART)

enum {
  CELL_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* The scale's colour: GNOME blue, blended over the background by a cell's share of its row. */
static const GdkRGBA scale_color = { 0x1c / 255.0, 0x71 / 255.0, 0xd8 / 255.0, 1.0 };

static double
row_share (MienHeatmap *self,
           guint        row,
           guint        column)
{
  if (self->row_sums[row] == 0)
    return 0;
  return (double) self->values[row * self->n + column] / (double) self->row_sums[row];
}

/* ---- Drawing ------------------------------------------------------------------------------- */

static void
mien_heatmap_draw (MienChart     *chart,
                   cairo_t       *cr,
                   int            width,
                   int            height,
                   const GdkRGBA *fg)
{
  MienHeatmap *self = MIEN_HEATMAP (chart);
  gboolean exporting = mien_chart_is_exporting (chart);
  g_autofree char *true_title = NULL;
  g_autofree char *predicted_title = NULL;
  double top, label_w = 0, label_h = 0, axis_h, avail_w, avail_h, cell, grid_x, grid_y;
  double bottom, left, offset;
  gboolean rotate, show_share;

  top = mien_chart_draw_title (chart, cr, width, fg);
  if (top == 0)
    top = MIEN_CHART_MARGIN;

  if (self->n == 0)
    {
      if (!exporting)
        self->grid_valid = FALSE;
      mien_chart_draw_empty (chart, cr, 0, top, width, height - top, fg, _("No data"));
      return;
    }

  /* Translators: the axis title of a confusion matrix's rows */
  true_title = g_strdup (C_("confusion matrix", "True"));
  /* Translators: the axis title of a confusion matrix's columns */
  predicted_title = g_strdup (C_("confusion matrix", "Predicted"));

  for (guint i = 0; i < self->n; i++)
    {
      double w, h;

      mien_chart_text_size (chart, cr, self->labels[i], TRUE, 0.9, &w, &h);
      label_w = MAX (label_w, w);
      label_h = MAX (label_h, h);
    }
  mien_chart_text_size (chart, cr, true_title, TRUE, 0.9, NULL, &axis_h);

  left = MIEN_CHART_MARGIN + axis_h + 6 + label_w + 6;
  avail_w = width - left - MIEN_CHART_MARGIN;
  /* First guess with level column labels; turned ones need more room below. */
  avail_h = height - top - MIEN_CHART_MARGIN - (label_h + 6) - (axis_h + 4);
  cell = floor (MIN (avail_w, avail_h) / self->n);
  rotate = label_w > cell - 4;
  if (rotate)
    {
      bottom = (label_w + label_h) * G_SQRT2 / 2 + 6 + axis_h + 4;
      avail_h = height - top - MIEN_CHART_MARGIN - bottom;
      cell = floor (MIN (avail_w, avail_h) / self->n);
    }
  cell = MAX (cell, 4);
  show_share = cell >= 56;

  /* The block of axis title, labels and grid is centred, keeping the labels next to the grid. */
  offset = MAX (0, (avail_w - cell * self->n) / 2);
  grid_x = left + offset;
  grid_y = top;

  if (!exporting)
    {
      self->grid_valid = TRUE;
      self->grid_x = grid_x;
      self->grid_y = grid_y;
      self->cell = cell;
    }

  for (guint r = 0; r < self->n; r++)
    for (guint c = 0; c < self->n; c++)
      {
        double share = row_share (self, r, c);
        double x = grid_x + c * cell, y = grid_y + r * cell;
        g_autofree char *count = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                                  self->values[r * self->n + c]);

        /* Alpha-blended over whatever the background is: works in light and dark style. */
        if (share > 0)
          mien_chart_set_source (cr, &scale_color, 0.08 + 0.92 * share);
        else
          mien_chart_set_source (cr, fg, 0.04);
        cairo_rectangle (cr, x + 0.5, y + 0.5, cell - 1, cell - 1);
        cairo_fill (cr);

        /* White on the dark half of the scale, the text colour on the light half. */
        if (share > 0.5)
          cairo_set_source_rgb (cr, 1, 1, 1);
        else
          gdk_cairo_set_source_rgba (cr, fg);

        if (show_share && self->row_sums[r] > 0)
          {
            g_autofree char *percent = g_strdup_printf ("%.0f%%", share * 100);
            double h;

            mien_chart_text_size (chart, cr, count, r == c, 1.0, NULL, &h);
            mien_chart_show_text (chart, cr, count, r == c, 1.0, x + cell / 2, y + cell / 2,
                                  0.5, 0.85, 0);
            mien_chart_show_text (chart, cr, percent, FALSE, 0.75, x + cell / 2,
                                  y + cell / 2 + 0.15 * h, 0.5, 0.0, 0);
          }
        else if (cell >= 18)
          mien_chart_show_text (chart, cr, count, r == c, cell >= 32 ? 0.9 : 0.7,
                                x + cell / 2, y + cell / 2, 0.5, 0.5, 0);
      }

  /* The focused cell, only on screen and only while the keyboard is there. */
  if (!exporting && gtk_widget_has_focus (GTK_WIDGET (self)))
    {
      gdk_cairo_set_source_rgba (cr, fg);
      cairo_set_line_width (cr, 2);
      cairo_rectangle (cr, grid_x + self->sel_column * cell + 1, grid_y + self->sel_row * cell + 1,
                       cell - 2, cell - 2);
      cairo_stroke (cr);
    }

  for (guint i = 0; i < self->n; i++)
    {
      gdk_cairo_set_source_rgba (cr, fg);
      mien_chart_show_text (chart, cr, self->labels[i], FALSE, 0.9, grid_x - 6,
                            grid_y + (i + 0.5) * cell, 1.0, 0.5, 0);
      if (rotate)
        mien_chart_show_text (chart, cr, self->labels[i], FALSE, 0.9,
                              grid_x + (i + 0.5) * cell, grid_y + self->n * cell + 4,
                              1.0, 0.0, -G_PI / 4);
      else
        mien_chart_show_text (chart, cr, self->labels[i], FALSE, 0.9,
                              grid_x + (i + 0.5) * cell, grid_y + self->n * cell + 4,
                              0.5, 0.0, 0);
    }

  mien_chart_set_source (cr, fg, 0.8);
  mien_chart_show_text (chart, cr, predicted_title, TRUE, 0.9, grid_x + self->n * cell / 2,
                        height - MIEN_CHART_MARGIN, 0.5, 1.0, 0);
  mien_chart_show_text (chart, cr, true_title, TRUE, 0.9, MIEN_CHART_MARGIN + offset,
                        grid_y + self->n * cell / 2, 0.5, 0.0, -G_PI / 2);
}

static char *
mien_heatmap_describe (MienChart *chart)
{
  MienHeatmap *self = MIEN_HEATMAP (chart);
  GString *text = g_string_new (NULL);

  /* A screen reader gets what the colours tell: how often each class is right, and the class
   * it is most often mistaken for. */
  for (guint r = 0; r < self->n; r++)
    {
      guint64 worst = 0;
      guint worst_c = 0;
      /* Counts as text: a G_GUINT64_FORMAT inside a translatable string hides it from
       * xgettext. */
      g_autofree char *right = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                                self->values[r * self->n + r]);
      g_autofree char *total = g_strdup_printf ("%" G_GUINT64_FORMAT, self->row_sums[r]);

      for (guint c = 0; c < self->n; c++)
        if (c != r && self->values[r * self->n + c] > worst)
          {
            worst = self->values[r * self->n + c];
            worst_c = c;
          }

      if (text->len > 0)
        g_string_append (text, "; ");
      /* Translators: class name, correct predictions, images of the class, percentage */
      g_string_append_printf (text, _("%s: %s of %s right (%.0f%%)"),
                              self->labels[r], right, total, row_share (self, r, r) * 100);
      if (worst > 0)
        {
          g_autofree char *count = g_strdup_printf ("%" G_GUINT64_FORMAT, worst);

          /* Translators: appended to the above: the class most often predicted instead, and
           * how often */
          g_string_append_printf (text, _(", most often taken for %s (%s)"),
                                  self->labels[worst_c], count);
        }
    }
  return g_string_free (text, FALSE);
}

/* ---- Input --------------------------------------------------------------------------------- */

static void
activate_selected (MienHeatmap *self)
{
  if (self->n == 0)
    return;
  g_signal_emit (self, signals[CELL_ACTIVATED], 0, self->sel_row, self->sel_column);
}

static void
move_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  MienHeatmap *self = MIEN_HEATMAP (widget);
  int dr, dc;

  if (self->n == 0)
    return;
  g_variant_get (parameter, "(ii)", &dr, &dc);
  mien_heatmap_select_cell (self,
                            CLAMP ((int) self->sel_row + dr, 0, (int) self->n - 1),
                            CLAMP ((int) self->sel_column + dc, 0, (int) self->n - 1));
}

static void
activate_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  activate_selected (MIEN_HEATMAP (widget));
}

static void
click_released (GtkGestureClick *gesture,
                int              n_press,
                double           x,
                double           y,
                MienHeatmap     *self)
{
  guint row, column;

  if (!mien_heatmap_get_cell_at (self, x, y, &row, &column))
    return;
  gtk_widget_grab_focus (GTK_WIDGET (self));
  mien_heatmap_select_cell (self, row, column);
  activate_selected (self);
}

static void
focus_changed (GtkEventControllerFocus *controller,
               MienHeatmap             *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
mien_heatmap_query_tooltip (GtkWidget  *widget,
                            int         x,
                            int         y,
                            gboolean    keyboard,
                            GtkTooltip *tooltip)
{
  MienHeatmap *self = MIEN_HEATMAP (widget);
  g_autofree char *text = NULL;
  g_autofree char *count = NULL;
  guint row, column;

  if (keyboard)
    {
      row = self->sel_row;
      column = self->sel_column;
      if (self->n == 0)
        return FALSE;
    }
  else if (!mien_heatmap_get_cell_at (self, x, y, &row, &column))
    return FALSE;

  count = g_strdup_printf ("%" G_GUINT64_FORMAT, self->values[row * self->n + column]);
  /* Translators: true class, predicted class, number of images, share of the true class */
  text = g_strdup_printf (_("True %s, predicted %s: %s (%.0f%% of %s)"),
                          self->labels[row], self->labels[column], count,
                          row_share (self, row, column) * 100, self->labels[row]);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
mien_heatmap_measure (GtkWidget      *widget,
                      GtkOrientation  orientation,
                      int             for_size,
                      int            *minimum,
                      int            *natural,
                      int            *minimum_baseline,
                      int            *natural_baseline)
{
  /* About square: the grid is, plus its labels. */
  *minimum = 200;
  *natural = 420;
}

/* ---- Public API ---------------------------------------------------------------------------- */

GtkWidget *
mien_heatmap_new (void)
{
  return g_object_new (MIEN_TYPE_HEATMAP, NULL);
}

void
mien_heatmap_set_matrix (MienHeatmap        *self,
                         const char * const *labels,
                         const guint64      *values,
                         guint               n)
{
  g_return_if_fail (MIEN_IS_HEATMAP (self));
  g_return_if_fail (n == 0 || (labels != NULL && values != NULL));

  g_strfreev (self->labels);
  g_free (self->values);
  g_free (self->row_sums);

  self->n = n;
  self->labels = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    self->labels[i] = g_strdup (labels[i] != NULL ? labels[i] : "");
  self->values = g_new0 (guint64, MAX (1, n * n));
  if (n > 0)
    memcpy (self->values, values, n * n * sizeof (guint64));
  self->row_sums = g_new0 (guint64, MAX (1, n));
  for (guint r = 0; r < n; r++)
    for (guint c = 0; c < n; c++)
      self->row_sums[r] += self->values[r * n + c];

  if (self->sel_row >= n || self->sel_column >= n)
    self->sel_row = self->sel_column = 0;
  self->grid_valid = FALSE;
  mien_chart_changed (MIEN_CHART (self));
}

guint
mien_heatmap_get_size (MienHeatmap *self)
{
  g_return_val_if_fail (MIEN_IS_HEATMAP (self), 0);

  return self->n;
}

gboolean
mien_heatmap_get_cell_at (MienHeatmap *self,
                          double       x,
                          double       y,
                          guint       *row,
                          guint       *column)
{
  double c, r;

  g_return_val_if_fail (MIEN_IS_HEATMAP (self), FALSE);

  if (!self->grid_valid || self->n == 0 || self->cell <= 0)
    return FALSE;
  c = floor ((x - self->grid_x) / self->cell);
  r = floor ((y - self->grid_y) / self->cell);
  if (c < 0 || r < 0 || c >= self->n || r >= self->n)
    return FALSE;
  if (row != NULL)
    *row = (guint) r;
  if (column != NULL)
    *column = (guint) c;
  return TRUE;
}

void
mien_heatmap_select_cell (MienHeatmap *self,
                          guint        row,
                          guint        column)
{
  g_return_if_fail (MIEN_IS_HEATMAP (self));
  g_return_if_fail (self->n == 0 || (row < self->n && column < self->n));

  if (self->sel_row == row && self->sel_column == column)
    return;
  self->sel_row = row;
  self->sel_column = column;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
mien_heatmap_finalize (GObject *object)
{
  MienHeatmap *self = MIEN_HEATMAP (object);

  g_strfreev (self->labels);
  g_free (self->values);
  g_free (self->row_sums);
  G_OBJECT_CLASS (mien_heatmap_parent_class)->finalize (object);
}

static void
add_move_binding (GtkWidgetClass *widget_class,
                  guint           key,
                  guint           kp_key,
                  int             dr,
                  int             dc)
{
  gtk_widget_class_add_binding_action (widget_class, key, 0, "heatmap.move", "(ii)", dr, dc);
  gtk_widget_class_add_binding_action (widget_class, kp_key, 0, "heatmap.move", "(ii)", dr, dc);
}

static void
mien_heatmap_class_init (MienHeatmapClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  MienChartClass *chart_class = MIEN_CHART_CLASS (klass);

  object_class->finalize = mien_heatmap_finalize;
  widget_class->measure = mien_heatmap_measure;
  widget_class->query_tooltip = mien_heatmap_query_tooltip;
  chart_class->draw = mien_heatmap_draw;
  chart_class->describe = mien_heatmap_describe;

  /**
   * MienHeatmap::cell-activated:
   * @row: the true class
   * @column: the predicted class
   *
   * A cell was clicked, or Enter was pressed on the focused one.
   */
  signals[CELL_ACTIVATED] =
    g_signal_new ("cell-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_UINT);

  /* Keys go through actions, so that they can be rebound and driven by tests. */
  gtk_widget_class_install_action (widget_class, "heatmap.move", "(ii)", move_action);
  gtk_widget_class_install_action (widget_class, "heatmap.activate-cell", NULL, activate_action);
  add_move_binding (widget_class, GDK_KEY_Up, GDK_KEY_KP_Up, -1, 0);
  add_move_binding (widget_class, GDK_KEY_Down, GDK_KEY_KP_Down, 1, 0);
  add_move_binding (widget_class, GDK_KEY_Left, GDK_KEY_KP_Left, 0, -1);
  add_move_binding (widget_class, GDK_KEY_Right, GDK_KEY_KP_Right, 0, 1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, 0,
                                       "heatmap.activate-cell", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, 0,
                                       "heatmap.activate-cell", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_ISO_Enter, 0,
                                       "heatmap.activate-cell", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_space, 0,
                                       "heatmap.activate-cell", NULL);
}

static void
mien_heatmap_init (MienHeatmap *self)
{
  GtkGesture *click = gtk_gesture_click_new ();
  GtkEventController *focus = gtk_event_controller_focus_new ();

  self->labels = g_new0 (char *, 1);
  self->values = g_new0 (guint64, 1);
  self->row_sums = g_new0 (guint64, 1);

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_focus_on_click (GTK_WIDGET (self), TRUE);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);

  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_PRIMARY);
  g_signal_connect (click, "released", G_CALLBACK (click_released), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));

  g_signal_connect (focus, "enter", G_CALLBACK (focus_changed), self);
  g_signal_connect (focus, "leave", G_CALLBACK (focus_changed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), focus);
}
