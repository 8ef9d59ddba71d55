/* internal.h — what the files of src/engine/ share and nobody else sees: the
 * engine handle, the container directory layout and meta.json access. */
#ifndef BERTH_ENGINE_INTERNAL_H
#define BERTH_ENGINE_INTERNAL_H

#include "engine/engine.h"

#include <pthread.h>

struct engine {
  char *root; /* engine root */
  char *dir; /* root/containers: what a container is (meta.json, config.json, its layer, its log) */
  char *rt;  /* root/run/containers: the runtime's root, one state directory per container
                (state.json, exec.fifo, exit.json, attach.sock, rootfs/) on a tmpfs */
  /* The cgroup mount points, read once (cgparent.c); an engine is used
   * from several threads by the agent. */
  pthread_mutex_t cg_lock;
  char **cg_mounts;
  /* spawner.c: the helper that makes containers, or -1 */
  int spawn_fd;
  pid_t spawn_pid;
};

/* engine_create through the spawner (spawner.c); 1 when it is not running
 * (or the request cannot go through it): create here. */
int eng_spawn_create(engine *e, const engine_create_opts *o, char **id, int *exec_status,
                     berr_t *err);
/* engine_exec through the spawner: 1 when no spawner runs or the request
 * cannot reach it (engine_exec then runs in-process). */
int eng_spawn_exec(engine *e, const char *id, const engine_exec_opts *o, int in_fd, int out_fd,
                   int err_fd, int *exit_code, berr_t *err);

/* ROOT/containers/ID and files within it. */
char *eng_ctr_dir(engine *e, const char *id);
char *eng_ctr_file(engine *e, const char *id, const char *file);
/* ROOT/run/containers, the runtime's root. */
char *eng_rt_root(const char *root);
/* ROOT/run/containers/ID, the container's runtime state, and files within it. */
char *eng_state_dir(engine *e, const char *id);
char *eng_state_file(engine *e, const char *id, const char *file);

/* Mounts the tmpfs at ROOT/run unless something is mounted there already,
 * and makes ROOT/run/containers (run.c). Best effort: without the right to
 * mount, ROOT/run stays a plain directory. */
void eng_run_mount(engine *e);
/* Removes the cgroup of a container whose runtime state is gone (its
 * processes are gone too: after a reboot there is nothing to remove, after
 * ROOT/run was unmounted by hand an empty cgroup may be left). Best effort. */
void eng_cgroup_drop(engine *e, const char *id);

/* Writes j to path through a temporary file and rename; with sync, as
 * json_save_atomic (fsync of the file and of its directory). */
int eng_save_json(const char *path, json_t *j, bool sync, berr_t *err);

/* Reads ROOT/containers/ID/meta.json ("no such container" when missing). */
int eng_meta_load(engine *e, const char *id, json_t **meta, berr_t *err);

/* Takes ROOT/containers/.lock exclusively; returns the fd to release with
 * eng_unlockp (cleanup_eng_lock): unlocked before it is closed, so that a
 * copy of the fd that a concurrent fork made cannot keep the lock. */
int eng_lock(engine *e, berr_t *err);
void eng_unlockp(int *fd);
#define cleanup_eng_lock __attribute__((cleanup(eng_unlockp)))

/* The id of the container called name, or NULL. Call under eng_lock. */
char *eng_name_owner(engine *e, const char *name);
/* Claims name for id in the name index (EEXIST when a live container has
 * it). Call under eng_lock, and make the container's directory before
 * releasing it. */
int eng_name_claim(engine *e, const char *name, const char *id, berr_t *err);
/* Drops name from the index if it still points at id. Call under eng_lock. */
void eng_name_release(engine *e, const char *name, const char *id);
/* Drops the links of containers that are gone (auto-removed ones leave
 * theirs behind). Call under eng_lock. */
void eng_names_gc(engine *e);
/* Every container id having a meta.json (never NULL). */
char **eng_all_ids(engine *e);

/* The command a container runs: entrypoint and cmd after applying the
 * user's replacements to the image's (both NULL-terminated, may be empty). */
int eng_merge_command(json_t *img_config, const engine_create_opts *o, char ***entrypoint,
                      char ***cmd, berr_t *err);

/* rt status of a container, tolerating a container whose runtime state does
 * not exist: one being created, or never started, is RT_CREATED with no pid;
 * one that was started (meta.json's "started") and has lost its state (the
 * tmpfs is emptied by a reboot) is RT_STOPPED with exit code -1, unknown. */
int eng_state(engine *e, const char *id, rt_state *st, berr_t *err);
/* eng_state's status alone. */
int eng_status(engine *e, const char *id, rt_status *s, berr_t *err);

/* process.consoleSize {height, width} of an OCI process object, with a tty
 * whose size is known: the pty starts with it, before any resize arrives. */
void eng_console_size(json_t *proc, bool tty, uint16_t rows, uint16_t cols);

/* Docker's status word: created, running, exited. */
const char *eng_status_word(rt_status s);

#endif
