/* test-faces.c — what happens to a face after detection: its aligned crop, its identity across
 * frames, its smoothed probabilities, and the ensemble's prediction on it.
 *
 * Expected values are worked out by hand (in the comments) or come from an independent path
 * through GdkPixbuf (sub-pixbufs, gdk_pixbuf_rotate_simple ()), never from the code under test.
 * The face pipeline is checked against those parts called by hand, with a scripted detector
 * that finds the faces it is told to (or fails when told to).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "mien-ensemble.h"
#include "mien-face-align.h"
#include "mien-face-pipeline.h"
#include "mien-face-tracker.h"
#include "mien-image.h"
#include "mien-test-util.h"

static GdkPixbuf *
random_frame (GRand    *rand,
              int       width,
              int       height,
              gboolean  alpha)
{
  GdkPixbuf *frame = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8, width, height);
  guint8 *pixels = gdk_pixbuf_get_pixels (frame);
  int stride = gdk_pixbuf_get_rowstride (frame);
  int n_channels = gdk_pixbuf_get_n_channels (frame);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width * n_channels; x++)
      pixels[y * stride + x] = g_rand_int_range (rand, 0, 256);
  return frame;
}

static MienFace
box_face (float x,
          float y,
          float width,
          float height)
{
  MienFace face = { 0, };

  face.x = x;
  face.y = y;
  face.width = width;
  face.height = height;
  face.score = 1;
  return face;
}

/* Only the eyes matter to alignment; the other landmarks are left at the box's centre. */
static void
set_eyes (MienFace *face,
          float     right_x,
          float     right_y,
          float     left_x,
          float     left_y)
{
  face->has_landmarks = TRUE;
  for (int i = 0; i < MIEN_FACE_N_LANDMARKS; i++)
    {
      face->landmarks[i][0] = face->x + face->width / 2;
      face->landmarks[i][1] = face->y + face->height / 2;
    }
  face->landmarks[MIEN_FACE_LANDMARK_RIGHT_EYE][0] = right_x;
  face->landmarks[MIEN_FACE_LANDMARK_RIGHT_EYE][1] = right_y;
  face->landmarks[MIEN_FACE_LANDMARK_LEFT_EYE][0] = left_x;
  face->landmarks[MIEN_FACE_LANDMARK_LEFT_EYE][1] = left_y;
}

/* The RGB bytes of two pixbufs of the same size differ by at most `tolerance` levels. */
static void
assert_same_rgb (GdkPixbuf *a,
                 GdkPixbuf *b,
                 int        tolerance)
{
  int width = gdk_pixbuf_get_width (a);
  int height = gdk_pixbuf_get_height (a);
  int na = gdk_pixbuf_get_n_channels (a);
  int nb = gdk_pixbuf_get_n_channels (b);

  g_assert_cmpint (gdk_pixbuf_get_width (b), ==, width);
  g_assert_cmpint (gdk_pixbuf_get_height (b), ==, height);
  for (int y = 0; y < height; y++)
    {
      const guint8 *pa = gdk_pixbuf_read_pixels (a) + (gsize) y * gdk_pixbuf_get_rowstride (a);
      const guint8 *pb = gdk_pixbuf_read_pixels (b) + (gsize) y * gdk_pixbuf_get_rowstride (b);

      for (int x = 0; x < width; x++, pa += na, pb += nb)
        for (int c = 0; c < 3; c++)
          if (ABS (pa[c] - pb[c]) > tolerance)
            g_error ("pixel (%d, %d) channel %d: %d against %d", x, y, c, pa[c], pb[c]);
    }
}

static const guint8 *
pixel_at (GdkPixbuf *pixbuf,
          int        x,
          int        y)
{
  return gdk_pixbuf_read_pixels (pixbuf) + (gsize) y * gdk_pixbuf_get_rowstride (pixbuf) +
         (gsize) x * gdk_pixbuf_get_n_channels (pixbuf);
}

/* ---- Alignment ------------------------------------------------------------------------- */

static void
test_align_geometry (void)
{
  MienFaceAlignOptions options = MIEN_FACE_ALIGN_OPTIONS_INIT;
  MienFace face = box_face (10, 20, 30, 40);
  double cx, cy, side, angle;

  g_assert_cmpfloat (options.margin, ==, 0.2);
  g_assert_true (options.rotate);

  /* Centre (10 + 15, 20 + 20); side the longer 40 × (1 + 2 × 0.2) = 56. */
  mien_face_align_geometry (&face, &options, &cx, &cy, &side, &angle);
  g_assert_cmpfloat_with_epsilon (cx, 25, 1e-9);
  g_assert_cmpfloat_with_epsilon (cy, 40, 1e-9);
  g_assert_cmpfloat_with_epsilon (side, 56, 1e-9);
  g_assert_cmpfloat (angle, ==, 0);

  /* Eyes from (20, 30) to (30, 40): the eye line goes down-right at 45°. */
  set_eyes (&face, 20, 30, 30, 40);
  mien_face_align_geometry (&face, NULL, NULL, NULL, NULL, &angle);
  g_assert_cmpfloat_with_epsilon (angle, G_PI / 4, 1e-9);
  options.rotate = FALSE;
  options.margin = 0;
  mien_face_align_geometry (&face, &options, NULL, NULL, &side, &angle);
  g_assert_cmpfloat (angle, ==, 0);
  g_assert_cmpfloat_with_epsilon (side, 40, 1e-9);
}

