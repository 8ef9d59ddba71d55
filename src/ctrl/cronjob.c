/* cronjob.c — the CronJob controller (batch/v1): creates a Job from
 * jobTemplate at each time of the schedule, in spec.timeZone (UTC when
 * unset), as Kubernetes' second CronJob controller does. The schedule is
 * parsed by api_cron_parse (src/api/cron.c, as the server validated it);
 * its times come from ctrl_cron_next (cron.c) in the zone of tz.c.
 *
 * Only the most recent missed time runs: after a stop (or a suspend), a
 * schedule that fired ten times meanwhile creates one Job, if that time is
 * not older than startingDeadlineSeconds. A Job is named
 * "<cronjob>-<scheduled time in minutes since the epoch>", so creating it
 * twice fails and a time is never run twice. status.active lists the
 * unfinished Jobs the CronJob created — Jobs made by hand from it (annotation
 * cronjob.kubernetes.io/instantiate: manual) are neither listed nor hold a
 * Forbid schedule back. Finished Jobs beyond successfulJobsHistoryLimit (3)
 * and failedJobsHistoryLimit (1) are deleted, oldest first. */
#include "ctrl/ctrl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_S   1000000000LL
#define SCHED_ANN  "batch.kubernetes.io/cronjob-scheduled-timestamp"
#define MANUAL_ANN "cronjob.kubernetes.io/instantiate"
#define MISSED_MAX 100

typedef struct cj {
  ctrl_ctx_t *x;
  json_t *obj, *spec, *st;
  const char *ns, *name;
  json_t *active; /* unfinished scheduled Jobs */
} cj_t;

static json_t *job_md(json_t *job)
{
  return json_object_get(job, "metadata");
}

static bool is_manual(json_t *job)
{
  const char *v = json_str(json_object_get(job_md(job), "annotations"), MANUAL_ANN);
  return v && !strcmp(v, "manual");
}

/* "Complete" or "Failed" when the Job finished, else NULL. */
static const char *job_finished(json_t *job)
{
  const char *types[] = { "Complete", "Failed" };
  for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
    json_t *c = ctrl_condition(job, types[i]);
    if (c && !strcmp(json_str(c, "status") ?: "", "True"))
      return types[i];
  }
  return NULL;
}

static int64_t job_start(json_t *job)
{
  int64_t t = ctrl_time_parse(json_str(json_object_get(job, "status"), "startTime"));
  return t ? t : ctrl_time_parse(json_str(job_md(job), "creationTimestamp"));
}

static int by_start(const void *a, const void *b)
{
  json_t *ja = *(json_t *const *)a, *jb = *(json_t *const *)b;
  int64_t sa = job_start(ja), sb = job_start(jb);
  if (sa != sb)
    return sa < sb ? -1 : 1;
  return strcmp(json_str(job_md(ja), "name") ?: "", json_str(job_md(jb), "name") ?: "");
}

static void delete_job(cj_t *c, json_t *job)
{
  const char *name = json_str(job_md(job), "name");
  if (!name)
    return;
  ctrl_act_delete(c->x->out, "jobs", c->ns, name, json_str(job_md(job), "uid"), -1);
  ctrl_act_event(c->x->out, c->obj, "Normal", "SuccessfulDelete", "Deleted job %s", name);
}

