/* kube_describe_node.c — describe for nodes (with their lease, the pods on
 * them and what those pods ask for) and for every kind berth has no
 * special layout for: kubectl's generic describe, which prints the object
 * as nested "Smart Label:  value" lines. */
#include "api/api.h"
#include "cli/kube.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- resource sums ------------------------------------------------------------ */

typedef struct qsum {
  char *name;
  api_quantity_t q;
} qsum_t;

typedef struct qsums {
  qsum_t *v;
  size_t n;
} qsums_t;

static qsum_t *qsum_find(qsums_t *s, const char *name, bool add)
{
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->v[i].name, name))
      return &s->v[i];
  if (!add)
    return NULL;
  s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
  s->v[s->n] = (qsum_t){ .name = xstrdup(name) };
  return &s->v[s->n++];
}

static void qsums_free(qsums_t *s)
{
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i].name);
  free(s->v);
  s->v = NULL;
  s->n = 0;
}

/* Adds (or, with max, raises to) every quantity of list. */
static void qsums_add(qsums_t *s, json_t *list, bool max)
{
  const char *key;
  json_t *v;
  json_object_foreach(list, key, v)
  {
    api_quantity_t q;
    berr_t err = BERR_INIT;
    if (api_quantity_from_json(v, &q, &err) < 0) {
      berr_clear(&err);
      continue;
    }
    qsum_t *e = qsum_find(s, key, false);
    if (!e) {
      e = qsum_find(s, key, true);
      e->q = q;
    } else if (max) {
      if (api_quantity_cmp(&q, &e->q) > 0)
        e->q = q;
    } else if (api_quantity_add(&e->q, &q, &err) < 0) {
      berr_clear(&err);
    }
  }
}

/* kubectl's PodRequestsAndLimits: the containers' sum, or an init
 * container's when it is larger. */
static void pod_totals(json_t *pod, qsums_t *req, qsums_t *lim)
{
  json_t *c;
  size_t i;
  json_array_foreach(kube_get(pod, "spec.containers"), i, c)
  {
    qsums_add(req, kube_get(c, "resources.requests"), false);
    qsums_add(lim, kube_get(c, "resources.limits"), false);
  }
  json_array_foreach(kube_get(pod, "spec.initContainers"), i, c)
  {
    qsums_add(req, kube_get(c, "resources.requests"), true);
    qsums_add(lim, kube_get(c, "resources.limits"), true);
  }
  json_t *overhead = kube_get(pod, "spec.overhead");
  qsums_add(req, overhead, false);
  qsums_add(lim, overhead, false);
}

static char *qtext(qsums_t *s, const char *name)
{
  qsum_t *e = qsum_find(s, name, false);
  if (!e)
    return xstrdup("0");
  return api_quantity_format(&e->q);
}

/* Whole percent of allocatable, as kubectl truncates it. */
static long long qpercent(qsums_t *s, const char *name, json_t *alloc)
{
  qsum_t *e = qsum_find(s, name, false);
  api_quantity_t a;
  berr_t err = BERR_INIT;
  json_t *av = json_object_get(alloc, name);
  if (!e || !av || api_quantity_from_json(av, &a, &err) < 0) {
    berr_clear(&err);
    return 0;
  }
  bool milli = !strcmp(name, "cpu");
  double num = milli ? (double)api_quantity_milli(&e->q) : (double)api_quantity_value(&e->q);
  double den = milli ? (double)api_quantity_milli(&a) : (double)api_quantity_value(&a);
  return den != 0 ? (long long)(num / den * 100) : 0;
}

/* ---- nodes --------------------------------------------------------------------- */

static char *node_roles(json_t *labels)
{
  cleanup_strv char **roles = NULL;
  const char *key;
  json_t *v;
  json_object_foreach(labels, key, v)
  {
    const char *role = NULL;
    if (str_has_prefix(key, "node-role.kubernetes.io/"))
      role = key + strlen("node-role.kubernetes.io/");
    else if (!strcmp(key, "kubernetes.io/role"))
      role = json_string_value(v);
    if (!role || !*role)
      continue;
    bool dup = false;
    for (size_t i = 0; roles && roles[i] && !dup; i++)
      dup = !strcmp(roles[i], role);
    if (!dup)
      strv_push(&roles, role);
  }
  if (!roles)
    return xstrdup("<none>");
  strv_sort(roles);
  buf_t b = { 0 };
  for (size_t i = 0; roles[i]; i++)
    buf_printf(&b, "%s%s", i ? "," : "", roles[i]);
  return buf_steal(&b);
}

