/* mien-var-store.c — named parameters and buffers of a network.
 *
 * Plain C on top of the shim: everything libtorch does here goes through mien-torch.h.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "mien-var-store.h"

G_DEFINE_QUARK (mien-var-store-error-quark, mien_var_store_error)

/* How many names of each list a load report spells out. */
#define REPORT_MAX_NAMES 5

typedef struct {
  char        *name;
  MienVarKind  kind;
  MienTensor  *tensor;    /* the store's own handle; callers get aliases of it */
  gboolean     trainable;
} MienVar;

struct _MienVarStore {
  MienDevice  device;
  GPtrArray  *vars;     /* MienVar *, in insertion order (the state_dict's) */
  GHashTable *by_name;  /* borrowed name → MienVar * */
};

static void
mien_var_free (MienVar *var)
{
  g_free (var->name);
  g_clear_pointer (&var->tensor, mien_tensor_free);
  g_free (var);
}

MienVarStore *
mien_var_store_new (MienDevice device)
{
  MienVarStore *vs = g_new0 (MienVarStore, 1);

  vs->device = device;
  vs->vars = g_ptr_array_new_with_free_func ((GDestroyNotify) mien_var_free);
  vs->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  return vs;
}

void
mien_var_store_free (MienVarStore *vs)
{
  if (vs == NULL)
    return;

  g_hash_table_unref (vs->by_name);
  g_ptr_array_unref (vs->vars);
  g_free (vs);
}

MienDevice
mien_var_store_get_device (MienVarStore *vs)
{
  MienDevice cpu = MIEN_DEVICE_INIT_CPU;

  g_return_val_if_fail (vs != NULL, cpu);

  return vs->device;
}

static char *
shape_to_string (const gint64 *shape,
                 int           ndim)
{
  GString *s = g_string_new ("[");

  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i > 0 ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* The tensor's shape in a new array (never NULL, so that a 0-d tensor needs no special case). */
static gint64 *
tensor_shape (MienTensor *tensor,
              int        *ndim_out)
{
  int ndim = mien_tensor_ndim (tensor);
  gint64 *shape = g_new0 (gint64, MAX (ndim, 1));

  mien_tensor_shape (tensor, shape, ndim);
  *ndim_out = ndim;
  return shape;
}

static gboolean
shapes_equal (const gint64 *a,
              int           a_ndim,
              const gint64 *b,
              int           b_ndim)
{
  return a_ndim == b_ndim && (a_ndim == 0 || memcmp (a, b, sizeof (gint64) * a_ndim) == 0);
}

static gboolean
check_new_name (MienVarStore  *vs,
                const char    *name,
                GError       **error)
{
  if (g_hash_table_contains (vs->by_name, name))
    {
      g_set_error (error, MIEN_VAR_STORE_ERROR, MIEN_VAR_STORE_ERROR_DUPLICATE,
                   _("The var store already holds “%s”"), name);
      return FALSE;
    }
  return TRUE;
}

/* Takes `tensor`; returns the registered entry. */
static MienVar *
add_var (MienVarStore *vs,
         const char   *name,
         MienVarKind   kind,
         MienTensor   *tensor)
{
  MienVar *var = g_new0 (MienVar, 1);

  var->name = g_strdup (name);
  var->kind = kind;
  var->tensor = tensor;
  var->trainable = kind == MIEN_VAR_PARAMETER &&
                   mien_dtype_is_floating (mien_tensor_dtype (tensor));
  g_ptr_array_add (vs->vars, var);
  g_hash_table_insert (vs->by_name, var->name, var);
  return var;
}

static gboolean
apply_init (MienTensor      *t,
            const MienInit  *init,
            GError         **error)
{
  static const MienInit zeros = { MIEN_INIT_ZEROS, 0, 0 };

  if (init == NULL)
    init = &zeros;

  switch (init->kind)
    {
    case MIEN_INIT_ZEROS:
      return mien_tensor_fill_ (t, 0.0, error);
    case MIEN_INIT_ONES:
      return mien_tensor_fill_ (t, 1.0, error);
    case MIEN_INIT_CONSTANT:
      return mien_tensor_fill_ (t, init->a, error);
    case MIEN_INIT_NORMAL:
      return mien_tensor_normal_ (t, init->a, init->b, error);
    case MIEN_INIT_UNIFORM:
      return mien_tensor_uniform_ (t, init->a, init->b, error);
    case MIEN_INIT_TRUNC_NORMAL:
      return mien_tensor_trunc_normal_ (t, 0.0, init->a, -2.0 * init->a, 2.0 * init->a, error);
    case MIEN_INIT_KAIMING_NORMAL_FAN_OUT:
      return mien_tensor_kaiming_normal_ (t, MIEN_FAN_OUT, error);
    case MIEN_INIT_KAIMING_UNIFORM:
      return mien_tensor_kaiming_uniform_ (t, sqrt (5.0), error);
    case MIEN_INIT_FAN_IN_UNIFORM:
      {
        /* torch.nn.Linear.reset_parameters (): bound 0 for a zero fan-in. */
        double bound = init->a > 0 ? 1.0 / sqrt (init->a) : 0.0;

        return mien_tensor_uniform_ (t, -bound, bound, error);
      }
    case MIEN_INIT_XAVIER_UNIFORM:
      return mien_tensor_xavier_uniform_ (t, error);
    default:
      break;
    }

  g_set_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT,
               "unknown MienInitKind %d", (int) init->kind);
  return FALSE;
}

