/* mien-dataset-formats.c — the classic FER datasets, read as their authors distribute them.
 *
 * Each reader turns its file into rows (a name, a class name, where the pixels are); the
 * classes, their order and the selection are then mien-dataset.c's, as for a manifest. The
 * class names are Mien's (those of the demo data and of ABAW4), whatever each dataset calls
 * them, so that a model trained on one reads the others.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "mien-dataset-private.h"
#include "mien-input.h"
#include "mien-model.h"

#define FER_SIDE   48
#define FER_PIXELS (FER_SIDE * FER_SIDE)

/* FER2013's emotion codes 0..6. */
static const char * const fer2013_classes[] = {
  "anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral",
};
/* FER+'s vote columns, in the order of fer2013new.csv; the last two are not emotions. */
static const char * const ferplus_columns[] = {
  "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt",
  "unknown", "NF",
};
#define FERPLUS_N_EMOTIONS 8
/* RAF-DB basic's labels 1..7. */
static const char * const rafdb_classes[] = {
  "surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral",
};
/* AffectNet's expression codes 0..7; 8..10 are none, uncertain and no face. */
static const char * const affectnet_classes[] = {
  "neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger", "contempt",
};
#define AFFECTNET_MAX_CODE 10

#define RAFDB_LIST "list_patition_label.txt"

static gboolean G_GNUC_PRINTF (4, 5)
row_error (GError     **error,
           const char  *file,
           guint        line,
           const char  *format,
           ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CSV, "%s:%u: %s", file, line,
               message);
  return FALSE;
}

/* ---- A CSV file with a header row ------------------------------------------------------ */

typedef struct {
  const char *file;
  char       *text;
  gsize       len;
  gsize       pos;
  guint       line;
  GPtrArray  *header;
} Table;

static void
table_clear (Table *table)
{
  g_clear_pointer (&table->text, g_free);
  g_clear_pointer (&table->header, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Table, table_clear)

/* The next record into `fields`, with as many fields as the header (blank lines are passed
 * over); `fields` NULL at the end. `record_line` gets the record's first line. */
static gboolean
table_next (Table      *table,
            GPtrArray **fields_out,
            guint      *record_line,
            GError    **error)
{
  *fields_out = NULL;
  while (table->pos < table->len)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(GPtrArray) fields = NULL;
      gboolean blank = FALSE;

      *record_line = table->line;
      fields = mien_csv_read_record (table->text, table->len, &table->pos, &table->line, &blank,
                                     &local_error);
      if (fields == NULL)
        return row_error (error, table->file, table->line, "%s", local_error->message);
      if (blank)
        continue;
      if (table->header != NULL && fields->len != table->header->len)
        return row_error (error, table->file, *record_line,
                          _("expected %u fields, as the header row has, found %u"),
                          table->header->len, fields->len);
      *fields_out = g_steal_pointer (&fields);
      return TRUE;
    }
  return TRUE;
}

static gboolean
table_open (Table       *table,
            const char  *file,
            GError     **error)
{
  guint header_line;

  table->file = file;
  table->line = 1;
  if (!mien_dataset_read_text (file, MIEN_DATASET_MAX_TABLE_BYTES, &table->text, &table->len,
                               &table->pos, error))
    return FALSE;
  return table_next (table, &table->header, &header_line, error) && table->header != NULL;
}

/* The column named `name` (ASCII case ignored), or -1. */
static int
column_of (GPtrArray  *header,
           const char *name)
{
  for (guint i = 0; i < header->len; i++)
    if (g_ascii_strcasecmp (g_ptr_array_index (header, i), name) == 0)
      return (int) i;
  return -1;
}

static gboolean
require_columns (Table               *table,
                 const char * const  *names,
                 guint                n_names,
                 int                 *columns,
                 GError             **error)
{
  for (guint i = 0; i < n_names; i++)
    {
      columns[i] = column_of (table->header, names[i]);
      if (columns[i] < 0)
        return row_error (error, table->file, 1, _("the header row has no column “%s”"),
                          names[i]);
    }
  return TRUE;
}