static int cmp_taints(const void *a, const void *b)
{
  json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  cleanup_free char *kx = xasprintf("%s,%s", json_str(x, "effect") ?: "", json_str(x, "key") ?: "");
  cleanup_free char *ky = xasprintf("%s,%s", json_str(y, "effect") ?: "", json_str(y, "key") ?: "");
  return strcmp(kx, ky);
}

static void describe_taints(kube_tw_t *tw, json_t *taints)
{
  kube_tw_puts(tw, "Taints:\t");
  size_t n = json_array_size(taints);
  if (!n) {
    kube_tw_puts(tw, "<none>\n");
    return;
  }
  json_t **v = xcalloc(n, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = json_array_get(taints, i);
  qsort(v, n, sizeof *v, cmp_taints);
  for (size_t i = 0; i < n; i++) {
    const char *key = json_str(v[i], "key") ?: "", *val = json_str(v[i], "value") ?: "";
    const char *eff = json_str(v[i], "effect") ?: "";
    kube_tw_printf(tw, "%s%s%s%s%s%s\n", i ? "\t" : "", key, *val ? "=" : "", val, *eff ? ":" : "",
                   eff);
  }
  free(v);
}

static void resource_list(kube_tw_t *tw, const char *title, json_t *list)
{
  if (!json_object_size(list))
    return;
  kube_tw_printf(tw, "%s:\n", title);
  cleanup_strv char **keys = kube_sorted_keys(list);
  for (size_t i = 0; keys[i]; i++) {
    json_t *v = json_object_get(list, keys[i]);
    api_quantity_t q;
    berr_t err = BERR_INIT;
    cleanup_free char *s = NULL;
    if (api_quantity_from_json(v, &q, &err) == 0)
      s = api_quantity_format(&q);
    berr_clear(&err);
    kube_tw_printf(tw, "  %s:\t%s\n", keys[i], s ? s : json_string_value(v) ?: "");
  }
}

/* The node's pods that have not finished, or NULL when they cannot be listed. */
static json_t *node_pods(kube_t *k, const char *node)
{
  cleanup_free char *f = xasprintf("spec.nodeName=%s", node);
  buf_t q = { 0 };
  kube_query_add(&q, "fieldSelector", f);
  cleanup_free char *qs = buf_steal(&q);
  cleanup_free char *path = xasprintf("/api/v1/pods?%s", qs);
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "GET", path, NULL, "application/json", NULL, &r) < 0)
    return NULL;
  if (r.code == 400) {
    /* A server without that field selector: filter here. */
    kube_reply_free(&r);
    if (kube_call(k, "GET", "/api/v1/pods", NULL, "application/json", NULL, &r) < 0)
      return NULL;
  }
  if (r.code != 200)
    return NULL;
  json_t *out = json_array(), *p;
  size_t i;
  json_array_foreach(json_object_get(r.json, "items"), i, p)
  {
    const char *nn = kube_str(p, "spec.nodeName"), *ph = kube_str(p, "status.phase");
    if (!nn || strcmp(nn, node))
      continue;
    if (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed")))
      continue;
    json_array_append(out, p);
  }
  return out;
}

