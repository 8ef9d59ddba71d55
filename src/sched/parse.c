/* parse.c — a Node, a Pod or a PodDisruptionBudget, from its JSON into the
 * compact structs decisions read (internal.h), once per event.
 *
 * Requests, ports, labels and taints are read leniently (the server
 * validated them; what cannot be read counts as 0 or is skipped); the
 * scheduling constraints are parse_cons.c's, strict. */
#include "api/api.h"
#include "sched/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- small readers ---------------------------------------------------------- */

static int64_t qty(json_t *v, bool milli)
{
  api_quantity_t q;
  if (!v || api_quantity_from_json(v, &q, NULL) < 0)
    return 0;
  int64_t x = milli ? api_quantity_milli(&q) : api_quantity_value(&q);
  return x < 0 ? 0 : x;
}

static int cmp_kv(const void *a, const void *b)
{
  const kv_t *x = a, *y = b;
  return x->k < y->k ? -1 : x->k > y->k;
}

/* A map of strings (labels, nodeSelector); other values are skipped. */
void labels_parse(sched_t *s, json_t *o, labels_t *out)
{
  *out = (labels_t){ 0 };
  if (!json_is_object(o) || !json_object_size(o))
    return;
  out->v = xcalloc(json_object_size(o), sizeof *out->v);
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v)
  {
    if (json_is_string(v))
      out->v[out->n++] = (kv_t){ intern_get(&s->it, k), intern_get(&s->it, json_string_value(v)) };
  }
  qsort(out->v, out->n, sizeof *out->v, cmp_kv);
}

