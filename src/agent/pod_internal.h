/* pod_internal.h — what the files of the pod manager share (pod.h is the
 * interface):
 *
 *   pod.c          the manager: pods by uid, the work queue and its workers,
 *                  sync/forget, adoption on open
 *   pod_watch.c    one thread noticing container exits (inotify on the
 *                  monitors' exit.json, pidfds) and back-off timers
 *   pod_sandbox.c  the pod's namespaces and network, its files on disk
 *   pod_volume.c   volumes (emptyDir, hostPath, configMap, secret, …)
 *   pod_env.c      environment, $(VAR) expansion, container options
 *   pod_run.c      one pass over a pod: start, restart, terminate
 *   pod_status.c   PodStatus, phase, QoS class, back-off arithmetic
 *   pod_probe.c    liveness, readiness and startup probes: the worker's half
 *                  (results, thresholds, restarts, what to probe next)
 *   pod_prober.c   the prober thread that runs the probes (HTTP and TCP
 *                  through libcurl's multi interface, exec through the
 *                  engine's spawner), all of them at once, none blocking
 *   pod_evict.c    memory usage of the pods, eviction order and eviction
 *
 * Threading: a pod is handled by one worker at a time (the queue never
 * hands out a pod that is busy; a pod queued while busy runs again after).
 * Everything below "worker-owned" is touched only by that worker; the
 * fields marked (m->lock) by anyone holding the manager's lock; the engine
 * ids that pod_mgr_container reads by p->mu. */
#ifndef BERTH_AGENT_POD_INTERNAL_H
#define BERTH_AGENT_POD_INTERNAL_H

#include "agent/pod.h"

#include <pthread.h>

#define POD_CGROUP_ROOT   "berth-pods"
#define POD_LABEL_UID     "berth.pod.uid"
#define POD_LABEL_NAME    "berth.pod.name"
#define POD_LABEL_NS      "berth.pod.namespace"
#define POD_LABEL_CTR     "berth.container.name"
#define POD_LABEL_RESTART "berth.container.restart"
/* A back-off is forgotten once the container ran this long (the kubelet's). */
#define POD_BACKOFF_RESET_NS (600LL * 1000000000LL)

typedef enum ctr_state { CTR_WAITING, CTR_RUNNING, CTR_EXITED } ctr_state;

/* ---- probes ------------------------------------------------------------------- */

typedef enum probe_kind { PROBE_STARTUP, PROBE_LIVENESS, PROBE_READINESS, PROBE_KINDS } probe_kind;
typedef enum probe_handler { PH_NONE, PH_EXEC, PH_HTTP, PH_TCP, PH_GRPC } probe_handler;

/* One probe to run: made by the worker (pod_probe.c), run by the prober
 * (pod_prober.c), handed back to the pod with its result. */
typedef struct probe_job {
  struct probe_job *next;
  /* Where the result goes: pod, container index, kind, and the run of the
   * container it was made for (a result for an older run is dropped). */
  char *uid;
  size_t ctr;
  probe_kind kind;
  uint64_t gen;
  probe_handler handler;
  char *engine_id; /* exec: the container */
  char **command;  /* exec */
  char *url;       /* http: "http(s)://HOST:PORT/PATH"; tcp: "HOST:PORT" */
  char *addr;      /* http and tcp: "HOST:PORT" */
  char **headers;  /* http: "Name: value" */
  int64_t timeout_ms;
  /* The prober's while it runs. */
  void *easy, *headers_list;
  int answer_fd, out_fd;
  int64_t deadline_mono;
  buf_t body;
  char *errbuf;
  /* The result. */
  bool ok;
  char *output; /* what the kubelet puts after "Liveness probe failed: " */
} probe_job_t;

void probe_job_free(probe_job_t *j);

/* The state of one probe of a container's current run (worker-owned). */
typedef struct ctr_probe {
  json_t *spec; /* borrowed from the container's spec; NULL: none */
  probe_handler handler;
  int64_t next_mono; /* the next run is due */
  bool in_flight;
  int successes, failures; /* in a row */
  int result;              /* 1 success, 0 failure, -1 not known yet */
} ctr_probe_t;

