/* test_ctrl_ds.c — the DaemonSet controller: which nodes get a pod (node
 * selectors, affinity, taints), new nodes, failed and extra pods, the
 * rolling update within maxUnavailable, OnDelete, the status; and the
 * matching helpers it is built on. */
#include "ctrl_fixtures.h"

static json_t *put_node(ctrl_h *h, const char *name, const char *labels, const char *taints)
{
  char *text = xasprintf("{'apiVersion':'v1','kind':'Node','metadata':{'name':'%s','labels':%s},"
                         "'spec':{'taints':%s},'status':{'conditions':[{'type':'Ready',"
                         "'status':'True'}]}}",
                         name, labels ? labels : "{}", taints ? taints : "[]");
  json_t *o = ctrl_h_put(h, "nodes", J(text));
  free(text);
  return o;
}

/* Nodes n0 … n(count-1), Ready, without labels or taints. */
static void put_nodes(ctrl_h *h, int count)
{
  for (int i = 0; i < count; i++) {
    char name[32];
    snprintf(name, sizeof name, "n%d", i);
    put_node(h, name, NULL, NULL);
  }
}

static json_t *put_ds(ctrl_h *h, const char *name, const char *image, const char *extra)
{
  char *text = xasprintf(
      "{'apiVersion':'apps/v1','kind':'DaemonSet','metadata':{'name':'%s','namespace':'kube-"
      "system'},'spec':{'selector':{'matchLabels':{'app':'%s'}},'template':{'metadata':{'labels':"
      "{'app':'%s'}},'spec':{'containers':[{'name':'c','image':'%s'}]}}%s}}",
      name, name, name, image, extra ? extra : "");
  json_t *o = ctrl_h_put(h, "daemonsets", J(text));
  free(text);
  return o;
}

static json_t *ds_pods(ctrl_h *h, const char *ds)
{
  return ctrl_f_owned(h, "pods", "daemonsets", "kube-system", ds);
}

/* The node a created pod is pinned to by its affinity. */
static const char *pinned_node(json_t *pod)
{
  json_t *terms = json_object_get(
      json_object_get(json_object_get(json_object_get(json_object_get(pod, "spec"), "affinity"),
                                      "nodeAffinity"),
                      "requiredDuringSchedulingIgnoredDuringExecution"),
      "nodeSelectorTerms");
  json_t *f = json_array_get(json_object_get(json_array_get(terms, 0), "matchFields"), 0);
  cr_assert_str_eq(json_str(f, "key"), "metadata.name");
  cr_assert_str_eq(json_str(f, "operator"), "In");
  return json_string_value(json_array_get(json_object_get(f, "values"), 0));
}

/* Every pod of ds bound to its node and Ready (what scheduler and agent do). */
static void run_all(ctrl_h *h, const char *ds)
{
  json_t *pods = ds_pods(h, ds), *pod;
  size_t i;
  json_array_foreach(pods, i, pod)
  {
    if (ctrl_pod_ready(pod, NULL))
      continue;
    json_t *p = json_deep_copy(pod);
    json_object_set_new(json_object_get(p, "spec"), "nodeName", json_string(pinned_node(pod)));
    ctrl_h_pod_status(h, ctrl_h_put(h, "pods", p), "Running", true);
  }
  json_decref(pods);
}

static const char *image_of(json_t *pod)
{
  json_t *c = json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0);
  return json_str(c, "image") ?: "";
}

static json_t *ds_status(ctrl_h *h, const char *ds)
{
  return ctrl_f_status(h, "daemonsets", "kube-system", ds);
}

static void sync_apply(ctrl_h *h, const char *ds)
{
  ctrl_h_sync(h, "daemonset", "kube-system", ds);
  ctrl_h_apply(h);
}

/* The fixture most tests start from: DaemonSet d (image x:1) synced over one
 * node, n1, its pod created. */
static void one_node_ds(ctrl_h *h)
{
  ctrl_h_init(h);
  put_node(h, "n1", NULL, NULL);
  put_ds(h, "d", "x:1", NULL);
  sync_apply(h, "d");
}

