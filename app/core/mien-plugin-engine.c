/* mien-plugin-engine.c — finds, checks and loads plugin modules.
 *
 * Modelled on gnome-software's plugin loader: the key file is read and checked before anything
 * is dlopen()ed, so a plugin built for another ABI never gets to run code in our process; a module
 * that opens is made resident, because its GType stays registered for the life of the process and
 * the type system keeps pointers into it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <gmodule.h>

#include "mien-core.h"
#include "mien-plugin-engine-private.h"

#define PLUGIN_GROUP "Plugin"
#define KIND_BACKBONE "backbone"
#define KIND_FACE_DETECTOR "face-detector"

struct _MienPluginEngine
{
  GObject     parent_instance;

  /* Guards loading (and the search path before it); once `loaded` is set, the lists below never
   * change again, so readers need no lock. */
  GMutex      lock;
  char      **search_path;
  gboolean    loaded;

  GPtrArray  *plugins;  /* MienPluginInfo *, sorted by id once loaded */
  GHashTable *by_id;    /* id → MienPluginInfo * (borrowed from `plugins`) */
  GHashTable *by_type;  /* GType → MienPluginInfo * (borrowed) */
  GPtrArray  *errors;   /* char *, kept NULL-terminated for get_errors () */
};

G_DEFINE_TYPE (MienPluginEngine, mien_plugin_engine, G_TYPE_OBJECT)

G_DEFINE_QUARK (mien-plugin-error-quark, mien_plugin_error)

void
mien_plugin_info_free (MienPluginInfo *info)
{
  g_free (info->id);
  g_free (info->name);
  g_free (info->description);
  g_free (info->kind);
  g_free (info->module_path);
  g_free (info);
}

/* Whether the running program lives in this build's tree (tests, `meson devenv`, ./app/cli/...):
 * only then are the freshly built plugins preferred over whatever is installed. */
static gboolean
running_from_build_tree (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *root_slash = NULL;
  char *real_root;

  if (exe == NULL)
    return FALSE;
  if (g_str_has_prefix (exe, MIEN_BUILD_ROOT "/"))
    return TRUE;

  /* /proc/self/exe is fully resolved; the build root meson recorded may go through a symlink. */
  real_root = realpath (MIEN_BUILD_ROOT, NULL);
  if (real_root == NULL)
    return FALSE;
  root_slash = g_strconcat (real_root, "/", NULL);
  free (real_root);

  return g_str_has_prefix (exe, root_slash);
}

static char **
default_search_path (void)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  const char *env = g_getenv ("MIEN_PLUGIN_PATH");

  if (env != NULL)
    {
      g_auto(GStrv) dirs = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);

      for (guint i = 0; dirs[i] != NULL; i++)
        if (dirs[i][0] != '\0')
          g_strv_builder_add (builder, dirs[i]);
    }

  if (running_from_build_tree ())
    g_strv_builder_add (builder, MIEN_BUILD_PLUGINDIR);
  else
    {
      /* The installed tree the program runs from, wherever it was moved. */
      g_autofree char *installed = mien_installed_dir (MIEN_PLUGINDIR, MIEN_PLUGINDIR_FROM_BINDIR);

      if (!g_str_equal (installed, MIEN_PLUGINDIR))
        g_strv_builder_add (builder, installed);
    }

  g_strv_builder_add (builder, MIEN_PLUGINDIR);

  return g_strv_builder_end (builder);
}

static void
mien_plugin_engine_finalize (GObject *object)
{
  MienPluginEngine *self = MIEN_PLUGIN_ENGINE (object);

  g_clear_pointer (&self->search_path, g_strfreev);
  g_clear_pointer (&self->by_id, g_hash_table_unref);
  g_clear_pointer (&self->by_type, g_hash_table_unref);
  g_clear_pointer (&self->plugins, g_ptr_array_unref);
  g_clear_pointer (&self->errors, g_ptr_array_unref);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (mien_plugin_engine_parent_class)->finalize (object);
}

static void
mien_plugin_engine_class_init (MienPluginEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mien_plugin_engine_finalize;
}

static void
mien_plugin_engine_init (MienPluginEngine *self)
{
  g_mutex_init (&self->lock);
  self->search_path = default_search_path ();
  self->plugins = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_plugin_info_free);
  self->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->by_type = g_hash_table_new (g_direct_hash, g_direct_equal);
  self->errors = g_ptr_array_new_null_terminated (0, g_free, TRUE);
}

