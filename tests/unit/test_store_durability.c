/* test_store_durability.c — what the store promises about the disk: a
 * process killed with SIGKILL in the middle of a stream of writes loses none
 * of the writes it acknowledged (the child reports each acknowledgement over
 * a pipe before the parent kills it), a failing disk fails whole batches and
 * acknowledges nothing it did not commit, and group commit really batches. */
#include "store/store.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_store_util.h"

TestSuite(store_durability, .init = setup, .fini = teardown);

/* ---- the child: writes until it is killed or the disk fails ----------------- */

struct child {
  store_t *s;
  int fd; /* acknowledgements, one "key\n" line each (atomic: < PIPE_BUF) */
  pthread_mutex_t mu;
  long id;
};

static void *child_writer(void *p)
{
  struct child *c = p;
  pthread_mutex_lock(&c->mu);
  long id = c->id++;
  pthread_mutex_unlock(&c->mu);
  for (long i = 0;; i++) {
    char key[64], line[80];
    snprintf(key, sizeof(key), "/registry/pods/p%d-%ld/pod-%ld", (int)getpid(), id, i);
    berr_t err = BERR_INIT;
    if (store_create(c->s, key, key, strlen(key), NULL, &err) < 0) {
      /* "F <errno> <key> <message>": the parent checks the key is absent */
      dprintf(c->fd, "F %d %s %s\n", err.code, key, err.msg);
      berr_clear(&err);
      return NULL;
    }
    int n = snprintf(line, sizeof(line), "A %s\n", key);
    if (write(c->fd, line, n) != n)
      _exit(3);
  }
}

static void child_main(int fd, int threads, rlim_t fsize)
{
  if (fsize) {
    signal(SIGXFSZ, SIG_IGN); /* writes past the limit fail with EFBIG instead */
    struct rlimit rl = { fsize, fsize };
    setrlimit(RLIMIT_FSIZE, &rl);
  }
  struct child c = { .fd = fd, .mu = PTHREAD_MUTEX_INITIALIZER };
  berr_t err = BERR_INIT;
  if (store_open_sqlite(db, &(store_opts_t){ .compact_interval_ns = -1 }, &c.s, &err) < 0) {
    dprintf(fd, "E %s\n", err.msg);
    _exit(2);
  }
  pthread_t t[16];
  for (int i = 0; i < threads; i++)
    pthread_create(&t[i], NULL, child_writer, &c);
  for (int i = 0; i < threads; i++)
    pthread_join(t[i], NULL);
  _exit(0); /* no store_close: as abrupt as possible */
}

/* Reads the child's lines; kills it with SIGKILL after kill_after
 * acknowledgements (0: never). Returns the acknowledged keys. */
static char **collect(pid_t pid, int fd, int kill_after, char ***failed)
{
  FILE *f = fdopen(fd, "r");
  cr_assert_not_null(f);
  char **acked = NULL, *line = NULL;
  size_t cap = 0, n = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, f)) > 0) {
    line[len - 1] = 0;
    cr_assert_neq(line[0], 'E', "child: %s", line);
    cr_assert(failed || line[0] != 'F', "child: %s", line);
    if (line[0] == 'A') {
      strv_push(&acked, line + 2);
      if (++n == (size_t)kill_after)
        kill(pid, SIGKILL);
    } else if (failed && line[0] == 'F') {
      strv_push(failed, line + 2);
    }
  }
  free(line);
  fclose(f);
  return acked;
}

static void check_all_present(char **acked)
{
  store_t *s = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(store_open_sqlite(db, NULL, &s, &err), 0, "reopen: %s", err.msg);
  store_status_t st;
  store_status(s, &st, NULL);
  cr_assert_geq(st.rev, (int64_t)strv_len(acked));
  for (char **k = acked; k && *k; k++) {
    store_kv_t kv;
    int rc = store_get(s, *k, &kv, NULL, &err);
    cr_assert_eq(rc, 0, "acknowledged %s is lost: %s", *k, err.msg);
    cr_assert_str_eq(kv.value, *k);
    store_kv_free(&kv);
  }
  /* every revision was used once, and the counter goes on after the last */
  store_list_t l;
  cr_assert_eq(store_list(s, &(store_list_req_t){ .prefix = "" }, &l, NULL), 0);
  cr_assert_eq((int64_t)l.n, st.rev, "one create per revision");
  char *seen = xcalloc(st.rev + 1, 1);
  for (size_t i = 0; i < l.n; i++) {
    cr_assert(l.items[i].mod_rev >= 1 && l.items[i].mod_rev <= st.rev);
    cr_assert_not(seen[l.items[i].mod_rev], "revision %lld used twice",
                  (long long)l.items[i].mod_rev);
    seen[l.items[i].mod_rev] = 1;
  }
  free(seen);
  store_list_free(&l);
  int64_t rev = 0;
  char *after = xasprintf("/after-%lld", (long long)st.rev);
  cr_assert_eq(store_create(s, after, "x", 1, &rev, NULL), 0);
  free(after);
  cr_assert_eq(rev, st.rev + 1, "reopening keeps the revision counter");
  store_close(s);
}

