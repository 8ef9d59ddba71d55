/* test_net_client_berth.c — the HTTPS client (src/net/client*.c,
 * kubeconfig.c) against the real `berth server` (build/asan/berth next to
 * this binary) with its own DATA/admin.kubeconfig: /version, lists, 404 and
 * 401 replies, a watch that sees a namespace created meanwhile. The client
 * against a small test server of its own is in test_net_client.c. */
#include "api/api.h"
#include "net/client.h"
#include "net/mhd_dl.h"
#include "net/ws.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_net_util.h"

/* ---- the real berth server ------------------------------------------------ */

typedef struct berth_srv {
  pid_t pid;
  int port;
  char *dir, *kubeconfig;
} berth_srv_t;

static berth_srv_t bs;

static void dump_log(void)
{
  char *log = path_join(bs.dir, "log"), *text = NULL;
  size_t n;
  if (fs_read_file(log, 0, &text, &n, NULL) == 0)
    fprintf(stderr, "--- berth server log ---\n%s\n", text);
  free(text);
  free(log);
}

/* True when the server's log says its port was taken. */
static bool port_was_taken(void)
{
  char *log = path_join(bs.dir, "log"), *text = NULL;
  size_t n;
  bool taken = fs_read_file(log, 0, &text, &n, NULL) == 0 && strstr(text, "Address already in use");
  free(text);
  free(log);
  return taken;
}

/* Forks `berth server` on a free port (freed just before berth takes it)
 * and waits until /version answers over TLS with the kubeconfig it wrote;
 * false when it exited before, with its status in *st. */
static bool berth_try_start(const char *berth, int *st)
{
  int fd = listen_any(&bs.port);
  close(fd);
  char *listen = xasprintf("127.0.0.1:%d", bs.port);
  char *data = path_join(bs.dir, "data");
  char *log = path_join(bs.dir, "log");
  free(bs.kubeconfig);
  bs.kubeconfig = path_join(data, "admin.kubeconfig");
  bs.pid = fork();
  cr_assert_geq(bs.pid, 0);
  if (bs.pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(lfd, 1);
    dup2(lfd, 2);
    execl(berth, "berth", "--log-level", "debug", "server", "--listen", listen, "--data-dir", data,
          (char *)NULL);
    _exit(127);
  }
  free(listen);
  free(data);
  free(log);
  for (int i = 0; i < 600; i++) {
    if (waitpid(bs.pid, st, WNOHANG) == bs.pid) {
      bs.pid = 0;
      return false;
    }
    kc_config_t cfg;
    kc_t *c = NULL;
    kc_resp_t r;
    if (fs_exists(bs.kubeconfig) && kc_config_load(bs.kubeconfig, &cfg, NULL) == 0) {
      bool up = kc_new(&cfg, &c, NULL) == 0
                && kc_do(c, "GET", "/version", NULL, NULL, NULL, 0, &r, NULL) == 0;
      if (up)
        kc_resp_free(&r);
      kc_free(c);
      kc_config_free(&cfg);
      if (up)
        return true;
    }
    usleep(50 * 1000);
  }
  dump_log();
  cr_assert_fail("berth server did not come up");
  return false;
}

static void berth_start(void)
{
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  cr_assert_gt(n, 0);
  self[n] = '\0';
  char *berth = path_join(dirname(self), "berth");
  if (access(berth, X_OK) != 0) {
    free(berth);
    cr_skip_test("no berth binary next to the unit tests");
  }
  bs.dir = tmpdir();
  /* Another process may take the port between its release and berth's
   * bind (the tests run two at a time): then once more on another. */
  int st = 0;
  for (int attempt = 0; attempt < 3; attempt++) {
    if (berth_try_start(berth, &st)) {
      free(berth);
      return;
    }
    if (!port_was_taken())
      break;
  }
  free(berth);
  dump_log();
  cr_assert_fail("berth server exited (status 0x%x)", st);
}

static void berth_stop(void)
{
  if (bs.pid > 0) {
    kill(bs.pid, SIGTERM);
    int st;
    for (int i = 0; i < 200 && waitpid(bs.pid, &st, WNOHANG) == 0; i++)
      usleep(50 * 1000);
    if (waitpid(bs.pid, &st, WNOHANG) == 0) {
      kill(bs.pid, SIGKILL);
      waitpid(bs.pid, &st, 0);
    }
  }
  if (bs.dir)
    fs_rm_rf(bs.dir, NULL);
  free(bs.dir);
  free(bs.kubeconfig);
}

static kc_t *berth_client(void)
{
  kc_config_t cfg;
  berr_t err = BERR_INIT;
  cr_assert_eq(kc_config_load(bs.kubeconfig, &cfg, &err), 0, "%s", err.msg);
  char *want = xasprintf("https://127.0.0.1:%d", bs.port);
  cr_expect_str_eq(cfg.server, want);
  free(want);
  cr_expect_not_null(cfg.ca_pem);
  cr_expect_not_null(cfg.token);
  kc_t *c = NULL;
  cr_assert_eq(kc_new(&cfg, &c, &err), 0, "%s", err.msg);
  kc_config_free(&cfg);
  return c;
}

TestSuite(net_client_berth, .init = berth_start, .fini = berth_stop, .timeout = 90);

