/* main.c — mien, the studio. */
#include "config.h"

#include <locale.h>

#include <glib/gi18n-lib.h>

#include "mien-application.h"
#include "mien-core.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(MienApplication) app = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, mien_locale_dir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_application_name (_("Mien"));

  app = mien_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