Test(ctrl_ds, one_pod_per_eligible_node)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_node(&h, "n1", NULL, NULL);
  put_node(&h, "n2", NULL, NULL);
  put_node(&h, "n3", NULL, "[{'key':'dedicated','value':'db','effect':'NoSchedule'}]");
  put_ds(&h, "agent", "agent:1", NULL);
  ctrl_h_sync(&h, "daemonset", "kube-system", "agent");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 2);
  json_t *pod = ctrl_h_action(&h, CTRL_CREATE, "pods", 0)->obj;
  cr_assert_str_eq(pinned_node(pod), "n1");
  cr_assert_str_eq(pinned_node(ctrl_h_action(&h, CTRL_CREATE, "pods", 1)->obj), "n2");
  json_t *md = json_object_get(pod, "metadata");
  cr_assert_str_eq(json_str(md, "generateName"), "agent-");
  cr_assert_str_eq(json_str(md, "namespace"), "kube-system");
  json_t *labels = json_object_get(md, "labels");
  cr_assert_str_eq(json_str(labels, "app"), "agent");
  cr_assert(json_str(labels, "controller-revision-hash"));
  cr_assert_str_eq(json_str(ctrl_controller_ref(pod), "kind"), "DaemonSet");
  /* the daemon tolerations */
  json_t *tols = json_object_get(json_object_get(pod, "spec"), "tolerations");
  cr_assert_eq(json_array_size(tols), 6);
  json_t *t0 = json_array_get(tols, 0);
  cr_assert_str_eq(json_str(t0, "key"), "node.kubernetes.io/not-ready");
  cr_assert_str_eq(json_str(t0, "effect"), "NoExecute");
  cr_assert_null(json_object_get(t0, "tolerationSeconds"));
  cr_assert_str_eq(json_str(json_array_get(tols, 5), "key"), "node.kubernetes.io/unschedulable");
  ctrl_h_apply(&h);
  sync_apply(&h, "agent"); /* the status sees the pods */
  json_t *st = ds_status(&h, "agent");
  cr_assert_eq(json_int(st, "desiredNumberScheduled", -1), 2);
  cr_assert_eq(json_int(st, "currentNumberScheduled", -1), 2);
  cr_assert_eq(json_int(st, "numberReady", -1), 0);
  cr_assert_eq(json_int(st, "numberUnavailable", -1), 2);
  cr_assert_eq(json_int(st, "updatedNumberScheduled", -1), 2);
  cr_assert_eq(json_int(st, "observedGeneration", -1), 1);
  run_all(&h, "agent");
  sync_apply(&h, "agent");
  st = ds_status(&h, "agent");
  cr_assert_eq(json_int(st, "numberReady", -1), 2);
  cr_assert_eq(json_int(st, "numberAvailable", -1), 2);
  cr_assert_eq(json_int(st, "numberUnavailable", -1), 0);
  cr_assert_eq(json_int(st, "numberMisscheduled", -1), 0);
  /* a new node gets its pod; a settled set does nothing */
  put_node(&h, "n4", NULL, NULL);
  ctrl_h_sync(&h, "daemonset", "kube-system", "agent");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 1);
  cr_assert_str_eq(pinned_node(ctrl_h_action(&h, CTRL_CREATE, "pods", 0)->obj), "n4");
  ctrl_h_apply(&h);
  run_all(&h, "agent");
  sync_apply(&h, "agent");
  ctrl_h_sync(&h, "daemonset", "kube-system", "agent");
  cr_assert_eq(h.out.n, 0);
  /* tainted n3 after all tolerated: it gets one too */
  put_ds(&h, "tolerant", "t:1", NULL);
  json_t *ds = json_deep_copy(ctrl_cache_get(h.cache, "daemonsets", "kube-system", "tolerant"));
  json_object_set_new(
      json_object_get(json_object_get(json_object_get(ds, "spec"), "template"), "spec"),
      "tolerations", J("[{'key':'dedicated','operator':'Exists'}]"));
  ctrl_h_put(&h, "daemonsets", ds);
  ctrl_h_sync(&h, "daemonset", "kube-system", "tolerant");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 4);
  ctrl_h_free(&h);
}

Test(ctrl_ds, node_selection)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_node(&h, "a", "{'disk':'ssd','zone':'1'}", NULL);
  put_node(&h, "b", "{'disk':'hdd','zone':'2'}", NULL);
  put_node(&h, "c", "{'disk':'ssd','zone':'3'}",
           "[{'key':'gpu','effect':'NoExecute','timeAdded':'2026-01-01T00:00:00Z'}]");
  json_t *n = put_node(&h, "d", "{'disk':'ssd'}", NULL);
  json_t *nd = json_deep_copy(n);
  json_object_set_new(json_object_get(nd, "metadata"), "deletionTimestamp",
                      json_string("2026-01-01T00:00:00Z"));
  ctrl_h_put(&h, "nodes", nd);
  put_ds(&h, "sel", "x:1", ",'minReadySeconds':0,'updateStrategy':{'type':'OnDelete'}");
  json_t *ds = json_deep_copy(ctrl_cache_get(h.cache, "daemonsets", "kube-system", "sel"));
  json_t *tspec = json_object_get(json_object_get(json_object_get(ds, "spec"), "template"), "spec");
  json_object_set_new(tspec, "nodeSelector", J("{'disk':'ssd'}"));
  json_object_set_new(tspec, "affinity",
                      J("{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
                        "'nodeSelectorTerms':[{'matchExpressions':[{'key':'zone','operator':'Gt',"
                        "'values':['0']}]}]}}}"));
  ctrl_h_put(&h, "daemonsets", ds);
  ctrl_h_sync(&h, "daemonset", "kube-system", "sel");
  /* a: yes; b: hdd; c: NoExecute taint; d: being deleted */
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 1);
  json_t *pod = ctrl_h_action(&h, CTRL_CREATE, "pods", 0)->obj;
  cr_assert_str_eq(pinned_node(pod), "a");
  /* the template's own required affinity is replaced by the pinning one */
  json_t *terms = json_object_get(
      json_object_get(json_object_get(json_object_get(json_object_get(pod, "spec"), "affinity"),
                                      "nodeAffinity"),
                      "requiredDuringSchedulingIgnoredDuringExecution"),
      "nodeSelectorTerms");
  cr_assert_eq(json_array_size(terms), 1);
  ctrl_h_apply(&h);
  run_all(&h, "sel");
  /* a's label changes: its pod is deleted; misscheduled until then */
  put_node(&h, "a", "{'disk':'hdd','zone':'1'}", NULL);
  ctrl_h_sync(&h, "daemonset", "kube-system", "sel");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 1);
  cr_assert_eq(json_int(json_object_get(ctrl_h_action(&h, CTRL_UPDATE_STATUS, "daemonsets", 0)->obj,
                                        "status"),
                        "numberMisscheduled", -1),
               1);
  ctrl_h_apply(&h);
  cr_assert_eq(ctrl_f_events(&h, "SuccessfulDelete"), 1);
  ctrl_h_free(&h);
}

