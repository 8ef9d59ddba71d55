/* job.c — the Job controller (batch/v1): runs pods until enough of them
 * succeed, in NonIndexed or Indexed completion mode, and gives up after
 * backoffLimit failures or activeDeadlineSeconds; suspends; deletes the
 * Job ttlSecondsAfterFinished after it finished.
 *
 * The counts come from the pods the Job owns: a terminated pod stays until
 * the Job is deleted (nothing here deletes one), so counting them again on
 * every sync gives the same answer. The status keeps the highest count seen
 * (and the union of completed indexes), so pods removed by someone else
 * later are not forgotten. Kubernetes tracks the same with pod finalizers;
 * this keeps pods free of them.
 *
 * Failed pods are replaced after a back-off: 10 s × 2^(failures − 1),
 * capped at 6 minutes, from the last failure. Only phase Failed counts:
 * with restartPolicy OnFailure a container that restarts is not a failure. */
#include "ctrl/ctrl.h"

#include <stdlib.h>
#include <string.h>

#define NS_PER_S         1000000000LL
#define INDEX_KEY        "batch.kubernetes.io/job-completion-index"
#define INDEXED_MAX      100000 /* Kubernetes' limit of completions for Indexed */
#define BACKOFF_BASE_NS  (10 * NS_PER_S)
#define BACKOFF_MAX_NS   (360 * NS_PER_S)
#define BACKOFF_LIMIT    6  /* the default of spec.backoffLimit */
#define GENERATE_BASE_OK 52 /* job name length kept in "<job>-<index>-" */
/* pods created per sync at most (Kubernetes' too): their events bring the
 * next sync */
#define CREATE_MAX 500

typedef struct job {
  ctrl_ctx_t *x;
  json_t *obj, *spec;
  const char *ns, *name;
  bool indexed;
  int64_t completions; /* -1: not set */
  int64_t parallelism;
  json_t *active; /* pods not terminated and not being deleted */
  int64_t nsucc, nfail;
  int64_t last_fail;   /* ns, when the newest failed pod finished */
  unsigned char *done; /* Indexed: completed indexes */
  int64_t ndone;
  int64_t created, deleted, ready_deleted;
  char *fail_job; /* a failed pod matched a FailJob rule: the condition's message */
  json_t *taken;  /* names given to pods in this sync */
} job_t;

/* ---- pods ------------------------------------------------------------------------ */

static const char *pod_name(json_t *pod)
{
  return json_str(json_object_get(pod, "metadata"), "name");
}

/* The completion index of pod, or -1. */
static int64_t pod_index(json_t *pod)
{
  const char *s
      = json_str(json_object_get(json_object_get(pod, "metadata"), "annotations"), INDEX_KEY);
  int64_t v;
  if (!s || parse_int64(s, &v, NULL) < 0 || v < 0)
    return -1;
  return v;
}

/* When a terminated pod finished: its last container's finishedAt, else
 * its Ready condition's last change, else its creation. */
static int64_t finish_time(json_t *pod)
{
  json_t *st = json_object_get(pod, "status"), *c;
  int64_t t = 0;
  size_t i;
  json_array_foreach(json_object_get(st, "containerStatuses"), i, c)
  {
    int64_t f = ctrl_time_parse(
        json_str(json_object_get(json_object_get(c, "state"), "terminated"), "finishedAt"));
    if (f > t)
      t = f;
  }
  if (!t)
    t = ctrl_time_parse(json_str(ctrl_condition(pod, "Ready"), "lastTransitionTime"));
  if (!t)
    t = ctrl_time_parse(json_str(json_object_get(pod, "metadata"), "creationTimestamp"));
  return t;
}

static void delete_pod(job_t *j, json_t *pod)
{
  json_t *md = json_object_get(pod, "metadata");
  const char *name = json_str(md, "name");
  if (!name)
    return;
  ctrl_act_delete(j->x->out, "pods", j->ns, name, json_str(md, "uid"), -1);
  ctrl_act_event(j->x->out, j->obj, "Normal", "SuccessfulDelete", "Deleted pod: %s", name);
  j->deleted++;
  if (ctrl_pod_ready(pod, NULL))
    j->ready_deleted++;
}

