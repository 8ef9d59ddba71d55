/* hollow.c — hollow nodes: one process standing in for thousands of nodes
 * over real API connections, so that the scheduler and the API server can
 * be measured at cluster scale on one machine (bench/sched.sh) and tested
 * with many nodes (tests/e2e/t_hollow.sh). A hollow node does what a node
 * agent does in the API and nothing on the machine:
 *
 *   - registers a Node (hostname, os, arch and zone labels; capacity and
 *     allocatable from --cpu/--memory/--pods; Ready; nodeInfo; a pod CIDR)
 *     and a Lease in kube-node-lease;
 *   - every --interval seconds (10, as berth's agent and the kubelet) renews
 *     its Lease and reads its Node; as src/agent/agent_node.c, it sends its
 *     status (the conditions, with their lastHeartbeatTime) only when the
 *     Node's conditions differ from its own (the node controller turned them
 *     Unknown) or once every --report-interval seconds (300, the kubelet's
 *     nodeStatusReportFrequency); the beats of all nodes are spread evenly
 *     over the interval (the summary says how late the latest one started);
 *   - for each pod bound to it, writes through the status subresource the
 *     status a kubelet would once the containers run: phase Running,
 *     PodScheduled/PodReadyToStartContainers/Initialized/ContainersReady/
 *     Ready True, every container running (containerID hollow://UID/NAME),
 *     a pod IP from the node's pod CIDR, startTime;
 *   - deletes the pods being deleted (deletionTimestamp) with grace period
 *     0 and the pod's uid as precondition: what an agent does once the
 *     containers are gone.
 *
 * One watch follows every pod bound anywhere (spec.nodeName!=, or every pod
 * when the server refuses that selector) and hands the work to --conns
 * writer threads, each with its own keep-alive connection; --heartbeat-conns
 * more connections carry the beats (one per 1,000 nodes and one more, up to
 * 8, unless told). The watch ends every few seconds and is
 * resumed from the last resourceVersion, which is also how a SIGTERM reaches
 * it: SIGTERM or SIGINT stop everything within that time, with --cleanup
 * delete the nodes and their leases (not their pods), and print a JSON
 * summary (requests made, CPU used) on stdout.
 *
 * The simulator acts with the admin identity of DATA_DIR (admin-token,
 * ca.crt), not with per-node credentials: the Node authorizer's checks are
 * not exercised. Nothing answers on the nodes' addresses (100.64.0.0/10),
 * so `kubectl logs` and `exec` of hollow pods fail. Not part of berth;
 * built by `make build/bench-hollow` (bench/api_lib.sh's build_loadgen).
 *
 *   build/bench-hollow https://127.0.0.1:PORT DATA -n 5000 [--prefix hollow-] [--zones 10] \
 *       [--cpu 32 --memory 256Gi --pods 110] [--interval 10] [--report-interval 300]
 *       [--conns 8] [--cleanup] */
#include "loadgen.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#define LEASES           "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
#define LEASE_DURATION_S 40
#define WATCH_S          3 /* how long one watch request lasts: the latency of a stop */
#define MAX_TRIES        5
#define MAX_LOGGED       20 /* failures printed; the rest are only counted */
#define KUBELET_VERSION  "v1.33.1-berth-hollow"
#define MERGE_PATCH      "application/merge-patch+json"

typedef struct hnode {
  char *name;
  char ip[24];             /* InternalIP: 100.64.0.0/10 */
  unsigned net_hi, net_lo; /* pod CIDR 10.HI.LO.0/24 */
  atomic_uint ips;         /* pod IPs handed out */
  int64_t reported;        /* when its status was last sent (monotonic ns; its beat thread's) */
} hnode_t;

typedef struct hjob {
  struct hjob *next;
  bool del;    /* the final DELETE, else the Running status */
  json_t *pod; /* as the watch saw it */
  size_t node;
  int tries;
} hjob_t;

/* What the watch did for a pod (lg_map values, by uid). */
enum { SEEN_STARTED = 1, SEEN_DELETING = 2 };

typedef struct hollow {
  /* settings */
  const char *prefix, *cpu, *memory, *pods;
  long n, zones, conns, beat_conns, interval_s, report_s;
  bool cleanup;
  int width; /* digits of a node's number */
  hnode_t *nodes;
  char *since; /* the conditions' lastTransitionTime */
  kc_t *proto;
  int stop_fd; /* an eventfd, readable once stopping */
  atomic_bool stopping;
  /* the writers' queue */
  pthread_mutex_t mu;
  pthread_cond_t cond;
  hjob_t *head, *tail;
  /* what was done */
  atomic_long statuses, deletes, beats, reports, failures, retries, logged;
  atomic_long beat_late_ns; /* the latest a beat started after its time */
} hollow_t;

static bool stopping(hollow_t *h)
{
  return atomic_load(&h->stopping);
}