Test(ctrl_ds, failed_extra_and_stray_pods)
{
  ctrl_h h;
  one_node_ds(&h);
  run_all(&h, "d");
  json_t *pods = ds_pods(&h, "d");
  json_t *first = json_deep_copy(json_array_get(pods, 0));
  json_decref(pods);
  /* a second pod on n1 (older one kept), and one for a node that is gone */
  h.now += S_NS;
  json_t *dup = json_deep_copy(first);
  json_t *md = json_object_get(dup, "metadata");
  json_object_set_new(md, "name", json_string("d-zzzzz"));
  json_object_del(md, "uid");
  json_object_del(md, "creationTimestamp");
  ctrl_h_put(&h, "pods", dup);
  json_t *stray = json_deep_copy(first);
  md = json_object_get(stray, "metadata");
  json_object_set_new(md, "name", json_string("d-stray"));
  json_object_del(md, "uid");
  json_object_set_new(json_object_get(stray, "spec"), "nodeName", json_string("gone"));
  ctrl_h_put(&h, "pods", stray);
  ctrl_h_sync(&h, "daemonset", "kube-system", "d");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 2);
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 0);
  const char *a = ctrl_h_action(&h, CTRL_DELETE, "pods", 0)->name;
  const char *b = ctrl_h_action(&h, CTRL_DELETE, "pods", 1)->name;
  cr_assert(!strcmp(a, "d-stray") || !strcmp(b, "d-stray"));
  cr_assert(!strcmp(a, "d-zzzzz") || !strcmp(b, "d-zzzzz"));
  ctrl_h_apply(&h);
  /* the pod fails: deleted and replaced */
  ctrl_h_pod_status(&h,
                    ctrl_cache_get(h.cache, "pods", "kube-system",
                                   json_str(json_object_get(first, "metadata"), "name")),
                    "Failed", false);
  ctrl_h_sync(&h, "daemonset", "kube-system", "d");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 1);
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 1);
  json_decref(first);
  ctrl_h_free(&h);
}

Test(ctrl_ds, rolling_update_respects_max_unavailable)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_nodes(&h, 5);
  put_ds(&h, "web", "web:1", ",'updateStrategy':{'rollingUpdate':{'maxUnavailable':2}}");
  sync_apply(&h, "web");
  run_all(&h, "web");
  json_t *pods = ds_pods(&h, "web");
  const char *old_hash
      = json_str(json_object_get(json_object_get(json_array_get(pods, 0), "metadata"), "labels"),
                 "controller-revision-hash");
  char *old = xstrdup(old_hash);
  json_decref(pods);
  put_ds(&h, "web", "web:2", ",'updateStrategy':{'rollingUpdate':{'maxUnavailable':2}}");
  int rounds = 0;
  for (;;) {
    ctrl_h_sync(&h, "daemonset", "kube-system", "web");
    size_t del = ctrl_h_count(&h, CTRL_DELETE, "pods");
    size_t cre = ctrl_h_count(&h, CTRL_CREATE, "pods");
    cr_assert_eq(del, cre);
    cr_assert_leq(del, 2, "round %d deleted %zu", rounds, del);
    for (size_t i = 0; i < cre; i++) {
      json_t *p = ctrl_h_action(&h, CTRL_CREATE, "pods", i)->obj;
      const char *hh = json_str(json_object_get(json_object_get(p, "metadata"), "labels"),
                                "controller-revision-hash");
      cr_assert_str_neq(hh, old);
    }
    ctrl_h_apply(&h);
    if (!del)
      break;
    /* before the new pods are Ready, nothing more is taken down */
    ctrl_h_sync(&h, "daemonset", "kube-system", "web");
    cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 0);
    ctrl_h_apply(&h);
    run_all(&h, "web");
    rounds++;
  }
  cr_assert_eq(rounds, 3); /* 2 + 2 + 1 */
  pods = ds_pods(&h, "web");
  cr_assert_eq(json_array_size(pods), 5);
  json_t *p;
  size_t i;
  json_array_foreach(pods, i, p)
  {
    cr_assert_str_eq(image_of(p), "web:2");
  }
  json_decref(pods);
  sync_apply(&h, "web");
  cr_assert_eq(json_int(ds_status(&h, "web"), "updatedNumberScheduled", -1), 5);
  free(old);
  ctrl_h_free(&h);
}

/* Ready daemon pods of ds not being deleted, and the most on one node. */
static size_t available_pods(ctrl_h *h, const char *ds, size_t *most_on_a_node)
{
  json_t *pods = ds_pods(h, ds), *pod, *per = json_object();
  size_t i, n = 0;
  *most_on_a_node = 0;
  json_array_foreach(pods, i, pod)
  {
    if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
      continue;
    const char *node = pinned_node(pod);
    size_t c = (size_t)json_integer_value(json_object_get(per, node)) + 1;
    json_object_set_new(per, node, json_integer((json_int_t)c));
    if (c > *most_on_a_node)
      *most_on_a_node = c;
    n += ctrl_pod_ready(pod, NULL);
  }
  json_decref(per);
  json_decref(pods);
  return n;
}

