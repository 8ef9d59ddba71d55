/* test_sched_queue.c — the scheduler library (src/sched/sched.h), suite
 * sched, continued: the queue's order, back-off and retries, which pods are
 * its own, preemption (the right victims, a PDB honoured, the room
 * reserved), garbage in a pod's constraints, and a small bench at 5,000
 * nodes. Filters and scores are test_sched.c's. */
#include "test_sched_util.h"

/* ---- queue ---------------------------------------------------------------------------------- */

Test(sched, queue_order_priority_then_age)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  add_node(s, "n1", "4", "4Gi");
  json_t *a = mkpod("old-low", NULL, NULL), *b = mkpod("new-high", NULL, NULL),
         *c = mkpod("newer-high", NULL, NULL), *d = mkpod("newest-low", NULL, NULL);
  set_in(b, json_integer(1000), "spec", "priority", NULL);
  set_in(c, json_integer(1000), "spec", "priority", NULL);
  json_t *all[] = { d, c, a, b }; /* arrival order differs from both */
  for (size_t i = 0; i < 4; i++) {
    sched_pod_set(s, all[i]);
    json_decref(all[i]);
  }
  const char *want[] = { "new-high", "newer-high", "old-low", "newest-low" };
  for (size_t i = 0; i < 4; i++) {
    sched_result_t r;
    cr_assert(sched_next(s, &r));
    cr_assert_str_eq(r.name, want[i]);
    cr_assert_str_eq(r.node, "n1");
    sched_result_clear(&r);
  }
  sched_result_t r;
  cr_assert_not(sched_next(s, &r));
  sched_free(s);
}

Test(sched, only_its_own_pods)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  add_node(s, "n1", "4", "4Gi");
  json_t *p = mkpod("other", NULL, NULL);
  set_in(p, json_string("my-scheduler"), "spec", "schedulerName", NULL);
  sched_pod_set(s, p);
  json_decref(p);
  p = mkpod("deleting", NULL, NULL);
  set_in(p, json_string("2026-01-01T00:00:00Z"), "metadata", "deletionTimestamp", NULL);
  sched_pod_set(s, p);
  json_decref(p);
  p = mkpod("done", NULL, NULL);
  set_in(p, json_string("Succeeded"), "status", "phase", NULL);
  sched_pod_set(s, p);
  json_decref(p);
  sched_result_t r;
  cr_assert_not(sched_next(s, &r));
  sched_stats_t st;
  sched_stats(s, &st);
  cr_assert_eq(st.queued + st.parked, 0);
  sched_free(s);
}

Test(sched, bound_pods_count_and_finished_ones_free)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  /* bound before its node is known: counted once the node arrives */
  json_t *early = mkpod("early", "3", NULL);
  json_t *early_copy = json_deep_copy(early);
  bound(s, early, "n1");
  add_node(s, "n1", "4", "4Gi");
  cleanup_free char *r = decide(s, mkpod("two", "2", NULL));
  cr_assert(strstr(r, "1 Insufficient cpu"), "%s", r);
  /* it finishes: room again (and a parked pod is retried) */
  set_in(early_copy, json_string("n1"), "spec", "nodeName", NULL);
  set_in(early_copy, json_string("Succeeded"), "status", "phase", NULL);
  sched_pod_set(s, early_copy);
  json_decref(early_copy);
  fake_now += 1000000000LL;
  sched_result_t res;
  cr_assert(sched_next(s, &res));
  cr_assert_str_eq(res.name, "two");
  cr_assert_str_eq(res.node, "n1");
  sched_result_clear(&res);
  /* a deleted node's pods stay counted nowhere */
  sched_node_delete(s, "n1");
  sched_stats_t st;
  sched_stats(s, &st);
  cr_assert_eq(st.nodes, 0);
  sched_free(s);
}

