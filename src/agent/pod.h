/* pod.h — pods on one node: the agent's pod manager. It turns the pods the
 * API server binds to this node into running containers (src/engine/) and
 * reports their status back, as the kubelet does.
 *
 * A pod is a sandbox plus containers:
 *  - The sandbox is the pod's shared network, IPC and UTS namespaces, made
 *    by one short-lived child (unshare, sethostname to the pod's hostname)
 *    and kept alive by bind-mounting its nsfs files at ROOT/run/pods/UID/
 *    ns/{net,ipc,uts}: no pause process. The network is podnet.h's (none for
 *    hostNetwork pods, which share the node's namespaces).
 *  - Containers are engine containers joining those namespaces (each with
 *    its own PID namespace), in the pod's cgroup parent
 *    (berth-pods/pod<uid>), labelled with the pod uid, container name and
 *    restart count so that a restarted agent finds them again (engine names
 *    k8s_<ctr>_<pod>_<ns>_<uid8>_<restart>). berth's init is their pid 1 and
 *    forwards signals, so a command without a SIGTERM handler still stops
 *    on SIGTERM. Init containers run one at a time, in order, before the
 *    others start; a failed one is retried by restartPolicy.
 *  - ROOT/run/pods/UID/pod.json is the last spec seen (with status.podIP
 *    and status.startTime): on start-up the manager re-adopts what is there
 *    without restarting running containers.
 *  - ROOT/run is a private tmpfs, mounted at open and left in place by
 *    pod_mgr_close (containers keep running): what lives there (pod.json,
 *    /etc/hosts, the namespace files, configMap/secret/downwardAPI files,
 *    the address book of podnet) describes pods that die with the machine,
 *    and making it costs no disk (on ext4 without a journal every new
 *    inode costs a scan of the recently deleted ones). After a reboot it is
 *    empty: the API server's pods are started afresh. emptyDir volumes
 *    (medium "") are on disk, ROOT/volumes/UID/NAME, removed with the pod
 *    or, after a reboot, when the manager opens.
 *
 * Restarts follow restartPolicy (Always, OnFailure, Never) with the
 * kubelet's back-off: the first restart at once, then base, doubling per
 * restart up to max, reset after a container ran 10 minutes; while waiting
 * the container's state is waiting with reason CrashLoopBackOff.
 *
 * Probes: liveness, readiness and startup probes (exec, httpGet,
 * tcpSocket; gRPC is reported as unsupported) run on one prober thread and
 * are counted in the pod's pass: a failed liveness or startup probe
 * restarts the container, readiness drives containerStatuses[].ready and
 * the Ready condition (pod_probe.c, docs/agent.md).
 *
 * Eviction: pod_mgr_evict ends a pod under memory pressure (killed at
 * once, Failed, reason Evicted); pod_mgr_usage and pod_evict_rank give the
 * agent what it needs to choose (pod_evict.c).
 *
 * Deletion: when the pod gets metadata.deletionTimestamp, containers get
 * SIGTERM (the image's stop signal), then SIGKILL after the grace period
 * (metadata.deletionGracePeriodSeconds, else spec.terminationGracePeriodSeconds,
 * default 30 s); then the containers, sandbox and address are removed and
 * on_terminated tells the agent, which deletes the API object for good. */
#ifndef BERTH_AGENT_POD_H
#define BERTH_AGENT_POD_H

#include "base/base.h"
#include "engine/engine.h"
#include "net/podnet.h"

typedef struct pod_mgr pod_mgr_t;

/* Under the manager's root: its tmpfs, and in it the pod network's
 * address book (pod_mgr_opts.net.state_dir when that is NULL). */
#define POD_RUN_DIR  "run"
#define POD_IPAM_DIR POD_RUN_DIR "/ipam"

typedef struct pod_mgr_opts {
  const char *root;        /* the agent's state: ROOT/run, ROOT/volumes (required) */
  const char *engine_root; /* the engine's root (images, containers) (required) */
  const char *node_name;   /* for events and status.hostIP's owner */
  const char *host_ip;     /* status.hostIP, and podIP of hostNetwork pods */
  podnet_opts_t net;       /* the pod network */
  int64_t backoff_base_ms; /* 0: 10000 */
  int64_t backoff_max_ms;  /* 0: 300000 */
  int workers;             /* threads that start and stop containers; 0: 4 */

  /* Looks up a key of a configmap or secret (kind "configmaps"/"secrets")
   * for env valueFrom; *value is malloc'd (secret values decoded). A
   * missing object or key is ENOENT with the kubelet's message
   * ("configmap \"c\" not found", "couldn't find key k in ConfigMap
   * default/c"). With key NULL (envFrom, configMap and secret volumes)
   * *value is the JSON text of the whole object's data as one string map:
   * {"k":"v",…}, a configmap's binaryData included, every value decoded.
   * Called from worker threads. */
  int (*lookup)(void *arg, const char *kind, const char *ns, const char *name, const char *key,
                char **value, berr_t *err);
  /* A pod's status changed: status is the complete PodStatus (borrowed).
   * Called from worker threads, never twice at once for one pod. */
  void (*on_status)(void *arg, const char *ns, const char *name, const char *uid, json_t *status);
  /* A pod being deleted has nothing left on the node. */
  void (*on_terminated)(void *arg, const char *ns, const char *name, const char *uid);
  /* An event about a pod ("Normal"/"Warning", reason, message): Pulled,
   * Created, Started, Killing, BackOff, Failed… */
  void (*on_event)(void *arg, json_t *pod, const char *type, const char *reason,
                   const char *message);
  void *arg;
} pod_mgr_opts_t;

