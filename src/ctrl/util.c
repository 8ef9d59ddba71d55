/* util.c — what every controller uses: the action and key lists, owner
 * references, pod readiness, pods from templates, conditions. */
#include "ctrl/ctrl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- actions ------------------------------------------------------------------ */

static ctrl_action_t *act_new(ctrl_actions_t *a, ctrl_op_t op, const char *resource)
{
  if (a->n == a->cap) {
    a->cap = a->cap ? a->cap * 2 : 8;
    a->v = xrealloc(a->v, a->cap * sizeof *a->v);
  }
  ctrl_action_t *x = &a->v[a->n++];
  memset(x, 0, sizeof *x);
  x->op = op;
  x->resource = resource;
  x->grace_s = -1;
  return x;
}

void ctrl_act_create(ctrl_actions_t *a, const char *resource, json_t *obj)
{
  act_new(a, CTRL_CREATE, resource)->obj = obj;
}

void ctrl_act_update(ctrl_actions_t *a, const char *resource, json_t *obj)
{
  act_new(a, CTRL_UPDATE, resource)->obj = obj;
}

void ctrl_act_update_status(ctrl_actions_t *a, const char *resource, json_t *obj)
{
  act_new(a, CTRL_UPDATE_STATUS, resource)->obj = obj;
}

void ctrl_act_delete(ctrl_actions_t *a, const char *resource, const char *ns, const char *name,
                     const char *uid, int64_t grace_s)
{
  ctrl_action_t *x = act_new(a, CTRL_DELETE, resource);
  x->ns = xstrdup(ns ? ns : "");
  x->name = xstrdup(name);
  x->uid = uid ? xstrdup(uid) : NULL;
  x->grace_s = grace_s;
}

void ctrl_act_event(ctrl_actions_t *a, json_t *involved, const char *type, const char *reason,
                    const char *fmt, ...)
{
  ctrl_action_t *x = act_new(a, CTRL_EVENT, "events");
  x->obj = json_incref(involved);
  x->type = type;
  x->reason = xstrdup(reason);
  va_list ap;
  va_start(ap, fmt);
  x->message = xvasprintf(fmt, ap);
  va_end(ap);
}

void ctrl_actions_clear(ctrl_actions_t *a)
{
  for (size_t i = 0; i < a->n; i++) {
    json_decref(a->v[i].obj);
    free(a->v[i].ns);
    free(a->v[i].name);
    free(a->v[i].uid);
    free(a->v[i].reason);
    free(a->v[i].message);
  }
  free(a->v);
  memset(a, 0, sizeof *a);
}

void ctrl_requeue_after(ctrl_ctx_t *x, int64_t delay_ns)
{
  if (delay_ns < 1)
    delay_ns = 1;
  if (!x->requeue_after_ns || delay_ns < x->requeue_after_ns)
    x->requeue_after_ns = delay_ns;
}

/* ---- keys ------------------------------------------------------------------ */

void ctrl_keys_add(ctrl_keys_t *k, size_t def, const char *ns, const char *name)
{
  if (!name)
    return;
  if (k->n == k->cap) {
    k->cap = k->cap ? k->cap * 2 : 8;
    k->v = xrealloc(k->v, k->cap * sizeof *k->v);
  }
  k->v[k->n++] = (ctrl_key_t){ .def = def, .ns = xstrdup(ns ? ns : ""), .name = xstrdup(name) };
}

void ctrl_keys_clear(ctrl_keys_t *k)
{
  for (size_t i = 0; i < k->n; i++) {
    free(k->v[i].ns);
    free(k->v[i].name);
  }
  free(k->v);
  memset(k, 0, sizeof *k);
}

/* ---- objects ------------------------------------------------------------------ */

json_t *ctrl_controller_ref(json_t *obj)
{
  json_t *refs = json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), *r;
  size_t i;
  json_array_foreach(refs, i, r)
  {
    if (json_is_true(json_object_get(r, "controller")))
      return r;
  }
  return NULL;
}

json_t *ctrl_owner_ref(json_t *owner, const char *api_version, const char *kind)
{
  json_t *md = json_object_get(owner, "metadata");
  return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", api_version, "kind", kind, "name",
                   json_str(md, "name") ?: "", "uid", json_str(md, "uid") ?: "", "controller", 1,
                   "blockOwnerDeletion", 1);
}

