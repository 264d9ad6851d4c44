/* test-plugins.c — the plugin engine, the MienBackbone wrappers and `mien-cli plugins`.
 *
 * Fixture plugins live in G_TEST_BUILDDIR/plugins/<case>/ (tests/plugins/meson.build), one folder
 * per case, so each test picks its search path; cases that are only a bad key file are written
 * at run time into a temporary folder.
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mien-core.h"

#define MIEN_CLI_PATH MIEN_BUILD_ROOT "/app/cli/mien-cli"

static char *
fixture_dir (const char *name)
{
  return g_test_build_filename (G_TEST_BUILT, "plugins", name, NULL);
}

/* A new engine over the given fixture folders, loaded. */
static MienPluginEngine *
engine_for_fixtures (const char *first,
                     ...)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) dirs = NULL;
  MienPluginEngine *engine;
  va_list args;

  va_start (args, first);
  for (const char *name = first; name != NULL; name = va_arg (args, const char *))
    {
      g_autofree char *dir = fixture_dir (name);

      g_strv_builder_add (builder, dir);
    }
  va_end (args);

  dirs = g_strv_builder_end (builder);
  engine = mien_plugin_engine_new ();
  mien_plugin_engine_set_search_path (engine, (const char * const *) dirs);
  mien_plugin_engine_load (engine);
  return engine;
}

static guint
count_errors (MienPluginEngine *engine)
{
  return g_strv_length ((char **) mien_plugin_engine_get_errors (engine));
}

/* The error line about `path` (a file or folder), or NULL. */
static const char *
find_error (MienPluginEngine *engine,
            const char       *path)
{
  const char * const *errors = mien_plugin_engine_get_errors (engine);

  for (guint i = 0; errors[i] != NULL; i++)
    if (g_str_has_prefix (errors[i], path))
      return errors[i];
  return NULL;
}

/* Checks the one error of a bad fixture: it names a file of `fixture` and says `reason`. */
static void
assert_fixture_error (MienPluginEngine *engine,
                      const char       *fixture,
                      const char       *file,
                      const char       *reason)
{
  g_autofree char *dir = fixture_dir (fixture);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autofree char *prefix = g_strconcat (path, ": ", NULL);
  const char *line = find_error (engine, prefix);

  if (line == NULL)
    {
      g_autofree char *all = g_strjoinv ("\n", (char **) mien_plugin_engine_get_errors (engine));

      g_test_message ("errors:\n%s", all);
    }
  g_assert_nonnull (line);
  g_assert_nonnull (strstr (line, reason));
}

/* The good fixture loaded beside the bad one: a broken plugin never hides the others. */
static void
assert_toy_loaded (MienPluginEngine *engine)
{
  const MienPluginInfo *info = mien_plugin_engine_find (engine, "toy");
  g_autofree char *toy_dir = fixture_dir ("toy");

  g_assert_nonnull (info);
  g_assert_true (g_str_has_prefix (info->module_path, toy_dir));
}

static void
test_engine_good (void)
{
  g_autoptr(MienPluginEngine) engine = engine_for_fixtures ("toy", NULL);
  g_autofree char *toy_dir = fixture_dir ("toy");
  g_autofree char *module_path = g_build_filename (toy_dir, "toy." G_MODULE_SUFFIX, NULL);
  GPtrArray *plugins = mien_plugin_engine_get_plugins (engine);
  const MienPluginInfo *info;

  g_assert_cmpuint (plugins->len, ==, 1);
  g_assert_cmpuint (count_errors (engine), ==, 0);

  info = g_ptr_array_index (plugins, 0);
  g_assert_true (info == mien_plugin_engine_find (engine, "toy"));
  g_assert_cmpstr (info->id, ==, "toy");
  g_assert_cmpstr (info->name, ==, "Toy");
  g_assert_cmpstr (info->description, ==,
                   "A test backbone: global average pooling and one linear layer");
  g_assert_cmpstr (info->kind, ==, "backbone");
  g_assert_cmpstr (info->module_path, ==, module_path);
  g_assert_true (g_type_is_a (info->type, MIEN_TYPE_BACKBONE));
  g_assert_cmpstr (g_type_name (info->type), ==, "MienToyBackbone");

  g_assert_null (mien_plugin_engine_find (engine, "resnet"));
}

static void
test_engine_load_once (void)
{
  g_autoptr(MienPluginEngine) engine = engine_for_fixtures ("toy", "corrupt", NULL);

  g_assert_cmpuint (mien_plugin_engine_get_plugins (engine)->len, ==, 1);
  g_assert_cmpuint (count_errors (engine), ==, 1);

  /* A second load neither reloads nor repeats the errors. */
  mien_plugin_engine_load (engine);
  g_assert_cmpuint (mien_plugin_engine_get_plugins (engine)->len, ==, 1);
  g_assert_cmpuint (count_errors (engine), ==, 1);
}

