/* ctrlmgr.c — the controller manager: runs the controllers of src/ctrl/
 * inside the server.
 *
 * One thread owns a ctrl_cache_t fed by one store watch over /registry/
 * (keys of resources no controller reads are skipped before parsing), and
 * a queue of keys (controller, namespace, name) each due at a time. A
 * change of an object asks every controller which of its keys to sync
 * (ctrl_def_t.keys); a due key is synced, and the actions it returns are
 * executed through the same code as API requests (srv_handle_api with the
 * administrator's identity: validation, defaults and admission apply to
 * the controllers' writes as to anyone's). What a write returns goes into
 * the cache at once, so the next sync sees it without waiting for the
 * watch, and the watch's own event for it is then skipped (same
 * resourceVersion). A conflict re-syncs the key after a short back-off.
 *
 * Creates of one sync run in parallel (a ReplicaSet of 1,000 pods is
 * 1,000 creates), up to CREATE_THREADS + 1 at once: each waits for the
 * store's group commit, so the more are in flight the more share one
 * fsync (8 at once gave half the pods per second of 32). Events are
 * capped per object and reason so that a large scale-up does not double
 * the writes. */
#include "ctrl/ctrl.h"
#include "server/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PREFIX           "/registry/"
#define LIST_PAGE        1000
#define RETRY_MS         1000
#define CONFLICT_BACKOFF (100 * 1000000LL)
#define CREATE_THREADS   32
/* Events per (object, reason) sent individually; more within EVENT_WINDOW
 * are counted, not written. */
#define EVENT_BURST  10
#define EVENT_WINDOW (600 * 1000000000LL)

typedef struct srv_ctrlmgr {
  srv_t *srv;
  srv_bg_t bg;
  ctrl_config_t cfg;
  ctrl_cache_t *cache;
  bool watched[64];   /* per kind index: a controller reads it */
  json_t *due;        /* "def\tns\tname" → due time (monotonic ns) */
  int64_t next_due;   /* no key is due before this (INT64_MAX: none queued) */
  json_t *event_caps; /* "uid\treason" → [count, window start] */
  int64_t event_last; /* the time in the last event's name: each name is new */
  /* failed daemon pods' back-off: kept across relists (it is no copy of the store) */
  ctrl_backoff_t *ds_backoff;
} srv_ctrlmgr_t;

/* ---- requests through the API code ------------------------------------------ */

typedef struct local_conn {
  json_t *query; /* key → value */
} local_conn_t;

static const char *local_query(void *conn, const char *key)
{
  return json_str(((local_conn_t *)conn)->query, key);
}

static const char *local_header(void *conn, const char *name)
{
  return NULL;
}

/* method path (query: {"key": "value"} or NULL) with body as the
 * administrator; the answer's code, and its body parsed (NULL when not
 * JSON). */
static int local_request(srv_t *s, const char *method, const char *path, json_t *query,
                         json_t *body, json_t **out)
{
  local_conn_t c = { .query = query };
  srv_ident_t id = { .admin = true };
  cleanup_free char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  srv_req_t q = {
    .srv = s,
    .method = method,
    .path = path,
    .content_type = "application/json",
    .accept = "application/json",
    .body = text ? text : "",
    .body_len = text ? strlen(text) : 0,
    .query = local_query,
    .header = local_header,
    .conn = &c,
    .ident = &id,
  };
  srv_resp_t r = { 0 };
  srv_handle_api(&q, &r);
  if (out)
    *out = r.body ? json_loadb(r.body, r.len, 0, NULL) : NULL;
  free(r.body);
  strv_free(r.warnings);
  return r.code;
}

/* /api/v1/namespaces/NS/pods[/NAME[/SUB]] for resource. */
static char *obj_path(const char *resource, const char *ns, const char *name, const char *sub)
{
  const srv_kind_t *k = srv_kind_by_resource(resource);
  if (!k)
    return NULL;
  buf_t b = { 0 };
  buf_printf(&b, "%s%s", *k->group ? "/apis/" : "/api/", k->api_version);
  if (k->namespaced)
    buf_printf(&b, "/namespaces/%s", ns && *ns ? ns : "default");
  buf_printf(&b, "/%s", k->resource);
  if (name)
    buf_printf(&b, "/%s", name);
  if (sub)
    buf_printf(&b, "/%s", sub);
  return buf_steal(&b);
}

/* ---- the queue --------------------------------------------------------------------- */

static void enqueue(srv_ctrlmgr_t *m, size_t def, const char *ns, const char *name, int64_t at)
{
  cleanup_free char *key = xasprintf("%zu\t%s\t%s", def, ns ? ns : "", name);
  json_t *cur = json_object_get(m->due, key);
  if (cur && json_integer_value(cur) <= at)
    return;
  json_object_set_new(m->due, key, json_integer(at));
  if (at < m->next_due)
    m->next_due = at;
}

/* Asks every controller which keys a change of an object of resource
 * affects, and queues them now. */
