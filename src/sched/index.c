/* index.c — placed pods by namespace and label: what lets inter-pod
 * affinity, topology spread and PDBs visit only the pods their selector
 * can match. Each namespace keeps its placed pods, and for each label
 * (key, value) the placed pods carrying it; a pod remembers its slot in
 * each list so that leaving is O(labels).
 *
 * A selector is walked through the list of its most selective In
 * requirement (matchLabels are In requirements): app=web visits the web
 * pods, not the namespace's 100,000. A selector without one (only Exists,
 * NotIn…, or everything) visits the whole namespace. The iterator yields a
 * superset; callers still match the whole selector. */
#include "sched/internal.h"

#include <stdlib.h>
#include <string.h>

static pvec_t *label_list(sns_t *ns, kv_t l, bool create)
{
  uint64_t key = PAIR(l.k, l.v);
  if (!create && !umap_has(&ns->by_label, key))
    return NULL;
  int64_t *slot = umap_slot(&ns->by_label, key);
  if (!*slot) {
    if (ns->n_lists == ns->cap_lists) {
      ns->cap_lists = ns->cap_lists ? ns->cap_lists * 2 : 16;
      ns->lists = xrealloc(ns->lists, ns->cap_lists * sizeof *ns->lists);
    }
    ns->lists[ns->n_lists] = (pvec_t){ 0 };
    *slot = (int64_t)++ns->n_lists; /* 1-based: 0 is "new" */
  }
  return &ns->lists[*slot - 1];
}

void index_add(sns_t *ns, spod_t *p)
{
  p->ns_slot = ns->pods.n;
  pvec_push(&ns->pods, p);
  if (!p->labels.n)
    return;
  p->label_slots = xrealloc(p->label_slots, p->labels.n * sizeof *p->label_slots);
  for (uint32_t i = 0; i < p->labels.n; i++) {
    pvec_t *l = label_list(ns, p->labels.v[i], true);
    p->label_slots[i] = l->n;
    pvec_push(l, p);
  }
}

/* The slot of p in list l is at position i of its labels. */
static size_t slot_in(spod_t *q, const pvec_t *l, sns_t *ns)
{
  for (uint32_t i = 0; i < q->labels.n; i++)
    if (label_list(ns, q->labels.v[i], false) == l)
      return i;
  return SIZE_MAX;
}

void index_remove(sns_t *ns, spod_t *p)
{
  size_t i = p->ns_slot;
  ns->pods.n--;
  if (i != ns->pods.n) {
    ns->pods.v[i] = ns->pods.v[ns->pods.n];
    ((spod_t *)ns->pods.v[i])->ns_slot = i;
  }
  p->ns_slot = SIZE_MAX;
  for (uint32_t k = 0; k < p->labels.n; k++) {
    pvec_t *l = label_list(ns, p->labels.v[k], false);
    if (!l)
      continue;
    size_t at = p->label_slots[k];
    l->n--;
    if (at != l->n) {
      spod_t *moved = l->v[l->n];
      l->v[at] = moved;
      size_t j = slot_in(moved, l, ns);
      if (j != SIZE_MAX)
        moved->label_slots[j] = at;
    }
  }
}

void index_free(sns_t *ns)
{
  pvec_free(&ns->pods);
  for (size_t i = 0; i < ns->n_lists; i++)
    pvec_free(&ns->lists[i]);
  free(ns->lists);
  umap_free(&ns->by_label);
}

void pod_iter_init(pod_iter_t *it, const sns_t *ns, const sel_t *sel)
{
  *it = (pod_iter_t){ .ns = ns };
  if (!ns || (sel && sel->nothing)) {
    it->done = true;
    return;
  }
  size_t best = SIZE_MAX;
  for (uint32_t i = 0; sel && i < sel->n; i++) {
    const sel_req_t *r = &sel->r[i];
    if (r->op != SEL_IN)
      continue;
    size_t total = 0;
    for (uint32_t j = 0; j < r->n; j++) {
      int64_t idx = umap_get(&ns->by_label, PAIR(r->key, r->vals[j]));
      total += idx ? ns->lists[idx - 1].n : 0;
    }
    if (total < best) {
      best = total;
      it->drive = r;
    }
  }
  if (!it->drive)
    it->cur = &ns->pods;
}

spod_t *pod_iter_next(pod_iter_t *it)
{
  for (;;) {
    if (it->done)
      return NULL;
    if (it->cur && it->pos < it->cur->n)
      return it->cur->v[it->pos++];
    if (!it->drive || it->val >= it->drive->n) {
      it->done = true;
      return NULL;
    }
    int64_t idx = umap_get(&it->ns->by_label, PAIR(it->drive->key, it->drive->vals[it->val++]));
    it->cur = idx ? &it->ns->lists[idx - 1] : NULL;
    it->pos = 0;
  }
}