MienPluginEngine *
mien_plugin_engine_new (void)
{
  return g_object_new (MIEN_TYPE_PLUGIN_ENGINE, NULL);
}

MienPluginEngine *
mien_plugin_engine_get_default (void)
{
  static MienPluginEngine *default_engine = NULL;

  if (g_once_init_enter (&default_engine))
    {
      MienPluginEngine *engine = mien_plugin_engine_new ();

      mien_plugin_engine_load (engine);
      g_once_init_leave (&default_engine, engine);
    }

  return default_engine;
}

void
mien_plugin_engine_set_search_path (MienPluginEngine   *self,
                                    const char * const *dirs)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_if_fail (MIEN_IS_PLUGIN_ENGINE (self));

  locker = g_mutex_locker_new (&self->lock);

  /* The loaded plugins came from the old path; pretending otherwise would mislead the caller. */
  g_return_if_fail (!self->loaded);

  g_strfreev (self->search_path);
  self->search_path = g_strdupv ((char **) (dirs != NULL ? dirs : (const char * const []) { NULL }));
}

const char * const *
mien_plugin_engine_get_search_path (MienPluginEngine *self)
{
  g_return_val_if_fail (MIEN_IS_PLUGIN_ENGINE (self), NULL);

  return (const char * const *) self->search_path;
}

static void
add_error (MienPluginEngine *self,
           const GError     *error)
{
  /* g_debug and not g_warning: a broken plugin is the user's to fix, reported by front ends from
   * get_errors (); it must not abort test programs running with fatal warnings. */
  g_debug ("Plugin skipped: %s", error->message);
  g_ptr_array_add (self->errors, g_strdup (error->message));
}

static gboolean
is_valid_id (const char *id)
{
  if (id == NULL || id[0] == '\0')
    return FALSE;

  for (const char *p = id; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;

  return TRUE;
}

/* dlerror () usually starts with the file name, which our messages already lead with. */
static const char *
strip_path_prefix (const char *message,
                   const char *path)
{
  gsize len = strlen (path);

  if (message == NULL)
    return _("unknown error");
  if (strncmp (message, path, len) == 0 && message[len] == ':')
    {
      message += len + 1;
      while (*message == ' ')
        message++;
    }
  return message;
}

/* The interface a plugin of `kind` must implement; G_TYPE_INVALID for an unknown kind. */
static GType
kind_interface (const char *kind)
{
  if (g_str_equal (kind, KIND_BACKBONE))
    return MIEN_TYPE_BACKBONE;
  if (g_str_equal (kind, KIND_FACE_DETECTOR))
    return MIEN_TYPE_FACE_DETECTOR;
  return G_TYPE_INVALID;
}

/* Reads `key` of the [Plugin] group as a string: `*out` is NULL when the key is absent.
 *
 * The raw value is unescaped here with g_key_file_get_string ()'s rules (\s \n \t \r \\)
 * because GLib 2.74 sets its GError twice for an invalid escape followed by a trailing backslash
 * (“Name=a\q\”), a warning that aborts programs running with fatal warnings; and because GLib's
 * locale lookup drops such errors, so a broken value would pass for a missing one. */
static gboolean
get_string (GKeyFile    *key_file,
            const char  *path,
            const char  *key,
            char       **out,
            GError     **error)
{
  g_autofree char *raw = g_key_file_get_value (key_file, PLUGIN_GROUP, key, NULL);
  g_autoptr(GString) value = NULL;

  *out = NULL;
  if (raw == NULL)
    return TRUE;
  if (!g_utf8_validate (raw, -1, NULL))
    {
      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_KEY_FILE,
                   _("%s: the value of %s= is not UTF-8"), path, key);
      return FALSE;
    }

  value = g_string_sized_new (strlen (raw));
  for (const char *p = raw; *p != '\0'; p++)
    {
      if (*p != '\\')
        {
          g_string_append_c (value, *p);
          continue;
        }
      switch (*++p)
        {
        case 's':
          g_string_append_c (value, ' ');
          break;
        case 'n':
          g_string_append_c (value, '\n');
          break;
        case 't':
          g_string_append_c (value, '\t');
          break;
        case 'r':
          g_string_append_c (value, '\r');
          break;
        case '\\':
          g_string_append_c (value, '\\');
          break;
        case '\0':
          g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_KEY_FILE,
                       _("%s: the value of %s= ends with an escape character (“\\”)"),
                       path, key);
          return FALSE;
        default:
          /* Translators: the last %s is an escape sequence such as \q. */
          g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_KEY_FILE,
                       _("%s: the value of %s= holds an invalid escape sequence “\\%.*s” "
                         "(only \\s, \\n, \\t, \\r and \\\\ are known)"),
                       path, key, (int) (g_utf8_next_char (p) - p), p);
          return FALSE;
        }
    }
  *out = g_string_free (g_steal_pointer (&value), FALSE);
  return TRUE;
}

