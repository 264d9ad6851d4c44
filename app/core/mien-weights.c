/* mien-weights.c — the pretrained weights catalogue (see mien-weights.h). */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mien-download.h"
#include "mien-weights.h"

G_DEFINE_QUARK (mien-weights-error-quark, mien_weights_error)

void
mien_weights_entry_free (MienWeightsEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->family);
  g_free (entry);
}

static MienWeightsEntry *
entry_new (const char            *family,
           const MienWeightsInfo *info)
{
  MienWeightsEntry *entry = g_new0 (MienWeightsEntry, 1);

  entry->family = g_strdup (family);
  entry->info = info;
  return entry;
}

char *
mien_weights_get_dir (void)
{
  const char *env = g_getenv ("MIEN_WEIGHTS_DIR");

  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  return g_build_filename (g_get_user_data_dir (), "mien", "weights", NULL);
}

char *
mien_weights_get_path (const MienWeightsInfo *info)
{
  g_autofree char *dir = mien_weights_get_dir ();

  g_return_val_if_fail (info != NULL, NULL);

  return g_build_filename (dir, info->file_name, NULL);
}

MienWeightsState
mien_weights_get_state (const MienWeightsInfo *info,
                        gint64                *part_bytes)
{
  g_autofree char *path = mien_weights_get_path (info);
  g_autofree char *part = mien_download_get_part_path (path);
  GStatBuf st;

  if (part_bytes != NULL)
    *part_bytes = 0;
  /* Only a whole, checked file is ever renamed to the final name: being there is enough. */
  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return MIEN_WEIGHTS_DOWNLOADED;
  if (g_stat (part, &st) == 0)
    {
      if (part_bytes != NULL)
        *part_bytes = st.st_size;
      return MIEN_WEIGHTS_PARTIAL;
    }
  return MIEN_WEIGHTS_ABSENT;
}

const char *
mien_weights_state_to_string (MienWeightsState state)
{
  switch (state)
    {
    case MIEN_WEIGHTS_PARTIAL:
      return "partial";
    case MIEN_WEIGHTS_DOWNLOADED:
      return "downloaded";
    case MIEN_WEIGHTS_ABSENT:
    default:
      return "absent";
    }
}

char *
mien_weights_format_size (const MienWeightsInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);

  return g_format_size_full ((guint64) info->size, G_FORMAT_SIZE_IEC_UNITS);
}

/* Appends `backbone`'s weights, every variant, to `entries`. */
static void
add_backbone_weights (GPtrArray    *entries,
                      const char   *family,
                      MienBackbone *backbone)
{
  const MienBackboneVariant *variants;
  guint n_variants = 0;

  variants = mien_backbone_list_variants (backbone, &n_variants);
  for (guint v = 0; v < n_variants; v++)
    {
      const MienWeightsInfo *weights;
      guint n = 0;

      weights = mien_backbone_list_weights (backbone, variants[v].name, &n);
      for (guint w = 0; w < n; w++)
        g_ptr_array_add (entries, entry_new (family, &weights[w]));
    }
}

GPtrArray *
mien_weights_list (MienPluginEngine *engine)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_weights_entry_free);
  GPtrArray *plugins;

  g_return_val_if_fail (MIEN_IS_PLUGIN_ENGINE (engine), entries);

  plugins = mien_plugin_engine_get_plugins (engine);
  for (guint i = 0; i < plugins->len; i++)
    {
      const MienPluginInfo *plugin = g_ptr_array_index (plugins, i);
      g_autoptr(MienBackbone) backbone = NULL;

      if (!g_str_equal (plugin->kind, "backbone"))
        continue;
      backbone = mien_plugin_engine_create_backbone (engine, plugin->id, NULL, NULL);
      if (backbone != NULL)
        add_backbone_weights (entries, plugin->id, backbone);
    }
  return entries;
}

MienWeightsEntry *
mien_weights_find (MienPluginEngine  *engine,
                   const char        *name,
                   GError           **error)
{
  g_autoptr(GPtrArray) entries = NULL;

  g_return_val_if_fail (name != NULL, NULL);

  entries = mien_weights_list (engine);
  for (guint i = 0; i < entries->len; i++)
    {
      MienWeightsEntry *entry = g_ptr_array_index (entries, i);

      if (g_ascii_strcasecmp (entry->info->name, name) == 0)
        return entry_new (entry->family, entry->info);
    }
  g_set_error (error, MIEN_WEIGHTS_ERROR, MIEN_WEIGHTS_ERROR_UNKNOWN,
               _("No weights called “%s” (see “mien-cli weights”)"), name);
  return NULL;
}

