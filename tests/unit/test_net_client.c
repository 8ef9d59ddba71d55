/* test_net_client.c — the HTTPS client (src/net/client*.c, kubeconfig.c)
 * against a small libmicrohttpd TLS server in this file (self-signed
 * certificate made with GnuTLS) on loopback that echoes requests, sends
 * Warning headers, large and streamed bodies, error replies, and speaks
 * WebSocket with ws.c's framing (echoing in fragments after a ping, closing
 * on "bye"). The client against the real `berth server` is in test_net_client_berth.c,
 * the parts without a server in test_net_kubeconfig.c. */
#include "api/api.h"
#include "net/client.h"
#include "net/mhd_dl.h"
#include "net/ws.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_net_util.h"

/* ---- helpers ------------------------------------------------------------- */

/* A JSON kubeconfig (JSON is YAML) for server with ca_pem and token. */
static char *kubeconfig_json(const char *server, const char *ca_pem, const char *token)
{
  json_t *cluster = json_pack("{s:s}", "server", server);
  if (ca_pem) {
    char *b64 = api_base64_encode((const unsigned char *)ca_pem, strlen(ca_pem));
    json_object_set_new(cluster, "certificate-authority-data", json_string(b64));
    free(b64);
  }
  json_t *kc = json_pack("{s:s, s:s, s:[{s:s, s:o}], s:[{s:s, s:{s:s}}], s:[{s:s, s:{s:s, s:s}}],"
                         " s:s}",
                         "apiVersion", "v1", "kind", "Config", "clusters", "name", "c", "cluster",
                         cluster, "users", "name", "u", "user", "token", token, "contexts", "name",
                         "x", "context", "cluster", "c", "user", "u", "current-context", "x");
  cr_assert_not_null(kc);
  char *s = json_dumps(kc, JSON_INDENT(2));
  json_decref(kc);
  return s;
}

static kc_t *client_for(const char *dir, const char *kubeconfig_text)
{
  write_file(dir, "kubeconfig", kubeconfig_text);
  char *p = path_join(dir, "kubeconfig");
  kc_config_t cfg;
  berr_t err = BERR_INIT;
  cr_assert_eq(kc_config_load(p, &cfg, &err), 0, "%s", err.msg);
  kc_t *c = NULL;
  cr_assert_eq(kc_new(&cfg, &c, &err), 0, "%s", err.msg);
  kc_config_free(&cfg);
  free(p);
  return c;
}

/* ---- the test server ------------------------------------------------------ */

typedef struct tsrv {
  struct MHD_Daemon *d;
  int port;
  char *cert, *key, *dir;
  atomic_int pongs;         /* pongs carrying our ping's payload */
  atomic_int close_1000;    /* Close frames from the client with status 1000 */
  atomic_int client_closes; /* Close frames from the client */
  atomic_bool stopping;
  pthread_mutex_t mu;
  pthread_t threads[16];
  int nthreads;
} tsrv_t;

static tsrv_t ts;

typedef struct req {
  buf_t body;
} req_t;

enum { WS_ECHO, WS_HOSTILE, WS_GREET };

typedef struct wsconn {
  int mode; /* WS_ECHO, or first a hostile frame, or first a greeting */
  int fd;
  struct MHD_UpgradeResponseHandle *urh;
} wsconn_t;

static void write_all(int fd, const void *p, size_t n)
{
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w <= 0)
      return;
    c += w;
    n -= (size_t)w;
  }
}

static void ws_send(int fd, int op, const void *p, size_t n, bool fin)
{
  buf_t b = { 0 };
  ws_frame_append(&b, op, p, n, false);
  if (!fin)
    b.data[0] &= 0x7f;
  write_all(fd, b.data, b.len);
  buf_free(&b);
}