Test(ctrl_ds, rolling_update_with_max_surge_keeps_every_node_served)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_nodes(&h, 5);
  const char *strategy = ",'updateStrategy':{'rollingUpdate':{'maxUnavailable':0,'maxSurge':2}}";
  put_ds(&h, "web", "web:1", strategy);
  sync_apply(&h, "web");
  run_all(&h, "web");
  put_ds(&h, "web", "web:2", strategy);
  int rounds = 0;
  for (;; rounds++) {
    ctrl_h_sync(&h, "daemonset", "kube-system", "web");
    size_t cre = ctrl_h_count(&h, CTRL_CREATE, "pods"), del = ctrl_h_count(&h, CTRL_DELETE, "pods");
    if (!cre && !del)
      break;
    cr_assert_leq(cre, 2, "round %d: %zu new pods at once (maxSurge 2)", rounds, cre);
    ctrl_h_apply(&h);
    size_t most, avail = available_pods(&h, "web", &most);
    cr_assert_geq(avail, 5, "round %d: %zu available daemon pods (maxUnavailable 0)", rounds,
                  avail);
    cr_assert_leq(most, 2);
    /* the new pods not Ready yet: no old one goes */
    ctrl_h_sync(&h, "daemonset", "kube-system", "web");
    cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 0, "round %d", rounds);
    ctrl_h_apply(&h);
    run_all(&h, "web");
    cr_assert_lt(rounds, 10);
  }
  json_t *pods = ds_pods(&h, "web"), *p;
  size_t i, live = 0;
  json_array_foreach(pods, i, p)
  {
    if (json_object_get(json_object_get(p, "metadata"), "deletionTimestamp"))
      continue;
    live++;
    cr_assert_str_eq(image_of(p), "web:2");
  }
  cr_assert_eq(live, 5);
  json_decref(pods);
  sync_apply(&h, "web");
  cr_assert_eq(json_int(ds_status(&h, "web"), "updatedNumberScheduled", -1), 5);
  ctrl_h_free(&h);
}

Test(ctrl_ds, on_delete_and_unavailable_old_pods)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_node(&h, "n1", NULL, NULL);
  put_node(&h, "n2", NULL, NULL);
  put_ds(&h, "od", "x:1", ",'updateStrategy':{'type':'OnDelete'}");
  sync_apply(&h, "od");
  run_all(&h, "od");
  put_ds(&h, "od", "x:2", ",'updateStrategy':{'type':'OnDelete'}");
  ctrl_h_sync(&h, "daemonset", "kube-system", "od");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, NULL) + ctrl_h_count(&h, CTRL_CREATE, NULL), 0);
  ctrl_h_apply(&h);
  /* someone deletes one: its replacement has the new template */
  json_t *pods = ds_pods(&h, "od");
  json_t *md = json_object_get(json_array_get(pods, 0), "metadata");
  json_decref(ctrl_cache_remove(h.cache, "pods", "kube-system", json_str(md, "name")));
  json_decref(pods);
  ctrl_h_sync(&h, "daemonset", "kube-system", "od");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 1);
  cr_assert_str_eq(image_of(ctrl_h_action(&h, CTRL_CREATE, "pods", 0)->obj), "x:2");
  ctrl_h_apply(&h);
  /* RollingUpdate with maxUnavailable 1: an old pod that is not Ready is
   * replaced at once, whatever the budget */
  put_node(&h, "n3", NULL, NULL);
  put_ds(&h, "ru", "y:1", NULL);
  sync_apply(&h, "ru");
  run_all(&h, "ru");
  pods = ds_pods(&h, "ru");
  ctrl_h_pod_status(&h, json_array_get(pods, 0), "Running", false);
  ctrl_h_pod_status(&h, json_array_get(pods, 1), "Running", false);
  json_decref(pods);
  put_ds(&h, "ru", "y:2", NULL);
  ctrl_h_sync(&h, "daemonset", "kube-system", "ru");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 2);
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 2);
  ctrl_h_free(&h);
}

Test(ctrl_ds, keys)
{
  ctrl_h h;
  ctrl_h_init(&h);
  json_t *ds = put_ds(&h, "k1", "x:1", NULL);
  put_ds(&h, "k2", "x:1", NULL);
  json_t *node = put_node(&h, "n1", NULL, NULL);
  size_t self = ctrl_h_def("daemonset");
  ctrl_ctx_t x = { .cache = h.cache, .cfg = &h.cfg, .now = h.now, .out = &h.out };
  ctrl_keys_t keys = { 0 };
  ctrl_defs[self].keys(&x, self, "nodes", NULL, node, &keys);
  cr_assert_eq(keys.n, 2);
  ctrl_keys_clear(&keys);
  /* a heartbeat (status only) concerns no DaemonSet */
  json_t *beat = json_deep_copy(node);
  json_object_set_new(beat, "status", J("{'conditions':[]}"));
  ctrl_defs[self].keys(&x, self, "/nodes", node, beat, &keys);
  cr_assert_eq(keys.n, 0);
  json_object_set_new(json_object_get(beat, "metadata"), "labels", J("{'a':'b'}"));
  ctrl_defs[self].keys(&x, self, "/nodes", node, beat, &keys);
  cr_assert_eq(keys.n, 2);
  ctrl_keys_clear(&keys);
  json_decref(beat);
  json_t *pod
      = json_pack("{s:{s:s,s:s,s:[o]}}", "metadata", "name", "p", "namespace", "kube-system",
                  "ownerReferences", ctrl_owner_ref(ds, "apps/v1", "DaemonSet"));
  ctrl_defs[self].keys(&x, self, "pods", NULL, pod, &keys);
  cr_assert_eq(keys.n, 1);
  cr_assert_str_eq(keys.v[0].name, "k1");
  cr_assert_str_eq(keys.v[0].ns, "kube-system");
  ctrl_keys_clear(&keys);
  json_decref(pod);
  ctrl_h_free(&h);
}

