/* watch.c — the watch hub: fans committed events out from memory to
 * thousands of watchers served by a few threads, without ever making a
 * writer wait for a reader.
 *
 * The backend's writer thread calls hub_publish once per committed batch. The
 * hub keeps the most recent events in a ring (it holds every event after
 * ring_from) and appends each event to the bounded queue of every live
 * watcher whose key or prefix matches: a linear pass over the watchers, a
 * string compare each, under the hub lock but without any I/O. A queue
 * that would overflow cancels its watch with STORE_EEXPIRED instead of
 * blocking the writer or growing without bound: the client re-lists, as
 * Kubernetes clients do on 410 Gone. Each watch has an eventfd that is
 * readable exactly while store_watch_next has something to return, so a
 * server can multiplex any number of watches over epoll.
 *
 * A watch starting in the past is "catching up": the consumer's own
 * store_watch_next calls fill its queue, first from the database's history
 * (hub_history_fn, in pages, without holding the hub lock) and, once the
 * ring covers the revision it has reached, from the ring under the hub lock,
 * where it atomically turns live. Each watch keeps a cursor — every matching
 * event up to it is queued or delivered — and publish skips events at or
 * below the cursor: that is what makes the hand-over gapless and
 * duplicate-free even when a history read saw revisions committed but not yet
 * published.
 *
 * Locks: hub->mu (ring, watcher list, revisions) before w->mu (one queue). */
#include "store/internal.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum { HISTORY_PAGE = 512, CATCHUP_STEPS = 8 };

enum wstate { W_CATCHUP, W_LIVE, W_DONE };

struct store_watch {
  store_hub_t *hub;
  char *key;
  size_t klen;
  bool prefix;
  int efd;
  bool signaled; /* the eventfd counter is non-zero */
  pthread_mutex_t mu;
  sevent_t **q; /* circular, qcap slots */
  size_t head, n;
  int64_t cursor;
  enum wstate state;
  int code; /* W_DONE: why */
  char *msg;
  store_watch_t *prev, *next;
};

struct store_hub {
  store_t *s;
  hub_history_fn history;
  pthread_mutex_t mu;
  pthread_cond_t idle; /* inflight dropped to 0 */
  sevent_t **ring;
  size_t ring_cap, ring_head, ring_n;
  int64_t ring_from; /* the ring holds every event with a revision above it */
  int64_t rev, compacted;
  size_t qcap;
  store_watch_t *watchers;
  int64_t nwatchers;
  int inflight; /* history reads running without the lock */
  bool closed;
  int refs; /* the store + one per watch */
};

store_hub_t *hub_new(store_t *s, hub_history_fn history, size_t ring_events, size_t watch_queue,
                     int64_t rev, int64_t compacted)
{
  store_hub_t *h = xcalloc(1, sizeof(*h));
  h->s = s;
  h->history = history;
  pthread_mutex_init(&h->mu, NULL);
  pthread_cond_init(&h->idle, NULL);
  h->ring_cap = ring_events ? ring_events : 1;
  h->ring = xcalloc(h->ring_cap, sizeof(*h->ring));
  h->qcap = watch_queue ? watch_queue : 1;
  h->rev = h->ring_from = rev;
  h->compacted = compacted;
  h->refs = 1;
  return h;
}

static void ring_clear(store_hub_t *h)
{
  for (size_t i = 0; i < h->ring_n; i++)
    sevent_unref(h->ring[(h->ring_head + i) % h->ring_cap]);
  h->ring_n = h->ring_head = 0;
}

static void hub_free(store_hub_t *h)
{
  ring_clear(h);
  free(h->ring);
  pthread_mutex_destroy(&h->mu);
  pthread_cond_destroy(&h->idle);
  free(h);
}

/* ---- one watch's queue (w->mu held) ---------------------------------------- */

static void w_signal(store_watch_t *w)
{
  if (w->signaled)
    return;
  uint64_t one = 1;
  if (write(w->efd, &one, sizeof(one)) == sizeof(one))
    w->signaled = true;
}

