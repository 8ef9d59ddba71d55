/* agent_pods.c — the pods bound to this node, between the API and pod_mgr.
 *
 * In: one thread lists `spec.nodeName=NAME` pods and watches from the list's
 * resourceVersion; ADDED/MODIFIED go to pod_mgr_sync, DELETED to
 * pod_mgr_forget, and after every (re-)list the uids the manager knows but
 * the API no longer has are forgotten. A watch that ends is resumed from
 * the last resourceVersion seen; 410 Expired (or an ERROR event) re-lists.
 *
 * Out: pod_mgr's callbacks run on its worker threads and must not wait for
 * the network, so they only queue work for one writer thread: status
 * strategic merge patches (coalesced: a newer status for a pod replaces the queued one, and
 * one writer serialises them per pod), events, and the final DELETE with a
 * uid precondition. Statuses and deletes go first; an event waits while
 * the pod manager is busy (up to EVENT_HOLD_NS), so that in a burst of pod
 * starts the CPU goes to the pods and their statuses, and their events
 * follow. Failed writes that may succeed later (server down, 5xx)
 * are retried; 404 means the pod is gone and the write is dropped. A status
 * for a uid that the watch says is no longer the pod of that name (a pod
 * deleted and created again with the same name) is dropped too.
 *
 * Events are counted as the kubelet's event correlator counts them: the
 * same event about the same pod (type, reason, message) within
 * EVENT_REPEAT_NS is one Event whose count and lastTimestamp go up (a
 * merge patch), so that a probe failing every period does not make a new
 * object every time. */
#include "agent/agent_internal.h"
#include "api/api.h"

#include <errno.h>
#include <nettle/base64.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WATCH_TIMEOUT_S 300
#define WRITER_FLUSH_MS 2000
#define MAX_QUEUED_OPS  4096
#define EVENT_REPEAT_NS (600LL * 1000000000LL)
#define EVENT_CACHE_MAX 4096
#define EVENT_HOLD_NS   (1000 * 1000000LL)
#define EVENT_POLL_NS   (10 * 1000000LL)

enum op_kind { OP_STATUS, OP_DELETE, OP_EVENT };

struct agent_op {
  agent_op_t *next;
  enum op_kind kind;
  char *ns, *name, *uid;
  json_t *body;  /* the status (OP_STATUS) or the Event (OP_EVENT) */
  char *ev_name; /* OP_EVENT: the Event's name */
  bool repeat;   /* OP_EVENT: a repeat of one sent before: patched */
  int64_t mono;  /* when it was queued */
};

static void op_free(agent_op_t *op)
{
  if (!op)
    return;
  free(op->ns);
  free(op->name);
  free(op->uid);
  free(op->ev_name);
  json_decref(op->body);
  free(op);
}

/* ---- the writer's queue ------------------------------------------------------------- */

static size_t queue_len(agent_t *a)
{
  size_t n = 0;
  for (agent_op_t *o = a->ops_head; o; o = o->next)
    n++;
  return n;
}

/* Appends op (stolen), or for a status replaces the queued status of the
 * same uid. */
static void enqueue(agent_t *a, agent_op_t *op)
{
  pthread_mutex_lock(&a->lock);
  if (op->kind == OP_STATUS) {
    for (agent_op_t *o = a->ops_head; o; o = o->next) {
      if (o->kind == OP_STATUS && !strcmp(o->uid, op->uid)) {
        json_decref(o->body);
        o->body = steal_ptr(op->body);
        pthread_mutex_unlock(&a->lock);
        op_free(op);
        return;
      }
    }
  }
  if (op->kind == OP_EVENT && op->repeat) {
    /* A repeat of an event still queued: the queued one gets the count. */
    for (agent_op_t *o = a->ops_head; o; o = o->next) {
      if (o->kind == OP_EVENT && !strcmp(o->ev_name, op->ev_name)) {
        json_decref(o->body);
        o->body = steal_ptr(op->body);
        pthread_mutex_unlock(&a->lock);
        op_free(op);
        return;
      }
    }
  }
  if (op->kind == OP_EVENT && queue_len(a) >= MAX_QUEUED_OPS) {
    pthread_mutex_unlock(&a->lock);
    log_warn("msg=\"event dropped: queue full\" pod=%s/%s", op->ns, op->name);
    op_free(op);
    return;
  }
  if (a->ops_tail)
    a->ops_tail->next = op;
  else
    a->ops_head = op;
  a->ops_tail = op;
  pthread_cond_broadcast(&a->cond);
  pthread_mutex_unlock(&a->lock);
}

