/* pod_sandbox.c — a pod's sandbox: the network, IPC and UTS namespaces its
 * containers share, its address, and its files under ROOT/run/pods/UID/.
 *
 * No pause process holds the namespaces. A short-lived thread unshares
 * them (net, ipc and uts are per-thread in Linux, so the agent's other
 * threads are untouched and nothing is forked), sets the pod's hostname and
 * bind-mounts its /proc/thread-self/ns/{net,ipc,uts} onto the files
 * ROOT/run/pods/UID/ns/{net,ipc,uts}; when the thread ends, the mounts keep
 * the namespaces alive, as `ip netns add` does. Containers join them by
 * path. ROOT/run is a private tmpfs, so these mounts neither propagate to
 * nor come from anywhere else. A hostNetwork pod gets only the ipc and uts
 * ones (keeping the node's hostname) and the node's address.
 *
 * A sandbox is alive only when all of its files are nsfs mounts
 * (pod_sandbox_alive): one unmounted by hand is made again. */
#include "agent/pod_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

static const char *const ns_names[] = { "net", "ipc", "uts" };

char *pod_path(pod_t *p, const char *file)
{
  return path_join(p->dir, file);
}

char *pod_ns_path(pod_t *p, const char *ns)
{
  return xasprintf("%s/ns/%s", p->dir, ns);
}

static bool host_network(pod_t *p)
{
  return json_bool(p->spec, "hostNetwork", false);
}

/* Writes without fsync (temp + rename, so a reader never sees half a file):
 * everything here can be rebuilt from the API server and the engine. */
static int save_json(const char *path, json_t *j, berr_t *err)
{
  cleanup_free char *tmp = xasprintf("%s.tmp", path);
  if (json_dump_file(j, tmp, JSON_COMPACT) < 0 || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return berr_set(err, e, "write %s", path);
  }
  return 0;
}

int pod_save(pod_t *p, berr_t *err)
{
  cleanup_json json_t *j = json_copy(p->obj); /* shallow: the status is the only change */
  json_t *st = json_object();
  if (p->ip)
    json_object_set_new(st, "podIP", json_string(p->ip));
  if (p->start_ns) {
    cleanup_free char *t = time_rfc3339_sec(p->start_ns);
    json_object_set_new(st, "startTime", json_string(t));
    json_object_set_new(st, "berthStartNs", json_integer(p->start_ns));
  }
  if (p->terminal && p->phase)
    json_object_set_new(st, "phase", json_string(p->phase));
  if (p->evicted) {
    json_object_set_new(st, "reason", json_string("Evicted"));
    json_object_set_new(st, "message", json_string(p->evict_message ? p->evict_message : ""));
  }
  json_object_set_new(j, "status", st);
  cleanup_free char *path = pod_path(p, "pod.json");
  if (save_json(path, j, err) < 0)
    return berr_wrap(err, "save pod %s/%s", p->ns, p->name);
  return 0;
}

void pod_state_from(pod_t *p, json_t *status)
{
  if (json_str(status, "podIP")) {
    free(p->ip);
    p->ip = xstrdup(json_str(status, "podIP"));
  }
  if (json_int(status, "berthStartNs", 0))
    p->start_ns = json_int(status, "berthStartNs", 0);
  p->terminal = pod_phase_terminal(json_str(status, "phase"));
  if (p->terminal && !strcmp(json_str(status, "reason") ?: "", "Evicted")) {
    p->evicted = true;
    free(p->evict_message);
    p->evict_message = xstrdup(json_str(status, "message") ?: "");
  }
}

/* ---- ROOT/run: a private tmpfs ------------------------------------------------------ */

static bool is_mount_root(const char *path)
{
  struct statx stx;
  if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0)
    return false;
  return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
         && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* Mounted once and kept: a restarted agent finds its pods there. Private,
 * so that the namespace files bound in it propagate nowhere. */