/* The server side of a WebSocket: see the file comment. */
static void *ws_echo(void *arg)
{
  wsconn_t *c = arg;
  int fl = fcntl(c->fd, F_GETFL);
  fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
  buf_t in = { 0 };
  buf_append(&in, "", 0);
  size_t off = 0;
  bool done = false;
  if (c->mode == WS_HOSTILE)
    write_all(c->fd, "\xc2\x01x", 3); /* RSV1: no extension was agreed */
  else if (c->mode == WS_GREET)
    ws_send(c->fd, WS_OP_TEXT, "greetings", 9, true);
  while (!done) {
    ws_frame_t f;
    ssize_t used;
    while (!done
           && (used = ws_frame_parse((uint8_t *)in.data + off, in.len - off, true, &f, NULL)) > 0) {
      off += (size_t)used;
      if (f.opcode == WS_OP_PONG) {
        if (f.len == 2 && !memcmp(f.data, "hb", 2))
          atomic_fetch_add(&ts.pongs, 1);
      } else if (f.opcode == WS_OP_CLOSE) {
        if (f.len == 2 && !memcmp(f.data, "\x03\xe8", 2))
          atomic_fetch_add(&ts.close_1000, 1);
        atomic_fetch_add(&ts.client_closes, 1);
        ws_send(c->fd, WS_OP_CLOSE, f.data, f.len >= 2 ? 2 : 0, true);
        done = true;
      } else if (f.len == 3 && !memcmp(f.data, "bye", 3)) {
        ws_send(c->fd, WS_OP_CLOSE, "\x03\xe8", 2, true);
      } else if (f.len == 3 && !memcmp(f.data, "big", 3)) {
        size_t n = 70000;
        char *big = xmalloc(n);
        for (size_t i = 0; i < n; i++)
          big[i] = (char)('a' + i % 26);
        ws_send(c->fd, WS_OP_BINARY, big, n, true);
        free(big);
      } else {
        ws_send(c->fd, WS_OP_PING, "hb", 2, true);
        if (f.len < 2) {
          ws_send(c->fd, WS_OP_BINARY, f.data, f.len, true);
        } else {
          ws_send(c->fd, WS_OP_BINARY, f.data, f.len / 2, false);
          ws_send(c->fd, WS_OP_CONT, f.data + f.len / 2, f.len - f.len / 2, true);
        }
      }
    }
    if (done || used < 0)
      break;
    /* libmicrohttpd 0.9.75 does not pass a TLS client's EOF on to the
     * upgraded socket: a client gone without a Close frame leaves this read
     * waiting forever, so look at the stop flag now and then. */
    struct pollfd pf = { .fd = c->fd, .events = POLLIN };
    if (poll(&pf, 1, 100) == 0) {
      if (atomic_load(&ts.stopping))
        break;
      continue;
    }
    char tmp[16384];
    ssize_t n = read(c->fd, tmp, sizeof tmp);
    if (n <= 0)
      break;
    buf_append(&in, tmp, (size_t)n);
  }
  buf_free(&in);
  MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
  free(c);
  return NULL;
}

/* MHD forwards TLS only after this returns: the echo runs on a thread. */
static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra,
                       size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
  wsconn_t *c = xcalloc(1, sizeof *c);
  c->mode = (int)(intptr_t)cls;
  c->fd = sock;
  c->urh = urh;
  pthread_mutex_lock(&ts.mu);
  if (ts.nthreads < (int)ARRAY_SIZE(ts.threads)
      && pthread_create(&ts.threads[ts.nthreads], NULL, ws_echo, c) == 0) {
    ts.nthreads++;
  } else {
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    free(c);
  }
  pthread_mutex_unlock(&ts.mu);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *ct,
                             const char *body, size_t len)
{
  struct MHD_Response *r
      = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (ct)
    MHD_add_response_header(r, "Content-Type", ct);
  enum MHD_Result ret = MHD_queue_response(conn, code, r);
  MHD_destroy_response(r);
  return ret;
}

static const char stream_text[] = "line 1\nline 2\r\nline 3\n\nline 5\n";

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
  size_t total = sizeof stream_text - 1;
  if (pos >= total)
    return MHD_CONTENT_READER_END_OF_STREAM;
  /* Small pieces, cut inside lines, each its own chunk. */
  usleep(2000);
  size_t n = total - pos < 4 ? total - pos : 4;
  if (n > max)
    n = max;
  memcpy(buf, stream_text + pos, n);
  return (ssize_t)n;
}