static void
test_align_identity (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);
  g_autoptr(GdkPixbuf) frame = random_frame (rand, 40, 30, FALSE);
  MienFaceAlignOptions options = { 0, FALSE };
  MienFace face = box_face (5, 7, 12, 12);
  g_autoptr(GdkPixbuf) crop = NULL;
  g_autoptr(GdkPixbuf) expected = gdk_pixbuf_new_subpixbuf (frame, 5, 7, 12, 12);
  g_autoptr(GdkPixbuf) tall_crop = NULL;
  g_autoptr(GdkPixbuf) tall_expected = NULL;

  crop = mien_face_align (frame, &face, &options, 12, FALSE);
  g_assert_false (gdk_pixbuf_get_has_alpha (crop));
  assert_same_rgb (crop, expected, 0);

  /* Level eyes turn nothing, and rotation on changes nothing then. */
  g_clear_object (&crop);
  options.rotate = TRUE;
  set_eyes (&face, 8, 10, 14, 10);
  crop = mien_face_align (frame, &face, &options, 12, FALSE);
  assert_same_rgb (crop, expected, 0);

  /* A box 12 wide and 10 high: the square of side 12 around its centre (11, 17) starts a row
   * above it, at (5, 11 - 5). */
  face = box_face (5, 12, 12, 10);
  tall_crop = mien_face_align (frame, &face, &options, 12, FALSE);
  tall_expected = gdk_pixbuf_new_subpixbuf (frame, 5, 11, 12, 12);
  assert_same_rgb (tall_crop, tall_expected, 0);
}

static void
test_align_rotate (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (2);
  g_autoptr(GdkPixbuf) frame = random_frame (rand, 32, 24, FALSE);
  g_autoptr(GdkPixbuf) sub = gdk_pixbuf_new_subpixbuf (frame, 6, 4, 14, 14);
  MienFaceAlignOptions options = { 0, TRUE };
  struct {
    float                 right_x, right_y, left_x, left_y;
    GdkPixbufRotation     rotation;
  } cases[] = {
    /* The left eye straight below the right one: the face lies on its side, turned 90°
     * clockwise; levelling it is gdk_pixbuf_rotate_simple ()'s counter-clockwise turn. */
    { 13, 8, 13, 15, GDK_PIXBUF_ROTATE_COUNTERCLOCKWISE },
    { 13, 15, 13, 8, GDK_PIXBUF_ROTATE_CLOCKWISE },
    { 16, 11, 9, 11, GDK_PIXBUF_ROTATE_UPSIDEDOWN },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      MienFace face = box_face (6, 4, 14, 14);
      g_autoptr(GdkPixbuf) crop = NULL;
      g_autoptr(GdkPixbuf) expected = NULL;

      set_eyes (&face, cases[i].right_x, cases[i].right_y, cases[i].left_x, cases[i].left_y);
      crop = mien_face_align (frame, &face, &options, 14, FALSE);
      expected = gdk_pixbuf_rotate_simple (sub, cases[i].rotation);
      /* cos (π/2) is not quite 0 in doubles: one level of rounding is allowed. */
      assert_same_rgb (crop, expected, 1);
    }
}

static void
test_align_bilinear (void)
{
  /* A 2 × 2 checker, black on the diagonal, upscaled to 4 × 4. With pixel centres at +0.5, the
   * crop's centres 0.5 … 3.5 fall on the frame at 0.25, 0.75, 1.25, 1.75, that is at -0.25,
   * 0.25, 0.75, 1.25 between the frame's centres: the weight of column (row) 1 is 0 (clamped
   * at the edge), 0.25, 0.75, 1 (clamped). A pixel is 255 × (w1x (1 - w1y) + (1 - w1x) w1y):
   * row 0: 0, 63.75, 191.25, 255; row 1: 63.75, 95.625, 159.375, 191.25; rows 2 and 3 mirror
   * them. Rounded to the nearest level: */
  static const guint8 expected[4][4] = {
    {   0,  64, 191, 255 },
    {  64,  96, 159, 191 },
    { 191, 159,  96,  64 },
    { 255, 191,  64,   0 },
  };
  g_autoptr(GdkPixbuf) frame = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 2, 2);
  guint8 *pixels = gdk_pixbuf_get_pixels (frame);
  int stride = gdk_pixbuf_get_rowstride (frame);
  MienFaceAlignOptions options = { 0, TRUE };
  MienFace face = box_face (0, 0, 2, 2);
  g_autoptr(GdkPixbuf) crop = NULL;

  /* Green inverted and blue constant, to see that the channels stay apart. */
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 2; x++)
      {
        guint8 v = (x + y) % 2 ? 255 : 0;

        pixels[y * stride + x * 3] = v;
        pixels[y * stride + x * 3 + 1] = 255 - v;
        pixels[y * stride + x * 3 + 2] = 77;
      }
  crop = mien_face_align (frame, &face, &options, 4, FALSE);
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++)
      {
        const guint8 *p = pixel_at (crop, x, y);

        g_assert_cmpuint (p[0], ==, expected[y][x]);
        g_assert_cmpuint (p[1], ==, 255 - expected[y][x]);
        g_assert_cmpuint (p[2], ==, 77);
      }
}

static void
test_align_edges (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  g_autoptr(GdkPixbuf) frame = random_frame (rand, 6, 5, FALSE);
  MienFaceAlignOptions options = { 0, FALSE };
  struct {
    float x, y;
  } boxes[] = { { -3, -2 }, { 3, 2 }, { -4, 1 } };

  /* Boxes of side 6 reaching past the frame: at integer positions every crop pixel is one frame
   * pixel, the nearest inside the frame. */
  for (guint i = 0; i < G_N_ELEMENTS (boxes); i++)
    {
      MienFace face = box_face (boxes[i].x, boxes[i].y, 6, 6);
      g_autoptr(GdkPixbuf) crop = mien_face_align (frame, &face, &options, 6, FALSE);

      for (int v = 0; v < 6; v++)
        for (int u = 0; u < 6; u++)
          {
            int fx = CLAMP (u + (int) boxes[i].x, 0, 5);
            int fy = CLAMP (v + (int) boxes[i].y, 0, 4);

            g_assert_cmpmem (pixel_at (crop, u, v), 3, pixel_at (frame, fx, fy), 3);
          }
    }

  /* Far off to the bottom right, everything is the corner pixel. */
  {
    MienFace face = box_face (1000, 2000, 10, 10);
    g_autoptr(GdkPixbuf) crop = mien_face_align (frame, &face, &options, 7, FALSE);

    for (int v = 0; v < 7; v++)
      for (int u = 0; u < 7; u++)
        g_assert_cmpmem (pixel_at (crop, u, v), 3, pixel_at (frame, 5, 4), 3);
  }
}