Test(sched, backoff_and_retry_on_changes)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  EXPECT(s, mkpod("early", NULL, NULL), "!no nodes available to schedule pods");
  sched_result_t r;
  cr_assert_not(sched_next(s, &r), "parked for its back-off");
  int64_t t0 = fake_now;
  cr_assert_eq(sched_next_due(s), t0 + 1000000000LL);
  /* no change: retried after 1 s, then 2 s, 4 s, 8 s, 10 s, 10 s */
  int64_t waits[] = { 1, 2, 4, 8, 10, 10 };
  for (size_t i = 0; i < ARRAY_SIZE(waits); i++) {
    fake_now += waits[i] * 1000000000LL - 1;
    cr_assert_not(sched_next(s, &r), "retry %zu too early", i);
    fake_now += 1;
    cr_assert(sched_next(s, &r), "retry %zu", i);
    cr_assert_not(r.message_changed, "same message: no new event");
    sched_result_clear(&r);
  }
  /* a node appears: the pod goes at once (its last try is over a second ago) */
  fake_now += 2000000000LL;
  add_node(s, "n1", "1", "1Gi");
  cr_assert(sched_next(s, &r));
  cr_assert_str_eq(r.node, "n1");
  sched_result_clear(&r);

  /* a change right after a try waits a second, not the whole back-off */
  EXPECT(s, mkpod("big", "2", NULL),
         "!0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No "
         "preemption victims found for incoming pod..");
  for (int i = 0; i < 4; i++) { /* back-off grows to 8 s */
    fake_now = sched_next_due(s);
    cr_assert(sched_next(s, &r));
    sched_result_clear(&r);
  }
  int64_t tried = fake_now;
  fake_now += 100000000LL;
  add_node(s, "n2", "4", "4Gi");
  cr_assert_eq(sched_next_due(s), tried + 1000000000LL);
  fake_now = tried + 1000000000LL;
  cr_assert(sched_next(s, &r));
  cr_assert_str_eq(r.node, "n2");
  sched_result_clear(&r);
  /* a node heartbeat (nothing a decision reads) is no change */
  EXPECT(s, mkpod("big2", "8", NULL),
         "!0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No "
         "preemption victims found for incoming pod..");
  for (int i = 0; i < 4; i++) {
    fake_now = sched_next_due(s);
    cr_assert(sched_next(s, &r));
    sched_result_clear(&r);
  }
  tried = fake_now;
  fake_now += 1500000000LL;
  json_t *n = mknode("n2", "4", "4Gi");
  json_object_set_new(
      json_array_get(json_object_get(json_object_get(n, "status"), "conditions"), 0),
      "lastHeartbeatTime", json_string("2026-01-01T00:00:10Z"));
  sched_node_set(s, n);
  json_decref(n);
  cr_assert_not(sched_next(s, &r), "not retried for a heartbeat");
  add_node(s, "n3", "1", "1Gi");
  cr_assert(sched_next(s, &r), "retried for a new node");
  cr_assert_str_eq(r.name, "big2");
  sched_result_clear(&r);
  sched_free(s);
}

Test(sched, forget_requeues)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  add_node(s, "n1", "1", "1Gi");
  EXPECT(s, mkpod("a", "1", NULL), "n1");
  /* assumed: the room is taken */
  cleanup_free char *r = decide(s, mkpod("b", "1", NULL));
  cr_assert(strstr(r, "Insufficient cpu"), "%s", r);
  sched_forget(s, "default", "a");
  fake_now += 1000000000LL;
  sched_result_t res;
  cr_assert(sched_next(s, &res));
  cr_assert_str_eq(res.name, "a", "a was parked first and is as old");
  cr_assert_str_eq(res.node, "n1");
  sched_result_clear(&res);
  sched_free(s);
}

/* ---- preemption ----------------------------------------------------------------------------- */

