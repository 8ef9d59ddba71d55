/* sched_lib.c — what the scheduler library decides per second, and how long a
 * decision takes, at 5,000 nodes (3 zones) holding 100,000 bound pods: a
 * plain pod (requests only), a pod with a nodeSelector and a toleration, a
 * pod with required anti-affinity by hostname, and a pod with a zone
 * topology spread constraint (DoNotSchedule). One core, no I/O: the
 * decisions sched_next makes, fed as the server feeds it. Not part of
 * berth or of `make test`; from the repo:
 *
 *   gcc -O2 -g -std=gnu11 -Isrc -D_GNU_SOURCE -o /tmp/sched-bench bench/sched_lib.c \
 *       $(find src/base src/api src/sched -name '*.c') $(pkg-config --cflags --libs jansson) \
 *       -ldl -lm -lpthread && /tmp/sched-bench 5000 100000 20000
 *
 * Arguments: nodes (5,000), bound pods (100,000), decisions per kind
 * (20,000; the pods with terms get a tenth). Prints Markdown. */
#include "sched/sched.h"

#include <stdlib.h>
#include <string.h>

static int cmp64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static json_t *node(int i)
{
  char name[32], zone[16];
  snprintf(name, sizeof name, "node-%05d", i);
  snprintf(zone, sizeof zone, "zone-%d", i % 3);
  return json_pack("{s:{s:s, s:{s:s, s:s, s:s, s:s}}, s:{}, s:{s:{s:s, s:s, s:s}, s:[{s:s, "
                   "s:s}]}}",
                   "metadata", "name", name, "labels", "kubernetes.io/hostname", name,
                   "topology.kubernetes.io/zone", zone, "kubernetes.io/os", "linux", "node-role",
                   i % 10 ? "worker" : "infra", "spec", "status", "allocatable", "cpu", "64",
                   "memory", "256Gi", "pods", "250", "conditions", "type", "Ready", "status",
                   "True");
}

static int seq;

static json_t *pod(const char *prefix, int i, const char *app, const char *node_name)
{
  char name[64], uid[80], ts[32];
  snprintf(name, sizeof name, "%s-%d", prefix, i);
  snprintf(uid, sizeof uid, "uid-%s", name);
  snprintf(ts, sizeof ts, "2026-01-01T%02d:%02d:%02dZ", seq / 3600 % 24, seq / 60 % 60, seq % 60);
  seq++;
  json_t *p = json_pack(
      "{s:{s:s, s:s, s:s, s:s, s:{s:s, s:s}}, s:{s:s, s:i, s:[{s:s, s:s, s:{s:{s:s, s:s}}}]}, "
      "s:{s:s}}",
      "metadata", "namespace", "default", "name", name, "uid", uid, "creationTimestamp", ts,
      "labels", "app", app, "pod-template-hash", "5d8f7c9b4", "spec", "schedulerName",
      "default-scheduler", "priority", 0, "containers", "name", "c", "image", "busybox",
      "resources", "requests", "cpu", "100m", "memory", "128Mi", "status", "phase", "Pending");
  if (node_name) {
    json_object_set_new(json_object_get(p, "spec"), "nodeName", json_string(node_name));
    json_object_set_new(json_object_get(p, "status"), "phase", json_string("Running"));
  }
  return p;
}

typedef struct kind {
  const char *name;
  const char *extra; /* merged into spec */
  int share;         /* decisions = n / share */
} kind_t;

static void run(sched_t *s, const kind_t *k, int n)
{
  json_t *extra = k->extra ? json_loads(k->extra, 0, NULL) : NULL;
  for (int i = 0; i < n; i++) {
    json_t *p = pod(k->name, i, k->name, NULL);
    if (extra)
      json_object_update(json_object_get(p, "spec"), extra);
    sched_pod_set(s, p);
    json_decref(p);
  }
  json_decref(extra);
  int64_t *lat = calloc((size_t)n, sizeof *lat);
  int done = 0, failed = 0;
  int64_t t0 = time_mono_ns();
  sched_result_t r;
  while (sched_next(s, &r)) {
    if (done < n)
      lat[done++] = r.decision_ns;
    failed += !r.node;
    sched_result_clear(&r);
  }
  double secs = (double)(time_mono_ns() - t0) / 1e9;
  qsort(lat, (size_t)done, sizeof *lat, cmp64);
  printf("| %s | %d | %d | %.0f | %.3f | %.3f | %.3f |\n", k->name, done, failed, done / secs,
         lat[done / 2] / 1e6, lat[done * 99 / 100] / 1e6, lat[done - 1] / 1e6);
  free(lat);
}

int main(int argc, char **argv)
{
  int nodes = argc > 1 ? atoi(argv[1]) : 5000, pods = argc > 2 ? atoi(argv[2]) : 100000,
      decisions = argc > 3 ? atoi(argv[3]) : 20000;
  sched_config_t cfg = { .strategy = SCHED_SPREAD };
  sched_t *s = sched_new(&cfg);
  int64_t t0 = time_mono_ns();
  for (int i = 0; i < nodes; i++) {
    json_t *n = node(i);
    sched_node_set(s, n);
    json_decref(n);
  }
  char nn[32];
  for (int i = 0; i < pods; i++) {
    snprintf(nn, sizeof nn, "node-%05d", i % nodes);
    json_t *p = pod("bound", i, i % 2 ? "api" : "web", nn);
    sched_pod_set(s, p);
    json_decref(p);
  }
  double load = (double)(time_mono_ns() - t0) / 1e9;
  printf("%d nodes, %d bound pods (cache filled in %.2f s: %.0f objects/s)\n\n", nodes, pods, load,
         (nodes + pods) / load);
  printf("| pods | decisions | unschedulable | decisions/s | p50 ms | p99 ms | max ms |\n");
  printf("|---|---|---|---|---|---|---|\n");
  const kind_t kinds[] = {
    { "plain", NULL, 1 },
    { "selector",
      "{\"nodeSelector\":{\"node-role\":\"worker\"},\"tolerations\":[{\"key\":"
      "\"spot\",\"operator\":\"Exists\"}]}",
      1 },
    { "anti",
      "{\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuring"
      "Execution\":[{\"labelSelector\":{\"matchLabels\":{\"app\":\"anti\"}},"
      "\"topologyKey\":\"kubernetes.io/hostname\"}]}}}",
      10 },
    { "spread",
      "{\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":"
      "\"topology.kubernetes.io/zone\",\"whenUnsatisfiable\":\"DoNotSchedule\","
      "\"labelSelector\":{\"matchLabels\":{\"app\":\"spread\"}}}]}",
      10 },
  };
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    run(s, &kinds[i], decisions / kinds[i].share);
  sched_stats_t st;
  sched_stats(s, &st);
  printf("\ncache: %zu nodes, %zu pods, %zu interned strings\n", st.nodes, st.pods, st.interned);
  sched_free(s);
  return 0;
}