Test(net_client_berth, requests)
{
  kc_t *c = berth_client();
  berr_t err = BERR_INIT;
  long code = 0;
  json_t *out = NULL;
  cr_assert_eq(kc_json(c, "GET", "/version", NULL, NULL, &code, &out, &err), 0, "%s", err.msg);
  cr_expect_eq(code, 200);
  cr_expect_not_null(json_str(out, "gitVersion"));
  json_decref(out);

  cr_assert_eq(kc_json(c, "GET", "/api/v1/namespaces", NULL, NULL, &code, &out, &err), 0, "%s",
               err.msg);
  cr_expect_eq(code, 200);
  cr_expect_str_eq(json_str(out, "kind"), "NamespaceList");
  json_decref(out);

  cr_assert_eq(kc_json(c, "GET", "/api/v1/namespaces/nope", NULL, NULL, &code, &out, &err), 0);
  cr_expect_eq(code, 404);
  char *m = kc_status_message(code, out, NULL);
  cr_expect_str_eq(m, "Error from server (NotFound): namespaces \"nope\" not found");
  free(m);
  json_decref(out);

  /* A wrong token. */
  kc_config_t cfg = *kc_config(c);
  cfg.token = "wrong";
  kc_t *bad = NULL;
  cr_assert_eq(kc_new(&cfg, &bad, &err), 0);
  cr_assert_eq(kc_json(bad, "GET", "/api/v1/namespaces", NULL, NULL, &code, &out, &err), 0);
  cr_expect_eq(code, 401);
  m = kc_status_message(code, out, NULL);
  cr_expect(str_has_prefix(m, "Error from server (Unauthorized)"), "%s", m);
  free(m);
  json_decref(out);
  kc_free(bad);

  /* Another CA than the server's: EPROTO naming the URL. */
  char *cert = NULL, *key = NULL;
  make_cert(&cert, &key);
  cfg = *kc_config(c);
  cfg.ca_pem = cert;
  cr_assert_eq(kc_new(&cfg, &bad, &err), 0);
  cr_expect_lt(kc_json(bad, "GET", "/version", NULL, NULL, &code, &out, &err), 0);
  cr_expect_eq(err.code, EPROTO);
  char *want = xasprintf("get https://127.0.0.1:%d/version: ", bs.port);
  cr_expect(err.msg && str_has_prefix(err.msg, want), "%s", err.msg);
  berr_clear(&err);
  free(want);
  free(cert);
  free(key);
  kc_free(bad);
  kc_free(c);
}

typedef struct watch_seen {
  int added;
} watch_seen_t;

static int on_event(void *arg, const char *line, size_t len)
{
  watch_seen_t *s = arg;
  json_t *ev = json_loadb(line, len, 0, NULL);
  cr_assert_not_null(ev, "not JSON: %s", line);
  json_t *obj = json_object_get(ev, "object");
  const char *name = json_str(json_object_get(obj, "metadata"), "name");
  bool hit = !strcmp(json_str(ev, "type"), "ADDED") && name && !strcmp(name, "kc-watch");
  json_decref(ev);
  if (hit)
    s->added++;
  return hit ? -1 : 0;
}

static void *create_later(void *arg)
{
  kc_t *c = arg;
  usleep(300 * 1000);
  json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata",
                         "name", "kc-watch");
  long code = 0;
  berr_t err = BERR_INIT;
  int rc = kc_json(c, "POST", "/api/v1/namespaces", NULL, ns, &code, NULL, &err);
  json_decref(ns);
  berr_clear(&err);
  return (void *)(intptr_t)(rc == 0 ? code : -1);
}

Test(net_client_berth, watch)
{
  kc_t *c = berth_client();
  kc_t *other = kc_clone(c);
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, create_later, other), 0);
  watch_seen_t seen = { 0 };
  kc_lines_t l = { .on_line = on_event, .arg = &seen };
  berr_t err = BERR_INIT;
  long code = 0;
  cr_assert_eq(kc_stream(c, "/api/v1/namespaces?watch=1", NULL, kc_lines_feed, &l, &code, &err), 0,
               "%s", err.msg);
  void *created;
  pthread_join(t, &created);
  cr_expect_eq((intptr_t)created, 201);
  cr_expect_eq(code, 200);
  cr_expect_eq(seen.added, 1);
  kc_lines_free(&l);
  kc_free(other);
  kc_free(c);
}

Test(net_client_berth, refused)
{
  /* The server's port after it stopped: nobody listens. */
  berth_stop();
  bs = (berth_srv_t){ .port = bs.port };
  char *url = xasprintf("https://127.0.0.1:%d", bs.port);
  kc_config_t cfg = { .server = url };
  kc_t *c = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(kc_new(&cfg, &c, &err), 0);
  kc_resp_t r;
  cr_expect_lt(kc_do(c, "GET", "/api/v1/pods", NULL, NULL, NULL, 0, &r, &err), 0);
  cr_expect_eq(err.code, ECONNREFUSED);
  char *want = xasprintf("get %s/api/v1/pods: Connection refused", url);
  cr_expect_str_eq(err.msg, want);
  berr_clear(&err);
  kc_ws_t *w = NULL;
  cr_expect_lt(kc_ws_open(c, "/ws", NULL, &w, NULL, &err), 0);
  cr_expect_eq(err.code, ECONNREFUSED);
  berr_clear(&err);
  free(want);
  free(url);
  kc_free(c);
}
