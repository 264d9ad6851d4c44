/* mien-face-detector.c — the MienFaceDetector interface and the checks around its vfuncs.
 *
 * Plugins implement only the vfuncs; callers go through the wrappers here, so that method names,
 * frame layouts, the prepared state and the order of the faces are the same for every plugin.
 */
#include "config.h"

#include <math.h>

#include <string.h>

#include <glib/gi18n-lib.h>

#include "mien-face-detector.h"

G_DEFINE_QUARK (mien-face-detector-error-quark, mien_face_detector_error)

G_DEFINE_INTERFACE (MienFaceDetector, mien_face_detector, G_TYPE_OBJECT)

/* An interface has no instance struct: the prepared method lives in the instance's qdata. It
 * points into the plugin's static table, so nothing needs freeing. */
static GQuark
mien_face_detector_method_quark (void)
{
  static GQuark quark;

  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("mien-face-detector-method");
  return quark;
}

static void
mien_face_detector_default_init (MienFaceDetectorInterface *iface)
{
}

const MienFaceDetectorMethod *
mien_face_detector_list_methods (MienFaceDetector *self,
                                 guint            *n_methods)
{
  MienFaceDetectorInterface *iface;
  const MienFaceDetectorMethod *methods;
  guint n = 0;

  g_return_val_if_fail (MIEN_IS_FACE_DETECTOR (self), NULL);

  iface = MIEN_FACE_DETECTOR_GET_IFACE (self);
  g_return_val_if_fail (iface->list_methods != NULL, NULL);

  methods = iface->list_methods (self, &n);
  if (methods == NULL)
    n = 0;
  if (n_methods != NULL)
    *n_methods = n;
  return n > 0 ? methods : NULL;
}

static char *
join_method_names (const MienFaceDetectorMethod *methods,
                   guint                         n)
{
  g_autoptr(GString) names = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (names, ", ");
      g_string_append (names, methods[i].name);
    }
  return g_string_free (g_steal_pointer (&names), FALSE);
}

static gboolean
method_is_available (MienFaceDetector             *self,
                     const MienFaceDetectorMethod *method,
                     GError                      **error)
{
  MienFaceDetectorInterface *iface = MIEN_FACE_DETECTOR_GET_IFACE (self);

  /* A method that needs nothing beyond the plugin itself need not say so. */
  if (iface->is_available == NULL)
    return TRUE;
  return iface->is_available (self, method, error);
}

const MienFaceDetectorMethod *
mien_face_detector_find_method (MienFaceDetector *self,
                                const char       *name,
                                GError          **error)
{
  const MienFaceDetectorMethod *methods;
  g_autoptr(GString) reasons = NULL;
  guint n;

  g_return_val_if_fail (MIEN_IS_FACE_DETECTOR (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  methods = mien_face_detector_list_methods (self, &n);

  if (name != NULL && name[0] != '\0')
    {
      g_autofree char *names = NULL;

      for (guint i = 0; i < n; i++)
        if (g_str_equal (methods[i].name, name))
          return &methods[i];

      names = join_method_names (methods, n);
      g_set_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_UNKNOWN_METHOD,
                   _("Unknown face-detection method “%s” of %s; known methods: %s"),
                   name, G_OBJECT_TYPE_NAME (self), names[0] != '\0' ? names : _("(none)"));
      return NULL;
    }

  /* Each method's reason is kept: "none is available" alone would not tell the user that the
   * best one only lacks its model file. */
  reasons = g_string_new (NULL);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) local_error = NULL;

      if (method_is_available (self, &methods[i], &local_error))
        return &methods[i];
      g_string_append_printf (reasons, "; %s: %s", methods[i].name,
                              local_error != NULL ? local_error->message : _("unavailable"));
    }

  g_set_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_MODEL,
               _("No face-detection method of %s is available%s"),
               G_OBJECT_TYPE_NAME (self), reasons->str);
  return NULL;
}