Test(sched, preemption_picks_fewest_lowest)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  add_node(s, "n1", "4", "8Gi");
  add_node(s, "n2", "4", "8Gi");
  /* n1: four 1-cpu pods at priority 10; n2: two 2-cpu pods at 100 and 5 */
  for (int i = 0; i < 4; i++) {
    cleanup_free char *name = xasprintf("small-%d", i);
    bound(s, prio(mkpod(name, "1", NULL), 10), "n1");
  }
  bound(s, prio(mkpod("big-important", "2", NULL), 100), "n2");
  bound(s, prio(mkpod("big-cheap", "2", NULL), 5), "n2");
  feed(s, prio(mkpod("urgent", "2", NULL), 1000));
  sched_result_t r;
  cr_assert(sched_next(s, &r));
  cr_assert_null(r.node);
  cleanup_free char *v = victims_of(&r);
  /* n2 needs one victim of priority 5; n1 two of priority 10 */
  cr_assert_str_eq(r.nominated_node, "n2");
  cr_assert_str_eq(v, "big-cheap");
  cr_assert_str_eq(r.message, "0/2 nodes are available: 2 Insufficient cpu.");
  sched_result_clear(&r);
  /* the room is reserved: a lower-priority pod cannot take it */
  sched_pod_delete(s, "default", "big-cheap");
  EXPECT(s, prio(mkpod("sneaky", "2", NULL), 5),
         "!0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No "
         "preemption victims found for incoming pod..");
  fake_now += 1000000000LL;
  cr_assert(sched_next(s, &r));
  cr_assert_str_eq(r.name, "urgent");
  cr_assert_str_eq(r.node, "n2", "the nominated node, once the victim is gone");
  sched_result_clear(&r);
  sched_free(s);
}

Test(sched, preemption_never_and_waiting)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  add_node(s, "n1", "1", "1Gi");
  bound(s, prio(mkpod("low", "1", NULL), 0), "n1");
  json_t *p = prio(mkpod("polite", "1", NULL), 100);
  set_in(p, json_string("Never"), "spec", "preemptionPolicy", NULL);
  EXPECT(s, p,
         "!0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to "
         "preemptionPolicy=Never..");
  feed(s, prio(mkpod("pushy", "1", NULL), 100));
  sched_result_t r;
  cr_assert(sched_next(s, &r));
  cr_assert_str_eq(r.nominated_node, "n1");
  cr_assert_eq(r.n_victims, 1);
  cr_assert(r.status_changed);
  sched_result_clear(&r);
  /* the victim is terminating: the pod waits, it preempts nobody else */
  json_t *low = prio(mkpod("low", "1", NULL), 0);
  set_in(low, json_string("2026-01-01T00:00:00Z"), "metadata", "deletionTimestamp", NULL);
  bound(s, low, "n1");
  fake_now += 2000000000LL;
  for (;;) {
    cr_assert(sched_next(s, &r));
    if (!strcmp(r.name, "pushy"))
      break;
    sched_result_clear(&r);
  }
  cr_assert_null(r.node);
  cr_assert_eq(r.n_victims, 0);
  cr_assert_str_eq(r.nominated_node, "n1");
  cr_assert(strstr(r.message, "not eligible due to a terminating pod on the nominated node"), "%s",
            r.message);
  sched_result_clear(&r);
  sched_free(s);
}

