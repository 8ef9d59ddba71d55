/* test_cgroup.c — cgroups for real: these tests run as root and create
 * cgroups under /berth-test-PID/… in every hierarchy of this machine, put
 * forked children in them and check what the kernel enforces. The suite's
 * fini removes the whole /berth-test-PID tree and checks nothing is left. */
#include "runtime/cgroup.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers -------------------------------------------------------------- */

static char *test_root(void)
{
  return xasprintf("/berth-test-%d", (int)getpid());
}

static char *test_path(const char *name)
{
  return xasprintf("/berth-test-%d/%s", (int)getpid(), name);
}

static char *trim(char *s)
{
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
    s[--n] = '\0';
  return s;
}

/* The directory of PATH holding ctrl's knobs on this machine. */
static char *ctrl_dir(int ctrl, const char *path)
{
  const cg_layout_info *L = cg_info();
  int h = L->by_ctrl[ctrl];
  cr_assert(h >= 0 || L->layout == CG_V2, "controller %d is not mounted", ctrl);
  return path_join(h >= 0 ? L->v1[h].mount : L->v2, path);
}

static char *knob(int ctrl, const char *path, const char *name)
{
  cleanup_free char *dir = ctrl_dir(ctrl, path);
  char *text = NULL;
  int r = cg_read(dir, name, &text);
  cr_assert_eq(r, 0, "read %s/%s: %s", dir, name, strerror(-r));
  return trim(text);
}

static bool procs_has(const char *dir, pid_t pid)
{
  cleanup_free char *procs = NULL;
  if (cg_read(dir, "cgroup.procs", &procs) < 0)
    return false;
  for (char *p = procs, *end; *p; p = end) {
    long v = strtol(p, &end, 10);
    if (end == p)
      break;
    if (v == pid)
      return true;
  }
  return false;
}

static size_t procs_count(const char *dir)
{
  cleanup_free char *procs = NULL;
  size_t n = 0;
  if (cg_read(dir, "cgroup.procs", &procs) < 0)
    return 0;
  for (char *p = procs; *p; p++)
    n += *p == '\n';
  return n;
}

/* A forked child that blocks until go() and then runs fn; its exit code is
 * fn's result. */
typedef int (*child_fn)(void *arg);
typedef struct child {
  pid_t pid;
  int go_fd;    /* parent writes: start */
  int ready_fd; /* parent reads: the child says it is ready */
} child;

static child spawn(child_fn fn, void *arg)
{
  int go[2], ready[2];
  cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
  cr_assert_eq(pipe2(ready, O_CLOEXEC), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    close(go[1]);
    close(ready[0]);
    char c;
    if (read(go[0], &c, 1) != 1)
      _exit(100);
    dup2(ready[1], 3);
    _exit(fn(arg));
  }
  close(go[0]);
  close(ready[1]);
  return (child){ pid, go[1], ready[0] };
}

static void go(child *c)
{
  cr_assert_eq(write(c->go_fd, "g", 1), 1);
  close(c->go_fd);
  c->go_fd = -1;
}

/* Inside the child: tells the parent it is ready (fd 3). */
static void say_ready(void)
{
  (void)!write(3, "r", 1);
}

static void wait_ready(child *c)
{
  char ch;
  cr_assert_eq(read(c->ready_fd, &ch, 1), 1, "the child died before it was ready");
}

static int reap(child *c)
{
  int status = 0;
  while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (c->go_fd >= 0)
    close(c->go_fd);
  close(c->ready_fd);
  return status;
}

static int child_pause(void *arg)
{
  say_ready();
  for (;;)
    pause();
  return 0;
}

/* Every hierarchy's directory of the test root, the cpuset one included. */
static char **all_root_dirs(void)
{
  const cg_layout_info *L = cg_info();
  cleanup_free char *root = test_root();
  char **v = xcalloc(1, sizeof *v);
  for (size_t i = 0; i < L->nv1; i++) {
    cleanup_free char *d = path_join(L->v1[i].mount, root);
    strv_push(&v, d);
  }
  if (L->v2) {
    cleanup_free char *d = path_join(L->v2, root);
    strv_push(&v, d);
  }
  return v;
}

static void cleanup(void)
{
  cleanup_free char *root = test_root();
  berr_t err = BERR_INIT;
  if (cg_destroy(root, &err) < 0) {
    fprintf(stderr, "cgroup test clean-up: %s\n", err.msg);
    berr_clear(&err);
  }
  cleanup_strv char **dirs = all_root_dirs();
  for (size_t i = 0; dirs[i]; i++)
    if (fs_exists(dirs[i]))
      fprintf(stderr, "cgroup test clean-up: %s left behind\n", dirs[i]);
}

static void need_root(void)
{
  if (geteuid() != 0)
    cr_skip_test("needs root");
}

TestSuite(cgroup, .init = need_root, .fini = cleanup, .timeout = 60);