/* Deletes the oldest of jobs beyond limit. */
static void trim_history(cj_t *c, json_t *jobs, int64_t limit)
{
  size_t n = json_array_size(jobs);
  if (limit < 0 || n <= (size_t)limit)
    return;
  json_t **v = xcalloc(n, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = json_array_get(jobs, i);
  qsort(v, n, sizeof *v, by_start);
  for (size_t i = 0; i < n - (size_t)limit; i++)
    delete_job(c, v[i]);
  free(v);
}

static bool in_old_active(json_t *old_active, const char *uid)
{
  json_t *r;
  size_t i;
  json_array_foreach(old_active, i, r)
  {
    if (uid && !strcmp(json_str(r, "uid") ?: "", uid))
      return true;
  }
  return false;
}

/* status.active, lastSuccessfulTime and the history, from the Jobs. */
static void observe_jobs(cj_t *c, json_t *jobs)
{
  json_t *old_active = json_object_get(json_object_get(c->obj, "status"), "active");
  cleanup_json json_t *ok = json_array(), *failed = json_array();
  int64_t last_ok = ctrl_time_parse(json_str(c->st, "lastSuccessfulTime"));
  json_t *refs = json_array(), *job;
  size_t i;
  json_array_foreach(jobs, i, job)
  {
    json_t *md = job_md(job);
    const char *how = job_finished(job), *uid = json_str(md, "uid");
    if (!how) {
      if (!is_manual(job) && !json_object_get(md, "deletionTimestamp")) {
        json_array_append(c->active, job);
        json_array_append_new(refs, json_pack("{s:s,s:s,s:s,s:s,s:s}", "apiVersion", "batch/v1",
                                              "kind", "Job", "name", json_str(md, "name") ?: "",
                                              "namespace", c->ns, "uid", uid ?: ""));
      }
      continue;
    }
    if (in_old_active(old_active, uid))
      ctrl_act_event(c->x->out, c->obj, "Normal", "SawCompletedJob",
                     "Saw completed job: %s, status: %s", json_str(md, "name") ?: "", how);
    if (!strcmp(how, "Complete")) {
      int64_t t = ctrl_time_parse(json_str(json_object_get(job, "status"), "completionTime"));
      if (t > last_ok)
        last_ok = t;
    }
    if (!json_object_get(md, "deletionTimestamp"))
      json_array_append(!strcmp(how, "Complete") ? ok : failed, job);
  }
  if (json_array_size(refs))
    json_object_set_new(c->st, "active", refs);
  else {
    json_decref(refs);
    json_object_del(c->st, "active");
  }
  if (last_ok) {
    cleanup_free char *ts = time_rfc3339_sec(last_ok);
    json_object_set_new(c->st, "lastSuccessfulTime", json_string(ts));
  }
  trim_history(c, ok, ctrl_int(c->spec, "successfulJobsHistoryLimit", 3, 0, INT32_MAX));
  trim_history(c, failed, ctrl_int(c->spec, "failedJobsHistoryLimit", 1, 0, INT32_MAX));
}

/* ---- schedule times ------------------------------------------------------------------ */

/* @every: robfig/cron's constant delay, counted as Kubernetes counts it
 * from anchor (the last scheduled time, else the creation): the times are
 * anchor + k * every, k >= 1. The most recent of them in (from, now], or
 * -1; *missed: how many there are, up to MISSED_MAX + 1. The series stays
 * anchored when startingDeadlineSeconds moves from past anchor (Kubernetes
 * re-anchors there, so an @every longer than the deadline never runs). */
static int64_t every_recent(int64_t every, int64_t anchor, int64_t from, int64_t now, int *missed)
{
  *missed = 0;
  if (now - anchor < every)
    return -1;
  int64_t kmax = (now - anchor) / every;
  int64_t kmin = from > anchor ? (from - anchor) / every + 1 : 1;
  if (kmax < kmin)
    return -1;
  *missed = kmax - kmin + 1 > MISSED_MAX + 1 ? MISSED_MAX + 1 : (int)(kmax - kmin + 1);
  return anchor + kmax * every;
}

/* The most recent scheduled time in (earliest, now], or -1; *missed: how
 * many there are, counted up to MISSED_MAX + 1. anchor: where @every
 * counts from. */
static int64_t most_recent(const api_cron_t *cron, const ctrl_tz_t *tz, int64_t anchor,
                           int64_t earliest, int64_t now, int *missed)
{
  if (cron->every_s > 0)
    return every_recent(cron->every_s, anchor, earliest, now, missed);
  *missed = 0;
  int64_t t = ctrl_cron_next(cron, tz, earliest), last = -1;
  while (t >= 0 && t <= now && *missed <= MISSED_MAX) {
    last = t;
    (*missed)++;
    t = ctrl_cron_next(cron, tz, t);
  }
  if (*missed <= MISSED_MAX)
    return last;
  /* too many to walk: look back from now in growing windows */
  static const int64_t windows[] = { 60, 3600, 86400, 32 * 86400, 367 * 86400 };
  for (size_t w = 0; w < ARRAY_SIZE(windows); w++) {
    int64_t from = now - windows[w] > last ? now - windows[w] : last;
    t = ctrl_cron_next(cron, tz, from);
    if (t < 0 || t > now)
      continue;
    while (t >= 0 && t <= now) {
      last = t;
      t = ctrl_cron_next(cron, tz, t);
    }
    return last;
  }
  for (t = ctrl_cron_next(cron, tz, last); t >= 0 && t <= now; t = ctrl_cron_next(cron, tz, t))
    last = t;
  return last;
}

/* RFC 3339 in the zone's wall clock: "2026-03-29T09:00:00+02:00". */
static char *format_local(int64_t t, int64_t off)
{
  time_t lt = (time_t)(t + off);
  struct tm tm;
  gmtime_r(&lt, &tm);
  char date[32];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!off)
    return xasprintf("%sZ", date);
  int64_t a = off < 0 ? -off : off;
  return xasprintf("%s%c%02lld:%02lld", date, off < 0 ? '-' : '+', (long long)(a / 3600),
                   (long long)(a % 3600 / 60));
}

