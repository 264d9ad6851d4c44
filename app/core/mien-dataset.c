/* mien-dataset.c — labelled image collections, their statistics and epoch plans.
 *
 * A dataset is two parallel arrays (absolute paths, labels) that never change after
 * construction, which is what makes sharing it between the loader's threads free of locks.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n-lib.h>

#include "mien-dataset-private.h"
#include "mien-image.h"
#include "mien-input.h"

struct _MienDataset
{
  GObject     parent_instance;

  char       *source;
  char      **classes;  /* NULL-terminated */
  guint       n_classes;
  GPtrArray  *paths;    /* char *, absolute */
  GArray     *labels;   /* guint */
  GArray     *sources;  /* MienSampleSource */
  GBytes     *pixels;   /* inline pixels the sources point into, shared with subsets; or NULL */
  GPtrArray  *skipped;  /* char *, "PATH: reason" for what opening left out */
  const char *splits[4];  /* NULL-terminated, from split_names */
  double      face_margin;  /* mien_dataset_get_face_margin () */
};

/* The order of MienSampleSource.split's codes. */
static const char * const split_names[] = { "train", "val", "test", NULL };
#define N_SPLITS (G_N_ELEMENTS (split_names) - 1)

G_DEFINE_FINAL_TYPE (MienDataset, mien_dataset, G_TYPE_OBJECT)

G_DEFINE_QUARK (mien-dataset-error-quark, mien_dataset_error)

static void
mien_dataset_finalize (GObject *object)
{
  MienDataset *self = MIEN_DATASET (object);

  g_free (self->source);
  g_strfreev (self->classes);
  g_ptr_array_unref (self->paths);
  g_array_unref (self->labels);
  g_array_unref (self->sources);
  g_clear_pointer (&self->pixels, g_bytes_unref);
  g_ptr_array_unref (self->skipped);

  G_OBJECT_CLASS (mien_dataset_parent_class)->finalize (object);
}

static void
mien_dataset_class_init (MienDatasetClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mien_dataset_finalize;
}

static void
mien_dataset_init (MienDataset *self)
{
  self->paths = g_ptr_array_new_with_free_func (g_free);
  self->labels = g_array_new (FALSE, FALSE, sizeof (guint));
  self->sources = g_array_new (FALSE, FALSE, sizeof (MienSampleSource));
  self->skipped = g_ptr_array_new_with_free_func (g_free);
  self->face_margin = NAN;
}

/* ---- Opening --------------------------------------------------------------------------- */

/* Lower-case extensions of every format this GdkPixbuf can load, computed once. */
static GHashTable *
image_extensions (void)
{
  static GHashTable *extensions = NULL;

  if (g_once_init_enter (&extensions))
    {
      GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      GSList *formats = gdk_pixbuf_get_formats ();

      for (GSList *l = formats; l != NULL; l = l->next)
        {
          g_auto(GStrv) exts = gdk_pixbuf_format_get_extensions (l->data);

          for (guint i = 0; exts != NULL && exts[i] != NULL; i++)
            g_hash_table_add (set, g_ascii_strdown (exts[i], -1));
        }
      g_slist_free (formats);
      g_once_init_leave (&extensions, set);
    }
  return extensions;
}

gboolean
mien_dataset_is_image_name (const char *name)
{
  const char *dot = strrchr (name, '.');
  g_autofree char *ext = NULL;

  if (dot == NULL || dot[1] == '\0')
    return FALSE;
  ext = g_ascii_strdown (dot + 1, -1);
  return g_hash_table_contains (image_extensions (), ext);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* C0, DEL and C1 controls (ESC starts a terminal escape sequence, U+009B is one on its own),
 * line and paragraph separators, and the bidirectional controls that reorder the rest of a
 * line: each can make a table or a log say something else than the data. */
static gboolean
is_hostile_char (gunichar c)
{
  GUnicodeType type = g_unichar_type (c);

  return type == G_UNICODE_CONTROL || type == G_UNICODE_LINE_SEPARATOR ||
         type == G_UNICODE_PARAGRAPH_SEPARATOR ||
         (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* `name` (any bytes) as it can be shown safely: invalid UTF-8 replaced, hostile characters
 * written as \xNN or \uNNNN. */
static char *
escape_name (const char *name)
{
  g_autofree char *valid = g_utf8_make_valid (name, -1);
  GString *out = g_string_new (NULL);

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (is_hostile_char (c))
        g_string_append_printf (out, c < 0x80 ? "\\x%02X" : "\\u%04X", c);
      else
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

gboolean
mien_dataset_check_class_name (const char  *name,
                               GError     **error)
{
  g_autofree char *shown = NULL;

  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  shown = escape_name (name);
  if (!g_utf8_validate (name, -1, NULL))
    {
      g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CLASSES,
                   _("The class name “%s” is not valid UTF-8"), shown);
      return FALSE;
    }
  if (*name == '\0')
    {
      g_set_error_literal (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CLASSES,
                           _("A class name is empty"));
      return FALSE;
    }
  if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0 || strchr (name, '/') != NULL)
    {
      g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CLASSES,
                   _("The class name “%s” is not allowed: it must not be “.” or “..” nor hold "
                     "a “/”"), shown);
      return FALSE;
    }
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    if (is_hostile_char (g_utf8_get_char (p)))
      {
        g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CLASSES,
                     _("The class name “%s” holds a control character, a line separator or a "
                       "bidirectional override (shown escaped)"), shown);
        return FALSE;
      }
  return TRUE;
}

/* Checks the requested classes against those found and returns the final list (label order). */
static char **
resolve_classes (const char * const  *requested,
                 GPtrArray           *found,
                 const char          *source,
                 GError             **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto(GStrv) result = NULL;

  if (requested == NULL)
    {
      for (guint i = 0; i < found->len; i++)
        g_strv_builder_add (builder, g_ptr_array_index (found, i));
    }
  else
    {
      for (guint i = 0; requested[i] != NULL; i++)
        {
          gboolean present = FALSE;

          if (g_hash_table_contains (seen, requested[i]))
            {
              g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CLASSES,
                           _("Class “%s” is requested twice"), requested[i]);
              return NULL;
            }
          g_hash_table_add (seen, (gpointer) requested[i]);
          for (guint j = 0; j < found->len && !present; j++)
            present = g_strcmp0 (g_ptr_array_index (found, j), requested[i]) == 0;
          if (!present)
            {
              g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CLASSES,
                           _("%s has no class “%s”"), source, requested[i]);
              return NULL;
            }
          g_strv_builder_add (builder, requested[i]);
        }
    }

  result = g_strv_builder_end (builder);
  if (g_strv_length (result) < 2)
    {
      g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CLASSES,
                   _("%s: a dataset needs at least two classes, found %u"),
                   source, g_strv_length (result));
      return NULL;
    }
  return g_steal_pointer (&result);
}

