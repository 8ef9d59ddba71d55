/* spec.c — from an image config and the user's options to an OCI config.
 *
 * Docker's rules, so that images behave as their authors expect: the
 * command is Entrypoint + Cmd (arguments after the image replace Cmd, and
 * --entrypoint drops the image's Cmd); Env is the image's with -e applied
 * on top, PATH added when missing, HOSTNAME and HOME set; WorkingDir and
 * User come from the image unless -w / -u say otherwise; a user name is
 * looked up in the image's own /etc/passwd, never the host's.
 *
 * Everything here is pure apart from reading the image's passwd and group
 * files, so the unit tests exercise it without containers. */
#include "engine/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#define DEFAULT_PATH    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MIN_MEMORY      (6 << 20)
#define CPU_PERIOD_US   100000
#define PASSWD_MAX_SIZE (4u << 20)
#define MIN_SHARES      2
#define MAX_SHARES      262144

/* ---- parsing user input -------------------------------------------------- */

void engine_bind_free(engine_bind *b)
{
  if (!b)
    return;
  free(b->host);
  free(b->ctr);
  b->host = b->ctr = NULL;
}

int engine_parse_bind(const char *spec, engine_bind *out, berr_t *err)
{
  *out = (engine_bind){ 0 };
  cleanup_free char *s = xstrdup(spec);
  char *parts[4] = { 0 }; /* one more than allowed, to notice extra fields */
  size_t n = 0;
  for (char *p = s, *tok; (tok = strsep(&p, ":"));) {
    if (n == ARRAY_SIZE(parts))
      return berr_setc(err, EINVAL, "invalid volume \"%s\": expected HOST:CONTAINER[:ro]", spec);
    parts[n++] = tok;
  }
  if (n < 2 || n > 3 || !*parts[0] || !*parts[1])
    return berr_setc(err, EINVAL, "invalid volume \"%s\": expected HOST:CONTAINER[:ro]", spec);
  bool ro = false;
  if (n == 3) {
    if (!strcmp(parts[2], "ro"))
      ro = true;
    else if (strcmp(parts[2], "rw"))
      return berr_setc(err, EINVAL, "invalid volume \"%s\": unknown mode \"%s\" (ro or rw)", spec,
                       parts[2]);
  }
  if (parts[0][0] != '/')
    return berr_setc(err, EINVAL,
                     "invalid volume \"%s\": host path %s must be absolute (named volumes are not "
                     "supported)",
                     spec, parts[0]);
  if (parts[1][0] != '/')
    return berr_setc(err, EINVAL, "invalid volume \"%s\": container path %s must be absolute", spec,
                     parts[1]);
  if (!strcmp(parts[1], "/"))
    return berr_setc(err, EINVAL, "invalid volume \"%s\": cannot mount over the container's /",
                     spec);
  struct stat st;
  if (stat(parts[0], &st) < 0)
    return berr_set(err, errno, "invalid volume \"%s\": host path %s", spec, parts[0]);
  out->host = xstrdup(parts[0]);
  out->ctr = xstrdup(parts[1]);
  out->ro = ro;
  return 0;
}

void eng_console_size(json_t *proc, bool tty, uint16_t rows, uint16_t cols)
{
  if (tty && rows && cols)
    json_object_set_new(proc, "consoleSize",
                        json_pack("{s:i,s:i}", "height", (int)rows, "width", (int)cols));
}

int engine_parse_memory(const char *s, int64_t *bytes, berr_t *err)
{
  int64_t v;
  if (parse_size(s, &v, err) < 0)
    return berr_wrap(err, "--memory");
  if (v < MIN_MEMORY)
    return berr_setc(err, EINVAL, "--memory %s is too small: the minimum is 6m", s);
  *bytes = v;
  return 0;
}

