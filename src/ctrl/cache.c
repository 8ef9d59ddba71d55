/* cache.c — the controllers' view of the cluster: the objects of the kinds
 * they follow, and which objects each owner controls.
 *
 * jansson objects are the hash tables: per resource, "ns/name" → object,
 * and owner uid → {"ns/name" → object}. An object is shared with whoever
 * handed it in (a reference, never modified), so a watch event costs one
 * parse, done by the caller. */
#include "ctrl/ctrl.h"

#include <stdlib.h>
#include <string.h>

struct ctrl_cache {
  json_t *objs;   /* resource → {"ns/name" → object} */
  json_t *owners; /* resource → {owner uid → {"ns/name" → object}} */
};

ctrl_cache_t *ctrl_cache_new(void)
{
  ctrl_cache_t *c = xcalloc(1, sizeof *c);
  c->objs = json_object();
  c->owners = json_object();
  return c;
}

void ctrl_cache_free(ctrl_cache_t *c)
{
  if (!c)
    return;
  json_decref(c->objs);
  json_decref(c->owners);
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

static char *key_of(const char *ns, const char *name)
{
  return xasprintf("%s/%s", ns ? ns : "", name ? name : "");
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

static void unindex(ctrl_cache_t *c, const char *resource, const char *key, json_t *obj)
{
  const char *uid = owner_uid(obj);
  if (!uid)
    return;
  json_t *byres = json_object_get(c->owners, resource);
  json_t *set = json_object_get(byres, uid);
  json_object_del(set, key);
  if (set && json_object_size(set) == 0)
    json_object_del(byres, uid);
}

json_t *ctrl_cache_put(ctrl_cache_t *c, const char *resource, json_t *obj)
{
  json_t *md = json_object_get(obj, "metadata");
  cleanup_free char *key = key_of(json_str(md, "namespace"), json_str(md, "name"));
  json_t *table = sub(c->objs, resource);
  json_t *old = json_object_get(table, key);
  if (old && rv_of(obj) < rv_of(old))
    return NULL;
  json_incref(old);
  if (old)
    unindex(c, resource, key, old);
  json_object_set(table, key, obj);
  const char *uid = owner_uid(obj);
  if (uid)
    json_object_set(sub(sub(c->owners, resource), uid), key, obj);
  return old;
}

json_t *ctrl_cache_remove(ctrl_cache_t *c, const char *resource, const char *ns, const char *name)
{
  cleanup_free char *key = key_of(ns, name);
  json_t *table = json_object_get(c->objs, resource);
  json_t *old = json_incref(json_object_get(table, key));
  if (!old)
    return NULL;
  unindex(c, resource, key, old);
  json_object_del(table, key);
  return old;
}

json_t *ctrl_cache_get(ctrl_cache_t *c, const char *resource, const char *ns, const char *name)
{
  cleanup_free char *key = key_of(ns, name);
  return json_object_get(json_object_get(c->objs, resource), key);
}

static int by_key(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The values of table whose key starts with prefix (NULL: all), by key. */
static json_t *sorted_values(json_t *table, const char *prefix)
{
  size_t n = 0, plen = prefix ? strlen(prefix) : 0;
  const char **keys = xcalloc(json_object_size(table) + 1, sizeof *keys);
  const char *k;
  json_t *v;
  json_object_foreach(table, k, v)
  {
    if (!prefix || !strncmp(k, prefix, plen))
      keys[n++] = k;
  }
  qsort(keys, n, sizeof *keys, by_key);
  json_t *out = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append(out, json_object_get(table, keys[i]));
  free(keys);
  return out;
}

json_t *ctrl_cache_list(ctrl_cache_t *c, const char *resource, const char *ns)
{
  cleanup_free char *prefix = ns ? xasprintf("%s/", ns) : NULL;
  return sorted_values(json_object_get(c->objs, resource), prefix);
}

json_t *ctrl_cache_owned(ctrl_cache_t *c, const char *resource, const char *owner)
{
  if (!owner)
    return json_array();
  return sorted_values(json_object_get(json_object_get(c->owners, resource), owner), NULL);
}

size_t ctrl_cache_count(ctrl_cache_t *c, const char *resource)
{
  return json_object_size(json_object_get(c->objs, resource));
}