static const MienSampleSource whole_file = { MIEN_SOURCE_FILE, MIEN_SPLIT_NONE, 0, 0, 0, 0, 0, 0 };

/* Takes `path`. `source` NULL: the whole file, no split. */
static void
append_sample (MienDataset            *self,
               char                   *path,
               guint                   label,
               const MienSampleSource *source)
{
  g_ptr_array_add (self->paths, path);
  g_array_append_val (self->labels, label);
  g_array_append_vals (self->sources, source != NULL ? source : &whole_file, 1);
}

static gboolean
open_folder (MienDataset         *self,
             const char          *root,
             const char * const  *requested,
             GError             **error)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) dir = NULL;
  const char *name;

  dir = g_dir_open (root, 0, error);
  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;

      if (name[0] == '.')
        continue;
      path = g_build_filename (root, name, NULL);
      if (!g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;
      if (!mien_dataset_check_class_name (name, error))
        {
          g_prefix_error (error, _("%s, a class folder: "), root);
          return FALSE;
        }
      g_ptr_array_add (found, g_strdup (name));
    }
  if (found->len == 0)
    {
      g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_LAYOUT,
                   _("%s is neither a folder with one sub-folder per class nor a CSV manifest"),
                   root);
      return FALSE;
    }
  g_ptr_array_sort (found, compare_strings);

  self->classes = resolve_classes (requested, found, root, error);
  if (self->classes == NULL)
    return FALSE;
  self->n_classes = g_strv_length (self->classes);

  for (guint label = 0; label < self->n_classes; label++)
    {
      g_autofree char *class_dir = g_build_filename (root, self->classes[label], NULL);
      g_autoptr(GDir) cdir = g_dir_open (class_dir, 0, error);
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

      if (cdir == NULL)
        return FALSE;
      while ((name = g_dir_read_name (cdir)) != NULL)
        {
          g_autofree char *file = NULL;
          g_autofree char *shown = NULL;

          /* Hidden files (.DS_Store, editors' backups) are left out without a word. */
          if (name[0] == '.')
            continue;
          if (mien_dataset_is_image_name (name))
            {
              g_ptr_array_add (names, g_strdup (name));
              continue;
            }
          file = g_build_filename (class_dir, name, NULL);
          shown = escape_name (file);
          if (g_file_test (file, G_FILE_TEST_IS_DIR))
            g_ptr_array_add (self->skipped,
                             g_strdup_printf (_("%s: a folder inside a class folder (only the "
                                                "files directly in a class folder are read)"),
                                              shown));
          else
            g_ptr_array_add (self->skipped,
                             g_strdup_printf (_("%s: not an image file name (no extension of a "
                                                "format this system reads)"), shown));
        }
      if (names->len == 0)
        {
          g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_EMPTY,
                       _("Class “%s” has no images (%s)"), self->classes[label], class_dir);
          return FALSE;
        }
      g_ptr_array_sort (names, compare_strings);
      for (guint i = 0; i < names->len; i++)
        append_sample (self, g_build_filename (class_dir, g_ptr_array_index (names, i), NULL),
                       label, NULL);
    }
  g_ptr_array_sort (self->skipped, compare_strings);
  return TRUE;
}

/* One RFC 4180 record starting at *pos; advances *pos past its line ending and *line past every
 * newline consumed (quoted fields may span lines). On failure *line is where the fault is. */
GPtrArray *
mien_csv_read_record (const char  *text,
                      gsize        len,
                      gsize       *pos,
                      guint       *line,
                      gboolean    *blank,
                      GError     **error)
{
  g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) field = g_string_new (NULL);
  gsize i = *pos;
  gboolean quoted = FALSE;
  guint start_line = *line;

  if (i >= len)
    return NULL;

  for (;;)
    {
      if (i < len && text[i] == '"' && field->len == 0 && !quoted)
        {
          /* A quoted field: everything up to the closing quote, "" being one quote. */
          quoted = TRUE;
          i++;
          for (;;)
            {
              if (i >= len)
                {
                  *line = start_line;
                  g_set_error_literal (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CSV,
                                       _("unterminated quoted field"));
                  return NULL;
                }
              if (text[i] == '"')
                {
                  if (i + 1 < len && text[i + 1] == '"')
                    {
                      g_string_append_c (field, '"');
                      i += 2;
                      continue;
                    }
                  i++;
                  break;
                }
              if (text[i] == '\n')
                (*line)++;
              g_string_append_c (field, text[i]);
              i++;
            }
          /* Only a separator or the end of the record may follow the closing quote. */
          if (i < len && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
            {
              g_set_error_literal (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CSV,
                                   _("unexpected character after a quoted field"));
              return NULL;
            }
        }

      if (i >= len || text[i] == '\n' || text[i] == '\r')
        {
          char *value;

          *blank = fields->len == 0 && !quoted && field->len == 0;
          value = g_string_free (g_steal_pointer (&field), FALSE);
          g_ptr_array_add (fields, quoted ? value : g_strstrip (value));
          if (i < len && text[i] == '\r')
            i++;
          if (i < len && text[i] == '\n')
            i++;
          (*line)++;
          *pos = i;
          return g_steal_pointer (&fields);
        }
      if (text[i] == ',')
        {
          char *value = g_string_free (g_steal_pointer (&field), FALSE);

          /* Unquoted fields are trimmed: "a.png, happy" means what it seems to. */
          g_ptr_array_add (fields, quoted ? value : g_strstrip (value));
          field = g_string_new (NULL);
          quoted = FALSE;
          i++;
          continue;
        }
      g_string_append_c (field, text[i]);
      i++;
    }
}

/* Whether the first record of a manifest is a header, and which column holds the paths (0
 * without one). A first record with "path" or "label" in a column is meant as a header, so
 * anything but the two headers is an error rather than a sample. */
static gboolean
read_header (GPtrArray  *fields,
             gboolean   *is_header,
             guint      *path_column,
             GError    **error)
{
  const char *a = g_ptr_array_index (fields, 0);
  const char *b = g_ptr_array_index (fields, 1);

  *is_header = g_ascii_strcasecmp (a, "path") == 0 || g_ascii_strcasecmp (a, "label") == 0 ||
               g_ascii_strcasecmp (b, "path") == 0 || g_ascii_strcasecmp (b, "label") == 0;
  *path_column = 0;
  if (!*is_header)
    return TRUE;
  if (g_ascii_strcasecmp (a, "path") == 0 && g_ascii_strcasecmp (b, "label") == 0)
    return TRUE;
  if (g_ascii_strcasecmp (a, "label") == 0 && g_ascii_strcasecmp (b, "path") == 0)
    {
      *path_column = 1;
      return TRUE;
    }
  g_set_error_literal (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CSV,
                       _("a header row must be “path,label” or “label,path”"));
  return FALSE;
}

