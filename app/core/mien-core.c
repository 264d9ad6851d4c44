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