sid_t labels_get(const labels_t *l, sid_t key)
{
  size_t lo = 0, hi = l->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (l->v[mid].k == key)
      return l->v[mid].v;
    if (l->v[mid].k < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

bool labels_equal(const labels_t *a, const labels_t *b)
{
  return a->n == b->n && (!a->n || !memcmp(a->v, b->v, a->n * sizeof *a->v));
}

/* ---- pods ---------------------------------------------------------------------------- */

static void add_scalar(scalar_t **v, uint32_t *n, sid_t name, int64_t val, bool max)
{
  for (uint32_t i = 0; i < *n; i++)
    if ((*v)[i].name == name) {
      (*v)[i].value = max ? ((*v)[i].value > val ? (*v)[i].value : val) : (*v)[i].value + val;
      return;
    }
  *v = xrealloc(*v, (*n + 1) * sizeof **v);
  (*v)[(*n)++] = (scalar_t){ name, val };
}

/* What one container (or the overhead) asks: [R_CPU..R_EPH], nz cpu/mem. */
typedef struct creq {
  int64_t r[R_N], nz_cpu, nz_mem;
} creq_t;

static void read_requests(sched_t *s, json_t *req, creq_t *out, bool defaults, scalar_t **sc,
                          uint32_t *n_sc, bool sc_max)
{
  *out = (creq_t){ 0 };
  out->r[R_CPU] = qty(json_object_get(req, "cpu"), true);
  out->r[R_MEM] = qty(json_object_get(req, "memory"), false);
  out->r[R_EPH] = qty(json_object_get(req, "ephemeral-storage"), false);
  out->nz_cpu = out->r[R_CPU];
  out->nz_mem = out->r[R_MEM];
  if (defaults && !json_object_get(req, "cpu"))
    out->nz_cpu = SCHED_DEFAULT_MILLI_CPU;
  if (defaults && !json_object_get(req, "memory"))
    out->nz_mem = SCHED_DEFAULT_MEMORY;
  const char *k;
  json_t *v;
  json_object_foreach(req, k, v)
  {
    if (strcmp(k, "cpu") && strcmp(k, "memory") && strcmp(k, "ephemeral-storage")) {
      int64_t x = qty(v, false);
      if (x > 0)
        add_scalar(sc, n_sc, intern_get(&s->it, k), x, sc_max);
    }
  }
}

static void req_add(creq_t *a, const creq_t *b)
{
  for (int i = 0; i < R_N; i++)
    a->r[i] += b->r[i];
  a->nz_cpu += b->nz_cpu;
  a->nz_mem += b->nz_mem;
}

static void req_max(creq_t *a, const creq_t *b)
{
  for (int i = 0; i < R_N; i++)
    a->r[i] = a->r[i] > b->r[i] ? a->r[i] : b->r[i];
  a->nz_cpu = a->nz_cpu > b->nz_cpu ? a->nz_cpu : b->nz_cpu;
  a->nz_mem = a->nz_mem > b->nz_mem ? a->nz_mem : b->nz_mem;
}

static json_t *requests_of(json_t *c)
{
  return json_object_get(json_object_get(c, "resources"), "requests");
}

/* Kubernetes' rule: the containers' sum (with sidecars, restartable init
 * containers, which keep running), or the largest init container plus the
 * sidecars started before it, whichever is larger; plus the overhead.
 * Extended resources are summed over containers and maxed with init ones. */
static void pod_requests(sched_t *s, spod_t *p, json_t *spec)
{
  creq_t sum = { 0 }, init = { 0 }, side = { 0 }, one;
  json_t *cs = json_object_get(spec, "containers"), *c;
  size_t i;
  json_array_foreach(cs, i, c)
  {
    read_requests(s, requests_of(c), &one, true, &p->scalars, &p->n_scalars, false);
    req_add(&sum, &one);
  }
  json_t *inits = json_object_get(spec, "initContainers");
  json_array_foreach(inits, i, c)
  {
    const char *rp = json_str(c, "restartPolicy");
    read_requests(s, requests_of(c), &one, true, &p->scalars, &p->n_scalars, true);
    if (rp && !strcmp(rp, "Always")) {
      req_add(&side, &one);
      req_max(&init, &side);
    } else {
      creq_t t = side;
      req_add(&t, &one);
      req_max(&init, &t);
    }
  }
  req_add(&sum, &side);
  req_max(&sum, &init);
  json_t *ov = json_object_get(spec, "overhead");
  if (json_is_object(ov)) {
    read_requests(s, ov, &one, false, &p->scalars, &p->n_scalars, false);
    req_add(&sum, &one);
  }
  memcpy(p->req, sum.r, sizeof p->req);
  p->req[R_PODS] = 1;
  p->nz_cpu = sum.nz_cpu;
  p->nz_mem = sum.nz_mem;
}

static void pod_ports(sched_t *s, spod_t *p, json_t *spec)
{
  json_t *cs = json_object_get(spec, "containers"), *c, *pt;
  size_t i, j;
  json_array_foreach(cs, i, c)
  {
    json_array_foreach(json_object_get(c, "ports"), j, pt)
    {
      int64_t hp = json_int(pt, "hostPort", 0);
      if (hp <= 0 || hp > 65535)
        continue;
      const char *ip = json_str(pt, "hostIP"), *proto = json_str(pt, "protocol");
      hostport_t h = { .port = (uint16_t)hp };
      h.ip = ip && *ip && strcmp(ip, "0.0.0.0") ? intern_get(&s->it, ip) : 0;
      h.proto = !proto || !strcmp(proto, "TCP") ? 0 : !strcmp(proto, "UDP") ? 1 : 2;
      p->ports = xrealloc(p->ports, (p->n_ports + 1) * sizeof *p->ports);
      p->ports[p->n_ports++] = h;
    }
  }
}

static bool cond_true(json_t *status, const char *type)
{
  json_t *conds = json_object_get(status, "conditions"), *c;
  size_t i;
  json_array_foreach(conds, i, c)
  {
    const char *t = json_str(c, "type"), *st = json_str(c, "status");
    if (t && !strcmp(t, type))
      return st && !strcmp(st, "True");
  }
  return false;
}

void pod_clear_parsed(spod_t *p)
{
  free(p->labels.v);
  free(p->scalars);
  free(p->ports);
  cons_free(p->c);
  free(p->bad);
  p->labels = (labels_t){ 0 };
  p->scalars = NULL;
  p->ports = NULL;
  p->c = NULL;
  p->bad = NULL;
  p->n_scalars = p->n_ports = 0;
}

void parse_pod(sched_t *s, spod_t *p, json_t *o)
{
  pod_clear_parsed(p);
  json_t *meta = json_object_get(o, "metadata"), *spec = json_object_get(o, "spec"),
         *status = json_object_get(o, "status");
  labels_parse(s, json_object_get(meta, "labels"), &p->labels);
  p->generation = json_int(meta, "generation", 0);
  const char *ct = json_str(meta, "creationTimestamp");
  if (!ct || time_parse_rfc3339(ct, &p->created) < 0)
    p->created = 0;
  const char *dt = json_str(meta, "deletionTimestamp");
  p->terminating = dt && *dt;
  json_t *prio = json_object_get(spec, "priority");
  int64_t pr = json_is_integer(prio) ? json_integer_value(prio) : 0;
  p->priority = pr > INT32_MAX ? INT32_MAX : pr < INT32_MIN ? INT32_MIN : (int32_t)pr;
  const char *pp = json_str(spec, "preemptionPolicy");
  p->preempt_never = pp && !strcmp(pp, "Never");
  p->ready = cond_true(status, "Ready");
  pod_requests(s, p, spec);
  pod_ports(s, p, spec);
  p->c = parse_cons(s, p, spec, &p->bad);
}

/* ---- nodes ------------------------------------------------------------------------------ */

void node_clear_parsed(snode_t *n)
{
  free(n->labels.v);
  free(n->taints);
  free(n->alloc_scalars);
  n->labels = (labels_t){ 0 };
  n->taints = NULL;
  n->alloc_scalars = NULL;
  n->n_taints = n->n_alloc_scalars = 0;
}

bool parse_node(sched_t *s, snode_t *n, json_t *o)
{
  json_t *spec = json_object_get(o, "spec"), *status = json_object_get(o, "status");
  json_t *alloc = json_object_get(status, "allocatable");
  if (!json_is_object(alloc) || !json_object_size(alloc))
    alloc = json_object_get(status, "capacity");
  snode_t old = *n;
  n->labels = (labels_t){ 0 };
  n->taints = NULL;
  n->alloc_scalars = NULL;
  n->n_taints = n->n_alloc_scalars = 0;
  n->alloc[R_CPU] = qty(json_object_get(alloc, "cpu"), true);
  n->alloc[R_MEM] = qty(json_object_get(alloc, "memory"), false);
  n->alloc[R_EPH] = qty(json_object_get(alloc, "ephemeral-storage"), false);
  n->alloc[R_PODS] = qty(json_object_get(alloc, "pods"), false);
  const char *k;
  json_t *v;
  json_object_foreach(alloc, k, v)
  {
    if (strcmp(k, "cpu") && strcmp(k, "memory") && strcmp(k, "ephemeral-storage")
        && strcmp(k, "pods"))
      add_scalar(&n->alloc_scalars, &n->n_alloc_scalars, intern_get(&s->it, k), qty(v, false),
                 false);
  }
  labels_parse(s, json_object_get(json_object_get(o, "metadata"), "labels"), &n->labels);
  json_t *taints = json_object_get(spec, "taints"), *t;
  size_t i;
  n->taints = xcalloc(json_array_size(taints) + 1, sizeof *n->taints);
  json_array_foreach(taints, i, t)
  {
    const char *key = json_str(t, "key"), *val = json_str(t, "value");
    uint8_t eff;
    if (!key || !*key || !parse_taint_effect(json_str(t, "effect"), &eff) || eff == EFF_NONE)
      continue;
    n->taints[n->n_taints++]
        = (taint_t){ intern_get(&s->it, key), val && *val ? intern_get(&s->it, val) : 0, eff };
  }
  n->unschedulable = json_is_true(json_object_get(spec, "unschedulable"));
  /* Kubernetes' node controller taints a node whose Ready condition is
   * False (not-ready) or Unknown (unreachable); berth has none, so the
   * scheduler reads the condition as that taint would say it. */
  const char *ready = NULL;
  json_t *conds = json_object_get(status, "conditions"), *c;
  json_array_foreach(conds, i, c)
  {
    const char *ty = json_str(c, "type");
    if (ty && !strcmp(ty, "Ready"))
      ready = json_str(c, "status");
  }
  n->has_ready_taint = !ready || strcmp(ready, "True");
  n->ready_taint
      = (taint_t){ ready && !strcmp(ready, "Unknown") ? s->k_unreachable : s->k_not_ready, 0,
                   EFF_NO_SCHEDULE };
  bool changed
      = memcmp(old.alloc, n->alloc, sizeof n->alloc) || !labels_equal(&old.labels, &n->labels)
        || old.n_taints != n->n_taints
        || (n->n_taints && memcmp(old.taints, n->taints, n->n_taints * sizeof *n->taints))
        || old.unschedulable != n->unschedulable || old.has_ready_taint != n->has_ready_taint
        || old.ready_taint.key != n->ready_taint.key || old.n_alloc_scalars != n->n_alloc_scalars
        || (n->n_alloc_scalars
            && memcmp(old.alloc_scalars, n->alloc_scalars,
                      n->n_alloc_scalars * sizeof *n->alloc_scalars));
  node_clear_parsed(&old);
  return changed;
}

/* ---- PodDisruptionBudgets ------------------------------------------------------------------ */

void pdb_clear(spdb_t *d)
{
  sel_free(&d->sel);
  d->has_allowed = d->has_min = d->has_max = false;
}

/* An int, or "N%". */
static bool int_or_pct(json_t *v, int64_t *out, bool *pct)
{
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
    *pct = false;
    return *out >= 0;
  }
  const char *s = json_is_string(v) ? json_string_value(v) : NULL;
  size_t n = s ? strlen(s) : 0;
  if (n < 2 || s[n - 1] != '%')
    return false;
  cleanup_free char *num = xstrndup(s, n - 1);
  *pct = true;
  return parse_int64(num, out, NULL) == 0 && *out >= 0 && *out <= 100;
}

void parse_pdb(sched_t *s, spdb_t *d, json_t *o)
{
  pdb_clear(d);
  json_t *spec = json_object_get(o, "spec"), *status = json_object_get(o, "status");
  cleanup_free char *why = NULL;
  if (!parse_label_selector(s, json_object_get(spec, "selector"), &d->sel, "spec.selector", &why))
    d->sel.nothing = true; /* matches no pod: protects nothing */
  /* An empty selector protects nothing either (Kubernetes' preemption). */
  if (d->sel.n == 0)
    d->sel.nothing = true;
  json_t *a = json_object_get(status, "disruptionsAllowed");
  if (json_is_integer(a)) {
    d->has_allowed = true;
    d->allowed = (int32_t)json_integer_value(a);
  }
  d->has_min = int_or_pct(json_object_get(spec, "minAvailable"), &d->min_available, &d->min_pct);
  d->has_max
      = int_or_pct(json_object_get(spec, "maxUnavailable"), &d->max_unavailable, &d->max_pct);
}