gboolean
mien_dataset_read_text (const char  *file,
                        goffset      max_bytes,
                        char       **text_out,
                        gsize       *len,
                        gsize       *pos,
                        GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;
  const char *bad, *end = NULL;

  if (!mien_input_read_all (file, max_bytes, &text, len, &local_error))
    {
      g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_LAYOUT,
                   _("%s (a dataset is a folder with one sub-folder per class or a CSV "
                     "manifest)"), local_error->message);
      return FALSE;
    }
  /* A NUL or invalid UTF-8 means another kind of file (an image, say) or the wrong encoding. */
  bad = memchr (text, '\0', *len);
  if (bad == NULL && !g_utf8_validate (text, (gssize) *len, &end))
    bad = end;
  if (bad != NULL)
    {
      guint bad_line = 1;

      for (const char *p = text; p < bad; p++)
        bad_line += *p == '\n';
      g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_LAYOUT,
                   *bad == '\0' ? _("%s:%u: a NUL byte: this is not a CSV manifest")
                                : _("%s:%u: not UTF-8 text: this is not a CSV manifest"),
                   file, bad_line);
      return FALSE;
    }
  /* A UTF-8 byte-order mark, as spreadsheets write. */
  *pos = *len >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  *text_out = g_steal_pointer (&text);
  return TRUE;
}

MienDatasetRows *
mien_dataset_rows_new (void)
{
  MienDatasetRows *rows = g_new0 (MienDatasetRows, 1);

  rows->paths = g_ptr_array_new_with_free_func (g_free);
  rows->labels = g_ptr_array_new_with_free_func (g_free);
  rows->sources = g_array_new (FALSE, FALSE, sizeof (MienSampleSource));
  rows->skipped = g_ptr_array_new_with_free_func (g_free);
  rows->face_margin = NAN;
  return rows;
}

void
mien_dataset_rows_free (MienDatasetRows *rows)
{
  if (rows == NULL)
    return;
  g_ptr_array_unref (rows->paths);
  g_ptr_array_unref (rows->labels);
  g_array_unref (rows->sources);
  if (rows->pixels != NULL)
    g_byte_array_unref (rows->pixels);
  g_ptr_array_unref (rows->skipped);
  g_free (rows);
}

void
mien_dataset_rows_add (MienDatasetRows        *rows,
                       char                   *path,
                       const char             *label,
                       const MienSampleSource *source)
{
  g_ptr_array_add (rows->paths, path);
  g_ptr_array_add (rows->labels, g_strdup (label));
  g_array_append_vals (rows->sources, source != NULL ? source : &whole_file, 1);
}

/* The classes found in `rows` (sorted), checked against those requested; then the rows of the
 * classes kept become the samples. */
static gboolean
take_rows (MienDataset         *self,
           const char          *file,
           const char * const  *requested,
           MienDatasetRows     *rows,
           GError             **error)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) label_index = NULL;

  if (rows->paths->len == 0)
    {
      g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_EMPTY,
                   _("%s lists no images"), file);
      return FALSE;
    }

  {
    g_autoptr(GHashTable) unique = g_hash_table_new (g_str_hash, g_str_equal);

    for (guint i = 0; i < rows->labels->len; i++)
      if (g_hash_table_add (unique, g_ptr_array_index (rows->labels, i)))
        g_ptr_array_add (found, g_strdup (g_ptr_array_index (rows->labels, i)));
    g_ptr_array_sort (found, compare_strings);
  }

  self->classes = resolve_classes (requested, found, file, error);
  if (self->classes == NULL)
    return FALSE;
  self->n_classes = g_strv_length (self->classes);

  label_index = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint c = 0; c < self->n_classes; c++)
    g_hash_table_insert (label_index, self->classes[c], GUINT_TO_POINTER (c + 1));
  for (guint i = 0; i < rows->paths->len; i++)
    {
      guint c = GPOINTER_TO_UINT (g_hash_table_lookup (label_index,
                                                       g_ptr_array_index (rows->labels, i)));

      if (c == 0)
        continue;
      append_sample (self, g_steal_pointer (&g_ptr_array_index (rows->paths, i)), c - 1,
                     &g_array_index (rows->sources, MienSampleSource, i));
    }
  if (rows->pixels != NULL)
    self->pixels = g_byte_array_free_to_bytes (g_steal_pointer (&rows->pixels));
  for (guint i = 0; i < rows->skipped->len; i++)
    g_ptr_array_add (self->skipped, g_steal_pointer (&g_ptr_array_index (rows->skipped, i)));
  self->face_margin = rows->face_margin;
  return TRUE;
}

static gboolean
open_csv (MienDataset         *self,
          const char          *file,
          const char * const  *requested,
          GError             **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *dir = g_path_get_dirname (file);
  g_autoptr(MienDatasetRows) rows = mien_dataset_rows_new ();
  gsize len, pos = 0;
  guint line = 1;
  gboolean first = TRUE;
  guint path_column = 0;

  if (!mien_dataset_read_text (file, MIEN_DATASET_MAX_MANIFEST_BYTES, &text, &len, &pos, error))
    return FALSE;

  while (pos < len)
    {
      g_autoptr(GPtrArray) fields = NULL;
      guint record_line = line;
      gboolean blank = FALSE;
      const char *path, *label;

      fields = mien_csv_read_record (text, len, &pos, &line, &blank, &local_error);
      if (fields == NULL)
        {
          g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CSV,
                       "%s:%u: %s", file, line, local_error->message);
          return FALSE;
        }
      if (blank)
        continue;
      if (fields->len != 2)
        {
          g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CSV,
                       _("%s:%u: expected two fields (path and label), found %u"),
                       file, record_line, fields->len);
          return FALSE;
        }
      if (first)
        {
          gboolean is_header = FALSE;

          first = FALSE;
          if (!read_header (fields, &is_header, &path_column, &local_error))
            {
              g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CSV,
                           "%s:%u: %s", file, record_line, local_error->message);
              return FALSE;
            }
          if (is_header)
            continue;
        }
      path = g_ptr_array_index (fields, path_column);
      label = g_ptr_array_index (fields, 1 - path_column);
      if (*path == '\0')
        {
          g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CSV,
                       _("%s:%u: empty path"), file, record_line);
          return FALSE;
        }
      if (!mien_dataset_check_class_name (label, &local_error))
        {
          g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CLASSES,
                       "%s:%u: %s", file, record_line, local_error->message);
          return FALSE;
        }
      mien_dataset_rows_add (rows, g_canonicalize_filename (path, dir), label, NULL);
    }
  return take_rows (self, file, requested, rows, error);
}

