/* pod_run.c — one pass of a worker over a pod (pod_reconcile): look at what
 * its containers are doing, then do the next thing the spec asks for.
 *
 *   set-up      pod.json, volumes, sandbox (namespaces, address), hosts file
 *   init        init containers one at a time, each to exit 0 (a native
 *               sidecar, restartPolicy Always, only has to be running)
 *   containers  all started; exits restarted by restartPolicy with the
 *               kubelet's back-off (the first restart at once, then base,
 *               2·base… up to max; reset after 10 minutes of running)
 *   terminal    Succeeded or Failed: the network goes, nothing restarts
 *   deletion    stop signal, SIGKILL after the grace period, then every
 *               trace removed and on_terminated
 *
 * A pass never sleeps: what must happen later is a timer (pod_wake_at),
 * what happens to a container (its exit) queues the pod again. */
#include "agent/pod_internal.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEC_NS          1000000000LL
#define MS_NS           1000000LL
#define DEFAULT_GRACE_S 30
/* Exit code the kubelet reports for a container that could not start. */
#define START_ERROR_EXIT 128
/* How long a stop signal waits for a just-started container to execute its
 * command, and how often that is looked at. */
#define SETTLE_MAX_NS  (2 * SEC_NS)
#define SETTLE_POLL_NS (10 * MS_NS)

void pod_ctrs_init(pod_t *p)
{
  json_t *inits = json_object_get(p->spec, "initContainers");
  json_t *mains = json_object_get(p->spec, "containers");
  p->n_init = json_array_size(inits);
  p->n_ctrs = p->n_init + json_array_size(mains);
  p->ctrs = xcalloc(p->n_ctrs + 1, sizeof *p->ctrs);
  for (size_t i = 0; i < p->n_ctrs; i++) {
    pod_ctr_t *c = &p->ctrs[i];
    c->init = i < p->n_init;
    c->spec = c->init ? json_array_get(inits, i) : json_array_get(mains, i - p->n_init);
    c->name = xstrdup(json_str(c->spec, "name") ?: "");
    c->sidecar = c->init && !strcmp(json_str(c->spec, "restartPolicy") ?: "", "Always");
    pod_probes_init(c);
  }
}

static void ctr_clear(pod_ctr_t *c)
{
  free(c->name);
  free(c->id);
  free(c->prev_id);
  free(c->reason);
  free(c->message);
  free(c->image_id);
  free(c->probed_id);
  json_decref(c->term);
  json_decref(c->last_term);
}

