/* spawner.c — a helper process that makes containers and runs execs for a
 * threaded caller.
 *
 * engine_create forks (the runtime's monitor, see docs/monitor.md), and so
 * does engine_exec (rt_exec clones the process to run), and a fork copies
 * every lock as it was at that instant: a lock another thread held (an
 * allocator's — AddressSanitizer's is not fork-safe —, a flock whose fd the
 * child inherits) is held for good in the child, which may then wait
 * forever, or keep a file lock alive until it executes. A caller with
 * threads (the agent: its pod workers create containers in parallel, its
 * HTTP threads run kubectl exec) therefore hands both to this helper, a
 * fresh berth (posix_spawn of /proc/self/exe, hidden verb
 * ENGINE_SPAWNER_VERB) that shares no lock with it:
 *
 *   caller ──SEQPACKET: a request as JSON + fds (SCM_RIGHTS)──► spawner
 *   spawner ──fork──► child: engine_create or engine_exec, answer, exit
 *
 * A request is one message: a JSON object and, in the same message, the
 * reply socket (always first) and the fds the request names.
 *   create  the engine_create_opts ("op" absent or "create"); answer
 *           {"id":…} or {"error":…,"code":errno,"exec_status":126|127|0}
 *   exec    {"op":"exec","id":…, engine_exec_opts' fields,
 *           "fds":["in","out","err","resize"]} listing, in order, the fds
 *           that follow the reply socket (one the caller has as -1 is left
 *           out, and is -1 in the child too); answer {"exit_code":N} once
 *           the process has ended, or {"error":…,"code":errno}
 * The child answers on the reply socket; a caller that sees it close
 * without an answer knows the child died.
 *
 * The spawner never has a second thread, so its children fork safely, and
 * it is small, so those forks are cheap. One child per request keeps
 * creations and execs parallel. The spawner ends when the engine's end of
 * the socket closes (engine_close, or the caller's death), once its
 * children have ended. */
#include "engine/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

/* Requests larger than this (a huge environment) are made in the caller. */
#define SPAWN_MSG_MAX (192 * 1024)
#define REPLY_MAX     (64 * 1024)
#define SPAWN_FDS_MAX 5 /* reply, and exec's in, out, err, resize */

/* ---- options on the wire ------------------------------------------------------ */

static void set_str(json_t *j, const char *key, const char *v)
{
  if (v)
    json_object_set_new(j, key, json_string(v));
}

static void set_strv(json_t *j, const char *key, char *const *v)
{
  if (v)
    json_object_set_new(j, key, strv_to_json(v));
}

static json_t *opts_to_json(const engine_create_opts *o)
{
  json_t *j = json_object();
  set_str(j, "image", o->image);
  set_str(j, "name", o->name);
  set_strv(j, "cmd", o->cmd);
  set_strv(j, "entrypoint", o->entrypoint);
  set_strv(j, "env", o->env);
  set_strv(j, "log_opts", o->log_opts);
  json_t *binds = json_array();
  for (size_t i = 0; i < o->n_binds; i++)
    json_array_append_new(binds, json_pack("{s:s,s:s,s:b}", "host", o->binds[i].host, "ctr",
                                           o->binds[i].ctr, "ro", o->binds[i].ro));
  json_object_set_new(j, "binds", binds);
  set_str(j, "workdir", o->workdir);
  set_str(j, "user", o->user);
  set_str(j, "hostname", o->hostname);
  set_str(j, "netns", o->netns);
  set_str(j, "ipcns", o->ipcns);
  set_str(j, "utsns", o->utsns);
  set_str(j, "cgroup_parent", o->cgroup_parent);
  if (o->labels)
    json_object_set(j, "labels", o->labels);
  json_object_set_new(j, "memory", json_integer(o->memory));
  json_object_set_new(j, "nano_cpus", json_integer(o->nano_cpus));
  json_object_set_new(j, "pids_limit", json_integer(o->pids_limit));
  json_object_set_new(j, "cpu_shares", json_integer(o->cpu_shares));
  json_object_set_new(j, "console_rows", json_integer(o->console_rows));
  json_object_set_new(j, "console_cols", json_integer(o->console_cols));
  const struct {
    const char *key;
    bool v;
  } flags[] = { { "read_only", o->read_only },
                { "init", o->init },
                { "tty", o->tty },
                { "stdin_open", o->stdin_open },
                { "auto_remove", o->auto_remove },
                { "host_network", o->host_network },
                { "no_sync", o->no_sync },
                { "no_start", o->no_start } };
  for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
    json_object_set_new(j, flags[i].key, json_boolean(flags[i].v));
  return j;
}

