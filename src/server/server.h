/* server.h — `berth server`: the Kubernetes-style HTTPS API in front of the
 * store. One process serves discovery, CRUD, patch and watch for the kinds in
 * resources.c (namespaces and configmaps so far), authenticates bearer tokens
 * and keeps its state in DATA (the SQLite store, the cluster CA, the serving
 * certificate, the tokens and the admin kubeconfig).
 *
 * libmicrohttpd and GnuTLS are loaded on first use (mhd_dl.h): nothing here
 * costs the other berth commands anything. The small pure helpers below are
 * exposed for the unit tests (tests/unit/test_server_*.c). */
#ifndef BERTH_SERVER_H
#define BERTH_SERVER_H

#include "base/base.h"
#include "sched/sched.h"

#define SRV_DEFAULT_LISTEN   "0.0.0.0:6443"
#define SRV_DEFAULT_DATA_DIR "/var/lib/berth/server"
#define SRV_MAX_BODY         (3 * 1024 * 1024) /* as the Kubernetes API server: 413 above */
/* A connection with no traffic for this long is closed (kubectl's watches
 * ask for 300-600 s and re-watch when the server ends them). */
#define SRV_IDLE_TIMEOUT_S 600
#define SRV_K8S_VERSION    "v1.33.1" /* kubectl's dispatcher picks its binary by this minor */

typedef struct srv_opts {
  const char *listen;   /* "ADDR:PORT" (IPv4) */
  const char *data_dir; /* created 0700 if missing */
  /* Store history (store_opts_t): 0 = the store's default; negative =
   * never compact / no floor by age / no floor by count. */
  int64_t compact_interval_ns, retain_ns, retain_revs;
  /* Node lifecycle: a node silent for node_grace_ns turns NotReady; pods
   * are evicted eviction_timeout_ns later (the default tolerationSeconds).
   * 0: the defaults (20 s, 30 s). */
  int64_t node_grace_ns, eviction_timeout_ns;
  /* How the scheduler ranks nodes: SCHED_SPREAD (the default) or SCHED_BINPACK. */
  sched_strategy_t scheduler_strategy;
  /* Called once the server listens (url: "https://127.0.0.1:PORT"), and
   * before it stops: `berth server --with-agent` starts and stops the
   * machine's own agent with them. A failing on_ready stops the server. */
  int (*on_ready)(void *arg, const char *url, const char *data_dir, berr_t *err);
  void (*on_stop)(void *arg);
  void *hook_arg;
} srv_opts_t;

/* Prepares DATA (first start: CA, serving certificate, tokens, kubeconfig;
 * the "default" namespace), serves until SIGINT or SIGTERM, then returns 0. */
int srv_run(const srv_opts_t *opts, berr_t *err);

/* ---- pure helpers (route.c) --------------------------------------------- */

/* "127.0.0.1:6443" → address and port; ":6443" listens on every address. */
int srv_parse_listen(const char *s, char **addr, int *port, berr_t *err);

/* An API path split into its parts. Every string points into a copy owned
 * by the route (srv_route_free). */
typedef struct srv_route {
  char *buf;
  const char *ns;       /* /api/v1/namespaces/NS/… or NULL */
  const char *resource; /* "configmaps", "namespaces" */
  const char *name;     /* NULL for a collection */
  const char *sub;      /* subresource ("status"), or NULL */
} srv_route_t;

/* Parses /api/v1/… paths; 0 on success, -1 when the path is no resource path. */
int srv_route_parse(const char *path, srv_route_t *r);
void srv_route_free(srv_route_t *r);

/* A list continue token carrying the revision and the last key: opaque to
 * clients, strictly checked when it comes back (EINVAL → 400). */
char *srv_continue_encode(int64_t rev, const char *after);
int srv_continue_decode(const char *tok, int64_t *rev, char **after, berr_t *err);

/* True when an Accept header asks for a meta.k8s.io Table. */
bool srv_accept_table(const char *accept);

/* DATA/admin.kubeconfig: the server on 127.0.0.1:port, trusted through the
 * CA (base64 of its PEM), the admin token. */
char *srv_kubeconfig(int port, const char *ca_b64, const char *token);

/* kubectl's short age: "42s", "5m", "3h", "12d", "2y" (Kubernetes'
 * duration.HumanDuration, coarsened). d is in nanoseconds. */
char *srv_human_age(int64_t d);

#endif
