/* test_pod_run.c — the agent's pod manager (src/agent/pod.h) running real
 * pods with real containers (root): the offline busybox image
 * (build/images/busybox.tar) is loaded into a private engine root, the
 * manager gets a private state root and its own bridge "bt<pid>" with a
 * CIDR of its own, and everything (containers, namespaces, veths, bridge,
 * cgroups) is gone at the end of each test. The pure helpers are in
 * test_pod.c. */
#include "agent/pod_internal.h"
#include "api/api.h"
#include "image/image.h"
#include "test_busybox.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

static json_t *J(const char *text)
{
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  cr_assert_not_null(j, "bad JSON in test: %s: %s", je.text, text);
  return j;
}

/* ---- real pods ---------------------------------------------------------------------- */

static struct {
  char dir[64];
  char *root, *eroot;
  char bridge[16], cidr[32];
  pthread_mutex_t mu;
  pthread_cond_t cv;
  json_t *status;     /* uid → last status */
  json_t *seen;       /* uid → every status reported */
  json_t *terminated; /* uids */
  json_t *events;     /* {reason, message} */
  json_t *cms;        /* configmap name → data */
  json_t *running_at; /* uid → monotonic ns of its first Running status */
  pod_mgr_t *m;
  int64_t backoff_ms;
} T = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static int t_lookup(void *arg, const char *kind, const char *ns, const char *name, const char *key,
                    char **value, berr_t *err)
{
  if (strcmp(kind, "configmaps"))
    return berr_setc(err, ENOENT, "secret \"%s\" not found", name);
  pthread_mutex_lock(&T.mu);
  json_t *data = json_object_get(T.cms, name);
  int rc = 0;
  if (!data)
    rc = berr_setc(err, ENOENT, "configmap \"%s\" not found", name);
  else if (!key)
    *value = json_dumps(data, JSON_COMPACT);
  else if (!json_str(data, key))
    rc = berr_setc(err, ENOENT, "couldn't find key %s in ConfigMap %s/%s", key, ns, name);
  else
    *value = xstrdup(json_str(data, key));
  pthread_mutex_unlock(&T.mu);
  return rc;
}

static void t_status(void *arg, const char *ns, const char *name, const char *uid, json_t *status)
{
  pthread_mutex_lock(&T.mu);
  json_object_set_new(T.status, uid, json_deep_copy(status));
  json_t *seen = json_object_get(T.seen, uid);
  if (!seen) {
    seen = json_array();
    json_object_set_new(T.seen, uid, seen);
  }
  json_array_append_new(seen, json_deep_copy(status));
  if (!strcmp(json_str(status, "phase") ?: "", "Running") && !json_object_get(T.running_at, uid))
    json_object_set_new(T.running_at, uid, json_integer(time_mono_ns()));
  pthread_cond_broadcast(&T.cv);
  pthread_mutex_unlock(&T.mu);
}

static void t_terminated(void *arg, const char *ns, const char *name, const char *uid)
{
  pthread_mutex_lock(&T.mu);
  json_array_append_new(T.terminated, json_string(uid));
  pthread_cond_broadcast(&T.cv);
  pthread_mutex_unlock(&T.mu);
}

static void t_event(void *arg, json_t *pod, const char *type, const char *reason,
                    const char *message)
{
  pthread_mutex_lock(&T.mu);
  json_array_append_new(
      T.events, json_pack("{s:s,s:s,s:s}", "type", type, "reason", reason, "message", message));
  pthread_mutex_unlock(&T.mu);
}

static void mgr_open(void)
{
  pod_mgr_opts_t o = { .root = T.root,
                       .engine_root = T.eroot,
                       .node_name = "node-1",
                       .host_ip = "192.0.2.10",
                       .net = { .bridge = T.bridge, .cidr = T.cidr },
                       .backoff_base_ms = T.backoff_ms,
                       .backoff_max_ms = T.backoff_ms * 8,
                       .lookup = t_lookup,
                       .on_status = t_status,
                       .on_terminated = t_terminated,
                       .on_event = t_event };
  berr_t err = BERR_INIT;
  cr_assert_eq(pod_mgr_open(&o, &T.m, &err), 0, "%s", err.msg);
}

static void setup(void)
{
  const char *tar = busybox_require();
  strcpy(T.dir, "/tmp/berth-unit-pod-XXXXXX");
  cr_assert_not_null(mkdtemp(T.dir));
  T.root = path_join(T.dir, "agent");
  T.eroot = path_join(T.dir, "engine");
  snprintf(T.bridge, sizeof T.bridge, "bt%d", (int)getpid());
  snprintf(T.cidr, sizeof T.cidr, "10.251.%d.0/24", (int)(getpid() % 200) + 20);
  T.status = json_object();
  T.seen = json_object();
  T.terminated = json_array();
  T.events = json_array();
  T.cms = json_object();
  T.running_at = json_object();
  T.backoff_ms = 100;
  if (getenv("POD_TEST_DEBUG"))
    log_set_level(LOG_DEBUG);
  busybox_load(T.eroot, tar);
  mgr_open();
}

