/* engine.h — containers made from images: names, per-container bundles,
 * lifecycle, listing. `berth container` is a thin shell over this, and the
 * node agent will call the same functions. Nothing here prints or exits:
 * every failure comes back as a berr_t whose message names what failed.
 *
 * A container has two directories (ROOT is the engine root, default
 * /var/lib/berth). ROOT/containers/ID/ holds what it is, kept across
 * reboots:
 *
 *   meta.json    what the user asked for: name, image, command, options;
 *                "started": true once it has been started (see below)
 *   config.json  the OCI config handed to the runtime (bundle = this dir)
 *   upper/ work/ the container's writable overlay layer
 *   ctr.log      the container's output, written by its monitor (CRI format)
 *
 * ROOT/run/containers/ID/ holds the runtime's state of its processes. The
 * runtime's root is ROOT/run/containers, and ROOT/run a tmpfs the engine
 * mounts when it opens a root where none is mounted (src/engine/run.c; a
 * plain directory when it may not mount):
 *
 *   state.json   pid and its start time, cgroup, times (the runtime)
 *   exec.fifo    while the container waits to be started
 *   exit.json    how it ended (ENGINE_EXIT_FILE, written by its monitor)
 *   attach.sock  its monitor's socket, while the monitor runs
 *   rootfs/      mount point of the overlay, mounted only inside the
 *                container's mount namespace (nothing on the host)
 *
 * A reboot empties ROOT/run and ends every container. A container without
 * state then reads as exited, exit code unknown (-1 in engine_info,
 * ENGINE_EXIT_UNKNOWN in what users see), when meta.json says it was
 * started, and as created when it never was; engine_start runs an exited
 * one again under a new monitor, its layer and log kept.
 *
 * ROOT/containers/.lock is taken (flock) while a name is checked and claimed,
 * so two concurrent runs never get the same name, and while ROOT/run is
 * mounted, so two processes opening a fresh root never mount two tmpfs.
 *
 * Errors whose cause a caller may want to tell apart carry an errno in
 * berr_t.code: ENOENT no such container/image, EEXIST name in use, EBUSY
 * container running, ESRCH container not running, EINVAL bad option. An
 * image missing from the local store is ENOENT "unknown image REF"
 * (engine_err_is_no_image tells it from a missing bind source).
 *
 * Names are claimed in ROOT/run/names/NAME, a symlink to the id made under
 * the lock together with the container directory: claiming costs the same
 * with ten containers or ten thousand (the index is built from the
 * meta.json files when it is missing: a fresh root, or after a reboot). */
#ifndef BERTH_ENGINE_H
#define BERTH_ENGINE_H

#include "base/base.h"
#include "runtime/runtime.h"

typedef struct engine engine;

/* Written by a container's monitor in its state directory when it has
 * ended (docs/monitor.md): watch engine_state_dir() for it. */
#define ENGINE_EXIT_FILE "exit.json"

/* The exit code shown (status text, inspect's State.ExitCode) for a
 * container stopped without a record of how: its monitor was killed, or a
 * reboot ended it. docker shows 255 for a container a reboot ended. */
#define ENGINE_EXIT_UNKNOWN 255

/* root = engine root; ROOT/containers is created when missing. */
int engine_open(const char *root, engine **out, berr_t *err);
void engine_close(engine *e);

/* ---- what a container is made of --------------------------------------- */

typedef struct engine_bind {
  char *host; /* absolute, existing path on the host */
  char *ctr;  /* absolute path in the container */
  bool ro;
} engine_bind;

