/* agent.c — `berth agent`'s life cycle: options, joining the cluster,
 * registration, start and stop, plus the small helpers the other agent
 * files share (time formats, clients, the reference count).
 *
 * Joining pins the cluster with the token (agent.h): the CA the server hands
 * out on /cacerts is accepted only if its SHA-256 is the one in the token,
 * and everything after that verifies the server with it. Every start
 * registers again with the same password (DATA/password) and gets a fresh
 * node credential and serving certificate, so a restarted agent never runs
 * on credentials the server may have rotated. Transient failures (server
 * down, 5xx) are retried with back-off until SIGINT/SIGTERM; a wrong token,
 * a CA mismatch or a refused name are errors at once. */
#include "agent/agent_internal.h"
#include "api/api.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- shared helpers ----------------------------------------------------------- */

void agent_ref(agent_t *a)
{
  atomic_fetch_add(&a->refs, 1);
}

static void agent_free(agent_t *a)
{
  kc_free(a->kc);
  kc_free(a->lookup_kc);
  json_decref(a->bound);
  json_decref(a->ev_cache);
  pthread_mutex_destroy(&a->lock);
  pthread_mutex_destroy(&a->mgr_lock);
  pthread_mutex_destroy(&a->lookup_lock);
  pthread_mutex_destroy(&a->status_lock);
  pthread_cond_destroy(&a->cond);
  char **strs[] = { &a->server,  &a->join_token,  &a->data_dir, &a->engine_root, &a->node_name,
                    &a->node_ip, &a->listen_addr, &a->pod_cidr, &a->bridge,      &a->ca_pem,
                    &a->token,   &a->cert_pem,    &a->key_pem,  &a->node_uid };
  for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
    free(*strs[i]);
  strv_free(a->labels);
  free(a);
}

void agent_unref(agent_t *a)
{
  if (a && atomic_fetch_sub(&a->refs, 1) == 1)
    agent_free(a);
}

bool agent_sleep(agent_t *a, int64_t ms)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t ns = ts.tv_nsec + (ms % 1000) * 1000000;
  ts.tv_sec += ms / 1000 + ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  pthread_mutex_lock(&a->lock);
  while (!atomic_load(&a->stopping))
    if (pthread_cond_timedwait(&a->cond, &a->lock, &ts) == ETIMEDOUT)
      break;
  pthread_mutex_unlock(&a->lock);
  return !atomic_load(&a->stopping);
}

kc_t *agent_kc(agent_t *a)
{
  kc_t *c = kc_clone(a->kc);
  kc_set_timeout(c, AGENT_REQUEST_TIMEOUT_MS);
  return c;
}

char *agent_random_hex(size_t n)
{
  unsigned char raw[64];
  if (n > sizeof raw)
    n = sizeof raw;
  for (size_t got = 0; got < n;) {
    ssize_t r = getrandom(raw + got, n - got, 0);
    if (r < 0 && errno != EINTR)
      abort(); /* cannot fail on Linux >= 3.17 */
    if (r > 0)
      got += (size_t)r;
  }
  buf_t b = { 0 };
  for (size_t i = 0; i < n; i++)
    buf_printf(&b, "%02x", raw[i]);
  return buf_steal(&b);
}

bool agent_path_segment_ok(const char *s)
{
  if (!s || !*s || !strcmp(s, ".") || !strcmp(s, ".."))
    return false;
  for (; *s; s++)
    if (*s == '/' || *s == '?' || *s == '%' || *s == '#' || (unsigned char)*s <= ' ')
      return false;
  return true;
}

char *agent_reply_message(long code, json_t *reply)
{
  return kc_status_message(code, reply, NULL);
}

/* ---- options ---------------------------------------------------------------------- */

static int parse_listen(const char *s, char **addr, int *port, berr_t *err)
{
  const char *colon = strrchr(s, ':');
  if (!colon)
    return berr_setc(err, EINVAL, "invalid --listen \"%s\": want ADDR:PORT", s);
  int64_t p;
  if (parse_int64(colon + 1, &p, NULL) < 0 || p < 1 || p > 65535)
    return berr_setc(err, EINVAL, "invalid --listen \"%s\": bad port", s);
  *addr = colon == s ? xstrdup("0.0.0.0") : xstrndup(s, (size_t)(colon - s));
  struct in_addr in;
  if (inet_pton(AF_INET, *addr, &in) != 1) {
    free(steal_ptr(*addr));
    return berr_setc(err, EINVAL, "invalid --listen \"%s\": not an IPv4 address", s);
  }
  *port = (int)p;
  return 0;
}

