/* schedule.c — the scheduler inside `berth server`: src/sched/ fed from the
 * store, its decisions written back.
 *
 * One thread owns the sched_t. It lists nodes, PodDisruptionBudgets (when
 * the server serves them) and pods into it, follows the three with store
 * watches, and asks it for decisions between batches of events. Writing a
 * decision costs a store round trip (an fsync'd commit), so decisions go
 * to a queue served by a pool of workers: many bindings are in flight at
 * once and the store's group commit writes them together. What workers
 * write:
 *  - a placement: the binding (srv_bind_pod, the write of POST
 *    pods/NAME/binding), then a Scheduled event queued behind the
 *    decisions (best effort: beyond EVENTS_MAX waiting, dropped); a
 *    binding that fails (the pod was deleted or bound meanwhile) goes back
 *    to the thread, which takes the pod off its node (sched_forget);
 *  - an unschedulable pod: its PodScheduled condition (False,
 *    Unschedulable, the message) and status.nominatedNodeName when the
 *    message or nomination changed, and a FailedScheduling event when the
 *    message did;
 *  - a preemption: a Preempted event on each victim and its graceful
 *    deletion (the victim's own grace period).
 * The queue is bounded: when the workers fall behind, deciding waits.
 *
 * A watch that expires (410: the thread fell too far behind) is followed by
 * a fresh list, once the bindings in flight have landed, so that no
 * assumed pod is forgotten. Decision latency, bindings and unschedulable
 * attempts are counted for GET /metrics. */
#include "api/api.h"
#include "sched/sched.h"
#include "server/internal.h"

#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define WORKERS   64   /* bindings in flight */
#define QUEUE_MAX 4096 /* decisions waiting for a worker before deciding pauses */
#define BATCH     512  /* decisions between two looks at the watches */
#define RETRY_MS  1000 /* after the store refused a list */
/* Scheduled events wait behind the decisions, so that a burst of bindings
 * is not slowed by its events (they are written once it is over); beyond
 * this many waiting, more are dropped and counted (events are best effort,
 * as Kubernetes' event broadcaster drops when its queue is full). */
#define EVENTS_MAX 100000
/* What the scheduler writes about pods that fit nowhere (their PodScheduled
 * condition and FailedScheduling event) is information, not progress: it
 * is written at most this often, one pod at a time, behind everything else,
 * so that a burst of pods nothing can run yet (no node, all full) does not
 * halve the rate the API takes them in. kube-scheduler's API client is
 * rate-limited the same way (50 requests/s by default). */
#define UNSCHED_PER_S 100
#define COMPONENT     "default-scheduler"
#define PODS_PREFIX   "/registry/pods/"
#define NODES_PREFIX  "/registry/nodes/"

/* Upper bounds (seconds) of the decision latency histogram. */
static const double buckets[]
    = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1 };
#define N_BUCKETS (sizeof buckets / sizeof buckets[0])

typedef struct job {
  char *ns, *name, *uid;
  char *node;      /* a placement (or, with event set, its Scheduled event) */
  bool event;      /* the Scheduled event of a binding done */
  char *message;   /* else: unschedulable, why */
  char *nominated; /* its nominated node, or NULL */
  bool write_status, write_event;
  sched_victim_t *victims;
  size_t n_victims;
  struct job *next;
} job_t;

typedef struct srv_sched {
  srv_t *srv;
  sched_strategy_t strategy;
  sched_t *sched; /* the thread's */
  pthread_t thread;
  pthread_t workers[WORKERS];
  size_t n_workers;
  int stop_fd, done_fd; /* eventfds: stop; a failed binding or room in the queue */
  pthread_mutex_t lock;
  pthread_cond_t cond, idle;
  job_t *head, *tail, *failed;
  job_t *ev_head, *ev_tail; /* Scheduled events: after the bindings */
  job_t *un_head, *un_tail; /* unschedulable pods' status and events: paced, last */
  int64_t un_next;          /* when the next of those may be written (monotonic ns) */
  bool un_busy;             /* a worker is writing one */
  size_t queued, busy, ev_queued;
  bool stopping, want_room;
  atomic_uint_fast64_t events; /* makes event names unique */
  /* metrics */
  pthread_mutex_t mlock;
  uint64_t hist[N_BUCKETS + 1];
  double sum;
  uint64_t count, bindings, unschedulable, preempted, events_dropped;
  size_t pending, parked;
} srv_sched_t;

