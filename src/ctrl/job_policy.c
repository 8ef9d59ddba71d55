/* job_policy.c — how the Job controller judges pods: the podFailurePolicy
 * rules a failed pod matches (Count, Ignore, FailJob, FailIndex), the index
 * sets of Indexed Jobs (status.completedIndexes, status.failedIndexes and a
 * successPolicy rule's succeededIndexes: "1,3-5"), and whether the
 * completed indexes meet a successPolicy rule. Kubernetes' semantics and
 * messages throughout; the server has already validated the spec, so what
 * does not parse here is skipped rather than reported. */
#include "ctrl/job.h"

#include <stdlib.h>
#include <string.h>

/* ---- podFailurePolicy --------------------------------------------------------------- */

/* The first terminated container (init containers after the others, as
 * Kubernetes looks) that onExitCodes matches, or NULL; *code its exit code. */
static const char *exit_code_match(json_t *pod, json_t *on, int64_t *code)
{
  if (!json_is_object(on))
    return NULL;
  const char *name = json_str(on, "containerName"), *op = json_str(on, "operator") ?: "";
  bool in = !strcmp(op, "In");
  json_t *st = json_object_get(pod, "status");
  const char *lists[] = { "containerStatuses", "initContainerStatuses" };
  for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
    size_t i;
    json_t *cs;
    json_array_foreach(json_object_get(st, lists[l]), i, cs)
    {
      if (name && strcmp(json_str(cs, "name") ?: "", name))
        continue;
      json_t *t = json_object_get(json_object_get(cs, "state"), "terminated");
      if (!json_is_object(t))
        continue;
      int64_t c = json_int(t, "exitCode", 0);
      if (c == 0)
        continue; /* a success matches no rule */
      bool listed = false;
      size_t k;
      json_t *v;
      json_array_foreach(json_object_get(on, "values"), k, v) listed |= json_integer_value(v) == c;
      if (listed == in) {
        *code = c;
        return json_str(cs, "name") ?: "";
      }
    }
  }
  return NULL;
}

/* The first of onPodConditions the pod has with that status, or NULL. */
static const char *condition_match(json_t *pod, json_t *on)
{
  size_t i, k;
  json_t *want, *c;
  json_array_foreach(on, i, want)
  {
    const char *type = json_str(want, "type") ?: "", *status = json_str(want, "status") ?: "True";
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), k, c)
    {
      if (!strcmp(json_str(c, "type") ?: "", type) && !strcmp(json_str(c, "status") ?: "", status))
        return type;
    }
  }
  return NULL;
}

job_pfp_t job_failure_action(job_t *j, json_t *pod)
{
  json_t *rules = json_object_get(json_object_get(j->spec, "podFailurePolicy"), "rules"), *r;
  size_t i;
  json_array_foreach(rules, i, r)
  {
    const char *action = json_str(r, "action") ?: "";
    json_t *md = json_object_get(pod, "metadata");
    char *msg = NULL;
    int64_t code = 0;
    const char *what;
    if ((what = exit_code_match(pod, json_object_get(r, "onExitCodes"), &code)))
      msg = xasprintf("Container %s for pod %s/%s failed with exit code %lld matching %s rule at "
                      "index %zu",
                      what, json_str(md, "namespace") ?: "", json_str(md, "name") ?: "",
                      (long long)code, action, i);
    else if ((what = condition_match(pod, json_object_get(r, "onPodConditions"))))
      msg = xasprintf("Pod %s/%s has condition %s matching %s rule at index %zu",
                      json_str(md, "namespace") ?: "", json_str(md, "name") ?: "", what, action, i);
    if (!msg)
      continue;
    job_pfp_t a = !strcmp(action, "Ignore")                           ? JOB_PFP_IGNORE
                  : !strcmp(action, "FailJob")                        ? JOB_PFP_FAIL_JOB
                  : !strcmp(action, "FailIndex") && j->per_index >= 0 ? JOB_PFP_FAIL_INDEX
                                                                      : JOB_PFP_COUNT;
    if (a == JOB_PFP_FAIL_JOB && !j->fail_job)
      j->fail_job = msg;
    else
      free(msg);
    return a;
  }
  return JOB_PFP_COUNT;
}

/* ---- index sets --------------------------------------------------------------------- */

void job_indexes_parse(const char *s, unsigned char *set, int64_t n)
{
  while (s && *s) {
    char *end;
    long long a = strtoll(s, &end, 10), b = a;
    if (end == s || a < 0)
      return;
    s = end;
    if (*s == '-') {
      b = strtoll(s + 1, &end, 10);
      if (end == s + 1 || b < a)
        return;
      s = end;
    }
    for (long long i = a; i <= b && i < n; i++)
      set[i] = 1;
    if (*s != ',')
      return;
    s++;
  }
}

char *job_indexes_format(const unsigned char *set, int64_t n)
{
  buf_t b = { 0 };
  for (int64_t i = 0; i < n; i++) {
    if (!set[i])
      continue;
    int64_t k = i;
    while (k + 1 < n && set[k + 1])
      k++;
    if (b.len)
      buf_puts(&b, ",");
    if (k > i)
      buf_printf(&b, "%lld%c%lld", (long long)i, k == i + 1 ? ',' : '-', (long long)k);
    else
      buf_printf(&b, "%lld", (long long)i);
    i = k;
  }
  return b.len ? buf_steal(&b) : (buf_free(&b), NULL);
}

/* ---- successPolicy ------------------------------------------------------------------ */

/* Whether the completed indexes meet a rule with succeededIndexes (its
 * indexes in want, scratch of n bytes): all of them succeeded, or at least
 * count of them (count -1: not set). A rule whose indexes do not parse is
 * never met. */
static bool indexes_rule_met(const char *want, int64_t count, const unsigned char *done, int64_t n,
                             unsigned char *scratch)
{
  memset(scratch, 0, (size_t)n);
  job_indexes_parse(want, scratch, n);
  int64_t total = 0, have = 0;
  for (int64_t i = 0; i < n; i++) {
    total += scratch[i];
    have += scratch[i] && done[i];
  }
  return total > 0 && (have == total || (count >= 0 && have >= count));
}

char *job_success_match(json_t *policy, const unsigned char *done, int64_t n, int64_t ndone)
{
  json_t *rules = json_object_get(policy, "rules"), *r;
  if (!json_is_array(rules) || ndone <= 0 || n <= 0)
    return NULL;
  unsigned char *scratch = NULL;
  char *msg = NULL;
  size_t i;
  json_array_foreach(rules, i, r)
  {
    json_t *c = json_object_get(r, "succeededCount");
    int64_t count = json_is_integer(c) && json_integer_value(c) >= 0 ? json_integer_value(c) : -1;
    const char *want = json_str(r, "succeededIndexes");
    bool met;
    if (want) {
      if (!scratch)
        scratch = xcalloc((size_t)n, 1);
      met = indexes_rule_met(want, count, done, n, scratch);
    } else {
      met = count >= 0 && ndone >= count;
    }
    if (met) {
      msg = xasprintf("Matched rules at index %zu", i);
      break;
    }
  }
  free(scratch);
  return msg;
}
