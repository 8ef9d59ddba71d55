/* agent_evict.c — memory pressure on the node, as the kubelet's eviction
 * manager sees it with one hard threshold (--eviction-hard
 * memory.available<QTY): every --housekeeping-interval one thread works out
 *
 *   memory.available = capacity − working set
 *
 * where, with --memory-capacity, capacity is that and the working set is
 * what the pods use (their containers' cgroups, without inactive page
 * cache); without it, the machine's MemAvailable from /proc/meminfo.
 *
 * Below the threshold the node is under pressure: condition MemoryPressure
 * True (KubeletHasInsufficientMemory) and the taint
 * node.kubernetes.io/memory-pressure:NoSchedule, both sent at once (not at
 * the next heartbeat); and one pod is evicted per interval, the first in
 * the kubelet's order (pod_evict_rank). The next eviction waits until the
 * last evicted pod's containers are gone (at most EVICT_SETTLE_NS): the
 * memory they free may be enough. Above the threshold again, the condition
 * turns False and the taint goes. */
#include "agent/agent_internal.h"
#include "api/api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EVICT_SETTLE_NS       (30LL * 1000000000LL)
#define MEMORY_PRESSURE_TAINT "node.kubernetes.io/memory-pressure"

/* ---- the threshold ------------------------------------------------------------------ */

int agent_parse_eviction_hard(const char *s, int64_t *bytes, int *percent, berr_t *err)
{
  const char *signal = "memory.available<";
  *bytes = 0;
  *percent = 0;
  if (!str_has_prefix(s, signal))
    return berr_setc(err, EINVAL,
                     "invalid eviction threshold \"%s\": want memory.available<QUANTITY (or <N%%); "
                     "berth evicts on memory only",
                     s);
  const char *v = s + strlen(signal);
  size_t n = strlen(v);
  if (n > 1 && v[n - 1] == '%') {
    int64_t pct;
    cleanup_free char *num = xstrndup(v, n - 1);
    if (parse_int64(num, &pct, NULL) < 0 || pct <= 0 || pct >= 100)
      return berr_setc(err, EINVAL,
                       "invalid eviction threshold \"%s\": the percentage must be from 1 to 99", s);
    *percent = (int)pct;
    return 0;
  }
  api_quantity_t q;
  berr_t qerr = BERR_INIT;
  if (api_quantity_parse(v, &q, &qerr) < 0) {
    berr_setc(err, EINVAL, "invalid eviction threshold \"%s\": %s", s, qerr.msg);
    berr_clear(&qerr);
    return -1;
  }
  int64_t b = api_quantity_value(&q);
  if (b <= 0)
    return berr_setc(err, EINVAL, "invalid eviction threshold \"%s\": must be more than 0", s);
  *bytes = b;
  return 0;
}

int64_t agent_memory_capacity(agent_t *a)
{
  return a->mem_capacity > 0 ? a->mem_capacity : agent_meminfo_kib("MemTotal") * 1024;
}

static int64_t threshold_bytes(agent_t *a, int64_t capacity)
{
  return a->evict_percent ? capacity / 100 * a->evict_percent : a->evict_bytes;
}

/* ---- one look ---------------------------------------------------------------------------- */

typedef struct hk_state {
  kc_t *kc;
  bool synced;    /* the Node shows the pressure we last saw */
  char *last_uid; /* the pod evicted last */
  int64_t settle_mono;
} hk_state_t;

/* The pods' memory, from the manager (NULL when it is closed). */
static pod_usage_t *usage(agent_t *a, size_t *n)
{
  pod_usage_t *u = NULL;
  *n = 0;
  pthread_mutex_lock(&a->mgr_lock);
  if (a->mgr)
    pod_mgr_usage(a->mgr, &u, n, NULL);
  pthread_mutex_unlock(&a->mgr_lock);
  return u;
}

/* True while the pod evicted last still has memory in use. */
static bool settling(hk_state_t *s, pod_usage_t *u, size_t n)
{
  if (!s->last_uid || time_mono_ns() >= s->settle_mono)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!strcmp(u[i].uid, s->last_uid))
      return u[i].usage > 0;
  return false;
}