static const char *hdr(struct MHD_Connection *conn, const char *name)
{
  return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result on_ws(struct MHD_Connection *conn, const char *url)
{
  const char *key = hdr(conn, "Sec-WebSocket-Key");
  const char *up = hdr(conn, "Upgrade");
  const char *proto = hdr(conn, "Sec-WebSocket-Protocol");
  const char *auth = hdr(conn, "Authorization");
  if (!key || !up || strcasecmp(up, "websocket") || !auth || strcmp(auth, "Bearer t0k"))
    return reply(conn, 400, "text/plain", "bad upgrade", 11);
  int mode = !strcmp(url, "/ws-hostile") ? WS_HOSTILE : !strcmp(url, "/ws-greet") ? WS_GREET : 0;
  struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgrade, (void *)(intptr_t)mode);
  char *accept = ws_accept_key(key);
  MHD_add_response_header(r, "Upgrade", "websocket");
  MHD_add_response_header(r, "Sec-WebSocket-Accept", strcmp(url, "/ws-bad") ? accept : "bad=");
  if (proto && strcmp(url, "/ws-noproto"))
    MHD_add_response_header(r, "Sec-WebSocket-Protocol", proto);
  free(accept);
  enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_len, void **con_cls)
{
  req_t *q = *con_cls;
  if (!q) {
    *con_cls = xcalloc(1, sizeof *q);
    return MHD_YES;
  }
  if (*upload_len > 0) {
    buf_append(&q->body, upload, *upload_len);
    *upload_len = 0;
    return MHD_YES;
  }
  if (str_has_prefix(url, "/ws"))
    return on_ws(conn, url);
  if (!strcmp(url, "/echo")) {
    const union MHD_ConnectionInfo *ci
        = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    int peer = ci ? ntohs(((struct sockaddr_in *)ci->client_addr)->sin_port) : 0;
    const char *ct = hdr(conn, "Content-Type"), *auth = hdr(conn, "Authorization");
    json_t *j = json_pack("{s:s, s:s?, s:s?, s:s?, s:s%, s:i}", "method", method, "ct", ct, "auth",
                          auth, "accept", hdr(conn, "Accept"), "body",
                          q->body.data ? q->body.data : "", q->body.len, "peer", peer);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Warning", "299 - \"first\"");
    MHD_add_response_header(r, "Warning", "299 - \"second\"");
    enum MHD_Result ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ret;
  }
  if (!strcmp(url, "/status404")) {
    const char *s = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                    "\"Failure\",\"message\":\"pods \\\"x\\\" not found\",\"reason\":\"NotFound\","
                    "\"code\":404}";
    return reply(conn, 404, "application/json", s, strlen(s));
  }
  if (!strcmp(url, "/text502"))
    return reply(conn, 502, "text/html", "bad gateway\n<html>", 18);
  if (!strcmp(url, "/big")) {
    size_t n = 3 * 1024 * 1024;
    char *b = xmalloc(n);
    memset(b, 'x', n);
    memcpy(b + n - 3, "end", 3);
    struct MHD_Response *r = MHD_create_response_from_buffer(n, b, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ret;
  }
  if (!strcmp(url, "/stream")) {
    struct MHD_Response *r
        = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64, stream_read, NULL, NULL);
    enum MHD_Result ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ret;
  }
  if (!strcmp(url, "/slow")) {
    usleep(1500 * 1000);
    return reply(conn, 200, "text/plain", "late", 4);
  }
  return reply(conn, 404, "text/plain", "no such test path", 17);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
  req_t *q = *con_cls;
  if (q) {
    buf_free(&q->body);
    free(q);
    *con_cls = NULL;
  }
}

static void tsrv_start(void)
{
  pthread_mutex_init(&ts.mu, NULL);
  make_cert(&ts.cert, &ts.key);
  ts.dir = tmpdir();
  int fd = listen_any(&ts.port);
  ts.d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD
                              | MHD_USE_TLS | MHD_ALLOW_UPGRADE,
                          0, NULL, NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                          MHD_OPTION_HTTPS_MEM_CERT, ts.cert, MHD_OPTION_HTTPS_MEM_KEY, ts.key,
                          MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
  cr_assert_not_null(ts.d);
}