#define FIELD(fields, column) ((const char *) g_ptr_array_index ((fields), (guint) (column)))

static gboolean
parse_code (const char *text,
            guint       max,
            guint      *out)
{
  guint64 value = 0;

  if (!g_ascii_string_to_unsigned (text, 10, 0, max, &value, NULL))
    return FALSE;
  *out = (guint) value;
  return TRUE;
}

/* ---- FER2013 ---------------------------------------------------------------------------- */

/* "70 80 82 …": exactly FER_PIXELS integers 0..255, appended to `pixels`. */
static gboolean
parse_pixels (const char  *text,
              GByteArray  *pixels,
              const char  *file,
              guint        line,
              GError     **error)
{
  guint8 values[FER_PIXELS];
  guint n = 0;

  for (const char *p = text; *p != '\0';)
    {
      const char *start;
      guint value = 0;

      if (*p == ' ' || *p == '\t')
        {
          p++;
          continue;
        }
      for (start = p; g_ascii_isdigit (*p) && value <= 255; p++)
        value = value * 10 + (guint) (*p - '0');
      if (p == start || value > 255 || (*p != '\0' && *p != ' ' && *p != '\t'))
        {
          const char *stop = start;

          while (*stop != '\0' && *stop != ' ' && *stop != '\t')
            stop++;
          return row_error (error, file, line,
                            _("pixel %u is “%.*s”, not an integer from 0 to 255"), n + 1,
                            (int) MIN (stop - start, 20), start);
        }
      if (n < FER_PIXELS)
        values[n] = (guint8) value;
      n++;
    }
  if (n != FER_PIXELS)
    return row_error (error, file, line,
                      _("%u pixel values where a 48 × 48 image has %u"), n, FER_PIXELS);
  g_byte_array_append (pixels, values, FER_PIXELS);
  return TRUE;
}

static guint8
split_of_usage (const char *usage)
{
  static const char * const usages[] = { "Training", "PublicTest", "PrivateTest" };

  for (guint8 k = 0; k < G_N_ELEMENTS (usages); k++)
    if (g_ascii_strcasecmp (usage, usages[k]) == 0)
      return k;
  return MIEN_SPLIT_NONE;
}

static gboolean
usage_split (const char  *usage,
             guint8      *split,
             const char  *file,
             guint        line,
             GError     **error)
{
  *split = split_of_usage (usage);
  if (*split == MIEN_SPLIT_NONE)
    return row_error (error, file, line,
                      _("unknown Usage “%s” (expected Training, PublicTest or PrivateTest)"),
                      usage);
  return TRUE;
}

/* Every row of fer2013.csv, in order (so that FER+ can match its rows to them). */
static MienDatasetRows *
read_fer2013 (const char  *file,
              GError     **error)
{
  static const char * const names[] = { "emotion", "pixels" };
  g_auto(Table) table = { 0, };
  g_autoptr(MienDatasetRows) rows = mien_dataset_rows_new ();
  int columns[G_N_ELEMENTS (names)], usage;
  guint line;

  if (!table_open (&table, file, error) ||
      !require_columns (&table, names, G_N_ELEMENTS (names), columns, error))
    return NULL;
  usage = column_of (table.header, "Usage");
  /* The pixel field takes about 3.6 bytes of text per pixel. */
  rows->pixels = g_byte_array_sized_new ((guint) MIN (table.len / 4, G_MAXUINT / 2));

  for (;;)
    {
      g_autoptr(GPtrArray) fields = NULL;
      MienSampleSource source = { MIEN_SOURCE_PIXELS, MIEN_SPLIT_NONE, FER_SIDE, 0, 0, 0, 0,
                                  rows->pixels->len };
      guint code;

      if (!table_next (&table, &fields, &line, error))
        return NULL;
      if (fields == NULL)
        break;
      if (!parse_code (FIELD (fields, columns[0]), G_N_ELEMENTS (fer2013_classes) - 1, &code))
        {
          row_error (error, file, line, _("unknown emotion code “%s” (FER2013’s are 0 to 6)"),
                     FIELD (fields, columns[0]));
          return NULL;
        }
      if ((usage >= 0 && !usage_split (FIELD (fields, usage), &source.split, file, line,
                                       error)) ||
          !parse_pixels (FIELD (fields, columns[1]), rows->pixels, file, line, error))
        return NULL;
      mien_dataset_rows_add (rows, g_strdup_printf ("%s:%u", file, line), fer2013_classes[code],
                             &source);
    }
  return g_steal_pointer (&rows);
}

