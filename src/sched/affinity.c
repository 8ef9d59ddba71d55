/* affinity.c — the plugins that look at other pods: InterPodAffinity and
 * PodTopologySpread, filter and score, with kube-scheduler's semantics.
 *
 * Before a decision (cycle_prepare, kube's PreFilter) the pod's view of the
 * cluster is counted once, by topology pair (label key, value):
 *  - existing_anti: pods already placed whose required anti-affinity terms
 *    match the incoming pod, at their node's value of each term's key;
 *  - aff / anti: placed pods matching the incoming pod's required affinity
 *    (all terms) / anti-affinity (each term);
 *  - spread_counts: per hard spread constraint, the matching pods in each
 *    domain of the nodes the constraint counts (those with every key, that
 *    pass the pod's node affinity unless nodeAffinityPolicy is Ignore, and
 *    whose taints it tolerates when nodeTaintsPolicy is Honor).
 * Then filtering a node is a few map lookups. Only pods with such terms pay
 * for the counting, and only over the namespaces their terms select; the
 * existing pods' anti-affinity costs one pass over the (usually few) pods
 * that have terms. Preemption's simulation adjusts the counts as victims
 * leave and come back (cycle_update), as kube's AddPod/RemovePod do. */
#include "sched/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cycle_init(cycle_t *cy)
{
  memset(cy, 0, sizeof *cy);
}

void cycle_free(cycle_t *cy)
{
  umap_free(&cy->existing_anti);
  umap_free(&cy->aff);
  umap_free(&cy->anti);
  umap_free(&cy->spread_counts);
  umap_free(&cy->score_map);
  free(cy->spread_min);
  free(cy->spread_domains);
  free(cy->eligible);
  memset(cy, 0, sizeof *cy);
}

/* Whether term t looks at namespace ns. */
static bool term_ns(const sched_t *s, const pterm_t *t, sid_t ns)
{
  if (t->any_ns)
    return true;
  for (uint32_t i = 0; i < t->n_nss; i++)
    if (t->nss[i] == ns)
      return true;
  if (!t->has_ns_sel)
    return false;
  /* Namespaces' labels are not cached: every namespace has
   * kubernetes.io/metadata.name, which is what such selectors use. */
  kv_t f = { s->k_ns_name, ns };
  labels_t l = { &f, 1 };
  return sel_matches(s, &t->ns_sel, &l);
}

bool pterm_matches(const sched_t *s, const pterm_t *t, const spod_t *q)
{
  return term_ns(s, t, q->ns_id) && sel_matches(s, &t->sel, &q->labels);
}

/* ---- inter-pod affinity ------------------------------------------------------------ */

static void count_at(umap_t *m, const snode_t *n, sid_t topo, int64_t by)
{
  sid_t v = labels_get(&n->labels, topo);
  if (v)
    *umap_slot(m, PAIR(topo, v)) += by;
}

static void existing_anti_update(sched_t *s, cycle_t *cy, spod_t *q, snode_t *n, int sign)
{
  for (uint32_t i = 0; i < q->c->n_anti; i++)
    if (pterm_matches(s, &q->c->anti[i], cy->pod))
      count_at(&cy->existing_anti, n, q->c->anti[i].topo, sign);
}

static void own_terms_update(sched_t *s, cycle_t *cy, spod_t *q, snode_t *n, int sign)
{
  const cons_t *c = cy->pod->c;
  if (c->n_aff) {
    bool all = true;
    for (uint32_t i = 0; i < c->n_aff && all; i++)
      all = pterm_matches(s, &c->aff[i], q);
    if (all)
      for (uint32_t i = 0; i < c->n_aff; i++)
        if (labels_get(&n->labels, c->aff[i].topo)) {
          count_at(&cy->aff, n, c->aff[i].topo, sign);
          cy->aff_total += (size_t)(ssize_t)sign;
        }
  }
  for (uint32_t i = 0; i < c->n_anti; i++)
    if (pterm_matches(s, &c->anti[i], q))
      count_at(&cy->anti, n, c->anti[i].topo, sign);
}

