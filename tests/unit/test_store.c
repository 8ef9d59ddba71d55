/* test_store.c — the store's reads and writes on a real SQLite file: CRUD and
 * revisions, optimistic concurrency, prefix lists with limit/continue at a
 * fixed revision while writes go on, compaction (manual and automatic),
 * reopening, and the guaranteed-update helper. */
#include "store/store.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_store_util.h"

TestSuite(store, .init = setup, .fini = teardown);

static int64_t put(store_t *s, const char *key, const char *val)
{
  int64_t rev = 0;
  berr_t err = BERR_INIT;
  int rc = store_create(s, key, val, strlen(val), &rev, &err);
  cr_assert_eq(rc, 0, "create %s: %s", key, err.msg);
  return rev;
}

static int64_t set(store_t *s, const char *key, const char *val)
{
  int64_t rev = 0;
  berr_t err = BERR_INIT;
  int rc = store_update(s, key, val, strlen(val), 0, &rev, &err);
  cr_assert_eq(rc, 0, "update %s: %s", key, err.msg);
  return rev;
}

static int64_t cur_rev(store_t *s)
{
  store_status_t st;
  cr_assert_eq(store_status(s, &st, NULL), 0);
  return st.rev;
}

Test(store, crud_and_revisions)
{
  store_t *s = open_store(NULL);
  berr_t err = BERR_INIT;
  cr_assert_eq(cur_rev(s), 0);
  cr_assert_eq(put(s, "/registry/pods/default/a", "{\"a\":1}"), 1);
  cr_assert_eq(put(s, "/registry/pods/default/b", "bee"), 2);

  store_kv_t kv;
  int64_t rev = 0;
  cr_assert_eq(store_get(s, "/registry/pods/default/a", &kv, &rev, &err), 0);
  cr_assert_str_eq(kv.value, "{\"a\":1}");
  cr_assert_eq(kv.len, 7);
  cr_assert_eq(kv.create_rev, 1);
  cr_assert_eq(kv.mod_rev, 1);
  cr_assert_eq(rev, 2);
  store_kv_free(&kv);

  /* create of an existing key: EEXIST, no revision used */
  cr_assert_lt(store_create(s, "/registry/pods/default/a", "x", 1, NULL, &err), 0);
  cr_assert_eq(err.code, EEXIST);
  cr_assert_str_eq(err.msg, "create /registry/pods/default/a: already exists");
  berr_clear(&err);
  cr_assert_eq(cur_rev(s), 2);

  cr_assert_eq(set(s, "/registry/pods/default/a", "{\"a\":2}"), 3);
  cr_assert_eq(store_get(s, "/registry/pods/default/a", &kv, NULL, NULL), 0);
  cr_assert_str_eq(kv.value, "{\"a\":2}");
  cr_assert_eq(kv.create_rev, 1);
  cr_assert_eq(kv.mod_rev, 3);
  store_kv_free(&kv);

  store_kv_t del;
  cr_assert_eq(store_delete(s, "/registry/pods/default/b", 0, &del, &rev, &err), 0, "%s", err.msg);
  cr_assert_eq(rev, 4);
  cr_assert_str_eq(del.key, "/registry/pods/default/b");
  cr_assert_str_eq(del.value, "bee");
  cr_assert_eq(del.create_rev, 2);
  cr_assert_eq(del.mod_rev, 2);
  store_kv_free(&del);

  cr_assert_lt(store_get(s, "/registry/pods/default/b", &kv, NULL, &err), 0);
  cr_assert_eq(err.code, ENOENT);
  cr_assert_str_eq(err.msg, "get /registry/pods/default/b: not found");
  cr_assert_null(kv.value);
  cr_assert_lt(store_update(s, "/registry/pods/default/b", "x", 1, 0, NULL, &err), 0);
  cr_assert_eq(err.code, ENOENT);
  cr_assert_str_eq(err.msg, "update /registry/pods/default/b: not found");
  cr_assert_lt(store_delete(s, "/registry/pods/default/b", 0, NULL, NULL, &err), 0);
  cr_assert_eq(err.code, ENOENT);
  berr_clear(&err);

  /* re-created: a new create_rev */
  cr_assert_eq(put(s, "/registry/pods/default/b", ""), 5);
  cr_assert_eq(store_get(s, "/registry/pods/default/b", &kv, NULL, NULL), 0);
  cr_assert_eq(kv.len, 0);
  cr_assert_str_eq(kv.value, "");
  cr_assert_eq(kv.create_rev, 5);
  store_kv_free(&kv);

  /* binary values survive */
  const char bin[] = { 'a', 0, 'b', (char)0xff };
  cr_assert_eq(store_create(s, "/bin", bin, sizeof(bin), NULL, NULL), 0);
  cr_assert_eq(store_get(s, "/bin", &kv, NULL, NULL), 0);
  cr_assert_eq(kv.len, sizeof(bin));
  cr_assert_eq(memcmp(kv.value, bin, sizeof(bin)), 0);
  store_kv_free(&kv);

  cr_assert_lt(store_create(s, "", "x", 1, NULL, &err), 0);
  cr_assert_eq(err.code, EINVAL);
  berr_clear(&err);
  store_close(s);
}