/* Everything `run` accepts besides the image. Strings are borrowed. */
typedef struct engine_create_opts {
  const char *image;  /* image reference or id (required) */
  const char *name;   /* NULL = generate adjective_noun */
  char **cmd;         /* replaces the image's Cmd when non-NULL */
  char **entrypoint;  /* replaces the image's Entrypoint when non-NULL */
  char **env;         /* "K=V", applied over the image's Env */
  engine_bind *binds; /* n_binds entries */
  size_t n_binds;
  const char *workdir;  /* NULL = image's WorkingDir or "/" */
  const char *user;     /* NULL = image's User; "uid[:gid]" or "name[:group]" */
  const char *hostname; /* NULL = first 12 hex digits of the id */
  int64_t memory;       /* bytes, 0 = unlimited */
  int64_t nano_cpus;    /* 1e9 = one CPU, 0 = unlimited */
  int64_t pids_limit;   /* 0 = unlimited */
  char **log_opts;      /* docker's --log-opt KEY=VALUE (see engine_parse_log_opts) */
  uint16_t console_rows, console_cols; /* with tty: the size the terminal starts with
                                          (docker's ConsoleSize); 0 = unknown */
  bool read_only, init, tty, stdin_open;
  bool auto_remove; /* the container's monitor removes it once it has ended */

  /* For the containers of a pod (src/agent/pod.h). Namespaces to join, by
   * path (a bind-mounted nsfs file such as ROOT/run/pods/UID/ns/net); NULL = a
   * new one. With utsns the namespace's hostname stays (OCI allows a
   * hostname only with a new uts namespace): hostname then only sets
   * $HOSTNAME. */
  const char *netns, *ipcns, *utsns;
  bool host_network;         /* the host's network namespace (netns ignored) */
  const char *cgroup_parent; /* the cgroup is PARENT/ID (e.g. "berth-pods/podUID") instead
                                of berth/ID; no ".." or ':' */
  int64_t cpu_shares;        /* cpu.shares, 2..262144 (cpu.weight on cgroup2); 0 = unset */
  json_t *labels;            /* string map kept in meta.json, returned by engine_info
                                (borrowed; NULL = none) */
  /* The bundle is not fsynced: for callers that can make the container again
   * after a crash (a pod's, from the API server) and want a fast start. */
  bool no_sync;
  /* The caller does not start the container right away (`container
   * create`). Otherwise meta.json says "started" from the start, so that
   * the first engine_start has nothing to write: a container that loses its
   * runtime state to a reboot is exited if it was started, created if not. */
  bool no_start;
} engine_create_opts;

void engine_bind_free(engine_bind *b);

/* ---- parsing user input (also used by the CLI for early errors) -------- */

/* "HOST:CTR[:ro|rw]"; HOST must be absolute and exist, CTR absolute. */
int engine_parse_bind(const char *spec, engine_bind *out, berr_t *err);
/* A size of at least 6 MiB (docker's minimum). */
int engine_parse_memory(const char *s, int64_t *bytes, berr_t *err);
/* "0.5" → 500000000; must be > 0 and at most the number of CPUs online. */
int engine_parse_cpus(const char *s, int64_t *nano_cpus, berr_t *err);
/* docker's --log-opt list: max-size=SIZE rotates the log before it passes
 * SIZE (> 0; default 10 MiB) and max-file=N keeps N files in all, the
 * current one included (N >= 1; default 2). A later KEY wins. *max_bytes
 * and *max_files get rt_monitor_opts' log_max_bytes and log_max_files, left
 * as they are for what opts does not set. */
int engine_parse_log_opts(char *const *opts, int64_t *max_bytes, int *max_files, berr_t *err);
/* [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 characters. */
int engine_name_check(const char *name, berr_t *err);
/* A fresh random name such as "brave_turing". */
char *engine_name_generate(void);
/* 64 lowercase hex digits from getrandom(). */
char *engine_id_generate(void);

/* Builds the OCI config (starting from rt_default_config()) of a new
 * container. img_config is the image config's "config" object (may be
 * NULL), layer_dirs the image's layers bottom first (used for the overlay
 * and to resolve a user name from /etc/passwd), bundle the container
 * directory (the overlay's upper and work dirs are in it), rootfs the
 * overlay's mount point (root.path; NULL = "rootfs" in the bundle). Pure
 * apart from reading /etc/passwd and /etc/group from the layers: the unit
 * tests call it directly. */
int engine_build_config(json_t *img_config, char *const *layer_dirs, const engine_create_opts *o,
                        const char *id, const char *bundle, const char *rootfs, json_t **oci_out,
                        berr_t *err);

/* Resolves USER ("uid[:gid]" or "name[:group]") against the layers'
 * /etc/passwd and /etc/group (the top-most layer having the file wins).
 * *home gets the user's home directory, or NULL when unknown. */
int engine_resolve_user(char *const *layer_dirs, const char *user, uint32_t *uid, uint32_t *gid,
                        char ***extra_gids, char **home, berr_t *err);

/* ---- lifecycle --------------------------------------------------------- */

/* A process that makes containers and runs execs for this engine handle
 * from now on: engine_create and engine_exec hand each request to it, and
 * it forks a child per request, which does the work and exits. For callers
 * with threads (the agent): every fork of engine_create and engine_exec
 * then happens in a single-threaded process (a fresh berth, spawned, not
 * forked), so no lock another thread held (an allocator's, a file lock) is
 * copied into a container's monitor or an exec's process; and a small
 * process forks faster than a large one. engine_close (or
 * engine_spawner_stop) ends it once its children have ended (a running
 * exec's is waited for); containers keep running. */
