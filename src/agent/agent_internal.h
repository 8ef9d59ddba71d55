/* agent_internal.h — what the agent's files share (not for other modules):
 * the one context of an agent process and the entry points of its parts.
 *
 *   agent.c       options, join and registration, start/stop, the API helpers
 *   agent_node.c  the Node object, its status and the Lease (heartbeat thread)
 *   agent_pods.c  the pod watch feeding pod_mgr, and the writer thread that
 *                 sends pod status patches, events and final deletes
 *   agent_http.c  the HTTPS endpoint (MHD): auth, routing, container logs
 *   agent_exec.c  exec over WebSocket (v5.channel.k8s.io)
 *   agent_evict.c memory.available, the MemoryPressure condition and taint,
 *                 evictions (the housekeeping thread)
 *
 * Threads: heartbeat, pod watch, writer, housekeeping, plus MHD's connection threads and
 * one relay thread per exec session. A kc_t is not thread-safe: every
 * thread takes its own kc_clone() of a->kc. The watch thread may stay
 * blocked in a quiet stream after agent_stop() (kc_stream cannot be
 * interrupted): it holds a reference on the agent and is left to end by
 * itself; everything it touches stays valid until the last reference goes. */
#ifndef BERTH_AGENT_INTERNAL_H
#define BERTH_AGENT_INTERNAL_H

#include "agent/agent.h"
#include "agent/pod.h"
#include "net/client.h"

#include <pthread.h>
#include <stdatomic.h>

#define AGENT_VERSION            "0.1.0"
#define AGENT_KUBELET_VERSION    "v1.33.1-berth"
#define AGENT_COMPONENT          "berth-agent"
#define AGENT_HEARTBEAT_MS       10000
#define AGENT_STATUS_REPORT_MS   300000
#define AGENT_LEASE_DURATION_S   40
#define AGENT_DEFAULT_MAX_PODS   110
#define AGENT_REQUEST_TIMEOUT_MS 15000
#define AGENT_HOUSEKEEPING_MS    10000
#define AGENT_EVICTION_HARD      "memory.available<100Mi"

struct MHD_Daemon;
typedef struct agent_op agent_op_t;

struct agent {
  atomic_int refs;
  atomic_bool stopping;
  /* Options, copied. */
  char *server, *join_token, *data_dir, *engine_root, *node_name, *node_ip, *listen_addr;
  char *pod_cidr, *bridge;
  char **labels; /* "k=v" */
  int port;      /* the endpoint's port */
  int64_t max_pods, backoff_base_ms, backoff_max_ms;

  /* Credentials from registration. */
  char *ca_pem, *token, *cert_pem, *key_pem;
  kc_t *kc; /* the node credential; only agent_start's thread uses it, others clone */

  /* Sleeping and waking (stop). */
  pthread_mutex_t lock;
  pthread_cond_t cond;

  /* agent_node.c */
  pthread_mutex_t status_lock; /* one node status in flight: the last one built is the last sent */
  int64_t status_posted_ns;    /* when the Node's status was last sent (status_lock) */
  pthread_t hb_thread;
  bool hb_started;
  int64_t ready_since_ns; /* lastTransitionTime of the conditions */
  char *node_uid;         /* for the Lease's ownerReference (lock) */

  /* agent_pods.c: the manager (NULL once closed; mgr_lock guards the
   * pointer against the watch thread that may outlive agent_stop). */
  pthread_mutex_t mgr_lock;
  pod_mgr_t *mgr;
  pthread_t watch_thread;
  bool watch_started;
  json_t *bound; /* "ns/name" → uid of the pods the last list/watch said are ours (lock) */
  /* The writer's queue (lock/cond): status patches coalesced per uid. */
  agent_op_t *ops_head, *ops_tail;
  pthread_t writer_thread;
  bool writer_started, writer_stop;
  pthread_mutex_t lookup_lock;
  kc_t *lookup_kc; /* for pod_mgr's configmap/secret lookups (lookup_lock) */

  json_t *ev_cache; /* recent events, for counting repeats (lock) */

  /* agent_evict.c */
  int64_t mem_capacity;     /* --memory-capacity in bytes; 0: MemTotal */
  int64_t evict_bytes;      /* memory.available below this is pressure… */
  int evict_percent;        /* … or below this percentage of the capacity */
  int64_t housekeeping_ms;  /* how often memory.available is looked at */
  int64_t heartbeat_ms;     /* how often the Lease is renewed and the Node's status looked at */
  int64_t status_report_ms; /* the longest the Node's status goes unsent while unchanged */
  pthread_t hk_thread;
  bool hk_started;
  bool mem_pressure;             /* (lock) */
  int64_t mem_pressure_since_ns; /* its lastTransitionTime (lock) */