int pod_root_prepare(pod_mgr_t *m, berr_t *err)
{
  if (fs_mkdir_p(m->run_dir, 0700, err) < 0)
    return -1;
  if (!is_mount_root(m->run_dir)
      && mount("tmpfs", m->run_dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0)
    return berr_set(err, errno, "mount a tmpfs on %s", m->run_dir);
  if (mount(NULL, m->run_dir, NULL, MS_PRIVATE, NULL) < 0)
    return berr_set(err, errno, "make %s a private mount", m->run_dir);
  return 0;
}

/* ---- namespaces ----------------------------------------------------------------- */

typedef struct sb_job {
  int flags;
  const char *hostname; /* NULL: keep the node's */
  char *files[3];       /* where to bind each namespace */
  const char *names[3]; /* its name under /proc/thread-self/ns */
  size_t n;
  berr_t err;
} sb_job;

static void *sb_thread(void *arg)
{
  sb_job *j = arg;
  if (unshare(j->flags) < 0) {
    berr_set(&j->err, errno, "unshare the pod's namespaces");
    return NULL;
  }
  if (j->flags & CLONE_NEWNET) {
    /* Interfaces made from now on in the pod's namespace (its eth0) get no
     * IPv6: the pod network is IPv4, and every IPv6 interface on the bridge
     * would send DAD and MLD packets flooded to every other pod. lo, made
     * with the namespace, keeps ::1. Opened from this thread, the file is
     * the new namespace's. */
    int fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      if (write(fd, "1", 1) < 0)
        log_debug("msg=\"cannot disable IPv6 in the pod network\" errno=%d", errno);
      close(fd);
    }
  }
  if (j->hostname && sethostname(j->hostname, strlen(j->hostname)) < 0) {
    berr_set(&j->err, errno, "set hostname %s", j->hostname);
    return NULL;
  }
  for (size_t i = 0; i < j->n; i++) {
    char src[64];
    snprintf(src, sizeof src, "/proc/thread-self/ns/%s", j->names[i]);
    if (mount(src, j->files[i], NULL, MS_BIND, NULL) < 0) {
      berr_set(&j->err, errno, "bind-mount the %s namespace onto %s", j->names[i], j->files[i]);
      return NULL;
    }
  }
  return NULL;
}

static bool is_nsfs(const char *path)
{
  struct statfs sf;
  return statfs(path, &sf) == 0 && sf.f_type == NSFS_MAGIC;
}

bool pod_sandbox_alive(pod_t *p)
{
  for (size_t i = host_network(p) ? 1 : 0; i < ARRAY_SIZE(ns_names); i++) {
    cleanup_free char *f = pod_ns_path(p, ns_names[i]);
    if (!is_nsfs(f))
      return false;
  }
  return true;
}

static void unmount_ns(pod_t *p)
{
  for (size_t i = 0; i < ARRAY_SIZE(ns_names); i++) {
    cleanup_free char *f = pod_ns_path(p, ns_names[i]);
    while (is_nsfs(f) && umount2(f, MNT_DETACH) == 0)
      ;
    unlink(f);
  }
  cleanup_free char *d = pod_path(p, "ns");
  rmdir(d);
}