void pod_free(pod_t *p)
{
  if (!p)
    return;
  for (size_t i = 0; i < p->n_ctrs; i++)
    ctr_clear(&p->ctrs[i]);
  free(p->ctrs);
  free(p->uid);
  free(p->ns);
  free(p->name);
  free(p->dir);
  free(p->vols);
  free(p->ip);
  free(p->hostname);
  free(p->setup_error);
  free(p->setup_reason);
  free(p->last_status);
  free(p->phase);
  free(p->evict_msg);
  free(p->evict_message);
  while (p->probe_results) {
    probe_job_t *j = p->probe_results;
    p->probe_results = j->next;
    probe_job_free(j);
  }
  json_decref(p->obj);
  json_decref(p->pending);
  json_decref(p->conds);
  json_decref(p->gates);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

static void set_str(char **dst, const char *s)
{
  free(*dst);
  *dst = s ? xstrdup(s) : NULL;
}

/* The reason is read by pod_mgr_container too: under p->mu. */
static void set_waiting(pod_t *p, pod_ctr_t *c, const char *reason, const char *message)
{
  pthread_mutex_lock(&p->mu);
  set_str(&c->reason, reason);
  set_str(&c->message, message);
  pthread_mutex_unlock(&p->mu);
}

static const char *restart_policy(pod_t *p)
{
  return json_str(p->spec, "restartPolicy") ?: "Always";
}

/* ---- observing containers ------------------------------------------------------------ */

static json_t *terminated_json(const char *id, int code, const char *reason, const char *message,
                               int64_t started_ns, int64_t finished_ns)
{
  cleanup_free char *s = time_rfc3339_sec(started_ns), *f = time_rfc3339_sec(finished_ns);
  json_t *t = json_pack("{s:i,s:s,s:s,s:s}", "exitCode", code, "reason", reason, "startedAt", s,
                        "finishedAt", f);
  if (message)
    json_object_set_new(t, "message", json_string(message));
  if (id)
    json_object_set_new(t, "containerID", json_sprintf("berth://%s", id));
  return t;
}

static json_t *terminated_of(const engine_info *i)
{
  int code = i->exit_code;
  const char *reason = i->oom_killed ? "OOMKilled" : code == 0 ? "Completed" : "Error";
  const char *msg = NULL;
  if (code < 0) { /* the monitor was gone and could not record it */
    code = 255;
    msg = "the exit status is unknown: the container's monitor was gone";
  }
  return terminated_json(i->id, code, reason, msg, i->started_ns,
                         i->finished_ns ? i->finished_ns : time_now_ns());
}

static void observe(pod_mgr_t *m, pod_t *p, pod_ctr_t *c)
{
  if (c->prev_id && !c->last_term) { /* adopted: the run before is still there */
    engine_info pi;
    if (engine_info_get(m->eng, c->prev_id, &pi, NULL) == 0) {
      if (pi.status == RT_STOPPED)
        c->last_term = terminated_of(&pi);
      engine_info_clear(&pi);
    }
  }
  if (!c->id || (c->st == CTR_EXITED && c->term))
    return;
  engine_info info;
  berr_t err = BERR_INIT;
  if (engine_info_get(m->eng, c->id, &info, &err) < 0) {
    if (err.code == ENOENT) { /* removed behind our back */
      json_decref(c->term);
      c->term = terminated_json(c->id, 137, "ContainerStatusUnknown",
                                "The container could not be located", c->started_ns, time_now_ns());
      c->st = CTR_EXITED;
      c->exit_handled = false;
      pw_del(m, c->id);
    } else {
      log_warn("msg=\"cannot read container\" pod=%s/%s container=%s err=\"%s\"", p->ns, p->name,
               c->name, err.msg);
    }
    berr_clear(&err);
    return;
  }
  set_str(&c->image_id, info.image_id);
  c->started_ns = info.started_ns;
  switch (info.status) {
  case RT_RUNNING:
    c->st = CTR_RUNNING;
    if (!c->watched) {
      pw_add(m, p->uid, c->id, info.pid);
      c->watched = true;
    }
    break;
  case RT_CREATING:
  case RT_CREATED:
    c->st = CTR_WAITING;
    c->created_only = true;
    break;
  case RT_STOPPED:
    if (info.exit_pending) { /* its monitor is writing it down: the exit file wakes us */
      c->st = CTR_RUNNING;
      if (!c->watched) {
        pw_add(m, p->uid, c->id, 0);
        c->watched = true;
      }
      pod_wake_at(m, p, time_mono_ns() + SEC_NS);
      break;
    }
    c->st = CTR_EXITED;
    json_decref(c->term);
    c->term = terminated_of(&info);
    c->finished_ns = info.finished_ns;
    c->exit_handled = false;
    break;
  }
  engine_info_clear(&info);
}

/* ---- starting containers ----------------------------------------------------------- */

static char *ctr_user(pod_t *p, json_t *ctr)
{
  json_t *psc = json_object_get(p->spec, "securityContext");
  json_t *csc = json_object_get(ctr, "securityContext");
  json_t *uid = json_object_get(csc, "runAsUser"), *gid = json_object_get(csc, "runAsGroup");
  if (!json_is_integer(uid))
    uid = json_object_get(psc, "runAsUser");
  if (!json_is_integer(gid))
    gid = json_object_get(psc, "runAsGroup");
  if (!json_is_integer(uid))
    return NULL; /* the image's user (runAsGroup alone needs its uid: not supported) */
  if (json_is_integer(gid))
    return xasprintf("%lld:%lld", (long long)json_integer_value(uid),
                     (long long)json_integer_value(gid));
  return xasprintf("%lld", (long long)json_integer_value(uid));
}

static bool mounts_path(engine_bind *b, size_t n, const char *path)
{
  for (size_t i = 0; i < n; i++)
    if (!strcmp(b[i].ctr, path))
      return true;
  return false;
}

/* Waits with a back-off before the next attempt at starting c. */
static void retry_later(pod_mgr_t *m, pod_t *p, pod_ctr_t *c)
{
  c->backoffs++;
  int64_t ms = pod_backoff_ms(m->o.backoff_base_ms, m->o.backoff_max_ms, c->backoffs);
  c->retry_mono = time_mono_ns() + ms * MS_NS;
  pod_wake_at(m, p, c->retry_mono);
}

/* The run of c ended before it began (its command cannot be executed):
 * a terminated state with the kubelet's StartError. */
static void start_error(pod_mgr_t *m, pod_t *p, pod_ctr_t *c, const char *id, const char *msg)
{
  int64_t now = time_now_ns();
  json_decref(c->term);
  c->term = terminated_json(id, START_ERROR_EXIT, "StartError", msg, 0, now);
  c->st = CTR_EXITED;
  c->exit_handled = false;
  c->finished_ns = now;
  c->started_ns = now;
  pod_event(m, p, "Warning", "Failed", "Error: %s", msg);
}

/* Moves the current run to "previous" before a new one (p->mu for the ids). */
static void rotate_runs(pod_mgr_t *m, pod_t *p, pod_ctr_t *c, const char *new_id, int restart)
{
  char *old_prev = NULL;
  pthread_mutex_lock(&p->mu);
  if (c->id) {
    old_prev = c->prev_id;
    c->prev_id = c->id;
  }
  c->id = new_id ? xstrdup(new_id) : NULL;
  c->restarts = restart;
  pthread_mutex_unlock(&p->mu);
  if (old_prev) {
    pw_del(m, old_prev);
    berr_t err = BERR_INIT;
    if (engine_remove(m->eng, old_prev, true, &err) < 0 && err.code != ENOENT)
      log_warn("msg=\"cannot remove old container\" id=%.12s err=\"%s\"", old_prev, err.msg);
    berr_clear(&err);
    free(old_prev);
  }
  if (c->term) {
    json_decref(c->last_term);
    c->last_term = steal_ptr(c->term);
  }
  c->watched = false;
  c->created_only = false;
  c->backing_off = false;
}

static void start_ctr(pod_mgr_t *m, pod_t *p, pod_ctr_t *c)
{
  json_t *spec = c->spec;
  const char *image = json_str(spec, "image") ?: "";
  cleanup_strv char **env = NULL, **command = NULL, **args = NULL;
  berr_t err = BERR_INIT;
  if (pod_ctr_env(m, p, spec, &env, &command, &args, &err) < 0) {
    set_waiting(p, c, "CreateContainerConfigError", err.msg);
    pod_event(m, p, "Warning", "Failed", "Error: %s", err.msg);
    berr_clear(&err);
    retry_later(m, p, c);
    return;
  }
  engine_bind *binds = NULL;
  size_t n_binds = 0;
  if (pod_volume_binds(p, spec, &binds, &n_binds, &err) < 0) {
    set_waiting(p, c, "CreateContainerConfigError", err.msg);
    pod_event(m, p, "Warning", "Failed", "Error: %s", err.msg);
    berr_clear(&err);
    retry_later(m, p, c);
    return;
  }
  bool host_net = json_bool(p->spec, "hostNetwork", false);
  if (!host_net && !mounts_path(binds, n_binds, "/etc/hosts")) {
    binds[n_binds].host = pod_path(p, "etc-hosts");
    binds[n_binds].ctr = xstrdup("/etc/hosts");
    n_binds++;
  }
  int restart = c->ever_created ? c->restarts + 1 : 0;
  cleanup_free char *name = pod_engine_name(p, c->name, restart);
  cleanup_free char *restart_s = xasprintf("%d", restart);
  cleanup_json json_t *labels
      = json_pack("{s:s,s:s,s:s,s:s,s:s}", POD_LABEL_UID, p->uid, POD_LABEL_NAME, p->name,
                  POD_LABEL_NS, p->ns, POD_LABEL_CTR, c->name, POD_LABEL_RESTART, restart_s);
  cleanup_free char *user = ctr_user(p, spec);
  cleanup_free char *netns = pod_ns_path(p, "net"), *ipcns = pod_ns_path(p, "ipc"),
                    *utsns = pod_ns_path(p, "uts");
  cleanup_free char *cgparent = xasprintf(POD_CGROUP_ROOT "/pod%s", p->uid);
  char node_host[256] = "";
  if (host_net)
    gethostname(node_host, sizeof node_host - 1);
  char *log_opts[] = { "max-size=10m", "max-file=5", NULL };
  engine_create_opts o = {
    .image = image,
    .name = name,
    .entrypoint = command,
    .cmd = args,
    .env = env,
    .binds = binds,
    .n_binds = n_binds,
    .workdir = json_str(spec, "workingDir") && *json_str(spec, "workingDir")
                   ? json_str(spec, "workingDir")
                   : NULL,
    .user = user,
    .hostname = host_net ? node_host : p->hostname,
    .log_opts = log_opts,
    .read_only
    = json_bool(json_object_get(spec, "securityContext"), "readOnlyRootFilesystem", false),
    .tty = json_bool(spec, "tty", false),
    .stdin_open = json_bool(spec, "stdin", false),
    /* berth's init as pid 1 forwards signals to the command: a process that
     * installs no SIGTERM handler (sleep, a shell) still stops on the stop
     * signal, instead of waiting out the grace period as pid 1 would. */
    .init = true,
    .netns = host_net ? NULL : netns,
    .host_network = host_net,
    .ipcns = ipcns,
    .utsns = utsns,
    .cgroup_parent = cgparent,
    .labels = labels,
    .no_sync = true, /* the API server has the pod: a crash costs a restart, not data */
  };
  pod_ctr_resources(spec, &o.memory, &o.nano_cpus, &o.cpu_shares);

  pod_event(m, p, "Normal", "Pulled", "Container image \"%s\" already present on machine", image);
  cleanup_free char *id = NULL;
  int exec_status = 0;
  int64_t t0 = time_mono_ns();
  int r = engine_create(m->eng, &o, &id, &exec_status, &err);
  int64_t t1 = time_mono_ns();
  for (size_t i = 0; i < n_binds; i++)
    engine_bind_free(&binds[i]);
  free(binds);
  if (r < 0) {
    if (engine_err_is_no_image(&err)) {
      bool never = !strcmp(json_str(spec, "imagePullPolicy") ?: "", "Never");
      cleanup_free char *msg = xasprintf(
          "image \"%s\" is not present on the node (berth has no registry pull yet)", image);
      set_waiting(p, c, never ? "ErrImageNeverPull" : "ErrImagePull", msg);
      pod_event(m, p, "Warning", never ? "ErrImageNeverPull" : "Failed", "%s", msg);
      retry_later(m, p, c);
    } else if (err.code == EEXIST) {
      /* A run of ours the engine has and we did not know (an agent that
       * died between create and record): the next number is free. */
      c->ever_created = true;
      c->restarts = restart;
      pod_wake_at(m, p, time_mono_ns());
    } else if (exec_status == 126 || exec_status == 127) {
      rotate_runs(m, p, c, NULL, restart);
      c->ever_created = true;
      start_error(m, p, c, NULL, err.msg);
    } else {
      set_waiting(p, c, "CreateContainerError", err.msg);
      pod_event(m, p, "Warning", "Failed", "Error: %s", err.msg);
      retry_later(m, p, c);
    }
    berr_clear(&err);
    return;
  }
  rotate_runs(m, p, c, id, restart);
  c->ever_created = true;
  set_waiting(p, c, NULL, NULL);
  pod_event(m, p, "Normal", "Created", "Created container: %s", c->name);
  pw_add(m, p->uid, id, 0); /* before the start: an exit cannot be missed */
  if (engine_start(m->eng, id, &err) < 0) {
    start_error(m, p, c, id, err.msg);
    berr_clear(&err);
    return;
  }
  log_debug("msg=\"container started\" pod=%s/%s container=%s id=%.12s create_us=%lld "
            "start_us=%lld",
            p->ns, p->name, c->name, id, (long long)(t1 - t0) / 1000,
            (long long)(time_mono_ns() - t1) / 1000);
  c->watched = false; /* again, with its pid */
  observe(m, p, c);
  if (c->st == CTR_RUNNING || c->st == CTR_EXITED)
    pod_event(m, p, "Normal", "Started", "Started container %s", c->name);
}

/* ---- exits and restarts ------------------------------------------------------------ */

static bool wants_restart(pod_t *p, pod_ctr_t *c)
{
  int code = (int)json_int(c->term, "exitCode", 1);
  if (p->evicted)
    return false;
  if (c->sidecar)
    return true;
  const char *policy = restart_policy(p);
  if (c->init)
    return code != 0 && strcmp(policy, "Never");
  if (!strcmp(policy, "Always"))
    return true;
  if (!strcmp(policy, "OnFailure"))
    return code != 0;
  return false;
}

/* Decides, once per run, what the end of c's run means. */
static void handle_exit(pod_mgr_t *m, pod_t *p, pod_ctr_t *c)
{
  c->exit_handled = true;
  int code = (int)json_int(c->term, "exitCode", 1);
  log_info("msg=\"container ended\" pod=%s/%s container=%s exit=%d", p->ns, p->name, c->name, code);
  if (c->init && !c->sidecar && code == 0) {
    c->done = true;
    return;
  }
  if (!wants_restart(p, c))
    return;
  if (c->finished_ns && c->started_ns && c->finished_ns - c->started_ns >= POD_BACKOFF_RESET_NS)
    c->backoffs = 0;
  int64_t delay
      = c->backoffs ? pod_backoff_ms(m->o.backoff_base_ms, m->o.backoff_max_ms, c->backoffs) : 0;
  c->backoffs++;
  c->retry_mono = time_mono_ns() + delay * MS_NS;
  pod_wake_at(m, p, c->retry_mono); /* nothing else may wake the pod (a StartError) */
  if (delay > 0) {
    c->backing_off = true;
    cleanup_free char *msg
        = xasprintf("back-off %llds restarting failed container=%s pod=%s_%s(%s)",
                    (long long)((delay + 999) / 1000), c->name, p->name, p->ns, p->uid);
    set_waiting(p, c, "CrashLoopBackOff", msg);
    pod_event(m, p, "Warning", "BackOff",
              "Back-off restarting failed container %s in pod %s_%s(%s)", c->name, p->name, p->ns,
              p->uid);
  }
}

/* Starts c when it is its turn and its back-off is over; true when it runs. */
static bool run_ctr(pod_mgr_t *m, pod_t *p, pod_ctr_t *c)
{
  if (c->st == CTR_RUNNING)
    return true;
  if (c->st == CTR_EXITED && (!c->exit_handled || !wants_restart(p, c)))
    return false;
  if (c->retry_mono > time_mono_ns()) {
    pod_wake_at(m, p, c->retry_mono);
    return false;
  }
  if (c->created_only && c->id) { /* adopted half-way: created, never started */
    berr_t err = BERR_INIT;
    c->created_only = false;
    if (engine_start(m->eng, c->id, &err) == 0) {
      observe(m, p, c);
      berr_clear(&err);
      return c->st == CTR_RUNNING;
    }
    berr_clear(&err);
  }
  start_ctr(m, p, c);
  if (c->st == CTR_EXITED && !c->exit_handled)
    handle_exit(m, p, c); /* StartError: a crash like any other */
  return c->st == CTR_RUNNING;
}

/* Init containers in order; true once all of them are done. */
static bool run_init(pod_mgr_t *m, pod_t *p)
{
  bool main_started = false;
  for (size_t i = p->n_init; i < p->n_ctrs; i++)
    main_started |= p->ctrs[i].ever_created;
  for (size_t i = 0; i < p->n_init; i++) {
    pod_ctr_t *c = &p->ctrs[i];
    if (main_started && !c->sidecar)
      c->done = true; /* the kubelet's rule: containers started, init is over */
    if (c->sidecar) {
      /* the next one waits for its startup probe too, as the kubelet's */
      if (!run_ctr(m, p, c) || !pod_ctr_started(c))
        return false;
      continue;
    }
    if (c->done)
      continue;
    if (c->st == CTR_EXITED && c->exit_handled && !wants_restart(p, c))
      return false; /* failed for good: the pod fails */
    run_ctr(m, p, c);
    /* One that exited 0 before its start returned is done now: the next
     * one starts in this pass. Only then: "done" is no verdict on the rest. */
    if (!c->done)
      return false;
  }
  return true;
}

/* ---- set-up and tear-down ------------------------------------------------------------ */

static void setup_failed(pod_mgr_t *m, pod_t *p, const char *reason, berr_t *err, bool retry)
{
  bool again = p->setup_error && !strcmp(p->setup_error, err->msg);
  set_str(&p->setup_error, err->msg);
  set_str(&p->setup_reason, reason);
  if (!again)
    pod_event(m, p, "Warning", reason, "%s", err->msg);
  berr_clear(err);
  if (retry) {
    p->setup_failures++;
    int64_t ms = pod_backoff_ms(m->o.backoff_base_ms, m->o.backoff_max_ms, p->setup_failures);
    p->setup_retry_mono = time_mono_ns() + ms * MS_NS;
    pod_wake_at(m, p, p->setup_retry_mono);
  } else {
    p->setup_retry_mono = INT64_MAX; /* the spec must change: it cannot */
  }
}

/* Containers of a sandbox that did not survive (a reboot): they go, and
 * start again in a new one. */
static void drop_containers(pod_mgr_t *m, pod_t *p)
{
  for (size_t i = 0; i < p->n_ctrs; i++) {
    pod_ctr_t *c = &p->ctrs[i];
    char *ids[] = { c->id, c->prev_id };
    for (size_t k = 0; k < 2; k++) {
      if (!ids[k])
        continue;
      pw_del(m, ids[k]);
      berr_t err = BERR_INIT;
      engine_remove(m->eng, ids[k], true, &err);
      berr_clear(&err);
    }
    pthread_mutex_lock(&p->mu);
    free(c->id);
    free(c->prev_id);
    c->id = c->prev_id = NULL;
    pthread_mutex_unlock(&p->mu);
    json_decref(c->term);
    c->term = NULL;
    c->st = CTR_WAITING;
    c->done = false;
    c->watched = c->created_only = c->backing_off = false;
  }
}

static bool set_up(pod_mgr_t *m, pod_t *p)
{
  if (p->set_up)
    return true;
  if (p->setup_retry_mono > time_mono_ns())
    return false;
  berr_t err = BERR_INIT;
  if (!p->start_ns)
    p->start_ns = time_now_ns();
  if (p->adopted && p->terminal) {
    p->set_up = true; /* its sandbox went when it finished */
    return true;
  }
  if (p->adopted && !pod_sandbox_alive(p)) {
    log_info("msg=\"pod sandbox is gone, starting the pod again\" pod=%s/%s", p->ns, p->name);
    drop_containers(m, p);
    free(p->ip);
    p->ip = NULL;
  }
  if (fs_mkdir_p(p->dir, 0700, &err) < 0) {
    setup_failed(m, p, "FailedCreatePodSandBox", &err, true);
    return false;
  }
  int64_t t0 = time_mono_ns();
  if (pod_volumes_up(m, p, &err) < 0) {
    setup_failed(m, p, "FailedMount", &err, err.code != EINVAL);
    return false;
  }
  int64_t t1 = time_mono_ns();
  /* pod.json last: a directory without it is a start that did not get
   * this far, removed on the next open. */
  if (pod_sandbox_up(m, p, &err) < 0 || pod_hosts_write(p, &err) < 0 || pod_save(p, &err) < 0) {
    berr_wrap(&err, "create the pod sandbox");
    setup_failed(m, p, "FailedCreatePodSandBox", &err, true);
    return false;
  }
  log_debug("msg=\"pod sandbox ready\" pod=%s/%s ip=%s volumes_us=%lld sandbox_us=%lld", p->ns,
            p->name, p->ip ? p->ip : "", (long long)(t1 - t0) / 1000,
            (long long)(time_mono_ns() - t1) / 1000);
  set_str(&p->setup_error, NULL);
  set_str(&p->setup_reason, NULL);
  p->set_up = true;
  return true;
}

/* Removes everything the pod has on the node (its containers stopped or
 * not: they are killed). */
static void tear_down(pod_mgr_t *m, pod_t *p)
{
  for (size_t i = 0; i < p->n_ctrs; i++) {
    pod_ctr_t *c = &p->ctrs[i];
    char *ids[] = { c->id, c->prev_id };
    for (size_t k = 0; k < 2; k++)
      if (ids[k])
        pw_del(m, ids[k]);
  }
  for (size_t i = 0; i < p->n_ctrs; i++) { /* all at once, not one grace each */
    pod_ctr_t *c = &p->ctrs[i];
    if (c->id && c->st == CTR_RUNNING)
      engine_kill(m->eng, c->id, SIGKILL, NULL);
  }
  berr_t err = BERR_INIT;
  for (size_t i = 0; i < p->n_ctrs; i++) {
    pod_ctr_t *c = &p->ctrs[i];
    char *ids[] = { c->id, c->prev_id };
    for (size_t k = 0; k < 2; k++) {
      if (ids[k] && engine_remove(m->eng, ids[k], true, &err) < 0 && err.code != ENOENT)
        log_warn("msg=\"cannot remove container\" pod=%s/%s id=%.12s err=\"%s\"", p->ns, p->name,
                 ids[k], err.msg);
      berr_clear(&err);
    }
  }
  pod_volumes_down(p);
  if (pod_sandbox_down(m, p, &err) < 0)
    log_warn("msg=\"cannot remove pod sandbox\" pod=%s/%s err=\"%s\"", p->ns, p->name, err.msg);
  berr_clear(&err);
  cleanup_free char *cg = xasprintf(POD_CGROUP_ROOT "/pod%s", p->uid);
  if (engine_cgroup_parent_remove(m->eng, cg, &err) < 0)
    log_warn("msg=\"cannot remove pod cgroup\" pod=%s/%s err=\"%s\"", p->ns, p->name, err.msg);
  berr_clear(&err);
  const char *dirs[] = { p->dir, p->vols };
  for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
    if (fs_rm_rf(dirs[i], &err) < 0)
      log_warn("msg=\"cannot remove pod directory\" dir=%s err=\"%s\"", dirs[i], err.msg);
    berr_clear(&err);
  }
  log_info("msg=\"pod removed\" pod=%s/%s uid=%s", p->ns, p->name, p->uid);
}

