/* agent_node.c — the node as the API sees it: the Node object (labels,
 * capacity, addresses, nodeInfo, conditions, the endpoint's port) and the
 * heartbeats that keep it Ready, as a kubelet with node leases sends them:
 * every 10 s (--heartbeat-interval) one thread renews the Lease
 * (kube-node-lease/NAME) and reads the Node; the status is sent when what
 * the agent would send differs from what the Node has, heartbeat times
 * aside, or when none was sent for 5 min (--node-status-report-frequency).
 * An idle node is one small write per beat rather than two, the larger of
 * which every watcher of nodes decodes; the node lifecycle controller takes
 * the newer of the Lease's renewTime and the Ready condition's heartbeat.
 *
 * The status is computed afresh each time (memory and disk are read again,
 * which is cheap) and sent whole: a merge patch replaces the conditions
 * list, so nothing stale can survive, and one the node controller turned
 * Unknown is set back on the next beat. Ready and the disk and PID ones
 * never change here, so their lastTransitionTime is the agent's start;
 * MemoryPressure follows agent_evict.c, which also sends the status (and
 * the memory-pressure taint) as soon as it changes. The Lease is renewed
 * with PUT carrying the resourceVersion last seen; a 409 means someone else
 * wrote it, so it is read again and the renewal retried once. */
#include "agent/agent_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#define LEASE_NS "kube-node-lease"

/* ---- facts about the machine ---------------------------------------------------- */

/* The first line of a small file, trimmed; NULL when unreadable. */
static char *read_line(const char *path)
{
  char *data = NULL;
  size_t len;
  if (fs_read_file(path, 64 * 1024, &data, &len, NULL) < 0)
    return NULL;
  data[strcspn(data, "\n")] = '\0';
  len = strlen(data);
  while (len > 0 && (data[len - 1] == ' ' || data[len - 1] == '\t' || data[len - 1] == '\r'))
    data[--len] = '\0';
  if (!len) {
    free(data);
    return NULL;
  }
  return data;
}

/* PRETTY_NAME from /etc/os-release, unquoted. */
static char *os_image(void)
{
  cleanup_fclose FILE *f = fopen("/etc/os-release", "re");
  if (!f)
    return xstrdup("Linux");
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (!str_has_prefix(line, "PRETTY_NAME="))
      continue;
    char *v = line + strlen("PRETTY_NAME=");
    v[strcspn(v, "\n")] = '\0';
    size_t n = strlen(v);
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
      v[n - 1] = '\0';
      v++;
    }
    return xstrdup(v);
  }
  return xstrdup("Linux");
}

int64_t agent_meminfo_kib(const char *key)
{
  cleanup_fclose FILE *f = fopen("/proc/meminfo", "re");
  char line[256];
  size_t kl = strlen(key);
  long long kib = 0;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, key, kl) && line[kl] == ':' && sscanf(line + kl + 1, "%lld", &kib) == 1)
      break;
  return kib;
}

/* The size of the file system holding path (or its nearest existing
 * parent), in KiB. */
static int64_t fs_size_kib(const char *path)
{
  cleanup_free char *p = xstrdup(path);
  struct statvfs st;
  while (statvfs(p, &st) < 0) {
    char *slash = strrchr(p, '/');
    if (!slash || slash == p)
      return statvfs("/", &st) < 0 ? 0 : (int64_t)(st.f_blocks * st.f_frsize / 1024);
    *slash = '\0';
  }
  return (int64_t)((uint64_t)st.f_blocks * st.f_frsize / 1024);
}

static const char *node_arch(void)
{
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#else
  static struct utsname u; /* written once, same value every time */
  uname(&u);
  return u.machine;
#endif
}

static json_t *resources(agent_t *a)
{
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  cleanup_free char *cpu = xasprintf("%ld", cpus > 0 ? cpus : 1);
  cleanup_free char *mem = xasprintf("%lldKi", (long long)(agent_memory_capacity(a) / 1024));
  cleanup_free char *disk = xasprintf("%lldKi", (long long)fs_size_kib(a->engine_root));
  cleanup_free char *pods = xasprintf("%lld", (long long)a->max_pods);
  return json_pack("{s:s, s:s, s:s, s:s}", "cpu", cpu, "memory", mem, "pods", pods,
                   "ephemeral-storage", disk);
}