/* What opts_from_json allocates (strings themselves stay in the JSON). */
typedef struct spawn_req {
  char **cmd, **entrypoint, **env, **log_opts;
  engine_bind *binds;
} spawn_req;

static void spawn_req_free(spawn_req *r)
{
  strv_free(r->cmd);
  strv_free(r->entrypoint);
  strv_free(r->env);
  strv_free(r->log_opts);
  free(r->binds);
}

static int opts_from_json(json_t *j, engine_create_opts *o, spawn_req *r, berr_t *err)
{
  *o = (engine_create_opts){ 0 };
  if (json_to_strv(json_object_get(j, "cmd"), &r->cmd, err) < 0
      || json_to_strv(json_object_get(j, "entrypoint"), &r->entrypoint, err) < 0
      || json_to_strv(json_object_get(j, "env"), &r->env, err) < 0
      || json_to_strv(json_object_get(j, "log_opts"), &r->log_opts, err) < 0)
    return -1;
  json_t *binds = json_object_get(j, "binds");
  r->binds = xcalloc(json_array_size(binds) + 1, sizeof *r->binds);
  size_t i;
  json_t *b;
  json_array_foreach(binds, i, b)
  {
    r->binds[i] = (engine_bind){ (char *)json_str(b, "host"), (char *)json_str(b, "ctr"),
                                 json_bool(b, "ro", false) };
    if (!r->binds[i].host || !r->binds[i].ctr)
      return berr_setc(err, EINVAL, "spawner: bind %zu without host or ctr", i);
  }
  o->image = json_str(j, "image");
  o->name = json_str(j, "name");
  o->cmd = r->cmd;
  o->entrypoint = r->entrypoint;
  o->env = r->env;
  o->log_opts = r->log_opts;
  o->binds = r->binds;
  o->n_binds = json_array_size(binds);
  o->workdir = json_str(j, "workdir");
  o->user = json_str(j, "user");
  o->hostname = json_str(j, "hostname");
  o->netns = json_str(j, "netns");
  o->ipcns = json_str(j, "ipcns");
  o->utsns = json_str(j, "utsns");
  o->cgroup_parent = json_str(j, "cgroup_parent");
  o->labels = json_object_get(j, "labels");
  o->memory = json_int(j, "memory", 0);
  o->nano_cpus = json_int(j, "nano_cpus", 0);
  o->pids_limit = json_int(j, "pids_limit", 0);
  o->cpu_shares = json_int(j, "cpu_shares", 0);
  o->console_rows = (uint16_t)json_int(j, "console_rows", 0);
  o->console_cols = (uint16_t)json_int(j, "console_cols", 0);
  o->read_only = json_bool(j, "read_only", false);
  o->init = json_bool(j, "init", false);
  o->tty = json_bool(j, "tty", false);
  o->stdin_open = json_bool(j, "stdin_open", false);
  o->auto_remove = json_bool(j, "auto_remove", false);
  o->host_network = json_bool(j, "host_network", false);
  o->no_sync = json_bool(j, "no_sync", false);
  o->no_start = json_bool(j, "no_start", false);
  return 0;
}

/* ---- messages ------------------------------------------------------------------- */

/* One message carrying n fds (0 to SPAWN_FDS_MAX). */
static int send_fds(int sock, const char *data, size_t len, const int *fds, size_t n)
{
  struct iovec iov = { (void *)data, len };
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int) * SPAWN_FDS_MAX)];
  } u;
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
  if (n > SPAWN_FDS_MAX) {
    errno = EINVAL;
    return -1;
  }
  if (n > 0) {
    memset(&u, 0, sizeof u);
    msg.msg_control = u.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
  }
  ssize_t w;
  do
    w = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  return w == (ssize_t)len ? 0 : -1;
}

