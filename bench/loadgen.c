/* loadgen.c — the shared part of the control-plane load generators
 * (loadgen.h): percentiles, memory, clients, threads and the watch. Every
 * request goes through berth's own client (src/net/client.h) whatever the
 * server, so berth and etcd are measured through the same client code; only
 * etcd's watch, a POST whose reply streams, uses libcurl directly. Linked
 * into every build/bench-NAME (bench/NAME.c; the Makefile's BENCH_LG). */
#include "loadgen.h"
#include "net/curl_dl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

lg_run_t lg = { .n = 0, .clients = 16, .timeout_s = 120 };

void lg_die(const char *what, berr_t *err)
{
  fprintf(stderr, "%s: %s: %s\n", lg.prog, what, err && err->msg ? err->msg : "failed");
  exit(1);
}

void lg_die_reply(const char *what, kc_resp_t *r)
{
  fprintf(stderr, "%s: %s: HTTP %ld: %.400s\n", lg.prog, what, r->code,
          r->body.data ? r->body.data : "");
  exit(1);
}

/* ---- numbers ---------------------------------------------------------------------------- */

static int cmp64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

double lg_ms(int64_t ns)
{
  return (double)ns / 1e6;
}

json_t *lg_dist(int64_t *v, size_t n)
{
  if (n == 0)
    return json_pack("{s:i}", "n", 0);
  qsort(v, n, sizeof *v, cmp64);
  static const double p[] = { 0.5, 0.9, 0.99 };
  static const char *const k[] = { "p50", "p90", "p99" };
  json_t *d = json_pack("{s:I, s:f, s:f}", "n", (json_int_t)n, "min", lg_ms(v[0]), "max",
                        lg_ms(v[n - 1]));
  for (size_t i = 0; i < ARRAY_SIZE(p); i++) {
    /* nearest rank: the smallest value with at least p of the values at or below it */
    size_t rank = (size_t)(p[i] * (double)n + 0.999999);
    json_object_set_new(d, k[i], json_real(lg_ms(v[rank ? rank - 1 : 0])));
  }
  return d;
}

json_t *lg_rss(void)
{
  return lg.pid > 0 ? lg_rss_of(lg.pid) : json_null();
}

json_t *lg_rss_of(pid_t pid)
{
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f) {
    fprintf(stderr, "%s: %s: %s\n", lg.prog, path, strerror(errno));
    exit(1);
  }
  long rss = -1, hwm = -1, anon = -1, file = -1;
  while (fgets(line, sizeof line, f)) {
    sscanf(line, "VmRSS: %ld", &rss);
    sscanf(line, "VmHWM: %ld", &hwm);
    sscanf(line, "RssAnon: %ld", &anon);
    sscanf(line, "RssFile: %ld", &file);
  }
  fclose(f);
  return json_pack("{s:I, s:I, s:I, s:I}", "rss_kib", (json_int_t)rss, "hwm_kib", (json_int_t)hwm,
                   "anon_kib", (json_int_t)anon, "file_kib", (json_int_t)file);
}

double lg_cpu_s(pid_t pid)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  cleanup_free char *s = NULL;
  size_t len;
  if (fs_read_file(path, 0, &s, &len, NULL) < 0)
    return -1;
  /* after the command's ")": state is field 3, utime and stime fields 14 and 15 */
  const char *p = strrchr(s, ')');
  unsigned long long ut, st;
  if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- a string map --------------------------------------------------------------------- */

struct lg_map_entry {
  lg_map_entry_t *next;
  size_t value;
  char key[];
};

static size_t map_hash(const char *s)
{
  size_t x = 5381;
  for (; *s; s++)
    x = x * 33 + (unsigned char)*s;
  return x;
}