/* Puts a failed op back in front, unless a newer status of its pod came. */
static void requeue(agent_t *a, agent_op_t *op)
{
  pthread_mutex_lock(&a->lock);
  if (op->kind == OP_STATUS)
    for (agent_op_t *o = a->ops_head; o; o = o->next)
      if (o->kind == OP_STATUS && !strcmp(o->uid, op->uid)) {
        pthread_mutex_unlock(&a->lock);
        op_free(op);
        return;
      }
  op->next = a->ops_head;
  a->ops_head = op;
  if (!a->ops_tail)
    a->ops_tail = op;
  pthread_mutex_unlock(&a->lock);
}

static agent_op_t *new_op(enum op_kind kind, const char *ns, const char *name, const char *uid)
{
  agent_op_t *op = xcalloc(1, sizeof *op);
  op->kind = kind;
  op->ns = xstrdup(ns ? ns : "");
  op->name = xstrdup(name ? name : "");
  op->uid = xstrdup(uid ? uid : "");
  op->mono = time_mono_ns();
  return op;
}

/* ---- pod_mgr's callbacks ---------------------------------------------------------- */

static void on_status(void *arg, const char *ns, const char *name, const char *uid, json_t *status)
{
  agent_op_t *op = new_op(OP_STATUS, ns, name, uid);
  op->body = json_deep_copy(status);
  enqueue(arg, op);
}

static void on_terminated(void *arg, const char *ns, const char *name, const char *uid)
{
  enqueue(arg, new_op(OP_DELETE, ns, name, uid));
}

static void on_event(void *arg, json_t *pod, const char *type, const char *reason,
                     const char *message)
{
  agent_t *a = arg;
  json_t *meta = json_object_get(pod, "metadata");
  const char *ns = json_str(meta, "namespace") ? json_str(meta, "namespace") : "default";
  const char *name = json_str(meta, "name") ? json_str(meta, "name") : "";
  const char *uid = json_str(meta, "uid") ? json_str(meta, "uid") : "";
  cleanup_free char *now = time_rfc3339_sec(time_now_ns()), *ev_name = NULL, *first = NULL;
  cleanup_free char *key = xasprintf("%s\x1f%s\x1f%s\x1f%s", uid, type ? type : "",
                                     reason ? reason : "", message ? message : "");
  int64_t count = 1, mono = time_mono_ns();
  pthread_mutex_lock(&a->lock);
  json_t *seen = json_object_get(a->ev_cache, key);
  if (seen && mono - json_int(seen, "mono", 0) < EVENT_REPEAT_NS) {
    count = json_int(seen, "count", 1) + 1;
    ev_name = xstrdup(json_str(seen, "name") ?: "");
    first = xstrdup(json_str(seen, "first") ?: now);
  } else {
    if (json_object_size(a->ev_cache) >= EVENT_CACHE_MAX)
      json_object_clear(a->ev_cache); /* forgetting only costs a new Event */
    cleanup_free char *hex = agent_random_hex(8);
    /* "<pod>.<16 hex>", kept within a name's 253 characters. */
    int keep = (int)strlen(name) > API_DNS1123_SUBDOMAIN_MAX - 17 ? API_DNS1123_SUBDOMAIN_MAX - 17
                                                                  : (int)strlen(name);
    ev_name = xasprintf("%.*s.%s", keep, name, hex);
    first = xstrdup(now);
  }
  json_object_set_new(a->ev_cache, key,
                      json_pack("{s:s, s:s, s:I, s:I}", "name", ev_name, "first", first, "count",
                                (json_int_t)count, "mono", (json_int_t)mono));
  pthread_mutex_unlock(&a->lock);
  json_t *involved = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "Pod", "namespace", ns, "name",
                               name, "uid", uid, "apiVersion", "v1");
  if (json_str(meta, "resourceVersion"))
    json_object_set_new(involved, "resourceVersion",
                        json_string(json_str(meta, "resourceVersion")));
  agent_op_t *op = new_op(OP_EVENT, ns, name, uid);
  op->body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:i, "
                       "s:s, s:s}",
                       "apiVersion", "v1", "kind", "Event", "metadata", "name", ev_name,
                       "namespace", ns, "involvedObject", involved, "reason", reason ? reason : "",
                       "message", message ? message : "", "type", type ? type : "Normal", "source",
                       "component", AGENT_COMPONENT, "host", a->node_name, "firstTimestamp", first,
                       "lastTimestamp", now, "count", (int)count, "reportingComponent",
                       AGENT_COMPONENT, "reportingInstance", a->node_name);
  op->ev_name = xstrdup(ev_name);
  op->repeat = count > 1;
  log_debug("msg=\"pod event\" pod=%s/%s type=%s reason=%s", ns, name, type ? type : "",
            reason ? reason : "");
  enqueue(a, op);
}

