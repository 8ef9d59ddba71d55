/* filter.c — whether a pod can go on a node, plugin by plugin in
 * kube-scheduler's order (NodeUnschedulable, TaintToleration, NodeAffinity,
 * NodePorts, NodeResourcesFit, PodTopologySpread, InterPodAffinity): the
 * first plugin that rejects the node gives its reasons, as bits, and the
 * "0/N nodes are available: …" message counts them over every node in
 * kube-scheduler's words, sorted as it sorts them.
 *
 * This runs for thousands of nodes per decision: it reads only the node's
 * counters and the pod's parsed constraints, and pods without constraints
 * (most) skip every check but the resources. */
#include "sched/internal.h"

#include <stdlib.h>
#include <string.h>

bool tolerates(const cons_t *c, const taint_t *t)
{
  if (!c)
    return false;
  for (uint32_t i = 0; i < c->n_tols; i++) {
    const toleration_t *o = &c->tols[i];
    if (o->effect != EFF_NONE && o->effect != t->effect)
      continue;
    if (o->key && o->key != t->key)
      continue;
    if (o->op == TOL_EXISTS || o->value == t->value)
      return true;
  }
  return false;
}

static bool in_vals(const sel_req_t *r, sid_t v)
{
  for (uint32_t i = 0; i < r->n; i++)
    if (r->vals[i] == v)
      return true;
  return false;
}

bool sel_matches(const sched_t *s, const sel_t *sel, const labels_t *l)
{
  if (sel->nothing)
    return false;
  for (uint32_t i = 0; i < sel->n; i++) {
    const sel_req_t *r = &sel->r[i];
    sid_t v = labels_get(l, r->key);
    int64_t num;
    switch (r->op) {
    case SEL_IN:
      if (!v || !in_vals(r, v))
        return false;
      break;
    case SEL_NOT_IN:
      if (v && in_vals(r, v))
        return false;
      break;
    case SEL_EXISTS:
      if (!v)
        return false;
      break;
    case SEL_DOES_NOT_EXIST:
      if (v)
        return false;
      break;
    default:
      if (!v || parse_int64(intern_str(&s->it, v), &num, NULL) < 0)
        return false;
      if (r->op == SEL_GT ? !(num > r->num) : !(num < r->num))
        return false;
      break;
    }
  }
  return true;
}

bool nterm_matches(const sched_t *s, const nterm_t *t, const snode_t *n)
{
  if (!t->expr.n && !t->fields.n)
    return false; /* an empty term matches no node */
  if (t->expr.n && !sel_matches(s, &t->expr, &n->labels))
    return false;
  if (t->fields.n) {
    kv_t f = { s->k_meta_name, n->name_id };
    labels_t fl = { &f, 1 };
    if (!sel_matches(s, &t->fields, &fl))
      return false;
  }
  return true;
}

bool node_affinity_matches(const sched_t *s, const cons_t *c, const snode_t *n)
{
  if (!c)
    return true;
  for (uint32_t i = 0; i < c->node_sel.n; i++)
    if (labels_get(&n->labels, c->node_sel.v[i].k) != c->node_sel.v[i].v)
      return false;
  if (!c->has_req)
    return true;
  for (uint32_t i = 0; i < c->n_req; i++)
    if (nterm_matches(s, &c->req[i], n))
      return true;
  return false;
}

/* The first NoSchedule/NoExecute taint p does not tolerate, or NULL. */
static const taint_t *untolerated(const spod_t *p, const snode_t *n)
{
  for (uint32_t i = 0; i < n->n_taints; i++) {
    const taint_t *t = &n->taints[i];
    if ((t->effect == EFF_NO_SCHEDULE || t->effect == EFF_NO_EXECUTE) && !tolerates(p->c, t))
      return t;
  }
  if (n->has_ready_taint && !tolerates(p->c, &n->ready_taint))
    return &n->ready_taint;
  return NULL;
}