static lg_map_entry_t **map_slot(lg_map_t *m, const char *key)
{
  if (m->n >= m->nb * 2) { /* grow: chains stay short */
    size_t nb = m->nb ? m->nb * 4 : 4096;
    lg_map_entry_t **b = xcalloc(nb, sizeof *b);
    for (size_t i = 0; i < m->nb; i++)
      while (m->b[i]) {
        lg_map_entry_t *e = m->b[i];
        m->b[i] = e->next;
        e->next = b[map_hash(e->key) & (nb - 1)];
        b[map_hash(e->key) & (nb - 1)] = e;
      }
    free(m->b);
    m->b = b;
    m->nb = nb;
  }
  lg_map_entry_t **pp = &m->b[map_hash(key) & (m->nb - 1)];
  while (*pp && strcmp((*pp)->key, key))
    pp = &(*pp)->next;
  return pp;
}

size_t *lg_map_get(lg_map_t *m, const char *key, bool add)
{
  lg_map_entry_t **pp = map_slot(m, key);
  if (!*pp && add) {
    size_t kl = strlen(key);
    lg_map_entry_t *e = xmalloc(sizeof *e + kl + 1);
    memcpy(e->key, key, kl + 1);
    e->value = 0;
    e->next = NULL;
    *pp = e;
    m->n++;
  }
  return *pp ? &(*pp)->value : NULL;
}

void lg_map_del(lg_map_t *m, const char *key)
{
  lg_map_entry_t **pp = map_slot(m, key), *e = *pp;
  if (e) {
    *pp = e->next;
    free(e);
    m->n--;
  }
}

void lg_map_clear(lg_map_t *m)
{
  for (size_t i = 0; i < m->nb; i++)
    while (m->b[i]) {
      lg_map_entry_t *e = m->b[i];
      m->b[i] = e->next;
      free(e);
    }
  m->n = 0;
}

void lg_map_free(lg_map_t *m)
{
  lg_map_clear(m);
  free(m->b);
  *m = (lg_map_t){ 0 };
}

/* ---- base64 (etcd's gateway carries keys and values as base64) ---------------------------- */

static const char b64a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *lg_b64_encode(const char *s, size_t n)
{
  char *out = xmalloc(4 * ((n + 2) / 3) + 1), *p = out;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
    if (i + 1 < n)
      v |= (uint32_t)(unsigned char)s[i + 1] << 8;
    if (i + 2 < n)
      v |= (unsigned char)s[i + 2];
    *p++ = b64a[v >> 18];
    *p++ = b64a[(v >> 12) & 63];
    *p++ = i + 1 < n ? b64a[(v >> 6) & 63] : '=';
    *p++ = i + 2 < n ? b64a[v & 63] : '=';
  }
  *p = '\0';
  return out;
}

/* Stops at padding or at the first byte outside the alphabet. */
char *lg_b64_decode(const char *s)
{
  size_t n = strlen(s);
  char *out = xmalloc(n / 4 * 3 + 4), *p = out;
  uint32_t v = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    const char *c = strchr(b64a, s[i]);
    if (!c)
      break;
    v = (v << 6) | (uint32_t)(c - b64a);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *p++ = (char)((v >> bits) & 0xff);
    }
  }
  *p = '\0';
  return out;
}

/* ---- clients ------------------------------------------------------------------------------ */

static char *read_trimmed(const char *path)
{
  char *s;
  size_t len;
  berr_t err = BERR_INIT;
  if (fs_read_file(path, 0, &s, &len, &err) < 0)
    lg_die(path, &err);
  while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
    s[--len] = '\0';
  return s;
}

kc_t *lg_client(void)
{
  kc_config_t cfg = { .server = (char *)lg.url };
  cleanup_free char *token = NULL, *ca = NULL, *tpath = NULL, *cpath = NULL;
  if (lg.data) {
    cfg.token = token = read_trimmed(tpath = path_join(lg.data, "admin-token"));
    cfg.ca_pem = ca = read_trimmed(cpath = path_join(lg.data, "ca.crt"));
  } else if (lg.ca_file) {
    cfg.ca_pem = ca = read_trimmed(lg.ca_file);
  }
  kc_t *c;
  berr_t err = BERR_INIT;
  if (kc_new(&cfg, &c, &err) < 0)
    lg_die("client", &err);
  kc_set_timeout(c, 60000);
  return c;
}

