/* runtime.h — containers on Linux namespaces, cgroups and overlayfs.
 *
 * Two levels, one state format:
 *
 *  - The OCI level runs an OCI bundle (config.json + rootfs) with the verbs
 *    of the OCI runtime command line: create, start, state, kill, delete,
 *    run, exec, list. `berth runtime …` is a thin shell over these.
 *
 *  - The managed level adds a per-container monitor process (think conmon)
 *    that owns the container's stdio, writes its log (CRI log format,
 *    size-rotated), records the exit status and OOM kills, and serves an
 *    attach socket; the container outlives the process that started it.
 *    The engine (`berth container`, later the agent) uses this level.
 *
 * Every container has a state directory ROOT/ID/ holding state.json (what
 * was launched, pid and its start time), exit.json (written by the monitor
 * when the container ends) and, while needed, exec.fifo and attach.sock.
 *
 * berth-specific behaviour is requested through config.json annotations:
 *   berth.overlay.lowerdir  colon-separated read-only layers, top first
 *   berth.overlay.upperdir  per-container writable layer
 *   berth.overlay.workdir   overlayfs work directory
 *     → the root filesystem is an overlay mounted at root.path inside the
 *       container's own mount namespace (nothing to clean up on the host)
 *   berth.init = "true"     a small init (pid 1) reaps zombies and forwards
 *                           signals to the command (as `docker run --init`)
 *   berth.autoremove = "true"
 *                           managed level only: once the container has ended
 *                           (exit recorded, cgroups removed, attach clients
 *                           told), its monitor removes the whole state
 *                           directory ROOT/ID, whatever else it holds, and
 *                           rt_monitor_opts.remove_dir, as `docker run --rm`;
 *                           nobody has to stay to do it
 */
#ifndef BERTH_RUNTIME_H
#define BERTH_RUNTIME_H

#include "base/base.h"

#include <sys/types.h>

#define RT_DEFAULT_ROOT "/run/berth/runtime"

/* ---- state ---------------------------------------------------------------- */

typedef enum rt_status { RT_CREATING, RT_CREATED, RT_RUNNING, RT_STOPPED } rt_status;

typedef struct rt_state {
  char *id;
  rt_status status;
  pid_t pid; /* container init; 0 once stopped */
  char *bundle;
  int64_t created_ns;
  int64_t started_ns;  /* 0 until started */
  int64_t finished_ns; /* 0 until stopped (known only with a monitor) */
  int exit_code;       /* 128+signal for a signal; -1 unknown */
  int exit_signal;     /* 0 when exited normally */
  bool oom_killed;
  char *cgroup_path; /* relative cgroup path, e.g. /berth/ID */
  json_t *annotations;
} rt_state;

const char *rt_status_name(rt_status s); /* "created", "running", … */
int rt_state_get(const char *root, const char *id, rt_state *out, berr_t *err);
void rt_state_free(rt_state *s);
/* Every container under root; *out is an array of n states. */
int rt_list(const char *root, rt_state **out, size_t *n, berr_t *err);

/* ---- OCI level ------------------------------------------------------------ */

/* A complete OCI config (like `crun spec` writes) with Docker's defaults:
 * namespaces pid, mount, uts, ipc, net, cgroup; the default mounts (/proc,
 * /dev, devpts, shm, mqueue, /sys read-only, cgroup); Docker's default
 * capability set; the default masked and read-only paths; process.args
 * ["sh"]. Callers edit it (args, env, mounts, resources…). */
json_t *rt_default_config(void);

typedef struct rt_create_opts {
  const char *root;   /* state directory (RT_DEFAULT_ROOT) */
  const char *id;     /* [A-Za-z0-9][A-Za-z0-9_.-]* */
  const char *bundle; /* directory holding config.json; root.path is relative to it */
  json_t *config;     /* optional parsed config.json (borrowed); else read from bundle */
  const char *pid_file;
  int console_fd; /* with process.terminal: unix socket to send the pty master
                     over (SCM_RIGHTS), as OCI's --console-socket; -1 = none */
  int stdio[3];   /* fds for the container's 0,1,2; -1 = inherit the caller's */
} rt_create_opts;