static void describe_node_pods(kube_tw_t *tw, json_t *pods, json_t *alloc)
{
  kube_tw_printf(tw, "Non-terminated Pods:\t(%zu in total)\n", json_array_size(pods));
  kube_tw_puts(tw, "  Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory "
                   "Limits\tAge\n");
  kube_tw_puts(tw, "  ---------\t----\t\t------------\t----------\t---------------\t-------------"
                   "\t---\n");
  qsums_t treq = { 0 }, tlim = { 0 };
  json_t *p;
  size_t i;
  json_array_foreach(pods, i, p)
  {
    qsums_t req = { 0 }, lim = { 0 };
    pod_totals(p, &req, &lim);
    pod_totals(p, &treq, &tlim);
    cleanup_free char *cr = qtext(&req, "cpu"), *cl = qtext(&lim, "cpu");
    cleanup_free char *mr = qtext(&req, "memory"), *ml = qtext(&lim, "memory");
    cleanup_free char *age = kube_age(kube_str(p, "metadata.creationTimestamp"));
    kube_tw_printf(tw, "  %s\t%s\t\t%s (%lld%%)\t%s (%lld%%)\t%s (%lld%%)\t%s (%lld%%)\t%s\n",
                   kube_str(p, "metadata.namespace") ?: "", kube_str(p, "metadata.name") ?: "", cr,
                   qpercent(&req, "cpu", alloc), cl, qpercent(&lim, "cpu", alloc), mr,
                   qpercent(&req, "memory", alloc), ml, qpercent(&lim, "memory", alloc), age);
    qsums_free(&req);
    qsums_free(&lim);
  }
  kube_tw_puts(tw, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., "
                   "overcommitted.)\n");
  kube_tw_puts(tw, "  Resource\tRequests\tLimits\n  --------\t--------\t------\n");
  const char *std[] = { "cpu", "memory", "ephemeral-storage" };
  for (size_t s = 0; s < ARRAY_SIZE(std); s++) {
    cleanup_free char *r = qtext(&treq, std[s]), *l = qtext(&tlim, std[s]);
    kube_tw_printf(tw, "  %s\t%s (%lld%%)\t%s (%lld%%)\n", std[s], r,
                   qpercent(&treq, std[s], alloc), l, qpercent(&tlim, std[s], alloc));
  }
  cleanup_strv char **keys = kube_sorted_keys(alloc);
  for (size_t j = 0; keys[j]; j++) {
    if (!str_has_prefix(keys[j], "hugepages-"))
      continue;
    cleanup_free char *r = qtext(&treq, keys[j]), *l = qtext(&tlim, keys[j]);
    kube_tw_printf(tw, "  %s\t%s (%lld%%)\t%s (%lld%%)\n", keys[j], r,
                   qpercent(&treq, keys[j], alloc), l, qpercent(&tlim, keys[j], alloc));
  }
  for (size_t j = 0; keys[j]; j++) {
    const char *n = keys[j];
    if (str_has_prefix(n, "hugepages-") || !strcmp(n, "cpu") || !strcmp(n, "memory")
        || !strcmp(n, "ephemeral-storage") || !strcmp(n, "storage") || !strcmp(n, "pods"))
      continue;
    cleanup_free char *r = qtext(&treq, n), *l = qtext(&tlim, n);
    kube_tw_printf(tw, "  %s\t%s\t%s\n", n, r, l);
  }
  qsums_free(&treq);
  qsums_free(&tlim);
}

