/* api.c — the API server under load, and etcd (the store behind every
 * Kubernetes API server) doing the same work in the same run; the load
 * generator of bench/api.sh. Measured from outside, over HTTPS, the way
 * kubectl and the agent see the server:
 *
 *   k8s URL DATA   a berth server (admin token and CA from its DATA dir)
 *     1. N creates of a ~1.6 KB pod (unique names) from C clients, each a
 *        thread with its own keep-alive connection: creates/s, latency.
 *     2. LIST of the namespace's pods, full JSON and as a meta.k8s.io Table
 *        (kubectl get's form): L times each, median.
 *     3. a watch from the list's resourceVersion, then W creates paced at
 *        R/s from one client: create sent → event read, and reply read →
 *        event read (negative when the event overtakes the reply).
 *     With -p PID: that process's VmRSS, VmHWM, RssAnon and RssFile at the
 *     start, after the creates, after the lists and at the end.
 *   etcd URL CA|-  the same against etcd's v3 JSON gateway (CA verifies its
 *     HTTPS; - for plain HTTP): POST /v3/kv/put of the same pod JSON (base64,
 *     key /registry/pods/default/NAME), POST /v3/kv/range of the prefix,
 *     POST /v3/watch.
 *
 * Prints one JSON object (ms, KiB) that bench/report.py turns into a table.
 * Not part of berth or of `make test`. Built by bench/api.sh, or `make build/bench-api`:
 *
 *   build/bench-api k8s https://127.0.0.1:PORT DATA -n 10000 -c 16 -p SERVER_PID
 *   build/bench-api etcd https://127.0.0.1:PORT DATA/ca.crt -n 10000 -c 16 -p ETCD_PID */
#include "loadgen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TABLE_ACCEPT "application/json;as=Table;v=v1;g=meta.k8s.io"

/* the settings of this benchmark besides lg's */
static struct {
  long lists, watched, rate;
} api = { .lists = 10, .watched = 1000, .rate = 200 };

/* A pod as a Deployment writes one: labels, annotations, a container with
 * ports, env, resources, a probe and a volume; ~1.6 KB of JSON. */
/* clang-format off */
static const char pod_json[] =
  "{\"apiVersion\": \"v1\", \"kind\": \"Pod\","
  " \"metadata\": {\"name\": \"\", \"namespace\": \"" LG_NS "\","
  "  \"labels\": {\"app\": \"web\", \"tier\": \"frontend\", \"pod-template-hash\": \"7d4b9c8f6d\","
  "   \"bench\": \"api\"},"
  "  \"annotations\": {\"kubectl.kubernetes.io/restartedAt\": \"2026-11-22T00:00:00Z\","
  "   \"prometheus.io/scrape\": \"true\", \"prometheus.io/port\": \"9100\"}},"
  " \"spec\": {\"containers\": [{\"name\": \"web\","
  "   \"image\": \"registry.example.com/team/web:1.4.2\","
  "   \"command\": [\"/usr/local/bin/web\"],"
  "   \"args\": [\"--listen=:8080\", \"--metrics=:9100\", \"--log-level=info\"],"
  "   \"ports\": [{\"name\": \"http\", \"containerPort\": 8080, \"protocol\": \"TCP\"},"
  "    {\"name\": \"metrics\", \"containerPort\": 9100, \"protocol\": \"TCP\"}],"
  "   \"env\": [{\"name\": \"MODE\", \"value\": \"production\"},"
  "    {\"name\": \"REGION\", \"value\": \"eu-west-1\"},"
  "    {\"name\": \"DATABASE_URL\","
  "     \"value\": \"postgres://web@db.internal.example.com:5432/web?sslmode=require\"},"
  "    {\"name\": \"CACHE_URL\", \"value\": \"redis://cache.internal.example.com:6379/0\"},"
  "    {\"name\": \"FEATURE_FLAGS\", \"value\": \"new-checkout,fast-search,dark-mode\"},"
  "    {\"name\": \"OTEL_EXPORTER_OTLP_ENDPOINT\","
  "     \"value\": \"http://otel-collector.observability.svc:4317\"},"
  "    {\"name\": \"POD_IP\", \"valueFrom\": {\"fieldRef\": {\"fieldPath\": \"status.podIP\"}}},"
  "    {\"name\": \"GOMAXPROCS\", \"value\": \"2\"}],"
  "   \"resources\": {\"requests\": {\"cpu\": \"100m\", \"memory\": \"128Mi\"},"
  "    \"limits\": {\"cpu\": \"500m\", \"memory\": \"256Mi\"}},"
  "   \"volumeMounts\": [{\"name\": \"config\", \"mountPath\": \"/etc/web\", \"readOnly\": true}],"
  "   \"readinessProbe\": {\"httpGet\": {\"path\": \"/healthz\", \"port\": 8080},"
  "    \"periodSeconds\": 5, \"failureThreshold\": 3},"
  "   \"imagePullPolicy\": \"IfNotPresent\"}],"
  "  \"volumes\": [{\"name\": \"config\", \"configMap\": {\"name\": \"web-config\"}}],"
  "  \"restartPolicy\": \"Always\", \"terminationGracePeriodSeconds\": 30,"
  "  \"dnsPolicy\": \"ClusterFirst\", \"nodeSelector\": {\"kubernetes.io/os\": \"linux\"}}}";
