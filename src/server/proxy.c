/* proxy.c — `kubectl logs` and `kubectl exec`, relayed to the agent of the
 * pod's node: the pod gives the node and the container, the Node object the
 * agent's address (status.addresses InternalIP) and port
 * (status.daemonEndpoints.kubeletEndpoint.Port). The server dials it over TLS
 * with the cluster CA and shows the node's own credential
 * (srv_node_credential), so an agent serves the API server and nobody else.
 *
 * Both directions go through kc_raw (client.h): one TLS connection on which
 * this file writes the request head and reads the reply itself. That is what
 * exec needs (after the 101 the bytes are WebSocket frames, relayed as they
 * are, never decoded), and it also lets logs answer the client with the
 * agent's own status before the first byte of a follow stream: an agent's
 * error (a JSON Status) reaches kubectl with its code and message.
 *
 * Logs stream through MHD's content reader on the connection's thread; it
 * polls the agent and the client's socket together, so a client that goes
 * away closes the agent connection at once. Exec relays on the thread
 * http.c gives the upgraded socket. Both notice srv_t.stopping within a
 * second. */
#include "net/client.h"
#include "net/mhd_dl.h"
#include "net/ws.h"
#include "server/internal.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define PROXY_HEAD_MAX        (64 * 1024)
#define PROXY_ERROR_MAX       (1024 * 1024)
#define PROXY_REPLY_WAIT_MS   30000
#define PROXY_BUF             (64 * 1024)
#define PROXY_TICK_MS         1000
#define PROXY_CLIENT_WRITE_MS 30000
#define PROXY_DRAIN_MS        200
#define EXEC_PROTOCOL         "v5.channel.k8s.io"
#define EXEC_ONLY_WS                                                                               \
  "berth supports exec over WebSocket (v5.channel.k8s.io) only; kubectl 1.30+ uses it by default"

/* ---- reply heads and chunked bodies (pure, unit-tested) -------------------- */

static bool header_is(const char *line, size_t len, const char *name, const char **value,
                      size_t *vlen)
{
  size_t nl = strlen(name);
  if (len <= nl || strncasecmp(line, name, nl) || line[nl] != ':')
    return false;
  const char *v = line + nl + 1, *e = line + len;
  while (v < e && (*v == ' ' || *v == '\t'))
    v++;
  while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
    e--;
  *value = v;
  *vlen = (size_t)(e - v);
  return true;
}

ssize_t srv_http_head_parse(const char *buf, size_t len, srv_http_head_t *h)
{
  memset(h, 0, sizeof *h);
  h->content_length = -1;
  const char *end = memmem(buf, len, "\r\n\r\n", 4);
  if (!end)
    return len > PROXY_HEAD_MAX ? -1 : 0;
  /* "HTTP/1.1 200 OK" */
  if (end - buf < 12 || strncmp(buf, "HTTP/1.", 7) || buf[8] != ' ')
    return -1;
  const char *c = buf + 9;
  for (int i = 0; i < 3; i++)
    if (c[i] < '0' || c[i] > '9')
      return -1;
  if (c[3] != ' ' && c[3] != '\r')
    return -1;
  h->code = (c[0] - '0') * 100 + (c[1] - '0') * 10 + (c[2] - '0');
  if (h->code < 100)
    return -1;
  const char *p = memchr(buf, '\n', (size_t)(end - buf)) + 1;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end + 2 - p));
    size_t ll = (size_t)(eol - p);
    const char *v;
    size_t vl;
    if (header_is(p, ll, "Content-Type", &v, &vl)) {
      free(h->content_type);
      h->content_type = xstrndup(v, vl);
    } else if (header_is(p, ll, "Sec-WebSocket-Protocol", &v, &vl)) {
      free(h->ws_protocol);
      h->ws_protocol = xstrndup(v, vl);
    } else if (header_is(p, ll, "Content-Length", &v, &vl)) {
      cleanup_free char *s = xstrndup(v, vl);
      if (parse_int64(s, &h->content_length, NULL) < 0 || h->content_length < 0) {
        srv_http_head_free(h);
        return -1;
      }
    } else if (header_is(p, ll, "Transfer-Encoding", &v, &vl)) {
      cleanup_free char *s = xstrndup(v, vl);
      h->chunked = strcasestr(s, "chunked") != NULL;
    }
    p = eol + 1;
  }
  return end + 4 - buf;
}

