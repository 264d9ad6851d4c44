/* mien-loader.h — the input pipeline: decoded, resized uint8 batches, prepared ahead.
 *
 * A pool of worker threads decodes images (mien-image.h) and a producer assembles batches in the
 * order of an epoch plan (MienSlot, see mien-dataset.h) into a bounded queue `prefetch` batches
 * deep, so the next batches are ready while the network works on the current one. Decoded images
 * are kept in memory at the input size up to `cache_bytes` (3 * S * S bytes each: 12 KiB at 64 px,
 * 147 KiB at 224 px), so that with small images every epoch after the first decodes nothing.
 * With a CUDA device the batch tensors are in pinned memory.
 *
 * Batches hold raw pixels; normalisation, colour mode and augmentation happen on the device
 * (mien-model.h, mien-augment.h), where they are cheap.
 *
 * A loader is used from one thread (the trainer's); its workers are internal.
 */
#pragma once

#include <gio/gio.h>

#include "mien-dataset.h"

G_BEGIN_DECLS

typedef struct {
  int        input_size;   /* square side in pixels, > 0 */
  gboolean   grey;         /* decode as luminance (mien-image.h) */
  guint      batch_size;   /* > 0 */
  gboolean   drop_last;    /* leave out a last batch smaller than batch_size (training) */
  int        n_workers;    /* decoding threads; 0 = one per processor */
  guint      prefetch;     /* batches ready ahead; 0 = the default (4) */
  gsize      cache_bytes;  /* 0 = the default: min (every image, a quarter of physical memory) */
  MienDevice device;       /* where batches go next: pinned host memory when CUDA */
} MienLoaderOptions;

#define MIEN_LOADER_OPTIONS_INIT { 224, FALSE, 64, FALSE, 0, 0, 0, MIEN_DEVICE_INIT_CPU }

typedef struct {
  MienTensor *images;   /* uint8 [n, 3, S, S], CPU (pinned with CUDA) */
  MienTensor *labels;   /* int64 [n], CPU */
  MienSlot   *slots;    /* n: which sample (and copy) each row is */
  guint       n;
} MienBatch;

void        mien_batch_free              (MienBatch *batch);

typedef struct _MienLoader MienLoader;

/* Keeps a reference on `dataset`. Fails only on invalid options. */
MienLoader *mien_loader_new              (MienDataset              *dataset,
                                          const MienLoaderOptions  *options,
                                          GError                  **error);
void        mien_loader_free             (MienLoader *self);
MienDataset *mien_loader_get_dataset     (MienLoader *self);

/* Decodes every sample once with the workers (filling the cache), records unreadable ones and
 * computes the per-channel mean and standard deviation in [0, 1] of the readable images at the
 * input size (in the loader's colour mode). `mean`/`std` may be NULL. Idempotent: a second call
 * returns the first call's figures at once. `progress` is called from the calling thread. */
gboolean    mien_loader_prepare          (MienLoader        *self,
                                          double            *mean,
                                          double            *std,
                                          MienProgressFunc   progress,
                                          gpointer           progress_data,
                                          GCancellable      *cancellable,
                                          GError           **error);
/* After prepare (): whether sample `index` decoded; and "PATH: reason" for those that did not
 * (borrowed, in dataset order). Before prepare (), every sample counts as readable and the list
 * holds whatever failed in batches so far. */
gboolean    mien_loader_is_readable      (MienLoader *self,
                                          guint       index);
GPtrArray  *mien_loader_get_unreadable   (MienLoader *self);
/* Removes the slots of unreadable samples from `slots` (GArray of MienSlot), in place. */
void        mien_loader_filter_readable  (MienLoader *self,
                                          GArray     *slots);

/* Starts producing the batches of `slots` (copied), in their order. An epoch in progress is
 * abandoned first. */
void        mien_loader_start            (MienLoader *self,
                                          GArray     *slots);
/* The next batch, waiting for it if needed. NULL without error at the end of the epoch. A sample
 * that fails to decode is left out of its batch (and listed as unreadable), so a batch can be
 * smaller than batch_size; an empty batch is never returned. Cancelling gives
 * G_IO_ERROR_CANCELLED and stops the epoch. */
MienBatch  *mien_loader_next             (MienLoader    *self,
                                          GCancellable  *cancellable,
                                          GError       **error);
/* Number of batches the current epoch gives (from the slots, ignoring decode failures). */
guint       mien_loader_get_n_batches    (MienLoader *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienBatch, mien_batch_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienLoader, mien_loader_free)

G_END_DECLS