static void job_free(job_t *j)
{
  free(j->ns);
  free(j->name);
  free(j->uid);
  free(j->node);
  free(j->message);
  free(j->nominated);
  for (size_t i = 0; i < j->n_victims; i++) {
    free(j->victims[i].ns);
    free(j->victims[i].name);
    free(j->victims[i].uid);
  }
  free(j->victims);
  free(j);
}

static void poke(int fd)
{
  uint64_t one = 1;
  if (write(fd, &one, sizeof one) < 0)
    abort(); /* an eventfd write of 1 cannot fail */
}

static void drain_fd(int fd)
{
  uint64_t v;
  if (read(fd, &v, sizeof v) < 0) {
    /* EAGAIN: nothing to drain */
  }
}

/* ---- what workers write --------------------------------------------------------------- */

/* "<pod>.<16 hex>", as kube names events, kept within a name's length. */
static char *event_name(srv_sched_t *ss, const char *pod)
{
  uint64_t n = (uint64_t)time_now_ns() + atomic_fetch_add(&ss->events, 1);
  int keep = (int)strlen(pod) > API_DNS1123_SUBDOMAIN_MAX - 17 ? API_DNS1123_SUBDOMAIN_MAX - 17
                                                               : (int)strlen(pod);
  return xasprintf("%.*s.%016" PRIx64, keep, pod, n);
}

/* A core/v1 Event about pod ns/name, from the default scheduler. */
static void write_event(srv_sched_t *ss, const char *ns, const char *name, const char *uid,
                        const char *type, const char *reason, const char *message)
{
  srv_t *s = ss->srv;
  const srv_kind_t *k = srv_kind_find("", "events");
  cleanup_free char *now = time_rfc3339_sec(time_now_ns()), *ev = event_name(ss, name),
                    *evuid = srv_uuid4();
  cleanup_json json_t *o = json_pack(
      "{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:s, s:s, s:{s:s}, "
      "s:s, s:s, s:i, s:s, s:s}",
      "apiVersion", "v1", "kind", "Event", "metadata", "name", ev, "namespace", ns, "uid", evuid,
      "creationTimestamp", now, "involvedObject", "kind", "Pod", "namespace", ns, "name", name,
      "uid", uid ? uid : "", "apiVersion", "v1", "reason", reason, "message", message, "type", type,
      "source", "component", COMPONENT, "firstTimestamp", now, "lastTimestamp", now, "count", 1,
      "reportingComponent", COMPONENT, "reportingInstance", COMPONENT);
  cleanup_free char *data = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  cleanup_free char *key = srv_obj_key(k, ns, ev);
  berr_t err = BERR_INIT;
  if (store_create(s->store, key, data, strlen(data), NULL, &err) < 0)
    log_warn("msg=\"scheduler: event not written\" pod=%s/%s reason=%s err=\"%s\"", ns, name,
             reason, err.msg);
  berr_clear(&err);
}

/* The unschedulable pod's status: PodScheduled False (its transition time
 * kept while it stays False) and status.nominatedNodeName. */
