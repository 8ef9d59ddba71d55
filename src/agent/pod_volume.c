/* pod_volume.c — a pod's volumes and how its containers mount them.
 *
 * Every volume berth makes lives in ROOT/run/pods/UID/volumes/NAME (the
 * agent's tmpfs, as the kubelet keeps secrets off the disk) except an
 * emptyDir on the disk, ROOT/volumes/UID/NAME; each is bind-mounted into
 * the containers that name it in volumeMounts:
 *
 *   emptyDir     an empty directory (mode 0777) shared by the pod's
 *                containers; medium Memory is a tmpfs (sizeLimit = its size)
 *   configMap,   one file per key (or per items[]: key → path, mode),
 *   secret       defaultMode 0644; content from pod_mgr_opts.lookup with a
 *                NULL key (the whole data map); optional ones may be missing.
 *                Mounted read-only.
 *   downwardAPI  one file per item, from fieldRef / resourceFieldRef
 *   projected    configMap, secret and downwardAPI sources in one directory
 *
 * hostPath is the host's path itself, checked (or made) by its type.
 * Anything else (persistentVolumeClaim, nfs, …) cannot be done here: the
 * pod does not start, and its events and status say why. */
#include "agent/pod_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"

static const char *const file_kinds[] = { "configMap", "secret", "downwardAPI", "projected" };
static const char *const supported[]
    = { "emptyDir", "hostPath", "configMap", "secret", "downwardAPI", "projected" };

/* The volume's kind: its one member besides "name". */
static const char *vol_kind(json_t *v)
{
  for (size_t i = 0; i < ARRAY_SIZE(supported); i++)
    if (json_object_get(v, supported[i]))
      return supported[i];
  const char *k;
  json_t *x;
  json_object_foreach(v, k, x) if (strcmp(k, "name")) return k;
  return "";
}

static bool is_file_kind(const char *kind)
{
  for (size_t i = 0; i < ARRAY_SIZE(file_kinds); i++)
    if (!strcmp(kind, file_kinds[i]))
      return true;
  return false;
}

/* Where volume v's files are: an emptyDir on the disk (ROOT/volumes/UID),
 * the others (and a Memory emptyDir's mount point) in the pod's directory
 * on the agent's tmpfs. */
static char *vol_dir(pod_t *p, json_t *v)
{
  const char *name = json_str(v, "name") ?: "";
  json_t *ed = json_object_get(v, "emptyDir");
  if (ed && strcmp(json_str(ed, "medium") ?: "", "Memory"))
    return path_join(p->vols, name);
  return xasprintf("%s/volumes/%s", p->dir, name);
}

/* A relative path without ".." components, as the API requires of items. */
static bool rel_path_ok(const char *path)
{
  if (!path || !*path || path[0] == '/')
    return false;
  cleanup_free char *c = xstrdup(path);
  for (char *s = c, *tok; (tok = strsep(&s, "/"));)
    if (!strcmp(tok, ".."))
      return false;
  return true;
}

static int write_item(const char *dir, const char *rel, const char *data, size_t len, mode_t mode,
                      berr_t *err)
{
  if (!rel_path_ok(rel))
    return berr_setc(err, EINVAL, "invalid item path \"%s\"", rel ? rel : "");
  cleanup_free char *path = path_join(dir, rel);
  cleanup_free char *parent = xstrdup(path);
  *strrchr(parent, '/') = '\0';
  if (fs_mkdir_p(parent, 0755, err) < 0)
    return -1;
  cleanup_free char *tmp = xasprintf("%s.berth-tmp", path);
  cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return berr_set(err, errno, "create %s", path);
  const char *p = data;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return berr_set(err, errno, "write %s", path);
    p += w;
    len -= (size_t)w;
  }
  if (fchmod(fd, mode) < 0 || rename(tmp, path) < 0)
    return berr_set(err, errno, "write %s", path);
  return 0;
}

static mode_t item_mode(json_t *item, mode_t dflt)
{
  json_t *m = json_object_get(item, "mode");
  return json_is_integer(m) ? (mode_t)(json_integer_value(m) & 07777) : dflt;
}

