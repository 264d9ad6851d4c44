/* mien-line-chart.c — series of (x, y) points: training loss and per-class F1 over epochs. */
#include "config.h"

#include <math.h>

#include <glib/gi18n-lib.h>

#include "mien-chart-private.h"

/* Up to this many points per series, each point gets a marker (few epochs read better). */
#define MARKER_LIMIT 30

typedef struct
{
  char   *name;
  GArray *points;   /* x0, y0, x1, y1, ... (graphene points are only floats) */
} Series;

struct _MienLineChart
{
  MienChart  parent_instance;

  GPtrArray *series;   /* of Series */
  char      *x_label;
  char      *y_label;
  double     y_min;
  double     y_max;
};

G_DEFINE_FINAL_TYPE (MienLineChart, mien_line_chart, MIEN_TYPE_CHART)

static void
series_free (gpointer data)
{
  Series *series = data;

  g_free (series->name);
  g_array_unref (series->points);
  g_free (series);
}

static inline double
point_x (Series *series,
         guint   i)
{
  return g_array_index (series->points, double, 2 * i);
}

static inline double
point_y (Series *series,
         guint   i)
{
  return g_array_index (series->points, double, 2 * i + 1);
}

static guint
n_points (Series *series)
{
  return series->points->len / 2;
}

/* ---- Drawing ------------------------------------------------------------------------------- */

static gboolean
data_bounds (MienLineChart *self,
             double        *x_lo,
             double        *x_hi,
             double        *y_lo,
             double        *y_hi)
{
  gboolean any = FALSE;

  *x_lo = *y_lo = G_MAXDOUBLE;
  *x_hi = *y_hi = -G_MAXDOUBLE;
  for (guint s = 0; s < self->series->len; s++)
    {
      Series *series = g_ptr_array_index (self->series, s);

      for (guint i = 0; i < n_points (series); i++)
        {
          double x = point_x (series, i), y = point_y (series, i);

          if (!isfinite (x) || !isfinite (y))
            continue;
          *x_lo = MIN (*x_lo, x);
          *x_hi = MAX (*x_hi, x);
          *y_lo = MIN (*y_lo, y);
          *y_hi = MAX (*y_hi, y);
          any = TRUE;
        }
    }
  return any;
}

static gboolean
x_integral (MienLineChart *self)
{
  for (guint s = 0; s < self->series->len; s++)
    {
      Series *series = g_ptr_array_index (self->series, s);

      for (guint i = 0; i < n_points (series); i++)
        if (isfinite (point_x (series, i)) && point_x (series, i) != floor (point_x (series, i)))
          return FALSE;
    }
  return TRUE;
}

