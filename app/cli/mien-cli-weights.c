/* mien-cli-weights.c — `mien-cli weights`: the pretrained weights catalogue, and fetching one. */
#include "config.h"

#include "mien-cli-private.h"
#include "mien-download.h"
#include "mien-weights.h"

static char *
describe_state (const MienWeightsInfo *info)
{
  gint64 part_bytes = 0;

  switch (mien_weights_get_state (info, &part_bytes))
    {
    case MIEN_WEIGHTS_DOWNLOADED:
      return g_strdup (_("downloaded"));
    case MIEN_WEIGHTS_PARTIAL:
      {
        g_autofree char *got = g_format_size_full ((guint64) part_bytes,
                                                   G_FORMAT_SIZE_IEC_UNITS);

        /* TRANSLATORS: an interrupted download: "partial (12.0 MiB)", resumed by --download */
        return g_strdup_printf (_("partial (%s)"), got);
      }
    case MIEN_WEIGHTS_ABSENT:
    default:
      return g_strdup (_("not downloaded"));
    }
}

static void
add_json_floats (JsonBuilder *builder,
                 const char  *member,
                 const double *values)
{
  json_builder_set_member_name (builder, member);
  json_builder_begin_array (builder);
  for (int i = 0; i < 3; i++)
    json_builder_add_double_value (builder, values[i]);
  json_builder_end_array (builder);
}

static void
add_json_entry (JsonBuilder            *builder,
                const MienWeightsEntry *entry)
{
  const MienWeightsInfo *info = entry->info;
  g_autofree char *path = mien_weights_get_path (info);
  gint64 part_bytes = 0;
  MienWeightsState state = mien_weights_get_state (info, &part_bytes);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "family");
  json_builder_add_string_value (builder, entry->family);
  json_builder_set_member_name (builder, "variant");
  json_builder_add_string_value (builder, info->variant);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, info->name);
  json_builder_set_member_name (builder, "dataset");
  json_builder_add_string_value (builder, info->dataset);
  json_builder_set_member_name (builder, "source");
  json_builder_add_string_value (builder, info->source);
  json_builder_set_member_name (builder, "url");
  json_builder_add_string_value (builder, info->url);
  json_builder_set_member_name (builder, "size");
  json_builder_add_int_value (builder, info->size);
  json_builder_set_member_name (builder, "size_is_exact");
  json_builder_add_boolean_value (builder, info->size_is_exact);
  json_builder_set_member_name (builder, "sha256");
  if (info->sha256 != NULL)
    json_builder_add_string_value (builder, info->sha256);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "verified");
  json_builder_add_boolean_value (builder, info->sha256 != NULL);
  json_builder_set_member_name (builder, "licence");
  json_builder_add_string_value (builder, info->licence);
  json_builder_set_member_name (builder, "default");
  json_builder_add_boolean_value (builder, info->is_default);
  json_builder_set_member_name (builder, "input_size");
  json_builder_add_int_value (builder, info->input_size);
  add_json_floats (builder, "mean", info->mean);
  add_json_floats (builder, "std", info->std);
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, mien_weights_state_to_string (state));
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, path);
  json_builder_set_member_name (builder, "part_bytes");
  json_builder_add_int_value (builder, part_bytes);
  json_builder_end_object (builder);
}

