/* sqlite-write.c — the SQLite backend's single writer: group commit.
 *
 * With synchronous=FULL every COMMIT waits for an fsync of the WAL, and one
 * fsync per write would cap throughput at the disk's flush rate. So callers
 * never touch the write connection: they queue their write and sleep on a
 * semaphore. One writer thread takes everything queued (up to max_batch),
 * applies it in one transaction — each write still gets its own revision and
 * its own precondition check, in queue order, so a later write in the batch
 * sees the earlier ones — commits once (one fsync), publishes the batch's
 * events to the watch hub, and only then wakes every caller. While it waits
 * for the fsync the next batch gathers in the queue, so batches grow exactly
 * when load does and a lone write is not delayed at all.
 *
 * A write that fails its precondition (exists, absent, conflict) changes
 * nothing and takes no revision; the rest of the batch goes on. If SQLite
 * itself fails (disk full, I/O error) the whole transaction is rolled back
 * and every write of the batch fails with EIO: none was acknowledged, so none
 * may survive, and revisions are reused by the next batch.
 *
 * Compaction is a queued write too, so it is ordered with the others: it
 * moves meta.compacted at once (readers then refuse older revisions) and the
 * log rows themselves are deleted a chunk of revisions per transaction, so
 * that dropping a long history never stalls writers. */
#include "store/sqlite-private.h"

#include <stdlib.h>
#include <string.h>

/* Purging rides along with batches; its chunk adapts so that it adds about
 * PURGE_BUDGET_NS to a batch (deleting rows costs more when values are big). */
enum { PURGE_MIN = 16, PURGE_MAX = 20000 };
#define PURGE_BUDGET_NS 500000

static const char *const WRITE_SQL[] = {
  "BEGIN IMMEDIATE",
  "COMMIT",
  "ROLLBACK",
  "INSERT INTO kv(key, value, create_rev, mod_rev) VALUES (?1, ?2, ?3, ?3) "
  "ON CONFLICT(key) DO NOTHING",
  "SELECT value, create_rev, mod_rev FROM kv WHERE key = ?1",
  "UPDATE kv SET value = ?2, mod_rev = ?3 WHERE key = ?1",
  "DELETE FROM kv WHERE key = ?1",
  "INSERT INTO log(rev, key, type, value, create_rev, prev_value, prev_mod_rev) "
  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
  "UPDATE meta SET value = ?2 WHERE name = ?1",
  "DELETE FROM log WHERE rev <= ?1",
};

/* ---- applying one write (inside the batch's transaction) ------------------- */

/* SQLite's step result as 0 or an EIO error. */
static int step_done(sqlite_store_t *ss, sqlite3_stmt *st, const char *what, berr_t *err)
{
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return sq_fail(err, ss->wdb, what);
  return 0;
}

static int log_insert(sqlite_store_t *ss, int64_t rev, const char *key, int type, const void *val,
                      size_t len, int64_t create_rev, const void *prev, size_t prev_len,
                      int64_t prev_mod_rev, berr_t *err)
{
  sqlite3_stmt *st = ss->w_ins_log;
  sqlite3_bind_int64(st, 1, rev);
  sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 3, type);
  if (val)
    sqlite3_bind_blob64(st, 4, len ? val : "", len, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, 4);
  sqlite3_bind_int64(st, 5, create_rev);
  if (prev)
    sqlite3_bind_blob64(st, 6, prev_len ? prev : "", prev_len, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, 6);
  sqlite3_bind_int64(st, 7, prev_mod_rev);
  int rc = step_done(ss, st, "append to the log", err);
  sqlite3_clear_bindings(st);
  return rc;
}

static const char *verb_of(const wop_t *op)
{
  return op->type == WOP_CREATE ? "create" : op->type == WOP_UPDATE ? "update" : "delete";
}

/* Returns 0 when applied (an event in *ev), 1 when a precondition failed
 * (op->err set), -1 on a database error (err set): the batch must roll back. */