/* ---- detection -------------------------------------------------------------- */

Test(cgroup, detects_layout_from_mountinfo)
{
  /* Read mountinfo independently of cgroup.c. */
  cleanup_free char *mi = NULL;
  cr_assert_eq(fs_read_file("/proc/self/mountinfo", 0, &mi, NULL, NULL), 0);
  char *v2_mount = NULL, *mem_mount = NULL;
  bool v1 = false;
  for (char *save = NULL, *line = strtok_r(mi, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char mnt[512], fstype[64], super[512];
    char *dash = strstr(line, " - ");
    if (!dash || sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1
        || sscanf(dash, " - %63s %*s %511s", fstype, super) != 2)
      continue;
    if (!strcmp(fstype, "cgroup2") && !v2_mount)
      v2_mount = xstrdup(mnt);
    if (!strcmp(fstype, "cgroup")
        && (strstr(super, ",memory") || strstr(super, ",cpu") || strstr(super, ",pids")
            || strstr(super, ",devices")))
      v1 = true;
    if (!strcmp(fstype, "cgroup") && strstr(super, ",memory") && !mem_mount)
      mem_mount = xstrdup(mnt);
  }
  cg_layout want = !v1 ? CG_V2 : v2_mount ? CG_HYBRID : CG_V1;
  cr_assert_eq(cg_detect(), want, "detected %d, mountinfo says %d", cg_detect(), want);
  const cg_layout_info *L = cg_info();
  if (v2_mount)
    cr_assert_str_eq(L->v2, v2_mount);
  if (mem_mount)
    cr_assert_str_eq(L->v1[L->by_ctrl[CG_MEMORY]].mount, mem_mount);
  cr_log_info("cgroup layout: %s", want == CG_HYBRID ? "hybrid" : want == CG_V1 ? "v1" : "v2");
  free(v2_mount);
  free(mem_mount);
}

Test(cgroup, parses_mountinfo_layouts)
{
  cg_layout_info L;
  cg_layout_parse("25 1 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
                  "26 1 0:5 / /proc rw - proc proc rw\n",
                  &L);
  cr_assert_eq(L.layout, CG_V2);
  cr_assert_str_eq(L.v2, "/sys/fs/cgroup");
  cr_assert_eq(L.nv1, 0);
  cg_layout_free(&L);

  /* v1 with cpu and cpuacct co-mounted, a name= hierarchy and an escaped
   * mount point; the hierarchy mounted twice keeps the mount of its root. */
  cg_layout_parse("30 25 0:26 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
                  "31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
                  "32 25 0:28 /sub /mnt/memory rw - cgroup cgroup rw,memory\n"
                  "33 25 0:28 / /sys/fs/cgroup/mem\\040ory rw - cgroup cgroup rw,memory\n"
                  "34 25 0:29 / /sys/fs/cgroup/pids rw shared:5 - cgroup cgroup rw,pids\n"
                  "35 25 0:30 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n",
                  &L);
  cr_assert_eq(L.layout, CG_V1);
  cr_assert_null(L.v2);
  cr_assert_eq(L.nv1, 3);
  cr_assert_eq(L.by_ctrl[CG_CPU], L.by_ctrl[CG_CPUACCT]);
  cr_assert_str_eq(L.v1[L.by_ctrl[CG_CPU]].mount, "/sys/fs/cgroup/cpu,cpuacct");
  cr_assert_str_eq(L.v1[L.by_ctrl[CG_MEMORY]].mount, "/sys/fs/cgroup/mem ory");
  cr_assert_str_eq(L.v1[L.by_ctrl[CG_PIDS]].mount, "/sys/fs/cgroup/pids");
  cr_assert_eq(L.by_ctrl[CG_DEVICES], -1);
  cg_layout_free(&L);

  cg_layout_parse("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
                  "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
                  "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
                  &L);
  cr_assert_eq(L.layout, CG_HYBRID);
  cr_assert_str_eq(L.v2, "/sys/fs/cgroup/unified");
  cr_assert_eq(L.nv1, 2);
  cg_layout_free(&L);
}

/* A mount listed later on the same mount point, or on a directory above it,
 * hides a hierarchy: `unshare -m` + a tmpfs over /sys/fs/cgroup/unified (what
 * bench/start.sh does so that crun runs on a hybrid host) leaves v1. */
Test(cgroup, covered_hierarchies_do_not_count)
{
  static const char hybrid[] = "23 1 0:21 / / rw - ext4 /dev/sda1 rw\n"
                               "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
                               "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
                               "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
                               "39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
                               "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
  cg_layout_info L;
  cleanup_free char *mi = xasprintf("%s%s", hybrid,
                                    "904 41 0:77 / /sys/fs/cgroup/unified rw,relatime - "
                                    "tmpfs none rw\n");
  cg_layout_parse(mi, &L);
  cr_assert_eq(L.layout, CG_V1);
  cr_assert_null(L.v2);
  cr_assert_eq(L.nv1, 3);
  cr_assert_str_eq(L.v1[L.by_ctrl[CG_MEMORY]].mount, "/sys/fs/cgroup/memory");
  cg_layout_free(&L);

  /* a mount on a directory above hides every hierarchy below it */
  cleanup_free char *above = xasprintf("%s%s", hybrid,
                                       "905 31 0:78 / /sys/fs/cgroup/memory/x rw - tmpfs none rw\n"
                                       "906 31 0:79 / /sys/fs/cgroup rw - tmpfs none rw\n");
  cg_layout_parse(above, &L);
  cr_assert_eq(L.nv1, 0);
  cr_assert_null(L.v2);
  cg_layout_free(&L);

  /* neither a mount below it, nor one whose path merely starts the same,
   * nor one on "/" hides it; a mount made earlier is under it */
  cleanup_free char *below = xasprintf("%s%s", hybrid,
                                       "907 41 0:80 / /sys/fs/cgroup/unified/x rw - tmpfs none rw\n"
                                       "908 31 0:81 / /sys/fs/cgroup/unified2 rw - tmpfs none rw\n"
                                       "909 23 0:82 / / rw - tmpfs none rw\n");
  cg_layout_parse(below, &L);
  cr_assert_eq(L.layout, CG_HYBRID);
  cr_assert_str_eq(L.v2, "/sys/fs/cgroup/unified");
  cr_assert_eq(L.nv1, 3);
  cg_layout_free(&L);
}

Test(cgroup, small_helpers)
{
  cleanup_free char *a = cg_size_str(64 << 20), *b = cg_size_str(1024), *c = cg_size_str(1000);
  cr_assert_str_eq(a, "64m");
  cr_assert_str_eq(b, "1k");
  cr_assert_str_eq(c, "1000");
  uint64_t v = 0;
  cr_assert(cg_keyed_u64("usage_usec 12\nuser_usec 7\n", "user_usec", &v));
  cr_assert_eq(v, 7);
  cr_assert(!cg_keyed_u64("usage_usec 12\n", "usage", &v));
}

/* ---- limits ----------------------------------------------------------------- */

static rt_resources limits(void)
{
  rt_resources r;
  rt_resources_init(&r);
  r.memory_limit = 64 << 20;
  r.cpu_quota = 50000;
  r.cpu_period = 100000;
  r.cpu_shares = 512;
  r.pids_limit = 10;
  return r;
}

Test(cgroup, writes_limits)
{
  cleanup_free char *path = test_path("limits");
  rt_resources r = limits();
  berr_t err = BERR_INIT;
  cr_assert_eq(cg_create(path, &r, &err), 0, "%s", err.msg);
  if (cg_info()->by_ctrl[CG_MEMORY] >= 0) {
    cleanup_free char *mem = knob(CG_MEMORY, path, "memory.limit_in_bytes");
    cleanup_free char *quota = knob(CG_CPU, path, "cpu.cfs_quota_us");
    cleanup_free char *period = knob(CG_CPU, path, "cpu.cfs_period_us");
    cleanup_free char *shares = knob(CG_CPU, path, "cpu.shares");
    cr_assert_str_eq(mem, "67108864");
    cr_assert_str_eq(quota, "50000");
    cr_assert_str_eq(period, "100000");
    cr_assert_str_eq(shares, "512");
  } else {
    cleanup_free char *mem = knob(CG_MEMORY, path, "memory.max");
    cleanup_free char *cpu = knob(CG_CPU, path, "cpu.max");
    cleanup_free char *weight = knob(CG_CPU, path, "cpu.weight");
    cr_assert_str_eq(mem, "67108864");
    cr_assert_str_eq(cpu, "50000 100000");
    cr_assert_str_eq(weight, "20"); /* 1 + (510 * 9999) / 262142 */
  }
  cleanup_free char *pids = knob(CG_PIDS, path, "pids.max");
  cr_assert_str_eq(pids, "10");
  /* cpuset was not asked for: no cpuset cgroup on v1. */
  int cs = cg_info()->by_ctrl[CG_CPUSET];
  if (cs >= 0 && cg_info()->v1[cs].ctrls == CG_BIT(CG_CPUSET)) {
    cleanup_free char *d = path_join(cg_info()->v1[cs].mount, path);
    cr_assert(!fs_exists(d), "%s exists", d);
  }
}

Test(cgroup, cpuset_copied_and_set)
{
  if (cg_info()->by_ctrl[CG_CPUSET] < 0 && cg_detect() != CG_V2)
    cr_skip_test("no cpuset controller");
  cleanup_free char *path = test_path("cpuset");
  rt_resources r;
  rt_resources_init(&r);
  r.cpuset_cpus = "0";
  berr_t err = BERR_INIT;
  cr_assert_eq(cg_create(path, &r, &err), 0, "%s", err.msg);
  cleanup_free char *cpus = knob(CG_CPUSET, path, "cpuset.cpus");
  cr_assert_str_eq(cpus, "0");
  if (cg_detect() != CG_V2) {
    /* mems came from the parent, so a task can join */
    cleanup_free char *mems = knob(CG_CPUSET, path, "cpuset.mems");
    cr_assert_neq(strlen(mems), 0);
    child c = spawn(child_pause, NULL);
    cr_assert_eq(cg_add_pid(path, c.pid, &err), 0, "%s", err.msg);
    cleanup_free char *dir = ctrl_dir(CG_CPUSET, path);
    cr_assert(procs_has(dir, c.pid));
    kill(c.pid, SIGKILL);
    reap(&c);
  }
  cleanup_strv char **dirs = cg_dirs(path);
  cr_assert_eq(cg_destroy(path, &err), 0, "%s", err.msg);
  for (size_t i = 0; dirs[i]; i++)
    cr_assert(!fs_exists(dirs[i]), "%s left behind", dirs[i]);
}

Test(cgroup, bad_values_name_the_knob)
{
  bool v1 = cg_detect() != CG_V2;
  cleanup_free char *path = test_path("bad");
  berr_t err = BERR_INIT;
  rt_resources r;

  rt_resources_init(&r);
  r.cpu_quota = 500; /* the kernel's minimum is 1000 µs */
  cr_assert_lt(cg_create(path, &r, &err), 0);
  cr_assert(strstr(err.msg, v1 ? "set cpu quota 500: cpu.cfs_quota_us: Invalid argument"
                               : "set cpu quota 500: cpu.max: Invalid argument"),
            "%s", err.msg);
  berr_clear(&err);
  /* a failed create leaves nothing behind */
  cleanup_strv char **dirs = cg_dirs(path);
  for (size_t i = 0; dirs[i]; i++)
    cr_assert(!fs_exists(dirs[i]), "%s left behind", dirs[i]);

  rt_resources_init(&r);
  r.cpuset_cpus = "4095";
  cr_assert_lt(cg_create(path, &r, &err), 0);
  cr_assert(strstr(err.msg, "set cpuset cpus 4095: cpuset.cpus: "), "%s", err.msg);
  berr_clear(&err);

  rt_resources_init(&r);
  r.cpu_shares = 1;
  cr_assert_lt(cg_create(path, &r, &err), 0);
  cr_assert_str_eq(err.msg,
                   "set cpu shares 1: cpu.shares: must be between 2 and 262144: Invalid argument");
  berr_clear(&err);

  rt_resources_init(&r);
  r.memory_limit = 64 << 20;
  r.memory_swap = 32 << 20;
  cr_assert_lt(cg_create(path, &r, &err), 0);
  cr_assert_str_eq(err.msg, "set memory+swap limit 32m: must not be below the memory limit 64m: "
                            "Invalid argument");
  berr_clear(&err);

  rt_resources_init(&r);
  cleanup_json json_t *rules = json_loads("[{\"allow\": true, \"type\": \"x\"}]", 0, NULL);
  r.devices = rules;
  cr_assert_lt(cg_create(path, &r, &err), 0);
  cr_assert_str_eq(err.msg,
                   "linux.resources.devices: device rule 0: invalid type \"x\" (a, b or c): "
                   "Invalid argument");
  berr_clear(&err);

  cr_assert_lt(cg_create("/berth/../etc", NULL, &err), 0);
  cr_assert(strstr(err.msg, "invalid cgroup path \"/berth/../etc\""), "%s", err.msg);
  berr_clear(&err);
}

static int child_touch_8m(void *arg)
{
  size_t n = 8 << 20;
  char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return 1;
  memset(p, 1, n);
  /* 30 ms of CPU time (not wall time: the tests run in parallel) */
  for (;;) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    if (ts.tv_sec > 0 || ts.tv_nsec > 30000000)
      break;
  }
  say_ready();
  for (;;)
    pause();
  return 0;
}

