/* mien-studio.c — the state the studio's pages share. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mien-demo-data.h"
#include "mien-face-model.h"
#include "mien-studio.h"

struct _MienStudio
{
  GObject           parent_instance;

  GSettings        *settings;
  MienPluginEngine *engine;

  char             *dataset_path;
  MienDataset      *dataset;
  MienDataset      *val_dataset;
  MienDataset      *full_dataset;   /* the whole file, whose splits the page offers */
  char             *dataset_split;
  MienDatasetStats *stats;
  GCancellable     *load_cancellable;

  GListStore       *runs;
  GCancellable     *runs_cancellable;

  gboolean          busy;
  double            progress;
  char             *progress_text;
  /* Progress reports from a worker that have not reached the main loop yet: at most one is
   * queued at a time, the latest values win. */
  GMutex            progress_lock;
  gboolean          progress_queued;
  double            pending_fraction;
  char             *pending_text;
};

G_DEFINE_FINAL_TYPE (MienStudio, mien_studio, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_BUSY,
  PROP_PROGRESS,
  PROP_PROGRESS_TEXT,
  PROP_DATASET_PATH,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_DATASET_CHANGED,
  SIGNAL_RUNS_CHANGED,
  SIGNAL_MESSAGE,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void
mien_studio_dispose (GObject *object)
{
  MienStudio *self = MIEN_STUDIO (object);

  g_cancellable_cancel (self->load_cancellable);
  g_cancellable_cancel (self->runs_cancellable);
  g_clear_object (&self->load_cancellable);
  g_clear_object (&self->runs_cancellable);
  g_clear_object (&self->dataset);
  g_clear_object (&self->val_dataset);
  g_clear_object (&self->full_dataset);
  g_clear_pointer (&self->stats, mien_dataset_stats_free);
  g_clear_object (&self->runs);
  g_clear_object (&self->settings);
  g_clear_object (&self->engine);
  G_OBJECT_CLASS (mien_studio_parent_class)->dispose (object);
}

static void
mien_studio_finalize (GObject *object)
{
  MienStudio *self = MIEN_STUDIO (object);

  g_free (self->dataset_path);
  g_free (self->dataset_split);
  g_free (self->progress_text);
  g_free (self->pending_text);
  g_mutex_clear (&self->progress_lock);
  G_OBJECT_CLASS (mien_studio_parent_class)->finalize (object);
}

static void
mien_studio_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  MienStudio *self = MIEN_STUDIO (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    case PROP_PROGRESS:
      g_value_set_double (value, self->progress);
      break;
    case PROP_PROGRESS_TEXT:
      g_value_set_string (value, self->progress_text);
      break;
    case PROP_DATASET_PATH:
      g_value_set_string (value, self->dataset_path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mien_studio_class_init (MienStudioClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mien_studio_dispose;
  object_class->finalize = mien_studio_finalize;
  object_class->get_property = mien_studio_get_property;

  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_PROGRESS] =
    g_param_spec_double ("progress", NULL, NULL, -1.0, 1.0, -1.0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_PROGRESS_TEXT] =
    g_param_spec_string ("progress-text", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_DATASET_PATH] =
    g_param_spec_string ("dataset-path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_DATASET_CHANGED] =
    g_signal_new ("dataset-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_RUNS_CHANGED] =
    g_signal_new ("runs-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_MESSAGE] =
    g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
mien_studio_init (MienStudio *self)
{
  g_mutex_init (&self->progress_lock);
  self->progress = -1.0;
  self->runs = g_list_store_new (MIEN_TYPE_RUN);
}

MienStudio *
mien_studio_new (GSettings *settings)
{
  MienStudio *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (MIEN_TYPE_STUDIO, NULL);
  self->settings = g_object_ref (settings);
  self->engine = g_object_ref (mien_plugin_engine_get_default ());
  mien_plugin_engine_load (self->engine);
  return self;
}

MienPluginEngine *
mien_studio_get_engine (MienStudio *self)
{
  g_return_val_if_fail (MIEN_IS_STUDIO (self), NULL);
  return self->engine;
}

GSettings *
mien_studio_get_settings (MienStudio *self)
{
  g_return_val_if_fail (MIEN_IS_STUDIO (self), NULL);
  return self->settings;
}

/* The folder a settings key names, or XDG_DATA_HOME/mien/<fallback>; created. */
static char *
dup_folder (MienStudio *self,
            const char *key,
            const char *fallback)
{
  g_autofree char *value = g_settings_get_string (self->settings, key);
  char *dir;

  if (value[0] != '\0')
    dir = g_canonicalize_filename (value, NULL);
  else
    dir = g_build_filename (g_get_user_data_dir (), "mien", fallback, NULL);
  /* A folder that cannot be made shows up as an error where it is used (with its reason). */
  g_mkdir_with_parents (dir, 0755);
  return dir;
}

char *
mien_studio_dup_runs_dir (MienStudio *self)
{
  g_return_val_if_fail (MIEN_IS_STUDIO (self), NULL);
  return dup_folder (self, "runs-folder", "runs");
}

char *
mien_studio_dup_datasets_dir (MienStudio *self)
{
  g_return_val_if_fail (MIEN_IS_STUDIO (self), NULL);
  return dup_folder (self, "datasets-folder", "datasets");
}

char *
mien_studio_dup_demo_dir (MienStudio *self)
{
  g_autofree char *datasets = mien_studio_dup_datasets_dir (self);

  return g_build_filename (datasets, "demo", NULL);
}

MienDevice
mien_studio_get_device (MienStudio *self)
{
  g_autofree char *name = NULL;
  MienDevice device;

  g_return_val_if_fail (MIEN_IS_STUDIO (self), mien_device_cpu ());

  name = g_settings_get_string (self->settings, "device");
  if (!mien_device_parse (name, &device, NULL))
    return mien_device_cpu ();
  return device;
}

int
mien_studio_get_threads (MienStudio *self)
{
  int threads;

  g_return_val_if_fail (MIEN_IS_STUDIO (self), 1);

  threads = g_settings_get_int (self->settings, "threads");
  return threads > 0 ? threads : (int) g_get_num_processors ();
}

/* ---- Progress of work in threads ------------------------------------------------------- */

static void
set_busy (MienStudio *self,
          gboolean    busy)
{
  if (self->busy == busy)
    return;
  self->busy = busy;
  if (!busy)
    {
      self->progress = -1.0;
      g_clear_pointer (&self->progress_text, g_free);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS_TEXT]);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
set_progress (MienStudio *self,
              double      fraction,
              const char *text)
{
  self->progress = fraction;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
  if (g_strcmp0 (text, self->progress_text) != 0)
    {
      g_free (self->progress_text);
      self->progress_text = g_strdup (text);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS_TEXT]);
    }
}

static gboolean
deliver_progress (gpointer data)
{
  MienStudio *self = data;
  g_autofree char *text = NULL;
  double fraction;

  g_mutex_lock (&self->progress_lock);
  fraction = self->pending_fraction;
  text = g_steal_pointer (&self->pending_text);
  self->progress_queued = FALSE;
  g_mutex_unlock (&self->progress_lock);

  if (self->busy)
    set_progress (self, fraction, text);
  return G_SOURCE_REMOVE;
}

/* A MienProgressFunc for work in threads: the main loop sees the latest report. */
static void
thread_progress (double      fraction,
                 const char *message,
                 gpointer    user_data)
{
  MienStudio *self = user_data;
  gboolean queue;

  g_mutex_lock (&self->progress_lock);
  self->pending_fraction = fraction;
  g_free (self->pending_text);
  self->pending_text = g_strdup (message);
  queue = !self->progress_queued;
  self->progress_queued = TRUE;
  g_mutex_unlock (&self->progress_lock);

  if (queue)
    mien_main_context_post (NULL, G_PRIORITY_DEFAULT, "[mien] studio progress", deliver_progress,
                            g_object_ref (self), g_object_unref);
}

/* ---- Faces ------------------------------------------------------------------------------ */

typedef struct {
  MienPluginEngine *engine;
  char             *model_file;  /* NULL: the default path */
  double            min_face_fraction;
} DetectorData;

static void
detector_data_free (DetectorData *data)
{
  g_clear_object (&data->engine);
  g_free (data->model_file);
  g_free (data);
}

static void
detector_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  DetectorData *data = task_data;
  GError *error = NULL;
  MienFaceDetector *detector =
    mien_face_model_open_detector (data->engine, NULL, data->model_file, &error);

  if (detector == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (data->min_face_fraction > 0 &&
      g_object_class_find_property (G_OBJECT_GET_CLASS (detector), "min-face-fraction") != NULL)
    g_object_set (detector, "min-face-fraction", data->min_face_fraction, NULL);
  g_task_return_pointer (task, detector, g_object_unref);
}

void
mien_studio_open_face_detector_async (MienStudio          *self,
                                      double               min_face_fraction,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *model_file = NULL;
  DetectorData *data;

  g_return_if_fail (MIEN_IS_STUDIO (self));

  model_file = g_settings_get_string (self->settings, "face-model");
  data = g_new0 (DetectorData, 1);
  data->engine = g_object_ref (self->engine);
  data->model_file = model_file[0] != '\0' ? g_steal_pointer (&model_file) : NULL;
  data->min_face_fraction = min_face_fraction;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mien_studio_open_face_detector_async);
  g_task_set_check_cancellable (task, TRUE);
  g_task_set_task_data (task, data, (GDestroyNotify) detector_data_free);
  g_task_run_in_thread (task, detector_thread);
}

MienFaceDetector *
mien_studio_open_face_detector_finish (MienStudio    *self,
                                       GAsyncResult  *result,
                                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- Messages --------------------------------------------------------------------------- */

void
mien_studio_post_message (MienStudio *self,
                          const char *message)
{
  g_return_if_fail (MIEN_IS_STUDIO (self));
  g_return_if_fail (message != NULL);

  g_signal_emit (self, signals[SIGNAL_MESSAGE], 0, message);
}

void
mien_studio_post_error (MienStudio   *self,
                        const char   *what,
                        const GError *error)
{
  g_autofree char *message = NULL;

  g_return_if_fail (MIEN_IS_STUDIO (self));

  if (error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (what != NULL && error != NULL)
    message = g_strdup_printf ("%s: %s", what, error->message);
  else
    message = g_strdup (what != NULL ? what : error != NULL ? error->message : _("Unknown error"));
  mien_studio_post_message (self, message);
}

/* ---- The open dataset ------------------------------------------------------------------ */

typedef struct {
  char             *path;
  char             *split;       /* asked for, then the one shown */
  gboolean          remembered_split;  /* from the last session: the default when it is gone */
  gboolean          make_demo;   /* write the demo set into `path` first */
  MienDataset      *full;
  MienDataset      *dataset;
  MienDataset      *val_dataset;
  MienDatasetStats *stats;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_free (data->path);
  g_free (data->split);
  g_clear_object (&data->full);
  g_clear_object (&data->dataset);
  g_clear_object (&data->val_dataset);
  g_clear_pointer (&data->stats, mien_dataset_stats_free);
  g_free (data);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  MienStudio *self = source_object;
  LoadData *data = task_data;
  g_autofree char *train_dir = g_build_filename (data->path, "train", NULL);
  g_autofree char *val_dir = g_build_filename (data->path, "val", NULL);
  const char *train_path = data->path;
  GError *error = NULL;

  if (data->make_demo)
    {
      MienDemoDataOptions options = MIEN_DEMO_DATA_OPTIONS_INIT;

      if (!mien_demo_data_generate (data->path, &options, thread_progress, self,
                                    cancellable, &error))
        {
          g_task_return_error (task, error);
          return;
        }
    }

  /* The layout mien-cli demo-data writes, and that the trainer reads as train + val. */
  if (g_file_test (train_dir, G_FILE_TEST_IS_DIR) && g_file_test (val_dir, G_FILE_TEST_IS_DIR))
    train_path = train_dir;
  else
    g_clear_pointer (&val_dir, g_free);

  data->full = mien_dataset_open (train_path, NULL, &error);
  if (data->full == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* A file with several splits (fer2013.csv) shows one, as the trainer would use it. */
  /* A split remembered from the last session that the file no longer has: its default. */
  if (data->remembered_split && data->split != NULL &&
      !g_strv_contains (mien_dataset_get_splits (data->full), data->split))
    g_clear_pointer (&data->split, g_free);
  if (data->split == NULL && g_strv_length ((char **) mien_dataset_get_splits (data->full)) > 1)
    data->split = g_strdup ("train");
  data->dataset = mien_dataset_select_split (data->full, data->split, &error);
  if (data->dataset == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (data->split != NULL && g_strcmp0 (data->split, "val") != 0 &&
      g_strv_contains (mien_dataset_get_splits (data->full), "val"))
    data->val_dataset = mien_dataset_select_split (data->full, "val", NULL);
  if (val_dir != NULL)
    {
      data->val_dataset = mien_dataset_open (val_dir, mien_dataset_get_classes (data->dataset),
                                             &error);
      if (data->val_dataset == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }
  data->stats = mien_dataset_compute_stats (data->dataset, 0, thread_progress, self,
                                            cancellable, &error);
  if (data->stats == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
load_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  MienStudio *self = MIEN_STUDIO (source);
  LoadData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;  /* a newer load took over and owns "busy" */
      set_busy (self, FALSE);
      mien_studio_post_error (self, data->make_demo ? _("Could not create the demo dataset")
                                                    : _("Could not open the dataset"),
                              error);
      return;
    }

  g_set_object (&self->dataset, data->dataset);
  g_set_object (&self->val_dataset, data->val_dataset);
  g_set_object (&self->full_dataset, data->full);
  g_free (self->dataset_split);
  self->dataset_split = g_strdup (data->split);
  g_clear_pointer (&self->stats, mien_dataset_stats_free);
  self->stats = g_steal_pointer (&data->stats);
  g_free (self->dataset_path);
  self->dataset_path = g_strdup (data->path);
  g_settings_set_string (self->settings, "last-dataset", data->path);
  g_settings_set_string (self->settings, "last-dataset-split", data->split ? data->split : "");
  set_busy (self, FALSE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATASET_PATH]);
  g_signal_emit (self, signals[SIGNAL_DATASET_CHANGED], 0);
}

static void
start_load (MienStudio *self,
            const char *path,
            const char *split,
            gboolean    remembered_split,
            gboolean    make_demo)
{
  g_autoptr(GTask) task = NULL;
  LoadData *data = g_new0 (LoadData, 1);
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *text = make_demo ? g_strdup (_("Drawing the demo dataset…"))
                                    : g_strdup_printf (_("Reading “%s”…"), name);

  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();

  data->path = g_canonicalize_filename (path, NULL);
  data->split = g_strdup (split);
  data->remembered_split = remembered_split;
  data->make_demo = make_demo;
  task = g_task_new (self, self->load_cancellable, load_done, NULL);
  g_task_set_source_tag (task, start_load);
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);

  set_busy (self, TRUE);
  set_progress (self, 0.0, text);
  g_task_run_in_thread (task, load_thread);
}

void
mien_studio_open_dataset (MienStudio *self,
                          const char *path)
{
  g_return_if_fail (MIEN_IS_STUDIO (self));
  g_return_if_fail (path != NULL);

  start_load (self, path, NULL, FALSE, FALSE);
}

void
mien_studio_open_dataset_split (MienStudio *self,
                                const char *path,
                                const char *split)
{
  g_return_if_fail (MIEN_IS_STUDIO (self));
  g_return_if_fail (path != NULL);

  start_load (self, path, split, FALSE, FALSE);
}

void
mien_studio_open_initial_dataset (MienStudio *self)
{
  g_autofree char *last = NULL;
  g_autofree char *demo = NULL;
  g_autofree char *demo_train = NULL;

  g_return_if_fail (MIEN_IS_STUDIO (self));

  last = g_settings_get_string (self->settings, "last-dataset");
  if (last[0] != '\0' && g_file_test (last, G_FILE_TEST_EXISTS))
    {
      g_autofree char *split = g_settings_get_string (self->settings, "last-dataset-split");

      start_load (self, last, split[0] != '\0' ? split : NULL, TRUE, FALSE);
      return;
    }
  demo = mien_studio_dup_demo_dir (self);
  demo_train = g_build_filename (demo, "train", NULL);
  start_load (self, demo, NULL, FALSE, !g_file_test (demo_train, G_FILE_TEST_IS_DIR));
}

const char *
mien_studio_get_dataset_path (MienStudio *self)
{
  g_return_val_if_fail (MIEN_IS_STUDIO (self), NULL);
  return self->dataset_path;
}

MienDataset *
mien_studio_get_dataset (MienStudio *self)
{
  g_return_val_if_fail (MIEN_IS_STUDIO (self), NULL);
  return self->dataset;
}

MienDatasetStats *
mien_studio_get_stats (MienStudio *self)
{
  g_return_val_if_fail (MIEN_IS_STUDIO (self), NULL);
  return self->stats;
}

MienDataset *
mien_studio_get_val_dataset (MienStudio *self)
{
  g_return_val_if_fail (MIEN_IS_STUDIO (self), NULL);
  return self->val_dataset;
}

const char *
mien_studio_get_dataset_split (MienStudio *self)
{
  g_return_val_if_fail (MIEN_IS_STUDIO (self), NULL);
  return self->dataset_split;
}

const char * const *
mien_studio_get_dataset_splits (MienStudio *self)
{
  static const char * const none[] = { NULL };

  g_return_val_if_fail (MIEN_IS_STUDIO (self), NULL);
  return self->full_dataset != NULL ? mien_dataset_get_splits (self->full_dataset) : none;
}

/* ---- Past runs -------------------------------------------------------------------------- */

static void
runs_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  const char *dir = task_data;
  g_autoptr(GPtrArray) problems = NULL;
  GPtrArray *runs = mien_run_list (dir, &problems);

  /* A folder that is not a run (or is half written) is not the user's mistake to be told
   * about at every start; it is left out of the list and logged for whoever looks. */
  for (guint i = 0; problems != NULL && i < problems->len; i++)
    g_debug ("Runs folder: %s", (const char *) g_ptr_array_index (problems, i));
  g_task_return_pointer (task, runs, (GDestroyNotify) g_ptr_array_unref);
}

static void
runs_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  MienStudio *self = MIEN_STUDIO (source);
  g_autoptr(GPtrArray) runs = g_task_propagate_pointer (G_TASK (result), NULL);

  if (runs == NULL)  /* cancelled: a newer reload is on its way */
    return;
  g_list_store_splice (self->runs, 0, g_list_model_get_n_items (G_LIST_MODEL (self->runs)),
                       runs->pdata, runs->len);
  g_signal_emit (self, signals[SIGNAL_RUNS_CHANGED], 0);
}

void
mien_studio_reload_runs (MienStudio *self)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (MIEN_IS_STUDIO (self));

  g_cancellable_cancel (self->runs_cancellable);
  g_clear_object (&self->runs_cancellable);
  self->runs_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->runs_cancellable, runs_done, NULL);
  g_task_set_source_tag (task, mien_studio_reload_runs);
  g_task_set_check_cancellable (task, TRUE);
  g_task_set_task_data (task, mien_studio_dup_runs_dir (self), g_free);
  g_task_run_in_thread (task, runs_thread);
}

GListModel *
mien_studio_get_runs (MienStudio *self)
{
  g_return_val_if_fail (MIEN_IS_STUDIO (self), NULL);
  return G_LIST_MODEL (self->runs);
}

MienRun *
mien_studio_find_run (MienStudio *self,
                      const char *path)
{
  guint n;

  g_return_val_if_fail (MIEN_IS_STUDIO (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  n = g_list_model_get_n_items (G_LIST_MODEL (self->runs));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(MienRun) run = g_list_model_get_item (G_LIST_MODEL (self->runs), i);

      if (g_strcmp0 (mien_run_get_path (run), path) == 0)
        return run;  /* the store keeps it alive */
    }
  return NULL;
}

/* ---- Models ----------------------------------------------------------------------------- */

typedef struct {
  char           **paths;
  MienDevice       device;
  MienPluginEngine *engine;
} EnsembleData;

static void
ensemble_data_free (EnsembleData *data)
{
  g_strfreev (data->paths);
  g_clear_object (&data->engine);
  g_free (data);
}

static void
ensemble_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  EnsembleData *data = task_data;
  GError *error = NULL;
  MienEnsemble *ensemble = mien_ensemble_load (data->engine, (const char * const *) data->paths,
                                               data->device, &error);

  if (ensemble == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, ensemble, g_object_unref);
}

void
mien_studio_load_ensemble_async (MienStudio          *self,
                                 const char * const  *paths,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  EnsembleData *data;

  g_return_if_fail (MIEN_IS_STUDIO (self));
  g_return_if_fail (paths != NULL);

  data = g_new0 (EnsembleData, 1);
  data->paths = g_strdupv ((char **) paths);
  data->device = mien_studio_get_device (self);
  data->engine = g_object_ref (self->engine);
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mien_studio_load_ensemble_async);
  g_task_set_check_cancellable (task, TRUE);
  g_task_set_task_data (task, data, (GDestroyNotify) ensemble_data_free);
  g_task_run_in_thread (task, ensemble_thread);
}

MienEnsemble *
mien_studio_load_ensemble_finish (MienStudio    *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