/* The IPv4 address of the interface the default route leaves through. */
static char *default_route_ip(void)
{
  cleanup_fclose FILE *f = fopen("/proc/net/route", "re");
  if (!f)
    return NULL;
  char line[512], ifname[IF_NAMESIZE + 1] = "";
  while (fgets(line, sizeof line, f)) {
    char name[64];
    unsigned long dst, mask;
    if (sscanf(line, "%63s %lx %*x %*x %*d %*d %*d %lx", name, &dst, &mask) == 3 && dst == 0
        && mask == 0 && strlen(name) <= IF_NAMESIZE) {
      strcpy(ifname, name);
      break;
    }
  }
  if (!*ifname)
    return NULL;
  struct ifaddrs *ifs = NULL;
  if (getifaddrs(&ifs) < 0)
    return NULL;
  char *ip = NULL;
  for (struct ifaddrs *i = ifs; i && !ip; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || strcmp(i->ifa_name, ifname))
      continue;
    char buf[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf, sizeof buf))
      ip = xstrdup(buf);
  }
  freeifaddrs(ifs);
  return ip;
}

static int check_labels(char **labels, berr_t *err)
{
  for (size_t i = 0; labels && labels[i]; i++) {
    const char *eq = strchr(labels[i], '=');
    cleanup_free char *key = eq ? xstrndup(labels[i], (size_t)(eq - labels[i])) : NULL;
    cleanup_strv char **why = NULL;
    if (!eq)
      return berr_setc(err, EINVAL, "invalid node label \"%s\": want KEY=VALUE", labels[i]);
    if (!api_is_label_key(key, &why) || !api_is_label_value(eq + 1, &why))
      return berr_setc(err, EINVAL, "invalid node label \"%s\": %s", labels[i],
                       why && why[0] ? why[0] : "invalid");
  }
  return 0;
}