Test(store, conflict_on_stale_mod_rev)
{
  store_t *s = open_store(NULL);
  berr_t err = BERR_INIT;
  int64_t r1 = put(s, "/k", "v1");
  int64_t r2 = set(s, "/k", "v2");
  /* a writer that read v1 loses */
  cr_assert_lt(store_update(s, "/k", "stale", 5, r1, NULL, &err), 0);
  cr_assert_eq(err.code, STORE_ECONFLICT);
  cr_assert_str_eq(err.msg,
                   "update /k: conflict: the object was modified (revision 2, expected 1)");
  berr_clear(&err);
  cr_assert_lt(store_delete(s, "/k", r1, NULL, NULL, &err), 0);
  cr_assert_eq(err.code, STORE_ECONFLICT);
  berr_clear(&err);
  cr_assert_eq(cur_rev(s), r2, "failed writes take no revision");

  store_kv_t kv;
  cr_assert_eq(store_get(s, "/k", &kv, NULL, NULL), 0);
  cr_assert_str_eq(kv.value, "v2");
  store_kv_free(&kv);

  int64_t r3 = 0;
  cr_assert_eq(store_update(s, "/k", "v3", 2, r2, &r3, &err), 0, "%s", err.msg);
  cr_assert_eq(r3, r2 + 1);
  cr_assert_eq(store_delete(s, "/k", r3, NULL, NULL, &err), 0, "%s", err.msg);
  store_close(s);
}

Test(store, list_by_prefix)
{
  store_t *s = open_store(NULL);
  const char *keys[] = { "/registry/pods/ns2/b", "/registry/pods/ns1/b", "/registry/pods/ns1/a",
                         "/registry/podsx",      "/registry/nodes/n1",   "/a" };
  for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
    put(s, keys[i], keys[i]);

  store_list_t l;
  berr_t err = BERR_INIT;
  cr_assert_eq(store_list(s, &(store_list_req_t){ .prefix = "/registry/pods/" }, &l, &err), 0, "%s",
               err.msg);
  cr_assert_eq(l.n, 3);
  cr_assert_str_eq(l.items[0].key, "/registry/pods/ns1/a");
  cr_assert_str_eq(l.items[1].key, "/registry/pods/ns1/b");
  cr_assert_str_eq(l.items[2].key, "/registry/pods/ns2/b");
  cr_assert_str_eq(l.items[2].value, "/registry/pods/ns2/b");
  cr_assert_eq(l.items[2].mod_rev, 1);
  cr_assert_eq(l.rev, 6);
  cr_assert_null(l.more_after);
  store_list_free(&l);

  cr_assert_eq(store_list(s, &(store_list_req_t){ .prefix = "" }, &l, NULL), 0);
  cr_assert_eq(l.n, ARRAY_SIZE(keys), "an empty prefix lists everything");
  cr_assert_str_eq(l.items[0].key, "/a");
  cr_assert_str_eq(l.items[5].key, "/registry/podsx");
  store_list_free(&l);

  /* a prefix whose last byte is 0xff has no simple upper bound */
  put(s, "/z\xff", "1");
  put(s, "/z\xff\xff", "2");
  cr_assert_eq(store_list(s, &(store_list_req_t){ .prefix = "/z\xff" }, &l, NULL), 0);
  cr_assert_eq(l.n, 2);
  store_list_free(&l);

  cr_assert_eq(store_list(s, &(store_list_req_t){ .prefix = "/nothing/" }, &l, NULL), 0);
  cr_assert_eq(l.n, 0);
  cr_assert_eq(l.rev, 8);
  store_list_free(&l);
  store_close(s);
}