static void w_drain(store_watch_t *w)
{
  uint64_t v;
  if (w->signaled && read(w->efd, &v, sizeof(v)) == sizeof(v))
    w->signaled = false;
}

static void w_clear_queue(store_watch_t *w)
{
  for (size_t i = 0; i < w->n; i++)
    sevent_unref(w->q[(w->head + i) % w->hub->qcap]);
  w->head = w->n = 0;
}

static void w_cancel(store_watch_t *w, int code, const char *msg)
{
  if (w->state == W_DONE)
    return;
  w_clear_queue(w);
  w->state = W_DONE;
  w->code = code;
  w->msg = xstrdup(msg);
  w_signal(w);
}

/* Takes the reference e. */
static void w_push(store_watch_t *w, sevent_t *e)
{
  w->q[(w->head + w->n) % w->hub->qcap] = e;
  if (w->n++ == 0)
    w_signal(w);
}

static bool w_matches(const store_watch_t *w, const char *key)
{
  return w->prefix ? strncmp(key, w->key, w->klen) == 0 : strcmp(key, w->key) == 0;
}

/* ---- publishing (the writer's side) ----------------------------------------- */

void hub_publish(store_hub_t *h, sevent_t **evs, size_t n)
{
  if (n == 0)
    return;
  pthread_mutex_lock(&h->mu);
  if (h->closed) {
    pthread_mutex_unlock(&h->mu);
    for (size_t i = 0; i < n; i++)
      sevent_unref(evs[i]);
    return;
  }
  for (store_watch_t *w = h->watchers; w; w = w->next) {
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < n && w->state == W_LIVE; i++) {
      const store_event_t *ev = &evs[i]->ev;
      if (ev->mod_rev <= w->cursor)
        continue;
      w->cursor = ev->mod_rev;
      if (!w_matches(w, ev->key))
        continue;
      if (w->n == h->qcap) {
        char *msg = xasprintf("watch %s: expired: the watcher fell more than %zu events behind",
                              w->key, h->qcap);
        w_cancel(w, STORE_EEXPIRED, msg);
        free(msg);
        break;
      }
      w_push(w, sevent_ref(evs[i]));
    }
    pthread_mutex_unlock(&w->mu);
  }
  for (size_t i = 0; i < n; i++) {
    if (h->ring_n == h->ring_cap) {
      h->ring_from = h->ring[h->ring_head]->ev.mod_rev;
      sevent_unref(h->ring[h->ring_head]);
      h->ring_head = (h->ring_head + 1) % h->ring_cap;
      h->ring_n--;
    }
    h->ring[(h->ring_head + h->ring_n++) % h->ring_cap] = evs[i];
  }
  h->rev = evs[n - 1]->ev.mod_rev;
  pthread_mutex_unlock(&h->mu);
}

void hub_set_compacted(store_hub_t *h, int64_t rev)
{
  pthread_mutex_lock(&h->mu);
  if (rev > h->compacted)
    h->compacted = rev;
  pthread_mutex_unlock(&h->mu);
}

void hub_revs(store_hub_t *h, int64_t *rev, int64_t *compacted, int64_t *watchers)
{
  pthread_mutex_lock(&h->mu);
  if (rev)
    *rev = h->rev;
  if (compacted)
    *compacted = h->compacted;
  if (watchers)
    *watchers = h->nwatchers;
  pthread_mutex_unlock(&h->mu);
}

void hub_shutdown(store_hub_t *h)
{
  pthread_mutex_lock(&h->mu);
  h->closed = true;
  for (store_watch_t *w = h->watchers; w; w = w->next) {
    pthread_mutex_lock(&w->mu);
    w_cancel(w, ESHUTDOWN, "watch: the store is closing");
    pthread_mutex_unlock(&w->mu);
  }
  while (h->inflight > 0)
    pthread_cond_wait(&h->idle, &h->mu);
  ring_clear(h);
  pthread_mutex_unlock(&h->mu);
}