static void teardown(void)
{
  if (!T.root)
    return;
  pod_mgr_close(T.m);
  T.m = NULL;
  engine *e = NULL;
  if (engine_open(T.eroot, &e, NULL) == 0) {
    engine_info *v = NULL;
    size_t n = 0;
    engine_list(e, true, &v, &n, NULL);
    for (size_t i = 0; i < n; i++)
      engine_remove(e, v[i].id, true, NULL);
    engine_infos_free(v, n);
    engine_close(e);
  }
  char *pods = path_join(T.root, "run");
  umount2(pods, MNT_DETACH);
  free(pods);
  char *run = path_join(T.eroot, "run"); /* the engine's tmpfs */
  umount2(run, MNT_DETACH);
  free(run);
  char cmd[64];
  snprintf(cmd, sizeof cmd, "ip link del %s 2>/dev/null", T.bridge);
  if (system(cmd)) {
  }
  fs_rm_rf(T.dir, NULL);
  json_decref(T.status);
  json_decref(T.seen);
  json_decref(T.terminated);
  json_decref(T.events);
  json_decref(T.cms);
  json_decref(T.running_at);
  free(T.root);
  free(T.eroot);
  T.root = T.eroot = NULL;
}

TestSuite(pod_run, .init = setup, .fini = teardown, .timeout = 120);

static char *new_uid(void)
{
  char *id = engine_id_generate();
  char *u = xasprintf("%.8s-%.4s-%.4s-%.4s-%.12s", id, id + 8, id + 12, id + 16, id + 20);
  free(id);
  return u;
}

/* A pod object: name, uid and the spec's JSON text. */
static json_t *mkpod(const char *name, const char *uid, const char *spec)
{
  json_t *p = json_pack("{s:{s:s,s:s,s:s},s:o}", "metadata", "name", name, "namespace", "default",
                        "uid", uid, "spec", J(spec));
  return p;
}

static void sync_pod(json_t *pod)
{
  berr_t err = BERR_INIT;
  cr_assert_eq(pod_mgr_sync(T.m, pod, &err), 0, "%s", err.msg);
}

typedef bool (*status_pred)(json_t *st, const void *arg);

/* Waits until pred holds for uid's latest status; returns a copy of it. */
static json_t *wait_status(const char *uid, status_pred pred, const void *arg, int timeout_s)
{
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += getenv("POD_TEST_WAIT_S") ? atoi(getenv("POD_TEST_WAIT_S")) : timeout_s;
  pthread_mutex_lock(&T.mu);
  json_t *st;
  while (!((st = json_object_get(T.status, uid)) && pred(st, arg))) {
    if (pthread_cond_timedwait(&T.cv, &T.mu, &dl) == ETIMEDOUT) {
      char *s = st ? json_dumps(st, JSON_COMPACT) : xstrdup("none");
      pthread_mutex_unlock(&T.mu);
      cr_assert_fail("timed out; last status of %s: %s", uid, s);
    }
  }
  json_t *copy = json_deep_copy(st);
  pthread_mutex_unlock(&T.mu);
  return copy;
}

/* state.waiting of the pod's first container, or NULL. */
static json_t *first_waiting(json_t *st)
{
  json_t *c = json_array_get(json_object_get(st, "containerStatuses"), 0);
  return json_object_get(json_object_get(c, "state"), "waiting");
}

static bool waiting_is(json_t *st, const void *reason)
{
  return !strcmp(json_str(first_waiting(st), "reason") ?: "", reason);
}

static bool phase_is(json_t *st, const void *arg)
{
  return !strcmp(json_str(st, "phase") ?: "", arg);
}

static json_t *wait_phase(const char *uid, const char *phase, int timeout_s)
{
  return wait_status(uid, phase_is, phase, timeout_s);
}

static void wait_terminated(const char *uid, int timeout_s)
{
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += timeout_s;
  pthread_mutex_lock(&T.mu);
  for (;;) {
    size_t i;
    json_t *v;
    json_array_foreach(T.terminated, i, v) if (!strcmp(json_string_value(v), uid)) goto done;
    if (pthread_cond_timedwait(&T.cv, &T.mu, &dl) == ETIMEDOUT) {
      pthread_mutex_unlock(&T.mu);
      cr_assert_fail("pod %s not terminated after %d s", uid, timeout_s);
    }
  }
done:
  pthread_mutex_unlock(&T.mu);
}

static json_t *ctr_status(json_t *st, const char *list, const char *name)
{
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(st, list), i,
                     c) if (!strcmp(json_str(c, "name"), name)) return c;
  return NULL;
}

