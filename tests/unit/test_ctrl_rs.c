/* test_ctrl_rs.c — the ReplicaSet controller one sync at a time: scaling up
 * and down (which pods go first), adoption and release, the status counts
 * with minReadySeconds, and objects it must leave alone. */
#include "ctrl_harness.h"

static json_t *J(const char *s)
{
  json_error_t e;
  json_t *j = json_loads(s, 0, &e);
  cr_assert(j, "%s: %s", s, e.text);
  return j;
}

/* A set "web" selecting app=web, template labels app=web (+ extra). */
static json_t *rs_json(int64_t replicas, const char *extra_labels, int64_t min_ready)
{
  char *s = xasprintf(
      "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"web\","
      "\"namespace\":\"default\"},\"spec\":{\"replicas\":%lld,\"minReadySeconds\":%lld,"
      "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":"
      "{\"app\":\"web\"%s}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}",
      (long long)replicas, (long long)min_ready, extra_labels ? extra_labels : "");
  json_t *j = J(s);
  free(s);
  return j;
}

static const char *uid_of(json_t *obj)
{
  return json_str(json_object_get(obj, "metadata"), "uid");
}

static size_t owned_pods(ctrl_h *h, json_t *rs)
{
  json_t *pods = ctrl_cache_owned(h->cache, "pods", uid_of(rs));
  size_t n = json_array_size(pods);
  json_decref(pods);
  return n;
}

static json_t *rs_get(ctrl_h *h)
{
  return ctrl_cache_get(h->cache, "replicasets", "default", "web");
}

/* A pod that rs controls, in the given state. */
static json_t *put_pod(ctrl_h *h, json_t *rs, const char *name, const char *node, const char *phase,
                       bool ready, int64_t restarts)
{
  json_t *p = J("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"namespace\":\"default\","
                "\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}");
  json_t *md = json_object_get(p, "metadata");
  json_object_set_new(md, "name", json_string(name));
  json_object_set_new(md, "ownerReferences",
                      json_pack("[o]", ctrl_owner_ref(rs, "apps/v1", "ReplicaSet")));
  if (node)
    json_object_set_new(json_object_get(p, "spec"), "nodeName", json_string(node));
  json_t *st = json_pack("{s:s,s:[{s:s,s:I}]}", "phase", phase, "containerStatuses", "name", "c",
                         "restartCount", (json_int_t)restarts);
  ctrl_set_condition(st, "Ready", ready ? "True" : "False", NULL, NULL, h->now);
  json_object_set_new(p, "status", st);
  return ctrl_h_put(h, "pods", p);
}

static json_t *status_of_rs(ctrl_h *h)
{
  return json_object_get(rs_get(h), "status");
}

Test(ctrl_rs, scale_up_creates_from_template)
{
  ctrl_h h;
  ctrl_h_init(&h);
  json_t *rs = ctrl_h_put(&h, "replicasets", rs_json(3, ",\"tier\":\"fe\"", 0));
  json_object_set_new(
      json_object_get(json_object_get(json_object_get(rs, "spec"), "template"), "metadata"),
      "annotations", json_pack("{s:s}", "note", "x"));
  ctrl_h_sync(&h, "replicaset", "default", "web");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 3);
  for (size_t i = 0; i < 3; i++) {
    json_t *pod = ctrl_h_action(&h, CTRL_CREATE, "pods", i)->obj;
    json_t *md = json_object_get(pod, "metadata");
    cr_assert_str_eq(json_str(md, "generateName"), "web-");
    cr_assert(str_has_prefix(json_str(md, "name"), "web-"));
    cr_assert_eq(strlen(json_str(md, "name")), strlen("web-") + 5);
    cr_assert_str_eq(json_str(md, "namespace"), "default");
    cr_assert_str_eq(json_str(json_object_get(md, "labels"), "tier"), "fe");
    cr_assert_str_eq(json_str(json_object_get(md, "annotations"), "note"), "x");
    json_t *ref = ctrl_controller_ref(pod);
    cr_assert_str_eq(json_str(ref, "uid"), uid_of(rs));
    cr_assert_str_eq(json_str(ref, "kind"), "ReplicaSet");
    json_t *c0 = json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0);
    cr_assert_str_eq(json_str(c0, "image"), "nginx");
    ctrl_action_t *ev = ctrl_h_action(&h, CTRL_EVENT, NULL, i);
    cr_assert_str_eq(ev->reason, "SuccessfulCreate");
    cr_assert_str_eq(ev->type, "Normal");
    char *want = xasprintf("Created pod: %s", json_str(md, "name"));
    cr_assert_str_eq(ev->message, want);
    free(want);
  }
  /* the status says what is there now: nothing yet */
  cr_assert_eq(ctrl_h_count(&h, CTRL_UPDATE_STATUS, "replicasets"), 1);
  ctrl_h_apply(&h);
  cr_assert_eq(json_int(status_of_rs(&h), "replicas", -1), 0);
  cr_assert_eq(json_int(status_of_rs(&h), "observedGeneration", -1), 1);
  cr_assert_eq(owned_pods(&h, rs_get(&h)), 3);

  ctrl_h_sync(&h, "replicaset", "default", "web");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, NULL), 0);
  cr_assert_eq(ctrl_h_count(&h, CTRL_UPDATE_STATUS, "replicasets"), 1);
  ctrl_h_apply(&h);
  cr_assert_eq(json_int(status_of_rs(&h), "replicas", -1), 3);
  cr_assert_eq(json_int(status_of_rs(&h), "fullyLabeledReplicas", -1), 3);
  cr_assert_eq(json_int(status_of_rs(&h), "readyReplicas", 0), 0);

  /* nothing changed: nothing to do */
  ctrl_h_sync(&h, "replicaset", "default", "web");
  cr_assert_eq(h.out.n, 0);
  cr_assert_eq(h.requeue_ns, 0);
  ctrl_h_free(&h);
}

