/* sched.h — berth's scheduler: decides which node each pending pod goes to.
 *
 * A library with no I/O: the caller feeds it the cluster's objects (Nodes,
 * Pods, PodDisruptionBudgets, as their JSON, usually from watches) and asks
 * for decisions one pod at a time; it binds, writes statuses and deletes
 * victims itself (the server does, src/server/schedule.c). Objects are
 * parsed once into compact structs; deciding touches no JSON.
 *
 * What it schedules: pods with no spec.nodeName, no deletionTimestamp, not
 * Succeeded/Failed, whose spec.schedulerName is the configured name. The
 * queue gives the highest spec.priority first, then the oldest. A decision
 * runs kube-scheduler's default plugins with their semantics and messages
 * (docs/scheduler.md lists them): filters, then scores over the feasible
 * nodes, then — when nothing fits — preemption. A pod decided onto a node
 * is "assumed": counted there at once, until its bound event arrives (or
 * sched_forget when the binding failed).
 *
 * Not thread-safe: one thread owns a sched_t. */
#ifndef BERTH_SCHED_H
#define BERTH_SCHED_H

#include "base/base.h"

typedef struct sched sched_t;

typedef enum sched_strategy {
  SCHED_SPREAD,  /* LeastAllocated: the emptiest node (the default) */
  SCHED_BINPACK, /* MostAllocated: the fullest node that fits */
} sched_strategy_t;

typedef struct sched_config {
  sched_strategy_t strategy;
  const char *name; /* the schedulerName served; NULL: "default-scheduler" */
  /* The monotonic clock in ns (back-off); NULL: time_mono_ns. For tests. */
  int64_t (*clock)(void *arg);
  void *clock_arg;
  uint64_t seed; /* ties between equal nodes are broken at random; 0: a fixed seed */
} sched_config_t;

sched_t *sched_new(const sched_config_t *cfg);
void sched_free(sched_t *s);

/* "spread" / "binpack" → the strategy; -1 for anything else. */
int sched_strategy_parse(const char *s, sched_strategy_t *out);
const char *sched_strategy_name(sched_strategy_t st);

/* ---- the cache: objects as they are in the store ---------------------------- */
/* Each takes the object's JSON (borrowed) as the API serves it; a set of an
 * object already known replaces it. Malformed objects never crash: a node
 * or pod whose fields cannot be read is kept with what could be, and a pod
 * whose scheduling constraints are garbage is reported unschedulable with
 * the reason. */
void sched_node_set(sched_t *s, json_t *node);
void sched_node_delete(sched_t *s, const char *name);
void sched_pod_set(sched_t *s, json_t *pod);
void sched_pod_delete(sched_t *s, const char *ns, const char *name);
/* The cheap form of sched_pod_set for the most frequent events, a pod's
 * binding coming back and status updates of placed pods: its metadata,
 * spec.nodeName and status, without the spec. true when that was enough
 * (the pod is known, placed on node, same uid and generation, not
 * finished); false: call sched_pod_set with the whole object. */
bool sched_pod_set_placed(sched_t *s, json_t *meta, const char *node, json_t *status);
/* policy/v1 PodDisruptionBudget: spec.selector, spec.minAvailable or
 * spec.maxUnavailable, status.disruptionsAllowed when present. */
void sched_pdb_set(sched_t *s, json_t *pdb);
void sched_pdb_delete(sched_t *s, const char *ns, const char *name);

/* ---- decisions -------------------------------------------------------------- */

typedef struct sched_victim {
  char *ns, *name, *uid;
} sched_victim_t;

typedef struct sched_result {
  char *ns, *name, *uid;
  char *node; /* the chosen node (the pod is now assumed there); NULL: it fits nowhere */
  /* When node is NULL, why, as kube-scheduler says it: "0/3 nodes are
   * available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient
   * memory. preemption: …". */
  char *message;
  bool message_changed; /* differs from the last message given for this pod */
  bool status_changed;  /* message or nominated node differ from the last given */
  /* Preemption: the node the pod is nominated to (its room there is
   * reserved for it while the victims terminate; also set when an earlier
   * decision nominated it) and the victims to delete now (none when it
   * still waits for earlier ones). */
  char *nominated_node;
  sched_victim_t *victims;
  size_t n_victims;
  int64_t decision_ns; /* how long deciding took */
} sched_result_t;

/* The next pending pod decided: true with out filled (sched_result_clear
 * it), false when no pod is due (the queue is empty or every pending pod
 * waits for its back-off or for a change in the cluster). */
bool sched_next(sched_t *s, sched_result_t *out);
void sched_result_clear(sched_result_t *r);
/* The binding of a pod sched_next placed failed: it is taken off its node
 * and queued again after a back-off. */
void sched_forget(sched_t *s, const char *ns, const char *name);
/* When (monotonic ns) a parked pod is next due; INT64_MAX when none is. */
int64_t sched_next_due(sched_t *s);

typedef struct sched_stats {
  size_t nodes, pods;
  size_t queued;   /* due now */
  size_t parked;   /* unschedulable, waiting for a change or a back-off */
  size_t assumed;  /* placed, binding not seen yet */
  size_t interned; /* distinct label strings */
} sched_stats_t;
void sched_stats(sched_t *s, sched_stats_t *out);

#endif