Test(cgroup, memory_limit_below_usage_is_refused)
{
  if (cg_info()->by_ctrl[CG_MEMORY] < 0)
    cr_skip_test("v2 reclaims or OOM-kills instead of refusing");
  cleanup_free char *path = test_path("busy");
  berr_t err = BERR_INIT;
  cr_assert_eq(cg_create(path, NULL, &err), 0, "%s", err.msg);
  child c = spawn(child_touch_8m, NULL);
  cr_assert_eq(cg_add_pid(path, c.pid, &err), 0, "%s", err.msg);
  go(&c);
  wait_ready(&c);
  rt_resources r;
  rt_resources_init(&r);
  r.memory_limit = 1024;
  cr_assert_lt(cg_create(path, &r, &err), 0);
  cr_assert_str_eq(err.msg, "set memory limit 1k: memory.limit_in_bytes: Device or resource busy");
  berr_clear(&err);
  /* the existing cgroup was not removed by the failed create */
  cleanup_free char *dir = ctrl_dir(CG_MEMORY, path);
  cr_assert(procs_has(dir, c.pid));
  kill(c.pid, SIGKILL);
  reap(&c);
}

/* ---- joining ------------------------------------------------------------------ */

Test(cgroup, add_pid_joins_every_hierarchy)
{
  cleanup_free char *path = test_path("join");
  rt_resources r = limits();
  berr_t err = BERR_INIT;
  cr_assert_eq(cg_create(path, &r, &err), 0, "%s", err.msg);
  child c = spawn(child_pause, NULL);
  cr_assert_eq(cg_add_pid(path, c.pid, &err), 0, "%s", err.msg);
  cleanup_strv char **dirs = cg_dirs(path);
  size_t n = strv_len(dirs);
  size_t want = cg_info()->nv1 + (cg_info()->v2 ? 1 : 0);
  int cs = cg_info()->by_ctrl[CG_CPUSET];
  if (cs >= 0 && cg_info()->v1[cs].ctrls == CG_BIT(CG_CPUSET))
    want--; /* no cpuset asked for */
  cr_assert_eq(n, want, "%zu directories, expected %zu", n, want);
  for (size_t i = 0; dirs[i]; i++)
    cr_assert(procs_has(dirs[i], c.pid), "pid %d not in %s", c.pid, dirs[i]);
  kill(c.pid, SIGKILL);
  reap(&c);
}

