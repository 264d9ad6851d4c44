/* mien-demo-data.c — the synthetic demo dataset: cartoon faces drawn with Cairo.
 *
 * Every face is drawn in "face units": the face ellipse is about 2 units wide and 2.4 tall,
 * centred on the origin, and one cairo transform places, tilts and scales it. An expression is a
 * handful of numbers (brow ends, eye opening, mouth corners, ...) interpolated from a neutral
 * face towards the class's target by a random intensity and then jittered, so that weak
 * expressions of different classes overlap a little, as real ones do.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <cairo.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mien-demo-data.h"

G_DEFINE_QUARK (mien-demo-data-error-quark, mien_demo_data_error)

#define N_CLASSES 6
#define MAX_PER_CLASS 100000

enum {
  ANGER,
  DISGUST,
  FEAR,
  HAPPINESS,
  SADNESS,
  SURPRISE,
};

static const char * const class_names[N_CLASSES + 1] = {
  "anger", "disgust", "fear", "happiness", "sadness", "surprise", NULL,
};

/* Relative class sizes, shaped like ABAW4's training set: sadness largest, fear a tenth of it. */
static const double class_ratios[N_CLASSES] = { 0.45, 0.25, 0.10, 0.70, 1.00, 0.40 };

static const char * const split_names[2] = { "train", "val" };

/* ---- Random numbers ---------------------------------------------------------------------- */

/* splitmix64: tiny, fast, good enough for drawing, and the same on every platform, which GRand's
 * global state and rand () are not. */
typedef struct {
  guint64 state;
} Rng;

