/* kube_describe.c — `berth describe`: pods, configmaps, secrets and
 * namespaces laid out as kubectl describe lays them out, nodes and every
 * other kind in kube_describe_node.c. The text is written with tabs where
 * kubectl's PrefixWriter writes them and aligned by kube_tw (describe's
 * tabwriter: no minimum width, two spaces of padding), which is what gives
 * kubectl's output its block-by-block alignment. */
#include "api/api.h"
#include "cli/kube.h"

#include <stdlib.h>
#include <string.h>

static const char describe_usage[]
    = "Usage: berth describe TYPE [NAME…] | TYPE/NAME… [OPTIONS]\n"
      "\n"
      "Show objects in detail, with their events. Without a NAME, every object of TYPE\n"
      "in the namespace; a NAME that does not exist describes the objects whose names\n"
      "start with it. Pods and nodes are laid out as kubectl describe does.\n"
      "\n"
      "  -l, --selector SEL      only the objects matching a label selector\n"
      "  -A, --all-namespaces    every namespace (without NAME)\n"
      "      --kubeconfig FILE, -n NS, --server URL, --token T: see 'berth cluster --help'\n";

#define LAST_APPLIED       "kubectl.kubernetes.io/last-applied-configuration"
#define MAX_ANNOTATION_LEN 140

/* ---- shared pieces --------------------------------------------------------- */

void kube_describe_labels(kube_tw_t *tw, const char *title, json_t *labels)
{
  kube_tw_printf(tw, "%s:\t", title);
  if (!json_object_size(labels)) {
    kube_tw_puts(tw, "<none>\n");
    return;
  }
  cleanup_strv char **keys = kube_sorted_keys(labels);
  for (size_t i = 0; keys[i]; i++) {
    const char *v = json_str(labels, keys[i]);
    kube_tw_printf(tw, "%s%s=%s\n", i ? "\t" : "", keys[i], v ? v : "");
  }
}

