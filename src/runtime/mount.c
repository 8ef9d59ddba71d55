/* mount.c — the container's root filesystem, built by the child inside its
 * new mount namespace (so nothing is left to clean up on the host).
 *
 * Sequence: make / private (mounts must not leak back to the host); mount
 * the overlay named by the berth.overlay.* annotations on root.path, or
 * bind root.path onto itself (pivot_root needs a mount point); every entry
 * of "mounts" in order; the minimal /dev (device nodes by mknod, which root
 * may do and which is cheaper than bind mounts; symlinks; ptmx into the
 * devpts instance); masked paths (/dev/null over files, an empty read-only
 * tmpfs over directories) and read-only paths; pivot_root; read-only root.
 *
 * Every destination is resolved with openat2(RESOLVE_IN_ROOT) below the root
 * filesystem, so a symlink planted in an image cannot point a mount at the
 * host; the mount then goes onto /proc/self/fd/N of the resolved target.
 * Bind mounts use the new mount API (open_tree + mount_setattr +
 * move_mount): read-only then applies to every submount of an rbind, which
 * a remount cannot do. */
#include "runtime/cgroup.h"
#include "runtime/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* ---- plan (parent) ---------------------------------------------------------------- */

static bool generic_mount_option(const char *o)
{
  static const char *const generic[]
      = { "rw",         "ro",          "nosuid", "nodev",   "noexec",   "relatime", "noatime",
          "nodiratime", "strictatime", "sync",   "dirsync", "lazytime", "seclabel", NULL };
  for (size_t i = 0; generic[i]; i++)
    if (!strcmp(o, generic[i]))
      return true;
  return false;
}

static void cgroup_free(mnt_cgroup *c)
{
  free(c->name);
  free(c->fstype);
  free(c->opts);
  free(c->host);
  free(c->start);
}

/* True when every controller of a /proc/self/cgroup line ("cpu,cpuacct",
 * "name=systemd") is among the v1 superblock options opts. */
