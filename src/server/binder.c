/* binder.c — the placeholder scheduler, until src/sched/ (the scheduler
 * issue) replaces it: pods that name no node and the default scheduler are
 * bound to the first node, by name, that fits them: Ready, schedulable, no
 * taint the pod does not tolerate (NoSchedule, NoExecute), its nodeSelector,
 * room for one more pod, and CPU and memory requests within what is left of
 * allocatable.
 *
 * One thread. Creating a pod or a node (or writing either) kicks it; it
 * also looks every few seconds, for pods whose node did not fit before. */
#include "api/api.h"
#include "server/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BINDER_PERIOD_MS 2000

typedef struct srv_binder {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  bool kicked, stop;
} srv_binder_t;

typedef struct node_room {
  const char *name;
  json_t *node;
  int64_t cpu_m, mem, pods; /* what is left */
} node_room_t;

static int64_t qty(json_t *m, const char *key, bool milli)
{
  api_quantity_t q;
  json_t *v = json_object_get(m, key);
  if (!v || api_quantity_from_json(v, &q, NULL) < 0)
    return 0;
  return milli ? api_quantity_milli(&q) : api_quantity_value(&q);
}

/* The sum of the pod's containers' requests (init containers run before,
 * one at a time: the larger of the two counts, as Kubernetes computes). */
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

static bool tolerates(json_t *pod, json_t *taint)
{
  json_t *tols = json_object_get(json_object_get(pod, "spec"), "tolerations"), *t;
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

static bool fits(json_t *pod, const node_room_t *n, int64_t cpu_m, int64_t mem)
{
  json_t *spec = json_object_get(n->node, "spec");
  if (json_is_true(json_object_get(spec, "unschedulable")) || !node_ready(n->node))
    return false;
  json_t *taints = json_object_get(spec, "taints"), *t;
  size_t i;
  json_array_foreach(taints, i, t)
  {
    const char *eff = json_str(t, "effect") ?: "";
    if ((!strcmp(eff, "NoSchedule") || !strcmp(eff, "NoExecute")) && !tolerates(pod, t))
      return false;
  }
  json_t *sel = json_object_get(json_object_get(pod, "spec"), "nodeSelector"), *v;
  json_t *labels = json_object_get(json_object_get(n->node, "metadata"), "labels");
  const char *k;
  json_object_foreach(sel, k, v)
  {
    const char *have = json_str(labels, k);
    if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
      return false;
  }
  return n->pods >= 1 && cpu_m <= n->cpu_m && mem <= n->mem;
}

static int list_all(srv_t *s, const char *prefix, json_t **out, berr_t *err)
{
  store_list_req_t lr = { .prefix = prefix };
  store_list_t l = { 0 };
  if (store_list(s->store, &lr, &l, err) < 0)
    return -1;
  *out = json_array();
  for (size_t i = 0; i < l.n; i++) {
    json_t *o = json_loadb(l.items[i].value, l.items[i].len, 0, NULL);
    if (o)
      json_array_append_new(*out, o);
  }
  store_list_free(&l);
  return 0;
}

static void bind_pass(srv_t *s)
{
  berr_t err = BERR_INIT;
  cleanup_json json_t *nodes = NULL;
  cleanup_json json_t *pods = NULL;
  if (list_all(s, "/registry/nodes/", &nodes, &err) < 0 || json_array_size(nodes) == 0
      || list_all(s, "/registry/pods/", &pods, &err) < 0) {
    berr_clear(&err);
    return;
  }
  size_t nn = json_array_size(nodes);
  node_room_t *room = xcalloc(nn, sizeof *room);
  json_t *o;
  size_t i;
  json_array_foreach(nodes, i, o)
  {
    json_t *alloc = json_object_get(json_object_get(o, "status"), "allocatable");
    room[i] = (node_room_t){ .name = json_str(json_object_get(o, "metadata"), "name"),
                             .node = o,
                             .cpu_m = qty(alloc, "cpu", true),
                             .mem = qty(alloc, "memory", false),
                             .pods = qty(alloc, "pods", false) };
  }
  json_array_foreach(pods, i, o)
  {
    const char *node = json_str(json_object_get(o, "spec"), "nodeName");
    const char *phase = json_str(json_object_get(o, "status"), "phase") ?: "";
    if (!node || !*node || !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))
      continue;
    for (size_t j = 0; j < nn; j++) {
      if (!room[j].name || strcmp(room[j].name, node))
        continue;
      int64_t c, m;
      pod_requests(o, &c, &m);
      room[j].cpu_m -= c;
      room[j].mem -= m;
      room[j].pods--;
    }
  }
  json_array_foreach(pods, i, o)
  {
    json_t *spec = json_object_get(o, "spec"), *meta = json_object_get(o, "metadata");
    const char *node = json_str(spec, "nodeName"), *sched = json_str(spec, "schedulerName");
    if ((node && *node) || (sched && *sched && strcmp(sched, "default-scheduler"))
        || json_str(meta, "deletionTimestamp"))
      continue;
    int64_t c, m;
    pod_requests(o, &c, &m);
    for (size_t j = 0; j < nn; j++) {
      if (!room[j].name || !fits(o, &room[j], c, m))
        continue;
      if (srv_bind_pod(s, json_str(meta, "namespace"), json_str(meta, "name"),
                       json_str(meta, "uid"), room[j].name, &err)
          == 0) {
        room[j].cpu_m -= c;
        room[j].mem -= m;
        room[j].pods--;
        log_debug("msg=\"pod bound\" pod=%s/%s node=%s", json_str(meta, "namespace"),
                  json_str(meta, "name"), room[j].name);
      }
      berr_clear(&err);
      break;
    }
  }
  free(room);
}

static void *binder_main(void *arg)
{
  srv_t *s = arg;
  srv_binder_t *b = s->binder;
  pthread_mutex_lock(&b->mu);
  while (!b->stop) {
    if (!b->kicked) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += BINDER_PERIOD_MS / 1000;
      pthread_cond_timedwait(&b->cond, &b->mu, &ts);
    }
    if (b->stop)
      break;
    b->kicked = false;
    pthread_mutex_unlock(&b->mu);
    bind_pass(s);
    pthread_mutex_lock(&b->mu);
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

int srv_binder_start(srv_t *s, berr_t *err)
{
  srv_binder_t *b = xcalloc(1, sizeof *b);
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->cond, NULL);
  s->binder = b;
  int rc = pthread_create(&b->thread, NULL, binder_main, s);
  if (rc != 0) {
    s->binder = NULL;
    free(b);
    return berr_set(err, rc, "start the binder");
  }
  return 0;
}

void srv_binder_kick(srv_t *s)
{
  srv_binder_t *b = s->binder;
  if (!b)
    return;
  pthread_mutex_lock(&b->mu);
  b->kicked = true;
  pthread_cond_signal(&b->cond);
  pthread_mutex_unlock(&b->mu);
}

void srv_binder_stop(srv_t *s)
{
  srv_binder_t *b = s->binder;
  if (!b)
    return;
  pthread_mutex_lock(&b->mu);
  b->stop = true;
  pthread_cond_signal(&b->cond);
  pthread_mutex_unlock(&b->mu);
  pthread_join(b->thread, NULL);
  pthread_mutex_destroy(&b->mu);
  pthread_cond_destroy(&b->cond);
  free(b);
  s->binder = NULL;
}