void hub_release(store_hub_t *h)
{
  pthread_mutex_lock(&h->mu);
  bool last = --h->refs == 0;
  pthread_mutex_unlock(&h->mu);
  if (last)
    hub_free(h);
}

/* ---- watches (the consumer's side) ------------------------------------------ */

int store_watch(store_t *s, const char *key, bool prefix, int64_t from_rev, store_watch_t **out,
                berr_t *err)
{
  *out = NULL;
  if (!key || (!prefix && !*key))
    return berr_setc(err, EINVAL, "watch: empty key");
  if (from_rev < 0)
    return berr_setc(err, EINVAL, "watch %s: negative revision %lld", key, (long long)from_rev);
  store_hub_t *h = s->hub;
  int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0)
    return berr_set(err, errno, "watch %s: eventfd", key);

  pthread_mutex_lock(&h->mu);
  int rc = 0;
  if (h->closed)
    rc = berr_setc(err, ESHUTDOWN, "watch %s: the store is closing", key);
  else if (from_rev > 0 && from_rev < h->compacted)
    rc = berr_setc(err, STORE_EEXPIRED,
                   "watch %s from revision %lld: expired: history is compacted up to revision %lld",
                   key, (long long)from_rev, (long long)h->compacted);
  if (rc < 0) {
    pthread_mutex_unlock(&h->mu);
    close(efd);
    return rc;
  }
  store_watch_t *w = xcalloc(1, sizeof(*w));
  w->hub = h;
  w->key = xstrdup(key);
  w->klen = strlen(key);
  w->prefix = prefix;
  w->efd = efd;
  pthread_mutex_init(&w->mu, NULL);
  w->q = xcalloc(h->qcap, sizeof(*w->q));
  w->cursor = from_rev > 0 ? from_rev : h->rev;
  w->state = w->cursor >= h->rev ? W_LIVE : W_CATCHUP;
  if (w->state == W_CATCHUP)
    w_signal(w); /* the consumer's next call does the catching up */
  w->next = h->watchers;
  if (h->watchers)
    h->watchers->prev = w;
  h->watchers = w;
  h->nwatchers++;
  h->refs++;
  pthread_mutex_unlock(&h->mu);
  *out = w;
  return 0;
}

int store_watch_fd(store_watch_t *w)
{
  return w->efd;
}

/* Copies matching ring events after the cursor into the queue; turns the
 * watch live when it reaches the end. Both locks held. */
static void catch_up_from_ring(store_hub_t *h, store_watch_t *w)
{
  size_t lo = 0, hi = h->ring_n; /* first event after the cursor */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (h->ring[(h->ring_head + mid) % h->ring_cap]->ev.mod_rev <= w->cursor)
      lo = mid + 1;
    else
      hi = mid;
  }
  for (size_t i = lo; i < h->ring_n; i++) {
    sevent_t *e = h->ring[(h->ring_head + i) % h->ring_cap];
    if (w_matches(w, e->ev.key)) {
      if (w->n == h->qcap)
        return; /* still catching up; continues when the queue drains */
      w_push(w, sevent_ref(e));
    }
    w->cursor = e->ev.mod_rev;
  }
  if (w->cursor < h->rev)
    w->cursor = h->rev;
  w->state = W_LIVE;
}

/* One step of catching up; called by the consumer with no lock held and an
 * empty queue. Never blocks the writer: history is read without the hub lock. */
