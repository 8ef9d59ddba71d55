/* client.h — the HTTPS client of everything in berth that talks to an API
 * server (the agent, the cluster CLI, the benchmarks) or to an agent (the
 * server's log and exec proxy). libcurl does HTTP and TLS; it is loaded with
 * dlopen() on first use (curl_dl.h) so that the commands that never talk to
 * a server keep their start time.
 *
 * A kc_t is one endpoint (URL, CA, bearer token) with one reusable curl
 * handle: keep-alive across calls, NOT thread-safe. A thread that needs its
 * own connection takes kc_clone(). */
#ifndef BERTH_NET_CLIENT_H
#define BERTH_NET_CLIENT_H

#include "base/base.h"

typedef struct kc kc_t;

/* Where and who: what a kubeconfig context comes down to. */
typedef struct kc_config {
  char *server;    /* "https://127.0.0.1:6443" (no trailing slash) */
  char *ca_pem;    /* the CA to verify the server with (PEM), or NULL: system CAs */
  char *token;     /* bearer token, or NULL */
  char *namespace; /* the context's namespace, or NULL ("default") */
  bool insecure;   /* insecure-skip-tls-verify */
} kc_config_t;

void kc_config_free(kc_config_t *c);

/* Loads a kubeconfig (YAML or JSON) and resolves its current context:
 * path when not NULL (--kubeconfig), else the first file of $KUBECONFIG
 * (colon-separated), else ~/.berth/config, else ~/.kube/config. Reads
 * certificate-authority-data (base64) or certificate-authority (a file,
 * relative to the kubeconfig), token or tokenFile, insecure-skip-tls-verify,
 * the context's namespace. ENOENT with "no kubeconfig: …" naming the places
 * looked at when there is none; client certificates are refused (EINVAL,
 * "client certificates are not supported; use a token"). */
int kc_config_load(const char *path, kc_config_t *out, berr_t *err);

/* A client for cfg (copied). Fails only on a malformed server URL. */
int kc_new(const kc_config_t *cfg, kc_t **out, berr_t *err);
/* A new client for the same endpoint (its own connection). */
kc_t *kc_clone(const kc_t *c);
void kc_free(kc_t *c);
/* Per-request timeout in ms for kc_do/kc_json (default 30000; 0 = none). */
void kc_set_timeout(kc_t *c, long ms);
const kc_config_t *kc_config(const kc_t *c);

typedef struct kc_resp {
  long code;          /* HTTP status */
  buf_t body;         /* the whole body (NUL-terminated when non-empty) */
  char *content_type; /* or NULL */
  char *warning;      /* the Warning header(s) joined by "\n", or NULL */
} kc_resp_t;

void kc_resp_free(kc_resp_t *r);

/* One request. path includes the query ("/api/v1/pods?limit=500"); body may
 * be NULL. accept/content_type NULL: application/json. Transport failures
 * (refused, TLS, timeout) are errors naming the server: "get
 * https://…/api/v1/pods: Connection refused" (ECONNREFUSED, ETIMEDOUT or
 * EPROTO); any HTTP status is a success with out->code set. */
int kc_do(kc_t *c, const char *method, const char *path, const char *content_type,
          const char *accept, const void *body, size_t len, kc_resp_t *out, berr_t *err);

/* kc_do for JSON: body (borrowed, may be NULL) is sent as content_type
 * (NULL: application/json). *out gets the parsed reply (NULL when the body
 * is empty or not JSON) and *code the status. */
int kc_json(kc_t *c, const char *method, const char *path, const char *content_type, json_t *body,
            long *code, json_t **out, berr_t *err);

/* The message of an error reply, as kubectl prints it: "Error from server
 * (NotFound): pods \"x\" not found" for a metav1.Status, else "the server
 * returned HTTP 502: <body start>". */
char *kc_status_message(long code, json_t *reply, const char *raw);

/* A streaming GET (watch, logs?follow=true): on_data gets each chunk of the
 * body as it arrives; returning < 0 from it ends the stream (not an error).
 * No overall timeout. *code gets the status; a non-2xx reply's body is
 * handed to on_data as well. */
int kc_stream(kc_t *c, const char *path, const char *accept,
              int (*on_data)(void *arg, const char *data, size_t len), void *arg, long *code,
              berr_t *err);

/* Splits a stream into lines for a watch: feed kc_stream's chunks in,
 * get each complete line (without "\n" or "\r\n", NUL-terminated) out.
 * on_line < 0 stops (what is still buffered is dropped); so does a line
 * above 64 MiB (kc_lines_feed returns -1). */
typedef struct kc_lines {
  buf_t pending;
  int (*on_line)(void *arg, const char *line, size_t len); /* < 0 stops */
  void *arg;
} kc_lines_t;
int kc_lines_feed(void *lines, const char *data, size_t len); /* an on_data for kc_stream */
void kc_lines_free(kc_lines_t *l);

/* ---- WebSocket (exec) ---------------------------------------------------- */

typedef struct kc_ws kc_ws_t;

/* Opens a WebSocket on path (GET with Upgrade, the bearer token, offering
 * subprotocol), checks the 101 reply (Sec-WebSocket-Accept, protocol). A
 * non-101 reply is EPROTO with *code set and kc_status_message() of its
 * body as the message ("Error from server (NotFound): …"). */
int kc_ws_open(kc_t *c, const char *path, const char *subprotocol, kc_ws_t **out, long *code,
               berr_t *err);
/* Sends one binary message (masked, as a client must). */
int kc_ws_send(kc_ws_t *w, const void *data, size_t len, berr_t *err);
/* Receives the next complete data message (pings answered, fragments
 * joined). Returns 1 with msg filled (its old content replaced), 0 when
 * the peer closed (Close frame or EOF), -1 on error. timeout_ms < 0 waits forever; on timeout
 * returns -1 with err->code ETIMEDOUT. */
int kc_ws_recv(kc_ws_t *w, buf_t *msg, int timeout_ms, berr_t *err);
/* The socket to poll() for readability (data may also be buffered: call
 * kc_ws_pending() first). */
int kc_ws_fd(kc_ws_t *w);
bool kc_ws_pending(kc_ws_t *w);
/* Sends a Close frame (status 1000), waits briefly for the peer's, frees. */
void kc_ws_close(kc_ws_t *w);

/* ---- raw relay (the server's exec proxy) --------------------------------- */

/* Opens a TLS connection to c's server, sends a raw HTTP/1.1 request head
 * (request line + headers, "\r\n\r\n"-terminated, written by the caller)
 * and hands back the connection for byte relaying: after this, kc_raw_recv
 * returns the reply exactly as the agent sent it (status line, headers,
 * frames). */
typedef struct kc_raw kc_raw_t;
int kc_raw_open(kc_t *c, const char *head, kc_raw_t **out, berr_t *err);
/* > 0 bytes read, 0 EOF, -1 error; waits up to timeout_ms (< 0: forever). */
ssize_t kc_raw_recv(kc_raw_t *r, void *buf, size_t len, int timeout_ms, berr_t *err);
int kc_raw_send(kc_raw_t *r, const void *buf, size_t len, berr_t *err);
/* The socket to poll() for readability (data may also be buffered: call
 * kc_raw_pending() first; true also when EOF is waiting to be reported). */
int kc_raw_fd(kc_raw_t *r);
bool kc_raw_pending(kc_raw_t *r);
void kc_raw_close(kc_raw_t *r);

#endif
