/* agent.h — `berth agent`: one node of a cluster. It joins the API server,
 * registers the node, heartbeats, runs the pods bound to it (pod.h) and
 * serves their logs and exec to the API server.
 *
 * Joining (the contract with src/server/auth.c):
 *  1. The join token is "K10<sha256 hex of the CA PEM>::node:<secret>"
 *     (DATA/node-token of the server). The agent fetches GET /cacerts
 *     (public, TLS unverified) and accepts the CA only if its SHA-256
 *     matches the token: the token pins the cluster.
 *  2. POST /berth/v1/register with "Authorization: Bearer <join token>" and
 *     {"node":"NAME","password":"…","addresses":["IP",…]}: the password is
 *     the agent's own (random, DATA/password, 0600, made on first start);
 *     the server refuses (403) a name already registered with another
 *     password. The reply {"token","cert","key"} is the node's credential
 *     (a bearer token the server recognises as system:node:NAME) and a
 *     serving certificate for the agent's endpoint signed by the cluster CA
 *     (SANs: the addresses, the node name, 127.0.0.1). All kept in DATA.
 *  3. Everything after that uses the node credential; the server lets it
 *     write only its Node, its Lease (kube-node-lease/NAME), events, and the
 *     status of (and DELETE of) pods bound to it.
 *
 * The node: labels kubernetes.io/{arch,os,hostname} (plus --node-label),
 * capacity/allocatable cpu, memory, pods, ephemeral-storage, nodeInfo
 * (kernel, OS image, machine and boot id, runtime "berth://VERSION",
 * kubelet "v1.33.1-berth"), addresses, conditions (Ready and the pressure
 * ones), daemonEndpoints.kubeletEndpoint.Port. Status every 10 s or on
 * change; Lease renewed every 10 s (leaseDurationSeconds 40). Under memory
 * pressure (--eviction-hard) MemoryPressure is True, the node is tainted
 * node.kubernetes.io/memory-pressure:NoSchedule and pods are evicted, one
 * per housekeeping interval (agent_evict.c).
 *
 * The endpoint (HTTPS, --listen, default :10250), for the API server only
 * (bearer = the node credential):
 *   GET /containerLogs/NS/POD/CTR?follow=&tailLines=&previous=&timestamps=
 *   GET /exec/NS/POD/CTR?command=…&stdin=&stdout=&stderr=&tty= with
 *       WebSocket upgrade, subprotocol v5.channel.k8s.io
 *   GET /healthz */
#ifndef BERTH_AGENT_H
#define BERTH_AGENT_H

#include "base/base.h"

#define AGENT_DEFAULT_DATA_DIR "/var/lib/berth/agent"
#define AGENT_DEFAULT_LISTEN   "0.0.0.0:10250"

typedef struct agent_opts {
  const char *server;      /* "https://HOST:PORT" (required) */
  const char *token;       /* the join token (required) */
  const char *data_dir;    /* AGENT_DEFAULT_DATA_DIR */
  const char *engine_root; /* the engine's root: images and containers */
  const char *node_name;   /* NULL: the hostname, lower-cased */
  const char *node_ip;     /* NULL: the address of the default route's interface,
                              else 127.0.0.1 */
  const char *listen;      /* AGENT_DEFAULT_LISTEN */
  const char *pod_cidr;    /* NULL: PODNET_DEFAULT_CIDR */
  const char *bridge;      /* NULL: PODNET_DEFAULT_BRIDGE */
  char **labels;           /* extra node labels "k=v" */
  int64_t max_pods;        /* 0: 110 */
  int64_t backoff_base_ms; /* 0: 10 s (tests shorten it) */
  int64_t backoff_max_ms;  /* 0: 300 s */
  /* Memory-pressure eviction (agent_evict.c). */
  const char *eviction_hard; /* "memory.available<QTY" or "<N%"; NULL: <100Mi */
  int64_t memory_capacity;   /* bytes, the Node's capacity.memory; 0: MemTotal */
  int64_t housekeeping_ms;   /* how often memory is looked at; 0: 10 s */
  int64_t heartbeat_ms;      /* how often the Lease is renewed and the status looked at; 0: 10 s */
  int64_t status_report_ms;  /* the Node's status is sent at least this often; 0: 5 min */
} agent_opts_t;

typedef struct agent agent_t;

/* Joins, registers, starts heartbeats, the pod watch and the endpoint;
 * returns once the node is registered (the pods keep coming in the
 * background). */
int agent_start(const agent_opts_t *o, agent_t **out, berr_t *err);
/* Stops everything but the containers (they keep running, and are adopted
 * by the next start). */
void agent_stop(agent_t *a);
/* agent_start, then waits for SIGINT/SIGTERM, then agent_stop. */
int agent_run(const agent_opts_t *o, berr_t *err);

#endif
