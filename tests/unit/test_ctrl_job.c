/* test_ctrl_job.c — the Job controller: completions and parallelism, the
 * Indexed mode, the back-off limit and the delay between retries, the
 * active deadline, suspend, deletion after ttlSecondsAfterFinished; for
 * Indexed Jobs backoffLimitPerIndex, maxFailedIndexes, the FailIndex action
 * and successPolicy, and the API server's validation of those. */
#include "ctrl/job.h"
#include "ctrl_fixtures.h"
#include "server/kinds.h"

static json_t *put_job(ctrl_h *h, const char *name, const char *extra)
{
  char *text = xasprintf(
      "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'%s','namespace':'default'},"
      "'spec':{'template':{'metadata':{'labels':{'app':'%s'}},'spec':{'restartPolicy':'Never',"
      "'containers':[{'name':'c','image':'busybox'}]}}%s}}",
      name, name, extra ? extra : "");
  json_t *o = ctrl_h_put(h, "jobs", J(text));
  free(text);
  return o;
}

static json_t *pods_of(ctrl_h *h, const char *job)
{
  return ctrl_f_owned(h, "pods", "jobs", "default", job);
}

/* Sets the phase of the i-th pod of job (by name) that is still running. */
static void finish_pod(ctrl_h *h, const char *job, size_t i, const char *phase)
{
  json_t *pods = pods_of(h, job), *pod;
  size_t k, seen = 0;
  json_array_foreach(pods, k, pod)
  {
    const char *p = json_str(json_object_get(pod, "status"), "phase");
    if (p && (!strcmp(p, "Succeeded") || !strcmp(p, "Failed")))
      continue;
    if (seen++ == i) {
      ctrl_h_pod_status(h, pod, phase, false);
      json_decref(pods);
      return;
    }
  }
  cr_assert_fail("job %s has no running pod %zu", job, i);
}

static json_t *status(ctrl_h *h, const char *job)
{
  return ctrl_f_status(h, "jobs", "default", job);
}

static void sync_apply(ctrl_h *h, const char *job)
{
  ctrl_h_sync(h, "job", "default", job);
  ctrl_h_apply(h);
}

Test(ctrl_job, completions_and_parallelism)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_job(&h, "batch", ",'completions':5,'parallelism':2");
  ctrl_h_sync(&h, "job", "default", "batch");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 2);
  json_t *pod = ctrl_h_action(&h, CTRL_CREATE, "pods", 0)->obj;
  json_t *md = json_object_get(pod, "metadata");
  cr_assert_str_eq(json_str(md, "generateName"), "batch-");
  cr_assert(str_has_prefix(json_str(md, "name"), "batch-"));
  cr_assert_eq(strlen(json_str(md, "name")), strlen("batch-") + 5);
  cr_assert_str_eq(json_str(json_object_get(md, "labels"), "app"), "batch");
  cr_assert_str_eq(json_str(json_object_get(md, "labels"), "job-name"), "batch");
  cr_assert_str_eq(json_str(ctrl_controller_ref(pod), "kind"), "Job");
  ctrl_h_apply(&h);
  cr_assert_eq(ctrl_f_events(&h, "SuccessfulCreate"), 2);
  json_t *e = json_array_get(h.events, 0);
  cr_assert(str_has_prefix(json_str(e, "message"), "Created pod: batch-"));
  json_t *st = status(&h, "batch");
  cr_assert_eq(json_int(st, "active", -1), 2);
  cr_assert(json_str(st, "startTime"));
  /* nothing more while two run */
  ctrl_h_sync(&h, "job", "default", "batch");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, NULL), 0);
  /* each success makes room for one more, up to five */
  int created = 2;
  for (int done = 1; done <= 5; done++) {
    finish_pod(&h, "batch", 0, "Succeeded");
    ctrl_h_sync(&h, "job", "default", "batch");
    created += (int)ctrl_h_count(&h, CTRL_CREATE, "pods");
    ctrl_h_apply(&h);
    st = status(&h, "batch");
    cr_assert_eq(json_int(st, "succeeded", 0), done);
  }
  cr_assert_eq(created, 5);
  cr_assert_null(json_object_get(st, "active"));
  json_t *c = ctrl_condition(ctrl_cache_get(h.cache, "jobs", "default", "batch"), "Complete");
  cr_assert_str_eq(json_str(c, "status"), "True");
  cr_assert(json_str(st, "completionTime"));
  cr_assert_eq(ctrl_f_events(&h, "Completed"), 1);
  /* finished: further syncs do nothing */
  ctrl_h_sync(&h, "job", "default", "batch");
  cr_assert_eq(h.out.n, 0);
  ctrl_h_free(&h);
}

Test(ctrl_job, work_queue_without_completions)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_job(&h, "queue", ",'parallelism':3");
  sync_apply(&h, "queue");
  cr_assert_eq(json_int(status(&h, "queue"), "active", 0), 3);
  /* one succeeds: no new pods, the others finish the work */
  finish_pod(&h, "queue", 0, "Succeeded");
  ctrl_h_sync(&h, "job", "default", "queue");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, NULL), 0);
  ctrl_h_apply(&h);
  cr_assert_null(ctrl_condition(ctrl_cache_get(h.cache, "jobs", "default", "queue"), "Complete"));
  finish_pod(&h, "queue", 0, "Succeeded");
  finish_pod(&h, "queue", 0, "Succeeded");
  sync_apply(&h, "queue");
  cr_assert(ctrl_condition(ctrl_cache_get(h.cache, "jobs", "default", "queue"), "Complete"));
  cr_assert_eq(json_int(status(&h, "queue"), "succeeded", 0), 3);
  ctrl_h_free(&h);
}