void lg_request(kc_t *c, const char *method, const char *path, const char *accept, const char *body,
                long want, kc_resp_t *r)
{
  berr_t err = BERR_INIT;
  if (kc_do(c, method, path, NULL, accept, body, body ? strlen(body) : 0, r, &err) < 0)
    lg_die(path, &err);
  if (r->code != want)
    lg_die_reply(path, r);
}

void lg_warm_up(kc_t *c)
{
  kc_resp_t r;
  if (lg.etcd)
    lg_request(c, "POST", "/v3/maintenance/status", NULL, "{}", 200, &r);
  else
    lg_request(c, "GET", "/version", NULL, NULL, 200, &r);
  kc_resp_free(&r);
}

typedef struct lg_thread {
  void *(*fn)(void *);
  void *arg;
  pthread_barrier_t *go;
} lg_thread_t;

static void *lg_thread_main(void *arg)
{
  lg_thread_t *t = arg;
  lg_warm_up(*(kc_t **)t->arg);
  pthread_barrier_wait(t->go);
  return t->fn(t->arg);
}

int64_t lg_threads(void *(*fn)(void *), void *args, size_t size, size_t n)
{
  pthread_t *tid = xcalloc(n, sizeof *tid);
  lg_thread_t *t = xcalloc(n, sizeof *t);
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, (unsigned)n + 1);
  for (size_t i = 0; i < n; i++) {
    t[i] = (lg_thread_t){ fn, (char *)args + i * size, &go };
    pthread_create(&tid[i], NULL, lg_thread_main, &t[i]);
  }
  pthread_barrier_wait(&go);
  int64_t t0 = time_mono_ns();
  for (size_t i = 0; i < n; i++)
    pthread_join(tid[i], NULL);
  int64_t wall = time_mono_ns() - t0;
  pthread_barrier_destroy(&go);
  free(tid);
  free(t);
  return wall;
}

/* ---- watch ----------------------------------------------------------------------------- */

static void watch_signal(lg_watch_t *w, bool *flag)
{
  pthread_mutex_lock(&w->mu);
  *flag = true;
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->mu);
}

static bool watch_wait(lg_watch_t *w, bool *flag, long timeout_s)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += timeout_s;
  pthread_mutex_lock(&w->mu);
  while (!*flag && !w->ended)
    if (pthread_cond_timedwait(&w->cond, &w->mu, &ts) == ETIMEDOUT)
      break;
  bool ok = *flag;
  pthread_mutex_unlock(&w->mu);
  return ok;
}

/* One event of the pod called name, read at now. */
static int watch_saw(lg_watch_t *w, const char *name, json_t *obj, int64_t now)
{
  size_t pl = strlen(w->prefix);
  if (!name || strncmp(name, w->prefix, pl) || name[pl] != '-')
    return 0;
  if (!strcmp(name + pl + 1, "ready")) {
    if (!w->ready)
      watch_signal(w, &w->ready);
    return 0;
  }
  long i;
  if (w->index) {
    i = w->index(w, name);
  } else {
    char *end;
    i = strtol(name + pl + 1, &end, 10);
    if (*end)
      return 0;
  }
  if (i < 0 || (size_t)i >= w->n)
    return 0;
  return w->on_pod(w, (size_t)i, obj, now);
}

static int on_k8s_line(void *arg, const char *line, size_t len)
{
  lg_watch_t *w = arg;
  int64_t now = time_mono_ns(); /* before parsing: parsing is the client's cost */
  cleanup_json json_t *ev = json_loadb(line, len, 0, NULL);
  json_t *obj = json_object_get(ev, "object");
  if (!strcmp(json_str(ev, "type") ?: "", "ERROR")) {
    w->error = xasprintf("watch ERROR event: %.300s", line);
    return -1;
  }
  return watch_saw(w, json_str(json_object_get(obj, "metadata"), "name"), obj, now);
}

