/* resources.c — the kinds berth serves, one row of kinds[] each (plural,
 * kind, scope, shortNames, verbs, Table columns, validation hook, field
 * selector fields), under /api/v1 and /apis/GROUP/VERSION, and their verbs:
 * create, get, list, update, patch, delete (watch is watch.c). Objects are
 * stored as compact JSON under /registry/<resource>/[<ns>/]<name> without
 * metadata.resourceVersion: the store's mod_rev is the resourceVersion and
 * is put back on every read, so the two can never disagree. */
#include "api/api.h"
#include "server/internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static json_t *str_own(char *s);

/* ---- Table cells --------------------------------------------------------- */

static json_t *cell_str(const char *s)
{
  return json_string(s ? s : "");
}

/* The age since an RFC 3339 time, "<unknown>" without one. */
static json_t *cell_age_of(const char *ts, int64_t now)
{
  int64_t t;
  if (!ts || time_parse_rfc3339(ts, &t) < 0)
    return json_string("<unknown>");
  return str_own(srv_human_age(now - t));
}

static json_t *cell_age(json_t *o, int64_t now)
{
  return cell_age_of(json_str(json_object_get(o, "metadata"), "creationTimestamp"), now);
}

static json_t *cell_ns_status(json_t *o, int64_t now)
{
  (void)now;
  const char *ph = json_str(json_object_get(o, "status"), "phase");
  return cell_str(ph ? ph : "Active");
}

static json_t *cell_data_count(json_t *o, int64_t now)
{
  (void)now;
  json_t *d = json_object_get(o, "data"), *b = json_object_get(o, "binaryData");
  return json_integer((json_int_t)(json_object_size(d) + json_object_size(b)));
}

static json_t *cell_secret_type(json_t *o, int64_t now)
{
  (void)now;
  return cell_str(json_str(o, "type"));
}

/* An event was last seen at lastTimestamp, else eventTime, else its creation. */
static json_t *cell_event_last_seen(json_t *o, int64_t now)
{
  const char *ts = json_str(o, "lastTimestamp");
  if (!ts || !*ts)
    ts = json_str(o, "eventTime");
  if (!ts || !*ts)
    ts = json_str(json_object_get(o, "metadata"), "creationTimestamp");
  return cell_age_of(ts, now);
}

static json_t *cell_event_type(json_t *o, int64_t now)
{
  (void)now;
  return cell_str(json_str(o, "type"));
}

static json_t *cell_event_reason(json_t *o, int64_t now)
{
  (void)now;
  return cell_str(json_str(o, "reason"));
}

/* "pod/web", as kubectl prints the involved object. */
static json_t *cell_event_object(json_t *o, int64_t now)
{
  (void)now;
  json_t *io = json_object_get(o, "involvedObject");
  const char *kind = json_str(io, "kind"), *name = json_str(io, "name");
  char *s = xasprintf("%s/%s", kind ? kind : "", name ? name : "");
  for (char *p = s; *p && *p != '/'; p++)
    *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
  return str_own(s);
}

static json_t *cell_event_message(json_t *o, int64_t now)
{
  (void)now;
  return cell_str(json_str(o, "message"));
}

static json_t *cell_lease_holder(json_t *o, int64_t now)
{
  (void)now;
  return cell_str(json_str(json_object_get(o, "spec"), "holderIdentity"));
}

static json_t *cell_name(json_t *o, int64_t now)
{
  (void)now;
  return cell_str(json_str(json_object_get(o, "metadata"), "name"));
}

#define COL(n, d, fn)                                                                              \
  {                                                                                                \
    n, "string", "", d, 0, fn                                                                      \
  }
#define NAME_COL                                                                                   \
  {                                                                                                \
    "Name", "string", "name", "Name of the object", 0, cell_name                                   \
  }
#define AGE_COL COL("Age", "Time since creation", cell_age)
static const srv_column_t cols_configmap[] = { NAME_COL, AGE_COL };
static const srv_column_t cols_namespace[] = {
  NAME_COL,
  COL("Status", "The status of the namespace", cell_ns_status),
  AGE_COL,
};
static const srv_column_t cols_secret[] = {
  NAME_COL,
  COL("Type", "The type of the secret", cell_secret_type),
  { "Data", "integer", "", "Number of keys", 0, cell_data_count },
  AGE_COL,
};
/* kubectl get events: LAST SEEN TYPE REASON OBJECT MESSAGE (NAME with -o wide). */
static const srv_column_t cols_event[] = {
  COL("Last Seen", "Time since the event was last seen", cell_event_last_seen),
  COL("Type", "The type of the event (Normal, Warning)", cell_event_type),
  COL("Reason", "Why the event happened", cell_event_reason),
  COL("Object", "The object the event is about", cell_event_object),
  COL("Message", "A human-readable description", cell_event_message),
  { "Name", "string", "name", "Name of the object", 1, cell_name },
};
static const srv_column_t cols_lease[] = {
  NAME_COL,
  COL("Holder", "The holder of the lease", cell_lease_holder),
  AGE_COL,
};
#undef AGE_COL
#undef NAME_COL
#undef COL

/* ---- validation hooks ------------------------------------------------------ */

