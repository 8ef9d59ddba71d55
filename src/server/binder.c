/* binder.c — the placeholder scheduler, until src/sched/ (the scheduler
 * issue) replaces it: pods that name no node and the default scheduler are
 * bound to the first node, by name, that fits them: Ready, schedulable, no
 * taint the pod does not tolerate (NoSchedule, NoExecute), its nodeSelector,
 * room for one more pod, and CPU and memory requests within what is left of
 * allocatable.
 *
 * One thread with a cache fed by two store watches (nodes, pods): each
 * event costs one JSON parse, and a pod is bound as soon as its create
 * event arrives, without listing anything. What a node has left is kept up
 * to date from the pods' events; a pod bound here counts at once, before
 * its own event comes back. Pods no node fits are retried on every node
 * event and every few seconds. */
#include "api/api.h"
#include "server/internal.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BINDER_RETRY_MS 2000
#define POD_BUCKETS     4096

typedef struct bnode {
  char *name;
  json_t *obj;                 /* the Node (labels, taints, conditions, unschedulable) */
  int64_t cpu_m, mem, pods;    /* allocatable */
  int64_t ucpu_m, umem, upods; /* used by the pods bound to it */
  struct bnode *next;
} bnode_t;

typedef struct bpod {
  char *key;
  char *node; /* where its requests are counted, or NULL */
  int64_t cpu_m, mem;
  /* While the pod waits for a node (then it is queued): what fits() and
   * the binding need, not the whole pod (10,000 pending pods must stay
   * cheap). */
  json_t *pending; /* {"ns","name","uid","nodeSelector","tolerations"} */
  struct bpod *next;
  struct bpod *qprev, *qnext; /* the queue of pending pods, oldest first */
} bpod_t;

typedef struct srv_binder {
  pthread_t thread;
  int stop_fd;
  bnode_t *nodes;
  bpod_t *pods[POD_BUCKETS];
  bpod_t *qhead, *qtail; /* pending pods */
  bool retry;            /* a node changed: pending pods may fit now */
} srv_binder_t;

static int64_t qty(json_t *m, const char *key, bool milli)
{
  api_quantity_t q;
  json_t *v = json_object_get(m, key);
  if (!v || api_quantity_from_json(v, &q, NULL) < 0)
    return 0;
  return milli ? api_quantity_milli(&q) : api_quantity_value(&q);
}

/* The sum of the containers' requests; init containers run one at a time
 * before them, so the larger of the two (Kubernetes' rule). */
static void pod_requests(json_t *pod, int64_t *cpu_m, int64_t *mem)
{
  json_t *spec = json_object_get(pod, "spec");
  int64_t c = 0, m = 0, ic = 0, im = 0;
  json_t *cs = json_object_get(spec, "containers"), *x;
  size_t i;
  json_array_foreach(cs, i, x)
  {
    json_t *req = json_object_get(json_object_get(x, "resources"), "requests");
    c += qty(req, "cpu", true);
    m += qty(req, "memory", false);
  }
  json_t *inits = json_object_get(spec, "initContainers");
  json_array_foreach(inits, i, x)
  {
    json_t *req = json_object_get(json_object_get(x, "resources"), "requests");
    int64_t a = qty(req, "cpu", true), b = qty(req, "memory", false);
    ic = a > ic ? a : ic;
    im = b > im ? b : im;
  }
  *cpu_m = c > ic ? c : ic;
  *mem = m > im ? m : im;
}

static bool node_ready(json_t *node)
{
  json_t *conds = json_object_get(json_object_get(node, "status"), "conditions"), *c;
  size_t i;
  json_array_foreach(conds, i, c)
  {
    const char *t = json_str(c, "type"), *s = json_str(c, "status");
    if (t && !strcmp(t, "Ready"))
      return s && !strcmp(s, "True");
  }
  return false;
}

