/* client.c — requests to an API server or an agent over libcurl (client.h):
 * one reusable easy handle per kc_t, so that consecutive calls share one
 * keep-alive TLS connection; whole replies (kc_do, kc_json) and streamed
 * ones (kc_stream, split into lines by kc_lines_feed); the messages users
 * see for failed transfers and for error replies.
 *
 * Every request resets the handle and sets every option again: an option
 * left over from the previous call (a body, a method) can never leak into
 * the next one, while the connection cache survives the reset. HTTP/1.1 is
 * asked for everywhere so that the WebSocket and raw connections (which
 * write HTTP/1.1 themselves) negotiate the same ALPN as the requests. */
#include "net/client_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#define KC_DEFAULT_TIMEOUT_MS 30000L
/* Connecting (TCP and TLS handshake) gives up after this, whatever the
 * request's own timeout: a watch has none, yet a dead address must fail. */
#define KC_CONNECT_TIMEOUT_MS 30000L
/* A whole reply larger than this is refused (a list of every pod of a big
 * cluster stays far below; streams have no limit, only their lines do). */
#define KC_MAX_BODY (1024L * 1024 * 1024)
/* One line of a stream (a watch event, a log line) longer than this stops it. */
#define KC_MAX_LINE (64 * 1024 * 1024)
/* Warning headers kept per reply, in bytes. */
#define KC_MAX_WARNINGS (64 * 1024)

/* ---- configuration and client ----------------------------------------- */

void kc_config_free(kc_config_t *c)
{
  if (!c)
    return;
  free(c->server);
  free(c->ca_pem);
  free(c->token);
  free(c->namespace);
  *c = (kc_config_t){ 0 };
}

static bool has_ctl(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return true;
  return false;
}

/* "https://host:port/prefix/" → hostport and prefix (no trailing '/'). */
static int split_server(const char *url, char **hostport, char **prefix, berr_t *err)
{
  const char *rest = NULL;
  if (str_has_prefix(url, "https://"))
    rest = url + 8;
  else if (str_has_prefix(url, "http://"))
    rest = url + 7;
  size_t hl = rest ? strcspn(rest, "/") : 0;
  if (!rest || hl == 0 || has_ctl(url) || strpbrk(url, " ?#") || memchr(rest, '@', hl))
    return berr_setc(err, EINVAL, "invalid server URL \"%s\": want https://HOST[:PORT]", url);
  *hostport = xstrndup(rest, hl);
  size_t pl = strlen(rest + hl);
  while (pl > 0 && rest[hl + pl - 1] == '/')
    pl--;
  *prefix = xstrndup(rest + hl, pl);
  return 0;
}

int kc_new(const kc_config_t *cfg, kc_t **out, berr_t *err)
{
  const char *url = cfg->server ? cfg->server : "";
  cleanup_free char *hostport = NULL, *prefix = NULL;
  if (split_server(url, &hostport, &prefix, err) < 0)
    return -1;
  /* The token goes into a header line: a CR or LF would end it early. */
  if (cfg->token && has_ctl(cfg->token))
    return berr_setc(err, EINVAL, "the bearer token contains control characters");
  kc_t *c = xcalloc(1, sizeof *c);
  size_t scheme = str_has_prefix(url, "https://") ? 8 : 7;
  c->cfg.server = xasprintf("%.*s%s%s", (int)scheme, url, hostport, prefix);
  c->cfg.ca_pem = cfg->ca_pem ? xstrdup(cfg->ca_pem) : NULL;
  c->cfg.token = cfg->token ? xstrdup(cfg->token) : NULL;
  c->cfg.namespace = cfg->namespace ? xstrdup(cfg->namespace) : NULL;
  c->cfg.insecure = cfg->insecure;
  c->hostport = steal_ptr(hostport);
  c->prefix = steal_ptr(prefix);
  c->timeout_ms = KC_DEFAULT_TIMEOUT_MS;
  c->ca_fd = -1;
  *out = c;
  return 0;
}

kc_t *kc_clone(const kc_t *c)
{
  kc_t *n = NULL;
  if (kc_new(&c->cfg, &n, NULL) < 0)
    abort(); /* c's own configuration was accepted by kc_new */
  n->timeout_ms = c->timeout_ms;
  return n;
}

void kc_free(kc_t *c)
{
  if (!c)
    return;
  if (c->h)
    curl_easy_cleanup(c->h);
  if (c->ca_fd >= 0)
    close(c->ca_fd);
  free(c->ca_path);
  free(c->hostport);
  free(c->prefix);
  kc_config_free(&c->cfg);
  free(c);
}