static void changed(srv_ctrlmgr_t *m, const char *resource, json_t *old, json_t *obj)
{
  ctrl_actions_t none = { 0 };
  ctrl_ctx_t x = { .cache = m->cache, .cfg = &m->cfg, .now = time_now_ns(), .out = &none };
  ctrl_keys_t keys = { 0 };
  for (size_t i = 0; i < ctrl_ndefs; i++)
    if (ctrl_defs[i].keys)
      ctrl_defs[i].keys(&x, i, resource, old, obj, &keys);
  int64_t now = time_mono_ns();
  for (size_t i = 0; i < keys.n; i++)
    enqueue(m, keys.v[i].def, keys.v[i].ns, keys.v[i].name, now);
  ctrl_keys_clear(&keys);
  ctrl_actions_clear(&none);
}

static json_t *sub_object(json_t *o, const char *key)
{
  json_t *v = json_object_get(o, key);
  if (!v) {
    v = json_object();
    json_object_set_new(o, key, v);
  }
  return v;
}

static json_t *sub_array(json_t *o, const char *key)
{
  json_t *v = json_object_get(o, key);
  if (!json_is_array(v)) {
    v = json_array();
    json_object_set_new(o, key, v);
  }
  return v;
}

static void keep(json_t *dst, json_t *src, const char *key)
{
  json_t *v = json_object_get(src, key);
  if (v)
    json_object_set(dst, key, v);
}

/* What the controllers read of a pod, and nothing else: a server holding
 * 10,000 pods must not hold them twice. Annotations are kept only in the
 * controllers' own domains (a Job's completion index, a deletion cost). */
static json_t *slim_pod(json_t *pod)
{
  json_t *md = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec"),
         *st = json_object_get(pod, "status");
  json_t *m = json_object(), *sp = json_object(), *s = json_object();
  static const char *const md_keys[] = { "name",
                                         "namespace",
                                         "uid",
                                         "resourceVersion",
                                         "creationTimestamp",
                                         "deletionTimestamp",
                                         "deletionGracePeriodSeconds",
                                         "labels",
                                         "ownerReferences",
                                         "generateName" };
  for (size_t i = 0; i < ARRAY_SIZE(md_keys); i++)
    keep(m, md, md_keys[i]);
  json_t *ann = json_object_get(md, "annotations"), *v;
  const char *k;
  json_object_foreach(ann, k, v)
  {
    if (str_has_prefix(k, "batch.kubernetes.io/") || str_has_prefix(k, "controller.kubernetes.io/"))
      json_object_set(sub_object(m, "annotations"), k, v);
  }
  static const char *const spec_keys[]
      = { "nodeName", "tolerations", "priority", "affinity", "schedulerName", "hostname" };
  for (size_t i = 0; i < ARRAY_SIZE(spec_keys); i++)
    keep(sp, spec, spec_keys[i]);
  static const char *const st_keys[] = { "phase", "startTime", "reason" };
  for (size_t i = 0; i < ARRAY_SIZE(st_keys); i++)
    keep(s, st, st_keys[i]);
  /* Of the conditions, Ready; of the containers, their restarts. A failed
   * pod keeps every condition's type and status and its containers' names
   * and exit codes: what a Job's podFailurePolicy matches. */
  bool failed = !strcmp(json_str(st, "phase") ?: "", "Failed");
  json_t *conds = json_object_get(st, "conditions"), *c;
  size_t i;
  json_array_foreach(conds, i, c)
  {
    const char *t = json_str(c, "type");
    if (failed && t)
      json_array_append_new(sub_array(s, "conditions"), json_pack("{s:s,s:s}", "type", t, "status",
                                                                  json_str(c, "status") ?: ""));
    else if (t && !strcmp(t, "Ready"))
      json_object_set_new(s, "conditions", json_pack("[O]", c));
  }
  const char *lists[] = { "containerStatuses", "initContainerStatuses" };
  for (size_t l = 0; l < (failed ? 2u : 1u); l++) {
    json_t *cs = json_object_get(st, lists[l]);
    if (!json_is_array(cs))
      continue;
    json_t *out = json_array();
    json_array_foreach(cs, i, c)
    {
      json_t *x = json_object();
      keep(x, c, "restartCount");
      json_t *code
          = json_object_get(json_object_get(json_object_get(c, "state"), "terminated"), "exitCode");
      if (failed) {
        keep(x, c, "name");
        if (json_is_integer(code))
          json_object_set_new(x, "state", json_pack("{s:{s:O}}", "terminated", "exitCode", code));
      }
      json_array_append_new(out, x);
    }
    json_object_set_new(s, lists[l], out);
  }
  json_t *slim = json_pack("{s:s,s:s,s:o,s:o,s:o}", "apiVersion", "v1", "kind", "Pod", "metadata",
                           m, "spec", sp, "status", s);
  json_decref(pod);
  return slim;
}