int engine_parse_cpus(const char *s, int64_t *nano_cpus, berr_t *err)
{
  char *end = NULL;
  errno = 0;
  double v = s && *s ? strtod(s, &end) : NAN;
  if (!s || !*s || errno || *end || !isfinite(v))
    return berr_setc(err, EINVAL, "invalid --cpus \"%s\": expected a number such as 0.5 or 2",
                     s ? s : "");
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu < 1)
    ncpu = 1;
  if (v <= 0)
    return berr_setc(err, EINVAL, "invalid --cpus %s: must be greater than 0", s);
  if (v > (double)ncpu)
    return berr_setc(err, EINVAL, "invalid --cpus %s: this machine has only %ld CPUs", s, ncpu);
  int64_t nano = (int64_t)(v * 1e9 + 0.5);
  /* The kernel's smallest CFS quota is 1 ms per 100 ms period. */
  if (nano < 10000000)
    return berr_setc(err, EINVAL, "invalid --cpus %s: the minimum is 0.01", s);
  *nano_cpus = nano;
  return 0;
}

/* Rotation renames every kept file: keep that loop short. */
#define MAX_LOG_FILES 1000

int engine_parse_log_opts(char *const *opts, int64_t *max_bytes, int *max_files, berr_t *err)
{
  for (size_t i = 0; opts && opts[i]; i++) {
    const char *o = opts[i], *eq = strchr(o, '=');
    if (!eq || eq == o)
      return berr_setc(err, EINVAL, "invalid --log-opt \"%s\": expected KEY=VALUE", o);
    const char *v = eq + 1;
    size_t klen = (size_t)(eq - o);
    int64_t n = 0;
    if (klen == 8 && !strncmp(o, "max-size", klen)) {
      if (parse_size(v, &n, NULL) < 0 || n <= 0)
        return berr_setc(err, EINVAL,
                         "invalid --log-opt %s: max-size must be a size greater than 0, e.g. 10m",
                         o);
      *max_bytes = n;
    } else if (klen == 8 && !strncmp(o, "max-file", klen)) {
      if (parse_int64(v, &n, NULL) < 0 || n < 1 || n > MAX_LOG_FILES)
        return berr_setc(err, EINVAL,
                         "invalid --log-opt %s: max-file must be a number of files from 1 to %d "
                         "(the current one included)",
                         o, MAX_LOG_FILES);
      *max_files = (int)n - 1; /* the monitor counts the rotated ones */
    } else {
      return berr_setc(err, EINVAL, "unknown log option \"%.*s\" (max-size, max-file)", (int)klen,
                       o);
    }
  }
  return 0;
}

int engine_name_check(const char *name, berr_t *err)
{
  size_t n = name ? strlen(name) : 0;
  bool ok = n > 0 && n <= 128;
  for (size_t i = 0; ok && i < n; i++) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    ok = alnum || (i > 0 && (c == '_' || c == '.' || c == '-'));
  }
  if (!ok)
    return berr_setc(err, EINVAL,
                     "invalid container name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-]* (at most "
                     "128 characters) is allowed",
                     name ? name : "");
  return 0;
}

/* ---- command and environment --------------------------------------------- */

static int img_strv(json_t *cfg, const char *key, char ***out, berr_t *err)
{
  if (json_to_strv(json_object_get(cfg, key), out, err) < 0)
    return berr_wrap(err, "image config %s", key);
  return 0;
}

int eng_merge_command(json_t *img_config, const engine_create_opts *o, char ***entrypoint,
                      char ***cmd, berr_t *err)
{
  cleanup_strv char **ep = NULL, **c = NULL;
  if (o->entrypoint) {
    ep = strv_dup(o->entrypoint);
  } else if (img_strv(img_config, "Entrypoint", &ep, err) < 0) {
    return -1;
  }
  if (o->cmd && o->cmd[0])
    c = strv_dup(o->cmd);
  else if (!o->entrypoint && img_strv(img_config, "Cmd", &c, err) < 0)
    return -1;
  if (!ep)
    ep = xcalloc(1, sizeof *ep);
  if (!c)
    c = xcalloc(1, sizeof *c);
  if (!ep[0] && !c[0])
    return berr_setc(err, EINVAL,
                     "no command specified: the image has no Entrypoint or Cmd, give one after "
                     "the image name");
  *entrypoint = steal_ptr(ep);
  *cmd = steal_ptr(c);
  return 0;
}