Test(ctrl_job, indexed)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_job(&h, "idx", ",'completions':5,'parallelism':3,'completionMode':'Indexed'");
  ctrl_h_sync(&h, "job", "default", "idx");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 3);
  for (size_t i = 0; i < 3; i++) {
    json_t *pod = ctrl_h_action(&h, CTRL_CREATE, "pods", i)->obj;
    json_t *md = json_object_get(pod, "metadata");
    char want[8];
    snprintf(want, sizeof want, "%zu", i);
    cr_assert_str_eq(
        json_str(json_object_get(md, "annotations"), "batch.kubernetes.io/job-completion-index"),
        want);
    cr_assert_str_eq(
        json_str(json_object_get(md, "labels"), "batch.kubernetes.io/job-completion-index"), want);
    char host[16], gen[16];
    snprintf(host, sizeof host, "idx-%zu", i);
    snprintf(gen, sizeof gen, "idx-%zu-", i);
    cr_assert_str_eq(json_str(json_object_get(pod, "spec"), "hostname"), host);
    cr_assert_str_eq(json_str(md, "generateName"), gen);
    json_t *env = json_object_get(
        json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0), "env");
    json_t *ev = json_array_get(env, 0);
    cr_assert_str_eq(json_str(ev, "name"), "JOB_COMPLETION_INDEX");
    cr_assert_str_eq(
        json_str(json_object_get(json_object_get(ev, "valueFrom"), "fieldRef"), "fieldPath"),
        "metadata.annotations['batch.kubernetes.io/job-completion-index']");
  }
  ctrl_h_apply(&h);
  /* indexes 0 and 2 succeed: 3 and 4 start */
  json_t *pods = pods_of(&h, "idx"), *pod;
  size_t i;
  json_array_foreach(pods, i, pod)
  {
    const char *idx = json_str(json_object_get(json_object_get(pod, "metadata"), "annotations"),
                               "batch.kubernetes.io/job-completion-index");
    if (!strcmp(idx, "0") || !strcmp(idx, "2"))
      ctrl_h_pod_status(&h, pod, "Succeeded", false);
  }
  json_decref(pods);
  ctrl_h_sync(&h, "job", "default", "idx");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 2);
  ctrl_h_apply(&h);
  json_t *st = status(&h, "idx");
  cr_assert_str_eq(json_str(st, "completedIndexes"), "0,2");
  /* 1 and 3 too: "0-3" */
  pods = pods_of(&h, "idx");
  json_array_foreach(pods, i, pod)
  {
    const char *idx = json_str(json_object_get(json_object_get(pod, "metadata"), "annotations"),
                               "batch.kubernetes.io/job-completion-index");
    if (!strcmp(idx, "1") || !strcmp(idx, "3"))
      ctrl_h_pod_status(&h, pod, "Succeeded", false);
  }
  json_decref(pods);
  sync_apply(&h, "idx");
  cr_assert_str_eq(json_str(status(&h, "idx"), "completedIndexes"), "0-3");
  cr_assert_null(ctrl_condition(ctrl_cache_get(h.cache, "jobs", "default", "idx"), "Complete"));
  finish_pod(&h, "idx", 0, "Succeeded");
  sync_apply(&h, "idx");
  st = status(&h, "idx");
  cr_assert_str_eq(json_str(st, "completedIndexes"), "0-4");
  cr_assert_eq(json_int(st, "succeeded", 0), 5);
  cr_assert(ctrl_condition(ctrl_cache_get(h.cache, "jobs", "default", "idx"), "Complete"));
  ctrl_h_free(&h);
}

Test(ctrl_job, backoff_limit)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_job(&h, "flaky", ",'backoffLimit':2");
  sync_apply(&h, "flaky");
  /* a failure: the replacement waits 10 s, then 20 s after the next */
  finish_pod(&h, "flaky", 0, "Failed");
  ctrl_h_sync(&h, "job", "default", "flaky");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, NULL), 0);
  cr_assert_eq(h.requeue_ns, 10 * S_NS);
  ctrl_h_apply(&h);
  cr_assert_eq(json_int(status(&h, "flaky"), "failed", 0), 1);
  h.now += 10 * S_NS;
  ctrl_h_sync(&h, "job", "default", "flaky");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 1);
  ctrl_h_apply(&h);
  finish_pod(&h, "flaky", 0, "Failed");
  ctrl_h_sync(&h, "job", "default", "flaky");
  cr_assert_eq(h.requeue_ns, 20 * S_NS);
  h.now += 20 * S_NS;
  sync_apply(&h, "flaky");
  cr_assert_eq(json_int(status(&h, "flaky"), "active", 0), 1);
  /* the third failure is beyond backoffLimit 2 */
  finish_pod(&h, "flaky", 0, "Failed");
  sync_apply(&h, "flaky");
  json_t *job = ctrl_cache_get(h.cache, "jobs", "default", "flaky");
  json_t *c = ctrl_condition(job, "Failed");
  cr_assert_str_eq(json_str(c, "status"), "True");
  cr_assert_str_eq(json_str(c, "reason"), "BackoffLimitExceeded");
  cr_assert_eq(json_int(status(&h, "flaky"), "failed", 0), 3);
  cr_assert_eq(ctrl_f_events(&h, "BackoffLimitExceeded"), 1);
  cr_assert_null(json_object_get(status(&h, "flaky"), "completionTime"));
  ctrl_h_free(&h);
}

/* Fails the i-th running pod of job with container c's exit code, and a
 * condition (type, or NULL) True. */
