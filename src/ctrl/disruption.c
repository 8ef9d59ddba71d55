/* disruption.c — PodDisruptionBudget status (policy/v1): how many of the
 * pods a budget covers may be disrupted now, which the eviction API reads.
 *
 * expectedPods is the number of matching pods when minAvailable is a
 * number; with a percentage or maxUnavailable it is the scale of the pods'
 * controllers (a Deployment's replicas counted once across its
 * ReplicaSets), so a rollout that has deleted pods does not shrink the
 * budget; pods whose controller is not known here count one each.
 * currentHealthy counts the Ready pods that are not being deleted and that
 * the eviction API has not just disrupted (status.disruptedPods, forgotten
 * after two minutes as in Kubernetes). */
#include "ctrl/ctrl.h"

#include <string.h>

#define NS_PER_S             1000000000LL
#define DISRUPTED_TIMEOUT_NS (120 * NS_PER_S)

/* The scale that a pod's controller asks for, and a key naming that
 * controller, or 0 when not known. */
static int64_t controller_scale(ctrl_ctx_t *x, const char *ns, json_t *pod, const char **key)
{
  json_t *ref = ctrl_controller_ref(pod);
  const char *kind = json_str(ref, "kind"), *name = json_str(ref, "name");
  if (!kind || !name || strcmp(kind, "ReplicaSet"))
    return 0;
  json_t *rs = ctrl_cache_get(x->cache, "replicasets", ns, name);
  if (!rs)
    return 0;
  json_t *dref = ctrl_controller_ref(rs);
  const char *dkind = json_str(dref, "kind"), *dname = json_str(dref, "name");
  if (dkind && dname && !strcmp(dkind, "Deployment")) {
    json_t *d = ctrl_cache_get(x->cache, "deployments", ns, dname);
    if (d) {
      *key = json_str(json_object_get(d, "metadata"), "uid");
      if (*key)
        return ctrl_int(json_object_get(d, "spec"), "replicas", 1, 0, INT32_MAX);
    }
  }
  *key = json_str(json_object_get(rs, "metadata"), "uid");
  return *key ? ctrl_int(json_object_get(rs, "spec"), "replicas", 1, 0, INT32_MAX) : 0;
}

static int64_t expected_by_controllers(ctrl_ctx_t *x, const char *ns, json_t *pods)
{
  cleanup_json json_t *seen = json_object();
  int64_t n = 0;
  json_t *pod;
  size_t i;
  json_array_foreach(pods, i, pod)
  {
    const char *key = NULL;
    int64_t scale = controller_scale(x, ns, pod, &key);
    if (!key) {
      n++;
      continue;
    }
    if (json_object_get(seen, key))
      continue;
    json_object_set_new(seen, key, json_true());
    n += scale;
  }
  return n;
}

/* status.disruptedPods without the entries that are done (the pod is gone
 * or being deleted) or too old; when a live one expires later, asks to be
 * called back then. */
static json_t *live_disrupted(ctrl_ctx_t *x, json_t *old, json_t *pods)
{
  json_t *out = json_object(), *v;
  const char *name;
  json_object_foreach(old, name, v)
  {
    int64_t at = ctrl_time_parse(json_string_value(v));
    if (!at || at + DISRUPTED_TIMEOUT_NS <= x->now)
      continue;
    json_t *pod;
    size_t i;
    bool live = false;
    json_array_foreach(pods, i, pod)
    {
      json_t *md = json_object_get(pod, "metadata");
      if (!strcmp(json_str(md, "name") ?: "", name) && !json_object_get(md, "deletionTimestamp"))
        live = true;
    }
    if (!live)
      continue;
    json_object_set(out, name, v);
    ctrl_requeue_after(x, at + DISRUPTED_TIMEOUT_NS - x->now);
  }
  return out;
}

/* Fills st; -1 with err when the budget cannot be computed. */
static int compute(ctrl_ctx_t *x, const char *ns, json_t *spec, json_t *pods, json_t *st,
                   berr_t *err)
{
  json_t *min = json_object_get(spec, "minAvailable");
  json_t *max = json_object_get(spec, "maxUnavailable");
  json_t *disrupted = json_object_get(st, "disruptedPods");
  int64_t expected, desired, healthy = 0;
  if (max && !json_is_null(max)) {
    expected = expected_by_controllers(x, ns, pods);
    int64_t n;
    if (ctrl_intstr_scaled(max, expected, true, &n, err) < 0)
      return berr_wrap(err, "spec.maxUnavailable");
    desired = expected - n < 0 ? 0 : expected - n;
  } else if (json_is_string(min)) {
    expected = expected_by_controllers(x, ns, pods);
    if (ctrl_intstr_scaled(min, expected, true, &desired, err) < 0)
      return berr_wrap(err, "spec.minAvailable");
  } else {
    expected = (int64_t)json_array_size(pods);
    desired = 1; /* neither set: Kubernetes' default, minAvailable 1 */
    if (min && !json_is_null(min) && ctrl_intstr_scaled(min, expected, true, &desired, err) < 0)
      return berr_wrap(err, "spec.minAvailable");
  }
  json_t *pod;
  size_t i;
  json_array_foreach(pods, i, pod)
  {
    json_t *md = json_object_get(pod, "metadata");
    if (json_object_get(md, "deletionTimestamp")
        || json_object_get(disrupted, json_str(md, "name") ?: ""))
      continue;
    if (ctrl_pod_ready(pod, NULL))
      healthy++;
  }
  int64_t allowed = healthy - desired > 0 ? healthy - desired : 0;
  json_object_set_new(st, "expectedPods", json_integer(expected));
  json_object_set_new(st, "currentHealthy", json_integer(healthy));
  json_object_set_new(st, "desiredHealthy", json_integer(desired));
  json_object_set_new(st, "disruptionsAllowed", json_integer(allowed));
  ctrl_set_condition(st, "DisruptionAllowed", allowed > 0 ? "True" : "False",
                     allowed > 0 ? "SufficientPods" : "InsufficientPods", NULL, x->now);
  return 0;
}