Test(ctrl_rs, creates_at_most_500_per_sync)
{
  ctrl_h h;
  ctrl_h_init(&h);
  ctrl_h_put(&h, "replicasets", rs_json(600, NULL, 0));
  ctrl_h_sync(&h, "replicaset", "default", "web");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 500);
  cr_assert_gt(h.requeue_ns, 0);
  ctrl_h_apply(&h);
  ctrl_h_sync(&h, "replicaset", "default", "web");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 100);
  ctrl_h_apply(&h);
  cr_assert_eq(owned_pods(&h, rs_get(&h)), 600);
  ctrl_h_free(&h);
}

Test(ctrl_rs, scale_down_deletes_least_useful_first)
{
  ctrl_h h;
  ctrl_h_init(&h);
  json_t *rs = ctrl_h_put(&h, "replicasets", rs_json(7, NULL, 0));
  put_pod(&h, rs, "old", "n1", "Running", true, 0);
  put_pod(&h, rs, "restarts", "n2", "Running", true, 5);
  put_pod(&h, rs, "notready", "n3", "Running", false, 0);
  put_pod(&h, rs, "pending", "n4", "Pending", false, 0);
  put_pod(&h, rs, "unscheduled", NULL, "Pending", false, 0);
  put_pod(&h, rs, "failed", "n5", "Failed", false, 0); /* not active: not counted */
  /* ready at the same time as "old" and "restarts", created later */
  json_t *p = json_deep_copy(put_pod(&h, rs, "new", "n6", "Running", true, 0));
  char *later = time_rfc3339_sec(h.now + 10 * 1000000000LL);
  json_object_set_new(json_object_get(p, "metadata"), "creationTimestamp", json_string(later));
  free(later);
  ctrl_h_put(&h, "pods", p);

  /* seven wanted, six active: one more */
  ctrl_h_sync(&h, "replicaset", "default", "web");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 1);
  cr_assert_eq(
      json_int(json_object_get(ctrl_h_action(&h, CTRL_UPDATE_STATUS, NULL, 0)->obj, "status"),
               "replicas", -1),
      6);

  json_t *scaled = json_deep_copy(rs_get(&h));
  json_object_set_new(json_object_get(scaled, "spec"), "replicas", json_integer(1));
  ctrl_h_put(&h, "replicasets", scaled);
  ctrl_h_sync(&h, "replicaset", "default", "web");
  static const char *order[] = { "unscheduled", "pending", "notready", "restarts", "new" };
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 5);
  for (size_t i = 0; i < 5; i++) {
    ctrl_action_t *a = ctrl_h_action(&h, CTRL_DELETE, "pods", i);
    cr_assert_str_eq(a->name, order[i], "delete %zu: %s, want %s", i, a->name, order[i]);
    cr_assert_str_eq(a->uid, uid_of(ctrl_cache_get(h.cache, "pods", "default", order[i])));
    ctrl_action_t *ev = ctrl_h_action(&h, CTRL_EVENT, NULL, i);
    cr_assert_str_eq(ev->reason, "SuccessfulDelete");
    char *want = xasprintf("Deleted pod: %s", order[i]);
    cr_assert_str_eq(ev->message, want);
    free(want);
  }
  /* the status says what stays, not the pods on their way out: one pod,
   * ready and available */
  json_t *st = json_object_get(ctrl_h_action(&h, CTRL_UPDATE_STATUS, NULL, 0)->obj, "status");
  cr_assert_eq(json_int(st, "replicas", -1), 1);
  cr_assert_eq(json_int(st, "readyReplicas", -1), 1);
  cr_assert_eq(json_int(st, "availableReplicas", -1), 1);
  ctrl_h_apply(&h);
  cr_assert_not_null(ctrl_cache_get(h.cache, "pods", "default", "old"));
  cr_assert_not_null(ctrl_cache_get(h.cache, "pods", "default", "failed"));
  ctrl_h_free(&h);
}