int kube_describe_node(kube_t *k, json_t *node, kube_tw_t *tw)
{
  json_t *meta = json_object_get(node, "metadata"), *spec = json_object_get(node, "spec");
  json_t *st = json_object_get(node, "status");
  const char *name = json_str(meta, "name") ?: "";
  kube_tw_printf(tw, "Name:\t%s\n", name);
  cleanup_free char *roles = node_roles(json_object_get(meta, "labels"));
  kube_tw_printf(tw, "Roles:\t%s\n", roles);
  kube_describe_labels(tw, "Labels", json_object_get(meta, "labels"));
  kube_describe_annotations(tw, json_object_get(meta, "annotations"));
  cleanup_free char *created = kube_time_rfc1123z(json_str(meta, "creationTimestamp"));
  kube_tw_printf(tw, "CreationTimestamp:\t%s\n", created);
  describe_taints(tw, json_object_get(spec, "taints"));
  kube_tw_printf(tw, "Unschedulable:\t%s\n",
                 json_bool(spec, "unschedulable", false) ? "true" : "false");

  cleanup_free char *lpath
      = xasprintf("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s", name);
  cleanup_reply kube_reply_t lr;
  if (kube_call(k, "GET", lpath, NULL, "application/json", NULL, &lr) == 0 && lr.code == 200) {
    json_t *ls = json_object_get(lr.json, "spec");
    const char *h = json_str(ls, "holderIdentity"), *a = json_str(ls, "acquireTime");
    const char *r = json_str(ls, "renewTime");
    cleanup_free char *at = a ? kube_time_rfc1123z(a) : xstrdup("<unset>");
    cleanup_free char *rt = r ? kube_time_rfc1123z(r) : xstrdup("<unset>");
    kube_tw_printf(tw, "Lease:\n  HolderIdentity:\t%s\n  AcquireTime:\t%s\n  RenewTime:\t%s\n",
                   h ? h : "<unset>", at, rt);
  } else if (lr.code) {
    const char *m = json_str(lr.json, "message");
    cleanup_free char *msg = m ? xstrdup(m) : kube_reply_message(&lr, NULL);
    kube_tw_printf(tw, "Lease:\tFailed to get lease: %s\n", msg);
  }

  json_t *conds = json_object_get(st, "conditions"), *e;
  size_t i;
  if (json_array_size(conds)) {
    kube_tw_puts(tw, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason"
                     "\tMessage\n");
    kube_tw_puts(tw, "  ----\t------\t-----------------\t------------------\t------\t-------\n");
    json_array_foreach(conds, i, e)
    {
      cleanup_free char *hb = kube_time_rfc1123z(json_str(e, "lastHeartbeatTime"));
      cleanup_free char *tr = kube_time_rfc1123z(json_str(e, "lastTransitionTime"));
      kube_tw_printf(tw, "  %s \t%s \t%s \t%s \t%s \t%s\n", json_str(e, "type") ?: "",
                     json_str(e, "status") ?: "", hb, tr, json_str(e, "reason") ?: "",
                     json_str(e, "message") ?: "");
    }
  }
  kube_tw_puts(tw, "Addresses:\n");
  json_array_foreach(json_object_get(st, "addresses"), i, e)
      kube_tw_printf(tw, "  %s:\t%s\n", json_str(e, "type") ?: "", json_str(e, "address") ?: "");
  resource_list(tw, "Capacity", json_object_get(st, "capacity"));
  resource_list(tw, "Allocatable", json_object_get(st, "allocatable"));
  json_t *ni = json_object_get(st, "nodeInfo");
  const char *info[] = { "Machine ID",
                         "machineID",
                         "System UUID",
                         "systemUUID",
                         "Boot ID",
                         "bootID",
                         "Kernel Version",
                         "kernelVersion",
                         "OS Image",
                         "osImage",
                         "Operating System",
                         "operatingSystem",
                         "Architecture",
                         "architecture",
                         "Container Runtime Version",
                         "containerRuntimeVersion",
                         "Kubelet Version",
                         "kubeletVersion",
                         "Kube-Proxy Version",
                         "kubeProxyVersion" };
  kube_tw_puts(tw, "System Info:\n");
  for (size_t j = 0; j < ARRAY_SIZE(info); j += 2)
    kube_tw_printf(tw, "  %s:\t%s\n", info[j], json_str(ni, info[j + 1]) ?: "");
  const char *cidr = json_str(spec, "podCIDR");
  if (cidr && *cidr)
    kube_tw_printf(tw, "PodCIDR:\t%s\n", cidr);
  json_t *cidrs = json_object_get(spec, "podCIDRs");
  if (json_array_size(cidrs)) {
    kube_tw_puts(tw, "PodCIDRs:\t");
    json_array_foreach(cidrs, i, e)
        kube_tw_printf(tw, "%s%s", i ? "," : "", json_string_value(e) ?: "");
    kube_tw_puts(tw, "\n");
  }
  const char *pid = json_str(spec, "providerID");
  if (pid && *pid)
    kube_tw_printf(tw, "ProviderID:\t%s\n", pid);
  json_t *alloc = json_object_get(st, "allocatable");
  if (!json_object_size(alloc))
    alloc = json_object_get(st, "capacity");
  cleanup_json json_t *pods = node_pods(k, name);
  if (pods)
    describe_node_pods(tw, pods, alloc);
  else
    kube_tw_puts(tw, "Pods:\tnot authorized\n");
  cleanup_json json_t *events = kube_events_for(k, node, "Node");
  if (events)
    kube_describe_events(tw, events);
  return 0;
}

/* ---- every other kind ----------------------------------------------------------- */

typedef enum { CC_LOWER, CC_UPPER, CC_DIGIT, CC_OTHER } cclass_t;

static cclass_t char_class(char c)
{
  if (islower((unsigned char)c))
    return CC_LOWER;
  if (isupper((unsigned char)c))
    return CC_UPPER;
  if (isdigit((unsigned char)c))
    return CC_DIGIT;
  return CC_OTHER;
}

/* "leaseDurationSeconds" → "Lease Duration Seconds", "apiVersion" → "API
 * Version" (kubectl's smartLabelFor over a camel-case split); a field with
 * anything but letters and '-' stays as it is. */
