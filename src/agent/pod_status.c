/* pod_status.c — a pod's status in the kubelet's shape, and the pure rules
 * behind it: the phase (the kubelet's getPhase), the QoS class, the
 * restart back-off. The status is rebuilt from what the workers observed
 * after every pass and reported only when its JSON differs from the last
 * one reported, so an idle pod costs the API server nothing. */
#include "agent/pod_internal.h"

#include "api/api.h"

#include <string.h>
#include <time.h>

/* ---- pure helpers ---------------------------------------------------------------- */

int64_t pod_backoff_ms(int64_t base_ms, int64_t max_ms, int restarts)
{
  if (restarts < 1)
    return 0;
  int64_t d = base_ms;
  for (int i = 1; i < restarts && d < max_ms; i++)
    d = d > INT64_MAX / 2 ? INT64_MAX : d * 2;
  return d < max_ms ? d : max_ms;
}

bool pod_phase_terminal(const char *phase)
{
  return phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
}

static json_t *status_of(json_t *statuses, const char *name)
{
  size_t i;
  json_t *s;
  json_array_foreach(statuses, i, s) if (!strcmp(json_str(s, "name") ?: "", name)) return s;
  return NULL;
}

const char *pod_phase(json_t *spec, json_t *init_statuses, json_t *statuses)
{
  const char *policy = json_str(spec, "restartPolicy") ?: "Always";
  int pending_init = 0, failed_init = 0;
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(spec, "initContainers"), i, c)
  {
    json_t *s = status_of(init_statuses, json_str(c, "name") ?: "");
    json_t *st = json_object_get(s, "state");
    json_t *last = json_object_get(json_object_get(s, "lastState"), "terminated");
    bool sidecar = !strcmp(json_str(c, "restartPolicy") ?: "", "Always");
    if (!s) {
      pending_init++;
    } else if (json_object_get(st, "running")) {
      if (!sidecar)
        pending_init++;
    } else if (json_object_get(st, "terminated")) {
      if (json_int(json_object_get(st, "terminated"), "exitCode", 0) != 0)
        failed_init++;
    } else if (json_object_get(st, "waiting")) {
      if (last && !sidecar) {
        if (json_int(last, "exitCode", 0) != 0)
          failed_init++;
      } else {
        pending_init++;
      }
    } else {
      pending_init++;
    }
  }
  int unknown = 0, running = 0, waiting = 0, stopped = 0, succeeded = 0;
  json_array_foreach(json_object_get(spec, "containers"), i, c)
  {
    json_t *s = status_of(statuses, json_str(c, "name") ?: "");
    json_t *st = json_object_get(s, "state");
    if (!s) {
      unknown++;
    } else if (json_object_get(st, "running")) {
      running++;
    } else if (json_object_get(st, "terminated")) {
      stopped++;
      if (json_int(json_object_get(st, "terminated"), "exitCode", -1) == 0)
        succeeded++;
    } else if (json_object_get(st, "waiting")) {
      if (json_object_get(json_object_get(s, "lastState"), "terminated"))
        stopped++;
      else
        waiting++;
    } else {
      unknown++;
    }
  }
  if (failed_init > 0 && !strcmp(policy, "Never"))
    return "Failed";
  if (pending_init > 0 || failed_init > 0 || waiting > 0)
    return "Pending";
  if (running > 0 && unknown == 0)
    return "Running";
  if (running == 0 && stopped > 0 && unknown == 0) {
    if (!strcmp(policy, "Always"))
      return "Running";
    if (stopped == succeeded)
      return "Succeeded";
    if (!strcmp(policy, "Never"))
      return "Failed";
    return "Running";
  }
  return "Pending";
}

/* ---- the status of a pod ------------------------------------------------------------ */

