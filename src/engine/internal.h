/* internal.h — what the files of src/engine/ share and nobody else sees: the
 * engine handle, the container directory layout and meta.json access. */
#ifndef BERTH_ENGINE_INTERNAL_H
#define BERTH_ENGINE_INTERNAL_H

#include "engine/engine.h"

struct engine {
  char *root; /* engine root */
  char *dir;  /* root/containers: our directories and the runtime's root */
};

/* ROOT/containers/ID and files within it. */
char *eng_ctr_dir(engine *e, const char *id);
char *eng_ctr_file(engine *e, const char *id, const char *file);

/* Reads ROOT/containers/ID/meta.json ("no such container" when missing). */
int eng_meta_load(engine *e, const char *id, json_t **meta, berr_t *err);

/* Takes ROOT/containers/.lock exclusively; returns the fd to close. */
int eng_lock(engine *e, berr_t *err);

/* The id of the container called name, or NULL. Call under eng_lock. */
char *eng_name_owner(engine *e, const char *name);
/* Every container id having a meta.json (never NULL). */
char **eng_all_ids(engine *e);

/* The command a container runs: entrypoint and cmd after applying the
 * user's replacements to the image's (both NULL-terminated, may be empty). */
int eng_merge_command(json_t *img_config, const engine_create_opts *o, char ***entrypoint,
                      char ***cmd, berr_t *err);

/* rt status of a container, tolerating a container whose runtime state does
 * not exist (yet, or any more): that one is RT_CREATED with no pid. */
int eng_state(engine *e, const char *id, rt_state *st, berr_t *err);
/* eng_state's status alone. */
int eng_status(engine *e, const char *id, rt_status *s, berr_t *err);

/* process.consoleSize {height, width} of an OCI process object, with a tty
 * whose size is known: the pty starts with it, before any resize arrives. */
void eng_console_size(json_t *proc, bool tty, uint16_t rows, uint16_t cols);

/* Docker's status word: created, running, exited. */
const char *eng_status_word(rt_status s);

#endif