/* state.terminated of container name in list (borrowed), or NULL. */
static json_t *terminated(json_t *st, const char *list, const char *name)
{
  return json_object_get(json_object_get(ctr_status(st, list, name), "state"), "terminated");
}

/* Runs args in a pod's container; returns its stdout (trimmed). */
static char *pod_exec(const char *pod, const char *ctr, char **args)
{
  char *id = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(pod_mgr_container(T.m, "default", pod, ctr, false, &id, &err), 0, "%s", err.msg);
  char path[] = "/tmp/berth-unit-pod-out-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  unlink(path);
  engine_exec_opts o = { .args = args };
  int code = -1;
  cr_assert_eq(engine_exec(pod_mgr_engine(T.m), id, &o, -1, fd, 2, &code, &err), 0, "%s", err.msg);
  cr_assert_eq(code, 0, "%s exited %d", args[0], code);
  char buf[4096] = { 0 };
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  close(fd);
  free(id);
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
    buf[--n] = '\0';
  return xstrdup(buf);
}

static void delete_pod(json_t *pod, int grace)
{
  json_t *md = json_object_get(pod, "metadata");
  json_object_set_new(md, "deletionTimestamp", json_string("2026-11-22T00:00:00Z"));
  json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(grace));
  sync_pod(pod);
}

/* Nothing of the pod is left on the node. */
static void assert_gone(const char *uid)
{
  engine *e = pod_mgr_engine(T.m);
  engine_info *v = NULL;
  size_t n = 0;
  cr_assert_eq(engine_list(e, true, &v, &n, NULL), 0);
  for (size_t i = 0; i < n; i++)
    cr_assert_str_neq(engine_info_label(&v[i], POD_LABEL_UID) ?: "", uid,
                      "container %s of the pod is left", v[i].name);
  engine_infos_free(v, n);
  char *dir = xasprintf("%s/run/pods/%s", T.root, uid);
  cr_assert_not(fs_exists(dir), "%s is left", dir);
  free(dir);
  char *ifname = podnet_host_ifname(uid);
  char *sys = xasprintf("/sys/class/net/%s", ifname);
  cr_assert_not(fs_exists(sys), "veth %s is left", ifname);
  free(sys);
  free(ifname);
  char *cg = xasprintf("/sys/fs/cgroup/memory/" POD_CGROUP_ROOT "/pod%s", uid);
  if (fs_exists("/sys/fs/cgroup/memory"))
    cr_assert_not(fs_exists(cg), "cgroup %s is left", cg);
  free(cg);
  char *ipam = xasprintf("%s/run/ipam", T.root);
  DIR *d = opendir(ipam);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    char *f = path_join(ipam, de->d_name), *owner = NULL;
    if (fs_read_file(f, 0, &owner, NULL, NULL) == 0)
      cr_assert_null(strstr(owner, uid), "address %s still belongs to the pod", de->d_name);
    free(owner);
    free(f);
  }
  if (d)
    closedir(d);
  free(ipam);
}

/* Deletes the pod (grace 0), waits for on_terminated, checks that nothing is
 * left and frees the pod and its uid. */
static void remove_pod(json_t *pod, char *uid)
{
  delete_pod(pod, 0);
  wait_terminated(uid, 30);
  assert_gone(uid);
  json_decref(pod);
  free(uid);
}

Test(pod_run, running_with_shared_namespaces)
{
  char *uid = new_uid();
  json_t *pod = mkpod("web", uid,
                      "{\"hostname\":\"webhost\",\"containers\":["
                      "{\"name\":\"a\",\"image\":\"busybox\",\"command\":[\"sleep\",\"3600\"]},"
                      "{\"name\":\"b\",\"image\":\"busybox\",\"command\":[\"sleep\",\"3600\"]}]}");
  sync_pod(pod);
  json_t *st = wait_phase(uid, "Running", 30);
  const char *ip = json_str(st, "podIP");
  cr_assert_not_null(ip, "no podIP");
  cr_assert(str_has_prefix(ip, "10.251."), "%s", ip);
  cr_assert_str_eq(json_str(st, "hostIP"), "192.0.2.10");
  cr_assert_str_eq(json_str(st, "qosClass"), "BestEffort");
  cr_assert_not_null(json_str(st, "startTime"));
  json_t *a = ctr_status(st, "containerStatuses", "a");
  cr_assert_not_null(json_object_get(json_object_get(a, "state"), "running"));
  cr_assert(json_bool(a, "ready", false));
  cr_assert(str_has_prefix(json_str(a, "containerID"), "berth://"));
  cr_assert(str_has_prefix(json_str(a, "imageID"), "sha256:"));
  cr_assert_eq(json_int(a, "restartCount", -1), 0);

  char *h[] = { "hostname", NULL };
  char *ha = pod_exec("web", "a", h), *hb = pod_exec("web", "b", h);
  cr_assert_str_eq(ha, "webhost");
  cr_assert_str_eq(hb, "webhost");
  char *addr[] = { "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'", NULL };
  char *aa = pod_exec("web", "a", addr), *ab = pod_exec("web", "b", addr);
  cr_assert_str_eq(aa, ab, "the two containers see different eth0 addresses");
  cr_assert(str_has_prefix(aa, ip), "eth0 %s, podIP %s", aa, ip);
  char *v6[] = { "cat", "/proc/sys/net/ipv6/conf/eth0/disable_ipv6", NULL };
  char *no6 = pod_exec("web", "a", v6);
  cr_assert_str_eq(no6, "1", "eth0 without IPv6 (no DAD/MLD floods on the bridge)");
  free(no6);
  char *hosts[] = { "cat", "/etc/hosts", NULL };
  char *hf = pod_exec("web", "a", hosts);
  cr_assert(strstr(hf, "webhost"), "%s", hf);

  delete_pod(pod, 1);
  wait_terminated(uid, 30);
  assert_gone(uid);
  free(ha);
  free(hb);
  free(aa);
  free(ab);
  free(hf);
  json_decref(st);
  json_decref(pod);
  free(uid);
}

