/* schema.h — the known-field tables behind api_unknown_fields(), shared by
 * schema.c (the walk) and schema_types*.c (the tables). Not part of the api/
 * module's interface; the unit tests include it to drive the walk with
 * tables of their own.
 *
 * A type is the list of JSON field names a Kubernetes Go type accepts, each
 * with the shape of its value. Only names are checked: a value of the wrong
 * JSON type is left to validation, as Kubernetes' strict decoding reports
 * unknown fields, not type errors.
 */
#ifndef BERTH_API_SCHEMA_H
#define BERTH_API_SCHEMA_H

#include "api/api.h"

typedef enum schema_shape {
  SCHEMA_SCALAR,     /* any JSON scalar (or a list of them): not walked */
  SCHEMA_OBJECT,     /* an object of the nested type */
  SCHEMA_ARRAY,      /* an array of objects of the nested type */
  SCHEMA_MAP,        /* any keys, scalar values (labels, data, resource lists) */
  SCHEMA_MAP_OBJECT, /* any keys, values objects of the nested type */
  SCHEMA_ANY,        /* free-form (RawExtension, FieldsV1): not walked */
} schema_shape_t;

typedef struct schema_type schema_type_t;

typedef struct schema_field {
  const char *name; /* the Go type's json tag, matched case-sensitively */
  schema_shape_t shape;
  const schema_type_t *type; /* for OBJECT, ARRAY and MAP_OBJECT; else NULL */
} schema_field_t;

struct schema_type {
  const schema_field_t *fields; /* embedded (inline) Go structs flattened in */
  size_t n;
};

typedef struct schema_kind {
  const char *api_version; /* "v1", "apps/v1" */
  const char *kind;
  const schema_type_t *type;
} schema_kind_t;

/* Table-writing helpers for schema_types*.c. */
/* clang-format off */
#define SCALAR(name)       {name, SCHEMA_SCALAR, NULL}
#define OBJECT(name, type) {name, SCHEMA_OBJECT, &(type)}
#define ARRAY(name, type)  {name, SCHEMA_ARRAY, &(type)}
#define MAP(name)          {name, SCHEMA_MAP, NULL}
#define MAP_OF(name, type) {name, SCHEMA_MAP_OBJECT, &(type)}
#define ANY(name)          {name, SCHEMA_ANY, NULL}
/* clang-format on */
#define SCHEMA_TYPE_(storage, var, ...)                                                            \
  static const schema_field_t var##_fields[] = { __VA_ARGS__ };                                    \
  storage const schema_type_t var = { var##_fields, ARRAY_SIZE(var##_fields) }
/* A type used only in its own file, and one the other table file uses. */
#define TYPE(var, ...)          SCHEMA_TYPE_(static, var, __VA_ARGS__)
#define EXPORTED_TYPE(var, ...) SCHEMA_TYPE_(, var, __VA_ARGS__)

/* schema_types.c: meta/v1 and every kind but the Pod's own types. */
extern const schema_type_t schema_object_meta;
extern const schema_type_t schema_label_selector;
extern const schema_kind_t schema_kinds[];
extern const size_t schema_kinds_n;

/* schema_types_pod.c: Pod, PodSpec, PodStatus, PodTemplateSpec and below. */
extern const schema_type_t schema_pod;
extern const schema_type_t schema_pod_template_spec;
extern const schema_type_t schema_local_object_reference;
extern const schema_type_t schema_persistent_volume_claim_spec;

/* The walk depth (objects nested in objects) beyond which nothing is
 * checked; the real tables are far shallower. */
#define SCHEMA_MAX_DEPTH 100
/* At most this many paths are reported, as Kubernetes saves at most 100
 * strict decoding errors. */
#define SCHEMA_MAX_UNKNOWN 100

/* The unknown-field paths of obj against type, as api_unknown_fields(). */
char **schema_unknown_fields(const schema_type_t *type, json_t *obj);
/* The kind's top-level type, or NULL. */
const schema_type_t *schema_kind_type(const char *api_version, const char *kind);

#endif