/* ---- deletion -------------------------------------------------------------------------- */

static int64_t grace_of(pod_t *p, json_t *obj)
{
  json_t *md = json_object_get(obj, "metadata");
  json_t *g = json_object_get(md, "deletionGracePeriodSeconds");
  if (!json_is_integer(g))
    g = json_object_get(json_object_get(obj, "spec"), "terminationGracePeriodSeconds");
  if (!json_is_integer(g))
    g = json_object_get(p->spec, "terminationGracePeriodSeconds");
  int64_t s = json_is_integer(g) ? json_integer_value(g) : DEFAULT_GRACE_S;
  return s < 0 ? 0 : s;
}

static void begin_deletion(pod_mgr_t *m, pod_t *p, json_t *obj)
{
  int64_t grace = grace_of(p, obj);
  if (p->deleting) { /* a second delete may shorten the grace period */
    int64_t t = time_mono_ns() + grace * SEC_NS;
    if (p->term_sent && t < p->kill_mono) {
      p->kill_mono = t;
      pod_wake_at(m, p, t);
    }
    return;
  }
  p->deleting = true;
  p->grace_s = grace;
  pthread_mutex_lock(&m->lock);
  p->inactive = true;
  pthread_mutex_unlock(&m->lock);
  json_t *md = json_object_get(p->obj, "metadata"), *nmd = json_object_get(obj, "metadata");
  const char *keys[] = { "deletionTimestamp", "deletionGracePeriodSeconds" };
  for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
    if (json_object_get(nmd, keys[i]))
      json_object_set(md, keys[i], json_object_get(nmd, keys[i]));
  berr_t err = BERR_INIT;
  if (p->set_up && pod_save(p, &err) < 0)
    log_warn("msg=\"cannot save pod\" err=\"%s\"", err.msg);
  berr_clear(&err);
}

