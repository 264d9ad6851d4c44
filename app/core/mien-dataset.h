/* mien-dataset.h — labelled image collections, their statistics and epoch plans.
 *
 * A dataset is either a folder with one sub-folder per class (ImageFolder: classes are the
 * sub-folder names sorted with g_strcmp0, images are the files directly inside them with an
 * image extension GdkPixbuf knows, sorted by name), or a CSV manifest of `path,label` rows
 * (an optional header row "path,label" or "label,path", any case, which also sets the column
 * order; relative paths are relative to the CSV's folder; UTF-8, with or without a byte-order
 * mark; LF or CRLF; quoted fields as RFC 4180). A manifest is a regular file of at most
 * MIEN_DATASET_MAX_MANIFEST_BYTES. Class names (folder names or labels) must pass
 * mien_dataset_check_class_name (). A MienDataset is immutable once made and safe to share
 * between threads.
 *
 * Opening only lists files; nothing is decoded. Unreadable images are found when decoding
 * (statistics, the loader) and are listed and skipped there, never fatal.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mien-core.h"

G_BEGIN_DECLS

/* 64 MiB: a million rows of long paths. Larger "manifests" are the wrong file (or /dev/zero). */
#define MIEN_DATASET_MAX_MANIFEST_BYTES (G_GOFFSET_CONSTANT (64) * 1024 * 1024)

#define MIEN_DATASET_ERROR (mien_dataset_error_quark ())
GQuark mien_dataset_error_quark (void);

typedef enum {
  MIEN_DATASET_ERROR_NOT_FOUND,   /* the path does not exist */
  MIEN_DATASET_ERROR_LAYOUT,      /* neither a class-folder tree nor a readable CSV manifest */
  MIEN_DATASET_ERROR_CSV,         /* a malformed manifest row (message names file and line) */
  MIEN_DATASET_ERROR_CLASSES,     /* a requested class is absent, a duplicate, or < 2 classes;
                                   * a class name that is not allowed */
  MIEN_DATASET_ERROR_EMPTY,       /* no images (in a class, or in a split) */
  MIEN_DATASET_ERROR_SPLIT,       /* a split that cannot be made (fraction, too few images) */
} MienDatasetError;

#define MIEN_TYPE_DATASET (mien_dataset_get_type ())
G_DECLARE_FINAL_TYPE (MienDataset, mien_dataset, MIEN, DATASET, GObject)

/* Opens a class-folder tree or a CSV manifest (a regular file). `classes` (NULL-terminated, may
 * be NULL = every class found) selects and orders the classes: label i is classes[i]; images of
 * other classes are left out. A requested class with no folder/rows is
 * MIEN_DATASET_ERROR_CLASSES; a class with no image is MIEN_DATASET_ERROR_EMPTY. */
MienDataset        *mien_dataset_open            (const char          *path,
                                                  const char * const  *classes,
                                                  GError             **error);
/* The samples `indices` of `self` (same classes, same root). */
MienDataset        *mien_dataset_subset          (MienDataset         *self,
                                                  const guint         *indices,
                                                  guint                n_indices);
/* Stratified split: in every class, round (n_c * val_fraction) images (at least 1 when
 * n_c >= 2) go to `val_out`, chosen by a shuffle seeded with `seed`. val_fraction in (0, 1). */
gboolean            mien_dataset_split           (MienDataset         *self,
                                                  double               val_fraction,
                                                  guint64              seed,
                                                  MienDataset        **train_out,
                                                  MienDataset        **val_out,
                                                  GError             **error);

/* The path given to mien_dataset_open () (for a subset: its parent's). */
const char         *mien_dataset_get_source      (MienDataset *self);
guint               mien_dataset_get_n_classes   (MienDataset *self);
/* NULL-terminated, borrowed. */
const char * const *mien_dataset_get_classes     (MienDataset *self);
guint               mien_dataset_get_n_samples   (MienDataset *self);
/* Absolute path of sample `index`. */
const char         *mien_dataset_get_path        (MienDataset *self,
                                                  guint        index);
guint               mien_dataset_get_label       (MienDataset *self,
                                                  guint        index);
/* What opening left out and why, as "PATH: reason" (borrowed; a subset has its parent's): files
 * in class folders without an image extension, and folders inside class folders. Hidden files
 * are left out silently. Images that
 * fail to decode are listed later, by the statistics and the loader. */
GPtrArray          *mien_dataset_get_skipped     (MienDataset *self);
/* Fills counts[n_classes] with the number of images per class. */
void                mien_dataset_count           (MienDataset *self,
                                                  guint       *counts);