static bool controllers_match(const char *ctrls, const char *opts)
{
  cleanup_free char *c = xstrdup(ctrls);
  char *save = NULL;
  for (char *t = strtok_r(c, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    size_t n = strlen(t);
    const char *o = opts;
    bool found = false;
    while (o && !found) {
      found = !strncmp(o, t, n) && (o[n] == ',' || o[n] == '\0');
      o = strchr(o, ',');
      o = o ? o + 1 : NULL;
    }
    if (!found)
      return false;
  }
  return *ctrls != '\0';
}

/* The cgroup this process is in, in the hierarchy mounted at dir (type,
 * mount options opts), as a host directory: the one its children start
 * in. NULL when /proc/self/cgroup (cgfile) does not say. */
static char *own_cgroup_dir(const char *cgfile, const char *dir, const char *type, const char *opts)
{
  bool v2 = !strcmp(type, "cgroup2");
  cleanup_free char *text = xstrdup(cgfile);
  for (char *p = text, *line; (line = strsep(&p, "\n"));) {
    /* "ID:CONTROLLERS:PATH"; cgroup2 is "0::PATH" */
    char *ctrls = strchr(line, ':'), *path = ctrls ? strchr(ctrls + 1, ':') : NULL;
    if (!path)
      continue;
    *path++ = '\0';
    *ctrls++ = '\0';
    if (v2 ? !strcmp(line, "0") && !*ctrls : opts && controllers_match(ctrls, opts))
      return !strcmp(path, "/") ? xstrdup(dir) : xasprintf("%s%s", dir, path);
  }
  return NULL;
}

/* The lines of /proc/self/mounts at or below /sys/fs/cgroup, read once per
 * process: the table grows with every pod's namespace mounts, and the
 * agent's spawner makes containers in forks of itself, which inherit what
 * it read at start (rt_preload) instead of each reading it again. With
 * each, the cgroup this process is in there (from /proc/self/cgroup), where
 * the containers it makes start. */
typedef struct cg_mount_line {
  char *dir, *type, *opts, *start;
} cg_mount_line;

static pthread_once_t cg_lines_once = PTHREAD_ONCE_INIT;
static cg_mount_line *cg_lines; /* process-wide, read-only once loaded */
static size_t n_cg_lines;
static int cg_lines_errno;

static void cg_lines_load(void)
{
  cleanup_fclose FILE *f = fopen("/proc/self/mounts", "re");
  if (!f) {
    cg_lines_errno = errno;
    return;
  }
  cleanup_free char *cgfile = NULL;
  if (fs_read_file("/proc/self/cgroup", 0, &cgfile, NULL, NULL) < 0)
    cgfile = xstrdup("");
  cleanup_free char *line = NULL;
  size_t cap = 0, alloc = 0;
  while (getline(&line, &cap, f) > 0) {
    char *save = NULL;
    strtok_r(line, " ", &save); /* source */
    const char *dir = strtok_r(NULL, " ", &save), *type = strtok_r(NULL, " ", &save);
    const char *opts = strtok_r(NULL, " ", &save);
    if (!opts || !str_has_prefix(dir, "/sys/fs/cgroup"))
      continue;
    if (n_cg_lines == alloc) {
      alloc = alloc ? alloc * 2 : 16;
      cg_lines = xrealloc(cg_lines, alloc * sizeof *cg_lines);
    }
    cg_lines[n_cg_lines++] = (cg_mount_line){ .dir = xstrdup(dir),
                                              .type = xstrdup(type),
                                              .opts = xstrdup(opts),
                                              .start = own_cgroup_dir(cgfile, dir, type, opts) };
  }
}

int rt_preload(berr_t *err)
{
  pthread_once(&cg_lines_once, cg_lines_load);
  cg_info();
  rt_monitor_preload();
  if (cg_lines_errno)
    return berr_set(err, cg_lines_errno, "open /proc/self/mounts");
  return 0;
}

/* The host's cgroup hierarchies: cgroup2 mounted at /sys/fs/cgroup (pure
 * v2), or one mount per hierarchy below it. */
static int plan_cgroups(mnt_plan *p, const char *cgroup_path, berr_t *err)
{
  if (rt_preload(err) < 0)
    return -1;
  size_t alloc = 0;
  for (size_t l = 0; l < n_cg_lines; l++) {
    const char *dir = cg_lines[l].dir, *type = cg_lines[l].type;
    /* a later mount on the same point hides an earlier one */
    for (size_t i = 0; i < p->n_cg; i++)
      if (str_has_prefix(dir, "/sys/fs/cgroup/") && !strcmp(p->cg[i].name, dir + 15)) {
        cgroup_free(&p->cg[i]);
        p->cg[i--] = p->cg[--p->n_cg];
      }
    if (strcmp(type, "cgroup") && strcmp(type, "cgroup2"))
      continue;
    bool whole_v2 = !strcmp(dir, "/sys/fs/cgroup") && !strcmp(type, "cgroup2");
    if (!whole_v2 && (!str_has_prefix(dir, "/sys/fs/cgroup/") || strchr(dir + 15, '/')))
      continue;
    buf_t o = { 0 };
    cleanup_free char *opts = xstrdup(cg_lines[l].opts);
    char *save = NULL;
    for (char *t = strtok_r(opts, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      if (generic_mount_option(t))
        continue;
      if (o.len)
        buf_puts(&o, ",");
      buf_puts(&o, t);
    }
    char *sb_opts = o.len ? buf_steal(&o) : NULL;
    buf_free(&o);
    mnt_cgroup c = { .name = xstrdup(whole_v2 ? "" : dir + 15),
                     .fstype = xstrdup(type),
                     .opts = sb_opts,
                     .host = xasprintf("%s%s", dir, cgroup_path),
                     .start = cg_lines[l].start ? xstrdup(cg_lines[l].start) : NULL };
    if (whole_v2) { /* the only one that counts */
      for (size_t i = 0; i < p->n_cg; i++)
        cgroup_free(&p->cg[i]);
      p->n_cg = 0;
      p->cg_unified = true;
    }
    if (p->n_cg == alloc) {
      alloc = alloc ? alloc * 2 : 16;
      p->cg = xrealloc(p->cg, alloc * sizeof *p->cg);
    }
    p->cg[p->n_cg++] = c;
    if (whole_v2)
      break;
  }
  return 0;
}

int mnt_plan_init(mnt_plan *p, const rt_spec *s, const char *bundle, const char *cgroup_path,
                  berr_t *err)
{
  memset(p, 0, sizeof *p);
  p->spec = s;
  p->bundle = bundle;
  p->rootfs = s->root_path[0] == '/' ? xstrdup(s->root_path) : path_join(bundle, s->root_path);
  p->cgroupns = (s->ns_listed & CLONE_NEWCGROUP) != 0;
  for (size_t i = 0; i < s->n_mounts; i++)
    if (!strcmp(s->mounts[i].type, "cgroup") || !strcmp(s->mounts[i].type, "cgroup2"))
      return plan_cgroups(p, cgroup_path, err);
  return 0;
}

void mnt_plan_free(mnt_plan *p)
{
  for (size_t i = 0; i < p->n_cg; i++)
    cgroup_free(&p->cg[i]);
  free(p->cg);
  free(p->rootfs);
  memset(p, 0, sizeof *p);
}

/* ---- resolving inside the root (child) ------------------------------------------ */

static int in_root(int rootfd, const char *path, int flags)
{
  struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
                          .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

#define FD_PATH_MAX 32
static const char *fd_path(char buf[FD_PATH_MAX], int fd)
{
  snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
  return buf;
}

/* O_PATH fd of directory PATH below the root, creating what is missing. */
static int mkdir_in_root(int rootfd, const char *path, berr_t *err)
{
  int fd = in_root(rootfd, path, O_PATH | O_DIRECTORY);
  if (fd >= 0 || errno != ENOENT)
    return fd >= 0 ? fd : berr_set(err, errno, "%s", path);
  cleanup_free char *parent = xstrdup(path);
  char *slash = strrchr(parent, '/');
  const char *base = path + (slash - parent) + 1;
  *slash = '\0';
  cleanup_close int pfd = mkdir_in_root(rootfd, *parent ? parent : "/", err);
  if (pfd < 0)
    return -1;
  if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST)
    return berr_set(err, errno, "mkdir %s", path);
  fd = in_root(rootfd, path, O_PATH | O_DIRECTORY);
  return fd >= 0 ? fd : berr_set(err, errno, "%s", path);
}

/* O_PATH fd of file PATH below the root, creating an empty file if missing. */
static int mkfile_in_root(int rootfd, const char *path, berr_t *err)
{
  int fd = in_root(rootfd, path, O_PATH);
  if (fd >= 0 || errno != ENOENT)
    return fd >= 0 ? fd : berr_set(err, errno, "%s", path);
  cleanup_free char *parent = xstrdup(path);
  char *slash = strrchr(parent, '/');
  const char *base = path + (slash - parent) + 1;
  *slash = '\0';
  cleanup_close int pfd = mkdir_in_root(rootfd, *parent ? parent : "/", err);
  if (pfd < 0)
    return -1;
  int nf = openat(pfd, base, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (nf < 0 && errno != EEXIST)
    return berr_set(err, errno, "create %s", path);
  if (nf >= 0)
    close(nf);
  fd = in_root(rootfd, path, O_PATH);
  return fd >= 0 ? fd : berr_set(err, errno, "%s", path);
}

/* ---- one mount -------------------------------------------------------------------- */

static uint64_t attr_of(unsigned long ms)
{
  uint64_t a = 0;
  if (ms & MS_RDONLY)
    a |= MOUNT_ATTR_RDONLY;
  if (ms & MS_NOSUID)
    a |= MOUNT_ATTR_NOSUID;
  if (ms & MS_NODEV)
    a |= MOUNT_ATTR_NODEV;
  if (ms & MS_NOEXEC)
    a |= MOUNT_ATTR_NOEXEC;
  if (ms & MS_NOSYMFOLLOW)
    a |= MOUNT_ATTR_NOSYMFOLLOW;
  if (ms & MS_NOATIME)
    a |= MOUNT_ATTR_NOATIME;
  else if (ms & MS_STRICTATIME)
    a |= MOUNT_ATTR_STRICTATIME;
  if (ms & MS_NODIRATIME)
    a |= MOUNT_ATTR_NODIRATIME;
  return a;
}

/* Clones the tree at src (an fd or a path), applies attributes to all of it
 * and attaches it on target_fd. */
static int bind_tree(int src_fd, const char *src, bool recursive, uint64_t attr, int target_fd)
{
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  if (src_fd >= 0)
    flags |= AT_EMPTY_PATH;
  cleanup_close int tree
      = (int)syscall(SYS_open_tree, src_fd >= 0 ? src_fd : AT_FDCWD, src_fd >= 0 ? "" : src, flags);
  if (tree < 0)
    return -1;
  if (attr) {
    struct mount_attr ma = { .attr_set = attr };
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &ma,
                sizeof ma)
        < 0)
      return -1;
  }
  return (int)syscall(SYS_move_mount, tree, "", target_fd, "",
                      MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

static int mount_bind(int rootfd, const mnt_plan *p, const rt_mount *m, berr_t *err)
{
  cleanup_free char *src
      = m->source[0] == '/' ? xstrdup(m->source) : path_join(p->bundle, m->source);
  struct stat st;
  if (stat(src, &st) < 0)
    return berr_set(err, errno, "mount volume %s: %s", m->dest, m->source);
  cleanup_close int target = S_ISDIR(st.st_mode) ? mkdir_in_root(rootfd, m->dest, err)
                                                 : mkfile_in_root(rootfd, m->dest, err);
  if (target < 0)
    return berr_wrap(err, "mount volume %s", m->dest);
  if (bind_tree(-1, src, m->recursive, attr_of(m->flags), target) < 0)
    return berr_set(err, errno, "mount volume %s: %s", m->dest, m->source);
  return 0;
}

static int mount_fs(int target, const char *src, const char *type, unsigned long flags,
                    const char *data)
{
  char buf[FD_PATH_MAX];
  return mount(src, fd_path(buf, target), type, flags, data);
}

/* linux: type "cgroup": the container's own cgroups, read-only. */
static int mount_cgroup(int rootfd, const mnt_plan *p, const rt_mount *m, berr_t *err)
{
  unsigned long fl = m->flags & ~MS_RDONLY;
  cleanup_close int target = mkdir_in_root(rootfd, m->dest, err);
  if (target < 0)
    return berr_wrap(err, "mount cgroup at %s", m->dest);
  if (p->cg_unified) {
    int r = p->cgroupns ? mount_fs(target, "cgroup2", "cgroup2", m->flags, NULL)
                        : bind_tree(-1, p->cg[0].host, false, attr_of(m->flags), target);
    return r < 0 ? berr_set(err, errno, "mount cgroup2 at %s", m->dest) : 0;
  }
  if (mount_fs(target, "tmpfs", "tmpfs", fl, "mode=755,size=64k") < 0)
    return berr_set(err, errno, "mount tmpfs at %s", m->dest);
  close(target);
  target = in_root(rootfd, m->dest, O_PATH | O_DIRECTORY);
  if (target < 0)
    return berr_set(err, errno, "%s", m->dest);
  char buf[FD_PATH_MAX];
  for (size_t i = 0; i < p->n_cg; i++) {
    const mnt_cgroup *c = &p->cg[i];
    /* The container's own directory, where there is one, is bound: with a
       cgroup namespace that is what a new mount would show too (its root is
       the namespace's, the container's cgroup), and a v1 mount costs a walk
       of every cgroup on the machine under cgroup_mutex. In the hierarchies
       berth does not place containers in, the namespace's root is the
       cgroup the container started in, the launcher's: that is bound (a new
       mount when /proc/self/cgroup does not name it). Without a namespace
       those stay empty. */
    bool own = access(c->host, F_OK) == 0;
    if (!p->cgroupns && !own)
      continue;
    const char *bind = own ? c->host : c->start;
    if (mkdirat(target, c->name, 0755) < 0 && errno != EEXIST)
      return berr_set(err, errno, "mkdir %s/%s", m->dest, c->name);
    cleanup_close int sub = openat(target, c->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
      return berr_set(err, errno, "open %s/%s", m->dest, c->name);
    int r = bind ? bind_tree(-1, bind, false, attr_of(m->flags), sub) : -1;
    if (r < 0 && !own) /* (a start directory removed meanwhile: mount anew) */
      r = mount(c->fstype, fd_path(buf, sub), c->fstype, m->flags, c->opts);
    if (r < 0)
      return berr_set(err, errno, "mount %s at %s/%s", c->fstype, m->dest, c->name);
  }
  if (m->flags & MS_RDONLY
      && mount(NULL, fd_path(buf, target), NULL, MS_REMOUNT | MS_RDONLY | fl, "mode=755,size=64k")
             < 0)
    return berr_set(err, errno, "remount %s read-only", m->dest);
  return 0;
}

static int mount_one(int rootfd, const mnt_plan *p, const rt_mount *m, berr_t *err)
{
  if (m->bind) {
    if (mount_bind(rootfd, p, m, err) < 0)
      return -1;
  } else if (!strcmp(m->type, "cgroup") || !strcmp(m->type, "cgroup2")) {
    if (mount_cgroup(rootfd, p, m, err) < 0)
      return -1;
  } else {
    cleanup_close int target = mkdir_in_root(rootfd, m->dest, err);
    if (target < 0)
      return berr_wrap(err, "mount %s at %s", m->type, m->dest);
    if (mount_fs(target, m->source ? m->source : m->type, m->type, m->flags, m->data) < 0)
      return berr_set(err, errno, "mount %s at %s%s%s", m->type, m->dest, m->data ? " with " : "",
                      m->data ? m->data : "");
  }
  if (m->propagation) {
    cleanup_close int top = in_root(rootfd, m->dest, O_PATH);
    if (top < 0 || mount_fs(top, NULL, NULL, m->propagation, NULL) < 0)
      return berr_set(err, errno, "set propagation of %s", m->dest);
  }
  return 0;
}

/* ---- /dev ----------------------------------------------------------------------- */

static int make_dev(int rootfd, const rt_spec *s, berr_t *err)
{
  static const struct {
    const char *name;
    unsigned maj, min;
  } nodes[] = { { "null", 1, 3 },   { "zero", 1, 5 },    { "full", 1, 7 },
                { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 } };
  static const struct {
    const char *name, *target;
  } links[] = { { "fd", "/proc/self/fd" },       { "stdin", "/proc/self/fd/0" },
                { "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
                { "ptmx", "pts/ptmx" },          { "core", "/proc/kcore" } };
  cleanup_close int dev = in_root(rootfd, "/dev", O_PATH | O_DIRECTORY);
  if (dev < 0)
    return berr_set(err, errno, "open /dev");
  for (size_t i = 0; i < ARRAY_SIZE(nodes); i++)
    if (mknodat(dev, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0
        && errno != EEXIST)
      return berr_set(err, errno, "mknod /dev/%s", nodes[i].name);
  for (size_t i = 0; i < ARRAY_SIZE(links); i++)
    if (symlinkat(links[i].target, dev, links[i].name) < 0 && errno != EEXIST)
      return berr_set(err, errno, "symlink /dev/%s", links[i].name);
  for (size_t i = 0; i < s->n_devices; i++) {
    const rt_device *d = &s->devices[i];
    const char *slash = strrchr(d->path, '/');
    cleanup_free char *parent = xstrndup(d->path, (size_t)(slash - d->path));
    cleanup_close int pfd = mkdir_in_root(rootfd, *parent ? parent : "/", err);
    if (pfd < 0)
      return berr_wrap(err, "linux.devices %s", d->path);
    unlinkat(pfd, slash + 1, 0);
    if (mknodat(pfd, slash + 1, d->type | (d->mode & 07777), makedev(d->major, d->minor)) < 0
        || fchownat(pfd, slash + 1, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
      return berr_set(err, errno, "create device %s", d->path);
  }
  return 0;
}

/* ---- masked and read-only paths ------------------------------------------------------ */

static int mask_path(int rootfd, const char *path, berr_t *err)
{
  cleanup_close int fd = in_root(rootfd, path, O_PATH | O_NOFOLLOW);
  if (fd < 0)
    return errno == ENOENT ? 0 : berr_set(err, errno, "mask %s", path);
  struct stat st;
  if (fstat(fd, &st) < 0)
    return berr_set(err, errno, "mask %s", path);
  int r = S_ISDIR(st.st_mode) ? mount_fs(fd, "tmpfs", "tmpfs", MS_RDONLY, NULL)
                              : mount_fs(fd, "/dev/null", NULL, MS_BIND, NULL);
  return r < 0 ? berr_set(err, errno, "mask %s", path) : 0;
}

static int readonly_path(int rootfd, const char *path, berr_t *err)
{
  cleanup_close int fd = in_root(rootfd, path, O_PATH | O_NOFOLLOW);
  if (fd < 0)
    return errno == ENOENT ? 0 : berr_set(err, errno, "make %s read-only", path);
  uint64_t attr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  if (bind_tree(fd, NULL, true, attr, fd) < 0)
    return berr_set(err, errno, "make %s read-only", path);
  return 0;
}

/* ---- the whole sequence --------------------------------------------------------------- */

static int mount_rootfs(const mnt_plan *p, berr_t *err)
{
  const rt_spec *s = p->spec;
  if (!s->overlay_lower) {
    if (mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
      return berr_set(err, errno, "bind the root filesystem %s", p->rootfs);
    return 0;
  }
  cleanup_free char *opts = s->overlay_upper
                                ? xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", s->overlay_lower,
                                            s->overlay_upper, s->overlay_work)
                                : xasprintf("lowerdir=%s", s->overlay_lower);
  if (strlen(opts) < 4000) {
    if (mount("overlay", p->rootfs, "overlay", 0, opts) < 0)
      return berr_set(err, errno, "mount the overlay on %s (%s)", p->rootfs, opts);
    return 0;
  }
  /* Too long for mount(2)'s one page of options: the new API takes the
     layers one by one ("lowerdir+", Linux 6.8). */
  cleanup_close int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fs < 0)
    return berr_set(err, errno, "fsopen overlay");
  cleanup_free char *layers = xstrdup(s->overlay_lower);
  char *save = NULL;
  for (char *l = strtok_r(layers, ":", &save); l; l = strtok_r(NULL, ":", &save))
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+", l, 0) < 0)
      return berr_set(err, errno, "overlay layer %s", l);
  if ((s->overlay_upper
       && (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", s->overlay_upper, 0) < 0
           || syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", s->overlay_work, 0) < 0))
      || syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return berr_set(err, errno, "mount the overlay on %s", p->rootfs);
  cleanup_close int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0 || syscall(SYS_move_mount, mnt, "", AT_FDCWD, p->rootfs, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return berr_set(err, errno, "mount the overlay on %s", p->rootfs);
  return 0;
}

static int pivot(const mnt_plan *p, int rootfd, berr_t *err)
{
  cleanup_close int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (oldroot < 0)
    return berr_set(err, errno, "open /");
  if (fchdir(rootfd) < 0)
    return berr_set(err, errno, "chdir %s", p->rootfs);
  /* pivot_root(".", "."): the old root ends up stacked on the new one and is
     detached right away, without needing a directory for it in the image. */
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    return berr_set(err, errno, "pivot_root %s", p->rootfs);
  if (fchdir(oldroot) < 0)
    return berr_set(err, errno, "chdir to the old root");
  if (p->spec->rootfs_propagation && mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    return berr_set(err, errno, "make the old root a slave");
  if (umount2(".", MNT_DETACH) < 0)
    return berr_set(err, errno, "detach the old root");
  if (chdir("/") < 0)
    return berr_set(err, errno, "chdir /");
  return 0;
}

int mnt_setup(const mnt_plan *p, berr_t *err)
{
  const rt_spec *s = p->spec;
  unsigned long prop = s->rootfs_propagation & ~MS_REC;
  /* Host mounts propagate in only when asked (slave/shared); ours never out. */
  if (mount(NULL, "/", NULL,
            MS_REC | (prop == MS_SHARED || prop == MS_SLAVE ? MS_SLAVE : MS_PRIVATE), NULL)
      < 0)
    return berr_set(err, errno, "make / private");
  if (mount_rootfs(p, err) < 0)
    return -1;
  cleanup_close int rootfd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return berr_set(err, errno, "root filesystem %s", p->rootfs);
  bool dev_tmpfs = false;
  for (size_t i = 0; i < s->n_mounts; i++) {
    if (mount_one(rootfd, p, &s->mounts[i], err) < 0)
      return -1;
    if (!strcmp(s->mounts[i].dest, "/dev"))
      dev_tmpfs = !s->mounts[i].bind;
  }
  if (dev_tmpfs && make_dev(rootfd, s, err) < 0)
    return -1;
  for (size_t i = 0; s->masked && s->masked[i]; i++)
    if (mask_path(rootfd, s->masked[i], err) < 0)
      return -1;
  for (size_t i = 0; s->readonly && s->readonly[i]; i++)
    if (readonly_path(rootfd, s->readonly[i], err) < 0)
      return -1;
  if (s->rootfs_propagation && mount(NULL, p->rootfs, NULL, s->rootfs_propagation, NULL) < 0)
    return berr_set(err, errno, "set rootfsPropagation");
  return pivot(p, rootfd, err);
}

int mnt_bind_console(const char *slave_path, berr_t *err)
{
  int fd = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST)
    return berr_set(err, errno, "create /dev/console");
  if (fd >= 0)
    close(fd);
  if (mount(slave_path, "/dev/console", NULL, MS_BIND, NULL) < 0)
    return berr_set(err, errno, "bind %s to /dev/console", slave_path);
  return 0;
}

int mnt_finish(const mnt_plan *p, berr_t *err)
{
  if (!p->spec->root_readonly)
    return 0;
  struct statvfs sv;
  if (statvfs("/", &sv) < 0)
    return berr_set(err, errno, "statvfs /");
  unsigned long keep = 0;
  if (sv.f_flag & ST_NOSUID)
    keep |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV)
    keep |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC)
    keep |= MS_NOEXEC;
  if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL) < 0)
    return berr_set(err, errno, "make the root filesystem read-only");
  return 0;
}