static void
test_engine_lazy_load (void)
{
  g_autoptr(MienPluginEngine) engine = mien_plugin_engine_new ();
  g_autofree char *toy_dir = fixture_dir ("toy");
  const char *dirs[] = { toy_dir, NULL };

  /* The accessors load on first use, as get_default () users would expect of any engine. */
  mien_plugin_engine_set_search_path (engine, dirs);
  g_assert_nonnull (mien_plugin_engine_find (engine, "toy"));
  g_assert_cmpstrv (mien_plugin_engine_get_search_path (engine), dirs);
}

static gpointer
load_in_thread (gpointer data)
{
  MienPluginEngine *engine = data;

  return GUINT_TO_POINTER (mien_plugin_engine_get_plugins (engine)->len);
}

static void
test_engine_threads (void)
{
  g_autoptr(MienPluginEngine) engine = mien_plugin_engine_new ();
  g_autofree char *toy_dir = fixture_dir ("toy");
  g_autofree char *corrupt_dir = fixture_dir ("corrupt");
  const char *dirs[] = { toy_dir, corrupt_dir, NULL };
  GThread *threads[8];

  mien_plugin_engine_set_search_path (engine, dirs);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("load", load_in_thread, engine);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_assert_cmpuint (GPOINTER_TO_UINT (g_thread_join (threads[i])), ==, 1);

  g_assert_cmpuint (count_errors (engine), ==, 1);
}

static void
test_engine_corrupt (void)
{
  g_autoptr(MienPluginEngine) engine = engine_for_fixtures ("corrupt", "toy", NULL);

  assert_fixture_error (engine, "corrupt", "corrupt." G_MODULE_SUFFIX, "cannot be opened");
  g_assert_null (mien_plugin_engine_find (engine, "corrupt"));
  assert_toy_loaded (engine);
}

static void
test_engine_wrong_abi (void)
{
  g_autoptr(MienPluginEngine) engine = engine_for_fixtures ("wrongabi", "toy", NULL);
  g_autofree char *reason = g_strdup_printf ("built for plugin ABI 0, this Mien needs ABI %d",
                                             MIEN_PLUGIN_ABI);

  /* Had the module been opened, it would have registered MienToyBackbone a second time, which
   * GLib reports as a (here fatal) warning: passing shows the key file was checked first. */
  assert_fixture_error (engine, "wrongabi", "wrongabi.plugin", reason);
  g_assert_null (mien_plugin_engine_find (engine, "wrongabi"));
  assert_toy_loaded (engine);
}

static void
test_engine_no_entry_point (void)
{
  g_autoptr(MienPluginEngine) engine = engine_for_fixtures ("noentry", "toy", NULL);

  assert_fixture_error (engine, "noentry", "noentry." G_MODULE_SUFFIX,
                        "exports no mien_plugin_query_type ()");
  g_assert_null (mien_plugin_engine_find (engine, "noentry"));
  assert_toy_loaded (engine);
}

static void
test_engine_not_backbone (void)
{
  g_autoptr(MienPluginEngine) engine = engine_for_fixtures ("notbackbone", "toy", NULL);

  assert_fixture_error (engine, "notbackbone", "notbackbone." G_MODULE_SUFFIX,
                        "type MienNotBackbone does not implement MienBackbone");
  g_assert_null (mien_plugin_engine_find (engine, "notbackbone"));
  assert_toy_loaded (engine);
}

static void
test_engine_not_face_detector (void)
{
  g_autoptr(MienPluginEngine) engine = engine_for_fixtures ("notdetector", "toy", NULL);
  g_autoptr(MienFaceDetector) detector = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *method = NULL;

  assert_fixture_error (engine, "notdetector", "notdetector." G_MODULE_SUFFIX,
                        "type MienNotDetector does not implement MienFaceDetector");
  g_assert_null (mien_plugin_engine_find (engine, "notdetector"));
  assert_toy_loaded (engine);

  /* Refused, it is not offered as a face detector; nor is a backbone, whatever its id. */
  detector = mien_plugin_engine_create_face_detector (engine, NULL, &method, &error);
  g_assert_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_NOT_FOUND);
  g_assert_null (detector);
  g_assert_null (method);
  g_clear_error (&error);

  detector = mien_plugin_engine_create_face_detector (engine, "toy:tiny", &method, &error);
  g_assert_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "“toy”"));
  g_assert_null (detector);
  g_clear_error (&error);

  detector = mien_plugin_engine_create_face_detector (engine, "notdetector", NULL, &error);
  g_assert_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_NOT_FOUND);
  g_assert_null (detector);
}

static void
test_engine_duplicate (void)
{
  g_autoptr(MienPluginEngine) engine = engine_for_fixtures ("toy", "duplicate", NULL);
  g_autofree char *toy_dir = fixture_dir ("toy");

  assert_fixture_error (engine, "duplicate", "toy.plugin", "plugin “toy” is already loaded from");
  assert_fixture_error (engine, "duplicate", "toy.plugin", toy_dir);
  g_assert_cmpuint (mien_plugin_engine_get_plugins (engine)->len, ==, 1);
  assert_toy_loaded (engine);
}