Test(ctrl_ds, hostile_objects)
{
  ctrl_h h;
  ctrl_h_init(&h);
  ctrl_h_put(&h, "nodes",
             J("{'metadata':{'name':'n1','labels':'x'},'spec':{'taints':"
               "[5,{'effect':7},{'key':'a','effect':'NoSchedule'}]}}"));
  ctrl_h_put(&h, "nodes", J("{'metadata':{'name':'n2'},'spec':'x','status':[]}"));
  ctrl_h_put(&h, "nodes", J("{'metadata':{'labels':{}}}"));
  const char *hostile[] = {
    "{'metadata':{'name':'h1','namespace':'kube-system'},'spec':'x'}",
    "{'metadata':{'name':'h2','namespace':'kube-system'},'spec':{'template':{'spec':{"
    "'nodeSelector':{'a':5},'tolerations':'x','affinity':{'nodeAffinity':{"
    "'requiredDuringSchedulingIgnoredDuringExecution':{'nodeSelectorTerms':[5,{},"
    "{'matchExpressions':[{'key':'a','operator':'Gt','values':[5]}]},{'matchFields':[{}]}]}}}}},"
    "'updateStrategy':{'rollingUpdate':{'maxUnavailable':'x%'}},'minReadySeconds':-3},"
    "'status':5}",
    "{'metadata':{'name':'h3','namespace':'kube-system'},'spec':{'template':{'spec':{"
    "'tolerations':[{'operator':'Exists'}],'nodeName':7}},'updateStrategy':'x'}}",
    "{'metadata':{'name':'h4','namespace':'kube-system'},'spec':{'template':5,"
    "'updateStrategy':{'rollingUpdate':{'maxUnavailable':'100000000000%'}}}}",
  };
  for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
    char name[32];
    snprintf(name, sizeof name, "h%zu", i + 1);
    ctrl_h_put(&h, "daemonsets", J(hostile[i]));
    for (int round = 0; round < 3; round++) {
      ctrl_h_sync(&h, "daemonset", "kube-system", name);
      ctrl_h_apply(&h);
    }
  }
  /* h3 tolerates everything: a pod on each of the three nodes */
  json_t *pods = ds_pods(&h, "h3");
  cr_assert_eq(json_array_size(pods), 3);
  json_decref(pods);
  ctrl_h_free(&h);
}

Test(ctrl_ds, matching_helpers)
{
  json_t *taint = J("{'key':'k','value':'v','effect':'NoSchedule'}");
  static const struct {
    const char *tol;
    bool ok;
  } cases[] = {
    { "{'key':'k','value':'v','effect':'NoSchedule'}", true },
    { "{'key':'k','operator':'Equal','value':'v'}", true },
    { "{'key':'k','operator':'Exists'}", true },
    { "{'operator':'Exists'}", true },
    { "{'operator':'Exists','effect':'NoExecute'}", false },
    { "{'key':'k','value':'w'}", false },
    { "{'key':'other','operator':'Exists'}", false },
    { "{'key':'k','operator':'Bogus','value':'v'}", false },
    { "{}", false },
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    json_t *tol = J(cases[i].tol);
    cr_assert_eq(ctrl_toleration_matches(tol, taint), cases[i].ok, "%s", cases[i].tol);
    json_decref(tol);
  }
  json_decref(taint);
  json_t *node = J("{'metadata':{'name':'n1','labels':{'zone':'a','cpus':'8'}}}");
  static const struct {
    const char *spec;
    bool ok;
  } sel[] = {
    { "{}", true },
    { "{'nodeSelector':{'zone':'a'}}", true },
    { "{'nodeSelector':{'zone':'b'}}", false },
    { "{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
      "'nodeSelectorTerms':[{'matchExpressions':[{'key':'cpus','operator':'Lt','values':['4']}]},"
      "{'matchFields':[{'key':'metadata.name','operator':'In','values':['n1']}]}]}}}}",
      true },
    { "{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
      "'nodeSelectorTerms':[{'matchExpressions':[{'key':'zone','operator':'NotIn','values':"
      "['a']}]}]}}}}",
      false },
    { "{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
      "'nodeSelectorTerms':[]}}}}",
      false },
    { "{'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
      "'nodeSelectorTerms':[{'matchExpressions':[{'key':'gpu','operator':'DoesNotExist'},"
      "{'key':'zone','operator':'Exists'},{'key':'cpus','operator':'Gt','values':['4']}]}]}}}}",
      true },
  };
  for (size_t i = 0; i < ARRAY_SIZE(sel); i++) {
    json_t *spec = J(sel[i].spec);
    cr_assert_eq(ctrl_node_matches(spec, node), sel[i].ok, "%s", sel[i].spec);
    json_decref(spec);
  }
  json_decref(node);
  int64_t n;
  json_t *v = json_string("25%");
  cr_assert_eq(ctrl_intstr_scaled(v, 10, true, &n, NULL), 0);
  cr_assert_eq(n, 3);
  cr_assert_eq(ctrl_intstr_scaled(v, 10, false, &n, NULL), 0);
  cr_assert_eq(n, 2);
  json_decref(v);
  const char *bad[] = { "\"x\"", "\"5\"", "\"%\"", "\"-5%\"", "-1", "[]", "\"5%x\"" };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    v = json_loads(bad[i], JSON_DECODE_ANY, NULL);
    berr_t err = BERR_INIT;
    cr_assert_eq(ctrl_intstr_scaled(v, 10, true, &n, &err), -1, "%s", bad[i]);
    cr_assert(err.msg);
    berr_clear(&err);
    json_decref(v);
  }
}

