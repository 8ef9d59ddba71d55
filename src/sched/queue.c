/* queue.c — the pending pods: a binary heap of pods due now (highest
 * spec.priority first, then the oldest by creationTimestamp, then by
 * arrival) and a heap of parked pods (unschedulable, by the time they are
 * due again).
 *
 * A parked pod is due again after its back-off (1 s after its first
 * failure, doubling up to 10 s), or sooner when the cluster changed in a
 * way that may make room for it (a node added or changed, a pod deleted or
 * finished): then it is due at once, but never sooner than a second after
 * its last try, so that a storm of changes does not spin on the same pods.
 * Changes are only noted as they come (cache_event); the parked pods are
 * looked at once per sched_next, however many changes came in between. */
#include "sched/internal.h"

#define EVENT_GAP_NS (1000000000LL) /* a change retries a pod no sooner than this after its try */

static bool queue_before(const spod_t *a, const spod_t *b)
{
  if (a->priority != b->priority)
    return a->priority > b->priority;
  if (a->created != b->created)
    return a->created < b->created;
  return a->seq < b->seq;
}

static bool park_before(const spod_t *a, const spod_t *b)
{
  if (a->due != b->due)
    return a->due < b->due;
  return queue_before(a, b);
}

typedef bool (*before_fn)(const spod_t *, const spod_t *);

static void heap_set(pvec_t *h, size_t i, spod_t *p)
{
  h->v[i] = p;
  p->heap_slot = i;
}

static void sift_up(pvec_t *h, size_t i, before_fn before)
{
  spod_t *p = h->v[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(p, h->v[parent]))
      break;
    heap_set(h, i, h->v[parent]);
    i = parent;
  }
  heap_set(h, i, p);
}

static void sift_down(pvec_t *h, size_t i, before_fn before)
{
  spod_t *p = h->v[i];
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, best = i;
    spod_t *bp = p;
    if (l < h->n && before(h->v[l], bp)) {
      best = l;
      bp = h->v[l];
    }
    if (r < h->n && before(h->v[r], bp))
      best = r;
    if (best == i)
      break;
    heap_set(h, i, h->v[best]);
    i = best;
  }
  heap_set(h, i, p);
}

static void heap_push(pvec_t *h, spod_t *p, before_fn before)
{
  pvec_push(h, p);
  sift_up(h, h->n - 1, before);
}

static spod_t *heap_pop(pvec_t *h, before_fn before)
{
  if (!h->n)
    return NULL;
  spod_t *top = h->v[0];
  h->n--;
  if (h->n) {
    heap_set(h, 0, h->v[h->n]);
    sift_down(h, 0, before);
  }
  top->heap_slot = SIZE_MAX;
  return top;
}

static void heap_del(pvec_t *h, size_t i, before_fn before)
{
  spod_t *p = h->v[i];
  h->n--;
  if (i != h->n) {
    spod_t *moved = h->v[h->n];
    heap_set(h, i, moved);
    sift_down(h, i, before);
    sift_up(h, moved->heap_slot, before);
  }
  p->heap_slot = SIZE_MAX;
}

void queue_push(sched_t *s, spod_t *p)
{
  p->state = PS_QUEUED;
  heap_push(&s->queue, p, queue_before);
}

spod_t *queue_pop(sched_t *s)
{
  spod_t *p = heap_pop(&s->queue, queue_before);
  if (p)
    p->state = PS_IDLE;
  return p;
}

void park_push(sched_t *s, spod_t *p)
{
  p->state = PS_PARKED;
  heap_push(&s->parked, p, park_before);
}

void heap_remove(sched_t *s, spod_t *p)
{
  if (p->heap_slot == SIZE_MAX)
    return;
  if (p->state == PS_QUEUED)
    heap_del(&s->queue, p->heap_slot, queue_before);
  else if (p->state == PS_PARKED)
    heap_del(&s->parked, p->heap_slot, park_before);
}

void queue_release_due(sched_t *s, int64_t now)
{
  if (s->last_event > s->last_flush) {
    /* The cluster changed: every pod tried before the change may fit now. */
    bool moved = false;
    for (size_t i = 0; i < s->parked.n; i++) {
      spod_t *p = s->parked.v[i];
      if (p->bad || p->last_try >= s->last_event)
        continue;
      int64_t due = p->last_try + EVENT_GAP_NS;
      if (due < now)
        due = now;
      if (due < p->due) {
        p->due = due;
        moved = true;
      }
    }
    if (moved)
      for (size_t i = s->parked.n / 2 + 1; i-- > 0;)
        if (i < s->parked.n)
          sift_down(&s->parked, i, park_before);
    s->last_flush = s->last_event;
  }
  while (s->parked.n && ((spod_t *)s->parked.v[0])->due <= now) {
    spod_t *p = heap_pop(&s->parked, park_before);
    queue_push(s, p);
  }
}

int64_t sched_next_due(sched_t *s)
{
  if (s->queue.n)
    return sched_now(s);
  int64_t due = s->parked.n ? ((spod_t *)s->parked.v[0])->due : INT64_MAX;
  if (s->last_event > s->last_flush) {
    /* A change not looked at yet: the earliest a parked pod may go. */
    for (size_t i = 0; i < s->parked.n; i++) {
      spod_t *p = s->parked.v[i];
      if (!p->bad && p->last_try < s->last_event && p->last_try + EVENT_GAP_NS < due)
        due = p->last_try + EVENT_GAP_NS;
    }
  }
  return due;
}
