/* cgroup.c — a container's cgroup on each of the three layouts Linux machines
 * have: v1 (one hierarchy per controller), v2 (one unified tree) and hybrid
 * (v1 controllers plus a controller-less cgroup2 tree, usually at
 * /sys/fs/cgroup/unified).
 *
 * A container's cgroup is one path ("/berth/ID") that exists in every
 * hierarchy berth uses: cpu, cpuacct, memory, pids and devices on v1 (cpuset
 * only when cpus or mems are set), plus the cgroup2 tree when there is one (on
 * hybrid it holds no controller but gives one place to list and kill every
 * process). The layout is read from /proc/self/mountinfo once per process.
 *
 * Creating cgroups is on the path of every container start, so this file does
 * no work it can skip: no hierarchy berth does not use, parents made only when
 * the first mkdir reports ENOENT, and a way to join (cg_join_*) that avoids the
 * kernel's global threadgroup lock and its RCU grace period (see internal.h).
 * The layout and the knob helpers are in cgroup-layout.c, limits and stats in
 * cgroup-limits.c, device rules in cgroup-devices.c. */
#include "runtime/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CG_DESTROY_TIMEOUT_NS (2 * 1000000000LL)

void rt_resources_init(rt_resources *r)
{
  *r = (rt_resources){
    .memory_limit = -1,
    .memory_swap = -1,
    .cpu_quota = -1,
    .cpu_period = 0,
    .cpu_shares = 0,
    .pids_limit = -1,
  };
}

/* ---- where PATH lives --------------------------------------------------- */

static int check_path(const char *path, berr_t *err)
{
  bool ok = path && path[0] == '/' && path[1];
  for (const char *c = path; ok && c && *c; c = strchr(c + 1, '/')) {
    const char *name = c + 1;
    size_t len = strcspn(name, "/");
    ok = len > 0 && !(len == 1 && name[0] == '.') && !(len == 2 && !strncmp(name, "..", 2));
  }
  if (!ok)
    return berr_set(err, EINVAL, "invalid cgroup path \"%s\": expected /NAME[/NAME...]",
                    path ? path : "");
  return 0;
}

typedef struct cg_target {
  char *dir;
  const cg_hier *h; /* NULL: the cgroup2 tree */
} cg_target;

enum cpuset_mode { CPUSET_SKIP, CPUSET_USE, CPUSET_IF_EXISTS };

/* The directories of PATH: the v1 hierarchies berth uses, then the cgroup2
 * tree. A hierarchy that holds only cpuset is used as mode says. */
static size_t cg_targets(const cg_layout_info *L, const char *path, enum cpuset_mode mode,
                         cg_target t[CG_NCTRL + 1])
{
  size_t n = 0;
  for (size_t i = 0; i < L->nv1; i++) {
    const cg_hier *h = &L->v1[i];
    char *dir = path_join(h->mount, path);
    bool cpuset_only = h->ctrls == CG_BIT(CG_CPUSET);
    if (cpuset_only && (mode == CPUSET_SKIP || (mode == CPUSET_IF_EXISTS && !fs_exists(dir)))) {
      free(dir);
      continue;
    }
    t[n++] = (cg_target){ .dir = dir, .h = h };
  }
  if (L->v2)
    t[n++] = (cg_target){ .dir = path_join(L->v2, path), .h = NULL };
  return n;
}

static void cg_targets_free(cg_target *t, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(t[i].dir);
}

char **cg_dirs(const char *path)
{
  char **v = xcalloc(1, sizeof *v);
  if (check_path(path, NULL) < 0)
    return v;
  cg_target t[CG_NCTRL + 1];
  size_t n = cg_targets(cg_info(), path, CPUSET_IF_EXISTS, t);
  for (size_t i = 0; i < n; i++)
    strv_push(&v, t[i].dir);
  cg_targets_free(t, n);
  return v;
}

/* ---- create ------------------------------------------------------------- */

/* mkdir of PATH in one hierarchy. The parents are made only when the first
 * mkdir says they are missing, and set up as the hierarchy needs: cpuset
 * copied from their parent, controllers enabled on cgroup2. */