static int unsched_fn(void *arg, const store_kv_t *cur, char **out, size_t *out_len, berr_t *err)
{
  job_t *j = arg;
  cleanup_json json_t *o = json_loadb(cur->value, cur->len, 0, NULL);
  json_t *meta = json_object_get(o, "metadata"), *spec = json_object_get(o, "spec");
  const char *uid = json_str(meta, "uid"), *node = json_str(spec, "nodeName");
  if (!json_is_object(spec) || (j->uid && (!uid || strcmp(uid, j->uid))) || (node && *node))
    return STORE_UNCHANGED; /* replaced, or bound meanwhile */
  json_t *st = json_object_get(o, "status");
  if (!json_is_object(st)) {
    st = json_object();
    json_object_set_new(o, "status", st);
  }
  cleanup_json json_t *before = json_deep_copy(st);
  json_t *conds = json_object_get(st, "conditions");
  if (!json_is_array(conds)) {
    conds = json_array();
    json_object_set_new(st, "conditions", conds);
  }
  cleanup_free char *now = time_rfc3339_sec(time_now_ns());
  json_t *old = NULL;
  size_t at = json_array_size(conds);
  for (size_t i = 0; i < json_array_size(conds); i++) {
    const char *t = json_str(json_array_get(conds, i), "type");
    if (t && !strcmp(t, "PodScheduled")) {
      old = json_array_get(conds, i);
      at = i;
    }
  }
  const char *since = old && json_str(old, "status") && !strcmp(json_str(old, "status"), "False")
                          ? json_str(old, "lastTransitionTime")
                          : NULL;
  json_t *c = json_pack("{s:s, s:s, s:n, s:s, s:s, s:s}", "type", "PodScheduled", "status", "False",
                        "lastProbeTime", "lastTransitionTime", since ? since : now, "reason",
                        "Unschedulable", "message", j->message);
  if (at < json_array_size(conds))
    json_array_set_new(conds, at, c);
  else
    json_array_append_new(conds, c);
  if (j->nominated)
    json_object_set_new(st, "nominatedNodeName", json_string(j->nominated));
  else
    json_object_del(st, "nominatedNodeName");
  if (json_equal(before, st))
    return STORE_UNCHANGED;
  (void)err;
  *out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  *out_len = strlen(*out);
  return 0;
}

static void do_unschedulable(srv_sched_t *ss, job_t *j)
{
  srv_t *s = ss->srv;
  const srv_kind_t *pods = srv_kind_find("", "pods");
  berr_t err = BERR_INIT;
  if (j->write_status) {
    cleanup_free char *key = srv_obj_key(pods, j->ns, j->name);
    if (store_guaranteed_update(s->store, key, false, unsched_fn, j, NULL, &err) < 0
        && err.code != ENOENT)
      log_warn("msg=\"scheduler: pod status not written\" pod=%s/%s err=\"%s\"", j->ns, j->name,
               err.msg);
    berr_clear(&err);
  }
  if (j->write_event)
    write_event(ss, j->ns, j->name, j->uid, "Warning", "FailedScheduling", j->message);
  for (size_t i = 0; i < j->n_victims; i++) {
    sched_victim_t *v = &j->victims[i];
    cleanup_free char *msg = xasprintf("Preempted by pod %s on node %s", j->uid, j->nominated);
    write_event(ss, v->ns, v->name, v->uid, "Normal", "Preempted", msg);
    if (srv_obj_delete(s, pods, v->ns, v->name, v->uid, &err) < 0 && err.code != ENOENT)
      log_warn("msg=\"scheduler: victim not deleted\" pod=%s/%s err=\"%s\"", v->ns, v->name,
               err.msg);
    else
      log_info("msg=\"pod preempted\" pod=%s/%s by=%s/%s node=%s", v->ns, v->name, j->ns, j->name,
               j->nominated);
    berr_clear(&err);
  }
}

/* true: bound. */
static bool do_bind(srv_sched_t *ss, job_t *j)
{
  srv_t *s = ss->srv;
  berr_t err = BERR_INIT;
  if (srv_bind_pod(s, j->ns, j->name, j->uid, j->node, &err) < 0) {
    log_debug("msg=\"scheduler: binding failed\" pod=%s/%s node=%s err=\"%s\"", j->ns, j->name,
              j->node, err.msg);
    berr_clear(&err);
    return false;
  }
  log_debug("msg=\"pod scheduled\" pod=%s/%s node=%s", j->ns, j->name, j->node);
  pthread_mutex_lock(&ss->mlock);
  ss->bindings++;
  pthread_mutex_unlock(&ss->mlock);
  return true;
}

/* Takes the next job: decisions first, then the events of bindings done
 * (a binding does not wait for its event's commit), then, paced, what is
 * written about unschedulable pods. NULL when stopping. */
