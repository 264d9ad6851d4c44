/* mien-loader.c — the input pipeline: decoded, resized uint8 batches, prepared ahead.
 *
 * Threads: the caller (one thread), a producer per epoch, and a pool of decoding workers shared
 * by prepare () and the producer. The producer keeps several batches in flight in the pool, so
 * workers never wait for a batch boundary, and turns finished ones into tensors while the
 * workers go on; the caller pops them from a bounded queue.
 *
 * The cache gives sample i (i < cache capacity) a fixed slice of one buffer. A slice is written
 * once, by whoever wins the EMPTY → FILLING transition of the sample's state, and read only once
 * the state is CACHED (release/acquire through the atomic state), so readers need no lock.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "mien-image.h"
#include "mien-loader.h"

#define DEFAULT_PREFETCH 4

enum {
  STATE_UNKNOWN,  /* never decoded */
  STATE_FILLING,  /* a worker is decoding it into its cache slice */
  STATE_CACHED,   /* decoded, pixels in the cache */
  STATE_OK,       /* decoded fine, but it has no cache slice */
  STATE_BAD,      /* failed to decode; its reason is in `reasons` */
};

typedef struct _Epoch Epoch;

/* A batch being filled by the workers. */
typedef struct {
  Epoch     *epoch;
  MienSlot  *slots;
  guint      n;
  guint8    *pixels;    /* n images, from the producer's staging buffers */
  gboolean  *ok;        /* n */
  gint       pending;   /* tasks not finished (atomic) */
  gboolean   done;      /* under the loader's job_lock */
} BatchJob;

typedef struct {
  guint64  sum[3];
  guint64  sum_sq[3];
  guint    n_ok;
} PrepareResult;

typedef struct {
  GAsyncQueue *results;   /* PrepareResult * */
  gint         cancelled; /* atomic */
} PrepareJob;

typedef enum {
  TASK_BATCH,
  TASK_PREPARE,
} TaskKind;

typedef struct {
  TaskKind  kind;
  guint     start, end;  /* rows of the batch, or sample indices */
  BatchJob   *batch;
  PrepareJob *prepare;
} Task;

/* What the producer hands to next (): a batch, an error, or (both NULL) the end of the epoch. */
typedef struct {
  MienBatch *batch;
  GError    *error;
} Item;

struct _Epoch
{
  MienLoader *loader;
  GArray     *slots;     /* MienSlot */
  gint        stop;      /* atomic */
  GThread    *producer;

  /* The bounded queue of Items, guarded by the loader's queue_lock. */
  GQueue      items;
  gboolean    finished;  /* the end marker was taken by next () */
};

struct _MienLoader
{
  MienDataset       *dataset;
  MienLoaderOptions  options;
  gsize              image_bytes;
  guint              n_samples;
  GThreadPool       *pool;

  guint8            *cache;
  guint              cache_capacity;  /* samples [0, cache_capacity) have a slice */
  gint              *state;           /* per sample, atomic */

  GMutex             reasons_lock;
  char             **reasons;         /* per sample: "PATH: reason" or NULL */
  GPtrArray         *unreadable;      /* borrowed strings from `reasons`, rebuilt on demand */

  gboolean           prepared;
  double             mean[3];
  double             std[3];

  /* Batch completion: workers signal, the producer waits. */
  GMutex             job_lock;
  GCond              job_cond;

  GMutex             queue_lock;
  GCond              queue_cond;      /* items added or removed, stop requested, cancelled */
  Epoch             *epoch;
};

void
mien_batch_free (MienBatch *batch)
{
  if (batch == NULL)
    return;
  g_clear_pointer (&batch->images, mien_tensor_free);
  g_clear_pointer (&batch->labels, mien_tensor_free);
  g_free (batch->slots);
  g_free (batch);
}

/* ---- Decoding (worker side) ------------------------------------------------------------ */

/* `error` is mien_dataset_decode ()'s, whose message is already "PATH: reason". */
static void
record_unreadable (MienLoader *self,
                   guint       index,
                   GError     *error)
{
  g_mutex_lock (&self->reasons_lock);
  if (self->reasons[index] == NULL)
    self->reasons[index] = g_strdup (error->message);
  g_mutex_unlock (&self->reasons_lock);
}

static gboolean
decode_to (MienLoader *self,
           guint       index,
           guint8     *dest)
{
  g_autoptr(GError) error = NULL;

  if (mien_dataset_decode (self->dataset, index, self->options.input_size, self->options.grey,
                           dest, NULL, &error))
    return TRUE;
  record_unreadable (self, index, error);
  return FALSE;
}