static void catch_up(store_watch_t *w)
{
  store_hub_t *h = w->hub;
  pthread_mutex_lock(&h->mu);
  pthread_mutex_lock(&w->mu);
  if (w->state != W_CATCHUP) {
    pthread_mutex_unlock(&w->mu);
    pthread_mutex_unlock(&h->mu);
    return;
  }
  if (w->cursor < h->compacted) {
    char *msg = xasprintf("watch %s: expired: needs revision %lld, history is compacted up to %lld",
                          w->key, (long long)w->cursor + 1, (long long)h->compacted);
    w_cancel(w, STORE_EEXPIRED, msg);
    free(msg);
  } else if (w->cursor >= h->ring_from) {
    catch_up_from_ring(h, w);
  } else {
    /* Older than the ring: read a page of history from the database. */
    int64_t after = w->cursor;
    size_t max = h->qcap - w->n < HISTORY_PAGE ? h->qcap - w->n : HISTORY_PAGE;
    pthread_mutex_unlock(&w->mu);
    h->inflight++;
    pthread_mutex_unlock(&h->mu);

    sevent_t **evs = NULL;
    size_t n = 0;
    int64_t scanned = after;
    berr_t e = BERR_INIT;
    int rc = h->history(h->s, w->key, w->prefix, after, max, &evs, &n, &scanned, &e);

    pthread_mutex_lock(&h->mu);
    if (--h->inflight == 0)
      pthread_cond_broadcast(&h->idle);
    pthread_mutex_lock(&w->mu);
    if (w->state != W_CATCHUP || rc < 0) {
      for (size_t i = 0; i < n; i++)
        sevent_unref(evs[i]);
      if (rc < 0)
        w_cancel(w, e.code ? e.code : EIO, e.msg ? e.msg : "watch: history read failed");
    } else {
      for (size_t i = 0; i < n; i++)
        w_push(w, evs[i]);
      if (scanned > w->cursor)
        w->cursor = scanned;
    }
    free(evs);
    berr_clear(&e);
  }
  pthread_mutex_unlock(&w->mu);
  pthread_mutex_unlock(&h->mu);
}

int store_watch_next(store_watch_t *w, const store_event_t **ev, berr_t *err)
{
  *ev = NULL;
  pthread_mutex_lock(&w->mu);
  for (int steps = 0;; steps++) {
    if (w->n > 0) {
      *ev = &w->q[w->head]->ev;
      w->head = (w->head + 1) % w->hub->qcap;
      if (--w->n == 0 && w->state == W_LIVE)
        w_drain(w);
      pthread_mutex_unlock(&w->mu);
      return 1;
    }
    if (w->state == W_DONE) {
      int code = w->code;
      berr_setc(err, code, "%s", w->msg);
      pthread_mutex_unlock(&w->mu);
      return -1;
    }
    if (w->state == W_LIVE) {
      w_drain(w);
      pthread_mutex_unlock(&w->mu);
      return 0;
    }
    if (steps == CATCHUP_STEPS) { /* history without a match yet: the fd stays readable */
      pthread_mutex_unlock(&w->mu);
      return 0;
    }
    pthread_mutex_unlock(&w->mu);
    catch_up(w);
    pthread_mutex_lock(&w->mu);
  }
}

int store_watch_wait(store_watch_t *w, int timeout_ms)
{
  struct pollfd p = { .fd = w->efd, .events = POLLIN };
  int rc;
  do
    rc = poll(&p, 1, timeout_ms);
  while (rc < 0 && errno == EINTR);
  return rc > 0;
}

int64_t store_watch_rev(store_watch_t *w)
{
  pthread_mutex_lock(&w->mu);
  int64_t rev = w->n > 0 ? w->q[w->head]->ev.mod_rev - 1 : w->cursor;
  pthread_mutex_unlock(&w->mu);
  return rev;
}

void store_watch_close(store_watch_t *w)
{
  if (!w)
    return;
  store_hub_t *h = w->hub;
  pthread_mutex_lock(&h->mu);
  if (w->prev)
    w->prev->next = w->next;
  else
    h->watchers = w->next;
  if (w->next)
    w->next->prev = w->prev;
  h->nwatchers--;
  pthread_mutex_unlock(&h->mu);

  pthread_mutex_lock(&w->mu);
  w_clear_queue(w);
  pthread_mutex_unlock(&w->mu);
  pthread_mutex_destroy(&w->mu);
  close(w->efd);
  free(w->q);
  free(w->key);
  free(w->msg);
  free(w);
  hub_release(h);
}
