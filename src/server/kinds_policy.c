/* kinds_policy.c — scheduling.k8s.io/v1 PriorityClasses and policy/v1
 * PodDisruptionBudgets: defaults, validation and Table columns; the two
 * built-in PriorityClasses every cluster has; and Kubernetes' priority
 * admission, which needs the store and so runs as the kinds' admit hook
 * (after validation, on create and update):
 *
 *   a pod gets spec.priority (and spec.preemptionPolicy) from the class its
 *   spec.priorityClassName names — 403 when there is no such class or when
 *   the pod already carries a different value — or, naming none, from the
 *   globalDefault class (whose name it then takes), else priority 0;
 *   at most one PriorityClass is the globalDefault (403 for a second).
 */
#include "server/kinds.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define HIGHEST_USER_PRIORITY 1000000000
#define PC_PREFIX             "/registry/priorityclasses/"

static const struct {
  const char *name;
  int64_t value;
  const char *description;
} system_classes[] = {
  { "system-node-critical", 2000001000,
    "Used for system critical pods that must not be moved from their current node." },
  { "system-cluster-critical", 2000000000,
    "Used for system critical pods that must run in the cluster, but can be moved to another "
    "node if necessary." },
};

/* ---- PriorityClasses ------------------------------------------------------------ */

/* Kubernetes' IsKnownSystemPriorityClass: NULL when name, value and
 * globalDefault are those of a built-in class, else why not (malloc'd). */
static char *system_class_problem(const char *name, json_t *value, bool global_default)
{
  for (size_t i = 0; i < ARRAY_SIZE(system_classes); i++) {
    if (strcmp(system_classes[i].name, name))
      continue;
    if (!json_is_integer(value) || json_integer_value(value) != system_classes[i].value)
      return xasprintf("value of %s PriorityClass must be %" PRId64, name, system_classes[i].value);
    if (global_default)
      return xasprintf("globalDefault of %s PriorityClass must be false", name);
    return NULL;
  }
  return xasprintf("%s is not a known system priority class", name);
}

void srv_validate_priorityclass(json_t *o, api_errors_t *errs)
{
  json_t *v = json_object_get(o, "value"), *gd = json_object_get(o, "globalDefault");
  if (!v || json_is_null(v))
    api_errors_add(errs, API_FERR_REQUIRED, "value", NULL, "%s", "");
  else if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN
           || json_integer_value(v) > INT32_MAX)
    api_errors_add(errs, API_FERR_INVALID, "value", v, "must be a 32-bit integer");
  if (gd && !json_is_null(gd) && !json_is_boolean(gd))
    api_errors_add(errs, API_FERR_INVALID, "globalDefault", gd, "must be a boolean");
  json_t *d = json_object_get(o, "description");
  if (d && !json_is_null(d) && !json_is_string(d))
    api_errors_add(errs, API_FERR_INVALID, "description", d, "must be a string");
  const char *name = json_str(json_object_get(o, "metadata"), "name");
  if (name && str_has_prefix(name, "system-")) {
    cleanup_free char *why = system_class_problem(name, v, json_is_true(gd));
    if (why)
      api_errors_add(errs, API_FERR_FORBIDDEN, "metadata.name", NULL,
                     "priority class names with 'system-' prefix are reserved for system use "
                     "only. error: %s",
                     why);
  } else if (json_is_integer(v) && json_integer_value(v) > HIGHEST_USER_PRIORITY) {
    api_errors_add(errs, API_FERR_FORBIDDEN, "value", NULL,
                   "maximum allowed value of a user defined priority is %d", HIGHEST_USER_PRIORITY);
  }
  json_t *pp = json_object_get(o, "preemptionPolicy");
  if (!pp || json_is_null(pp))
    json_object_set_new(o, "preemptionPolicy", pp = json_string("PreemptLowerPriority"));
  if (!json_is_string(pp)
      || (strcmp(json_string_value(pp), "PreemptLowerPriority")
          && strcmp(json_string_value(pp), "Never")))
    api_errors_add(errs, API_FERR_NOT_SUPPORTED, "preemptionPolicy", pp,
                   "supported values: \"Never\", \"PreemptLowerPriority\"");
}