static job_t *next_job(srv_sched_t *ss)
{
  for (;;) {
    if (ss->stopping)
      return NULL;
    job_t *j = NULL;
    if (ss->head) {
      j = ss->head;
      ss->head = j->next;
      if (!ss->head)
        ss->tail = NULL;
      ss->queued--;
    } else if (ss->ev_head) {
      j = ss->ev_head;
      ss->ev_head = j->next;
      if (!ss->ev_head)
        ss->ev_tail = NULL;
      ss->ev_queued--;
    } else if (ss->un_head && !ss->un_busy && time_mono_ns() >= ss->un_next) {
      j = ss->un_head;
      ss->un_head = j->next;
      if (!ss->un_head)
        ss->un_tail = NULL;
      ss->un_busy = true;
      ss->un_next = time_mono_ns() + 1000000000LL / UNSCHED_PER_S;
    }
    if (j) {
      j->next = NULL;
      ss->busy++;
      return j;
    }
    if (ss->un_head && !ss->un_busy) { /* one is waiting for its turn */
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      int64_t wait = ss->un_next - time_mono_ns();
      wait = wait < 1000000 ? 1000000 : wait;
      ts.tv_sec += (time_t)(wait / 1000000000LL);
      ts.tv_nsec += (long)(wait % 1000000000LL);
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&ss->cond, &ss->lock, &ts);
    } else {
      pthread_cond_wait(&ss->cond, &ss->lock);
    }
  }
}

static void *worker_main(void *arg)
{
  srv_sched_t *ss = arg;
  pthread_setname_np(pthread_self(), "sched-worker");
  pthread_mutex_lock(&ss->lock);
  for (;;) {
    job_t *j = next_job(ss);
    if (!j)
      break;
    pthread_mutex_unlock(&ss->lock);
    bool bound = false, failed = false;
    if (j->event) {
      cleanup_free char *msg
          = xasprintf("Successfully assigned %s/%s to %s", j->ns, j->name, j->node);
      write_event(ss, j->ns, j->name, j->uid, "Normal", "Scheduled", msg);
    } else if (j->node) {
      bound = do_bind(ss, j);
      failed = !bound;
    } else {
      do_unschedulable(ss, j);
    }
    pthread_mutex_lock(&ss->lock);
    ss->busy--;
    if (!j->node && !j->event && !j->n_victims) {
      ss->un_busy = false;
      pthread_cond_signal(&ss->cond);
    }
    bool wake = false;
    if (failed) {
      j->next = ss->failed;
      ss->failed = j;
      wake = true;
    } else if (bound && ss->ev_queued < EVENTS_MAX) {
      j->event = true;
      if (ss->ev_tail)
        ss->ev_tail->next = j;
      else
        ss->ev_head = j;
      ss->ev_tail = j;
      ss->ev_queued++;
    } else {
      if (bound) {
        pthread_mutex_lock(&ss->mlock);
        ss->events_dropped++;
        pthread_mutex_unlock(&ss->mlock);
      }
      job_free(j);
    }
    if (ss->want_room && ss->queued < QUEUE_MAX / 2) {
      ss->want_room = false;
      wake = true;
    }
    if (!ss->queued && !ss->busy)
      pthread_cond_broadcast(&ss->idle);
    if (wake)
      poke(ss->done_fd);
  }
  pthread_mutex_unlock(&ss->lock);
  return NULL;
}

/* ---- the thread -------------------------------------------------------------------------- */

static void metrics_record(srv_sched_t *ss, const sched_result_t *r)
{
  double sec = (double)r->decision_ns / 1e9;
  pthread_mutex_lock(&ss->mlock);
  size_t b = 0;
  while (b < N_BUCKETS && sec > buckets[b])
    b++;
  ss->hist[b]++;
  ss->sum += sec;
  ss->count++;
  if (!r->node)
    ss->unschedulable++;
  ss->preempted += r->n_victims;
  pthread_mutex_unlock(&ss->mlock);
}

