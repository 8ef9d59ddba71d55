/* pod_env.c — what a container's spec says about its process, in the
 * kubelet's terms: the environment (env, envFrom, valueFrom: configMapKeyRef,
 * secretKeyRef, fieldRef, resourceFieldRef), $(VAR) expansion of env
 * values, command and args, and resources turned into the engine's limits.
 *
 * Expansion follows Kubernetes: $(NAME) is replaced when NAME was defined
 * earlier (for env values) or anywhere (for command and args); $$(NAME)
 * stays as the literal $(NAME); an unknown $(NAME) is left as it is. */
#include "agent/pod_internal.h"

#include "api/api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

/* ---- $(VAR) expansion -------------------------------------------------------------- */

static const char *env_get(char *const *env, const char *key, size_t klen)
{
  for (size_t i = 0; env && env[i]; i++)
    if (!strncmp(env[i], key, klen) && env[i][klen] == '=')
      return env[i] + klen + 1;
  return NULL;
}

char *pod_expand(const char *s, char *const *env)
{
  buf_t b = { 0 };
  buf_puts(&b, "");
  for (const char *p = s; *p;) {
    if (p[0] != '$') {
      buf_append(&b, p++, 1);
      continue;
    }
    if (p[1] == '$') { /* escaped */
      buf_append(&b, "$", 1);
      p += 2;
      continue;
    }
    if (p[1] == '(') {
      const char *end = strchr(p + 2, ')');
      if (end) {
        const char *v = env_get(env, p + 2, (size_t)(end - p - 2));
        if (v)
          buf_puts(&b, v);
        else
          buf_append(&b, p, (size_t)(end - p + 1));
        p = end + 1;
        continue;
      }
    }
    buf_append(&b, p++, 1);
  }
  return buf_steal(&b);
}

/* Sets KEY=VALUE, replacing an earlier KEY in place. */
static void env_put(char ***env, const char *key, const char *value)
{
  size_t klen = strlen(key);
  cleanup_free char *kv = xasprintf("%s=%s", key, value);
  for (size_t i = 0; *env && (*env)[i]; i++) {
    if (!strncmp((*env)[i], key, klen) && (*env)[i][klen] == '=') {
      free((*env)[i]);
      (*env)[i] = steal_ptr(kv);
      return;
    }
  }
  strv_push(env, kv);
}

/* A C identifier-ish name Kubernetes accepts ([-._a-zA-Z][-._a-zA-Z0-9]*). */
static bool env_name_ok(const char *s)
{
  if (!*s || (*s >= '0' && *s <= '9'))
    return false;
  for (; *s; s++)
    if (!(*s == '-' || *s == '.' || *s == '_' || (*s >= 'a' && *s <= 'z')
          || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
      return false;
  return true;
}

/* ---- references ---------------------------------------------------------------------- */

static char *labels_text(json_t *map)
{
  /* key="value" lines sorted by key, as the kubelet's downward API files. */
  buf_t b = { 0 };
  buf_puts(&b, "");
  const char **keys = xcalloc(json_object_size(map) + 1, sizeof *keys);
  size_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach(map, k, v) keys[n++] = k;
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
      const char *t = keys[j];
      keys[j] = keys[j - 1];
      keys[j - 1] = t;
    }
  for (size_t i = 0; i < n; i++) {
    const char *val = json_string_value(json_object_get(map, keys[i]));
    cleanup_free char *q = api_go_quote(val ? val : "", val ? strlen(val) : 0);
    buf_printf(&b, "%s%s=%s", i ? "\n" : "", keys[i], q);
  }
  free(keys);
  return buf_steal(&b);
}

/* "metadata.labels['app']" → the value of key app of metadata.labels. */
static bool subscript(const char *path, const char *prefix, char **key)
{
  size_t n = strlen(prefix);
  if (strncmp(path, prefix, n) || strncmp(path + n, "['", 2))
    return false;
  const char *k = path + n + 2, *end = strstr(k, "']");
  if (!end || end[2])
    return false;
  *key = xstrndup(k, (size_t)(end - k));
  return true;
}

int pod_field_ref(pod_mgr_t *m, pod_t *p, const char *path, char **value, berr_t *err)
{
  json_t *md = json_object_get(p->obj, "metadata");
  const char *v = NULL;
  cleanup_free char *key = NULL;
  if (!strcmp(path, "metadata.name"))
    v = p->name;
  else if (!strcmp(path, "metadata.namespace"))
    v = p->ns;
  else if (!strcmp(path, "metadata.uid"))
    v = p->uid;
  else if (!strcmp(path, "spec.nodeName"))
    v = json_str(p->spec, "nodeName") ? json_str(p->spec, "nodeName") : m->node_name;
  else if (!strcmp(path, "spec.serviceAccountName"))
    v = json_str(p->spec, "serviceAccountName") ? json_str(p->spec, "serviceAccountName") : "";
  else if (!strcmp(path, "status.podIP") || !strcmp(path, "status.podIPs"))
    v = p->ip ? p->ip : "";
  else if (!strcmp(path, "status.hostIP") || !strcmp(path, "status.hostIPs"))
    v = m->host_ip;
  else if (!strcmp(path, "metadata.labels") || !strcmp(path, "metadata.annotations")) {
    *value = labels_text(json_object_get(md, strchr(path, '.') + 1));
    return 0;
  } else if (subscript(path, "metadata.labels", &key))
    v = json_str(json_object_get(md, "labels"), key) ?: "";
  else if (subscript(path, "metadata.annotations", &key))
    v = json_str(json_object_get(md, "annotations"), key) ?: "";
  else
    return berr_setc(err, EINVAL, "unsupported fieldPath \"%s\"", path);
  *value = xstrdup(v);
  return 0;
}

static json_t *find_ctr(pod_t *p, const char *name)
{
  const char *lists[] = { "containers", "initContainers" };
  for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(p->spec, lists[l]), i,
                       c) if (!strcmp(json_str(c, "name") ?: "", name)) return c;
  }
  return NULL;
}

