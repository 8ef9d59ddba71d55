/* kinds.c — the kinds berth serves, one row of kinds[] each (plural, kind,
 * scope, shortNames, verbs, Table columns, validation hook, field selector
 * fields), and discovery (/api/v1, /apis, /apis/GROUP/VERSION) made from
 * that table. Pods and nodes have their own file (kinds_pod.c); the verbs
 * that act on any kind are in resources.c. */
#include "api/api.h"
#include "server/internal.h"
#include "server/kinds.h"

#include <stdlib.h>
#include <string.h>

json_t *srv_str_own(char *s)
{
  json_t *j = json_string(s);
  free(s);
  return j;
}

/* ---- Table cells --------------------------------------------------------- */

json_t *srv_cell_str(const char *s)
{
  return json_string(s ? s : "");
}

/* The age since an RFC 3339 time, "<unknown>" without one. */
json_t *srv_cell_age_of(const char *ts, int64_t now)
{
  int64_t t;
  if (!ts || time_parse_rfc3339(ts, &t) < 0)
    return json_string("<unknown>");
  return srv_str_own(srv_human_age(now - t));
}

json_t *srv_cell_age(json_t *o, int64_t now)
{
  return srv_cell_age_of(json_str(json_object_get(o, "metadata"), "creationTimestamp"), now);
}

static json_t *cell_ns_status(json_t *o, int64_t now)
{
  (void)now;
  const char *ph = json_str(json_object_get(o, "status"), "phase");
  return srv_cell_str(ph ? ph : "Active");
}

static json_t *cell_data_count(json_t *o, int64_t now)
{
  (void)now;
  json_t *d = json_object_get(o, "data"), *b = json_object_get(o, "binaryData");
  return json_integer((json_int_t)(json_object_size(d) + json_object_size(b)));
}

static json_t *cell_secret_type(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_str(json_str(o, "type"));
}

/* An event was last seen at lastTimestamp, else eventTime, else its creation. */
static json_t *cell_event_last_seen(json_t *o, int64_t now)
{
  const char *ts = json_str(o, "lastTimestamp");
  if (!ts || !*ts)
    ts = json_str(o, "eventTime");
  if (!ts || !*ts)
    ts = json_str(json_object_get(o, "metadata"), "creationTimestamp");
  return srv_cell_age_of(ts, now);
}

static json_t *cell_event_type(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_str(json_str(o, "type"));
}

static json_t *cell_event_reason(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_str(json_str(o, "reason"));
}

/* "pod/web", as kubectl prints the involved object. */
static json_t *cell_event_object(json_t *o, int64_t now)
{
  (void)now;
  json_t *io = json_object_get(o, "involvedObject");
  const char *kind = json_str(io, "kind"), *name = json_str(io, "name");
  char *s = xasprintf("%s/%s", kind ? kind : "", name ? name : "");
  for (char *p = s; *p && *p != '/'; p++)
    *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
  return srv_str_own(s);
}

static json_t *cell_event_message(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_str(json_str(o, "message"));
}

static json_t *cell_lease_holder(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_str(json_str(json_object_get(o, "spec"), "holderIdentity"));
}

json_t *srv_cell_or_none(const char *s)
{
  return json_string(s && *s ? s : "<none>");
}

json_t *srv_cell_name(json_t *o, int64_t now)
{
  (void)now;
  return srv_cell_str(json_str(json_object_get(o, "metadata"), "name"));
}