static int make_namespaces(pod_t *p, berr_t *err)
{
  cleanup_free char *dir = pod_path(p, "ns");
  if (fs_mkdir_p(dir, 0700, err) < 0)
    return -1;
  bool hn = host_network(p);
  bool failed = false;
  sb_job j = { .flags = CLONE_NEWIPC | CLONE_NEWUTS | (hn ? 0 : CLONE_NEWNET),
               .hostname = hn ? NULL : p->hostname };
  for (size_t i = hn ? 1 : 0; i < ARRAY_SIZE(ns_names); i++) {
    j.names[j.n] = ns_names[i];
    j.files[j.n] = pod_ns_path(p, ns_names[i]);
    int fd = open(j.files[j.n], O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
    j.n++;
    if (fd < 0) {
      failed = berr_set(err, errno, "create %s", j.files[j.n - 1]) < 0;
      goto out;
    }
    close(fd);
  }
  pthread_t t;
  int r = pthread_create(&t, NULL, sb_thread, &j);
  if (r) {
    failed = berr_set(err, r, "start the namespace thread") < 0;
    goto out;
  }
  pthread_join(t, NULL);
  if (j.err.msg) {
    failed = true;
    berr_move(err, &j.err);
  }
out:
  for (size_t i = 0; i < j.n; i++)
    free(j.files[i]);
  if (failed) {
    unmount_ns(p);
    return -1;
  }
  return 0;
}

int pod_sandbox_up(pod_mgr_t *m, pod_t *p, berr_t *err)
{
  int64_t t0 = time_mono_ns();
  if (!pod_sandbox_alive(p)) {
    unmount_ns(p); /* whatever a reboot or a failed start left */
    if (make_namespaces(p, err) < 0)
      return -1;
    free(p->ip);
    p->ip = NULL;
  }
  if (host_network(p)) {
    free(p->ip);
    p->ip = xstrdup(m->host_ip);
  }
  int64_t t1 = time_mono_ns();
  if (!host_network(p) && !p->ip) {
    cleanup_free char *netns = pod_ns_path(p, "net");
    if (podnet_setup(&m->o.net, netns, p->uid, &p->ip, err) < 0) {
      unmount_ns(p);
      return berr_wrap(err, "pod network");
    }
  }
  log_debug("msg=\"pod sandbox\" pod=%s/%s namespaces_us=%lld network_us=%lld", p->ns, p->name,
            (long long)(t1 - t0) / 1000, (long long)(time_mono_ns() - t1) / 1000);
  p->net_up = true;
  return 0;
}

int pod_sandbox_down(pod_mgr_t *m, pod_t *p, berr_t *err)
{
  int rc = 0;
  if (!p->spec || !host_network(p))
    rc = podnet_teardown(&m->o.net, p->uid, err);
  unmount_ns(p);
  p->net_up = false;
  return rc;
}

/* ---- /etc/hosts ------------------------------------------------------------------- */

int pod_hosts_write(pod_t *p, berr_t *err)
{
  buf_t b = { 0 };
  buf_puts(&b, "# Kubernetes-managed hosts file.\n"
               "127.0.0.1\tlocalhost\n"
               "::1\tlocalhost ip6-localhost ip6-loopback\n"
               "fe00::0\tip6-localnet\n"
               "fe00::0\tip6-mcastprefix\n"
               "fe00::1\tip6-allnodes\n"
               "fe00::2\tip6-allrouters\n");
  const char *sub = json_str(p->spec, "subdomain");
  if (p->ip && sub && *sub)
    buf_printf(&b, "%s\t%s.%s.%s.svc.cluster.local\t%s\n", p->ip, p->hostname, sub, p->ns,
               p->hostname);
  else if (p->ip)
    buf_printf(&b, "%s\t%s\n", p->ip, p->hostname);
  json_t *aliases = json_object_get(p->spec, "hostAliases");
  if (json_array_size(aliases)) {
    buf_puts(&b, "\n# Entries added by HostAliases.\n");
    size_t i, k;
    json_t *a, *h;
    json_array_foreach(aliases, i, a)
    {
      if (!json_str(a, "ip"))
        continue;
      buf_printf(&b, "%s\t", json_str(a, "ip"));
      json_array_foreach(json_object_get(a, "hostnames"), k, h) if (json_is_string(h))
          buf_printf(&b, "%s%s", k ? "\t" : "", json_string_value(h));
      buf_puts(&b, "\n");
    }
  }
  cleanup_free char *path = pod_path(p, "etc-hosts");
  cleanup_free char *tmp = xasprintf("%s.tmp", path);
  int rc = 0;
  cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len || rename(tmp, path) < 0)
    rc = berr_set(err, errno, "write %s", path);
  buf_free(&b);
  return rc;
}
