/* cache.c — the scheduler's picture of the cluster, kept up to date one
 * event at a time: nodes by name, pods by namespace/name, PDBs, and who is
 * where. Placing a pod on a node (bound, or assumed by a decision) adds its
 * requests and host ports to the node's counters and the pod to three
 * indexes: the node's pods, its namespace's placed pods (what inter-pod
 * affinity and topology spread count) and, when it has affinity terms of
 * its own, the pods whose terms every decision must consult. Nothing is
 * recomputed from scratch: a decision reads counters.
 *
 * Pods bound to a node the cache does not have (yet) are orphans: counted
 * nowhere until that node arrives. */
#include "sched/internal.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a over a "/" b */
static uint64_t hash2(const char *a, const char *b)
{
  uint64_t h = hash_fnv(hash_fnv(HASH_FNV_BASIS, a, strlen(a)), "/", 1);
  return b ? hash_fnv(h, b, strlen(b)) : h;
}

int64_t sched_now(const sched_t *s)
{
  return s->cfg.clock ? s->cfg.clock(s->cfg.clock_arg) : time_mono_ns();
}

void cache_event(sched_t *s)
{
  s->last_event = sched_now(s);
}

/* Removes v[i] by moving the last element there; *slot of the moved one is
 * fixed by the caller's fix function. */
#define SWAP_REMOVE(vec, i, type, field)                                                           \
  do {                                                                                             \
    (vec)->n--;                                                                                    \
    if ((i) != (vec)->n) {                                                                         \
      (vec)->v[i] = (vec)->v[(vec)->n];                                                            \
      ((type *)(vec)->v[i])->field = (i);                                                          \
    }                                                                                              \
  } while (0)

/* ---- lookups ------------------------------------------------------------------ */

snode_t *node_find(const sched_t *s, const char *name)
{
  if (!s->n_node_buckets || !name)
    return NULL;
  for (snode_t *n = s->node_buckets[hash2(name, NULL) & (s->n_node_buckets - 1)]; n; n = n->hnext)
    if (!strcmp(n->name, name))
      return n;
  return NULL;
}

spod_t *pod_find(const sched_t *s, const char *ns, const char *name)
{
  if (!s->n_pod_buckets || !ns || !name)
    return NULL;
  for (spod_t *p = s->pod_buckets[hash2(ns, name) & (s->n_pod_buckets - 1)]; p; p = p->hnext)
    if (!strcmp(p->name, name) && !strcmp(p->ns, ns))
      return p;
  return NULL;
}

sns_t *ns_find(const sched_t *s, sid_t id)
{
  for (size_t i = 0; i < s->n_nss; i++)
    if (s->nss[i].id == id)
      return &s->nss[i];
  return NULL;
}

static sns_t *ns_get(sched_t *s, sid_t id)
{
  sns_t *n = ns_find(s, id);
  if (n)
    return n;
  if (s->n_nss == s->cap_nss) {
    s->cap_nss = s->cap_nss ? s->cap_nss * 2 : 8;
    s->nss = xrealloc(s->nss, s->cap_nss * sizeof *s->nss);
  }
  s->nss[s->n_nss] = (sns_t){ .id = id };
  return &s->nss[s->n_nss++];
}

static void pod_hash_insert(sched_t *s, spod_t *p)
{
  if (s->n_pods + 1 > s->n_pod_buckets) {
    size_t nb = s->n_pod_buckets ? s->n_pod_buckets * 2 : 1024;
    spod_t **b = xcalloc(nb, sizeof *b);
    for (size_t i = 0; i < s->n_pod_buckets; i++)
      for (spod_t *q = s->pod_buckets[i], *next; q; q = next) {
        next = q->hnext;
        size_t h = hash2(q->ns, q->name) & (nb - 1);
        q->hnext = b[h];
        b[h] = q;
      }
    free(s->pod_buckets);
    s->pod_buckets = b;
    s->n_pod_buckets = nb;
  }
  size_t h = hash2(p->ns, p->name) & (s->n_pod_buckets - 1);
  p->hnext = s->pod_buckets[h];
  s->pod_buckets[h] = p;
  s->n_pods++;
}

static void pod_hash_remove(sched_t *s, spod_t *p)
{
  spod_t **pp = &s->pod_buckets[hash2(p->ns, p->name) & (s->n_pod_buckets - 1)];
  while (*pp && *pp != p)
    pp = &(*pp)->hnext;
  if (*pp) {
    *pp = p->hnext;
    s->n_pods--;
  }
}