/* The splits present, in the order of split_names. */
static void
find_splits (MienDataset *self)
{
  gboolean present[N_SPLITS] = { FALSE, };
  guint n = 0;

  for (guint i = 0; i < self->sources->len; i++)
    {
      guint8 split = g_array_index (self->sources, MienSampleSource, i).split;

      if (split < G_N_ELEMENTS (present))
        present[split] = TRUE;
    }
  for (guint k = 0; k < G_N_ELEMENTS (present); k++)
    if (present[k])
      self->splits[n++] = split_names[k];
  self->splits[n] = NULL;
}

MienDataset *
mien_dataset_open (const char          *path,
                   const char * const  *classes,
                   GError             **error)
{
  g_autoptr(MienDataset) self = NULL;
  g_autofree char *absolute = NULL;
  g_autoptr(MienDatasetRows) rows = NULL;
  gboolean ok, handled = FALSE;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  absolute = g_canonicalize_filename (path, NULL);
  /* A symlink that leads nowhere (or into a loop) is not "missing": opening it says which. */
  if (!g_file_test (absolute, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK))
    {
      g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_NOT_FOUND,
                   _("%s does not exist"), path);
      return NULL;
    }

  self = g_object_new (MIEN_TYPE_DATASET, NULL);
  self->source = g_strdup (path);
  rows = mien_dataset_formats_read (absolute, &handled, error);
  if (handled)
    ok = rows != NULL && take_rows (self, absolute, classes, rows, error);
  else if (g_file_test (absolute, G_FILE_TEST_IS_DIR))
    ok = open_folder (self, absolute, classes, error);
  else
    ok = open_csv (self, absolute, classes, error);
  if (!ok)
    return NULL;
  find_splits (self);
  return g_steal_pointer (&self);
}

MienDataset *
mien_dataset_open_split (const char          *path,
                         const char          *split,
                         const char * const  *classes,
                         GError             **error)
{
  g_autoptr(MienDataset) full = mien_dataset_open (path, classes, error);

  if (full == NULL)
    return NULL;
  return mien_dataset_select_split (full, split, error);
}

const char * const *
mien_dataset_get_split_names (void)
{
  return split_names;
}

gboolean
mien_dataset_check_split_name (const char  *name,
                               GError     **error)
{
  g_return_val_if_fail (name != NULL, FALSE);

  if (g_strv_contains (split_names, name))
    return TRUE;
  g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_SPLIT,
               _("Unknown split “%s” (train, val or test)"), name);
  return FALSE;
}

const char * const *
mien_dataset_get_splits (MienDataset *self)
{
  g_return_val_if_fail (MIEN_IS_DATASET (self), NULL);
  return self->splits;
}

MienDataset *
mien_dataset_select_split (MienDataset  *self,
                           const char   *split,
                           GError      **error)
{
  g_autoptr(GArray) indices = g_array_new (FALSE, FALSE, sizeof (guint));
  guint code = 0;

  g_return_val_if_fail (MIEN_IS_DATASET (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (split == NULL)
    return g_object_ref (self);
  while (code < N_SPLITS && g_strcmp0 (split_names[code], split) != 0)
    code++;
  for (guint i = 0; i < self->sources->len; i++)
    if (g_array_index (self->sources, MienSampleSource, i).split == code)
      g_array_append_val (indices, i);
  if (indices->len == 0)
    {
      g_autofree char *have = g_strjoinv (", ", (char **) self->splits);

      if (self->splits[0] == NULL)
        g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_SPLIT,
                     _("%s has no splits: it cannot give the split “%s”"), self->source, split);
      else
        g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_SPLIT,
                     _("%s has no split “%s” (it has %s)"), self->source, split, have);
      return NULL;
    }
  return mien_dataset_subset (self, (const guint *) (gpointer) indices->data, indices->len);
}

MienDataset *
mien_dataset_subset (MienDataset *self,
                     const guint *indices,
                     guint        n_indices)
{
  MienDataset *subset;

  g_return_val_if_fail (MIEN_IS_DATASET (self), NULL);
  g_return_val_if_fail (indices != NULL || n_indices == 0, NULL);

  subset = g_object_new (MIEN_TYPE_DATASET, NULL);
  subset->source = g_strdup (self->source);
  subset->classes = g_strdupv (self->classes);
  subset->n_classes = self->n_classes;
  subset->face_margin = self->face_margin;
  for (guint i = 0; i < self->skipped->len; i++)
    g_ptr_array_add (subset->skipped, g_strdup (g_ptr_array_index (self->skipped, i)));
  for (guint i = 0; i < n_indices; i++)
    {
      guint index = indices[i];

      if (index >= self->paths->len)
        {
          g_critical ("%s: index %u out of range (%u samples)", G_STRFUNC, index,
                      self->paths->len);
          continue;
        }
      append_sample (subset, g_strdup (g_ptr_array_index (self->paths, index)),
                     g_array_index (self->labels, guint, index),
                     &g_array_index (self->sources, MienSampleSource, index));
    }
  if (self->pixels != NULL)
    subset->pixels = g_bytes_ref (self->pixels);
  find_splits (subset);
  return subset;
}

static GRand *
rand_from_seed (guint64 seed,
                guint32 extra)
{
  guint32 words[3] = { (guint32) seed, (guint32) (seed >> 32), extra };

  return g_rand_new_with_seed_array (words, G_N_ELEMENTS (words));
}

static void
shuffle_uints (guint *values,
               guint  n,
               GRand *rand)
{
  for (guint i = n; i > 1; i--)
    {
      guint j = (guint) g_rand_int_range (rand, 0, (gint32) i);
      guint tmp = values[i - 1];

      values[i - 1] = values[j];
      values[j] = tmp;
    }
}

/* The sample indices of every class, in dataset order. */
static GPtrArray *
indices_by_class (MienDataset *self)
{
  GPtrArray *by_class = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);

  for (guint c = 0; c < self->n_classes; c++)
    g_ptr_array_add (by_class, g_array_new (FALSE, FALSE, sizeof (guint)));
  for (guint i = 0; i < self->labels->len; i++)
    g_array_append_val (g_ptr_array_index (by_class, g_array_index (self->labels, guint, i)), i);
  return by_class;
}