Test(pod_run, init_container_fills_empty_dir)
{
  char *uid = new_uid();
  json_t *pod = mkpod(
      "init", uid,
      "{\"restartPolicy\":\"Never\",\"volumes\":[{\"name\":\"work\",\"emptyDir\":{}}],"
      "\"initContainers\":[{\"name\":\"fill\",\"image\":\"busybox\",\"command\":[\"sh\",\"-c\","
      "\"echo hello > "
      "/work/msg\"],\"volumeMounts\":[{\"name\":\"work\",\"mountPath\":\"/work\"}]}],"
      "\"containers\":[{\"name\":\"read\",\"image\":\"busybox\",\"command\":[\"sh\",\"-c\","
      "\"test \\\"$(cat /data/msg)\\\" = hello\"],"
      "\"volumeMounts\":[{\"name\":\"work\",\"mountPath\":\"/data\"}]}]}");
  sync_pod(pod);
  json_t *st = wait_phase(uid, "Succeeded", 30);
  json_t *t = terminated(st, "initContainerStatuses", "fill");
  cr_assert_eq(json_int(t, "exitCode", -1), 0);
  cr_assert_str_eq(json_str(t, "reason"), "Completed");
  cr_assert_str_eq(json_str(terminated(st, "containerStatuses", "read"), "reason"), "Completed");
  json_t *c;
  size_t i;
  bool init_true = false;
  json_array_foreach(json_object_get(st, "conditions"), i,
                     c) if (!strcmp(json_str(c, "type"), "Initialized")) init_true
      = !strcmp(json_str(c, "status"), "True");
  cr_assert(init_true);
  remove_pod(pod, uid);
  json_decref(st);
}

/* Init containers that exit as soon as they start: each runs, once, in
 * order, before the main one (one that had exited before its start
 * returned was once taken for the last, and the rest were skipped). */
Test(pod_run, quick_init_containers_all_run_in_order)
{
  char *uid = new_uid();
  json_t *spec
      = J("{\"restartPolicy\":\"Never\",\"volumes\":[{\"name\":\"w\",\"emptyDir\":{}}],"
          "\"initContainers\":[],\"containers\":[{\"name\":\"main\",\"image\":\"busybox\","
          "\"command\":[\"sh\",\"-c\",\"test \\\"$(cat /w/log)\\\" = '1 2 3 4 5 6 7 8 '\"],"
          "\"volumeMounts\":[{\"name\":\"w\",\"mountPath\":\"/w\"}]}]}");
  for (int i = 1; i <= 8; i++) {
    cleanup_free char *name = xasprintf("i%d", i), *cmd = xasprintf("echo -n '%d ' >> /w/log", i);
    json_array_append_new(json_object_get(spec, "initContainers"),
                          json_pack("{s:s, s:s, s:[s, s, s], s:[{s:s, s:s}]}", "name", name,
                                    "image", "busybox", "command", "sh", "-c", cmd, "volumeMounts",
                                    "name", "w", "mountPath", "/w"));
  }
  cleanup_free char *text = json_dumps(spec, JSON_COMPACT);
  json_decref(spec);
  json_t *pod = mkpod("quick-inits", uid, text);
  sync_pod(pod);
  json_t *st = wait_phase(uid, "Succeeded", 60);
  json_t *inits = json_object_get(st, "initContainerStatuses");
  cr_assert_eq(json_array_size(inits), 8);
  for (int i = 1; i <= 8; i++) {
    cleanup_free char *name = xasprintf("i%d", i);
    json_t *t = terminated(st, "initContainerStatuses", name);
    cr_assert_eq(json_int(t, "exitCode", -1), 0, "%s did not run to exit 0", name);
  }
  remove_pod(pod, uid);
  json_decref(st);
}