gboolean
mien_face_detector_is_available (MienFaceDetector *self,
                                 const char       *method,
                                 GError          **error)
{
  const MienFaceDetectorMethod *found;

  g_return_val_if_fail (MIEN_IS_FACE_DETECTOR (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  found = mien_face_detector_find_method (self, method, error);
  if (found == NULL)
    return FALSE;
  return method_is_available (self, found, error);
}

gboolean
mien_face_detector_prepare (MienFaceDetector *self,
                            const char       *method,
                            GError          **error)
{
  MienFaceDetectorInterface *iface;
  const MienFaceDetectorMethod *found;

  g_return_val_if_fail (MIEN_IS_FACE_DETECTOR (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = MIEN_FACE_DETECTOR_GET_IFACE (self);
  g_return_val_if_fail (iface->prepare != NULL, FALSE);

  found = mien_face_detector_find_method (self, method, error);
  if (found == NULL)
    return FALSE;

  /* Forgotten first: a failed prepare may already have dropped what the old method loaded, and
   * detect () must then refuse rather than run half a detector. */
  g_object_set_qdata (G_OBJECT (self), mien_face_detector_method_quark (), NULL);

  if (!iface->prepare (self, found, error))
    return FALSE;

  g_object_set_qdata (G_OBJECT (self), mien_face_detector_method_quark (), (gpointer) found);
  return TRUE;
}

const MienFaceDetectorMethod *
mien_face_detector_get_method (MienFaceDetector *self)
{
  g_return_val_if_fail (MIEN_IS_FACE_DETECTOR (self), NULL);

  return g_object_get_qdata (G_OBJECT (self), mien_face_detector_method_quark ());
}

static int
compare_faces (gconstpointer a,
               gconstpointer b)
{
  const MienFace *fa = a;
  const MienFace *fb = b;

  if (fa->x != fb->x)
    return fa->x < fb->x ? -1 : 1;
  if (fa->y != fb->y)
    return fa->y < fb->y ? -1 : 1;
  return 0;
}

GArray *
mien_face_detector_detect (MienFaceDetector *self,
                           GdkPixbuf        *frame,
                           GError          **error)
{
  MienFaceDetectorInterface *iface;
  g_autoptr(GArray) faces = NULL;
  g_autofree guint8 *packed = NULL;
  const guint8 *pixels;
  int width, height, rowstride, n_channels;

  g_return_val_if_fail (MIEN_IS_FACE_DETECTOR (self), NULL);
  g_return_val_if_fail (GDK_IS_PIXBUF (frame), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  iface = MIEN_FACE_DETECTOR_GET_IFACE (self);
  g_return_val_if_fail (iface->detect != NULL, NULL);

  width = gdk_pixbuf_get_width (frame);
  height = gdk_pixbuf_get_height (frame);
  n_channels = gdk_pixbuf_get_n_channels (frame);

  if (gdk_pixbuf_get_colorspace (frame) != GDK_COLORSPACE_RGB ||
      gdk_pixbuf_get_bits_per_sample (frame) != 8 ||
      !(n_channels == 3 || (n_channels == 4 && gdk_pixbuf_get_has_alpha (frame))))
    {
      g_set_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_INPUT,
                   _("Face detection needs an 8-bit RGB or RGBA frame, not %d channels of %d bits"),
                   n_channels, gdk_pixbuf_get_bits_per_sample (frame));
      return NULL;
    }
  if (width <= 0 || height <= 0)
    {
      g_set_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_INPUT,
                   _("Face detection got an empty frame (%d×%d)"), width, height);
      return NULL;
    }
  if (mien_face_detector_get_method (self) == NULL)
    {
      g_set_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_NOT_PREPARED,
                   _("The face detector %s has no method prepared"), G_OBJECT_TYPE_NAME (self));
      return NULL;
    }

  rowstride = gdk_pixbuf_get_rowstride (frame);
  pixels = gdk_pixbuf_read_pixels (frame);

  /* Plugins get one layout only; alpha means nothing to a face detector, so it is dropped. */
  if (n_channels == 4)
    {
      int packed_stride = width * 3;

      packed = g_malloc ((gsize) packed_stride * height);
      for (int y = 0; y < height; y++)
        {
          const guint8 *src = pixels + (gsize) y * rowstride;
          guint8 *dst = packed + (gsize) y * packed_stride;

          for (int x = 0; x < width; x++)
            {
              dst[3 * x + 0] = src[4 * x + 0];
              dst[3 * x + 1] = src[4 * x + 1];
              dst[3 * x + 2] = src[4 * x + 2];
            }
        }
      pixels = packed;
      rowstride = packed_stride;
    }

  faces = g_array_new (FALSE, TRUE, sizeof (MienFace));
  if (!iface->detect (self, pixels, width, height, rowstride, faces, error))
    return NULL;

  g_array_sort (faces, compare_faces);
  return g_steal_pointer (&faces);
}

/* The largest side a search around a face is made at: the face, half the square, then measures
 * about half of it, which every method finds at full confidence, and a large face close to the
 * camera costs a small fraction of its full-size search. */
#define NEAR_MAX_SIDE 192

/* The factor (≤ 1) an area around `old` of that size is searched at: down to NEAR_MAX_SIDE, but
 * never so far that the face would fall under the detector's own "min-face-size" (in pixels of
 * what it is given, when it has such a property). */
static double
near_scale (MienFaceDetector *self,
            const MienFace   *old,
            int               width,
            int               height)
{
  double scale = (double) NEAR_MAX_SIDE / MAX (width, height);
  int min_face_size = 0;

  if (scale >= 1.0)
    return 1.0;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (self), "min-face-size") != NULL)
    g_object_get (self, "min-face-size", &min_face_size, NULL);
  if (min_face_size > 0)
    scale = MAX (scale, 1.25 * min_face_size / MAX (MIN (old->width, old->height), 1.0f));
  return MIN (scale, 1.0);
}