static int
compare_uints (gconstpointer a,
               gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;

  return x < y ? -1 : x > y;
}

gboolean
mien_dataset_split (MienDataset         *self,
                    double               val_fraction,
                    guint64              seed,
                    MienDataset        **train_out,
                    MienDataset        **val_out,
                    GError             **error)
{
  g_autoptr(GPtrArray) by_class = NULL;
  g_autoptr(GArray) train = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) val = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GRand) rand = NULL;

  g_return_val_if_fail (MIEN_IS_DATASET (self), FALSE);
  g_return_val_if_fail (train_out != NULL && val_out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!(val_fraction > 0.0 && val_fraction < 1.0))
    {
      g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_SPLIT,
                   _("The validation fraction must be between 0 and 1, not %g"), val_fraction);
      return FALSE;
    }

  by_class = indices_by_class (self);
  rand = rand_from_seed (seed, 0x5eed);
  for (guint c = 0; c < self->n_classes; c++)
    {
      GArray *members = g_ptr_array_index (by_class, c);
      guint n = members->len;
      guint n_val = (guint) round (n * val_fraction);

      /* Every class keeps a foot in both halves whenever it can, or neither side sees it. */
      if (n >= 2)
        n_val = CLAMP (n_val, 1, n - 1);
      else
        n_val = 0;
      shuffle_uints ((guint *) (gpointer) members->data, n, rand);
      g_array_append_vals (val, members->data, n_val);
      g_array_append_vals (train, &g_array_index (members, guint, n_val), n - n_val);
    }
  if (train->len == 0 || val->len == 0)
    {
      g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_SPLIT,
                   _("%u images are too few to set %g of them aside for validation"),
                   self->paths->len, val_fraction);
      return FALSE;
    }
  g_array_sort (train, compare_uints);
  g_array_sort (val, compare_uints);

  *train_out = mien_dataset_subset (self, (const guint *) (gpointer) train->data, train->len);
  *val_out = mien_dataset_subset (self, (const guint *) (gpointer) val->data, val->len);
  return TRUE;
}

const char *
mien_dataset_get_source (MienDataset *self)
{
  g_return_val_if_fail (MIEN_IS_DATASET (self), NULL);
  return self->source;
}

guint
mien_dataset_get_n_classes (MienDataset *self)
{
  g_return_val_if_fail (MIEN_IS_DATASET (self), 0);
  return self->n_classes;
}

const char * const *
mien_dataset_get_classes (MienDataset *self)
{
  g_return_val_if_fail (MIEN_IS_DATASET (self), NULL);
  return (const char * const *) self->classes;
}

guint
mien_dataset_get_n_samples (MienDataset *self)
{
  g_return_val_if_fail (MIEN_IS_DATASET (self), 0);
  return self->paths->len;
}

const char *
mien_dataset_get_path (MienDataset *self,
                       guint        index)
{
  g_return_val_if_fail (MIEN_IS_DATASET (self), NULL);
  g_return_val_if_fail (index < self->paths->len, NULL);
  return g_ptr_array_index (self->paths, index);
}

guint
mien_dataset_get_label (MienDataset *self,
                        guint        index)
{
  g_return_val_if_fail (MIEN_IS_DATASET (self), 0);
  g_return_val_if_fail (index < self->labels->len, 0);
  return g_array_index (self->labels, guint, index);
}

/* The face box of a cropped sample, inside the image (a box that sticks out is cut to the
 * image, as PIL's crop then fills nothing in: the face is what is inside). */
static GdkPixbuf *
crop_to_box (GdkPixbuf               *full,
             const MienSampleSource  *source,
             GError                 **error)
{
  int width = gdk_pixbuf_get_width (full);
  int height = gdk_pixbuf_get_height (full);
  gint64 x0 = MAX (source->x, 0), y0 = MAX (source->y, 0);
  gint64 x1 = MIN ((gint64) source->x + source->width, width);
  gint64 y1 = MIN ((gint64) source->y + source->height, height);

  if (x1 <= x0 || y1 <= y0)
    {
      g_set_error (error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_FAILED,
                   _("the face box (x %d, y %d, %d × %d) lies outside the %d × %d image"),
                   source->x, source->y, source->width, source->height, width, height);
      return NULL;
    }
  return gdk_pixbuf_new_subpixbuf (full, (int) x0, (int) y0, (int) (x1 - x0), (int) (y1 - y0));
}

/* Grey pixels held by the dataset, as an RGB pixbuf with three equal channels. */
static GdkPixbuf *
pixbuf_from_grey (const guint8 *grey,
                  int           side)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, side, side);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);

  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      memset (pixels + (gsize) y * stride + 3 * x, grey[(gsize) y * side + x], 3);
  return pixbuf;
}

GdkPixbuf *
mien_dataset_load_pixbuf (MienDataset  *self,
                          guint         index,
                          GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GdkPixbuf) full = NULL;
  const MienSampleSource *source;
  const char *path;
  GdkPixbuf *pixbuf;

  g_return_val_if_fail (MIEN_IS_DATASET (self), NULL);
  g_return_val_if_fail (index < self->paths->len, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  source = &g_array_index (self->sources, MienSampleSource, index);
  path = g_ptr_array_index (self->paths, index);
  if (source->kind == MIEN_SOURCE_PIXELS)
    {
      gsize n_bytes = 0;
      const guint8 *data = g_bytes_get_data (self->pixels, &n_bytes);

      g_return_val_if_fail (source->offset + (gsize) source->side * source->side <= n_bytes,
                            NULL);
      return pixbuf_from_grey (data + source->offset, source->side);
    }
  full = mien_image_load (path, error);
  if (full == NULL || source->kind == MIEN_SOURCE_FILE)
    return g_steal_pointer (&full);
  pixbuf = crop_to_box (full, source, &local_error);
  if (pixbuf == NULL)
    {
      g_autofree char *name = g_filename_display_name (path);

      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", name);
    }
  return pixbuf;
}

GdkPixbuf *
mien_dataset_load_thumbnail (MienDataset  *self,
                             guint         index,
                             int           max_side,
                             GError      **error)
{
  g_autoptr(GdkPixbuf) full = NULL;
  int width, height;
  double scale;

  g_return_val_if_fail (max_side > 0, NULL);

  full = mien_dataset_load_pixbuf (self, index, error);
  if (full == NULL)
    return NULL;
  width = gdk_pixbuf_get_width (full);
  height = gdk_pixbuf_get_height (full);
  scale = (double) max_side / MAX (width, height);
  return gdk_pixbuf_scale_simple (full, MAX (1, (int) round (width * scale)),
                                  MAX (1, (int) round (height * scale)), GDK_INTERP_BILINEAR);
}

