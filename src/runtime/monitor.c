/* monitor.c — berth's side of the per-container monitor: starting a managed
 * container under it.
 *
 *   caller ──vfork──► I (setsid) ──clone(CLONE_VM)──► M ──rt_launch_container──► container
 *     │                exits at once                   │  (container waits in exec.fifo)
 *     │ waitpid(I)                         └─execve──► monitor program (same pid)
 *     └──── reads the report line ◄──────────────────── "ok PID" / "error …"
 *
 * The caller reaps the short-lived I, so a long-lived caller (the agent) is
 * left with no zombie; M is reparented to init (or the nearest subreaper) and
 * lives in its own session, out of reach of the caller's terminal. The
 * container is M's child, so after M execs the monitor program the monitor
 * reaps it and sees its real exit status. I and M share the caller's memory
 * until M executes the monitor program (start_monitor): only the container
 * is a copy of the caller.
 *
 * The monitor program is embedded in berth (embed.S). It is written once to
 * RT_MONITOR_CACHE_DIR/berth-monitor.HASH (a content hash, so every berth
 * build with the same monitor shares one file and every monitor shares its
 * page cache) and executed from there; if that directory is unusable, from a
 * memfd. */
#include "runtime/monitor_proto.h"
#include "runtime/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#endif

#define RT_MONITOR_CACHE_DIR "/run/berth"

void rt_monitor_opts_init(rt_monitor_opts *o)
{
  memset(o, 0, sizeof *o);
  rt_create_opts_init(&o->create);
  o->log_max_files = -1;
}

/* ---- the monitor binary --------------------------------------------------- */

static size_t monitor_size(void)
{
  return (size_t)(rt_monitor_end - rt_monitor_start);
}

/* A 64-bit hash of the embedded program, a word at a time (~0.1 ms), once
 * per process: rt_preload computes it in the spawner, whose forks make the
 * containers. */
static pthread_once_t monitor_hash_once = PTHREAD_ONCE_INIT;
static uint64_t monitor_hash_value;

static void monitor_hash_compute(void)
{
  const unsigned char *p = rt_monitor_start;
  size_t n = monitor_size();
  uint64_t h = 0xcbf29ce484222325ULL ^ n;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  for (; n > 0; p++, n--)
    h = (h ^ *p) * 0x100000001b3ULL;
  monitor_hash_value = h;
}

static uint64_t monitor_hash(void)
{
  pthread_once(&monitor_hash_once, monitor_hash_compute);
  return monitor_hash_value;
}

void rt_monitor_preload(void)
{
  monitor_hash();
}

static int write_all_fd(int fd, const void *data, size_t len)
{
  const char *p = data;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

/* The path of the cached monitor program, written (temp + rename, 0555)
 * when missing. */
static int monitor_binary(char **out, berr_t *err)
{
  char *path = xasprintf(RT_MONITOR_CACHE_DIR "/berth-monitor.%016llx",
                         (unsigned long long)monitor_hash());
  struct stat st;
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == monitor_size()) {
    *out = path;
    return 0;
  }
  cleanup_free char *owned = path;
  if (fs_mkdir_p(RT_MONITOR_CACHE_DIR, 0700, err) < 0)
    return -1;
  cleanup_free char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
  cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0555);
  if (fd < 0)
    return berr_set(err, errno, "create %s", tmp);
  if (write_all_fd(fd, rt_monitor_start, monitor_size()) < 0 || fsync(fd) < 0) {
    int e = errno;
    unlink(tmp);
    return berr_set(err, e, "write %s", tmp);
  }
  close(steal_fd(fd)); /* an fd open for writing would make execve fail (ETXTBSY) */
  if (rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return berr_set(err, e, "rename %s", tmp);
  }
  *out = steal_ptr(owned);
  return 0;
}

/* ---- M: the process that launches the container and becomes the monitor ---- */