static int agent_init(agent_t *a, const agent_opts_t *o, berr_t *err)
{
  if (!o->server || !*o->server)
    return berr_setc(err, EINVAL, "the server's URL is required (--server https://HOST:PORT)");
  if (!str_has_prefix(o->server, "https://"))
    return berr_setc(err, EINVAL, "invalid server URL \"%s\": want https://HOST:PORT", o->server);
  if (!o->token || !*o->token)
    return berr_setc(err, EINVAL, "the join token is required (--token or --token-file)");
  if (check_labels(o->labels, err) < 0)
    return -1;
  a->server = xstrdup(o->server);
  size_t n = strlen(a->server);
  while (n > 0 && a->server[n - 1] == '/')
    a->server[--n] = '\0';
  a->join_token = xstrdup(o->token);
  a->data_dir = xstrdup(o->data_dir ? o->data_dir : AGENT_DEFAULT_DATA_DIR);
  a->engine_root = xstrdup(o->engine_root ? o->engine_root : "/var/lib/berth");
  if (o->node_name && *o->node_name) {
    a->node_name = xstrdup(o->node_name);
  } else {
    char host[HOST_NAME_MAX + 1] = "";
    if (gethostname(host, sizeof host - 1) < 0 || !*host)
      return berr_set(err, errno, "node name: gethostname");
    for (char *p = host; *p; p++)
      *p = (char)tolower((unsigned char)*p);
    a->node_name = xstrdup(host);
  }
  cleanup_strv char **why = NULL;
  if (!api_is_dns1123_subdomain(a->node_name, &why))
    return berr_setc(err, EINVAL, "invalid node name \"%s\": %s", a->node_name,
                     why && why[0] ? why[0] : "invalid");
  if (o->node_ip && *o->node_ip) {
    struct in_addr in;
    if (inet_pton(AF_INET, o->node_ip, &in) != 1)
      return berr_setc(err, EINVAL, "invalid node IP \"%s\": not an IPv4 address", o->node_ip);
    a->node_ip = xstrdup(o->node_ip);
  } else {
    a->node_ip = default_route_ip();
    if (!a->node_ip)
      a->node_ip = xstrdup("127.0.0.1");
  }
  if (parse_listen(o->listen ? o->listen : AGENT_DEFAULT_LISTEN, &a->listen_addr, &a->port, err)
      < 0)
    return -1;
  a->pod_cidr = xstrdup(o->pod_cidr ? o->pod_cidr : PODNET_DEFAULT_CIDR);
  a->bridge = xstrdup(o->bridge ? o->bridge : PODNET_DEFAULT_BRIDGE);
  a->labels = strv_dup(o->labels);
  a->max_pods = o->max_pods > 0 ? o->max_pods : AGENT_DEFAULT_MAX_PODS;
  a->backoff_base_ms = o->backoff_base_ms;
  a->backoff_max_ms = o->backoff_max_ms;
  if (agent_parse_eviction_hard(o->eviction_hard ? o->eviction_hard : AGENT_EVICTION_HARD,
                                &a->evict_bytes, &a->evict_percent, err)
      < 0)
    return -1;
  if (o->memory_capacity < 0)
    return berr_setc(err, EINVAL, "invalid memory capacity: must be more than 0");
  a->mem_capacity = o->memory_capacity;
  a->housekeeping_ms = o->housekeeping_ms > 0 ? o->housekeeping_ms : AGENT_HOUSEKEEPING_MS;
  a->heartbeat_ms = o->heartbeat_ms > 0 ? o->heartbeat_ms : AGENT_HEARTBEAT_MS;
  a->status_report_ms = o->status_report_ms > 0 ? o->status_report_ms : AGENT_STATUS_REPORT_MS;
  /* the bridge and the CIDR, before joining (the pod manager checks again) */
  cleanup_free char *ipam = path_join(a->data_dir, POD_IPAM_DIR);
  podnet_opts_t po = { .bridge = a->bridge, .cidr = a->pod_cidr, .state_dir = ipam };
  if (podnet_check(&po, err) < 0)
    return -1;
  if (fs_mkdir_p(a->data_dir, 0700, err) < 0)
    return berr_wrap(err, "data directory");
  return 0;
}

/* ---- joining ------------------------------------------------------------------------ */

/* True for failures worth retrying: the server is not (yet) there or busy. */
static bool transient(int code)
{
  return code == ECONNREFUSED || code == ETIMEDOUT || code == EAGAIN || code == ECONNRESET
         || code == EHOSTUNREACH || code == ENETUNREACH || code == EPROTO;
}

