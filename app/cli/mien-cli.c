/* mien-cli.c — Mien without a display: `mien-cli COMMAND [OPTION…]`.
 *
 * Each command is one function with its own GOptionContext, listed in `commands` below; main ()
 * only dispatches. Exit status: 0 success, 1 failure, 2 a usage error (as getopt-style tools do,
 * so that scripts can tell a typo from a failed run).
 */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "mien-cli-private.h"
#include "mien-device.h"
#include "mien-json.h"

static int signal_pending;

static int cmd_plugins (int argc, char **argv);
static int cmd_help    (int argc, char **argv);

static const MienCliCommand commands[] = {
  { "plugins",   N_("List the backbone plugins and their variants"),          cmd_plugins },
  { "demo-data", N_("Write the synthetic demo dataset"),                      mien_cli_demo_data },
  { "stats",     N_("Show a dataset's class counts, imbalance and image statistics"),
    mien_cli_stats },
  { "train",     N_("Train a model (the paper's four modules)"),              mien_cli_train },
  { "ablate",    N_("Run a queue of experiments and write the paper's ablation tables"),
    mien_cli_ablate },
  { "eval",      N_("Evaluate models or an ensemble on a dataset"),           mien_cli_eval },
  { "predict",   N_("Predict the expression of images with a model or an ensemble"),
    mien_cli_predict },
  { "explain",   N_("Draw where a model or an ensemble looks (Grad-CAM) over images or faces"),
    mien_cli_explain },
  { "detectors", N_("List the face detectors, or fetch YuNet's model file"),  mien_cli_detectors },
  { "capture",   N_("Record face crops from a camera or a video into a class folder"),
    mien_cli_capture },
  { "weights",   N_("List the pretrained weights the backbones publish, or fetch one"),
    mien_cli_weights },
  { "help",      N_("Show the help of mien-cli or of one command"),           cmd_help },
};

/* ---- Helpers shared by commands ------------------------------------------------------- */

void
mien_cli_warning (const char *message)
{
  g_printerr ("mien-cli: %s %s\n", _("warning:"), message);
}

void
mien_cli_error (const char *message)
{
  g_printerr ("mien-cli: %s %s\n", _("error:"), message);
}

static const MienCliCommand *
find_command (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i].name, name))
      return &commands[i];
  return NULL;
}

/* Parses a command's options; on a usage error prints one line and returns FALSE. `--help` is
 * handled by GOption (prints and exits 0). */
gboolean
mien_cli_parse_options (const char          *name,
                        const char          *parameter_string,
                        const GOptionEntry  *entries,
                        int                 *argc,
                        char              ***argv)
{
  const MienCliCommand *command = find_command (name);
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *prgname = NULL;

  g_return_val_if_fail (command != NULL, FALSE);
  prgname = g_strdup_printf ("mien-cli %s", command->name);

  /* GOption's usage line is "PRGNAME [OPTION…] PARAMETERS"; this makes it name the command. */
  g_set_prgname (prgname);

  context = g_option_context_new (parameter_string);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, _(command->summary));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("mien-cli %s: %s\n", command->name, error->message);
      return FALSE;
    }

  return TRUE;
}

MienCliTable *
mien_cli_table_new (guint   n_columns,
                    guint64 right_aligned)
{
  MienCliTable *table = g_new0 (MienCliTable, 1);

  table->n_columns = n_columns;
  table->right_aligned = right_aligned;
  table->cells = g_ptr_array_new_with_free_func (g_free);
  return table;
}

void
mien_cli_table_free (MienCliTable *table)
{
  g_ptr_array_unref (table->cells);
  g_free (table);
}

/* Takes ownership of `cell`. */
void
mien_cli_table_take (MienCliTable *table,
                     char         *cell)
{
  g_ptr_array_add (table->cells, cell != NULL ? cell : g_strdup (""));
}

void
mien_cli_table_print (MienCliTable *table,
                      const char   *indent)
{
  g_autofree glong *widths = g_new0 (glong, table->n_columns);

  for (guint i = 0; i < table->cells->len; i++)
    {
      glong len = g_utf8_strlen (g_ptr_array_index (table->cells, i), -1);

      widths[i % table->n_columns] = MAX (widths[i % table->n_columns], len);
    }

  for (guint i = 0; i < table->cells->len; i++)
    {
      guint column = i % table->n_columns;
      const char *cell = g_ptr_array_index (table->cells, i);
      gboolean last = column == table->n_columns - 1;
      int pad = (int) (widths[column] - g_utf8_strlen (cell, -1));

      if (column == 0)
        g_print ("%s", indent);
      if (table->right_aligned & (G_GUINT64_CONSTANT (1) << column))
        g_print ("%*s%s", pad, "", cell);
      else if (last)
        g_print ("%s", cell);
      else
        g_print ("%s%*s", cell, pad, "");
      g_print (last ? "\n" : "  ");
    }
}

