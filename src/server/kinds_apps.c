/* kinds_apps.c — apps/v1 Deployments, ReplicaSets and DaemonSets: their
 * defaults (SetDefaults_Deployment…: replicas 1, RollingUpdate with 25%/25%,
 * revisionHistoryLimit 10, progressDeadlineSeconds 600; DaemonSets
 * maxUnavailable 1), their validation as Kubernetes' ValidateDeploymentSpec
 * and friends phrase it, and kubectl's Table columns for them.
 *
 * Also what every controller kind shares (Jobs and CronJobs use it too):
 * the pod template, checked with the pod's own defaults and validation
 * (kinds_pod.c) under "spec.template.spec"; the selector that must select
 * the template's labels; int-or-percent fields; the CONTAINERS, IMAGES and
 * SELECTOR cells of -o wide. */
#include "server/kinds.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared pieces ------------------------------------------------------------ */

void srv_default_int(json_t *o, const char *key, json_int_t v)
{
  json_t *cur = json_object_get(o, key);
  if (!cur || json_is_null(cur))
    json_object_set_new(o, key, json_integer(v));
}

static void default_str(json_t *o, const char *key, const char *v)
{
  const char *cur = json_str(o, key);
  if (!cur || !*cur)
    json_object_set_new(o, key, json_string(v));
}

/* o[key] as an object, created when absent or null; NULL (with an error at
 * path) when it is something else. */
json_t *srv_child_object(json_t *o, const char *key, const char *path, api_errors_t *errs)
{
  json_t *c = json_object_get(o, key);
  if (!c || json_is_null(c)) {
    c = json_object();
    json_object_set_new(o, key, c);
  }
  if (!json_is_object(c)) {
    if (errs)
      api_errors_add(errs, API_FERR_INVALID, path, NULL, "must be an object");
    return NULL;
  }
  return c;
}

void srv_check_int_field(api_errors_t *errs, json_t *o, const char *key, const char *path,
                         int64_t min)
{
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v))
    return;
  cleanup_free char *f = xasprintf("%s.%s", path, key);
  if (!json_is_integer(v) || json_integer_value(v) > INT32_MAX)
    api_errors_add(errs, API_FERR_INVALID, f, v, "must be a 32-bit integer");
  else if (json_integer_value(v) < min && min == 1)
    api_errors_add(errs, API_FERR_INVALID, f, v, "must be greater than 0");
  else if (json_integer_value(v) < min)
    api_errors_add(errs, API_FERR_INVALID, f, v, "must be greater than or equal to %" PRId64, min);
}

static void check_bool(api_errors_t *errs, json_t *o, const char *key, const char *path)
{
  json_t *v = json_object_get(o, key);
  if (v && !json_is_null(v) && !json_is_boolean(v)) {
    cleanup_free char *f = xasprintf("%s.%s", path, key);
    api_errors_add(errs, API_FERR_INVALID, f, v, "must be a boolean");
  }
}

void srv_prepare_clear_status(json_t *o)
{
  json_object_set_new(o, "status", json_object());
}