static void set_label(json_t *labels, const char *key, const char *value)
{
  if (value && strlen(value) <= API_LABEL_VALUE_MAX && !json_object_get(labels, key))
    json_object_set_new(labels, key, json_string(value));
}

/* JOB_COMPLETION_INDEX from the pod's annotation, in every container. */
static void add_index_env(json_t *spec)
{
  const char *lists[] = { "initContainers", "containers" };
  for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
    json_t *c;
    size_t i;
    json_array_foreach(json_object_get(spec, lists[l]), i, c)
    {
      if (!json_is_object(c))
        continue;
      json_t *env = json_object_get(c, "env"), *e;
      if (!json_is_array(env)) {
        env = json_array();
        json_object_set_new(c, "env", env);
      }
      bool have = false;
      size_t k;
      json_array_foreach(env, k, e)
      {
        if (!strcmp(json_str(e, "name") ?: "", "JOB_COMPLETION_INDEX"))
          have = true;
      }
      if (!have)
        json_array_append_new(env, json_pack("{s:s,s:{s:{s:s}}}", "name", "JOB_COMPLETION_INDEX",
                                             "valueFrom", "fieldRef", "fieldPath",
                                             "metadata.annotations['" INDEX_KEY "']"));
    }
  }
}

/* A new pod for the Job (index -1 when NonIndexed), with its event. */
static void create_pod(job_t *j, int64_t index)
{
  json_t *md0 = json_object_get(j->obj, "metadata");
  int base = (int)(strlen(j->name) > GENERATE_BASE_OK ? GENERATE_BASE_OK : strlen(j->name));
  cleanup_free char *prefix = index >= 0 ? xasprintf("%.*s-%lld-", base, j->name, (long long)index)
                                         : xasprintf("%s-", j->name);
  json_t *pod = ctrl_pod_from_template(json_object_get(j->spec, "template"), j->obj, "batch/v1",
                                       "Job", prefix);
  json_t *md = json_object_get(pod, "metadata");
  /* 27^5 names: 500 at once would collide about once in a hundred syncs */
  char *name = api_generate_name(prefix);
  while (json_object_get(j->taken, name) || ctrl_cache_get(j->x->cache, "pods", j->ns, name)) {
    free(name);
    name = api_generate_name(prefix);
  }
  json_object_set_new(j->taken, name, json_true());
  json_object_set_new(md, "name", json_string(name));
  json_t *labels = json_object_get(md, "labels");
  if (!json_is_object(labels)) {
    labels = json_object();
    json_object_set_new(md, "labels", labels);
  }
  const char *uid = json_str(md0, "uid");
  set_label(labels, "batch.kubernetes.io/controller-uid", uid);
  set_label(labels, "batch.kubernetes.io/job-name", j->name);
  set_label(labels, "controller-uid", uid);
  set_label(labels, "job-name", j->name);
  if (index >= 0) {
    char idx[24];
    snprintf(idx, sizeof idx, "%lld", (long long)index);
    json_t *ann = json_object_get(md, "annotations");
    if (!json_is_object(ann)) {
      ann = json_object();
      json_object_set_new(md, "annotations", ann);
    }
    json_object_set_new(ann, INDEX_KEY, json_string(idx));
    json_object_set_new(labels, INDEX_KEY, json_string(idx));
    json_t *spec = json_object_get(pod, "spec");
    add_index_env(spec);
    if (json_is_object(spec) && !json_str(spec, "hostname")) {
      cleanup_free char *host = xasprintf("%.*s-%s", base, j->name, idx);
      json_object_set_new(spec, "hostname", json_string(host));
    }
  }
  ctrl_act_create(j->x->out, "pods", pod);
  ctrl_act_event(j->x->out, j->obj, "Normal", "SuccessfulCreate", "Created pod: %s", name);
  free(name);
  j->created++;
}