void srv_http_head_free(srv_http_head_t *h)
{
  free(h->content_type);
  free(h->ws_protocol);
  memset(h, 0, sizeof *h);
  h->content_length = -1;
}

enum {
  CH_SIZE,       /* hex digits of a chunk's size */
  CH_EXT,        /* after the size: extensions up to LF */
  CH_DATA,       /* the chunk's bytes */
  CH_DATA_CR,    /* the CRLF after them */
  CH_DATA_LF,    /* its LF */
  CH_TRAILER,    /* after the last chunk: start of a trailer line or the end */
  CH_TRAILER_LF, /* the LF of the final blank line */
  CH_TRAILER_LN, /* inside a trailer line */
  CH_DONE,
};

static int hexval(char c)
{
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

ssize_t srv_chunked_decode(srv_chunked_t *c, char *buf, size_t n, bool *done)
{
  size_t w = 0;
  for (size_t i = 0; i < n && c->state != CH_DONE; i++) {
    char ch = buf[i];
    int v;
    switch (c->state) {
    case CH_SIZE:
      if ((v = hexval(ch)) >= 0) {
        if (c->digits++ >= 15)
          return -1; /* 2^60 bytes: a broken peer */
        c->left = c->left * 16 + (uint64_t)v;
        break;
      }
      if (c->digits == 0 || (ch != ';' && ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n'))
        return -1;
      c->state = CH_EXT;
      /* A LF right after the digits ends the size line. */
      __attribute__((fallthrough));
    case CH_EXT:
      if (ch != '\n')
        break;
      c->digits = 0;
      c->state = c->left ? CH_DATA : CH_TRAILER;
      break;
    case CH_DATA: {
      size_t k = n - i;
      if (k > c->left)
        k = (size_t)c->left;
      memmove(buf + w, buf + i, k);
      w += k;
      i += k - 1;
      c->left -= k;
      if (c->left == 0)
        c->state = CH_DATA_CR;
      break;
    }
    case CH_DATA_CR:
      if (ch == '\r')
        c->state = CH_DATA_LF;
      else if (ch == '\n')
        c->state = CH_SIZE;
      else
        return -1;
      break;
    case CH_DATA_LF:
      if (ch != '\n')
        return -1;
      c->state = CH_SIZE;
      break;
    case CH_TRAILER:
      c->state = ch == '\r' ? CH_TRAILER_LF : ch == '\n' ? CH_DONE : CH_TRAILER_LN;
      break;
    case CH_TRAILER_LF:
      if (ch != '\n')
        return -1;
      c->state = CH_DONE;
      break;
    case CH_TRAILER_LN:
      if (ch == '\n')
        c->state = CH_TRAILER;
      break;
    }
  }
  *done = c->state == CH_DONE;
  return (ssize_t)w;
}

/* ---- where the pod runs ---------------------------------------------------- */

typedef struct target {
  const char *ns, *pod, *node;
  char *ctr;
  char *server; /* https://IP:PORT of the node's agent */
} target_t;

static void target_free(target_t *t)
{
  free(t->ctr);
  free(t->server);
}

static bool has_container(json_t *spec, const char *list, const char *name)
{
  json_t *c;
  size_t i;
  json_array_foreach(json_object_get(spec, list), i, c)
  {
    const char *n = json_str(c, "name");
    if (n && !strcmp(n, name))
      return true;
  }
  return false;
}

/* The agent's https://IP:PORT from the Node object; NULL with r filled. */
static char *node_server(srv_t *s, const char *node, srv_resp_t *r)
{
  cleanup_free char *key = xasprintf("/registry/nodes/%s", node);
  store_kv_t kv = { 0 };
  berr_t err = BERR_INIT;
  if (store_get(s->store, key, &kv, NULL, &err) < 0) {
    if (err.code == ENOENT)
      srv_resp_status(r, 404, "NotFound", "nodes", node, "nodes \"%s\" not found", node);
    else
      srv_resp_status(r, 500, "InternalError", NULL, NULL, "%s", err.msg);
    berr_clear(&err);
    return NULL;
  }
  cleanup_json json_t *o = json_loadb(kv.value, kv.len, 0, NULL);
  store_kv_free(&kv);
  json_t *st = json_object_get(o, "status"), *a;
  const char *ip = NULL;
  size_t i;
  json_array_foreach(json_object_get(st, "addresses"), i, a)
  {
    const char *type = json_str(a, "type"), *addr = json_str(a, "address");
    if (addr && *addr && type && !strcmp(type, "InternalIP")) {
      ip = addr;
      break;
    }
  }
  int64_t port = json_int(
      json_object_get(json_object_get(st, "daemonEndpoints"), "kubeletEndpoint"), "Port", 0);
  if (!ip || strpbrk(ip, "/?#@ ") || port < 1 || port > 65535) {
    srv_resp_status(r, 503, "ServiceUnavailable", NULL, NULL,
                    "node \"%s\" has no agent endpoint (InternalIP address and kubelet port)",
                    node);
    return NULL;
  }
  return strchr(ip, ':') ? xasprintf("https://[%s]:%d", ip, (int)port)
                         : xasprintf("https://%s:%d", ip, (int)port);
}

/* Resolves the pod's node, container and agent; false with r filled. */
static bool pod_target(srv_req_t *q, srv_resp_t *r, json_t *pod, target_t *t)
{
  memset(t, 0, sizeof *t);
  json_t *meta = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
  t->ns = json_str(meta, "namespace");
  t->pod = json_str(meta, "name");
  t->node = json_str(spec, "nodeName");
  if (!t->ns || !t->pod) {
    srv_resp_status(r, 500, "InternalError", NULL, NULL, "the stored pod has no name");
    return false;
  }
  const char *want = q->query(q->conn, "container");
  if (want && *want) {
    if (!has_container(spec, "containers", want) && !has_container(spec, "initContainers", want)
        && !has_container(spec, "ephemeralContainers", want)) {
      srv_resp_status(r, 400, "BadRequest", NULL, NULL,
                      "container \"%s\" is not valid for pod \"%s\"", want, t->pod);
      return false;
    }
    t->ctr = xstrdup(want);
  } else {
    const char *first = json_str(json_array_get(json_object_get(spec, "containers"), 0), "name");
    if (!first) {
      srv_resp_status(r, 400, "BadRequest", NULL, NULL,
                      "a container name must be specified for pod %s", t->pod);
      return false;
    }
    t->ctr = xstrdup(first);
  }
  if (!t->node || !*t->node) {
    srv_resp_status(r, 400, "BadRequest", NULL, NULL, "pod \"%s\" does not have a host assigned",
                    t->pod);
    return false;
  }
  t->server = node_server(q->srv, t->node, r);
  return t->server != NULL;
}

/* ---- talking to the agent ---------------------------------------------------- */

/* Everything but RFC 3986's unreserved characters, percent-encoded. */
static void url_escape(buf_t *b, const char *s)
{
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
        || strchr("-._~", *p))
      buf_append(b, p, 1);
    else
      buf_printf(b, "%%%02X", *p);
  }
}

typedef struct query_copy {
  buf_t *b;
  const char *const *keys;
} query_copy_t;

static enum MHD_Result copy_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
  query_copy_t *qc = cls;
  for (const char *const *k = qc->keys; *k; k++) {
    if (strcmp(key, *k))
      continue;
    buf_puts(qc->b, qc->b->data[qc->b->len - 1] == '?' ? "" : "&");
    url_escape(qc->b, key);
    buf_puts(qc->b, "=");
    url_escape(qc->b, value ? value : "");
  }
  return MHD_YES;
}

