/* test_pod.c — the agent's pod manager (src/agent/pod.h), its pure helpers:
 * back-off, QoS class, phase rules, names, and the engine options and
 * OCI config a pod's containers get. Real pods with real containers are in
 * test_pod_run.c. */
#include "agent/pod_internal.h"
#include "api/api.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* ---- pure helpers -------------------------------------------------------------------- */

static json_t *J(const char *text)
{
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  cr_assert_not_null(j, "bad JSON in test: %s: %s", je.text, text);
  return j;
}

Test(pod, backoff_series)
{
  int64_t want[] = { 10000, 20000, 40000, 80000, 160000, 300000, 300000, 300000 };
  for (int n = 1; n <= 8; n++)
    cr_assert_eq(pod_backoff_ms(10000, 300000, n), want[n - 1], "restart %d", n);
  cr_assert_eq(pod_backoff_ms(100, 1000, 1), 100);
  cr_assert_eq(pod_backoff_ms(100, 1000, 5), 1000);
  cr_assert_eq(pod_backoff_ms(10000, 300000, 1000), 300000, "no overflow");
}

Test(pod, qos_classes)
{
  struct {
    const char *spec, *want;
  } cases[] = {
    { "{\"containers\":[{\"name\":\"a\"}]}", "BestEffort" },
    { "{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"100m\"}}}]}",
      "Burstable" },
    { "{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":"
      "\"64Mi\"}}}]}",
      "Guaranteed" },
    { "{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":"
      "\"64Mi\"},\"requests\":{\"cpu\":\"500m\",\"memory\":\"64Mi\"}}}]}",
      "Burstable" },
    { "{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":"
      "\"64Mi\"}}},{\"name\":\"b\"}]}",
      "Burstable" },
    { "{\"initContainers\":[{\"name\":\"i\",\"resources\":{\"limits\":{\"memory\":\"1Gi\"}}}],"
      "\"containers\":[{\"name\":\"a\"}]}",
      "Burstable" },
    { "{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"0\"}}}]}",
      "BestEffort" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    json_t *spec = J(cases[i].spec);
    cr_assert_str_eq(api_pod_qos_class(spec), cases[i].want, "%s", cases[i].spec);
    json_decref(spec);
  }
}

static const char *phase_of(const char *spec, const char *inits, const char *ctrs)
{
  json_t *s = J(spec), *i = J(inits), *c = J(ctrs);
  const char *p = pod_phase(s, i, c);
  json_decref(s);
  json_decref(i);
  json_decref(c);
  return p;
}

#define RUNNING(n)   "{\"name\":\"" n "\",\"state\":{\"running\":{}}}"
#define WAITING(n)   "{\"name\":\"" n "\",\"state\":{\"waiting\":{\"reason\":\"X\"}}}"
#define EXITED(n, c) "{\"name\":\"" n "\",\"state\":{\"terminated\":{\"exitCode\":" #c "}}}"
#define CRASHED(n, c)                                                                              \
  "{\"name\":\"" n "\",\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},"                 \
  "\"lastState\":{\"terminated\":{\"exitCode\":" #c "}}}"

Test(pod, phase_rules)
{
  const char *one = "{\"containers\":[{\"name\":\"a\"}]}";
  const char *never = "{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"a\"}]}";
  const char *onfail = "{\"restartPolicy\":\"OnFailure\",\"containers\":[{\"name\":\"a\"}]}";
  cr_assert_str_eq(phase_of(one, "[]", "[]"), "Pending");
  cr_assert_str_eq(phase_of(one, "[]", "[" WAITING("a") "]"), "Pending");
  cr_assert_str_eq(phase_of(one, "[]", "[" RUNNING("a") "]"), "Running");
  cr_assert_str_eq(phase_of(one, "[]", "[" CRASHED("a", 3) "]"), "Running",
                   "a crash-looping container keeps the pod Running");
  cr_assert_str_eq(phase_of(one, "[]", "[" EXITED("a", 0) "]"), "Running", "Always restarts");
  cr_assert_str_eq(phase_of(never, "[]", "[" EXITED("a", 0) "]"), "Succeeded");
  cr_assert_str_eq(phase_of(never, "[]", "[" EXITED("a", 1) "]"), "Failed");
  cr_assert_str_eq(phase_of(onfail, "[]", "[" EXITED("a", 0) "]"), "Succeeded");
  cr_assert_str_eq(phase_of(onfail, "[]", "[" EXITED("a", 1) "]"), "Running");
  const char *two = "{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"a\"},{\"name\":"
                    "\"b\"}]}";
  cr_assert_str_eq(phase_of(two, "[]", "[" EXITED("a", 0) "," RUNNING("b") "]"), "Running");
  cr_assert_str_eq(phase_of(two, "[]", "[" EXITED("a", 0) "," EXITED("b", 2) "]"), "Failed");
  cr_assert_str_eq(phase_of(two, "[]", "[" RUNNING("a") "]"), "Pending", "b unknown");

  const char *init = "{\"restartPolicy\":\"Never\",\"initContainers\":[{\"name\":\"i\"}],"
                     "\"containers\":[{\"name\":\"a\"}]}";
  cr_assert_str_eq(phase_of(init, "[" RUNNING("i") "]", "[" WAITING("a") "]"), "Pending");
  cr_assert_str_eq(phase_of(init, "[" EXITED("i", 1) "]", "[" WAITING("a") "]"), "Failed");
  cr_assert_str_eq(phase_of(init, "[" EXITED("i", 0) "]", "[" RUNNING("a") "]"), "Running");
  const char *init_always = "{\"initContainers\":[{\"name\":\"i\"}],"
                            "\"containers\":[{\"name\":\"a\"}]}";
  cr_assert_str_eq(phase_of(init_always, "[" CRASHED("i", 1) "]", "[" WAITING("a") "]"), "Pending",
                   "a failing init container is retried");
}

Test(pod, expand_and_names)
{
  char *env[] = { "A=1", "B=two", NULL };
  struct {
    const char *in, *out;
  } cases[] = { { "$(A)-$(B)", "1-two" }, { "$$(A)", "$(A)" }, { "$(C)", "$(C)" },
                { "x$", "x$" },           { "$(A", "$(A" },    { "a$b", "a$b" } };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    char *s = pod_expand(cases[i].in, env);
    cr_assert_str_eq(s, cases[i].out, "%s", cases[i].in);
    free(s);
  }
  char name[300];
  memset(name, 'p', 253);
  name[253] = '\0';
  pod_t p = { .name = name, .ns = "default", .uid = "0123456789abcdef" };
  char *n = pod_engine_name(&p, "web", 12);
  cr_assert_leq(strlen(n), 128);
  cr_assert(str_has_prefix(n, "k8s_web_ppp"), "%s", n);
  cr_assert(str_has_suffix(n, "_default_01234567_12"), "%s", n);
  cr_assert_eq(engine_name_check(n, NULL), 0);
  free(n);
  p.name = "web-1";
  n = pod_engine_name(&p, "app", 0);
  cr_assert_str_eq(n, "k8s_app_web-1_default_01234567_0");
  free(n);
}

