/* cache.c — the controllers' view of the cluster: the objects of the kinds
 * they follow, and which objects each owner controls.
 *
 * One hash table holds every object by (resource, namespace, name); each
 * object is also in up to three groups, so that no sync walks every pod of
 * a namespace: the objects of its namespace, those of its controller (the
 * uid of its controller ownerReference) or else the orphans of its
 * namespace (what a controller may adopt), and those bound to its node
 * (spec.nodeName).
 *
 * Pods, which a cluster has by the hundred thousand, are kept packed
 * (pack.c: a few hundred bytes each instead of several KB of jansson tree)
 * and unpacked when a controller reads them; the unpacked form is kept
 * until the owner of the cache calls ctrl_cache_trim, between syncs, which
 * keeps only the most recently read (CTRL_CACHE_HOT in the server). The
 * object put is not kept: freed at once by its caller, while in the CPU's
 * cache, it costs less than freed later with a batch gone cold. Other
 * objects are kept as handed in: a reference, never modified, so that a
 * watch event costs one parse, done by the caller. Selections by labels
 * and by node read the packed form, and unpack only what they return. */
#include "ctrl/ctrl.h"
#include "ctrl/chains.h"
#include "ctrl/pack.h"

#include <stdlib.h>
#include <string.h>

/* the resources kept packed */
static const char *const packed_resources[] = { "pods" };

/* An object's groups, by slot. */
enum { S_NS, S_OWNER, S_NODE, NSLOTS };
/* What a group gathers: objects of a namespace (key: the namespace), of a
 * controller (its uid), without a controller in a namespace, on a node. */
enum { T_NS, T_OWNED, T_ORPHANS, T_NODE };

typedef struct res {
  struct res *next;
  bool packed;
  size_t count;
  char name[];
} res_t;

typedef struct entry entry_t;

typedef struct group {
  ctrl_link_t link; /* first: its chain and hash */
  res_t *res;
  int type;
  entry_t **v; /* the members, in no order */
  size_t n, cap;
  char key[];
} group_t;

struct entry {
  ctrl_link_t link; /* first: its chain and hash */
  res_t *res;
  group_t *g[NSLOTS];  /* NULL: not in a group of that slot */
  uint32_t gi[NSLOTS]; /* its index in g[slot]->v */
  int64_t rv;
  json_t *obj;           /* the object; for a packed one, unpacked while hot (else NULL) */
  ctrl_packed_t *packed; /* packed resources */
  entry_t *hot_prev, *hot_next;
  char name[];
};

struct ctrl_cache {
  res_t *res;
  ctrl_chains_t entries, groups;
  ctrl_frags_t *frags;
  entry_t *hot_head, *hot_tail; /* most recently unpacked first */
  size_t nhot;
};

/* ---- hashing ------------------------------------------------------------------ */

static uint64_t hash3(const void *res, int type, const char *a, const char *b)
{
  uint64_t h = hash_fnv(HASH_FNV_BASIS, &res, sizeof res);
  h = hash_fnv(h, &type, sizeof type);
  h = hash_fnv(h, a, strlen(a) + 1);
  return b ? hash_fnv(h, b, strlen(b) + 1) : h;
}

/* ---- resources and groups ----------------------------------------------------- */

static res_t *res_get(ctrl_cache_t *c, const char *name, bool create)
{
  for (res_t *r = c->res; r; r = r->next)
    if (!strcmp(r->name, name))
      return r;
  if (!create)
    return NULL;
  size_t len = strlen(name);
  res_t *r = xcalloc(1, sizeof *r + len + 1);
  memcpy(r->name, name, len + 1);
  for (size_t i = 0; i < ARRAY_SIZE(packed_resources); i++)
    r->packed |= !strcmp(name, packed_resources[i]);
  r->next = c->res;
  c->res = r;
  return r;
}