/* ---- FER+ ------------------------------------------------------------------------------- */

/* The FER+ authors' "majority" label of one image from its ten vote counts, or -1 when their
 * training code drops the image. Barsoum et al., "Training Deep Networks for Facial Expression
 * Recognition with Crowd-Sourced Label Distribution" (ICMI 2016, arXiv:1608.01041), as their
 * code does it (github.com/microsoft/FERPlus, src/ferplus.py, FERPlusReader._process_data,
 * mode 'majority', then load_folders): votes of 1 are outliers and set to 0; the image takes
 * the emotion with the most votes if they are more than half of the remaining votes, else it
 * is "unknown"; images whose label is unknown or NF (not a face) are left out of training and
 * testing. A tie can never hold more than half the votes, so ties are left out too. */
int
mien_ferplus_majority (const guint *votes)
{
  guint kept[G_N_ELEMENTS (ferplus_columns)];
  guint sum = 0, best = 0;

  for (guint i = 0; i < G_N_ELEMENTS (ferplus_columns); i++)
    {
      kept[i] = votes[i] > 1 ? votes[i] : 0;
      sum += kept[i];
      if (kept[i] > kept[best])
        best = i;
    }
  if (2 * kept[best] <= sum || best >= FERPLUS_N_EMOTIONS)
    return -1;
  return (int) best;
}

