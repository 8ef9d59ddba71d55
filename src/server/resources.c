/* resources.c — the API's routing under /api/v1 and /apis/GROUP/VERSION
 * and the verbs that do not change an existing object: create, get, list
 * (watch is watch.c; update, patch, delete and the subresources that write
 * are write.c; the kinds themselves are kinds.c). Objects are
 * stored as compact JSON under /registry/<resource>/[<ns>/]<name> without
 * metadata.resourceVersion: the store's mod_rev is the resourceVersion and
 * is put back on every read, so the two can never disagree. */
#include "api/api.h"
#include "ctrl/ctrl.h"
#include "server/internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

char *srv_obj_key(const srv_kind_t *k, const char *ns, const char *name)
{
  if (k->namespaced && !ns)
    return xasprintf("/registry/%s/", k->resource);
  if (k->namespaced)
    return xasprintf("/registry/%s/%s/%s", k->resource, ns, name ? name : "");
  return xasprintf("/registry/%s/%s", k->resource, name ? name : "");
}

static void rv_set(json_t *o, int64_t rev)
{
  json_t *meta = json_object_get(o, "metadata");
  if (json_is_object(meta))
    json_object_set_new(meta, "resourceVersion", srv_str_own(xasprintf("%" PRId64, rev)));
}

static int metadata_member(void *arg, const char *key, size_t klen, const char *vs, const char *ve)
{
  if (klen == 8 && !memcmp(key, "metadata", 8) && *vs == '{') {
    *(const char **)arg = vs + 1;
    return 1;
  }
  return 0;
}

/* Where the top-level "metadata" object of stored JSON starts (just after
 * its '{'), or NULL. */
static const char *find_metadata(const char *p, const char *end)
{
  const char *m = NULL;
  srv_rj_members(p, end, metadata_member, &m);
  return m;
}

void srv_resp_stored(srv_resp_t *r, int code, const char *value, size_t len, int64_t rev)
{
  buf_t b = { 0 };
  srv_obj_append(&b, value, len, rev);
  r->code = code;
  r->len = b.len;
  r->body = buf_steal(&b);
  r->content_type = "application/json";
}

void srv_obj_append(buf_t *out, const char *value, size_t len, int64_t rev)
{
  const char *m = find_metadata(value, value + len);
  if (!m) {
    json_t *o = srv_obj_load(value, len, rev);
    char *s = json_dumps(o, JSON_COMPACT);
    buf_puts(out, s ? s : "{}");
    free(s);
    json_decref(o);
    return;
  }
  buf_append(out, value, (size_t)(m - value));
  buf_printf(out, "\"resourceVersion\":\"%" PRId64 "\"%s", rev, *m == '}' ? "" : ",");
  buf_append(out, m, len - (size_t)(m - value));
}

json_t *srv_obj_load(const char *value, size_t len, int64_t rev)
{
  json_t *o = json_loadb(value, len, 0, NULL);
  if (!o)
    return json_object();
  rv_set(o, rev);
  return o;
}

char *srv_uuid4(void)
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

char *srv_kind_qualified(const srv_kind_t *k)
{
  return *k->group ? xasprintf("%s.%s", k->resource, k->group) : xstrdup(k->resource);
}

/* A failure about object name of k, its details as Kubernetes gives them
 * (name, group, kind: the resource). */
static void obj_status(srv_resp_t *r, const srv_kind_t *k, int code, const char *reason,
                       const char *name, char *msg)
{
  json_t *st = srv_status_json(code, reason, msg);
  json_t *d = json_pack("{s:s, s:s}", "name", name ? name : "", "kind", k->resource);
  if (*k->group)
    json_object_set_new(d, "group", json_string(k->group));
  json_object_set_new(st, "details", d);
  srv_resp_json(r, code, st);
  free(msg);
}

