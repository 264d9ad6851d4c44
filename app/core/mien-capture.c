/* mien-capture.c — face crops into class folders: the checks, the atomic writes, and the
 * one-frame mailbox of the asynchronous front ends. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mien-capture.h"
#include "mien-core.h"
#include "mien-dataset.h"
#include "mien-image.h"
#include "mien-output.h"

/* The side of the luminance thumbnails compared for near-duplicates. */
#define THUMB_SIZE 32
/* The longest class name, in bytes: folder names have room for it on every file system. */
#define MAX_CLASS_NAME 64
/* A crop name is tried with this many counters at most before giving up (a folder full of
 * names taken by someone else). */
#define MAX_NAME_TRIES 10000

G_DEFINE_QUARK (mien-capture-error-quark, mien_capture_error)

const char *
mien_capture_outcome_to_string (MienCaptureOutcome outcome)
{
  static const char * const names[] = {
    [MIEN_CAPTURE_KEPT] = N_("kept"),
    [MIEN_CAPTURE_NO_FACE] = N_("no face"),
    [MIEN_CAPTURE_BLURRED] = N_("blurred"),
    [MIEN_CAPTURE_DUPLICATE] = N_("near-duplicate"),
    [MIEN_CAPTURE_TOO_SOON] = N_("too soon"),
  };

  g_return_val_if_fail (outcome < MIEN_CAPTURE_N_OUTCOMES, NULL);
  return _(names[outcome]);
}

MienCaptureResult *
mien_capture_result_copy (const MienCaptureResult *result)
{
  MienCaptureResult *copy;

  g_return_val_if_fail (result != NULL, NULL);

  copy = g_memdup2 (result, sizeof *result);
  copy->class_name = g_strdup (result->class_name);
  copy->path = g_strdup (result->path);
  if (result->crop != NULL)
    g_object_ref (result->crop);
  return copy;
}

void
mien_capture_result_free (MienCaptureResult *result)
{
  if (result == NULL)
    return;
  g_free (result->class_name);
  g_free (result->path);
  g_clear_object (&result->crop);
  g_free (result);
}

G_DEFINE_BOXED_TYPE (MienCaptureResult, mien_capture_result,
                     mien_capture_result_copy, mien_capture_result_free)

/* What a class remembers of the last crop kept for it. */
typedef struct {
  guint64  n_kept;
  gboolean has_last;
  guint8   last_thumb[THUMB_SIZE * THUMB_SIZE];
  gint64   last_us;     /* the kept frame's time (its timestamp, or the clock's) */
  char    *last_path;
} ClassState;

static void
class_state_free (gpointer data)
{
  ClassState *state = data;

  g_free (state->last_path);
  g_free (state);
}

/* A frame waiting for the capture's thread. */
typedef struct {
  GdkPixbuf *frame;
  char      *class_name;
  gint64     pts_us;
} Job;

