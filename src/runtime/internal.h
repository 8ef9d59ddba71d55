/* internal.h — what the runtime's files share with each other. Not part of
 * the module's API (that is runtime.h); nothing outside src/runtime/ includes
 * this. */
#ifndef BERTH_RUNTIME_INTERNAL_H
#define BERTH_RUNTIME_INTERNAL_H

#include "runtime/runtime.h"

/* ---- state files (state.c) --------------------------------------------- */

/* ROOT/ID, after checking that id is a valid container id. */
int rt_state_dir(const char *root, const char *id, char **out, berr_t *err);

/* Hashes the embedded monitor program once for the process (rt_preload). */
void rt_monitor_preload(void);

/* ---- resources and cgroups (cgroup.c) --------------------------------------- */

/* linux.resources of the OCI config, as the kernel knobs need them. */
typedef struct rt_resources {
  int64_t memory_limit; /* bytes; -1 = unlimited */
  int64_t memory_swap;  /* bytes of memory+swap; -1 = unset */
  int64_t cpu_quota;    /* µs per period; -1 = unlimited */
  uint64_t cpu_period;  /* µs; 0 = kernel default (100000) */
  uint64_t cpu_shares;  /* v1 shares (2–262144); 0 = unset; v2 weight derived */
  int64_t pids_limit;   /* -1 or 0 = unlimited */
  char *cpuset_cpus;    /* NULL = unset */
  char *cpuset_mems;
  json_t *devices; /* OCI linux.resources.devices rules (borrowed), NULL = defaults */
} rt_resources;

void rt_resources_init(rt_resources *r);

typedef enum cg_layout { CG_V1, CG_V2, CG_HYBRID } cg_layout;

/* The machine's cgroup layout, detected once per process. */
cg_layout cg_detect(void);
/* Creates the cgroup PATH (absolute within each hierarchy, e.g. "/berth/ID")
 * in every hierarchy berth uses, applies the limits and the device rules. */
int cg_create(const char *path, const rt_resources *res, berr_t *err);
/* Moves pid into PATH in every hierarchy. */
int cg_add_pid(const char *path, pid_t pid, berr_t *err);
int cg_stats(const char *path, rt_stats *out, berr_t *err);
/* Number of OOM kills recorded for PATH (memory.oom_control's oom_kill on v1,
 * memory.events' oom_kill on v2); 0 when unknown. */
uint64_t cg_oom_kills(const char *path);
/* The file the monitor reads for that count. */
char *cg_oom_file(const char *path);
/* Sends sig to every process in PATH. */
int cg_signal_all(const char *path, int sig, berr_t *err);
/* Kills what is left in PATH and removes it from every hierarchy. */
int cg_destroy(const char *path, berr_t *err);
/* Absolute directories of PATH, one per hierarchy (for joining via
 * cgroup.procs and for the monitor's clean-up); NULL-terminated. */
char **cg_dirs(const char *path);

/* Joining without the kernel's global lock. Writing another process's pid to
 * cgroup.procs takes cgroup_threadgroup_rwsem for writing, which waits for an
 * RCU grace period (9-38 ms measured here) unless a migration happened just
 * before. Two ways in avoid it: clone3(CLONE_INTO_CGROUP) for the cgroup2 tree,
 * and a single-threaded process writing "0" (itself) to a v1 "tasks" file.
 * So the launcher calls cg_join_open() after cg_create(), passes j.v2_dir as
 * clone_args.cgroup with CLONE_INTO_CGROUP (when j.v2_dir >= 0), and the child
 * calls cg_join_self() before it runs user code and before it unshares its
 * cgroup namespace. cg_add_pid() remains the simple, slow way. */
typedef struct cg_join {
  int v2_dir;   /* PATH in the cgroup2 tree (O_DIRECTORY), -1 if none */
  int v2_procs; /* its cgroup.procs, -1 if none */
  int tasks[6]; /* v1 "tasks" files (one per hierarchy berth uses), -1 = unused */
} cg_join;
int cg_join_open(const char *path, cg_join *j, berr_t *err);
/* In the child: write(2) only (async-signal-safe, no allocation). Pass
 * cloned_into_v2 when the child was created with CLONE_INTO_CGROUP j->v2_dir.
 * Returns 0 or -errno. */
int cg_join_self(const cg_join *j, bool cloned_into_v2);
void cg_join_close(cg_join *j);

/* ---- the launch (linux.c and friends) -------------------------------------- */

/* What rt_create/rt_run/rt_monitor_create ask of the launcher. */
typedef struct rt_launch {
  const char *root, *id, *bundle;
  json_t *config; /* parsed config.json (borrowed) */
  int console_fd; /* see rt_create_opts */
  int stdio[3];
  bool wait_start;     /* wait in exec.fifo until rt_start() (create); else exec at once */
  int64_t monitor_pid; /* recorded in state.json when a monitor owns the container */
  int *exec_status;    /* optional out: set to 127 (not found) or 126 (not executable)
                          when the launch failed because process.args[0] cannot be
                          executed, as `docker run` exits; untouched otherwise */
} rt_launch;

/* Creates the container process as a child of the caller, writes state.json
 * and returns the pid. On failure nothing is left behind. */
int rt_launch_container(const rt_launch *l, pid_t *pid, berr_t *err);

/* ---- embedded helper programs (embed.S) -------------------------------------- */

/* The exec stub: a tiny static program (no libc) that the container's last
 * step executes from a sealed memfd, so the berth binary itself is never
 * executed, or reachable through /proc/self/exe, inside a container
 * (CVE-2019-5736). With --init as argv[1] it stays as pid 1, reaps zombies and
 * forwards signals. */
extern const unsigned char rt_stub_start[], rt_stub_end[];
/* The monitor: a small static program (see monitor/ and monitor_proto.h). */
extern const unsigned char rt_monitor_start[], rt_monitor_end[];

#endif
