/* launch.h — what the files that start container processes share: the
 * parent/child sync channel (linux.c), the root filesystem (mount.c),
 * capabilities (caps.c), seccomp (seccomp.c), the final steps of a process
 * (process.c), terminals (terminal.c) and the state files (state.c).
 *
 * Everything a child needs is computed by the parent before the clone
 * (parsed spec, compiled seccomp program, sealed stub memfd, cgroup mount
 * plan): the child only issues system calls. */
#ifndef BERTH_RUNTIME_LAUNCH_H
#define BERTH_RUNTIME_LAUNCH_H

#include "runtime/spec.h"

#include <linux/filter.h>

/* ---- sync channel (linux.c) ------------------------------------------------------ */

/* A SOCK_SEQPACKET pair: the child reports "ready" or an error with its full
 * message; the parent sees EOF when the child has executed the stub
 * (close-on-exec). */
enum { SYNC_READY = 1, SYNC_ERROR = 2, SYNC_EXEC_ERROR = 3 };

/* Child side: sends err (kind SYNC_ERROR, or SYNC_EXEC_ERROR with the exit
 * status 126/127 when the command cannot be executed). */
void sync_send_error(int fd, int kind, int status, const berr_t *err);
int sync_send_ready(int fd);
/* Parent side: waits for READY (want_ready) or EOF. On a child error, err gets
 * its message and *exec_status (if not NULL) 126/127 for exec errors. */
int sync_wait(int fd, bool want_ready, int *exec_status, berr_t *err);

/* clone without a new stack, like fork() but with CLONE_NEW* flags; with
 * cgroup_fd >= 0 by clone3(CLONE_INTO_CGROUP) into that cgroup2 directory
 * (*into_cgroup tells whether that worked; else it falls back to clone). */
pid_t raw_clone(unsigned long flags, int cgroup_fd, bool *into_cgroup);

/* ---- root filesystem (mount.c) ------------------------------------------------- */

typedef struct mnt_cgroup {
  char *name;   /* directory under the cgroup mount: "memory", "unified" */
  char *fstype; /* "cgroup" or "cgroup2" */
  char *opts;   /* v1 superblock options: "memory", "name=systemd" */
  char *host;   /* host directory of this container's cgroup */
  char *start;  /* host directory of the cgroup the container starts in here
                   (the launcher's: where berth does not place it), or NULL */
} mnt_cgroup;

typedef struct mnt_plan {
  const rt_spec *spec;
  const char *bundle;
  char *rootfs;   /* absolute host path of root.path */
  mnt_cgroup *cg; /* the host's cgroup hierarchies (when a cgroup mount is asked for) */
  size_t n_cg;
  bool cg_unified; /* pure cgroup v2: one cgroup2 mount */
  bool cgroupns;   /* a cgroup namespace is used: mount fresh instead of binding */
} mnt_plan;

/* Parent: fills the plan (rootfs path, cgroup hierarchies). */
int mnt_plan_init(mnt_plan *p, const rt_spec *s, const char *bundle, const char *cgroup_path,
                  berr_t *err);
void mnt_plan_free(mnt_plan *p);
/* Child, in its new mount namespace: the rootfs, every mount, /dev, masked
 * and read-only paths, pivot_root, read-only root. */
int mnt_setup(const mnt_plan *p, berr_t *err);
/* After pivot_root, with a terminal: bind the pty slave onto /dev/console. */
int mnt_bind_console(const char *slave_path, berr_t *err);
/* After pivot_root: remount / read-only when root.readonly. */
int mnt_finish(const mnt_plan *p, berr_t *err);

/* ---- capabilities (caps.c) ----------------------------------------------------- */

/* Drops from the bounding set what c->bounding lacks (needs CAP_SETPCAP:
 * before the user switch). */
int caps_drop_bounding(const rt_caps *c, berr_t *err);
/* Sets effective, permitted, inheritable and ambient (after the user switch). */
int caps_apply(const rt_caps *c, berr_t *err);

/* ---- seccomp (seccomp.c) ------------------------------------------------------- */

typedef struct sc_filter {
  struct sock_fprog prog;
  unsigned int flags; /* SECCOMP_FILTER_FLAG_* */
  void *mem;
} sc_filter;

/* Parent: compiles linux.seccomp (or finds it in memory, or loads it from
 * the cache under root). */
int sc_prepare(json_t *seccomp, const char *root, sc_filter *out, berr_t *err);
void sc_free(sc_filter *f);
/* Child: installs the filter. */
int sc_load(const sc_filter *f, berr_t *err);

/* ---- the process (process.c) --------------------------------------------------- */

/* Parent: a sealed memfd holding the stub (close-on-exec). */
int stub_memfd(berr_t *err);

int proc_set_rlimits(const rt_process *p, berr_t *err);
int proc_set_oom_score_adj(const rt_process *p, berr_t *err);
/* Writes linux.sysctl through /proc/sys (in the child's namespaces). */
int proc_set_sysctl(json_t *sysctl, berr_t *err);

/* The last steps, shared by a container's init and rt_exec. */
typedef struct proc_final {
  const rt_process *proc;
  const sc_filter *seccomp; /* NULL = none */
  int stub_fd;
  bool init;   /* stub --init */
  int sync_fd; /* the sync channel */
  int fifo_fd; /* O_PATH exec.fifo: report ready, then wait there; -1 = exec at once */
} proc_final;

/* User, capabilities, umask, cwd, PATH lookup, no_new_privs, seccomp, then
 * execveat of the stub. Returns only on failure: *status is 126/127 when the
 * command cannot be executed (else 0), *ready_sent tells whether the parent
 * has already been told READY (then nobody is listening for the error). */
int proc_finish(const proc_final *f, int *status, bool *ready_sent, berr_t *err);

/* ---- terminals (terminal.c) ------------------------------------------------------ */

/* Opens a pty in the devpts of the current mount namespace (/dev/pts/ptmx),
 * of p's consoleSize when it has one: the process sees its terminal's size
 * from its first instruction, before anyone relays a resize. */
int tty_open(const rt_process *p, int *master, int *slave, char **slave_path, berr_t *err);
/* Makes slave the controlling terminal and stdio (after setsid()). */
int tty_attach_stdio(int slave, berr_t *err);
int tty_send_fd(int sock, int fd, berr_t *err);

/* ---- state files (state.c) ------------------------------------------------------- */

/* Writes a small file by temp file + rename, without fsync: runtime state
 * describes processes that do not survive a reboot, and the root is a tmpfs
 * on most machines; a rename keeps readers from seeing half a file. */
int st_write_file(const char *path, const char *data, berr_t *err);
/* Loads ROOT/ID/state.json ("container ID does not exist", ENOENT). */
json_t *st_load(const char *root, const char *id, berr_t *err);
int st_save(const char *root, const char *id, json_t *state, berr_t *err);
/* Removes the runtime's files in ROOT/ID and the directory when nothing else
 * is in it (the engine keeps its own files in the same directory). */
void st_remove(const char *dir);

#endif
