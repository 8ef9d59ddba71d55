/* kinds_pod.c — pods and nodes: their defaults and validation (the parts of
 * Kubernetes' SetDefaults_Pod / ValidatePod / ValidateNode a user meets:
 * required fields, names, quantities, enums, requests <= limits, what a pod
 * update may change) and kubectl's Table columns for them (READY, STATUS,
 * RESTARTS…; STATUS follows kubectl's printPod). */
#include "server/kinds.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- defaults ------------------------------------------------------------- */

static void set_default_str(json_t *o, const char *key, const char *v)
{
  if (!json_is_string(json_object_get(o, key)) || !*json_str(o, key))
    json_object_set_new(o, key, json_string(v));
}

static void set_default_int(json_t *o, const char *key, json_int_t v)
{
  if (!json_object_get(o, key))
    json_object_set_new(o, key, json_integer(v));
}

/* Always for :latest or no tag, IfNotPresent otherwise (Kubernetes' rule). */
static const char *default_pull_policy(const char *image)
{
  if (!image)
    return "IfNotPresent";
  const char *slash = strrchr(image, '/'), *at = strchr(image, '@');
  const char *last = slash ? slash + 1 : image;
  if (at)
    return "IfNotPresent";
  const char *colon = strrchr(last, ':');
  if (!colon || !strcmp(colon, ":latest"))
    return "Always";
  return "IfNotPresent";
}

/* A probe's zero or missing fields get Kubernetes' defaults. */
static void default_probe(json_t *pr)
{
  if (!json_is_object(pr))
    return;
  const struct {
    const char *key;
    json_int_t v;
  } d[] = { { "timeoutSeconds", 1 },
            { "periodSeconds", 10 },
            { "successThreshold", 1 },
            { "failureThreshold", 3 } };
  for (size_t i = 0; i < ARRAY_SIZE(d); i++) {
    json_t *v = json_object_get(pr, d[i].key);
    if (!v || json_is_null(v) || (json_is_integer(v) && json_integer_value(v) == 0))
      json_object_set_new(pr, d[i].key, json_integer(d[i].v));
  }
  json_t *h = json_object_get(pr, "httpGet");
  if (json_is_object(h)) {
    set_default_str(h, "path", "/");
    set_default_str(h, "scheme", "HTTP");
  }
}

static const char *const probe_keys[] = { "livenessProbe", "readinessProbe", "startupProbe" };

/* pod: SetDefaults_Pod's part too (requests from limits), which a
 * template does not get. */
static void default_container(json_t *c, bool pod)
{
  if (!json_is_object(c))
    return;
  for (size_t i = 0; i < ARRAY_SIZE(probe_keys); i++)
    default_probe(json_object_get(c, probe_keys[i]));
  set_default_str(c, "terminationMessagePath", "/dev/termination-log");
  set_default_str(c, "terminationMessagePolicy", "File");
  set_default_str(c, "imagePullPolicy", default_pull_policy(json_str(c, "image")));
  json_t *ports = json_object_get(c, "ports"), *p;
  size_t i;
  json_array_foreach(ports, i, p)
  {
    if (json_is_object(p))
      set_default_str(p, "protocol", "TCP");
  }
  json_t *res = json_object_get(c, "resources");
  if (!res) {
    res = json_object();
    json_object_set_new(c, "resources", res);
  }
  if (!pod)
    return;
  /* Limits without requests: the requests are the limits. */
  json_t *lim = json_object_get(res, "limits"), *req = json_object_get(res, "requests"), *v;
  const char *k;
  if (json_is_object(lim) && json_object_size(lim) > 0) {
    if (!json_is_object(req)) {
      req = json_object();
      json_object_set_new(res, "requests", req);
    }
    json_object_foreach(lim, k, v)
    {
      if (!json_object_get(req, k))
        json_object_set(req, k, v);
    }
  }
}

/* SetDefaults_PodSpec and the containers' and volumes' defaults: what a
 * pod and a pod template (Deployments, Jobs…) both get. pod adds
 * SetDefaults_Pod's part: the service account (the ServiceAccount
 * admission's default), service links, requests from limits. Priority is
 * the priority admission's (srv_admit_pod_priority), not a default. */
static void default_pod_spec(json_t *spec, bool pod)
{
  set_default_str(spec, "restartPolicy", "Always");
  set_default_str(spec, "dnsPolicy", "ClusterFirst");
  set_default_str(spec, "schedulerName", "default-scheduler");
  set_default_int(spec, "terminationGracePeriodSeconds", 30);
  if (pod) {
    set_default_str(spec, "serviceAccountName", "default");
    set_default_str(spec, "serviceAccount", json_str(spec, "serviceAccountName"));
    if (!json_object_get(spec, "enableServiceLinks"))
      json_object_set_new(spec, "enableServiceLinks", json_true());
  }
  if (!json_is_object(json_object_get(spec, "securityContext")))
    json_object_set_new(spec, "securityContext", json_object());
  const char *lists[] = { "initContainers", "containers" };
  for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
    json_t *cs = json_object_get(spec, lists[l]), *c;
    size_t i;
    json_array_foreach(cs, i, c) default_container(c, pod);
  }
  json_t *vols = json_object_get(spec, "volumes"), *v;
  size_t i;
  json_array_foreach(vols, i, v)
  {
    json_t *src;
    if ((src = json_object_get(v, "configMap")) || (src = json_object_get(v, "secret")))
      if (json_is_object(src))
        set_default_int(src, "defaultMode", 0644);
  }
}

