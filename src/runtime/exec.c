/* exec.c — rt_exec(): a new process inside a running container.
 *
 * The process joins what the container's init has: its cgroups (cloned
 * into the cgroup2 part, writing itself into the v1 hierarchies' tasks
 * files — cg_join_*, which avoids the kernel's slow global lock), then every
 * namespace at once with setns() on a pidfd of
 * the init (atomic, and immune to pid reuse). The pid namespace is entered
 * by the parent for the length of one clone(), since setns(CLONE_NEWPID)
 * only applies to children; the parent is not dumpable during that window,
 * so the child is never inspectable from inside the container. Then the
 * same last steps as the init (process.c): user, capabilities, no_new_privs,
 * seccomp, and the stub from a sealed memfd.
 *
 * The process spec is the container's "process" (without its args and
 * terminal) with the fields of opts->process laid over it; env entries are
 * merged by name. */
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

void rt_exec_opts_init(rt_exec_opts *o)
{
  memset(o, 0, sizeof *o);
  o->console_fd = -1;
  o->stdio[0] = o->stdio[1] = o->stdio[2] = -1;
}

/* The container's config with the exec's process laid over its process. */
static json_t *exec_config(const char *dir, const char *bundle, json_t *over, berr_t *err)
{
  cleanup_free char *path = path_join(bundle, "config.json");
  if (!fs_exists(path)) {
    free(path);
    path = path_join(dir, "config.snapshot.json");
  }
  json_t *cfg = json_load_path(path, err);
  if (!cfg)
    return NULL;
  json_t *proc = json_object_get(cfg, "process");
  if (!json_is_object(proc)) {
    proc = json_object();
    json_object_set_new(cfg, "process", proc);
  }
  /* what is the init's alone: its command and its terminal */
  json_object_del(proc, "args");
  json_object_del(proc, "terminal");
  json_object_del(proc, "consoleSize");
  if (!over)
    return cfg;
  if (!json_is_object(over)) {
    json_decref(cfg);
    berr_setc(err, EINVAL, "process: must be an object");
    return NULL;
  }
  const char *key;
  json_t *v;
  json_object_foreach(over, key, v)
  {
    if (strcmp(key, "env") || !json_is_array(v) || !json_is_array(json_object_get(proc, "env"))) {
      json_object_set(proc, key, v);
      continue;
    }
    json_t *env = json_object_get(proc, "env");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
      const char *kv = json_string_value(e);
      const char *eq = kv ? strchr(kv, '=') : NULL;
      size_t n = eq ? (size_t)(eq - kv) + 1 : 0;
      size_t k;
      json_t *old;
      bool replaced = false;
      json_array_foreach(env, k, old)
      {
        const char *o = json_string_value(old);
        if (n && o && !strncmp(o, kv, n)) {
          json_array_set(env, k, e);
          replaced = true;
          break;
        }
      }
      if (!replaced)
        json_array_append(env, e);
    }
  }
  return cfg;
}

typedef struct exec_ctx {
  const rt_exec_opts *o;
  rt_spec spec;
  sc_filter filter;
  bool has_filter;
  int stub_fd, pidfd;
  int sync[2];
  cg_join join;
  bool into_cgroup;
} exec_ctx;

static int exec_setup(exec_ctx *c, berr_t *err)
{
  close(c->sync[0]);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  /* None of the caller's signal state: an ignored signal survives exec
   * (the engine's spawner ignores SIGHUP, SIGINT and SIGQUIT, its callers
   * SIGPIPE), and a process that cannot be hung up outlives its terminal. */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  struct sigaction dfl = { .sa_handler = SIG_DFL };
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP)
      sigaction(s, &dfl, NULL);
  for (int i = 0; i < 3; i++) {
    int fd = c->o->stdio[i];
    if (fd >= 0 && (fd == i ? fcntl(i, F_SETFD, 0) : dup2(fd, i)) < 0)
      return berr_set(err, errno, "stdio %d", i);
  }
  if (setsid() < 0)
    return berr_set(err, errno, "setsid");
  int r = cg_join_self(&c->join, c->into_cgroup);
  if (r < 0)
    return berr_set(err, -r, "join the container's cgroup");
  int flags = c->spec.ns_listed
              & (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP);
  if (flags && setns(c->pidfd, flags) < 0)
    return berr_set(err, errno, "enter the container's namespaces");
  if (proc_set_oom_score_adj(&c->spec.proc, err) < 0 || proc_set_rlimits(&c->spec.proc, err) < 0)
    return -1;
  if (c->spec.proc.terminal) {
    int master, slave;
    if (tty_open(&c->spec.proc, &master, &slave, NULL, err) < 0)
      return -1;
    int r = tty_send_fd(c->o->console_fd, master, err);
    close(master);
    if (r < 0 || tty_attach_stdio(slave, err) < 0)
      return -1;
  }
  if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    return berr_set(err, errno, "close_range");
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  return 0;
}