/* Not Ready before Ready, then newest first: the ones to delete first. */
static int deletion_order(const void *a, const void *b)
{
  json_t *pa = *(json_t *const *)a, *pb = *(json_t *const *)b;
  bool ra = ctrl_pod_ready(pa, NULL), rb = ctrl_pod_ready(pb, NULL);
  if (ra != rb)
    return ra ? 1 : -1;
  int64_t ca = ctrl_time_parse(json_str(json_object_get(pa, "metadata"), "creationTimestamp"));
  int64_t cb = ctrl_time_parse(json_str(json_object_get(pb, "metadata"), "creationTimestamp"));
  if (ca != cb)
    return ca > cb ? -1 : 1;
  return -strcmp(pod_name(pa) ?: "", pod_name(pb) ?: "");
}

/* Deletes n of the active pods, the least useful first. */
static void delete_active(job_t *j, size_t n)
{
  size_t count = json_array_size(j->active);
  if (!count || !n)
    return;
  json_t **v = xcalloc(count, sizeof *v);
  for (size_t i = 0; i < count; i++)
    v[i] = json_array_get(j->active, i);
  qsort(v, count, sizeof *v, deletion_order);
  for (size_t i = 0; i < n && i < count; i++)
    delete_pod(j, v[i]);
  free(v);
}

/* ---- completed indexes ------------------------------------------------------------- */

static void indexes_parse(job_t *j, const char *s)
{
  while (s && *s) {
    char *end;
    long a = strtol(s, &end, 10), b = a;
    if (end == s || a < 0)
      return;
    s = end;
    if (*s == '-') {
      b = strtol(s + 1, &end, 10);
      if (end == s + 1 || b < a)
        return;
      s = end;
    }
    for (long i = a; i <= b && i < j->completions; i++)
      j->done[i] = 1;
    if (*s != ',')
      return;
    s++;
  }
}

static char *indexes_format(job_t *j)
{
  buf_t b = { 0 };
  for (int64_t i = 0; i < j->completions; i++) {
    if (!j->done[i])
      continue;
    int64_t k = i;
    while (k + 1 < j->completions && j->done[k + 1])
      k++;
    if (b.len)
      buf_puts(&b, ",");
    if (k > i)
      buf_printf(&b, "%lld-%lld", (long long)i, (long long)k);
    else
      buf_printf(&b, "%lld", (long long)i);
    i = k;
  }
  return b.len ? buf_steal(&b) : (buf_free(&b), NULL);
}

/* ---- the status ------------------------------------------------------------------- */

static bool finished(json_t *job, const char **how)
{
  const char *types[] = { "Complete", "Failed" };
  for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
    json_t *c = ctrl_condition(job, types[i]);
    if (c && !strcmp(json_str(c, "status") ?: "", "True")) {
      if (how)
        *how = types[i];
      return true;
    }
  }
  return false;
}

static void set_count(json_t *st, const char *key, int64_t n, bool omit_zero)
{
  if (n <= 0 && omit_zero)
    json_object_del(st, key);
  else
    json_object_set_new(st, key, json_integer(n < 0 ? 0 : n));
}

static void write_status(job_t *j, json_t *st)
{
  json_t *old = json_object_get(j->obj, "status");
  if (json_equal(st, old))
    return;
  json_t *copy = json_deep_copy(j->obj);
  json_object_set(copy, "status", st);
  ctrl_act_update_status(j->x->out, "jobs", copy);
}

/* A finished Job: its leftover pods go, and it goes itself
 * ttlSecondsAfterFinished after it finished. */
static void sync_finished(job_t *j, json_t *st, const char *how)
{
  delete_active(j, json_array_size(j->active));
  if (j->deleted) {
    set_count(st, "active", 0, true);
    json_object_set_new(st, "ready", json_integer(0));
  }
  write_status(j, st);
  int64_t ttl = ctrl_int(j->spec, "ttlSecondsAfterFinished", -1, 0, INT32_MAX);
  if (ttl < 0)
    return;
  int64_t at = ctrl_time_parse(json_str(st, "completionTime"));
  if (!at)
    at = ctrl_time_parse(json_str(ctrl_condition(j->obj, how), "lastTransitionTime"));
  if (!at)
    at = j->x->now;
  int64_t due = at + ttl * NS_PER_S;
  if (due > j->x->now) {
    ctrl_requeue_after(j->x, due - j->x->now);
    return;
  }
  json_t *md = json_object_get(j->obj, "metadata");
  ctrl_act_delete(j->x->out, "jobs", j->ns, j->name, json_str(md, "uid"), -1);
}

