/* auth.c — who is asking, and how a node joins.
 *
 * Three kinds of bearer tokens are recognised:
 *   - the admin token (DATA/admin-token): may do anything;
 *   - the join token (DATA/node-token), "K10<sha256 hex of ca.crt>::node:<secret>":
 *     the bootstrap identity, which may only register a node (POST
 *     /berth/v1/register). Its first half lets an agent pin the cluster CA it
 *     fetched unverified from /cacerts;
 *   - node credentials, "node:<name>:<hex HMAC-SHA256(node-secret, name)>":
 *     system:node:<name>. They are derived, not stored: the server recognises
 *     one by recomputing its MAC, so there is no table of tokens to keep, and
 *     a changed DATA/node-secret revokes every node at once.
 *
 * Registration stores a salted SHA-256 of the agent's own password under
 * /registry/berth.dev/nodepasswords/<name> (outside every served kind: no API
 * request can read it): the first agent to register a name owns it, and a
 * second machine claiming the same name is refused. Every comparison of a
 * secret goes through srv_secret_eq, whose time does not depend on content. */
#include "api/api.h"
#include "server/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define JOIN_PREFIX      "K10"
#define JOIN_SEP         "::node:"
#define NODE_CRED_PREFIX "node:"
#define PASSWORDS_PREFIX "/registry/berth.dev/nodepasswords/"
#define PASSWORD_MAX     1024
#define ADDRESSES_MAX    32
#define AGENT_CERT_DAYS  365

static char *hex(const uint8_t *b, size_t n)
{
  static const char digits[] = "0123456789abcdef";
  char *s = xmalloc(2 * n + 1);
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = digits[b[i] >> 4];
    s[2 * i + 1] = digits[b[i] & 15];
  }
  s[2 * n] = '\0';
  return s;
}

char *srv_sha256_hex(const void *data, size_t len)
{
  struct sha256_ctx ctx;
  uint8_t d[SHA256_DIGEST_SIZE];
  sha256_init(&ctx);
  sha256_update(&ctx, len, data);
  sha256_digest(&ctx, sizeof d, d);
  return hex(d, sizeof d);
}

bool srv_secret_eq(const char *a, const char *b)
{
  if (!a || !b)
    return false;
  uint8_t da[SHA256_DIGEST_SIZE], db[SHA256_DIGEST_SIZE];
  struct sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, strlen(a), (const uint8_t *)a);
  sha256_digest(&ctx, sizeof da, da);
  sha256_init(&ctx);
  sha256_update(&ctx, strlen(b), (const uint8_t *)b);
  sha256_digest(&ctx, sizeof db, db);
  return memeql_sec(da, db, sizeof da) != 0;
}

static bool is_hex(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')
          || (s[i] >= 'A' && s[i] <= 'F')))
      return false;
  return true;
}

int srv_join_token_parse(const char *tok, char **ca_hash, char **secret, berr_t *err)
{
  const size_t hl = 2 * SHA256_DIGEST_SIZE, pl = strlen(JOIN_PREFIX), sl = strlen(JOIN_SEP);
  if (!tok || strlen(tok) < pl + hl + sl + 1 || strncmp(tok, JOIN_PREFIX, pl)
      || !is_hex(tok + pl, hl) || strncmp(tok + pl + hl, JOIN_SEP, sl))
    return berr_setc(err, EINVAL, "not a join token: want K10<sha256 of the CA>::node:<secret>");
  const char *sec = tok + pl + hl + sl;
  for (const char *p = sec; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f)
      return berr_setc(err, EINVAL, "not a join token: the secret has a space or control byte");
  if (ca_hash) {
    *ca_hash = xstrndup(tok + pl, hl);
    for (char *p = *ca_hash; *p; p++)
      if (*p >= 'A' && *p <= 'F')
        *p = (char)(*p - 'A' + 'a');
  }
  if (secret)
    *secret = xstrdup(sec);
  return 0;
}

char *srv_node_credential(srv_t *s, const char *node)
{
  if (!s->node_secret || !*s->node_secret || !node)
    return NULL;
  struct hmac_sha256_ctx ctx;
  uint8_t mac[SHA256_DIGEST_SIZE];
  hmac_sha256_set_key(&ctx, strlen(s->node_secret), (const uint8_t *)s->node_secret);
  hmac_sha256_update(&ctx, strlen(node), (const uint8_t *)node);
  hmac_sha256_digest(&ctx, sizeof mac, mac);
  cleanup_free char *h = hex(mac, sizeof mac);
  return xasprintf(NODE_CRED_PREFIX "%s:%s", node, h);
}

