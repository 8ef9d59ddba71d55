/* store.c — what the store can give the API server, on this machine: creates
 * per second and latency with 16 concurrent writers (group commit), the same
 * writes against plain SQLite with one transaction per write (the peer),
 * compare-and-swap updates, LIST of 10,000 values (current and paged at a
 * past revision), and create→watch-event latency. Not part of berth or of
 * `make test`; from the repo:
 *
 *   gcc -O2 -g -std=gnu11 -Isrc -D_GNU_SOURCE -o /tmp/store-bench bench/store.c \
 *       $(find src/base src/store -name '*.c') $(pkg-config --cflags --libs jansson) \
 *       -lsqlite3 -lpthread && /tmp/store-bench 10000 16 /tmp
 *
 * Arguments: creates (10,000), writer threads (16), directory for the
 * databases (/tmp; the disk matters: every commit is an fsync). Values are
 * 1.5 KB, about a pod's JSON. Prints Markdown. */
#include "store/store.h"

#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t ncreates = 10000, nthreads = 16;
static char pod[1536];

static int cmp64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct_ms(int64_t *v, size_t n, double p)
{
  if (n == 0)
    return 0;
  qsort(v, n, sizeof(*v), cmp64);
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return (double)v[i] / 1e6;
}

static void die(berr_t *err)
{
  berr_print(err);
  exit(1);
}

/* ---- writers ----------------------------------------------------------------- */

enum mode { M_CREATE, M_CREATE2, M_UPDATE, M_PEER };

struct job {
  enum mode mode;
  store_t *s;
  sqlite3 *peer;
  pthread_mutex_t *peer_mu;
  long id;
  int64_t n;
  int64_t *lat;
};

static int peer_create(sqlite3 *db, const char *key, const char *val, size_t len, int64_t rev)
{
  static const char *sql[] = { "BEGIN IMMEDIATE", "INSERT INTO kv VALUES (?1, ?2, ?3, ?3)",
                               "INSERT INTO log VALUES (?3, ?1, 1, ?2, ?3, NULL, 0)",
                               "UPDATE meta SET value = ?3 WHERE name = 'rev'", "COMMIT" };
  for (size_t i = 0; i < ARRAY_SIZE(sql); i++) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) != SQLITE_OK)
      return -1;
    if (sqlite3_bind_parameter_count(st) > 0) {
      sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
      if (sqlite3_bind_parameter_count(st) > 1)
        sqlite3_bind_blob(st, 2, val, (int)len, SQLITE_STATIC);
      sqlite3_bind_int64(st, sqlite3_bind_parameter_count(st), rev);
    }
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
      return -1;
  }
  return 0;
}

static void *job_main(void *p)
{
  struct job *j = p;
  static int64_t peer_rev; /* under peer_mu */
  char *val = xmalloc(sizeof(pod) + 64);
  for (int64_t i = 0; i < j->n; i++) {
    char key[96];
    snprintf(key, sizeof(key), "/registry/pods/%s/pod-%ld-%lld", j->mode == M_CREATE2 ? "b2" : "b1",
             j->id, (long long)i);
    int64_t t0 = time_mono_ns();
    /* the watcher reads the start time from the value */
    int len = snprintf(val, sizeof(pod) + 64, "{\"ts\":%lld,%s", (long long)t0, pod + 1);
    berr_t err = BERR_INIT;
    int rc = 0;
    if (j->mode == M_CREATE || j->mode == M_CREATE2) {
      rc = store_create(j->s, key, val, len, NULL, &err);
    } else if (j->mode == M_UPDATE) {
      store_kv_t kv;
      rc = store_get(j->s, key, &kv, NULL, &err);
      if (rc == 0)
        rc = store_update(j->s, key, val, len, kv.mod_rev, NULL, &err);
      store_kv_free(&kv);
    } else {
      pthread_mutex_lock(j->peer_mu);
      if (peer_create(j->peer, key, val, len, ++peer_rev) < 0) {
        fprintf(stderr, "peer: %s\n", sqlite3_errmsg(j->peer));
        exit(1);
      }
      pthread_mutex_unlock(j->peer_mu);
    }
    if (rc < 0)
      die(&err);
    j->lat[i] = time_mono_ns() - t0;
  }
  free(val);
  return NULL;
}

/* Runs n writes over nthreads; returns writes per second, latencies in lat. */
static double run(enum mode mode, store_t *s, sqlite3 *peer, int64_t *lat)
{
  pthread_t *t = xcalloc(nthreads, sizeof(*t));
  struct job *jobs = xcalloc(nthreads, sizeof(*jobs));
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  int64_t per = ncreates / nthreads, t0 = time_mono_ns();
  for (long i = 0; i < nthreads; i++) {
    jobs[i] = (struct job){ mode, s, peer, &mu, i, per, lat + i * per };
    pthread_create(&t[i], NULL, job_main, &jobs[i]);
  }
  for (long i = 0; i < nthreads; i++)
    pthread_join(t[i], NULL);
  double secs = (double)(time_mono_ns() - t0) / 1e9;
  free(t);
  free(jobs);
  return (double)(per * nthreads) / secs;
}

