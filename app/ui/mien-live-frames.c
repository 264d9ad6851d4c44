/* mien-live-frames.c — the Live page's frames as one paintable. */
#include "config.h"

#include "mien-live-frames.h"

struct _MienLiveFrames
{
  GObject     parent_instance;
  GdkTexture *texture;
};

static void
mien_live_frames_snapshot (GdkPaintable *paintable,
                           GdkSnapshot  *snapshot,
                           double        width,
                           double        height)
{
  MienLiveFrames *self = MIEN_LIVE_FRAMES (paintable);

  if (self->texture != NULL)
    gdk_paintable_snapshot (GDK_PAINTABLE (self->texture), snapshot, width, height);
}

static GdkPaintable *
mien_live_frames_get_current_image (GdkPaintable *paintable)
{
  MienLiveFrames *self = MIEN_LIVE_FRAMES (paintable);

  if (self->texture != NULL)
    return GDK_PAINTABLE (g_object_ref (self->texture));
  return gdk_paintable_new_empty (0, 0);
}

static int
mien_live_frames_get_intrinsic_width (GdkPaintable *paintable)
{
  MienLiveFrames *self = MIEN_LIVE_FRAMES (paintable);

  return self->texture != NULL ? gdk_texture_get_width (self->texture) : 0;
}

static int
mien_live_frames_get_intrinsic_height (GdkPaintable *paintable)
{
  MienLiveFrames *self = MIEN_LIVE_FRAMES (paintable);

  return self->texture != NULL ? gdk_texture_get_height (self->texture) : 0;
}

static void
mien_live_frames_paintable_init (GdkPaintableInterface *iface)
{
  iface->snapshot = mien_live_frames_snapshot;
  iface->get_current_image = mien_live_frames_get_current_image;
  iface->get_intrinsic_width = mien_live_frames_get_intrinsic_width;
  iface->get_intrinsic_height = mien_live_frames_get_intrinsic_height;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (MienLiveFrames, mien_live_frames, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GDK_TYPE_PAINTABLE,
                                                      mien_live_frames_paintable_init))

static void
mien_live_frames_finalize (GObject *object)
{
  g_clear_object (&MIEN_LIVE_FRAMES (object)->texture);
  G_OBJECT_CLASS (mien_live_frames_parent_class)->finalize (object);
}

static void
mien_live_frames_class_init (MienLiveFramesClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mien_live_frames_finalize;
}

static void
mien_live_frames_init (MienLiveFrames *self)
{
}

void
mien_live_frames_set_texture (MienLiveFrames *self,
                              GdkTexture     *texture)
{
  gboolean resized =
    (self->texture == NULL) != (texture == NULL) ||
    (texture != NULL &&
     (gdk_texture_get_width (texture) != gdk_texture_get_width (self->texture) ||
      gdk_texture_get_height (texture) != gdk_texture_get_height (self->texture)));

  g_set_object (&self->texture, texture);
  if (resized)
    gdk_paintable_invalidate_size (GDK_PAINTABLE (self));
  gdk_paintable_invalidate_contents (GDK_PAINTABLE (self));
}

MienLiveFrames *
mien_live_frames_new (void)
{
  return g_object_new (MIEN_TYPE_LIVE_FRAMES, NULL);
}