/* resourceFieldRef: limits.cpu (cores, rounded up by divisor), limits.memory,
 * requests.*; a missing limit is the node's capacity, as the kubelet says. */
static int resource_ref(pod_t *p, json_t *ctr, json_t *ref, char **value, berr_t *err)
{
  const char *cname = json_str(ref, "containerName");
  if (cname && *cname && !(ctr = find_ctr(p, cname)))
    return berr_setc(err, EINVAL, "resourceFieldRef: no container %s", cname);
  const char *res = json_str(ref, "resource");
  if (!res
      || (strcmp(res, "limits.cpu") && strcmp(res, "limits.memory") && strcmp(res, "requests.cpu")
          && strcmp(res, "requests.memory")))
    return berr_setc(err, EINVAL, "unsupported resourceFieldRef resource \"%s\"", res ? res : "");
  bool cpu = strstr(res, ".cpu") != NULL;
  const char *dot = strchr(res, '.');
  cleanup_free char *group = xstrndup(res, (size_t)(dot - res));
  json_t *q = json_object_get(json_object_get(json_object_get(ctr, "resources"), group), dot + 1);
  api_quantity_t qty, div = api_quantity_from_int(1, API_QTY_DECIMAL_SI);
  if (q && api_quantity_from_json(q, &qty, err) < 0)
    return berr_wrap(err, "resources.%s", res);
  if (!q) {
    struct sysinfo si;
    if (cpu)
      qty = api_quantity_from_int(sysconf(_SC_NPROCESSORS_ONLN), API_QTY_DECIMAL_SI);
    else if (sysinfo(&si) == 0)
      qty = api_quantity_from_int((int64_t)si.totalram * si.mem_unit, API_QTY_BINARY_SI);
    else
      qty = api_quantity_from_int(0, API_QTY_BINARY_SI);
  }
  json_t *d = json_object_get(ref, "divisor");
  if (d && (api_quantity_from_json(d, &div, err) < 0 || api_quantity_is_zero(&div)))
    return berr_setc(err, EINVAL, "resourceFieldRef: invalid divisor");
  /* ceil(value / divisor) on milli-units */
  int64_t a = api_quantity_milli(&qty), b = api_quantity_milli(&div);
  *value = xasprintf("%lld", (long long)((a + b - 1) / b));
  return 0;
}

/* Looks a configmap or secret up; *found false for a missing optional one. */
static int lookup(pod_mgr_t *m, pod_t *p, const char *kind, const char *name, const char *key,
                  bool optional, char **value, bool *found, berr_t *err)
{
  *value = NULL;
  *found = false;
  if (!m->o.lookup)
    return berr_setc(err, ENOENT, "%s \"%s\" not found (no lookup configured)",
                     !strcmp(kind, "secrets") ? "secret" : "configmap", name);
  berr_t lerr = BERR_INIT;
  if (m->o.lookup(m->o.arg, kind, p->ns, name, key, value, &lerr) < 0) {
    if (lerr.code == ENOENT && optional) {
      berr_clear(&lerr);
      return 0;
    }
    berr_move(err, &lerr);
    return -1;
  }
  *found = true;
  return 0;
}

