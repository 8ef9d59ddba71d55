/* ctrl.h — the workload controllers: ReplicaSet, Deployment, DaemonSet, Job,
 * CronJob, PodDisruptionBudget status and node lifecycle.
 *
 * A controller is pure logic: it reads objects from a cache (ctrl_cache_t,
 * fed by the server's store watches) and answers with the writes that bring
 * the world closer to what the objects ask for (ctrl_action_t). It never
 * talks to the store or HTTP itself; the controller manager in the server
 * (src/server/ctrlmgr.c) executes the actions through the same code as API
 * requests (validation, defaults, admission), puts what the writes return
 * into the cache at once, and calls sync again later for the keys that
 * changed. So a controller is tested by feeding a cache and reading the
 * actions, and it may be called any number of times: every sync recomputes
 * from what the cache holds (level-triggered, like Kubernetes'), and does
 * nothing when the world already matches. The one memory a controller has
 * beyond the cache is a back-off (ctrl_backoff_t: the DaemonSet
 * controller's for failed daemon pods), kept by the caller between syncs.
 *
 * Objects are jansson JSON in their Kubernetes wire shape. Everything here
 * runs on the manager's one thread: nothing is locked. Pods in the server's
 * cache are trimmed to what controllers read (metadata without annotations
 * outside batch.kubernetes.io/ and controller.kubernetes.io/; spec nodeName,
 * tolerations, priority, affinity, schedulerName, hostname; status phase,
 * conditions, startTime, reason, containerStatuses' name/ready/restartCount):
 * a controller must not need more of an existing pod. Of a node's status
 * only the conditions are kept. The cache keeps pods packed (a few hundred
 * bytes each, cache.c) and unpacks those a sync reads.
 */
#ifndef BERTH_CTRL_H
#define BERTH_CTRL_H

#include "api/api.h"

/* ---- the cache (cache.c) --------------------------------------------------- */

/* Objects by resource ("pods", "replicasets"…), namespace and name, with an
 * index of the objects each owner (the uid of its controller
 * ownerReference) controls, of the orphans of each namespace and of the
 * objects on each node (spec.nodeName). Pods are held packed and unpacked
 * when read (src/ctrl/pack.c): a pod the cache hands out is a new object
 * each time it was unpacked again, equal to the one put. */
typedef struct ctrl_cache ctrl_cache_t;

ctrl_cache_t *ctrl_cache_new(void);
void ctrl_cache_free(ctrl_cache_t *c);
/* An object as it is now (added or modified). The cache takes a reference
 * (or a packed copy); the object must not be changed afterwards (copy it to
 * change it). An object whose resourceVersion is lower than the cached
 * one's is ignored (a late watch event after the write's own answer).
 * Returns the object the cache held before (a new reference, NULL when
 * none) so that callers can compare, or NULL when obj was ignored. */
json_t *ctrl_cache_put(ctrl_cache_t *c, const char *resource, json_t *obj);
/* Removes an object; returns what was cached (a new reference) or NULL. */
json_t *ctrl_cache_remove(ctrl_cache_t *c, const char *resource, const char *ns, const char *name);
/* The cached object (borrowed: valid until the next put/remove of it or the
 * next ctrl_cache_trim), or NULL. ns is "" for cluster-scoped resources.
 * Objects the cache hands out, here and in the lists below, must not be
 * changed: parts of them are shared with other objects. */
json_t *ctrl_cache_get(ctrl_cache_t *c, const char *resource, const char *ns, const char *name);
/* The resourceVersion of the cached object (0 when it has none), or -1 when
 * there is none: a lookup that unpacks nothing. */
int64_t ctrl_cache_version(ctrl_cache_t *c, const char *resource, const char *ns, const char *name);
/* Drops the unpacked form of packed objects but the keep most recently put
 * or read: what ctrl_cache_get returned before may be freed. For the
 * cache's owner, between syncs; without it every object read stays
 * unpacked. */
void ctrl_cache_trim(ctrl_cache_t *c, size_t keep);
/* What the server keeps unpacked between syncs: a workload of this many
 * pods finds them unpacked by its previous sync. */
#define CTRL_CACHE_HOT 512
/* Every object of resource in namespace ns (NULL: all namespaces), sorted by
 * namespace then name: a new array (its elements are the cached objects). */
json_t *ctrl_cache_list(ctrl_cache_t *c, const char *resource, const char *ns);
/* The same, only the objects whose labels sel matches (api_label_selector_
 * matches: a NULL sel matches nothing). */
