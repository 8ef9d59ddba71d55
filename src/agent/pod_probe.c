/* pod_probe.c — liveness, readiness and startup probes, the worker's half:
 * what the kubelet's probe workers decide, done in the pod's own pass
 * instead of a goroutine per probe.
 *
 * Each probe of a container's current run has a due time; a pass hands the
 * due ones to the prober (pod_prober.c), which runs them in the background
 * and queues the pod again with the result; the next pass counts results
 * against the thresholds and acts:
 *
 *   startup    gates the other two: until it has succeeded, liveness and
 *              readiness do not run and the container is not started
 *              (containerStatuses[].started false); failureThreshold
 *              failures in a row restart the container
 *   liveness   failureThreshold failures in a row: event Killing, the
 *              container gets its stop signal and, after the grace period
 *              (the probe's terminationGracePeriodSeconds, else the pod's),
 *              SIGKILL; its exit is then handled like any other (restart by
 *              restartPolicy, with the back-off, restartCount + 1)
 *   readiness  containerStatuses[].ready: true after successThreshold
 *              successes in a row, false after failureThreshold failures
 *
 * Every failed run is a Warning event Unhealthy "Liveness probe failed:
 * OUTPUT". A new run of the container starts its probes afresh (after
 * initialDelaySeconds from its start); results for an older run are
 * dropped (probe_gen). gRPC probes are not run: an event says so once per
 * run and the container is treated as if it had no such probe. */
#include "agent/pod_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SEC_NS          1000000000LL
#define DEFAULT_GRACE_S 30
/* The kubelet's User-Agent for its probes, with its minor version. */
#define PROBE_USER_AGENT "kube-probe/1.33"

static const char *const kind_key[PROBE_KINDS]
    = { "startupProbe", "livenessProbe", "readinessProbe" };
static const char *const kind_word[PROBE_KINDS] = { "Startup", "Liveness", "Readiness" };

void probe_job_free(probe_job_t *j)
{
  if (!j)
    return;
  free(j->uid);
  free(j->engine_id);
  strv_free(j->command);
  free(j->url);
  free(j->addr);
  strv_free(j->headers);
  buf_free(&j->body);
  free(j->errbuf);
  free(j->output);
  free(j);
}

int64_t pod_probe_int(json_t *probe, const char *key)
{
  json_t *v = json_object_get(probe, key);
  int64_t n = json_is_integer(v) ? json_integer_value(v) : 0;
  if (!strcmp(key, "initialDelaySeconds"))
    return n > 0 ? n : 0;
  if (n > 0)
    return n;
  if (!strcmp(key, "periodSeconds"))
    return 10;
  if (!strcmp(key, "failureThreshold"))
    return 3;
  return 1; /* timeoutSeconds, successThreshold */
}

static probe_handler handler_of(json_t *probe)
{
  if (json_is_object(json_object_get(probe, "exec")))
    return PH_EXEC;
  if (json_is_object(json_object_get(probe, "httpGet")))
    return PH_HTTP;
  if (json_is_object(json_object_get(probe, "tcpSocket")))
    return PH_TCP;
  if (json_is_object(json_object_get(probe, "grpc")))
    return PH_GRPC;
  return PH_NONE;
}

/* A probe that runs: one berth can run, of a container that may have one. */
static bool runs(const ctr_probe_t *pr)
{
  return pr->spec && pr->handler != PH_NONE && pr->handler != PH_GRPC;
}

void pod_probes_init(pod_ctr_t *c)
{
  for (int k = 0; k < PROBE_KINDS; k++) {
    ctr_probe_t *pr = &c->probes[k];
    json_t *spec = json_object_get(c->spec, kind_key[k]);
    /* Init containers that are not sidecars have none (the API server
     * refuses them). */
    pr->spec = json_is_object(spec) && (!c->init || c->sidecar) ? spec : NULL;
    pr->handler = handler_of(pr->spec);
    pr->result = -1;
  }
}

void pod_probes_reset(pod_ctr_t *c)
{
  free(c->probed_id);
  c->probed_id = NULL;
  c->probe_gen++;
  for (int k = 0; k < PROBE_KINDS; k++) {
    ctr_probe_t *pr = &c->probes[k];
    pr->in_flight = false;
    pr->successes = pr->failures = 0;
    pr->result = -1;
    pr->next_mono = 0;
  }
  c->probe_kill = c->probe_kill_sent = false;
  c->probe_kill_mono = 0;
}

/* The probe state is about the current run (a run that just began has
 * none yet: pod_probes_step starts it). */