static int on_etcd_line(void *arg, const char *line, size_t len)
{
  lg_watch_t *w = arg;
  int64_t now = time_mono_ns();
  cleanup_json json_t *msg = json_loadb(line, len, 0, NULL);
  json_t *res = json_object_get(msg, "result"), *ev;
  if (!res) {
    w->error = xasprintf("etcd watch: %.300s", line);
    return -1;
  }
  size_t i;
  json_array_foreach(json_object_get(res, "events"), i, ev)
  {
    cleanup_free char *key = lg_b64_decode(json_str(json_object_get(ev, "kv"), "key") ?: "");
    const char *slash = strrchr(key, '/');
    if (watch_saw(w, slash ? slash + 1 : key, NULL, now) < 0)
      return -1;
  }
  return 0;
}

static size_t on_etcd_data(char *p, size_t size, size_t n, void *arg)
{
  lg_watch_t *w = arg;
  return kc_lines_feed(&w->lines, p, size * n) < 0 ? 0 : size * n;
}

static void etcd_watch(lg_watch_t *w)
{
  CURL *h = curl_easy_init();
  if (!h)
    abort();
  cleanup_free char *url = xasprintf("%s/v3/watch", lg.url);
  struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, w->req);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_etcd_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, w);
  if (lg.ca_file) {
    curl_easy_setopt(h, CURLOPT_CAPATH, NULL); /* the one CA, as berth's client does */
    curl_easy_setopt(h, CURLOPT_CAINFO, lg.ca_file);
  }
  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR && !w->error)
    w->error = xasprintf("etcd watch: %s", curl_easy_strerror(rc));
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
}

static void *watch_main(void *arg)
{
  lg_watch_t *w = arg;
  if (lg.etcd) {
    etcd_watch(w);
  } else {
    berr_t err = BERR_INIT;
    long code = 0;
    if (kc_stream(w->c, w->req, NULL, kc_lines_feed, &w->lines, &code, &err) < 0)
      w->error = xasprintf("watch: %s", err.msg);
    else if (code != 200 && !w->error)
      w->error = xasprintf("watch: HTTP %ld: %.300s", code, w->lines.pending.data ?: "");
    berr_clear(&err);
  }
  watch_signal(w, &w->ended);
  return NULL;
}

void lg_watch_start(lg_watch_t *w, kc_t *proto, const char *rv, const char *selector)
{
  w->lines = (kc_lines_t){ .on_line = lg.etcd ? on_etcd_line : on_k8s_line, .arg = w };
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cond, NULL);
  w->c = kc_clone(proto);
  if (lg.etcd) {
    cleanup_free char *k = lg_b64_encode(LG_ETCD_PREFIX, strlen(LG_ETCD_PREFIX));
    char end[] = LG_ETCD_PREFIX;
    end[strlen(end) - 1]++; /* the prefix's range end */
    cleanup_free char *e = lg_b64_encode(end, strlen(end));
    w->req = xasprintf("{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\","
                       "\"start_revision\":\"%lld\"}}",
                       k, e, atoll(rv) + 1);
  } else {
    /* the server ends the stream after the run's timeout at the latest */
    w->req
        = xasprintf(LG_PODS_PATH "?watch=1&resourceVersion=%s&timeoutSeconds=%ld%s%s", rv,
                    lg.timeout_s + 60, selector ? "&labelSelector=" : "", selector ? selector : "");
  }
  pthread_create(&w->thread, NULL, watch_main, w);
}

void lg_watch_sync(lg_watch_t *w, kc_t *c, const char *path, const char *body, long want)
{
  kc_resp_t r;
  lg_request(c, "POST", path, NULL, body, want, &r);
  kc_resp_free(&r);
  if (!watch_wait(w, &w->ready, 10)) {
    fprintf(stderr, "%s: the watch did not see its sync object within 10 s%s%s\n", lg.prog,
            w->error ? ": " : "", w->error ? w->error : "");
    exit(1);
  }
}

bool lg_watch_wait(lg_watch_t *w, long timeout_s)
{
  return watch_wait(w, &w->ended, timeout_s);
}

void lg_watch_free(lg_watch_t *w)
{
  pthread_join(w->thread, NULL);
  kc_free(w->c);
  free(w->req);
  free(w->error);
  kc_lines_free(&w->lines);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cond);
}
