/* http.c — the HTTP side of `berth server`: the libmicrohttpd daemon (TLS,
 * one thread per connection, so that a watch or a log stream can block),
 * request bodies (bounded), authentication (auth.c says who is asking; the
 * bootstrap identity is confined to node registration here), the endpoints
 * that are not resources (/version, /cacerts, /api, /apis, /openapi,
 * /healthz, /berth/v1/register, /metrics for the admin) and turning a
 * srv_resp_t into an MHD response: a buffer, a stream (watch, logs), or a
 * protocol switch (exec's WebSocket), whose socket goes to a thread of its
 * own because MHD forwards the TLS bytes of an upgraded connection on the
 * connection's thread only after the upgrade callback has returned.
 * Resources live in resources.c. */
#include "ctrl/ctrl.h"
#include "server/internal.h"
#include "net/mhd_dl.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REGISTER_PATH "/berth/v1/register"
/* How long shutdown waits for upgraded connections (exec sessions) to end:
 * their relays notice srv_t.stopping within a second. */
#define UPGRADE_DRAIN_MS 5000

/* The daemon's context: the server, and the upgraded connections still
 * relaying (MHD must outlive them: they end with MHD_upgrade_action). */
typedef struct http {
  srv_t *srv;
  atomic_int upgrades;
} http_t;

/* A protocol switch between the 101 being queued and its socket arriving. */
typedef struct upgrade {
  http_t *h;
  void (*fn)(void *cls, int fd); /* fd -1: the switch did not happen, only free cls */
  void *cls;
  int fd;
  struct MHD_UpgradeResponseHandle *urh;
} upgrade_t;

/* Per-request state across MHD's calls to the access handler. */
typedef struct conn_state {
  buf_t body;
  bool too_large;
  int64_t start_ns;
  upgrade_t *up; /* owned until on_upgrade takes it */
  size_t sent;   /* the response body's size */
} conn_state_t;

/* A response this large (a LIST of thousands of objects) leaves megabytes
 * of freed heap behind: hand it back to the system once it is sent. */
#define TRIM_AFTER_BYTES (4u << 20)

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
  cleanup_free char *msg = xvasprintf(fmt, ap);
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

static const char *header_value(void *conn, const char *name)
{
  return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static const char *user_name(const srv_ident_t *id, char *buf, size_t n)
{
  if (id->admin)
    return "admin";
  if (id->bootstrap)
    return "system:bootstrap";
  if (id->node) {
    snprintf(buf, n, "system:node:%s", id->node);
    return buf;
  }
  return "system:anonymous";
}

/* Kubernetes' verb for a request on a resource path. */
static const char *verb_of(srv_req_t *q, const srv_route_t *rt)
{
  const char *m = q->method, *w = q->query(q->conn, "watch");
  if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
    if (w && (!strcmp(w, "1") || !strcmp(w, "true")))
      return "watch";
    return rt->name ? "get" : "list";
  }
  if (!strcmp(m, "POST"))
    return "create";
  if (!strcmp(m, "PUT"))
    return "update";
  if (!strcmp(m, "PATCH"))
    return "patch";
  if (!strcmp(m, "DELETE"))
    return rt->name ? "delete" : "deletecollection";
  return "get";
}

/* 403 in the API server's words: `configmaps is forbidden: User "…" cannot
 * list resource "configmaps" in API group "" in the namespace "default"`, or
 * `forbidden: User "…" cannot post path "/x"` off the resource paths. */