/* Makes sample `index` available: returns its pixels (in the cache, or written to `scratch`), or
 * NULL when it cannot be decoded. */
static const guint8 *
fetch (MienLoader *self,
       guint       index,
       guint8     *scratch)
{
  gint *state = &self->state[index];
  int s = g_atomic_int_get (state);

  if (s == STATE_CACHED)
    return self->cache + (gsize) index * self->image_bytes;
  if (s == STATE_BAD)
    return NULL;

  if (index < self->cache_capacity &&
      g_atomic_int_compare_and_exchange (state, STATE_UNKNOWN, STATE_FILLING))
    {
      guint8 *slice = self->cache + (gsize) index * self->image_bytes;

      if (decode_to (self, index, slice))
        {
          g_atomic_int_set (state, STATE_CACHED);
          return slice;
        }
      g_atomic_int_set (state, STATE_BAD);
      return NULL;
    }

  /* No slice, or another worker is filling it (the same sample twice in a batch): decode a
   * private copy rather than wait. */
  if (decode_to (self, index, scratch))
    {
      g_atomic_int_compare_and_exchange (state, STATE_UNKNOWN, STATE_OK);
      return scratch;
    }
  if (index >= self->cache_capacity)
    g_atomic_int_set (state, STATE_BAD);
  return NULL;
}

static void
run_batch_task (MienLoader *self,
                Task       *task)
{
  BatchJob *job = task->batch;

  for (guint row = task->start; row < task->end; row++)
    {
      guint8 *dest = job->pixels + (gsize) row * self->image_bytes;
      const guint8 *src;

      /* An abandoned epoch: leave the rows empty, they will never be seen. */
      if (g_atomic_int_get (&job->epoch->stop))
        {
          job->ok[row] = FALSE;
          continue;
        }
      src = fetch (self, job->slots[row].index, dest);
      if (src != NULL && src != dest)
        memcpy (dest, src, self->image_bytes);
      job->ok[row] = src != NULL;
    }

  if (g_atomic_int_dec_and_test (&job->pending))
    {
      g_mutex_lock (&self->job_lock);
      job->done = TRUE;
      g_cond_broadcast (&self->job_cond);
      g_mutex_unlock (&self->job_lock);
    }
}

static void
run_prepare_task (MienLoader *self,
                  Task       *task)
{
  PrepareResult *result = g_new0 (PrepareResult, 1);
  g_autofree guint8 *scratch = g_malloc (self->image_bytes);
  gsize plane = self->image_bytes / 3;

  for (guint index = task->start; index < task->end; index++)
    {
      const guint8 *pixels;

      if (g_atomic_int_get (&task->prepare->cancelled))
        break;
      pixels = fetch (self, index, scratch);
      if (pixels == NULL)
        continue;
      result->n_ok++;
      for (int c = 0; c < 3; c++)
        {
          const guint8 *p = pixels + c * plane;
          guint64 sum = 0, sum_sq = 0;

          for (gsize i = 0; i < plane; i++)
            {
              guint v = p[i];

              sum += v;
              sum_sq += v * v;
            }
          result->sum[c] += sum;
          result->sum_sq[c] += sum_sq;
        }
    }
  g_async_queue_push (task->prepare->results, result);
}

static void
worker (gpointer data,
        gpointer user_data)
{
  MienLoader *self = user_data;
  Task *task = data;

  if (task->kind == TASK_BATCH)
    run_batch_task (self, task);
  else
    run_prepare_task (self, task);
  g_free (task);
}

/* ---- Construction ---------------------------------------------------------------------- */

static gsize
physical_memory (void)
{
  long pages = sysconf (_SC_PHYS_PAGES);
  long page_size = sysconf (_SC_PAGESIZE);

  if (pages <= 0 || page_size <= 0)
    return (gsize) 1 << 30;
  return (gsize) pages * (gsize) page_size;
}

