/* deployment.c — the Deployment controller (apps/v1): runs a pod template
 * through ReplicaSets, one per template, named "<deployment>-<hash>".
 *
 * A sync follows Kubernetes' syncDeployment: claim the sets the selector
 * matches; the "new" set is the oldest whose template equals spec.template
 * (ignoring the pod-template-hash label), so a rollback to an earlier
 * template reuses that set and gives it the next revision; the rest are
 * "old". Then, depending on the Deployment: only the status (being
 * deleted); scaling without progress (paused, or spec.replicas changed:
 * deployment_rollout.c's dp_scale); or one step of the rollout strategy.
 * Each step changes working copies; dp_flush writes what differs.
 *
 * The template hash is FNV-1a (32 bits) of the template's canonical JSON
 * (sorted keys, no pod-template-hash label), printed in decimal and mapped
 * onto Kubernetes' safe alphabet as its pod-template-hash values are, so it
 * depends on the template only. Conditions follow Kubernetes'
 * SetDeploymentCondition: a condition with the same status and reason is
 * kept as is; lastTransitionTime moves only when the status does. */
#include "ctrl/deployment.h"

#include <stdlib.h>
#include <string.h>

#define PROGRESSING "Progressing"

/* ---- reading the sets --------------------------------------------------------- */

static json_t *md_of(json_t *obj)
{
  return json_object_get(obj, "metadata");
}

/* obj's metadata.annotations, created when missing. */
static json_t *annotations(json_t *obj)
{
  json_t *md = md_of(obj), *a = json_object_get(md, "annotations");
  if (!json_is_object(a)) {
    a = json_object();
    json_object_set_new(md, "annotations", a);
  }
  return a;
}

static bool parse_int(const char *s, int64_t *out)
{
  berr_t err = BERR_INIT;
  if (!s || parse_int64(s, out, &err) < 0) {
    berr_clear(&err);
    return false;
  }
  return true;
}

int64_t dp_rs_replicas(const dp_rs_t *rs)
{
  return json_int(json_object_get(rs->obj, "spec"), "replicas", 1);
}

int64_t dp_rs_status(const dp_rs_t *rs, const char *field)
{
  return json_int(json_object_get(rs->obj, "status"), field, 0);
}

int64_t dp_rs_available(const dp_rs_t *rs)
{
  int64_t avail = dp_rs_status(rs, "availableReplicas"), want = dp_rs_replicas(rs);
  return avail < want ? avail : want;
}

bool dp_rs_annotation_int(const dp_rs_t *rs, const char *key, int64_t *out)
{
  return parse_int(json_str(json_object_get(md_of(rs->obj), "annotations"), key), out);
}

int64_t dp_rs_revision(const dp_rs_t *rs)
{
  int64_t v;
  return dp_rs_annotation_int(rs, DP_REVISION, &v) ? v : 0;
}

int64_t dp_rs_created(const dp_rs_t *rs)
{
  return ctrl_time_parse(json_str(md_of(rs->obj), "creationTimestamp"));
}

size_t dp_old_sets(dp_t *dp, dp_rs_t **out, bool active_only)
{
  size_t n = 0;
  for (size_t i = 0; i < dp->nrs; i++) {
    dp_rs_t *rs = &dp->rs[i];
    if (rs != dp->new_rs && !rs->deleted && (!active_only || dp_rs_replicas(rs) > 0))
      out[n++] = rs;
  }
  return n;
}

int64_t dp_sum_available(dp_rs_t **sets, size_t n)
{
  int64_t sum = 0;
  for (size_t i = 0; i < n; i++)
    if (sets[i])
      sum += dp_rs_available(sets[i]);
  return sum;
}

int64_t dp_sum(dp_rs_t **sets, size_t n, const char *field)
{
  int64_t sum = 0;
  for (size_t i = 0; i < n; i++)
    if (sets[i])
      sum += field ? dp_rs_status(sets[i], field) : dp_rs_replicas(sets[i]);
  return sum;
}

int64_t dp_max_surge(const dp_t *dp)
{
  return dp->recreate ? 0 : dp->surge;
}