#define CONFIG_KEY_MSG                                                                             \
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "             \
  "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
#define MAX_SECRET_SIZE (1024 * 1024)

/* Checks that field f is a map of config keys to strings; returns it. */
static json_t *check_key_map(json_t *o, const char *f, api_errors_t *errs)
{
  json_t *d = json_object_get(o, f), *v;
  const char *key;
  if (d && !json_is_object(d)) {
    api_errors_add(errs, API_FERR_INVALID, f, NULL, "must be an object");
    return NULL;
  }
  json_object_foreach(d, key, v)
  {
    cleanup_free char *path = xasprintf("%s[%s]", f, key);
    if (!api_is_config_map_key(key, NULL))
      api_errors_add_str(errs, API_FERR_INVALID, path, key, CONFIG_KEY_MSG);
    if (!json_is_string(v))
      api_errors_add(errs, API_FERR_INVALID, path, NULL, "must be a string");
  }
  return d;
}

static void validate_configmap(json_t *o, api_errors_t *errs)
{
  check_key_map(o, "data", errs);
  check_key_map(o, "binaryData", errs);
}

static void validate_namespace(json_t *o, api_errors_t *errs)
{
  (void)errs;
  json_object_set_new(o, "spec", json_pack("{s:[s]}", "finalizers", "kubernetes"));
  json_object_set_new(o, "status", json_pack("{s:s}", "phase", "Active"));
}

/* The keys each well-known secret type requires (Kubernetes' ValidateSecret). */
static const struct {
  const char *type, *keys[2];
} secret_types[] = {
  { "kubernetes.io/dockercfg", { ".dockercfg" } },
  { "kubernetes.io/dockerconfigjson", { ".dockerconfigjson" } },
  { "kubernetes.io/ssh-auth", { "ssh-privatekey" } },
  { "kubernetes.io/tls", { "tls.crt", "tls.key" } },
};

/* stringData is write-only: merged into data (base64) and dropped. type
 * defaults to Opaque; data values must be base64. */
static void validate_secret(json_t *o, api_errors_t *errs)
{
  json_t *sd = check_key_map(o, "stringData", errs);
  json_t *d = json_object_get(o, "data"), *v;
  const char *key;
  if (d && !json_is_object(d)) {
    api_errors_add(errs, API_FERR_INVALID, "data", NULL, "must be an object");
    return;
  }
  if (json_object_size(sd) > 0 && !d) {
    d = json_object();
    json_object_set_new(o, "data", d);
  }
  json_object_foreach(sd, key, v)
  {
    if (json_is_string(v))
      json_object_set_new(d, key,
                          str_own(api_base64_encode((const unsigned char *)json_string_value(v),
                                                    json_string_length(v))));
  }
  json_object_del(o, "stringData");
  size_t total = 0;
  json_object_foreach(d, key, v)
  {
    cleanup_free char *path = xasprintf("data[%s]", key);
    if (!api_is_config_map_key(key, NULL))
      api_errors_add_str(errs, API_FERR_INVALID, path, key, CONFIG_KEY_MSG);
    if (!json_is_string(v)) {
      api_errors_add(errs, API_FERR_INVALID, path, NULL, "must be a base64-encoded string");
      continue;
    }
    size_t bad;
    ssize_t n = api_base64_decoded_len(json_string_value(v), &bad);
    if (n < 0)
      api_errors_add_str(errs, API_FERR_INVALID, path, json_string_value(v),
                         "illegal base64 data at input byte %zu", bad);
    else
      total += (size_t)n + strlen(key);
  }
  if (total > MAX_SECRET_SIZE)
    api_errors_add(errs, API_FERR_TOO_LONG, "data", NULL, "must have at most %d bytes",
                   MAX_SECRET_SIZE);
  json_t *t = json_object_get(o, "type");
  if (t && !json_is_string(t)) {
    api_errors_add(errs, API_FERR_INVALID, "type", NULL, "must be a string");
    return;
  }
  if (!t || !*json_string_value(t))
    json_object_set_new(o, "type", json_string("Opaque"));
  const char *type = json_str(o, "type");
  for (size_t i = 0; i < ARRAY_SIZE(secret_types); i++) {
    if (strcmp(secret_types[i].type, type))
      continue;
    for (size_t j = 0; j < 2 && secret_types[i].keys[j]; j++)
      if (!json_object_get(d, secret_types[i].keys[j])) {
        cleanup_free char *path = xasprintf("data[%s]", secret_types[i].keys[j]);
        api_errors_add(errs, API_FERR_REQUIRED, path, NULL, "%s", "");
      }
  }
  if (!strcmp(type, "kubernetes.io/service-account-token")
      && !json_str(json_object_get(json_object_get(o, "metadata"), "annotations"),
                   "kubernetes.io/service-account.name"))
    api_errors_add(errs, API_FERR_REQUIRED,
                   "metadata.annotations[kubernetes.io/service-account.name]", NULL, "%s", "");
}