/* One message and the fds it carries, in order (*nfds of them, close-on-
 * exec; ones beyond max are closed); 0 at EOF. */
static ssize_t recv_fds(int sock, char *buf, size_t cap, int *fds, size_t max, size_t *nfds)
{
  *nfds = 0;
  struct iovec iov = { buf, cap };
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int) * SPAWN_FDS_MAX)];
  } u;
  struct msghdr msg
      = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  ssize_t n;
  do
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return n;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (*nfds < max)
        fds[(*nfds)++] = fd;
      else
        close(fd);
    }
  }
  return n;
}

/* The answer to a request, parsed; NULL (err set) when none came. */
static json_t *recv_answer(int sock, const char *what, berr_t *err)
{
  cleanup_free char *ans = xmalloc(REPLY_MAX + 1);
  ssize_t n;
  do
    n = recv(sock, ans, REPLY_MAX, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0) {
    berr_setc(err, EIO, "%s: the container spawner did not answer", what);
    return NULL;
  }
  json_error_t je;
  json_t *j = json_loadb(ans, (size_t)n, 0, &je);
  if (!json_is_object(j)) {
    json_decref(j);
    berr_setc(err, EPROTO, "%s: the container spawner's answer is not a JSON object", what);
    return NULL;
  }
  return j;
}

static json_t *error_answer(const berr_t *err)
{
  return json_pack("{s:s,s:i}", "error", err->msg ? err->msg : "failed", "code", err->code);
}

/* An error answer as the caller's error. */
static int answer_error(json_t *ans, berr_t *err)
{
  return berr_setc(err, (int)json_int(ans, "code", EIO), "%s",
                   json_str(ans, "error") ? json_str(ans, "error")
                                          : "container spawner: bad answer");
}

/* ---- exec requests ---------------------------------------------------------------- */

/* The fds an exec request may carry after the reply socket, in this order. */
static const char *const exec_fd_names[] = { "in", "out", "err", "resize" };

static json_t *exec_to_json(const char *id, const engine_exec_opts *o)
{
  json_t *j = json_pack("{s:s,s:s}", "op", "exec", "id", id);
  set_strv(j, "args", o->args);
  set_strv(j, "env", o->env);
  set_str(j, "workdir", o->workdir);
  set_str(j, "user", o->user);
  json_object_set_new(j, "tty", json_boolean(o->tty));
  json_object_set_new(j, "interactive", json_boolean(o->interactive));
  json_object_set_new(j, "console_rows", json_integer(o->console_rows));
  json_object_set_new(j, "console_cols", json_integer(o->console_cols));
  if (o->timeout_ms > 0)
    json_object_set_new(j, "timeout_ms", json_integer(o->timeout_ms));
  return j;
}

/* A child of the spawner: one engine_exec with the fds that came along
 * (in, out, err, resize as the request's "fds" names them). */
static json_t *serve_exec(const char *root, json_t *req, int *fds, size_t nfds)
{
  berr_t err = BERR_INIT;
  int io[ARRAY_SIZE(exec_fd_names)] = { -1, -1, -1, -1 };
  json_t *names = json_object_get(req, "fds");
  if (json_array_size(names) != nfds)
    berr_setc(&err, EPROTO, "spawner: the exec request names %zu fds but %zu came",
              json_array_size(names), nfds);
  for (size_t i = 0; i < nfds && !err.msg; i++) {
    const char *name = json_string_value(json_array_get(names, i));
    size_t k = 0;
    while (k < ARRAY_SIZE(exec_fd_names) && (!name || strcmp(name, exec_fd_names[k])))
      k++;
    if (k == ARRAY_SIZE(exec_fd_names) || io[k] >= 0) {
      berr_setc(&err, EPROTO, "spawner: exec request: bad fd name \"%s\"", name ? name : "");
      break;
    }
    /* Never one of 0-2 (the spawner's may be closed and reused): stdio is
     * set up by dup2 onto those numbers. */
    io[k] = fds[i] > 2 ? fds[i] : fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
    if (io[k] < 0)
      berr_set(&err, errno, "spawner: fd %d", fds[i]);
  }
  cleanup_strv char **args = NULL, **env = NULL;
  engine *e = NULL;
  int code = 0, rc = -1;
  if (!err.msg && json_to_strv(json_object_get(req, "args"), &args, &err) == 0
      && json_to_strv(json_object_get(req, "env"), &env, &err) == 0) {
    engine_exec_opts o = {
      .args = args,
      .env = env,
      .workdir = json_str(req, "workdir"),
      .user = json_str(req, "user"),
      .tty = json_bool(req, "tty", false),
      .console_rows = (uint16_t)json_int(req, "console_rows", 0),
      .console_cols = (uint16_t)json_int(req, "console_cols", 0),
      .interactive = json_bool(req, "interactive", false),
      .resize_fd = io[3],
      .timeout_ms = json_int(req, "timeout_ms", 0),
    };
    const char *id = json_str(req, "id");
    if (!id)
      berr_setc(&err, EINVAL, "spawner: exec request without an id");
    else if (engine_open(root, &e, &err) == 0)
      rc = engine_exec(e, id, &o, io[0], io[1], io[2], &code, &err);
  }
  engine_close(e);
  json_t *ans = rc == 0 ? json_pack("{s:i}", "exit_code", code) : error_answer(&err);
  berr_clear(&err);
  return ans;
}