typedef struct pod_ctr {
  char *name;
  json_t *spec; /* borrowed from the pod's spec */
  bool init;    /* an init container */
  bool sidecar; /* an init container with restartPolicy Always */

  char *id, *prev_id; /* current and previous engine containers (p->mu) */
  int restarts;       /* restart number of the current one (its label) */

  ctr_state st;
  int64_t started_ns, finished_ns;
  char *reason, *message; /* waiting or terminated reason */
  char *image_id;
  bool exit_handled;  /* the exit of the current one was looked at */
  bool done;          /* init: exited 0; never runs again */
  json_t *term;       /* state.terminated of the current run, once it ended */
  json_t *last_term;  /* lastState.terminated (the run before) */
  bool backing_off;   /* ended, waiting for its restart (CrashLoopBackOff) */
  bool created_only;  /* the current one was created but never started */
  bool ever_created;  /* an engine container was made: the next is a restart */
  bool watched;       /* the current one is in pod_watch's table with its pid */
  int64_t retry_mono; /* no start before (back-off, config error) */
  int backoffs;       /* back-offs in a row so far */

  ctr_probe_t probes[PROBE_KINDS];
  char *probed_id;         /* the run the probe state is about */
  uint64_t probe_gen;      /* bumped for every run: late results are dropped */
  bool probe_kill;         /* being stopped after a failed liveness/startup probe */
  bool probe_kill_sent;    /* … and SIGKILL was sent */
  int64_t probe_kill_mono; /* SIGKILL then */
} pod_ctr_t;

typedef struct pod {
  char *uid, *ns, *name;
  json_t *obj;  /* the pod (a copy); its spec never changes */
  json_t *spec; /* borrowed from obj */
  char *dir;    /* ROOT/run/pods/UID (tmpfs) */
  char *vols;   /* ROOT/volumes/UID: emptyDir volumes on disk, made when needed */
  pthread_mutex_t mu;

  /* (m->lock) */
  json_t *pending; /* a newer object carrying deletionTimestamp */
  bool forget;
  bool queued, busy, dirty, removed;
  struct pod *qnext;
  int64_t wake_mono;          /* run again at (0: no timer) */
  uint64_t seq;               /* order of arrival */
  probe_job_t *probe_results; /* finished probes, newest first */
  char *evict_msg;            /* pod_mgr_evict asked for an eviction */
  bool inactive;              /* terminal, evicted or being deleted: not evictable */

  /* worker-owned */
  pod_ctr_t *ctrs; /* init containers first */
  size_t n_init, n_ctrs;
  bool set_up;    /* files, sandbox and volumes in place */
  bool adopted;   /* found on disk at open */
  bool terminal;  /* Succeeded or Failed: nothing starts again */
  bool net_up;    /* namespaces and address exist */
  char *ip;       /* status.podIP */
  char *hostname; /* the pod's */
  int64_t start_ns;
  char *setup_error; /* why the pod cannot start (volumes…), for status */
  char *setup_reason;
  int64_t setup_retry_mono;
  int setup_failures;
  bool deleting, term_sent, kill_sent;
  int64_t grace_s, kill_mono, settle_mono;
  char *last_status; /* JSON text last reported */
  json_t *conds;     /* type -> {"status","time"} of our conditions */
  json_t *gates; /* readinessGates: conditionType → the condition others set, or null (p->mu) */
  char *phase;
  bool evicted;        /* Failed, reason Evicted */
  char *evict_message; /* status.message of an evicted pod */
} pod_t;

struct pod_mgr {
  char *root, *run_dir, *pods_dir, *vols_dir, *engine_root, *node_name, *host_ip;
  char *net_bridge, *net_cidr, *net_state;
  pod_mgr_opts_t o; /* the caller's, strings pointing at the copies above */
  engine *eng;

  pthread_mutex_t lock;
  pthread_cond_t cond;
  pod_t **pods;
  size_t n_pods, cap_pods;
  uint64_t next_seq;
  pod_t *q_head, *q_tail;
  bool stopping;
  pthread_t *workers;
  int n_workers;
  int active; /* workers in a pass */

  /* pod_watch.c */
  int ifd, efd, epfd;
  pthread_t watcher;
  bool watcher_up;
  struct pod_watch *watches; /* (m->lock) */
  size_t n_watches, cap_watches;

  /* pod_prober.c: started with the first probe */
  pthread_mutex_t prober_lock;
  struct prober *prober;
};

/* ---- pod.c ------------------------------------------------------------------ */

