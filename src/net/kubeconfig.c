/* kubeconfig.c — finds and reads a kubeconfig and resolves its current
 * context into a kc_config_t (client.h): server, CA, bearer token,
 * namespace.
 *
 * Only what berth can honour is accepted. A client certificate, an exec
 * plugin or an auth provider would otherwise be silently dropped and every
 * request would go out anonymous; those are refused with a message saying
 * what to use instead. Errors name the file, so a user with several
 * kubeconfigs knows which one is wrong. */
#include "net/client.h"
#include "api/api.h"

#include <errno.h>
#include <libgen.h>
#include <nettle/base64.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A kubeconfig, a CA file or a token file larger than this is not one. */
#define KC_MAX_FILE (4 * 1024 * 1024)

static char *home_dir(void)
{
  const char *h = getenv("HOME");
  if (h && *h)
    return xstrdup(h);
  struct passwd *pw = getpwuid(getuid());
  return xstrdup(pw && pw->pw_dir ? pw->pw_dir : "/");
}

/* The kubeconfig to read: path, else the first existing file of
 * $KUBECONFIG, else ~/.berth/config, else ~/.kube/config. */
static int find_kubeconfig(const char *path, char **out, berr_t *err)
{
  if (path) {
    *out = xstrdup(path);
    return 0;
  }
  buf_t looked = { 0 };
  const char *env = getenv("KUBECONFIG");
  if (env && *env) {
    cleanup_free char *list = xstrdup(env);
    char *save = NULL;
    for (char *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
      if (fs_exists(p)) {
        *out = xstrdup(p);
        buf_free(&looked);
        return 0;
      }
      buf_printf(&looked, "%s%s", looked.len ? ", " : "", p);
    }
    buf_puts(&looked, " ($KUBECONFIG)");
  }
  cleanup_free char *home = home_dir();
  const char *rel[] = { ".berth/config", ".kube/config" };
  for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
    char *p = path_join(home, rel[i]);
    if (fs_exists(p)) {
      *out = p;
      buf_free(&looked);
      return 0;
    }
    buf_printf(&looked, "%s%s", looked.len ? ", " : "", p);
    free(p);
  }
  berr_setc(err, ENOENT, "no kubeconfig: looked at %s (use --kubeconfig FILE)", looked.data);
  buf_free(&looked);
  return -1;
}

/* The "name"d entry of list (clusters, users, contexts), its inner object
 * under key ("cluster", "user", "context"). */
static json_t *named(json_t *doc, const char *list, const char *key, const char *name)
{
  json_t *arr = json_object_get(doc, list);
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e)
  {
    const char *n = json_str(e, "name");
    if (n && !strcmp(n, name)) {
      json_t *inner = json_object_get(e, key);
      return json_is_object(inner) ? inner : NULL;
    }
  }
  return NULL;
}

static bool present(json_t *obj, const char *key)
{
  json_t *v = json_object_get(obj, key);
  return v && !json_is_null(v) && !(json_is_string(v) && !*json_string_value(v));
}

static int decode_ca(const char *file, const char *b64, char **out, berr_t *err)
{
  size_t n = strlen(b64);
  cleanup_free uint8_t *raw = xmalloc(BASE64_DECODE_LENGTH(n) + 1);
  struct base64_decode_ctx ctx;
  size_t len = BASE64_DECODE_LENGTH(n);
  base64_decode_init(&ctx);
  if (!base64_decode_update(&ctx, &len, raw, n, b64) || !base64_decode_final(&ctx))
    return berr_setc(err, EINVAL, "%s: certificate-authority-data is not valid base64", file);
  raw[len] = '\0';
  if (!strstr((char *)raw, "-----BEGIN CERTIFICATE-----"))
    return berr_setc(err, EINVAL, "%s: certificate-authority-data holds no PEM certificate", file);
  *out = (char *)steal_ptr(raw);
  return 0;
}

/* A file named in the kubeconfig: relative to the kubeconfig's directory. */
static int read_rel(const char *file, const char *name, char **out, berr_t *err)
{
  cleanup_free char *copy = xstrdup(file);
  cleanup_free char *p = name[0] == '/' ? xstrdup(name) : path_join(dirname(copy), name);
  size_t len;
  if (fs_read_file(p, KC_MAX_FILE, out, &len, err) < 0)
    return berr_wrap(err, "%s", file);
  return 0;
}

