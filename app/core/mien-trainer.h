/* mien-trainer.h — a training run: the paper's four modules, validation, checkpoints, resume.
 *
 * One run lives in a run folder, whose format and states mien-run.h owns: the trainer reads
 * and writes it through mien_run_* (config.json, log.jsonl, the trainer state in
 * last.safetensors) and only adds the tensors of last.safetensors ("optimizer.NAME.exp_avg",
 * ...) and best.safetensors. A folder already holding a run or anything else is refused
 * (MIEN_RUN_ERROR_EXISTS, MIEN_RUN_ERROR_USER_FILES); config.json is written only once
 * everything (data, backbone, device, pretrained weights) has been checked and prepared.
 *
 * Reproducibility: every source of randomness is a function of the seed and the epoch (the
 * split, the upsampling plan, the shuffle, each image's RandAugment ops, and libtorch's
 * generator, reseeded at the start of every epoch), so two runs with the same configuration
 * and thread count give identical weights on the CPU, and a run killed mid-way and resumed from
 * its last checkpoint ends exactly where the uninterrupted run does.
 *
 * Class imbalance (the paper's module 2): `imbalance` chooses upsampling (each minority class
 * filled to the largest with RandAugment copies, fixed across epochs as if made offline) or
 * on-the-fly RandAugment of every training image; class weights are `class_weights` when given,
 * else "auto" (normalised inverse frequency of the training split's own counts, before
 * upsampling) for the "weighted" strategies and none otherwise.
 *
 * Flip and crop (`geometry`, mien-augment.h) apply to every training image of every epoch —
 * never to validation — after RandAugment: an upsampling copy is made once (RandAugment, key of
 * epoch 0) and then flipped and cropped anew each epoch like any other image, from the key of
 * (seed, index, copy, epoch), so resume still ends where an uninterrupted run does. The order
 * is RandAugment (upsampling copy or on the fly) → crop → flip → the model's resize and
 * normalisation. New runs default to flip on and crop "pad" (an eighth of the side, 6 px at
 * 48): the standard FER2013 recipe (RandomCrop with padding + RandomHorizontalFlip) — faces are
 * left-right symmetric for every expression, and a few pixels of shift absorb the detectors'
 * alignment jitter, while FER crops are too tight for a random-resized crop's zoom. A
 * config.json without "flip" and "crop" (written before they existed) loads with neither, as
 * those runs were trained.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mien-augment.h"
#include "mien-dist.h"
#include "mien-dataset.h"
#include "mien-metrics.h"
#include "mien-model.h"

G_BEGIN_DECLS

#define MIEN_TRAINER_ERROR (mien_trainer_error_quark ())
GQuark mien_trainer_error_quark (void);

typedef enum {
  MIEN_TRAINER_ERROR_CONFIG,     /* an invalid or inconsistent configuration */
  MIEN_TRAINER_ERROR_RESUME,     /* nothing to resume, or a checkpoint that does not fit */
  MIEN_TRAINER_ERROR_DIVERGED,   /* the loss became NaN or infinite */
} MienTrainerError;

typedef enum {
  MIEN_IMBALANCE_NONE,
  MIEN_IMBALANCE_WEIGHTED,
  MIEN_IMBALANCE_UPSAMPLE,
  MIEN_IMBALANCE_UPSAMPLE_WEIGHTED,
  MIEN_IMBALANCE_ONTHEFLY,
} MienImbalance;

typedef enum {
  MIEN_CLASS_WEIGHTS_DEFAULT,  /* as the imbalance strategy says */
  MIEN_CLASS_WEIGHTS_NONE,
  MIEN_CLASS_WEIGHTS_AUTO,
  MIEN_CLASS_WEIGHTS_CUSTOM,   /* `weights` */
} MienClassWeightsKind;

typedef enum {
  MIEN_SCHEDULE_CONSTANT,
  MIEN_SCHEDULE_COSINE,        /* linear warm-up, then cosine decay to 0 */
} MienSchedule;