static MienTensor *
new_entry (MienVarStore    *vs,
           const char      *name,
           MienVarKind      kind,
           const gint64    *shape,
           int              ndim,
           MienDType        dtype,
           const MienInit  *init,
           GError         **error)
{
  g_autoptr(MienTensor) t = NULL;
  MienVar *var;

  if (!check_new_name (vs, name, error))
    return NULL;

  t = mien_tensor_new_empty (shape, ndim, dtype, vs->device, error);
  if (t == NULL)
    {
      g_prefix_error (error, "%s: ", name);
      return NULL;
    }

  /* Meta tensors have no values to initialise. */
  if (vs->device.type != MIEN_DEVICE_META && !apply_init (t, init, error))
    {
      g_prefix_error (error, "%s: ", name);
      return NULL;
    }

  var = add_var (vs, name, kind, g_steal_pointer (&t));
  if (var->trainable)
    mien_tensor_set_requires_grad (var->tensor, TRUE);

  return mien_tensor_alias (var->tensor);
}

MienTensor *
mien_var_store_new_parameter (MienVarStore    *vs,
                              const char      *name,
                              const gint64    *shape,
                              int              ndim,
                              const MienInit  *init,
                              GError         **error)
{
  g_return_val_if_fail (vs != NULL, NULL);
  g_return_val_if_fail (name != NULL && name[0] != '\0', NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return new_entry (vs, name, MIEN_VAR_PARAMETER, shape, ndim, MIEN_DTYPE_FLOAT32, init, error);
}

MienTensor *
mien_var_store_new_buffer (MienVarStore    *vs,
                           const char      *name,
                           const gint64    *shape,
                           int              ndim,
                           MienDType        dtype,
                           const MienInit  *init,
                           GError         **error)
{
  g_return_val_if_fail (vs != NULL, NULL);
  g_return_val_if_fail (name != NULL && name[0] != '\0', NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return new_entry (vs, name, MIEN_VAR_BUFFER, shape, ndim, dtype, init, error);
}

gboolean
mien_var_store_add (MienVarStore  *vs,
                    const char    *name,
                    MienVarKind    kind,
                    MienTensor    *tensor,
                    GError       **error)
{
  MienVar *var;

  g_return_val_if_fail (vs != NULL, FALSE);
  g_return_val_if_fail (name != NULL && name[0] != '\0', FALSE);
  g_return_val_if_fail (tensor != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_new_name (vs, name, error))
    return FALSE;

  /* Turning requires_grad off fails for a tensor that is the output of an op, and a buffer that
   * requires grad would be trained behind the optimiser's back: refuse rather than guess. */
  if (kind == MIEN_VAR_BUFFER && mien_tensor_requires_grad (tensor))
    {
      g_set_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT,
                   _("Buffer “%s” must not require grad"), name);
      return FALSE;
    }

  var = add_var (vs, name, kind, mien_tensor_alias (tensor));
  if (var->trainable && !mien_tensor_requires_grad (var->tensor))
    mien_tensor_set_requires_grad (var->tensor, TRUE);

  return TRUE;
}

guint
mien_var_store_get_n_vars (MienVarStore *vs)
{
  g_return_val_if_fail (vs != NULL, 0);

  return vs->vars->len;
}

const char *
mien_var_store_get_name (MienVarStore *vs,
                         guint         index)
{
  g_return_val_if_fail (vs != NULL, NULL);
  g_return_val_if_fail (index < vs->vars->len, NULL);

  return ((MienVar *) g_ptr_array_index (vs->vars, index))->name;
}

MienVarKind
mien_var_store_get_kind (MienVarStore *vs,
                         guint         index)
{
  g_return_val_if_fail (vs != NULL, MIEN_VAR_PARAMETER);
  g_return_val_if_fail (index < vs->vars->len, MIEN_VAR_PARAMETER);

  return ((MienVar *) g_ptr_array_index (vs->vars, index))->kind;
}

MienTensor *
mien_var_store_get_nth (MienVarStore *vs,
                        guint         index)
{
  g_return_val_if_fail (vs != NULL, NULL);

  if (index >= vs->vars->len)
    return NULL;

  return mien_tensor_alias (((MienVar *) g_ptr_array_index (vs->vars, index))->tensor);
}

MienTensor *
mien_var_store_get (MienVarStore *vs,
                    const char   *name)
{
  MienVar *var;

  g_return_val_if_fail (vs != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  var = g_hash_table_lookup (vs->by_name, name);
  return var != NULL ? mien_tensor_alias (var->tensor) : NULL;
}

gboolean
mien_var_store_contains (MienVarStore *vs,
                         const char   *name)
{
  g_return_val_if_fail (vs != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return g_hash_table_contains (vs->by_name, name);
}

gint64
mien_var_store_count_parameters (MienVarStore *vs,
                                 gboolean      trainable_only)
{
  gint64 n = 0;

  g_return_val_if_fail (vs != NULL, 0);

  for (guint i = 0; i < vs->vars->len; i++)
    {
      MienVar *var = g_ptr_array_index (vs->vars, i);

      if (var->kind == MIEN_VAR_PARAMETER && (!trainable_only || var->trainable))
        n += mien_tensor_numel (var->tensor);
    }

  return n;
}

/* `prefix` selects `name` when equal to it or a dotted ancestor of it: "layer1" selects
 * "layer1.0.conv1.weight" but not "layer10.conv.weight". A prefix that already ends in "." is
 * taken as it is. */
static gboolean
name_has_prefix (const char *name,
                 const char *prefix)
{
  gsize len = strlen (prefix);

  if (len == 0)
    return TRUE;
  if (strncmp (name, prefix, len) != 0)
    return FALSE;
  return name[len] == '\0' || name[len] == '.' || prefix[len - 1] == '.';
}

guint
mien_var_store_set_trainable (MienVarStore *vs,
                              const char   *prefix,
                              gboolean      trainable)
{
  guint n_changed = 0;

  g_return_val_if_fail (vs != NULL, 0);
  g_return_val_if_fail (prefix != NULL, 0);

  trainable = !!trainable;

  for (guint i = 0; i < vs->vars->len; i++)
    {
      MienVar *var = g_ptr_array_index (vs->vars, i);

      /* Integer tensors cannot require grad, so they are never trainable. */
      if (var->kind != MIEN_VAR_PARAMETER || var->trainable == trainable ||
          !mien_dtype_is_floating (mien_tensor_dtype (var->tensor)) ||
          !name_has_prefix (var->name, prefix))
        continue;

      var->trainable = trainable;
      mien_tensor_set_requires_grad (var->tensor, trainable);
      n_changed++;
    }

  return n_changed;
}

gboolean
mien_var_store_is_trainable (MienVarStore *vs,
                             const char   *name)
{
  MienVar *var;

  g_return_val_if_fail (vs != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  var = g_hash_table_lookup (vs->by_name, name);
  return var != NULL && var->trainable;
}

gboolean
mien_var_store_copy_from (MienVarStore  *vs,
                          MienVarStore  *src,
                          GError       **error)
{
  g_return_val_if_fail (vs != NULL, FALSE);
  g_return_val_if_fail (src != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (vs == src)
    return TRUE;

  /* Everything checked before anything is copied, so that a mismatch changes nothing. */
  for (guint i = 0; i < vs->vars->len; i++)
    {
      MienVar *var = g_ptr_array_index (vs->vars, i);
      MienVar *other = g_hash_table_lookup (src->by_name, var->name);
      g_autofree gint64 *shape = NULL;
      g_autofree gint64 *other_shape = NULL;
      int ndim, other_ndim;

      if (other == NULL)
        {
          g_set_error (error, MIEN_VAR_STORE_ERROR, MIEN_VAR_STORE_ERROR_MISMATCH,
                       _("Cannot copy weights: the source has no “%s”"), var->name);
          return FALSE;
        }

      shape = tensor_shape (var->tensor, &ndim);
      other_shape = tensor_shape (other->tensor, &other_ndim);
      if (!shapes_equal (shape, ndim, other_shape, other_ndim))
        {
          g_autofree char *s = shape_to_string (shape, ndim);
          g_autofree char *o = shape_to_string (other_shape, other_ndim);

          g_set_error (error, MIEN_VAR_STORE_ERROR, MIEN_VAR_STORE_ERROR_MISMATCH,
                       _("Cannot copy weights: “%s” is %s in the source but %s here"),
                       var->name, o, s);
          return FALSE;
        }
    }

  if (src->vars->len != vs->vars->len)
    {
      for (guint i = 0; i < src->vars->len; i++)
        {
          MienVar *other = g_ptr_array_index (src->vars, i);

          if (!g_hash_table_contains (vs->by_name, other->name))
            {
              g_set_error (error, MIEN_VAR_STORE_ERROR, MIEN_VAR_STORE_ERROR_MISMATCH,
                           _("Cannot copy weights: the source has “%s”, which is not here"),
                           other->name);
              return FALSE;
            }
        }
    }

  for (guint i = 0; i < vs->vars->len; i++)
    {
      MienVar *var = g_ptr_array_index (vs->vars, i);
      MienVar *other = g_hash_table_lookup (src->by_name, var->name);

      if (!mien_tensor_copy_ (var->tensor, other->tensor, error))
        {
          g_prefix_error (error, "%s: ", var->name);
          return FALSE;
        }
    }

  return TRUE;
}

/* Replaces the data of every entry selected by `convert` in two passes: first every new tensor
 * is made (where running out of memory or a missing device shows up), then each is swapped in
 * with set_data_, so that a failure leaves the store as it was and every handle stays valid. */
typedef gboolean (*ConvertFunc) (MienTensor  *tensor,
                                 gpointer     data,
                                 MienTensor **out,   /* NULL: leave this one as it is */
                                 GError     **error);

static gboolean
convert_in_place (MienVarStore  *vs,
                  ConvertFunc    convert,
                  gpointer       data,
                  GError       **error)
{
  g_autoptr(GPtrArray) converted = g_ptr_array_new_full (vs->vars->len,
                                                         (GDestroyNotify) mien_tensor_free);

  {
    /* Like Module._apply (): the conversion is not part of any graph. */
    g_autoptr(MienNoGradGuard) no_grad = mien_no_grad_guard_new ();

    for (guint i = 0; i < vs->vars->len; i++)
      {
        MienVar *var = g_ptr_array_index (vs->vars, i);
        MienTensor *t = NULL;

        if (!convert (var->tensor, data, &t, error))
          {
            g_prefix_error (error, "%s: ", var->name);
            return FALSE;
          }
        g_ptr_array_add (converted, t);
      }
  }

  for (guint i = 0; i < vs->vars->len; i++)
    {
      MienVar *var = g_ptr_array_index (vs->vars, i);
      MienTensor *t = g_ptr_array_index (converted, i);

      if (t == NULL)
        continue;

      /* A gradient keeps its old device and dtype and would not fit the new data. */
      mien_tensor_zero_grad (var->tensor);
      if (!mien_tensor_set_data_ (var->tensor, t, error))
        {
          g_prefix_error (error, "%s: ", var->name);
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
convert_device (MienTensor  *tensor,
                gpointer     data,
                MienTensor **out,
                GError     **error)
{
  const MienDevice *device = data;
  MienDevice from = mien_tensor_device (tensor);

  if (mien_device_equal (from, *device))
    return TRUE;

  /* Meta tensors have no values to move, and set_data_ cannot turn a real tensor into a meta
   * one: say so before touching anything. */
  if (from.type == MIEN_DEVICE_META || device->type == MIEN_DEVICE_META)
    {
      g_set_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT,
                   _("Tensors cannot move to or from the meta device"));
      return FALSE;
    }

  *out = mien_tensor_to_device (tensor, *device, error);
  return *out != NULL;
}

gboolean
mien_var_store_to_device (MienVarStore  *vs,
                          MienDevice     device,
                          GError       **error)
{
  g_return_val_if_fail (vs != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!convert_in_place (vs, convert_device, &device, error))
    return FALSE;

  vs->device = device;
  return TRUE;
}

static gboolean
convert_dtype (MienTensor  *tensor,
               gpointer     data,
               MienTensor **out,
               GError     **error)
{
  MienDType dtype = *(const MienDType *) data;
  MienDType from = mien_tensor_dtype (tensor);

  /* Integer buffers (BatchNorm's num_batches_tracked) keep their type, as in Module.to (). */
  if (from == dtype || !mien_dtype_is_floating (from))
    return TRUE;

  *out = mien_tensor_to_dtype (tensor, dtype, error);
  return *out != NULL;
}

gboolean
mien_var_store_to_dtype (MienVarStore  *vs,
                         MienDType      dtype,
                         GError       **error)
{
  g_return_val_if_fail (vs != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!mien_dtype_is_floating (dtype))
    {
      g_set_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT,
                   _("A var store can only be converted to a floating-point type, not %s"),
                   mien_dtype_to_string (dtype));
      return FALSE;
    }

  return convert_in_place (vs, convert_dtype, &dtype, error);
}

gboolean
mien_var_store_add_to_optimizer (MienVarStore   *vs,
                                 MienOptimizer  *optimizer,
                                 GError        **error)
{
  g_return_val_if_fail (vs != NULL, FALSE);
  g_return_val_if_fail (optimizer != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; i < vs->vars->len; i++)
    {
      MienVar *var = g_ptr_array_index (vs->vars, i);

      if (var->kind == MIEN_VAR_PARAMETER && var->trainable &&
          !mien_optimizer_add_parameter (optimizer, var->name, var->tensor, error))
        return FALSE;
    }

  return TRUE;
}

/* ---- Loading and saving ------------------------------------------------------------------ */

void
mien_load_report_free (MienLoadReport *report)
{
  if (report == NULL)
    return;

  g_clear_pointer (&report->missing, g_ptr_array_unref);
  g_clear_pointer (&report->unexpected, g_ptr_array_unref);
  g_clear_pointer (&report->mismatched, g_ptr_array_unref);
  g_clear_pointer (&report->metadata, g_hash_table_unref);
  g_free (report);
}

static void
append_list (GString   *s,
             GPtrArray *names)
{
  guint shown = MIN (names->len, REPORT_MAX_NAMES);

  if (names->len == 0)
    return;

  g_string_append (s, " (");
  for (guint i = 0; i < shown; i++)
    {
      if (i > 0)
        g_string_append (s, ", ");
      g_string_append (s, g_ptr_array_index (names, i));
    }
  if (names->len > shown)
    {
      guint more = names->len - shown;

      g_string_append_printf (s, g_dngettext (GETTEXT_PACKAGE, " and %u more", " and %u more",
                                              more), more);
    }
  g_string_append_c (s, ')');
}

/* "2 missing (fc.weight, fc.bias); 0 unexpected; 1 shape mismatch (…)" */
static void
append_lists (GString        *s,
              MienLoadReport *report)
{
  g_string_append_printf (s, g_dngettext (GETTEXT_PACKAGE, "%u missing", "%u missing",
                                          report->missing->len),
                          report->missing->len);
  append_list (s, report->missing);
  g_string_append (s, "; ");
  g_string_append_printf (s, g_dngettext (GETTEXT_PACKAGE, "%u unexpected", "%u unexpected",
                                          report->unexpected->len),
                          report->unexpected->len);
  append_list (s, report->unexpected);
  g_string_append (s, "; ");
  g_string_append_printf (s, g_dngettext (GETTEXT_PACKAGE, "%u shape mismatch",
                                          "%u shape mismatches", report->mismatched->len),
                          report->mismatched->len);
  append_list (s, report->mismatched);
}

char *
mien_load_report_to_string (MienLoadReport *report)
{
  GString *s;

  g_return_val_if_fail (report != NULL, NULL);

  s = g_string_new (NULL);
  g_string_append_printf (s, g_dngettext (GETTEXT_PACKAGE, "loaded %u tensor",
                                          "loaded %u tensors", report->n_loaded),
                          report->n_loaded);
  g_string_append (s, "; ");
  append_lists (s, report);
  return g_string_free (s, FALSE);
}

typedef struct {
  guint       index;    /* in the file */
  MienVar    *var;      /* in the store */
  MienTensor *adapted;  /* options->adapt's answer, loaded instead, or NULL */
} LoadPair;

static void
load_pair_clear (gpointer data)
{
  g_clear_pointer (&((LoadPair *) data)->adapted, mien_tensor_free);
}

/* options->adapt's tensor for an entry whose shape differs; NULL (error unset) when there is
 * none, or when it does not have the entry's shape after all. */
static MienTensor *
adapt_entry (MienTensorSource       *src,
             const MienLoadOptions  *options,
             guint                   index,
             const char             *name,
             const gint64           *shape,
             int                     ndim,
             GError                **error)
{
  g_autoptr(MienTensor) value = NULL;
  g_autoptr(MienTensor) adapted = NULL;
  g_autofree gint64 *got = NULL;
  int got_ndim;

  if (options->adapt == NULL)
    return NULL;
  value = mien_tensor_source_load_tensor (src, index, error);
  if (value == NULL)
    return NULL;
  adapted = options->adapt (name, value, shape, ndim, options->adapt_data, error);
  if (adapted == NULL)
    return NULL;
  got = tensor_shape (adapted, &got_ndim);
  return shapes_equal (got, got_ndim, shape, ndim) ? g_steal_pointer (&adapted) : NULL;
}

gboolean
mien_var_store_load_from_source (MienVarStore           *vs,
                                 MienTensorSource       *src,
                                 const MienLoadOptions  *options,
                                 MienLoadReport        **report_out,
                                 GError                **error)
{
  static const MienLoadOptions defaults = { NULL, NULL, NULL, NULL, MIEN_LOAD_TOLERANT };
  g_autoptr(MienLoadReport) report = NULL;
  g_autoptr(GArray) pairs = g_array_new (FALSE, FALSE, sizeof (LoadPair));
  g_autoptr(GHashTable) filled = g_hash_table_new (NULL, NULL);  /* MienVar * set */
  const char *file_prefix, *store_prefix;
  gsize file_prefix_len, store_prefix_len;
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (vs != NULL, FALSE);
  g_return_val_if_fail (src != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (options == NULL)
    options = &defaults;
  file_prefix = options->file_prefix != NULL ? options->file_prefix : "";
  store_prefix = options->store_prefix != NULL ? options->store_prefix : "";
  file_prefix_len = strlen (file_prefix);
  store_prefix_len = strlen (store_prefix);
  g_array_set_clear_func (pairs, load_pair_clear);

  report = g_new0 (MienLoadReport, 1);
  report->missing = g_ptr_array_new_with_free_func (g_free);
  report->unexpected = g_ptr_array_new_with_free_func (g_free);
  report->mismatched = g_ptr_array_new_with_free_func (g_free);
  report->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  g_hash_table_iter_init (&iter, mien_tensor_source_get_metadata (src));
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (report->metadata, g_strdup (key), g_strdup (value));

  /* Pass 1: match every key, and change nothing, so that strict mode can still refuse. */
  for (guint i = 0; i < mien_tensor_source_get_n_entries (src); i++)
    {
      const MienTensorSourceEntry *entry = mien_tensor_source_get_entry (src, i);
      g_autofree char *mapped = NULL;
      g_autofree char *name = NULL;
      g_autofree gint64 *shape = NULL;
      const char *rest;
      MienVar *var;
      int ndim;

      if (strncmp (entry->name, file_prefix, file_prefix_len) != 0)
        continue;
      rest = entry->name + file_prefix_len;
      if (options->map_key != NULL)
        mapped = options->map_key (rest, options->map_key_data);
      name = g_strconcat (store_prefix, mapped != NULL ? mapped : rest, NULL);

      var = g_hash_table_lookup (vs->by_name, name);
      /* Two keys mapped onto one entry: the second has nowhere to go. */
      if (var == NULL || g_hash_table_contains (filled, var))
        {
          g_ptr_array_add (report->unexpected, g_strdup (entry->name));
          continue;
        }

      shape = tensor_shape (var->tensor, &ndim);
      if (!shapes_equal (entry->shape, entry->ndim, shape, ndim))
        {
          g_autoptr(GError) adapt_error = NULL;
          MienTensor *adapted = adapt_entry (src, options, i, mapped != NULL ? mapped : rest,
                                             shape, ndim, &adapt_error);
          g_autofree char *in_file = shape_to_string (entry->shape, entry->ndim);
          g_autofree char *in_model = shape_to_string (shape, ndim);

          if (adapt_error != NULL)
            {
              g_propagate_prefixed_error (error, g_steal_pointer (&adapt_error), "%s: ", name);
              return FALSE;
            }
          g_hash_table_add (filled, var);
          if (adapted != NULL)
            {
              g_array_append_val (pairs, ((LoadPair) { i, var, adapted }));
              continue;
            }
          g_ptr_array_add (report->mismatched,
                           g_strdup_printf (_("%s: file %s vs model %s"),
                                            name, in_file, in_model));
          continue;
        }

      g_hash_table_add (filled, var);
      g_array_append_val (pairs, ((LoadPair) { i, var, NULL }));
    }

  for (guint i = 0; i < vs->vars->len; i++)
    {
      MienVar *var = g_ptr_array_index (vs->vars, i);

      if (strncmp (var->name, store_prefix, store_prefix_len) == 0 &&
          !g_hash_table_contains (filled, var))
        g_ptr_array_add (report->missing, g_strdup (var->name));
    }

  if ((options->flags & MIEN_LOAD_STRICT) != 0 &&
      (report->missing->len > 0 || report->unexpected->len > 0 ||
       report->mismatched->len > 0))
    {
      g_autoptr(GString) lists = g_string_new (NULL);

      append_lists (lists, report);
      g_set_error (error, MIEN_VAR_STORE_ERROR, MIEN_VAR_STORE_ERROR_MISMATCH,
                   _("The weights do not fit the model (%u of its tensors match): %s"),
                   pairs->len, lists->str);
      return FALSE;
    }

  /* Pass 2: copy, one tensor at a time, so that only one extra host copy exists at once. */
  for (guint i = 0; i < pairs->len; i++)
    {
      const LoadPair *pair = &g_array_index (pairs, LoadPair, i);
      g_autoptr(MienTensor) t = NULL;

      t = pair->adapted != NULL ? mien_tensor_alias (pair->adapted)
                                : mien_tensor_source_load_tensor (src, pair->index, error);
      if (t == NULL || !mien_tensor_copy_ (pair->var->tensor, t, error))
        {
          g_prefix_error (error, "%s: ", pair->var->name);
          return FALSE;
        }
      report->n_loaded++;
    }

  if (report_out != NULL)
    *report_out = g_steal_pointer (&report);
  return TRUE;
}

gboolean
mien_var_store_load_from (MienVarStore           *vs,
                          MienSafetensors        *st,
                          const MienLoadOptions  *options,
                          MienLoadReport        **report,
                          GError                **error)
{
  g_autoptr(MienTensorSource) src = NULL;

  g_return_val_if_fail (st != NULL, FALSE);

  src = mien_tensor_source_new_for_safetensors (st);
  return mien_var_store_load_from_source (vs, src, options, report, error);
}

gboolean
mien_var_store_load (MienVarStore           *vs,
                     const char             *path,
                     const MienLoadOptions  *options,
                     MienLoadReport        **report,
                     GError                **error)
{
  g_autoptr(MienTensorSource) src = NULL;

  g_return_val_if_fail (vs != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  src = mien_tensor_source_open (path, error);
  if (src == NULL)
    return FALSE;

  if (!mien_var_store_load_from_source (vs, src, options, report, error))
    {
      g_autofree char *display = g_filename_display_name (path);

      g_prefix_error (error, _("Cannot load “%s”: "), display);
      return FALSE;
    }

  return TRUE;
}

static gboolean
save_fill (guint     index,
           guint8   *dest,
           gsize     size,
           gpointer  user_data,
           GError  **error)
{
  MienVarStore *vs = user_data;
  MienVar *var = g_ptr_array_index (vs->vars, index);

  /* Whatever the device and layout: to_host copies to the CPU, contiguous. */
  if (!mien_tensor_to_host (var->tensor, dest, size, error))
    {
      g_prefix_error (error, "%s: ", var->name);
      return FALSE;
    }
  return TRUE;
}

gboolean
mien_var_store_save (MienVarStore  *vs,
                     const char    *path,
                     const char    *prefix,
                     GHashTable    *metadata,
                     GError       **error)
{
  g_autofree MienSafetensorsEntry *entries = NULL;
  g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (vs != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (prefix == NULL)
    prefix = "";

  entries = g_new0 (MienSafetensorsEntry, MAX (vs->vars->len, 1));
  for (guint i = 0; i < vs->vars->len; i++)
    {
      MienVar *var = g_ptr_array_index (vs->vars, i);
      MienSafetensorsEntry *e = &entries[i];
      char *name;
      gint64 *shape;
      int ndim;

      if (mien_tensor_device (var->tensor).type == MIEN_DEVICE_META)
        {
          g_autofree char *display = g_filename_display_name (path);

          g_set_error (error, MIEN_TORCH_ERROR, MIEN_TORCH_ERROR_INVALID_ARGUMENT,
                       _("Cannot save “%s”: “%s” is on the meta device and has no values"),
                       display, var->name);
          return FALSE;
        }

      name = g_strconcat (prefix, var->name, NULL);
      shape = tensor_shape (var->tensor, &ndim);
      g_ptr_array_add (owned, name);
      g_ptr_array_add (owned, shape);

      e->name = name;
      e->dtype = mien_tensor_dtype (var->tensor);
      e->ndim = ndim;
      e->shape = shape;
      e->data = NULL;
      e->size = (gsize) mien_tensor_numel (var->tensor) * mien_dtype_size (e->dtype);
    }

  return mien_safetensors_write (path, metadata, entries, vs->vars->len, save_fill, vs, error);
}
