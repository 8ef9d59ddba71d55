/* test_ctrl_node.c — the node lifecycle controller (heartbeats from Leases
 * and the Ready condition, Unknown conditions, NoExecute taints, pods made
 * not Ready, eviction after tolerationSeconds), the default tolerations,
 * and PodDisruptionBudget status. */
#include "ctrl_fixtures.h"

static void put_node(ctrl_h *h, const char *name, const char *ready, int64_t beat)
{
  json_t *node = json_pack("{s:s,s:s,s:{s:s},s:{}}", "apiVersion", "v1", "kind", "Node", "metadata",
                           "name", name, "spec");
  json_t *st = json_object();
  const char *types[] = { "Ready", "MemoryPressure", "DiskPressure", "PIDPressure" };
  for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
    ctrl_set_condition(st, types[i], i == 0 ? ready : "False", "KubeletReady", "ok", beat);
    json_object_set_new(json_array_get(json_object_get(st, "conditions"), i), "lastHeartbeatTime",
                        json_string(ctrl_f_time(beat)));
  }
  json_object_set_new(node, "status", st);
  json_t *old = ctrl_cache_get(h->cache, "nodes", "", name);
  if (old) /* what the agent's status patch keeps: the spec (taints) */
    json_object_set(node, "spec", json_object_get(old, "spec"));
  ctrl_h_put(h, "nodes", node);
}

static void put_lease(ctrl_h *h, const char *name, int64_t renew)
{
  char *micro = time_rfc3339_micro(renew);
  ctrl_h_put(h, "leases",
             json_pack("{s:{s:s,s:s},s:{s:s,s:s}}", "metadata", "name", name, "namespace",
                       "kube-node-lease", "spec", "holderIdentity", name, "renewTime", micro));
  free(micro);
}

/* A running, Ready pod on node; tolerations: a JSON array or NULL. */
static void put_pod(ctrl_h *h, const char *name, const char *node, const char *tolerations)
{
  char *text
      = xasprintf("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'%s','namespace':"
                  "'default','labels':{'app':'web'}},'spec':{'nodeName':'%s',"
                  "'containers':[{'name':'c','image':'x'}]%s%s}}",
                  name, node, tolerations ? ",'tolerations':" : "", tolerations ? tolerations : "");
  json_t *pod = ctrl_h_put(h, "pods", J(text));
  free(text);
  ctrl_h_pod_status(h, pod, "Running", true);
}

static json_t *node_obj(ctrl_h *h, const char *name)
{
  return ctrl_cache_get(h->cache, "nodes", "", name);
}

static json_t *taint_of(ctrl_h *h, const char *node, size_t i)
{
  return json_array_get(json_object_get(json_object_get(node_obj(h, node), "spec"), "taints"), i);
}

static bool pod_exists(ctrl_h *h, const char *name)
{
  return ctrl_cache_get(h->cache, "pods", "default", name) != NULL;
}

static void sync_node(ctrl_h *h, const char *node)
{
  ctrl_h_sync(h, "node-lifecycle", "", node);
}

