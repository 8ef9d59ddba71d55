/* replicaset.c — the ReplicaSet controller (apps/v1): keeps spec.replicas
 * active pods from the template, and reports how many there are, how many
 * are ready and how many available.
 *
 * Kubernetes' semantics, sync by sync: the active pods the set controls
 * (after adopting matching orphans and releasing pods whose labels no
 * longer match) are counted; too few → create the difference, too many →
 * delete the surplus, the pods that matter least first (unscheduled,
 * pending, not ready, cheaper by pod-deletion-cost, doubled up on a node,
 * ready more recently, restarted more, newer). Kubernetes also needs
 * "expectations" so that a sync does not act again before the watch shows
 * its own creates; berth's manager puts every write's answer into the cache
 * before the next sync, so the cache is always the truth here.
 *
 * Pods are created with a name chosen here (generateName's rule: "<rs>-"
 * and five random characters) so that the "Created pod: NAME" event can
 * name them; generateName is kept in the object as Kubernetes' pods have it. */
#include "ctrl/ctrl.h"

#include <stdlib.h>
#include <string.h>

/* At most this many creates or deletes per sync (Kubernetes' burstReplicas);
 * the rest on the next sync. */
#define RS_BURST 500

/* ---- which pods go first ----------------------------------------------------- */

typedef struct rs_pod {
  json_t *pod;
  const char *name;
  bool assigned, ready;
  int phase;           /* Pending (and unknown phases) 0, Unknown 1, Running 2 */
  int64_t ready_since; /* 0: unknown */
  int64_t cost;        /* controller.kubernetes.io/pod-deletion-cost */
  int64_t colocated;   /* related pods on the same node */
  int64_t restarts;    /* the most restarts of one container */
  int64_t created;     /* 0: unknown */
} rs_pod_t;

static int phase_ordinal(const char *phase)
{
  if (phase && !strcmp(phase, "Running"))
    return 2;
  if (phase && !strcmp(phase, "Unknown"))
    return 1;
  return 0;
}

static int64_t max_restarts(json_t *pod)
{
  json_t *cs = json_object_get(json_object_get(pod, "status"), "containerStatuses"), *c;
  int64_t n = 0;
  size_t i;
  json_array_foreach(cs, i, c)
  {
    int64_t r = json_int(c, "restartCount", 0);
    if (r > n)
      n = r;
  }
  return n;
}

static int64_t deletion_cost(json_t *pod)
{
  const char *s = json_str(json_object_get(json_object_get(pod, "metadata"), "annotations"),
                           "controller.kubernetes.io/pod-deletion-cost");
  int64_t v;
  berr_t err = BERR_INIT;
  if (!s || parse_int64(s, &v, &err) < 0 || v < INT32_MIN || v > INT32_MAX) {
    berr_clear(&err);
    return 0;
  }
  return v;
}

/* Kubernetes' "afterOrZero": a missing time first, then the later one. */
static int after_or_zero(int64_t a, int64_t b)
{
  if (a == b)
    return 0;
  if (!a || !b)
    return !a ? -1 : 1;
  return a > b ? -1 : 1;
}

/* < 0 when a should be deleted before b. */
static int rs_pod_cmp(const void *pa, const void *pb)
{
  const rs_pod_t *a = pa, *b = pb;
  if (a->assigned != b->assigned)
    return a->assigned ? 1 : -1;
  if (a->phase != b->phase)
    return a->phase < b->phase ? -1 : 1;
  if (a->ready != b->ready)
    return a->ready ? 1 : -1;
  if (a->cost != b->cost)
    return a->cost < b->cost ? -1 : 1;
  if (a->colocated != b->colocated)
    return a->colocated > b->colocated ? -1 : 1;
  int c;
  if (a->ready && (c = after_or_zero(a->ready_since, b->ready_since)))
    return c;
  if (a->restarts != b->restarts)
    return a->restarts > b->restarts ? -1 : 1;
  if ((c = after_or_zero(a->created, b->created)))
    return c;
  return strcmp(a->name, b->name);
}

static const char *node_of(json_t *pod)
{
  const char *n = json_str(json_object_get(pod, "spec"), "nodeName");
  return n && *n ? n : NULL;
}

/* Active pods per node among the set's relatives: the pods of every set
 * with the same controller (a Deployment's old and new sets), or its own. */
