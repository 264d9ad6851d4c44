/* A well-formed shared object that is not a Mien plugin: it lacks mien_plugin_query_type (). */
#include <gmodule.h>

G_MODULE_EXPORT int mien_noentry_answer (void);

G_MODULE_EXPORT int
mien_noentry_answer (void)
{
  return 42;
}
