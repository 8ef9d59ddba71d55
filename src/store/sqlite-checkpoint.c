/* sqlite-checkpoint.c — WAL checkpoints off the commit path.
 *
 * In WAL mode every commit appends to the -wal file, and a checkpoint copies
 * those pages back into the database file (and fsyncs it). SQLite's default
 * runs the checkpoint inside the COMMIT that crosses 1,000 pages, so one
 * unlucky batch of writers waits for it: a latency spike every few thousand
 * writes, and a steady one while compaction deletes history. Here a thread
 * with its own connection runs PASSIVE checkpoints, which never block the
 * writer or readers, whenever the WAL passes CKPT_PAGES.
 *
 * A passive checkpoint cannot catch up with a writer that keeps appending,
 * and SQLite rewinds the WAL to its start only when a write begins with every
 * frame checkpointed, so under unbroken write load the WAL would grow without
 * end. Hence a relay: when the thread's pass has copied everything that was
 * there when it began, the writer checkpoints the few frames appended since,
 * between two batches (cheap, and nothing appends meanwhile), and its next
 * batch rewinds the WAL. journal_size_limit then trims the file. */
#include "store/sqlite-private.h"

#include <stdlib.h>

enum { CKPT_PAGES = 1000, CKPT_TAIL = 128 };

/* Called by SQLite on the writer's thread after each commit. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
  sqlite_store_t *ss = arg;
  if (pages < CKPT_PAGES)
    return SQLITE_OK;
  if (atomic_exchange(&ss->ck_caught_up, false)) {
    ss->ckpt_inline = true; /* the writer's own flag, read after this batch */
    return SQLITE_OK;
  }
  pthread_mutex_lock(&ss->ck_mu);
  ss->ck_pending = true;
  pthread_cond_signal(&ss->ck_cv);
  pthread_mutex_unlock(&ss->ck_mu);
  return SQLITE_OK;
}

/* Returns the frames copied, or -1 when not every frame in the WAL at the
 * start is in the database now. */
static int checkpoint(sqlite3 *db, const char *who, int *done_before)
{
  int log = 0, done = 0;
  int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    log_warn("msg=\"store checkpoint failed\" by=%s error=\"%s\"", who, sqlite3_errmsg(db));
  if (rc != SQLITE_OK || done != log)
    return -1;
  int copied = done >= *done_before ? done - *done_before : done; /* less: the WAL rewound */
  *done_before = done;
  return copied;
}

static void *checkpointer_main(void *arg)
{
  sqlite_store_t *ss = arg;
  int done = 0;
  pthread_mutex_lock(&ss->ck_mu);
  for (;;) {
    while (!ss->ck_pending && !ss->ck_stop)
      pthread_cond_wait(&ss->ck_cv, &ss->ck_mu);
    if (ss->ck_stop)
      break;
    ss->ck_pending = false;
    pthread_mutex_unlock(&ss->ck_mu);
    /* Passes shrink as they catch up; hand over only a short tail. */
    int copied = checkpoint(ss->cdb, "checkpointer", &done);
    if (copied >= 0 && copied <= CKPT_TAIL)
      atomic_store(&ss->ck_caught_up, true);
    pthread_mutex_lock(&ss->ck_mu);
    if (copied > CKPT_TAIL)
      ss->ck_pending = true; /* the writer appended meanwhile: go again */
  }
  pthread_mutex_unlock(&ss->ck_mu);
  return NULL;
}

void sqck_after_batch(sqlite_store_t *ss)
{
  if (!ss->ckpt_inline)
    return;
  ss->ckpt_inline = false;
  int done = 0;
  checkpoint(ss->wdb, "writer", &done); /* when busy, the next pass and relay retry */
}

int sqck_start(sqlite_store_t *ss, berr_t *err)
{
  if (sq_open_conn(ss->path, false, &ss->cdb, err) < 0)
    return -1;
  pthread_mutex_init(&ss->ck_mu, NULL);
  pthread_cond_init(&ss->ck_cv, NULL);
  int rc = pthread_create(&ss->checkpointer, NULL, checkpointer_main, ss);
  if (rc != 0) {
    pthread_mutex_destroy(&ss->ck_mu);
    pthread_cond_destroy(&ss->ck_cv);
    return berr_set(err, rc, "start the store's checkpoint thread");
  }
  ss->ck_started = true;
  sqlite3_wal_hook(ss->wdb, wal_hook, ss); /* replaces SQLite's automatic checkpoints */
  return 0;
}

void sqck_stop(sqlite_store_t *ss)
{
  if (ss->ck_started) {
    sqlite3_wal_hook(ss->wdb, NULL, NULL);
    pthread_mutex_lock(&ss->ck_mu);
    ss->ck_stop = true;
    pthread_cond_signal(&ss->ck_cv);
    pthread_mutex_unlock(&ss->ck_mu);
    pthread_join(ss->checkpointer, NULL);
    pthread_mutex_destroy(&ss->ck_mu);
    pthread_cond_destroy(&ss->ck_cv);
    ss->ck_started = false;
  }
  sqlite3_close(ss->cdb);
  ss->cdb = NULL;
}