static char *smart_label(const char *field)
{
  for (const char *p = field; *p; p++)
    if (!isalpha((unsigned char)*p) && *p != '-')
      return xstrdup(field);
  /* Runs of one character class; an upper-case run followed by a lower-case
   * one gives its last letter to it ("HTTPServer" → "HTTP", "Server"). */
  cleanup_strv char **runs = NULL;
  size_t n = strlen(field);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && char_class(field[j]) == char_class(field[i]))
      j++;
    cleanup_free char *r = xstrndup(field + i, j - i);
    strv_push(&runs, r);
    i = j;
  }
  for (size_t i = 0; runs && runs[i] && runs[i + 1]; i++) {
    if (char_class(runs[i][0]) == CC_UPPER && char_class(runs[i + 1][0]) == CC_LOWER) {
      size_t l = strlen(runs[i]);
      char *moved = xasprintf("%c%s", runs[i][l - 1], runs[i + 1]);
      runs[i][l - 1] = '\0';
      free(runs[i + 1]);
      runs[i + 1] = moved;
    }
  }
  static const char *const acronyms[] = { "API", "URL", "UID", "OSB", "GUID" };
  buf_t b = { 0 };
  for (size_t i = 0; runs && runs[i]; i++) {
    if (!*runs[i] || !strcmp(runs[i], "_"))
      continue;
    cleanup_free char *up = xstrdup(runs[i]);
    for (char *c = up; *c; c++)
      *c = (char)toupper((unsigned char)*c);
    bool acr = false;
    for (size_t a = 0; a < ARRAY_SIZE(acronyms) && !acr; a++)
      acr = !strcmp(up, acronyms[a]);
    if (b.len)
      buf_puts(&b, " ");
    if (acr) {
      buf_puts(&b, up);
    } else {
      buf_printf(&b, "%c%s", toupper((unsigned char)runs[i][0]), runs[i] + 1);
    }
  }
  return b.data ? buf_steal(&b) : xstrdup(field);
}

static char *scalar_text(json_t *v)
{
  if (json_is_string(v))
    return xstrdup(json_string_value(v));
  if (json_is_integer(v))
    return xasprintf("%lld", (long long)json_integer_value(v));
  if (json_is_real(v))
    return xasprintf("%g", json_real_value(v));
  if (json_is_boolean(v))
    return xstrdup(json_is_true(v) ? "true" : "false");
  return xstrdup("<nil>");
}

static const char *const generic_skip[]
    = { ".metadata.managedFields", ".metadata.name", ".metadata.namespace", ".metadata.labels",
        ".metadata.annotations" };

static void print_content(kube_tw_t *tw, int level, json_t *obj, const char *prefix)
{
  cleanup_strv char **keys = kube_sorted_keys(obj);
  for (size_t i = 0; keys[i]; i++) {
    json_t *v = json_object_get(obj, keys[i]);
    cleanup_free char *expr = xasprintf("%s.%s", prefix, keys[i]);
    bool skip = false;
    for (size_t s = 0; s < ARRAY_SIZE(generic_skip) && !skip; s++)
      skip = !strcmp(expr, generic_skip[s]);
    if (skip)
      continue;
    cleanup_free char *label = smart_label(keys[i]);
    if (json_is_object(v)) {
      kube_tw_printf(tw, "%*s%s:\n", level * 2, "", label);
      print_content(tw, level + 1, v, expr);
    } else if (json_is_array(v)) {
      kube_tw_printf(tw, "%*s%s:\n", level * 2, "", label);
      json_t *e;
      size_t j;
      json_array_foreach(v, j, e)
      {
        if (json_is_object(e)) {
          print_content(tw, level + 1, e, expr);
        } else {
          cleanup_free char *t = scalar_text(e);
          kube_tw_printf(tw, "%*s%s\n", (level + 1) * 2, "", t);
        }
      }
    } else {
      cleanup_free char *t = scalar_text(v);
      kube_tw_printf(tw, "%*s%s:\t%s\n", level * 2, "", label, t);
    }
  }
}

void kube_describe_generic(kube_t *k, json_t *obj, kube_tw_t *tw)
{
  json_t *meta = json_object_get(obj, "metadata");
  kube_tw_printf(tw, "Name:\t%s\n", json_str(meta, "name") ?: "");
  kube_tw_printf(tw, "Namespace:\t%s\n", json_str(meta, "namespace") ?: "");
  kube_describe_labels(tw, "Labels", json_object_get(meta, "labels"));
  kube_describe_annotations(tw, json_object_get(meta, "annotations"));
  print_content(tw, 0, obj, "");
  cleanup_json json_t *events = kube_events_for(k, obj, json_str(obj, "kind") ?: "");
  if (events)
    kube_describe_events(tw, events);
}