/* What the controllers read of a node: all but its status, and of the status
 * the conditions (not the addresses, capacity, nodeInfo, images… most of a
 * node's bytes). A write of the status goes through node_whole. */
static json_t *slim_node(json_t *node)
{
  json_t *st = json_object_get(node, "status");
  if (!json_is_object(st) || (json_object_size(st) == 1 && json_object_get(st, "conditions")))
    return node;
  json_t *slim = json_object(), *v;
  const char *k;
  json_object_foreach(node, k, v)
  {
    if (strcmp(k, "status"))
      json_object_set(slim, k, v);
  }
  json_t *conds = json_object_get(st, "conditions");
  json_object_set_new(slim, "status",
                      conds ? json_pack("{s:O}", "conditions", conds) : json_object());
  json_decref(node);
  return slim;
}

/* An object as the controllers keep it (stolen): pods and nodes trimmed. */
static json_t *slim(const char *resource, json_t *obj)
{
  if (!strcmp(resource, "pods"))
    return slim_pod(obj);
  if (!strcmp(resource, "nodes"))
    return slim_node(obj);
  return obj;
}

/* ---- pods from the stored bytes, decoding only what slim_pod keeps ---------- */

typedef struct pick {
  const char *const *keys; /* the members to decode (NULL: every one) */
  size_t n;
  json_t *into;
  const char *meta_vs, *meta_ve, *spec_vs, *spec_ve, *status_vs, *status_ve;
} pick_t;

static int pick_member(void *arg, const char *key, size_t klen, const char *vs, const char *ve)
{
  pick_t *p = arg;
  for (size_t i = 0; i < p->n; i++) {
    if (strlen(p->keys[i]) != klen || strncmp(p->keys[i], key, klen))
      continue;
    json_t *v = json_loadb(vs, (size_t)(ve - vs), JSON_DECODE_ANY, NULL);
    if (v) {
      char *k = xstrndup(key, klen);
      json_object_set_new(p->into, k, v);
      free(k);
    }
  }
  return 0;
}

static int top_member(void *arg, const char *key, size_t klen, const char *vs, const char *ve)
{
  pick_t *p = arg;
  if (klen == 8 && !strncmp(key, "metadata", 8)) {
    p->meta_vs = vs;
    p->meta_ve = ve;
  } else if (klen == 4 && !strncmp(key, "spec", 4)) {
    p->spec_vs = vs;
    p->spec_ve = ve;
  } else if (klen == 6 && !strncmp(key, "status", 6)) {
    p->status_vs = vs;
    p->status_ve = ve;
  }
  return 0;
}

/* A stored pod with only the members slim_pod keeps decoded (not the
 * containers, volumes… most of a pod's bytes); slim_pod finishes it. NULL
 * when the bytes are not a pod object. */
static json_t *load_pod(const char *value, size_t len, int64_t rev)
{
  static const char *const spec_keys[]
      = { "nodeName", "tolerations", "priority", "affinity", "schedulerName", "hostname" };
  static const char *const st_keys[] = {
    "phase", "startTime", "reason", "conditions", "containerStatuses", "initContainerStatuses"
  };
  pick_t top = { 0 };
  if (srv_rj_members(value, value + len, top_member, &top) < 0 || !top.meta_vs)
    return NULL;
  json_t *md = json_loadb(top.meta_vs, (size_t)(top.meta_ve - top.meta_vs), 0, NULL);
  if (!json_is_object(md)) {
    json_decref(md);
    return NULL;
  }
  json_object_set_new(md, "resourceVersion", json_sprintf("%lld", (long long)rev));
  json_t *pod = json_pack("{s:s,s:s,s:o,s:{},s:{}}", "apiVersion", "v1", "kind", "Pod", "metadata",
                          md, "spec", "status");
  pick_t sp
      = { .keys = spec_keys, .n = ARRAY_SIZE(spec_keys), .into = json_object_get(pod, "spec") };
  if (top.spec_vs)
    srv_rj_members(top.spec_vs, top.spec_ve, pick_member, &sp);
  pick_t st = { .keys = st_keys, .n = ARRAY_SIZE(st_keys), .into = json_object_get(pod, "status") };
  if (top.status_vs)
    srv_rj_members(top.status_vs, top.status_ve, pick_member, &st);
  return pod;
}

/* An object as a write or the watch returned it (stolen). */
static void put(srv_ctrlmgr_t *m, const char *resource, json_t *obj)
{
  obj = slim(resource, obj);
  json_t *md = json_object_get(obj, "metadata");
  int64_t cur = ctrl_cache_version(m->cache, resource, json_str(md, "namespace") ?: "",
                                   json_str(md, "name"));
  const char *rv = json_str(md, "resourceVersion");
  if (cur > 0 && rv && strtoll(rv, NULL, 10) == cur) { /* our own write, seen again */
    json_decref(obj);
    return;
  }
  json_t *old = ctrl_cache_put(m->cache, resource, obj);
  if (old || cur < 0) /* not ignored as older than what the cache has */
    changed(m, resource, old, obj);
  json_decref(old);
  json_decref(obj);
}

