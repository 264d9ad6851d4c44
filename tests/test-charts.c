/* test-charts.c — the studio's Cairo charts: stored values, drawn geometry, export, keyboard and
 * pointer on the confusion matrix, accessible names. Runs under Xvfb (gui-test-wrapper.sh). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>

#include "mien-chart.h"
#include "mien-chart-private.h"
#include "mien-test-util.h"

/* ---- Helpers ------------------------------------------------------------------------------- */

static GtkWidget *
show_in_window (GtkWidget *child,
                int        width,
                int        height)
{
  GtkWidget *window = gtk_window_new ();

  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  gtk_window_set_child (GTK_WINDOW (window), child);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

typedef gboolean (*Predicate) (gpointer data);

/* Runs the main loop until `done` holds (the chart has been drawn), at most 10 s. */
static gboolean
iterate_until (Predicate done,
               gpointer  data)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!done (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  /* One more round so that the drawn frame settles. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return TRUE;
}

static gboolean
bar_chart_drawn (gpointer data)
{
  graphene_rect_t rect;

  return mien_bar_chart_get_bar_rect (data, 0, 0, &rect);
}

static gboolean
heatmap_drawn (gpointer data)
{
  MienHeatmap *heatmap = data;
  int w = gtk_widget_get_width (GTK_WIDGET (heatmap));
  int h = gtk_widget_get_height (GTK_WIDGET (heatmap));

  /* Drawn once the middle of the widget is inside the grid. */
  return w > 0 && mien_heatmap_get_cell_at (heatmap, w / 2.0, h / 2.0, NULL, NULL);
}

static char *scratch_dir;

static char *
scratch_path (const char *name)
{
  return g_build_filename (scratch_dir, name, NULL);
}

static const char * const classes[] = {
  "anger", "disgust", "fear", "happiness", "sadness", "surprise", NULL
};
static const double counts[] = { 800, 80, 410, 620, 333, 1 };

static MienBarChart *
new_count_chart (void)
{
  MienBarChart *chart = MIEN_BAR_CHART (mien_bar_chart_new ());

  mien_chart_set_title (MIEN_CHART (chart), "Images per class");
  mien_bar_chart_set_categories (chart, classes);
  mien_bar_chart_add_series (chart, "Images", counts);
  mien_bar_chart_set_value_format (chart, "%.0f");
  return chart;
}

/* ---- Bar chart ----------------------------------------------------------------------------- */

static void
test_bar_values (void)
{
  g_autoptr(MienBarChart) chart = g_object_ref_sink (new_count_chart ());
  double doubled[G_N_ELEMENTS (counts)];
  graphene_rect_t rect;

  g_assert_cmpuint (mien_bar_chart_get_n_categories (chart), ==, 6);
  g_assert_cmpuint (mien_bar_chart_get_n_series (chart), ==, 1);
  for (guint c = 0; c < 6; c++)
    g_assert_cmpfloat (mien_bar_chart_get_value (chart, 0, c), ==, counts[c]);

  for (guint c = 0; c < 6; c++)
    doubled[c] = 2 * counts[c];
  g_assert_cmpuint (mien_bar_chart_add_series (chart, "Twice", doubled), ==, 1);
  g_assert_cmpfloat (mien_bar_chart_get_value (chart, 1, 3), ==, 1240);
  mien_bar_chart_set_series_values (chart, 1, counts);
  g_assert_cmpfloat (mien_bar_chart_get_value (chart, 1, 3), ==, 620);

  /* Never drawn: no geometry to report. */
  g_assert_false (mien_bar_chart_get_bar_rect (chart, 0, 0, &rect));

  mien_bar_chart_clear_series (chart);
  g_assert_cmpuint (mien_bar_chart_get_n_series (chart), ==, 0);
  g_assert_cmpuint (mien_bar_chart_get_n_categories (chart), ==, 6);

  mien_bar_chart_add_series (chart, "Images", counts);
  mien_bar_chart_set_categories (chart, (const char * const[]) { "a", "b", NULL });
  g_assert_cmpuint (mien_bar_chart_get_n_series (chart), ==, 0);
  g_assert_cmpuint (mien_bar_chart_get_n_categories (chart), ==, 2);
}

static void
test_bar_rects_vertical (void)
{
  MienBarChart *chart = new_count_chart ();
  GtkWidget *window = show_in_window (GTK_WIDGET (chart), 640, 400);
  graphene_rect_t rects[G_N_ELEMENTS (counts)];
  guint largest = 0;
  int width, height;

  mien_bar_chart_set_highlight (chart, 3);
  g_assert_true (iterate_until (bar_chart_drawn, chart));
  width = gtk_widget_get_width (GTK_WIDGET (chart));
  height = gtk_widget_get_height (GTK_WIDGET (chart));

  for (guint c = 0; c < G_N_ELEMENTS (counts); c++)
    {
      g_assert_true (mien_bar_chart_get_bar_rect (chart, 0, c, &rects[c]));
      if (counts[c] > counts[largest])
        largest = c;
    }
  g_assert_cmpfloat (rects[largest].size.height, >, height / 3.0);

  for (guint c = 0; c < G_N_ELEMENTS (counts); c++)
    {
      double expected = rects[largest].size.height * counts[c] / counts[largest];

      /* Heights are proportional to the values; the bars stand on one baseline, in order,
       * inside the widget. */
      g_assert_cmpfloat (fabs (rects[c].size.height - expected), <=, 1.0);
      g_assert_cmpfloat (fabs (rects[c].origin.y + rects[c].size.height
                               - (rects[0].origin.y + rects[0].size.height)), <, 0.01);
      g_assert_cmpfloat (rects[c].origin.x, >=, 0);
      g_assert_cmpfloat (rects[c].origin.x + rects[c].size.width, <=, width);
      g_assert_cmpfloat (rects[c].origin.y, >=, 0);
      g_assert_cmpfloat (rects[c].size.width, >, 4);
      if (c > 0)
        g_assert_cmpfloat (rects[c].origin.x, >=, rects[c - 1].origin.x + rects[c - 1].size.width);
    }

  g_assert_false (mien_bar_chart_get_bar_rect (chart, 1, 0, &rects[0]));
  g_assert_false (mien_bar_chart_get_bar_rect (chart, 0, 6, &rects[0]));

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_bar_rects_grouped (void)
{
  MienBarChart *chart = new_count_chart ();
  GtkWidget *window = show_in_window (GTK_WIDGET (chart), 700, 420);
  double flat[G_N_ELEMENTS (counts)];
  graphene_rect_t a, b;

  for (guint c = 0; c < G_N_ELEMENTS (counts); c++)
    flat[c] = 800;
  mien_bar_chart_add_series (chart, "Upsampled", flat);
  mien_bar_chart_add_series (chart, "Weighted", flat);
  g_assert_true (iterate_until (bar_chart_drawn, chart));

  for (guint c = 0; c < G_N_ELEMENTS (counts); c++)
    {
      /* Series side by side in a group; the full ones as tall as the largest class. */
      g_assert_true (mien_bar_chart_get_bar_rect (chart, 0, c, &a));
      g_assert_true (mien_bar_chart_get_bar_rect (chart, 1, c, &b));
      g_assert_cmpfloat (b.origin.x, >=, a.origin.x + a.size.width);
      g_assert_cmpfloat (fabs (b.size.height - a.size.height * 800 / counts[c]), <=, 1.0);
      g_assert_true (mien_bar_chart_get_bar_rect (chart, 2, c, &a));
      g_assert_cmpfloat (fabs (b.size.height - a.size.height), <, 0.01);
    }

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_bar_rects_horizontal (void)
{
  MienBarChart *chart = MIEN_BAR_CHART (mien_bar_chart_new ());
  GtkWidget *window = show_in_window (GTK_WIDGET (chart), 500, 300);
  const double probabilities[] = { 0.05, 0.02, 0.08, 0.7, 0.1, 0.05 };
  graphene_rect_t rects[6], full;

  mien_bar_chart_set_categories (chart, classes);
  mien_bar_chart_add_series (chart, "Model", probabilities);
  mien_bar_chart_set_orientation (chart, GTK_ORIENTATION_HORIZONTAL);
  mien_bar_chart_set_max (chart, 1.0);
  mien_bar_chart_set_value_format (chart, "%.2f");
  mien_bar_chart_set_highlight (chart, 3);
  g_assert_true (iterate_until (bar_chart_drawn, chart));

  for (guint c = 0; c < 6; c++)
    g_assert_true (mien_bar_chart_get_bar_rect (chart, 0, c, &rects[c]));

  /* Bars grow rightwards from one left edge, rows top to bottom; with a maximum of 1 a
   * probability of p takes p of the full length, wherever the largest bar ends. */
  mien_bar_chart_set_series_values (chart, 0, (const double[]) { 1, 1, 1, 1, 1, 1 });
  g_assert_true (iterate_until (bar_chart_drawn, chart));
  g_assert_true (mien_bar_chart_get_bar_rect (chart, 0, 0, &full));
  for (guint c = 0; c < 6; c++)
    {
      g_assert_cmpfloat (fabs (rects[c].origin.x - rects[0].origin.x), <, 0.01);
      g_assert_cmpfloat (fabs (rects[c].size.width - probabilities[c] * full.size.width), <=, 1.0);
      if (c > 0)
        g_assert_cmpfloat (rects[c].origin.y, >=, rects[c - 1].origin.y + rects[c - 1].size.height);
    }
  /* The class names are on the left of the bars. */
  g_assert_cmpfloat (rects[0].origin.x, >, 40);

  gtk_window_destroy (GTK_WINDOW (window));
}

/* ---- Export -------------------------------------------------------------------------------- */

static void
svg_start_element (GMarkupParseContext  *context,
                   const char           *element_name,
                   const char          **attribute_names,
                   const char          **attribute_values,
                   gpointer              user_data,
                   GError              **error)
{
  char **root = user_data;

  if (*root == NULL)
    *root = g_strdup (element_name);
}

static void
assert_svg (const char *path)
{
  static const GMarkupParser parser = { svg_start_element, NULL, NULL, NULL, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *root = NULL;
  g_autoptr(GMarkupParseContext) context = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (contents, "<svg"));

  /* Well-formed XML whose root element is <svg>. */
  context = g_markup_parse_context_new (&parser, 0, &root, NULL);
  g_assert_true (g_markup_parse_context_parse (context, contents, length, &error));
  g_assert_no_error (error);
  g_assert_true (g_markup_parse_context_end_parse (context, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (root, ==, "svg");
}

/* The exported PNG at its size: a white background (the corner), dark things drawn on it (text,
 * axes). */
static GdkPixbuf *
load_png (const char *path,
          int         width,
          int         height)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file (path, &error);
  const guchar *pixels;
  int stride, n_channels;
  gboolean dark = FALSE;

  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, width);
  g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), ==, height);

  pixels = gdk_pixbuf_read_pixels (pixbuf);
  stride = gdk_pixbuf_get_rowstride (pixbuf);
  n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  g_assert_cmpuint (pixels[0], ==, 255);
  g_assert_cmpuint (pixels[1], ==, 255);
  g_assert_cmpuint (pixels[2], ==, 255);
  for (int y = 0; y < height && !dark; y++)
    for (int x = 0; x < width && !dark; x++)
      {
        const guchar *p = pixels + y * stride + x * n_channels;

        dark = p[0] < 160 && p[1] < 160 && p[2] < 160;
      }
  g_assert_true (dark);
  return g_steal_pointer (&pixbuf);
}

/* Pixel (x, y) is `colour` laid over the white background at `alpha`, give or take rounding. */
static gboolean
pixel_is (GdkPixbuf     *pixbuf,
          int            x,
          int            y,
          const GdkRGBA *colour,
          double         alpha)
{
  const guchar *p = gdk_pixbuf_read_pixels (pixbuf) + y * gdk_pixbuf_get_rowstride (pixbuf) +
                    x * gdk_pixbuf_get_n_channels (pixbuf);
  const double rgb[3] = { colour->red, colour->green, colour->blue };

  for (int c = 0; c < 3; c++)
    if (fabs (p[c] - 255 * (1 - alpha + alpha * rgb[c])) > 2)
      return FALSE;
  return TRUE;
}

/* The rows of column x that hold `colour`: FALSE when none does. */
static gboolean
column_extent (GdkPixbuf     *pixbuf,
               int            x,
               const GdkRGBA *colour,
               int           *top,
               int           *bottom)
{
  *top = -1;
  for (int y = 0; y < gdk_pixbuf_get_height (pixbuf); y++)
    if (pixel_is (pixbuf, x, y, colour, 1.0))
      {
        if (*top < 0)
          *top = y;
        *bottom = y;
      }
  return *top >= 0;
}

/* The count chart's bars, in the first series' colour: one per category left to right, all on
 * one baseline, their heights in the ratio of the counts (the 1-image bar is under a pixel). */
static void
assert_count_bars (GdkPixbuf *pixbuf)
{
  GdkRGBA colour;
  int heights[G_N_ELEMENTS (counts)];
  int baseline = -1;
  guint n_bars = 0;
  gboolean in_bar = FALSE;

  mien_chart_palette (0, &colour);
  for (int x = 0; x < gdk_pixbuf_get_width (pixbuf); x++)
    {
      int top, bottom;

      if (!column_extent (pixbuf, x, &colour, &top, &bottom))
        {
          in_bar = FALSE;
          continue;
        }
      if (!in_bar)
        {
          g_assert_cmpuint (n_bars, <, G_N_ELEMENTS (counts));
          heights[n_bars++] = 0;
          in_bar = TRUE;
        }
      if (baseline < 0)
        baseline = bottom;
      g_assert_cmpint (abs (bottom - baseline), <=, 1);
      heights[n_bars - 1] = MAX (heights[n_bars - 1], bottom - top + 1);
    }
  /* The last category's single image is no visible bar; the tallest is tall enough for the
   * ratios to mean something at 2 px. */
  g_assert_cmpuint (n_bars, ==, G_N_ELEMENTS (counts) - 1);
  g_assert_cmpint (heights[0], >=, 20);
  for (guint c = 0; c < n_bars; c++)
    {
      g_test_message ("bar %u: %d px", c, heights[c]);
      g_assert_cmpfloat (fabs (heights[c] - heights[0] * counts[c] / counts[0]), <=, 2.0);
    }
}

/* The loss line of 1/i: in the first series' colour, falling from left to right. */
static void
assert_falling_line (GdkPixbuf *pixbuf)
{
  GdkRGBA colour;
  double previous = -1, first = -1;
  int n_columns = 0;

  mien_chart_palette (0, &colour);
  for (int x = 0; x < gdk_pixbuf_get_width (pixbuf); x++)
    {
      int top, bottom;
      double middle;

      if (!column_extent (pixbuf, x, &colour, &top, &bottom))
        continue;
      middle = (top + bottom) / 2.0;
      if (first < 0)
        first = middle;
      /* y grows downwards: a falling line's rows only grow (the line is a few pixels thick). */
      g_assert_cmpfloat (middle, >=, previous - 2);
      previous = middle;
      n_columns++;
    }
  /* It spans most of the plot, and drops 80 % of its range there. */
  g_assert_cmpint (n_columns, >=, gdk_pixbuf_get_width (pixbuf) / 2);
  g_assert_cmpfloat (previous - first, >=, gdk_pixbuf_get_height (pixbuf) / 3.0);
}

/* The confusion matrix's cells, found from the one whose row is all its own (the last row's
 * 9 of 9, drawn in the full scale colour): each cell's corner, clear of its text, is the scale
 * colour (mien-heatmap.c's GNOME blue) at 0.08 + 0.92 × its share of the row, or the text colour
 * at 0.04 where it holds nothing. */
static void
assert_heatmap_cells (GdkPixbuf     *pixbuf,
                      const guint64 *matrix,
                      guint          n)
{
  static const GdkRGBA scale = { 0x1c / 255.0, 0x71 / 255.0, 0xd8 / 255.0, 1.0 };
  static const GdkRGBA text = { 0x24 / 255.0, 0x1f / 255.0, 0x31 / 255.0, 1.0 };
  int left = G_MAXINT, right = -1, top = G_MAXINT, bottom = -1;
  double cell, grid_x, grid_y;

  g_assert_cmpuint (matrix[n * n - 1], >, 0);
  for (int y = 0; y < gdk_pixbuf_get_height (pixbuf); y++)
    for (int x = 0; x < gdk_pixbuf_get_width (pixbuf); x++)
      if (pixel_is (pixbuf, x, y, &scale, 1.0))
        {
          left = MIN (left, x);
          right = MAX (right, x);
          top = MIN (top, y);
          bottom = MAX (bottom, y);
        }
  g_assert_cmpint (right, >=, 0);
  /* A square filled from half a pixel in to half a pixel short of the next cell: its whole
   * pixels run from the cell's second to its last but one. */
  g_assert_cmpint (right - left, ==, bottom - top);
  cell = right - left + 3;
  grid_x = left - 1 - (n - 1) * cell;
  grid_y = top - 1 - (n - 1) * cell;
  g_test_message ("heatmap: %.0f px cells from (%.0f, %.0f)", cell, grid_x, grid_y);
  g_assert_cmpfloat (cell, >=, 20);

  for (guint r = 0; r < n; r++)
    {
      guint64 sum = 0;

      for (guint c = 0; c < n; c++)
        sum += matrix[r * n + c];
      for (guint c = 0; c < n; c++)
        {
          double share = sum == 0 ? 0 : (double) matrix[r * n + c] / sum;
          int x = (int) (grid_x + c * cell) + 3;
          int y = (int) (grid_y + r * cell) + 3;

          if (share > 0)
            g_assert_true (pixel_is (pixbuf, x, y, &scale, 0.08 + 0.92 * share));
          else
            g_assert_true (pixel_is (pixbuf, x, y, &text, 0.04));
        }
    }
}

static void
test_export (void)
{
  g_autoptr(MienBarChart) chart = g_object_ref_sink (new_count_chart ());
  g_autoptr(GtkWidget) line = g_object_ref_sink (mien_line_chart_new ());
  g_autoptr(GtkWidget) heatmap = g_object_ref_sink (mien_heatmap_new ());
  g_autoptr(GError) error = NULL;
  g_autofree char *png = scratch_path ("counts.png");
  g_autofree char *upper = scratch_path ("COUNTS.PNG");
  g_autofree char *svg = scratch_path ("counts.svg");
  g_autofree char *line_png = scratch_path ("line.png");
  g_autofree char *line_svg = scratch_path ("line.svg");
  g_autofree char *heatmap_png = scratch_path ("heatmap.png");
  g_autofree char *empty_png = scratch_path ("empty.png");
  g_autofree char *bad = scratch_path ("counts.jpg");
  g_autofree char *missing_dir = scratch_path ("no/such/folder/counts.png");
  g_autofree char *missing_svg = scratch_path ("no/such/folder/counts.svg");
  const guint64 matrix[] = { 5, 1, 0, 2, 7, 1, 0, 0, 9 };
  g_autoptr(GdkPixbuf) bars = NULL;
  g_autoptr(GdkPixbuf) small_bars = NULL;
  g_autoptr(GdkPixbuf) line_pixbuf = NULL;
  g_autoptr(GdkPixbuf) heatmap_pixbuf = NULL;
  g_autoptr(GdkPixbuf) empty = NULL;
  graphene_rect_t rect;
  guint s;

  g_assert_true (mien_chart_export (MIEN_CHART (chart), png, 800, 500, &error));
  g_assert_no_error (error);
  bars = load_png (png, 800, 500);
  assert_count_bars (bars);
  g_assert_true (mien_chart_export (MIEN_CHART (chart), upper, 321, 123, &error));
  g_assert_no_error (error);
  small_bars = load_png (upper, 321, 123);
  assert_count_bars (small_bars);

  g_assert_true (mien_chart_export (MIEN_CHART (chart), svg, 640, 400, &error));
  g_assert_no_error (error);
  assert_svg (svg);

  /* An export is not the widget: it leaves no on-screen geometry behind. */
  g_assert_false (mien_bar_chart_get_bar_rect (chart, 0, 0, &rect));

  s = mien_line_chart_add_series (MIEN_LINE_CHART (line), "Loss");
  for (guint i = 1; i <= 5; i++)
    mien_line_chart_append (MIEN_LINE_CHART (line), s, i, 1.0 / i);
  g_assert_true (mien_chart_export (MIEN_CHART (line), line_png, 500, 300, &error));
  g_assert_no_error (error);
  line_pixbuf = load_png (line_png, 500, 300);
  assert_falling_line (line_pixbuf);
  g_assert_true (mien_chart_export (MIEN_CHART (line), line_svg, 500, 300, &error));
  g_assert_no_error (error);
  assert_svg (line_svg);

  mien_heatmap_set_matrix (MIEN_HEATMAP (heatmap), (const char * const[]) { "a", "b", "c", NULL },
                           matrix, 3);
  g_assert_true (mien_chart_export (MIEN_CHART (heatmap), heatmap_png, 400, 400, &error));
  g_assert_no_error (error);
  heatmap_pixbuf = load_png (heatmap_png, 400, 400);
  assert_heatmap_cells (heatmap_pixbuf, matrix, 3);

  /* An empty chart exports too (its "No data" text). */
  mien_line_chart_clear (MIEN_LINE_CHART (line));
  g_assert_true (mien_chart_export (MIEN_CHART (line), empty_png, 300, 200, &error));
  g_assert_no_error (error);
  empty = load_png (empty_png, 300, 200);
  {
    GdkRGBA colour;
    int top, bottom;

    mien_chart_palette (0, &colour);
    for (int x = 0; x < 300; x++)
      g_assert_false (column_extent (empty, x, &colour, &top, &bottom));
  }

  g_assert_false (mien_chart_export (MIEN_CHART (chart), bad, 640, 400, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  /* A write that fails names the file. */
  g_assert_false (mien_chart_export (MIEN_CHART (chart), missing_dir, 640, 400, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, missing_dir));
  g_clear_error (&error);
  g_assert_false (mien_chart_export (MIEN_CHART (chart), missing_svg, 640, 400, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, missing_svg));
  g_clear_error (&error);

  g_assert_false (mien_chart_export (MIEN_CHART (chart), png, 0, 400, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

/* Exports are output files (mien-output.h): written whole or not at all, never into a FIFO
 * (which would block), and never through a symlink. */
static void
test_export_atomic (void)
{
  g_autoptr(MienBarChart) chart = g_object_ref_sink (new_count_chart ());
  g_autoptr(GError) error = NULL;
  g_autofree char *fifo = scratch_path ("chart-fifo.svg");
  g_autofree char *kept = scratch_path ("kept.png");
  g_autofree char *link = scratch_path ("link.png");
  g_autofree char *text = NULL;
  GStatBuf st;

  g_unlink (fifo);
  g_unlink (link);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_false (mien_chart_export (MIEN_CHART (chart), fifo, 640, 400, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
  g_assert_nonnull (strstr (error->message, fifo));
  g_clear_error (&error);
  g_assert_cmpint (g_lstat (fifo, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  g_unlink (fifo);

  /* A symlink at the target becomes the chart; the file it pointed to is kept. */
  g_assert_true (g_file_set_contents (kept, "kept", -1, NULL));
  g_assert_cmpint (symlink (kept, link), ==, 0);
  g_assert_true (mien_chart_export (MIEN_CHART (chart), link, 320, 200, &error));
  g_assert_no_error (error);
  {
    g_autoptr(GdkPixbuf) drawn = load_png (link, 320, 200);

    assert_count_bars (drawn);
  }
  g_assert_true (g_file_get_contents (kept, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "kept");
  g_assert_cmpint (g_lstat (link, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
}

/* ---- Line chart ---------------------------------------------------------------------------- */

static void
test_line_chart (void)
{
  g_autoptr(MienLineChart) chart = g_object_ref_sink (MIEN_LINE_CHART (mien_line_chart_new ()));
  g_autofree char *path = scratch_path ("f1.png");
  g_autoptr(GError) error = NULL;
  guint a, b;

  mien_line_chart_set_axis_labels (chart, "Epoch", "F1");
  mien_line_chart_set_y_range (chart, 0, 1);
  a = mien_line_chart_add_series (chart, "anger");
  b = mien_line_chart_add_series (chart, "fear");
  g_assert_cmpuint (a, ==, 0);
  g_assert_cmpuint (b, ==, 1);
  g_assert_cmpuint (mien_line_chart_get_n_series (chart), ==, 2);

  for (guint i = 1; i <= 40; i++)
    mien_line_chart_append (chart, a, i, 1 - 1.0 / i);
  mien_line_chart_append (chart, b, 1, 0.2);
  /* A diverged value only breaks the line. */
  mien_line_chart_append (chart, b, 2, NAN);
  mien_line_chart_append (chart, b, 3, 0.4);
  g_assert_cmpuint (mien_line_chart_get_n_points (chart, a), ==, 40);
  g_assert_cmpuint (mien_line_chart_get_n_points (chart, b), ==, 3);
  g_assert_true (mien_chart_export (MIEN_CHART (chart), path, 600, 300, &error));
  g_assert_no_error (error);

  mien_line_chart_clear (chart);
  g_assert_cmpuint (mien_line_chart_get_n_series (chart), ==, 0);
}

/* ---- Heatmap ------------------------------------------------------------------------------- */

typedef struct {
  guint n_activated;
  guint row;
  guint column;
} Activation;

static void
cell_activated (MienHeatmap *heatmap,
                guint        row,
                guint        column,
                Activation  *activation)
{
  activation->n_activated++;
  activation->row = row;
  activation->column = column;
}

static GtkGestureClick *
find_click_gesture (GtkWidget *widget)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_GESTURE_CLICK (controller))
        return GTK_GESTURE_CLICK (controller);
    }
  return NULL;
}

static void
test_heatmap (void)
{
  const char * const labels[] = { "anger", "disgust", "fear", NULL };
  const guint64 matrix[] = {
    50, 3, 7,
     2, 9, 1,
     6, 0, 30,
  };
  MienHeatmap *heatmap = MIEN_HEATMAP (mien_heatmap_new ());
  GtkWidget *window = show_in_window (GTK_WIDGET (heatmap), 500, 500);
  Activation activation = { 0 };
  double min_x = G_MAXDOUBLE, max_x = -1, min_y = G_MAXDOUBLE, max_y = -1, cell_w, cell_h;
  int width, height;
  guint row, column;
  GtkGestureClick *click;

  mien_chart_set_title (MIEN_CHART (heatmap), "Confusion matrix");
  mien_heatmap_set_matrix (heatmap, labels, matrix, 3);
  g_assert_cmpuint (mien_heatmap_get_size (heatmap), ==, 3);
  g_signal_connect (heatmap, "cell-activated", G_CALLBACK (cell_activated), &activation);
  g_assert_true (gtk_widget_get_focusable (GTK_WIDGET (heatmap)));
  g_assert_true (iterate_until (heatmap_drawn, heatmap));

  /* Find the grid by probing every pixel: a square of 3 × 3 equal cells. */
  width = gtk_widget_get_width (GTK_WIDGET (heatmap));
  height = gtk_widget_get_height (GTK_WIDGET (heatmap));
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      if (mien_heatmap_get_cell_at (heatmap, x + 0.5, y + 0.5, &row, &column))
        {
          min_x = MIN (min_x, x);
          max_x = MAX (max_x, x + 1);
          min_y = MIN (min_y, y);
          max_y = MAX (max_y, y + 1);
        }
  cell_w = (max_x - min_x) / 3;
  cell_h = (max_y - min_y) / 3;
  g_assert_cmpfloat (cell_w, >, 20);
  g_assert_cmpfloat (fabs (cell_w - cell_h), <=, 1);
  /* The title and the labels are outside the grid. */
  g_assert_false (mien_heatmap_get_cell_at (heatmap, 1, 1, NULL, NULL));
  g_assert_cmpfloat (min_x, >, 20);

  for (guint r = 0; r < 3; r++)
    for (guint c = 0; c < 3; c++)
      {
        g_assert_true (mien_heatmap_get_cell_at (heatmap, min_x + (c + 0.5) * cell_w,
                                                 min_y + (r + 0.5) * cell_h, &row, &column));
        g_assert_cmpuint (row, ==, r);
        g_assert_cmpuint (column, ==, c);
      }

  /* Keyboard: Enter and the arrows are bound to these actions. */
  mien_heatmap_select_cell (heatmap, 1, 1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (heatmap), "heatmap.activate-cell", NULL));
  g_assert_cmpuint (activation.n_activated, ==, 1);
  g_assert_cmpuint (activation.row, ==, 1);
  g_assert_cmpuint (activation.column, ==, 1);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (heatmap), "heatmap.move", "(ii)", 0, 1));
  gtk_widget_activate_action (GTK_WIDGET (heatmap), "heatmap.activate-cell", NULL);
  g_assert_cmpuint (activation.n_activated, ==, 2);
  g_assert_cmpuint (activation.row, ==, 1);
  g_assert_cmpuint (activation.column, ==, 2);

  /* Moving stops at the edges. */
  gtk_widget_activate_action (GTK_WIDGET (heatmap), "heatmap.move", "(ii)", 0, 1);
  gtk_widget_activate_action (GTK_WIDGET (heatmap), "heatmap.move", "(ii)", -1, 0);
  gtk_widget_activate_action (GTK_WIDGET (heatmap), "heatmap.move", "(ii)", -1, 0);
  gtk_widget_activate_action (GTK_WIDGET (heatmap), "heatmap.activate-cell", NULL);
  g_assert_cmpuint (activation.n_activated, ==, 3);
  g_assert_cmpuint (activation.row, ==, 0);
  g_assert_cmpuint (activation.column, ==, 2);

  /* A click: the widget's own click gesture, as GTK calls it on a release. */
  click = find_click_gesture (GTK_WIDGET (heatmap));
  g_assert_nonnull (click);
  g_signal_emit_by_name (click, "released", 1, min_x + 0.5 * cell_w, min_y + 2.5 * cell_h);
  g_assert_cmpuint (activation.n_activated, ==, 4);
  g_assert_cmpuint (activation.row, ==, 2);
  g_assert_cmpuint (activation.column, ==, 0);
  /* ... and a click outside the grid does nothing. */
  g_signal_emit_by_name (click, "released", 1, 1.0, 1.0);
  g_assert_cmpuint (activation.n_activated, ==, 4);

  gtk_window_destroy (GTK_WINDOW (window));
}

/* ---- Accessibility ------------------------------------------------------------------------- */

/* gtk_test_accessible_assert_property () pastes the expected value into a printf format, which
 * a '%' in it breaks. */
static void
assert_accessible_string (GtkAccessible         *accessible,
                          GtkAccessibleProperty  property,
                          const char            *expected)
{
  g_autofree char *message = gtk_test_accessible_check_property (accessible, property, expected);

  if (message != NULL)
    g_error ("accessible property %d: %s, expected “%s”", property, message, expected);
}

static void
test_accessible (void)
{
  g_autoptr(MienBarChart) bars = g_object_ref_sink (new_count_chart ());
  g_autoptr(GtkWidget) heatmap = g_object_ref_sink (mien_heatmap_new ());
  g_autoptr(GtkWidget) line = g_object_ref_sink (mien_line_chart_new ());
  const guint64 matrix[] = { 3, 1, 0, 4 };

  g_assert_cmpint (gtk_accessible_get_accessible_role (GTK_ACCESSIBLE (bars)), ==,
                   GTK_ACCESSIBLE_ROLE_IMG);
  g_assert_cmpint (gtk_accessible_get_accessible_role (GTK_ACCESSIBLE (heatmap)), ==,
                   GTK_ACCESSIBLE_ROLE_IMG);
  g_assert_cmpint (gtk_accessible_get_accessible_role (GTK_ACCESSIBLE (line)), ==,
                   GTK_ACCESSIBLE_ROLE_IMG);

  assert_accessible_string (GTK_ACCESSIBLE (bars), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Images per class");
  /* The description carries the data. */
  assert_accessible_string (GTK_ACCESSIBLE (bars), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                       "anger 800, disgust 80, fear 410, happiness 620, "
                                       "sadness 333, surprise 1");
  g_assert_cmpstr (mien_chart_get_title (MIEN_CHART (bars)), ==, "Images per class");

  mien_chart_set_title (MIEN_CHART (bars), "Renamed");
  assert_accessible_string (GTK_ACCESSIBLE (bars), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Renamed");

  mien_chart_set_title (MIEN_CHART (heatmap), "Confusion matrix");
  mien_heatmap_set_matrix (MIEN_HEATMAP (heatmap), (const char * const[]) { "a", "b", NULL },
                           matrix, 2);
  assert_accessible_string (GTK_ACCESSIBLE (heatmap), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Confusion matrix");
  assert_accessible_string (GTK_ACCESSIBLE (heatmap),
                                       GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                       "a: 3 of 4 right (75%), most often taken for b (1); "
                                       "b: 4 of 4 right (100%)");
}

/* ---- Scales -------------------------------------------------------------------------------- */

static void
test_nice_scale (void)
{
  double lo, hi, step;
  g_autofree char *tick = NULL;
  g_autofree char *tick2 = NULL;

  mien_chart_nice_scale (0, 800, 5, &lo, &hi, &step);
  g_assert_cmpfloat (lo, ==, 0);
  g_assert_cmpfloat (step, ==, 200);
  g_assert_cmpfloat (hi, ==, 800);

  mien_chart_nice_scale (0, 813, 5, &lo, &hi, &step);
  g_assert_cmpfloat (step, ==, 200);
  g_assert_cmpfloat (hi, ==, 1000);

  mien_chart_nice_scale (0.31, 0.92, 4, &lo, &hi, &step);
  g_assert_cmpfloat (fabs (step - 0.2), <, 1e-12);
  g_assert_cmpfloat (fabs (lo - 0.2), <, 1e-12);
  g_assert_cmpfloat (fabs (hi - 1.0), <, 1e-12);

  /* A flat series still gets a range. */
  mien_chart_nice_scale (3, 3, 4, &lo, &hi, &step);
  g_assert_cmpfloat (lo, <, 3);
  g_assert_cmpfloat (hi, >, 3);

  tick = mien_chart_format_tick (0.5, 0.25);
  g_assert_cmpstr (tick, ==, "0.50");
  tick2 = mien_chart_format_tick (400, 200);
  g_assert_cmpstr (tick2, ==, "400");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  scratch_dir = g_dir_make_tmp ("mien-test-charts-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/charts/bar/values", test_bar_values);
  g_test_add_func ("/charts/bar/rects-vertical", test_bar_rects_vertical);
  g_test_add_func ("/charts/bar/rects-grouped", test_bar_rects_grouped);
  g_test_add_func ("/charts/bar/rects-horizontal", test_bar_rects_horizontal);
  g_test_add_func ("/charts/export", test_export);
  g_test_add_func ("/charts/export-atomic", test_export_atomic);
  g_test_add_func ("/charts/line", test_line_chart);
  g_test_add_func ("/charts/heatmap", test_heatmap);
  g_test_add_func ("/charts/accessible", test_accessible);
  g_test_add_func ("/charts/nice-scale", test_nice_scale);

  status = g_test_run ();
  mien_test_remove_tree (scratch_dir);
  g_free (scratch_dir);
  return status;
}