Test(pod_run, env_from_configmap)
{
  pthread_mutex_lock(&T.mu);
  json_object_set_new(T.cms, "cfg",
                      J("{\"greeting\":\"hi\",\"color\":\"blue\",\"file.txt\":\"content\"}"));
  pthread_mutex_unlock(&T.mu);
  char *uid = new_uid();
  json_t *pod = mkpod(
      "envpod", uid,
      "{\"restartPolicy\":\"Never\",\"volumes\":[{\"name\":\"c\",\"configMap\":{\"name\":\"cfg\","
      "\"items\":[{\"key\":\"file.txt\",\"path\":\"sub/f\"}]}}],"
      "\"containers\":[{\"name\":\"app\",\"image\":\"busybox\","
      "\"command\":[\"sh\",\"-c\"],\"args\":[\"test \\\"$GREETING\\\" = hi && "
      "test \\\"$X_color\\\" = blue && test \\\"$MY_NAME\\\" = envpod && test -n \\\"$MY_IP\\\" "
      "&& test \\\"$(MSG)\\\" = 'hi there' && test \\\"$(cat /cfg/sub/f)\\\" = content && "
      "test -z \\\"$OPT\\\"\"],"
      "\"envFrom\":[{\"prefix\":\"X_\",\"configMapRef\":{\"name\":\"cfg\"}},"
      "{\"configMapRef\":{\"name\":\"nope\",\"optional\":true}}],"
      "\"env\":[{\"name\":\"GREETING\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cfg\","
      "\"key\":\"greeting\"}}},"
      "{\"name\":\"MSG\",\"value\":\"$(GREETING) there\"},"
      "{\"name\":\"OPT\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cfg\",\"key\":\"nokey\","
      "\"optional\":true}}},"
      "{\"name\":\"MY_NAME\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}},"
      "{\"name\":\"MY_IP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.podIP\"}}}],"
      "\"volumeMounts\":[{\"name\":\"c\",\"mountPath\":\"/cfg\"}]}]}");
  sync_pod(pod);
  json_t *st = wait_phase(uid, "Succeeded", 30);
  json_decref(st);

  /* A missing key: CreateContainerConfigError with the kubelet's words. */
  char *uid2 = new_uid();
  json_t *pod2 = mkpod("badenv", uid2,
                       "{\"containers\":[{\"name\":\"app\",\"image\":\"busybox\",\"command\":["
                       "\"sleep\",\"1\"],\"env\":[{\"name\":\"X\",\"valueFrom\":{"
                       "\"configMapKeyRef\":{\"name\":\"cfg\",\"key\":\"missing\"}}}]}]}");
  sync_pod(pod2);
  json_t *st2 = wait_status(uid2, waiting_is, "CreateContainerConfigError", 30);
  const char *msg = json_str(first_waiting(st2), "message");
  cr_assert(strstr(msg ?: "", "couldn't find key missing in ConfigMap default/cfg"), "%s", msg);
  json_decref(st2);

  remove_pod(pod, uid);
  remove_pod(pod2, uid2);
}

static bool crash_looped(json_t *st, const void *arg)
{
  json_t *c = ctr_status(st, "containerStatuses", "crash");
  return json_int(c, "restartCount", 0) >= 3;
}

Test(pod_run, crash_loop_back_off)
{
  char *uid = new_uid();
  json_t *pod = mkpod("crash", uid,
                      "{\"containers\":[{\"name\":\"crash\",\"image\":\"busybox\","
                      "\"command\":[\"sh\",\"-c\",\"exit 3\"]}]}");
  sync_pod(pod);
  json_t *st = wait_status(uid, crash_looped, NULL, 60);
  cr_assert_str_eq(json_str(st, "phase"), "Running");
  bool saw_backoff = false;
  pthread_mutex_lock(&T.mu);
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(T.seen, uid), i, s)
  {
    json_t *c = ctr_status(s, "containerStatuses", "crash");
    json_t *w = json_object_get(json_object_get(c, "state"), "waiting");
    if (w && !strcmp(json_str(w, "reason") ?: "", "CrashLoopBackOff")) {
      saw_backoff = true;
      json_t *last = json_object_get(json_object_get(c, "lastState"), "terminated");
      cr_assert_eq(json_int(last, "exitCode", -1), 3);
      cr_assert_str_eq(json_str(last, "reason"), "Error");
      cr_assert(strstr(json_str(w, "message"), "back-off"), "%s", json_str(w, "message"));
    }
  }
  bool saw_event = false;
  json_array_foreach(T.events, i, s) saw_event |= !strcmp(json_str(s, "reason"), "BackOff");
  pthread_mutex_unlock(&T.mu);
  cr_assert(saw_backoff, "never in CrashLoopBackOff");
  cr_assert(saw_event, "no BackOff event");

  /* logs --previous has a container to read */
  char *prev = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(pod_mgr_container(T.m, "default", "crash", "crash", true, &prev, &err), 0, "%s",
               err.msg);
  free(prev);
  cr_assert_lt(pod_mgr_container(T.m, "default", "crash", "nope", false, &prev, &err), 0);
  cr_assert_str_eq(err.msg, "container nope is not valid for pod crash");
  berr_clear(&err);
  cr_assert_lt(pod_mgr_container(T.m, "default", "other", "crash", false, &prev, &err), 0);
  cr_assert_eq(err.code, ENOENT);
  berr_clear(&err);

  delete_pod(pod, 1);
  wait_terminated(uid, 30);
  assert_gone(uid);
  json_decref(st);
  json_decref(pod);
  free(uid);
}