/* 25557032 → "25.6 M": the precision people quote parameter counts with. */
char *
mien_cli_format_count (gint64 n)
{
  if (n < 0)
    return g_strdup ("?");
  if (n >= 1000000000)
    return g_strdup_printf ("%.1f G", n / 1e9);
  if (n >= 1000000)
    return g_strdup_printf ("%.1f M", n / 1e6);
  if (n >= 1000)
    return g_strdup_printf ("%.1f k", n / 1e3);
  return g_strdup_printf ("%" G_GINT64_FORMAT, n);
}

int
mien_cli_usage_error (const char *name,
                      const char *format,
                      ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("mien-cli %s: %s\n", name, message);
  return EXIT_USAGE;
}

gboolean
mien_cli_parse_int (const char  *command,
                    const char  *option,
                    const char  *text,
                    gint64       min,
                    gint64       max,
                    gint64      *value)
{
  gint64 parsed;

  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_signed (text, 10, min, max, &parsed, NULL))
    {
      /* Translators: "--epochs takes a whole number from 1 to 100000, not “0”". */
      mien_cli_usage_error (command, _("--%s takes a whole number from %lld to %lld, not “%s”"),
                            option, (long long) min, (long long) max, text);
      return FALSE;
    }
  *value = parsed;
  return TRUE;
}

gboolean
mien_cli_parse_double (const char    *command,
                       const char    *option,
                       const char    *text,
                       double         min,
                       double         max,
                       MienCliBounds  bounds,
                       double        *value)
{
  char *end = NULL;
  double parsed;

  if (text == NULL)
    return TRUE;
  parsed = g_ascii_strtod (text, &end);
  if (*text == '\0' || end == NULL || *end != '\0' || !isfinite (parsed) ||
      parsed < min || parsed > max ||
      ((bounds & MIEN_CLI_ABOVE_MIN) && parsed == min) ||
      ((bounds & MIEN_CLI_BELOW_MAX) && parsed == max))
    {
      /* An interval as mathematics writes it: [0, 1) excludes 1. */
      g_autofree char *range = g_strdup_printf ("%s%g, %g%s",
                                                (bounds & MIEN_CLI_ABOVE_MIN) ? "(" : "[",
                                                min, max,
                                                (bounds & MIEN_CLI_BELOW_MAX) ? ")" : "]");

      /* Translators: "--val-split takes a number in (0, 1), not “nan”". */
      mien_cli_usage_error (command, _("--%s takes a number in %s, not “%s”"), option, range,
                            text);
      return FALSE;
    }
  *value = parsed;
  return TRUE;
}

gint64
mien_cli_max_threads (void)
{
  return MAX (64, 4 * (gint64) g_get_num_processors ());
}

void
mien_cli_print_json (JsonNode *node)
{
  g_autofree char *text = mien_json_to_string (node, FALSE);

  g_print ("%s\n", text);
  fflush (stdout);
}

/* ---- Progress --------------------------------------------------------------------------- */

struct _MienCliProgress
{
  gboolean tty;
  gint64   last_draw_us;
  int      last_decile;
  gboolean drawn;
};

MienCliProgress *
mien_cli_progress_new (void)
{
  MienCliProgress *progress = g_new0 (MienCliProgress, 1);

  progress->tty = isatty (fileno (stderr));
  progress->last_decile = -1;
  return progress;
}

