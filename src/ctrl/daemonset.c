/* daemonset.c — the DaemonSet controller (apps/v1): one pod on every node
 * that the pod template fits, rolled to a new template a few nodes at a
 * time.
 *
 * A node fits when it matches the template's nodeSelector and required
 * node affinity, is not being deleted, and its NoSchedule and NoExecute
 * taints are tolerated — by the template's tolerations plus the ones every
 * daemon pod gets (not-ready and unreachable NoExecute; disk, memory and
 * PID pressure and unschedulable NoSchedule), so a daemon survives its
 * node's trouble. A node whose NoSchedule taints alone are not tolerated
 * keeps the pod it has but gets no new one (Kubernetes' shouldRun /
 * shouldContinueRunning). Pods are placed by the scheduler through a
 * required node affinity on metadata.name, as Kubernetes does since 1.12.
 *
 * Pods carry controller-revision-hash, a hash of the template: a pod with
 * another hash is old. RollingUpdate replaces old pods — unavailable ones
 * at once (deleted, and the new one created in the same sync). Available
 * ones, with maxSurge 0 (the default): deleted and replaced only while
 * fewer than maxUnavailable daemon pods are unavailable (missing, not yet
 * available, or being replaced). With maxSurge (maxUnavailable is then 0):
 * the new pod starts beside the old one on at most maxSurge nodes at a
 * time, and the old one goes once the new one is available, so the node
 * never lacks an available daemon. OnDelete leaves old pods until someone
 * deletes them.
 *
 * A Failed daemon pod is deleted (Warning FailedDaemonPod) and replaced
 * after Kubernetes' back-off per (DaemonSet, generation, node): at once
 * the first time, then 1 s, 2 s, 4 s … up to 15 minutes after the previous
 * replacement, so a daemon that its node keeps failing (rejected, evicted)
 * is not recreated in a hot loop. As in Kubernetes, the failed pod stays
 * (with its reason, for whoever looks) until its wait ends, the sync being
 * requeued for then; it is then deleted and replaced in the same sync. A
 * node whose daemon has not failed for 30 minutes after its last
 * replacement starts over, and so does a changed spec.
 * The back-off is the controller's one memory outside the cache
 * (x->ds_backoff), in memory as Kubernetes' is: a restarted server
 * replaces at once. Each sync drops its DaemonSet's entries for gone nodes
 * and older generations, and all of them once the DaemonSet is gone.
 * A Succeeded pod is deleted and replaced at once (Normal
 * SucceededDaemonPod). */
#include "ctrl/ctrl.h"

#include <stdlib.h>
#include <string.h>

#define NS_PER_S   1000000000LL
#define HASH_LABEL "controller-revision-hash"
#define GEN_LABEL  "pod-template-generation"

typedef struct ds_node {
  json_t *node;
  const char *name;
  bool run;      /* a daemon pod should run here */
  bool keep;     /* a daemon pod that runs here may stay */
  json_t *pods;  /* its daemon pods not being deleted, oldest first */
  json_t *kept;  /* the running one left after manage(), or NULL */
  json_t *surge; /* a current pod beside an old kept one (maxSurge), or NULL */
  bool failed;   /* a Failed pod stays until its back-off ends */
} ds_node_t;

typedef struct ds {
  ctrl_ctx_t *x;
  json_t *obj, *spec, *tmpl;
  const char *ns, *name, *uid;
  int64_t generation;
  char hash[16];
  int64_t min_ready_s;
  bool surging;        /* RollingUpdate with maxSurge > 0 */
  json_t *tolerations; /* the template's plus the daemon ones */
  ds_node_t *nodes;
  size_t nnodes;
} ds_t;