const MienWeightsInfo *
mien_weights_find_file (MienPluginEngine *engine,
                        const char       *spec,
                        const char       *path)
{
  g_autoptr(MienBackbone) backbone = NULL;
  g_autofree char *variant = NULL;
  g_autofree char *base = NULL;
  const MienWeightsInfo *weights;
  guint n_weights = 0;

  g_return_val_if_fail (spec != NULL, NULL);

  if (path == NULL ||
      (backbone = mien_plugin_engine_create_backbone (engine, spec, &variant, NULL)) == NULL)
    return NULL;
  base = g_path_get_basename (path);
  weights = mien_backbone_list_weights (backbone, variant, &n_weights);
  /* The plugin's table is static and plugins stay resident: the row outlives `backbone`. */
  for (guint i = 0; i < n_weights; i++)
    if (g_str_equal (weights[i].file_name, base))
      return &weights[i];
  return NULL;
}

/* The part of a --pretrained value before the colon, as the catalogue's datasets go. */
static gboolean
is_dataset (const char *text,
            gsize       length)
{
  return length == strlen ("imagenet") && g_ascii_strncasecmp (text, "imagenet", length) == 0;
}

gboolean
mien_weights_is_spec (const char *pretrained)
{
  const char *colon;

  if (pretrained == NULL)
    return FALSE;
  colon = strchr (pretrained, ':');
  return is_dataset (pretrained, colon != NULL ? (gsize) (colon - pretrained)
                                               : strlen (pretrained));
}

/* The entry of `weights` that `name` (NULL: the default) names, among those of `dataset`. */
static const MienWeightsInfo *
choose (const MienWeightsInfo *weights,
        guint                  n_weights,
        const char            *dataset,
        const char            *name)
{
  const MienWeightsInfo *first = NULL;

  for (guint i = 0; i < n_weights; i++)
    {
      if (g_ascii_strcasecmp (weights[i].dataset, dataset) != 0)
        continue;
      if (name != NULL ? g_ascii_strcasecmp (weights[i].name, name) == 0
                       : weights[i].is_default)
        return &weights[i];
      if (first == NULL)
        first = &weights[i];
    }
  return name == NULL ? first : NULL;
}

char *
mien_weights_resolve (MienPluginEngine  *engine,
                      const char        *spec,
                      const char        *backbone,
                      GError           **error)
{
  g_autoptr(MienBackbone) instance = NULL;
  g_autofree char *variant = NULL;
  g_autofree char *dataset = NULL;
  g_autofree char *backbone_spec = NULL;
  g_autofree char *path = NULL;
  g_autofree char *size = NULL;
  const MienBackboneVariant *v;
  const MienWeightsInfo *weights, *chosen;
  const char *colon, *name = NULL;
  guint n_weights = 0;

  g_return_val_if_fail (mien_weights_is_spec (spec), NULL);
  g_return_val_if_fail (backbone != NULL, NULL);

  colon = strchr (spec, ':');
  dataset = colon != NULL ? g_strndup (spec, colon - spec) : g_strdup (spec);
  if (colon != NULL && colon[1] != '\0')
    name = colon + 1;

  /* The engine parses "family[:variant]" and refuses an unknown family or variant. */
  instance = mien_plugin_engine_create_backbone (engine, backbone, &variant, error);
  if (instance == NULL)
    return NULL;
  v = mien_backbone_find_variant (instance, variant);
  backbone_spec = g_strdup_printf ("%.*s:%s", (int) strcspn (backbone, ":"), backbone, v->name);
  weights = mien_backbone_list_weights (instance, v->name, &n_weights);
  chosen = choose (weights, n_weights, dataset, name);
  if (chosen == NULL && name != NULL)
    {
      g_set_error (error, MIEN_WEIGHTS_ERROR, MIEN_WEIGHTS_ERROR_UNKNOWN,
                   _("%s has no %s weights called “%s” (see “mien-cli weights”)"), backbone_spec,
                   dataset, name);
      return NULL;
    }
  if (chosen == NULL)
    {
      g_set_error (error, MIEN_WEIGHTS_ERROR, MIEN_WEIGHTS_ERROR_NONE,
                   _("No %s weights are published for %s (see “mien-cli weights”)"), dataset,
                   backbone_spec);
      return NULL;
    }

  path = mien_weights_get_path (chosen);
  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&path);

  size = mien_weights_format_size (chosen);
  g_set_error (error, MIEN_WEIGHTS_ERROR, MIEN_WEIGHTS_ERROR_ABSENT,
               _("The %s weights %s (%s, %s) are not downloaded: run “mien-cli weights "
                 "--download %s”, or fetch %s and put it at %s"),
               dataset, chosen->name, chosen->source, size, chosen->name, chosen->url, path);
  return NULL;
}

gboolean
mien_weights_download (const MienWeightsInfo  *info,
                       MienProgressFunc        progress,
                       gpointer                progress_data,
                       GCancellable           *cancellable,
                       GError                **error)
{
  g_autofree char *path = NULL;
  MienDownloadFlags flags = MIEN_DOWNLOAD_RESUMABLE;

  g_return_val_if_fail (info != NULL, FALSE);

  if (!info->size_is_exact)
    flags |= MIEN_DOWNLOAD_SIZE_APPROXIMATE;
  path = mien_weights_get_path (info);
  return mien_download_file_full (info->url, info->sha256, info->size, flags, path, progress,
                                  progress_data, cancellable, error);
}