static bool current(const pod_ctr_t *c)
{
  return c->id && c->probed_id && !strcmp(c->id, c->probed_id);
}

bool pod_ctr_started(pod_ctr_t *c)
{
  if (c->st != CTR_RUNNING)
    return false;
  const ctr_probe_t *s = &c->probes[PROBE_STARTUP];
  return !runs(s) || (current(c) && s->result == 1);
}

bool pod_ctr_ready(pod_ctr_t *c)
{
  if (!pod_ctr_started(c))
    return false;
  const ctr_probe_t *r = &c->probes[PROBE_READINESS];
  return !runs(r) || (current(c) && r->result == 1);
}

/* ---- making a probe ---------------------------------------------------------------- */

/* The container's own static environment ("K=V" of env entries with a
 * value), which $(VAR) in an exec probe's command may use, as the
 * kubelet's ExpandContainerCommandOnlyStatic. */
static char **static_env(json_t *ctr)
{
  char **env = xcalloc(1, sizeof *env);
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(ctr, "env"), i, e)
  {
    const char *n = json_str(e, "name"), *v = json_str(e, "value");
    if (n && v && !json_object_get(e, "valueFrom")) {
      cleanup_free char *kv = xasprintf("%s=%s", n, v);
      strv_push(&env, kv);
    }
  }
  return env;
}

/* A port of an httpGet or tcpSocket action: a number, or the name of one
 * of the container's ports (the kubelet's extractPort). */
static int probe_port(json_t *ctr, json_t *port, int *out, char **why)
{
  int64_t n = 0;
  if (json_is_integer(port)) {
    n = json_integer_value(port);
  } else if (json_is_string(port)) {
    const char *name = json_string_value(port);
    size_t i;
    json_t *p;
    bool found = false;
    json_array_foreach(json_object_get(ctr, "ports"), i, p)
    {
      if (!found && !strcmp(json_str(p, "name") ?: "", name)) {
        n = json_int(p, "containerPort", 0);
        found = true;
      }
    }
    if (!found && parse_int64(name, &n, NULL) < 0) {
      *why = xasprintf("couldn't find port: %s in container %s", name, json_str(ctr, "name") ?: "");
      return -1;
    }
  } else {
    *why = xstrdup("the probe has no port");
    return -1;
  }
  if (n <= 0 || n > 65535) {
    *why = xasprintf("invalid port number: %lld", (long long)n);
    return -1;
  }
  *out = (int)n;
  return 0;
}

static bool has_header(json_t *headers, const char *name)
{
  size_t i;
  json_t *h;
  json_array_foreach(headers, i, h) if (!strcasecmp(json_str(h, "name") ?: "", name)) return true;
  return false;
}

/* Fills in what the handler needs; false (with *why) when the probe cannot
 * run, which counts as a failure. */
static bool job_target(pod_t *p, pod_ctr_t *c, ctr_probe_t *pr, probe_job_t *j, char **why)
{
  switch (pr->handler) {
  case PH_EXEC: {
    json_t *cmd = json_object_get(json_object_get(pr->spec, "exec"), "command");
    cleanup_strv char **env = static_env(c->spec);
    j->command = xcalloc(1, sizeof *j->command);
    size_t i;
    json_t *a;
    json_array_foreach(cmd, i, a)
    {
      cleanup_free char *s = pod_expand(json_string_value(a) ?: "", env);
      strv_push(&j->command, s);
    }
    if (!j->command[0]) {
      *why = xstrdup("the exec probe has no command");
      return false;
    }
    j->engine_id = xstrdup(c->id);
    return true;
  }
  case PH_HTTP:
  case PH_TCP: {
    json_t *act = json_object_get(pr->spec, pr->handler == PH_HTTP ? "httpGet" : "tcpSocket");
    const char *host = json_str(act, "host");
    if (!host || !*host)
      host = p->ip;
    if (!host) {
      *why = xstrdup("the pod has no IP address");
      return false;
    }
    int port;
    if (probe_port(c->spec, json_object_get(act, "port"), &port, why) < 0)
      return false;
    j->addr = xasprintf("%s:%d", host, port);
    if (pr->handler == PH_TCP) {
      j->url = xstrdup(j->addr);
      return true;
    }
    const char *scheme = json_str(act, "scheme");
    const char *path = json_str(act, "path");
    if (!path || !*path)
      path = "/";
    j->url = xasprintf("%s://%s:%d%s%s", scheme && !strcasecmp(scheme, "HTTPS") ? "https" : "http",
                       host, port, path[0] == '/' ? "" : "/", path);
    json_t *headers = json_object_get(act, "httpHeaders");
    j->headers = xcalloc(1, sizeof *j->headers);
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h)
    {
      const char *n = json_str(h, "name"), *v = json_str(h, "value");
      if (!n || !*n || strpbrk(n, ":\r\n") || (v && strpbrk(v, "\r\n")))
        continue;
      /* curl drops a header given as "Name:"; "Name;" sends it empty. */
      cleanup_free char *line = v && *v ? xasprintf("%s: %s", n, v) : xasprintf("%s;", n);
      strv_push(&j->headers, line);
    }
    if (!has_header(headers, "User-Agent"))
      strv_push(&j->headers, "User-Agent: " PROBE_USER_AGENT);
    if (!has_header(headers, "Accept"))
      strv_push(&j->headers, "Accept: */*");
    return true;
  }
  default:
    *why = xstrdup("the probe has no handler");
    return false;
  }
}