/* ---- validation ------------------------------------------------------------- */

static bool str_in(const char *s, const char *const *set)
{
  for (size_t i = 0; set[i]; i++)
    if (!strcmp(s, set[i]))
      return true;
  return false;
}

void srv_check_enum(api_errors_t *errs, json_t *o, const char *key, const char *path,
                    const char *const *set)
{
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v))
    return;
  cleanup_free char *f = xasprintf("%s.%s", path, key);
  if (!json_is_string(v)) {
    api_errors_add(errs, API_FERR_INVALID, f, v, "must be a string");
    return;
  }
  if (str_in(json_string_value(v), set))
    return;
  buf_t b = { 0 };
  for (size_t i = 0; set[i]; i++)
    buf_printf(&b, "%s\"%s\"", i ? ", " : "", set[i]);
  api_errors_add_str(errs, API_FERR_NOT_SUPPORTED, f, json_string_value(v), "supported values: %s",
                     b.data);
  buf_free(&b);
}

static void check_nonneg_int(api_errors_t *errs, json_t *o, const char *key, const char *path,
                             bool positive)
{
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v))
    return;
  cleanup_free char *f = xasprintf("%s.%s", path, key);
  if (!json_is_integer(v))
    api_errors_add(errs, API_FERR_INVALID, f, v, "must be an integer");
  else if (positive && json_integer_value(v) <= 0)
    api_errors_add(errs, API_FERR_INVALID, f, v, "must be greater than 0");
  else if (json_integer_value(v) < 0)
    api_errors_add(errs, API_FERR_INVALID, f, v, "must be greater than or equal to 0");
}

/* requests and limits: valid quantities, requests <= limits. */
static void check_resources(api_errors_t *errs, json_t *res, const char *path)
{
  if (!res)
    return;
  if (!json_is_object(res)) {
    api_errors_add(errs, API_FERR_INVALID, path, NULL, "must be an object");
    return;
  }
  json_t *lim = json_object_get(res, "limits"), *req = json_object_get(res, "requests"), *v;
  const char *k;
  json_object_foreach(lim, k, v)
  {
    cleanup_free char *f = xasprintf("%s.limits[%s]", path, k);
    api_quantity_t q;
    api_validate_quantity(errs, f, v, &q);
  }
  json_object_foreach(req, k, v)
  {
    cleanup_free char *f = xasprintf("%s.requests[%s]", path, k);
    api_quantity_t q, l;
    if (!api_validate_quantity(errs, f, v, &q))
      continue;
    json_t *lv = json_object_get(lim, k);
    if (lv && api_quantity_from_json(lv, &l, NULL) == 0 && api_quantity_cmp(&q, &l) > 0)
      api_errors_add(errs, API_FERR_INVALID, f, v, "must be less than or equal to %s limit", k);
  }
}

static bool env_name_ok(const char *s)
{
  if (!*s)
    return false;
  for (const char *p = s; *p; p++)
    if (*p < ' ' || *p > '~' || *p == '=')
      return false;
  return true;
}

static void check_env(api_errors_t *errs, json_t *env, const char *path)
{
  json_t *e;
  size_t i;
  json_array_foreach(env, i, e)
  {
    cleanup_free char *p = xasprintf("%s[%zu]", path, i);
    cleanup_free char *pn = xasprintf("%s.name", p);
    const char *name = json_str(e, "name");
    if (!name || !*name)
      api_errors_add(errs, API_FERR_REQUIRED, pn, NULL, "%s", "");
    else if (!env_name_ok(name))
      api_errors_add_str(errs, API_FERR_INVALID, pn, name,
                         "a valid environment variable name must consist only of printable ASCII "
                         "characters other than '='");
    json_t *vf = json_object_get(e, "valueFrom");
    if (!vf)
      continue;
    cleanup_free char *pv = xasprintf("%s.valueFrom", p);
    const char *srcs[] = { "fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef" };
    int n = 0;
    for (size_t s = 0; s < ARRAY_SIZE(srcs); s++)
      n += json_object_get(vf, srcs[s]) != NULL;
    if (n != 1)
      api_errors_add(errs, API_FERR_INVALID, pv, NULL,
                     "may not have more than one field specified at a time");
    if (json_str(e, "value") && *json_str(e, "value"))
      api_errors_add(errs, API_FERR_INVALID, pv, NULL,
                     "may not be specified when `value` is not empty");
    const char *refs[] = { "configMapKeyRef", "secretKeyRef" };
    for (size_t r = 0; r < ARRAY_SIZE(refs); r++) {
      json_t *ref = json_object_get(vf, refs[r]);
      if (!ref)
        continue;
      if (!json_str(ref, "key") || !*json_str(ref, "key")) {
        cleanup_free char *f = xasprintf("%s.%s.key", pv, refs[r]);
        api_errors_add(errs, API_FERR_REQUIRED, f, NULL, "%s", "");
      }
    }
  }
}