/* PreFilter's counts for the pod's own terms, over the pods their
 * selectors can match: pods matching all affinity terms (found through the
 * first), and pods matching each anti-affinity term. */
static void own_terms_count(sched_t *s, cycle_t *cy, spod_t *p)
{
  const cons_t *c = p->c;
  pod_iter_t it;
  spod_t *q;
  for (size_t k = 0; c->n_aff && k < s->n_nss; k++) {
    if (!term_ns(s, &c->aff[0], s->nss[k].id))
      continue;
    for (pod_iter_init(&it, &s->nss[k], &c->aff[0].sel); (q = pod_iter_next(&it));) {
      bool all = q != p;
      for (uint32_t i = 0; i < c->n_aff && all; i++)
        all = pterm_matches(s, &c->aff[i], q);
      for (uint32_t i = 0; all && i < c->n_aff; i++)
        if (labels_get(&q->node->labels, c->aff[i].topo)) {
          count_at(&cy->aff, q->node, c->aff[i].topo, 1);
          cy->aff_total++;
        }
    }
  }
  for (uint32_t i = 0; i < c->n_anti; i++) {
    const pterm_t *t = &c->anti[i];
    for (size_t k = 0; k < s->n_nss; k++) {
      if (!term_ns(s, t, s->nss[k].id))
        continue;
      for (pod_iter_init(&it, &s->nss[k], &t->sel); (q = pod_iter_next(&it));)
        if (q != p && sel_matches(s, &t->sel, &q->labels))
          count_at(&cy->anti, q->node, t->topo, 1);
    }
  }
}

uint32_t filter_inter_pod(sched_t *s, cycle_t *cy, spod_t *p, snode_t *n)
{
  (void)s;
  const cons_t *c = p->c;
  if (c && c->n_aff) {
    bool exist = true;
    for (uint32_t i = 0; i < c->n_aff; i++) {
      sid_t v = labels_get(&n->labels, c->aff[i].topo);
      if (!v)
        return FR_POD_AFFINITY; /* every topology key must be on the node */
      if (umap_get(&cy->aff, PAIR(c->aff[i].topo, v)) <= 0)
        exist = false;
    }
    if (!exist) {
      /* The first of a group of pods with affinity to each other: allowed
       * when no pod matches yet and it matches its own terms. */
      bool self = cy->aff_total == 0;
      for (uint32_t i = 0; i < c->n_aff && self; i++)
        self = pterm_matches(s, &c->aff[i], p);
      if (!self)
        return FR_POD_AFFINITY;
    }
  }
  if (c)
    for (uint32_t i = 0; i < c->n_anti; i++) {
      sid_t v = labels_get(&n->labels, c->anti[i].topo);
      if (v && umap_get(&cy->anti, PAIR(c->anti[i].topo, v)) > 0)
        return FR_POD_ANTI;
    }
  if (cy->existing_anti.n)
    for (uint32_t i = 0; i < n->labels.n; i++)
      if (umap_get(&cy->existing_anti, PAIR(n->labels.v[i].k, n->labels.v[i].v)) > 0)
        return FR_EXISTING_ANTI;
  return 0;
}

/* ---- topology spread ---------------------------------------------------------------- */

static bool taints_tolerated(const spod_t *p, const snode_t *n)
{
  for (uint32_t i = 0; i < n->n_taints; i++)
    if ((n->taints[i].effect == EFF_NO_SCHEDULE || n->taints[i].effect == EFF_NO_EXECUTE)
        && !tolerates(p->c, &n->taints[i]))
      return false;
  return true;
}

static void ensure_eligible(cycle_t *cy, size_t n)
{
  if (n > cy->cap_eligible) {
    cy->cap_eligible = n * 2;
    cy->eligible = xrealloc(cy->eligible, cy->cap_eligible * sizeof *cy->eligible);
  }
}

