/* mien-bar-chart.c — grouped bars: class counts, balancing before/after, class probabilities. */
#include "config.h"

#include <math.h>

#include <glib/gi18n-lib.h>

#include "mien-chart-private.h"

typedef struct
{
  char   *name;
  double *values;   /* one per category */
} Series;

struct _MienBarChart
{
  MienChart       parent_instance;

  char          **categories;
  guint           n_categories;
  GPtrArray      *series;         /* of Series */
  GtkOrientation  orientation;
  double          max;
  char           *value_format;
  int             highlight;

  /* graphene_rect_t per (series, category), series-major, from the last on-screen draw. */
  GArray         *rects;
  gboolean        rects_valid;
};

G_DEFINE_FINAL_TYPE (MienBarChart, mien_bar_chart, MIEN_TYPE_CHART)

static void
series_free (gpointer data)
{
  Series *series = data;

  g_free (series->name);
  g_free (series->values);
  g_free (series);
}

static void
invalidate (MienBarChart *self)
{
  self->rects_valid = FALSE;
  mien_chart_changed (MIEN_CHART (self));
}

static char *
format_value (MienBarChart *self,
              double        value)
{
  /* The format is the caller's ("%.0f", "%.2f"), applied to one double. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  return g_strdup_printf (self->value_format != NULL ? self->value_format : "%g", value);
#pragma GCC diagnostic pop
}

/* ---- Geometry ------------------------------------------------------------------------------ */

/* The value axis: its top and the step between grid lines. */
static void
value_axis (MienBarChart *self,
            guint         n_ticks,
            double       *axis_max,
            double       *step)
{
  double data_max = 0, lo;

  if (self->max > 0)
    {
      mien_chart_nice_scale (0, self->max, n_ticks, &lo, axis_max, step);
      /* A fixed maximum is kept exactly (probabilities end at 1, not at a rounder number). */
      *axis_max = self->max;
      return;
    }

  for (guint s = 0; s < self->series->len; s++)
    {
      Series *series = g_ptr_array_index (self->series, s);

      for (guint c = 0; c < self->n_categories; c++)
        if (isfinite (series->values[c]))
          data_max = MAX (data_max, series->values[c]);
    }
  if (data_max <= 0)
    data_max = 1;
  mien_chart_nice_scale (0, data_max, n_ticks, &lo, axis_max, step);
}

static graphene_rect_t *
rect_at (MienBarChart *self,
         guint         series,
         guint         category)
{
  return &g_array_index (self->rects, graphene_rect_t, series * self->n_categories + category);
}

static void
record_rect (MienBarChart *self,
             gboolean      record,
             guint         series,
             guint         category,
             double        x,
             double        y,
             double        w,
             double        h)
{
  if (record)
    graphene_rect_init (rect_at (self, series, category), x, y, w, h);
}

static double
bar_length (double value,
            double axis_max,
            double extent)
{
  if (!isfinite (value) || value <= 0 || axis_max <= 0)
    return 0;
  return MIN (value / axis_max, 1.0) * extent;
}

/* Widest and tallest value label, for the room they need. */
static void
value_label_size (MienBarChart *self,
                  MienChart    *chart,
                  cairo_t      *cr,
                  double       *width,
                  double       *height)
{
  *width = *height = 0;
  if (self->value_format == NULL)
    return;

  for (guint s = 0; s < self->series->len; s++)
    {
      Series *series = g_ptr_array_index (self->series, s);

      for (guint c = 0; c < self->n_categories; c++)
        {
          g_autofree char *text = format_value (self, series->values[c]);
          double w, h;

          mien_chart_text_size (chart, cr, text, FALSE, 0.8, &w, &h);
          *width = MAX (*width, w);
          *height = MAX (*height, h);
        }
    }
}

static void
category_label_size (MienBarChart *self,
                     MienChart    *chart,
                     cairo_t      *cr,
                     double       *width,
                     double       *height)
{
  *width = *height = 0;
  for (guint c = 0; c < self->n_categories; c++)
    {
      double w, h;

      /* Measured bold: the highlighted one is, and the room must not change with it. */
      mien_chart_text_size (chart, cr, self->categories[c], TRUE, 1.0, &w, &h);
      *width = MAX (*width, w);
      *height = MAX (*height, h);
    }
}

static void
draw_bar (cairo_t       *cr,
          guint          series,
          double         x,
          double         y,
          double         w,
          double         h,
          gboolean       outline,
          const GdkRGBA *fg)
{
  GdkRGBA color;

  mien_chart_palette (series, &color);
  gdk_cairo_set_source_rgba (cr, &color);
  cairo_rectangle (cr, x, y, w, h);
  cairo_fill (cr);

  if (outline && w > 0 && h > 0)
    {
      gdk_cairo_set_source_rgba (cr, fg);
      cairo_set_line_width (cr, 2);
      cairo_rectangle (cr, x + 1, y + 1, MAX (0, w - 2), MAX (0, h - 2));
      cairo_stroke (cr);
    }
}

/* ---- Drawing ------------------------------------------------------------------------------- */

static void
draw_vertical (MienBarChart  *self,
               cairo_t       *cr,
               double         top,
               int            width,
               int            height,
               const GdkRGBA *fg,
               gboolean       record)
{
  MienChart *chart = MIEN_CHART (self);
  guint n_series = self->series->len;
  double axis_max, step, tick_w = 0;
  double label_w, label_h, value_w, value_h, headroom;
  double plot_x, plot_y, plot_w, plot_h, bottom, group_w, inner, bar_w;
  gboolean rotate, vertical_values;
  guint n_ticks;

  category_label_size (self, chart, cr, &label_w, &label_h);
  value_label_size (self, chart, cr, &value_w, &value_h);

  n_ticks = CLAMP ((guint) ((height - top) / 48), 2, 6);
  value_axis (self, n_ticks, &axis_max, &step);
  for (double v = 0; v <= axis_max + step * 1e-6; v += step)
    {
      g_autofree char *text = mien_chart_format_tick (v, step);
      double w;

      mien_chart_text_size (chart, cr, text, FALSE, 0.85, &w, NULL);
      tick_w = MAX (tick_w, w);
    }

  plot_x = MIEN_CHART_MARGIN + tick_w + 6;
  plot_w = MAX (1, width - plot_x - MIEN_CHART_MARGIN);
  group_w = plot_w / self->n_categories;

  /* Labels that do not fit side by side are turned 45° (six emotions fit; 40 classes do not). */
  rotate = label_w > group_w - 6;
  bottom = rotate ? (label_w + label_h) * G_SQRT2 / 2 + 6 : label_h + 6;
  bottom = MIN (bottom, (height - top) / 3);

  inner = MIN (group_w * (n_series > 1 ? 0.8 : 0.65), 72.0 * n_series);
  bar_w = inner / n_series;

  /* Value labels above their bars: level when they fit the bar, else standing up. */
  vertical_values = value_w + 2 > bar_w;
  headroom = self->value_format == NULL ? 0 : (vertical_values ? value_w : value_h) + 4;

  plot_y = top + MAX (headroom, 4);
  plot_h = MAX (1, height - bottom - MIEN_CHART_MARGIN - plot_y);

  /* Grid lines and the value axis. */
  cairo_set_line_width (cr, 1);
  for (double v = 0; v <= axis_max + step * 1e-6; v += step)
    {
      g_autofree char *text = mien_chart_format_tick (v, step);
      double y = round (plot_y + plot_h - v / axis_max * plot_h) + 0.5;

      mien_chart_set_source (cr, fg, v == 0 ? 0.5 : 0.12);
      cairo_move_to (cr, plot_x, y);
      cairo_line_to (cr, plot_x + plot_w, y);
      cairo_stroke (cr);

      mien_chart_set_source (cr, fg, 0.7);
      mien_chart_show_text (chart, cr, text, FALSE, 0.85, plot_x - 6, y, 1.0, 0.5, 0);
    }

  for (guint c = 0; c < self->n_categories; c++)
    {
      double group_x = plot_x + c * group_w;
      double bars_x = group_x + (group_w - inner) / 2;
      gboolean highlighted = (int) c == self->highlight;

      if (highlighted)
        {
          mien_chart_set_source (cr, fg, 0.08);
          cairo_rectangle (cr, group_x, plot_y, group_w, plot_h);
          cairo_fill (cr);
        }

      for (guint s = 0; s < n_series; s++)
        {
          Series *series = g_ptr_array_index (self->series, s);
          double h = bar_length (series->values[c], axis_max, plot_h);
          double x = bars_x + s * bar_w;
          double y = plot_y + plot_h - h;
          /* A hairline between neighbouring bars of a group keeps them apart. */
          double w = n_series > 1 ? MAX (1, bar_w - 1) : bar_w;

          draw_bar (cr, s, x, y, w, h, highlighted, fg);
          record_rect (self, record, s, c, x, y, w, h);

          if (self->value_format != NULL)
            {
              g_autofree char *text = format_value (self, series->values[c]);

              mien_chart_set_source (cr, fg, 0.85);
              if (vertical_values)
                mien_chart_show_text (chart, cr, text, FALSE, 0.8, x + w / 2, y - 3, 0.0, 0.5,
                                      -G_PI / 2);
              else
                mien_chart_show_text (chart, cr, text, FALSE, 0.8, x + w / 2, y - 2, 0.5, 1.0, 0);
            }
        }

      gdk_cairo_set_source_rgba (cr, fg);
      if (rotate)
        mien_chart_show_text (chart, cr, self->categories[c], highlighted, 1.0,
                              group_x + group_w / 2, plot_y + plot_h + 4, 1.0, 0.0, -G_PI / 4);
      else
        mien_chart_show_text (chart, cr, self->categories[c], highlighted, 1.0,
                              group_x + group_w / 2, plot_y + plot_h + 4, 0.5, 0.0, 0);
    }
}

static void
draw_horizontal (MienBarChart  *self,
                 cairo_t       *cr,
                 double         top,
                 int            width,
                 int            height,
                 const GdkRGBA *fg,
                 gboolean       record)
{
  MienChart *chart = MIEN_CHART (self);
  guint n_series = self->series->len;
  double axis_max, step, label_w, label_h, value_w, value_h, tick_h = 0;
  double plot_x, plot_y, plot_w, plot_h, row_h, inner, bar_h;
  gboolean ticks = self->value_format == NULL;
  guint n_ticks;

  category_label_size (self, chart, cr, &label_w, &label_h);
  value_label_size (self, chart, cr, &value_w, &value_h);
  label_w = MIN (label_w, width * 0.4);

  n_ticks = CLAMP ((guint) (width / 90), 2, 5);
  value_axis (self, n_ticks, &axis_max, &step);
  if (ticks)
    mien_chart_text_size (chart, cr, "0", FALSE, 0.85, NULL, &tick_h);

  plot_x = MIEN_CHART_MARGIN + label_w + 8;
  plot_w = MAX (1, width - plot_x - MIEN_CHART_MARGIN - (value_w > 0 ? value_w + 6 : 0));
  plot_y = top;
  plot_h = MAX (1, height - plot_y - MIEN_CHART_MARGIN - (ticks ? tick_h + 4 : 0));
  row_h = plot_h / self->n_categories;
  inner = MIN (row_h * 0.75, 28.0 * n_series);
  bar_h = inner / n_series;

  cairo_set_line_width (cr, 1);
  for (double v = 0; v <= axis_max + step * 1e-6; v += step)
    {
      double x = round (plot_x + v / axis_max * plot_w) + 0.5;

      mien_chart_set_source (cr, fg, v == 0 ? 0.5 : 0.12);
      cairo_move_to (cr, x, plot_y);
      cairo_line_to (cr, x, plot_y + plot_h);
      cairo_stroke (cr);

      if (ticks)
        {
          g_autofree char *text = mien_chart_format_tick (v, step);

          mien_chart_set_source (cr, fg, 0.7);
          mien_chart_show_text (chart, cr, text, FALSE, 0.85, x, plot_y + plot_h + 2, 0.5, 0, 0);
        }
    }

  for (guint c = 0; c < self->n_categories; c++)
    {
      double row_y = plot_y + c * row_h;
      double bars_y = row_y + (row_h - inner) / 2;
      gboolean highlighted = (int) c == self->highlight;
      g_autoptr(PangoLayout) layout = NULL;
      int lw, lh;

      if (highlighted)
        {
          mien_chart_set_source (cr, fg, 0.08);
          cairo_rectangle (cr, MIEN_CHART_MARGIN / 2, row_y,
                           width - MIEN_CHART_MARGIN, row_h);
          cairo_fill (cr);
        }

      for (guint s = 0; s < n_series; s++)
        {
          Series *series = g_ptr_array_index (self->series, s);
          double w = bar_length (series->values[c], axis_max, plot_w);
          double y = bars_y + s * bar_h;
          double h = n_series > 1 ? MAX (1, bar_h - 1) : bar_h;

          draw_bar (cr, s, plot_x, y, w, h, highlighted, fg);
          record_rect (self, record, s, c, plot_x, y, w, h);

          if (self->value_format != NULL)
            {
              g_autofree char *text = format_value (self, series->values[c]);

              mien_chart_set_source (cr, fg, 0.85);
              mien_chart_show_text (chart, cr, text, highlighted, 0.8,
                                    plot_x + w + 4, y + h / 2, 0.0, 0.5, 0);
            }
        }

      /* Category names right-aligned against the bars, ellipsized when very long. */
      layout = mien_chart_create_layout (chart, cr, self->categories[c], highlighted, 1.0);
      pango_layout_set_width (layout, MAX (1, label_w) * PANGO_SCALE);
      pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
      pango_layout_set_alignment (layout, PANGO_ALIGN_RIGHT);
      pango_layout_get_pixel_size (layout, &lw, &lh);
      gdk_cairo_set_source_rgba (cr, fg);
      cairo_move_to (cr, MIEN_CHART_MARGIN, row_y + (row_h - lh) / 2);
      pango_cairo_show_layout (cr, layout);
    }
}

static void
mien_bar_chart_draw (MienChart     *chart,
                     cairo_t       *cr,
                     int            width,
                     int            height,
                     const GdkRGBA *fg)
{
  MienBarChart *self = MIEN_BAR_CHART (chart);
  gboolean record = !mien_chart_is_exporting (chart);
  double top;

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

  if (self->n_categories == 0 || self->series->len == 0)
    {
      if (record)
        self->rects_valid = FALSE;
      mien_chart_draw_empty (chart, cr, 0, top, width, height - top, fg, _("No data"));
      return;
    }

  if (record)
    g_array_set_size (self->rects, self->series->len * self->n_categories);

  if (self->orientation == GTK_ORIENTATION_HORIZONTAL)
    draw_horizontal (self, cr, top, width, height, fg, record);
  else
    draw_vertical (self, cr, top, width, height, fg, record);

  if (record)
    self->rects_valid = TRUE;
}

static char *
mien_bar_chart_describe (MienChart *chart)
{
  MienBarChart *self = MIEN_BAR_CHART (chart);
  GString *text = g_string_new (NULL);

  for (guint c = 0; c < self->n_categories; c++)
    {
      if (c > 0)
        g_string_append (text, self->series->len > 1 ? "; " : ", ");
      g_string_append (text, self->categories[c]);
      if (self->series->len > 1)
        g_string_append_c (text, ':');

      for (guint s = 0; s < self->series->len; s++)
        {
          Series *series = g_ptr_array_index (self->series, s);
          g_autofree char *value = format_value (self, series->values[c]);

          if (s > 0)
            g_string_append_c (text, ',');
          if (self->series->len > 1)
            g_string_append_printf (text, " %s", series->name);
          g_string_append_printf (text, " %s", value);
        }
    }

  return g_string_free (text, FALSE);
}

static void
mien_bar_chart_measure (GtkWidget      *widget,
                        GtkOrientation  orientation,
                        int             for_size,
                        int            *minimum,
                        int            *natural,
                        int            *minimum_baseline,
                        int            *natural_baseline)
{
  MienBarChart *self = MIEN_BAR_CHART (widget);

  GTK_WIDGET_CLASS (mien_bar_chart_parent_class)->measure (widget, orientation, for_size,
                                                           minimum, natural,
                                                           minimum_baseline, natural_baseline);

  /* Probability bars: a row per class, however many classes. */
  if (self->orientation == GTK_ORIENTATION_HORIZONTAL && orientation == GTK_ORIENTATION_VERTICAL)
    {
      guint rows = MAX (1, self->n_categories);
      guint row = MAX (22, 12 * MAX (1, self->series->len) + 10);

      *minimum = MIN (*minimum, (int) (rows * 14 + 40));
      *natural = rows * row + 48;
    }
}

/* ---- Public API ---------------------------------------------------------------------------- */

GtkWidget *
mien_bar_chart_new (void)
{
  return g_object_new (MIEN_TYPE_BAR_CHART, NULL);
}

void
mien_bar_chart_set_categories (MienBarChart       *self,
                               const char * const *categories)
{
  g_return_if_fail (MIEN_IS_BAR_CHART (self));

  g_strfreev (self->categories);
  self->categories = g_strdupv ((char **) categories);
  if (self->categories == NULL)
    self->categories = g_new0 (char *, 1);
  self->n_categories = g_strv_length (self->categories);
  g_ptr_array_set_size (self->series, 0);
  if (self->highlight >= (int) self->n_categories)
    self->highlight = -1;
  gtk_widget_queue_resize (GTK_WIDGET (self));
  invalidate (self);
}

guint
mien_bar_chart_get_n_categories (MienBarChart *self)
{
  g_return_val_if_fail (MIEN_IS_BAR_CHART (self), 0);

  return self->n_categories;
}

guint
mien_bar_chart_add_series (MienBarChart *self,
                           const char   *name,
                           const double *values)
{
  Series *series;

  g_return_val_if_fail (MIEN_IS_BAR_CHART (self), 0);
  g_return_val_if_fail (values != NULL || self->n_categories == 0, 0);

  series = g_new0 (Series, 1);
  series->name = g_strdup (name != NULL ? name : "");
  series->values = g_new0 (double, MAX (1, self->n_categories));
  if (self->n_categories > 0)
    memcpy (series->values, values, self->n_categories * sizeof (double));
  g_ptr_array_add (self->series, series);

  gtk_widget_queue_resize (GTK_WIDGET (self));
  invalidate (self);
  return self->series->len - 1;
}

void
mien_bar_chart_set_series_values (MienBarChart *self,
                                  guint         series,
                                  const double *values)
{
  Series *s;

  g_return_if_fail (MIEN_IS_BAR_CHART (self));
  g_return_if_fail (series < self->series->len);
  g_return_if_fail (values != NULL || self->n_categories == 0);

  s = g_ptr_array_index (self->series, series);
  if (self->n_categories > 0)
    memcpy (s->values, values, self->n_categories * sizeof (double));
  invalidate (self);
}

void
mien_bar_chart_clear_series (MienBarChart *self)
{
  g_return_if_fail (MIEN_IS_BAR_CHART (self));

  g_ptr_array_set_size (self->series, 0);
  gtk_widget_queue_resize (GTK_WIDGET (self));
  invalidate (self);
}

guint
mien_bar_chart_get_n_series (MienBarChart *self)
{
  g_return_val_if_fail (MIEN_IS_BAR_CHART (self), 0);

  return self->series->len;
}

double
mien_bar_chart_get_value (MienBarChart *self,
                          guint         series,
                          guint         category)
{
  Series *s;

  g_return_val_if_fail (MIEN_IS_BAR_CHART (self), 0);
  g_return_val_if_fail (series < self->series->len, 0);
  g_return_val_if_fail (category < self->n_categories, 0);

  s = g_ptr_array_index (self->series, series);
  return s->values[category];
}

void
mien_bar_chart_set_orientation (MienBarChart   *self,
                                GtkOrientation  orientation)
{
  g_return_if_fail (MIEN_IS_BAR_CHART (self));

  if (self->orientation == orientation)
    return;
  self->orientation = orientation;
  gtk_widget_queue_resize (GTK_WIDGET (self));
  invalidate (self);
}

void
mien_bar_chart_set_max (MienBarChart *self,
                        double        max)
{
  g_return_if_fail (MIEN_IS_BAR_CHART (self));

  self->max = max > 0 && isfinite (max) ? max : 0;
  invalidate (self);
}

void
mien_bar_chart_set_value_format (MienBarChart *self,
                                 const char   *format)
{
  g_return_if_fail (MIEN_IS_BAR_CHART (self));

  g_free (self->value_format);
  self->value_format = g_strdup (format);
  invalidate (self);
}

void
mien_bar_chart_set_highlight (MienBarChart *self,
                              int           category)
{
  g_return_if_fail (MIEN_IS_BAR_CHART (self));

  if (category < 0 || category >= (int) self->n_categories)
    category = -1;
  if (self->highlight == category)
    return;
  self->highlight = category;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
mien_bar_chart_get_bar_rect (MienBarChart    *self,
                             guint            series,
                             guint            category,
                             graphene_rect_t *out)
{
  g_return_val_if_fail (MIEN_IS_BAR_CHART (self), FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  if (!self->rects_valid || series >= self->series->len || category >= self->n_categories)
    return FALSE;
  *out = *rect_at (self, series, category);
  return TRUE;
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
mien_bar_chart_finalize (GObject *object)
{
  MienBarChart *self = MIEN_BAR_CHART (object);

  g_strfreev (self->categories);
  g_ptr_array_unref (self->series);
  g_array_unref (self->rects);
  g_free (self->value_format);
  G_OBJECT_CLASS (mien_bar_chart_parent_class)->finalize (object);
}

static void
mien_bar_chart_class_init (MienBarChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  MienChartClass *chart_class = MIEN_CHART_CLASS (klass);

  object_class->finalize = mien_bar_chart_finalize;
  widget_class->measure = mien_bar_chart_measure;
  chart_class->draw = mien_bar_chart_draw;
  chart_class->describe = mien_bar_chart_describe;
}

static void
mien_bar_chart_init (MienBarChart *self)
{
  self->categories = g_new0 (char *, 1);
  self->series = g_ptr_array_new_with_free_func (series_free);
  self->rects = g_array_new (FALSE, TRUE, sizeof (graphene_rect_t));
  self->orientation = GTK_ORIENTATION_VERTICAL;
  self->highlight = -1;
}
