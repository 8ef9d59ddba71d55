/* gc.c — the ownerReference garbage collector: an object whose every owner
 * (metadata.ownerReferences[].uid) is gone is deleted, as Kubernetes'
 * garbage collector does with background propagation. Deleting an owner
 * deletes its dependents, their deletion deletes theirs, and so on.
 *
 * One thread. It lists everything under /registry/ once, into an index that
 * holds only uids, keys and owner uids (never objects): uid → (key, owners)
 * and owner uid → dependents; events without owners only once something
 * names them (see skipped). Then it follows one store watch from the
 * list's revision, in revision order, so an owner written before its
 * dependent is always in the index when the dependent's event comes. A
 * candidate (a dependent whose owners the index says are all gone) is
 * checked against the store before it is deleted: each ownerReference is
 * looked up by kind and name and must be missing or carry another uid. That
 * covers an owner the index has not seen yet, and is what Kubernetes does
 * ("verify absent owners"). An owner whose kind is not served, or a
 * namespaced owner of a cluster-scoped object, cannot be verified: such a
 * dependent stays. A watch that loses its history (410 Expired) re-lists. */
#include "server/internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GC_PREFIX     "/registry/"
#define GC_PAGE       500
#define GC_RETRY_MS   1000
#define GC_MIN_BUCKET 1024

/* One uid the collector knows: an object (key set) or an owner that dependents
 * still name although it is gone (key NULL). */
typedef struct gc_obj {
  char *uid;
  char *key;
  char **owners; /* owner uids, NULL-terminated; NULL when none */
  char **deps;   /* uids of objects naming this one as an owner */
  size_t n_deps, cap_deps;
  struct gc_obj *next; /* hash chain */
} gc_obj_t;

typedef struct srv_gc {
  srv_t *srv;
  srv_bg_t bg;
  gc_obj_t **buckets;
  size_t n_buckets, n;
} srv_gc_t;

/* ---- the index: a chained hash table keyed by uid ------------------------ */

static gc_obj_t *idx_get(srv_gc_t *g, const char *uid)
{
  for (gc_obj_t *o = g->buckets[hash_str(uid) % g->n_buckets]; o; o = o->next)
    if (!strcmp(o->uid, uid))
      return o;
  return NULL;
}

static void idx_grow(srv_gc_t *g)
{
  size_t nb = g->n_buckets * 2;
  gc_obj_t **b = xcalloc(nb, sizeof *b);
  for (size_t i = 0; i < g->n_buckets; i++)
    for (gc_obj_t *o = g->buckets[i], *next; o; o = next) {
      next = o->next;
      size_t h = hash_str(o->uid) % nb;
      o->next = b[h];
      b[h] = o;
    }
  free(g->buckets);
  g->buckets = b;
  g->n_buckets = nb;
}

static gc_obj_t *idx_get_or_add(srv_gc_t *g, const char *uid)
{
  gc_obj_t *o = idx_get(g, uid);
  if (o)
    return o;
  if (g->n >= 2 * g->n_buckets)
    idx_grow(g);
  o = xcalloc(1, sizeof *o);
  o->uid = xstrdup(uid);
  size_t h = hash_str(uid) % g->n_buckets;
  o->next = g->buckets[h];
  g->buckets[h] = o;
  g->n++;
  return o;
}

static void obj_free(gc_obj_t *o)
{
  free(o->uid);
  free(o->key);
  strv_free(o->owners);
  for (size_t i = 0; i < o->n_deps; i++)
    free(o->deps[i]);
  free(o->deps);
  free(o);
}

/* Drops an entry that no longer tells anything: gone, and named by nobody. */
static void idx_maybe_drop(srv_gc_t *g, gc_obj_t *o)
{
  if (o->key || o->n_deps > 0)
    return;
  for (gc_obj_t **p = &g->buckets[hash_str(o->uid) % g->n_buckets]; *p; p = &(*p)->next)
    if (*p == o) {
      *p = o->next;
      g->n--;
      obj_free(o);
      return;
    }
}