/* "none", "weighted", "upsample", "upsample+weighted", "onthefly" */
const char *mien_imbalance_to_string   (MienImbalance  imbalance);
gboolean    mien_imbalance_from_string (const char    *str,
                                        MienImbalance *out,
                                        GError       **error);

/* What the network's input is normalised with (MienTrainConfig.normalisation). */
typedef enum {
  MIEN_NORMALISATION_AUTO,     /* ImageNet's with `pretrained`, the dataset's without */
  MIEN_NORMALISATION_DATASET,  /* the training set's own per-channel mean and std */
  /* What the pretrained weights were trained with: a catalogue file's own mean and std
   * (mien_weights_find_file (); timm's AugReg ViTs use 0.5 / 0.5), else mien_imagenet_mean /
   * mien_imagenet_std (mien-model.h) */
  MIEN_NORMALISATION_IMAGENET,
} MienNormalisation;

/* "auto", "dataset", "imagenet" */
const char *mien_normalisation_to_string   (MienNormalisation  normalisation);
gboolean    mien_normalisation_from_string (const char        *str,
                                            MienNormalisation *out,
                                            GError           **error);

typedef struct {
  /* Data */
  char               *data;         /* a dataset, or a folder holding train/ and val/ */
  char               *val;          /* NULL: val/ beside train/, or a split of `data` */
  char               *split;        /* the split of `data` to train on ("train", "val", "test")
                                     * where the file holds several; NULL: "train" */
  double              val_split;    /* fraction of `data` held out when there is no val set */
  char              **classes;      /* NULL: every class of the training set */
  gboolean            grey;         /* colour mode */
  double              face_margin;  /* the training images are face crops framed as
                                     * mien_face_align () frames a face with this margin
                                     * (recorded in the model files, see
                                     * mien_model_get_face_margin ()); NAN: whole images */
  /* Model */
  char               *backbone;     /* "family[:variant]" */
  int                 input_size;   /* 0: the variant's preferred size */
  MienMode            mode;
  MienBatchNorm       batch_norm;
  char               *pretrained;   /* NULL, or weights for the backbone (mien_model_load_pretrained) */
  /* Optimisation */
  guint               epochs;
  guint               batch_size;
  double              lr;
  double              beta1;
  double              beta2;
  double              weight_decay;
  MienSchedule        schedule;
  double              warmup_epochs;
  /* The paper's modules 1 and 2 */
  double              smoothing;    /* label smoothing α, eq. (1) */
  MienClassWeightsKind class_weights;
  double             *weights;      /* n_weights custom class weights */
  guint               n_weights;
  MienImbalance       imbalance;
  MienRandAugment     rand_augment;
  MienGeometryAugment geometry;     /* flip and crop of training images */
  /* Execution */
  MienDevice          device;
  gboolean            amp;          /* bfloat16 autocast on CUDA */
  /* Data-parallel runs (mien_trainer_set_process_group ()): batch-norm statistics of the whole
   * global batch, all-reduced across the ranks (torch.nn.SyncBatchNorm), rather than of each
   * rank's own batch (DistributedDataParallel's default); no effect on one process */
  gboolean            sync_batch_norm;
  guint64             seed;
  int                 threads;      /* libtorch intra-op threads; 0 = leave as is */
  int                 workers;      /* decoding threads; 0 = one per processor */
  char               *out;          /* the run folder */
  /* Written to config.json as "normalisation"; a config.json without it (older Mien) means
   * MIEN_NORMALISATION_DATASET, what those versions did. */
  MienNormalisation   normalisation;
} MienTrainConfig;

MienTrainConfig *mien_train_config_new       (void);  /* the defaults */
MienTrainConfig *mien_train_config_copy      (const MienTrainConfig *config);
void             mien_train_config_free      (MienTrainConfig *config);
/* `config`'s normalisation with AUTO resolved: IMAGENET or DATASET. */
MienNormalisation mien_train_config_get_normalisation (const MienTrainConfig *config);
/* Checks ranges and consistency (e.g. custom weights count vs classes, once known). */
gboolean         mien_train_config_validate  (const MienTrainConfig *config,
                                              GError               **error);
