/* cache.c — the controllers' view of the cluster: the objects of the kinds
 * they follow, and which objects each owner controls.
 *
 * jansson objects are the hash tables: per resource and namespace, name →
 * object; per resource, owner uid → {"ns/name" → object}; and per
 * resource and namespace the objects no controller owns (what a controller
 * may adopt), so that no sync walks every pod of a namespace. An object is shared with whoever
 * handed it in (a reference, never modified), so a watch event costs one
 * parse, done by the caller. */
#include "ctrl/ctrl.h"

#include <stdlib.h>
#include <string.h>

struct ctrl_cache {
  json_t *objs;    /* resource → {ns → {name → object}} */
  json_t *owners;  /* resource → {owner uid → {"ns/name" → object}} */
  json_t *orphans; /* resource → {ns → {name → object}}: no controller reference */
};

ctrl_cache_t *ctrl_cache_new(void)
{
  ctrl_cache_t *c = xcalloc(1, sizeof *c);
  c->objs = json_object();
  c->owners = json_object();
  c->orphans = json_object();
  return c;
}

void ctrl_cache_free(ctrl_cache_t *c)
{
  if (!c)
    return;
  json_decref(c->objs);
  json_decref(c->owners);
  json_decref(c->orphans);
  free(c);
}

static json_t *sub(json_t *parent, const char *key)
{
  json_t *o = json_object_get(parent, key);
  if (!o) {
    o = json_object();
    json_object_set_new(parent, key, o);
  }
  return o;
}

/* Removes key from the map at parent[k1][k2], and the emptied maps. */
static void del2(json_t *parent, const char *k1, const char *k2, const char *key)
{
  json_t *a = json_object_get(parent, k1), *b = json_object_get(a, k2);
  json_object_del(b, key);
  if (b && json_object_size(b) == 0)
    json_object_del(a, k2);
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

static void unindex(ctrl_cache_t *c, const char *resource, const char *ns, const char *name,
                    json_t *obj)
{
  const char *uid = owner_uid(obj);
  if (uid) {
    cleanup_free char *key = xasprintf("%s/%s", ns, name);
    del2(c->owners, resource, uid, key);
  } else {
    del2(c->orphans, resource, ns, name);
  }
}

static void index_obj(ctrl_cache_t *c, const char *resource, const char *ns, const char *name,
                      json_t *obj)
{
  const char *uid = owner_uid(obj);
  if (uid) {
    cleanup_free char *key = xasprintf("%s/%s", ns, name);
    json_object_set(sub(sub(c->owners, resource), uid), key, obj);
  } else {
    json_object_set(sub(sub(c->orphans, resource), ns), name, obj);
  }
}

json_t *ctrl_cache_put(ctrl_cache_t *c, const char *resource, json_t *obj)
{
  json_t *md = json_object_get(obj, "metadata");
  const char *ns = json_str(md, "namespace") ?: "", *name = json_str(md, "name");
  if (!name)
    return NULL;
  json_t *table = sub(sub(c->objs, resource), ns);
  json_t *old = json_object_get(table, name);
  if (old && rv_of(obj) < rv_of(old))
    return NULL;
  json_incref(old);
  if (old)
    unindex(c, resource, ns, name, old);
  json_object_set(table, name, obj);
  index_obj(c, resource, ns, name, obj);
  return old;
}

json_t *ctrl_cache_remove(ctrl_cache_t *c, const char *resource, const char *ns, const char *name)
{
  ns = ns ? ns : "";
  json_t *old = json_incref(ctrl_cache_get(c, resource, ns, name));
  if (!old)
    return NULL;
  unindex(c, resource, ns, name, old);
  del2(c->objs, resource, ns, name);
  return old;
}

json_t *ctrl_cache_get(ctrl_cache_t *c, const char *resource, const char *ns, const char *name)
{
  if (!name)
    return NULL;
  return json_object_get(json_object_get(json_object_get(c->objs, resource), ns ? ns : ""), name);
}

static int by_key(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends the values of table to out in key order. */
static void append_sorted(json_t *out, json_t *table)
{
  size_t n = 0;
  const char **keys = xcalloc(json_object_size(table) + 1, sizeof *keys);
  const char *k;
  json_t *v;
  json_object_foreach(table, k, v)
  {
    keys[n++] = k;
  }
  qsort(keys, n, sizeof *keys, by_key);
  for (size_t i = 0; i < n; i++)
    json_array_append(out, json_object_get(table, keys[i]));
  free(keys);
}

/* The objects of byns (ns → {name → object}) in namespace ns, or in every
 * namespace (ns NULL) ordered by namespace then name. */
static json_t *list_ns(json_t *byns, const char *ns)
{
  json_t *out = json_array();
  if (ns) {
    append_sorted(out, json_object_get(byns, ns));
    return out;
  }
  size_t n = 0;
  const char **names = xcalloc(json_object_size(byns) + 1, sizeof *names);
  const char *k;
  json_t *v;
  json_object_foreach(byns, k, v)
  {
    names[n++] = k;
  }
  qsort(names, n, sizeof *names, by_key);
  for (size_t i = 0; i < n; i++)
    append_sorted(out, json_object_get(byns, names[i]));
  free(names);
  return out;
}

json_t *ctrl_cache_list(ctrl_cache_t *c, const char *resource, const char *ns)
{
  return list_ns(json_object_get(c->objs, resource), ns);
}

json_t *ctrl_cache_orphans(ctrl_cache_t *c, const char *resource, const char *ns)
{
  return list_ns(json_object_get(c->orphans, resource), ns);
}

json_t *ctrl_cache_owned(ctrl_cache_t *c, const char *resource, const char *owner)
{
  json_t *out = json_array();
  if (owner)
    append_sorted(out, json_object_get(json_object_get(c->owners, resource), owner));
  return out;
}

size_t ctrl_cache_count(ctrl_cache_t *c, const char *resource)
{
  size_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(c->objs, resource), k, v)
  {
    n += json_object_size(v);
  }
  return n;
}