/* Sets every field to its default (console_fd and stdio -1). */
void rt_create_opts_init(rt_create_opts *o);

/* Creates the container: namespaces, cgroups, mounts and security are in
 * place and the process waits in exec.fifo for rt_start(). */
int rt_create(const rt_create_opts *o, pid_t *pid, berr_t *err);
/* Reads, once per process, what every container's creation looks up on the
 * host (the cgroup layout and mounts), so that forks of a process that
 * creates many containers inherit it instead of reading it again. */
int rt_preload(berr_t *err);
/* Prepares the default seccomp profile (rt_default_config's) in memory, for
 * this process and its forks, from the cache under the runtime root root or
 * compiled (and cached): the container spawner's, before forking. */
void sc_preload_default(const char *root);
int rt_start(const char *root, const char *id, berr_t *err);
/* create + start. When detach is false it waits, forwarding SIGINT/SIGTERM/
 * SIGHUP, deletes the container and stores its exit code (128+N for signal N).
 * With process.terminal and no console_fd it relays the pty to fds 0 and 1.
 * When the command cannot be executed it fails with *exit_code 127 (not
 * found) or 126 (not executable), as `docker run`; else *exit_code is -1 on
 * failure. */
int rt_run(const rt_create_opts *o, bool detach, int *exit_code, berr_t *err);
/* Signals the init process, or with all every process of the container. */
int rt_kill(const char *root, const char *id, int sig, bool all, berr_t *err);
/* Removes a stopped container (force: kill it first): cgroups, state. */
int rt_delete(const char *root, const char *id, bool force, berr_t *err);
/* "TERM", "SIGTERM", "15" → 15. */
int rt_parse_signal(const char *s, int *sig, berr_t *err);

/* The two ends of a console socket (OCI --console-socket): connect to the
 * unix socket at path, and receive the pty master sent over a socket. */
int rt_console_connect(const char *path, int *fd, berr_t *err);
int rt_console_recv(int sock, int *master, berr_t *err);

typedef struct rt_exec_opts {
  json_t *process; /* OCI "process" object; missing fields come from the
                      container's config (env, cwd, user, capabilities…) */
  int console_fd;  /* as in rt_create_opts, for process.terminal */
  int stdio[3];    /* -1 = inherit */
  const char *pid_file;
} rt_exec_opts;

void rt_exec_opts_init(rt_exec_opts *o);
/* Starts a process in a running container's namespaces and cgroups, with
 * the same security. Returns its pid (a child of the caller). */
int rt_exec(const char *root, const char *id, const rt_exec_opts *o, pid_t *pid, berr_t *err);

/* ---- resource usage ---------------------------------------------------------- */

typedef struct rt_stats {
  uint64_t cpu_ns;     /* CPU time used */
  uint64_t mem_bytes;  /* memory in use (without page cache where the kernel tells) */
  uint64_t mem_limit;  /* 0 = unlimited */
  uint64_t pids;       /* tasks in the container */
  uint64_t pids_limit; /* 0 = unlimited */
} rt_stats;

int rt_stats_get(const char *root, const char *id, rt_stats *out, berr_t *err);

/* ---- managed level: a monitor per container ---------------------------------- */

typedef struct rt_monitor_opts {
  rt_create_opts create;
  const char *log_path;  /* CRI-format log ("<RFC3339Nano> stdout|stderr F|P <line>") */
  int64_t log_max_bytes; /* rotate at this size (0 = 10 MiB) */
  int log_max_files;     /* rotated files kept besides the current one (-1 = 1; 0 = the
                            log is truncated when it reaches its size) */
  bool stdin_open;       /* keep stdin open and feed it from attach clients (-i) */
  int *exec_status;      /* optional out: 127 (not found) or 126 (not executable) when
                            the create failed because process.args[0] cannot be
                            executed, the status `docker run` exits with; untouched
                            otherwise */
  /* With berth.autoremove: a directory the monitor removes too, after the
   * state directory (the engine's container directory); NULL = none. */
  const char *remove_dir;
  /* process.terminal in the config selects a pty, owned by the monitor. */
} rt_monitor_opts;