static int apply(sqlite_store_t *ss, wop_t *op, int64_t rev, sevent_t **ev, berr_t *err)
{
  const char *verb = verb_of(op);
  const void *val = op->value && op->len ? op->value : "";
  if (op->type == WOP_CREATE) {
    sqlite3_stmt *st = ss->w_ins_kv;
    sqlite3_bind_text(st, 1, op->key, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 2, val, op->len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, rev);
    if (step_done(ss, st, "insert", err) < 0)
      return -1;
    if (sqlite3_changes(ss->wdb) == 0) {
      op->rc = berr_setc(&op->err, EEXIST, "create %s: already exists", op->key);
      return 1;
    }
    if (log_insert(ss, rev, op->key, LOG_PUT, val, op->len, rev, NULL, 0, 0, err) < 0)
      return -1;
    *ev = sevent_new(STORE_PUT, op->key, val, op->len, rev, rev, NULL, 0, 0);
    return 0;
  }

  /* update and delete: read the current version for the precondition, the
   * log's prev_value and the event */
  sqlite3_stmt *sel = ss->w_sel_kv;
  sqlite3_bind_text(sel, 1, op->key, -1, SQLITE_STATIC);
  int rc = sqlite3_step(sel);
  if (rc == SQLITE_DONE) {
    sqlite3_reset(sel);
    op->rc = berr_setc(&op->err, ENOENT, "%s %s: not found", verb, op->key);
    return 1;
  }
  if (rc != SQLITE_ROW) {
    sqlite3_reset(sel);
    return sq_fail(err, ss->wdb, "read the current value");
  }
  const void *old = sqlite3_column_blob(sel, 0);
  size_t old_len = (size_t)sqlite3_column_bytes(sel, 0);
  if (!old)
    old = "";
  int64_t create_rev = sqlite3_column_int64(sel, 1), mod_rev = sqlite3_column_int64(sel, 2);
  if (op->expect && op->expect != mod_rev) {
    sqlite3_reset(sel);
    op->rc = berr_setc(&op->err, STORE_ECONFLICT,
                       "%s %s: conflict: the object was modified (revision %lld, expected %lld)",
                       verb, op->key, (long long)mod_rev, (long long)op->expect);
    return 1;
  }
  int r = -1;
  if (op->type == WOP_UPDATE) {
    sqlite3_stmt *st = ss->w_upd_kv;
    sqlite3_bind_text(st, 1, op->key, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 2, val, op->len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, rev);
    if (step_done(ss, st, "update", err) == 0
        && log_insert(ss, rev, op->key, LOG_PUT, val, op->len, create_rev, old, old_len, mod_rev,
                      err)
               == 0) {
      *ev = sevent_new(STORE_PUT, op->key, val, op->len, rev, create_rev, old, old_len, mod_rev);
      r = 0;
    }
  } else {
    sqlite3_stmt *st = ss->w_del_kv;
    sqlite3_bind_text(st, 1, op->key, -1, SQLITE_STATIC);
    if (step_done(ss, st, "delete", err) == 0
        && log_insert(ss, rev, op->key, LOG_DELETE, NULL, 0, create_rev, old, old_len, mod_rev, err)
               == 0) {
      *ev = sevent_new(STORE_DELETE, op->key, NULL, 0, rev, create_rev, old, old_len, mod_rev);
      if (op->deleted) {
        char *v = xmalloc(old_len + 1);
        memcpy(v, old, old_len);
        v[old_len] = 0;
        *op->deleted = (store_kv_t){ xstrdup(op->key), v, old_len, create_rev, mod_rev };
      }
      r = 0;
    }
  }
  sqlite3_reset(sel);
  return r;
}