/* ---- the back-off of failed daemon pods ------------------------------------------------ */

/* The pod of ds on node (borrowed), or NULL. */
static json_t *pod_on(ctrl_h *h, const char *ds, const char *node)
{
  json_t *pods = ds_pods(h, ds), *pod, *found = NULL;
  size_t i;
  json_array_foreach(pods, i, pod)
  {
    if (!strcmp(pinned_node(pod), node))
      found = pod;
  }
  json_decref(pods);
  return found;
}

/* The agent reports ds's pod on node Failed. */
static void fail_pod(ctrl_h *h, const char *ds, const char *node)
{
  json_t *pod = pod_on(h, ds, node);
  cr_assert(pod, "no pod of %s on %s", ds, node);
  ctrl_h_pod_status(h, pod, "Failed", false);
}

/* The Failed pod's warning is among the sync's actions, once. */
static void expect_warning(ctrl_h *h, json_t *pod, const char *node)
{
  char *want = xasprintf("Found failed daemon pod kube-system/%s on node %s, will try to kill it",
                         json_str(json_object_get(pod, "metadata"), "name"), node);
  cr_assert_eq(ctrl_f_pending_events(h, "FailedDaemonPod"), 1);
  for (size_t i = 0; i < h->out.n; i++)
    if (h->out.v[i].op == CTRL_EVENT && !strcmp(h->out.v[i].reason, "FailedDaemonPod")) {
      cr_assert_str_eq(h->out.v[i].type, "Warning");
      cr_assert_str_eq(h->out.v[i].message, want);
    }
  free(want);
}

/* The pending actions delete the Failed pod on node with the warning and
 * create its replacement there; applied. */
static void check_replaced(ctrl_h *h, json_t *pod, const char *node)
{
  cr_assert_eq(ctrl_h_count(h, CTRL_DELETE, "pods"), 1);
  expect_warning(h, pod, node);
  cr_assert_eq(ctrl_h_count(h, CTRL_CREATE, "pods"), 1);
  cr_assert_str_eq(pinned_node(ctrl_h_action(h, CTRL_CREATE, "pods", 0)->obj), node);
  ctrl_h_apply(h);
}

static const char *phase_of(json_t *pod)
{
  return json_str(json_object_get(pod, "status"), "phase") ?: "";
}

/* A sync after ds's pod on node failed: true when the pod is deleted with
 * the warning and replaced in the same sync (applied); false when its
 * back-off has not ended: the Failed pod then stays, untouched and without
 * a warning yet, and the sync asks to be called again. */
static bool sync_after_failure(ctrl_h *h, const char *ds, const char *node)
{
  json_t *pod = json_incref(pod_on(h, ds, node));
  ctrl_h_sync(h, "daemonset", "kube-system", ds);
  bool now = ctrl_h_count(h, CTRL_DELETE, "pods") > 0;
  if (now) {
    check_replaced(h, pod, node);
  } else {
    cr_assert_eq(ctrl_h_count(h, CTRL_CREATE, "pods"), 0);
    cr_assert_eq(ctrl_f_pending_events(h, "FailedDaemonPod"), 0);
    cr_assert_gt(h->requeue_ns, 0);
    ctrl_h_apply(h);
    cr_assert_str_eq(phase_of(pod_on(h, ds, node)), "Failed",
                     "the Failed pod stays while it waits");
  }
  json_decref(pod);
  return now;
}

/* ds's pods all run, then the one on node fails and a sync follows:
 * sync_after_failure's answer. */
static bool fail_again(ctrl_h *h, const char *ds, const char *node)
{
  run_all(h, ds);
  fail_pod(h, ds, node);
  return sync_after_failure(h, ds, node);
}

/* After a failure that waits: the wait is `wait` (the sync asks to be
 * called again then, and touches nothing a nanosecond before); the clock
 * is moved to its end, and the pod is deleted and replaced. */
static void expect_wait(ctrl_h *h, const char *ds, const char *node, int64_t wait)
{
  cr_assert_eq(h->requeue_ns, wait, "requeued after %lld ns, want %lld", (long long)h->requeue_ns,
               (long long)wait);
  h->now += wait - 1;
  ctrl_h_sync(h, "daemonset", "kube-system", ds);
  cr_assert_eq(ctrl_h_count(h, CTRL_CREATE, "pods") + ctrl_h_count(h, CTRL_DELETE, "pods"), 0);
  cr_assert_eq(h->requeue_ns, 1);
  ctrl_h_apply(h);
  h->now += 1;
  json_t *pod = json_incref(pod_on(h, ds, node));
  ctrl_h_sync(h, "daemonset", "kube-system", ds);
  check_replaced(h, pod, node);
  json_decref(pod);
}