int64_t dp_max_unavailable(const dp_t *dp)
{
  if (dp->recreate || dp->replicas == 0)
    return 0;
  return dp->unavailable < dp->replicas ? dp->unavailable : dp->replicas;
}

/* ---- the spec ------------------------------------------------------------------- */

/* maxSurge/maxUnavailable against total (ctrl_intstr_scaled); missing: 25%. */
static bool scaled_value(json_t *v, int64_t total, bool round_up, int64_t *out)
{
  cleanup_json json_t *dflt = json_string("25%");
  return ctrl_intstr_scaled(v && !json_is_null(v) ? v : dflt, total, round_up, out, NULL) == 0;
}

/* false: a spec no validation would accept; the sync does nothing. */
static bool dp_parse(dp_t *dp)
{
  json_t *spec = json_object_get(dp->d, "spec");
  if (!json_is_object(spec) || !ctrl_count_field(spec, "replicas", 1, &dp->replicas)
      || !ctrl_count_field(spec, "minReadySeconds", 0, &dp->min_ready)
      || !ctrl_count_field(spec, "revisionHistoryLimit", 10, &dp->history_limit)
      || !ctrl_count_field(spec, "progressDeadlineSeconds", 600, &dp->deadline_s))
    return false;
  json_t *paused = json_object_get(spec, "paused");
  if (paused && !json_is_boolean(paused) && !json_is_null(paused))
    return false;
  dp->paused = json_is_true(paused);
  json_t *strategy = json_object_get(spec, "strategy");
  if (strategy && !json_is_object(strategy) && !json_is_null(strategy))
    return false;
  const char *type = json_str(strategy, "type") ?: "RollingUpdate";
  if (!strcmp(type, "Recreate")) {
    dp->recreate = true;
  } else if (!strcmp(type, "RollingUpdate")) {
    json_t *ru = json_object_get(strategy, "rollingUpdate");
    if (!scaled_value(json_object_get(ru, "maxSurge"), dp->replicas, true, &dp->surge)
        || !scaled_value(json_object_get(ru, "maxUnavailable"), dp->replicas, false,
                         &dp->unavailable))
      return false;
    if (dp->surge == 0 && dp->unavailable == 0)
      dp->unavailable = 1; /* a percentage that rounded down: let one go */
  } else {
    return false;
  }
  dp->tmpl = json_object_get(spec, "template");
  json_t *labels = json_object_get(md_of(dp->tmpl), "labels");
  if (!json_is_object(dp->tmpl) || !json_is_object(labels))
    return false;
  dp->sel = ctrl_spec_selector(dp->d);
  return dp->sel && api_label_selector_matches(dp->sel, labels);
}

/* ---- templates ------------------------------------------------------------------ */

/* A copy of a pod template without the pod-template-hash label. */
static json_t *template_sans_hash(json_t *tmpl)
{
  json_t *t = json_deep_copy(tmpl);
  json_t *labels = json_object_get(md_of(t), "labels");
  json_object_del(labels, DP_HASH_LABEL);
  if (json_is_object(labels) && json_object_size(labels) == 0)
    json_object_del(md_of(t), "labels");
  return t;
}

static bool template_equal(json_t *a, json_t *b)
{
  if (!json_is_object(a) || !json_is_object(b))
    return false;
  cleanup_json json_t *x = template_sans_hash(a);
  cleanup_json json_t *y = template_sans_hash(b);
  return json_equal(x, y);
}

static char *template_hash(json_t *tmpl, int64_t collisions)
{
  cleanup_json json_t *t = template_sans_hash(tmpl);
  cleanup_free char *text = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
  cleanup_free char *salt = collisions > 0 ? xasprintf("/%lld", (long long)collisions) : NULL;
  uint32_t h = 2166136261u;
  for (int part = 0; part < 2; part++)
    for (const unsigned char *p = (const unsigned char *)(part ? salt : text); p && *p; p++) {
      h ^= *p;
      h *= 16777619u;
    }
  static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  char *s = xasprintf("%u", h);
  for (char *p = s; *p; p++)
    *p = alphabet[(unsigned char)*p % (sizeof alphabet - 1)];
  return s;
}