static void spread_mins(cycle_t *cy, const cons_t *c)
{
  for (uint32_t i = 0; i < c->n_spread; i++) {
    cy->spread_min[i] = INT64_MAX;
    cy->spread_domains[i] = 0;
  }
  umap_t *m = &cy->spread_counts;
  for (size_t j = 0; j < m->cap; j++) {
    if (!m->keys[j])
      continue;
    uint32_t i = (uint32_t)(m->keys[j] >> 32) - 1;
    cy->spread_domains[i]++;
    if (m->vals[j] < cy->spread_min[i])
      cy->spread_min[i] = m->vals[j];
  }
  for (uint32_t i = 0; i < c->n_spread; i++)
    if (!cy->spread_domains[i])
      cy->spread_min[i] = 0;
  cy->spread_min_dirty = false;
}

static void spread_prepare(sched_t *s, cycle_t *cy, spod_t *p)
{
  const cons_t *c = p->c;
  cy->spread = true;
  umap_clear(&cy->spread_counts);
  cy->spread_min = xrealloc(cy->spread_min, c->n_spread * sizeof *cy->spread_min);
  cy->spread_domains = xrealloc(cy->spread_domains, c->n_spread * sizeof *cy->spread_domains);
  ensure_eligible(cy, s->nodes.n);
  int aff_ok = -1; /* node affinity, computed once per node when some constraint honours it */
  for (size_t k = 0; k < s->nodes.n; k++) {
    snode_t *n = s->nodes.v[k];
    uint32_t m = 0;
    bool all = true;
    for (uint32_t i = 0; i < c->n_spread && all; i++)
      if (c->spread[i].hard && !labels_get(&n->labels, c->spread[i].topo))
        all = false;
    aff_ok = -1;
    for (uint32_t i = 0; all && i < c->n_spread && i < 32; i++) {
      const spread_t *sp = &c->spread[i];
      if (!sp->hard)
        continue;
      if (!sp->ignore_affinity) {
        if (aff_ok < 0)
          aff_ok = node_affinity_matches(s, c, n);
        if (!aff_ok)
          continue;
      }
      if (sp->honor_taints && !taints_tolerated(p, n))
        continue;
      m |= 1u << i;
      *umap_slot(&cy->spread_counts, PAIR(i + 1, labels_get(&n->labels, sp->topo))) += 0;
    }
    cy->eligible[n->idx] = m;
  }
  sns_t *ns = ns_find(s, p->ns_id);
  for (uint32_t i = 0; i < c->n_spread && i < 32; i++) {
    if (!c->spread[i].hard)
      continue;
    pod_iter_t it;
    spod_t *q;
    for (pod_iter_init(&it, ns, &c->spread[i].sel); (q = pod_iter_next(&it));) {
      if (q == p || q->terminating || !(cy->eligible[q->node->idx] & (1u << i))
          || !sel_matches(s, &c->spread[i].sel, &q->labels))
        continue;
      (*umap_slot(&cy->spread_counts,
                  PAIR(i + 1, labels_get(&q->node->labels, c->spread[i].topo))))++;
    }
  }
  spread_mins(cy, c);
}

static void spread_update(sched_t *s, cycle_t *cy, spod_t *q, snode_t *n, int sign)
{
  const cons_t *c = cy->pod->c;
  uint32_t m = cy->eligible[n->idx];
  if (!m || q->ns_id != cy->pod->ns_id || q->terminating)
    return;
  for (uint32_t i = 0; i < c->n_spread && i < 32; i++)
    if ((m & (1u << i)) && sel_matches(s, &c->spread[i].sel, &q->labels)) {
      *umap_slot(&cy->spread_counts, PAIR(i + 1, labels_get(&n->labels, c->spread[i].topo)))
          += sign;
      cy->spread_min_dirty = true;
    }
}