/* core/v1 Event, as Kubernetes validates events without a reportingController. */
static void validate_event(json_t *o, api_errors_t *errs)
{
  json_t *io = json_object_get(o, "involvedObject");
  if (io && !json_is_object(io)) {
    api_errors_add(errs, API_FERR_INVALID, "involvedObject", NULL, "must be an object");
    return;
  }
  const char *ions = json_str(io, "namespace");
  const char *ns = json_str(json_object_get(o, "metadata"), "namespace");
  if (ions && *ions && ns && strcmp(ions, ns))
    api_errors_add_str(errs, API_FERR_INVALID, "involvedObject.namespace", ions,
                       "does not match event.namespace");
  const char *str_fields[] = { "reason", "message", "type" };
  for (size_t i = 0; i < ARRAY_SIZE(str_fields); i++) {
    json_t *v = json_object_get(o, str_fields[i]);
    if (v && !json_is_string(v))
      api_errors_add(errs, API_FERR_INVALID, str_fields[i], NULL, "must be a string");
  }
}

/* coordination.k8s.io/v1 Lease (Kubernetes' ValidateLeaseSpec). */
static void validate_lease(json_t *o, api_errors_t *errs)
{
  json_t *spec = json_object_get(o, "spec");
  if (spec && !json_is_object(spec)) {
    api_errors_add(errs, API_FERR_INVALID, "spec", NULL, "must be an object");
    return;
  }
  json_t *v = json_object_get(spec, "leaseDurationSeconds");
  if (v && (!json_is_integer(v) || json_integer_value(v) <= 0))
    api_errors_add(errs, API_FERR_INVALID, "spec.leaseDurationSeconds", v,
                   "must be greater than 0");
  v = json_object_get(spec, "leaseTransitions");
  if (v && (!json_is_integer(v) || json_integer_value(v) < 0))
    api_errors_add(errs, API_FERR_INVALID, "spec.leaseTransitions", v,
                   "must be greater than or equal to 0");
  v = json_object_get(spec, "holderIdentity");
  if (v && !json_is_string(v) && !json_is_null(v))
    api_errors_add(errs, API_FERR_INVALID, "spec.holderIdentity", NULL, "must be a string");
}

/* ---- the kinds ---------------------------------------------------------- */

#define VERBS                                                                                      \
  {                                                                                                \
    "create", "delete", "get", "list", "patch", "update", "watch", NULL                            \
  }
#define COLS(c) c, ARRAY_SIZE(c)
static const srv_kind_t kinds[] = {
  { "",
    "v1",
    "namespaces",
    "namespace",
    "Namespace",
    false,
    { "ns" },
    VERBS,
    COLS(cols_namespace),
    validate_namespace,
    { "status.phase" } },
  { "",
    "v1",
    "configmaps",
    "configmap",
    "ConfigMap",
    true,
    { "cm" },
    VERBS,
    COLS(cols_configmap),
    validate_configmap,
    { NULL } },
  { "",
    "v1",
    "secrets",
    "secret",
    "Secret",
    true,
    { NULL },
    VERBS,
    COLS(cols_secret),
    validate_secret,
    { "type" } },
  { "",
    "v1",
    "events",
    "event",
    "Event",
    true,
    { "ev" },
    VERBS,
    COLS(cols_event),
    validate_event,
    { "involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
      "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
      "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type" } },
  { "coordination.k8s.io",
    "coordination.k8s.io/v1",
    "leases",
    "lease",
    "Lease",
    true,
    { NULL },
    VERBS,
    COLS(cols_lease),
    validate_lease,
    { NULL } },
};
#undef COLS
#undef VERBS

const srv_kind_t *srv_kind_find(const char *group, const char *resource)
{
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
    if (!strcmp(kinds[i].group, group) && !strcmp(kinds[i].resource, resource))
      return &kinds[i];
  return NULL;
}

static json_t *str_array(const char *const *v, size_t max)
{
  json_t *a = json_array();
  for (size_t i = 0; i < max && v[i]; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

bool srv_handle_discovery(srv_req_t *q, srv_resp_t *r, const char *group_version)
{
  (void)q;
  json_t *res = json_array();
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
    const srv_kind_t *k = &kinds[i];
    if (strcmp(k->api_version, group_version))
      continue;
    json_t *e = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", k->resource, "singularName",
                          k->singular, "namespaced", k->namespaced, "kind", k->kind, "verbs",
                          str_array(k->verbs, ARRAY_SIZE(k->verbs)));
    if (k->short_names[0])
      json_object_set_new(e, "shortNames", str_array(k->short_names, ARRAY_SIZE(k->short_names)));
    json_array_append_new(res, e);
  }
  if (json_array_size(res) == 0) {
    json_decref(res);
    return false;
  }
  srv_resp_json(r, 200,
                json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1",
                          "groupVersion", group_version, "resources", res));
  return true;
}

void srv_handle_api_groups(srv_req_t *q, srv_resp_t *r)
{
  (void)q;
  json_t *groups = json_array();
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
    const srv_kind_t *k = &kinds[i];
    bool seen = !*k->group;
    for (size_t j = 0; j < i && !seen; j++)
      seen = !strcmp(kinds[j].group, k->group);
    if (seen)
      continue;
    const char *version = strchr(k->api_version, '/') + 1;
    json_array_append_new(groups, json_pack("{s:s, s:[{s:s, s:s}], s:{s:s, s:s}}", "name", k->group,
                                            "versions", "groupVersion", k->api_version, "version",
                                            version, "preferredVersion", "groupVersion",
                                            k->api_version, "version", version));
  }
  srv_resp_json(
      r, 200,
      json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups", groups));
}

