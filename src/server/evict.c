/* evict.c — POST pods/NAME/eviction, the Eviction API that `kubectl drain`
 * uses: delete a pod unless that would break a PodDisruptionBudget.
 *
 * As Kubernetes' EvictionREST: a pod that is not running (Pending,
 * Succeeded, Failed, or already being deleted) goes at once. Otherwise the
 * PodDisruptionBudgets of its namespace whose selector matches its labels
 * decide: none — the pod is deleted; more than one — 500, not supported;
 * one — its status.disruptionsAllowed is checked and decremented in one
 * conflict-checked update of the budget (re-read and retried on conflict),
 * with the pod recorded in status.disruptedPods, and only then is the pod
 * deleted. A budget with no disruption left (or not yet observed by its
 * controller) is 429 TooManyRequests, which drain retries. An unready pod
 * may go without spending the budget when the budget says so
 * (unhealthyPodEvictionPolicy AlwaysAllow, or enough healthy pods).
 * Deletion honours the Eviction's deleteOptions (grace period,
 * preconditions, dryRun) and is graceful like any pod DELETE. */
#include "api/api.h"
#include "server/internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DISRUPTED_PODS 2000
#define EVICT_RETRIES      10

typedef struct evict_opts {
  int64_t grace;        /* -1: the pod's own */
  const char *uid, *rv; /* preconditions from the body */
  bool dry_run;
} evict_opts_t;

static bool pod_ready(json_t *pod)
{
  json_t *conds = json_object_get(json_object_get(pod, "status"), "conditions"), *c;
  size_t i;
  json_array_foreach(conds, i, c)
  {
    const char *t = json_str(c, "type"), *s = json_str(c, "status");
    if (t && s && !strcmp(t, "Ready"))
      return !strcmp(s, "True");
  }
  return false;
}

/* canIgnorePDB: the pod disrupts nothing by going. */
static bool pdb_irrelevant(json_t *pod)
{
  const char *phase = json_str(json_object_get(pod, "status"), "phase");
  const char *dts = json_str(json_object_get(pod, "metadata"), "deletionTimestamp");
  return !phase || !strcmp(phase, "Pending") || !strcmp(phase, "Succeeded")
         || !strcmp(phase, "Failed") || (dts && *dts);
}

/* 429 with the budget's cause, as Kubernetes' createTooManyRequestsError. */
static void too_many(srv_resp_t *r, const char *cause)
{
  json_t *st = srv_status_json(429, "TooManyRequests",
                               "Cannot evict pod as it would violate the pod's disruption budget.");
  json_object_set_new(
      st, "details",
      json_pack("{s:[{s:s, s:s}]}", "causes", "reason", "DisruptionBudget", "message", cause));
  srv_resp_json(r, 429, st);
}

/* The budgets of ns whose selector selects the pod's labels. */
static int matching_pdbs(srv_t *s, const char *ns, json_t *pod, json_t **out, berr_t *err)
{
  const srv_kind_t *pk = srv_kind_find("policy", "poddisruptionbudgets");
  cleanup_free char *prefix = srv_obj_key(pk, ns, NULL);
  store_list_req_t lr = { .prefix = prefix };
  store_list_t l = { 0 };
  if (store_list(s->store, &lr, &l, err) < 0)
    return -1;
  json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
  *out = json_array();
  for (size_t i = 0; i < l.n; i++) {
    json_t *pdb = srv_obj_load(l.items[i].value, l.items[i].len, l.items[i].mod_rev);
    api_label_selector_t *ls = NULL;
    berr_t e = BERR_INIT;
    json_t *sel = json_object_get(json_object_get(pdb, "spec"), "selector");
    /* A null or empty selector matches nothing here, not everything. */
    if (api_label_selector_from_json(sel, &ls, &e) == 0 && !ls->nothing && ls->n > 0
        && api_label_selector_matches(ls, labels))
      json_array_append(*out, pdb);
    berr_clear(&e);
    api_label_selector_free(ls);
    json_decref(pdb);
  }
  store_list_free(&l);
  return 0;
}

/* ---- the budget's check and decrement -------------------------------------------- */

typedef struct budget {
  srv_resp_t *r;
  const char *pod;
  bool dry_run;
  bool responded; /* r holds the 429/403 */
} budget_t;

static int budget_refuse(budget_t *b, berr_t *err)
{
  b->responded = true;
  return berr_setc(err, EBADMSG, "answered");
}