static void create_job(cj_t *c, const char *name, int64_t sched, const ctrl_tz_t *tz)
{
  json_t *tmpl = json_object_get(c->spec, "jobTemplate");
  json_t *tmd = json_object_get(tmpl, "metadata");
  json_t *md = json_pack("{s:s,s:s}", "name", name, "namespace", c->ns);
  json_t *labels = json_object_get(tmd, "labels");
  if (json_is_object(labels))
    json_object_set_new(md, "labels", json_deep_copy(labels));
  json_t *ann = json_object_get(tmd, "annotations");
  ann = json_is_object(ann) ? json_deep_copy(ann) : json_object();
  cleanup_free char *ts = format_local(sched, ctrl_tz_offset(tz, sched));
  json_object_set_new(ann, SCHED_ANN, json_string(ts));
  json_object_set_new(md, "annotations", ann);
  json_object_set_new(md, "ownerReferences",
                      json_pack("[o]", ctrl_owner_ref(c->obj, "batch/v1", "CronJob")));
  json_t *spec = json_object_get(tmpl, "spec");
  json_t *job = json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "batch/v1", "kind", "Job", "metadata",
                          md, "spec", spec ? json_deep_copy(spec) : json_object());
  ctrl_act_create(c->x->out, "jobs", job);
  ctrl_act_event(c->x->out, c->obj, "Normal", "SuccessfulCreate", "Created job %s", name);
}

/* A sync at the first scheduled time after now (@every: of the series
 * from anchor). */
static void requeue_next(cj_t *c, const api_cron_t *cron, const ctrl_tz_t *tz, int64_t anchor,
                         int64_t now_s)
{
  int64_t next, every = cron->every_s;
  if (every > 0)
    next = anchor + (now_s < anchor ? 1 : (now_s - anchor) / every + 1) * every;
  else
    next = ctrl_cron_next(cron, tz, now_s);
  if (next >= 0 && next < INT64_MAX / NS_PER_S) /* @every 2562047h is past that */
    ctrl_requeue_after(c->x, next * NS_PER_S - c->x->now);
}

/* Creates the Job of the most recent unmet time, if it may run. */
static void schedule(cj_t *c, const api_cron_t *cron, const ctrl_tz_t *tz)
{
  int64_t now_s = c->x->now / NS_PER_S;
  int64_t earliest = ctrl_time_parse(json_str(c->st, "lastScheduleTime"));
  if (!earliest)
    earliest = ctrl_time_parse(json_str(json_object_get(c->obj, "metadata"), "creationTimestamp"));
  earliest /= NS_PER_S;
  int64_t anchor = earliest;
  int64_t sds = ctrl_int(c->spec, "startingDeadlineSeconds", -1, 0, INT64_MAX / NS_PER_S);
  if (sds >= 0 && now_s - sds > earliest)
    earliest = now_s - sds;
  requeue_next(c, cron, tz, anchor, now_s);
  int missed;
  int64_t sched = most_recent(cron, tz, anchor, earliest, now_s, &missed);
  if (sched < 0)
    return;
  if (missed > MISSED_MAX)
    ctrl_act_event(c->x->out, c->obj, "Warning", "TooManyMissedTimes",
                   "too many missed start times (more than %d). Set or decrease "
                   ".spec.startingDeadlineSeconds or check clock skew",
                   MISSED_MAX);
  cleanup_free char *ts = time_rfc3339_sec(sched * NS_PER_S);
  if (sds >= 0 && sched + sds < now_s) {
    ctrl_act_event(c->x->out, c->obj, "Warning", "MissSchedule",
                   "Missed scheduled time to start a job: %s", ts);
    return;
  }
  cleanup_free char *name = xasprintf("%s-%lld", c->name, (long long)(sched / 60));
  if (ctrl_cache_get(c->x->cache, "jobs", c->ns, name)) { /* done before */
    json_object_set_new(c->st, "lastScheduleTime", json_string(ts));
    return;
  }
  const char *policy = json_str(c->spec, "concurrencyPolicy") ?: "Allow";
  size_t nactive = json_array_size(c->active);
  if (!strcmp(policy, "Forbid") && nactive) {
    ctrl_act_event(c->x->out, c->obj, "Normal", "JobAlreadyActive",
                   "Not starting job because prior execution is running and concurrency policy "
                   "is Forbid");
    return;
  }
  if (!strcmp(policy, "Replace"))
    for (size_t i = 0; i < nactive; i++)
      delete_job(c, json_array_get(c->active, i));
  create_job(c, name, sched, tz);
  json_object_set_new(c->st, "lastScheduleTime", json_string(ts));
}