typedef struct join_arg {
  cg_join *j;
  bool cloned;
} join_arg;

static int child_join_self(void *arg)
{
  join_arg *a = arg;
  if (cg_join_self(a->j, a->cloned) < 0)
    return 1;
  say_ready();
  for (;;)
    pause();
  return 0;
}

Test(cgroup, join_self_without_the_global_lock)
{
  cleanup_free char *path = test_path("joinself");
  berr_t err = BERR_INIT;
  rt_resources r = limits();
  cr_assert_eq(cg_create(path, &r, &err), 0, "%s", err.msg);
  cg_join j;
  cr_assert_eq(cg_join_open(path, &j, &err), 0, "%s", err.msg);
  cr_assert_eq(j.v2_dir >= 0, cg_info()->v2 != NULL);
  join_arg a = { &j, false };
  child c = spawn(child_join_self, &a);
  go(&c);
  wait_ready(&c);
  cleanup_strv char **dirs = cg_dirs(path);
  for (size_t i = 0; dirs[i]; i++)
    cr_assert(procs_has(dirs[i], c.pid), "pid %d not in %s", c.pid, dirs[i]);
  kill(c.pid, SIGKILL);
  reap(&c);

  if (j.v2_dir >= 0) {
    /* clone3(CLONE_INTO_CGROUP): born in the cgroup2 directory */
    struct clone_args ca
        = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)j.v2_dir };
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
    cr_assert_geq(pid, 0, "clone3: %s", strerror(errno));
    if (pid == 0) {
      if (cg_join_self(&j, true) < 0)
        _exit(1);
      (void)!write(ready[1], "r", 1);
      for (;;)
        pause();
    }
    close(ready[1]);
    char ch;
    cr_assert_eq(read(ready[0], &ch, 1), 1);
    close(ready[0]);
    for (size_t i = 0; dirs[i]; i++)
      cr_assert(procs_has(dirs[i], pid), "pid %d not in %s", pid, dirs[i]);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  cg_join_close(&j);
  cr_assert_eq(j.v2_dir, -1);
}

