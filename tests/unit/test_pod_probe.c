/* test_pod_probe.c — the rules behind probes and eviction, without
 * containers: probe defaults, how results count against the thresholds
 * (the worker's half, pod_probe.c, fed results by hand), the eviction
 * order and message (pod_evict.c), and --eviction-hard (agent_evict.c).
 * The real thing, containers and kubectl included, is tests/e2e/t_probes.sh. */
#include "agent/agent_internal.h"
#include "agent/pod_internal.h"

#include <criterion/criterion.h>
#include <string.h>

static json_t *J(const char *text)
{
  json_error_t e;
  json_t *j = json_loads(text, 0, &e);
  cr_assert_not_null(j, "bad JSON in test: %s: %s", e.text, text);
  return j;
}

/* ---- probe defaults ------------------------------------------------------------------ */

Test(pod_probe, defaults)
{
  json_t *none = J("{}");
  cr_assert_eq(pod_probe_int(none, "periodSeconds"), 10);
  cr_assert_eq(pod_probe_int(none, "timeoutSeconds"), 1);
  cr_assert_eq(pod_probe_int(none, "successThreshold"), 1);
  cr_assert_eq(pod_probe_int(none, "failureThreshold"), 3);
  cr_assert_eq(pod_probe_int(none, "initialDelaySeconds"), 0);
  json_t *set = J("{\"periodSeconds\":2,\"failureThreshold\":0,\"initialDelaySeconds\":-4}");
  cr_assert_eq(pod_probe_int(set, "periodSeconds"), 2);
  cr_assert_eq(pod_probe_int(set, "failureThreshold"), 3, "0 is the default, as in Kubernetes");
  cr_assert_eq(pod_probe_int(set, "initialDelaySeconds"), 0);
  json_decref(none);
  json_decref(set);
}

/* ---- results against thresholds ------------------------------------------------------ */

static json_t *events; /* "type reason message" */

static void on_event(void *arg, json_t *pod, const char *type, const char *reason,
                     const char *message)
{
  json_array_append_new(events, json_sprintf("%s %s %s", type, reason, message));
}

static struct {
  pod_mgr_t m;
  pod_t p;
} F;

/* A manager and a pod whose only container runs: enough for the worker's
 * half of probes. Probes never come due (initialDelaySeconds is long), so
 * nothing is handed to the prober: results are put in by hand. */
static pod_ctr_t *fixture(const char *ctr_json)
{
  memset(&F, 0, sizeof F);
  events = json_array();
  F.m.efd = -1;
  F.m.o.on_event = on_event;
  pthread_mutex_init(&F.m.lock, NULL);
  pthread_mutex_init(&F.p.mu, NULL);
  F.p.uid = xstrdup("u1");
  F.p.ns = xstrdup("default");
  F.p.name = xstrdup("p");
  cleanup_free char *spec = xasprintf("{\"spec\":{\"containers\":[%s]}}", ctr_json);
  F.p.obj = J(spec);
  F.p.spec = json_object_get(F.p.obj, "spec");
  F.p.conds = json_object();
  pod_ctrs_init(&F.p);
  pod_ctr_t *c = &F.p.ctrs[0];
  c->st = CTR_RUNNING;
  c->id = xstrdup("0123456789abcdef");
  c->started_ns = time_now_ns();
  pod_probes_step(&F.m, &F.p); /* a new run: the probe state starts */
  cr_assert_str_eq(c->probed_id, c->id);
  return c;
}

static void fixture_free(void)
{
  pthread_mutex_destroy(&F.m.lock);
  /* pod_free destroys the pod's own mutex */
  pod_t *p = xmalloc(sizeof *p);
  *p = F.p;
  pod_free(p);
  json_decref(events);
}

static void result(pod_ctr_t *c, probe_kind k, uint64_t gen, bool ok, const char *out)
{
  probe_job_t *j = xcalloc(1, sizeof *j);
  j->uid = xstrdup("u1");
  j->ctr = (size_t)(c - F.p.ctrs);
  j->kind = k;
  j->gen = gen;
  j->ok = ok;
  j->output = out ? xstrdup(out) : NULL;
  j->next = F.p.probe_results;
  F.p.probe_results = j;
  c->probes[k].in_flight = true;
}

static const char *last_event(void)
{
  return json_string_value(json_array_get(events, json_array_size(events) - 1));
}