static void removed(srv_ctrlmgr_t *m, const char *resource, const char *ns, const char *name)
{
  json_t *old = ctrl_cache_remove(m->cache, resource, ns, name);
  if (old)
    changed(m, resource, old, NULL);
  json_decref(old);
}

/* ---- executing actions ------------------------------------------------------------ */

typedef struct create_job {
  srv_t *srv;
  ctrl_action_t *acts;
  size_t n;
  json_t **results; /* per action: the created object, or NULL */
  atomic_size_t next;
} create_job_t;

static void create_one(srv_t *s, ctrl_action_t *a, json_t **result)
{
  json_t *md = json_object_get(a->obj, "metadata");
  cleanup_free char *path = obj_path(a->resource, json_str(md, "namespace"), NULL, NULL);
  json_t *out = NULL;
  int code = path ? local_request(s, "POST", path, NULL, a->obj, &out) : 404;
  if (code == 201 || code == 200) {
    *result = out;
    return;
  }
  log_warn("msg=\"controller create failed\" resource=%s ns=%s code=%d err=\"%s\"", a->resource,
           json_str(md, "namespace") ?: "", code, json_str(out, "message") ?: "");
  json_decref(out);
}

static void *create_worker(void *arg)
{
  create_job_t *j = arg;
  size_t i;
  while ((i = atomic_fetch_add(&j->next, 1)) < j->n)
    create_one(j->srv, &j->acts[i], &j->results[i]);
  return NULL;
}

/* Runs the creates among acts (n of them) in parallel; results[i] for
 * acts[i] when it was a create that succeeded. */
static void run_creates(srv_t *s, ctrl_action_t *acts, size_t n, json_t **results)
{
  ctrl_action_t **c = xcalloc(n, sizeof *c);
  size_t nc = 0;
  for (size_t i = 0; i < n; i++)
    if (acts[i].op == CTRL_CREATE)
      c[nc++] = &acts[i];
  /* A contiguous array of the creates, so that workers index it. */
  ctrl_action_t *flat = xcalloc(nc ? nc : 1, sizeof *flat);
  json_t **res = xcalloc(nc ? nc : 1, sizeof *res);
  for (size_t i = 0; i < nc; i++)
    flat[i] = *c[i];
  create_job_t j = { .srv = s, .acts = flat, .n = nc, .results = res };
  size_t nt = nc / 2 < CREATE_THREADS ? nc / 2 : CREATE_THREADS;
  pthread_t th[CREATE_THREADS];
  size_t started = 0;
  for (size_t i = 0; i < nt; i++)
    if (pthread_create(&th[started], NULL, create_worker, &j) == 0)
      started++;
  create_worker(&j);
  for (size_t i = 0; i < started; i++)
    pthread_join(th[i], NULL);
  for (size_t i = 0, k = 0; i < n; i++)
    if (acts[i].op == CTRL_CREATE)
      results[i] = res[k++];
  free(res);
  free(flat);
  free(c);
}

static bool event_allowed(srv_ctrlmgr_t *m, const char *uid, const char *reason)
{
  cleanup_free char *key = xasprintf("%s\t%s", uid ? uid : "", reason);
  int64_t now = time_mono_ns();
  json_t *cap = json_object_get(m->event_caps, key);
  if (!cap || now - json_integer_value(json_array_get(cap, 1)) > EVENT_WINDOW) {
    json_object_set_new(m->event_caps, key, json_pack("[I,I]", (json_int_t)1, (json_int_t)now));
    if (json_object_size(m->event_caps) > 100000)
      json_object_clear(m->event_caps); /* forget old windows rather than grow */
    return true;
  }
  int64_t n = json_integer_value(json_array_get(cap, 0)) + 1;
  json_array_set_new(cap, 0, json_integer(n));
  return n <= EVENT_BURST;
}

static void send_event(srv_ctrlmgr_t *m, const char *component, ctrl_action_t *a)
{
  json_t *inv = a->obj, *md = json_object_get(inv, "metadata");
  const char *ns = json_str(md, "namespace") ?: "default";
  if (!event_allowed(m, json_str(md, "uid"), a->reason))
    return;
  int64_t now = time_now_ns();
  cleanup_free char *ts = time_rfc3339_sec(now);
  /* Named as Kubernetes' event recorder names them: OBJECT.<ns in hex> (a
   * generateName "OBJECT." is no valid prefix: it ends with a dot). */
  m->event_last = now > m->event_last ? now : m->event_last + 1;
  cleanup_free char *ename
      = xasprintf("%s.%" PRIx64, json_str(md, "name") ?: "event", (uint64_t)m->event_last);
  json_t *ev = json_pack(
      "{s:s,s:s,s:{s:s,s:s},s:{s:s?,s:s?,s:s,s:s?,s:s?,s:s?},s:s,s:s,s:s,s:{s:s},s:s,s:s,s:i,"
      "s:s}",
      "apiVersion", "v1", "kind", "Event", "metadata", "name", ename, "namespace", ns,
      "involvedObject", "apiVersion", json_str(inv, "apiVersion"), "kind", json_str(inv, "kind"),
      "namespace", ns, "name", json_str(md, "name"), "uid", json_str(md, "uid"), "resourceVersion",
      json_str(md, "resourceVersion"), "reason", a->reason, "message", a->message, "type", a->type,
      "source", "component", component, "firstTimestamp", ts, "lastTimestamp", ts, "count", 1,
      "reportingComponent", component);
  cleanup_free char *path = obj_path("events", ns, NULL, NULL);
  int code = local_request(m->srv, "POST", path, NULL, ev, NULL);
  if (code != 201)
    log_warn("msg=\"controller event not written\" code=%d reason=%s", code, a->reason);
  json_decref(ev);
}