/* clang-format on */

static json_t *pod_template(void)
{
  json_error_t e;
  json_t *pod = json_loads(pod_json, 0, &e);
  if (!pod) {
    fprintf(stderr, "bench-api: the pod template: %s\n", e.text);
    exit(1);
  }
  return pod;
}

/* The create request of pod name: the pod JSON, or etcd's put of it. */
static char *create_body(json_t *tmpl, const char *name)
{
  json_object_set_new(json_object_get(tmpl, "metadata"), "name", json_string(name));
  char *pod = json_dumps(tmpl, JSON_COMPACT);
  if (!lg.etcd)
    return pod;
  cleanup_free char *key = xasprintf(LG_ETCD_PREFIX "%s", name);
  cleanup_free char *k64 = lg_b64_encode(key, strlen(key)), *v64 = lg_b64_encode(pod, strlen(pod));
  free(pod);
  return xasprintf("{\"key\":\"%s\",\"value\":\"%s\"}", k64, v64);
}

static const char *create_path(void)
{
  return lg.etcd ? "/v3/kv/put" : LG_PODS_PATH;
}

static long create_code(void)
{
  return lg.etcd ? 200 : 201;
}

/* ---- 1. creates ------------------------------------------------------------------------ */

typedef struct writer {
  kc_t *c; /* first: lg_threads connects it */
  char **bodies;
  size_t n;
  int64_t *lat;
} writer_t;

static void *writer_main(void *arg)
{
  writer_t *w = arg;
  for (size_t i = 0; i < w->n; i++) {
    kc_resp_t r;
    int64_t t0 = time_mono_ns();
    lg_request(w->c, "POST", create_path(), NULL, w->bodies[i], create_code(), &r);
    w->lat[i] = time_mono_ns() - t0;
    kc_resp_free(&r);
  }
  return NULL;
}

static json_t *run_creates(kc_t *proto, json_t *tmpl)
{
  size_t n = (size_t)lg.n, nt = (size_t)lg.clients;
  /* every request is made before the clock starts */
  char **bodies = xcalloc(n, sizeof *bodies);
  for (size_t i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "bench-%05zu", i);
    bodies[i] = create_body(tmpl, name);
  }
  int64_t *lat = xcalloc(n, sizeof *lat);
  writer_t *w = xcalloc(nt, sizeof *w);
  for (size_t i = 0, from = 0; i < nt; i++) {
    size_t cnt = n / nt + (i < n % nt);
    w[i] = (writer_t){ kc_clone(proto), bodies + from, cnt, lat + from };
    from += cnt;
  }
  int64_t wall = lg_threads(writer_main, w, sizeof *w, nt);
  json_t *res
      = json_pack("{s:I, s:I, s:I, s:f, s:f, s:o}", "n", (json_int_t)n, "clients", (json_int_t)nt,
                  "request_bytes", (json_int_t)strlen(bodies[0]), "seconds", (double)wall / 1e9,
                  "per_s", (double)n / ((double)wall / 1e9), "latency", lg_dist(lat, n));
  for (size_t i = 0; i < nt; i++)
    kc_free(w[i].c);
  for (size_t i = 0; i < n; i++)
    free(bodies[i]);
  free(bodies);
  free(lat);
  free(w);
  return res;
}

