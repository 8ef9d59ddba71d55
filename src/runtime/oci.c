/* oci.c — the verbs of the OCI runtime command line over a state directory:
 * create, start, run, kill, delete (state and list are in state.c, exec in
 * exec.c). Each is a short sequence over linux.c and state.c; the CLI
 * (src/cli/runtime.c) only parses arguments and prints. */
#include "runtime/launch.h"

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

void rt_create_opts_init(rt_create_opts *o)
{
  memset(o, 0, sizeof *o);
  o->root = RT_DEFAULT_ROOT;
  o->console_fd = -1;
  o->stdio[0] = o->stdio[1] = o->stdio[2] = -1;
}

static const char *root_of(const char *root)
{
  return root && *root ? root : RT_DEFAULT_ROOT;
}

static json_t *load_config(const rt_create_opts *o, berr_t *err)
{
  if (o->config)
    return json_incref(o->config);
  cleanup_free char *path = path_join(o->bundle && *o->bundle ? o->bundle : ".", "config.json");
  return json_load_path(path, err);
}

static int write_pid_file(const char *path, pid_t pid, berr_t *err)
{
  if (!path || !*path)
    return 0;
  char buf[32];
  snprintf(buf, sizeof buf, "%d", (int)pid);
  return st_write_file(path, buf, err);
}

static int launch(const rt_create_opts *o, json_t *config, bool wait_start, int console_fd,
                  int *exec_status, pid_t *pid, berr_t *err)
{
  rt_launch l = { .root = root_of(o->root),
                  .id = o->id,
                  .bundle = o->bundle,
                  .config = config,
                  .console_fd = console_fd,
                  .stdio = { o->stdio[0], o->stdio[1], o->stdio[2] },
                  .wait_start = wait_start,
                  .exec_status = exec_status };
  if (rt_launch_container(&l, pid, err) < 0)
    return -1;
  if (write_pid_file(o->pid_file, *pid, err) < 0) {
    berr_t e2 = BERR_INIT;
    rt_delete(l.root, o->id, true, &e2);
    berr_clear(&e2);
    return -1;
  }
  return 0;
}

int rt_create(const rt_create_opts *o, pid_t *pid, berr_t *err)
{
  cleanup_json json_t *config = load_config(o, err);
  if (!config)
    return -1;
  return launch(o, config, true, o->console_fd, NULL, pid, err);
}

int rt_start(const char *root, const char *id, berr_t *err)
{
  root = root_of(root);
  rt_state st;
  if (rt_state_get(root, id, &st, err) < 0)
    return -1;
  rt_status status = st.status;
  pid_t pid = st.pid;
  rt_state_free(&st);
  if (status != RT_CREATED) {
    return berr_setc(err, status == RT_STOPPED ? ESRCH : EBUSY, "container %s is %s, not created",
                     id, rt_status_name(status));
  }
  cleanup_free char *dir = NULL;
  rt_state_dir(root, id, &dir, NULL);
  cleanup_free char *fifo = path_join(dir, "exec.fifo");
  cleanup_close int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return berr_set(err, errno, "start %s: open %s", id, fifo);
  /* Our open lets the container's blocked open(O_WRONLY) through; it then
     writes one byte and executes. */
  for (;;) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r = poll(&p, 1, 100);
    if (r < 0 && errno != EINTR)
      return berr_set(err, errno, "start %s: poll", id);
    if (r > 0) {
      char c;
      if (read(fd, &c, 1) == 1)
        break;
      return berr_setc(err, ECHILD, "start %s: the container process exited", id);
    }
    if (kill(pid, 0) < 0 && errno == ESRCH)
      return berr_setc(err, ECHILD, "start %s: the container process exited", id);
  }
  unlink(fifo);
  cleanup_json json_t *sj = st_load(root, id, err);
  if (!sj)
    return -1;
  cleanup_free char *now = time_rfc3339(time_now_ns());
  json_object_set_new(sj, "started", json_string(now));
  return st_save(root, id, sj, err);
}