static void fail_pod(ctrl_h *h, const char *job, size_t i, int code, const char *cond)
{
  finish_pod(h, job, i, "Failed");
  json_t *pods = pods_of(h, job), *pod;
  size_t k;
  json_t *last = NULL;
  json_array_foreach(pods, k, pod)
  {
    if (!strcmp(json_str(json_object_get(pod, "status"), "phase") ?: "", "Failed")
        && !json_object_get(json_object_get(pod, "status"), "containerStatuses"))
      last = pod;
  }
  cr_assert_not_null(last);
  json_t *p = json_deep_copy(last);
  json_t *st = json_object_get(p, "status");
  json_object_set_new(
      st, "containerStatuses",
      json_pack("[{s:s,s:{s:{s:i}}}]", "name", "c", "state", "terminated", "exitCode", code));
  if (cond)
    json_array_append_new(json_object_get(st, "conditions"),
                          json_pack("{s:s,s:s}", "type", cond, "status", "True"));
  ctrl_h_put(h, "pods", p);
  json_decref(pods);
}

Test(ctrl_job, pod_failure_policy)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_job(&h, "pfp",
          ",'backoffLimit':1,'podFailurePolicy':{'rules':["
          "{'action':'Ignore','onPodConditions':[{'type':'DisruptionTarget','status':'True'}]},"
          "{'action':'Count','onExitCodes':{'operator':'In','values':[3]}},"
          "{'action':'FailJob','onExitCodes':{'containerName':'c','operator':'NotIn',"
          "'values':[1,2,3]}}]}");
  sync_apply(&h, "pfp");
  /* disrupted (evicted, preempted): not a failure, replaced at once */
  fail_pod(&h, "pfp", 0, 137, "DisruptionTarget");
  ctrl_h_sync(&h, "job", "default", "pfp");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 1, "an ignored failure is replaced at once");
  ctrl_h_apply(&h);
  cr_assert_eq(json_int(status(&h, "pfp"), "failed", 0), 0);
  /* exit 3: counted (the first rule that matches decides) */
  fail_pod(&h, "pfp", 0, 3, NULL);
  sync_apply(&h, "pfp");
  cr_assert_eq(json_int(status(&h, "pfp"), "failed", 0), 1);
  cr_assert_null(ctrl_condition(ctrl_cache_get(h.cache, "jobs", "default", "pfp"), "Failed"));
  /* exit 42 is not in [1,2,3]: the job fails now, whatever backoffLimit says */
  h.now += 10 * S_NS;
  sync_apply(&h, "pfp");
  fail_pod(&h, "pfp", 0, 42, NULL);
  sync_apply(&h, "pfp");
  json_t *c = ctrl_condition(ctrl_cache_get(h.cache, "jobs", "default", "pfp"), "Failed");
  cr_assert_str_eq(json_str(c, "status"), "True");
  cr_assert_str_eq(json_str(c, "reason"), "PodFailurePolicy");
  cr_assert(strstr(json_str(c, "message") ?: "", "Container c for pod default/pfp-")
                && strstr(json_str(c, "message"), " failed with exit code 42 matching FailJob rule "
                                                  "at index 2"),
            "%s", json_str(c, "message"));
  cr_assert_eq(ctrl_f_events(&h, "PodFailurePolicy"), 1);
  ctrl_h_free(&h);
}

Test(ctrl_job, on_failure_restarts_are_not_failures)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_job(&h, "retry", ",'backoffLimit':0");
  sync_apply(&h, "retry");
  json_t *pods = pods_of(&h, "retry");
  json_t *p = json_deep_copy(json_array_get(pods, 0));
  json_decref(pods);
  json_object_set_new(p, "status",
                      J("{'phase':'Running','containerStatuses':[{'name':'c','restartCount':4,"
                        "'lastState':{'terminated':{'exitCode':1}}}]}"));
  ctrl_h_put(&h, "pods", p);
  sync_apply(&h, "retry");
  cr_assert_null(ctrl_condition(ctrl_cache_get(h.cache, "jobs", "default", "retry"), "Failed"));
  cr_assert_eq(json_int(status(&h, "retry"), "active", 0), 1);
  ctrl_h_free(&h);
}

Test(ctrl_job, active_deadline)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_job(&h, "slow", ",'activeDeadlineSeconds':60,'parallelism':2");
  ctrl_h_sync(&h, "job", "default", "slow");
  cr_assert_eq(h.requeue_ns, 60 * S_NS);
  ctrl_h_apply(&h);
  h.now += 59 * S_NS;
  ctrl_h_sync(&h, "job", "default", "slow");
  cr_assert_eq(h.out.n, 0);
  cr_assert_eq(h.requeue_ns, S_NS);
  h.now += S_NS;
  ctrl_h_sync(&h, "job", "default", "slow");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 2);
  ctrl_h_apply(&h);
  json_t *c = ctrl_condition(ctrl_cache_get(h.cache, "jobs", "default", "slow"), "Failed");
  cr_assert_str_eq(json_str(c, "reason"), "DeadlineExceeded");
  cr_assert_eq(ctrl_f_events(&h, "DeadlineExceeded"), 1);
  cr_assert_null(json_object_get(status(&h, "slow"), "active"));
  ctrl_h_free(&h);
}