typedef struct mchild {
  const rt_monitor_opts *o;
  json_t *config;
  bool tty;
  const char *state_dir;
  const char *bin; /* NULL: exec from a memfd */
  int report;
  pid_t pid;       /* the container, once launched */
  int exec_status; /* 127/126: the launch failed because the command cannot run */
  bool shared_ran; /* set by M, in the caller's memory */
} mchild;

static void __attribute__((noreturn)) child_fail(mchild *c, berr_t *e)
{
  /* The container, if any, goes too: "nothing left behind". */
  if (c->pid > 0) {
    kill(c->pid, SIGKILL);
    while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
      ;
    rt_delete(c->o->create.root, c->o->create.id, true, NULL);
  }
  signal(SIGPIPE, SIG_IGN); /* the caller may be gone */
  cleanup_free char *msg = xstrdup(e && e->msg ? e->msg : "unknown error");
  for (char *p = msg; *p; p++)
    if (*p == '\n')
      *p = ' ';
  int code = e ? e->code : 0;
  cleanup_free char *line
      = c->exec_status ? xasprintf(MON_REPORT_EXEC_ERROR "%d %d %s\n", c->exec_status, code, msg)
                       : xasprintf(MON_REPORT_ERROR "%d %s\n", code, msg);
  write_all_fd(c->report, line, strlen(line));
  _exit(1);
}

/* The caller's signal state must not reach the container: an ignored
 * SIGPIPE or SIGCHLD survives fork and exec, and SIGCHLD ignored would even
 * make the exit status unrecoverable. */
static void reset_signals(void)
{
  struct sigaction dfl = { .sa_handler = SIG_DFL };
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP)
      sigaction(s, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Receives the pty master the launcher sent over sock (SCM_RIGHTS). */
static int recv_master(int sock, berr_t *err)
{
  char byte;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } cm;
  struct msghdr msg = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof cm.buf
  };
  /* The launcher has returned, so the master was sent; wait a little in
   * case it is still in flight. */
  struct pollfd p = { .fd = sock, .events = POLLIN };
  while (poll(&p, 1, 5000) < 0 && errno == EINTR)
    ;
  ssize_t n;
  do
    n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return berr_set(err, errno, "receive the container's terminal");
  struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
  if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS
      || h->cmsg_len != CMSG_LEN(sizeof(int)))
    return berr_set(err, EPROTO, "receive the container's terminal: no descriptor sent");
  int fd;
  memcpy(&fd, CMSG_DATA(h), sizeof fd);
  return fd;
}

/* A SOCK_SEQPACKET socket listening at STATE_DIR/attach.sock. Bound through
 * /proc/self/fd/N/ so that a long state path does not hit sun_path's 108
 * bytes. */
static int attach_listen(const char *state_dir, berr_t *err)
{
  cleanup_close int dfd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return berr_set(err, errno, "open %s", state_dir);
  cleanup_close int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0)
    return berr_set(err, errno, "attach socket");
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/" MON_ATTACH_SOCK, dfd);
  unlinkat(dfd, MON_ATTACH_SOCK, 0);
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0)
    return berr_set(err, errno, "bind %s/" MON_ATTACH_SOCK, state_dir);
  fchmodat(dfd, MON_ATTACH_SOCK, 0600, 0);
  if (listen(s, 16) < 0)
    return berr_set(err, errno, "listen on %s/" MON_ATTACH_SOCK, state_dir);
  return steal_fd(s);
}

static void push_opt(char ***argv, const char *opt, const char *val)
{
  strv_push(argv, opt);
  strv_push(argv, val);
}

static void push_fd(char ***argv, const char *opt, int fd)
{
  cleanup_free char *v = xasprintf("%d", fd);
  push_opt(argv, opt, v);
  fcntl(fd, F_SETFD, 0); /* inherited by the monitor */
}