static void tsrv_stop(void)
{
  atomic_store(&ts.stopping, true);
  for (int i = 0; i < ts.nthreads; i++)
    pthread_join(ts.threads[i], NULL);
  MHD_stop_daemon(ts.d);
  fs_rm_rf(ts.dir, NULL);
  free(ts.dir);
  free(ts.cert);
  free(ts.key);
  pthread_mutex_destroy(&ts.mu);
}

/* A client of the test server, through a kubeconfig. */
static kc_t *tclient(void)
{
  char *url = xasprintf("https://127.0.0.1:%d", ts.port);
  char *kc = kubeconfig_json(url, ts.cert, "t0k");
  kc_t *c = client_for(ts.dir, kc);
  free(kc);
  free(url);
  return c;
}

/* The counter once it reaches want (or after 5 s). */
static int wait_for(atomic_int *v, int want)
{
  for (int i = 0; i < 500 && atomic_load(v) < want; i++)
    usleep(10 * 1000);
  return atomic_load(v);
}

TestSuite(net_client_tls, .init = tsrv_start, .fini = tsrv_stop, .timeout = 60);

Test(net_client_tls, requests_and_keepalive)
{
  kc_t *c = tclient();
  berr_t err = BERR_INIT;
  kc_resp_t r;
  cr_assert_eq(kc_do(c, "GET", "/echo", NULL, NULL, NULL, 0, &r, &err), 0, "%s", err.msg);
  cr_expect_eq(r.code, 200);
  cr_expect_str_eq(r.content_type, "application/json");
  cr_expect_str_eq(r.warning, "299 - \"first\"\n299 - \"second\"");
  json_t *j = json_loads(r.body.data, 0, NULL);
  cr_expect_str_eq(json_str(j, "method"), "GET");
  cr_expect_str_eq(json_str(j, "auth"), "Bearer t0k");
  cr_expect_str_eq(json_str(j, "accept"), "application/json");
  cr_expect_null(json_str(j, "ct"));
  int64_t peer = json_int(j, "peer", -1);
  json_decref(j);
  kc_resp_free(&r);

  /* A body with its content type; the same connection (keep-alive). */
  const char *patch = "{\"a\":1}";
  cr_assert_eq(kc_do(c, "PATCH", "/echo", "application/merge-patch+json", "application/yaml", patch,
                     strlen(patch), &r, &err),
               0, "%s", err.msg);
  j = json_loads(r.body.data, 0, NULL);
  cr_expect_str_eq(json_str(j, "method"), "PATCH");
  cr_expect_str_eq(json_str(j, "ct"), "application/merge-patch+json");
  cr_expect_str_eq(json_str(j, "accept"), "application/yaml");
  cr_expect_str_eq(json_str(j, "body"), patch);
  cr_expect_eq(json_int(j, "peer", -2), peer, "a new connection for the second request");
  json_decref(j);
  kc_resp_free(&r);

  /* DELETE with no body after a request with one: nothing leaks over. */
  cr_assert_eq(kc_do(c, "DELETE", "/echo", NULL, NULL, NULL, 0, &r, &err), 0, "%s", err.msg);
  j = json_loads(r.body.data, 0, NULL);
  cr_expect_str_eq(json_str(j, "method"), "DELETE");
  cr_expect_str_eq(json_str(j, "body"), "");
  cr_expect_null(json_str(j, "ct"));
  json_decref(j);
  kc_resp_free(&r);

  /* kc_json: an empty POST, then a JSON one. */
  long code = 0;
  json_t *out = NULL;
  cr_assert_eq(kc_json(c, "POST", "/echo", NULL, NULL, &code, &out, &err), 0, "%s", err.msg);
  cr_expect_eq(code, 200);
  cr_expect_str_eq(json_str(out, "method"), "POST");
  cr_expect_str_eq(json_str(out, "body"), "");
  json_decref(out);
  json_t *in = json_pack("{s:s}", "k", "v");
  cr_assert_eq(kc_json(c, "PUT", "/echo", NULL, in, &code, &out, &err), 0, "%s", err.msg);
  cr_expect_str_eq(json_str(out, "body"), "{\"k\":\"v\"}");
  cr_expect_str_eq(json_str(out, "ct"), "application/json");
  json_decref(out);
  json_decref(in);

  /* A clone has its own connection. */
  kc_t *c2 = kc_clone(c);
  cr_assert_eq(kc_json(c2, "GET", "/echo", NULL, NULL, &code, &out, &err), 0, "%s", err.msg);
  cr_expect_neq(json_int(out, "peer", -2), peer);
  json_decref(out);
  kc_free(c2);
  kc_free(c);
}

