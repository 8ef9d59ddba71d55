/* internal.h — what the scheduler's files share: the compact cache structs
 * (nodes, pods, constraints, PDBs) and the helpers over them. Label keys
 * and values are interned: a label is two 32-bit ids and matching compares
 * integers. Not for other modules (use sched.h). */
#ifndef BERTH_SCHED_INTERNAL_H
#define BERTH_SCHED_INTERNAL_H

#include "sched/sched.h"

/* The resources every pod and node has; extended ones (nvidia.com/gpu,
 * hugepages-2Mi…) go to a small list (scalar_t). */
enum { R_CPU, R_MEM, R_EPH, R_PODS, R_N };

/* Defaults kube-scheduler scores a container without requests with. */
#define SCHED_DEFAULT_MILLI_CPU 100
#define SCHED_DEFAULT_MEMORY    (200LL * 1024 * 1024)
#define SCHED_MAX_SCORE         100

typedef uint32_t sid_t; /* an interned string; 0 = none */

/* ---- intern.c: interned strings, a u64 → i64 map ------------------------- */
typedef struct intern {
  char **strs; /* [id] */
  size_t n, cap;
  uint32_t *slots; /* open addressing: ids, 0 empty */
  size_t n_slots;
} intern_t;
sid_t intern_get(intern_t *t, const char *s); /* adds it when missing */
sid_t intern_find(const intern_t *t, const char *s);
const char *intern_str(const intern_t *t, sid_t id);
void intern_free(intern_t *t);

/* Open addressing, key 0 reserved. Used for topology-pair counts. */
typedef struct umap {
  uint64_t *keys;
  int64_t *vals;
  size_t n, cap;
} umap_t;
int64_t *umap_slot(umap_t *m, uint64_t key); /* inserts 0 when missing */
int64_t umap_get(const umap_t *m, uint64_t key);
bool umap_has(const umap_t *m, uint64_t key);
void umap_clear(umap_t *m); /* keeps the memory */
void umap_free(umap_t *m);
#define PAIR(k, v) (((uint64_t)(k) << 32) | (uint64_t)(v))

/* Vector of pointers. */
typedef struct pvec {
  void **v;
  size_t n, cap;
} pvec_t;
void pvec_push(pvec_t *p, void *x);
void pvec_free(pvec_t *p);

/* ---- the parsed objects (parse.c) ---------------------------------------- */

typedef struct kv {
  sid_t k, v;
} kv_t;
typedef struct labels {
  kv_t *v; /* sorted by k */
  uint32_t n;
} labels_t;
sid_t labels_get(const labels_t *l, sid_t key); /* 0 when absent */
/* A map of strings (labels, nodeSelector) → sorted pairs; other values are skipped. */
void labels_parse(sched_t *s, json_t *o, labels_t *out);
bool labels_equal(const labels_t *a, const labels_t *b);

typedef struct scalar {
  sid_t name;
  int64_t value;
} scalar_t;

enum { EFF_NONE, EFF_NO_SCHEDULE, EFF_PREFER_NO_SCHEDULE, EFF_NO_EXECUTE };
typedef struct taint {
  sid_t key, value;
  uint8_t effect;
} taint_t;
enum { TOL_EQUAL, TOL_EXISTS };
typedef struct toleration {
  sid_t key, value;   /* key 0: every key (with Exists) */
  uint8_t op, effect; /* effect EFF_NONE: every effect */
} toleration_t;

enum { SEL_IN, SEL_NOT_IN, SEL_EXISTS, SEL_DOES_NOT_EXIST, SEL_GT, SEL_LT };
typedef struct sel_req {
  sid_t key;
  uint8_t op;
  uint32_t n;
  sid_t *vals; /* In/NotIn */
  int64_t num; /* Gt/Lt */
} sel_req_t;
/* Requirements ANDed. nothing: matches no object (a null selector). */
typedef struct sel {
  sel_req_t *r;
  uint32_t n;
  bool nothing;
} sel_t;
bool sel_matches(const sched_t *s, const sel_t *sel, const labels_t *l);
void sel_free(sel_t *sel);

/* A NodeSelectorTerm: matchExpressions over labels and matchFields over
 * {metadata.name}, ANDed; a term with neither matches no node. */
typedef struct nterm {
  sel_t expr, fields;
  int32_t weight; /* preferred terms */
} nterm_t;