/* ---- counting pods on nodes ------------------------------------------------------ */

static void port_count(snode_t *n, const hostport_t *h, int sign)
{
  for (uint32_t i = 0; i < n->n_ports; i++) {
    port_use_t *u = &n->ports[i];
    if (u->p.ip == h->ip && u->p.port == h->port && u->p.proto == h->proto) {
      u->count += sign;
      if (u->count <= 0)
        n->ports[i] = n->ports[--n->n_ports];
      return;
    }
  }
  if (sign < 0)
    return;
  if (n->n_ports == n->cap_ports) {
    n->cap_ports = n->cap_ports ? n->cap_ports * 2 : 4;
    n->ports = xrealloc(n->ports, n->cap_ports * sizeof *n->ports);
  }
  n->ports[n->n_ports++] = (port_use_t){ *h, 1 };
}

void node_account(sched_t *s, snode_t *n, spod_t *p, int sign)
{
  (void)s;
  for (int i = 0; i < R_N; i++)
    n->req[i] += sign * p->req[i];
  n->nz_cpu += sign * p->nz_cpu;
  n->nz_mem += sign * p->nz_mem;
  for (uint32_t i = 0; i < p->n_ports; i++)
    port_count(n, &p->ports[i], sign);
  for (uint32_t i = 0; i < p->n_scalars; i++) {
    uint32_t j = 0;
    while (j < n->n_req_scalars && n->req_scalars[j].name != p->scalars[i].name)
      j++;
    if (j == n->n_req_scalars) {
      if (n->n_req_scalars == n->cap_req_scalars) {
        n->cap_req_scalars = n->cap_req_scalars ? n->cap_req_scalars * 2 : 4;
        n->req_scalars = xrealloc(n->req_scalars, n->cap_req_scalars * sizeof *n->req_scalars);
      }
      n->req_scalars[n->n_req_scalars++] = (scalar_t){ p->scalars[i].name, 0 };
    }
    n->req_scalars[j].value += sign * p->scalars[i].value;
  }
}

static bool has_pod_terms(const spod_t *p)
{
  return p->c && (p->c->n_aff || p->c->n_anti || p->c->n_paff || p->c->n_panti);
}

void pod_place(sched_t *s, spod_t *p, snode_t *n)
{
  p->node = n;
  node_account(s, n, p, +1);
  p->node_slot = n->pods.n;
  pvec_push(&n->pods, p);
  index_add(ns_get(s, p->ns_id), p);
  if (has_pod_terms(p)) {
    p->aff_slot = s->aff_pods.n;
    pvec_push(&s->aff_pods, p);
  }
}

static void orphan_remove(sched_t *s, spod_t *p)
{
  if (p->orphan_slot == SIZE_MAX)
    return;
  size_t i = p->orphan_slot;
  SWAP_REMOVE(&s->orphans, i, spod_t, orphan_slot);
  p->orphan_slot = SIZE_MAX;
}

void pod_unplace(sched_t *s, spod_t *p)
{
  orphan_remove(s, p);
  snode_t *n = p->node;
  if (!n)
    return;
  node_account(s, n, p, -1);
  size_t i = p->node_slot;
  SWAP_REMOVE(&n->pods, i, spod_t, node_slot);
  index_remove(ns_find(s, p->ns_id), p);
  if (p->aff_slot != SIZE_MAX) {
    i = p->aff_slot;
    SWAP_REMOVE(&s->aff_pods, i, spod_t, aff_slot);
    p->aff_slot = SIZE_MAX;
  }
  p->node = NULL;
}

void nominate(sched_t *s, spod_t *p, snode_t *n)
{
  (void)s;
  unnominate(p);
  p->nominated = n;
  p->nom_slot = n->nominated.n;
  pvec_push(&n->nominated, p);
}

void unnominate(spod_t *p)
{
  snode_t *n = p->nominated;
  if (!n)
    return;
  size_t i = p->nom_slot;
  SWAP_REMOVE(&n->nominated, i, spod_t, nom_slot);
  p->nominated = NULL;
}

/* ---- nodes ---------------------------------------------------------------------------- */