/* ---- the watcher ------------------------------------------------------------------ */

struct watcher {
  store_watch_t *w;
  int64_t *lat;
  int64_t n, want;
};

static void *watch_main(void *p)
{
  struct watcher *wt = p;
  while (wt->n < wt->want) {
    const store_event_t *ev;
    berr_t err = BERR_INIT;
    int rc = store_watch_next(wt->w, &ev, &err);
    if (rc < 0)
      die(&err);
    if (rc == 0) {
      store_watch_wait(wt->w, 1000);
      continue;
    }
    int64_t now = time_mono_ns();
    const char *ts = strstr(ev->value, "\"ts\":");
    if (ts)
      wt->lat[wt->n++] = now - strtoll(ts + 5, NULL, 10);
    store_event_release(ev);
  }
  return NULL;
}

/* ---- list ---------------------------------------------------------------------------- */

static double list_ms(store_t *s, int64_t limit, int64_t rev, size_t *count)
{
  int64_t t0 = time_mono_ns();
  char *after = NULL;
  *count = 0;
  do {
    store_list_t l;
    berr_t err = BERR_INIT;
    if (store_list(s, &(store_list_req_t){ "/registry/pods/", limit, after, rev }, &l, &err) < 0)
      die(&err);
    *count += l.n;
    rev = l.rev;
    free(after);
    after = l.more_after ? xstrdup(l.more_after) : NULL;
    store_list_free(&l);
  } while (after);
  return (double)(time_mono_ns() - t0) / 1e6;
}

static void rm_db(const char *path)
{
  const char *sfx[] = { "", "-wal", "-shm" };
  for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
    char *p = xasprintf("%s%s", path, sfx[i]);
    unlink(p);
    free(p);
  }
}

/* Seconds from t0 until the log holds nothing at or below rev. */
static double oldest_wait(const char *path, int64_t rev, int64_t t0)
{
  sqlite3 *db;
  sqlite3_stmt *st;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK
      || sqlite3_prepare_v2(db, "SELECT IFNULL(MIN(rev), 0) FROM log", -1, &st, NULL) != SQLITE_OK)
    return -1;
  for (;;) {
    int64_t oldest = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    if (oldest == 0 || oldest > rev || oldest < 0)
      break;
    usleep(10000);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return (double)(time_mono_ns() - t0) / 1e9;
}