/* Decodes base64 into a NUL-terminated string. */
static int b64_decode(const char *s, char **out, berr_t *err)
{
  size_t bad = 0;
  if (api_base64_decoded_len(s, &bad) < 0)
    return berr_setc(err, EINVAL, "illegal base64 data at input byte %zu", bad);
  size_t n = strlen(s), len = BASE64_DECODE_LENGTH(n);
  uint8_t *buf = xmalloc(len + 1);
  struct base64_decode_ctx ctx;
  base64_decode_init(&ctx);
  if (!base64_decode_update(&ctx, &len, buf, n, s) || !base64_decode_final(&ctx)) {
    free(buf);
    return berr_setc(err, EINVAL, "illegal base64 data");
  }
  buf[len] = '\0';
  *out = (char *)buf;
  return 0;
}

/* All of an object's data as one JSON string map, every value decoded: a
 * configmap's data and binaryData, or a secret's data. */
static int whole_map(json_t *obj, bool secret, char **out, berr_t *err)
{
  cleanup_json json_t *m = json_object();
  const char *k;
  json_t *v;
  if (!secret)
    json_object_foreach(json_object_get(obj, "data"), k, v)
    {
      if (json_is_string(v))
        json_object_set(m, k, v);
    }
  json_object_foreach(json_object_get(obj, secret ? "data" : "binaryData"), k, v)
  {
    cleanup_free char *dec = NULL;
    if (!json_is_string(v))
      continue;
    if (b64_decode(json_string_value(v), &dec, err) < 0)
      return berr_wrap(err, "key %s", k);
    /* Values are strings: bytes that are not UTF-8 cannot be carried. */
    json_t *s = json_string(dec);
    if (!s)
      return berr_setc(err, EINVAL, "key %s: the value is not UTF-8 text", k);
    json_object_set_new(m, k, s);
  }
  *out = json_dumps(m, JSON_COMPACT);
  return 0;
}