static const srv_column_t cols_configmap[] = { SRV_NAME_COL, SRV_AGE_COL };
static const srv_column_t cols_namespace[] = {
  SRV_NAME_COL,
  SRV_COL("Status", "The status of the namespace", cell_ns_status),
  SRV_AGE_COL,
};
static const srv_column_t cols_secret[] = {
  SRV_NAME_COL,
  SRV_COL("Type", "The type of the secret", cell_secret_type),
  { "Data", "integer", "", "Number of keys", 0, cell_data_count },
  SRV_AGE_COL,
};
/* kubectl get events: LAST SEEN TYPE REASON OBJECT MESSAGE (NAME with -o wide). */
static const srv_column_t cols_event[] = {
  SRV_COL("Last Seen", "Time since the event was last seen", cell_event_last_seen),
  SRV_COL("Type", "The type of the event (Normal, Warning)", cell_event_type),
  SRV_COL("Reason", "Why the event happened", cell_event_reason),
  SRV_COL("Object", "The object the event is about", cell_event_object),
  SRV_COL("Message", "A human-readable description", cell_event_message),
  { "Name", "string", "name", "Name of the object", 1, srv_cell_name },
};
static const srv_column_t cols_lease[] = {
  SRV_NAME_COL,
  SRV_COL("Holder", "The holder of the lease", cell_lease_holder),
  SRV_AGE_COL,
};

/* ---- validation hooks ------------------------------------------------------ */

#define CONFIG_KEY_MSG                                                                             \
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "             \
  "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
#define MAX_SECRET_SIZE (1024 * 1024)

/* Checks that field f is a map of config keys to strings; returns it. */
static json_t *check_key_map(json_t *o, const char *f, api_errors_t *errs)
{
  json_t *d = json_object_get(o, f), *v;
  const char *key;
  if (d && !json_is_object(d)) {
    api_errors_add(errs, API_FERR_INVALID, f, NULL, "must be an object");
    return NULL;
  }
  json_object_foreach(d, key, v)
  {
    cleanup_free char *path = xasprintf("%s[%s]", f, key);
    if (!api_is_config_map_key(key, NULL))
      api_errors_add_str(errs, API_FERR_INVALID, path, key, CONFIG_KEY_MSG);
    if (!json_is_string(v))
      api_errors_add(errs, API_FERR_INVALID, path, NULL, "must be a string");
  }
  return d;
}

static void validate_configmap(json_t *o, api_errors_t *errs)
{
  check_key_map(o, "data", errs);
  check_key_map(o, "binaryData", errs);
}

static void validate_namespace(json_t *o, api_errors_t *errs)
{
  (void)errs;
  /* Kubernetes labels every namespace with its name, for selectors. */
  json_t *meta = json_object_get(o, "metadata");
  const char *name = json_str(meta, "name");
  json_t *labels = json_object_get(meta, "labels");
  if (name && !json_is_object(labels)) {
    labels = json_object();
    json_object_set_new(meta, "labels", labels);
  }
  if (name)
    json_object_set_new(labels, "kubernetes.io/metadata.name", json_string(name));
  json_object_set_new(o, "spec", json_pack("{s:[s]}", "finalizers", "kubernetes"));
  bool deleting = json_str(meta, "deletionTimestamp") != NULL;
  json_object_set_new(o, "status",
                      json_pack("{s:s}", "phase", deleting ? "Terminating" : "Active"));
}

/* The keys each well-known secret type requires (Kubernetes' ValidateSecret). */
static const struct {
  const char *type, *keys[2];
} secret_types[] = {
  { "kubernetes.io/dockercfg", { ".dockercfg" } },
  { "kubernetes.io/dockerconfigjson", { ".dockerconfigjson" } },
  { "kubernetes.io/ssh-auth", { "ssh-privatekey" } },
  { "kubernetes.io/tls", { "tls.crt", "tls.key" } },
};

/* stringData is write-only: merged into data (base64) and dropped. type
 * defaults to Opaque; data values must be base64. */
