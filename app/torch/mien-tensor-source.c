/* mien-tensor-source.c — the named tensors of a weights file, whatever its format.
 */
#include "config.h"

#include <fcntl.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mien-tensor-source.h"

struct _MienTensorSource {
  MienSafetensors *st;
  MienPth         *pth;
  MienSafetensors *owned_st;
  MienPth         *owned_pth;
  GArray          *entries;    /* MienTensorSourceEntry, borrowing the reader's strings */
  GHashTable      *metadata;   /* the reader's, or an empty one of ours */
  GHashTable      *owned_metadata;
};

static MienTensorSource *
source_new (MienSafetensors *st,
            MienPth         *pth)
{
  MienTensorSource *src = g_new0 (MienTensorSource, 1);
  guint n = st != NULL ? mien_safetensors_get_n_entries (st) : mien_pth_get_n_entries (pth);

  src->st = st;
  src->pth = pth;
  src->entries = g_array_sized_new (FALSE, TRUE, sizeof (MienTensorSourceEntry), n);
  for (guint i = 0; i < n; i++)
    {
      MienTensorSourceEntry e;

      if (st != NULL)
        {
          const MienSafetensorsEntry *se = mien_safetensors_get_entry (st, i);

          e = (MienTensorSourceEntry) { se->name, se->dtype, se->ndim, se->shape };
        }
      else
        {
          const MienPthEntry *pe = mien_pth_get_entry (pth, i);

          e = (MienTensorSourceEntry) { pe->name, pe->dtype, pe->ndim, pe->shape };
        }
      g_array_append_val (src->entries, e);
    }

  if (st != NULL)
    src->metadata = mien_safetensors_get_metadata (st);
  else
    src->metadata = src->owned_metadata = g_hash_table_new (g_str_hash, g_str_equal);
  return src;
}

MienTensorSource *
mien_tensor_source_new_for_safetensors (MienSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);

  return source_new (st, NULL);
}

MienTensorSource *
mien_tensor_source_new_for_pth (MienPth *pth)
{
  g_return_val_if_fail (pth != NULL, NULL);

  return source_new (NULL, pth);
}

typedef enum {
  FORMAT_SAFETENSORS,  /* or unreadable, or too short to tell: the safetensors reader says why */
  FORMAT_PTH,
  FORMAT_NEITHER,
} Format;

/* The first bytes decide. A safetensors file's ninth byte opens its JSON header; a file that
 * starts like neither format gets one message naming both, rather than the safetensors reader's
 * complaint about a header length that was never one. */
static Format
sniff_format (const char *path)
{
  guint8 head[32];
  gssize n;
  int fd;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return FORMAT_SAFETENSORS;
  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
  if (fd < 0)
    return FORMAT_SAFETENSORS;
  n = read (fd, head, sizeof head);
  close (fd);
  if (n > 0 && mien_pth_sniff (head, n))
    return FORMAT_PTH;
  if (n > 8 && head[8] != '{')
    return FORMAT_NEITHER;
  return FORMAT_SAFETENSORS;
}

MienTensorSource *
mien_tensor_source_open (const char  *path,
                         GError     **error)
{
  MienTensorSource *src;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  switch (sniff_format (path))
    {
    case FORMAT_NEITHER:
      {
        g_autofree char *display = g_filename_display_name (path);

        g_set_error (error, MIEN_SAFETENSORS_ERROR, MIEN_SAFETENSORS_ERROR_HEADER,
                     _("“%s” is not a weights file: neither safetensors (a header length, then "
                       "a JSON header) nor a PyTorch checkpoint (torch.save’s zip archive or "
                       "pickle)"), display);
        return NULL;
      }
    case FORMAT_PTH:
      {
        MienPth *pth = mien_pth_open (path, error);

        if (pth == NULL)
          return NULL;
        src = source_new (NULL, pth);
        src->owned_pth = pth;
      }
      break;
    case FORMAT_SAFETENSORS:
    default:
      {
        MienSafetensors *st = mien_safetensors_open (path, error);

        if (st == NULL)
          return NULL;
        src = source_new (st, NULL);
        src->owned_st = st;
      }
      break;
    }
  return src;
}

void
mien_tensor_source_free (MienTensorSource *src)
{
  if (src == NULL)
    return;

  g_array_unref (src->entries);
  g_clear_pointer (&src->owned_metadata, g_hash_table_unref);
  g_clear_pointer (&src->owned_st, mien_safetensors_free);
  g_clear_pointer (&src->owned_pth, mien_pth_free);
  g_free (src);
}

const char *
mien_tensor_source_get_format (MienTensorSource *src)
{
  g_return_val_if_fail (src != NULL, NULL);

  return src->st != NULL ? "safetensors" : "pth";
}

guint
mien_tensor_source_get_n_entries (MienTensorSource *src)
{
  g_return_val_if_fail (src != NULL, 0);

  return src->entries->len;
}

const MienTensorSourceEntry *
mien_tensor_source_get_entry (MienTensorSource *src,
                              guint             index)
{
  g_return_val_if_fail (src != NULL, NULL);
  g_return_val_if_fail (index < src->entries->len, NULL);

  return &g_array_index (src->entries, MienTensorSourceEntry, index);
}

GHashTable *
mien_tensor_source_get_metadata (MienTensorSource *src)
{
  g_return_val_if_fail (src != NULL, NULL);

  return src->metadata;
}

MienTensor *
mien_tensor_source_load_tensor (MienTensorSource  *src,
                                guint              index,
                                GError           **error)
{
  g_return_val_if_fail (src != NULL, NULL);
  g_return_val_if_fail (index < src->entries->len, NULL);

  if (src->st != NULL)
    return mien_safetensors_load_tensor (src->st, mien_safetensors_get_entry (src->st, index)->name,
                                         error);
  return mien_pth_load_tensor (src->pth, index, error);
}
