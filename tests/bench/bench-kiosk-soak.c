/* bench-kiosk-soak.c — kiosk mode left running: resident memory over thousands of frames.
 *
 *   bench-kiosk-soak [--frames 10000] [--warmup 1000] [--interval 5] [--size 64]
 *                    [--model FILE]... PHOTO...
 *
 * The real MienKioskWindow (it needs a display: kiosk-soak.sh runs this under Xvfb) on a
 * looped video of the photos (each pasted on a grey 640×480 canvas, shown for a second at
 * 30 frames/s), with its log on and its snapshots folder in a scratch folder, until --frames
 * frames are shown. The models: the --model files, else a random resnet:18 at --size px
 * (random weights: the work per frame does not depend on them). Resident memory is sampled
 * every --interval seconds; GLib warnings and criticals are counted (and still printed).
 *
 * Prints one SAMPLE line per sample and then
 *   RESULT frames=N classified=N rss_warmup_mib=X rss_end_mib=Y growth_pct=Z max_mib=M warnings=W
 * X is the median of the first samples once --warmup frames were shown, Y the median of the
 * last ones (a fifth of the samples after the warm-up each, at least one): single samples
 * swing by several MiB as malloc's per-thread arenas grow and shrink, a leak moves both
 * medians apart.
 */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mien-core.h"
#include "mien-kiosk-window.h"
#include "mien-model.h"
#include "mien-test-util.h"

#define FRAME_WIDTH  640
#define FRAME_HEIGHT 480
#define FPS          30

static int opt_frames = 10000;
static int opt_warmup = 1000;
static int opt_interval = 5;
static int opt_size = 64;
static char **opt_models = NULL;

static guint n_warnings;

static const char * const classes[] = {
  "anger", "disgust", "fear", "happiness", "sadness", "surprise", NULL
};

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* The median of `n` values from `values`. */
static double
median (const double *values,
        guint         n)
{
  g_autofree double *sorted = g_memdup2 (values, n * sizeof (double));

  qsort (sorted, n, sizeof (double), compare_doubles);
  return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

static GLogWriterOutput
count_warnings (GLogLevelFlags   level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  if (level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR))
    n_warnings++;
  return g_log_writer_default (level, fields, n_fields, user_data);
}

static double
rss_mib (void)
{
  g_autofree char *statm = NULL;
  long pages = 0;

  if (g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL))
    {
      /* "size resident shared …", in pages. */
      g_auto(GStrv) fields = g_strsplit (statm, " ", 3);

      if (fields[0] != NULL && fields[1] != NULL)
        pages = strtol (fields[1], NULL, 10);
    }
  return pages * (double) sysconf (_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* The photo scaled to fit and centred on a grey canvas of the frame's size. */
static GdkPixbuf *
canvas_frame (const char  *photo,
              GError     **error)
{
  g_autoptr(GdkPixbuf) image = gdk_pixbuf_new_from_file_at_scale (photo, FRAME_WIDTH,
                                                                  FRAME_HEIGHT, TRUE, error);
  GdkPixbuf *canvas;

  if (image == NULL)
    return NULL;
  canvas = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, FRAME_WIDTH, FRAME_HEIGHT);
  gdk_pixbuf_fill (canvas, 0x808080ff);
  gdk_pixbuf_copy_area (image, 0, 0, gdk_pixbuf_get_width (image), gdk_pixbuf_get_height (image),
                        canvas, (FRAME_WIDTH - gdk_pixbuf_get_width (image)) / 2,
                        (FRAME_HEIGHT - gdk_pixbuf_get_height (image)) / 2);
  return canvas;
}

static char *
write_random_model (const char  *folder,
                    GError     **error)
{
  g_autoptr(MienModel) model = mien_test_random_model ("resnet:18", opt_size, classes, FALSE);
  char *path = g_build_filename (folder, "soak.safetensors", NULL);

  if (!mien_model_save (model, path, NULL, NULL, error))
    g_clear_pointer (&path, g_free);
  return path;
}

