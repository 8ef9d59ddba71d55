/* spec.c — parses and validates config.json into an rt_spec (spec.h).
 *
 * Everything that can be wrong in a config is found here, in the parent,
 * before a process or a cgroup exists: the error names the field as it is
 * written in the file ("mounts[3].destination: must be an absolute path")
 * so that the user can go straight to it. What the kernel alone can judge
 * (a missing mount source, an unknown user) is reported by the child. */
#include "runtime/spec.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

/* ---- small typed readers ------------------------------------------------------ */

/* *out = the string at key, or NULL when absent; a non-string is an error. */
static int get_str(json_t *obj, const char *key, const char *field, const char **out, berr_t *err)
{
  json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (!v || json_is_null(v))
    return 0;
  if (!json_is_string(v))
    return berr_setc(err, EINVAL, "%s%s: must be a string", field, key);
  *out = json_string_value(v);
  return 0;
}

static int get_u32(json_t *obj, const char *key, const char *field, uint32_t max, uint32_t dflt,
                   uint32_t *out, berr_t *err)
{
  json_t *v = json_object_get(obj, key);
  *out = dflt;
  if (!v || json_is_null(v))
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (json_int_t)max)
    return berr_setc(err, EINVAL, "%s%s: must be an integer between 0 and %u", field, key, max);
  *out = (uint32_t)json_integer_value(v);
  return 0;
}

static int get_bool(json_t *obj, const char *key, const char *field, bool dflt, bool *out,
                    berr_t *err)
{
  json_t *v = json_object_get(obj, key);
  *out = dflt;
  if (!v || json_is_null(v))
    return 0;
  if (!json_is_boolean(v))
    return berr_setc(err, EINVAL, "%s%s: must be true or false", field, key);
  *out = json_is_true(v);
  return 0;
}

/* An optional object (NULL when absent). */
static int get_obj(json_t *obj, const char *key, const char *field, json_t **out, berr_t *err)
{
  json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (!v || json_is_null(v))
    return 0;
  if (!json_is_object(v))
    return berr_setc(err, EINVAL, "%s%s: must be an object", field, key);
  *out = v;
  return 0;
}

static int get_strv(json_t *obj, const char *key, const char *field, char ***out, berr_t *err)
{
  if (json_to_strv(json_object_get(obj, key), out, err) < 0)
    return berr_wrap(err, "%s%s", field, key);
  return 0;
}

static bool path_is_clean_abs(const char *p)
{
  if (p[0] != '/')
    return false;
  for (const char *s = p; (s = strstr(s, "..")); s += 2)
    if ((s == p || s[-1] == '/') && (s[2] == '/' || s[2] == '\0'))
      return false;
  return true;
}

/* ---- process --------------------------------------------------------------------- */