/* True when the process at pid runs a program of its own: the engine's
 * launcher is a fork of this process until it executes the container's
 * (and until then, as pid 1 of its namespace, ignores SIGTERM). */
static bool execd(pid_t pid)
{
  char self[PATH_MAX], other[PATH_MAX], path[64];
  snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
  ssize_t a = readlink("/proc/self/exe", self, sizeof self - 1);
  ssize_t b = readlink(path, other, sizeof other - 1);
  if (a <= 0 || b <= 0)
    return true; /* gone, or unknown: nothing to wait for */
  self[a] = other[b] = '\0';
  return strcmp(self, other) != 0;
}

static bool all_execd(pod_mgr_t *m, pod_t *p)
{
  for (size_t i = 0; i < p->n_ctrs; i++) {
    pod_ctr_t *c = &p->ctrs[i];
    if (!c->id || c->st != CTR_RUNNING)
      continue;
    engine_info info;
    if (engine_info_get(m->eng, c->id, &info, NULL) < 0)
      continue;
    bool ok = !info.pid || execd(info.pid);
    engine_info_clear(&info);
    if (!ok)
      return false;
  }
  return true;
}

static void delete_step(pod_mgr_t *m, pod_t *p)
{
  for (size_t i = 0; i < p->n_ctrs; i++)
    observe(m, p, &p->ctrs[i]);
  int64_t now = time_mono_ns();
  if (!p->term_sent && p->grace_s && (!p->settle_mono || now < p->settle_mono)
      && !all_execd(m, p)) {
    /* A signal must not reach a container still between start and exec:
     * its pid 1 would drop it. Only milliseconds, bounded anyway. */
    if (!p->settle_mono)
      p->settle_mono = now + SETTLE_MAX_NS;
    pod_wake_at(m, p, now + SETTLE_POLL_NS);
    return;
  }
  if (!p->term_sent) {
    p->term_sent = true;
    p->kill_mono = now + p->grace_s * SEC_NS;
    for (size_t i = 0; i < p->n_ctrs; i++) {
      pod_ctr_t *c = &p->ctrs[i];
      c->backing_off = false; /* nothing restarts any more */
      if (!c->id || c->st != CTR_RUNNING)
        continue;
      engine_info info;
      int sig = SIGTERM;
      if (engine_info_get(m->eng, c->id, &info, NULL) == 0) {
        sig = info.stop_signal;
        engine_info_clear(&info);
      }
      pod_event(m, p, "Normal", "Killing", "Stopping container %s", c->name);
      berr_t err = BERR_INIT;
      if (engine_kill(m->eng, c->id, p->grace_s ? sig : SIGKILL, &err) < 0 && err.code != ESRCH)
        log_warn("msg=\"cannot signal container\" id=%.12s err=\"%s\"", c->id, err.msg);
      berr_clear(&err);
    }
    if (!p->grace_s)
      p->kill_sent = true;
    pod_wake_at(m, p, p->kill_mono);
  }
  bool running = false;
  for (size_t i = 0; i < p->n_ctrs; i++)
    running |= p->ctrs[i].id && p->ctrs[i].st == CTR_RUNNING;
  if (running) {
    if (now >= p->kill_mono && !p->kill_sent) {
      p->kill_sent = true;
      log_info("msg=\"grace period over, killing\" pod=%s/%s grace=%llds", p->ns, p->name,
               (long long)p->grace_s);
      for (size_t i = 0; i < p->n_ctrs; i++)
        if (p->ctrs[i].id && p->ctrs[i].st == CTR_RUNNING)
          engine_kill(m->eng, p->ctrs[i].id, SIGKILL, NULL);
    }
    if (p->kill_sent) /* in case an exit goes unnoticed */
      pod_wake_at(m, p, now + 2 * SEC_NS);
    pod_status_report(m, p);
    return;
  }
  pod_status_report(m, p);
  tear_down(m, p);
  pod_remove(m, p);
  if (m->o.on_terminated)
    m->o.on_terminated(m->o.arg, p->ns, p->name, p->uid);
}

