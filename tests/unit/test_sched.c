/* test_sched.c — the scheduler library (src/sched/sched.h), suite sched:
 * every filter with its reason text, the "0/N nodes are available" message
 * as kube-scheduler sorts it, every score (spread and binpack place
 * differently), and the cache following relabelled pods. The queue,
 * preemption, bad input and scale are test_sched_queue.c's. */
#include "test_sched_util.h"

/* ---- filters ----------------------------------------------------------------------- */

Test(sched, no_nodes)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  EXPECT(s, mkpod("a", NULL, NULL), "!no nodes available to schedule pods");
  sched_free(s);
}

Test(sched, resources_fit)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  add_node(s, "small", "1", "1Gi");
  add_node(s, "big", "4", "8Gi");
  EXPECT(s, mkpod("two-cpus", "2", "100Mi"), "big");
  EXPECT(s, mkpod("huge", NULL, "100Gi"),
         "!0/2 nodes are available: 2 Insufficient memory. preemption: 0/2 nodes are available: 2 "
         "No preemption victims found for incoming pod..");
  /* big has 2 cpus left, small 1: 3 cpus fit nowhere, 2 fit on big only */
  EXPECT(s, mkpod("three", "3", NULL),
         "!0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No "
         "preemption victims found for incoming pod..");
  EXPECT(s, mkpod("two-more", "2", NULL), "big");
  EXPECT(s, mkpod("both", "2", "9Gi"),
         "!0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory. preemption: 0/2 "
         "nodes are available: 2 No preemption victims found for incoming pod..");
  json_t *p = mkpod("eph", NULL, NULL);
  set_in(
      json_object_get(json_array_get(json_object_get(json_object_get(p, "spec"), "containers"), 0),
                      "resources"),
      json_string("200Gi"), "requests", "ephemeral-storage", NULL);
  EXPECT(s, p,
         "!0/2 nodes are available: 2 Insufficient ephemeral-storage. preemption: 0/2 nodes are "
         "available: 2 No preemption victims found for incoming pod..");
  sched_free(s);
}

Test(sched, too_many_pods_and_extended_resources)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  json_t *n = mknode("n1", "4", "4Gi");
  set_in(n, json_string("1"), "status", "allocatable", "pods", NULL);
  set_in(n, json_string("2"), "status", "allocatable", "example.com/gpu", NULL);
  sched_node_set(s, n);
  json_decref(n);
  json_t *p = mkpod("gpu3", NULL, NULL);
  json_t *req = json_object_get(
      json_object_get(json_array_get(json_object_get(json_object_get(p, "spec"), "containers"), 0),
                      "resources"),
      "requests");
  json_object_set_new(req, "example.com/gpu", json_string("3"));
  EXPECT(s, p,
         "!0/1 nodes are available: 1 Insufficient example.com/gpu. preemption: 0/1 nodes are "
         "available: 1 No preemption victims found for incoming pod..");
  EXPECT(s, mkpod("one", NULL, NULL), "n1");
  EXPECT(s, mkpod("two", NULL, NULL),
         "!0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: 1 No "
         "preemption victims found for incoming pod..");
  sched_free(s);
}

Test(sched, init_containers_and_overhead_count)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  add_node(s, "n1", "2", "2Gi");
  json_t *p = mkpod("init", "500m", NULL);
  set_in(json_object_get(p, "spec"),
         J("[{\"name\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"3\"}}}]"), "initContainers",
         NULL);
  /* max(0.5, 3) = 3 > 2 */
  cleanup_free char *r1 = decide(s, p);
  cr_assert(strstr(r1, "1 Insufficient cpu"), "%s", r1);
  p = mkpod("overhead", "1500m", NULL);
  set_in(json_object_get(p, "spec"), J("{\"cpu\":\"600m\"}"), "overhead", NULL);
  cleanup_free char *r2 = decide(s, p);
  cr_assert(strstr(r2, "1 Insufficient cpu"), "%s", r2);
  EXPECT(s, mkpod("fits", "1500m", NULL), "n1");
  sched_free(s);
}

