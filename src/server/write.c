/* write.c — every change to an existing object: PUT, the three PATCH
 * formats, the status subresource, pods' binding and DELETE.
 *
 * Writes go through one read-modify-write (store_guaranteed_update), so a
 * concurrent writer is retried, never lost, and a PUT carrying a stale
 * resourceVersion gets 409. On the way the rules Kubernetes applies to every
 * write: uid, name, namespace, creationTimestamp and the deletion fields
 * cannot be changed; with a status subresource, writes to the object keep
 * its status and writes to /status change nothing else; generation counts
 * changes to spec; the kind's validation and update rules; authorisation
 * against both the stored and the new object.
 *
 * Deletion is Kubernetes' graceful deletion: a pod on a node gets
 * deletionTimestamp = now + grace and stays until its node has stopped it
 * (the agent then deletes it with grace 0); an object with finalizers
 * stays, marked, until the last finalizer is removed; a namespace turns
 * Terminating and goes once its contents have. */
#include "api/api.h"
#include "server/internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RETRIES 100

/* Fields no write may change: kept from the stored object. */
static void keep_immutable(json_t *o, json_t *cur)
{
  json_t *m = json_object_get(o, "metadata"), *cm = json_object_get(cur, "metadata");
  const char *keep[]
      = { "uid",        "creationTimestamp",         "name", "namespace", "deletionTimestamp",
          "generation", "deletionGracePeriodSeconds" };
  for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
    json_t *v = json_object_get(cm, keep[i]);
    if (v)
      json_object_set(m, keep[i], v);
    else
      json_object_del(m, keep[i]);
  }
}

/* Everything but metadata and status: what generation counts. */
static bool spec_changed(json_t *a, json_t *b)
{
  const char *k;
  json_t *v;
  json_object_foreach(a, k, v)
  {
    if (strcmp(k, "metadata") && strcmp(k, "status") && !json_equal(v, json_object_get(b, k)))
      return true;
  }
  json_object_foreach(b, k, v)
  {
    if (strcmp(k, "metadata") && strcmp(k, "status") && !json_object_get(a, k))
      return true;
  }
  return false;
}

static bool has_finalizers(json_t *o)
{
  return json_array_size(json_object_get(json_object_get(o, "metadata"), "finalizers")) > 0;
}

static const char *deletion_ts(json_t *o)
{
  const char *ts = json_str(json_object_get(o, "metadata"), "deletionTimestamp");
  return ts && *ts ? ts : NULL;
}

/* ---- PUT and PATCH ------------------------------------------------------- */

typedef struct wr {
  srv_req_t *q;
  srv_resp_t *r;
  const srv_kind_t *k;
  const char *ns, *name, *sub;
  json_t *body;   /* PUT: the object; PATCH: the patch */
  int patch_type; /* -1 PUT, 0 merge, 1 strategic, 2 JSON patch */
  int64_t expect; /* PUT's resourceVersion, 0 = none */
  bool responded; /* r holds the answer (422, 403, 400) */
  json_t *result; /* what was written */
} wr_t;

static int wr_fail(wr_t *w, berr_t *err)
{
  w->responded = true;
  return berr_setc(err, EBADMSG, "answered");
}

/* A PATCH request's body and its type (0 merge, 1 strategic, 2 JSON patch,
 * from Content-Type); NULL with r filled (415, 400). */
json_t *srv_patch_body(srv_req_t *q, srv_resp_t *r, int *patch_type)
{
  const char *ct = q->content_type ? q->content_type : "";
  if (str_has_prefix(ct, "application/merge-patch+json"))
    *patch_type = 0;
  else if (str_has_prefix(ct, "application/strategic-merge-patch+json"))
    *patch_type = 1;
  else if (str_has_prefix(ct, "application/json-patch+json"))
    *patch_type = 2;
  else {
    srv_resp_status(r, 415, "UnsupportedMediaType", NULL, NULL,
                    "the body of the request was in an unknown format - accepted media types "
                    "include: application/json-patch+json, application/merge-patch+json, "
                    "application/strategic-merge-patch+json");
    return NULL;
  }
  json_error_t je;
  json_t *body = json_loadb(q->body, q->body_len, 0, &je);
  if (!body)
    srv_resp_status(r, 400, "BadRequest", NULL, NULL, "the patch is not valid JSON: %s", je.text);
  return body;
}

