/* route.c — the parts of request handling that need neither HTTP nor the
 * store: listen addresses, API paths, continue tokens, Accept headers and
 * ages. Kept pure so that tests/unit/test_server_route.c can pin them. */
#include "server/server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int srv_parse_listen(const char *s, char **addr, int *port, berr_t *err)
{
  const char *colon = s ? strrchr(s, ':') : NULL;
  if (!colon)
    return berr_setc(err, EINVAL, "listen address \"%s\": want ADDR:PORT", s ? s : "");
  int64_t p;
  if (parse_int64(colon + 1, &p, NULL) < 0 || p < 1 || p > 65535)
    return berr_setc(err, EINVAL, "listen address \"%s\": bad port", s);
  *addr = colon == s ? xstrdup("0.0.0.0") : xstrndup(s, colon - s);
  *port = (int)p;
  return 0;
}

/* Splits buf in place at '/', returns the segments (at most max). */
static size_t split_path(char *buf, char **seg, size_t max)
{
  size_t n = 0;
  for (char *p = buf; *p;) {
    if (*p == '/') {
      *p++ = '\0';
      continue;
    }
    if (n == max)
      return max + 1;
    seg[n++] = p;
    while (*p && *p != '/')
      p++;
  }
  return n;
}

int srv_route_parse(const char *path, srv_route_t *r)
{
  memset(r, 0, sizeof *r);
  if (!str_has_prefix(path, "/api/v1/"))
    return -1;
  r->buf = xstrdup(path + strlen("/api/v1/"));
  char *seg[6];
  size_t n = split_path(r->buf, seg, 5);
  if (n == 0 || n > 5)
    goto bad;
  /* namespaces/NS/RESOURCE[/NAME[/SUB]] unless it is a namespace itself:
   * namespaces[/NAME[/SUB]]. A namespace's own subresources (status,
   * finalize) are the one place the two shapes meet. */
  bool ns_sub = n == 3 && (!strcmp(seg[2], "status") || !strcmp(seg[2], "finalize"));
  if (!strcmp(seg[0], "namespaces") && n >= 3 && !ns_sub) {
    r->ns = seg[1];
    r->resource = seg[2];
    r->name = n > 3 ? seg[3] : NULL;
    r->sub = n > 4 ? seg[4] : NULL;
  } else {
    if (n > 3)
      goto bad;
    r->resource = seg[0];
    r->name = n > 1 ? seg[1] : NULL;
    r->sub = n > 2 ? seg[2] : NULL;
  }
  return 0;
bad:
  srv_route_free(r);
  return -1;
}

void srv_route_free(srv_route_t *r)
{
  free(r->buf);
  memset(r, 0, sizeof *r);
}

char *srv_continue_encode(int64_t rev, const char *after)
{
  buf_t b = { 0 };
  buf_printf(&b, "%" PRId64 ".", rev);
  for (const unsigned char *p = (const unsigned char *)after; *p; p++)
    buf_printf(&b, "%02x", *p);
  return buf_steal(&b);
}

static int hexval(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

int srv_continue_decode(const char *tok, int64_t *rev, char **after, berr_t *err)
{
  const char *dot = strchr(tok, '.');
  cleanup_free char *num = dot ? xstrndup(tok, dot - tok) : NULL;
  size_t hl = dot ? strlen(dot + 1) : 1;
  if (!num || parse_int64(num, rev, NULL) < 0 || *rev < 1 || hl == 0 || hl % 2)
    return berr_setc(err, EINVAL, "continue key is not valid");
  char *out = xmalloc(hl / 2 + 1);
  for (size_t i = 0; i < hl / 2; i++) {
    int hi = hexval(dot[1 + 2 * i]), lo = hexval(dot[2 + 2 * i]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
      free(out);
      return berr_setc(err, EINVAL, "continue key is not valid");
    }
    out[i] = (char)(hi << 4 | lo);
  }
  out[hl / 2] = '\0';
  *after = out;
  return 0;
}

bool srv_accept_table(const char *accept)
{
  /* Each alternative is "type;param;param"; any with as=Table and
   * g=meta.k8s.io qualifies (kubectl offers JSON as the fallback). */
  if (!accept)
    return false;
  const char *p = accept;
  while (p && *p) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    cleanup_free char *alt = xstrndup(p, len);
    if (strstr(alt, "as=Table") && strstr(alt, "g=meta.k8s.io"))
      return true;
    p = end ? end + 1 : NULL;
  }
  return false;
}

char *srv_human_age(int64_t d)
{
  int64_t s = d < 0 ? 0 : d / 1000000000;
  if (s < 120)
    return xasprintf("%" PRId64 "s", s);
  int64_t m = s / 60;
  if (m < 120)
    return xasprintf("%" PRId64 "m", m);
  int64_t h = m / 60;
  if (h < 48)
    return xasprintf("%" PRId64 "h", h);
  int64_t days = h / 24;
  if (days < 365 * 2)
    return xasprintf("%" PRId64 "d", days);
  return xasprintf("%" PRId64 "y", days / 365);
}

char *srv_kubeconfig(int port, const char *ca_b64, const char *token)
{
  return xasprintf("apiVersion: v1\n"
                   "kind: Config\n"
                   "clusters:\n"
                   "- name: berth\n"
                   "  cluster:\n"
                   "    server: https://127.0.0.1:%d\n"
                   "    certificate-authority-data: %s\n"
                   "users:\n"
                   "- name: admin\n"
                   "  user:\n"
                   "    token: %s\n"
                   "contexts:\n"
                   "- name: berth\n"
                   "  context:\n"
                   "    cluster: berth\n"
                   "    user: admin\n"
                   "current-context: berth\n",
                   port, ca_b64, token);
}