static void
job_free (Job *job)
{
  if (job == NULL)
    return;
  g_clear_object (&job->frame);
  g_free (job->class_name);
  g_free (job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Job, job_free)

enum {
  SIGNAL_RESULT,
  SIGNAL_ERROR,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _MienCapture
{
  GObject             parent_instance;
  char               *dataset_dir;
  MienFaceDetector   *detector;      /* the thread's once mien_capture_push () starts it */
  MienCaptureOptions  options;
  GMainContext       *context;
  guint               next_number;   /* of the crop names; used by add_frame's thread only */

  GMutex              lock;
  GCond               cond;
  /* Under lock (the main thread reads and deletes while the capture's thread writes): */
  GHashTable         *classes;       /* name → ClassState */
  GHashTable         *written;       /* the paths of the crops written and not deleted */
  guint64             n_outcome[MIEN_CAPTURE_N_OUTCOMES];
  guint64             n_dropped;
  GThread            *thread;
  Job                *mailbox;
  gboolean            quit;
  gint                stopped;       /* atomic: no delivery once set */
};

G_DEFINE_FINAL_TYPE (MienCapture, mien_capture, G_TYPE_OBJECT)

gboolean
mien_capture_check_class_name (const char  *name,
                               GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (name != NULL, FALSE);

  /* What a dataset refuses to read (not UTF-8, empty, "/", control characters, …) first, so
   * that capture never makes a folder the dataset would then reject. */
  if (!mien_dataset_check_class_name (name, &local_error))
    {
      g_set_error_literal (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_CLASS,
                           local_error->message);
      return FALSE;
    }
  if (strlen (name) > MAX_CLASS_NAME)
    {
      g_set_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_CLASS,
                   _("The class name “%s” is too long: at most %d bytes"), name, MAX_CLASS_NAME);
      return FALSE;
    }
  /* A hidden folder would not show in a file manager, and the dataset's temporary files start
   * with a dot. */
  if (name[0] == '.')
    {
      g_set_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_CLASS,
                   _("The class name “%s” starts with a dot"), name);
      return FALSE;
    }
  /* A path separator on Windows, where datasets travel. */
  if (strchr (name, '\\') != NULL)
    {
      g_set_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_CLASS,
                   _("The class name “%s” holds a backslash"), name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_options (const MienCaptureOptions  *options,
               GError                   **error)
{
  if (options->size < 16 || options->size > 1024)
    {
      g_set_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_OPTIONS,
                   _("The crop size %d is out of range: expected 16 to 1024 pixels"),
                   options->size);
      return FALSE;
    }
  /* Written so that NaN fails too. */
  if (!(options->margin >= 0.0 && options->margin <= 1.0))
    {
      g_set_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_OPTIONS,
                   _("The face margin %g is out of range: expected 0 to 1"), options->margin);
      return FALSE;
    }
  if (!(options->min_sharpness >= 0.0 && isfinite (options->min_sharpness)))
    {
      g_set_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_OPTIONS,
                   _("The least sharpness %g is out of range: expected 0 or more"),
                   options->min_sharpness);
      return FALSE;
    }
  if (!(options->min_difference >= 0.0 && options->min_difference <= 255.0))
    {
      g_set_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_OPTIONS,
                   _("The least difference %g is out of range: expected 0 to 255 grey levels"),
                   options->min_difference);
      return FALSE;
    }
  if (options->every_us < 0)
    {
      g_set_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_OPTIONS,
                   _("The least time between crops is negative (%lld µs)"),
                   (long long) options->every_us);
      return FALSE;
    }
  return TRUE;
}

static void
deliver (MienCapture       *self,
         MienCaptureResult *result,
         GError            *error)
{
  if (result != NULL)
    mien_main_context_emit (self->context, "[mien] capture result", self, &self->stopped,
                            signals[SIGNAL_RESULT], result,
                            (GDestroyNotify) mien_capture_result_free);
  else
    mien_main_context_emit (self->context, "[mien] capture error", self, &self->stopped,
                            signals[SIGNAL_ERROR], error, (GDestroyNotify) g_error_free);
}

/* ---- Measures of a crop ----------------------------------------------------------------- */

/* The luminance of `crop` scaled to `side` × `side` pixels. */
static guint8 *
luminance_at (GdkPixbuf *crop,
              int        side)
{
  g_autoptr(GdkPixbuf) scaled = gdk_pixbuf_scale_simple (crop, side, side, GDK_INTERP_BILINEAR);
  const guint8 *pixels;
  int rowstride, channels;
  guint8 *grey;

  if (scaled == NULL)
    return NULL;
  pixels = gdk_pixbuf_read_pixels (scaled);
  rowstride = gdk_pixbuf_get_rowstride (scaled);
  channels = gdk_pixbuf_get_n_channels (scaled);
  grey = g_new (guint8, side * side);
  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      {
        const guint8 *p = pixels + y * rowstride + x * channels;

        grey[y * side + x] = mien_image_luminance (p[0], p[1], p[2]);
      }
  return grey;
}

/* The variance of the 4-neighbour Laplacian over the inner pixels of a `side`² grey image. */
static double
laplacian_variance (const guint8 *grey,
                    int           side)
{
  double sum = 0.0, sum_sq = 0.0;
  guint n = 0;

  for (int y = 1; y < side - 1; y++)
    for (int x = 1; x < side - 1; x++)
      {
        const guint8 *p = grey + y * side + x;
        double l = p[-1] + p[1] + p[-side] + p[side] - 4.0 * p[0];

        sum += l;
        sum_sq += l * l;
        n++;
      }
  if (n == 0)
    return 0.0;
  return MAX (sum_sq / n - (sum / n) * (sum / n), 0.0);
}