/* A PodAffinityTerm. */
typedef struct pterm {
  sel_t sel;
  sid_t *nss; /* the namespaces selected; with none and !any_ns: the pod's own */
  uint32_t n_nss;
  bool any_ns;     /* namespaceSelector {} */
  bool has_ns_sel; /* namespaceSelector with requirements, matched against */
  sel_t ns_sel;    /* {kubernetes.io/metadata.name: NS} */
  sid_t topo;      /* topologyKey */
  int32_t weight;  /* preferred terms */
} pterm_t;

typedef struct spread {
  int32_t max_skew, min_domains;
  sid_t topo;
  bool hard; /* DoNotSchedule; else ScheduleAnyway */
  bool honor_taints, ignore_affinity;
  sel_t sel;
} spread_t;

/* What a pod asks of its node beyond resources; NULL when nothing. */
typedef struct cons {
  labels_t node_sel;
  nterm_t *req;  /* required node affinity, ORed; n_req 0: none */
  nterm_t *pref; /* preferred */
  uint32_t n_req, n_pref;
  bool has_req;
  toleration_t *tols;
  uint32_t n_tols;
  pterm_t *aff, *anti, *paff, *panti; /* required (anti-)affinity, preferred ones */
  uint32_t n_aff, n_anti, n_paff, n_panti;
  spread_t *spread;
  uint32_t n_spread, n_hard;
} cons_t;

typedef struct hostport {
  sid_t ip; /* 0: every address (0.0.0.0) */
  uint16_t port;
  uint8_t proto;
} hostport_t;

typedef struct snode snode_t;

enum pod_state {
  PS_IDLE,    /* not ours to schedule and on no node */
  PS_QUEUED,  /* due: in the queue */
  PS_PARKED,  /* unschedulable: waits for its back-off or a change */
  PS_ASSUMED, /* placed by us, bound event not seen */
  PS_BOUND,   /* on a node (ours or anyone's) */
};

typedef struct spod {
  char *ns, *name, *uid;
  sid_t ns_id;
  labels_t labels;
  int64_t req[R_N];
  int64_t nz_cpu, nz_mem; /* requests with kube's defaults for containers without */
  scalar_t *scalars;
  uint32_t n_scalars;
  hostport_t *ports;
  uint32_t n_ports;
  cons_t *c;
  char *bad; /* the constraints could not be read: why */
  int32_t priority;
  int64_t generation;
  bool preempt_never, ready, terminating;
  int64_t created; /* creationTimestamp, ns */
  uint64_t seq;    /* arrival order */
  /* where it is */
  enum pod_state state;
  snode_t *node;       /* PS_ASSUMED / PS_BOUND with a known node */
  char *node_name;     /* PS_BOUND: the node it names (also when unknown) */
  size_t node_slot;    /* index in node->pods */
  size_t ns_slot;      /* index in its namespace's placed pods */
  size_t *label_slots; /* index in its namespace's list of each label */
  size_t aff_slot;     /* index in s->aff_pods, or SIZE_MAX */
  size_t orphan_slot;  /* index in s->orphans (bound to an unknown node), or SIZE_MAX */
  /* queueing */
  size_t heap_slot; /* in the queue (PS_QUEUED) or the parked heap (PS_PARKED) */
  int attempts;
  int64_t last_try, due;
  char *last_msg;     /* the last message reported */
  sid_t last_nom;     /* the node name last reported as nominated */
  snode_t *nominated; /* preemption: the node whose room waits for it */
  size_t nom_slot;
  struct spod *hnext;
} spod_t;

typedef struct port_use {
  hostport_t p;
  int32_t count;
} port_use_t;

struct snode {
  char *name;
  sid_t name_id;
  size_t idx; /* in s->nodes */
  int64_t alloc[R_N];
  int64_t req[R_N];
  int64_t nz_cpu, nz_mem;
  scalar_t *alloc_scalars, *req_scalars;
  uint32_t n_alloc_scalars, n_req_scalars, cap_req_scalars;
  labels_t labels;
  taint_t *taints;
  uint32_t n_taints;
  bool unschedulable;
  taint_t ready_taint; /* not-ready / unreachable: kube's node controller's taint */
  bool has_ready_taint;
  port_use_t *ports;
  uint32_t n_ports, cap_ports;
  pvec_t pods;      /* spod_t*: bound and assumed */
  pvec_t nominated; /* spod_t*: pods waiting for victims to leave */
  struct snode *hnext;
};

typedef struct spdb {
  char *ns, *name;
  sid_t ns_id;
  sel_t sel;
  bool has_allowed; /* status.disruptionsAllowed */
  int32_t allowed;
  bool has_min, has_max, min_pct, max_pct;
  int64_t min_available, max_unavailable;
} spdb_t;