/* Pages through prefix with limit, from revision *rev (0: the current one),
 * letting `between` run after each page; returns "key=value;" for
 * everything listed and the revision it was read at in *rev. */
static char *paged(store_t *s, const char *prefix, int64_t limit, void (*between)(store_t *, int),
                   int64_t *rev_io)
{
  buf_t b = { 0 };
  char *after = NULL;
  int64_t rev = *rev_io;
  for (int page = 0;; page++) {
    store_list_t l;
    berr_t err = BERR_INIT;
    int rc = store_list(s, &(store_list_req_t){ prefix, limit, after, rev }, &l, &err);
    cr_assert_eq(rc, 0, "page %d: %s", page, err.msg);
    cr_assert_leq(l.n, (size_t)limit);
    if (page > 0 || rev)
      cr_assert_eq(l.rev, rev, "every page is read at the first page's revision");
    rev = l.rev;
    for (size_t i = 0; i < l.n; i++)
      buf_printf(&b, "%s=%s;", l.items[i].key, l.items[i].value);
    free(after);
    after = l.more_after ? xstrdup(l.more_after) : NULL;
    store_list_free(&l);
    if (!after)
      break;
    if (between)
      between(s, page);
  }
  *rev_io = rev;
  return b.data ? buf_steal(&b) : xstrdup("");
}

static void churn(store_t *s, int page)
{
  char k[64], v[64];
  /* change keys on both sides of the page boundary */
  snprintf(k, sizeof(k), "/p/%02d", 3 * page + 1); /* already listed */
  set(s, k, "changed");
  snprintf(k, sizeof(k), "/p/%02d", 7 * page + 12); /* not listed yet */
  if (store_update(s, k, "changed", 7, 0, NULL, NULL) < 0)
    put(s, k, "new");
  snprintf(k, sizeof(k), "/p/%02d", 29 - page); /* not listed yet */
  store_delete(s, k, 0, NULL, NULL, NULL);
  snprintf(k, sizeof(k), "/p/%02d_new", 15 + page);
  snprintf(v, sizeof(v), "page %d", page);
  put(s, k, v);
  snprintf(k, sizeof(k), "/q/outside-%d", page);
  put(s, k, v);
  if (page == 0) { /* deleted and re-created: the old value at the old revision */
    store_delete(s, "/p/20", 0, NULL, NULL, NULL);
    put(s, "/p/20", "recreated");
  }
}

