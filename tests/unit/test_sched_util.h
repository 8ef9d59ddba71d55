/* test_sched_util.h — what the scheduler's tests share (test_sched.c,
 * test_sched_queue.c): Nodes and Pods built as the API serves them, a fake
 * clock, and feeding and deciding through the public calls only. */
#ifndef BERTH_TEST_SCHED_UTIL_H
#define BERTH_TEST_SCHED_UTIL_H

#include "sched/sched.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static inline json_t *J(const char *text)
{
  json_error_t je;
  json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
  cr_assert_not_null(j, "bad JSON in test: %s: %s", je.text, text);
  return j;
}

/* Sets o[k1][k2]…[kn] = v (stolen), creating objects on the way. */
static inline void set_in(json_t *o, json_t *v, ...)
{
  va_list ap;
  va_start(ap, v);
  const char *k = va_arg(ap, const char *);
  for (;;) {
    const char *next = va_arg(ap, const char *);
    if (!next) {
      json_object_set_new(o, k, v);
      break;
    }
    json_t *child = json_object_get(o, k);
    if (!json_is_object(child)) {
      child = json_object();
      json_object_set_new(o, k, child);
    }
    o = child;
    k = next;
  }
  va_end(ap);
}

/* A Ready node with allocatable cpu, memory and 110 pods, labelled with
 * its hostname. */
static inline json_t *mknode(const char *name, const char *cpu, const char *mem)
{
  return json_pack("{s:s, s:{s:s, s:{s:s}}, s:{}, s:{s:{s:s, s:s, s:s, s:s}, s:[{s:s, s:s}]}}",
                   "kind", "Node", "metadata", "name", name, "labels", "kubernetes.io/hostname",
                   name, "spec", "status", "allocatable", "cpu", cpu, "memory", mem, "pods", "110",
                   "ephemeral-storage", "100Gi", "conditions", "type", "Ready", "status", "True");
}

static inline void add_node(sched_t *s, const char *name, const char *cpu, const char *mem)
{
  json_t *n = mknode(name, cpu, mem);
  sched_node_set(s, n);
  json_decref(n);
}

static int pod_seq;

/* A pending pod for the default scheduler; cpu/mem NULL: no request. */
static inline json_t *mkpod(const char *name, const char *cpu, const char *mem)
{
  char ts[64];
  /* Creation times in creation order, a second apart. */
  snprintf(ts, sizeof ts, "2026-01-01T%02d:%02d:%02dZ", pod_seq / 3600 % 24, pod_seq / 60 % 60,
           pod_seq % 60);
  pod_seq++;
  json_t *req = json_object();
  if (cpu)
    json_object_set_new(req, "cpu", json_string(cpu));
  if (mem)
    json_object_set_new(req, "memory", json_string(mem));
  cleanup_free char *uid = xasprintf("uid-%s", name);
  return json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:{s:s}}, s:{s:s, s:i, s:[{s:s, s:{s:o}}]}, "
                   "s:{s:s}}",
                   "kind", "Pod", "metadata", "namespace", "default", "name", name, "uid", uid,
                   "creationTimestamp", ts, "labels", "name", name, "spec", "schedulerName",
                   "default-scheduler", "priority", 0, "containers", "name", "c", "resources",
                   "requests", req, "status", "phase", "Pending");
}

/* Feeds an object (stolen) to the cache. */
static inline void feed(sched_t *s, json_t *pod)
{
  sched_pod_set(s, pod);
  json_decref(pod);
}

/* Feeds pod (stolen) and decides: the node's name, or "!" + the message. */
static inline char *decide(sched_t *s, json_t *pod)
{
  sched_pod_set(s, pod);
  json_decref(pod);
  sched_result_t r;
  cr_assert(sched_next(s, &r), "no decision");
  char *out = r.node ? xstrdup(r.node) : xasprintf("!%s", r.message);
  sched_result_clear(&r);
  return out;
}

/* Binds pod (stolen) to node as the store would report it. */
static inline void bound(sched_t *s, json_t *pod, const char *node)
{
  set_in(pod, json_string(node), "spec", "nodeName", NULL);
  set_in(pod, json_string("Running"), "status", "phase", NULL);
  sched_pod_set(s, pod);
  json_decref(pod);
}

static int64_t fake_now;
static inline int64_t fake_clock(void *arg)
{
  (void)arg;
  return fake_now;
}

static inline sched_t *new_sched(sched_strategy_t st)
{
  fake_now = 1000000000000LL;
  sched_config_t cfg = { .strategy = st, .clock = fake_clock };
  return sched_new(&cfg);
}

#define EXPECT(s, pod, want)                                                                       \
  do {                                                                                             \
    cleanup_free char *got_ = decide(s, pod);                                                      \
    cr_assert_str_eq(got_, want);                                                                  \
  } while (0)

static inline json_t *with_labels(json_t *p, const char *labels)
{
  set_in(p, J(labels), "metadata", "labels", NULL);
  return p;
}

static inline void zone_nodes(sched_t *s, int n, int zones)
{
  for (int i = 0; i < n; i++) {
    cleanup_free char *name = xasprintf("n%d", i), *zone = xasprintf("z%d", i % zones);
    json_t *nd = mknode(name, "8", "16Gi");
    set_in(nd, json_string(zone), "metadata", "labels", "topology.kubernetes.io/zone", NULL);
    sched_node_set(s, nd);
    json_decref(nd);
  }
}

#define ANTI(topo)                                                                                 \
  "{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{\"labelSelector\":{" \
  "\"matchLabels\":{\"app\":\"web\"}},\"topologyKey\":\"" topo "\"}]}}"

/* Decides and binds: the node's name. */
static inline char *place(sched_t *s, json_t *pod)
{
  json_t *keep = json_deep_copy(pod);
  char *got = decide(s, pod);
  if (got[0] != '!')
    bound(s, keep, got);
  else
    json_decref(keep);
  return got;
}

static inline json_t *prio(json_t *p, int v)
{
  set_in(p, json_integer(v), "spec", "priority", NULL);
  return p;
}

static inline char *victims_of(sched_result_t *r)
{
  buf_t b = { 0 };
  buf_puts(&b, "");
  for (size_t i = 0; i < r->n_victims; i++)
    buf_printf(&b, "%s%s", i ? "," : "", r->victims[i].name);
  return buf_steal(&b);
}

#endif
