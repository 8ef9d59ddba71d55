/* client_ws.c — connections that leave HTTP behind: a WebSocket for exec
 * (kc_ws_*, framing from ws.c) and a raw TLS byte pipe for the server's exec
 * proxy (kc_raw_*). libcurl makes the TCP+TLS connection
 * (CURLOPT_CONNECT_ONLY); the request head and everything after it are
 * written and read here with curl_easy_send/curl_easy_recv.
 *
 * Reading always drains the TLS layer until it has nothing left
 * (CURLE_AGAIN) into our own buffer: GnuTLS may hold decrypted bytes that
 * poll() on the socket cannot see, and a caller polling kc_ws_fd would then
 * sleep on data already received. So "poll the fd, but first ask
 * *_pending()" is all a caller needs to know. */
#include "net/client_internal.h"
#include "net/ws.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The reply head of an upgrade, and the error body of a refused one. */
#define KC_MAX_HEAD   (64 * 1024)
#define KC_MAX_ERROR  (1024 * 1024)
#define KC_READ_CHUNK (64 * 1024)
/* Stop draining into the buffer past this; the caller consumes it first. */
#define KC_MAX_BUFFERED  (1024 * 1024)
#define KC_CLOSE_WAIT_MS 1000

typedef struct kc_conn {
  CURL *h;
  int fd;
  char *url;       /* for messages */
  long timeout_ms; /* for sends (0: none) */
  uint8_t *in;     /* received, not yet consumed: in[off..len) */
  size_t off, len, cap;
  bool eof;
} kc_conn_t;

static void conn_free(kc_conn_t *k)
{
  if (k->h)
    curl_easy_cleanup(k->h);
  free(k->in);
  free(k->url);
  *k = (kc_conn_t){ .fd = -1 };
}

static int64_t deadline_of(long timeout_ms)
{
  return timeout_ms < 0 ? -1 : time_mono_ns() + (int64_t)timeout_ms * 1000000;
}

/* Milliseconds left until deadline for poll(); -1 forever; 0 when past. */
static int left_ms(int64_t deadline)
{
  if (deadline < 0)
    return -1;
  int64_t ms = (deadline - time_mono_ns() + 999999) / 1000000;
  return ms <= 0 ? 0 : ms > 1000000000 ? 1000000000 : (int)ms;
}

/* Waits for fd to be ready for events; 0 ready, -1 timeout or error. */
static int conn_wait(kc_conn_t *k, short events, int64_t deadline, berr_t *err)
{
  for (;;) {
    struct pollfd p = { .fd = k->fd, .events = events };
    int r = poll(&p, 1, left_ms(deadline));
    if (r > 0)
      return 0;
    if (r == 0)
      return berr_setc(err, ETIMEDOUT, "%s: timed out", k->url);
    if (errno != EINTR)
      return berr_set(err, errno, "%s: poll", k->url);
  }
}

static int conn_send(kc_conn_t *k, const void *data, size_t n, berr_t *err)
{
  const char *p = data;
  int64_t deadline = deadline_of(k->timeout_ms > 0 ? k->timeout_ms : -1);
  while (n > 0) {
    size_t sent = 0;
    CURLcode rc = curl_easy_send(k->h, p, n, &sent);
    if (rc == CURLE_AGAIN) {
      if (conn_wait(k, POLLOUT, deadline, err) < 0)
        return -1;
      continue;
    }
    if (rc != CURLE_OK)
      return berr_setc(err, rc == CURLE_SEND_ERROR ? ECONNRESET : EPROTO, "%s: send: %s", k->url,
                       curl_easy_strerror(rc));
    p += sent;
    n -= sent;
  }
  return 0;
}

/* Reads what the connection has into k->in, waiting until deadline for the
 * first byte: 1 got bytes, 0 EOF, -1 error or timeout (ETIMEDOUT). */