/* Removes what a container left: cgroups and the runtime's files. */
static int cleanup_container(const char *root, const char *id, const char *cgroup_path, berr_t *err)
{
  if (cgroup_path && cg_destroy(cgroup_path, err) < 0)
    return berr_wrap(err, "delete %s", id);
  cleanup_free char *dir = NULL;
  if (rt_state_dir(root, id, &dir, err) < 0)
    return -1;
  st_remove(dir);
  return 0;
}

int rt_run(const rt_create_opts *o, bool detach, int *exit_code, berr_t *err)
{
  *exit_code = -1;
  cleanup_json json_t *config = load_config(o, err);
  if (!config)
    return -1;
  bool tty = json_bool(json_object_get(config, "process"), "terminal", false);
  int console_fd = o->console_fd;
  int sv[2] = { -1, -1 };
  if (tty && console_fd < 0) {
    if (detach)
      return berr_setc(err, EINVAL, "process.terminal with --detach needs a console socket");
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
      return berr_set(err, errno, "socketpair");
    console_fd = sv[1];
  }

  /* Signals sent to us are for the container: take them synchronously. */
  sigset_t fwd, old;
  sigemptyset(&fwd);
  int fwd_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD };
  for (size_t i = 0; i < ARRAY_SIZE(fwd_sigs); i++)
    sigaddset(&fwd, fwd_sigs[i]);
  if (!detach)
    sigprocmask(SIG_BLOCK, &fwd, &old);

  pid_t pid;
  int exec_status = 0;
  int rc = launch(o, config, false, console_fd, &exec_status, &pid, err);
  if (sv[1] >= 0)
    close(sv[1]);
  if (rc < 0) {
    if (exec_status)
      *exit_code = exec_status;
    if (sv[0] >= 0)
      close(sv[0]);
    if (!detach)
      sigprocmask(SIG_SETMASK, &old, NULL);
    return -1;
  }
  if (detach) {
    *exit_code = 0;
    return 0;
  }
  if (sv[0] >= 0) {
    int master = -1;
    berr_t e2 = BERR_INIT;
    if (rt_console_recv(sv[0], &master, &e2) == 0) {
      rt_relay_pty(master, 0, 1, &e2);
      close(master);
    }
    berr_clear(&e2);
    close(sv[0]);
  }
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      break;
    if (r < 0 && errno != EINTR) {
      status = 0;
      break;
    }
    siginfo_t si;
    int sig = sigwaitinfo(&fwd, &si);
    if (sig > 0 && sig != SIGCHLD)
      kill(pid, sig);
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  *exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);

  rt_state st;
  cleanup_free char *cgpath = NULL;
  if (rt_state_get(o->root, o->id, &st, NULL) == 0) {
    cgpath = st.cgroup_path ? xstrdup(st.cgroup_path) : NULL;
    rt_state_free(&st);
  }
  return cleanup_container(root_of(o->root), o->id, cgpath, err);
}

/* A pidfd for the container's init, verified against the recorded start
 * time so that a reused pid is never signalled. -1 with ESRCH when gone. */
static int init_pidfd(const char *root, const char *id, berr_t *err)
{
  cleanup_json json_t *sj = st_load(root, id, err);
  if (!sj)
    return -1;
  pid_t pid = (pid_t)json_int(sj, "pid", 0);
  uint64_t start = (uint64_t)json_int(sj, "pidStartTime", 0);
  int fd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
  if (fd >= 0 && !proc_alive(pid, start)) {
    close(fd);
    fd = -1;
    errno = ESRCH;
  }
  if (fd < 0) {
    berr_setc(err, ESRCH, "container %s is not running", id);
  }
  return fd;
}

int rt_kill(const char *root, const char *id, int sig, bool all, berr_t *err)
{
  root = root_of(root);
  rt_state st;
  if (rt_state_get(root, id, &st, err) < 0)
    return -1;
  rt_status status = st.status;
  cleanup_free char *cgpath = st.cgroup_path ? xstrdup(st.cgroup_path) : NULL;
  rt_state_free(&st);
  if (status != RT_CREATED && status != RT_RUNNING) {
    berr_setc(err, ESRCH, "container %s is not running", id);
    return -1;
  }
  if (all && cgpath)
    return cg_signal_all(cgpath, sig, err);
  cleanup_close int fd = init_pidfd(root, id, err);
  if (fd < 0)
    return -1;
  if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0)
    return berr_set(err, errno, "kill %s", id);
  return 0;
}

