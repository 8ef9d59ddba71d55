/* linux.c — rt_launch_container(): one clone(2) with every CLONE_NEW* flag,
 * and the child's setup sequence.
 *
 * Fast path by design (a start is measured against crun):
 *  - no re-exec of berth: a raw clone without a new stack (fork-like), all
 *    namespaces at once; everything the child needs (parsed spec, seccomp
 *    program, sealed stub memfd, cgroup mount plan) is prepared before it;
 *  - no cgroup migration under the kernel's global lock, which waits for an
 *    RCU grace period (7-15 ms here, more than a whole start): the child is
 *    cloned with clone3(CLONE_INTO_CGROUP) into the cgroup2 part and moves
 *    itself into the v1 hierarchies by writing "0" to their tasks files
 *    (cg_join_*, cgroup.c) — first thing, before it unshares its cgroup
 *    namespace, so nothing of the container ever runs outside its cgroup;
 *  - one SOCK_SEQPACKET pair carries "ready" or an error (with its whole
 *    message) up; EOF means the child executed the stub.
 *
 * Security: the child is not dumpable from its first instruction (so a
 * container process can never open /proc/PID/exe of berth), resets its
 * signal mask, marks every inherited fd close-on-exec and ends by executing
 * the stub from a sealed memfd (process.c). */
#include "runtime/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the sync channel --------------------------------------------------------------- */

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

struct sync_msg {
  int32_t kind, status, code;
  char text[];
};

pid_t raw_clone(unsigned long flags, int cgroup_fd, bool *into_cgroup)
{
  *into_cgroup = false;
  if (cgroup_fd >= 0) {
    struct {
      uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
          set_tid_size, cgroup;
    } args = { .flags = flags | CLONE_INTO_CGROUP,
               .exit_signal = SIGCHLD,
               .cgroup = (uint64_t)cgroup_fd };
    pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0) {
      *into_cgroup = true;
      return pid;
    }
    if (errno != ENOSYS && errno != E2BIG && errno != EPERM)
      return -1;
  }
  return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