static int by_creation(const void *pa, const void *pb)
{
  const dp_rs_t *a = pa, *b = pb;
  int64_t ta = dp_rs_created(a), tb = dp_rs_created(b);
  if (ta != tb)
    return ta < tb ? -1 : 1;
  return strcmp(json_str(md_of(a->obj), "name") ?: "", json_str(md_of(b->obj), "name") ?: "");
}

/* Claims the sets, oldest first, and finds the new one. */
static void dp_load_sets(dp_t *dp)
{
  cleanup_json json_t *claimed
      = ctrl_claim(dp->x, "replicasets", dp->orig, "apps/v1", "Deployment", dp->sel, NULL);
  size_t n = json_array_size(claimed);
  dp->rs = xcalloc(n + 1, sizeof *dp->rs);
  for (size_t i = 0; i < n; i++) {
    json_t *rs = json_array_get(claimed, i);
    dp->rs[i].orig = json_incref(rs);
    dp->rs[i].obj = json_deep_copy(rs);
    if (!json_is_object(json_object_get(rs, "spec"))) /* junk, but scalable */
      json_object_set_new(dp->rs[i].obj, "spec", json_object());
  }
  dp->nrs = n;
  qsort(dp->rs, n, sizeof *dp->rs, by_creation);
  for (size_t i = 0; i < n && !dp->new_rs; i++)
    if (template_equal(json_object_get(json_object_get(dp->rs[i].obj, "spec"), "template"),
                       dp->tmpl))
      dp->new_rs = &dp->rs[i];
}

/* ---- annotations ------------------------------------------------------------------ */

static bool skip_annotation(const char *k)
{
  static const char *const skip[] = {
    "kubectl.kubernetes.io/last-applied-configuration",
    DP_REVISION,
    DP_REVISION_HIST,
    DP_DESIRED,
    DP_MAX,
    "deprecated.deployment.rollback.to",
  };
  for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
    if (!strcmp(k, skip[i]))
      return true;
  return false;
}

static bool set_annotation(json_t *ann, const char *key, const char *value)
{
  const char *cur = json_str(ann, key);
  if (cur && !strcmp(cur, value))
    return false;
  json_object_set_new(ann, key, json_string(value));
  return true;
}

static bool set_annotation_int(json_t *ann, const char *key, int64_t value)
{
  char buf[24];
  snprintf(buf, sizeof buf, "%lld", (long long)value);
  return set_annotation(ann, key, buf);
}

static void set_replicas_annotations(dp_t *dp, dp_rs_t *rs)
{
  json_t *ann = annotations(rs->obj);
  set_annotation_int(ann, DP_DESIRED, dp->replicas);
  set_annotation_int(ann, DP_MAX, dp->replicas + dp_max_surge(dp));
}

/* Kubernetes' SetNewReplicaSetAnnotations: the Deployment's own annotations,
 * and revision raised to new_rev (the old one kept in revision-history: a
 * rollback to this set). */
static void set_new_rs_annotations(dp_t *dp, dp_rs_t *rs, int64_t new_rev, bool exists)
{
  json_t *ann = annotations(rs->obj);
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(md_of(dp->d), "annotations"), k, v)
  {
    if (json_is_string(v) && !skip_annotation(k))
      set_annotation(ann, k, json_string_value(v));
  }
  const char *old = json_str(ann, DP_REVISION);
  int64_t old_rev = 0;
  if (old && !parse_int(old, &old_rev))
    return;
  if (old_rev < new_rev) {
    if (old) {
      const char *hist = json_str(ann, DP_REVISION_HIST);
      char *h = hist && *hist ? xasprintf("%s,%s", hist, old) : xstrdup(old);
      /* Kubernetes keeps the history under 2,000 characters, oldest out first */
      char *keep = h;
      while (strlen(keep) > 2000 && strchr(keep, ','))
        keep = strchr(keep, ',') + 1;
      json_object_set_new(ann, DP_REVISION_HIST, json_string(keep));
      free(h);
    }
    set_annotation_int(ann, DP_REVISION, new_rev);
  }
  if (!exists)
    set_replicas_annotations(dp, rs);
}

