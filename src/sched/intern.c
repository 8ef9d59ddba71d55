/* intern.c — the scheduler's small containers: interned strings (label keys
 * and values, namespaces, node names: each distinct string gets a 32-bit id
 * once, so that matching a selector compares integers), an open-addressing
 * map from 64-bit keys to counts (topology pairs → pods) and a pointer
 * vector. Interned strings live as long as the scheduler: they are label
 * strings, whose number grows with what the cluster ever labelled, not with
 * its churn. */
#include "sched/internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- interned strings ------------------------------------------------------- */

static void intern_grow(intern_t *t)
{
  size_t ns = t->n_slots ? t->n_slots * 2 : 1024;
  uint32_t *slots = xcalloc(ns, sizeof *slots);
  for (size_t id = 1; id < t->n; id++) {
    size_t i = hash_str(t->strs[id]) & (ns - 1);
    while (slots[i])
      i = (i + 1) & (ns - 1);
    slots[i] = (uint32_t)id;
  }
  free(t->slots);
  t->slots = slots;
  t->n_slots = ns;
}

sid_t intern_find(const intern_t *t, const char *s)
{
  if (!t->n_slots || !s)
    return 0;
  size_t i = hash_str(s) & (t->n_slots - 1);
  while (t->slots[i]) {
    if (!strcmp(t->strs[t->slots[i]], s))
      return t->slots[i];
    i = (i + 1) & (t->n_slots - 1);
  }
  return 0;
}

sid_t intern_get(intern_t *t, const char *s)
{
  sid_t id = intern_find(t, s);
  if (id)
    return id;
  if (t->n == 0)
    t->n = 1; /* id 0 is "none" */
  if ((t->n + 1) * 2 > t->n_slots)
    intern_grow(t);
  if (t->n >= t->cap) {
    t->cap = t->cap ? t->cap * 2 : 1024;
    t->strs = xrealloc(t->strs, t->cap * sizeof *t->strs);
  }
  id = (sid_t)t->n++;
  t->strs[id] = xstrdup(s);
  size_t i = hash_str(s) & (t->n_slots - 1);
  while (t->slots[i])
    i = (i + 1) & (t->n_slots - 1);
  t->slots[i] = id;
  return id;
}

const char *intern_str(const intern_t *t, sid_t id)
{
  return id && id < t->n ? t->strs[id] : "";
}

void intern_free(intern_t *t)
{
  for (size_t i = 1; i < t->n; i++)
    free(t->strs[i]);
  free(t->strs);
  free(t->slots);
  *t = (intern_t){ 0 };
}

/* ---- u64 → i64 ----------------------------------------------------------------- */

static void umap_grow(umap_t *m)
{
  size_t nc = m->cap ? m->cap * 2 : 64;
  uint64_t *keys = xcalloc(nc, sizeof *keys);
  int64_t *vals = xcalloc(nc, sizeof *vals);
  for (size_t j = 0; j < m->cap; j++) {
    if (!m->keys[j])
      continue;
    size_t i = hash_mix(m->keys[j]) & (nc - 1);
    while (keys[i])
      i = (i + 1) & (nc - 1);
    keys[i] = m->keys[j];
    vals[i] = m->vals[j];
  }
  free(m->keys);
  free(m->vals);
  m->keys = keys;
  m->vals = vals;
  m->cap = nc;
}

int64_t *umap_slot(umap_t *m, uint64_t key)
{
  if ((m->n + 1) * 2 > m->cap)
    umap_grow(m);
  size_t i = hash_mix(key) & (m->cap - 1);
  while (m->keys[i] && m->keys[i] != key)
    i = (i + 1) & (m->cap - 1);
  if (!m->keys[i]) {
    m->keys[i] = key;
    m->vals[i] = 0;
    m->n++;
  }
  return &m->vals[i];
}

int64_t umap_get(const umap_t *m, uint64_t key)
{
  if (!m->n)
    return 0;
  size_t i = hash_mix(key) & (m->cap - 1);
  while (m->keys[i]) {
    if (m->keys[i] == key)
      return m->vals[i];
    i = (i + 1) & (m->cap - 1);
  }
  return 0;
}

bool umap_has(const umap_t *m, uint64_t key)
{
  if (!m->n)
    return false;
  size_t i = hash_mix(key) & (m->cap - 1);
  while (m->keys[i]) {
    if (m->keys[i] == key)
      return true;
    i = (i + 1) & (m->cap - 1);
  }
  return false;
}

void umap_clear(umap_t *m)
{
  if (m->n)
    memset(m->keys, 0, m->cap * sizeof *m->keys);
  m->n = 0;
}

void umap_free(umap_t *m)
{
  free(m->keys);
  free(m->vals);
  *m = (umap_t){ 0 };
}

/* ---- pointer vectors ------------------------------------------------------------- */

void pvec_push(pvec_t *p, void *x)
{
  if (p->n == p->cap) {
    p->cap = p->cap ? p->cap * 2 : 8;
    p->v = xrealloc(p->v, p->cap * sizeof *p->v);
  }
  p->v[p->n++] = x;
}

void pvec_free(pvec_t *p)
{
  free(p->v);
  *p = (pvec_t){ 0 };
}
