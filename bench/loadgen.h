/* loadgen.h — what the control-plane load generators share (bench/api.c:
 * the API server and etcd under load; bench/pods.c: pod startup): the run's
 * settings, percentiles, a process's memory, clients over berth's own HTTPS
 * client (src/net/client.h), and a watch thread that timestamps each event
 * of the pods it follows. Times are taken with CLOCK_MONOTONIC; they are
 * printed in ms, memory in KiB. Not part of berth or of `make test`. */
#ifndef BERTH_BENCH_LOADGEN_H
#define BERTH_BENCH_LOADGEN_H

#include "net/client.h"

#include <pthread.h>

#define LG_NS        "default"
#define LG_PODS_PATH "/api/v1/namespaces/" LG_NS "/pods"
/* etcd keys, as the Kubernetes API server lays them out */
#define LG_ETCD_PREFIX "/registry/pods/" LG_NS "/"

/* The run: one per process, filled from the command line. */
typedef struct lg_run {
  const char *prog;
  const char *url;     /* https://127.0.0.1:PORT (http:// for a plain etcd) */
  const char *data;    /* a berth server's data dir: admin-token, ca.crt; or NULL */
  const char *ca_file; /* etcd: the CA to verify it with, or NULL */
  bool etcd;           /* the peer: etcd's v3 JSON gateway instead of the Kubernetes API */
  long n, clients, timeout_s;
  pid_t pid; /* the process whose memory is read (-p), or 0 */
} lg_run_t;

extern lg_run_t lg;

__attribute__((noreturn)) void lg_die(const char *what, berr_t *err);
__attribute__((noreturn)) void lg_die_reply(const char *what, kc_resp_t *r);

/* Nearest-rank percentiles of v (ns; sorted in place) as
 * {"n","min","p50","p90","p99","max"} in ms. */
json_t *lg_dist(int64_t *v, size_t n);
double lg_ms(int64_t ns);
/* {"rss_kib","hwm_kib","anon_kib","file_kib"}: VmRSS, VmHWM, RssAnon and
 * RssFile (mapped files: the binary and libraries, shared with other
 * processes) of lg.pid, or null without one. */
json_t *lg_rss(void);
/* The same for any process (pid > 0). */
json_t *lg_rss_of(pid_t pid);
/* The CPU time pid has used (user + system, /proc/PID/stat), in seconds; -1 when gone. */
double lg_cpu_s(pid_t pid);

/* A string → number map (a watch thread's bookkeeping: pods by uid or by name). */
typedef struct lg_map_entry lg_map_entry_t;
typedef struct lg_map {
  lg_map_entry_t **b;
  size_t nb, n;
} lg_map_t;
/* The value of key; with add, a missing key is added with value 0; else NULL. */
size_t *lg_map_get(lg_map_t *m, const char *key, bool add);
void lg_map_del(lg_map_t *m, const char *key);
/* Empties m (it stays usable); lg_map_free also frees its table. */
void lg_map_clear(lg_map_t *m);
void lg_map_free(lg_map_t *m);

char *lg_b64_encode(const char *s, size_t n);
char *lg_b64_decode(const char *s);

/* A client for lg.url with the admin token and CA of lg.data (or lg.ca_file). */
kc_t *lg_client(void);
/* One request; exits on a transport error or a status other than want. */
void lg_request(kc_t *c, const char *method, const char *path, const char *accept, const char *body,
                long want, kc_resp_t *r);
/* A first request on a fresh connection: TLS handshakes stay out of the figures. */
void lg_warm_up(kc_t *c);
/* Starts n threads running fn(arg + i * size) after each made its own
 * connection (lg_warm_up on arg's kc_t, the first member); returns the wall
 * time in ns from the moment all were connected until the last ended. */
int64_t lg_threads(void *(*fn)(void *), void *args, size_t size, size_t n);

/* ---- watch ----------------------------------------------------------------------------- */

/* Follows pods named PREFIX-NNNNN (0 <= N < n) on a watch (the Kubernetes API,
 * or etcd's /v3/watch). on_pod gets each event of one of them with the time
 * its line was read (before parsing) and returns < 0 when nothing more is
 * needed, which ends the stream. The pod PREFIX-ready marks the watch as
 * connected (lg_watch_sync). With index set, it numbers the other PREFIX-…
 * pods instead (pods whose names a controller chose): < 0 to ignore one. */
typedef struct lg_watch lg_watch_t;
struct lg_watch {
  const char *prefix;
  size_t n;
  int (*on_pod)(lg_watch_t *w, size_t i, json_t *obj, int64_t now);
  long (*index)(lg_watch_t *w, const char *name);
  void *arg;
  /* inside */
  kc_lines_t lines;
  kc_t *c;
  char *req; /* the watch path (k8s) or the create_request body (etcd) */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  bool ready, ended;
  char *error;
};

/* Watches from revision rv (a list's), label selector (URL-encoded) or NULL. */
void lg_watch_start(lg_watch_t *w, kc_t *proto, const char *rv, const char *selector);
/* Sends the create request body (which names PREFIX-ready) and waits until
 * the watch has seen it; exits when it does not within 10 s. */
void lg_watch_sync(lg_watch_t *w, kc_t *c, const char *path, const char *body, long want);
/* Waits up to timeout_s for the stream to end; false on timeout. */
bool lg_watch_wait(lg_watch_t *w, long timeout_s);
/* After lg_watch_wait returned true: joins the thread and frees. */
void lg_watch_free(lg_watch_t *w);

#endif
