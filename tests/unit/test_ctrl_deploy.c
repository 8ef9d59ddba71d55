/* test_ctrl_deploy.c — the Deployment controller driven together with the
 * ReplicaSet controller, step by step as the server would run them: a
 * rolling update that must keep availability and surge within bounds at
 * every step, recreate, pause and resume, rollback, history cleanup, the
 * progress deadline, proportional scaling, and objects it must leave
 * alone. Pods become Running and Ready when the test says so. */
#include "ctrl_harness.h"

#define S 1000000000LL

static json_t *J(const char *s)
{
  json_error_t e;
  json_t *j = json_loads(s, 0, &e);
  cr_assert(j, "%s: %s", s, e.text);
  return j;
}

static json_t *md(json_t *obj)
{
  return json_object_get(obj, "metadata");
}

static const char *ann(json_t *obj, const char *key)
{
  return json_str(json_object_get(md(obj), "annotations"), key);
}

/* Deployment "web" (app=web) running image, with strategy (JSON) and the
 * extra spec fields in extra (",\"k\":v…" or ""). */
static json_t *deploy_json(int64_t replicas, const char *image, const char *strategy,
                           const char *extra)
{
  char *s = xasprintf(
      "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
      "\"namespace\":\"default\",\"annotations\":{\"team\":\"a\"}},\"spec\":{\"replicas\":%lld,"
      "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"strategy\":%s,\"template\":{"
      "\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
      "\"image\":\"%s\"}]}}%s}}",
      (long long)replicas, strategy, image, extra);
  json_t *j = J(s);
  free(s);
  return j;
}

#define ROLLING(surge, unavail)                                                                    \
  "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":" surge                             \
  ",\"maxUnavailable\":" unavail "}}"

static json_t *dep(ctrl_h *h)
{
  return ctrl_cache_get(h->cache, "deployments", "default", "web");
}

static json_t *dstatus(ctrl_h *h)
{
  return json_object_get(dep(h), "status");
}

static json_t *dcond(ctrl_h *h, const char *type)
{
  return ctrl_condition(dep(h), type);
}

/* Changes the Deployment as a user would (a new generation when the spec
 * changes). */
static void edit(ctrl_h *h, const char *path, json_t *value)
{
  json_t *d = json_deep_copy(dep(h));
  json_t *spec = json_object_get(d, "spec");
  if (!strcmp(path, "image"))
    json_object_set_new(
        json_array_get(json_object_get(json_object_get(json_object_get(spec, "template"), "spec"),
                                       "containers"),
                       0),
        "image", value);
  else
    json_object_set_new(spec, path, value);
  ctrl_h_put(h, "deployments", d);
}

static const char *image_of(json_t *obj)
{
  json_t *tmpl = json_object_get(json_object_get(obj, "spec"), "template");
  if (!tmpl) /* a pod */
    tmpl = obj;
  json_t *c = json_array_get(json_object_get(json_object_get(tmpl, "spec"), "containers"), 0);
  return json_str(c, "image") ?: "";
}

/* The set running image (borrowed), or NULL. */
static json_t *rs_for(ctrl_h *h, const char *image)
{
  json_t *all = ctrl_cache_list(h->cache, "replicasets", "default");
  json_t *found = NULL, *rs;
  size_t i;
  json_array_foreach(all, i, rs)
  {
    if (!strcmp(image_of(rs), image))
      found = rs;
  }
  json_decref(all);
  return found;
}

static int64_t rs_size(json_t *rs)
{
  return json_int(json_object_get(rs, "spec"), "replicas", -1);
}

/* Pods in the namespace: total, with image (NULL: any), ready. */
static int64_t pods(ctrl_h *h, const char *image, bool ready_only)
{
  json_t *all = ctrl_cache_list(h->cache, "pods", "default");
  int64_t n = 0;
  json_t *p;
  size_t i;
  json_array_foreach(all, i, p)
  {
    if (!ctrl_pod_active(p) || (image && strcmp(image_of(p), image)))
      continue;
    if (!ready_only || ctrl_pod_ready(p, NULL))
      n++;
  }
  json_decref(all);
  return n;
}

static void sync_deploy(ctrl_h *h)
{
  ctrl_h_sync(h, "deployment", "default", "web");
  ctrl_h_apply(h);
}

/* One sync of every ReplicaSet, applied. */
static void sync_sets(ctrl_h *h)
{
  json_t *all = ctrl_cache_list(h->cache, "replicasets", NULL);
  json_t *rs;
  size_t i;
  json_array_foreach(all, i, rs)
  {
    ctrl_h_sync(h, "replicaset", json_str(md(rs), "namespace"), json_str(md(rs), "name"));
    ctrl_h_apply(h);
  }
  json_decref(all);
}