/* ---- acting on results ----------------------------------------------------------------- */

/* A failed liveness or startup probe: stop the container, SIGKILL after
 * the grace period; its exit restarts it. */
static void kill_for_probe(pod_mgr_t *m, pod_t *p, pod_ctr_t *c, probe_kind k, int64_t now)
{
  json_t *g = json_object_get(c->probes[k].spec, "terminationGracePeriodSeconds");
  if (!json_is_integer(g))
    g = json_object_get(p->spec, "terminationGracePeriodSeconds");
  int64_t grace = json_is_integer(g) ? json_integer_value(g) : DEFAULT_GRACE_S;
  if (grace < 0)
    grace = 0;
  const char *what = k == PROBE_STARTUP ? "startup" : "liveness";
  log_info(
      "msg=\"container failed its %s probe, restarting it\" pod=%s/%s container=%s grace=%llds",
      what, p->ns, p->name, c->name, (long long)grace);
  pod_event(m, p, "Normal", "Killing", "Container %s failed %s probe, will be restarted", c->name,
            what);
  int sig = SIGTERM;
  engine_info info;
  if (grace > 0 && engine_info_get(m->eng, c->id, &info, NULL) == 0) {
    sig = info.stop_signal;
    engine_info_clear(&info);
  }
  c->probe_kill = true;
  c->probe_kill_sent = grace == 0;
  c->probe_kill_mono = now + grace * SEC_NS;
  berr_t err = BERR_INIT;
  if (engine_kill(m->eng, c->id, grace ? sig : SIGKILL, &err) < 0 && err.code != ESRCH)
    log_warn("msg=\"cannot signal container\" id=%.12s err=\"%s\"", c->id, err.msg);
  berr_clear(&err);
  pod_wake_at(m, p, grace ? c->probe_kill_mono : now + 2 * SEC_NS);
}

static void apply(pod_mgr_t *m, pod_t *p, pod_ctr_t *c, probe_kind k, bool ok, const char *output,
                  int64_t now)
{
  ctr_probe_t *pr = &c->probes[k];
  pr->in_flight = false;
  if (c->probe_kill)
    return; /* on its way out: nothing counts any more */
  if (ok) {
    pr->failures = 0;
    pr->successes++;
    if (pr->result != 1 && pr->successes >= pod_probe_int(pr->spec, "successThreshold")) {
      pr->result = 1;
      log_info("msg=\"probe succeeded\" pod=%s/%s container=%s probe=%s", p->ns, p->name, c->name,
               kind_word[k]);
    }
    return;
  }
  pr->successes = 0;
  pr->failures++;
  log_debug("msg=\"probe failed\" pod=%s/%s container=%s probe=%s failures=%d output=\"%s\"", p->ns,
            p->name, c->name, kind_word[k], pr->failures, output ? output : "");
  pod_event(m, p, "Warning", "Unhealthy", "%s probe failed: %s", kind_word[k],
            output ? output : "");
  if (pr->failures < pod_probe_int(pr->spec, "failureThreshold"))
    return;
  if (pr->result != 0)
    log_info("msg=\"probe failed %d times\" pod=%s/%s container=%s probe=%s", pr->failures, p->ns,
             p->name, c->name, kind_word[k]);
  pr->result = 0;
  if (k != PROBE_READINESS)
    kill_for_probe(m, p, c, k, now);
}

/* ---- one step ------------------------------------------------------------------------------ */