static double
mean_abs_difference (const guint8 *a,
                     const guint8 *b,
                     gsize         n)
{
  guint64 total = 0;

  for (gsize i = 0; i < n; i++)
    total += ABS ((int) a[i] - (int) b[i]);
  return (double) total / n;
}

/* ---- Writing a crop ----------------------------------------------------------------------- */

/* Makes `dir` (and its parents) unless it is already a folder. */
static gboolean
ensure_folder (const char  *dir,
               GQuark       domain,
               int          code,
               GError     **error)
{
  if (g_file_test (dir, G_FILE_TEST_IS_DIR))
    return TRUE;
  if (g_file_test (dir, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, domain, code, _("%s exists and is not a folder"), dir);
      return FALSE;
    }
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, domain, code, _("Cannot make the folder %s: %s"), dir,
                   g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* Writes the PNG `data` under the next free name of the class folder `dir`; its path, or NULL.
 * Never replaces a file, even one that appears between the choice of a name and the rename. */
static char *
write_crop (MienCapture  *self,
            const char   *dir,
            const char   *data,
            gsize         size,
            GError      **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");

  for (guint tries = 0; tries < MAX_NAME_TRIES; tries++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(MienOutput) output = NULL;
      g_autofree char *name = NULL;
      g_autofree char *path = NULL;

      name = g_strdup_printf ("capture-%s-%04u.png", stamp, ++self->next_number);
      path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK))
        continue;
      output = mien_output_new (path, NULL, &local_error);
      if (output != NULL && mien_output_write (output, data, size, &local_error) &&
          mien_output_commit_new (output, &local_error))
        return g_steal_pointer (&path);
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_EXISTS))
        continue;
      g_set_error_literal (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_WRITE,
                           local_error->message);
      return NULL;
    }
  g_set_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_WRITE,
               _("Cannot write a crop in %s: every name tried is taken"), dir);
  return NULL;
}

static char *
save_crop (MienCapture  *self,
           GdkPixbuf    *crop,
           const char   *class_name,
           GError      **error)
{
  g_autofree char *dir = g_build_filename (self->dataset_dir, class_name, NULL);
  g_autofree char *png = NULL;
  gsize png_size = 0;
  g_autoptr(GError) local_error = NULL;

  if (!ensure_folder (dir, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_WRITE, error))
    return NULL;
  if (!gdk_pixbuf_save_to_buffer (crop, &png, &png_size, "png", &local_error, NULL))
    {
      g_set_error (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_WRITE,
                   _("Cannot encode a crop for %s: %s"), dir, local_error->message);
      return NULL;
    }
  return write_crop (self, dir, png, png_size, error);
}

/* ---- The object -------------------------------------------------------------------------- */

static void
mien_capture_dispose (GObject *object)
{
  MienCapture *self = MIEN_CAPTURE (object);

  mien_capture_stop (self);
  g_clear_object (&self->detector);
  G_OBJECT_CLASS (mien_capture_parent_class)->dispose (object);
}