Test(pod_probe, readiness_thresholds)
{
  pod_ctr_t *c = fixture("{\"name\":\"c\",\"readinessProbe\":{\"exec\":{\"command\":[\"true\"]},"
                         "\"initialDelaySeconds\":1000,\"successThreshold\":2,"
                         "\"failureThreshold\":2}}");
  cr_assert(pod_ctr_started(c), "no startup probe: started once running");
  cr_assert_not(pod_ctr_ready(c), "not ready before a success");
  uint64_t gen = c->probe_gen;
  result(c, PROBE_READINESS, gen, true, NULL);
  pod_probes_step(&F.m, &F.p);
  cr_assert_not(pod_ctr_ready(c), "one success of two");
  cr_assert_not(c->probes[PROBE_READINESS].in_flight);
  result(c, PROBE_READINESS, gen, true, NULL);
  pod_probes_step(&F.m, &F.p);
  cr_assert(pod_ctr_ready(c), "two successes");
  result(c, PROBE_READINESS, gen, false, "HTTP probe failed with statuscode: 500");
  pod_probes_step(&F.m, &F.p);
  cr_assert(pod_ctr_ready(c), "one failure of two");
  cr_assert_str_eq(
      last_event(),
      "Warning Unhealthy Readiness probe failed: HTTP probe failed with statuscode: 500");
  result(c, PROBE_READINESS, gen, false, "again");
  pod_probes_step(&F.m, &F.p);
  cr_assert_not(pod_ctr_ready(c), "two failures");
  /* Two results in one pass count in the order they came. */
  result(c, PROBE_READINESS, gen, true, NULL);
  result(c, PROBE_READINESS, gen, true, NULL);
  pod_probes_step(&F.m, &F.p);
  cr_assert(pod_ctr_ready(c));
  /* A result for an earlier run is dropped. */
  result(c, PROBE_READINESS, gen - 1, false, "stale");
  result(c, PROBE_READINESS, gen - 1, false, "stale");
  pod_probes_step(&F.m, &F.p);
  cr_assert(pod_ctr_ready(c));
  cr_assert_str_eq(last_event(), "Warning Unhealthy Readiness probe failed: again");
  /* The run ends: its state goes, and a new run starts from scratch. */
  c->st = CTR_EXITED;
  pod_probes_step(&F.m, &F.p);
  cr_assert_null(c->probed_id);
  cr_assert_not(pod_ctr_ready(c));
  c->st = CTR_RUNNING;
  free(c->id);
  c->id = xstrdup("fedcba9876543210");
  pod_probes_step(&F.m, &F.p);
  cr_assert_gt(c->probe_gen, gen);
  cr_assert_not(pod_ctr_ready(c), "a new run is not ready before its probe succeeds");
  fixture_free();
}

Test(pod_probe, startup_gates_the_others)
{
  pod_ctr_t *c
      = fixture("{\"name\":\"c\",\"startupProbe\":{\"exec\":{\"command\":[\"true\"]},"
                "\"initialDelaySeconds\":1000},\"readinessProbe\":{\"tcpSocket\":{\"port\":80},"
                "\"initialDelaySeconds\":1000}}");
  cr_assert_not(pod_ctr_started(c), "the startup probe has not succeeded");
  cr_assert_not(pod_ctr_ready(c));
  result(c, PROBE_STARTUP, c->probe_gen, false, "not yet");
  pod_probes_step(&F.m, &F.p);
  cr_assert_not(pod_ctr_started(c));
  cr_assert_str_eq(last_event(), "Warning Unhealthy Startup probe failed: not yet");
  result(c, PROBE_STARTUP, c->probe_gen, true, NULL);
  pod_probes_step(&F.m, &F.p);
  cr_assert(pod_ctr_started(c));
  cr_assert_not(pod_ctr_ready(c), "started, but readiness has not succeeded yet");
  result(c, PROBE_READINESS, c->probe_gen, true, NULL);
  pod_probes_step(&F.m, &F.p);
  cr_assert(pod_ctr_ready(c));
  fixture_free();
}

Test(pod_probe, grpc_is_reported_and_ignored)
{
  pod_ctr_t *c = fixture("{\"name\":\"c\",\"readinessProbe\":{\"grpc\":{\"port\":9090}}}");
  cr_assert(pod_ctr_ready(c), "as if it had no readiness probe");
  cr_assert_str_eq(last_event(),
                   "Warning ProbeNotSupported Readiness probe of container c is not run: berth "
                   "does not support gRPC probes (the container is treated as if it had none)");
  fixture_free();
}