static bool port_conflict(const hostport_t *a, const hostport_t *b)
{
  return a->port == b->port && a->proto == b->proto && (!a->ip || !b->ip || a->ip == b->ip);
}

/* What pods nominated to n (waiting for their victims to leave) hold
 * there for p: those at p's priority or above keep their room. */
static bool nominated_extra(const spod_t *p, const snode_t *n, int64_t extra[R_N])
{
  bool any = false;
  for (size_t i = 0; i < n->nominated.n; i++) {
    const spod_t *q = n->nominated.v[i];
    if (q == p || q->priority < p->priority)
      continue;
    for (int r = 0; r < R_N; r++)
      extra[r] += q->req[r];
    any = true;
  }
  return any;
}

static bool ports_free(const spod_t *p, const snode_t *n)
{
  for (uint32_t i = 0; i < p->n_ports; i++) {
    for (uint32_t j = 0; j < n->n_ports; j++)
      if (port_conflict(&p->ports[i], &n->ports[j].p))
        return false;
    for (size_t k = 0; k < n->nominated.n; k++) {
      const spod_t *q = n->nominated.v[k];
      if (q == p || q->priority < p->priority)
        continue;
      for (uint32_t j = 0; j < q->n_ports; j++)
        if (port_conflict(&p->ports[i], &q->ports[j]))
          return false;
    }
  }
  return true;
}

static int64_t scalar_of(const scalar_t *v, uint32_t n, sid_t name)
{
  for (uint32_t i = 0; i < n; i++)
    if (v[i].name == name)
      return v[i].value;
  return 0;
}

/* The first extended resource n lacks for p (0: none). */
static sid_t scalar_short(const spod_t *p, const snode_t *n, uint32_t from)
{
  for (uint32_t i = from; i < p->n_scalars; i++) {
    const scalar_t *sc = &p->scalars[i];
    int64_t have = scalar_of(n->alloc_scalars, n->n_alloc_scalars, sc->name)
                   - scalar_of(n->req_scalars, n->n_req_scalars, sc->name);
    if (sc->value > have)
      return sc->name;
  }
  return 0;
}

static uint32_t fit_resources(const spod_t *p, const snode_t *n)
{
  int64_t extra[R_N] = { 0 };
  if (n->nominated.n)
    nominated_extra(p, n, extra);
  uint32_t f = 0;
  if (n->req[R_PODS] + extra[R_PODS] + 1 > n->alloc[R_PODS])
    f |= FR_TOO_MANY_PODS;
  if (p->req[R_CPU] > 0 && p->req[R_CPU] > n->alloc[R_CPU] - n->req[R_CPU] - extra[R_CPU])
    f |= FR_CPU;
  if (p->req[R_MEM] > 0 && p->req[R_MEM] > n->alloc[R_MEM] - n->req[R_MEM] - extra[R_MEM])
    f |= FR_MEM;
  if (p->req[R_EPH] > 0 && p->req[R_EPH] > n->alloc[R_EPH] - n->req[R_EPH] - extra[R_EPH])
    f |= FR_EPH;
  if (p->n_scalars && scalar_short(p, n, 0))
    f |= FR_SCALAR;
  return f;
}

uint32_t node_filter(sched_t *s, cycle_t *cy, spod_t *p, snode_t *n, const taint_t **taint)
{
  if (n->unschedulable) {
    taint_t t = { s->k_unschedulable, 0, EFF_NO_SCHEDULE };
    if (!tolerates(p->c, &t))
      return FR_UNSCHEDULABLE;
  }
  if (n->n_taints || n->has_ready_taint) {
    const taint_t *t = untolerated(p, n);
    if (t) {
      if (taint)
        *taint = t;
      return FR_TAINT;
    }
  }
  if (p->c && !node_affinity_matches(s, p->c, n))
    return FR_AFFINITY;
  if (p->n_ports && !ports_free(p, n))
    return FR_PORTS;
  uint32_t f = fit_resources(p, n);
  if (f)
    return f;
  if (cy->spread && (f = filter_spread(s, cy, p, n)))
    return f;
  if (cy->affinity && (f = filter_inter_pod(s, cy, p, n)))
    return f;
  return 0;
}

