/* sqlite-private.h — the SQLite backend's state, shared by sqlite.c (open,
 * schema, reads, history) and sqlite-write.c (the group-commit writer). The
 * schema and the reasoning behind it are in sqlite.c's top comment. */
#ifndef BERTH_STORE_SQLITE_PRIVATE_H
#define BERTH_STORE_SQLITE_PRIVATE_H

#include "store/internal.h"
#include "store/sqlite_dl.h"

#include <pthread.h>
#include <semaphore.h>

enum { LOG_PUT = 1, LOG_DELETE = 2 };

/* One queued write; lives on the caller's stack until done is posted. */
typedef struct wop {
  enum { WOP_CREATE, WOP_UPDATE, WOP_DELETE, WOP_COMPACT } type;
  const char *key;
  const void *value;
  size_t len;
  int64_t expect; /* expected mod_rev (0: any); WOP_COMPACT: the revision */
  store_kv_t *deleted;
  /* results */
  int rc;
  berr_t err;
  int64_t rev;
  sem_t done;
  struct wop *next;
} wop_t;

/* A read connection with its prepared statements. */
typedef struct rconn {
  sqlite3 *db;
  sqlite3_stmt *begin, *end, *meta, *get, *list, *list_log_at, *log_prev, *hist_prefix, *hist_key;
} rconn_t;

typedef struct sqlite_store {
  store_t base;
  char *path;
  store_opts_t opts;

  /* read connections */
  pthread_mutex_t pool_mu;
  pthread_cond_t pool_cv;
  rconn_t *conns;
  rconn_t **idle;
  size_t nconns, nidle;

  /* the writer (everything below q_mu is the writer thread's own) */
  pthread_mutex_t q_mu;
  pthread_cond_t q_cv;
  wop_t *q_head, *q_tail;
  bool stopping;
  int64_t committed_rev, committed_compacted, commits; /* under q_mu, for store_status */
  pthread_t writer;
  bool writer_started;
  sqlite3 *wdb;
  sqlite3_stmt *w_begin, *w_commit, *w_rollback, *w_ins_kv, *w_sel_kv, *w_upd_kv, *w_del_kv,
      *w_ins_log, *w_set_meta, *w_purge;
  int64_t rev, compacted, purged; /* log rows <= purged are deleted */
  bool ckpt_inline;               /* checkpoint the WAL's tail between batches */
  int64_t purge_chunk;            /* revisions purged per batch, adapted to take ~2 ms */
  bool purge_stalled;

  /* the checkpointer (sqlite-checkpoint.c) */
  sqlite3 *cdb;
  pthread_t checkpointer;
  bool ck_started, ck_pending, ck_stop;
  atomic_bool ck_caught_up; /* the last pass copied the whole WAL */
  pthread_mutex_t ck_mu;
  pthread_cond_t ck_cv;
} sqlite_store_t;

/* sqlite.c */
/* A connection to path: the writer's and checkpointer's with synchronous=FULL,
 * readers' query-only. */
int sq_open_conn(const char *path, bool readonly, sqlite3 **db, berr_t *err);
int sq_fail(berr_t *err, sqlite3 *db, const char *what);
int sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, berr_t *err);
/* Binds the upper bound of a prefix range: the key, or when there is none a
 * zero-length blob, which sorts after every text value. */
void sq_bind_end(sqlite3_stmt *st, int i, const char *end);

/* sqlite-write.c */
int sqw_open(sqlite_store_t *ss, berr_t *err); /* prepares and starts the writer */
void sqw_close(sqlite_store_t *ss);            /* fails queued writes, joins the writer */
int sqw_create(store_t *s, const char *key, const void *value, size_t len, int64_t *rev,
               berr_t *err);
int sqw_update(store_t *s, const char *key, const void *value, size_t len, int64_t expect_rev,
               int64_t *rev, berr_t *err);
int sqw_delete(store_t *s, const char *key, int64_t expect_rev, store_kv_t *deleted, int64_t *rev,
               berr_t *err);
int sqw_compact(store_t *s, int64_t rev, berr_t *err);

/* sqlite-checkpoint.c */
int sqck_start(sqlite_store_t *ss, berr_t *err); /* before the writer starts */
void sqck_stop(sqlite_store_t *ss);              /* after the writer stopped */
void sqck_after_batch(sqlite_store_t *ss);       /* on the writer's thread */

#endif
