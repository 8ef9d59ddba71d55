/* exec.c — a second process in a running container (`container exec`).
 *
 * exec builds an OCI "process" object from the container's config with the
 * caller's changes (env merged key by key, cwd, user resolved against the
 * container's own layers) and hands it to rt_exec; with a tty the runtime
 * sends the pty master back over a socketpair (OCI's console socket) and
 * rt_relay_pty_resizing copies between it and the caller's terminal (or
 * pipes), resizing the pty from the caller's resize_fd.
 *
 * rt_exec forks: with the engine's spawner running (a threaded caller, the
 * agent) all of this happens in a child of the spawner instead
 * (eng_spawn_exec, spawner.c), and this process only waits for its answer. */
#include "engine/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Receives one fd sent with SCM_RIGHTS. */
static int recv_fd(int sock, berr_t *err)
{
  char byte;
  struct iovec iov = { &byte, 1 };
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr msg
      = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  ssize_t r;
  do
    r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return berr_set(err, errno, "receive the pty master");
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (r == 0 || !c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
    return berr_setc(err, EPROTO, "receive the pty master: the runtime sent no fd");
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

/* Layers of a container, bottom first, with its own upper layer on top, for
 * resolving a user name the way the container sees /etc/passwd. */
static char **container_layers(json_t *config)
{
  json_t *ann = json_object_get(config, "annotations");
  const char *lower = json_str(ann, "berth.overlay.lowerdir");
  const char *upper = json_str(ann, "berth.overlay.upperdir");
  char **v = xcalloc(1, sizeof *v);
  cleanup_strv char **top_first = NULL;
  cleanup_free char *copy = lower ? xstrdup(lower) : NULL;
  for (char *p = copy, *tok; p && (tok = strsep(&p, ":"));)
    if (*tok)
      strv_push(&top_first, tok);
  for (size_t n = strv_len(top_first); n-- > 0;)
    strv_push(&v, top_first[n]);
  if (upper)
    strv_push(&v, upper);
  return v;
}

static int build_process(engine *e, const char *id, const engine_exec_opts *o, json_t **out,
                         berr_t *err)
{
  cleanup_free char *cfgp = eng_ctr_file(e, id, "config.json");
  cleanup_json json_t *config = json_load_path(cfgp, err);
  if (!config)
    return -1;
  json_t *cproc = json_object_get(config, "process");
  json_t *p = json_object();
  json_object_set_new(p, "args", strv_to_json(o->args));
  json_object_set_new(p, "terminal", json_boolean(o->tty));
  eng_console_size(p, o->tty, o->console_rows, o->console_cols);

  cleanup_strv char **env = NULL;
  if (json_to_strv(json_object_get(cproc, "env"), &env, err) < 0)
    return berr_wrap(err, "%s", cfgp);
  if (o->tty) {
    const char *term = "TERM=xterm";
    strv_push(&env, term); /* overridden below by -e TERM=… or an image's TERM */
  }
  for (size_t i = 0; o->env && o->env[i]; i++) {
    const char *eq = strchr(o->env[i], '=');
    if (!eq || eq == o->env[i]) {
      json_decref(p);
      return berr_setc(err, EINVAL, "invalid environment variable \"%s\": expected KEY=VALUE",
                       o->env[i]);
    }
    strv_push(&env, o->env[i]);
  }
  /* Later entries win: keep the last value of each key, in first-seen order. */
  json_t *je = json_array();
  for (size_t i = 0; env && env[i]; i++) {
    size_t klen = strcspn(env[i], "=");
    bool later = false;
    for (size_t j = i + 1; env[j] && !later; j++)
      later = !strncmp(env[j], env[i], klen) && env[j][klen] == '=';
    if (!later)
      json_array_append_new(je, json_string(env[i]));
  }
  json_object_set_new(p, "env", je);

  if (o->workdir) {
    if (o->workdir[0] != '/') {
      json_decref(p);
      return berr_setc(err, EINVAL, "working directory %s must be absolute", o->workdir);
    }
    json_object_set_new(p, "cwd", json_string(o->workdir));
  } else if (json_str(cproc, "cwd")) {
    json_object_set(p, "cwd", json_object_get(cproc, "cwd"));
  }
  if (o->user) {
    cleanup_strv char **layers = container_layers(config);
    uint32_t uid, gid;
    cleanup_strv char **gids = NULL;
    cleanup_free char *home = NULL;
    if (engine_resolve_user(layers, o->user, &uid, &gid, &gids, &home, err) < 0) {
      json_decref(p);
      return -1;
    }
    json_t *ju = json_pack("{s:I,s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid);
    if (gids) {
      json_t *a = json_array();
      for (size_t i = 0; gids[i]; i++)
        json_array_append_new(a, json_integer(strtoll(gids[i], NULL, 10)));
      json_object_set_new(ju, "additionalGids", a);
    }
    json_object_set_new(p, "user", ju);
  }
  *out = p;
  return 0;
}

/* True once the child pid has ended (not reaped), false after ms without
 * that. */
static bool wait_until(pid_t pid, int64_t ms)
{
  cleanup_close int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  int64_t deadline = time_mono_ns() + ms * 1000000;
  for (;;) {
    siginfo_t si = { 0 };
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
      return true;
    int64_t left = (deadline - time_mono_ns()) / 1000000;
    if (left <= 0)
      return false;
    if (pfd >= 0) {
      struct pollfd p = { .fd = pfd, .events = POLLIN };
      poll(&p, 1, left > 1000 ? 1000 : (int)left);
    } else {
      usleep(10000); /* no pidfds (before Linux 5.3): look every 10 ms */
    }
  }
}

int engine_exec(engine *e, const char *id, const engine_exec_opts *o, int in_fd, int out_fd,
                int err_fd, int *exit_code, berr_t *err)
{
  if (!o->args || !o->args[0])
    return berr_setc(err, EINVAL, "exec: no command given");
  int sr = eng_spawn_exec(e, id, o, in_fd, out_fd, err_fd, exit_code, err);
  if (sr <= 0)
    return sr;
  cleanup_json json_t *meta = NULL;
  if (eng_meta_load(e, id, &meta, err) < 0)
    return -1;
  const char *name = json_str(meta, "name") ? json_str(meta, "name") : id;
  rt_status s;
  if (eng_status(e, id, &s, err) < 0)
    return -1;
  if (s != RT_RUNNING)
    return berr_setc(err, ESRCH, "container %s is not running", name);

  cleanup_json json_t *proc = NULL;
  if (build_process(e, id, o, &proc, err) < 0)
    return berr_wrap(err, "exec in %s", name);

  rt_exec_opts xo;
  rt_exec_opts_init(&xo);
  xo.process = proc;
  cleanup_close int devnull = -1, sock_parent = -1, sock_child = -1, master = -1;
  if (o->tty) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
      return berr_set(err, errno, "exec in %s: socketpair", name);
    sock_parent = sv[0];
    sock_child = sv[1];
    xo.console_fd = sock_child;
  } else {
    if (!o->interactive || in_fd < 0) {
      devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (devnull < 0)
        return berr_set(err, errno, "open /dev/null");
    }
    xo.stdio[0] = devnull >= 0 ? devnull : in_fd;
    xo.stdio[1] = out_fd;
    xo.stdio[2] = err_fd;
  }
  pid_t pid = 0;
  if (rt_exec(e->rt, id, &xo, &pid, err) < 0)
    return berr_wrap(err, "exec in %s", name);

  int rc = 0;
  if (o->tty) {
    close(steal_fd(sock_child));
    master = recv_fd(sock_parent, err);
    if (master < 0) {
      kill(pid, SIGKILL);
      rc = -1;
    } else if (rt_relay_pty_resizing(master, o->interactive ? in_fd : -1, out_fd,
                                     o->resize_fd > 0 ? o->resize_fd : -1, err)
               < 0) {
      rc = -1;
    }
    /* Nobody reads the terminal any more: a process still running (the
     * relay failed, its output has nowhere to go) gets the hangup. */
    if (master >= 0)
      close(steal_fd(master));
  }
  int status = 0;
  if (!o->tty && o->timeout_ms > 0 && !wait_until(pid, o->timeout_ms)) {
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
    return berr_setc(err, ETIMEDOUT, "exec in %s: the command did not end within %lldms: killed",
                     name, (long long)o->timeout_ms);
  }
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return berr_set(err, errno, "exec in %s: wait for pid %d", name, (int)pid);
  }
  if (rc < 0)
    return berr_wrap(err, "exec in %s", name);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return 0;
}