/* Every pod not yet ready becomes Running and Ready, except those with
 * image broken (never start). */
static void pods_start(ctrl_h *h, const char *broken)
{
  json_t *all = ctrl_cache_list(h->cache, "pods", NULL);
  json_t *p;
  size_t i;
  json_array_foreach(all, i, p)
  {
    if (!ctrl_pod_ready(p, NULL) && (!broken || strcmp(image_of(p), broken)))
      ctrl_h_pod_status(h, p, "Running", true);
  }
  json_decref(all);
}

/* What `kubectl rollout status` concludes: 1 done, 0 waiting, -1 failed. */
static int rollout_status(ctrl_h *h)
{
  json_t *d = dep(h), *st = dstatus(h);
  if (json_int(md(d), "generation", 0) > json_int(st, "observedGeneration", 0))
    return 0;
  json_t *c = dcond(h, "Progressing");
  if (c && !strcmp(json_str(c, "reason") ?: "", "ProgressDeadlineExceeded"))
    return -1;
  int64_t want = json_int(json_object_get(d, "spec"), "replicas", 1);
  int64_t updated = json_int(st, "updatedReplicas", 0);
  if (updated < want || json_int(st, "replicas", 0) > updated
      || json_int(st, "availableReplicas", 0) < updated)
    return 0;
  return 1;
}

/* A step of the world: the Deployment syncs, the sets create and delete
 * pods, the pods start, the sets report. check() runs after every change. */
typedef void (*check_fn)(ctrl_h *h, void *arg);

static void step(ctrl_h *h, const char *broken, check_fn check, void *arg)
{
  sync_deploy(h);
  if (check)
    check(h, arg);
  sync_sets(h);
  if (check)
    check(h, arg);
  h->now += S;
  pods_start(h, broken);
  sync_sets(h);
  if (check)
    check(h, arg);
}

/* Steps until `kubectl rollout status` would say done (or max steps). */
static int settle(ctrl_h *h, const char *broken, check_fn check, void *arg, int max)
{
  for (int i = 0; i < max; i++) {
    step(h, broken, check, arg);
    if (rollout_status(h) == 1) {
      /* and it is true: every pod runs the template and is ready */
      const char *image = image_of(dep(h));
      int64_t want = json_int(json_object_get(dep(h), "spec"), "replicas", 1);
      cr_assert_eq(pods(h, NULL, false), want);
      cr_assert_eq(pods(h, image, true), want);
      return i + 1;
    }
  }
  return -1;
}

static ctrl_h *start(ctrl_h *h, int64_t replicas, const char *strategy, const char *extra)
{
  ctrl_h_init(h);
  ctrl_h_put(h, "deployments", deploy_json(replicas, "v1", strategy, extra));
  cr_assert_gt(settle(h, NULL, NULL, NULL, 20), 0, "first rollout");
  return h;
}

/* ---- rolling update ---------------------------------------------------------------- */

struct bounds {
  int64_t min_available, max_total, steps;
};

static void check_bounds(ctrl_h *h, void *arg)
{
  struct bounds *b = arg;
  int64_t total = pods(h, NULL, false), available = pods(h, NULL, true);
  cr_assert_geq(available, b->min_available, "step %lld: %lld pods available", (long long)b->steps,
                (long long)available);
  cr_assert_leq(total, b->max_total, "step %lld: %lld pods", (long long)b->steps, (long long)total);
  /* while not done, rollout status must not say so */
  if (rollout_status(h) == 1)
    cr_assert_eq(pods(h, image_of(dep(h)), true),
                 json_int(json_object_get(dep(h), "spec"), "replicas", -1));
  b->steps++;
}

/* The Deployment syncs again before the old set's controller has acted on
 * its last scale-down: the old set still reports the pods it is about to
 * delete as available, and they must not count (bench/workloads.sh saw
 * 37 ready pods where maxUnavailable allowed 38 no fewer). */