void ctrl_disruption_sync(ctrl_ctx_t *x, const char *ns, const char *name)
{
  json_t *pdb = ctrl_cache_get(x->cache, "poddisruptionbudgets", ns, name);
  json_t *md = json_object_get(pdb, "metadata");
  if (!json_is_object(pdb) || json_object_get(md, "deletionTimestamp"))
    return;
  json_t *spec = json_object_get(pdb, "spec");
  json_t *old = json_object_get(pdb, "status");
  json_t *st = json_is_object(old) ? json_deep_copy(old) : json_object();
  berr_t err = BERR_INIT;
  api_label_selector_t *sel = NULL;
  cleanup_json json_t *all = ctrl_cache_list(x->cache, "pods", ns);
  cleanup_json json_t *pods = json_array();
  if (api_label_selector_from_json(json_object_get(spec, "selector"), &sel, &err) < 0) {
    berr_wrap(&err, "spec.selector");
  } else {
    json_t *pod;
    size_t i;
    json_array_foreach(all, i, pod)
    {
      if (api_label_selector_matches(sel,
                                     json_object_get(json_object_get(pod, "metadata"), "labels")))
        json_array_append(pods, pod);
    }
  }
  api_label_selector_free(sel);
  json_object_set_new(st, "disruptedPods",
                      live_disrupted(x, json_object_get(st, "disruptedPods"), pods));
  if (!json_object_size(json_object_get(st, "disruptedPods")))
    json_object_del(st, "disruptedPods");
  if (err.msg || compute(x, ns, spec, pods, st, &err) < 0) {
    /* fail safe: no disruption allowed while the budget makes no sense */
    json_object_set_new(st, "disruptionsAllowed", json_integer(0));
    ctrl_set_condition(st, "DisruptionAllowed", "False", "SyncFailed", err.msg, x->now);
    ctrl_act_event(x->out, pdb, "Warning", "CalculateExpectedPodCountFailed", "%s", err.msg);
    berr_clear(&err);
  }
  json_object_set_new(st, "observedGeneration",
                      json_integer(ctrl_int(md, "generation", 0, 0, INT64_MAX)));
  if (json_equal(st, old)) {
    json_decref(st);
    return;
  }
  json_t *copy = json_deep_copy(pdb);
  json_object_set_new(copy, "status", st);
  ctrl_act_update_status(x->out, "poddisruptionbudgets", copy);
}

void ctrl_disruption_keys(ctrl_ctx_t *x, size_t self, const char *resource, json_t *old,
                          json_t *obj, ctrl_keys_t *out)
{
  const char *slash = strrchr(resource, '/');
  const char *r = slash ? slash + 1 : resource;
  json_t *cur = obj ? obj : old;
  json_t *md = json_object_get(cur, "metadata");
  const char *ns = json_str(md, "namespace") ?: "";
  if (!strcmp(r, "poddisruptionbudgets")) {
    ctrl_keys_add(out, self, ns, json_str(md, "name"));
    return;
  }
  if (strcmp(r, "pods"))
    return;
  cleanup_json json_t *pdbs = ctrl_cache_list(x->cache, "poddisruptionbudgets", ns);
  json_t *pdb;
  size_t i;
  json_array_foreach(pdbs, i, pdb)
  {
    api_label_selector_t *sel = NULL;
    if (api_label_selector_from_json(json_object_get(json_object_get(pdb, "spec"), "selector"),
                                     &sel, NULL)
        < 0)
      continue;
    json_t *ol = json_object_get(json_object_get(old, "metadata"), "labels");
    json_t *nl = json_object_get(json_object_get(obj, "metadata"), "labels");
    if ((old && api_label_selector_matches(sel, ol))
        || (obj && api_label_selector_matches(sel, nl)))
      ctrl_keys_add(out, self, ns, json_str(json_object_get(pdb, "metadata"), "name"));
    api_label_selector_free(sel);
  }
}
