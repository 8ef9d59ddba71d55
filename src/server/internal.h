/* internal.h — what the server's files share: the per-process context and
 * the request/response helpers. Not for other modules (use server.h). */
#ifndef BERTH_SERVER_INTERNAL_H
#define BERTH_SERVER_INTERNAL_H

#include "server/server.h"
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>

struct srv_gc;
struct srv_sched;
struct srv_ctrlmgr;
struct ctrl_config;

/* The one context of a server process: everything handlers need. */
typedef struct srv {
  store_t *store;
  char *data_dir;
  char *admin_token;
  char *node_token;            /* the join token (DATA/node-token) */
  char *node_secret;           /* the key node credentials are derived with (DATA/node-secret) */
  char *ca_pem, *ca_key_pem;   /* the cluster CA, to sign agents' serving certificates */
  char *cert_pem, *key_pem;    /* the serving certificate and key, for the TLS layer */
  struct srv_gc *gc;           /* the ownerReference garbage collector (gc.c) */
  struct srv_sched *sched;     /* the scheduler (schedule.c) */
  struct srv_ctrlmgr *ctrlmgr; /* the workload controllers (ctrlmgr.c) */
  int64_t pod_toleration_s;    /* default not-ready/unreachable tolerationSeconds of pods */
  atomic_bool stopping;
} srv_t;

/* Who sent a request (auth.c). */
typedef struct srv_ident {
  bool admin;     /* the admin token: may do anything */
  bool bootstrap; /* the join token: may only register a node */
  char *node;     /* a node credential: "n1" (system:node:n1), else NULL */
} srv_ident_t;

/* ---- pki.c --------------------------------------------------------------- */
/* First start: CA, serving certificate, tokens. Every start: reads them and
 * (re)writes DATA/admin.kubeconfig for port. */
int srv_pki_prepare(srv_t *s, const char *data_dir, int port, berr_t *err);
/* A new ECDSA P-256 key and a TLS server certificate for it signed by the
 * cluster CA (s->ca_pem, s->ca_key_pem): common name cn, DNS names dns and
 * IP addresses ips (NULL-terminated, either may be NULL), valid for days.
 * The server's own certificate and the agents' come from the same code. */
int srv_pki_issue(srv_t *s, const char *cn, char *const *dns, char *const *ips, int days,
                  char **cert_pem, char **key_pem, berr_t *err);

/* ---- a response, before it becomes an MHD response (http.c) ------------- */
typedef struct srv_resp {
  int code;
  char *body; /* malloc'd; NULL = empty */
  size_t len;
  const char *content_type;
  /* For watch: a streaming response instead of body (watch.c). */
  struct srv_watch *watch;
  /* A streaming body from another source (the log proxy): MHD's content
   * reader callback, its argument and its free function. */
  ssize_t (*stream_read)(void *cls, uint64_t pos, char *buf, size_t max);
  void (*stream_free)(void *cls);
  void *stream_cls;
  /* A protocol switch (exec's WebSocket): 101 with headers (NULL-terminated
   * "Name", "value" pairs, malloc'd) and a handler that owns the socket. */
  char **upgrade_headers;
  void (*upgrade)(void *cls, int fd);
  void *upgrade_cls;
  /* Warning headers to add ("299 - \"…\"", malloc'd strv) */
  char **warnings;
} srv_resp_t;

typedef struct srv_req {
  srv_t *srv;
  const char *method, *path;
  const char *content_type, *accept;
  const char *body;
  size_t body_len;
  /* Query parameter lookup (URL-decoded), NULL when absent. */
  const char *(*query)(void *conn, const char *key);
  /* Request header lookup, NULL when absent. */
  const char *(*header)(void *conn, const char *name);
  void *conn;
  const srv_ident_t *ident; /* who is asking (never NULL for API requests) */
} srv_req_t;

