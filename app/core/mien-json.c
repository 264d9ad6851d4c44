/* mien-json.c — typed getters for the JSON in Mien's files. */
#include "config.h"

#include <errno.h>
#include <math.h>

#include <glib/gi18n-lib.h>

#include "mien-json.h"

G_DEFINE_QUARK (mien-json-error-quark, mien_json_error)

/* What a value is, for "not …" in messages. */
static const char *
describe_node (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      return _("an object");
    case JSON_NODE_ARRAY:
      return _("an array");
    case JSON_NODE_NULL:
      return _("null");
    case JSON_NODE_VALUE:
    default:
      break;
    }
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return _("a string");
    case G_TYPE_BOOLEAN:
      return _("true or false");
    case G_TYPE_INT64:
      return _("an integer");
    case G_TYPE_DOUBLE:
      return _("a number with a fraction");
    default:
      return _("an unknown value");
    }
}

static gboolean
wrong_type (GError     **error,
            const char  *source,
            const char  *key,
            const char  *expected,
            JsonNode    *node)
{
  /* Translators: a file (and line), a JSON key, the type expected, the type found. */
  g_set_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_TYPE, _("%s: “%s” has to be %s, not %s"),
               source, key, expected, describe_node (node));
  return FALSE;
}

/* Finds `key`: FALSE with `*node` NULL for an absent key or a null one that the flags allow
 * (the caller keeps its default), FALSE with an error when they do not, TRUE otherwise. */
static gboolean
lookup (JsonObject     *object,
        const char     *source,
        const char     *key,
        MienJsonFlags   flags,
        const char     *expected,
        JsonNode      **node,
        GError        **error)
{
  *node = json_object_get_member (object, key);
  if (*node == NULL)
    {
      if (flags & MIEN_JSON_OPTIONAL)
        return FALSE;
      /* Translators: a file (and line), a JSON key, the type expected. */
      g_set_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_MISSING,
                   _("%s: “%s” is missing (it has to be %s)"), source, key, expected);
      return FALSE;
    }
  if (JSON_NODE_HOLDS_NULL (*node))
    {
      if (flags & MIEN_JSON_NULLABLE)
        {
          *node = NULL;
          return FALSE;
        }
      wrong_type (error, source, key, expected, *node);
      *node = NULL;
      return FALSE;
    }
  return TRUE;
}

static gboolean
holds (JsonNode *node,
       GType     type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

static gboolean
is_number (JsonNode *node)
{
  return holds (node, G_TYPE_INT64) || holds (node, G_TYPE_DOUBLE);
}

JsonObject *
mien_json_parse_object (const char  *text,
                        gssize       length,
                        const char  *source,
                        GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (source != NULL, NULL);

  if (!json_parser_load_from_data (parser, text, length, &local_error))
    {
      g_set_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_SYNTAX, "%s: %s", source,
                   local_error != NULL ? local_error->message : _("not JSON"));
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_SYNTAX,
                   _("%s: expected a JSON object, found %s"), source,
                   root != NULL ? describe_node (root) : _("nothing"));
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

JsonObject *
mien_json_load_object (const char  *path,
                       GError     **error)
{
  g_autofree char *text = NULL;
  g_autofree char *display = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize length;

  g_return_val_if_fail (path != NULL, NULL);

  display = g_filename_display_name (path);
  if (!g_file_get_contents (path, &text, &length, &local_error))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return mien_json_parse_object (text, length, display, error);
}

/* The common start of every getter: TRUE and `*node` set when there is a value to check;
 * TRUE and `*node` NULL when the default stays (`*is_null` says whether the key held null,
 * which strings, arrays and objects turn into NULL); FALSE on error. */
static gboolean
lookup_value (JsonObject     *object,
              const char     *source,
              const char     *key,
              MienJsonFlags   flags,
              const char     *expected,
              JsonNode      **node,
              gboolean       *is_null,
              GError        **error)
{
  GError *local_error = NULL;

  *is_null = FALSE;
  if (lookup (object, source, key, flags, expected, node, &local_error))
    return TRUE;
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  *node = NULL;
  *is_null = json_object_get_member (object, key) != NULL;
  return TRUE;
}

/* JSON-GLib turns a lone UTF-16 surrogate escape ("\ud800") into bytes that are not UTF-8, and
 * refuses them when it writes or parses text again: a string kept from such a file would make
 * Mien write a config.json or model file that no Mien can read. */
static gboolean
check_utf8 (const char  *value,
            const char  *source,
            const char  *key,
            GError     **error)
{
  if (g_utf8_validate (value, -1, NULL))
    return TRUE;
  /* Translators: a file (and line), a JSON key. */
  g_set_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_RANGE,
               _("%s: “%s” is not valid UTF-8 (a lone UTF-16 surrogate escape?)"),
               source, key);
  return FALSE;
}