Test(ctrl_job, suspend_and_resume)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_job(&h, "sus", ",'parallelism':2,'completions':4");
  sync_apply(&h, "sus");
  char *started = xstrdup(json_str(status(&h, "sus"), "startTime"));
  h.now += 60 * S_NS;
  json_t *copy = json_deep_copy(ctrl_cache_get(h.cache, "jobs", "default", "sus"));
  json_object_set_new(json_object_get(copy, "spec"), "suspend", json_true());
  ctrl_h_put(&h, "jobs", copy);
  ctrl_h_sync(&h, "job", "default", "sus");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 2);
  ctrl_h_apply(&h);
  json_t *job = ctrl_cache_get(h.cache, "jobs", "default", "sus");
  cr_assert_str_eq(json_str(ctrl_condition(job, "Suspended"), "status"), "True");
  /* As Kubernetes: a Job that ran keeps its startTime while suspended (the
   * API then keeps its template immutable) */
  cr_assert_str_eq(json_str(status(&h, "sus"), "startTime"), started);
  cr_assert_eq(ctrl_f_events(&h, "Suspended"), 1);
  sync_apply(&h, "sus");
  cr_assert_str_eq(json_str(status(&h, "sus"), "startTime"), started);
  /* a resume restarts the clock of activeDeadlineSeconds */
  h.now += 60 * S_NS;
  copy = json_deep_copy(job);
  json_object_set_new(json_object_get(copy, "spec"), "suspend", json_false());
  ctrl_h_put(&h, "jobs", copy);
  ctrl_h_sync(&h, "job", "default", "sus");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 2);
  ctrl_h_apply(&h);
  job = ctrl_cache_get(h.cache, "jobs", "default", "sus");
  cr_assert_str_eq(json_str(ctrl_condition(job, "Suspended"), "status"), "False");
  cr_assert_eq(ctrl_time_parse(json_str(status(&h, "sus"), "startTime")), h.now);
  cr_assert_eq(ctrl_f_events(&h, "Resumed"), 1);
  free(started);
  /* a Job created suspended never started: no startTime, no pod */
  put_job(&h, "later", ",'suspend':true");
  ctrl_h_sync(&h, "job", "default", "later");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 0);
  ctrl_h_apply(&h);
  cr_assert_null(json_object_get(status(&h, "later"), "startTime"));
  cr_assert_str_eq(
      json_str(ctrl_condition(ctrl_cache_get(h.cache, "jobs", "default", "later"), "Suspended"),
               "status"),
      "True");
  ctrl_h_free(&h);
}

Test(ctrl_job, ttl_after_finished)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_job(&h, "tmp", ",'ttlSecondsAfterFinished':100");
  sync_apply(&h, "tmp");
  finish_pod(&h, "tmp", 0, "Succeeded");
  ctrl_h_sync(&h, "job", "default", "tmp");
  cr_assert_eq(h.requeue_ns, 100 * S_NS);
  ctrl_h_apply(&h);
  h.now += 99 * S_NS;
  ctrl_h_sync(&h, "job", "default", "tmp");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, NULL), 0);
  cr_assert_eq(h.requeue_ns, S_NS);
  h.now += S_NS;
  ctrl_h_sync(&h, "job", "default", "tmp");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "jobs"), 1);
  ctrl_action_t *a = ctrl_h_action(&h, CTRL_DELETE, "jobs", 0);
  cr_assert_str_eq(a->name, "tmp");
  cr_assert_str_eq(
      a->uid,
      json_str(json_object_get(ctrl_cache_get(h.cache, "jobs", "default", "tmp"), "metadata"),
               "uid"));
  ctrl_h_apply(&h);
  cr_assert_null(ctrl_cache_get(h.cache, "jobs", "default", "tmp"));
  ctrl_h_free(&h);
}

Test(ctrl_job, keys_and_hostile_objects)
{
  ctrl_h h;
  ctrl_h_init(&h);
  json_t *job = put_job(&h, "k", NULL);
  size_t self = ctrl_h_def("job");
  ctrl_ctx_t x = { .cache = h.cache, .cfg = &h.cfg, .now = h.now, .out = &h.out };
  ctrl_keys_t keys = { 0 };
  json_t *pod = json_pack("{s:{s:s,s:s,s:[o]}}", "metadata", "name", "p", "namespace", "default",
                          "ownerReferences", ctrl_owner_ref(job, "batch/v1", "Job"));
  ctrl_defs[self].keys(&x, self, "pods", pod, pod, &keys);
  ctrl_defs[self].keys(&x, self, "jobs", job, NULL, &keys);
  cr_assert_eq(keys.n, 2);
  cr_assert_str_eq(keys.v[0].name, "k");
  ctrl_keys_clear(&keys);
  json_decref(pod);
  const char *hostile[] = {
    "{'metadata':{'name':'h1','namespace':'default'},'spec':'x','status':7}",
    "{'metadata':{'name':'h2','namespace':'default'},'spec':{'completions':'x','parallelism':-1,"
    "'backoffLimit':[],'template':5},'status':{'succeeded':'x','conditions':'y'}}",
    "{'metadata':{'name':'h3','namespace':'default'},'spec':{'completionMode':'Indexed',"
    "'completions':100000000}}",
    "{'metadata':{'name':'h4','namespace':'default'},'spec':{'completionMode':'Indexed',"
    "'completions':3,'parallelism':9,'template':{'spec':{'containers':[5,{'env':'x'}]}}},"
    "'status':{'completedIndexes':'9-1,x,-3,1-999999999999,2'}}",
    "{'metadata':{'name':'h5','namespace':'default'},'spec':{'activeDeadlineSeconds':1e300,"
    "'ttlSecondsAfterFinished':-5,'parallelism':2147483647,'completions':2},"
    "'status':{'conditions':[5,{'type':'Complete'},{'type':'Failed','status':'True'}],"
    "'startTime':'garbage'}}",
    "{'metadata':{'name':'h6','namespace':'default'},'spec':{'parallelism':600}}",
    "{'metadata':{'name':'h7','namespace':'default'},'spec':{'completionMode':'Indexed',"
    "'completions':4,'backoffLimitPerIndex':0,'maxFailedIndexes':'x','successPolicy':{'rules':"
    "[5,{'succeededIndexes':7},{'succeededIndexes':'9-1,x','succeededCount':-3},"
    "{'succeededIndexes':'','succeededCount':0}]},'podFailurePolicy':{'rules':[{'action':"
    "'FailIndex'}]}},'status':{'failedIndexes':'-,3-99999999999,0','completedIndexes':7}}",
    "{'metadata':{'name':'h8','namespace':'default'},'spec':{'completionMode':'Indexed',"
    "'completions':2,'backoffLimitPerIndex':-4,'successPolicy':'x'},'status':{'conditions':"
    "[{'type':'SuccessCriteriaMet','status':'True'}]}}",
  };
  for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
    char name[32];
    snprintf(name, sizeof name, "h%zu", i + 1);
    ctrl_h_put(&h, "jobs", J(hostile[i]));
    ctrl_h_sync(&h, "job", "default", name);
    ctrl_h_apply(&h);
  }
  /* a huge parallelism creates at most 500 pods per sync */
  json_t *owned = pods_of(&h, "h6");
  cr_assert_eq(json_array_size(owned), 500);
  json_decref(owned);
  ctrl_h_free(&h);
}