Test(net_client_tls, error_replies_and_big_bodies)
{
  kc_t *c = tclient();
  berr_t err = BERR_INIT;
  long code = 0;
  json_t *out = NULL;
  cr_assert_eq(kc_json(c, "GET", "/status404", NULL, NULL, &code, &out, &err), 0);
  cr_expect_eq(code, 404);
  char *m = kc_status_message(code, out, NULL);
  cr_expect_str_eq(m, "Error from server (NotFound): pods \"x\" not found");
  free(m);
  json_decref(out);

  kc_resp_t r;
  cr_assert_eq(kc_do(c, "GET", "/text502", NULL, NULL, NULL, 0, &r, &err), 0);
  cr_expect_eq(r.code, 502);
  cr_assert_eq(kc_json(c, "GET", "/text502", NULL, NULL, &code, &out, &err), 0);
  cr_expect_null(out);
  m = kc_status_message(r.code, NULL, r.body.data);
  cr_expect_str_eq(m, "the server returned HTTP 502: bad gateway <html>");
  free(m);
  kc_resp_free(&r);

  cr_assert_eq(kc_do(c, "GET", "/big", NULL, NULL, NULL, 0, &r, &err), 0, "%s", err.msg);
  cr_expect_eq(r.body.len, 3 * 1024 * 1024);
  cr_expect_str_eq(r.body.data + r.body.len - 3, "end");
  kc_resp_free(&r);

  /* A request timeout names the URL. */
  kc_set_timeout(c, 300);
  cr_expect_lt(kc_do(c, "GET", "/slow", NULL, NULL, NULL, 0, &r, &err), 0);
  cr_expect_eq(err.code, ETIMEDOUT);
  char *want = xasprintf("get https://127.0.0.1:%d/slow: ", ts.port);
  cr_expect(err.msg && str_has_prefix(err.msg, want), "%s", err.msg);
  free(want);
  berr_clear(&err);
  kc_free(c);
}

typedef struct lines_seen {
  char *lines[16];
  int n, stop_after;
} lines_seen_t;

static int on_line(void *arg, const char *line, size_t len)
{
  lines_seen_t *s = arg;
  cr_assert_eq(strlen(line), len);
  if (s->n < 16)
    s->lines[s->n++] = xstrdup(line);
  return s->stop_after && s->n >= s->stop_after ? -1 : 0;
}

Test(net_client_tls, stream_lines)
{
  kc_t *c = tclient();
  berr_t err = BERR_INIT;
  lines_seen_t seen = { 0 };
  kc_lines_t l = { .on_line = on_line, .arg = &seen };
  long code = 0;
  cr_assert_eq(kc_stream(c, "/stream", NULL, kc_lines_feed, &l, &code, &err), 0, "%s", err.msg);
  cr_expect_eq(code, 200);
  const char *want[] = { "line 1", "line 2", "line 3", "", "line 5" };
  cr_assert_eq(seen.n, 5);
  for (int i = 0; i < 5; i++) {
    cr_expect_str_eq(seen.lines[i], want[i]);
    free(seen.lines[i]);
  }
  kc_lines_free(&l);

  /* on_data < 0 ends the stream early, and it is no error. */
  seen = (lines_seen_t){ .stop_after = 2 };
  l = (kc_lines_t){ .on_line = on_line, .arg = &seen };
  cr_assert_eq(kc_stream(c, "/stream", NULL, kc_lines_feed, &l, &code, &err), 0, "%s", err.msg);
  cr_expect_eq(seen.n, 2);
  for (int i = 0; i < seen.n; i++)
    free(seen.lines[i]);
  kc_lines_free(&l);

  /* The handle still works after an aborted transfer. */
  kc_resp_t r;
  cr_assert_eq(kc_do(c, "GET", "/echo", NULL, NULL, NULL, 0, &r, &err), 0, "%s", err.msg);
  cr_expect_eq(r.code, 200);
  kc_resp_free(&r);
  kc_free(c);
}