/* Per-namespace index of placed pods (affinity and spread look only
 * there), also by label (index.c). */
typedef struct sns {
  sid_t id;
  pvec_t pods;
  umap_t by_label; /* PAIR(key, value) → 1 + index in lists */
  pvec_t *lists;
  size_t n_lists, cap_lists;
} sns_t;

/* ---- index.c ------------------------------------------------------------------ */
void index_add(sns_t *ns, spod_t *p);
void index_remove(sns_t *ns, spod_t *p);
void index_free(sns_t *ns);
/* The placed pods of ns sel may match (a superset: match sel on each). */
typedef struct pod_iter {
  const sns_t *ns;
  const sel_req_t *drive; /* the In requirement walked, or NULL: every pod */
  uint32_t val;
  const pvec_t *cur;
  size_t pos;
  bool done;
} pod_iter_t;
void pod_iter_init(pod_iter_t *it, const sns_t *ns, const sel_t *sel);
spod_t *pod_iter_next(pod_iter_t *it);

/* ---- the scheduler --------------------------------------------------------- */
struct sched {
  sched_config_t cfg;
  char *name;
  intern_t it;
  sid_t k_hostname, k_meta_name, k_ns_name, ip_any;
  sid_t k_unschedulable, k_not_ready, k_unreachable;
  sid_t r_cpu, r_mem, r_eph, r_pods;

  pvec_t nodes; /* snode_t*, the round-robin order */
  snode_t **node_buckets;
  size_t n_node_buckets;
  size_t next_start;

  spod_t **pod_buckets;
  size_t n_pod_buckets, n_pods;
  uint64_t seq;

  sns_t *nss;
  size_t n_nss, cap_nss;
  pvec_t aff_pods; /* placed pods with any inter-pod (anti-)affinity term */
  pvec_t orphans;  /* bound to a node the cache does not have */
  pvec_t pdbs;     /* spdb_t* */

  pvec_t queue;  /* heap: priority desc, created asc, seq asc */
  pvec_t parked; /* heap: due asc */
  int64_t last_event, last_flush;
  size_t n_assumed;
  uint64_t rng;

  /* scratch, reused by every decision */
  struct cycle *cy;
  uint32_t *fail; /* per node index: the reasons it was filtered out */
  size_t cap_fail;
  snode_t **feasible;
  int64_t *scores, *raw;
  size_t cap_feasible;
};

/* ---- parse.c ---------------------------------------------------------------- */
/* Fills p from the pod's JSON (all but placement and queueing). */
void parse_pod(sched_t *s, spod_t *p, json_t *o);
void pod_clear_parsed(spod_t *p);
/* Node allocatable, labels, taints, unschedulable, readiness: true when
 * something a decision reads changed. */
bool parse_node(sched_t *s, snode_t *n, json_t *o);
void node_clear_parsed(snode_t *n);
void parse_pdb(sched_t *s, spdb_t *d, json_t *o);
void pdb_clear(spdb_t *d);
/* ---- parse_cons.c ----------------------------------------------------------- */
/* The constraints in a pod's spec; NULL when there are none (most pods) or
 * when they cannot be read (then *why says why, with the field's path). */
cons_t *parse_cons(sched_t *s, spod_t *p, json_t *spec, char **why);
void cons_free(cons_t *c);
/* A metav1.LabelSelector → sel; NULL → nothing. false with *why set. */
bool parse_label_selector(sched_t *s, json_t *j, sel_t *out, const char *field, char **why);
/* "NoSchedule" … → EFF_*; "" or NULL → EFF_NONE; false for anything else. */
bool parse_taint_effect(const char *e, uint8_t *out);

/* ---- cache.c ---------------------------------------------------------------- */
snode_t *node_find(const sched_t *s, const char *name);
spod_t *pod_find(const sched_t *s, const char *ns, const char *name);
sns_t *ns_find(const sched_t *s, sid_t id);
/* Counts p on n (requests, ports, lists); node_unplace undoes it. */
void node_account(sched_t *s, snode_t *n, spod_t *p, int sign);
void pod_place(sched_t *s, spod_t *p, snode_t *n);
void pod_unplace(sched_t *s, spod_t *p);
void nominate(sched_t *s, spod_t *p, snode_t *n);
void unnominate(spod_t *p);
/* A change that may make room for parked pods. */
void cache_event(sched_t *s);
int64_t sched_now(const sched_t *s);
void cache_free(sched_t *s);