/* ---- 2. lists --------------------------------------------------------------------------- */

/* api.lists LISTs: {"items","bytes","median",…}; *rv gets the list's revision. */
static json_t *run_lists(kc_t *c, const char *accept, char **rv)
{
  int64_t *v = xcalloc((size_t)api.lists, sizeof *v);
  cleanup_free char *range = NULL;
  if (lg.etcd) {
    cleanup_free char *k = lg_b64_encode(LG_ETCD_PREFIX, strlen(LG_ETCD_PREFIX));
    char end[] = LG_ETCD_PREFIX;
    end[strlen(end) - 1]++; /* the prefix's range end: "/registry/pods/default0" */
    cleanup_free char *e = lg_b64_encode(end, strlen(end));
    range = xasprintf("{\"key\":\"%s\",\"range_end\":\"%s\"}", k, e);
  }
  size_t items = 0, bytes = 0;
  for (long i = 0; i < api.lists; i++) {
    kc_resp_t r;
    int64_t t0 = time_mono_ns();
    if (lg.etcd)
      lg_request(c, "POST", "/v3/kv/range", NULL, range, 200, &r);
    else
      lg_request(c, "GET", LG_PODS_PATH, accept, NULL, 200, &r);
    v[i] = time_mono_ns() - t0;
    if (i == 0) {
      /* checked once, outside the timing: the reply holds every object */
      bytes = r.body.len;
      cleanup_json json_t *j = json_loadb(r.body.data, r.body.len, 0, NULL);
      if (!j)
        lg_die_reply("list: the reply is not JSON", &r);
      items = json_array_size(json_object_get(j, lg.etcd ? "kvs" : accept ? "rows" : "items"));
      json_t *meta = json_object_get(j, lg.etcd ? "header" : "metadata");
      const char *rev = json_str(meta, lg.etcd ? "revision" : "resourceVersion");
      if (rv && rev)
        *rv = xstrdup(rev);
    }
    kc_resp_free(&r);
  }
  json_t *d = lg_dist(v, (size_t)api.lists);
  json_object_set(d, "median", json_object_get(d, "p50"));
  json_object_set_new(d, "items", json_integer((json_int_t)items));
  json_object_set_new(d, "bytes", json_integer((json_int_t)bytes));
  free(v);
  return d;
}

/* ---- 3. the watch ---------------------------------------------------------------------- */

typedef struct watched {
  int64_t *t_event; /* the first event of each pod */
  size_t seen;
} watched_t;

static int on_pod(lg_watch_t *w, size_t i, json_t *obj, int64_t now)
{
  watched_t *s = w->arg;
  if (!s->t_event[i]) {
    s->t_event[i] = now;
    s->seen++;
  }
  return s->seen == w->n ? -1 : 0;
}

/* api.watched creates paced at api.rate per second, followed on a watch
 * opened at revision rv. */