static group_t *group_get(ctrl_cache_t *c, res_t *r, int type, const char *key, bool create)
{
  uint64_t h = hash3(r, type, key, NULL);
  for (group_t *g = (group_t *)ctrl_chain(&c->groups, h); g; g = (group_t *)g->link.next)
    if (g->link.hash == h && g->res == r && g->type == type && !strcmp(g->key, key))
      return g;
  if (!create)
    return NULL;
  size_t len = strlen(key);
  group_t *g = xcalloc(1, sizeof *g + len + 1);
  g->link.hash = h;
  g->res = r;
  g->type = type;
  memcpy(g->key, key, len + 1);
  ctrl_chains_add(&c->groups, &g->link);
  return g;
}

static void group_free(ctrl_link_t *l, void *arg)
{
  group_t *g = (group_t *)l;
  free(g->v);
  free(g);
}

static void group_join(ctrl_cache_t *c, entry_t *e, int slot, int type, const char *key)
{
  group_t *g = group_get(c, e->res, type, key, true);
  if (g->n == g->cap) {
    g->cap = g->cap ? g->cap * 2 : 4;
    g->v = xrealloc(g->v, g->cap * sizeof *g->v);
  }
  e->g[slot] = g;
  e->gi[slot] = (uint32_t)g->n;
  g->v[g->n++] = e;
}

static void group_leave(ctrl_cache_t *c, entry_t *e, int slot)
{
  group_t *g = e->g[slot];
  if (!g)
    return;
  entry_t *last = g->v[--g->n];
  g->v[e->gi[slot]] = last;
  last->gi[slot] = e->gi[slot];
  e->g[slot] = NULL;
  if (g->n && g->n < g->cap / 4 && g->cap > 64) { /* a scale-down of thousands */
    g->cap /= 2;
    g->v = xrealloc(g->v, g->cap * sizeof *g->v);
  }
  if (g->n)
    return;
  ctrl_chains_del(&c->groups, &g->link);
  group_free(&g->link, NULL);
}

/* ---- unpacked objects ----------------------------------------------------------- */

static void hot_unlink(ctrl_cache_t *c, entry_t *e)
{
  if (e->hot_prev)
    e->hot_prev->hot_next = e->hot_next;
  else
    c->hot_head = e->hot_next;
  if (e->hot_next)
    e->hot_next->hot_prev = e->hot_prev;
  else
    c->hot_tail = e->hot_prev;
  e->hot_prev = e->hot_next = NULL;
  c->nhot--;
}

static void hot_push(ctrl_cache_t *c, entry_t *e)
{
  e->hot_prev = NULL;
  e->hot_next = c->hot_head;
  if (c->hot_head)
    c->hot_head->hot_prev = e;
  else
    c->hot_tail = e;
  c->hot_head = e;
  c->nhot++;
}

/* The object of e (borrowed), unpacked if need be. */
static json_t *entry_obj(ctrl_cache_t *c, entry_t *e)
{
  if (!e->packed)
    return e->obj;
  if (e->obj) {
    hot_unlink(c, e);
  } else {
    e->obj = ctrl_unpack(e->packed);
  }
  hot_push(c, e);
  return e->obj;
}

/* The object of e as a new reference, without keeping it hot. */
static json_t *entry_take(entry_t *e)
{
  return e->obj ? json_incref(e->obj) : ctrl_unpack(e->packed);
}

static json_t *entry_labels(entry_t *e)
{
  if (e->packed)
    return ctrl_packed_labels(e->packed);
  return json_object_get(json_object_get(e->obj, "metadata"), "labels");
}

void ctrl_cache_trim(ctrl_cache_t *c, size_t keep)
{
  while (c->nhot > keep) {
    entry_t *e = c->hot_tail;
    hot_unlink(c, e);
    json_decref(e->obj);
    e->obj = NULL;
  }
}

/* ---- objects -------------------------------------------------------------------- */

ctrl_cache_t *ctrl_cache_new(void)
{
  ctrl_cache_t *c = xcalloc(1, sizeof *c);
  ctrl_chains_init(&c->entries);
  ctrl_chains_init(&c->groups);
  c->frags = ctrl_frags_new();
  return c;
}

static void entry_free(ctrl_cache_t *c, entry_t *e)
{
  json_decref(e->obj);
  ctrl_packed_free(c->frags, e->packed);
  free(e);
}

static void entry_free_link(ctrl_link_t *l, void *c)
{
  entry_free(c, (entry_t *)l);
}