static void set_deployment_revision(dp_t *dp, const char *rev)
{
  if (rev)
    set_annotation(annotations(dp->d), DP_REVISION, rev);
}

static int64_t max_old_revision(dp_t *dp)
{
  int64_t max = 0;
  for (size_t i = 0; i < dp->nrs; i++)
    if (&dp->rs[i] != dp->new_rs && dp_rs_revision(&dp->rs[i]) > max)
      max = dp_rs_revision(&dp->rs[i]);
  return max;
}

/* ---- conditions ------------------------------------------------------------------ */

static json_t *cond_new(dp_t *dp, const char *type, const char *status, const char *reason,
                        const char *message)
{
  cleanup_free char *ts = time_rfc3339_sec(dp->x->now);
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "status", status, "lastUpdateTime",
                   ts, "lastTransitionTime", ts, "reason", reason, "message", message);
}

static json_t *cond_get(json_t *status, const char *type)
{
  json_t *c;
  size_t i;
  json_array_foreach(json_object_get(status, "conditions"), i, c)
  {
    if (!strcmp(json_str(c, "type") ?: "", type))
      return c;
  }
  return NULL;
}

static bool cond_is(json_t *c, const char *reason)
{
  return c && !strcmp(json_str(c, "reason") ?: "", reason);
}

static void cond_remove(json_t *status, const char *type)
{
  json_t *conds = json_object_get(status, "conditions");
  for (size_t i = json_array_size(conds); i-- > 0;)
    if (!strcmp(json_str(json_array_get(conds, i), "type") ?: "", type))
      json_array_remove(conds, i);
  if (conds && json_array_size(conds) == 0)
    json_object_del(status, "conditions");
}

/* Kubernetes' SetDeploymentCondition; takes c. */
static void cond_set(json_t *status, json_t *c)
{
  const char *type = json_str(c, "type");
  json_t *cur = cond_get(status, type);
  bool same_status = cur && !strcmp(json_str(cur, "status") ?: "", json_str(c, "status"));
  if (same_status && cond_is(cur, json_str(c, "reason"))) {
    json_decref(c);
    return;
  }
  json_t *since = json_object_get(cur, "lastTransitionTime");
  if (same_status && since)
    json_object_set(c, "lastTransitionTime", since);
  cond_remove(status, type);
  json_t *conds = json_object_get(status, "conditions");
  if (!json_is_array(conds)) {
    conds = json_array();
    json_object_set_new(status, "conditions", conds);
  }
  json_array_append_new(conds, c);
}

static json_t *status_of(dp_t *dp)
{
  json_t *st = json_object_get(dp->d, "status");
  if (!json_is_object(st)) {
    st = json_object();
    json_object_set_new(dp->d, "status", st);
  }
  return st;
}

static bool has_deadline(const dp_t *dp)
{
  return dp->deadline_s != DP_NO_DEADLINE;
}

/* Kubernetes' checkPausedConditions: Progressing Unknown while paused, and
 * again on resume, so that the time paused does not count as no progress. */
static void check_paused(dp_t *dp)
{
  json_t *st = status_of(dp);
  json_t *cur = cond_get(st, PROGRESSING);
  if (!has_deadline(dp) || cond_is(cur, "ProgressDeadlineExceeded"))
    return;
  bool paused_cond = cond_is(cur, "DeploymentPaused");
  if (dp->paused && !paused_cond)
    cond_set(st, cond_new(dp, PROGRESSING, "Unknown", "DeploymentPaused", "Deployment is paused"));
  else if (!dp->paused && paused_cond)
    cond_set(st,
             cond_new(dp, PROGRESSING, "Unknown", "DeploymentResumed", "Deployment is resumed"));
}

/* ---- the new set ------------------------------------------------------------------ */

/* The existing new set takes the next revision when an old one has a
 * higher one (a rollback), the Deployment's annotations and
 * minReadySeconds (Kubernetes' getNewReplicaSet on an existing set). */