static void
test_engine_duplicate_first_wins (void)
{
  g_autoptr(MienPluginEngine) engine = NULL;
  g_autofree char *duplicate_dir = fixture_dir ("duplicate");
  const MienPluginInfo *info;

  /* In a process of its own: this process has already registered MienToyBackbone from the other
   * toy.so, and a second module cannot register it again. */
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  engine = engine_for_fixtures ("duplicate", "toy", NULL);
  info = mien_plugin_engine_find (engine, "toy");
  g_assert_nonnull (info);
  g_assert_true (g_str_has_prefix (info->module_path, duplicate_dir));
  g_assert_cmpstr (info->name, ==, "Toy (second copy)");
  assert_fixture_error (engine, "toy", "toy.plugin", "plugin “toy” is already loaded from");
}

static void
test_engine_no_module_key (void)
{
  g_autoptr(MienPluginEngine) engine = engine_for_fixtures ("nomodule", "toy", NULL);

  assert_fixture_error (engine, "nomodule", "nomodule.plugin", "no Module= key");
  assert_toy_loaded (engine);
}

static void
test_engine_all_bad_together (void)
{
  g_autoptr(MienPluginEngine) engine = engine_for_fixtures ("corrupt", "wrongabi", "noentry",
                                                            "notbackbone", "nomodule", "toy",
                                                            "duplicate", NULL);

  g_assert_cmpuint (mien_plugin_engine_get_plugins (engine)->len, ==, 1);
  g_assert_cmpuint (count_errors (engine), ==, 6);
  assert_toy_loaded (engine);
}

static void
test_engine_same_folder_twice (void)
{
  g_autofree char *toy_dir = fixture_dir ("toy");
  g_autofree char *toy_dir_again = g_build_filename (toy_dir, "..", "toy", NULL);
  const char *dirs[] = { toy_dir, toy_dir_again, toy_dir, NULL };
  g_autoptr(MienPluginEngine) engine = mien_plugin_engine_new ();

  /* MIEN_PLUGIN_PATH=build/plugins from a program in the build tree names the folder twice; that
   * is not a duplicate plugin. */
  mien_plugin_engine_set_search_path (engine, dirs);
  g_assert_cmpuint (mien_plugin_engine_get_plugins (engine)->len, ==, 1);
  g_assert_cmpuint (count_errors (engine), ==, 0);
}

static void
test_engine_missing_folder (void)
{
  g_autoptr(MienPluginEngine) engine = engine_for_fixtures ("no-such-folder", "toy", NULL);

  /* An absent folder is normal: the install folder of an uninstalled build, say. */
  g_assert_cmpuint (count_errors (engine), ==, 0);
  assert_toy_loaded (engine);
}

typedef struct {
  const char *file;      /* written into a fresh folder */
  const char *contents;  /* @ABI@ becomes MIEN_PLUGIN_ABI */
  const char *reason;
} KeyFileCase;

static void
test_engine_key_file_problems (void)
{
  const KeyFileCase cases[] = {
    { "missing.plugin", "[Plugin]\nModule=missing\nX-Mien-Abi=@ABI@\n",
      "its module" },
    { "kind.plugin", "[Plugin]\nModule=kind\nX-Mien-Abi=@ABI@\nX-Mien-Kind=tokenizer\n",
      "unknown plugin kind “tokenizer”" },
    { "badid.plugin", "[Plugin]\nModule=../../tmp/evil\nX-Mien-Abi=@ABI@\n",
      "is not a valid plugin id" },
    { "noabi.plugin", "[Plugin]\nModule=noabi\n",
      "no X-Mien-Abi= key" },
    { "textabi.plugin", "[Plugin]\nModule=textabi\nX-Mien-Abi=one\n",
      "X-Mien-Abi has to be an integer" },
    /* Beyond int: refused, not wrapped around to some other ABI. */
    { "hugeabi.plugin", "[Plugin]\nModule=hugeabi\nX-Mien-Abi=4294967297\n",
      "X-Mien-Abi has to be an integer" },
    { "emptyid.plugin", "[Plugin]\nModule=\nX-Mien-Abi=@ABI@\n",
      "no Module= key" },
    { "nogroup.plugin", "[Something]\nModule=nogroup\nX-Mien-Abi=@ABI@\n",
      "no [Plugin] group" },
    { "syntax.plugin", "this is not a key file\n",
      "" },
    /* GLib 2.74 would set its GError twice (a fatal warning) for the first one, and give the
     * others as missing keys: each is refused with the key named. */
    { "escapes.plugin", "[Plugin]\nModule=escapes\nX-Mien-Abi=@ABI@\nName=a\\q\\\n",
      "the value of Name= holds an invalid escape sequence “\\q”" },
    { "backslash.plugin", "[Plugin]\nModule=backslash\nX-Mien-Abi=@ABI@\nDescription=a\\\n",
      "the value of Description= ends with an escape character" },
    { "escapeid.plugin", "[Plugin]\nModule=a\\;b\nX-Mien-Abi=@ABI@\n",
      "the value of Module= holds an invalid escape sequence “\\;”" },
    { "utf8.plugin", "[Plugin]\nModule=utf8\nX-Mien-Abi=@ABI@\nX-Mien-Kind=\xff\n",
      "the value of X-Mien-Kind= is not UTF-8" },
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("mien-test-plugins-XXXXXX", &error);
  g_autofree char *abi = g_strdup_printf ("%d", MIEN_PLUGIN_ABI);
  g_autofree char *toy_dir = fixture_dir ("toy");
  const char *dirs[] = { tmp, toy_dir, NULL };
  g_autoptr(MienPluginEngine) engine = mien_plugin_engine_new ();

  g_assert_no_error (error);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_build_filename (tmp, cases[i].file, NULL);
      g_autoptr(GString) contents = g_string_new (cases[i].contents);

      g_string_replace (contents, "@ABI@", abi, 0);
      g_file_set_contents (path, contents->str, -1, &error);
      g_assert_no_error (error);
    }

  mien_plugin_engine_set_search_path (engine, dirs);
  mien_plugin_engine_load (engine);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_build_filename (tmp, cases[i].file, NULL);
      g_autofree char *prefix = g_strconcat (path, ": ", NULL);
      const char *line = find_error (engine, prefix);

      g_test_message ("%s → %s", cases[i].file, line);
      g_assert_nonnull (line);
      g_assert_nonnull (strstr (line, cases[i].reason));
    }
  g_assert_cmpuint (count_errors (engine), ==, G_N_ELEMENTS (cases));
  g_assert_cmpuint (mien_plugin_engine_get_plugins (engine)->len, ==, 1);
  assert_toy_loaded (engine);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_build_filename (tmp, cases[i].file, NULL);

      g_unlink (path);
    }
  g_rmdir (tmp);
}