static void
test_align_grey (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (4);
  g_autoptr(GdkPixbuf) frame = random_frame (rand, 50, 40, FALSE);
  MienFaceAlignOptions options = MIEN_FACE_ALIGN_OPTIONS_INIT;
  MienFace face = box_face (12, 9, 20, 22);
  g_autoptr(GdkPixbuf) colour = NULL;
  g_autoptr(GdkPixbuf) grey = NULL;

  set_eyes (&face, 17, 16, 27, 19);
  colour = mien_face_align (frame, &face, &options, 24, FALSE);
  grey = mien_face_align (frame, &face, &options, 24, TRUE);
  for (int y = 0; y < 24; y++)
    for (int x = 0; x < 24; x++)
      {
        const guint8 *c = pixel_at (colour, x, y);
        const guint8 *g = pixel_at (grey, x, y);
        /* PIL's convert ("L"), written out once more. */
        guint8 l = (guint8) ((c[0] * 19595 + c[1] * 38470 + c[2] * 7471 + 0x8000) >> 16);

        g_assert_cmpuint (mien_image_luminance (c[0], c[1], c[2]), ==, l);
        g_assert_cmpuint (g[0], ==, l);
        g_assert_cmpuint (g[1], ==, l);
        g_assert_cmpuint (g[2], ==, l);
      }
}

static void
test_align_rgba (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  g_autoptr(GdkPixbuf) rgba = random_frame (rand, 37, 29, TRUE);
  g_autoptr(GdkPixbuf) rgb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 37, 29);
  MienFaceAlignOptions options = MIEN_FACE_ALIGN_OPTIONS_INIT;
  MienFace face = box_face (8, 5, 17, 15);

  for (int y = 0; y < 29; y++)
    for (int x = 0; x < 37; x++)
      memcpy (gdk_pixbuf_get_pixels (rgb) + y * gdk_pixbuf_get_rowstride (rgb) + x * 3,
              pixel_at (rgba, x, y), 3);
  set_eyes (&face, 12, 11, 20, 9);
  for (int grey = 0; grey < 2; grey++)
    {
      g_autoptr(GdkPixbuf) a = mien_face_align (rgba, &face, &options, 21, grey);
      g_autoptr(GdkPixbuf) b = mien_face_align (rgb, &face, &options, 21, grey);

      g_assert_false (gdk_pixbuf_get_has_alpha (a));
      assert_same_rgb (a, b, 0);
    }
}

/* ---- Tracking -------------------------------------------------------------------------- */

static void
update (MienFaceTracker *tracker,
        const MienFace  *faces,
        guint            n_faces,
        guint           *ids)
{
  /* Ids that the tracker leaves unset would show up as this. */
  for (guint i = 0; i < n_faces; i++)
    ids[i] = 999;
  mien_face_tracker_update (tracker, faces, n_faces, ids);
}

static void
test_tracker_properties (void)
{
  g_autoptr(MienFaceTracker) tracker = mien_face_tracker_new ();
  double threshold, smoothing;
  guint max_missed;

  g_assert_cmpfloat (mien_face_tracker_get_iou_threshold (tracker), ==, 0.3);
  g_assert_cmpuint (mien_face_tracker_get_max_missed (tracker), ==, 10);
  g_assert_cmpfloat (mien_face_tracker_get_smoothing (tracker), ==, 0);
  g_assert_cmpuint (mien_face_tracker_get_n_tracks (tracker), ==, 0);

  g_object_set (tracker, "iou-threshold", 0.5, "max-missed", 3, "smoothing", 0.25, NULL);
  g_object_get (tracker, "iou-threshold", &threshold, "max-missed", &max_missed,
                "smoothing", &smoothing, NULL);
  g_assert_cmpfloat (threshold, ==, 0.5);
  g_assert_cmpuint (max_missed, ==, 3);
  g_assert_cmpfloat (smoothing, ==, 0.25);
  g_assert_cmpfloat (mien_face_tracker_get_smoothing (tracker), ==, 0.25);
}

static void
test_tracker_moving (void)
{
  g_autoptr(MienFaceTracker) tracker = mien_face_tracker_new ();
  MienFace faces[2];
  guint ids[2];

  for (int frame = 0; frame < 20; frame++)
    {
      faces[0] = box_face (10 + 2 * frame, 10, 20, 20);
      faces[1] = box_face (100, 60 - frame, 24, 24);
      update (tracker, faces, 2, ids);
      g_assert_cmpuint (ids[0], ==, 1);
      g_assert_cmpuint (ids[1], ==, 2);
      g_assert_cmpuint (mien_face_tracker_get_n_tracks (tracker), ==, 2);
    }

  /* Given in the other order (as a detector sorting left to right would once they cross). */
  faces[0] = box_face (100, 40, 24, 24);
  faces[1] = box_face (50, 10, 20, 20);
  update (tracker, faces, 2, ids);
  g_assert_cmpuint (ids[0], ==, 2);
  g_assert_cmpuint (ids[1], ==, 1);

  /* No face at all is a frame like any other. */
  mien_face_tracker_update (tracker, NULL, 0, NULL);
  g_assert_cmpuint (mien_face_tracker_get_n_tracks (tracker), ==, 2);
}

static void
test_tracker_greedy (void)
{
  g_autoptr(MienFaceTracker) tracker = mien_face_tracker_new ();
  MienFace faces[2] = { box_face (0, 0, 10, 10), box_face (4, 0, 10, 10) };
  MienFace face = box_face (3, 0, 10, 10);
  guint ids[2];

  update (tracker, faces, 2, ids);
  g_assert_cmpuint (ids[0], ==, 1);
  g_assert_cmpuint (ids[1], ==, 2);
  /* IoU with track 1: 70 / 130 ≈ 0.54; with track 2: 90 / 110 ≈ 0.82. The better pair wins,
   * though track 1 is older. */
  update (tracker, &face, 1, ids);
  g_assert_cmpuint (ids[0], ==, 2);
}

