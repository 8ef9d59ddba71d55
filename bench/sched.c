/* sched.c — scheduling at cluster scale, the load generator of
 * bench/sched.sh: against a berth server whose nodes are hollow
 * (bench/hollow.c: they report every pod bound to them Running at once, so
 * that what is measured is the API server and the scheduler), it waits for
 * -N nodes to be Ready, creates -n small pods (requests -r CPU / -m memory)
 * from -c clients (each a thread with its own keep-alive connection) and
 * follows them on a watch: per pod, from its create request to the event
 * that binds it (spec.nodeName) and to the event where status.phase is
 * Running.
 *
 * With -D REPLICAS it creates n / REPLICAS Deployments of REPLICAS pods
 * instead (when the server serves apps/v1 deployments; checked through
 * discovery), and a pod's clock starts at the watch event that first shows
 * it, since no request of this program creates it.
 *
 * Figures: pods bound per second over the whole run (first create request
 * to last binding) and in the steady state (the bindings between the 10th
 * and 90th percentile of binding times), the latencies as distributions,
 * the scheduler's own decision time from its histogram
 * berth_scheduler_decision_duration_seconds in GET /metrics (null when the
 * server has none), the memory of the server (-p) once the nodes are Ready
 * and once every pod runs, and the CPU time the server and the hollow nodes
 * (-H) used from the first create to the last Running.
 *
 * Prints one JSON object (ms, KiB, s) that bench/report.py turns into a
 * table. Not part of berth or of `make test`. Built by `make
 * build/bench-sched` (bench/sched.sh does it):
 *
 *   build/bench-sched https://127.0.0.1:PORT DATA -N 5000 -n 100000 -c 16 -p SERVER_PID \
 *       -H HOLLOW_PID */
#include "loadgen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SELECTOR    "bench%3Dsched" /* bench=sched, URL-encoded */
#define PREFIX      "sched"
#define METRIC      "berth_scheduler_decision_duration_seconds"
#define DEPLOYMENTS "/apis/apps/v1/namespaces/" LG_NS "/deployments"

/* the settings of this benchmark besides lg's */
static struct {
  long nodes, replicas;
  pid_t hollow;
  const char *cpu, *memory;
} sc = { .nodes = 1, .cpu = "10m", .memory = "16Mi" };

static json_t *pod_spec(bool never_bound)
{
  json_t *spec = json_pack("{s:[{s:s, s:s, s:{s:{s:s, s:s}}}], s:i}", "containers", "name", "app",
                           "image", "registry.k8s.io/pause:3.10", "resources", "requests", "cpu",
                           sc.cpu, "memory", sc.memory, "terminationGracePeriodSeconds", 0);
  if (never_bound)
    json_object_set_new(spec, "nodeSelector", json_pack("{s:s}", "bench.berth.dev/none", "none"));
  return spec;
}

static char *pod_body(const char *name, bool never_bound)
{
  cleanup_json json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:o}", "apiVersion", "v1",
                                       "kind", "Pod", "metadata", "name", name, "namespace", LG_NS,
                                       "labels", "bench", "sched", "spec", pod_spec(never_bound));
  return json_dumps(pod, JSON_COMPACT);
}

static char *deployment_body(const char *name, long replicas)
{
  cleanup_json json_t *d = json_pack(
      "{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:i, s:{s:{s:s}}, s:{s:{s:{s:s, s:s}}, s:o}}}",
      "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", name, "namespace", LG_NS,
      "labels", "bench", "sched", "spec", "replicas", (int)replicas, "selector", "matchLabels",
      "app", name, "template", "metadata", "labels", "app", name, "bench", "sched", "spec",
      pod_spec(false));
  return json_dumps(d, JSON_COMPACT);
}