/* Sends an exec request; *answer gets the socket its answer comes on. 1
 * when the request cannot go through the spawner. */
static int spawn_exec_send(engine *e, const char *id, const engine_exec_opts *o, int in_fd,
                           int out_fd, int err_fd, int *answer, berr_t *err)
{
  if (e->spawn_fd < 0)
    return 1;
  cleanup_json json_t *req = exec_to_json(id, o);
  int mine_fds[] = { in_fd, out_fd, err_fd, o->tty && o->resize_fd > 0 ? o->resize_fd : -1 };
  int fds[SPAWN_FDS_MAX];
  size_t n = 1; /* fds[0]: the reply socket */
  json_t *names = json_array();
  for (size_t i = 0; i < ARRAY_SIZE(mine_fds); i++) {
    if (mine_fds[i] < 0)
      continue;
    fds[n++] = mine_fds[i];
    json_array_append_new(names, json_string(exec_fd_names[i]));
  }
  json_object_set_new(req, "fds", names);
  cleanup_free char *text = json_dumps(req, JSON_COMPACT);
  if (strlen(text) > SPAWN_MSG_MAX)
    return 1;
  int r[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, r) < 0)
    return berr_set(err, errno, "exec in %s: socketpair", id);
  fds[0] = r[1];
  int sent = send_fds(e->spawn_fd, text, strlen(text), fds, n);
  int en = errno;
  close(r[1]);
  if (sent < 0) {
    close(r[0]);
    log_warn("msg=\"container spawner unreachable\" errno=%d", en);
    return 1;
  }
  *answer = r[0];
  return 0;
}

int engine_exec_finish(int answer, const char *id, int *exit_code, berr_t *err)
{
  cleanup_close int fd = answer;
  cleanup_free char *what = xasprintf("exec in %s", id ? id : "container");
  cleanup_json json_t *ans = recv_answer(fd, what, err);
  if (!ans)
    return -1;
  json_t *code = json_object_get(ans, "exit_code");
  if (!json_is_integer(code))
    return answer_error(ans, err);
  *exit_code = (int)json_integer_value(code);
  return 0;
}

int eng_spawn_exec(engine *e, const char *id, const engine_exec_opts *o, int in_fd, int out_fd,
                   int err_fd, int *exit_code, berr_t *err)
{
  int answer = -1;
  int r = spawn_exec_send(e, id, o, in_fd, out_fd, err_fd, &answer, err);
  if (r != 0)
    return r;
  /* Here until the process has ended: the child answers then. */
  return engine_exec_finish(answer, id, exit_code, err);
}

int engine_exec_begin(engine *e, const char *id, const engine_exec_opts *o, int in_fd, int out_fd,
                      int err_fd, int *answer, berr_t *err)
{
  *answer = -1;
  if (!o->args || !o->args[0])
    return berr_setc(err, EINVAL, "exec: no command given");
  int r = spawn_exec_send(e, id, o, in_fd, out_fd, err_fd, answer, err);
  if (r > 0)
    return berr_setc(err, ENOTSUP, "exec in %s: the container spawner is not running", id);
  return r;
}