Test(ctrl_node, heartbeat_stops_then_returns)
{
  ctrl_h h;
  ctrl_h_init(&h);
  int64_t t0 = h.now;
  put_node(&h, "n1", "True", t0);
  put_node(&h, "n2", "True", t0);
  put_lease(&h, "n1", t0);
  json_t *pod = J("{'metadata':{'name':'p30','namespace':'default'},'spec':{'nodeName':'n1'}}");
  cr_assert(ctrl_pod_default_tolerations(pod, 30));
  char *tols = json_dumps(json_object_get(json_object_get(pod, "spec"), "tolerations"), 0);
  json_decref(pod);
  put_pod(&h, "p30", "n1", tols);
  free(tols);
  put_pod(&h, "forever", "n1",
          "[{'key':'node.kubernetes.io/unreachable','operator':'Exists',"
          "'effect':'NoExecute'}]");
  put_pod(&h, "none", "n1", NULL);
  put_pod(&h, "elsewhere", "n2", NULL);

  sync_node(&h, "n1");
  cr_assert_eq(h.out.n, 0);
  cr_assert_eq(h.requeue_ns, 20 * S_NS);
  /* the Lease is renewed at 15 s: alive until 35 s */
  put_lease(&h, "n1", t0 + 15 * S_NS);
  h.now = t0 + 25 * S_NS;
  sync_node(&h, "n1");
  cr_assert_eq(h.out.n, 0);
  cr_assert_eq(h.requeue_ns, 10 * S_NS);
  /* silent past the grace period: conditions Unknown */
  h.now = t0 + 36 * S_NS;
  sync_node(&h, "n1");
  cr_assert_eq(h.out.n, 1);
  json_t *n = ctrl_h_action(&h, CTRL_UPDATE_STATUS, "nodes", 0)->obj;
  const char *types[] = { "Ready", "MemoryPressure", "DiskPressure", "PIDPressure" };
  for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
    json_t *c = ctrl_condition(n, types[i]);
    cr_assert_str_eq(json_str(c, "status"), "Unknown", "%s", types[i]);
    cr_assert_str_eq(json_str(c, "reason"), "NodeStatusUnknown");
    cr_assert_str_eq(json_str(c, "message"), "Kubelet stopped posting node status.");
    cr_assert_str_eq(json_str(c, "lastHeartbeatTime"), ctrl_f_time(t0));
  }
  ctrl_h_apply(&h);
  /* the next sync taints it, makes its pods not Ready, evicts "none" */
  sync_node(&h, "n1");
  cr_assert_eq(ctrl_h_count(&h, CTRL_UPDATE, "nodes"), 1);
  cr_assert_eq(ctrl_h_count(&h, CTRL_UPDATE_STATUS, "pods"), 3);
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 1);
  cr_assert_str_eq(ctrl_h_action(&h, CTRL_DELETE, "pods", 0)->name, "none");
  cr_assert_eq(h.requeue_ns, 30 * S_NS);
  ctrl_h_apply(&h);
  json_t *taint = taint_of(&h, "n1", 0);
  cr_assert_str_eq(json_str(taint, "key"), "node.kubernetes.io/unreachable");
  cr_assert_str_eq(json_str(taint, "effect"), "NoExecute");
  cr_assert_str_eq(json_str(taint, "timeAdded"), ctrl_f_time(h.now));
  cr_assert_eq(ctrl_f_events(&h, "NodeNotReady"), 3);
  cr_assert_eq(ctrl_f_events(&h, "TaintManagerEviction"), 1);
  json_t *ev;
  size_t k;
  json_array_foreach(h.events, k, ev)
  {
    if (!strcmp(json_str(ev, "reason"), "TaintManagerEviction"))
      cr_assert_str_eq(json_str(ev, "message"), "Marking for deletion Pod default/none");
  }
  cr_assert(!ctrl_pod_ready(ctrl_cache_get(h.cache, "pods", "default", "p30"), NULL));
  cr_assert(ctrl_pod_ready(ctrl_cache_get(h.cache, "pods", "default", "elsewhere"), NULL));
  /* tolerated for 30 s: still there at 29 s, gone at 30 s */
  int64_t tainted = h.now;
  h.now = tainted + 29 * S_NS;
  sync_node(&h, "n1");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, NULL), 0);
  cr_assert_eq(ctrl_h_count(&h, CTRL_UPDATE_STATUS, NULL), 0);
  cr_assert_eq(h.requeue_ns, S_NS);
  h.now = tainted + 30 * S_NS;
  sync_node(&h, "n1");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 1);
  cr_assert_str_eq(ctrl_h_action(&h, CTRL_DELETE, "pods", 0)->name, "p30");
  ctrl_h_apply(&h);
  /* tolerated forever: stays */
  h.now = tainted + 3600 * S_NS;
  sync_node(&h, "n1");
  cr_assert_eq(h.out.n, 0);
  cr_assert(pod_exists(&h, "forever"));
  cr_assert(!pod_exists(&h, "p30"));
  /* the agent is back: the taint goes */
  put_node(&h, "n1", "True", h.now);
  sync_node(&h, "n1");
  cr_assert_eq(ctrl_h_count(&h, CTRL_UPDATE, "nodes"), 1);
  cr_assert_eq(h.requeue_ns, 20 * S_NS);
  ctrl_h_apply(&h);
  cr_assert_null(taint_of(&h, "n1", 0));
  sync_node(&h, "n1");
  cr_assert_eq(h.out.n, 0);
  /* n2 went quiet too, all along */
  sync_node(&h, "n2");
  cr_assert_eq(ctrl_h_count(&h, CTRL_UPDATE_STATUS, "nodes"), 1);
  ctrl_h_free(&h);
}