static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {
  { "RLIMIT_AS", RLIMIT_AS },
  { "RLIMIT_CORE", RLIMIT_CORE },
  { "RLIMIT_CPU", RLIMIT_CPU },
  { "RLIMIT_DATA", RLIMIT_DATA },
  { "RLIMIT_FSIZE", RLIMIT_FSIZE },
  { "RLIMIT_LOCKS", RLIMIT_LOCKS },
  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
  { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
  { "RLIMIT_NICE", RLIMIT_NICE },
  { "RLIMIT_NOFILE", RLIMIT_NOFILE },
  { "RLIMIT_NPROC", RLIMIT_NPROC },
  { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
  { "RLIMIT_RTTIME", RLIMIT_RTTIME },
  { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
  { "RLIMIT_STACK", RLIMIT_STACK },
};

int spec_rlimit_resource(const char *name)
{
  for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
    if (!strcmp(rlimit_names[i].name, name))
      return rlimit_names[i].resource;
  return -1;
}

const char *spec_rlimit_name(int resource)
{
  for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
    if (rlimit_names[i].resource == resource)
      return rlimit_names[i].name;
  return "RLIMIT_?";
}

static int parse_cap_set(json_t *caps, const char *key, uint64_t *out, berr_t *err)
{
  json_t *arr = json_object_get(caps, key);
  *out = 0;
  if (!arr || json_is_null(arr))
    return 0;
  if (!json_is_array(arr))
    return berr_setc(err, EINVAL, "process.capabilities.%s: must be an array of strings", key);
  cap_value_t last = cap_max_bits(); /* what the running kernel knows */
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e)
  {
    const char *name = json_string_value(e);
    if (!name)
      return berr_setc(err, EINVAL, "process.capabilities.%s[%zu]: must be a string", key, i);
    char lower[64];
    size_t n = strlen(name);
    if (n >= sizeof lower)
      return berr_setc(err, EINVAL, "process.capabilities.%s[%zu]: unknown capability \"%s\"", key,
                       i, name);
    for (size_t k = 0; k <= n; k++)
      lower[k] = (char)(name[k] >= 'A' && name[k] <= 'Z' ? name[k] + 32 : name[k]);
    cap_value_t cap;
    if (!str_has_prefix(lower, "cap_") || cap_from_name(lower, &cap) < 0 || cap < 0 || cap > 63)
      return berr_setc(err, EINVAL, "process.capabilities.%s[%zu]: unknown capability \"%s\"", key,
                       i, name);
    if (cap < last) /* newer than this kernel: nothing to grant */
      *out |= UINT64_C(1) << cap;
  }
  return 0;
}

/* OCI writes "unlimited" as 2^64-1, which a JSON parser may hand over as a
 * real; anything at or above 2^63 is taken as unlimited. */
static int rlimit_value(json_t *v, uint64_t *out)
{
  if (json_is_integer(v) && json_integer_value(v) >= 0) {
    *out = (uint64_t)json_integer_value(v);
    return 0;
  }
  if (json_is_real(v) && json_real_value(v) >= 9.2e18) {
    *out = RLIM_INFINITY;
    return 0;
  }
  return -1;
}

static int parse_rlimits(json_t *arr, rt_process *p, berr_t *err)
{
  if (!arr || json_is_null(arr))
    return 0;
  if (!json_is_array(arr))
    return berr_setc(err, EINVAL, "process.rlimits: must be an array");
  p->rlimits = xcalloc(json_array_size(arr) + 1, sizeof *p->rlimits);
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e)
  {
    const char *type = json_str(e, "type");
    if (!type)
      return berr_setc(err, EINVAL, "process.rlimits[%zu].type: missing", i);
    int res = spec_rlimit_resource(type);
    if (res < 0)
      return berr_setc(err, EINVAL, "process.rlimits[%zu].type: unknown resource \"%s\"", i, type);
    uint64_t s, h;
    if (rlimit_value(json_object_get(e, "soft"), &s) < 0
        || rlimit_value(json_object_get(e, "hard"), &h) < 0)
      return berr_setc(err, EINVAL, "process.rlimits[%zu]: soft and hard must be integers >= 0", i);
    if (s > h)
      return berr_setc(err, EINVAL, "process.rlimits[%zu] (%s): soft %llu is above hard %llu", i,
                       type, (unsigned long long)s, (unsigned long long)h);
    for (size_t k = 0; k < p->n_rlimits; k++)
      if (p->rlimits[k].resource == res)
        return berr_setc(err, EINVAL, "process.rlimits[%zu]: %s given twice", i, type);
    p->rlimits[p->n_rlimits++] = (rt_rlimit){ res, s, h };
  }
  return 0;
}

int spec_parse_process(json_t *proc, rt_process *p, berr_t *err)
{
  memset(p, 0, sizeof *p);
  p->umask = -1;
  if (!json_is_object(proc)) {
    berr_setc(err, EINVAL, "process: missing (an object with at least args)");
    goto fail;
  }
  if (get_strv(proc, "args", "process.", &p->args, err) < 0)
    goto fail;
  if (!p->args || !p->args[0] || !p->args[0][0]) {
    berr_setc(err, EINVAL, "process.args: must be a non-empty array of strings");
    goto fail;
  }
  if (get_strv(proc, "env", "process.", &p->env, err) < 0)
    goto fail;
  for (size_t i = 0; p->env && p->env[i]; i++)
    if (!strchr(p->env[i], '=') || p->env[i][0] == '=') {
      berr_setc(err, EINVAL, "process.env[%zu]: \"%s\" is not of the form NAME=VALUE", i,
                p->env[i]);
      goto fail;
    }
  const char *cwd;
  if (get_str(proc, "cwd", "process.", &cwd, err) < 0)
    goto fail;
  if (cwd && cwd[0] != '/') {
    berr_setc(err, EINVAL, "process.cwd: \"%s\" must be an absolute path", cwd);
    goto fail;
  }
  p->cwd = xstrdup(cwd && *cwd ? cwd : "/");
  if (get_bool(proc, "terminal", "process.", false, &p->terminal, err) < 0
      || get_bool(proc, "noNewPrivileges", "process.", false, &p->no_new_privs, err) < 0)
    goto fail;
  json_t *size;
  uint32_t rows = 0, cols = 0;
  if (get_obj(proc, "consoleSize", "process.", &size, err) < 0
      || (size
          && (get_u32(size, "height", "process.consoleSize.", UINT16_MAX, 0, &rows, err) < 0
              || get_u32(size, "width", "process.consoleSize.", UINT16_MAX, 0, &cols, err) < 0)))
    goto fail;
  p->console_rows = (uint16_t)rows;
  p->console_cols = (uint16_t)cols;

  json_t *user;
  if (get_obj(proc, "user", "process.", &user, err) < 0)
    goto fail;
  if (user) {
    uint32_t um;
    if (get_u32(user, "uid", "process.user.", UINT32_MAX - 1, 0, &p->uid, err) < 0
        || get_u32(user, "gid", "process.user.", UINT32_MAX - 1, 0, &p->gid, err) < 0
        || get_u32(user, "umask", "process.user.", 0777, UINT32_MAX, &um, err) < 0)
      goto fail;
    p->umask = um == UINT32_MAX ? -1 : (int)um;
    json_t *gids = json_object_get(user, "additionalGids");
    if (gids && !json_is_null(gids)) {
      if (!json_is_array(gids)) {
        berr_setc(err, EINVAL, "process.user.additionalGids: must be an array of integers");
        goto fail;
      }
      p->gids = xcalloc(json_array_size(gids) + 1, sizeof *p->gids);
      size_t i;
      json_t *g;
      json_array_foreach(gids, i, g)
      {
        if (!json_is_integer(g) || json_integer_value(g) < 0
            || json_integer_value(g) >= (json_int_t)UINT32_MAX) {
          berr_setc(err, EINVAL, "process.user.additionalGids[%zu]: must be an integer >= 0", i);
          goto fail;
        }
        p->gids[p->n_gids++] = (gid_t)json_integer_value(g);
      }
    }
  }

  json_t *caps;
  if (get_obj(proc, "capabilities", "process.", &caps, err) < 0)
    goto fail;
  if (caps) {
    p->caps.set = true;
    if (parse_cap_set(caps, "bounding", &p->caps.bounding, err) < 0
        || parse_cap_set(caps, "effective", &p->caps.effective, err) < 0
        || parse_cap_set(caps, "permitted", &p->caps.permitted, err) < 0
        || parse_cap_set(caps, "inheritable", &p->caps.inheritable, err) < 0
        || parse_cap_set(caps, "ambient", &p->caps.ambient, err) < 0)
      goto fail;
    /* The kernel refuses an effective or ambient capability that is not
       permitted (and an ambient one not inheritable); runc and crun quietly
       keep what is possible, so does berth. */
    p->caps.effective &= p->caps.permitted;
    p->caps.ambient &= p->caps.permitted & p->caps.inheritable;
  }
  if (parse_rlimits(json_object_get(proc, "rlimits"), p, err) < 0)
    goto fail;
  json_t *oom = json_object_get(proc, "oomScoreAdj");
  if (oom && !json_is_null(oom)) {
    if (!json_is_integer(oom) || json_integer_value(oom) < -1000
        || json_integer_value(oom) > 1000) {
      berr_setc(err, EINVAL, "process.oomScoreAdj: must be an integer between -1000 and 1000");
      goto fail;
    }
    p->has_oom_score_adj = true;
    p->oom_score_adj = (int)json_integer_value(oom);
  }
  return 0;
fail:
  spec_process_free(p);
  return -1;
}

void spec_process_free(rt_process *p)
{
  strv_free(p->args);
  strv_free(p->env);
  free(p->cwd);
  free(p->gids);
  free(p->rlimits);
  memset(p, 0, sizeof *p);
}

/* ---- mounts ---------------------------------------------------------------------- */

static const struct {
  const char *name;
  bool clear;
  unsigned long flag;
} mount_flags[] = {
  { "ro", false, MS_RDONLY },
  { "rw", true, MS_RDONLY },
  { "nosuid", false, MS_NOSUID },
  { "suid", true, MS_NOSUID },
  { "nodev", false, MS_NODEV },
  { "dev", true, MS_NODEV },
  { "noexec", false, MS_NOEXEC },
  { "exec", true, MS_NOEXEC },
  { "sync", false, MS_SYNCHRONOUS },
  { "async", true, MS_SYNCHRONOUS },
  { "dirsync", false, MS_DIRSYNC },
  { "mand", false, MS_MANDLOCK },
  { "nomand", true, MS_MANDLOCK },
  { "noatime", false, MS_NOATIME },
  { "atime", true, MS_NOATIME },
  { "nodiratime", false, MS_NODIRATIME },
  { "diratime", true, MS_NODIRATIME },
  { "relatime", false, MS_RELATIME },
  { "norelatime", true, MS_RELATIME },
  { "strictatime", false, MS_STRICTATIME },
  { "nostrictatime", true, MS_STRICTATIME },
  { "nosymfollow", false, MS_NOSYMFOLLOW },
  { "symfollow", true, MS_NOSYMFOLLOW },
  { "lazytime", false, MS_LAZYTIME },
  { "nolazytime", true, MS_LAZYTIME },
};

static const struct {
  const char *name;
  unsigned long flag;
} propagations[] = {
  { "private", MS_PRIVATE },       { "rprivate", MS_PRIVATE | MS_REC },
  { "shared", MS_SHARED },         { "rshared", MS_SHARED | MS_REC },
  { "slave", MS_SLAVE },           { "rslave", MS_SLAVE | MS_REC },
  { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

static unsigned long propagation_flag(const char *name)
{
  for (size_t i = 0; i < ARRAY_SIZE(propagations); i++)
    if (!strcmp(propagations[i].name, name))
      return propagations[i].flag;
  return 0;
}

static int parse_mount(json_t *j, size_t idx, rt_mount *m, berr_t *err)
{
  if (!json_is_object(j))
    return berr_setc(err, EINVAL, "mounts[%zu]: must be an object", idx);
  const char *dest = json_str(j, "destination");
  if (!dest || !path_is_clean_abs(dest))
    return berr_setc(err, EINVAL,
                     "mounts[%zu].destination: must be an absolute path without \"..\"", idx);
  m->dest = xstrdup(dest);
  const char *type = json_str(j, "type"), *source = json_str(j, "source");
  m->source = source ? xstrdup(source) : NULL;
  buf_t data = { 0 };
  json_t *opts = json_object_get(j, "options");
  if (opts && !json_is_null(opts) && !json_is_array(opts))
    return berr_setc(err, EINVAL, "mounts[%zu].options: must be an array of strings", idx);
  size_t i;
  json_t *o;
  json_array_foreach(opts, i, o)
  {
    const char *opt = json_string_value(o);
    if (!opt) {
      buf_free(&data);
      return berr_setc(err, EINVAL, "mounts[%zu].options[%zu]: must be a string", idx, i);
    }
    bool known = false;
    for (size_t k = 0; k < ARRAY_SIZE(mount_flags) && !known; k++)
      if (!strcmp(mount_flags[k].name, opt)) {
        known = true;
        if (mount_flags[k].clear)
          m->flags &= ~mount_flags[k].flag;
        else
          m->flags |= mount_flags[k].flag;
      }
    if (known)
      continue;
    if (!strcmp(opt, "bind") || !strcmp(opt, "rbind")) {
      m->bind = true;
      m->recursive = opt[0] == 'r';
    } else if (propagation_flag(opt)) {
      m->propagation = propagation_flag(opt);
    } else if (!strcmp(opt, "tmpcopyup") || !strcmp(opt, "remount") || !strcmp(opt, "defaults")) {
      /* tmpcopyup (a crun/runc extension) is not supported: the tmpfs starts
         empty; "remount"/"defaults" mean nothing for a new mount */
    } else {
      if (data.len)
        buf_puts(&data, ",");
      buf_puts(&data, opt);
    }
  }
  m->data = data.len ? buf_steal(&data) : NULL;
  buf_free(&data);
  if (type && !strcmp(type, "bind"))
    m->bind = true;
  if (!type && !m->bind)
    return berr_setc(err, EINVAL, "mounts[%zu] (%s): type missing (and no \"bind\" option)", idx,
                     dest);
  m->type = xstrdup(m->bind ? "bind" : type);
  if (m->bind && (!m->source || !*m->source))
    return berr_setc(err, EINVAL, "mounts[%zu] (%s): a bind mount needs a source", idx, dest);
  return 0;
}

/* ---- namespaces ------------------------------------------------------------------ */

static const struct {
  const char *name, *file;
  int flag;
} ns_types[] = {
  { "pid", "pid", CLONE_NEWPID },    { "network", "net", CLONE_NEWNET },
  { "mount", "mnt", CLONE_NEWNS },   { "ipc", "ipc", CLONE_NEWIPC },
  { "uts", "uts", CLONE_NEWUTS },    { "cgroup", "cgroup", CLONE_NEWCGROUP },
  { "user", "user", CLONE_NEWUSER }, { "time", "time", CLONE_NEWTIME },
};

const char *spec_ns_name(int flag)
{
  for (size_t i = 0; i < ARRAY_SIZE(ns_types); i++)
    if (ns_types[i].flag == flag)
      return ns_types[i].name;
  return NULL;
}

const char *spec_ns_file(int flag)
{
  for (size_t i = 0; i < ARRAY_SIZE(ns_types); i++)
    if (ns_types[i].flag == flag)
      return ns_types[i].file;
  return NULL;
}

static int parse_namespaces(json_t *arr, rt_spec *s, berr_t *err)
{
  if (!arr || json_is_null(arr))
    return 0;
  if (!json_is_array(arr))
    return berr_setc(err, EINVAL, "linux.namespaces: must be an array");
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e)
  {
    const char *type = json_str(e, "type"), *path = json_str(e, "path");
    int flag = 0;
    for (size_t k = 0; type && k < ARRAY_SIZE(ns_types); k++)
      if (!strcmp(ns_types[k].name, type))
        flag = ns_types[k].flag;
    if (!flag)
      return berr_setc(err, EINVAL, "linux.namespaces[%zu].type: unknown namespace type \"%s\"", i,
                       type ? type : "");
    if (flag == CLONE_NEWUSER || flag == CLONE_NEWTIME)
      return berr_setc(err, ENOTSUP, "linux.namespaces[%zu]: %s namespaces are not supported", i,
                       type);
    if (s->ns_listed & flag)
      return berr_setc(err, EINVAL, "linux.namespaces[%zu]: %s given twice", i, type);
    if (path && path[0] != '/')
      return berr_setc(err, EINVAL, "linux.namespaces[%zu].path: \"%s\" must be absolute", i, path);
    s->ns_listed |= flag;
    if (!path || !*path)
      s->ns_create |= flag;
    s->ns[s->n_ns++] = (rt_nsent){ flag, path && *path ? xstrdup(path) : NULL };
  }
  return 0;
}

/* ---- resources, devices, sysctl ----------------------------------------------------- */

static int get_i64(json_t *obj, const char *key, const char *field, int64_t dflt, int64_t *out,
                   berr_t *err)
{
  json_t *v = json_object_get(obj, key);
  *out = dflt;
  if (!v || json_is_null(v))
    return 0;
  if (!json_is_integer(v))
    return berr_setc(err, EINVAL, "%s%s: must be an integer", field, key);
  *out = json_integer_value(v);
  return 0;
}

static int parse_resources(json_t *r, rt_resources *res, berr_t *err)
{
  json_t *mem, *cpu, *pids;
  if (!r)
    return 0;
  if (!json_is_object(r))
    return berr_setc(err, EINVAL, "linux.resources: must be an object");
  if (get_obj(r, "memory", "linux.resources.", &mem, err) < 0
      || get_obj(r, "cpu", "linux.resources.", &cpu, err) < 0
      || get_obj(r, "pids", "linux.resources.", &pids, err) < 0)
    return -1;
  const char *f = "linux.resources.memory.";
  if (get_i64(mem, "limit", f, -1, &res->memory_limit, err) < 0
      || get_i64(mem, "swap", f, -1, &res->memory_swap, err) < 0)
    return -1;
  if (res->memory_limit == 0 || res->memory_limit < -1)
    return berr_setc(err, EINVAL, "%slimit: must be positive (or -1 for unlimited)", f);
  if (res->memory_swap >= 0 && res->memory_limit > 0 && res->memory_swap < res->memory_limit)
    return berr_setc(err, EINVAL, "%sswap: must be at least the memory limit (memory+swap)", f);
  f = "linux.resources.cpu.";
  int64_t period, shares;
  const char *cpus, *mems;
  if (get_i64(cpu, "quota", f, -1, &res->cpu_quota, err) < 0
      || get_i64(cpu, "period", f, 0, &period, err) < 0
      || get_i64(cpu, "shares", f, 0, &shares, err) < 0 || get_str(cpu, "cpus", f, &cpus, err) < 0
      || get_str(cpu, "mems", f, &mems, err) < 0)
    return -1;
  if (res->cpu_quota == 0 || res->cpu_quota < -1)
    return berr_setc(err, EINVAL, "%squota: must be positive (or -1 for unlimited)", f);
  if (period < 0 || (period > 0 && (period < 1000 || period > 1000000)))
    return berr_setc(err, EINVAL, "%speriod: must be between 1000 and 1000000 µs", f);
  if (shares < 0 || (shares > 0 && (shares < 2 || shares > 262144)))
    return berr_setc(err, EINVAL, "%sshares: must be between 2 and 262144", f);
  res->cpu_period = (uint64_t)period;
  res->cpu_shares = (uint64_t)shares;
  res->cpuset_cpus = cpus && *cpus ? xstrdup(cpus) : NULL;
  res->cpuset_mems = mems && *mems ? xstrdup(mems) : NULL;
  if (get_i64(pids, "limit", "linux.resources.pids.", -1, &res->pids_limit, err) < 0)
    return -1;
  json_t *dev = json_object_get(r, "devices");
  if (dev && !json_is_null(dev)) {
    if (!json_is_array(dev))
      return berr_setc(err, EINVAL, "linux.resources.devices: must be an array");
    res->devices = dev;
  }
  return 0;
}

static int parse_devices(json_t *arr, rt_spec *s, berr_t *err)
{
  if (!arr || json_is_null(arr))
    return 0;
  if (!json_is_array(arr))
    return berr_setc(err, EINVAL, "linux.devices: must be an array");
  s->devices = xcalloc(json_array_size(arr) + 1, sizeof *s->devices);
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e)
  {
    rt_device *d = &s->devices[s->n_devices];
    const char *path = json_str(e, "path"), *type = json_str(e, "type");
    if (!path || !path_is_clean_abs(path))
      return berr_setc(err, EINVAL, "linux.devices[%zu].path: must be an absolute path", i);
    if (!type || strlen(type) != 1 || !strchr("cubp", type[0]))
      return berr_setc(err, EINVAL, "linux.devices[%zu].type: must be c, b, u or p", i);
    d->type = type[0] == 'b' ? S_IFBLK : type[0] == 'p' ? S_IFIFO : S_IFCHR;
    char f[48];
    snprintf(f, sizeof f, "linux.devices[%zu].", i);
    if (get_u32(e, "major", f, 4095, 0, &d->major, err) < 0
        || get_u32(e, "minor", f, 1048575, 0, &d->minor, err) < 0
        || get_u32(e, "fileMode", f, 07777, 0666, &d->mode, err) < 0
        || get_u32(e, "uid", f, UINT32_MAX - 1, 0, &d->uid, err) < 0
        || get_u32(e, "gid", f, UINT32_MAX - 1, 0, &d->gid, err) < 0)
      return -1;
    d->path = xstrdup(path);
    s->n_devices++;
  }
  return 0;
}

static int parse_sysctl(json_t *obj, rt_spec *s, berr_t *err)
{
  if (!obj)
    return 0;
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v)
  {
    if (!json_is_string(v))
      return berr_setc(err, EINVAL, "linux.sysctl.%s: must be a string", key);
    if (!*key || key[0] == '.' || key[0] == '/' || strstr(key, "..") || strchr(key, '/'))
      return berr_setc(err, EINVAL, "linux.sysctl: invalid name \"%s\"", key);
    /* Only what belongs to a namespace the container owns can be set. */
    bool ipc = str_has_prefix(key, "kernel.msg") || str_has_prefix(key, "kernel.sem")
               || str_has_prefix(key, "kernel.shm") || str_has_prefix(key, "fs.mqueue.");
    bool uts = !strcmp(key, "kernel.hostname") || !strcmp(key, "kernel.domainname");
    bool net = str_has_prefix(key, "net.");
    if ((ipc && !(s->ns_listed & CLONE_NEWIPC)) || (uts && !(s->ns_listed & CLONE_NEWUTS))
        || (net && !(s->ns_listed & CLONE_NEWNET)) || (!ipc && !uts && !net))
      return berr_setc(err, EPERM,
                       "linux.sysctl.%s: not allowed (only namespaced sysctls of namespaces the "
                       "container has: kernel.msg*, kernel.sem*, kernel.shm*, fs.mqueue.*, net.*)",
                       key);
  }
  s->sysctl = obj;
  return 0;
}