/* Opens the manager and re-adopts the pods found under ROOT/run/pods (their
 * running containers are left running; their status is reported again). */
int pod_mgr_open(const pod_mgr_opts_t *o, pod_mgr_t **out, berr_t *err);
/* Stops the manager's threads; containers keep running (an agent restart
 * must not touch them). */
void pod_mgr_close(pod_mgr_t *m);

/* The pod as the API has it now (borrowed; copied). A new uid is started;
 * a known one with deletionTimestamp is terminated gracefully; other
 * changes to a running pod are ignored, as the kubelet ignores them.
 * Returns at once: the work happens on the workers. */
int pod_mgr_sync(pod_mgr_t *m, json_t *pod, berr_t *err);
/* The pod is gone from the API (or bound elsewhere): kill at once and
 * remove everything it had on the node. Returns at once. */
int pod_mgr_forget(pod_mgr_t *m, const char *uid, berr_t *err);
/* The uids of every pod the manager knows (strv_free). After a re-list the
 * agent forgets those the API no longer has. */
char **pod_mgr_uids(pod_mgr_t *m);
/* Whether a pass over some pod is queued or running (pods being started,
 * stopped or looked at). */
bool pod_mgr_busy(pod_mgr_t *m);

/* The engine container of a pod's container, for logs and exec: the
 * current one, or the one before it with previous (ENOENT "previous
 * terminated container \"c\" in pod \"p\" not found"). Unknown pod or
 * container: ENOENT with kubectl's words ("pods \"p\" not found",
 * "container c is not valid for pod p"). A container that has none yet:
 * EAGAIN "container \"c\" in pod \"p\" is waiting to start: REASON" (the
 * kubelet answers 400 Bad Request). */
int pod_mgr_container(pod_mgr_t *m, const char *ns, const char *pod, const char *container,
                      bool previous, char **engine_id, berr_t *err);
engine *pod_mgr_engine(pod_mgr_t *m);

/* ---- memory and eviction (pod_evict.c) ------------------------------------ */

typedef struct pod_usage_ctr {
  char *name;
  int64_t usage;   /* working set: in use, without inactive page cache (bytes) */
  int64_t request; /* resources.requests.memory (bytes; 0: none) */
} pod_usage_ctr_t;

typedef struct pod_usage {
  char *uid, *ns, *name;
  const char *qos;        /* status.qosClass (a static string) */
  int64_t priority;       /* spec.priority */
  int64_t usage, request; /* over its containers */
  bool evictable;         /* running: not finished, evicted or being deleted */
  pod_usage_ctr_t *ctrs;
  size_t n_ctrs;
} pod_usage_t;

/* The memory every pod of the manager uses now (its containers' cgroups). */
int pod_mgr_usage(pod_mgr_t *m, pod_usage_t **out, size_t *n, berr_t *err);
void pod_usages_free(pod_usage_t *v, size_t n);
/* Evicts a pod: its containers are killed at once, it ends Failed with
 * reason Evicted and message (also the Evicted event); it never runs
 * again on this node. Returns at once. ENOENT for an unknown uid. */
int pod_mgr_evict(pod_mgr_t *m, const char *uid, const char *message, berr_t *err);

/* ---- pure helpers (unit-tested) ------------------------------------------ */

/* Sorts pods in the kubelet's order of eviction under memory pressure:
 * evictable ones first; among them those using more than they request
 * (BestEffort always does) before the others, then lower spec.priority
 * first, then the larger use above the request first. */
void pod_evict_rank(pod_usage_t *v, size_t n);
/* The status message of an eviction, the kubelet's: "The node was low on
 * resource: memory. Threshold quantity: 100Mi, available: 80Mi. Container
 * c was using 120Mi, request is 0, has larger consumption of memory." */
char *pod_evict_message(const pod_usage_t *u, int64_t threshold, int64_t available);

/* The kubelet's back-off after n back-offs (n >= 1): base·2^(n-1), at most
 * max — 10 s, 20 s, 40 s … 300 s. The first restart of a crashed container
 * is immediate; the wait before restart number r (r >= 2) is
 * pod_backoff_ms(base, max, r - 1). 0 for n < 1. */
int64_t pod_backoff_ms(int64_t base_ms, int64_t max_ms, int restarts);
/* The pod phase from its containers' statuses and restartPolicy, as the
 * kubelet's getPhase computes it. */
const char *pod_phase(json_t *spec, json_t *init_statuses, json_t *statuses);

#endif
