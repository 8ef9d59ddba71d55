/* api.h — berth's object model, the parts of the Kubernetes API that do not
 * depend on HTTP or storage: field errors, names and metadata validation,
 * resource quantities, label and field selectors, the three patch formats and
 * the protobuf bodies kubectl 1.32+ sends.
 *
 * Objects are jansson JSON values in their Kubernetes wire shape; nothing here
 * converts them into C structs. Every error that a user can cause reads the way
 * Kubernetes would phrase it, so kubectl users recognise it, and names the
 * field path ("metadata.name: Invalid value: …"). This module depends only on
 * base/.
 */
#ifndef BERTH_API_H
#define BERTH_API_H

#include "base/base.h"

/* ---- field errors (errors.c) ------------------------------------------- */

/* Kubernetes' field.ErrorType; api_ferr_reason() gives "FieldValueInvalid"… */
typedef enum api_ferr_type {
  API_FERR_REQUIRED,
  API_FERR_INVALID,
  API_FERR_NOT_SUPPORTED,
  API_FERR_FORBIDDEN,
  API_FERR_TOO_LONG,
  API_FERR_DUPLICATE,
  API_FERR_INTERNAL,
} api_ferr_type_t;

typedef struct api_field_error {
  api_ferr_type_t type;
  char *field;  /* "metadata.name" */
  char *value;  /* the bad value rendered as Go does ("\"Web_1\"", "5"), or NULL */
  char *detail; /* may be empty */
} api_field_error_t;

/* A growing list of field errors: validation collects all of them, then the
 * server answers 422 with one cause per error. */
typedef struct api_errors {
  api_field_error_t *v;
  size_t n, cap;
} api_errors_t;

#define API_ERRORS_INIT                                                                            \
  {                                                                                                \
    NULL, 0, 0                                                                                     \
  }