static void validate_secret(json_t *o, api_errors_t *errs)
{
  json_t *sd = check_key_map(o, "stringData", errs);
  json_t *d = json_object_get(o, "data"), *v;
  const char *key;
  if (d && !json_is_object(d)) {
    api_errors_add(errs, API_FERR_INVALID, "data", NULL, "must be an object");
    return;
  }
  if (json_object_size(sd) > 0 && !d) {
    d = json_object();
    json_object_set_new(o, "data", d);
  }
  json_object_foreach(sd, key, v)
  {
    if (json_is_string(v))
      json_object_set_new(d, key,
                          srv_str_own(api_base64_encode((const unsigned char *)json_string_value(v),
                                                        json_string_length(v))));
  }
  json_object_del(o, "stringData");
  size_t total = 0;
  json_object_foreach(d, key, v)
  {
    cleanup_free char *path = xasprintf("data[%s]", key);
    if (!api_is_config_map_key(key, NULL))
      api_errors_add_str(errs, API_FERR_INVALID, path, key, CONFIG_KEY_MSG);
    if (!json_is_string(v)) {
      api_errors_add(errs, API_FERR_INVALID, path, NULL, "must be a base64-encoded string");
      continue;
    }
    size_t bad;
    ssize_t n = api_base64_decoded_len(json_string_value(v), &bad);
    if (n < 0)
      api_errors_add_str(errs, API_FERR_INVALID, path, json_string_value(v),
                         "illegal base64 data at input byte %zu", bad);
    else
      total += (size_t)n + strlen(key);
  }
  if (total > MAX_SECRET_SIZE)
    api_errors_add(errs, API_FERR_TOO_LONG, "data", NULL, "must have at most %d bytes",
                   MAX_SECRET_SIZE);
  json_t *t = json_object_get(o, "type");
  if (t && !json_is_string(t)) {
    api_errors_add(errs, API_FERR_INVALID, "type", NULL, "must be a string");
    return;
  }
  if (!t || !*json_string_value(t))
    json_object_set_new(o, "type", json_string("Opaque"));
  const char *type = json_str(o, "type");
  for (size_t i = 0; i < ARRAY_SIZE(secret_types); i++) {
    if (strcmp(secret_types[i].type, type))
      continue;
    for (size_t j = 0; j < 2 && secret_types[i].keys[j]; j++)
      if (!json_object_get(d, secret_types[i].keys[j])) {
        cleanup_free char *path = xasprintf("data[%s]", secret_types[i].keys[j]);
        api_errors_add(errs, API_FERR_REQUIRED, path, NULL, "%s", "");
      }
  }
  if (!strcmp(type, "kubernetes.io/service-account-token")
      && !json_str(json_object_get(json_object_get(o, "metadata"), "annotations"),
                   "kubernetes.io/service-account.name"))
    api_errors_add(errs, API_FERR_REQUIRED,
                   "metadata.annotations[kubernetes.io/service-account.name]", NULL, "%s", "");
}

/* core/v1 Event, as Kubernetes validates events without a reportingController. */
static void validate_event(json_t *o, api_errors_t *errs)
{
  json_t *io = json_object_get(o, "involvedObject");
  if (io && !json_is_object(io)) {
    api_errors_add(errs, API_FERR_INVALID, "involvedObject", NULL, "must be an object");
    return;
  }
  const char *ions = json_str(io, "namespace");
  const char *ns = json_str(json_object_get(o, "metadata"), "namespace");
  if (ions && *ions && ns && strcmp(ions, ns))
    api_errors_add_str(errs, API_FERR_INVALID, "involvedObject.namespace", ions,
                       "does not match event.namespace");
  const char *str_fields[] = { "reason", "message", "type" };
  for (size_t i = 0; i < ARRAY_SIZE(str_fields); i++) {
    json_t *v = json_object_get(o, str_fields[i]);
    if (v && !json_is_string(v))
      api_errors_add(errs, API_FERR_INVALID, str_fields[i], NULL, "must be a string");
  }
}

/* coordination.k8s.io/v1 Lease (Kubernetes' ValidateLeaseSpec). */
static void validate_lease(json_t *o, api_errors_t *errs)
{
  json_t *spec = json_object_get(o, "spec");
  if (spec && !json_is_object(spec)) {
    api_errors_add(errs, API_FERR_INVALID, "spec", NULL, "must be an object");
    return;
  }
  json_t *v = json_object_get(spec, "leaseDurationSeconds");
  if (v && (!json_is_integer(v) || json_integer_value(v) <= 0))
    api_errors_add(errs, API_FERR_INVALID, "spec.leaseDurationSeconds", v,
                   "must be greater than 0");
  v = json_object_get(spec, "leaseTransitions");
  if (v && (!json_is_integer(v) || json_integer_value(v) < 0))
    api_errors_add(errs, API_FERR_INVALID, "spec.leaseTransitions", v,
                   "must be greater than or equal to 0");
  v = json_object_get(spec, "holderIdentity");
  if (v && !json_is_string(v) && !json_is_null(v))
    api_errors_add(errs, API_FERR_INVALID, "spec.holderIdentity", NULL, "must be a string");
}