/* configMap or secret: data from the lookup, all keys or items[]. */
static int write_data_source(pod_mgr_t *m, pod_t *p, const char *dir, json_t *src, const char *kind,
                             const char *name, mode_t dflt, berr_t *err)
{
  bool optional = json_bool(src, "optional", false);
  const char *what = !strcmp(kind, "secrets") ? "secret" : "configmap";
  cleanup_free char *text = NULL;
  berr_t lerr = BERR_INIT;
  if (!m->o.lookup) {
    berr_setc(&lerr, ENOENT, "%s \"%s\" not found", what, name);
  } else if (m->o.lookup(m->o.arg, kind, p->ns, name, NULL, &text, &lerr) == 0) {
    berr_clear(&lerr);
  }
  if (lerr.msg) {
    if (lerr.code == ENOENT && optional) {
      berr_clear(&lerr);
      return 0;
    }
    berr_move(err, &lerr);
    return -1;
  }
  json_error_t je;
  cleanup_json json_t *data = json_loads(text ? text : "", JSON_ALLOW_NUL, &je);
  if (!json_is_object(data))
    return berr_setc(err, EINVAL, "%s \"%s\": the lookup did not return a JSON object", what, name);
  json_t *items = json_object_get(src, "items");
  if (json_array_size(items)) {
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
      const char *key = json_str(it, "key") ?: "";
      json_t *v = json_object_get(data, key);
      if (!json_is_string(v)) {
        if (optional)
          continue;
        return berr_setc(err, ENOENT, "couldn't find key %s in %s %s/%s", key,
                         !strcmp(kind, "secrets") ? "Secret" : "ConfigMap", p->ns, name);
      }
      if (write_item(dir, json_str(it, "path"), json_string_value(v), json_string_length(v),
                     item_mode(it, dflt), err)
          < 0)
        return -1;
    }
    return 0;
  }
  const char *key;
  json_t *v;
  json_object_foreach(data, key, v) if (json_is_string(v)
                                        && write_item(dir, key, json_string_value(v),
                                                      json_string_length(v), dflt, err)
                                               < 0) return -1;
  return 0;
}

static int write_downward(pod_mgr_t *m, pod_t *p, const char *dir, json_t *src, mode_t dflt,
                          berr_t *err)
{
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(src, "items"), i, it)
  {
    cleanup_free char *value = NULL;
    json_t *fr = json_object_get(it, "fieldRef");
    if (!fr)
      return berr_setc(err, EINVAL, "downwardAPI item %s: only fieldRef is supported",
                       json_str(it, "path") ?: "");
    if (pod_field_ref(m, p, json_str(fr, "fieldPath") ?: "", &value, err) < 0
        || write_item(dir, json_str(it, "path"), value, strlen(value), item_mode(it, dflt), err)
               < 0)
      return -1;
  }
  return 0;
}

static mode_t default_mode(json_t *src)
{
  json_t *m = json_object_get(src, "defaultMode");
  return json_is_integer(m) ? (mode_t)(json_integer_value(m) & 07777) : 0644;
}

static int make_files(pod_mgr_t *m, pod_t *p, const char *kind, json_t *src, const char *dir,
                      berr_t *err)
{
  mode_t dflt = default_mode(src);
  if (!strcmp(kind, "configMap"))
    return write_data_source(m, p, dir, src, "configmaps", json_str(src, "name") ?: "", dflt, err);
  if (!strcmp(kind, "secret"))
    return write_data_source(m, p, dir, src, "secrets", json_str(src, "secretName") ?: "", dflt,
                             err);
  if (!strcmp(kind, "downwardAPI"))
    return write_downward(m, p, dir, src, dflt, err);
  /* projected */
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(src, "sources"), i, s)
  {
    json_t *x;
    int r;
    if ((x = json_object_get(s, "configMap")))
      r = write_data_source(m, p, dir, x, "configmaps", json_str(x, "name") ?: "", dflt, err);
    else if ((x = json_object_get(s, "secret")))
      r = write_data_source(m, p, dir, x, "secrets", json_str(x, "name") ?: "", dflt, err);
    else if ((x = json_object_get(s, "downwardAPI")))
      r = write_downward(m, p, dir, x, dflt, err);
    else
      r = berr_setc(err, EINVAL,
                    "projected source %s is not supported (configMap, secret, downwardAPI)",
                    vol_kind(s));
    if (r < 0)
      return -1;
  }
  return 0;
}