/* Replaces KEY=… in env or appends kv. */
static void env_set(char ***env, const char *kv)
{
  const char *eq = strchr(kv, '=');
  size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
  for (size_t i = 0; *env && (*env)[i]; i++) {
    if (!strncmp((*env)[i], kv, klen) && (*env)[i][klen] == '=') {
      free((*env)[i]);
      (*env)[i] = xstrdup(kv);
      return;
    }
  }
  strv_push(env, kv);
}

static bool env_has(char **env, const char *key)
{
  size_t klen = strlen(key);
  for (size_t i = 0; env && env[i]; i++)
    if (!strncmp(env[i], key, klen) && env[i][klen] == '=')
      return true;
  return false;
}

/* ---- users from the image's /etc/passwd and /etc/group ------------------- */

/* Reads etc/NAME from the top-most layer that has it. A whiteout, or an
 * opaque etc/, in a higher layer hides the lower ones. *data = NULL when no
 * layer has the file. Paths resolve inside each layer (RESOLVE_IN_ROOT), so
 * a symlink in an image cannot point at the host's files. */
static int layers_read_etc(char *const *layers, const char *name, char **data, berr_t *err)
{
  *data = NULL;
  size_t n = strv_len(layers);
  cleanup_free char *rel = xasprintf("etc/%s", name);
  for (size_t i = n; i-- > 0;) {
    cleanup_close int dfd = open(layers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
      return berr_set(err, errno, "open layer %s", layers[i]);
    struct stat st;
    if (fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0)
      return 0; /* whiteout */
    struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    cleanup_close int fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof how);
    if (fd >= 0) {
      if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
      if ((size_t)st.st_size > PASSWD_MAX_SIZE)
        return berr_setc(err, EFBIG, "%s/%s is larger than %u bytes", layers[i], rel,
                         PASSWD_MAX_SIZE);
      cleanup_free char *path = xasprintf("/proc/self/fd/%d", fd);
      return fs_read_file(path, PASSWD_MAX_SIZE, data, NULL, err);
    }
    char opaque[2] = { 0 };
    cleanup_free char *etc = path_join(layers[i], "etc");
    if (lgetxattr(etc, "trusted.overlay.opaque", opaque, 1) == 1 && opaque[0] == 'y')
      return 0;
  }
  return 0;
}

/* Splits one line of a colon-separated file into at most max fields. */
static size_t split_fields(char *line, char **f, size_t max)
{
  size_t n = 0;
  for (char *p = line, *tok; n < max && (tok = strsep(&p, ":"));)
    f[n++] = tok;
  return n;
}

static bool parse_id(const char *s, uint32_t *out)
{
  int64_t v;
  if (parse_int64(s, &v, NULL) < 0 || v < 0 || v > 0xfffffffeLL)
    return false;
  *out = (uint32_t)v;
  return true;
}

