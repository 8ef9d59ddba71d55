/* agent_http.c — the agent's HTTPS endpoint (the kubelet's port 10250), for
 * the API server only: libmicrohttpd with TLS (the serving certificate from
 * registration), one thread per connection, bearer token = the node
 * credential. It serves /healthz, container logs, and exec (agent_exec.c).
 *
 * Logs: the container is found through pod_mgr (the current one, or the
 * previous with previous=true) and its log is written into a pipe whose
 * read end feeds MHD's content reader. Without follow, engine_logs runs on a
 * thread of its own (it ends once the log is read, or at the first write
 * after the client went away). With follow it runs in a child process
 * (`berth container logs --follow`, the same engine_logs): a follow waits
 * for output that may never come and cannot be interrupted in-process,
 * while a child can simply be killed when the client goes away, which the
 * content reader notices by polling the client's socket. sinceSeconds /
 * sinceTime with follow are applied here on the child's timestamps. */
#include "agent/agent_internal.h"
#include "net/mhd_dl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define HTTP_IDLE_TIMEOUT_S 600
#define LOG_TICK_MS         1000

extern char **environ;

/* ---- replies ------------------------------------------------------------------------- */

static enum MHD_Result queue_buffer(struct MHD_Connection *conn, int code, const char *ctype,
                                    char *body)
{
  struct MHD_Response *r
      = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(r, "Content-Type", ctype);
  enum MHD_Result ret = MHD_queue_response(conn, (unsigned)code, r);
  MHD_destroy_response(r);
  return ret;
}

int agent_http_status(struct MHD_Connection *conn, int code, const char *reason, const char *fmt,
                      ...)
{
  va_list ap;
  va_start(ap, fmt);
  cleanup_free char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  cleanup_json json_t *st
      = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
                  "metadata", "status", "Failure", "message", msg, "reason", reason, "code", code);
  return queue_buffer(conn, code, "application/json", json_dumps(st, JSON_COMPACT));
}

int agent_http_error(struct MHD_Connection *conn, berr_t *err)
{
  int ret;
  if (err->code == ENOENT)
    ret = agent_http_status(conn, 404, "NotFound", "%s", err->msg);
  else if (err->code == EAGAIN) /* a container waiting to start: the kubelet's 400 */
    ret = agent_http_status(conn, 400, "BadRequest", "%s", err->msg);
  else
    ret = agent_http_status(conn, 500, "InternalError", "%s", err->msg);
  berr_clear(err);
  return ret;
}

bool agent_http_token_ok(agent_t *a, const char *auth)
{
  if (!auth || !str_has_prefix(auth, "Bearer ") || !a->token)
    return false;
  const char *tok = auth + strlen("Bearer ");
  size_t n = strlen(tok), m = strlen(a->token);
  /* Constant time in the token's content. */
  unsigned char diff = n != m;
  for (size_t i = 0; i < n && i < m; i++)
    diff |= (unsigned char)(tok[i] ^ a->token[i]);
  return diff == 0;
}

/* ---- query parameters ------------------------------------------------------------------ */