/* Sets r to JSON j (stolen). */
void srv_resp_json(srv_resp_t *r, int code, json_t *j);
/* A metav1.Status failure; kind and name fill details when not NULL. */
void srv_resp_status(srv_resp_t *r, int code, const char *reason, const char *kind,
                     const char *name, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
json_t *srv_status_json(int code, const char *reason, const char *msg);

/* ---- resources.c ---------------------------------------------------------- */
/* One Table column: its definition and how a row's cell is made. */
typedef struct srv_column {
  const char *name, *type, *format, *description;
  int priority; /* > 0: only with -o wide */
  /* The cell of object o (now: the current time, for ages). */
  json_t *(*cell)(json_t *o, int64_t now);
} srv_column_t;

struct api_errors;

/* One row per kind served: everything the generic handlers need. */
typedef struct srv_kind {
  const char *group;       /* "" (core) or "coordination.k8s.io" */
  const char *api_version; /* "v1", "coordination.k8s.io/v1" */
  const char *resource;    /* "configmaps" */
  const char *singular;    /* "configmap" */
  const char *kind;        /* "ConfigMap" */
  bool namespaced;
  const char *short_names[3]; /* NULL-terminated */
  const char *verbs[8];       /* NULL-terminated */
  /* Table columns, as kubectl get prints them. */
  const srv_column_t *columns;
  size_t n_columns;
  /* Kind-specific validation and defaults, after metadata; NULL: none. */
  void (*validate)(json_t *o, struct api_errors *errs);
  /* Checks an update against the stored object cur (after validate);
   * NULL: any change validate accepts. */
  void (*validate_update)(json_t *o, json_t *cur, struct api_errors *errs);
  /* Field selector fields beyond metadata.name/metadata.namespace
   * (NULL-terminated); list and watch refuse any other with 400. */
  const char *fields[12];
  /* Subresources served besides the object ("status", "binding", "log",
   * "exec", "eviction", "scale"; NULL-terminated). With "status", writes to
   * the object keep the stored status and writes to /status change only the
   * status. */
  const char *subresources[6];
  bool graceful;     /* pods: deletion waits for the node (deletionTimestamp) */
  bool name_label;   /* the name is a DNS-1123 label (namespaces), else a subdomain */
  bool spec_gen;     /* metadata.generation counts changes to spec */
  bool category_all; /* in discovery's "all" category (kubectl get all) */
  /* Create only, before validation: Kubernetes' PrepareForCreate (a status
   * that starts empty, a Job's generated selector). NULL: nothing. */
  void (*prepare_create)(json_t *o);
  /* Admission that reads the store, after validation and authorisation, on
   * create (cur NULL) and on update/patch of the object (not its
   * subresources): may change o, or refuse with r filled (false). */
  bool (*admit)(srv_t *s, srv_resp_t *r, json_t *o, json_t *cur);
} srv_kind_t;

/* The kind of resource in group ("" for core), or NULL. */
const srv_kind_t *srv_kind_find(const char *group, const char *resource);
/* Everything under /api/v1/… and /apis/GROUP/VERSION/…; other paths are
 * http.c's. */
void srv_handle_api(srv_req_t *q, srv_resp_t *r);
/* Discovery: /api/v1 (group_version "v1") or /apis/GROUP/VERSION; false
 * when no kind is served in group_version. */
bool srv_handle_discovery(srv_req_t *q, srv_resp_t *r, const char *group_version);
/* /apis: the APIGroupList of the groups served. */
void srv_handle_api_groups(srv_req_t *q, srv_resp_t *r);
/* Creates the "default" namespace when missing. */
int srv_ensure_default_ns(srv_t *s, berr_t *err);
/* Creates the built-in PriorityClasses (system-cluster-critical,
 * system-node-critical) when missing (kinds_policy.c). */
int srv_ensure_priority_classes(srv_t *s, berr_t *err);
/* Whether name is one of those built-in classes (they cannot be deleted). */
bool srv_priorityclass_is_system(const char *name);
/* "deployments.apps" for a kind of a named group, "pods" for core: how
 * Kubernetes names a resource in its messages. malloc'd. */
char *srv_kind_qualified(const srv_kind_t *k);
/* The stored JSON with metadata.resourceVersion set to rev. */
json_t *srv_obj_load(const char *value, size_t len, int64_t rev);
/* ---- rawjson.c: the stored bytes, without decoding ------------------------ */
/* The end of the JSON value starting at p (NULL when it runs past end). */
const char *srv_rj_skip(const char *p, const char *end);
/* Calls fn for each member of the object at p (key without quotes, the
 * value's bytes [vs, ve)); fn returning non-zero stops with that. -1 when
 * p is no object. */
typedef int (*srv_rj_member_fn)(void *arg, const char *key, size_t klen, const char *vs,
                                const char *ve);
int srv_rj_members(const char *p, const char *end, srv_rj_member_fn fn, void *arg);
/* The number of elements of the array at p (0 when it is no array). */
size_t srv_rj_array_len(const char *p, const char *end);
/* The value at a dotted path ("spec.nodeName") of the object at p: its
 * bytes [*vs, *ve); false when a step is missing or no object. */
bool srv_rj_path(const char *p, const char *end, const char *path, const char **vs,
                 const char **ve);
/* An object holding only the values at paths (decoded; missing ones
 * absent), in the same places: what a selector needs to look at. */
json_t *srv_rj_view(const char *value, size_t len, const char *const *paths, size_t n);

/* Appends the stored JSON with metadata.resourceVersion = rev spliced in,
 * without decoding it (LIST's fast path). */
void srv_obj_append(buf_t *out, const char *value, size_t len, int64_t rev);
/* A JSON reply of the stored object as srv_obj_append writes it: what a
 * write answers, without encoding the object again. */
void srv_resp_stored(srv_resp_t *r, int code, const char *value, size_t len, int64_t rev);
/* A Table of objs for k; defs: include columnDefinitions. */
json_t *srv_table(const srv_kind_t *k, json_t *objs, int64_t list_rev, bool defs);
/* ---- objects (resources.c, write.c): the pieces every verb shares --------- */
/* /registry/<resource>/[<ns>/]<name> (name NULL: the collection's prefix). */
char *srv_obj_key(const srv_kind_t *k, const char *ns, const char *name);
/* A random version-4 UUID. */
char *srv_uuid4(void);
/* The store's error (ENOENT, EEXIST, conflict, expired…) as a Status. */
void srv_store_error(srv_resp_t *r, const srv_kind_t *k, const char *name, berr_t *err);
/* 422 Invalid naming every field error. */
void srv_invalid(srv_resp_t *r, const srv_kind_t *k, const char *name, struct api_errors *errs);
/* The request body as a JSON object (protobuf or JSON); NULL with r filled. */
json_t *srv_decode_body(srv_req_t *q, srv_resp_t *r);
/* Checks and completes apiVersion, kind and namespace; returns the metadata. */
json_t *srv_prepare(json_t *o, const srv_kind_t *k, const char *ns, srv_resp_t *r);
/* Metadata validation, then the kind's own (which also sets defaults). */
void srv_validate(const srv_kind_t *k, json_t *o, struct api_errors *errs);
/* fieldValidation (Strict: 400 naming unknown fields; Warn, the default:
 * a Warning each; Ignore): unknown fields are dropped from o, as
 * Kubernetes' decoder drops them. false with r filled on Strict. */
bool srv_field_validation(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, json_t *o);
/* The stored object; -1 with r filled (404…). */
int srv_obj_get(srv_t *s, const srv_kind_t *k, const char *ns, const char *name, json_t **out,
                int64_t *rev, srv_resp_t *r);

/* ---- write.c: update, patch, status, binding, delete ----------------------- */
/* PUT (patch_type < 0) or PATCH of an object or of its status (sub). */
void srv_do_write(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                  const char *name, const char *sub);
/* GET, PUT and PATCH of deployments|replicasets/NAME/scale (scale.c). */
void srv_do_scale(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                  const char *name);
/* POST pods/NAME/eviction (evict.c). */
void srv_do_evict(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                  const char *name);
/* A PATCH request's body and its type (0 merge, 1 strategic merge, 2 JSON
 * patch) from its Content-Type; NULL with r filled (415, 400). */
json_t *srv_patch_body(srv_req_t *q, srv_resp_t *r, int *patch_type);
/* doc with patch of that type applied (kind: for strategic merge keys); NULL
 * with err set. */
json_t *srv_patch_apply(json_t *doc, json_t *patch, int patch_type, const char *kind, berr_t *err);
/* POST pods/NAME/binding. */
void srv_do_binding(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                    const char *name);
/* DELETE: graceful for pods, finalizers, preconditions, namespaces'
 * contents. */
void srv_do_delete(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                   const char *name);
/* Binds pod ns/name to node (the scheduler's and the binding subresource's
 * write): ECONFLICT-like EBUSY when it is bound already. */
int srv_bind_pod(srv_t *s, const char *ns, const char *name, const char *uid, const char *node,
                 berr_t *err);
/* Whether namespace ns is being deleted (Terminating); ENOENT when there
 * is no such namespace. */
int srv_ns_terminating(srv_t *s, const char *ns, bool *terminating, berr_t *err);
/* Deletes what a Terminating namespace still holds; removes the namespace
 * when nothing is left. */
int srv_ns_finalize(srv_t *s, const char *ns, berr_t *err);

/* ---- schedule.c: the scheduler ----------------------------------------------- */
/* Starts the scheduler (src/sched/ fed by store watches of nodes, pods and
 * PodDisruptionBudgets; a pool of workers writes bindings, statuses, events
 * and preemptions). */
int srv_sched_start(srv_t *s, sched_strategy_t strategy, berr_t *err);
void srv_sched_stop(srv_t *s);
/* GET /metrics: the scheduler's decision latency histogram and counters in
 * Prometheus' text format (http.c lets only the admin in). */
void srv_sched_metrics(srv_req_t *q, srv_resp_t *r);

/* ---- bgthread.c: a background thread and its stop signal ------------------ */
typedef struct srv_bg {
  pthread_t thread;
  int stop_fd; /* eventfd: readable once srv_bg_stop is called (poll it) */
} srv_bg_t;
/* Starts fn(arg); what names it in errors ("garbage collector"). */
int srv_bg_start(srv_bg_t *b, const char *what, void *(*fn)(void *), void *arg, berr_t *err);
/* Whether the thread was told to stop, waiting up to timeout_ms for it. */
bool srv_bg_stopped(srv_bg_t *b, int timeout_ms);
/* Tells the thread to stop and waits for it. */
void srv_bg_stop(srv_bg_t *b);

/* ---- ctrlmgr.c: the controllers of src/ctrl/ -------------------------------- */
int srv_ctrlmgr_start(srv_t *s, const struct ctrl_config *cfg, berr_t *err);
void srv_ctrlmgr_stop(srv_t *s);

/* Like json_string, taking ownership of a heap string. */
json_t *srv_str_own(char *s);
/* True when k serves subresource sub. */
bool srv_kind_has_sub(const srv_kind_t *k, const char *sub);

/* ---- watch.c ----------------------------------------------------------- */
/* Starts a watch for a collection request (?watch=1); fills r. */
void srv_watch_start(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *prefix,
                     void *label_sel, void *field_sel, bool table);
/* MHD content reader and its cleanup (for http.c). */
ssize_t srv_watch_read(void *cls, uint64_t pos, char *buf, size_t max);
void srv_watch_free(void *cls);
/* The connection's socket, to notice a client that went away. */
void srv_watch_set_fd(struct srv_watch *w, int fd);

/* ---- auth.c: who is asking ------------------------------------------------ */
/* Recognises the Authorization header: the admin token, the join token, or
 * a node credential. false (→ 401) for anything else. */
bool srv_authenticate(srv_t *s, const char *authorization, srv_ident_t *id);
void srv_ident_clear(srv_ident_t *id);
/* The bearer token of node (HMAC of the name under node_secret): what the
 * agent got at registration, and what the server shows the agent's
 * endpoint when it proxies logs and exec. */
char *srv_node_credential(srv_t *s, const char *node);
/* POST /berth/v1/register (join token only); agent.h has the contract. */
void srv_handle_register(srv_req_t *q, srv_resp_t *r);
/* GET /cacerts: the CA PEM (public: the join token pins it). */
void srv_handle_cacerts(srv_req_t *q, srv_resp_t *r);
/* Equality of two secrets that takes the same time whatever their content
 * (both are hashed first, so neither their common prefix nor the length of
 * the stored one shows). */
bool srv_secret_eq(const char *a, const char *b);
/* Lower-case hex SHA-256 of data (64 characters). */
char *srv_sha256_hex(const void *data, size_t len);
/* Splits a join token "K10<sha256 hex of the CA PEM>::node:<secret>" into
 * its CA hash and secret (either out may be NULL); EINVAL for any other
 * shape (the old bare-hex token among them). */
int srv_join_token_parse(const char *tok, char **ca_hash, char **secret, berr_t *err);

/* ---- authz.c: what they may do -------------------------------------------- */
/* Whether q->ident may do verb ("create", "update", "patch", "delete",
 * "get", "list", "watch") on k's object ns/name, subresource sub (or NULL).
 * cur is the stored object (NULL on create or when not loaded), obj the
 * object as it would be written (NULL for reads and deletes). false with r
 * filled (403 Forbidden, Kubernetes' words) when not. */
bool srv_authorize(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *verb,
                   const char *ns, const char *name, const char *sub, json_t *cur, json_t *obj);

/* ---- proxy.c: logs and exec, through the pod's agent ----------------------- */
/* GET pods/NAME/log: streams the agent's reply (r->stream_*). pod is the
 * stored pod (borrowed). */
void srv_proxy_log(srv_req_t *q, srv_resp_t *r, json_t *pod);
/* GET pods/NAME/exec with a WebSocket upgrade: relays the agent's 101 and
 * then bytes both ways (r->upgrade). Without an upgrade: 400. */
void srv_proxy_exec(srv_req_t *q, srv_resp_t *r, json_t *pod);
/* The head of an agent's reply, as the proxy reads it. */
typedef struct srv_http_head {
  int code;
  char *content_type;     /* or NULL */
  char *ws_protocol;      /* Sec-WebSocket-Protocol, or NULL */
  int64_t content_length; /* -1 when absent */
  bool chunked;           /* Transfer-Encoding: chunked */
} srv_http_head_t;
/* Parses buf[0..len) up to its blank line: the bytes the head takes (> 0),
 * 0 when it is not complete yet, -1 when it is no HTTP/1.x reply head. */
ssize_t srv_http_head_parse(const char *buf, size_t len, srv_http_head_t *h);
void srv_http_head_free(srv_http_head_t *h);
/* Decodes a chunked body in place, across calls: buf[0..n) in, the payload
 * bytes out at the start of buf (their count returned, <= n); -1 when the
 * framing is broken. *done is set after the last chunk. */
typedef struct srv_chunked {
  int state;
  uint64_t left;
  unsigned digits;
} srv_chunked_t;
ssize_t srv_chunked_decode(srv_chunked_t *c, char *buf, size_t n, bool *done);

/* ---- objects, for the server's own writers (gc.c) ---------------------- */
/* Every kind served (for i < n). */
const srv_kind_t *srv_kinds(size_t *n);
/* The kind stored under /registry/<resource>/… (resources are unique
 * across groups), or NULL. */
const srv_kind_t *srv_kind_by_resource(const char *resource);
/* Deletes an object as a DELETE request with propagationPolicy Background
 * would (pods bound to a node: gracefully; finalizers honoured). uid, when
 * not NULL, is a precondition: ESTALE when the object has another uid.
 * ENOENT when it is gone already. */
int srv_obj_delete(srv_t *s, const srv_kind_t *k, const char *ns, const char *name, const char *uid,
                   berr_t *err);
/* The same with a DeleteOptions-like choice: grace (-1: the object's own),
 * preconditions uid and rv (NULL: none; a mismatch is EPERM with
 * Kubernetes' "Precondition failed: …" message). */
int srv_obj_delete_opts(srv_t *s, const srv_kind_t *k, const char *ns, const char *name,
                        int64_t grace, const char *uid, const char *rv, berr_t *err);

/* ---- gc.c: ownerReferences ------------------------------------------------ */
/* Starts the garbage collector's thread: objects whose every owner
 * (ownerReferences[].uid) is gone are deleted (background propagation). */
int srv_gc_start(srv_t *s, berr_t *err);
void srv_gc_stop(srv_t *s);

#endif