static bool tolerates(json_t *want, json_t *taint)
{
  json_t *tols = json_object_get(want, "tolerations"), *t;
  size_t i;
  const char *key = json_str(taint, "key") ?: "", *val = json_str(taint, "value") ?: "";
  const char *eff = json_str(taint, "effect") ?: "";
  json_array_foreach(tols, i, t)
  {
    const char *tk = json_str(t, "key"), *op = json_str(t, "operator") ?: "Equal";
    const char *tv = json_str(t, "value") ?: "", *te = json_str(t, "effect");
    if (te && *te && strcmp(te, eff))
      continue;
    if (!tk || !*tk) {
      if (!strcmp(op, "Exists"))
        return true;
      continue;
    }
    if (strcmp(tk, key))
      continue;
    if (!strcmp(op, "Exists") || !strcmp(tv, val))
      return true;
  }
  return false;
}

/* want: the pending pod's nodeSelector and tolerations. */
static bool fits(json_t *want, const bnode_t *n, int64_t cpu_m, int64_t mem)
{
  json_t *spec = json_object_get(n->obj, "spec");
  if (json_is_true(json_object_get(spec, "unschedulable")) || !node_ready(n->obj))
    return false;
  json_t *taints = json_object_get(spec, "taints"), *t;
  size_t i;
  json_array_foreach(taints, i, t)
  {
    const char *eff = json_str(t, "effect") ?: "";
    if ((!strcmp(eff, "NoSchedule") || !strcmp(eff, "NoExecute")) && !tolerates(want, t))
      return false;
  }
  json_t *sel = json_object_get(want, "nodeSelector"), *v;
  json_t *labels = json_object_get(json_object_get(n->obj, "metadata"), "labels");
  const char *k;
  json_object_foreach(sel, k, v)
  {
    const char *have = json_str(labels, k);
    if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
      return false;
  }
  return n->upods + 1 <= n->pods && n->ucpu_m + cpu_m <= n->cpu_m && n->umem + mem <= n->mem;
}

/* ---- the cache ----------------------------------------------------------- */

static bnode_t *node_find(srv_binder_t *b, const char *name)
{
  for (bnode_t *n = b->nodes; n; n = n->next)
    if (!strcmp(n->name, name))
      return n;
  return NULL;
}

static size_t bucket(const char *key)
{
  size_t h = 5381;
  for (const char *p = key; *p; p++)
    h = h * 33 + (unsigned char)*p;
  return h % POD_BUCKETS;
}

static bpod_t **pod_slot(srv_binder_t *b, const char *key)
{
  bpod_t **pp = &b->pods[bucket(key)];
  while (*pp && strcmp((*pp)->key, key))
    pp = &(*pp)->next;
  return pp;
}

static void unqueue(srv_binder_t *b, bpod_t *p)
{
  json_decref(p->pending);
  p->pending = NULL;
  if (!p->qprev && b->qhead != p)
    return; /* not queued */
  if (p->qprev)
    p->qprev->qnext = p->qnext;
  else
    b->qhead = p->qnext;
  if (p->qnext)
    p->qnext->qprev = p->qprev;
  else
    b->qtail = p->qprev;
  p->qprev = p->qnext = NULL;
}

static void enqueue(srv_binder_t *b, bpod_t *p, json_t *pod)
{
  p->pending = pod;
  p->qprev = b->qtail;
  p->qnext = NULL;
  if (b->qtail)
    b->qtail->qnext = p;
  else
    b->qhead = p;
  b->qtail = p;
}

/* Moves a pod's requests off its node (if they were counted). */
static void uncount(srv_binder_t *b, bpod_t *p)
{
  bnode_t *n = p->node ? node_find(b, p->node) : NULL;
  if (n) {
    n->ucpu_m -= p->cpu_m;
    n->umem -= p->mem;
    n->upods--;
  }
  free(p->node);
  p->node = NULL;
}

static void count(srv_binder_t *b, bpod_t *p, const char *node)
{
  p->node = xstrdup(node);
  bnode_t *n = node_find(b, node);
  if (n) {
    n->ucpu_m += p->cpu_m;
    n->umem += p->mem;
    n->upods++;
  }
}