int engine_resolve_user(char *const *layer_dirs, const char *user, uint32_t *uid, uint32_t *gid,
                        char ***extra_gids, char **home, berr_t *err)
{
  *uid = *gid = 0;
  *home = NULL;
  *extra_gids = NULL;
  if (!user || !*user) {
    *home = xstrdup("/root");
    return 0;
  }
  cleanup_free char *dir = NULL; /* handed out through *home on success only */
  cleanup_strv char **groups = NULL;
  cleanup_free char *u = xstrdup(user);
  char *grp = strchr(u, ':');
  if (grp)
    *grp++ = '\0';
  if (!*u || (grp && !*grp))
    return berr_setc(err, EINVAL, "invalid user \"%s\": expected USER[:GROUP] or UID[:GID]", user);

  cleanup_free char *passwd = NULL, *group = NULL;
  if (layers_read_etc(layer_dirs, "passwd", &passwd, err) < 0
      || layers_read_etc(layer_dirs, "group", &group, err) < 0)
    return berr_wrap(err, "user %s", user);

  bool numeric = parse_id(u, uid);
  bool found = false;
  cleanup_free char *name = NULL;
  for (char *p = passwd, *line; p && (line = strsep(&p, "\n"));) {
    char *f[7];
    if (split_fields(line, f, 7) < 7)
      continue;
    uint32_t fuid, fgid;
    if (!parse_id(f[2], &fuid) || !parse_id(f[3], &fgid))
      continue;
    if (numeric ? fuid == *uid : !strcmp(f[0], u)) {
      *uid = fuid;
      *gid = fgid;
      dir = xstrdup(f[5]);
      name = xstrdup(f[0]);
      found = true;
      break;
    }
  }
  if (!numeric && !found)
    return berr_setc(err, ENOENT,
                     "unable to find user %s: no matching entries in the image's "
                     "/etc/passwd",
                     u);

  if (grp) {
    if (!parse_id(grp, gid)) {
      bool gfound = false;
      cleanup_free char *gcopy = group ? xstrdup(group) : NULL;
      for (char *p = gcopy, *line; p && (line = strsep(&p, "\n"));) {
        char *f[4];
        uint32_t g;
        if (split_fields(line, f, 4) >= 3 && !strcmp(f[0], grp) && parse_id(f[2], &g)) {
          *gid = g;
          gfound = true;
          break;
        }
      }
      if (!gfound)
        return berr_setc(err, ENOENT,
                         "unable to find group %s: no matching entries in the image's /etc/group",
                         grp);
    }
  }
  /* Supplementary groups: those listing the user by name. */
  for (char *p = group, *line; name && p && (line = strsep(&p, "\n"));) {
    char *f[4];
    uint32_t g;
    if (split_fields(line, f, 4) < 4 || !parse_id(f[2], &g) || g == *gid)
      continue;
    for (char *q = f[3], *m; (m = strsep(&q, ","));) {
      if (!strcmp(m, name)) {
        cleanup_free char *gs = xasprintf("%u", g);
        strv_push(&groups, gs);
        break;
      }
    }
  }
  *home = dir ? steal_ptr(dir) : xstrdup(*uid == 0 ? "/root" : "/");
  *extra_gids = steal_ptr(groups);
  return 0;
}

/* ---- the OCI config -------------------------------------------------------- */

static json_t *obj_child(json_t *parent, const char *key)
{
  json_t *c = json_object_get(parent, key);
  if (!json_is_object(c)) {
    c = json_object();
    json_object_set_new(parent, key, c);
  }
  return c;
}

/* "top:…:bottom" for overlayfs, which wants the top-most layer first. */
static int lowerdir_spec(char *const *layers, const char *bundle, char **out, berr_t *err)
{
  buf_t b = { 0 };
  size_t n = strv_len(layers);
  for (size_t i = n; i-- > 0;) {
    if (strpbrk(layers[i], ":,")) {
      buf_free(&b);
      return berr_setc(err, EINVAL, "layer path %s contains ':' or ',' (overlayfs cannot use it)",
                       layers[i]);
    }
    buf_printf(&b, "%s%s", b.len ? ":" : "", layers[i]);
  }
  if (n == 0) /* an image without layers: overlayfs still wants a lower dir */
    buf_printf(&b, "%s/empty", bundle);
  *out = buf_steal(&b);
  return 0;
}

/* A pod's containers join its namespaces (by path) or the host's network
 * namespace (by leaving "network" out of the list, as OCI says). */