Test(sched, node_selector_and_required_affinity)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  const char *nodes[] = { "a", "b", "c" };
  const char *disk[] = { "ssd", "hdd", "ssd" };
  const char *gen[] = { "3", "5", "7" };
  for (int i = 0; i < 3; i++) {
    json_t *n = mknode(nodes[i], "4", "4Gi");
    set_in(n, json_string(disk[i]), "metadata", "labels", "disk", NULL);
    set_in(n, json_string(gen[i]), "metadata", "labels", "gen", NULL);
    if (i == 2)
      set_in(n, json_string("yes"), "metadata", "labels", "gpu", NULL);
    sched_node_set(s, n);
    json_decref(n);
  }
  json_t *p = mkpod("sel", NULL, NULL);
  set_in(p, J("{\"disk\":\"hdd\"}"), "spec", "nodeSelector", NULL);
  EXPECT(s, p, "b");
  p = mkpod("sel-none", NULL, NULL);
  set_in(p, J("{\"disk\":\"tape\"}"), "spec", "nodeSelector", NULL);
  EXPECT(s, p,
         "!0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. "
         "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..");
  struct {
    const char *expr, *want;
  } cases[] = {
    { "{\"key\":\"disk\",\"operator\":\"In\",\"values\":[\"hdd\",\"nvme\"]}", "b" },
    { "{\"key\":\"disk\",\"operator\":\"NotIn\",\"values\":[\"ssd\"]}", "b" },
    { "{\"key\":\"gpu\",\"operator\":\"Exists\"}", "c" },
    { "{\"key\":\"gen\",\"operator\":\"Gt\",\"values\":[\"6\"]}", "c" },
    { "{\"key\":\"gen\",\"operator\":\"Lt\",\"values\":[\"4\"]}", "a" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    cleanup_free char *name = xasprintf("aff-%zu", i);
    p = mkpod(name, NULL, NULL);
    cleanup_free char *aff = xasprintf("{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuring"
                                       "Execution\":{\"nodeSelectorTerms\":[{\"matchExpressions\":"
                                       "[%s]}]}}}",
                                       cases[i].expr);
    set_in(p, J(aff), "spec", "affinity", NULL);
    EXPECT(s, p, cases[i].want);
  }
  /* expressions of a term are ANDed: no gpu and an ssd */
  p = mkpod("aff-or", NULL, NULL);
  set_in(p,
         J("{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
           "\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":"
           "\"DoesNotExist\"},{\"key\":\"disk\",\"operator\":\"In\",\"values\":[\"ssd\"]}]}]}}}"),
         "spec", "affinity", NULL);
  EXPECT(s, p, "a");
  p = mkpod("fields", NULL, NULL);
  set_in(p,
         J("{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
           "\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":"
           "\"In\",\"values\":[\"c\"]}]}]}}}"),
         "spec", "affinity", NULL);
  EXPECT(s, p, "c");
  sched_free(s);
}

Test(sched, taints_and_tolerations)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  json_t *n = mknode("gpu", "4", "4Gi");
  set_in(n, J("[{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"}]"), "spec",
         "taints", NULL);
  sched_node_set(s, n);
  json_decref(n);
  n = mknode("evict", "4", "4Gi");
  set_in(n, J("[{\"key\":\"maint\",\"effect\":\"NoExecute\"}]"), "spec", "taints", NULL);
  sched_node_set(s, n);
  json_decref(n);
  EXPECT(s, mkpod("plain", NULL, NULL),
         "!0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) "
         "had untolerated taint {maint: }. preemption: 0/2 nodes are available: 2 Preemption is "
         "not helpful for scheduling..");
  json_t *p = mkpod("tol-equal", NULL, NULL);
  set_in(p, J("[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"gpu\"}]"), "spec",
         "tolerations", NULL);
  EXPECT(s, p, "gpu");
  p = mkpod("tol-wrong-value", NULL, NULL);
  set_in(p, J("[{\"key\":\"dedicated\",\"value\":\"cpu\",\"effect\":\"NoSchedule\"}]"), "spec",
         "tolerations", NULL);
  cleanup_free char *r = decide(s, p);
  cr_assert(r[0] == '!', "%s", r);
  p = mkpod("tol-exists", NULL, NULL);
  set_in(p, J("[{\"key\":\"maint\",\"operator\":\"Exists\",\"effect\":\"NoExecute\"}]"), "spec",
         "tolerations", NULL);
  EXPECT(s, p, "evict");
  p = mkpod("tol-all", NULL, NULL);
  set_in(p, J("[{\"operator\":\"Exists\"}]"), "spec", "tolerations", NULL);
  cleanup_free char *any = decide(s, p);
  cr_assert(!strcmp(any, "gpu") || !strcmp(any, "evict"), "%s", any);
  /* PreferNoSchedule does not filter */
  n = mknode("soft", "4", "4Gi");
  set_in(n, J("[{\"key\":\"spot\",\"value\":\"true\",\"effect\":\"PreferNoSchedule\"}]"), "spec",
         "taints", NULL);
  sched_node_set(s, n);
  json_decref(n);
  EXPECT(s, mkpod("soft-ok", NULL, NULL), "soft");
  sched_free(s);
}