static void __attribute__((noreturn)) monitor_child(mchild *c)
{
  const rt_monitor_opts *o = c->o;
  const rt_create_opts *co = &o->create;
  berr_t e = BERR_INIT;
  reset_signals();
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) {
    berr_set(&e, errno, "open /dev/null");
    child_fail(c, &e);
  }
  /* Nothing of the caller's terminal stays open here: a monitor holding it
   * would keep `$(berth run -d …)` waiting for EOF. */
  for (int i = 0; i < 3; i++)
    dup2(null, i);
  /* The caller's descriptors (an agent's sockets…) must reach neither the
   * container nor the monitor. */
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  /* Whatever the launch orphans comes back to us (and the monitor, which
   * keeps this across execve, reaps it) instead of going to init. */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  int cons[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 }, in[2] = { -1, -1 };
  rt_launch l = { .root = co->root,
                  .id = co->id,
                  .bundle = co->bundle,
                  .config = c->config,
                  .console_fd = -1,
                  .stdio = { -1, -1, -1 },
                  .wait_start = true,
                  .monitor_pid = getpid(),
                  .exec_status = &c->exec_status };
  if (c->tty) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cons) < 0) {
      berr_set(&e, errno, "console socket");
      child_fail(c, &e);
    }
    l.console_fd = cons[1];
  } else {
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0
        || (o->stdin_open && pipe2(in, O_CLOEXEC) < 0)) {
      berr_set(&e, errno, "pipes for the container's stdio");
      child_fail(c, &e);
    }
    l.stdio[0] = o->stdin_open ? in[0] : null;
    l.stdio[1] = out[1];
    l.stdio[2] = errp[1];
  }
  if (rt_launch_container(&l, &c->pid, &e) < 0) {
    c->pid = 0;
    child_fail(c, &e);
  }
  /* The container's ends are the container's. */
  int theirs[] = { cons[1], out[1], errp[1], in[0] };
  for (size_t i = 0; i < ARRAY_SIZE(theirs); i++)
    if (theirs[i] >= 0)
      close(theirs[i]);
  int master = -1;
  if (c->tty && (master = recv_master(cons[0], &e)) < 0)
    child_fail(c, &e);
  if (cons[0] >= 0)
    close(cons[0]);

  /* The cgroups to watch for OOM kills and to remove after the exit. */
  rt_state st;
  cleanup_strv char **cg = NULL;
  cleanup_free char *oom = NULL;
  if (rt_state_get(co->root, co->id, &st, &e) < 0) {
    berr_wrap(&e, "read the state of %s", co->id);
    child_fail(c, &e);
  }
  if (st.cgroup_path && *st.cgroup_path) {
    cg = cg_dirs(st.cgroup_path);
    oom = cg_oom_file(st.cgroup_path);
  }
  rt_state_free(&st);

  int lsock = attach_listen(c->state_dir, &e);
  if (lsock < 0)
    child_fail(c, &e);

  cleanup_strv char **argv = NULL;
  strv_push(&argv, "berth-monitor");
  push_opt(&argv, MON_OPT_ID, co->id);
  cleanup_free char *pid = xasprintf("%d", (int)c->pid);
  push_opt(&argv, MON_OPT_PID, pid);
  if (c->tty) {
    push_fd(&argv, MON_OPT_PTY, master);
  } else {
    push_fd(&argv, MON_OPT_STDOUT, out[0]);
    push_fd(&argv, MON_OPT_STDERR, errp[0]);
    if (o->stdin_open)
      push_fd(&argv, MON_OPT_STDIN, in[1]);
  }
  push_opt(&argv, MON_OPT_STDIN_OPEN, o->stdin_open ? "1" : "0");
  push_fd(&argv, MON_OPT_ATTACH, lsock);
  push_fd(&argv, MON_OPT_REPORT, c->report);
  if (o->log_path) {
    push_opt(&argv, MON_OPT_LOG, o->log_path);
    cleanup_free char *max = xasprintf(
        "%lld", (long long)(o->log_max_bytes > 0 ? o->log_max_bytes : MON_DEFAULT_LOG_MAX_BYTES));
    cleanup_free char *files
        = xasprintf("%d", o->log_max_files >= 0 ? o->log_max_files : MON_DEFAULT_LOG_MAX_FILES);
    push_opt(&argv, MON_OPT_LOG_MAX, max);
    push_opt(&argv, MON_OPT_LOG_FILES, files);
  }
  push_opt(&argv, MON_OPT_STATE_DIR, c->state_dir);
  if (oom)
    push_opt(&argv, MON_OPT_OOM_FILE, oom);
  for (size_t i = 0; cg && cg[i]; i++)
    push_opt(&argv, MON_OPT_CGROUP_DIR, cg[i]);
  const char *autoremove = json_str(json_object_get(c->config, "annotations"), RT_ANN_AUTOREMOVE);
  if (autoremove && !strcmp(autoremove, "true")) {
    push_opt(&argv, MON_OPT_REMOVE_STATE_DIR, "1");
    if (o->remove_dir)
      push_opt(&argv, MON_OPT_REMOVE_DIR, o->remove_dir);
  }

  char *envp[] = { NULL };
  if (c->bin) {
    execve(c->bin, argv, envp);
    berr_set(&e, errno, "exec %s", c->bin);
  } else {
    int mfd = memfd_create("berth-monitor", MFD_CLOEXEC);
    if (mfd < 0 || write_all_fd(mfd, rt_monitor_start, monitor_size()) < 0) {
      berr_set(&e, errno, "copy the monitor into a memfd");
    } else {
      fexecve(mfd, argv, envp);
      berr_set(&e, errno, "exec the monitor");
    }
  }
  cleanup_free char *sock = path_join(c->state_dir, MON_ATTACH_SOCK);
  unlink(sock);
  child_fail(c, &e);
}