/* Kubernetes' IANA_SVC_NAME: at most 15 lowercase letters, digits and
 * single '-' between them, with at least one letter. */
static bool port_name_ok(const char *s)
{
  size_t n = strlen(s);
  bool letter = false;
  if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
    return false;
  for (const char *p = s; *p; p++) {
    if (*p >= 'a' && *p <= 'z')
      letter = true;
    else if (!(*p >= '0' && *p <= '9') && *p != '-')
      return false;
  }
  return letter;
}

/* port of an httpGet, tcpSocket or grpc action: a number from 1 to 65535,
 * or (not for grpc) the name of a port. */
static void check_probe_port(api_errors_t *errs, json_t *act, const char *path, bool number_only)
{
  json_t *port = json_object_get(act, "port");
  cleanup_free char *f = xasprintf("%s.port", path);
  if (!port || json_is_null(port)) {
    api_errors_add(errs, API_FERR_REQUIRED, f, NULL, "%s", "");
  } else if (json_is_integer(port)) {
    if (json_integer_value(port) < 1 || json_integer_value(port) > 65535)
      api_errors_add(errs, API_FERR_INVALID, f, port, "must be between 1 and 65535, inclusive");
  } else if (json_is_string(port) && !number_only) {
    if (!port_name_ok(json_string_value(port)))
      api_errors_add(errs, API_FERR_INVALID, f, port,
                     "must be a port number or a port name: at most 15 characters, only lowercase "
                     "letters, digits and '-', at least one letter, no '-' at either end or twice "
                     "in a row");
  } else {
    api_errors_add(errs, API_FERR_INVALID, f, port,
                   number_only ? "must be an integer" : "must be an integer or a port name");
  }
}

static bool header_name_ok(const char *s)
{
  if (!*s)
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
          || *p == '-'))
      return false;
  return true;
}