Test(sched, preemption_honours_pdb)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  add_node(s, "n1", "2", "4Gi");
  add_node(s, "n2", "2", "4Gi");
  /* n1's pod is guarded by a PDB that allows no disruption; n2's pod has a
   * higher priority but no budget */
  json_t *a = with_labels(prio(mkpod("guarded", "2", NULL), 1), "{\"app\":\"db\"}");
  set_in(a, J("[{\"type\":\"Ready\",\"status\":\"True\"}]"), "status", "conditions", NULL);
  bound(s, a, "n1");
  bound(s, with_labels(prio(mkpod("free", "2", NULL), 5), "{\"app\":\"batch\"}"), "n2");
  json_t *pdb = J("{\"kind\":\"PodDisruptionBudget\",\"metadata\":{\"namespace\":\"default\","
                  "\"name\":\"db\"},\"spec\":{\"minAvailable\":1,\"selector\":{\"matchLabels\":{"
                  "\"app\":\"db\"}}}}");
  sched_pdb_set(s, pdb);
  feed(s, prio(mkpod("urgent", "2", NULL), 1000));
  sched_result_t r;
  cr_assert(sched_next(s, &r));
  cleanup_free char *v = victims_of(&r);
  cr_assert_str_eq(v, "free", "the PDB wins over the lower priority");
  cr_assert_str_eq(r.nominated_node, "n2");
  sched_result_clear(&r);
  /* without the PDB the lowest priority goes */
  sched_pdb_delete(s, "default", "db");
  feed(s, prio(mkpod("urgent2", "2", NULL), 2000));
  cr_assert(sched_next(s, &r));
  cleanup_free char *v2 = victims_of(&r);
  cr_assert_str_eq(v2, "guarded");
  sched_result_clear(&r);
  /* status.disruptionsAllowed, when a controller wrote it, is what counts */
  set_in(pdb, json_integer(1), "status", "disruptionsAllowed", NULL);
  sched_pdb_set(s, pdb);
  json_decref(pdb);
  sched_free(s);
}

Test(sched, preemption_for_anti_affinity)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  add_node(s, "n1", "4", "4Gi");
  bound(s, with_labels(prio(mkpod("web-low", NULL, NULL), 0), "{\"app\":\"web\"}"), "n1");
  json_t *p = with_labels(prio(mkpod("web-high", NULL, NULL), 10), "{\"app\":\"web\"}");
  set_in(p, J(ANTI("kubernetes.io/hostname")), "spec", "affinity", NULL);
  sched_pod_set(s, p);
  json_decref(p);
  sched_result_t r;
  cr_assert(sched_next(s, &r));
  cleanup_free char *v = victims_of(&r);
  cr_assert_str_eq(v, "web-low");
  sched_result_clear(&r);
  sched_free(s);
}

/* ---- bad input ------------------------------------------------------------------------------- */