uint32_t filter_spread(sched_t *s, cycle_t *cy, spod_t *p, snode_t *n)
{
  const cons_t *c = p->c;
  if (cy->spread_min_dirty)
    spread_mins(cy, c);
  for (uint32_t i = 0; i < c->n_spread; i++) {
    const spread_t *sp = &c->spread[i];
    if (!sp->hard)
      continue;
    sid_t v = labels_get(&n->labels, sp->topo);
    if (!v)
      return FR_SPREAD_LABEL;
    int64_t min = (int64_t)cy->spread_domains[i] < sp->min_domains ? 0 : cy->spread_min[i];
    int64_t self = sel_matches(s, &sp->sel, &p->labels) ? 1 : 0;
    if (umap_get(&cy->spread_counts, PAIR(i + 1, v)) + self - min > sp->max_skew)
      return FR_SPREAD;
  }
  return 0;
}

/* ---- the cycle ------------------------------------------------------------------------ */

void cycle_prepare(sched_t *s, cycle_t *cy, spod_t *p)
{
  cy->pod = p;
  cy->affinity = cy->spread = false;
  cy->aff_total = 0;
  umap_clear(&cy->existing_anti);
  umap_clear(&cy->aff);
  umap_clear(&cy->anti);
  for (size_t i = 0; i < s->aff_pods.n; i++) {
    spod_t *q = s->aff_pods.v[i];
    if (q != p && q->c->n_anti)
      existing_anti_update(s, cy, q, q->node, +1);
  }
  cy->affinity = cy->existing_anti.n > 0;
  const cons_t *c = p->c;
  if (c && (c->n_aff || c->n_anti)) {
    cy->affinity = true;
    own_terms_count(s, cy, p);
  }
  if (c && c->n_hard)
    spread_prepare(s, cy, p);
}

void cycle_update(sched_t *s, cycle_t *cy, spod_t *q, snode_t *n, int sign)
{
  const cons_t *c = cy->pod->c;
  if (q->c && q->c->n_anti)
    existing_anti_update(s, cy, q, n, sign);
  if (c && (c->n_aff || c->n_anti))
    own_terms_update(s, cy, q, n, sign);
  cy->affinity = cy->affinity || cy->existing_anti.n > 0;
  if (cy->spread)
    spread_update(s, cy, q, n, sign);
}

/* ---- scores ------------------------------------------------------------------------------ */

/* kube's InterPodAffinity NormalizeScore: min-max onto 0..100. */
static void normalize_minmax(int64_t *v, size_t n)
{
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (size_t i = 0; i < n; i++) {
    lo = v[i] < lo ? v[i] : lo;
    hi = v[i] > hi ? v[i] : hi;
  }
  for (size_t i = 0; i < n; i++)
    v[i] = hi > lo ? (int64_t)((double)SCHED_MAX_SCORE * (double)(v[i] - lo) / (double)(hi - lo))
                   : 0;
}

bool score_inter_pod(sched_t *s, cycle_t *cy, spod_t *p, snode_t **nodes, size_t n, int64_t *out)
{
  const cons_t *c = p->c;
  bool own = c && (c->n_paff || c->n_panti);
  if (!own && !s->aff_pods.n)
    return false;
  umap_t *m = &cy->score_map;
  umap_clear(m);
  for (uint32_t i = 0; own && i < c->n_paff + c->n_panti; i++) {
    const pterm_t *t = i < c->n_paff ? &c->paff[i] : &c->panti[i - c->n_paff];
    int64_t w = i < c->n_paff ? t->weight : -t->weight;
    for (size_t k = 0; k < s->n_nss; k++) {
      if (!term_ns(s, t, s->nss[k].id))
        continue;
      pod_iter_t it;
      spod_t *q;
      for (pod_iter_init(&it, &s->nss[k], &t->sel); (q = pod_iter_next(&it));)
        if (q != p && sel_matches(s, &t->sel, &q->labels))
          count_at(m, q->node, t->topo, w);
    }
  }
  for (size_t k = 0; k < s->aff_pods.n; k++) {
    spod_t *q = s->aff_pods.v[k];
    if (q == p)
      continue;
    const cons_t *qc = q->c;
    for (uint32_t i = 0; i < qc->n_aff; i++) /* hardPodAffinityWeight 1 */
      if (pterm_matches(s, &qc->aff[i], p))
        count_at(m, q->node, qc->aff[i].topo, 1);
    for (uint32_t i = 0; i < qc->n_paff; i++)
      if (pterm_matches(s, &qc->paff[i], p))
        count_at(m, q->node, qc->paff[i].topo, qc->paff[i].weight);
    for (uint32_t i = 0; i < qc->n_panti; i++)
      if (pterm_matches(s, &qc->panti[i], p))
        count_at(m, q->node, qc->panti[i].topo, -qc->panti[i].weight);
  }
  if (!m->n)
    return false;
  for (size_t i = 0; i < n; i++) {
    int64_t sc = 0;
    for (uint32_t j = 0; j < nodes[i]->labels.n; j++)
      sc += umap_get(m, PAIR(nodes[i]->labels.v[j].k, nodes[i]->labels.v[j].v));
    out[i] = sc;
  }
  normalize_minmax(out, n);
  return true;
}

