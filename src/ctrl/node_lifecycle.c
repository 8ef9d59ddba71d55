/* node_lifecycle.c — the node lifecycle controller: notices nodes whose
 * agent went quiet, taints them, and evicts the pods that do not tolerate
 * the taints (Kubernetes' node lifecycle controller and taint manager).
 *
 * A node's last heartbeat is the newer of its Lease's renewTime
 * (kube-node-lease/NAME) and its Ready condition's lastHeartbeatTime. Once
 * that is older than the grace period, the conditions the agent owns turn
 * Unknown and the pods on the node stop being Ready (so Services drop
 * them). The Ready condition decides the NoExecute taint:
 * node.kubernetes.io/unreachable when Unknown, node.kubernetes.io/not-ready
 * when False, none when True. Every NoExecute taint, ours or a user's,
 * evicts the pods that do not tolerate it at once, and those that tolerate
 * it for tolerationSeconds once that long has passed since the taint's
 * timeAdded — a field of the stored taint, so the deadline survives a
 * restart (a NoExecute taint written without one gets it here).
 *
 * One sync writes one thing to the node: the status first, then (on the
 * sync that the status change brings) the taints. */
#include "ctrl/ctrl.h"

#include <stdlib.h>
#include <string.h>

#define LEASE_NS          "kube-node-lease"
#define TAINT_NOT_READY   "node.kubernetes.io/not-ready"
#define TAINT_UNREACHABLE "node.kubernetes.io/unreachable"
#define NS_PER_S          1000000000LL
/* tolerationSeconds beyond this (31 years) is forever: keeps ns in range */
#define TOLERATION_S_MAX 1000000000LL

/* The conditions an agent posts; all turn Unknown when it stops. */
static const char *const agent_conditions[]
    = { "Ready", "MemoryPressure", "DiskPressure", "PIDPressure" };

bool ctrl_pod_default_tolerations(json_t *pod, int64_t seconds)
{
  json_t *spec = json_object_get(pod, "spec");
  if (!json_is_object(spec))
    return false;
  json_t *tols = json_object_get(spec, "tolerations");
  if (tols && !json_is_array(tols))
    return false; /* validation rejects it with a better message */
  static const char *const keys[] = { TAINT_NOT_READY, TAINT_UNREACHABLE };
  bool added = false;
  for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
    bool covered = false;
    json_t *t;
    size_t i;
    json_array_foreach(tols, i, t)
    {
      const char *key = json_str(t, "key") ?: "", *eff = json_str(t, "effect") ?: "";
      if ((!*key || !strcmp(key, keys[k])) && (!*eff || !strcmp(eff, "NoExecute")))
        covered = true;
    }
    if (covered)
      continue;
    if (!tols) {
      tols = json_array();
      json_object_set_new(spec, "tolerations", tols);
    }
    json_array_append_new(tols, json_pack("{s:s,s:s,s:s,s:I}", "key", keys[k], "operator", "Exists",
                                          "effect", "NoExecute", "tolerationSeconds",
                                          (json_int_t)seconds));
    added = true;
  }
  return added;
}

/* ---- heartbeats and conditions ------------------------------------------------ */

static int64_t last_heartbeat(ctrl_ctx_t *x, json_t *node, const char *name)
{
  json_t *lease = ctrl_cache_get(x->cache, "leases", LEASE_NS, name);
  int64_t renew = ctrl_time_parse(json_str(json_object_get(lease, "spec"), "renewTime"));
  int64_t beat = ctrl_time_parse(json_str(ctrl_condition(node, "Ready"), "lastHeartbeatTime"));
  int64_t last = renew > beat ? renew : beat;
  if (!last) /* never heard of: the grace period runs from its creation */
    last = ctrl_time_parse(json_str(json_object_get(node, "metadata"), "creationTimestamp"));
  return last;
}

/* Turns the agent's conditions Unknown; true when anything changed (then
 * the status update is appended). */
