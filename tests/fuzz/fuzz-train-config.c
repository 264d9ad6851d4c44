/* fuzz-train-config.c — a run's config.json (mien_train_config_from_json in
 * app/core/mien-trainer.c), read as mien-run.c's load_config reads it: parsed by
 * mien_json_parse_object, then read member by member.
 *
 * A refused configuration comes with an error of the reader's domains whose message starts with
 * the file's name. A configuration that parses must keep every class it lists, and survive a
 * round trip: what mien_train_config_to_json writes for it (the trainer's config.json), as text,
 * must read back as the same configuration, or a run would be written that no Mien can list or
 * resume, or that resumes with other settings.
 */
#include <string.h>

#include <json-glib/json-glib.h>

#include "mien-json.h"
#include "mien-model.h"
#include "mien-trainer.h"
#include "fuzz-util.h"

#define SOURCE "config.json"

static void
assert_refused (const GError *error)
{
  mien_fuzz_assert_error (error, 0);
  g_assert_true (error->domain == MIEN_JSON_ERROR || error->domain == MIEN_TRAINER_ERROR ||
                 error->domain == MIEN_MODEL_ERROR);
  g_assert_true (g_str_has_prefix (error->message, SOURCE ": "));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(JsonObject) root = NULL;
  g_autoptr(JsonObject) root_again = NULL;
  g_autoptr(MienTrainConfig) config = NULL;
  g_autoptr(MienTrainConfig) again = NULL;
  g_autoptr(JsonNode) written = NULL;
  g_autoptr(JsonNode) rewritten = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *classes;

  mien_fuzz_init ();

  root = mien_json_parse_object ((const char *) data, size, SOURCE, &error);
  if (root == NULL)
    {
      assert_refused (error);
      return 0;
    }
  config = mien_train_config_from_json (root, SOURCE, &error);
  if (config == NULL)
    {
      assert_refused (error);
      return 0;
    }
  g_assert_no_error (error);

  /* An accepted class list is kept whole: a run must not train on fewer classes than it says. */
  classes = json_object_get_member (root, "classes");
  if (classes != NULL && JSON_NODE_HOLDS_ARRAY (classes))
    {
      guint n_classes = json_array_get_length (json_node_get_array (classes));

      g_assert_true (n_classes == 0 || config->classes != NULL);
      g_assert_cmpuint (config->classes != NULL ? g_strv_length (config->classes) : 0, ==,
                        n_classes);
    }

  written = mien_train_config_to_json (config);
  text = mien_json_to_string (written, FALSE);
  root_again = mien_json_parse_object (text, -1, SOURCE, &error);
  g_assert_no_error (error);
  again = mien_train_config_from_json (root_again, SOURCE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (again);
  rewritten = mien_train_config_to_json (again);
  g_assert_true (json_node_equal (written, rewritten));
  return 0;
}