static int cmp_strp(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Go's %#v of a map[string]string, as field errors show a labels value:
 * map[string]string{"app":"web"}. */
static char *go_string_map(json_t *m)
{
  if (!json_is_object(m))
    return xstrdup("map[string]string(nil)");
  const char **keys = xcalloc(json_object_size(m) + 1, sizeof *keys);
  size_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach(m, k, v) keys[n++] = k;
  qsort(keys, n, sizeof *keys, cmp_strp);
  buf_t b = { 0 };
  buf_puts(&b, "map[string]string{");
  for (size_t i = 0; i < n; i++) {
    json_t *val = json_object_get(m, keys[i]);
    cleanup_free char *qk = api_go_quote(keys[i], strlen(keys[i]));
    cleanup_free char *qv = json_is_string(val)
                                ? api_go_quote(json_string_value(val), json_string_length(val))
                                : xstrdup("\"\"");
    buf_printf(&b, "%s%s:%s", i ? ", " : "", qk, qv);
  }
  buf_puts(&b, "}");
  free(keys);
  return buf_steal(&b);
}

json_t *srv_check_pod_template(json_t *tmpl, const char *tpath, api_errors_t *errs)
{
  if (!json_is_object(tmpl)) {
    api_errors_add(errs, API_FERR_INVALID, tpath, NULL, "must be an object");
    return NULL;
  }
  cleanup_free char *mpath = xasprintf("%s.metadata", tpath);
  json_t *meta = srv_child_object(tmpl, "metadata", mpath, errs);
  if (meta) {
    cleanup_free char *fl = xasprintf("%s.labels", mpath);
    cleanup_free char *fa = xasprintf("%s.annotations", mpath);
    api_validate_labels(errs, fl, json_object_get(meta, "labels"));
    api_validate_annotations(errs, fa, json_object_get(meta, "annotations"));
  }
  cleanup_free char *spath = xasprintf("%s.spec", tpath);
  json_t *spec = srv_child_object(tmpl, "spec", spath, errs);
  if (spec)
    srv_validate_pod_spec(spec, spath, errs);
  return tmpl;
}

void srv_check_selector_matches(api_errors_t *errs, json_t *sel, json_t *tmpl, const char *tpath)
{
  api_label_selector_t *ls = NULL;
  berr_t err = BERR_INIT;
  if (api_label_selector_from_json(sel, &ls, &err) < 0) {
    berr_clear(&err); /* the selector's own validation says why */
    return;
  }
  json_t *labels = json_object_get(json_object_get(tmpl, "metadata"), "labels");
  if (!api_label_selector_is_everything(ls) && !api_label_selector_matches(ls, labels)) {
    cleanup_free char *f = xasprintf("%s.metadata.labels", tpath);
    api_errors_add(errs, API_FERR_INVALID, f, NULL, "`selector` does not match template `labels`");
    errs->v[errs->n - 1].value = go_string_map(labels);
  }
  api_label_selector_free(ls);
}

void srv_check_restart_policy(api_errors_t *errs, json_t *tmpl, const char *tpath,
                              const char *const *allowed)
{
  const char *rp = json_str(json_object_get(tmpl, "spec"), "restartPolicy");
  if (!rp)
    return;
  buf_t b = { 0 };
  bool ok = false;
  for (size_t i = 0; allowed[i]; i++) {
    ok |= !strcmp(rp, allowed[i]);
    buf_printf(&b, "%s\"%s\"", i ? ", " : "", allowed[i]);
  }
  if (!ok) {
    cleanup_free char *f = xasprintf("%s.spec.restartPolicy", tpath);
    api_errors_add_str(errs, API_FERR_NOT_SUPPORTED, f, rp, "supported values: %s", b.data);
  }
  buf_free(&b);
}

/* spec.selector of a controller: required, valid, not empty. */
static void check_selector(api_errors_t *errs, json_t *spec, const char *what, bool required)
{
  json_t *sel = json_object_get(spec, "selector");
  if (!sel || json_is_null(sel)) {
    if (required)
      api_errors_add(errs, API_FERR_REQUIRED, "spec.selector", NULL, "%s", "");
    return;
  }
  api_validate_label_selector(errs, "spec.selector", sel);
  if (json_is_object(sel) && json_object_size(json_object_get(sel, "matchLabels")) == 0
      && json_array_size(json_object_get(sel, "matchExpressions")) == 0)
    api_errors_add(errs, API_FERR_INVALID, "spec.selector", sel, "empty selector is invalid for %s",
                   what);
}

/* A valid percent: digits then '%' (IsValidPercent). */
static bool is_percent(const char *s)
{
  size_t n = strlen(s);
  if (n < 2 || s[n - 1] != '%')
    return false;
  for (size_t i = 0; i + 1 < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

void srv_check_int_or_percent(api_errors_t *errs, json_t *v, const char *path, bool max100,
                              bool *zero)
{
  if (zero)
    *zero = false;
  if (!v || json_is_null(v))
    return;
  if (json_is_integer(v)) {
    if (json_integer_value(v) < 0)
      api_errors_add(errs, API_FERR_INVALID, path, v, "must be greater than or equal to 0");
    else if (json_integer_value(v) > INT32_MAX)
      api_errors_add(errs, API_FERR_INVALID, path, v, "must be a 32-bit integer");
    if (zero)
      *zero = json_integer_value(v) == 0;
    return;
  }
  if (!json_is_string(v)) {
    api_errors_add(errs, API_FERR_INVALID, path, v, "must be an integer or a percentage");
    return;
  }
  const char *s = json_string_value(v);
  if (!is_percent(s)) {
    api_errors_add_str(errs, API_FERR_INVALID, path, s,
                       "a valid percent string must be a numeric string followed by an ending "
                       "'%%' (e.g. '1%%',  or '93%%', regex used for validation is '[0-9]+%%')");
    /* Kubernetes reads a bad string as its number, if any: "abc" is 0. */
    if (zero)
      *zero = strtol(s, NULL, 10) == 0;
    return;
  }
  long pct = strtol(s, NULL, 10);
  if (zero)
    *zero = pct == 0;
  if (max100 && pct > 100)
    api_errors_add_str(errs, API_FERR_INVALID, path, s, "must not be greater than 100%%");
}

void srv_validate_selector_update(json_t *o, json_t *cur, api_errors_t *errs)
{
  json_t *a = json_object_get(json_object_get(o, "spec"), "selector");
  json_t *b = json_object_get(json_object_get(cur, "spec"), "selector");
  if (!json_equal(a ? a : json_null(), b ? b : json_null()) && (a || b))
    api_errors_add(errs, API_FERR_INVALID, "spec.selector", a ? a : json_null(),
                   "field is immutable");
}

/* What the three apps kinds share: a spec object, the template with
 * restartPolicy Always and no activeDeadlineSeconds, the selector. */
static json_t *check_apps_spec(json_t *o, api_errors_t *errs, const char *what, bool ds)
{
  json_t *spec = srv_child_object(o, "spec", "spec", errs);
  if (!spec)
    return NULL;
  check_selector(errs, spec, what, true);
  json_t *tmpl = srv_child_object(spec, "template", "spec.template", errs);
  if (!tmpl)
    return spec;
  srv_check_selector_matches(errs, json_object_get(spec, "selector"), tmpl, "spec.template");
  if (!srv_check_pod_template(tmpl, "spec.template", errs))
    return spec;
  static const char *const always[] = { "Always", NULL };
  srv_check_restart_policy(errs, tmpl, "spec.template", always);
  json_t *ads = json_object_get(json_object_get(tmpl, "spec"), "activeDeadlineSeconds");
  if (ads && !json_is_null(ads)) {
    if (ds)
      api_errors_add(errs, API_FERR_INVALID, "spec.template.spec.activeDeadlineSeconds", ads,
                     "activeDeadlineSeconds in DaemonSet is not Supported");
    else
      api_errors_add(errs, API_FERR_FORBIDDEN, "spec.template.spec.activeDeadlineSeconds", NULL,
                     "activeDeadlineSeconds in ReplicaSet is not Supported");
  }
  srv_check_int_field(errs, spec, "minReadySeconds", "spec", 0);
  return spec;
}

/* ---- Deployments ---------------------------------------------------------------- */

static void check_deployment_strategy(json_t *spec, api_errors_t *errs)
{
  json_t *st = srv_child_object(spec, "strategy", "spec.strategy", errs);
  if (!st)
    return;
  default_str(st, "type", "RollingUpdate");
  const char *type = json_str(st, "type");
  json_t *ru = json_object_get(st, "rollingUpdate");
  if (type && !strcmp(type, "RollingUpdate")) {
    ru = srv_child_object(st, "rollingUpdate", "spec.strategy.rollingUpdate", errs);
    if (!ru)
      return;
    json_t *mu = json_object_get(ru, "maxUnavailable"), *ms = json_object_get(ru, "maxSurge");
    if (!mu || json_is_null(mu))
      json_object_set_new(ru, "maxUnavailable", mu = json_string("25%"));
    if (!ms || json_is_null(ms))
      json_object_set_new(ru, "maxSurge", ms = json_string("25%"));
    bool mu0, ms0;
    srv_check_int_or_percent(errs, mu, "spec.strategy.rollingUpdate.maxUnavailable", true, &mu0);
    srv_check_int_or_percent(errs, ms, "spec.strategy.rollingUpdate.maxSurge", false, &ms0);
    if (mu0 && ms0)
      api_errors_add(errs, API_FERR_INVALID, "spec.strategy.rollingUpdate.maxUnavailable", mu,
                     "may not be 0 when `maxSurge` is 0");
  } else if (type && !strcmp(type, "Recreate")) {
    if (ru && !json_is_null(ru))
      api_errors_add(errs, API_FERR_FORBIDDEN, "spec.strategy.rollingUpdate", NULL,
                     "may not be specified when strategy `type` is 'Recreate'");
  } else {
    api_errors_add_str(errs, API_FERR_NOT_SUPPORTED, "spec.strategy.type", type ? type : "",
                       "supported values: \"Recreate\", \"RollingUpdate\"");
  }
}

void srv_validate_deployment(json_t *o, api_errors_t *errs)
{
  json_t *spec = json_object_get(o, "spec");
  if (json_is_object(spec)) {
    srv_default_int(spec, "replicas", 1);
    srv_default_int(spec, "revisionHistoryLimit", 10);
    srv_default_int(spec, "progressDeadlineSeconds", 600);
  }
  srv_check_int_field(errs, spec, "replicas", "spec", 0);
  if (!(spec = check_apps_spec(o, errs, "deployment", false)))
    return;
  check_deployment_strategy(spec, errs);
  srv_check_int_field(errs, spec, "revisionHistoryLimit", "spec", 0);
  srv_check_int_field(errs, spec, "progressDeadlineSeconds", "spec", 0);
  json_t *pd = json_object_get(spec, "progressDeadlineSeconds");
  if (json_is_integer(pd) && json_integer_value(pd) <= json_int(spec, "minReadySeconds", 0))
    api_errors_add(errs, API_FERR_INVALID, "spec.progressDeadlineSeconds", pd,
                   "must be greater than minReadySeconds");
  check_bool(errs, spec, "paused", "spec");
}

/* ---- ReplicaSets ---------------------------------------------------------------- */

void srv_validate_replicaset(json_t *o, api_errors_t *errs)
{
  json_t *spec = json_object_get(o, "spec");
  if (json_is_object(spec))
    srv_default_int(spec, "replicas", 1);
  srv_check_int_field(errs, spec, "replicas", "spec", 0);
  check_apps_spec(o, errs, "deployment", false);
  /* ReplicaSetStatus.replicas has no omitempty */
  json_t *st = json_object_get(o, "status");
  if (json_is_object(st))
    srv_default_int(st, "replicas", 0);
}

/* ---- DaemonSets ----------------------------------------------------------------- */

static void check_daemonset_strategy(json_t *spec, api_errors_t *errs)
{
  json_t *st = srv_child_object(spec, "updateStrategy", "spec.updateStrategy", errs);
  if (!st)
    return;
  default_str(st, "type", "RollingUpdate");
  const char *type = json_str(st, "type");
  if (type && !strcmp(type, "OnDelete"))
    return;
  if (!type || strcmp(type, "RollingUpdate")) {
    api_errors_add_str(errs, API_FERR_NOT_SUPPORTED, "spec.updateStrategy.type", type ? type : "",
                       "supported values: \"RollingUpdate\", \"OnDelete\"");
    return;
  }
  json_t *ru = srv_child_object(st, "rollingUpdate", "spec.updateStrategy.rollingUpdate", errs);
  if (!ru)
    return;
  json_t *mu = json_object_get(ru, "maxUnavailable"), *ms = json_object_get(ru, "maxSurge");
  if (!mu || json_is_null(mu))
    json_object_set_new(ru, "maxUnavailable", mu = json_integer(1));
  if (!ms || json_is_null(ms))
    json_object_set_new(ru, "maxSurge", ms = json_integer(0));
  bool mu0, ms0;
  srv_check_int_or_percent(errs, mu, "spec.updateStrategy.rollingUpdate.maxUnavailable", true,
                           &mu0);
  srv_check_int_or_percent(errs, ms, "spec.updateStrategy.rollingUpdate.maxSurge", true, &ms0);
  if (!mu0 && !ms0)
    api_errors_add(errs, API_FERR_INVALID, "spec.updateStrategy.rollingUpdate.maxSurge", ms,
                   "may not be set when maxUnavailable is non-zero");
  else if (mu0 && ms0)
    api_errors_add(errs, API_FERR_REQUIRED, "spec.updateStrategy.rollingUpdate.maxUnavailable",
                   NULL, "cannot be 0 when maxSurge is 0");
}

void srv_validate_daemonset(json_t *o, api_errors_t *errs)
{
  json_t *spec = json_object_get(o, "spec");
  if (json_is_object(spec))
    srv_default_int(spec, "revisionHistoryLimit", 10);
  if (!(spec = check_apps_spec(o, errs, "daemonset", true)))
    return;
  check_daemonset_strategy(spec, errs);
  srv_check_int_field(errs, spec, "revisionHistoryLimit", "spec", 0);
  /* These DaemonSetStatus counters have no omitempty. */
  json_t *st = json_object_get(o, "status");
  const char *zeroes[]
      = { "currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady" };
  for (size_t i = 0; json_is_object(st) && i < ARRAY_SIZE(zeroes); i++)
    srv_default_int(st, zeroes[i], 0);
}

/* ---- Table cells ---------------------------------------------------------------- */

static json_t *template_of(json_t *o)
{
  return json_object_get(json_object_get(o, "spec"), "template");
}

json_t *srv_cell_containers_of(json_t *tmpl)
{
  json_t *cs = json_object_get(json_object_get(tmpl, "spec"), "containers"), *c;
  buf_t b = { 0 };
  buf_puts(&b, "");
  size_t i;
  json_array_foreach(cs, i, c) buf_printf(&b, "%s%s", i ? "," : "", json_str(c, "name") ?: "");
  return srv_str_own(buf_steal(&b));
}

json_t *srv_cell_images_of(json_t *tmpl)
{
  json_t *cs = json_object_get(json_object_get(tmpl, "spec"), "containers"), *c;
  buf_t b = { 0 };
  buf_puts(&b, "");
  size_t i;
  json_array_foreach(cs, i, c) buf_printf(&b, "%s%s", i ? "," : "", json_str(c, "image") ?: "");
  return srv_str_own(buf_steal(&b));
}

char *srv_selector_string(json_t *sel)
{
  api_label_selector_t *ls = NULL;
  berr_t err = BERR_INIT;
  if (api_label_selector_from_json(sel, &ls, &err) < 0) {
    berr_clear(&err);
    return NULL;
  }
  char *s = api_label_selector_string(ls);
  api_label_selector_free(ls);
  return s;
}

json_t *srv_cell_selector_of(json_t *sel, bool none)
{
  char *s = srv_selector_string(sel);
  if (!s)
    return json_string("<error>");
  if (!*s && none) {
    free(s);
    return json_string("<none>");
  }
  return srv_str_own(s);
}

json_t *srv_cell_int_at(json_t *o, const char *a, const char *b)
{
  return json_integer(json_int(json_object_get(o, a), b, 0));
}

static json_t *cell_containers(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_containers_of(template_of(o));
}

static json_t *cell_images(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_images_of(template_of(o));
}

static json_t *cell_selector(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_selector_of(json_object_get(json_object_get(o, "spec"), "selector"), false);
}

static json_t *cell_selector_none(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_selector_of(json_object_get(json_object_get(o, "spec"), "selector"), true);
}

static json_t *cell_deploy_ready(json_t *o, int64_t now)
{
  (void)now;
  return srv_str_own(xasprintf("%" PRId64 "/%" PRId64,
                               json_int(json_object_get(o, "status"), "readyReplicas", 0),
                               json_int(json_object_get(o, "spec"), "replicas", 0)));
}

#define STATUS_INT_CELL(fn, field)                                                                 \
  static json_t *fn(json_t *o, int64_t now)                                                        \
  {                                                                                                \
    (void)now;                                                                                     \
    return srv_cell_int_at(o, "status", field);                                                    \
  }
STATUS_INT_CELL(cell_updated, "updatedReplicas")
STATUS_INT_CELL(cell_available, "availableReplicas")
STATUS_INT_CELL(cell_replicas, "replicas")
STATUS_INT_CELL(cell_ready_replicas, "readyReplicas")
STATUS_INT_CELL(cell_ds_desired, "desiredNumberScheduled")
STATUS_INT_CELL(cell_ds_current, "currentNumberScheduled")
STATUS_INT_CELL(cell_ds_ready, "numberReady")
STATUS_INT_CELL(cell_ds_updated, "updatedNumberScheduled")
STATUS_INT_CELL(cell_ds_available, "numberAvailable")

static json_t *cell_desired(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_int_at(o, "spec", "replicas");
}

/* labels.FormatLabels of the template's nodeSelector: "k=v,…", "<none>". */
static json_t *cell_node_selector(json_t *o, int64_t now)
{
  (void)now;
  json_t *ns = json_object_get(json_object_get(template_of(o), "spec"), "nodeSelector");
  api_label_selector_t *ls = NULL;
  berr_t err = BERR_INIT;
  json_t *sel = json_pack("{s:O}", "matchLabels", json_is_object(ns) ? ns : json_null());
  char *s = NULL;
  if (api_label_selector_from_json(sel, &ls, &err) == 0)
    s = api_label_selector_string(ls);
  berr_clear(&err);
  api_label_selector_free(ls);
  json_decref(sel);
  if (!s || !*s) {
    free(s);
    return json_string("<none>");
  }
  return srv_str_own(s);
}

#define WIDE_TEMPLATE_COLUMNS(selfn)                                                               \
  SRV_COL_WIDE("Containers", "Names of each container in the template.", cell_containers),         \
      SRV_COL_WIDE("Images", "Images referenced by each container in the template.", cell_images), \
      SRV_COL_WIDE("Selector", "Label selector for pods.", selfn)

const srv_column_t srv_cols_deployment[SRV_DEPLOYMENT_COLUMNS] = {
  SRV_NAME_COL,
  SRV_COL("Ready", "Number of the pod with ready state", cell_deploy_ready),
  SRV_COL("Up-to-date",
          "Total number of non-terminating pods targeted by this deployment that "
          "have the desired template spec.",
          cell_updated),
  SRV_COL("Available",
          "Total number of available non-terminating pods targeted by this "
          "deployment.",
          cell_available),
  SRV_AGE_COL,
  WIDE_TEMPLATE_COLUMNS(cell_selector),
};

const srv_column_t srv_cols_replicaset[SRV_REPLICASET_COLUMNS] = {
  SRV_NAME_COL,
  SRV_COL_INT("Desired", "Number of desired pods.", cell_desired),
  SRV_COL_INT("Current", "The number of non-terminating pods targeted by this ReplicaSet.",
              cell_replicas),
  SRV_COL_INT("Ready",
              "The number of non-terminating pods targeted by this ReplicaSet with a "
              "Ready Condition.",
              cell_ready_replicas),
  SRV_AGE_COL,
  WIDE_TEMPLATE_COLUMNS(cell_selector),
};

const srv_column_t srv_cols_daemonset[SRV_DAEMONSET_COLUMNS] = {
  SRV_NAME_COL,
  SRV_COL_INT("Desired", "The total number of nodes that should be running the daemon pod.",
              cell_ds_desired),
  SRV_COL_INT("Current", "The number of nodes that are running at least 1 daemon pod.",
              cell_ds_current),
  SRV_COL_INT("Ready",
              "The number of nodes that should be running the daemon pod and have one "
              "or more of the daemon pod running and ready.",
              cell_ds_ready),
  SRV_COL_INT("Up-to-date", "The total number of nodes that are running updated daemon pod.",
              cell_ds_updated),
  SRV_COL_INT("Available",
              "The number of nodes that should be running the daemon pod and have "
              "one or more of the daemon pod running and available.",
              cell_ds_available),
  SRV_COL("Node Selector", "The node selector of the pod template.", cell_node_selector),
  SRV_AGE_COL,
  WIDE_TEMPLATE_COLUMNS(cell_selector_none),
};