/* ---- Indexed Jobs: backoffLimitPerIndex, FailIndex, successPolicy --------------------- */

static const char *pod_name_of(json_t *pod)
{
  return json_str(json_object_get(pod, "metadata"), "name");
}

static const char *ann_of(json_t *pod, const char *key)
{
  return json_str(json_object_get(json_object_get(pod, "metadata"), "annotations"), key);
}

/* The running pod of job with completion index idx, or NULL (borrowed from
 * the cache). */
static json_t *index_pod(ctrl_h *h, const char *job, int idx)
{
  json_t *pods = pods_of(h, job), *pod, *found = NULL;
  size_t k;
  char want[16];
  snprintf(want, sizeof want, "%d", idx);
  json_array_foreach(pods, k, pod)
  {
    const char *p = json_str(json_object_get(pod, "status"), "phase") ?: "";
    if (strcmp(p, "Succeeded") && strcmp(p, "Failed")
        && !strcmp(ann_of(pod, "batch.kubernetes.io/job-completion-index") ?: "", want))
      found = ctrl_cache_get(h->cache, "pods", "default", pod_name_of(pod));
  }
  json_decref(pods);
  return found;
}

/* Ends the running pod of index idx: phase, and container c's exit code. */
static void end_index(ctrl_h *h, const char *job, int idx, const char *phase, int code)
{
  json_t *pod = index_pod(h, job, idx);
  cr_assert_not_null(pod, "job %s has no running pod of index %d", job, idx);
  json_t *p = json_deep_copy(pod);
  json_t *st
      = json_pack("{s:s,s:[{s:s,s:{s:{s:i,s:s}}}]}", "phase", phase, "containerStatuses", "name",
                  "c", "state", "terminated", "exitCode", code, "finishedAt", ctrl_f_time(h->now));
  json_object_set_new(p, "status", st);
  ctrl_h_put(h, "pods", p);
}

static json_t *job_condition(ctrl_h *h, const char *job, const char *type)
{
  return ctrl_condition(ctrl_cache_get(h->cache, "jobs", "default", job), type);
}

Test(ctrl_job, index_sets_format_like_kubernetes)
{
  unsigned char set[10] = { 0 };
  cr_assert_null(job_indexes_format(set, 10));
  job_indexes_parse("1,3-5,7", set, 10);
  char *s = job_indexes_format(set, 10);
  cr_assert_str_eq(s, "1,3-5,7");
  free(s);
  /* two in a row are listed, three or more are a range (Kubernetes) */
  memset(set, 0, sizeof set);
  job_indexes_parse("3,4,8-9", set, 10);
  s = job_indexes_format(set, 10);
  cr_assert_str_eq(s, "3,4,8,9");
  free(s);
  /* beyond the completions, and what does not parse, is left out */
  memset(set, 0, sizeof set);
  job_indexes_parse("0,8-20,x,2", set, 10);
  s = job_indexes_format(set, 10);
  cr_assert_str_eq(s, "0,8,9");
  free(s);
}

Test(ctrl_job, backoff_limit_per_index)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_job(&h, "per",
          ",'completions':3,'parallelism':3,'completionMode':'Indexed','backoffLimitPerIndex':1");
  ctrl_h_sync(&h, "job", "default", "per");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 3);
  for (size_t i = 0; i < 3; i++)
    cr_assert_str_eq(ann_of(ctrl_h_action(&h, CTRL_CREATE, "pods", i)->obj,
                            "batch.kubernetes.io/job-index-failure-count"),
                     "0");
  ctrl_h_apply(&h);
  cr_assert_str_eq(json_str(status(&h, "per"), "failedIndexes"), "");
  /* index 1 fails: retried after its own back-off, the pod carrying the count */
  char *first = xstrdup(pod_name_of(index_pod(&h, "per", 1)));
  end_index(&h, "per", 1, "Failed", 1);
  ctrl_h_sync(&h, "job", "default", "per");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, NULL), 0);
  cr_assert_eq(h.requeue_ns, 10 * S_NS);
  ctrl_h_apply(&h);
  cr_assert_eq(json_int(status(&h, "per"), "failed", 0), 1);
  cr_assert_str_eq(json_str(status(&h, "per"), "failedIndexes"), "");
  h.now += 10 * S_NS;
  ctrl_h_sync(&h, "job", "default", "per");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 1);
  json_t *again = ctrl_h_action(&h, CTRL_CREATE, "pods", 0)->obj;
  cr_assert_str_eq(ann_of(again, "batch.kubernetes.io/job-completion-index"), "1");
  cr_assert_str_eq(ann_of(again, "batch.kubernetes.io/job-index-failure-count"), "1");
  ctrl_h_apply(&h);
  /* the first failed pod is gone (someone deleted it): the count stays on
   * the new pod, and its failure is the index's second, past the limit */
  json_decref(ctrl_cache_remove(h.cache, "pods", "default", first));
  free(first);
  end_index(&h, "per", 1, "Failed", 1);
  h.now += 60 * S_NS;
  ctrl_h_sync(&h, "job", "default", "per");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, NULL), 0, "a failed index is not retried");
  ctrl_h_apply(&h);
  json_t *st = status(&h, "per");
  cr_assert_str_eq(json_str(st, "failedIndexes"), "1");
  cr_assert_null(job_condition(&h, "per", "Failed"), "the other indexes go on");
  cr_assert_eq(json_int(st, "active", 0), 2);
  /* the others succeed: every index is finished, one failed */
  end_index(&h, "per", 0, "Succeeded", 0);
  end_index(&h, "per", 2, "Succeeded", 0);
  sync_apply(&h, "per");
  st = status(&h, "per");
  json_t *c = job_condition(&h, "per", "Failed");
  cr_assert_str_eq(json_str(c, "status"), "True");
  cr_assert_str_eq(json_str(c, "reason"), "FailedIndexes");
  cr_assert_str_eq(json_str(c, "message"), "Job has failed indexes");
  cr_assert_str_eq(json_str(st, "completedIndexes"), "0,2");
  cr_assert_str_eq(json_str(st, "failedIndexes"), "1");
  cr_assert_eq(json_int(st, "succeeded", 0), 2);
  cr_assert_null(job_condition(&h, "per", "Complete"));
  cr_assert_eq(ctrl_f_events(&h, "FailedIndexes"), 1);
  ctrl_h_free(&h);
}