Test(ctrl_ds, failed_pod_replaced_after_exponential_back_off)
{
  ctrl_h h;
  one_node_ds(&h);
  run_all(&h, "d");
  /* the first failure: replaced at once */
  fail_pod(&h, "d", "n1");
  cr_assert(sync_after_failure(&h, "d", "n1"));
  cr_assert_eq(ctrl_f_events(&h, "FailedDaemonPod"), 1);
  /* the replacement fails at once, again and again: 1 s, 2 s, 4 s … 15 min */
  int64_t want = S_NS;
  for (int round = 0; round < 14; round++) {
    cr_assert_not(fail_again(&h, "d", "n1"), "round %d replaced at once", round);
    /* nothing but the status changes until then; the Failed pod stays */
    ctrl_h_sync(&h, "daemonset", "kube-system", "d");
    cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, NULL) + ctrl_h_count(&h, CTRL_DELETE, NULL), 0);
    ctrl_h_apply(&h);
    cr_assert_str_eq(phase_of(pod_on(&h, "d", "n1")), "Failed");
    expect_wait(&h, "d", "n1", want);
    want = want * 2 > 900 * S_NS ? 900 * S_NS : want * 2;
  }
  cr_assert_eq(want, 900 * S_NS);
  cr_assert_eq(ctrl_f_events(&h, "FailedDaemonPod"), 15);
  ctrl_h_free(&h);
}

Test(ctrl_ds, back_off_is_per_node)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_nodes(&h, 2);
  put_ds(&h, "d", "x:1", NULL);
  sync_apply(&h, "d");
  cr_assert(fail_again(&h, "d", "n0"));
  cr_assert_not(fail_again(&h, "d", "n0"));
  /* n0 waits; n1's first failure is replaced at once all the same */
  h.now += S_NS / 2;
  fail_pod(&h, "d", "n1");
  cr_assert(sync_after_failure(&h, "d", "n1"));
  cr_assert_str_eq(phase_of(pod_on(&h, "d", "n0")), "Failed");
  /* n0's wait still ends 1 s after its failure */
  expect_wait(&h, "d", "n0", S_NS / 2);
  /* another DaemonSet on the same nodes has its own back-off */
  put_ds(&h, "e", "y:1", NULL);
  sync_apply(&h, "e");
  cr_assert(fail_again(&h, "e", "n0"));
  ctrl_h_free(&h);
}

Test(ctrl_ds, back_off_starts_over_after_30_minutes_or_a_new_spec)
{
  ctrl_h h;
  one_node_ds(&h);
  /* three failures in a row: the next wait would be 4 s */
  cr_assert(fail_again(&h, "d", "n1"));
  for (int64_t wait = S_NS; wait <= 2 * S_NS; wait *= 2) {
    cr_assert_not(fail_again(&h, "d", "n1"));
    expect_wait(&h, "d", "n1", wait);
  }
  /* it runs 10 minutes, longer than the wait: replaced at once, but the
   * back-off is remembered — an immediate failure then waits 8 s */
  run_all(&h, "d");
  h.now += 600 * S_NS;
  fail_pod(&h, "d", "n1");
  cr_assert(sync_after_failure(&h, "d", "n1"));
  cr_assert_not(fail_again(&h, "d", "n1"));
  expect_wait(&h, "d", "n1", 8 * S_NS);
  /* it runs more than 30 minutes (2 × 15 min): it starts over */
  run_all(&h, "d");
  h.now += 1801 * S_NS;
  fail_pod(&h, "d", "n1");
  cr_assert(sync_after_failure(&h, "d", "n1"));
  cr_assert_not(fail_again(&h, "d", "n1"));
  expect_wait(&h, "d", "n1", S_NS);
  cr_assert_not(fail_again(&h, "d", "n1"));
  cr_assert_eq(h.requeue_ns, 2 * S_NS);
  /* a new template (a new generation) starts over: the waiting Failed pod
   * is replaced at once, and the new pod's failure waits 1 s */
  put_ds(&h, "d", "x:2", NULL);
  json_t *failed = json_incref(pod_on(&h, "d", "n1"));
  ctrl_h_sync(&h, "daemonset", "kube-system", "d");
  cr_assert_str_eq(image_of(ctrl_h_action(&h, CTRL_CREATE, "pods", 0)->obj), "x:2");
  check_replaced(&h, failed, "n1");
  json_decref(failed);
  cr_assert_not(fail_again(&h, "d", "n1"));
  cr_assert_eq(h.requeue_ns, S_NS);
  ctrl_h_free(&h);
}

