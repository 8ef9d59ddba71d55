/* test_server_auth.c — the server's authentication without a server: node
 * credentials (derivation pinned against an independent HMAC-SHA256, and
 * every way of tampering with one refused), the join token's format, the
 * constant-time secret comparison, srv_authenticate on each kind of token
 * and on garbage; and the proxy's pure parts: agent reply heads and chunked
 * bodies, whole and byte by byte. */
#include "server/internal.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#define SECRET "0123456789abcdef0123456789abcdef"
/* python3: hmac.new(SECRET, b"n1", hashlib.sha256).hexdigest() */
#define N1_MAC  "6de3cc2f3dc7a43615200ab2eff6ce9e3037120442e97895823fc94946e9a5f0"
#define CA_HASH "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define JOIN    "K10" CA_HASH "::node:joinsecret"

static srv_t test_srv(void)
{
  srv_t s = { 0 };
  s.admin_token = "admintoken0123456789";
  s.node_token = JOIN;
  s.node_secret = SECRET;
  return s;
}

Test(server_auth, sha256_hex)
{
  char *h = srv_sha256_hex("abc", 3);
  cr_expect_str_eq(h, CA_HASH);
  free(h);
}

Test(server_auth, secret_eq)
{
  cr_expect(srv_secret_eq("abc", "abc"));
  cr_expect(srv_secret_eq("", ""));
  cr_expect_not(srv_secret_eq("abc", "abd"));
  cr_expect_not(srv_secret_eq("abc", "ab"), "a prefix is not equal");
  cr_expect_not(srv_secret_eq("ab", "abc"));
  cr_expect_not(srv_secret_eq("abc", ""));
  cr_expect_not(srv_secret_eq(NULL, "abc"));
  cr_expect_not(srv_secret_eq("abc", NULL));
  cr_expect_not(srv_secret_eq(NULL, NULL));
  /* Only the content decides, not where it first differs. */
  char a[4096], b[4096];
  memset(a, 'x', sizeof a - 1);
  a[sizeof a - 1] = '\0';
  memcpy(b, a, sizeof b);
  cr_expect(srv_secret_eq(a, b));
  b[0] = 'y';
  cr_expect_not(srv_secret_eq(a, b));
  b[0] = 'x';
  b[sizeof b - 2] = 'y';
  cr_expect_not(srv_secret_eq(a, b));
}

Test(server_auth, join_token_parse)
{
  char *hash = NULL, *sec = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(srv_join_token_parse(JOIN, &hash, &sec, &err), 0, "%s", err.msg);
  cr_expect_str_eq(hash, CA_HASH);
  cr_expect_str_eq(sec, "joinsecret");
  free(hash);
  free(sec);
  /* Upper-case hex is the same pin. */
  cr_assert_eq(srv_join_token_parse("K10BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F2"
                                    "0015AD::node:x",
                                    &hash, NULL, &err),
               0);
  cr_expect_str_eq(hash, CA_HASH);
  free(hash);
  const char *bad[] = {
    "",
    "K10",
    CA_HASH, /* the old bare-hex node-token */
    "K11" CA_HASH "::node:s",
    "K10" CA_HASH "::node:",
    "K10" CA_HASH ":node:s",
    "K10" CA_HASH "::server:s",
    "K10ba7816bf::node:s",
    "K10zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad::node:s",
    "K10" CA_HASH "::node:has space",
    "K10" CA_HASH "::node:tab\t",
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    cr_expect_lt(srv_join_token_parse(bad[i], &hash, &sec, &err), 0, "accepted [%s]", bad[i]);
    cr_expect_eq(err.code, EINVAL);
    berr_clear(&err);
  }
  cr_expect_lt(srv_join_token_parse(NULL, NULL, NULL, NULL), 0);
}