static void forbid(srv_req_t *q, srv_resp_t *r)
{
  char ubuf[300];
  const char *user = user_name(q->ident, ubuf, sizeof ubuf);
  const char *p = q->path;
  cleanup_free char *group = NULL, *core = NULL;
  if (str_has_prefix(p, "/apis/")) {
    /* /apis/GROUP/VERSION/REST → GROUP and /api/v1/REST, which route.c parses. */
    const char *g = p + strlen("/apis/"), *v = strchr(g, '/'),
               *rest = v ? strchr(v + 1, '/') : NULL;
    if (rest) {
      group = xstrndup(g, (size_t)(v - g));
      core = xasprintf("/api/v1%s", rest);
    }
  } else if (str_has_prefix(p, "/api/v1/")) {
    group = xstrdup("");
    core = xstrdup(p);
  }
  srv_route_t rt = { 0 };
  if (core && srv_route_parse(core, &rt) == 0 && rt.resource) {
    cleanup_free char *res
        = rt.sub ? xasprintf("%s/%s", rt.resource, rt.sub) : xstrdup(rt.resource);
    cleanup_free char *what
        = *group ? xasprintf("%s.%s", rt.resource, group) : xstrdup(rt.resource);
    cleanup_free char *named = rt.name ? xasprintf("%s \"%s\"", what, rt.name) : xstrdup(what);
    cleanup_free char *scope
        = rt.ns ? xasprintf("in the namespace \"%s\"", rt.ns) : xstrdup("at the cluster scope");
    srv_resp_status(r, 403, "Forbidden", rt.resource, rt.name,
                    "%s is forbidden: User \"%s\" cannot %s resource \"%s\" in API group \"%s\" %s",
                    named, user, verb_of(q, &rt), res, group, scope);
  } else {
    cleanup_free char *verb = xstrdup(q->method);
    for (char *c = verb; *c; c++)
      *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    srv_resp_status(r, 403, "Forbidden", NULL, NULL, "forbidden: User \"%s\" cannot %s path \"%s\"",
                    user, verb, p);
  }
  srv_route_free(&rt);
}

static bool is_public(const char *url)
{
  static const char *const pub[] = { "/version", "/healthz", "/livez", "/readyz", "/cacerts" };
  for (size_t i = 0; i < ARRAY_SIZE(pub); i++)
    if (!strcmp(url, pub[i]))
      return true;
  return false;
}

static void handle_public(srv_req_t *q, srv_resp_t *r)
{
  if (!strcmp(q->path, "/cacerts")) {
    srv_handle_cacerts(q, r);
  } else if (!strcmp(q->path, "/version")) {
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

static void *upgrade_thread(void *arg)
{
  upgrade_t *u = arg;
  u->fn(u->cls, u->fd);
  MHD_upgrade_action(u->urh, MHD_UPGRADE_ACTION_CLOSE);
  atomic_fetch_sub(&u->h->upgrades, 1);
  free(u);
  return NULL;
}

/* MHD sent the 101: the socket (plaintext; MHD does the TLS) goes to the
 * handler on a thread of its own, since MHD only starts forwarding once this
 * returns. */
static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
  upgrade_t *u = cls;
  conn_state_t *st = con_cls;
  if (st && st->up == u)
    st->up = NULL;
  if (extra_in_size > 0)
    /* A WebSocket client waits for the 101 before it sends (RFC 6455 4.1). */
    log_warn("msg=\"upgrade: dropping bytes sent before the 101\" bytes=%zu", extra_in_size);
  u->fd = sock;
  u->urh = urh;
  /* Counted before stopping is read: srv_run sets stopping, then waits for
   * the count to drop, so either it waits for this one or this one sees
   * stopping and ends while MHD is still there. */
  atomic_fetch_add(&u->h->upgrades, 1);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  bool started
      = !atomic_load(&u->h->srv->stopping) && pthread_create(&t, &attr, upgrade_thread, u) == 0;
  pthread_attr_destroy(&attr);
  if (!started) {
    u->fn(u->cls, -1);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    atomic_fetch_sub(&u->h->upgrades, 1);
    free(u);
  }
}

static struct MHD_Response *make_response(http_t *h, conn_state_t *st, struct MHD_Connection *conn,
                                          srv_resp_t *r)
{
  struct MHD_Response *resp;
  if (r->watch) {
    const union MHD_ConnectionInfo *ci
        = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci)
      srv_watch_set_fd(r->watch, ci->connect_fd);
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, srv_watch_read, r->watch,
                                             srv_watch_free);
    r->watch = NULL;
  } else if (r->stream_read) {
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, r->stream_read,
                                             r->stream_cls, r->stream_free);
    if (!resp && r->stream_free)
      r->stream_free(r->stream_cls);
    r->stream_read = NULL;
  } else if (r->upgrade) {
    upgrade_t *u = xcalloc(1, sizeof *u);
    *u = (upgrade_t){ .h = h, .fn = r->upgrade, .cls = r->upgrade_cls, .fd = -1 };
    r->upgrade = NULL;
    resp = MHD_create_response_for_upgrade(on_upgrade, u);
    if (!resp) {
      u->fn(u->cls, -1);
      free(u);
    } else {
      st->up = u;
    }
  } else {
    st->sent = r->len;
    resp
        = MHD_create_response_from_buffer(r->len, r->body ? r->body : (char *)"",
                                          r->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (resp)
      r->body = NULL;
  }
  return resp;
}

