/* internal.h — what the store's backends share: the vtable behind store_t,
 * the in-memory watch hub every backend publishes its events to, the
 * compaction policy thread, and error helpers. Not for use outside src/store/.
 *
 * A backend embeds `struct store` as its first member, fills `ops`, creates a
 * hub (hub_new) with a history reader for watchers that start before the
 * hub's ring, publishes every committed batch of events with hub_publish, and
 * may start the compaction policy (compactor_start). */
#ifndef BERTH_STORE_INTERNAL_H
#define BERTH_STORE_INTERNAL_H

#include "store/store.h"

#include <stdatomic.h>

typedef struct store_hub store_hub_t;
typedef struct compactor compactor_t;

struct store_ops {
  int (*get)(store_t *s, const char *key, store_kv_t *out, int64_t *rev, berr_t *err);
  int (*list)(store_t *s, const store_list_req_t *req, store_list_t *out, berr_t *err);
  int (*create)(store_t *s, const char *key, const void *value, size_t len, int64_t *rev,
                berr_t *err);
  int (*update)(store_t *s, const char *key, const void *value, size_t len, int64_t expect_rev,
                int64_t *rev, berr_t *err);
  int (*del)(store_t *s, const char *key, int64_t expect_rev, store_kv_t *deleted, int64_t *rev,
             berr_t *err);
  int (*compact)(store_t *s, int64_t rev, berr_t *err);
  /* rev, compacted and commits, as committed (watchers is filled by the caller). */
  int (*status)(store_t *s, store_status_t *out, berr_t *err);
  /* Stops threads and frees the backend (the hub is shut down before). */
  void (*close)(store_t *s);
};

struct store {
  const struct store_ops *ops;
  store_hub_t *hub;
  compactor_t *compactor;
};

/* ---- events --------------------------------------------------------------- */

/* A store_event_t with its reference count; key and values live in the same
 * allocation. */
typedef struct sevent {
  store_event_t ev; /* first: the public pointer is the sevent pointer */
  atomic_int refs;
} sevent_t;

/* One allocation holding copies of key, value and prev (prev may be NULL).
 * For DELETE pass the deleted value as prev and value NULL: both point to it. */
sevent_t *sevent_new(store_event_type_t type, const char *key, const void *value, size_t len,
                     int64_t mod_rev, int64_t create_rev, const void *prev, size_t prev_len,
                     int64_t prev_mod_rev);
sevent_t *sevent_ref(sevent_t *e);
void sevent_unref(sevent_t *e);

/* ---- watch hub (watch.c) -------------------------------------------------- */

/* Reads history for a catching-up watcher: events with revision > after that
 * match (key, or every key with that prefix), in revision order, at most max.
 * *scanned_to = the revision up to which history was examined (the last
 * event's when max were returned, else the revision the read saw).
 * STORE_EEXPIRED when after is older than the compaction point. */
typedef int (*hub_history_fn)(store_t *s, const char *key, bool prefix, int64_t after, size_t max,
                              sevent_t ***evs, size_t *n, int64_t *scanned_to, berr_t *err);

store_hub_t *hub_new(store_t *s, hub_history_fn history, size_t ring_events, size_t watch_queue,
                     int64_t rev, int64_t compacted);
/* Appends n events (consecutive revisions, the hub takes the references) to
 * the ring and to every live watcher that matches. */
void hub_publish(store_hub_t *h, sevent_t **evs, size_t n);
void hub_set_compacted(store_hub_t *h, int64_t rev);
void hub_revs(store_hub_t *h, int64_t *rev, int64_t *compacted, int64_t *watchers);
/* Cancels every watch with ESHUTDOWN and waits for history reads in progress;
 * after it the history function is never called again. */
void hub_shutdown(store_hub_t *h);
/* Drops the store's reference; the hub is freed with its last watch. */
void hub_release(store_hub_t *h);

/* ---- compaction policy (compactor.c) -------------------------------------- */

/* Runs ops->compact every interval according to retain_ns/retain_revs (see
 * store_opts_t). *out is NULL when the interval is negative. */
int compactor_start(store_t *s, int64_t interval_ns, int64_t retain_ns, int64_t retain_revs,
                    compactor_t **out, berr_t *err);
void compactor_stop(compactor_t *c);

/* Fills opts' zero fields with defaults. */
void store_opts_defaults(const store_opts_t *in, store_opts_t *out);

/* ---- keys ------------------------------------------------------------------ */

/* [prefix, end) covers every key starting with prefix; *end is NULL when no
 * upper bound exists ("" or all 0xff). */
char *store_prefix_end(const char *prefix);

#endif