static void dp_sync_new_rs(dp_t *dp)
{
  dp_rs_t *rs = dp->new_rs;
  if (!rs)
    return;
  set_new_rs_annotations(dp, rs, max_old_revision(dp) + 1, true);
  json_t *spec = json_object_get(rs->obj, "spec");
  if (json_int(spec, "minReadySeconds", 0) != dp->min_ready)
    json_object_set_new(spec, "minReadySeconds", json_integer(dp->min_ready));
  set_deployment_revision(dp,
                          json_str(json_object_get(md_of(rs->obj), "annotations"), DP_REVISION));
  json_t *st = status_of(dp);
  if (has_deadline(dp) && !cond_get(st, PROGRESSING)) {
    cleanup_free char *msg
        = xasprintf("Found new replica set \"%s\"", json_str(md_of(rs->obj), "name"));
    cond_set(st, cond_new(dp, PROGRESSING, "True", "FoundNewReplicaSet", msg));
  }
}

int64_t dp_new_rs_replicas(dp_t *dp, dp_rs_t *new_rs)
{
  if (dp->recreate)
    return dp->replicas;
  int64_t current = 0;
  for (size_t i = 0; i < dp->nrs; i++)
    if (!dp->rs[i].deleted)
      current += dp_rs_replicas(&dp->rs[i]);
  int64_t have = dp_rs_replicas(new_rs), max_total = dp->replicas + dp_max_surge(dp);
  if (current >= max_total)
    return have;
  int64_t up = max_total - current;
  if (up > dp->replicas - have)
    up = dp->replicas - have;
  return have + up;
}

static void scaling_event(dp_t *dp, const char *dir, dp_rs_t *rs, int64_t n)
{
  ctrl_act_event(&dp->events, dp->orig, "Normal", "ScalingReplicaSet",
                 "Scaled %s replica set %s to %lld", dir, json_str(md_of(rs->obj), "name"),
                 (long long)n);
}

dp_rs_t *dp_create_new_rs(dp_t *dp)
{
  json_t *st = status_of(dp);
  int64_t collisions = json_int(st, "collisionCount", 0);
  cleanup_free char *hash = template_hash(dp->tmpl, collisions);
  cleanup_free char *name = xasprintf("%s-%s", dp->name, hash);
  const char *ns = json_str(md_of(dp->orig), "namespace") ?: "";
  if (ctrl_cache_get(dp->x->cache, "replicasets", ns, name)) {
    /* not ours, or another template: hash again with a new salt */
    json_object_set_new(st, "collisionCount", json_integer(collisions + 1));
    return NULL;
  }
  json_t *tmpl = json_deep_copy(dp->tmpl);
  json_t *labels = json_object_get(md_of(tmpl), "labels");
  json_object_set_new(labels, DP_HASH_LABEL, json_string(hash));
  json_t *sel = json_deep_copy(json_object_get(json_object_get(dp->d, "spec"), "selector"));
  json_t *ml = json_object_get(sel, "matchLabels");
  if (!json_is_object(ml)) {
    ml = json_object();
    json_object_set_new(sel, "matchLabels", ml);
  }
  json_object_set_new(ml, DP_HASH_LABEL, json_string(hash));
  json_t *md = json_pack("{s:s,s:s,s:o,s:[o]}", "name", name, "namespace", ns, "labels",
                         json_deep_copy(labels), "ownerReferences",
                         ctrl_owner_ref(dp->orig, "apps/v1", "Deployment"));
  json_t *spec = json_pack("{s:i,s:o,s:o}", "replicas", 0, "selector", sel, "template", tmpl);
  if (dp->min_ready)
    json_object_set_new(spec, "minReadySeconds", json_integer(dp->min_ready));

  int64_t rev = max_old_revision(dp) + 1;
  dp_rs_t *rs = &dp->rs[dp->nrs++];
  rs->obj = json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "apps/v1", "kind", "ReplicaSet",
                      "metadata", md, "spec", spec);
  int64_t n = dp_new_rs_replicas(dp, rs);
  json_object_set_new(spec, "replicas", json_integer(n));
  set_new_rs_annotations(dp, rs, rev, false);
  dp->new_rs = rs;
  if (n > 0)
    scaling_event(dp, "up", rs, n);
  set_deployment_revision(dp, json_str(annotations(rs->obj), DP_REVISION));
  if (has_deadline(dp)) {
    cleanup_free char *msg = xasprintf("Created new replica set \"%s\"", name);
    cond_set(st, cond_new(dp, PROGRESSING, "True", "NewReplicaSetCreated", msg));
  }
  return rs;
}