/* "/<what>/NS/POD/CTR?" + the client's parameters among keys, in their order
 * (exec's command=… repeats). */
static char *agent_path(srv_req_t *q, const char *what, const target_t *t, const char *const *keys)
{
  buf_t b = { 0 };
  buf_printf(&b, "/%s/", what);
  url_escape(&b, t->ns);
  buf_puts(&b, "/");
  url_escape(&b, t->pod);
  buf_puts(&b, "/");
  url_escape(&b, t->ctr);
  buf_puts(&b, "?");
  query_copy_t qc = { &b, keys };
  MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, copy_arg, &qc);
  if (b.data[b.len - 1] == '?')
    b.data[--b.len] = '\0';
  return buf_steal(&b);
}

/* One agent connection: the request sent, the reply head read. */
typedef struct agent_conn {
  srv_t *srv;
  kc_t *kc;
  kc_raw_t *raw;
  srv_http_head_t head;
  buf_t early; /* bytes after the head that came with it */
  size_t early_off;
  int client_sock; /* exec: the client's TCP socket (MHD's), to notice it going away */
  char *server;
} agent_conn_t;

static void agent_conn_free(agent_conn_t *a)
{
  kc_raw_close(a->raw);
  kc_free(a->kc);
  srv_http_head_free(&a->head);
  buf_free(&a->early);
  free(a->server);
  free(a);
}