/* The stored object of resource that want (a controller's write of what it
 * read trimmed) is for, when still at want's resourceVersion; NULL with
 * *code set (404 gone, 409 changed since the controller read it). */
static json_t *stored_for(srv_t *s, const char *resource, json_t *want, int *code)
{
  json_t *wmd = json_object_get(want, "metadata");
  const srv_kind_t *k = srv_kind_find("", resource);
  json_t *full = NULL;
  int64_t rev = 0;
  srv_resp_t r = { 0 };
  if (srv_obj_get(s, k, json_str(wmd, "namespace"), json_str(wmd, "name"), &full, &rev, &r) < 0) {
    *code = r.code;
    free(r.body);
    return NULL;
  }
  const char *rv = json_str(json_object_get(full, "metadata"), "resourceVersion"),
             *wrv = json_str(wmd, "resourceVersion");
  if (!rv || !wrv || strcmp(rv, wrv)) {
    json_decref(full);
    *code = 409;
    return NULL;
  }
  return full;
}

/* A controller's write of a node's status (slim_node), carried onto the
 * whole stored node: its conditions from want, the rest from the store. */
static json_t *node_whole(srv_t *s, json_t *want, int *code)
{
  json_t *full = stored_for(s, "nodes", want, code);
  if (!full)
    return NULL;
  json_t *conds = json_object_get(json_object_get(want, "status"), "conditions");
  json_t *st = sub_object(full, "status");
  if (conds)
    json_object_set(st, "conditions", conds);
  else
    json_object_del(st, "conditions");
  return full;
}

/* A controller's write of a pod it read trimmed (slim_pod), carried onto
 * the whole stored pod: what controllers change on pods (labels,
 * ownerReferences, finalizers, their own annotations, status conditions)
 * is taken from want, everything else from the store. NULL with *code set
 * as stored_for. */
static json_t *pod_whole(srv_t *s, json_t *want, int *code)
{
  json_t *wmd = json_object_get(want, "metadata");
  json_t *full = stored_for(s, "pods", want, code);
  if (!full)
    return NULL;
  json_t *md = json_object_get(full, "metadata");
  static const char *const whole[] = { "labels", "ownerReferences", "finalizers" };
  for (size_t i = 0; i < ARRAY_SIZE(whole); i++) {
    json_t *v = json_object_get(wmd, whole[i]);
    if (v)
      json_object_set(md, whole[i], v);
    else
      json_object_del(md, whole[i]);
  }
  json_t *ann = json_object_get(md, "annotations"), *wann = json_object_get(wmd, "annotations"), *v;
  const char *key;
  void *tmp;
  json_object_foreach_safe(ann, tmp, key, v)
  {
    if ((str_has_prefix(key, "batch.kubernetes.io/")
         || str_has_prefix(key, "controller.kubernetes.io/"))
        && !json_object_get(wann, key))
      json_object_del(ann, key);
  }
  json_object_foreach(wann, key, v)
  {
    json_object_set(sub_object(md, "annotations"), key, v);
  }
  json_t *st = sub_object(full, "status"), *c;
  size_t i;
  json_array_foreach(json_object_get(json_object_get(want, "status"), "conditions"), i, c)
  {
    json_t *conds = json_object_get(st, "conditions"), *x;
    if (!json_is_array(conds)) {
      conds = json_array();
      json_object_set_new(st, "conditions", conds);
    }
    size_t j;
    bool found = false;
    json_array_foreach(conds, j, x)
    {
      if (!strcmp(json_str(x, "type") ?: "", json_str(c, "type") ?: "-")) {
        json_array_set(conds, j, c);
        found = true;
        break;
      }
    }
    if (!found)
      json_array_append(conds, c);
  }
  return full;
}

/* Executes one sync's actions; true when one of them met a conflict (the
 * key must be synced again). */