Test(ctrl_deploy, old_set_not_yet_scaled_down_counts_its_spec)
{
  ctrl_h h;
  start(&h, 10, ROLLING("0", "2"), ""); /* at least 8 available, at most 10 pods */
  edit(&h, "image", json_string("v2"));
  sync_deploy(&h); /* no room to grow: the old set goes 10 → 8 */
  cr_assert_eq(rs_size(rs_for(&h, "v1")), 8);
  cr_assert_eq(json_int(json_object_get(rs_for(&h, "v1"), "status"), "availableReplicas", 0), 10,
               "its controller has not acted yet");
  sync_deploy(&h); /* room for 2 new */
  cr_assert_eq(rs_size(rs_for(&h, "v2")), 2);
  const char *v2 = json_str(md(rs_for(&h, "v2")), "name");
  cleanup_free char *v2name = xstrdup(v2);
  ctrl_h_sync(&h, "replicaset", "default", v2name);
  ctrl_h_apply(&h);
  h.now += S;
  pods_start(&h, NULL);
  ctrl_h_sync(&h, "replicaset", "default", v2name);
  ctrl_h_apply(&h);
  cr_assert_eq(json_int(json_object_get(rs_for(&h, "v2"), "status"), "availableReplicas", 0), 2);
  sync_deploy(&h); /* 8 old + 2 new will be available: 2 more old may go, not 4 */
  cr_assert_eq(rs_size(rs_for(&h, "v1")), 6);
  sync_sets(&h);
  cr_assert_geq(pods(&h, NULL, true), 8, "%lld available", (long long)pods(&h, NULL, true));
  struct bounds b = { .min_available = 8, .max_total = 10 };
  cr_assert_gt(settle(&h, NULL, check_bounds, &b, 40), 0);
  ctrl_h_free(&h);
}

Test(ctrl_deploy, rolling_update_keeps_bounds)
{
  ctrl_h h;
  start(&h, 10, ROLLING("2", "1"), "");
  json_t *v1 = rs_for(&h, "v1");
  cr_assert_str_eq(ann(v1, "deployment.kubernetes.io/revision"), "1");
  cr_assert_str_eq(ann(v1, "deployment.kubernetes.io/desired-replicas"), "10");
  cr_assert_str_eq(ann(v1, "deployment.kubernetes.io/max-replicas"), "12");
  cr_assert_str_eq(ann(v1, "team"), "a", "the Deployment's annotations are copied");
  cr_assert_str_eq(ann(dep(&h), "deployment.kubernetes.io/revision"), "1");
  cr_assert_str_eq(json_str(dcond(&h, "Progressing"), "reason"), "NewReplicaSetAvailable");
  cr_assert_str_eq(json_str(dcond(&h, "Available"), "status"), "True");
  cr_assert_eq(json_int(dstatus(&h), "unavailableReplicas", 0), 0);

  edit(&h, "image", json_string("v2"));
  struct bounds b = { .min_available = 9, .max_total = 12 };
  int steps = settle(&h, NULL, check_bounds, &b, 40);
  cr_assert_gt(steps, 3, "a rolling update of 10 takes several steps (took %d)", steps);

  v1 = rs_for(&h, "v1");
  json_t *v2 = rs_for(&h, "v2");
  cr_assert_eq(rs_size(v1), 0);
  cr_assert_eq(rs_size(v2), 10);
  cr_assert_str_eq(ann(v1, "deployment.kubernetes.io/revision"), "1");
  cr_assert_str_eq(ann(v2, "deployment.kubernetes.io/revision"), "2");
  cr_assert_str_eq(ann(dep(&h), "deployment.kubernetes.io/revision"), "2");
  cr_assert_str_eq(json_str(dcond(&h, "Progressing"), "reason"), "NewReplicaSetAvailable");
  json_t *st = dstatus(&h);
  cr_assert_eq(json_int(st, "replicas", 0), 10);
  cr_assert_eq(json_int(st, "updatedReplicas", 0), 10);
  cr_assert_eq(json_int(st, "readyReplicas", 0), 10);
  cr_assert_eq(json_int(st, "availableReplicas", 0), 10);

  /* the new set: hash label on its selector, labels and pods; named after it */
  const char *hash = json_str(json_object_get(md(v2), "labels"), "pod-template-hash");
  cr_assert_not_null(hash);
  cr_assert_eq(strspn(hash, "bcdfghjklmnpqrstvwxz2456789"), strlen(hash));
  char *name = xasprintf("web-%s", hash);
  cr_assert_str_eq(json_str(md(v2), "name"), name);
  free(name);
  json_t *spec = json_object_get(v2, "spec");
  cr_assert_str_eq(json_str(json_object_get(json_object_get(spec, "selector"), "matchLabels"),
                            "pod-template-hash"),
                   hash);
  cr_assert_str_eq(json_str(json_object_get(md(json_object_get(spec, "template")), "labels"),
                            "pod-template-hash"),
                   hash);
  cr_assert_str_eq(json_str(ctrl_controller_ref(v2), "kind"), "Deployment");
  cr_assert_str_eq(json_str(ctrl_controller_ref(v2), "uid"), json_str(md(dep(&h)), "uid"));

  /* events as Kubernetes words them */
  bool up = false, down = false;
  json_t *ev;
  size_t i;
  char *up_msg = xasprintf("Scaled up replica set %s to 10", json_str(md(v2), "name"));
  char *down_msg = xasprintf("Scaled down replica set %s to 0", json_str(md(v1), "name"));
  json_array_foreach(h.events, i, ev)
  {
    if (!strcmp(json_str(ev, "reason"), "ScalingReplicaSet")) {
      cr_assert_str_eq(json_str(ev, "name"), "web");
      up |= !strcmp(json_str(ev, "message"), up_msg);
      down |= !strcmp(json_str(ev, "message"), down_msg);
    }
  }
  free(up_msg);
  free(down_msg);
  cr_assert(up && down);

  /* settled: a sync does nothing */
  step(&h, NULL, NULL, NULL);
  ctrl_h_sync(&h, "deployment", "default", "web");
  cr_assert_eq(h.out.n, 0);
  ctrl_h_free(&h);
}

