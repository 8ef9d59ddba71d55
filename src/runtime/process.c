/* process.c — the container process itself: rlimits, oom_score_adj,
 * sysctls, and the last steps shared by a container's init and rt_exec:
 * user and groups, capabilities, umask, cwd, the PATH lookup of args[0]
 * inside the container, no_new_privs, seccomp and the exec.
 *
 * The exec goes through the stub (stub/stub.c) held in a sealed memfd, so
 * the berth binary is never executed in the container (CVE-2019-5736). The
 * PATH lookup is done here, before the exec, so that "executable file not
 * found" is an error of create/run with the full message rather than a
 * process that starts and fails.
 *
 * Order, as runc: seccomp goes last when no_new_privs is set (fewest
 * system calls run under it); without no_new_privs, installing a filter
 * needs CAP_SYS_ADMIN, so then it goes before the capabilities are dropped
 * and the filter must allow the rest (Docker's profile does). */
#include "runtime/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

int stub_memfd(berr_t *err)
{
  int fd = memfd_create("berth-stub", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return berr_set(err, errno, "memfd_create");
  const unsigned char *p = rt_stub_start;
  size_t left = (size_t)(rt_stub_end - rt_stub_start);
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      int e = errno;
      close(fd);
      return berr_set(err, e, "write the exec stub");
    }
    p += w;
    left -= (size_t)w;
  }
  int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (fcntl(fd, F_ADD_SEALS, seals | F_SEAL_EXEC) < 0 && fcntl(fd, F_ADD_SEALS, seals) < 0) {
    int e = errno;
    close(fd);
    return berr_set(err, e, "seal the exec stub");
  }
  return fd;
}

int proc_set_rlimits(const rt_process *p, berr_t *err)
{
  for (size_t i = 0; i < p->n_rlimits; i++) {
    const rt_rlimit *r = &p->rlimits[i];
    struct rlimit rl = { .rlim_cur = r->soft, .rlim_max = r->hard };
    if (setrlimit(r->resource, &rl) == 0)
      continue;
    /* Without CAP_SYS_RESOURCE (some sandboxes, nested containers) a hard
       limit cannot be raised. Docker's default NOFILE of 1048576 would then
       make every container fail; lowering a limit is always safe, so clamp
       to the hard limit we have. */
    struct rlimit cur;
    if (errno == EPERM && getrlimit(r->resource, &cur) == 0 && rl.rlim_max > cur.rlim_max) {
      rl.rlim_max = cur.rlim_max;
      if (rl.rlim_cur > rl.rlim_max)
        rl.rlim_cur = rl.rlim_max;
      if (setrlimit(r->resource, &rl) == 0)
        continue;
    }
    return berr_set(err, errno, "process.rlimits: set %s to %llu/%llu",
                    spec_rlimit_name(r->resource), (unsigned long long)r->soft,
                    (unsigned long long)r->hard);
  }
  return 0;
}

int proc_set_oom_score_adj(const rt_process *p, berr_t *err)
{
  if (!p->has_oom_score_adj)
    return 0;
  char v[16];
  snprintf(v, sizeof v, "%d", p->oom_score_adj);
  return fs_write_str("/proc/self/oom_score_adj", v, err);
}

int proc_set_sysctl(json_t *sysctl, berr_t *err)
{
  const char *key;
  json_t *v;
  json_object_foreach(sysctl, key, v)
  {
    cleanup_free char *path = xasprintf("/proc/sys/%s", key);
    for (char *c = path + 10; *c; c++)
      if (*c == '.')
        *c = '/';
    if (fs_write_str(path, json_string_value(v), err) < 0)
      return berr_wrap(err, "linux.sysctl %s", key);
  }
  return 0;
}

static int set_user(const rt_process *p, berr_t *err)
{
  if (setgroups(p->n_gids, p->gids) < 0)
    return berr_set(err, errno, "setgroups");
  if (setresgid(p->gid, p->gid, p->gid) < 0)
    return berr_set(err, errno, "setgid %u", p->gid);
  if (p->uid == 0)
    return 0;
  /* keep the permitted set across the switch; caps_apply() sets it */
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return berr_set(err, errno, "prctl(PR_SET_KEEPCAPS)");
  if (setresuid(p->uid, p->uid, p->uid) < 0)
    return berr_set(err, errno, "setuid %u", p->uid);
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  return 0;
}

static const char *env_get(char **env, const char *name)
{
  size_t n = strlen(name);
  for (size_t i = 0; env && env[i]; i++)
    if (!strncmp(env[i], name, n) && env[i][n] == '=')
      return env[i] + n + 1;
  return NULL;
}