Test(pod_run, restart_policies)
{
  char *u1 = new_uid(), *u2 = new_uid();
  json_t *ok = mkpod("onfailure", u1,
                     "{\"restartPolicy\":\"OnFailure\",\"containers\":[{\"name\":\"c\","
                     "\"image\":\"busybox\",\"command\":[\"true\"]}]}");
  json_t *bad = mkpod("never", u2,
                      "{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\","
                      "\"image\":\"busybox\",\"command\":[\"sh\",\"-c\",\"exit 1\"]}]}");
  char *u3 = new_uid();
  json_t *nocmd = mkpod("nocmd", u3,
                        "{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\","
                        "\"image\":\"busybox\",\"command\":[\"no-such-command\"]}]}");
  sync_pod(ok);
  sync_pod(bad);
  sync_pod(nocmd);
  json_t *s3 = wait_phase(u3, "Failed", 30);
  json_t *t3 = terminated(s3, "containerStatuses", "c");
  cr_assert_eq(json_int(t3, "exitCode", -1), 128);
  cr_assert_str_eq(json_str(t3, "reason"), "StartError");
  cr_assert(strstr(json_str(t3, "message") ?: "", "no-such-command"), "%s",
            json_str(t3, "message"));
  remove_pod(nocmd, u3);
  json_decref(s3);
  json_t *s1 = wait_phase(u1, "Succeeded", 30), *s2 = wait_phase(u2, "Failed", 30);
  json_t *t2 = terminated(s2, "containerStatuses", "c");
  cr_assert_eq(json_int(t2, "exitCode", -1), 1);
  cr_assert_str_eq(json_str(t2, "reason"), "Error");
  cr_assert_eq(json_int(ctr_status(s2, "containerStatuses", "c"), "restartCount", -1), 0);
  remove_pod(ok, u1);
  remove_pod(bad, u2);
  json_decref(s1);
  json_decref(s2);
}

Test(pod_run, missing_image_and_unsupported_volume)
{
  char *u1 = new_uid(), *u2 = new_uid();
  json_t *p1 = mkpod("noimage", u1,
                     "{\"containers\":[{\"name\":\"c\",\"image\":\"nosuch:1\","
                     "\"imagePullPolicy\":\"Never\"}]}");
  json_t *p2 = mkpod("novol", u2,
                     "{\"volumes\":[{\"name\":\"v\",\"nfs\":{\"server\":\"x\",\"path\":\"/\"}}],"
                     "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}");
  sync_pod(p1);
  sync_pod(p2);
  json_t *s1 = wait_status(u1, waiting_is, "ErrImageNeverPull", 30);
  cr_assert_str_eq(
      json_str(first_waiting(s1), "message"),
      "image \"nosuch:1\" is not present on the node (berth has no registry pull yet)");
  json_decref(s1);
  json_t *st = wait_phase(u2, "Pending", 10);
  char *text = json_dumps(st, JSON_COMPACT);
  cr_assert(strstr(text, "nfs volumes are not supported"), "%s", text);
  free(text);
  json_decref(st);
  remove_pod(p1, u1);
  remove_pod(p2, u2);
}

Test(pod_run, oom_killed)
{
  char *uid = new_uid();
  json_t *pod = mkpod("oom", uid,
                      "{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\","
                      "\"image\":\"busybox\",\"resources\":{\"limits\":{\"memory\":"
                      "\"16Mi\"}},\"command\":[\"sh\",\"-c\",\"x=$(head -c 200000000 "
                      "/dev/zero | tr '\\\\0' a)\"]}]}");
  sync_pod(pod);
  json_t *st = wait_phase(uid, "Failed", 60);
  json_t *t = terminated(st, "containerStatuses", "c");
  cr_assert_str_eq(json_str(t, "reason"), "OOMKilled", "%s", json_dumps(t, 0));
  cr_assert_eq(json_int(t, "exitCode", -1), 137);
  cr_assert_str_eq(json_str(st, "qosClass"), "Burstable");
  remove_pod(pod, uid);
  json_decref(st);
}