Test(ctrl_rs, deletion_cost_and_doubled_up_pods)
{
  ctrl_h h;
  ctrl_h_init(&h);
  json_t *rs = ctrl_h_put(&h, "replicasets", rs_json(1, NULL, 0));
  put_pod(&h, rs, "a", "n1", "Running", true, 0);
  put_pod(&h, rs, "b", "n2", "Running", true, 0);
  put_pod(&h, rs, "c", "n2", "Running", true, 0);
  /* b and c share a node: one of them goes first, unless a deletion cost says otherwise */
  ctrl_h_sync(&h, "replicaset", "default", "web");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 2);
  cr_assert_neq(strcmp(ctrl_h_action(&h, CTRL_DELETE, "pods", 0)->name, "a"), 0);

  json_t *a = json_deep_copy(ctrl_cache_get(h.cache, "pods", "default", "a"));
  json_object_set_new(json_object_get(a, "metadata"), "annotations",
                      json_pack("{s:s}", "controller.kubernetes.io/pod-deletion-cost", "-100"));
  ctrl_h_put(&h, "pods", a);
  ctrl_h_sync(&h, "replicaset", "default", "web");
  cr_assert_str_eq(ctrl_h_action(&h, CTRL_DELETE, "pods", 0)->name, "a");
  ctrl_h_free(&h);
}

Test(ctrl_rs, adopts_orphans_and_releases_strays)
{
  ctrl_h h;
  ctrl_h_init(&h);
  json_t *rs = ctrl_h_put(&h, "replicasets", rs_json(2, NULL, 0));
  /* an orphan that matches: adopted and counted */
  ctrl_h_put(&h, "pods",
             J("{\"metadata\":{\"name\":\"orphan\",\"namespace\":\"default\","
               "\"labels\":{\"app\":\"web\"}},\"status\":{\"phase\":\"Running\"}}"));
  /* a finished orphan, an orphan in another namespace, another controller's pod: left alone */
  ctrl_h_put(&h, "pods",
             J("{\"metadata\":{\"name\":\"done\",\"namespace\":\"default\","
               "\"labels\":{\"app\":\"web\"}},\"status\":{\"phase\":\"Succeeded\"}}"));
  ctrl_h_put(&h, "pods",
             J("{\"metadata\":{\"name\":\"elsewhere\",\"namespace\":\"other\","
               "\"labels\":{\"app\":\"web\"}}}"));
  ctrl_h_put(&h, "pods",
             J("{\"metadata\":{\"name\":\"theirs\",\"namespace\":\"default\",\"labels\":{\"app\":"
               "\"web\"},\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\","
               "\"name\":\"x\",\"uid\":\"other-uid\",\"controller\":true}]}}"));
  /* its own pod whose labels changed: released */
  json_t *stray = put_pod(&h, rs, "stray", "n1", "Running", true, 0);
  stray = json_deep_copy(stray);
  json_object_set_new(json_object_get(json_object_get(stray, "metadata"), "labels"), "app",
                      json_string("debug"));
  ctrl_h_put(&h, "pods", stray);
  put_pod(&h, rs, "mine", "n1", "Running", true, 0);

  ctrl_h_sync(&h, "replicaset", "default", "web");
  cr_assert_eq(ctrl_h_count(&h, CTRL_UPDATE, "pods"), 2);
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, NULL), 0, "orphan + mine = 2 replicas");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, NULL), 0);
  ctrl_h_apply(&h);
  json_t *orphan = ctrl_cache_get(h.cache, "pods", "default", "orphan");
  cr_assert_str_eq(json_str(ctrl_controller_ref(orphan), "uid"), uid_of(rs_get(&h)));
  cr_assert(json_is_true(json_object_get(ctrl_controller_ref(orphan), "blockOwnerDeletion")));
  cr_assert_null(ctrl_controller_ref(ctrl_cache_get(h.cache, "pods", "default", "stray")));
  cr_assert_null(ctrl_controller_ref(ctrl_cache_get(h.cache, "pods", "default", "done")));
  cr_assert_null(ctrl_controller_ref(ctrl_cache_get(h.cache, "pods", "other", "elsewhere")));
  cr_assert_str_eq(
      json_str(ctrl_controller_ref(ctrl_cache_get(h.cache, "pods", "default", "theirs")), "uid"),
      "other-uid");
  cr_assert_eq(owned_pods(&h, rs_get(&h)), 2);
  cr_assert_eq(json_int(status_of_rs(&h), "replicas", -1), 2);

  /* the set being deleted: nothing, not even a status */
  json_t *del = json_deep_copy(rs_get(&h));
  json_object_set_new(json_object_get(del, "metadata"), "deletionTimestamp",
                      json_string("2026-01-01T00:00:00Z"));
  json_object_set_new(json_object_get(del, "spec"), "replicas", json_integer(5));
  ctrl_h_put(&h, "replicasets", del);
  ctrl_h_sync(&h, "replicaset", "default", "web");
  cr_assert_eq(h.out.n, 0);
  ctrl_h_free(&h);
}