void srv_validate_priorityclass_update(json_t *o, json_t *cur, api_errors_t *errs)
{
  if (!json_equal(json_object_get(o, "value"), json_object_get(cur, "value")))
    api_errors_add(errs, API_FERR_FORBIDDEN, "value", NULL, "may not be changed in an update.");
  json_t *pp = json_object_get(o, "preemptionPolicy");
  if (!json_equal(pp, json_object_get(cur, "preemptionPolicy")))
    api_errors_add(errs, API_FERR_INVALID, "preemptionPolicy", pp, "field is immutable");
}

/* The globalDefault class other than except (the lowest value when there
 * are several, as Kubernetes picks) in *out; NULL when there is none. */
static int default_class(srv_t *s, const char *except, json_t **out, berr_t *err)
{
  *out = NULL;
  store_list_req_t lr = { .prefix = PC_PREFIX };
  store_list_t l = { 0 };
  if (store_list(s->store, &lr, &l, err) < 0)
    return -1;
  for (size_t i = 0; i < l.n; i++) {
    /* every pod create asks: only a class marked as the default is decoded */
    const char *v = l.items[i].value, *vs, *ve;
    if (!srv_rj_path(v, v + l.items[i].len, "globalDefault", &vs, &ve) || ve - vs != 4
        || memcmp(vs, "true", 4))
      continue;
    json_t *pc = json_loadb(l.items[i].value, l.items[i].len, 0, NULL);
    const char *name = json_str(json_object_get(pc, "metadata"), "name");
    bool pick = json_is_true(json_object_get(pc, "globalDefault")) && name
                && (!except || strcmp(name, except))
                && (!*out || json_int(pc, "value", 0) < json_int(*out, "value", 0));
    if (pick) {
      json_decref(*out);
      *out = pc;
    } else {
      json_decref(pc);
    }
  }
  store_list_free(&l);
  return 0;
}

static void forbidden(srv_resp_t *r, const srv_kind_t *k, const char *name, const char *why)
{
  cleanup_free char *q = srv_kind_qualified(k);
  srv_resp_status(r, 403, "Forbidden", k->resource, name, "%s \"%s\" is forbidden: %s", q,
                  name ? name : "", why);
}

bool srv_admit_priorityclass(srv_t *s, srv_resp_t *r, json_t *o, json_t *cur)
{
  if (!json_is_true(json_object_get(o, "globalDefault"))
      || (cur && json_is_true(json_object_get(cur, "globalDefault"))))
    return true;
  const char *name = json_str(json_object_get(o, "metadata"), "name");
  const srv_kind_t *k = srv_kind_find("scheduling.k8s.io", "priorityclasses");
  json_t *dpc = NULL;
  berr_t err = BERR_INIT;
  if (default_class(s, name, &dpc, &err) < 0) {
    srv_store_error(r, k, name, &err);
    return false;
  }
  if (!dpc)
    return true;
  cleanup_free char *why
      = xasprintf("PriorityClass %s is already marked as default. Only one default can exist",
                  json_str(json_object_get(dpc, "metadata"), "name"));
  json_decref(dpc);
  forbidden(r, k, name, why);
  return false;
}