static void node_hash_insert(sched_t *s, snode_t *n)
{
  if (s->nodes.n + 1 > s->n_node_buckets) {
    size_t nb = s->n_node_buckets ? s->n_node_buckets * 2 : 256;
    snode_t **b = xcalloc(nb, sizeof *b);
    for (size_t i = 0; i < s->n_node_buckets; i++)
      for (snode_t *q = s->node_buckets[i], *next; q; q = next) {
        next = q->hnext;
        size_t h = hash2(q->name, NULL) & (nb - 1);
        q->hnext = b[h];
        b[h] = q;
      }
    free(s->node_buckets);
    s->node_buckets = b;
    s->n_node_buckets = nb;
  }
  size_t h = hash2(n->name, NULL) & (s->n_node_buckets - 1);
  n->hnext = s->node_buckets[h];
  s->node_buckets[h] = n;
}

void sched_node_set(sched_t *s, json_t *o)
{
  const char *name = json_str(json_object_get(o, "metadata"), "name");
  if (!name || !*name)
    return;
  snode_t *n = node_find(s, name);
  bool fresh = !n;
  if (fresh) {
    n = xcalloc(1, sizeof *n);
    n->name = xstrdup(name);
    n->name_id = intern_get(&s->it, name);
    n->idx = s->nodes.n;
    pvec_push(&s->nodes, n);
    node_hash_insert(s, n);
  }
  bool changed = parse_node(s, n, o);
  if (fresh) {
    /* Pods bound to it before it was known count now. */
    for (size_t i = 0; i < s->orphans.n;) {
      spod_t *p = s->orphans.v[i];
      if (p->node_name && !strcmp(p->node_name, name)) {
        orphan_remove(s, p);
        pod_place(s, p, n);
      } else {
        i++;
      }
    }
  }
  if (fresh || changed)
    cache_event(s);
}

/* A node no longer in the cache, and what it holds. */
static void node_free(snode_t *n)
{
  node_clear_parsed(n);
  free(n->ports);
  free(n->req_scalars);
  pvec_free(&n->pods);
  pvec_free(&n->nominated);
  free(n->name);
  free(n);
}

void sched_node_delete(sched_t *s, const char *name)
{
  snode_t *n = node_find(s, name);
  if (!n)
    return;
  /* Its pods stay, counted nowhere, until the node comes back or they go. */
  while (n->pods.n) {
    spod_t *p = n->pods.v[n->pods.n - 1];
    pod_unplace(s, p);
    p->orphan_slot = s->orphans.n;
    pvec_push(&s->orphans, p);
  }
  while (n->nominated.n)
    unnominate(n->nominated.v[n->nominated.n - 1]);
  snode_t **pp = &s->node_buckets[hash2(name, NULL) & (s->n_node_buckets - 1)];
  while (*pp != n)
    pp = &(*pp)->hnext;
  *pp = n->hnext;
  size_t i = n->idx;
  SWAP_REMOVE(&s->nodes, i, snode_t, idx);
  if (s->next_start >= s->nodes.n)
    s->next_start = 0;
  node_free(n);
  cache_event(s);
}

/* ---- pods -------------------------------------------------------------------------------- */

static void pod_free(spod_t *p)
{
  pod_clear_parsed(p);
  free(p->label_slots);
  free(p->ns);
  free(p->name);
  free(p->uid);
  free(p->node_name);
  free(p->last_msg);
  free(p);
}

/* Takes p off the queue, its node and its nomination: it is no longer
 * anywhere. */
static void pod_detach(sched_t *s, spod_t *p)
{
  if (p->state == PS_QUEUED || p->state == PS_PARKED)
    heap_remove(s, p);
  if (p->state == PS_ASSUMED)
    s->n_assumed--;
  pod_unplace(s, p);
  unnominate(p);
  p->state = PS_IDLE;
}

static void pod_remove(sched_t *s, spod_t *p)
{
  pod_detach(s, p);
  pod_hash_remove(s, p);
  pod_free(p);
}

void sched_pod_delete(sched_t *s, const char *ns, const char *name)
{
  spod_t *p = pod_find(s, ns, name);
  if (!p)
    return;
  pod_remove(s, p);
  cache_event(s);
}