static int lookup(void *arg, const char *kind, const char *ns, const char *name, const char *key,
                  char **value, berr_t *err)
{
  agent_t *a = arg;
  bool secret = !strcmp(kind, "secrets");
  const char *what = secret ? "secret" : "configmap";
  if (!agent_path_segment_ok(ns) || !agent_path_segment_ok(name))
    return berr_setc(err, ENOENT, "%s \"%s\" not found", what, name ? name : "");
  cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/%s/%s", ns, kind, name);
  cleanup_json json_t *obj = NULL;
  long code = 0;
  pthread_mutex_lock(&a->lookup_lock);
  if (!a->lookup_kc)
    a->lookup_kc = agent_kc(a);
  int rc = kc_json(a->lookup_kc, "GET", path, NULL, NULL, &code, &obj, err);
  pthread_mutex_unlock(&a->lookup_lock);
  if (rc < 0)
    return berr_wrap(err, "get %s %s/%s", what, ns, name);
  if (code == 404)
    return berr_setc(err, ENOENT, "%s \"%s\" not found", what, name);
  if (code != 200) {
    cleanup_free char *msg = agent_reply_message(code, obj);
    return berr_setc(err, code == 403 ? EACCES : EIO, "get %s %s/%s: %s", what, ns, name, msg);
  }
  if (!key)
    return whole_map(obj, secret, value, err) < 0 ? berr_wrap(err, "%s %s/%s", what, ns, name) : 0;
  const char *v = json_str(json_object_get(obj, "data"), key);
  if (v && !secret) {
    *value = xstrdup(v);
    return 0;
  }
  if (!v && !secret)
    v = json_str(json_object_get(obj, "binaryData"), key);
  if (!v)
    return berr_setc(err, ENOENT, "couldn't find key %s in %s %s/%s", key,
                     secret ? "Secret" : "ConfigMap", ns, name);
  if (b64_decode(v, value, err) < 0)
    return berr_wrap(err, "%s %s/%s key %s", what, ns, name, key);
  return 0;
}

/* ---- the writer ------------------------------------------------------------------------ */

/* The uid the watch last saw under ns/name, or NULL (lock held by caller). */
static const char *bound_uid(agent_t *a, const char *ns, const char *name)
{
  cleanup_free char *k = xasprintf("%s/%s", ns, name);
  return json_string_value(json_object_get(a->bound, k));
}

/* 0 done (or dropped for good), -1 retry later. */
static int write_op(agent_t *a, kc_t *c, agent_op_t *op)
{
  berr_t err = BERR_INIT;
  cleanup_json json_t *body = NULL, *reply = NULL;
  cleanup_free char *path = NULL;
  const char *method = "POST", *ctype = NULL, *what = "";
  if (!agent_path_segment_ok(op->ns) || !agent_path_segment_ok(op->name))
    return 0;
  if (op->kind == OP_STATUS) {
    pthread_mutex_lock(&a->lock);
    const char *now = bound_uid(a, op->ns, op->name);
    bool stale = now && strcmp(now, op->uid);
    pthread_mutex_unlock(&a->lock);
    if (stale) {
      log_debug("msg=\"stale pod status dropped\" pod=%s/%s uid=%s", op->ns, op->name, op->uid);
      return 0;
    }
    /* A strategic merge patch, as the kubelet's: conditions merge by type,
     * so that those others own (PodScheduled, readiness gates) stay as
     * they are set; it keeps what it does not mention, so the fields a
     * newer status may have dropped are cleared, and the address lists
     * replaced. */
    json_t *st = json_deep_copy(op->body);
    const char *clear[] = { "message", "reason" };
    for (size_t i = 0; i < ARRAY_SIZE(clear); i++)
      if (!json_object_get(st, clear[i]))
        json_object_set_new(st, clear[i], json_null());
    /* conditions merge by type, field by field: one that lost its reason
     * or message says so */
    size_t ci;
    json_t *cond;
    json_array_foreach(json_object_get(st, "conditions"), ci, cond)
    {
      for (size_t i = 0; i < ARRAY_SIZE(clear); i++)
        if (!json_object_get(cond, clear[i]))
          json_object_set_new(cond, clear[i], json_null());
    }
    const char *lists[] = { "podIPs", "hostIPs" };
    for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
      json_t *l = json_object_get(st, lists[i]);
      if (json_is_array(l))
        json_array_insert_new(l, 0, json_pack("{s:s}", "$patch", "replace"));
    }
    body = json_pack("{s:o}", "status", st);
    method = "PATCH";
    ctype = "application/strategic-merge-patch+json";
    path = xasprintf("/api/v1/namespaces/%s/pods/%s/status", op->ns, op->name);
    what = "pod status";
  } else if (op->kind == OP_DELETE) {
    body = json_pack("{s:i, s:{s:s}}", "gracePeriodSeconds", 0, "preconditions", "uid", op->uid);
    method = "DELETE";
    path = xasprintf("/api/v1/namespaces/%s/pods/%s", op->ns, op->name);
    what = "pod delete";
  } else if (op->repeat) {
    /* count and lastTimestamp of the Event sent before (created if it is
     * gone: see below) */
    body = json_pack("{s:O, s:O}", "count", json_object_get(op->body, "count"), "lastTimestamp",
                     json_object_get(op->body, "lastTimestamp"));
    method = "PATCH";
    ctype = "application/merge-patch+json";
    path = xasprintf("/api/v1/namespaces/%s/events/%s", op->ns, op->ev_name);
    what = "event";
  } else {
    body = json_incref(op->body);
    path = xasprintf("/api/v1/namespaces/%s/events", op->ns);
    what = "event";
  }
  long code = 0;
  if (kc_json(c, method, path, ctype, body, &code, &reply, &err) < 0) {
    log_warn("msg=\"%s failed, will retry\" pod=%s/%s err=\"%s\"", what, op->ns, op->name, err.msg);
    berr_clear(&err);
    return -1;
  }
  if (code >= 200 && code < 300) {
    log_debug("msg=\"%s sent\" pod=%s/%s uid=%s code=%ld", what, op->ns, op->name, op->uid, code);
    if (op->kind == OP_DELETE)
      log_info("msg=\"pod deleted\" pod=%s/%s uid=%s", op->ns, op->name, op->uid);
    return 0;
  }
  if (code >= 500 || code == 429) {
    log_warn("msg=\"%s failed, will retry\" pod=%s/%s code=%ld", what, op->ns, op->name, code);
    return -1;
  }
  if (code == 404 && op->kind == OP_EVENT && op->repeat) {
    op->repeat = false; /* the Event went (or never came): create it */
    return write_op(a, c, op);
  }
  /* 404: the pod (or namespace) is gone; 409 on delete: another pod now has
   * the name. Either way there is nothing left to write. */
  cleanup_free char *msg = agent_reply_message(code, reply);
  if (code == 404 || (code == 409 && op->kind == OP_DELETE))
    log_debug("msg=\"%s dropped\" pod=%s/%s code=%ld", what, op->ns, op->name, code);
  else
    log_warn("msg=\"%s refused\" pod=%s/%s code=%ld err=\"%s\"", what, op->ns, op->name, code, msg);
  return 0;
}

