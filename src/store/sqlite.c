/* sqlite.c — the embedded SQLite backend: opening, the schema, reads and
 * history for watchers. Writes go through one writer thread (sqlite-write.c),
 * WAL checkpoints through another (sqlite-checkpoint.c).
 *
 * Schema (one database file plus its WAL; docs/store.md has the same):
 *
 *   meta(name TEXT PRIMARY KEY, value INTEGER)   'schema' = 1, 'rev' = the
 *       current revision, 'compacted' = history <= it is gone
 *   kv(key TEXT PRIMARY KEY, create_rev, mod_rev, value BLOB)
 *       the current value of every key: gets and lists at the current
 *       revision read only this
 *   log(rev INTEGER PRIMARY KEY, key, type, create_rev, prev_mod_rev, value,
 *       prev_value) + index log_key(key, rev, create_rev, prev_mod_rev)
 *       one row per revision: type 1 = put (value = the new value), 2 =
 *       delete (value NULL); prev_value/prev_mod_rev = the key's value before
 *       this write (NULL/0 for a create)
 * Small columns come before the blobs so that scans that only filter on them
 * never read a value's overflow pages.
 *
 * Why the log carries the previous value: with it, the state of any key at
 * any retained revision R follows from the current table and the rows after
 * R alone — a key whose mod_rev <= R has not changed since, and any other key
 * had, at R, the prev_value of its first log row after R. So compaction is a
 * plain range delete (DELETE FROM log WHERE rev <= C, cheap on the rowid) and
 * never has to keep "the last version before C" of each key as etcd does;
 * watch events replayed from history carry the previous value too. The cost
 * is that an update writes its old value once more. Paged lists at a past
 * revision (Kubernetes' continue tokens) find "the first row after R" of each
 * key through log_key, one page at a time (see list_at).
 *
 * Durability: journal_mode=WAL, synchronous=FULL. A transaction is committed
 * when its WAL frames are fsynced, and a write is acknowledged only after
 * that (see sqlite-write.c); the directory is fsynced at open (SQLite also
 * syncs it when it creates the WAL), so a crash, kill -9 or power loss can
 * lose no acknowledged write — only writes still waiting for their commit,
 * whose callers got no answer.
 *
 * Reads use a small pool of query-only connections: in WAL mode they never
 * wait for the writer, and each read is one transaction, so a list's items
 * and its revision come from the same snapshot. */
#include "store/sqlite-private.h"

#include <assert.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { SCHEMA_VERSION = 1 };

static const char SCHEMA_SQL[]
    = "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT "
      "ROWID;"
      "INSERT OR IGNORE INTO meta VALUES ('schema', 1), ('rev', 0), ('compacted', 0);"
      "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, create_rev INTEGER NOT NULL,"
      "  mod_rev INTEGER NOT NULL, value BLOB NOT NULL);"
      "CREATE TABLE IF NOT EXISTS log(rev INTEGER PRIMARY KEY, key TEXT NOT NULL,"
      "  type INTEGER NOT NULL, create_rev INTEGER NOT NULL, prev_mod_rev INTEGER NOT NULL,"
      "  value BLOB, prev_value BLOB);"
      "CREATE INDEX IF NOT EXISTS log_key ON log(key, rev, create_rev, prev_mod_rev);";

#define META_SQL                                                                                   \
  "(SELECT value FROM meta WHERE name = 'rev'), (SELECT value FROM meta WHERE name = 'compacted')"
#define LOG_COLUMNS "rev, key, type, value, create_rev, prev_value, prev_mod_rev"

/* Parameters: ?1 lower bound (inclusive), ?2 upper bound (exclusive), ?3 limit, ?4 revision. */
static const char *const READ_SQL[] = {
  "BEGIN",
  "COMMIT",
  "SELECT " META_SQL,
  "SELECT value, create_rev, mod_rev, " META_SQL " FROM kv WHERE key = ?1",
  "SELECT key, value, create_rev, mod_rev FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key "
  "LIMIT ?3",
  /* per key, its first row after ?4 (SQLite takes bare columns from the MIN row) */
  "SELECT key, MIN(rev), create_rev, prev_mod_rev FROM log INDEXED BY log_key "
  "WHERE key >= ?1 AND key < ?2 AND rev > ?4 GROUP BY key ORDER BY key LIMIT ?3",
  "SELECT prev_value FROM log WHERE rev = ?1",
  /* a prefix's history: by revision (a key range may hold the whole log) */
  "SELECT " LOG_COLUMNS " FROM log NOT INDEXED WHERE rev > ?4 AND key >= ?1 AND key < ?2 "
  "ORDER BY rev LIMIT ?3",
  "SELECT " LOG_COLUMNS " FROM log INDEXED BY log_key WHERE key = ?1 AND rev > ?4 ORDER BY rev "
  "LIMIT ?3",
};