bool dp_scale_rs(dp_t *dp, dp_rs_t *rs, int64_t n, bool always)
{
  int64_t cur = dp_rs_replicas(rs);
  if (cur != n || always)
    set_replicas_annotations(dp, rs);
  if (cur == n)
    return false;
  json_object_set_new(json_object_get(rs->obj, "spec"), "replicas", json_integer(n));
  scaling_event(dp, cur < n ? "up" : "down", rs, n);
  return true;
}

/* ---- status ------------------------------------------------------------------ */

static void set_count(json_t *st, const char *key, int64_t n)
{
  if (n) /* omitempty */
    json_object_set_new(st, key, json_integer(n));
}

/* Kubernetes' calculateStatus. */
static json_t *dp_calc_status(dp_t *dp)
{
  dp_rs_t **all = xcalloc(dp->nrs + 1, sizeof *all);
  size_t n = 0;
  for (size_t i = 0; i < dp->nrs; i++)
    all[n++] = &dp->rs[i];
  int64_t available = dp_sum(all, n, "availableReplicas");
  int64_t unavailable = dp_sum(all, n, NULL) - available;
  json_t *old = status_of(dp), *st = json_object();
  set_count(st, "observedGeneration", json_int(md_of(dp->d), "generation", 0));
  set_count(st, "replicas", dp_sum(all, n, "replicas"));
  set_count(st, "updatedReplicas", dp->new_rs ? dp_rs_status(dp->new_rs, "replicas") : 0);
  set_count(st, "readyReplicas", dp_sum(all, n, "readyReplicas"));
  set_count(st, "availableReplicas", available);
  set_count(st, "unavailableReplicas", unavailable > 0 ? unavailable : 0);
  free(all);
  json_t *conds = json_object_get(old, "conditions");
  if (json_is_array(conds) && json_array_size(conds))
    json_object_set_new(st, "conditions", json_deep_copy(conds));
  json_t *cc = json_object_get(old, "collisionCount");
  if (cc)
    json_object_set(st, "collisionCount", cc);
  if (available >= dp->replicas - dp_max_unavailable(dp))
    cond_set(st, cond_new(dp, "Available", "True", "MinimumReplicasAvailable",
                          "Deployment has minimum availability."));
  else
    cond_set(st, cond_new(dp, "Available", "False", "MinimumReplicasUnavailable",
                          "Deployment does not have minimum availability."));
  return st;
}

void dp_sync_status(dp_t *dp)
{
  json_object_set_new(dp->d, "status", dp_calc_status(dp));
}

bool dp_complete(const dp_t *dp, json_t *st)
{
  return json_int(st, "updatedReplicas", 0) == dp->replicas
         && json_int(st, "replicas", 0) == dp->replicas
         && json_int(st, "availableReplicas", 0) == dp->replicas
         && json_int(st, "observedGeneration", 0) >= json_int(md_of(dp->d), "generation", 0);
}

/* Kubernetes' DeploymentProgressing: more updated, fewer old, more ready or
 * more available pods than the last status said. */
static bool progressing(dp_t *dp, json_t *st)
{
  json_t *old = status_of(dp);
#define F(s, k) json_int(s, k, 0)
  return F(st, "updatedReplicas") > F(old, "updatedReplicas")
         || F(st, "replicas") - F(st, "updatedReplicas")
                < F(old, "replicas") - F(old, "updatedReplicas")
         || F(st, "readyReplicas") > F(old, "readyReplicas")
         || F(st, "availableReplicas") > F(old, "availableReplicas");
#undef F
}

static int64_t last_update(json_t *c)
{
  return ctrl_time_parse(json_str(c, "lastUpdateTime") ?: json_str(c, "lastTransitionTime"));
}