Test(ctrl_node, not_ready_node_and_user_taints)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_node(&h, "n1", "False", h.now);
  /* a user's NoExecute taint without timeAdded gets one */
  json_t *n = json_deep_copy(node_obj(&h, "n1"));
  json_object_set_new(json_object_get(n, "spec"), "taints",
                      J("[{'key':'maintenance','effect':'NoExecute'},"
                        "{'key':'node.kubernetes.io/unreachable','effect':'NoExecute'}]"));
  ctrl_h_put(&h, "nodes", n);
  put_pod(&h, "tol", "n1",
          "[{'operator':'Exists','effect':'NoExecute','tolerationSeconds':60},"
          "{'key':'maintenance','operator':'Exists','tolerationSeconds':10}]");
  put_pod(&h, "done", "n1", NULL);
  ctrl_h_pod_status(&h, ctrl_cache_get(h.cache, "pods", "default", "done"), "Succeeded", false);
  sync_node(&h, "n1");
  cr_assert_eq(ctrl_h_count(&h, CTRL_UPDATE, "nodes"), 1);
  json_t *taints = json_object_get(
      json_object_get(ctrl_h_action(&h, CTRL_UPDATE, "nodes", 0)->obj, "spec"), "taints");
  cr_assert_eq(json_array_size(taints), 2);
  cr_assert_str_eq(json_str(json_array_get(taints, 0), "key"), "maintenance");
  cr_assert_str_eq(json_str(json_array_get(taints, 0), "timeAdded"), ctrl_f_time(h.now));
  cr_assert_str_eq(json_str(json_array_get(taints, 1), "key"), "node.kubernetes.io/not-ready");
  /* Ready False is the agent's word: pods stay Ready; the first toleration
   * of the maintenance taint says 60 s, the shortest of those used wins */
  cr_assert_eq(ctrl_h_count(&h, CTRL_UPDATE_STATUS, NULL), 0);
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, NULL), 0);
  cr_assert_eq(h.requeue_ns, 20 * S_NS);
  ctrl_h_apply(&h);
  h.now += 60 * S_NS;
  put_node(&h, "n1", "False", h.now);
  sync_node(&h, "n1");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 1);
  cr_assert_str_eq(ctrl_h_action(&h, CTRL_DELETE, "pods", 0)->name, "tol");
  ctrl_h_free(&h);
}

Test(ctrl_node, never_posted_and_keys)
{
  ctrl_h h;
  ctrl_h_init(&h);
  ctrl_h_put(&h, "nodes", J("{'metadata':{'name':'fresh'}}"));
  sync_node(&h, "fresh");
  cr_assert_eq(h.out.n, 0);
  cr_assert_eq(h.requeue_ns, 20 * S_NS);
  h.now += 20 * S_NS;
  sync_node(&h, "fresh");
  json_t *n = ctrl_h_action(&h, CTRL_UPDATE_STATUS, "nodes", 0)->obj;
  cr_assert_str_eq(json_str(ctrl_condition(n, "Ready"), "reason"), "NodeStatusNeverUpdated");
  cr_assert_str_eq(json_str(ctrl_condition(n, "Ready"), "message"),
                   "Kubelet never posted node status.");
  ctrl_h_apply(&h);
  sync_node(&h, "fresh");
  ctrl_h_apply(&h);
  cr_assert_str_eq(json_str(taint_of(&h, "fresh", 0), "key"), "node.kubernetes.io/unreachable");

  size_t self = ctrl_h_def("node-lifecycle");
  ctrl_ctx_t x = { .cache = h.cache, .cfg = &h.cfg, .now = h.now, .out = &h.out };
  ctrl_keys_t keys = { 0 };
  json_t *lease = J("{'metadata':{'name':'fresh','namespace':'kube-node-lease'}}");
  json_t *other = J("{'metadata':{'name':'x','namespace':'default'}}");
  json_t *pod = J("{'metadata':{'name':'p','namespace':'default'},'spec':{'nodeName':'fresh'}}");
  json_t *pod2 = J("{'metadata':{'name':'p','namespace':'default'},'spec':{'nodeName':'ok'}}");
  put_node(&h, "ok", "True", h.now);
  ctrl_defs[self].keys(&x, self, "coordination.k8s.io/leases", NULL, lease, &keys);
  ctrl_defs[self].keys(&x, self, "leases", NULL, other, &keys);
  ctrl_defs[self].keys(&x, self, "pods", NULL, pod, &keys);
  ctrl_defs[self].keys(&x, self, "pods", NULL, pod2, &keys);
  ctrl_defs[self].keys(&x, self, "nodes", node_obj(&h, "ok"), NULL, &keys);
  cr_assert_eq(keys.n, 3);
  cr_assert_str_eq(keys.v[0].name, "fresh");
  cr_assert_str_eq(keys.v[1].name, "fresh");
  cr_assert_str_eq(keys.v[2].name, "ok");
  cr_assert_str_eq(keys.v[2].ns, "");
  ctrl_keys_clear(&keys);
  json_decref(lease);
  json_decref(other);
  json_decref(pod);
  json_decref(pod2);
  ctrl_h_free(&h);
}