/* One probe of a container (Kubernetes' validateProbe and its handlers). */
static void check_probe(api_errors_t *errs, json_t *c, const char *key, const char *path,
                        bool plain_init)
{
  json_t *pr = json_object_get(c, key);
  if (!pr || json_is_null(pr))
    return;
  cleanup_free char *f = xasprintf("%s.%s", path, key);
  if (!json_is_object(pr)) {
    api_errors_add(errs, API_FERR_INVALID, f, NULL, "must be an object");
    return;
  }
  if (plain_init) {
    api_errors_add(errs, API_FERR_FORBIDDEN, f, NULL,
                   "may not be set for init containers without restartPolicy=Always");
    return;
  }
  static const char *const handlers[] = { "exec", "httpGet", "tcpSocket", "grpc" };
  int n = 0;
  for (size_t i = 0; i < ARRAY_SIZE(handlers); i++) {
    json_t *h = json_object_get(pr, handlers[i]);
    if (!h || json_is_null(h))
      continue;
    cleanup_free char *fh = xasprintf("%s.%s", f, handlers[i]);
    if (++n > 1) {
      api_errors_add(errs, API_FERR_FORBIDDEN, fh, NULL,
                     "may not specify more than 1 handler type");
      continue;
    }
    if (!json_is_object(h)) {
      api_errors_add(errs, API_FERR_INVALID, fh, NULL, "must be an object");
      continue;
    }
    if (i == 0) {
      json_t *cmd = json_object_get(h, "command");
      cleanup_free char *fc = xasprintf("%s.command", fh);
      if (!json_is_array(cmd) || json_array_size(cmd) == 0)
        api_errors_add(errs, API_FERR_REQUIRED, fc, NULL, "%s", "");
    } else {
      check_probe_port(errs, h, fh, i == 3);
    }
    if (i == 1) {
      static const char *const schemes[] = { "HTTP", "HTTPS", NULL };
      srv_check_enum(errs, h, "scheme", fh, schemes);
      json_t *hd;
      size_t k;
      json_array_foreach(json_object_get(h, "httpHeaders"), k, hd)
      {
        cleanup_free char *fn = xasprintf("%s.httpHeaders[%zu].name", fh, k);
        const char *name = json_str(hd, "name");
        if (!name || !*name)
          api_errors_add(errs, API_FERR_REQUIRED, fn, NULL, "%s", "");
        else if (!header_name_ok(name))
          api_errors_add_str(errs, API_FERR_INVALID, fn, name,
                             "a valid HTTP header must consist of alphanumeric characters or '-'");
      }
    }
  }
  if (n == 0)
    api_errors_add(errs, API_FERR_REQUIRED, f, NULL, "must specify a handler type");
  static const char *const ints[] = { "initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                                      "successThreshold", "failureThreshold" };
  for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
    check_nonneg_int(errs, pr, ints[i], f, i > 0);
  json_t *st = json_object_get(pr, "successThreshold");
  if (strcmp(key, "readinessProbe") && json_is_integer(st) && json_integer_value(st) != 1) {
    cleanup_free char *fs = xasprintf("%s.successThreshold", f);
    api_errors_add(errs, API_FERR_INVALID, fs, st, "must be 1");
  }
  json_t *g = json_object_get(pr, "terminationGracePeriodSeconds");
  if (g && !json_is_null(g)) {
    cleanup_free char *fg = xasprintf("%s.terminationGracePeriodSeconds", f);
    if (!strcmp(key, "readinessProbe"))
      api_errors_add(errs, API_FERR_INVALID, fg, g, "must not be set for readinessProbes");
    else
      check_nonneg_int(errs, pr, "terminationGracePeriodSeconds", f, true);
  }
}

/* Containers of one list; names are collected in *seen to find duplicates
 * across init and regular containers. */
static void check_containers(api_errors_t *errs, json_t *spec, const char *sp, const char *list,
                             json_t *volumes, char ***seen)
{
  json_t *cs = json_object_get(spec, list), *c;
  size_t i;
  if (!cs)
    return;
  if (!json_is_array(cs)) {
    cleanup_free char *f = xasprintf("%s.%s", sp, list);
    api_errors_add(errs, API_FERR_INVALID, f, NULL, "must be a list");
    return;
  }
  json_array_foreach(cs, i, c)
  {
    cleanup_free char *p = xasprintf("%s.%s[%zu]", sp, list, i);
    if (!json_is_object(c)) {
      api_errors_add(errs, API_FERR_INVALID, p, NULL, "must be an object");
      continue;
    }
    const char *name = json_str(c, "name");
    cleanup_free char *pn = xasprintf("%s.name", p);
    if (!name || !*name) {
      api_errors_add(errs, API_FERR_REQUIRED, pn, NULL, "%s", "");
    } else {
      char **why = NULL;
      if (!api_is_dns1123_label(name, &why)) {
        cleanup_free char *msg = why && why[0] ? xstrdup(why[0]) : xstrdup("invalid name");
        api_errors_add_str(errs, API_FERR_INVALID, pn, name, "%s", msg);
      }
      strv_free(why);
      bool dup = false;
      for (size_t j = 0; *seen && (*seen)[j]; j++)
        dup |= !strcmp((*seen)[j], name);
      if (dup)
        api_errors_add_str(errs, API_FERR_DUPLICATE, pn, name, "%s", "");
      else
        strv_push(seen, name);
    }
    const char *image = json_str(c, "image");
    if (!image || !*image) {
      cleanup_free char *f = xasprintf("%s.image", p);
      api_errors_add(errs, API_FERR_REQUIRED, f, NULL, "%s", "");
    }
    static const char *const pull[] = { "Always", "IfNotPresent", "Never", NULL };
    srv_check_enum(errs, c, "imagePullPolicy", p, pull);
    json_t *ports = json_object_get(c, "ports"), *pt;
    size_t j;
    json_array_foreach(ports, j, pt)
    {
      cleanup_free char *pp = xasprintf("%s.ports[%zu]", p, j);
      cleanup_free char *pf = xasprintf("%s.containerPort", pp);
      json_t *cp = json_object_get(pt, "containerPort");
      if (!cp)
        api_errors_add(errs, API_FERR_REQUIRED, pf, NULL, "%s", "");
      else if (!json_is_integer(cp) || json_integer_value(cp) < 1 || json_integer_value(cp) > 65535)
        api_errors_add(errs, API_FERR_INVALID, pf, cp, "must be between 1 and 65535, inclusive");
      static const char *const protos[] = { "TCP", "UDP", "SCTP", NULL };
      srv_check_enum(errs, pt, "protocol", pp, protos);
    }
    cleanup_free char *pr = xasprintf("%s.resources", p);
    check_resources(errs, json_object_get(c, "resources"), pr);
    bool plain_init
        = !strcmp(list, "initContainers") && strcmp(json_str(c, "restartPolicy") ?: "", "Always");
    for (size_t k = 0; k < ARRAY_SIZE(probe_keys); k++)
      check_probe(errs, c, probe_keys[k], p, plain_init);
    cleanup_free char *pe = xasprintf("%s.env", p);
    check_env(errs, json_object_get(c, "env"), pe);
    json_t *mounts = json_object_get(c, "volumeMounts"), *m;
    json_array_foreach(mounts, j, m)
    {
      cleanup_free char *pm = xasprintf("%s.volumeMounts[%zu]", p, j);
      const char *vn = json_str(m, "name"), *mp = json_str(m, "mountPath");
      bool found = false;
      json_t *v;
      size_t k;
      json_array_foreach(volumes, k, v) found
          |= vn && json_str(v, "name") && !strcmp(json_str(v, "name"), vn);
      cleanup_free char *f = xasprintf("%s.name", pm);
      if (!vn || !*vn)
        api_errors_add(errs, API_FERR_REQUIRED, f, NULL, "%s", "");
      else if (!found)
        api_errors_add_str(errs, API_FERR_NOT_SUPPORTED, f, vn, "%s", "");
      cleanup_free char *fm = xasprintf("%s.mountPath", pm);
      if (!mp || !*mp)
        api_errors_add(errs, API_FERR_REQUIRED, fm, NULL, "%s", "");
    }
  }
}

static void check_volumes(api_errors_t *errs, const char *sp, json_t *vols)
{
  json_t *v;
  size_t i;
  char **seen = NULL;
  json_array_foreach(vols, i, v)
  {
    cleanup_free char *p = xasprintf("%s.volumes[%zu]", sp, i);
    cleanup_free char *pn = xasprintf("%s.name", p);
    const char *name = json_str(v, "name");
    if (!name || !*name) {
      api_errors_add(errs, API_FERR_REQUIRED, pn, NULL, "%s", "");
    } else {
      char **why = NULL;
      if (!api_is_dns1123_label(name, &why))
        api_errors_add_str(errs, API_FERR_INVALID, pn, name, "%s",
                           why && why[0] ? why[0] : "invalid name");
      strv_free(why);
      bool dup = false;
      for (size_t j = 0; seen && seen[j]; j++)
        dup |= !strcmp(seen[j], name);
      if (dup)
        api_errors_add_str(errs, API_FERR_DUPLICATE, pn, name, "%s", "");
      else
        strv_push(&seen, name);
    }
    if (json_is_object(v) && json_object_size(v) < 2)
      api_errors_add(errs, API_FERR_REQUIRED, p, NULL, "must specify a volume type");
    else if (json_object_size(v) > 2)
      api_errors_add(errs, API_FERR_FORBIDDEN, p, NULL, "may not specify more than 1 volume type");
  }
  strv_free(seen);
}

/* Validation of a pod spec at path sp ("spec", "spec.template.spec"),
 * after its defaults. */
static void check_pod_spec(json_t *spec, const char *sp, api_errors_t *errs)
{
  json_t *cs = json_object_get(spec, "containers");
  if (!json_is_array(cs) || json_array_size(cs) == 0) {
    cleanup_free char *f = xasprintf("%s.containers", sp);
    api_errors_add(errs, API_FERR_REQUIRED, f, NULL, "%s", "");
  }
  json_t *vols = json_object_get(spec, "volumes");
  check_volumes(errs, sp, vols);
  char **seen = NULL;
  check_containers(errs, spec, sp, "initContainers", vols, &seen);
  check_containers(errs, spec, sp, "containers", vols, &seen);
  strv_free(seen);
  static const char *const restart[] = { "Always", "OnFailure", "Never", NULL };
  srv_check_enum(errs, spec, "restartPolicy", sp, restart);
  static const char *const dns[]
      = { "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None", NULL };
  srv_check_enum(errs, spec, "dnsPolicy", sp, dns);
  static const char *const preempt[] = { "PreemptLowerPriority", "Never", NULL };
  srv_check_enum(errs, spec, "preemptionPolicy", sp, preempt);
  check_nonneg_int(errs, spec, "terminationGracePeriodSeconds", sp, false);
  check_nonneg_int(errs, spec, "activeDeadlineSeconds", sp, true);
  json_t *prio = json_object_get(spec, "priority");
  if (prio && !json_is_null(prio)
      && (!json_is_integer(prio) || json_integer_value(prio) < INT32_MIN
          || json_integer_value(prio) > INT32_MAX)) {
    cleanup_free char *f = xasprintf("%s.priority", sp);
    api_errors_add(errs, API_FERR_INVALID, f, prio, "must be a 32-bit integer");
  }
  cleanup_free char *fns = xasprintf("%s.nodeSelector", sp);
  api_validate_labels(errs, fns, json_object_get(spec, "nodeSelector"));
  const char *names[] = { "hostname", "subdomain", "priorityClassName" };
  for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
    json_t *hv = json_object_get(spec, names[i]);
    cleanup_free char *f = xasprintf("%s.%s", sp, names[i]);
    if (hv && !json_is_null(hv) && !json_is_string(hv)) {
      api_errors_add(errs, API_FERR_INVALID, f, hv, "must be a string");
      continue;
    }
    const char *h = json_str(spec, names[i]);
    char **why = NULL;
    bool ok = i < 2 ? api_is_dns1123_label(h ? h : "", &why)
                    : api_is_dns1123_subdomain(h ? h : "", &why);
    if (h && *h && !ok)
      api_errors_add_str(errs, API_FERR_INVALID, f, h, "%s", why && why[0] ? why[0] : "invalid");
    strv_free(why);
  }
}

