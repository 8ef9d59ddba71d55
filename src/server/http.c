/* http.c — the HTTP side of `berth server`: the libmicrohttpd daemon (TLS,
 * one thread per connection, so that a watch can block on its store watch),
 * request bodies (bounded), bearer-token authentication, the endpoints that
 * are not resources (/version, /api, /apis, /openapi, /healthz) and turning a
 * srv_resp_t into an MHD response. Resources live in resources.c. */
#include "server/internal.h"
#include "net/mhd_dl.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Per-request state across MHD's calls to the access handler. */
typedef struct conn_state {
  buf_t body;
  bool too_large;
  int64_t start_ns;
} conn_state_t;

void srv_resp_json(srv_resp_t *r, int code, json_t *j)
{
  r->code = code;
  r->body = json_dumps(j, JSON_COMPACT);
  r->len = r->body ? strlen(r->body) : 0;
  r->content_type = "application/json";
  json_decref(j);
}

json_t *srv_status_json(int code, const char *reason, const char *msg)
{
  return json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
                   "metadata", "status", "Failure", "message", msg, "reason", reason, "code", code);
}

void srv_resp_status(srv_resp_t *r, int code, const char *reason, const char *kind,
                     const char *name, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cleanup_free char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    abort();
  va_end(ap);
  json_t *st = srv_status_json(code, reason, msg);
  if (kind || name) {
    json_t *d = json_object();
    if (name)
      json_object_set_new(d, "name", json_string(name));
    if (kind)
      json_object_set_new(d, "kind", json_string(kind));
    json_object_set_new(st, "details", d);
  }
  srv_resp_json(r, code, st);
}

static const char *query_value(void *conn, const char *key)
{
  return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

static bool token_ok(srv_t *s, const char *auth)
{
  if (!auth || !str_has_prefix(auth, "Bearer "))
    return false;
  const char *tok = auth + strlen("Bearer ");
  size_t n = strlen(tok), m = strlen(s->admin_token);
  /* Constant time in the token's content. */
  unsigned char diff = n != m;
  for (size_t i = 0; i < n && i < m; i++)
    diff |= (unsigned char)(tok[i] ^ s->admin_token[i]);
  return diff == 0;
}

static void handle_public(srv_req_t *q, srv_resp_t *r)
{
  if (!strcmp(q->path, "/version")) {
    srv_resp_json(r, 200,
                  json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", "1", "minor",
                            "33", "gitVersion", SRV_K8S_VERSION, "gitCommit", "berth",
                            "gitTreeState", "clean", "buildDate", "2026-01-01T00:00:00Z",
                            "goVersion", "none", "compiler", "gcc", "platform", "linux/amd64"));
  } else {
    r->code = 200;
    r->body = xstrdup("ok");
    r->len = 2;
    r->content_type = "text/plain; charset=utf-8";
  }
}

static void dispatch(srv_req_t *q, srv_resp_t *r)
{
  const char *p = q->path;
  if (!strcmp(p, "/api")) {
    srv_resp_json(r, 200, json_pack("{s:s, s:[s]}", "kind", "APIVersions", "versions", "v1"));
  } else if (!strcmp(p, "/apis")) {
    srv_handle_api_groups(q, r);
  } else if (!strcmp(p, "/api/v1")) {
    srv_handle_discovery(q, r, "v1");
  } else if (str_has_prefix(p, "/apis/") && srv_handle_discovery(q, r, p + strlen("/apis/"))) {
    /* /apis/GROUP/VERSION: answered. */
  } else if (!strcmp(p, "/openapi/v2")) {
    /* An empty protobuf Document: kubectl validates nothing client-side and
     * uses its built-in types for patches (kubectl-wire.md §5, option A). */
    r->code = 200;
    r->content_type = "application/octet-stream";
  } else if (str_has_prefix(p, "/api/v1/") || str_has_prefix(p, "/apis/")) {
    srv_handle_api(q, r);
  } else {
    srv_resp_status(r, 404, "NotFound", NULL, NULL,
                    "the server could not find the requested resource");
  }
}