static json_t *ctr_status(pod_mgr_t *m, pod_t *p, pod_ctr_t *c, bool init_done)
{
  json_t *s = json_object();
  json_object_set_new(s, "name", json_string(c->name));
  json_t *state = json_object(), *last = json_object();
  if (c->st == CTR_RUNNING) {
    cleanup_free char *t = time_rfc3339_sec(c->started_ns);
    json_object_set_new(state, "running", json_pack("{s:s}", "startedAt", t));
    if (c->last_term)
      json_object_set(last, "terminated", c->last_term);
  } else if (c->st == CTR_EXITED && c->term && c->backing_off) {
    json_object_set_new(state, "waiting", json_pack("{s:s}", "reason", "CrashLoopBackOff"));
    if (c->message)
      json_object_set_new(json_object_get(state, "waiting"), "message", json_string(c->message));
    json_object_set(last, "terminated", c->term);
  } else if (c->st == CTR_EXITED && c->term) {
    json_object_set(state, "terminated", c->term);
    if (c->last_term)
      json_object_set(last, "terminated", c->last_term);
  } else {
    const char *reason = c->reason;
    if (!reason)
      reason = c->init || !init_done ? "PodInitializing" : "ContainerCreating";
    json_t *w = json_pack("{s:s}", "reason", reason);
    if (c->message)
      json_object_set_new(w, "message", json_string(c->message));
    else if (p->setup_error)
      json_object_set_new(w, "message", json_string(p->setup_error));
    json_object_set_new(state, "waiting", w);
    if (c->last_term)
      json_object_set(last, "terminated", c->last_term);
  }
  json_object_set_new(s, "state", state);
  json_object_set_new(s, "lastState", last);
  bool ready = pod_ctr_ready(c) || (c->init && !c->sidecar && c->done);
  json_object_set_new(s, "ready", json_boolean(ready));
  json_object_set_new(s, "restartCount", json_integer(c->restarts));
  json_object_set_new(s, "image", json_string(json_str(c->spec, "image") ?: ""));
  json_object_set_new(s, "imageID", json_string(c->image_id ? c->image_id : ""));
  pthread_mutex_lock(&p->mu);
  if (c->id)
    json_object_set_new(s, "containerID", json_sprintf("berth://%s", c->id));
  pthread_mutex_unlock(&p->mu);
  json_object_set_new(s, "started", json_boolean(pod_ctr_started(c)));
  (void)m;
  return s;
}

/* Sets condition type in conds to status, keeping its transition time when
 * the status did not change. */
static void condition(pod_t *p, json_t *conds, const char *type, bool ok, const char *reason,
                      const char *message)
{
  const char *status = ok ? "True" : "False";
  json_t *prev = json_object_get(p->conds, type);
  const char *when = json_str(prev, "time");
  cleanup_free char *now = NULL;
  if (!when || strcmp(json_str(prev, "status") ?: "", status)) {
    now = time_rfc3339_sec(time_now_ns());
    json_object_set_new(p->conds, type, json_pack("{s:s,s:s}", "status", status, "time", now));
    when = now;
  }
  json_t *c = json_pack("{s:s,s:s,s:n,s:s}", "type", type, "status", status, "lastProbeTime",
                        "lastTransitionTime", when);
  if (reason)
    json_object_set_new(c, "reason", json_string(reason));
  if (message)
    json_object_set_new(c, "message", json_string(message));
  json_array_append_new(conds, c);
}

/* "containers with unready status: [a b]" */
static char *names_msg(const char *what, char **names)
{
  buf_t b = { 0 };
  buf_printf(&b, "containers with %s status: [", what);
  for (size_t i = 0; names && names[i]; i++)
    buf_printf(&b, "%s%s", i ? " " : "", names[i]);
  buf_puts(&b, "]");
  return buf_steal(&b);
}

/* NULL when every readiness gate's condition is True, else the kubelet's
 * message for the first that is not. */
static char *gates_not_ready(pod_t *p)
{
  char *msg = NULL;
  const char *type;
  json_t *c;
  pthread_mutex_lock(&p->mu);
  json_object_foreach(p->gates, type, c)
  {
    if (json_is_null(c)) {
      msg = xasprintf("corresponding condition of pod readiness gate \"%s\" does not exist.", type);
      break;
    }
    const char *st = json_str(c, "status") ?: "";
    if (strcmp(st, "True")) {
      msg = xasprintf("the status of pod readiness gate \"%s\" is not \"True\", but %s", type, st);
      break;
    }
  }
  pthread_mutex_unlock(&p->mu);
  return msg;
}