/* Queues p for a worker (m->lock held). */
void pod_enqueue_locked(pod_mgr_t *m, pod_t *p);
/* The pod with this uid, or NULL (m->lock held). */
pod_t *pod_find_locked(pod_mgr_t *m, const char *uid);
/* Runs p again at mono (earliest wins). */
void pod_wake_at(pod_mgr_t *m, pod_t *p, int64_t mono);
/* Takes p out of the manager; freed once no worker holds it. */
void pod_remove(pod_mgr_t *m, pod_t *p);
/* One line of an event about p. */
void pod_event(pod_mgr_t *m, pod_t *p, const char *type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* "k8s_CTR_POD_NS_UID8_N", at most 128 characters. */
char *pod_engine_name(pod_t *p, const char *ctr, int restart);

/* ---- pod_watch.c ------------------------------------------------------------ */

int pw_open(pod_mgr_t *m, berr_t *err);
void pw_close(pod_mgr_t *m);
/* Watches an engine container of pod uid: its monitor's exit file, and its
 * process (pid > 0) in case the monitor is gone. */
void pw_add(pod_mgr_t *m, const char *uid, const char *id, pid_t pid);
void pw_del(pod_mgr_t *m, const char *id);
/* The timers changed. */
void pw_kick(pod_mgr_t *m);

/* ---- pod_sandbox.c ---------------------------------------------------------- */

/* ROOT/run: a private tmpfs, mounted when it is not one yet. */
int pod_root_prepare(pod_mgr_t *m, berr_t *err);
/* Namespaces (made, or adopted when alive) and the pod's address. */
int pod_sandbox_up(pod_mgr_t *m, pod_t *p, berr_t *err);
/* True when the namespace files are mounted (the sandbox survived). */
bool pod_sandbox_alive(pod_t *p);
/* Address released, namespaces unmounted; idempotent. */
int pod_sandbox_down(pod_mgr_t *m, pod_t *p, berr_t *err);
/* ROOT/run/pods/UID/FILE. */
char *pod_path(pod_t *p, const char *file);
char *pod_ns_path(pod_t *p, const char *ns);
/* pod.json: the pod with what adoption needs in its status (podIP,
 * startTime, a terminal phase); no fsync: the API server has the pod too. */
int pod_save(pod_t *p, berr_t *err);
/* Takes podIP, start time and a terminal phase from pod.json's status. */
void pod_state_from(pod_t *p, json_t *status);
/* Hosts file for the pod's containers. */
int pod_hosts_write(pod_t *p, berr_t *err);

/* ---- pod_volume.c ------------------------------------------------------------ */

/* Makes every volume of the pod; EINVAL for kinds berth cannot do (the pod
 * cannot start), others may pass (a missing configmap). */
int pod_volumes_up(pod_mgr_t *m, pod_t *p, berr_t *err);
void pod_volumes_down(pod_t *p);
/* The binds of a container's volumeMounts. */
int pod_volume_binds(pod_t *p, json_t *ctr, engine_bind **binds, size_t *n, berr_t *err);

/* ---- pod_env.c ---------------------------------------------------------------- */

/* The container's environment ("K=V"), command and args expanded. A
 * missing configmap/secret is ENOENT with the kubelet's words. */
int pod_ctr_env(pod_mgr_t *m, pod_t *p, json_t *ctr, char ***env, char ***command, char ***args,
                berr_t *err);
/* Resolves a downward API fieldPath ("metadata.name", "status.podIP", …). */
int pod_field_ref(pod_mgr_t *m, pod_t *p, const char *path, char **value, berr_t *err);
/* $(VAR) expansion against env ("K=V" list), $$ for a literal $. */
char *pod_expand(const char *s, char *const *env);
/* Memory limit bytes, cpu limit nano, cpu shares from resources. */
void pod_ctr_resources(json_t *ctr, int64_t *memory, int64_t *nano_cpus, int64_t *shares);

/* ---- pod_run.c ------------------------------------------------------------------ */

/* One pass over the pod: whatever it needs next. */
void pod_reconcile(pod_mgr_t *m, pod_t *p);
/* Sets up p's containers from its spec. */
void pod_ctrs_init(pod_t *p);
void pod_free(pod_t *p);

/* ---- pod_probe.c ------------------------------------------------------------------ */

/* Sets up c's probe state from its spec (pod_ctrs_init). */
void pod_probes_init(pod_ctr_t *c);
/* One step of a pod's probes: results taken in (events, thresholds, a
 * restart for a failed liveness or startup probe), the probes that are due
 * handed to the prober, a timer for the next. */
void pod_probes_step(pod_mgr_t *m, pod_t *p);
/* Forgets the probe state of c (its run ended). */
void pod_probes_reset(pod_ctr_t *c);
/* status.containerStatuses[].started and .ready of a running container. */
bool pod_ctr_started(pod_ctr_t *c);
bool pod_ctr_ready(pod_ctr_t *c);
/* Defaults of a probe's fields (the API server's too). */
int64_t pod_probe_int(json_t *probe, const char *key);

/* ---- pod_prober.c ------------------------------------------------------------------ */

/* Runs j (stolen) in the background; its result is put in the pod's
 * probe_results and the pod queued. */
void prober_submit(pod_mgr_t *m, probe_job_t *j);
/* Stops the prober thread (before the pods are freed). */
void prober_close(pod_mgr_t *m);

/* ---- pod_evict.c ------------------------------------------------------------------ */

/* Carries out an eviction pod_mgr_evict asked for (containers killed, the
 * Evicted event); true when p is evicted, now or before. */
bool pod_evict_step(pod_mgr_t *m, pod_t *p);

/* ---- pod_status.c ---------------------------------------------------------------- */

/* The status of p as it is now; sets p->phase. */
json_t *pod_status_build(pod_mgr_t *m, pod_t *p);
/* Reports the status when it differs from the last one reported. */
void pod_status_report(pod_mgr_t *m, pod_t *p);
bool pod_phase_terminal(const char *phase);

#endif