/* Ready nodes, from one list. */
static long nodes_ready(kc_t *c)
{
  kc_resp_t r;
  lg_request(c, "GET", "/api/v1/nodes", NULL, NULL, 200, &r);
  cleanup_json json_t *l = json_loadb(r.body.data, r.body.len, 0, NULL);
  kc_resp_free(&r);
  json_t *node, *cond;
  size_t i, j;
  long n = 0;
  json_array_foreach(json_object_get(l, "items"), i, node)
  {
    json_array_foreach(json_object_get(json_object_get(node, "status"), "conditions"), j, cond)
    {
      if (!strcmp(json_str(cond, "type") ?: "", "Ready"))
        n += !strcmp(json_str(cond, "status") ?: "", "True");
    }
  }
  return n;
}

/* Whether the server serves apps/v1 deployments (its discovery says so). */
static bool has_deployments(kc_t *c)
{
  kc_resp_t r;
  berr_t err = BERR_INIT;
  if (kc_do(c, "GET", "/apis/apps/v1", NULL, NULL, NULL, 0, &r, &err) < 0)
    lg_die("/apis/apps/v1", &err);
  cleanup_json json_t *d = r.code == 200 ? json_loadb(r.body.data, r.body.len, 0, NULL) : NULL;
  kc_resp_free(&r);
  json_t *res;
  size_t i;
  json_array_foreach(json_object_get(d, "resources"), i, res)
  {
    if (!strcmp(json_str(res, "name") ?: "", "deployments"))
      return true;
  }
  return false;
}

/* ---- the scheduler's histogram ------------------------------------------------------------ */

typedef struct bucket {
  double le, count;
} bucket_t;

static int cmp_bucket(const void *a, const void *b)
{
  double x = ((const bucket_t *)a)->le, y = ((const bucket_t *)b)->le;
  return x < y ? -1 : x > y;
}

/* Prometheus' histogram_quantile: linear within the bucket holding rank q·total. */
static double quantile(const bucket_t *b, size_t n, double q)
{
  double total = b[n - 1].count, rank = q * total, lo = 0, below = 0;
  for (size_t i = 0; i < n; i++) {
    if (b[i].count >= rank) {
      if (b[i].le == INFINITY)
        return lo; /* the highest finite bound */
      double in = b[i].count - below;
      return in > 0 ? lo + (b[i].le - lo) * (rank - below) / in : b[i].le;
    }
    lo = b[i].le;
    below = b[i].count;
  }
  return lo;
}

/* {"count","mean_ms","p50_ms","p99_ms"} from GET /metrics, or null when the
 * server exposes no such histogram. Series with other labels are summed by
 * bucket. */
static json_t *decision_times(kc_t *c)
{
  kc_resp_t r;
  berr_t err = BERR_INIT;
  if (kc_do(c, "GET", "/metrics", NULL, "text/plain", NULL, 0, &r, &err) < 0)
    lg_die("/metrics", &err);
  if (r.code != 200) {
    kc_resp_free(&r);
    return json_null();
  }
  bucket_t *b = NULL;
  size_t nb = 0;
  double sum = 0, count = -1;
  for (char *line = r.body.data, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    if (!str_has_prefix(line, METRIC "_"))
      continue;
    const char *rest = line + strlen(METRIC "_");
    const char *val = strrchr(line, ' ');
    if (!val)
      continue;
    double v = strtod(val + 1, NULL);
    if (str_has_prefix(rest, "sum")) {
      sum += v;
    } else if (str_has_prefix(rest, "count")) {
      count = (count < 0 ? 0 : count) + v;
    } else if (str_has_prefix(rest, "bucket{")) {
      const char *le = strstr(rest, "le=\"");
      if (!le)
        continue;
      double bound = !strncmp(le + 4, "+Inf", 4) ? INFINITY : strtod(le + 4, NULL);
      size_t i = 0;
      while (i < nb && b[i].le != bound)
        i++;
      if (i == nb) {
        b = xrealloc(b, ++nb * sizeof *b);
        b[i] = (bucket_t){ bound, 0 };
      }
      b[i].count += v;
    }
  }
  kc_resp_free(&r);
  json_t *out = json_null();
  if (nb && count >= 0) {
    qsort(b, nb, sizeof *b, cmp_bucket);
    out = json_pack("{s:I, s:f, s:f, s:f}", "count", (json_int_t)count, "mean_ms",
                    count > 0 ? sum / count * 1e3 : 0.0, "p50_ms", quantile(b, nb, 0.5) * 1e3,
                    "p99_ms", quantile(b, nb, 0.99) * 1e3);
  }
  free(b);
  return out;
}