bool srv_admit_pod(srv_t *s, srv_resp_t *r, json_t *o, json_t *cur)
{
  if (cur)
    return true; /* srv_validate_pod_update keeps what create set */
  const srv_kind_t *pods = srv_kind_find("", "pods");
  json_t *spec = json_object_get(o, "spec");
  const char *name = json_str(json_object_get(o, "metadata"), "name");
  const char *pcn = json_str(spec, "priorityClassName");
  cleanup_json json_t *pc = NULL;
  berr_t err = BERR_INIT;
  if (pcn && *pcn) {
    cleanup_free char *key = xasprintf(PC_PREFIX "%s", pcn);
    store_kv_t kv = { 0 };
    if (store_get(s->store, key, &kv, NULL, &err) < 0) {
      if (err.code != ENOENT) {
        srv_store_error(r, pods, name, &err);
        return false;
      }
      berr_clear(&err);
      cleanup_free char *why = xasprintf("no PriorityClass with name %s was found", pcn);
      forbidden(r, pods, name, why);
      return false;
    }
    pc = json_loadb(kv.value, kv.len, 0, NULL);
    store_kv_free(&kv);
  } else {
    if (default_class(s, NULL, &pc, &err) < 0) {
      srv_store_error(r, pods, name, &err);
      return false;
    }
    if (pc)
      json_object_set_new(spec, "priorityClassName",
                          json_string(json_str(json_object_get(pc, "metadata"), "name")));
  }
  int64_t prio = pc ? json_int(pc, "value", 0) : 0;
  const char *pp = pc ? json_str(pc, "preemptionPolicy") : NULL;
  if (!pp)
    pp = "PreemptLowerPriority";
  json_t *have = json_object_get(spec, "priority");
  if (json_is_integer(have) && json_integer_value(have) != prio) {
    cleanup_free char *why
        = xasprintf("the integer value of priority (%" PRId64 ") must not be provided in pod "
                    "spec; priority admission controller computed %" PRId64
                    " from the given PriorityClass name",
                    (int64_t)json_integer_value(have), prio);
    forbidden(r, pods, name, why);
    return false;
  }
  json_object_set_new(spec, "priority", json_integer(prio));
  const char *hp = json_str(spec, "preemptionPolicy");
  if (hp && strcmp(hp, pp)) {
    cleanup_free char *why
        = xasprintf("the string value of PreemptionPolicy (%s) must not be provided in pod spec; "
                    "priority admission controller computed %s from the given PriorityClass name",
                    hp, pp);
    forbidden(r, pods, name, why);
    return false;
  }
  json_object_set_new(spec, "preemptionPolicy", json_string(pp));
  return true;
}

int srv_ensure_priority_classes(srv_t *s, berr_t *err)
{
  for (size_t i = 0; i < ARRAY_SIZE(system_classes); i++) {
    cleanup_free char *ts = time_rfc3339_sec(time_now_ns());
    cleanup_free char *uid = srv_uuid4();
    cleanup_json json_t *o = json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:s, s:i}, s:I, s:s, s:s}", "apiVersion", "scheduling.k8s.io/v1",
        "kind", "PriorityClass", "metadata", "name", system_classes[i].name, "uid", uid,
        "creationTimestamp", ts, "generation", 1, "value", (json_int_t)system_classes[i].value,
        "description", system_classes[i].description, "preemptionPolicy", "PreemptLowerPriority");
    cleanup_free char *data = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    cleanup_free char *key = xasprintf(PC_PREFIX "%s", system_classes[i].name);
    if (store_create(s->store, key, data, strlen(data), NULL, err) < 0) {
      if (err->code != EEXIST)
        return berr_wrap(err, "create priority class %s", system_classes[i].name);
      berr_clear(err);
    }
  }
  return 0;
}

bool srv_priorityclass_is_system(const char *name)
{
  for (size_t i = 0; i < ARRAY_SIZE(system_classes); i++)
    if (!strcmp(system_classes[i].name, name))
      return true;
  return false;
}

/* ---- PodDisruptionBudgets --------------------------------------------------------- */