/* Sleeps until the monotonic time at (ns); false when stopping. */
static bool sleep_until(hollow_t *h, int64_t at)
{
  for (;;) {
    if (stopping(h))
      return false;
    int64_t left = at - time_mono_ns();
    if (left <= 0)
      return true;
    struct pollfd p = { .fd = h->stop_fd, .events = POLLIN };
    poll(&p, 1, (int)((left + 999999) / 1000000));
  }
}

/* One line on stderr for a failure, for the first MAX_LOGGED of them. */
static void fail(hollow_t *h, const char *what, const char *msg)
{
  atomic_fetch_add(&h->failures, 1);
  if (atomic_fetch_add(&h->logged, 1) < MAX_LOGGED)
    fprintf(stderr, "%s: %s: %s\n", lg.prog, what, msg ? msg : "failed");
}

/* An error reply as kubectl prints it: "Error from server (Invalid): …". */
static void fail_reply(hollow_t *h, const char *what, kc_resp_t *r)
{
  cleanup_json json_t *j = r->body.data ? json_loadb(r->body.data, r->body.len, 0, NULL) : NULL;
  cleanup_free char *msg = kc_status_message(r->code, j, r->body.data ? r->body.data : "");
  fail(h, what, msg);
}

/* kc_do with a JSON body (NULL: none); the status, or -1 on a transport error. */
static long call(hollow_t *h, kc_t *c, const char *method, const char *path, const char *ctype,
                 json_t *body, const char *what)
{
  cleanup_free char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  kc_resp_t r = { 0 };
  berr_t err = BERR_INIT;
  if (kc_do(c, method, path, ctype, NULL, text, text ? strlen(text) : 0, &r, &err) < 0) {
    fail(h, what, err.msg);
    berr_clear(&err);
    return -1;
  }
  long code = r.code;
  if (code >= 300 && code != 404 && code != 409)
    fail_reply(h, what, &r);
  kc_resp_free(&r);
  return code;
}

/* ---- nodes ------------------------------------------------------------------------------ */

static json_t *node_conditions(hollow_t *h, const char *beat)
{
  static const char *const c[][4] = {
    { "MemoryPressure", "False", "KubeletHasSufficientMemory", "hollow node" },
    { "DiskPressure", "False", "KubeletHasNoDiskPressure", "hollow node" },
    { "PIDPressure", "False", "KubeletHasSufficientPID", "hollow node" },
    { "Ready", "True", "KubeletReady", "hollow node is posting ready status" },
  };
  json_t *a = json_array();
  for (size_t i = 0; i < ARRAY_SIZE(c); i++)
    json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", c[i][0], "status",
                                       c[i][1], "lastHeartbeatTime", beat, "lastTransitionTime",
                                       h->since, "reason", c[i][2], "message", c[i][3]));
  return a;
}

static json_t *node_status(hollow_t *h, size_t i)
{
  hnode_t *n = &h->nodes[i];
  cleanup_free char *beat = time_rfc3339_sec(time_now_ns());
  cleanup_free char *id = xasprintf("hollow-%08zx", i);
  json_t *res = json_pack("{s:s, s:s, s:s, s:s}", "cpu", h->cpu, "memory", h->memory, "pods",
                          h->pods, "ephemeral-storage", "100Gi");
  return json_pack(
      "{s:O, s:o, s:o, s:[{s:s, s:s}, {s:s, s:s}], s:{s:{s:i}}, s:{s:s, s:s, s:s, s:s, s:s, "
      "s:s, s:s, s:s, s:s, s:s}}",
      "capacity", res, "allocatable", res, "conditions", node_conditions(h, beat), "addresses",
      "type", "InternalIP", "address", n->ip, "type", "Hostname", "address", n->name,
      "daemonEndpoints", "kubeletEndpoint", "Port", 10250, "nodeInfo", "machineID", id,
      "systemUUID", id, "bootID", id, "kernelVersion", "hollow", "osImage", "hollow node",
      "containerRuntimeVersion", "hollow://0.1", "kubeletVersion", KUBELET_VERSION,
      "kubeProxyVersion", "", "operatingSystem", "linux", "architecture", "amd64");
}

static json_t *node_labels(hollow_t *h, size_t i)
{
  cleanup_free char *zone = xasprintf("zone-%ld", (long)i % h->zones);
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kubernetes.io/hostname", h->nodes[i].name,
                   "kubernetes.io/os", "linux", "kubernetes.io/arch", "amd64",
                   "topology.kubernetes.io/region", "hollow", "topology.kubernetes.io/zone", zone,
                   "bench.berth.dev/hollow", "true");
}

static json_t *lease(hollow_t *h, size_t i, bool whole)
{
  cleanup_free char *now = time_rfc3339_micro(time_now_ns());
  if (!whole)
    return json_pack("{s:{s:s}}", "spec", "renewTime", now);
  return json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:i, s:s}}", "apiVersion", "coordination.k8s.io/v1",
                   "kind", "Lease", "metadata", "name", h->nodes[i].name, "spec", "holderIdentity",
                   h->nodes[i].name, "leaseDurationSeconds", LEASE_DURATION_S, "renewTime", now);
}