static void
test_engine_default_search_path (void)
{
  g_autofree char *saved = g_strdup (g_getenv ("MIEN_PLUGIN_PATH"));
  g_autoptr(MienPluginEngine) engine = NULL;
  const char * const *path;
  guint n;

  /* In a process of its own, so that changing the environment races with no thread. */
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  g_setenv ("MIEN_PLUGIN_PATH", "/first" G_SEARCHPATH_SEPARATOR_S G_SEARCHPATH_SEPARATOR_S
            "/second", TRUE);
  engine = mien_plugin_engine_new ();
  if (saved != NULL)
    g_setenv ("MIEN_PLUGIN_PATH", saved, TRUE);
  else
    g_unsetenv ("MIEN_PLUGIN_PATH");

  /* The environment first (empty entries dropped), then the build tree since this test runs from
   * it, then the install folder. */
  path = mien_plugin_engine_get_search_path (engine);
  n = g_strv_length ((char **) path);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpstr (path[0], ==, "/first");
  g_assert_cmpstr (path[1], ==, "/second");
  g_assert_cmpstr (path[2], ==, MIEN_BUILD_PLUGINDIR);
  g_assert_cmpstr (path[3], ==, MIEN_PLUGINDIR);
}

static void
test_engine_create_backbone (void)
{
  g_autoptr(MienPluginEngine) engine = engine_for_fixtures ("toy", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MienBackbone) plain = NULL;
  g_autoptr(MienBackbone) wide = NULL;
  g_autoptr(MienBackbone) trailing = NULL;
  MienBackbone *none;
  g_autofree char *variant = NULL;
  g_autofree char *no_variant = NULL;

  plain = mien_plugin_engine_create_backbone (engine, "toy", &no_variant, &error);
  g_assert_no_error (error);
  g_assert_nonnull (plain);
  g_assert_null (no_variant);
  g_assert_cmpstr (G_OBJECT_TYPE_NAME (plain), ==, "MienToyBackbone");

  wide = mien_plugin_engine_create_backbone (engine, "toy:wide", &variant, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (variant, ==, "wide");
  /* A fresh instance each time. */
  g_assert_true (wide != plain);

  trailing = mien_plugin_engine_create_backbone (engine, "toy:", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (trailing);

  none = mien_plugin_engine_create_backbone (engine, "toy:huge", NULL, &error);
  g_assert_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_UNKNOWN_VARIANT);
  g_assert_nonnull (strstr (error->message, "tiny, wide"));
  g_assert_null (none);
  g_clear_error (&error);

  none = mien_plugin_engine_create_backbone (engine, "resnet:50", NULL, &error);
  g_assert_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "“resnet”"));
  g_assert_nonnull (strstr (error->message, "toy"));
  g_assert_null (none);
}

/* ---- The MienBackbone wrappers, through the toy plugin ------------------------------- */

static MienBackbone *
new_toy (void)
{
  g_autoptr(MienPluginEngine) engine = engine_for_fixtures ("toy", NULL);
  g_autoptr(GError) error = NULL;
  MienBackbone *backbone;

  backbone = mien_plugin_engine_create_backbone (engine, "toy", NULL, &error);
  g_assert_no_error (error);
  /* The type outlives the engine: its module is resident. */
  return backbone;
}

static MienTensor *
new_images (gint64 n,
            gint64 channels,
            gint64 size)
{
  const gint64 shape[] = { n, channels, size, size };
  g_autoptr(GError) error = NULL;
  MienTensor *images;

  images = mien_tensor_new_rand (shape, 4, MIEN_DTYPE_FLOAT32, mien_device_cpu (), &error);
  g_assert_no_error (error);
  return images;
}