static bool execute(srv_ctrlmgr_t *m, const ctrl_def_t *def, ctrl_actions_t *acts)
{
  srv_t *s = m->srv;
  bool conflict = false;
  cleanup_json json_t *rvs = json_object(); /* object → [rv sent, rv now] */
  json_t **created = xcalloc(acts->n ? acts->n : 1, sizeof *created);
  run_creates(s, acts->v, acts->n, created);
  cleanup_free char *component = xasprintf("%s-controller", def->name);
  for (size_t i = 0; i < acts->n; i++) {
    ctrl_action_t *a = &acts->v[i];
    json_t *md = json_object_get(a->obj, "metadata"), *out = NULL;
    int code = 0;
    switch (a->op) {
    case CTRL_CREATE:
      if (created[i])
        put(m, a->resource, created[i]);
      break;
    case CTRL_UPDATE:
    case CTRL_UPDATE_STATUS: {
      /* A sync may write an object twice (its status, then its metadata),
       * both computed from the version it read: the second goes on top of
       * the first. */
      cleanup_free char *okey = xasprintf(
          "%s\t%s\t%s", a->resource, json_str(md, "namespace") ?: "", json_str(md, "name") ?: "");
      json_t *moved = json_object_get(rvs, okey);
      const char *rv = json_str(md, "resourceVersion");
      if (moved && rv && !strcmp(rv, json_string_value(json_array_get(moved, 0))))
        json_object_set(md, "resourceVersion", json_array_get(moved, 1));
      cleanup_free char *sent_rv = xstrdup(json_str(md, "resourceVersion") ?: "");
      cleanup_json json_t *whole = NULL;
      /* the cache's pods and nodes' statuses are trimmed (a node's own
       * writes keep its stored status) */
      bool pod = !strcmp(a->resource, "pods"),
           node_st = a->op == CTRL_UPDATE_STATUS && !strcmp(a->resource, "nodes");
      if (pod || node_st) {
        whole = pod ? pod_whole(s, a->obj, &code) : node_whole(s, a->obj, &code);
        if (!whole) {
          if (code == 409)
            conflict = true;
          else
            removed(m, a->resource, json_str(md, "namespace") ?: "", json_str(md, "name"));
          break;
        }
      }
      cleanup_free char *path
          = obj_path(a->resource, json_str(md, "namespace"), json_str(md, "name"),
                     a->op == CTRL_UPDATE_STATUS ? "status" : NULL);
      code = path ? local_request(s, "PUT", path, NULL, whole ? whole : a->obj, &out) : 404;
      if (code == 200 && out) {
        const char *nrv = json_str(json_object_get(out, "metadata"), "resourceVersion");
        if (nrv)
          json_object_set_new(rvs, okey, json_pack("[s,s]", sent_rv, nrv));
        put(m, a->resource, out);
        out = NULL;
      } else if (code == 409) {
        conflict = true;
      } else if (code == 404) {
        removed(m, a->resource, json_str(md, "namespace") ?: "", json_str(md, "name"));
      } else {
        log_warn("msg=\"controller update failed\" controller=%s resource=%s name=%s code=%d "
                 "err=\"%s\"",
                 def->name, a->resource, json_str(md, "name") ?: "", code,
                 json_str(out, "message") ?: "");
      }
      break;
    }
    case CTRL_DELETE: {
      cleanup_free char *path = obj_path(a->resource, a->ns, a->name, NULL);
      json_t *opts = json_pack("{s:s,s:s,s:s}", "apiVersion", "v1", "kind", "DeleteOptions",
                               "propagationPolicy", "Background");
      if (a->uid)
        json_object_set_new(opts, "preconditions", json_pack("{s:s}", "uid", a->uid));
      if (a->grace_s >= 0)
        json_object_set_new(opts, "gracePeriodSeconds", json_integer(a->grace_s));
      code = path ? local_request(s, "DELETE", path, NULL, opts, &out) : 404;
      json_decref(opts);
      const char *kind = json_str(out, "kind");
      if (code == 200 && out && kind && strcmp(kind, "Status")) {
        put(m, a->resource, out); /* still there: being deleted gracefully */
        out = NULL;
      } else if (code == 200 || code == 404) {
        removed(m, a->resource, a->ns, a->name);
      } else if (code == 409) {
        conflict = true;
      } else {
        log_warn("msg=\"controller delete failed\" controller=%s resource=%s name=%s/%s "
                 "code=%d",
                 def->name, a->resource, a->ns, a->name, code);
      }
      break;
    }
    case CTRL_EVENT:
      send_event(m, component, a);
      break;
    }
    json_decref(out);
  }
  free(created);
  return conflict;
}

/* poll()'s timeout until monotonic time t (-1: never). */
static int until(int64_t t)
{
  if (t == INT64_MAX)
    return -1;
  int64_t ms = (t - time_mono_ns()) / 1000000;
  return ms < 0 ? 0 : ms > RETRY_MS * 60 ? RETRY_MS * 60 : (int)ms + 1;
}

/* Syncs every key that is due; returns the time until the next one (ms,
 * -1: none). */