Test(ctrl_deploy, template_hash_ignores_replicas)
{
  ctrl_h h;
  start(&h, 2, ROLLING("1", "0"), "");
  const char *name = json_str(md(rs_for(&h, "v1")), "name");
  char *before = xstrdup(name);
  edit(&h, "replicas", json_integer(4));
  cr_assert_gt(settle(&h, NULL, NULL, NULL, 10), 0);
  json_t *all = ctrl_cache_list(h.cache, "replicasets", "default");
  cr_assert_eq(json_array_size(all), 1, "scaling makes no new set");
  json_decref(all);
  cr_assert_str_eq(json_str(md(rs_for(&h, "v1")), "name"), before);
  cr_assert_eq(rs_size(rs_for(&h, "v1")), 4);
  cr_assert_str_eq(ann(rs_for(&h, "v1"), "deployment.kubernetes.io/desired-replicas"), "4");

  /* kubectl rollout restart: a template annotation, a new set */
  json_t *d = json_deep_copy(dep(&h));
  json_object_set_new(md(json_object_get(json_object_get(d, "spec"), "template")), "annotations",
                      json_pack("{s:s}", "kubectl.kubernetes.io/restartedAt", "2026-01-01"));
  ctrl_h_put(&h, "deployments", d);
  cr_assert_gt(settle(&h, NULL, NULL, NULL, 20), 0);
  all = ctrl_cache_list(h.cache, "replicasets", "default");
  cr_assert_eq(json_array_size(all), 2);
  json_t *rs;
  size_t i;
  json_array_foreach(all, i, rs)
  {
    if (!strcmp(json_str(md(rs), "name"), before))
      cr_assert_eq(rs_size(rs), 0);
    else
      cr_assert_str_eq(ann(rs, "deployment.kubernetes.io/revision"), "2");
  }
  json_decref(all);
  free(before);
  ctrl_h_free(&h);
}

/* ---- recreate ------------------------------------------------------------------ */

static void check_never_both(ctrl_h *h, void *arg)
{
  (void)arg;
  cr_assert(pods(h, "v1", false) == 0 || pods(h, "v2", false) == 0,
            "old and new pods at once: %lld v1, %lld v2", (long long)pods(h, "v1", false),
            (long long)pods(h, "v2", false));
}

Test(ctrl_deploy, recreate_removes_old_pods_first)
{
  ctrl_h h;
  start(&h, 3, "{\"type\":\"Recreate\"}", "");
  cr_assert_eq(pods(&h, "v1", true), 3);

  edit(&h, "image", json_string("v2"));
  ctrl_h_sync(&h, "deployment", "default", "web");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "replicasets"), 0, "no new set before old pods go");
  cr_assert_eq(ctrl_h_count(&h, CTRL_UPDATE, "replicasets"), 1);
  cr_assert_eq(rs_size(ctrl_h_action(&h, CTRL_UPDATE, "replicasets", 0)->obj), 0);
  ctrl_h_apply(&h);

  /* a pod still terminating keeps the new set away */
  json_t *owned = ctrl_cache_owned(h.cache, "pods", json_str(md(rs_for(&h, "v1")), "uid"));
  json_t *term = json_deep_copy(json_array_get(owned, 0));
  json_decref(owned);
  json_object_set_new(md(term), "deletionTimestamp", json_string("2026-01-01T00:00:00Z"));
  char *term_name = xstrdup(json_str(md(term), "name"));
  /* term is stolen: the cache drops it at its next trim */
  ctrl_h_put(&h, "pods", term);
  sync_sets(&h); /* deletes the other two */
  sync_sets(&h); /* reports 0 active */
  cr_assert_eq(json_int(json_object_get(rs_for(&h, "v1"), "status"), "replicas", -1), 0);
  sync_deploy(&h);
  cr_assert_null(rs_for(&h, "v2"), "a terminating pod is still running");
  cr_assert_str_eq(json_str(dcond(&h, "Available"), "status"), "False");

  json_decref(ctrl_cache_remove(h.cache, "pods", "default", term_name));
  free(term_name);
  cr_assert_gt(settle(&h, NULL, check_never_both, NULL, 10), 0);
  cr_assert_eq(rs_size(rs_for(&h, "v1")), 0);
  cr_assert_eq(rs_size(rs_for(&h, "v2")), 3);
  cr_assert_str_eq(ann(rs_for(&h, "v2"), "deployment.kubernetes.io/revision"), "2");
  /* the whole way again, checked at every step */
  edit(&h, "image", json_string("v1"));
  cr_assert_gt(settle(&h, NULL, NULL, NULL, 10), 0);
  ctrl_h_free(&h);
}