static char *
format_duration (double seconds)
{
  guint s = (guint) (seconds + 0.5);

  if (seconds < 0)
    return g_strdup ("--:--");
  if (s >= 3600)
    return g_strdup_printf ("%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
  return g_strdup_printf ("%u:%02u", s / 60, s % 60);
}

void
mien_cli_progress_update (MienCliProgress *progress,
                          double           fraction,
                          const char      *text,
                          double           eta_s)
{
  gint64 now = g_get_monotonic_time ();
  g_autofree char *eta = format_duration (eta_s);
  int width = 24, filled;
  int decile = (int) (CLAMP (fraction, 0.0, 1.0) * 10);

  if (!progress->tty)
    {
      if (decile == progress->last_decile)
        return;
      progress->last_decile = decile;
      g_printerr ("%3.0f%%  %s  %s %s\n", CLAMP (fraction, 0.0, 1.0) * 100, text, _("ETA"), eta);
      return;
    }
  if (progress->drawn && now - progress->last_draw_us < 100000 && fraction < 1.0)
    return;
  progress->last_draw_us = now;
  progress->drawn = TRUE;
  filled = (int) (CLAMP (fraction, 0.0, 1.0) * width + 0.5);
  g_printerr ("\r\033[K[");
  for (int i = 0; i < width; i++)
    g_printerr ("%s", i < filled ? "█" : "░");
  g_printerr ("] %3.0f%%  %s  %s %s", CLAMP (fraction, 0.0, 1.0) * 100, text, _("ETA"), eta);
}

void
mien_cli_progress_finish (MienCliProgress *progress)
{
  if (progress->tty && progress->drawn)
    g_printerr ("\n");
  progress->drawn = FALSE;
  progress->last_decile = -1;
}

void
mien_cli_progress_free (MienCliProgress *progress)
{
  if (progress == NULL)
    return;
  mien_cli_progress_finish (progress);
  g_free (progress);
}

void
mien_cli_progress_func (double      fraction,
                        const char *message,
                        gpointer    progress)
{
  mien_cli_progress_update (progress, fraction, message ? message : "", -1.0);
}

static GCancellable *signal_cancellable;

static void
on_signal (int signum)
{
  /* Async-signal-safe: GCancellable's cancel takes a mutex, so a watcher thread does it. */
  static volatile sig_atomic_t count = 0;

  if (++count > 1)
    _exit (130);
  g_atomic_int_set (&signal_pending, 1);
}

static gpointer
signal_watch_thread (gpointer data)
{
  while (!g_atomic_int_get (&signal_pending))
    g_usleep (50000);
  g_printerr ("\n%s\n", _("Stopping after this batch (press Ctrl+C again to quit at once)…"));
  g_cancellable_cancel (signal_cancellable);
  return NULL;
}

void
mien_cli_cancel_on_signals (GCancellable *cancellable)
{
  struct sigaction action = { 0 };

  signal_cancellable = g_object_ref (cancellable);
  action.sa_handler = on_signal;
  sigemptyset (&action.sa_mask);
  sigaction (SIGINT, &action, NULL);
  sigaction (SIGTERM, &action, NULL);
  g_thread_unref (g_thread_new ("mien-signals", signal_watch_thread, NULL));
}

/* ---- plugins -------------------------------------------------------------------------- */

typedef struct {
  const MienBackboneVariant *variant;
  gint64                     parameters;  /* -1 when it could not be counted */
} VariantRow;

/* Where the networks can run: the CPU with libtorch's thread count, and every CUDA device by
 * name. Both the table footer and the JSON "torch" member come from here. */
static void
describe_devices (JsonBuilder *builder,
                  GString     *text)
{
  g_autoptr(GPtrArray) devices = mien_device_list ();

  json_builder_set_member_name (builder, "torch");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, mien_torch_version ());
  json_builder_set_member_name (builder, "threads");
  json_builder_add_int_value (builder, mien_torch_get_num_threads ());
  json_builder_set_member_name (builder, "devices");
  json_builder_begin_array (builder);

  g_string_append_printf (text, _("libtorch %s; devices: cpu (%d threads)"),
                          mien_torch_version (), mien_torch_get_num_threads ());
  for (guint i = 0; i < devices->len; i++)
    {
      MienDeviceInfo *info = devices->pdata[i];

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "device");
      json_builder_add_string_value (builder, info->name);
      if (info->model != NULL)
        {
          json_builder_set_member_name (builder, "name");
          json_builder_add_string_value (builder, info->model);
          g_string_append_printf (text, ", %s (%s)", info->name, info->model);
        }
      json_builder_end_object (builder);
    }
  if (devices->len == 1)
    g_string_append (text, _("; no CUDA device (a CPU-only libtorch, or no GPU)"));

  json_builder_end_array (builder);
  json_builder_end_object (builder);
}