static void
test_tracker_missed (void)
{
  g_autoptr(MienFaceTracker) tracker = mien_face_tracker_new ();
  MienFace both[2] = { box_face (10, 10, 20, 20), box_face (60, 10, 20, 20) };
  guint ids[2];

  mien_face_tracker_set_max_missed (tracker, 3);
  update (tracker, both, 2, ids);
  g_assert_cmpuint (ids[1], ==, 2);

  /* Unseen for 3 frames (= max-missed): still there. */
  for (int i = 0; i < 3; i++)
    {
      update (tracker, both, 1, ids);
      g_assert_cmpuint (ids[0], ==, 1);
      g_assert_cmpuint (mien_face_tracker_get_n_tracks (tracker), ==, 2);
    }
  update (tracker, both, 2, ids);
  g_assert_cmpuint (ids[0], ==, 1);
  g_assert_cmpuint (ids[1], ==, 2);

  /* Unseen for 4: gone on the 4th frame, and back with a new id. */
  for (int i = 0; i < 4; i++)
    {
      update (tracker, both, 1, ids);
      g_assert_cmpuint (mien_face_tracker_get_n_tracks (tracker), ==, i < 3 ? 2 : 1);
    }
  update (tracker, both, 2, ids);
  g_assert_cmpuint (ids[0], ==, 1);
  g_assert_cmpuint (ids[1], ==, 3);

  /* max-missed 0: a track ends on the first frame it is missing from. */
  mien_face_tracker_set_max_missed (tracker, 0);
  update (tracker, both, 1, ids);
  g_assert_cmpuint (mien_face_tracker_get_n_tracks (tracker), ==, 1);
  update (tracker, both, 2, ids);
  g_assert_cmpuint (ids[1], ==, 4);
}

static void
test_tracker_new_faces (void)
{
  g_autoptr(MienFaceTracker) tracker = mien_face_tracker_new ();
  MienFace faces[3] = {
    box_face (10, 10, 20, 20), box_face (60, 10, 20, 20), box_face (110, 10, 20, 20)
  };
  guint ids[3];

  for (guint n = 1; n <= 3; n++)
    {
      update (tracker, faces, n, ids);
      for (guint i = 0; i < n; i++)
        g_assert_cmpuint (ids[i], ==, i + 1);
    }

  /* After a reset ids start again, as for a new video. */
  mien_face_tracker_reset (tracker);
  g_assert_cmpuint (mien_face_tracker_get_n_tracks (tracker), ==, 0);
  update (tracker, faces + 2, 1, ids);
  g_assert_cmpuint (ids[0], ==, 1);
}

static void
test_tracker_threshold (void)
{
  /* Shifted by half its width: IoU 50 / 150 = 1/3. */
  MienFace before = box_face (0, 0, 10, 10);
  MienFace after = box_face (5, 0, 10, 10);

  for (int i = 0; i < 2; i++)
    {
      g_autoptr(MienFaceTracker) tracker = mien_face_tracker_new ();
      guint id;

      mien_face_tracker_set_iou_threshold (tracker, i == 0 ? 0.3 : 0.34);
      update (tracker, &before, 1, &id);
      update (tracker, &after, 1, &id);
      g_assert_cmpuint (id, ==, i == 0 ? 1 : 2);
      g_assert_cmpuint (mien_face_tracker_get_n_tracks (tracker), ==, i == 0 ? 1 : 2);
    }
}

static void
test_tracker_smoothing (void)
{
  g_autoptr(MienFaceTracker) tracker = mien_face_tracker_new ();
  MienFace face = box_face (0, 0, 10, 10);
  static const float frames[3][3] = {
    { 0.6f, 0.3f, 0.1f },
    { 0.2f, 0.2f, 0.6f },
    { 0.0f, 1.0f, 0.0f },
  };
  /* α = 0.5: s1 = p1; s2 = (s1 + p2) / 2 = (0.4, 0.25, 0.35); s3 = (s2 + p3) / 2 =
   * (0.2, 0.625, 0.175). */
  static const float expected[3][3] = {
    { 0.6f, 0.3f, 0.1f },
    { 0.4f, 0.25f, 0.35f },
    { 0.2f, 0.625f, 0.175f },
  };
  guint id;

  mien_face_tracker_set_smoothing (tracker, 0.5);
  for (int f = 0; f < 3; f++)
    {
      float p[3];

      memcpy (p, frames[f], sizeof p);
      update (tracker, &face, 1, &id);
      mien_face_tracker_smooth (tracker, id, p, 3);
      for (int c = 0; c < 3; c++)
        g_assert_cmpfloat_with_epsilon (p[c], expected[f][c], 1e-6);
    }

  /* Another number of classes starts the history again. */
  {
    float p[2] = { 0.7f, 0.3f };

    mien_face_tracker_smooth (tracker, id, p, 2);
    g_assert_cmpfloat (p[0], ==, 0.7f);
    g_assert_cmpfloat (p[1], ==, 0.3f);
  }

  /* A track that does not exist: unchanged. */
  {
    float p[3] = { 0.1f, 0.2f, 0.7f };

    mien_face_tracker_smooth (tracker, 42, p, 3);
    g_assert_cmpfloat (p[2], ==, 0.7f);
  }

  /* α = 0 is the identity, bit for bit, even for values that do not sum to 1. */
  mien_face_tracker_set_smoothing (tracker, 0);
  for (int f = 0; f < 3; f++)
    {
      float p[3] = { 0.2f * f, 0.3f, 0.4f };
      float q[3];

      memcpy (q, p, sizeof p);
      update (tracker, &face, 1, &id);
      mien_face_tracker_smooth (tracker, id, p, 3);
      g_assert_cmpmem (p, sizeof p, q, sizeof q);
    }
}

/* ---- The ensemble on a face ------------------------------------------------------------ */

static const char * const classes[] = { "neutral", "happy", "sad", NULL };

/* A randomly initialised ResNet-18: the numbers mean nothing, but must equal each other. */
static MienModel *
make_model (int      size,
            gboolean grey)
{
  return mien_test_random_model ("resnet:18", size, classes, grey);
}

/* What one member says of `pixbuf`, through a one-model ensemble's predict_pixbuf. */
static void
predict_alone (MienModel *model,
               GdkPixbuf *pixbuf,
               float     *probs)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienEnsemble) alone = mien_ensemble_new ();

  g_assert_true (mien_ensemble_add (alone, model, &error));
  g_assert_true (mien_ensemble_predict_pixbuf (alone, pixbuf, NULL, probs, &error));
  g_assert_no_error (error);
}