void srv_validate_pod_spec(json_t *spec, const char *path, api_errors_t *errs)
{
  if (!json_is_object(spec)) {
    api_errors_add(errs, json_is_null(spec) || !spec ? API_FERR_REQUIRED : API_FERR_INVALID, path,
                   NULL, "%s", "");
    return;
  }
  default_pod_spec(spec, false);
  check_pod_spec(spec, path, errs);
}

void srv_validate_pod(json_t *o, api_errors_t *errs)
{
  json_t *spec = json_object_get(o, "spec");
  if (!json_is_object(spec)) {
    api_errors_add(errs, API_FERR_REQUIRED, "spec", NULL, "%s", "");
    return;
  }
  default_pod_spec(spec, true);
  check_pod_spec(spec, "spec", errs);
  json_t *st = json_object_get(o, "status");
  if (!json_is_object(st)) {
    st = json_object();
    json_object_set_new(o, "status", st);
  }
  set_default_str(st, "phase", "Pending");
  if (!json_str(st, "qosClass"))
    json_object_set_new(st, "qosClass", json_string(api_pod_qos_class(spec)));
}

/* What Kubernetes lets a pod update change in spec: images, the active
 * deadline, added tolerations, the grace period. */
void srv_validate_pod_update(json_t *o, json_t *cur, api_errors_t *errs)
{
  /* The priority admission set these on create; an update that leaves
   * them out keeps them (as Kubernetes' admission does on update). */
  const char *kept[] = { "priority", "preemptionPolicy" };
  json_t *ospec = json_object_get(o, "spec"), *cspec = json_object_get(cur, "spec");
  for (size_t i = 0; i < ARRAY_SIZE(kept); i++)
    if (json_is_object(ospec) && !json_object_get(ospec, kept[i])
        && json_object_get(cspec, kept[i]))
      json_object_set(ospec, kept[i], json_object_get(cspec, kept[i]));
  json_t *a = json_deep_copy(json_object_get(o, "spec"));
  json_t *b = json_deep_copy(json_object_get(cur, "spec"));
  const char *lists[] = { "initContainers", "containers" };
  for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
    json_t *ca = json_object_get(a, lists[l]), *cb = json_object_get(b, lists[l]);
    for (size_t i = 0; i < json_array_size(ca) && i < json_array_size(cb); i++)
      json_object_set(json_array_get(ca, i), "image",
                      json_object_get(json_array_get(cb, i), "image"));
  }
  const char *mutable[]
      = { "activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds" };
  for (size_t i = 0; i < ARRAY_SIZE(mutable); i++) {
    json_object_del(a, mutable[i]);
    json_object_del(b, mutable[i]);
  }
  if (!json_equal(a, b))
    api_errors_add(errs, API_FERR_FORBIDDEN, "spec", NULL,
                   "pod updates may not change fields other than `spec.containers[*].image`,"
                   "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                   "`spec.tolerations` (only additions to existing tolerations),"
                   "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                   "previously negative)");
  json_decref(a);
  json_decref(b);
}