/* ---- the caller --------------------------------------------------------------- */

/* M's stack: M shares the caller's memory until it executes the monitor
 * program, so it runs on a stack of its own (only the pages it touches are
 * ever allocated). */
#define M_STACK_SIZE (8u << 20)

static int monitor_main(void *arg)
{
  mchild *c = arg;
  c->shared_ran = true;
#ifdef __SANITIZE_ADDRESS__
  /* What M allocates stays in the caller's heap, unreachable once M has
   * executed the monitor program; the caller enables this again. */
  __lsan_disable();
#endif
  monitor_child(c);
  return 1;
}

/* I and M, neither a copy of the caller: copying the caller's page tables,
 * faulting its pages back in and tearing them down again at exit or exec
 * took about a quarter of the agent's container spawner's CPU time (perf,
 * 100 pods at once); this way the agent's CPU per pod is 10% lower. I is a
 * vfork() child (in the caller's memory, the caller waiting), and makes M
 * with clone(CLONE_VM | CLONE_VFORK) on its own stack, I waiting until M
 * executes the monitor program (or fails): M still has a parent that exits
 * at once, and the caller none to keep. (Not a vfork() for M too: under
 * AddressSanitizer a nested vfork returns into the wrong one.) Only the
 * container (rt_launch_container) is a copy, as it waits for the start in
 * berth's code. Returns I's pid, reaped by the caller, or -1. */
static pid_t __attribute__((noinline)) start_monitor(mchild *c, int report_read, void *stack)
{
  pid_t mid = vfork();
  if (mid != 0)
    return mid;
  /* I: a new session, then M, then gone. */
  close(report_read);
  setsid();
  if (clone(monitor_main, (char *)stack + M_STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, c) < 0) {
    berr_t e = BERR_INIT;
    berr_set(&e, errno, "start the monitor");
    child_fail(c, &e);
  }
  _exit(0);
}

/* Reads the report line (or up to EOF). */
static char *read_report(int fd)
{
  buf_t b = { 0 };
  char chunk[512];
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    buf_append(&b, chunk, (size_t)r);
    /* Another fork of a threaded caller may hold the write end: do not
     * wait for EOF once the line is complete. */
    if (memchr(chunk, '\n', (size_t)r))
      break;
  }
  return buf_steal(&b);
}