Test(ctrl_node, default_tolerations)
{
  json_t *pod = J("{'spec':{'tolerations':[{'key':'node.kubernetes.io/not-ready',"
                  "'operator':'Exists'}]}}");
  cr_assert(ctrl_pod_default_tolerations(pod, 300));
  json_t *tols = json_object_get(json_object_get(pod, "spec"), "tolerations");
  cr_assert_eq(json_array_size(tols), 2, "not-ready is covered by the pod's own toleration");
  json_t *t = json_array_get(tols, 1);
  cr_assert_str_eq(json_str(t, "key"), "node.kubernetes.io/unreachable");
  cr_assert_str_eq(json_str(t, "operator"), "Exists");
  cr_assert_str_eq(json_str(t, "effect"), "NoExecute");
  cr_assert_eq(json_int(t, "tolerationSeconds", 0), 300);
  cr_assert(!ctrl_pod_default_tolerations(pod, 300), "idempotent");
  json_decref(pod);
  pod = J("{'spec':{'tolerations':[{'operator':'Exists'}]}}");
  cr_assert(!ctrl_pod_default_tolerations(pod, 30));
  json_decref(pod);
  pod = J("{'spec':{}}");
  cr_assert(ctrl_pod_default_tolerations(pod, 30));
  cr_assert_eq(json_array_size(json_object_get(json_object_get(pod, "spec"), "tolerations")), 2);
  json_decref(pod);
  const char *junk[] = { "{}", "{'spec':5}", "{'spec':{'tolerations':'x'}}", "[]" };
  for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
    pod = J(junk[i]);
    cr_assert(!ctrl_pod_default_tolerations(pod, 30), "%s", junk[i]);
    json_decref(pod);
  }
  cr_assert(!ctrl_pod_default_tolerations(NULL, 30));
}

Test(ctrl_node, hostile_objects)
{
  ctrl_h h;
  ctrl_h_init(&h);
  const char *nodes[] = {
    "{'metadata':{'name':'h1'},'spec':'x','status':'y'}",
    "{'metadata':{'name':'h2','creationTimestamp':'bad'},'spec':{'taints':[5,{'effect':5},"
    "{'key':'node.kubernetes.io/not-ready','effect':'NoExecute','timeAdded':7}]},"
    "'status':{'conditions':[5,{'type':'Ready','status':'False','lastHeartbeatTime':[]}]}}",
    "{'metadata':{'name':'h3'},'spec':{'taints':{'a':1}},'status':{'conditions':{'x':1}}}",
  };
  for (size_t i = 0; i < ARRAY_SIZE(nodes); i++)
    ctrl_h_put(&h, "nodes", J(nodes[i]));
  ctrl_h_put(&h, "leases",
             J("{'metadata':{'name':'h1','namespace':'kube-node-lease'},"
               "'spec':{'renewTime':5}}"));
  ctrl_h_put(&h, "pods",
             J("{'metadata':{'name':'p1','namespace':'default'},'spec':{"
               "'nodeName':'h2','tolerations':[5,{'operator':'Exists','tolerationSeconds':"
               "9223372036854775807},{'tolerationSeconds':'x','operator':'Exists'}]},'status':{'"
               "conditions':[{'type':'Ready',"
               "'status':'True'}]}}"));
  ctrl_h_put(&h, "pods",
             J("{'metadata':{'name':'p2','namespace':'default'},'spec':{"
               "'nodeName':'h2','tolerations':[{'operator':'Exists',"
               "'tolerationSeconds':-5}]},'status':'x'}"));
  ctrl_h_put(&h, "pods", J("{'metadata':5,'spec':{'nodeName':'h2'}}"));
  for (int round = 0; round < 4; round++) {
    for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
      char name[32];
      snprintf(name, sizeof name, "h%zu", i + 1);
      sync_node(&h, name);
      ctrl_h_apply(&h);
    }
    h.now += 3600 * S_NS;
  }
  cr_assert(pod_exists(&h, "p1"), "tolerated (the huge tolerationSeconds is forever)");
  cr_assert(!pod_exists(&h, "p2"), "a negative tolerationSeconds evicts at once");
  sync_node(&h, "absent");
  cr_assert_eq(h.out.n, 0);
  ctrl_h_free(&h);
}

