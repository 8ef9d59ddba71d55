/* test_store_watch.c — watches: live events with previous values, the
 * eventfd contract, replay from history (database and ring) handing over to
 * live delivery with no gap and no duplicate under concurrent writers,
 * expiry after compaction, slow watchers cancelled without slowing writers,
 * and watches outliving their store. */
#include "store/store.h"

#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_store_util.h"

TestSuite(store_watch, .init = setup, .fini = teardown);

static store_watch_t *watch(store_t *s, const char *key, bool prefix, int64_t from)
{
  store_watch_t *w = NULL;
  berr_t err = BERR_INIT;
  int rc = store_watch(s, key, prefix, from, &w, &err);
  cr_assert_eq(rc, 0, "watch %s: %s", key, err.msg);
  return w;
}

static bool readable(store_watch_t *w)
{
  struct pollfd p = { .fd = store_watch_fd(w), .events = POLLIN };
  return poll(&p, 1, 0) == 1;
}

/* The next event, waiting up to 5 s for it. */
static const store_event_t *next_event(store_watch_t *w)
{
  const store_event_t *ev = NULL;
  berr_t err = BERR_INIT;
  for (int i = 0; i < 100; i++) {
    int rc = store_watch_next(w, &ev, &err);
    cr_assert_geq(rc, 0, "watch: %s", err.msg);
    if (rc == 1)
      return ev;
    store_watch_wait(w, 50);
  }
  cr_assert_fail("no event within 5 s");
  return NULL;
}

Test(store_watch, live_events_and_fd)
{
  store_t *s = open_store(NULL);
  store_watch_t *all = watch(s, "/registry/pods/", true, 0);
  store_watch_t *one = watch(s, "/registry/pods/a", false, 0);
  const store_event_t *ev;
  cr_assert_not(readable(all), "nothing pending");
  cr_assert_eq(store_watch_next(all, &ev, NULL), 0);

  cr_assert_eq(store_create(s, "/registry/pods/a", "v1", 2, NULL, NULL), 0);
  cr_assert_eq(store_create(s, "/registry/pods/ab", "x", 1, NULL, NULL), 0);
  cr_assert_eq(store_create(s, "/registry/nodes/n", "n", 1, NULL, NULL), 0);
  cr_assert_eq(store_update(s, "/registry/pods/a", "v2", 2, 0, NULL, NULL), 0);
  cr_assert_eq(store_delete(s, "/registry/pods/a", 0, NULL, NULL, NULL), 0);
  cr_assert(readable(all));

  ev = next_event(all);
  cr_assert_eq(ev->type, STORE_PUT);
  cr_assert_str_eq(ev->key, "/registry/pods/a");
  cr_assert_str_eq(ev->value, "v1");
  cr_assert_eq(ev->mod_rev, 1);
  cr_assert_eq(ev->create_rev, 1);
  cr_assert_null(ev->prev_value, "a create has no previous value");
  store_event_release(ev);
  ev = next_event(all);
  cr_assert_str_eq(ev->key, "/registry/pods/ab");
  store_event_release(ev);
  ev = next_event(all);
  cr_assert_eq(ev->type, STORE_PUT);
  cr_assert_eq(ev->mod_rev, 4, "the node event is filtered out");
  cr_assert_str_eq(ev->value, "v2");
  cr_assert_str_eq(ev->prev_value, "v1");
  cr_assert_eq(ev->prev_mod_rev, 1);
  store_event_release(ev);
  ev = next_event(all);
  cr_assert_eq(ev->type, STORE_DELETE);
  cr_assert_eq(ev->mod_rev, 5);
  cr_assert_eq(ev->create_rev, 1);
  cr_assert_str_eq(ev->value, "v2", "a delete carries the last value");
  cr_assert_eq(ev->prev_mod_rev, 4);
  store_event_release(ev);
  cr_assert_eq(store_watch_next(all, &ev, NULL), 0);
  cr_assert_not(readable(all), "drained: the fd is quiet again");
  cr_assert_eq(store_watch_rev(all), 5);

  /* the single-key watch saw only its key */
  int64_t revs[3];
  for (int i = 0; i < 3; i++) {
    ev = next_event(one);
    cr_assert_str_eq(ev->key, "/registry/pods/a");
    revs[i] = ev->mod_rev;
    store_event_release(ev);
  }
  cr_assert_eq(revs[0] + revs[1] + revs[2], 1 + 4 + 5);
  cr_assert_eq(store_watch_next(one, &ev, NULL), 0);

  /* from a revision not reached yet (a list may read a revision the watch
   * hub has not published yet): nothing at or below it is delivered */
  store_watch_t *future = watch(s, "/registry/", true, 8);
  for (int i = 0; i < 5; i++) {
    char k[32];
    snprintf(k, sizeof(k), "/registry/f%d", i);
    cr_assert_eq(store_create(s, k, "f", 1, NULL, NULL), 0);
  }
  for (int64_t want = 9; want <= 10; want++) {
    ev = next_event(future);
    cr_assert_eq(ev->mod_rev, want);
    store_event_release(ev);
  }
  cr_assert_eq(store_watch_next(future, &ev, NULL), 0);
  store_watch_close(future);
  store_watch_close(all);
  store_watch_close(one);
  store_close(s);
}

