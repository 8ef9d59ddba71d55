/* deployment_rollout.c — how big each of a Deployment's ReplicaSets should
 * be: one step of a rolling update or a recreate per sync, proportional
 * scaling when spec.replicas changes mid-rollout, and the history cleanup.
 *
 * The rolling update is Kubernetes': grow the new set while the total of
 * all sets stays within replicas + maxSurge; shrink old sets while the
 * available pods (as the sets' status reports them, but no more in a set
 * than its spec.replicas: dp_rs_available) stay at or above
 * replicas - maxUnavailable, counting the new set's not-yet-available pods
 * as already missing, and shrinking the old sets' unavailable pods first so
 * that broken old pods cannot block a rollout. One kind of step per sync
 * (grow, or shrink): the next sync sees the result and the new status. */
#include "ctrl/deployment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int64_t min64(int64_t a, int64_t b)
{
  return a < b ? a : b;
}

static const char *rs_name(const dp_rs_t *rs)
{
  return json_str(json_object_get(rs->obj, "metadata"), "name") ?: "";
}

/* Oldest first, then by name. */
static int by_age(const void *pa, const void *pb)
{
  const dp_rs_t *a = *(dp_rs_t *const *)pa, *b = *(dp_rs_t *const *)pb;
  int64_t ta = dp_rs_created(a), tb = dp_rs_created(b);
  if (ta != tb)
    return ta < tb ? -1 : 1;
  return strcmp(rs_name(a), rs_name(b));
}

static int by_age_newest(const void *a, const void *b)
{
  return by_age(b, a);
}

/* Larger first; among equals the older first (for scaling down). */
static int by_size_older(const void *pa, const void *pb)
{
  const dp_rs_t *a = *(dp_rs_t *const *)pa, *b = *(dp_rs_t *const *)pb;
  int64_t na = dp_rs_replicas(a), nb = dp_rs_replicas(b);
  if (na != nb)
    return na > nb ? -1 : 1;
  return by_age(pa, pb);
}

/* Larger first; among equals the newer first (for scaling up). */
static int by_size_newer(const void *pa, const void *pb)
{
  const dp_rs_t *a = *(dp_rs_t *const *)pa, *b = *(dp_rs_t *const *)pb;
  int64_t na = dp_rs_replicas(a), nb = dp_rs_replicas(b);
  if (na != nb)
    return na > nb ? -1 : 1;
  return by_age(pb, pa);
}

/* ---- rolling update ------------------------------------------------------------ */

/* Kubernetes' reconcileNewReplicaSet. */
static bool reconcile_new(dp_t *dp)
{
  dp_rs_t *rs = dp->new_rs;
  int64_t have = dp_rs_replicas(rs);
  if (have == dp->replicas)
    return false;
  if (have > dp->replicas)
    return dp_scale_rs(dp, rs, dp->replicas, false);
  return dp_scale_rs(dp, rs, dp_new_rs_replicas(dp, rs), false);
}

/* Scales old sets down by their unavailable pods, at most max in all
 * (Kubernetes' cleanupUnhealthyReplicas). */
static int64_t scale_down_unhealthy(dp_t *dp, dp_rs_t **old, size_t n, int64_t max)
{
  qsort(old, n, sizeof *old, by_age);
  int64_t total = 0;
  for (size_t i = 0; i < n && total < max; i++) {
    int64_t have = dp_rs_replicas(old[i]), avail = dp_rs_available(old[i]);
    if (have == 0 || have <= avail)
      continue;
    int64_t down = min64(max - total, have - avail);
    dp_scale_rs(dp, old[i], have - down, false);
    total += down;
  }
  return total;
}

/* Scales the active old sets down, oldest first, while enough pods stay
 * available (Kubernetes' scaleDownOldReplicaSetsForRollingUpdate). */
static int64_t scale_down_old(dp_t *dp, dp_rs_t **old, size_t n)
{
  /* old sets already at 0 do not count: their pods are on their way out */
  int64_t available = dp_sum_available(old, n) + dp_rs_available(dp->new_rs);
  int64_t min_available = dp->replicas - dp_max_unavailable(dp);
  if (available <= min_available)
    return 0;
  qsort(old, n, sizeof *old, by_age);
  int64_t want = available - min_available, total = 0;
  for (size_t i = 0; i < n && total < want; i++) {
    int64_t have = dp_rs_replicas(old[i]);
    if (have == 0)
      continue;
    int64_t down = min64(have, want - total);
    dp_scale_rs(dp, old[i], have - down, false);
    total += down;
  }
  return total;
}