static int set_meta(sqlite_store_t *ss, const char *name, int64_t v, berr_t *err)
{
  sqlite3_bind_text(ss->w_set_meta, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(ss->w_set_meta, 2, v);
  return step_done(ss, ss->w_set_meta, "update meta", err);
}

/* ---- one batch ---------------------------------------------------------------- */

static void run_batch(sqlite_store_t *ss, wop_t *ops)
{
  size_t cap = 0, nev = 0;
  sevent_t **evs = NULL;
  int64_t rev = ss->rev, compacted = ss->compacted, purged = ss->purged;
  berr_t err = BERR_INIT;
  int rc = step_done(ss, ss->w_begin, "begin", &err);

  for (wop_t *op = ops; op && rc == 0; op = op->next) {
    op->rc = 0;
    if (op->type == WOP_COMPACT) {
      if (op->expect > rev)
        op->rc
            = berr_setc(&op->err, EINVAL, "compact to revision %lld: the current revision is %lld",
                        (long long)op->expect, (long long)rev);
      else if (op->expect > compacted && (rc = set_meta(ss, "compacted", op->expect, &err)) == 0)
        compacted = op->expect;
      continue;
    }
    if (nev == cap) {
      cap = cap ? 2 * cap : 64;
      evs = xrealloc(evs, cap * sizeof(*evs));
    }
    int r = apply(ss, op, rev + 1, &evs[nev], &err);
    if (r < 0)
      rc = -1;
    else if (r == 0)
      op->rev = ++rev, nev++;
  }
  if (rc == 0 && rev != ss->rev)
    rc = set_meta(ss, "rev", rev, &err);
  if (rc == 0 && purged < compacted) {
    int64_t to = compacted - purged > ss->purge_chunk ? purged + ss->purge_chunk : compacted;
    int64_t t0 = time_mono_ns();
    sqlite3_bind_int64(ss->w_purge, 1, to);
    if ((rc = step_done(ss, ss->w_purge, "drop compacted history", &err)) == 0) {
      purged = to;
      int64_t took = time_mono_ns() - t0;
      if (took > PURGE_BUDGET_NS && ss->purge_chunk > PURGE_MIN)
        ss->purge_chunk /= 2;
      else if (took < PURGE_BUDGET_NS / 2 && ss->purge_chunk < PURGE_MAX)
        ss->purge_chunk *= 2;
    }
  }
  if (rc == 0)
    rc = step_done(ss, ss->w_commit, "commit", &err);

  /* A failing database must not turn idle purging into a busy loop: purge
   * again only after a batch succeeds. */
  ss->purge_stalled = rc < 0;
  if (rc < 0) {
    if (!sqlite3_get_autocommit(ss->wdb))
      step_done(ss, ss->w_rollback, "rollback", NULL);
    log_error("msg=\"store write failed\" error=\"%s\"", err.msg);
    for (size_t i = 0; i < nev; i++)
      sevent_unref(evs[i]);
    nev = 0;
    /* Nothing of the batch was written. Even a precondition failure may have
     * been caused by an earlier write of the batch, now undone. */
    for (wop_t *op = ops; op; op = op->next) {
      if (op->rc == 0 && op->deleted)
        store_kv_free(op->deleted);
      if (op->type == WOP_COMPACT)
        op->rc = berr_setc(&op->err, EIO, "compact to revision %lld: %s", (long long)op->expect,
                           err.msg);
      else
        op->rc = berr_setc(&op->err, EIO, "%s %s: %s", verb_of(op), op->key, err.msg);
    }
  } else {
    ss->rev = rev;
    ss->purged = purged;
    if (compacted != ss->compacted) {
      ss->compacted = compacted;
      hub_set_compacted(ss->base.hub, compacted);
    }
    hub_publish(ss->base.hub, evs, nev);
    pthread_mutex_lock(&ss->q_mu);
    ss->committed_rev = rev;
    ss->committed_compacted = compacted;
    ss->commits++;
    pthread_mutex_unlock(&ss->q_mu);
  }
  berr_clear(&err);
  free(evs);
  /* Wake the callers last: an acknowledged write is durable and visible to
   * every watch and read. */
  for (wop_t *op = ops, *next; op; op = next) {
    next = op->next; /* op belongs to its caller once posted */
    sem_post(&op->done);
  }
}

static void *writer_main(void *arg)
{
  sqlite_store_t *ss = arg;
  pthread_mutex_lock(&ss->q_mu);
  for (;;) {
    while (!ss->q_head && !ss->stopping && (ss->purged >= ss->compacted || ss->purge_stalled))
      pthread_cond_wait(&ss->q_cv, &ss->q_mu);
    if (ss->stopping)
      break;
    /* Take up to max_batch writes, in arrival order. */
    wop_t *batch = ss->q_head, *last = NULL;
    int64_t n = 0;
    for (wop_t *op = batch; op && n < ss->opts.max_batch; op = op->next, n++)
      last = op;
    if (last) {
      ss->q_head = last->next;
      if (!ss->q_head)
        ss->q_tail = NULL;
      last->next = NULL;
    }
    pthread_mutex_unlock(&ss->q_mu);
    run_batch(ss, batch);
    sqck_after_batch(ss);
    pthread_mutex_lock(&ss->q_mu);
  }
  wop_t *rest = ss->q_head;
  ss->q_head = ss->q_tail = NULL;
  pthread_mutex_unlock(&ss->q_mu);
  for (wop_t *op = rest, *next; op; op = next) {
    next = op->next;
    op->rc
        = berr_setc(&op->err, ESHUTDOWN, "%s: the store is closing", op->key ? op->key : "compact");
    sem_post(&op->done);
  }
  return NULL;
}

/* ---- the caller's side ------------------------------------------------------------ */

static int submit(sqlite_store_t *ss, wop_t *op, int64_t *rev, berr_t *err)
{
  op->err = (berr_t)BERR_INIT;
  sem_init(&op->done, 0, 0);
  pthread_mutex_lock(&ss->q_mu);
  if (ss->stopping) {
    pthread_mutex_unlock(&ss->q_mu);
    sem_destroy(&op->done);
    return berr_setc(err, ESHUTDOWN, "%s: the store is closing", op->key ? op->key : "compact");
  }
  if (ss->q_tail)
    ss->q_tail->next = op;
  else
    ss->q_head = op;
  ss->q_tail = op;
  pthread_cond_signal(&ss->q_cv);
  pthread_mutex_unlock(&ss->q_mu);
  while (sem_wait(&op->done) < 0)
    ; /* EINTR */
  sem_destroy(&op->done);
  if (op->rc < 0) {
    berr_move(err, &op->err);
    return -1;
  }
  if (rev)
    *rev = op->rev;
  return 0;
}

int sqw_create(store_t *s, const char *key, const void *value, size_t len, int64_t *rev,
               berr_t *err)
{
  wop_t op = { .type = WOP_CREATE, .key = key, .value = value, .len = len };
  return submit((sqlite_store_t *)s, &op, rev, err);
}

int sqw_update(store_t *s, const char *key, const void *value, size_t len, int64_t expect_rev,
               int64_t *rev, berr_t *err)
{
  wop_t op = { .type = WOP_UPDATE, .key = key, .value = value, .len = len, .expect = expect_rev };
  return submit((sqlite_store_t *)s, &op, rev, err);
}

int sqw_delete(store_t *s, const char *key, int64_t expect_rev, store_kv_t *deleted, int64_t *rev,
               berr_t *err)
{
  wop_t op = { .type = WOP_DELETE, .key = key, .expect = expect_rev, .deleted = deleted };
  return submit((sqlite_store_t *)s, &op, rev, err);
}

int sqw_compact(store_t *s, int64_t rev, berr_t *err)
{
  if (rev <= 0)
    return berr_setc(err, EINVAL, "compact to revision %lld: not a revision", (long long)rev);
  wop_t op = { .type = WOP_COMPACT, .expect = rev };
  return submit((sqlite_store_t *)s, &op, NULL, err);
}

/* ---- start and stop ----------------------------------------------------------------- */

int sqw_open(sqlite_store_t *ss, berr_t *err)
{
  sqlite3_stmt **st[]
      = { &ss->w_begin,  &ss->w_commit, &ss->w_rollback, &ss->w_ins_kv,   &ss->w_sel_kv,
          &ss->w_upd_kv, &ss->w_del_kv, &ss->w_ins_log,  &ss->w_set_meta, &ss->w_purge };
  for (size_t i = 0; i < ARRAY_SIZE(st); i++)
    if (sq_prepare(ss->wdb, WRITE_SQL[i], st[i], err) < 0)
      return -1;
  ss->purge_chunk = 256;
  ss->committed_rev = ss->rev;
  ss->committed_compacted = ss->compacted;
  int rc = pthread_create(&ss->writer, NULL, writer_main, ss);
  if (rc != 0)
    return berr_set(err, rc, "start the store's writer thread");
  ss->writer_started = true;
  return 0;
}

void sqw_close(sqlite_store_t *ss)
{
  if (ss->writer_started) {
    pthread_mutex_lock(&ss->q_mu);
    ss->stopping = true;
    pthread_cond_signal(&ss->q_cv);
    pthread_mutex_unlock(&ss->q_mu);
    pthread_join(ss->writer, NULL);
    ss->writer_started = false;
  }
  sqlite3_stmt *st[] = { ss->w_begin,  ss->w_commit, ss->w_rollback, ss->w_ins_kv,   ss->w_sel_kv,
                         ss->w_upd_kv, ss->w_del_kv, ss->w_ins_log,  ss->w_set_meta, ss->w_purge };
  for (size_t i = 0; i < ARRAY_SIZE(st); i++)
    sqlite3_finalize(st[i]);
}