Test(net_client_tls, tls_verification)
{
  berr_t err = BERR_INIT;
  kc_resp_t r;
  char *url = xasprintf("https://127.0.0.1:%d", ts.port);
  /* Another CA: the handshake fails, EPROTO naming the URL. */
  char *other = NULL, *other_key = NULL;
  make_cert(&other, &other_key);
  char *text = kubeconfig_json(url, other, "t0k");
  kc_t *c = client_for(ts.dir, text);
  cr_expect_lt(kc_do(c, "GET", "/echo", NULL, NULL, NULL, 0, &r, &err), 0);
  cr_expect_eq(err.code, EPROTO, "%s", err.msg);
  char *want = xasprintf("get %s/echo: ", url);
  cr_expect(err.msg && str_has_prefix(err.msg, want), "%s", err.msg);
  berr_clear(&err);
  kc_free(c);
  free(text);

  /* No CA at all: the system's CAs do not know ours either. */
  text = kubeconfig_json(url, NULL, "t0k");
  c = client_for(ts.dir, text);
  cr_expect_lt(kc_do(c, "GET", "/echo", NULL, NULL, NULL, 0, &r, &err), 0);
  cr_expect_eq(err.code, EPROTO, "%s", err.msg);
  berr_clear(&err);
  kc_free(c);
  free(text);

  /* insecure-skip-tls-verify: anything goes. */
  kc_config_t cfg = { .server = url, .token = "t0k", .insecure = true };
  cr_assert_eq(kc_new(&cfg, &c, &err), 0);
  cr_assert_eq(kc_do(c, "GET", "/echo", NULL, NULL, NULL, 0, &r, &err), 0, "%s", err.msg);
  cr_expect_eq(r.code, 200);
  kc_resp_free(&r);
  kc_free(c);

  /* http:// to a TLS server is a protocol error, not a hang. */
  char *plain = xasprintf("http://127.0.0.1:%d", ts.port);
  cfg = (kc_config_t){ .server = plain };
  cr_assert_eq(kc_new(&cfg, &c, &err), 0);
  kc_set_timeout(c, 5000);
  cr_expect_lt(kc_do(c, "GET", "/echo", NULL, NULL, NULL, 0, &r, &err), 0);
  berr_clear(&err);
  kc_free(c);
  free(plain);
  free(other);
  free(other_key);
  free(want);
  free(url);
}

Test(net_client_tls, websocket_echo)
{
  kc_t *c = tclient();
  berr_t err = BERR_INIT;
  kc_ws_t *w = NULL;
  long code = 0;
  cr_assert_eq(kc_ws_open(c, "/ws", "v5.channel.k8s.io", &w, &code, &err), 0, "%s", err.msg);
  cr_expect_eq(code, 101);
  buf_t msg = { 0 };
  /* Each echo comes as a ping (answered) and two fragments (joined). */
  const char hello[] = "\x01hello, websocket";
  cr_assert_eq(kc_ws_send(w, hello, sizeof hello - 1, &err), 0, "%s", err.msg);
  cr_assert_eq(kc_ws_recv(w, &msg, 5000, &err), 1, "%s", err.msg);
  cr_expect_eq(msg.len, sizeof hello - 1);
  cr_expect_eq(memcmp(msg.data, hello, msg.len), 0);
  /* Every length form both ways. (libmicrohttpd 0.9.75 relays an upgraded
   * TLS connection 4 bytes at a time: big messages make this test slow.) */
  const size_t lens[] = { 1, 125, 126, 65535, 65536 };
  for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
    char *p = xmalloc(lens[i]);
    for (size_t k = 0; k < lens[i]; k++)
      p[k] = (char)(k * 13 + i);
    cr_assert_eq(kc_ws_send(w, p, lens[i], &err), 0, "%s", err.msg);
    cr_assert_eq(kc_ws_recv(w, &msg, 5000, &err), 1, "%s", err.msg);
    cr_expect_eq(msg.len, lens[i]);
    cr_expect_eq(memcmp(msg.data, p, lens[i]), 0, "len %zu", lens[i]);
    free(p);
  }
  cr_assert_eq(kc_ws_send(w, "big", 3, &err), 0);
  cr_assert_eq(kc_ws_recv(w, &msg, 5000, &err), 1, "%s", err.msg);
  cr_expect_eq(msg.len, 70000);
  cr_expect_eq(msg.data[69999], 'a' + 69999 % 26);

  /* Nothing coming: a timeout, and the socket says so too. */
  cr_expect_not(kc_ws_pending(w));
  cr_expect_eq(kc_ws_recv(w, &msg, 100, &err), -1);
  cr_expect_eq(err.code, ETIMEDOUT);
  berr_clear(&err);
  /* After a send, poll() wakes (or data is already pending). */
  cr_assert_eq(kc_ws_send(w, "poll", 4, &err), 0);
  struct pollfd p = { .fd = kc_ws_fd(w), .events = POLLIN };
  cr_expect(kc_ws_pending(w) || poll(&p, 1, 5000) == 1);
  cr_assert_eq(kc_ws_recv(w, &msg, 5000, &err), 1, "%s", err.msg);
  cr_expect_eq(msg.len, 4);

  /* The server closes: we echo its Close and report the end. */
  cr_assert_eq(kc_ws_send(w, "bye", 3, &err), 0);
  cr_expect_eq(kc_ws_recv(w, &msg, 5000, &err), 0, "%s", err.msg);
  cr_expect_eq(kc_ws_recv(w, &msg, 5000, &err), 0);
  kc_ws_close(w);
  buf_free(&msg);
  kc_free(c);
  cr_expect_eq(wait_for(&ts.close_1000, 1), 1, "our echo of the server's Close");
  cr_expect_eq(atomic_load(&ts.pongs), 1 + ARRAY_SIZE(lens) + 1);
}

