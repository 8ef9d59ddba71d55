/* pod_evict.c — the pods' memory and their eviction, the kubelet's eviction
 * manager's part that needs the pods (the node's side, memory.available
 * and the MemoryPressure condition, is agent_evict.c's).
 *
 * Usage is each container's working set (its cgroup's memory in use minus
 * inactive page cache, rt_stats.mem_bytes), read outside the manager's
 * lock. The order of eviction is the kubelet's rankMemoryPressure: pods
 * using more memory than they request first (a BestEffort pod requests
 * none, so any use counts), then lower spec.priority, then the larger use
 * above the request; a Guaranteed pod within its requests therefore goes
 * last. System-critical pods (priority >= 2000000000) are never evicted.
 *
 * An eviction is a request to the pod's worker (evict_msg, then the pod is
 * queued): its pass kills the containers at once (a hard threshold has no
 * grace period), reports phase Failed, reason Evicted and the message, and
 * the pod never runs again here; the API object stays, as the kubelet
 * leaves it, for its owner to replace. */
#include "agent/pod_internal.h"

#include "api/api.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* Kubernetes' SystemCriticalPriority: such pods are never evicted. */
#define PRIORITY_SYSTEM_CRITICAL 2000000000LL

/* ---- pure helpers ---------------------------------------------------------------------- */

static int64_t above(const pod_usage_t *u)
{
  return u->usage - u->request;
}

static int rank_cmp(const void *a, const void *b)
{
  const pod_usage_t *x = a, *y = b;
  if (x->evictable != y->evictable)
    return x->evictable ? -1 : 1;
  bool ex = x->usage > x->request, ey = y->usage > y->request;
  if (ex != ey)
    return ex ? -1 : 1;
  if (x->priority != y->priority)
    return x->priority < y->priority ? -1 : 1;
  int64_t ax = above(x), ay = above(y);
  if (ax != ay)
    return ax > ay ? -1 : 1;
  return strcmp(x->uid ? x->uid : "", y->uid ? y->uid : ""); /* stable across runs */
}

void pod_evict_rank(pod_usage_t *v, size_t n)
{
  if (n > 1)
    qsort(v, n, sizeof *v, rank_cmp);
}

/* Bytes as the kubelet prints a memory quantity ("120Mi", "95632Ki"). */
static char *bytes_text(int64_t n)
{
  api_quantity_t q = api_quantity_from_int(n, API_QTY_BINARY_SI);
  return api_quantity_format(&q);
}

char *pod_evict_message(const pod_usage_t *u, int64_t threshold, int64_t available)
{
  cleanup_free char *t = bytes_text(threshold), *a = bytes_text(available);
  buf_t b = { 0 };
  buf_printf(&b, "The node was low on resource: memory. Threshold quantity: %s, available: %s.", t,
             a);
  for (size_t i = 0; i < u->n_ctrs; i++) {
    const pod_usage_ctr_t *c = &u->ctrs[i];
    if (c->usage <= c->request)
      continue;
    cleanup_free char *used = bytes_text(c->usage), *req = bytes_text(c->request);
    buf_printf(&b, " Container %s was using %s, request is %s, has larger consumption of memory.",
               c->name, used, req);
  }
  return buf_steal(&b);
}

/* ---- usage ------------------------------------------------------------------------------- */

void pod_usages_free(pod_usage_t *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++) {
    free(v[i].uid);
    free(v[i].ns);
    free(v[i].name);
    for (size_t k = 0; k < v[i].n_ctrs; k++)
      free(v[i].ctrs[k].name);
    free(v[i].ctrs);
  }
  free(v);
}

static int64_t memory_request(json_t *ctr)
{
  json_t *r
      = json_object_get(json_object_get(json_object_get(ctr, "resources"), "requests"), "memory");
  api_quantity_t q;
  if (!r || api_quantity_from_json(r, &q, NULL) < 0)
    return 0;
  int64_t v = api_quantity_value(&q);
  return v > 0 ? v : 0;
}