/* ---- the watch ------------------------------------------------------------------------------ */

typedef struct followed {
  int64_t *t_seen, *t_bound, *t_running;
  size_t bound, running;
  lg_map_t names; /* -D: pod names → index, in the order first seen */
} followed_t;

static long index_of(lg_watch_t *w, const char *name)
{
  followed_t *f = w->arg;
  size_t *v = lg_map_get(&f->names, name, true);
  if (!*v) {
    if (f->names.n > w->n)
      return -1;     /* more pods than asked for: not followed */
    *v = f->names.n; /* index + 1 */
  }
  return (long)*v - 1;
}

static int on_pod(lg_watch_t *w, size_t i, json_t *obj, int64_t now)
{
  followed_t *f = w->arg;
  const char *node = json_str(json_object_get(obj, "spec"), "nodeName");
  const char *phase = json_str(json_object_get(obj, "status"), "phase") ?: "";
  if (!f->t_seen[i])
    f->t_seen[i] = now;
  if (node && *node && !f->t_bound[i]) {
    f->t_bound[i] = now;
    f->bound++;
  }
  if (!strcmp(phase, "Running") && !f->t_running[i]) {
    f->t_running[i] = now;
    f->running++;
  }
  return f->running == w->n ? -1 : 0;
}

/* ---- creating -------------------------------------------------------------------------------- */

typedef struct creator {
  kc_t *c; /* first: lg_threads connects it */
  size_t from, to;
  int64_t *sent;
} creator_t;

static void *creator_main(void *arg)
{
  creator_t *s = arg;
  for (size_t i = s->from; i < s->to; i++) {
    char name[32];
    cleanup_free char *body = NULL;
    if (sc.replicas) {
      snprintf(name, sizeof name, PREFIX "-d%05zu", i);
      body = deployment_body(name, sc.replicas);
    } else {
      snprintf(name, sizeof name, PREFIX "-%06zu", i);
      body = pod_body(name, false);
    }
    kc_resp_t r;
    s->sent[i] = time_mono_ns();
    lg_request(s->c, "POST", sc.replicas ? DEPLOYMENTS : LG_PODS_PATH, NULL, body, 201, &r);
    kc_resp_free(&r);
  }
  return NULL;
}

/* The pods per second bound between the 10th and 90th percentile of the
 * binding times (sorted in place). */
static double steady_rate(int64_t *t, size_t n)
{
  if (n < 10)
    return -1;
  json_decref(lg_dist(t, n)); /* sorts */
  size_t a = n / 10, b = n - n / 10 - 1;
  return t[b] > t[a] ? (double)(b - a) / ((double)(t[b] - t[a]) / 1e9) : -1;
}