Test(sched, cordoned_and_not_ready)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  json_t *n = mknode("cordoned", "4", "4Gi");
  set_in(n, json_true(), "spec", "unschedulable", NULL);
  sched_node_set(s, n);
  json_decref(n);
  n = mknode("down", "4", "4Gi");
  set_in(n, J("[{\"type\":\"Ready\",\"status\":\"False\"}]"), "status", "conditions", NULL);
  sched_node_set(s, n);
  json_decref(n);
  n = mknode("lost", "4", "4Gi");
  set_in(n, J("[{\"type\":\"Ready\",\"status\":\"Unknown\"}]"), "status", "conditions", NULL);
  sched_node_set(s, n);
  json_decref(n);
  EXPECT(s, mkpod("p", NULL, NULL),
         "!0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: "
         "}, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 1 node(s) were "
         "unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for "
         "scheduling..");
  json_t *p = mkpod("tolerates-cordon", NULL, NULL);
  set_in(p,
         J("[{\"key\":\"node.kubernetes.io/unschedulable\",\"operator\":\"Exists\",\"effect\":"
           "\"NoSchedule\"}]"),
         "spec", "tolerations", NULL);
  EXPECT(s, p, "cordoned");
  /* the node turns Ready: it takes pods */
  n = mknode("down", "4", "4Gi");
  sched_node_set(s, n);
  json_decref(n);
  EXPECT(s, mkpod("after", NULL, NULL), "down");
  sched_free(s);
}

Test(sched, host_ports)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  add_node(s, "n1", "4", "4Gi");
  json_t *ports = J("[{\"containerPort\":80,\"hostPort\":8080,\"protocol\":\"TCP\"}]");
  for (int i = 0; i < 4; i++) {
    cleanup_free char *name = xasprintf("web-%d", i);
    json_t *p = mkpod(name, NULL, NULL);
    json_t *c = json_array_get(json_object_get(json_object_get(p, "spec"), "containers"), 0);
    json_t *pp = json_deep_copy(ports);
    if (i == 2)
      json_object_set_new(json_array_get(pp, 0), "protocol", json_string("UDP"));
    if (i == 3)
      json_object_set_new(json_array_get(pp, 0), "hostPort", json_integer(8081));
    json_object_set_new(c, "ports", pp);
    if (i == 1)
      EXPECT(s, p,
             "!0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod "
             "ports. preemption: 0/1 nodes are available: 1 No preemption victims found for "
             "incoming pod..");
    else
      EXPECT(s, p, "n1");
  }
  json_decref(ports);
  sched_free(s);
}