/* Creates node i, or brings an existing one up to date; then its Lease. */
static int node_register(hollow_t *h, kc_t *c, size_t i)
{
  hnode_t *n = &h->nodes[i];
  cleanup_free char *cidr = xasprintf("10.%u.%u.0/24", n->net_hi, n->net_lo);
  cleanup_json json_t *node
      = json_pack("{s:s, s:s, s:{s:s, s:o}, s:{s:s, s:[s]}, s:o}", "apiVersion", "v1", "kind",
                  "Node", "metadata", "name", n->name, "labels", node_labels(h, i), "spec",
                  "podCIDR", cidr, "podCIDRs", cidr, "status", node_status(h, i));
  long code = call(h, c, "POST", "/api/v1/nodes", NULL, node, "create node");
  if (code == 409) {
    cleanup_free char *path = xasprintf("/api/v1/nodes/%s", n->name);
    cleanup_free char *spath = xasprintf("%s/status", path);
    cleanup_json json_t *meta = json_pack("{s:{s:o}}", "metadata", "labels", node_labels(h, i));
    cleanup_json json_t *st = json_pack("{s:o}", "status", node_status(h, i));
    if (call(h, c, "PATCH", path, MERGE_PATCH, meta, "update node") != 200
        || call(h, c, "PATCH", spath, MERGE_PATCH, st, "update node status") != 200)
      return -1;
  } else if (code != 201 && code != 200) {
    return -1;
  }
  n->reported = time_mono_ns();
  cleanup_json json_t *l = lease(h, i, true);
  code = call(h, c, "POST", LEASES, NULL, l, "create lease");
  if (code == 409) {
    cleanup_free char *path = xasprintf(LEASES "/%s", n->name);
    json_decref(l);
    l = lease(h, i, false);
    code = call(h, c, "PATCH", path, MERGE_PATCH, l, "renew lease");
  }
  return code == 200 || code == 201 ? 0 : -1;
}

/* True when the Node (JSON text) has the conditions a hollow node sends,
 * heartbeat times aside. */
static bool conditions_as_sent(hollow_t *h, const char *text, size_t len)
{
  cleanup_json json_t *node = json_loadb(text, len, 0, NULL);
  cleanup_json json_t *ours = node_conditions(h, "");
  json_t *have = json_object_get(json_object_get(node, "status"), "conditions");
  if (json_array_size(have) != json_array_size(ours))
    return false;
  for (size_t k = 0; k < json_array_size(ours); k++) {
    json_t *o = json_array_get(ours, k), *v = json_array_get(have, k);
    static const char *const keys[]
        = { "type", "status", "reason", "message", "lastTransitionTime" };
    for (size_t j = 0; j < ARRAY_SIZE(keys); j++)
      if (strcmp(json_str(o, keys[j]), json_str(v, keys[j]) ?: ""))
        return false;
  }
  return true;
}

/* One beat of node i: its Lease renewed, its Node read, and its status sent
 * when the Node's conditions are not its own or the report interval has
 * passed. A node or lease deleted meanwhile is registered again. */
static void node_beat(hollow_t *h, kc_t *c, size_t i)
{
  hnode_t *n = &h->nodes[i];
  cleanup_free char *lpath = xasprintf(LEASES "/%s", n->name);
  cleanup_free char *npath = xasprintf("/api/v1/nodes/%s", n->name);
  cleanup_json json_t *l = lease(h, i, false);
  long lc = call(h, c, "PATCH", lpath, MERGE_PATCH, l, "renew lease");
  kc_resp_t r = { 0 };
  berr_t err = BERR_INIT;
  long nc = -1;
  bool same = false;
  if (kc_do(c, "GET", npath, NULL, NULL, NULL, 0, &r, &err) < 0) {
    fail(h, "get node", err.msg);
    berr_clear(&err);
  } else {
    nc = r.code;
    if (nc == 200)
      same = conditions_as_sent(h, r.body.data, r.body.len);
    else if (nc != 404)
      fail_reply(h, "get node", &r);
  }
  kc_resp_free(&r);
  int64_t now = time_mono_ns();
  if (nc == 200 && (!same || now - n->reported >= h->report_s * 1000000000LL)) {
    cleanup_free char *spath = xasprintf("%s/status", npath);
    cleanup_free char *beat = time_rfc3339_sec(time_now_ns());
    cleanup_json json_t *st
        = json_pack("{s:{s:o}}", "status", "conditions", node_conditions(h, beat));
    if (call(h, c, "PATCH", spath, MERGE_PATCH, st, "node status") == 200) {
      n->reported = now;
      atomic_fetch_add(&h->reports, 1);
    }
  }
  if ((lc == 404 || nc == 404) && !stopping(h))
    node_register(h, c, i);
  atomic_fetch_add(&h->beats, 1);
}