void srv_validate_pdb(json_t *o, api_errors_t *errs)
{
  json_t *spec = srv_child_object(o, "spec", "spec", errs);
  if (!spec)
    return;
  json_t *min = json_object_get(spec, "minAvailable"),
         *max = json_object_get(spec, "maxUnavailable");
  bool has_min = min && !json_is_null(min), has_max = max && !json_is_null(max);
  if (has_min && has_max)
    api_errors_add(errs, API_FERR_INVALID, "spec", NULL,
                   "minAvailable and maxUnavailable cannot be both set");
  else if (!has_min && !has_max)
    api_errors_add(errs, API_FERR_REQUIRED, "spec.minAvailable", NULL,
                   "one of minAvailable or maxUnavailable must be set");
  srv_check_int_or_percent(errs, min, "spec.minAvailable", true, NULL);
  srv_check_int_or_percent(errs, max, "spec.maxUnavailable", true, NULL);
  api_validate_label_selector(errs, "spec.selector", json_object_get(spec, "selector"));
  json_t *uep = json_object_get(spec, "unhealthyPodEvictionPolicy");
  if (uep && !json_is_null(uep)
      && (!json_is_string(uep)
          || (strcmp(json_string_value(uep), "AlwaysAllow")
              && strcmp(json_string_value(uep), "IfHealthyBudget"))))
    api_errors_add(errs, API_FERR_NOT_SUPPORTED, "spec.unhealthyPodEvictionPolicy", uep,
                   "supported values: \"AlwaysAllow\", \"IfHealthyBudget\"");
  /* These PodDisruptionBudgetStatus counters have no omitempty. */
  json_t *st = json_object_get(o, "status");
  const char *counts[]
      = { "disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods" };
  for (size_t i = 0; json_is_object(st) && i < ARRAY_SIZE(counts); i++) {
    srv_default_int(st, counts[i], 0);
    srv_check_int_field(errs, st, counts[i], "status", 0);
  }
}

/* ---- Table cells ---------------------------------------------------------------- */

static json_t *cell_pc_value(json_t *o, int64_t now)
{
  (void)now;
  return json_integer(json_int(o, "value", 0));
}

static json_t *cell_pc_default(json_t *o, int64_t now)
{
  (void)now;
  return json_boolean(json_is_true(json_object_get(o, "globalDefault")));
}

static json_t *cell_pc_preemption(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_or_none(json_str(o, "preemptionPolicy"));
}

const srv_column_t srv_cols_priorityclass[SRV_PRIORITYCLASS_COLUMNS] = {
  SRV_NAME_COL,
  SRV_COL_INT("Value", "The value of this priority class.", cell_pc_value),
  { "Global-Default", "boolean", "",
    "Whether this priority class is the default for pods "
    "without a priorityClassName.",
    0, cell_pc_default },
  SRV_AGE_COL,
  SRV_COL("PreemptionPolicy", "The policy for preempting pods with lower priority.",
          cell_pc_preemption),
};

/* intstr's String(): "25%", "2"; "N/A" when unset. */
static json_t *int_or_string_cell(json_t *v)
{
  if (json_is_integer(v))
    return srv_str_own(xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v)));
  if (json_is_string(v))
    return json_string(json_string_value(v));
  return json_string("N/A");
}

static json_t *cell_pdb_min(json_t *o, int64_t now)
{
  (void)now;
  return int_or_string_cell(json_object_get(json_object_get(o, "spec"), "minAvailable"));
}

static json_t *cell_pdb_max(json_t *o, int64_t now)
{
  (void)now;
  return int_or_string_cell(json_object_get(json_object_get(o, "spec"), "maxUnavailable"));
}

static json_t *cell_pdb_allowed(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_int_at(o, "status", "disruptionsAllowed");
}

const srv_column_t srv_cols_pdb[SRV_PDB_COLUMNS] = {
  SRV_NAME_COL,
  SRV_COL("Min Available", "The minimum number of pods that must be available.", cell_pdb_min),
  SRV_COL("Max Unavailable", "The maximum number of pods that may be unavailable.", cell_pdb_max),
  SRV_COL_INT("Allowed Disruptions",
              "Calculated number of pods that may be disrupted at this "
              "time.",
              cell_pdb_allowed),
  SRV_AGE_COL,
};