static sqlite3_stmt **rconn_stmts(rconn_t *c, size_t *n)
{
  static_assert(offsetof(rconn_t, hist_key) - offsetof(rconn_t, begin)
                    == (ARRAY_SIZE(READ_SQL) - 1) * sizeof(sqlite3_stmt *),
                "one statement per READ_SQL entry");
  *n = ARRAY_SIZE(READ_SQL);
  return &c->begin;
}

/* ---- helpers ------------------------------------------------------------------ */

int sq_fail(berr_t *err, sqlite3 *db, const char *what)
{
  return berr_setc(err, EIO, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

int sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, berr_t *err)
{
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
    return sq_fail(err, db, "prepare statement");
  return 0;
}

void sq_bind_end(sqlite3_stmt *st, int i, const char *end)
{
  if (end)
    sqlite3_bind_text(st, i, end, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_zeroblob(st, i, 0);
}

/* Binds [lower, upper) for keys with prefix, after `after` when given. */
static void bind_range(sqlite3_stmt *st, const char *prefix, const char *after)
{
  if (after && *after && strcmp(after, prefix) >= 0) {
    /* keys hold no NUL, so after + "\0" is the smallest key greater than after */
    sqlite3_bind_text(st, 1, after, (int)strlen(after) + 1, SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_text(st, 1, prefix, -1, SQLITE_TRANSIENT);
  }
  cleanup_free char *end = store_prefix_end(prefix);
  sq_bind_end(st, 2, end);
}

static rconn_t *pool_get(sqlite_store_t *ss)
{
  pthread_mutex_lock(&ss->pool_mu);
  while (ss->nidle == 0)
    pthread_cond_wait(&ss->pool_cv, &ss->pool_mu);
  rconn_t *c = ss->idle[--ss->nidle];
  pthread_mutex_unlock(&ss->pool_mu);
  return c;
}

static void pool_put(sqlite_store_t *ss, rconn_t *c)
{
  pthread_mutex_lock(&ss->pool_mu);
  ss->idle[ss->nidle++] = c;
  pthread_cond_signal(&ss->pool_cv);
  pthread_mutex_unlock(&ss->pool_mu);
}

static char *col_dup(sqlite3_stmt *st, int i, size_t *len)
{
  const void *p = sqlite3_column_blob(st, i);
  size_t n = (size_t)sqlite3_column_bytes(st, i);
  char *v = xmalloc(n + 1);
  if (n)
    memcpy(v, p, n);
  v[n] = 0;
  if (len)
    *len = n;
  return v;
}

/* Begins a read transaction and reads the revision it sees. */
static int read_begin(rconn_t *c, int64_t *rev, int64_t *compacted, berr_t *err)
{
  if (sqlite3_step(c->begin) != SQLITE_DONE) {
    sqlite3_reset(c->begin);
    return sq_fail(err, c->db, "begin read");
  }
  sqlite3_reset(c->begin);
  if (sqlite3_step(c->meta) != SQLITE_ROW) {
    sqlite3_reset(c->meta);
    sqlite3_step(c->end);
    sqlite3_reset(c->end);
    return sq_fail(err, c->db, "read the revision");
  }
  *rev = sqlite3_column_int64(c->meta, 0);
  *compacted = sqlite3_column_int64(c->meta, 1);
  sqlite3_reset(c->meta);
  return 0;
}

static void read_end(rconn_t *c)
{
  sqlite3_step(c->end);
  sqlite3_reset(c->end);
}

/* ---- get and list ------------------------------------------------------------------ */

static int sq_get(store_t *s, const char *key, store_kv_t *out, int64_t *rev, berr_t *err)
{
  sqlite_store_t *ss = (sqlite_store_t *)s;
  rconn_t *c = pool_get(ss);
  sqlite3_bind_text(c->get, 1, key, -1, SQLITE_STATIC);
  int rc = sqlite3_step(c->get);
  if (rc == SQLITE_ROW) {
    out->key = xstrdup(key);
    out->value = col_dup(c->get, 0, &out->len);
    out->create_rev = sqlite3_column_int64(c->get, 1);
    out->mod_rev = sqlite3_column_int64(c->get, 2);
    if (rev)
      *rev = sqlite3_column_int64(c->get, 3);
    rc = 0;
  } else if (rc == SQLITE_DONE) {
    rc = berr_setc(err, ENOENT, "get %s: not found", key);
  } else {
    rc = sq_fail(err, c->db, "get");
    berr_wrap(err, "get %s", key);
  }
  sqlite3_reset(c->get);
  sqlite3_clear_bindings(c->get);
  pool_put(ss, c);
  return rc;
}

static void kv_from_row(sqlite3_stmt *st, store_kv_t *kv)
{
  kv->key = xstrndup((const char *)sqlite3_column_text(st, 0), sqlite3_column_bytes(st, 0));
  kv->value = col_dup(st, 1, &kv->len);
  kv->create_rev = sqlite3_column_int64(st, 2);
  kv->mod_rev = sqlite3_column_int64(st, 3);
}

static void push_item(store_list_t *out, size_t *cap, store_kv_t kv)
{
  if (out->n == *cap) {
    *cap = *cap ? 2 * *cap : 64;
    out->items = xrealloc(out->items, *cap * sizeof(*out->items));
  }
  out->items[out->n++] = kv;
}

/* Steps st to its next row; 1 = row, 0 = done, -1 = error. */
static int next_row(sqlite3_stmt *st)
{
  int rc = sqlite3_step(st);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* A key written after the list's revision: its first such write. */
struct later {
  char *key;
  int64_t rev, create_rev, prev_mod_rev; /* prev_mod_rev 0: it did not exist before */
};

/* The key as it was just before that write. */
static int before(rconn_t *c, struct later *l, store_kv_t *kv, berr_t *err)
{
  *kv = (store_kv_t){ .key = steal_ptr(l->key),
                      .create_rev = l->create_rev,
                      .mod_rev = l->prev_mod_rev };
  sqlite3_bind_int64(c->log_prev, 1, l->rev);
  int rc = 0;
  if (sqlite3_step(c->log_prev) == SQLITE_ROW) {
    kv->value = col_dup(c->log_prev, 0, &kv->len);
  } else {
    kv->value = xstrdup("");
    rc = sq_fail(err, c->db, "read history");
  }
  sqlite3_reset(c->log_prev);
  return rc;
}

/* The keys with prefix as they were at revision at (< current), in key
 * order: keys unchanged since (mod_rev <= at) straight from kv, merged with
 * the state before the first later write of every key written since, which
 * comes from the log through its (key, rev) index in chunks of one page: a
 * chunk that is full bounds how far the merge may go before the next chunk.
 * So a page costs its own size plus the keys it skips, however many writes
 * happened since the list began. */
static int list_at(rconn_t *c, const store_list_req_t *req, int64_t at, int64_t want,
                   store_list_t *out, size_t *cap, berr_t *err)
{
  sqlite3_stmt *a = c->list, *b = c->list_log_at;
  bind_range(a, req->prefix, req->after);
  sqlite3_bind_int64(a, 3, -1);
  int ra = next_row(a);

  struct later *chunk = NULL;
  size_t n = 0, ccap = 0;
  cleanup_free char *from = NULL; /* next chunk starts after this key */
  int rc = 0;
  for (bool more = true; more && rc == 0 && (want < 0 || (int64_t)out->n < want);) {
    bind_range(b, req->prefix, from ? from : req->after);
    sqlite3_bind_int64(b, 3, want);
    sqlite3_bind_int64(b, 4, at);
    n = 0;
    int rb;
    while ((rb = next_row(b)) == 1) {
      if (n == ccap) {
        ccap = ccap ? 2 * ccap : 64;
        chunk = xrealloc(chunk, ccap * sizeof(*chunk));
      }
      chunk[n++] = (struct later){
        xstrndup((const char *)sqlite3_column_text(b, 0), sqlite3_column_bytes(b, 0)),
        sqlite3_column_int64(b, 1), sqlite3_column_int64(b, 2), sqlite3_column_int64(b, 3)
      };
    }
    sqlite3_reset(b);
    if (rb < 0) {
      rc = sq_fail(err, c->db, "read history");
      break;
    }
    more = want >= 0 && (int64_t)n == want;
    const char *bound = more ? chunk[n - 1].key : NULL; /* inclusive */
    size_t bi = 0;
    while (rc == 0 && (want < 0 || (int64_t)out->n < want)) {
      while (bi < n && chunk[bi].prev_mod_rev == 0) /* created after `at` */
        bi++;
      const char *ak = ra == 1 ? (const char *)sqlite3_column_text(a, 0) : NULL;
      if (ak && bound && strcmp(ak, bound) > 0)
        ak = NULL; /* wait for the next chunk */
      if (ak && sqlite3_column_int64(a, 3) > at) {
        ra = next_row(a); /* changed since: its old state is in the chunk */
        continue;
      }
      if (!ak && bi == n)
        break;
      store_kv_t kv;
      if (ak && (bi == n || strcmp(ak, chunk[bi].key) < 0)) {
        kv_from_row(a, &kv);
        ra = next_row(a);
      } else {
        rc = before(c, &chunk[bi++], &kv, err);
      }
      push_item(out, cap, kv);
    }
    if (more) {
      free(from);
      from = xstrdup(bound);
    }
    for (size_t i = 0; i < n; i++)
      free(chunk[i].key);
  }
  if (rc == 0 && ra < 0)
    rc = sq_fail(err, c->db, "read");
  sqlite3_reset(a);
  free(chunk);
  return rc;
}

static int sq_list(store_t *s, const store_list_req_t *req, store_list_t *out, berr_t *err)
{
  sqlite_store_t *ss = (sqlite_store_t *)s;
  const char *prefix = req->prefix ? req->prefix : "";
  store_list_req_t r = *req;
  r.prefix = prefix;
  rconn_t *c = pool_get(ss);
  int64_t cur = 0, compacted = 0;
  if (read_begin(c, &cur, &compacted, err) < 0) {
    pool_put(ss, c);
    return berr_wrap(err, "list %s", prefix);
  }
  int64_t at = req->rev ? req->rev : cur;
  int64_t want = req->limit ? req->limit + 1 : -1; /* one more tells whether more remain */
  size_t cap = 0;
  int rc = 0;
  if (at > cur) {
    rc = berr_setc(err, EINVAL, "list %s at revision %lld: the current revision is %lld", prefix,
                   (long long)at, (long long)cur);
  } else if (at < compacted) {
    rc = berr_setc(err, STORE_EEXPIRED,
                   "list %s at revision %lld: expired: history is compacted up to revision %lld; "
                   "list again from the start",
                   prefix, (long long)at, (long long)compacted);
  } else if (at == cur) {
    sqlite3_stmt *st = c->list;
    bind_range(st, prefix, req->after);
    sqlite3_bind_int64(st, 3, want);
    int row;
    while ((row = next_row(st)) == 1) {
      store_kv_t kv;
      kv_from_row(st, &kv);
      push_item(out, &cap, kv);
    }
    if (row < 0)
      rc = sq_fail(err, c->db, "read");
    sqlite3_reset(st);
  } else {
    rc = list_at(c, &r, at, want, out, &cap, err);
  }
  read_end(c);
  pool_put(ss, c);
  if (rc < 0) {
    store_list_free(out);
    if (err && err->code == EIO)
      berr_wrap(err, "list %s", prefix);
    return -1;
  }
  out->rev = at;
  if (req->limit && (int64_t)out->n > req->limit) {
    store_kv_free(&out->items[--out->n]);
    out->more_after = xstrdup(out->items[out->n - 1].key);
  }
  return 0;
}

/* ---- history for watchers ------------------------------------------------------------ */

static int sq_history(store_t *s, const char *key, bool prefix, int64_t after, size_t max,
                      sevent_t ***evs, size_t *n, int64_t *scanned_to, berr_t *err)
{
  sqlite_store_t *ss = (sqlite_store_t *)s;
  *evs = NULL;
  *n = 0;
  rconn_t *c = pool_get(ss);
  int64_t cur = 0, compacted = 0;
  int rc = read_begin(c, &cur, &compacted, err);
  if (rc == 0 && after < compacted)
    rc = berr_setc(err, STORE_EEXPIRED,
                   "watch %s: expired: needs revision %lld, history is compacted up to %lld", key,
                   (long long)after + 1, (long long)compacted);
  if (rc == 0) {
    sqlite3_stmt *st = prefix ? c->hist_prefix : c->hist_key;
    if (prefix)
      bind_range(st, key, NULL);
    else
      sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, (int64_t)max);
    sqlite3_bind_int64(st, 4, after);
    *evs = xcalloc(max ? max : 1, sizeof(**evs));
    int row;
    while ((row = next_row(st)) == 1) {
      int64_t rev = sqlite3_column_int64(st, 0);
      const char *k = (const char *)sqlite3_column_text(st, 1);
      int type = sqlite3_column_int(st, 2);
      int64_t create_rev = sqlite3_column_int64(st, 4), prev_mod_rev = sqlite3_column_int64(st, 6);
      const void *prev = sqlite3_column_blob(st, 5);
      size_t prev_len = (size_t)sqlite3_column_bytes(st, 5);
      if (prev_mod_rev > 0 && !prev)
        prev = "";
      if (prev_mod_rev == 0)
        prev = NULL;
      if (type == LOG_DELETE) {
        (*evs)[(*n)++] = sevent_new(STORE_DELETE, k, NULL, 0, rev, create_rev, prev ? prev : "",
                                    prev_len, prev_mod_rev);
      } else {
        const void *v = sqlite3_column_blob(st, 3);
        size_t len = (size_t)sqlite3_column_bytes(st, 3);
        (*evs)[(*n)++] = sevent_new(STORE_PUT, k, v ? v : "", len, rev, create_rev, prev, prev_len,
                                    prev_mod_rev);
      }
      *scanned_to = rev;
    }
    if (row < 0)
      rc = sq_fail(err, c->db, "read history");
    else if (*n < max)
      *scanned_to = cur; /* everything up to the snapshot's revision was examined */
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
  read_end(c);
  pool_put(ss, c);
  if (rc < 0) {
    for (size_t i = 0; i < *n; i++)
      sevent_unref((*evs)[i]);
    free(*evs);
    *evs = NULL;
    *n = 0;
  }
  return rc;
}

/* ---- open and close ------------------------------------------------------------------ */

static int sq_status(store_t *s, store_status_t *out, berr_t *err)
{
  sqlite_store_t *ss = (sqlite_store_t *)s;
  pthread_mutex_lock(&ss->q_mu);
  out->rev = ss->committed_rev;
  out->compacted = ss->committed_compacted;
  out->commits = ss->commits;
  pthread_mutex_unlock(&ss->q_mu);
  return 0;
}

static void sq_free(sqlite_store_t *ss)
{
  sqw_close(ss);
  sqck_stop(ss);
  for (size_t i = 0; i < ss->nconns; i++) {
    size_t n;
    sqlite3_stmt **st = rconn_stmts(&ss->conns[i], &n);
    for (size_t j = 0; j < n; j++)
      sqlite3_finalize(st[j]);
    sqlite3_close(ss->conns[i].db);
  }
  sqlite3_close(ss->wdb);
  free(ss->conns);
  free(ss->idle);
  pthread_mutex_destroy(&ss->pool_mu);
  pthread_cond_destroy(&ss->pool_cv);
  pthread_mutex_destroy(&ss->q_mu);
  pthread_cond_destroy(&ss->q_cv);
  free(ss->path);
  free(ss);
}

static void sq_close(store_t *s)
{
  sq_free((sqlite_store_t *)s);
}

static const struct store_ops sqlite_ops = {
  .get = sq_get,
  .list = sq_list,
  .create = sqw_create,
  .update = sqw_update,
  .del = sqw_delete,
  .compact = sqw_compact,
  .status = sq_status,
  .close = sq_close,
};

int sq_open_conn(const char *path, bool readonly, sqlite3 **db, berr_t *err)
{
  int rc = sqlite3_open_v2(path, db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
                               | SQLITE_OPEN_EXRESCODE,
                           NULL);
  if (rc != SQLITE_OK)
    return sq_fail(err, *db, "open");
  sqlite3_busy_timeout(*db, 10000);
  const char *pragmas = readonly
                            ? "PRAGMA query_only = 1;"
                            : "PRAGMA synchronous = FULL; PRAGMA journal_size_limit = 67108864;";
  if (sqlite3_exec(*db, pragmas, NULL, NULL, NULL) != SQLITE_OK)
    return sq_fail(err, *db, "configure");
  return 0;
}

static int int_query(sqlite3 *db, const char *sql, int64_t *out, berr_t *err)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    return sq_fail(err, db, "prepare");
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    *out = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_fail(err, db, sql);
}

/* Creates the schema and loads the revisions. */
static int load(sqlite_store_t *ss, berr_t *err)
{
  sqlite3 *db = ss->wdb;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK)
    return sq_fail(err, db, "set WAL mode");
  bool wal = sqlite3_step(st) == SQLITE_ROW
             && strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
  sqlite3_finalize(st);
  if (!wal)
    return berr_setc(err, EIO, "cannot switch to WAL mode: %s", sqlite3_errmsg(db));
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK
      || sqlite3_exec(db, SCHEMA_SQL, NULL, NULL, NULL) != SQLITE_OK
      || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    sq_fail(err, db, "create the schema");
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
  }
  int64_t version = 0, max_log = 0, min_log = 0;
  if (int_query(db, "SELECT value FROM meta WHERE name = 'schema'", &version, err) < 0
      || int_query(db, "SELECT value FROM meta WHERE name = 'rev'", &ss->rev, err) < 0
      || int_query(db, "SELECT value FROM meta WHERE name = 'compacted'", &ss->compacted, err) < 0
      || int_query(db, "SELECT IFNULL(MAX(rev), 0) FROM log", &max_log, err) < 0
      || int_query(db, "SELECT IFNULL(MIN(rev), 0) FROM log", &min_log, err) < 0)
    return -1;
  if (version != SCHEMA_VERSION)
    return berr_setc(err, EINVAL, "schema version %lld, this berth knows %d", (long long)version,
                     SCHEMA_VERSION);
  if (max_log > ss->rev) /* cannot happen: both change in one transaction */
    ss->rev = max_log;
  ss->purged = min_log && min_log - 1 < ss->compacted ? min_log - 1 : ss->compacted;
  return 0;
}

/* The directory entries of the database and of its WAL (created by the
 * schema transaction) must be durable before any write is acknowledged. */
static int sync_dir(const char *path, berr_t *err)
{
  cleanup_free char *copy = xstrdup(path);
  const char *dir = dirname(copy);
  cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) < 0)
    return berr_set(err, errno, "fsync %s", dir);
  return 0;
}