static int cg_mkdir(const cg_layout_info *L, const cg_target *t, const char *path, bool cpuset,
                    bool *created, berr_t *err)
{
  *created = false;
  if (mkdir(t->dir, 0755) == 0) {
    *created = true;
    return 0;
  }
  if (errno == EEXIST)
    return 0;
  if (errno != ENOENT)
    return berr_set(err, errno, "mkdir %s", t->dir);

  const char *mount = t->h ? t->h->mount : L->v2;
  for (const char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
    cleanup_free char *prefix = xstrndup(path, (size_t)(s - path));
    cleanup_free char *d = path_join(mount, prefix);
    if (mkdir(d, 0755) < 0) {
      if (errno != EEXIST)
        return berr_set(err, errno, "mkdir %s", d);
      continue;
    }
    if (t->h && (t->h->ctrls & CG_BIT(CG_CPUSET)) && cg_cpuset_init(d, NULL, NULL, err) < 0)
      return -1;
  }
  if (!t->h && cg_v2_enable(mount, path, cpuset, err) < 0)
    return -1;
  if (mkdir(t->dir, 0755) == 0)
    *created = true;
  else if (errno != EEXIST)
    return berr_set(err, errno, "mkdir %s", t->dir);
  return 0;
}

/* On v1 a controller may simply not be mounted; like docker, berth then
 * runs the container without that limit and says so. */
static void warn_unmounted(const cg_layout_info *L, const rt_resources *res, bool cpuset)
{
  bool want[CG_NCTRL] = {
    [CG_CPU] = res->cpu_quota > 0 || res->cpu_period || res->cpu_shares,
    [CG_MEMORY] = res->memory_limit > 0,
    [CG_PIDS] = res->pids_limit > 0,
    [CG_CPUSET] = cpuset,
  };
  for (int c = 0; c < CG_NCTRL; c++)
    if (want[c] && L->by_ctrl[c] < 0)
      log_warn("msg=\"cgroup controller not mounted, limit not applied\" controller=%s",
               cg_ctrl_names[c]);
}

int cg_create(const char *path, const rt_resources *res, berr_t *err)
{
  rt_resources none;
  if (!res) {
    rt_resources_init(&none);
    res = &none;
  }
  if (check_path(path, err) < 0 || cg_check_resources(res, err) < 0)
    return -1;
  cleanup_free cg_dev_rule *rules = NULL;
  size_t nrules = 0;
  if (cg_dev_rules(res->devices, &rules, &nrules, err) < 0)
    return -1;

  const cg_layout_info *L = cg_info();
  bool cpuset = res->cpuset_cpus || res->cpuset_mems;
  if (L->layout != CG_V2)
    warn_unmounted(L, res, cpuset);
  bool v1_devices = L->by_ctrl[CG_DEVICES] >= 0;
  cg_target t[CG_NCTRL + 1];
  bool created[CG_NCTRL + 1] = { false };
  size_t n = cg_targets(L, path, cpuset ? CPUSET_USE : CPUSET_SKIP, t), i;
  if (n == 0) {
    return berr_set(err, ENOENT, "create cgroup %s: no cgroup hierarchy is mounted", path);
  }
  for (i = 0; i < n; i++) {
    if (cg_mkdir(L, &t[i], path, cpuset, &created[i], err) < 0)
      break;
    if (t[i].h) {
      if (cg_v1_apply(t[i].h->ctrls, t[i].dir, res, err) < 0)
        break;
      if ((t[i].h->ctrls & CG_BIT(CG_DEVICES)) && cg_dev_apply_v1(t[i].dir, rules, nrules, err) < 0)
        break;
    } else {
      /* On hybrid the cgroup2 tree holds no controller: nothing to limit. */
      if (L->layout == CG_V2 && cg_v2_apply(L->v2, path, res, err) < 0)
        break;
      if (!v1_devices && cg_dev_apply_bpf(t[i].dir, rules, nrules, err) < 0)
        break;
    }
  }
  if (i < n) {
    for (size_t j = 0; j <= i; j++)
      if (created[j])
        rmdir(t[j].dir);
  }
  cg_targets_free(t, n);
  return i < n ? -1 : 0;
}

/* ---- joining ------------------------------------------------------------ */

int cg_add_pid(const char *path, pid_t pid, berr_t *err)
{
  if (check_path(path, err) < 0)
    return -1;
  char pid_str[32];
  snprintf(pid_str, sizeof pid_str, "%d", (int)pid);
  cg_target t[CG_NCTRL + 1];
  size_t n = cg_targets(cg_info(), path, CPUSET_IF_EXISTS, t);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    int r = cg_write(t[i].dir, "cgroup.procs", pid_str);
    if (r < 0)
      rc = berr_set(err, -r, "add pid %d to %s/cgroup.procs", (int)pid, t[i].dir);
  }
  cg_targets_free(t, n);
  return rc;
}