bool score_spread(sched_t *s, cycle_t *cy, spod_t *p, snode_t **nodes, size_t n, int64_t *out)
{
  const cons_t *c = p->c;
  if (!c || c->n_spread == c->n_hard)
    return false; /* only ScheduleAnyway constraints score */
  umap_t *m = &cy->score_map;
  umap_clear(m);
  size_t domains[32] = { 0 };
  /* The domains are those of the feasible nodes that have every key. */
  for (size_t k = 0; k < n; k++) {
    bool all = true;
    for (uint32_t i = 0; i < c->n_spread && all; i++)
      if (!c->spread[i].hard && !labels_get(&nodes[k]->labels, c->spread[i].topo))
        all = false;
    out[k] = all ? 0 : INT64_MIN; /* INT64_MIN: ignored */
    for (uint32_t i = 0; all && i < c->n_spread && i < 32; i++) {
      if (c->spread[i].hard)
        continue;
      uint64_t key = PAIR(i + 1, labels_get(&nodes[k]->labels, c->spread[i].topo));
      if (!umap_has(m, key)) {
        *umap_slot(m, key) = 0;
        domains[i]++;
      }
    }
  }
  /* Matching pods over every node in those domains. */
  sns_t *ns = ns_find(s, p->ns_id);
  for (uint32_t i = 0; i < c->n_spread && i < 32; i++) {
    const spread_t *sp = &c->spread[i];
    if (sp->hard)
      continue;
    pod_iter_t it;
    spod_t *q;
    for (pod_iter_init(&it, ns, &sp->sel); (q = pod_iter_next(&it));) {
      if (q == p || q->terminating)
        continue;
      sid_t v = labels_get(&q->node->labels, sp->topo);
      uint64_t key = PAIR(i + 1, v);
      if (!v || !umap_has(m, key) || !sel_matches(s, &sp->sel, &q->labels))
        continue;
      if (!sp->ignore_affinity && !node_affinity_matches(s, c, q->node))
        continue;
      if (sp->honor_taints && !taints_tolerated(p, q->node))
        continue;
      (*umap_slot(m, key))++;
    }
  }
  int64_t lo = INT64_MAX, hi = 0;
  for (size_t k = 0; k < n; k++) {
    if (out[k] == INT64_MIN)
      continue;
    double sc = 0;
    for (uint32_t i = 0; i < c->n_spread && i < 32; i++) {
      const spread_t *sp = &c->spread[i];
      if (sp->hard)
        continue;
      int64_t cnt = umap_get(m, PAIR(i + 1, labels_get(&nodes[k]->labels, sp->topo)));
      sc += (double)cnt * log((double)domains[i] + 2) + (double)(sp->max_skew - 1);
    }
    out[k] = llround(sc);
    lo = out[k] < lo ? out[k] : lo;
    hi = out[k] > hi ? out[k] : hi;
  }
  for (size_t k = 0; k < n; k++) {
    if (out[k] == INT64_MIN)
      out[k] = 0;
    else if (hi == 0)
      out[k] = SCHED_MAX_SCORE;
    else
      out[k] = SCHED_MAX_SCORE * (hi + lo - out[k]) / hi;
  }
  return true;
}