static void idx_clear(srv_gc_t *g)
{
  for (size_t i = 0; i < g->n_buckets; i++)
    for (gc_obj_t *o = g->buckets[i], *next; o; o = next) {
      next = o->next;
      obj_free(o);
    }
  free(g->buckets);
  g->n_buckets = GC_MIN_BUCKET;
  g->buckets = xcalloc(g->n_buckets, sizeof *g->buckets);
  g->n = 0;
}

static void dep_add(gc_obj_t *owner, const char *uid)
{
  for (size_t i = 0; i < owner->n_deps; i++)
    if (!strcmp(owner->deps[i], uid))
      return;
  if (owner->n_deps == owner->cap_deps) {
    owner->cap_deps = owner->cap_deps ? 2 * owner->cap_deps : 2;
    owner->deps = xrealloc(owner->deps, owner->cap_deps * sizeof *owner->deps);
  }
  owner->deps[owner->n_deps++] = xstrdup(uid);
}

static void dep_remove(srv_gc_t *g, const char *owner_uid, const char *uid)
{
  gc_obj_t *owner = idx_get(g, owner_uid);
  if (!owner)
    return;
  for (size_t i = 0; i < owner->n_deps; i++)
    if (!strcmp(owner->deps[i], uid)) {
      free(owner->deps[i]);
      owner->deps[i] = owner->deps[--owner->n_deps];
      break;
    }
  idx_maybe_drop(g, owner);
}

static bool strv_has(char *const *v, const char *s)
{
  for (; v && *v; v++)
    if (!strcmp(*v, s))
      return true;
  return false;
}

/* An object was written: key now holds uid, owned by owners (stolen). */
static void idx_put(srv_gc_t *g, const char *uid, const char *key, char **owners)
{
  gc_obj_t *o = idx_get_or_add(g, uid);
  for (char **p = o->owners; p && *p; p++)
    if (!strv_has(owners, *p) && strcmp(*p, uid))
      dep_remove(g, *p, uid);
  for (char **p = owners; p && *p; p++)
    if (!strv_has(o->owners, *p) && strcmp(*p, uid))
      dep_add(idx_get_or_add(g, *p), uid);
  /* dep_add may have grown the table; o itself did not move. */
  strv_free(o->owners);
  o->owners = owners;
  free(o->key);
  o->key = xstrdup(key);
}

/* The object with uid is gone: returns its dependents (a copy), and forgets
 * it unless they still name it. */
static char **idx_del(srv_gc_t *g, const char *uid)
{
  gc_obj_t *o = idx_get(g, uid);
  if (!o)
    return NULL;
  char **deps = NULL;
  for (size_t i = 0; i < o->n_deps; i++)
    strv_push(&deps, o->deps[i]);
  free(o->key);
  o->key = NULL;
  char **owners = steal_ptr(o->owners);
  idx_maybe_drop(g, o);
  for (char **p = owners; p && *p; p++)
    dep_remove(g, *p, uid);
  strv_free(owners);
  return deps;
}

static bool present(srv_gc_t *g, const char *uid)
{
  gc_obj_t *o = idx_get(g, uid);
  return o && o->key;
}

/* True when o has owners and the index has none of them. */
static bool owners_gone(srv_gc_t *g, const gc_obj_t *o)
{
  if (!o || !o->key || !o->owners || !o->owners[0])
    return false;
  for (char **p = o->owners; *p; p++)
    if (present(g, *p))
      return false;
  return true;
}

/* ---- objects ------------------------------------------------------------- */

static int metadata_span(void *arg, const char *key, size_t klen, const char *vs, const char *ve)
{
  const char **span = arg;
  if (klen != 8 || memcmp(key, "metadata", 8))
    return 0;
  span[0] = vs;
  span[1] = ve;
  return 1;
}

/* metadata.uid and the owner uids of a stored object; false without a uid.
 * Every write in the cluster comes here: only the metadata member is
 * decoded (a pod is mostly spec), found in the stored bytes (rawjson.c). */