void ctrl_cache_free(ctrl_cache_t *c)
{
  if (!c)
    return;
  ctrl_chains_free(&c->entries, entry_free_link, c);
  ctrl_chains_free(&c->groups, group_free, NULL);
  for (res_t *r = c->res, *next; r; r = next) {
    next = r->next;
    free(r);
  }
  ctrl_frags_free(c->frags);
  free(c);
}

static const char *entry_ns(const entry_t *e)
{
  return e->g[S_NS]->key;
}

static entry_t *entry_find(ctrl_cache_t *c, const char *resource, const char *ns, const char *name)
{
  res_t *r = resource && name ? res_get(c, resource, false) : NULL;
  if (!r)
    return NULL;
  ns = ns ? ns : "";
  uint64_t h = hash3(r, 0, ns, name);
  for (entry_t *e = (entry_t *)ctrl_chain(&c->entries, h); e; e = (entry_t *)e->link.next)
    if (e->link.hash == h && e->res == r && !strcmp(e->name, name) && !strcmp(entry_ns(e), ns))
      return e;
  return NULL;
}

static const char *owner_uid(json_t *obj)
{
  json_t *ref = ctrl_controller_ref(obj);
  return ref ? json_str(ref, "uid") : NULL;
}

static int64_t rv_of(json_t *obj)
{
  const char *rv = json_str(json_object_get(obj, "metadata"), "resourceVersion");
  return rv ? strtoll(rv, NULL, 10) : 0;
}

static void entry_add(ctrl_cache_t *c, res_t *r, const char *ns, const char *name, json_t *obj)
{
  size_t len = strlen(name);
  entry_t *e = xcalloc(1, sizeof *e + len + 1);
  memcpy(e->name, name, len + 1);
  e->res = r;
  e->link.hash = hash3(r, 0, ns, name);
  e->rv = rv_of(obj);
  if (r->packed)
    e->packed = ctrl_pack(c->frags, obj);
  else
    e->obj = json_incref(obj);
  ctrl_chains_add(&c->entries, &e->link);
  r->count++;
  group_join(c, e, S_NS, T_NS, ns);
  const char *uid = owner_uid(obj);
  if (uid)
    group_join(c, e, S_OWNER, T_OWNED, uid);
  else
    group_join(c, e, S_OWNER, T_ORPHANS, ns);
  const char *node = json_str(json_object_get(obj, "spec"), "nodeName");
  if (node)
    group_join(c, e, S_NODE, T_NODE, node);
}

static void entry_del(ctrl_cache_t *c, entry_t *e)
{
  ctrl_chains_del(&c->entries, &e->link);
  e->res->count--;
  if (e->packed && e->obj)
    hot_unlink(c, e);
  for (int s = NSLOTS; s-- > 0;) /* S_NS last: its key is the namespace */
    group_leave(c, e, s);
  entry_free(c, e);
}

json_t *ctrl_cache_put(ctrl_cache_t *c, const char *resource, json_t *obj)
{
  json_t *md = json_object_get(obj, "metadata");
  const char *ns = json_str(md, "namespace") ?: "", *name = json_str(md, "name");
  if (!name)
    return NULL;
  entry_t *e = entry_find(c, resource, ns, name);
  if (e && rv_of(obj) < e->rv)
    return NULL;
  json_t *old = NULL;
  if (e) {
    old = entry_take(e);
    entry_del(c, e);
  }
  entry_add(c, res_get(c, resource, true), ns, name, obj);
  return old;
}

json_t *ctrl_cache_remove(ctrl_cache_t *c, const char *resource, const char *ns, const char *name)
{
  entry_t *e = entry_find(c, resource, ns, name);
  if (!e)
    return NULL;
  json_t *old = entry_take(e);
  entry_del(c, e);
  return old;
}

json_t *ctrl_cache_get(ctrl_cache_t *c, const char *resource, const char *ns, const char *name)
{
  entry_t *e = entry_find(c, resource, ns, name);
  return e ? entry_obj(c, e) : NULL;
}

int64_t ctrl_cache_version(ctrl_cache_t *c, const char *resource, const char *ns, const char *name)
{
  entry_t *e = entry_find(c, resource, ns, name);
  return e ? e->rv : -1;
}