/* apimeta.SetStatusCondition of the DisruptionAllowed condition. */
static void set_allowed_condition(json_t *st, bool allowed)
{
  json_t *conds = json_object_get(st, "conditions"), *c = NULL, *e;
  if (!json_is_array(conds)) {
    conds = json_array();
    json_object_set_new(st, "conditions", conds);
  }
  size_t i;
  json_array_foreach(conds, i, e)
  {
    if (json_str(e, "type") && !strcmp(json_str(e, "type"), "DisruptionAllowed"))
      c = e;
  }
  const char *status = allowed ? "True" : "False";
  if (!c) {
    c = json_pack("{s:s, s:s}", "type", "DisruptionAllowed", "message", "");
    json_array_append_new(conds, c);
  }
  if (!json_str(c, "status") || strcmp(json_str(c, "status"), status)) {
    json_object_set_new(c, "status", json_string(status));
    json_object_set_new(c, "lastTransitionTime", srv_str_own(time_rfc3339_sec(time_now_ns())));
  }
  json_object_set_new(c, "reason", json_string(allowed ? "SufficientPods" : "InsufficientPods"));
  json_object_set_new(c, "observedGeneration", json_integer(json_int(st, "observedGeneration", 0)));
}

static int budget_fn(void *arg, const store_kv_t *cur, char **out, size_t *out_len, berr_t *err)
{
  budget_t *b = arg;
  cleanup_json json_t *pdb = json_loadb(cur->value, cur->len, 0, NULL);
  json_t *meta = json_object_get(pdb, "metadata"), *st = json_object_get(pdb, "status");
  const char *name = json_str(meta, "name") ?: "";
  if (!json_is_object(st)) {
    st = json_object();
    json_object_set_new(pdb, "status", st);
  }
  if (json_int(st, "observedGeneration", 0) < json_int(meta, "generation", 0)) {
    cleanup_free char *why
        = xasprintf("The disruption budget %s is still being processed by the server.", name);
    too_many(b->r, why);
    return budget_refuse(b, err);
  }
  int64_t allowed = json_int(st, "disruptionsAllowed", 0);
  if (allowed < 0 || json_object_size(json_object_get(st, "disruptedPods")) > MAX_DISRUPTED_PODS) {
    srv_resp_status(b->r, 403, "Forbidden", "poddisruptionbudget", name,
                    "poddisruptionbudget.policy \"%s\" is forbidden: %s", name,
                    allowed < 0 ? "pdb disruptions allowed is negative"
                                : "DisruptedPods map too big - too many evictions not confirmed "
                                  "by PDB controller");
    return budget_refuse(b, err);
  }
  if (allowed == 0) {
    cleanup_free char *why = xasprintf(
        "The disruption budget %s needs %" PRId64 " healthy pods and has %" PRId64 " currently",
        name, json_int(st, "desiredHealthy", 0), json_int(st, "currentHealthy", 0));
    too_many(b->r, why);
    return budget_refuse(b, err);
  }
  if (b->dry_run)
    return STORE_UNCHANGED;
  json_object_set_new(st, "disruptionsAllowed", json_integer(allowed - 1));
  if (allowed - 1 == 0)
    set_allowed_condition(st, false);
  json_t *dp = json_object_get(st, "disruptedPods");
  if (!json_is_object(dp)) {
    dp = json_object();
    json_object_set_new(st, "disruptedPods", dp);
  }
  json_object_set_new(dp, b->pod, srv_str_own(time_rfc3339_sec(time_now_ns())));
  json_object_del(meta, "resourceVersion");
  *out = json_dumps(pdb, JSON_COMPACT | JSON_SORT_KEYS);
  *out_len = strlen(*out);
  return 0;
}

/* ---- the request ---------------------------------------------------------------- */

static int parse_options(srv_req_t *q, json_t *ev, evict_opts_t *o, berr_t *err)
{
  o->grace = -1;
  json_t *d = json_object_get(ev, "deleteOptions");
  if (d && !json_is_null(d) && !json_is_object(d))
    return berr_setc(err, EINVAL, "deleteOptions: must be an object");
  json_t *g = json_object_get(d, "gracePeriodSeconds");
  if (g && !json_is_null(g)) {
    if (!json_is_integer(g) || json_integer_value(g) < 0)
      return berr_setc(err, EINVAL, "deleteOptions.gracePeriodSeconds must be a whole number >= 0");
    o->grace = json_integer_value(g);
  }
  json_t *pre = json_object_get(d, "preconditions");
  o->uid = json_str(pre, "uid");
  o->rv = json_str(pre, "resourceVersion");
  json_t *dr = json_object_get(d, "dryRun"), *v;
  size_t i;
  json_array_foreach(dr, i, v) o->dry_run
      |= json_is_string(v) && !strcmp(json_string_value(v), "All");
  const char *qdr = q->query(q->conn, "dryRun");
  o->dry_run |= qdr && !strcmp(qdr, "All");
  return 0;
}

/* Deletes the pod as the eviction's options say, rv (when not NULL) as an
 * extra precondition. */
static int delete_pod(srv_t *s, const srv_kind_t *k, const char *ns, const char *name,
                      const evict_opts_t *o, const char *rv, berr_t *err)
{
  if (o->dry_run)
    return 0;
  return srv_obj_delete_opts(s, k, ns, name, o->grace, o->uid, o->rv ? o->rv : rv, err);
}