Test(store_watch, replay_from_database_and_ring)
{
  store_opts_t o = { .ring_events = 16 };
  store_t *s = open_store(&o);
  for (int i = 1; i <= 100; i++) {
    char k[32];
    snprintf(k, sizeof(k), "/k/%d", i % 7);
    if (store_create(s, k, "c", 1, NULL, NULL) < 0)
      cr_assert_eq(store_update(s, k, k, strlen(k), 0, NULL, NULL), 0);
  }
  /* from revision 10: 11..84 come from the database, 85..100 from the ring */
  store_watch_t *w = watch(s, "/k/", true, 10);
  cr_assert(readable(w), "a watch in the past has something to do");
  for (int64_t want = 11; want <= 100; want++) {
    const store_event_t *ev = next_event(w);
    cr_assert_eq(ev->mod_rev, want);
    if (ev->mod_rev > 7) {
      cr_assert_not_null(ev->prev_value, "history carries previous values");
      cr_assert_eq(ev->prev_mod_rev, ev->mod_rev - 7);
    }
    store_event_release(ev);
  }
  cr_assert_eq(store_create(s, "/k/live", "l", 1, NULL, NULL), 0);
  const store_event_t *ev = next_event(w);
  cr_assert_eq(ev->mod_rev, 101);
  store_event_release(ev);
  cr_assert_eq(store_watch_next(w, &ev, NULL), 0);

  /* a single-key watch from the start of time */
  store_watch_t *k3 = watch(s, "/k/3", false, 1);
  for (int64_t want = 3; want <= 94; want += 7) { /* the revisions that wrote /k/3 */
    ev = next_event(k3);
    cr_assert_str_eq(ev->key, "/k/3");
    cr_assert_eq(ev->mod_rev, want);
    store_event_release(ev);
  }
  cr_assert_not(store_watch_wait(k3, 100) && store_watch_next(k3, &ev, NULL) == 1);
  store_watch_close(k3);
  store_watch_close(w);
  store_close(s);
}

/* ---- concurrency: replay + live, no gap, no duplicate ----------------------- */

enum { WRITERS = 4, WRITES_EACH = 500 };

static void *writer(void *p)
{
  store_t *s = ((void **)p)[0];
  long id = (long)((void **)p)[1];
  for (int i = 0; i < WRITES_EACH; i++) {
    char k[64];
    snprintf(k, sizeof(k), "/w/%ld/%d", id, i % 10);
    berr_t err = BERR_INIT;
    if (i < 10)
      cr_assert_eq(store_create(s, k, "c", 1, NULL, &err), 0, "%s", err.msg);
    else if (i % 50 == 49)
      cr_assert_eq(store_delete(s, k, 0, NULL, NULL, &err), 0, "%s", err.msg);
    else if (store_update(s, k, k, strlen(k), 0, NULL, &err) < 0) {
      cr_assert_eq(err.code, ENOENT, "%s", err.msg);
      berr_clear(&err);
      cr_assert_eq(store_create(s, k, "again", 5, NULL, &err), 0, "%s", err.msg);
    }
  }
  return NULL;
}

struct reader {
  store_t *s;
  int64_t from, last;
  int64_t count;
};

static void *reader(void *p)
{
  struct reader *r = p;
  store_watch_t *w = watch(r->s, "/w/", true, r->from);
  r->from = r->last = store_watch_rev(w); /* from_rev 0: the revision it started at */
  int64_t total = WRITERS * WRITES_EACH;
  while (r->last < total) {
    const store_event_t *ev;
    berr_t err = BERR_INIT;
    int rc = store_watch_next(w, &ev, &err);
    cr_assert_geq(rc, 0, "watch from %lld: %s", (long long)r->from, err.msg);
    if (rc == 0) {
      cr_assert(store_watch_wait(w, 10000), "stalled at revision %lld", (long long)r->last);
      continue;
    }
    cr_assert_eq(ev->mod_rev, r->last + 1, "watch from %lld: got %lld after %lld",
                 (long long)r->from, (long long)ev->mod_rev, (long long)r->last);
    r->last = ev->mod_rev;
    r->count++;
    store_event_release(ev);
  }
  store_watch_close(w);
  return NULL;
}

Test(store_watch, replay_then_live_under_concurrent_writers, .timeout = 120)
{
  store_opts_t o = { .ring_events = 64 };
  store_t *s = open_store(&o);
  pthread_t wt[WRITERS], rt[6];
  void *args[WRITERS][2];
  for (long i = 0; i < WRITERS; i++) {
    args[i][0] = s;
    args[i][1] = (void *)i;
    pthread_create(&wt[i], NULL, writer, args[i]);
  }
  /* Watchers start while writes go on, at revisions from the distant past to
   * the future-ish present: each must see every revision exactly once. */
  struct reader r[6];
  for (int i = 0; i < 6; i++) {
    usleep(5000 * i);
    store_status_t st;
    store_status(s, &st, NULL);
    /* 0: from now; the others in the ring or before it */
    int64_t from = i == 0 ? 0 : st.rev > 30 * i * i ? st.rev - 30 * i * i : 1;
    r[i] = (struct reader){ .s = s, .from = from };
    pthread_create(&rt[i], NULL, reader, &r[i]);
  }
  for (int i = 0; i < WRITERS; i++)
    pthread_join(wt[i], NULL);
  for (int i = 0; i < 6; i++) {
    pthread_join(rt[i], NULL);
    cr_assert_eq(r[i].count, WRITERS * WRITES_EACH - r[i].from);
  }
  store_close(s);
}