/* ---- pause, rollback, history ---------------------------------------------------- */

Test(ctrl_deploy, pause_stops_rollout_but_not_scaling)
{
  ctrl_h h;
  start(&h, 3, ROLLING("1", "0"), "");
  edit(&h, "paused", json_true());
  sync_deploy(&h);
  json_t *c = dcond(&h, "Progressing");
  cr_assert_str_eq(json_str(c, "status"), "Unknown");
  cr_assert_str_eq(json_str(c, "reason"), "DeploymentPaused");
  cr_assert_str_eq(json_str(c, "message"), "Deployment is paused");
  cr_assert_not_null(json_str(c, "lastUpdateTime"));

  edit(&h, "image", json_string("v2"));
  for (int i = 0; i < 3; i++)
    step(&h, NULL, NULL, NULL);
  cr_assert_null(rs_for(&h, "v2"), "paused: no rollout");
  cr_assert_eq(pods(&h, "v1", true), 3);
  cr_assert_eq(json_int(dstatus(&h), "observedGeneration", 0),
               json_int(md(dep(&h)), "generation", -1));
  cr_assert_eq(json_int(dstatus(&h), "updatedReplicas", 0), 0);
  cr_assert_eq(rollout_status(&h), 0);

  /* scaling still happens */
  edit(&h, "replicas", json_integer(5));
  sync_deploy(&h);
  cr_assert_eq(rs_size(rs_for(&h, "v1")), 5);
  json_t *last = json_array_get(h.events, json_array_size(h.events) - 1);
  char *msg = xasprintf("Scaled up replica set %s to 5", json_str(md(rs_for(&h, "v1")), "name"));
  cr_assert_str_eq(json_str(last, "message"), msg);
  free(msg);
  step(&h, NULL, NULL, NULL);
  cr_assert_eq(pods(&h, "v1", true), 5);
  sync_deploy(&h); /* the sets' new status */
  cr_assert_eq(json_int(dstatus(&h), "availableReplicas", 0), 5);

  edit(&h, "paused", json_false());
  sync_deploy(&h);
  cr_assert_not_null(rs_for(&h, "v2"), "resumed: the rollout starts");
  cr_assert_str_eq(json_str(dcond(&h, "Progressing"), "status"), "True");
  cr_assert_str_eq(json_str(dcond(&h, "Progressing"), "reason"), "NewReplicaSetCreated");
  cr_assert_gt(settle(&h, NULL, NULL, NULL, 20), 0);
  cr_assert_eq(pods(&h, "v2", true), 5);
  ctrl_h_free(&h);
}

Test(ctrl_deploy, rollback_reuses_old_set)
{
  ctrl_h h;
  start(&h, 4, ROLLING("1", "1"), "");
  char *v1name = xstrdup(json_str(md(rs_for(&h, "v1")), "name"));
  edit(&h, "image", json_string("v2"));
  cr_assert_gt(settle(&h, NULL, NULL, NULL, 20), 0);

  /* kubectl rollout undo: the template back as it was */
  edit(&h, "image", json_string("v1"));
  ctrl_h_sync(&h, "deployment", "default", "web");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "replicasets"), 0);
  ctrl_h_apply(&h);
  json_t *v1 = rs_for(&h, "v1");
  cr_assert_str_eq(json_str(md(v1), "name"), v1name);
  cr_assert_str_eq(ann(v1, "deployment.kubernetes.io/revision"), "3");
  cr_assert_str_eq(ann(v1, "deployment.kubernetes.io/revision-history"), "1");
  cr_assert_str_eq(ann(dep(&h), "deployment.kubernetes.io/revision"), "3");

  struct bounds b = { .min_available = 3, .max_total = 5 };
  cr_assert_gt(settle(&h, NULL, check_bounds, &b, 20), 0);
  cr_assert_eq(rs_size(rs_for(&h, "v1")), 4);
  cr_assert_eq(rs_size(rs_for(&h, "v2")), 0);
  json_t *all = ctrl_cache_list(h.cache, "replicasets", "default");
  cr_assert_eq(json_array_size(all), 2);
  json_decref(all);
  free(v1name);
  ctrl_h_free(&h);
}