Test(server_auth, node_credential)
{
  srv_t s = test_srv();
  char *c = srv_node_credential(&s, "n1");
  cr_expect_str_eq(c, "node:n1:" N1_MAC);
  char *again = srv_node_credential(&s, "n1"), *other = srv_node_credential(&s, "n2");
  cr_expect_str_eq(again, c);
  cr_expect_str_neq(other + strlen("node:n2:"), c + strlen("node:n1:"));
  s.node_secret = "another-secret-another-secret-xx";
  char *rekeyed = srv_node_credential(&s, "n1");
  cr_expect_str_neq(rekeyed, c);
  s.node_secret = NULL;
  cr_expect_null(srv_node_credential(&s, "n1"), "no secret, no credential");
  free(c);
  free(again);
  free(other);
  free(rekeyed);
}

static bool auth(srv_t *s, const char *hdr, srv_ident_t *id)
{
  return srv_authenticate(s, hdr, id);
}

Test(server_auth, authenticate_each_identity)
{
  srv_t s = test_srv();
  srv_ident_t id;
  cr_assert(auth(&s, "Bearer admintoken0123456789", &id));
  cr_expect(id.admin && !id.bootstrap && !id.node);
  srv_ident_clear(&id);
  cr_assert(auth(&s, "bearer admintoken0123456789  ", &id), "scheme is case-insensitive");
  cr_expect(id.admin);
  srv_ident_clear(&id);
  cr_assert(auth(&s, "Bearer " JOIN, &id));
  cr_expect(id.bootstrap && !id.admin && !id.node);
  srv_ident_clear(&id);
  cr_assert(auth(&s, "Bearer node:n1:" N1_MAC, &id));
  cr_expect(!id.admin && !id.bootstrap);
  cr_expect_str_eq(id.node, "n1");
  srv_ident_clear(&id);
  cr_expect_null(id.node);
  char *c = srv_node_credential(&s, "worker-2.example.com");
  char *h = xasprintf("Bearer %s", c);
  cr_assert(auth(&s, h, &id));
  cr_expect_str_eq(id.node, "worker-2.example.com");
  srv_ident_clear(&id);
  free(c);
  free(h);
}

Test(server_auth, authenticate_refuses_garbage)
{
  srv_t s = test_srv();
  srv_ident_t id;
  /* n2's name with n1's MAC, and every other way to get it wrong. */
  const char *bad[] = {
    NULL,
    "",
    "Bearer",
    "Bearer ",
    "Bearer    ",
    "Basic YWRtaW46YWRtaW4=",
    "admintoken0123456789",
    "Bearer admintoken012345678",
    "Bearer admintoken01234567890",
    "Bearer ADMINTOKEN0123456789",
    "Bearer K10" CA_HASH "::node:joinsecreT",
    "Bearer K10" CA_HASH,
    "Bearer joinsecret",
    "Bearer node:n2:" N1_MAC,
    "Bearer node:n1:" N1_MAC "0",
    "Bearer node:n1:6de3cc2f3dc7a43615200ab2eff6ce9e3037120442e97895823fc94946e9a5f",
    "Bearer node:n1:6DE3CC2F3DC7A43615200AB2EFF6CE9E3037120442E97895823FC94946E9A5F0",
    "Bearer node:n1:6de3cc2f3dc7a43615200ab2eff6ce9e3037120442e97895823fc94946e9a5f1",
    "Bearer node:n1",
    "Bearer node:n1:",
    "Bearer node::" N1_MAC,
    "Bearer node:N1:" N1_MAC,
    "Bearer node:n_1:" N1_MAC,
    "Bearer node:n1:x:" N1_MAC,
    "Bearer node:" N1_MAC,
    "Bearer \x01\x02\x03",
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    cr_expect_not(auth(&s, bad[i], &id), "accepted [%s]", bad[i] ? bad[i] : "(null)");
    cr_expect(!id.admin && !id.bootstrap && !id.node);
    srv_ident_clear(&id);
  }
  /* A credential made under another secret is refused. */
  s.node_secret = "another-secret-another-secret-xx";
  cr_expect_not(auth(&s, "Bearer node:n1:" N1_MAC, &id));
  /* No join token configured: the empty string matches nothing. */
  s = test_srv();
  s.node_token = NULL;
  cr_expect_not(auth(&s, "Bearer " JOIN, &id));
}