static bool mark_unknown(ctrl_ctx_t *x, json_t *node)
{
  cleanup_json json_t *copy = json_deep_copy(node);
  json_t *st = json_object_get(copy, "status");
  if (!json_is_object(st)) {
    st = json_object();
    json_object_set_new(copy, "status", st);
  }
  bool changed = false;
  for (size_t i = 0; i < ARRAY_SIZE(agent_conditions); i++) {
    const char *type = agent_conditions[i];
    json_t *c = ctrl_condition(copy, type);
    if (c && !strcmp(json_str(c, "status") ?: "", "Unknown"))
      continue;
    bool never = !c || !json_is_object(c);
    ctrl_set_condition(st, type, "Unknown", never ? "NodeStatusNeverUpdated" : "NodeStatusUnknown",
                       never ? "Kubelet never posted node status."
                             : "Kubelet stopped posting node status.",
                       x->now);
    changed = true;
    c = ctrl_condition(copy, type);
    json_t *created = json_object_get(json_object_get(copy, "metadata"), "creationTimestamp");
    if (json_is_object(c) && !json_str(c, "lastHeartbeatTime") && json_is_string(created))
      json_object_set(c, "lastHeartbeatTime", created);
  }
  if (changed)
    ctrl_act_update_status(x->out, "nodes", json_incref(copy));
  return changed;
}

/* ---- taints ------------------------------------------------------------------- */

static bool is_ours(json_t *taint)
{
  const char *k = json_str(taint, "key") ?: "";
  return (!strcmp(k, TAINT_NOT_READY) || !strcmp(k, TAINT_UNREACHABLE))
         && !strcmp(json_str(taint, "effect") ?: "", "NoExecute");
}

/* The taints the node should have: a new array; *changed when they differ
 * from its spec.taints. */
static json_t *desired_taints(ctrl_ctx_t *x, json_t *node, bool *changed)
{
  const char *ready = json_str(ctrl_condition(node, "Ready"), "status") ?: "";
  const char *want = !strcmp(ready, "False")     ? TAINT_NOT_READY
                     : !strcmp(ready, "Unknown") ? TAINT_UNREACHABLE
                                                 : NULL;
  json_t *have = json_object_get(json_object_get(node, "spec"), "taints"), *t;
  json_t *out = json_array();
  cleanup_free char *ts = time_rfc3339_sec(x->now);
  bool found = false;
  *changed = false;
  size_t i;
  json_array_foreach(have, i, t)
  {
    if (is_ours(t) && (!want || strcmp(json_str(t, "key"), want) || found)) {
      *changed = true;
      continue;
    }
    if (is_ours(t))
      found = true;
    json_t *copy = json_deep_copy(t);
    if (json_is_object(copy) && !strcmp(json_str(copy, "effect") ?: "", "NoExecute")
        && !ctrl_time_parse(json_str(copy, "timeAdded"))) {
      json_object_set_new(copy, "timeAdded", json_string(ts));
      *changed = true;
    }
    json_array_append_new(out, copy);
  }
  if (want && !found) {
    json_array_append_new(
        out, json_pack("{s:s,s:s,s:s}", "key", want, "effect", "NoExecute", "timeAdded", ts));
    *changed = true;
  }
  return out;
}

static bool has_no_execute(json_t *taints)
{
  json_t *t;
  size_t i;
  json_array_foreach(taints, i, t)
  {
    if (!strcmp(json_str(t, "effect") ?: "", "NoExecute"))
      return true;
  }
  return false;
}

/* ---- pods on the node ---------------------------------------------------------- */

static void mark_pod_not_ready(ctrl_ctx_t *x, json_t *pod)
{
  if (!ctrl_pod_ready(pod, NULL))
    return;
  json_t *copy = json_deep_copy(pod);
  json_t *st = json_object_get(copy, "status"); /* an object: it has a Ready condition */
  ctrl_set_condition(st, "Ready", "False", NULL, NULL, x->now);
  ctrl_act_update_status(x->out, "pods", copy);
  ctrl_act_event(x->out, pod, "Warning", "NodeNotReady", "Node is not ready");
}

/* Deletes pod now if it does not tolerate a NoExecute taint, or once the
 * shortest tolerationSeconds of the tolerations it uses has passed since
 * the oldest taint's timeAdded; else asks to be called back then. */
