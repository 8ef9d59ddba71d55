/* smp.c — strategic merge patch, as `kubectl apply` sends it for built-in kinds.
 *
 * A strategic merge patch is a JSON merge patch that knows, for some lists,
 * how to merge them element by element: Kubernetes declares a patch merge key
 * on those fields in its Go types (containers by name, volumeMounts by
 * mountPath…); every other list is replaced whole. berth has no Go types, so
 * the declarations live in merge_keys[] below: a row names a kind (or every
 * kind) and a path suffix, and new kinds add rows, not code. Paths are the
 * object's keys joined by dots with list levels left out, and a row matches
 * when its path is a suffix at a key boundary, so "spec.containers" covers a
 * Pod and every pod template (spec.template.spec.containers, CronJob's
 * spec.jobTemplate.spec.template.spec.containers).
 *
 * The merge follows k8s.io/apimachinery pkg/util/strategicpatch (mergeMap,
 * mergeSlice and their directive handling), including how it orders a merged
 * list: the patch's elements in the patch's order, interleaved with the
 * elements only the server had, each kept where it was relative to the others.
 * Directives: "$patch": replace|delete|merge on maps and list elements,
 * "$retainKeys", "$setElementOrder/<list>", "$deleteFromPrimitiveList/<list>".
 *
 * Where a value from the patch is taken whole (the server had nothing there),
 * upstream copies directive keys along and relies on Go's typed decoding to
 * drop them; berth stores JSON, so it strips them (clean_value()).
 */
#include "api/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct merge_key_row {
  const char *kind; /* NULL: every kind */
  const char *path; /* suffix of the list's path */
  const char *key;  /* merge key; "" for a set of scalars */
} merge_key_row_t;

static const merge_key_row_t merge_keys[] = {
  /* ObjectMeta */
  { NULL, "metadata.finalizers", "" },
  { NULL, "metadata.ownerReferences", "uid" },
  /* PodSpec: in Pods and in every pod template */
  { NULL, "spec.containers", "name" },
  { NULL, "spec.initContainers", "name" },
  { NULL, "spec.ephemeralContainers", "name" },
  { NULL, "spec.volumes", "name" },
  { NULL, "spec.imagePullSecrets", "name" },
  { NULL, "spec.hostAliases", "ip" },
  { NULL, "spec.topologySpreadConstraints", "topologyKey" },
  { NULL, "spec.schedulingGates", "name" },
  { NULL, "spec.resourceClaims", "name" },
  /* Container, init and ephemeral containers alike */
  { NULL, "containers.ports", "containerPort" },
  { NULL, "initContainers.ports", "containerPort" },
  { NULL, "ephemeralContainers.ports", "containerPort" },
  { NULL, "containers.env", "name" },
  { NULL, "initContainers.env", "name" },
  { NULL, "ephemeralContainers.env", "name" },
  { NULL, "containers.volumeMounts", "mountPath" },
  { NULL, "initContainers.volumeMounts", "mountPath" },
  { NULL, "ephemeralContainers.volumeMounts", "mountPath" },
  { NULL, "containers.volumeDevices", "devicePath" },
  { NULL, "initContainers.volumeDevices", "devicePath" },
  { NULL, "ephemeralContainers.volumeDevices", "devicePath" },
  /* status of pods, nodes, namespaces and the workload kinds */
  { NULL, "status.conditions", "type" },
  { "Pod", "status.podIPs", "ip" },
  { "Pod", "status.hostIPs", "ip" },
  { "Node", "status.addresses", "type" },
  { "Node", "spec.podCIDRs", "" },
  { "Service", "spec.ports", "port" },
  { "ServiceAccount", "secrets", "name" },
};

static bool suffix_matches(const char *path, const char *suffix)
{
  size_t pl = strlen(path), sl = strlen(suffix);
  if (sl > pl || strcmp(path + pl - sl, suffix) != 0)
    return false;
  return pl == sl || path[pl - sl - 1] == '.';
}

const char *api_smp_merge_key(const char *kind, const char *path)
{
  for (size_t i = 0; i < ARRAY_SIZE(merge_keys); i++) {
    const merge_key_row_t *r = &merge_keys[i];
    if (r->kind && (!kind || strcmp(r->kind, kind) != 0))
      continue;
    if (suffix_matches(path, r->path))
      return r->key;
  }
  return NULL;
}

#define DIRECTIVE        "$patch"
#define RETAIN_KEYS      "$retainKeys"
#define SET_ORDER_PREFIX "$setElementOrder/"
#define DELETE_PREFIX    "$deleteFromPrimitiveList/"