int engine_spawner_start(engine *e, berr_t *err);
/* The spawner's own main (`berth __spawner ROOT`, its socket on fd 3): the
 * hidden verb main.c hands to it. Never returns. */
#define ENGINE_SPAWNER_VERB "__spawner"
__attribute__((noreturn)) int engine_spawner_main(const char *root);
void engine_spawner_stop(engine *e);

/* Resolves the image, claims the name, writes the bundle and creates the
 * container under its monitor (state "created"). *id gets the full id. When
 * the container's command cannot be executed, *exec_status (if not NULL)
 * gets the exit status docker gives for it: 127 not found, 126 not
 * executable; it is left as it is on other errors. */
int engine_create(engine *e, const engine_create_opts *o, char **id, int *exec_status, berr_t *err);
/* Starts a container and returns at once: a created one, or an exited one
 * again (same writable layer, its log appended to, as `docker start`). With
 * auto-remove its monitor removes it once it stops. */
int engine_start(engine *e, const char *id, berr_t *err);
/* Starts a created container and stays attached until it exits: in_fd
 * (or -1) feeds its stdin, its output goes to out_fd/err_fd (a tty, when
 * the container has one, is put in raw mode). *exit_code gets the
 * container's code (128+N for signal N). With auto-remove the container is
 * gone when this returns (its monitor removed it). */
int engine_run_attached(engine *e, const char *id, int in_fd, int out_fd, int err_fd,
                        int *exit_code, berr_t *err);

/* ROOT/run/containers/ID: the container's runtime state, the directory its
 * monitor writes ENGINE_EXIT_FILE into (and removes, with the rest of the
 * container, after an auto-remove). Its persistent files are elsewhere. */
char *engine_state_dir(engine *e, const char *id);

/* Finds a container by full id, name, or unique id prefix of >= 3 hex
 * digits; *id gets the full id. "no such container: REF" (ENOENT). */
int engine_lookup(engine *e, const char *ref, char **id, berr_t *err);

/* Sends sig (0 = the image's StopSignal, else SIGTERM), waits up to
 * timeout_s seconds, then kills. A stopped container is left as it is. */
int engine_stop(engine *e, const char *id, int sig, int timeout_s, berr_t *err);
/* Signals a running container ("container X is not running", ESRCH). */
int engine_kill(engine *e, const char *id, int sig, berr_t *err);
/* Removes a container: runtime state, cgroups, files. A running one is
 * refused unless force (then killed first). */
int engine_remove(engine *e, const char *id, bool force, berr_t *err);
/* Removes every container that is not running (exited, or created and
 * never started; not one that another process is still creating); *removed
 * gets their ids. */
int engine_prune(engine *e, char ***removed, berr_t *err);

/* ---- looking at containers --------------------------------------------- */

typedef struct engine_info {
  char *id, *name;
  char *image;    /* the reference the user gave */
  char *image_id; /* sha256:… */
  char *command;  /* entrypoint + cmd joined by spaces */
  int64_t created_ns, started_ns, finished_ns;
  rt_status status;
  pid_t pid;
  int exit_code; /* -1 unknown (see ENGINE_EXIT_UNKNOWN) */
  bool oom_killed;
  bool exit_pending; /* stopped, but its monitor has not recorded how yet (it soon will:
                       ENGINE_EXIT_FILE appears) */
  int stop_signal;   /* the image's StopSignal, else SIGTERM */
  json_t *labels;    /* engine_create_opts.labels; an empty object when none (owned) */
} engine_info;

/* The value of label key of a container, or NULL. */
const char *engine_info_label(const engine_info *i, const char *key);
/* True when err is engine_create's "unknown image" error. */
bool engine_err_is_no_image(const berr_t *err);

/* Every container (only running ones unless all), newest first. */
int engine_list(engine *e, bool all, engine_info **out, size_t *n, berr_t *err);
int engine_info_get(engine *e, const char *id, engine_info *out, berr_t *err);
void engine_info_clear(engine_info *i);
void engine_infos_free(engine_info *v, size_t n);
/* "Up 3 seconds", "Exited (0) 5 seconds ago", "Created". */
char *engine_status_text(const engine_info *i);

