/* mien-dataset-private.h — what mien-dataset.c shares with the readers of the FER datasets'
 * own formats (mien-dataset-formats.c). Not installed, not for other areas.
 */
#pragma once

#include "mien-dataset.h"

G_BEGIN_DECLS

typedef enum {
  MIEN_SOURCE_FILE,    /* the whole image file at the sample's path */
  MIEN_SOURCE_CROP,    /* a box of the image file at the sample's path */
  MIEN_SOURCE_PIXELS,  /* grey pixels held by the dataset; the path only names the row */
} MienSourceKind;

#define MIEN_SPLIT_NONE 0xff

/* Where sample i's pixels come from, parallel to the paths and labels. */
typedef struct {
  guint8  kind;     /* MienSourceKind */
  guint8  split;    /* 0 train, 1 val, 2 test (mien_dataset_get_split_names ()), or
                     * MIEN_SPLIT_NONE */
  guint16 side;     /* MIEN_SOURCE_PIXELS: the square's side */
  int     x, y, width, height;  /* MIEN_SOURCE_CROP: the box, in the file's pixels */
  gsize   offset;   /* MIEN_SOURCE_PIXELS: into the dataset's pixel store */
} MienSampleSource;

/* What a format reader hands back: one entry per row kept, before classes are resolved. */
typedef struct {
  GPtrArray *paths;    /* char *, absolute (or "FILE:LINE" for inline pixels) */
  GPtrArray *labels;   /* char *, class names */
  GArray    *sources;  /* MienSampleSource */
  GByteArray *pixels;  /* the inline pixels, or NULL */
  GPtrArray *skipped;  /* char *, "WHAT: reason" */
  double     face_margin;  /* mien_dataset_get_face_margin (); NAN from mien_dataset_rows_new () */
} MienDatasetRows;

MienDatasetRows *mien_dataset_rows_new  (void);
void             mien_dataset_rows_free (MienDatasetRows *rows);
void             mien_dataset_rows_add  (MienDatasetRows        *rows,
                                         char                   *path,
                                         const char             *label,
                                         const MienSampleSource *source);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienDatasetRows, mien_dataset_rows_free)

/* One RFC 4180 record of `text` at *pos (see mien-dataset.c). NULL at the end, or on a fault
 * with `error` set and *line on the faulty line. */
GPtrArray *mien_csv_read_record (const char  *text,
                                 gsize        len,
                                 gsize       *pos,
                                 guint       *line,
                                 gboolean    *blank,
                                 GError     **error);
/* Reads all of `file` (at most `max_bytes`) as UTF-8 text without NUL bytes; `pos` gets the
 * offset past a byte-order mark. Errors are MIEN_DATASET_ERROR_LAYOUT and name the file. */
gboolean   mien_dataset_read_text   (const char  *file,
                                     goffset      max_bytes,
                                     char       **text,
                                     gsize       *len,
                                     gsize       *pos,
                                     GError     **error);

/* The FER+ "majority" label (0..7, the order of fer2013new.csv's vote columns) of one image
 * from its ten vote counts, or -1 when the FER+ authors leave the image out. */
int              mien_ferplus_majority      (const guint *votes);

/* Tries the FER datasets' own layouts for `path` (absolute): `*handled` is FALSE when the path
 * is none of them (it is then a class-folder tree or a plain manifest), else the rows are read
 * into `rows` (NULL with `error` set on a fault). */
MienDatasetRows *mien_dataset_formats_read (const char  *path,
                                            gboolean    *handled,
                                            GError     **error);

G_END_DECLS