typedef struct worker {
  kc_t *c; /* first: lg_threads connects it */
  hollow_t *h;
  size_t from, step;
  int64_t t0;
  long failed;
} worker_t;

static void *register_main(void *arg)
{
  worker_t *w = arg;
  for (size_t i = w->from; i < (size_t)w->h->n; i += w->step)
    if (node_register(w->h, w->c, i) < 0)
      w->failed++;
  return NULL;
}

static void *unregister_main(void *arg)
{
  worker_t *w = arg;
  hollow_t *h = w->h;
  for (size_t i = w->from; i < (size_t)h->n; i += w->step) {
    cleanup_free char *lpath = xasprintf(LEASES "/%s", h->nodes[i].name);
    cleanup_free char *npath = xasprintf("/api/v1/nodes/%s", h->nodes[i].name);
    long lc = call(h, w->c, "DELETE", lpath, NULL, NULL, "delete lease");
    long nc = call(h, w->c, "DELETE", npath, NULL, NULL, "delete node");
    if ((lc != 200 && lc != 404) || (nc != 200 && nc != 404))
      w->failed++;
  }
  return NULL;
}

/* Thread w->from of w->step beats nodes from, from + step, …: node i at
 * t0 + k·interval + i·interval/n, k = 1, 2, … */
static void *beat_main(void *arg)
{
  worker_t *w = arg;
  hollow_t *h = w->h;
  int64_t period = h->interval_s * 1000000000LL;
  for (int64_t k = 1;; k++) {
    for (size_t i = w->from; i < (size_t)h->n; i += w->step) {
      int64_t at = w->t0 + k * period + (int64_t)((double)i * (double)period / (double)h->n);
      if (!sleep_until(h, at))
        return NULL;
      long late = (long)(time_mono_ns() - at), was = atomic_load(&h->beat_late_ns);
      while (late > was && !atomic_compare_exchange_weak(&h->beat_late_ns, &was, late))
        ;
      node_beat(h, w->c, i);
    }
  }
}

/* PREFIX + exactly width digits, below n; else -1. */
static long node_index(hollow_t *h, const char *name)
{
  size_t pl = strlen(h->prefix);
  if (!name || strncmp(name, h->prefix, pl) || strlen(name + pl) != (size_t)h->width)
    return -1;
  long i = 0;
  for (const char *p = name + pl; *p; p++) {
    if (*p < '0' || *p > '9')
      return -1;
    i = i * 10 + (*p - '0');
  }
  return i < h->n ? i : -1;
}

/* ---- pods: the writers ------------------------------------------------------------------ */

static void push(hollow_t *h, hjob_t *j)
{
  pthread_mutex_lock(&h->mu);
  j->next = NULL;
  if (h->tail)
    h->tail->next = j;
  else
    h->head = j;
  h->tail = j;
  pthread_cond_signal(&h->cond);
  pthread_mutex_unlock(&h->mu);
}

/* The next job, or NULL once stopping. */
static hjob_t *pop(hollow_t *h)
{
  pthread_mutex_lock(&h->mu);
  while (!h->head && !stopping(h))
    pthread_cond_wait(&h->cond, &h->mu);
  hjob_t *j = stopping(h) ? NULL : h->head;
  if (j) {
    h->head = j->next;
    if (!h->head)
      h->tail = NULL;
  }
  pthread_mutex_unlock(&h->mu);
  return j;
}

static void job_free(hjob_t *j)
{
  json_decref(j->pod);
  free(j);
}

static json_t *ctr_status(json_t *ctr, const char *uid, const char *now, bool done)
{
  const char *name = json_str(ctr, "name") ?: "";
  json_t *s
      = json_pack("{s:s, s:{}, s:b, s:i, s:s, s:s, s:o, s:b}", "name", name, "lastState", "ready",
                  true, "restartCount", 0, "image", json_str(ctr, "image") ?: "", "imageID", "",
                  "containerID", json_sprintf("hollow://%s/%s", uid, name), "started", !done);
  json_t *state = done ? json_pack("{s:{s:i, s:s, s:s, s:s}}", "terminated", "exitCode", 0,
                                   "reason", "Completed", "startedAt", now, "finishedAt", now)
                       : json_pack("{s:{s:s}}", "running", "startedAt", now);
  json_object_set_new(s, "state", state);
  return s;
}

/* The pod conditions a kubelet owns. */
static const char *const kubelet_conds[]
    = { "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady" };

static bool kubelet_condition(const char *type)
{
  for (size_t i = 0; i < ARRAY_SIZE(kubelet_conds); i++)
    if (!strcmp(type, kubelet_conds[i]))
      return true;
  return false;
}