  /* agent_http.c */
  struct MHD_Daemon *mhd;
  int sessions; /* exec sessions alive (lock/cond) */
};

/* ---- agent.c ---------------------------------------------------------------- */
void agent_ref(agent_t *a);
void agent_unref(agent_t *a);
/* Waits up to ms; false when the agent is stopping. */
bool agent_sleep(agent_t *a, int64_t ms);
/* A fresh client with the node credential, and the request timeout. */
kc_t *agent_kc(agent_t *a);
/* Lowercase hex of n random bytes. */
char *agent_random_hex(size_t n);
/* "/api/v1/namespaces/NS/pods/NAME" with each segment checked (no '/', '?',
 * '%', '#' or spaces): names come from the API but a path is built from them. */
bool agent_path_segment_ok(const char *s);
/* The message of an API error reply, for logs and errors. */
char *agent_reply_message(long code, json_t *reply);

/* ---- agent_node.c ----------------------------------------------------------- */
/* Creates or updates the Node, posts its status, creates or renews the Lease;
 * errors are returned (agent_start retries). */
int agent_node_register(agent_t *a, berr_t *err);
int agent_node_start(agent_t *a, berr_t *err);
void agent_node_stop(agent_t *a);
/* Pure helpers (also used by the tests through the node object). */
json_t *agent_node_status(agent_t *a, int64_t now_ns);
/* Reads the Node and sends agent_node_status when it differs from the
 * Node's (agent_node_status_same) or when --node-status-report-frequency
 * has passed since the last one; a Node deleted meanwhile is registered
 * again. The heartbeat's, and the housekeeping's after a change. */
int agent_node_sync_status(agent_t *a, kc_t *c, berr_t *err);
/* True when a Node's status (have) holds every field of ours with the same
 * value, the conditions' lastHeartbeatTime aside: nothing to send. */
bool agent_node_status_same(json_t *ours, json_t *have);
/* Adds (present) or removes the taint KEY:EFFECT of the Node, keeping the
 * others. */
int agent_node_set_taint(agent_t *a, kc_t *c, const char *key, const char *effect, bool present,
                         berr_t *err);
/* A field of /proc/meminfo ("MemTotal", "MemAvailable") in KiB; 0 if none. */
int64_t agent_meminfo_kib(const char *key);

/* ---- agent_evict.c ---------------------------------------------------------- */
/* "memory.available<100Mi" or "memory.available<10%". */
int agent_parse_eviction_hard(const char *s, int64_t *bytes, int *percent, berr_t *err);
/* capacity.memory of the Node in bytes: --memory-capacity, else MemTotal. */
int64_t agent_memory_capacity(agent_t *a);
int agent_evict_start(agent_t *a, berr_t *err);
void agent_evict_stop(agent_t *a);

/* ---- agent_pods.c ----------------------------------------------------------- */
/* Opens the pod manager (re-adopting what is on disk; what it reports waits
 * in the queue for the writer). Before any thread of the agent's. */
int agent_pods_open(agent_t *a, berr_t *err);
/* Starts the writer thread: status patches, events, final deletes. */
int agent_pods_start_writer(agent_t *a, berr_t *err);
/* Starts the list/watch of the pods bound to this node. */
int agent_pods_start_watch(agent_t *a, berr_t *err);
/* Closes the pod manager and stops the writer (after a short flush). */
void agent_pods_close(agent_t *a);

/* ---- agent_http.c ----------------------------------------------------------- */
int agent_http_start(agent_t *a, berr_t *err);
void agent_http_stop(agent_t *a);
/* Constant-time bearer check against the node credential. */
bool agent_http_token_ok(agent_t *a, const char *authorization);

/* ---- agent_exec.c ----------------------------------------------------------- */
struct MHD_Connection;
/* Answers GET /exec/NS/POD/CTR: 400/404 as a Status, or a 101 whose
 * session *pending holds until MHD hands over the socket (the connection's
 * con_cls must be that pending slot). Returns MHD's result. */
int agent_exec_handle(agent_t *a, struct MHD_Connection *conn, const char *ns, const char *pod,
                      const char *ctr, void **pending);
/* Frees a session whose 101 never went out (the request completed first). */
void agent_exec_abandon(void *session);
/* Queues err as a metav1.Status (ENOENT 404, EAGAIN 400, else 500) and
 * clears it. */
int agent_http_error(struct MHD_Connection *conn, berr_t *err);
/* Queues a metav1.Status failure as the reply (shared with agent_http.c). */
int agent_http_status(struct MHD_Connection *conn, int code, const char *reason, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

#endif