/* ---- PodDisruptionBudget status -------------------------------------------------------- */

static json_t *put_pdb(ctrl_h *h, const char *name, const char *budget)
{
  char *text = xasprintf("{'apiVersion':'policy/v1','kind':'PodDisruptionBudget','metadata':{"
                         "'name':'%s','namespace':'default'},'spec':{'selector':{'matchLabels':"
                         "{'app':'web'}},%s}}",
                         name, budget);
  json_t *o = ctrl_h_put(h, "poddisruptionbudgets", J(text));
  free(text);
  return o;
}

static void hostile_budgets(ctrl_h *h);

static json_t *pdb_status(ctrl_h *h, const char *name)
{
  ctrl_h_sync(h, "disruption", "default", name);
  ctrl_h_apply(h);
  return ctrl_f_status(h, "poddisruptionbudgets", "default", name);
}

Test(ctrl_node, pdb_status)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_pod(&h, "w1", "n1", NULL);
  put_pod(&h, "w2", "n1", NULL);
  put_pod(&h, "w3", "n1", NULL);
  put_pod(&h, "other", "n1", NULL);
  json_t *o = json_deep_copy(ctrl_cache_get(h.cache, "pods", "default", "other"));
  json_object_set_new(json_object_get(o, "metadata"), "labels", J("{'app':'db'}"));
  ctrl_h_put(&h, "pods", o);
  put_pdb(&h, "min2", "'minAvailable':2");
  json_t *st = pdb_status(&h, "min2");
  cr_assert_eq(json_int(st, "expectedPods", -1), 3);
  cr_assert_eq(json_int(st, "currentHealthy", -1), 3);
  cr_assert_eq(json_int(st, "desiredHealthy", -1), 2);
  cr_assert_eq(json_int(st, "disruptionsAllowed", -1), 1);
  cr_assert_eq(json_int(st, "observedGeneration", -1), 1);
  json_t *pdb = ctrl_cache_get(h.cache, "poddisruptionbudgets", "default", "min2");
  cr_assert_str_eq(json_str(ctrl_condition(pdb, "DisruptionAllowed"), "status"), "True");
  cr_assert_str_eq(json_str(ctrl_condition(pdb, "DisruptionAllowed"), "reason"), "SufficientPods");
  /* nothing changed: no write */
  ctrl_h_sync(&h, "disruption", "default", "min2");
  cr_assert_eq(h.out.n, 0);
  /* one is not Ready: no disruption allowed */
  ctrl_h_pod_status(&h, ctrl_cache_get(h.cache, "pods", "default", "w3"), "Running", false);
  st = pdb_status(&h, "min2");
  cr_assert_eq(json_int(st, "currentHealthy", -1), 2);
  cr_assert_eq(json_int(st, "disruptionsAllowed", -1), 0);
  pdb = ctrl_cache_get(h.cache, "poddisruptionbudgets", "default", "min2");
  cr_assert_str_eq(json_str(ctrl_condition(pdb, "DisruptionAllowed"), "reason"),
                   "InsufficientPods");
  /* a percentage or maxUnavailable counts the scale of the pods'
   * controllers; pods without one are left out (as Kubernetes, with an
   * UnmanagedPods warning), and a budget that expects no pod allows nothing */
  put_pdb(&h, "pct", "'minAvailable':'50%'");
  ctrl_h_sync(&h, "disruption", "default", "pct");
  cr_assert_eq(ctrl_f_pending_events(&h, "UnmanagedPods"), 1);
  st = pdb_status(&h, "pct");
  cr_assert_eq(json_int(st, "expectedPods", -1), 0);
  cr_assert_eq(json_int(st, "currentHealthy", -1), 2);
  cr_assert_eq(json_int(st, "desiredHealthy", -1), 0);
  cr_assert_eq(json_int(st, "disruptionsAllowed", -1), 0);
  put_pdb(&h, "maxu", "'maxUnavailable':1");
  st = pdb_status(&h, "maxu");
  cr_assert_eq(json_int(st, "expectedPods", -1), 0);
  cr_assert_eq(json_int(st, "desiredHealthy", -1), 0);
  cr_assert_eq(json_int(st, "disruptionsAllowed", -1), 0);
  /* a bad budget fails safe, and its generation is not observed */
  put_pdb(&h, "bad", "'minAvailable':'two'");
  ctrl_h_sync(&h, "disruption", "default", "bad");
  cr_assert_eq(ctrl_f_pending_events(&h, "CalculateExpectedPodCountFailed"), 1);
  ctrl_h_apply(&h);
  pdb = ctrl_cache_get(h.cache, "poddisruptionbudgets", "default", "bad");
  cr_assert_eq(json_int(json_object_get(pdb, "status"), "disruptionsAllowed", -1), 0);
  cr_assert_null(json_object_get(json_object_get(pdb, "status"), "observedGeneration"));
  cr_assert_str_eq(json_str(ctrl_condition(pdb, "DisruptionAllowed"), "reason"), "SyncFailed");
  cr_assert(
      strstr(json_str(ctrl_condition(pdb, "DisruptionAllowed"), "message"), "spec.minAvailable"));
  /* a budget that selects no pod */
  put_pdb(&h, "none", "'minAvailable':1");
  json_t *none = json_deep_copy(ctrl_cache_get(h.cache, "poddisruptionbudgets", "default", "none"));
  json_object_set_new(json_object_get(none, "spec"), "selector", J("{'matchLabels':{'a':'b'}}"));
  ctrl_h_put(&h, "poddisruptionbudgets", none);
  ctrl_h_sync(&h, "disruption", "default", "none");
  cr_assert_eq(ctrl_f_pending_events(&h, "NoPods"), 1);
  st = pdb_status(&h, "none");
  cr_assert_eq(json_int(st, "expectedPods", -1), 0);
  cr_assert_eq(json_int(st, "disruptionsAllowed", -1), 0);
  cr_assert_eq(json_int(st, "observedGeneration", -1), 2);
  /* keys: a pod change reaches the budgets that select it, before or after */
  size_t self = ctrl_h_def("disruption");
  ctrl_ctx_t x = { .cache = h.cache, .cfg = &h.cfg, .now = h.now, .out = &h.out };
  ctrl_keys_t keys = { 0 };
  json_t *db = ctrl_cache_get(h.cache, "pods", "default", "other");
  ctrl_defs[self].keys(&x, self, "pods", NULL, db, &keys);
  cr_assert_eq(keys.n, 0);
  ctrl_defs[self].keys(&x, self, "/pods", ctrl_cache_get(h.cache, "pods", "default", "w1"), db,
                       &keys);
  cr_assert_eq(keys.n, 4);
  ctrl_keys_clear(&keys);
  ctrl_h_free(&h);
}