Test(store_durability, kill9_loses_no_acknowledged_write, .timeout = 120)
{
  for (int round = 0; round < 2; round++) { /* the second round appends to a recovered store */
    int p[2];
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
      close(p[0]);
      child_main(p[1], 8, 0);
    }
    close(p[1]);
    char **acked = collect(pid, p[0], 2000 + 1000 * round, NULL);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %d", status);
    cr_assert_geq(strv_len(acked), 2000);
    check_all_present(acked);
    sqlite3 *d;
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_open(db, &d), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(d, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(d);
    strv_free(acked);
  }
}

Test(store_durability, failing_disk_acknowledges_only_commits, .timeout = 120)
{
  int p[2];
  cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    close(p[0]);
    child_main(p[1], 4, 2 << 20); /* files may not grow past 2 MiB */
  }
  close(p[1]);
  char **failed = NULL;
  char **acked = collect(pid, p[0], 0, &failed);
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
  cr_assert_gt(strv_len(acked), 100);
  cr_assert_eq(strv_len(failed), 4, "every writer saw the failure");
  check_all_present(acked);

  store_t *s = NULL;
  cr_assert_eq(store_open_sqlite(db, NULL, &s, NULL), 0);
  for (char **f = failed; *f; f++) {
    int code = atoi(*f);
    char *key = strchr(*f, ' ') + 1, *msg = strchr(key, ' ');
    *msg++ = 0;
    cr_assert_eq(code, EIO, "%s", msg);
    char *want = xasprintf("create %s: ", key);
    cr_assert(str_has_prefix(msg, want), "%s", msg);
    free(want);
    cr_assert(strstr(msg, "disk") || strstr(msg, "full") || strstr(msg, "I/O"), "%s", msg);
    store_kv_t kv;
    berr_t err = BERR_INIT;
    cr_assert_lt(store_get(s, key, &kv, NULL, &err), 0, "%s failed but was stored", key);
    cr_assert_eq(err.code, ENOENT);
    berr_clear(&err);
  }
  store_close(s);
  strv_free(failed);
  strv_free(acked);
}

/* ---- group commit -------------------------------------------------------------- */

enum { GC_THREADS = 16, GC_EACH = 1000 };

static void *gc_writer(void *p)
{
  store_t *s = ((void **)p)[0];
  long id = (long)((void **)p)[1];
  for (int i = 0; i < GC_EACH; i++) {
    char k[64];
    snprintf(k, sizeof(k), "/gc/%ld/%d", id, i);
    berr_t err = BERR_INIT;
    cr_assert_eq(store_create(s, k, k, strlen(k), NULL, &err), 0, "%s", err.msg);
  }
  return NULL;
}

Test(store_durability, group_commit_batches, .timeout = 120)
{
  store_t *s = NULL;
  cr_assert_eq(store_open_sqlite(db, NULL, &s, NULL), 0);
  pthread_t t[GC_THREADS];
  void *args[GC_THREADS][2];
  int64_t t0 = time_mono_ns();
  for (long i = 0; i < GC_THREADS; i++) {
    args[i][0] = s;
    args[i][1] = (void *)i;
    pthread_create(&t[i], NULL, gc_writer, args[i]);
  }
  for (int i = 0; i < GC_THREADS; i++)
    pthread_join(t[i], NULL);
  int64_t ms = (time_mono_ns() - t0) / 1000000;
  store_status_t st;
  store_status(s, &st, NULL);
  cr_assert_eq(st.rev, GC_THREADS * GC_EACH);
  /* 16 writers keep the queue full: commits are far fewer than writes */
  cr_assert_lt(st.commits, GC_THREADS * GC_EACH / 4, "%lld commits for %d writes",
               (long long)st.commits, GC_THREADS * GC_EACH);
  /* the time is for a look only (sanitised build, shared machine); bench/store.c measures */
  cr_log_info("group commit: %d creates in %lld ms, %lld commits", GC_THREADS * GC_EACH,
              (long long)ms, (long long)st.commits);
  store_close(s);
}