Test(ctrl_deploy, revision_history_limit)
{
  ctrl_h h;
  start(&h, 2, ROLLING("1", "0"), ",\"revisionHistoryLimit\":1");
  const char *images[] = { "v2", "v3", "v4" };
  for (size_t i = 0; i < 3; i++) {
    h.now += 10 * S;
    edit(&h, "image", json_string(images[i]));
    cr_assert_gt(settle(&h, NULL, NULL, NULL, 20), 0);
    step(&h, NULL, NULL, NULL); /* complete: the next sync cleans up */
  }
  cr_assert_null(rs_for(&h, "v1"));
  cr_assert_null(rs_for(&h, "v2"));
  cr_assert_eq(rs_size(rs_for(&h, "v3")), 0, "one old set kept");
  cr_assert_eq(rs_size(rs_for(&h, "v4")), 2);
  cr_assert_str_eq(ann(rs_for(&h, "v4"), "deployment.kubernetes.io/revision"), "4");
  ctrl_h_free(&h);
}

/* ---- progress ------------------------------------------------------------------ */

Test(ctrl_deploy, progress_deadline_exceeded)
{
  ctrl_h h;
  start(&h, 4, ROLLING("\"25%\"", "\"25%\""), ",\"progressDeadlineSeconds\":60");
  h.now += 100 * S;
  edit(&h, "image", json_string("broken"));
  ctrl_h_sync(&h, "deployment", "default", "web");
  cr_assert_geq(h.requeue_ns, 60 * S, "look again after the deadline");
  cr_assert_leq(h.requeue_ns, 62 * S);
  ctrl_h_apply(&h);
  cr_assert_str_eq(json_str(dcond(&h, "Progressing"), "reason"), "NewReplicaSetCreated");
  for (int i = 0; i < 5; i++)
    step(&h, "broken", NULL, NULL);
  json_t *c = dcond(&h, "Progressing");
  cr_assert_str_eq(json_str(c, "status"), "True");
  cr_assert_str_eq(json_str(c, "reason"), "ReplicaSetUpdated");
  cr_assert_eq(rollout_status(&h), 0);
  /* the old pods keep the minimum available */
  cr_assert_str_eq(json_str(dcond(&h, "Available"), "status"), "True");
  cr_assert_eq(pods(&h, "v1", true), 3);
  cr_assert_eq(pods(&h, "broken", false), 2);

  h.now += 61 * S;
  ctrl_h_sync(&h, "deployment", "default", "web");
  cr_assert_eq(ctrl_h_count(&h, CTRL_UPDATE_STATUS, "deployments"), 1);
  ctrl_h_apply(&h);
  c = dcond(&h, "Progressing");
  cr_assert_str_eq(json_str(c, "status"), "False");
  cr_assert_str_eq(json_str(c, "reason"), "ProgressDeadlineExceeded");
  char *msg = xasprintf("ReplicaSet \"%s\" has timed out progressing.",
                        json_str(md(rs_for(&h, "broken")), "name"));
  cr_assert_str_eq(json_str(c, "message"), msg);
  free(msg);
  cr_assert_eq(rollout_status(&h), -1);
  ctrl_h_sync(&h, "deployment", "default", "web");
  cr_assert_eq(h.out.n, 0);
  cr_assert_eq(h.requeue_ns, 0);

  /* a fixed template progresses again */
  edit(&h, "image", json_string("v3"));
  cr_assert_gt(settle(&h, NULL, NULL, NULL, 20), 0);
  cr_assert_str_eq(json_str(dcond(&h, "Progressing"), "reason"), "NewReplicaSetAvailable");
  ctrl_h_free(&h);
}

Test(ctrl_deploy, proportional_scaling_mid_rollout)
{
  /* Kubernetes' documented example: 10 replicas, maxSurge 3, maxUnavailable
   * 2, a rollout stuck on a broken image, then scaled to 15: the 5 extra
   * go 3 to the old set (8 → 11) and 2 to the new one (5 → 7). */
  ctrl_h h;
  start(&h, 10, ROLLING("3", "2"), "");
  h.now += 10 * S;
  edit(&h, "image", json_string("broken"));
  for (int i = 0; i < 5; i++)
    step(&h, "broken", NULL, NULL);
  json_t *old = rs_for(&h, "v1"), *new = rs_for(&h, "broken");
  cr_assert_eq(rs_size(old), 8);
  cr_assert_eq(rs_size(new), 5);
  cr_assert_str_eq(ann(new, "deployment.kubernetes.io/max-replicas"), "13");

  edit(&h, "replicas", json_integer(15));
  sync_deploy(&h);
  old = rs_for(&h, "v1");
  new = rs_for(&h, "broken");
  cr_assert_eq(rs_size(old), 11);
  cr_assert_eq(rs_size(new), 7);
  cr_assert_str_eq(ann(old, "deployment.kubernetes.io/desired-replicas"), "15");
  cr_assert_str_eq(ann(new, "deployment.kubernetes.io/max-replicas"), "18");

  /* and down to 5: allowed 5+2 (25%… no: maxSurge 3) = 8 over 18 */
  edit(&h, "replicas", json_integer(5));
  sync_deploy(&h);
  old = rs_for(&h, "v1");
  new = rs_for(&h, "broken");
  cr_assert_eq(rs_size(old) + rs_size(new), 8);
  cr_assert_gt(rs_size(old), rs_size(new));

  /* fixed: the rollout completes at the new size */
  edit(&h, "image", json_string("v3"));
  cr_assert_gt(settle(&h, NULL, NULL, NULL, 30), 0);
  cr_assert_eq(pods(&h, "v3", true), 5);
  ctrl_h_free(&h);
}