json_t *srv_patch_apply(json_t *doc, json_t *patch, int patch_type, const char *kind, berr_t *err)
{
  if (patch_type == 0)
    return api_patch_merge(doc, patch);
  if (patch_type == 1)
    return api_patch_strategic(doc, patch, kind, err);
  return api_patch_json(doc, patch, err);
}

static int wr_fn(void *arg, const store_kv_t *cur, char **out, size_t *out_len, berr_t *err)
{
  wr_t *w = arg;
  const srv_kind_t *k = w->k;
  if (w->expect && cur->mod_rev != w->expect)
    return berr_setc(err, STORE_ECONFLICT, "stale resourceVersion");
  cleanup_json json_t *doc = json_loadb(cur->value, cur->len, 0, NULL);
  if (!doc)
    return berr_setc(err, EIO, "stored object is not JSON");
  json_t *o;
  if (w->patch_type < 0) {
    o = json_deep_copy(w->body);
  } else {
    /* A patch sees the object as a GET shows it, resourceVersion included
     * (kubectl's JSON patches test it); a patch that changes it asks for a
     * version the object no longer has: 409, as Kubernetes answers. */
    cleanup_free char *rv = xasprintf("%lld", (long long)cur->mod_rev);
    json_t *dmeta = json_object_get(doc, "metadata");
    json_object_set_new(dmeta, "resourceVersion", json_string(rv));
    berr_t perr = BERR_INIT;
    o = srv_patch_apply(doc, w->body, w->patch_type, k->kind, &perr);
    json_object_del(dmeta, "resourceVersion");
    if (!o) {
      srv_resp_status(w->r, 422, "Invalid", k->resource, w->name, "%s",
                      perr.msg ? perr.msg : "the patch does not apply");
      berr_clear(&perr);
      return wr_fail(w, err);
    }
    const char *prv = json_str(json_object_get(o, "metadata"), "resourceVersion");
    if (prv && strcmp(prv, rv)) {
      json_decref(o);
      cleanup_free char *what = srv_kind_qualified(k);
      srv_resp_status(w->r, 409, "Conflict", k->resource, w->name,
                      "Operation cannot be fulfilled on %s \"%s\": the object has been "
                      "modified; please apply your changes to the latest version and try again",
                      what, w->name);
      return wr_fail(w, err);
    }
  }
  json_decref(w->result);
  w->result = o;
  if (!json_is_object(o) || !json_is_object(json_object_get(o, "metadata"))) {
    srv_resp_status(w->r, 422, "Invalid", k->resource, w->name,
                    "the patch leaves no object metadata");
    return wr_fail(w, err);
  }
  json_object_set_new(o, "apiVersion", json_string(k->api_version));
  json_object_set_new(o, "kind", json_string(k->kind));
  json_object_del(json_object_get(o, "metadata"), "resourceVersion");
  keep_immutable(o, doc);
  bool status_sub = srv_kind_has_sub(k, "status");
  if (w->sub) {
    /* /status: the stored object with the new status. */
    json_t *st = json_object_get(o, "status");
    json_t *n = json_deep_copy(doc);
    if (st)
      json_object_set(n, "status", st);
    json_object_set_new(n, "metadata", json_deep_copy(json_object_get(doc, "metadata")));
    json_decref(o);
    w->result = o = n;
    json_object_del(json_object_get(o, "metadata"), "resourceVersion");
  } else if (status_sub) {
    json_t *st = json_object_get(doc, "status");
    if (st)
      json_object_set(o, "status", st);
    else
      json_object_del(o, "status");
  }
  if (!w->sub && !srv_field_validation(w->q, w->r, k, o))
    return wr_fail(w, err);
  api_errors_t errs = API_ERRORS_INIT;
  srv_validate(k, o, &errs);
  if (errs.n == 0 && k->validate_update && !w->sub)
    k->validate_update(o, doc, &errs);
  if (errs.n > 0) {
    srv_invalid(w->r, k, w->name, &errs);
    api_errors_free(&errs);
    return wr_fail(w, err);
  }
  if (k->spec_gen) {
    json_t *m = json_object_get(o, "metadata");
    int64_t gen = json_int(json_object_get(doc, "metadata"), "generation", 1);
    json_object_set_new(m, "generation", json_integer(gen + (spec_changed(o, doc) ? 1 : 0)));
  }
  const char *verb = w->patch_type < 0 ? "update" : "patch";
  if (!srv_authorize(w->q, w->r, k, verb, w->ns, w->name, w->sub, doc, o))
    return wr_fail(w, err);
  if (!w->sub && k->admit && !k->admit(w->q->srv, w->r, o, doc))
    return wr_fail(w, err);
  *out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  *out_len = strlen(*out);
  if (cur->len == *out_len && !memcmp(cur->value, *out, *out_len)) {
    free(*out);
    *out = NULL;
    return STORE_UNCHANGED;
  }
  return 0;
}