static pid_t ctr_pid(const char *pod, const char *ctr)
{
  char *id = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(pod_mgr_container(T.m, "default", pod, ctr, false, &id, &err), 0, "%s", err.msg);
  engine_info info;
  cr_assert_eq(engine_info_get(pod_mgr_engine(T.m), id, &info, &err), 0, "%s", err.msg);
  pid_t pid = info.pid;
  engine_info_clear(&info);
  free(id);
  return pid;
}

Test(pod_run, graceful_deletion)
{
  char *u1 = new_uid(), *u2 = new_uid();
  json_t *p1 = mkpod("polite", u1,
                     "{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\","
                     "\"command\":[\"sleep\",\"3600\"]}]}");
  json_t *p2 = mkpod("stubborn", u2,
                     "{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\","
                     "\"command\":[\"sh\",\"-c\",\"trap '' TERM; sleep 100\"]}]}");
  sync_pod(p1);
  sync_pod(p2);
  json_decref(wait_phase(u1, "Running", 30));
  json_decref(wait_phase(u2, "Running", 30));
  int64_t t0 = time_mono_ns();
  delete_pod(p1, 10);
  wait_terminated(u1, 30);
  int64_t polite_ms = (time_mono_ns() - t0) / 1000000;
  cr_assert_lt(polite_ms, 5000, "SIGTERM should end sleep at once, took %lld ms",
               (long long)polite_ms);
  t0 = time_mono_ns();
  delete_pod(p2, 1);
  wait_terminated(u2, 30);
  int64_t stubborn_ms = (time_mono_ns() - t0) / 1000000;
  cr_assert_geq(stubborn_ms, 900, "killed before the grace period: %lld ms",
                (long long)stubborn_ms);
  bool killing = false;
  pthread_mutex_lock(&T.mu);
  size_t i;
  json_t *e;
  json_array_foreach(T.events, i, e) killing |= !strcmp(json_str(e, "reason"), "Killing");
  json_t *last = json_deep_copy(json_object_get(T.status, u2));
  pthread_mutex_unlock(&T.mu);
  cr_assert(killing, "no Killing event");
  json_t *t = terminated(last, "containerStatuses", "c");
  cr_assert_eq(json_int(t, "exitCode", -1), 137, "SIGKILL after the grace period");
  cr_assert_str_eq(json_str(last, "phase"), "Failed");
  assert_gone(u1);
  assert_gone(u2);
  json_decref(last);
  json_decref(p1);
  json_decref(p2);
  free(u1);
  free(u2);
}

Test(pod_run, adopted_after_reopen)
{
  char *uid = new_uid();
  json_t *pod = mkpod("keep", uid,
                      "{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\","
                      "\"command\":[\"sleep\",\"3600\"]}]}");
  sync_pod(pod);
  json_t *st = wait_phase(uid, "Running", 30);
  pid_t pid = ctr_pid("keep", "c");
  const char *ip = json_str(st, "podIP");
  pod_mgr_close(T.m);
  pthread_mutex_lock(&T.mu);
  json_object_clear(T.status);
  pthread_mutex_unlock(&T.mu);
  mgr_open();
  json_t *st2 = wait_phase(uid, "Running", 30);
  cr_assert_str_eq(json_str(st2, "podIP"), ip);
  cr_assert_eq(ctr_pid("keep", "c"), pid, "restarted instead of adopted");
  cr_assert_eq(json_int(ctr_status(st2, "containerStatuses", "c"), "restartCount", -1), 0);
  char **uids = pod_mgr_uids(T.m);
  cr_assert_eq(strv_len(uids), 1);
  cr_assert_str_eq(uids[0], uid);
  strv_free(uids);

  /* As after a reboot: the namespaces are gone; the pod starts again. */
  pod_mgr_close(T.m);
  pthread_mutex_lock(&T.mu);
  json_object_clear(T.status);
  pthread_mutex_unlock(&T.mu);
  const char *nss[] = { "net", "ipc", "uts" };
  for (size_t i = 0; i < ARRAY_SIZE(nss); i++) {
    char *f = xasprintf("%s/run/pods/%s/ns/%s", T.root, uid, nss[i]);
    cr_assert_eq(umount2(f, MNT_DETACH), 0, "%s", f);
    free(f);
  }
  mgr_open();
  json_t *st3 = wait_phase(uid, "Running", 30);
  cr_assert_neq(ctr_pid("keep", "c"), pid, "a container of the dead sandbox was kept");
  cr_assert_not_null(json_str(st3, "podIP"));
  cr_assert_eq(json_int(ctr_status(st3, "containerStatuses", "c"), "restartCount", -1), 1);
  json_decref(st3);

  /* forget: at once, everything */
  berr_t err = BERR_INIT;
  cr_assert_eq(pod_mgr_forget(T.m, uid, &err), 0);
  for (int i = 0; i < 300; i++) {
    char **u = pod_mgr_uids(T.m);
    size_t n = strv_len(u);
    strv_free(u);
    if (!n)
      break;
    usleep(50000);
  }
  assert_gone(uid);
  json_decref(st);
  json_decref(st2);
  json_decref(pod);
  free(uid);
}