Test(net_client_tls, websocket_client_close)
{
  kc_t *c = tclient();
  berr_t err = BERR_INIT;
  kc_ws_t *w = NULL;
  cr_assert_eq(kc_ws_open(c, "/ws", NULL, &w, NULL, &err), 0, "%s", err.msg);
  buf_t msg = { 0 };
  cr_assert_eq(kc_ws_send(w, "x", 1, &err), 0);
  cr_assert_eq(kc_ws_recv(w, &msg, 5000, &err), 1, "%s", err.msg);
  kc_ws_close(w);
  buf_free(&msg);
  kc_free(c);
  cr_expect_eq(wait_for(&ts.client_closes, 1), 1);
  cr_expect_eq(atomic_load(&ts.close_1000), 1);
}

Test(net_client_tls, websocket_refused)
{
  kc_t *c = tclient();
  berr_t err = BERR_INIT;
  kc_ws_t *w = NULL;
  long code = 0;
  cr_expect_lt(kc_ws_open(c, "/status404", "v5.channel.k8s.io", &w, &code, &err), 0);
  cr_expect_eq(code, 404);
  cr_expect_eq(err.code, EPROTO);
  cr_expect_str_eq(err.msg, "Error from server (NotFound): pods \"x\" not found");
  berr_clear(&err);
  cr_expect_lt(kc_ws_open(c, "/text502", NULL, &w, &code, &err), 0);
  cr_expect_eq(code, 502);
  cr_expect_str_eq(err.msg, "the server returned HTTP 502: bad gateway <html>");
  berr_clear(&err);
  cr_expect_lt(kc_ws_open(c, "/ws-bad", NULL, &w, &code, &err), 0);
  cr_expect_eq(code, 101);
  cr_expect(err.msg && strstr(err.msg, "Sec-WebSocket-Accept"), "%s", err.msg);
  berr_clear(&err);
  cr_expect_lt(kc_ws_open(c, "/ws-noproto", "v5.channel.k8s.io", &w, &code, &err), 0);
  cr_expect(err.msg && strstr(err.msg, "subprotocol"), "%s", err.msg);
  berr_clear(&err);
  kc_free(c);
}