static int run_due(srv_ctrlmgr_t *m)
{
  int64_t now = time_mono_ns();
  const char *key;
  json_t *at;
  /* Most wake-ups are watch events with nothing due yet: the keys (one per
   * node, waiting for its heartbeat deadline) are walked only when one is. */
  if (now < m->next_due)
    return until(m->next_due);
  json_t *ready = json_array();
  json_object_foreach(m->due, key, at)
  {
    if (json_integer_value(at) <= now)
      json_array_append_new(ready, json_string(key));
  }
  size_t i;
  json_t *k;
  json_array_foreach(ready, i, k)
  {
    const char *s = json_string_value(k);
    json_object_del(m->due, s);
    char *end;
    size_t def = strtoul(s, &end, 10);
    const char *ns = end + 1, *tab = strchr(ns, '\t');
    if (def >= ctrl_ndefs || !tab)
      continue;
    cleanup_free char *nsv = xstrndup(ns, (size_t)(tab - ns));
    const char *name = tab + 1;
    ctrl_actions_t acts = { 0 };
    ctrl_ctx_t x = { .cache = m->cache,
                     .cfg = &m->cfg,
                     .now = time_now_ns(),
                     .out = &acts,
                     .ds_backoff = m->ds_backoff };
    ctrl_defs[def].sync(&x, nsv, name);
    if (acts.n)
      log_debug("msg=\"controller sync\" controller=%s key=%s/%s actions=%zu", ctrl_defs[def].name,
                nsv, name, acts.n);
    bool conflict = execute(m, &ctrl_defs[def], &acts);
    ctrl_actions_clear(&acts);
    ctrl_cache_trim(m->cache, CTRL_CACHE_HOT); /* nothing of this sync is held any more */
    int64_t t = time_mono_ns();
    if (conflict)
      enqueue(m, def, nsv, name, t + CONFLICT_BACKOFF);
    else if (x.requeue_after_ns > 0)
      enqueue(m, def, nsv, name, t + x.requeue_after_ns);
    if (atomic_load(&m->srv->stopping))
      break;
  }
  json_decref(ready);
  m->next_due = INT64_MAX;
  json_object_foreach(m->due, key, at)
  {
    if (json_integer_value(at) < m->next_due)
      m->next_due = json_integer_value(at);
  }
  return until(m->next_due);
}

/* ---- following the store ------------------------------------------------------ */

/* The resource of a store key "/registry/RESOURCE/…" when a controller
 * reads it, else NULL (the kind's static name). */
static const char *watched_resource(srv_ctrlmgr_t *m, const char *key)
{
  if (!str_has_prefix(key, PREFIX))
    return NULL;
  const char *r = key + strlen(PREFIX), *slash = strchr(r, '/');
  if (!slash)
    return NULL;
  size_t n;
  const srv_kind_t *ks = srv_kinds(&n);
  for (size_t i = 0; i < n && i < ARRAY_SIZE(m->watched); i++)
    if (m->watched[i] && strlen(ks[i].resource) == (size_t)(slash - r)
        && !strncmp(ks[i].resource, r, (size_t)(slash - r)))
      return ks[i].resource;
  return NULL;
}

static void on_put(srv_ctrlmgr_t *m, const char *key, const char *value, size_t len, int64_t rev)
{
  const char *res = watched_resource(m, key);
  if (!res)
    return;
  json_t *o = !strcmp(res, "pods") ? load_pod(value, len, rev) : NULL;
  if (!o)
    o = srv_obj_load(value, len, rev);
  if (o)
    put(m, res, o);
}

static void on_delete(srv_ctrlmgr_t *m, const char *key)
{
  const char *res = watched_resource(m, key);
  if (!res)
    return;
  /* "/registry/RES/NS/NAME" or "/registry/RES/NAME" */
  const char *rest = key + strlen(PREFIX) + strlen(res) + 1, *slash = strchr(rest, '/');
  cleanup_free char *ns = slash ? xstrndup(rest, (size_t)(slash - rest)) : xstrdup("");
  removed(m, res, ns, slash ? slash + 1 : rest);
}

/* Lists everything the controllers read into a fresh cache, queues every
 * controller's objects, and returns the revision to watch from. */
