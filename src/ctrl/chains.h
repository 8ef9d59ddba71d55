/* chains.h — the chained hash tables of the controllers' cache (cache.c:
 * objects and groups; pack.c: fragments). Intrusive: a node's first
 * member is a ctrl_link_t holding its chain and its hash, so one table
 * serves every node type; the chains double when they hold more nodes than
 * there are chains. Lookups walk ctrl_chain(t, hash) and compare their
 * own keys. */
#ifndef BERTH_CTRL_CHAINS_H
#define BERTH_CTRL_CHAINS_H

#include "base/base.h"

#include <stdlib.h>

typedef struct ctrl_link {
  struct ctrl_link *next;
  uint64_t hash;
} ctrl_link_t;

typedef struct ctrl_chains {
  ctrl_link_t **b; /* nb chains, a power of two */
  size_t nb, n;
} ctrl_chains_t;

static inline void ctrl_chains_init(ctrl_chains_t *t)
{
  t->nb = 64;
  t->n = 0;
  t->b = xcalloc(t->nb, sizeof *t->b);
}

/* The chain where nodes of hash h are. */
static inline ctrl_link_t *ctrl_chain(const ctrl_chains_t *t, uint64_t h)
{
  return t->b[h & (t->nb - 1)];
}

static inline void ctrl_chains_add(ctrl_chains_t *t, ctrl_link_t *l)
{
  ctrl_link_t **slot = &t->b[l->hash & (t->nb - 1)];
  l->next = *slot;
  *slot = l;
  if (++t->n <= t->nb)
    return;
  size_t nb = t->nb * 2;
  ctrl_link_t **b = xcalloc(nb, sizeof *b);
  for (size_t i = 0; i < t->nb; i++)
    for (ctrl_link_t *x = t->b[i], *next; x; x = next) {
      next = x->next;
      x->next = b[x->hash & (nb - 1)];
      b[x->hash & (nb - 1)] = x;
    }
  free(t->b);
  t->b = b;
  t->nb = nb;
}

static inline void ctrl_chains_del(ctrl_chains_t *t, ctrl_link_t *l)
{
  for (ctrl_link_t **p = &t->b[l->hash & (t->nb - 1)]; *p; p = &(*p)->next)
    if (*p == l) {
      *p = l->next;
      t->n--;
      return;
    }
}

/* Calls fn on every node (which may free it), then frees the chains. */
static inline void ctrl_chains_free(ctrl_chains_t *t, void (*fn)(ctrl_link_t *l, void *arg),
                                    void *arg)
{
  for (size_t i = 0; i < t->nb; i++)
    for (ctrl_link_t *x = t->b[i], *next; x; x = next) {
      next = x->next;
      fn(x, arg);
    }
  free(t->b);
  t->b = NULL;
  t->nb = t->n = 0;
}

#endif
