/* mien-cli-data.c — `mien-cli demo-data` and `mien-cli stats`. */
#include "config.h"

#include <stdlib.h>

#include "mien-cli-private.h"
#include "mien-dataset.h"
#include "mien-demo-data.h"

/* ---- demo-data -------------------------------------------------------------------------- */

int
mien_cli_demo_data (int    argc,
                    char **argv)
{
  MienDemoDataOptions options = MIEN_DEMO_DATA_OPTIONS_INIT;
  g_autofree char *per_class_arg = NULL, *size_arg = NULL, *seed_arg = NULL;
  gint64 per_class = options.per_class;
  gint64 size = options.size;
  gboolean balanced = FALSE;
  gint64 seed = (gint64) options.seed;
  const GOptionEntry entries[] = {
    { "per-class", 0, 0, G_OPTION_ARG_STRING, &per_class_arg,
      N_("Training images of the largest class, 1–100000 (default 800)"), N_("N") },
    { "balanced", 0, 0, G_OPTION_ARG_NONE, &balanced,
      N_("Give every class as many images (default: the paper's 10:1 imbalance)"), NULL },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_arg, N_("Random seed, 0 or more (default 1)"),
      N_("S") },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size_arg,
      N_("Image side in pixels, 16–1024 (default 64)"), N_("PX") },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(MienCliProgress) progress = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  guint train[6], val[6], n_train = 0, n_val = 0;

  if (!mien_cli_parse_options ("demo-data", _("OUTDIR"), entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc != 2)
    return mien_cli_usage_error ("demo-data", _("expected one OUTDIR"));
  if (!mien_cli_parse_int ("demo-data", "per-class", per_class_arg, 1, 100000, &per_class) ||
      !mien_cli_parse_int ("demo-data", "size", size_arg, 16, 1024, &size) ||
      !mien_cli_parse_int ("demo-data", "seed", seed_arg, 0, G_MAXINT64, &seed))
    return EXIT_USAGE;

  options.per_class = (guint) per_class;
  options.balanced = balanced;
  options.seed = (guint64) seed;
  options.size = (int) size;
  mien_demo_data_class_counts (&options, train, val);
  for (guint i = 0; i < 6; i++)
    {
      n_train += train[i];
      n_val += val[i];
    }

  mien_cli_cancel_on_signals (cancellable);
  progress = mien_cli_progress_new ();
  if (!mien_demo_data_generate (argv[1], &options, mien_cli_progress_func, progress, cancellable,
                                &error))
    {
      mien_cli_progress_finish (progress);
      mien_cli_error (error->message);
      return EXIT_FAILURE;
    }
  mien_cli_progress_finish (progress);

  g_print (_("Wrote %u training and %u validation images of %d×%d pixels to %s\n"),
           n_train, n_val, options.size, options.size, argv[1]);
  for (guint i = 0; i < 6; i++)
    g_print ("  %-10s %5u  %5u\n", mien_demo_data_get_classes ()[i], train[i], val[i]);
  return EXIT_SUCCESS;
}

/* ---- stats ------------------------------------------------------------------------------ */

static void
print_stats (MienDatasetStats *stats,
             const char       *source)
{
  guint largest = 1;
  g_autoptr(MienCliTable) table = mien_cli_table_new (4, (1 << 1) | (1 << 2));

  for (guint i = 0; i < stats->n_classes; i++)
    largest = MAX (largest, stats->counts[i]);

  g_print ("%s\n", source);
  mien_cli_table_take (table, g_strdup (_("CLASS")));
  mien_cli_table_take (table, g_strdup (_("IMAGES")));
  mien_cli_table_take (table, g_strdup (_("SHARE")));
  mien_cli_table_take (table, g_strdup (""));
  for (guint i = 0; i < stats->n_classes; i++)
    {
      int bar = (int) (40.0 * stats->counts[i] / largest + 0.5);
      GString *bars = g_string_new (NULL);

      for (int j = 0; j < bar; j++)
        g_string_append (bars, "■");
      mien_cli_table_take (table, g_strdup (stats->classes[i]));
      mien_cli_table_take (table, g_strdup_printf ("%u", stats->counts[i]));
      mien_cli_table_take (table, g_strdup_printf ("%.1f%%", stats->n_images ?
                                                   100.0 * stats->counts[i] / stats->n_images :
                                                   0.0));
      mien_cli_table_take (table, g_string_free (bars, FALSE));
    }
  mien_cli_table_print (table, "  ");

  g_print (_("Images: %u (%u readable)\n"), stats->n_images, stats->n_readable);
  g_print (_("Imbalance ratio (largest / smallest class): %.2f\n"), stats->imbalance_ratio);
  if (stats->n_readable > 0)
    {
      g_print (_("Image sizes: %d–%d × %d–%d pixels, %u distinct; %u grey\n"),
               stats->min_width, stats->max_width, stats->min_height, stats->max_height,
               g_hash_table_size (stats->sizes), stats->n_grey);
      g_print (_("Channel mean: %.4f %.4f %.4f   std: %.4f %.4f %.4f\n"),
               stats->mean[0], stats->mean[1], stats->mean[2],
               stats->std[0], stats->std[1], stats->std[2]);
    }
  if (stats->unreadable->len > 0)
    {
      g_print (g_dngettext (GETTEXT_PACKAGE, "%u unreadable file (skipped):\n",
                            "%u unreadable files (skipped):\n", stats->unreadable->len),
               stats->unreadable->len);
      for (guint i = 0; i < stats->unreadable->len; i++)
        g_print ("  %s\n", (const char *) stats->unreadable->pdata[i]);
    }
}

int
mien_cli_stats (int    argc,
                char **argv)
{
  g_autofree char *classes_arg = NULL, *split = NULL;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "classes", 0, 0, G_OPTION_ARG_STRING, &classes_arg,
      N_("Only these classes, in this order (comma-separated)"), N_("a,b,…") },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split,
      N_("Only this split of a file that holds several (fer2013.csv, RAF-DB): train, val or "
         "test"), N_("SPLIT") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) classes = NULL;
  g_autoptr(MienDataset) dataset = NULL;
  g_autoptr(MienDatasetStats) stats = NULL;
  g_autoptr(MienCliProgress) progress = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  if (!mien_cli_parse_options ("stats", _("DATASET"), entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc != 2)
    return mien_cli_usage_error ("stats", _("expected one DATASET (a class-folder tree, a "
                                            "CSV manifest or a FER dataset’s file)"));
  if (split != NULL && !mien_dataset_check_split_name (split, &error))
    return mien_cli_usage_error ("stats", "%s", error->message);
  if (classes_arg != NULL)
    {
      classes = mien_dataset_parse_class_list (classes_arg, &error);
      if (classes == NULL)
        return mien_cli_usage_error ("stats", "%s", error->message);
    }

  dataset = mien_dataset_open_split (argv[1], split, (const char * const *) classes, &error);
  if (dataset == NULL)
    {
      mien_cli_error (error->message);
      return EXIT_FAILURE;
    }
  mien_cli_cancel_on_signals (cancellable);
  progress = mien_cli_progress_new ();
  stats = mien_dataset_compute_stats (dataset, 0, mien_cli_progress_func, progress, cancellable,
                                      &error);
  mien_cli_progress_finish (progress);
  if (stats == NULL)
    {
      mien_cli_error (error->message);
      return EXIT_FAILURE;
    }

  if (json)
    {
      g_autoptr(JsonNode) node = mien_dataset_stats_to_json (stats, argv[1]);

      mien_cli_print_json (node);
    }
  else
    print_stats (stats, argv[1]);
  return EXIT_SUCCESS;
}