static __attribute__((noreturn)) void exec_child(exec_ctx *c)
{
  berr_t err = BERR_INIT;
  int status = 0;
  bool ready_sent = false;
  if (exec_setup(c, &err) == 0) {
    proc_final f = { .proc = &c->spec.proc,
                     .seccomp = c->has_filter ? &c->filter : NULL,
                     .stub_fd = c->stub_fd,
                     .sync_fd = c->sync[1],
                     .fifo_fd = -1 };
    proc_finish(&f, &status, &ready_sent, &err);
  }
  sync_send_error(c->sync[1], status ? SYNC_EXEC_ERROR : SYNC_ERROR, status, &err);
  _exit(status ? status : 127);
}

int rt_exec(const char *root, const char *id, const rt_exec_opts *o, pid_t *pidp, berr_t *err)
{
  root = root && *root ? root : RT_DEFAULT_ROOT;
  exec_ctx c = { .o = o, .stub_fd = -1, .pidfd = -1, .sync = { -1, -1 } };
  c.join.v2_dir = c.join.v2_procs = -1;
  for (size_t i = 0; i < ARRAY_SIZE(c.join.tasks); i++)
    c.join.tasks[i] = -1;
  cleanup_free char *dir = NULL;
  cleanup_json json_t *state = NULL, *cfg = NULL;
  int own_pidns = -1, rc = -1;
  pid_t pid = -1;

  rt_state st;
  if (rt_state_get(root, id, &st, err) < 0)
    return -1;
  rt_status status = st.status;
  rt_state_free(&st);
  if (status != RT_RUNNING) {
    berr_setc(err, ESRCH, "container %s is %s, not running", id, rt_status_name(status));
    return -1;
  }
  if (rt_state_dir(root, id, &dir, err) < 0 || !(state = st_load(root, id, err)))
    return -1;
  cfg = exec_config(dir, json_str(state, "bundle") ? json_str(state, "bundle") : "", o->process,
                    err);
  if (!cfg)
    return -1;
  if (spec_parse(cfg, &c.spec, err) < 0)
    return berr_wrap(err, "exec in %s", id);
  if (c.spec.proc.terminal && o->console_fd < 0) {
    berr_setc(err, EINVAL, "process.terminal is set but no console socket was given");
    goto out;
  }
  if (c.spec.seccomp) {
    if (sc_prepare(c.spec.seccomp, root, &c.filter, err) < 0)
      goto out;
    c.has_filter = true;
  }
  if ((c.stub_fd = stub_memfd(err)) < 0)
    goto out;
  const char *cgpath = json_str(state, "cgroupPath");
  if (cgpath && cg_join_open(cgpath, &c.join, err) < 0)
    goto out;

  pid_t init = (pid_t)json_int(state, "pid", 0);
  c.pidfd = (int)syscall(SYS_pidfd_open, init, 0);
  if (c.pidfd < 0 || !proc_alive(init, (uint64_t)json_int(state, "pidStartTime", 0))) {
    berr_setc(err, ESRCH, "container %s is not running", id);
    goto out;
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c.sync) < 0) {
    berr_set(err, errno, "socketpair");
    goto out;
  }
  if (c.spec.ns_listed & CLONE_NEWPID) {
    own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (own_pidns < 0 || setns(c.pidfd, CLONE_NEWPID) < 0) {
      berr_set(err, errno, "enter the container's pid namespace");
      goto out;
    }
  }
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  pid = raw_clone(0, c.join.v2_dir, &c.into_cgroup);
  int clone_errno = errno;
  if (pid == 0)
    exec_child(&c);
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  if (own_pidns >= 0 && setns(own_pidns, CLONE_NEWPID) < 0)
    log_warn("msg=\"cannot return to the own pid namespace\" err=%d", errno);
  if (pid < 0) {
    berr_set(err, clone_errno, "clone");
    goto out;
  }
  close(c.sync[1]);
  c.sync[1] = -1;
  if (sync_wait(c.sync[0], false, NULL, err) < 0) {
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
      ;
    pid = -1;
    goto out;
  }
  if (o->pid_file && *o->pid_file) {
    char buf[32];
    snprintf(buf, sizeof buf, "%d", (int)pid);
    if (st_write_file(o->pid_file, buf, err) < 0)
      goto out;
  }
  *pidp = pid;
  rc = 0;
out:
  if (rc < 0 && pid > 0) {
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
      ;
  }
  if (own_pidns >= 0)
    close(own_pidns);
  for (int i = 0; i < 2; i++)
    if (c.sync[i] >= 0)
      close(c.sync[i]);
  if (c.pidfd >= 0)
    close(c.pidfd);
  if (c.stub_fd >= 0)
    close(c.stub_fd);
  cg_join_close(&c.join);
  sc_free(&c.filter);
  spec_free(&c.spec);
  return rc;
}