/* Kubernetes' reconcileOldReplicaSets. */
static bool reconcile_old(dp_t *dp)
{
  dp_rs_t **old = xcalloc(dp->nrs + 1, sizeof *old);
  size_t nold = dp_old_sets(dp, old, false);
  int64_t old_pods = dp_sum(old, nold, NULL);
  int64_t all_pods = old_pods + dp_rs_replicas(dp->new_rs);
  bool scaled = false;
  if (old_pods > 0) {
    int64_t min_available = dp->replicas - dp_max_unavailable(dp);
    int64_t new_unavailable = dp_rs_replicas(dp->new_rs) - dp_rs_available(dp->new_rs);
    int64_t max_down = all_pods - min_available - new_unavailable;
    if (max_down > 0) {
      nold = dp_old_sets(dp, old, true);
      int64_t n = scale_down_unhealthy(dp, old, nold, max_down);
      nold = dp_old_sets(dp, old, true);
      n += scale_down_old(dp, old, nold);
      scaled = n > 0;
    }
  }
  free(old);
  return scaled;
}

void dp_rollout_rolling(dp_t *dp)
{
  if (!dp->new_rs && !dp_create_new_rs(dp))
    return;
  bool was_complete = dp_complete(dp, json_object_get(dp->d, "status"));
  if (!reconcile_new(dp) && !reconcile_old(dp) && was_complete)
    dp_cleanup(dp);
  dp_sync_rollout_status(dp);
}

/* ---- recreate ----------------------------------------------------------------- */

/* Whether a pod of an old set still exists and has not finished (being
 * deleted counts: Recreate waits until it is gone). */
static bool old_pods_running(dp_t *dp)
{
  dp_rs_t **old = xcalloc(dp->nrs + 1, sizeof *old);
  size_t nold = dp_old_sets(dp, old, false);
  bool running = dp_sum(old, nold, "replicas") > 0;
  free(old);
  for (size_t i = 0; i < dp->nrs && !running; i++) {
    if (&dp->rs[i] == dp->new_rs)
      continue;
    const char *uid = json_str(json_object_get(dp->rs[i].obj, "metadata"), "uid");
    cleanup_json json_t *pods = ctrl_cache_owned(dp->x->cache, "pods", uid);
    size_t j;
    json_t *p;
    json_array_foreach(pods, j, p)
    {
      const char *phase = json_str(json_object_get(p, "status"), "phase") ?: "";
      if (strcmp(phase, "Succeeded") && strcmp(phase, "Failed"))
        running = true;
    }
  }
  return running;
}

void dp_rollout_recreate(dp_t *dp)
{
  dp_rs_t **old = xcalloc(dp->nrs + 1, sizeof *old);
  size_t nold = dp_old_sets(dp, old, true);
  bool scaled = false;
  for (size_t i = 0; i < nold; i++)
    scaled |= dp_scale_rs(dp, old[i], 0, false);
  free(old);
  if (scaled || old_pods_running(dp)) {
    dp_sync_rollout_status(dp);
    return;
  }
  if (!dp->new_rs && !dp_create_new_rs(dp))
    return;
  dp_scale_rs(dp, dp->new_rs, dp->replicas, false);
  if (dp_complete(dp, json_object_get(dp->d, "status")))
    dp_cleanup(dp);
  dp_sync_rollout_status(dp);
}

/* ---- scaling ------------------------------------------------------------------ */

bool dp_is_scaling_event(dp_t *dp)
{
  for (size_t i = 0; i < dp->nrs; i++) {
    dp_rs_t *rs = &dp->rs[i];
    int64_t desired;
    if (dp_rs_replicas(rs) > 0 && dp_rs_annotation_int(rs, DP_DESIRED, &desired)
        && desired != dp->replicas)
      return true;
  }
  return false;
}

static bool saturated(dp_t *dp, dp_rs_t *rs)
{
  int64_t desired;
  return rs && dp_rs_annotation_int(rs, DP_DESIRED, &desired) && desired == dp->replicas
         && dp_rs_replicas(rs) == dp->replicas
         && dp_rs_status(rs, "availableReplicas") == dp->replicas;
}

/* How many replicas of to_add (added so far: added) rs should take: its
 * share of the new total by its size against the total it was sized for
 * (Kubernetes' GetProportion and getReplicaSetFraction). */
static int64_t proportion(dp_t *dp, dp_rs_t *rs, int64_t to_add, int64_t added)
{
  int64_t have = dp_rs_replicas(rs);
  if (have == 0 || to_add == 0 || to_add == added)
    return 0;
  int64_t fraction;
  if (dp->replicas == 0) {
    fraction = -have;
  } else {
    int64_t annotated;
    if (!dp_rs_annotation_int(rs, DP_MAX, &annotated))
      annotated = json_int(json_object_get(dp->orig, "status"), "replicas", 0);
    if (annotated <= 0)
      return 0;
    double size = (double)have * (double)(dp->replicas + dp_max_surge(dp)) / (double)annotated;
    fraction = (int64_t)llround(size) - have;
  }
  int64_t allowed = to_add - added;
  return to_add > 0 ? min64(fraction, allowed) : (fraction > allowed ? fraction : allowed);
}