static void
test_ensemble_face (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (6);
  g_autoptr(GdkPixbuf) frame = random_frame (rand, 80, 60, FALSE);
  g_autoptr(MienEnsemble) ensemble = mien_ensemble_new ();
  MienModel *models[2];
  float per_model[2 * 3], average[3];

  models[0] = make_model (32, FALSE);
  models[1] = make_model (40, TRUE);
  for (int m = 0; m < 2; m++)
    {
      g_assert_true (mien_ensemble_add (ensemble, models[m], &error));
      g_assert_no_error (error);
    }

  /* An upright integer box of the first model's size, without margin: that member sees the
   * frame's own pixels; the grey one sees them upscaled. */
  {
    MienFaceAlignOptions options = { 0, TRUE };
    MienFace face = box_face (20, 15, 32, 32);
    g_autoptr(GdkPixbuf) sub = gdk_pixbuf_new_subpixbuf (frame, 20, 15, 32, 32);
    g_autoptr(GdkPixbuf) crop = mien_face_align (frame, &face, &options, 40, TRUE);
    float probs[3];

    g_assert_true (mien_ensemble_predict_face (ensemble, frame, &face, &options, per_model,
                                               average, &error));
    g_assert_no_error (error);
    predict_alone (models[0], sub, probs);
    g_assert_cmpmem (per_model, sizeof probs, probs, sizeof probs);
    predict_alone (models[1], crop, probs);
    g_assert_cmpmem (per_model + 3, sizeof probs, probs, sizeof probs);
    for (int c = 0; c < 3; c++)
      g_assert_cmpfloat_with_epsilon (average[c], (per_model[c] + per_model[3 + c]) / 2, 1e-6);
  }

  /* A tilted face with the default margin (options NULL). */
  {
    MienFace face = box_face (25, 12, 26, 30);
    float probs[3];

    set_eyes (&face, 31, 22, 44, 26);
    g_assert_true (mien_ensemble_predict_face (ensemble, frame, &face, NULL, per_model,
                                               average, &error));
    g_assert_no_error (error);
    for (int m = 0; m < 2; m++)
      {
        MienFaceAlignOptions options = MIEN_FACE_ALIGN_OPTIONS_INIT;
        int size = mien_model_get_input_size (models[m]);
        g_autoptr(GdkPixbuf) crop = mien_face_align (frame, &face, &options, size, m == 1);

        predict_alone (models[m], crop, probs);
        g_assert_cmpmem (per_model + 3 * m, sizeof probs, probs, sizeof probs);
      }
  }

  /* An empty ensemble says so. */
  {
    g_autoptr(MienEnsemble) empty = mien_ensemble_new ();
    MienFace face = box_face (0, 0, 10, 10);

    g_assert_false (mien_ensemble_predict_face (empty, frame, &face, NULL, NULL, average,
                                                &error));
    g_assert_error (error, MIEN_ENSEMBLE_ERROR, MIEN_ENSEMBLE_ERROR_EMPTY);
  }

  for (int m = 0; m < 2; m++)
    g_object_unref (models[m]);
}

/* ---- The face pipeline ------------------------------------------------------------------ */

/* A detector that "finds" the faces of its script, and fails while `fail` is set or on frames
 * `fail_width` pixels wide. */
#define TEST_TYPE_SCRIPTED_DETECTOR (test_scripted_detector_get_type ())
G_DECLARE_FINAL_TYPE (TestScriptedDetector, test_scripted_detector, TEST, SCRIPTED_DETECTOR,
                      GObject)

struct _TestScriptedDetector
{
  GObject   parent_instance;
  GArray   *faces;  /* MienFace */
  gboolean  fail;
  int       fail_width;
  guint     n_calls;
};

static const MienFaceDetectorMethod scripted_methods[] = {
  { "scripted", "The faces it is told to find", TRUE },
};

static const MienFaceDetectorMethod *
scripted_list_methods (MienFaceDetector *detector,
                       guint            *n_methods)
{
  *n_methods = G_N_ELEMENTS (scripted_methods);
  return scripted_methods;
}

static gboolean
scripted_prepare (MienFaceDetector             *detector,
                  const MienFaceDetectorMethod *method,
                  GError                      **error)
{
  return TRUE;
}

static gboolean
scripted_detect (MienFaceDetector  *detector,
                 const guint8      *rgb,
                 int                width,
                 int                height,
                 int                rowstride,
                 GArray            *faces,
                 GError           **error)
{
  TestScriptedDetector *self = TEST_SCRIPTED_DETECTOR (detector);

  self->n_calls++;
  if (self->fail || width == self->fail_width)
    {
      g_set_error_literal (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_FAILED,
                           "scripted failure");
      return FALSE;
    }
  g_array_append_vals (faces, self->faces->data, self->faces->len);
  return TRUE;
}