static bool parse_obj(const char *value, size_t len, char **uid, char ***owners)
{
  *uid = NULL;
  *owners = NULL;
  const char *span[2] = { NULL, NULL };
  cleanup_json json_t *o = NULL;
  json_t *meta, *ref;
  if (srv_rj_members(value, value + len, metadata_span, span) == 1) {
    o = json_loadb(span[0], (size_t)(span[1] - span[0]), 0, NULL);
    meta = o;
  } else {
    o = json_loadb(value, len, JSON_DISABLE_EOF_CHECK, NULL);
    meta = json_object_get(o, "metadata");
  }
  const char *u = json_str(meta, "uid");
  if (!u || !*u)
    return false;
  *uid = xstrdup(u);
  size_t i;
  json_array_foreach(json_object_get(meta, "ownerReferences"), i, ref)
  {
    const char *ou = json_str(ref, "uid");
    if (ou && *ou && !strv_has(*owners, ou))
      strv_push(owners, ou);
  }
  return true;
}

/* "/registry/<resource>/[<ns>/]<name>" → kind, namespace and name. */
static const srv_kind_t *parse_key(const char *key, char **ns, char **name)
{
  *ns = *name = NULL;
  if (!str_has_prefix(key, GC_PREFIX))
    return NULL;
  const char *res = key + strlen(GC_PREFIX), *slash = strchr(res, '/');
  if (!slash)
    return NULL;
  cleanup_free char *resource = xstrndup(res, (size_t)(slash - res));
  const srv_kind_t *k = srv_kind_by_resource(resource);
  if (!k)
    return NULL;
  const char *rest = slash + 1;
  if (k->namespaced) {
    const char *s2 = strchr(rest, '/');
    if (!s2 || !s2[1] || strchr(s2 + 1, '/'))
      return NULL;
    *ns = xstrndup(rest, (size_t)(s2 - rest));
    *name = xstrdup(s2 + 1);
  } else {
    if (!*rest || strchr(rest, '/'))
      return NULL;
    *name = xstrdup(rest);
  }
  return k;
}

/* The served kind an ownerReference names (group from apiVersion, kind). */
static const srv_kind_t *ref_kind(json_t *ref)
{
  const char *av = json_str(ref, "apiVersion"), *kind = json_str(ref, "kind");
  if (!av || !kind)
    return NULL;
  const char *slash = strchr(av, '/');
  cleanup_free char *group = slash ? xstrndup(av, (size_t)(slash - av)) : xstrdup("");
  size_t n;
  const srv_kind_t *ks = srv_kinds(&n);
  for (size_t i = 0; i < n; i++)
    if (!strcmp(ks[i].kind, kind) && !strcmp(ks[i].group, group))
      return &ks[i];
  return NULL;
}

typedef enum { OWNER_PRESENT, OWNER_ABSENT, OWNER_UNKNOWN } owner_state_t;

/* Looks the owner up in the store, as Kubernetes verifies absent owners. */
static owner_state_t owner_state(srv_t *s, json_t *ref, const char *dep_ns)
{
  const srv_kind_t *k = ref_kind(ref);
  const char *name = json_str(ref, "name"), *uid = json_str(ref, "uid");
  if (!k || !name || !*name || !uid)
    return OWNER_UNKNOWN;
  if (k->namespaced && !dep_ns)
    return OWNER_UNKNOWN; /* a namespaced owner of a cluster-scoped object */
  cleanup_free char *key = k->namespaced
                               ? xasprintf(GC_PREFIX "%s/%s/%s", k->resource, dep_ns, name)
                               : xasprintf(GC_PREFIX "%s/%s", k->resource, name);
  store_kv_t kv = { 0 };
  berr_t err = BERR_INIT;
  if (store_get(s->store, key, &kv, NULL, &err) < 0) {
    owner_state_t st = err.code == ENOENT ? OWNER_ABSENT : OWNER_UNKNOWN;
    berr_clear(&err);
    return st;
  }
  char *ouid = NULL, **owners = NULL;
  parse_obj(kv.value, kv.len, &ouid, &owners);
  store_kv_free(&kv);
  owner_state_t st = ouid && !strcmp(ouid, uid) ? OWNER_PRESENT : OWNER_ABSENT;
  free(ouid);
  strv_free(owners);
  return st;
}

/* Deletes the object at key if the store confirms that every owner it names
 * now is gone. */