void srv_validate_node(json_t *o, api_errors_t *errs)
{
  json_t *spec = json_object_get(o, "spec");
  if (!spec) {
    spec = json_object();
    json_object_set_new(o, "spec", spec);
  }
  if (!json_is_object(spec)) {
    api_errors_add(errs, API_FERR_INVALID, "spec", NULL, "must be an object");
    return;
  }
  json_t *taints = json_object_get(spec, "taints"), *t;
  size_t i;
  json_array_foreach(taints, i, t)
  {
    cleanup_free char *p = xasprintf("spec.taints[%zu]", i);
    const char *key = json_str(t, "key");
    cleanup_free char *pk = xasprintf("%s.key", p);
    char **why = NULL;
    if (!key || !*key)
      api_errors_add(errs, API_FERR_REQUIRED, pk, NULL, "%s", "");
    else if (!api_is_label_key(key, &why))
      api_errors_add_str(errs, API_FERR_INVALID, pk, key, "%s", why && why[0] ? why[0] : "");
    strv_free(why);
    static const char *const effects[] = { "NoSchedule", "PreferNoSchedule", "NoExecute", NULL };
    if (!json_object_get(t, "effect")) {
      cleanup_free char *pe = xasprintf("%s.effect", p);
      api_errors_add(errs, API_FERR_REQUIRED, pe, NULL, "%s", "");
    }
    srv_check_enum(errs, t, "effect", p, effects);
  }
  json_t *u = json_object_get(spec, "unschedulable");
  if (u && !json_is_boolean(u))
    api_errors_add(errs, API_FERR_INVALID, "spec.unschedulable", u, "must be a boolean");
  json_t *st = json_object_get(o, "status");
  if (st && !json_is_object(st)) {
    api_errors_add(errs, API_FERR_INVALID, "status", NULL, "must be an object");
    return;
  }
  const char *lists[] = { "capacity", "allocatable" };
  for (size_t l = 0; l < 2; l++) {
    json_t *m = json_object_get(st, lists[l]), *v;
    const char *k;
    json_object_foreach(m, k, v)
    {
      cleanup_free char *f = xasprintf("status.%s[%s]", lists[l], k);
      api_quantity_t q;
      api_validate_quantity(errs, f, v, &q);
    }
  }
  if (json_is_object(st) && json_object_get(st, "capacity") && !json_object_get(st, "allocatable"))
    json_object_set(st, "allocatable", json_object_get(st, "capacity"));
}

/* ---- Table columns ----------------------------------------------------------- */

static json_t *find_named(json_t *arr, const char *key, const char *val)
{
  json_t *e;
  size_t i;
  json_array_foreach(arr, i, e)
  {
    const char *v = json_str(e, key);
    if (v && !strcmp(v, val))
      return e;
  }
  return NULL;
}