static json_t *run_watch(kc_t *c, json_t *tmpl, const char *rv)
{
  size_t n = (size_t)api.watched;
  watched_t s = { .t_event = xcalloc(n, sizeof(int64_t)) };
  lg_watch_t w = { .prefix = "watch", .n = n, .on_pod = on_pod, .arg = &s };
  lg_watch_start(&w, c, rv, NULL);
  cleanup_free char *sync = create_body(tmpl, "watch-ready");
  lg_watch_sync(&w, c, create_path(), sync, create_code());

  char **bodies = xcalloc(n, sizeof *bodies);
  for (size_t i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "watch-%05zu", i);
    bodies[i] = create_body(tmpl, name);
  }
  int64_t *sent = xcalloc(n, sizeof *sent), *reply = xcalloc(n, sizeof *reply);
  int64_t start = time_mono_ns(), step = 1000000000LL / api.rate;
  for (size_t i = 0; i < n; i++) {
    int64_t at = start + (int64_t)i * step;
    struct timespec ts = { at / 1000000000LL, at % 1000000000LL };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
      ;
    kc_resp_t r;
    sent[i] = time_mono_ns();
    lg_request(c, "POST", create_path(), NULL, bodies[i], create_code(), &r);
    reply[i] = time_mono_ns();
    kc_resp_free(&r);
  }
  if (lg_watch_wait(&w, 10))
    lg_watch_free(&w);
  else /* the thread is left to the exit */
    fprintf(stderr, "%s: the watch saw %zu of %zu creates%s%s\n", lg.prog, s.seen, n,
            w.error ? ": " : "", w.error ? w.error : "");

  int64_t *d_sent = xcalloc(n, sizeof(int64_t)), *d_reply = xcalloc(n, sizeof(int64_t));
  size_t got = 0;
  for (size_t i = 0; i < n; i++) {
    if (!s.t_event[i])
      continue;
    d_sent[got] = s.t_event[i] - sent[i];
    d_reply[got++] = s.t_event[i] - reply[i];
  }
  json_t *res = json_pack("{s:I, s:I, s:I, s:o, s:o}", "n", (json_int_t)n, "rate",
                          (json_int_t)api.rate, "received", (json_int_t)got, "sent_to_event",
                          lg_dist(d_sent, got), "reply_to_event", lg_dist(d_reply, got));
  for (size_t i = 0; i < n; i++)
    free(bodies[i]);
  free(bodies);
  free(sent);
  free(reply);
  free(d_sent);
  free(d_reply);
  free(s.t_event);
  return res;
}

static void usage(void)
{
  fputs("usage: bench-api k8s URL DATA_DIR [-n CREATES] [-c CLIENTS] [-l LISTS] [-w WATCHED]"
        " [-r RATE] [-p PID]\n"
        "       bench-api etcd URL CA_FILE|- [same options]\n",
        stderr);
  exit(2);
}

int main(int argc, char **argv)
{
  lg.prog = "bench-api";
  lg.n = 10000;
  int ch;
  while ((ch = getopt(argc, argv, "n:c:l:w:r:p:")) != -1) {
    switch (ch) {
    case 'n':
      lg.n = atol(optarg);
      break;
    case 'c':
      lg.clients = atol(optarg);
      break;
    case 'l':
      api.lists = atol(optarg);
      break;
    case 'w':
      api.watched = atol(optarg);
      break;
    case 'r':
      api.rate = atol(optarg);
      break;
    case 'p':
      lg.pid = (pid_t)atol(optarg);
      break;
    default:
      usage();
    }
  }
  if (argc - optind != 3 || lg.n < 1 || lg.clients < 1 || api.lists < 1 || api.rate < 1
      || api.watched < 0)
    usage();
  const char *mode = argv[optind], *third = argv[optind + 2];
  lg.url = argv[optind + 1];
  if (!strcmp(mode, "etcd")) {
    lg.etcd = true;
    lg.ca_file = strcmp(third, "-") ? third : NULL;
  } else if (!strcmp(mode, "k8s")) {
    lg.data = third;
  } else {
    usage();
  }

  json_t *out = json_pack("{s:s, s:s, s:o}", "target", lg.etcd ? "etcd" : "berth", "url", lg.url,
                          "rss_idle", lg_rss());
  kc_t *c = lg_client();
  lg_warm_up(c);
  json_t *tmpl = pod_template();
  cleanup_free char *pod = json_dumps(tmpl, JSON_COMPACT);
  json_object_set_new(out, "pod_bytes", json_integer((json_int_t)strlen(pod)));
  json_object_set_new(out, "create", run_creates(c, tmpl));
  json_object_set_new(out, "rss_after_create", lg_rss());
  cleanup_free char *rv = NULL;
  json_object_set_new(out, "list", run_lists(c, NULL, &rv));
  if (!lg.etcd)
    json_object_set_new(out, "list_table", run_lists(c, TABLE_ACCEPT, NULL));
  json_object_set_new(out, "rss_after_list", lg_rss());
  if (!rv) {
    fprintf(stderr, "bench-api: the list has no resourceVersion\n");
    return 1;
  }
  if (api.watched > 0)
    json_object_set_new(out, "watch", run_watch(c, tmpl, rv));
  json_object_set_new(out, "rss_end", lg_rss());
  json_dumpf(out, stdout, JSON_INDENT(1));
  putchar('\n');
  json_decref(out);
  json_decref(tmpl);
  kc_free(c);
  return 0;
}