/* An object marked for deletion whose last finalizer is gone goes now
 * (pods: once their grace period was 0, i.e. the node is done). */
static bool finished_deleting(const srv_kind_t *k, json_t *o)
{
  if (!deletion_ts(o) || has_finalizers(o))
    return false;
  return !k->graceful
         || json_int(json_object_get(o, "metadata"), "deletionGracePeriodSeconds", 0) == 0;
}

void srv_do_write(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                  const char *name, const char *sub)
{
  wr_t w = { .q = q, .r = r, .k = k, .ns = ns, .name = name, .sub = sub, .patch_type = -1 };
  if (!strcmp(q->method, "PUT")) {
    w.body = srv_decode_body(q, r);
    if (!w.body)
      return;
    json_t *m = json_object_get(w.body, "metadata");
    const char *rvs = json_str(m, "resourceVersion"), *bname = json_str(m, "name");
    if (rvs && *rvs && (parse_int64(rvs, &w.expect, NULL) < 0 || w.expect < 1)) {
      srv_resp_status(r, 400, "BadRequest", NULL, NULL, "invalid resourceVersion \"%s\"", rvs);
      goto out;
    }
    if (bname && strcmp(bname, name)) {
      srv_resp_status(r, 400, "BadRequest", NULL, NULL,
                      "the name of the object (%s) does not match the name on the URL (%s)", bname,
                      name);
      goto out;
    }
    if (!srv_prepare(w.body, k, ns, r))
      goto out;
  } else if (!(w.body = srv_patch_body(q, r, &w.patch_type))) {
    return;
  }
  cleanup_free char *key = srv_obj_key(k, ns, name);
  store_kv_t kv = { 0 };
  berr_t err = BERR_INIT;
  int rc = store_guaranteed_update(q->srv->store, key, false, wr_fn, &w, &kv, &err);
  if (rc < 0 && w.responded) {
    berr_clear(&err);
  } else if (rc < 0) {
    srv_store_error(r, k, name, &err);
  } else {
    /* Decoded only when it is being deleted (then its last finalizer may
     * have gone); the reply is the stored bytes, resourceVersion spliced in. */
    const char *vs, *ve;
    if (srv_rj_path(kv.value, kv.value + kv.len, "metadata.deletionTimestamp", &vs, &ve)
        && !(ve - vs == 4 && !memcmp(vs, "null", 4))) {
      json_t *o = srv_obj_load(kv.value, kv.len, kv.mod_rev);
      if (finished_deleting(k, o)
          && store_delete(q->srv->store, key, kv.mod_rev, NULL, NULL, &err) < 0
          && err.code != ENOENT && err.code != STORE_ECONFLICT)
        log_warn("msg=\"delete after the last finalizer\" key=%s err=\"%s\"", key, err.msg);
      berr_clear(&err);
      json_decref(o);
    }
    srv_resp_stored(r, 200, kv.value, kv.len, kv.mod_rev);
  }
  store_kv_free(&kv);
out:
  json_decref(w.body);
  json_decref(w.result);
}