/* Ends the Job: Failed (reason, message) or Complete. */
static void finish(job_t *j, json_t *st, const char *type, const char *reason, const char *message)
{
  delete_active(j, json_array_size(j->active));
  ctrl_set_condition(st, type, "True", reason, message, j->x->now);
  cleanup_free char *ts = time_rfc3339_sec(j->x->now);
  if (!strcmp(type, "Complete")) {
    json_object_set_new(st, "completionTime", json_string(ts));
    ctrl_act_event(j->x->out, j->obj, "Normal", "Completed", "Job completed");
  } else {
    ctrl_act_event(j->x->out, j->obj, "Warning", reason, "%s", message);
  }
  int64_t ttl = ctrl_int(j->spec, "ttlSecondsAfterFinished", -1, 0, INT32_MAX);
  if (ttl >= 0)
    ctrl_requeue_after(j->x, ttl * NS_PER_S);
}

/* ---- creating and deleting -------------------------------------------------------- */

/* Whether the back-off after the last failure still holds new pods back
 * (then asks to be called when it ends). */
static bool backing_off(job_t *j)
{
  if (j->nfail <= 0 || !j->last_fail)
    return false;
  int64_t delay = BACKOFF_BASE_NS;
  for (int64_t i = 1; i < j->nfail && delay < BACKOFF_MAX_NS; i++)
    delay *= 2;
  if (delay > BACKOFF_MAX_NS)
    delay = BACKOFF_MAX_NS;
  if (j->last_fail + delay <= j->x->now)
    return false;
  ctrl_requeue_after(j->x, j->last_fail + delay - j->x->now);
  return true;
}

static void manage_nonindexed(job_t *j, int64_t succeeded)
{
  int64_t active = (int64_t)json_array_size(j->active), want;
  if (j->completions < 0)
    want = succeeded > 0 ? active : j->parallelism;
  else
    want
        = j->completions - succeeded < j->parallelism ? j->completions - succeeded : j->parallelism;
  if (want < 0)
    want = 0;
  if (active > want) {
    delete_active(j, (size_t)(active - want));
    return;
  }
  if (active < want && !backing_off(j))
    for (int64_t i = active; i < want && j->created < CREATE_MAX; i++)
      create_pod(j, -1);
}

static void manage_indexed(job_t *j)
{
  unsigned char *running = xcalloc((size_t)j->completions, 1);
  cleanup_json json_t *keep = json_array();
  json_t *pod;
  size_t i;
  /* pods of a done, unknown or duplicate index go first */
  json_array_foreach(j->active, i, pod)
  {
    int64_t idx = pod_index(pod);
    if (idx < 0 || idx >= j->completions || j->done[idx] || running[idx]) {
      delete_pod(j, pod);
      continue;
    }
    running[idx] = 1;
    json_array_append(keep, pod);
  }
  json_decref(j->active);
  j->active = json_incref(keep);
  int64_t active = (int64_t)json_array_size(keep);
  int64_t left = j->completions - j->ndone;
  int64_t want = left < j->parallelism ? left : j->parallelism;
  if (active > want) {
    delete_active(j, (size_t)(active - want));
  } else if (active < want && !backing_off(j)) {
    for (int64_t k = 0; k < j->completions && active < want && j->created < CREATE_MAX; k++)
      if (!j->done[k] && !running[k]) {
        create_pod(j, k);
        active++;
      }
  }
  free(running);
}

/* ---- podFailurePolicy --------------------------------------------------------------- */

typedef enum { PFP_COUNT, PFP_IGNORE, PFP_FAIL_JOB } pfp_action_t;

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

/* What the Job's podFailurePolicy says of a failed pod: the first rule that
 * matches; no policy or no rule: Count. A FailJob match sets j->fail_job
 * (the first one's message, Kubernetes' words). */