/* HOME from the container's /etc/passwd when the config does not set it. */
static char *home_of(uint32_t uid)
{
  cleanup_fclose FILE *f = fopen("/etc/passwd", "re");
  cleanup_free char *line = NULL;
  size_t cap = 0;
  while (f && getline(&line, &cap, f) > 0) {
    char *field[7]; /* name:password:uid:gid:gecos:home:shell */
    int n = 0;
    for (char *s = line; s && n < 7; n++) {
      field[n] = s;
      s = strchr(s, ':');
      if (s)
        *s++ = '\0';
    }
    if (n < 6)
      continue;
    char *end;
    unsigned long u = strtoul(field[2], &end, 10);
    if (end == field[2] || *end || u != uid)
      continue;
    field[5][strcspn(field[5], "\n")] = '\0';
    return field[5][0] ? xstrdup(field[5]) : NULL;
  }
  return NULL;
}

/* 0 when path is an executable file, else the errno execve would give. */
static int exec_errno(const char *path)
{
  struct stat st;
  if (stat(path, &st) < 0)
    return errno;
  if (S_ISDIR(st.st_mode))
    return EISDIR;
  return access(path, X_OK) < 0 ? errno : 0;
}

/* The file execve will run for args[0], as a shell would find it. */
static int lookup(const rt_process *p, char **env, char **out, int *status, berr_t *err)
{
  const char *cmd = p->args[0];
  if (strchr(cmd, '/')) {
    int e = exec_errno(cmd);
    if (e == 0) {
      *out = xstrdup(cmd);
      return 0;
    }
    *status = e == ENOENT || e == ENOTDIR ? 127 : 126;
    return berr_set(err, e, "exec: \"%s\"", cmd);
  }
  const char *path = env_get(env, "PATH");
  if (!path)
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  cleanup_free char *copy = xstrdup(path);
  char *save = NULL;
  bool eacces = false;
  for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    cleanup_free char *cand = path_join(dir, cmd);
    int e = exec_errno(cand);
    if (e == 0) {
      *out = steal_ptr(cand);
      return 0;
    }
    eacces |= e == EACCES;
  }
  if (eacces) {
    *status = 126;
    return berr_set(err, EACCES, "exec: \"%s\": found in $PATH but not executable", cmd);
  }
  *status = 127;
  berr_setc(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", cmd);
  return -1;
}

/* Opens exec.fifo for writing — this blocks until rt_start() opens it for
 * reading — and writes one byte. */
static int wait_fifo(int fifo_fd, berr_t *err)
{
  char path[32];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fifo_fd);
  int fd;
  do
    fd = open(path, O_WRONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return berr_set(err, errno, "open exec.fifo");
  ssize_t w = write(fd, "0", 1);
  int e = errno;
  close(fd);
  close(fifo_fd);
  return w == 1 ? 0 : berr_set(err, e, "write exec.fifo");
}

int proc_finish(const proc_final *f, int *status, bool *ready_sent, berr_t *err)
{
  const rt_process *p = f->proc;
  *status = 0;
  *ready_sent = false;
  bool late_seccomp = f->seccomp && p->no_new_privs;
  if (f->seccomp && !p->no_new_privs && sc_load(f->seccomp, err) < 0)
    return -1;
  if (caps_drop_bounding(&p->caps, err) < 0 || set_user(p, err) < 0
      || caps_apply(&p->caps, err) < 0)
    return -1;
  umask((mode_t)(p->umask >= 0 ? p->umask : 022));
  if (chdir(p->cwd) < 0)
    return berr_set(err, errno, "chdir to cwd \"%s\" set in config.json", p->cwd);

  /* argv: berth-stub --exec|--init PATH ARGS…; env as given, plus HOME */
  size_t nargs = strv_len(p->args), nenv = strv_len(p->env);
  char **env = xcalloc(nenv + 2, sizeof *env);
  for (size_t i = 0; i < nenv; i++)
    env[i] = p->env[i];
  cleanup_free char *home = NULL;
  if (!env_get(p->env, "HOME")) {
    char *h = home_of(p->uid);
    home = xasprintf("HOME=%s", h ? h : "/");
    free(h);
    env[nenv] = home;
  }
  char *path = NULL;
  if (lookup(p, env, &path, status, err) < 0)
    return -1;
  char **argv = xcalloc(nargs + 4, sizeof *argv);
  argv[0] = "berth-stub";
  argv[1] = f->init ? "--init" : "--exec";
  argv[2] = path;
  for (size_t i = 0; i < nargs; i++)
    argv[3 + i] = p->args[i];

  if (f->init) {
    /* pid 1 of the namespace drops a signal it has no handler for: from
     * here until the stub's init waits for signals, keep them pending
     * (the mask survives the exec; the init blocks all of them anyway), so
     * that a SIGTERM sent right after `start` is not lost. */
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
  }
  if (f->fifo_fd >= 0) {
    if (sync_send_ready(f->sync_fd) < 0)
      return berr_set(err, errno, "report ready");
    *ready_sent = true;
    if (wait_fifo(f->fifo_fd, err) < 0)
      return -1;
  }
  if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return berr_set(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  if (late_seccomp && sc_load(f->seccomp, err) < 0)
    return -1;
  syscall(SYS_execveat, f->stub_fd, "", argv, env, AT_EMPTY_PATH);
  return berr_set(err, errno, "exec the stub");
}