void srv_ident_clear(srv_ident_t *id)
{
  free(id->node);
  memset(id, 0, sizeof *id);
}

/* The node a credential claims to be, when it is shaped like one. */
static char *credential_node(const char *tok)
{
  if (!str_has_prefix(tok, NODE_CRED_PREFIX))
    return NULL;
  const char *name = tok + strlen(NODE_CRED_PREFIX), *colon = strrchr(name, ':');
  if (!colon || colon == name || colon - name > API_DNS1123_SUBDOMAIN_MAX
      || strlen(colon + 1) != 2 * SHA256_DIGEST_SIZE)
    return NULL;
  char *n = xstrndup(name, (size_t)(colon - name));
  if (!api_is_dns1123_subdomain(n, NULL)) {
    free(n);
    return NULL;
  }
  return n;
}

bool srv_authenticate(srv_t *s, const char *authorization, srv_ident_t *id)
{
  memset(id, 0, sizeof *id);
  if (!authorization || strncasecmp(authorization, "Bearer ", 7))
    return false;
  const char *p = authorization + 7;
  while (*p == ' ')
    p++;
  cleanup_free char *tok = xstrdup(p);
  size_t n = strlen(tok);
  while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
    tok[--n] = '\0';
  if (n == 0)
    return false;
  if (srv_secret_eq(tok, s->admin_token)) {
    id->admin = true;
    return true;
  }
  if (s->node_token && srv_secret_eq(tok, s->node_token)) {
    id->bootstrap = true;
    return true;
  }
  cleanup_free char *node = credential_node(tok);
  if (!node)
    return false;
  cleanup_free char *want = srv_node_credential(s, node);
  if (!want || !srv_secret_eq(tok, want))
    return false;
  id->node = steal_ptr(node);
  return true;
}

/* ---- registration ---------------------------------------------------------- */

static char *password_hash(const char *salt, const char *password)
{
  cleanup_free char *in = xasprintf("%s:%s", salt, password);
  return srv_sha256_hex(in, strlen(in));
}

/* Records node's password on its first registration, else checks it: 0 when
 * it matches, 1 when another password owns the name, -1 on a store error. */
static int check_password(srv_t *s, const char *node, const char *password, bool *first,
                          berr_t *err)
{
  cleanup_free char *key = xasprintf(PASSWORDS_PREFIX "%s", node);
  uint8_t raw[16];
  if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
    abort();
  cleanup_free char *salt = hex(raw, sizeof raw);
  cleanup_free char *h = password_hash(salt, password);
  cleanup_json json_t *rec = json_pack("{s:s, s:s}", "salt", salt, "sha256", h);
  cleanup_free char *val = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
  *first = false;
  if (store_create(s->store, key, val, strlen(val), NULL, err) == 0) {
    *first = true;
    return 0;
  }
  if (err->code != EEXIST)
    return -1;
  berr_clear(err);
  store_kv_t kv = { 0 };
  if (store_get(s->store, key, &kv, NULL, err) < 0)
    return -1;
  cleanup_json json_t *cur = json_loadb(kv.value, kv.len, 0, NULL);
  store_kv_free(&kv);
  const char *csalt = json_str(cur, "salt"), *chash = json_str(cur, "sha256");
  if (!csalt || !chash)
    return berr_setc(err, EIO, "%s: not a password record", key);
  cleanup_free char *mine = password_hash(csalt, password);
  return srv_secret_eq(mine, chash) ? 0 : 1;
}

static void bad_request(srv_resp_t *r, const char *field, const char *value, const char *why)
{
  if (value)
    srv_resp_status(r, 400, "BadRequest", NULL, NULL, "%s: Invalid value: \"%s\": %s", field, value,
                    why);
  else
    srv_resp_status(r, 400, "BadRequest", NULL, NULL, "%s: %s", field, why);
}