Test(ctrl_job, per_index_replaces_backoff_limit)
{
  ctrl_h h;
  ctrl_h_init(&h);
  /* no backoffLimit: with backoffLimitPerIndex the Job has none (the API
   * defaults it to 2147483647), so 7 failures do not end it */
  put_job(&h, "many",
          ",'completions':8,'parallelism':8,'completionMode':'Indexed','backoffLimitPerIndex':0");
  sync_apply(&h, "many");
  for (int i = 0; i < 7; i++)
    end_index(&h, "many", i, "Failed", 1);
  sync_apply(&h, "many");
  json_t *st = status(&h, "many");
  cr_assert_null(job_condition(&h, "many", "Failed"));
  cr_assert_eq(json_int(st, "failed", 0), 7);
  cr_assert_str_eq(json_str(st, "failedIndexes"), "0-6");
  cr_assert_eq(json_int(st, "active", 0), 1);
  end_index(&h, "many", 7, "Succeeded", 0);
  sync_apply(&h, "many");
  cr_assert_str_eq(json_str(job_condition(&h, "many", "Failed"), "reason"), "FailedIndexes");
  ctrl_h_free(&h);
}

Test(ctrl_job, max_failed_indexes)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_job(&h, "cap",
          ",'completions':6,'parallelism':6,'completionMode':'Indexed','backoffLimitPerIndex':0,"
          "'maxFailedIndexes':1");
  sync_apply(&h, "cap");
  end_index(&h, "cap", 4, "Failed", 1);
  sync_apply(&h, "cap");
  cr_assert_str_eq(json_str(status(&h, "cap"), "failedIndexes"), "4");
  cr_assert_null(job_condition(&h, "cap", "Failed"), "one failed index is allowed");
  /* the second is one too many: the Job fails and its pods go */
  end_index(&h, "cap", 2, "Failed", 1);
  ctrl_h_sync(&h, "job", "default", "cap");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 4);
  ctrl_h_apply(&h);
  json_t *c = job_condition(&h, "cap", "Failed");
  cr_assert_str_eq(json_str(c, "reason"), "MaxFailedIndexesExceeded");
  cr_assert_str_eq(json_str(c, "message"),
                   "Job has exceeded the specified maximal number of failed indexes");
  cr_assert_str_eq(json_str(status(&h, "cap"), "failedIndexes"), "2,4");
  cr_assert_null(json_object_get(status(&h, "cap"), "active"));
  ctrl_h_free(&h);
}

Test(ctrl_job, pod_failure_policy_fail_index)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_job(&h, "fi",
          ",'completions':3,'parallelism':3,'completionMode':'Indexed','backoffLimitPerIndex':3,"
          "'podFailurePolicy':{'rules':[{'action':'FailIndex','onExitCodes':{'operator':'In',"
          "'values':[42]}},{'action':'Ignore','onExitCodes':{'operator':'In','values':[7]}}]}");
  sync_apply(&h, "fi");
  /* exit 42: the index fails at once, whatever backoffLimitPerIndex says */
  end_index(&h, "fi", 1, "Failed", 42);
  /* exit 1: counted, retried; exit 7: ignored, retried, not counted */
  end_index(&h, "fi", 0, "Failed", 1);
  end_index(&h, "fi", 2, "Failed", 7);
  sync_apply(&h, "fi");
  json_t *st = status(&h, "fi");
  cr_assert_str_eq(json_str(st, "failedIndexes"), "1");
  cr_assert_eq(json_int(st, "failed", 0), 2, "FailIndex counts as a failure, Ignore not");
  h.now += 10 * S_NS;
  ctrl_h_sync(&h, "job", "default", "fi");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 2, "indexes 0 and 2 again, not 1");
  for (size_t i = 0; i < 2; i++) {
    json_t *p = ctrl_h_action(&h, CTRL_CREATE, "pods", i)->obj;
    const char *idx = ann_of(p, "batch.kubernetes.io/job-completion-index");
    if (!strcmp(idx, "0")) {
      cr_assert_str_eq(ann_of(p, "batch.kubernetes.io/job-index-failure-count"), "1");
      cr_assert_null(ann_of(p, "batch.kubernetes.io/job-index-ignored-failure-count"));
    } else {
      cr_assert_str_eq(idx, "2");
      cr_assert_str_eq(ann_of(p, "batch.kubernetes.io/job-index-failure-count"), "0");
      cr_assert_str_eq(ann_of(p, "batch.kubernetes.io/job-index-ignored-failure-count"), "1");
    }
  }
  ctrl_h_apply(&h);
  cr_assert_null(job_condition(&h, "fi", "Failed"));
  ctrl_h_free(&h);
}