static int read_cluster(const char *file, json_t *cl, kc_config_t *c, berr_t *err)
{
  const char *server = json_str(cl, "server");
  if (!server || !*server)
    return berr_setc(err, EINVAL, "%s: the cluster has no server", file);
  c->server = xstrdup(server);
  size_t n = strlen(c->server);
  while (n > 0 && c->server[n - 1] == '/')
    c->server[--n] = '\0';
  c->insecure = json_bool(cl, "insecure-skip-tls-verify", false);
  const char *data = json_str(cl, "certificate-authority-data");
  const char *ca = json_str(cl, "certificate-authority");
  if (data && *data) {
    if (decode_ca(file, data, &c->ca_pem, err) < 0)
      return -1;
  } else if (ca && *ca) {
    if (read_rel(file, ca, &c->ca_pem, err) < 0)
      return -1;
    if (!strstr(c->ca_pem, "-----BEGIN CERTIFICATE-----"))
      return berr_setc(err, EINVAL, "%s: certificate-authority %s holds no PEM certificate", file,
                       ca);
  }
  return 0;
}

static void trim_right(char *s)
{
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
    s[--n] = '\0';
}

static int read_user(const char *file, json_t *u, kc_config_t *c, berr_t *err)
{
  if (present(u, "client-certificate") || present(u, "client-certificate-data")
      || present(u, "client-key") || present(u, "client-key-data"))
    return berr_setc(err, EINVAL, "%s: client certificates are not supported; use a token", file);
  if (present(u, "exec"))
    return berr_setc(err, EINVAL, "%s: exec credential plugins are not supported; use a token",
                     file);
  if (present(u, "auth-provider"))
    return berr_setc(err, EINVAL, "%s: auth providers are not supported; use a token", file);
  const char *tok = json_str(u, "token");
  const char *tf = json_str(u, "tokenFile");
  if (tok && *tok) {
    c->token = xstrdup(tok);
  } else if (tf && *tf) {
    if (read_rel(file, tf, &c->token, err) < 0)
      return -1;
    trim_right(c->token);
  }
  return 0;
}

static int resolve(const char *file, json_t *doc, kc_config_t *c, berr_t *err)
{
  if (!json_is_object(doc))
    return berr_setc(err, EINVAL, "%s: not a kubeconfig (want a mapping)", file);
  const char *cur = json_str(doc, "current-context");
  if (!cur || !*cur)
    return berr_setc(err, EINVAL, "%s: current-context is not set", file);
  json_t *ctx = named(doc, "contexts", "context", cur);
  if (!ctx)
    return berr_setc(err, EINVAL, "%s: context \"%s\" not found", file, cur);
  const char *cl_name = json_str(ctx, "cluster"), *user = json_str(ctx, "user");
  if (!cl_name || !*cl_name)
    return berr_setc(err, EINVAL, "%s: context \"%s\" names no cluster", file, cur);
  json_t *cl = named(doc, "clusters", "cluster", cl_name);
  if (!cl)
    return berr_setc(err, EINVAL, "%s: cluster \"%s\" not found", file, cl_name);
  if (read_cluster(file, cl, c, err) < 0)
    return -1;
  if (user && *user) {
    json_t *u = named(doc, "users", "user", user);
    if (!u)
      return berr_setc(err, EINVAL, "%s: user \"%s\" not found", file, user);
    if (read_user(file, u, c, err) < 0)
      return -1;
  }
  const char *ns = json_str(ctx, "namespace");
  if (ns && *ns)
    c->namespace = xstrdup(ns);
  return 0;
}

int kc_config_load(const char *path, kc_config_t *out, berr_t *err)
{
  *out = (kc_config_t){ 0 };
  cleanup_free char *file = NULL;
  if (find_kubeconfig(path, &file, err) < 0)
    return -1;
  cleanup_free char *text = NULL;
  size_t len;
  if (fs_read_file(file, KC_MAX_FILE, &text, &len, err) < 0)
    return berr_wrap(err, "read kubeconfig");
  cleanup_json json_t *docs = api_yaml_load_all(text, len, err);
  if (!docs)
    return berr_wrap(err, "%s", file);
  if (json_array_size(docs) != 1)
    return berr_setc(err, EINVAL, "%s: want one YAML document, found %zu", file,
                     json_array_size(docs));
  kc_config_t c = { 0 };
  if (resolve(file, json_array_get(docs, 0), &c, err) < 0) {
    kc_config_free(&c);
    return -1;
  }
  *out = c;
  return 0;
}
