/* mien-annotated-frame.c — a frame with its overlays, as a picture of the frame's own size. */
#include "config.h"

#include <errno.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mien-annotated-frame.h"
#include "mien-output.h"
#include "mien-ui-util.h"

GdkTexture *
mien_annotated_frame_render (GtkWidget   *overlay,
                             GdkTexture  *frame,
                             GError     **error)
{
  g_autoptr(GtkSnapshot) snapshot = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  GtkNative *native;
  GskRenderer *renderer;
  int width, height;
  double ox, oy, scale;

  g_return_val_if_fail (GTK_IS_WIDGET (overlay), NULL);
  g_return_val_if_fail (GDK_IS_TEXTURE (frame), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  width = gdk_texture_get_width (frame);
  height = gdk_texture_get_height (frame);
  native = gtk_widget_get_native (overlay);
  renderer = native != NULL ? gtk_native_get_renderer (native) : NULL;
  if (renderer == NULL || gtk_widget_get_width (overlay) <= 0 ||
      gtk_widget_get_height (overlay) <= 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                           _("No frame is shown"));
      return NULL;
    }

  snapshot = gtk_snapshot_new ();
  gtk_snapshot_append_texture (snapshot, frame, &GRAPHENE_RECT_INIT (0, 0, width, height));
  /* Screen to frame pixels: the inverse of the picture's "contain" fit. */
  mien_ui_contain_rect (overlay, width, height, &ox, &oy, &scale);
  gtk_snapshot_scale (snapshot, 1.0 / scale, 1.0 / scale);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (-ox, -oy));
  GTK_WIDGET_GET_CLASS (overlay)->snapshot (overlay, snapshot);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  return gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
}

gboolean
mien_annotated_frame_save (GtkWidget   *overlay,
                           GdkTexture  *frame,
                           const char  *path,
                           GError     **error)
{
  g_autoptr(GdkTexture) texture = mien_annotated_frame_render (overlay, frame, error);
  g_autoptr(GBytes) png = NULL;

  if (texture == NULL)
    return FALSE;
  png = gdk_texture_save_to_png_bytes (texture);
  return mien_output_set_contents (path, NULL, g_bytes_get_data (png, NULL),
                                   g_bytes_get_size (png), error);
}

char *
mien_annotated_frame_dup_path (const char *folder,
                               const char *prefix,
                               const char *suffix)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  char *path = NULL;

  for (guint n = 1; path == NULL || g_file_test (path, G_FILE_TEST_EXISTS); n++)
    {
      g_autofree char *name = n == 1 ? g_strdup_printf ("%s-%s%s", prefix, stamp, suffix)
                                     : g_strdup_printf ("%s-%s-%u%s", prefix, stamp, n, suffix);

      g_free (path);
      path = g_build_filename (folder, name, NULL);
    }
  return path;
}

char *
mien_annotated_frame_dup_folder (GSettings  *settings,
                                 GError    **error)
{
  g_autofree char *folder = g_settings_get_string (settings, "snapshots-folder");

  if (folder[0] == '\0')
    {
      const char *pictures = g_get_user_special_dir (G_USER_DIRECTORY_PICTURES);

      g_free (folder);
      folder = pictures != NULL ? g_build_filename (pictures, "Mien", NULL)
                                : g_build_filename (g_get_user_data_dir (), "mien", "snapshots",
                                                    NULL);
    }
  if (g_mkdir_with_parents (folder, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot create the snapshots folder %s: %s"), folder, g_strerror (saved));
      return NULL;
    }
  return g_steal_pointer (&folder);
}