Test(server_auth, http_head_parse)
{
  const char *h = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "sec-websocket-protocol:  v5.channel.k8s.io \r\n\r\nFRAMES";
  srv_http_head_t hd;
  ssize_t n = srv_http_head_parse(h, strlen(h), &hd);
  cr_assert_eq(n, (ssize_t)(strlen(h) - strlen("FRAMES")));
  cr_expect_eq(hd.code, 101);
  cr_expect_str_eq(hd.ws_protocol, "v5.channel.k8s.io");
  cr_expect_eq(hd.content_length, -1);
  cr_expect_not(hd.chunked);
  srv_http_head_free(&hd);

  h = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n";
  cr_assert_eq(srv_http_head_parse(h, strlen(h), &hd), (ssize_t)strlen(h));
  cr_expect_eq(hd.code, 404);
  cr_expect_str_eq(hd.content_type, "application/json");
  cr_expect_eq(hd.content_length, 12);
  srv_http_head_free(&hd);

  h = "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  cr_assert_gt(srv_http_head_parse(h, strlen(h), &hd), 0);
  cr_expect(hd.chunked);
  srv_http_head_free(&hd);

  h = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n";
  cr_expect_eq(srv_http_head_parse(h, strlen(h), &hd), 0, "incomplete");
  srv_http_head_free(&hd);
  const char *bad[] = {
    "SSH-2.0-OpenSSH\r\n\r\n",
    "HTTP/1.1 2x0 OK\r\n\r\n",
    "HTTP/1.1 099 Early\r\n\r\n",
    "HTTP/2 200\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    cr_expect_lt(srv_http_head_parse(bad[i], strlen(bad[i]), &hd), 0, "accepted [%s]", bad[i]);
    srv_http_head_free(&hd);
  }
  /* A head that never ends is refused once it is too long to be one. */
  size_t big = 70 * 1024;
  char *junk = xmalloc(big);
  memset(junk, 'a', big);
  cr_expect_lt(srv_http_head_parse(junk, big, &hd), 0);
  free(junk);
}

/* Decodes body in pieces of step bytes; returns the payload. */
static char *dechunk(const char *body, size_t step, bool *done, bool *failed)
{
  srv_chunked_t c = { 0 };
  buf_t out = { 0 };
  size_t n = strlen(body);
  *done = *failed = false;
  for (size_t i = 0; i < n; i += step) {
    size_t k = n - i < step ? n - i : step;
    char *piece = xstrndup(body + i, k);
    ssize_t got = srv_chunked_decode(&c, piece, k, done);
    if (got < 0)
      *failed = true;
    else
      buf_append(&out, piece, (size_t)got);
    free(piece);
    if (*failed)
      break;
  }
  buf_append(&out, "", 0);
  return buf_steal(&out);
}

Test(server_auth, chunked_decode)
{
  const char *body = "5\r\nhello\r\n1;ext=1\r\n \r\n0b\r\nworld\r\nline\r\n0\r\nX-T: 1\r\n\r\n";
  for (size_t step = 1; step <= strlen(body); step++) {
    bool done, failed;
    char *out = dechunk(body, step, &done, &failed);
    cr_expect_not(failed, "step %zu", step);
    cr_expect(done, "step %zu", step);
    cr_expect_str_eq(out, "hello world\r\nline", "step %zu", step);
    free(out);
  }
  bool done, failed;
  char *out = dechunk("4\r\nabcd\r\n", 3, &done, &failed);
  cr_expect(!done && !failed);
  cr_expect_str_eq(out, "abcd");
  free(out);
  const char *bad[] = { "x\r\n", "\r\n", "4\r\nabcdXY", "fffffffffffffffff\r\n", "0\r\n\rX" };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    out = dechunk(bad[i], 64, &done, &failed);
    cr_expect(failed, "accepted [%s]", bad[i]);
    free(out);
  }
}