static void
test_backbone_variants (void)
{
  g_autoptr(MienBackbone) backbone = new_toy ();
  const MienBackboneVariant *variants;
  guint n;

  variants = mien_backbone_list_variants (backbone, &n);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpstr (variants[0].name, ==, "tiny");

  g_assert_true (mien_backbone_find_variant (backbone, NULL) == &variants[0]);
  g_assert_true (mien_backbone_find_variant (backbone, "") == &variants[0]);
  g_assert_true (mien_backbone_find_variant (backbone, "wide") == &variants[1]);
  g_assert_null (mien_backbone_find_variant (backbone, "huge"));

  /* Nothing is chosen before build. */
  g_assert_null (mien_backbone_get_variant (backbone));
  g_assert_cmpint (mien_backbone_get_input_size (backbone), ==, 0);
  g_assert_cmpint (mien_backbone_get_feature_dim (backbone), ==, 0);
}

static void
test_backbone_build_errors (void)
{
  g_autoptr(MienBackbone) backbone = new_toy ();
  g_autoptr(MienVarStore) vs = mien_var_store_new (mien_device_cpu ());
  g_autoptr(GError) error = NULL;

  g_assert_false (mien_backbone_build (backbone, "huge", 0, vs, "", &error));
  g_assert_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_UNKNOWN_VARIANT);
  g_assert_nonnull (strstr (error->message, "“huge”"));
  g_assert_nonnull (strstr (error->message, "tiny, wide"));
  g_clear_error (&error);

  g_assert_false (mien_backbone_build (backbone, "tiny", 2, vs, "", &error));
  g_assert_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_INPUT);
  g_assert_nonnull (strstr (error->message, "smallest is 4"));
  g_clear_error (&error);

  g_assert_false (mien_backbone_build (backbone, "tiny", 10, vs, "", &error));
  g_assert_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_INPUT);
  g_assert_nonnull (strstr (error->message, "multiple of 4"));
  g_clear_error (&error);

  /* Refused builds leave nothing behind, so the instance can still be built. */
  g_assert_cmpuint (mien_var_store_get_n_vars (vs), ==, 0);
  g_assert_null (mien_backbone_get_variant (backbone));
  g_assert_true (mien_backbone_build (backbone, "tiny", 12, vs, "", &error));
  g_assert_no_error (error);
  g_assert_cmpint (mien_backbone_get_input_size (backbone), ==, 12);
}

static void
test_backbone_build_forward (void)
{
  g_autoptr(MienBackbone) backbone = new_toy ();
  g_autoptr(MienVarStore) vs = mien_var_store_new (mien_device_cpu ());
  g_autoptr(MienVarStore) vs2 = mien_var_store_new (mien_device_cpu ());
  g_autoptr(MienTensor) good = new_images (2, 3, 16);
  g_autoptr(MienTensor) grey = new_images (2, 1, 16);
  g_autoptr(MienTensor) small = new_images (2, 3, 8);
  g_autoptr(MienTensor) features = NULL;
  g_autoptr(MienTensor) refused = NULL;
  g_autoptr(GError) error = NULL;
  gint64 shape[4];

  refused = mien_backbone_forward (backbone, good, FALSE, &error);
  g_assert_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_NOT_BUILT);
  g_assert_null (refused);
  g_clear_error (&error);

  /* 0 = the variant's preferred size. */
  g_assert_true (mien_backbone_build (backbone, "wide", 0, vs, "backbone.", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (mien_backbone_get_variant (backbone)->name, ==, "wide");
  g_assert_cmpint (mien_backbone_get_input_size (backbone), ==, 16);
  g_assert_cmpint (mien_backbone_get_feature_dim (backbone), ==, 8);
  g_assert_true (mien_var_store_contains (vs, "backbone.proj.weight"));
  g_assert_true (mien_var_store_contains (vs, "backbone.proj.bias"));
  g_assert_cmpint (mien_var_store_count_parameters (vs, FALSE), ==, 32);

  g_assert_false (mien_backbone_build (backbone, "wide", 0, vs2, "", &error));
  g_assert_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_ALREADY_BUILT);
  g_assert_cmpuint (mien_var_store_get_n_vars (vs2), ==, 0);
  g_clear_error (&error);

  refused = mien_backbone_forward (backbone, grey, FALSE, &error);
  g_assert_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_INPUT);
  g_assert_cmpstr (error->message, ==,
                   "expected images of 3×16×16, got float32[2, 1, 16, 16] cpu");
  g_assert_null (refused);
  g_clear_error (&error);

  refused = mien_backbone_forward (backbone, small, FALSE, &error);
  g_assert_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_INPUT);
  g_assert_nonnull (strstr (error->message, "float32[2, 3, 8, 8]"));
  g_assert_null (refused);
  g_clear_error (&error);

  features = mien_backbone_forward (backbone, good, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mien_tensor_shape (features, shape, G_N_ELEMENTS (shape)), ==, 2);
  g_assert_cmpint (shape[0], ==, 2);
  g_assert_cmpint (shape[1], ==, 8);
}

