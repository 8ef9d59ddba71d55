/* kube_api.c — requests and discovery for the cluster verbs. Discovery is
 * lazy: /api/v1 first, since most types a user names are core ones, and
 * /apis plus each group version only when the core group has no match. That
 * keeps `berth get pods` at two requests where kubectl sends a dozen. */
#include "cli/kube.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- requests ----------------------------------------------------------- */

void kube_reply_free(kube_reply_t *r)
{
  json_decref(r->json);
  r->json = NULL;
  kc_resp_free(&r->raw);
}

void kube_transport_fail(kube_t *k, berr_t *err)
{
  if (err->code != ECONNREFUSED) {
    kube_fail_err(err);
    return;
  }
  /* kubectl's words, naming host:port. */
  const char *server = kc_config(k->kc)->server;
  const char *host = strstr(server, "://");
  host = host ? host + 3 : server;
  fprintf(stderr,
          "The connection to the server %.*s was refused - did you specify the right host or "
          "port?\n",
          (int)strcspn(host, "/"), host);
  berr_clear(err);
}

int kube_call(kube_t *k, const char *method, const char *path, const char *ctype,
              const char *accept, json_t *body, kube_reply_t *out)
{
  memset(out, 0, sizeof *out);
  if (kube_connect(k) < 0)
    return -1;
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (body) {
    data = kube_json_compact(body);
    len = strlen(data);
  }
  berr_t err = BERR_INIT;
  if (kc_do(k->kc, method, path, ctype, accept, data, len, &out->raw, &err) < 0) {
    kube_transport_fail(k, &err);
    return -1;
  }
  out->code = out->raw.code;
  if (out->raw.body.len > 0)
    out->json = json_loadb(out->raw.body.data, out->raw.body.len, 0, NULL);
  return 0;
}

/* kubectl's words for a 422 Invalid: "The pods \"web\" is invalid: field:
 * message", one "* field: message" line per cause when there are several;
 * without causes the message is left out, as kubectl leaves it out. */
static char *invalid_message(json_t *status)
{
  json_t *d = json_object_get(status, "details");
  if (!json_is_object(d)) {
    const char *m = json_str(status, "message");
    return m && *m ? xasprintf("The request is invalid: %s", m) : xstrdup("The request is invalid");
  }
  json_t *causes = json_object_get(d, "causes");
  const char *kind = json_str(d, "kind"), *name = json_str(d, "name");
  buf_t b = { 0 };
  if ((kind && *kind) || (name && *name))
    buf_printf(&b, "The %s \"%s\" is invalid", kind ? kind : "", name ? name : "");
  else
    buf_puts(&b, "The request is invalid");
  size_t n = json_array_size(causes), i;
  json_t *c;
  if (n)
    buf_puts(&b, ": ");
  json_array_foreach(causes, i, c)
  {
    const char *f = json_str(c, "field"), *m = json_str(c, "message");
    buf_printf(&b, "%s%s: %s", n > 1 ? "\n* " : "", f ? f : "", m ? m : "");
  }
  return buf_steal(&b);
}

char *kube_reply_message(const kube_reply_t *r, const char *what)
{
  const char *reason = json_str(r->json, "reason");
  if (reason && !strcmp(reason, "Invalid") && json_is_object(r->json))
    return invalid_message(r->json);
  if (reason && !strcmp(reason, "Unauthorized")) {
    const char *m = json_str(r->json, "message");
    return xasprintf("error: You must be logged in to the server (%s)", m ? m : "Unauthorized");
  }
  char *msg = kc_status_message(r->code, r->json, r->raw.body.data);
  if (!what || !str_has_prefix(msg, "Error from server"))
    return msg;
  /* "Error from server (NotFound): msg" → "Error from server (NotFound): what msg" */
  char *colon = strstr(msg, ": ");
  if (!colon)
    return msg;
  char *out = xasprintf("%.*s: %s%s", (int)(colon - msg), msg, what, colon + 2);
  free(msg);
  return out;
}

int kube_reply_fail(const kube_reply_t *r, const char *what)
{
  cleanup_free char *msg = kube_reply_message(r, what);
  fprintf(stderr, "%s\n", msg);
  return 1;
}

void kube_print_warnings(const kube_reply_t *r)
{
  if (!r->raw.warning)
    return;
  /* Each header is `299 - "text"`; kubectl prints the text. */
  cleanup_free char *all = xstrdup(r->raw.warning);
  char *save = NULL;
  for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *q = strchr(line, '"');
    char *e = q ? strrchr(q + 1, '"') : NULL;
    if (q && e)
      fprintf(stderr, "Warning: %.*s\n", (int)(e - q - 1), q + 1);
    else
      fprintf(stderr, "Warning: %s\n", line);
  }
}

/* ---- paths -------------------------------------------------------------- */

