/* mien-demo-data.h — Mien's built-in synthetic dataset, drawn with Cairo.
 *
 * Cartoon faces of the six ABAW4 expressions, told apart by brows, eyes and mouth (anger:
 * lowered inner brows, narrowed eyes, pressed or snarling mouth; disgust: raised upper lip,
 * wrinkled nose, asymmetric brows; fear: raised, drawn-together brows, wide eyes, stretched
 * open mouth; happiness: smile, raised cheeks; sadness: raised inner brows, down-turned mouth;
 * surprise: high arched brows, wide eyes, round open mouth), with varied head size, position and
 * tilt, skin tone, lighting gradient, background, noise and occluders (glasses, a hand, hair),
 * and per-face jitter of every feature, so that a small CNN needs a few epochs. Classes are
 * imbalanced like the paper's data: largest (sadness) / smallest (fear) = 10.
 *
 * Everything is a function of the seed: the same options give byte-identical PNG files.
 */
#pragma once

#include <gio/gio.h>

#include "mien-core.h"

G_BEGIN_DECLS

#define MIEN_DEMO_DATA_ERROR (mien_demo_data_error_quark ())
GQuark mien_demo_data_error_quark (void);

typedef enum {
  MIEN_DEMO_DATA_ERROR_EXISTS,   /* OUTDIR/train or OUTDIR/val exists and is not empty */
  MIEN_DEMO_DATA_ERROR_INVALID,  /* bad options */
} MienDemoDataError;

typedef struct {
  guint    per_class;    /* training images of the largest class (default 800) */
  gboolean balanced;     /* every class gets per_class */
  guint64  seed;         /* default 1 */
  int      size;         /* image side in pixels (default 64) */
  double   val_fraction; /* validation images per class = round (train_n_c * f) (default 0.25) */
} MienDemoDataOptions;

#define MIEN_DEMO_DATA_OPTIONS_INIT { 800, FALSE, 1, 64, 0.25 }

/* The six class names in order ("anger", "disgust", "fear", "happiness", "sadness",
 * "surprise"). NULL-terminated, static. */
const char * const *mien_demo_data_get_classes   (void);
/* Training images of each class for `options` (writes 6 counts). */
void                mien_demo_data_class_counts  (const MienDemoDataOptions *options,
                                                  guint                     *train_counts,
                                                  guint                     *val_counts);

/* Draws one face of class `klass` (0..5) on a new size × size Cairo image surface (RGB24), all
 * randomness from `seed`. Returns a cairo_surface_t * (typed gpointer so that this header needs
 * no Cairo); the caller destroys it. */
gpointer            mien_demo_data_draw_face     (guint     klass,
                                                  int       size,
                                                  guint64   seed);

/* What a pixel of mien_demo_data_draw_face_regions ()'s `regions` shows. */
typedef enum {
  MIEN_DEMO_REGION_BACKGROUND,  /* outside the face ellipse: background, hair, neck, body */
  MIEN_DEMO_REGION_FACE,        /* the face's skin (nose, cheeks and wrinkles included) */
  MIEN_DEMO_REGION_FEATURES,    /* the expression's drawn features: brows, eyes, mouth */
} MienDemoRegion;

/* mien_demo_data_draw_face (), the same image for the same arguments, that also writes the
 * geometry it drew into `regions` (nullable; size × size MienDemoRegion bytes, row-major), so
 * that where a model looks can be checked against where the expression is. Occluders (glasses,
 * a hand, hair) drawn over a feature do not change its region. */
gpointer            mien_demo_data_draw_face_regions (guint     klass,
                                                      int       size,
                                                      guint64   seed,
                                                      guint8   *regions);

/* Writes OUTDIR/train/<class>/NNNNN.png and OUTDIR/val/<class>/NNNNN.png, creating folders.
 * Refuses (MIEN_DEMO_DATA_ERROR_EXISTS) when either split folder exists and is not empty, so
 * nothing already there is ever overwritten. Images are drawn by `g_get_num_processors ()`
 * threads; `progress` is called from the calling thread; cancelling leaves the files written so
 * far and returns G_IO_ERROR_CANCELLED. */
gboolean            mien_demo_data_generate      (const char                *outdir,
                                                  const MienDemoDataOptions *options,
                                                  MienProgressFunc           progress,
                                                  gpointer                   progress_data,
                                                  GCancellable              *cancellable,
                                                  GError                   **error);

G_END_DECLS