static int conn_fill(kc_conn_t *k, int64_t deadline, berr_t *err)
{
  if (k->eof)
    return 0;
  bool got = false;
  for (;;) {
    if (k->off > 0 && k->off == k->len)
      k->off = k->len = 0;
    if (k->cap - k->len < KC_READ_CHUNK) {
      if (k->off > 0) {
        memmove(k->in, k->in + k->off, k->len - k->off);
        k->len -= k->off;
        k->off = 0;
      }
      if (k->cap - k->len < KC_READ_CHUNK) {
        /* Doubling: a 16 MiB message must not cost 256 reallocations. */
        k->cap = k->cap * 2 > k->len + KC_READ_CHUNK ? k->cap * 2 : k->len + 2 * KC_READ_CHUNK;
        k->in = xrealloc(k->in, k->cap);
      }
    }
    size_t n = 0;
    CURLcode rc = curl_easy_recv(k->h, k->in + k->len, k->cap - k->len, &n);
    if (rc == CURLE_OK && n == 0) {
      k->eof = true;
      return got ? 1 : 0;
    }
    if (rc == CURLE_OK) {
      k->len += n;
      got = true;
      if (k->len - k->off >= KC_MAX_BUFFERED)
        return 1;
      continue;
    }
    if (rc != CURLE_AGAIN)
      return berr_setc(err, rc == CURLE_RECV_ERROR ? ECONNRESET : EPROTO, "%s: receive: %s", k->url,
                       curl_easy_strerror(rc));
    if (got)
      return 1;
    /* Nothing yet (or only TLS records without data): wait for more. */
    if (conn_wait(k, POLLIN, deadline, err) < 0)
      return -1;
  }
}