static int run(void)
{
  kc_t *c = lg_client();
  if (sc.replicas && !has_deployments(c)) {
    fprintf(stderr, "bench-sched: -D: the server does not serve apps/v1 deployments (GET "
                    "/apis/apps/v1 lists none); create pods instead (without -D)\n");
    return 2;
  }
  int64_t t0 = time_mono_ns();
  long ready;
  while ((ready = nodes_ready(c)) < sc.nodes) {
    if (time_mono_ns() - t0 > lg.timeout_s * 1000000000LL) {
      fprintf(stderr, "bench-sched: %ld of %ld nodes Ready after %ld s\n", ready, sc.nodes,
              lg.timeout_s);
      return 1;
    }
    usleep(500000);
  }
  json_t *out = json_pack("{s:s, s:I, s:s, s:f, s:o}", "url", lg.url, "nodes", (json_int_t)ready,
                          "workload", sc.replicas ? "deployments" : "pods", "node_ready_wait_ms",
                          lg_ms(time_mono_ns() - t0), "mem_nodes", lg_rss());
  kc_resp_t r;
  lg_request(c, "GET", LG_PODS_PATH "?limit=1", NULL, NULL, 200, &r);
  cleanup_json json_t *l = json_loadb(r.body.data, r.body.len, 0, NULL);
  kc_resp_free(&r);
  const char *rv = json_str(json_object_get(l, "metadata"), "resourceVersion") ?: "0";

  size_t n = (size_t)lg.n, nc = (size_t)(sc.replicas ? lg.n / sc.replicas : lg.n);
  size_t nt = (size_t)lg.clients < nc ? (size_t)lg.clients : nc;
  followed_t f = { .t_seen = xcalloc(n, sizeof(int64_t)),
                   .t_bound = xcalloc(n, sizeof(int64_t)),
                   .t_running = xcalloc(n, sizeof(int64_t)) };
  lg_watch_t w = {
    .prefix = PREFIX, .n = n, .on_pod = on_pod, .arg = &f, .index = sc.replicas ? index_of : NULL
  };
  lg_watch_start(&w, c, rv, SELECTOR);
  /* the sync pod fits no node; once seen it goes, so that nothing retries it */
  cleanup_free char *sync = pod_body(PREFIX "-ready", true);
  lg_watch_sync(&w, c, LG_PODS_PATH, sync, 201);
  lg_request(c, "DELETE", LG_PODS_PATH "/" PREFIX "-ready?gracePeriodSeconds=0", NULL, NULL, 200,
             &r);
  kc_resp_free(&r);

  int64_t *sent = xcalloc(nc, sizeof *sent);
  creator_t *s = xcalloc(nt, sizeof *s);
  for (size_t i = 0, from = 0; i < nt; i++) {
    size_t cnt = nc / nt + (i < nc % nt);
    s[i] = (creator_t){ kc_clone(c), from, from + cnt, sent };
    from += cnt;
  }
  double cpu_server = lg.pid > 0 ? lg_cpu_s(lg.pid) : -1;
  double cpu_hollow = sc.hollow > 0 ? lg_cpu_s(sc.hollow) : -1;
  int64_t created = lg_threads(creator_main, s, sizeof *s, nt);
  for (size_t i = 0; i < nt; i++)
    kc_free(s[i].c);
  free(s);
  bool all = lg_watch_wait(&w, lg.timeout_s);
  int64_t t_end = time_mono_ns();
  double used_server = lg.pid > 0 ? lg_cpu_s(lg.pid) - cpu_server : -1;
  double used_hollow = sc.hollow > 0 ? lg_cpu_s(sc.hollow) - cpu_hollow : -1;

  int64_t start = sent[0], last_bound = 0, last_run = 0;
  for (size_t i = 0; i < nc; i++)
    if (sent[i] < start)
      start = sent[i];
  int64_t *d_bound = xcalloc(n, sizeof(int64_t)), *d_run = xcalloc(n, sizeof(int64_t)),
          *d_after = xcalloc(n, sizeof(int64_t)), *t_bound = xcalloc(n, sizeof(int64_t));
  size_t nb = 0, nr = 0;
  for (size_t i = 0; i < n; i++) {
    /* pods: from the create request; deployments: from the first event showing the pod */
    int64_t born = sc.replicas ? f.t_seen[i] : sent[i];
    if (f.t_bound[i]) {
      t_bound[nb] = f.t_bound[i];
      d_bound[nb++] = f.t_bound[i] - born;
      if (f.t_bound[i] > last_bound)
        last_bound = f.t_bound[i];
    }
    if (f.t_running[i]) {
      d_after[nr] = f.t_running[i] - (f.t_bound[i] ? f.t_bound[i] : born);
      d_run[nr++] = f.t_running[i] - born;
      if (f.t_running[i] > last_run)
        last_run = f.t_running[i];
    }
  }
  double window = (double)((last_run ? last_run : t_end) - start) / 1e9;
  json_object_set_new(out, "pods", json_integer((json_int_t)n));
  json_object_set_new(out, "clients", json_integer((json_int_t)nt));
  if (sc.replicas)
    json_object_set_new(
        out, "deployments",
        json_pack("{s:I, s:I}", "n", (json_int_t)nc, "replicas", (json_int_t)sc.replicas));
  json_object_set_new(out, "requests", json_pack("{s:s, s:s}", "cpu", sc.cpu, "memory", sc.memory));
  json_object_set_new(out, "bound", json_integer((json_int_t)nb));
  json_object_set_new(out, "running", json_integer((json_int_t)nr));
  json_object_set_new(out, "creates_ms", json_real(lg_ms(created)));
  json_object_set_new(out, "creates_per_s", json_real((double)nc / ((double)created / 1e9)));
  json_object_set_new(out, "all_bound_ms", json_real(nb == n ? lg_ms(last_bound - start) : -1));
  json_object_set_new(out, "all_running_ms", json_real(nr == n ? lg_ms(last_run - start) : -1));
  json_object_set_new(
      out, "bound_per_s",
      json_real(nb && last_bound > start ? (double)nb / ((double)(last_bound - start) / 1e9) : -1));
  json_object_set_new(out, "bound_per_s_steady", json_real(steady_rate(t_bound, nb)));
  json_object_set_new(
      out, "running_per_s",
      json_real(nr && last_run > start ? (double)nr / ((double)(last_run - start) / 1e9) : -1));
  json_object_set_new(out, "to_bound", lg_dist(d_bound, nb));
  json_object_set_new(out, "bound_to_running", lg_dist(d_after, nr));
  json_object_set_new(out, "to_running", lg_dist(d_run, nr));
  json_object_set_new(out, "scheduler_decision", decision_times(c));
  json_object_set_new(out, "mem_running", lg_rss());
  json_object_set_new(out, "mem_hollow", sc.hollow > 0 ? lg_rss_of(sc.hollow) : json_null());
  json_object_set_new(out, "cpu",
                      json_pack("{s:f, s:f, s:f}", "window_s", window, "server_s", used_server,
                                "hollow_s", used_hollow));
  if (w.error)
    json_object_set_new(out, "watch_error", json_string(w.error));
  if (all)
    lg_watch_free(&w);
  json_dumpf(out, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(6));
  putchar('\n');
  json_decref(out);
  free(d_bound);
  free(d_run);
  free(d_after);
  free(t_bound);
  free(sent);
  free(f.t_seen);
  free(f.t_bound);
  free(f.t_running);
  lg_map_free(&f.names);
  kc_free(c);
  return nr == n ? 0 : 3;
}