static int set_namespaces(json_t *linux_, const engine_create_opts *o, berr_t *err)
{
  const struct {
    const char *type, *path;
  } join[] = { { "network", o->host_network ? NULL : o->netns },
               { "ipc", o->ipcns },
               { "uts", o->utsns } };
  for (size_t k = 0; k < ARRAY_SIZE(join); k++)
    if (join[k].path && join[k].path[0] != '/')
      return berr_setc(err, EINVAL, "%s namespace path %s must be absolute", join[k].type,
                       join[k].path);
  json_t *nss = json_object_get(linux_, "namespaces");
  for (size_t i = 0; i < json_array_size(nss);) {
    json_t *n = json_array_get(nss, i);
    const char *type = json_str(n, "type");
    if (type && !strcmp(type, "network") && o->host_network) {
      json_array_remove(nss, i);
      continue;
    }
    for (size_t k = 0; type && k < ARRAY_SIZE(join); k++)
      if (join[k].path && !strcmp(type, join[k].type))
        json_object_set_new(n, "path", json_string(join[k].path));
    i++;
  }
  return 0;
}

int engine_build_config(json_t *img_config, char *const *layer_dirs, const engine_create_opts *o,
                        const char *id, const char *bundle, const char *rootfs, json_t **oci_out,
                        berr_t *err)
{
  if (img_config && !json_is_object(img_config))
    img_config = NULL;
  cleanup_json json_t *oci = rt_default_config();
  json_t *proc = obj_child(oci, "process");

  cleanup_strv char **ep = NULL, **cmd = NULL;
  if (eng_merge_command(img_config, o, &ep, &cmd, err) < 0)
    return -1;
  cleanup_strv char **args = strv_dup(ep);
  for (size_t i = 0; cmd[i]; i++)
    strv_push(&args, cmd[i]);
  json_object_set_new(proc, "args", strv_to_json(args));

  const char *user = o->user ? o->user : json_str(img_config, "User");
  uint32_t uid, gid;
  cleanup_strv char **gids = NULL;
  cleanup_free char *home = NULL;
  if (engine_resolve_user(layer_dirs, user, &uid, &gid, &gids, &home, err) < 0)
    return -1;
  json_t *ju = json_pack("{s:I,s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid);
  if (gids) {
    json_t *a = json_array();
    for (size_t i = 0; gids[i]; i++)
      json_array_append_new(a, json_integer(strtoll(gids[i], NULL, 10)));
    json_object_set_new(ju, "additionalGids", a);
  }
  json_object_set_new(proc, "user", ju);

  const char *cwd = o->workdir ? o->workdir : json_str(img_config, "WorkingDir");
  if (!cwd || !*cwd)
    cwd = "/";
  if (cwd[0] != '/')
    return berr_setc(err, EINVAL, "working directory %s must be absolute", cwd);
  json_object_set_new(proc, "cwd", json_string(cwd));

  cleanup_free char *host = o->hostname ? xstrdup(o->hostname) : xstrndup(id, 12);
  if (o->utsns)
    json_object_del(oci, "hostname"); /* the joined namespace's own */
  else
    json_object_set_new(oci, "hostname", json_string(host));

  cleanup_strv char **env = NULL;
  if (img_strv(img_config, "Env", &env, err) < 0)
    return -1;
  if (!env_has(env, "PATH"))
    env_set(&env, "PATH=" DEFAULT_PATH);
  cleanup_free char *hn = xasprintf("HOSTNAME=%s", host);
  env_set(&env, hn);
  if (!env_has(env, "HOME")) {
    cleanup_free char *h = xasprintf("HOME=%s", home);
    env_set(&env, h);
  }
  if (o->tty && !env_has(env, "TERM"))
    env_set(&env, "TERM=xterm");
  for (size_t i = 0; o->env && o->env[i]; i++) {
    const char *eq = strchr(o->env[i], '=');
    if (!eq || eq == o->env[i])
      return berr_setc(err, EINVAL, "invalid environment variable \"%s\": expected KEY=VALUE",
                       o->env[i]);
    env_set(&env, o->env[i]);
  }
  json_object_set_new(proc, "env", strv_to_json(env));
  json_object_set_new(proc, "terminal", json_boolean(o->tty));
  eng_console_size(proc, o->tty, o->console_rows, o->console_cols);

  json_t *root = obj_child(oci, "root");
  json_object_set_new(root, "path", json_string(rootfs ? rootfs : "rootfs"));
  json_object_set_new(root, "readonly", json_boolean(o->read_only));

  json_t *mounts = json_object_get(oci, "mounts");
  if (!json_is_array(mounts)) {
    mounts = json_array();
    json_object_set_new(oci, "mounts", mounts);
  }
  for (size_t i = 0; i < o->n_binds; i++) {
    const engine_bind *b = &o->binds[i];
    json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s,s]}", "destination", b->ctr,
                                            "type", "bind", "source", b->host, "options", "rbind",
                                            "rprivate", b->ro ? "ro" : "rw"));
  }

  json_t *linux_ = obj_child(oci, "linux");
  json_t *res = obj_child(linux_, "resources");
  if (o->memory > 0) {
    if (o->memory < MIN_MEMORY)
      return berr_setc(err, EINVAL, "memory limit %lld is too small: the minimum is 6m",
                       (long long)o->memory);
    /* swap = limit: no swap on top of the limit, so a hog is OOM-killed
     * instead of swapping (docker's --memory-swap equal to --memory). */
    json_t *m = obj_child(res, "memory");
    json_object_set_new(m, "limit", json_integer(o->memory));
    json_object_set_new(m, "swap", json_integer(o->memory));
  }
  if (o->nano_cpus > 0) {
    json_t *c = obj_child(res, "cpu");
    json_object_set_new(c, "quota", json_integer(o->nano_cpus * CPU_PERIOD_US / 1000000000));
    json_object_set_new(c, "period", json_integer(CPU_PERIOD_US));
  }
  if (o->pids_limit > 0)
    json_object_set_new(obj_child(res, "pids"), "limit", json_integer(o->pids_limit));
  if (o->cpu_shares) {
    if (o->cpu_shares < MIN_SHARES || o->cpu_shares > MAX_SHARES)
      return berr_setc(err, EINVAL, "cpu shares %lld out of range (%d to %d)",
                       (long long)o->cpu_shares, MIN_SHARES, MAX_SHARES);
    json_object_set_new(obj_child(res, "cpu"), "shares", json_integer(o->cpu_shares));
  }
  if (set_namespaces(linux_, o, err) < 0)
    return -1;
  if (o->cgroup_parent) {
    const char *p = o->cgroup_parent;
    while (*p == '/')
      p++;
    size_t n = strlen(p);
    while (n > 0 && p[n - 1] == '/')
      n--;
    if (!n || strchr(o->cgroup_parent, ':') || strstr(o->cgroup_parent, ".."))
      return berr_setc(err, EINVAL, "invalid cgroup parent \"%s\"", o->cgroup_parent);
    json_object_set_new(linux_, "cgroupsPath", json_sprintf("/%.*s/%s", (int)n, p, id));
  }

  json_t *ann = obj_child(oci, "annotations");
  cleanup_free char *lower = NULL;
  if (lowerdir_spec(layer_dirs, bundle, &lower, err) < 0)
    return -1;
  cleanup_free char *upper = path_join(bundle, "upper");
  cleanup_free char *work = path_join(bundle, "work");
  json_object_set_new(ann, "berth.overlay.lowerdir", json_string(lower));
  json_object_set_new(ann, "berth.overlay.upperdir", json_string(upper));
  json_object_set_new(ann, "berth.overlay.workdir", json_string(work));
  if (o->init)
    json_object_set_new(ann, "berth.init", json_string("true"));
  if (o->auto_remove)
    json_object_set_new(ann, "berth.autoremove", json_string("true"));

  *oci_out = steal_ptr(oci);
  return 0;
}