static void
scripted_detector_iface_init (MienFaceDetectorInterface *iface)
{
  iface->list_methods = scripted_list_methods;
  iface->prepare = scripted_prepare;
  iface->detect = scripted_detect;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (TestScriptedDetector, test_scripted_detector, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (MIEN_TYPE_FACE_DETECTOR,
                                                      scripted_detector_iface_init))

static void
test_scripted_detector_finalize (GObject *object)
{
  g_array_unref (TEST_SCRIPTED_DETECTOR (object)->faces);
  G_OBJECT_CLASS (test_scripted_detector_parent_class)->finalize (object);
}

static void
test_scripted_detector_class_init (TestScriptedDetectorClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_scripted_detector_finalize;
}

static void
test_scripted_detector_init (TestScriptedDetector *self)
{
  self->faces = g_array_new (FALSE, TRUE, sizeof (MienFace));
}

static TestScriptedDetector *
scripted_detector_new (void)
{
  TestScriptedDetector *self = g_object_new (TEST_TYPE_SCRIPTED_DETECTOR, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (mien_face_detector_prepare (MIEN_FACE_DETECTOR (self), NULL, &error));
  g_assert_no_error (error);
  return self;
}

/* The detector finds exactly `n` faces from now on. */
static void
script_faces (TestScriptedDetector *detector,
              const MienFace       *faces,
              guint                 n)
{
  g_array_set_size (detector->faces, 0);
  g_array_append_vals (detector->faces, faces, n);
}

/* A two-model ensemble (one colour at 32 px, one grey at 40 px), as test_ensemble_face's. */
static MienEnsemble *
two_model_ensemble (void)
{
  MienEnsemble *ensemble = mien_ensemble_new ();

  for (int m = 0; m < 2; m++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MienModel) model = make_model (m == 0 ? 32 : 40, m == 1);

      g_assert_true (mien_ensemble_add (ensemble, model, &error));
      g_assert_no_error (error);
    }
  return ensemble;
}

/* Each member's probabilities for `face` equal those of that member alone on a crop aligned by
 * hand with `options`, and the average is their mean. */
static void
assert_face_probabilities (MienEnsemble                *ensemble,
                           GdkPixbuf                   *frame,
                           const MienRegionPrediction  *region,
                           const MienFaceAlignOptions  *options)
{
  for (int m = 0; m < 2; m++)
    {
      MienModel *model = mien_ensemble_get_model (ensemble, m);
      int size = mien_model_get_input_size (model);
      g_autoptr(GdkPixbuf) crop = mien_face_align (frame, &region->face, options, size, m == 1);
      float probs[3];

      predict_alone (model, crop, probs);
      g_assert_cmpmem (region->per_model + 3 * m, sizeof probs, probs, sizeof probs);
    }
  for (int c = 0; c < 3; c++)
    g_assert_cmpfloat_with_epsilon (region->average[c],
                                    (region->per_model[c] + region->per_model[3 + c]) / 2, 1e-6);
  g_assert_cmpuint (region->best_class, ==, mien_probabilities_argmax (region->average, 3));
}

static void
test_pipeline_faces (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);
  g_autoptr(GdkPixbuf) frame = random_frame (rand, 96, 64, FALSE);
  g_autoptr(TestScriptedDetector) detector = scripted_detector_new ();
  g_autoptr(MienFacePipeline) pipeline = NULL;
  g_autoptr(MienFacePrediction) prediction = NULL;
  g_autoptr(MienEnsemble) ensemble = NULL;
  MienFaceAlignOptions options = { 0.1, TRUE };
  MienFace faces[2];

  /* A tilted face with landmarks and an upright one without, at fractional positions. */
  faces[0] = box_face (8.4f, 10.6f, 30.2f, 34);
  set_eyes (&faces[0], 15, 20, 31, 25);
  faces[1] = box_face (55, 12, 28, 28.5f);
  script_faces (detector, faces, 2);
  ensemble = two_model_ensemble ();
  pipeline = mien_face_pipeline_new (ensemble, MIEN_FACE_DETECTOR (detector), &options);
  g_assert_true (mien_face_pipeline_get_align (pipeline)->margin == 0.1);

  prediction = mien_face_pipeline_process (pipeline, frame, &error);
  g_assert_no_error (error);
  g_assert_nonnull (prediction);
  g_assert_false (prediction->whole);
  g_assert_null (prediction->detect_error);
  g_assert_cmpint (prediction->frame_width, ==, 96);
  g_assert_cmpint (prediction->frame_height, ==, 64);
  g_assert_cmpuint (prediction->n_models, ==, 2);
  g_assert_cmpuint (prediction->n_classes, ==, 3);
  g_assert_cmpuint (prediction->n_regions, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      const MienRegionPrediction *region = &prediction->regions[i];

      g_assert_cmpmem (&region->face, sizeof (MienFace), &faces[i], sizeof (MienFace));
      /* Untracked: no identity. */
      g_assert_cmpuint (region->track_id, ==, 0);
      assert_face_probabilities (ensemble, frame, region, &options);
    }
  /* The boxes rounded to the nearest pixel: 8.4 → 8, 10.6 → 11, 30.2 → 30; 28.5 → 29. */
  g_assert_cmpint (prediction->regions[0].x, ==, 8);
  g_assert_cmpint (prediction->regions[0].y, ==, 11);
  g_assert_cmpint (prediction->regions[0].width, ==, 30);
  g_assert_cmpint (prediction->regions[1].height, ==, 29);

  /* The two stages apart give the same, and a copy is a deep one. */
  {
    g_autoptr(MienFacePrediction) detected = mien_face_pipeline_detect (pipeline, frame, &error);
    g_autoptr(MienFacePrediction) copy = NULL;

    g_assert_no_error (error);
    g_assert_cmpuint (detected->n_models, ==, 0);
    g_assert_null (detected->regions[0].average);
    g_assert_true (mien_face_pipeline_classify (pipeline, frame, detected, &error));
    g_assert_no_error (error);
    copy = mien_face_prediction_copy (detected);
    g_clear_pointer (&detected, mien_face_prediction_free);
    for (guint i = 0; i < 2; i++)
      g_assert_cmpmem (copy->regions[i].per_model, 6 * sizeof (float),
                       prediction->regions[i].per_model, 6 * sizeof (float));
  }
}