Test(sched, pod_anti_affinity_hostname_and_zone)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  zone_nodes(s, 3, 2); /* n0 z0, n1 z1, n2 z0 */
  char *seen[3];
  for (int i = 0; i < 3; i++) {
    cleanup_free char *name = xasprintf("web-%d", i);
    json_t *p = with_labels(mkpod(name, NULL, NULL), "{\"app\":\"web\"}");
    set_in(p, J(ANTI("kubernetes.io/hostname")), "spec", "affinity", NULL);
    seen[i] = place(s, p);
    cr_assert(seen[i][0] != '!', "%s", seen[i]);
  }
  cr_assert(strcmp(seen[0], seen[1]) && strcmp(seen[1], seen[2]) && strcmp(seen[0], seen[2]),
            "one per node: %s %s %s", seen[0], seen[1], seen[2]);
  for (int i = 0; i < 3; i++)
    free(seen[i]);
  json_t *p = with_labels(mkpod("web-3", NULL, NULL), "{\"app\":\"web\"}");
  set_in(p, J(ANTI("kubernetes.io/hostname")), "spec", "affinity", NULL);
  EXPECT(s, p,
         "!0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: "
         "0/3 nodes are available: 3 No preemption victims found for incoming pod..");
  /* a pod without terms but matching their selector is kept off by theirs */
  EXPECT(s, with_labels(mkpod("web-plain", NULL, NULL), "{\"app\":\"web\"}"),
         "!0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules. "
         "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod..");
  cleanup_free char *other = decide(s, with_labels(mkpod("other", NULL, NULL), "{\"app\":\"db\"}"));
  cr_assert(other[0] == 'n', "%s", other);
  sched_free(s);

  /* by zone: two zones, two pods */
  s = new_sched(SCHED_SPREAD);
  zone_nodes(s, 4, 2);
  cleanup_free char *z0 = NULL, *z1 = NULL;
  p = with_labels(mkpod("zweb-0", NULL, NULL), "{\"app\":\"web\"}");
  set_in(p, J(ANTI("topology.kubernetes.io/zone")), "spec", "affinity", NULL);
  z0 = place(s, p);
  p = with_labels(mkpod("zweb-1", NULL, NULL), "{\"app\":\"web\"}");
  set_in(p, J(ANTI("topology.kubernetes.io/zone")), "spec", "affinity", NULL);
  z1 = place(s, p);
  cr_assert(z0[0] == 'n' && z1[0] == 'n');
  cr_assert_neq(atoi(z0 + 1) % 2, atoi(z1 + 1) % 2, "different zones: %s %s", z0, z1);
  p = with_labels(mkpod("zweb-2", NULL, NULL), "{\"app\":\"web\"}");
  set_in(p, J(ANTI("topology.kubernetes.io/zone")), "spec", "affinity", NULL);
  cleanup_free char *r = decide(s, p);
  cr_assert(strstr(r, "4 node(s) didn't match pod anti-affinity rules"), "%s", r);
  sched_free(s);
}

Test(sched, pod_affinity_and_namespaces)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  zone_nodes(s, 4, 2);
  const char *aff = "{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{"
                    "\"labelSelector\":{\"matchLabels\":{\"app\":\"db\"}},\"topologyKey\":"
                    "\"topology.kubernetes.io/zone\"}]}}";
  /* no db anywhere, and the pod is no db itself */
  json_t *p = with_labels(mkpod("cache-0", NULL, NULL), "{\"app\":\"cache\"}");
  set_in(p, J(aff), "spec", "affinity", NULL);
  EXPECT(s, p,
         "!0/4 nodes are available: 4 node(s) didn't match pod affinity rules. preemption: 0/4 "
         "nodes are available: 4 Preemption is not helpful for scheduling..");
  /* the first of a group with affinity to itself may go anywhere */
  p = with_labels(mkpod("db-0", NULL, NULL), "{\"app\":\"db\"}");
  set_in(p, J(aff), "spec", "affinity", NULL);
  cleanup_free char *db = place(s, p);
  cr_assert(db[0] == 'n', "%s", db);
  int zone = atoi(db + 1) % 2;
  for (int i = 1; i < 5; i++) {
    cleanup_free char *name = xasprintf("cache-%d", i);
    p = with_labels(mkpod(name, NULL, NULL), "{\"app\":\"cache\"}");
    set_in(p, J(aff), "spec", "affinity", NULL);
    cleanup_free char *got = place(s, p);
    cr_assert(got[0] == 'n' && atoi(got + 1) % 2 == zone, "%s not in db's zone z%d", got, zone);
  }
  /* a db in another namespace counts only when the term names it */
  json_t *o = with_labels(mkpod("db-other", NULL, NULL), "{\"app\":\"db\"}");
  set_in(o, json_string("other"), "metadata", "namespace", NULL);
  bound(s, o, zone ? "n0" : "n1");
  const char *aff_ns = "{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{"
                       "\"labelSelector\":{\"matchLabels\":{\"app\":\"db\"}},\"namespaces\":["
                       "\"other\"],\"topologyKey\":\"topology.kubernetes.io/zone\"}]}}";
  p = with_labels(mkpod("ns-cache", NULL, NULL), "{\"app\":\"cache\"}");
  set_in(p, J(aff_ns), "spec", "affinity", NULL);
  cleanup_free char *got = decide(s, p);
  cr_assert(got[0] == 'n' && atoi(got + 1) % 2 != zone, "%s should follow the other namespace's db",
            got);
  sched_free(s);
}

#define SPREAD(skew, when, extra)                                                                  \
  "[{\"maxSkew\":" #skew ",\"topologyKey\":\"topology.kubernetes.io/zone\",\"whenUnsatisfiable\":" \
  "\"" when "\",\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}}" extra "}]"