static void usage(void)
{
  fputs("usage: bench-sched URL DATA_DIR [-N NODES] [-n PODS] [-c CLIENTS] [-D REPLICAS]\n"
        "         [-r CPU] [-m MEMORY] [-t TIMEOUT_S] [-p SERVER_PID] [-H HOLLOW_PID]\n",
        stderr);
  exit(2);
}

int main(int argc, char **argv)
{
  lg.prog = "bench-sched";
  lg.n = 10000;
  lg.timeout_s = 600;
  int ch;
  while ((ch = getopt(argc, argv, "N:n:c:D:r:m:t:p:H:")) != -1) {
    switch (ch) {
    case 'N':
      sc.nodes = atol(optarg);
      break;
    case 'n':
      lg.n = atol(optarg);
      break;
    case 'c':
      lg.clients = atol(optarg);
      break;
    case 'D':
      sc.replicas = atol(optarg);
      break;
    case 'r':
      sc.cpu = optarg;
      break;
    case 'm':
      sc.memory = optarg;
      break;
    case 't':
      lg.timeout_s = atol(optarg);
      break;
    case 'p':
      lg.pid = (pid_t)atol(optarg);
      break;
    case 'H':
      sc.hollow = (pid_t)atol(optarg);
      break;
    default:
      usage();
    }
  }
  if (argc - optind != 2 || lg.n < 1 || lg.clients < 1 || lg.timeout_s < 1 || sc.nodes < 1
      || sc.replicas < 0 || (sc.replicas && (lg.n % sc.replicas || lg.n / sc.replicas > 99999))) {
    if (sc.replicas > 0 && lg.n % sc.replicas)
      fprintf(stderr, "bench-sched: -n %ld is not a multiple of -D %ld\n", lg.n, sc.replicas);
    usage();
  }
  lg.url = argv[optind];
  lg.data = argv[optind + 1];
  return run();
}