/* ---- the kinds ---------------------------------------------------------- */

#define VERBS                                                                                      \
  {                                                                                                \
    "create", "delete", "get", "list", "patch", "update", "watch", NULL                            \
  }
static const srv_kind_t kinds[] = {
  {
      .group = "",
      .api_version = "v1",
      .resource = "namespaces",
      .singular = "namespace",
      .kind = "Namespace",
      .short_names = { "ns" },
      .verbs = VERBS,
      .columns = cols_namespace,
      .n_columns = ARRAY_SIZE(cols_namespace),
      .validate = validate_namespace,
      .fields = { "status.phase" },
      .name_label = true,
  },
  {
      .group = "",
      .api_version = "v1",
      .resource = "nodes",
      .singular = "node",
      .kind = "Node",
      .short_names = { "no" },
      .verbs = VERBS,
      .columns = srv_cols_node,
      .n_columns = SRV_NODE_COLUMNS,
      .validate = srv_validate_node,
      .fields = { "spec.unschedulable" },
      .subresources = { "status" },
      .spec_gen = true,
  },
  {
      .group = "",
      .api_version = "v1",
      .resource = "pods",
      .singular = "pod",
      .kind = "Pod",
      .namespaced = true,
      .short_names = { "po" },
      .verbs = VERBS,
      .columns = srv_cols_pod,
      .n_columns = SRV_POD_COLUMNS,
      .validate = srv_validate_pod,
      .validate_update = srv_validate_pod_update,
      .fields
      = { "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
          "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName" },
      .subresources = { "status", "binding", "log", "exec", "eviction" },
      .graceful = true,
      .spec_gen = true,
      .category_all = true,
      .admit = srv_admit_pod,
  },
  {
      .group = "",
      .api_version = "v1",
      .resource = "configmaps",
      .singular = "configmap",
      .kind = "ConfigMap",
      .namespaced = true,
      .short_names = { "cm" },
      .verbs = VERBS,
      .columns = cols_configmap,
      .n_columns = ARRAY_SIZE(cols_configmap),
      .validate = validate_configmap,
  },
  {
      .group = "",
      .api_version = "v1",
      .resource = "secrets",
      .singular = "secret",
      .kind = "Secret",
      .namespaced = true,
      .verbs = VERBS,
      .columns = cols_secret,
      .n_columns = ARRAY_SIZE(cols_secret),
      .validate = validate_secret,
      .fields = { "type" },
  },
  {
      .group = "",
      .api_version = "v1",
      .resource = "events",
      .singular = "event",
      .kind = "Event",
      .namespaced = true,
      .short_names = { "ev" },
      .verbs = VERBS,
      .columns = cols_event,
      .n_columns = ARRAY_SIZE(cols_event),
      .validate = validate_event,
      .fields
      = { "involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
          "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
          "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type" },
  },
  {
      .group = "coordination.k8s.io",
      .api_version = "coordination.k8s.io/v1",
      .resource = "leases",
      .singular = "lease",
      .kind = "Lease",
      .namespaced = true,
      .verbs = VERBS,
      .columns = cols_lease,
      .n_columns = ARRAY_SIZE(cols_lease),
      .validate = validate_lease,
  },
  {
      .group = "apps",
      .api_version = "apps/v1",
      .resource = "deployments",
      .singular = "deployment",
      .kind = "Deployment",
      .namespaced = true,
      .short_names = { "deploy" },
      .verbs = VERBS,
      .columns = srv_cols_deployment,
      .n_columns = SRV_DEPLOYMENT_COLUMNS,
      .validate = srv_validate_deployment,
      .validate_update = srv_validate_selector_update,
      .subresources = { "status", "scale" },
      .spec_gen = true,
      .category_all = true,
      .prepare_create = srv_prepare_clear_status,
  },
  {
      .group = "apps",
      .api_version = "apps/v1",
      .resource = "replicasets",
      .singular = "replicaset",
      .kind = "ReplicaSet",
      .namespaced = true,
      .short_names = { "rs" },
      .verbs = VERBS,
      .columns = srv_cols_replicaset,
      .n_columns = SRV_REPLICASET_COLUMNS,
      .validate = srv_validate_replicaset,
      .validate_update = srv_validate_selector_update,
      .fields = { "status.replicas" },
      .subresources = { "status", "scale" },
      .spec_gen = true,
      .category_all = true,
      .prepare_create = srv_prepare_clear_status,
  },
  {
      .group = "apps",
      .api_version = "apps/v1",
      .resource = "daemonsets",
      .singular = "daemonset",
      .kind = "DaemonSet",
      .namespaced = true,
      .short_names = { "ds" },
      .verbs = VERBS,
      .columns = srv_cols_daemonset,
      .n_columns = SRV_DAEMONSET_COLUMNS,
      .validate = srv_validate_daemonset,
      .validate_update = srv_validate_selector_update,
      .subresources = { "status" },
      .spec_gen = true,
      .category_all = true,
      .prepare_create = srv_prepare_clear_status,
  },
  {
      .group = "batch",
      .api_version = "batch/v1",
      .resource = "jobs",
      .singular = "job",
      .kind = "Job",
      .namespaced = true,
      .verbs = VERBS,
      .columns = srv_cols_job,
      .n_columns = SRV_JOB_COLUMNS,
      .validate = srv_validate_job,
      .validate_update = srv_validate_job_update,
      .fields = { "status.successful" },
      .subresources = { "status" },
      .spec_gen = true,
      .category_all = true,
      .prepare_create = srv_prepare_job,
  },
  {
      .group = "batch",
      .api_version = "batch/v1",
      .resource = "cronjobs",
      .singular = "cronjob",
      .kind = "CronJob",
      .namespaced = true,
      .short_names = { "cj" },
      .verbs = VERBS,
      .columns = srv_cols_cronjob,
      .n_columns = SRV_CRONJOB_COLUMNS,
      .validate = srv_validate_cronjob,
      .subresources = { "status" },
      .spec_gen = true,
      .category_all = true,
      .prepare_create = srv_prepare_clear_status,
  },
  {
      .group = "scheduling.k8s.io",
      .api_version = "scheduling.k8s.io/v1",
      .resource = "priorityclasses",
      .singular = "priorityclass",
      .kind = "PriorityClass",
      .short_names = { "pc" },
      .verbs = VERBS,
      .columns = srv_cols_priorityclass,
      .n_columns = SRV_PRIORITYCLASS_COLUMNS,
      .validate = srv_validate_priorityclass,
      .validate_update = srv_validate_priorityclass_update,
      .spec_gen = true,
      .admit = srv_admit_priorityclass,
  },
  {
      .group = "policy",
      .api_version = "policy/v1",
      .resource = "poddisruptionbudgets",
      .singular = "poddisruptionbudget",
      .kind = "PodDisruptionBudget",
      .namespaced = true,
      .short_names = { "pdb" },
      .verbs = VERBS,
      .columns = srv_cols_pdb,
      .n_columns = SRV_PDB_COLUMNS,
      .validate = srv_validate_pdb,
      .subresources = { "status" },
      .spec_gen = true,
      .prepare_create = srv_prepare_clear_status,
  },
};
#undef VERBS