json_t *ctrl_cache_list_selected(ctrl_cache_t *c, const char *resource, const char *ns,
                                 const api_label_selector_t *sel);
/* The objects of resource whose controller ownerReference (controller: true)
 * has uid owner_uid: a new array, sorted by name. */
json_t *ctrl_cache_owned(ctrl_cache_t *c, const char *resource, const char *owner_uid);
/* The objects of resource in namespace ns (NULL: all) that have no
 * controller ownerReference, sorted as ctrl_cache_list: what may be adopted. */
json_t *ctrl_cache_orphans(ctrl_cache_t *c, const char *resource, const char *ns);
/* The same, only the orphans whose labels sel matches (as above). */
json_t *ctrl_cache_orphans_selected(ctrl_cache_t *c, const char *resource, const char *ns,
                                    const api_label_selector_t *sel);
/* The objects of resource whose spec.nodeName is node, sorted as
 * ctrl_cache_list. */
json_t *ctrl_cache_on_node(ctrl_cache_t *c, const char *resource, const char *node);
/* The number of objects of resource. */
size_t ctrl_cache_count(ctrl_cache_t *c, const char *resource);

/* ---- what a sync asks for -------------------------------------------------- */

typedef enum ctrl_op {
  CTRL_CREATE,        /* obj: the new object (namespace, name or generateName set) */
  CTRL_UPDATE,        /* obj: the whole object with its resourceVersion */
  CTRL_UPDATE_STATUS, /* obj: the whole object; only its status is written */
  CTRL_DELETE,        /* ns, name; uid as a precondition; grace_s (-1: the object's own) */
  CTRL_EVENT,         /* obj: the involved object; type, reason, message */
} ctrl_op_t;

typedef struct ctrl_action {
  ctrl_op_t op;
  const char *resource; /* a static string: "pods", "replicasets"… */
  json_t *obj;          /* owned by the action */
  char *ns, *name, *uid;
  int64_t grace_s;
  const char *type; /* CTRL_EVENT: "Normal" or "Warning" (static) */
  char *reason, *message;
} ctrl_action_t;

typedef struct ctrl_actions {
  ctrl_action_t *v;
  size_t n, cap;
} ctrl_actions_t;

/* Appenders; each takes ownership of obj. A CTRL_UPDATE/_STATUS or
 * CTRL_DELETE that fails with a conflict makes the manager sync the same
 * key again. */
void ctrl_act_create(ctrl_actions_t *a, const char *resource, json_t *obj);
void ctrl_act_update(ctrl_actions_t *a, const char *resource, json_t *obj);
void ctrl_act_update_status(ctrl_actions_t *a, const char *resource, json_t *obj);
void ctrl_act_delete(ctrl_actions_t *a, const char *resource, const char *ns, const char *name,
                     const char *uid, int64_t grace_s);
