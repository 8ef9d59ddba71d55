/* internal.h — what the server's files share: the per-process context and
 * the request/response helpers. Not for other modules (use server.h). */
#ifndef BERTH_SERVER_INTERNAL_H
#define BERTH_SERVER_INTERNAL_H

#include "server/server.h"
#include "store/store.h"

#include <stdatomic.h>

/* The one context of a server process: everything handlers need. */
typedef struct srv {
  store_t *store;
  char *admin_token;
  char *cert_pem, *key_pem; /* the serving certificate and key, for the TLS layer */
  atomic_bool stopping;
} srv_t;

/* ---- pki.c --------------------------------------------------------------- */
/* First start: CA, serving certificate, tokens. Every start: reads them and
 * (re)writes DATA/admin.kubeconfig for port. */
int srv_pki_prepare(srv_t *s, const char *data_dir, int port, berr_t *err);

/* ---- a response, before it becomes an MHD response (http.c) ------------- */
typedef struct srv_resp {
  int code;
  char *body; /* malloc'd; NULL = empty */
  size_t len;
  const char *content_type;
  /* For watch: a streaming response instead of body (watch.c). */
  struct srv_watch *watch;
} srv_resp_t;

typedef struct srv_req {
  srv_t *srv;
  const char *method, *path;
  const char *content_type, *accept;
  const char *body;
  size_t body_len;
  /* Query parameter lookup (URL-decoded), NULL when absent. */
  const char *(*query)(void *conn, const char *key);
  void *conn;
} srv_req_t;

/* Sets r to JSON j (stolen). */
void srv_resp_json(srv_resp_t *r, int code, json_t *j);
/* A metav1.Status failure; kind and name fill details when not NULL. */
void srv_resp_status(srv_resp_t *r, int code, const char *reason, const char *kind,
                     const char *name, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
json_t *srv_status_json(int code, const char *reason, const char *msg);

/* ---- resources.c ---------------------------------------------------------- */
typedef struct srv_kind {
  const char *resource; /* "configmaps" */
  const char *kind;     /* "ConfigMap" */
  const char *short_name;
  bool namespaced;
} srv_kind_t;

const srv_kind_t *srv_kind_find(const char *resource);
/* Everything under /api/v1/…; other paths are http.c's. */
void srv_handle_api(srv_req_t *q, srv_resp_t *r);
void srv_handle_discovery_v1(srv_req_t *q, srv_resp_t *r);
/* Creates the "default" namespace when missing. */
int srv_ensure_default_ns(srv_t *s, berr_t *err);
/* The stored JSON with metadata.resourceVersion set to rev. */
json_t *srv_obj_load(const char *value, size_t len, int64_t rev);
/* A Table of objs for k; defs: include columnDefinitions. */
json_t *srv_table(const srv_kind_t *k, json_t *objs, int64_t list_rev, bool defs);

/* ---- watch.c ----------------------------------------------------------- */
/* Starts a watch for a collection request (?watch=1); fills r. */
void srv_watch_start(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *prefix,
                     void *label_sel, void *field_sel, bool table);
/* MHD content reader and its cleanup (for http.c). */
ssize_t srv_watch_read(void *cls, uint64_t pos, char *buf, size_t max);
void srv_watch_free(void *cls);
/* The connection's socket, to notice a client that went away. */
void srv_watch_set_fd(struct srv_watch *w, int fd);

#endif