/* ---- one pass ---------------------------------------------------------------------------- */

void pod_reconcile(pod_mgr_t *m, pod_t *p)
{
  pthread_mutex_lock(&m->lock);
  json_t *pending = p->pending;
  p->pending = NULL;
  bool forget = p->forget;
  pthread_mutex_unlock(&m->lock);

  if (forget) {
    json_decref(pending);
    tear_down(m, p);
    pod_remove(m, p);
    return;
  }
  if (pending
      || (!p->deleting && json_str(json_object_get(p->obj, "metadata"), "deletionTimestamp"))) {
    begin_deletion(m, p, pending ? pending : p->obj);
    json_decref(pending);
  }
  if (p->deleting) {
    delete_step(m, p);
    return;
  }

  if (!set_up(m, p)) {
    pod_status_report(m, p);
    return;
  }
  for (size_t i = 0; i < p->n_ctrs; i++) {
    pod_ctr_t *c = &p->ctrs[i];
    observe(m, p, c);
    if (c->st == CTR_EXITED && !c->exit_handled)
      handle_exit(m, p, c);
  }
  bool evicted = pod_evict_step(m, p);
  if (!p->terminal && !evicted && run_init(m, p))
    for (size_t i = p->n_init; i < p->n_ctrs; i++)
      run_ctr(m, p, &p->ctrs[i]);
  if (!p->terminal && !evicted)
    pod_probes_step(m, p);
  pod_status_report(m, p);

  if (!p->terminal && pod_phase_terminal(p->phase)) {
    /* Finished: nothing restarts; sidecars stop; the address goes back. */
    p->terminal = true;
    pthread_mutex_lock(&m->lock);
    p->inactive = true;
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < p->n_init; i++)
      if (p->ctrs[i].sidecar && p->ctrs[i].id && p->ctrs[i].st == CTR_RUNNING)
        engine_kill(m->eng, p->ctrs[i].id, SIGTERM, NULL);
    berr_t err = BERR_INIT;
    if (pod_sandbox_down(m, p, &err) < 0)
      log_warn("msg=\"cannot remove pod sandbox\" pod=%s/%s err=\"%s\"", p->ns, p->name, err.msg);
    berr_clear(&err);
    if (pod_save(p, &err) < 0)
      log_warn("msg=\"cannot save pod\" err=\"%s\"", err.msg);
    berr_clear(&err);
    pod_status_report(m, p);
    log_info("msg=\"pod finished\" pod=%s/%s phase=%s", p->ns, p->name, p->phase);
  }
}
