/* kinds_batch.c — batch/v1 Jobs and CronJobs: defaults (SetDefaults_Job:
 * parallelism and completions 1 when both are unset, backoffLimit 6,
 * completionMode NonIndexed, suspend false; CronJobs: concurrencyPolicy
 * Allow, history limits 3 and 1), the selector and labels the server
 * generates for a Job (Kubernetes' generateSelector: controller-uid and
 * job-name, in their legacy and batch.kubernetes.io/ forms), validation in
 * Kubernetes' words (a CronJob's schedule through api_cron_parse, its
 * timeZone against /usr/share/zoneinfo), what a Job update may change, and
 * kubectl's Table columns. */
#include "server/kinds.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ZONEINFO_DIR "/usr/share/zoneinfo"

/* A template's labels object, created when absent. NULL when the template
 * or its metadata is not an object. */
static json_t *template_labels(json_t *spec)
{
  json_t *t = srv_child_object(spec, "template", NULL, NULL);
  json_t *m = t ? srv_child_object(t, "metadata", NULL, NULL) : NULL;
  return m ? srv_child_object(m, "labels", NULL, NULL) : NULL;
}

static void set_absent(json_t *o, const char *key, const char *v)
{
  if (!json_object_get(o, key))
    json_object_set_new(o, key, json_string(v));
}

void srv_prepare_job(json_t *o)
{
  srv_prepare_clear_status(o);
  json_t *spec = json_object_get(o, "spec"), *meta = json_object_get(o, "metadata");
  const char *name = json_str(meta, "name"), *uid = json_str(meta, "uid");
  if (!json_is_object(spec) || json_is_true(json_object_get(spec, "manualSelector")) || !name
      || !uid)
    return;
  /* Labels the user set win; validation then says what is wrong. */
  json_t *labels = template_labels(spec);
  if (labels) {
    set_absent(labels, "batch.kubernetes.io/controller-uid", uid);
    set_absent(labels, "batch.kubernetes.io/job-name", name);
    set_absent(labels, "controller-uid", uid);
    set_absent(labels, "job-name", name);
  }
  json_t *sel = srv_child_object(spec, "selector", NULL, NULL);
  json_t *ml = sel ? srv_child_object(sel, "matchLabels", NULL, NULL) : NULL;
  if (ml)
    set_absent(ml, "batch.kubernetes.io/controller-uid", uid);
}

static void check_bool(api_errors_t *errs, json_t *o, const char *key, const char *path)
{
  json_t *v = json_object_get(o, key);
  if (v && !json_is_null(v) && !json_is_boolean(v)) {
    cleanup_free char *f = xasprintf("%s.%s", path, key);
    api_errors_add(errs, API_FERR_INVALID, f, v, "must be a boolean");
  }
}

#define MAX_INDEXED           100000
#define MAX_PFP_RULES         20          /* podFailurePolicy.rules */
#define MAX_EXIT_CODES        255         /* onExitCodes.values */
#define MAX_POD_CONDS         20          /* onPodConditions */
#define MAX_SUCCESS_RULES     20          /* successPolicy.rules */
#define MAX_SUCCEEDED_INDEXES (64 * 1024) /* a rule's succeededIndexes, bytes */

/* Whether the optional field key of o is given (not absent, not null). */
static bool is_set(json_t *o, const char *key)
{
  json_t *v = json_object_get(o, key);
  return v && !json_is_null(v);
}

/* Whether a container (or init container) of the template is named name. */
static bool template_has_container(json_t *tmpl, const char *name)
{
  const char *lists[] = { "containers", "initContainers" };
  for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(tmpl, "spec"), lists[l]), i, c)
    {
      if (!strcmp(json_str(c, "name") ?: "", name))
        return true;
    }
  }
  return false;
}

static void check_exit_codes(api_errors_t *errs, json_t *on, json_t *tmpl, const char *rp)
{
  cleanup_free char *fp = xasprintf("%s.onExitCodes", rp);
  if (!json_is_object(on)) {
    api_errors_add(errs, API_FERR_INVALID, fp, NULL, "must be an object");
    return;
  }
  const char *cn = json_str(on, "containerName");
  if (cn && !template_has_container(tmpl, cn)) {
    cleanup_free char *f = xasprintf("%s.containerName", fp);
    api_errors_add_str(errs, API_FERR_INVALID, f, cn,
                       "must be one of the container or initContainer names in the pod template");
  }
  const char *op = json_str(on, "operator");
  static const char *const ops[] = { "In", "NotIn", NULL };
  if (!json_object_get(on, "operator")) {
    cleanup_free char *fo = xasprintf("%s.operator", fp);
    api_errors_add(errs, API_FERR_REQUIRED, fo, NULL, "%s", "");
  }
  srv_check_enum(errs, on, "operator", fp, ops);
  json_t *vals = json_object_get(on, "values");
  cleanup_free char *fv = xasprintf("%s.values", fp);
  if (!json_is_array(vals) || json_array_size(vals) == 0) {
    api_errors_add(errs, API_FERR_REQUIRED, fv, NULL, "at least one value is required");
    return;
  }
  if (json_array_size(vals) > MAX_EXIT_CODES) {
    api_errors_add(errs, API_FERR_TOO_LONG, fv, NULL, "must have at most %d items", MAX_EXIT_CODES);
    return;
  }
  json_int_t prev = 0;
  size_t i;
  json_t *v;
  json_array_foreach(vals, i, v)
  {
    cleanup_free char *f = xasprintf("%s[%zu]", fv, i);
    if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN
        || json_integer_value(v) > INT32_MAX) {
      api_errors_add(errs, API_FERR_INVALID, f, v, "must be a 32-bit integer");
      continue;
    }
    json_int_t x = json_integer_value(v);
    if (op && !strcmp(op, "In") && x == 0)
      api_errors_add(errs, API_FERR_INVALID, f, v, "must not be 0 for the In operator");
    if (i > 0 && x == prev)
      api_errors_add(errs, API_FERR_DUPLICATE, f, v, "%s", "");
    else if (i > 0 && x < prev)
      api_errors_add(errs, API_FERR_INVALID, f, v, "must be ordered");
    prev = x;
  }
}