static const char *arg(struct MHD_Connection *conn, const char *key)
{
  return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

/* "true"/"1" → true, absent/""/"false"/"0" → false; else -1. */
static int arg_bool(struct MHD_Connection *conn, const char *key, bool *out)
{
  const char *v = arg(conn, key);
  if (!v || !*v || !strcmp(v, "false") || !strcmp(v, "0")) {
    *out = false;
    return 0;
  }
  if (!strcmp(v, "true") || !strcmp(v, "1")) {
    *out = true;
    return 0;
  }
  return -1;
}

/* A whole number >= 0, or -1 when absent; -2 when malformed. */
static int64_t arg_count(struct MHD_Connection *conn, const char *key)
{
  const char *v = arg(conn, key);
  int64_t n;
  if (!v)
    return -1;
  if (parse_int64(v, &n, NULL) < 0 || n < 0)
    return -2;
  return n;
}

/* ---- logs --------------------------------------------------------------------------------- */

typedef struct log_stream {
  agent_t *a;       /* a reference */
  int fd;           /* the pipe's read end */
  int sock;         /* the client's socket, to notice it going away */
  pid_t pid;        /* the follow child, or 0 */
  int64_t left;     /* limitBytes left, or -1 */
  int64_t since_ns; /* follow: drop lines older than this (0: keep all) */
  bool strip_ts;    /* follow with since: the child adds timestamps the client did not ask */
  buf_t line, out;  /* follow with since: the line being read, and what to send */
  size_t out_off;
} log_stream_t;

typedef struct log_job {
  engine *e;
  char *id;
  rt_logs_opts lo;
  int fd; /* the pipe's write end */
} log_job_t;

static void *log_job_main(void *arg)
{
  log_job_t *j = arg;
  berr_t err = BERR_INIT;
  if (engine_logs(j->e, j->id, &j->lo, j->fd, j->fd, &err) < 0) {
    if (err.code != EPIPE)
      log_warn("msg=\"container logs failed\" container=%s err=\"%s\"", j->id, err.msg);
    berr_clear(&err);
  }
  close(j->fd);
  engine_close(j->e);
  free(j->id);
  free(j);
  return NULL;
}

/* Filters one complete line (with its "\n") of a follow with since. */
static void filter_line(log_stream_t *s, const char *p, size_t n)
{
  const char *sp = memchr(p, ' ', n);
  int64_t ts = 0;
  if (sp) {
    cleanup_free char *t = xstrndup(p, (size_t)(sp - p));
    if (time_parse_rfc3339(t, &ts) < 0)
      ts = 0;
  }
  if (ts && ts < s->since_ns)
    return;
  if (s->strip_ts && sp)
    buf_append(&s->out, sp + 1, n - (size_t)(sp + 1 - p));
  else
    buf_append(&s->out, p, n);
}

static void filter(log_stream_t *s, const char *data, size_t n, bool eof)
{
  buf_append(&s->line, data, n);
  size_t start = 0;
  for (size_t i = 0; i < s->line.len; i++)
    if (s->line.data[i] == '\n') {
      filter_line(s, s->line.data + start, i + 1 - start);
      start = i + 1;
    }
  if (eof && start < s->line.len) {
    filter_line(s, s->line.data + start, s->line.len - start);
    start = s->line.len;
  }
  memmove(s->line.data, s->line.data + start, s->line.len - start);
  s->line.len -= start;
}

static ssize_t log_read(void *cls, uint64_t pos, char *buf, size_t max)
{
  log_stream_t *s = cls;
  (void)pos;
  for (;;) {
    if (s->left == 0)
      return MHD_CONTENT_READER_END_OF_STREAM;
    if (s->out_off < s->out.len) {
      size_t n = s->out.len - s->out_off;
      n = n > max ? max : n;
      if (s->left > 0 && (int64_t)n > s->left)
        n = (size_t)s->left;
      memcpy(buf, s->out.data + s->out_off, n);
      s->out_off += n;
      if (s->out_off == s->out.len)
        s->out_off = s->out.len = 0;
      if (s->left > 0)
        s->left -= (int64_t)n;
      return (ssize_t)n;
    }
    if (atomic_load(&s->a->stopping))
      return MHD_CONTENT_READER_END_OF_STREAM;
    struct pollfd p[2]
        = { { .fd = s->fd, .events = POLLIN }, { .fd = s->sock, .events = POLLRDHUP } };
    int r = poll(p, s->sock >= 0 ? 2 : 1, LOG_TICK_MS);
    if (r < 0 && errno != EINTR)
      return MHD_CONTENT_READER_END_WITH_ERROR;
    if (r > 0 && s->sock >= 0 && (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)))
      return MHD_CONTENT_READER_END_WITH_ERROR; /* the client went away */
    if (r <= 0 || !p[0].revents)
      continue;
    char tmp[16 * 1024];
    size_t want = max < sizeof tmp ? max : sizeof tmp;
    if (s->left > 0 && (int64_t)want > s->left)
      want = (size_t)s->left;
    ssize_t n = read(s->fd, s->since_ns ? tmp : buf, s->since_ns ? sizeof tmp : want);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (n < 0)
      return MHD_CONTENT_READER_END_WITH_ERROR;
    if (s->since_ns) {
      filter(s, tmp, (size_t)(n > 0 ? n : 0), n == 0);
      if (n == 0 && s->out.len == s->out_off)
        return MHD_CONTENT_READER_END_OF_STREAM;
      continue;
    }
    if (n == 0)
      return MHD_CONTENT_READER_END_OF_STREAM;
    if (s->left > 0)
      s->left -= n;
    return n;
  }
}

static void log_stream_free(void *cls)
{
  log_stream_t *s = cls;
  if (s->fd >= 0)
    close(s->fd);
  if (s->pid > 0) {
    kill(s->pid, SIGKILL);
    while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
      ;
  }
  buf_free(&s->line);
  buf_free(&s->out);
  agent_unref(s->a);
  free(s);
}

