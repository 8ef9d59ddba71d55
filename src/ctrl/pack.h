/* pack.h — objects of the controllers' cache kept packed (inside src/ctrl/
 * only): see pack.c. */
#ifndef BERTH_CTRL_PACK_H
#define BERTH_CTRL_PACK_H

#include "base/base.h"

/* The fragments packed objects share, each held once (refcounted). */
typedef struct ctrl_frags ctrl_frags_t;
/* One packed object. */
typedef struct ctrl_packed ctrl_packed_t;

ctrl_frags_t *ctrl_frags_new(void);
/* Frees the table; every object packed with it must be freed first. */
void ctrl_frags_free(ctrl_frags_t *t);
/* How many distinct fragments t holds. */
size_t ctrl_frags_count(const ctrl_frags_t *t);

/* obj (a JSON object, not changed) packed; its fragments go into t. */
ctrl_packed_t *ctrl_pack(ctrl_frags_t *t, json_t *obj);
/* The object again: a new object equal to what was packed (members of
 * metadata and spec may come in another order). Its metadata and spec
 * containers are shared with other unpacked objects: never changed. */
json_t *ctrl_unpack(const ctrl_packed_t *p);
/* metadata.labels of the packed object (borrowed, shared), or NULL. */
json_t *ctrl_packed_labels(const ctrl_packed_t *p);
void ctrl_packed_free(ctrl_frags_t *t, ctrl_packed_t *p);

#endif