static bool timed_out(dp_t *dp, json_t *st)
{
  json_t *c = cond_get(st, PROGRESSING);
  if (!c || cond_is(c, "NewReplicaSetAvailable"))
    return false;
  if (cond_is(c, "ProgressDeadlineExceeded"))
    return true;
  int64_t from = last_update(c);
  return from && from + dp->deadline_s * 1000000000LL < dp->x->now;
}

/* The first ReplicaFailure a set reports (the new one first) becomes the
 * Deployment's. */
static void replica_failure(dp_t *dp, json_t *st)
{
  json_t *found = dp->new_rs ? ctrl_condition(dp->new_rs->obj, "ReplicaFailure") : NULL;
  for (size_t i = 0; i < dp->nrs && !found; i++)
    found = ctrl_condition(dp->rs[i].obj, "ReplicaFailure");
  if (!found || !json_str(found, "status")) {
    cond_remove(st, "ReplicaFailure");
    return;
  }
  cond_set(st, cond_new(dp, "ReplicaFailure", json_str(found, "status"),
                        json_str(found, "reason") ?: "", json_str(found, "message") ?: ""));
}

void dp_sync_rollout_status(dp_t *dp)
{
  json_t *st = dp_calc_status(dp);
  if (!has_deadline(dp))
    cond_remove(st, PROGRESSING);
  json_t *cur = cond_get(status_of(dp), PROGRESSING);
  bool done = json_int(st, "replicas", 0) == json_int(st, "updatedReplicas", 0)
              && cond_is(cur, "NewReplicaSetAvailable");
  const char *rs_name = dp->new_rs ? json_str(md_of(dp->new_rs->obj), "name") : NULL;
  const char *what = rs_name ? "ReplicaSet" : "Deployment";
  const char *who = rs_name ? rs_name : dp->name;
  if (has_deadline(dp) && !done) {
    if (dp_complete(dp, st)) {
      cleanup_free char *msg = xasprintf("%s \"%s\" has successfully progressed.", what, who);
      cond_set(st, cond_new(dp, PROGRESSING, "True", "NewReplicaSetAvailable", msg));
    } else if (progressing(dp, st)) {
      cleanup_free char *msg = xasprintf("%s \"%s\" is progressing.", what, who);
      json_t *c = cond_new(dp, PROGRESSING, "True", "ReplicaSetUpdated", msg);
      /* progress moves lastUpdateTime even when the reason stays */
      json_t *since = json_object_get(cur, "lastTransitionTime");
      if (cur && !strcmp(json_str(cur, "status") ?: "", "True") && since)
        json_object_set(c, "lastTransitionTime", since);
      cond_remove(st, PROGRESSING);
      cond_set(st, c);
    } else if (timed_out(dp, st)) {
      cleanup_free char *msg = xasprintf("%s \"%s\" has timed out progressing.", what, who);
      cond_set(st, cond_new(dp, PROGRESSING, "False", "ProgressDeadlineExceeded", msg));
    }
  }
  replica_failure(dp, st);
  json_object_set_new(dp->d, "status", st);

  /* no progress yet: look again when the deadline passes */
  json_t *c = cond_get(st, PROGRESSING);
  if (has_deadline(dp) && c && !dp_complete(dp, st) && !cond_is(c, "ProgressDeadlineExceeded")
      && !cond_is(c, "NewReplicaSetAvailable") && !cond_is(c, "DeploymentPaused")) {
    int64_t after = last_update(c) + dp->deadline_s * 1000000000LL - dp->x->now;
    ctrl_requeue_after(dp->x, after < 1000000000LL ? 1000000000LL : after + 1000000000LL);
  }
}

/* ---- one sync ------------------------------------------------------------------ */

static bool same(json_t *a, json_t *b)
{
  return a == b || (a && b && json_equal(a, b));
}