static void check_pod_conditions(api_errors_t *errs, json_t *on, const char *rp)
{
  cleanup_free char *fp = xasprintf("%s.onPodConditions", rp);
  if (!json_is_array(on)) {
    api_errors_add(errs, API_FERR_INVALID, fp, NULL, "must be an array");
    return;
  }
  if (json_array_size(on) > MAX_POD_CONDS)
    api_errors_add(errs, API_FERR_TOO_LONG, fp, NULL, "must have at most %d items", MAX_POD_CONDS);
  size_t i;
  json_t *c;
  static const char *const statuses[] = { "True", "False", "Unknown", NULL };
  json_array_foreach(on, i, c)
  {
    cleanup_free char *fc = xasprintf("%s[%zu]", fp, i);
    cleanup_free char *ft = xasprintf("%s.type", fc);
    const char *type = json_str(c, "type");
    cleanup_strv char **why = NULL;
    if (!type)
      api_errors_add(errs, API_FERR_REQUIRED, ft, NULL, "%s", "");
    else if (!api_is_label_key(type, &why))
      api_errors_add_str(errs, API_FERR_INVALID, ft, type, "%s", why && why[0] ? why[0] : "");
    if (!json_str(c, "status") && json_is_object(c))
      json_object_set_new(c, "status", json_string("True"));
    srv_check_enum(errs, c, "status", fc, statuses);
  }
}

/* spec.podFailurePolicy (Kubernetes' validatePodFailurePolicy). */
static void check_pod_failure_policy(json_t *spec, const char *sp, api_errors_t *errs)
{
  json_t *pfp = json_object_get(spec, "podFailurePolicy");
  if (!pfp || json_is_null(pfp))
    return;
  cleanup_free char *fp = xasprintf("%s.podFailurePolicy", sp);
  json_t *rules = json_object_get(pfp, "rules");
  cleanup_free char *fr = xasprintf("%s.rules", fp);
  if (!json_is_object(pfp) || !json_is_array(rules)) {
    api_errors_add(errs, API_FERR_REQUIRED, fr, NULL, "%s", "");
    return;
  }
  if (json_array_size(rules) > MAX_PFP_RULES)
    api_errors_add(errs, API_FERR_TOO_LONG, fr, NULL, "must have at most %d items", MAX_PFP_RULES);
  json_t *tmpl = json_object_get(spec, "template");
  size_t i;
  json_t *r;
  json_array_foreach(rules, i, r)
  {
    cleanup_free char *rp = xasprintf("%s[%zu]", fr, i);
    cleanup_free char *fa = xasprintf("%s.action", rp);
    const char *action = json_str(r, "action");
    if (!action)
      api_errors_add(errs, API_FERR_REQUIRED, fa, NULL, "%s", "");
    else if (!strcmp(action, "FailIndex") && !is_set(spec, "backoffLimitPerIndex"))
      api_errors_add_str(errs, API_FERR_INVALID, fa, action,
                         "requires the backoffLimitPerIndex to be set");
    else if (strcmp(action, "FailJob") && strcmp(action, "Ignore") && strcmp(action, "Count")
             && strcmp(action, "FailIndex"))
      api_errors_add_str(errs, API_FERR_NOT_SUPPORTED, fa, action,
                         "supported values: \"Count\", \"FailIndex\", \"FailJob\", \"Ignore\"");
    json_t *codes = json_object_get(r, "onExitCodes"),
           *conds = json_object_get(r, "onPodConditions");
    bool has_codes = codes && !json_is_null(codes), has_conds = conds && !json_is_null(conds);
    if (has_codes && has_conds)
      api_errors_add(errs, API_FERR_INVALID, rp, NULL,
                     "specifying both OnExitCodes and OnPodConditions is not supported");
    else if (!has_codes && !has_conds)
      api_errors_add(errs, API_FERR_INVALID, rp, NULL,
                     "specifying one of OnExitCodes and OnPodConditions is required");
    if (has_codes)
      check_exit_codes(errs, codes, tmpl, rp);
    if (has_conds)
      check_pod_conditions(errs, conds, rp);
  }
  const char *restart = json_str(json_object_get(tmpl, "spec"), "restartPolicy");
  if (restart && strcmp(restart, "Never")) {
    cleanup_free char *f = xasprintf("%s.template.spec.restartPolicy", sp);
    api_errors_add_str(errs, API_FERR_INVALID, f, restart,
                       "only \"Never\" is supported when podFailurePolicy is specified");
  }
}

