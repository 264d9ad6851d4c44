/* mien-device.h — the devices a front end offers: one list for the Train page, the
 * Preferences window and `mien-cli plugins`.
 */
#pragma once

#include "mien-torch.h"

G_BEGIN_DECLS

typedef struct {
  MienDevice  device;
  char       *name;      /* "cpu", "cuda:0": what config.json and --device hold */
  char       *label;     /* for people: "Processor (CPU)", "GPU 0: NVIDIA H100 80GB HBM3" */
  char       *model;     /* a GPU's marketing name, or why it could not be read; NULL for the CPU */
} MienDeviceInfo;

void       mien_device_info_free (MienDeviceInfo *info);

/* The CPU, then every CUDA device libtorch sees here (none with a CPU-only libtorch), as
 * MienDeviceInfo. */
GPtrArray *mien_device_list      (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienDeviceInfo, mien_device_info_free)

G_END_DECLS
