/* schema.c — finds the fields of an object that its kind does not know, for
 * kubectl's fieldValidation=Strict (400 "strict decoding error: unknown
 * field \"spec.bogus\"") and Warn (a Warning header per field).
 *
 * The walk follows the object and the kind's type tables (schema_types*.c)
 * side by side. It only ever looks at names: a value of the wrong JSON type
 * is skipped, not reported, since validation catches it. Paths are spelt as
 * Kubernetes' strict JSON decoder spells them: field names joined by dots,
 * array indices in brackets ("spec.containers[0].bogus"), map keys as plain
 * dotted segments. Map keys and the insides of free-form fields are never
 * judged, and free-form fields are not walked at all, so the work is bounded
 * by the tables' depth (capped at SCHEMA_MAX_DEPTH besides) and the size of
 * the input, whatever its nesting.
 */
#include "api/schema.h"

#include <string.h>

typedef struct schema_walk {
  buf_t path;     /* the path of the value being walked */
  char **unknown; /* the result, NULL-terminated */
  size_t n;       /* paths in unknown */
} schema_walk_t;

static void walk_object(schema_walk_t *w, const schema_type_t *type, json_t *obj, unsigned depth);

static const schema_field_t *field_find(const schema_type_t *type, const char *name)
{
  for (size_t i = 0; i < type->n; i++)
    if (strcmp(type->fields[i].name, name) == 0)
      return &type->fields[i];
  return NULL;
}

static void path_truncate(buf_t *path, size_t len)
{
  path->len = len;
  if (path->data)
    path->data[len] = '\0';
}

/* Appends a field name or map key as the next dotted segment. */
static void path_push_key(buf_t *path, const char *key)
{
  if (path->len > 0)
    buf_puts(path, ".");
  buf_puts(path, key);
}

static bool walk_full(const schema_walk_t *w)
{
  return w->n >= SCHEMA_MAX_UNKNOWN;
}

/* Walks a field's value, whose path is already in w->path. */
static void walk_value(schema_walk_t *w, const schema_field_t *f, json_t *v, unsigned depth)
{
  size_t len = w->path.len;
  switch (f->shape) {
  case SCHEMA_OBJECT:
    walk_object(w, f->type, v, depth + 1);
    break;
  case SCHEMA_ARRAY: {
    if (!json_is_array(v))
      break;
    size_t i;
    json_t *elem;
    json_array_foreach(v, i, elem)
    {
      if (walk_full(w))
        break;
      buf_printf(&w->path, "[%zu]", i);
      walk_object(w, f->type, elem, depth + 1);
      path_truncate(&w->path, len);
    }
    break;
  }
  case SCHEMA_MAP_OBJECT: {
    if (!json_is_object(v))
      break;
    const char *key;
    json_t *elem;
    json_object_foreach(v, key, elem)
    {
      if (walk_full(w))
        break;
      path_push_key(&w->path, key);
      walk_object(w, f->type, elem, depth + 1);
      path_truncate(&w->path, len);
    }
    break;
  }
  case SCHEMA_SCALAR:
  case SCHEMA_MAP:
  case SCHEMA_ANY:
    break;
  }
}

static void walk_object(schema_walk_t *w, const schema_type_t *type, json_t *obj, unsigned depth)
{
  if (!json_is_object(obj) || depth > SCHEMA_MAX_DEPTH)
    return;
  size_t len = w->path.len;
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v)
  {
    if (walk_full(w))
      return;
    path_push_key(&w->path, key);
    const schema_field_t *f = field_find(type, key);
    if (!f) {
      strv_push(&w->unknown, w->path.data);
      w->n++;
    } else {
      walk_value(w, f, v, depth);
    }
    path_truncate(&w->path, len);
  }
}

char **schema_unknown_fields(const schema_type_t *type, json_t *obj)
{
  schema_walk_t w = { 0 };
  walk_object(&w, type, obj, 1);
  buf_free(&w.path);
  return w.unknown;
}

const schema_type_t *schema_kind_type(const char *api_version, const char *kind)
{
  if (!api_version || !kind)
    return NULL;
  for (size_t i = 0; i < schema_kinds_n; i++)
    if (strcmp(schema_kinds[i].api_version, api_version) == 0
        && strcmp(schema_kinds[i].kind, kind) == 0)
      return schema_kinds[i].type;
  return NULL;
}

bool api_schema_known(const char *api_version, const char *kind)
{
  return schema_kind_type(api_version, kind) != NULL;
}

char **api_unknown_fields(const char *api_version, const char *kind, json_t *obj)
{
  const schema_type_t *type = schema_kind_type(api_version, kind);
  if (!type)
    return NULL;
  return schema_unknown_fields(type, obj);
}
