/* pods.c — pod startup as a user sees it, the load generator of
 * bench/pods.sh: against a berth server with an agent (one node), it waits
 * for the node to be Ready, creates N pods at once from C clients (each a
 * thread with its own keep-alive connection), each running `sleep 3600`
 * from the local busybox image, and follows them on a watch: per pod, from
 * its create request to the event that binds it to the node (spec.nodeName)
 * and to the event where status.phase is Running.
 *
 *   startup URL DATA  the run above; exit 3 when some pod did not reach
 *                     Running within -t seconds (the JSON says where each was).
 *                     With -1, one client creates each pod once the previous
 *                     one runs: the latency of a pod on an otherwise idle node.
 *                     With -p PID (the agent): its memory once the node is
 *                     Ready and once every pod runs.
 *   delete URL DATA   deletes the pods `startup` made (grace period 0) and
 *                     waits until the API lists none
 *
 * Prints one JSON object (ms) that bench/report.py turns into a table. Not
 * part of berth or of `make test`. Built by bench/pods.sh, or `make build/bench-pods`:
 *
 *   build/bench-pods startup https://127.0.0.1:PORT DATA -n 100 -c 16 && \
 *   build/bench-pods delete https://127.0.0.1:PORT DATA */
#include "loadgen.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SELECTOR "bench%3Dstartup" /* bench=startup, URL-encoded */

static const char *image = "busybox";
static bool one_at_a_time; /* -1: each pod created once the previous one runs */

/* A pod running `sleep 3600`; with never_bound a node selector no node has. */
static json_t *pod_sleep(const char *name, bool never_bound)
{
  json_t *pod
      = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:[{s:s, s:s, s:[s, s], s:s}], "
                  "s:s, s:i}}",
                  "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "namespace", LG_NS,
                  "labels", "bench", "startup", "spec", "containers", "name", "sleep", "image",
                  image, "command", "sleep", "3600", "imagePullPolicy", "IfNotPresent",
                  "restartPolicy", "Never", "terminationGracePeriodSeconds", 0);
  if (never_bound)
    json_object_set_new(json_object_get(pod, "spec"), "nodeSelector",
                        json_pack("{s:s}", "bench.berth.dev/none", "none"));
  return pod;
}

/* True once a node reports Ready=True. */
static bool node_ready(kc_t *c)
{
  kc_resp_t r;
  lg_request(c, "GET", "/api/v1/nodes", NULL, NULL, 200, &r);
  cleanup_json json_t *l = json_loadb(r.body.data, r.body.len, 0, NULL);
  kc_resp_free(&r);
  json_t *node, *cond;
  size_t i, j;
  json_array_foreach(json_object_get(l, "items"), i, node)
  {
    json_array_foreach(json_object_get(json_object_get(node, "status"), "conditions"), j, cond)
    {
      if (!strcmp(json_str(cond, "type") ?: "", "Ready")
          && !strcmp(json_str(cond, "status") ?: "", "True"))
        return true;
    }
  }
  return false;
}

/* ---- the watch ---------------------------------------------------------------------------- */

typedef struct followed {
  int64_t *t_bound, *t_running;
  char **last; /* the last phase and waiting reason seen, for pods that never run */
  size_t running;
} followed_t;

static int on_pod(lg_watch_t *w, size_t i, json_t *obj, int64_t now)
{
  followed_t *f = w->arg;
  json_t *st = json_object_get(obj, "status");
  const char *node = json_str(json_object_get(obj, "spec"), "nodeName");
  const char *phase = json_str(st, "phase") ?: "";
  if (node && *node && !f->t_bound[i])
    f->t_bound[i] = now;
  json_t *cs = json_array_get(json_object_get(st, "containerStatuses"), 0);
  json_t *waiting = json_object_get(json_object_get(cs, "state"), "waiting");
  free(f->last[i]);
  f->last[i] = xasprintf("%s %s %s", phase, json_str(waiting, "reason") ?: "",
                         json_str(waiting, "message") ?: "");
  if (!strcmp(phase, "Running") && !f->t_running[i]) {
    __atomic_store_n(&f->t_running[i], now, __ATOMIC_RELEASE); /* a one-at-a-time starter waits */
    f->running++;
  }
  return f->running == w->n ? -1 : 0;
}

/* ---- startup -------------------------------------------------------------------------------- */

typedef struct starter {
  kc_t *c; /* first: lg_threads connects it */
  size_t from, to;
  int64_t *sent, *reply;
  followed_t *one_at_a_time; /* set: create a pod only once the previous one runs */
} starter_t;