gboolean
mien_json_get_string (JsonObject     *object,
                      const char     *source,
                      const char     *key,
                      MienJsonFlags   flags,
                      const char    **out,
                      GError        **error)
{
  JsonNode *node;
  gboolean is_null;

  if (!lookup_value (object, source, key, flags, _("a string"), &node, &is_null, error))
    return FALSE;
  if (node == NULL)
    {
      if (is_null)
        *out = NULL;
      return TRUE;
    }
  if (!holds (node, G_TYPE_STRING))
    return wrong_type (error, source, key, _("a string"), node);
  if (!check_utf8 (json_node_get_string (node), source, key, error))
    return FALSE;
  *out = json_node_get_string (node);
  return TRUE;
}

char *
mien_json_to_string (JsonNode *node,
                     gboolean  pretty)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;
  gboolean in_string = FALSE;
  char *in, *out;

  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, pretty);
  json_generator_set_indent (generator, 2);
  text = json_generator_to_data (generator, NULL);

  /* Drop the ".0" that follows an exponent's digits outside strings (see the header). */
  for (in = out = text; *in != '\0'; in++)
    {
      if (in_string)
        {
          if (*in == '\\' && in[1] != '\0')
            *out++ = *in++;
          else if (*in == '"')
            in_string = FALSE;
        }
      else if (*in == '"')
        in_string = TRUE;
      else if (*in == '.' && in[1] == '0' && !g_ascii_isdigit (in[2]) && out > text &&
               g_ascii_isdigit (out[-1]))
        {
          const char *p = out - 1;

          while (p > text && g_ascii_isdigit (*p))
            p--;
          if (*p == '+' || *p == '-')
            p--;
          if (p >= text && (*p == 'e' || *p == 'E'))
            {
              in++;
              continue;
            }
        }
      *out++ = *in;
    }
  *out = '\0';
  return g_steal_pointer (&text);
}