/* ---- stats and OOM ------------------------------------------------------------ */

Test(cgroup, stats_of_a_running_child)
{
  cleanup_free char *path = test_path("stats");
  rt_resources r = limits();
  berr_t err = BERR_INIT;
  cr_assert_eq(cg_create(path, &r, &err), 0, "%s", err.msg);
  child c = spawn(child_touch_8m, NULL);
  cr_assert_eq(cg_add_pid(path, c.pid, &err), 0, "%s", err.msg);
  go(&c);
  wait_ready(&c);
  rt_stats s;
  cr_assert_eq(cg_stats(path, &s, &err), 0, "%s", err.msg);
  cr_log_info("stats: cpu %llu ns, mem %llu/%llu, pids %llu/%llu", (unsigned long long)s.cpu_ns,
              (unsigned long long)s.mem_bytes, (unsigned long long)s.mem_limit,
              (unsigned long long)s.pids, (unsigned long long)s.pids_limit);
  cr_assert_geq(s.mem_bytes, 8 << 20);
  cr_assert_lt(s.mem_bytes, 64 << 20);
  cr_assert_eq(s.mem_limit, 64 << 20);
  cr_assert_eq(s.pids, 1);
  cr_assert_eq(s.pids_limit, 10);
  cr_assert_geq(s.cpu_ns, 20000000); /* the child spun for 30 ms */
  kill(c.pid, SIGKILL);
  reap(&c);

  /* unlimited reads as 0 */
  cleanup_free char *path2 = test_path("stats-unlimited");
  cr_assert_eq(cg_create(path2, NULL, &err), 0, "%s", err.msg);
  cr_assert_eq(cg_stats(path2, &s, &err), 0, "%s", err.msg);
  cr_assert_eq(s.mem_limit, 0);
  cr_assert_eq(s.pids_limit, 0);
  cr_assert_eq(s.pids, 0);

  cleanup_free char *gone = test_path("never-made");
  cr_assert_lt(cg_stats(gone, &s, &err), 0);
  cr_assert_eq(err.code, ENOENT);
  berr_clear(&err);
}