/* Kubernetes' validateIndexesFormat: "1,3-5", each index below
 * completions and greater than the one before. NULL and *total the number
 * of indexes, or the reason it does not parse. */
static char *indexes_error(const char *s, int64_t completions, int64_t *total)
{
  *total = 0;
  int64_t last = -1;
  if (!*s)
    return NULL;
  for (const char *p = s;;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    const char *dash = memchr(p, '-', len);
    if (dash && memchr(dash + 1, '-', len - (size_t)(dash + 1 - p))) {
      cleanup_free char *q = api_go_quote(p, len);
      return xasprintf("the fragment %s violates the requirement that an index interval can "
                       "have at most two parts separated by '-'",
                       q);
    }
    int64_t lim[2];
    const char *part[2] = { p, dash ? dash + 1 : NULL };
    size_t plen[2] = { dash ? (size_t)(dash - p) : len, dash ? len - (size_t)(dash + 1 - p) : 0 };
    for (int k = 0; k < (dash ? 2 : 1); k++) {
      /* Go's strconv.Atoi: an optional sign, then digits */
      cleanup_free char *num = xstrndup(part[k], plen[k]);
      const char *d = num + (num[0] == '+');
      cleanup_free char *q = api_go_quote(part[k], plen[k]);
      if (!*d || strspn(d, "0123456789") != strlen(d) || strlen(d) > 18)
        return xasprintf("cannot convert string to integer for index: %s", q);
      lim[k] = strtoll(d, NULL, 10);
      if (lim[k] >= completions)
        return xasprintf("too large index: %s", q);
    }
    if (!dash)
      lim[1] = lim[0];
    else if (lim[0] >= lim[1])
      return xasprintf("non-increasing order, previous: %lld, current: %lld", (long long)lim[0],
                       (long long)lim[1]);
    if (last >= lim[0])
      return xasprintf("non-increasing order, previous: %lld, current: %lld", (long long)last,
                       (long long)lim[0]);
    *total += lim[1] - lim[0] + 1;
    last = lim[1];
    if (!end)
      break;
    p = end + 1;
  }
  return NULL;
}

/* One rule of spec.successPolicy (Kubernetes' validateSuccessPolicyRule);
 * completions -1 when not a valid number (already reported). */
static void check_success_rule(json_t *r, const char *rp, int64_t completions, api_errors_t *errs)
{
  if (!json_is_object(r)) {
    api_errors_add(errs, API_FERR_INVALID, rp, NULL, "must be an object");
    return;
  }
  json_t *si = json_object_get(r, "succeededIndexes"), *sc = json_object_get(r, "succeededCount");
  bool has_si = si && !json_is_null(si), has_sc = sc && !json_is_null(sc);
  if (!has_si && !has_sc)
    api_errors_add(errs, API_FERR_REQUIRED, rp, NULL,
                   "at least one of succeededCount or succeededIndexes must be specified");
  int64_t total = -1;
  if (has_si) {
    cleanup_free char *fi = xasprintf("%s.succeededIndexes", rp);
    const char *s = json_string_value(si);
    if (!s)
      api_errors_add(errs, API_FERR_INVALID, fi, si, "must be a string");
    else if (strlen(s) > MAX_SUCCEEDED_INDEXES)
      api_errors_add(errs, API_FERR_TOO_LONG, fi, NULL, "may not be more than %d bytes",
                     MAX_SUCCEEDED_INDEXES);
    else if (completions >= 0) {
      cleanup_free char *why = indexes_error(s, completions, &total);
      if (why) {
        api_errors_add_str(errs, API_FERR_INVALID, fi, s, "error parsing succeededIndexes: %s",
                           why);
        total = -1;
      }
    }
  }
  if (!has_sc)
    return;
  srv_check_int_field(errs, r, "succeededCount", rp, 0);
  if (!json_is_integer(sc) || json_integer_value(sc) < 0 || json_integer_value(sc) > INT32_MAX)
    return;
  cleanup_free char *fc = xasprintf("%s.succeededCount", rp);
  if (completions >= 0 && json_integer_value(sc) > completions)
    api_errors_add(errs, API_FERR_INVALID, fc, sc,
                   "must be less than or equal to %lld (the number of specified completions)",
                   (long long)completions);
  if (total >= 0 && json_integer_value(sc) > total)
    api_errors_add(errs, API_FERR_INVALID, fc, sc,
                   "must be less than or equal to %lld (the number of indexes in the specified "
                   "succeededIndexes field)",
                   (long long)total);
}

/* spec.successPolicy (Kubernetes' validateSuccessPolicy): Indexed Jobs
 * only, 1 to 20 rules. */
