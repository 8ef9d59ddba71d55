/* match.c — whether a pod may run on a node, as the DaemonSet controller and
 * the taint-based eviction judge it: taints and tolerations, nodeSelector
 * and required node affinity; and the small readers of untrusted fields
 * (bounded integers, IntOrString percentages) the controllers share.
 *
 * Every reader tolerates any JSON: a field of the wrong type counts as
 * absent, so a hostile object gets defaults, never a crash. */
#include "ctrl/ctrl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int64_t ctrl_int(json_t *obj, const char *key, int64_t dflt, int64_t min, int64_t max)
{
  json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
  if (!json_is_integer(v))
    return dflt;
  int64_t n = json_integer_value(v);
  return n < min || n > max ? dflt : n;
}

int ctrl_intstr_scaled(json_t *v, int64_t total, bool round_up, int64_t *out, berr_t *err)
{
  if (json_is_integer(v)) {
    int64_t n = json_integer_value(v);
    if (n < 0 || n > INT32_MAX)
      return berr_setc(err, EINVAL, "invalid value %lld: must be between 0 and %d", (long long)n,
                       INT32_MAX);
    *out = n;
    return 0;
  }
  const char *s = json_string_value(v);
  if (!s)
    return berr_setc(err, EINVAL, "invalid value: must be an integer or a percentage");
  size_t len = strlen(s);
  char *end;
  long pct = len > 1 && s[len - 1] == '%' && s[0] >= '0' && s[0] <= '9' ? strtol(s, &end, 10) : -1;
  if (pct < 0 || pct > 1000000 || end != s + len - 1)
    return berr_setc(err, EINVAL, "invalid value \"%s\": must be an integer or a percentage", s);
  if (total < 0)
    total = 0;
  if (total > INT32_MAX)
    total = INT32_MAX;
  int64_t prod = (int64_t)pct * total;
  *out = round_up ? (prod + 99) / 100 : prod / 100;
  return 0;
}

/* ---- taints and tolerations ------------------------------------------------ */

bool ctrl_toleration_matches(json_t *tol, json_t *taint)
{
  const char *key = json_str(taint, "key") ?: "", *val = json_str(taint, "value") ?: "";
  const char *eff = json_str(taint, "effect") ?: "";
  const char *tk = json_str(tol, "key") ?: "", *op = json_str(tol, "operator") ?: "Equal";
  const char *tv = json_str(tol, "value") ?: "", *te = json_str(tol, "effect") ?: "";
  if (*te && strcmp(te, eff))
    return false;
  if (!*tk) /* an empty key with Exists tolerates everything */
    return !strcmp(op, "Exists");
  if (strcmp(tk, key))
    return false;
  if (!strcmp(op, "Exists"))
    return true;
  return !strcmp(op, "Equal") && !strcmp(tv, val);
}

json_t *ctrl_toleration_for(json_t *tolerations, json_t *taint)
{
  json_t *t;
  size_t i;
  json_array_foreach(tolerations, i, t)
  {
    if (ctrl_toleration_matches(t, taint))
      return t;
  }
  return NULL;
}

static bool effect_is(json_t *taint, const char *effect)
{
  return !strcmp(json_str(taint, "effect") ?: "", effect);
}

bool ctrl_tolerates_taints(json_t *tolerations, json_t *taints, bool no_schedule)
{
  json_t *t;
  size_t i;
  json_array_foreach(taints, i, t)
  {
    bool counts = effect_is(t, "NoExecute") || (no_schedule && effect_is(t, "NoSchedule"));
    if (counts && !ctrl_toleration_for(tolerations, t))
      return false;
  }
  return true;
}

/* ---- node selectors ------------------------------------------------------------ */

static bool values_contain(json_t *values, const char *s)
{
  json_t *v;
  size_t i;
  json_array_foreach(values, i, v)
  {
    if (json_is_string(v) && !strcmp(json_string_value(v), s))
      return true;
  }
  return false;
}

/* Gt/Lt: the label and the single value are integers. */
static bool compare_int(const char *have, json_t *values, bool greater)
{
  if (json_array_size(values) != 1 || !json_is_string(json_array_get(values, 0)))
    return false;
  int64_t a, b;
  if (parse_int64(have, &a, NULL) < 0
      || parse_int64(json_string_value(json_array_get(values, 0)), &b, NULL) < 0)
    return false;
  return greater ? a > b : a < b;
}

/* One NodeSelectorRequirement against a map of labels (or {metadata.name}). */
static bool requirement_matches(json_t *req, json_t *labels)
{
  const char *key = json_str(req, "key"), *op = json_str(req, "operator");
  if (!key || !op)
    return false;
  const char *have = json_str(labels, key);
  json_t *values = json_object_get(req, "values");
  if (!strcmp(op, "In"))
    return have && values_contain(values, have);
  if (!strcmp(op, "NotIn"))
    return !have || !values_contain(values, have);
  if (!strcmp(op, "Exists"))
    return have != NULL;
  if (!strcmp(op, "DoesNotExist"))
    return have == NULL;
  if (!strcmp(op, "Gt") || !strcmp(op, "Lt"))
    return have && compare_int(have, values, op[0] == 'G');
  return false;
}

/* A term: all of its requirements; an empty term matches nothing. */
static bool term_matches(json_t *term, json_t *labels, json_t *fields)
{
  json_t *exprs = json_object_get(term, "matchExpressions");
  json_t *mf = json_object_get(term, "matchFields"), *r;
  if (!json_array_size(exprs) && !json_array_size(mf))
    return false;
  size_t i;
  json_array_foreach(exprs, i, r)
  {
    if (!requirement_matches(r, labels))
      return false;
  }
  json_array_foreach(mf, i, r)
  {
    if (!requirement_matches(r, fields))
      return false;
  }
  return true;
}

bool ctrl_node_matches(json_t *pod_spec, json_t *node)
{
  json_t *md = json_object_get(node, "metadata");
  json_t *labels = json_object_get(md, "labels");
  json_t *sel = json_object_get(pod_spec, "nodeSelector"), *v;
  const char *k;
  json_object_foreach(sel, k, v)
  {
    const char *have = json_str(labels, k);
    if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
      return false;
  }
  json_t *req
      = json_object_get(json_object_get(json_object_get(pod_spec, "affinity"), "nodeAffinity"),
                        "requiredDuringSchedulingIgnoredDuringExecution");
  if (!req)
    return true;
  cleanup_json json_t *fields = json_pack("{s:s}", "metadata.name", json_str(md, "name") ?: "");
  json_t *terms = json_object_get(req, "nodeSelectorTerms"), *t;
  size_t i;
  json_array_foreach(terms, i, t)
  {
    if (term_matches(t, labels, fields))
      return true;
  }
  return false;
}