static void collect(srv_gc_t *g, const char *key, const char *uid)
{
  srv_t *s = g->srv;
  cleanup_free char *ns = NULL, *name = NULL;
  const srv_kind_t *k = parse_key(key, &ns, &name);
  if (!k)
    return;
  store_kv_t kv = { 0 };
  berr_t err = BERR_INIT;
  if (store_get(s->store, key, &kv, NULL, &err) < 0)
    return berr_clear(&err);
  cleanup_json json_t *o = json_loadb(kv.value, kv.len, 0, NULL);
  store_kv_free(&kv);
  json_t *meta = json_object_get(o, "metadata"), *ref,
         *refs = json_object_get(meta, "ownerReferences");
  const char *cur_uid = json_str(meta, "uid");
  if (!cur_uid || strcmp(cur_uid, uid) || json_array_size(refs) == 0)
    return; /* replaced, or orphaned by an update: not ours to delete */
  if (json_str(meta, "deletionTimestamp"))
    return; /* being deleted already (a pod waiting for its node, finalizers) */
  size_t i;
  json_array_foreach(refs, i, ref)
  {
    owner_state_t st = owner_state(s, ref, ns);
    if (st == OWNER_PRESENT)
      return;
    if (st == OWNER_UNKNOWN) {
      log_debug("msg=\"gc: cannot verify owner\" key=%s owner=%s/%s", key,
                json_str(ref, "kind") ? json_str(ref, "kind") : "",
                json_str(ref, "name") ? json_str(ref, "name") : "");
      return;
    }
  }
  ref = json_array_get(refs, 0);
  log_info("msg=\"gc: deleting\" key=%s owner=%s/%s owner_uid=%s owners=%zu", key,
           json_str(ref, "kind") ? json_str(ref, "kind") : "",
           json_str(ref, "name") ? json_str(ref, "name") : "",
           json_str(ref, "uid") ? json_str(ref, "uid") : "", json_array_size(refs));
  if (srv_obj_delete(s, k, ns, name, uid, &err) < 0 && err.code != ENOENT && err.code != ESTALE)
    log_warn("msg=\"gc: delete failed\" key=%s err=\"%s\"", key, err.msg ? err.msg : "");
  berr_clear(&err);
}

static void check(srv_gc_t *g, const char *uid)
{
  gc_obj_t *o = idx_get(g, uid);
  if (!owners_gone(g, o))
    return;
  cleanup_free char *key = xstrdup(o->key), *u = xstrdup(uid);
  collect(g, key, u);
}

/* ---- the thread ---------------------------------------------------------- */

static bool stopped(srv_gc_t *g, int timeout_ms)
{
  return srv_bg_stopped(&g->bg, timeout_ms);
}

/* Events come by the thousand (one per pod scheduled, at least) and own
 * nothing: one without owners is indexed only once a dependent names it
 * (idx_put made an entry for it), so that its deletion still reaches its
 * dependents. Until then a dependent naming it has it verified in the store
 * (collect), as an owner the index has not seen. Halves the index of a
 * cluster of pods. */
static bool skipped(srv_gc_t *g, const char *key, const char *uid, char **owners)
{
  return !owners && str_has_prefix(key, GC_PREFIX "events/") && !idx_get(g, uid);
}

static void on_put(srv_gc_t *g, const char *key, const char *value, size_t len)
{
  char *uid, **owners;
  if (!parse_obj(value, len, &uid, &owners))
    return;
  if (skipped(g, key, uid, owners)) {
    free(uid);
    return;
  }
  bool owned = owners != NULL;
  idx_put(g, uid, key, owners);
  if (owned)
    check(g, uid);
  free(uid);
}

static void on_delete(srv_gc_t *g, const char *value, size_t len)
{
  char *uid, **owners;
  if (!parse_obj(value, len, &uid, &owners))
    return;
  strv_free(owners);
  char **deps = idx_del(g, uid);
  for (char **d = deps; d && *d; d++)
    check(g, *d);
  strv_free(deps);
  free(uid);
}

/* Fills the index from a list of everything; *rev is where the watch
 * resumes. */
