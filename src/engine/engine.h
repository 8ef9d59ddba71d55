/* engine.h — containers made from images: names, per-container bundles,
 * lifecycle, listing. `berth container` is a thin shell over this, and the
 * node agent will call the same functions. Nothing here prints or exits:
 * every failure comes back as a berr_t whose message names what failed.
 *
 * State lives in ROOT/containers/ID/ (ROOT is the engine root, default
 * /var/lib/berth). The runtime's own root is ROOT/containers, so the runtime
 * files (state.json, exit.json, attach.sock, exec.fifo) sit beside ours:
 *
 *   meta.json    what the user asked for: name, image, command, options
 *   config.json  the OCI config handed to the runtime (bundle = this dir)
 *   upper/ work/ the container's writable overlay layer
 *   rootfs/      mount point of the overlay, mounted only inside the
 *                container's mount namespace (nothing on the host)
 *   ctr.log      the container's output, written by its monitor (CRI format)
 *
 * ROOT/containers/.lock is taken (flock) while a name is checked and claimed,
 * so two concurrent runs never get the same name.
 *
 * Errors whose cause a caller may want to tell apart carry an errno in
 * berr_t.code: ENOENT no such container/image, EEXIST name in use, EBUSY
 * container running, ESRCH container not running, EINVAL bad option. */
#ifndef BERTH_ENGINE_H
#define BERTH_ENGINE_H

#include "base/base.h"
#include "runtime/runtime.h"

typedef struct engine engine;

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

/* Builds the OCI config (starting from rt_default_config()) and the meta
 * object of a new container. img_config is the image config's "config"
 * object (may be NULL), layer_dirs the image's layers bottom first (used for
 * the overlay and to resolve a user name from /etc/passwd), bundle the
 * container directory. Pure apart from reading /etc/passwd and /etc/group
 * from the layers: the unit tests call it directly. */
int engine_build_config(json_t *img_config, char *const *layer_dirs, const engine_create_opts *o,
                        const char *id, const char *bundle, json_t **oci_out, berr_t *err);

/* Resolves USER ("uid[:gid]" or "name[:group]") against the layers'
 * /etc/passwd and /etc/group (the top-most layer having the file wins).
 * *home gets the user's home directory, or NULL when unknown. */
int engine_resolve_user(char *const *layer_dirs, const char *user, uint32_t *uid, uint32_t *gid,
                        char ***extra_gids, char **home, berr_t *err);

/* ---- lifecycle --------------------------------------------------------- */

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
  int exit_code;
  bool oom_killed;
} engine_info;

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
} engine_exec_opts;

/* Runs a process in a running container and waits for it; *exit_code gets
 * its code (128+N for signal N). */
int engine_exec(engine *e, const char *id, const engine_exec_opts *o, int in_fd, int out_fd,
                int err_fd, int *exit_code, berr_t *err);

/* True when a container (in any state) under root was made from image_id.
 * `image rm` and `image prune` ask this before deleting an image. */
bool engine_image_in_use(const char *root, const char *image_id);

#endif