static bool is_ip(const char *s)
{
  unsigned char b[16];
  return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* Checks the registration request; NULL with r filled when it is bad. */
static json_t *register_body(srv_req_t *q, srv_resp_t *r)
{
  json_error_t je;
  json_t *o = json_loadb(q->body, q->body_len, 0, &je);
  if (!json_is_object(o)) {
    json_decref(o);
    srv_resp_status(r, 400, "BadRequest", NULL, NULL,
                    "the body must be a JSON object {\"node\",\"password\",\"addresses\"}");
    return NULL;
  }
  const char *node = json_str(o, "node"), *pw = json_str(o, "password");
  json_t *addrs = json_object_get(o, "addresses"), *a;
  size_t i;
  if (!node || !*node) {
    bad_request(r, "node", NULL, "Required value");
    goto bad;
  }
  api_errors_t errs = API_ERRORS_INIT;
  api_validate_name(&errs, "node", node, API_NAME_DNS_SUBDOMAIN, false);
  if (errs.n > 0) {
    cleanup_free char *msg = api_errors_string(&errs);
    api_errors_free(&errs);
    srv_resp_status(r, 400, "BadRequest", NULL, NULL, "%s", msg);
    goto bad;
  }
  if (!pw || !*pw) {
    bad_request(r, "password", NULL, "Required value");
    goto bad;
  }
  if (strlen(pw) > PASSWORD_MAX) {
    bad_request(r, "password", NULL, "Too long: must have at most 1024 bytes");
    goto bad;
  }
  if (addrs && (!json_is_array(addrs) || json_array_size(addrs) > ADDRESSES_MAX)) {
    bad_request(r, "addresses", NULL, "must be an array of at most 32 IP addresses");
    goto bad;
  }
  json_array_foreach(addrs, i, a)
  {
    if (!json_is_string(a) || !is_ip(json_string_value(a))) {
      cleanup_free char *f = xasprintf("addresses[%zu]", i);
      bad_request(r, f, json_is_string(a) ? json_string_value(a) : "",
                  "must be a valid IP address");
      goto bad;
    }
  }
  return o;
bad:
  json_decref(o);
  return NULL;
}

void srv_handle_register(srv_req_t *q, srv_resp_t *r)
{
  if (strcmp(q->method, "POST"))
    return srv_resp_status(r, 405, "MethodNotAllowed", NULL, NULL,
                           "the server does not allow this method on the requested resource");
  cleanup_json json_t *o = register_body(q, r);
  if (!o)
    return;
  const char *node = json_str(o, "node");
  berr_t err = BERR_INIT;
  bool first;
  int rc = check_password(q->srv, node, json_str(o, "password"), &first, &err);
  if (rc < 0) {
    srv_resp_status(r, err.code == ESHUTDOWN ? 503 : 500,
                    err.code == ESHUTDOWN ? "ServiceUnavailable" : "InternalError", NULL, NULL,
                    "register node \"%s\": %s", node, err.msg);
    return berr_clear(&err);
  }
  if (rc > 0) {
    log_warn("msg=\"node registration refused: another password\" node=%s", node);
    return srv_resp_status(r, 403, "Forbidden", "nodes", node,
                           "node \"%s\" is already registered with another password", node);
  }
  /* The serving certificate: the agent's addresses, its name, loopback. */
  cleanup_strv char **ips = NULL;
  json_t *a;
  size_t i;
  bool lo = false;
  json_array_foreach(json_object_get(o, "addresses"), i, a)
  {
    strv_push(&ips, json_string_value(a));
    lo = lo || !strcmp(json_string_value(a), "127.0.0.1");
  }
  if (!lo)
    strv_push(&ips, "127.0.0.1");
  char *dns[] = { (char *)node, !strcmp(node, "localhost") ? NULL : "localhost", NULL };
  cleanup_free char *cn = xasprintf("system:node:%s", node);
  cleanup_free char *cert = NULL, *key = NULL;
  if (srv_pki_issue(q->srv, cn, dns, ips, AGENT_CERT_DAYS, &cert, &key, &err) < 0) {
    srv_resp_status(r, 500, "InternalError", NULL, NULL, "register node \"%s\": %s", node, err.msg);
    return berr_clear(&err);
  }
  cleanup_free char *tok = srv_node_credential(q->srv, node);
  log_info("msg=\"node registered\" node=%s first=%s addresses=%zu", node, first ? "yes" : "no",
           strv_len(ips));
  srv_resp_json(r, 200, json_pack("{s:s, s:s, s:s}", "token", tok, "cert", cert, "key", key));
}

void srv_handle_cacerts(srv_req_t *q, srv_resp_t *r)
{
  if (strcmp(q->method, "GET") && strcmp(q->method, "HEAD"))
    return srv_resp_status(r, 405, "MethodNotAllowed", NULL, NULL,
                           "the server does not allow this method on the requested resource");
  r->code = 200;
  r->body = xstrdup(q->srv->ca_pem);
  r->len = strlen(r->body);
  r->content_type = "text/plain; charset=utf-8";
}