Test(ctrl_ds, back_off_of_gone_nodes_and_daemonsets_is_forgotten)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_nodes(&h, 3);
  put_ds(&h, "d", "x:1", NULL);
  put_ds(&h, "e", "x:1", NULL);
  sync_apply(&h, "d");
  sync_apply(&h, "e");
  run_all(&h, "d");
  run_all(&h, "e");
  const char *nodes[] = { "n0", "n1", "n2" };
  for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
    fail_pod(&h, "d", nodes[i]);
    fail_pod(&h, "e", nodes[i]);
  }
  sync_apply(&h, "d");
  sync_apply(&h, "e");
  cr_assert_eq(ctrl_backoff_count(h.ds_backoff), 6);
  /* a node goes: its entries go with the next sync */
  json_decref(ctrl_cache_remove(h.cache, "nodes", "", "n2"));
  sync_apply(&h, "d");
  cr_assert_eq(ctrl_backoff_count(h.ds_backoff), 5);
  /* a DaemonSet goes, or is being deleted: all of its entries go */
  json_decref(ctrl_cache_remove(h.cache, "daemonsets", "kube-system", "d"));
  ctrl_h_sync(&h, "daemonset", "kube-system", "d");
  cr_assert_eq(h.out.n, 0);
  cr_assert_eq(ctrl_backoff_count(h.ds_backoff), 3);
  json_t *e = json_deep_copy(ctrl_cache_get(h.cache, "daemonsets", "kube-system", "e"));
  json_object_set_new(json_object_get(e, "metadata"), "deletionTimestamp",
                      json_string("2026-01-01T00:00:00Z"));
  ctrl_h_put(&h, "daemonsets", e);
  ctrl_h_sync(&h, "daemonset", "kube-system", "e");
  cr_assert_eq(ctrl_backoff_count(h.ds_backoff), 0);
  /* a DaemonSet deleted while no sync saw it: the GC drops its entries
   * once they have been idle 30 minutes */
  put_ds(&h, "f", "x:1", NULL);
  sync_apply(&h, "f");
  run_all(&h, "f");
  fail_pod(&h, "f", "n0");
  sync_apply(&h, "f");
  cr_assert_eq(ctrl_backoff_count(h.ds_backoff), 1);
  json_decref(ctrl_cache_remove(h.cache, "daemonsets", "kube-system", "f"));
  put_ds(&h, "g", "x:1", NULL);
  h.now += 1801 * S_NS;
  sync_apply(&h, "g");
  cr_assert_eq(ctrl_backoff_count(h.ds_backoff), 0);
  ctrl_h_free(&h);
}

Test(ctrl_ds, succeeded_pod_replaced_at_once)
{
  ctrl_h h;
  one_node_ds(&h);
  for (int round = 0; round < 3; round++) {
    run_all(&h, "d");
    json_t *pod = pod_on(&h, "d", "n1");
    char *want
        = xasprintf("Found succeeded daemon pod kube-system/%s on node n1, will try to delete it",
                    json_str(json_object_get(pod, "metadata"), "name"));
    ctrl_h_pod_status(&h, pod, "Succeeded", false);
    ctrl_h_sync(&h, "daemonset", "kube-system", "d");
    cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 1);
    cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 1);
    cr_assert_eq(ctrl_f_pending_events(&h, "SucceededDaemonPod"), 1);
    cr_assert_eq(ctrl_f_pending_events(&h, "FailedDaemonPod"), 0);
    ctrl_h_apply(&h);
    json_t *ev = json_array_get(h.events, json_array_size(h.events) - 3);
    cr_assert_str_eq(json_str(ev, "message"), want);
    free(want);
  }
  cr_assert_eq(ctrl_backoff_count(h.ds_backoff), 0);
  ctrl_h_free(&h);
}

Test(ctrl_ds, backoff_table)
{
  ctrl_backoff_t *b = ctrl_backoff_new(S_NS, 8 * S_NS);
  int64_t t = 1000 * S_NS;
  cr_assert_eq(ctrl_backoff_wait_until(b, "k", t), 0);
  ctrl_backoff_next(b, "k", t);
  /* retries as soon as allowed: after 1, 2, 4, 8, 8 s */
  int64_t at = t;
  for (int64_t d = 1; d <= 16; d *= 2) {
    cr_assert_eq(ctrl_backoff_wait_until(b, "k", at), at + (d > 8 ? 8 : d) * S_NS);
    at += (d > 8 ? 8 : d) * S_NS;
    cr_assert_eq(ctrl_backoff_wait_until(b, "k", at), 0);
    ctrl_backoff_next(b, "k", at);
  }
  /* 16 s (2 × max) without a retry: it starts over at 1 s */
  cr_assert_eq(ctrl_backoff_wait_until(b, "k", at + 17 * S_NS), 0);
  ctrl_backoff_next(b, "k", at + 17 * S_NS);
  at += 17 * S_NS;
  cr_assert_eq(ctrl_backoff_wait_until(b, "k", at), at + S_NS);
  ctrl_backoff_next(b, "other", at);
  cr_assert_eq(ctrl_backoff_count(b), 2);
  /* the GC: nothing is 16 s idle yet; then it walks at most once a minute */
  ctrl_backoff_gc(b, at + 16 * S_NS);
  cr_assert_eq(ctrl_backoff_count(b), 2);
  ctrl_backoff_gc(b, at + 17 * S_NS);
  cr_assert_eq(ctrl_backoff_count(b), 2);
  ctrl_backoff_gc(b, at + 77 * S_NS);
  cr_assert_eq(ctrl_backoff_count(b), 0);
  /* forget by prefix, keeping what keep says */
  ctrl_backoff_next(b, "a\tx", t);
  ctrl_backoff_next(b, "a\ty", t);
  ctrl_backoff_next(b, "ab\tz", t);
  ctrl_backoff_forget(b, "a\t", NULL, NULL);
  cr_assert_eq(ctrl_backoff_count(b), 1);
  cr_assert_eq(ctrl_backoff_wait_until(b, "ab\tz", t), t + S_NS);
  ctrl_backoff_free(b);
  ctrl_backoff_free(NULL);
}