Test(ctrl_job, success_policy_by_indexes)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_job(&h, "leader",
          ",'completions':3,'parallelism':3,'completionMode':'Indexed',"
          "'successPolicy':{'rules':[{'succeededIndexes':'0'}]}");
  sync_apply(&h, "leader");
  end_index(&h, "leader", 1, "Succeeded", 0);
  sync_apply(&h, "leader");
  cr_assert_null(job_condition(&h, "leader", "SuccessCriteriaMet"), "index 1 is not in the rule");
  /* index 0 succeeds: the rule is met, the pod still running is deleted */
  json_t *running = json_deep_copy(index_pod(&h, "leader", 2));
  char *rname = xstrdup(pod_name_of(running));
  end_index(&h, "leader", 0, "Succeeded", 0);
  ctrl_h_sync(&h, "job", "default", "leader");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 1);
  cr_assert_str_eq(ctrl_h_action(&h, CTRL_DELETE, "pods", 0)->name, rname);
  ctrl_h_apply(&h);
  json_t *met = job_condition(&h, "leader", "SuccessCriteriaMet");
  cr_assert_str_eq(json_str(met, "status"), "True");
  cr_assert_str_eq(json_str(met, "reason"), "SuccessPolicy");
  cr_assert_str_eq(json_str(met, "message"), "Matched rules at index 0");
  cr_assert_null(job_condition(&h, "leader", "Complete"), "not while a pod is stopping");
  /* the deleted pod still stops (deletionTimestamp, still running): not yet */
  json_object_set_new(json_object_get(running, "metadata"), "deletionTimestamp",
                      json_string(ctrl_f_time(h.now)));
  ctrl_h_put(&h, "pods", running);
  sync_apply(&h, "leader");
  cr_assert_null(job_condition(&h, "leader", "Complete"));
  /* gone: Complete, with the policy's reason and message */
  json_decref(ctrl_cache_remove(h.cache, "pods", "default", rname));
  free(rname);
  sync_apply(&h, "leader");
  json_t *c = job_condition(&h, "leader", "Complete");
  cr_assert_str_eq(json_str(c, "status"), "True");
  cr_assert_str_eq(json_str(c, "reason"), "SuccessPolicy");
  cr_assert_str_eq(json_str(c, "message"), "Matched rules at index 0");
  json_t *st = status(&h, "leader");
  cr_assert(json_str(st, "completionTime"));
  cr_assert_str_eq(json_str(st, "completedIndexes"), "0,1");
  cr_assert_null(json_object_get(st, "active"));
  cr_assert_eq(ctrl_f_events(&h, "Completed"), 1);
  ctrl_h_free(&h);
}

Test(ctrl_job, success_policy_by_count)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_job(&h, "quorum",
          ",'completions':5,'parallelism':5,'completionMode':'Indexed',"
          "'successPolicy':{'rules':[{'succeededIndexes':'2-4','succeededCount':2},"
          "{'succeededCount':3}]}");
  sync_apply(&h, "quorum");
  end_index(&h, "quorum", 0, "Succeeded", 0);
  end_index(&h, "quorum", 1, "Succeeded", 0);
  sync_apply(&h, "quorum");
  cr_assert_null(job_condition(&h, "quorum", "SuccessCriteriaMet"));
  /* three succeeded: the second rule (one of 2-4 is not two) */
  end_index(&h, "quorum", 3, "Succeeded", 0);
  ctrl_h_sync(&h, "job", "default", "quorum");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "pods"), 2);
  ctrl_h_apply(&h);
  cr_assert_str_eq(json_str(job_condition(&h, "quorum", "SuccessCriteriaMet"), "message"),
                   "Matched rules at index 1");
  sync_apply(&h, "quorum");
  cr_assert_str_eq(json_str(job_condition(&h, "quorum", "Complete"), "reason"), "SuccessPolicy");
  /* a NonIndexed Job with a successPolicy (refused by the API) ignores it */
  put_job(&h, "plain", ",'completions':2,'successPolicy':{'rules':[{'succeededCount':1}]}");
  sync_apply(&h, "plain");
  finish_pod(&h, "plain", 0, "Succeeded");
  sync_apply(&h, "plain");
  cr_assert_null(job_condition(&h, "plain", "SuccessCriteriaMet"));
  cr_assert_null(job_condition(&h, "plain", "Complete"));
  ctrl_h_free(&h);
}

/* ---- validation (the API server's) ----------------------------------------------------- */

/* The API's errors for a Job with extra spec fields, as kubectl prints
 * them ("" when valid); *out the Job as stored (may be NULL). */
static char *validate_job(const char *extra, json_t **out)
{
  char *text = xasprintf(
      "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'v','namespace':'default',"
      "'uid':'u-1'},'spec':{'template':{'spec':{'restartPolicy':'Never','containers':[{'name':'c',"
      "'image':'busybox'}]}}%s}}",
      extra);
  json_t *o = J(text);
  free(text);
  srv_prepare_job(o);
  api_errors_t errs = API_ERRORS_INIT;
  srv_validate_job(o, &errs);
  char *s = api_errors_string(&errs);
  api_errors_free(&errs);
  if (out)
    *out = o;
  else
    json_decref(o);
  return s;
}

#define INDEXED ",'completionMode':'Indexed','completions':3"