Test(sched, topology_spread_do_not_schedule)
{
  sched_t *s = new_sched(SCHED_BINPACK); /* binpack would stack them without the constraint */
  zone_nodes(s, 4, 2);
  int per_zone[2] = { 0 };
  for (int i = 0; i < 6; i++) {
    cleanup_free char *name = xasprintf("web-%d", i);
    json_t *p = with_labels(mkpod(name, "100m", NULL), "{\"app\":\"web\"}");
    set_in(p, J(SPREAD(1, "DoNotSchedule", "")), "spec", "topologySpreadConstraints", NULL);
    cleanup_free char *got = place(s, p);
    cr_assert(got[0] == 'n', "%s", got);
    per_zone[atoi(got + 1) % 2]++;
    cr_assert(abs(per_zone[0] - per_zone[1]) <= 1, "skew after %d pods: %d/%d", i + 1, per_zone[0],
              per_zone[1]);
  }
  cr_assert_eq(per_zone[0], 3);
  /* only z0 allowed by affinity: the skew forbids a 4th there */
  json_t *p = with_labels(mkpod("web-z0", "100m", NULL), "{\"app\":\"web\"}");
  set_in(p, J(SPREAD(1, "DoNotSchedule", "")), "spec", "topologySpreadConstraints", NULL);
  set_in(p, J("{\"topology.kubernetes.io/zone\":\"z0\"}"), "spec", "nodeSelector", NULL);
  /* nodeAffinityPolicy Honor: only z0 is a domain, so the skew is 0 there */
  cleanup_free char *z0 = decide(s, p);
  cr_assert(z0[0] == 'n' && atoi(z0 + 1) % 2 == 0, "%s", z0);
  p = with_labels(mkpod("web-z0-ignore", "100m", NULL), "{\"app\":\"web\"}");
  set_in(p, J(SPREAD(1, "DoNotSchedule", ",\"nodeAffinityPolicy\":\"Ignore\"")), "spec",
         "topologySpreadConstraints", NULL);
  set_in(p, J("{\"topology.kubernetes.io/zone\":\"z0\"}"), "spec", "nodeSelector", NULL);
  EXPECT(s, p,
         "!0/4 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, 2 node(s) "
         "didn't match pod topology spread constraints. preemption: 0/4 nodes are available: 2 No "
         "preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling..");
  /* a node without the key */
  add_node(s, "nozone", "8", "16Gi");
  p = with_labels(mkpod("web-x", "100m", NULL), "{\"app\":\"web\"}");
  set_in(p, J(SPREAD(1, "DoNotSchedule", "")), "spec", "topologySpreadConstraints", NULL);
  set_in(p, J("{\"kubernetes.io/hostname\":\"nozone\"}"), "spec", "nodeSelector", NULL);
  cleanup_free char *r = decide(s, p);
  cr_assert(strstr(r, "1 node(s) didn't match pod topology spread constraints (missing required "
                      "label)"),
            "%s", r);
  sched_free(s);
}

Test(sched, topology_spread_min_domains)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  zone_nodes(s, 2, 2);
  /* minDomains 3 with 2 zones: the global minimum counts as 0, so each
   * zone takes maxSkew (1) pod at most */
  for (int i = 0; i < 2; i++) {
    cleanup_free char *name = xasprintf("web-%d", i);
    json_t *p = with_labels(mkpod(name, NULL, NULL), "{\"app\":\"web\"}");
    set_in(p, J(SPREAD(1, "DoNotSchedule", ",\"minDomains\":3")), "spec",
           "topologySpreadConstraints", NULL);
    cleanup_free char *got = place(s, p);
    cr_assert(got[0] == 'n', "%s", got);
  }
  json_t *p = with_labels(mkpod("web-2", NULL, NULL), "{\"app\":\"web\"}");
  set_in(p, J(SPREAD(1, "DoNotSchedule", ",\"minDomains\":3")), "spec", "topologySpreadConstraints",
         NULL);
  cleanup_free char *r = decide(s, p);
  cr_assert(strstr(r, "2 node(s) didn't match pod topology spread constraints"), "%s", r);
  sched_free(s);
}

/* ---- scores ------------------------------------------------------------------------------- */