int rt_delete(const char *root, const char *id, bool force, berr_t *err)
{
  root = root_of(root);
  rt_state st;
  if (rt_state_get(root, id, &st, err) < 0)
    return -1;
  rt_status status = st.status;
  cleanup_free char *cgpath = st.cgroup_path ? xstrdup(st.cgroup_path) : NULL;
  rt_state_free(&st);
  if (status == RT_RUNNING && !force) {
    berr_setc(err, EBUSY, "container %s is running: stop it first or force the delete", id);
    return -1;
  }
  if (status != RT_STOPPED) {
    berr_t e2 = BERR_INIT;
    if (cgpath && cg_signal_all(cgpath, SIGKILL, &e2) < 0)
      berr_clear(&e2);
    int fd = init_pidfd(root, id, &e2);
    berr_clear(&e2);
    if (fd >= 0) {
      syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
      /* the pidfd turns readable when the process has exited */
      struct pollfd p = { .fd = fd, .events = POLLIN };
      poll(&p, 1, 10000);
      close(fd);
    }
  }
  return cleanup_container(root, id, cgpath, err);
}

/* ---- signals ------------------------------------------------------------------------------ */

static const struct {
  const char *name;
  int sig;
} signals[] = {
  { "HUP", SIGHUP },       { "INT", SIGINT },   { "QUIT", SIGQUIT },     { "ILL", SIGILL },
  { "TRAP", SIGTRAP },     { "ABRT", SIGABRT }, { "IOT", SIGIOT },       { "BUS", SIGBUS },
  { "FPE", SIGFPE },       { "KILL", SIGKILL }, { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
  { "USR2", SIGUSR2 },     { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },     { "TERM", SIGTERM },
  { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },     { "STOP", SIGSTOP },
  { "TSTP", SIGTSTP },     { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },     { "URG", SIGURG },
  { "XCPU", SIGXCPU },     { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
  { "WINCH", SIGWINCH },   { "IO", SIGIO },     { "POLL", SIGPOLL },     { "PWR", SIGPWR },
  { "SYS", SIGSYS },
};

int rt_parse_signal(const char *s, int *sig, berr_t *err)
{
  if (!s || !*s)
    return berr_setc(err, EINVAL, "empty signal");
  if (s[0] >= '0' && s[0] <= '9') {
    int64_t n;
    if (parse_int64(s, &n, NULL) < 0 || n < 1 || n > SIGRTMAX)
      return berr_setc(err, EINVAL, "invalid signal \"%s\"", s);
    *sig = (int)n;
    return 0;
  }
  char up[32];
  size_t n = strlen(s);
  if (n >= sizeof up)
    return berr_setc(err, EINVAL, "invalid signal \"%s\"", s);
  for (size_t i = 0; i <= n; i++)
    up[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
  const char *name = str_has_prefix(up, "SIG") ? up + 3 : up;
  for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
    if (!strcmp(signals[i].name, name)) {
      *sig = signals[i].sig;
      return 0;
    }
  /* RTMIN, RTMIN+N, RTMAX, RTMAX-N */
  int base = str_has_prefix(name, "RTMIN")   ? SIGRTMIN
             : str_has_prefix(name, "RTMAX") ? SIGRTMAX
                                             : 0;
  if (base) {
    const char *rest = name + 5;
    int64_t off = 0;
    if (*rest && ((*rest != '+' && *rest != '-') || parse_int64(rest + 1, &off, NULL) < 0))
      return berr_setc(err, EINVAL, "invalid signal \"%s\"", s);
    int v = *rest == '-' ? base - (int)off : base + (int)off;
    if (v < SIGRTMIN || v > SIGRTMAX)
      return berr_setc(err, EINVAL, "invalid signal \"%s\"", s);
    *sig = v;
    return 0;
  }
  return berr_setc(err, EINVAL, "unknown signal \"%s\"", s);
}