static json_t *condition(const char *type, const char *status, const char *reason,
                         const char *message, const char *beat, const char *since)
{
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status,
                   "lastHeartbeatTime", beat, "lastTransitionTime", since, "reason", reason,
                   "message", message);
}

json_t *agent_node_status(agent_t *a, int64_t now_ns)
{
  cleanup_free char *beat = time_rfc3339_sec(now_ns), *since = time_rfc3339_sec(a->ready_since_ns);
  struct utsname u;
  uname(&u);
  cleanup_free char *os = os_image();
  cleanup_free char *machine = read_line("/etc/machine-id");
  cleanup_free char *boot = read_line("/proc/sys/kernel/random/boot_id");
  cleanup_free char *uuid = read_line("/sys/class/dmi/id/product_uuid");
  pthread_mutex_lock(&a->lock);
  bool pressure = a->mem_pressure;
  int64_t pressure_since = a->mem_pressure_since_ns;
  pthread_mutex_unlock(&a->lock);
  cleanup_free char *mem_since
      = time_rfc3339_sec(pressure_since ? pressure_since : a->ready_since_ns);
  json_t *conds
      = json_pack("[o, o, o, o]",
                  pressure ? condition("MemoryPressure", "True", "KubeletHasInsufficientMemory",
                                       "kubelet has insufficient memory available", beat, mem_since)
                           : condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                                       "kubelet has sufficient memory available", beat, mem_since),
                  condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                            "kubelet has no disk pressure", beat, since),
                  condition("PIDPressure", "False", "KubeletHasSufficientPID",
                            "kubelet has sufficient PID available", beat, since),
                  condition("Ready", "True", "KubeletReady", "berth agent is posting ready status",
                            beat, since));
  json_t *info = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "machineID",
                           machine ? machine : "", "systemUUID", uuid ? uuid : "", "bootID",
                           boot ? boot : "", "kernelVersion", u.release, "osImage", os,
                           "containerRuntimeVersion", "berth://" AGENT_VERSION, "kubeletVersion",
                           AGENT_KUBELET_VERSION, "kubeProxyVersion", "", "operatingSystem",
                           "linux", "architecture", node_arch());
  return json_pack("{s:o, s:o, s:o, s:[{s:s, s:s}, {s:s, s:s}], s:{s:{s:i}}, s:o}", "capacity",
                   resources(a), "allocatable", resources(a), "conditions", conds, "addresses",
                   "type", "InternalIP", "address", a->node_ip, "type", "Hostname", "address",
                   a->node_name, "daemonEndpoints", "kubeletEndpoint", "Port", a->port, "nodeInfo",
                   info);
}

static json_t *node_labels(agent_t *a)
{
  json_t *l = json_pack("{s:s, s:s, s:s}", "kubernetes.io/arch", node_arch(), "kubernetes.io/os",
                        "linux", "kubernetes.io/hostname", a->node_name);
  for (size_t i = 0; a->labels && a->labels[i]; i++) {
    const char *eq = strchr(a->labels[i], '=');
    cleanup_free char *k = xstrndup(a->labels[i], (size_t)(eq - a->labels[i]));
    json_object_set_new(l, k, json_string(eq + 1));
  }
  return l;
}

/* An HTTP status that is not a success, as an error: 5xx and 429 are
 * transient (EAGAIN), 401/403 EACCES, the rest EBADMSG. */
static int http_fail(berr_t *err, long code, json_t *reply, const char *what)
{
  cleanup_free char *msg = agent_reply_message(code, reply);
  int ec = code >= 500 || code == 429 || code == 409 ? EAGAIN
           : code == 401 || code == 403              ? EACCES
                                                     : EBADMSG;
  return berr_setc(err, ec, "%s: %s", what, msg);
}

/* ---- the Node ------------------------------------------------------------------------ */

static void remember_uid(agent_t *a, json_t *node)
{
  const char *uid = json_str(json_object_get(node, "metadata"), "uid");
  if (!uid)
    return;
  pthread_mutex_lock(&a->lock);
  free(a->node_uid);
  a->node_uid = xstrdup(uid);
  pthread_mutex_unlock(&a->lock);
}