/* spec.schedule as the API server accepts it: api_cron_parse, without a
 * TZ= or CRON_TZ= prefix (spec.timeZone says the zone). */
static int parse_schedule(const char *s, api_cron_t *out, berr_t *err)
{
  if (s && strstr(s, "TZ"))
    return berr_setc(err, EINVAL,
                     "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  return api_cron_parse(s, out, err);
}

void ctrl_cronjob_sync(ctrl_ctx_t *x, const char *ns, const char *name)
{
  json_t *obj = ctrl_cache_get(x->cache, "cronjobs", ns, name);
  json_t *md = json_object_get(obj, "metadata");
  if (!json_is_object(obj) || json_object_get(md, "deletionTimestamp") || !json_str(md, "uid"))
    return;
  json_t *old = json_object_get(obj, "status");
  cj_t c = { .x = x, .obj = obj, .spec = json_object_get(obj, "spec"), .ns = ns, .name = name };
  c.st = json_is_object(old) ? json_deep_copy(old) : json_object();
  c.active = json_array();
  cleanup_json json_t *jobs = ctrl_cache_owned(x->cache, "jobs", json_str(md, "uid"));
  observe_jobs(&c, jobs);
  if (!json_is_true(json_object_get(c.spec, "suspend"))) {
    api_cron_t cron;
    berr_t err = BERR_INIT;
    ctrl_tz_t *tz = NULL;
    const char *zone = json_str(c.spec, "timeZone"), *sched = json_str(c.spec, "schedule");
    if (parse_schedule(sched, &cron, &err) < 0) {
      ctrl_act_event(x->out, obj, "Warning", "UnparseableSchedule",
                     "unparseable schedule: \"%s\" : %s", sched ?: "", err.msg);
    } else if (!(tz = ctrl_tz_load(zone, &err))) {
      ctrl_act_event(x->out, obj, "Warning", "UnknownTimeZone", "invalid timeZone: %s", err.msg);
    } else {
      schedule(&c, &cron, tz);
    }
    berr_clear(&err);
    ctrl_tz_free(tz);
  }
  if (!json_equal(c.st, old)) {
    json_t *copy = json_deep_copy(obj);
    json_object_set(copy, "status", c.st);
    ctrl_act_update_status(x->out, "cronjobs", copy);
  }
  json_decref(c.st);
  json_decref(c.active);
}

void ctrl_cronjob_keys(ctrl_ctx_t *x, size_t self, const char *resource, json_t *old, json_t *obj,
                       ctrl_keys_t *out)
{
  const char *slash = strrchr(resource, '/');
  const char *r = slash ? slash + 1 : resource;
  json_t *cur = obj ? obj : old;
  const char *ns = json_str(job_md(cur), "namespace") ?: "";
  if (!strcmp(r, "cronjobs")) {
    ctrl_keys_add(out, self, ns, json_str(job_md(cur), "name"));
    return;
  }
  if (strcmp(r, "jobs"))
    return;
  json_t *objs[] = { old, obj };
  const char *last = NULL;
  for (size_t i = 0; i < 2; i++) {
    json_t *ref = ctrl_controller_ref(objs[i]);
    const char *kind = json_str(ref, "kind"), *name = json_str(ref, "name");
    if (kind && name && !strcmp(kind, "CronJob") && (!last || strcmp(last, name))) {
      ctrl_keys_add(out, self, ns, name);
      last = name;
    }
  }
}