/* get_string () of the first of `key[LANGUAGE]` for the user's languages, then of `key`, as
 * g_key_file_get_locale_string () looks them up. */
static gboolean
get_locale_string (GKeyFile    *key_file,
                   const char  *path,
                   const char  *key,
                   char       **out,
                   GError     **error)
{
  const char * const *languages = g_get_language_names_with_category ("LC_MESSAGES");

  for (guint i = 0; languages[i] != NULL; i++)
    {
      g_autofree char *localized = g_strdup_printf ("%s[%s]", key, languages[i]);

      if (!get_string (key_file, path, localized, out, error))
        return FALSE;
      if (*out != NULL)
        return TRUE;
    }
  return get_string (key_file, path, key, out, error);
}

MienPluginInfo *
mien_plugin_info_from_key_file (GKeyFile    *key_file,
                                const char  *dir,
                                const char  *path,
                                GError     **error)
{
  g_autoptr(MienPluginInfo) info = g_new0 (MienPluginInfo, 1);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *module_name = NULL;
  int abi;

  if (!g_key_file_has_group (key_file, PLUGIN_GROUP))
    {
      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_KEY_FILE,
                   _("%s: no [%s] group"), path, PLUGIN_GROUP);
      return NULL;
    }

  if (!get_string (key_file, path, "Module", &info->id, error))
    return NULL;
  if (info->id == NULL || info->id[0] == '\0')
    {
      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_KEY_FILE,
                   _("%s: no Module= key in [%s]"), path, PLUGIN_GROUP);
      return NULL;
    }
  /* The id becomes a file name and a command-line word: nothing that could leave the folder. */
  if (!is_valid_id (info->id))
    {
      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_KEY_FILE,
                   _("%s: Module=%s is not a valid plugin id (only letters, digits, “-” and “_”)"),
                   path, info->id);
      return NULL;
    }

  if (!g_key_file_has_key (key_file, PLUGIN_GROUP, "X-Mien-Abi", NULL))
    {
      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_ABI,
                   _("%s: no X-Mien-Abi= key, this Mien needs plugin ABI %d"),
                   path, MIEN_PLUGIN_ABI);
      return NULL;
    }
  abi = g_key_file_get_integer (key_file, PLUGIN_GROUP, "X-Mien-Abi", &local_error);
  if (local_error != NULL)
    {
      /* GLib's reason says which: not a number, or out of int's range. */
      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_ABI,
                   _("%s: X-Mien-Abi has to be an integer (this Mien needs plugin ABI %d): %s"),
                   path, MIEN_PLUGIN_ABI, local_error->message);
      return NULL;
    }
  if (abi != MIEN_PLUGIN_ABI)
    {
      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_ABI,
                   _("%s: built for plugin ABI %d, this Mien needs ABI %d"),
                   path, abi, MIEN_PLUGIN_ABI);
      return NULL;
    }

  if (!get_string (key_file, path, "X-Mien-Kind", &info->kind, error))
    return NULL;
  if (info->kind == NULL || info->kind[0] == '\0')
    {
      g_free (info->kind);
      info->kind = g_strdup (KIND_BACKBONE);
    }
  if (kind_interface (info->kind) == G_TYPE_INVALID)
    {
      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_KEY_FILE,
                   _("%s: unknown plugin kind “%s” (this Mien knows: %s, %s)"),
                   path, info->kind, KIND_BACKBONE, KIND_FACE_DETECTOR);
      return NULL;
    }

  if (!get_locale_string (key_file, path, "Name", &info->name, error))
    return NULL;
  if (info->name == NULL || info->name[0] == '\0')
    {
      g_free (info->name);
      info->name = g_strdup (info->id);
    }
  if (!get_locale_string (key_file, path, "Description", &info->description, error))
    return NULL;
  if (info->description == NULL)
    info->description = g_strdup ("");

  module_name = g_strconcat (info->id, ".", G_MODULE_SUFFIX, NULL);
  info->module_path = g_build_filename (dir, module_name, NULL);

  return g_steal_pointer (&info);
}

