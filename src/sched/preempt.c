/* preempt.c — kube-scheduler's DefaultPreemption (PostFilter): when a pod
 * fits nowhere, find a node where deleting lower-priority pods makes room.
 *
 * Only nodes that failed for reasons removing pods can cure (resources,
 * host ports, anti-affinity, spread skew) are candidates. On each, every
 * lower-priority pod is taken off (a simulation: the node's counters and
 * the pod's affinity/spread counts are adjusted, then restored); if the
 * pod then fits, the removed pods are put back one by one, most important
 * first — those whose eviction would break a PodDisruptionBudget before
 * the others — and each that still leaves room stays: the rest are the
 * victims. Among the candidates the best has the fewest PDB violations,
 * then the lowest highest-victim priority, then the smallest sum of
 * priorities, then the fewest victims. Like kube, the search stops after
 * max(100, 10 % of the nodes) candidates with victims.
 *
 * The pod is then nominated to that node: its room there is reserved
 * (filter.c counts it against pods of lower or equal priority) until it is
 * placed or gone. A pod nominated to a node where lower-priority pods are
 * still terminating does not preempt again: it waits for them. */
#include "sched/internal.h"

#include <stdlib.h>
#include <string.h>

#define MIN_CANDIDATES     100
#define CANDIDATES_PERCENT 10

/* How many more disruptions each PDB allows: status.disruptionsAllowed when
 * its controller wrote one, else computed from the cache as the disruption
 * controller would (healthy = placed, Ready, not terminating). */
static int64_t *pdb_allowed(sched_t *s)
{
  int64_t *a = xcalloc(s->pdbs.n + 1, sizeof *a);
  for (size_t i = 0; i < s->pdbs.n; i++) {
    spdb_t *d = s->pdbs.v[i];
    if (d->has_allowed) {
      a[i] = d->allowed;
      continue;
    }
    if (!d->has_min && !d->has_max) {
      a[i] = INT32_MAX;
      continue;
    }
    int64_t expected = 0, healthy = 0;
    pod_iter_t it;
    spod_t *q;
    for (pod_iter_init(&it, ns_find(s, d->ns_id), &d->sel); (q = pod_iter_next(&it));) {
      if (!sel_matches(s, &d->sel, &q->labels))
        continue;
      expected++;
      if (q->ready && !q->terminating)
        healthy++;
    }
    int64_t desired;
    if (d->has_min)
      desired = d->min_pct ? (expected * d->min_available + 99) / 100 : d->min_available;
    else
      desired = expected
                - (d->max_pct ? (expected * d->max_unavailable + 99) / 100 : d->max_unavailable);
    a[i] = healthy - desired > 0 ? healthy - desired : 0;
  }
  return a;
}