/* Hands a decision to the workers (r's strings are taken). */
static void dispatch(srv_sched_t *ss, sched_result_t *r)
{
  metrics_record(ss, r);
  if (!r->node && !r->status_changed && !r->message_changed && !r->n_victims)
    return; /* nothing new to say */
  job_t *j = xcalloc(1, sizeof *j);
  j->ns = steal_ptr(r->ns);
  j->name = steal_ptr(r->name);
  j->uid = steal_ptr(r->uid);
  j->node = steal_ptr(r->node);
  if (!j->node) {
    j->message = steal_ptr(r->message);
    j->nominated = steal_ptr(r->nominated_node);
    j->write_status = r->status_changed;
    j->write_event = r->message_changed;
    j->victims = steal_ptr(r->victims);
    j->n_victims = r->n_victims;
    r->n_victims = 0;
    log_debug("msg=\"pod unschedulable\" pod=%s/%s message=\"%s\"", j->ns, j->name, j->message);
  }
  pthread_mutex_lock(&ss->lock);
  if (!j->node && !j->n_victims) { /* information only: paced, last */
    if (ss->un_tail)
      ss->un_tail->next = j;
    else
      ss->un_head = j;
    ss->un_tail = j;
  } else {
    if (ss->tail)
      ss->tail->next = j;
    else
      ss->head = j;
    ss->tail = j;
    ss->queued++;
  }
  pthread_cond_signal(&ss->cond);
  pthread_mutex_unlock(&ss->lock);
}

/* Failed bindings back into the scheduler. */
static void take_failed(srv_sched_t *ss)
{
  pthread_mutex_lock(&ss->lock);
  job_t *f = ss->failed;
  ss->failed = NULL;
  pthread_mutex_unlock(&ss->lock);
  while (f) {
    job_t *next = f->next;
    if (ss->sched)
      sched_forget(ss->sched, f->ns, f->name);
    job_free(f);
    f = next;
  }
}

/* "/registry/pods/NS/NAME" → NS and NAME (copies). */
static bool split_key(const char *key, const char *prefix, char **ns, char **name)
{
  const char *rest = key + strlen(prefix), *slash = strchr(rest, '/');
  if (!slash)
    return false;
  *ns = xstrndup(rest, (size_t)(slash - rest));
  *name = xstrdup(slash + 1);
  return true;
}

typedef enum { W_NODES, W_PDBS, W_PODS, W_N } wkind_t;

/* The spans of a stored pod's top-level members the light path reads. */
typedef struct pod_spans {
  const char *meta, *meta_end, *spec, *spec_end, *status, *status_end, *node, *node_end;
} pod_spans_t;

static int top_member(void *arg, const char *key, size_t klen, const char *vs, const char *ve)
{
  pod_spans_t *sp = arg;
  if (klen == 8 && !memcmp(key, "metadata", 8)) {
    sp->meta = vs;
    sp->meta_end = ve;
  } else if (klen == 4 && !memcmp(key, "spec", 4)) {
    sp->spec = vs;
    sp->spec_end = ve;
  } else if (klen == 6 && !memcmp(key, "status", 6)) {
    sp->status = vs;
    sp->status_end = ve;
  }
  return 0;
}

static int spec_member(void *arg, const char *key, size_t klen, const char *vs, const char *ve)
{
  pod_spans_t *sp = arg;
  if (klen == 8 && !memcmp(key, "nodeName", 8)) {
    sp->node = vs;
    sp->node_end = ve;
    return 1;
  }
  return 0;
}

/* A pod event without decoding its spec (most of its bytes): when the pod
 * is placed where the event says, its metadata and status are all the
 * cache needs (sched_pod_set_placed). false: decode the whole pod. */
static bool pod_event_light(sched_t *s, const char *value, size_t len)
{
  pod_spans_t sp = { 0 };
  const char *end = value + len;
  if (srv_rj_members(value, end, top_member, &sp) < 0 || !sp.meta || !sp.spec)
    return false;
  if (srv_rj_members(sp.spec, sp.spec_end, spec_member, &sp) < 0 || !sp.node)
    return false;
  cleanup_json json_t *node
      = json_loadb(sp.node, (size_t)(sp.node_end - sp.node), JSON_DECODE_ANY, NULL);
  cleanup_json json_t *meta = json_loadb(sp.meta, (size_t)(sp.meta_end - sp.meta), 0, NULL);
  cleanup_json json_t *status
      = sp.status ? json_loadb(sp.status, (size_t)(sp.status_end - sp.status), 0, NULL) : NULL;
  if (!json_is_string(node) || !meta)
    return false;
  return sched_pod_set_placed(s, meta, json_string_value(node), status);
}