/* The engine's options for a pod's containers, in the OCI config. */
Test(pod, engine_config_for_pods)
{
  json_t *labels = J("{\"berth.pod.uid\":\"u1\",\"x\":\"y\"}");
  engine_create_opts o = { .image = "busybox",
                           .cmd = (char *[]){ "sleep", "1", NULL },
                           .hostname = "web",
                           .netns = "/r/pods/u1/ns/net",
                           .ipcns = "/r/pods/u1/ns/ipc",
                           .utsns = "/r/pods/u1/ns/uts",
                           .cgroup_parent = "berth-pods/podu1",
                           .cpu_shares = 102,
                           .labels = labels };
  const char *id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  json_t *oci = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(engine_build_config(NULL, NULL, &o, id, "/b", NULL, &oci, &err), 0, "%s", err.msg);
  cr_assert_null(json_object_get(oci, "hostname"), "a joined uts namespace keeps its hostname");
  json_t *lnx = json_object_get(oci, "linux");
  char *cg = xasprintf("/berth-pods/podu1/%s", id);
  cr_assert_str_eq(json_str(lnx, "cgroupsPath"), cg);
  free(cg);
  cr_assert_eq(json_int(json_object_get(json_object_get(lnx, "resources"), "cpu"), "shares", 0),
               102);
  size_t i;
  json_t *n;
  int joined = 0;
  json_array_foreach(json_object_get(lnx, "namespaces"), i, n)
  {
    const char *t = json_str(n, "type"), *path = json_str(n, "path");
    if (!strcmp(t, "network"))
      cr_assert_str_eq(path, "/r/pods/u1/ns/net");
    else if (!strcmp(t, "ipc"))
      cr_assert_str_eq(path, "/r/pods/u1/ns/ipc");
    else if (!strcmp(t, "uts"))
      cr_assert_str_eq(path, "/r/pods/u1/ns/uts");
    else
      cr_assert_null(path, "%s namespace is the container's own", t);
    joined += path != NULL;
  }
  cr_assert_eq(joined, 3);
  bool hn = false;
  json_array_foreach(json_object_get(json_object_get(oci, "process"), "env"), i, n) hn
      |= !strcmp(json_string_value(n), "HOSTNAME=web");
  cr_assert(hn, "HOSTNAME is the pod's");
  json_decref(oci);

  /* hostNetwork: no network namespace at all (the host's) */
  o.host_network = true;
  cr_assert_eq(engine_build_config(NULL, NULL, &o, id, "/b", NULL, &oci, &err), 0, "%s", err.msg);
  json_array_foreach(json_object_get(json_object_get(oci, "linux"), "namespaces"), i, n)
      cr_assert_str_neq(json_str(n, "type"), "network");
  json_decref(oci);

  o.cgroup_parent = "../etc";
  cr_assert_lt(engine_build_config(NULL, NULL, &o, id, "/b", NULL, &oci, &err), 0);
  cr_assert_str_eq(err.msg, "invalid cgroup parent \"../etc\"");
  berr_clear(&err);
  o.cgroup_parent = NULL;
  o.cpu_shares = 1;
  cr_assert_lt(engine_build_config(NULL, NULL, &o, id, "/b", NULL, &oci, &err), 0);
  cr_assert(strstr(err.msg, "cpu shares 1 out of range"), "%s", err.msg);
  berr_clear(&err);
  json_decref(labels);
}

Test(pod, resources_to_engine)
{
  json_t *c = J("{\"resources\":{\"limits\":{\"memory\":\"64Mi\",\"cpu\":\"500m\"},"
                "\"requests\":{\"cpu\":\"250m\"}}}");
  int64_t mem, nano, shares;
  pod_ctr_resources(c, &mem, &nano, &shares);
  cr_assert_eq(mem, 64 << 20);
  cr_assert_eq(nano, 500000000);
  cr_assert_eq(shares, 256);
  json_decref(c);
  c = J("{}");
  pod_ctr_resources(c, &mem, &nano, &shares);
  cr_assert_eq(mem, 0);
  cr_assert_eq(nano, 0);
  cr_assert_eq(shares, 2, "BestEffort gets the minimum");
  json_decref(c);
  c = J("{\"resources\":{\"limits\":{\"cpu\":\"2\"}}}");
  pod_ctr_resources(c, &mem, &nano, &shares);
  cr_assert_eq(shares, 2048, "the request defaults to the limit");
  json_decref(c);
}