static void
test_backbone_count_parameters (void)
{
  g_autoptr(MienBackbone) backbone = new_toy ();
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (mien_backbone_count_parameters (backbone, NULL, &error), ==, 16);
  g_assert_no_error (error);
  g_assert_cmpint (mien_backbone_count_parameters (backbone, "wide", &error), ==, 32);
  g_assert_no_error (error);

  g_assert_cmpint (mien_backbone_count_parameters (backbone, "huge", &error), ==, -1);
  g_assert_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_UNKNOWN_VARIANT);
  g_clear_error (&error);

  /* Counting builds another instance: this one stays unbuilt. */
  g_assert_null (mien_backbone_get_variant (backbone));
}

static void
test_backbone_key_map (void)
{
  g_autoptr(MienBackbone) backbone = new_toy ();
  g_autofree char *weight = mien_backbone_key_map_func ("proj_w", backbone);
  g_autofree char *other = mien_backbone_key_map_func ("proj.bias", backbone);
  g_autofree char *bias = mien_backbone_map_timm_key (backbone, "proj_b");

  g_assert_cmpstr (weight, ==, "proj.weight");
  g_assert_null (other);
  g_assert_cmpstr (bias, ==, "proj.bias");
}

/* ---- The real plugins, from MIEN_PLUGIN_PATH as the test environment sets it ----------- */

static void
test_default_engine_families (void)
{
  const char *families[] = { "efficientnet", "googlenet", "resnet", "vit" };
  MienPluginEngine *engine = mien_plugin_engine_get_default ();
  const char * const *errors = mien_plugin_engine_get_errors (engine);

  g_assert_true (engine == mien_plugin_engine_get_default ());

  for (guint i = 0; errors[i] != NULL; i++)
    g_test_message ("plugin error: %s", errors[i]);
  g_assert_cmpuint (count_errors (engine), ==, 0);

  for (gsize i = 0; i < G_N_ELEMENTS (families); i++)
    {
      const MienPluginInfo *info = mien_plugin_engine_find (engine, families[i]);
      g_autoptr(MienBackbone) backbone = NULL;
      g_autoptr(GError) error = NULL;
      const MienBackboneVariant *variants;
      guint n;

      g_test_message ("family %s", families[i]);
      g_assert_nonnull (info);
      g_assert_cmpstr (info->kind, ==, "backbone");
      g_assert_true (g_str_has_prefix (info->module_path, MIEN_BUILD_PLUGINDIR "/"));

      backbone = mien_plugin_engine_create_backbone (engine, families[i], NULL, &error);
      g_assert_no_error (error);
      variants = mien_backbone_list_variants (backbone, &n);
      g_assert_cmpuint (n, >, 0);

      for (guint j = 0; j < n; j++)
        {
          gint64 count;

          g_assert_nonnull (variants[j].name);
          g_assert_nonnull (variants[j].description);
          g_assert_cmpint (variants[j].feature_dim, >, 0);
          g_assert_cmpint (variants[j].input_size, >=, variants[j].min_input_size);
          g_assert_cmpint (variants[j].size_multiple, >=, 1);
          g_assert_cmpint (variants[j].input_size % variants[j].size_multiple, ==, 0);

          /* On the meta device: even ViT-B costs nothing to count. */
          count = mien_backbone_count_parameters (backbone, variants[j].name, &error);
          g_assert_no_error (error);
          g_assert_cmpint (count, >, 100000);
        }
    }
}

/* ---- mien-cli ------------------------------------------------------------------------- */

typedef struct {
  int   status;  /* exit code */
  char *out;
  char *err;
} CliResult;

static void
cli_result_clear (CliResult *result)
{
  g_clear_pointer (&result->out, g_free);
  g_clear_pointer (&result->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliResult, cli_result_clear)

/* Runs mien-cli with `args`; `plugin_path` replaces MIEN_PLUGIN_PATH when not NULL. */
static void
run_cli (CliResult          *result,
         const char         *plugin_path,
         const char * const *args)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;
  g_auto(GStrv) envp = g_get_environ ();
  g_autoptr(GError) error = NULL;
  int wait_status;

  if (!g_file_test (MIEN_CLI_PATH, G_FILE_TEST_IS_EXECUTABLE))
    g_error ("%s is not built", MIEN_CLI_PATH);

  g_strv_builder_add (builder, MIEN_CLI_PATH);
  g_strv_builder_addv (builder, (const char **) args);
  argv = g_strv_builder_end (builder);

  if (plugin_path != NULL)
    envp = g_environ_setenv (envp, "MIEN_PLUGIN_PATH", plugin_path, TRUE);
  /* Untranslated, so that the messages can be compared. */
  envp = g_environ_setenv (envp, "LC_ALL", "C.UTF-8", TRUE);

  g_spawn_sync (NULL, argv, envp, G_SPAWN_DEFAULT, NULL, NULL,
                &result->out, &result->err, &wait_status, &error);
  g_assert_no_error (error);

  g_test_message ("mien-cli stderr:\n%s", result->err);
  if (g_spawn_check_wait_status (wait_status, &error))
    result->status = 0;
  else if (error->domain == G_SPAWN_EXIT_ERROR)
    result->status = error->code;
  else
    g_error ("mien-cli did not exit normally: %s", error->message);
}

