/* agent_exec.c — `kubectl exec` on this node: GET /exec/NS/POD/CTR upgraded
 * to a WebSocket speaking v5.channel.k8s.io (kubectl-wire.md §8).
 *
 * One session is three parties: MHD's connection thread (it does the TLS and
 * hands us a plain socket), a relay thread (frames in and out), and an exec
 * thread that sits in engine_exec until the process ends. They talk through
 * pipes: client channel 0 → the process's stdin (a [255,0] closes it), its
 * stdout/stderr → channels 1/2, and a last pipe that tells the relay the
 * process is done. Then the relay sends the Status on channel 3 and a Close
 * frame, waits a moment for the client's Close, and hands the socket back
 * to MHD.
 *
 * A tty session's terminal follows the client's: the relay waits (briefly)
 * for kubectl's first resize message on channel 4 and starts the process
 * with that size, so that it never sees another one first; every later
 * resize goes down a pipe of its own to engine_exec's pty relay
 * (engine_exec_opts.resize_fd), which applies it to the pty.
 *
 * engine_exec forks, and this process has threads: each session's engine
 * runs a spawner (engine_spawner_start), a fresh single-threaded berth in
 * which the fork happens, so that no lock held by another thread here is
 * copied into it.
 *
 * A client that goes away early gets its pipes closed (stdin EOF, EPIPE on
 * output; with a tty, ^D and then a hangup once output fails); a process
 * that neither reads nor writes is left to end, as the kubelet leaves it. */
#include "agent/agent_internal.h"
#include "net/mhd_dl.h"
#include "net/ws.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define EXEC_PROTOCOL       "v5.channel.k8s.io"
#define EXEC_TICK_MS        1000
#define EXEC_RESIZE_WAIT_MS 1000 /* tty: how long the first resize is waited for */
#define EXEC_DRAIN_MS       1000 /* after the exit: output still held by the process's children */
#define EXEC_CLOSE_WAIT_MS  1000 /* after our Close: the client's */
#define EXEC_WRITE_MS       30000
#define EXEC_READ_CHUNK     (32 * 1024)

/* The exec thread's half: engine_exec and its result. */
typedef struct exec_job {
  atomic_int refs; /* the relay and the exec thread */
  engine *e;
  char *id;
  char **args;
  engine_exec_opts xo;
  int in_fd, out_fd, err_fd; /* the process's ends */
  int resize_fd;             /* tty: resize messages for engine_exec (xo.resize_fd) */
  int done_w;                /* closed when engine_exec has returned */
  int rc, exit_code;
  berr_t err;
} exec_job_t;

typedef struct exec_session {
  agent_t *a;
  exec_job_t *job;
  char *what; /* "ns/pod/ctr" for logs */
  bool stdin_on, stdout_on, stderr_on, tty;
  int sock;
  struct MHD_UpgradeResponseHandle *urh;
  buf_t rx;  /* bytes from the client not parsed yet */
  buf_t msg; /* a fragmented message being joined */
  int in_w, out_r, err_r, done_r;
  int resize_w;     /* tty: the pipe to engine_exec's pty relay (non-blocking) */
  buf_t in_pending; /* for the process's stdin */
  bool in_close;    /* [255,0] came: close stdin once in_pending is written */
  bool resized, started, exited, client_closed, close_sent;
} exec_session_t;

static void job_unref(exec_job_t *j)
{
  if (!j || atomic_fetch_sub(&j->refs, 1) != 1)
    return;
  engine_close(j->e);
  free(j->id);
  strv_free(j->args);
  berr_clear(&j->err);
  int fds[] = { j->in_fd, j->out_fd, j->err_fd, j->resize_fd, j->done_w };
  for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
    if (fds[i] >= 0)
      close(fds[i]);
  free(j);
}

static void *job_main(void *arg)
{
  exec_job_t *j = arg;
  j->rc = engine_exec(j->e, j->id, &j->xo, j->in_fd, j->out_fd, j->err_fd, &j->exit_code, &j->err);
  /* Our copies of the process's ends: closed, so that the relay sees EOF
   * once the process (and whatever it started) has let go of them. */
  int *fds[] = { &j->in_fd, &j->out_fd, &j->err_fd, &j->resize_fd, &j->done_w };
  for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
    if (*fds[i] >= 0)
      close(steal_fd(*fds[i]));
  job_unref(j);
  return NULL;
}