static void check_success_policy(json_t *spec, const char *sp, bool indexed, api_errors_t *errs)
{
  json_t *p = json_object_get(spec, "successPolicy");
  if (!p || json_is_null(p))
    return;
  cleanup_free char *fp = xasprintf("%s.successPolicy", sp);
  if (!indexed) {
    api_errors_add(errs, API_FERR_INVALID, fp, p, "requires indexed completion mode");
    return;
  }
  cleanup_free char *fr = xasprintf("%s.rules", fp);
  json_t *rules = json_object_get(p, "rules");
  if (!json_is_object(p) || !json_is_array(rules) || json_array_size(rules) == 0) {
    api_errors_add(errs, API_FERR_REQUIRED, fr, NULL,
                   "at least one rules must be specified when the successPolicy is specified");
    return;
  }
  if (json_array_size(rules) > MAX_SUCCESS_RULES)
    api_errors_add(errs, API_FERR_TOO_LONG, fr, NULL, "must have at most %d items",
                   MAX_SUCCESS_RULES);
  json_t *c = json_object_get(spec, "completions");
  int64_t completions
      = json_is_integer(c) && json_integer_value(c) >= 0 && json_integer_value(c) <= INT32_MAX
            ? json_integer_value(c)
            : -1;
  size_t i;
  json_t *r;
  json_array_foreach(rules, i, r)
  {
    cleanup_free char *rp = xasprintf("%s[%zu]", fr, i);
    check_success_rule(r, rp, completions, errs);
  }
}

/* backoffLimitPerIndex and maxFailedIndexes (Kubernetes' validateJobSpec):
 * Indexed Jobs only; maxFailedIndexes needs backoffLimitPerIndex and at
 * most completions (and 100,000) indexes. */
static void check_per_index(json_t *spec, const char *sp, bool indexed, api_errors_t *errs)
{
  json_t *bpi = json_object_get(spec, "backoffLimitPerIndex");
  json_t *mfi = json_object_get(spec, "maxFailedIndexes");
  cleanup_free char *fb = xasprintf("%s.backoffLimitPerIndex", sp);
  cleanup_free char *fm = xasprintf("%s.maxFailedIndexes", sp);
  bool has_bpi = is_set(spec, "backoffLimitPerIndex");
  if (is_set(spec, "maxFailedIndexes") && !has_bpi)
    api_errors_add(errs, API_FERR_REQUIRED, fb, NULL, "when maxFailedIndexes is specified");
  if (!indexed) {
    if (has_bpi)
      api_errors_add(errs, API_FERR_INVALID, fb, bpi, "requires indexed completion mode");
    if (is_set(spec, "maxFailedIndexes"))
      api_errors_add(errs, API_FERR_INVALID, fm, mfi, "requires indexed completion mode");
    return;
  }
  if (!json_is_integer(mfi))
    return;
  json_t *c = json_object_get(spec, "completions");
  if (json_is_integer(c) && json_integer_value(mfi) > json_integer_value(c))
    api_errors_add(errs, API_FERR_INVALID, fm, mfi, "must be less than or equal to completions");
  if (json_integer_value(mfi) > MAX_INDEXED)
    api_errors_add(errs, API_FERR_INVALID, fm, mfi, "must be less than or equal to %d",
                   MAX_INDEXED);
}

/* Kubernetes' validateJobSpec: the parts a Job and a CronJob's jobTemplate
 * share; sp is the spec's path. */
static void check_job_spec(json_t *spec, const char *sp, api_errors_t *errs)
{
  srv_check_int_field(errs, spec, "parallelism", sp, 0);
  srv_check_int_field(errs, spec, "completions", sp, 0);
  srv_check_int_field(errs, spec, "activeDeadlineSeconds", sp, 1);
  srv_check_int_field(errs, spec, "backoffLimit", sp, 0);
  srv_check_int_field(errs, spec, "ttlSecondsAfterFinished", sp, 0);
  srv_check_int_field(errs, spec, "backoffLimitPerIndex", sp, 0);
  srv_check_int_field(errs, spec, "maxFailedIndexes", sp, 0);
  static const char *const modes[] = { "NonIndexed", "Indexed", NULL };
  srv_check_enum(errs, spec, "completionMode", sp, modes);
  static const char *const replace[] = { "TerminatingOrFailed", "Failed", NULL };
  srv_check_enum(errs, spec, "podReplacementPolicy", sp, replace);
  check_bool(errs, spec, "suspend", sp);
  check_bool(errs, spec, "manualSelector", sp);
  const char *mode = json_str(spec, "completionMode");
  bool indexed = mode && !strcmp(mode, "Indexed");
  check_per_index(spec, sp, indexed, errs);
  check_success_policy(spec, sp, indexed, errs);
  if (indexed) {
    json_t *c = json_object_get(spec, "completions"), *p = json_object_get(spec, "parallelism");
    cleanup_free char *fc = xasprintf("%s.completions", sp);
    cleanup_free char *fp = xasprintf("%s.parallelism", sp);
    if (!c || json_is_null(c))
      api_errors_add(errs, API_FERR_REQUIRED, fc, NULL, "when completion mode is Indexed");
    else if (json_is_integer(c) && json_integer_value(c) > MAX_INDEXED)
      api_errors_add(errs, API_FERR_INVALID, fc, c,
                     "must be less than or equal to %d when completion mode is Indexed",
                     MAX_INDEXED);
    if (json_is_integer(p) && json_integer_value(p) > MAX_INDEXED)
      api_errors_add(errs, API_FERR_INVALID, fp, p,
                     "must be less than or equal to %d when completion mode is Indexed",
                     MAX_INDEXED);
  }
  cleanup_free char *tp = xasprintf("%s.template", sp);
  json_t *tmpl = srv_child_object(spec, "template", tp, errs);
  if (!tmpl || !srv_check_pod_template(tmpl, tp, errs))
    return;
  static const char *const restart[] = { "OnFailure", "Never", NULL };
  srv_check_restart_policy(errs, tmpl, tp, restart);
  check_pod_failure_policy(spec, sp, errs);
}