static pfp_action_t failure_action(job_t *j, json_t *pod)
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
    pfp_action_t a = !strcmp(action, "Ignore")    ? PFP_IGNORE
                     : !strcmp(action, "FailJob") ? PFP_FAIL_JOB
                                                  : PFP_COUNT;
    if (a == PFP_FAIL_JOB && !j->fail_job)
      j->fail_job = msg;
    else
      free(msg);
    return a;
  }
  return PFP_COUNT;
}

/* ---- sync ------------------------------------------------------------------------ */

static void count_pods(job_t *j, json_t *pods)
{
  json_t *pod;
  size_t i;
  json_array_foreach(pods, i, pod)
  {
    const char *phase = json_str(json_object_get(pod, "status"), "phase") ?: "";
    if (!strcmp(phase, "Succeeded")) {
      j->nsucc++;
      int64_t idx = pod_index(pod);
      if (j->indexed && idx >= 0 && idx < j->completions)
        j->done[idx] = 1;
    } else if (!strcmp(phase, "Failed")) {
      if (failure_action(j, pod) == PFP_IGNORE)
        continue; /* not counted against backoffLimit, replaced */
      j->nfail++;
      int64_t t = finish_time(pod);
      if (t > j->last_fail)
        j->last_fail = t;
    } else if (ctrl_pod_active(pod)) {
      json_array_append(j->active, pod);
    }
  }
}

/* The Suspended condition; true when the Job is resumed now. */
static bool suspend_condition(job_t *j, json_t *st, bool suspended)
{
  json_t *c = ctrl_condition(j->obj, "Suspended");
  bool was = c && !strcmp(json_str(c, "status") ?: "", "True");
  if (suspended && !was) {
    ctrl_set_condition(st, "Suspended", "True", "JobSuspended", "Job suspended", j->x->now);
    ctrl_act_event(j->x->out, j->obj, "Normal", "Suspended", "Job suspended");
  } else if (!suspended && was) {
    ctrl_set_condition(st, "Suspended", "False", "JobResumed", "Job resumed", j->x->now);
    ctrl_act_event(j->x->out, j->obj, "Normal", "Resumed", "Job resumed");
    return true;
  }
  return false;
}

static void sync_job(job_t *j, json_t *st)
{
  json_t *old = json_object_get(j->obj, "status");
  const char *how;
  if (finished(j->obj, &how)) {
    sync_finished(j, st, how);
    return;
  }
  /* As Kubernetes: a Job gets its startTime when it first runs and keeps
   * it while suspended (so that its template stays immutable: the API lets
   * only a suspended Job that never started change where its pods go); a
   * resume sets it to now, which restarts activeDeadlineSeconds. */
  bool suspended = json_is_true(json_object_get(j->spec, "suspend"));
  bool resumed = suspend_condition(j, st, suspended);
  if (resumed || (!suspended && !ctrl_time_parse(json_str(st, "startTime")))) {
    cleanup_free char *ts = time_rfc3339_sec(j->x->now);
    json_object_set_new(st, "startTime", json_string(ts));
  }
  int64_t succeeded = ctrl_int(old, "succeeded", 0, 0, INT32_MAX);
  int64_t failed = ctrl_int(old, "failed", 0, 0, INT32_MAX);
  succeeded = j->nsucc > succeeded ? j->nsucc : succeeded;
  failed = j->nfail > failed ? j->nfail : failed;
  j->nfail = failed;
  if (j->indexed) {
    indexes_parse(j, json_str(old, "completedIndexes"));
    for (int64_t i = 0; i < j->completions; i++)
      j->ndone += j->done[i];
    cleanup_free char *done = indexes_format(j);
    if (done)
      json_object_set_new(st, "completedIndexes", json_string(done));
    else
      json_object_del(st, "completedIndexes");
  }
  int64_t active = (int64_t)json_array_size(j->active), ready = 0;
  json_t *pod;
  size_t i;
  json_array_foreach(j->active, i, pod)
  {
    ready += ctrl_pod_ready(pod, NULL);
  }
  int64_t deadline_s = ctrl_int(j->spec, "activeDeadlineSeconds", -1, 1, INT32_MAX);
  int64_t start = ctrl_time_parse(json_str(st, "startTime"));
  int64_t backoff = ctrl_int(j->spec, "backoffLimit", BACKOFF_LIMIT, 0, INT32_MAX);
  bool complete = j->indexed            ? j->ndone >= j->completions
                  : j->completions >= 0 ? succeeded >= j->completions
                                        : succeeded > 0 && active == 0;
  if (suspended) {
    delete_active(j, (size_t)active);
  } else if (!complete && j->fail_job) {
    finish(j, st, "Failed", "PodFailurePolicy", j->fail_job);
  } else if (!complete && failed > backoff) {
    finish(j, st, "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit");
  } else if (!complete && deadline_s > 0 && start && start + deadline_s * NS_PER_S <= j->x->now) {
    finish(j, st, "Failed", "DeadlineExceeded", "Job was active longer than specified deadline");
  } else if (complete) {
    finish(j, st, "Complete", NULL, NULL);
  } else {
    if (deadline_s > 0 && start)
      ctrl_requeue_after(j->x, start + deadline_s * NS_PER_S - j->x->now);
    if (j->indexed)
      manage_indexed(j);
    else
      manage_nonindexed(j, succeeded);
  }
  set_count(st, "active", active + j->created - j->deleted, true);
  set_count(st, "ready", ready - j->ready_deleted, false);
  set_count(st, "succeeded", succeeded, true);
  set_count(st, "failed", failed, true);
  write_status(j, st);
}