static char *obj_key(const srv_kind_t *k, const char *ns, const char *name)
{
  if (k->namespaced && !ns)
    return xasprintf("/registry/%s/", k->resource);
  if (k->namespaced)
    return xasprintf("/registry/%s/%s/%s", k->resource, ns, name ? name : "");
  return xasprintf("/registry/%s/%s", k->resource, name ? name : "");
}

/* Like json_string but takes ownership of a heap string. */
static json_t *str_own(char *s)
{
  json_t *j = json_string(s);
  free(s);
  return j;
}

static void rv_set(json_t *o, int64_t rev)
{
  json_t *meta = json_object_get(o, "metadata");
  if (json_is_object(meta))
    json_object_set_new(meta, "resourceVersion", str_own(xasprintf("%" PRId64, rev)));
}

json_t *srv_obj_load(const char *value, size_t len, int64_t rev)
{
  json_t *o = json_loadb(value, len, 0, NULL);
  if (!o)
    return json_object();
  rv_set(o, rev);
  return o;
}

static char *uuid4(void)
{
  unsigned char b[16];
  if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
    abort();
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                   b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                   b[14], b[15]);
}

/* The store's error as a Status. */
static void store_error(srv_resp_t *r, const srv_kind_t *k, const char *name, berr_t *err)
{
  const char *res = k->resource;
  switch (err->code) {
  case ENOENT:
    srv_resp_status(r, 404, "NotFound", res, name, "%s \"%s\" not found", res, name);
    break;
  case EEXIST:
    srv_resp_status(r, 409, "AlreadyExists", res, name, "%s \"%s\" already exists", res, name);
    break;
  case STORE_ECONFLICT:
    srv_resp_status(r, 409, "Conflict", res, name,
                    "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
                    "please apply your changes to the latest version and try again",
                    res, name);
    break;
  case STORE_EEXPIRED:
    srv_resp_status(r, 410, "Expired", NULL, NULL, "%s", err->msg);
    break;
  case EINVAL:
    srv_resp_status(r, 400, "BadRequest", NULL, NULL, "%s", err->msg);
    break;
  case ESHUTDOWN:
    srv_resp_status(r, 503, "ServiceUnavailable", NULL, NULL, "%s", err->msg);
    break;
  default:
    srv_resp_status(r, 500, "InternalError", NULL, NULL, "%s", err->msg ? err->msg : "error");
  }
  berr_clear(err);
}

/* 422 Invalid: "ConfigMap \"Bad\" is invalid: metadata.name: …". */
static void invalid(srv_resp_t *r, const srv_kind_t *k, const char *name, api_errors_t *errs)
{
  cleanup_free char *msg = api_errors_string(errs);
  json_t *st = srv_status_json(422, "Invalid", "");
  json_object_set_new(
      st, "message",
      str_own(xasprintf("%s \"%s\" is invalid: %s", k->kind, name ? name : "", msg)));
  json_object_set_new(st, "details",
                      json_pack("{s:s, s:s, s:o}", "name", name ? name : "", "kind", k->resource,
                                "causes", api_errors_causes(errs)));
  srv_resp_json(r, 422, st);
}

/* Decodes a request body: protobuf or JSON (no Content-Type is JSON). */
static json_t *decode_body(srv_req_t *q, srv_resp_t *r)
{
  berr_t err = BERR_INIT;
  json_t *o;
  if (q->content_type && str_has_prefix(q->content_type, "application/vnd.kubernetes.protobuf")) {
    o = api_pb_decode(q->body, q->body_len, &err);
    if (!o) {
      int code = err.code == ENOTSUP ? 415 : 400;
      srv_resp_status(r, code, code == 415 ? "UnsupportedMediaType" : "BadRequest", NULL, NULL,
                      "%s", err.msg);
      berr_clear(&err);
      return NULL;
    }
  } else {
    json_error_t je;
    o = json_loadb(q->body, q->body_len, 0, &je);
    if (!o) {
      srv_resp_status(r, 400, "BadRequest", NULL, NULL, "the body is not valid JSON: %s", je.text);
      return NULL;
    }
  }
  if (!json_is_object(o)) {
    json_decref(o);
    srv_resp_status(r, 400, "BadRequest", NULL, NULL, "the body must be a JSON object");
    return NULL;
  }
  return o;
}

/* Checks and completes apiVersion, kind and the namespace of a written
 * object; returns its metadata (borrowed) or NULL with r filled. */