/* GET of the Node: its code, and the reply in *node. */
static int get_node(agent_t *a, kc_t *c, json_t **node, long *code, berr_t *err)
{
  cleanup_free char *path = xasprintf("/api/v1/nodes/%s", a->node_name);
  if (kc_json(c, "GET", path, NULL, NULL, code, node, err) < 0)
    return berr_wrap(err, "get node %s", a->node_name);
  return 0;
}

/* PATCHes status (taken) as the Node's; the caller holds status_lock. */
static int post_status_locked(agent_t *a, kc_t *c, json_t *status, int64_t now, berr_t *err)
{
  cleanup_free char *path = xasprintf("/api/v1/nodes/%s/status", a->node_name);
  cleanup_json json_t *reply = NULL;
  cleanup_json json_t *body = json_pack("{s:o}", "status", status);
  long code = 0;
  if (kc_json(c, "PATCH", path, "application/merge-patch+json", body, &code, &reply, err) < 0)
    return berr_wrap(err, "node status");
  if (code != 200)
    return http_fail(err, code, reply, "node status");
  a->status_posted_ns = now;
  log_debug("msg=\"node status posted\" node=%s", a->node_name);
  return 0;
}

/* PATCH nodes/NAME/status with agent_node_status: at registration. */
static int post_status(agent_t *a, kc_t *c, berr_t *err)
{
  /* The heartbeat and the housekeeping thread both post: without the lock
   * a status built before a change could arrive after the one built after
   * it, and undo it until the next beat. */
  pthread_mutex_lock(&a->status_lock);
  int64_t now = time_now_ns();
  int rc = post_status_locked(a, c, agent_node_status(a, now), now, err);
  pthread_mutex_unlock(&a->status_lock);
  return rc;
}

/* A copy of a conditions list without the heartbeat times. */
static json_t *conditions_sans_beat(json_t *conds)
{
  json_t *out = json_array(), *c;
  size_t i;
  json_array_foreach(conds, i, c)
  {
    json_t *copy = json_copy(c);
    json_object_del(copy, "lastHeartbeatTime");
    json_array_append_new(out, copy);
  }
  return out;
}

bool agent_node_status_same(json_t *ours, json_t *have)
{
  if (!json_is_object(have))
    return false;
  const char *k;
  json_t *v;
  json_object_foreach(ours, k, v)
  {
    json_t *h = json_object_get(have, k);
    if (!strcmp(k, "conditions")) {
      cleanup_json json_t *a = conditions_sans_beat(v), *b = conditions_sans_beat(h);
      if (!json_equal(a, b))
        return false;
    } else if (!h || !json_equal(v, h)) {
      return false;
    }
  }
  return true;
}

int agent_node_sync_status(agent_t *a, kc_t *c, berr_t *err)
{
  cleanup_json json_t *node = NULL;
  long code = 0;
  if (get_node(a, c, &node, &code, err) < 0)
    return -1;
  if (code == 404) {
    log_warn("msg=\"node gone, registering it again\" node=%s", a->node_name);
    return agent_node_register(a, err);
  }
  if (code != 200)
    return http_fail(err, code, node, "get node");
  pthread_mutex_lock(&a->status_lock);
  int64_t now = time_now_ns();
  json_t *ours = agent_node_status(a, now);
  int rc = 0;
  if (now - a->status_posted_ns >= a->status_report_ms * 1000000
      || !agent_node_status_same(ours, json_object_get(node, "status")))
    rc = post_status_locked(a, c, steal_ptr(ours), now, err);
  json_decref(ours);
  pthread_mutex_unlock(&a->status_lock);
  return rc;
}

