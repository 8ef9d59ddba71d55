/* test_server_route.c — the server's pure helpers: listen addresses, API
 * paths, list continue tokens (round trip, and tampered tokens refused),
 * Table Accept headers, ages and metav1.Time. */
#include "server/server.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

Test(server_route, listen_addresses)
{
  char *addr = NULL;
  int port = 0;
  berr_t err = BERR_INIT;
  cr_assert_eq(srv_parse_listen("127.0.0.1:6443", &addr, &port, &err), 0);
  cr_expect_str_eq(addr, "127.0.0.1");
  cr_expect_eq(port, 6443);
  free(addr);
  cr_assert_eq(srv_parse_listen(":8443", &addr, &port, &err), 0);
  cr_expect_str_eq(addr, "0.0.0.0");
  cr_expect_eq(port, 8443);
  free(addr);
  const char *bad[] = { "6443", "x:0", "x:65536", "x:", "x:12a" };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    cr_expect_lt(srv_parse_listen(bad[i], &addr, &port, &err), 0, "%s accepted", bad[i]);
    cr_expect_eq(err.code, EINVAL);
    berr_clear(&err);
  }
}

static void expect_route(const char *path, const char *ns, const char *res, const char *name,
                         const char *sub)
{
  srv_route_t r;
  cr_assert_eq(srv_route_parse(path, &r), 0, "%s", path);
#define EQ(a, b) (((a) == NULL && (b) == NULL) || ((a) && (b) && !strcmp((a), (b))))
  cr_expect(EQ(r.ns, ns), "%s: ns %s", path, r.ns);
  cr_expect(EQ(r.resource, res), "%s: resource %s", path, r.resource);
  cr_expect(EQ(r.name, name), "%s: name %s", path, r.name);
  cr_expect(EQ(r.sub, sub), "%s: sub %s", path, r.sub);
  srv_route_free(&r);
}

Test(server_route, paths)
{
  expect_route("/api/v1/namespaces", NULL, "namespaces", NULL, NULL);
  expect_route("/api/v1/namespaces/x", NULL, "namespaces", "x", NULL);
  expect_route("/api/v1/namespaces/x/status", NULL, "namespaces", "x", "status");
  expect_route("/api/v1/namespaces/d/configmaps", "d", "configmaps", NULL, NULL);
  expect_route("/api/v1/namespaces/d/configmaps/c/", "d", "configmaps", "c", NULL);
  expect_route("/api/v1/namespaces/d/pods/p/log", "d", "pods", "p", "log");
  expect_route("/api/v1/configmaps", NULL, "configmaps", NULL, NULL);
  srv_route_t r;
  cr_expect_lt(srv_route_parse("/api/v1/", &r), 0);
  cr_expect_lt(srv_route_parse("/apis/apps/v1/deployments", &r), 0);
  cr_expect_lt(srv_route_parse("/api/v1/namespaces/d/pods/p/log/more", &r), 0);
  cr_expect_lt(srv_route_parse("/api/v1/configmaps/a/b/c", &r), 0);
}

Test(server_route, continue_tokens)
{
  char *tok = srv_continue_encode(42, "/registry/configmaps/default/web");
  int64_t rev = 0;
  char *after = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(srv_continue_decode(tok, &rev, &after, &err), 0, "%s", err.msg);
  cr_expect_eq(rev, 42);
  cr_expect_str_eq(after, "/registry/configmaps/default/web");
  free(after);
  free(tok);
  const char *bad[]
      = { "", "42", "42.", "x.2f", "0.2f", "-1.2f", "42.2", "42.2g", "42.002f", "42.2F" };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    cr_expect_lt(srv_continue_decode(bad[i], &rev, &after, &err), 0, "\"%s\" accepted", bad[i]);
    cr_expect_eq(err.code, EINVAL, "%s", bad[i]);
    berr_clear(&err);
  }
}

Test(server_route, table_accept)
{
  cr_expect(srv_accept_table("application/json;as=Table;v=v1;g=meta.k8s.io,"
                             "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"));
  cr_expect(!srv_accept_table("application/json"));
  cr_expect(!srv_accept_table("application/json, */*"));
  cr_expect(!srv_accept_table(NULL));
  /* as=Table in one alternative and the group in another is not a Table. */
  cr_expect(!srv_accept_table("application/json;as=Table,application/json;g=meta.k8s.io"));
}

Test(server_route, ages_and_times)
{
  const struct {
    int64_t s;
    const char *want;
  } cases[] = { { -5, "0s" },         { 0, "0s" },         { 119, "119s" },
                { 120, "2m" },        { 7199, "119m" },    { 7200, "2h" },
                { 47 * 3600, "47h" }, { 48 * 3600, "2d" }, { 800 * 86400, "2y" } };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    char *a = srv_human_age(cases[i].s * 1000000000LL);
    cr_expect_str_eq(a, cases[i].want, "%lld s", (long long)cases[i].s);
    free(a);
  }
  char *t = time_rfc3339_sec(1795307231123456789LL);
  cr_expect_str_eq(t, "2026-11-22T00:27:11Z");
  free(t);
  t = time_rfc3339_micro(1795307231123456789LL);
  cr_expect_str_eq(t, "2026-11-22T00:27:11.123456Z");
  free(t);
}
