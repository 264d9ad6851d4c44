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
 * The classic FER datasets are read as they are distributed (the layout is told by the file's
 * name and first line; class names are Mien's, sorted like folder names):
 * - FER2013's `fer2013.csv` (header `emotion,pixels,Usage`, any column order, Usage optional):
 *   emotion 0..6 = anger, disgust, fear, happiness, sadness, surprise, neutral; the pixels,
 *   48 × 48 grey values, are held by the dataset. Usage Training / PublicTest / PrivateTest are
 *   the splits train / val / test.
 * - FER+'s `fer2013new.csv` (Usage, Image name, then the votes for neutral, happiness, surprise,
 *   sadness, anger, disgust, fear, contempt, unknown, NF): the label is the FER+ authors'
 *   "majority" label; images without one (no clear majority, or a majority of unknown / not a
 *   face) and rows without an image name are left out (counted in the skipped list). The pixels
 *   come from the `fer2013.csv` beside it, row i for row i. Soft labels are not offered.
 * - RAF-DB basic: `EmoLabel/list_patition_label.txt` (or the folder holding EmoLabel/), rows
 *   `train_00001.jpg 5`, labels 1..7 = surprise, fear, disgust, happiness, sadness, anger,
 *   neutral; images `Image/aligned/NAME_aligned.jpg`; splits train / test from the name.
 * - AffectNet's `training.csv` / `validation.csv` (subDirectory_filePath, face_x, face_y,
 *   face_width, face_height, facial_landmarks, expression, ...): expression 0..7 = neutral,
 *   happiness, sadness, surprise, fear, disgust, anger, contempt; rows coded 8..10 (none,
 *   uncertain, no face) are left out (counted in the skipped list). Images are relative to the
 *   `Manually_Annotated_Images` folder beside the CSV (or to the CSV's folder) and are cropped to
 *   the face box. The whole file is split train (training.csv) or val (validation.csv).
 * These files are bounded by MIEN_DATASET_MAX_TABLE_BYTES. Image files they name that do not
 * exist are listed as skipped, not fatal.
 *
 * Opening only lists files; nothing is decoded. Unreadable images are found when decoding
 * (statistics, the loader) and are listed and skipped there, never fatal.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mien-core.h"
#include "mien-image.h"

G_BEGIN_DECLS

/* 64 MiB: a million rows of long paths. Larger "manifests" are the wrong file (or /dev/zero). */
#define MIEN_DATASET_MAX_MANIFEST_BYTES (G_GOFFSET_CONSTANT (64) * 1024 * 1024)
/* 1 GiB: fer2013.csv is 290 MiB, AffectNet's training.csv about 400 MiB. */
#define MIEN_DATASET_MAX_TABLE_BYTES (G_GOFFSET_CONSTANT (1024) * 1024 * 1024)

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
/* mien_dataset_open (), then mien_dataset_select_split (). */
MienDataset        *mien_dataset_open_split      (const char          *path,
                                                  const char          *split,
                                                  const char * const  *classes,
                                                  GError             **error);
/* "train", "val", "test": every split a dataset may have (NULL-terminated, static). */
const char * const *mien_dataset_get_split_names (void);
/* Whether `name` is one of them (MIEN_DATASET_ERROR_SPLIT otherwise). */
gboolean            mien_dataset_check_split_name (const char   *name,
                                                   GError      **error);
/* The splits the samples of `self` belong to, among "train", "val", "test" in that order
 * (NULL-terminated, borrowed; empty for a dataset without splits). */
const char * const *mien_dataset_get_splits      (MienDataset         *self);
/* The samples of split `split` (same classes); `split` NULL: a new reference to `self`. A split
 * the dataset does not have is MIEN_DATASET_ERROR_SPLIT, naming those it has. */
MienDataset        *mien_dataset_select_split    (MienDataset         *self,
                                                  const char          *split,
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
/* Absolute path of sample `index`; for a sample whose pixels the dataset holds (FER2013),
 * "FILE:LINE", which names it in lists of skipped images. Decode with mien_dataset_decode (). */
const char         *mien_dataset_get_path        (MienDataset *self,
                                                  guint        index);
guint               mien_dataset_get_label       (MienDataset *self,
                                                  guint        index);
/* Sample `index` as a pixbuf (the image file, its face box, or the pixels the dataset holds):
 * the one way the loader, the statistics and the pages read a sample. Errors are "NAME: reason"
 * with NAME mien_dataset_get_path (). Safe to call from any thread. */
GdkPixbuf          *mien_dataset_load_pixbuf     (MienDataset   *self,
                                                  guint          index,
                                                  GError       **error);
/* The same scaled to fit a `max_side` square (as mien_image_load_thumbnail ()). */
GdkPixbuf          *mien_dataset_load_thumbnail  (MienDataset   *self,
                                                  guint          index,
                                                  int            max_side,
                                                  GError       **error);
/* Sample `index` as mien_image_decode () decodes a file: 3 * size * size bytes into `dest`. */
gboolean            mien_dataset_decode          (MienDataset   *self,
                                                  guint          index,
                                                  int            size,
                                                  gboolean       grey,
                                                  guint8        *dest,
                                                  MienImageInfo *info,
                                                  GError       **error);
/* What opening left out and why, as "PATH: reason" (borrowed; a subset has its parent's): files
 * in class folders without an image extension, and folders inside class folders; for the FER
 * formats, image files that do not exist and (one line each) the rows their authors' labelling
 * leaves out. Hidden files are left out silently. Images that
 * fail to decode are listed later, by the statistics and the loader. */
GPtrArray          *mien_dataset_get_skipped     (MienDataset *self);
/* The face margin (as mien_model_get_face_margin ()) its images' framing implies, which the
 * trainer records when none is configured: MIEN_FACE_MARGIN_TIGHT for FER2013 and FER+ (tight
 * 48-px crops) and AffectNet (cropped to the annotated box); NAN where the layout says nothing
 * (folders, manifests, RAF-DB's aligned images). A subset has its parent's. */
double              mien_dataset_get_face_margin (MienDataset *self);
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
/* Rank `rank`'s share of `slots` among `world_size` ranks, as torch's DistributedSampler
 * deals it: every world_size-th slot from the rank-th, so that the ranks' k-th slots together
 * are the k-th world_size slots of the whole list (and a step of per-rank batches B/W is the
 * one-process step of batch B). With `pad`, the list is first filled up to a multiple of
 * world_size with its own first slots (DistributedSampler's drop_last=False), so that every
 * rank gets as many; without, the shares may differ by one (for validation, where nothing may
 * count twice). A new array. */
GArray             *mien_slots_shard             (GArray      *slots,
                                                  guint        rank,
                                                  guint        world_size,
                                                  gboolean     pad);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienDatasetStats, mien_dataset_stats_free)

G_END_DECLS