/* ---- the spawner ------------------------------------------------------------------ */

/* A child of the spawner: one engine_create. */
static json_t *serve_create(const char *root, json_t *req)
{
  berr_t err = BERR_INIT;
  engine *e = NULL;
  cleanup_free char *id = NULL;
  int exec_status = 0;
  engine_create_opts o;
  spawn_req r = { 0 };
  if (opts_from_json(req, &o, &r, &err) == 0 && engine_open(root, &e, &err) == 0)
    engine_create(e, &o, &id, &exec_status, &err);
  json_t *ans = id ? json_pack("{s:s}", "id", id) : error_answer(&err);
  if (!id)
    json_object_set_new(ans, "exec_status", json_integer(exec_status));
  berr_clear(&err);
  spawn_req_free(&r);
  engine_close(e);
  return ans;
}

/* A child of the spawner: one request, its answer on fds[0], exit. */
static void __attribute__((noreturn))
serve(const char *root, const char *text, size_t len, int *fds, size_t nfds)
{
  /* An exec's output may be a pipe whose reader has gone (the caller's
   * client left): that is an error to report, not a reason to die. */
  struct sigaction ign = { .sa_handler = SIG_IGN };
  sigaction(SIGPIPE, &ign, NULL);
  json_error_t je;
  cleanup_json json_t *req = json_loadb(text, len, 0, &je);
  cleanup_json json_t *ans = NULL;
  const char *op = req ? json_str(req, "op") : NULL;
  berr_t err = BERR_INIT;
  if (!req)
    berr_setc(&err, EINVAL, "spawner: bad request: %s", je.text);
  else if (!op || !strcmp(op, "create"))
    ans = serve_create(root, req);
  else if (!strcmp(op, "exec"))
    ans = serve_exec(root, req, fds + 1, nfds - 1);
  else
    berr_setc(&err, EINVAL, "spawner: unknown request \"%s\"", op);
  if (!ans)
    ans = error_answer(&err);
  berr_clear(&err);
  cleanup_free char *out = json_dumps(ans, JSON_COMPACT);
  send_fds(fds[0], out, strlen(out), NULL, 0);
  _exit(0);
}