/* Reads and checks PATH's [Plugin] group. Returns a new info without a type (not yet loaded). */
static MienPluginInfo *
read_key_file (const char  *dir,
               const char  *path,
               GError     **error)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;

  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_KEY_FILE,
                   "%s: %s", path, local_error->message);
      return NULL;
    }
  return mien_plugin_info_from_key_file (key_file, dir, path, error);
}

/* Opens the module and checks its type; fills info->type. */
static gboolean
load_module (MienPluginEngine *self,
             MienPluginInfo   *info,
             const char       *key_path,
             GError          **error)
{
  MienPluginQueryTypeFunc query_type = NULL;
  const MienPluginInfo *other;
  GModule *module;
  GType type;

  if (!g_file_test (info->module_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_MODULE,
                   _("%s: its module %s does not exist"), key_path, info->module_path);
      return FALSE;
    }

  /* Bind now rather than lazily: a plugin built against another libmien then fails here, where
   * it is reported and skipped, instead of killing the process at its first call. LOCAL keeps one
   * plugin's symbols from resolving another's. */
  module = g_module_open (info->module_path, G_MODULE_BIND_LOCAL);
  if (module == NULL)
    {
      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_MODULE,
                   _("%s: cannot be opened: %s"), info->module_path,
                   strip_path_prefix (g_module_error (), info->module_path));
      return FALSE;
    }

  if (!g_module_symbol (module, MIEN_PLUGIN_QUERY_TYPE_SYMBOL, (gpointer *) &query_type) ||
      query_type == NULL)
    {
      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_SYMBOL,
                   _("%s: exports no %s (), so it is not a Mien plugin"),
                   info->module_path, MIEN_PLUGIN_QUERY_TYPE_SYMBOL);
      /* Nothing of it has run but its constructors, so it can go again. */
      g_module_close (module);
      return FALSE;
    }

  type = query_type ();

  /* From here on the module may have registered types, whose class functions and vtables live in
   * it: unloading it would leave the type system pointing into unmapped memory. So it stays, even
   * when it is then refused. The handle is deliberately not closed. */
  g_module_make_resident (module);

  if (type == G_TYPE_INVALID)
    {
      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_TYPE,
                   _("%s: %s () returned no type"),
                   info->module_path, MIEN_PLUGIN_QUERY_TYPE_SYMBOL);
      return FALSE;
    }
  if (!g_type_is_a (type, kind_interface (info->kind)))
    {
      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_TYPE,
                   _("%s: its type %s does not implement %s"),
                   info->module_path, g_type_name (type),
                   g_type_name (kind_interface (info->kind)));
      return FALSE;
    }
  if (!G_TYPE_IS_INSTANTIATABLE (type) || G_TYPE_IS_ABSTRACT (type))
    {
      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_TYPE,
                   _("%s: its type %s cannot be instantiated"),
                   info->module_path, g_type_name (type));
      return FALSE;
    }
  other = g_hash_table_lookup (self->by_type, GSIZE_TO_POINTER (type));
  if (other != NULL)
    {
      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_TYPE,
                   _("%s: its type %s is already provided by plugin “%s”"),
                   info->module_path, g_type_name (type), other->id);
      return FALSE;
    }

  info->type = type;
  return TRUE;
}

static void
load_key_file (MienPluginEngine *self,
               const char       *dir,
               const char       *key_path)
{
  g_autoptr(MienPluginInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  const MienPluginInfo *other;

  info = read_key_file (dir, key_path, &error);
  if (info == NULL)
    {
      add_error (self, error);
      return;
    }

  /* Checked before opening: the earlier copy must not be shadowed, and a second copy of the same
   * module would try to register the same type names again. */
  other = g_hash_table_lookup (self->by_id, info->id);
  if (other != NULL)
    {
      g_set_error (&error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_DUPLICATE,
                   _("%s: plugin “%s” is already loaded from %s; this copy is skipped"),
                   key_path, info->id, other->module_path);
      add_error (self, error);
      return;
    }

  if (!load_module (self, info, key_path, &error))
    {
      add_error (self, error);
      return;
    }

  g_debug ("Loaded %s plugin “%s” (%s) from %s",
           info->kind, info->id, g_type_name (info->type), info->module_path);

  g_hash_table_insert (self->by_id, info->id, info);
  g_hash_table_insert (self->by_type, GSIZE_TO_POINTER (info->type), info);
  g_ptr_array_add (self->plugins, g_steal_pointer (&info));
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
load_dir (MienPluginEngine *self,
          const char       *dir)
{
  g_autoptr(GDir) gdir = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  gdir = g_dir_open (dir, 0, &error);
  if (gdir == NULL)
    {
      /* An absent folder is normal (nothing installed yet, an unused MIEN_PLUGIN_PATH entry); one
       * that exists but cannot be read hides plugins the user expects. */
      if (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT) ||
          g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOTDIR))
        {
          g_debug ("No plugin folder %s", dir);
        }
      else
        {
          g_autoptr(GError) dir_error = NULL;

          g_set_error (&dir_error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_KEY_FILE,
                       "%s: %s", dir, error->message);
          add_error (self, dir_error);
        }
      return;
    }

  while ((name = g_dir_read_name (gdir)) != NULL)
    if (g_str_has_suffix (name, ".plugin"))
      g_ptr_array_add (names, g_strdup (name));

  /* readdir () order is the file system's whim; which duplicate wins must not be. */
  g_ptr_array_sort (names, compare_strings);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *key_path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);

      load_key_file (self, dir, key_path);
    }
}

