/* mien-json.h — typed reading of the JSON that Mien's files hold.
 *
 * config.json, log.jsonl, the "mien" metadata of model files and the trainer state of a
 * checkpoint are all read through these getters, so that a hand-edited or hostile file gives
 * one kind of answer: a GError that names the source (a file, or "FILE, line N"), the key and
 * the type or range expected, never a crash, a NULL error or a silently wrong value. Numbers
 * are range-checked as 64-bit values before they are narrowed to the caller's type.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define MIEN_JSON_ERROR (mien_json_error_quark ())
GQuark mien_json_error_quark (void);

typedef enum {
  MIEN_JSON_ERROR_SYNTAX,    /* not JSON, or not an object where one is needed */
  MIEN_JSON_ERROR_MISSING,   /* a required key is absent */
  MIEN_JSON_ERROR_TYPE,      /* the value has another type */
  MIEN_JSON_ERROR_RANGE,     /* the right type, out of range */
} MienJsonError;

typedef enum {
  MIEN_JSON_REQUIRED = 0,
  MIEN_JSON_OPTIONAL = 1 << 0,  /* absent: `out` keeps what it held (the default) */
  MIEN_JSON_NULLABLE = 1 << 1,  /* null: strings, arrays and objects become NULL, others keep
                                 * their default */
} MienJsonFlags;

/* Parses `path` (a regular file) and returns its root object (a new reference). */
JsonObject *mien_json_load_object  (const char  *path,
                                    GError     **error);
/* The same for text held in memory; `source` names it in errors. */
JsonObject *mien_json_parse_object (const char  *text,
                                    gssize       length,
                                    const char  *source,
                                    GError     **error);

/* `node` as JSON text (pretty: indented by two spaces), as every file Mien writes holds it.
 * json_to_string () alone is not enough: JSON-GLib 1.6 writes a double whose shortest form has
 * an exponent but no point (3e-10, 1e+17) as "3e-10.0", which no parser, JSON-GLib included,
 * reads back. Returns: (transfer full). */
char       *mien_json_to_string    (JsonNode    *node,
                                    gboolean     pretty);

/* In all getters `source` names where `object` came from ("/runs/a/config.json",
 * "log.jsonl, line 3") and `*out` is only written on success. */
gboolean mien_json_get_string  (JsonObject     *object,
                                const char     *source,
                                const char     *key,
                                MienJsonFlags   flags,
                                const char    **out,    /* borrowed from `object` */
                                GError        **error);
/* A whole number (a JSON integer; 5.0 is not one) in [min, max]. */
gboolean mien_json_get_int     (JsonObject     *object,
                                const char     *source,
                                const char     *key,
                                MienJsonFlags   flags,
                                gint64          min,
                                gint64          max,
                                gint64         *out,
                                GError        **error);
/* A finite number (integer or not) in [min, max]. */
gboolean mien_json_get_double  (JsonObject     *object,
                                const char     *source,
                                const char     *key,
                                MienJsonFlags   flags,
                                double          min,
                                double          max,
                                double         *out,
                                GError        **error);
/* Any unsigned 64-bit value: a non-negative JSON integer, or a string of decimal digits (what
 * readers that lose 64-bit precision in numbers need). */
gboolean mien_json_get_uint64  (JsonObject     *object,
                                const char     *source,
                                const char     *key,
                                MienJsonFlags   flags,
                                guint64        *out,
                                GError        **error);
gboolean mien_json_get_boolean (JsonObject     *object,
                                const char     *source,
                                const char     *key,
                                MienJsonFlags   flags,
                                gboolean       *out,
                                GError        **error);
gboolean mien_json_get_object  (JsonObject     *object,
                                const char     *source,
                                const char     *key,
                                MienJsonFlags   flags,
                                JsonObject    **out,    /* borrowed */
                                GError        **error);
/* An array of non-empty strings; `out` is a new NULL-terminated copy. */
gboolean mien_json_get_strv    (JsonObject     *object,
                                const char     *source,
                                const char     *key,
                                MienJsonFlags   flags,
                                char         ***out,
                                GError        **error);
/* An array of finite numbers in [min, max]; `out` is newly allocated (NULL when empty). */
gboolean mien_json_get_doubles (JsonObject     *object,
                                const char     *source,
                                const char     *key,
                                MienJsonFlags   flags,
                                double          min,
                                double          max,
                                double        **out,
                                guint          *n_out,
                                GError        **error);

G_END_DECLS