/* ---- the message ------------------------------------------------------------------ */

typedef struct hist {
  char **reason;
  size_t *count;
  size_t n;
} hist_t;

static void hist_add(hist_t *h, char *reason)
{
  for (size_t i = 0; i < h->n; i++)
    if (!strcmp(h->reason[i], reason)) {
      h->count[i]++;
      free(reason);
      return;
    }
  h->reason = xrealloc(h->reason, (h->n + 1) * sizeof *h->reason);
  h->count = xrealloc(h->count, (h->n + 1) * sizeof *h->count);
  h->reason[h->n] = reason;
  h->count[h->n++] = 1;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static const struct {
  uint32_t bit;
  const char *text;
} reasons[] = {
  { FR_UNSCHEDULABLE, "node(s) were unschedulable" },
  { FR_NODE_NAME, "node(s) didn't match the requested node name" },
  { FR_AFFINITY, "node(s) didn't match Pod's node affinity/selector" },
  { FR_PORTS, "node(s) didn't have free ports for the requested pod ports" },
  { FR_TOO_MANY_PODS, "Too many pods" },
  { FR_CPU, "Insufficient cpu" },
  { FR_MEM, "Insufficient memory" },
  { FR_EPH, "Insufficient ephemeral-storage" },
  { FR_SPREAD, "node(s) didn't match pod topology spread constraints" },
  { FR_SPREAD_LABEL,
    "node(s) didn't match pod topology spread constraints (missing required label)" },
  { FR_EXISTING_ANTI, "node(s) didn't satisfy existing pods anti-affinity rules" },
  { FR_POD_AFFINITY, "node(s) didn't match pod affinity rules" },
  { FR_POD_ANTI, "node(s) didn't match pod anti-affinity rules" },
};

char *fit_message(sched_t *s, spod_t *p, cycle_t *cy)
{
  hist_t h = { 0 };
  for (size_t i = 0; i < s->nodes.n; i++) {
    snode_t *n = s->nodes.v[i];
    uint32_t f = s->fail[n->idx];
    for (size_t r = 0; r < ARRAY_SIZE(reasons); r++)
      if (f & reasons[r].bit)
        hist_add(&h, xstrdup(reasons[r].text));
    if (f & FR_TAINT) {
      const taint_t *t = NULL;
      node_filter(s, cy, p, n, &t);
      if (t)
        hist_add(&h, xasprintf("node(s) had untolerated taint {%s: %s}", intern_str(&s->it, t->key),
                               intern_str(&s->it, t->value)));
    }
    if (f & FR_SCALAR) {
      for (uint32_t j = 0; j < p->n_scalars; j++) {
        sid_t short_of = scalar_short(p, n, j);
        if (!short_of)
          break;
        hist_add(&h, xasprintf("Insufficient %s", intern_str(&s->it, short_of)));
        while (j < p->n_scalars && p->scalars[j].name != short_of)
          j++;
      }
    }
  }
  char **lines = xcalloc(h.n + 1, sizeof *lines);
  for (size_t i = 0; i < h.n; i++) {
    lines[i] = xasprintf("%zu %s", h.count[i], h.reason[i]);
    free(h.reason[i]);
  }
  qsort(lines, h.n, sizeof *lines, cmp_str);
  buf_t b = { 0 };
  buf_printf(&b, "0/%zu nodes are available", s->nodes.n);
  for (size_t i = 0; i < h.n; i++) {
    buf_printf(&b, "%s%s", i ? ", " : ": ", lines[i]);
    free(lines[i]);
  }
  buf_puts(&b, ".");
  free(lines);
  free(h.reason);
  free(h.count);
  return buf_steal(&b);
}
