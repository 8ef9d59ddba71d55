/* authz.c — what each identity may do, in the spirit of Kubernetes' Node
 * authorizer: the admin may do anything; a node (an agent's credential) may
 * read what it needs and write only what is its own:
 *
 *   its Node object (create, update, patch, status), never another's;
 *   its Lease, kube-node-lease/<node>;
 *   events (it reports what happens to its pods);
 *   the status of pods bound to it, and their final DELETE;
 *   secrets: only get, and only those its pods use.
 *
 * and nothing at all of the workload kinds (apps, batch, policy,
 * scheduling.k8s.io): a node has no business with Deployments, Jobs,
 * PriorityClasses or disruption budgets, nor with evicting pods.
 *
 * Everything else is 403 Forbidden in the API server's words:
 * pods "web" is forbidden: User "system:node:n1" cannot update resource
 * "pods" in API group "" in the namespace "default". */
#include "server/internal.h"

#include <string.h>

/* The groups of the workload kinds, which nodes may neither read nor write. */
static bool workload_group(const srv_kind_t *k)
{
  static const char *const groups[] = { "apps", "batch", "policy", "scheduling.k8s.io" };
  for (size_t i = 0; i < ARRAY_SIZE(groups); i++)
    if (!strcmp(k->group, groups[i]))
      return true;
  return false;
}

static bool is_read(const char *verb)
{
  return !strcmp(verb, "get") || !strcmp(verb, "list") || !strcmp(verb, "watch");
}

static void forbid(srv_resp_t *r, const srv_kind_t *k, const char *verb, const char *ns,
                   const char *name, const char *sub, const char *user, const char *why)
{
  cleanup_free char *res = sub ? xasprintf("%s/%s", k->resource, sub) : xstrdup(k->resource);
  cleanup_free char *qual = srv_kind_qualified(k);
  cleanup_free char *obj = name ? xasprintf("%s \"%s\"", qual, name) : xstrdup(qual);
  cleanup_free char *where = ns ? xasprintf(" in the namespace \"%s\"", ns) : xstrdup("");
  srv_resp_status(
      r, 403, "Forbidden", k->resource, name,
      "%s is forbidden: User \"%s\" cannot %s resource \"%s\" in API group \"%s\"%s%s%s", obj, user,
      verb, res, k->group, where, why ? ": " : "", why ? why : "");
}

/* The names of the secrets a pod refers to: env, envFrom, volumes (also
 * projected), imagePullSecrets. */
static bool pod_uses_secret(json_t *pod, const char *name)
{
  json_t *spec = json_object_get(pod, "spec");
  const char *lists[] = { "initContainers", "containers" };
  for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
    json_t *cs = json_object_get(spec, lists[l]), *c;
    size_t i;
    json_array_foreach(cs, i, c)
    {
      json_t *env = json_object_get(c, "env"), *e;
      size_t j;
      json_array_foreach(env, j, e)
      {
        const char *n
            = json_str(json_object_get(json_object_get(e, "valueFrom"), "secretKeyRef"), "name");
        if (n && !strcmp(n, name))
          return true;
      }
      json_t *from = json_object_get(c, "envFrom");
      json_array_foreach(from, j, e)
      {
        const char *n = json_str(json_object_get(e, "secretRef"), "name");
        if (n && !strcmp(n, name))
          return true;
      }
    }
  }
  json_t *vols = json_object_get(spec, "volumes"), *v;
  size_t i;
  json_array_foreach(vols, i, v)
  {
    const char *n = json_str(json_object_get(v, "secret"), "secretName");
    if (n && !strcmp(n, name))
      return true;
    json_t *srcs = json_object_get(json_object_get(v, "projected"), "sources"), *s;
    size_t j;
    json_array_foreach(srcs, j, s)
    {
      n = json_str(json_object_get(s, "secret"), "name");
      if (n && !strcmp(n, name))
        return true;
    }
  }
  json_t *pulls = json_object_get(spec, "imagePullSecrets"), *p;
  json_array_foreach(pulls, i, p)
  {
    const char *n = json_str(p, "name");
    if (n && !strcmp(n, name))
      return true;
  }
  return false;
}

/* Whether a pod bound to node in ns uses secret name. */
static bool node_needs_secret(srv_t *s, const char *node, const char *ns, const char *name)
{
  const srv_kind_t *pods = srv_kind_find("", "pods");
  cleanup_free char *prefix = srv_obj_key(pods, ns, NULL);
  store_list_req_t lr = { .prefix = prefix };
  store_list_t l = { 0 };
  berr_t err = BERR_INIT;
  if (store_list(s->store, &lr, &l, &err) < 0) {
    berr_clear(&err);
    return false;
  }
  bool found = false;
  for (size_t i = 0; i < l.n && !found; i++) {
    json_t *pod = json_loadb(l.items[i].value, l.items[i].len, 0, NULL);
    const char *nn = json_str(json_object_get(pod, "spec"), "nodeName");
    found = nn && !strcmp(nn, node) && pod_uses_secret(pod, name);
    json_decref(pod);
  }
  store_list_free(&l);
  return found;
}

static const char *pod_node(json_t *pod)
{
  return json_str(json_object_get(pod, "spec"), "nodeName");
}

bool srv_authorize(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *verb,
                   const char *ns, const char *name, const char *sub, json_t *cur, json_t *obj)
{
  const srv_ident_t *id = q->ident;
  if (!id || id->admin)
    return true;
  if (!id->node) {
    forbid(r, k, verb, ns, name, sub, "system:bootstrap", NULL);
    return false;
  }
  const char *node = id->node;
  cleanup_free char *user = xasprintf("system:node:%s", node);
  const char *res = k->resource;
  if (!strcmp(res, "secrets")) {
    if (!strcmp(verb, "get") && name && node_needs_secret(q->srv, node, ns, name))
      return true;
    forbid(r, k, verb, ns, name, sub, user, "no relationship found between node and this object");
    return false;
  }
  if (workload_group(k)) {
    forbid(r, k, verb, ns, name, sub, user, NULL);
    return false;
  }
  if (is_read(verb) && !(sub && !strcmp(sub, "exec")))
    return true;
  if (!strcmp(res, "nodes")) {
    if (strcmp(verb, "delete") && name && !strcmp(name, node))
      return true;
    forbid(r, k, verb, ns, name, sub, user, NULL);
    return false;
  }
  if (!strcmp(res, "leases")) {
    if (ns && !strcmp(ns, "kube-node-lease") && name && !strcmp(name, node)
        && strcmp(verb, "delete"))
      return true;
    forbid(r, k, verb, ns, name, sub, user, NULL);
    return false;
  }
  if (!strcmp(res, "events")) {
    if (!strcmp(verb, "create") || !strcmp(verb, "patch") || !strcmp(verb, "update"))
      return true;
    forbid(r, k, verb, ns, name, sub, user, NULL);
    return false;
  }
  if (!strcmp(res, "pods")) {
    const char *bound = cur ? pod_node(cur) : NULL;
    bool mine = bound && !strcmp(bound, node);
    if (mine && sub && !strcmp(sub, "status") && strcmp(verb, "delete"))
      return true;
    if (mine && !sub && !strcmp(verb, "delete"))
      return true;
    forbid(r, k, verb, ns, name, sub, user,
           mine ? NULL : "can only update pod status of pods bound to the node");
    return false;
  }
  (void)obj;
  forbid(r, k, verb, ns, name, sub, user, NULL);
  return false;
}