Test(ctrl_deploy, min_ready_seconds)
{
  ctrl_h h;
  ctrl_h_init(&h);
  ctrl_h_put(&h, "deployments", deploy_json(2, "v1", ROLLING("1", "0"), ",\"minReadySeconds\":10"));
  sync_deploy(&h);
  cr_assert_eq(json_int(json_object_get(rs_for(&h, "v1"), "spec"), "minReadySeconds", -1), 10);
  step(&h, NULL, NULL, NULL);
  sync_deploy(&h);
  cr_assert_eq(pods(&h, "v1", true), 2);
  cr_assert_eq(json_int(dstatus(&h), "readyReplicas", 0), 2);
  cr_assert_eq(json_int(dstatus(&h), "availableReplicas", 0), 0, "ready, not for 10 s yet");
  cr_assert_eq(json_int(dstatus(&h), "unavailableReplicas", 0), 2);
  cr_assert_str_eq(json_str(dcond(&h, "Available"), "reason"), "MinimumReplicasUnavailable");
  cr_assert_eq(rollout_status(&h), 0);
  /* the set asks to be synced when they become available */
  json_t *rs = rs_for(&h, "v1");
  ctrl_h_sync(&h, "replicaset", "default", json_str(md(rs), "name"));
  cr_assert_eq(h.requeue_ns, 10 * S);
  h.now += 10 * S;
  sync_sets(&h);
  sync_deploy(&h);
  cr_assert_eq(json_int(dstatus(&h), "availableReplicas", 0), 2);
  cr_assert_eq(rollout_status(&h), 1);
  ctrl_h_free(&h);
}

Test(ctrl_deploy, being_deleted_only_reports)
{
  ctrl_h h;
  start(&h, 2, ROLLING("1", "0"), "");
  json_t *d = json_deep_copy(dep(&h));
  json_object_set_new(md(d), "deletionTimestamp", json_string("2026-01-01T00:01:00Z"));
  json_object_set_new(json_object_get(d, "spec"), "replicas", json_integer(5));
  ctrl_h_put(&h, "deployments", d);
  ctrl_h_sync(&h, "deployment", "default", "web");
  cr_assert_eq(ctrl_h_count(&h, CTRL_UPDATE, "replicasets"), 0);
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, NULL), 0);
  cr_assert_eq(ctrl_h_count(&h, CTRL_UPDATE_STATUS, "deployments"), 1, "observedGeneration");
  ctrl_h_apply(&h);
  cr_assert_eq(json_int(dstatus(&h), "observedGeneration", 0), 2);
  cr_assert_str_eq(json_str(dcond(&h, "Available"), "reason"), "MinimumReplicasUnavailable");
  ctrl_h_free(&h);
}

/* ---- bad input ------------------------------------------------------------------ */