/* "K10<64 hex>::node:<secret>" → the CA hash (lowercase). */
static int parse_join_token(const char *tok, char hash[65], berr_t *err)
{
  const char *why = "want K10<sha256 of the CA>::node:<secret> (the server's DATA/node-token)";
  if (!str_has_prefix(tok, "K10"))
    return berr_setc(err, EINVAL, "invalid join token: %s", why);
  const char *h = tok + 3, *sep = strstr(h, "::");
  if (!sep || sep - h != 64 || !str_has_prefix(sep + 2, "node:") || !sep[2 + strlen("node:")])
    return berr_setc(err, EINVAL, "invalid join token: %s", why);
  for (int i = 0; i < 64; i++) {
    if (!isxdigit((unsigned char)h[i]))
      return berr_setc(err, EINVAL, "invalid join token: %s", why);
    hash[i] = (char)tolower((unsigned char)h[i]);
  }
  hash[64] = '\0';
  return 0;
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
  struct sha256_ctx c;
  uint8_t d[SHA256_DIGEST_SIZE];
  sha256_init(&c);
  sha256_update(&c, len, data);
  sha256_digest(&c, sizeof d, d);
  for (size_t i = 0; i < sizeof d; i++)
    snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int save(agent_t *a, const char *name, const char *data, berr_t *err)
{
  cleanup_free char *p = path_join(a->data_dir, name);
  if (fs_write_atomic(p, data, strlen(data), 0600, err) < 0)
    return berr_wrap(err, "save %s", p);
  return 0;
}

/* DATA/password: the agent's own secret, made on first start. */
static int load_password(agent_t *a, char **out, berr_t *err)
{
  cleanup_free char *p = path_join(a->data_dir, "password");
  size_t len;
  if (fs_exists(p)) {
    if (fs_read_file(p, 4096, out, &len, err) < 0)
      return berr_wrap(err, "read %s", p);
    while (len > 0 && ((*out)[len - 1] == '\n' || (*out)[len - 1] == ' '))
      (*out)[--len] = '\0';
    if (len > 0)
      return 0;
    free(steal_ptr(*out));
  }
  cleanup_free char *pw = agent_random_hex(32);
  if (save(a, "password", pw, err) < 0)
    return -1;
  *out = steal_ptr(pw);
  return 0;
}

/* Fetches the CA and checks it against the token; *ca gets the PEM. */
static int fetch_ca(agent_t *a, const char *want_hash, char **ca, berr_t *err)
{
  kc_config_t cfg = { .server = a->server, .insecure = true };
  kc_t *c = NULL;
  if (kc_new(&cfg, &c, err) < 0)
    return -1;
  kc_set_timeout(c, AGENT_REQUEST_TIMEOUT_MS);
  kc_resp_t r = { 0 };
  int rc = kc_do(c, "GET", "/cacerts", NULL, "*/*", NULL, 0, &r, err);
  kc_free(c);
  if (rc < 0)
    return -1;
  if (r.code != 200) {
    rc = berr_setc(err, r.code >= 500 || r.code == 429 ? EAGAIN : EBADMSG,
                   "get %s/cacerts: the server returned HTTP %ld", a->server, r.code);
    kc_resp_free(&r);
    return rc;
  }
  char got[65];
  sha256_hex(r.body.data ? r.body.data : "", r.body.len, got);
  if (strcmp(got, want_hash)) {
    kc_resp_free(&r);
    log_warn("msg=\"CA mismatch\" server=%s got=%s want=%s", a->server, got, want_hash);
    return berr_setc(err, EPERM, "the server's CA does not match the join token");
  }
  *ca = buf_steal(&r.body);
  kc_resp_free(&r);
  return 0;
}

static int join(agent_t *a, berr_t *err)
{
  char want[65];
  if (parse_join_token(a->join_token, want, err) < 0)
    return -1;
  cleanup_free char *ca = NULL, *password = NULL;
  if (fetch_ca(a, want, &ca, err) < 0 || load_password(a, &password, err) < 0)
    return -1;
  kc_config_t cfg = { .server = a->server, .ca_pem = ca, .token = a->join_token };
  kc_t *c = NULL;
  if (kc_new(&cfg, &c, err) < 0)
    return -1;
  kc_set_timeout(c, AGENT_REQUEST_TIMEOUT_MS);
  cleanup_json json_t *body = json_pack("{s:s, s:s, s:[s]}", "node", a->node_name, "password",
                                        password, "addresses", a->node_ip);
  cleanup_json json_t *reply = NULL;
  long code = 0;
  int rc = kc_json(c, "POST", "/berth/v1/register", NULL, body, &code, &reply, err);
  kc_free(c);
  if (rc < 0)
    return berr_wrap(err, "register node %s", a->node_name);
  if (code != 200 && code != 201) {
    cleanup_free char *msg = agent_reply_message(code, reply);
    int ec = code >= 500 || code == 429 ? EAGAIN : code == 401 || code == 403 ? EACCES : EBADMSG;
    return berr_setc(err, ec, "register node %s: %s", a->node_name, msg);
  }
  const char *tok = json_str(reply, "token"), *crt = json_str(reply, "cert"),
             *key = json_str(reply, "key");
  if (!tok || !*tok || !crt || !key)
    return berr_setc(err, EBADMSG, "register node %s: the reply has no token, cert and key",
                     a->node_name);
  if (save(a, "ca.crt", ca, err) < 0 || save(a, "token", tok, err) < 0
      || save(a, "serving.crt", crt, err) < 0 || save(a, "serving.key", key, err) < 0)
    return -1;
  a->ca_pem = steal_ptr(ca);
  a->token = xstrdup(tok);
  a->cert_pem = xstrdup(crt);
  a->key_pem = xstrdup(key);
  kc_config_t node = { .server = a->server, .ca_pem = a->ca_pem, .token = a->token };
  if (kc_new(&node, &a->kc, err) < 0)
    return -1;
  kc_set_timeout(a->kc, AGENT_REQUEST_TIMEOUT_MS);
  log_info("msg=\"node registered\" node=%s server=%s ip=%s", a->node_name, a->server, a->node_ip);
  return 0;
}

/* SIGINT or SIGTERM waiting (agent_run blocks them): give up retrying. */
static bool signalled(void)
{
  sigset_t p;
  return sigpending(&p) == 0 && (sigismember(&p, SIGINT) == 1 || sigismember(&p, SIGTERM) == 1);
}

/* Runs step until it succeeds or fails for good; transient failures are
 * logged and retried (1 s, doubling to 10 s). */
static int with_retries(agent_t *a, const char *what, int (*step)(agent_t *, berr_t *), berr_t *err)
{
  int64_t wait = 1000;
  for (;;) {
    berr_clear(err);
    if (step(a, err) == 0)
      return 0;
    if (!transient(err->code))
      return -1;
    log_warn("msg=\"%s failed, retrying\" node=%s retry_ms=%lld err=\"%s\"", what, a->node_name,
             (long long)wait, err->msg ? err->msg : "");
    for (int64_t left = wait; left > 0; left -= 200) {
      if (signalled() || !agent_sleep(a, left < 200 ? left : 200)) {
        cleanup_free char *last = steal_ptr(err->msg);
        return berr_setc(err, EINTR, "%s: interrupted while retrying: %s", what, last ? last : "");
      }
    }
    wait = wait * 2 > 10000 ? 10000 : wait * 2;
  }
}

/* ---- start and stop ------------------------------------------------------------------ */

int agent_start(const agent_opts_t *o, agent_t **out, berr_t *err)
{
  agent_t *a = xcalloc(1, sizeof *a);
  atomic_init(&a->refs, 1);
  pthread_mutex_init(&a->lock, NULL);
  pthread_mutex_init(&a->mgr_lock, NULL);
  pthread_mutex_init(&a->lookup_lock, NULL);
  pthread_mutex_init(&a->status_lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&a->cond, &ca);
  pthread_condattr_destroy(&ca);
  a->bound = json_object();
  a->ev_cache = json_object();
  if (agent_init(a, o, err) < 0 || with_retries(a, "join", join, err) < 0
      || with_retries(a, "node registration", agent_node_register, err) < 0
      || agent_pods_open(a, err) < 0 || agent_pods_start_writer(a, err) < 0
      || agent_http_start(a, err) < 0 || agent_node_start(a, err) < 0
      || agent_pods_start_watch(a, err) < 0 || agent_evict_start(a, err) < 0) {
    agent_stop(a);
    return -1;
  }
  log_info("msg=\"agent started\" node=%s server=%s listen=%s:%d data=%s", a->node_name, a->server,
           a->listen_addr, a->port, a->data_dir);
  *out = a;
  return 0;
}

void agent_stop(agent_t *a)
{
  if (!a)
    return;
  pthread_mutex_lock(&a->lock);
  atomic_store(&a->stopping, true);
  pthread_cond_broadcast(&a->cond);
  pthread_mutex_unlock(&a->lock);
  agent_http_stop(a);
  agent_evict_stop(a);
  agent_node_stop(a);
  agent_pods_close(a);
  log_info("msg=\"agent stopped\" node=%s", a->node_name ? a->node_name : "");
  agent_unref(a);
}

static void *second_signal(void *arg)
{
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  log_warn("msg=\"second signal while stopping: exiting now\" signal=%d", sig);
  _exit(128 + sig);
}

int agent_run(const agent_opts_t *o, berr_t *err)
{
  /* Blocked before any thread starts, so that every thread inherits the
   * mask and sigwait below gets them. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  agent_t *a = NULL;
  if (agent_start(o, &a, err) < 0) {
    if (err->code != EINTR)
      return -1;
    log_info("msg=\"agent stopped before it could join\" err=\"%s\"", err->msg);
    berr_clear(err);
    return 0;
  }
  int sig = 0;
  sigwait(&set, &sig);
  log_info("msg=\"agent stopping\" signal=%d", sig);
  /* A second signal while stopping ends the process at once. */
  pthread_t t;
  if (pthread_create(&t, NULL, second_signal, NULL) == 0)
    pthread_detach(t);
  agent_stop(a);
  return 0;
}