static int child_eat_memory(void *arg)
{
  size_t n = 256 << 20;
  char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return 1;
  for (size_t i = 0; i < n; i += 4096)
    p[i] = 1;
  return 0; /* not killed: the limit did not hold */
}

Test(cgroup, oom_kill_is_counted)
{
  cleanup_free char *path = test_path("oom");
  rt_resources r;
  rt_resources_init(&r);
  r.memory_limit = 32 << 20;
  r.memory_swap = 32 << 20; /* no swap */
  berr_t err = BERR_INIT;
  cr_assert_eq(cg_create(path, &r, &err), 0, "%s", err.msg);
  cleanup_free char *file = cg_oom_file(path);
  cr_assert_not_null(file);
  cr_assert(fs_exists(file), "%s", file);
  cr_assert(str_has_suffix(file, cg_detect() == CG_V2 ? "/memory.events" : "/memory.oom_control"));
  cr_assert_eq(cg_oom_kills(path), 0);
  child c = spawn(child_eat_memory, NULL);
  cr_assert_eq(cg_add_pid(path, c.pid, &err), 0, "%s", err.msg);
  go(&c);
  int status = reap(&c);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status 0x%x", status);
  cr_assert_geq(cg_oom_kills(path), 1);
}

/* ---- pids ------------------------------------------------------------------- */

static int child_fork_bomb(void *arg)
{
  for (int n = 0; n < 50; n++) {
    pid_t p = fork();
    if (p == 0) {
      for (;;)
        pause();
    }
    if (p < 0)
      return errno == EAGAIN ? n : 100 + errno % 100;
  }
  return 99;
}

Test(cgroup, pids_limit_stops_forks)
{
  cleanup_free char *path = test_path("pids");
  rt_resources r;
  rt_resources_init(&r);
  r.pids_limit = 10;
  berr_t err = BERR_INIT;
  cr_assert_eq(cg_create(path, &r, &err), 0, "%s", err.msg);
  child c = spawn(child_fork_bomb, NULL);
  cr_assert_eq(cg_add_pid(path, c.pid, &err), 0, "%s", err.msg);
  go(&c);
  int status = reap(&c);
  cr_assert(WIFEXITED(status), "status 0x%x", status);
  /* the child itself is one of the 10 */
  cr_assert_eq(WEXITSTATUS(status), 9, "forked %d times (99 = never refused)", WEXITSTATUS(status));
  /* its 9 children are still there: destroy kills them */
  cleanup_free char *dir = ctrl_dir(CG_PIDS, path);
  cr_assert_eq(procs_count(dir), 9);
  cr_assert_eq(cg_destroy(path, &err), 0, "%s", err.msg);
  cr_assert(!fs_exists(dir));
}

/* ---- signals and removal ------------------------------------------------------ */

static int child_with_children(void *arg)
{
  for (int i = 0; i < 3; i++)
    if (fork() == 0) {
      for (;;)
        pause();
    }
  say_ready();
  for (;;)
    pause();
  return 0;
}

static void signal_all_case(const char *name, int sig)
{
  cleanup_free char *path = test_path(name);
  berr_t err = BERR_INIT;
  cr_assert_eq(cg_create(path, NULL, &err), 0, "%s", err.msg);
  child c = spawn(child_with_children, NULL);
  cr_assert_eq(cg_add_pid(path, c.pid, &err), 0, "%s", err.msg);
  go(&c);
  wait_ready(&c);
  cleanup_strv char **dirs = cg_dirs(path);
  cr_assert_eq(procs_count(dirs[0]), 4);
  cr_assert_eq(cg_signal_all(path, sig, &err), 0, "%s", err.msg);
  int status = reap(&c);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == sig, "status 0x%x", status);
  /* the grandchildren (now orphans, reaped elsewhere) go too */
  int64_t end = time_mono_ns() + 2000000000LL;
  while (procs_count(dirs[0]) > 0 && time_mono_ns() < end)
    usleep(1000);
  cr_assert_eq(procs_count(dirs[0]), 0, "processes left in %s", dirs[0]);
  cr_assert_eq(cg_destroy(path, &err), 0, "%s", err.msg);
}