static void apply(srv_sched_t *ss, wkind_t w, const char *prefix, const char *key,
                  const char *value, size_t len, bool del)
{
  sched_t *s = ss->sched;
  if (del) {
    if (w == W_NODES) {
      sched_node_delete(s, key + strlen(prefix));
    } else {
      cleanup_free char *ns = NULL, *name = NULL;
      if (split_key(key, prefix, &ns, &name)) {
        if (w == W_PODS)
          sched_pod_delete(s, ns, name);
        else
          sched_pdb_delete(s, ns, name);
      }
    }
    return;
  }
  if (w == W_PODS && pod_event_light(s, value, len))
    return;
  json_t *o = json_loadb(value, len, 0, NULL);
  if (!o)
    return;
  if (w == W_NODES)
    sched_node_set(s, o);
  else if (w == W_PODS)
    sched_pod_set(s, o);
  else
    sched_pdb_set(s, o);
  json_decref(o);
}

typedef struct follow {
  wkind_t kind;
  char *prefix;
  store_watch_t *w;
} follow_t;

static int follow_start(srv_sched_t *ss, follow_t *f, berr_t *err)
{
  store_list_req_t lr = { .prefix = f->prefix };
  store_list_t l = { 0 };
  if (store_list(ss->srv->store, &lr, &l, err) < 0)
    return -1;
  for (size_t i = 0; i < l.n; i++)
    apply(ss, f->kind, f->prefix, l.items[i].key, l.items[i].value, l.items[i].len, false);
  int rc = store_watch(ss->srv->store, f->prefix, true, l.rev, &f->w, err);
  store_list_free(&l);
  return rc;
}

/* Applies what a watch has; -1 when it must be listed again. */
static int follow_drain(srv_sched_t *ss, follow_t *f)
{
  const store_event_t *ev;
  berr_t err = BERR_INIT;
  int rc;
  while ((rc = store_watch_next(f->w, &ev, &err)) == 1) {
    apply(ss, f->kind, f->prefix, ev->key, ev->value, ev->len, ev->type == STORE_DELETE);
    store_event_release(ev);
  }
  if (rc < 0)
    log_warn("msg=\"scheduler: watch ended, listing again\" prefix=%s err=\"%s\"", f->prefix,
             err.msg);
  berr_clear(&err);
  return rc < 0 ? -1 : 0;
}

static void follow_stop(follow_t *f)
{
  store_watch_close(f->w);
  f->w = NULL;
}

/* Waits until no decision is queued or being written (bounded by stop);
 * the Scheduled events still waiting do not matter. */
static void wait_idle(srv_sched_t *ss)
{
  pthread_mutex_lock(&ss->lock);
  while ((ss->queued || ss->busy) && !ss->stopping)
    pthread_cond_wait(&ss->idle, &ss->lock);
  pthread_mutex_unlock(&ss->lock);
}

static bool stop_requested(srv_sched_t *ss, int timeout_ms)
{
  struct pollfd pf = { .fd = ss->stop_fd, .events = POLLIN };
  return poll(&pf, 1, timeout_ms) > 0;
}