/* Sets every field to its default (log_max_files -1, see rt_create_opts_init). */
void rt_monitor_opts_init(rt_monitor_opts *o);
/* Creates the container under a new monitor process (in a session of its
 * own, surviving the caller; see docs/monitor.md) and returns once it is in
 * the created state; start it with rt_start(). */
int rt_monitor_create(const rt_monitor_opts *o, pid_t *pid, berr_t *err);

/* Attaches the caller's fds to a monitored container through its attach
 * socket until the container exits: output goes to out/errfd, in_fd (or -1)
 * feeds stdin, and with a tty the caller's terminal is put in raw mode and
 * resized along. Returns the exit code (128+N for signal N); for a container
 * that has already stopped, at once with its recorded code. To see every
 * byte of output, connect before rt_start() with the two halves below. */
int rt_attach(const char *root, const char *id, int in_fd, int out_fd, int err_fd, int *exit_code,
              berr_t *err);

/* rt_attach in two halves, for `run`: connect, rt_start(), then relay — the
 * monitor accepts a connection made before the start ahead of any output, so
 * not a byte is missed and no waiting or polling is needed. rt_attach_open
 * fails with ESRCH when no monitor listens (the container has stopped, or is
 * not a managed one). rt_attach_io closes sock. */
int rt_attach_open(const char *root, const char *id, int *sock, berr_t *err);
int rt_attach_io(const char *root, const char *id, int sock, int in_fd, int out_fd, int err_fd,
                 int *exit_code, berr_t *err);

/* Copies between a pty master and the caller's terminal until the master
 * hangs up (for exec -t); resizes the pty with the terminal. */
int rt_relay_pty(int master, int in_fd, int out_fd, berr_t *err);
/* rt_relay_pty for a caller whose terminal is elsewhere (the agent's
 * kubectl exec): resize_fd (-1 = none), a pipe or stream socket, carries
 * the terminal's new sizes, each one a line "ROWSxCOLS\n" in decimal (1 to
 * 65535, as rt_pty_resize_send writes it), applied to the pty in order
 * (TIOCSWINSZ, which signals SIGWINCH to the process). Malformed lines are
 * skipped; the end of resize_fd only ends the resizing. */
int rt_relay_pty_resizing(int master, int in_fd, int out_fd, int resize_fd, berr_t *err);
/* Writes one resize message to fd (a single write, atomic on a pipe). On a
 * non-blocking fd that is full the message is dropped: -1 with EAGAIN. */
int rt_pty_resize_send(int fd, uint16_t rows, uint16_t cols);

/* Waits until the container has stopped (monitor recorded its exit, or no
 * monitor is left to record it) or timeout_ms passed (-1 = forever, 0 = just
 * look); returns 1 stopped (or removed), 0 timeout. Costs no CPU while it
 * waits: the monitor's EXIT frame wakes it. */
int rt_wait_stopped(const char *root, const char *id, int timeout_ms, berr_t *err);

typedef struct rt_logs_opts {
  bool follow;           /* keep reading until the container stops */
  int64_t tail;          /* last N lines, -1 = all */
  bool timestamps;       /* prefix each line with its RFC 3339 time */
  int64_t since_ns;      /* 0 = from the start */
  const char *root, *id; /* with follow: the container whose end stops the read */
} rt_logs_opts;

/* Writes a CRI-format log (and its rotated predecessors) to out_fd/err_fd. */
int rt_logs_read(const char *log_path, const rt_logs_opts *o, int out_fd, int err_fd, berr_t *err);

#endif