static json_t *pods_per_node(ctrl_ctx_t *x, json_t *rs, json_t *own)
{
  json_t *counts = json_object();
  json_t *ref = ctrl_controller_ref(rs);
  cleanup_json json_t *sets
      = ref ? ctrl_cache_owned(x->cache, "replicasets", json_str(ref, "uid")) : json_array();
  if (json_array_size(sets) == 0)
    json_array_append(sets, rs);
  size_t i, j;
  json_t *s, *p;
  json_array_foreach(sets, i, s)
  {
    const char *uid = json_str(json_object_get(s, "metadata"), "uid");
    cleanup_json json_t *pods
        = s == rs ? json_incref(own) : ctrl_cache_owned(x->cache, "pods", uid);
    json_array_foreach(pods, j, p)
    {
      const char *node = node_of(p);
      if (node && ctrl_pod_active(p))
        json_object_set_new(counts, node,
                            json_integer(json_integer_value(json_object_get(counts, node)) + 1));
    }
  }
  return counts;
}

/* Deletes n of the pods, the least valuable first (Kubernetes' order), and
 * takes them out of pods. */
static void delete_surplus(ctrl_ctx_t *x, json_t *rs, json_t *pods, size_t n)
{
  size_t total = json_array_size(pods);
  rs_pod_t *v = xcalloc(total, sizeof *v);
  cleanup_json json_t *per_node = pods_per_node(x, rs, pods);
  for (size_t i = 0; i < total; i++) {
    json_t *p = json_array_get(pods, i), *md = json_object_get(p, "metadata");
    rs_pod_t *r = &v[i];
    r->pod = p;
    r->name = json_str(md, "name") ?: "";
    r->assigned = node_of(p) != NULL;
    r->phase = phase_ordinal(json_str(json_object_get(p, "status"), "phase"));
    r->ready = ctrl_pod_ready(p, &r->ready_since);
    r->cost = deletion_cost(p);
    r->colocated = r->assigned ? json_integer_value(json_object_get(per_node, node_of(p))) : 0;
    r->restarts = max_restarts(p);
    r->created = ctrl_time_parse(json_str(md, "creationTimestamp"));
  }
  if (n < total)
    qsort(v, total, sizeof *v, rs_pod_cmp);
  cleanup_json json_t *doomed = json_object();
  for (size_t i = 0; i < n && i < total; i++) {
    json_t *md = json_object_get(v[i].pod, "metadata");
    ctrl_act_delete(x->out, "pods", json_str(md, "namespace"), v[i].name, json_str(md, "uid"), -1);
    ctrl_act_event(x->out, rs, "Normal", "SuccessfulDelete", "Deleted pod: %s", v[i].name);
    json_object_set_new(doomed, v[i].name, json_true());
  }
  free(v);
  /* The status written after this sync counts the pods that stay: a
   * deleted pod reported available a moment longer would let a Deployment
   * scale its old sets down below maxUnavailable. */
  for (size_t i = json_array_size(pods); i-- > 0;) {
    const char *pn = json_str(json_object_get(json_array_get(pods, i), "metadata"), "name");
    if (pn && json_object_get(doomed, pn))
      json_array_remove(pods, i);
  }
}

static void create_missing(ctrl_ctx_t *x, json_t *rs, json_t *tmpl, size_t n)
{
  const char *name = json_str(json_object_get(rs, "metadata"), "name");
  const char *ns = json_str(json_object_get(rs, "metadata"), "namespace") ?: "";
  cleanup_free char *prefix = xasprintf("%s-", name);
  cleanup_json json_t *taken = json_object();
  for (size_t i = 0; i < n; i++) {
    json_t *pod = ctrl_pod_from_template(tmpl, rs, "apps/v1", "ReplicaSet", prefix);
    char *pname = api_generate_name(prefix);
    /* 27^5 names: 600 at once collide one time in a hundred */
    while (json_object_get(taken, pname) || ctrl_cache_version(x->cache, "pods", ns, pname) >= 0) {
      free(pname);
      pname = api_generate_name(prefix);
    }
    json_object_set_new(taken, pname, json_true());
    json_object_set_new(json_object_get(pod, "metadata"), "name", json_string(pname));
    ctrl_act_create(x->out, "pods", pod);
    ctrl_act_event(x->out, rs, "Normal", "SuccessfulCreate", "Created pod: %s", pname);
    free(pname);
  }
}

/* ---- status ------------------------------------------------------------------ */

/* Whether every template label is on the pod with the same value. */
static bool fully_labeled(json_t *pod, json_t *tlabels)
{
  json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
  const char *k;
  json_t *v;
  json_object_foreach(tlabels, k, v)
  {
    if (!json_equal(json_object_get(labels, k), v))
      return false;
  }
  return true;
}

static void set_count(json_t *status, const char *key, int64_t n)
{
  if (n) /* omitempty, as Kubernetes writes it */
    json_object_set_new(status, key, json_integer(n));
}

