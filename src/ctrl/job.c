/* job.c — the Job controller (batch/v1): runs pods until enough of them
 * succeed, in NonIndexed or Indexed completion mode, and gives up after
 * backoffLimit failures or activeDeadlineSeconds; suspends; deletes the
 * Job ttlSecondsAfterFinished after it finished. Indexed Jobs may also
 * retry each index on its own (backoffLimitPerIndex: an index that fails
 * more often is given up and listed in status.failedIndexes, the others
 * go on; maxFailedIndexes gives up the Job) and finish early when a
 * successPolicy rule is met (condition SuccessCriteriaMet, the remaining
 * pods are deleted, then Complete). job_policy.c judges the pods.
 *
 * The counts come from the pods the Job owns: a terminated pod stays until
 * the Job is deleted (nothing here deletes one), so counting them again on
 * every sync gives the same answer. The status keeps the highest count seen
 * (and the union of completed and failed indexes), so pods removed by
 * someone else later are not forgotten; an index's failure count is also
 * carried by each new pod of the index (annotation
 * batch.kubernetes.io/job-index-failure-count, as Kubernetes). Kubernetes
 * tracks the rest with pod finalizers; this keeps pods free of them.
 *
 * Failed pods are replaced after a back-off: 10 s × 2^(failures − 1),
 * capped at 6 minutes, from the last failure — of the Job, or of the index
 * with backoffLimitPerIndex. Only phase Failed counts: with restartPolicy
 * OnFailure a container that restarts is not a failure. */
#include "ctrl/job.h"

#include <stdlib.h>
#include <string.h>

#define NS_PER_S         1000000000LL
#define INDEXED_MAX      100000 /* Kubernetes' limit of completions for Indexed */
#define BACKOFF_BASE_NS  (10 * NS_PER_S)
#define BACKOFF_MAX_NS   (360 * NS_PER_S)
#define BACKOFF_LIMIT    6  /* the default of spec.backoffLimit */
#define GENERATE_BASE_OK 52 /* job name length kept in "<job>-<index>-" */
/* pods created per sync at most (Kubernetes' too): their events bring the
 * next sync */
#define CREATE_MAX 500

/* ---- pods ------------------------------------------------------------------------ */

static const char *pod_name(json_t *pod)
{
  return json_str(json_object_get(pod, "metadata"), "name");
}