static int create_or_update(agent_t *a, kc_t *c, berr_t *err)
{
  cleanup_free char *path = xasprintf("/api/v1/nodes/%s", a->node_name);
  cleanup_json json_t *reply = NULL;
  long code = 0;
  if (get_node(a, c, &reply, &code, err) < 0)
    return -1;
  if (code == 404) {
    cleanup_json json_t *node = json_pack(
        "{s:s, s:s, s:{s:s, s:o}, s:{s:s, s:[s]}, s:o}", "apiVersion", "v1", "kind", "Node",
        "metadata", "name", a->node_name, "labels", node_labels(a), "spec", "podCIDR", a->pod_cidr,
        "podCIDRs", a->pod_cidr, "status", agent_node_status(a, time_now_ns()));
    json_decref(steal_ptr(reply));
    if (kc_json(c, "POST", "/api/v1/nodes", NULL, node, &code, &reply, err) < 0)
      return berr_wrap(err, "create node %s", a->node_name);
    if (code != 201 && code != 200)
      return http_fail(err, code, reply, "create node");
    log_info("msg=\"node created\" node=%s", a->node_name);
  } else if (code == 200) {
    cleanup_json json_t *patch = json_pack("{s:{s:o}}", "metadata", "labels", node_labels(a));
    json_decref(steal_ptr(reply));
    if (kc_json(c, "PATCH", path, "application/merge-patch+json", patch, &code, &reply, err) < 0)
      return berr_wrap(err, "update node %s", a->node_name);
    if (code != 200)
      return http_fail(err, code, reply, "update node");
    log_info("msg=\"node updated\" node=%s", a->node_name);
  } else {
    return http_fail(err, code, reply, "get node");
  }
  remember_uid(a, reply);
  return 0;
}

static bool is_taint(json_t *t, const char *key, const char *effect)
{
  return !strcmp(json_str(t, "key") ?: "", key) && !strcmp(json_str(t, "effect") ?: "", effect);
}

int agent_node_set_taint(agent_t *a, kc_t *c, const char *key, const char *effect, bool present,
                         berr_t *err)
{
  cleanup_free char *path = xasprintf("/api/v1/nodes/%s", a->node_name);
  cleanup_json json_t *node = NULL, *reply = NULL;
  long code = 0;
  if (get_node(a, c, &node, &code, err) < 0)
    return -1;
  if (code != 200)
    return http_fail(err, code, node, "get node");
  json_t *taints = json_object_get(json_object_get(node, "spec"), "taints"), *t;
  json_t *keep = json_array();
  bool had = false;
  size_t i;
  json_array_foreach(taints, i, t)
  {
    if (is_taint(t, key, effect))
      had = true;
    else
      json_array_append(keep, t);
  }
  if (had == present) {
    json_decref(keep);
    return 0;
  }
  if (present)
    json_array_append_new(keep, json_pack("{s:s, s:s}", "key", key, "effect", effect));
  /* The list is replaced whole: the resourceVersion makes sure it is the
   * one just read (a 409 is retried at the next look). */
  const char *rv = json_str(json_object_get(node, "metadata"), "resourceVersion");
  cleanup_json json_t *patch
      = json_pack("{s:{s:s?}, s:{s:o}}", "metadata", "resourceVersion", rv, "spec", "taints", keep);
  if (kc_json(c, "PATCH", path, "application/merge-patch+json", patch, &code, &reply, err) < 0)
    return berr_wrap(err, "taint node %s", a->node_name);
  if (code != 200)
    return http_fail(err, code, reply, "taint node");
  log_info("msg=\"node taint %s\" node=%s taint=%s:%s", present ? "added" : "removed", a->node_name,
           key, effect);
  return 0;
}

/* ---- the Lease ---------------------------------------------------------------------- */

typedef struct lease_state {
  char *rv; /* resourceVersion of the Lease last seen, NULL: unknown */
} lease_state_t;

static json_t *lease_body(agent_t *a, const char *rv)
{
  cleanup_free char *now = time_rfc3339_micro(time_now_ns());
  json_t *meta = json_pack("{s:s, s:s}", "name", a->node_name, "namespace", LEASE_NS);
  if (rv)
    json_object_set_new(meta, "resourceVersion", json_string(rv));
  pthread_mutex_lock(&a->lock);
  if (a->node_uid)
    json_object_set_new(meta, "ownerReferences",
                        json_pack("[{s:s, s:s, s:s, s:s}]", "apiVersion", "v1", "kind", "Node",
                                  "name", a->node_name, "uid", a->node_uid));
  pthread_mutex_unlock(&a->lock);
  return json_pack("{s:s, s:s, s:o, s:{s:s, s:i, s:s}}", "apiVersion", "coordination.k8s.io/v1",
                   "kind", "Lease", "metadata", meta, "spec", "holderIdentity", a->node_name,
                   "leaseDurationSeconds", AGENT_LEASE_DURATION_S, "renewTime", now);
}

static void lease_take_rv(lease_state_t *l, json_t *obj)
{
  const char *rv = json_str(json_object_get(obj, "metadata"), "resourceVersion");
  free(l->rv);
  l->rv = rv ? xstrdup(rv) : NULL;
}