/* Places p, bound to node_name, on that node or among the orphans. */
static void pod_bind(sched_t *s, spod_t *p, const char *node_name)
{
  if (!p->node_name || strcmp(p->node_name, node_name)) {
    free(p->node_name);
    p->node_name = xstrdup(node_name);
  }
  snode_t *n = node_find(s, node_name);
  if (n) {
    pod_place(s, p, n);
  } else {
    p->orphan_slot = s->orphans.n;
    pvec_push(&s->orphans, p);
  }
  p->state = PS_BOUND;
}

/* What changes on a pod already placed where its event says: our binding
 * confirmed, its labels, readiness and deletion. */
static void pod_update_placed(sched_t *s, spod_t *p, const char *node, json_t *meta, json_t *status)
{
  if (p->state == PS_ASSUMED) {
    s->n_assumed--;
    p->state = PS_BOUND;
    if (!p->node_name || strcmp(p->node_name, node)) {
      free(p->node_name);
      p->node_name = xstrdup(node);
    }
  }
  labels_t l;
  labels_parse(s, json_object_get(meta, "labels"), &l);
  if (labels_equal(&l, &p->labels)) {
    free(l.v);
  } else if (p->node) {
    snode_t *n = p->node;
    pod_unplace(s, p); /* out of the label index under the old labels */
    free(p->labels.v);
    p->labels = l;
    pod_place(s, p, n);
  } else {
    free(p->labels.v);
    p->labels = l;
  }
  json_t *conds = json_object_get(status, "conditions"), *c;
  size_t i;
  p->ready = false;
  json_array_foreach(conds, i, c)
  {
    const char *t = json_str(c, "type"), *st = json_str(c, "status");
    if (t && !strcmp(t, "Ready"))
      p->ready = st && !strcmp(st, "True");
  }
  const char *dt = json_str(meta, "deletionTimestamp");
  p->terminating = dt && *dt;
}

bool sched_pod_set_placed(sched_t *s, json_t *meta, const char *node, json_t *status)
{
  spod_t *p = pod_find(s, json_str(meta, "namespace"), json_str(meta, "name"));
  const char *uid = json_str(meta, "uid") ?: "", *phase = json_str(status, "phase") ?: "";
  if (!p || strcmp(p->uid, uid) || !node || !*node || !p->node_name || strcmp(p->node_name, node)
      || (p->state != PS_BOUND && p->state != PS_ASSUMED)
      || json_int(meta, "generation", 0) != p->generation)
    return false;
  if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))
    return false; /* the whole path frees its room */
  pod_update_placed(s, p, node, meta, status);
  return true;
}

void sched_pod_set(sched_t *s, json_t *o)
{
  json_t *meta = json_object_get(o, "metadata"), *spec = json_object_get(o, "spec"),
         *status = json_object_get(o, "status");
  const char *ns = json_str(meta, "namespace"), *name = json_str(meta, "name"),
             *uid = json_str(meta, "uid") ?: "";
  if (!ns || !*ns || !name || !*name)
    return;
  const char *node = json_str(spec, "nodeName"), *sn = json_str(spec, "schedulerName");
  const char *phase = json_str(status, "phase") ?: "";
  const char *dt = json_str(meta, "deletionTimestamp");
  bool terminal = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
  if (node && !*node)
    node = NULL;
  spod_t *p = pod_find(s, ns, name);
  if (p && strcmp(p->uid, uid)) {
    /* Another pod by the same name: the old one is gone. */
    pod_remove(s, p);
    cache_event(s);
    p = NULL;
  }
  if (!p) {
    p = xcalloc(1, sizeof *p);
    p->ns = xstrdup(ns);
    p->name = xstrdup(name);
    p->uid = xstrdup(uid);
    p->ns_id = intern_get(&s->it, ns);
    p->seq = s->seq++;
    p->node_slot = p->ns_slot = p->heap_slot = SIZE_MAX;
    p->aff_slot = p->orphan_slot = SIZE_MAX;
    pod_hash_insert(s, p);
  }

  if (node && terminal) {
    /* Finished: its resources are free (kube-scheduler's cache drops it). */
    bool was_placed = p->node || p->orphan_slot != SIZE_MAX;
    pod_detach(s, p);
    if (was_placed)
      cache_event(s);
    return;
  }
  if (node) {
    if ((p->state == PS_BOUND || p->state == PS_ASSUMED) && p->node
        && !strcmp(p->node->name, node)) {
      /* Where we counted it (our own binding coming back, or a status
       * update). */
      if (json_int(meta, "generation", 0) != p->generation) {
        snode_t *n = p->node;
        pod_unplace(s, p);
        parse_pod(s, p, o);
        pod_place(s, p, n);
      }
      pod_update_placed(s, p, node, meta, status);
      return;
    }
    /* Bound by someone (us, another scheduler, the user) to a node we did
     * not count it on. */
    pod_detach(s, p);
    parse_pod(s, p, o);
    pod_bind(s, p, node);
    return;
  }

  /* Not bound. */
  if (p->state == PS_BOUND)
    pod_detach(s, p); /* cannot happen (nodeName is immutable), but must not count twice */
  bool ours = !dt && !terminal && sn && !strcmp(sn, s->name);
  if (p->state == PS_ASSUMED)
    return; /* our binding is on its way; sched_forget if it fails */
  if (!ours) {
    pod_detach(s, p);
    parse_pod(s, p, o);
    return;
  }
  int64_t old_gen = p->generation;
  labels_t old_labels = p->labels;
  p->labels = (labels_t){ 0 }; /* kept for the comparison below */
  bool was_bad = p->bad != NULL;
  parse_pod(s, p, o);
  bool changed = old_gen != p->generation || !labels_equal(&old_labels, &p->labels);
  free(old_labels.v);
  if (!p->nominated) {
    /* A nomination from before a restart. */
    snode_t *nn = node_find(s, json_str(status, "nominatedNodeName"));
    if (nn)
      nominate(s, p, nn);
  }
  if (p->state == PS_IDLE) {
    queue_push(s, p);
  } else if (p->state == PS_PARKED && (changed || was_bad)) {
    /* The pod itself changed: worth another try, after at least a second. */
    heap_remove(s, p);
    int64_t now = sched_now(s), due = p->last_try + 1000000000LL;
    p->due = due > now ? due : now;
    park_push(s, p);
  }
}