char *kube_escape(const char *s)
{
  buf_t b = { 0 };
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
      buf_append(&b, p, 1);
    else
      buf_printf(&b, "%%%02X", *p);
  }
  return b.data ? buf_steal(&b) : xstrdup("");
}

void kube_query_add(buf_t *q, const char *key, const char *value)
{
  cleanup_free char *v = kube_escape(value);
  buf_printf(q, "%s%s=%s", q->len ? "&" : "", key, v);
}

char *kube_res_gv(const kube_res_t *r)
{
  return *r->group ? xasprintf("%s/%s", r->group, r->version) : xstrdup(r->version);
}

char *kube_res_display(const kube_res_t *r)
{
  char *s = *r->group ? xasprintf("%s.%s", r->kind, r->group) : xstrdup(r->kind);
  for (char *p = s; *p && *p != '.'; p++)
    *p = (char)tolower((unsigned char)*p);
  return s;
}

char *kube_path(const kube_res_t *r, const char *ns, const char *name, const char *sub,
                const char *query)
{
  buf_t b = { 0 };
  if (*r->group)
    buf_printf(&b, "/apis/%s/%s", r->group, r->version);
  else
    buf_printf(&b, "/api/%s", r->version);
  if (r->namespaced && ns) {
    cleanup_free char *e = kube_escape(ns);
    buf_printf(&b, "/namespaces/%s", e);
  }
  buf_printf(&b, "/%s", r->resource);
  if (name) {
    cleanup_free char *e = kube_escape(name);
    buf_printf(&b, "/%s", e);
  }
  if (sub)
    buf_printf(&b, "/%s", sub);
  if (query && *query)
    buf_printf(&b, "?%s", query);
  return buf_steal(&b);
}

/* ---- discovery ---------------------------------------------------------- */

static char *lower(const char *s)
{
  char *l = xstrdup(s ? s : "");
  for (char *p = l; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  return l;
}

/* Adds the resources of one APIResourceList; subresources are skipped. */
static void add_resources(kube_t *k, const char *group, const char *version, json_t *list)
{
  json_t *e;
  size_t i;
  json_array_foreach(json_object_get(list, "resources"), i, e)
  {
    const char *name = json_str(e, "name"), *kind = json_str(e, "kind");
    if (!name || !kind || strchr(name, '/'))
      continue;
    k->res = xrealloc(k->res, (k->n_res + 1) * sizeof *k->res);
    kube_res_t *r = &k->res[k->n_res++];
    memset(r, 0, sizeof *r);
    r->group = xstrdup(group);
    r->version = xstrdup(version);
    r->resource = xstrdup(name);
    const char *sing = json_str(e, "singularName");
    r->singular = sing && *sing ? xstrdup(sing) : lower(kind);
    r->kind = xstrdup(kind);
    r->namespaced = json_bool(e, "namespaced", false);
    json_t *sn;
    size_t j;
    json_array_foreach(json_object_get(e, "shortNames"), j, sn)
    {
      if (json_is_string(sn))
        strv_push(&r->short_names, json_string_value(sn));
    }
    json_array_foreach(json_object_get(e, "categories"), j, sn)
    {
      if (json_is_string(sn))
        strv_push(&r->categories, json_string_value(sn));
    }
  }
}

/* GETs a discovery document; NULL after printing when it fails (404 is
 * quiet: a server without /apis serves the core group only). */
static json_t *discovery_get(kube_t *k, const char *path, bool *failed)
{
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "GET", path, NULL, "application/json, */*", NULL, &r) < 0) {
    *failed = true;
    return NULL;
  }
  if (r.code == 404)
    return NULL;
  if (r.code != 200 || !json_is_object(r.json)) {
    kube_reply_fail(&r, NULL);
    *failed = true;
    return NULL;
  }
  return steal_ptr(r.json);
}

static int discover_core(kube_t *k)
{
  if (k->core_found)
    return 0;
  bool failed = false;
  json_t *l = discovery_get(k, "/api/v1", &failed);
  if (failed)
    return -1;
  k->core_found = true;
  if (l)
    add_resources(k, "", "v1", l);
  json_decref(l);
  return 0;
}