static bool is_mount_root(const char *path)
{
  struct statx stx;
  return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0
         && (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
         && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static int empty_dir(json_t *src, const char *dir, berr_t *err)
{
  if (fs_mkdir_p(dir, 0777, err) < 0)
    return -1;
  const char *medium = json_str(src, "medium");
  if (medium && !strcmp(medium, "Memory") && !is_mount_root(dir)) {
    cleanup_free char *opts = NULL;
    api_quantity_t q;
    json_t *lim = json_object_get(src, "sizeLimit");
    if (lim && api_quantity_from_json(lim, &q, NULL) == 0 && !api_quantity_is_zero(&q))
      opts = xasprintf("mode=0777,size=%lld", (long long)api_quantity_value(&q));
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts ? opts : "mode=0777") < 0)
      return berr_set(err, errno, "mount a tmpfs on %s", dir);
  } else if (medium && *medium && strcmp(medium, "Memory")) {
    return berr_setc(err, EINVAL, "emptyDir medium \"%s\" is not supported (\"\" or Memory)",
                     medium);
  }
  return chmod(dir, 0777) < 0 ? berr_set(err, errno, "chmod %s", dir) : 0;
}

static int host_path(json_t *src, berr_t *err)
{
  const char *path = json_str(src, "path"), *type = json_str(src, "type") ?: "";
  if (!path || path[0] != '/')
    return berr_setc(err, EINVAL, "hostPath: path must be absolute");
  struct stat st;
  bool exists = stat(path, &st) == 0;
  if (!strcmp(type, "DirectoryOrCreate")) {
    if (!exists && fs_mkdir_p(path, 0755, err) < 0)
      return -1;
    if (exists && !S_ISDIR(st.st_mode))
      return berr_setc(err, ENOTDIR, "hostPath type check failed: %s is not a directory", path);
  } else if (!strcmp(type, "FileOrCreate")) {
    if (!exists) {
      int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd < 0)
        return berr_set(err, errno, "create %s", path);
      close(fd);
    } else if (!S_ISREG(st.st_mode)) {
      return berr_setc(err, EINVAL, "hostPath type check failed: %s is not a file", path);
    }
  } else if (*type) {
    static const struct {
      const char *type;
      mode_t fmt;
      const char *what;
    } checks[] = { { "Directory", S_IFDIR, "a directory" },
                   { "File", S_IFREG, "a file" },
                   { "Socket", S_IFSOCK, "a socket" },
                   { "CharDevice", S_IFCHR, "a character device" },
                   { "BlockDevice", S_IFBLK, "a block device" } };
    size_t i = 0;
    while (i < ARRAY_SIZE(checks) && strcmp(checks[i].type, type))
      i++;
    if (i == ARRAY_SIZE(checks))
      return berr_setc(err, EINVAL, "hostPath: unknown type \"%s\"", type);
    if (!exists || (st.st_mode & S_IFMT) != checks[i].fmt)
      return berr_setc(err, ENOENT, "hostPath type check failed: %s is not %s", path,
                       checks[i].what);
  } else if (!exists) {
    /* No type: mounted as it is; docker would create it, the kubelet does
     * not check. Make a directory so the bind has a source. */
    if (fs_mkdir_p(path, 0755, err) < 0)
      return -1;
  }
  return 0;
}