static void
mien_line_chart_draw (MienChart     *chart,
                      cairo_t       *cr,
                      int            width,
                      int            height,
                      const GdkRGBA *fg)
{
  MienLineChart *self = MIEN_LINE_CHART (chart);
  double top, x_lo, x_hi, y_lo, y_hi, x_step, y_step, tick_w = 0, text_h;
  double plot_x, plot_y, plot_w, plot_h, bottom, left;
  guint n_x_ticks, n_y_ticks;

  top = mien_chart_draw_title (chart, cr, width, fg);
  if (top == 0)
    top = MIEN_CHART_MARGIN;

  if (self->series->len > 1)
    {
      g_autofree const char **names = g_new0 (const char *, self->series->len + 1);

      for (guint s = 0; s < self->series->len; s++)
        names[s] = ((Series *) g_ptr_array_index (self->series, s))->name;
      top += mien_chart_draw_legend (chart, cr, names, self->series->len, top, width, fg, TRUE);
    }

  if (!data_bounds (self, &x_lo, &x_hi, &y_lo, &y_hi))
    {
      mien_chart_draw_empty (chart, cr, 0, top, width, height - top, fg, _("No data yet"));
      return;
    }

  mien_chart_text_size (chart, cr, "0", FALSE, 0.85, NULL, &text_h);
  n_y_ticks = CLAMP ((guint) ((height - top) / 48), 2, 6);
  n_x_ticks = CLAMP ((guint) (width / 80), 2, 8);

  if (self->y_max > self->y_min)
    {
      double lo, hi;

      mien_chart_nice_scale (self->y_min, self->y_max, n_y_ticks, &lo, &hi, &y_step);
      y_lo = self->y_min;
      y_hi = self->y_max;
    }
  else
    mien_chart_nice_scale (y_lo, y_hi, n_y_ticks, &y_lo, &y_hi, &y_step);
  /* The x axis spans the data exactly (epochs 1 to 8, not 0 to 8); ticks fall on round values
   * inside it. */
  {
    double lo, hi;

    mien_chart_nice_scale (x_lo, x_hi, n_x_ticks, &lo, &hi, &x_step);
    if (x_hi - x_lo < 1e-12)
      {
        x_lo = lo;
        x_hi = hi;
      }
  }
  if (x_integral (self) && x_step < 1)
    {
      /* Epochs: no tick between two of them. */
      x_step = 1;
      if (x_hi - x_lo < 1)
        {
          x_lo = floor (x_lo) - 1;
          x_hi = ceil (x_hi) + 1;
        }
    }

  for (double v = ceil (y_lo / y_step - 1e-9) * y_step; v <= y_hi + y_step * 1e-6; v += y_step)
    {
      g_autofree char *text = mien_chart_format_tick (v, y_step);
      double w;

      mien_chart_text_size (chart, cr, text, FALSE, 0.85, &w, NULL);
      tick_w = MAX (tick_w, w);
    }

  left = MIEN_CHART_MARGIN + (self->y_label != NULL ? text_h + 6 : 0);
  plot_x = left + tick_w + 6;
  plot_y = top + text_h / 2;
  bottom = text_h + 6 + (self->x_label != NULL ? text_h + 4 : 0);
  plot_w = MAX (1, width - plot_x - MIEN_CHART_MARGIN - text_h);
  plot_h = MAX (1, height - plot_y - bottom - MIEN_CHART_MARGIN);

#define TO_X(v) (plot_x + ((v) - x_lo) / (x_hi - x_lo) * plot_w)
#define TO_Y(v) (plot_y + plot_h - ((v) - y_lo) / (y_hi - y_lo) * plot_h)

  /* Grid and tick labels. */
  cairo_set_line_width (cr, 1);
  for (double v = ceil (y_lo / y_step - 1e-9) * y_step; v <= y_hi + y_step * 1e-6; v += y_step)
    {
      g_autofree char *text = mien_chart_format_tick (v, y_step);
      double y = round (TO_Y (v)) + 0.5;

      mien_chart_set_source (cr, fg, 0.12);
      cairo_move_to (cr, plot_x, y);
      cairo_line_to (cr, plot_x + plot_w, y);
      cairo_stroke (cr);
      mien_chart_set_source (cr, fg, 0.7);
      mien_chart_show_text (chart, cr, text, FALSE, 0.85, plot_x - 6, y, 1.0, 0.5, 0);
    }
  for (double v = ceil (x_lo / x_step - 1e-9) * x_step; v <= x_hi + x_step * 1e-6; v += x_step)
    {
      g_autofree char *text = mien_chart_format_tick (v, x_step);
      double x = round (TO_X (v)) + 0.5;

      mien_chart_set_source (cr, fg, 0.12);
      cairo_move_to (cr, x, plot_y);
      cairo_line_to (cr, x, plot_y + plot_h);
      cairo_stroke (cr);
      mien_chart_set_source (cr, fg, 0.7);
      mien_chart_show_text (chart, cr, text, FALSE, 0.85, x, plot_y + plot_h + 4, 0.5, 0, 0);
    }

  /* Axes. */
  mien_chart_set_source (cr, fg, 0.5);
  cairo_move_to (cr, plot_x + 0.5, plot_y);
  cairo_line_to (cr, plot_x + 0.5, plot_y + plot_h + 0.5);
  cairo_line_to (cr, plot_x + plot_w, plot_y + plot_h + 0.5);
  cairo_stroke (cr);

  mien_chart_set_source (cr, fg, 0.8);
  if (self->x_label != NULL)
    mien_chart_show_text (chart, cr, self->x_label, FALSE, 0.9, plot_x + plot_w / 2,
                          height - MIEN_CHART_MARGIN, 0.5, 1.0, 0);
  if (self->y_label != NULL)
    mien_chart_show_text (chart, cr, self->y_label, FALSE, 0.9, MIEN_CHART_MARGIN,
                          plot_y + plot_h / 2, 0.5, 0.0, -G_PI / 2);

  /* The lines, clipped to the plot: a fixed range may cut a diverging loss. */
  cairo_save (cr);
  cairo_rectangle (cr, plot_x, plot_y - 4, plot_w + 4, plot_h + 8);
  cairo_clip (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  for (guint s = 0; s < self->series->len; s++)
    {
      Series *series = g_ptr_array_index (self->series, s);
      gboolean pen_down = FALSE;
      GdkRGBA color;

      mien_chart_palette (s, &color);
      gdk_cairo_set_source_rgba (cr, &color);
      cairo_set_line_width (cr, 2);
      for (guint i = 0; i < n_points (series); i++)
        {
          double x = point_x (series, i), y = point_y (series, i);

          /* A NaN (a diverged loss) breaks the line rather than ending the chart. */
          if (!isfinite (x) || !isfinite (y))
            {
              pen_down = FALSE;
              continue;
            }
          if (pen_down)
            cairo_line_to (cr, TO_X (x), TO_Y (y));
          else
            cairo_move_to (cr, TO_X (x), TO_Y (y));
          pen_down = TRUE;
        }
      cairo_stroke (cr);

      if (n_points (series) <= MARKER_LIMIT)
        for (guint i = 0; i < n_points (series); i++)
          {
            double x = point_x (series, i), y = point_y (series, i);

            if (!isfinite (x) || !isfinite (y))
              continue;
            cairo_new_sub_path (cr);
            cairo_arc (cr, TO_X (x), TO_Y (y), 3, 0, 2 * G_PI);
            cairo_fill (cr);
          }
    }
  cairo_restore (cr);

#undef TO_X
#undef TO_Y
}

static char *
mien_line_chart_describe (MienChart *chart)
{
  MienLineChart *self = MIEN_LINE_CHART (chart);
  GString *text = g_string_new (NULL);

  /* Where each series ended: what a sighted user reads first off a training curve. */
  for (guint s = 0; s < self->series->len; s++)
    {
      Series *series = g_ptr_array_index (self->series, s);
      guint n = n_points (series);

      if (text->len > 0)
        g_string_append (text, "; ");
      if (n == 0)
        /* Translators: a chart series with no points yet */
        g_string_append_printf (text, _("%s: no points"), series->name);
      else
        /* Translators: series name, number of points, last x, last y */
        g_string_append_printf (text, ngettext ("%s: %u point, last at %g: %g",
                                                "%s: %u points, last at %g: %g", n),
                                series->name, n, point_x (series, n - 1), point_y (series, n - 1));
    }
  return g_string_free (text, FALSE);
}

/* ---- Public API ---------------------------------------------------------------------------- */

GtkWidget *
mien_line_chart_new (void)
{
  return g_object_new (MIEN_TYPE_LINE_CHART, NULL);
}

void
mien_line_chart_clear (MienLineChart *self)
{
  g_return_if_fail (MIEN_IS_LINE_CHART (self));

  g_ptr_array_set_size (self->series, 0);
  mien_chart_changed (MIEN_CHART (self));
}

guint
mien_line_chart_add_series (MienLineChart *self,
                            const char    *name)
{
  Series *series;

  g_return_val_if_fail (MIEN_IS_LINE_CHART (self), 0);

  series = g_new0 (Series, 1);
  series->name = g_strdup (name != NULL ? name : "");
  series->points = g_array_new (FALSE, FALSE, sizeof (double));
  g_ptr_array_add (self->series, series);
  mien_chart_changed (MIEN_CHART (self));
  return self->series->len - 1;
}

void
mien_line_chart_append (MienLineChart *self,
                        guint          series,
                        double         x,
                        double         y)
{
  Series *s;

  g_return_if_fail (MIEN_IS_LINE_CHART (self));
  g_return_if_fail (series < self->series->len);

  s = g_ptr_array_index (self->series, series);
  g_array_append_val (s->points, x);
  g_array_append_val (s->points, y);
  mien_chart_changed (MIEN_CHART (self));
}

guint
mien_line_chart_get_n_series (MienLineChart *self)
{
  g_return_val_if_fail (MIEN_IS_LINE_CHART (self), 0);

  return self->series->len;
}

guint
mien_line_chart_get_n_points (MienLineChart *self,
                              guint          series)
{
  g_return_val_if_fail (MIEN_IS_LINE_CHART (self), 0);
  g_return_val_if_fail (series < self->series->len, 0);

  return n_points (g_ptr_array_index (self->series, series));
}

void
mien_line_chart_set_axis_labels (MienLineChart *self,
                                 const char    *x_label,
                                 const char    *y_label)
{
  g_return_if_fail (MIEN_IS_LINE_CHART (self));

  g_free (self->x_label);
  g_free (self->y_label);
  self->x_label = g_strdup (x_label);
  self->y_label = g_strdup (y_label);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
mien_line_chart_set_y_range (MienLineChart *self,
                             double         min,
                             double         max)
{
  g_return_if_fail (MIEN_IS_LINE_CHART (self));

  self->y_min = min;
  self->y_max = max;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
mien_line_chart_finalize (GObject *object)
{
  MienLineChart *self = MIEN_LINE_CHART (object);

  g_ptr_array_unref (self->series);
  g_free (self->x_label);
  g_free (self->y_label);
  G_OBJECT_CLASS (mien_line_chart_parent_class)->finalize (object);
}

static void
mien_line_chart_class_init (MienLineChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  MienChartClass *chart_class = MIEN_CHART_CLASS (klass);

  object_class->finalize = mien_line_chart_finalize;
  chart_class->draw = mien_line_chart_draw;
  chart_class->describe = mien_line_chart_describe;
}

static void
mien_line_chart_init (MienLineChart *self)
{
  self->series = g_ptr_array_new_with_free_func (series_free);
}