/* ValidateHasLabel: the template's label key must be want. */
static void check_has_label(api_errors_t *errs, json_t *labels, const char *key, const char *want)
{
  cleanup_free char *f = xasprintf("spec.template.metadata.labels[%s]", key);
  const char *have = json_str(labels, key);
  if (!have)
    api_errors_add(errs, API_FERR_REQUIRED, f, NULL, "%s", want);
  else if (strcmp(have, want))
    api_errors_add_str(errs, API_FERR_INVALID, f, have, "must be '%s'", want);
}

/* validateGeneratedSelector: without manualSelector, the generated labels
 * are on the template and the selector selects them. */
static void check_generated_selector(json_t *o, json_t *spec, api_errors_t *errs)
{
  json_t *sel = json_object_get(spec, "selector");
  if (json_is_true(json_object_get(spec, "manualSelector")) || !sel || json_is_null(sel))
    return;
  json_t *meta = json_object_get(o, "metadata");
  const char *uid = json_str(meta, "uid") ?: "", *name = json_str(meta, "name") ?: "";
  json_t *labels
      = json_object_get(json_object_get(json_object_get(spec, "template"), "metadata"), "labels");
  check_has_label(errs, labels, "controller-uid", uid);
  check_has_label(errs, labels, "job-name", name);
  check_has_label(errs, labels, "batch.kubernetes.io/controller-uid", uid);
  check_has_label(errs, labels, "batch.kubernetes.io/job-name", name);
  json_t *expected
      = json_pack("{s:s, s:s, s:s, s:s}", "controller-uid", uid, "job-name", name,
                  "batch.kubernetes.io/controller-uid", uid, "batch.kubernetes.io/job-name", name);
  api_label_selector_t *ls = NULL;
  berr_t err = BERR_INIT;
  if (api_label_selector_from_json(sel, &ls, &err) == 0
      && !api_label_selector_matches(ls, expected))
    api_errors_add(errs, API_FERR_INVALID, "spec.selector", sel, "`selector` not auto-generated");
  berr_clear(&err);
  api_label_selector_free(ls);
  json_decref(expected);
}

void srv_validate_job(json_t *o, api_errors_t *errs)
{
  json_t *spec = srv_child_object(o, "spec", "spec", errs);
  if (!spec)
    return;
  json_t *c = json_object_get(spec, "completions"), *p = json_object_get(spec, "parallelism");
  if ((!c || json_is_null(c)) && (!p || json_is_null(p)))
    srv_default_int(spec, "completions", 1);
  srv_default_int(spec, "parallelism", 1);
  json_t *bpi = json_object_get(spec, "backoffLimitPerIndex");
  srv_default_int(spec, "backoffLimit", bpi && !json_is_null(bpi) ? INT32_MAX : 6);
  if (!json_str(spec, "completionMode"))
    json_object_set_new(spec, "completionMode", json_string("NonIndexed"));
  if (!json_is_boolean(json_object_get(spec, "suspend")))
    json_object_set_new(spec, "suspend", json_false());
  if (!json_is_boolean(json_object_get(spec, "manualSelector")))
    json_object_set_new(spec, "manualSelector", json_false());
  if (!json_str(spec, "podReplacementPolicy"))
    json_object_set_new(
        spec, "podReplacementPolicy",
        json_string(json_object_get(spec, "podFailurePolicy") ? "Failed" : "TerminatingOrFailed"));
  check_generated_selector(o, spec, errs);
  check_job_spec(spec, "spec", errs);
  json_t *sel = json_object_get(spec, "selector");
  json_t *tmpl = json_object_get(spec, "template");
  if (!sel || json_is_null(sel))
    api_errors_add(errs, API_FERR_REQUIRED, "spec.selector", NULL, "%s", "");
  else
    api_validate_label_selector(errs, "spec.selector", sel);
  if (json_is_object(tmpl))
    srv_check_selector_matches(errs, sel, tmpl, "spec.template");
  /* SetDefaults_Job: a Job without labels takes its template's. */
  json_t *meta = json_object_get(o, "metadata");
  json_t *tl = json_object_get(json_object_get(tmpl, "metadata"), "labels");
  if (json_is_object(meta) && json_object_size(json_object_get(meta, "labels")) == 0
      && json_is_object(tl) && json_object_size(tl) > 0)
    json_object_set_new(meta, "labels", json_deep_copy(tl));
  json_t *st = json_object_get(o, "status");
  const char *counts[] = { "active", "succeeded", "failed" };
  for (size_t i = 0; json_is_object(st) && i < ARRAY_SIZE(counts); i++)
    srv_check_int_field(errs, st, counts[i], "status", 0);
}