Test(ctrl_node, pdb_counts_controllers_scale)
{
  ctrl_h h;
  ctrl_h_init(&h);
  json_t *rs = ctrl_h_put(&h, "replicasets",
                          J("{'metadata':{'name':'web-1','namespace':'default'},'spec':{"
                            "'replicas':4}}"));
  for (int i = 0; i < 3; i++) {
    char name[32];
    snprintf(name, sizeof name, "w%d", i);
    put_pod(&h, name, "n1", NULL);
    json_t *p = json_deep_copy(ctrl_cache_get(h.cache, "pods", "default", name));
    json_object_set_new(json_object_get(p, "metadata"), "ownerReferences",
                        json_pack("[o]", ctrl_owner_ref(rs, "apps/v1", "ReplicaSet")));
    ctrl_h_put(&h, "pods", p);
  }
  put_pdb(&h, "half", "'maxUnavailable':'50%'");
  json_t *st = pdb_status(&h, "half");
  cr_assert_eq(json_int(st, "expectedPods", -1), 4);
  cr_assert_eq(json_int(st, "desiredHealthy", -1), 2);
  cr_assert_eq(json_int(st, "currentHealthy", -1), 3);
  cr_assert_eq(json_int(st, "disruptionsAllowed", -1), 1);
  /* a pod the eviction API just disrupted does not count as healthy */
  json_t *pdb = json_deep_copy(ctrl_cache_get(h.cache, "poddisruptionbudgets", "default", "half"));
  json_object_set_new(json_object_get(pdb, "status"), "disruptedPods",
                      json_pack("{s:s}", "w0", ctrl_f_time(h.now)));
  ctrl_h_put(&h, "poddisruptionbudgets", pdb);
  st = pdb_status(&h, "half");
  cr_assert_eq(json_int(st, "currentHealthy", -1), 2);
  cr_assert_eq(json_int(st, "disruptionsAllowed", -1), 0);
  cr_assert_eq(h.requeue_ns, 120 * S_NS); /* when the entry expires */
  h.now += 121 * S_NS;
  st = pdb_status(&h, "half");
  cr_assert_null(json_object_get(st, "disruptedPods"));
  cr_assert_eq(json_int(st, "currentHealthy", -1), 3);
  /* a Deployment's replicas count once across its ReplicaSets */
  json_t *d = ctrl_h_put(&h, "deployments",
                         J("{'metadata':{'name':'web','namespace':'default'},'spec':{"
                           "'replicas':5}}"));
  json_t *rs2 = json_deep_copy(rs);
  json_object_set_new(json_object_get(rs2, "metadata"), "ownerReferences",
                      json_pack("[o]", ctrl_owner_ref(d, "apps/v1", "Deployment")));
  rs = ctrl_h_put(&h, "replicasets", rs2);
  json_t *rs3 = ctrl_h_put(&h, "replicasets",
                           J("{'metadata':{'name':'web-2','namespace':'default'},'spec':{"
                             "'replicas':1}}"));
  json_t *rs3c = json_deep_copy(rs3);
  json_object_set_new(json_object_get(rs3c, "metadata"), "ownerReferences",
                      json_pack("[o]", ctrl_owner_ref(d, "apps/v1", "Deployment")));
  rs3 = ctrl_h_put(&h, "replicasets", rs3c);
  put_pod(&h, "w9", "n1", NULL);
  json_t *p9 = json_deep_copy(ctrl_cache_get(h.cache, "pods", "default", "w9"));
  json_object_set_new(json_object_get(p9, "metadata"), "ownerReferences",
                      json_pack("[o]", ctrl_owner_ref(rs3, "apps/v1", "ReplicaSet")));
  ctrl_h_put(&h, "pods", p9);
  st = pdb_status(&h, "half");
  cr_assert_eq(json_int(st, "expectedPods", -1), 5);
  cr_assert_eq(json_int(st, "desiredHealthy", -1), 2);
  cr_assert_eq(json_int(st, "currentHealthy", -1), 4);
  hostile_budgets(&h);
  ctrl_h_free(&h);
}

