/* owners.c — who controls what: a workload's selector, claiming the objects
 * it selects (adopting orphans, releasing what it no longer selects), and
 * the keys to sync when an owned or orphaned object changes.
 *
 * Kubernetes' rule, which every workload controller follows: an object
 * belongs to the owner named by its controller ownerReference, whatever its
 * labels say; labels only matter for orphans (adopted by an owner whose
 * selector matches) and for an owner's own objects (released when the
 * selector stops matching, so that another owner may adopt them). */
#include "ctrl/ctrl.h"

#include <string.h>

api_label_selector_t *ctrl_spec_selector(json_t *obj)
{
  json_t *js = json_object_get(json_object_get(obj, "spec"), "selector");
  if (!json_is_object(js))
    return NULL;
  api_label_selector_t *sel = NULL;
  berr_t err = BERR_INIT;
  if (api_label_selector_from_json(js, &sel, &err) < 0) {
    berr_clear(&err);
    return NULL;
  }
  if (sel->nothing || api_label_selector_is_everything(sel)) {
    api_label_selector_free(sel);
    return NULL;
  }
  return sel;
}

static bool selects(const api_label_selector_t *sel, json_t *obj)
{
  json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
  return api_label_selector_matches(sel, json_is_object(labels) ? labels : NULL);
}

static bool deleting(json_t *obj)
{
  return json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp") != NULL;
}

/* obj with owner's controller reference appended. */
static json_t *adopted(json_t *obj, json_t *owner, const char *api_version, const char *kind)
{
  json_t *copy = json_deep_copy(obj);
  json_t *md = json_object_get(copy, "metadata");
  json_t *refs = json_object_get(md, "ownerReferences");
  if (!json_is_array(refs)) {
    refs = json_array();
    json_object_set_new(md, "ownerReferences", refs);
  }
  json_array_append_new(refs, ctrl_owner_ref(owner, api_version, kind));
  return copy;
}

/* obj without any reference to the owner uid. */
static json_t *released(json_t *obj, const char *uid)
{
  json_t *copy = json_deep_copy(obj);
  json_t *md = json_object_get(copy, "metadata");
  json_t *refs = json_object_get(md, "ownerReferences");
  for (size_t i = json_array_size(refs); i-- > 0;) {
    const char *u = json_str(json_array_get(refs, i), "uid");
    if (u && !strcmp(u, uid))
      json_array_remove(refs, i);
  }
  if (json_array_size(refs) == 0)
    json_object_del(md, "ownerReferences");
  return copy;
}

json_t *ctrl_claim(ctrl_ctx_t *x, const char *resource, json_t *owner, const char *api_version,
                   const char *kind, const api_label_selector_t *sel, bool (*filter)(json_t *))
{
  json_t *md = json_object_get(owner, "metadata");
  const char *uid = json_str(md, "uid");
  json_t *out = json_array();
  if (!uid || !sel)
    return out;
  bool owner_deleting = deleting(owner);
  size_t i;
  json_t *obj;
  /* What it controls now: kept while selected, released when not. */
  cleanup_json json_t *mine = ctrl_cache_owned(x->cache, resource, uid);
  json_array_foreach(mine, i, obj)
  {
    if (filter && !filter(obj))
      continue;
    if (selects(sel, obj))
      json_array_append(out, obj);
    else if (!owner_deleting)
      ctrl_act_update(x->out, resource, released(obj, uid));
  }
  /* What no one controls and it selects: adopted. */
  cleanup_json json_t *free_
      = owner_deleting
            ? NULL
            : ctrl_cache_orphans_selected(x->cache, resource, json_str(md, "namespace") ?: "", sel);
  json_array_foreach(free_, i, obj)
  {
    if ((filter && !filter(obj)) || deleting(obj))
      continue;
    json_t *copy = adopted(obj, owner, api_version, kind);
    json_array_append(out, copy);
    ctrl_act_update(x->out, resource, copy);
  }
  return out;
}

/* ---- keys ---------------------------------------------------------------------- */

void ctrl_keys_add_once(ctrl_keys_t *out, size_t def, const char *ns, const char *name)
{
  if (!name)
    return;
  ns = ns ? ns : "";
  for (size_t i = 0; i < out->n; i++)
    if (out->v[i].def == def && !strcmp(out->v[i].ns, ns) && !strcmp(out->v[i].name, name))
      return;
  ctrl_keys_add(out, def, ns, name);
}

void ctrl_keys_controller(ctrl_keys_t *out, size_t def, json_t *obj, const char *kind)
{
  json_t *ref = ctrl_controller_ref(obj);
  const char *k = json_str(ref, "kind");
  if (!k || strcmp(k, kind))
    return;
  ctrl_keys_add_once(out, def, json_str(json_object_get(obj, "metadata"), "namespace"),
                     json_str(ref, "name"));
}

void ctrl_keys_selecting(ctrl_ctx_t *x, ctrl_keys_t *out, size_t def, const char *resource,
                         json_t *obj)
{
  const char *ns = json_str(json_object_get(obj, "metadata"), "namespace") ?: "";
  cleanup_json json_t *owners = ctrl_cache_list(x->cache, resource, ns);
  size_t i;
  json_t *o;
  json_array_foreach(owners, i, o)
  {
    api_label_selector_t *sel = ctrl_spec_selector(o);
    if (sel && selects(sel, obj))
      ctrl_keys_add_once(out, def, ns, json_str(json_object_get(o, "metadata"), "name"));
    api_label_selector_free(sel);
  }
}

const char *ctrl_resource_base(const char *resource)
{
  const char *slash = resource ? strrchr(resource, '/') : NULL;
  return slash ? slash + 1 : resource ? resource : "";
}

bool ctrl_count_field(json_t *obj, const char *key, int64_t dflt, int64_t *out)
{
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) {
    *out = dflt;
    return true;
  }
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
    return false;
  *out = json_integer_value(v);
  return true;
}