/* kube's MoreImportantPod: higher priority, then started earlier. */
static int cmp_importance(const void *x, const void *y)
{
  const spod_t *a = *(spod_t *const *)x, *b = *(spod_t *const *)y;
  if (a->priority != b->priority)
    return a->priority > b->priority ? -1 : 1;
  if (a->created != b->created)
    return a->created < b->created ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void sim(sched_t *s, cycle_t *cy, spod_t *q, snode_t *n, int sign)
{
  node_account(s, n, q, sign);
  cycle_update(s, cy, q, n, sign);
}

typedef struct cand {
  snode_t *node;
  pvec_t victims;
  size_t violations;
  int32_t top_prio;
  int64_t prio_sum;
} cand_t;

/* The fewest victims on n that make room for p; false when none do. */
static bool select_victims(sched_t *s, cycle_t *cy, spod_t *p, snode_t *n, const int64_t *allowed0,
                           cand_t *out)
{
  pvec_t pot = { 0 };
  for (size_t k = 0; k < n->pods.n; k++) {
    spod_t *q = n->pods.v[k];
    if (q->priority < p->priority && !q->terminating)
      pvec_push(&pot, q);
  }
  if (!pot.n)
    return false;
  for (size_t k = 0; k < pot.n; k++)
    sim(s, cy, pot.v[k], n, -1);
  if (node_filter(s, cy, p, n, NULL) != 0) {
    for (size_t k = 0; k < pot.n; k++)
      sim(s, cy, pot.v[k], n, +1);
    pvec_free(&pot);
    return false;
  }
  qsort(pot.v, pot.n, sizeof *pot.v, cmp_importance);
  int64_t *allowed = xmalloc((s->pdbs.n + 1) * sizeof *allowed);
  memcpy(allowed, allowed0, (s->pdbs.n + 1) * sizeof *allowed);
  bool *viol = xcalloc(pot.n, sizeof *viol);
  for (size_t k = 0; k < pot.n; k++) {
    spod_t *q = pot.v[k];
    for (size_t i = 0; q->labels.n && i < s->pdbs.n; i++) {
      spdb_t *d = s->pdbs.v[i];
      if (d->ns_id == q->ns_id && sel_matches(s, &d->sel, &q->labels) && --allowed[i] < 0)
        viol[k] = true;
    }
  }
  *out = (cand_t){ .node = n, .top_prio = INT32_MIN };
  for (int pass = 0; pass < 2; pass++)
    for (size_t k = 0; k < pot.n; k++) {
      if (viol[k] != (pass == 0))
        continue;
      spod_t *q = pot.v[k];
      sim(s, cy, q, n, +1);
      if (node_filter(s, cy, p, n, NULL) == 0)
        continue; /* reprieved */
      sim(s, cy, q, n, -1);
      pvec_push(&out->victims, q);
      out->violations += viol[k];
      out->top_prio = q->priority > out->top_prio ? q->priority : out->top_prio;
      out->prio_sum += (int64_t)q->priority + ((int64_t)INT32_MAX + 1);
    }
  for (size_t k = 0; k < out->victims.n; k++)
    sim(s, cy, out->victims.v[k], n, +1);
  free(viol);
  free(allowed);
  pvec_free(&pot);
  return true;
}

static bool better(const cand_t *a, const cand_t *b)
{
  if (a->violations != b->violations)
    return a->violations < b->violations;
  if (a->top_prio != b->top_prio)
    return a->top_prio < b->top_prio;
  if (a->prio_sum != b->prio_sum)
    return a->prio_sum < b->prio_sum;
  return a->victims.n < b->victims.n;
}

void preempt(sched_t *s, cycle_t *cy, spod_t *p, sched_result_t *r, char **msg)
{
  size_t total = s->nodes.n;
  if (p->preempt_never) {
    *msg = xstrdup("preemption: not eligible due to preemptionPolicy=Never.");
    return;
  }
  if (p->nominated) {
    for (size_t k = 0; k < p->nominated->pods.n; k++) {
      spod_t *q = p->nominated->pods.v[k];
      if (q->terminating && q->priority < p->priority) {
        *msg = xstrdup("preemption: not eligible due to a terminating pod on the nominated node.");
        return;
      }
    }
  }
  size_t helpless = 0;
  for (size_t i = 0; i < total; i++) {
    uint32_t f = s->fail[((snode_t *)s->nodes.v[i])->idx];
    if (!f || (f & FR_UNRESOLVABLE))
      helpless++;
  }
  size_t limit = total * CANDIDATES_PERCENT / 100;
  if (limit < MIN_CANDIDATES)
    limit = MIN_CANDIDATES;
  cand_t best = { 0 }, c;
  size_t found = 0, tried = 0;
  int64_t *allowed = helpless < total ? pdb_allowed(s) : NULL;
  for (size_t i = 0; helpless < total && i < total && found < limit; i++) {
    snode_t *n = s->nodes.v[(s->next_start + i) % total];
    uint32_t f = s->fail[n->idx];
    if (!f || (f & FR_UNRESOLVABLE))
      continue;
    tried++;
    if (!select_victims(s, cy, p, n, allowed, &c))
      continue;
    if (!found++ || better(&c, &best)) {
      pvec_free(&best.victims);
      best = c;
    } else {
      pvec_free(&c.victims);
    }
  }
  free(allowed);
  if (!found) {
    unnominate(p);
    char *parts[2] = { 0 };
    size_t np = 0;
    if (tried)
      parts[np++] = xasprintf("%zu No preemption victims found for incoming pod", tried);
    if (total - tried)
      parts[np++] = xasprintf("%zu Preemption is not helpful for scheduling", total - tried);
    if (np == 2 && strcmp(parts[0], parts[1]) > 0) {
      char *t = parts[0];
      parts[0] = parts[1];
      parts[1] = t;
    }
    *msg = xasprintf("preemption: 0/%zu nodes are available: %s%s%s.", total, parts[0],
                     np == 2 ? ", " : "", np == 2 ? parts[1] : "");
    free(parts[0]);
    free(parts[1]);
    return;
  }
  /* Pods of lower priority nominated there lose their claim. */
  for (size_t k = best.node->nominated.n; k-- > 0;) {
    spod_t *q = best.node->nominated.v[k];
    if (q != p && q->priority < p->priority)
      unnominate(q);
  }
  nominate(s, p, best.node);
  r->nominated_node = xstrdup(best.node->name);
  r->victims = xcalloc(best.victims.n, sizeof *r->victims);
  for (size_t k = 0; k < best.victims.n; k++) {
    spod_t *q = best.victims.v[k];
    r->victims[k] = (sched_victim_t){ xstrdup(q->ns), xstrdup(q->name), xstrdup(q->uid) };
  }
  r->n_victims = best.victims.n;
  pvec_free(&best.victims);
}