static int env_from(pod_mgr_t *m, pod_t *p, json_t *src, char ***env, berr_t *err)
{
  const char *prefix = json_str(src, "prefix") ?: "";
  const char *kinds[][2] = { { "configMapRef", "configmaps" }, { "secretRef", "secrets" } };
  for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
    json_t *ref = json_object_get(src, kinds[k][0]);
    if (!ref)
      continue;
    const char *name = json_str(ref, "name") ?: "";
    cleanup_free char *text = NULL;
    bool found;
    if (lookup(m, p, kinds[k][1], name, NULL, json_bool(ref, "optional", false), &text, &found, err)
        < 0)
      return -1;
    if (!found)
      continue;
    json_error_t je;
    cleanup_json json_t *data = json_loads(text, 0, &je);
    if (!json_is_object(data))
      return berr_setc(err, EINVAL, "%s %s: the lookup did not return a JSON object", kinds[k][1],
                       name);
    const char *key;
    json_t *v;
    json_object_foreach(data, key, v)
    {
      cleanup_free char *full = xasprintf("%s%s", prefix, key);
      if (json_is_string(v) && env_name_ok(full))
        env_put(env, full, json_string_value(v));
    }
  }
  return 0;
}

static int env_value_from(pod_mgr_t *m, pod_t *p, json_t *ctr, json_t *vf, char **value,
                          bool *found, berr_t *err)
{
  *found = true;
  json_t *r;
  if ((r = json_object_get(vf, "fieldRef")))
    return pod_field_ref(m, p, json_str(r, "fieldPath") ?: "", value, err);
  if ((r = json_object_get(vf, "resourceFieldRef")))
    return resource_ref(p, ctr, r, value, err);
  const char *kinds[][2] = { { "configMapKeyRef", "configmaps" }, { "secretKeyRef", "secrets" } };
  for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
    if ((r = json_object_get(vf, kinds[k][0])))
      return lookup(m, p, kinds[k][1], json_str(r, "name") ?: "", json_str(r, "key") ?: "",
                    json_bool(r, "optional", false), value, found, err);
  return berr_setc(err, EINVAL, "unsupported valueFrom");
}

int pod_ctr_env(pod_mgr_t *m, pod_t *p, json_t *ctr, char ***env_out, char ***command, char ***args,
                berr_t *err)
{
  cleanup_strv char **env = xcalloc(1, sizeof *env);
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(ctr, "envFrom"), i,
                     e) if (env_from(m, p, e, &env, err) < 0) return -1;
  json_array_foreach(json_object_get(ctr, "env"), i, e)
  {
    const char *name = json_str(e, "name");
    if (!name)
      continue;
    cleanup_free char *value = NULL;
    json_t *vf = json_object_get(e, "valueFrom");
    if (vf) {
      bool found;
      if (env_value_from(m, p, ctr, vf, &value, &found, err) < 0)
        return berr_wrap(err, "env %s", name);
      if (!found)
        continue;
    } else {
      value = pod_expand(json_str(e, "value") ?: "", env);
    }
    env_put(&env, name, value);
  }
  const char *keys[] = { "command", "args" };
  char ***outs[] = { command, args };
  for (size_t k = 0; k < 2; k++) {
    *outs[k] = NULL;
    json_t *a = json_object_get(ctr, keys[k]);
    if (!json_array_size(a)) /* an empty list is no list, as the kubelet reads it */
      continue;
    char **v = xcalloc(1, sizeof *v);
    json_t *s;
    json_array_foreach(a, i, s)
    {
      cleanup_free char *x = pod_expand(json_string_value(s) ?: "", env);
      strv_push(&v, x);
    }
    *outs[k] = v;
  }
  *env_out = steal_ptr(env);
  return 0;
}

/* ---- resources ----------------------------------------------------------------------- */

static bool qty(json_t *res, const char *group, const char *name, api_quantity_t *q)
{
  json_t *v = json_object_get(json_object_get(res, group), name);
  return v && api_quantity_from_json(v, q, NULL) == 0 && !api_quantity_is_zero(q);
}

void pod_ctr_resources(json_t *ctr, int64_t *memory, int64_t *nano_cpus, int64_t *shares)
{
  json_t *res = json_object_get(ctr, "resources");
  api_quantity_t q;
  *memory = qty(res, "limits", "memory", &q) ? api_quantity_value(&q) : 0;
  *nano_cpus = 0;
  if (qty(res, "limits", "cpu", &q)) {
    int64_t milli = api_quantity_milli(&q);
    if (milli < 10) /* the kernel's smallest quota: 1 ms per 100 ms */
      milli = 10;
    *nano_cpus = milli > INT64_MAX / 1000000 ? INT64_MAX : milli * 1000000;
  }
  /* The kubelet's MilliCPUToShares: a request (else the limit it defaults
   * to), at least 2. */
  int64_t milli = 0;
  if (qty(res, "requests", "cpu", &q) || qty(res, "limits", "cpu", &q))
    milli = api_quantity_milli(&q);
  int64_t s = milli > INT64_MAX / 1024 ? 262144 : milli * 1024 / 1000;
  *shares = s < 2 ? 2 : s > 262144 ? 262144 : s;
}