int cg_join_open(const char *path, cg_join *j, berr_t *err)
{
  j->v2_dir = j->v2_procs = -1;
  for (size_t i = 0; i < ARRAY_SIZE(j->tasks); i++)
    j->tasks[i] = -1;
  if (check_path(path, err) < 0)
    return -1;
  cg_target t[CG_NCTRL + 1];
  size_t n = cg_targets(cg_info(), path, CPUSET_IF_EXISTS, t), ntasks = 0;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const char *what = t[i].h ? "tasks" : "cgroup.procs";
    cleanup_free char *file = path_join(t[i].dir, what);
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      rc = berr_set(err, errno, "open %s", file);
      break;
    }
    if (t[i].h) {
      j->tasks[ntasks++] = fd;
      continue;
    }
    j->v2_procs = fd;
    j->v2_dir = open(t[i].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->v2_dir < 0)
      rc = berr_set(err, errno, "open %s", t[i].dir);
  }
  cg_targets_free(t, n);
  if (rc < 0)
    cg_join_close(j);
  return rc;
}

int cg_join_self(const cg_join *j, bool cloned_into_v2)
{
  for (size_t i = 0; i < ARRAY_SIZE(j->tasks); i++)
    if (j->tasks[i] >= 0 && write(j->tasks[i], "0", 1) < 0)
      return -errno;
  if (!cloned_into_v2 && j->v2_procs >= 0 && write(j->v2_procs, "0", 1) < 0)
    return -errno;
  return 0;
}

void cg_join_close(cg_join *j)
{
  cleanup_closep(&j->v2_dir);
  cleanup_closep(&j->v2_procs);
  for (size_t i = 0; i < ARRAY_SIZE(j->tasks); i++)
    cleanup_closep(&j->tasks[i]);
  j->v2_dir = j->v2_procs = -1;
  for (size_t i = 0; i < ARRAY_SIZE(j->tasks); i++)
    j->tasks[i] = -1;
}

/* ---- signals and removal ------------------------------------------------ */

/* Signals the processes listed in DIR/cgroup.procs and in its descendants
 * (a container may have made sub-cgroups). Adds how many to *count. */
static int signal_tree(const char *dir, int sig, size_t *count, pid_t **seen, size_t *nseen)
{
  cleanup_free char *procs = NULL;
  int r = cg_read(dir, "cgroup.procs", &procs);
  if (r < 0)
    return r;
  for (char *p = procs, *end; *p; p = end) {
    long pid = strtol(p, &end, 10);
    if (end == p)
      break;
    if (pid <= 0)
      continue;
    bool known = false;
    for (size_t i = 0; seen && i < *nseen && !known; i++)
      known = (*seen)[i] == (pid_t)pid;
    if (known)
      continue;
    if (kill((pid_t)pid, sig) == 0 || errno != ESRCH)
      (*count)++;
    if (seen) {
      *seen = xrealloc(*seen, (*nseen + 1) * sizeof **seen);
      (*seen)[(*nseen)++] = (pid_t)pid;
    }
  }
  cleanup_dir DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_type != DT_DIR || de->d_name[0] == '.')
      continue;
    cleanup_free char *sub = path_join(dir, de->d_name);
    signal_tree(sub, sig, count, seen, nseen);
  }
  return 0;
}

/* Kills everything under DIR: cgroup.kill on cgroup2 (atomic, forks
 * included); elsewhere passes over cgroup.procs until one finds no process
 * it has not signalled (so that fork loops cannot escape). */
static int kill_dir(const char *dir, bool v2, int sig)
{
  if (v2 && sig == SIGKILL) {
    int r = cg_write(dir, "cgroup.kill", "1");
    if (r != -ENOENT || !fs_exists(dir))
      return r;
  }
  cleanup_free pid_t *seen = NULL;
  size_t nseen = 0;
  for (int pass = 0; pass < 64; pass++) {
    size_t count = 0;
    int r = signal_tree(dir, sig, &count, &seen, &nseen);
    if (r < 0)
      return r;
    if (count == 0 || sig != SIGKILL)
      break;
  }
  return 0;
}