static void
mien_capture_finalize (GObject *object)
{
  MienCapture *self = MIEN_CAPTURE (object);

  g_free (self->dataset_dir);
  g_clear_pointer (&self->classes, g_hash_table_unref);
  g_clear_pointer (&self->written, g_hash_table_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (mien_capture_parent_class)->finalize (object);
}

static void
mien_capture_class_init (MienCaptureClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mien_capture_dispose;
  object_class->finalize = mien_capture_finalize;

  /* Static scope: handlers get the thread's result without a copy and copy it to keep it. */
  signals[SIGNAL_RESULT] =
    g_signal_new ("result", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1,
                  MIEN_TYPE_CAPTURE_RESULT | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[SIGNAL_ERROR] =
    g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
mien_capture_init (MienCapture *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->classes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, class_state_free);
  self->written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

MienCapture *
mien_capture_new (const char                *dataset_dir,
                  MienFaceDetector          *detector,
                  const MienCaptureOptions  *options,
                  GError                   **error)
{
  static const MienCaptureOptions defaults = MIEN_CAPTURE_OPTIONS_INIT;
  g_autoptr(MienCapture) self = NULL;

  g_return_val_if_fail (dataset_dir != NULL, NULL);
  g_return_val_if_fail (MIEN_IS_FACE_DETECTOR (detector), NULL);
  g_return_val_if_fail (mien_face_detector_get_method (detector) != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (options == NULL)
    options = &defaults;
  if (!check_options (options, error))
    return NULL;
  if (*dataset_dir == '\0')
    {
      g_set_error_literal (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_DATASET,
                           _("An empty dataset path"));
      return NULL;
    }
  if (!ensure_folder (dataset_dir, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_DATASET, error))
    {
      g_prefix_error (error, _("Cannot capture into the dataset %s: "), dataset_dir);
      return NULL;
    }

  self = g_object_new (MIEN_TYPE_CAPTURE, NULL);
  /* Absolute, so that the paths reported and checked by mien_capture_delete () do not depend
   * on the working folder. */
  self->dataset_dir = g_canonicalize_filename (dataset_dir, NULL);
  self->detector = g_object_ref (detector);
  self->options = *options;
  self->context = g_main_context_ref_thread_default ();
  return g_steal_pointer (&self);
}

const char *
mien_capture_get_dataset_dir (MienCapture *self)
{
  g_return_val_if_fail (MIEN_IS_CAPTURE (self), NULL);
  return self->dataset_dir;
}

const MienCaptureOptions *
mien_capture_get_options (MienCapture *self)
{
  g_return_val_if_fail (MIEN_IS_CAPTURE (self), NULL);
  return &self->options;
}

static const MienFace *
largest_face (GArray *faces)
{
  const MienFace *best = NULL;

  for (guint i = 0; i < faces->len; i++)
    {
      const MienFace *face = &g_array_index (faces, MienFace, i);

      if (best == NULL || face->width * face->height > best->width * best->height)
        best = face;
    }
  return best;
}

/* Under lock. */
static ClassState *
class_state (MienCapture *self,
             const char  *class_name)
{
  ClassState *state = g_hash_table_lookup (self->classes, class_name);

  if (state == NULL)
    {
      state = g_new0 (ClassState, 1);
      g_hash_table_insert (self->classes, g_strdup (class_name), state);
    }
  return state;
}

/* The outcome of a crop by the checks of the header, in its order; `result` gets the measures. */
static MienCaptureOutcome
judge_crop (MienCapture       *self,
            ClassState        *state,
            const guint8      *thumb,
            const guint8      *sharp_grey,
            gint64             time_us,
            MienCaptureResult *result)
{
  const MienCaptureOptions *options = &self->options;

  result->sharpness = laplacian_variance (sharp_grey, MIEN_CAPTURE_SHARPNESS_SIZE);
  result->difference = state->has_last ?
    mean_abs_difference (thumb, state->last_thumb, THUMB_SIZE * THUMB_SIZE) : -1.0;
  if (result->sharpness < options->min_sharpness)
    return MIEN_CAPTURE_BLURRED;
  if (state->has_last && result->difference < options->min_difference)
    return MIEN_CAPTURE_DUPLICATE;
  /* A timestamp before the last one is a new stream (a video looped or opened again). */
  if (options->every_us > 0 && state->has_last && time_us >= state->last_us &&
      time_us - state->last_us < options->every_us)
    return MIEN_CAPTURE_TOO_SOON;
  return MIEN_CAPTURE_KEPT;
}

MienCaptureResult *
mien_capture_add_frame (MienCapture  *self,
                        GdkPixbuf    *frame,
                        const char   *class_name,
                        gint64        pts_us,
                        GError      **error)
{
  g_autoptr(MienCaptureResult) result = NULL;
  g_autoptr(GArray) faces = NULL;
  g_autofree guint8 *thumb = NULL;
  g_autofree guint8 *sharp_grey = NULL;
  const MienFace *face;
  MienFaceAlignOptions align;
  ClassState *state;
  gint64 time_us = pts_us >= 0 ? pts_us : g_get_monotonic_time ();

  g_return_val_if_fail (MIEN_IS_CAPTURE (self), NULL);
  g_return_val_if_fail (GDK_IS_PIXBUF (frame), NULL);
  g_return_val_if_fail (class_name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!mien_capture_check_class_name (class_name, error))
    return NULL;
  faces = mien_face_detector_detect (self->detector, frame, error);
  if (faces == NULL)
    return NULL;

  result = g_new0 (MienCaptureResult, 1);
  result->class_name = g_strdup (class_name);
  result->difference = -1.0;
  face = largest_face (faces);
  if (face == NULL)
    {
      result->outcome = MIEN_CAPTURE_NO_FACE;
      goto counted;
    }
  result->has_face = TRUE;
  result->face = *face;

  align.margin = self->options.margin;
  align.rotate = self->options.rotate;
  result->crop = mien_face_align (frame, face, &align, self->options.size, self->options.grey);
  thumb = result->crop != NULL ? luminance_at (result->crop, THUMB_SIZE) : NULL;
  sharp_grey = result->crop != NULL ?
    luminance_at (result->crop, MIEN_CAPTURE_SHARPNESS_SIZE) : NULL;
  if (thumb == NULL || sharp_grey == NULL)
    {
      g_set_error_literal (error, MIEN_CAPTURE_ERROR, MIEN_CAPTURE_ERROR_WRITE,
                           _("Out of memory for a face crop"));
      return NULL;
    }

  g_mutex_lock (&self->lock);
  state = class_state (self, class_name);
  result->outcome = judge_crop (self, state, thumb, sharp_grey, time_us, result);
  g_mutex_unlock (&self->lock);

  if (result->outcome == MIEN_CAPTURE_KEPT)
    {
      /* Written outside the lock: a front end reading counts must not wait for a disk. */
      result->path = save_crop (self, result->crop, class_name, error);
      if (result->path == NULL)
        return NULL;
      g_mutex_lock (&self->lock);
      state = class_state (self, class_name);
      state->n_kept++;
      state->has_last = TRUE;
      state->last_us = time_us;
      memcpy (state->last_thumb, thumb, sizeof state->last_thumb);
      g_free (state->last_path);
      state->last_path = g_strdup (result->path);
      g_hash_table_add (self->written, g_strdup (result->path));
      g_mutex_unlock (&self->lock);
    }

counted:
  g_mutex_lock (&self->lock);
  self->n_outcome[result->outcome]++;
  g_mutex_unlock (&self->lock);
  return g_steal_pointer (&result);
}

guint64
mien_capture_get_n_outcome (MienCapture        *self,
                            MienCaptureOutcome  outcome)
{
  guint64 n;

  g_return_val_if_fail (MIEN_IS_CAPTURE (self), 0);
  g_return_val_if_fail (outcome < MIEN_CAPTURE_N_OUTCOMES, 0);

  g_mutex_lock (&self->lock);
  n = self->n_outcome[outcome];
  g_mutex_unlock (&self->lock);
  return n;
}

guint64
mien_capture_get_n_kept_for (MienCapture *self,
                             const char  *class_name)
{
  ClassState *state;
  guint64 n;

  g_return_val_if_fail (MIEN_IS_CAPTURE (self), 0);
  g_return_val_if_fail (class_name != NULL, 0);

  g_mutex_lock (&self->lock);
  state = g_hash_table_lookup (self->classes, class_name);
  n = state != NULL ? state->n_kept : 0;
  g_mutex_unlock (&self->lock);
  return n;
}

guint
mien_capture_count_images (const char *dataset_dir,
                           const char *class_name)
{
  g_autofree char *dir_path = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;
  guint n = 0;

  g_return_val_if_fail (dataset_dir != NULL, 0);
  g_return_val_if_fail (class_name != NULL, 0);

  dir_path = g_build_filename (dataset_dir, class_name, NULL);
  dir = g_dir_open (dir_path, 0, NULL);
  if (dir == NULL)
    return 0;
  while ((name = g_dir_read_name (dir)) != NULL)
    if (mien_dataset_is_image_name (name))
      n++;
  return n;
}

gboolean
mien_capture_delete (MienCapture  *self,
                     const char   *path,
                     GError      **error)
{
  g_autofree char *canonical = NULL;
  GHashTableIter iter;
  gpointer key, value;
  gboolean ours;

  g_return_val_if_fail (MIEN_IS_CAPTURE (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  canonical = g_canonicalize_filename (path, NULL);
  g_mutex_lock (&self->lock);
  ours = g_hash_table_contains (self->written, canonical);
  g_mutex_unlock (&self->lock);
  if (!ours)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   _("Refusing to delete %s: it is not a crop this capture wrote"), path);
      return FALSE;
    }
  if (g_unlink (canonical) != 0 && errno != ENOENT)
    return mien_output_set_errno_error (error, errno, _("Cannot delete %s"), path);

  g_mutex_lock (&self->lock);
  g_hash_table_remove (self->written, canonical);
  /* A deleted crop is no reference for near-duplicates: the next frame like it is wanted. */
  g_hash_table_iter_init (&iter, self->classes);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      ClassState *state = value;

      if (g_strcmp0 (state->last_path, canonical) == 0)
        {
          state->has_last = FALSE;
          g_clear_pointer (&state->last_path, g_free);
        }
    }
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/* ---- The capture's thread -------------------------------------------------------------- */

/* Waits for a job; NULL when told to quit. */
static Job *
take_job (MienCapture *self)
{
  Job *job;

  g_mutex_lock (&self->lock);
  while (self->mailbox == NULL && !self->quit)
    g_cond_wait (&self->cond, &self->lock);
  job = self->quit ? NULL : g_steal_pointer (&self->mailbox);
  g_mutex_unlock (&self->lock);
  return job;
}

static gpointer
capture_worker (gpointer data)
{
  MienCapture *self = data;
  Job *job;

  while ((job = take_job (self)) != NULL)
    {
      g_autoptr(GError) error = NULL;
      MienCaptureResult *result;

      result = mien_capture_add_frame (self, job->frame, job->class_name, job->pts_us, &error);
      if (result != NULL)
        deliver (self, result, NULL);
      else
        deliver (self, NULL, g_steal_pointer (&error));
      job_free (job);
    }
  return NULL;
}

void
mien_capture_push (MienCapture *self,
                   GdkPixbuf   *frame,
                   const char  *class_name,
                   gint64       pts_us)
{
  g_autoptr(Job) replaced = NULL;
  Job *job;

  g_return_if_fail (MIEN_IS_CAPTURE (self));
  g_return_if_fail (GDK_IS_PIXBUF (frame));
  g_return_if_fail (class_name != NULL);

  job = g_new0 (Job, 1);
  job->frame = g_object_ref (frame);
  job->class_name = g_strdup (class_name);
  job->pts_us = pts_us;

  g_mutex_lock (&self->lock);
  if (self->quit)
    {
      g_mutex_unlock (&self->lock);
      job_free (job);
      return;
    }
  /* Started on the first push: the command line adds frames itself and needs no thread. */
  if (self->thread == NULL)
    self->thread = g_thread_new ("mien-capture", capture_worker, self);
  replaced = g_steal_pointer (&self->mailbox);
  if (replaced != NULL)
    self->n_dropped++;
  self->mailbox = job;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  /* `replaced` is freed here, outside the lock: it may hold the last reference to a frame. */
}

guint64
mien_capture_get_n_dropped (MienCapture *self)
{
  guint64 n;

  g_return_val_if_fail (MIEN_IS_CAPTURE (self), 0);

  g_mutex_lock (&self->lock);
  n = self->n_dropped;
  g_mutex_unlock (&self->lock);
  return n;
}

void
mien_capture_stop (MienCapture *self)
{
  g_autoptr(Job) waiting = NULL;
  GThread *thread;

  g_return_if_fail (MIEN_IS_CAPTURE (self));

  g_atomic_int_set (&self->stopped, TRUE);
  g_mutex_lock (&self->lock);
  self->quit = TRUE;
  waiting = g_steal_pointer (&self->mailbox);
  if (waiting != NULL)
    self->n_dropped++;
  thread = g_steal_pointer (&self->thread);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  /* At most the frame in progress to wait for; its delivery is then ignored (stopped). */
  if (thread != NULL)
    g_thread_join (thread);
}