static int
cmd_plugins (int    argc,
             char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      N_("Print one JSON document instead of a table"), NULL },
    { NULL }
  };
  MienPluginEngine *engine;
  GPtrArray *plugins;
  const char * const *engine_errors;
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GString) devices = g_string_new (NULL);

  if (!mien_cli_parse_options ("plugins", "", entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    {
      g_printerr ("mien-cli plugins: %s\n", _("this command takes no arguments"));
      return EXIT_USAGE;
    }

  engine = mien_plugin_engine_get_default ();
  plugins = mien_plugin_engine_get_plugins (engine);
  engine_errors = mien_plugin_engine_get_errors (engine);
  for (guint i = 0; engine_errors[i] != NULL; i++)
    g_ptr_array_add (errors, g_strdup (engine_errors[i]));

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "plugins");
  json_builder_begin_array (builder);

  for (guint i = 0; i < plugins->len; i++)
    {
      const MienPluginInfo *info = g_ptr_array_index (plugins, i);
      g_autoptr(GObject) object = NULL;
      MienBackbone *backbone;
      g_autoptr(MienCliTable) table = NULL;
      const MienBackboneVariant *variants;
      guint n_variants;

      /* Face detectors have a command of their own (detectors). */
      if (!g_str_equal (info->kind, "backbone"))
        continue;
      object = g_object_new (info->type, NULL);
      backbone = MIEN_BACKBONE (object);
      variants = mien_backbone_list_variants (backbone, &n_variants);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, info->id);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, info->name);
      json_builder_set_member_name (builder, "description");
      json_builder_add_string_value (builder, info->description);
      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, info->module_path);
      json_builder_set_member_name (builder, "variants");
      json_builder_begin_array (builder);

      if (!json)
        {
          if (i > 0)
            g_print ("\n");
          g_print ("%s — %s\n", info->id, info->name);
          if (info->description[0] != '\0')
            g_print ("  %s\n", info->description);

          table = mien_cli_table_new (5, (1 << 1) | (1 << 2) | (1 << 3));
          mien_cli_table_take (table, g_strdup (_("VARIANT")));
          /* Translators: the feature dimension D of a backbone's pooled output. */
          mien_cli_table_take (table, g_strdup (_("FEATURES")));
          mien_cli_table_take (table, g_strdup (_("INPUT")));
          mien_cli_table_take (table, g_strdup (_("PARAMETERS")));
          mien_cli_table_take (table, g_strdup (_("DESCRIPTION")));
        }

      for (guint j = 0; j < n_variants; j++)
        {
          const MienBackboneVariant *v = &variants[j];
          g_autoptr(GError) error = NULL;
          gint64 n_params;

          n_params = mien_backbone_count_parameters (backbone, v->name, &error);
          if (n_params < 0)
            g_ptr_array_add (errors,
                             g_strdup_printf (_("%s:%s: cannot count the parameters: %s"),
                                              info->id, v->name, error->message));

          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "name");
          json_builder_add_string_value (builder, v->name);
          json_builder_set_member_name (builder, "description");
          json_builder_add_string_value (builder, v->description);
          json_builder_set_member_name (builder, "feature_dim");
          json_builder_add_int_value (builder, v->feature_dim);
          json_builder_set_member_name (builder, "input_size");
          json_builder_add_int_value (builder, v->input_size);
          json_builder_set_member_name (builder, "parameters");
          if (n_params >= 0)
            json_builder_add_int_value (builder, n_params);
          else
            json_builder_add_null_value (builder);
          /* The first variant is what "FAMILY" alone selects. */
          json_builder_set_member_name (builder, "default");
          json_builder_add_boolean_value (builder, j == 0);
          json_builder_end_object (builder);

          if (table != NULL)
            {
              /* Plugins mark their descriptions with N_() in Mien's domain; the JSON keeps
               * them untranslated, as data. */
              const char *description = _(v->description);

              mien_cli_table_take (table, g_strdup_printf ("%s:%s", info->id, v->name));
              mien_cli_table_take (table, g_strdup_printf ("%" G_GINT64_FORMAT, v->feature_dim));
              mien_cli_table_take (table, g_strdup_printf ("%d", v->input_size));
              mien_cli_table_take (table, mien_cli_format_count (n_params));
              mien_cli_table_take (table, j == 0
                                   /* Translators: a variant's description, then a marker */
                                   ? g_strdup_printf (_("%s (default)"), description)
                                   : g_strdup (description));
            }
        }

      json_builder_end_array (builder);
      json_builder_end_object (builder);

      if (table != NULL)
        mien_cli_table_print (table, "  ");
    }

  json_builder_end_array (builder);
  describe_devices (builder, devices);
  json_builder_set_member_name (builder, "errors");
  json_builder_begin_array (builder);
  for (guint i = 0; i < errors->len; i++)
    json_builder_add_string_value (builder, g_ptr_array_index (errors, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  if (json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (builder);
      g_autofree char *text = mien_json_to_string (root, TRUE);
      /* Not g_print (), which would convert to a non-UTF-8 locale's charset: JSON is UTF-8. */
      fputs (text, stdout);
      fputc ('\n', stdout);
    }

  else
    {
      g_print ("\n%s\n%s\n", _("Parameter counts are the backbone's, without a classifier head."),
               devices->str);
    }

  for (guint i = 0; i < errors->len; i++)
    mien_cli_warning (g_ptr_array_index (errors, i));

  if (plugins->len == 0)
    {
      g_autofree char *dirs = g_strjoinv (", ",
                                          (char **) mien_plugin_engine_get_search_path (engine));
      g_autofree char *message = g_strdup_printf (_("no plugin could be loaded; looked in %s "
                                                    "(set MIEN_PLUGIN_PATH to add folders)"),
                                                  dirs);

      mien_cli_error (message);
      return EXIT_FAILURE;
    }

  return EXIT_SUCCESS;
}

/* ---- help ----------------------------------------------------------------------------- */

static void
print_usage (FILE *stream)
{
  int width = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    width = MAX (width, (int) strlen (commands[i].name));

  fprintf (stream, "%s\n  mien-cli %s\n\n%s\n\n%s\n",
           _("Usage:"), _("COMMAND [OPTION…]"),
           _("Facial expression recognition with Mien, without a display."),
           _("Commands:"));
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (stream, "  %-*s  %s\n", width, commands[i].name, _(commands[i].summary));
  fprintf (stream, "\n%s\n  -h, --help     %s\n  --version      %s\n\n%s\n",
           _("Options:"), _("Show this help"), _("Show the version"),
           _("Run “mien-cli COMMAND --help” for the options of a command."));
}

static int
cmd_help (int    argc,
          char **argv)
{
  const MienCliCommand *command;
  char *help_argv[] = { NULL, (char *) "--help", NULL };
  const GOptionEntry entries[] = { { NULL } };

  if (!mien_cli_parse_options ("help", _("[COMMAND]"), entries, &argc, &argv))
    return EXIT_USAGE;

  if (argc < 2)
    {
      print_usage (stdout);
      return EXIT_SUCCESS;
    }

  command = find_command (argv[1]);
  if (command == NULL || command->func == cmd_help)
    {
      if (command == NULL)
        g_printerr ("mien-cli help: %s\n", _("no such command; run “mien-cli help” for a list"));
      else
        print_usage (stdout);
      return command == NULL ? EXIT_USAGE : EXIT_SUCCESS;
    }

  /* GOption prints the command's help and exits 0. */
  help_argv[0] = (char *) command->name;
  return command->func (2, help_argv);
}

/* ---- main ----------------------------------------------------------------------------- */

int
main (int    argc,
      char **argv)
{
  const MienCliCommand *command;

  setlocale (LC_ALL, "");
  g_set_prgname ("mien-cli");
  mien_init ();

  if (argc < 2)
    {
      print_usage (stderr);
      return EXIT_USAGE;
    }

  if (g_str_equal (argv[1], "--version"))
    {
      g_print ("mien-cli %s (libtorch %s)\n", PACKAGE_VERSION, mien_torch_version ());
      return EXIT_SUCCESS;
    }
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h"))
    {
      print_usage (stdout);
      return EXIT_SUCCESS;
    }

  command = find_command (argv[1]);
  if (command == NULL)
    {
      g_autofree char *message = NULL;

      if (argv[1][0] == '-')
        message = g_strdup_printf (_("unknown option “%s”; run “mien-cli help” for usage"),
                                   argv[1]);
      else
        message = g_strdup_printf (_("unknown command “%s”; run “mien-cli help” for a list"),
                                   argv[1]);
      g_printerr ("mien-cli: %s\n", message);
      return EXIT_USAGE;
    }

  /* The command sees itself as argv[0], so GOption parses only what follows it. */
  return command->func (argc - 1, argv + 1);
}