Test(cgroup, signal_all_kills_every_process)
{
  signal_all_case("kill", SIGKILL);
}

Test(cgroup, signal_all_other_signals)
{
  signal_all_case("term", SIGTERM);
}

Test(cgroup, signal_all_needs_the_cgroup)
{
  cleanup_free char *path = test_path("absent");
  berr_t err = BERR_INIT;
  cr_assert_lt(cg_signal_all(path, SIGKILL, &err), 0);
  cr_assert_eq(err.code, ENOENT, "%s", err.msg);
  berr_clear(&err);
  /* destroying what is not there is fine */
  cr_assert_eq(cg_destroy(path, &err), 0, "%s", err.msg);
}

Test(cgroup, destroy_kills_and_leaves_nothing)
{
  cleanup_free char *path = test_path("destroy");
  rt_resources r = limits();
  berr_t err = BERR_INIT;
  cr_assert_eq(cg_create(path, &r, &err), 0, "%s", err.msg);
  child c = spawn(child_with_children, NULL);
  cr_assert_eq(cg_add_pid(path, c.pid, &err), 0, "%s", err.msg);
  go(&c);
  wait_ready(&c);
  /* a sub-cgroup, as a container with a writable cgroupfs could make */
  cleanup_strv char **dirs = cg_dirs(path);
  for (size_t i = 0; dirs[i]; i++) {
    cleanup_free char *sub = path_join(dirs[i], "nested");
    cr_assert_eq(mkdir(sub, 0755), 0, "mkdir %s: %s", sub, strerror(errno));
  }
  int64_t t0 = time_mono_ns();
  cr_assert_eq(cg_destroy(path, &err), 0, "%s", err.msg);
  cr_log_info("destroy with 4 live processes: %.2f ms", (time_mono_ns() - t0) / 1e6);
  int status = reap(&c);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status 0x%x", status);
  for (size_t i = 0; dirs[i]; i++)
    cr_assert(!fs_exists(dirs[i]), "%s left behind", dirs[i]);
  /* the parent stays */
  cleanup_free char *root = test_root();
  cleanup_strv char **parents = cg_dirs(root);
  for (size_t i = 0; parents[i]; i++)
    cr_assert(fs_exists(parents[i]), "%s was removed", parents[i]);
}

/* ---- devices ------------------------------------------------------------------ */

/* True when a block node for dev made in DIR opens here, outside any
 * restricting cgroup (some sandboxes refuse the root disk to everyone). */
static bool block_node_opens(const char *dir, dev_t dev)
{
  cleanup_free char *node = path_join(dir, "probe");
  unlink(node);
  if (mknod(node, S_IFBLK | 0600, dev) < 0)
    return false;
  int fd = open(node, O_RDONLY);
  unlink(node);
  if (fd < 0)
    return false;
  close(fd);
  return true;
}

/* A block device that this process may open: the root file system's (from
 * mountinfo), else a disk from /sys/block. So that a refusal inside the
 * cgroup can only come from the cgroup. */
static dev_t a_block_device(const char *dir)
{
  cleanup_free char *mi = NULL;
  cr_assert_eq(fs_read_file("/proc/self/mountinfo", 0, &mi, NULL, NULL), 0);
  for (char *save = NULL, *line = strtok_r(mi, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    unsigned maj, min;
    char mnt[256];
    if (sscanf(line, "%*s %*s %u:%u %*s %255s", &maj, &min, mnt) == 3 && !strcmp(mnt, "/")
        && maj != 0 && block_node_opens(dir, makedev(maj, min)))
      return makedev(maj, min);
  }
  cleanup_dir DIR *d = opendir("/sys/block");
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    cleanup_free char *p = xasprintf("/sys/block/%s/dev", de->d_name), *txt = NULL;
    unsigned maj, min;
    if (fs_read_file(p, 0, &txt, NULL, NULL) == 0 && sscanf(txt, "%u:%u", &maj, &min) == 2
        && block_node_opens(dir, makedev(maj, min)))
      return makedev(maj, min);
  }
  cr_skip_test("no block device this process may open");
  return 0;
}

typedef struct dev_arg {
  const char *dir; /* where to mknod */
  dev_t blk;
  const char *v2_procs; /* join a bare cgroup2 directory (BPF test) */
} dev_arg;