static json_t *prepare(json_t *o, const srv_kind_t *k, const char *ns, srv_resp_t *r)
{
  const char *av = json_str(o, "apiVersion"), *kind = json_str(o, "kind");
  if ((av && strcmp(av, k->api_version)) || (kind && strcmp(kind, k->kind))) {
    srv_resp_status(r, 400, "BadRequest", NULL, NULL, "the body is %s %s, not %s %s", av ? av : "",
                    kind ? kind : "", k->api_version, k->kind);
    return NULL;
  }
  json_object_set_new(o, "apiVersion", json_string(k->api_version));
  json_object_set_new(o, "kind", json_string(k->kind));
  json_t *meta = json_object_get(o, "metadata");
  if (!json_is_object(meta)) {
    meta = json_object();
    json_object_set_new(o, "metadata", meta);
  }
  json_object_del(meta, "resourceVersion");
  if (k->namespaced) {
    const char *mns = json_str(meta, "namespace");
    if (mns && *mns && strcmp(mns, ns)) {
      srv_resp_status(r, 400, "BadRequest", NULL, NULL,
                      "the namespace of the provided object does not match the namespace sent "
                      "on the request");
      return NULL;
    }
    json_object_set_new(meta, "namespace", json_string(ns));
  } else {
    json_object_del(meta, "namespace");
  }
  return meta;
}

/* Metadata validation, then the kind's own. */
static void validate(const srv_kind_t *k, json_t *o, api_errors_t *errs)
{
  api_name_rule_t rule = k->namespaced ? API_NAME_DNS_SUBDOMAIN : API_NAME_DNS_LABEL;
  api_validate_object_meta(errs, "metadata", json_object_get(o, "metadata"), rule, k->namespaced);
  if (k->validate)
    k->validate(o, errs);
}

/* Writes o (create when cur_rev < 0, else update expecting cur_rev). */
static void write_obj(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns, json_t *o,
                      int64_t expect_rev, bool create)
{
  json_t *meta = json_object_get(o, "metadata");
  const char *name = json_str(meta, "name");
  cleanup_free char *data = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  cleanup_free char *key = obj_key(k, ns, name);
  berr_t err = BERR_INIT;
  int64_t rev = 0;
  int rc = create ? store_create(q->srv->store, key, data, strlen(data), &rev, &err)
                  : store_update(q->srv->store, key, data, strlen(data), expect_rev, &rev, &err);
  if (rc < 0)
    return store_error(r, k, name, &err);
  rv_set(o, rev);
  srv_resp_json(r, create ? 201 : 200, json_incref(o));
}

static bool ns_exists(srv_t *s, const char *ns, srv_resp_t *r)
{
  cleanup_free char *key = xasprintf("/registry/namespaces/%s", ns);
  store_kv_t kv = { 0 };
  berr_t err = BERR_INIT;
  if (store_get(s->store, key, &kv, NULL, &err) == 0) {
    store_kv_free(&kv);
    return true;
  }
  store_error(r, srv_kind_find("", "namespaces"), ns, &err);
  return false;
}

static void do_create(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns)
{
  cleanup_json json_t *o = decode_body(q, r);
  json_t *meta = o ? prepare(o, k, ns, r) : NULL;
  if (!meta)
    return;
  const char *gen = json_str(meta, "generateName");
  if (!json_str(meta, "name") && gen && *gen)
    json_object_set_new(meta, "name", str_own(api_generate_name(gen)));
  json_object_set_new(meta, "uid", str_own(uuid4()));
  json_object_set_new(meta, "creationTimestamp", str_own(srv_time_rfc3339(time_now_ns())));
  api_errors_t errs = API_ERRORS_INIT;
  validate(k, o, &errs);
  if (errs.n > 0) {
    invalid(r, k, json_str(meta, "name"), &errs);
    api_errors_free(&errs);
    return;
  }
  if (k->namespaced && !ns_exists(q->srv, ns, r))
    return;
  write_obj(q, r, k, ns, o, 0, true);
}

static int get_obj(srv_t *s, const srv_kind_t *k, const char *ns, const char *name, json_t **out,
                   int64_t *rev, srv_resp_t *r)
{
  cleanup_free char *key = obj_key(k, ns, name);
  store_kv_t kv = { 0 };
  berr_t err = BERR_INIT;
  if (store_get(s->store, key, &kv, NULL, &err) < 0) {
    store_error(r, k, name, &err);
    return -1;
  }
  *out = srv_obj_load(kv.value, kv.len, kv.mod_rev);
  *rev = kv.mod_rev;
  store_kv_free(&kv);
  return 0;
}

/* Fields a write may not change: kept from the stored object. */
static void keep_immutable(json_t *o, json_t *cur)
{
  json_t *m = json_object_get(o, "metadata"), *cm = json_object_get(cur, "metadata");
  const char *keep[] = { "uid", "creationTimestamp", "name", "namespace" };
  for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
    json_t *v = json_object_get(cm, keep[i]);
    if (v)
      json_object_set(m, keep[i], v);
    else
      json_object_del(m, keep[i]);
  }
}

static void do_update(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                      const char *name)
{
  cleanup_json json_t *o = decode_body(q, r);
  if (!o)
    return;
  json_t *m = json_object_get(o, "metadata");
  const char *rvs = json_str(m, "resourceVersion"), *bname = json_str(m, "name");
  int64_t expect = 0;
  if (rvs && *rvs && (parse_int64(rvs, &expect, NULL) < 0 || expect < 1))
    return srv_resp_status(r, 400, "BadRequest", NULL, NULL, "invalid resourceVersion \"%s\"", rvs);
  if (bname && strcmp(bname, name))
    return srv_resp_status(r, 400, "BadRequest", NULL, NULL,
                           "the name of the object (%s) does not match the name on the URL (%s)",
                           bname, name);
  if (!prepare(o, k, ns, r))
    return;
  cleanup_json json_t *cur = NULL;
  int64_t cur_rev;
  if (get_obj(q->srv, k, ns, name, &cur, &cur_rev, r) < 0)
    return;
  keep_immutable(o, cur);
  api_errors_t errs = API_ERRORS_INIT;
  validate(k, o, &errs);
  if (errs.n > 0) {
    invalid(r, k, name, &errs);
    api_errors_free(&errs);
    return;
  }
  write_obj(q, r, k, ns, o, expect ? expect : cur_rev, false);
}