static void success(srv_resp_t *r)
{
  srv_resp_json(r, 201,
                json_pack("{s:s, s:s, s:{}, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
                          "metadata", "status", "Success", "code", 201));
}

static void delete_failed(srv_resp_t *r, const srv_kind_t *k, const char *name, berr_t *err)
{
  if (err->code == EPERM) {
    srv_resp_status(r, 409, "Conflict", k->resource, name, "%s", err->msg);
    berr_clear(err);
  } else {
    srv_store_error(r, k, name, err);
  }
}

void srv_do_evict(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                  const char *name)
{
  cleanup_json json_t *ev = srv_decode_body(q, r);
  if (!ev)
    return;
  const char *av = json_str(ev, "apiVersion"), *kind = json_str(ev, "kind");
  if ((kind && strcmp(kind, "Eviction"))
      || (av && strcmp(av, "policy/v1") && strcmp(av, "policy/v1beta1")))
    return srv_resp_status(r, 400, "BadRequest", NULL, NULL,
                           "the body is %s %s, not a policy/v1 Eviction", av ? av : "",
                           kind ? kind : "");
  const char *ename = json_str(json_object_get(ev, "metadata"), "name");
  if (ename && *ename && strcmp(ename, name))
    return srv_resp_status(r, 400, "BadRequest", NULL, NULL,
                           "name in URL does not match name in Eviction object");
  evict_opts_t o = { 0 };
  berr_t err = BERR_INIT;
  if (parse_options(q, ev, &o, &err) < 0) {
    srv_resp_status(r, 400, "BadRequest", NULL, NULL, "%s", err.msg);
    berr_clear(&err);
    return;
  }
  srv_t *s = q->srv;
  for (int attempt = 0;; attempt++) {
    json_t *pod;
    if (srv_obj_get(s, k, ns, name, &pod, NULL, r) < 0)
      return;
    cleanup_json json_t *pod_ref = pod;
    if (!srv_authorize(q, r, k, "create", ns, name, "eviction", pod, ev))
      return;
    const char *pod_rv = json_str(json_object_get(pod, "metadata"), "resourceVersion");
    if (pdb_irrelevant(pod)) {
      /* Gone at once, unless the pod changed meanwhile (then look again). */
      if (delete_pod(s, k, ns, name, &o, pod_rv, &err) == 0)
        return success(r);
      if (err.code == EPERM && !o.rv && attempt < EVICT_RETRIES) {
        berr_clear(&err);
        continue;
      }
      return delete_failed(r, k, name, &err);
    }
    cleanup_json json_t *pdbs = NULL;
    if (matching_pdbs(s, ns, pod, &pdbs, &err) < 0)
      return srv_store_error(r, k, name, &err);
    if (json_array_size(pdbs) > 1) {
      json_t *st = srv_status_json(500, "InternalError",
                                   "This pod has more than one PodDisruptionBudget, which the "
                                   "eviction subresource does not support.");
      json_object_del(st, "reason");
      return srv_resp_json(r, 500, st);
    }
    if (json_array_size(pdbs) == 1) {
      json_t *pdb = json_array_get(pdbs, 0), *pst = json_object_get(pdb, "status");
      const char *policy = json_str(json_object_get(pdb, "spec"), "unhealthyPodEvictionPolicy");
      int64_t cur = json_int(pst, "currentHealthy", 0), want = json_int(pst, "desiredHealthy", 0);
      const char *pdb_name = json_str(json_object_get(pdb, "metadata"), "name");
      if (!pod_ready(pod)
          && ((policy && !strcmp(policy, "AlwaysAllow")) || (want > 0 && cur >= want))) {
        /* An unready pod is no healthy one to spend the budget on; it may
         * go as long as it does not turn ready meanwhile. */
        if (delete_pod(s, k, ns, name, &o, pod_rv, &err) == 0)
          return success(r);
        if (err.code == EPERM && !o.rv) {
          berr_clear(&err);
          cleanup_free char *why = xasprintf(
              "The disruption budget %s is still being processed by the server.", pdb_name);
          return too_many(r, why);
        }
        return delete_failed(r, k, name, &err);
      }
      const srv_kind_t *pk = srv_kind_find("policy", "poddisruptionbudgets");
      cleanup_free char *key = srv_obj_key(pk, ns, pdb_name);
      budget_t b = { .r = r, .pod = name, .dry_run = o.dry_run };
      if (store_guaranteed_update(s->store, key, false, budget_fn, &b, NULL, &err) < 0) {
        if (b.responded)
          berr_clear(&err);
        else
          srv_store_error(r, pk, pdb_name, &err);
        return;
      }
    }
    if (delete_pod(s, k, ns, name, &o, NULL, &err) < 0)
      return delete_failed(r, k, name, &err);
    return success(r);
  }
}