static void *starter_main(void *arg)
{
  starter_t *s = arg;
  for (size_t i = s->from; i < s->to; i++) {
    char name[32];
    snprintf(name, sizeof name, "start-%05zu", i);
    cleanup_json json_t *pod = pod_sleep(name, false);
    cleanup_free char *body = json_dumps(pod, JSON_COMPACT);
    kc_resp_t r;
    s->sent[i] = time_mono_ns();
    lg_request(s->c, "POST", LG_PODS_PATH, NULL, body, 201, &r);
    s->reply[i] = time_mono_ns();
    kc_resp_free(&r);
    while (s->one_at_a_time
           && !__atomic_load_n(&s->one_at_a_time->t_running[i], __ATOMIC_ACQUIRE)) {
      if (time_mono_ns() - s->sent[i] > lg.timeout_s * 1000000000LL)
        return NULL; /* reported as not Running */
      usleep(500);
    }
  }
  return NULL;
}

static int startup(void)
{
  kc_t *c = lg_client();
  int64_t t0 = time_mono_ns();
  while (!node_ready(c)) {
    if (time_mono_ns() - t0 > lg.timeout_s * 1000000000LL) {
      fprintf(stderr, "bench-pods: no node became Ready within %ld s\n", lg.timeout_s);
      return 1;
    }
    usleep(100000);
  }
  json_t *out = json_pack("{s:s, s:f, s:o}", "url", lg.url, "node_ready_wait_ms",
                          lg_ms(time_mono_ns() - t0), "mem_ready", lg_rss());
  kc_resp_t r;
  lg_request(c, "GET", LG_PODS_PATH, NULL, NULL, 200, &r);
  cleanup_json json_t *l = json_loadb(r.body.data, r.body.len, 0, NULL);
  kc_resp_free(&r);
  const char *rv = json_str(json_object_get(l, "metadata"), "resourceVersion") ?: "0";

  size_t n = (size_t)lg.n, nt = one_at_a_time ? 1 : (size_t)lg.clients;
  followed_t f = { .t_bound = xcalloc(n, sizeof(int64_t)),
                   .t_running = xcalloc(n, sizeof(int64_t)),
                   .last = xcalloc(n, sizeof(char *)) };
  lg_watch_t w = { .prefix = "start", .n = n, .on_pod = on_pod, .arg = &f };
  lg_watch_start(&w, c, rv, SELECTOR);
  /* the sync pod fits no node: it stays Pending and nothing runs for it */
  cleanup_json json_t *sync = pod_sleep("start-ready", true);
  cleanup_free char *sync_body = json_dumps(sync, JSON_COMPACT);
  lg_watch_sync(&w, c, LG_PODS_PATH, sync_body, 201);

  int64_t *sent = xcalloc(n, sizeof *sent), *reply = xcalloc(n, sizeof *reply);
  starter_t *s = xcalloc(nt, sizeof *s);
  for (size_t i = 0, from = 0; i < nt; i++) {
    size_t cnt = n / nt + (i < n % nt);
    s[i] = (starter_t){ kc_clone(c), from, from + cnt, sent, reply, one_at_a_time ? &f : NULL };
    from += cnt;
  }
  int64_t created = lg_threads(starter_main, s, sizeof *s, nt);
  for (size_t i = 0; i < nt; i++)
    kc_free(s[i].c);
  bool all = lg_watch_wait(&w, lg.timeout_s);

  int64_t start = sent[0], last = 0;
  int64_t *d_create = xcalloc(n, sizeof(int64_t)), *d_bound = xcalloc(n, sizeof(int64_t)),
          *d_run = xcalloc(n, sizeof(int64_t)), *d_after = xcalloc(n, sizeof(int64_t));
  size_t nb = 0, nr = 0;
  json_t *stuck = json_array();
  for (size_t i = 0; i < n; i++) {
    if (sent[i] < start)
      start = sent[i];
    d_create[i] = reply[i] - sent[i];
    if (f.t_bound[i])
      d_bound[nb++] = f.t_bound[i] - sent[i];
    if (f.t_running[i]) {
      d_after[nr] = f.t_running[i] - (f.t_bound[i] ? f.t_bound[i] : sent[i]);
      d_run[nr++] = f.t_running[i] - sent[i];
      if (f.t_running[i] > last)
        last = f.t_running[i];
    } else if (json_array_size(stuck) < 5) {
      json_array_append_new(stuck, json_sprintf("start-%05zu: %s", i, f.last[i] ?: "no event"));
    }
  }
  json_object_set_new(out, "pods", json_integer((json_int_t)n));
  json_object_set_new(out, "clients", json_integer((json_int_t)nt));
  json_object_set_new(out, "one_at_a_time", json_boolean(one_at_a_time));
  json_object_set_new(out, "running", json_integer((json_int_t)nr));
  json_object_set_new(out, "creates_ms", json_real(lg_ms(created)));
  json_object_set_new(out, "all_running_ms", json_real(nr ? lg_ms(last - start) : -1));
  json_object_set_new(out, "create", lg_dist(d_create, n));
  json_object_set_new(out, "to_bound", lg_dist(d_bound, nb));
  json_object_set_new(out, "bound_to_running", lg_dist(d_after, nr));
  json_object_set_new(out, "to_running", lg_dist(d_run, nr));
  json_object_set_new(out, "not_running", stuck);
  json_object_set_new(out, "mem_running", lg_rss());
  if (w.error)
    json_object_set_new(out, "watch_error", json_string(w.error));
  if (all)
    lg_watch_free(&w);
  json_dumpf(out, stdout, JSON_INDENT(1));
  putchar('\n');
  json_decref(out);
  kc_free(c);
  return nr == n ? 0 : 3;
}