Test(sched, garbage_constraints_are_reported)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  add_node(s, "n1", "4", "4Gi");
  struct {
    const char *field, *value, *want;
  } cases[] = {
    { "affinity", "\"nope\"", "spec.affinity: Invalid value: must be an object" },
    { "affinity",
      "{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
      "\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Foo\","
      "\"values\":[\"x\"]}]}]}}}",
      "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
      "nodeSelectorTerms[0].matchExpressions[0].operator: Unsupported value: \"Foo\": supported "
      "values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\", \"Gt\", \"Lt\"" },
    { "affinity",
      "{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
      "\"nodeSelectorTerms\":[]}}}",
      "nodeSelectorTerms: Required value: must have at least one node selector term" },
    { "affinity",
      "{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
      "\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Gt\","
      "\"values\":[\"ten\"]}]}]}}}",
      "values[0]: Invalid value: \"ten\": must be an integer" },
    { "affinity",
      "{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{"
      "\"labelSelector\":{\"matchLabels\":{\"a\":\"b\"}}}]}}",
      "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]."
      "topologyKey: Required value: can not be empty" },
    { "affinity",
      "{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{"
      "\"labelSelector\":{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]},"
      "\"topologyKey\":\"z\"}]}}",
      "matchExpressions[0].values: Required value" },
    { "affinity",
      "{\"podAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":0,"
      "\"podAffinityTerm\":{}}]}}",
      "preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: must be in the "
      "range 1-100" },
    { "affinity", "{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{}}}",
      "must be a list" },
    { "tolerations", "42", "spec.tolerations: Invalid value: must be a list" },
    { "tolerations", "[{\"key\":\"a\",\"operator\":\"Maybe\"}]",
      "spec.tolerations[0].operator: Unsupported value: \"Maybe\"" },
    { "tolerations", "[{\"key\":\"a\",\"effect\":\"Sometimes\"}]",
      "spec.tolerations[0].effect: Unsupported value: \"Sometimes\"" },
    { "topologySpreadConstraints", "[{\"maxSkew\":0,\"topologyKey\":\"z\"}]",
      "spec.topologySpreadConstraints[0].maxSkew: Invalid value: must be greater than zero" },
    { "topologySpreadConstraints",
      "[{\"maxSkew\":1,\"topologyKey\":\"z\",\"whenUnsatisfiable\":\"Whenever\"}]",
      "whenUnsatisfiable: Unsupported value: \"Whenever\"" },
    { "nodeSelector", "[1,2]", "spec.nodeSelector: Invalid value: must be a map of strings" },
    { "nodeSelector", "{\"a\":7}", "spec.nodeSelector.a: Invalid value: must be a string" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    cleanup_free char *name = xasprintf("bad-%zu", i);
    json_t *p = mkpod(name, NULL, NULL);
    set_in(p, J(cases[i].value), "spec", cases[i].field, NULL);
    cleanup_free char *got = decide(s, p);
    cr_assert(got[0] == '!' && strstr(got, "invalid scheduling constraints: "), "case %zu: %s", i,
              got);
    cr_assert(strstr(got, cases[i].want), "case %zu: [%s] lacks [%s]", i, got, cases[i].want);
  }
  /* parked for good: not retried on back-off or changes */
  fake_now += 100000000000LL;
  add_node(s, "n2", "4", "4Gi");
  sched_result_t r;
  cr_assert_not(sched_next(s, &r));
  /* until the pod is fixed (its spec changes: a new generation) */
  json_t *p = mkpod("bad-0", NULL, NULL);
  set_in(p, json_integer(2), "metadata", "generation", NULL);
  sched_pod_set(s, p);
  json_decref(p);
  cr_assert(sched_next(s, &r));
  cr_assert_str_eq(r.name, "bad-0");
  cr_assert_not_null(r.node);
  sched_result_clear(&r);
  sched_free(s);
}

/* Values of every type in every place a decision reads: no crash, a pod
 * either placed or reported. */
Test(sched, garbage_everywhere_never_crashes)
{
  const char *junk[]
      = { "null", "7", "\"x\"", "[]", "{}", "[null]", "[{}]", "{\"a\":[1]}", "-1", "true" };
  const char *pod_paths[][4] = {
    { "spec", "containers", NULL },
    { "spec", "priority", NULL },
    { "spec", "nodeSelector", NULL },
    { "spec", "overhead", NULL },
    { "spec", "initContainers", NULL },
    { "metadata", "labels", NULL },
    { "metadata", "creationTimestamp", NULL },
    { "spec", "affinity", "nodeAffinity" },
    { "spec", "affinity", "podAffinity" },
    { "spec", "affinity", "podAntiAffinity" },
    { "spec", "tolerations", NULL },
    { "spec", "topologySpreadConstraints", NULL },
    { "status", "conditions", NULL },
  };
  const char *node_paths[][4] = {
    { "status", "allocatable", NULL }, { "spec", "taints", NULL },
    { "metadata", "labels", NULL },    { "status", "conditions", NULL },
    { "spec", "unschedulable", NULL },
  };
  sched_t *s = new_sched(SCHED_SPREAD);
  add_node(s, "good", "4", "4Gi");
  int k = 0;
  for (size_t j = 0; j < ARRAY_SIZE(junk); j++) {
    for (size_t i = 0; i < ARRAY_SIZE(node_paths); i++) {
      cleanup_free char *name = xasprintf("jn%d", k++);
      json_t *n = mknode(name, "2", "2Gi");
      if (node_paths[i][2])
        set_in(n, J(junk[j]), node_paths[i][0], node_paths[i][1], node_paths[i][2], NULL);
      else
        set_in(n, J(junk[j]), node_paths[i][0], node_paths[i][1], NULL);
      sched_node_set(s, n);
      json_decref(n);
    }
    for (size_t i = 0; i < ARRAY_SIZE(pod_paths); i++) {
      cleanup_free char *name = xasprintf("jp%d", k++);
      json_t *p = mkpod(name, "100m", NULL);
      if (pod_paths[i][2])
        set_in(p, J(junk[j]), pod_paths[i][0], pod_paths[i][1], pod_paths[i][2], NULL);
      else
        set_in(p, J(junk[j]), pod_paths[i][0], pod_paths[i][1], NULL);
      json_t *keep = json_deep_copy(p);
      cleanup_free char *got = decide(s, p);
      cr_assert(got[0] != '!' || strlen(got) > 10, "%s", got);
      if (got[0] != '!')
        bound(s, keep, got); /* bound pods with garbage must be counted safely too */
      else
        json_decref(keep);
    }
  }
  /* and a pod missing its metadata */
  json_t *p = J("{\"kind\":\"Pod\",\"spec\":{}}");
  sched_pod_set(s, p);
  json_decref(p);
  sched_free(s);
}