static json_t *cell_pod_ready(json_t *o, int64_t now)
{
  (void)now;
  json_t *cs = json_object_get(json_object_get(o, "status"), "containerStatuses"), *c;
  size_t i, ready = 0;
  json_array_foreach(cs, i, c) ready += json_is_true(json_object_get(c, "ready"));
  size_t total = json_array_size(json_object_get(json_object_get(o, "spec"), "containers"));
  return srv_str_own(xasprintf("%zu/%zu", ready, total));
}

char *srv_pod_status_text(json_t *pod)
{
  json_t *st = json_object_get(pod, "status"), *spec = json_object_get(pod, "spec");
  const char *reason = json_str(st, "reason");
  if (!reason || !*reason)
    reason = json_str(st, "phase");
  char *out = xstrdup(reason && *reason ? reason : "Pending");
  json_t *inits = json_object_get(st, "initContainerStatuses"), *c;
  size_t n_init = json_array_size(json_object_get(spec, "initContainers")), i;
  bool initializing = false;
  json_array_foreach(inits, i, c)
  {
    json_t *state = json_object_get(c, "state");
    json_t *term = json_object_get(state, "terminated"), *wait = json_object_get(state, "waiting");
    if (term && json_int(term, "exitCode", 0) == 0)
      continue;
    initializing = true;
    free(out);
    if (term) {
      const char *r = json_str(term, "reason");
      out = r && *r ? xasprintf("Init:%s", r)
                    : xasprintf("Init:ExitCode:%" PRId64, json_int(term, "exitCode", 0));
    } else if (wait && json_str(wait, "reason") && *json_str(wait, "reason")
               && strcmp(json_str(wait, "reason"), "PodInitializing")) {
      out = xasprintf("Init:%s", json_str(wait, "reason"));
    } else {
      out = xasprintf("Init:%zu/%zu", i, n_init);
    }
    break;
  }
  if (!initializing) {
    bool has_running = false;
    json_t *cs = json_object_get(st, "containerStatuses");
    for (size_t j = json_array_size(cs); j-- > 0;) {
      c = json_array_get(cs, j);
      json_t *state = json_object_get(c, "state");
      json_t *term = json_object_get(state, "terminated"),
             *wait = json_object_get(state, "waiting");
      const char *r;
      if (wait && (r = json_str(wait, "reason")) && *r) {
        free(out);
        out = xstrdup(r);
      } else if (term && (r = json_str(term, "reason")) && *r) {
        free(out);
        out = xstrdup(r);
      } else if (term) {
        free(out);
        int64_t sig = json_int(term, "signal", 0);
        out = sig ? xasprintf("Signal:%" PRId64, sig)
                  : xasprintf("ExitCode:%" PRId64, json_int(term, "exitCode", 0));
      } else if (json_object_get(state, "running") && json_is_true(json_object_get(c, "ready"))) {
        has_running = true;
      }
    }
    if (!strcmp(out, "Completed") && has_running) {
      free(out);
      out = xstrdup("Running");
    }
  }
  const char *dts = json_str(json_object_get(pod, "metadata"), "deletionTimestamp");
  if (dts && *dts) {
    free(out);
    out = xstrdup("Terminating");
  }
  return out;
}

static json_t *cell_pod_status(json_t *o, int64_t now)
{
  (void)now;
  return srv_str_own(srv_pod_status_text(o));
}

/* "3", or "3 (42s ago)" after a restart. */
static json_t *cell_pod_restarts(json_t *o, int64_t now)
{
  json_t *cs = json_object_get(json_object_get(o, "status"), "containerStatuses"), *c;
  size_t i;
  int64_t n = 0, last = 0;
  json_array_foreach(cs, i, c)
  {
    n += json_int(c, "restartCount", 0);
    const char *fin
        = json_str(json_object_get(json_object_get(c, "lastState"), "terminated"), "finishedAt");
    int64_t t;
    if (fin && time_parse_rfc3339(fin, &t) == 0 && t > last)
      last = t;
  }
  if (n > 0 && last > 0) {
    cleanup_free char *age = srv_human_age(now - last);
    return srv_str_own(xasprintf("%" PRId64 " (%s ago)", n, age));
  }
  return srv_str_own(xasprintf("%" PRId64, n));
}

static json_t *or_none(const char *s)
{
  return json_string(s && *s ? s : "<none>");
}

static json_t *cell_pod_ip(json_t *o, int64_t now)
{
  (void)now;
  return or_none(json_str(json_object_get(o, "status"), "podIP"));
}

static json_t *cell_pod_node(json_t *o, int64_t now)
{
  (void)now;
  return or_none(json_str(json_object_get(o, "spec"), "nodeName"));
}

static json_t *cell_pod_nominated(json_t *o, int64_t now)
{
  (void)now;
  return or_none(json_str(json_object_get(o, "status"), "nominatedNodeName"));
}