gboolean
mien_json_get_int (JsonObject     *object,
                   const char     *source,
                   const char     *key,
                   MienJsonFlags   flags,
                   gint64          min,
                   gint64          max,
                   gint64         *out,
                   GError        **error)
{
  g_autofree char *expected = g_strdup_printf (_("an integer from %lld to %lld"),
                                                 (long long) min, (long long) max);
  JsonNode *node;
  gboolean is_null;
  gint64 value;

  if (!lookup_value (object, source, key, flags, expected, &node, &is_null, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (!holds (node, G_TYPE_INT64))
    return wrong_type (error, source, key, expected, node);
  value = json_node_get_int (node);
  if (value < min || value > max)
    {
      /* Translators: a file (and line), a JSON key, the range expected, the value found. */
      g_set_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_RANGE,
                   _("%s: “%s” has to be %s, not %lld"), source, key, expected,
                   (long long) value);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

gboolean
mien_json_get_double (JsonObject     *object,
                      const char     *source,
                      const char     *key,
                      MienJsonFlags   flags,
                      double          min,
                      double          max,
                      double         *out,
                      GError        **error)
{
  g_autofree char *expected = g_strdup_printf (_("a number from %g to %g"), min, max);
  JsonNode *node;
  gboolean is_null;
  double value;

  if (!lookup_value (object, source, key, flags, expected, &node, &is_null, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (!is_number (node))
    return wrong_type (error, source, key, expected, node);
  value = json_node_get_double (node);
  /* JSON-GLib reads 1e999 as infinity; NaN fails every comparison. */
  if (!(isfinite (value) && value >= min && value <= max))
    {
      g_set_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_RANGE,
                   _("%s: “%s” has to be %s, not %g"), source, key, expected, value);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

gboolean
mien_json_get_uint64 (JsonObject     *object,
                      const char     *source,
                      const char     *key,
                      MienJsonFlags   flags,
                      guint64        *out,
                      GError        **error)
{
  const char *expected = _("a whole number from 0 to 18446744073709551615 (or such a number "
                           "in a string)");
  JsonNode *node;
  gboolean is_null;
  guint64 value;

  if (!lookup_value (object, source, key, flags, expected, &node, &is_null, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (holds (node, G_TYPE_INT64))
    {
      if (json_node_get_int (node) < 0)
        {
          g_set_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_RANGE,
                       _("%s: “%s” has to be %s, not %lld"), source, key,
                       expected, (long long) json_node_get_int (node));
          return FALSE;
        }
      *out = (guint64) json_node_get_int (node);
      return TRUE;
    }
  if (!holds (node, G_TYPE_STRING))
    return wrong_type (error, source, key, expected, node);
  if (!g_ascii_string_to_unsigned (json_node_get_string (node), 10, 0, G_MAXUINT64, &value,
                                   NULL))
    {
      g_set_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_RANGE,
                   _("%s: “%s” has to be %s, not “%s”"), source, key, expected,
                   json_node_get_string (node));
      return FALSE;
    }
  *out = value;
  return TRUE;
}

gboolean
mien_json_get_boolean (JsonObject     *object,
                       const char     *source,
                       const char     *key,
                       MienJsonFlags   flags,
                       gboolean       *out,
                       GError        **error)
{
  JsonNode *node;
  gboolean is_null;

  if (!lookup_value (object, source, key, flags, _("true or false"), &node, &is_null, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (!holds (node, G_TYPE_BOOLEAN))
    return wrong_type (error, source, key, _("true or false"), node);
  *out = json_node_get_boolean (node);
  return TRUE;
}

/* Objects and arrays: like strings, null gives NULL when allowed. */
static gboolean
lookup_container (JsonObject     *object,
                  const char     *source,
                  const char     *key,
                  MienJsonFlags   flags,
                  JsonNodeType    type,
                  const char     *expected,
                  JsonNode      **node,
                  gboolean       *set_null,
                  GError        **error)
{
  if (!lookup_value (object, source, key, flags, expected, node, set_null, error))
    return FALSE;
  if (*node != NULL && JSON_NODE_TYPE (*node) != type)
    return wrong_type (error, source, key, expected, *node);
  return TRUE;
}

gboolean
mien_json_get_object (JsonObject     *object,
                      const char     *source,
                      const char     *key,
                      MienJsonFlags   flags,
                      JsonObject    **out,
                      GError        **error)
{
  JsonNode *node;
  gboolean set_null;

  if (!lookup_container (object, source, key, flags, JSON_NODE_OBJECT, _("an object"), &node,
                         &set_null, error))
    return FALSE;
  if (node != NULL)
    *out = json_node_get_object (node);
  else if (set_null)
    *out = NULL;
  return TRUE;
}

gboolean
mien_json_get_strv (JsonObject     *object,
                    const char     *source,
                    const char     *key,
                    MienJsonFlags   flags,
                    char         ***out,
                    GError        **error)
{
  const char *expected = _("an array of non-empty strings");
  g_autoptr(GStrvBuilder) builder = NULL;
  JsonNode *node;
  JsonArray *array;
  gboolean set_null;

  if (!lookup_container (object, source, key, flags, JSON_NODE_ARRAY, expected, &node,
                         &set_null, error))
    return FALSE;
  if (node == NULL)
    {
      if (set_null)
        *out = NULL;
      return TRUE;
    }
  array = json_node_get_array (node);
  builder = g_strv_builder_new ();
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (!holds (element, G_TYPE_STRING) || *json_node_get_string (element) == '\0')
        {
          /* Translators: a file (and line), a JSON key, an index, the type expected and found. */
          g_set_error (error, MIEN_JSON_ERROR, MIEN_JSON_ERROR_TYPE,
                       _("%s: “%s” has to be %s; element %u is %s"), source, key, expected, i,
                       holds (element, G_TYPE_STRING) ? _("empty") : describe_node (element));
          return FALSE;
        }
      if (!check_utf8 (json_node_get_string (element), source, key, error))
        return FALSE;
      g_strv_builder_add (builder, json_node_get_string (element));
    }
  *out = g_strv_builder_end (builder);
  return TRUE;
}

gboolean
mien_json_get_doubles (JsonObject     *object,
                       const char     *source,
                       const char     *key,
                       MienJsonFlags   flags,
                       double          min,
                       double          max,
                       double        **out,
                       guint          *n_out,
                       GError        **error)
{
  g_autofree char *expected = g_strdup_printf (_("an array of numbers from %g to %g"), min, max);
  g_autofree double *values = NULL;
  JsonNode *node;
  JsonArray *array;
  gboolean set_null;
  guint n;

  if (!lookup_container (object, source, key, flags, JSON_NODE_ARRAY, expected, &node,
                         &set_null, error))
    return FALSE;
  if (node == NULL)
    {
      if (set_null)
        {
          *out = NULL;
          *n_out = 0;
        }
      return TRUE;
    }
  array = json_node_get_array (node);
  n = json_array_get_length (array);
  values = n > 0 ? g_new (double, n) : NULL;
  for (guint i = 0; i < n; i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (!is_number (element) ||
          !(isfinite (json_node_get_double (element)) &&
            json_node_get_double (element) >= min && json_node_get_double (element) <= max))
        {
          g_autofree char *found = is_number (element)
            ? g_strdup_printf ("%g", json_node_get_double (element))
            : g_strdup (describe_node (element));

          g_set_error (error, MIEN_JSON_ERROR,
                       is_number (element) ? MIEN_JSON_ERROR_RANGE : MIEN_JSON_ERROR_TYPE,
                       _("%s: “%s” has to be %s; element %u is %s"), source, key, expected, i,
                       found);
          return FALSE;
        }
      values[i] = json_node_get_double (element);
    }
  *out = g_steal_pointer (&values);
  *n_out = n;
  return TRUE;
}