Test(store, list_limit_continue_across_writes)
{
  store_t *s = open_store(NULL);
  char k[64];
  for (int i = 0; i < 30; i++) {
    snprintf(k, sizeof(k), "/p/%02d", i);
    put(s, k, k + 3);
  }
  store_delete(s, "/p/05", 0, NULL, NULL, NULL); /* deleted before the list: stays absent */
  int64_t r0 = 0;
  char *quiet = paged(s, "/p/", 1000, NULL, &r0);
  int64_t r1 = 0;
  char *under_writes = paged(s, "/p/", 7, churn, &r1);
  cr_assert_eq(r1, r0, "no write happened before the first page");
  cr_assert_str_eq(under_writes, quiet, "pages read at one revision show that revision");
  cr_assert_gt(cur_rev(s), r1 + 10);

  /* the same at the new revision shows the changes */
  int64_t r2 = 0;
  char *after = paged(s, "/p/", 4, NULL, &r2);
  cr_assert_eq(r2, cur_rev(s));
  cr_assert_neq(strcmp(after, quiet), 0);
  cr_assert(strstr(after, "/p/01=changed;"), "%s", after);
  cr_assert(strstr(after, "/p/15_new=page 0;"), "%s", after);
  cr_assert_null(strstr(after, "/p/29="), "%s", after);
  cr_assert(strstr(quiet, "/p/29=29;"), "%s", quiet);
  cr_assert_null(strstr(quiet, "/p/05="), "%s", quiet);
  free(quiet);
  free(under_writes);
  free(after);
  store_close(s);
}

static void rewrite_all(store_t *s, int page)
{
  if (page > 0)
    return;
  char k[64];
  for (int i = 0; i < 60; i++) { /* many more changed keys than a page holds */
    snprintf(k, sizeof(k), "/p/%02d", i);
    if (i % 9 == 4)
      continue; /* a few stay as they were */
    if (i % 6 == 5)
      store_delete(s, k, 0, NULL, NULL, NULL);
    else
      set(s, k, "rewritten");
    snprintf(k, sizeof(k), "/p/%02d+%lld", i, (long long)cur_rev(s));
    put(s, k, "new");
  }
}

Test(store, list_continue_when_everything_changed)
{
  store_t *s = open_store(NULL);
  char k[64];
  for (int i = 0; i < 60; i++) {
    snprintf(k, sizeof(k), "/p/%02d", i);
    put(s, k, k + 3);
  }
  int64_t r0 = 0, r1;
  char *quiet = paged(s, "/p/", 1000, NULL, &r0);
  for (int64_t limit = 1; limit <= 13; limit += 4) {
    r1 = 0;
    char *p = paged(s, "/p/", limit, rewrite_all, &r1);
    cr_assert_str_eq(p, quiet, "limit %lld", (long long)limit);
    free(p);
    free(quiet);
    r0 = 0;
    quiet = paged(s, "/p/", 1000, NULL, &r0); /* the new state for the next round */
  }
  free(quiet);

  /* a run of keys created since, then a changed key, then an unchanged one:
   * the page must not run past the part of history it has looked at */
  put(s, "/b/a", "a");
  put(s, "/b/m", "m");
  put(s, "/b/z", "z");
  int64_t at = 0;
  quiet = paged(s, "/b/", 1000, NULL, &at);
  cr_assert_str_eq(quiet, "/b/a=a;/b/m=m;/b/z=z;");
  for (int i = 1; i <= 5; i++) {
    snprintf(k, sizeof(k), "/b/c%d", i);
    put(s, k, "new");
  }
  set(s, "/b/m", "changed");
  for (int64_t limit = 1; limit <= 4; limit++) {
    r1 = at;
    char *p = paged(s, "/b/", limit, NULL, &r1);
    cr_assert_str_eq(p, quiet, "limit %lld", (long long)limit);
    free(p);
  }
  free(quiet);
  store_close(s);
}

