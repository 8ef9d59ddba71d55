/* store.h — the cluster's key/value store: revisions, optimistic concurrency,
 * watch and compaction, in the style of etcd v3. The API server keeps every
 * object here ("/registry/pods/default/web" -> JSON) and uses the revision as
 * the object's resourceVersion.
 *
 * One interface, several backends: store_t is a handle whose calls go through
 * a table of backend functions (src/store/internal.h), so the embedded SQLite
 * backend (store_open_sqlite) and a later etcd backend are interchangeable for
 * the server. docs/store.md describes the semantics and the SQLite layout.
 *
 * Revisions. Every successful write (create, update, delete) gets the next
 * cluster-wide revision: an int64 that starts at 1 and only grows, also across
 * restarts. A key remembers create_rev (the revision that created it) and
 * mod_rev (the revision of its last write). A failed write takes no revision.
 *
 * Errors. Every call that can fail returns a negative value and fills a berr_t
 * whose code tells the server which HTTP status to send:
 *   ENOENT            the key does not exist                       404
 *   EEXIST            create of a key that exists                  409 AlreadyExists
 *   STORE_ECONFLICT   expected mod_rev does not match              409 Conflict
 *   STORE_EEXPIRED    revision compacted away, or a watch that fell
 *                     too far behind and was cancelled             410 Gone (Expired)
 *   EINVAL            bad argument (empty key, future revision…)   400
 *   ESHUTDOWN         the store is closing                         503
 *   EIO               the database failed (message says how)       500
 * The two store-specific codes reuse errno values that nothing in the store
 * produces otherwise; messages never carry their strerror() text.
 *
 * Threads. Every function may be called from any thread at the same time,
 * except that one watch is used by one thread at a time and store_close must
 * not race other calls on the same store. No global state: two stores in one
 * process are independent. */
#ifndef BERTH_STORE_H
#define BERTH_STORE_H

#include "base/base.h"

#include <errno.h>

#define STORE_ECONFLICT ESTALE      /* "stale" mod_rev: the object changed since it was read */
#define STORE_EEXPIRED  EKEYEXPIRED /* history needed is compacted, or the watcher was too slow */

typedef struct store store_t;
typedef struct store_watch store_watch_t;

/* ---- opening ------------------------------------------------------------ */

/* Every field 0 means "the default"; a negative value disables where noted. */
typedef struct store_opts {
  /* Automatic compaction: every compact_interval_ns (default 60 s; negative:
   * never) history is dropped that is both older than retain_ns (default 5
   * minutes; negative: no floor by age) and not among the last retain_revs
   * revisions (default 10,000; negative: no floor by count). */
  int64_t compact_interval_ns;
  int64_t retain_ns;
  int64_t retain_revs;
  /* Recent events kept in memory for watchers that start slightly in the past
   * (default 4,096); older history is read from the database. */
  int64_t ring_events;
  /* Events a watch may have pending before it is cancelled with
   * STORE_EEXPIRED (default 10,000). */
  int64_t watch_queue;
  /* Writes applied in one transaction at most (default 1,000). */
  int64_t max_batch;
  /* Read connections (default 4): concurrent get/list/watch catch-up. */
  int64_t read_conns;
} store_opts_t;

/* Opens (creating if needed) the SQLite database at path: WAL,
 * synchronous=FULL, one writer thread doing group commit. opts may be NULL. */
int store_open_sqlite(const char *path, const store_opts_t *opts, store_t **out, berr_t *err);

/* Stops the background threads, fails writes still queued with ESHUTDOWN and
 * closes the database. Open watches are cancelled (ESHUTDOWN) but stay valid
 * until store_watch_close. NULL is allowed. */
void store_close(store_t *s);

/* ---- reading ------------------------------------------------------------ */

typedef struct store_kv {
  char *key;
  char *value; /* followed by a NUL byte, not counted in len (JSON parses in place) */
  size_t len;
  int64_t create_rev, mod_rev;
} store_kv_t;

void store_kv_free(store_kv_t *kv); /* frees the members; kv itself may be on the stack */

/* The current value of key; ENOENT when absent. rev (may be NULL) receives the
 * store revision the read saw. */
int store_get(store_t *s, const char *key, store_kv_t *out, int64_t *rev, berr_t *err);

typedef struct store_list_req {
  const char *prefix; /* every key starting with it ("" = all keys) */
  int64_t limit;      /* at most this many items; 0 = no limit */
  /* Continuing a paged list (Kubernetes' continue token): return keys after
   * `after` (exclusive), read at revision `rev`. rev 0 = the current revision;
   * an older revision is served from history while it is retained, else
   * STORE_EEXPIRED. A revision in the future is EINVAL. */
  const char *after;
  int64_t rev;
} store_list_req_t;

typedef struct store_list {
  store_kv_t *items; /* in key order */
  size_t n;
  int64_t rev; /* the revision the list was read at: the next page's rev */
  /* NULL when the list is complete; else the last key returned: the next
   * page's `after` (the server encodes {rev, more_after} in its continue token). */
  char *more_after;
} store_list_t;

