/* compactor.c — the automatic compaction policy: a thread that, every
 * interval, drops history that is both older than retain_ns and outside the
 * last retain_revs revisions.
 *
 * Revisions carry no timestamps, so age is known the way Kubernetes' own
 * compactor knows it: at each tick the thread samples (now, current
 * revision); everything up to a revision sampled at least retain_ns ago was
 * written at least that long ago. After a restart the samples start again,
 * which only keeps history longer. Backend-independent: it calls
 * ops->status and ops->compact. */
#include "store/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct compactor {
  store_t *s;
  int64_t interval_ns, retain_ns, retain_revs;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cond; /* CLOCK_MONOTONIC */
  bool stop;
  struct sample {
    int64_t t, rev;
  } * samples;
  size_t n, cap;
};

/* The revision to compact to now, or 0 for none. */
static int64_t policy_target(compactor_t *c, int64_t now, int64_t rev)
{
  if (c->n == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 16;
    c->samples = xrealloc(c->samples, c->cap * sizeof(*c->samples));
  }
  c->samples[c->n++] = (struct sample){ now, rev };
  /* The newest sample old enough; older ones are no longer needed. */
  size_t i = c->n;
  while (i > 0 && c->samples[i - 1].t > now - c->retain_ns)
    i--;
  if (i == 0)
    return 0;
  int64_t target = c->samples[i - 1].rev;
  memmove(c->samples, c->samples + i - 1, (c->n - i + 1) * sizeof(*c->samples));
  c->n -= i - 1;
  if (c->retain_revs > 0 && target > rev - c->retain_revs)
    target = rev - c->retain_revs;
  return target > 0 ? target : 0;
}

static void *compactor_main(void *arg)
{
  compactor_t *c = arg;
  pthread_mutex_lock(&c->mu);
  while (!c->stop) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t deadline = ts.tv_sec * 1000000000LL + ts.tv_nsec + c->interval_ns;
    ts = (struct timespec){ deadline / 1000000000, deadline % 1000000000 };
    while (!c->stop && pthread_cond_timedwait(&c->cond, &c->mu, &ts) == 0)
      ;
    if (c->stop)
      break;
    pthread_mutex_unlock(&c->mu);

    store_status_t st;
    berr_t err = BERR_INIT;
    if (c->s->ops->status(c->s, &st, &err) == 0) {
      int64_t rev = st.rev, compacted = st.compacted;
      int64_t target = policy_target(c, time_mono_ns(), rev);
      if (target > compacted) {
        if (c->s->ops->compact(c->s, target, &err) == 0)
          log_debug("msg=\"store compacted\" rev=%lld current=%lld", (long long)target,
                    (long long)rev);
      }
    }
    if (err.msg)
      log_warn("msg=\"store compaction failed\" error=\"%s\"", err.msg);
    berr_clear(&err);
    pthread_mutex_lock(&c->mu);
  }
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

int compactor_start(store_t *s, int64_t interval_ns, int64_t retain_ns, int64_t retain_revs,
                    compactor_t **out, berr_t *err)
{
  *out = NULL;
  if (interval_ns < 0)
    return 0;
  compactor_t *c = xcalloc(1, sizeof(*c));
  c->s = s;
  c->interval_ns = interval_ns;
  c->retain_ns = retain_ns;
  c->retain_revs = retain_revs;
  pthread_mutex_init(&c->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&c->cond, &ca);
  pthread_condattr_destroy(&ca);
  int rc = pthread_create(&c->thread, NULL, compactor_main, c);
  if (rc != 0) {
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    free(c);
    return berr_set(err, rc, "start the store's compaction thread");
  }
  *out = c;
  return 0;
}

void compactor_stop(compactor_t *c)
{
  if (!c)
    return;
  pthread_mutex_lock(&c->mu);
  c->stop = true;
  pthread_cond_signal(&c->cond);
  pthread_mutex_unlock(&c->mu);
  pthread_join(c->thread, NULL);
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cond);
  free(c->samples);
  free(c);
}