/* A TCP+TLS connection to c's server, nothing sent yet. */
static int conn_open(kc_t *c, const char *path, kc_conn_t *k, berr_t *err)
{
  *k = (kc_conn_t){ .fd = -1, .timeout_ms = c->timeout_ms, .cap = 2 * KC_READ_CHUNK };
  k->in = xmalloc(k->cap);
  k->url = xasprintf("%s%s", c->cfg.server, path);
  if (!(k->h = curl_easy_init()))
    return berr_setc(err, ENOMEM, "cannot create a curl handle");
  char errbuf[CURL_ERROR_SIZE];
  if (kc_setup_handle(c, k->h, errbuf, err) < 0)
    return -1;
  curl_easy_setopt(k->h, CURLOPT_URL, c->cfg.server);
  curl_easy_setopt(k->h, CURLOPT_CONNECT_ONLY, 1L);
  if (c->timeout_ms > 0)
    curl_easy_setopt(k->h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
  CURLcode rc = curl_easy_perform(k->h);
  /* errbuf is on this stack: curl must not keep it past this call. */
  cleanup_free char *detail = xstrdup(errbuf);
  curl_easy_setopt(k->h, CURLOPT_ERRORBUFFER, NULL);
  if (rc != CURLE_OK)
    return kc_curl_fail(err, k->h, rc, detail, "GET", k->url);
  curl_socket_t s = CURL_SOCKET_BAD;
  if (curl_easy_getinfo(k->h, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK || s == CURL_SOCKET_BAD)
    return berr_setc(err, EIO, "%s: no socket after connecting", k->url);
  k->fd = (int)s;
  return 0;
}

/* ---- the reply head ------------------------------------------------------ */

/* The value of header name in head (status line + header lines, each ending
 * "\r\n"), without surrounding blanks; NULL when absent. */
static char *head_value(const char *head, size_t len, const char *name)
{
  size_t nl = strlen(name);
  const char *p = memchr(head, '\n', len), *end = head + len;
  while (p && ++p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *le = eol ? eol : end;
    if ((size_t)(le - p) > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
      const char *v = p + nl + 1;
      while (v < le && (*v == ' ' || *v == '\t'))
        v++;
      const char *ve = le;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
      return xstrndup(v, (size_t)(ve - v));
    }
    p = eol;
  }
  return NULL;
}

/* Reads until the head's "\r\n\r\n"; *head_len covers it. */
static int read_head(kc_conn_t *k, int64_t deadline, size_t *head_len, berr_t *err)
{
  size_t scanned = 0;
  for (;;) {
    const uint8_t *b = k->in + k->off;
    size_t n = k->len - k->off;
    size_t from = scanned > 3 ? scanned - 3 : 0;
    const uint8_t *e = n > from ? memmem(b + from, n - from, "\r\n\r\n", 4) : NULL;
    if (e) {
      *head_len = (size_t)(e - b) + 4;
      return 0;
    }
    scanned = n;
    if (n > KC_MAX_HEAD)
      return berr_setc(err, EPROTO, "%s: reply head larger than %d bytes", k->url, KC_MAX_HEAD);
    int r = conn_fill(k, deadline, err);
    if (r < 0)
      return -1;
    if (r == 0)
      return berr_setc(err, ECONNRESET, "%s: connection closed before the reply", k->url);
  }
}

/* The status of "HTTP/1.1 101 Switching Protocols", or -1. */
static long head_status(const char *head)
{
  if (strncmp(head, "HTTP/1.", 7) || !head[7] || head[8] != ' ')
    return -1;
  const char *s = head + 9;
  if (s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9'
      || (s[3] != ' ' && s[3] != '\r'))
    return -1;
  return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

/* Decodes a chunked body in place; false when it is not complete yet. */
static bool dechunk(char *b, size_t n, size_t *out_len)
{
  size_t r = 0, w = 0;
  for (;;) {
    const char *eol = memmem(b + r, n - r, "\r\n", 2);
    if (!eol)
      return false;
    char *end = NULL;
    unsigned long sz = strtoul(b + r, &end, 16);
    if (end == b + r || sz > KC_MAX_ERROR)
      return false;
    r = (size_t)(eol - b) + 2;
    if (sz == 0) {
      *out_len = w;
      return true;
    }
    if (n - r < sz + 2)
      return false;
    memmove(b + w, b + r, sz);
    w += sz;
    r += sz + 2;
  }
}

/* The body of a non-101 reply, for its error message (best effort: up to
 * KC_MAX_ERROR bytes, or what came before the deadline or EOF). */
static char *read_error_body(kc_conn_t *k, const char *head, size_t hl, int64_t deadline)
{
  cleanup_free char *cl = head_value(head, hl, "Content-Length");
  cleanup_free char *te = head_value(head, hl, "Transfer-Encoding");
  bool chunked = te && strcasestr(te, "chunked");
  size_t want = KC_MAX_ERROR;
  if (cl && !chunked) {
    int64_t v;
    if (parse_int64(cl, &v, NULL) == 0 && v >= 0 && v < KC_MAX_ERROR)
      want = (size_t)v;
  }
  berr_t ignore = BERR_INIT;
  while (k->len - k->off < want) {
    if (chunked && memmem(k->in + k->off, k->len - k->off, "0\r\n\r\n", 5))
      break;
    if (conn_fill(k, deadline, &ignore) <= 0)
      break;
  }
  berr_clear(&ignore);
  size_t n = k->len - k->off;
  if (n > want)
    n = want;
  char *body = xstrndup((const char *)k->in + k->off, n);
  size_t dl;
  if (chunked && dechunk(body, n, &dl))
    body[dl] = '\0';
  return body;
}

/* ---- raw ------------------------------------------------------------------ */

struct kc_raw {
  kc_conn_t k;
};

int kc_raw_open(kc_t *c, const char *head, kc_raw_t **out, berr_t *err)
{
  /* The path of the request line, for messages. */
  const char *sp = strchr(head, ' ');
  size_t pl = sp ? strcspn(sp + 1, " \r\n") : 0;
  cleanup_free char *path = sp ? xstrndup(sp + 1, pl) : xstrdup("");
  kc_raw_t *r = xcalloc(1, sizeof *r);
  if (conn_open(c, path, &r->k, err) < 0 || conn_send(&r->k, head, strlen(head), err) < 0) {
    kc_raw_close(r);
    return -1;
  }
  *out = r;
  return 0;
}

ssize_t kc_raw_recv(kc_raw_t *r, void *buf, size_t len, int timeout_ms, berr_t *err)
{
  kc_conn_t *k = &r->k;
  if (k->off == k->len) {
    int got = conn_fill(k, deadline_of(timeout_ms), err);
    if (got <= 0)
      return got;
  }
  size_t n = k->len - k->off;
  if (n > len)
    n = len;
  memcpy(buf, k->in + k->off, n);
  k->off += n;
  return (ssize_t)n;
}

int kc_raw_send(kc_raw_t *r, const void *buf, size_t len, berr_t *err)
{
  return conn_send(&r->k, buf, len, err);
}

int kc_raw_fd(kc_raw_t *r)
{
  return r->k.fd;
}

bool kc_raw_pending(kc_raw_t *r)
{
  return r->k.off < r->k.len || r->k.eof;
}

void kc_raw_close(kc_raw_t *r)
{
  if (!r)
    return;
  conn_free(&r->k);
  free(r);
}

/* ---- WebSocket ------------------------------------------------------------ */

struct kc_ws {
  kc_conn_t k;
  buf_t out;       /* frames being encoded */
  buf_t frag;      /* a fragmented message being joined */
  int frag_op;     /* its opcode, 0 when none */
  bool sent_close; /* our Close went out */
  bool got_close;  /* the peer's Close (or EOF) came in */
};

int kc_ws_open(kc_t *c, const char *path, const char *subprotocol, kc_ws_t **out, long *code,
               berr_t *err)
{
  if (code)
    *code = 0;
  if (!path || path[0] != '/' || strpbrk(path, " \r\n"))
    return berr_setc(err, EINVAL, "websocket: invalid path \"%s\"", path ? path : "");
  if (subprotocol && strpbrk(subprotocol, "\r\n"))
    return berr_setc(err, EINVAL, "websocket: invalid subprotocol");
  kc_ws_t *w = xcalloc(1, sizeof *w);
  kc_conn_t *k = &w->k;
  int ret = -1;
  cleanup_free char *key = ws_new_key();
  cleanup_free char *head = NULL, *upgrade = NULL, *connection = NULL, *accept = NULL,
                    *proto = NULL, *want = NULL;
  if (conn_open(c, path, k, err) < 0)
    goto out;
  buf_t req = { 0 };
  buf_printf(&req,
             "GET %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: berth\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
             c->prefix, path, c->hostport, key);
  if (subprotocol)
    buf_printf(&req, "Sec-WebSocket-Protocol: %s\r\n", subprotocol);
  if (c->cfg.token)
    buf_printf(&req, "Authorization: Bearer %s\r\n", c->cfg.token);
  buf_puts(&req, "\r\n");
  int sent = conn_send(k, req.data, req.len, err);
  buf_free(&req);
  if (sent < 0)
    goto out;

  int64_t deadline = deadline_of(c->timeout_ms > 0 ? c->timeout_ms : -1);
  size_t hl = 0;
  if (read_head(k, deadline, &hl, err) < 0)
    goto out;
  head = xstrndup((const char *)k->in + k->off, hl);
  k->off += hl;
  long status = head_status(head);
  if (status < 0) {
    berr_setc(err, EPROTO, "%s: not an HTTP reply", k->url);
    goto out;
  }
  if (code)
    *code = status;
  if (status != 101) {
    cleanup_free char *body = read_error_body(k, head, hl, deadline);
    cleanup_json json_t *j = json_loads(body, 0, NULL);
    cleanup_free char *msg = kc_status_message(status, j, body);
    berr_setc(err, EPROTO, "%s", msg);
    goto out;
  }
  upgrade = head_value(head, hl, "Upgrade");
  connection = head_value(head, hl, "Connection");
  accept = head_value(head, hl, "Sec-WebSocket-Accept");
  proto = head_value(head, hl, "Sec-WebSocket-Protocol");
  want = ws_accept_key(key);
  if (!upgrade || strcasecmp(upgrade, "websocket") || !connection
      || !strcasestr(connection, "upgrade")) {
    berr_setc(err, EPROTO, "%s: the 101 reply does not switch to WebSocket", k->url);
    goto out;
  }
  if (!accept || strcmp(accept, want)) {
    berr_setc(err, EPROTO, "%s: wrong Sec-WebSocket-Accept \"%s\"", k->url, accept ? accept : "");
    goto out;
  }
  if (subprotocol ? !proto || strcmp(proto, subprotocol) : proto != NULL) {
    berr_setc(err, EPROTO, "%s: the server chose subprotocol \"%s\" (offered \"%s\")", k->url,
              proto ? proto : "", subprotocol ? subprotocol : "");
    goto out;
  }
  log_debug("msg=\"websocket open\" url=%s protocol=%s", k->url, proto ? proto : "");
  *out = steal_ptr(w);
  ret = 0;
out:
  if (w) {
    conn_free(&w->k);
    free(w);
  }
  return ret;
}

static int ws_send_frame(kc_ws_t *w, int op, const void *data, size_t len, berr_t *err)
{
  w->out.len = 0;
  ws_frame_append(&w->out, op, data, len, true);
  return conn_send(&w->k, w->out.data, w->out.len, err);
}

int kc_ws_send(kc_ws_t *w, const void *data, size_t len, berr_t *err)
{
  if (w->sent_close)
    return berr_setc(err, EPIPE, "%s: websocket already closed", w->k.url);
  if (len > WS_MAX_MESSAGE)
    return berr_setc(err, EMSGSIZE, "%s: websocket message of %zu bytes (at most %d)", w->k.url,
                     len, WS_MAX_MESSAGE);
  return ws_send_frame(w, WS_OP_BINARY, data, len, err);
}

/* Handles one parsed frame: 1 a message is complete in msg, 0 the peer
 * closed, 2 keep reading, -1 error. */
static int ws_on_frame(kc_ws_t *w, const ws_frame_t *f, buf_t *msg, berr_t *err)
{
  switch (f->opcode) {
  case WS_OP_PING:
    return ws_send_frame(w, WS_OP_PONG, f->data, f->len, err) < 0 ? -1 : 2;
  case WS_OP_PONG:
    return 2;
  case WS_OP_CLOSE:
    w->got_close = true;
    if (!w->sent_close) {
      /* Echo the status code, as RFC 6455 5.5.1 asks. */
      w->sent_close = true;
      berr_t ignore = BERR_INIT;
      ws_send_frame(w, WS_OP_CLOSE, f->data, f->len >= 2 ? 2 : 0, &ignore);
      berr_clear(&ignore);
    }
    return 0;
  case WS_OP_CONT:
    if (!w->frag_op)
      return berr_setc(err, EPROTO, "%s: websocket continuation without a message", w->k.url);
    if (w->frag.len + f->len > WS_MAX_MESSAGE)
      return berr_setc(err, EPROTO, "%s: websocket message above %d bytes", w->k.url,
                       WS_MAX_MESSAGE);
    buf_append(&w->frag, f->data, f->len);
    if (!f->fin)
      return 2;
    msg->len = 0;
    buf_append(msg, w->frag.data, w->frag.len);
    w->frag.len = 0;
    w->frag_op = 0;
    return 1;
  default: /* text, binary */
    if (w->frag_op)
      return berr_setc(err, EPROTO, "%s: websocket message inside a fragmented one", w->k.url);
    if (!f->fin) {
      w->frag_op = f->opcode;
      w->frag.len = 0;
      buf_append(&w->frag, f->data, f->len);
      return 2;
    }
    msg->len = 0;
    buf_append(msg, f->data, f->len);
    return 1;
  }
}

int kc_ws_recv(kc_ws_t *w, buf_t *msg, int timeout_ms, berr_t *err)
{
  kc_conn_t *k = &w->k;
  if (w->got_close)
    return 0;
  int64_t deadline = deadline_of(timeout_ms);
  for (;;) {
    ws_frame_t f;
    ssize_t used = ws_frame_parse(k->in + k->off, k->len - k->off, false, &f, err);
    if (used < 0) {
      w->got_close = true;
      return berr_wrap(err, "%s", k->url);
    }
    if (used > 0) {
      k->off += (size_t)used;
      int r = ws_on_frame(w, &f, msg, err);
      if (r != 2)
        return r < 0 ? -1 : r;
      continue;
    }
    int got = conn_fill(k, deadline, err);
    if (got < 0) {
      if (err && err->code == ETIMEDOUT)
        berr_setc(err, ETIMEDOUT, "%s: no websocket message in %d ms", k->url, timeout_ms);
      return -1;
    }
    if (got == 0) {
      w->got_close = true;
      return 0;
    }
  }
}

int kc_ws_fd(kc_ws_t *w)
{
  return w->k.fd;
}

bool kc_ws_pending(kc_ws_t *w)
{
  kc_conn_t *k = &w->k;
  if (k->eof || w->got_close)
    return true;
  /* A whole frame (or a broken one) is waiting; frames from a server are
   * not masked, so parsing leaves the buffer as it is. */
  ws_frame_t f;
  berr_t ignore = BERR_INIT;
  ssize_t r = ws_frame_parse(k->in + k->off, k->len - k->off, false, &f, &ignore);
  berr_clear(&ignore);
  return r != 0;
}

void kc_ws_close(kc_ws_t *w)
{
  if (!w)
    return;
  berr_t ignore = BERR_INIT;
  if (!w->sent_close) {
    static const uint8_t normal[2] = { 0x03, 0xe8 }; /* 1000 */
    w->sent_close = true;
    if (ws_send_frame(w, WS_OP_CLOSE, normal, sizeof normal, &ignore) < 0)
      w->got_close = true; /* the peer is gone: do not wait for its Close */
  }
  /* Wait briefly for the peer's Close, dropping any data still coming. */
  int64_t deadline = deadline_of(KC_CLOSE_WAIT_MS);
  buf_t drop = { 0 };
  while (!w->got_close) {
    int left = left_ms(deadline);
    if (left == 0 || kc_ws_recv(w, &drop, left, &ignore) <= 0)
      break;
  }
  buf_free(&drop);
  berr_clear(&ignore);
  conn_free(&w->k);
  buf_free(&w->out);
  buf_free(&w->frag);
  free(w);
}