/* The completion index of pod, or -1. */
static int64_t pod_index(json_t *pod)
{
  const char *s
      = json_str(json_object_get(json_object_get(pod, "metadata"), "annotations"), JOB_INDEX_KEY);
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
                                             "metadata.annotations['" JOB_INDEX_KEY "']"));
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
  while (json_object_get(j->taken, name)
         || ctrl_cache_version(j->x->cache, "pods", j->ns, name) >= 0) {
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
    json_object_set_new(ann, JOB_INDEX_KEY, json_string(idx));
    if (j->idx) {
      json_object_set_new(ann, JOB_FAILURE_COUNT_KEY,
                          json_sprintf("%lld", (long long)j->idx[index].fails));
      if (j->idx[index].ignored > 0)
        json_object_set_new(ann, JOB_IGNORED_COUNT_KEY,
                            json_sprintf("%lld", (long long)j->idx[index].ignored));
    }
    json_object_set_new(labels, JOB_INDEX_KEY, json_string(idx));
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

/* The wait after the failures-th failure in a row: 10 s × 2^(failures − 1),
 * at most 6 minutes. */
static int64_t backoff_delay(int64_t failures)
{
  int64_t delay = BACKOFF_BASE_NS;
  for (int64_t i = 1; i < failures && delay < BACKOFF_MAX_NS; i++)
    delay *= 2;
  return delay > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : delay;
}

/* Whether the back-off after the last failure still holds new pods back
 * (then asks to be called when it ends). */
static bool backing_off(job_t *j)
{
  if (j->nfail <= 0 || !j->last_fail)
    return false;
  int64_t delay = backoff_delay(j->nfail);
  if (j->last_fail + delay <= j->x->now)
    return false;
  ctrl_requeue_after(j->x, j->last_fail + delay - j->x->now);
  return true;
}

/* backoffLimitPerIndex: whether index k still waits after its last failure
 * (Kubernetes counts the delay per index, ignored failures included; then
 * asks to be called when it ends). */
static bool index_backing_off(job_t *j, int64_t k)
{
  job_index_t *ix = &j->idx[k];
  if (!ix->last_fail || ix->fails + ix->ignored <= 0)
    return false;
  int64_t end = ix->last_fail + backoff_delay(ix->fails + ix->ignored);
  if (end <= j->x->now)
    return false;
  ctrl_requeue_after(j->x, end - j->x->now);
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

/* Whether index k is finished: completed, or failed for good. */
static bool index_finished(job_t *j, int64_t k)
{
  return j->done[k] || (j->failed && j->failed[k]);
}

static void manage_indexed(job_t *j)
{
  unsigned char *running = xcalloc((size_t)j->completions, 1);
  cleanup_json json_t *keep = json_array();
  json_t *pod;
  size_t i;
  /* pods of a finished, unknown or duplicate index go first */
  json_array_foreach(j->active, i, pod)
  {
    int64_t idx = pod_index(pod);
    if (idx < 0 || idx >= j->completions || index_finished(j, idx) || running[idx]) {
      delete_pod(j, pod);
      continue;
    }
    running[idx] = 1;
    json_array_append(keep, pod);
  }
  json_decref(j->active);
  j->active = json_incref(keep);
  int64_t active = (int64_t)json_array_size(keep);
  int64_t left = j->completions - j->ndone - j->nfailed;
  int64_t want = left < j->parallelism ? left : j->parallelism;
  if (active > want) {
    delete_active(j, (size_t)(active - want));
  } else if (active < want && (j->idx || !backing_off(j))) {
    /* the lowest pending indexes; with backoffLimitPerIndex one that still
     * waits keeps its place (as Kubernetes) */
    for (int64_t k = 0; k < j->completions && active < want && j->created < CREATE_MAX; k++) {
      if (index_finished(j, k) || running[k])
        continue;
      if (!j->idx || !index_backing_off(j, k))
        create_pod(j, k);
      active++;
    }
  }
  free(running);
}

/* ---- sync ------------------------------------------------------------------------ */

/* A number in an annotation of the pod, 0 when absent or not one. */
static int64_t annotation_count(json_t *pod, const char *key)
{
  const char *s = json_str(json_object_get(json_object_get(pod, "metadata"), "annotations"), key);
  int64_t v;
  if (!s || parse_int64(s, &v, NULL) < 0 || v < 0 || v > INT32_MAX)
    return 0;
  return v;
}

/* backoffLimitPerIndex: a pod of index idx (failed with action a, or not
 * failed). Its index's failures are those the pod was created with plus
 * its own; an index failed when a pod's failure takes the count past
 * backoffLimitPerIndex, or matched a FailIndex rule. */
static void count_index(job_t *j, json_t *pod, int64_t idx, bool failed, job_pfp_t a)
{
  job_index_t *ix = &j->idx[idx];
  int64_t fails = annotation_count(pod, JOB_FAILURE_COUNT_KEY);
  int64_t ignored = annotation_count(pod, JOB_IGNORED_COUNT_KEY);
  if (failed) {
    if (a == JOB_PFP_IGNORE)
      ignored++;
    else
      fails++;
    if (a == JOB_PFP_FAIL_INDEX || (a != JOB_PFP_IGNORE && fails > j->per_index))
      j->failed[idx] = 1;
    int64_t t = finish_time(pod);
    if (t > ix->last_fail)
      ix->last_fail = t;
  }
  if (fails > ix->fails)
    ix->fails = fails;
  if (ignored > ix->ignored)
    ix->ignored = ignored;
}

static void count_pods(job_t *j, json_t *pods)
{
  json_t *pod;
  size_t i;
  json_array_foreach(pods, i, pod)
  {
    const char *phase = json_str(json_object_get(pod, "status"), "phase") ?: "";
    int64_t idx = j->indexed ? pod_index(pod) : -1;
    if (idx >= j->completions)
      idx = -1;
    bool failed = !strcmp(phase, "Failed");
    job_pfp_t a = failed ? job_failure_action(j, pod) : JOB_PFP_COUNT;
    if (j->idx && idx >= 0)
      count_index(j, pod, idx, failed, a);
    if (!strcmp(phase, "Succeeded")) {
      j->nsucc++;
      if (idx >= 0)
        j->done[idx] = 1;
    } else if (failed) {
      if (a == JOB_PFP_IGNORE)
        continue; /* not counted against backoffLimit, replaced */
      j->nfail++;
      int64_t t = finish_time(pod);
      if (t > j->last_fail)
        j->last_fail = t;
    } else if (ctrl_pod_active(pod)) {
      json_array_append(j->active, pod);
    } else {
      j->terminating++; /* deleted, not stopped yet */
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

/* The completed and failed indexes: those of the pods and of the status
 * (pods may be gone), an index that completed counting as completed. */
static void sync_indexes(job_t *j, json_t *old, json_t *st)
{
  job_indexes_parse(json_str(old, "completedIndexes"), j->done, j->completions);
  if (j->failed)
    job_indexes_parse(json_str(old, "failedIndexes"), j->failed, j->completions);
  for (int64_t i = 0; i < j->completions; i++) {
    j->ndone += j->done[i];
    if (j->failed && j->done[i])
      j->failed[i] = 0;
    if (j->failed)
      j->nfailed += j->failed[i];
  }
  cleanup_free char *done = job_indexes_format(j->done, j->completions);
  if (done)
    json_object_set_new(st, "completedIndexes", json_string(done));
  else
    json_object_del(st, "completedIndexes");
  /* Kubernetes writes "" with backoffLimitPerIndex and no failed index */
  if (j->failed) {
    cleanup_free char *failed = job_indexes_format(j->failed, j->completions);
    json_object_set_new(st, "failedIndexes", json_string(failed ? failed : ""));
  }
}

/* A successPolicy rule is met (condition SuccessCriteriaMet): the pods
 * still running go, and once none is left the Job is Complete with the
 * same reason and message (Kubernetes too waits for them to stop). */
static void sync_success(job_t *j, json_t *st, const char *message)
{
  delete_active(j, json_array_size(j->active));
  if (!j->deleted && !j->terminating)
    finish(j, st, "Complete", "SuccessPolicy", message);
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
  if (j->indexed)
    sync_indexes(j, old, st);
  int64_t active = (int64_t)json_array_size(j->active), ready = 0;
  json_t *pod;
  size_t i;
  json_array_foreach(j->active, i, pod)
  {
    ready += ctrl_pod_ready(pod, NULL);
  }
  int64_t deadline_s = ctrl_int(j->spec, "activeDeadlineSeconds", -1, 1, INT32_MAX);
  int64_t start = ctrl_time_parse(json_str(st, "startTime"));
  /* with backoffLimitPerIndex, the API's default is no limit for the Job */
  int64_t backoff
      = ctrl_int(j->spec, "backoffLimit", j->idx ? INT32_MAX : BACKOFF_LIMIT, 0, INT32_MAX);
  int64_t max_failed = ctrl_int(j->spec, "maxFailedIndexes", -1, 0, INT32_MAX);
  bool complete = j->indexed            ? j->ndone >= j->completions
                  : j->completions >= 0 ? succeeded >= j->completions
                                        : succeeded > 0 && active == 0;
  json_t *policy = j->indexed ? json_object_get(j->spec, "successPolicy") : NULL;
  json_t *met = ctrl_condition(j->obj, "SuccessCriteriaMet");
  cleanup_free char *matched = NULL;
  if (met && !strcmp(json_str(met, "status") ?: "", "True")) {
    sync_success(j, st, json_str(met, "message"));
  } else if (suspended) {
    delete_active(j, (size_t)active);
  } else if (!complete && j->fail_job) {
    finish(j, st, "Failed", "PodFailurePolicy", j->fail_job);
  } else if (!complete && failed > backoff) {
    finish(j, st, "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit");
  } else if (!complete && deadline_s > 0 && start && start + deadline_s * NS_PER_S <= j->x->now) {
    finish(j, st, "Failed", "DeadlineExceeded", "Job was active longer than specified deadline");
  } else if (j->failed && max_failed >= 0 && j->nfailed > max_failed) {
    finish(j, st, "Failed", "MaxFailedIndexesExceeded",
           "Job has exceeded the specified maximal number of failed indexes");
  } else if (j->failed && j->nfailed > 0 && j->nfailed + j->ndone >= j->completions) {
    finish(j, st, "Failed", "FailedIndexes", "Job has failed indexes");
  } else if (policy && (matched = job_success_match(policy, j->done, j->completions, j->ndone))) {
    ctrl_set_condition(st, "SuccessCriteriaMet", "True", "SuccessPolicy", matched, j->x->now);
    sync_success(j, st, matched);
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
  size_t n = (size_t)(j.indexed ? j.completions : 0) + 1;
  j.per_index = j.indexed ? ctrl_int(j.spec, "backoffLimitPerIndex", -1, 0, INT32_MAX) : -1;
  if (j.per_index >= 0) {
    j.failed = xcalloc(n, 1);
    j.idx = xcalloc(n, sizeof *j.idx);
  }
  j.done = xcalloc(n, 1);
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
  free(j.failed);
  free(j.idx);
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