static int relist(srv_ctrlmgr_t *m, int64_t *rev, berr_t *err)
{
  ctrl_cache_free(m->cache);
  m->cache = ctrl_cache_new();
  json_object_clear(m->due);
  m->next_due = INT64_MAX;
  store_list_req_t lr = { .prefix = PREFIX, .limit = LIST_PAGE };
  cleanup_free char *after = NULL;
  for (;;) {
    store_list_t l = { 0 };
    lr.after = after;
    if (store_list(m->srv->store, &lr, &l, err) < 0)
      return -1;
    for (size_t i = 0; i < l.n; i++) {
      const char *res = watched_resource(m, l.items[i].key);
      json_t *o = res && !strcmp(res, "pods")
                      ? load_pod(l.items[i].value, l.items[i].len, l.items[i].mod_rev)
                      : NULL;
      if (!o && res)
        o = srv_obj_load(l.items[i].value, l.items[i].len, l.items[i].mod_rev);
      if (o)
        o = slim(res, o);
      if (o) {
        json_decref(ctrl_cache_put(m->cache, res, o));
        json_decref(o);
      }
    }
    ctrl_cache_trim(m->cache, CTRL_CACHE_HOT);
    lr.rev = l.rev;
    free(after);
    after = steal_ptr(l.more_after);
    store_list_free(&l);
    if (!after)
      break;
  }
  *rev = lr.rev;
  int64_t now = time_mono_ns();
  for (size_t d = 0; d < ctrl_ndefs; d++) {
    json_t *all = ctrl_cache_list(m->cache, ctrl_defs[d].resource, NULL), *o;
    size_t i;
    json_array_foreach(all, i, o)
    {
      json_t *md = json_object_get(o, "metadata");
      enqueue(m, d, json_str(md, "namespace") ?: "", json_str(md, "name"), now);
    }
    json_decref(all);
  }
  return 0;
}

static bool stopped(srv_ctrlmgr_t *m, int timeout_ms)
{
  return srv_bg_stopped(&m->bg, timeout_ms);
}

static void *ctrlmgr_main(void *arg)
{
  srv_ctrlmgr_t *m = arg;
  pthread_setname_np(pthread_self(), "ctrlmgr");
  berr_t err = BERR_INIT;
  for (;;) {
    int64_t rev = 0;
    store_watch_t *w = NULL;
    if (relist(m, &rev, &err) < 0 || store_watch(m->srv->store, PREFIX, true, rev, &w, &err) < 0) {
      bool gone = err.code == ESHUTDOWN;
      log_warn("msg=\"controllers: cannot follow the store\" err=\"%s\"", err.msg ?: "");
      berr_clear(&err);
      if (gone || stopped(m, RETRY_MS))
        break;
      continue;
    }
    bool stop = false, relist_now = false;
    while (!stop && !relist_now) {
      int timeout = run_due(m);
      struct pollfd p[2] = { { .fd = store_watch_fd(w), .events = POLLIN },
                             { .fd = m->bg.stop_fd, .events = POLLIN } };
      if (poll(p, 2, timeout) < 0 && errno != EINTR)
        break;
      if (p[1].revents) {
        stop = true;
        break;
      }
      const store_event_t *ev;
      int rc;
      while ((rc = store_watch_next(w, &ev, &err)) == 1) {
        if (ev->type == STORE_DELETE)
          on_delete(m, ev->key);
        else
          on_put(m, ev->key, ev->value, ev->len, ev->mod_rev);
        store_event_release(ev);
        ctrl_cache_trim(m->cache, CTRL_CACHE_HOT);
      }
      if (rc < 0) { /* expired or closed: list again */
        log_info("msg=\"controllers: watch ended, listing again\" err=\"%s\"", err.msg ?: "");
        berr_clear(&err);
        relist_now = true;
      }
    }
    store_watch_close(w);
    if (stop || atomic_load(&m->srv->stopping))
      break;
  }
  return NULL;
}

int srv_ctrlmgr_start(srv_t *s, const ctrl_config_t *cfg, berr_t *err)
{
  srv_ctrlmgr_t *m = xcalloc(1, sizeof *m);
  m->srv = s;
  m->cfg = *cfg;
  m->due = json_object();
  m->next_due = INT64_MAX;
  m->event_caps = json_object();
  m->cache = ctrl_cache_new();
  m->ds_backoff = ctrl_backoff_new(CTRL_DS_BACKOFF_INITIAL_NS, CTRL_DS_BACKOFF_MAX_NS);
  size_t n;
  const srv_kind_t *ks = srv_kinds(&n);
  for (const char *const *w = ctrl_watched; *w; w++) {
    const char *slash = strchr(*w, '/');
    cleanup_free char *group = xstrndup(*w, (size_t)(slash - *w));
    const srv_kind_t *k = srv_kind_find(group, slash + 1);
    if (k && (size_t)(k - ks) < ARRAY_SIZE(m->watched))
      m->watched[k - ks] = true;
  }
  if (srv_bg_start(&m->bg, "controller manager", ctrlmgr_main, m, err) < 0) {
    json_decref(m->due);
    json_decref(m->event_caps);
    ctrl_cache_free(m->cache);
    ctrl_backoff_free(m->ds_backoff);
    free(m);
    return -1;
  }
  s->ctrlmgr = m;
  return 0;
}

void srv_ctrlmgr_stop(srv_t *s)
{
  srv_ctrlmgr_t *m = s->ctrlmgr;
  if (!m)
    return;
  srv_bg_stop(&m->bg);
  json_decref(m->due);
  json_decref(m->event_caps);
  ctrl_cache_free(m->cache);
  ctrl_backoff_free(m->ds_backoff);
  free(m);
  s->ctrlmgr = NULL;
}