static guint64
mix64 (guint64 z)
{
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static guint64
rng_next (Rng *rng)
{
  rng->state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  return mix64 (rng->state);
}

static double
rng_uniform (Rng *rng)
{
  return (double) (rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
}

static double
rng_range (Rng   *rng,
           double lo,
           double hi)
{
  return lo + (hi - lo) * rng_uniform (rng);
}

static gboolean
rng_chance (Rng   *rng,
            double p)
{
  return rng_uniform (rng) < p;
}

static double
rng_sign (Rng *rng)
{
  return rng_chance (rng, 0.5) ? 1.0 : -1.0;
}

static double
rng_normal (Rng *rng)
{
  double u1 = 1.0 - rng_uniform (rng); /* (0, 1]: log () stays finite */
  double u2 = rng_uniform (rng);

  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

/* Each image's seed depends on all four numbers, so that growing per_class or val_fraction adds
 * images without changing the ones already there. */
static guint64
image_seed (guint64 seed,
            guint   split,
            guint   klass,
            guint   index)
{
  guint64 h = mix64 (seed + G_GUINT64_CONSTANT (0x6d69656e64656d6f));

  h = mix64 (h ^ ((guint64) split + 1) * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
  h = mix64 (h ^ ((guint64) klass + 1) * G_GUINT64_CONSTANT (0xc2b2ae3d27d4eb4f));
  h = mix64 (h ^ ((guint64) index + 1) * G_GUINT64_CONSTANT (0x165667b19e3779f9));
  return h;
}

/* ---- Colours ----------------------------------------------------------------------------- */

typedef struct {
  double r, g, b;
} Rgb;

static Rgb
rgb_mix (Rgb    a,
         Rgb    b,
         double t)
{
  Rgb c = { a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t };

  return c;
}

static Rgb
rgb_scale (Rgb    a,
           double k)
{
  Rgb c = { CLAMP (a.r * k, 0, 1), CLAMP (a.g * k, 0, 1), CLAMP (a.b * k, 0, 1) };

  return c;
}

static Rgb
rgb_jitter (Rng   *rng,
            Rgb    a,
            double amount)
{
  Rgb c = {
    CLAMP (a.r + amount * rng_normal (rng), 0, 1),
    CLAMP (a.g + amount * rng_normal (rng), 0, 1),
    CLAMP (a.b + amount * rng_normal (rng), 0, 1),
  };

  return c;
}

static Rgb
rgb_random (Rng *rng)
{
  Rgb c = { rng_uniform (rng), rng_uniform (rng), rng_uniform (rng) };

  return c;
}

static void
set_rgb (cairo_t *cr,
         Rgb      c)
{
  cairo_set_source_rgb (cr, c.r, c.g, c.b);
}

static void
set_rgba (cairo_t *cr,
          Rgb      c,
          double   alpha)
{
  cairo_set_source_rgba (cr, c.r, c.g, c.b, alpha);
}

#define RGB8(r, g, b) { (r) / 255.0, (g) / 255.0, (b) / 255.0 }

/* From very light to very dark skin; a face picks a point anywhere along this path. */
static const Rgb skin_tones[] = {
  RGB8 (255, 224, 196), RGB8 (241, 198, 164), RGB8 (226, 173, 130), RGB8 (199, 142, 98),
  RGB8 (163, 108, 72),  RGB8 (121, 78, 52),   RGB8 (84, 54, 38),
};

static const Rgb hair_colours[] = {
  RGB8 (24, 20, 18),   RGB8 (48, 34, 24),   RGB8 (92, 62, 38), RGB8 (140, 98, 60),
  RGB8 (214, 182, 120), RGB8 (150, 62, 30), RGB8 (150, 150, 150), RGB8 (222, 220, 212),
};

static const Rgb iris_colours[] = {
  RGB8 (70, 44, 26), RGB8 (40, 26, 18), RGB8 (60, 110, 160), RGB8 (80, 120, 70), RGB8 (110, 96, 60),
};

static Rgb
random_skin (Rng *rng)
{
  double t = rng_uniform (rng) * (G_N_ELEMENTS (skin_tones) - 1);
  guint i = MIN ((guint) t, G_N_ELEMENTS (skin_tones) - 2);

  return rgb_jitter (rng, rgb_mix (skin_tones[i], skin_tones[i + 1], t - i), 0.02);
}

/* ---- Expressions ------------------------------------------------------------------------- */

/* The numbers that make an expression. Vertical offsets are in face units, + is down. */
typedef struct {
  double brow_raise;     /* whole brows up (-) or down (+) */
  double brow_inner;     /* inner ends lowered (+, anger) or raised (-, sadness, fear) */
  double brow_outer;     /* outer ends */
  double brow_arch;      /* middle raised above the line between the ends */
  double brow_together;  /* inner ends drawn towards the nose */
  double brow_asym;      /* one brow lower than the other */
  double eye_open;       /* half-height of the upper lid above the eye line */
  double eye_lower;      /* lower lid pushed up by the cheeks */
  double eye_slant;      /* inner half of the upper lid lowered */
  double mouth_width;
  double mouth_corner;   /* corners down (+, frown) or up (-, smile) */
  double mouth_top;      /* upper lip above the mouth line */
  double mouth_bottom;   /* lower lip below it */
  double mouth_round;    /* 0 almond, 1 oval */
  double lip_raise;      /* one side of the upper lip pulled up (sneer) */
  double corner_asym;    /* one corner higher than the other */
  double teeth_top;      /* how much upper teeth show, 0..1 */
  double teeth_bottom;
  double wrinkle;        /* nose-bridge wrinkles, 0..1 */
  double frown_lines;    /* vertical lines between the brows, 0..1 */
  double cheeks;         /* raised, flushed cheeks, 0..1 */
  double forehead;       /* the cartoon sweat drop of fear, 0..1 */
} Expression;

#define N_EXPRESSION_PARAMS (sizeof (Expression) / sizeof (double))

static const Expression neutral = {
  .brow_raise = 0, .brow_inner = 0, .brow_outer = 0, .brow_arch = 0.04, .brow_together = 0,
  .brow_asym = 0, .eye_open = 0.10, .eye_lower = 0, .eye_slant = 0,
  .mouth_width = 0.52, .mouth_corner = 0, .mouth_top = 0, .mouth_bottom = 0, .mouth_round = 0,
  .lip_raise = 0, .corner_asym = 0, .teeth_top = 0, .teeth_bottom = 0,
  .wrinkle = 0, .frown_lines = 0, .cheeks = 0, .forehead = 0,
};

/* How much each parameter wanders from face to face, whatever the class. */
static const Expression jitter = {
  .brow_raise = 0.035, .brow_inner = 0.03, .brow_outer = 0.025, .brow_arch = 0.02,
  .brow_together = 0.02, .brow_asym = 0.015, .eye_open = 0.015, .eye_lower = 0.01,
  .eye_slant = 0.01, .mouth_width = 0.05, .mouth_corner = 0.025, .mouth_top = 0.015,
  .mouth_bottom = 0.02, .mouth_round = 0.1, .lip_raise = 0.015, .corner_asym = 0.015,
  .teeth_top = 0.1, .teeth_bottom = 0.1, .wrinkle = 0.1, .frown_lines = 0.1, .cheeks = 0.1,
  .forehead = 0.1,
};

/* Cartoon exaggeration of each movement, so that 64-pixel faces still show it. */
static const Expression emphasis = {
  .brow_raise = 1.4, .brow_inner = 1.5, .brow_outer = 1.4, .brow_arch = 1.4, .brow_together = 1.2,
  .brow_asym = 1.4, .eye_open = 1.1, .eye_lower = 1.0, .eye_slant = 1.3,
  .mouth_width = 1.3, .mouth_corner = 1.4, .mouth_top = 1.2, .mouth_bottom = 1.2, .mouth_round = 1,
  .lip_raise = 1.3, .corner_asym = 1.3, .teeth_top = 1, .teeth_bottom = 1,
  .wrinkle = 1, .frown_lines = 1, .cheeks = 1, .forehead = 1,
};

/* The full-intensity target of class `klass`; some classes come in variants. */
static Expression
expression_target (guint klass,
                   Rng  *rng)
{
  Expression e = neutral;
  double side = rng_sign (rng);

  switch (klass)
    {
    case ANGER:
      e.brow_raise = 0.04;
      e.brow_inner = 0.15;
      e.brow_outer = -0.06;
      e.brow_arch = 0.0;
      e.brow_together = 0.06;
      e.eye_open = 0.065;
      e.eye_slant = 0.05;
      e.frown_lines = 1.0;
      e.wrinkle = 0.25;
      if (rng_chance (rng, 0.6))
        {
          /* pressed lips */
          e.mouth_width = 0.44;
          e.mouth_corner = 0.05;
        }
      else
        {
          /* snarl: squarish open mouth, both rows of teeth */
          e.mouth_width = 0.52;
          e.mouth_corner = 0.04;
          e.mouth_top = 0.07;
          e.mouth_bottom = 0.08;
          e.mouth_round = 0.8;
          e.teeth_top = 1.0;
          e.teeth_bottom = 1.0;
        }
      break;

    case DISGUST:
      /* told from anger by the sneer: one brow down, a raised upper lip showing teeth, and a
       * squint from below rather than lowered lids */
      e.brow_raise = 0.02;
      e.brow_inner = 0.04;
      e.brow_asym = 0.1 * side;
      e.eye_open = 0.085;
      e.eye_lower = 0.045;
      e.mouth_width = 0.5;
      e.mouth_corner = 0.07;
      e.mouth_top = 0.04;
      e.mouth_bottom = 0.0;
      e.lip_raise = 0.12 * side;
      e.corner_asym = -0.05 * side;
      e.teeth_top = 0.8;
      e.wrinkle = 1.0;
      break;

    case FEAR:
      e.brow_raise = -0.07;
      e.brow_inner = -0.13;
      e.brow_outer = 0.0;
      e.brow_arch = 0.0;
      e.brow_together = 0.05;
      e.eye_open = 0.19;
      e.mouth_width = 0.78;
      e.mouth_corner = 0.06;
      e.mouth_top = 0.06;
      e.mouth_bottom = 0.15;
      e.mouth_round = 0.3;
      e.teeth_top = 0.4;
      e.teeth_bottom = 0.8;
      /* what tells fear from surprise at a glance, as in comics: a sweat drop */
      e.forehead = 1.0;
      break;

    case HAPPINESS:
      e.brow_raise = -0.02;
      e.brow_arch = 0.07;
      e.eye_open = 0.085;
      e.eye_lower = 0.06;
      e.mouth_width = 0.76;
      e.mouth_corner = -0.17;
      e.cheeks = 1.0;
      if (rng_chance (rng, 0.55))
        {
          /* open smile */
          e.mouth_top = 0.0;
          e.mouth_bottom = 0.15;
          e.teeth_top = 1.0;
        }
      else
        {
          e.mouth_bottom = 0.01;
        }
      break;

    case SADNESS:
      e.brow_inner = -0.13;
      e.brow_outer = 0.07;
      e.brow_arch = -0.01;
      e.brow_together = 0.03;
      e.eye_open = 0.08;
      e.mouth_width = 0.5;
      e.mouth_corner = 0.15;
      break;

    case SURPRISE:
    default:
      e.brow_raise = -0.17;
      e.brow_inner = -0.02;
      e.brow_arch = 0.12;
      e.eye_open = 0.2;
      e.mouth_width = 0.3;
      e.mouth_top = 0.15;
      e.mouth_bottom = 0.21;
      e.mouth_round = 1.0;
      break;
    }
  return e;
}

static Expression
random_expression (guint klass,
                   Rng  *rng)
{
  Expression target = expression_target (klass, rng);
  Expression e;
  const double *n = (const double *) &neutral;
  const double *t = (const double *) &target;
  const double *j = (const double *) &jitter;
  const double *gain = (const double *) &emphasis;
  double *out = (double *) &e;
  double intensity;

  /* Mostly clear expressions, a few faint ones that sit close to neutral and to each other. */
  if (rng_chance (rng, 0.04))
    intensity = rng_range (rng, 0.4, 0.75);
  else
    intensity = rng_range (rng, 0.9, 1.4);

  for (guint i = 0; i < N_EXPRESSION_PARAMS; i++)
    out[i] = n[i] + intensity * gain[i] * (t[i] - n[i]) + 0.7 * j[i] * rng_normal (rng);

  e.eye_open = MAX (e.eye_open, 0.035);
  e.mouth_width = MAX (e.mouth_width, 0.2);
  e.mouth_top = MAX (e.mouth_top, 0.0);
  e.mouth_bottom = MAX (e.mouth_bottom, 0.0);
  e.mouth_round = CLAMP (e.mouth_round, 0.0, 1.0);
  e.teeth_top = CLAMP (e.teeth_top, 0.0, 1.0);
  e.teeth_bottom = CLAMP (e.teeth_bottom, 0.0, 1.0);
  e.wrinkle = CLAMP (e.wrinkle, 0.0, 1.0);
  e.frown_lines = CLAMP (e.frown_lines, 0.0, 1.0);
  e.cheeks = CLAMP (e.cheeks, 0.0, 1.0);
  e.forehead = CLAMP (e.forehead, 0.0, 1.0);
  e.eye_lower = CLAMP (e.eye_lower, 0.0, e.eye_open + 0.03);
  return e;
}

/* ---- The face ---------------------------------------------------------------------------- */

/* Everything about a face that is not its expression. */
typedef struct {
  Rgb    skin;
  Rgb    hair;
  Rgb    brow;
  Rgb    iris;
  Rgb    lips;
  Rgb    line;         /* dark outline of eyes, nose */
  double face_rx, face_ry;
  double eye_x, eye_y, eye_rx;
  double gaze_x, gaze_y;
  double brow_y, brow_inner_x, brow_outer_x, brow_width;
  double nose_y, nose_w;
  double mouth_y;
  double line_width;
  int    hair_style;   /* 0 bald, 1 short, 2 long */
  double hairline;
  gboolean beard;
} Face;

static void
random_face (Face *f,
             Rng  *rng)
{
  guint hi = (guint) (rng_uniform (rng) * G_N_ELEMENTS (hair_colours));
  guint ii = (guint) (rng_uniform (rng) * G_N_ELEMENTS (iris_colours));
  static const Rgb dark = RGB8 (30, 22, 18);

  f->skin = random_skin (rng);
  hi = MIN (hi, G_N_ELEMENTS (hair_colours) - 1);
  f->hair = rng_chance (rng, 0.03) ? rgb_random (rng) : rgb_jitter (rng, hair_colours[hi], 0.04);
  /* Brows darker than the hair so that they show on every skin. */
  f->brow = rgb_mix (f->hair, dark, rng_range (rng, 0.7, 0.95));
  f->iris = rgb_jitter (rng, iris_colours[MIN (ii, G_N_ELEMENTS (iris_colours) - 1)], 0.03);
  f->lips = rgb_mix (rgb_scale (f->skin, 0.62), (Rgb) RGB8 (150, 40, 50), rng_range (rng, 0.1, 0.6));
  f->line = rgb_mix (rgb_scale (f->skin, 0.35), dark, 0.5);
  f->face_rx = rng_range (rng, 0.88, 1.04);
  f->face_ry = rng_range (rng, 1.12, 1.3);
  f->eye_x = rng_range (rng, 0.38, 0.46);
  f->eye_y = rng_range (rng, -0.16, -0.06);
  f->eye_rx = rng_range (rng, 0.25, 0.3);
  f->gaze_x = rng_range (rng, -0.4, 0.4);
  f->gaze_y = rng_range (rng, -0.2, 0.2);
  f->brow_y = f->eye_y - rng_range (rng, 0.24, 0.3);
  f->brow_inner_x = rng_range (rng, 0.12, 0.18);
  f->brow_outer_x = f->eye_x + rng_range (rng, 0.2, 0.26);
  f->brow_width = rng_range (rng, 0.18, 0.22);
  f->nose_y = rng_range (rng, 0.2, 0.3);
  f->nose_w = rng_range (rng, 0.08, 0.13);
  f->mouth_y = f->nose_y + rng_range (rng, 0.3, 0.38);
  f->line_width = rng_range (rng, 0.055, 0.07);
  f->hair_style = rng_chance (rng, 0.1) ? 0 : rng_chance (rng, 0.6) ? 1 : 2;
  f->hairline = rng_range (rng, -0.72, -0.58);
  f->beard = rng_chance (rng, 0.08);
}

static void
ellipse (cairo_t *cr,
         double   x,
         double   y,
         double   rx,
         double   ry)
{
  cairo_save (cr);
  cairo_translate (cr, x, y);
  cairo_scale (cr, rx, ry);
  cairo_new_sub_path (cr);
  cairo_arc (cr, 0, 0, 1, 0, 2 * G_PI);
  cairo_restore (cr);
}

static void
draw_background (cairo_t *cr,
                 int      size,
                 Rng     *rng)
{
  static const Rgb grey = { 0.5, 0.5, 0.5 };
  Rgb a = rgb_mix (rgb_random (rng), grey, rng_range (rng, 0, 0.6));
  guint n_shapes;

  if (rng_chance (rng, 0.5))
    {
      Rgb b = rgb_jitter (rng, a, 0.3);
      double angle = rng_range (rng, 0, 2 * G_PI);
      cairo_pattern_t *p = cairo_pattern_create_linear (size / 2.0 * (1 - cos (angle)),
                                                        size / 2.0 * (1 - sin (angle)),
                                                        size / 2.0 * (1 + cos (angle)),
                                                        size / 2.0 * (1 + sin (angle)));
      cairo_pattern_add_color_stop_rgb (p, 0, a.r, a.g, a.b);
      cairo_pattern_add_color_stop_rgb (p, 1, b.r, b.g, b.b);
      cairo_set_source (cr, p);
      cairo_pattern_destroy (p);
    }
  else
    {
      set_rgb (cr, a);
    }
  cairo_paint (cr);

  /* Clutter, so that the background is not one flat colour the network can subtract. */
  n_shapes = rng_chance (rng, 0.15) ? 1 + (guint) (rng_uniform (rng) * 4) : 0;
  for (guint i = 0; i < n_shapes; i++)
    {
      set_rgba (cr, rgb_random (rng), rng_range (rng, 0.3, 0.9));
      if (rng_chance (rng, 0.5))
        cairo_rectangle (cr, rng_range (rng, -0.2, 1) * size, rng_range (rng, -0.2, 1) * size,
                         rng_range (rng, 0.05, 0.5) * size, rng_range (rng, 0.05, 0.5) * size);
      else
        ellipse (cr, rng_uniform (rng) * size, rng_uniform (rng) * size,
                 rng_range (rng, 0.03, 0.25) * size, rng_range (rng, 0.03, 0.25) * size);
      cairo_fill (cr);
    }
}

static void
draw_body_and_back_hair (cairo_t    *cr,
                         const Face *f,
                         Rng        *rng)
{
  set_rgb (cr, rgb_random (rng));
  ellipse (cr, 0, f->face_ry + 1.1, rng_range (rng, 1.4, 2.0), 0.8);
  cairo_fill (cr);
  set_rgb (cr, rgb_scale (f->skin, 0.85));
  cairo_rectangle (cr, -0.36, 0.6, 0.72, f->face_ry + 0.1);
  cairo_fill (cr);

  if (f->hair_style == 2)
    {
      set_rgb (cr, f->hair);
      cairo_move_to (cr, -f->face_rx - 0.12, -0.2);
      cairo_curve_to (cr, -f->face_rx - 0.25, -1.7, f->face_rx + 0.25, -1.7, f->face_rx + 0.12, -0.2);
      cairo_line_to (cr, f->face_rx + rng_range (rng, 0.1, 0.35), f->face_ry + rng_range (rng, 0, 0.6));
      cairo_line_to (cr, -f->face_rx - rng_range (rng, 0.1, 0.35), f->face_ry + rng_range (rng, 0, 0.6));
      cairo_close_path (cr);
      cairo_fill (cr);
    }

  /* ears */
  set_rgb (cr, rgb_scale (f->skin, 0.92));
  ellipse (cr, -f->face_rx + 0.02, f->eye_y + 0.1, 0.14, 0.24);
  ellipse (cr, f->face_rx - 0.02, f->eye_y + 0.1, 0.14, 0.24);
  cairo_fill (cr);
}

static void
draw_head (cairo_t    *cr,
           const Face *f,
           Rng        *rng)
{
  cairo_pattern_t *shade;

  /* A little darker towards the edge, so that the head reads as round. */
  shade = cairo_pattern_create_radial (-0.15, -0.2, 0.1, 0, 0, f->face_ry * 1.05);
  cairo_pattern_add_color_stop_rgb (shade, 0, f->skin.r, f->skin.g, f->skin.b);
  cairo_pattern_add_color_stop_rgb (shade, 1, f->skin.r * 0.82, f->skin.g * 0.8, f->skin.b * 0.8);
  cairo_set_source (cr, shade);
  ellipse (cr, 0, 0, f->face_rx, f->face_ry);
  cairo_fill (cr);
  cairo_pattern_destroy (shade);

  if (f->beard)
    {
      set_rgba (cr, f->hair, rng_range (rng, 0.5, 0.9));
      cairo_save (cr);
      ellipse (cr, 0, 0, f->face_rx, f->face_ry);
      cairo_clip (cr);
      cairo_move_to (cr, -f->face_rx, f->nose_y);
      cairo_curve_to (cr, -0.5, f->mouth_y - 0.15, 0.5, f->mouth_y - 0.15, f->face_rx, f->nose_y);
      cairo_line_to (cr, f->face_rx, f->face_ry);
      cairo_line_to (cr, -f->face_rx, f->face_ry);
      cairo_close_path (cr);
      cairo_fill (cr);
      cairo_restore (cr);
    }

  if (f->hair_style != 0)
    {
      double h = f->hairline;
      double top = -f->face_ry * 1.32;

      set_rgb (cr, f->hair);
      cairo_move_to (cr, -f->face_rx - 0.04, -0.15);
      cairo_curve_to (cr, -f->face_rx - 0.08, top, f->face_rx + 0.08, top, f->face_rx + 0.04, -0.15);
      cairo_curve_to (cr, f->face_rx * 0.8, h - 0.1, -f->face_rx * 0.8, h - 0.1, -f->face_rx - 0.04,
                      -0.15);
      cairo_close_path (cr);
      cairo_fill (cr);
    }
}

static void
draw_cheeks (cairo_t          *cr,
             const Face       *f,
             const Expression *e,
             double            blush)
{
  for (int s = -1; s <= 1; s += 2)
    {
      double cx = s * (f->eye_x + 0.1);
      double cy = f->nose_y + 0.02;
      cairo_pattern_t *p;

      if (blush > 0.02)
        {
          p = cairo_pattern_create_radial (cx, cy, 0, cx, cy, 0.22);
          cairo_pattern_add_color_stop_rgba (p, 0, 0.9, 0.35, 0.4, 0.55 * blush);
          cairo_pattern_add_color_stop_rgba (p, 1, 0.9, 0.35, 0.4, 0);
          cairo_set_source (cr, p);
          cairo_arc (cr, cx, cy, 0.22, 0, 2 * G_PI);
          cairo_fill (cr);
          cairo_pattern_destroy (p);
        }

      if (e->cheeks > 0.15)
        {
          /* the fold of a raised cheek under the eye */
          set_rgba (cr, rgb_scale (f->skin, 0.6), MIN (e->cheeks, 1.0));
          cairo_set_line_width (cr, f->line_width * 0.8);
          cairo_move_to (cr, s * f->eye_x - 0.15, f->eye_y + 0.19);
          cairo_curve_to (cr, s * f->eye_x - 0.05, f->eye_y + 0.13, s * f->eye_x + 0.05,
                          f->eye_y + 0.13, s * f->eye_x + 0.15, f->eye_y + 0.19);
          cairo_stroke (cr);
        }
    }
}

static void
eye_path (cairo_t          *cr,
          const Face       *f,
          const Expression *e,
          double            side,
          gboolean          top_only)
{
  double xi = -side * f->eye_rx;   /* inner corner, towards the nose */
  double xo = side * f->eye_rx;
  double up = e->eye_open * 4.0 / 3.0;
  double lo = (e->eye_open * 0.8 - e->eye_lower) * 4.0 / 3.0;

  cairo_move_to (cr, xi, 0);
  cairo_curve_to (cr, xi + (xo - xi) * 0.25, -up + e->eye_slant * 2.0, xi + (xo - xi) * 0.75, -up,
                  xo, 0);
  if (top_only)
    return;
  cairo_curve_to (cr, xi + (xo - xi) * 0.75, lo, xi + (xo - xi) * 0.25, lo, xi, 0);
  cairo_close_path (cr);
}

static void
draw_eye (cairo_t          *cr,
          const Face       *f,
          const Expression *e,
          double            side)
{
  double iris_r = f->eye_rx * 0.52;

  cairo_save (cr);
  cairo_translate (cr, side * f->eye_x, f->eye_y);

  eye_path (cr, f, e, side, FALSE);
  cairo_set_source_rgb (cr, 0.96, 0.95, 0.93);
  cairo_fill_preserve (cr);
  cairo_save (cr);
  cairo_clip (cr);
  set_rgb (cr, f->iris);
  cairo_arc (cr, f->gaze_x * f->eye_rx * 0.5, f->gaze_y * e->eye_open, iris_r, 0, 2 * G_PI);
  cairo_fill (cr);
  cairo_set_source_rgb (cr, 0.05, 0.04, 0.04);
  cairo_arc (cr, f->gaze_x * f->eye_rx * 0.5, f->gaze_y * e->eye_open, iris_r * 0.5, 0, 2 * G_PI);
  cairo_fill (cr);
  cairo_restore (cr);

  eye_path (cr, f, e, side, FALSE);
  set_rgb (cr, f->line);
  cairo_set_line_width (cr, f->line_width * 0.7);
  cairo_stroke (cr);
  eye_path (cr, f, e, side, TRUE);
  cairo_set_line_width (cr, f->line_width * 1.4);
  cairo_stroke (cr);

  cairo_restore (cr);
}

static void
draw_brow (cairo_t          *cr,
           const Face       *f,
           const Expression *e,
           double            side,
           double            asym_side)
{
  double base = f->brow_y + e->brow_raise + (side == asym_side ? fabs (e->brow_asym) : 0);
  double xi = side * (f->brow_inner_x - e->brow_together);
  double xo = side * f->brow_outer_x;
  double yi = base + e->brow_inner;
  double yo = base + e->brow_outer;
  double yc = (yi + yo) / 2 - e->brow_arch * 1.5;

  set_rgb (cr, f->brow);
  cairo_set_line_width (cr, f->brow_width);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_move_to (cr, xi, yi);
  cairo_curve_to (cr, xi + (xo - xi) / 3, yc, xi + 2 * (xo - xi) / 3, yc, xo, yo);
  cairo_stroke (cr);
}

static void
draw_nose (cairo_t          *cr,
           const Face       *f,
           const Expression *e)
{
  double w = f->nose_w * (1 + 0.3 * e->wrinkle);

  set_rgba (cr, f->line, 0.7);
  cairo_set_line_width (cr, f->line_width * 0.9);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_move_to (cr, -w, f->nose_y - 0.02);
  cairo_curve_to (cr, -w * 0.6, f->nose_y + 0.06, w * 0.6, f->nose_y + 0.06, w, f->nose_y - 0.02);
  cairo_stroke (cr);
  set_rgba (cr, f->line, 0.8);
  ellipse (cr, -w * 0.5, f->nose_y + 0.01, 0.03, 0.018);
  ellipse (cr, w * 0.5, f->nose_y + 0.01, 0.03, 0.018);
  cairo_fill (cr);

  if (e->wrinkle > 0.1)
    {
      /* crumpled bridge and lines from the nose wings */
      set_rgba (cr, rgb_scale (f->skin, 0.5), e->wrinkle);
      cairo_set_line_width (cr, f->line_width * 0.8);
      for (int i = 0; i < 3; i++)
        {
          double y = f->eye_y + 0.02 + i * 0.07;
          double hw = 0.07 + 0.015 * i;

          cairo_move_to (cr, -hw, y + 0.02);
          cairo_curve_to (cr, -hw / 2, y - 0.025, hw / 2, y - 0.025, hw, y + 0.02);
          cairo_stroke (cr);
        }
      for (int s = -1; s <= 1; s += 2)
        {
          cairo_move_to (cr, s * (w + 0.03), f->nose_y - 0.04);
          cairo_curve_to (cr, s * (w + 0.13), f->nose_y + 0.03, s * (w + 0.12), f->nose_y + 0.12,
                          s * (w + 0.14), f->nose_y + 0.18);
          cairo_stroke (cr);
        }
    }

  if (e->frown_lines > 0.1)
    {
      set_rgba (cr, rgb_scale (f->skin, 0.5), e->frown_lines);
      cairo_set_line_width (cr, f->line_width * 0.8);
      for (int s = -1; s <= 1; s += 2)
        {
          cairo_move_to (cr, s * 0.045, f->brow_y - 0.02);
          cairo_line_to (cr, s * 0.035, f->brow_y + 0.12);
          cairo_stroke (cr);
        }
    }

  if (e->forehead > 0.1)
    {
      /* the cartoon sweat drop of fear at the temple, on the side away from the light */
      double x = 0.8 * f->face_rx;
      double y = f->eye_y - 0.2;
      double r = 0.1 * (0.6 + 0.4 * e->forehead);

      cairo_move_to (cr, x, y - 2.2 * r);
      cairo_curve_to (cr, x + 0.4 * r, y - r, x + 1.1 * r, y - 0.3 * r, x + r, y + 0.2 * r);
      cairo_arc (cr, x, y + 0.2 * r, r, 0, G_PI);
      cairo_curve_to (cr, x - 1.1 * r, y - 0.3 * r, x - 0.4 * r, y - r, x, y - 2.2 * r);
      cairo_close_path (cr);
      cairo_set_source_rgba (cr, 0.55, 0.8, 1.0, e->forehead);
      cairo_fill_preserve (cr);
      cairo_set_source_rgba (cr, 0.2, 0.35, 0.6, e->forehead);
      cairo_set_line_width (cr, f->line_width * 0.6);
      cairo_stroke (cr);
    }
}

/* The mouth outline: upper lip left to right, lower lip back. Bézier midpoints sit at -top and
 * +bottom; corners at `corner` ± asymmetry. */
static void
mouth_path (cairo_t          *cr,
            const Expression *e,
            gboolean          upper_only)
{
  double w = e->mouth_width / 2;
  double kx = w * (0.5 + 0.5 * e->mouth_round);
  double yl = e->mouth_corner - e->corner_asym;
  double yr = e->mouth_corner + e->corner_asym;
  double cu = (-8 * e->mouth_top - yl - yr) / 6;
  double cb = (8 * e->mouth_bottom - yl - yr) / 6;
  double raise_l = e->lip_raise > 0 ? e->lip_raise * 2 : 0;
  double raise_r = e->lip_raise < 0 ? -e->lip_raise * 2 : 0;

  cairo_move_to (cr, -w, yl);
  cairo_curve_to (cr, -kx, cu - raise_l, kx, cu - raise_r, w, yr);
  if (upper_only)
    return;
  cairo_curve_to (cr, kx, cb, -kx, cb, -w, yl);
  cairo_close_path (cr);
}

static void
draw_mouth (cairo_t          *cr,
            const Face       *f,
            const Expression *e)
{
  double opening = e->mouth_top + e->mouth_bottom + fabs (e->lip_raise);

  cairo_save (cr);
  cairo_translate (cr, 0, f->mouth_y);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);

  if (opening < 0.03)
    {
      mouth_path (cr, e, TRUE);
      set_rgb (cr, f->lips);
      cairo_set_line_width (cr, f->line_width * 2.6);
      cairo_stroke (cr);
    }
  else
    {
      mouth_path (cr, e, FALSE);
      cairo_set_source_rgb (cr, 0.28, 0.07, 0.09);
      cairo_fill_preserve (cr);
      cairo_save (cr);
      cairo_clip (cr);
      cairo_set_source_rgb (cr, 0.97, 0.96, 0.9);
      if (e->teeth_top > 0.05)
        cairo_rectangle (cr, -e->mouth_width, -1,
                         2 * e->mouth_width, 1 - e->mouth_top + 0.09 * e->teeth_top);
      if (e->teeth_bottom > 0.05)
        cairo_rectangle (cr, -e->mouth_width, e->mouth_bottom - 0.08 * e->teeth_bottom,
                         2 * e->mouth_width, 1);
      cairo_fill (cr);
      cairo_restore (cr);
      mouth_path (cr, e, FALSE);
      set_rgb (cr, f->lips);
      cairo_set_line_width (cr, f->line_width * 1.2);
      cairo_stroke (cr);
    }
  cairo_restore (cr);
}

/* ---- Occluders --------------------------------------------------------------------------- */

static void
draw_glasses (cairo_t    *cr,
              const Face *f,
              Rng        *rng)
{
  gboolean sun = rng_chance (rng, 0.3);
  gboolean round = rng_chance (rng, 0.5);
  double r = f->eye_rx * rng_range (rng, 1.3, 1.6);
  Rgb frame = rng_chance (rng, 0.6) ? rgb_random (rng) : (Rgb) RGB8 (20, 20, 20);

  for (int s = -1; s <= 1; s += 2)
    {
      if (round)
        cairo_arc (cr, s * f->eye_x, f->eye_y, r, 0, 2 * G_PI);
      else
        cairo_rectangle (cr, s * f->eye_x - r, f->eye_y - r * 0.75, 2 * r, 1.5 * r);
      if (sun)
        {
          cairo_set_source_rgba (cr, 0.05, 0.05, 0.08, rng_range (rng, 0.75, 0.95));
          cairo_fill_preserve (cr);
        }
      set_rgb (cr, frame);
      cairo_set_line_width (cr, rng_range (rng, 0.03, 0.06));
      cairo_stroke (cr);
    }
  cairo_move_to (cr, -f->eye_x + r, f->eye_y);
  cairo_line_to (cr, f->eye_x - r, f->eye_y);
  cairo_stroke (cr);
}

static void
draw_hand (cairo_t    *cr,
           const Face *f,
           Rng        *rng)
{
  Rgb skin = rgb_jitter (rng, f->skin, 0.03);

  cairo_save (cr);
  cairo_translate (cr, rng_range (rng, -0.9, 0.9), rng_range (rng, 0.3, 1.3));
  cairo_rotate (cr, rng_range (rng, -0.8, 0.8) + (rng_chance (rng, 0.5) ? G_PI : 0));
  cairo_scale (cr, rng_range (rng, 0.8, 1.1), rng_range (rng, 0.8, 1.1));
  set_rgb (cr, skin);
  ellipse (cr, 0, 0.35, 0.38, 0.4);
  cairo_fill (cr);
  for (int i = 0; i < 4; i++)
    {
      double x = -0.27 + i * 0.18;

      cairo_move_to (cr, x, 0.3);
      cairo_line_to (cr, x, -0.3 + fabs (i - 1.5) * 0.1);
    }
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_width (cr, 0.16);
  cairo_stroke (cr);
  /* the outline of each finger, so they do not melt into one blob on the face */
  set_rgba (cr, rgb_scale (skin, 0.65), 0.8);
  cairo_set_line_width (cr, 0.02);
  for (int i = 0; i < 3; i++)
    {
      double x = -0.18 + i * 0.18;

      cairo_move_to (cr, x, 0.25);
      cairo_line_to (cr, x, -0.15);
    }
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
draw_fringe (cairo_t    *cr,
             const Face *f,
             Rng        *rng)
{
  double bottom = f->brow_y + rng_range (rng, -0.12, 0.08);
  guint strands = 5 + (guint) (rng_uniform (rng) * 5);
  double x0 = -f->face_rx - 0.05;
  double x1 = f->face_rx + 0.05;

  set_rgb (cr, f->hair);
  cairo_move_to (cr, x0, f->hairline - 0.3);
  cairo_line_to (cr, x0, bottom - 0.2);
  for (guint i = 0; i < strands; i++)
    {
      double xa = x0 + (x1 - x0) * (i + 0.5) / strands;
      double xb = x0 + (x1 - x0) * (i + 1.0) / strands;

      cairo_line_to (cr, xa, bottom + rng_range (rng, -0.05, 0.06));
      cairo_line_to (cr, xb, bottom - rng_range (rng, 0.06, 0.14));
    }
  cairo_line_to (cr, x1, f->hairline - 0.3);
  cairo_close_path (cr);
  cairo_fill (cr);
}

static void
draw_bar (cairo_t *cr,
          int      size,
          Rng     *rng)
{
  cairo_save (cr);
  cairo_translate (cr, rng_range (rng, 0.2, 0.8) * size, rng_range (rng, 0.2, 0.8) * size);
  cairo_rotate (cr, rng_range (rng, 0, G_PI));
  set_rgba (cr, rgb_random (rng), rng_range (rng, 0.8, 1.0));
  cairo_rectangle (cr, -size, -size * rng_range (rng, 0.03, 0.07), 2 * size,
                   size * rng_range (rng, 0.06, 0.14));
  cairo_fill (cr);
  cairo_restore (cr);
}

/* Light from one side: brighter there, shadowed on the other. */
static void
draw_light (cairo_t *cr,
            int      size,
            Rng     *rng)
{
  double angle = rng_range (rng, 0, 2 * G_PI);
  double bright = rng_range (rng, 0, 0.3);
  double dark = rng_range (rng, 0, 0.4);
  double dx = cos (angle) * size / 2.0;
  double dy = sin (angle) * size / 2.0;
  cairo_pattern_t *light;

  light = cairo_pattern_create_linear (size / 2.0 - dx, size / 2.0 - dy,
                                       size / 2.0 + dx, size / 2.0 + dy);
  cairo_pattern_add_color_stop_rgba (light, 0, 1, 1, 1, bright);
  cairo_pattern_add_color_stop_rgba (light, 0.5, 0.5, 0.5, 0.5, 0);
  cairo_pattern_add_color_stop_rgba (light, 1, 0, 0, 0, dark);
  cairo_set_source (cr, light);
  cairo_paint (cr);
  cairo_pattern_destroy (light);
}

/* ---- Pixels ------------------------------------------------------------------------------ */

static void
add_noise (cairo_surface_t *surface,
           Rng             *rng)
{
  int width = cairo_image_surface_get_width (surface);
  int height = cairo_image_surface_get_height (surface);
  int stride = cairo_image_surface_get_stride (surface);
  double sigma = rng_chance (rng, 0.8) ? rng_range (rng, 1.0, 5.0) : 0;
  double salt = rng_chance (rng, 0.1) ? rng_range (rng, 0.002, 0.02) : 0;
  guchar *data;

  if (sigma == 0 && salt == 0)
    return;

  cairo_surface_flush (surface);
  data = cairo_image_surface_get_data (surface);
  for (int y = 0; y < height; y++)
    {
      guint32 *row = (guint32 *) (data + (gsize) y * stride);

      for (int x = 0; x < width; x++)
        {
          guint32 out = 0;

          if (salt > 0 && rng_chance (rng, salt))
            {
              row[x] = rng_chance (rng, 0.5) ? 0x00ffffff : 0;
              continue;
            }
          if (sigma == 0)
            continue;
          for (int shift = 0; shift <= 16; shift += 8)
            {
              double v = ((row[x] >> shift) & 0xff) + sigma * rng_normal (rng);
              guint32 c = (guint32) CLAMP (lround (v), 0, 255);

              out |= c << shift;
            }
          row[x] = out;
        }
    }
  cairo_surface_mark_dirty (surface);
}

/* ---- Public API -------------------------------------------------------------------------- */

const char * const *
mien_demo_data_get_classes (void)
{
  return class_names;
}

void
mien_demo_data_class_counts (const MienDemoDataOptions *options,
                             guint                     *train_counts,
                             guint                     *val_counts)
{
  static const MienDemoDataOptions defaults = MIEN_DEMO_DATA_OPTIONS_INIT;

  if (options == NULL)
    options = &defaults;

  for (guint c = 0; c < N_CLASSES; c++)
    {
      double ratio = options->balanced ? 1.0 : class_ratios[c];
      guint n = MAX (1, (guint) lround (options->per_class * ratio));

      if (train_counts != NULL)
        train_counts[c] = n;
      if (val_counts != NULL)
        /* a zero fraction means no validation set; any other at least one image per class */
        val_counts[c] = options->val_fraction > 0 ? MAX (1, (guint) lround (n * options->val_fraction)) : 0;
    }
}

/* Paints `regions` (size × size, row-major): the face ellipse as FACE, then what draw_eye (),
 * draw_brow () and draw_mouth () paint as FEATURES, with the transform that placed the face.
 * An A8 surface keeps only coverage, so the features' own colours do not matter; a pixel
 * belongs to a region when it is at least half covered. */
static void
paint_regions (guint8               *regions,
               int                   size,
               const cairo_matrix_t *transform,
               const Face           *f,
               const Expression     *e,
               double                asym_side)
{
  cairo_surface_t *layers[2];
  static const guint8 values[2] = { MIEN_DEMO_REGION_FACE, MIEN_DEMO_REGION_FEATURES };

  for (int l = 0; l < 2; l++)
    {
      cairo_t *cr;

      layers[l] = cairo_image_surface_create (CAIRO_FORMAT_A8, size, size);
      cr = cairo_create (layers[l]);
      cairo_set_matrix (cr, transform);
      if (l == 0)
        {
          ellipse (cr, 0, 0, f->face_rx, f->face_ry);
          cairo_fill (cr);
        }
      else
        {
          for (int side = -1; side <= 1; side += 2)
            {
              draw_eye (cr, f, e, side);
              draw_brow (cr, f, e, side, asym_side);
            }
          draw_mouth (cr, f, e);
        }
      cairo_destroy (cr);
      cairo_surface_flush (layers[l]);
    }

  memset (regions, MIEN_DEMO_REGION_BACKGROUND, (gsize) size * size);
  for (int l = 0; l < 2; l++)
    {
      const guint8 *data = cairo_image_surface_get_data (layers[l]);
      int stride = cairo_image_surface_get_stride (layers[l]);

      for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
          if (data[y * stride + x] >= 128)
            regions[y * size + x] = values[l];
      cairo_surface_destroy (layers[l]);
    }
}

gpointer
mien_demo_data_draw_face (guint   klass,
                          int     size,
                          guint64 seed)
{
  return mien_demo_data_draw_face_regions (klass, size, seed, NULL);
}

gpointer
mien_demo_data_draw_face_regions (guint    klass,
                                  int      size,
                                  guint64  seed,
                                  guint8  *regions)
{
  Rng rng = { seed };
  cairo_surface_t *surface;
  cairo_t *cr;
  Face f;
  Expression e;
  double head, scale, cx, cy, tilt;
  double blush;
  double asym_side;

  g_return_val_if_fail (klass < N_CLASSES, NULL);
  g_return_val_if_fail (size > 0, NULL);

  surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, size, size);
  cr = cairo_create (surface);
  cairo_set_antialias (cr, CAIRO_ANTIALIAS_GRAY);

  draw_background (cr, size, &rng);

  random_face (&f, &rng);
  e = random_expression (klass, &rng);

  /* Head height (hair to chin, about 2.6 face units) is 65–90 % of the image. */
  head = rng_range (&rng, 0.65, 0.9) * size;
  scale = head / 2.6;
  cx = size / 2.0 + rng_range (&rng, -0.35, 0.35) * (size - 2.1 * scale);
  cy = size / 2.0 + rng_range (&rng, -0.35, 0.35) * (size - head) + 0.05 * scale;
  tilt = rng_range (&rng, -20, 20) * G_PI / 180;

  cairo_save (cr);
  cairo_translate (cr, cx, cy);
  cairo_rotate (cr, tilt);
  cairo_scale (cr, scale, scale);

  draw_body_and_back_hair (cr, &f, &rng);
  draw_head (cr, &f, &rng);
  /* Some blush on any face, so that pink cheeks alone do not give happiness away. */
  blush = e.cheeks * rng_range (&rng, 0.3, 1.0);
  if (rng_chance (&rng, 0.15))
    blush = MAX (blush, rng_range (&rng, 0.2, 0.7));
  draw_cheeks (cr, &f, &e, blush);
  draw_eye (cr, &f, &e, -1);
  draw_eye (cr, &f, &e, 1);
  asym_side = e.brow_asym >= 0 ? 1 : -1;
  draw_brow (cr, &f, &e, -1, asym_side);
  draw_brow (cr, &f, &e, 1, asym_side);
  draw_nose (cr, &f, &e);
  draw_mouth (cr, &f, &e);
  if (regions != NULL)
    {
      cairo_matrix_t transform;

      cairo_get_matrix (cr, &transform);
      paint_regions (regions, size, &transform, &f, &e, asym_side);
    }

  if (rng_chance (&rng, 0.06))
    draw_fringe (cr, &f, &rng);
  if (rng_chance (&rng, 0.08))
    draw_glasses (cr, &f, &rng);
  if (rng_chance (&rng, 0.04))
    draw_hand (cr, &f, &rng);
  cairo_restore (cr);

  if (rng_chance (&rng, 0.03))
    draw_bar (cr, size, &rng);

  draw_light (cr, size, &rng);

  cairo_destroy (cr);
  add_noise (surface, &rng);
  return surface;
}

/* ---- Generation -------------------------------------------------------------------------- */

typedef struct {
  const char *outdir;
  guint64     seed;
  int         size;
  guint       counts[2][N_CLASSES];
  guint       total;

  gint        next;     /* atomic: the next job to take */
  gint        stop;     /* atomic: cancelled or failed */

  GMutex      mutex;
  GCond       cond;
  guint       done;     /* protected by mutex, as is error */
  GError     *error;
} Generation;

static cairo_status_t
append_bytes (void                *closure,
              const unsigned char *data,
              unsigned int         length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

static gboolean
write_image (Generation *gen,
             guint       split,
             guint       klass,
             guint       index,
             GError    **error)
{
  g_autoptr(GByteArray) png = g_byte_array_new ();
  g_autofree char *name = g_strdup_printf ("%05u.png", index);
  g_autofree char *path = g_build_filename (gen->outdir, split_names[split], class_names[klass],
                                            name, NULL);
  cairo_surface_t *surface;
  cairo_status_t status;

  surface = mien_demo_data_draw_face (klass, gen->size,
                                      image_seed (gen->seed, split, klass, index));
  status = cairo_surface_write_to_png_stream (surface, append_bytes, png);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not encode %s: %s"), path,
                   cairo_status_to_string (status));
      return FALSE;
    }

  /* g_file_set_contents writes a temporary file beside the target and renames it, so a cancelled
   * or crashed run never leaves half an image under the final name. */
  return g_file_set_contents (path, (const char *) png->data, png->len, error);
}

static gpointer
generation_worker (gpointer data)
{
  Generation *gen = data;

  while (!g_atomic_int_get (&gen->stop))
    {
      g_autoptr(GError) error = NULL;
      guint job = (guint) g_atomic_int_add (&gen->next, 1);
      guint split = 0, klass = 0;

      if (job >= gen->total)
        break;
      while (job >= gen->counts[split][klass])
        {
          job -= gen->counts[split][klass];
          if (++klass == N_CLASSES)
            {
              klass = 0;
              split++;
            }
        }

      write_image (gen, split, klass, job, &error);

      g_mutex_lock (&gen->mutex);
      if (error != NULL)
        {
          if (gen->error == NULL)
            gen->error = g_steal_pointer (&error);
          g_atomic_int_set (&gen->stop, TRUE);
        }
      else
        {
          gen->done++;
        }
      g_cond_signal (&gen->cond);
      g_mutex_unlock (&gen->mutex);
    }
  return NULL;
}

static gboolean
check_split_folder (const char  *path,
                    GError     **error)
{
  g_autoptr(GDir) dir = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      dir = g_dir_open (path, 0, NULL);
      if (dir != NULL && g_dir_read_name (dir) == NULL)
        return TRUE;
    }
  g_set_error (error, MIEN_DEMO_DATA_ERROR, MIEN_DEMO_DATA_ERROR_EXISTS,
               _("%s already exists and is not empty; choose an empty folder"), path);
  return FALSE;
}

static gboolean
make_folder (const char  *path,
             GError     **error)
{
  if (g_mkdir_with_parents (path, 0777) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not create folder %s: %s"), path, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

static void
report (MienProgressFunc progress,
        gpointer         progress_data,
        guint            done,
        guint            total)
{
  g_autofree char *message = NULL;

  if (progress == NULL)
    return;
  message = g_strdup_printf (_("Drawing demo faces: %u of %u"), done, total);
  progress (total > 0 ? (double) done / total : 1.0, message, progress_data);
}

gboolean
mien_demo_data_generate (const char                *outdir,
                         const MienDemoDataOptions *options,
                         MienProgressFunc           progress,
                         gpointer                   progress_data,
                         GCancellable              *cancellable,
                         GError                   **error)
{
  static const MienDemoDataOptions defaults = MIEN_DEMO_DATA_OPTIONS_INIT;
  Generation gen = { 0 };
  g_autofree GThread **threads = NULL;
  guint n_threads = 0;
  guint reported = G_MAXUINT;

  g_return_val_if_fail (outdir != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (options == NULL)
    options = &defaults;

  if (options->per_class < 1 || options->per_class > MAX_PER_CLASS)
    {
      g_set_error (error, MIEN_DEMO_DATA_ERROR, MIEN_DEMO_DATA_ERROR_INVALID,
                   _("Images per class must be between 1 and %u, not %u"), MAX_PER_CLASS,
                   options->per_class);
      return FALSE;
    }
  if (options->size < 16 || options->size > 1024)
    {
      g_set_error (error, MIEN_DEMO_DATA_ERROR, MIEN_DEMO_DATA_ERROR_INVALID,
                   _("Image size must be between 16 and 1024 pixels, not %d"), options->size);
      return FALSE;
    }
  if (!(options->val_fraction >= 0 && options->val_fraction < 1))
    {
      g_set_error (error, MIEN_DEMO_DATA_ERROR, MIEN_DEMO_DATA_ERROR_INVALID,
                   _("The validation fraction must be at least 0 and less than 1, not %g"),
                   options->val_fraction);
      return FALSE;
    }

  for (guint s = 0; s < 2; s++)
    {
      g_autofree char *split = g_build_filename (outdir, split_names[s], NULL);

      if (!check_split_folder (split, error))
        return FALSE;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  gen.outdir = outdir;
  gen.seed = options->seed;
  gen.size = options->size;
  mien_demo_data_class_counts (options, gen.counts[0], gen.counts[1]);
  for (guint s = 0; s < 2; s++)
    for (guint c = 0; c < N_CLASSES; c++)
      {
        g_autofree char *folder = NULL;

        gen.total += gen.counts[s][c];
        if (gen.counts[s][c] == 0)
          continue;
        folder = g_build_filename (outdir, split_names[s], class_names[c], NULL);
        if (!make_folder (folder, error))
          return FALSE;
      }

  g_mutex_init (&gen.mutex);
  g_cond_init (&gen.cond);

  threads = g_new0 (GThread *, MAX (1, g_get_num_processors ()));
  for (guint i = 0; i < (guint) MAX (1, g_get_num_processors ()) && i < gen.total; i++)
    {
      g_autoptr(GError) thread_error = NULL;
      GThread *thread = g_thread_try_new ("mien-demo-data", generation_worker, &gen, &thread_error);

      if (thread == NULL)
        {
          /* fewer threads are fine; none is not */
          if (n_threads == 0)
            gen.error = g_steal_pointer (&thread_error);
          break;
        }
      threads[n_threads++] = thread;
    }

  g_mutex_lock (&gen.mutex);
  while (n_threads > 0 && gen.error == NULL && gen.done < gen.total)
    {
      if (gen.done != reported)
        {
          guint done = reported = gen.done;

          g_mutex_unlock (&gen.mutex);
          report (progress, progress_data, done, gen.total);
          g_mutex_lock (&gen.mutex);
        }
      else
        {
          /* A timed wait, so that cancelling is noticed even between two slow images. */
          g_cond_wait_until (&gen.cond, &gen.mutex, g_get_monotonic_time () + 50 * G_TIME_SPAN_MILLISECOND);
        }
      if (g_cancellable_is_cancelled (cancellable))
        {
          g_atomic_int_set (&gen.stop, TRUE);
          break;
        }
    }
  g_mutex_unlock (&gen.mutex);

  for (guint i = 0; i < n_threads; i++)
    g_thread_join (threads[i]);
  g_mutex_clear (&gen.mutex);
  g_cond_clear (&gen.cond);

  if (gen.error != NULL)
    {
      g_propagate_error (error, gen.error);
      return FALSE;
    }
  /* Once noticed, a cancellation wins even if the last images happened to finish meanwhile. */
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  report (progress, progress_data, gen.total, gen.total);
  return TRUE;
}