static void *sched_main(void *arg)
{
  srv_sched_t *ss = arg;
  pthread_setname_np(pthread_self(), "scheduler");
  follow_t fs[W_N] = { { W_NODES, xstrdup(NODES_PREFIX), NULL },
                       { W_PDBS, NULL, NULL },
                       { W_PODS, xstrdup(PODS_PREFIX), NULL } };
  const srv_kind_t *pdb = srv_kind_find("policy", "poddisruptionbudgets");
  if (pdb)
    fs[W_PDBS].prefix = srv_obj_key(pdb, NULL, NULL);
  berr_t err = BERR_INIT;
  bool listed = false;
  for (;;) {
    if (!listed) {
      for (int i = 0; i < W_N; i++)
        follow_stop(&fs[i]);
      wait_idle(ss); /* bindings in flight land before the cache is rebuilt */
      take_failed(ss);
      sched_free(ss->sched);
      sched_config_t cfg = { .strategy = ss->strategy };
      ss->sched = sched_new(&cfg);
      listed = true;
      for (int i = 0; i < W_N && listed; i++)
        if (fs[i].prefix && follow_start(ss, &fs[i], &err) < 0) {
          log_warn("msg=\"scheduler: cannot follow the store\" prefix=%s err=\"%s\"", fs[i].prefix,
                   err.msg);
          berr_clear(&err);
          listed = false;
        }
      if (!listed) {
        if (stop_requested(ss, RETRY_MS))
          break;
        continue;
      }
    }
    /* Decide what is due, a batch at a time, while the workers keep up. */
    size_t decided = 0;
    bool full = false;
    sched_result_t r;
    while (decided < BATCH) {
      pthread_mutex_lock(&ss->lock);
      full = ss->queued >= QUEUE_MAX;
      if (full)
        ss->want_room = true;
      pthread_mutex_unlock(&ss->lock);
      if (full || !sched_next(ss->sched, &r))
        break;
      dispatch(ss, &r);
      sched_result_clear(&r);
      decided++;
    }
    sched_stats_t st;
    sched_stats(ss->sched, &st);
    pthread_mutex_lock(&ss->mlock);
    ss->pending = st.queued;
    ss->parked = st.parked;
    pthread_mutex_unlock(&ss->mlock);
    int timeout = -1;
    if (decided == BATCH && !full) {
      timeout = 0;
    } else if (!full) {
      int64_t due = sched_next_due(ss->sched);
      if (due != INT64_MAX) {
        int64_t ms = (due - time_mono_ns() + 999999) / 1000000;
        timeout = ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
      }
    }
    struct pollfd pf[2 + W_N]
        = { { .fd = ss->stop_fd, .events = POLLIN }, { .fd = ss->done_fd, .events = POLLIN } };
    for (int i = 0; i < W_N; i++)
      pf[2 + i] = (struct pollfd){ .fd = fs[i].w ? store_watch_fd(fs[i].w) : -1, .events = POLLIN };
    if (poll(pf, 2 + W_N, timeout) > 0 && pf[0].revents)
      break;
    if (pf[1].revents)
      drain_fd(ss->done_fd);
    take_failed(ss);
    for (int i = 0; i < W_N; i++)
      if (fs[i].w && follow_drain(ss, &fs[i]) < 0)
        listed = false;
  }
  for (int i = 0; i < W_N; i++) {
    follow_stop(&fs[i]);
    free(fs[i].prefix);
  }
  return NULL;
}

/* ---- start, stop, metrics ------------------------------------------------------------ */

int srv_sched_start(srv_t *s, sched_strategy_t strategy, berr_t *err)
{
  srv_sched_t *ss = xcalloc(1, sizeof *ss);
  ss->srv = s;
  ss->strategy = strategy;
  pthread_mutex_init(&ss->lock, NULL);
  pthread_mutex_init(&ss->mlock, NULL);
  pthread_cond_init(&ss->cond, NULL);
  pthread_cond_init(&ss->idle, NULL);
  ss->stop_fd = eventfd(0, EFD_CLOEXEC);
  ss->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  s->sched = ss;
  int rc = ss->stop_fd < 0 || ss->done_fd < 0 ? errno : 0;
  for (size_t i = 0; !rc && i < WORKERS; i++) {
    rc = pthread_create(&ss->workers[i], NULL, worker_main, ss);
    if (!rc)
      ss->n_workers++;
  }
  if (!rc)
    rc = pthread_create(&ss->thread, NULL, sched_main, ss);
  if (rc) {
    s->sched = NULL;
    pthread_mutex_lock(&ss->lock);
    ss->stopping = true;
    pthread_cond_broadcast(&ss->cond);
    pthread_mutex_unlock(&ss->lock);
    for (size_t i = 0; i < ss->n_workers; i++)
      pthread_join(ss->workers[i], NULL);
    if (ss->stop_fd >= 0)
      close(ss->stop_fd);
    if (ss->done_fd >= 0)
      close(ss->done_fd);
    free(ss);
    return berr_set(err, rc, "start the scheduler");
  }
  log_info("msg=\"scheduler started\" strategy=%s workers=%d", sched_strategy_name(strategy),
           WORKERS);
  return 0;
}