gboolean
mien_dataset_decode (MienDataset    *self,
                     guint           index,
                     int             size,
                     gboolean        grey,
                     guint8         *dest,
                     MienImageInfo  *info,
                     GError        **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;

  g_return_val_if_fail (MIEN_IS_DATASET (self), FALSE);
  g_return_val_if_fail (index < self->paths->len, FALSE);

  /* A whole file goes through mien_image_decode (), so that files decode exactly as they do
   * everywhere else. */
  if (g_array_index (self->sources, MienSampleSource, index).kind == MIEN_SOURCE_FILE)
    return mien_image_decode (g_ptr_array_index (self->paths, index), size, grey, dest, info,
                              error);
  pixbuf = mien_dataset_load_pixbuf (self, index, error);
  if (pixbuf == NULL)
    return FALSE;
  if (!mien_image_from_pixbuf (pixbuf, size, grey, dest, info, &local_error))
    {
      g_autofree char *name = g_filename_display_name (g_ptr_array_index (self->paths, index));

      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", name);
      return FALSE;
    }
  return TRUE;
}

double
mien_dataset_get_face_margin (MienDataset *self)
{
  g_return_val_if_fail (MIEN_IS_DATASET (self), NAN);
  return self->face_margin;
}

GPtrArray *
mien_dataset_get_skipped (MienDataset *self)
{
  g_return_val_if_fail (MIEN_IS_DATASET (self), NULL);
  return self->skipped;
}

void
mien_dataset_count (MienDataset *self,
                    guint       *counts)
{
  g_return_if_fail (MIEN_IS_DATASET (self));
  g_return_if_fail (counts != NULL);

  memset (counts, 0, self->n_classes * sizeof (guint));
  for (guint i = 0; i < self->labels->len; i++)
    counts[g_array_index (self->labels, guint, i)]++;
}

char **
mien_dataset_parse_class_list (const char  *list,
                               GError     **error)
{
  g_auto(GStrv) names = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  g_return_val_if_fail (list != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  names = g_strsplit (list, ",", -1);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_strstrip (names[i]);
      if (!mien_dataset_check_class_name (names[i], error))
        return NULL;
      if (!g_hash_table_add (seen, names[i]))
        {
          g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CLASSES,
                       _("Class “%s” is listed twice"), names[i]);
          return NULL;
        }
    }
  if (names[0] == NULL)
    {
      g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CLASSES,
                   _("Empty class list"));
      return NULL;
    }
  return g_steal_pointer (&names);
}

/* ---- Statistics ------------------------------------------------------------------------ */

void
mien_dataset_stats_free (MienDatasetStats *stats)
{
  if (stats == NULL)
    return;
  g_strfreev (stats->classes);
  g_free (stats->counts);
  g_clear_pointer (&stats->sizes, g_hash_table_unref);
  g_clear_pointer (&stats->unreadable, g_ptr_array_unref);
  g_free (stats);
}

/* What one worker learnt about one image. Integer sums are exact, so the result does not
 * depend on the order in which the workers finish. */
typedef struct {
  guint    index;
  gboolean ok;
  int      width, height;
  gboolean grey;
  guint64  sum[3];
  guint64  sum_sq[3];
  char    *reason;
} ImageResult;

typedef struct {
  MienDataset  *dataset;
  GAsyncQueue  *results;   /* ImageResult * */
  gint          cancelled; /* atomic */
} StatsJob;

static void
image_result_free (ImageResult *result)
{
  g_free (result->reason);
  g_free (result);
}