int store_list(store_t *s, const store_list_req_t *req, store_list_t *out, berr_t *err);
void store_list_free(store_list_t *l);

typedef struct store_status {
  int64_t rev;       /* current revision (0 for an empty store) */
  int64_t compacted; /* history <= this is gone; watch/list from older revisions expire */
  int64_t watchers;  /* open watches */
  int64_t commits;   /* transactions committed since open: writes / commits = batch size */
} store_status_t;

int store_status(store_t *s, store_status_t *out, berr_t *err);

/* ---- writing ------------------------------------------------------------ */
/* A write returns only after its transaction is durably committed (fsync):
 * a crash or kill -9 loses no acknowledged write. Values are arbitrary bytes.
 * rev (may be NULL) receives the write's revision. */

/* EEXIST when the key exists. */
int store_create(store_t *s, const char *key, const void *value, size_t len, int64_t *rev,
                 berr_t *err);

/* ENOENT when absent; STORE_ECONFLICT when expect_rev != 0 and the key's
 * mod_rev differs. */
int store_update(store_t *s, const char *key, const void *value, size_t len, int64_t expect_rev,
                 int64_t *rev, berr_t *err);

/* Same preconditions as update. deleted (may be NULL) receives the value that
 * was deleted (its create_rev and mod_rev are the deleted version's); rev
 * receives the delete's own revision. */
int store_delete(store_t *s, const char *key, int64_t expect_rev, store_kv_t *deleted, int64_t *rev,
                 berr_t *err);

/* Guaranteed update (read, modify, write; retried on conflict). fn sees the
 * current value (cur is NULL when the key is absent and create is true; when
 * create is false an absent key fails with ENOENT before fn runs) and either
 * returns 0 with a new value in *out (malloc'd, the store frees it), or
 * STORE_UNCHANGED to write nothing, or a negative value with err set, which
 * aborts. fn may run several times and must not keep cur. out_kv (may be NULL)
 * receives the value the key now has (key NULL when it stays absent). Gives
 * up with STORE_ECONFLICT after 100 lost races. */
#define STORE_UNCHANGED 1
typedef int (*store_update_fn)(void *arg, const store_kv_t *cur, char **out, size_t *out_len,
                               berr_t *err);
int store_guaranteed_update(store_t *s, const char *key, bool create, store_update_fn fn, void *arg,
                            store_kv_t *out_kv, berr_t *err);

/* Drops history with revision <= rev (current values stay). EINVAL for a
 * revision in the future; a revision already compacted is a no-op. */
int store_compact(store_t *s, int64_t rev, berr_t *err);

/* ---- watching ----------------------------------------------------------- */

typedef enum store_event_type { STORE_PUT = 1, STORE_DELETE = 2 } store_event_type_t;

/* Shared and immutable: release each event with store_event_release. */
typedef struct store_event {
  store_event_type_t type;
  const char *key;
  const char *value; /* PUT: the new value; DELETE: the value deleted (NUL-terminated) */
  size_t len;
  int64_t mod_rev;    /* the event's revision */
  int64_t create_rev; /* of the object written (DELETE: of the deleted object) */
  /* The previous value of the key, or NULL for a create (DELETE: same as value). */
  const char *prev_value;
  size_t prev_len;
  int64_t prev_mod_rev; /* 0 when there was no previous value */
} store_event_t;

void store_event_release(const store_event_t *ev);

/* Watches one key, or every key starting with key when prefix is true, and
 * delivers every event with revision > from_rev in revision order, history
 * first, then live events, with no gap and no duplicate. from_rev 0 = from
 * now. A from_rev older than the compaction point is STORE_EEXPIRED at once. */
int store_watch(store_t *s, const char *key, bool prefix, int64_t from_rev, store_watch_t **out,
                berr_t *err);

/* An eventfd that is readable whenever store_watch_next has something to
 * return (an event or an error): poll/epoll it, then call next until it
 * returns 0. Owned by the watch. */
int store_watch_fd(store_watch_t *w);

/* Never blocks on writers: 1 = *ev is the next event; 0 = nothing pending;
 * negative = the watch is over: STORE_EEXPIRED (history compacted, or more
 * than watch_queue events pending — the watcher must re-list) or ESHUTDOWN.
 * Reading history older than the in-memory ring queries the database in
 * pages, on the calling thread. */
int store_watch_next(store_watch_t *w, const store_event_t **ev, berr_t *err);

/* Waits up to timeout_ms (-1: forever) until next has something to return;
 * returns 1 when it has, 0 on timeout. For simple consumers and tests. */
int store_watch_wait(store_watch_t *w, int timeout_ms);

/* Every matching event up to this revision has been returned by next: where
 * a new watch would resume, and what a Kubernetes BOOKMARK can carry. */
int64_t store_watch_rev(store_watch_t *w);

void store_watch_close(store_watch_t *w);

#endif