const srv_kind_t *srv_kind_find(const char *group, const char *resource)
{
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
    if (!strcmp(kinds[i].group, group) && !strcmp(kinds[i].resource, resource))
      return &kinds[i];
  return NULL;
}

const srv_kind_t *srv_kinds(size_t *n)
{
  *n = ARRAY_SIZE(kinds);
  return kinds;
}

const srv_kind_t *srv_kind_by_resource(const char *resource)
{
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
    if (!strcmp(kinds[i].resource, resource))
      return &kinds[i];
  return NULL;
}

bool srv_kind_has_sub(const srv_kind_t *k, const char *sub)
{
  for (size_t i = 0; i < ARRAY_SIZE(k->subresources) && k->subresources[i]; i++)
    if (!strcmp(k->subresources[i], sub))
      return true;
  return false;
}

static json_t *str_array(const char *const *v, size_t max)
{
  json_t *a = json_array();
  for (size_t i = 0; i < max && v[i]; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

/* The discovery entry of k's subresource sub. Those whose body is of
 * another group (Scale, Eviction) say so: kubectl scale and drain look for
 * it. */
static json_t *sub_discovery(const srv_kind_t *k, const char *sub)
{
  json_t *verbs;
  const char *kind, *group = NULL, *version = NULL;
  if (!strcmp(sub, "status") || !strcmp(sub, "scale")) {
    verbs = json_pack("[s,s,s]", "get", "patch", "update");
    kind = k->kind;
    if (!strcmp(sub, "scale")) {
      kind = "Scale";
      group = "autoscaling";
      version = "v1";
    }
  } else if (!strcmp(sub, "binding") || !strcmp(sub, "eviction")) {
    verbs = json_pack("[s]", "create");
    kind = "Binding";
    if (!strcmp(sub, "eviction")) {
      kind = "Eviction";
      group = "policy";
      version = "v1";
    }
  } else {
    verbs = json_pack("[s]", "get");
    kind = "Pod";
  }
  cleanup_free char *name = xasprintf("%s/%s", k->resource, sub);
  json_t *e = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name, "singularName", "", "namespaced",
                        k->namespaced, "kind", kind, "verbs", verbs);
  if (group) {
    json_object_set_new(e, "group", json_string(group));
    json_object_set_new(e, "version", json_string(version));
  }
  return e;
}

bool srv_handle_discovery(srv_req_t *q, srv_resp_t *r, const char *group_version)
{
  (void)q;
  json_t *res = json_array();
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
    const srv_kind_t *k = &kinds[i];
    if (strcmp(k->api_version, group_version))
      continue;
    json_t *e = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", k->resource, "singularName",
                          k->singular, "namespaced", k->namespaced, "kind", k->kind, "verbs",
                          str_array(k->verbs, ARRAY_SIZE(k->verbs)));
    if (k->short_names[0])
      json_object_set_new(e, "shortNames", str_array(k->short_names, ARRAY_SIZE(k->short_names)));
    if (k->category_all)
      json_object_set_new(e, "categories", json_pack("[s]", "all"));
    json_array_append_new(res, e);
    for (size_t s = 0; s < ARRAY_SIZE(k->subresources) && k->subresources[s]; s++)
      json_array_append_new(res, sub_discovery(k, k->subresources[s]));
  }
  if (json_array_size(res) == 0) {
    json_decref(res);
    return false;
  }
  srv_resp_json(r, 200,
                json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1",
                          "groupVersion", group_version, "resources", res));
  return true;
}

void srv_handle_api_groups(srv_req_t *q, srv_resp_t *r)
{
  (void)q;
  json_t *groups = json_array();
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
    const srv_kind_t *k = &kinds[i];
    bool seen = !*k->group;
    for (size_t j = 0; j < i && !seen; j++)
      seen = !strcmp(kinds[j].group, k->group);
    if (seen)
      continue;
    const char *version = strchr(k->api_version, '/') + 1;
    json_array_append_new(groups, json_pack("{s:s, s:[{s:s, s:s}], s:{s:s, s:s}}", "name", k->group,
                                            "versions", "groupVersion", k->api_version, "version",
                                            version, "preferredVersion", "groupVersion",
                                            k->api_version, "version", version));
  }
  srv_resp_json(
      r, 200,
      json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups", groups));
}