/* ---- PodDisruptionBudgets ---------------------------------------------------------------- */

static size_t pdb_index(sched_t *s, const char *ns, const char *name)
{
  for (size_t i = 0; i < s->pdbs.n; i++) {
    spdb_t *d = s->pdbs.v[i];
    if (!strcmp(d->ns, ns) && !strcmp(d->name, name))
      return i;
  }
  return SIZE_MAX;
}

void sched_pdb_set(sched_t *s, json_t *o)
{
  json_t *meta = json_object_get(o, "metadata");
  const char *ns = json_str(meta, "namespace"), *name = json_str(meta, "name");
  if (!ns || !name)
    return;
  size_t i = pdb_index(s, ns, name);
  spdb_t *d;
  if (i == SIZE_MAX) {
    d = xcalloc(1, sizeof *d);
    d->ns = xstrdup(ns);
    d->name = xstrdup(name);
    d->ns_id = intern_get(&s->it, ns);
    pvec_push(&s->pdbs, d);
  } else {
    d = s->pdbs.v[i];
  }
  parse_pdb(s, d, o);
}

static void pdb_free(spdb_t *d)
{
  pdb_clear(d);
  free(d->ns);
  free(d->name);
  free(d);
}

void sched_pdb_delete(sched_t *s, const char *ns, const char *name)
{
  size_t i = pdb_index(s, ns, name);
  if (i == SIZE_MAX)
    return;
  pdb_free(s->pdbs.v[i]);
  s->pdbs.v[i] = s->pdbs.v[--s->pdbs.n];
}

/* ---- teardown ------------------------------------------------------------------------------ */

void cache_free(sched_t *s)
{
  for (size_t i = 0; i < s->n_pod_buckets; i++)
    for (spod_t *p = s->pod_buckets[i], *next; p; p = next) {
      next = p->hnext;
      pod_free(p);
    }
  free(s->pod_buckets);
  for (size_t i = 0; i < s->nodes.n; i++) {
    snode_t *n = s->nodes.v[i];
    node_free(n);
  }
  pvec_free(&s->nodes);
  free(s->node_buckets);
  for (size_t i = 0; i < s->n_nss; i++)
    index_free(&s->nss[i]);
  free(s->nss);
  for (size_t i = 0; i < s->pdbs.n; i++)
    pdb_free(s->pdbs.v[i]);
  pvec_free(&s->pdbs);
  pvec_free(&s->aff_pods);
  pvec_free(&s->orphans);
}