/* Dials t's agent, sends the request (GET path plus extra header lines) and
 * reads the reply head; NULL with r filled (500, "error dialing backend")
 * when that fails. */
static agent_conn_t *agent_request(srv_req_t *q, srv_resp_t *r, const target_t *t, const char *path,
                                   const char *extra)
{
  cleanup_free char *cred = srv_node_credential(q->srv, t->node);
  kc_config_t cfg = { .server = t->server, .ca_pem = q->srv->ca_pem, .token = cred };
  agent_conn_t *a = xcalloc(1, sizeof *a);
  a->srv = q->srv;
  a->server = xstrdup(t->server);
  a->head.content_length = -1;
  a->client_sock = -1;
  berr_t err = BERR_INIT;
  const char *hostport = t->server + strlen("https://");
  cleanup_free char *head = xasprintf("GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                                      "User-Agent: berth-server\r\n%s\r\n",
                                      path, hostport, cred ? cred : "", extra);
  if (!cred || kc_new(&cfg, &a->kc, &err) < 0 || kc_raw_open(a->kc, head, &a->raw, &err) < 0)
    goto fail;
  int64_t deadline = time_mono_ns() + (int64_t)PROXY_REPLY_WAIT_MS * 1000000;
  for (;;) {
    ssize_t hl = srv_http_head_parse(a->early.data ? a->early.data : "", a->early.len, &a->head);
    if (hl > 0) {
      a->early_off = (size_t)hl;
      return a;
    }
    if (hl < 0) {
      berr_setc(&err, EPROTO, "%s: not an HTTP reply", t->server);
      goto fail;
    }
    int left = (int)((deadline - time_mono_ns()) / 1000000);
    char buf[16 * 1024];
    ssize_t n = left > 0 ? kc_raw_recv(a->raw, buf, sizeof buf, left, &err)
                         : berr_setc(&err, ETIMEDOUT, "%s: no reply", t->server);
    if (n == 0)
      berr_setc(&err, ECONNRESET, "%s: connection closed before the reply", t->server);
    if (n <= 0)
      goto fail;
    buf_append(&a->early, buf, (size_t)n);
  }
fail:
  log_warn("msg=\"proxy: cannot reach the agent\" node=%s server=%s err=\"%s\"", t->node, t->server,
           err.msg ? err.msg : "no credential");
  srv_resp_status(r, 500, "InternalError", NULL, NULL, "error dialing backend: %s",
                  err.msg ? err.msg : "no node credential");
  berr_clear(&err);
  agent_conn_free(a);
  return NULL;
}

/* Passes a non-success reply through: the agent's code, type and body (read
 * whole, up to PROXY_ERROR_MAX, until its length, last chunk or EOF). */