Test(ctrl_deploy, hostile_objects_do_nothing)
{
  static const char *bad[] = {
    /* no selector */
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,"
    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}}}}}",
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,"
    "\"selector\":{},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}}}}}",
    /* garbage templates */
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,"
    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":\"garbage\"}}",
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,"
    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":7}}}",
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,"
    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":"
    "{\"app\":\"db\"}}}}}",
    /* bad numbers and strategies */
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":1e3,"
    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":"
    "{\"app\":\"web\"}}}}}",
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,"
    "\"strategy\":{\"type\":\"Sideways\"},\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}}}}}",
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,"
    "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":\"lots\"}},\"selector\":{\"matchLabels\":"
    "{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}}}}}",
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,"
    "\"strategy\":{\"rollingUpdate\":{\"maxUnavailable\":-3}},\"selector\":{\"matchLabels\":"
    "{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}}}}}",
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,"
    "\"strategy\":\"fast\",\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{"
    "\"metadata\":{\"labels\":{\"app\":\"web\"}}}}}",
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,"
    "\"paused\":\"yes\",\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{"
    "\"metadata\":{\"labels\":{\"app\":\"web\"}}}}}",
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":[]}",
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"}}",
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    ctrl_h h;
    ctrl_h_init(&h);
    ctrl_h_put(&h, "replicasets",
               J("{\"metadata\":{\"name\":\"orphan\",\"namespace\":\"default\",\"labels\":{"
                 "\"app\":\"web\"}},\"spec\":{\"replicas\":1}}"));
    ctrl_h_put(&h, "deployments", J(bad[i]));
    ctrl_h_sync(&h, "deployment", "default", "web");
    cr_assert_eq(h.out.n, 0, "case %zu: %zu actions", i, h.out.n);
    size_t self = ctrl_h_def("deployment");
    ctrl_keys_t keys = { 0 };
    ctrl_ctx_t x = { .cache = h.cache, .cfg = &h.cfg, .now = h.now, .out = &h.out };
    ctrl_defs[self].keys(&x, self, "replicasets", NULL,
                         ctrl_cache_get(h.cache, "replicasets", "default", "orphan"), &keys);
    ctrl_keys_clear(&keys);
    ctrl_h_free(&h);
  }

  /* garbage inside sets it owns and in its status: no crash */
  ctrl_h h;
  ctrl_h_init(&h);
  json_t *d = ctrl_h_put(&h, "deployments", deploy_json(2, "v1", ROLLING("1", "0"), ""));
  json_t *rs = J("{\"metadata\":{\"name\":\"junk\",\"namespace\":\"default\",\"labels\":{"
                 "\"app\":\"web\"},\"annotations\":{\"deployment.kubernetes.io/revision\":\"x\","
                 "\"deployment.kubernetes.io/max-replicas\":\"0\"}},\"spec\":{\"replicas\":3,"
                 "\"template\":[]},\"status\":{\"availableReplicas\":\"many\"}}");
  json_object_set_new(md(rs), "ownerReferences",
                      json_pack("[o]", ctrl_owner_ref(d, "apps/v1", "Deployment")));
  ctrl_h_put(&h, "replicasets", rs);
  json_t *dc = json_deep_copy(d);
  json_object_set_new(dc, "status", J("{\"conditions\":7,\"collisionCount\":\"x\"}"));
  ctrl_h_put(&h, "deployments", dc);
  for (int i = 0; i < 5; i++)
    step(&h, NULL, NULL, NULL);
  edit(&h, "replicas", json_integer(6));
  for (int i = 0; i < 5; i++)
    step(&h, NULL, NULL, NULL);
  cr_assert_eq(pods(&h, "v1", true), 6);
  ctrl_h_sync(&h, "deployment", "default", "web");
  cr_assert_eq(h.out.n, 0, "settled, junk and all");
  ctrl_h_free(&h);
}

Test(ctrl_deploy, keys)
{
  ctrl_h h;
  start(&h, 1, "{\"type\":\"Recreate\"}", "");
  size_t self = ctrl_h_def("deployment");
  ctrl_ctx_t x = { .cache = h.cache, .cfg = &h.cfg, .now = h.now, .out = &h.out };
  ctrl_keys_t keys = { 0 };
  json_t *rs = rs_for(&h, "v1");
  ctrl_defs[self].keys(&x, self, "apps/replicasets", rs, rs, &keys);
  cr_assert_eq(keys.n, 1);
  cr_assert_str_eq(keys.v[0].name, "web");
  ctrl_keys_clear(&keys);

  /* a pod of a Recreate Deployment's set going away */
  json_t *owned = ctrl_cache_owned(h.cache, "pods", json_str(md(rs), "uid"));
  ctrl_defs[self].keys(&x, self, "pods", json_array_get(owned, 0), NULL, &keys);
  json_decref(owned);
  cr_assert_eq(keys.n, 1);
  ctrl_keys_clear(&keys);

  /* an orphan set that the selector matches */
  json_t *orphan = ctrl_h_put(&h, "replicasets",
                              J("{\"metadata\":{\"name\":\"o\",\"namespace\":\"default\","
                                "\"labels\":{\"app\":\"web\"}}}"));
  ctrl_defs[self].keys(&x, self, "replicasets", NULL, orphan, &keys);
  ctrl_defs[self].keys(&x, self, "deployments", NULL, dep(&h), &keys);
  cr_assert_eq(keys.n, 1);
  ctrl_keys_clear(&keys);

  /* and it is adopted, then scaled away: the Deployment's one set is v1 */
  step(&h, NULL, NULL, NULL);
  json_t *o = ctrl_cache_get(h.cache, "replicasets", "default", "o");
  cr_assert_str_eq(json_str(ctrl_controller_ref(o), "uid"), json_str(md(dep(&h)), "uid"));
  ctrl_h_free(&h);
}