/* `berth --root R container logs --follow …` writing into fd. */
static pid_t spawn_follow(agent_t *a, const char *id, const rt_logs_opts *lo, int fd, berr_t *err)
{
  cleanup_free char *tail = lo->tail >= 0 ? xasprintf("%lld", (long long)lo->tail) : NULL;
  char *argv[16];
  int n = 0;
  argv[n++] = "berth";
  argv[n++] = "--root";
  argv[n++] = a->engine_root;
  argv[n++] = "--log-level";
  argv[n++] = "error";
  argv[n++] = "container";
  argv[n++] = "logs";
  argv[n++] = "--follow";
  if (lo->timestamps)
    argv[n++] = "--timestamps";
  if (tail) {
    argv[n++] = "--tail";
    argv[n++] = tail;
  }
  argv[n++] = (char *)id;
  argv[n] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fd, 1);
  posix_spawn_file_actions_adddup2(&fa, fd, 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  /* The agent blocks SIGINT/SIGTERM and ignores SIGPIPE: not the child. */
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t none, dfl;
  sigemptyset(&none);
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &dfl);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc)
    return berr_set(err, rc, "start the log follower");
  return pid;
}

static int64_t since_arg(struct MHD_Connection *conn, bool *bad)
{
  int64_t secs = arg_count(conn, "sinceSeconds");
  const char *t = arg(conn, "sinceTime");
  int64_t ns = 0;
  *bad = secs == -2 || (t && time_parse_rfc3339(t, &ns) < 0);
  if (secs >= 0)
    return time_now_ns() - secs * 1000000000LL;
  return t ? ns : 0;
}

static enum MHD_Result handle_logs(agent_t *a, struct MHD_Connection *conn, const char *ns,
                                   const char *pod, const char *ctr)
{
  bool follow, previous, timestamps, bad_since;
  rt_logs_opts lo = { .tail = arg_count(conn, "tailLines") };
  int64_t limit = arg_count(conn, "limitBytes");
  int64_t since = since_arg(conn, &bad_since);
  if (arg_bool(conn, "follow", &follow) < 0 || arg_bool(conn, "previous", &previous) < 0
      || arg_bool(conn, "timestamps", &timestamps) < 0)
    return agent_http_status(conn, 400, "BadRequest",
                             "follow, previous and timestamps must be true or false");
  if (lo.tail == -2)
    return agent_http_status(conn, 400, "BadRequest", "tailLines must be a whole number >= 0");
  if (limit == -2 || limit == 0)
    return agent_http_status(conn, 400, "BadRequest", "limitBytes must be a number > 0");
  if (bad_since)
    return agent_http_status(conn, 400, "BadRequest",
                             "sinceSeconds must be a whole number, sinceTime an RFC 3339 time");
  lo.follow = follow;
  lo.timestamps = timestamps;
  cleanup_free char *id = NULL;
  berr_t err = BERR_INIT;
  pthread_mutex_lock(&a->mgr_lock);
  int rc = a->mgr ? pod_mgr_container(a->mgr, ns, pod, ctr, previous, &id, &err)
                  : berr_setc(&err, ESHUTDOWN, "the agent is stopping");
  pthread_mutex_unlock(&a->mgr_lock);
  if (rc < 0)
    return agent_http_error(conn, &err);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return agent_http_status(conn, 500, "InternalError", "pipe: %s", strerror(errno));
  log_stream_t *s = xcalloc(1, sizeof *s);
  agent_ref(a);
  s->a = a;
  s->fd = p[0];
  s->sock = -1;
  s->left = limit;
  const union MHD_ConnectionInfo *ci
      = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (ci)
    s->sock = ci->connect_fd;
  if (follow) {
    if (since) {
      s->since_ns = since;
      s->strip_ts = !lo.timestamps;
      lo.timestamps = true;
    }
    s->pid = spawn_follow(a, id, &lo, p[1], &err);
    close(p[1]);
  } else {
    log_job_t *j = xcalloc(1, sizeof *j);
    j->lo = lo;
    j->lo.since_ns = since;
    j->fd = p[1];
    j->id = xstrdup(id);
    pthread_t t;
    if (engine_open(a->engine_root, &j->e, &err) == 0
        && (rc = pthread_create(&t, NULL, log_job_main, j)) == 0) {
      pthread_detach(t);
    } else {
      if (!err.msg)
        berr_set(&err, rc, "start the log reader");
      engine_close(j->e);
      close(j->fd);
      free(j->id);
      free(j);
      s->pid = -1;
    }
  }
  if (s->pid < 0) {
    log_stream_free(s);
    enum MHD_Result ret = agent_http_status(conn, 500, "InternalError", "%s", err.msg);
    berr_clear(&err);
    return ret;
  }
  log_debug("msg=\"container logs\" pod=%s/%s container=%s id=%.12s follow=%d tail=%lld", ns, pod,
            ctr, id, (int)follow, (long long)lo.tail);
  struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, log_read,
                                                             s, log_stream_free);
  if (!r) {
    log_stream_free(s);
    return MHD_NO;
  }
  MHD_add_response_header(r, "Content-Type", "text/plain");
  enum MHD_Result ret = MHD_queue_response(conn, 200, r);
  MHD_destroy_response(r);
  return ret;
}