static int parse_paths(json_t *lnx, const char *key, char ***out, berr_t *err)
{
  if (get_strv(lnx, key, "linux.", out, err) < 0)
    return -1;
  for (size_t i = 0; *out && (*out)[i]; i++)
    if (!path_is_clean_abs((*out)[i]))
      return berr_setc(err, EINVAL, "linux.%s[%zu]: \"%s\" must be an absolute path", key, i,
                       (*out)[i]);
  return 0;
}

/* ---- the whole config ------------------------------------------------------------- */

static int parse_annotations(json_t *ann, rt_spec *s, berr_t *err)
{
  if (!ann)
    return 0;
  const char *key;
  json_t *v;
  json_object_foreach(ann, key, v)
  {
    if (!json_is_string(v))
      return berr_setc(err, EINVAL, "annotations.%s: must be a string", key);
  }
  s->annotations = ann;
  const char *lower = json_str(ann, RT_ANN_LOWERDIR), *upper = json_str(ann, RT_ANN_UPPERDIR),
             *work = json_str(ann, RT_ANN_WORKDIR), *init = json_str(ann, RT_ANN_INIT);
  if ((upper && *upper) != (work && *work))
    return berr_setc(err, EINVAL, "annotations: %s and %s go together", RT_ANN_UPPERDIR,
                     RT_ANN_WORKDIR);
  if ((upper && *upper) && !(lower && *lower))
    return berr_setc(err, EINVAL, "annotations: %s needs %s", RT_ANN_UPPERDIR, RT_ANN_LOWERDIR);
  const char *dirs[] = { lower, upper, work };
  for (size_t i = 0; i < 3; i++)
    if (dirs[i] && *dirs[i] && (dirs[i][0] != '/' || strchr(dirs[i], ',')))
      return berr_setc(err, EINVAL, "annotations: \"%s\" must be absolute paths without commas",
                       dirs[i]);
  s->overlay_lower = lower && *lower ? xstrdup(lower) : NULL;
  s->overlay_upper = upper && *upper ? xstrdup(upper) : NULL;
  s->overlay_work = work && *work ? xstrdup(work) : NULL;
  static const char *const flags[] = { RT_ANN_INIT, RT_ANN_AUTOREMOVE };
  for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
    const char *v = json_str(ann, flags[i]);
    if (v && strcmp(v, "true") && strcmp(v, "false"))
      return berr_setc(err, EINVAL, "annotations.%s: must be \"true\" or \"false\"", flags[i]);
  }
  s->init = init && !strcmp(init, "true");
  return 0;
}