typedef struct smp {
  const char *kind;
  berr_t *err;
} smp_t;

static int smp_fail(smp_t *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int smp_fail(smp_t *c, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  int rc = path && path[0] ? berr_setc(c->err, EINVAL, "%s: %s", path, msg)
                           : berr_setc(c->err, EINVAL, "%s", msg);
  free(msg);
  return rc;
}

static char *child_path(const char *path, const char *key)
{
  return path[0] ? xasprintf("%s.%s", path, key) : xstrdup(key);
}

static bool is_directive_key(const char *k)
{
  return !strcmp(k, DIRECTIVE) || !strcmp(k, RETAIN_KEYS) || str_has_prefix(k, SET_ORDER_PREFIX)
         || str_has_prefix(k, DELETE_PREFIX);
}

/* A patch value taken whole: directives and nulls removed. Returns NULL when
 * the value is to be dropped (a map marked "$patch": "delete", or any
 * directive element inside a list). */
static json_t *clean_value(json_t *v, bool in_list)
{
  if (json_is_object(v)) {
    const char *d = json_str(v, DIRECTIVE);
    if (d && (in_list || !strcmp(d, "delete")))
      return NULL;
    json_t *out = json_object();
    const char *k;
    json_t *m;
    json_object_foreach(v, k, m)
    {
      if (is_directive_key(k) || json_is_null(m))
        continue;
      json_t *c = clean_value(m, false);
      if (c)
        json_object_set_new(out, k, c);
    }
    return out;
  }
  if (json_is_array(v)) {
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
      json_t *c = clean_value(e, true);
      if (c)
        json_array_append_new(out, c);
    }
    return out;
  }
  return json_deep_copy(v);
}

/* ---- list ordering (upstream normalizeElementOrder) ---------------------- */

static json_t *item_key(json_t *item, const char *key)
{
  return key && key[0] ? json_object_get(item, key) : item;
}

static bool same_item(json_t *a, json_t *b, const char *key)
{
  json_t *x = item_key(a, key), *y = item_key(b, key);
  if (!x || !y)
    return !x && !y;
  return api_json_equal(x, y);
}

static size_t index_of(json_t *list, json_t *item, const char *key)
{
  for (size_t i = 0; i < json_array_size(list); i++)
    if (same_item(json_array_get(list, i), item, key))
      return i;
  return SIZE_MAX;
}

typedef struct ent {
  json_t *v;
  size_t pos; /* position in the order list, SIZE_MAX when absent */
  size_t seq; /* position in its own list: keeps the sort stable */
  size_t srv; /* position in the server's list (for interleaving) */
} ent_t;