static enum MHD_Result queue(http_t *h, conn_state_t *st, struct MHD_Connection *conn, srv_req_t *q,
                             srv_resp_t *r)
{
  bool streamed = r->watch || r->stream_read, upgrade = r->upgrade;
  struct MHD_Response *resp = make_response(h, st, conn, r);
  free(r->body);
  if (resp) {
    if (r->content_type)
      MHD_add_response_header(resp, "Content-Type", r->content_type);
    if (!upgrade)
      MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
    for (char **w = r->warnings; w && *w; w++)
      MHD_add_response_header(resp, "Warning", *w);
    /* MHD adds "Connection: Upgrade" to an upgrade response itself. */
    for (char **hd = r->upgrade_headers; hd && hd[0] && hd[1]; hd += 2)
      if (strcasecmp(hd[0], "Connection"))
        MHD_add_response_header(resp, hd[0], hd[1]);
  }
  strv_free(r->warnings);
  strv_free(r->upgrade_headers);
  if (!resp)
    return MHD_NO;
  enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->code, resp);
  MHD_destroy_response(resp);
  char ubuf[300];
  log_debug("msg=request method=%s path=%s user=%s code=%d stream=%s dur_us=%lld", q->method,
            q->path, q->ident ? user_name(q->ident, ubuf, sizeof ubuf) : "-", r->code,
            upgrade    ? "upgrade"
            : streamed ? "yes"
                       : "no",
            (long long)((time_mono_ns() - st->start_ns) / 1000));
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
  http_t *h = cls;
  srv_t *s = h->srv;
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
  srv_ident_t id = { 0 };
  srv_req_t q = {
    .srv = s,
    .method = method,
    .path = url,
    .content_type = header_value(conn, "Content-Type"),
    .accept = header_value(conn, "Accept"),
    .body = st->body.data ? st->body.data : "",
    .body_len = st->body.len,
    .query = query_value,
    .header = header_value,
    .conn = conn,
    .ident = &id,
  };
  srv_resp_t r = { 0 };
  if (is_public(url)) {
    q.ident = NULL;
    handle_public(&q, &r);
  } else if (!srv_authenticate(s, header_value(conn, "Authorization"), &id)) {
    srv_resp_status(&r, 401, "Unauthorized", NULL, NULL, "Unauthorized");
  } else if (st->too_large) {
    srv_resp_status(&r, 413, "RequestEntityTooLarge", NULL, NULL,
                    "the request body is larger than %d bytes", SRV_MAX_BODY);
  } else if (!strcmp(url, REGISTER_PATH)) {
    /* The join token's one use; the administrator may register a node too. */
    if (id.bootstrap || id.admin)
      srv_handle_register(&q, &r);
    else
      forbid(&q, &r);
  } else if (id.bootstrap) {
    forbid(&q, &r);
  } else if (!strcmp(url, "/metrics")) {
    if (!id.admin)
      forbid(&q, &r);
    else if (strcmp(method, "GET") && strcmp(method, "HEAD"))
      srv_resp_status(&r, 405, "MethodNotAllowed", NULL, NULL, "%s is not supported here", method);
    else
      srv_sched_metrics(&q, &r);
  } else {
    dispatch(&q, &r);
  }
  enum MHD_Result ret = queue(h, st, conn, &q, &r);
  srv_ident_clear(&id);
  return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
  conn_state_t *st = *con_cls;
  if (!st)
    return;
  if (st->up) {
    /* The 101 never went out: the handler only frees its state. */
    st->up->fn(st->up->cls, -1);
    free(st->up);
  }
  bool trim = st->sent >= TRIM_AFTER_BYTES;
  buf_free(&st->body);
  free(st);
  *con_cls = NULL;
  if (trim)
    malloc_trim(0);
}