Test(net_client_tls, websocket_server_first)
{
  kc_t *c = tclient();
  berr_t err = BERR_INIT;
  kc_ws_t *w = NULL;
  buf_t msg = { 0 };
  /* A message right behind the 101 (maybe in the same read as the head). */
  cr_assert_eq(kc_ws_open(c, "/ws-greet", NULL, &w, NULL, &err), 0, "%s", err.msg);
  cr_assert_eq(kc_ws_recv(w, &msg, 5000, &err), 1, "%s", err.msg);
  cr_expect_eq(msg.len, 9);
  cr_expect_str_eq(msg.data, "greetings");
  kc_ws_close(w);
  /* A frame breaking the protocol: an error, then the end. */
  cr_assert_eq(kc_ws_open(c, "/ws-hostile", NULL, &w, NULL, &err), 0, "%s", err.msg);
  cr_expect_eq(kc_ws_recv(w, &msg, 5000, &err), -1);
  cr_expect_eq(err.code, EPROTO);
  cr_expect(err.msg && strstr(err.msg, "reserved bits"), "%s", err.msg);
  berr_clear(&err);
  cr_expect(kc_ws_pending(w));
  cr_expect_eq(kc_ws_recv(w, &msg, 5000, &err), 0);
  kc_ws_close(w);
  buf_free(&msg);
  kc_free(c);
}

/* Reads r until EOF (or timeout) into out. */
static void raw_read_all(kc_raw_t *r, buf_t *out, const char *until)
{
  berr_t err = BERR_INIT;
  for (;;) {
    if (until && out->len && strstr(out->data, until))
      return;
    if (!kc_raw_pending(r)) {
      struct pollfd p = { .fd = kc_raw_fd(r), .events = POLLIN };
      cr_assert_eq(poll(&p, 1, 5000), 1);
    }
    char b[7]; /* small reads: the rest stays buffered */
    ssize_t n = kc_raw_recv(r, b, sizeof b, 5000, &err);
    cr_assert_geq(n, 0, "%s", err.msg);
    if (n == 0)
      return;
    buf_append(out, b, (size_t)n);
  }
}

Test(net_client_tls, raw_relay)
{
  kc_t *c = tclient();
  berr_t err = BERR_INIT;
  kc_raw_t *r = NULL;
  cr_assert_eq(kc_raw_open(c,
                           "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer raw\r\n"
                           "Connection: close\r\n\r\n",
                           &r, &err),
               0, "%s", err.msg);
  buf_t got = { 0 };
  raw_read_all(r, &got, NULL);
  cr_expect(str_has_prefix(got.data, "HTTP/1.1 200"), "%s", got.data);
  cr_expect(strstr(got.data, "\"auth\":\"Bearer raw\""), "%s", got.data);
  kc_raw_close(r);
  buf_free(&got);

  /* A WebSocket through the raw pipe, as the server's exec proxy relays it. */
  char *key = ws_new_key();
  char *head = xasprintf("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                         "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer t0k\r\n\r\n",
                         key);
  cr_assert_eq(kc_raw_open(c, head, &r, &err), 0, "%s", err.msg);
  raw_read_all(r, &got, "\r\n\r\n");
  cr_expect(str_has_prefix(got.data, "HTTP/1.1 101"), "%s", got.data);
  char *accept = ws_accept_key(key);
  cr_expect(strstr(got.data, accept));
  size_t head_len = (size_t)(strstr(got.data, "\r\n\r\n") + 4 - got.data);
  buf_t f = { 0 };
  ws_frame_append(&f, WS_OP_BINARY, "relay", 5, true);
  cr_assert_eq(kc_raw_send(r, f.data, f.len, &err), 0);
  /* ping "hb" (4 bytes), "re" (4 bytes), "lay" (5 bytes), unmasked */
  while (got.len < head_len + 13) {
    size_t before = got.len;
    char b[64];
    ssize_t n = kc_raw_recv(r, b, sizeof b, 5000, &err);
    cr_assert_gt(n, 0, "%s", err.msg);
    buf_append(&got, b, (size_t)n);
    cr_assert_gt(got.len, before);
  }
  uint8_t *p = (uint8_t *)got.data + head_len;
  const uint8_t want[] = { 0x89, 2, 'h', 'b', 0x02, 2, 'r', 'e', 0x80, 3, 'l', 'a', 'y' };
  cr_expect_eq(got.len, head_len + sizeof want);
  cr_expect_arr_eq(p, want, sizeof want);
  buf_free(&f);
  kc_raw_close(r);
  free(head);
  free(key);
  free(accept);
  buf_free(&got);
  kc_free(c);
}