void srv_sched_stop(srv_t *s)
{
  srv_sched_t *ss = s->sched;
  if (!ss)
    return;
  poke(ss->stop_fd);
  pthread_mutex_lock(&ss->lock);
  ss->stopping = true;
  pthread_cond_broadcast(&ss->cond);
  pthread_cond_broadcast(&ss->idle);
  pthread_mutex_unlock(&ss->lock);
  pthread_join(ss->thread, NULL);
  for (size_t i = 0; i < ss->n_workers; i++)
    pthread_join(ss->workers[i], NULL);
  /* Decisions never written: the next start decides again. */
  for (job_t *j = ss->head, *next; j; j = next) {
    next = j->next;
    job_free(j);
  }
  for (job_t *j = ss->failed, *next; j; j = next) {
    next = j->next;
    job_free(j);
  }
  for (job_t *j = ss->ev_head, *next; j; j = next) {
    next = j->next;
    job_free(j);
  }
  for (job_t *j = ss->un_head, *next; j; j = next) {
    next = j->next;
    job_free(j);
  }
  sched_free(ss->sched);
  close(ss->stop_fd);
  close(ss->done_fd);
  pthread_mutex_destroy(&ss->lock);
  pthread_mutex_destroy(&ss->mlock);
  pthread_cond_destroy(&ss->cond);
  pthread_cond_destroy(&ss->idle);
  free(ss);
  s->sched = NULL;
}

void srv_sched_metrics(srv_req_t *q, srv_resp_t *r)
{
  srv_sched_t *ss = q->srv->sched;
  buf_t b = { 0 };
  uint64_t hist[N_BUCKETS + 1] = { 0 }, count = 0, bindings = 0, unsched = 0, preempted = 0,
                            dropped = 0;
  double sum = 0;
  size_t pending = 0, parked = 0;
  if (ss) {
    pthread_mutex_lock(&ss->mlock);
    memcpy(hist, ss->hist, sizeof hist);
    count = ss->count;
    sum = ss->sum;
    bindings = ss->bindings;
    unsched = ss->unschedulable;
    preempted = ss->preempted;
    dropped = ss->events_dropped;
    pending = ss->pending;
    parked = ss->parked;
    pthread_mutex_unlock(&ss->mlock);
  }
  buf_puts(&b, "# HELP berth_scheduler_decision_duration_seconds How long the scheduler took to "
               "decide where a pod goes (filters, scores, preemption).\n"
               "# TYPE berth_scheduler_decision_duration_seconds histogram\n");
  uint64_t cum = 0;
  for (size_t i = 0; i < N_BUCKETS; i++) {
    cum += hist[i];
    buf_printf(&b, "berth_scheduler_decision_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
               buckets[i], cum);
  }
  cum += hist[N_BUCKETS];
  buf_printf(&b,
             "berth_scheduler_decision_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
             "berth_scheduler_decision_duration_seconds_sum %.9f\n"
             "berth_scheduler_decision_duration_seconds_count %" PRIu64 "\n",
             cum, sum, count);
  buf_printf(&b,
             "# HELP berth_scheduler_bindings_total Pods the scheduler bound to a node.\n"
             "# TYPE berth_scheduler_bindings_total counter\n"
             "berth_scheduler_bindings_total %" PRIu64 "\n"
             "# HELP berth_scheduler_unschedulable_total Decisions that found no node for the "
             "pod.\n"
             "# TYPE berth_scheduler_unschedulable_total counter\n"
             "berth_scheduler_unschedulable_total %" PRIu64 "\n"
             "# HELP berth_scheduler_preemption_victims_total Pods deleted to make room for "
             "pods of higher priority.\n"
             "# TYPE berth_scheduler_preemption_victims_total counter\n"
             "berth_scheduler_preemption_victims_total %" PRIu64 "\n"
             "# HELP berth_scheduler_pending_pods Pods waiting for a decision: due now (active) "
             "or parked after finding no node (unschedulable).\n"
             "# TYPE berth_scheduler_pending_pods gauge\n"
             "berth_scheduler_pending_pods{queue=\"active\"} %zu\n"
             "berth_scheduler_pending_pods{queue=\"unschedulable\"} %zu\n"
             "# HELP berth_scheduler_events_dropped_total Scheduled events not written because "
             "%d were already waiting.\n"
             "# TYPE berth_scheduler_events_dropped_total counter\n"
             "berth_scheduler_events_dropped_total %" PRIu64 "\n",
             bindings, unsched, preempted, pending, parked, EVENTS_MAX, dropped);
  r->code = 200;
  r->len = b.len;
  r->body = buf_steal(&b);
  r->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
