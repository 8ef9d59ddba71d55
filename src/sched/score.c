/* score.c — ranking the feasible nodes, with kube-scheduler's default
 * plugins and weights: NodeResourcesFit (LeastAllocated for the spread
 * strategy, MostAllocated for binpack; cpu and memory, weight 1),
 * NodeResourcesBalancedAllocation (1), TaintToleration (PreferNoSchedule
 * taints, 3), NodeAffinity (preferred terms, 2), InterPodAffinity
 * (preferred terms, both ways, 2) and PodTopologySpread (ScheduleAnyway,
 * 2). ImageLocality is not scored (nodes do not report their images).
 * Each plugin gives 0..100 per node; the highest weighted sum wins, ties
 * broken at random (reservoir sampling) so that equal nodes share the
 * load. */
#include "sched/internal.h"

#include <stdlib.h>

#define W_FIT      1
#define W_BALANCED 1
#define W_TAINT    3
#define W_AFFINITY 2
#define W_INTERPOD 2
#define W_SPREAD   2

static int64_t least_allocated(int64_t req, int64_t cap)
{
  if (cap <= 0 || req > cap)
    return 0;
  return (cap - req) * SCHED_MAX_SCORE / cap;
}

static int64_t most_allocated(int64_t req, int64_t cap)
{
  if (cap <= 0)
    return 0;
  if (req > cap)
    req = cap;
  return req * SCHED_MAX_SCORE / cap;
}

/* NodeResourcesFit's score: the requests with kube's defaults for
 * containers that ask nothing, weighted over cpu and memory. */
static int64_t score_fit(const sched_t *s, const spod_t *p, const snode_t *n)
{
  int64_t (*f)(int64_t, int64_t)
      = s->cfg.strategy == SCHED_BINPACK ? most_allocated : least_allocated;
  int64_t sum = 0, w = 0;
  if (n->alloc[R_CPU] > 0) {
    sum += f(n->nz_cpu + p->nz_cpu, n->alloc[R_CPU]);
    w++;
  }
  if (n->alloc[R_MEM] > 0) {
    sum += f(n->nz_mem + p->nz_mem, n->alloc[R_MEM]);
    w++;
  }
  return w ? sum / w : 0;
}

/* NodeResourcesBalancedAllocation: 100 when cpu and memory would be used
 * in the same proportion, less the further apart they are. */
static int64_t score_balanced(const spod_t *p, const snode_t *n)
{
  double f[2];
  int k = 0;
  const int res[2] = { R_CPU, R_MEM };
  for (int i = 0; i < 2; i++) {
    if (n->alloc[res[i]] <= 0)
      continue;
    double x = (double)(n->req[res[i]] + p->req[res[i]]) / (double)n->alloc[res[i]];
    f[k++] = x > 1 ? 1 : x;
  }
  if (k < 2)
    return SCHED_MAX_SCORE;
  double sd = (f[0] - f[1]) / 2;
  if (sd < 0)
    sd = -sd;
  return (int64_t)((1 - sd) * SCHED_MAX_SCORE);
}

/* kube's DefaultNormalizeScore. */
static void normalize(int64_t *v, size_t n, bool reverse)
{
  int64_t max = 0;
  for (size_t i = 0; i < n; i++)
    max = v[i] > max ? v[i] : max;
  for (size_t i = 0; i < n; i++) {
    int64_t x = max ? v[i] * SCHED_MAX_SCORE / max : 0;
    v[i] = reverse ? SCHED_MAX_SCORE - x : x;
  }
}

static uint64_t rng_next(sched_t *s)
{
  uint64_t x = s->rng; /* xorshift64 */
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return s->rng = x;
}

size_t score_pick(sched_t *s, cycle_t *cy, spod_t *p, snode_t **nodes, size_t n)
{
  int64_t *total = s->scores, *raw = s->raw;
  bool best_effort = !p->req[R_CPU] && !p->req[R_MEM];
  for (size_t i = 0; i < n; i++) {
    total[i] = W_FIT * score_fit(s, p, nodes[i]);
    if (!best_effort) /* kube skips BalancedAllocation for pods that request nothing */
      total[i] += W_BALANCED * score_balanced(p, nodes[i]);
  }
  /* TaintToleration: untolerated PreferNoSchedule taints, fewer is better. */
  for (size_t i = 0; i < n; i++) {
    raw[i] = 0;
    for (uint32_t j = 0; j < nodes[i]->n_taints; j++)
      if (nodes[i]->taints[j].effect == EFF_PREFER_NO_SCHEDULE
          && !tolerates(p->c, &nodes[i]->taints[j]))
        raw[i]++;
  }
  normalize(raw, n, true);
  for (size_t i = 0; i < n; i++)
    total[i] += W_TAINT * raw[i];
  /* NodeAffinity: the weights of the preferred terms a node matches. */
  if (p->c && p->c->n_pref) {
    for (size_t i = 0; i < n; i++) {
      raw[i] = 0;
      for (uint32_t j = 0; j < p->c->n_pref; j++)
        if (nterm_matches(s, &p->c->pref[j], nodes[i]))
          raw[i] += p->c->pref[j].weight;
    }
    normalize(raw, n, false);
    for (size_t i = 0; i < n; i++)
      total[i] += W_AFFINITY * raw[i];
  }
  if (score_inter_pod(s, cy, p, nodes, n, raw))
    for (size_t i = 0; i < n; i++)
      total[i] += W_INTERPOD * raw[i];
  if (score_spread(s, cy, p, nodes, n, raw))
    for (size_t i = 0; i < n; i++)
      total[i] += W_SPREAD * raw[i];
  size_t best = 0, ties = 0;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || total[i] > total[best]) {
      best = i;
      ties = 1;
    } else if (total[i] == total[best] && rng_next(s) % ++ties == 0) {
      best = i;
    }
  }
  return best;
}