/* Whether `name` ends in the extension of an image format GdkPixbuf can load here (any case). */
gboolean            mien_dataset_is_image_name   (const char  *name);
/* Class names end up in terminal tables, CSV and JSON exports and folder names, so a name must
 * be valid UTF-8 without control characters (newlines, tabs, escape sequences, NUL), line
 * separators or bidirectional overrides, not empty, not "." or "..", and without "/". The
 * message (MIEN_DATASET_ERROR_CLASSES) shows the name with such characters escaped; callers
 * prefix where it came from. */
gboolean            mien_dataset_check_class_name (const char  *name,
                                                   GError     **error);
/* Parses "a,b,c" into a NULL-terminated class list (trimmed; every name checked with
 * mien_dataset_check_class_name (), duplicates refused). */
char              **mien_dataset_parse_class_list (const char  *list,
                                                   GError     **error);

/* ---- Statistics (decodes every image) ------------------------------------------------ */

typedef struct {
  guint    n_classes;
  char   **classes;        /* NULL-terminated */
  guint   *counts;         /* images per class as listed (readable or not) */
  guint    n_images;
  guint    n_readable;
  double   imbalance_ratio; /* largest count / smallest count */
  /* Image sizes: the extremes, and "WxH" → number of images (GHashTable of char * → guint). */
  int      min_width, max_width, min_height, max_height;
  GHashTable *sizes;
  guint    n_grey;         /* images with one channel (they are read as three equal ones) */
  /* Per-channel mean and standard deviation in [0, 1] over every pixel of every readable image
   * at its own size, as torchvision's ToTensor () would see it. */
  double   mean[3];
  double   std[3];
  /* "PATH: reason" for every image that could not be decoded, in dataset order. */
  GPtrArray *unreadable;
} MienDatasetStats;

void                mien_dataset_stats_free      (MienDatasetStats *stats);
/* Decodes every image with `n_threads` workers (0 = one per processor). Cancelling returns
 * G_IO_ERROR_CANCELLED. `progress` (may be NULL) is called from the calling thread. */
MienDatasetStats   *mien_dataset_compute_stats   (MienDataset       *self,
                                                  int                n_threads,
                                                  MienProgressFunc   progress,
                                                  gpointer           progress_data,
                                                  GCancellable      *cancellable,
                                                  GError           **error);
/* {"source", "classes", "counts", "n_images", "n_readable", "imbalance_ratio", "min_width",
 *  "max_width", "min_height", "max_height", "sizes": {"WxH": n}, "n_grey", "mean", "std",
 *  "unreadable": ["PATH: reason", ...]} */
JsonNode           *mien_dataset_stats_to_json   (MienDatasetStats *stats,
                                                  const char       *source);

/* Class weights: "auto" = normalised inverse frequency, w_c = (N / (K * n_c)) scaled so that
 * sum_c w_c * n_c / N = 1 — i.e. the weighted loss of a uniform predictor is unchanged; classes
 * with n_c = 0 get 0. Writes n_classes weights. */
void                mien_class_weights_auto      (const guint *counts,
                                                  guint        n_classes,
                                                  double      *weights);
/* The reference paper's class weights (its authors' script): anger 1, disgust 3, fear 5,
 * happiness 1, sadness 1, surprise 1, by class name (ASCII case ignored), written to `weights`
 * (may be NULL) in the order of `classes`. FALSE, writing nothing, unless `classes` are those six
 * in any order. */
gboolean            mien_class_weights_paper     (const char * const *classes,
                                                  double             *weights);

/* ---- Epoch plans ----------------------------------------------------------------------- */

/* One slot of an epoch: the sample, and which augmented copy of it (0 = the original image,
 * k >= 1 = the k-th RandAugment copy, made for upsampling). */
typedef struct {
  guint index;
  guint copy;
} MienSlot;

/* The slots of an upsampled dataset: every sample once (copy 0), plus, for every class smaller
 * than the largest, (largest - n_c) augmented copies spread evenly over its samples (a seeded
 * shuffle decides which samples get one copy more). Afterwards every class has as many slots as
 * the largest. Returns a GArray of MienSlot in dataset order, copies after their original. */
GArray             *mien_dataset_upsample_plan   (MienDataset *self,
                                                  guint64      seed);
/* The slots without upsampling: every sample once, copy 0. */
GArray             *mien_dataset_plain_plan      (MienDataset *self);
/* Shuffles `slots` in place (Fisher–Yates with a GRand seeded from seed and epoch), so that a
 * given (seed, epoch) always gives the same order. */
void                mien_slots_shuffle           (GArray      *slots,
                                                  guint64      seed,
                                                  guint        epoch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienDatasetStats, mien_dataset_stats_free)

G_END_DECLS