json_t *pod_status_build(pod_mgr_t *m, pod_t *p)
{
  json_t *st = json_object();
  bool init_done = true;
  cleanup_strv char **incomplete = NULL, **unready = NULL;
  for (size_t i = 0; i < p->n_init; i++) {
    pod_ctr_t *c = &p->ctrs[i];
    if (c->sidecar ? !pod_ctr_started(c) : !c->done) {
      init_done = false;
      strv_push(&incomplete, c->name);
    }
  }
  json_t *inits = json_array(), *ctrs = json_array();
  for (size_t i = 0; i < p->n_ctrs; i++) {
    pod_ctr_t *c = &p->ctrs[i];
    json_array_append_new(c->init ? inits : ctrs, ctr_status(m, p, c, init_done));
    if ((!c->init || c->sidecar) && !pod_ctr_ready(c))
      strv_push(&unready, c->name);
  }
  const char *phase = p->evicted ? "Failed" : pod_phase(p->spec, inits, ctrs);
  if (p->deleting && !pod_phase_terminal(phase)) {
    /* Deleted, and nothing runs any more: the kubelet's terminal phase. */
    bool any = false, all_ok = true;
    for (size_t i = 0; i < p->n_ctrs; i++) {
      pod_ctr_t *c = &p->ctrs[i];
      any |= c->st == CTR_RUNNING;
      if (!c->init)
        all_ok &= c->st == CTR_EXITED && json_int(c->term, "exitCode", 1) == 0;
    }
    if (!any)
      phase = all_ok ? "Succeeded" : "Failed";
  }
  free(p->phase);
  p->phase = xstrdup(phase);
  bool done = pod_phase_terminal(phase);

  json_t *conds = json_array();
  condition(p, conds, "PodReadyToStartContainers", p->net_up, p->setup_reason, p->setup_error);
  cleanup_free char *inc = incomplete ? names_msg("incomplete", incomplete) : NULL;
  condition(p, conds, "Initialized", init_done, init_done ? NULL : "ContainersNotInitialized", inc);
  cleanup_free char *unr = unready ? names_msg("unready", unready) : NULL;
  bool ctrs_ready = !unready && !done;
  const char *why = ctrs_ready ? NULL : done ? "PodCompleted" : "ContainersNotReady";
  cleanup_free char *gate_msg = ctrs_ready ? gates_not_ready(p) : NULL;
  bool ready = ctrs_ready && !gate_msg;
  condition(p, conds, "Ready", ready, gate_msg ? "ReadinessGatesNotReady" : why,
            gate_msg ? gate_msg
            : done   ? NULL
                     : unr);
  condition(p, conds, "ContainersReady", ctrs_ready, why, done ? NULL : unr);
  if (p->evicted) /* the kubelet's mark of a pod it ended itself */
    condition(p, conds, "DisruptionTarget", true, "TerminationByKubelet", p->evict_message);

  json_object_set_new(st, "phase", json_string(phase));
  if (p->evicted) {
    json_object_set_new(st, "reason", json_string("Evicted"));
    json_object_set_new(st, "message", json_string(p->evict_message ? p->evict_message : ""));
  }
  json_object_set_new(st, "conditions", conds);
  json_object_set_new(st, "hostIP", json_string(m->host_ip));
  json_object_set_new(st, "hostIPs", json_pack("[{s:s}]", "ip", m->host_ip));
  if (p->ip) {
    json_object_set_new(st, "podIP", json_string(p->ip));
    json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", p->ip));
  }
  if (p->start_ns) {
    cleanup_free char *t = time_rfc3339_sec(p->start_ns);
    json_object_set_new(st, "startTime", json_string(t));
  }
  if (p->n_init)
    json_object_set_new(st, "initContainerStatuses", inits);
  else
    json_decref(inits);
  json_object_set_new(st, "containerStatuses", ctrs);
  json_object_set_new(st, "qosClass", json_string(api_pod_qos_class(p->spec)));
  return st;
}

void pod_status_report(pod_mgr_t *m, pod_t *p)
{
  cleanup_json json_t *st = pod_status_build(m, p);
  cleanup_free char *text = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
  if (p->last_status && !strcmp(p->last_status, text))
    return;
  free(p->last_status);
  p->last_status = steal_ptr(text);
  log_debug("msg=\"pod status\" pod=%s/%s phase=%s", p->ns, p->name, p->phase);
  if (m->o.on_status)
    m->o.on_status(m->o.arg, p->ns, p->name, p->uid, st);
}