/* ---- binding ---------------------------------------------------------------- */

typedef struct bind_arg {
  const char *uid, *node;
} bind_arg_t;

static int bind_fn(void *arg, const store_kv_t *cur, char **out, size_t *out_len, berr_t *err)
{
  bind_arg_t *a = arg;
  cleanup_json json_t *o = json_loadb(cur->value, cur->len, 0, NULL);
  json_t *meta = json_object_get(o, "metadata"), *spec = json_object_get(o, "spec");
  if (!json_is_object(spec))
    return berr_setc(err, EIO, "stored pod has no spec");
  if (a->uid && (!json_str(meta, "uid") || strcmp(json_str(meta, "uid"), a->uid)))
    return berr_setc(err, STORE_ECONFLICT, "the pod was replaced");
  const char *bound = json_str(spec, "nodeName");
  if (bound && *bound)
    return berr_setc(err, EBUSY, "pod %s is already assigned to node \"%s\"",
                     json_str(meta, "name"), bound);
  if (deletion_ts(o))
    return berr_setc(err, EBUSY, "pod %s is being deleted, cannot be assigned to a host",
                     json_str(meta, "name"));
  json_object_set_new(spec, "nodeName", json_string(a->node));
  json_t *st = json_object_get(o, "status");
  if (!json_is_object(st)) {
    st = json_object();
    json_object_set_new(o, "status", st);
  }
  json_t *conds = json_object_get(st, "conditions");
  if (!json_is_array(conds)) {
    conds = json_array();
    json_object_set_new(st, "conditions", conds);
  }
  for (size_t i = json_array_size(conds); i-- > 0;)
    if (json_str(json_array_get(conds, i), "type")
        && !strcmp(json_str(json_array_get(conds, i), "type"), "PodScheduled"))
      json_array_remove(conds, i);
  cleanup_free char *now = time_rfc3339_sec(time_now_ns());
  json_array_append_new(conds, json_pack("{s:s, s:s, s:n, s:s}", "type", "PodScheduled", "status",
                                         "True", "lastProbeTime", "lastTransitionTime", now));
  *out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  *out_len = strlen(*out);
  return 0;
}

int srv_bind_pod(srv_t *s, const char *ns, const char *name, const char *uid, const char *node,
                 berr_t *err)
{
  const srv_kind_t *k = srv_kind_find("", "pods");
  cleanup_free char *key = srv_obj_key(k, ns, name);
  bind_arg_t a = { .uid = uid, .node = node };
  return store_guaranteed_update(s->store, key, false, bind_fn, &a, NULL, err);
}

void srv_do_binding(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                    const char *name)
{
  cleanup_json json_t *b = srv_decode_body(q, r);
  if (!b)
    return;
  json_t *target = json_object_get(b, "target");
  const char *node = json_str(target, "name"),
             *bname = json_str(json_object_get(b, "metadata"), "name");
  if (bname && *bname && strcmp(bname, name))
    return srv_resp_status(r, 400, "BadRequest", NULL, NULL,
                           "the name of the binding (%s) does not match the pod (%s)", bname, name);
  if (!node || !*node) {
    api_errors_t errs = API_ERRORS_INIT;
    api_errors_add(&errs, API_FERR_REQUIRED, "target.name", NULL, "%s", "");
    srv_invalid(r, k, name, &errs);
    api_errors_free(&errs);
    return;
  }
  if (!srv_authorize(q, r, k, "create", ns, name, "binding", NULL, b))
    return;
  const char *uid = json_str(json_object_get(b, "metadata"), "uid");
  berr_t err = BERR_INIT;
  if (srv_bind_pod(q->srv, ns, name, uid, node, &err) < 0) {
    if (err.code == EBUSY) {
      srv_resp_status(r, 409, "Conflict", k->resource, name,
                      "Operation cannot be fulfilled on "
                      "pods/binding \"%s\": %s",
                      name, err.msg);
      berr_clear(&err);
    } else {
      srv_store_error(r, k, name, &err);
    }
    return;
  }
  json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
                         "metadata", "status", "Success", "code", 201);
  srv_resp_json(r, 201, st);
}