typedef struct patch_arg {
  srv_req_t *q;
  const srv_kind_t *k;
  json_t *patch;
  int type; /* 0 merge, 1 strategic, 2 json */
  srv_resp_t *r;
  json_t *result;
} patch_arg_t;

static int patch_fn(void *arg, const store_kv_t *cur, char **out, size_t *out_len, berr_t *err)
{
  patch_arg_t *a = arg;
  cleanup_json json_t *doc = json_loadb(cur->value, cur->len, 0, NULL);
  if (!doc)
    return berr_setc(err, EIO, "stored object is not JSON");
  json_t *res;
  if (a->type == 0)
    res = api_patch_merge(doc, a->patch);
  else if (a->type == 1)
    res = api_patch_strategic(doc, a->patch, a->k->kind, err);
  else
    res = api_patch_json(doc, a->patch, err);
  if (!res) {
    err->code = EINVAL; /* a patch that does not apply: the client's fault */
    return -1;
  }
  json_decref(a->result);
  a->result = res;
  if (!json_is_object(res) || !json_is_object(json_object_get(res, "metadata")))
    return berr_setc(err, EINVAL, "the patch leaves no object metadata");
  json_object_set_new(res, "apiVersion", json_string(a->k->api_version));
  json_object_set_new(res, "kind", json_string(a->k->kind));
  json_object_del(json_object_get(res, "metadata"), "resourceVersion");
  keep_immutable(res, doc);
  api_errors_t errs = API_ERRORS_INIT;
  validate(a->k, res, &errs);
  if (errs.n > 0) {
    invalid(a->r, a->k, json_str(json_object_get(res, "metadata"), "name"), &errs);
    api_errors_free(&errs);
    return berr_setc(err, EBADMSG, "invalid");
  }
  *out = json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS);
  *out_len = strlen(*out);
  if (cur->len == *out_len && !memcmp(cur->value, *out, *out_len)) {
    free(*out);
    *out = NULL;
    return STORE_UNCHANGED;
  }
  return 0;
}

static void do_patch(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                     const char *name)
{
  const char *ct = q->content_type ? q->content_type : "";
  int type;
  if (str_has_prefix(ct, "application/merge-patch+json"))
    type = 0;
  else if (str_has_prefix(ct, "application/strategic-merge-patch+json"))
    type = 1;
  else if (str_has_prefix(ct, "application/json-patch+json"))
    type = 2;
  else
    return srv_resp_status(r, 415, "UnsupportedMediaType", NULL, NULL,
                           "the body of the request was in an unknown format - accepted media "
                           "types include: application/json-patch+json, "
                           "application/merge-patch+json, application/strategic-merge-patch+json");
  json_error_t je;
  patch_arg_t a = { .q = q, .k = k, .type = type, .r = r };
  a.patch = json_loadb(q->body, q->body_len, 0, &je);
  if (!a.patch)
    return srv_resp_status(r, 400, "BadRequest", NULL, NULL, "the patch is not valid JSON: %s",
                           je.text);
  cleanup_free char *key = obj_key(k, ns, name);
  store_kv_t kv = { 0 };
  berr_t err = BERR_INIT;
  int rc = store_guaranteed_update(q->srv->store, key, false, patch_fn, &a, &kv, &err);
  if (rc < 0 && err.code == EBADMSG) {
    berr_clear(&err); /* r holds the 422 */
  } else if (rc < 0 && err.code == EINVAL) {
    srv_resp_status(r, 422, "Invalid", k->resource, name, "%s", err.msg);
    berr_clear(&err);
  } else if (rc < 0) {
    store_error(r, k, name, &err);
  } else {
    srv_resp_json(r, 200, srv_obj_load(kv.value, kv.len, kv.mod_rev));
  }
  store_kv_free(&kv);
  json_decref(a.patch);
  json_decref(a.result);
}

