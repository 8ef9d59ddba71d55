/* cgroup-timing.c — what a container's cgroups cost at start and removal, per
 * step, on this machine. Not part of berth; build and run as root, from the repo:
 *
 *   gcc -O2 -std=gnu11 -Isrc -D_GNU_SOURCE -o /tmp/cgroup-timing bench/cgroup-timing.c \
 *       $(ls src/base/[a-z]*.c src/runtime/cgroup*.c) \
 *       $(pkg-config --cflags --libs jansson) -lpthread && /tmp/cgroup-timing 50 200
 *
 * Arguments: iterations (50) and the pause between them in ms (200). The pause
 * matters: writing another process's pid to cgroup.procs waits for an RCU
 * grace period unless a migration happened just before, so back-to-back runs
 * (pause 0, as hyperfine does) hide a cost every lone container start pays.
 * For the cost of each system call: strace -f -T -e trace=mkdir,openat,write,rmdir.
 */
#include "runtime/cgroup.h"

#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { T_DETECT, T_CREATE, T_ADD_PID, T_JOIN, T_DESTROY, T_DESTROY_LIVE, T_FORK, T_N };
static const char *names[T_N] = {
  "mountinfo read+parse",
  "cg_create (limits+devices)",
  "fork + cg_add_pid (parent writes cgroup.procs)",
  "cg_join_open + clone3 INTO_CGROUP + cg_join_self",
  "cg_destroy (exited)",
  "cg_destroy (1 live process)",
  "fork + handshake, no cgroup (baseline)",
};

static int cmp(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void die(berr_t *err)
{
  berr_print(err);
  exit(1);
}

/* A child that says "ready" on fd ready and waits to be killed. */
static pid_t start_child(const cg_join *j, int *ready_fd)
{
  int p[2];
  if (pipe(p) < 0)
    exit(1);
  pid_t pid;
  if (j && j->v2_dir >= 0) {
    struct clone_args ca
        = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)j->v2_dir };
    pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
  } else {
    pid = fork();
  }
  if (pid == 0) {
    if (j && cg_join_self(j, j->v2_dir >= 0) < 0)
      _exit(1);
    (void)!write(p[1], "r", 1);
    for (;;)
      pause();
  }
  close(p[1]);
  *ready_fd = p[0];
  return pid;
}

static void wait_ready(int fd)
{
  char c;
  if (read(fd, &c, 1) != 1)
    exit(1);
  close(fd);
}

static void stop(pid_t pid)
{
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 50;
  int pause_ms = argc > 2 ? atoi(argv[2]) : 200;
  if (n < 1)
    n = 1;
  int64_t *t[T_N];
  for (int i = 0; i < T_N; i++)
    t[i] = calloc((size_t)n, sizeof(int64_t));
  berr_t err = BERR_INIT;
  rt_resources res;
  rt_resources_init(&res);
  res.memory_limit = 64 << 20;
  res.cpu_quota = 50000;
  res.cpu_period = 100000;
  res.pids_limit = 100;
  char *path = xasprintf("/berth-timing-%d/c", (int)getpid());
  char *parent = xasprintf("/berth-timing-%d", (int)getpid());
  printf("layout %s, %d iterations, %d ms apart\n",
         cg_detect() == CG_HYBRID ? "hybrid"
         : cg_detect() == CG_V1   ? "v1"
                                  : "v2",
         n, pause_ms);

  for (int i = 0; i < n; i++) {
    int fd;
    int64_t a = time_mono_ns();
    char *mi = NULL;
    cg_layout_info L;
    fs_read_file("/proc/self/mountinfo", 0, &mi, NULL, NULL);
    cg_layout_parse(mi, &L);
    t[T_DETECT][i] = time_mono_ns() - a;
    cg_layout_free(&L);
    free(mi);

    usleep((useconds_t)pause_ms * 1000);
    a = time_mono_ns();
    pid_t pid = start_child(NULL, &fd);
    wait_ready(fd);
    t[T_FORK][i] = time_mono_ns() - a;
    stop(pid);

    /* the way linux.c joins today: the parent writes the pid */
    usleep((useconds_t)pause_ms * 1000);
    a = time_mono_ns();
    if (cg_create(path, &res, &err) < 0)
      die(&err);
    int64_t b = time_mono_ns();
    pid = start_child(NULL, &fd);
    if (cg_add_pid(path, pid, &err) < 0)
      die(&err);
    wait_ready(fd);
    int64_t c = time_mono_ns();
    t[T_CREATE][i] = b - a;
    t[T_ADD_PID][i] = c - b;
    stop(pid);
    a = time_mono_ns();
    if (cg_destroy(path, &err) < 0)
      die(&err);
    t[T_DESTROY][i] = time_mono_ns() - a;

    /* the fast way: born in the cgroup2 directory, joins v1 itself */
    usleep((useconds_t)pause_ms * 1000);
    if (cg_create(path, &res, &err) < 0)
      die(&err);
    a = time_mono_ns();
    cg_join j;
    if (cg_join_open(path, &j, &err) < 0)
      die(&err);
    pid = start_child(&j, &fd);
    wait_ready(fd);
    cg_join_close(&j);
    t[T_JOIN][i] = time_mono_ns() - a;
    a = time_mono_ns();
    if (cg_destroy(path, &err) < 0)
      die(&err);
    t[T_DESTROY_LIVE][i] = time_mono_ns() - a;
    waitpid(pid, NULL, 0);
  }
  char **dirs = cg_dirs(parent);
  for (size_t i = 0; dirs[i]; i++)
    rmdir(dirs[i]);
  strv_free(dirs);

  printf("%-52s %9s %9s %9s\n", "step", "median", "p90", "max");
  for (int k = 0; k < T_N; k++) {
    qsort(t[k], (size_t)n, sizeof(int64_t), cmp);
    printf("%-52s %7.3f ms %7.3f ms %7.3f ms\n", names[k], t[k][n / 2] / 1e6,
           t[k][(n * 9) / 10] / 1e6, t[k][n - 1] / 1e6);
  }
  return 0;
}
