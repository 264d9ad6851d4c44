/* fuzz-train-config.c — a run's config.json (mien_train_config_from_json in
 * app/core/mien-trainer.c), read as mien-run.c's load_config reads it.
 *
 * A configuration that parses must keep every class it lists, and survive a round trip: what mien_train_config_to_json
 * writes for it (the trainer's config.json) must read back, or a run would be written that no
 * Mien can list or resume.
 */
#include <json-glib/json-glib.h>

#include "mien-trainer.h"
#include "fuzz-util.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(MienTrainConfig) config = NULL;
  g_autoptr(MienTrainConfig) again = NULL;
  g_autoptr(JsonNode) written = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *root;

  mien_fuzz_init ();

  if (!json_parser_load_from_data (parser, (const char *) data, size, NULL) ||
      json_parser_get_root (parser) == NULL)
    return 0;

  config = mien_train_config_from_json (json_parser_get_root (parser), &error);
  if (config == NULL)
    {
      mien_fuzz_assert_error (error, 0);
      return 0;
    }
  g_assert_no_error (error);

  /* An accepted class list is kept whole: a run must not train on fewer classes than it says. */
  root = json_node_get_object (json_parser_get_root (parser));
  if (root != NULL && json_object_has_member (root, "classes") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (root, "classes")))
    {
      guint n_classes = json_array_get_length (json_object_get_array_member (root, "classes"));

      g_assert_nonnull (config->classes);
      g_assert_cmpuint (g_strv_length (config->classes), ==, n_classes);
    }

  written = mien_train_config_to_json (config);
  again = mien_train_config_from_json (written, &error);
  g_assert_no_error (error);
  g_assert_nonnull (again);
  return 0;
}