static void pod_event(srv_binder_t *b, const char *key, const char *value, size_t len, bool del)
{
  bpod_t **slot = pod_slot(b, key), *p = *slot;
  if (del) {
    if (p) {
      uncount(b, p);
      unqueue(b, p);
      *slot = p->next;
      free(p->key);
      free(p);
    }
    return;
  }
  json_t *o = json_loadb(value, len, 0, NULL);
  if (!o)
    return;
  if (!p) {
    p = xcalloc(1, sizeof *p);
    p->key = xstrdup(key);
    *slot = p;
  }
  uncount(b, p);
  unqueue(b, p);
  pod_requests(o, &p->cpu_m, &p->mem);
  json_t *spec = json_object_get(o, "spec"), *meta = json_object_get(o, "metadata");
  const char *node = json_str(spec, "nodeName"), *sched = json_str(spec, "schedulerName");
  const char *phase = json_str(json_object_get(o, "status"), "phase") ?: "";
  bool terminal = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
  if (node && *node) {
    if (!terminal)
      count(b, p, node);
  } else if ((!sched || !*sched || !strcmp(sched, "default-scheduler"))
             && !json_str(meta, "deletionTimestamp")) {
    json_t *want = json_pack("{s:s?, s:s?, s:s?}", "ns", json_str(meta, "namespace"), "name",
                             json_str(meta, "name"), "uid", json_str(meta, "uid"));
    const char *keep[] = { "nodeSelector", "tolerations" };
    for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
      if (json_object_get(spec, keep[i]))
        json_object_set(want, keep[i], json_object_get(spec, keep[i]));
    enqueue(b, p, want);
  }
  json_decref(o);
}

static void node_event(srv_binder_t *b, const char *key, const char *value, size_t len, bool del)
{
  const char *name = key + strlen("/registry/nodes/");
  bnode_t **pp = &b->nodes;
  while (*pp && strcmp((*pp)->name, name))
    pp = &(*pp)->next;
  bnode_t *n = *pp;
  json_t *o = del ? NULL : json_loadb(value, len, 0, NULL);
  if (del || !o) {
    if (n) {
      /* Its pods stay counted against a name no node has. */
      *pp = n->next;
      json_decref(n->obj);
      free(n->name);
      free(n);
    }
    json_decref(o);
    return;
  }
  if (!n) {
    n = xcalloc(1, sizeof *n);
    n->name = xstrdup(name);
    /* Insert in name order: "first node by name" stays deterministic. */
    bnode_t **at = &b->nodes;
    while (*at && strcmp((*at)->name, name) < 0)
      at = &(*at)->next;
    n->next = *at;
    *at = n;
    /* Pods already bound to it count now. */
    for (size_t i = 0; i < POD_BUCKETS; i++)
      for (bpod_t *p = b->pods[i]; p; p = p->next)
        if (p->node && !strcmp(p->node, name)) {
          n->ucpu_m += p->cpu_m;
          n->umem += p->mem;
          n->upods++;
        }
  }
  json_decref(n->obj);
  n->obj = o;
  json_t *alloc = json_object_get(json_object_get(o, "status"), "allocatable");
  n->cpu_m = qty(alloc, "cpu", true);
  n->mem = qty(alloc, "memory", false);
  n->pods = qty(alloc, "pods", false);
  b->retry = true;
}

static void cache_clear(srv_binder_t *b)
{
  b->qhead = b->qtail = NULL;
  for (size_t i = 0; i < POD_BUCKETS; i++) {
    while (b->pods[i]) {
      bpod_t *p = b->pods[i];
      b->pods[i] = p->next;
      json_decref(p->pending);
      free(p->node);
      free(p->key);
      free(p);
    }
  }
  while (b->nodes) {
    bnode_t *n = b->nodes;
    b->nodes = n->next;
    json_decref(n->obj);
    free(n->name);
    free(n);
  }
}

/* Binds every pending pod some node fits, oldest first. */
static void bind_pending(srv_t *s, srv_binder_t *b)
{
  if (!b->nodes)
    return;
  for (bpod_t *p = b->qhead, *next; p; p = next) {
    next = p->qnext;
    for (bnode_t *n = b->nodes; n; n = n->next) {
      if (!fits(p->pending, n, p->cpu_m, p->mem))
        continue;
      json_t *w = p->pending;
      berr_t err = BERR_INIT;
      if (srv_bind_pod(s, json_str(w, "ns"), json_str(w, "name"), json_str(w, "uid"), n->name, &err)
          == 0) {
        log_debug("msg=\"pod bound\" pod=%s/%s node=%s", json_str(w, "ns"), json_str(w, "name"),
                  n->name);
        count(b, p, n->name);
      }
      berr_clear(&err); /* gone or bound meanwhile: its event will say */
      unqueue(b, p);
      break;
    }
  }
}