bool ctrl_pod_active(json_t *pod)
{
  if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
    return false;
  const char *phase = json_str(json_object_get(pod, "status"), "phase") ?: "";
  return strcmp(phase, "Succeeded") && strcmp(phase, "Failed");
}

int64_t ctrl_time_parse(const char *s)
{
  int64_t ns;
  if (!s || time_parse_rfc3339(s, &ns) < 0)
    return 0;
  return ns;
}

json_t *ctrl_condition(json_t *obj, const char *type)
{
  json_t *conds = json_object_get(json_object_get(obj, "status"), "conditions"), *c;
  size_t i;
  json_array_foreach(conds, i, c)
  {
    const char *t = json_str(c, "type");
    if (t && !strcmp(t, type))
      return c;
  }
  return NULL;
}

bool ctrl_pod_ready(json_t *pod, int64_t *since)
{
  json_t *c = ctrl_condition(pod, "Ready");
  bool ready = c && !strcmp(json_str(c, "status") ?: "", "True");
  if (since)
    *since = ready ? ctrl_time_parse(json_str(c, "lastTransitionTime")) : 0;
  return ready;
}

bool ctrl_pod_available(json_t *pod, int64_t min_ready_s, int64_t now)
{
  int64_t since;
  if (!ctrl_pod_ready(pod, &since))
    return false;
  if (min_ready_s <= 0)
    return true;
  return since > 0 && since + min_ready_s * 1000000000LL <= now;
}

json_t *ctrl_pod_from_template(json_t *template, json_t *owner, const char *api_version,
                               const char *kind, const char *generate_name)
{
  json_t *tmd = json_object_get(template, "metadata");
  json_t *omd = json_object_get(owner, "metadata");
  json_t *md = json_pack("{s:s,s:s}", "generateName", generate_name, "namespace",
                         json_str(omd, "namespace") ?: "default");
  json_t *labels = json_object_get(tmd, "labels"), *ann = json_object_get(tmd, "annotations");
  if (json_is_object(labels))
    json_object_set_new(md, "labels", json_deep_copy(labels));
  if (json_is_object(ann))
    json_object_set_new(md, "annotations", json_deep_copy(ann));
  json_t *fin = json_object_get(tmd, "finalizers");
  if (json_is_array(fin))
    json_object_set_new(md, "finalizers", json_deep_copy(fin));
  json_object_set_new(md, "ownerReferences",
                      json_pack("[o]", ctrl_owner_ref(owner, api_version, kind)));
  json_t *spec = json_object_get(template, "spec");
  return json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "v1", "kind", "Pod", "metadata", md, "spec",
                   spec ? json_deep_copy(spec) : json_object());
}

bool ctrl_set_condition(json_t *status, const char *type, const char *cstatus, const char *reason,
                        const char *message, int64_t now)
{
  json_t *conds = json_object_get(status, "conditions");
  if (!json_is_array(conds)) {
    conds = json_array();
    json_object_set_new(status, "conditions", conds);
  }
  cleanup_free char *ts = time_rfc3339_sec(now);
  json_t *c = NULL, *x;
  size_t i;
  json_array_foreach(conds, i, x)
  {
    const char *t = json_str(x, "type");
    if (t && !strcmp(t, type)) {
      c = x;
      break;
    }
  }
  if (!c) {
    c = json_pack("{s:s,s:s,s:s}", "type", type, "status", cstatus, "lastTransitionTime", ts);
    if (reason)
      json_object_set_new(c, "reason", json_string(reason));
    if (message)
      json_object_set_new(c, "message", json_string(message));
    json_array_append_new(conds, c);
    return true;
  }
  bool same_status = !strcmp(json_str(c, "status") ?: "", cstatus);
  bool same_reason = !strcmp(json_str(c, "reason") ?: "", reason ?: "");
  bool same_msg = !strcmp(json_str(c, "message") ?: "", message ?: "");
  if (same_status && same_reason && same_msg)
    return false;
  if (!same_status) {
    json_object_set_new(c, "status", json_string(cstatus));
    json_object_set_new(c, "lastTransitionTime", json_string(ts));
  }
  if (reason)
    json_object_set_new(c, "reason", json_string(reason));
  else
    json_object_del(c, "reason");
  if (message)
    json_object_set_new(c, "message", json_string(message));
  else
    json_object_del(c, "message");
  return true;
}