/* The "field is immutable" error for spec.key of a Job when it changed. */
static void immutable(api_errors_t *errs, json_t *a, json_t *b, const char *key, bool show)
{
  json_t *va = json_object_get(a, key), *vb = json_object_get(b, key);
  if (json_equal(va ? va : json_null(), vb ? vb : json_null()))
    return;
  cleanup_free char *f = xasprintf("spec.%s", key);
  api_errors_add(errs, API_FERR_INVALID, f, show ? (va ? va : json_null()) : NULL,
                 "field is immutable");
}

void srv_validate_job_update(json_t *o, json_t *cur, api_errors_t *errs)
{
  json_t *a = json_object_get(o, "spec"), *b = json_object_get(cur, "spec");
  const char *mode = json_str(a, "completionMode");
  json_t *ca = json_object_get(a, "completions"), *cb = json_object_get(b, "completions");
  if (!json_equal(ca ? ca : json_null(), cb ? cb : json_null())) {
    /* An Indexed Job may scale completions together with parallelism. */
    if (!mode || strcmp(mode, "Indexed"))
      immutable(errs, a, b, "completions", true);
    else if (json_is_integer(ca) && !json_equal(ca, json_object_get(a, "parallelism")))
      api_errors_add(errs, API_FERR_INVALID, "spec.completions", ca,
                     "can only be modified in tandem with spec.parallelism");
  }
  immutable(errs, a, b, "selector", true);
  immutable(errs, a, b, "completionMode", true);
  immutable(errs, a, b, "podFailurePolicy", false);
  immutable(errs, a, b, "backoffLimitPerIndex", true);
  immutable(errs, a, b, "successPolicy", false);
  /* A suspended Job that never started may still change where its pods
   * go: node selector, tolerations, affinity, scheduling gates, the
   * template's labels and annotations. */
  json_t *ta = json_deep_copy(json_object_get(a, "template"));
  json_t *tb = json_deep_copy(json_object_get(b, "template"));
  bool never_started = !json_str(json_object_get(cur, "status"), "startTime");
  if (json_is_true(json_object_get(b, "suspend")) && never_started && json_is_object(ta)
      && json_is_object(tb)) {
    const char *sched[] = { "nodeSelector", "tolerations", "affinity", "schedulingGates" };
    for (size_t i = 0; i < ARRAY_SIZE(sched); i++) {
      json_object_del(json_object_get(ta, "spec"), sched[i]);
      json_object_del(json_object_get(tb, "spec"), sched[i]);
    }
    const char *meta[] = { "labels", "annotations" };
    for (size_t i = 0; i < ARRAY_SIZE(meta); i++) {
      json_object_del(json_object_get(ta, "metadata"), meta[i]);
      json_object_del(json_object_get(tb, "metadata"), meta[i]);
    }
  }
  if (!json_equal(ta ? ta : json_null(), tb ? tb : json_null()))
    api_errors_add(errs, API_FERR_INVALID, "spec.template", json_object_get(a, "template"),
                   "field is immutable");
  json_decref(ta);
  json_decref(tb);
}

/* ---- CronJobs ----------------------------------------------------------------- */

/* A character Kubernetes allows in a time zone's path part. */
static bool tz_char(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.'
         || c == '-' || c == '_' || c == '+';
}

/* Kubernetes' validateTimeZone, with Go's time.LoadLocation reading
 * /usr/share/zoneinfo. */
static void check_time_zone(json_t *spec, api_errors_t *errs)
{
  json_t *v = json_object_get(spec, "timeZone");
  if (!v || json_is_null(v))
    return;
  if (!json_is_string(v)) {
    api_errors_add(errs, API_FERR_INVALID, "spec.timeZone", v, "must be a string");
    return;
  }
  const char *tz = json_string_value(v);
  if (!*tz) {
    api_errors_add_str(errs, API_FERR_INVALID, "spec.timeZone", tz,
                       "timeZone must be nil or non-empty string");
    return;
  }
  bool ok = true;
  for (const char *p = tz; ok && *p;) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    ok = n >= 1 && n <= 14 && p[0] != '-' && !(n == 1 && p[0] == '.')
         && !(n == 2 && p[0] == '.' && p[1] == '.');
    for (size_t i = 0; ok && i < n; i++)
      ok = tz_char(p[i]);
    p = e ? e + 1 : p + n;
    if (e && !*p)
      ok = false;
  }
  if (!ok) {
    api_errors_add_str(errs, API_FERR_INVALID, "spec.timeZone", tz, "unknown time zone %s", tz);
    return;
  }
  if (!strcasecmp(tz, "Local")) {
    api_errors_add_str(errs, API_FERR_INVALID, "spec.timeZone", tz,
                       "timeZone must be an explicit time zone as defined in "
                       "https://www.iana.org/time-zones");
    return;
  }
  if (!strcmp(tz, "UTC"))
    return;
  cleanup_free char *path = xasprintf("%s/%s", ZONEINFO_DIR, tz);
  char magic[4] = { 0 };
  cleanup_fclose FILE *f = fopen(path, "re");
  if (!f || fread(magic, 1, 4, f) != 4 || memcmp(magic, "TZif", 4))
    api_errors_add_str(errs, API_FERR_INVALID, "spec.timeZone", tz, "unknown time zone %s", tz);
}