/* Docker-style inspect object (Id, Name, State, Config, HostConfig…). */
int engine_inspect(engine *e, const char *id, json_t **out, berr_t *err);

typedef struct engine_stats {
  rt_stats rt;
  int64_t mono_ns; /* when the sample was taken */
} engine_stats;
int engine_stats_get(engine *e, const char *id, engine_stats *out, berr_t *err);

/* Writes the container's log to out_fd/err_fd (root and id of o are filled
 * in here). */
int engine_logs(engine *e, const char *id, const rt_logs_opts *o, int out_fd, int err_fd,
                berr_t *err);

typedef struct engine_exec_opts {
  char **args;                         /* required */
  char **env;                          /* "K=V" added to the container's env */
  const char *workdir;                 /* NULL = container's */
  const char *user;                    /* NULL = container's; resolved like run's -u */
  bool tty;                            /* a pty relayed to in/out_fd */
  uint16_t console_rows, console_cols; /* with tty: its size at the start; 0 = unknown */
  bool interactive;                    /* in_fd feeds stdin; else stdin is /dev/null */
  /* With tty: a pipe (or stream socket) whose lines "ROWSxCOLS\n" resize the
   * pty while the process runs (rt_relay_pty_resizing; write them with
   * rt_pty_resize_send), for a caller whose terminal is remote. -1 = none;
   * 0 is none too, so that options initialised with { 0 } have none (fd 0
   * is the caller's stdin, never a resize pipe). */
  int resize_fd;
  /* > 0: a process still running after this long is killed (SIGKILL) and
   * engine_exec fails with ETIMEDOUT (without tty only; the agent's exec
   * probes). 0 = no limit. */
  int64_t timeout_ms;
} engine_exec_opts;

/* Runs a process in a running container and waits for it; *exit_code gets
 * its code (128+N for signal N). Errors: ENOENT no such container, ESRCH
 * container not running, EINVAL bad option; a command that cannot be
 * executed fails with the runtime's errno (ENOENT not found: docker's
 * status 127; EACCES, ENOEXEC, EISDIR: 126).
 *
 * With the engine's spawner running (engine_spawner_start), the work (and
 * its fork) happens in a child of the spawner, which gets in/out/err_fd and
 * resize_fd by SCM_RIGHTS: results and errors are the same as in-process.
 *
 * It returns once the process has ended. A caller that gives up on it (its
 * client went away) closes its own ends of the pipes behind in/out/err_fd:
 * the process reads EOF on stdin, and a write to its output fails (EPIPE,
 * or SIGPIPE kills it). With a tty the relay sends ^D (the terminal's EOF)
 * when in_fd ends; when out_fd fails it closes the pty master, which hangs
 * up the terminal (SIGHUP to the process's session), and engine_exec fails
 * ("write output"). A process that neither reads nor writes is left to end
 * by itself, as the kubelet leaves it. */
int engine_exec(engine *e, const char *id, const engine_exec_opts *o, int in_fd, int out_fd,
                int err_fd, int *exit_code, berr_t *err);
/* engine_exec without waiting, for a caller with an event loop (the
 * agent's prober): the request goes to the spawner (required: ENOTSUP
 * without it) and *answer gets a socket that turns readable once the
 * process has ended; engine_exec_finish reads the outcome from it (the
 * same results as engine_exec's) and closes it. Closing answer without
 * finishing abandons the exec (the process is left to end, or to
 * timeout_ms). The caller may close its in/out/err fds at once. */
int engine_exec_begin(engine *e, const char *id, const engine_exec_opts *o, int in_fd, int out_fd,
                      int err_fd, int *answer, berr_t *err);
int engine_exec_finish(int answer, const char *id, int *exit_code, berr_t *err);
/* Removes the cgroup PARENT (a cgroup_parent of engine_create_opts) in
 * every mounted cgroup hierarchy once its containers are gone; a parent that
 * is not there is a success, one still holding a cgroup is EBUSY. */
int engine_cgroup_parent_remove(engine *e, const char *parent, berr_t *err);
/* *names (a NULL-terminated vector to strv_free): the cgroups directly under
 * PARENT in any mounted hierarchy, each once. */
int engine_cgroup_children(engine *e, const char *parent, char ***names, berr_t *err);

/* True when a container (in any state) under root was made from image_id.
 * `image rm` and `image prune` ask this before deleting an image. */
bool engine_image_in_use(const char *root, const char *image_id);

#endif