static void pass_through(agent_conn_t *a, srv_resp_t *r)
{
  buf_t body = { 0 };
  srv_chunked_t ch = { 0 };
  bool done = false;
  char buf[16 * 1024];
  size_t n = a->early.len - a->early_off;
  if (n > sizeof buf)
    n = sizeof buf;
  memcpy(buf, a->early.data + a->early_off, n);
  a->early_off += n;
  int64_t deadline = time_mono_ns() + (int64_t)PROXY_REPLY_WAIT_MS * 1000000;
  berr_t err = BERR_INIT;
  for (;;) {
    if (a->head.chunked) {
      ssize_t k = srv_chunked_decode(&ch, buf, n, &done);
      if (k < 0)
        break;
      n = (size_t)k;
    }
    buf_append(&body, buf, n);
    if (done || body.len >= PROXY_ERROR_MAX
        || (a->head.content_length >= 0 && body.len >= (size_t)a->head.content_length))
      break;
    if (a->early_off < a->early.len) {
      n = a->early.len - a->early_off;
      if (n > sizeof buf)
        n = sizeof buf;
      memcpy(buf, a->early.data + a->early_off, n);
      a->early_off += n;
      continue;
    }
    int left = (int)((deadline - time_mono_ns()) / 1000000);
    ssize_t got = left > 0 ? kc_raw_recv(a->raw, buf, sizeof buf, left, &err) : -1;
    if (got <= 0)
      break;
    n = (size_t)got;
  }
  berr_clear(&err);
  if (a->head.content_length >= 0 && body.len > (size_t)a->head.content_length)
    body.len = (size_t)a->head.content_length;
  if (body.len > PROXY_ERROR_MAX)
    body.len = PROXY_ERROR_MAX;
  r->code = a->head.code;
  r->len = body.len;
  r->body = body.len ? buf_steal(&body) : NULL;
  buf_free(&body);
  /* The type must outlive this call: JSON and text are all an agent sends. */
  const char *ct = a->head.content_type;
  r->content_type = ct && str_has_prefix(ct, "application/json") ? "application/json"
                                                                 : "text/plain; charset=utf-8";
}

/* ---- logs -------------------------------------------------------------------- */

typedef struct log_stream {
  agent_conn_t *a;
  srv_chunked_t ch;
  int64_t left; /* of a Content-Length body, else -1 */
  int sock;     /* the client's socket, to notice it going away */
  bool done;
} log_stream_t;

static void log_stream_free(void *cls)
{
  log_stream_t *l = cls;
  agent_conn_free(l->a);
  free(l);
}

/* Next raw bytes of the body into buf: > 0, 0 at EOF (or the server
 * stopping: the log ends as if the agent had closed), -1 error, -2 when the
 * client went away. */
static ssize_t log_fill(log_stream_t *l, char *buf, size_t max)
{
  agent_conn_t *a = l->a;
  if (a->early_off < a->early.len) {
    size_t n = a->early.len - a->early_off;
    if (n > max)
      n = max;
    memcpy(buf, a->early.data + a->early_off, n);
    a->early_off += n;
    return (ssize_t)n;
  }
  for (;;) {
    if (atomic_load(&a->srv->stopping))
      return 0;
    berr_t err = BERR_INIT;
    if (kc_raw_pending(a->raw)) {
      ssize_t n = kc_raw_recv(a->raw, buf, max, 0, &err);
      berr_clear(&err);
      return n;
    }
    struct pollfd p[2]
        = { { .fd = kc_raw_fd(a->raw), .events = POLLIN }, { .fd = l->sock, .events = POLLRDHUP } };
    int rc = poll(p, l->sock >= 0 ? 2 : 1, PROXY_TICK_MS);
    if (rc > 0 && l->sock >= 0 && (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)))
      return -2;
    if (rc <= 0 || !p[0].revents)
      continue;
    ssize_t n = kc_raw_recv(a->raw, buf, max, 0, &err);
    int code = err.code;
    berr_clear(&err);
    if (n < 0 && code == ETIMEDOUT)
      continue; /* only TLS records without data */
    return n;
  }
}

