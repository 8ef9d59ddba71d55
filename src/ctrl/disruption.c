/* disruption.c — PodDisruptionBudget status (policy/v1): how many of the
 * pods a budget covers may be disrupted now, which the eviction API reads.
 * As Kubernetes' disruption controller:
 *
 * expectedPods is the number of matching pods when minAvailable is a
 * number; with a percentage or maxUnavailable it is the scale of the pods'
 * controllers (a Deployment's replicas counted once across its
 * ReplicaSets; a ReplicaSet's own), so a rollout that has deleted pods does
 * not shrink the budget. Pods without a controller are left out of that sum
 * (event UnmanagedPods); a pod whose controller is missing or has no scale
 * (a Job, a DaemonSet) makes the budget impossible to compute.
 * currentHealthy counts the Ready pods that are not being deleted and that
 * the eviction API has not just disrupted (status.disruptedPods, forgotten
 * after two minutes). Nothing may be disrupted while expectedPods is 0.
 *
 * A budget that cannot be computed fails safe: disruptionsAllowed 0,
 * DisruptionAllowed False/SyncFailed, and status.observedGeneration left
 * where it was, so that the eviction API answers "still being processed"
 * for a budget it never saw computed. */
#include "ctrl/ctrl.h"

#include <errno.h>
#include <string.h>

#define NS_PER_S             1000000000LL
#define DISRUPTED_TIMEOUT_NS (120 * NS_PER_S)

static const char *uid_of(json_t *obj)
{
  return json_str(json_object_get(obj, "metadata"), "uid");
}

/* The object named by ref (kind in resource) in ns, if its uid matches. */
static json_t *ref_target(ctrl_ctx_t *x, const char *resource, const char *ns, json_t *ref)
{
  json_t *o = ctrl_cache_get(x->cache, resource, ns, json_str(ref, "name") ?: "");
  const char *uid = json_str(ref, "uid"), *ouid = uid_of(o);
  return o && ouid && (!uid || !strcmp(uid, ouid)) ? o : NULL;
}

static int64_t replicas_of(json_t *obj)
{
  return ctrl_int(json_object_get(obj, "spec"), "replicas", 1, 0, INT32_MAX);
}

/* The controller whose scale counts for pod: its uid in *key and its
 * replicas in *scale; *key NULL for a pod without a controller. -1 with err
 * when the controller is not found or has no scale subresource. */