Test(store, list_at_old_revision_expires_after_compaction)
{
  store_t *s = open_store(NULL);
  berr_t err = BERR_INIT;
  for (int i = 0; i < 10; i++) {
    char k[32];
    snprintf(k, sizeof(k), "/c/%d", i);
    put(s, k, "v");
  }
  store_list_t l;
  cr_assert_eq(store_list(s, &(store_list_req_t){ .prefix = "/c/", .limit = 3 }, &l, NULL), 0);
  cr_assert_str_eq(l.more_after, "/c/2");
  int64_t r = l.rev;
  store_list_free(&l);
  set(s, "/c/5", "w");
  cr_assert_eq(store_compact(s, cur_rev(s), &err), 0, "%s", err.msg);
  cr_assert_lt(store_list(s, &(store_list_req_t){ "/c/", 3, "/c/2", r }, &l, &err), 0);
  cr_assert_eq(err.code, STORE_EEXPIRED);
  cr_assert(strstr(err.msg, "expired"), "%s", err.msg);
  berr_clear(&err);

  cr_assert_lt(store_list(s, &(store_list_req_t){ "/c/", 3, NULL, cur_rev(s) + 5 }, &l, &err), 0);
  cr_assert_eq(err.code, EINVAL);
  berr_clear(&err);
  /* the compaction point itself is still readable */
  cr_assert_eq(store_list(s, &(store_list_req_t){ "/c/", 0, NULL, cur_rev(s) }, &l, &err), 0);
  cr_assert_eq(l.n, 10);
  store_list_free(&l);
  store_close(s);
}

static int64_t log_rows(const char *path, int64_t upto)
{
  sqlite3 *d;
  cr_assert_eq(sqlite3_open(path, &d), SQLITE_OK);
  sqlite3_stmt *st;
  cr_assert_eq(sqlite3_prepare_v2(d, "SELECT COUNT(*) FROM log WHERE rev <= ?", -1, &st, NULL),
               SQLITE_OK);
  sqlite3_bind_int64(st, 1, upto);
  cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(d);
  return n;
}

Test(store, compaction_and_reopen)
{
  store_opts_t o = { .compact_interval_ns = -1 };
  store_t *s = open_store(&o);
  berr_t err = BERR_INIT;
  for (int i = 0; i < 12000; i++) { /* more than one purge chunk */
    char k[32];
    snprintf(k, sizeof(k), "/r/%d", i % 100);
    if (i < 100)
      put(s, k, "0");
    else
      set(s, k, "1");
  }
  cr_assert_eq(cur_rev(s), 12000);
  cr_assert_lt(store_compact(s, 12001, &err), 0);
  cr_assert_eq(err.code, EINVAL);
  berr_clear(&err);
  cr_assert_eq(store_compact(s, 11000, &err), 0, "%s", err.msg);
  cr_assert_eq(store_compact(s, 500, &err), 0, "an older revision is a no-op");
  store_status_t st;
  cr_assert_eq(store_status(s, &st, NULL), 0);
  cr_assert_eq(st.compacted, 11000);

  store_list_t l;
  cr_assert_eq(store_list(s, &(store_list_req_t){ .prefix = "/r/" }, &l, NULL), 0);
  cr_assert_eq(l.n, 100, "compaction keeps current values");
  store_list_free(&l);
  /* the writer deletes old log rows in chunks while idle */
  for (int i = 0; i < 500 && log_rows(db, 11000) > 0; i++)
    usleep(10000);
  cr_assert_eq(log_rows(db, 11000), 0, "history up to the compaction point is deleted");
  cr_assert_eq(log_rows(db, 12000), 1000);
  store_close(s);

  /* reopen: revision counter, compaction point and values survive */
  s = open_store(&o);
  cr_assert_eq(store_status(s, &st, NULL), 0);
  cr_assert_eq(st.rev, 12000);
  cr_assert_eq(st.compacted, 11000);
  cr_assert_eq(put(s, "/after-reopen", "x"), 12001);
  store_kv_t kv;
  cr_assert_eq(store_get(s, "/r/7", &kv, NULL, NULL), 0);
  cr_assert_str_eq(kv.value, "1");
  store_kv_free(&kv);
  store_close(s);
}

