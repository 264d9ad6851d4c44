/* mien-dist.h — PyTorch's distributed engine (c10d) behind plain C: data-parallel training
 * across processes and machines.
 *
 * Nothing here is home-made transport: the rendezvous is c10d's TCPStore (rank 0 serves it at
 * MASTER_ADDR:MASTER_PORT, as torchrun's static rendezvous does), the collectives are a c10d
 * process group (Gloo for CPU tensors; NCCL for CUDA ones where the libtorch was built with
 * it), and the gradient all-reduce is c10d's own Reducer — the engine under PyTorch's
 * DistributedDataParallel — with DDP's bucket sizes (1 MiB for the first bucket, 25 MiB after),
 * launched from autograd hooks as each bucket's gradients are ready, so that communication
 * overlaps the rest of the backward pass, and averaged over the ranks.
 *
 * Faults: every collective and the rendezvous give up after the group's timeout. A failed
 * collective says which rank is to blame where that can be known: each rank publishes a
 * heartbeat and its progress through the store once a second, and a rank that stops for a
 * reason of its own (a full disk, a cancel) publishes that reason first
 * (mien_process_group_announce_stop ()); mien_process_group_explain_failure () reads them.
 *
 * Synchronised batch norm: while a group is set with mien_dist_set_sync_batch_norm (), every
 * batch norm in training mode (mien_tensor_batch_norm ()) normalises with the mean and variance
 * of the whole global batch, all-reduced across the ranks inside the autograd graph (so the
 * backward pass reduces the statistics' gradients too), as torch.nn.SyncBatchNorm does.
 */
#pragma once

#include "mien-torch.h"

G_BEGIN_DECLS

#define MIEN_DIST_ERROR (mien_dist_error_quark ())
GQuark mien_dist_error_quark (void);

typedef enum {
  MIEN_DIST_ERROR_UNSUPPORTED,     /* this libtorch lacks the backend (NCCL in a CPU build) */
  MIEN_DIST_ERROR_ADDRESS_IN_USE,  /* rank 0 cannot listen on MASTER_ADDR:MASTER_PORT */
  MIEN_DIST_ERROR_RENDEZVOUS,      /* the ranks did not all meet in time, or disagree */
  MIEN_DIST_ERROR_PEER,            /* a collective failed: a rank died, hung or stopped */
} MienDistError;

typedef enum {
  MIEN_DIST_BACKEND_GLOO,
  MIEN_DIST_BACKEND_NCCL,
} MienDistBackend;

/* "gloo", "nccl" */
gboolean    mien_dist_backend_from_string (const char      *str,
                                           MienDistBackend *out,
                                           GError         **error);
/* FALSE with MIEN_DIST_ERROR_UNSUPPORTED when this build cannot use `backend`. */
gboolean    mien_dist_backend_check       (MienDistBackend  backend,
                                           GError         **error);

/* A TCP port of 127.0.0.1 that nobody listens on now (for rank 0's store on one machine);
 * 0 with `error` set when none can be had. */
guint       mien_dist_free_port           (GError         **error);

typedef struct _MienProcessGroup MienProcessGroup;

/* Joins the group: rank 0 listens on `master_addr`:`port` (the other ranks connect there,
 * retrying until `timeout_s`), the ranks check that they agree on the world size and that no
 * rank index is taken twice, then the backend connects them. Blocks until all `world_size`
 * ranks have arrived or `timeout_s` has passed. `device` is where this rank's tensors live
 * (NCCL needs a CUDA device). */
MienProcessGroup *mien_process_group_new      (MienDistBackend  backend,
                                               const char      *master_addr,
                                               guint            port,
                                               int              rank,
                                               int              world_size,
                                               MienDevice       device,
                                               double           timeout_s,
                                               GError         **error);
void              mien_process_group_free     (MienProcessGroup *pg);
int               mien_process_group_get_rank       (MienProcessGroup *pg);
int               mien_process_group_get_world_size (MienProcessGroup *pg);

/* Collectives, in place, on tensors of any device (copied to the group's where NCCL needs
 * it). A failure is MIEN_DIST_ERROR_PEER, explained as mien_process_group_explain_failure ()
 * does. broadcast_many sends `root`'s tensors as DDP syncs its module: packed by dtype and
 * device into buckets of up to 250 MiB (DDP's), one broadcast each. */
gboolean mien_process_group_broadcast_many (MienProcessGroup  *pg,
                                            MienTensor * const *tensors,
                                            guint              n_tensors,
                                            int                root,
                                            GError           **error);
gboolean mien_process_group_all_reduce_sum (MienProcessGroup *pg,
                                            MienTensor       *tensor,
                                            GError          **error);
/* The same for host values: sums `values` across the ranks. */
gboolean mien_process_group_sum_doubles    (MienProcessGroup *pg,
                                            double           *values,
                                            gsize             n_values,
                                            GError          **error);
gboolean mien_process_group_barrier        (MienProcessGroup *pg,
                                            GError          **error);

/* Small values through the rendezvous store, for what is not a tensor (a checkpoint's trainer
 * state). get waits up to the group's timeout for the key to appear. */
gboolean mien_process_group_store_set      (MienProcessGroup *pg,
                                            const char       *key,
                                            const char       *value,
                                            GError          **error);
char    *mien_process_group_store_get      (MienProcessGroup *pg,
                                            const char       *key,
                                            GError          **error);

/* What this rank is doing ("epoch 2, step 17"), and a number that grows with it (the global
 * step), published with the heartbeat: a failure report says where each rank was. */
void     mien_process_group_set_progress   (MienProcessGroup *pg,
                                            gint64            position,
                                            const char       *where);
/* Tells the other ranks that this one stops, and why, and leaves the group: its connections
 * close, so that the others' pending collectives fail at once. Call it last (after freeing the
 * group's reducers); rank 0, which serves the store, waits a few seconds for the others to
 * read the reason. */
void     mien_process_group_announce_stop  (MienProcessGroup *pg,
                                            const char       *reason);
/* After a failure on this rank (`*error` set): when another rank stopped, died or hangs, replaces
 * `*error` with MIEN_DIST_ERROR_PEER naming that rank and what is known of it ("Rank 1 stopped
 * responding during epoch 1, step 7"). Waits up to a few heartbeats to tell a dead rank from a
 * live one. Leaves `*error` as it is when every other rank looks healthy. */
void     mien_process_group_explain_failure (MienProcessGroup *pg,
                                             GError          **error);

/* DistributedDataParallel's gradient reduction for `params` (the trainable parameters, the same
 * list in the same order on every rank). Call prepare_for_backward () with the loss (or the
 * outputs) after each training forward pass and before backward (); after backward () every
 * parameter's .grad holds the mean of the ranks' gradients. */
typedef struct _MienGradReducer MienGradReducer;

MienGradReducer *mien_grad_reducer_new (MienProcessGroup  *pg,
                                        MienTensor * const *params,
                                        guint               n_params,
                                        GError            **error);
gboolean         mien_grad_reducer_prepare_for_backward (MienGradReducer *reducer,
                                                         MienTensor      *output,
                                                         GError         **error);
void             mien_grad_reducer_free (MienGradReducer *reducer);

/* While `pg` is set (NULL unsets it), training-mode batch norm is synchronised across its ranks.
 * The group must outlive the setting. */
void              mien_dist_set_sync_batch_norm (MienProcessGroup *pg);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienProcessGroup, mien_process_group_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienGradReducer, mien_grad_reducer_free)

G_END_DECLS
