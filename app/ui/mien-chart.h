/* mien-chart.h — the studio's charts, drawn with Cairo: one base class that draws, exports
 * (PNG, SVG) and names itself for assistive technologies, and three kinds of chart.
 *
 * Colours follow the widget's foreground colour (so dark style works) and a fixed series
 * palette (GNOME's: blue, orange, green, purple, red, yellow, brown).
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* ---- MienChart: the base ------------------------------------------------------------------ */

#define MIEN_TYPE_CHART (mien_chart_get_type ())
G_DECLARE_DERIVABLE_TYPE (MienChart, mien_chart, MIEN, CHART, GtkWidget)

struct _MienChartClass
{
  GtkWidgetClass parent_class;

  /* Draws the whole chart into a width × height area; `fg` is the text colour. */
  void   (*draw)     (MienChart     *self,
                      cairo_t       *cr,
                      int            width,
                      int            height,
                      const GdkRGBA *fg);
  /* A textual summary of the data for screen readers ("anger 800, disgust 80, ..."). */
  char  *(*describe) (MienChart     *self);

  gpointer padding[8];
};

/* The chart's title, drawn at the top and used as its accessible label. */
void        mien_chart_set_title     (MienChart   *self,
                                      const char  *title);
const char *mien_chart_get_title     (MienChart   *self);
/* Subclasses call this when their data changes: redraw and refresh the accessible description. */
void        mien_chart_changed       (MienChart   *self);
/* Writes the chart at width × height to `path`: ".png" or ".svg" by the file's extension
 * (anything else is G_IO_ERROR_INVALID_ARGUMENT). Dark text on a white background. */
gboolean    mien_chart_export        (MienChart   *self,
                                      const char  *path,
                                      int          width,
                                      int          height,
                                      GError     **error);
/* Colour `index` of the series palette (wraps around). */
void        mien_chart_palette       (guint        index,
                                      GdkRGBA     *out);

/* ---- MienBarChart: grouped bars, one group per category ---------------------------------- */

#define MIEN_TYPE_BAR_CHART (mien_bar_chart_get_type ())
G_DECLARE_FINAL_TYPE (MienBarChart, mien_bar_chart, MIEN, BAR_CHART, MienChart)

GtkWidget  *mien_bar_chart_new            (void);
/* Sets the categories (x labels; NULL-terminated) and removes every series. */
void        mien_bar_chart_set_categories (MienBarChart       *self,
                                           const char * const *categories);
guint       mien_bar_chart_get_n_categories (MienBarChart     *self);
/* Adds a series (one value per category, copied); returns its index. */
guint       mien_bar_chart_add_series     (MienBarChart       *self,
                                           const char         *name,
                                           const double       *values);
void        mien_bar_chart_set_series_values (MienBarChart    *self,
                                              guint            series,
                                              const double    *values);
void        mien_bar_chart_clear_series   (MienBarChart       *self);
guint       mien_bar_chart_get_n_series   (MienBarChart       *self);
double      mien_bar_chart_get_value      (MienBarChart       *self,
                                           guint               series,
                                           guint               category);
/* GTK_ORIENTATION_VERTICAL (default): bars grow upwards, categories along x;
 * HORIZONTAL: bars grow rightwards, categories down the left (probability bars). */
void        mien_bar_chart_set_orientation (MienBarChart      *self,
                                            GtkOrientation     orientation);
/* The value axis' maximum; 0 (default) = the largest value, rounded up. */
void        mien_bar_chart_set_max        (MienBarChart       *self,
                                           double              max);
/* printf format of the value labels drawn on bars ("%.0f", "%.2f"); NULL = none. */
void        mien_bar_chart_set_value_format (MienBarChart     *self,
                                             const char       *format);
/* A category drawn emphasised (the predicted class); -1 = none. */
void        mien_bar_chart_set_highlight  (MienBarChart       *self,
                                           int                 category);
/* Where bar (series, category) was last drawn, in widget coordinates (FALSE before drawing). */
gboolean    mien_bar_chart_get_bar_rect   (MienBarChart       *self,
                                           guint               series,
                                           guint               category,
                                           graphene_rect_t    *out);

/* ---- MienLineChart: series of (x, y) points ------------------------------------------------ */

#define MIEN_TYPE_LINE_CHART (mien_line_chart_get_type ())
G_DECLARE_FINAL_TYPE (MienLineChart, mien_line_chart, MIEN, LINE_CHART, MienChart)

GtkWidget  *mien_line_chart_new           (void);
void        mien_line_chart_clear         (MienLineChart *self);
guint       mien_line_chart_add_series    (MienLineChart *self,
                                           const char    *name);
void        mien_line_chart_append        (MienLineChart *self,
                                           guint          series,
                                           double         x,
                                           double         y);
guint       mien_line_chart_get_n_series  (MienLineChart *self);
guint       mien_line_chart_get_n_points  (MienLineChart *self,
                                           guint          series);
void        mien_line_chart_set_axis_labels (MienLineChart *self,
                                             const char    *x_label,
                                             const char    *y_label);
/* Fixed y range (F1: 0..1); min == max (default) = fit the data. */
void        mien_line_chart_set_y_range   (MienLineChart *self,
                                           double         min,
                                           double         max);

/* ---- MienHeatmap: a confusion matrix ------------------------------------------------------- */

#define MIEN_TYPE_HEATMAP (mien_heatmap_get_type ())
G_DECLARE_FINAL_TYPE (MienHeatmap, mien_heatmap, MIEN, HEATMAP, MienChart)

GtkWidget  *mien_heatmap_new              (void);
/* `values` n × n, row = true class, column = predicted class (copied). Cells are coloured by
 * the row-normalised value and labelled with the count. */
void        mien_heatmap_set_matrix       (MienHeatmap        *self,
                                           const char * const *labels,
                                           const guint64      *values,
                                           guint               n);
guint       mien_heatmap_get_size         (MienHeatmap        *self);
/* The cell under a widget point, as last drawn. */
gboolean    mien_heatmap_get_cell_at      (MienHeatmap        *self,
                                           double              x,
                                           double              y,
                                           guint              *row,
                                           guint              *column);
/* The focused cell (arrow keys move it; Enter or a click activates it). */
void        mien_heatmap_select_cell      (MienHeatmap        *self,
                                           guint               row,
                                           guint               column);
/* Signal "cell-activated" (guint row, guint column): a click, or Enter on the focused cell. */

G_END_DECLS