/* ---- eviction order and message -------------------------------------------------------- */

static pod_usage_t pu(const char *name, const char *qos, int64_t prio, int64_t usage,
                      int64_t request, bool evictable)
{
  return (pod_usage_t){ .uid = xstrdup(name),
                        .name = xstrdup(name),
                        .ns = xstrdup("default"),
                        .qos = qos,
                        .priority = prio,
                        .usage = usage,
                        .request = request,
                        .evictable = evictable };
}

#define MI (1024LL * 1024)

Test(pod_evict, kubelet_order)
{
  pod_usage_t *v = xcalloc(7, sizeof *v);
  v[0] = pu("guaranteed-within", "Guaranteed", 0, 10 * MI, 50 * MI, true);
  v[1] = pu("best-effort-small", "BestEffort", 0, 5 * MI, 0, true);
  v[2] = pu("burstable-over-high-prio", "Burstable", 1000, 200 * MI, 10 * MI, true);
  v[3] = pu("best-effort-big", "BestEffort", 0, 120 * MI, 0, true);
  v[4] = pu("burstable-within", "Burstable", -5, 10 * MI, 20 * MI, true);
  v[5] = pu("finished", "BestEffort", -100, 500 * MI, 0, false);
  v[6] = pu("best-effort-idle", "BestEffort", 0, 0, 0, true);
  pod_evict_rank(v, 7);
  const char *want[] = { "best-effort-big",  "best-effort-small", "burstable-over-high-prio",
                         "burstable-within", "best-effort-idle",  "guaranteed-within",
                         "finished" };
  for (int i = 0; i < 7; i++)
    cr_assert_str_eq(v[i].name, want[i], "position %d", i);
  pod_usages_free(v, 7);
}

Test(pod_evict, message)
{
  pod_usage_t u = pu("hog", "BestEffort", 0, 130 * MI, 0, true);
  pod_usage_ctr_t ctrs[] = { { .name = "c", .usage = 120 * MI },
                             { .name = "quiet", .usage = MI, .request = 2 * MI },
                             { .name = "odd", .usage = 9 * MI + 512 * 1024, .request = 0 } };
  u.ctrs = ctrs;
  u.n_ctrs = 3;
  cleanup_free char *m = pod_evict_message(&u, 100 * MI, 80 * MI);
  cr_assert_str_eq(m, "The node was low on resource: memory. Threshold quantity: 100Mi, available: "
                      "80Mi. Container c was using 120Mi, request is 0, has larger consumption of "
                      "memory. Container odd was using 9728Ki, request is 0, has larger "
                      "consumption of memory.");
  u.ctrs = NULL;
  u.n_ctrs = 0;
  free(u.uid);
  free(u.name);
  free(u.ns);
}

/* ---- --eviction-hard ------------------------------------------------------------------- */

Test(agent_evict, eviction_hard)
{
  int64_t b;
  int pct;
  berr_t err = BERR_INIT;
  cr_assert_eq(agent_parse_eviction_hard("memory.available<100Mi", &b, &pct, &err), 0, "%s",
               err.msg);
  cr_assert_eq(b, 100 * MI);
  cr_assert_eq(pct, 0);
  cr_assert_eq(agent_parse_eviction_hard("memory.available<1G", &b, &pct, &err), 0);
  cr_assert_eq(b, 1000000000);
  cr_assert_eq(agent_parse_eviction_hard("memory.available<10%", &b, &pct, &err), 0);
  cr_assert_eq(pct, 10);
  cr_assert_eq(b, 0);
  const char *bad[] = { "nodefs.available<10%",  "memory.available>100Mi", "memory.available<",
                        "memory.available<lots", "memory.available<0",     "memory.available<100%",
                        "memory.available<-1Mi" };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    cr_assert_eq(agent_parse_eviction_hard(bad[i], &b, &pct, &err), -1, "%s", bad[i]);
    cr_assert(strstr(err.msg, "invalid eviction threshold"), "%s", err.msg);
    cr_assert(strstr(err.msg, bad[i]), "%s", err.msg);
    berr_clear(&err);
  }
}