/* ---- delete -------------------------------------------------------------------- */

typedef struct del_opts {
  int64_t grace;        /* -1: the object's default */
  const char *uid, *rv; /* preconditions */
} del_opts_t;

typedef enum { DEL_GONE, DEL_MARKED } del_result_t;

/* One deletion attempt at the stored revision: removes the object, or
 * marks it (deletionTimestamp) when a node or a finalizer must act first.
 * *out gets the object as it is afterwards (deleted: as it was). */
static int delete_once(srv_t *s, srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                       const char *name, const del_opts_t *d, json_t **out, int64_t *out_rev,
                       del_result_t *res, berr_t *err)
{
  cleanup_free char *key = srv_obj_key(k, ns, name);
  store_kv_t kv = { 0 };
  if (store_get(s->store, key, &kv, NULL, err) < 0)
    return -1;
  int64_t rev = kv.mod_rev;
  json_t *o = srv_obj_load(kv.value, kv.len, kv.mod_rev);
  store_kv_free(&kv);
  json_t *meta = json_object_get(o, "metadata");
  const char *uid = json_str(meta, "uid");
  if (d->uid && (!uid || strcmp(uid, d->uid))) {
    berr_setc(err, EPERM, "Precondition failed: UID in precondition: %s, UID in object meta: %s",
              d->uid, uid ? uid : "");
    json_decref(o);
    return -1;
  }
  if (d->rv && strcmp(d->rv, json_str(meta, "resourceVersion") ?: "")) {
    berr_setc(err, EPERM,
              "Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in "
              "object meta: %s",
              d->rv, json_str(meta, "resourceVersion") ?: "");
    json_decref(o);
    return -1;
  }
  if (q && !srv_authorize(q, r, k, "delete", ns, name, NULL, o, NULL)) {
    json_decref(o);
    return berr_setc(err, EACCES, "answered");
  }
  int64_t grace = 0;
  if (k->graceful) {
    json_t *spec = json_object_get(o, "spec");
    const char *node = json_str(spec, "nodeName"),
               *phase = json_str(json_object_get(o, "status"), "phase");
    grace = d->grace >= 0 ? d->grace : json_int(spec, "terminationGracePeriodSeconds", 30);
    /* Nothing runs it: nobody to wait for. */
    if (!node || !*node || (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
      grace = 0;
  }
  bool marked = deletion_ts(o) != NULL;
  int64_t cur_grace = json_int(meta, "deletionGracePeriodSeconds", 0);
  /* A namespace always passes through Terminating: its contents go first. */
  bool is_ns = !strcmp(k->resource, "namespaces");
  if (!has_finalizers(o) && grace == 0 && !is_ns) {
    store_kv_t old = { 0 };
    int64_t drev;
    if (store_delete(s->store, key, rev, &old, &drev, err) < 0) {
      json_decref(o);
      return -1;
    }
    store_kv_free(&old);
    *out = o;
    *out_rev = drev;
    *res = DEL_GONE;
    return 0;
  }
  if (!marked || (k->graceful && grace < cur_grace)) {
    /* Kubernetes: deletionTimestamp is when the grace period ends. */
    cleanup_free char *ts = time_rfc3339_sec(time_now_ns() + grace * 1000000000LL);
    json_object_set_new(meta, "deletionTimestamp", json_string(ts));
    json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(grace));
    if (is_ns) {
      json_t *st = json_object_get(o, "status");
      if (json_is_object(st))
        json_object_set_new(st, "phase", json_string("Terminating"));
    }
    json_object_del(meta, "resourceVersion");
    cleanup_free char *data = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    int64_t nrev;
    if (store_update(s->store, key, data, strlen(data), rev, &nrev, err) < 0) {
      json_decref(o);
      return -1;
    }
    json_object_set_new(meta, "resourceVersion", srv_str_own(xasprintf("%" PRId64, nrev)));
    rev = nrev;
  }
  *out = o;
  *out_rev = rev;
  *res = DEL_MARKED;
  return 0;
}

/* delete_once until no concurrent write gets in the way. */
static int delete_retry(srv_t *s, srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                        const char *name, const del_opts_t *d, json_t **out, del_result_t *res,
                        berr_t *err)
{
  for (int i = 0; i < MAX_RETRIES; i++) {
    int64_t rev;
    if (delete_once(s, q, r, k, ns, name, d, out, &rev, res, err) == 0)
      break;
    if (err->code != STORE_ECONFLICT)
      return -1;
    berr_clear(err); /* written meanwhile: look again */
    if (i == MAX_RETRIES - 1)
      return berr_setc(err, STORE_ECONFLICT, "too many concurrent writes");
  }
  return 0;
}

/* delete_retry, then what a deletion sets off: a namespace's contents, the
 * end of a Terminating namespace. */
static int delete_obj(srv_t *s, srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                      const char *name, const del_opts_t *d, json_t **out, del_result_t *res,
                      berr_t *err)
{
  if (delete_retry(s, q, r, k, ns, name, d, out, res, err) < 0)
    return -1;
  if (!strcmp(k->resource, "namespaces") && *res == DEL_MARKED)
    srv_ns_finalize(s, name, err);
  else if (k->namespaced && *res == DEL_GONE) {
    /* The last straggler of a Terminating namespace? */
    bool terminating = false;
    if (srv_ns_terminating(s, ns, &terminating, err) == 0 && terminating)
      srv_ns_finalize(s, ns, err);
  }
  berr_clear(err);
  return 0;
}

int srv_obj_delete(srv_t *s, const srv_kind_t *k, const char *ns, const char *name, const char *uid,
                   berr_t *err)
{
  if (srv_obj_delete_opts(s, k, ns, name, -1, uid, NULL, err) < 0) {
    if (err->code == EPERM)
      err->code = ESTALE;
    return -1;
  }
  return 0;
}

int srv_obj_delete_opts(srv_t *s, const srv_kind_t *k, const char *ns, const char *name,
                        int64_t grace, const char *uid, const char *rv, berr_t *err)
{
  del_opts_t d = { .grace = grace, .uid = uid, .rv = rv };
  json_t *o = NULL;
  del_result_t res;
  if (delete_obj(s, NULL, NULL, k, ns, name, &d, &o, &res, err) < 0)
    return -1;
  json_decref(o);
  return 0;
}

int srv_ns_finalize(srv_t *s, const char *ns, berr_t *err)
{
  size_t n;
  const srv_kind_t *kinds = srv_kinds(&n);
  size_t left = 0;
  for (size_t i = 0; i < n; i++) {
    if (!kinds[i].namespaced)
      continue;
    cleanup_free char *prefix = srv_obj_key(&kinds[i], ns, NULL);
    store_list_req_t lr = { .prefix = prefix };
    store_list_t l = { 0 };
    if (store_list(s->store, &lr, &l, err) < 0)
      return -1;
    for (size_t j = 0; j < l.n; j++) {
      const char *name = l.items[j].key + strlen(prefix);
      json_t *o = NULL;
      del_result_t res = DEL_GONE;
      del_opts_t d = { .grace = -1 };
      berr_t e = BERR_INIT;
      if (delete_retry(s, NULL, NULL, &kinds[i], ns, name, &d, &o, &res, &e) < 0) {
        if (e.code != ENOENT)
          left++;
      } else if (res == DEL_MARKED) {
        left++;
      }
      berr_clear(&e);
      json_decref(o);
    }
    store_list_free(&l);
  }
  if (left > 0)
    return 0;
  const srv_kind_t *nk = srv_kind_find("", "namespaces");
  cleanup_free char *key = srv_obj_key(nk, NULL, ns);
  store_kv_t kv = { 0 };
  if (store_get(s->store, key, &kv, NULL, err) < 0)
    return err->code == ENOENT ? (berr_clear(err), 0) : -1;
  cleanup_json json_t *o = json_loadb(kv.value, kv.len, 0, NULL);
  int64_t rev = kv.mod_rev;
  store_kv_free(&kv);
  if (!deletion_ts(o))
    return 0; /* re-created meanwhile */
  if (store_delete(s->store, key, rev, NULL, NULL, err) < 0 && err->code != ENOENT
      && err->code != STORE_ECONFLICT)
    return -1;
  berr_clear(err);
  return 0;
}

/* DeleteOptions from the body (JSON, may be empty) and the query. */
static int delete_options(srv_req_t *q, json_t **body, del_opts_t *d, berr_t *err)
{
  d->grace = -1;
  if (q->body_len > 0) {
    json_error_t je;
    *body = json_loadb(q->body, q->body_len, 0, &je);
    if (!json_is_object(*body))
      return berr_setc(err, EINVAL, "the body is not a valid DeleteOptions: %s",
                       *body ? "not an object" : je.text);
    json_t *g = json_object_get(*body, "gracePeriodSeconds");
    if (g && !json_is_null(g)) {
      if (!json_is_integer(g) || json_integer_value(g) < 0)
        return berr_setc(err, EINVAL, "gracePeriodSeconds must be a whole number >= 0");
      d->grace = json_integer_value(g);
    }
    json_t *pre = json_object_get(*body, "preconditions");
    d->uid = json_str(pre, "uid");
    d->rv = json_str(pre, "resourceVersion");
    const char *pp = json_str(*body, "propagationPolicy");
    if (pp && strcmp(pp, "Background") && strcmp(pp, "Foreground") && strcmp(pp, "Orphan"))
      return berr_setc(err, EINVAL,
                       "propagationPolicy \"%s\": want Orphan, Background or "
                       "Foreground",
                       pp);
  }
  const char *gq = q->query(q->conn, "gracePeriodSeconds");
  if (gq && (parse_int64(gq, &d->grace, NULL) < 0 || d->grace < 0))
    return berr_setc(err, EINVAL, "invalid gracePeriodSeconds \"%s\"", gq);
  return 0;
}

void srv_do_delete(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                   const char *name)
{
  if (!k->namespaced && !strcmp(k->resource, "namespaces")
      && (!strcmp(name, "default") || !strcmp(name, "kube-system") || !strcmp(name, "kube-public")
          || !strcmp(name, "kube-node-lease")))
    return srv_resp_status(r, 403, "Forbidden", k->resource, name,
                           "namespaces \"%s\" is forbidden: this namespace may not be deleted",
                           name);
  if (!strcmp(k->resource, "priorityclasses") && srv_priorityclass_is_system(name))
    return srv_resp_status(r, 403, "Forbidden", k->resource, name,
                           "priorityclasses.scheduling.k8s.io \"%s\" is forbidden: this is a "
                           "system priority class and cannot be deleted",
                           name);
  cleanup_json json_t *body = NULL;
  del_opts_t d = { .grace = -1 };
  berr_t err = BERR_INIT;
  if (delete_options(q, &body, &d, &err) < 0) {
    srv_resp_status(r, 400, "BadRequest", NULL, NULL, "%s", err.msg);
    berr_clear(&err);
    return;
  }
  json_t *o = NULL;
  del_result_t res;
  if (delete_obj(q->srv, q, r, k, ns, name, &d, &o, &res, &err) < 0) {
    if (err.code == EACCES) {
      berr_clear(&err); /* r holds the 403 */
    } else if (err.code == EPERM) {
      srv_resp_status(r, 409, "Conflict", k->resource, name, "%s", err.msg);
      berr_clear(&err);
    } else {
      srv_store_error(r, k, name, &err);
    }
    return;
  }
  /* Kubernetes answers 200 with the object (marked or as it was) when it is
   * not gone yet, 200 with it too once deleted. */
  srv_resp_json(r, 200, o);
}