int cg_signal_all(const char *path, int sig, berr_t *err)
{
  if (check_path(path, err) < 0)
    return -1;
  const cg_layout_info *L = cg_info();
  int h = L->by_ctrl[CG_PIDS] >= 0 ? L->by_ctrl[CG_PIDS] : 0;
  const char *mount = L->v2 ? L->v2 : L->nv1 ? L->v1[h].mount : NULL;
  if (!mount)
    return berr_set(err, ENOENT, "signal cgroup %s: no cgroup hierarchy is mounted", path);
  cleanup_free char *dir = path_join(mount, path);
  int r = kill_dir(dir, L->v2 != NULL, sig);
  if (r < 0)
    return berr_set(err, -r, "signal cgroup %s", dir);
  return 0;
}

/* rmdir DIR and, when it still has children, its sub-cgroups first.
 * Returns 0 (also when already gone) or -errno. */
static int rmdir_tree(const char *dir)
{
  if (rmdir(dir) == 0 || errno == ENOENT)
    return 0;
  if (errno != EBUSY)
    return -errno;
  cleanup_dir DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_type != DT_DIR || de->d_name[0] == '.')
      continue;
    cleanup_free char *sub = path_join(dir, de->d_name);
    rmdir_tree(sub);
  }
  if (rmdir(dir) == 0 || errno == ENOENT)
    return 0;
  return -errno;
}

int cg_destroy(const char *path, berr_t *err)
{
  if (check_path(path, err) < 0)
    return -1;
  cg_target t[CG_NCTRL + 1];
  size_t n = cg_targets(cg_info(), path, CPUSET_USE, t);
  bool busy[CG_NCTRL + 1] = { false };
  size_t left = 0;
  int rc = 0;
  /* The usual case: the container has exited and each rmdir succeeds. */
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (rmdir(t[i].dir) == 0 || errno == ENOENT)
      continue;
    if (errno == EBUSY)
      busy[i] = true, left++;
    else
      rc = berr_set(err, errno, "remove cgroup %s", t[i].dir);
  }
  int64_t deadline = time_mono_ns() + CG_DESTROY_TIMEOUT_NS;
  useconds_t nap = 100;
  /* Every process of the container is in the cgroup2 directory too (when
   * there is one): its cgroup.kill suffices at first. Later rounds go through
   * every busy hierarchy, for processes that joined only some. */
  bool v2_busy = n > 0 && !t[n - 1].h && busy[n - 1];
  for (int round = 0; rc == 0 && left > 0; round++) {
    for (size_t i = 0; i < n; i++)
      if (busy[i] && (round > 0 || !v2_busy || !t[i].h))
        kill_dir(t[i].dir, t[i].h == NULL, SIGKILL);
    usleep(nap);
    nap = nap < 20000 ? nap * 2 : nap;
    for (size_t i = 0; i < n && rc == 0; i++) {
      if (!busy[i])
        continue;
      int r = rmdir_tree(t[i].dir);
      if (r == 0)
        busy[i] = false, left--;
      else if (r != -EBUSY)
        rc = berr_set(err, -r, "remove cgroup %s", t[i].dir);
      else if (time_mono_ns() > deadline)
        rc = berr_set(err, EBUSY, "remove cgroup %s: processes still there after %llds", t[i].dir,
                      CG_DESTROY_TIMEOUT_NS / 1000000000);
    }
  }
  cg_targets_free(t, n);
  return rc;
}

/* ---- OOM and stats ------------------------------------------------------ */

char *cg_oom_file(const char *path)
{
  if (check_path(path, NULL) < 0)
    return NULL;
  const cg_layout_info *L = cg_info();
  int h = L->by_ctrl[CG_MEMORY];
  if (h >= 0) {
    cleanup_free char *dir = path_join(L->v1[h].mount, path);
    return path_join(dir, "memory.oom_control");
  }
  if (L->layout == CG_V2 && L->v2) {
    cleanup_free char *dir = path_join(L->v2, path);
    return path_join(dir, "memory.events");
  }
  return NULL;
}

uint64_t cg_oom_kills(const char *path)
{
  cleanup_free char *file = cg_oom_file(path);
  cleanup_free char *text = NULL;
  uint64_t n = 0;
  if (!file || fs_read_file(file, 0, &text, NULL, NULL) < 0)
    return 0;
  return cg_keyed_u64(text, "oom_kill", &n) ? n : 0;
}

int cg_stats(const char *path, rt_stats *out, berr_t *err)
{
  if (check_path(path, err) < 0)
    return -1;
  return cg_stats_collect(cg_info(), path, out, err);
}
