/* test_ctrl_job.c — the Job controller: completions and parallelism, the
 * Indexed mode, the back-off limit and the delay between retries, the
 * active deadline, suspend, deletion after ttlSecondsAfterFinished. */
#include "ctrl_fixtures.h"

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