static void session_free(exec_session_t *s)
{
  if (!s)
    return;
  int fds[] = { s->in_w, s->out_r, s->err_r, s->done_r, s->resize_w };
  for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
    if (fds[i] >= 0)
      close(fds[i]);
  job_unref(s->job);
  buf_free(&s->rx);
  buf_free(&s->msg);
  buf_free(&s->in_pending);
  free(s->what);
  agent_unref(s->a);
  free(s);
}

/* ---- frames out ------------------------------------------------------------------------- */

static bool send_all(exec_session_t *s, const void *data, size_t n)
{
  const char *p = data;
  int64_t deadline = time_mono_ns() + EXEC_WRITE_MS * 1000000LL;
  while (n > 0) {
    ssize_t w = send(s->sock, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return false;
    if (atomic_load(&s->a->stopping) || time_mono_ns() > deadline)
      return false;
    struct pollfd pf = { .fd = s->sock, .events = POLLOUT };
    poll(&pf, 1, EXEC_TICK_MS);
  }
  return true;
}

static bool send_frame(exec_session_t *s, int opcode, const void *data, size_t n)
{
  buf_t b = { 0 };
  ws_frame_append(&b, opcode, data, n, false);
  bool ok = send_all(s, b.data, b.len);
  buf_free(&b);
  return ok;
}

/* One v5 message: the channel byte, then data. */
static bool send_channel(exec_session_t *s, int ch, const void *data, size_t n)
{
  uint8_t *m = xmalloc(n + 1);
  m[0] = (uint8_t)ch;
  if (n)
    memcpy(m + 1, data, n);
  bool ok = send_frame(s, WS_OP_BINARY, m, n + 1);
  free(m);
  return ok;
}

static bool send_close(exec_session_t *s, int code)
{
  if (s->close_sent)
    return true;
  s->close_sent = true;
  uint8_t p[2] = { (uint8_t)(code >> 8), (uint8_t)code };
  return send_frame(s, WS_OP_CLOSE, p, 2);
}

/* "sh -c exit 3" as Kubernetes prints a command: its words joined by spaces. */
static char *command_text(char **args)
{
  buf_t b = { 0 };
  for (size_t i = 0; args && args[i]; i++)
    buf_printf(&b, "%s%s", i ? " " : "", args[i]);
  return b.data ? buf_steal(&b) : xstrdup("");
}

static json_t *exit_status(int code, const char *message)
{
  cleanup_free char *c = xasprintf("%d", code);
  return json_pack("{s:{}, s:s, s:s, s:s, s:{s:[{s:s, s:s}]}}", "metadata", "status", "Failure",
                   "reason", "NonZeroExitCode", "message", message, "details", "causes", "reason",
                   "ExitCode", "message", c);
}

/* The Status for the finished job (channel 3). */
static json_t *job_status(exec_session_t *s)
{
  exec_job_t *j = s->job;
  if (j->rc == 0 && j->exit_code == 0)
    return json_pack("{s:{}, s:s}", "metadata", "status", "Success");
  cleanup_free char *cmd = command_text(j->args);
  if (j->rc == 0) {
    cleanup_free char *msg
        = xasprintf("command terminated with non-zero exit code: error executing command [%s], "
                    "exit code %d",
                    cmd, j->exit_code);
    return exit_status(j->exit_code, msg);
  }
  const char *m = j->err.msg ? j->err.msg : "exec failed";
  /* The command could not be started: the shell's codes, as docker exec. */
  if (j->err.code == ENOENT)
    return exit_status(127, m);
  if (j->err.code == EACCES || j->err.code == ENOEXEC || j->err.code == EISDIR)
    return exit_status(126, m);
  return json_pack("{s:{}, s:s, s:s, s:s, s:i}", "metadata", "status", "Failure", "reason",
                   "InternalError", "message", m, "code", 500);
}

/* ---- frames in ------------------------------------------------------------------------- */

static void on_message(exec_session_t *s, const uint8_t *d, size_t n)
{
  if (n == 0)
    return;
  switch (d[0]) {
  case WS_CH_STDIN:
    if (s->in_w >= 0 && !s->in_close)
      buf_append(&s->in_pending, d + 1, n - 1);
    break;
  case WS_CH_CLOSE:
    if (n >= 2 && d[1] == WS_CH_STDIN)
      s->in_close = true;
    break;
  case WS_CH_RESIZE: {
    cleanup_json json_t *j = json_loadb((const char *)d + 1, n - 1, 0, NULL);
    int64_t w = json_int(j, "Width", 0), h = json_int(j, "Height", 0);
    if (!s->tty || w <= 0 || h <= 0 || w > 0xffff || h > 0xffff) {
      log_debug("msg=\"exec: resize ignored\" target=%s tty=%d width=%lld height=%lld", s->what,
                (int)s->tty, (long long)w, (long long)h);
    } else if (!s->started) {
      s->job->xo.console_cols = (uint16_t)w;
      s->job->xo.console_rows = (uint16_t)h;
      s->resized = true;
    } else if (s->resize_w >= 0 && rt_pty_resize_send(s->resize_w, (uint16_t)h, (uint16_t)w) < 0) {
      /* A full pipe (the relay is behind) or a finished process: the size
       * that matters is a later one. */
      log_debug("msg=\"exec: resize dropped\" target=%s errno=%d", s->what, errno);
    }
    break;
  }
  default:
    break;
  }
}

/* Parses what the client sent; false when the session must end. */
static bool on_client_bytes(exec_session_t *s)
{
  for (;;) {
    ws_frame_t f;
    berr_t err = BERR_INIT;
    ssize_t used = ws_frame_parse((uint8_t *)s->rx.data, s->rx.len, true, &f, &err);
    if (used == 0)
      return true;
    if (used < 0) {
      log_info("msg=\"exec: protocol error\" target=%s err=\"%s\"", s->what, err.msg);
      berr_clear(&err);
      send_close(s, 1002);
      return false;
    }
    bool keep = true;
    switch (f.opcode) {
    case WS_OP_PING:
      keep = send_frame(s, WS_OP_PONG, f.data, f.len);
      break;
    case WS_OP_PONG:
      break;
    case WS_OP_CLOSE:
      s->client_closed = true;
      send_close(s, 1000); /* the answer, unless ours went first */
      keep = false;
      break;
    default:
      /* Data: a whole message, or fragments joined until FIN. */
      if (f.opcode != WS_OP_CONT)
        s->msg.len = 0;
      if (s->msg.len + f.len > WS_MAX_MESSAGE) {
        send_close(s, 1009);
        return false;
      }
      buf_append(&s->msg, f.data, f.len);
      if (f.fin) {
        on_message(s, (const uint8_t *)s->msg.data, s->msg.len);
        s->msg.len = 0;
      }
    }
    memmove(s->rx.data, s->rx.data + used, s->rx.len - (size_t)used);
    s->rx.len -= (size_t)used;
    if (!keep)
      return false;
  }
}

/* Reads from the client; false on EOF, error or Close. */
static bool read_client(exec_session_t *s)
{
  char tmp[16 * 1024];
  ssize_t n = recv(s->sock, tmp, sizeof tmp, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return true;
  if (n <= 0) {
    s->client_closed = true;
    return false;
  }
  buf_append(&s->rx, tmp, (size_t)n);
  return on_client_bytes(s);
}

/* ---- the relay ------------------------------------------------------------------------- */

static int start_job(exec_session_t *s, berr_t *err)
{
  exec_job_t *j = s->job;
  atomic_fetch_add(&j->refs, 1);
  pthread_t t;
  int rc = pthread_create(&t, NULL, job_main, j);
  if (rc) {
    atomic_fetch_sub(&j->refs, 1);
    return berr_set(err, rc, "start the exec thread");
  }
  pthread_detach(t);
  s->started = true;
  log_debug("msg=\"exec: started\" target=%s tty=%d rows=%d cols=%d", s->what, (int)s->tty,
            j->xo.console_rows, j->xo.console_cols);
  return 0;
}

/* Moves output from fd (out or err) to channel ch; false at EOF. */
static bool pump_output(exec_session_t *s, int *fd, int ch, bool *client_ok)
{
  char buf[EXEC_READ_CHUNK];
  ssize_t n = read(*fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return true;
  if (n <= 0) {
    close(steal_fd(*fd));
    return false;
  }
  if (!send_channel(s, ch, buf, (size_t)n))
    *client_ok = false;
  return true;
}

static void write_stdin(exec_session_t *s)
{
  while (s->in_w >= 0 && s->in_pending.len > 0) {
    ssize_t w = write(s->in_w, s->in_pending.data, s->in_pending.len);
    if (w < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (w <= 0) { /* the process closed its stdin */
      s->in_pending.len = 0;
      close(steal_fd(s->in_w));
      return;
    }
    memmove(s->in_pending.data, s->in_pending.data + w, s->in_pending.len - (size_t)w);
    s->in_pending.len -= (size_t)w;
  }
  if (s->in_w >= 0 && s->in_close && s->in_pending.len == 0)
    close(steal_fd(s->in_w));
}

static const char *relay(exec_session_t *s)
{
  int64_t start_by = time_mono_ns() + EXEC_RESIZE_WAIT_MS * 1000000LL, drain_until = 0;
  if (!s->tty) {
    berr_t err = BERR_INIT;
    if (start_job(s, &err) < 0) {
      log_warn("msg=\"exec failed\" target=%s err=\"%s\"", s->what, err.msg);
      berr_clear(&err);
      return "exec thread";
    }
  }
  bool client_ok = true;
  while (client_ok) {
    if (atomic_load(&s->a->stopping)) {
      send_close(s, 1001);
      return "agent stopping";
    }
    if (!s->started && (s->resized || time_mono_ns() >= start_by)) {
      berr_t err = BERR_INIT;
      if (start_job(s, &err) < 0) {
        log_warn("msg=\"exec failed\" target=%s err=\"%s\"", s->what, err.msg);
        berr_clear(&err);
        return "exec thread";
      }
    }
    if (s->exited && ((s->out_r < 0 && s->err_r < 0) || time_mono_ns() >= drain_until))
      break;
    struct pollfd p[5];
    int n = 0, i_sock = n++, i_in = -1, i_out = -1, i_err = -1, i_done = -1;
    p[i_sock] = (struct pollfd){ .fd = s->sock, .events = POLLIN };
    if (s->in_w >= 0 && s->in_pending.len > 0)
      p[i_in = n++] = (struct pollfd){ .fd = s->in_w, .events = POLLOUT };
    if (s->started && s->out_r >= 0)
      p[i_out = n++] = (struct pollfd){ .fd = s->out_r, .events = POLLIN };
    if (s->started && s->err_r >= 0)
      p[i_err = n++] = (struct pollfd){ .fd = s->err_r, .events = POLLIN };
    if (s->started && !s->exited)
      p[i_done = n++] = (struct pollfd){ .fd = s->done_r, .events = POLLIN };
    int timeout = s->started ? EXEC_TICK_MS : 50;
    if (s->exited)
      timeout = 50;
    if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR)
      return "poll";
    if (p[i_sock].revents && !read_client(s))
      return s->client_closed ? "client closed" : "protocol error";
    if (s->in_close || (i_in >= 0 && p[i_in].revents))
      write_stdin(s);
    if (i_out >= 0 && p[i_out].revents)
      pump_output(s, &s->out_r, WS_CH_STDOUT, &client_ok);
    if (i_err >= 0 && p[i_err].revents)
      pump_output(s, &s->err_r, WS_CH_STDERR, &client_ok);
    if (i_done >= 0 && p[i_done].revents) {
      s->exited = true;
      drain_until = time_mono_ns() + EXEC_DRAIN_MS * 1000000LL;
    }
  }
  if (!client_ok)
    return "client write failed";
  exec_job_t *j = s->job;
  if (j->rc < 0) {
    log_info("msg=\"exec: command could not run\" target=%s err=\"%s\"", s->what, j->err.msg);
    /* Shown to the user as docker exec shows it; the Status carries it too. */
    cleanup_free char *line = xasprintf("%s\n", j->err.msg ? j->err.msg : "exec failed");
    int ch = s->stderr_on && !s->tty ? WS_CH_STDERR : WS_CH_STDOUT;
    if (s->stderr_on || s->stdout_on)
      send_channel(s, ch, line, strlen(line));
  }
  cleanup_json json_t *st = job_status(s);
  cleanup_free char *body = json_dumps(st, JSON_COMPACT);
  if (!send_channel(s, WS_CH_STATUS, body, strlen(body)) || !send_close(s, 1000))
    return "client write failed";
  /* The client answers our Close with its own; then the TCP close. */
  int64_t until = time_mono_ns() + EXEC_CLOSE_WAIT_MS * 1000000LL;
  while (!s->client_closed && time_mono_ns() < until) {
    struct pollfd pf = { .fd = s->sock, .events = POLLIN };
    if (poll(&pf, 1, 100) > 0 && !read_client(s))
      break;
  }
  log_info("msg=\"exec done\" target=%s exit_code=%d rc=%d", s->what, j->exit_code, j->rc);
  return "done";
}

/* ---- the session's threads ----------------------------------------------------------------- */

static void session_end(exec_session_t *s)
{
  agent_t *a = s->a;
  agent_ref(a);
  session_free(s);
  pthread_mutex_lock(&a->lock);
  a->sessions--;
  pthread_cond_broadcast(&a->cond);
  pthread_mutex_unlock(&a->lock);
  agent_unref(a);
}

static void *session_main(void *arg)
{
  exec_session_t *s = arg;
  const char *why = relay(s);
  log_debug("msg=\"exec: session over\" target=%s why=\"%s\"", s->what, why);
  MHD_upgrade_action(s->urh, MHD_UPGRADE_ACTION_CLOSE);
  session_end(s);
  return NULL;
}

/* MHD sent the 101. Its TLS forwarding starts only once this returns, so
 * the relay runs on a thread of its own. */
static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
  exec_session_t *s = cls;
  agent_t *a = s->a;
  void **pending = con_cls;
  if (pending && *pending == s)
    *pending = NULL;
  s->sock = sock;
  s->urh = urh;
  if (extra_in_size > 0)
    buf_append(&s->rx, extra_in, extra_in_size);
  pthread_mutex_lock(&a->lock);
  a->sessions++;
  pthread_mutex_unlock(&a->lock);
  pthread_t t;
  if (atomic_load(&a->stopping) || pthread_create(&t, NULL, session_main, s) != 0) {
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    session_end(s);
    return;
  }
  pthread_detach(t);
}

/* ---- the request --------------------------------------------------------------------------- */

static bool lists_token(const char *v, const char *token)
{
  size_t tl = strlen(token);
  while (v && *v) {
    while (*v == ' ' || *v == '\t' || *v == ',')
      v++;
    size_t n = strcspn(v, ","), m = n;
    while (m > 0 && (v[m - 1] == ' ' || v[m - 1] == '\t'))
      m--;
    if (m == tl && !strncasecmp(v, token, tl))
      return true;
    v += n;
  }
  return false;
}

static enum MHD_Result collect_command(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
  if (!strcmp(key, "command"))
    strv_push(cls, value ? value : "");
  return MHD_YES;
}

static int flag(struct MHD_Connection *conn, const char *key, bool *out)
{
  const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
  *out = v && (!strcmp(v, "true") || !strcmp(v, "1"));
  return !v || !*v || *out || !strcmp(v, "false") || !strcmp(v, "0") ? 0 : -1;
}

static int make_pipe(int p[2], berr_t *err)
{
  if (pipe2(p, O_CLOEXEC) < 0)
    return berr_set(err, errno, "pipe");
  return 0;
}

/* The pipes and the job of a session; the process's ends go to the job. */
static int session_prepare(exec_session_t *s, agent_t *a, const char *id, char **args, berr_t *err)
{
  exec_job_t *j = xcalloc(1, sizeof *j);
  atomic_init(&j->refs, 1);
  j->in_fd = j->out_fd = j->err_fd = j->resize_fd = j->done_w = -1;
  s->job = j;
  j->id = xstrdup(id);
  j->args = args;
  j->xo = (engine_exec_opts){
    .args = j->args, .tty = s->tty, .interactive = s->stdin_on, .resize_fd = -1
  };
  if (engine_open(a->engine_root, &j->e, err) < 0 || engine_spawner_start(j->e, err) < 0)
    return -1;
  int p[2];
  if (s->tty) {
    if (make_pipe(p, err) < 0)
      return -1;
    j->resize_fd = p[0];
    s->resize_w = p[1];
    fcntl(s->resize_w, F_SETFL, O_NONBLOCK);
    /* fd 0 (a closed stdin reused) would mean "no resize fd" to engine_exec. */
    if (j->resize_fd == 0) {
      j->resize_fd = fcntl(p[0], F_DUPFD_CLOEXEC, 3);
      close(p[0]);
      if (j->resize_fd < 0)
        return berr_set(err, errno, "dup the resize pipe");
    }
    j->xo.resize_fd = j->resize_fd;
  }
  if (s->stdin_on) {
    if (make_pipe(p, err) < 0)
      return -1;
    j->in_fd = p[0];
    s->in_w = p[1];
    fcntl(s->in_w, F_SETFL, O_NONBLOCK);
  }
  if (s->stdout_on || s->tty) {
    if (make_pipe(p, err) < 0)
      return -1;
    s->out_r = p[0];
    j->out_fd = p[1];
  } else if ((j->out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
    return berr_set(err, errno, "open /dev/null");
  }
  if (s->stderr_on && !s->tty) {
    if (make_pipe(p, err) < 0)
      return -1;
    s->err_r = p[0];
    j->err_fd = p[1];
  } else if ((j->err_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
    return berr_set(err, errno, "open /dev/null");
  }
  if (make_pipe(p, err) < 0)
    return -1;
  s->done_r = p[0];
  j->done_w = p[1];
  return 0;
}

void agent_exec_abandon(void *session)
{
  session_free(session);
}

int agent_exec_handle(agent_t *a, struct MHD_Connection *conn, const char *ns, const char *pod,
                      const char *ctr, void **pending)
{
  const char *upgrade = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Upgrade");
  const char *key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Key");
  const char *proto = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Protocol");
  if (!upgrade || !lists_token(upgrade, "websocket") || !key || !*key)
    return agent_http_status(conn, 400, "BadRequest",
                             "exec needs a WebSocket upgrade (Upgrade: websocket, "
                             "Sec-WebSocket-Protocol: " EXEC_PROTOCOL ")");
  if (!lists_token(proto, EXEC_PROTOCOL))
    return agent_http_status(conn, 400, "BadRequest",
                             "exec supports the WebSocket subprotocol " EXEC_PROTOCOL " only");
  char **args = NULL;
  MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_command, &args);
  cleanup_strv char **owned = args;
  bool in, out, errs, tty;
  if (flag(conn, "stdin", &in) < 0 || flag(conn, "stdout", &out) < 0
      || flag(conn, "stderr", &errs) < 0 || flag(conn, "tty", &tty) < 0)
    return agent_http_status(conn, 400, "BadRequest",
                             "stdin, stdout, stderr and tty must be true or false");
  if (!args || !args[0] || !*args[0])
    return agent_http_status(conn, 400, "BadRequest",
                             "you must specify at least one command for the container");
  if (!in && !out && !errs)
    return agent_http_status(conn, 400, "BadRequest",
                             "you must specify at least one of stdin, stdout, stderr");
  cleanup_free char *id = NULL;
  berr_t err = BERR_INIT;
  pthread_mutex_lock(&a->mgr_lock);
  int rc = a->mgr ? pod_mgr_container(a->mgr, ns, pod, ctr, false, &id, &err)
                  : berr_setc(&err, ESHUTDOWN, "the agent is stopping");
  pthread_mutex_unlock(&a->mgr_lock);
  if (rc < 0)
    return agent_http_error(conn, &err);
  exec_session_t *s = xcalloc(1, sizeof *s);
  agent_ref(a);
  s->a = a;
  s->sock = s->in_w = s->out_r = s->err_r = s->done_r = s->resize_w = -1;
  s->stdin_on = in;
  s->stdout_on = out;
  s->stderr_on = errs;
  s->tty = tty;
  s->what = xasprintf("%s/%s/%s", ns, pod, ctr);
  if (session_prepare(s, a, id, steal_ptr(owned), &err) < 0) {
    session_free(s);
    int ret = agent_http_status(conn, 500, "InternalError", "exec: %s", err.msg);
    berr_clear(&err);
    return ret;
  }
  cleanup_free char *accept = ws_accept_key(key);
  struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgrade, s);
  if (!r) {
    session_free(s);
    return MHD_NO;
  }
  /* MHD adds "Connection: Upgrade" itself. */
  MHD_add_response_header(r, "Upgrade", "websocket");
  MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
  MHD_add_response_header(r, "Sec-WebSocket-Protocol", EXEC_PROTOCOL);
  log_debug("msg=\"exec: upgrading\" target=%s id=%.12s tty=%d stdin=%d", s->what, id, (int)tty,
            (int)in);
  enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, r);
  MHD_destroy_response(r);
  if (ret != MHD_YES)
    session_free(s);
  else
    *pending = s; /* until on_upgrade takes it; freed by agent_exec_abandon if it never comes */
  return ret;
}