/* Unlinks the next op to write: the first status or delete, else the first
 * event unless the pod manager is busy and it has waited less than
 * EVENT_HOLD_NS (then NULL). (a->lock held) */
static agent_op_t *take_op(agent_t *a, bool mgr_busy)
{
  agent_op_t **pp = &a->ops_head, **first_event = NULL;
  for (; *pp && (*pp)->kind == OP_EVENT; pp = &(*pp)->next)
    if (!first_event)
      first_event = pp;
  if (!*pp) {
    if (!first_event
        || (mgr_busy && !a->writer_stop && time_mono_ns() - (*first_event)->mono < EVENT_HOLD_NS))
      return NULL;
    pp = first_event;
  }
  agent_op_t *op = *pp;
  *pp = op->next;
  op->next = NULL;
  if (a->ops_tail == op) {
    a->ops_tail = NULL;
    for (agent_op_t *o = a->ops_head; o; o = o->next)
      a->ops_tail = o;
  }
  return op;
}

static void *writer_main(void *arg)
{
  agent_t *a = arg;
  kc_t *c = agent_kc(a);
  int64_t deadline = 0, backoff = 0;
  for (;;) {
    pthread_mutex_lock(&a->lock);
    while (!a->ops_head && !a->writer_stop)
      pthread_cond_wait(&a->cond, &a->lock);
    pthread_mutex_unlock(&a->lock);
    /* not under a->lock: the manager's comes first */
    pthread_mutex_lock(&a->mgr_lock);
    bool busy = a->mgr && pod_mgr_busy(a->mgr);
    pthread_mutex_unlock(&a->mgr_lock);
    pthread_mutex_lock(&a->lock);
    /* Stopping: what is queued gets a short while to go out. */
    if (a->writer_stop && !deadline)
      deadline = time_mono_ns() + WRITER_FLUSH_MS * 1000000LL;
    if (!a->ops_head || (deadline && time_mono_ns() > deadline)) {
      pthread_mutex_unlock(&a->lock);
      break;
    }
    agent_op_t *op = take_op(a, busy);
    pthread_mutex_unlock(&a->lock);
    if (!op) { /* only events, held while pods are being worked on */
      struct timespec ts = { 0, EVENT_POLL_NS };
      nanosleep(&ts, NULL);
      continue;
    }
    if (write_op(a, c, op) == 0) {
      op_free(op);
      backoff = 0;
      continue;
    }
    requeue(a, op);
    if (deadline)
      break; /* the server is not answering: do not hold the stop up */
    backoff = backoff ? (backoff * 2 > 5000 ? 5000 : backoff * 2) : 250;
    agent_sleep(a, backoff);
  }
  kc_free(c);
  return NULL;
}