/* Reads the Lease (rv) or creates it. */
static int lease_fetch(agent_t *a, kc_t *c, lease_state_t *l, berr_t *err)
{
  cleanup_free char *coll
      = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", LEASE_NS);
  cleanup_free char *path = xasprintf("%s/%s", coll, a->node_name);
  cleanup_json json_t *reply = NULL;
  long code = 0;
  if (kc_json(c, "GET", path, NULL, NULL, &code, &reply, err) < 0)
    return berr_wrap(err, "get lease");
  if (code == 200) {
    lease_take_rv(l, reply);
    return 0;
  }
  if (code != 404)
    return http_fail(err, code, reply, "get lease");
  json_decref(steal_ptr(reply));
  cleanup_json json_t *body = lease_body(a, NULL);
  if (kc_json(c, "POST", coll, NULL, body, &code, &reply, err) < 0)
    return berr_wrap(err, "create lease");
  if (code != 201 && code != 200)
    return http_fail(err, code, reply, "create lease");
  lease_take_rv(l, reply);
  log_info("msg=\"lease created\" node=%s namespace=%s", a->node_name, LEASE_NS);
  return 1; /* created: fresh already */
}

static int lease_renew(agent_t *a, kc_t *c, lease_state_t *l, berr_t *err)
{
  cleanup_free char *path
      = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", LEASE_NS, a->node_name);
  for (int attempt = 0; attempt < 2; attempt++) {
    if (!l->rv) {
      int r = lease_fetch(a, c, l, err);
      if (r != 0)
        return r < 0 ? -1 : 0;
    }
    cleanup_json json_t *body = lease_body(a, l->rv);
    cleanup_json json_t *reply = NULL;
    long code = 0;
    if (kc_json(c, "PUT", path, NULL, body, &code, &reply, err) < 0)
      return berr_wrap(err, "renew lease");
    if (code == 200) {
      lease_take_rv(l, reply);
      log_debug("msg=\"lease renewed\" node=%s rv=%s", a->node_name, l->rv ? l->rv : "");
      return 0;
    }
    free(steal_ptr(l->rv)); /* 409 or 404: read (or create) it again */
    if (code != 409 && code != 404)
      return http_fail(err, code, reply, "renew lease");
  }
  return berr_setc(err, EAGAIN, "renew lease: conflict twice");
}

/* ---- registration and heartbeats -------------------------------------------------------- */

int agent_node_register(agent_t *a, berr_t *err)
{
  if (!a->ready_since_ns)
    a->ready_since_ns = time_now_ns();
  kc_t *c = agent_kc(a);
  int rc = create_or_update(a, c, err);
  berr_t e2 = BERR_INIT;
  /* A failed status or lease is retried by the heartbeat in 10 s. */
  if (rc == 0 && post_status(a, c, &e2) < 0) {
    log_warn("msg=\"node status failed\" node=%s err=\"%s\"", a->node_name, e2.msg);
    berr_clear(&e2);
  }
  kc_free(c);
  return rc;
}

static void *heartbeat_main(void *arg)
{
  agent_t *a = arg;
  kc_t *c = agent_kc(a);
  lease_state_t l = { 0 };
  bool first = true; /* registration has just sent the status */
  do {
    berr_t err = BERR_INIT;
    if (!first && agent_node_sync_status(a, c, &err) < 0) {
      log_warn("msg=\"node status failed\" node=%s err=\"%s\"", a->node_name, err.msg);
      berr_clear(&err);
    }
    first = false;
    if (lease_renew(a, c, &l, &err) < 0) {
      log_warn("msg=\"lease renewal failed\" node=%s err=\"%s\"", a->node_name, err.msg);
      berr_clear(&err);
    }
  } while (agent_sleep(a, a->heartbeat_ms));
  free(l.rv);
  kc_free(c);
  return NULL;
}

int agent_node_start(agent_t *a, berr_t *err)
{
  int rc = pthread_create(&a->hb_thread, NULL, heartbeat_main, a);
  if (rc)
    return berr_set(err, rc, "start the heartbeat thread");
  a->hb_started = true;
  return 0;
}

void agent_node_stop(agent_t *a)
{
  if (a->hb_started)
    pthread_join(a->hb_thread, NULL);
  a->hb_started = false;
}