/* The merge patch of a pod whose containers all run on node i. */
static json_t *pod_running(hollow_t *h, json_t *pod, size_t i)
{
  hnode_t *n = &h->nodes[i];
  json_t *spec = json_object_get(pod, "spec"), *st = json_object_get(pod, "status"), *c;
  const char *uid = json_str(json_object_get(pod, "metadata"), "uid") ?: "";
  cleanup_free char *now = time_rfc3339_sec(time_now_ns());
  /* the conditions others own (PodScheduled, readiness gates) stay */
  json_t *conds = json_array();
  bool scheduled = false;
  size_t k;
  json_array_foreach(json_object_get(st, "conditions"), k, c)
  {
    const char *type = json_str(c, "type") ?: "";
    if (kubelet_condition(type))
      continue;
    scheduled |= !strcmp(type, "PodScheduled");
    json_array_append(conds, c);
  }
  if (!scheduled)
    json_array_append_new(conds, json_pack("{s:s, s:s, s:n, s:s}", "type", "PodScheduled", "status",
                                           "True", "lastProbeTime", "lastTransitionTime", now));
  for (k = 0; k < ARRAY_SIZE(kubelet_conds); k++)
    json_array_append_new(conds,
                          json_pack("{s:s, s:s, s:n, s:s}", "type", kubelet_conds[k], "status",
                                    "True", "lastProbeTime", "lastTransitionTime", now));
  char ip[24];
  if (json_is_true(json_object_get(spec, "hostNetwork"))) {
    snprintf(ip, sizeof ip, "%s", n->ip);
  } else {
    unsigned host = 1 + atomic_fetch_add(&n->ips, 1) % 254;
    snprintf(ip, sizeof ip, "10.%u.%u.%u", n->net_hi, n->net_lo, host);
  }
  json_t *ctrs = json_array(), *inits = json_array();
  json_array_foreach(json_object_get(spec, "containers"), k, c)
      json_array_append_new(ctrs, ctr_status(c, uid, now, false));
  json_array_foreach(json_object_get(spec, "initContainers"), k, c)
  {
    bool sidecar = !strcmp(json_str(c, "restartPolicy") ?: "", "Always");
    json_array_append_new(inits, ctr_status(c, uid, now, !sidecar));
  }
  json_t *out
      = json_pack("{s:s, s:o, s:s, s:[{s:s}], s:s, s:[{s:s}], s:s, s:o}", "phase", "Running",
                  "conditions", conds, "hostIP", n->ip, "hostIPs", "ip", n->ip, "podIP", ip,
                  "podIPs", "ip", ip, "startTime", now, "containerStatuses", ctrs);
  if (json_array_size(inits))
    json_object_set_new(out, "initContainerStatuses", inits);
  else
    json_decref(inits);
  /* a merge patch keeps what it does not name: clear what a kubelet would not report */
  json_object_set_new(out, "reason", json_null());
  json_object_set_new(out, "message", json_null());
  return json_pack("{s:o}", "status", out);
}

/* 0 done (or nothing left to do), -1 worth another try. */
static int job_run(hollow_t *h, kc_t *c, hjob_t *j)
{
  json_t *meta = json_object_get(j->pod, "metadata");
  const char *ns = json_str(meta, "namespace") ?: "default", *name = json_str(meta, "name") ?: "";
  const char *uid = json_str(meta, "uid") ?: "";
  long code;
  if (j->del) {
    cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
    cleanup_json json_t *body
        = json_pack("{s:s, s:s, s:i, s:{s:s}}", "apiVersion", "v1", "kind", "DeleteOptions",
                    "gracePeriodSeconds", 0, "preconditions", "uid", uid);
    code = call(h, c, "DELETE", path, NULL, body, "delete pod");
    if (code == 200 || code == 202)
      atomic_fetch_add(&h->deletes, 1);
  } else {
    cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/pods/%s/status", ns, name);
    cleanup_json json_t *body = pod_running(h, j->pod, j->node);
    code = call(h, c, "PATCH", path, MERGE_PATCH, body, "pod status");
    if (code == 200)
      atomic_fetch_add(&h->statuses, 1);
  }
  /* 404: gone; 409: another pod has the name now */
  return code < 0 || code >= 500 || code == 429 ? -1 : 0;
}

static void *writer_main(void *arg)
{
  worker_t *w = arg;
  hollow_t *h = w->h;
  hjob_t *j;
  while ((j = pop(h))) {
    if (job_run(h, w->c, j) < 0 && ++j->tries < MAX_TRIES
        && sleep_until(h, time_mono_ns() + j->tries * 100000000LL)) {
      atomic_fetch_add(&h->retries, 1);
      push(h, j);
      continue;
    }
    job_free(j);
  }
  return NULL;
}

/* ---- pods: the watch -------------------------------------------------------------------- */

typedef struct watcher {
  hollow_t *h;
  kc_t *c;
  lg_map_t seen; /* uid → SEEN_* */
  char *rv;      /* where the next watch starts; NULL: list first */
  bool selector; /* the server takes spec.nodeName!= */
  kc_lines_t lines;
} watcher_t;