MienLoader *
mien_loader_new (MienDataset              *dataset,
                 const MienLoaderOptions  *options,
                 GError                  **error)
{
  g_autoptr(MienLoader) self = NULL;
  gsize budget, all;

  g_return_val_if_fail (MIEN_IS_DATASET (dataset), NULL);
  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (options->input_size <= 0 || options->input_size > 8192)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Invalid input size %d"), options->input_size);
      return NULL;
    }
  if (options->batch_size == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("The batch size must be at least 1"));
      return NULL;
    }
  if (options->device.type == MIEN_DEVICE_META)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("Batches cannot go to the meta device"));
      return NULL;
    }

  self = g_new0 (MienLoader, 1);
  self->dataset = g_object_ref (dataset);
  self->options = *options;
  if (self->options.n_workers <= 0)
    self->options.n_workers = (int) g_get_num_processors ();
  if (self->options.prefetch == 0)
    self->options.prefetch = DEFAULT_PREFETCH;
  self->image_bytes = (gsize) 3 * options->input_size * options->input_size;
  self->n_samples = mien_dataset_get_n_samples (dataset);

  g_mutex_init (&self->reasons_lock);
  g_mutex_init (&self->job_lock);
  g_cond_init (&self->job_cond);
  g_mutex_init (&self->queue_lock);
  g_cond_init (&self->queue_cond);
  self->state = g_new0 (gint, MAX (self->n_samples, 1));
  self->reasons = g_new0 (char *, MAX (self->n_samples, 1));
  self->unreadable = g_ptr_array_new ();

  all = self->image_bytes * self->n_samples;
  budget = options->cache_bytes != 0 ? options->cache_bytes : physical_memory () / 4;
  self->cache_capacity = (guint) (MIN (budget, all) / self->image_bytes);
  /* Untouched pages cost nothing, so a large buffer is cheap until filled; if the address space
   * says no, a smaller cache still helps. */
  while (self->cache_capacity > 0)
    {
      self->cache = g_try_malloc ((gsize) self->cache_capacity * self->image_bytes);
      if (self->cache != NULL)
        break;
      self->cache_capacity /= 2;
    }

  self->pool = g_thread_pool_new (worker, self, self->options.n_workers, FALSE, error);
  if (self->pool == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

MienDataset *
mien_loader_get_dataset (MienLoader *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->dataset;
}

/* ---- Preparing ------------------------------------------------------------------------- */

gboolean
mien_loader_prepare (MienLoader        *self,
                     double            *mean,
                     double            *std,
                     MienProgressFunc   progress,
                     gpointer           progress_data,
                     GCancellable      *cancellable,
                     GError           **error)
{
  g_autoptr(GAsyncQueue) results = NULL;
  PrepareJob job = { 0 };
  guint chunk, n_tasks = 0, received = 0, done = 0, n_ok = 0;
  guint64 sum[3] = { 0, 0, 0 }, sum_sq[3] = { 0, 0, 0 };
  gint64 last_progress = 0;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!self->prepared)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      results = g_async_queue_new_full (g_free);
      job.results = results;
      /* Small tasks keep the workers evenly busy and the progress smooth. */
      chunk = CLAMP (self->n_samples / (self->options.n_workers * 16u), 1, 64);
      for (guint start = 0; start < self->n_samples; start += chunk)
        {
          Task *task = g_new0 (Task, 1);

          task->kind = TASK_PREPARE;
          task->start = start;
          task->end = MIN (start + chunk, self->n_samples);
          task->prepare = &job;
          g_thread_pool_push (self->pool, task, NULL);
          n_tasks++;
        }

      while (received < n_tasks)
        {
          PrepareResult *result;
          gint64 now;

          if (!g_atomic_int_get (&job.cancelled) && g_cancellable_is_cancelled (cancellable))
            g_atomic_int_set (&job.cancelled, 1);
          /* Every task answers, cancelled or not: `job` lives on this stack until they have. */
          result = g_async_queue_timeout_pop (results, 50000);
          if (result == NULL)
            continue;
          received++;
          n_ok += result->n_ok;
          for (int c = 0; c < 3; c++)
            {
              sum[c] += result->sum[c];
              sum_sq[c] += result->sum_sq[c];
            }
          g_free (result);
          done = MIN (received * chunk, self->n_samples);
          now = g_get_monotonic_time ();
          if (progress != NULL && !g_atomic_int_get (&job.cancelled) &&
              (now - last_progress > 50000 || received == n_tasks))
            {
              g_autofree char *message = g_strdup_printf (_("Decoding images (%u of %u)"),
                                                          done, self->n_samples);

              last_progress = now;
              progress ((double) done / MAX (self->n_samples, 1), message, progress_data);
            }
        }
      if (g_atomic_int_get (&job.cancelled))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               _("Operation was cancelled"));
          return FALSE;
        }
      if (n_ok == 0)
        {
          g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_EMPTY,
                       _("None of the %u images of %s can be decoded"), self->n_samples,
                       mien_dataset_get_source (self->dataset));
          return FALSE;
        }

      for (int c = 0; c < 3; c++)
        {
          double n_pixels = (double) n_ok * (self->image_bytes / 3);
          double m = sum[c] / n_pixels;
          double var = sum_sq[c] / n_pixels - m * m;

          self->mean[c] = m / 255.0;
          self->std[c] = sqrt (MAX (var, 0.0)) / 255.0;
        }
      self->prepared = TRUE;
    }

  if (mean != NULL)
    memcpy (mean, self->mean, sizeof self->mean);
  if (std != NULL)
    memcpy (std, self->std, sizeof self->std);
  return TRUE;
}