/* ---- delete ----------------------------------------------------------------------------- */

static int delete_all(void)
{
  kc_t *c = lg_client();
  int64_t t0 = time_mono_ns();
  size_t deleted = 0;
  for (bool first = true;; first = false) {
    kc_resp_t r;
    lg_request(c, "GET", LG_PODS_PATH "?labelSelector=" SELECTOR, NULL, NULL, 200, &r);
    cleanup_json json_t *l = json_loadb(r.body.data, r.body.len, 0, NULL);
    kc_resp_free(&r);
    json_t *items = json_object_get(l, "items"), *p;
    if (json_array_size(items) == 0)
      break;
    if (time_mono_ns() - t0 > lg.timeout_s * 1000000000LL) {
      fprintf(stderr, "bench-pods: %zu pods still there after %ld s\n", json_array_size(items),
              lg.timeout_s);
      return 1;
    }
    size_t i;
    json_array_foreach(items, i, p)
    {
      json_t *meta = json_object_get(p, "metadata");
      if (!first && json_str(meta, "deletionTimestamp"))
        continue; /* being deleted: the agent confirms once its containers are gone */
      cleanup_free char *path
          = xasprintf(LG_PODS_PATH "/%s?gracePeriodSeconds=0", json_str(meta, "name"));
      berr_t err = BERR_INIT;
      if (kc_do(c, "DELETE", path, NULL, NULL, NULL, 0, &r, &err) < 0)
        lg_die(path, &err);
      if (r.code != 200 && r.code != 202 && r.code != 404)
        lg_die_reply(path, &r);
      kc_resp_free(&r);
      deleted += first;
    }
    usleep(100000);
  }
  printf("{\"deleted\": %zu, \"gone_ms\": %.1f}\n", deleted, lg_ms(time_mono_ns() - t0));
  kc_free(c);
  return 0;
}

static void usage(void)
{
  fputs("usage: bench-pods startup URL DATA_DIR [-n PODS] [-c CLIENTS | -1] [-i IMAGE] [-t "
        "TIMEOUT_S]\n"
        "       bench-pods delete URL DATA_DIR [-t TIMEOUT_S]\n",
        stderr);
  exit(2);
}

int main(int argc, char **argv)
{
  lg.prog = "bench-pods";
  lg.n = 100;
  int ch;
  while ((ch = getopt(argc, argv, "n:c:i:t:p:1")) != -1) {
    switch (ch) {
    case 'p':
      lg.pid = (pid_t)atol(optarg);
      break;
    case '1':
      one_at_a_time = true;
      break;
    case 'n':
      lg.n = atol(optarg);
      break;
    case 'c':
      lg.clients = atol(optarg);
      break;
    case 'i':
      image = optarg;
      break;
    case 't':
      lg.timeout_s = atol(optarg);
      break;
    default:
      usage();
    }
  }
  if (argc - optind != 3 || lg.n < 1 || lg.clients < 1 || lg.timeout_s < 1)
    usage();
  lg.url = argv[optind + 1];
  lg.data = argv[optind + 2];
  if (!strcmp(argv[optind], "startup"))
    return startup();
  if (!strcmp(argv[optind], "delete"))
    return delete_all();
  usage();
}