int sync_send_ready(int fd)
{
  struct sync_msg m = { .kind = SYNC_READY };
  return send(fd, &m, sizeof m, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

void sync_send_error(int fd, int kind, int status, const berr_t *err)
{
  const char *text = err && err->msg ? err->msg : "unknown error";
  size_t n = strlen(text);
  if (n > 60000)
    n = 60000;
  struct sync_msg *m = xmalloc(sizeof *m + n);
  m->kind = kind;
  m->status = status;
  m->code = err ? err->code : 0;
  memcpy(m->text, text, n);
  send(fd, m, sizeof *m + n, MSG_NOSIGNAL);
  free(m);
}

int sync_wait(int fd, bool want_ready, int *exec_status, berr_t *err)
{
  ssize_t len;
  do
    len = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
  while (len < 0 && errno == EINTR);
  if (len < 0)
    return berr_set(err, errno, "read from the container process");
  if (len == 0) {
    if (want_ready)
      return berr_setc(err, ECHILD, "the container process exited during its setup");
    return 0; /* the stub runs: close-on-exec closed the channel */
  }
  cleanup_free struct sync_msg *m = xcalloc(1, (size_t)len + 1);
  if (recv(fd, m, (size_t)len, 0) != len || (size_t)len < sizeof *m)
    return berr_setc(err, EPROTO, "read from the container process: short message");
  if (m->kind == SYNC_READY)
    return want_ready ? 0 : berr_setc(err, EPROTO, "unexpected message from the container");
  ((char *)m)[len] = '\0';
  berr_setc(err, m->code, "%s", m->text);
  if (m->kind == SYNC_EXEC_ERROR && exec_status)
    *exec_status = m->status;
  return -1;
}

/* ---- the child --------------------------------------------------------------------------- */

typedef struct launch_ctx {
  const rt_launch *l;
  rt_spec spec;
  mnt_plan plan;
  sc_filter filter;
  bool has_filter;
  int sync[2]; /* [0] parent's end, [1] child's */
  int fifo_fd; /* O_PATH exec.fifo, or -1 */
  int stub_fd;
  cg_join join;     /* open cgroup files to join without the global lock */
  bool into_cgroup; /* cloned straight into the cgroup2 part */
} launch_ctx;

/* Joins the container's cgroups (the v1 hierarchies by writing "0" to their
 * tasks files; cgroup2 was joined by the clone), then enters a new cgroup
 * namespace rooted there. Before anything of the container runs. */
static int join_cgroup(launch_ctx *c, berr_t *err)
{
  int r = cg_join_self(&c->join, c->into_cgroup);
  if (r < 0)
    return berr_set(err, -r, "join the container's cgroup");
  if ((c->spec.ns_create & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
    return berr_set(err, errno, "create the cgroup namespace");
  return 0;
}

static void reset_signals(void)
{
  static const int sigs[] = { SIGPIPE, SIGINT,  SIGQUIT, SIGTERM, SIGHUP, SIGCHLD,
                              SIGTSTP, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2 };
  struct sigaction sa = { .sa_handler = SIG_DFL };
  for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
    sigaction(sigs[i], &sa, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

static int setup_stdio(const int stdio[3], berr_t *err)
{
  for (int i = 0; i < 3; i++) {
    if (stdio[i] < 0)
      continue;
    if (stdio[i] == i) {
      if (fcntl(i, F_SETFD, 0) < 0)
        return berr_set(err, errno, "stdio %d", i);
    } else if (dup2(stdio[i], i) < 0) {
      return berr_set(err, errno, "stdio %d", i);
    }
  }
  return 0;
}

static int join_namespaces(const rt_spec *s, berr_t *err)
{
  /* the mount namespace last: the other paths are host paths */
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < s->n_ns; i++) {
      const rt_nsent *n = &s->ns[i];
      if (!n->path || n->flag == CLONE_NEWPID || (n->flag == CLONE_NEWNS) != (pass == 1))
        continue;
      int fd = open(n->path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return berr_set(err, errno, "join %s namespace %s", spec_ns_name(n->flag), n->path);
      int r = setns(fd, n->flag);
      int e = errno;
      close(fd);
      if (r < 0)
        return berr_set(err, e, "join %s namespace %s", spec_ns_name(n->flag), n->path);
    }
  return 0;
}

static int setup_terminal(launch_ctx *c, berr_t *err)
{
  int master, slave;
  cleanup_free char *slave_path = NULL;
  if (tty_open(&c->spec.proc, &master, &slave, &slave_path, err) < 0)
    return -1;
  int r = mnt_bind_console(slave_path, err);
  if (r == 0)
    r = tty_send_fd(c->l->console_fd, master, err);
  close(master);
  if (r == 0)
    r = tty_attach_stdio(slave, err);
  else
    close(slave);
  return r;
}

static int child_setup(launch_ctx *c, berr_t *err)
{
  const rt_spec *s = &c->spec;
  close(c->sync[0]);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* until ready: die with the runtime */
  reset_signals();
  umask(0); /* device nodes and mount points get exactly their modes */
  if (setup_stdio(c->l->stdio, err) < 0)
    return -1;
  if (setsid() < 0)
    return berr_set(err, errno, "setsid");
  if (join_cgroup(c, err) < 0)
    return -1;
  if (join_namespaces(s, err) < 0 || proc_set_oom_score_adj(&s->proc, err) < 0)
    return -1;
  if (s->sysctl && proc_set_sysctl(s->sysctl, err) < 0)
    return -1;
  if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
    return berr_set(err, errno, "set hostname \"%s\"", s->hostname);
  if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
    return berr_set(err, errno, "set domainname \"%s\"", s->domainname);
  if ((s->ns_create & CLONE_NEWNS) && mnt_setup(&c->plan, err) < 0)
    return -1;
  if (proc_set_rlimits(&s->proc, err) < 0)
    return -1;
  if (s->proc.terminal && setup_terminal(c, err) < 0)
    return -1;
  if ((s->ns_create & CLONE_NEWNS) && mnt_finish(&c->plan, err) < 0)
    return -1;
  /* nothing of berth's may leak into the container */
  if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    return berr_set(err, errno, "close_range");
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  return 0;
}

static __attribute__((noreturn)) void child_main(launch_ctx *c)
{
  berr_t err = BERR_INIT;
  int status = 0;
  bool ready_sent = false;
  if (child_setup(c, &err) == 0) {
    proc_final f = { .proc = &c->spec.proc,
                     .seccomp = c->has_filter ? &c->filter : NULL,
                     .stub_fd = c->stub_fd,
                     .init = c->spec.init,
                     .sync_fd = c->sync[1],
                     .fifo_fd = c->fifo_fd };
    proc_finish(&f, &status, &ready_sent, &err);
  }
  if (!ready_sent) {
    sync_send_error(c->sync[1], status ? SYNC_EXEC_ERROR : SYNC_ERROR, status, &err);
  } else {
    /* after start nobody waits on the channel: tell the container's stderr */
    dprintf(2, "berth: %s\n", err.msg ? err.msg : "unknown error");
  }
  _exit(status ? status : 127);
}

/* ---- the parent ------------------------------------------------------------------------ */

static json_t *state_json(const launch_ctx *c, pid_t pid, const char *bundle, const char *cgpath)
{
  cleanup_free char *created = time_rfc3339(time_now_ns());
  json_t *ann = c->spec.annotations ? json_incref(c->spec.annotations) : json_object();
  json_t *st = json_pack(
      "{s:s,s:s,s:i,s:I,s:s,s:s,s:s,s:s,s:o}", "ociVersion", "1.0.2", "id", c->l->id, "pid",
      (int)pid, "pidStartTime", (json_int_t)proc_start_time(pid), "bundle", bundle, "rootfs",
      c->plan.rootfs, "created", created, "cgroupPath", cgpath, "annotations", ann);
  if (!c->l->wait_start)
    json_object_set_new(st, "started", json_string(created));
  if (c->l->monitor_pid > 0)
    json_object_set_new(st, "monitorPid", json_integer(c->l->monitor_pid));
  return st;
}

int rt_launch_container(const rt_launch *l, pid_t *pidp, berr_t *err)
{
  launch_ctx c = { .l = l, .sync = { -1, -1 }, .fifo_fd = -1, .stub_fd = -1 };
  c.join.v2_dir = c.join.v2_procs = -1;
  for (size_t i = 0; i < ARRAY_SIZE(c.join.tasks); i++)
    c.join.tasks[i] = -1;
  const char *root = l->root && *l->root ? l->root : RT_DEFAULT_ROOT;
  cleanup_free char *dir = NULL, *bundle = NULL, *cgpath = NULL, *fifo = NULL;
  cleanup_free char *state_path = NULL, *bundle_cfg = NULL, *snapshot = NULL;
  cleanup_json json_t *st = NULL;
  bool claimed = false, cg_made = false;
  pid_t pid = -1;
  int rc = -1;

  int64_t t0 = time_mono_ns(), t_prep = 0, t_cg = 0, t_ready = 0;
  if (rt_state_dir(root, l->id, &dir, err) < 0)
    return -1;
  if (spec_parse(l->config, &c.spec, err) < 0)
    return berr_wrap(err, "config.json");
  if (!(c.spec.ns_listed & CLONE_NEWNS)) {
    berr_setc(err, EINVAL, "config.json: linux.namespaces: a mount namespace is required");
    goto out;
  }
  if (c.spec.proc.terminal && l->console_fd < 0) {
    berr_setc(err, EINVAL, "process.terminal is set but no console socket was given");
    goto out;
  }
  bundle = realpath(l->bundle && *l->bundle ? l->bundle : ".", NULL);
  if (!bundle) {
    berr_set(err, errno, "bundle %s", l->bundle ? l->bundle : ".");
    goto out;
  }
  cgpath = c.spec.cgroups_path ? xstrdup(c.spec.cgroups_path) : xasprintf("/berth/%s", l->id);

  if (fs_mkdir_p(root, 0700, err) < 0)
    goto out;
  if (mkdir(dir, 0711) < 0 && errno != EEXIST) {
    berr_set(err, errno, "mkdir %s", dir);
    goto out;
  }
  state_path = path_join(dir, "state.json");
  if (fs_exists(state_path)) {
    berr_setc(err, EEXIST, "container %s already exists", l->id);
    goto out;
  }
  claimed = true;

  if (mnt_plan_init(&c.plan, &c.spec, bundle, cgpath, err) < 0)
    goto out;
  if (c.spec.seccomp) {
    if (sc_prepare(c.spec.seccomp, root, &c.filter, err) < 0)
      goto out;
    c.has_filter = true;
  }
  if ((c.stub_fd = stub_memfd(err)) < 0)
    goto out;
  if (l->wait_start) {
    fifo = path_join(dir, "exec.fifo");
    unlink(fifo);
    /* 0622: a container user other than root can still write it */
    if (mknod(fifo, S_IFIFO | 0600, 0) < 0 || chmod(fifo, 0622) < 0
        || (c.fifo_fd = open(fifo, O_PATH | O_CLOEXEC)) < 0) {
      berr_set(err, errno, "create %s", fifo);
      goto out;
    }
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c.sync) < 0) {
    berr_set(err, errno, "socketpair");
    goto out;
  }

  /* The cgroup comes first: the child is cloned straight into it. */
  t_prep = time_mono_ns();
  cg_made = true;
  if (cg_create(cgpath, &c.spec.res, err) < 0 || cg_join_open(cgpath, &c.join, err) < 0) {
    berr_wrap(err, "cgroup %s", cgpath);
    goto out;
  }

  t_cg = time_mono_ns();
  /* A pid namespace is joined by the parent: setns(CLONE_NEWPID) applies to
     the children it makes next. Not dumpable meanwhile, since the child
     appears among the namespace's processes at once. */
  int own_pidns = -1;
  for (size_t i = 0; i < c.spec.n_ns; i++) {
    if (c.spec.ns[i].flag != CLONE_NEWPID || !c.spec.ns[i].path)
      continue;
    int fd = open(c.spec.ns[i].path, O_RDONLY | O_CLOEXEC);
    own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || own_pidns < 0 || setns(fd, CLONE_NEWPID) < 0) {
      berr_set(err, errno, "join pid namespace %s", c.spec.ns[i].path);
      if (fd >= 0)
        close(fd);
      if (own_pidns >= 0)
        close(own_pidns);
      goto out;
    }
    close(fd);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  }
  pid = raw_clone((unsigned long)(c.spec.ns_create & ~CLONE_NEWCGROUP), c.join.v2_dir,
                  &c.into_cgroup);
  int clone_errno = errno;
  if (pid == 0)
    child_main(&c);
  if (own_pidns >= 0) {
    setns(own_pidns, CLONE_NEWPID);
    close(own_pidns);
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  }
  if (pid < 0) {
    berr_set(err, clone_errno, "clone");
    goto out;
  }
  close(c.sync[1]);
  c.sync[1] = -1;
  cg_join_close(&c.join);
  if (sync_wait(c.sync[0], l->wait_start, l->exec_status, err) < 0)
    goto out;

  t_ready = time_mono_ns();
  /* rt_exec reads the config again: keep a copy when the bundle has none */
  bundle_cfg = path_join(bundle, "config.json");
  if (!fs_exists(bundle_cfg)) {
    snapshot = path_join(dir, "config.snapshot.json");
    cleanup_free char *txt = json_dumps(l->config, JSON_COMPACT);
    if (!txt || st_write_file(snapshot, txt, err) < 0)
      goto out;
  }
  st = state_json(&c, pid, bundle, cgpath);
  if (st_save(root, l->id, st, err) < 0)
    goto out;
  *pidp = pid;
  rc = 0;
  log_debug("msg=\"container created\" id=%s pid=%d prepare_us=%lld cgroup_us=%lld "
            "setup_us=%lld state_us=%lld",
            l->id, (int)pid, (long long)(t_prep - t0) / 1000, (long long)(t_cg - t_prep) / 1000,
            (long long)(t_ready - t_cg) / 1000, (long long)(time_mono_ns() - t_ready) / 1000);
out:
  if (rc < 0) {
    if (pid > 0) {
      kill(pid, SIGKILL);
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
    berr_t e2 = BERR_INIT;
    if (cg_made && cg_destroy(cgpath, &e2) < 0)
      berr_clear(&e2);
    if (claimed)
      st_remove(dir);
  }
  if (c.sync[0] >= 0)
    close(c.sync[0]);
  if (c.sync[1] >= 0)
    close(c.sync[1]);
  if (c.fifo_fd >= 0)
    close(c.fifo_fd);
  if (c.stub_fd >= 0)
    close(c.stub_fd);
  cg_join_close(&c.join);
  sc_free(&c.filter);
  mnt_plan_free(&c.plan);
  spec_free(&c.spec);
  return rc;
}