/* Frees what the writer could not send. */
static void drop_queue(agent_t *a)
{
  pthread_mutex_lock(&a->lock);
  size_t left = 0;
  while (a->ops_head) {
    agent_op_t *op = a->ops_head;
    a->ops_head = op->next;
    op_free(op);
    left++;
  }
  a->ops_tail = NULL;
  pthread_mutex_unlock(&a->lock);
  if (left)
    log_warn("msg=\"unsent pod updates dropped at stop\" count=%zu", left);
}

/* ---- the watch --------------------------------------------------------------------------- */

typedef struct watch_ctx {
  agent_t *a;
  char *rv;
  bool relist; /* ERROR event: list again */
} watch_ctx_t;

static void bound_set(agent_t *a, json_t *pod, bool present)
{
  json_t *m = json_object_get(pod, "metadata");
  const char *ns = json_str(m, "namespace"), *name = json_str(m, "name"), *uid = json_str(m, "uid");
  if (!ns || !name)
    return;
  cleanup_free char *k = xasprintf("%s/%s", ns, name);
  pthread_mutex_lock(&a->lock);
  if (present && uid)
    json_object_set_new(a->bound, k, json_string(uid));
  else if (!present
           && (!uid || !strcmp(json_string_value(json_object_get(a->bound, k)) ?: "", uid)))
    json_object_del(a->bound, k);
  pthread_mutex_unlock(&a->lock);
}

/* Hands a pod to the manager (unless it is closed). */
static void sync_pod(agent_t *a, json_t *pod)
{
  json_t *m = json_object_get(pod, "metadata");
  const char *node = json_str(json_object_get(pod, "spec"), "nodeName");
  const char *uid = json_str(m, "uid");
  if (!uid)
    return;
  berr_t err = BERR_INIT;
  pthread_mutex_lock(&a->mgr_lock);
  int rc = 0;
  bool ours = node && !strcmp(node, a->node_name);
  if (a->mgr)
    rc = ours ? pod_mgr_sync(a->mgr, pod, &err) : pod_mgr_forget(a->mgr, uid, &err);
  pthread_mutex_unlock(&a->mgr_lock);
  bound_set(a, pod, ours);
  if (rc < 0) {
    log_warn("msg=\"pod sync failed\" pod=%s/%s uid=%s err=\"%s\"", json_str(m, "namespace"),
             json_str(m, "name"), uid, err.msg);
    berr_clear(&err);
  }
}

static void forget_uid(agent_t *a, const char *uid)
{
  berr_t err = BERR_INIT;
  pthread_mutex_lock(&a->mgr_lock);
  int rc = a->mgr ? pod_mgr_forget(a->mgr, uid, &err) : 0;
  pthread_mutex_unlock(&a->mgr_lock);
  if (rc < 0) {
    log_warn("msg=\"pod forget failed\" uid=%s err=\"%s\"", uid, err.msg);
    berr_clear(&err);
  } else {
    log_debug("msg=\"pod forgotten\" uid=%s", uid);
  }
}