gboolean
mien_loader_is_readable (MienLoader *self,
                         guint       index)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (index < self->n_samples, FALSE);

  return g_atomic_int_get (&self->state[index]) != STATE_BAD;
}

GPtrArray *
mien_loader_get_unreadable (MienLoader *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_ptr_array_set_size (self->unreadable, 0);
  g_mutex_lock (&self->reasons_lock);
  for (guint i = 0; i < self->n_samples; i++)
    if (self->reasons[i] != NULL)
      g_ptr_array_add (self->unreadable, self->reasons[i]);
  g_mutex_unlock (&self->reasons_lock);
  return self->unreadable;
}

void
mien_loader_filter_readable (MienLoader *self,
                             GArray     *slots)
{
  guint kept = 0;

  g_return_if_fail (self != NULL);
  g_return_if_fail (slots != NULL);

  for (guint i = 0; i < slots->len; i++)
    {
      MienSlot slot = g_array_index (slots, MienSlot, i);

      if (slot.index < self->n_samples && mien_loader_is_readable (self, slot.index))
        g_array_index (slots, MienSlot, kept++) = slot;
    }
  g_array_set_size (slots, kept);
}

/* ---- Producing ------------------------------------------------------------------------- */

static void
batch_job_free (BatchJob *job)
{
  g_free (job->slots);
  g_free (job->ok);
  g_free (job);
}

static void
wait_batch_job (MienLoader *self,
                BatchJob   *job)
{
  g_mutex_lock (&self->job_lock);
  while (!job->done)
    g_cond_wait (&self->job_cond, &self->job_lock);
  g_mutex_unlock (&self->job_lock);
}

static BatchJob *
submit_batch_job (MienLoader *self,
                  Epoch      *epoch,
                  guint       first,
                  guint       n,
                  guint8     *pixels)
{
  BatchJob *job = g_new0 (BatchJob, 1);
  guint n_workers = (guint) self->options.n_workers;
  guint per_task = MAX (1, (n + n_workers - 1) / n_workers);
  guint n_tasks = (n + per_task - 1) / per_task;

  job->epoch = epoch;
  job->n = n;
  job->slots = g_memdup2 (&g_array_index (epoch->slots, MienSlot, first), n * sizeof (MienSlot));
  job->ok = g_new0 (gboolean, n);
  job->pixels = pixels;
  job->pending = (gint) n_tasks;
  for (guint start = 0; start < n; start += per_task)
    {
      Task *task = g_new0 (Task, 1);

      task->kind = TASK_BATCH;
      task->start = start;
      task->end = MIN (start + per_task, n);
      task->batch = job;
      g_thread_pool_push (self->pool, task, NULL);
    }
  return job;
}

/* Packs the decoded rows together and makes the tensors; NULL without error when no row of the
 * batch could be decoded. */
static MienBatch *
finish_batch_job (MienLoader  *self,
                  BatchJob    *job,
                  GError     **error)
{
  g_autoptr(MienBatch) batch = g_new0 (MienBatch, 1);
  g_autofree gint64 *labels = g_new (gint64, MAX (job->n, 1));
  gint64 n_shape[1];
  guint n = 0;

  batch->slots = g_new (MienSlot, MAX (job->n, 1));
  for (guint row = 0; row < job->n; row++)
    {
      if (!job->ok[row])
        continue;
      if (n != row)
        memcpy (job->pixels + (gsize) n * self->image_bytes,
                job->pixels + (gsize) row * self->image_bytes, self->image_bytes);
      batch->slots[n] = job->slots[row];
      labels[n] = mien_dataset_get_label (self->dataset, job->slots[row].index);
      n++;
    }
  if (n == 0)
    return NULL;
  batch->n = n;

  batch->images = mien_image_batch_tensor (job->pixels, n, self->options.input_size, error);
  if (batch->images == NULL)
    return NULL;
  n_shape[0] = n;
  batch->labels = mien_tensor_new_from_data (labels, MIEN_DTYPE_INT64, n_shape, 1, error);
  if (batch->labels == NULL)
    return NULL;
  if (self->options.device.type == MIEN_DEVICE_CUDA)
    {
      MienTensor *pinned = mien_tensor_pin_memory (batch->images, error);

      if (pinned == NULL)
        return NULL;
      mien_tensor_free (batch->images);
      batch->images = pinned;
      pinned = mien_tensor_pin_memory (batch->labels, error);
      if (pinned == NULL)
        return NULL;
      mien_tensor_free (batch->labels);
      batch->labels = pinned;
    }
  return g_steal_pointer (&batch);
}