static MienDatasetRows *
read_ferplus (const char  *file,
              GError     **error)
{
  static const char * const names[] = { "Usage", "Image name" };
  g_auto(Table) table = { 0, };
  g_autoptr(MienDatasetRows) fer = NULL;
  g_autoptr(MienDatasetRows) rows = mien_dataset_rows_new ();
  g_autofree char *dir = g_path_get_dirname (file);
  g_autofree char *fer_file = g_build_filename (dir, "fer2013.csv", NULL);
  int columns[G_N_ELEMENTS (names)], votes[G_N_ELEMENTS (ferplus_columns)];
  guint n = 0, n_unnamed = 0, n_no_majority = 0, line;

  if (!table_open (&table, file, error) ||
      !require_columns (&table, names, G_N_ELEMENTS (names), columns, error) ||
      !require_columns (&table, ferplus_columns, G_N_ELEMENTS (ferplus_columns), votes, error))
    return NULL;
  if (!g_file_test (fer_file, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_LAYOUT,
                   _("%s: FER+ labels need FER2013’s pixels: put fer2013.csv beside it (%s "
                     "does not exist)"), file, fer_file);
      return NULL;
    }
  fer = read_fer2013 (fer_file, error);
  if (fer == NULL)
    return NULL;

  for (;;)
    {
      g_autoptr(GPtrArray) fields = NULL;
      guint counts[G_N_ELEMENTS (ferplus_columns)];
      MienSampleSource source;
      guint8 split;
      int label;

      if (!table_next (&table, &fields, &line, error))
        return NULL;
      if (fields == NULL)
        break;

      if (n >= fer->paths->len)
        {
          row_error (error, file, line, _("more rows than %s has (%u): the files do not belong "
                                          "together"), fer_file, fer->paths->len);
          return NULL;
        }
      source = g_array_index (fer->sources, MienSampleSource, n);
      n++;
      if (!usage_split (FIELD (fields, columns[0]), &split, file, line, error))
        return NULL;
      if (split != source.split)
        {
          row_error (error, file, line, _("Usage “%s” differs from row %u of %s: the files do "
                                          "not belong together"),
                     FIELD (fields, columns[0]), n, fer_file);
          return NULL;
        }
      for (guint k = 0; k < G_N_ELEMENTS (ferplus_columns); k++)
        if (!parse_code (FIELD (fields, votes[k]), 1000, &counts[k]))
          {
            row_error (error, file, line, _("the %s votes “%s” are not a count"),
                       ferplus_columns[k], FIELD (fields, votes[k]));
            return NULL;
          }
      /* The FER+ authors left the images they removed without a name. */
      if (*FIELD (fields, columns[1]) == '\0')
        {
          n_unnamed++;
          continue;
        }
      label = mien_ferplus_majority (counts);
      if (label < 0)
        {
          n_no_majority++;
          continue;
        }
      mien_dataset_rows_add (rows, g_strdup_printf ("%s:%u", file, line),
                             ferplus_columns[label], &source);
    }
  if (n != fer->paths->len)
    {
      g_set_error (error, MIEN_DATASET_ERROR, MIEN_DATASET_ERROR_CSV,
                   _("%s has %u rows but %s has %u: the files do not belong together"),
                   file, n, fer_file, fer->paths->len);
      return NULL;
    }
  rows->pixels = g_steal_pointer (&fer->pixels);
  if (n_unnamed > 0)
    g_ptr_array_add (rows->skipped,
                     g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                   "%s: %u row without an image name (removed "
                                                   "by the FER+ authors)",
                                                   "%s: %u rows without an image name (removed "
                                                   "by the FER+ authors)", n_unnamed),
                                      file, n_unnamed));
  if (n_no_majority > 0)
    g_ptr_array_add (rows->skipped,
                     g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                   "%s: %u image without a majority label (FER+ "
                                                   "“majority” mode: tied, or mostly unknown or "
                                                   "not a face)",
                                                   "%s: %u images without a majority label (FER+ "
                                                   "“majority” mode: tied, or mostly unknown or "
                                                   "not a face)", n_no_majority),
                                      file, n_no_majority));
  return g_steal_pointer (&rows);
}

/* ---- Image files named by a list ------------------------------------------------------- */

/* Adds the row, or lists the image as skipped when it does not exist. */
static void
add_image_row (MienDatasetRows        *rows,
               char                   *image,
               const char             *label,
               const MienSampleSource *source,
               const char             *file,
               guint                   line)
{
  if (g_file_test (image, G_FILE_TEST_EXISTS))
    {
      mien_dataset_rows_add (rows, image, label, source);
      return;
    }
  g_ptr_array_add (rows->skipped, g_strdup_printf (_("%s: no such file (listed at %s:%u)"),
                                                   image, file, line));
  g_free (image);
}

/* ---- RAF-DB ----------------------------------------------------------------------------- */

