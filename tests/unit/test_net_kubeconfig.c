/* test_net_kubeconfig.c — the parts of the client that need no server:
 * kubeconfig search and resolution (YAML and JSON, files relative to the
 * kubeconfig, refused credentials and their messages), server URL checks,
 * kubectl-style status messages and the line splitter of watches. */
#include "api/api.h"
#include "net/client.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char *tmpdir(void)
{
  char t[] = "/tmp/berth-net-XXXXXX";
  cr_assert_not_null(mkdtemp(t));
  return xstrdup(t);
}

static void write_file(const char *dir, const char *name, const char *text)
{
  char *p = path_join(dir, name);
  berr_t err = BERR_INIT;
  cr_assert_eq(fs_write_atomic(p, text, strlen(text), 0600, &err), 0, "%s", err.msg);
  free(p);
}

typedef struct lines_seen {
  char *lines[16];
  int n, stop_after;
} lines_seen_t;

static int on_line(void *arg, const char *line, size_t len)
{
  lines_seen_t *s = arg;
  cr_assert_eq(strlen(line), len);
  if (s->n < 16)
    s->lines[s->n++] = xstrdup(line);
  return s->stop_after && s->n >= s->stop_after ? -1 : 0;
}

Test(net_client, status_messages)
{
  json_t *st = json_pack("{s:s, s:s, s:s}", "kind", "Status", "reason", "AlreadyExists", "message",
                         "namespaces \"a\" already exists");
  char *m = kc_status_message(409, st, "ignored");
  cr_expect_str_eq(m, "Error from server (AlreadyExists): namespaces \"a\" already exists");
  free(m);
  json_decref(st);
  st = json_pack("{s:s, s:s}", "kind", "Status", "message", "boom");
  m = kc_status_message(500, st, NULL);
  cr_expect_str_eq(m, "Error from server: boom");
  free(m);
  json_decref(st);
  st = json_pack("{s:s}", "kind", "Status");
  m = kc_status_message(500, st, NULL);
  cr_expect_str_eq(m, "Error from server: the server returned HTTP 500");
  free(m);
  json_decref(st);
  m = kc_status_message(503, NULL, NULL);
  cr_expect_str_eq(m, "the server returned HTTP 503");
  free(m);
  m = kc_status_message(502, NULL, "<h1>\x1b[31mred</h1>\n\n");
  cr_expect_str_eq(m, "the server returned HTTP 502: <h1> [31mred</h1>");
  free(m);
  char long_body[1000];
  memset(long_body, 'z', sizeof long_body - 1);
  long_body[sizeof long_body - 1] = '\0';
  m = kc_status_message(500, NULL, long_body);
  cr_expect_eq(strlen(m), strlen("the server returned HTTP 500: ") + 200);
  free(m);
}

Test(net_client, lines)
{
  lines_seen_t seen = { 0 };
  kc_lines_t l = { .on_line = on_line, .arg = &seen };
  const char *parts[] = { "a", "b\nc", "", "\r\n\nd\n", "tail" };
  for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
    cr_assert_eq(kc_lines_feed(&l, parts[i], strlen(parts[i])), 0);
  const char *want[] = { "ab", "c", "", "d" };
  cr_assert_eq(seen.n, 4);
  for (int i = 0; i < 4; i++) {
    cr_expect_str_eq(seen.lines[i], want[i]);
    free(seen.lines[i]);
  }
  cr_expect_eq(l.pending.len, 4); /* "tail" waits for its newline */
  kc_lines_free(&l);
  seen = (lines_seen_t){ .stop_after = 1 };
  l = (kc_lines_t){ .on_line = on_line, .arg = &seen };
  cr_expect_lt(kc_lines_feed(&l, "1\n2\n3\n", 6), 0);
  cr_expect_eq(seen.n, 1);
  free(seen.lines[0]);
  kc_lines_free(&l);
}