/* As Kubernetes: a budget over pods whose controller has no scale (a Job)
 * or is gone cannot be computed: disruptionsAllowed 0, SyncFailed, and
 * observedGeneration stays behind the budget's generation. */
Test(ctrl_node, pdb_without_scale_fails_safe)
{
  ctrl_h h;
  ctrl_h_init(&h);
  json_t *job = ctrl_h_put(&h, "jobs", J("{'metadata':{'name':'batch','namespace':'default'}}"));
  put_pod(&h, "j1", "n1", NULL);
  put_pod(&h, "w1", "n1", NULL);
  put_pod(&h, "w2", "n1", NULL);
  json_t *p = json_deep_copy(ctrl_cache_get(h.cache, "pods", "default", "j1"));
  json_object_set_new(json_object_get(p, "metadata"), "ownerReferences",
                      json_pack("[o]", ctrl_owner_ref(job, "batch/v1", "Job")));
  ctrl_h_put(&h, "pods", p);
  put_pdb(&h, "pb", "'maxUnavailable':1");
  ctrl_h_sync(&h, "disruption", "default", "pb");
  cr_assert_eq(ctrl_f_pending_events(&h, "CalculateExpectedPodCountFailed"), 1);
  json_t *st = pdb_status(&h, "pb");
  cr_assert_eq(json_int(st, "disruptionsAllowed", -1), 0);
  cr_assert_null(json_object_get(st, "observedGeneration"));
  json_t *pdb = ctrl_cache_get(h.cache, "poddisruptionbudgets", "default", "pb");
  json_t *c = ctrl_condition(pdb, "DisruptionAllowed");
  cr_assert_str_eq(json_str(c, "reason"), "SyncFailed");
  cr_assert_str_eq(json_str(c, "message"), "jobs.batch does not implement the scale subresource");
  /* nothing changed: no second write */
  ctrl_h_sync(&h, "disruption", "default", "pb");
  cr_assert_eq(ctrl_h_count(&h, CTRL_UPDATE_STATUS, NULL), 0);
  /* a number needs no scale: computed, generation 2 observed */
  json_t *copy = json_deep_copy(pdb);
  json_object_set_new(json_object_get(copy, "spec"), "maxUnavailable", json_null());
  json_object_set_new(json_object_get(copy, "spec"), "minAvailable", json_integer(2));
  ctrl_h_put(&h, "poddisruptionbudgets", copy);
  st = pdb_status(&h, "pb");
  cr_assert_eq(json_int(st, "observedGeneration", -1), 2);
  cr_assert_eq(json_int(st, "expectedPods", -1), 3);
  cr_assert_eq(json_int(st, "disruptionsAllowed", -1), 1);
  c = ctrl_condition(ctrl_cache_get(h.cache, "poddisruptionbudgets", "default", "pb"),
                     "DisruptionAllowed");
  cr_assert_str_eq(json_str(c, "reason"), "SufficientPods");
  cr_assert_eq(json_int(c, "observedGeneration", -1), 2);
  /* a pod whose ReplicaSet is gone */
  json_decref(ctrl_cache_remove(h.cache, "pods", "default", "j1"));
  p = json_deep_copy(ctrl_cache_get(h.cache, "pods", "default", "w1"));
  json_object_set_new(json_object_get(p, "metadata"), "ownerReferences",
                      J("[{'apiVersion':'apps/v1','kind':'ReplicaSet','name':'gone','uid':'u-gone',"
                        "'controller':true}]"));
  ctrl_h_put(&h, "pods", p);
  put_pdb(&h, "pg", "'maxUnavailable':'10%'");
  pdb_status(&h, "pg");
  c = ctrl_condition(ctrl_cache_get(h.cache, "poddisruptionbudgets", "default", "pg"),
                     "DisruptionAllowed");
  cr_assert_str_eq(json_str(c, "message"), "found no controllers for pod \"w1\"");
  ctrl_h_free(&h);
}

static void hostile_budgets(ctrl_h *h)
{
  /* hostile budgets */
  const char *bad[] = {
    "{'metadata':{'name':'b1','namespace':'default'},'spec':'x','status':5}",
    "{'metadata':{'name':'b2','namespace':'default'},'spec':{'selector':5,'minAvailable':[]}}",
    "{'metadata':{'name':'b3','namespace':'default'},'spec':{'selector':{'matchExpressions':"
    "[{'key':'a','operator':'Nope'}]},'maxUnavailable':'200%'},'status':{'disruptedPods':"
    "{'w1':5,'w2':'2026-01-01T00:00:00Z'}}}",
    "{'metadata':{'name':'b4','namespace':'default'},'spec':{'selector':{},"
    "'minAvailable':-3,'maxUnavailable':null}}",
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    char name[32];
    snprintf(name, sizeof name, "b%zu", i + 1);
    ctrl_h_put(h, "poddisruptionbudgets", J(bad[i]));
    pdb_status(h, name);
  }
}