static void
stats_worker (gpointer data,
              gpointer user_data)
{
  StatsJob *job = user_data;
  ImageResult *result = g_new0 (ImageResult, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;

  result->index = GPOINTER_TO_UINT (data) - 1;
  if (g_atomic_int_get (&job->cancelled))
    goto done;

  pixbuf = mien_dataset_load_pixbuf (job->dataset, result->index, &error);
  if (pixbuf == NULL)
    {
      /* "PATH: reason", as the unreadable list shows it. */
      result->reason = g_strdup (error->message);
      goto done;
    }

  {
    int width = gdk_pixbuf_get_width (pixbuf);
    int height = gdk_pixbuf_get_height (pixbuf);
    int stride = gdk_pixbuf_get_rowstride (pixbuf);
    int n_channels = gdk_pixbuf_get_n_channels (pixbuf);
    const guint8 *pixels = gdk_pixbuf_read_pixels (pixbuf);
    gboolean grey = TRUE;

    for (int y = 0; y < height; y++)
      {
        const guint8 *p = pixels + (gsize) y * stride;

        for (int x = 0; x < width; x++, p += n_channels)
          {
            guint r = p[0], g = p[1], b = p[2];

            result->sum[0] += r;
            result->sum[1] += g;
            result->sum[2] += b;
            result->sum_sq[0] += r * r;
            result->sum_sq[1] += g * g;
            result->sum_sq[2] += b * b;
            grey &= (r == g) & (g == b);
          }
      }
    result->ok = TRUE;
    result->width = width;
    result->height = height;
    result->grey = grey;
  }

done:
  g_async_queue_push (job->results, result);
}

static void
cancel_cb (GCancellable *cancellable,
           GAsyncQueue  *results)
{
  /* Wakes the collecting thread; index G_MAXUINT is never a real sample. */
  ImageResult *wake = g_new0 (ImageResult, 1);

  wake->index = G_MAXUINT;
  g_async_queue_push (results, wake);
}

static int
compare_sizes (gconstpointer a,
               gconstpointer b)
{
  int wa = 0, ha = 0, wb = 0, hb = 0;

  sscanf (*(const char * const *) a, "%dx%d", &wa, &ha);
  sscanf (*(const char * const *) b, "%dx%d", &wb, &hb);
  if ((gint64) wa * ha != (gint64) wb * hb)
    return (gint64) wa * ha < (gint64) wb * hb ? -1 : 1;
  return wa - wb;
}

MienDatasetStats *
mien_dataset_compute_stats (MienDataset       *self,
                            int                n_threads,
                            MienProgressFunc   progress,
                            gpointer           progress_data,
                            GCancellable      *cancellable,
                            GError           **error)
{
  g_autoptr(MienDatasetStats) stats = NULL;
  GThreadPool *pool;
  g_autoptr(GAsyncQueue) results = NULL;
  g_autofree ImageResult **by_index = NULL;
  StatsJob job = { 0 };
  guint n = 0, received = 0;
  gulong cancel_id = 0;
  guint64 sum[3] = { 0, 0, 0 }, sum_sq[3] = { 0, 0, 0 }, n_pixels = 0;
  gint64 last_progress = 0;
  guint min_count = G_MAXUINT, max_count = 0;

  g_return_val_if_fail (MIEN_IS_DATASET (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  n = self->paths->len;
  if (n_threads <= 0)
    n_threads = (int) g_get_num_processors ();
  n_threads = MAX (1, MIN ((guint) n_threads, MAX (n, 1)));

  results = g_async_queue_new_full ((GDestroyNotify) image_result_free);
  job.dataset = self;
  job.results = results;
  pool = g_thread_pool_new (stats_worker, &job, n_threads, FALSE, error);
  if (pool == NULL)
    return NULL;
  for (guint i = 0; i < n; i++)
    g_thread_pool_push (pool, GUINT_TO_POINTER (i + 1), NULL);

  if (cancellable != NULL)
    cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (cancel_cb), results, NULL);

  by_index = g_new0 (ImageResult *, MAX (n, 1));
  while (received < n && !g_cancellable_is_cancelled (cancellable))
    {
      ImageResult *result = g_async_queue_pop (results);
      gint64 now;

      if (result->index == G_MAXUINT)
        {
          image_result_free (result);
          continue;
        }
      by_index[result->index] = result;
      received++;
      /* Progress at most every 50 ms: a callback per image would swamp a UI on 100 000 files. */
      now = g_get_monotonic_time ();
      if (progress != NULL && (now - last_progress > 50000 || received == n))
        {
          g_autofree char *message = g_strdup_printf (_("Reading images (%u of %u)"),
                                                      received, n);

          last_progress = now;
          progress ((double) received / n, message, progress_data);
        }
    }

  g_cancellable_disconnect (cancellable, cancel_id);
  if (received < n)
    {
      /* Workers still running finish their image (the queue takes what they push); those not
       * started are dropped. */
      g_atomic_int_set (&job.cancelled, 1);
      g_thread_pool_free (pool, TRUE, TRUE);
      for (guint i = 0; i < n; i++)
        g_clear_pointer (&by_index[i], image_result_free);
      g_cancellable_set_error_if_cancelled (cancellable, error);
      return NULL;
    }
  g_thread_pool_free (pool, FALSE, TRUE);

  stats = g_new0 (MienDatasetStats, 1);
  stats->n_classes = self->n_classes;
  stats->classes = g_strdupv (self->classes);
  stats->counts = g_new0 (guint, MAX (self->n_classes, 1));
  mien_dataset_count (self, stats->counts);
  stats->n_images = n;
  stats->sizes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  stats->unreadable = g_ptr_array_new_with_free_func (g_free);
  stats->min_width = stats->min_height = G_MAXINT;
  for (guint c = 0; c < self->n_classes; c++)
    {
      min_count = MIN (min_count, stats->counts[c]);
      max_count = MAX (max_count, stats->counts[c]);
    }
  stats->imbalance_ratio = min_count > 0 ? (double) max_count / min_count : INFINITY;

  for (guint i = 0; i < n; i++)
    {
      ImageResult *r = by_index[i];

      if (r->ok)
        {
          g_autofree char *key = g_strdup_printf ("%dx%d", r->width, r->height);
          guint count = GPOINTER_TO_UINT (g_hash_table_lookup (stats->sizes, key));

          g_hash_table_insert (stats->sizes, g_steal_pointer (&key), GUINT_TO_POINTER (count + 1));
          stats->n_readable++;
          stats->n_grey += r->grey ? 1 : 0;
          stats->min_width = MIN (stats->min_width, r->width);
          stats->max_width = MAX (stats->max_width, r->width);
          stats->min_height = MIN (stats->min_height, r->height);
          stats->max_height = MAX (stats->max_height, r->height);
          n_pixels += (guint64) r->width * r->height;
          for (int c = 0; c < 3; c++)
            {
              sum[c] += r->sum[c];
              sum_sq[c] += r->sum_sq[c];
            }
        }
      else
        {
          g_ptr_array_add (stats->unreadable, g_steal_pointer (&r->reason));
        }
      g_clear_pointer (&by_index[i], image_result_free);
    }
  if (stats->n_readable == 0)
    stats->min_width = stats->min_height = 0;
  for (int c = 0; c < 3 && n_pixels > 0; c++)
    {
      double mean = (double) sum[c] / n_pixels;
      double var = (double) sum_sq[c] / n_pixels - mean * mean;

      stats->mean[c] = mean / 255.0;
      stats->std[c] = sqrt (MAX (var, 0.0)) / 255.0;
    }
  return g_steal_pointer (&stats);
}

static JsonNode *
doubles_node (const double *values,
              guint         n)
{
  JsonArray *array = json_array_sized_new (n);
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  for (guint i = 0; i < n; i++)
    json_array_add_double_element (array, values[i]);
  json_node_take_array (node, array);
  return node;
}

JsonNode *
mien_dataset_stats_to_json (MienDatasetStats *stats,
                            const char       *source)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autofree const char **keys = NULL;
  guint n_keys = 0;

  g_return_val_if_fail (stats != NULL, NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "source");
  if (source != NULL)
    json_builder_add_string_value (builder, source);
  else
    json_builder_add_null_value (builder);

  json_builder_set_member_name (builder, "classes");
  json_builder_begin_array (builder);
  for (guint c = 0; c < stats->n_classes; c++)
    json_builder_add_string_value (builder, stats->classes[c]);
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "counts");
  json_builder_begin_array (builder);
  for (guint c = 0; c < stats->n_classes; c++)
    json_builder_add_int_value (builder, stats->counts[c]);
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "n_images");
  json_builder_add_int_value (builder, stats->n_images);
  json_builder_set_member_name (builder, "n_readable");
  json_builder_add_int_value (builder, stats->n_readable);
  /* JSON has no infinity: a class without images makes the ratio null. */
  json_builder_set_member_name (builder, "imbalance_ratio");
  if (isfinite (stats->imbalance_ratio))
    json_builder_add_double_value (builder, stats->imbalance_ratio);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "min_width");
  json_builder_add_int_value (builder, stats->min_width);
  json_builder_set_member_name (builder, "max_width");
  json_builder_add_int_value (builder, stats->max_width);
  json_builder_set_member_name (builder, "min_height");
  json_builder_add_int_value (builder, stats->min_height);
  json_builder_set_member_name (builder, "max_height");
  json_builder_add_int_value (builder, stats->max_height);

  json_builder_set_member_name (builder, "sizes");
  json_builder_begin_object (builder);
  if (stats->sizes != NULL)
    {
      keys = (const char **) g_hash_table_get_keys_as_array (stats->sizes, &n_keys);
      qsort (keys, n_keys, sizeof (char *), compare_sizes);
      for (guint i = 0; i < n_keys; i++)
        {
          json_builder_set_member_name (builder, keys[i]);
          json_builder_add_int_value (builder,
                                      GPOINTER_TO_UINT (g_hash_table_lookup (stats->sizes,
                                                                             keys[i])));
        }
    }
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "n_grey");
  json_builder_add_int_value (builder, stats->n_grey);
  json_builder_set_member_name (builder, "mean");
  json_builder_add_value (builder, doubles_node (stats->mean, 3));
  json_builder_set_member_name (builder, "std");
  json_builder_add_value (builder, doubles_node (stats->std, 3));

  json_builder_set_member_name (builder, "unreadable");
  json_builder_begin_array (builder);
  for (guint i = 0; stats->unreadable != NULL && i < stats->unreadable->len; i++)
    json_builder_add_string_value (builder, g_ptr_array_index (stats->unreadable, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

void
mien_class_weights_auto (const guint *counts,
                         guint        n_classes,
                         double      *weights)
{
  guint64 total = 0;
  guint n_present = 0;

  g_return_if_fail (counts != NULL || n_classes == 0);
  g_return_if_fail (weights != NULL || n_classes == 0);

  for (guint c = 0; c < n_classes; c++)
    {
      total += counts[c];
      n_present += counts[c] > 0 ? 1 : 0;
    }
  /* N / (K n_c) gives sum_c w_c n_c / N = K' / K (K' classes present); dividing by that factor
   * leaves N / (K' n_c). */
  for (guint c = 0; c < n_classes; c++)
    weights[c] = counts[c] > 0 ? (double) total / ((double) n_present * counts[c]) : 0.0;
}

gboolean
mien_class_weights_paper (const char * const *classes,
                          double             *weights)
{
  static const struct {
    const char *name;
    double      weight;
  } paper[] = {
    { "anger", 1.0 },
    { "disgust", 3.0 },
    { "fear", 5.0 },
    { "happiness", 1.0 },
    { "sadness", 1.0 },
    { "surprise", 1.0 },
  };
  double mapped[G_N_ELEMENTS (paper)];
  guint seen = 0;

  g_return_val_if_fail (classes != NULL, FALSE);

  if (g_strv_length ((char **) classes) != G_N_ELEMENTS (paper))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (paper); i++)
    {
      guint j = 0;

      while (j < G_N_ELEMENTS (paper) && g_ascii_strcasecmp (classes[i], paper[j].name) != 0)
        j++;
      /* `seen` makes a class given twice (and so another one missing) fail. */
      if (j == G_N_ELEMENTS (paper) || (seen & (1u << j)))
        return FALSE;
      seen |= 1u << j;
      mapped[i] = paper[j].weight;
    }
  if (weights != NULL)
    memcpy (weights, mapped, sizeof mapped);
  return TRUE;
}

/* ---- Epoch plans ----------------------------------------------------------------------- */

GArray *
mien_dataset_upsample_plan (MienDataset *self,
                            guint64      seed)
{
  g_autoptr(GPtrArray) by_class = NULL;
  g_autoptr(GRand) rand = NULL;
  g_autofree guint *n_copies = NULL;
  GArray *slots;
  guint largest = 0;

  g_return_val_if_fail (MIEN_IS_DATASET (self), NULL);

  by_class = indices_by_class (self);
  for (guint c = 0; c < self->n_classes; c++)
    largest = MAX (largest, ((GArray *) g_ptr_array_index (by_class, c))->len);

  n_copies = g_new0 (guint, MAX (self->paths->len, 1));
  rand = rand_from_seed (seed, 0xc0b1e5);
  for (guint c = 0; c < self->n_classes; c++)
    {
      GArray *members = g_ptr_array_index (by_class, c);
      guint n = members->len;
      guint extra, base, rest;

      if (n == 0)
        continue;
      extra = largest - n;
      base = extra / n;
      rest = extra % n;
      shuffle_uints ((guint *) (gpointer) members->data, n, rand);
      for (guint i = 0; i < n; i++)
        n_copies[g_array_index (members, guint, i)] = base + (i < rest ? 1 : 0);
    }

  slots = g_array_sized_new (FALSE, FALSE, sizeof (MienSlot), largest * self->n_classes);
  for (guint i = 0; i < self->paths->len; i++)
    for (guint k = 0; k <= n_copies[i]; k++)
      {
        MienSlot slot = { i, k };

        g_array_append_val (slots, slot);
      }
  return slots;
}

GArray *
mien_dataset_plain_plan (MienDataset *self)
{
  GArray *slots;

  g_return_val_if_fail (MIEN_IS_DATASET (self), NULL);

  slots = g_array_sized_new (FALSE, FALSE, sizeof (MienSlot), self->paths->len);
  for (guint i = 0; i < self->paths->len; i++)
    {
      MienSlot slot = { i, 0 };

      g_array_append_val (slots, slot);
    }
  return slots;
}

GArray *
mien_slots_shard (GArray   *slots,
                  guint     rank,
                  guint     world_size,
                  gboolean  pad)
{
  GArray *out;
  guint total;

  g_return_val_if_fail (slots != NULL, NULL);
  g_return_val_if_fail (world_size >= 1 && rank < world_size, NULL);

  total = pad && slots->len > 0 ? (slots->len + world_size - 1) / world_size * world_size
                                : slots->len;
  out = g_array_sized_new (FALSE, FALSE, sizeof (MienSlot), total / world_size + 1);
  for (guint i = rank; i < total; i += world_size)
    g_array_append_val (out, g_array_index (slots, MienSlot, i % slots->len));
  return out;
}

void
mien_slots_shuffle (GArray  *slots,
                    guint64  seed,
                    guint    epoch)
{
  g_autoptr(GRand) rand = NULL;
  MienSlot *s;

  g_return_if_fail (slots != NULL);
  g_return_if_fail (g_array_get_element_size (slots) == sizeof (MienSlot));

  rand = rand_from_seed (seed, epoch);
  s = (MienSlot *) (gpointer) slots->data;
  for (guint i = slots->len; i > 1; i--)
    {
      guint j = (guint) g_rand_int_range (rand, 0, (gint32) i);
      MienSlot tmp = s[i - 1];

      s[i - 1] = s[j];
      s[j] = tmp;
    }
}