Test(ctrl_rs, status_counts_and_min_ready_seconds)
{
  ctrl_h h;
  ctrl_h_init(&h);
  json_t *rs = ctrl_h_put(&h, "replicasets", rs_json(3, ",\"tier\":\"fe\"", 30));
  json_t *p = put_pod(&h, rs, "a", "n1", "Running", true, 0);
  p = json_deep_copy(p);
  json_object_set_new(json_object_get(json_object_get(p, "metadata"), "labels"), "tier",
                      json_string("fe"));
  ctrl_h_put(&h, "pods", p);
  put_pod(&h, rs, "b", "n1", "Running", true, 0);
  h.now += 10 * 1000000000LL;
  put_pod(&h, rs, "c", "n1", "Running", false, 0);

  ctrl_h_sync(&h, "replicaset", "default", "web");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, NULL), 0);
  ctrl_h_apply(&h);
  json_t *st = status_of_rs(&h);
  cr_assert_eq(json_int(st, "replicas", -1), 3);
  cr_assert_eq(json_int(st, "fullyLabeledReplicas", -1), 1);
  cr_assert_eq(json_int(st, "readyReplicas", -1), 2);
  cr_assert_null(json_object_get(st, "availableReplicas"), "ready for 10 s of 30");
  /* look again when a and b have been ready for 30 s */
  cr_assert_eq(h.requeue_ns, 20 * 1000000000LL);

  h.now += 20 * 1000000000LL;
  ctrl_h_sync(&h, "replicaset", "default", "web");
  ctrl_h_apply(&h);
  cr_assert_eq(json_int(status_of_rs(&h), "availableReplicas", -1), 2);
  cr_assert_eq(h.requeue_ns, 0);

  /* c becomes ready: available 30 s later */
  ctrl_h_pod_status(&h, ctrl_cache_get(h.cache, "pods", "default", "c"), "Running", true);
  ctrl_h_sync(&h, "replicaset", "default", "web");
  ctrl_h_apply(&h);
  cr_assert_eq(json_int(status_of_rs(&h), "readyReplicas", -1), 3);
  cr_assert_eq(json_int(status_of_rs(&h), "availableReplicas", -1), 2);
  cr_assert_eq(h.requeue_ns, 30 * 1000000000LL);
  h.now += 30 * 1000000000LL;
  ctrl_h_sync(&h, "replicaset", "default", "web");
  ctrl_h_apply(&h);
  cr_assert_eq(json_int(status_of_rs(&h), "availableReplicas", -1), 3);

  /* a spec change shows in observedGeneration */
  json_t *c = json_deep_copy(rs_get(&h));
  json_object_set_new(json_object_get(c, "spec"), "minReadySeconds", json_integer(0));
  ctrl_h_put(&h, "replicasets", c);
  ctrl_h_sync(&h, "replicaset", "default", "web");
  ctrl_h_apply(&h);
  cr_assert_eq(json_int(status_of_rs(&h), "observedGeneration", -1), 2);
  ctrl_h_free(&h);
}