int store_open_sqlite(const char *path, const store_opts_t *opts, store_t **out, berr_t *err)
{
  *out = NULL;
  sqlite_store_t *ss = xcalloc(1, sizeof(*ss));
  ss->base.ops = &sqlite_ops;
  ss->path = xstrdup(path);
  store_opts_defaults(opts, &ss->opts);
  pthread_mutex_init(&ss->pool_mu, NULL);
  pthread_cond_init(&ss->pool_cv, NULL);
  pthread_mutex_init(&ss->q_mu, NULL);
  pthread_cond_init(&ss->q_cv, NULL);

  if (sq_open_conn(path, false, &ss->wdb, err) < 0 || load(ss, err) < 0 || sync_dir(path, err) < 0)
    goto fail;
  ss->nconns = (size_t)ss->opts.read_conns;
  ss->conns = xcalloc(ss->nconns, sizeof(*ss->conns));
  ss->idle = xcalloc(ss->nconns, sizeof(*ss->idle));
  for (size_t i = 0; i < ss->nconns; i++) {
    rconn_t *c = &ss->conns[i];
    if (sq_open_conn(path, true, &c->db, err) < 0)
      goto fail;
    size_t n;
    sqlite3_stmt **st = rconn_stmts(c, &n);
    for (size_t j = 0; j < n; j++)
      if (sq_prepare(c->db, READ_SQL[j], &st[j], err) < 0)
        goto fail;
    ss->idle[ss->nidle++] = c;
  }
  ss->base.hub = hub_new(&ss->base, sq_history, (size_t)ss->opts.ring_events,
                         (size_t)ss->opts.watch_queue, ss->rev, ss->compacted);
  if (sqck_start(ss, err) < 0 || sqw_open(ss, err) < 0
      || compactor_start(&ss->base, ss->opts.compact_interval_ns, ss->opts.retain_ns,
                         ss->opts.retain_revs, &ss->base.compactor, err)
             < 0)
    goto fail;
  *out = &ss->base;
  return 0;

fail:
  if (ss->base.hub) {
    hub_shutdown(ss->base.hub);
    hub_release(ss->base.hub);
  }
  sq_free(ss);
  return berr_wrap(err, "open store %s", path);
}