/* The store's error as a Status. */
void srv_store_error(srv_resp_t *r, const srv_kind_t *k, const char *name, berr_t *err)
{
  cleanup_free char *res = srv_kind_qualified(k);
  switch (err->code) {
  case ENOENT:
    obj_status(r, k, 404, "NotFound", name, xasprintf("%s \"%s\" not found", res, name));
    break;
  case EEXIST:
    obj_status(r, k, 409, "AlreadyExists", name, xasprintf("%s \"%s\" already exists", res, name));
    break;
  case STORE_ECONFLICT:
    obj_status(r, k, 409, "Conflict", name,
               xasprintf("Operation cannot be fulfilled on %s \"%s\": the object has been "
                         "modified; please apply your changes to the latest version and try again",
                         res, name));
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

/* 422 Invalid: "ConfigMap \"Bad\" is invalid: metadata.name: …",
 * "Deployment.apps \"web\" is invalid: …" for a named group. */
void srv_invalid(srv_resp_t *r, const srv_kind_t *k, const char *name, api_errors_t *errs)
{
  cleanup_free char *msg = api_errors_string(errs);
  cleanup_free char *kind = *k->group ? xasprintf("%s.%s", k->kind, k->group) : xstrdup(k->kind);
  json_t *st = srv_status_json(422, "Invalid", "");
  json_object_set_new(
      st, "message",
      srv_str_own(xasprintf("%s \"%s\" is invalid: %s", kind, name ? name : "", msg)));
  json_t *d = json_pack("{s:s, s:s, s:o}", "name", name ? name : "", "kind", k->resource, "causes",
                        api_errors_causes(errs));
  if (*k->group)
    json_object_set_new(d, "group", json_string(k->group));
  json_object_set_new(st, "details", d);
  srv_resp_json(r, 422, st);
}

/* Decodes a request body: protobuf or JSON (no Content-Type is JSON). */
json_t *srv_decode_body(srv_req_t *q, srv_resp_t *r)
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
json_t *srv_prepare(json_t *o, const srv_kind_t *k, const char *ns, srv_resp_t *r)
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

void srv_validate(const srv_kind_t *k, json_t *o, api_errors_t *errs)
{
  api_name_rule_t rule = k->name_label ? API_NAME_DNS_LABEL : API_NAME_DNS_SUBDOMAIN;
  api_validate_object_meta(errs, "metadata", json_object_get(o, "metadata"), rule, k->namespaced);
  if (k->validate)
    k->validate(o, errs);
}

/* Removes the field at a strict-decoding path ("spec.containers[0].bogus"). */
static void drop_path(json_t *o, const char *path)
{
  cleanup_free char *p = xstrdup(path);
  json_t *cur = o;
  char *save = NULL;
  char *seg = strtok_r(p, ".", &save);
  while (seg && cur) {
    char *next = strtok_r(NULL, ".", &save);
    char *br = strchr(seg, '[');
    if (br)
      *br = '\0';
    if (!next && !br) {
      json_object_del(cur, seg);
      return;
    }
    cur = json_object_get(cur, seg);
    while (br && cur) {
      char *end = strchr(br + 1, ']');
      if (!end)
        return;
      cur = json_array_get(cur, (size_t)strtoul(br + 1, NULL, 10));
      br = strchr(end, '[');
    }
    seg = next;
  }
}

bool srv_field_validation(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, json_t *o)
{
  const char *mode = q->query(q->conn, "fieldValidation");
  bool strict = mode && !strcmp(mode, "Strict"), ignore = mode && !strcmp(mode, "Ignore");
  cleanup_strv char **unknown = api_unknown_fields(k->api_version, k->kind, o);
  if (!unknown)
    return true;
  if (strict) {
    buf_t b = { 0 };
    for (size_t i = 0; unknown[i]; i++)
      buf_printf(&b, "%sunknown field \"%s\"", i ? ", " : "", unknown[i]);
    srv_resp_status(r, 400, "BadRequest", NULL, NULL, "strict decoding error: %s", b.data);
    buf_free(&b);
    return false;
  }
  for (size_t i = 0; unknown[i]; i++) {
    if (!ignore) {
      cleanup_free char *w = xasprintf("299 - \"unknown field \\\"%s\\\"\"", unknown[i]);
      strv_push(&r->warnings, w);
    }
    drop_path(o, unknown[i]);
  }
  return true;
}

int srv_obj_get(srv_t *s, const srv_kind_t *k, const char *ns, const char *name, json_t **out,
                int64_t *rev, srv_resp_t *r)
{
  cleanup_free char *key = srv_obj_key(k, ns, name);
  store_kv_t kv = { 0 };
  berr_t err = BERR_INIT;
  if (store_get(s->store, key, &kv, NULL, &err) < 0) {
    srv_store_error(r, k, name, &err);
    return -1;
  }
  *out = srv_obj_load(kv.value, kv.len, kv.mod_rev);
  if (rev)
    *rev = kv.mod_rev;
  store_kv_free(&kv);
  return 0;
}

int srv_ns_terminating(srv_t *s, const char *ns, bool *terminating, berr_t *err)
{
  cleanup_free char *key = xasprintf("/registry/namespaces/%s", ns);
  store_kv_t kv = { 0 };
  if (store_get(s->store, key, &kv, NULL, err) < 0)
    return -1;
  const char *vs, *ve; /* read without decoding: every create asks */
  *terminating = srv_rj_path(kv.value, kv.value + kv.len, "metadata.deletionTimestamp", &vs, &ve)
                 && !(ve - vs == 4 && !memcmp(vs, "null", 4));
  store_kv_free(&kv);
  return 0;
}

/* The namespace exists and is not being deleted. */
static bool ns_writable(srv_t *s, const char *ns, srv_resp_t *r)
{
  bool terminating;
  berr_t err = BERR_INIT;
  if (srv_ns_terminating(s, ns, &terminating, &err) < 0) {
    srv_store_error(r, srv_kind_find("", "namespaces"), ns, &err);
    return false;
  }
  if (terminating)
    srv_resp_status(r, 403, "Forbidden", "namespaces", ns,
                    "unable to create new content in namespace %s because it is being terminated",
                    ns);
  return !terminating;
}

static void do_create(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns)
{
  cleanup_json json_t *o = srv_decode_body(q, r);
  json_t *meta = o ? srv_prepare(o, k, ns, r) : NULL;
  if (!meta)
    return;
  const char *gen = json_str(meta, "generateName");
  if (!json_str(meta, "name") && gen && *gen)
    json_object_set_new(meta, "name", srv_str_own(api_generate_name(gen)));
  json_object_set_new(meta, "uid", srv_str_own(srv_uuid4()));
  json_object_set_new(meta, "creationTimestamp", srv_str_own(time_rfc3339_sec(time_now_ns())));
  const char *drop[] = { "deletionTimestamp", "deletionGracePeriodSeconds", "generation" };
  for (size_t i = 0; i < ARRAY_SIZE(drop); i++)
    json_object_del(meta, drop[i]);
  if (k->spec_gen)
    json_object_set_new(meta, "generation", json_integer(1));
  if (!srv_field_validation(q, r, k, o))
    return;
  if (k->prepare_create)
    k->prepare_create(o);
  api_errors_t errs = API_ERRORS_INIT;
  srv_validate(k, o, &errs);
  if (errs.n > 0) {
    srv_invalid(r, k, json_str(meta, "name"), &errs);
    api_errors_free(&errs);
    return;
  }
  const char *name = json_str(meta, "name");
  if (!srv_authorize(q, r, k, "create", ns, name, NULL, NULL, o))
    return;
  if (k->namespaced && !ns_writable(q->srv, ns, r))
    return;
  if (k->admit && !k->admit(q->srv, r, o, NULL))
    return;
  /* Kubernetes' DefaultTolerationSeconds admission: how long a pod stays on
   * a node that stops answering (--pod-eviction-timeout). */
  if (!strcmp(k->resource, "pods") && q->srv->pod_toleration_s > 0)
    ctrl_pod_default_tolerations(o, q->srv->pod_toleration_s);
  cleanup_free char *data = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  cleanup_free char *key = srv_obj_key(k, ns, name);
  berr_t err = BERR_INIT;
  int64_t rev = 0;
  if (store_create(q->srv->store, key, data, strlen(data), &rev, &err) < 0)
    return srv_store_error(r, k, name, &err);
  srv_resp_stored(r, 201, data, strlen(data), rev); /* not encoded again */
}

/* One Table row: the cells and the object's metadata; NULL without one. */
static json_t *table_row(const srv_kind_t *k, json_t *o, int64_t now)
{
  json_t *meta = json_object_get(o, "metadata");
  if (!json_is_object(meta))
    return NULL;
  json_t *cells = json_array();
  for (size_t c = 0; c < k->n_columns; c++)
    json_array_append_new(cells, k->columns[c].cell(o, now));
  return json_pack("{s:o, s:{s:s, s:s, s:O}}", "cells", cells, "object", "kind",
                   "PartialObjectMetadata", "apiVersion", "meta.k8s.io/v1", "metadata", meta);
}

/* What a Table's cells read of a stored object, decoded member by member:
 * a pod's spec only for the node, the readiness gates and how many
 * (init) containers it has — most of a pod's bytes, which cells never
 * read. The metadata's bytes are kept for the row's object. */
typedef struct cell_view {
  json_t *o;
  const char *meta, *meta_end; /* the metadata object's bytes */
  bool pod;
} cell_view_t;

static int spec_member(void *arg, const char *key, size_t klen, const char *vs, const char *ve)
{
  json_t *spec = arg;
  cleanup_free char *k = xstrndup(key, klen);
  if (!strcmp(k, "containers") || !strcmp(k, "initContainers")) {
    json_t *a = json_array();
    for (size_t n = srv_rj_array_len(vs, ve); n > 0; n--)
      json_array_append_new(a, json_null());
    json_object_set_new(spec, k, a);
  } else if (!strcmp(k, "nodeName") || !strcmp(k, "readinessGates")) {
    json_t *v = json_loadb(vs, (size_t)(ve - vs), JSON_DECODE_ANY, NULL);
    if (v)
      json_object_set_new(spec, k, v);
  }
  return 0;
}

static int view_member(void *arg, const char *key, size_t klen, const char *vs, const char *ve)
{
  cell_view_t *c = arg;
  cleanup_free char *k = xstrndup(key, klen);
  if (!strcmp(k, "metadata")) {
    c->meta = vs;
    c->meta_end = ve;
  }
  if (c->pod && !strcmp(k, "spec")) {
    json_t *spec = json_object();
    srv_rj_members(vs, ve, spec_member, spec);
    json_object_set_new(c->o, k, spec);
    return 0;
  }
  json_t *v = json_loadb(vs, (size_t)(ve - vs), JSON_DECODE_ANY, NULL);
  if (v)
    json_object_set_new(c->o, k, v);
  return 0;
}

/* A Table row written straight from the stored bytes; false when they do
 * not read as an object with metadata (the caller decodes it then). */
static bool table_row_raw(buf_t *out, const srv_kind_t *k, const store_kv_t *kv, int64_t now)
{
  cell_view_t c = { .o = json_object(), .pod = !strcmp(k->resource, "pods") };
  const char *end = kv->value + kv->len;
  if (srv_rj_members(kv->value, end, view_member, &c) < 0 || !c.meta || *c.meta != '{'
      || !json_is_object(json_object_get(c.o, "metadata"))) {
    json_decref(c.o);
    return false;
  }
  json_t *cells = json_array();
  for (size_t i = 0; i < k->n_columns; i++)
    json_array_append_new(cells, k->columns[i].cell(c.o, now));
  char *cs = json_dumps(cells, JSON_COMPACT);
  json_decref(cells);
  json_decref(c.o);
  buf_printf(out,
             "{\"cells\":%s,\"object\":{\"kind\":\"PartialObjectMetadata\","
             "\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{\"resourceVersion\":\"%" PRId64
             "\"%s",
             cs ? cs : "[]", kv->mod_rev, c.meta[1] == '}' ? "" : ",");
  free(cs);
  buf_append(out, c.meta + 1, (size_t)(c.meta_end - c.meta - 1));
  buf_puts(out, "}}");
  return true;
}

json_t *srv_table(const srv_kind_t *k, json_t *objs, int64_t list_rev, bool defs)
{
  json_t *t
      = json_pack("{s:s, s:s, s:{}}", "kind", "Table", "apiVersion", "meta.k8s.io/v1", "metadata");
  json_object_set_new(json_object_get(t, "metadata"), "resourceVersion",
                      srv_str_own(xasprintf("%" PRId64, list_rev)));
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
    json_t *row = table_row(k, o, now);
    if (row)
      json_array_append_new(rows, row);
  }
  json_object_set_new(t, "rows", rows);
  return t;
}

static void do_get(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                   const char *name, const char *sub)
{
  json_t *o;
  int64_t rev;
  if (srv_obj_get(q->srv, k, ns, name, &o, &rev, r) < 0)
    return;
  if (!srv_authorize(q, r, k, "get", ns, name, sub, o, NULL)) {
    json_decref(o);
    return;
  }
  if (sub && !strcmp(sub, "log")) {
    srv_proxy_log(q, r, o);
    json_decref(o);
  } else if (sub && !strcmp(sub, "exec")) {
    srv_proxy_exec(q, r, o);
    json_decref(o);
  } else if (srv_accept_table(q->accept)) {
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
  cleanup_free char *prefix = srv_obj_key(k, ns, NULL);
  cleanup_free char *after = NULL;
  const char *lq = q->query(q->conn, "labelSelector"), *fq = q->query(q->conn, "fieldSelector");
  if (lq && api_label_selector_parse(lq, &ls, &err) < 0)
    goto bad;
  if (fq && (api_field_selector_parse(fq, k->kind, &fs, &err) < 0 || check_fields(k, fs, &err) < 0))
    goto bad;
  const char *w = q->query(q->conn, "watch");
  bool watch = w && (!strcmp(w, "1") || !strcmp(w, "true"));
  if (!srv_authorize(q, r, k, watch ? "watch" : "list", ns, NULL, NULL, NULL, NULL))
    goto out;
  if (watch) {
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
      srv_store_error(r, k, "", &err);
    }
    goto out;
  }
  /* A plain list is written from the stored bytes (only resourceVersion is
   * spliced in): decoding and encoding 10,000 pods would be most of the
   * time of a LIST. Selectors still need the decoded object to match. */
  /* A Table is written row by row too: one decoded object at a time, not
   * 10,000 of them (hundreds of MiB) at once. */
  bool table = srv_accept_table(q->accept);
  int64_t now = time_now_ns();
  buf_t out = { 0 };
  if (table) {
    json_t *empty = json_array();
    json_t *head = srv_table(k, empty, l.rev, true);
    json_decref(empty);
    if (l.more_after)
      json_object_set_new(json_object_get(head, "metadata"), "continue",
                          srv_str_own(srv_continue_encode(l.rev, l.more_after)));
    char *h = json_dumps(head, JSON_COMPACT);
    json_decref(head);
    /* It ends with "rows":[]} (rows are set last): the rows go in between. */
    buf_append(&out, h, strlen(h) - 2);
    free(h);
  }
  if (!table)
    buf_printf(
        &out,
        "{\"kind\":\"%sList\",\"apiVersion\":\"%s\",\"metadata\":{\"resourceVersion\":\"%" PRId64
        "\"",
        k->kind, k->api_version, l.rev);
  if (!table && l.more_after) {
    cleanup_free char *tok = srv_continue_encode(l.rev, l.more_after);
    buf_printf(&out, ",\"continue\":\"%s\"", tok);
  }
  if (!table)
    buf_puts(&out, "},\"items\":[");
  size_t n_out = 0;
  for (size_t i = 0; i < l.n; i++) {
    const store_kv_t *kv = &l.items[i];
    if (!ls && !fs && !table) {
      if (n_out++)
        buf_puts(&out, ",");
      srv_obj_append(&out, kv->value, kv->len, kv->mod_rev);
      continue;
    }
    if (!ls && !fs) {
      size_t mark = out.len;
      if (n_out)
        buf_puts(&out, ",");
      if (table_row_raw(&out, k, kv, now)) {
        n_out++;
        continue;
      }
      out.len = mark; /* not an object with metadata: decoded below */
      out.data[mark] = '\0';
    }
    json_t *o = srv_obj_load(kv->value, kv->len, kv->mod_rev);
    json_t *labels = json_object_get(json_object_get(o, "metadata"), "labels");
    if ((ls && !api_label_selector_matches(ls, labels))
        || (fs && !api_field_selector_matches(fs, o))) {
      json_decref(o);
    } else if (table) {
      json_t *row = table_row(k, o, now);
      json_decref(o);
      char *t = row ? json_dumps(row, JSON_COMPACT) : NULL;
      json_decref(row);
      if (t) {
        if (n_out++)
          buf_puts(&out, ",");
        buf_puts(&out, t);
        free(t);
      }
    } else {
      json_decref(o);
      if (n_out++)
        buf_puts(&out, ",");
      srv_obj_append(&out, kv->value, kv->len, kv->mod_rev);
    }
  }
  buf_puts(&out, "]}");
  r->code = 200;
  r->len = out.len;
  r->body = buf_steal(&out);
  r->content_type = "application/json";
  store_list_free(&l);
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
  size_t n;
  const srv_kind_t *kinds = srv_kinds(&n);
  for (size_t i = 0; i < n; i++) {
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

static void not_found(srv_resp_t *r)
{
  srv_resp_status(r, 404, "NotFound", NULL, NULL,
                  "the server could not find the requested resource");
}

void srv_handle_api(srv_req_t *q, srv_resp_t *r)
{
  srv_route_t rt = { 0 };
  const srv_kind_t *k = NULL;
  const char *group;
  cleanup_free char *path = api_path(q->path, &group);
  /* A namespaced kind without a namespace is the list (or watch) across
   * all namespaces: `kubectl get -A`. */
  if (!path || srv_route_parse(path, &rt) < 0 || !(k = srv_kind_find(group, rt.resource))
      || (rt.sub && (!rt.name || !srv_kind_has_sub(k, rt.sub)))
      || (k->namespaced && !rt.ns && (rt.name || strcmp(q->method, "GET")))
      || (!k->namespaced && rt.ns)) {
    if (rt.buf)
      srv_route_free(&rt);
    return not_found(r);
  }
  const char *m = q->method, *sub = rt.sub;
  bool status = sub && !strcmp(sub, "status");
  if (!rt.name && !strcmp(m, "GET"))
    do_list(q, r, k, rt.ns);
  else if (!rt.name && !strcmp(m, "POST"))
    do_create(q, r, k, rt.ns);
  else if (sub && !strcmp(sub, "binding") && !strcmp(m, "POST"))
    srv_do_binding(q, r, k, rt.ns, rt.name);
  else if (sub && !strcmp(sub, "eviction") && !strcmp(m, "POST"))
    srv_do_evict(q, r, k, rt.ns, rt.name);
  else if (sub && !strcmp(sub, "scale")
           && (!strcmp(m, "GET") || !strcmp(m, "PUT") || !strcmp(m, "PATCH")))
    srv_do_scale(q, r, k, rt.ns, rt.name);
  else if (sub && !strcmp(sub, "exec") && (!strcmp(m, "GET") || !strcmp(m, "POST")))
    do_get(q, r, k, rt.ns, rt.name, sub);
  else if ((!sub || status || !strcmp(sub, "log")) && !strcmp(m, "GET"))
    do_get(q, r, k, rt.ns, rt.name, sub);
  else if ((!sub || status) && (!strcmp(m, "PUT") || !strcmp(m, "PATCH")))
    srv_do_write(q, r, k, rt.ns, rt.name, sub);
  else if (!sub && !strcmp(m, "DELETE"))
    srv_do_delete(q, r, k, rt.ns, rt.name);
  else
    srv_resp_status(r, 405, "MethodNotAllowed", NULL, NULL, "%s is not supported here", m);
  srv_route_free(&rt);
}

/* The namespaces every cluster has: default for users, kube-node-lease for
 * the agents' heartbeats, kube-system and kube-public by convention. */
int srv_ensure_default_ns(srv_t *s, berr_t *err)
{
  const char *names[] = { "default", "kube-system", "kube-public", "kube-node-lease" };
  for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
    cleanup_free char *ts = time_rfc3339_sec(time_now_ns());
    cleanup_free char *uid = srv_uuid4();
    cleanup_json json_t *o
        = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:{s:s}}, s:{s:[s]}, s:{s:s}}", "apiVersion",
                    "v1", "kind", "Namespace", "metadata", "name", names[i], "uid", uid,
                    "creationTimestamp", ts, "labels", "kubernetes.io/metadata.name", names[i],
                    "spec", "finalizers", "kubernetes", "status", "phase", "Active");
    cleanup_free char *data = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    cleanup_free char *key = xasprintf("/registry/namespaces/%s", names[i]);
    if (store_create(s->store, key, data, strlen(data), NULL, err) < 0) {
      if (err->code != EEXIST)
        return berr_wrap(err, "create namespace %s", names[i]);
      berr_clear(err);
    }
  }
  return 0;
}