static MienDatasetRows *
read_rafdb (const char  *file,
            GError     **error)
{
  g_autoptr(MienDatasetRows) rows = mien_dataset_rows_new ();
  g_autofree char *text = NULL;
  g_autofree char *emolabel = g_path_get_dirname (file);
  g_autofree char *root = g_path_get_dirname (emolabel);
  g_autofree char *images = g_build_filename (root, "Image", "aligned", NULL);
  g_auto(GStrv) lines = NULL;
  gsize len, pos;

  if (!mien_dataset_read_text (file, MIEN_DATASET_MAX_TABLE_BYTES, &text, &len, &pos, error))
    return NULL;
  lines = g_strsplit (text + pos, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) tokens = g_strsplit_set (g_strstrip (lines[i]), " \t", -1);
      g_autofree char *stem = NULL;
      g_autofree char *name = NULL;
      MienSampleSource source = { MIEN_SOURCE_FILE, MIEN_SPLIT_NONE, 0, 0, 0, 0, 0, 0 };
      const char *dot;
      guint n_tokens = 0, code = 0;

      if (*lines[i] == '\0')
        continue;
      /* Several spaces between the two fields are one separator. */
      for (guint k = 0; tokens[k] != NULL; k++)
        if (*tokens[k] != '\0')
          tokens[n_tokens++] = tokens[k];
        else
          g_free (tokens[k]);
      tokens[n_tokens] = NULL;
      if (n_tokens != 2)
        {
          row_error (error, file, i + 1, _("expected an image name and a label, found %u "
                                           "fields"), n_tokens);
          return NULL;
        }
      /* Labels 1..7: the codes shifted by one. */
      if (!parse_code (tokens[1], G_N_ELEMENTS (rafdb_classes), &code) || code == 0)
        {
          row_error (error, file, i + 1, _("unknown label “%s” (expected 1 to %u)"), tokens[1],
                     (guint) G_N_ELEMENTS (rafdb_classes));
          return NULL;
        }
      if (g_str_has_prefix (tokens[0], "train_"))
        source.split = 0;
      else if (g_str_has_prefix (tokens[0], "test_"))
        source.split = 2;
      else
        {
          row_error (error, file, i + 1, _("“%s” starts with neither train_ nor test_"),
                     tokens[0]);
          return NULL;
        }
      dot = strrchr (tokens[0], '.');
      stem = g_strndup (tokens[0], dot != NULL ? (gsize) (dot - tokens[0]) : strlen (tokens[0]));
      name = g_strconcat (stem, "_aligned.jpg", NULL);
      add_image_row (rows, g_build_filename (images, name, NULL), rafdb_classes[code - 1],
                     &source, file, i + 1);
    }
  return g_steal_pointer (&rows);
}

/* ---- AffectNet -------------------------------------------------------------------------- */

static gboolean
parse_box_value (const char  *text,
                 gint64       min,
                 int         *out)
{
  gint64 value = 0;

  if (!g_ascii_string_to_signed (text, 10, min, G_MAXINT, &value, NULL))
    return FALSE;
  *out = (int) value;
  return TRUE;
}

static MienDatasetRows *
read_affectnet (const char  *file,
                GError     **error)
{
  static const char * const names[] = {
    "subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "expression",
  };
  g_auto(Table) table = { 0, };
  g_autoptr(MienDatasetRows) rows = mien_dataset_rows_new ();
  g_autofree char *dir = g_path_get_dirname (file);
  g_autofree char *images = g_build_filename (dir, "Manually_Annotated_Images", NULL);
  g_autofree char *base = g_path_get_basename (file);
  int columns[G_N_ELEMENTS (names)];
  guint8 split = MIEN_SPLIT_NONE;
  guint n_other = 0, line;

  if (!table_open (&table, file, error) ||
      !require_columns (&table, names, G_N_ELEMENTS (names), columns, error))
    return NULL;
  if (!g_file_test (images, G_FILE_TEST_IS_DIR))
    {
      g_free (images);
      images = g_strdup (dir);
    }
  if (g_ascii_strcasecmp (base, "training.csv") == 0)
    split = 0;
  else if (g_ascii_strcasecmp (base, "validation.csv") == 0)
    split = 1;

  for (;;)
    {
      g_autoptr(GPtrArray) fields = NULL;
      MienSampleSource source = { MIEN_SOURCE_CROP, split, 0, 0, 0, 0, 0, 0 };
      const char *path;
      guint code;

      if (!table_next (&table, &fields, &line, error))
        return NULL;
      if (fields == NULL)
        break;
      path = FIELD (fields, columns[0]);

      if (!parse_code (FIELD (fields, columns[5]), AFFECTNET_MAX_CODE, &code))
        {
          row_error (error, file, line, _("unknown expression code “%s” (expected 0 to %u)"),
                     FIELD (fields, columns[5]), AFFECTNET_MAX_CODE);
          return NULL;
        }
      if (!parse_box_value (FIELD (fields, columns[1]), G_MININT, &source.x) ||
          !parse_box_value (FIELD (fields, columns[2]), G_MININT, &source.y) ||
          !parse_box_value (FIELD (fields, columns[3]), 1, &source.width) ||
          !parse_box_value (FIELD (fields, columns[4]), 1, &source.height))
        {
          row_error (error, file, line, _("the face box (%s, %s, %s, %s) is not four integers "
                                          "with a positive width and height"),
                     FIELD (fields, columns[1]), FIELD (fields, columns[2]),
                     FIELD (fields, columns[3]), FIELD (fields, columns[4]));
          return NULL;
        }
      if (*path == '\0')
        {
          row_error (error, file, line, _("empty image path"));
          return NULL;
        }
      if (code >= G_N_ELEMENTS (affectnet_classes))
        {
          n_other++;
          continue;
        }
      add_image_row (rows, g_canonicalize_filename (path, images), affectnet_classes[code],
                     &source, file, line);
    }
  if (n_other > 0)
    g_ptr_array_add (rows->skipped,
                     g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                   "%s: %u row coded none, uncertain or no face "
                                                   "(8 to 10)",
                                                   "%s: %u rows coded none, uncertain or no face "
                                                   "(8 to 10)", n_other),
                                      file, n_other));
  return g_steal_pointer (&rows);
}