GArray *
mien_face_detector_detect_near (MienFaceDetector *self,
                                GdkPixbuf        *frame,
                                const MienFace   *previous,
                                guint             n_previous,
                                GError          **error)
{
  g_autoptr(GArray) faces = NULL;
  int width, height;

  g_return_val_if_fail (MIEN_IS_FACE_DETECTOR (self), NULL);
  g_return_val_if_fail (GDK_IS_PIXBUF (frame), NULL);
  g_return_val_if_fail (previous != NULL || n_previous == 0, NULL);

  width = gdk_pixbuf_get_width (frame);
  height = gdk_pixbuf_get_height (frame);
  faces = g_array_new (FALSE, TRUE, sizeof (MienFace));
  for (guint i = 0; i < n_previous; i++)
    {
      const MienFace *old = &previous[i];
      double side = 2.0 * MAX (old->width, old->height);
      int x0 = CLAMP ((int) floor (old->x + old->width / 2 - side / 2), 0, width);
      int y0 = CLAMP ((int) floor (old->y + old->height / 2 - side / 2), 0, height);
      int x1 = CLAMP ((int) ceil (old->x + old->width / 2 + side / 2), 0, width);
      int y1 = CLAMP ((int) ceil (old->y + old->height / 2 + side / 2), 0, height);
      g_autoptr(GdkPixbuf) area = NULL;
      g_autoptr(GArray) found = NULL;
      double scale;
      MienFace best;
      double best_iou = -1.0;
      gboolean duplicate = FALSE;

      if (x1 - x0 < 8 || y1 - y0 < 8)
        continue;
      /* A view into the frame, not a copy. */
      area = gdk_pixbuf_new_subpixbuf (frame, x0, y0, x1 - x0, y1 - y0);
      scale = near_scale (self, old, x1 - x0, y1 - y0);
      if (scale < 1.0)
        {
          GdkPixbuf *view = area;

          area = gdk_pixbuf_scale_simple (view, MAX (1, (int) round ((x1 - x0) * scale)),
                                          MAX (1, (int) round ((y1 - y0) * scale)),
                                          GDK_INTERP_BILINEAR);
          g_object_unref (view);
          if (area == NULL)
            {
              g_set_error_literal (error, MIEN_FACE_DETECTOR_ERROR,
                                   MIEN_FACE_DETECTOR_ERROR_INPUT,
                                   _("Out of memory for a face search"));
              return NULL;
            }
        }
      found = mien_face_detector_detect (self, area, error);
      if (found == NULL)
        return NULL;
      for (guint f = 0; f < found->len; f++)
        {
          MienFace face = g_array_index (found, MienFace, f);
          double sx = (double) (x1 - x0) / gdk_pixbuf_get_width (area);
          double sy = (double) (y1 - y0) / gdk_pixbuf_get_height (area);
          double iou;

          face.x = face.x * sx + x0;
          face.y = face.y * sy + y0;
          face.width *= sx;
          face.height *= sy;
          for (guint l = 0; face.has_landmarks && l < MIEN_FACE_N_LANDMARKS; l++)
            {
              face.landmarks[l][0] = face.landmarks[l][0] * sx + x0;
              face.landmarks[l][1] = face.landmarks[l][1] * sy + y0;
            }
          iou = mien_face_iou (&face, old);
          if (iou > best_iou)
            {
              best = face;
              best_iou = iou;
            }
        }
      if (best_iou < 0)
        continue;
      /* Two faces close together search overlapping squares: one face found twice. */
      for (guint f = 0; f < faces->len && !duplicate; f++)
        duplicate = mien_face_iou (&g_array_index (faces, MienFace, f), &best) > 0.5;
      if (!duplicate)
        g_array_append_val (faces, best);
    }
  g_array_sort (faces, compare_faces);
  return g_steal_pointer (&faces);
}

double
mien_face_iou (const MienFace *a,
               const MienFace *b)
{
  double left, top, right, bottom, inter, uni;

  g_return_val_if_fail (a != NULL && b != NULL, 0.0);

  left = MAX (a->x, b->x);
  top = MAX (a->y, b->y);
  right = MIN (a->x + a->width, b->x + b->width);
  bottom = MIN (a->y + a->height, b->y + b->height);
  if (right <= left || bottom <= top)
    return 0.0;

  inter = (right - left) * (bottom - top);
  uni = (double) a->width * a->height + (double) b->width * b->height - inter;
  return uni > 0.0 ? CLAMP (inter / uni, 0.0, 1.0) : 0.0;
}
