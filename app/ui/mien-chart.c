/* mien-chart.c — the base of the studio's charts: drawing through Cairo, export to PNG and SVG,
 * accessible name and description, and the helpers every chart draws with. */
#include "config.h"

#include <math.h>

#include <cairo-svg.h>
#include <glib/gi18n-lib.h>

#include "mien-chart-private.h"
#include "mien-output.h"

typedef struct
{
  char         *title;
  /* Set only while drawing: one Pango context for every label of one draw. */
  PangoContext *draw_context;
  gboolean      exporting;
} MienChartPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (MienChart, mien_chart, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TITLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The palette named in mien-chart.h, in GNOME's HIG colours. */
static const GdkRGBA palette[] = {
  { 0x35 / 255.0, 0x84 / 255.0, 0xe4 / 255.0, 1.0 },  /* blue */
  { 0xff / 255.0, 0x78 / 255.0, 0x00 / 255.0, 1.0 },  /* orange */
  { 0x33 / 255.0, 0xd1 / 255.0, 0x7a / 255.0, 1.0 },  /* green */
  { 0x91 / 255.0, 0x41 / 255.0, 0xac / 255.0, 1.0 },  /* purple */
  { 0xe0 / 255.0, 0x1b / 255.0, 0x24 / 255.0, 1.0 },  /* red */
  { 0xf6 / 255.0, 0xd3 / 255.0, 0x2d / 255.0, 1.0 },  /* yellow */
  { 0x98 / 255.0, 0x6a / 255.0, 0x44 / 255.0, 1.0 },  /* brown */
};

void
mien_chart_palette (guint    index,
                    GdkRGBA *out)
{
  g_return_if_fail (out != NULL);

  *out = palette[index % G_N_ELEMENTS (palette)];
}

/* ---- Drawing ------------------------------------------------------------------------------- */

static void
mien_chart_draw_with (MienChart     *self,
                      cairo_t       *cr,
                      int            width,
                      int            height,
                      const GdkRGBA *fg,
                      gboolean       exporting)
{
  MienChartPrivate *priv = mien_chart_get_instance_private (self);
  MienChartClass *klass = MIEN_CHART_GET_CLASS (self);
  PangoContext *widget_context = gtk_widget_get_pango_context (GTK_WIDGET (self));
  const cairo_font_options_t *options = pango_cairo_context_get_font_options (widget_context);

  if (klass->draw == NULL || width <= 0 || height <= 0)
    return;

  priv->draw_context = pango_cairo_create_context (cr);
  pango_context_set_font_description (priv->draw_context,
                                      pango_context_get_font_description (widget_context));
  if (!exporting)
    {
      /* On screen, text follows the desktop's resolution and hinting; an export is made at
       * 96 dpi, the resolution of its pixel size. */
      pango_cairo_context_set_resolution (priv->draw_context,
                                          pango_cairo_context_get_resolution (widget_context));
      if (options != NULL)
        pango_cairo_context_set_font_options (priv->draw_context, options);
    }
  priv->exporting = exporting;

  cairo_save (cr);
  klass->draw (self, cr, width, height, fg);
  cairo_restore (cr);

  priv->exporting = FALSE;
  g_clear_object (&priv->draw_context);
}

static void
mien_chart_snapshot (GtkWidget   *widget,
                     GtkSnapshot *snapshot)
{
  MienChart *self = MIEN_CHART (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  GdkRGBA fg;
  cairo_t *cr;

  if (width <= 0 || height <= 0)
    return;

  /* gtk_widget_get_color () is GTK 4.10; this is its 4.8 spelling. */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS

  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  mien_chart_draw_with (self, cr, width, height, &fg, FALSE);
  cairo_destroy (cr);
}

static void
mien_chart_measure (GtkWidget      *widget,
                    GtkOrientation  orientation,
                    int             for_size,
                    int            *minimum,
                    int            *natural,
                    int            *minimum_baseline,
                    int            *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 160;
      *natural = 360;
    }
  else
    {
      *minimum = 120;
      *natural = 240;
    }
}

/* ---- Properties ---------------------------------------------------------------------------- */

static void
mien_chart_update_description (MienChart *self)
{
  MienChartClass *klass = MIEN_CHART_GET_CLASS (self);
  g_autofree char *description = NULL;

  if (klass->describe != NULL)
    description = klass->describe (self);
  if (description != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                    GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description,
                                    -1);
  else
    gtk_accessible_reset_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
}

void
mien_chart_set_title (MienChart  *self,
                      const char *title)
{
  MienChartPrivate *priv;

  g_return_if_fail (MIEN_IS_CHART (self));

  priv = mien_chart_get_instance_private (self);
  if (g_strcmp0 (priv->title, title) == 0)
    return;
  g_free (priv->title);
  priv->title = g_strdup (title);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, title != NULL ? title : "",
                                  -1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

const char *
mien_chart_get_title (MienChart *self)
{
  MienChartPrivate *priv;

  g_return_val_if_fail (MIEN_IS_CHART (self), NULL);

  priv = mien_chart_get_instance_private (self);
  return priv->title;
}

void
mien_chart_changed (MienChart *self)
{
  g_return_if_fail (MIEN_IS_CHART (self));

  mien_chart_update_description (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- Export -------------------------------------------------------------------------------- */

static gboolean
check_cairo (cairo_status_t   status,
             const char      *path,
             GError         **error)
{
  if (status == CAIRO_STATUS_SUCCESS)
    return TRUE;

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               _("Could not write the chart to “%s”: %s"), path,
               cairo_status_to_string (status));
  return FALSE;
}

static void
draw_export (MienChart *self,
             cairo_t   *cr,
             int        width,
             int        height)
{
  /* Exports go into documents and slides: dark text on white whatever the desktop's style. */
  static const GdkRGBA dark = { 0x24 / 255.0, 0x1f / 255.0, 0x31 / 255.0, 1.0 };

  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  mien_chart_draw_with (self, cr, width, height, &dark, TRUE);
}

/* Cairo writes an export through this into the output file's temporary file. */
typedef struct {
  MienOutput *output;
  GError     *error;
} ExportSink;

static cairo_status_t
write_export (void                *closure,
              const unsigned char *data,
              unsigned int         length)
{
  ExportSink *sink = closure;

  if (sink->error == NULL && mien_output_write (sink->output, data, length, &sink->error))
    return CAIRO_STATUS_SUCCESS;
  return CAIRO_STATUS_WRITE_ERROR;
}

gboolean
mien_chart_export (MienChart   *self,
                   const char  *path,
                   int          width,
                   int          height,
                   GError     **error)
{
  g_autoptr(MienOutput) output = NULL;
  ExportSink sink = { NULL, NULL };
  cairo_surface_t *surface;
  cairo_t *cr;
  cairo_status_t status;
  g_autofree char *lower = NULL;
  gboolean png, svg;

  g_return_val_if_fail (MIEN_IS_CHART (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (width <= 0 || height <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Cannot export a chart of %d × %d pixels"), width, height);
      return FALSE;
    }
  lower = g_ascii_strdown (path, -1);
  png = g_str_has_suffix (lower, ".png");
  svg = g_str_has_suffix (lower, ".svg");
  if (!png && !svg)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Cannot export a chart to “%s”: the name must end in .png or .svg"), path);
      return FALSE;
    }

  /* An output file (mien-output.h): a complete chart or the old file, never half of one. */
  output = mien_output_new (path, NULL, error);
  if (output == NULL)
    return FALSE;
  sink.output = output;
  if (png)
    surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  else
    surface = cairo_svg_surface_create_for_stream (write_export, &sink, width, height);
  status = cairo_surface_status (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    {
      cr = cairo_create (surface);
      draw_export (self, cr, width, height);
      status = cairo_status (cr);
      cairo_destroy (cr);
      if (status == CAIRO_STATUS_SUCCESS && png)
        status = cairo_surface_write_to_png_stream (surface, write_export, &sink);
      /* An SVG is written as it is finished. */
      cairo_surface_finish (surface);
      if (status == CAIRO_STATUS_SUCCESS)
        status = cairo_surface_status (surface);
    }
  cairo_surface_destroy (surface);
  if (sink.error != NULL)
    {
      g_propagate_error (error, sink.error);
      return FALSE;
    }
  return check_cairo (status, path, error) && mien_output_commit (output, error);
}

/* ---- Helpers for subclasses ---------------------------------------------------------------- */

gboolean
mien_chart_is_exporting (MienChart *self)
{
  MienChartPrivate *priv = mien_chart_get_instance_private (self);

  return priv->exporting;
}

PangoLayout *
mien_chart_create_layout (MienChart  *self,
                          cairo_t    *cr,
                          const char *text,
                          gboolean    bold,
                          double      scale)
{
  MienChartPrivate *priv = mien_chart_get_instance_private (self);
  PangoLayout *layout;

  if (priv->draw_context != NULL)
    layout = pango_layout_new (priv->draw_context);
  else
    layout = pango_cairo_create_layout (cr);

  if (bold || scale != 1.0)
    {
      PangoContext *context = pango_layout_get_context (layout);
      PangoFontDescription *desc =
        pango_font_description_copy (pango_context_get_font_description (context));

      if (bold)
        pango_font_description_set_weight (desc, PANGO_WEIGHT_BOLD);
      if (scale != 1.0)
        {
          int size = pango_font_description_get_size (desc);

          if (size <= 0)
            size = 10 * PANGO_SCALE;
          if (pango_font_description_get_size_is_absolute (desc))
            pango_font_description_set_absolute_size (desc, size * scale);
          else
            pango_font_description_set_size (desc, (int) (size * scale));
        }
      pango_layout_set_font_description (layout, desc);
      pango_font_description_free (desc);
    }
  pango_layout_set_text (layout, text, -1);
  return layout;
}

void
mien_chart_text_size (MienChart  *self,
                      cairo_t    *cr,
                      const char *text,
                      gboolean    bold,
                      double      scale,
                      double     *width,
                      double     *height)
{
  g_autoptr(PangoLayout) layout = mien_chart_create_layout (self, cr, text, bold, scale);
  int w, h;

  pango_layout_get_pixel_size (layout, &w, &h);
  if (width != NULL)
    *width = w;
  if (height != NULL)
    *height = h;
}

void
mien_chart_show_text (MienChart  *self,
                      cairo_t    *cr,
                      const char *text,
                      gboolean    bold,
                      double      scale,
                      double      x,
                      double      y,
                      double      xalign,
                      double      yalign,
                      double      angle)
{
  g_autoptr(PangoLayout) layout = mien_chart_create_layout (self, cr, text, bold, scale);
  int w, h;

  pango_layout_get_pixel_size (layout, &w, &h);
  cairo_save (cr);
  cairo_translate (cr, x, y);
  if (angle != 0)
    cairo_rotate (cr, angle);
  cairo_move_to (cr, -xalign * w, -yalign * h);
  pango_cairo_show_layout (cr, layout);
  cairo_restore (cr);
}

double
mien_chart_draw_title (MienChart     *self,
                       cairo_t       *cr,
                       int            width,
                       const GdkRGBA *fg)
{
  MienChartPrivate *priv = mien_chart_get_instance_private (self);
  g_autoptr(PangoLayout) layout = NULL;
  int w, h;

  if (priv->title == NULL || priv->title[0] == '\0')
    return 0;

  layout = mien_chart_create_layout (self, cr, priv->title, TRUE, 1.1);
  pango_layout_set_width (layout, MAX (1, width - 2 * MIEN_CHART_MARGIN) * PANGO_SCALE);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
  pango_layout_get_pixel_size (layout, &w, &h);

  gdk_cairo_set_source_rgba (cr, fg);
  cairo_move_to (cr, MIEN_CHART_MARGIN, MIEN_CHART_MARGIN / 2);
  pango_cairo_show_layout (cr, layout);
  return h + MIEN_CHART_MARGIN;
}

double
mien_chart_draw_legend (MienChart          *self,
                        cairo_t            *cr,
                        const char * const *names,
                        guint               n_names,
                        double              y,
                        int                 width,
                        const GdkRGBA      *fg,
                        gboolean            draw)
{
  const double swatch = 10, gap = 6, spacing = 16;
  double avail = width - 2 * MIEN_CHART_MARGIN;
  double line_h = 0, total_h = 0;
  guint first = 0;

  if (n_names == 0)
    return 0;

  /* Lays out one row at a time: as many entries as fit, centred. */
  while (first < n_names)
    {
      double row_w = 0, x;
      guint last = first;

      line_h = 0;
      for (guint i = first; i < n_names; i++)
        {
          double w, h, entry;

          mien_chart_text_size (self, cr, names[i], FALSE, 0.9, &w, &h);
          entry = swatch + gap + w;
          if (i > first && row_w + spacing + entry > avail)
            break;
          row_w += (i > first ? spacing : 0) + entry;
          line_h = MAX (line_h, h);
          last = i + 1;
        }

      if (draw)
        {
          x = MIEN_CHART_MARGIN + MAX (0, (avail - row_w) / 2);
          for (guint i = first; i < last; i++)
            {
              GdkRGBA color;
              double w;

              mien_chart_palette (i, &color);
              gdk_cairo_set_source_rgba (cr, &color);
              cairo_rectangle (cr, x, y + total_h + (line_h - swatch) / 2, swatch, swatch);
              cairo_fill (cr);
              x += swatch + gap;

              gdk_cairo_set_source_rgba (cr, fg);
              mien_chart_text_size (self, cr, names[i], FALSE, 0.9, &w, NULL);
              mien_chart_show_text (self, cr, names[i], FALSE, 0.9, x, y + total_h, 0, 0, 0);
              x += w + spacing;
            }
        }
      total_h += line_h + 2;
      first = last;
    }

  return total_h + MIEN_CHART_MARGIN / 2;
}

void
mien_chart_set_source (cairo_t       *cr,
                       const GdkRGBA *color,
                       double         alpha)
{
  cairo_set_source_rgba (cr, color->red, color->green, color->blue, color->alpha * alpha);
}

void
mien_chart_nice_scale (double  lo,
                       double  hi,
                       guint   n_ticks,
                       double *out_lo,
                       double *out_hi,
                       double *out_step)
{
  static const double steps[] = { 1, 2, 2.5, 5, 10 };
  double range, raw, magnitude, step = 1;

  if (!isfinite (lo) || !isfinite (hi))
    lo = 0, hi = 1;
  if (hi < lo)
    {
      double t = lo;

      lo = hi;
      hi = t;
    }
  if (hi - lo < 1e-12)
    {
      /* A flat series still needs an axis around its value. */
      double pad = fabs (hi) > 1e-12 ? fabs (hi) * 0.1 : 1;

      lo -= pad;
      hi += pad;
    }
  if (n_ticks < 1)
    n_ticks = 1;

  range = hi - lo;
  raw = range / n_ticks;
  magnitude = pow (10, floor (log10 (raw)));
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      step = steps[i] * magnitude;
      if (step >= raw * (1 - 1e-9))
        break;
    }

  *out_lo = floor (lo / step + 1e-9) * step;
  *out_hi = ceil (hi / step - 1e-9) * step;
  *out_step = step;
}

char *
mien_chart_format_tick (double value,
                        double step)
{
  int decimals = 0;

  if (fabs (value) < step * 1e-6)
    value = 0;
  /* Enough decimals to tell two ticks apart (2.5 needs one). */
  for (double scaled = step; decimals < 6 && fabs (scaled - round (scaled)) > 1e-6; scaled *= 10)
    decimals++;
  return g_strdup_printf ("%.*f", decimals, value);
}

void
mien_chart_draw_empty (MienChart     *self,
                       cairo_t       *cr,
                       double         x,
                       double         y,
                       double         width,
                       double         height,
                       const GdkRGBA *fg,
                       const char    *text)
{
  mien_chart_set_source (cr, fg, 0.55);
  mien_chart_show_text (self, cr, text, FALSE, 1.0, x + width / 2, y + height / 2, 0.5, 0.5, 0);
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
mien_chart_finalize (GObject *object)
{
  MienChart *self = MIEN_CHART (object);
  MienChartPrivate *priv = mien_chart_get_instance_private (self);

  g_free (priv->title);
  G_OBJECT_CLASS (mien_chart_parent_class)->finalize (object);
}

static void
mien_chart_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  MienChart *self = MIEN_CHART (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, mien_chart_get_title (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_chart_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  MienChart *self = MIEN_CHART (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      mien_chart_set_title (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_chart_css_changed (GtkWidget         *widget,
                        GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (mien_chart_parent_class)->css_changed (widget, change);
  /* The colours come from the style (dark style switches them): redraw with the new ones. */
  gtk_widget_queue_draw (widget);
}

static void
mien_chart_class_init (MienChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = mien_chart_finalize;
  object_class->get_property = mien_chart_get_property;
  object_class->set_property = mien_chart_set_property;

  widget_class->snapshot = mien_chart_snapshot;
  widget_class->measure = mien_chart_measure;
  widget_class->css_changed = mien_chart_css_changed;

  /**
   * MienChart:title:
   *
   * Drawn at the top of the chart, and its accessible label.
   */
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "chart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
mien_chart_init (MienChart *self)
{
}