/* ---- Telling the formats apart --------------------------------------------------------- */

/* The fields of the first line of `path` (at most 4 KiB read), or NULL when it is not a
 * regular file or not text: the manifest reader then says what is wrong with it. */
static GPtrArray *
peek_header (const char *path)
{
  char buffer[4096];
  GPtrArray *fields;
  gssize n;
  gsize len, pos = 0;
  guint line = 1;
  gboolean blank = FALSE;
  int fd;

  fd = mien_input_open (path, 0, NULL, NULL);
  if (fd < 0)
    return NULL;
  n = mien_input_read (fd, buffer, sizeof buffer - 1, NULL);
  close (fd);
  if (n <= 0)
    return NULL;
  len = (gsize) n;
  buffer[len] = '\0';
  len = strcspn (buffer, "\r\n");
  if (len >= 3 && memcmp (buffer, "\xEF\xBB\xBF", 3) == 0)
    pos = 3;
  if (!g_utf8_validate (buffer + pos, (gssize) (len - pos), NULL))
    return NULL;
  fields = mien_csv_read_record (buffer, len, &pos, &line, &blank, NULL);
  return fields;
}

/* `rows` (NULL on a fault) framed as `margin` says (mien_dataset_get_face_margin ()). */
static MienDatasetRows *
framed (MienDatasetRows *rows,
        double           margin)
{
  if (rows != NULL)
    rows->face_margin = margin;
  return rows;
}

MienDatasetRows *
mien_dataset_formats_read (const char  *path,
                           gboolean    *handled,
                           GError     **error)
{
  g_autofree char *base = g_path_get_basename (path);
  g_autoptr(GPtrArray) header = NULL;

  *handled = TRUE;
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *list = g_build_filename (path, "EmoLabel", RAFDB_LIST, NULL);

      if (g_file_test (list, G_FILE_TEST_IS_REGULAR))
        return read_rafdb (list, error);
      *handled = FALSE;
      return NULL;
    }
  if (strcmp (base, RAFDB_LIST) == 0)
    return read_rafdb (path, error);

  /* RAF-DB's aligned images frame faces loosely, as whole portraits do: no margin is implied.
   * FER2013 and FER+ are tight 48-px crops, and AffectNet is cropped to its annotated box. */
  header = peek_header (path);
  if (header != NULL && column_of (header, "emotion") >= 0 && column_of (header, "pixels") >= 0)
    return framed (read_fer2013 (path, error), MIEN_FACE_MARGIN_TIGHT);
  if (header != NULL && column_of (header, "Image name") >= 0 && column_of (header, "NF") >= 0)
    return framed (read_ferplus (path, error), MIEN_FACE_MARGIN_TIGHT);
  if (header != NULL && column_of (header, "subDirectory_filePath") >= 0)
    return framed (read_affectnet (path, error), MIEN_FACE_MARGIN_TIGHT);
  *handled = FALSE;
  return NULL;
}