static void submit(pod_mgr_t *m, pod_t *p, pod_ctr_t *c, probe_kind k, int64_t now)
{
  ctr_probe_t *pr = &c->probes[k];
  probe_job_t *j = xcalloc(1, sizeof *j);
  j->uid = xstrdup(p->uid);
  j->ctr = (size_t)(c - p->ctrs);
  j->kind = k;
  j->gen = c->probe_gen;
  j->handler = pr->handler;
  j->timeout_ms = pod_probe_int(pr->spec, "timeoutSeconds") * 1000;
  j->answer_fd = j->out_fd = -1;
  pr->in_flight = true;
  pr->next_mono = now + pod_probe_int(pr->spec, "periodSeconds") * SEC_NS;
  cleanup_free char *why = NULL;
  if (!job_target(p, c, pr, j, &why)) {
    probe_job_free(j);
    apply(m, p, c, k, false, why, now);
    return;
  }
  log_debug("msg=\"probe\" pod=%s/%s container=%s probe=%s", p->ns, p->name, c->name, kind_word[k]);
  prober_submit(m, j);
}

/* A new run of c: its probes start afresh, initialDelaySeconds after its
 * start. */
static void new_run(pod_mgr_t *m, pod_t *p, pod_ctr_t *c, int64_t now)
{
  pod_probes_reset(c);
  c->probed_id = xstrdup(c->id);
  int64_t ran = c->started_ns ? time_now_ns() - c->started_ns : 0;
  int64_t start = now - (ran > 0 ? ran : 0);
  for (int k = 0; k < PROBE_KINDS; k++) {
    ctr_probe_t *pr = &c->probes[k];
    pr->next_mono = start + pod_probe_int(pr->spec, "initialDelaySeconds") * SEC_NS;
    if (pr->spec && pr->handler == PH_GRPC)
      pod_event(m, p, "Warning", "ProbeNotSupported",
                "%s probe of container %s is not run: berth does not support gRPC probes (the "
                "container is treated as if it had none)",
                kind_word[k], c->name);
  }
}

static void step_ctr(pod_mgr_t *m, pod_t *p, pod_ctr_t *c, int64_t now)
{
  if (c->st != CTR_RUNNING || !c->id) {
    if (c->probed_id || c->probe_kill)
      pod_probes_reset(c);
    return;
  }
  bool any = false;
  for (int k = 0; k < PROBE_KINDS; k++)
    any |= c->probes[k].spec != NULL;
  if (!any)
    return;
  if (!c->probed_id || strcmp(c->probed_id, c->id))
    new_run(m, p, c, now);
  if (c->probe_kill) {
    if (!c->probe_kill_sent && now >= c->probe_kill_mono) {
      log_info("msg=\"grace period over, killing\" pod=%s/%s container=%s", p->ns, p->name,
               c->name);
      engine_kill(m->eng, c->id, SIGKILL, NULL);
      c->probe_kill_sent = true;
    }
    /* Its exit queues the pod; this only covers an exit that goes unnoticed. */
    pod_wake_at(m, p, c->probe_kill_sent ? now + 2 * SEC_NS : c->probe_kill_mono);
    return;
  }
  int64_t wake = 0;
  for (int k = 0; k < PROBE_KINDS; k++) {
    ctr_probe_t *pr = &c->probes[k];
    if (!runs(pr) || pr->in_flight)
      continue;
    if (k == PROBE_STARTUP ? pr->result == 1 : !pod_ctr_started(c))
      continue; /* startup done for good; the others wait for it */
    if (now >= pr->next_mono) {
      submit(m, p, c, (probe_kind)k, now);
      if (c->probe_kill)
        return;
      if (pr->in_flight)
        continue;
    }
    if (!wake || pr->next_mono < wake)
      wake = pr->next_mono;
  }
  if (wake)
    pod_wake_at(m, p, wake);
}

void pod_probes_step(pod_mgr_t *m, pod_t *p)
{
  pthread_mutex_lock(&m->lock);
  probe_job_t *res = steal_ptr(p->probe_results);
  pthread_mutex_unlock(&m->lock);
  probe_job_t *fifo = NULL; /* oldest first */
  while (res) {
    probe_job_t *n = res->next;
    res->next = fifo;
    fifo = res;
    res = n;
  }
  int64_t now = time_mono_ns();
  while (fifo) {
    probe_job_t *j = fifo;
    fifo = j->next;
    pod_ctr_t *c = j->ctr < p->n_ctrs ? &p->ctrs[j->ctr] : NULL;
    if (c && j->gen == c->probe_gen && c->st == CTR_RUNNING)
      apply(m, p, c, j->kind, j->ok, j->output, now);
    probe_job_free(j);
  }
  for (size_t i = 0; i < p->n_ctrs; i++)
    step_ctr(m, p, &p->ctrs[i], now);
}