void srv_validate_cronjob(json_t *o, api_errors_t *errs)
{
  const char *name = json_str(json_object_get(o, "metadata"), "name");
  if (name && strlen(name) > 52)
    api_errors_add_str(errs, API_FERR_INVALID, "metadata.name", name,
                       "must be no more than 52 characters");
  json_t *spec = srv_child_object(o, "spec", "spec", errs);
  if (!spec)
    return;
  if (!json_str(spec, "concurrencyPolicy") || !*json_str(spec, "concurrencyPolicy"))
    json_object_set_new(spec, "concurrencyPolicy", json_string("Allow"));
  if (!json_is_boolean(json_object_get(spec, "suspend")))
    json_object_set_new(spec, "suspend", json_false());
  srv_default_int(spec, "successfulJobsHistoryLimit", 3);
  srv_default_int(spec, "failedJobsHistoryLimit", 1);

  json_t *sched = json_object_get(spec, "schedule");
  if (!sched || json_is_null(sched) || (json_is_string(sched) && !json_string_length(sched))) {
    api_errors_add(errs, API_FERR_REQUIRED, "spec.schedule", NULL, "%s", "");
  } else if (!json_is_string(sched)) {
    api_errors_add(errs, API_FERR_INVALID, "spec.schedule", sched, "must be a string");
  } else {
    const char *s = json_string_value(sched);
    api_cron_t c;
    berr_t err = BERR_INIT;
    if (api_cron_parse(s, &c, &err) < 0)
      api_errors_add_str(errs, API_FERR_INVALID, "spec.schedule", s, "%s", err.msg);
    berr_clear(&err);
    if (strstr(s, "TZ"))
      api_errors_add_str(errs, API_FERR_INVALID, "spec.schedule", s,
                         "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  }
  static const char *const policies[] = { "Allow", "Forbid", "Replace", NULL };
  srv_check_enum(errs, spec, "concurrencyPolicy", "spec", policies);
  check_bool(errs, spec, "suspend", "spec");

  json_t *jt = srv_child_object(spec, "jobTemplate", "spec.jobTemplate", errs);
  if (jt) {
    json_t *jm = json_object_get(jt, "metadata");
    api_validate_labels(errs, "spec.jobTemplate.metadata.labels", json_object_get(jm, "labels"));
    api_validate_annotations(errs, "spec.jobTemplate.metadata.annotations",
                             json_object_get(jm, "annotations"));
    json_t *js = srv_child_object(jt, "spec", "spec.jobTemplate.spec", errs);
    if (js) {
      check_job_spec(js, "spec.jobTemplate.spec", errs);
      json_t *sel = json_object_get(js, "selector");
      if (sel && !json_is_null(sel))
        api_errors_add(errs, API_FERR_INVALID, "spec.jobTemplate.spec.selector", sel,
                       "`selector` will be auto-generated");
      if (json_is_true(json_object_get(js, "manualSelector")))
        api_errors_add(errs, API_FERR_NOT_SUPPORTED, "spec.jobTemplate.spec.manualSelector",
                       json_true(), "supported values: \"nil\", \"false\"");
    }
  }
  srv_check_int_field(errs, spec, "startingDeadlineSeconds", "spec", 0);
  srv_check_int_field(errs, spec, "successfulJobsHistoryLimit", "spec", 0);
  srv_check_int_field(errs, spec, "failedJobsHistoryLimit", "spec", 0);
  check_time_zone(spec, errs);
}

/* ---- Table cells ---------------------------------------------------------------- */

static bool has_condition(json_t *o, const char *type)
{
  json_t *conds = json_object_get(json_object_get(o, "status"), "conditions"), *c;
  size_t i;
  json_array_foreach(conds, i, c)
  {
    const char *t = json_str(c, "type"), *s = json_str(c, "status");
    if (t && s && !strcmp(t, type) && !strcmp(s, "True"))
      return true;
  }
  return false;
}

/* kubectl's printJob: Complete, Failed, Terminating, Suspended,
 * FailureTarget, SuccessCriteriaMet, else Running. */
static json_t *cell_job_status(json_t *o, int64_t now)
{
  (void)now;
  const char *dts = json_str(json_object_get(o, "metadata"), "deletionTimestamp");
  if (has_condition(o, "Complete"))
    return json_string("Complete");
  if (has_condition(o, "Failed"))
    return json_string("Failed");
  if (dts && *dts)
    return json_string("Terminating");
  if (has_condition(o, "Suspended"))
    return json_string("Suspended");
  if (has_condition(o, "FailureTarget"))
    return json_string("FailureTarget");
  if (has_condition(o, "SuccessCriteriaMet"))
    return json_string("SuccessCriteriaMet");
  return json_string("Running");
}

/* "0/1"; without completions, "0/1 of 3" when running 3 in parallel. */
static json_t *cell_job_completions(json_t *o, int64_t now)
{
  (void)now;
  json_t *spec = json_object_get(o, "spec");
  int64_t done = json_int(json_object_get(o, "status"), "succeeded", 0);
  json_t *c = json_object_get(spec, "completions");
  if (json_is_integer(c))
    return srv_str_own(xasprintf("%" PRId64 "/%" PRId64, done, (int64_t)json_integer_value(c)));
  int64_t par = json_int(spec, "parallelism", 0);
  if (par > 1)
    return srv_str_own(xasprintf("%" PRId64 "/1 of %" PRId64, done, par));
  return srv_str_own(xasprintf("%" PRId64 "/1", done));
}

static json_t *cell_job_duration(json_t *o, int64_t now)
{
  json_t *st = json_object_get(o, "status");
  int64_t start, end;
  const char *ss = json_str(st, "startTime"), *cs = json_str(st, "completionTime");
  if (!ss || time_parse_rfc3339(ss, &start) < 0)
    return json_string("");
  if (!cs || time_parse_rfc3339(cs, &end) < 0)
    end = now;
  return srv_str_own(srv_human_age(end - start));
}

static json_t *job_template(json_t *o)
{
  return json_object_get(json_object_get(o, "spec"), "template");
}

static json_t *cell_job_containers(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_containers_of(job_template(o));
}

static json_t *cell_job_images(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_images_of(job_template(o));
}

static json_t *cell_job_selector(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_selector_of(json_object_get(json_object_get(o, "spec"), "selector"), true);
}

const srv_column_t srv_cols_job[SRV_JOB_COLUMNS] = {
  SRV_NAME_COL,
  SRV_COL("Status", "Status of the job.", cell_job_status),
  SRV_COL("Completions", "The number of pods which reached phase Succeeded.", cell_job_completions),
  SRV_COL("Duration", "Time required to complete the job.", cell_job_duration),
  SRV_AGE_COL,
  SRV_COL_WIDE("Containers", "Names of each container in the template.", cell_job_containers),
  SRV_COL_WIDE("Images", "Images referenced by each container in the template.", cell_job_images),
  SRV_COL_WIDE("Selector", "A label query over pods that should match the pod count.",
               cell_job_selector),
};

static json_t *cronjob_job_spec(json_t *o)
{
  return json_object_get(json_object_get(json_object_get(o, "spec"), "jobTemplate"), "spec");
}

static json_t *cell_cj_schedule(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_str(json_str(json_object_get(o, "spec"), "schedule"));
}

static json_t *cell_cj_timezone(json_t *o, int64_t now)
{
  (void)now;
  json_t *tz = json_object_get(json_object_get(o, "spec"), "timeZone");
  return json_string(json_is_string(tz) ? json_string_value(tz) : "<none>");
}

static json_t *cell_cj_suspend(json_t *o, int64_t now)
{
  (void)now;
  json_t *s = json_object_get(json_object_get(o, "spec"), "suspend");
  return json_string(!json_is_boolean(s) ? "<unset>" : json_is_true(s) ? "True" : "False");
}

static json_t *cell_cj_active(json_t *o, int64_t now)
{
  (void)now;
  return json_integer(
      (json_int_t)json_array_size(json_object_get(json_object_get(o, "status"), "active")));
}

static json_t *cell_cj_last(json_t *o, int64_t now)
{
  const char *t = json_str(json_object_get(o, "status"), "lastScheduleTime");
  if (!t || !*t)
    return json_string("<none>");
  return srv_cell_age_of(t, now);
}

static json_t *cell_cj_containers(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_containers_of(json_object_get(cronjob_job_spec(o), "template"));
}

static json_t *cell_cj_images(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_images_of(json_object_get(cronjob_job_spec(o), "template"));
}

static json_t *cell_cj_selector(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_selector_of(json_object_get(cronjob_job_spec(o), "selector"), true);
}

const srv_column_t srv_cols_cronjob[SRV_CRONJOB_COLUMNS] = {
  SRV_NAME_COL,
  SRV_COL("Schedule", "The schedule in Cron format.", cell_cj_schedule),
  SRV_COL("Timezone", "The time zone name for the given schedule.", cell_cj_timezone),
  { "Suspend", "boolean", "", "Whether subsequent executions are suspended.", 0, cell_cj_suspend },
  SRV_COL_INT("Active", "A list of pointers to currently running jobs.", cell_cj_active),
  SRV_COL("Last Schedule",
          "Information when was the last time the job was successfully "
          "scheduled.",
          cell_cj_last),
  SRV_AGE_COL,
  SRV_COL_WIDE("Containers", "Names of each container in the template.", cell_cj_containers),
  SRV_COL_WIDE("Images", "Images referenced by each container in the template.", cell_cj_images),
  SRV_COL_WIDE("Selector", "A label query over pods that should match the pod count.",
               cell_cj_selector),
};