void ctrl_act_event(ctrl_actions_t *a, json_t *involved, const char *type, const char *reason,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void ctrl_actions_clear(ctrl_actions_t *a);

/* ---- back-off remembered between syncs (backoff.c) -------------------------- */

/* Exponential back-off per key (a string), Kubernetes' flowcontrol.Backoff:
 * the delay after a retry is initial, doubled at each further retry up to
 * max, and starts over once a key has had no retry for 2 × max. In memory
 * only (a restarted server starts without). */
typedef struct ctrl_backoff ctrl_backoff_t;

/* The DaemonSet controller's, per (DaemonSet, node): Kubernetes'
 * failedPodsBackoff. */
#define CTRL_DS_BACKOFF_INITIAL_NS (1000000000LL)
#define CTRL_DS_BACKOFF_MAX_NS     (15 * 60 * 1000000000LL)

ctrl_backoff_t *ctrl_backoff_new(int64_t initial_ns, int64_t max_ns);
void ctrl_backoff_free(ctrl_backoff_t *b);
/* Records a retry of key at now (ns since the epoch). */
void ctrl_backoff_next(ctrl_backoff_t *b, const char *key, int64_t now);
/* When the next retry of key may happen if not now (its last retry + the
 * delay); 0 when it may happen now. */
int64_t ctrl_backoff_wait_until(ctrl_backoff_t *b, const char *key, int64_t now);
/* Drops the keys that start with prefix, except those for which keep (the
 * rest of the key, arg) is true; keep NULL drops them all. */
void ctrl_backoff_forget(ctrl_backoff_t *b, const char *prefix,
                         bool (*keep)(const char *rest, void *arg), void *arg);
/* Drops the entries without a retry for 2 × max; does the walk at most
 * once a minute whatever the calls. */
void ctrl_backoff_gc(ctrl_backoff_t *b, int64_t now);
/* How many keys have an entry. */
size_t ctrl_backoff_count(ctrl_backoff_t *b);

/* ---- one sync ---------------------------------------------------------------- */

/* The settings a user may change (flags of `berth server`). */
typedef struct ctrl_config {
  int64_t node_grace_ns;       /* no heartbeat for this long: NotReady (default 20 s) */
  int64_t eviction_timeout_ns; /* default tolerationSeconds of not-ready/unreachable (30 s) */
} ctrl_config_t;

#define CTRL_CONFIG_DEFAULT                                                                        \
  {                                                                                                \
    .node_grace_ns = 20 * 1000000000LL, .eviction_timeout_ns = 30 * 1000000000LL                   \
  }

/* What a controller's sync gets and fills. */
typedef struct ctrl_ctx {
  ctrl_cache_t *cache;
  const ctrl_config_t *cfg;
  int64_t now;         /* wall clock, ns since the epoch (injectable for tests) */
  ctrl_actions_t *out; /* the writes to make */
  /* Set by sync: call it again for this key after this long even if nothing
   * changes (a deadline, minReadySeconds, a cron schedule); 0: not needed.
   * The shortest wins. */
  int64_t requeue_after_ns;
  /* Failed daemon pods' back-off (CTRL_DS_BACKOFF_*), kept by the caller
   * from sync to sync; NULL: failed pods are replaced at once. */
  ctrl_backoff_t *ds_backoff;
} ctrl_ctx_t;

/* Asks for another sync of the current key after delay_ns (keeps the
 * shortest). */
void ctrl_requeue_after(ctrl_ctx_t *x, int64_t delay_ns);

/* A key to sync: a controller (index into ctrl_defs) and an object. */
typedef struct ctrl_key {
  size_t def;
  char *ns, *name;
} ctrl_key_t;

typedef struct ctrl_keys {
  ctrl_key_t *v;
  size_t n, cap;
} ctrl_keys_t;

void ctrl_keys_add(ctrl_keys_t *k, size_t def, const char *ns, const char *name);
void ctrl_keys_clear(ctrl_keys_t *k);

/* One controller. */
typedef struct ctrl_def {
  const char *name;     /* "replicaset" (logs) */
  const char *resource; /* the resource it syncs: "replicasets" */
  /* Brings the object ns/name (ns "" when cluster-scoped) closer to its
   * spec: reads x->cache, appends to x->out. The object may be gone from
   * the cache (deleted): then there is usually nothing to do (the garbage
   * collector removes what it owned). */
  void (*sync)(ctrl_ctx_t *x, const char *ns, const char *name);
  /* An object of resource changed (old NULL: added; obj NULL: deleted):
   * which keys of this controller to sync (appended to out, with def =
   * self). Called for every resource in ctrl_watched[]. */
  void (*keys)(ctrl_ctx_t *x, size_t self, const char *resource, json_t *old, json_t *obj,
               ctrl_keys_t *out);
} ctrl_def_t;

/* Every controller, and how many. */
extern const ctrl_def_t ctrl_defs[];
extern const size_t ctrl_ndefs;
/* The resources the controllers read, as "group/resource" ("" group for
 * core: "/pods", "apps/replicasets", "coordination.k8s.io/leases"), NULL-
 * terminated: the manager watches each one that the server serves. */
extern const char *const ctrl_watched[];

/* ---- helpers the controllers share (util.c) -------------------------------- */

/* The controller ownerReference of obj, or NULL. */
json_t *ctrl_controller_ref(json_t *obj);
/* An ownerReference to owner (controller and blockOwnerDeletion true). */
json_t *ctrl_owner_ref(json_t *owner, const char *api_version, const char *kind);
/* Whether pod is active: not Succeeded/Failed and not being deleted. */
bool ctrl_pod_active(json_t *pod);
/* Whether pod is Ready (its Ready condition is True), and since when (ns
 * since the epoch, lastTransitionTime; 0 if unknown). */
bool ctrl_pod_ready(json_t *pod, int64_t *since);
/* Whether pod has been Ready for min_ready_s seconds at now. */
bool ctrl_pod_available(json_t *pod, int64_t min_ready_s, int64_t now);
/* A pod from template (spec.template of a workload) for owner: labels and
 * annotations copied, generateName "<prefix>", the owner reference, the
 * namespace. */
json_t *ctrl_pod_from_template(json_t *template, json_t *owner, const char *api_version,
                               const char *kind, const char *generate_name);
/* An RFC 3339 time (seconds) as ns since the epoch; 0 when s is NULL or bad. */
int64_t ctrl_time_parse(const char *s);
/* A condition of obj's status by type (borrowed), or NULL. */
json_t *ctrl_condition(json_t *obj, const char *type);
/* Sets (or replaces) a condition in status.conditions (status: "True"…);
 * lastTransitionTime changes only when the status does (a Deployment's
 * lastUpdateTime is the caller's). true when anything changed. */
bool ctrl_set_condition(json_t *status, const char *type, const char *cstatus, const char *reason,
                        const char *message, int64_t now);

/* ---- owners and what they select (owners.c) --------------------------------- */

/* The label selector of a workload (spec.selector, a metav1.LabelSelector),
 * or NULL when it is missing, malformed or empty (selects everything): a
 * controller then does nothing, as validation should have refused it. */
api_label_selector_t *ctrl_spec_selector(json_t *obj);
/* Kubernetes' ControllerRefManager: of the objects of resource in owner's
 * namespace that pass filter (NULL: all), those owner controls and sel
 * still matches are claimed; orphans that sel matches (and that are not
 * being deleted) are adopted, with an UPDATE adding owner's controller
 * reference (api_version, kind); objects owner controls that sel no longer
 * matches are released, with an UPDATE removing the reference. Nothing is
 * adopted or released while owner is being deleted. Returns a new array of
 * the claimed objects, sorted by name (adopted ones as updated). */
json_t *ctrl_claim(ctrl_ctx_t *x, const char *resource, json_t *owner, const char *api_version,
                   const char *kind, const api_label_selector_t *sel, bool (*filter)(json_t *));
/* Adds the key ns/name for def unless out already has it. */
void ctrl_keys_add_once(ctrl_keys_t *out, size_t def, const char *ns, const char *name);
/* Adds the key of obj's controller when its controller ownerReference is of
 * kind (in obj's namespace). */
void ctrl_keys_controller(ctrl_keys_t *out, size_t def, json_t *obj, const char *kind);
/* Adds the key of every object of resource in obj's namespace whose
 * spec.selector matches obj's labels: who may adopt obj, an orphan. */
void ctrl_keys_selecting(ctrl_ctx_t *x, ctrl_keys_t *out, size_t def, const char *resource,
                         json_t *obj);
/* An int32 count field of obj (spec.replicas, minReadySeconds…): *out is
 * dflt when the field is missing or null, the value when it is an integer in
 * [0, 2^31-1]; false (a value no validation would let through) otherwise. */
bool ctrl_count_field(json_t *obj, const char *key, int64_t dflt, int64_t *out);
/* The name of resource without its group ("apps/replicasets" → "replicasets"). */
const char *ctrl_resource_base(const char *resource);

/* ---- pods, nodes and untrusted fields (match.c) ------------------------------ */

/* obj[key] when it is an integer within [min, max], else dflt (a missing,
 * mistyped or out-of-range field never reaches the arithmetic). */
int64_t ctrl_int(json_t *obj, const char *key, int64_t dflt, int64_t min, int64_t max);
/* An IntOrString (maxUnavailable, minAvailable…): an integer ≥ 0 as is, or
 * "N%" of total, rounded up or down. -1 with err for anything else. */
int ctrl_intstr_scaled(json_t *v, int64_t total, bool round_up, int64_t *out, berr_t *err);
/* Whether one toleration tolerates taint (key, operator Equal/Exists, value;
 * an empty effect matches every effect, an empty key with Exists every key). */
bool ctrl_toleration_matches(json_t *tol, json_t *taint);
/* The first of tolerations (an array) that tolerates taint, or NULL. */
json_t *ctrl_toleration_for(json_t *tolerations, json_t *taint);
/* Whether tolerations tolerate every NoExecute taint of taints, and every
 * NoSchedule one too when no_schedule. */
bool ctrl_tolerates_taints(json_t *tolerations, json_t *taints, bool no_schedule);
/* Whether node satisfies pod_spec's nodeSelector and its required node
 * affinity (nodeSelectorTerms ORed; matchExpressions on labels and
 * matchFields on metadata.name ANDed; In, NotIn, Exists, DoesNotExist, Gt,
 * Lt). Taints are not looked at. */
bool ctrl_node_matches(json_t *pod_spec, json_t *node);

/* ---- node lifecycle (node_lifecycle.c) --------------------------------------- */

/* Kubernetes' DefaultTolerationSeconds admission: adds to pod's
 * spec.tolerations, when no toleration already covers them, the
 * tolerations of node.kubernetes.io/not-ready and node.kubernetes.io/
 * unreachable (operator Exists, effect NoExecute, tolerationSeconds
 * seconds — seconds, not ns). true when it added anything. */
bool ctrl_pod_default_tolerations(json_t *pod, int64_t seconds);

/* ---- when schedules fire, time zones (cron.c, tz.c) ---------------------------- */

/* A time zone: offsets from UTC read from a TZif file (RFC 8536), without
 * touching the process' TZ (the server has other threads). */
typedef struct ctrl_tz ctrl_tz_t;

/* The zone named name ("Europe/Berlin") from /usr/share/zoneinfo; NULL, ""
 * or "UTC" is UTC. Errors name the zone: "unknown time zone Mars/Base". */
ctrl_tz_t *ctrl_tz_load(const char *name, berr_t *err);
/* The zone in a TZif file's bytes (untrusted); name is for messages. */
ctrl_tz_t *ctrl_tz_parse(const char *name, const unsigned char *data, size_t len, berr_t *err);
void ctrl_tz_free(ctrl_tz_t *tz);
/* Seconds east of UTC in force at t (seconds since the epoch); tz NULL: 0. */
int64_t ctrl_tz_offset(const ctrl_tz_t *tz, int64_t t);

/* The first time a schedule (parsed by api_cron_parse, src/api/cron.c)
 * fires after t (seconds since the epoch) in tz's wall clock, as seconds
 * since the epoch; -1 if none within five years (30 February). Wall-clock
 * times that a DST change skips never run, those it repeats run twice (as
 * Kubernetes' cron library does). Day of month and day of week: both must
 * match when either is "*" (API_CRON_STAR), else either may. @every: t +
 * every_s, as robfig/cron's constant delay. */
int64_t ctrl_cron_next(const api_cron_t *c, const ctrl_tz_t *tz, int64_t t);

/* ---- the controllers (one file each; rows of ctrl_defs in defs.c) ------------- */

void ctrl_cronjob_sync(ctrl_ctx_t *x, const char *ns, const char *name);
void ctrl_cronjob_keys(ctrl_ctx_t *x, size_t self, const char *resource, json_t *old, json_t *obj,
                       ctrl_keys_t *out);
void ctrl_daemonset_sync(ctrl_ctx_t *x, const char *ns, const char *name);
void ctrl_daemonset_keys(ctrl_ctx_t *x, size_t self, const char *resource, json_t *old, json_t *obj,
                         ctrl_keys_t *out);
void ctrl_deploy_sync(ctrl_ctx_t *x, const char *ns, const char *name);
void ctrl_deploy_keys(ctrl_ctx_t *x, size_t self, const char *resource, json_t *old, json_t *obj,
                      ctrl_keys_t *out);
void ctrl_disruption_sync(ctrl_ctx_t *x, const char *ns, const char *name);
void ctrl_disruption_keys(ctrl_ctx_t *x, size_t self, const char *resource, json_t *old,
                          json_t *obj, ctrl_keys_t *out);
void ctrl_job_sync(ctrl_ctx_t *x, const char *ns, const char *name);
void ctrl_job_keys(ctrl_ctx_t *x, size_t self, const char *resource, json_t *old, json_t *obj,
                   ctrl_keys_t *out);
void ctrl_node_lifecycle_sync(ctrl_ctx_t *x, const char *ns, const char *name);
void ctrl_node_lifecycle_keys(ctrl_ctx_t *x, size_t self, const char *resource, json_t *old,
                              json_t *obj, ctrl_keys_t *out);
void ctrl_rs_sync(ctrl_ctx_t *x, const char *ns, const char *name);
void ctrl_rs_keys(ctrl_ctx_t *x, size_t self, const char *resource, json_t *old, json_t *obj,
                  ctrl_keys_t *out);

#endif