/* Lists prefix into the cache and watches it from there. */
static int follow(srv_t *s, srv_binder_t *b, const char *prefix, bool pods, store_watch_t **w,
                  berr_t *err)
{
  store_list_req_t lr = { .prefix = prefix };
  store_list_t l = { 0 };
  if (store_list(s->store, &lr, &l, err) < 0)
    return -1;
  for (size_t i = 0; i < l.n; i++) {
    if (pods)
      pod_event(b, l.items[i].key, l.items[i].value, l.items[i].len, false);
    else
      node_event(b, l.items[i].key, l.items[i].value, l.items[i].len, false);
  }
  int rc = store_watch(s->store, prefix, true, l.rev, w, err);
  store_list_free(&l);
  return rc;
}

/* Drains a watch into the cache; -1 when it must be re-listed. */
static int drain(srv_binder_t *b, store_watch_t *w, bool pods)
{
  const store_event_t *ev;
  berr_t err = BERR_INIT;
  int rc;
  while ((rc = store_watch_next(w, &ev, &err)) == 1) {
    bool del = ev->type == STORE_DELETE;
    if (pods)
      pod_event(b, ev->key, ev->value, ev->len, del);
    else
      node_event(b, ev->key, ev->value, ev->len, del);
    store_event_release(ev);
  }
  berr_clear(&err);
  return rc < 0 ? -1 : 0;
}

static void *binder_main(void *arg)
{
  srv_t *s = arg;
  srv_binder_t *b = s->binder;
  store_watch_t *wn = NULL, *wp = NULL;
  berr_t err = BERR_INIT;
  int64_t last_retry = time_mono_ns();
  for (;;) {
    if (!wn || !wp) {
      store_watch_close(wn);
      store_watch_close(wp);
      wn = wp = NULL;
      cache_clear(b);
      if (follow(s, b, "/registry/nodes/", false, &wn, &err) < 0
          || follow(s, b, "/registry/pods/", true, &wp, &err) < 0) {
        log_warn("msg=\"binder: cannot follow the store\" err=\"%s\"", err.msg);
        berr_clear(&err);
        struct pollfd pf = { .fd = b->stop_fd, .events = POLLIN };
        if (poll(&pf, 1, BINDER_RETRY_MS) > 0)
          break;
        continue;
      }
      bind_pending(s, b);
    }
    struct pollfd pf[3] = { { .fd = b->stop_fd, .events = POLLIN },
                            { .fd = store_watch_fd(wn), .events = POLLIN },
                            { .fd = store_watch_fd(wp), .events = POLLIN } };
    int n = poll(pf, 3, BINDER_RETRY_MS);
    if (n > 0 && pf[0].revents)
      break;
    if (drain(b, wn, false) < 0 || drain(b, wp, true) < 0) {
      store_watch_close(wn);
      store_watch_close(wp);
      wn = wp = NULL; /* re-list */
      continue;
    }
    int64_t now = time_mono_ns();
    if (n > 0 || b->retry || now - last_retry > BINDER_RETRY_MS * 1000000LL) {
      bind_pending(s, b);
      b->retry = false;
      last_retry = now;
    }
  }
  store_watch_close(wn);
  store_watch_close(wp);
  cache_clear(b);
  return NULL;
}

int srv_binder_start(srv_t *s, berr_t *err)
{
  srv_binder_t *b = xcalloc(1, sizeof *b);
  b->stop_fd = eventfd(0, EFD_CLOEXEC);
  if (b->stop_fd < 0) {
    free(b);
    return berr_set(err, errno, "start the binder");
  }
  s->binder = b;
  int rc = pthread_create(&b->thread, NULL, binder_main, s);
  if (rc != 0) {
    s->binder = NULL;
    close(b->stop_fd);
    free(b);
    return berr_set(err, rc, "start the binder");
  }
  return 0;
}

void srv_binder_stop(srv_t *s)
{
  srv_binder_t *b = s->binder;
  if (!b)
    return;
  uint64_t one = 1;
  if (write(b->stop_fd, &one, sizeof one) < 0)
    abort(); /* an eventfd write of 1 cannot fail */
  pthread_join(b->thread, NULL);
  close(b->stop_fd);
  free(b);
  s->binder = NULL;
}