int
main (int   argc,
      char *argv[])
{
  static const GOptionEntry entries[] = {
    { "frames", 0, 0, G_OPTION_ARG_INT, &opt_frames, "Frames to show (10000)", "N" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &opt_warmup, "Frames before the reference sample (1000)", "N" },
    { "interval", 0, 0, G_OPTION_ARG_INT, &opt_interval, "Seconds between samples (5)", "S" },
    { "size", 0, 0, G_OPTION_ARG_INT, &opt_size, "The random model's input size (64)", "PX" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_models, "A model file (repeatable)", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("PHOTO… — kiosk mode's memory");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(AdwApplication) app = NULL;
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(MienStudio) studio = NULL;
  g_autofree char *scratch = NULL;
  g_autofree char *video = NULL;
  g_autofree char *source = NULL;
  g_autofree char *model = NULL;
  g_autofree char *snapshots = NULL;
  const char *models[2] = { NULL, NULL };
  MienKioskWindow *kiosk;
  g_autoptr(GArray) samples = g_array_new (FALSE, FALSE, sizeof (double));
  double warm, end, peak = 0, last = 0;
  guint k;
  gint64 next_sample;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc < 2 ||
      opt_frames <= 0 || opt_warmup < 0 || opt_warmup >= opt_frames || opt_interval <= 0)
    {
      g_printerr ("bench-kiosk-soak: %s\n", error != NULL ? error->message
                  : "give one photo or more, --frames > --warmup >= 0, --interval > 0");
      return 2;
    }
  g_log_set_writer_func (count_warnings, NULL, NULL);
  mien_init ();

  scratch = g_dir_make_tmp ("mien-kiosk-soak-XXXXXX", &error);
  g_assert_no_error (error);
  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GdkPixbuf) canvas = canvas_frame (argv[i], &error);

      if (canvas == NULL)
        {
          g_printerr ("bench-kiosk-soak: %s\n", error->message);
          return 1;
        }
      for (int f = 0; f < FPS; f++)
        g_ptr_array_add (frames, g_object_ref (canvas));
    }
  video = g_build_filename (scratch, "photos.avi", NULL);
  if (!mien_test_write_video (video, (GdkPixbuf * const *) frames->pdata, frames->len, FPS,
                              &error))
    {
      g_printerr ("bench-kiosk-soak: cannot write the video: %s\n", error->message);
      return 1;
    }
  g_clear_pointer (&frames, g_ptr_array_unref);
  source = g_strconcat ("file:", video, NULL);
  if (opt_models == NULL)
    {
      model = write_random_model (scratch, &error);
      if (model == NULL)
        {
          g_printerr ("bench-kiosk-soak: %s\n", error->message);
          return 1;
        }
      models[0] = model;
    }

  app = adw_application_new (NULL, G_APPLICATION_NON_UNIQUE);
  if (!g_application_register (G_APPLICATION (app), NULL, &error))
    {
      g_printerr ("bench-kiosk-soak: %s\n", error->message);
      return 1;
    }
  g_application_hold (G_APPLICATION (app));
  settings = g_settings_new (MIEN_APP_ID);
  snapshots = g_build_filename (scratch, "snapshots", NULL);
  g_settings_set_string (settings, "snapshots-folder", snapshots);
  g_settings_set_boolean (settings, "kiosk-log", TRUE);
  studio = mien_studio_new (settings);

  kiosk = MIEN_KIOSK_WINDOW (mien_kiosk_window_new (GTK_APPLICATION (app), studio,
                                                    opt_models != NULL
                                                    ? (const char * const *) opt_models
                                                    : models, source));
  gtk_window_present (GTK_WINDOW (kiosk));
  next_sample = g_get_monotonic_time () + opt_interval * G_USEC_PER_SEC;
  while (mien_kiosk_window_get_n_frames_shown (kiosk) < (guint64) opt_frames)
    {
      g_main_context_iteration (NULL, TRUE);
      if (g_get_monotonic_time () < next_sample)
        continue;
      next_sample += opt_interval * G_USEC_PER_SEC;
      last = rss_mib ();
      if (mien_kiosk_window_get_n_frames_shown (kiosk) >= (guint64) opt_warmup)
        g_array_append_val (samples, last);
      g_print ("SAMPLE frames=%" G_GUINT64_FORMAT " classified=%" G_GUINT64_FORMAT
               " state=%d rss_mib=%.1f\n", mien_kiosk_window_get_n_frames_shown (kiosk),
               mien_kiosk_window_get_n_predictions (kiosk), mien_kiosk_window_get_state (kiosk),
               last);
    }
  last = rss_mib ();
  g_array_append_val (samples, last);
  for (guint i = 0; i < samples->len; i++)
    peak = MAX (peak, g_array_index (samples, double, i));
  k = MAX (samples->len / 5, 1);
  warm = median ((const double *) samples->data, k);
  end = median ((const double *) samples->data + samples->len - k, k);
  g_print ("RESULT frames=%" G_GUINT64_FORMAT " classified=%" G_GUINT64_FORMAT
           " rss_warmup_mib=%.1f rss_end_mib=%.1f growth_pct=%.2f max_mib=%.1f warnings=%u\n",
           mien_kiosk_window_get_n_frames_shown (kiosk),
           mien_kiosk_window_get_n_predictions (kiosk), warm, end,
           100.0 * (end - warm) / warm, peak, n_warnings);

  gtk_window_destroy (GTK_WINDOW (kiosk));
  g_application_release (G_APPLICATION (app));
  mien_test_remove_tree (scratch);
  g_strfreev (opt_models);
  return 0;
}