/* ---- queue.c ---------------------------------------------------------------- */
void queue_push(sched_t *s, spod_t *p);
spod_t *queue_pop(sched_t *s);
void park_push(sched_t *s, spod_t *p);
void heap_remove(sched_t *s, spod_t *p); /* from whichever heap holds it */
void queue_release_due(sched_t *s, int64_t now);

/* ---- filter.c --------------------------------------------------------------- */
/* Reasons a node is filtered out: one bit each. */
enum {
  FR_UNSCHEDULABLE = 1u << 0,
  FR_TAINT = 1u << 1,
  FR_AFFINITY = 1u << 2,
  FR_PORTS = 1u << 3,
  FR_TOO_MANY_PODS = 1u << 4,
  FR_CPU = 1u << 5,
  FR_MEM = 1u << 6,
  FR_EPH = 1u << 7,
  FR_SCALAR = 1u << 8,
  FR_SPREAD = 1u << 9,
  FR_SPREAD_LABEL = 1u << 10,
  FR_EXISTING_ANTI = 1u << 11,
  FR_POD_AFFINITY = 1u << 12,
  FR_POD_ANTI = 1u << 13,
  FR_NODE_NAME = 1u << 14,
};
/* Reasons removing pods cannot cure: such nodes are no preemption candidates. */
#define FR_UNRESOLVABLE                                                                            \
  (FR_UNSCHEDULABLE | FR_TAINT | FR_AFFINITY | FR_SPREAD_LABEL | FR_POD_AFFINITY | FR_NODE_NAME)

typedef struct cycle cycle_t;
bool tolerates(const cons_t *c, const taint_t *t);
bool node_affinity_matches(const sched_t *s, const cons_t *c, const snode_t *n);
bool nterm_matches(const sched_t *s, const nterm_t *t, const snode_t *n);
/* The reasons n does not fit p (0: it fits); *taint: the first untolerated
 * taint when FR_TAINT. */
uint32_t node_filter(sched_t *s, cycle_t *cy, spod_t *p, snode_t *n, const taint_t **taint);
/* "0/N nodes are available: …" from s->fail over every node. */
char *fit_message(sched_t *s, spod_t *p, cycle_t *cy);

/* ---- affinity.c: inter-pod affinity and topology spread ----------------------- */
struct cycle {
  spod_t *pod;
  bool affinity;        /* inter-pod affinity state below is in use */
  umap_t existing_anti; /* pair → existing pods whose anti-affinity rejects the pod */
  umap_t aff;           /* pair → pods matching all required affinity terms */
  umap_t anti;          /* pair → pods matching a required anti-affinity term */
  size_t aff_total;
  bool spread;          /* hard spread constraints present */
  umap_t spread_counts; /* pair → matching pods, over eligible nodes */
  int64_t *spread_min;  /* per hard constraint */
  size_t *spread_domains;
  bool spread_min_dirty;
  uint32_t *eligible; /* per node index: the hard constraints it counts for */
  size_t cap_eligible;
  umap_t score_map; /* scoring scratch */
};
void cycle_init(cycle_t *cy);
void cycle_free(cycle_t *cy);
/* PreFilter: the pod's state over the whole cluster. */
void cycle_prepare(sched_t *s, cycle_t *cy, spod_t *p);
/* Preemption's simulation: pod q leaves (sign -1) or comes back (+1) on n. */
void cycle_update(sched_t *s, cycle_t *cy, spod_t *q, snode_t *n, int sign);
uint32_t filter_inter_pod(sched_t *s, cycle_t *cy, spod_t *p, snode_t *n);
uint32_t filter_spread(sched_t *s, cycle_t *cy, spod_t *p, snode_t *n);
bool pterm_matches(const sched_t *s, const pterm_t *t, const spod_t *q);
/* Raw scores for the feasible nodes (into out[i]); false when the plugin
 * has nothing to say for this pod. */
bool score_inter_pod(sched_t *s, cycle_t *cy, spod_t *p, snode_t **nodes, size_t n, int64_t *out);
bool score_spread(sched_t *s, cycle_t *cy, spod_t *p, snode_t **nodes, size_t n, int64_t *out);

/* ---- score.c ---------------------------------------------------------------- */
/* The index in nodes of the best node for p. */
size_t score_pick(sched_t *s, cycle_t *cy, spod_t *p, snode_t **nodes, size_t n);

/* ---- preempt.c -------------------------------------------------------------- */
/* PostFilter: fills r's nominated node and victims when preemption helps;
 * *msg gets the "preemption: …" sentence. */
void preempt(sched_t *s, cycle_t *cy, spod_t *p, sched_result_t *r, char **msg);

#endif