static int
list_weights (gboolean json)
{
  g_autoptr(GPtrArray) entries = mien_weights_list (mien_plugin_engine_get_default ());
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(MienCliTable) table = mien_cli_table_new (6, 1 << 3);
  g_autofree char *dir = mien_weights_get_dir ();
  gboolean any_unverified = FALSE;

  json_builder_begin_array (builder);
  mien_cli_table_take (table, g_strdup (_("Backbone")));
  mien_cli_table_take (table, g_strdup (_("Weights")));
  mien_cli_table_take (table, g_strdup (_("Source")));
  mien_cli_table_take (table, g_strdup (_("Size")));
  mien_cli_table_take (table, g_strdup (_("Licence")));
  mien_cli_table_take (table, g_strdup (_("State")));
  for (guint i = 0; i < entries->len; i++)
    {
      const MienWeightsEntry *entry = g_ptr_array_index (entries, i);
      const MienWeightsInfo *info = entry->info;

      add_json_entry (builder, entry);
      mien_cli_table_take (table, g_strdup_printf ("%s:%s", entry->family, info->variant));
      mien_cli_table_take (table, info->is_default
                                  /* TRANSLATORS: the weights --pretrained imagenet takes */
                                  ? g_strdup_printf (_("%s (default)"), info->name)
                                  : g_strdup (info->name));
      mien_cli_table_take (table, info->sha256 != NULL
                                  ? g_strdup (info->source)
                                  /* TRANSLATORS: no SHA-256 is published for the file */
                                  : g_strdup_printf (_("%s, unverified"), info->source));
      mien_cli_table_take (table, mien_weights_format_size (info));
      mien_cli_table_take (table, g_strdup (info->licence));
      mien_cli_table_take (table, describe_state (info));
      any_unverified |= info->sha256 == NULL;
    }
  json_builder_end_array (builder);
  if (json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (builder);

      mien_cli_print_json (root);
      return EXIT_SUCCESS;
    }
  mien_cli_table_print (table, "");
  g_print (_("\nFiles are kept in %s (mien-cli weights --download NAME; train --pretrained "
             "imagenet uses the default of the chosen variant).\n"), dir);
  if (any_unverified)
    g_print (_("“Unverified” weights have no published SHA-256: their downloads are checked "
               "for size only.\n"));
  return EXIT_SUCCESS;
}

static int
download_weights (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienWeightsEntry) entry = NULL;
  g_autoptr(MienCliProgress) progress = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *path = NULL;
  g_autofree char *size = NULL;
  const MienWeightsInfo *info;

  entry = mien_weights_find (mien_plugin_engine_get_default (), name, &error);
  if (entry == NULL)
    return mien_cli_usage_error ("weights", "%s", error->message);
  info = entry->info;
  path = mien_weights_get_path (info);
  if (mien_weights_get_state (info, NULL) == MIEN_WEIGHTS_DOWNLOADED)
    {
      g_print (_("%s is already there: %s\n"), info->name, path);
      return EXIT_SUCCESS;
    }

  size = mien_weights_format_size (info);
  g_printerr (_("Fetching %s (%s, %s licence) from %s\n"), info->name, size, info->licence,
              info->url);
  if (info->sha256 == NULL)
    {
      g_autofree char *message = g_strdup_printf (
        _("%s publishes no SHA-256 for this file: the download is checked for size only"),
        info->source);

      mien_cli_warning (message);
    }
  progress = mien_cli_progress_new ();
  mien_cli_cancel_on_signals (cancellable);
  if (!mien_weights_download (info, mien_cli_progress_func, progress, cancellable, &error))
    {
      g_autofree char *part = mien_download_get_part_path (path);

      mien_cli_progress_finish (progress);
      if (g_file_test (part, G_FILE_TEST_EXISTS))
        {
          /* TRANSLATORS: %s: why it stopped (already a sentence without a full stop) */
          g_autofree char *message = g_strdup_printf (
            _("%s; what came is kept in %s: run the same command again to continue"),
            error->message, part);

          mien_cli_error (message);
        }
      else
        {
          /* TRANSLATORS: %s: why it failed; then the file's address and where it goes */
          g_autofree char *message = g_strdup_printf (
            _("%s; or fetch %s yourself and put it at %s"), error->message, info->url, path);

          mien_cli_error (message);
        }
      return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ? 130 : EXIT_FAILURE;
    }
  mien_cli_progress_finish (progress);
  if (info->sha256 != NULL)
    g_print (_("%s saved to %s (SHA-256 checked)\n"), info->name, path);
  else
    g_print (_("%s saved to %s (unverified: no SHA-256 is published)\n"), info->name, path);
  return EXIT_SUCCESS;
}

int
mien_cli_weights (int    argc,
                  char **argv)
{
  g_autofree char *download = NULL;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "download", 0, 0, G_OPTION_ARG_STRING, &download,
      N_("Fetch these weights into Mien's weights folder, checked before they take their "
         "place; an interrupted download continues where it stopped"), N_("NAME") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("One line of JSON"), NULL },
    { NULL }
  };

  if (!mien_cli_parse_options ("weights", NULL, entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return mien_cli_usage_error ("weights", _("unexpected argument “%s”"), argv[1]);
  if (download != NULL && json)
    return mien_cli_usage_error ("weights", _("give --download or --json, not both"));
  if (download != NULL)
    return download_weights (download);
  return list_weights (json);
}