/* Adds an error. value is borrowed and may be NULL (no value shown). */
void api_errors_add(api_errors_t *errs, api_ferr_type_t type, const char *field, json_t *value,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Same with a string bad value (shown quoted), the common case. */
void api_errors_add_str(api_errors_t *errs, api_ferr_type_t type, const char *field,
                        const char *value, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void api_errors_free(api_errors_t *errs);
/* "FieldValueRequired", "FieldValueInvalid", … (Status causes[].reason). */
const char *api_ferr_reason(api_ferr_type_t type);
/* The error without its field: "Invalid value: \"Web_1\": a lowercase …". */
char *api_field_error_body(const api_field_error_t *e);
/* "field: body"; several errors as "[a, b]", duplicates dropped (as Kubernetes). */
char *api_errors_string(const api_errors_t *errs);
/* 0 when errs is empty, else -1 with err set to api_errors_string(). */
int api_errors_to_berr(const api_errors_t *errs, berr_t *err);
/* metav1.Status details.causes: [{"reason","message","field"}…]. */
json_t *api_errors_causes(const api_errors_t *errs);
/* Go's %q: "a\"b" with \n, \t, \xNN escapes. */
char *api_go_quote(const char *s, size_t len);

/* ---- names, labels, annotations (names.c) ------------------------------ */

#define API_DNS1123_LABEL_MAX     63
#define API_DNS1123_SUBDOMAIN_MAX 253
#define API_LABEL_VALUE_MAX       63
#define API_ANNOTATIONS_MAX_BYTES (256 * 1024)
#define API_GENERATE_RANDOM_LEN   5
#define API_GENERATE_BASE_MAX     (API_DNS1123_LABEL_MAX - API_GENERATE_RANDOM_LEN)

/* Each returns true when s is valid; otherwise, when why is not NULL, appends
 * Kubernetes' reasons ("must be no more than 63 characters", "a lowercase RFC
 * 1123 label must consist of …") to the string vector *why. */
bool api_is_dns1123_label(const char *s, char ***why);
bool api_is_dns1123_subdomain(const char *s, char ***why);
bool api_is_dns1035_label(const char *s, char ***why);
/* A qualified name: [DNS subdomain "/"] name, name ≤ 63 chars. */
bool api_is_label_key(const char *s, char ***why);
bool api_is_label_value(const char *s, char ***why);
/* ConfigMap and Secret data keys. */
bool api_is_config_map_key(const char *s, char ***why);

typedef enum api_name_rule {
  API_NAME_DNS_SUBDOMAIN, /* most kinds: pods, configmaps, secrets, deployments */
  API_NAME_DNS_LABEL,     /* namespaces */
  API_NAME_DNS1035_LABEL, /* services */
} api_name_rule_t;

/* One Invalid error per reason. prefix: the value is a generateName, which may
 * end in '-'. */
void api_validate_name(api_errors_t *errs, const char *field, const char *name,
                       api_name_rule_t rule, bool prefix);
/* labels: a map of label key → label value. */
void api_validate_labels(api_errors_t *errs, const char *field, json_t *labels);
/* annotations: keys are label keys (any case), total size ≤ 256 KiB. */
void api_validate_annotations(api_errors_t *errs, const char *field, json_t *annotations);
/* metadata on create, after name generation: name (required) and generateName
 * by rule; namespace required and a DNS label when namespaced; labels,
 * annotations, finalizers. field is normally "metadata". */
void api_validate_object_meta(api_errors_t *errs, const char *field, json_t *meta,
                              api_name_rule_t rule, bool namespaced);
/* base (cut to 58 characters) + 5 random characters from Kubernetes' alphabet
 * [bcdfghjklmnpqrstvwxz2456789], as the API server does for generateName. */
char *api_generate_name(const char *base);

/* ---- resource quantities (quantity.c) ---------------------------------- */

typedef enum api_qty_format {
  API_QTY_DECIMAL_SI,       /* "100m", "1", "1k", "1G" */
  API_QTY_BINARY_SI,        /* "64Mi", "1Gi" */
  API_QTY_DECIMAL_EXPONENT, /* "1e3" */
} api_qty_format_t;

/* An exact quantity: units + nanos·10⁻⁹, nanos with the sign of units,
 * |nanos| < 10⁹. Like Kubernetes, values are rounded up (away from zero) to
 * nano precision; unlike it, values beyond ±(2⁶³−1) are refused, not capped. */
typedef struct api_quantity {
  int64_t units;
  int32_t nanos;
  api_qty_format_t format; /* the suffix family it was written in, for printing */
} api_quantity_t;

/* Kubernetes' grammar: [+-] digits[.digits] then one of Ki Mi Gi Ti Pi Ei,
 * n u m "" k M G T P E, or e<int>/E<int>. Errors are Kubernetes' bare
 * messages ("quantities must match the regular expression …"); callers add the
 * field and value. */
int api_quantity_parse(const char *s, api_quantity_t *q, berr_t *err);
/* A JSON string or number (YAML "cpu: 1" arrives as a number). */
int api_quantity_from_json(json_t *v, api_quantity_t *q, berr_t *err);
/* Parses v and adds "field: Invalid value: …" to errs when it is bad. */
bool api_validate_quantity(api_errors_t *errs, const char *field, json_t *v, api_quantity_t *q);
/* Canonical form as Kubernetes prints it: "1500m" for 1.5, "1536Mi" for 1.5Gi. */
char *api_quantity_format(const api_quantity_t *q);
/* <0, 0, >0 by value; the format is ignored. */
int api_quantity_cmp(const api_quantity_t *a, const api_quantity_t *b);
bool api_quantity_is_zero(const api_quantity_t *q);
/* Whole units (bytes, cores) rounded up away from zero; saturates at INT64. */
int64_t api_quantity_value(const api_quantity_t *q);
/* Milli-units (millicores) rounded up away from zero; saturates at INT64. */
int64_t api_quantity_milli(const api_quantity_t *q);
api_quantity_t api_quantity_from_int(int64_t value, api_qty_format_t format);
api_quantity_t api_quantity_from_milli(int64_t milli, api_qty_format_t format);
/* *sum += q; -1 (sum unchanged) when the result would leave the range. */
int api_quantity_add(api_quantity_t *sum, const api_quantity_t *q, berr_t *err);
int api_quantity_sub(api_quantity_t *diff, const api_quantity_t *q, berr_t *err);

/* ---- label selectors (labels.c) ---------------------------------------- */

typedef enum api_sel_op {
  API_SEL_EQUALS,         /* a=b, a==b, matchLabels */
  API_SEL_NOT_EQUALS,     /* a!=b */
  API_SEL_IN,             /* a in (x,y) */
  API_SEL_NOT_IN,         /* a notin (x,y): also true when a is missing */
  API_SEL_EXISTS,         /* a */
  API_SEL_DOES_NOT_EXIST, /* !a */
  API_SEL_GT,             /* a>5 */
  API_SEL_LT,             /* a<5 */
} api_sel_op_t;

typedef struct api_label_req {
  char *key;
  api_sel_op_t op;
  char **values; /* sorted, no duplicates; NULL-terminated */
} api_label_req_t;

/* Requirements ANDed, sorted by key. No requirement matches everything;
 * nothing == true matches nothing (a null structured selector). */
typedef struct api_label_selector {
  api_label_req_t *reqs;
  size_t n;
  bool nothing;
} api_label_selector_t;

/* The string form: "a=b,c!=d,e in (x,y),f notin (z),g,!h". s is URL-decoded. */
int api_label_selector_parse(const char *s, api_label_selector_t **out, berr_t *err);
/* metav1.LabelSelector {matchLabels, matchExpressions}; JSON null or NULL
 * selects nothing, {} everything. */
int api_label_selector_from_json(json_t *sel, api_label_selector_t **out, berr_t *err);
/* labels: a JSON object of strings, or NULL for none. */
bool api_label_selector_matches(const api_label_selector_t *sel, json_t *labels);
bool api_label_selector_is_everything(const api_label_selector_t *sel);
/* Canonical string form ("app=web,tier in (a,b)"), as in Scale status.selector. */
char *api_label_selector_string(const api_label_selector_t *sel);
void api_label_selector_free(api_label_selector_t *sel);
/* metav1.LabelSelector validation (Kubernetes' ValidateLabelSelector):
 * an object; matchLabels valid labels; each matchExpressions entry with a
 * valid key, a known operator, values for In/NotIn and none for
 * Exists/DoesNotExist. field is the selector's path ("spec.selector"); NULL
 * or JSON null is no error. */
void api_validate_label_selector(api_errors_t *errs, const char *field, json_t *sel);

/* ---- field selectors (fields.c) ---------------------------------------- */

typedef struct api_field_req {
  char *field;         /* the label as written: "spec.nodeName" */
  char *path;          /* where it lives in the object: "spec.nodeName", "source.component" */
  bool negate;         /* != */
  char *value;         /* unescaped */
  const char *missing; /* what an absent field reads as (static); NULL: "" */
} api_field_req_t;

typedef struct api_field_selector {
  api_field_req_t *reqs;
  size_t n;
} api_field_selector_t;

/* "metadata.name=x,spec.nodeName!=n"; operators =, ==, !=; values may escape
 * \, \= \\. kind ("Pod", "Event"…) limits the fields to those Kubernetes
 * supports for it (a field it does not know is an error the server turns into
 * 400); kind NULL accepts any field path. */
int api_field_selector_parse(const char *s, const char *kind, api_field_selector_t **out,
                             berr_t *err);
/* Missing fields compare as ""; booleans as "true"/"false"; integers in decimal. */
bool api_field_selector_matches(const api_field_selector_t *sel, json_t *obj);
/* The value of an "=" term for field, or NULL: lets the server use an index. */
const char *api_field_selector_equals(const api_field_selector_t *sel, const char *field);
void api_field_selector_free(api_field_selector_t *sel);

/* ---- patches (patch.c, smp.c) ------------------------------------------ */

/* Each returns a new value and leaves doc and patch untouched; NULL on error. */

/* RFC 7386 JSON merge patch (application/merge-patch+json). Cannot fail. */
json_t *api_patch_merge(json_t *doc, json_t *patch);
/* RFC 6902 JSON patch (application/json-patch+json): all or nothing. Errors
 * name the operation and path. */
json_t *api_patch_json(json_t *doc, json_t *ops, berr_t *err);
/* Strategic merge patch (application/strategic-merge-patch+json) as kubectl
 * apply sends it: maps merge, null deletes, lists with a declared merge key
 * (the table in smp.c, by kind and path) merge by it, other lists replace;
 * directives $patch (delete, replace, merge), $retainKeys,
 * $setElementOrder/<list>, $deleteFromPrimitiveList/<list>. kind may be NULL:
 * then only the rows that apply to every kind (metadata, pod templates) are
 * used. */
json_t *api_patch_strategic(json_t *doc, json_t *patch, const char *kind, berr_t *err);
/* The merge key declared for a list at path ("spec.template.spec.containers")
 * of kind: "name"; "" for a list of scalars merged as a set; NULL: replace. */
const char *api_smp_merge_key(const char *kind, const char *path);

/* Resolves an RFC 6901 JSON pointer; NULL when absent. Borrowed reference. */
json_t *api_json_pointer_get(json_t *doc, const char *pointer);

/* ---- protobuf bodies (pb.c, pb_schema.c) -------------------------------- */

/* Decodes a Kubernetes protobuf body ("k8s\0" + runtime.Unknown) into the
 * object's JSON form, with apiVersion and kind from the envelope. Kinds:
 * Namespace, ConfigMap, Secret, Service, apps/v1 Deployment, batch/v1 Job and
 * CronJob, scheduling.k8s.io/v1 PriorityClass, policy/v1 PodDisruptionBudget and
 * Eviction (the ones kubectl create and drain send; see pb_schema.c for what
 * each covers). A kind
 * berth has no schema for is an error with code ENOTSUP (the server answers
 * 415); malformed input is an error with code EINVAL (400). buf is untrusted. */
json_t *api_pb_decode(const void *buf, size_t len, berr_t *err);
/* Decodes the raw message of one kind (no envelope). */
json_t *api_pb_decode_object(const char *api_version, const char *kind, const void *raw, size_t len,
                             berr_t *err);
/* Standard base64 with padding, as Go's encoding/json writes []byte. */
char *api_base64_encode(const unsigned char *data, size_t len);
/* The length of the bytes base64 text s decodes to, or -1 with *bad the
 * offset of the first illegal byte (Go's "illegal base64 data at input byte N"). */
ssize_t api_base64_decoded_len(const char *s, size_t *bad);
/* True when api_pb_decode_object knows apiVersion/kind. */
bool api_pb_supports(const char *api_version, const char *kind);

/* ---- pods (pod.c) -------------------------------------------------------- */

/* status.qosClass for a pod spec, as Kubernetes computes it: Guaranteed
 * (every container has cpu and memory limits equal to its requests),
 * BestEffort (none has any), else Burstable. */
const char *api_pod_qos_class(json_t *spec);

/* ---- cron schedules (cron.c) ------------------------------------------- */

/* Bit 63 of a field of api_cron_t: the field was "*" or "?" (without a step
 * above 1), which changes how the two day fields combine. */
#define API_CRON_STAR (1ULL << 63)

/* A CronJob schedule: one bit per allowed value of each field — minute bits
 * 0-59, hour 0-23, dom 1-31, month 1-12, dow 0-6 (Sunday 0) — plus
 * API_CRON_STAR; or an @every interval. When it fires, in a time zone, is
 * ctrl_cron_next's (src/ctrl/cron.c). */
typedef struct api_cron {
  uint64_t minute, hour, dom, month, dow;
  int64_t every_s; /* "@every 1h30m": >= 1 (as robfig's Every) and the fields unused */
} api_cron_t;

/* Kubernetes' schedule syntax (robfig/cron ParseStandard): five fields
 * (minute hour day-of-month month day-of-week) of "*", "?", N, N-M, with
 * "/STEP", comma lists, month and weekday names; or @yearly, @annually,
 * @monthly, @weekly, @daily, @midnight, @hourly, @every DURATION. A TZ= or
 * CRON_TZ= prefix is skipped (the zone is the caller's to refuse). Errors
 * are robfig's: "expected exactly 5 fields, found 1: [bad]", "end of range
 * (60) above maximum (59): 60"… */
int api_cron_parse(const char *spec, api_cron_t *out, berr_t *err);

/* ---- YAML (yaml.c, libyaml) -------------------------------------------- */

/* Parses a YAML stream of one or more documents ("---" separated) into a
 * JSON array of their values, in order; empty and null documents are
 * skipped. Scalars follow what Kubernetes' YAML decoder gives: unquoted
 * null/~/empty → null, true/false (any case) → boolean, decimal/0x/0o
 * integers → integer, decimals and .inf/.nan → real, anything else (and
 * every quoted or block scalar) → string. Anchors and aliases are resolved;
 * merge keys (<<) are refused; a mapping key must be a scalar; a duplicate
 * key is an error. Errors name the line and column:
 * "yaml: line 3, column 5: mapping values are not allowed in this context". */
json_t *api_yaml_load_all(const char *text, size_t len, berr_t *err);
/* The YAML text of v as kubectl -o yaml prints it: two-space indents,
 * sequence items ("- ") at their parent key's indent, keys in the object's
 * order, strings quoted only when plain YAML would read them as something
 * else, multi-line strings as literal blocks ("|", "|-"). */
char *api_yaml_dump(json_t *v);

/* ---- known fields (schema.c) ------------------------------------------- */

/* The paths of fields in obj that kind's schema (apiVersion/kind, the
 * Kubernetes type, its nested types, ObjectMeta) does not know, as
 * Kubernetes' strict decoding names them: "spec.containers[0].bogus",
 * "metadata.labelz". Map-valued fields (labels, data, nodeSelector…) take
 * any key. NULL when all are known or kind has no schema; else a
 * NULL-terminated vector (strv_free). */
char **api_unknown_fields(const char *api_version, const char *kind, json_t *obj);
/* True when berth has a schema for the kind (api_unknown_fields can judge). */
bool api_schema_known(const char *api_version, const char *kind);

#endif