static void dp_flush(dp_t *dp)
{
  ctrl_ctx_t *x = dp->x;
  for (size_t i = 0; i < dp->nrs; i++) {
    dp_rs_t *rs = &dp->rs[i];
    if (rs->deleted)
      continue;
    if (!rs->orig)
      ctrl_act_create(x->out, "replicasets", json_incref(rs->obj));
    else if (!json_equal(rs->obj, rs->orig))
      ctrl_act_update(x->out, "replicasets", json_incref(rs->obj));
  }
  if (!same(json_object_get(dp->orig, "status"), json_object_get(dp->d, "status")))
    ctrl_act_update_status(x->out, "deployments", json_deep_copy(dp->d));
  if (!same(json_object_get(md_of(dp->orig), "annotations"),
            json_object_get(md_of(dp->d), "annotations")))
    ctrl_act_update(x->out, "deployments", json_deep_copy(dp->d));
  for (size_t i = 0; i < dp->events.n; i++) {
    ctrl_action_t *e = &dp->events.v[i];
    ctrl_act_event(x->out, e->obj, e->type, e->reason, "%s", e->message);
  }
}

static void dp_free(dp_t *dp)
{
  for (size_t i = 0; i < dp->nrs; i++) {
    json_decref(dp->rs[i].obj);
    json_decref(dp->rs[i].orig);
  }
  free(dp->rs);
  json_decref(dp->d);
  api_label_selector_free(dp->sel);
  ctrl_actions_clear(&dp->events);
}

void ctrl_deploy_sync(ctrl_ctx_t *x, const char *ns, const char *name)
{
  json_t *orig = ctrl_cache_get(x->cache, "deployments", ns, name);
  if (!orig || !json_str(md_of(orig), "uid"))
    return;
  dp_t dp = { .x = x, .orig = orig, .name = name, .d = json_deep_copy(orig) };
  if (!dp_parse(&dp)) {
    dp_free(&dp);
    return;
  }
  dp_load_sets(&dp);
  dp_sync_new_rs(&dp);
  if (json_object_get(md_of(orig), "deletionTimestamp")) {
    dp_sync_status(&dp);
  } else {
    check_paused(&dp);
    if (dp.paused || dp_is_scaling_event(&dp)) {
      dp_scale(&dp);
      if (dp.paused)
        dp_cleanup(&dp);
      dp_sync_status(&dp);
    } else if (dp.recreate) {
      dp_rollout_recreate(&dp);
    } else {
      dp_rollout_rolling(&dp);
    }
  }
  dp_flush(&dp);
  dp_free(&dp);
}

/* A Deployment changed: itself. A set changed: its Deployment, and for an
 * orphan every Deployment that may adopt it. A pod went away: its
 * Deployment when it uses Recreate (which waits for the old pods to go). */
void ctrl_deploy_keys(ctrl_ctx_t *x, size_t self, const char *resource, json_t *old, json_t *obj,
                      ctrl_keys_t *out)
{
  resource = ctrl_resource_base(resource);
  if (!strcmp(resource, "deployments")) {
    json_t *md = md_of(obj ? obj : old);
    ctrl_keys_add_once(out, self, json_str(md, "namespace"), json_str(md, "name"));
  } else if (!strcmp(resource, "replicasets")) {
    if (old)
      ctrl_keys_controller(out, self, old, "Deployment");
    if (obj) {
      ctrl_keys_controller(out, self, obj, "Deployment");
      if (!ctrl_controller_ref(obj) && !json_object_get(md_of(obj), "deletionTimestamp"))
        ctrl_keys_selecting(x, out, self, "deployments", obj);
    }
  } else if (!strcmp(resource, "pods") && old && !obj) {
    json_t *ref = ctrl_controller_ref(old);
    const char *ns = json_str(md_of(old), "namespace") ?: "";
    if (!ref || strcmp(json_str(ref, "kind") ?: "", "ReplicaSet") || !json_str(ref, "name"))
      return;
    json_t *rs = ctrl_cache_get(x->cache, "replicasets", ns, json_str(ref, "name"));
    json_t *dref = ctrl_controller_ref(rs);
    if (!dref || strcmp(json_str(dref, "kind") ?: "", "Deployment") || !json_str(dref, "name"))
      return;
    json_t *d = ctrl_cache_get(x->cache, "deployments", ns, json_str(dref, "name"));
    const char *type = json_str(json_object_get(json_object_get(d, "spec"), "strategy"), "type");
    if (type && !strcmp(type, "Recreate"))
      ctrl_keys_add_once(out, self, ns, json_str(dref, "name"));
  }
}