void ctrl_job_sync(ctrl_ctx_t *x, const char *ns, const char *name)
{
  json_t *obj = ctrl_cache_get(x->cache, "jobs", ns, name);
  json_t *md = json_object_get(obj, "metadata");
  if (!json_is_object(obj) || json_object_get(md, "deletionTimestamp") || !json_str(md, "uid"))
    return;
  job_t j = { .x = x, .obj = obj, .spec = json_object_get(obj, "spec"), .ns = ns, .name = name };
  j.indexed = !strcmp(json_str(j.spec, "completionMode") ?: "", "Indexed");
  j.completions = ctrl_int(j.spec, "completions", -1, 0, INT32_MAX);
  j.parallelism = ctrl_int(j.spec, "parallelism", 1, 0, INT32_MAX);
  if (j.indexed && (j.completions < 0 || j.completions > INDEXED_MAX))
    return; /* validation refuses it; nothing sensible to run */
  j.done = xcalloc((size_t)(j.indexed ? j.completions : 0) + 1, 1);
  j.active = json_array();
  j.taken = json_object();
  cleanup_json json_t *pods = ctrl_cache_owned(x->cache, "pods", json_str(md, "uid"));
  count_pods(&j, pods);
  json_t *old = json_object_get(obj, "status");
  json_t *st = json_is_object(old) ? json_deep_copy(old) : json_object();
  sync_job(&j, st);
  json_decref(st);
  json_decref(j.active);
  json_decref(j.taken);
  free(j.fail_job);
  free(j.done);
}

void ctrl_job_keys(ctrl_ctx_t *x, size_t self, const char *resource, json_t *old, json_t *obj,
                   ctrl_keys_t *out)
{
  const char *slash = strrchr(resource, '/');
  const char *r = slash ? slash + 1 : resource;
  json_t *cur = obj ? obj : old;
  const char *ns = json_str(json_object_get(cur, "metadata"), "namespace") ?: "";
  if (!strcmp(r, "jobs")) {
    ctrl_keys_add(out, self, ns, json_str(json_object_get(cur, "metadata"), "name"));
    return;
  }
  if (strcmp(r, "pods"))
    return;
  json_t *objs[] = { old, obj };
  const char *last = NULL;
  for (size_t i = 0; i < 2; i++) {
    json_t *ref = ctrl_controller_ref(objs[i]);
    const char *kind = json_str(ref, "kind"), *name = json_str(ref, "name");
    if (kind && name && !strcmp(kind, "Job") && (!last || strcmp(last, name))) {
      ctrl_keys_add(out, self, ns, name);
      last = name;
    }
  }
}