Test(sched, spread_and_binpack_differ)
{
  for (int st = 0; st < 2; st++) {
    sched_t *s = new_sched(st ? SCHED_BINPACK : SCHED_SPREAD);
    add_node(s, "busy", "4", "8Gi");
    add_node(s, "idle", "4", "8Gi");
    bound(s, mkpod("existing", "2", "4Gi"), "busy");
    EXPECT(s, mkpod("new", "500m", "1Gi"), st ? "busy" : "idle");
    /* and they keep going that way */
    EXPECT(s, mkpod("new2", "500m", "1Gi"), st ? "busy" : "idle");
    sched_free(s);
  }
}

Test(sched, spread_shares_equal_nodes)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  for (int i = 0; i < 4; i++) {
    cleanup_free char *name = xasprintf("n%d", i);
    add_node(s, name, "4", "8Gi");
  }
  int count[4] = { 0 };
  for (int i = 0; i < 40; i++) {
    cleanup_free char *name = xasprintf("p%d", i);
    cleanup_free char *got = place(s, mkpod(name, "100m", "128Mi"));
    count[atoi(got + 1)]++;
  }
  for (int i = 0; i < 4; i++)
    cr_assert_eq(count[i], 10, "node n%d got %d of 40", i, count[i]);
  sched_free(s);
}

Test(sched, preferred_scores)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  zone_nodes(s, 2, 2);
  /* preferred node affinity beats a slightly emptier node */
  bound(s, mkpod("load", "500m", "512Mi"), "n1");
  json_t *p = mkpod("pref", NULL, NULL);
  set_in(p,
         J("{\"nodeAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":"
           "50,\"preference\":{\"matchExpressions\":[{\"key\":\"topology.kubernetes.io/zone\","
           "\"operator\":\"In\",\"values\":[\"z1\"]}]}}]}}"),
         "spec", "affinity", NULL);
  EXPECT(s, p, "n1");
  /* a PreferNoSchedule taint the pod does not tolerate pushes it away */
  json_t *n = mknode("n0", "8", "16Gi");
  set_in(n, json_string("z0"), "metadata", "labels", "topology.kubernetes.io/zone", NULL);
  set_in(n, J("[{\"key\":\"spot\",\"effect\":\"PreferNoSchedule\"}]"), "spec", "taints", NULL);
  sched_node_set(s, n);
  json_decref(n);
  EXPECT(s, mkpod("avoid", NULL, NULL), "n1");
  p = mkpod("tolerant", NULL, NULL);
  set_in(p, J("[{\"key\":\"spot\",\"operator\":\"Exists\"}]"), "spec", "tolerations", NULL);
  EXPECT(s, p, "n0"); /* emptier, and the taint is tolerated */
  sched_free(s);

  /* preferred pod anti-affinity: away from app=web */
  s = new_sched(SCHED_BINPACK);
  zone_nodes(s, 2, 2);
  bound(s, with_labels(mkpod("web", "1", NULL), "{\"app\":\"web\"}"), "n0");
  p = mkpod("shy", NULL, NULL);
  set_in(p,
         J("{\"podAntiAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":[{"
           "\"weight\":100,\"podAffinityTerm\":{\"labelSelector\":{\"matchLabels\":{\"app\":"
           "\"web\"}},\"topologyKey\":\"kubernetes.io/hostname\"}}]}}"),
         "spec", "affinity", NULL);
  EXPECT(s, p, "n1"); /* binpack alone would pick n0 */
  sched_free(s);

  /* ScheduleAnyway spread scores: even binpack spreads the group */
  s = new_sched(SCHED_BINPACK);
  zone_nodes(s, 2, 2);
  int per[2] = { 0 };
  for (int i = 0; i < 4; i++) {
    cleanup_free char *name = xasprintf("w%d", i);
    p = with_labels(mkpod(name, "100m", NULL), "{\"app\":\"web\"}");
    set_in(p, J(SPREAD(1, "ScheduleAnyway", "")), "spec", "topologySpreadConstraints", NULL);
    cleanup_free char *got = place(s, p);
    per[atoi(got + 1)]++;
  }
  cr_assert(per[0] == 2 && per[1] == 2, "%d/%d", per[0], per[1]);
  sched_free(s);
}

/* ---- cache updates -----------------------------------------------------------------------------
 */

Test(sched, relabelled_pods_and_the_light_path)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  add_node(s, "n1", "4", "4Gi");
  add_node(s, "n2", "4", "4Gi");
  json_t *db = with_labels(mkpod("db", NULL, NULL), "{\"app\":\"db\"}");
  json_t *db2 = json_deep_copy(db);
  bound(s, db, "n1");
  const char *anti = "{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{"
                     "\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"topologyKey\":"
                     "\"kubernetes.io/hostname\"}]}}";
  /* db relabelled app=web through the light path (metadata and status only) */
  set_in(db2, json_string("n1"), "spec", "nodeName", NULL);
  set_in(db2, J("{\"app\":\"web\"}"), "metadata", "labels", NULL);
  cr_assert(sched_pod_set_placed(s, json_object_get(db2, "metadata"), "n1",
                                 json_object_get(db2, "status")));
  json_t *p = with_labels(mkpod("web", NULL, NULL), "{\"app\":\"web\"}");
  set_in(p, J(anti), "spec", "affinity", NULL);
  EXPECT(s, p, "n2");
  /* not for what it cannot take: another generation, another node, an unknown pod */
  set_in(db2, json_integer(5), "metadata", "generation", NULL);
  cr_assert_not(sched_pod_set_placed(s, json_object_get(db2, "metadata"), "n1", NULL));
  set_in(db2, json_integer(0), "metadata", "generation", NULL);
  cr_assert_not(sched_pod_set_placed(s, json_object_get(db2, "metadata"), "n2", NULL));
  json_t *ghost = J("{\"namespace\":\"default\",\"name\":\"ghost\",\"uid\":\"u\"}");
  cr_assert_not(sched_pod_set_placed(s, ghost, "n1", NULL));
  json_decref(ghost);
  /* relabelled back through the whole path: web-2 may go to n1 again */
  set_in(db2, J("{\"app\":\"db\"}"), "metadata", "labels", NULL);
  sched_pod_set(s, db2);
  json_decref(db2);
  p = with_labels(mkpod("web-2", NULL, NULL), "{\"app\":\"web\"}");
  set_in(p, J(anti), "spec", "affinity", NULL);
  EXPECT(s, p, "n1");
  /* our binding coming back confirms the assumed pod */
  sched_stats_t st;
  sched_stats(s, &st);
  cr_assert_eq(st.assumed, 2);
  json_t *w2 = with_labels(mkpod("web-2", NULL, NULL), "{\"app\":\"web\"}");
  set_in(w2, json_string("n1"), "spec", "nodeName", NULL);
  cr_assert(sched_pod_set_placed(s, json_object_get(w2, "metadata"), "n1",
                                 json_object_get(w2, "status")));
  json_decref(w2);
  sched_stats(s, &st);
  cr_assert_eq(st.assumed, 1);
  sched_free(s);
}