static int discover_groups(kube_t *k)
{
  if (k->groups_found)
    return 0;
  bool failed = false;
  cleanup_json json_t *groups = discovery_get(k, "/apis", &failed);
  if (failed)
    return -1;
  k->groups_found = true;
  json_t *g;
  size_t i;
  json_array_foreach(json_object_get(groups, "groups"), i, g)
  {
    const char *name = json_str(g, "name");
    const char *pref = json_str(json_object_get(g, "preferredVersion"), "groupVersion");
    if (!name)
      continue;
    /* The preferred version first: it wins when a type is in several. */
    cleanup_strv char **gvs = NULL;
    if (pref)
      strv_push(&gvs, pref);
    json_t *v;
    size_t j;
    json_array_foreach(json_object_get(g, "versions"), j, v)
    {
      const char *gv = json_str(v, "groupVersion");
      if (gv && (!pref || strcmp(gv, pref)))
        strv_push(&gvs, gv);
    }
    for (size_t n = 0; gvs && gvs[n]; n++) {
      const char *slash = strchr(gvs[n], '/');
      if (!slash)
        continue;
      cleanup_free char *path = xasprintf("/apis/%s", gvs[n]);
      cleanup_json json_t *l = discovery_get(k, path, &failed);
      if (failed)
        return -1;
      if (l)
        add_resources(k, name, slash + 1, l);
    }
  }
  return 0;
}

static bool res_matches(const kube_res_t *r, const char *name)
{
  if (!strcmp(r->resource, name) || !strcmp(r->singular, name))
    return true;
  for (size_t i = 0; r->short_names && r->short_names[i]; i++)
    if (!strcmp(r->short_names[i], name))
      return true;
  return !strcasecmp(r->kind, name);
}

/* The first resource called name, in group (NULL: any group, core first)
 * and version (NULL: any). */
static const kube_res_t *find_res(kube_t *k, const char *name, const char *group,
                                  const char *version)
{
  for (size_t i = 0; i < k->n_res; i++) {
    const kube_res_t *r = &k->res[i];
    if (group && strcmp(r->group, group))
      continue;
    if (version && strcmp(r->version, version))
      continue;
    if (res_matches(r, name))
      return r;
  }
  return NULL;
}

static bool is_version(const char *s)
{
  /* v1, v2, v1beta1, v1alpha2 */
  if (s[0] != 'v' || !isdigit((unsigned char)s[1]))
    return false;
  const char *p = s + 1;
  while (isdigit((unsigned char)*p))
    p++;
  if (!*p)
    return true;
  if (str_has_prefix(p, "alpha"))
    p += 5;
  else if (str_has_prefix(p, "beta"))
    p += 4;
  else
    return false;
  if (!isdigit((unsigned char)*p))
    return false;
  while (isdigit((unsigned char)*p))
    p++;
  return !*p;
}

const kube_res_t *kube_resolve(kube_t *k, const char *type)
{
  cleanup_free char *t = lower(type);
  char *group = NULL, *version = NULL;
  char *dot = strchr(t, '.');
  if (dot) {
    *dot = '\0';
    group = dot + 1;
    char *d2 = strchr(group, '.');
    if (d2) {
      *d2 = '\0';
      if (is_version(group)) {
        version = group;
        group = d2 + 1;
      } else {
        *d2 = '.';
      }
    }
  }
  if (!group || !*group) {
    if (discover_core(k) < 0)
      return NULL;
    const kube_res_t *r = find_res(k, t, "", NULL);
    if (r)
      return r;
  }
  if (discover_core(k) < 0 || discover_groups(k) < 0)
    return NULL;
  const kube_res_t *r = find_res(k, t, group, version);
  if (!r)
    kube_fail("the server doesn't have a resource type \"%s\"", type);
  return r;
}

int kube_resolve_category(kube_t *k, const char *name, const kube_res_t ***out)
{
  *out = NULL;
  if (strchr(name, '.') || strchr(name, '/'))
    return 0;
  if (discover_core(k) < 0 || discover_groups(k) < 0)
    return -1;
  cleanup_free char *l = lower(name);
  if (find_res(k, l, NULL, NULL))
    return 0;
  int n = 0;
  for (size_t i = 0; i < k->n_res; i++) {
    const kube_res_t *r = &k->res[i];
    for (size_t j = 0; r->categories && r->categories[j]; j++) {
      if (strcmp(r->categories[j], l))
        continue;
      *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
      (*out)[n++] = r;
      break;
    }
  }
  return n;
}

const kube_res_t *kube_resolve_kind(kube_t *k, const char *api_version, const char *kind,
                                    char **why)
{
  const char *slash = strchr(api_version, '/');
  cleanup_free char *group = slash ? xstrndup(api_version, (size_t)(slash - api_version)) : NULL;
  const char *version = slash ? slash + 1 : api_version;
  *why = NULL;
  if (discover_core(k) < 0 || (group && discover_groups(k) < 0)) {
    *why = xstrdup("discovery failed");
    return NULL;
  }
  for (size_t i = 0; i < k->n_res; i++) {
    const kube_res_t *r = &k->res[i];
    if (!strcmp(r->group, group ? group : "") && !strcmp(r->version, version)
        && !strcmp(r->kind, kind))
      return r;
  }
  *why = xasprintf("no matches for kind \"%s\" in version \"%s\"", kind, api_version);
  return NULL;
}