static ssize_t log_read(void *cls, uint64_t pos, char *buf, size_t max)
{
  log_stream_t *l = cls;
  (void)pos;
  for (;;) {
    if (l->done || l->left == 0)
      return MHD_CONTENT_READER_END_OF_STREAM;
    size_t want = max;
    if (l->left > 0 && (uint64_t)l->left < want)
      want = (size_t)l->left;
    ssize_t n = log_fill(l, buf, want);
    if (n == 0)
      return MHD_CONTENT_READER_END_OF_STREAM; /* the agent closed: the log is over */
    if (n < 0)
      return MHD_CONTENT_READER_END_WITH_ERROR;
    if (l->a->head.chunked) {
      n = srv_chunked_decode(&l->ch, buf, (size_t)n, &l->done);
      if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (l->left > 0)
      l->left -= n;
    if (n > 0)
      return n;
  }
}

void srv_proxy_log(srv_req_t *q, srv_resp_t *r, json_t *pod)
{
  target_t t;
  if (!pod_target(q, r, pod, &t))
    return target_free(&t);
  static const char *const keys[]
      = { "follow", "tailLines", "previous", "timestamps", "sinceSeconds", NULL };
  cleanup_free char *path = agent_path(q, "containerLogs", &t, keys);
  agent_conn_t *a = agent_request(q, r, &t, path, "Connection: close\r\n");
  target_free(&t);
  if (!a)
    return;
  if (a->head.code < 200 || a->head.code > 299) {
    pass_through(a, r);
    agent_conn_free(a);
    return;
  }
  log_stream_t *l = xcalloc(1, sizeof *l);
  l->a = a;
  l->left = a->head.chunked ? -1 : a->head.content_length;
  l->sock = -1;
  const union MHD_ConnectionInfo *ci
      = MHD_get_connection_info(q->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (ci)
    l->sock = ci->connect_fd;
  r->code = a->head.code;
  r->content_type = "text/plain";
  r->stream_read = log_read;
  r->stream_free = log_stream_free;
  r->stream_cls = l;
}

/* ---- exec ------------------------------------------------------------------ */

/* Whether a comma-separated header value lists token (case-insensitive). */
static bool lists_token(const char *v, const char *token)
{
  size_t tl = strlen(token);
  while (v && *v) {
    while (*v == ' ' || *v == '\t' || *v == ',')
      v++;
    size_t n = strcspn(v, ",");
    size_t m = n;
    while (m > 0 && (v[m - 1] == ' ' || v[m - 1] == '\t'))
      m--;
    if (m == tl && !strncasecmp(v, token, tl))
      return true;
    v += n;
  }
  return false;
}

/* Writes all of buf to the upgraded socket (non-blocking). */
static bool write_client(srv_t *s, int fd, const char *buf, size_t n)
{
  int64_t deadline = time_mono_ns() + (int64_t)PROXY_CLIENT_WRITE_MS * 1000000;
  while (n > 0) {
    ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
    if (w > 0) {
      buf += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return false;
    if (atomic_load(&s->stopping) || time_mono_ns() > deadline)
      return false;
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    poll(&p, 1, PROXY_TICK_MS);
  }
  return true;
}

/* The upgraded connection: bytes both ways until either side closes. */
/* The upgraded connection: bytes both ways until either side closes.
 *
 * libmicrohttpd does the TLS of an upgraded connection and hands fd, one end
 * of a socketpair; when the client goes away it stops forwarding but never
 * shuts that socketpair down. So the client's own TCP socket is watched too
 * (POLLRDHUP, as watch.c does): once it has hung up, whatever the client sent
 * before is still relayed until fd stays quiet for PROXY_DRAIN_MS. */
static void exec_relay(void *cls, int fd)
{
  agent_conn_t *a = cls;
  if (fd < 0)
    return agent_conn_free(a);
  char *buf = xmalloc(PROXY_BUF);
  uint64_t up = 0, down = 0;
  const char *why = "client closed";
  berr_t err = BERR_INIT;
  int64_t hung_up = 0; /* when the client's socket hung up, or 0 */
  /* Frames that came with the agent's 101. */
  down = a->early.len - a->early_off;
  if (!write_client(a->srv, fd, a->early.data + a->early_off, down)) {
    why = "client write failed";
    goto out;
  }
  for (;;) {
    if (atomic_load(&a->srv->stopping)) {
      why = "server stopping";
      break;
    }
    bool agent_ready = kc_raw_pending(a->raw), client_ready = false;
    if (!agent_ready) {
      struct pollfd p[3] = { { .fd = fd, .events = POLLIN },
                             { .fd = kc_raw_fd(a->raw), .events = POLLIN },
                             { .fd = hung_up ? -1 : a->client_sock, .events = POLLRDHUP } };
      int rc = poll(p, 3, hung_up ? PROXY_DRAIN_MS : PROXY_TICK_MS);
      if (rc > 0 && (p[2].revents & (POLLRDHUP | POLLHUP | POLLERR)))
        hung_up = time_mono_ns();
      if (hung_up && !p[0].revents && time_mono_ns() - hung_up >= PROXY_DRAIN_MS * 1000000LL) {
        why = "client hung up";
        break;
      }
      if (rc <= 0)
        continue;
      client_ready = p[0].revents != 0;
      agent_ready = p[1].revents != 0;
    }
    if (client_ready) {
      ssize_t n = recv(fd, buf, PROXY_BUF, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        break;
      if (n > 0 && kc_raw_send(a->raw, buf, (size_t)n, &err) < 0) {
        why = "agent write failed";
        break;
      }
      if (n > 0) {
        up += (uint64_t)n;
        if (hung_up)
          hung_up = time_mono_ns();
      }
    }
    if (agent_ready) {
      ssize_t n = kc_raw_recv(a->raw, buf, PROXY_BUF, 0, &err);
      if (n < 0 && err.code == ETIMEDOUT) {
        berr_clear(&err);
        continue;
      }
      if (n <= 0) {
        why = n == 0 ? "agent closed" : "agent read failed";
        break;
      }
      if (hung_up)
        continue; /* nobody to write to */
      if (!write_client(a->srv, fd, buf, (size_t)n)) {
        why = "client write failed";
        break;
      }
      down += (uint64_t)n;
    }
  }
out:
  log_debug("msg=\"exec: relay over\" server=%s why=\"%s\" err=\"%s\" to_agent=%llu "
            "to_client=%llu",
            a->server, why, err.msg ? err.msg : "", (unsigned long long)up,
            (unsigned long long)down);
  berr_clear(&err);
  free(buf);
  agent_conn_free(a);
}

void srv_proxy_exec(srv_req_t *q, srv_resp_t *r, json_t *pod)
{
  target_t t;
  if (!pod_target(q, r, pod, &t))
    return target_free(&t);
  /* After the pod's own checks: kubectl falls back to SPDY on any non-101,
   * and shows the reply to that second request. */
  const char *upg = q->header(q->conn, "Upgrade"), *key = q->header(q->conn, "Sec-WebSocket-Key");
  const char *proto = q->header(q->conn, "Sec-WebSocket-Protocol");
  if (!upg || !lists_token(upg, "websocket") || !key || !*key || !proto
      || !lists_token(proto, EXEC_PROTOCOL) || strpbrk(key, "\r\n")) {
    target_free(&t);
    return srv_resp_status(r, 400, "BadRequest", NULL, NULL, EXEC_ONLY_WS);
  }
  static const char *const keys[] = { "command", "stdin", "stdout", "stderr", "tty", NULL };
  cleanup_free char *path = agent_path(q, "exec", &t, keys);
  cleanup_free char *extra = xasprintf("Connection: Upgrade\r\nUpgrade: websocket\r\n"
                                       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n"
                                       "Sec-WebSocket-Protocol: " EXEC_PROTOCOL "\r\n",
                                       key);
  agent_conn_t *a = agent_request(q, r, &t, path, extra);
  target_free(&t);
  if (!a)
    return;
  if (a->head.code != 101) {
    pass_through(a, r);
    agent_conn_free(a);
    return;
  }
  cleanup_free char *accept = ws_accept_key(key);
  const char *hdrs[] = { "Upgrade",
                         "websocket",
                         "Connection",
                         "Upgrade",
                         "Sec-WebSocket-Accept",
                         accept,
                         "Sec-WebSocket-Protocol",
                         EXEC_PROTOCOL,
                         NULL };
  const union MHD_ConnectionInfo *ci
      = MHD_get_connection_info(q->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (ci)
    a->client_sock = ci->connect_fd;
  r->code = 101;
  r->upgrade_headers = strv_dup((char *const *)hdrs);
  r->upgrade = exec_relay;
  r->upgrade_cls = a;
}