/* A reboot empties the agent's tmpfs and kills every process: the manager
 * then knows no pod, removes the dead pod's containers and its emptyDir
 * left on the disk, and the pod, synced again from the API, starts anew. */
Test(pod_run, after_a_reboot)
{
  char *uid = new_uid();
  json_t *pod = mkpod("boot", uid,
                      "{\"volumes\":[{\"name\":\"d\",\"emptyDir\":{}}],"
                      "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\","
                      "\"command\":[\"sh\",\"-c\",\"echo x > /d/f; exec sleep 3600\"],"
                      "\"volumeMounts\":[{\"name\":\"d\",\"mountPath\":\"/d\"}]}]}");
  sync_pod(pod);
  json_decref(wait_phase(uid, "Running", 30));
  /* the emptyDir is on the disk, the rest of the pod on the tmpfs */
  char *vol = xasprintf("%s/volumes/%s/d", T.root, uid);
  char *run = path_join(T.root, "run");
  struct statfs sfs;
  cr_assert_eq(statfs(run, &sfs), 0);
  cr_assert_eq(sfs.f_type, TMPFS_MAGIC, "%s is not a tmpfs", run);
  for (int i = 0; i < 100 && !fs_exists(vol); i++)
    usleep(20000);
  cr_assert(fs_exists(vol), "%s: no emptyDir on the disk", vol);
  cr_assert_eq(statfs(vol, &sfs), 0);
  cr_assert_neq(sfs.f_type, TMPFS_MAGIC, "the emptyDir is on the tmpfs");

  pid_t pid = ctr_pid("boot", "c");
  cr_assert_gt(pid, 0);
  pod_mgr_close(T.m);
  kill(pid, SIGKILL);
  cr_assert_eq(umount2(run, MNT_DETACH), 0, "%s", run);
  mgr_open();
  char **uids = pod_mgr_uids(T.m);
  cr_assert_eq(strv_len(uids), 0, "a pod adopted from an empty tmpfs");
  strv_free(uids);
  char *vols = xasprintf("%s/volumes/%s", T.root, uid);
  cr_assert_not(fs_exists(vols), "%s is left", vols);
  free(vols);

  pthread_mutex_lock(&T.mu);
  json_object_clear(T.status);
  pthread_mutex_unlock(&T.mu);
  sync_pod(pod);
  json_decref(wait_phase(uid, "Running", 30));
  cr_assert_neq(ctr_pid("boot", "c"), pid);
  remove_pod(pod, uid);
  free(vol);
  free(run);
}

/* Many pods at once: how long each takes from sync to Running. */
static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

Test(pod_run, many_pods_start_in_parallel, .timeout = 300)
{
  int n = getenv("POD_TEST_N") ? atoi(getenv("POD_TEST_N")) : 20;
  char **uids = xcalloc((size_t)n + 1, sizeof *uids);
  json_t **pods = xcalloc((size_t)n, sizeof *pods);
  int64_t *lat = xcalloc((size_t)n, sizeof *lat);
  for (int i = 0; i < n; i++) {
    uids[i] = new_uid();
    char name[32];
    snprintf(name, sizeof name, "many-%d", i);
    pods[i] = mkpod(name, uids[i],
                    "{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\","
                    "\"command\":[\"sleep\",\"3600\"]}]}");
  }
  int64_t t0 = time_mono_ns();
  for (int i = 0; i < n; i++)
    sync_pod(pods[i]);
  for (int i = 0; i < n; i++) {
    json_decref(wait_phase(uids[i], "Running", 120));
  }
  /* each pod's time: from the sync to its first Running status */
  int64_t total = (time_mono_ns() - t0) / 1000000;
  pthread_mutex_lock(&T.mu);
  for (int i = 0; i < n; i++)
    lat[i] = (json_int(T.running_at, uids[i], t0) - t0) / 1000000;
  pthread_mutex_unlock(&T.mu);
  qsort(lat, (size_t)n, sizeof *lat, cmp_i64);
  fprintf(stderr, "pod_run: %d pods Running in %lld ms: p50 %lld ms, p99 %lld ms, max %lld ms\n", n,
          (long long)total, (long long)lat[n / 2], (long long)lat[(n * 99) / 100],
          (long long)lat[n - 1]);
  for (int i = 0; i < n; i++)
    delete_pod(pods[i], 0);
  for (int i = 0; i < n; i++)
    wait_terminated(uids[i], 120);
  for (int i = 0; i < n; i++) {
    assert_gone(uids[i]);
    json_decref(pods[i]);
  }
  free(lat);
  free(pods);
  strv_free(uids);
}