Test(ctrl_job, validation_of_per_index_and_success_policy)
{
  struct {
    const char *extra, *want;
  } bad[] = {
    { ",'backoffLimitPerIndex':1",
      "spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode" },
    { INDEXED ",'backoffLimitPerIndex':-1",
      "spec.backoffLimitPerIndex: Invalid value: -1: must be greater than or equal to 0" },
    { INDEXED ",'maxFailedIndexes':1",
      "spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified" },
    { ",'backoffLimitPerIndex':1,'maxFailedIndexes':1",
      "spec.maxFailedIndexes: Invalid value: 1: requires indexed completion mode" },
    { INDEXED ",'backoffLimitPerIndex':1,'maxFailedIndexes':4",
      "spec.maxFailedIndexes: Invalid value: 4: must be less than or equal to completions" },
    { INDEXED ",'podFailurePolicy':{'rules':[{'action':'FailIndex','onExitCodes':{'operator':'In',"
              "'values':[42]}}]}",
      "spec.podFailurePolicy.rules[0].action: Invalid value: \"FailIndex\": requires the "
      "backoffLimitPerIndex to be set" },
    { ",'successPolicy':{'rules':[{'succeededCount':1}]}",
      "spec.successPolicy: Invalid value: {\"rules\":[{\"succeededCount\":1}]}: requires indexed "
      "completion mode" },
    { INDEXED ",'successPolicy':{'rules':[]}",
      "spec.successPolicy.rules: Required value: at least one rules must be specified when the "
      "successPolicy is specified" },
    { INDEXED ",'successPolicy':{'rules':[{}]}",
      "spec.successPolicy.rules[0]: Required value: at least one of succeededCount or "
      "succeededIndexes must be specified" },
    { INDEXED ",'successPolicy':{'rules':[{'succeededIndexes':'0,5'}]}",
      "spec.successPolicy.rules[0].succeededIndexes: Invalid value: \"0,5\": error parsing "
      "succeededIndexes: too large index: \"5\"" },
    { INDEXED ",'successPolicy':{'rules':[{'succeededIndexes':'2-1'}]}",
      "error parsing succeededIndexes: non-increasing order, previous: 2, current: 1" },
    { INDEXED ",'successPolicy':{'rules':[{'succeededIndexes':'1,0'}]}",
      "error parsing succeededIndexes: non-increasing order, previous: 1, current: 0" },
    { INDEXED ",'successPolicy':{'rules':[{'succeededIndexes':'0-1-2'}]}",
      "error parsing succeededIndexes: the fragment \"0-1-2\" violates the requirement that an "
      "index interval can have at most two parts separated by '-'" },
    { INDEXED ",'successPolicy':{'rules':[{'succeededIndexes':'1,x'}]}",
      "error parsing succeededIndexes: cannot convert string to integer for index: \"x\"" },
    { INDEXED ",'successPolicy':{'rules':[{'succeededCount':4}]}",
      "spec.successPolicy.rules[0].succeededCount: Invalid value: 4: must be less than or equal "
      "to 3 (the number of specified completions)" },
    { INDEXED ",'successPolicy':{'rules':[{'succeededIndexes':'0-1','succeededCount':3}]}",
      "spec.successPolicy.rules[0].succeededCount: Invalid value: 3: must be less than or equal "
      "to 2 (the number of indexes in the specified succeededIndexes field)" },
    { INDEXED ",'successPolicy':{'rules':[{'succeededCount':-1}]}",
      "spec.successPolicy.rules[0].succeededCount: Invalid value: -1: must be greater than or "
      "equal to 0" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    char *s = validate_job(bad[i].extra, NULL);
    cr_expect(strstr(s, bad[i].want), "case %zu: want %s, got %s", i, bad[i].want, s);
    free(s);
  }
  /* 21 rules are too many */
  buf_t b = { 0 };
  buf_puts(&b, INDEXED ",'successPolicy':{'rules':[");
  for (int i = 0; i < 21; i++)
    buf_printf(&b, "%s{'succeededCount':1}", i ? "," : "");
  buf_puts(&b, "]}");
  char *s = validate_job(b.data, NULL);
  cr_expect(strstr(s, "spec.successPolicy.rules: Too long: must have at most 20 items"), "%s", s);
  free(s);
  buf_free(&b);
  /* all of it together is valid; backoffLimit then defaults to no limit */
  json_t *o = NULL;
  s = validate_job(INDEXED ",'backoffLimitPerIndex':1,'maxFailedIndexes':3,"
                           "'podFailurePolicy':{'rules':[{'action':'FailIndex','onExitCodes':{"
                           "'operator':'In','values':[42]}}]},"
                           "'successPolicy':{'rules':[{'succeededIndexes':'0,2','succeededCount':"
                           "1},{'succeededCount':3}]}",
                   &o);
  cr_assert_str_eq(s, "");
  free(s);
  cr_assert_eq(json_int(json_object_get(o, "spec"), "backoffLimit", 0), INT32_MAX);
  /* successPolicy and backoffLimitPerIndex are immutable, maxFailedIndexes not */
  json_t *n = json_deep_copy(o);
  json_t *spec = json_object_get(n, "spec");
  json_object_set_new(spec, "successPolicy", J("{'rules':[{'succeededCount':2}]}"));
  json_object_set_new(spec, "backoffLimitPerIndex", json_integer(2));
  json_object_set_new(spec, "maxFailedIndexes", json_integer(1));
  api_errors_t errs = API_ERRORS_INIT;
  srv_validate_job_update(n, o, &errs);
  s = api_errors_string(&errs);
  cr_expect_str_eq(s, "[spec.backoffLimitPerIndex: Invalid value: 2: field is immutable, "
                      "spec.successPolicy: Invalid value: field is immutable]");
  free(s);
  api_errors_free(&errs);
  json_decref(n);
  json_decref(o);
}