size_t ctrl_cache_count(ctrl_cache_t *c, const char *resource)
{
  res_t *r = res_get(c, resource, false);
  return r ? r->count : 0;
}

/* ---- selections ----------------------------------------------------------------- */

typedef struct evec {
  entry_t **v;
  size_t n, cap;
} evec_t;

static void evec_add(evec_t *v, entry_t *e)
{
  if (v->n == v->cap) {
    v->cap = v->cap ? v->cap * 2 : 64;
    v->v = xrealloc(v->v, v->cap * sizeof *v->v);
  }
  v->v[v->n++] = e;
}

static void evec_add_group(evec_t *v, group_t *g)
{
  for (size_t i = 0; g && i < g->n; i++)
    evec_add(v, g->v[i]);
}

/* Every group of resource r of type (any key). */
static void evec_add_groups(ctrl_cache_t *c, evec_t *v, res_t *r, int type)
{
  for (size_t i = 0; r && i < c->groups.nb; i++)
    for (group_t *g = (group_t *)c->groups.b[i]; g; g = (group_t *)g->link.next)
      if (g->res == r && g->type == type)
        evec_add_group(v, g);
}

static int by_ns_name(const void *a, const void *b)
{
  const entry_t *x = *(entry_t *const *)a, *y = *(entry_t *const *)b;
  int d = strcmp(entry_ns(x), entry_ns(y));
  return d ? d : strcmp(x->name, y->name);
}

/* The objects of v (those whose labels sel matches when selecting), sorted
 * by namespace then name, as a new array; frees v. */
static json_t *evec_objects(ctrl_cache_t *c, evec_t *v, bool selecting,
                            const api_label_selector_t *sel)
{
  json_t *out = json_array();
  if (v->n > 1)
    qsort(v->v, v->n, sizeof *v->v, by_ns_name);
  for (size_t i = 0; i < v->n; i++) {
    json_t *labels = selecting ? entry_labels(v->v[i]) : NULL;
    if (!selecting || api_label_selector_matches(sel, json_is_object(labels) ? labels : NULL))
      json_array_append(out, entry_obj(c, v->v[i]));
  }
  free(v->v);
  return out;
}

static json_t *list_ns(ctrl_cache_t *c, const char *resource, int type, const char *ns,
                       bool selecting, const api_label_selector_t *sel)
{
  evec_t v = { 0 };
  res_t *r = res_get(c, resource, false);
  if (r && ns)
    evec_add_group(&v, group_get(c, r, type, ns, false));
  else
    evec_add_groups(c, &v, r, type);
  return evec_objects(c, &v, selecting, sel);
}

json_t *ctrl_cache_list(ctrl_cache_t *c, const char *resource, const char *ns)
{
  return list_ns(c, resource, T_NS, ns, false, NULL);
}

json_t *ctrl_cache_list_selected(ctrl_cache_t *c, const char *resource, const char *ns,
                                 const api_label_selector_t *sel)
{
  return list_ns(c, resource, T_NS, ns, true, sel);
}

json_t *ctrl_cache_orphans(ctrl_cache_t *c, const char *resource, const char *ns)
{
  return list_ns(c, resource, T_ORPHANS, ns, false, NULL);
}

json_t *ctrl_cache_orphans_selected(ctrl_cache_t *c, const char *resource, const char *ns,
                                    const api_label_selector_t *sel)
{
  return list_ns(c, resource, T_ORPHANS, ns, true, sel);
}

static json_t *list_key(ctrl_cache_t *c, const char *resource, int type, const char *key)
{
  evec_t v = { 0 };
  res_t *r = res_get(c, resource, false);
  if (r && key)
    evec_add_group(&v, group_get(c, r, type, key, false));
  return evec_objects(c, &v, false, NULL);
}

json_t *ctrl_cache_owned(ctrl_cache_t *c, const char *resource, const char *owner)
{
  return list_key(c, resource, T_OWNED, owner);
}

json_t *ctrl_cache_on_node(ctrl_cache_t *c, const char *resource, const char *node)
{
  return list_key(c, resource, T_NODE, node);
}