static void
test_pipeline_fallback (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (13);
  g_autoptr(GdkPixbuf) frame = random_frame (rand, 70, 50, FALSE);
  g_autoptr(TestScriptedDetector) detector = scripted_detector_new ();
  g_autoptr(MienEnsemble) ensemble = NULL;
  float per_model[6], average[3];

  ensemble = two_model_ensemble ();
  /* The whole frame, as mien_ensemble_predict_pixbuf () sees it. */
  {
    g_autoptr(GError) error = NULL;

    g_assert_true (mien_ensemble_predict_pixbuf (ensemble, frame, per_model, average, &error));
    g_assert_no_error (error);
  }

  for (MienFaceFallback fallback = MIEN_FACE_FALLBACK_NONE;
       fallback <= MIEN_FACE_FALLBACK_NO_FACE; fallback++)
    for (int failing = 0; failing < 3; failing++)
      {
        /* failing: 0 no face found, 1 the search fails, 2 no detector at all */
        g_autoptr(GError) error = NULL;
        g_autoptr(MienFacePipeline) pipeline =
          mien_face_pipeline_new (ensemble,
                                  failing == 2 ? NULL : MIEN_FACE_DETECTOR (detector), NULL);
        g_autoptr(MienFacePrediction) prediction = NULL;
        gboolean whole = failing == 2 ||
                         (failing == 1 && fallback != MIEN_FACE_FALLBACK_NONE) ||
                         (failing == 0 && fallback == MIEN_FACE_FALLBACK_NO_FACE);
        const MienRegionPrediction *region;

        g_test_message ("fallback %d, case %d", fallback, failing);
        detector->fail = failing == 1;
        mien_face_pipeline_set_fallback (pipeline, fallback);
        prediction = mien_face_pipeline_process (pipeline, frame, &error);
        if (failing == 1 && fallback == MIEN_FACE_FALLBACK_NONE)
          {
            g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_FAILED);
            g_assert_null (prediction);
            continue;
          }
        g_assert_no_error (error);
        g_assert_cmpint (prediction->whole, ==, whole);
        if (failing == 1)
          g_assert_cmpstr (prediction->detect_error, ==, "scripted failure");
        else
          g_assert_null (prediction->detect_error);
        if (!whole)
          {
            g_assert_cmpuint (prediction->n_regions, ==, 0);
            continue;
          }
        g_assert_cmpuint (prediction->n_regions, ==, 1);
        region = &prediction->regions[0];
        g_assert_cmpint (region->x, ==, 0);
        g_assert_cmpint (region->y, ==, 0);
        g_assert_cmpint (region->width, ==, 70);
        g_assert_cmpint (region->height, ==, 50);
        g_assert_cmpuint (region->track_id, ==, 0);
        g_assert_cmpmem (region->per_model, sizeof per_model, per_model, sizeof per_model);
        g_assert_cmpmem (region->average, sizeof average, average, sizeof average);
      }
  detector->fail = FALSE;
}

/* Ids follow the faces from frame to frame, start again after a reset, and are 0 untracked. */
static void
test_pipeline_tracking (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (14);
  g_autoptr(GdkPixbuf) frame = random_frame (rand, 120, 60, FALSE);
  g_autoptr(TestScriptedDetector) detector = scripted_detector_new ();
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(MienFacePipeline) pipeline = NULL;
  /* Two faces moving right by 3 px a frame; a third comes in on the fourth frame, left of the
   * others, so that the detector's left-to-right order is no longer the order of the ids. */
  const guint expected[5][3] = { { 1, 2 }, { 1, 2 }, { 1, 2 }, { 3, 1, 2 }, { 3, 1, 2 } };

  ensemble = two_model_ensemble ();
  pipeline = mien_face_pipeline_new (ensemble, MIEN_FACE_DETECTOR (detector), NULL);
  mien_face_pipeline_set_tracking (pipeline, TRUE);
  for (int t = 0; t < 5; t++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MienFacePrediction) prediction = NULL;
      MienFace faces[3];
      guint n = 0;

      if (t >= 3)
        faces[n++] = box_face (2, 30, 16, 16);
      faces[n++] = box_face (20 + 3 * t, 10, 24, 24);
      faces[n++] = box_face (60 + 3 * t, 12, 24, 24);
      script_faces (detector, faces, n);
      prediction = mien_face_pipeline_detect (pipeline, frame, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (prediction->n_regions, ==, n);
      for (guint i = 0; i < n; i++)
        g_assert_cmpuint (prediction->regions[i].track_id, ==, expected[t][i]);
    }

  /* A new video: ids from 1 again. */
  mien_face_pipeline_reset (pipeline);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(MienFacePrediction) prediction = mien_face_pipeline_detect (pipeline, frame,
                                                                          &error);

    g_assert_no_error (error);
    g_assert_cmpuint (prediction->regions[0].track_id, ==, 1);
    g_assert_cmpuint (prediction->regions[1].track_id, ==, 2);
    g_assert_cmpuint (prediction->regions[2].track_id, ==, 3);
  }

  /* Untracked: 0. */
  mien_face_pipeline_set_tracking (pipeline, FALSE);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(MienFacePrediction) prediction = mien_face_pipeline_detect (pipeline, frame,
                                                                          &error);

    g_assert_no_error (error);
    for (guint i = 0; i < prediction->n_regions; i++)
      g_assert_cmpuint (prediction->regions[i].track_id, ==, 0);
  }
}

/* Tracked faces' probabilities are smoothed over frames: p ← α p_past + (1 − α) p (sums to 1
 * already); untracked ones never are. */
static void
test_pipeline_smoothing (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (15);
  g_autoptr(GdkPixbuf) first = random_frame (rand, 64, 48, FALSE);
  g_autoptr(GdkPixbuf) second = random_frame (rand, 64, 48, FALSE);
  g_autoptr(TestScriptedDetector) detector = scripted_detector_new ();
  g_autoptr(MienEnsemble) ensemble = NULL;
  g_autoptr(MienFacePipeline) pipeline = NULL;
  MienFace face = box_face (12, 8, 30, 30);
  float p1[3], p2[3], per_model[6];
  const double alpha = 0.75;

  ensemble = two_model_ensemble ();
  {
    g_autoptr(GError) error = NULL;

    g_assert_true (mien_ensemble_predict_face (ensemble, first, &face, NULL, per_model, p1,
                                               &error));
    g_assert_true (mien_ensemble_predict_face (ensemble, second, &face, NULL, per_model, p2,
                                               &error));
    g_assert_no_error (error);
  }
  script_faces (detector, &face, 1);
  pipeline = mien_face_pipeline_new (ensemble, MIEN_FACE_DETECTOR (detector), NULL);
  mien_face_pipeline_set_smoothing (pipeline, alpha);

  for (int tracked = 0; tracked < 2; tracked++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MienFacePrediction) a = NULL;
      g_autoptr(MienFacePrediction) b = NULL;

      mien_face_pipeline_set_tracking (pipeline, tracked);
      mien_face_pipeline_reset (pipeline);
      a = mien_face_pipeline_process (pipeline, first, &error);
      b = mien_face_pipeline_process (pipeline, second, &error);
      g_assert_no_error (error);
      for (int c = 0; c < 3; c++)
        {
          /* The first frame of a track passes unchanged. */
          g_assert_cmpfloat_with_epsilon (a->regions[0].average[c], p1[c], 1e-6);
          g_assert_cmpfloat_with_epsilon (b->regions[0].average[c],
                                          tracked ? alpha * p1[c] + (1 - alpha) * p2[c] : p2[c],
                                          1e-5);
        }
      /* What each model said is never smoothed. */
      g_assert_cmpmem (b->regions[0].per_model, sizeof per_model, per_model, sizeof per_model);
    }
}