Test(sched, namespace_selector_in_terms)
{
  sched_t *s = new_sched(SCHED_SPREAD);
  add_node(s, "n1", "4", "4Gi");
  add_node(s, "n2", "4", "4Gi");
  json_t *o = with_labels(mkpod("cache", NULL, NULL), "{\"app\":\"cache\"}");
  set_in(o, json_string("team-b"), "metadata", "namespace", NULL);
  bound(s, o, "n2");
  /* namespaceSelector by kubernetes.io/metadata.name, and {} for every namespace */
  const char *sels[] = { "{\"matchLabels\":{\"kubernetes.io/metadata.name\":\"team-b\"}}", "{}" };
  for (int i = 0; i < 2; i++) {
    cleanup_free char *name = xasprintf("near-%d", i);
    cleanup_free char *aff = xasprintf(
        "{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{\"labelSelector\":"
        "{\"matchLabels\":{\"app\":\"cache\"}},\"namespaceSelector\":%s,\"topologyKey\":"
        "\"kubernetes.io/hostname\"}]}}",
        sels[i]);
    json_t *p = mkpod(name, NULL, NULL);
    set_in(p, J(aff), "spec", "affinity", NULL);
    EXPECT(s, p, "n2");
  }
  /* without it, only the pod's own namespace: no cache there */
  json_t *p = mkpod("near-own", NULL, NULL);
  set_in(
      p,
      J("{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{\"labelSelector\":"
        "{\"matchLabels\":{\"app\":\"cache\"}},\"topologyKey\":\"kubernetes.io/hostname\"}]}}"),
      "spec", "affinity", NULL);
  cleanup_free char *r = decide(s, p);
  cr_assert(strstr(r, "2 node(s) didn't match pod affinity rules"), "%s", r);
  sched_free(s);
}