Test(store, automatic_compaction)
{
  store_opts_t o = { .compact_interval_ns = 20 * 1000000LL, .retain_ns = 1, .retain_revs = 5 };
  store_t *s = open_store(&o);
  for (int i = 0; i < 20; i++) {
    char k[32];
    snprintf(k, sizeof(k), "/auto/%d", i);
    put(s, k, "v");
  }
  store_status_t st = { 0 };
  for (int i = 0; i < 200 && st.compacted < 15; i++) {
    usleep(10000);
    store_status(s, &st, NULL);
  }
  cr_assert_eq(st.compacted, 15, "keeps the last retain_revs revisions");
  store_close(s);
}

struct incr_arg {
  store_t *s;
  int n;
};

static int incr(void *arg, const store_kv_t *cur, char **out, size_t *len, berr_t *err)
{
  long v = cur ? strtol(cur->value, NULL, 10) : 0;
  *out = xasprintf("%ld", v + 1);
  *len = strlen(*out);
  return 0;
}

static void *incr_thread(void *p)
{
  struct incr_arg *a = p;
  for (int i = 0; i < a->n; i++) {
    berr_t err = BERR_INIT;
    int rc = store_guaranteed_update(a->s, "/counter", true, incr, NULL, NULL, &err);
    cr_assert_eq(rc, 0, "%s", err.msg);
  }
  return NULL;
}

static int refuse(void *arg, const store_kv_t *cur, char **out, size_t *len, berr_t *err)
{
  return berr_set(err, 0, "field spec.x: must be positive");
}

static int keep(void *arg, const store_kv_t *cur, char **out, size_t *len, berr_t *err)
{
  return STORE_UNCHANGED;
}

Test(store, guaranteed_update)
{
  store_t *s = open_store(NULL);
  pthread_t t[8];
  struct incr_arg a = { s, 50 };
  for (size_t i = 0; i < ARRAY_SIZE(t); i++)
    pthread_create(&t[i], NULL, incr_thread, &a);
  for (size_t i = 0; i < ARRAY_SIZE(t); i++)
    pthread_join(t[i], NULL);
  store_kv_t kv;
  cr_assert_eq(store_get(s, "/counter", &kv, NULL, NULL), 0);
  cr_assert_str_eq(kv.value, "400", "no increment is lost under races");
  store_kv_free(&kv);

  berr_t err = BERR_INIT;
  cr_assert_lt(store_guaranteed_update(s, "/missing", false, incr, NULL, NULL, &err), 0);
  cr_assert_eq(err.code, ENOENT);
  berr_clear(&err);
  cr_assert_lt(store_guaranteed_update(s, "/counter", false, refuse, NULL, NULL, &err), 0);
  cr_assert_str_eq(err.msg, "update /counter: field spec.x: must be positive");
  berr_clear(&err);
  int64_t before = cur_rev(s);
  cr_assert_eq(store_guaranteed_update(s, "/counter", false, keep, NULL, &kv, &err), 0);
  cr_assert_str_eq(kv.value, "400");
  cr_assert_eq(cur_rev(s), before, "unchanged writes nothing");
  store_kv_free(&kv);
  cr_assert_eq(store_guaranteed_update(s, "/counter", false, incr, NULL, &kv, &err), 0);
  cr_assert_str_eq(kv.value, "401");
  cr_assert_eq(kv.mod_rev, before + 1);
  store_kv_free(&kv);
  store_close(s);
}

Test(store, open_errors)
{
  store_t *s = NULL;
  berr_t err = BERR_INIT;
  cr_assert_lt(store_open_sqlite("/nonexistent-dir/x/store.db", NULL, &s, &err), 0);
  cr_assert_null(s);
  cr_assert(str_has_prefix(err.msg, "open store /nonexistent-dir/x/store.db: open: "), "%s",
            err.msg);
  berr_clear(&err);
  fs_write_atomic(db, "not a database, not at all, definitely not", 43, 0644, NULL);
  cr_assert_lt(store_open_sqlite(db, NULL, &s, &err), 0);
  cr_assert(strstr(err.msg, "not a database"), "%s", err.msg);
  berr_clear(&err);
}