static int controller_scale(ctrl_ctx_t *x, const char *ns, json_t *pod, const char **key,
                            int64_t *scale, berr_t *err)
{
  json_t *ref = ctrl_controller_ref(pod);
  *key = NULL;
  if (!ref)
    return 0;
  const char *kind = json_str(ref, "kind") ?: "";
  const char *av = json_str(ref, "apiVersion") ?: "";
  const char *pod_name = json_str(json_object_get(pod, "metadata"), "name") ?: "";
  json_t *target = NULL;
  if (!strcmp(kind, "ReplicaSet")) {
    json_t *rs = ref_target(x, "replicasets", ns, ref);
    json_t *dref = ctrl_controller_ref(rs);
    json_t *d = dref && !strcmp(json_str(dref, "kind") ?: "", "Deployment")
                    ? ref_target(x, "deployments", ns, dref)
                    : NULL;
    target = d ? d : rs;
  } else if (!strcmp(kind, "Deployment")) {
    target = ref_target(x, "deployments", ns, ref);
  } else {
    /* Kubernetes reads any other controller's scale subresource: the
     * controllers berth knows have none (a Node controls mirror pods). */
    static const char *const no_scale[][2] = {
      { "Job", "jobs.batch" },
      { "CronJob", "cronjobs.batch" },
      { "DaemonSet", "daemonsets.apps" },
      { "Node", "nodes" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(no_scale); i++)
      if (!strcmp(kind, no_scale[i][0]))
        return berr_setc(err, EINVAL, "%s does not implement the scale subresource",
                         no_scale[i][1]);
    return berr_setc(err, EINVAL, "no matches for kind \"%s\" in version \"%s\"", kind, av);
  }
  if (!target)
    return berr_setc(err, ENOENT, "found no controllers for pod \"%s\"", pod_name);
  *key = uid_of(target);
  *scale = replicas_of(target);
  return 0;
}

/* The sum of the scales of the pods' controllers; the pods that have none
 * are counted in *unmanaged. */
static int expected_by_controllers(ctrl_ctx_t *x, const char *ns, json_t *pods, int64_t *n,
                                   size_t *unmanaged, berr_t *err)
{
  cleanup_json json_t *seen = json_object();
  json_t *pod;
  size_t i;
  *n = 0;
  json_array_foreach(pods, i, pod)
  {
    const char *key;
    int64_t scale = 0;
    if (controller_scale(x, ns, pod, &key, &scale, err) < 0)
      return -1;
    if (!key) {
      (*unmanaged)++;
      continue;
    }
    if (json_object_get(seen, key))
      continue;
    json_object_set_new(seen, key, json_true());
    *n += scale;
  }
  return 0;
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

/* DisruptionAllowed as the budget's numbers say (a metav1.Condition: it
 * carries the generation it is about). */
static void allowed_condition(ctrl_ctx_t *x, json_t *st, const char *status, const char *reason,
                              const char *message)
{
  ctrl_set_condition(st, "DisruptionAllowed", status, reason, message, x->now);
  json_t *e;
  size_t i;
  json_array_foreach(json_object_get(st, "conditions"), i, e)
  {
    if (!strcmp(json_str(e, "type") ?: "", "DisruptionAllowed"))
      json_object_set_new(e, "observedGeneration",
                          json_integer(ctrl_int(st, "observedGeneration", 0, 0, INT64_MAX)));
  }
}

/* Fills st; -1 with err when the budget cannot be computed. */
static int compute(ctrl_ctx_t *x, json_t *pdb, const char *ns, json_t *pods, json_t *st,
                   berr_t *err)
{
  json_t *spec = json_object_get(pdb, "spec");
  json_t *min = json_object_get(spec, "minAvailable");
  json_t *max = json_object_get(spec, "maxUnavailable");
  json_t *disrupted = json_object_get(st, "disruptedPods");
  int64_t expected = 0, desired = 0, healthy = 0;
  size_t unmanaged = 0;
  if (max && !json_is_null(max)) {
    if (expected_by_controllers(x, ns, pods, &expected, &unmanaged, err) < 0)
      return -1;
    int64_t n;
    if (ctrl_intstr_scaled(max, expected, true, &n, err) < 0)
      return berr_wrap(err, "spec.maxUnavailable");
    desired = expected - n < 0 ? 0 : expected - n;
  } else if (json_is_string(min)) {
    if (expected_by_controllers(x, ns, pods, &expected, &unmanaged, err) < 0)
      return -1;
    if (ctrl_intstr_scaled(min, expected, true, &desired, err) < 0)
      return berr_wrap(err, "spec.minAvailable");
  } else if (min && !json_is_null(min)) {
    expected = (int64_t)json_array_size(pods);
    if (ctrl_intstr_scaled(min, expected, true, &desired, err) < 0)
      return berr_wrap(err, "spec.minAvailable");
  }
  if (unmanaged) {
    cleanup_free char *sel = json_dumps(json_object_get(spec, "selector"), JSON_COMPACT);
    ctrl_act_event(x->out, pdb, "Warning", "UnmanagedPods",
                   "Pods selected by this PodDisruptionBudget (selector: %s) were found to be "
                   "unmanaged. As a result, the status of the PDB cannot be calculated correctly, "
                   "which may result in undefined behavior. To account for these pods please set "
                   "\".spec.minAvailable\" field of the PDB to an integer value.",
                   sel ? sel : "null");
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
  /* A budget that matches no pod yet stays safe when its first pods come. */
  int64_t allowed = expected > 0 && healthy - desired > 0 ? healthy - desired : 0;
  json_object_set_new(st, "expectedPods", json_integer(expected));
  json_object_set_new(st, "currentHealthy", json_integer(healthy));
  json_object_set_new(st, "desiredHealthy", json_integer(desired));
  json_object_set_new(st, "disruptionsAllowed", json_integer(allowed));
  json_object_set_new(
      st, "observedGeneration",
      json_integer(ctrl_int(json_object_get(pdb, "metadata"), "generation", 0, 0, INT64_MAX)));
  allowed_condition(x, st, allowed > 0 ? "True" : "False",
                    allowed > 0 ? "SufficientPods" : "InsufficientPods", "");
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
  cleanup_json json_t *pods = NULL;
  if (api_label_selector_from_json(json_object_get(spec, "selector"), &sel, &err) < 0) {
    berr_wrap(&err, "spec.selector");
    pods = json_array();
  } else {
    pods = ctrl_cache_list_selected(x->cache, "pods", ns, sel);
    if (!json_array_size(pods))
      ctrl_act_event(x->out, pdb, "Normal", "NoPods", "No matching pods found");
  }
  api_label_selector_free(sel);
  json_object_set_new(st, "disruptedPods",
                      live_disrupted(x, json_object_get(st, "disruptedPods"), pods));
  if (!json_object_size(json_object_get(st, "disruptedPods")))
    json_object_del(st, "disruptedPods");
  if (err.msg || compute(x, pdb, ns, pods, st, &err) < 0) {
    /* Fail safe: no disruption while the budget cannot be computed. As
     * Kubernetes, only disruptionsAllowed and the condition change: the
     * rest, observedGeneration included, stays as it was. */
    json_decref(st);
    st = json_is_object(old) ? json_deep_copy(old) : json_object();
    json_object_set_new(st, "disruptionsAllowed", json_integer(0));
    allowed_condition(x, st, "False", "SyncFailed", err.msg);
    ctrl_act_event(x->out, pdb, "Warning", "CalculateExpectedPodCountFailed",
                   "Failed to calculate the number of expected pods: %s", err.msg);
    berr_clear(&err);
  }
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