/* Bit i of the result is set when check i went as expected. */
static int child_devices(void *arg)
{
  dev_arg *a = arg;
  if (a->v2_procs) {
    int fd = open(a->v2_procs, O_WRONLY);
    if (fd < 0 || write(fd, "0", 1) != 1)
      return 0;
    close(fd);
  }
  int ok = 0, fd;
  if ((fd = open("/dev/null", O_RDWR)) >= 0)
    ok |= 1, close(fd);
  if ((fd = open("/dev/urandom", O_RDONLY)) >= 0)
    ok |= 2, close(fd);
  cleanup_free char *blk = path_join(a->dir, "blk"), *mem = path_join(a->dir, "mem");
  cleanup_free char *kmsg = path_join(a->dir, "kmsg");
  if (mknod(blk, S_IFBLK | 0600, a->blk) == 0)
    ok |= 4;
  if (open(blk, O_RDONLY) < 0 && errno == EPERM)
    ok |= 8;
  if (mknod(mem, S_IFCHR | 0600, makedev(1, 1)) == 0)
    ok |= 16;
  if (open(mem, O_RDONLY) < 0 && errno == EPERM)
    ok |= 32;
  /* the OCI rule "c 1:11 r" allows reading /dev/kmsg, not writing it */
  mknod(kmsg, S_IFCHR | 0600, makedev(1, 11));
  if ((fd = open(kmsg, O_RDONLY | O_NONBLOCK)) >= 0)
    ok |= 64, close(fd);
  if (open(kmsg, O_WRONLY) < 0 && errno == EPERM)
    ok |= 128;
  return ok;
}

/* One OCI rule on top of the defaults; with deny_all, led by the deny-all
 * rule that Docker's and crun's specs start with. */
static json_t *kmsg_rule(bool deny_all)
{
  return json_loads(deny_all ? "[{\"allow\": false, \"access\": \"rwm\"},"
                               " {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 11,"
                               "  \"access\": \"r\"}]"
                             : "[{\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 11,"
                               "  \"access\": \"r\"}]",
                    0, NULL);
}

static void check_devices(int status)
{
  cr_assert(WIFEXITED(status), "status 0x%x", status);
  int ok = WEXITSTATUS(status);
  cr_expect(ok & 1, "open /dev/null failed");
  cr_expect(ok & 2, "open /dev/urandom failed");
  cr_expect(ok & 4, "mknod of a block device failed");
  cr_expect(ok & 8, "open of a block device was not refused with EPERM");
  cr_expect(ok & 16, "mknod of c 1:1 failed");
  cr_expect(ok & 32, "open of c 1:1 (/dev/mem) was not refused with EPERM");
  cr_expect(ok & 64, "read of c 1:11 (allowed by an OCI rule) failed");
  cr_assert(ok & 128, "write of c 1:11 was not refused with EPERM");
}

static char *node_dir(const char *name)
{
  char *dir = xasprintf("/tmp/berth-test-%d-%s", (int)getpid(), name);
  cr_assert_eq(fs_mkdir_p(dir, 0700, NULL), 0);
  return dir;
}

Test(cgroup, devices_are_restricted)
{
  cleanup_free char *path = test_path("devices");
  cleanup_json json_t *rules = kmsg_rule(false);
  rt_resources r;
  rt_resources_init(&r);
  r.devices = rules;
  berr_t err = BERR_INIT;
  cr_assert_eq(cg_create(path, &r, &err), 0, "%s", err.msg);
  cleanup_free char *dir = node_dir("dev");
  dev_arg a = { .dir = dir, .blk = a_block_device(dir) };
  cr_log_info("block device %u:%u", major(a.blk), minor(a.blk));
  child c = spawn(child_devices, &a);
  cr_assert_eq(cg_add_pid(path, c.pid, &err), 0, "%s", err.msg);
  go(&c);
  int status = reap(&c);
  fs_rm_rf(dir, NULL);
  check_devices(status);
}

Test(cgroup, devices_bpf_program_on_cgroup2)
{
  const cg_layout_info *L = cg_info();
  if (!L->v2)
    cr_skip_test("no cgroup2 hierarchy");
  /* A bare cgroup2 directory with only the BPF program: on hybrid this
   * checks the program that pure v2 machines get. */
  cleanup_free char *root = test_root(), *rootdir = path_join(L->v2, root);
  cleanup_free char *cgdir = path_join(rootdir, "bpf");
  cr_assert(mkdir(rootdir, 0755) == 0 || errno == EEXIST);
  cr_assert_eq(mkdir(cgdir, 0755), 0);
  cleanup_json json_t *oci = kmsg_rule(true);
  cleanup_free cg_dev_rule *rules = NULL;
  size_t n = 0;
  berr_t err = BERR_INIT;
  cr_assert_eq(cg_dev_rules(oci, &rules, &n, &err), 0, "%s", err.msg);
  cr_assert_eq(cg_dev_apply_bpf(cgdir, rules, n, &err), 0, "%s", err.msg);
  cleanup_free char *dir = node_dir("bpf");
  cleanup_free char *procs = path_join(cgdir, "cgroup.procs");
  dev_arg a = { .dir = dir, .blk = a_block_device(dir), .v2_procs = procs };
  child c = spawn(child_devices, &a);
  go(&c);
  int status = reap(&c);
  fs_rm_rf(dir, NULL);
  check_devices(status);
}