static void update_status(ctrl_ctx_t *x, json_t *rs, json_t *pods, json_t *tmpl, int64_t min_ready)
{
  json_t *tlabels = json_object_get(json_object_get(tmpl, "metadata"), "labels");
  int64_t labeled = 0, ready = 0, available = 0, wait = 0;
  size_t i;
  json_t *p;
  json_array_foreach(pods, i, p)
  {
    int64_t since;
    labeled += fully_labeled(p, tlabels);
    if (!ctrl_pod_ready(p, &since))
      continue;
    ready++;
    if (ctrl_pod_available(p, min_ready, x->now)) {
      available++;
      continue;
    }
    /* ready, not yet for minReadySeconds: look again when it will be */
    int64_t left = since ? since + min_ready * 1000000000LL - x->now : min_ready * 1000000000LL;
    if (!wait || left < wait)
      wait = left;
  }
  if (wait)
    ctrl_requeue_after(x, wait);

  json_t *old = json_object_get(rs, "status");
  json_t *st = json_pack("{s:I}", "replicas", (json_int_t)json_array_size(pods));
  set_count(st, "fullyLabeledReplicas", labeled);
  set_count(st, "readyReplicas", ready);
  set_count(st, "availableReplicas", available);
  set_count(st, "observedGeneration", json_int(json_object_get(rs, "metadata"), "generation", 0));
  json_t *conds = json_object_get(old, "conditions");
  if (json_is_array(conds) && json_array_size(conds))
    json_object_set(st, "conditions", conds);
  if (json_equal(st, old)) {
    json_decref(st);
    return;
  }
  json_t *copy = json_deep_copy(rs);
  json_object_set_new(copy, "status", st);
  ctrl_act_update_status(x->out, "replicasets", copy);
}

/* ---- sync -------------------------------------------------------------------- */

void ctrl_rs_sync(ctrl_ctx_t *x, const char *ns, const char *name)
{
  json_t *rs = ctrl_cache_get(x->cache, "replicasets", ns, name);
  json_t *md = json_object_get(rs, "metadata");
  if (!rs || !json_str(md, "uid") || json_object_get(md, "deletionTimestamp"))
    return;
  json_t *spec = json_object_get(rs, "spec");
  json_t *tmpl = json_object_get(spec, "template");
  json_t *tlabels = json_object_get(json_object_get(tmpl, "metadata"), "labels");
  int64_t replicas, min_ready;
  if (!ctrl_count_field(spec, "replicas", 1, &replicas)
      || !ctrl_count_field(spec, "minReadySeconds", 0, &min_ready) || !json_is_object(tlabels))
    return;
  api_label_selector_t *sel = ctrl_spec_selector(rs);
  /* pods that the selector would not match would be created for ever */
  if (!sel || !api_label_selector_matches(sel, tlabels)) {
    api_label_selector_free(sel);
    return;
  }
  cleanup_json json_t *pods
      = ctrl_claim(x, "pods", rs, "apps/v1", "ReplicaSet", sel, ctrl_pod_active);
  api_label_selector_free(sel);

  int64_t have = (int64_t)json_array_size(pods);
  if (have < replicas) {
    int64_t n = replicas - have;
    if (n > RS_BURST) {
      n = RS_BURST;
      ctrl_requeue_after(x, 1);
    }
    create_missing(x, rs, tmpl, (size_t)n);
  } else if (have > replicas) {
    int64_t n = have - replicas;
    if (n > RS_BURST) {
      n = RS_BURST;
      ctrl_requeue_after(x, 1);
    }
    delete_surplus(x, rs, pods, (size_t)n);
  }
  update_status(x, rs, pods, tmpl, min_ready);
}

/* A set changed: itself. A pod changed: its set (before and after, should
 * it have changed hands), and, for an orphan, every set that may adopt it. */
void ctrl_rs_keys(ctrl_ctx_t *x, size_t self, const char *resource, json_t *old, json_t *obj,
                  ctrl_keys_t *out)
{
  resource = ctrl_resource_base(resource);
  if (!strcmp(resource, "replicasets")) {
    json_t *md = json_object_get(obj ? obj : old, "metadata");
    ctrl_keys_add_once(out, self, json_str(md, "namespace"), json_str(md, "name"));
    return;
  }
  if (strcmp(resource, "pods"))
    return;
  if (old)
    ctrl_keys_controller(out, self, old, "ReplicaSet");
  if (obj) {
    ctrl_keys_controller(out, self, obj, "ReplicaSet");
    if (!ctrl_controller_ref(obj) && ctrl_pod_active(obj))
      ctrl_keys_selecting(x, out, self, "replicasets", obj);
  }
}