Test(store_watch, expired_after_compaction)
{
  store_opts_t o = { .ring_events = 4, .compact_interval_ns = -1 };
  store_t *s = open_store(&o);
  for (int i = 0; i < 100; i++) {
    char k[32];
    snprintf(k, sizeof(k), "/e/%d", i);
    cr_assert_eq(store_create(s, k, "v", 1, NULL, NULL), 0);
  }
  store_watch_t *early = watch(s, "/e/", true, 60); /* catching up, not started yet */
  berr_t err = BERR_INIT;
  cr_assert_eq(store_compact(s, 80, &err), 0, "%s", err.msg);

  store_watch_t *w = NULL;
  cr_assert_lt(store_watch(s, "/e/", true, 79, &w, &err), 0);
  cr_assert_eq(err.code, STORE_EEXPIRED);
  cr_assert_str_eq(err.msg,
                   "watch /e/ from revision 79: expired: history is compacted up to revision 80");
  berr_clear(&err);
  cr_assert_null(w);

  const store_event_t *ev;
  cr_assert_lt(store_watch_next(early, &ev, &err), 0);
  cr_assert_eq(err.code, STORE_EEXPIRED, "%s", err.msg);
  cr_assert(strstr(err.msg, "compacted up to 80"), "%s", err.msg);
  berr_clear(&err);
  cr_assert(readable(early), "a finished watch stays readable");
  store_watch_close(early);

  w = watch(s, "/e/", true, 80); /* the compaction point itself is fine */
  ev = next_event(w);
  cr_assert_eq(ev->mod_rev, 81);
  store_event_release(ev);
  store_watch_close(w);
  store_close(s);
}

/* ---- slow watchers ------------------------------------------------------------ */

static void *creator(void *p)
{
  store_t *s = ((void **)p)[0];
  long id = (long)((void **)p)[1];
  for (int i = 0; i < 200; i++) {
    char k[64];
    snprintf(k, sizeof(k), "/slow/%ld/%d", id, i);
    berr_t err = BERR_INIT;
    cr_assert_eq(store_create(s, k, k, strlen(k), NULL, &err), 0, "%s", err.msg);
  }
  return NULL;
}

Test(store_watch, slow_watcher_cancelled_without_blocking_writers, .timeout = 60)
{
  store_opts_t o = { .watch_queue = 100 };
  store_t *s = open_store(&o);
  store_watch_t *slow = watch(s, "/slow/", true, 0);
  store_watch_t *other = watch(s, "/other/", true, 0);
  pthread_t t[16];
  void *args[16][2];
  /* a writer blocked on the stuck watcher never returns: the suite's timeout fails it */
  for (long i = 0; i < 16; i++) {
    args[i][0] = s;
    args[i][1] = (void *)i;
    pthread_create(&t[i], NULL, creator, args[i]);
  }
  for (int i = 0; i < 16; i++)
    pthread_join(t[i], NULL);

  const store_event_t *ev;
  berr_t err = BERR_INIT;
  cr_assert_lt(store_watch_next(slow, &ev, &err), 0, "the queued events are dropped");
  cr_assert_eq(err.code, STORE_EEXPIRED);
  cr_assert_str_eq(err.msg, "watch /slow/: expired: the watcher fell more than 100 events behind");
  berr_clear(&err);
  cr_assert_eq(store_watch_next(other, &ev, &err), 0, "an idle watch on another prefix is fine");
  store_status_t st;
  store_status(s, &st, NULL);
  cr_assert_eq(st.rev, 3200);
  cr_assert_eq(st.watchers, 2);
  store_watch_close(slow);
  store_watch_close(other);
  store_close(s);
}

Test(store_watch, outlives_its_store)
{
  store_t *s = open_store(NULL);
  store_watch_t *live = watch(s, "/x", true, 0);
  cr_assert_eq(store_create(s, "/x", "1", 1, NULL, NULL), 0);
  store_watch_t *past = watch(s, "/x", true, 0);
  store_close(s);
  const store_event_t *ev;
  berr_t err = BERR_INIT;
  cr_assert_lt(store_watch_next(live, &ev, &err), 0);
  cr_assert_eq(err.code, ESHUTDOWN);
  cr_assert_str_eq(err.msg, "watch: the store is closing");
  berr_clear(&err);
  cr_assert_lt(store_watch_next(past, &ev, &err), 0);
  berr_clear(&err);
  store_watch_close(live);
  store_watch_close(past);
}