static int
compare_infos (gconstpointer a,
               gconstpointer b)
{
  const MienPluginInfo *info_a = *(const MienPluginInfo * const *) a;
  const MienPluginInfo *info_b = *(const MienPluginInfo * const *) b;

  return strcmp (info_a->id, info_b->id);
}

void
mien_plugin_engine_load (MienPluginEngine *self)
{
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(GHashTable) seen = NULL;

  g_return_if_fail (MIEN_IS_PLUGIN_ENGINE (self));

  locker = g_mutex_locker_new (&self->lock);
  if (self->loaded)
    return;

  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; self->search_path[i] != NULL; i++)
    {
      /* Absolute, so that module paths are; and once per folder, because MIEN_PLUGIN_PATH often
       * repeats the build tree's folder, which must not report each plugin as its own duplicate. */
      g_autofree char *dir = g_canonicalize_filename (self->search_path[i], NULL);

      if (g_hash_table_contains (seen, dir))
        continue;
      g_hash_table_add (seen, g_strdup (dir));

      load_dir (self, dir);
    }

  g_ptr_array_sort (self->plugins, compare_infos);
  /* Published last: ensure_loaded () reads it without the lock. */
  g_atomic_int_set (&self->loaded, TRUE);
}

static void
ensure_loaded (MienPluginEngine *self)
{
  /* `loaded` only ever goes from FALSE to TRUE, under the lock; load () rechecks it there. */
  if (!g_atomic_int_get (&self->loaded))
    mien_plugin_engine_load (self);
}

GPtrArray *
mien_plugin_engine_get_plugins (MienPluginEngine *self)
{
  g_return_val_if_fail (MIEN_IS_PLUGIN_ENGINE (self), NULL);

  ensure_loaded (self);
  return self->plugins;
}