static guint
count_lines (const char *text)
{
  guint n = 0;

  for (const char *p = text; *p != '\0'; p++)
    if (*p == '\n')
      n++;
  return n;
}

static JsonObject *
parse_object (JsonParser *parser,
              const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_node_get_object (root);
}

static JsonObject *
find_plugin (JsonArray  *plugins,
             const char *id)
{
  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *plugin = json_array_get_object_element (plugins, i);

      if (g_strcmp0 (json_object_get_string_member (plugin, "id"), id) == 0)
        return plugin;
    }
  return NULL;
}

static void
test_cli_plugins_json (void)
{
  const char *families[] = { "efficientnet", "googlenet", "resnet", "vit" };
  const char *args[] = { "plugins", "--json", NULL };
  g_auto(CliResult) result = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root;
  JsonArray *plugins;

  run_cli (&result, NULL, args);
  g_assert_cmpint (result.status, ==, 0);

  root = parse_object (parser, result.out);
  plugins = json_object_get_array_member (root, "plugins");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "errors")), ==, 0);
  g_assert_cmpstr (result.err, ==, "");

  for (gsize i = 0; i < G_N_ELEMENTS (families); i++)
    {
      JsonObject *plugin = find_plugin (plugins, families[i]);
      JsonArray *variants;

      g_test_message ("family %s", families[i]);
      g_assert_nonnull (plugin);
      g_assert_true (g_str_has_prefix (json_object_get_string_member (plugin, "path"),
                                       MIEN_BUILD_PLUGINDIR "/"));
      variants = json_object_get_array_member (plugin, "variants");
      g_assert_cmpuint (json_array_get_length (variants), >, 0);

      for (guint j = 0; j < json_array_get_length (variants); j++)
        {
          JsonObject *variant = json_array_get_object_element (variants, j);

          g_assert_cmpint (json_object_get_int_member (variant, "parameters"), >, 100000);
          g_assert_cmpint (json_object_get_int_member (variant, "feature_dim"), >, 0);
          g_assert_cmpint (json_object_get_int_member (variant, "input_size"), >, 0);
        }
    }
}

static void
test_cli_plugins_fixtures (void)
{
  const char *args[] = { "plugins", "--json", NULL };
  g_autofree char *toy_dir = fixture_dir ("toy");
  g_autofree char *corrupt_dir = fixture_dir ("corrupt");
  g_autofree char *plugin_path = g_strjoin (G_SEARCHPATH_SEPARATOR_S, toy_dir, corrupt_dir, NULL);
  g_auto(CliResult) result = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root, *toy, *tiny, *wide;
  JsonArray *errors, *variants;

  run_cli (&result, plugin_path, args);
  g_assert_cmpint (result.status, ==, 0);

  root = parse_object (parser, result.out);
  toy = find_plugin (json_object_get_array_member (root, "plugins"), "toy");
  g_assert_nonnull (toy);
  g_assert_cmpstr (json_object_get_string_member (toy, "name"), ==, "Toy");
  g_assert_cmpstr (json_object_get_string_member (toy, "description"), ==,
                   "A test backbone: global average pooling and one linear layer");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (toy, "path"), toy_dir));

  variants = json_object_get_array_member (toy, "variants");
  g_assert_cmpuint (json_array_get_length (variants), ==, 2);
  tiny = json_array_get_object_element (variants, 0);
  wide = json_array_get_object_element (variants, 1);
  g_assert_cmpstr (json_object_get_string_member (tiny, "name"), ==, "tiny");
  g_assert_cmpstr (json_object_get_string_member (tiny, "description"), ==, "Toy, 16 parameters");
  g_assert_cmpint (json_object_get_int_member (tiny, "feature_dim"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (tiny, "input_size"), ==, 8);
  g_assert_cmpint (json_object_get_int_member (tiny, "parameters"), ==, 16);
  g_assert_cmpint (json_object_get_int_member (wide, "parameters"), ==, 32);

  /* The corrupt fixture: in the document, and as one warning line on stderr. */
  errors = json_object_get_array_member (root, "errors");
  g_assert_cmpuint (json_array_get_length (errors), >=, 1);
  g_assert_true (g_str_has_prefix (json_array_get_string_element (errors, 0), corrupt_dir));
  g_assert_true (g_str_has_prefix (result.err, "mien-cli: warning: "));
  g_assert_nonnull (strstr (result.err, corrupt_dir));
}

static void
test_cli_plugins_table (void)
{
  const char *args[] = { "plugins", NULL };
  g_autofree char *toy_dir = fixture_dir ("toy");
  g_auto(CliResult) result = { 0 };

  run_cli (&result, toy_dir, args);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_nonnull (strstr (result.out, "toy — Toy\n"));
  g_assert_nonnull (strstr (result.out, "A test backbone"));
  g_assert_nonnull (strstr (result.out, "toy:tiny"));
  g_assert_nonnull (strstr (result.out, "toy:wide"));
  g_assert_nonnull (strstr (result.out, "Toy, 32 parameters"));
}

