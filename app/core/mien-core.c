#include "config.h"

#include <glib/gi18n-lib.h>

#include "mien-core.h"

char *
mien_installed_dir (const char *configured,
                    const char *from_bindir)
{
  g_autofree char *exe = NULL;
  g_autofree char *bindir = NULL;
  g_autofree char *moved = NULL;

  g_return_val_if_fail (configured != NULL && from_bindir != NULL, NULL);

  if (from_bindir[0] == '\0' ||
      (exe = g_file_read_link ("/proc/self/exe", NULL)) == NULL)
    return g_strdup (configured);
  bindir = g_path_get_dirname (exe);
  moved = g_canonicalize_filename (from_bindir, bindir);
  if (g_file_test (moved, G_FILE_TEST_IS_DIR))
    return g_steal_pointer (&moved);
  return g_strdup (configured);
}

const char *
mien_locale_dir (void)
{
  static gsize dir = 0;

  if (g_once_init_enter (&dir))
    g_once_init_leave (&dir, (gsize) mien_installed_dir (LOCALEDIR, MIEN_LOCALEDIR_FROM_BINDIR));
  return (const char *) dir;
}

void
mien_init (void)
{
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised))
    {
      bindtextdomain (GETTEXT_PACKAGE, mien_locale_dir ());
      bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
      mien_torch_init ();
      g_once_init_leave (&initialised, 1);
    }
}

gboolean
mien_name_lookup (const char * const *names,
                  guint               n_names,
                  const char         *name,
                  guint              *index)
{
  for (guint i = 0; name != NULL && i < n_names; i++)
    if (g_str_equal (names[i], name))
      {
        if (index != NULL)
          *index = i;
        return TRUE;
      }
  return FALSE;
}

void
mien_main_context_post (GMainContext   *context,
                        int             priority,
                        const char     *name,
                        GSourceFunc     func,
                        gpointer        data,
                        GDestroyNotify  notify)
{
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_priority (source, priority);
  g_source_set_callback (source, func, data, notify);
  g_source_set_static_name (source, name);
  g_source_attach (source, context);
}

/* A signal on its way to the main context. Weak, so that a pending emission keeps no object
 * alive. */
typedef struct {
  GWeakRef        instance;
  const gint     *stopped;
  guint           signal_id;
  gpointer        value;
  GDestroyNotify  free_value;
} Emission;

static void
emission_free (gpointer data)
{
  Emission *emission = data;

  g_weak_ref_clear (&emission->instance);
  if (emission->value != NULL && emission->free_value != NULL)
    emission->free_value (emission->value);
  g_free (emission);
}

static gboolean
emit_cb (gpointer data)
{
  Emission *emission = data;
  g_autoptr(GObject) instance = g_weak_ref_get (&emission->instance);

  /* `stopped` lies in the instance: read only while a reference holds it. */
  if (instance != NULL && !g_atomic_int_get (emission->stopped))
    g_signal_emit (instance, emission->signal_id, 0, emission->value);
  return G_SOURCE_REMOVE;
}

void
mien_main_context_emit (GMainContext   *context,
                        const char     *name,
                        gpointer        instance,
                        const gint     *stopped,
                        guint           signal_id,
                        gpointer        value,
                        GDestroyNotify  free_value)
{
  Emission *emission = g_new0 (Emission, 1);

  g_weak_ref_init (&emission->instance, instance);
  emission->stopped = stopped;
  emission->signal_id = signal_id;
  emission->value = value;
  emission->free_value = free_value;
  /* Default priority: results should not wait behind redraws and other idles. */
  mien_main_context_post (context, G_PRIORITY_DEFAULT, name, emit_cb, emission, emission_free);
}