void kc_set_timeout(kc_t *c, long ms)
{
  c->timeout_ms = ms < 0 ? 0 : ms;
}

const kc_config_t *kc_config(const kc_t *c)
{
  return &c->cfg;
}

void kc_resp_free(kc_resp_t *r)
{
  if (!r)
    return;
  buf_free(&r->body);
  free(r->content_type);
  free(r->warning);
  *r = (kc_resp_t){ 0 };
}

/* ---- curl setup and errors (shared with client_ws.c) ------------------- */

/* GnuTLS builds of libcurl before 8.x cannot take a CA from memory: hand
 * them the PEM as a file that never touches the disk. */
static int kc_ca_file(kc_t *c, berr_t *err)
{
  if (c->ca_path)
    return 0;
  cleanup_close int fd = memfd_create("berth-ca", MFD_CLOEXEC);
  if (fd < 0)
    return berr_set(err, errno, "memfd_create");
  const char *p = c->cfg.ca_pem;
  size_t n = strlen(p);
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return berr_set(err, errno, "write the CA to a memfd");
    p += w;
    n -= (size_t)w;
  }
  c->ca_path = xasprintf("/proc/self/fd/%d", fd);
  c->ca_fd = steal_fd(fd);
  return 0;
}

static bool kc_loopback(const char *hostport)
{
  size_t hl = hostport[0] == '[' ? strcspn(hostport, "]") + 1 : strcspn(hostport, ":");
  return (hl == 9 && !strncasecmp(hostport, "localhost", 9)) || str_has_prefix(hostport, "127.")
         || (hl == 5 && !strncmp(hostport, "[::1]", 5));
}

int kc_setup_handle(kc_t *c, CURL *h, char *errbuf, berr_t *err)
{
  if (c->cfg.insecure) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    /* Nothing is verified: do not let GnuTLS parse the system's CA store
     * (about 7 MiB of heap that stays). */
    curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
  } else if (c->cfg.ca_pem) {
    /* The kubeconfig's CA is the only one trusted, as with kubectl. */
    curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    struct curl_blob blob
        = { .data = c->cfg.ca_pem, .len = strlen(c->cfg.ca_pem), .flags = CURL_BLOB_COPY };
    if (c->ca_path || curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob) != CURLE_OK) {
      if (kc_ca_file(c, err) < 0)
        return -1;
      curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_path);
    }
  }
  /* Last, once nothing can fail: the caller clears it after the transfer. */
  errbuf[0] = '\0';
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, KC_CONNECT_TIMEOUT_MS);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "berth");
  /* As Go's ProxyFromEnvironment (kubectl): never a proxy for loopback. */
  if (kc_loopback(c->hostport))
    curl_easy_setopt(h, CURLOPT_PROXY, "");
  return 0;
}

static bool kc_tls_error(CURLcode rc)
{
  switch (rc) {
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_CLIENTCERT:
  case CURLE_USE_SSL_FAILED:
    return true;
  default:
    return false;
  }
}

int kc_curl_fail(berr_t *err, CURL *h, CURLcode rc, const char *errbuf, const char *method,
                 const char *url)
{
  long os = 0;
  if (h && curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os) != CURLE_OK)
    os = 0;
  const char *detail = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
  int code;
  if (rc == CURLE_COULDNT_CONNECT) {
    code = os > 0 ? (int)os : ECONNREFUSED;
    detail = strerror(code);
  } else if (rc == CURLE_OPERATION_TIMEDOUT) {
    code = ETIMEDOUT;
  } else if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY) {
    code = EHOSTUNREACH;
  } else if (kc_tls_error(rc) || rc == CURLE_WEIRD_SERVER_REPLY || rc == CURLE_PARTIAL_FILE
             || rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_HTTP2
             || rc == CURLE_BAD_CONTENT_ENCODING) {
    code = EPROTO;
  } else if (rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING) {
    code = ECONNRESET;
  } else {
    code = EIO;
  }
  /* GnuTLS builds append where the CAs came from: our memfd means nothing
   * to a user. */
  cleanup_free char *d = xstrdup(detail);
  char *ca = strstr(d, " CAfile:");
  if (ca) {
    *ca = '\0';
    while (ca > d && (ca[-1] == '.' || ca[-1] == ' '))
      *--ca = '\0';
  }
  detail = d;
  cleanup_free char *m = xstrdup(method);
  for (char *p = m; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  return berr_setc(err, code, "%s %s: %s", m, url, detail);
}