static json_t *cell_pod_gates(json_t *o, int64_t now)
{
  (void)now;
  json_t *gates = json_object_get(json_object_get(o, "spec"), "readinessGates"), *g;
  if (json_array_size(gates) == 0)
    return json_string("<none>");
  json_t *conds = json_object_get(json_object_get(o, "status"), "conditions");
  size_t i, ok = 0;
  json_array_foreach(gates, i, g)
  {
    json_t *c = find_named(conds, "type", json_str(g, "conditionType") ?: "");
    ok += c && json_str(c, "status") && !strcmp(json_str(c, "status"), "True");
  }
  return srv_str_own(xasprintf("%zu/%zu", ok, json_array_size(gates)));
}

const srv_column_t srv_cols_pod[SRV_POD_COLUMNS] = {
  SRV_NAME_COL,
  SRV_COL("Ready", "The aggregate readiness state of this pod for accepting traffic.",
          cell_pod_ready),
  SRV_COL("Status", "The aggregate status of the containers in this pod.", cell_pod_status),
  SRV_COL("Restarts", "The number of times the containers in this pod have been restarted.",
          cell_pod_restarts),
  SRV_AGE_COL,
  SRV_COL_WIDE("IP", "IP address assigned to the pod", cell_pod_ip),
  SRV_COL_WIDE("Node", "Name of the node the pod is assigned to", cell_pod_node),
  SRV_COL_WIDE("Nominated Node", "Name of the node the pod is nominated to run on",
               cell_pod_nominated),
  SRV_COL_WIDE("Readiness Gates", "Pod readiness gates", cell_pod_gates),
};

static json_t *node_info(json_t *o, const char *key)
{
  const char *v = json_str(json_object_get(json_object_get(o, "status"), "nodeInfo"), key);
  return json_string(v && *v ? v : "<unknown>");
}

static json_t *cell_node_status(json_t *o, int64_t now)
{
  (void)now;
  json_t *c
      = find_named(json_object_get(json_object_get(o, "status"), "conditions"), "type", "Ready");
  const char *s = c ? json_str(c, "status") : NULL;
  const char *base = !c ? "Unknown" : s && !strcmp(s, "True") ? "Ready" : "NotReady";
  if (json_is_true(json_object_get(json_object_get(o, "spec"), "unschedulable")))
    return srv_str_own(xasprintf("%s,SchedulingDisabled", base));
  return json_string(base);
}

static json_t *cell_node_roles(json_t *o, int64_t now)
{
  (void)now;
  json_t *labels = json_object_get(json_object_get(o, "metadata"), "labels"), *v;
  const char *k;
  buf_t b = { 0 };
  json_object_foreach(labels, k, v)
  {
    const char *role = NULL;
    if (str_has_prefix(k, "node-role.kubernetes.io/"))
      role = k + strlen("node-role.kubernetes.io/");
    else if (!strcmp(k, "kubernetes.io/role") && json_is_string(v))
      role = json_string_value(v);
    if (role && *role)
      buf_printf(&b, "%s%s", b.len ? "," : "", role);
  }
  if (!b.len)
    return json_string("<none>");
  return srv_str_own(buf_steal(&b));
}

static json_t *cell_node_version(json_t *o, int64_t now)
{
  (void)now;
  return json_string(
      json_str(json_object_get(json_object_get(o, "status"), "nodeInfo"), "kubeletVersion") ?: "");
}

static json_t *node_address(json_t *o, const char *type)
{
  json_t *a = find_named(json_object_get(json_object_get(o, "status"), "addresses"), "type", type);
  return or_none(a ? json_str(a, "address") : NULL);
}

static json_t *cell_node_internal_ip(json_t *o, int64_t now)
{
  (void)now;
  return node_address(o, "InternalIP");
}

static json_t *cell_node_external_ip(json_t *o, int64_t now)
{
  (void)now;
  return node_address(o, "ExternalIP");
}

static json_t *cell_node_os(json_t *o, int64_t now)
{
  (void)now;
  return node_info(o, "osImage");
}

static json_t *cell_node_kernel(json_t *o, int64_t now)
{
  (void)now;
  return node_info(o, "kernelVersion");
}

static json_t *cell_node_runtime(json_t *o, int64_t now)
{
  (void)now;
  return node_info(o, "containerRuntimeVersion");
}

const srv_column_t srv_cols_node[SRV_NODE_COLUMNS] = {
  SRV_NAME_COL,
  SRV_COL("Status", "The status of the node", cell_node_status),
  SRV_COL("Roles", "The roles of the node", cell_node_roles),
  SRV_AGE_COL,
  SRV_COL("Version", "Kubelet Version reported by the node.", cell_node_version),
  SRV_COL_WIDE("Internal-IP", "List of internal IPs for the node.", cell_node_internal_ip),
  SRV_COL_WIDE("External-IP", "List of external IPs for the node.", cell_node_external_ip),
  SRV_COL_WIDE("OS-Image", "OS image reported by the node.", cell_node_os),
  SRV_COL_WIDE("Kernel-Version", "Kernel version reported by the node.", cell_node_kernel),
  SRV_COL_WIDE("Container-Runtime", "Container runtime reported by the node.", cell_node_runtime),
};