/* A new folder (returned) with one random PNG per class of `classes`, widths[c] × 24 px. */
static char *
write_class_folders (GRand     *rand,
                     const int *widths)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("mien-faces-XXXXXX", &error);

  g_assert_no_error (error);
  for (guint c = 0; classes[c] != NULL; c++)
    {
      g_autofree char *class_dir = g_build_filename (dir, classes[c], NULL);
      g_autofree char *path = g_build_filename (class_dir, "a.png", NULL);
      g_autoptr(GdkPixbuf) frame = random_frame (rand, widths[c], 24, FALSE);

      g_assert_cmpint (g_mkdir_with_parents (class_dir, 0755), ==, 0);
      g_assert_true (gdk_pixbuf_save (frame, path, "png", &error, NULL));
      g_assert_no_error (error);
    }
  return dir;
}

/* The detector failing on one image leaves that image out, listed with the detector's reason,
 * and the evaluation goes on; failing on every image, it fails the evaluation with its error. */
static void
test_pipeline_evaluate_detector_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (13);
  g_autoptr(TestScriptedDetector) detector = scripted_detector_new ();
  g_autoptr(MienEnsemble) ensemble = two_model_ensemble ();
  g_autoptr(MienFacePipeline) pipeline = NULL;
  g_autoptr(MienDataset) dataset = NULL;
  g_autoptr(MienFaceEvaluation) evaluation = NULL;
  g_autoptr(MienFaceEvaluation) none = NULL;
  /* "happy"'s image alone is 33 px wide. */
  const int widths[] = { 32, 33, 32 };
  g_autofree char *dir = write_class_folders (rand, widths);
  g_autofree char *happy = g_build_filename (dir, "happy", "a.png", NULL);
  MienFace face = box_face (4, 2, 20, 20);

  script_faces (detector, &face, 1);
  detector->fail_width = 33;
  dataset = mien_dataset_open (dir, classes, &error);
  g_assert_no_error (error);
  pipeline = mien_face_pipeline_new (ensemble, MIEN_FACE_DETECTOR (detector), NULL);

  evaluation = mien_face_pipeline_evaluate (pipeline, dataset, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (evaluation);
  g_assert_cmpuint (detector->n_calls, ==, 3);
  g_assert_cmpuint (evaluation->n_samples, ==, 3);
  /* Left out of the metrics, not counted as a miss: the model never saw it. */
  g_assert_cmpuint (evaluation->metrics->n, ==, 2);
  g_assert_cmpuint (evaluation->no_face->len, ==, 0);
  g_assert_cmpuint (evaluation->unreadable->len, ==, 1);
  g_assert_true (g_str_has_prefix (evaluation->unreadable->pdata[0], happy));
  g_assert_nonnull (strstr (evaluation->unreadable->pdata[0], "scripted failure"));
  for (guint i = 0; i < 3; i++)
    {
      const MienFaceEvalSample *sample = &evaluation->samples[i];

      if (g_str_equal (mien_dataset_get_path (dataset, i), happy))
        {
          g_assert_cmpint (sample->predicted, ==, MIEN_FACE_EVAL_UNREADABLE);
          g_assert_null (sample->average);
        }
      else
        {
          g_assert_cmpint (sample->predicted, >=, 0);
          g_assert_cmpuint (sample->n_faces, ==, 1);
        }
    }

  /* Broken for every image: the detector's own error, naming the first image. */
  detector->fail = TRUE;
  none = mien_face_pipeline_evaluate (pipeline, dataset, NULL, NULL, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "scripted failure"));
  g_assert_nonnull (strstr (error->message, mien_dataset_get_path (dataset, 0)));
  g_assert_cmpuint (detector->n_calls, ==, 6);
  mien_test_remove_tree (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  mien_init ();

  g_test_add_func ("/faces/align/geometry", test_align_geometry);
  g_test_add_func ("/faces/align/identity", test_align_identity);
  g_test_add_func ("/faces/align/rotate", test_align_rotate);
  g_test_add_func ("/faces/align/bilinear", test_align_bilinear);
  g_test_add_func ("/faces/align/edges", test_align_edges);
  g_test_add_func ("/faces/align/grey", test_align_grey);
  g_test_add_func ("/faces/align/rgba", test_align_rgba);
  g_test_add_func ("/faces/tracker/properties", test_tracker_properties);
  g_test_add_func ("/faces/tracker/moving", test_tracker_moving);
  g_test_add_func ("/faces/tracker/greedy", test_tracker_greedy);
  g_test_add_func ("/faces/tracker/missed", test_tracker_missed);
  g_test_add_func ("/faces/tracker/new-faces", test_tracker_new_faces);
  g_test_add_func ("/faces/tracker/threshold", test_tracker_threshold);
  g_test_add_func ("/faces/tracker/smoothing", test_tracker_smoothing);
  g_test_add_func ("/faces/ensemble/face", test_ensemble_face);
  g_test_add_func ("/faces/pipeline/faces", test_pipeline_faces);
  g_test_add_func ("/faces/pipeline/fallback", test_pipeline_fallback);
  g_test_add_func ("/faces/pipeline/tracking", test_pipeline_tracking);
  g_test_add_func ("/faces/pipeline/smoothing", test_pipeline_smoothing);
  g_test_add_func ("/faces/pipeline/evaluate-detector-errors",
                   test_pipeline_evaluate_detector_errors);
  return g_test_run ();
}