/* Queues an item, waiting while the queue is full; FALSE (item not taken) once told to stop. */
static gboolean
push_item (MienLoader *self,
           Epoch      *epoch,
           Item       *item)
{
  gboolean taken = FALSE;

  g_mutex_lock (&self->queue_lock);
  while (!g_atomic_int_get (&epoch->stop) && epoch->items.length >= self->options.prefetch)
    g_cond_wait (&self->queue_cond, &self->queue_lock);
  if (!g_atomic_int_get (&epoch->stop))
    {
      g_queue_push_tail (&epoch->items, item);
      g_cond_broadcast (&self->queue_cond);
      taken = TRUE;
    }
  g_mutex_unlock (&self->queue_lock);
  return taken;
}

static void
item_free (Item *item)
{
  mien_batch_free (item->batch);
  g_clear_error (&item->error);
  g_free (item);
}

static gpointer
producer (gpointer data)
{
  Epoch *epoch = data;
  MienLoader *self = epoch->loader;
  guint batch_size = self->options.batch_size;
  guint n_slots = epoch->slots->len;
  guint n_batches = self->options.drop_last ? n_slots / batch_size
                                            : (n_slots + batch_size - 1) / batch_size;
  /* One batch per worker in flight, at most the prefetch depth: enough to keep every worker
   * busy through batch boundaries without decoding far ahead of what the queue can hold. */
  guint window = CLAMP ((guint) self->options.n_workers, 2, MAX (self->options.prefetch, 2));
  g_autoptr(GQueue) in_flight = g_queue_new ();
  g_autoptr(GPtrArray) staging = g_ptr_array_new_with_free_func (g_free);
  guint next_batch = 0;
  gboolean failed = FALSE;

  for (guint i = 0; i < window; i++)
    g_ptr_array_add (staging, g_malloc ((gsize) batch_size * self->image_bytes));

  while (next_batch < n_batches || !g_queue_is_empty (in_flight))
    {
      BatchJob *job;
      g_autoptr(GError) error = NULL;
      MienBatch *batch = NULL;
      Item *item;

      while (!failed && !g_atomic_int_get (&epoch->stop) && next_batch < n_batches &&
             in_flight->length < window)
        {
          guint first = next_batch * batch_size;
          guint n = MIN (batch_size, n_slots - first);
          guint8 *pixels = g_ptr_array_steal_index_fast (staging, staging->len - 1);

          g_queue_push_tail (in_flight, submit_batch_job (self, epoch, first, n, pixels));
          next_batch++;
        }
      if (g_queue_is_empty (in_flight))
        break;

      job = g_queue_pop_head (in_flight);
      wait_batch_job (self, job);
      if (!failed && !g_atomic_int_get (&epoch->stop))
        batch = finish_batch_job (self, job, &error);
      g_ptr_array_add (staging, job->pixels);
      batch_job_free (job);

      if (error != NULL)
        {
          /* Stop submitting; what is in flight drains above and is dropped. */
          failed = TRUE;
          item = g_new0 (Item, 1);
          item->error = g_steal_pointer (&error);
          if (!push_item (self, epoch, item))
            item_free (item);
        }
      else if (batch != NULL)
        {
          item = g_new0 (Item, 1);
          item->batch = batch;
          if (!push_item (self, epoch, item))
            item_free (item);
        }
    }

  if (!failed)
    {
      /* The end marker. */
      Item *end = g_new0 (Item, 1);

      if (!push_item (self, epoch, end))
        item_free (end);
    }
  return NULL;
}