/* ---- requests ----------------------------------------------------------- */

typedef struct kc_xfer {
  buf_t warning;
  /* kc_do: the body, up to KC_MAX_BODY */
  buf_t *body;
  bool too_big;
  /* kc_stream: the caller's consumer */
  int (*on_data)(void *arg, const char *data, size_t len);
  void *arg;
  bool stopped;
} kc_xfer_t;

static size_t kc_on_header(char *p, size_t size, size_t n, void *arg)
{
  kc_xfer_t *x = arg;
  size_t len = size * n;
  if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
    /* A new reply (after a 100 Continue): only the final one's count. */
    x->warning.len = 0;
  } else if (len > 8 && !strncasecmp(p, "warning:", 8)) {
    const char *v = p + 8, *e = p + len;
    while (v < e && (*v == ' ' || *v == '\t'))
      v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
      e--;
    size_t vl = (size_t)(e - v);
    if (x->warning.len + vl + 1 <= KC_MAX_WARNINGS) {
      if (x->warning.len)
        buf_append(&x->warning, "\n", 1);
      buf_append(&x->warning, v, vl);
    }
  }
  return len;
}

static size_t kc_on_body(char *p, size_t size, size_t n, void *arg)
{
  kc_xfer_t *x = arg;
  size_t len = size * n;
  if (x->body) {
    if (x->body->len + len > (size_t)KC_MAX_BODY) {
      x->too_big = true;
      return 0;
    }
    buf_append(x->body, p, len);
    return len;
  }
  if (x->on_data(x->arg, p, len) < 0) {
    x->stopped = true;
    return 0;
  }
  return len;
}

static void slist_cleanup(struct curl_slist **l)
{
  if (*l)
    curl_slist_free_all(*l);
}

static bool kc_add_header(struct curl_slist **l, const char *fmt, const char *v)
{
  cleanup_free char *line = xasprintf(fmt, v);
  struct curl_slist *n = curl_slist_append(*l, line);
  if (!n)
    return false;
  *l = n;
  return true;
}

/* One transfer on c's handle; the reply goes to x (whole or streamed). */
static int kc_request(kc_t *c, const char *method, const char *path, const char *content_type,
                      const char *accept, const void *body, size_t len, long timeout_ms,
                      kc_xfer_t *x, long *code, berr_t *err)
{
  if (!path || path[0] != '/')
    return berr_setc(err, EINVAL, "%s %s: the path must start with '/'", method, path ? path : "");
  if (has_ctl(method) || has_ctl(path) || strchr(path, ' '))
    return berr_setc(err, EINVAL, "%s %s: invalid request path", method, path);
  if (!c->h && !(c->h = curl_easy_init()))
    return berr_setc(err, ENOMEM, "cannot create a curl handle");
  CURL *h = c->h;
  curl_easy_reset(h);
  char errbuf[CURL_ERROR_SIZE];
  if (kc_setup_handle(c, h, errbuf, err) < 0)
    return -1;
  cleanup_free char *url = xasprintf("%s%s", c->cfg.server, path);
  curl_easy_setopt(h, CURLOPT_URL, url);

  bool sends
      = body || !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH");
  if (sends) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
    if (strcmp(method, "POST"))
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  } else if (!strcmp(method, "HEAD")) {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (!strcmp(method, "GET")) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  }

  __attribute__((cleanup(slist_cleanup))) struct curl_slist *hdrs = NULL;
  bool ok = kc_add_header(&hdrs, "Accept: %s", accept ? accept : "application/json")
            && (!sends
                || kc_add_header(&hdrs, "Content-Type: %s",
                                 content_type ? content_type : "application/json"))
            && (!c->cfg.token || kc_add_header(&hdrs, "Authorization: Bearer %s", c->cfg.token))
            /* No "Expect: 100-continue" round trip before large bodies. */
            && kc_add_header(&hdrs, "Expect:%s", "");
  if (!ok)
    return berr_setc(err, ENOMEM, "cannot build the request headers");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, kc_on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, kc_on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);

  log_debug("msg=\"client request\" method=%s url=%s", method, url);
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  *code = status;
  /* errbuf is on this stack: curl must not keep it past this call. */
  cleanup_free char *detail = xstrdup(errbuf);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
  if (rc == CURLE_WRITE_ERROR && x->stopped)
    rc = CURLE_OK;
  if (x->too_big)
    return berr_setc(err, EMSGSIZE, "%s %s: the reply is larger than %ld bytes", method, url,
                     KC_MAX_BODY);
  if (rc != CURLE_OK)
    return kc_curl_fail(err, h, rc, detail, method, url);
  log_debug("msg=\"client reply\" method=%s url=%s code=%ld", method, url, status);
  return 0;
}