static void do_delete(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                      const char *name)
{
  berr_t err = BERR_INIT;
  if (!k->namespaced && !strcmp(name, "default"))
    return srv_resp_status(
        r, 403, "Forbidden", k->resource, name,
        "namespaces \"default\" is forbidden: this namespace may not be deleted");
  if (!k->namespaced) {
    /* A namespace takes what it contains with it. Objects created in it
     * while it is being deleted stay behind: Kubernetes' Terminating phase
     * and namespace controller are not there yet. */
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
      if (!kinds[i].namespaced)
        continue;
      cleanup_free char *prefix = obj_key(&kinds[i], name, NULL);
      store_list_req_t lr = { .prefix = prefix };
      store_list_t l = { 0 };
      if (store_list(q->srv->store, &lr, &l, &err) < 0)
        return store_error(r, k, name, &err);
      for (size_t j = 0; j < l.n; j++) {
        if (store_delete(q->srv->store, l.items[j].key, 0, NULL, NULL, &err) == 0)
          continue;
        if (err.code != ENOENT) {
          store_list_free(&l);
          return store_error(r, k, name, &err);
        }
        berr_clear(&err); /* deleted meanwhile */
      }
      store_list_free(&l);
    }
  }
  cleanup_free char *key = obj_key(k, ns, name);
  store_kv_t old = { 0 };
  int64_t rev;
  if (store_delete(q->srv->store, key, 0, &old, &rev, &err) < 0)
    return store_error(r, k, name, &err);
  srv_resp_json(r, 200, srv_obj_load(old.value, old.len, rev));
  store_kv_free(&old);
}

json_t *srv_table(const srv_kind_t *k, json_t *objs, int64_t list_rev, bool defs)
{
  json_t *t
      = json_pack("{s:s, s:s, s:{}}", "kind", "Table", "apiVersion", "meta.k8s.io/v1", "metadata");
  json_object_set_new(json_object_get(t, "metadata"), "resourceVersion",
                      str_own(xasprintf("%" PRId64, list_rev)));
  if (defs) {
    json_t *cd = json_array();
    for (size_t c = 0; c < k->n_columns; c++) {
      const srv_column_t *col = &k->columns[c];
      json_array_append_new(cd, json_pack("{s:s, s:s, s:s, s:i, s:s}", "name", col->name, "type",
                                          col->type, "format", col->format, "priority",
                                          col->priority, "description", col->description));
    }
    json_object_set_new(t, "columnDefinitions", cd);
  }
  json_t *rows = json_array(), *o;
  size_t i;
  int64_t now = time_now_ns();
  json_array_foreach(objs, i, o)
  {
    json_t *meta = json_object_get(o, "metadata");
    if (!json_is_object(meta))
      continue;
    json_t *cells = json_array();
    for (size_t c = 0; c < k->n_columns; c++)
      json_array_append_new(cells, k->columns[c].cell(o, now));
    json_array_append_new(rows, json_pack("{s:o, s:{s:s, s:s, s:O}}", "cells", cells, "object",
                                          "kind", "PartialObjectMetadata", "apiVersion",
                                          "meta.k8s.io/v1", "metadata", meta));
  }
  json_object_set_new(t, "rows", rows);
  return t;
}

static void do_get(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                   const char *name)
{
  json_t *o;
  int64_t rev;
  if (get_obj(q->srv, k, ns, name, &o, &rev, r) < 0)
    return;
  if (srv_accept_table(q->accept)) {
    json_t *a = json_pack("[o]", o);
    srv_resp_json(r, 200, srv_table(k, a, rev, true));
    json_decref(a);
  } else {
    srv_resp_json(r, 200, o);
  }
}

/* Refuses a field selector term on a field k's row does not list. */
static int check_fields(const srv_kind_t *k, const api_field_selector_t *fs, berr_t *err)
{
  for (size_t i = 0; i < fs->n; i++) {
    const char *f = fs->reqs[i].field;
    bool ok = !strcmp(f, "metadata.name") || !strcmp(f, "metadata.namespace");
    for (size_t j = 0; !ok && j < ARRAY_SIZE(k->fields) && k->fields[j]; j++)
      ok = !strcmp(f, k->fields[j]);
    if (!ok)
      return berr_setc(err, EINVAL, "field label not supported: %s", f);
  }
  return 0;
}