void kube_describe_annotations(kube_tw_t *tw, json_t *annotations)
{
  kube_tw_puts(tw, "Annotations:\t");
  cleanup_strv char **keys = kube_sorted_keys(annotations);
  size_t shown = 0;
  for (size_t i = 0; keys[i]; i++) {
    if (!strcmp(keys[i], LAST_APPLIED))
      continue;
    if (shown++)
      kube_tw_puts(tw, "\t");
    const char *v = json_str(annotations, keys[i]);
    cleanup_free char *value = xstrdup(v ? v : "");
    size_t n = strlen(value);
    if (n && value[n - 1] == '\n')
      value[--n] = '\0';
    if (n + strlen(keys[i]) + 2 > MAX_ANNOTATION_LEN || strchr(value, '\n')) {
      kube_tw_printf(tw, "%s:\n", keys[i]);
      char *save = NULL;
      for (char *l = strtok_r(value, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (strlen(l) > MAX_ANNOTATION_LEN - 2)
          kube_tw_printf(tw, "\t  %.*s...\n", MAX_ANNOTATION_LEN - 2, l);
        else
          kube_tw_printf(tw, "\t  %s\n", l);
      }
    } else {
      kube_tw_printf(tw, "%s: %s\n", keys[i], value);
    }
  }
  if (!shown)
    kube_tw_puts(tw, "<none>\n");
}

void kube_describe_events(kube_tw_t *tw, json_t *events)
{
  size_t n = json_array_size(events);
  if (!n) {
    kube_tw_puts(tw, "Events:\t<none>\n");
    return;
  }
  json_t **v = xcalloc(n, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = json_array_get(events, i);
  kube_sort_events(v, n);
  kube_tw_puts(tw, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
  kube_tw_puts(tw, "  ----\t------\t----\t----\t-------\n");
  for (size_t i = 0; i < n; i++) {
    json_t *e = v[i];
    const char *et = json_str(e, "eventTime");
    cleanup_free char *first = kube_age(et && *et ? et : kube_str(e, "firstTimestamp"));
    cleanup_free char *interval = NULL;
    int64_t count = json_int(e, "count", 0);
    json_t *series = json_object_get(e, "series");
    if (json_is_object(series)) {
      cleanup_free char *last = kube_age(json_str(series, "lastObservedTime"));
      interval
          = xasprintf("%s (x%lld over %s)", last, (long long)json_int(series, "count", 0), first);
    } else if (count > 1) {
      cleanup_free char *last = kube_age(kube_str(e, "lastTimestamp"));
      interval = xasprintf("%s (x%lld over %s)", last, (long long)count, first);
    } else {
      interval = xstrdup(first);
    }
    const char *from = kube_str(e, "source.component");
    if (!from || !*from)
      from = json_str(e, "reportingComponent");
    const char *msg = json_str(e, "message");
    cleanup_free char *m = xstrdup(msg ? msg : "");
    char *s = m;
    while (*s == ' ' || *s == '\t' || *s == '\n')
      s++;
    size_t l = strlen(s);
    while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\n'))
      s[--l] = '\0';
    const char *type = json_str(e, "type"), *reason = json_str(e, "reason");
    kube_tw_printf(tw, "  %s\t%s\t%s\t%s\t%s\n", type ? type : "", reason ? reason : "", interval,
                   from ? from : "", s);
  }
  free(v);
}

json_t *kube_events_for(kube_t *k, json_t *obj, const char *kind)
{
  const char *name = kube_str(obj, "metadata.name"), *ns = kube_str(obj, "metadata.namespace");
  const char *uid = kube_str(obj, "metadata.uid");
  buf_t f = { 0 };
  buf_printf(&f, "involvedObject.name=%s", name ? name : "");
  if (ns && *ns)
    buf_printf(&f, ",involvedObject.namespace=%s", ns);
  else
    buf_printf(&f, ",involvedObject.kind=%s", kind);
  /* A node's events carry its uid or (the kubelet's) its name: filter below. */
  if (uid && ns && *ns)
    buf_printf(&f, ",involvedObject.uid=%s", uid);
  buf_t q = { 0 };
  kube_query_add(&q, "fieldSelector", f.data);
  buf_free(&f);
  cleanup_free char *qs = buf_steal(&q);
  cleanup_free char *path = ns && *ns ? xasprintf("/api/v1/namespaces/%s/events?%s", ns, qs)
                                      : xasprintf("/api/v1/events?%s", qs);
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "GET", path, NULL, "application/json", NULL, &r) < 0 || r.code != 200)
    return NULL;
  json_t *items = json_array(), *it;
  size_t i;
  json_array_foreach(json_object_get(r.json, "items"), i, it)
  {
    const char *iu = kube_str(it, "involvedObject.uid");
    if (ns && *ns)
      json_array_append(items, it);
    else if (!iu || !*iu || (uid && !strcmp(iu, uid)) || (name && !strcmp(iu, name)))
      json_array_append(items, it);
  }
  return items;
}

/* ---- pods ------------------------------------------------------------------ */

static const char *or_none(const char *s)
{
  return s && *s ? s : "<none>";
}

/* A resource quantity in Kubernetes' canonical form ("0.5" → "500m"). */
static char *quantity_text(json_t *v)
{
  api_quantity_t q;
  berr_t err = BERR_INIT;
  if (api_quantity_from_json(v, &q, &err) < 0) {
    berr_clear(&err);
    const char *s = json_string_value(v);
    return xstrdup(s ? s : "");
  }
  return api_quantity_format(&q);
}

static void describe_resources(kube_tw_t *tw, json_t *list, const char *title, const char *indent)
{
  if (!json_object_size(list))
    return;
  kube_tw_printf(tw, "%s%s:\n", indent, title);
  cleanup_strv char **keys = kube_sorted_keys(list);
  for (size_t i = 0; keys[i]; i++) {
    cleanup_free char *q = quantity_text(json_object_get(list, keys[i]));
    kube_tw_printf(tw, "%s  %s:\t%s\n", indent, keys[i], q);
  }
}

static void describe_state(kube_tw_t *tw, const char *title, json_t *st)
{
  json_t *run = json_object_get(st, "running"), *wait = json_object_get(st, "waiting");
  json_t *term = json_object_get(st, "terminated");
  if (json_is_object(run)) {
    cleanup_free char *t = kube_time_rfc1123z(json_str(run, "startedAt"));
    kube_tw_printf(tw, "    %s:\tRunning\n      Started:\t%s\n", title, t);
  } else if (json_is_object(wait)) {
    kube_tw_printf(tw, "    %s:\tWaiting\n", title);
    const char *r = json_str(wait, "reason");
    if (r && *r)
      kube_tw_printf(tw, "      Reason:\t%s\n", r);
  } else if (json_is_object(term)) {
    kube_tw_printf(tw, "    %s:\tTerminated\n", title);
    const char *r = json_str(term, "reason"), *m = json_str(term, "message");
    if (r && *r)
      kube_tw_printf(tw, "      Reason:\t%s\n", r);
    if (m && *m)
      kube_tw_printf(tw, "      Message:\t%s\n", m);
    kube_tw_printf(tw, "      Exit Code:\t%lld\n", (long long)json_int(term, "exitCode", 0));
    if (json_int(term, "signal", 0) > 0)
      kube_tw_printf(tw, "      Signal:\t%lld\n", (long long)json_int(term, "signal", 0));
    cleanup_free char *s = kube_time_rfc1123z(json_str(term, "startedAt"));
    cleanup_free char *f = kube_time_rfc1123z(json_str(term, "finishedAt"));
    kube_tw_printf(tw, "      Started:\t%s\n      Finished:\t%s\n", s, f);
  } else {
    kube_tw_printf(tw, "    %s:\tWaiting\n", title);
  }
}

/* kubectl's probe line: "http-get http://:8080/healthz delay=0s timeout=1s
 * …", the numbers as the object has them (the API server defaults them). */
static char *probe_text(json_t *p)
{
  cleanup_free char *attrs = xasprintf(
      "delay=%llds timeout=%llds period=%llds #success=%lld #failure=%lld",
      (long long)json_int(p, "initialDelaySeconds", 0), (long long)json_int(p, "timeoutSeconds", 0),
      (long long)json_int(p, "periodSeconds", 0), (long long)json_int(p, "successThreshold", 0),
      (long long)json_int(p, "failureThreshold", 0));
  json_t *ex = json_object_get(p, "exec"), *hg = json_object_get(p, "httpGet");
  json_t *tcp = json_object_get(p, "tcpSocket"), *grpc = json_object_get(p, "grpc");
  if (json_is_object(ex)) {
    buf_t b = { 0 };
    json_t *a;
    size_t i;
    json_array_foreach(json_object_get(ex, "command"), i, a)
        buf_printf(&b, "%s%s", i ? " " : "", json_string_value(a) ? json_string_value(a) : "");
    char *s = xasprintf("exec [%s] %s", b.data ? b.data : "", attrs);
    buf_free(&b);
    return s;
  }
  if (json_is_object(hg) || json_is_object(tcp)) {
    json_t *o = json_is_object(hg) ? hg : tcp;
    json_t *port = json_object_get(o, "port");
    cleanup_free char *ps = json_is_integer(port)
                                ? xasprintf("%lld", (long long)json_integer_value(port))
                                : xstrdup(json_string_value(port) ? json_string_value(port) : "");
    const char *host = json_str(o, "host") ?: "";
    if (!json_is_object(hg))
      return xasprintf("tcp-socket %s:%s %s", host, ps, attrs);
    /* Go's url.URL{Scheme, Host: JoinHostPort(host, port), Path}.String() */
    cleanup_free char *hp = !*ps                ? xstrdup(host)
                            : strchr(host, ':') ? xasprintf("[%s]:%s", host, ps)
                                                : xasprintf("%s:%s", host, ps);
    cleanup_free char *sch = xstrdup(json_str(hg, "scheme") ?: "");
    for (char *c = sch; *c; c++)
      *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    const char *path = json_str(hg, "path") ?: "";
    return xasprintf("http-get %s%s//%s%s%s %s", sch, *sch ? ":" : "", hp,
                     *path && *path != '/' ? "/" : "", path, attrs);
  }
  if (json_is_object(grpc))
    return xasprintf("grpc <pod>:%lld %s %s", (long long)json_int(grpc, "port", 0),
                     json_str(grpc, "service") ?: "", attrs);
  return xasprintf("unknown %s", attrs);
}

/* What kubectl shows for a fieldRef: the value for metadata.name,
 * namespace and uid, "" for the paths it does not resolve. */
static char *field_ref_value(json_t *pod, const char *path)
{
  json_t *meta = json_object_get(pod, "metadata");
  if (!strcmp(path, "metadata.name") || !strcmp(path, "metadata.namespace")
      || !strcmp(path, "metadata.uid"))
    return xstrdup(json_str(meta, path + strlen("metadata.")) ?: "");
  return xstrdup("");
}

/* A resourceFieldRef's value as kubectl computes it: the container's
 * quantity over the divisor, rounded up; an unset limit is the node's. */
static char *resource_ref_value(json_t *ctr, json_t *rr)
{
  const char *res = json_str(rr, "resource") ?: "";
  const char *dot = strchr(res, '.');
  if (!dot)
    return xstrdup("");
  cleanup_free char *list = xasprintf("resources.%.*s", (int)(dot - res), res);
  json_t *qv = json_object_get(kube_get(ctr, list), dot + 1);
  api_quantity_t q = api_quantity_from_int(0, API_QTY_DECIMAL_SI), d;
  berr_t err = BERR_INIT;
  if (qv && api_quantity_from_json(qv, &q, &err) < 0)
    berr_clear(&err);
  json_t *dv = json_object_get(rr, "divisor");
  if (!dv || api_quantity_from_json(dv, &d, &err) < 0 || api_quantity_is_zero(&d)) {
    berr_clear(&err);
    d = api_quantity_from_int(1, API_QTY_DECIMAL_SI);
  }
  bool cpu = !strcmp(dot + 1, "cpu");
  int64_t num = cpu ? api_quantity_milli(&q) : api_quantity_value(&q);
  int64_t den = cpu ? api_quantity_milli(&d) : api_quantity_value(&d);
  int64_t v = den > 0 ? (num + den - 1) / den : 0;
  if (v == 0 && (!strcmp(res, "limits.cpu") || !strcmp(res, "limits.memory")))
    return xstrdup("node allocatable");
  return xasprintf("%lld", (long long)v);
}

static void describe_env(kube_tw_t *tw, json_t *pod, json_t *c)
{
  json_t *env = json_object_get(c, "env"), *e;
  size_t i;
  json_t *from = json_object_get(c, "envFrom");
  if (json_array_size(from)) {
    kube_tw_puts(tw, "    Environment Variables from:\n");
    json_array_foreach(from, i, e)
    {
      json_t *cm = json_object_get(e, "configMapRef"), *sec = json_object_get(e, "secretRef");
      json_t *ref = json_is_object(cm) ? cm : sec;
      const char *prefix = json_str(e, "prefix");
      cleanup_free char *pfx = prefix && *prefix ? xasprintf(" with prefix '%s'", prefix) : NULL;
      kube_tw_printf(tw, "      %s\t%s%s\tOptional: %s\n", json_str(ref, "name") ?: "",
                     json_is_object(cm)    ? "ConfigMap"
                     : json_is_object(sec) ? "Secret"
                                           : "",
                     pfx ? pfx : "", json_bool(ref, "optional", false) ? "true" : "false");
    }
  }
  kube_tw_printf(tw, "    Environment:%s\n", json_array_size(env) ? "" : "\t<none>");
  json_array_foreach(env, i, e)
  {
    const char *name = json_str(e, "name");
    json_t *vf = json_object_get(e, "valueFrom");
    if (!json_is_object(vf)) {
      const char *v = json_str(e, "value");
      cleanup_free char *val = xstrdup(v ? v : "");
      char *line = val, *nl;
      bool first = true;
      do {
        nl = strchr(line, '\n');
        if (nl)
          *nl = '\0';
        if (first)
          kube_tw_printf(tw, "      %s:\t%s\n", name ? name : "", line);
        else
          kube_tw_printf(tw, "      \t%s\n", line);
        first = false;
        line = nl + 1;
      } while (nl);
      continue;
    }
    json_t *fr = json_object_get(vf, "fieldRef"), *sk = json_object_get(vf, "secretKeyRef");
    json_t *ck = json_object_get(vf, "configMapKeyRef");
    json_t *rr = json_object_get(vf, "resourceFieldRef");
    if (json_is_object(fr)) {
      cleanup_free char *v = field_ref_value(pod, json_str(fr, "fieldPath") ?: "");
      kube_tw_printf(tw, "      %s:\t%s (%s:%s)\n", name, v, json_str(fr, "apiVersion") ?: "",
                     json_str(fr, "fieldPath") ?: "");
    } else if (json_is_object(rr)) {
      cleanup_free char *v = resource_ref_value(c, rr);
      kube_tw_printf(tw, "      %s:\t%s (%s)\n", name, v, json_str(rr, "resource") ?: "");
    } else if (json_is_object(sk))
      kube_tw_printf(tw, "      %s:\t<set to the key '%s' in secret '%s'>\tOptional: %s\n", name,
                     or_none(json_str(sk, "key")), or_none(json_str(sk, "name")),
                     json_bool(sk, "optional", false) ? "true" : "false");
    else if (json_is_object(ck))
      kube_tw_printf(tw, "      %s:\t<set to the key '%s' of config map '%s'>\tOptional: %s\n",
                     name, or_none(json_str(ck, "key")), or_none(json_str(ck, "name")),
                     json_bool(ck, "optional", false) ? "true" : "false");
  }
}

static int cmp_mounts(const void *a, const void *b)
{
  const char *x = json_str(*(json_t *const *)a, "mountPath");
  const char *y = json_str(*(json_t *const *)b, "mountPath");
  return strcmp(x ? x : "", y ? y : "");
}

static void describe_mounts(kube_tw_t *tw, json_t *c)
{
  json_t *mounts = json_object_get(c, "volumeMounts");
  size_t n = json_array_size(mounts);
  kube_tw_printf(tw, "    Mounts:%s\n", n ? "" : "\t<none>");
  if (!n)
    return;
  json_t **v = xcalloc(n, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = json_array_get(mounts, i);
  qsort(v, n, sizeof *v, cmp_mounts);
  for (size_t i = 0; i < n; i++) {
    const char *sub = json_str(v[i], "subPath");
    cleanup_free char *flags
        = sub && *sub
              ? xasprintf("%s,path=\"%s\"", json_bool(v[i], "readOnly", false) ? "ro" : "rw", sub)
              : xstrdup(json_bool(v[i], "readOnly", false) ? "ro" : "rw");
    kube_tw_printf(tw, "      %s from %s (%s)\n", or_none(json_str(v[i], "mountPath")),
                   or_none(json_str(v[i], "name")), flags);
  }
  free(v);
}

static json_t *status_of(json_t *statuses, const char *name)
{
  json_t *s;
  size_t i;
  json_array_foreach(statuses, i, s)
  {
    const char *n = json_str(s, "name");
    if (n && name && !strcmp(n, name))
      return s;
  }
  return NULL;
}

static void describe_containers(kube_tw_t *tw, json_t *pod, const char *title, json_t *ctrs,
                                json_t *statuses)
{
  kube_tw_printf(tw, "%s:\n", title);
  json_t *c;
  size_t i;
  json_array_foreach(ctrs, i, c)
  {
    json_t *st = status_of(statuses, json_str(c, "name"));
    kube_tw_printf(tw, "  %s:\n", or_none(json_str(c, "name")));
    if (st)
      kube_tw_printf(tw, "    Container ID:\t%s\n", json_str(st, "containerID") ?: "");
    kube_tw_printf(tw, "    Image:\t%s\n", json_str(c, "image") ?: "");
    if (st)
      kube_tw_printf(tw, "    Image ID:\t%s\n", json_str(st, "imageID") ?: "");
    buf_t ports = { 0 }, hports = { 0 };
    json_t *p;
    size_t j;
    json_array_foreach(json_object_get(c, "ports"), j, p)
    {
      const char *proto = json_str(p, "protocol");
      buf_printf(&ports, "%s%lld/%s", j ? ", " : "", (long long)json_int(p, "containerPort", 0),
                 proto && *proto ? proto : "TCP");
      buf_printf(&hports, "%s%lld/%s", j ? ", " : "", (long long)json_int(p, "hostPort", 0),
                 proto && *proto ? proto : "TCP");
    }
    bool many = ports.data && strchr(ports.data, ',');
    kube_tw_printf(tw, "    %s:\t%s\n", many ? "Ports" : "Port", or_none(ports.data));
    kube_tw_printf(tw, "    %s:\t%s\n", many ? "Host Ports" : "Host Port", or_none(hports.data));
    buf_free(&ports);
    buf_free(&hports);
    const char *lists[] = { "command", "Command", "args", "Args" };
    for (size_t l = 0; l < 4; l += 2) {
      json_t *a = json_object_get(c, lists[l]), *s;
      if (!json_array_size(a))
        continue;
      kube_tw_printf(tw, "    %s:\n", lists[l + 1]);
      json_array_foreach(a, j, s)
      {
        cleanup_free char *v = xstrdup(json_string_value(s) ? json_string_value(s) : "");
        char *save = NULL;
        if (!*v)
          kube_tw_puts(tw, "      \n");
        for (char *ln = strtok_r(v, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save))
          kube_tw_printf(tw, "      %s\n", ln);
      }
    }
    if (st) {
      describe_state(tw, "State", json_object_get(st, "state"));
      json_t *last = json_object_get(st, "lastState");
      if (json_is_object(json_object_get(last, "terminated")))
        describe_state(tw, "Last State", last);
      kube_tw_printf(tw, "    Ready:\t%s\n", json_bool(st, "ready", false) ? "True" : "False");
      kube_tw_printf(tw, "    Restart Count:\t%lld\n", (long long)json_int(st, "restartCount", 0));
    }
    json_t *res = json_object_get(c, "resources");
    describe_resources(tw, json_object_get(res, "limits"), "Limits", "    ");
    describe_resources(tw, json_object_get(res, "requests"), "Requests", "    ");
    const char *probes[]
        = { "livenessProbe", "Liveness", "readinessProbe", "Readiness", "startupProbe", "Startup" };
    for (size_t l = 0; l < 6; l += 2) {
      json_t *pr = json_object_get(c, probes[l]);
      if (!json_is_object(pr))
        continue;
      cleanup_free char *t = probe_text(pr);
      kube_tw_printf(tw, "    %s:\t%s\n", probes[l + 1], t);
    }
    describe_env(tw, pod, c);
    describe_mounts(tw, c);
  }
}

static void describe_volumes(kube_tw_t *tw, json_t *vols)
{
  if (!json_array_size(vols)) {
    kube_tw_puts(tw, "Volumes:\t<none>\n");
    return;
  }
  kube_tw_puts(tw, "Volumes:\n");
  json_t *v;
  size_t i;
  json_array_foreach(vols, i, v)
  {
    kube_tw_printf(tw, "  %s:\n", or_none(json_str(v, "name")));
    json_t *hp = json_object_get(v, "hostPath"), *ed = json_object_get(v, "emptyDir");
    json_t *cm = json_object_get(v, "configMap"), *sec = json_object_get(v, "secret");
    json_t *pvc = json_object_get(v, "persistentVolumeClaim");
    if (json_is_object(hp)) {
      kube_tw_printf(tw,
                     "    Type:\tHostPath (bare host directory volume)\n    Path:\t%s\n"
                     "    HostPathType:\t%s\n",
                     json_str(hp, "path") ?: "", or_none(json_str(hp, "type")));
    } else if (json_is_object(ed)) {
      json_t *sl = json_object_get(ed, "sizeLimit");
      cleanup_free char *limit = sl ? quantity_text(sl) : xstrdup("<unset>");
      kube_tw_printf(tw,
                     "    Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"
                     "    Medium:\t%s\n    SizeLimit:\t%s\n",
                     json_str(ed, "medium") ?: "", limit);
    } else if (json_is_object(cm)) {
      kube_tw_printf(tw,
                     "    Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t%s\n"
                     "    Optional:\t%s\n",
                     json_str(cm, "name") ?: "",
                     json_bool(cm, "optional", false) ? "true" : "false");
    } else if (json_is_object(sec)) {
      kube_tw_printf(tw,
                     "    Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t%s\n"
                     "    Optional:\t%s\n",
                     json_str(sec, "secretName") ?: "",
                     json_bool(sec, "optional", false) ? "true" : "false");
    } else if (json_is_object(pvc)) {
      kube_tw_printf(tw,
                     "    Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in "
                     "the same namespace)\n    ClaimName:\t%s\n    ReadOnly:\t%s\n",
                     json_str(pvc, "claimName") ?: "",
                     json_bool(pvc, "readOnly", false) ? "true" : "false");
    } else {
      kube_tw_puts(tw, "  <unknown>\n");
    }
  }
}

/* Kubernetes' QoS class when the server did not record one. */
static const char *pod_qos(json_t *spec)
{
  bool best = true, guaranteed = true;
  const char *lists[] = { "initContainers", "containers" };
  for (size_t l = 0; l < 2; l++) {
    json_t *c;
    size_t i;
    json_array_foreach(json_object_get(spec, lists[l]), i, c)
    {
      json_t *req = kube_get(c, "resources.requests"), *lim = kube_get(c, "resources.limits");
      const char *rs[] = { "cpu", "memory" };
      for (size_t r = 0; r < 2; r++) {
        api_quantity_t qr, ql;
        berr_t err = BERR_INIT;
        json_t *jr = json_object_get(req, rs[r]), *jl = json_object_get(lim, rs[r]);
        bool hr = jr && api_quantity_from_json(jr, &qr, &err) == 0 && !api_quantity_is_zero(&qr);
        berr_clear(&err);
        bool hl = jl && api_quantity_from_json(jl, &ql, &err) == 0 && !api_quantity_is_zero(&ql);
        berr_clear(&err);
        if (hr || hl)
          best = false;
        if (!hl || (hr && api_quantity_cmp(&qr, &ql)))
          guaranteed = false;
      }
    }
  }
  return best ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

static int cmp_tolerations(const void *a, const void *b)
{
  const char *x = json_str(*(json_t *const *)a, "key"), *y = json_str(*(json_t *const *)b, "key");
  return strcmp(x ? x : "", y ? y : "");
}

static void describe_tolerations(kube_tw_t *tw, json_t *tols)
{
  kube_tw_puts(tw, "Tolerations:\t");
  size_t n = json_array_size(tols);
  if (!n) {
    kube_tw_puts(tw, "<none>\n");
    return;
  }
  json_t **v = xcalloc(n, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = json_array_get(tols, i);
  qsort(v, n, sizeof *v, cmp_tolerations);
  for (size_t i = 0; i < n; i++) {
    const char *key = json_str(v[i], "key") ?: "", *val = json_str(v[i], "value") ?: "";
    const char *eff = json_str(v[i], "effect") ?: "", *op = json_str(v[i], "operator") ?: "";
    kube_tw_printf(tw, "%s%s", i ? "\t" : "", key);
    if (*val)
      kube_tw_printf(tw, "=%s", val);
    if (*eff)
      kube_tw_printf(tw, ":%s", eff);
    if (!strcmp(op, "Exists") && !*val)
      kube_tw_puts(tw, *key || *eff ? " op=Exists" : "op=Exists");
    if (json_is_integer(json_object_get(v[i], "tolerationSeconds")))
      kube_tw_printf(tw, " for %llds", (long long)json_int(v[i], "tolerationSeconds", 0));
    kube_tw_puts(tw, "\n");
  }
  free(v);
}

static void describe_pod(kube_t *k, json_t *pod, kube_tw_t *tw)
{
  json_t *meta = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
  json_t *st = json_object_get(pod, "status");
  kube_tw_printf(tw, "Name:\t%s\n", json_str(meta, "name") ?: "");
  kube_tw_printf(tw, "Namespace:\t%s\n", json_str(meta, "namespace") ?: "");
  if (json_is_integer(json_object_get(spec, "priority")))
    kube_tw_printf(tw, "Priority:\t%lld\n", (long long)json_int(spec, "priority", 0));
  const char *s;
  if ((s = json_str(spec, "priorityClassName")) && *s)
    kube_tw_printf(tw, "Priority Class Name:\t%s\n", s);
  if ((s = json_str(spec, "runtimeClassName")) && *s)
    kube_tw_printf(tw, "Runtime Class Name:\t%s\n", s);
  if ((s = json_str(spec, "serviceAccountName")) && *s)
    kube_tw_printf(tw, "Service Account:\t%s\n", s);
  const char *node = json_str(spec, "nodeName");
  if (node && *node)
    kube_tw_printf(tw, "Node:\t%s/%s\n", node, json_str(st, "hostIP") ?: "");
  else
    kube_tw_puts(tw, "Node:\t<none>\n");
  if ((s = json_str(st, "startTime")) && *s) {
    cleanup_free char *t = kube_time_rfc1123z(s);
    kube_tw_printf(tw, "Start Time:\t%s\n", t);
  }
  kube_describe_labels(tw, "Labels", json_object_get(meta, "labels"));
  kube_describe_annotations(tw, json_object_get(meta, "annotations"));
  const char *phase = json_str(st, "phase") ?: "";
  const char *del = json_str(meta, "deletionTimestamp");
  if (del && *del && strcmp(phase, "Failed") && strcmp(phase, "Succeeded")) {
    cleanup_free char *age = kube_age(del);
    kube_tw_printf(tw, "Status:\tTerminating (lasts %s)\n", age);
    kube_tw_printf(tw, "Termination Grace Period:\t%llds\n",
                   (long long)json_int(meta, "deletionGracePeriodSeconds", 0));
  } else {
    kube_tw_printf(tw, "Status:\t%s\n", phase);
  }
  if ((s = json_str(st, "reason")) && *s)
    kube_tw_printf(tw, "Reason:\t%s\n", s);
  if ((s = json_str(st, "message")) && *s)
    kube_tw_printf(tw, "Message:\t%s\n", s);
  kube_tw_printf(tw, "IP:\t%s\n", json_str(st, "podIP") ?: "");
  json_t *ips = json_object_get(st, "podIPs"), *e;
  size_t i;
  if (!json_array_size(ips)) {
    kube_tw_puts(tw, "IPs:\t<none>\n");
  } else {
    kube_tw_puts(tw, "IPs:\n");
    json_array_foreach(ips, i, e) kube_tw_printf(tw, "  IP:\t%s\n", json_str(e, "ip") ?: "");
  }
  json_array_foreach(json_object_get(meta, "ownerReferences"), i, e)
  {
    if (json_bool(e, "controller", false))
      kube_tw_printf(tw, "Controlled By:\t%s/%s\n", json_str(e, "kind") ?: "",
                     json_str(e, "name") ?: "");
  }
  if ((s = json_str(st, "nominatedNodeName")) && *s)
    kube_tw_printf(tw, "NominatedNodeName:\t%s\n", s);
  if (json_array_size(json_object_get(spec, "initContainers")))
    describe_containers(tw, pod, "Init Containers", json_object_get(spec, "initContainers"),
                        json_object_get(st, "initContainerStatuses"));
  describe_containers(tw, pod, "Containers", json_object_get(spec, "containers"),
                      json_object_get(st, "containerStatuses"));
  json_t *conds = json_object_get(st, "conditions");
  if (json_array_size(conds)) {
    kube_tw_puts(tw, "Conditions:\n  Type\tStatus\n");
    json_array_foreach(conds, i, e)
        kube_tw_printf(tw, "  %s \t%s \n", json_str(e, "type") ?: "", json_str(e, "status") ?: "");
  }
  describe_volumes(tw, json_object_get(spec, "volumes"));
  const char *qos = json_str(st, "qosClass");
  kube_tw_printf(tw, "QoS Class:\t%s\n", qos && *qos ? qos : pod_qos(spec));
  kube_describe_labels(tw, "Node-Selectors", json_object_get(spec, "nodeSelector"));
  describe_tolerations(tw, json_object_get(spec, "tolerations"));
  cleanup_json json_t *events = kube_events_for(k, pod, "Pod");
  if (events)
    kube_describe_events(tw, events);
}

/* ---- configmaps, secrets, namespaces ----------------------------------------- */

static void describe_head(kube_tw_t *tw, json_t *obj, bool namespaced)
{
  json_t *meta = json_object_get(obj, "metadata");
  kube_tw_printf(tw, "Name:\t%s\n", json_str(meta, "name") ?: "");
  if (namespaced)
    kube_tw_printf(tw, "Namespace:\t%s\n", json_str(meta, "namespace") ?: "");
  kube_describe_labels(tw, "Labels", json_object_get(meta, "labels"));
  kube_describe_annotations(tw, json_object_get(meta, "annotations"));
}

static void describe_configmap(kube_t *k, json_t *cm, kube_tw_t *tw)
{
  describe_head(tw, cm, true);
  kube_tw_puts(tw, "\nData\n====\n");
  json_t *data = json_object_get(cm, "data");
  cleanup_strv char **keys = kube_sorted_keys(data);
  for (size_t i = 0; keys[i]; i++)
    kube_tw_printf(tw, "%s:\n----\n%s\n\n", keys[i], json_str(data, keys[i]) ?: "");
  kube_tw_puts(tw, "\nBinaryData\n====\n");
  json_t *bin = json_object_get(cm, "binaryData");
  cleanup_strv char **bkeys = kube_sorted_keys(bin);
  for (size_t i = 0; bkeys[i]; i++) {
    const char *b64 = json_str(bin, bkeys[i]);
    size_t bad = 0;
    ssize_t n = b64 ? api_base64_decoded_len(b64, &bad) : 0;
    kube_tw_printf(tw, "%s: %zd bytes\n", bkeys[i], n < 0 ? (ssize_t)0 : n);
  }
  kube_tw_puts(tw, "\n");
  cleanup_json json_t *events = kube_events_for(k, cm, "ConfigMap");
  if (events)
    kube_describe_events(tw, events);
}

static void describe_secret(json_t *sec, kube_tw_t *tw)
{
  describe_head(tw, sec, true);
  kube_tw_printf(tw, "\nType:\t%s\n", json_str(sec, "type") ?: "");
  kube_tw_puts(tw, "\nData\n====\n");
  json_t *data = json_object_get(sec, "data");
  cleanup_strv char **keys = kube_sorted_keys(data);
  for (size_t i = 0; keys[i]; i++) {
    const char *b64 = json_str(data, keys[i]);
    size_t bad = 0;
    ssize_t n = b64 ? api_base64_decoded_len(b64, &bad) : 0;
    kube_tw_printf(tw, "%s:\t%zd bytes\n", keys[i], n < 0 ? (ssize_t)0 : n);
  }
}

static void describe_namespace(json_t *ns, kube_tw_t *tw)
{
  describe_head(tw, ns, false);
  const char *phase = kube_str(ns, "status.phase");
  kube_tw_printf(tw, "Status:\t%s\n", phase && *phase ? phase : "Active");
}

/* ---- the verb ---------------------------------------------------------------- */

static void describe_one(kube_t *k, const kube_res_t *res, json_t *obj, kube_tw_t *tw)
{
  bool core = !*res->group;
  if (core && !strcmp(res->kind, "Pod"))
    describe_pod(k, obj, tw);
  else if (core && !strcmp(res->kind, "Node"))
    kube_describe_node(k, obj, tw);
  else if (core && !strcmp(res->kind, "ConfigMap"))
    describe_configmap(k, obj, tw);
  else if (core && !strcmp(res->kind, "Secret"))
    describe_secret(obj, tw);
  else if (core && !strcmp(res->kind, "Namespace"))
    describe_namespace(obj, tw);
  else
    kube_describe_generic(k, obj, tw);
}

/* The objects to describe: one name (or, when it does not exist, those it is
 * a prefix of), or every object (matching sel). */
static int collect(kube_t *k, const kube_res_t *res, const char *name, const char *sel,
                   bool prefix_ok, bool all_ns, json_t *out)
{
  if (name) {
    cleanup_free char *path = kube_path(res, k->ns, name, NULL, NULL);
    cleanup_reply kube_reply_t r;
    if (kube_call(k, "GET", path, NULL, "application/json", NULL, &r) < 0)
      return 1;
    if (r.code == 200) {
      json_array_append(out, r.json);
      return 0;
    }
    if (r.code != 404 || !prefix_ok)
      return kube_reply_fail(&r, NULL);
    cleanup_free char *lpath = kube_path(res, k->ns, NULL, NULL, NULL);
    cleanup_reply kube_reply_t l;
    if (kube_call(k, "GET", lpath, NULL, "application/json", NULL, &l) < 0)
      return 1;
    size_t before = json_array_size(out), i;
    json_t *it;
    json_array_foreach(json_object_get(l.json, "items"), i, it)
    {
      const char *n = kube_str(it, "metadata.name");
      if (n && str_has_prefix(n, name))
        json_array_append(out, it);
    }
    return json_array_size(out) > before ? 0 : kube_reply_fail(&r, NULL);
  }
  buf_t q = { 0 };
  if (sel)
    kube_query_add(&q, "labelSelector", sel);
  cleanup_free char *qs = q.data ? buf_steal(&q) : xstrdup("");
  cleanup_free char *path = kube_path(res, all_ns ? NULL : k->ns, NULL, NULL, qs);
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "GET", path, NULL, "application/json", NULL, &r) < 0)
    return 1;
  if (r.code != 200)
    return kube_reply_fail(&r, NULL);
  json_t *it;
  size_t i;
  json_array_foreach(json_object_get(r.json, "items"), i, it) json_array_append(out, it);
  if (!json_array_size(out)) {
    if (res->namespaced && !all_ns)
      fprintf(stderr, "No resources found in %s namespace.\n", k->ns);
    else
      fputs("No resources found\n", stderr);
  }
  return 0;
}

int kube_cmd_describe(kube_t *k, int argc, char **argv)
{
  static const struct option opts[] = { KUBE_COMMON_OPTS,
                                        { "selector", required_argument, NULL, 'l' },
                                        { "all-namespaces", no_argument, NULL, 'A' },
                                        { 0 } };
  const char *sel = NULL;
  bool all_ns = false;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":n:hl:A", opts, NULL)) != -1) {
    if (kube_common_opt(k, c, optarg))
      continue;
    switch (c) {
    case 'h':
      fputs(describe_usage, stdout);
      return 0;
    case 'A':
      all_ns = true;
      break;
    case 'l':
      sel = optarg;
      break;
    default:
      return cli_bad_option("describe", c, argv, opts);
    }
  }
  if (optind >= argc)
    return cli_usage_error("describe", "describe needs a resource type (berth describe pod web)");
  if (all_ns && (argc - optind > 1 || strchr(argv[optind], '/')))
    return kube_fail("a resource cannot be retrieved by name across all namespaces");
  if (kube_connect(k) < 0)
    return 1;
  int rc = 0;
  bool first = true;
  bool slash = strchr(argv[optind], '/') != NULL;
  const kube_res_t *res = NULL;
  if (!slash && !(res = kube_resolve(k, argv[optind])))
    return 1;
  int from = slash ? optind : optind + 1;
  /* TYPE alone: one round with no name (every object). */
  bool all = from == argc;
  for (int i = from; i < argc || (all && i == from); i++) {
    const char *name = i < argc ? argv[i] : NULL;
    if (slash) {
      const char *s = strchr(argv[i], '/');
      if (!s)
        return cli_usage_error("describe", "there is no need to specify a resource type as a "
                                           "separate argument when passing arguments in "
                                           "resource/name form");
      cleanup_free char *type = xstrndup(argv[i], (size_t)(s - argv[i]));
      if (!(res = kube_resolve(k, type)))
        return 1;
      name = s + 1;
    }
    cleanup_json json_t *objs = json_array();
    /* As kubectl: only "TYPE NAME" falls back to the names NAME starts. */
    bool prefix_ok = !slash && argc - optind == 2;
    rc |= collect(k, res, name, sel, prefix_ok, all_ns, objs);
    const char *n0 = kube_str(json_array_get(objs, 0), "metadata.name");
    bool by_prefix = prefix_ok && n0 && strcmp(n0, name);
    json_t *o;
    size_t j;
    json_array_foreach(objs, j, o)
    {
      kube_tw_t tw;
      kube_tw_init(&tw, 0, 2);
      describe_one(k, res, o, &tw);
      /* kubectl separates objects with a blank line, but ends each one found
       * by prefix with a newline instead. */
      if (!first && !by_prefix)
        fputs("\n\n", stdout);
      first = false;
      kube_tw_flush(&tw, stdout);
      if (by_prefix)
        putchar('\n');
      fflush(stdout);
    }
  }
  return rc;
}