int spec_parse(json_t *config, rt_spec *s, berr_t *err)
{
  memset(s, 0, sizeof *s);
  rt_resources_init(&s->res);
  if (!json_is_object(config))
    return berr_setc(err, EINVAL, "not a JSON object");
  const char *ver = json_str(config, "ociVersion");
  if (!ver || !str_has_prefix(ver, "1.")) {
    berr_setc(err, EINVAL, "ociVersion: \"%s\" is not supported (1.x)", ver ? ver : "");
    return -1;
  }
  if (spec_parse_process(json_object_get(config, "process"), &s->proc, err) < 0)
    goto fail;

  json_t *root, *lnx, *ann;
  if (get_obj(config, "root", "", &root, err) < 0 || get_obj(config, "linux", "", &lnx, err) < 0
      || get_obj(config, "annotations", "", &ann, err) < 0)
    goto fail;
  const char *rpath = json_str(root, "path");
  if (!rpath || !*rpath) {
    berr_setc(err, EINVAL, "root.path: missing");
    goto fail;
  }
  s->root_path = xstrdup(rpath);
  if (get_bool(root, "readonly", "root.", false, &s->root_readonly, err) < 0)
    goto fail;

  const char *host, *domain;
  if (get_str(config, "hostname", "", &host, err) < 0
      || get_str(config, "domainname", "", &domain, err) < 0)
    goto fail;
  s->hostname = host ? xstrdup(host) : NULL;
  s->domainname = domain ? xstrdup(domain) : NULL;

  json_t *mounts = json_object_get(config, "mounts");
  if (mounts && !json_is_null(mounts) && !json_is_array(mounts)) {
    berr_setc(err, EINVAL, "mounts: must be an array");
    goto fail;
  }
  s->mounts = xcalloc(json_array_size(mounts) + 1, sizeof *s->mounts);
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m)
  {
    s->n_mounts++;
    if (parse_mount(m, i, &s->mounts[i], err) < 0)
      goto fail;
  }

  if (!lnx) {
    berr_setc(err, EINVAL, "linux: missing");
    goto fail;
  }
  if (parse_namespaces(json_object_get(lnx, "namespaces"), s, err) < 0)
    goto fail;
  if (s->hostname && !(s->ns_create & CLONE_NEWUTS)) {
    berr_setc(err, EINVAL, "hostname: needs a new uts namespace (linux.namespaces)");
    goto fail;
  }
  json_t *res, *sysctl;
  if (get_obj(lnx, "resources", "linux.", &res, err) < 0 || parse_resources(res, &s->res, err) < 0)
    goto fail;
  const char *cgpath;
  if (get_str(lnx, "cgroupsPath", "linux.", &cgpath, err) < 0)
    goto fail;
  if (cgpath && *cgpath) {
    if (strchr(cgpath, ':') || strstr(cgpath, "..")) {
      berr_setc(err, EINVAL,
                "linux.cgroupsPath: \"%s\" is not a cgroup path (systemd slices are "
                "not supported)",
                cgpath);
      goto fail;
    }
    s->cgroups_path = cgpath[0] == '/' ? xstrdup(cgpath) : xasprintf("/%s", cgpath);
  }
  if (get_obj(lnx, "sysctl", "linux.", &sysctl, err) < 0 || parse_sysctl(sysctl, s, err) < 0)
    goto fail;
  if (parse_devices(json_object_get(lnx, "devices"), s, err) < 0)
    goto fail;
  if (parse_paths(lnx, "maskedPaths", &s->masked, err) < 0
      || parse_paths(lnx, "readonlyPaths", &s->readonly, err) < 0)
    goto fail;
  const char *prop;
  if (get_str(lnx, "rootfsPropagation", "linux.", &prop, err) < 0)
    goto fail;
  if (prop && *prop) {
    s->rootfs_propagation = propagation_flag(prop);
    if (!s->rootfs_propagation) {
      berr_setc(err, EINVAL, "linux.rootfsPropagation: unknown value \"%s\"", prop);
      goto fail;
    }
  }
  json_t *sec = json_object_get(lnx, "seccomp");
  if (sec && !json_is_null(sec)) {
    if (!json_is_object(sec)) {
      berr_setc(err, EINVAL, "linux.seccomp: must be an object");
      goto fail;
    }
    s->seccomp = sec;
  }
  if (parse_annotations(ann, s, err) < 0)
    goto fail;
  return 0;
fail:
  spec_free(s);
  return -1;
}

void spec_free(rt_spec *s)
{
  spec_process_free(&s->proc);
  free(s->root_path);
  free(s->hostname);
  free(s->domainname);
  for (size_t i = 0; i < s->n_mounts; i++) {
    free(s->mounts[i].dest);
    free(s->mounts[i].type);
    free(s->mounts[i].source);
    free(s->mounts[i].data);
  }
  free(s->mounts);
  for (size_t i = 0; i < s->n_ns; i++)
    free(s->ns[i].path);
  strv_free(s->masked);
  strv_free(s->readonly);
  free(s->res.cpuset_cpus);
  free(s->res.cpuset_mems);
  free(s->cgroups_path);
  for (size_t i = 0; i < s->n_devices; i++)
    free(s->devices[i].path);
  free(s->devices);
  free(s->overlay_lower);
  free(s->overlay_upper);
  free(s->overlay_work);
  memset(s, 0, sizeof *s);
}