static void
test_cli_unknown_command (void)
{
  const char *args[] = { "frobnicate", NULL };
  g_auto(CliResult) result = { 0 };

  run_cli (&result, NULL, args);
  g_assert_cmpint (result.status, ==, 2);
  g_assert_cmpstr (result.out, ==, "");
  g_assert_cmpuint (count_lines (result.err), ==, 1);
  g_assert_nonnull (strstr (result.err, "frobnicate"));
}

static void
test_cli_usage_errors (void)
{
  const char *extra[] = { "plugins", "extra", NULL };
  const char *option[] = { "plugins", "--frobnicate", NULL };
  const char *none[] = { NULL };
  g_auto(CliResult) r1 = { 0 };
  g_auto(CliResult) r2 = { 0 };
  g_auto(CliResult) r3 = { 0 };

  run_cli (&r1, NULL, extra);
  g_assert_cmpint (r1.status, ==, 2);
  g_assert_cmpuint (count_lines (r1.err), ==, 1);

  run_cli (&r2, NULL, option);
  g_assert_cmpint (r2.status, ==, 2);
  g_assert_cmpuint (count_lines (r2.err), ==, 1);
  g_assert_nonnull (strstr (r2.err, "--frobnicate"));

  run_cli (&r3, NULL, none);
  g_assert_cmpint (r3.status, ==, 2);
  g_assert_nonnull (strstr (r3.err, "plugins"));
}

static void
test_cli_version_help (void)
{
  const char *version[] = { "--version", NULL };
  const char *help[] = { "help", NULL };
  const char *help_plugins[] = { "help", "plugins", NULL };
  g_auto(CliResult) r1 = { 0 };
  g_auto(CliResult) r2 = { 0 };
  g_auto(CliResult) r3 = { 0 };

  run_cli (&r1, NULL, version);
  g_assert_cmpint (r1.status, ==, 0);
  g_assert_true (g_str_has_prefix (r1.out, "mien-cli " PACKAGE_VERSION));

  run_cli (&r2, NULL, help);
  g_assert_cmpint (r2.status, ==, 0);
  g_assert_nonnull (strstr (r2.out, "plugins"));

  run_cli (&r3, NULL, help_plugins);
  g_assert_cmpint (r3.status, ==, 0);
  g_assert_nonnull (strstr (r3.out, "--json"));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  mien_init ();

  g_test_add_func ("/plugins/engine/good", test_engine_good);
  g_test_add_func ("/plugins/engine/load-once", test_engine_load_once);
  g_test_add_func ("/plugins/engine/lazy-load", test_engine_lazy_load);
  g_test_add_func ("/plugins/engine/threads", test_engine_threads);
  g_test_add_func ("/plugins/engine/corrupt", test_engine_corrupt);
  g_test_add_func ("/plugins/engine/wrong-abi", test_engine_wrong_abi);
  g_test_add_func ("/plugins/engine/no-entry-point", test_engine_no_entry_point);
  g_test_add_func ("/plugins/engine/not-backbone", test_engine_not_backbone);
  g_test_add_func ("/plugins/engine/not-face-detector", test_engine_not_face_detector);
  g_test_add_func ("/plugins/engine/duplicate", test_engine_duplicate);
  g_test_add_func ("/plugins/engine/duplicate-first-wins", test_engine_duplicate_first_wins);
  g_test_add_func ("/plugins/engine/no-module-key", test_engine_no_module_key);
  g_test_add_func ("/plugins/engine/all-bad-together", test_engine_all_bad_together);
  g_test_add_func ("/plugins/engine/same-folder-twice", test_engine_same_folder_twice);
  g_test_add_func ("/plugins/engine/missing-folder", test_engine_missing_folder);
  g_test_add_func ("/plugins/engine/key-file-problems", test_engine_key_file_problems);
  g_test_add_func ("/plugins/engine/default-search-path", test_engine_default_search_path);
  g_test_add_func ("/plugins/engine/create-backbone", test_engine_create_backbone);
  g_test_add_func ("/plugins/backbone/variants", test_backbone_variants);
  g_test_add_func ("/plugins/backbone/build-errors", test_backbone_build_errors);
  g_test_add_func ("/plugins/backbone/build-forward", test_backbone_build_forward);
  g_test_add_func ("/plugins/backbone/count-parameters", test_backbone_count_parameters);
  g_test_add_func ("/plugins/backbone/key-map", test_backbone_key_map);
  g_test_add_func ("/plugins/default/families", test_default_engine_families);
  g_test_add_func ("/plugins/cli/plugins-json", test_cli_plugins_json);
  g_test_add_func ("/plugins/cli/plugins-fixtures", test_cli_plugins_fixtures);
  g_test_add_func ("/plugins/cli/plugins-table", test_cli_plugins_table);
  g_test_add_func ("/plugins/cli/unknown-command", test_cli_unknown_command);
  g_test_add_func ("/plugins/cli/usage-errors", test_cli_usage_errors);
  g_test_add_func ("/plugins/cli/version-help", test_cli_version_help);

  return g_test_run ();
}