static enum MHD_Result queue(struct MHD_Connection *conn, srv_req_t *q, srv_resp_t *r,
                             int64_t start_ns)
{
  struct MHD_Response *resp;
  if (r->watch) {
    const union MHD_ConnectionInfo *ci
        = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci)
      srv_watch_set_fd(r->watch, ci->connect_fd);
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, srv_watch_read, r->watch,
                                             srv_watch_free);
  } else {
    resp
        = MHD_create_response_from_buffer(r->len, r->body ? r->body : (char *)"",
                                          r->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    r->body = NULL;
  }
  if (!resp)
    return MHD_NO;
  if (r->content_type)
    MHD_add_response_header(resp, "Content-Type", r->content_type);
  MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
  enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->code, resp);
  MHD_destroy_response(resp);
  log_debug("msg=request method=%s path=%s code=%d watch=%s dur_us=%lld", q->method, q->path,
            r->code, r->watch ? "yes" : "no", (long long)((time_mono_ns() - start_ns) / 1000));
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
  srv_t *s = cls;
  conn_state_t *st = *con_cls;
  if (!st) {
    st = xcalloc(1, sizeof *st);
    st->start_ns = time_mono_ns();
    *con_cls = st;
    return MHD_YES;
  }
  if (*upload_size > 0) {
    if (st->body.len + *upload_size > SRV_MAX_BODY)
      st->too_large = true;
    else
      buf_append(&st->body, upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  srv_req_t q = {
    .srv = s,
    .method = method,
    .path = url,
    .content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"),
    .accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept"),
    .body = st->body.data ? st->body.data : "",
    .body_len = st->body.len,
    .query = query_value,
    .conn = conn,
  };
  srv_resp_t r = { 0 };
  bool pub = !strcmp(url, "/version") || !strcmp(url, "/healthz") || !strcmp(url, "/livez")
             || !strcmp(url, "/readyz");
  if (pub)
    handle_public(&q, &r);
  else if (!token_ok(s, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization")))
    srv_resp_status(&r, 401, "Unauthorized", NULL, NULL, "Unauthorized");
  else if (st->too_large)
    srv_resp_status(&r, 413, "RequestEntityTooLarge", NULL, NULL,
                    "the request body is larger than %d bytes", SRV_MAX_BODY);
  else
    dispatch(&q, &r);
  return queue(conn, &q, &r, st->start_ns);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
  conn_state_t *st = *con_cls;
  if (!st)
    return;
  buf_free(&st->body);
  free(st);
  *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
  cleanup_free char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    return;
  size_t n = strlen(msg);
  while (n > 0 && msg[n - 1] == '\n')
    msg[--n] = '\0';
  log_debug("msg=\"http: %s\"", msg);
}

int srv_run(const srv_opts_t *opts, berr_t *err)
{
  cleanup_free char *addr = NULL;
  int port;
  if (srv_parse_listen(opts->listen, &addr, &port, err) < 0)
    return -1;
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
    return berr_setc(err, EINVAL, "listen address \"%s\": not an IPv4 address", addr);
  srv_t s = { 0 };
  int ret = -1;
  cleanup_free char *db = path_join(opts->data_dir, "state.db");
  if (srv_pki_prepare(&s, opts->data_dir, port, err) < 0)
    goto out;
  store_opts_t sto = { .compact_interval_ns = opts->compact_interval_ns,
                       .retain_ns = opts->retain_ns,
                       .retain_revs = opts->retain_revs };
  if (store_open_sqlite(db, &sto, &s.store, err) < 0) {
    berr_wrap(err, "open %s", db);
    goto out;
  }
  if (srv_ensure_default_ns(&s, err) < 0)
    goto out;

  /* Signals are taken with sigwait below; block them before MHD starts its
   * threads so that they inherit the mask. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS
          | MHD_USE_ERROR_LOG,
      0, NULL, NULL, on_request, &s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin, MHD_OPTION_HTTPS_MEM_CERT, s.cert_pem,
      MHD_OPTION_HTTPS_MEM_KEY, s.key_pem, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SRV_IDLE_TIMEOUT_S, MHD_OPTION_END);
  if (!d) {
    berr_set(err, errno, "listen on %s:%d", addr, port);
    goto out;
  }
  log_info("msg=\"server listening\" addr=%s:%d data=%s", addr, port, opts->data_dir);
  int sig = 0;
  sigwait(&set, &sig);
  log_info("msg=\"server stopping\" signal=%d", sig);
  atomic_store(&s.stopping, true);
  MHD_stop_daemon(d);
  ret = 0;
out:
  store_close(s.store);
  free(s.admin_token);
  free(s.cert_pem);
  free(s.key_pem);
  return ret;
}