static void do_list(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns)
{
  berr_t err = BERR_INIT;
  api_label_selector_t *ls = NULL;
  api_field_selector_t *fs = NULL;
  /* Declared before the first goto: cleanup must never see them uninitialised. */
  cleanup_free char *prefix = obj_key(k, ns, NULL);
  cleanup_free char *after = NULL;
  const char *lq = q->query(q->conn, "labelSelector"), *fq = q->query(q->conn, "fieldSelector");
  if (lq && api_label_selector_parse(lq, &ls, &err) < 0)
    goto bad;
  if (fq && (api_field_selector_parse(fq, k->kind, &fs, &err) < 0 || check_fields(k, fs, &err) < 0))
    goto bad;
  const char *w = q->query(q->conn, "watch");
  if (w && (!strcmp(w, "1") || !strcmp(w, "true"))) {
    /* watch.c takes the selectors. */
    srv_watch_start(q, r, k, prefix, ls, fs, srv_accept_table(q->accept));
    return;
  }
  store_list_req_t lr = { .prefix = prefix };
  const char *lim = q->query(q->conn, "limit"), *cont = q->query(q->conn, "continue");
  if (lim && (parse_int64(lim, &lr.limit, NULL) < 0 || lr.limit < 0)) {
    berr_setc(&err, EINVAL, "invalid limit \"%s\"", lim);
    goto bad;
  }
  if (cont && *cont) {
    if (srv_continue_decode(cont, &lr.rev, &after, &err) < 0)
      goto bad;
    /* A token for another collection would leak its keys: refuse it. */
    if (!str_has_prefix(after, prefix)) {
      berr_setc(&err, EINVAL, "continue key is not valid");
      goto bad;
    }
    lr.after = after;
  }
  store_list_t l = { 0 };
  if (store_list(q->srv->store, &lr, &l, &err) < 0) {
    if (err.code == STORE_EEXPIRED && lr.after) {
      /* The API server's words: kubectl and client-go list again from the start. */
      srv_resp_status(r, 410, "Expired", NULL, NULL,
                      "The provided continue parameter is too old to display a consistent list "
                      "result. You can start a new list without the continue parameter.");
      berr_clear(&err);
    } else {
      store_error(r, k, "", &err);
    }
    goto out;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < l.n; i++) {
    json_t *o = srv_obj_load(l.items[i].value, l.items[i].len, l.items[i].mod_rev);
    json_t *labels = json_object_get(json_object_get(o, "metadata"), "labels");
    if ((ls && !api_label_selector_matches(ls, labels))
        || (fs && !api_field_selector_matches(fs, o)))
      json_decref(o);
    else
      json_array_append_new(items, o);
  }
  json_t *res;
  if (srv_accept_table(q->accept)) {
    res = srv_table(k, items, l.rev, true);
  } else {
    res = json_pack("{s:s, s:s, s:{s:s}, s:O}", "kind", "", "apiVersion", k->api_version,
                    "metadata", "resourceVersion", "", "items", items);
    json_object_set_new(res, "kind", str_own(xasprintf("%sList", k->kind)));
    json_object_set_new(json_object_get(res, "metadata"), "resourceVersion",
                        str_own(xasprintf("%" PRId64, l.rev)));
  }
  if (l.more_after)
    json_object_set_new(json_object_get(res, "metadata"), "continue",
                        str_own(srv_continue_encode(l.rev, l.more_after)));
  json_decref(items);
  store_list_free(&l);
  srv_resp_json(r, 200, res);
  goto out;
bad:
  srv_resp_status(r, 400, "BadRequest", NULL, NULL, "%s", err.msg);
  berr_clear(&err);
out:
  api_label_selector_free(ls);
  api_field_selector_free(fs);
}

/* The group of an /apis/GROUP/VERSION/… path and the path rewritten to
 * /api/v1/… for srv_route_parse; core paths are kept. NULL: not a served
 * group version. */
static char *api_path(const char *path, const char **group)
{
  *group = "";
  if (str_has_prefix(path, "/api/v1/"))
    return xstrdup(path);
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
    if (!*kinds[i].group)
      continue;
    cleanup_free char *prefix = xasprintf("/apis/%s/", kinds[i].api_version);
    if (str_has_prefix(path, prefix)) {
      *group = kinds[i].group;
      return xasprintf("/api/v1/%s", path + strlen(prefix));
    }
  }
  return NULL;
}

void srv_handle_api(srv_req_t *q, srv_resp_t *r)
{
  srv_route_t rt = { 0 };
  const srv_kind_t *k = NULL;
  const char *group;
  cleanup_free char *path = api_path(q->path, &group);
  /* A namespaced kind without a namespace is the list (or watch) across
   * all namespaces: `kubectl get -A`. */
  if (!path || srv_route_parse(path, &rt) < 0 || !(k = srv_kind_find(group, rt.resource)) || rt.sub
      || (k->namespaced && !rt.ns && (rt.name || strcmp(q->method, "GET")))
      || (!k->namespaced && rt.ns)) {
    if (rt.buf)
      srv_route_free(&rt);
    return srv_resp_status(r, 404, "NotFound", NULL, NULL,
                           "the server could not find the requested resource");
  }
  const char *m = q->method;
  if (!rt.name && !strcmp(m, "GET"))
    do_list(q, r, k, rt.ns);
  else if (!rt.name && !strcmp(m, "POST"))
    do_create(q, r, k, rt.ns);
  else if (rt.name && !strcmp(m, "GET"))
    do_get(q, r, k, rt.ns, rt.name);
  else if (rt.name && !strcmp(m, "PUT"))
    do_update(q, r, k, rt.ns, rt.name);
  else if (rt.name && !strcmp(m, "PATCH"))
    do_patch(q, r, k, rt.ns, rt.name);
  else if (rt.name && !strcmp(m, "DELETE"))
    do_delete(q, r, k, rt.ns, rt.name);
  else
    srv_resp_status(r, 405, "MethodNotAllowed", NULL, NULL, "%s is not supported here", m);
  srv_route_free(&rt);
}

int srv_ensure_default_ns(srv_t *s, berr_t *err)
{
  cleanup_free char *ts = srv_time_rfc3339(time_now_ns());
  cleanup_free char *uid = uuid4();
  cleanup_json json_t *o
      = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:[s]}, s:{s:s}}", "apiVersion", "v1", "kind",
                  "Namespace", "metadata", "name", "default", "uid", uid, "creationTimestamp", ts,
                  "spec", "finalizers", "kubernetes", "status", "phase", "Active");
  cleanup_free char *data = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  if (store_create(s->store, "/registry/namespaces/default", data, strlen(data), NULL, err) < 0) {
    if (err->code != EEXIST)
      return berr_wrap(err, "create namespace default");
    berr_clear(err);
  }
  return 0;
}