JsonNode        *mien_train_config_to_json   (const MienTrainConfig *config);
/* Reads what mien_train_config_to_json () wrote, checking every member's type and range;
 * errors (MIEN_JSON_ERROR, or MIEN_TRAINER_ERROR_CONFIG) start with `source`, the file. The
 * device is only parsed as a name: mien_trainer_run () checks that it is here. */
MienTrainConfig *mien_train_config_from_json (JsonObject           *object,
                                              const char           *source,
                                              GError              **error);

/* The training and validation sets of a run, exactly as the trainer opens them: `val` when
 * given, else train/ and val/ inside `data` when both exist (the layout demo-data writes), else
 * a stratified split of `data` by `val_split` and `seed`. Where `data` holds several splits
 * (fer2013.csv: train, val, test) training takes `split` (default train) and validation the
 * file's val split (FER2013's PublicTest), or, when it has none or trains on it, the stratified
 * split of the training split; a `val` file with several splits gives its val split. Front ends use it to look at the
 * images a run was validated on. */
gboolean         mien_train_config_open_datasets (const MienTrainConfig  *config,
                                                  MienDataset           **train_out,
                                                  MienDataset           **val_out,
                                                  GError               **error);

/* What a progress callback sees. */
typedef enum {
  MIEN_TRAIN_PHASE_PREPARING,   /* listing and decoding the images */
  MIEN_TRAIN_PHASE_TRAINING,
  MIEN_TRAIN_PHASE_VALIDATING,
} MienTrainPhase;

typedef struct {
  MienTrainPhase phase;
  guint          epoch;          /* 1-based */
  guint          n_epochs;
  guint          step;           /* in this epoch, 1-based; during preparation: images done */
  guint          n_steps;        /* in this epoch; during preparation: images in all */
  double         loss;           /* running mean of this epoch's training loss */
  double         images_per_s;   /* this epoch's training throughput so far */
  double         fraction;       /* of the whole run, 0..1 */
  double         eta_s;          /* estimated seconds left in the run, -1 when unknown */
} MienTrainProgress;

typedef void (*MienTrainProgressFunc) (const MienTrainProgress *progress,
                                       gpointer                 user_data);
/* Called after each epoch with its log.jsonl record (borrowed). */
typedef void (*MienTrainEpochFunc)    (JsonObject *record,
                                       gpointer    user_data);

#define MIEN_TYPE_TRAINER (mien_trainer_get_type ())
G_DECLARE_FINAL_TYPE (MienTrainer, mien_trainer, MIEN, TRAINER, GObject)

/* A new run in config->out. */
MienTrainer     *mien_trainer_new            (MienPluginEngine      *engine,
                                              const MienTrainConfig *config);
/* Continues the run in `run_dir` from its config.json and last.safetensors. `epochs` > 0
 * extends or shortens the run; `device` (may be NULL) and `threads` (> 0) override where it
 * runs. */
MienTrainer     *mien_trainer_new_resume     (MienPluginEngine      *engine,
                                              const char            *run_dir,
                                              guint                  epochs,
                                              const MienDevice      *device,
                                              int                    threads,
                                              GError               **error);

/* Data-parallel training (mien-dist.h), the way DistributedDataParallel does it:
 * - every rank runs rank 0's configuration (rank 0 publishes it when its run starts; other ranks
 *   are made with mien_trainer_new_rank ()), and starts from rank 0's weights, optimiser state
 *   and counters, broadcast before the first step (on resume, from rank 0's checkpoint);
 * - each epoch, the shuffled plan (upsampling copies included) is dealt out as
 *   mien_slots_shard () does with padding, and `batch_size` is per rank: W ranks of batch B step
 *   like one process of batch W·B, with W·B images per step;
 * - gradients are averaged across the ranks by c10d's Reducer during backward; batch-norm
 *   running statistics are broadcast from rank 0 before every step (DDP's broadcast_buffers),
 *   and batch statistics are each rank's own unless `sync_batch_norm`;
 * - the training loss and accuracy and the validation metrics (each rank validates its share)
 *   are summed across the ranks, so every rank sees the run's figures;
 * - only rank 0 touches the run folder; the log records a "world_size" above 1, and a resumed
 *   run may use another world size (its step count is then recounted in the new steps per
 *   epoch, which the learning-rate schedule follows).
 * A failure on one rank stops the others (mien_process_group_announce_stop ()). `pg` must
 * outlive the trainer's runs. */
