/* mien-device.c — the devices a front end offers. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mien-device.h"

void
mien_device_info_free (MienDeviceInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->label);
  g_free (info->model);
  g_free (info);
}

GPtrArray *
mien_device_list (void)
{
  GPtrArray *devices = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_device_info_free);
  int n_cuda = mien_torch_cuda_is_available () ? mien_torch_cuda_device_count () : 0;
  MienDeviceInfo *cpu = g_new0 (MienDeviceInfo, 1);

  cpu->device = mien_device_cpu ();
  cpu->name = mien_device_to_string (cpu->device);
  cpu->label = g_strdup (_("Processor (CPU)"));
  g_ptr_array_add (devices, cpu);

  for (int i = 0; i < n_cuda; i++)
    {
      g_autoptr(GError) error = NULL;
      MienDeviceInfo *gpu = g_new0 (MienDeviceInfo, 1);
      g_autofree char *model = mien_torch_cuda_device_name (i, &error);

      gpu->device = mien_device_cuda (i);
      gpu->name = mien_device_to_string (gpu->device);
      gpu->model = model != NULL ? g_steal_pointer (&model)
                                 : g_strdup (error != NULL ? error->message : _("CUDA device"));
      /* Translators: a CUDA GPU: its index and its name ("GPU 0: NVIDIA H100"). */
      gpu->label = g_strdup_printf (_("GPU %d: %s"), i, gpu->model);
      g_ptr_array_add (devices, gpu);
    }
  return devices;
}