/* ---- routing ------------------------------------------------------------------------------- */

/* "/PREFIX/NS/POD/CTR" → the three names; false when the path is not that. */
static bool split_target(const char *url, const char *prefix, char **ns, char **pod, char **ctr)
{
  if (!str_has_prefix(url, prefix))
    return false;
  cleanup_free char *copy = xstrdup(url + strlen(prefix));
  char *parts[4] = { 0 };
  int n = 0;
  for (char *p = copy, *tok; (tok = strsep(&p, "/"));) {
    if (n == 3)
      return false;
    parts[n++] = tok;
  }
  if (n != 3 || !agent_path_segment_ok(parts[0]) || !agent_path_segment_ok(parts[1])
      || !agent_path_segment_ok(parts[2]))
    return false;
  *ns = xstrdup(parts[0]);
  *pod = xstrdup(parts[1]);
  *ctr = xstrdup(parts[2]);
  return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
  agent_t *a = cls;
  /* Per request: the exec session waiting for its upgrade (or NULL). */
  if (!*con_cls) {
    *con_cls = xcalloc(1, sizeof(void *));
    return MHD_YES;
  }
  if (*upload_size > 0) { /* no endpoint takes a body: drop it */
    *upload_size = 0;
    return MHD_YES;
  }
  if (!strcmp(url, "/healthz"))
    return queue_buffer(conn, 200, "text/plain; charset=utf-8", xstrdup("ok"));
  if (!agent_http_token_ok(a,
                           MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"))) {
    log_info("msg=\"endpoint request refused: bad credential\" method=%s path=%s", method, url);
    return agent_http_status(conn, 401, "Unauthorized", "Unauthorized");
  }
  cleanup_free char *ns = NULL, *pod = NULL, *ctr = NULL;
  bool logs = split_target(url, "/containerLogs/", &ns, &pod, &ctr);
  bool exec = !logs && split_target(url, "/exec/", &ns, &pod, &ctr);
  log_debug("msg=\"endpoint request\" method=%s path=%s", method, url);
  if (!logs && !exec)
    return agent_http_status(conn, 404, "NotFound",
                             "the server could not find the requested resource");
  if (exec && !strcmp(method, "POST"))
    return agent_http_status(conn, 400, "BadRequest",
                             "berth supports exec over WebSocket (v5.channel.k8s.io) only; "
                             "kubectl 1.30+ uses it by default");
  if (strcmp(method, "GET"))
    return agent_http_status(conn, 405, "MethodNotAllowed",
                             "the server does not allow this method on the requested resource");
  if (logs)
    return handle_logs(a, conn, ns, pod, ctr);
  return (enum MHD_Result)agent_exec_handle(a, conn, ns, pod, ctr, (void **)*con_cls);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
  void **pending = *con_cls;
  if (!pending)
    return;
  if (*pending)
    agent_exec_abandon(*pending);
  free(pending);
  *con_cls = NULL;
}

int agent_http_start(agent_t *a, berr_t *err)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)a->port) };
  if (inet_pton(AF_INET, a->listen_addr, &sin.sin_addr) != 1)
    return berr_setc(err, EINVAL, "listen address \"%s\": not an IPv4 address", a->listen_addr);
  a->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD
                                | MHD_USE_TLS | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE,
                            0, NULL, NULL, on_request, a, MHD_OPTION_EXTERNAL_LOGGER, net_mhd_log,
                            (void *)"endpoint http", MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
                            MHD_OPTION_HTTPS_MEM_CERT, a->cert_pem, MHD_OPTION_HTTPS_MEM_KEY,
                            a->key_pem, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
                            MHD_OPTION_END);
  if (!a->mhd)
    return berr_set(err, errno ? errno : EADDRINUSE, "endpoint: listen on %s:%d", a->listen_addr,
                    a->port);
  log_info("msg=\"endpoint listening\" addr=%s:%d", a->listen_addr, a->port);
  return 0;
}

void agent_http_stop(agent_t *a)
{
  if (!a->mhd)
    return;
  /* Exec sessions notice `stopping` within a tick and hand their sockets
   * back; MHD cannot stop while an upgraded connection is open. */
  pthread_mutex_lock(&a->lock);
  while (a->sessions > 0)
    pthread_cond_wait(&a->cond, &a->lock);
  pthread_mutex_unlock(&a->lock);
  MHD_stop_daemon(a->mhd);
  a->mhd = NULL;
}