void             mien_trainer_set_process_group (MienTrainer      *self,
                                                 MienProcessGroup *pg);
/* A trainer for rank > 0 of `pg`: rank 0's configuration, waited for in the group's store.
 * `device` and `threads` (> 0) are this rank's own; with `device` NULL, rank 0's device, or for
 * a CUDA one this machine's GPU `local_gpu` (torchrun's LOCAL_RANK). */
MienTrainer     *mien_trainer_new_rank       (MienPluginEngine      *engine,
                                              MienProcessGroup      *pg,
                                              const MienDevice      *device,
                                              int                    local_gpu,
                                              int                    threads,
                                              GError               **error);

/* Data-parallel training inside this process (the studio's "All GPUs"): mien_trainer_run ()
 * then runs one rank per device of `devices` (at least 2), each on a thread of its own, over a
 * store on 127.0.0.1 (NCCL between CUDA devices where this build has it, Gloo otherwise). This
 * trainer is rank 0: its callbacks and results are the run's; the other ranks are silent, and
 * `cancellable` stops them all. Synchronised batch norm is refused (its group is
 * process-wide): use one process per rank (mien-cli train --nproc). NULL or fewer than 2
 * devices: one device, the configuration's. */
void             mien_trainer_set_local_devices (MienTrainer      *self,
                                                 const MienDevice *devices,
                                                 guint             n_devices);

/* Callbacks run on the training thread; a front end marshals them to its main loop. */
void             mien_trainer_set_progress_func (MienTrainer          *self,
                                                 MienTrainProgressFunc func,
                                                 gpointer              user_data,
                                                 GDestroyNotify        destroy);
void             mien_trainer_set_epoch_func (MienTrainer          *self,
                                              MienTrainEpochFunc    func,
                                              gpointer              user_data,
                                              GDestroyNotify        destroy);
const MienTrainConfig *mien_trainer_get_config (MienTrainer *self);

/* Runs (or continues) the whole run on the calling thread. Cancelling stops within one batch
 * and returns G_IO_ERROR_CANCELLED; the run folder then holds the last finished epoch, ready
 * for resume. The device is checked here (MIEN_TORCH_ERROR_NO_DEVICE): a run folder names a
 * device, which another machine may lack. */
gboolean         mien_trainer_run            (MienTrainer    *self,
                                              GCancellable   *cancellable,
                                              GError        **error);
/* The same in a GTask thread. */
void             mien_trainer_run_async      (MienTrainer        *self,
                                              GCancellable       *cancellable,
                                              GAsyncReadyCallback callback,
                                              gpointer            user_data);
gboolean         mien_trainer_run_finish     (MienTrainer   *self,
                                              GAsyncResult  *result,
                                              GError       **error);

/* After a run: the best epoch (1-based, 0 if none), its validation metrics (borrowed) and the
 * path of best.safetensors. */
guint            mien_trainer_get_best_epoch   (MienTrainer *self);
MienMetrics     *mien_trainer_get_best_metrics (MienTrainer *self);
const char      *mien_trainer_get_best_path    (MienTrainer *self);
/* The training set's statistics as the run used them (after preparation). */
const double    *mien_trainer_get_class_weights (MienTrainer *self);  /* NULL when none */
/* After preparation (before the first MIEN_TRAIN_PHASE_TRAINING progress, and unchanged
 * from then on): what loading `pretrained` did — "N tensors loaded; ignored: fc.weight, …" —
 * (NULL when no weights were loaded, as on resume), and "PATH: reason" for every image of the
 * training and validation sets that could not be read and was left out (empty when none). */
const char      *mien_trainer_get_pretrained_summary (MienTrainer *self);
GPtrArray       *mien_trainer_get_unreadable        (MienTrainer *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienTrainConfig, mien_train_config_free)

G_END_DECLS