static int on_line(void *arg, const char *line, size_t len)
{
  watch_ctx_t *w = arg;
  agent_t *a = w->a;
  if (atomic_load(&a->stopping))
    return -1;
  if (!len)
    return 0;
  cleanup_json json_t *ev = json_loadb(line, len, 0, NULL);
  const char *type = json_str(ev, "type");
  json_t *obj = json_object_get(ev, "object");
  if (!type || !json_is_object(obj)) {
    log_warn("msg=\"bad watch event\" node=%s", a->node_name);
    return 0;
  }
  if (!strcmp(type, "ERROR")) {
    log_info("msg=\"pod watch error, re-listing\" node=%s code=%lld reason=%s", a->node_name,
             (long long)json_int(obj, "code", 0), json_str(obj, "reason") ?: "");
    w->relist = true;
    return -1;
  }
  const char *rv = json_str(json_object_get(obj, "metadata"), "resourceVersion");
  if (rv) {
    free(w->rv);
    w->rv = xstrdup(rv);
  }
  json_t *m = json_object_get(obj, "metadata");
  log_debug("msg=\"pod watch event\" type=%s pod=%s/%s rv=%s", type, json_str(m, "namespace") ?: "",
            json_str(m, "name") ?: "", rv ? rv : "");
  if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED")) {
    sync_pod(a, obj);
  } else if (!strcmp(type, "DELETED")) {
    const char *uid = json_str(m, "uid");
    if (uid)
      forget_uid(a, uid);
    bound_set(a, obj, false);
  }
  return 0;
}

/* Lists the pods bound here, syncs each, forgets the others; *rv gets the
 * list's resourceVersion. */
static int list_pods(agent_t *a, kc_t *c, char **rv, berr_t *err)
{
  cleanup_free char *path
      = xasprintf("/api/v1/pods?fieldSelector=spec.nodeName%%3D%s", a->node_name);
  cleanup_json json_t *list = NULL;
  long code = 0;
  if (kc_json(c, "GET", path, NULL, NULL, &code, &list, err) < 0)
    return berr_wrap(err, "list pods");
  if (code != 200) {
    cleanup_free char *msg = agent_reply_message(code, list);
    return berr_setc(err, EIO, "list pods: %s", msg);
  }
  json_t *items = json_object_get(list, "items"), *pod;
  cleanup_json json_t *seen = json_object();
  size_t i;
  pthread_mutex_lock(&a->lock);
  json_object_clear(a->bound);
  pthread_mutex_unlock(&a->lock);
  json_array_foreach(items, i, pod)
  {
    const char *uid = json_str(json_object_get(pod, "metadata"), "uid");
    if (uid)
      json_object_set_new(seen, uid, json_true());
    sync_pod(a, pod);
  }
  pthread_mutex_lock(&a->mgr_lock);
  cleanup_strv char **known = a->mgr ? pod_mgr_uids(a->mgr) : NULL;
  pthread_mutex_unlock(&a->mgr_lock);
  for (size_t k = 0; known && known[k]; k++)
    if (!json_object_get(seen, known[k])) {
      log_info("msg=\"pod no longer in the API, forgetting it\" uid=%s", known[k]);
      forget_uid(a, known[k]);
    }
  const char *v = json_str(json_object_get(list, "metadata"), "resourceVersion");
  free(*rv);
  *rv = xstrdup(v ? v : "0");
  log_info("msg=\"pods listed\" node=%s count=%zu rv=%s", a->node_name, json_array_size(items),
           *rv);
  return 0;
}