/* The tolerations every daemon pod gets: {key, effect}. */
static const char *const daemon_tolerations[][2] = {
  { "node.kubernetes.io/not-ready", "NoExecute" },
  { "node.kubernetes.io/unreachable", "NoExecute" },
  { "node.kubernetes.io/disk-pressure", "NoSchedule" },
  { "node.kubernetes.io/memory-pressure", "NoSchedule" },
  { "node.kubernetes.io/pid-pressure", "NoSchedule" },
  { "node.kubernetes.io/unschedulable", "NoSchedule" },
};

/* ---- the template ------------------------------------------------------------------ */

/* Kubernetes' shape of a revision hash: FNV-1a (32 bits) of the template,
 * its decimal digits mapped onto the alphabet of generated names. */
static void template_hash(json_t *tmpl, char out[16])
{
  cleanup_free char *s = json_dumps(tmpl, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  uint32_t h = 2166136261u;
  for (const char *p = s ? s : ""; *p; p++) {
    h ^= (unsigned char)*p;
    h *= 16777619u;
  }
  static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  char digits[16];
  snprintf(digits, sizeof digits, "%u", h);
  size_t i;
  for (i = 0; digits[i]; i++)
    out[i] = alphabet[(unsigned char)digits[i] % (sizeof alphabet - 1)];
  out[i] = '\0';
}

/* tols (an array) with the daemon tolerations: a toleration of the same
 * key, operator Exists and effect is replaced. */
static void add_daemon_tolerations(json_t *tols, bool host_network)
{
  size_t n = ARRAY_SIZE(daemon_tolerations) + (host_network ? 1 : 0);
  for (size_t k = 0; k < n; k++) {
    const char *key = k < ARRAY_SIZE(daemon_tolerations) ? daemon_tolerations[k][0]
                                                         : "node.kubernetes.io/network-unavailable";
    const char *eff = k < ARRAY_SIZE(daemon_tolerations) ? daemon_tolerations[k][1] : "NoSchedule";
    json_t *want = json_pack("{s:s,s:s,s:s}", "key", key, "operator", "Exists", "effect", eff);
    json_t *t;
    size_t i, at = (size_t)-1;
    json_array_foreach(tols, i, t)
    {
      if (!strcmp(json_str(t, "key") ?: "", key) && !strcmp(json_str(t, "operator") ?: "", "Exists")
          && !strcmp(json_str(t, "effect") ?: "", eff) && !json_str(t, "value"))
        at = i;
    }
    if (at != (size_t)-1)
      json_array_set_new(tols, at, want);
    else
      json_array_append_new(tols, want);
  }
}

/* The node a daemon pod is for: its nodeName, else the metadata.name of
 * its required node affinity. */
static const char *target_node(json_t *pod)
{
  json_t *spec = json_object_get(pod, "spec");
  const char *n = json_str(spec, "nodeName");
  if (n && *n)
    return n;
  json_t *terms = json_object_get(
             json_object_get(json_object_get(json_object_get(spec, "affinity"), "nodeAffinity"),
                             "requiredDuringSchedulingIgnoredDuringExecution"),
             "nodeSelectorTerms"),
         *t;
  size_t i, k;
  json_array_foreach(terms, i, t)
  {
    json_t *f;
    json_array_foreach(json_object_get(t, "matchFields"), k, f)
    {
      json_t *vals = json_object_get(f, "values");
      if (!strcmp(json_str(f, "key") ?: "", "metadata.name")
          && !strcmp(json_str(f, "operator") ?: "", "In") && json_array_size(vals) == 1)
        return json_string_value(json_array_get(vals, 0));
    }
  }
  return NULL;
}

/* ---- actions ----------------------------------------------------------------------- */

static void create_pod(ds_t *d, const char *node)
{
  cleanup_free char *prefix = xasprintf("%.*s-", API_GENERATE_BASE_MAX - 1, d->name);
  json_t *pod = ctrl_pod_from_template(d->tmpl, d->obj, "apps/v1", "DaemonSet", prefix);
  json_t *md = json_object_get(pod, "metadata");
  cleanup_free char *name = api_generate_name(prefix);
  json_object_set_new(md, "name", json_string(name));
  json_t *labels = json_object_get(md, "labels");
  if (!json_is_object(labels)) {
    labels = json_object();
    json_object_set_new(md, "labels", labels);
  }
  json_object_set_new(labels, HASH_LABEL, json_string(d->hash));
  char gen[24];
  snprintf(gen, sizeof gen, "%lld", (long long)d->generation);
  json_object_set_new(labels, GEN_LABEL, json_string(gen));
  json_t *spec = json_object_get(pod, "spec");
  if (json_is_object(spec)) {
    json_t *tols = json_object_get(spec, "tolerations");
    if (!json_is_array(tols)) {
      tols = json_array();
      json_object_set_new(spec, "tolerations", tols);
    }
    add_daemon_tolerations(tols, json_is_true(json_object_get(spec, "hostNetwork")));
    json_t *aff = json_object_get(spec, "affinity");
    if (!json_is_object(aff)) {
      aff = json_object();
      json_object_set_new(spec, "affinity", aff);
    }
    json_t *na = json_object_get(aff, "nodeAffinity");
    if (!json_is_object(na)) {
      na = json_object();
      json_object_set_new(aff, "nodeAffinity", na);
    }
    json_object_set_new(na, "requiredDuringSchedulingIgnoredDuringExecution",
                        json_pack("{s:[{s:[{s:s,s:s,s:[s]}]}]}", "nodeSelectorTerms", "matchFields",
                                  "key", "metadata.name", "operator", "In", "values", node));
  }
  ctrl_act_create(d->x->out, "pods", pod);
  ctrl_act_event(d->x->out, d->obj, "Normal", "SuccessfulCreate", "Created pod: %s", name);
}

static void delete_pod(ds_t *d, json_t *pod)
{
  json_t *md = json_object_get(pod, "metadata");
  const char *name = json_str(md, "name");
  if (!name)
    return;
  ctrl_act_delete(d->x->out, "pods", d->ns, name, json_str(md, "uid"), -1);
  ctrl_act_event(d->x->out, d->obj, "Normal", "SuccessfulDelete", "Deleted pod: %s", name);
}

/* ---- nodes and their pods ---------------------------------------------------------- */

static int oldest_first(const void *a, const void *b)
{
  json_t *pa = *(json_t *const *)a, *pb = *(json_t *const *)b;
  json_t *ma = json_object_get(pa, "metadata"), *mb = json_object_get(pb, "metadata");
  int64_t ca = ctrl_time_parse(json_str(ma, "creationTimestamp"));
  int64_t cb = ctrl_time_parse(json_str(mb, "creationTimestamp"));
  if (ca != cb)
    return ca < cb ? -1 : 1;
  return strcmp(json_str(ma, "name") ?: "", json_str(mb, "name") ?: "");
}

static void sort_pods(json_t *arr)
{
  size_t n = json_array_size(arr);
  if (n < 2)
    return;
  json_t **v = xcalloc(n, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = json_incref(json_array_get(arr, i));
  qsort(v, n, sizeof *v, oldest_first);
  json_array_clear(arr);
  for (size_t i = 0; i < n; i++)
    json_array_append_new(arr, v[i]);
  free(v);
}

static ds_node_t *find_node(ds_t *d, const char *name)
{
  for (size_t i = 0; name && i < d->nnodes; i++)
    if (!strcmp(d->nodes[i].name, name))
      return &d->nodes[i];
  return NULL;
}

static void judge_node(ds_t *d, ds_node_t *n)
{
  json_t *tspec = json_object_get(d->tmpl, "spec");
  const char *want = json_str(tspec, "nodeName");
  bool fits = (!want || !*want || !strcmp(want, n->name)) && ctrl_node_matches(tspec, n->node)
              && !json_object_get(json_object_get(n->node, "metadata"), "deletionTimestamp");
  json_t *taints = json_object_get(json_object_get(n->node, "spec"), "taints");
  n->run = fits && ctrl_tolerates_taints(d->tolerations, taints, true);
  n->keep = fits && ctrl_tolerates_taints(d->tolerations, taints, false);
}

/* Pods into their nodes; pods of no known node are deleted. */
static void place_pods(ds_t *d, json_t *pods)
{
  json_t *pod;
  size_t i;
  json_array_foreach(pods, i, pod)
  {
    if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
      continue;
    ds_node_t *n = find_node(d, target_node(pod));
    if (n)
      json_array_append(n->pods, pod);
    else
      delete_pod(d, pod);
  }
  for (size_t k = 0; k < d->nnodes; k++)
    sort_pods(d->nodes[k].pods);
}

static const char *pod_phase(json_t *pod)
{
  return json_str(json_object_get(pod, "status"), "phase") ?: "";
}

static bool pod_is_current(ds_t *d, json_t *pod)
{
  const char *h = json_str(json_object_get(json_object_get(pod, "metadata"), "labels"), HASH_LABEL);
  return h && !strcmp(h, d->hash);
}

/* ---- the back-off of failed pods ---------------------------------------------------- */

/* Back-off keys: "NS\tNAME\t", the prefix a sync sweeps, then
 * "UID\tGENERATION\tNODE" (names have no tabs). */
static char *backoff_prefix(const char *ns, const char *name)
{
  return xasprintf("%s\t%s\t", ns, name);
}

static char *backoff_key(ds_t *d, const char *node)
{
  return xasprintf("%s\t%s\t%s\t%lld\t%s", d->ns, d->name, d->uid, (long long)d->generation, node);
}

/* Whether an entry of this DaemonSet ("UID\tGENERATION\tNODE") is still
 * about it as it is now, and about a node that exists. */
static bool backoff_current(const char *rest, void *arg)
{
  ds_t *d = arg;
  cleanup_free char *mine = xasprintf("%s\t%lld\t", d->uid, (long long)d->generation);
  size_t n = strlen(mine);
  return !strncmp(rest, mine, n) && find_node(d, rest + n);
}

/* A Failed daemon pod on n whose back-off has ended: deleted (and replaced
 * by manage), the retry counted in n's back-off. */
static void drop_failed(ds_t *d, ds_node_t *n, json_t *pod)
{
  ctrl_act_event(d->x->out, d->obj, "Warning", "FailedDaemonPod",
                 "Found failed daemon pod %s/%s on node %s, will try to kill it", d->ns,
                 json_str(json_object_get(pod, "metadata"), "name") ?: "", n->name);
  if (d->x->ds_backoff) {
    cleanup_free char *key = backoff_key(d, n->name);
    ctrl_backoff_next(d->x->ds_backoff, key, d->x->now);
  }
  delete_pod(d, pod);
}

/* Whether n's Failed pod still waits for its back-off (the sync is then
 * requeued for when it ends). */
static bool backing_off(ds_t *d, ds_node_t *n)
{
  if (!d->x->ds_backoff)
    return false;
  cleanup_free char *key = backoff_key(d, n->name);
  int64_t at = ctrl_backoff_wait_until(d->x->ds_backoff, key, d->x->now);
  if (!at)
    return false;
  ctrl_requeue_after(d->x, at - d->x->now);
  return true;
}

/* One pod on each node that should run one (two while a surge replaces an
 * old one), none where none may stay. */
static void manage(ds_t *d)
{
  for (size_t k = 0; k < d->nnodes; k++) {
    ds_node_t *n = &d->nodes[k];
    json_t *pod;
    size_t i;
    json_array_foreach(n->pods, i, pod)
    {
      if (!n->keep) {
        delete_pod(d, pod); /* misplaced */
      } else if (!strcmp(pod_phase(pod), "Failed")) {
        if (backing_off(d, n))
          n->failed = true;
        else
          drop_failed(d, n, pod); /* replaced below */
      } else if (!strcmp(pod_phase(pod), "Succeeded")) {
        ctrl_act_event(d->x->out, d->obj, "Normal", "SucceededDaemonPod",
                       "Found succeeded daemon pod %s/%s on node %s, will try to delete it", d->ns,
                       json_str(json_object_get(pod, "metadata"), "name") ?: "", n->name);
        delete_pod(d, pod); /* replaced below */
      } else if (!n->kept) {
        n->kept = pod;
      } else if (d->surging && !n->surge && pod_is_current(d, n->kept) != pod_is_current(d, pod)) {
        /* an old one kept, a current one beside it (whichever came first) */
        if (pod_is_current(d, n->kept)) {
          n->surge = n->kept;
          n->kept = pod;
        } else {
          n->surge = pod;
        }
      } else {
        delete_pod(d, pod); /* extra */
      }
    }
    if (n->run && !n->kept && !n->failed)
      create_pod(d, n->name);
  }
}

/* maxSurge: the new pod beside each old available one, on at most max_surge
 * nodes at a time; the old one goes when the new one is available. */
static void surge_update(ds_t *d, int64_t max_surge)
{
  int64_t surging = 0;
  ds_node_t **candidates = xcalloc(d->nnodes + 1, sizeof *candidates);
  size_t ncand = 0;
  for (size_t k = 0; k < d->nnodes; k++) {
    ds_node_t *n = &d->nodes[k];
    if (!n->run || !n->kept || pod_is_current(d, n->kept))
      continue;
    if (n->surge) {
      if (ctrl_pod_available(n->surge, d->min_ready_s, d->x->now))
        delete_pod(d, n->kept);
      else
        surging++;
    } else if (!ctrl_pod_available(n->kept, d->min_ready_s, d->x->now)) {
      delete_pod(d, n->kept); /* down anyway: replaced now */
      create_pod(d, n->name);
    } else {
      candidates[ncand++] = n;
    }
  }
  for (size_t i = 0; i < ncand && surging < max_surge; i++, surging++)
    create_pod(d, candidates[i]->name);
  free(candidates);
}

static void rolling_update(ds_t *d, int64_t desired)
{
  json_t *ru = json_object_get(json_object_get(d->spec, "updateStrategy"), "rollingUpdate");
  json_t *mu = json_object_get(ru, "maxUnavailable"), *ms = json_object_get(ru, "maxSurge");
  int64_t max_surge = 0;
  if (d->surging && ctrl_intstr_scaled(ms, desired, true, &max_surge, NULL) == 0 && max_surge > 0) {
    surge_update(d, max_surge);
    return;
  }
  int64_t max_unavailable = 1;
  if (mu && ctrl_intstr_scaled(mu, desired, true, &max_unavailable, NULL) < 0)
    max_unavailable = 1;
  if (max_unavailable < 1)
    max_unavailable = 1; /* maxSurge is 0: the update has to take some node down */
  int64_t unavailable = 0;
  ds_node_t **candidates = xcalloc(d->nnodes + 1, sizeof *candidates);
  size_t ncand = 0;
  for (size_t k = 0; k < d->nnodes; k++) {
    ds_node_t *n = &d->nodes[k];
    if (!n->run)
      continue;
    bool available = n->kept && ctrl_pod_available(n->kept, d->min_ready_s, d->x->now);
    if (!n->kept || pod_is_current(d, n->kept)) {
      unavailable += !available;
    } else if (!available) { /* old and down anyway: replace it now */
      delete_pod(d, n->kept);
      create_pod(d, n->name);
      unavailable++;
    } else {
      candidates[ncand++] = n;
    }
  }
  for (size_t i = 0; i < ncand && unavailable < max_unavailable; i++, unavailable++) {
    delete_pod(d, candidates[i]->kept);
    create_pod(d, candidates[i]->name);
  }
  free(candidates);
}

/* ---- status --------------------------------------------------------------------------- */

static void update_status(ds_t *d)
{
  int64_t desired = 0, current = 0, mis = 0, ready = 0, avail = 0, updated = 0;
  for (size_t k = 0; k < d->nnodes; k++) {
    ds_node_t *n = &d->nodes[k];
    json_t *pod = json_array_get(n->pods, 0);
    if (!n->run) {
      mis += pod != NULL;
      continue;
    }
    desired++;
    if (!pod)
      continue;
    current++;
    /* during a surge a node has two pods: it is served while either is */
    bool is_ready = false, is_avail = false, cur = false;
    for (size_t i = 0; i < json_array_size(n->pods); i++) {
      json_t *p = json_array_get(n->pods, i);
      int64_t since;
      cur |= pod_is_current(d, p);
      if (!ctrl_pod_ready(p, &since))
        continue;
      is_ready = true;
      if (ctrl_pod_available(p, d->min_ready_s, d->x->now))
        is_avail = true;
      else if (since)
        ctrl_requeue_after(d->x, since + d->min_ready_s * NS_PER_S - d->x->now);
    }
    ready += is_ready;
    avail += is_avail;
    updated += cur;
  }
  json_t *old = json_object_get(d->obj, "status");
  json_t *st = json_is_object(old) ? json_deep_copy(old) : json_object();
  json_object_set_new(st, "desiredNumberScheduled", json_integer(desired));
  json_object_set_new(st, "currentNumberScheduled", json_integer(current));
  json_object_set_new(st, "numberMisscheduled", json_integer(mis));
  json_object_set_new(st, "numberReady", json_integer(ready));
  json_object_set_new(st, "numberAvailable", json_integer(avail));
  json_object_set_new(st, "numberUnavailable", json_integer(desired > avail ? desired - avail : 0));
  json_object_set_new(st, "updatedNumberScheduled", json_integer(updated));
  json_object_set_new(st, "observedGeneration", json_integer(d->generation));
  if (json_equal(st, old)) {
    json_decref(st);
    return;
  }
  json_t *copy = json_deep_copy(d->obj);
  json_object_set_new(copy, "status", st);
  ctrl_act_update_status(d->x->out, "daemonsets", copy);
}

/* ---- sync ------------------------------------------------------------------------------- */

void ctrl_daemonset_sync(ctrl_ctx_t *x, const char *ns, const char *name)
{
  json_t *obj = ctrl_cache_get(x->cache, "daemonsets", ns, name);
  json_t *md = json_object_get(obj, "metadata");
  if (x->ds_backoff)
    ctrl_backoff_gc(x->ds_backoff, x->now);
  if (!json_is_object(obj) || json_object_get(md, "deletionTimestamp") || !json_str(md, "uid")) {
    if (x->ds_backoff) { /* gone: so is its back-off */
      cleanup_free char *prefix = backoff_prefix(ns, name);
      ctrl_backoff_forget(x->ds_backoff, prefix, NULL, NULL);
    }
    return;
  }
  ds_t d = { .x = x, .obj = obj, .ns = ns, .name = name, .uid = json_str(md, "uid") };
  d.generation = ctrl_int(md, "generation", 0, 0, INT64_MAX);
  d.spec = json_object_get(obj, "spec");
  d.tmpl = json_object_get(d.spec, "template");
  d.min_ready_s = ctrl_int(d.spec, "minReadySeconds", 0, 0, INT32_MAX);
  template_hash(d.tmpl, d.hash);
  json_t *tspec = json_object_get(d.tmpl, "spec");
  json_t *tols = json_object_get(tspec, "tolerations");
  d.tolerations = json_is_array(tols) ? json_deep_copy(tols) : json_array();
  add_daemon_tolerations(d.tolerations, json_is_true(json_object_get(tspec, "hostNetwork")));

  cleanup_json json_t *nodes = ctrl_cache_list(x->cache, "nodes", NULL);
  d.nnodes = json_array_size(nodes);
  d.nodes = xcalloc(d.nnodes + 1, sizeof *d.nodes);
  size_t k = 0;
  for (size_t i = 0; i < json_array_size(nodes); i++) {
    json_t *node = json_array_get(nodes, i);
    const char *nn = json_str(json_object_get(node, "metadata"), "name");
    if (!nn)
      continue;
    d.nodes[k] = (ds_node_t){ .node = node, .name = nn, .pods = json_array() };
    judge_node(&d, &d.nodes[k++]);
  }
  d.nnodes = k;
  if (x->ds_backoff) { /* entries of gone nodes and older generations */
    cleanup_free char *prefix = backoff_prefix(ns, name);
    ctrl_backoff_forget(x->ds_backoff, prefix, backoff_current, &d);
  }
  cleanup_json json_t *pods = ctrl_cache_owned(x->cache, "pods", json_str(md, "uid"));
  const char *strategy = json_str(json_object_get(d.spec, "updateStrategy"), "type");
  bool rolling = !strategy || !strcmp(strategy, "RollingUpdate");
  json_t *ms = json_object_get(
      json_object_get(json_object_get(d.spec, "updateStrategy"), "rollingUpdate"), "maxSurge");
  int64_t surge = 0;
  d.surging = rolling && ms && ctrl_intstr_scaled(ms, 100, true, &surge, NULL) == 0 && surge > 0;
  place_pods(&d, pods);
  update_status(&d);
  manage(&d);
  if (rolling) {
    int64_t desired = 0;
    for (size_t i = 0; i < d.nnodes; i++)
      desired += d.nodes[i].run;
    rolling_update(&d, desired);
  }
  for (size_t i = 0; i < d.nnodes; i++)
    json_decref(d.nodes[i].pods);
  free(d.nodes);
  json_decref(d.tolerations);
}

/* Whether a node's change can change where daemons run. */
static bool node_changed(json_t *old, json_t *obj)
{
  if (!old || !obj)
    return true;
  json_t *om = json_object_get(old, "metadata"), *nm = json_object_get(obj, "metadata");
  return !json_equal(json_object_get(om, "labels"), json_object_get(nm, "labels"))
         || !json_equal(json_object_get(old, "spec"), json_object_get(obj, "spec"))
         || !json_object_get(om, "deletionTimestamp") != !json_object_get(nm, "deletionTimestamp");
}

void ctrl_daemonset_keys(ctrl_ctx_t *x, size_t self, const char *resource, json_t *old, json_t *obj,
                         ctrl_keys_t *out)
{
  const char *slash = strrchr(resource, '/');
  const char *r = slash ? slash + 1 : resource;
  json_t *cur = obj ? obj : old;
  json_t *md = json_object_get(cur, "metadata");
  const char *ns = json_str(md, "namespace") ?: "";
  if (!strcmp(r, "daemonsets")) {
    ctrl_keys_add(out, self, ns, json_str(md, "name"));
  } else if (!strcmp(r, "nodes")) {
    if (!node_changed(old, obj))
      return;
    cleanup_json json_t *all = ctrl_cache_list(x->cache, "daemonsets", NULL);
    json_t *ds;
    size_t i;
    json_array_foreach(all, i, ds)
    {
      json_t *dmd = json_object_get(ds, "metadata");
      ctrl_keys_add(out, self, json_str(dmd, "namespace"), json_str(dmd, "name"));
    }
  } else if (!strcmp(r, "pods")) {
    json_t *objs[] = { old, obj };
    const char *last = NULL;
    for (size_t i = 0; i < 2; i++) {
      json_t *ref = ctrl_controller_ref(objs[i]);
      const char *kind = json_str(ref, "kind"), *name = json_str(ref, "name");
      if (kind && name && !strcmp(kind, "DaemonSet") && (!last || strcmp(last, name))) {
        ctrl_keys_add(out, self, ns, name);
        last = name;
      }
    }
  }
}