static void evict_one(agent_t *a, hk_state_t *s, pod_usage_t *u, size_t n, int64_t threshold,
                      int64_t available)
{
  if (settling(s, u, n))
    return;
  pod_evict_rank(u, n);
  if (!n || !u[0].evictable) {
    log_warn("msg=\"memory pressure, but no pod to evict\" node=%s", a->node_name);
    return;
  }
  cleanup_free char *msg = pod_evict_message(&u[0], threshold, available);
  log_warn("msg=\"evicting pod\" node=%s pod=%s/%s qos=%s priority=%lld usage=%lld request=%lld",
           a->node_name, u[0].ns, u[0].name, u[0].qos, (long long)u[0].priority,
           (long long)u[0].usage, (long long)u[0].request);
  berr_t err = BERR_INIT;
  pthread_mutex_lock(&a->mgr_lock);
  int rc = a->mgr ? pod_mgr_evict(a->mgr, u[0].uid, msg, &err) : 0;
  pthread_mutex_unlock(&a->mgr_lock);
  if (rc < 0) {
    log_warn("msg=\"eviction failed\" pod=%s/%s err=\"%s\"", u[0].ns, u[0].name, err.msg);
    berr_clear(&err);
    return;
  }
  free(s->last_uid);
  s->last_uid = xstrdup(u[0].uid);
  s->settle_mono = time_mono_ns() + EVICT_SETTLE_NS;
}

static void look(agent_t *a, hk_state_t *s)
{
  int64_t capacity = agent_memory_capacity(a);
  int64_t threshold = threshold_bytes(a, capacity);
  size_t n = 0;
  pod_usage_t *u = NULL;
  int64_t available;
  if (a->mem_capacity > 0) {
    u = usage(a, &n);
    int64_t ws = 0;
    for (size_t i = 0; i < n; i++)
      ws += u[i].usage;
    available = capacity - ws;
  } else {
    available = agent_meminfo_kib("MemAvailable") * 1024;
  }
  bool pressure = available < threshold;
  pthread_mutex_lock(&a->lock);
  bool changed = pressure != a->mem_pressure;
  if (changed) {
    a->mem_pressure = pressure;
    a->mem_pressure_since_ns = time_now_ns();
  }
  pthread_mutex_unlock(&a->lock);
  if (changed) {
    s->synced = false;
    if (pressure)
      log_warn("msg=\"memory pressure\" node=%s available=%lld threshold=%lld", a->node_name,
               (long long)available, (long long)threshold);
    else
      log_info("msg=\"memory pressure over\" node=%s available=%lld threshold=%lld", a->node_name,
               (long long)available, (long long)threshold);
  }
  log_debug("msg=\"housekeeping\" node=%s available=%lld threshold=%lld pressure=%d", a->node_name,
            (long long)available, (long long)threshold, (int)pressure);
  if (!s->synced) {
    berr_t err = BERR_INIT;
    if (agent_node_sync_status(a, s->kc, &err) < 0
        || agent_node_set_taint(a, s->kc, MEMORY_PRESSURE_TAINT, "NoSchedule", pressure, &err)
               < 0) {
      log_warn("msg=\"node pressure update failed, will retry\" node=%s err=\"%s\"", a->node_name,
               err.msg);
      berr_clear(&err);
    } else {
      s->synced = true;
    }
  }
  if (pressure) {
    if (!u)
      u = usage(a, &n);
    evict_one(a, s, u, n, threshold, available);
  }
  pod_usages_free(u, n);
}

static void *housekeeping_main(void *arg)
{
  agent_t *a = arg;
  hk_state_t s = { .kc = agent_kc(a) }; /* synced false: a taint left by an earlier run goes */
  while (agent_sleep(a, a->housekeeping_ms))
    look(a, &s);
  free(s.last_uid);
  kc_free(s.kc);
  return NULL;
}

int agent_evict_start(agent_t *a, berr_t *err)
{
  int rc = pthread_create(&a->hk_thread, NULL, housekeeping_main, a);
  if (rc)
    return berr_set(err, rc, "start the housekeeping thread");
  a->hk_started = true;
  return 0;
}

void agent_evict_stop(agent_t *a)
{
  if (a->hk_started)
    pthread_join(a->hk_thread, NULL);
  a->hk_started = false;
}