static void pod_seen(watcher_t *w, const char *type, json_t *pod)
{
  hollow_t *h = w->h;
  json_t *meta = json_object_get(pod, "metadata");
  long i = node_index(h, json_str(json_object_get(pod, "spec"), "nodeName"));
  const char *uid = json_str(meta, "uid");
  if (i < 0 || !uid)
    return;
  if (!strcmp(type, "DELETED")) {
    lg_map_del(&w->seen, uid);
    return;
  }
  size_t *flags = lg_map_get(&w->seen, uid, true);
  const char *phase = json_str(json_object_get(pod, "status"), "phase") ?: "";
  bool del = json_str(meta, "deletionTimestamp") != NULL;
  if (*flags & (del ? SEEN_DELETING : SEEN_STARTED))
    return;
  *flags |= del ? SEEN_DELETING : SEEN_STARTED;
  if (!del
      && (!strcmp(phase, "Running") || !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
    return; /* reported already (by an earlier run) */
  hjob_t *j = xcalloc(1, sizeof *j);
  j->del = del;
  j->pod = json_incref(pod);
  j->node = (size_t)i;
  push(h, j);
}

static int on_line(void *arg, const char *line, size_t len)
{
  watcher_t *w = arg;
  cleanup_json json_t *ev = json_loadb(line, len, 0, NULL);
  const char *type = json_str(ev, "type") ?: "";
  json_t *obj = json_object_get(ev, "object");
  if (!strcmp(type, "ERROR")) {
    /* 410 Expired, or anything else: start again from a list */
    if (json_int(obj, "code", 0) != 410)
      fail(w->h, "watch", json_str(obj, "message"));
    free(steal_ptr(w->rv));
    return -1;
  }
  const char *rv = json_str(json_object_get(obj, "metadata"), "resourceVersion");
  if (rv) {
    free(w->rv);
    w->rv = xstrdup(rv);
  }
  pod_seen(w, type, obj);
  return stopping(w->h) ? -1 : 0;
}

#define NODE_SELECTOR "fieldSelector=spec.nodeName%21%3D" /* spec.nodeName!= */

/* Lists the pods (bound ones when the server can select them): each is an
 * event, and the list's resourceVersion is where the watch starts. */
static int pods_list(watcher_t *w)
{
  kc_resp_t r = { 0 };
  berr_t err = BERR_INIT;
  const char *path = w->selector ? "/api/v1/pods?" NODE_SELECTOR : "/api/v1/pods";
  if (kc_do(w->c, "GET", path, NULL, NULL, NULL, 0, &r, &err) < 0) {
    fail(w->h, "list pods", err.msg);
    berr_clear(&err);
    return -1;
  }
  if (r.code == 400 && w->selector) {
    fprintf(stderr, "%s: the server refuses fieldSelector=spec.nodeName!=: following every pod\n",
            lg.prog);
    w->selector = false;
    kc_resp_free(&r);
    return pods_list(w);
  }
  if (r.code != 200) {
    fail_reply(w->h, "list pods", &r);
    kc_resp_free(&r);
    return -1;
  }
  cleanup_json json_t *l = json_loadb(r.body.data, r.body.len, 0, NULL);
  kc_resp_free(&r);
  lg_map_clear(&w->seen);
  json_t *p;
  size_t i;
  json_array_foreach(json_object_get(l, "items"), i, p) pod_seen(w, "ADDED", p);
  const char *rv = json_str(json_object_get(l, "metadata"), "resourceVersion");
  free(w->rv);
  w->rv = xstrdup(rv ? rv : "0");
  return 0;
}

static void *watch_main(void *arg)
{
  watcher_t *w = arg;
  hollow_t *h = w->h;
  while (!stopping(h)) {
    if (!w->rv && pods_list(w) < 0) {
      sleep_until(h, time_mono_ns() + 1000000000LL);
      continue;
    }
    cleanup_free char *path
        = xasprintf("/api/v1/pods?watch=1&resourceVersion=%s&timeoutSeconds=%d%s", w->rv, WATCH_S,
                    w->selector ? "&" NODE_SELECTOR : "");
    w->lines = (kc_lines_t){ .on_line = on_line, .arg = w };
    berr_t err = BERR_INIT;
    long code = 0;
    int rc = kc_stream(w->c, path, NULL, kc_lines_feed, &w->lines, &code, &err);
    if (rc < 0 || (code != 200 && !stopping(h))) {
      cleanup_free char *msg
          = rc < 0 ? NULL : xasprintf("HTTP %ld: %.300s", code, w->lines.pending.data ?: "");
      fail(h, "watch pods", rc < 0 ? err.msg : msg);
      berr_clear(&err);
      free(steal_ptr(w->rv));
      sleep_until(h, time_mono_ns() + 1000000000LL);
    }
    kc_lines_free(&w->lines);
  }
  return NULL;
}

/* ---- the process -------------------------------------------------------------------------- */

/* Runs fn over conns threads (worker i does nodes i, i + conns, …); the
 * nodes that failed. */
static long across(hollow_t *h, void *(*fn)(void *), long conns, int64_t *wall)
{
  size_t nt = (size_t)(conns < h->n ? conns : h->n);
  worker_t *w = xcalloc(nt, sizeof *w);
  for (size_t i = 0; i < nt; i++)
    w[i] = (worker_t){ .c = kc_clone(h->proto), .h = h, .from = i, .step = nt };
  *wall = lg_threads(fn, w, sizeof *w, nt);
  long failed = 0;
  for (size_t i = 0; i < nt; i++) {
    failed += w[i].failed;
    kc_free(w[i].c);
  }
  free(w);
  return failed;
}

static worker_t *start(hollow_t *h, void *(*fn)(void *), size_t nt, int64_t t0, pthread_t *tid)
{
  worker_t *w = xcalloc(nt, sizeof *w);
  for (size_t i = 0; i < nt; i++) {
    w[i] = (worker_t){ .c = kc_clone(h->proto), .h = h, .from = i, .step = nt, .t0 = t0 };
    pthread_create(&tid[i], NULL, fn, &w[i]);
  }
  return w;
}

static void join(worker_t *w, pthread_t *tid, size_t nt)
{
  for (size_t i = 0; i < nt; i++) {
    pthread_join(tid[i], NULL);
    kc_free(w[i].c);
  }
  free(w);
}

static void usage(void)
{
  fputs(
      "usage: bench-hollow URL DATA_DIR -n NODES [--prefix hollow-] [--zones 10]\n"
      "         [--cpu 32] [--memory 256Gi] [--pods 110] [--interval 10] [--report-interval 300]\n"
      "         [--conns 8] [--heartbeat-conns N] [--cleanup]\n",
      stderr);
  exit(2);
}

static long opt_long(const char *name, const char *v, long min, long max)
{
  int64_t x;
  if (parse_int64(v, &x, NULL) < 0 || x < min || x > max) {
    fprintf(stderr, "bench-hollow: --%s: \"%s\" is not a number from %ld to %ld\n", name, v, min,
            max);
    exit(2);
  }
  return (long)x;
}

static void parse_args(hollow_t *h, int argc, char **argv)
{
  static const struct option opts[] = {
    { "nodes", required_argument, NULL, 'n' },
    { "prefix", required_argument, NULL, 'P' },
    { "cpu", required_argument, NULL, 'C' },
    { "memory", required_argument, NULL, 'M' },
    { "pods", required_argument, NULL, 'O' },
    { "zones", required_argument, NULL, 'z' },
    { "conns", required_argument, NULL, 'c' },
    { "heartbeat-conns", required_argument, NULL, 'b' },
    { "interval", required_argument, NULL, 'i' },
    { "report-interval", required_argument, NULL, 'R' },
    { "cleanup", no_argument, NULL, 'x' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int ch;
  while ((ch = getopt_long(argc, argv, "n:c:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'n':
      h->n = opt_long("nodes", optarg, 1, 65536); /* a /24 of 10.0.0.0/8 each */
      break;
    case 'P':
      h->prefix = optarg;
      break;
    case 'C':
      h->cpu = optarg;
      break;
    case 'M':
      h->memory = optarg;
      break;
    case 'O':
      h->pods = optarg;
      break;
    case 'z':
      h->zones = opt_long("zones", optarg, 1, 1000000);
      break;
    case 'c':
      h->conns = opt_long("conns", optarg, 1, 256);
      break;
    case 'b':
      h->beat_conns = opt_long("heartbeat-conns", optarg, 1, 256);
      break;
    case 'i':
      h->interval_s = opt_long("interval", optarg, 1, 3600);
      break;
    case 'R':
      h->report_s = opt_long("report-interval", optarg, 1, 86400);
      break;
    case 'x':
      h->cleanup = true;
      break;
    default:
      usage();
    }
  }
  if (argc - optind != 2 || h->n < 1)
    usage();
  lg.url = argv[optind];
  lg.data = argv[optind + 1];
}

/* Registers the nodes, runs them until SIGTERM or SIGINT (sigs), stops and
 * prints the summary; the exit status. */
static int hollow_run(hollow_t *h, sigset_t *sigs)
{
  int64_t t_start = time_mono_ns(), wall;
  long failed = across(h, register_main, h->conns, &wall);
  if (failed) {
    fprintf(stderr, "%s: %ld of %ld nodes could not be registered\n", lg.prog, failed, h->n);
    return 1;
  }
  double reg_ms = lg_ms(time_mono_ns() - t_start);
  fprintf(stderr, "%s: %ld nodes registered in %.0f ms (%s%0*d…), heartbeat every %ld s\n", lg.prog,
          h->n, reg_ms, h->prefix, h->width, 0, h->interval_s);

  watcher_t wt = { .h = h, .c = kc_clone(h->proto), .selector = true };
  pthread_t wtid, *btid = xcalloc((size_t)h->beat_conns, sizeof *btid),
                  *ptid = xcalloc((size_t)h->conns, sizeof *ptid);
  pthread_create(&wtid, NULL, watch_main, &wt);
  worker_t *writers = start(h, writer_main, (size_t)h->conns, 0, ptid);
  worker_t *beaters = start(h, beat_main, (size_t)h->beat_conns, time_mono_ns(), btid);

  int sig = 0;
  sigwait(sigs, &sig);
  int64_t t_stop = time_mono_ns();
  fprintf(stderr, "%s: %s: stopping\n", lg.prog, strsignal(sig));
  pthread_mutex_lock(&h->mu);
  atomic_store(&h->stopping, true);
  pthread_cond_broadcast(&h->cond);
  pthread_mutex_unlock(&h->mu);
  uint64_t one = 1;
  if (write(h->stop_fd, &one, sizeof one) < 0)
    abort(); /* an eventfd write of 1 cannot fail */
  join(beaters, btid, (size_t)h->beat_conns);
  join(writers, ptid, (size_t)h->conns);
  pthread_join(wtid, NULL);
  free(btid);
  free(ptid);
  lg_map_free(&wt.seen);
  free(wt.rv);
  kc_free(wt.c);
  size_t dropped = 0;
  while (h->head) {
    hjob_t *j = h->head;
    h->head = j->next;
    job_free(j);
    dropped++;
  }

  long unregistered = 0;
  if (h->cleanup) {
    atomic_store(&h->stopping, false); /* so that call() runs; nothing else does now */
    failed = across(h, unregister_main, h->conns, &wall);
    unregistered = h->n - failed;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  json_t *out = json_pack(
      "{s:I, s:f, s:f, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:f, s:f, s:I}", "nodes",
      (json_int_t)h->n, "registered_ms", reg_ms, "ran_s", (double)(t_stop - t_start) / 1e9,
      "pod_statuses", (json_int_t)atomic_load(&h->statuses), "pod_deletes",
      (json_int_t)atomic_load(&h->deletes), "heartbeats", (json_int_t)atomic_load(&h->beats),
      "status_reports", (json_int_t)atomic_load(&h->reports), "heartbeat_late_max_ms",
      lg_ms(atomic_load(&h->beat_late_ns)), "failures", (json_int_t)atomic_load(&h->failures),
      "retries", (json_int_t)atomic_load(&h->retries), "dropped_at_stop", (json_int_t)dropped,
      "nodes_deleted", (json_int_t)unregistered, "cpu_user_s",
      (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6, "cpu_sys_s",
      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, "max_rss_kib",
      (json_int_t)ru.ru_maxrss);
  json_dumpf(out, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(6));
  putchar('\n');
  json_decref(out);
  return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
  lg.prog = "bench-hollow";
  hollow_t *h = xcalloc(1, sizeof *h);
  *h = (hollow_t){ .prefix = "hollow-",
                   .cpu = "32",
                   .memory = "256Gi",
                   .pods = "110",
                   .zones = 10,
                   .conns = 8,
                   .beat_conns = 0,
                   .interval_s = 10,
                   .report_s = 300 };
  parse_args(h, argc, argv);
  if (!h->beat_conns) /* two requests per node and interval: 1,000/s for 5,000 nodes */
    h->beat_conns = h->n / 1000 + 1 < 8 ? h->n / 1000 + 1 : 8;
  /* Signals go to sigwait in hollow_run, not to whichever thread runs. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  h->width = 5;
  for (long m = 100000; m < h->n; m *= 10)
    h->width++;
  h->nodes = xcalloc((size_t)h->n, sizeof *h->nodes);
  for (size_t i = 0; i < (size_t)h->n; i++) {
    hnode_t *n = &h->nodes[i];
    n->name = xasprintf("%s%0*zu", h->prefix, h->width, i);
    unsigned k = (unsigned)i + 1; /* at most 65,536: 100.64.0.1 to 100.65.0.0 */
    snprintf(n->ip, sizeof n->ip, "100.%u.%u.%u", 64 + ((k >> 16) & 63), (k >> 8) & 255, k & 255);
    n->net_hi = (unsigned)(i >> 8);
    n->net_lo = (unsigned)(i & 255);
  }
  h->since = time_rfc3339_sec(time_now_ns());
  h->stop_fd = eventfd(0, EFD_CLOEXEC);
  pthread_mutex_init(&h->mu, NULL);
  pthread_cond_init(&h->cond, NULL);
  h->proto = lg_client();

  int rc = hollow_run(h, &sigs);

  kc_free(h->proto);
  for (size_t i = 0; i < (size_t)h->n; i++)
    free(h->nodes[i].name);
  free(h->nodes);
  free(h->since);
  close(h->stop_fd);
  pthread_mutex_destroy(&h->mu);
  pthread_cond_destroy(&h->cond);
  free(h);
  return rc;
}