static int cmp_ent(const void *a, const void *b)
{
  const ent_t *x = a, *y = b;
  if (x->pos != y->pos)
    return x->pos < y->pos ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* items sorted by their position in order (stably); each position is looked
 * up once, so this stays O(n·m) for hostile list sizes. */
static ent_t *sorted_entries(json_t *items, json_t *order, json_t *server, const char *key)
{
  size_t n = json_array_size(items);
  ent_t *e = xcalloc(n ? n : 1, sizeof *e);
  for (size_t i = 0; i < n; i++) {
    e[i].v = json_array_get(items, i);
    e[i].pos = index_of(order, e[i].v, key);
    e[i].seq = i;
    e[i].srv = order == server ? e[i].pos : index_of(server, e[i].v, key);
  }
  qsort(e, n, sizeof *e, cmp_ent);
  return e;
}

/* Splits merged into the items present in by (patch) and the rest (server). */
static void partition(json_t *merged, json_t *by, const char *key, json_t **in, json_t **out)
{
  *in = json_array();
  *out = json_array();
  size_t i;
  json_t *e;
  json_array_foreach(merged, i, e)
  {
    json_array_append(index_of(by, e, key) != SIZE_MAX ? *in : *out, e);
  }
}

/* The patch's items in patch order, the server-only items in server order,
 * interleaved: a server-only item goes first when the server had it before the
 * next patch item. Consumes patch_items and server_only. */
static json_t *normalize_order(json_t *patch_items, json_t *server_only, json_t *patch_order,
                               json_t *server_order, const char *key)
{
  ent_t *r = sorted_entries(patch_items, patch_order, server_order, key);
  ent_t *l = sorted_entries(server_only, server_order, server_order, key);
  json_t *out = json_array();
  size_t i = 0, j = 0, nl = json_array_size(server_only), nr = json_array_size(patch_items);
  while (i < nl || j < nr) {
    if (i >= nl)
      json_array_append(out, r[j++].v);
    else if (j >= nr)
      json_array_append(out, l[i++].v);
    else if (l[i].srv != SIZE_MAX && r[j].srv != SIZE_MAX && l[i].srv < r[j].srv)
      json_array_append(out, l[i++].v);
    else
      json_array_append(out, r[j++].v);
  }
  free(l);
  free(r);
  json_decref(patch_items);
  json_decref(server_only);
  return out;
}

/* ---- merging -------------------------------------------------------------- */

static int merge_map(smp_t *c, json_t **orig, json_t *patch, const char *path);

/* Checks that elements are all maps or all scalars; sets *maps. */
static int element_kind(smp_t *c, const char *path, json_t *a, json_t *b, bool *maps)
{
  int seen = -1; /* -1 none, 0 scalars, 1 maps */
  json_t *lists[2] = { a, b };
  for (int l = 0; l < 2; l++) {
    size_t i;
    json_t *e;
    json_array_foreach(lists[l], i, e)
    {
      if (json_is_array(e))
        return smp_fail(c, path, "lists of lists are not supported");
      int k = json_is_object(e) ? 1 : 0;
      if (seen >= 0 && seen != k)
        return smp_fail(c, path, "list element types are not identical");
      seen = k;
    }
  }
  *maps = seen == 1;
  return 0;
}

/* Merges patch into orig for a list with merge strategy; key "" for scalars.
 * Returns a new list, or NULL with c->err set. */
static json_t *merge_list(smp_t *c, json_t *orig, json_t *patch, const char *key, const char *path)
{
  bool maps = false;
  if (json_array_size(orig) == 0 && json_array_size(patch) == 0)
    return json_array();
  if (element_kind(c, path, orig, patch, &maps) < 0)
    return NULL;

  if (!maps) {
    json_t *merged = json_array();
    json_t *lists[2] = { orig, patch };
    for (int l = 0; l < 2; l++) {
      size_t i;
      json_t *e;
      json_array_foreach(lists[l], i, e)
      {
        if (index_of(merged, e, NULL) == SIZE_MAX)
          json_array_append(merged, e);
      }
    }
    json_t *in, *out;
    partition(merged, patch, NULL, &in, &out);
    json_decref(merged);
    return normalize_order(in, out, patch, orig, NULL);
  }

  if (!key[0]) {
    smp_fail(c, path, "cannot merge lists without merge key");
    return NULL;
  }
  /* Special elements first: deletions by key, or a replace of the list. */
  json_t *base = json_deep_copy(orig);
  json_t *plain = json_array();
  bool replace = false;
  size_t i;
  json_t *e;
  json_array_foreach(patch, i, e)
  {
    const char *d = json_str(e, DIRECTIVE);
    if (!json_object_get(e, DIRECTIVE)) {
      json_array_append(plain, e);
      continue;
    }
    if (d && !strcmp(d, "delete")) {
      json_t *kv = json_object_get(e, key);
      if (!kv) {
        smp_fail(c, path, "element %zu does not contain declared merge key \"%s\"", i, key);
        goto fail;
      }
      for (size_t j = json_array_size(base); j-- > 0;) {
        json_t *ov = json_object_get(json_array_get(base, j), key);
        if (ov && api_json_equal(ov, kv))
          json_array_remove(base, j);
      }
    } else if (d && !strcmp(d, "replace")) {
      replace = true;
    } else if (d && !strcmp(d, "merge")) {
      /* the default spelled out (upstream refuses it): merge as usual */
      json_object_del(e, DIRECTIVE);
      json_array_append(plain, e);
    } else {
      smp_fail(c, path, "unknown patch type in element %zu (want delete, replace or merge)", i);
      goto fail;
    }
  }
  if (replace) {
    json_decref(base);
    json_t *out = clean_value(plain, false);
    json_decref(plain);
    return out;
  }

  json_t *server_order = json_deep_copy(base);
  json_array_foreach(plain, i, e)
  {
    json_t *kv = json_object_get(e, key);
    if (!kv) {
      smp_fail(c, path, "element %zu does not contain declared merge key \"%s\"", i, key);
      json_decref(server_order);
      goto fail;
    }
    size_t at = SIZE_MAX;
    for (size_t j = 0; j < json_array_size(base) && at == SIZE_MAX; j++) {
      json_t *ov = json_object_get(json_array_get(base, j), key);
      if (ov && api_json_equal(ov, kv))
        at = j;
    }
    if (at == SIZE_MAX) {
      json_t *cv = clean_value(e, false);
      if (cv)
        json_array_append_new(base, cv);
      continue;
    }
    json_t *elem = json_incref(json_array_get(base, at));
    int rc = merge_map(c, &elem, e, path);
    if (rc == 0)
      json_array_set(base, at, elem);
    json_decref(elem);
    if (rc < 0) {
      json_decref(server_order);
      goto fail;
    }
  }
  json_t *in, *out;
  partition(base, plain, key, &in, &out);
  json_t *result = normalize_order(in, out, plain, server_order, key);
  json_decref(server_order);
  json_decref(base);
  json_decref(plain);
  return result;

fail:
  json_decref(base);
  json_decref(plain);
  return NULL;
}

/* A list value at path: merged when a key is declared, else replaced. */
static json_t *merge_list_field(smp_t *c, json_t *orig, json_t *patch, const char *path)
{
  const char *key = api_smp_merge_key(c->kind, path);
  if (!key)
    return clean_value(patch, false);
  return merge_list(c, orig, patch, key, path);
}

static int apply_retain_keys(smp_t *c, json_t *orig, json_t *patch, const char *path)
{
  json_t *keep = json_object_get(patch, RETAIN_KEYS);
  if (!keep)
    return 0;
  if (!json_is_array(keep))
    return smp_fail(c, path, "invalid patch format of retainKeys");
  const char *k;
  json_t *v;
  void *tmp;
  json_object_foreach(patch, k, v)
  {
    if (json_is_null(v) || is_directive_key(k))
      continue;
    bool found = false;
    for (size_t i = 0; i < json_array_size(keep) && !found; i++)
      found = !strcmp(json_string_value(json_array_get(keep, i)) ?: "", k);
    if (!found)
      return smp_fail(c, path, "invalid patch format of retainKeys: \"%s\" is not retained", k);
  }
  json_object_foreach_safe(orig, tmp, k, v)
  {
    bool found = false;
    for (size_t i = 0; i < json_array_size(keep) && !found; i++)
      found = !strcmp(json_string_value(json_array_get(keep, i)) ?: "", k);
    if (!found)
      json_object_del(orig, k);
  }
  json_object_del(patch, RETAIN_KEYS);
  return 0;
}

/* Upstream validatePatchWithSetOrderList: the patch's items must appear in
 * the order list, in the same relative order. */
static int check_order(smp_t *c, json_t *plist, json_t *order, const char *key, const char *path)
{
  size_t pi = 0, si = 0, np = json_array_size(plist), no = json_array_size(order);
  while (pi < np && si < no) {
    json_t *p = json_array_get(plist, pi);
    if (json_is_object(p) && json_object_get(p, DIRECTIVE)) {
      pi++;
      continue;
    }
    if (key && key[0] && (!json_object_get(p, key) || !item_key(json_array_get(order, si), key)))
      return smp_fail(c, path, "$setElementOrder: items must contain the merge key \"%s\"", key);
    if (same_item(p, json_array_get(order, si), key))
      pi++;
    si++;
  }
  /* Deletions ($patch: delete) are in no order list, wherever they come. */
  while (pi < np && json_is_object(json_array_get(plist, pi))
         && json_object_get(json_array_get(plist, pi), DIRECTIVE))
    pi++;
  if (pi < np && si >= no)
    return smp_fail(c, path, "the order of the patch list doesn't match its $setElementOrder list");
  return 0;
}

static int apply_set_order(smp_t *c, json_t *orig, json_t *patch, const char *path)
{
  /* Collected first: handling one directive deletes other keys of patch. */
  cleanup_strv char **keys = NULL;
  const char *k;
  json_t *v;
  json_object_foreach(patch, k, v) if (str_has_prefix(k, SET_ORDER_PREFIX)) strv_push(&keys, k);
  for (size_t n = 0; keys && keys[n]; n++) {
    json_t *order = json_object_get(patch, keys[n]);
    const char *lk = keys[n] + strlen(SET_ORDER_PREFIX);
    cleanup_free char *lpath = child_path(path, lk);
    if (!json_is_array(order))
      return smp_fail(c, lpath, "invalid patch format of setElementOrder list");
    json_t *olist = json_object_get(orig, lk);
    json_t *plist = json_object_get(patch, lk);
    if (olist && !json_is_array(olist))
      olist = NULL;
    if (plist && !json_is_array(plist))
      return smp_fail(c, lpath, "invalid patch format of setElementOrder list");
    const char *key = api_smp_merge_key(c->kind, lpath);
    if (plist && check_order(c, plist, order, key, lpath) < 0)
      return -1;
    json_t *merged = NULL;
    if (olist && plist) {
      merged = key ? merge_list(c, olist, plist, key, lpath) : clean_value(plist, false);
      if (!merged)
        return -1;
    } else if (plist) {
      merged = clean_value(plist, false);
    } else if (olist) {
      merged = json_incref(olist);
    }
    if (merged) {
      /* Lists of maps are ordered by merge key; without one, leave them be. */
      bool maps = json_is_object(json_array_get(merged, 0));
      if (!maps || (key && key[0])) {
        const char *mk = maps ? key : NULL;
        json_t *server = olist ? json_incref(olist) : json_array();
        json_t *in, *out;
        partition(merged, order, mk, &in, &out);
        json_t *sorted = normalize_order(in, out, order, server, mk);
        json_decref(server);
        json_decref(merged);
        merged = sorted;
      }
      json_object_set_new(orig, lk, merged);
    }
    json_object_del(patch, lk);
    json_object_del(patch, keys[n]);
  }
  return 0;
}

/* Merges patch (an object we may modify) into *orig (an object we own). */
static int merge_map(smp_t *c, json_t **orig, json_t *patch, const char *path)
{
  json_t *d = json_object_get(patch, DIRECTIVE);
  if (d) {
    const char *ds = json_string_value(d);
    if (ds && !strcmp(ds, "replace")) {
      json_object_del(patch, DIRECTIVE);
      json_decref(*orig);
      *orig = clean_value(patch, false);
      return 0;
    }
    if (ds && !strcmp(ds, "delete")) {
      json_decref(*orig);
      *orig = json_object();
      return 0;
    }
    if (!ds || strcmp(ds, "merge") != 0)
      return smp_fail(c, path, "unknown patch type (want delete, replace or merge)");
    json_object_del(patch, DIRECTIVE);
  }
  if (!json_is_object(*orig)) {
    json_decref(*orig);
    *orig = json_object();
  }
  if (apply_retain_keys(c, *orig, patch, path) < 0 || apply_set_order(c, *orig, patch, path) < 0)
    return -1;

  const char *k;
  json_t *pv;
  json_object_foreach(patch, k, pv)
  {
    if (str_has_prefix(k, DELETE_PREFIX)) {
      const char *lk = k + strlen(DELETE_PREFIX);
      cleanup_free char *lpath = child_path(path, lk);
      if (!json_is_array(pv))
        return smp_fail(c, lpath, "invalid patch format of primitive list");
      json_t *ol = json_object_get(*orig, lk);
      if (!json_is_array(ol))
        continue;
      size_t i;
      json_t *e;
      json_array_foreach(pv, i, e)
      {
        if (json_is_object(e) || json_is_array(e))
          return smp_fail(c, lpath, "invalid patch format of primitive list");
      }
      for (size_t j = json_array_size(ol); j-- > 0;)
        if (index_of(pv, json_array_get(ol, j), NULL) != SIZE_MAX)
          json_array_remove(ol, j);
      continue;
    }
    if (json_is_null(pv)) {
      json_object_del(*orig, k);
      continue;
    }
    json_t *ov = json_object_get(*orig, k);
    bool both_obj = json_is_object(ov) && json_is_object(pv);
    bool both_arr = json_is_array(ov) && json_is_array(pv);
    cleanup_free char *cpath = child_path(path, k);
    if (both_obj) {
      json_t *sub = json_incref(ov);
      int rc = merge_map(c, &sub, pv, cpath);
      if (rc == 0)
        json_object_set(*orig, k, sub);
      json_decref(sub);
      if (rc < 0)
        return -1;
    } else if (both_arr) {
      json_t *m = merge_list_field(c, ov, pv, cpath);
      if (!m)
        return -1;
      json_object_set_new(*orig, k, m);
    } else {
      json_t *cv = clean_value(pv, false);
      if (cv)
        json_object_set_new(*orig, k, cv);
      else
        json_object_del(*orig, k);
    }
  }
  return 0;
}

json_t *api_patch_strategic(json_t *doc, json_t *patch, const char *kind, berr_t *err)
{
  smp_t c = { kind, err };
  if (!json_is_object(patch)) {
    berr_setc(err, EINVAL, "strategic merge patch: the patch must be a JSON object");
    return NULL;
  }
  json_t *out = json_is_object(doc) ? json_deep_copy(doc) : json_object();
  json_t *p = json_deep_copy(patch);
  int rc = merge_map(&c, &out, p, "");
  json_decref(p);
  if (rc < 0) {
    berr_wrap(err, "strategic merge patch");
    json_decref(out);
    return NULL;
  }
  return out;
}
