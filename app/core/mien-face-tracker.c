/* mien-face-tracker.c — faces that keep their identity from one video frame to the next. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "mien-face-tracker.h"

typedef struct {
  guint     id;
  MienFace  face;         /* the last one matched */
  guint     missed;       /* frames since then */
  float    *history;      /* the smoothed probabilities, NULL before the first */
  guint     n_classes;
} Track;

/* A candidate match of the current frame. */
typedef struct {
  double iou;
  guint  track;
  guint  face;
} Pair;

struct _MienFaceTracker
{
  GObject  parent_instance;

  GArray  *tracks;        /* Track, oldest first */
  guint    next_id;
  double   iou_threshold;
  guint    max_missed;
  double   smoothing;
};

G_DEFINE_FINAL_TYPE (MienFaceTracker, mien_face_tracker, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_IOU_THRESHOLD,
  PROP_MAX_MISSED,
  PROP_SMOOTHING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
track_clear (gpointer data)
{
  Track *track = data;

  g_clear_pointer (&track->history, g_free);
}

static void
mien_face_tracker_finalize (GObject *object)
{
  MienFaceTracker *self = MIEN_FACE_TRACKER (object);

  g_array_unref (self->tracks);
  G_OBJECT_CLASS (mien_face_tracker_parent_class)->finalize (object);
}

static void
mien_face_tracker_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  MienFaceTracker *self = MIEN_FACE_TRACKER (object);

  switch (prop_id)
    {
    case PROP_IOU_THRESHOLD:
      g_value_set_double (value, self->iou_threshold);
      break;
    case PROP_MAX_MISSED:
      g_value_set_uint (value, self->max_missed);
      break;
    case PROP_SMOOTHING:
      g_value_set_double (value, self->smoothing);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_face_tracker_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  MienFaceTracker *self = MIEN_FACE_TRACKER (object);

  switch (prop_id)
    {
    case PROP_IOU_THRESHOLD:
      mien_face_tracker_set_iou_threshold (self, g_value_get_double (value));
      break;
    case PROP_MAX_MISSED:
      mien_face_tracker_set_max_missed (self, g_value_get_uint (value));
      break;
    case PROP_SMOOTHING:
      mien_face_tracker_set_smoothing (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_face_tracker_class_init (MienFaceTrackerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mien_face_tracker_finalize;
  object_class->get_property = mien_face_tracker_get_property;
  object_class->set_property = mien_face_tracker_set_property;

  properties[PROP_IOU_THRESHOLD] =
    g_param_spec_double ("iou-threshold", NULL, NULL, 0, 1, 0.3,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAX_MISSED] =
    g_param_spec_uint ("max-missed", NULL, NULL, 0, G_MAXUINT, 10,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* [0, 1): at 1 the first frame's probabilities would never change. */
  properties[PROP_SMOOTHING] =
    g_param_spec_double ("smoothing", NULL, NULL, 0, nextafter (1, 0), 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
mien_face_tracker_init (MienFaceTracker *self)
{
  self->tracks = g_array_new (FALSE, FALSE, sizeof (Track));
  g_array_set_clear_func (self->tracks, track_clear);
  self->next_id = 1;
  self->iou_threshold = 0.3;
  self->max_missed = 10;
  self->smoothing = 0;
}

MienFaceTracker *
mien_face_tracker_new (void)
{
  return g_object_new (MIEN_TYPE_FACE_TRACKER, NULL);
}

void
mien_face_tracker_set_iou_threshold (MienFaceTracker *self,
                                     double           threshold)
{
  g_return_if_fail (MIEN_IS_FACE_TRACKER (self));
  g_return_if_fail (threshold >= 0 && threshold <= 1);

  if (self->iou_threshold == threshold)
    return;
  self->iou_threshold = threshold;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IOU_THRESHOLD]);
}

double
mien_face_tracker_get_iou_threshold (MienFaceTracker *self)
{
  g_return_val_if_fail (MIEN_IS_FACE_TRACKER (self), 0);
  return self->iou_threshold;
}

void
mien_face_tracker_set_max_missed (MienFaceTracker *self,
                                  guint            max_missed)
{
  g_return_if_fail (MIEN_IS_FACE_TRACKER (self));

  if (self->max_missed == max_missed)
    return;
  self->max_missed = max_missed;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_MISSED]);
}

guint
mien_face_tracker_get_max_missed (MienFaceTracker *self)
{
  g_return_val_if_fail (MIEN_IS_FACE_TRACKER (self), 0);
  return self->max_missed;
}

void
mien_face_tracker_set_smoothing (MienFaceTracker *self,
                                 double           alpha)
{
  g_return_if_fail (MIEN_IS_FACE_TRACKER (self));
  g_return_if_fail (alpha >= 0 && alpha < 1);

  if (self->smoothing == alpha)
    return;
  self->smoothing = alpha;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SMOOTHING]);
}

double
mien_face_tracker_get_smoothing (MienFaceTracker *self)
{
  g_return_val_if_fail (MIEN_IS_FACE_TRACKER (self), 0);
  return self->smoothing;
}

/* Highest IoU first; equal ones in the order of the older track, then of the earlier face, so
 * that the outcome never depends on the sort's stability. */
static int
compare_pairs (gconstpointer a,
               gconstpointer b)
{
  const Pair *p = a;
  const Pair *q = b;

  if (p->iou != q->iou)
    return p->iou > q->iou ? -1 : 1;
  if (p->track != q->track)
    return p->track < q->track ? -1 : 1;
  return p->face < q->face ? -1 : (p->face > q->face);
}

void
mien_face_tracker_update (MienFaceTracker *self,
                          const MienFace  *faces,
                          guint            n_faces,
                          guint           *track_ids)
{
  g_autoptr(GArray) pairs = NULL;
  g_autofree gboolean *track_matched = NULL;
  g_autofree gboolean *face_matched = NULL;
  guint n_tracks;

  g_return_if_fail (MIEN_IS_FACE_TRACKER (self));
  g_return_if_fail (faces != NULL || n_faces == 0);

  n_tracks = self->tracks->len;
  track_matched = g_new0 (gboolean, n_tracks);
  face_matched = g_new0 (gboolean, n_faces);
  pairs = g_array_new (FALSE, FALSE, sizeof (Pair));
  for (guint t = 0; t < n_tracks; t++)
    for (guint f = 0; f < n_faces; f++)
      {
        Pair pair = { 0, t, f };

        pair.iou = mien_face_iou (&g_array_index (self->tracks, Track, t).face, &faces[f]);
        if (pair.iou > self->iou_threshold)
          g_array_append_val (pairs, pair);
      }
  g_array_sort (pairs, compare_pairs);

  for (guint i = 0; i < pairs->len; i++)
    {
      const Pair *pair = &g_array_index (pairs, Pair, i);
      Track *track = &g_array_index (self->tracks, Track, pair->track);

      if (track_matched[pair->track] || face_matched[pair->face])
        continue;
      track_matched[pair->track] = TRUE;
      face_matched[pair->face] = TRUE;
      track->face = faces[pair->face];
      track->missed = 0;
      if (track_ids != NULL)
        track_ids[pair->face] = track->id;
    }

  /* Backwards, so that removing a track leaves the indices still to visit in place; the order
   * of the others is kept (oldest first), which the tie-break above relies on. */
  for (guint t = n_tracks; t-- > 0;)
    {
      Track *track = &g_array_index (self->tracks, Track, t);

      if (track_matched[t])
        continue;
      if (++track->missed > self->max_missed)
        g_array_remove_index (self->tracks, t);
    }

  for (guint f = 0; f < n_faces; f++)
    {
      Track track = { 0, };

      if (face_matched[f])
        continue;
      track.id = self->next_id++;
      track.face = faces[f];
      g_array_append_val (self->tracks, track);
      if (track_ids != NULL)
        track_ids[f] = track.id;
    }
}

static Track *
find_track (MienFaceTracker *self,
            guint            id)
{
  for (guint t = 0; t < self->tracks->len; t++)
    {
      Track *track = &g_array_index (self->tracks, Track, t);

      if (track->id == id)
        return track;
    }
  return NULL;
}

void
mien_face_tracker_smooth (MienFaceTracker *self,
                          guint            track_id,
                          float           *probabilities,
                          guint            n_classes)
{
  Track *track;
  double alpha, sum = 0;

  g_return_if_fail (MIEN_IS_FACE_TRACKER (self));
  g_return_if_fail (probabilities != NULL || n_classes == 0);

  track = find_track (self, track_id);
  if (track == NULL || n_classes == 0)
    return;

  alpha = self->smoothing;
  if (track->history == NULL || track->n_classes != n_classes)
    {
      g_free (track->history);
      track->history = g_memdup2 (probabilities, n_classes * sizeof (float));
      track->n_classes = n_classes;
      return;
    }
  /* α = 0 leaves the values exactly as they came: no blend, and no renormalising rounding. */
  if (alpha > 0)
    {
      for (guint c = 0; c < n_classes; c++)
        {
          double p = alpha * track->history[c] + (1 - alpha) * probabilities[c];

          probabilities[c] = (float) p;
          sum += p;
        }
      /* Softmax outputs sum to 1 only up to rounding; without this the average would drift
       * over a long video. */
      if (sum > 0)
        for (guint c = 0; c < n_classes; c++)
          probabilities[c] = (float) (probabilities[c] / sum);
    }
  memcpy (track->history, probabilities, n_classes * sizeof (float));
}

void
mien_face_tracker_reset (MienFaceTracker *self)
{
  g_return_if_fail (MIEN_IS_FACE_TRACKER (self));

  g_array_set_size (self->tracks, 0);
  self->next_id = 1;
}

guint
mien_face_tracker_get_n_tracks (MienFaceTracker *self)
{
  g_return_val_if_fail (MIEN_IS_FACE_TRACKER (self), 0);
  return self->tracks->len;
}