/* Frees what srv_pki_prepare filled. */
static void srv_free(srv_t *s)
{
  free(s->data_dir);
  free(s->admin_token);
  free(s->node_token);
  free(s->node_secret);
  free(s->ca_pem);
  free(s->ca_key_pem);
  free(s->cert_pem);
  free(s->key_pem);
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
  http_t h = { .srv = &s };
  int ret = -1;
  bool gc = false, sched = false, ctrl = false;
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
  if (srv_ensure_default_ns(&s, err) < 0 || srv_ensure_priority_classes(&s, err) < 0)
    goto out;

  /* Signals are taken with sigwait below; block them before MHD and the
   * collector start their threads so that they inherit the mask. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (srv_gc_start(&s, err) < 0)
    goto out;
  gc = true;
  if (srv_sched_start(&s, opts->scheduler_strategy, err) < 0)
    goto out;
  sched = true;
  ctrl_config_t cc = CTRL_CONFIG_DEFAULT;
  if (opts->node_grace_ns > 0)
    cc.node_grace_ns = opts->node_grace_ns;
  if (opts->eviction_timeout_ns > 0)
    cc.eviction_timeout_ns = opts->eviction_timeout_ns;
  s.pod_toleration_s = cc.eviction_timeout_ns / 1000000000LL;
  if (srv_ctrlmgr_start(&s, &cc, err) < 0)
    goto out;
  ctrl = true;
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS
          | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE,
      0, NULL, NULL, on_request, &h, MHD_OPTION_EXTERNAL_LOGGER, net_mhd_log, (void *)"http",
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin, MHD_OPTION_HTTPS_MEM_CERT, s.cert_pem,
      MHD_OPTION_HTTPS_MEM_KEY, s.key_pem, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SRV_IDLE_TIMEOUT_S, MHD_OPTION_END);
  if (!d) {
    berr_set(err, errno, "listen on %s:%d", addr, port);
    goto out;
  }
  log_info("msg=\"server listening\" addr=%s:%d data=%s", addr, port, opts->data_dir);
  if (opts->on_ready) {
    /* The machine's own agent reaches the server over loopback. */
    bool any = !*addr || !strcmp(addr, "0.0.0.0");
    cleanup_free char *url = xasprintf("https://%s:%d", any ? "127.0.0.1" : addr, port);
    if (opts->on_ready(opts->hook_arg, url, opts->data_dir, err) < 0) {
      MHD_stop_daemon(d);
      goto out;
    }
  }
  int sig = 0;
  sigwait(&set, &sig);
  log_info("msg=\"server stopping\" signal=%d", sig);
  if (opts->on_ready && opts->on_stop)
    opts->on_stop(opts->hook_arg);
  atomic_store(&s.stopping, true);
  /* Upgraded connections end with a call into MHD: let them finish first. */
  for (int i = 0; i < UPGRADE_DRAIN_MS / 20 && atomic_load(&h.upgrades) > 0; i++)
    usleep(20 * 1000);
  if (atomic_load(&h.upgrades) > 0)
    log_warn("msg=\"stopping with upgraded connections still open\" n=%d",
             atomic_load(&h.upgrades));
  MHD_stop_daemon(d);
  ret = 0;
out:
  atomic_store(&s.stopping, true);
  if (ctrl)
    srv_ctrlmgr_stop(&s);
  if (sched)
    srv_sched_stop(&s);
  if (gc)
    srv_gc_stop(&s);
  store_close(s.store);
  srv_free(&s);
  return ret;
}