/* ---- scale ------------------------------------------------------------------------------------
 */

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 5,000 nodes and 20,000 bound pods, then 2,000 decisions: every pod is
 * placed, and spreading puts no two on one node (a new pod asks for an
 * eighth of a node, enough to lower its score by more than a point). It prints the rate and p99 for a
 * look; bench/sched.c measures them, on the optimised build, with the full
 * 100,000 pods: under ASan and a shared machine a time is no check. */
Test(sched, scale_5000_nodes, .timeout = 120)
{
  sched_config_t cfg = { .strategy = SCHED_SPREAD };
  sched_t *s = sched_new(&cfg);
  for (int i = 0; i < 5000; i++) {
    cleanup_free char *name = xasprintf("node-%04d", i), *zone = xasprintf("zone-%d", i % 3);
    json_t *n = mknode(name, "32", "128Gi");
    set_in(n, json_string(zone), "metadata", "labels", "topology.kubernetes.io/zone", NULL);
    sched_node_set(s, n);
    json_decref(n);
  }
  for (int i = 0; i < 20000; i++) {
    cleanup_free char *name = xasprintf("bound-%d", i), *node = xasprintf("node-%04d", i % 5000);
    bound(s, mkpod(name, "100m", "128Mi"), node);
  }
  enum { N = 2000 };
  for (int i = 0; i < N; i++) {
    cleanup_free char *name = xasprintf("new-%d", i);
    feed(s, mkpod(name, "4", "16Gi"));
  }
  int64_t lat[N], t0 = time_mono_ns();
  char *nodes[N];
  int n = 0;
  sched_result_t r;
  while (n < N && sched_next(s, &r)) {
    cr_assert_not_null(r.node, "%s", r.message);
    nodes[n] = xstrdup(r.node);
    lat[n++] = r.decision_ns;
    sched_result_clear(&r);
  }
  int64_t total = time_mono_ns() - t0;
  cr_assert_eq(n, N);
  cr_assert_not(sched_next(s, &r), "2,000 pods, 2,000 decisions");
  qsort(nodes, N, sizeof *nodes, cmp_str);
  for (int i = 1; i < N; i++)
    cr_assert_str_neq(nodes[i - 1], nodes[i], "two new pods on %s", nodes[i]);
  for (int i = 0; i < N; i++)
    free(nodes[i]);
  qsort(lat, N, sizeof *lat, cmp_i64);
  double rate = N / (total / 1e9), p99 = lat[N * 99 / 100] / 1e6;
  cr_log_info("sched at 5000 nodes (ASan build): %.0f decisions/s, p99 %.3f ms", rate, p99);
  fprintf(stderr, "sched at 5000 nodes (ASan build): %.0f decisions/s, p99 %.3f ms\n", rate, p99);
  sched_free(s);
}