/* Spreads (replicas + maxSurge) - (what the sets have) over the active sets,
 * the leftover to the first (largest) one. */
static void scale_proportionally(dp_t *dp, dp_rs_t **sets, size_t n)
{
  int64_t allowed = dp->replicas > 0 ? dp->replicas + dp_max_surge(dp) : 0;
  int64_t to_add = allowed - dp_sum(sets, n, NULL);
  if (to_add > 0)
    qsort(sets, n, sizeof *sets, by_size_newer);
  else if (to_add < 0)
    qsort(sets, n, sizeof *sets, by_size_older);
  int64_t *size = xcalloc(n + 1, sizeof *size), added = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t p = proportion(dp, sets[i], to_add, added);
    size[i] = dp_rs_replicas(sets[i]) + p;
    added += p;
  }
  for (size_t i = 0; i < n; i++) {
    if (i == 0 && to_add != 0) {
      size[i] += to_add - added;
      if (size[i] < 0)
        size[i] = 0;
    }
    dp_scale_rs(dp, sets[i], size[i], true);
  }
  free(size);
}

void dp_scale(dp_t *dp)
{
  dp_rs_t **old = xcalloc(dp->nrs + 1, sizeof *old);
  dp_rs_t **active = xcalloc(dp->nrs + 1, sizeof *active);
  size_t nold = dp_old_sets(dp, old, false), nactive = 0;
  qsort(old, nold, sizeof *old, by_age_newest);
  for (size_t i = 0; i < nold; i++)
    if (dp_rs_replicas(old[i]) > 0)
      active[nactive++] = old[i];
  if (dp->new_rs && dp_rs_replicas(dp->new_rs) > 0)
    active[nactive++] = dp->new_rs;

  /* one active set, or none: it (or the newest) takes spec.replicas */
  dp_rs_t *only = nactive == 1 ? active[0] : NULL;
  if (nactive == 0)
    only = dp->new_rs ? dp->new_rs : nold ? old[0] : NULL;
  if (only || nactive == 0) {
    /* Kubernetes leaves the annotations alone when the size is right; then
     * a stale desired-replicas would make every sync a scaling event */
    if (only)
      dp_scale_rs(dp, only, dp->replicas, true);
  } else if (saturated(dp, dp->new_rs)) {
    /* the new set is complete: what an adoption left behind goes */
    for (size_t i = 0; i < nactive; i++)
      if (active[i] != dp->new_rs)
        dp_scale_rs(dp, active[i], 0, false);
  } else if (!dp->recreate) {
    scale_proportionally(dp, active, nactive);
  }
  free(old);
  free(active);
}

/* ---- history ------------------------------------------------------------------ */

static int by_revision(const void *pa, const void *pb)
{
  const dp_rs_t *a = *(dp_rs_t *const *)pa, *b = *(dp_rs_t *const *)pb;
  int64_t ra = dp_rs_revision(a), rb = dp_rs_revision(b);
  if (ra != rb)
    return ra < rb ? -1 : 1;
  return by_age(pa, pb);
}

void dp_cleanup(dp_t *dp)
{
  if (dp->history_limit == DP_NO_HISTORY_LIMIT)
    return;
  dp_rs_t **old = xcalloc(dp->nrs + 1, sizeof *old);
  size_t nold = dp_old_sets(dp, old, false), n = 0;
  for (size_t i = 0; i < nold; i++)
    if (!json_object_get(json_object_get(old[i]->obj, "metadata"), "deletionTimestamp"))
      old[n++] = old[i];
  if ((int64_t)n > dp->history_limit) {
    qsort(old, n, sizeof *old, by_revision);
    int64_t diff = (int64_t)n - dp->history_limit;
    for (int64_t i = 0; i < diff; i++) {
      dp_rs_t *rs = old[i];
      json_t *md = json_object_get(rs->obj, "metadata");
      /* only sets at 0 whose controller has seen their last change */
      if (!rs->orig || dp_rs_status(rs, "replicas") != 0 || dp_rs_replicas(rs) != 0
          || json_int(md, "generation", 0) > dp_rs_status(rs, "observedGeneration"))
        continue;
      ctrl_act_delete(dp->x->out, "replicasets", json_str(md, "namespace"), json_str(md, "name"),
                      json_str(md, "uid"), -1);
      rs->deleted = true;
    }
  }
  free(old);
}