static void *watch_main(void *arg)
{
  agent_t *a = arg;
  kc_t *c = agent_kc(a);
  watch_ctx_t w = { .a = a, .relist = true };
  int64_t backoff = 0;
  while (!atomic_load(&a->stopping)) {
    berr_t err = BERR_INIT;
    if (w.relist) {
      if (list_pods(a, c, &w.rv, &err) < 0) {
        backoff = backoff ? (backoff * 2 > 10000 ? 10000 : backoff * 2) : 500;
        log_warn("msg=\"pod list failed\" node=%s retry_ms=%lld err=\"%s\"", a->node_name,
                 (long long)backoff, err.msg);
        berr_clear(&err);
        agent_sleep(a, backoff);
        continue;
      }
      w.relist = false;
    }
    cleanup_free char *path
        = xasprintf("/api/v1/pods?watch=true&allowWatchBookmarks=true&fieldSelector=spec.nodeName"
                    "%%3D%s&resourceVersion=%s&timeoutSeconds=%d",
                    a->node_name, w.rv, WATCH_TIMEOUT_S);
    kc_lines_t lines = { .on_line = on_line, .arg = &w };
    long code = 0;
    int rc = kc_stream(c, path, NULL, kc_lines_feed, &lines, &code, &err);
    kc_lines_free(&lines);
    if (atomic_load(&a->stopping)) {
      berr_clear(&err);
      break;
    }
    if (rc < 0 || (code != 200 && code != 410)) {
      backoff = backoff ? (backoff * 2 > 10000 ? 10000 : backoff * 2) : 500;
      log_warn("msg=\"pod watch failed\" node=%s code=%ld retry_ms=%lld err=\"%s\"", a->node_name,
               code, (long long)backoff, err.msg ? err.msg : "");
      berr_clear(&err);
      /* Over a minute of failures: the history may be gone, list again. */
      if (backoff >= 10000 || code != 0)
        w.relist = true;
      agent_sleep(a, backoff);
      continue;
    }
    if (code == 410)
      w.relist = true;
    backoff = 0;
    log_debug("msg=\"pod watch ended\" node=%s rv=%s relist=%d", a->node_name, w.rv, (int)w.relist);
  }
  free(w.rv);
  kc_free(c);
  agent_unref(a);
  return NULL;
}

/* ---- open and close --------------------------------------------------------------------- */

int agent_pods_open(agent_t *a, berr_t *err)
{
  pod_mgr_opts_t po = {
    .root = a->data_dir,
    .engine_root = a->engine_root,
    .node_name = a->node_name,
    .host_ip = a->node_ip,
    .net = { .bridge = a->bridge, .cidr = a->pod_cidr }, /* addresses: POD_IPAM_DIR */
    .backoff_base_ms = a->backoff_base_ms,
    .backoff_max_ms = a->backoff_max_ms,
    .lookup = lookup,
    .on_status = on_status,
    .on_terminated = on_terminated,
    .on_event = on_event,
    .arg = a,
  };
  pod_mgr_t *m = NULL;
  if (pod_mgr_open(&po, &m, err) < 0)
    return berr_wrap(err, "open the pod manager");
  pthread_mutex_lock(&a->mgr_lock);
  a->mgr = m;
  pthread_mutex_unlock(&a->mgr_lock);
  return 0;
}

int agent_pods_start_writer(agent_t *a, berr_t *err)
{
  int rc = pthread_create(&a->writer_thread, NULL, writer_main, a);
  if (rc)
    return berr_set(err, rc, "start the pod writer thread");
  a->writer_started = true;
  return 0;
}

int agent_pods_start_watch(agent_t *a, berr_t *err)
{
  agent_ref(a); /* the watch thread's: it may outlive agent_stop */
  int rc = pthread_create(&a->watch_thread, NULL, watch_main, a);
  if (rc) {
    agent_unref(a);
    return berr_set(err, rc, "start the pod watch thread");
  }
  pthread_detach(a->watch_thread);
  a->watch_started = true;
  return 0;
}

void agent_pods_close(agent_t *a)
{
  pthread_mutex_lock(&a->mgr_lock);
  pod_mgr_t *m = steal_ptr(a->mgr);
  pthread_mutex_unlock(&a->mgr_lock);
  if (m)
    pod_mgr_close(m);
  /* No callback can come any more: let the writer flush and end. */
  pthread_mutex_lock(&a->lock);
  a->writer_stop = true;
  pthread_cond_broadcast(&a->cond);
  pthread_mutex_unlock(&a->lock);
  if (a->writer_started)
    pthread_join(a->writer_thread, NULL);
  a->writer_started = false;
  drop_queue(a);
}