static void evict(ctrl_ctx_t *x, json_t *pod, json_t *taints)
{
  json_t *md = json_object_get(pod, "metadata");
  if (json_object_get(md, "deletionTimestamp") || !ctrl_pod_active(pod))
    return;
  json_t *tols = json_object_get(json_object_get(pod, "spec"), "tolerations"), *t;
  int64_t since = INT64_MAX, secs = -1; /* -1: tolerated forever */
  bool now = false, any = false;
  size_t i;
  json_array_foreach(taints, i, t)
  {
    if (strcmp(json_str(t, "effect") ?: "", "NoExecute"))
      continue;
    any = true;
    json_t *tol = ctrl_toleration_for(tols, t);
    if (!tol) {
      now = true;
      break;
    }
    json_t *ts = json_object_get(tol, "tolerationSeconds");
    if (json_is_integer(ts)) {
      int64_t s = json_integer_value(ts);
      s = s < 0 ? 0 : s > TOLERATION_S_MAX ? TOLERATION_S_MAX : s;
      if (secs < 0 || s < secs)
        secs = s;
    }
    int64_t added = ctrl_time_parse(json_str(t, "timeAdded"));
    if (added && added < since)
      since = added;
  }
  if (!any || (!now && secs < 0))
    return;
  if (!now) {
    if (since == INT64_MAX)
      since = x->now;
    int64_t deadline = since + secs * NS_PER_S;
    if (deadline > x->now) {
      ctrl_requeue_after(x, deadline - x->now);
      return;
    }
  }
  const char *ns = json_str(md, "namespace") ?: "", *name = json_str(md, "name");
  if (!name)
    return;
  ctrl_act_event(x->out, pod, "Normal", "TaintManagerEviction", "Marking for deletion Pod %s/%s",
                 ns, name);
  ctrl_act_delete(x->out, "pods", ns, name, json_str(md, "uid"), -1);
}

void ctrl_node_lifecycle_sync(ctrl_ctx_t *x, const char *ns, const char *name)
{
  json_t *node = ctrl_cache_get(x->cache, "nodes", "", name);
  if (!json_is_object(node))
    return;
  int64_t grace = x->cfg && x->cfg->node_grace_ns > 0 ? x->cfg->node_grace_ns : 20 * NS_PER_S;
  int64_t beat = last_heartbeat(x, node, name);
  if (x->now - beat >= grace) {
    if (mark_unknown(x, node))
      return; /* the taint follows on the sync this update brings */
  } else {
    ctrl_requeue_after(x, beat + grace - x->now);
  }
  bool changed;
  cleanup_json json_t *taints = desired_taints(x, node, &changed);
  if (changed) {
    json_t *copy = json_deep_copy(node);
    json_t *spec = json_object_get(copy, "spec");
    if (!json_is_object(spec)) {
      spec = json_object();
      json_object_set_new(copy, "spec", spec);
    }
    if (json_array_size(taints))
      json_object_set(spec, "taints", taints);
    else
      json_object_del(spec, "taints");
    ctrl_act_update(x->out, "nodes", copy);
  }
  bool unknown = !strcmp(json_str(ctrl_condition(node, "Ready"), "status") ?: "", "Unknown");
  if (!unknown && !has_no_execute(taints))
    return; /* a healthy node: its pods are none of this controller's business */
  cleanup_json json_t *pods = ctrl_cache_on_node(x->cache, "pods", name);
  json_t *pod;
  size_t i;
  json_array_foreach(pods, i, pod)
  {
    if (unknown)
      mark_pod_not_ready(x, pod);
    evict(x, pod, taints);
  }
}

/* ---- keys ------------------------------------------------------------------------- */

static const char *base_resource(const char *r)
{
  const char *slash = strrchr(r, '/');
  return slash ? slash + 1 : r;
}

/* Whether a pod on this node needs the controller: the node is tainted
 * NoExecute or not Ready. */
static bool node_needs_pods(json_t *node)
{
  if (!node)
    return false;
  if (has_no_execute(json_object_get(json_object_get(node, "spec"), "taints")))
    return true;
  return strcmp(json_str(ctrl_condition(node, "Ready"), "status") ?: "", "True") != 0;
}

void ctrl_node_lifecycle_keys(ctrl_ctx_t *x, size_t self, const char *resource, json_t *old,
                              json_t *obj, ctrl_keys_t *out)
{
  const char *r = base_resource(resource);
  json_t *cur = obj ? obj : old;
  json_t *md = json_object_get(cur, "metadata");
  if (!strcmp(r, "nodes")) {
    ctrl_keys_add(out, self, "", json_str(md, "name"));
  } else if (!strcmp(r, "leases")) {
    if (!strcmp(json_str(md, "namespace") ?: "", LEASE_NS))
      ctrl_keys_add(out, self, "", json_str(md, "name"));
  } else if (!strcmp(r, "pods") && obj) {
    const char *node = json_str(json_object_get(obj, "spec"), "nodeName");
    if (node && node_needs_pods(ctrl_cache_get(x->cache, "nodes", "", node)))
      ctrl_keys_add(out, self, "", node);
  }
}