int pod_mgr_usage(pod_mgr_t *m, pod_usage_t **out, size_t *n_out, berr_t *err)
{
  /* What the pods are, under the lock; their cgroups are read after. */
  pthread_mutex_lock(&m->lock);
  size_t n = m->n_pods;
  pod_usage_t *v = xcalloc(n + 1, sizeof *v);
  char ***ids = xcalloc(n + 1, sizeof *ids);
  for (size_t i = 0; i < n; i++) {
    pod_t *p = m->pods[i];
    pod_usage_t *u = &v[i];
    u->uid = xstrdup(p->uid);
    u->ns = xstrdup(p->ns);
    u->name = xstrdup(p->name);
    u->qos = api_pod_qos_class(p->spec);
    u->priority = json_int(p->spec, "priority", 0);
    u->evictable = !p->inactive && !p->evict_msg && u->priority < PRIORITY_SYSTEM_CRITICAL;
    u->ctrs = xcalloc(p->n_ctrs + 1, sizeof *u->ctrs);
    ids[i] = xcalloc(p->n_ctrs + 1, sizeof *ids[i]);
    pthread_mutex_lock(&p->mu);
    for (size_t k = 0; k < p->n_ctrs; k++) {
      pod_ctr_t *c = &p->ctrs[k];
      bool counted = !c->init || c->sidecar;
      pod_usage_ctr_t *uc = &u->ctrs[u->n_ctrs++];
      uc->name = xstrdup(c->name);
      uc->request = counted ? memory_request(c->spec) : 0;
      u->request += uc->request;
      ids[i][k] = c->id ? xstrdup(c->id) : NULL;
    }
    pthread_mutex_unlock(&p->mu);
  }
  pthread_mutex_unlock(&m->lock);
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; k < v[i].n_ctrs; k++) {
      engine_stats st;
      if (ids[i][k] && engine_stats_get(m->eng, ids[i][k], &st, NULL) == 0) {
        v[i].ctrs[k].usage = (int64_t)st.rt.mem_bytes;
        v[i].usage += v[i].ctrs[k].usage;
      }
      free(ids[i][k]);
    }
    free(ids[i]);
  }
  free(ids);
  *out = v;
  *n_out = n;
  (void)err;
  return 0;
}

/* ---- eviction ------------------------------------------------------------------------------ */

int pod_mgr_evict(pod_mgr_t *m, const char *uid, const char *message, berr_t *err)
{
  pthread_mutex_lock(&m->lock);
  pod_t *p = uid ? pod_find_locked(m, uid) : NULL;
  if (p && !p->inactive && !p->evict_msg) {
    p->evict_msg = xstrdup(message ? message : "");
    pod_enqueue_locked(m, p);
  }
  pthread_mutex_unlock(&m->lock);
  if (!p)
    return berr_setc(err, ENOENT, "pod with uid %s not found", uid ? uid : "");
  return 0;
}

bool pod_evict_step(pod_mgr_t *m, pod_t *p)
{
  if (p->evicted)
    return true;
  pthread_mutex_lock(&m->lock);
  char *msg = steal_ptr(p->evict_msg);
  if (msg)
    p->inactive = true;
  pthread_mutex_unlock(&m->lock);
  if (!msg)
    return false;
  if (p->terminal || p->deleting) {
    free(msg);
    return false;
  }
  log_info("msg=\"evicting pod\" pod=%s/%s uid=%s message=\"%s\"", p->ns, p->name, p->uid, msg);
  p->evicted = true;
  p->evict_message = msg;
  pod_event(m, p, "Warning", "Evicted", "%s", msg);
  for (size_t i = 0; i < p->n_ctrs; i++) {
    pod_ctr_t *c = &p->ctrs[i];
    c->backing_off = false; /* nothing restarts any more */
    if (c->id && c->st == CTR_RUNNING) {
      pod_event(m, p, "Normal", "Killing", "Stopping container %s", c->name);
      berr_t err = BERR_INIT;
      if (engine_kill(m->eng, c->id, SIGKILL, &err) < 0 && err.code != ESRCH)
        log_warn("msg=\"cannot kill container\" id=%.12s err=\"%s\"", c->id, err.msg);
      berr_clear(&err);
    }
  }
  return true;
}