static void
epoch_free (Epoch *epoch)
{
  g_queue_clear_full (&epoch->items, (GDestroyNotify) item_free);
  g_array_unref (epoch->slots);
  g_free (epoch);
}

/* Stops the producer (which waits for its tasks in the pool) and drops what it made. */
static void
abandon_epoch (MienLoader *self)
{
  Epoch *epoch = self->epoch;

  if (epoch == NULL)
    return;
  g_mutex_lock (&self->queue_lock);
  g_atomic_int_set (&epoch->stop, 1);
  g_cond_broadcast (&self->queue_cond);
  g_mutex_unlock (&self->queue_lock);
  g_thread_join (epoch->producer);
  self->epoch = NULL;
  epoch_free (epoch);
}

void
mien_loader_start (MienLoader *self,
                   GArray     *slots)
{
  Epoch *epoch;

  g_return_if_fail (self != NULL);
  g_return_if_fail (slots != NULL);
  g_return_if_fail (g_array_get_element_size (slots) == sizeof (MienSlot));

  abandon_epoch (self);

  epoch = g_new0 (Epoch, 1);
  epoch->loader = self;
  epoch->slots = g_array_sized_new (FALSE, FALSE, sizeof (MienSlot), slots->len);
  for (guint i = 0; i < slots->len; i++)
    {
      MienSlot slot = g_array_index (slots, MienSlot, i);

      if (slot.index >= self->n_samples)
        {
          g_critical ("%s: slot %u refers to sample %u of %u", G_STRFUNC, i, slot.index,
                      self->n_samples);
          continue;
        }
      g_array_append_val (epoch->slots, slot);
    }
  g_queue_init (&epoch->items);
  self->epoch = epoch;
  epoch->producer = g_thread_new ("mien-loader", producer, epoch);
}

static void
wake_on_cancel (GCancellable *cancellable,
                MienLoader   *self)
{
  g_mutex_lock (&self->queue_lock);
  g_cond_broadcast (&self->queue_cond);
  g_mutex_unlock (&self->queue_lock);
}

MienBatch *
mien_loader_next (MienLoader    *self,
                  GCancellable  *cancellable,
                  GError       **error)
{
  Epoch *epoch;
  Item *item = NULL;
  gulong cancel_id = 0;
  MienBatch *batch;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  epoch = self->epoch;
  if (epoch == NULL || epoch->finished)
    return NULL;

  if (cancellable != NULL)
    cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (wake_on_cancel), self, NULL);
  g_mutex_lock (&self->queue_lock);
  while (!g_cancellable_is_cancelled (cancellable) &&
         (item = g_queue_pop_head (&epoch->items)) == NULL)
    g_cond_wait (&self->queue_cond, &self->queue_lock);
  if (item != NULL)
    g_cond_broadcast (&self->queue_cond);
  g_mutex_unlock (&self->queue_lock);
  g_cancellable_disconnect (cancellable, cancel_id);

  if (item == NULL)
    {
      abandon_epoch (self);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           _("Operation was cancelled"));
      return NULL;
    }

  if (item->batch == NULL)
    {
      /* The end of the epoch, or an error that ended it. */
      epoch->finished = TRUE;
      if (item->error != NULL)
        g_propagate_error (error, g_steal_pointer (&item->error));
      item_free (item);
      return NULL;
    }
  batch = g_steal_pointer (&item->batch);
  item_free (item);
  return batch;
}

guint
mien_loader_get_n_batches (MienLoader *self)
{
  guint n, bs;

  g_return_val_if_fail (self != NULL, 0);

  if (self->epoch == NULL)
    return 0;
  n = self->epoch->slots->len;
  bs = self->options.batch_size;
  return self->options.drop_last ? n / bs : (n + bs - 1) / bs;
}

void
mien_loader_free (MienLoader *self)
{
  if (self == NULL)
    return;

  abandon_epoch (self);
  if (self->pool != NULL)
    g_thread_pool_free (self->pool, FALSE, TRUE);
  g_free (self->cache);
  g_free (self->state);
  for (guint i = 0; i < self->n_samples; i++)
    g_free (self->reasons[i]);
  g_free (self->reasons);
  g_ptr_array_unref (self->unreadable);
  g_mutex_clear (&self->reasons_lock);
  g_mutex_clear (&self->job_lock);
  g_cond_clear (&self->job_cond);
  g_mutex_clear (&self->queue_lock);
  g_cond_clear (&self->queue_cond);
  g_object_unref (self->dataset);
  g_free (self);
}