int kc_do(kc_t *c, const char *method, const char *path, const char *content_type,
          const char *accept, const void *body, size_t len, kc_resp_t *out, berr_t *err)
{
  *out = (kc_resp_t){ 0 };
  kc_xfer_t x = { .body = &out->body };
  int ret = kc_request(c, method, path, content_type, accept, body, len, c->timeout_ms, &x,
                       &out->code, err);
  if (ret == 0) {
    char *ct = NULL;
    if (curl_easy_getinfo(c->h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
      out->content_type = xstrdup(ct);
    if (x.warning.len)
      out->warning = buf_steal(&x.warning);
  } else {
    kc_resp_free(out);
  }
  buf_free(&x.warning);
  return ret;
}

int kc_json(kc_t *c, const char *method, const char *path, const char *content_type, json_t *body,
            long *code, json_t **out, berr_t *err)
{
  cleanup_free char *s = NULL;
  if (body && !(s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY)))
    return berr_setc(err, EINVAL, "%s %s: cannot serialise the request body", method, path);
  kc_resp_t r;
  if (kc_do(c, method, path, content_type, "application/json", s, s ? strlen(s) : 0, &r, err) < 0)
    return -1;
  if (code)
    *code = r.code;
  if (out)
    *out = r.body.len ? json_loadb(r.body.data, r.body.len, 0, NULL) : NULL;
  kc_resp_free(&r);
  return 0;
}

int kc_stream(kc_t *c, const char *path, const char *accept,
              int (*on_data)(void *arg, const char *data, size_t len), void *arg, long *code,
              berr_t *err)
{
  kc_xfer_t x = { .on_data = on_data, .arg = arg };
  long status = 0;
  int ret = kc_request(c, "GET", path, NULL, accept, NULL, 0, 0, &x, &status, err);
  buf_free(&x.warning);
  if (code)
    *code = status;
  return ret;
}

/* ---- messages ----------------------------------------------------------- */

char *kc_status_message(long code, json_t *reply, const char *raw)
{
  const char *kind = json_str(reply, "kind");
  if (kind && !strcmp(kind, "Status")) {
    const char *reason = json_str(reply, "reason"), *msg = json_str(reply, "message");
    cleanup_free char *dflt = NULL;
    if (!msg || !*msg)
      msg = dflt = xasprintf("the server returned HTTP %ld", code);
    if (reason && *reason)
      return xasprintf("Error from server (%s): %s", reason, msg);
    return xasprintf("Error from server: %s", msg);
  }
  if (!raw || !*raw)
    return xasprintf("the server returned HTTP %ld", code);
  /* The start of the body, on one line and without terminal controls. */
  size_t n = strnlen(raw, 200);
  while (n > 0 && isspace((unsigned char)raw[n - 1]))
    n--;
  char *s = xstrndup(raw, n);
  for (char *p = s; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = ' ';
  char *m = xasprintf("the server returned HTTP %ld: %s", code, s);
  free(s);
  return m;
}

/* ---- lines -------------------------------------------------------------- */

int kc_lines_feed(void *lines, const char *data, size_t len)
{
  kc_lines_t *l = lines;
  /* What was pending holds no newline: look only at the new bytes for the
   * first one, so that a long line arriving in small chunks costs O(n). */
  size_t from = l->pending.len;
  buf_append(&l->pending, data, len);
  char *p = l->pending.data, *end = p + l->pending.len, *scan = p + from;
  for (;;) {
    char *nl = memchr(scan, '\n', (size_t)(end - scan));
    if (!nl)
      break;
    *nl = '\0';
    size_t ll = (size_t)(nl - p);
    if (ll > 0 && p[ll - 1] == '\r')
      p[--ll] = '\0';
    if (l->on_line(l->arg, p, ll) < 0) {
      /* The stream ends here: what follows is dropped. */
      l->pending.len = 0;
      l->pending.data[0] = '\0';
      return -1;
    }
    p = scan = nl + 1;
  }
  size_t rest = (size_t)(end - p);
  memmove(l->pending.data, p, rest);
  l->pending.len = rest;
  l->pending.data[rest] = '\0';
  return rest > KC_MAX_LINE ? -1 : 0;
}

void kc_lines_free(kc_lines_t *l)
{
  if (l)
    buf_free(&l->pending);
}