Test(ctrl_rs, hostile_objects_do_nothing)
{
  static const char *bad[] = {
    /* no selector */
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,"
    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}}}}}",
    /* an empty selector: everything */
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,"
    "\"selector\":{},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}}}}}",
    /* a template that the selector does not match: would create for ever */
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,"
    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":"
    "{\"app\":\"db\"}}}}}",
    /* garbage */
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,"
    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":\"garbage\"}}",
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":\"2\","
    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":"
    "{\"app\":\"web\"}}}}}",
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":-1,"
    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":"
    "{\"app\":\"web\"}}}}}",
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,"
    "\"selector\":{\"matchLabels\":[1]},\"template\":{\"metadata\":{\"labels\":[]}}}}",
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":7}",
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,"
    "\"selector\":{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"Bogus\"}]},"
    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}}}}}",
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    ctrl_h h;
    ctrl_h_init(&h);
    ctrl_h_put(&h, "pods",
               J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\","
                 "\"labels\":{\"app\":\"web\"}}}"));
    ctrl_h_put(&h, "replicasets", J(bad[i]));
    ctrl_h_sync(&h, "replicaset", "default", "web");
    cr_assert_eq(h.out.n, 0, "case %zu: %zu actions", i, h.out.n);
    /* a pod change with garbage around it: no crash */
    size_t self = ctrl_h_def("replicaset");
    ctrl_keys_t keys = { 0 };
    ctrl_ctx_t x = { .cache = h.cache, .cfg = &h.cfg, .now = h.now, .out = &h.out };
    ctrl_defs[self].keys(&x, self, "pods", NULL, ctrl_cache_get(h.cache, "pods", "default", "p"),
                         &keys);
    ctrl_keys_clear(&keys);
    ctrl_h_free(&h);
  }
  /* gone from the cache: nothing */
  ctrl_h h;
  ctrl_h_init(&h);
  ctrl_h_sync(&h, "replicaset", "default", "nope");
  cr_assert_eq(h.out.n, 0);
  ctrl_h_free(&h);
}

Test(ctrl_rs, keys)
{
  ctrl_h h;
  ctrl_h_init(&h);
  json_t *rs = ctrl_h_put(&h, "replicasets", rs_json(1, NULL, 0));
  json_t *other = rs_json(1, NULL, 0);
  json_object_set_new(json_object_get(other, "metadata"), "name", json_string("web2"));
  ctrl_h_put(&h, "replicasets", other);
  json_t *db = rs_json(1, NULL, 0);
  json_object_set_new(json_object_get(db, "metadata"), "name", json_string("db"));
  json_object_set_new(json_object_get(json_object_get(db, "spec"), "selector"), "matchLabels",
                      json_pack("{s:s}", "app", "db"));
  ctrl_h_put(&h, "replicasets", db);
  size_t self = ctrl_h_def("replicaset");
  ctrl_ctx_t x = { .cache = h.cache, .cfg = &h.cfg, .now = h.now, .out = &h.out };
  ctrl_keys_t keys = { 0 };

  json_t *owned = put_pod(&h, rs_get(&h), "p1", "n1", "Running", true, 0);
  ctrl_defs[self].keys(&x, self, "pods", NULL, owned, &keys);
  cr_assert_eq(keys.n, 1);
  cr_assert_str_eq(keys.v[0].name, "web");
  cr_assert_str_eq(keys.v[0].ns, "default");
  cr_assert_eq(keys.v[0].def, self);
  ctrl_keys_clear(&keys);

  /* an orphan: every set that selects it */
  json_t *orphan = ctrl_h_put(&h, "pods",
                              J("{\"metadata\":{\"name\":\"o\",\"namespace\":"
                                "\"default\",\"labels\":{\"app\":\"web\"}}}"));
  ctrl_defs[self].keys(&x, self, "/pods", NULL, orphan, &keys);
  cr_assert_eq(keys.n, 2);
  cr_assert_str_eq(keys.v[0].name, "web");
  cr_assert_str_eq(keys.v[1].name, "web2");
  ctrl_keys_clear(&keys);

  /* deleted pod: its set; the set itself */
  ctrl_defs[self].keys(&x, self, "pods", owned, NULL, &keys);
  ctrl_defs[self].keys(&x, self, "apps/replicasets", rs, NULL, &keys);
  cr_assert_eq(keys.n, 1);
  cr_assert_str_eq(keys.v[0].name, "web");
  ctrl_keys_clear(&keys);
  ctrl_h_free(&h);
}