Test(net_client, server_urls)
{
  const char *bad[] = { "",
                        "127.0.0.1:6443",
                        "ftp://h",
                        "https://",
                        "https:///x",
                        "https://a b",
                        "https://h?x=1",
                        "https://u@h",
                        "https://h\r\n" };
  berr_t err = BERR_INIT;
  kc_t *c = NULL;
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    kc_config_t cfg = { .server = (char *)bad[i] };
    cr_expect_lt(kc_new(&cfg, &c, &err), 0, "%s accepted", bad[i]);
    cr_expect_eq(err.code, EINVAL);
    berr_clear(&err);
  }
  kc_config_t cfg = { .server = "https://h:1/pre/fix//", .token = "t" };
  cr_assert_eq(kc_new(&cfg, &c, &err), 0);
  cr_expect_str_eq(kc_config(c)->server, "https://h:1/pre/fix");
  cr_expect_str_eq(kc_config(c)->token, "t");
  kc_free(c);
  cfg = (kc_config_t){ .server = "https://h", .token = "a\r\nX-Evil: 1" };
  cr_expect_lt(kc_new(&cfg, &c, &err), 0);
  berr_clear(&err);
}

static kc_config_t load_ok(const char *dir, const char *text)
{
  write_file(dir, "config", text);
  char *p = path_join(dir, "config");
  kc_config_t cfg;
  berr_t err = BERR_INIT;
  cr_assert_eq(kc_config_load(p, &cfg, &err), 0, "%s", err.msg);
  free(p);
  return cfg;
}

static void load_fails(const char *dir, const char *text, int code, const char *msg)
{
  write_file(dir, "config", text);
  char *p = path_join(dir, "config");
  kc_config_t cfg;
  berr_t err = BERR_INIT;
  cr_expect_lt(kc_config_load(p, &cfg, &err), 0, "accepted: %s", text);
  cr_expect_eq(err.code, code, "%s", err.msg);
  char *want = xasprintf("%s: %s", p, msg);
  cr_expect_str_eq(err.msg, want);
  free(want);
  berr_clear(&err);
  free(p);
}

static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

Test(net_client, kubeconfig)
{
  char *dir = tmpdir();
  /* What `berth server` writes, in YAML. */
  char *b64 = api_base64_encode((const unsigned char *)pem, strlen(pem));
  char *yaml = xasprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: berth\n  cluster:\n"
                         "    server: https://127.0.0.1:6443/\n"
                         "    certificate-authority-data: %s\n"
                         "users:\n- name: admin\n  user:\n    token: abc\n"
                         "contexts:\n- name: other\n  context:\n    cluster: nope\n"
                         "- name: berth\n  context:\n    cluster: berth\n    user: admin\n"
                         "    namespace: team\n"
                         "current-context: berth\n",
                         b64);
  kc_config_t cfg = load_ok(dir, yaml);
  cr_expect_str_eq(cfg.server, "https://127.0.0.1:6443");
  cr_expect_str_eq(cfg.ca_pem, pem);
  cr_expect_str_eq(cfg.token, "abc");
  cr_expect_str_eq(cfg.namespace, "team");
  cr_expect_not(cfg.insecure);
  kc_config_free(&cfg);

  /* Files relative to the kubeconfig; insecure; no namespace. */
  write_file(dir, "ca.pem", pem);
  write_file(dir, "tok", "from-file\n");
  cfg = load_ok(dir,
                "{\"current-context\":\"x\",\"contexts\":[{\"name\":\"x\",\"context\":"
                "{\"cluster\":\"c\",\"user\":\"u\"}}],\"clusters\":[{\"name\":\"c\",\"cluster\":"
                "{\"server\":\"https://h\",\"certificate-authority\":\"ca.pem\","
                "\"insecure-skip-tls-verify\":true}}],\"users\":[{\"name\":\"u\",\"user\":"
                "{\"tokenFile\":\"tok\"}}]}");
  cr_expect_str_eq(cfg.ca_pem, pem);
  cr_expect_str_eq(cfg.token, "from-file");
  cr_expect(cfg.insecure);
  cr_expect_null(cfg.namespace);
  kc_config_free(&cfg);

  /* A context without a user: no token. */
  cfg = load_ok(dir, "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
                     "clusters:\n- name: c\n  cluster: {server: 'http://h:8080'}\n");
  cr_expect_str_eq(cfg.server, "http://h:8080");
  cr_expect_null(cfg.token);
  cr_expect_null(cfg.ca_pem);
  kc_config_free(&cfg);

  const char *head = "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
                     "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n";
  char *t = xasprintf("%susers:\n- name: u\n  user: {client-certificate-data: AAAA}\n", head);
  load_fails(dir, t, EINVAL, "client certificates are not supported; use a token");
  free(t);
  t = xasprintf("%susers:\n- name: u\n  user: {client-key: k.pem, token: x}\n", head);
  load_fails(dir, t, EINVAL, "client certificates are not supported; use a token");
  free(t);
  t = xasprintf("%susers:\n- name: u\n  user: {exec: {command: x}}\n", head);
  load_fails(dir, t, EINVAL, "exec credential plugins are not supported; use a token");
  free(t);
  load_fails(dir, head, EINVAL, "user \"u\" not found");
  load_fails(dir, "current-context: y\n", EINVAL, "context \"y\" not found");
  load_fails(dir, "kind: Config\n", EINVAL, "current-context is not set");
  load_fails(dir,
             "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
             "clusters:\n- name: c\n  cluster: {certificate-authority-data: \"!!\"}\n",
             EINVAL, "the cluster has no server");
  load_fails(dir,
             "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
             "clusters:\n- name: c\n  cluster: {server: https://h, "
             "certificate-authority-data: \"!!\"}\n",
             EINVAL, "certificate-authority-data is not valid base64");
  load_fails(dir,
             "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
             "clusters:\n- name: c\n  cluster: {server: https://h, "
             "certificate-authority-data: aGVsbG8=}\n",
             EINVAL, "certificate-authority-data holds no PEM certificate");
  free(yaml);
  free(b64);
  fs_rm_rf(dir, NULL);
  free(dir);
}