static int relist(srv_gc_t *g, int64_t *rev, berr_t *err)
{
  idx_clear(g);
  store_list_req_t lr = { .prefix = GC_PREFIX, .limit = GC_PAGE };
  cleanup_free char *after = NULL;
  for (;;) {
    store_list_t l = { 0 };
    lr.after = after;
    if (store_list(g->srv->store, &lr, &l, err) < 0)
      return -1;
    for (size_t i = 0; i < l.n; i++) {
      char *uid, **owners;
      if (parse_obj(l.items[i].value, l.items[i].len, &uid, &owners)
          && !skipped(g, l.items[i].key, uid, owners))
        idx_put(g, uid, l.items[i].key, owners);
      free(uid);
    }
    lr.rev = l.rev;
    free(after);
    after = steal_ptr(l.more_after);
    store_list_free(&l);
    if (!after)
      break;
  }
  *rev = lr.rev;
  /* Dependents whose owners went while nobody watched. */
  char **cands = NULL;
  for (size_t i = 0; i < g->n_buckets; i++)
    for (gc_obj_t *o = g->buckets[i]; o; o = o->next)
      if (owners_gone(g, o))
        strv_push(&cands, o->uid);
  for (char **c = cands; c && *c; c++)
    check(g, *c);
  strv_free(cands);
  log_debug("msg=\"gc: indexed\" uids=%zu rev=%lld", g->n, (long long)*rev);
  return 0;
}

/* Follows the watch until it expires (0: re-list), the store closes or the
 * collector stops (-1). */
static int follow(srv_gc_t *g, int64_t rev)
{
  store_watch_t *w = NULL;
  berr_t err = BERR_INIT;
  int ret = 0;
  if (store_watch(g->srv->store, GC_PREFIX, true, rev, &w, &err) < 0) {
    ret = err.code == STORE_EEXPIRED ? 0
          : err.code == ESHUTDOWN    ? -1
                                     : (stopped(g, GC_RETRY_MS) ? -1 : 0);
    goto out;
  }
  for (;;) {
    struct pollfd p[2] = { { .fd = store_watch_fd(w), .events = POLLIN },
                           { .fd = g->bg.stop_fd, .events = POLLIN } };
    if (poll(p, 2, -1) < 0 && errno != EINTR) {
      ret = -1;
      break;
    }
    if (p[1].revents) {
      ret = -1;
      break;
    }
    const store_event_t *ev;
    int rc;
    while ((rc = store_watch_next(w, &ev, &err)) == 1) {
      if (ev->type == STORE_PUT)
        on_put(g, ev->key, ev->value, ev->len);
      else
        on_delete(g, ev->value, ev->len);
      store_event_release(ev);
    }
    if (rc < 0) {
      if (err.code == STORE_EEXPIRED)
        log_info("msg=\"gc: watch expired, re-listing\" err=\"%s\"", err.msg);
      ret = err.code == STORE_EEXPIRED ? 0 : -1;
      break;
    }
  }
out:
  if (err.msg && err.code != STORE_EEXPIRED && err.code != ESHUTDOWN)
    log_warn("msg=\"gc: watch failed\" err=\"%s\"", err.msg);
  berr_clear(&err);
  store_watch_close(w);
  return ret;
}

static void *gc_main(void *arg)
{
  srv_gc_t *g = arg;
  while (!stopped(g, 0)) {
    int64_t rev = 0;
    berr_t err = BERR_INIT;
    if (relist(g, &rev, &err) < 0) {
      bool shut = err.code == ESHUTDOWN;
      if (!shut)
        log_warn("msg=\"gc: list failed\" err=\"%s\"", err.msg ? err.msg : "");
      berr_clear(&err);
      if (shut || stopped(g, GC_RETRY_MS))
        break;
      continue;
    }
    if (follow(g, rev) < 0)
      break;
  }
  return NULL;
}

int srv_gc_start(srv_t *s, berr_t *err)
{
  srv_gc_t *g = xcalloc(1, sizeof *g);
  g->srv = s;
  g->n_buckets = GC_MIN_BUCKET;
  g->buckets = xcalloc(g->n_buckets, sizeof *g->buckets);
  if (srv_bg_start(&g->bg, "garbage collector", gc_main, g, err) < 0) {
    free(g->buckets);
    free(g);
    return -1;
  }
  s->gc = g;
  return 0;
}

void srv_gc_stop(srv_t *s)
{
  srv_gc_t *g = s->gc;
  if (!g)
    return;
  srv_bg_stop(&g->bg);
  idx_clear(g);
  free(g->buckets);
  free(g);
  s->gc = NULL;
}