static void __attribute__((noreturn)) spawner_main(const char *root, int sock)
{
  prctl(PR_SET_NAME, "berth-spawner", 0, 0, 0);
  /* What each creation would read again from a mount table that grows with
   * the pods: read once here, inherited by every fork. */
  berr_t perr = BERR_INIT;
  if (rt_preload(&perr) < 0)
    log_warn("msg=\"spawner: cannot read the host's mounts\" err=\"%s\"", perr.msg);
  berr_clear(&perr);
  cleanup_free char *rt = eng_rt_root(root);
  sc_preload_default(rt); /* from the cache: a compile only on a fresh root */
  /* None of the caller's handlers (they would run here); a Ctrl-C meant for
   * the caller does not end the spawner (the caller's exit does). */
  struct sigaction dfl = { .sa_handler = SIG_DFL }, ign = { .sa_handler = SIG_IGN };
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      sigaction(sig, &dfl, NULL);
  sigaction(SIGINT, &ign, NULL);
  sigaction(SIGQUIT, &ign, NULL);
  sigaction(SIGHUP, &ign, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  char *buf = xmalloc(SPAWN_MSG_MAX);
  for (;;) {
    struct pollfd p = { .fd = sock, .events = POLLIN };
    int pr = poll(&p, 1, 1000);
    while (waitpid(-1, NULL, WNOHANG) > 0)
      ;
    if (pr <= 0)
      continue;
    int fds[SPAWN_FDS_MAX];
    size_t nfds;
    ssize_t n = recv_fds(sock, buf, SPAWN_MSG_MAX, fds, ARRAY_SIZE(fds), &nfds);
    if (n == 0 || (n < 0 && errno != EAGAIN))
      break; /* the engine is gone */
    if (n < 0 || nfds == 0)
      continue; /* no reply socket: nobody to answer */
    pid_t pid = fork();
    if (pid == 0) {
      close(sock);
      serve(root, buf, (size_t)n, fds, nfds);
    }
    if (pid < 0) { /* answer ourselves: no child for this one */
      char msg[128];
      snprintf(msg, sizeof msg, "{\"error\":\"spawner: fork: %s\",\"code\":%d}", strerror(errno),
               errno);
      send_fds(fds[0], msg, strlen(msg), NULL, 0);
    }
    /* The child has them (an exec's stdio among them): ours would keep a
     * pipe open after the caller and the process have let go of it. */
    for (size_t i = 0; i < nfds; i++)
      close(fds[i]);
  }
  while (waitpid(-1, NULL, 0) > 0)
    ;
  _exit(0);
}

int engine_spawner_start(engine *e, berr_t *err)
{
  if (e->spawn_fd >= 0)
    return 0;
  int s[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s) < 0)
    return berr_set(err, errno, "container spawner: socketpair");
  /* A fresh program, not a fork: the caller may already have threads (the
   * API server's, with --with-agent), and a fork would copy their locks. */
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, s[1], 3);
  posix_spawn_file_actions_addclosefrom_np(&fa, 4);
  char *argv[] = { "berth", (char *)ENGINE_SPAWNER_VERB, e->root, NULL };
  pid_t pid;
  /* $BERTH_EXE: for programs that embed the engine without being berth
   * (the unit tests). */
  const char *exe = getenv("BERTH_EXE");
  if (!exe || !*exe)
    exe = "/proc/self/exe";
  /* LD_BIND_NOW: the dynamic linker resolves every symbol once, in the
   * spawner, instead of on first use in each of its forks (a fifth of
   * their user time went to lazy binding). Nothing the spawner's forks
   * execute sees it: the monitor and the container get environments of
   * their own. */
  size_t n_env = 0;
  while (environ[n_env])
    n_env++;
  char **envp = xcalloc(n_env + 2, sizeof *envp);
  memcpy(envp, environ, n_env * sizeof *envp);
  if (!getenv("LD_BIND_NOW"))
    envp[n_env] = "LD_BIND_NOW=1";
  int rc = posix_spawn(&pid, exe, &fa, NULL, argv, envp);
  free(envp);
  posix_spawn_file_actions_destroy(&fa);
  close(s[1]);
  if (rc != 0) {
    close(s[0]);
    return berr_set(err, rc, "container spawner: spawn %s", exe);
  }
  e->spawn_fd = s[0];
  e->spawn_pid = pid;
  log_debug("msg=\"container spawner started\" pid=%d", (int)pid);
  return 0;
}

int engine_spawner_main(const char *root)
{
  spawner_main(root, 3);
}

void engine_spawner_stop(engine *e)
{
  if (e->spawn_fd < 0)
    return;
  close(e->spawn_fd);
  e->spawn_fd = -1;
  while (waitpid(e->spawn_pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

int eng_spawn_create(engine *e, const engine_create_opts *o, char **id, int *exec_status,
                     berr_t *err)
{
  if (e->spawn_fd < 0)
    return 1;
  cleanup_json json_t *req = opts_to_json(o);
  cleanup_free char *text = json_dumps(req, JSON_COMPACT);
  if (strlen(text) > SPAWN_MSG_MAX)
    return 1;
  int r[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, r) < 0)
    return berr_set(err, errno, "create container from %s: socketpair", o->image);
  cleanup_close int mine = r[0];
  int sent = send_fds(e->spawn_fd, text, strlen(text), &r[1], 1);
  int en = errno;
  close(r[1]);
  if (sent < 0) {
    log_warn("msg=\"container spawner unreachable, creating in-process\" errno=%d", en);
    return 1;
  }
  cleanup_free char *what = xasprintf("create container from %s", o->image);
  cleanup_json json_t *j = recv_answer(mine, what, err);
  if (!j)
    return -1;
  if (json_str(j, "id")) {
    *id = xstrdup(json_str(j, "id"));
    return 0;
  }
  int st = (int)json_int(j, "exec_status", 0);
  if (exec_status && (st == 126 || st == 127))
    *exec_status = st;
  return answer_error(j, err);
}