int main(int argc, char **argv)
{
  if (argc > 1)
    ncreates = atoll(argv[1]);
  if (argc > 2)
    nthreads = atoll(argv[2]);
  const char *dir = argc > 3 ? argv[3] : "/tmp";
  ncreates -= ncreates % nthreads;
  memset(pod, 'x', sizeof(pod) - 1);
  pod[0] = '{';
  memcpy(pod + 1, "\"kind\":\"Pod\",\"spec\":\"", 21);
  memcpy(pod + sizeof(pod) - 3, "\"}", 3);

  char *path = xasprintf("%s/berth-store-bench-%d.db", dir, (int)getpid());
  char *peer_path = xasprintf("%s.peer", path);
  rm_db(path);
  rm_db(peer_path);
  store_t *s;
  berr_t err = BERR_INIT;
  if (store_open_sqlite(path, NULL, &s, &err) < 0)
    die(&err);
  int64_t *lat = xcalloc(ncreates, sizeof(*lat));

  printf("## store: %lld writes, %lld threads, 1.5 KB values, %s\n\n", (long long)ncreates,
         (long long)nthreads, dir);
  printf("| what | per second | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|\n");

  struct watcher wt = { .lat = xcalloc(ncreates, sizeof(int64_t)), .want = ncreates };
  if (store_watch(s, "/registry/pods/", true, 0, &wt.w, &err) < 0)
    die(&err);
  pthread_t wth;
  pthread_create(&wth, NULL, watch_main, &wt);
  double rate = run(M_CREATE, s, NULL, lat);
  pthread_join(wth, NULL);
  store_status_t st;
  store_status(s, &st, NULL);
  double p50 = pct_ms(lat, ncreates, 0.5), p99 = pct_ms(lat, ncreates, 0.99),
         mx = pct_ms(lat, ncreates, 1);
  printf("| create (group commit, %lld commits) | %.0f | %.2f | %.2f | %.2f |\n",
         (long long)st.commits, rate, p50, p99, mx);
  printf("| create → watch event | | %.2f | %.2f | %.2f |\n", pct_ms(wt.lat, wt.n, 0.5),
         pct_ms(wt.lat, wt.n, 0.99), pct_ms(wt.lat, wt.n, 1));
  store_watch_close(wt.w);
  free(wt.lat);

  /* LIST before the updates, then again at this revision after them: paging
   * at an old revision reads history. Printed at the end. */
  buf_t lists = { 0 };
  size_t count = 0;
  int64_t at = st.rev, v[9];
  for (int i = 0; i < 9; i++)
    v[i] = (int64_t)(list_ms(s, 0, 0, &count) * 1e6);
  buf_printf(&lists, "| all, current revision | %zu | %.1f | %.1f |\n", count, pct_ms(v, 9, 0.5),
             pct_ms(v, 9, 1));
  for (int i = 0; i < 5; i++)
    v[i] = (int64_t)(list_ms(s, 500, 0, &count) * 1e6);
  buf_printf(&lists, "| pages of 500, current revision | %zu | %.1f | %.1f |\n", count,
             pct_ms(v, 5, 0.5), pct_ms(v, 5, 1));

  double urate = run(M_UPDATE, s, NULL, lat);
  printf("| update with expected mod_rev (get + CAS) | %.0f | %.2f | %.2f | %.2f |\n", urate,
         pct_ms(lat, ncreates, 0.5), pct_ms(lat, ncreates, 0.99), pct_ms(lat, ncreates, 1));

  for (int i = 0; i < 5; i++)
    v[i] = (int64_t)(list_ms(s, 500, at, &count) * 1e6);
  buf_printf(&lists,
             "| pages of 500 at a revision %lld writes old (every item changed) | %zu | "
             "%.1f | %.1f |\n",
             (long long)ncreates, count, pct_ms(v, 5, 0.5), pct_ms(v, 5, 1));

  /* updates again while the writer deletes the whole history in chunks */
  store_status(s, &st, NULL);
  int64_t t0 = time_mono_ns();
  if (store_compact(s, st.rev, &err) < 0)
    die(&err);
  double crate = run(M_UPDATE, s, NULL, lat);
  printf("| update while compaction drops %lld revisions | %.0f | %.2f | %.2f | %.2f |\n",
         (long long)st.rev, crate, pct_ms(lat, ncreates, 0.5), pct_ms(lat, ncreates, 0.99),
         pct_ms(lat, ncreates, 1));
  double purge_s = oldest_wait(path, st.rev, t0);

  /* fan-out cost: many idle watches on other prefixes (namespaces) */
  enum { IDLE_WATCHES = 2000 };
  store_watch_t **idle = xcalloc(IDLE_WATCHES, sizeof(*idle));
  for (int i = 0; i < IDLE_WATCHES; i++) {
    char k[64];
    snprintf(k, sizeof(k), "/registry/pods/ns-%d/", i);
    if (store_watch(s, k, true, 0, &idle[i], &err) < 0)
      die(&err);
  }
  double wrate = run(M_CREATE2, s, NULL, lat);
  printf("| create with %d idle watches on other prefixes | %.0f | %.2f | %.2f | %.2f |\n",
         IDLE_WATCHES, wrate, pct_ms(lat, ncreates, 0.5), pct_ms(lat, ncreates, 0.99),
         pct_ms(lat, ncreates, 1));
  for (int i = 0; i < IDLE_WATCHES; i++)
    store_watch_close(idle[i]);
  free(idle);

  sqlite3 *peer;
  if (sqlite3_open(peer_path, &peer) != SQLITE_OK
      || sqlite3_exec(peer,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                      "CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID;"
                      "INSERT INTO meta VALUES ('rev', 0);"
                      "CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB, create_rev, mod_rev);"
                      "CREATE TABLE log(rev INTEGER PRIMARY KEY, key, type, value, create_rev, "
                      "prev_value, prev_mod_rev);",
                      NULL, NULL, NULL)
             != SQLITE_OK) {
    fprintf(stderr, "peer: %s\n", sqlite3_errmsg(peer));
    return 1;
  }
  double prate = run(M_PEER, NULL, peer, lat);
  printf("| peer: SQLite, one transaction per create | %.0f | %.2f | %.2f | %.2f |\n", prate,
         pct_ms(lat, ncreates, 0.5), pct_ms(lat, ncreates, 0.99), pct_ms(lat, ncreates, 1));
  sqlite3_close(peer);
  printf("\ngroup commit / peer: %.1fx creates per second\n", rate / prate);
  printf("compaction of %lld revisions: history deleted after %.2f s\n\n", (long long)st.rev,
         purge_s);
  printf("| LIST | items | median ms | max ms |\n|---|---|---|---|\n%s", lists.data);
  buf_free(&lists);

  store_close(s);
  rm_db(path);
  rm_db(peer_path);
  free(path);
  free(peer_path);
  free(lat);
  return 0;
}
