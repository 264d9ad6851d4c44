#include "config.h"

#include <glib/gi18n-lib.h>

#include "mien-core.h"

void
mien_init (void)
{
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised))
    {
      bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
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