int pod_volumes_up(pod_mgr_t *m, pod_t *p, berr_t *err)
{
  size_t i;
  json_t *v;
  /* Unsupported kinds first: nothing is made for a pod that cannot run. */
  json_array_foreach(json_object_get(p->spec, "volumes"), i, v)
  {
    const char *kind = vol_kind(v);
    bool ok = false;
    for (size_t k = 0; k < ARRAY_SIZE(supported); k++)
      ok |= !strcmp(kind, supported[k]);
    if (!ok)
      return berr_setc(err, EINVAL,
                       "volume \"%s\": %s volumes are not supported by berth (emptyDir, hostPath, "
                       "configMap, secret, downwardAPI, projected)",
                       json_str(v, "name") ?: "", kind);
  }
  json_array_foreach(json_object_get(p->spec, "volumes"), i, v)
  {
    const char *name = json_str(v, "name") ?: "";
    if (!rel_path_ok(name) || strchr(name, '/'))
      return berr_setc(err, EINVAL, "invalid volume name \"%s\"", name);
    const char *kind = vol_kind(v);
    json_t *src = json_object_get(v, kind);
    cleanup_free char *dir = vol_dir(p, v);
    int r;
    if (!strcmp(kind, "emptyDir"))
      r = empty_dir(src, dir, err);
    else if (!strcmp(kind, "hostPath"))
      r = host_path(src, err);
    else
      r = fs_mkdir_p(dir, 0755, err) < 0 ? -1 : make_files(m, p, kind, src, dir, err);
    if (r < 0)
      return berr_wrap(err, "MountVolume.SetUp failed for volume \"%s\"", name);
  }
  return 0;
}

void pod_volumes_down(pod_t *p)
{
  /* What is there, not what the spec says: also for a stray directory. */
  cleanup_free char *vols = path_join(p->dir, "volumes");
  cleanup_dir DIR *d = opendir(vols);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    cleanup_free char *dir = path_join(vols, de->d_name);
    while (is_mount_root(dir) && umount2(dir, MNT_DETACH) == 0)
      ;
  }
}

static json_t *find_volume(pod_t *p, const char *name)
{
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(p->spec, "volumes"), i,
                     v) if (!strcmp(json_str(v, "name") ?: "", name)) return v;
  return NULL;
}

int pod_volume_binds(pod_t *p, json_t *ctr, engine_bind **binds, size_t *n, berr_t *err)
{
  json_t *mounts = json_object_get(ctr, "volumeMounts");
  engine_bind *b = xcalloc(json_array_size(mounts) + 2, sizeof *b);
  size_t cnt = 0, i;
  json_t *vm;
  json_array_foreach(mounts, i, vm)
  {
    const char *name = json_str(vm, "name") ?: "", *path = json_str(vm, "mountPath");
    json_t *v = find_volume(p, name);
    if (!v || !path || path[0] != '/') {
      for (size_t k = 0; k < cnt; k++)
        engine_bind_free(&b[k]);
      free(b);
      return berr_setc(err, EINVAL,
                       !v ? "volumeMount %s: no volume of that name"
                          : "volumeMount %s: mountPath must be absolute",
                       name);
    }
    const char *kind = vol_kind(v);
    char *host = !strcmp(kind, "hostPath") ? xstrdup(json_str(json_object_get(v, kind), "path"))
                                           : vol_dir(p, v);
    const char *sub = json_str(vm, "subPath");
    if (sub && *sub) {
      if (!rel_path_ok(sub)) {
        free(host);
        for (size_t k = 0; k < cnt; k++)
          engine_bind_free(&b[k]);
        free(b);
        return berr_setc(err, EINVAL, "volumeMount %s: invalid subPath \"%s\"", name, sub);
      }
      char *full = path_join(host, sub);
      free(host);
      host = full;
      if (!fs_exists(host))
        fs_mkdir_p(host, 0755, NULL); /* the kubelet makes a missing subPath too */
    }
    b[cnt].host = host;
    b[cnt].ctr = xstrdup(path);
    b[cnt].ro = json_bool(vm, "readOnly", false) || is_file_kind(kind);
    cnt++;
  }
  *binds = b;
  *n = cnt;
  return 0;
}
