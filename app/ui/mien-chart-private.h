/* mien-chart-private.h — drawing helpers the chart classes share (text, axes, legends). */
#pragma once

#include "mien-chart.h"

G_BEGIN_DECLS

/* Space kept around the plot on every side, in pixels. */
#define MIEN_CHART_MARGIN 8.0

/* Whether the chart is being drawn into an export rather than on screen: subclasses remember
 * widget geometry (bar rects, cells) only from on-screen draws. */
gboolean     mien_chart_is_exporting   (MienChart     *self);

/* A layout in the widget's font; `scale` multiplies its size (1 = body text). */
PangoLayout *mien_chart_create_layout  (MienChart     *self,
                                        cairo_t       *cr,
                                        const char    *text,
                                        gboolean       bold,
                                        double         scale);
/* Size of `text` as mien_chart_show_text () would draw it. */
void         mien_chart_text_size      (MienChart     *self,
                                        cairo_t       *cr,
                                        const char    *text,
                                        gboolean       bold,
                                        double         scale,
                                        double        *width,
                                        double        *height);
/* Draws `text` with its (xalign, yalign) point at (x, y), turned by `angle` radians around that
 * point, in the current source colour. */
void         mien_chart_show_text      (MienChart     *self,
                                        cairo_t       *cr,
                                        const char    *text,
                                        gboolean       bold,
                                        double         scale,
                                        double         x,
                                        double         y,
                                        double         xalign,
                                        double         yalign,
                                        double         angle);
/* Draws the title centred at the top; returns the height it took (0 without a title). */
double       mien_chart_draw_title     (MienChart     *self,
                                        cairo_t       *cr,
                                        int            width,
                                        const GdkRGBA *fg);
/* Draws a legend (swatch + name per series) centred in `width`, wrapping rows; returns its
 * height. With `draw` FALSE only measures. */
double       mien_chart_draw_legend    (MienChart     *self,
                                        cairo_t       *cr,
                                        const char * const *names,
                                        guint          n_names,
                                        double         y,
                                        int            width,
                                        const GdkRGBA *fg,
                                        gboolean       draw);
/* `fg` at `alpha` times its own opacity: grid lines and dim text that work on light and dark
 * backgrounds alike. */
void         mien_chart_set_source     (cairo_t       *cr,
                                        const GdkRGBA *color,
                                        double         alpha);
/* Round axis bounds around [lo, hi] with about `n_ticks` steps of 1, 2, 2.5 or 5 × 10^k. */
void         mien_chart_nice_scale     (double         lo,
                                        double         hi,
                                        guint          n_ticks,
                                        double        *out_lo,
                                        double        *out_hi,
                                        double        *out_step);
/* A tick label: as few decimals as `step` needs. */
char        *mien_chart_format_tick    (double         value,
                                        double         step);
/* Text drawn where a chart has no data yet. */
void         mien_chart_draw_empty     (MienChart     *self,
                                        cairo_t       *cr,
                                        double         x,
                                        double         y,
                                        double         width,
                                        double         height,
                                        const GdkRGBA *fg,
                                        const char    *text);

G_END_DECLS