Test(net_client, kubeconfig_search)
{
  char *home = tmpdir();
  setenv("HOME", home, 1);
  unsetenv("KUBECONFIG");
  kc_config_t cfg;
  berr_t err = BERR_INIT;
  cr_expect_lt(kc_config_load(NULL, &cfg, &err), 0);
  cr_expect_eq(err.code, ENOENT);
  char *want = xasprintf("no kubeconfig: looked at %s/.berth/config, %s/.kube/config (use "
                         "--kubeconfig FILE)",
                         home, home);
  cr_expect_str_eq(err.msg, want);
  free(want);
  berr_clear(&err);

  const char *fmt = "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
                    "clusters:\n- name: c\n  cluster: {server: 'https://%s'}\n";
  char *kube = path_join(home, ".kube"), *berth = path_join(home, ".berth");
  fs_mkdir_p(kube, 0700, NULL);
  char *t = xasprintf(fmt, "kube");
  write_file(kube, "config", t);
  free(t);
  cr_assert_eq(kc_config_load(NULL, &cfg, &err), 0, "%s", err.msg);
  cr_expect_str_eq(cfg.server, "https://kube");
  kc_config_free(&cfg);
  fs_mkdir_p(berth, 0700, NULL);
  t = xasprintf(fmt, "berth");
  write_file(berth, "config", t);
  free(t);
  cr_assert_eq(kc_config_load(NULL, &cfg, &err), 0, "%s", err.msg);
  cr_expect_str_eq(cfg.server, "https://berth");
  kc_config_free(&cfg);

  /* $KUBECONFIG: its first existing file wins over both. */
  t = xasprintf(fmt, "env");
  write_file(home, "env", t);
  free(t);
  char *env = xasprintf("%s/missing::%s/env:%s/.kube/config", home, home, home);
  setenv("KUBECONFIG", env, 1);
  cr_assert_eq(kc_config_load(NULL, &cfg, &err), 0, "%s", err.msg);
  cr_expect_str_eq(cfg.server, "https://env");
  kc_config_free(&cfg);
  /* An explicit path wins over everything; a missing one is an error. */
  char *missing = path_join(home, "nope");
  cr_expect_lt(kc_config_load(missing, &cfg, &err), 0);
  cr_expect_eq(err.code, ENOENT);
  berr_clear(&err);
  unsetenv("KUBECONFIG");
  free(missing);
  free(env);
  free(kube);
  free(berth);
  fs_rm_rf(home, NULL);
  free(home);
}
