/* pb.h — the schema tables that drive the protobuf decoder (pb.c), shared with
 * the table file (pb_schema.c). Internal to src/api/.
 *
 * A message is a list of fields: protobuf field number → JSON name, type and,
 * for nested messages, the nested message's table. Adding a kind is adding
 * its tables and a row in api_pb_kinds[]; the decoder does not change.
 */
#ifndef BERTH_API_PB_H
#define BERTH_API_PB_H

#include <stddef.h>
#include <stdint.h>

typedef enum pb_type {
  PB_STRING,      /* string → JSON string (must be UTF-8) */
  PB_BYTES,       /* bytes → base64 JSON string, as Go's encoding/json */
  PB_BOOL,        /* varint → true/false */
  PB_INT32,       /* varint → JSON integer */
  PB_INT64,       /* varint → JSON integer */
  PB_MESSAGE,     /* nested message → JSON object (msg) */
  PB_MAP,         /* map<string, map_value> = repeated {1 key, 2 value} → JSON object */
  PB_TIME,        /* metav1.Time {1 seconds, 2 nanos} → "2006-01-02T15:04:05Z" */
  PB_QUANTITY,    /* resource.Quantity {1 string} → JSON string */
  PB_INTORSTRING, /* intstr.IntOrString {1 type, 2 intVal, 3 strVal} → number or string */
} pb_type_t;

enum {
  PB_REPEATED = 1 << 0, /* JSON array of the type */
  PB_KEEP = 1 << 1,     /* emit zero values (Go pointer fields, fields without omitempty) */
  PB_INLINE = 1 << 2,   /* a message whose fields join the parent object (Go embedding) */
};

struct pb_message;

typedef struct pb_field {
  uint32_t num;
  const char *json;
  uint8_t type;      /* pb_type_t */
  uint8_t flags;     /* PB_REPEATED, PB_KEEP */
  uint8_t map_value; /* PB_MAP: the value's pb_type_t */
  const struct pb_message *msg;
} pb_field_t;

typedef struct pb_message {
  const char *name;
  const pb_field_t *fields;
  size_t nfields;
} pb_message_t;

typedef struct pb_kind {
  const char *api_version;
  const char *kind;
  const pb_message_t *msg;
} pb_kind_t;

extern const pb_kind_t api_pb_kinds[];
extern const size_t api_pb_nkinds;

#endif