int rt_monitor_create(const rt_monitor_opts *o, pid_t *pid, berr_t *err)
{
  const rt_create_opts *co = &o->create;
  if (!co->root || !co->id || !co->bundle)
    return berr_set(err, EINVAL, "create container: root, id and bundle are required");
  cleanup_free char *state_dir = NULL;
  if (rt_state_dir(co->root, co->id, &state_dir, err) < 0)
    return -1;
  cleanup_json json_t *loaded = NULL;
  json_t *config = co->config;
  if (!config) {
    cleanup_free char *path = path_join(co->bundle, "config.json");
    if (!(config = loaded = json_load_path(path, err)))
      return -1;
  }
  bool tty = json_bool(json_object_get(config, "process"), "terminal", false);
  if (o->log_path) {
    cleanup_free char *copy = xstrdup(o->log_path);
    if (fs_mkdir_p(dirname(copy), 0755, err) < 0)
      return berr_wrap(err, "log directory");
  }
  cleanup_free char *bin = NULL;
  berr_t berr = BERR_INIT;
  if (monitor_binary(&bin, &berr) < 0) {
    log_debug("msg=\"monitor cache unusable, using a memfd\" err=\"%s\"", berr.msg);
    berr_clear(&berr);
  }

  int rep[2];
  if (pipe2(rep, O_CLOEXEC) < 0)
    return berr_set(err, errno, "create container %s: pipe", co->id);
  void *stack = mmap(NULL, M_STACK_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    int e = errno;
    close(rep[0]);
    close(rep[1]);
    return berr_set(err, e, "create container %s: the monitor's stack", co->id);
  }
  mprotect(stack, 4096, PROT_NONE); /* a guard page: M's stack grows down */
  mchild c = {
    .o = o, .config = config, .tty = tty, .state_dir = state_dir, .bin = bin, .report = rep[1]
  };
  pid_t mid = start_monitor(&c, rep[0], stack);
  int fork_errno = errno;
#ifdef __SANITIZE_ADDRESS__
  if (c.shared_ran)
    __lsan_enable(); /* see monitor_main */
  /* The shadow of M's frames must not outlive the mapping. */
  ASAN_UNPOISON_MEMORY_REGION(stack, M_STACK_SIZE);
#endif
  munmap(stack, M_STACK_SIZE);
  if (mid < 0) {
    close(rep[0]);
    close(rep[1]);
    return berr_set(err, fork_errno, "create container %s: fork", co->id);
  }
  close(rep[1]);
  while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
    ;
  cleanup_free char *line = read_report(rep[0]);
  close(rep[0]);

  if (str_has_prefix(line, MON_REPORT_OK)) {
    int64_t p = 0;
    char *nl = strchr(line, '\n');
    if (nl)
      *nl = '\0';
    if (parse_int64(line + strlen(MON_REPORT_OK), &p, NULL) < 0 || p <= 0)
      return berr_set(err, EPROTO, "create container %s: bad monitor report \"%s\"", co->id, line);
    *pid = (pid_t)p;
    if (co->pid_file) {
      cleanup_free char *s = xasprintf("%d", (int)p);
      if (fs_write_atomic(co->pid_file, s, strlen(s), 0644, err) < 0)
        return berr_wrap(err, "pid file");
    }
    return 0;
  }
  char *p = NULL, *end;
  long exec_status = 0;
  if (str_has_prefix(line, MON_REPORT_EXEC_ERROR)) {
    exec_status = strtol(line + strlen(MON_REPORT_EXEC_ERROR), &p, 10);
  } else if (str_has_prefix(line, MON_REPORT_ERROR)) {
    p = line + strlen(MON_REPORT_ERROR);
  }
  if (p) {
    long code = strtol(p, &end, 10);
    if (*end == ' ')
      end++;
    char *nl = strchr(end, '\n');
    if (nl)
      *nl = '\0';
    if (o->exec_status && (exec_status == 126 || exec_status == 127))
      *o->exec_status = (int)exec_status;
    return berr_setc(err, (int)code, "%s", end);
  }
  return berr_set(err, EPROTO, "create container %s: the monitor exited without a report", co->id);
}