const MienPluginInfo *
mien_plugin_engine_find (MienPluginEngine *self,
                         const char       *id)
{
  g_return_val_if_fail (MIEN_IS_PLUGIN_ENGINE (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  ensure_loaded (self);
  return g_hash_table_lookup (self->by_id, id);
}

const char * const *
mien_plugin_engine_get_errors (MienPluginEngine *self)
{
  static const char * const none[] = { NULL };

  g_return_val_if_fail (MIEN_IS_PLUGIN_ENGINE (self), NULL);

  ensure_loaded (self);

  /* An empty null-terminated GPtrArray may not have allocated its pdata yet. */
  if (self->errors->len == 0)
    return none;
  return (const char * const *) self->errors->pdata;
}

/* The ids of the plugins of `kind` (NULL: all), comma-separated. */
static char *
join_plugin_ids (MienPluginEngine *self,
                 const char       *kind)
{
  g_autoptr(GString) ids = g_string_new (NULL);

  for (guint i = 0; i < self->plugins->len; i++)
    {
      const MienPluginInfo *info = g_ptr_array_index (self->plugins, i);

      if (kind != NULL && !g_str_equal (info->kind, kind))
        continue;
      if (ids->len > 0)
        g_string_append (ids, ", ");
      g_string_append (ids, info->id);
    }

  return g_string_free (g_steal_pointer (&ids), FALSE);
}

static char *
join_variant_names (MienBackbone *backbone)
{
  g_autoptr(GString) names = g_string_new (NULL);
  const MienBackboneVariant *variants;
  guint n;

  variants = mien_backbone_list_variants (backbone, &n);
  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (names, ", ");
      g_string_append (names, variants[i].name);
    }

  return g_string_free (g_steal_pointer (&names), FALSE);
}

MienBackbone *
mien_plugin_engine_create_backbone (MienPluginEngine  *self,
                                    const char        *spec,
                                    char             **variant_out,
                                    GError           **error)
{
  g_autofree char *family = NULL;
  g_autofree char *variant = NULL;
  g_autoptr(MienBackbone) backbone = NULL;
  const MienPluginInfo *info;
  const char *colon;

  g_return_val_if_fail (MIEN_IS_PLUGIN_ENGINE (self), NULL);
  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  colon = strchr (spec, ':');
  if (colon != NULL)
    {
      family = g_strndup (spec, colon - spec);
      if (colon[1] != '\0')
        variant = g_strdup (colon + 1);
    }
  else
    {
      family = g_strdup (spec);
    }

  info = mien_plugin_engine_find (self, family);
  if (info == NULL || !g_str_equal (info->kind, KIND_BACKBONE))
    {
      g_autofree char *ids = join_plugin_ids (self, KIND_BACKBONE);

      g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_NOT_FOUND,
                   _("No backbone plugin “%s”; available: %s"),
                   family, ids[0] != '\0' ? ids : _("none"));
      return NULL;
    }

  backbone = g_object_new (info->type, NULL);

  /* Caught here, so that a typo in "resnet:51" fails when the command line is read rather than
   * when the network is built, minutes into a run. */
  if (mien_backbone_find_variant (backbone, variant) == NULL)
    {
      g_autofree char *names = join_variant_names (backbone);

      g_set_error (error, MIEN_BACKBONE_ERROR, MIEN_BACKBONE_ERROR_UNKNOWN_VARIANT,
                   _("Unknown variant “%s” of %s; valid variants: %s"),
                   variant != NULL ? variant : "", family,
                   names[0] != '\0' ? names : _("(none)"));
      return NULL;
    }

  if (variant_out != NULL)
    *variant_out = g_steal_pointer (&variant);

  return g_steal_pointer (&backbone);
}

MienFaceDetector *
mien_plugin_engine_create_face_detector (MienPluginEngine  *self,
                                         const char        *spec,
                                         char             **method_out,
                                         GError           **error)
{
  g_autofree char *id = NULL;
  g_autofree char *method = NULL;
  g_autoptr(MienFaceDetector) detector = NULL;
  const MienPluginInfo *info = NULL;
  const char *colon;

  g_return_val_if_fail (MIEN_IS_PLUGIN_ENGINE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  ensure_loaded (self);

  colon = spec != NULL ? strchr (spec, ':') : NULL;
  if (colon != NULL)
    {
      id = g_strndup (spec, colon - spec);
      if (colon[1] != '\0')
        method = g_strdup (colon + 1);
    }
  else if (spec != NULL)
    {
      id = g_strdup (spec);
    }

  if (id != NULL && id[0] != '\0')
    {
      info = mien_plugin_engine_find (self, id);
      if (info != NULL && !g_str_equal (info->kind, KIND_FACE_DETECTOR))
        info = NULL;
    }
  else
    {
      /* `plugins` is sorted by id, so "the first" does not depend on the search path's order. */
      for (guint i = 0; i < self->plugins->len && info == NULL; i++)
        {
          const MienPluginInfo *candidate = g_ptr_array_index (self->plugins, i);

          if (g_str_equal (candidate->kind, KIND_FACE_DETECTOR))
            info = candidate;
        }
    }

  if (info == NULL)
    {
      g_autofree char *ids = join_plugin_ids (self, KIND_FACE_DETECTOR);

      if (id != NULL && id[0] != '\0')
        g_set_error (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_NOT_FOUND,
                     _("No face-detector plugin “%s”; available: %s"),
                     id, ids[0] != '\0' ? ids : _("none"));
      else
        g_set_error_literal (error, MIEN_PLUGIN_ERROR, MIEN_PLUGIN_ERROR_NOT_FOUND,
                             _("No face-detector plugin is installed"));
      return NULL;
    }

  detector = g_object_new (info->type, NULL);

  /* As for backbones: a mistyped method fails when the command line is read. Only the name is
   * checked; whether its model file is there is prepare ()'s business. */
  if (method != NULL && mien_face_detector_find_method (detector, method, error) == NULL)
    return NULL;

  if (method_out != NULL)
    *method_out = g_steal_pointer (&method);

  return g_steal_pointer (&detector);
}
