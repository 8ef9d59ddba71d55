/* cgroup-limits.c — linux.resources written to the kernel's knobs, and the
 * usage read back for `berth container stats`.
 *
 *   limit          v1                                   v2
 *   memory         memory.limit_in_bytes                memory.max
 *   memory+swap    memory.memsw.limit_in_bytes (if any) memory.swap.max (= swap - memory)
 *   cpu quota      cpu.cfs_quota_us, cpu.cfs_period_us  cpu.max "QUOTA PERIOD"
 *   cpu shares     cpu.shares                           cpu.weight (shares mapped)
 *   pids           pids.max                             pids.max
 *   cpuset         cpuset.cpus, cpuset.mems             cpuset.cpus, cpuset.mems
 *
 * Every error names the limit, its value and the knob, so that a user can
 * tell which flag the kernel refused. */
#include "runtime/cgroup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CG_PERIOD_DEFAULT 100000
#define CG_SHARES_MIN     2
#define CG_SHARES_MAX     262144
/* v1 reports "unlimited" as the largest page-aligned int64. */
#define CG_V1_UNLIMITED (1ULL << 62)

int cg_check_resources(const rt_resources *res, berr_t *err)
{
  if (res->cpu_shares && (res->cpu_shares < CG_SHARES_MIN || res->cpu_shares > CG_SHARES_MAX))
    return berr_set(err, EINVAL, "set cpu shares %llu: cpu.shares: must be between %d and %d",
                    (unsigned long long)res->cpu_shares, CG_SHARES_MIN, CG_SHARES_MAX);
  if (res->memory_swap > 0) {
    cleanup_free char *swap = cg_size_str(res->memory_swap);
    if (res->memory_limit <= 0)
      return berr_set(err, EINVAL, "set memory+swap limit %s: needs a memory limit", swap);
    if (res->memory_swap < res->memory_limit) {
      cleanup_free char *mem = cg_size_str(res->memory_limit);
      return berr_set(err, EINVAL,
                      "set memory+swap limit %s: must not be below the memory limit %s", swap, mem);
    }
  }
  return 0;
}

/* ---- v1 ----------------------------------------------------------------- */

static char *trim(char *s)
{
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
    s[--n] = '\0';
  return s;
}

int cg_cpuset_init(const char *dir, const char *cpus, const char *mems, berr_t *err)
{
  const char *knobs[2] = { "cpuset.cpus", "cpuset.mems" };
  const char *values[2] = { cpus, mems };
  const char *what[2] = { "cpuset cpus", "cpuset mems" };
  cleanup_free char *parent = xstrdup(dir);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent)
    *slash = '\0';
  for (int i = 0; i < 2; i++) {
    if (values[i]) {
      if (cg_set(dir, knobs[i], values[i], what[i], values[i], err) < 0)
        return -1;
      continue;
    }
    /* A new v1 cpuset cgroup starts empty and cannot hold a task until it
     * has cpus and mems: take the parent's. */
    cleanup_free char *own = NULL, *inherited = NULL;
    if (cg_read(dir, knobs[i], &own) == 0 && *trim(own))
      continue;
    int r = cg_read(parent, knobs[i], &inherited);
    if (r < 0)
      return berr_set(err, -r, "read %s/%s", parent, knobs[i]);
    if (*trim(inherited) && cg_set(dir, knobs[i], inherited, what[i], inherited, err) < 0)
      return -1;
  }
  return 0;
}

int cg_v1_apply(unsigned ctrls, const char *dir, const rt_resources *res, berr_t *err)
{
  char v[32];
  if ((ctrls & CG_BIT(CG_MEMORY)) && res->memory_limit > 0) {
    cleanup_free char *shown = cg_size_str(res->memory_limit);
    cleanup_free char *swap_shown = NULL;
    char swap[32];
    snprintf(v, sizeof v, "%lld", (long long)res->memory_limit);
    snprintf(swap, sizeof swap, "%lld", (long long)res->memory_swap);
    int r = cg_write(dir, "memory.limit_in_bytes", v);
    /* Lowering memory+swap below an existing memory limit is refused, and so
     * is the reverse: in a reused cgroup, try the other order. */
    if (r == -EINVAL && res->memory_swap > 0
        && cg_write(dir, "memory.memsw.limit_in_bytes", swap) == 0)
      r = cg_write(dir, "memory.limit_in_bytes", v);
    if (r < 0)
      return berr_set(err, -r, "set memory limit %s: memory.limit_in_bytes", shown);
    if (res->memory_swap > 0) {
      r = cg_write(dir, "memory.memsw.limit_in_bytes", swap);
      swap_shown = cg_size_str(res->memory_swap);
      if (r == -ENOENT)
        log_debug("msg=\"no swap accounting, memory+swap limit not set\" dir=%s", dir);
      else if (r < 0)
        return berr_set(err, -r, "set memory+swap limit %s: memory.memsw.limit_in_bytes",
                        swap_shown);
    }
  }
  if (ctrls & CG_BIT(CG_CPU)) {
    if (res->cpu_period) {
      snprintf(v, sizeof v, "%llu", (unsigned long long)res->cpu_period);
      if (cg_set(dir, "cpu.cfs_period_us", v, "cpu period", v, err) < 0)
        return -1;
    }
    if (res->cpu_quota > 0) {
      snprintf(v, sizeof v, "%lld", (long long)res->cpu_quota);
      if (cg_set(dir, "cpu.cfs_quota_us", v, "cpu quota", v, err) < 0)
        return -1;
    }
    if (res->cpu_shares) {
      snprintf(v, sizeof v, "%llu", (unsigned long long)res->cpu_shares);
      if (cg_set(dir, "cpu.shares", v, "cpu shares", v, err) < 0)
        return -1;
    }
  }
  if ((ctrls & CG_BIT(CG_PIDS)) && res->pids_limit > 0) {
    snprintf(v, sizeof v, "%lld", (long long)res->pids_limit);
    if (cg_set(dir, "pids.max", v, "pids limit", v, err) < 0)
      return -1;
  }
  if ((ctrls & CG_BIT(CG_CPUSET))
      && cg_cpuset_init(dir, res->cpuset_cpus, res->cpuset_mems, err) < 0)
    return -1;
  return 0;
}

/* ---- v2 ----------------------------------------------------------------- */

static bool has_word(const char *list, const char *word)
{
  size_t n = strlen(word);
  for (const char *p = list; (p = strstr(p, word)); p += n)
    if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
      return true;
  return false;
}

int cg_v2_enable(const char *mount, const char *path, bool cpuset, berr_t *err)
{
  const char *want[] = { "cpu", "memory", "pids", cpuset ? "cpuset" : NULL };
  /* Every ancestor of PATH, from the root down to its parent. */
  for (const char *end = path;; end = strchr(end + 1, '/')) {
    if (!end)
      break;
    cleanup_free char *prefix = xstrndup(path, (size_t)(end - path));
    cleanup_free char *dir = *prefix ? path_join(mount, prefix) : xstrdup(mount);
    cleanup_free char *avail = NULL, *on = NULL;
    int r = cg_read(dir, "cgroup.controllers", &avail);
    if (r == 0)
      r = cg_read(dir, "cgroup.subtree_control", &on);
    if (r < 0)
      return berr_set(err, -r, "read the controllers of %s", dir);
    buf_t add = { 0 };
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
      if (want[i] && has_word(avail, want[i]) && !has_word(on, want[i]))
        buf_printf(&add, "%s+%s", add.len ? " " : "", want[i]);
    if (add.len) {
      r = cg_write(dir, "cgroup.subtree_control", add.data);
      if (r < 0) {
        berr_set(err, -r, "enable controllers \"%s\" in %s/cgroup.subtree_control", add.data, dir);
        buf_free(&add);
        return -1;
      }
    }
    buf_free(&add);
  }
  return 0;
}

typedef struct v2_ctx {
  const char *mount, *path;
  char *dir;
  bool cpuset, enabled;
} v2_ctx;

/* Writes a knob; when it is missing, enables the controllers in the
 * ancestors (a parent made by someone else, or a new controller) and retries.
 * With optional, a knob that stays missing is skipped. */
static int v2_set(v2_ctx *c, const char *knob, const char *value, const char *what,
                  const char *shown, bool optional, berr_t *err)
{
  int r = cg_write(c->dir, knob, value);
  if (r == -ENOENT && !c->enabled) {
    c->enabled = true;
    if (cg_v2_enable(c->mount, c->path, c->cpuset, err) < 0)
      return berr_wrap(err, "set %s %s", what, shown);
    r = cg_write(c->dir, knob, value);
  }
  if (r == -ENOENT && optional) {
    log_debug("msg=\"knob missing, limit skipped\" knob=%s dir=%s", knob, c->dir);
    return 0;
  }
  if (r < 0)
    return berr_set(err, -r, "set %s %s: %s", what, shown, knob);
  return 0;
}

int cg_v2_apply(const char *mount, const char *path, const rt_resources *res, berr_t *err)
{
  cleanup_free char *dir = path_join(mount, path);
  v2_ctx c = {
    .mount = mount, .path = path, .dir = dir, .cpuset = res->cpuset_cpus || res->cpuset_mems
  };
  char v[64];
  if (res->memory_limit > 0) {
    cleanup_free char *shown = cg_size_str(res->memory_limit);
    snprintf(v, sizeof v, "%lld", (long long)res->memory_limit);
    if (v2_set(&c, "memory.max", v, "memory limit", shown, false, err) < 0)
      return -1;
    if (res->memory_swap > 0) {
      cleanup_free char *swap_shown = cg_size_str(res->memory_swap);
      snprintf(v, sizeof v, "%lld", (long long)(res->memory_swap - res->memory_limit));
      if (v2_set(&c, "memory.swap.max", v, "memory+swap limit", swap_shown, true, err) < 0)
        return -1;
    }
  }
  if (res->cpu_quota > 0 || res->cpu_period) {
    unsigned long long period = res->cpu_period ? res->cpu_period : CG_PERIOD_DEFAULT;
    char quota[32] = "max";
    if (res->cpu_quota > 0)
      snprintf(quota, sizeof quota, "%lld", (long long)res->cpu_quota);
    snprintf(v, sizeof v, "%s %llu", quota, period);
    if (v2_set(&c, "cpu.max", v, res->cpu_quota > 0 ? "cpu quota" : "cpu period",
               res->cpu_quota > 0 ? quota : v + strlen(quota) + 1, false, err)
        < 0)
      return -1;
  }
  if (res->cpu_shares) {
    /* The mapping runc and crun use: shares 2..262144 onto weight 1..10000. */
    uint64_t weight = 1 + ((res->cpu_shares - CG_SHARES_MIN) * 9999) / (CG_SHARES_MAX - 2);
    char shares[32];
    snprintf(v, sizeof v, "%llu", (unsigned long long)weight);
    snprintf(shares, sizeof shares, "%llu", (unsigned long long)res->cpu_shares);
    if (v2_set(&c, "cpu.weight", v, "cpu shares", shares, false, err) < 0)
      return -1;
  }
  if (res->pids_limit > 0) {
    snprintf(v, sizeof v, "%lld", (long long)res->pids_limit);
    if (v2_set(&c, "pids.max", v, "pids limit", v, false, err) < 0)
      return -1;
  }
  if (res->cpuset_cpus
      && v2_set(&c, "cpuset.cpus", res->cpuset_cpus, "cpuset cpus", res->cpuset_cpus, false, err)
             < 0)
    return -1;
  if (res->cpuset_mems
      && v2_set(&c, "cpuset.mems", res->cpuset_mems, "cpuset mems", res->cpuset_mems, false, err)
             < 0)
    return -1;
  return 0;
}

/* ---- stats -------------------------------------------------------------- */

/* Reads a one-number knob; "max" reads as 0 (unlimited). */
static int read_u64(const char *dir, const char *knob, uint64_t *v)
{
  cleanup_free char *text = NULL;
  int r = cg_read(dir, knob, &text);
  if (r < 0)
    return r;
  *v = str_has_prefix(text, "max") ? 0 : strtoull(text, NULL, 10);
  return 0;
}

/* The directory of PATH for a controller: its v1 hierarchy, else the v2
 * tree (only on v2: hybrid's cgroup2 tree has no controller). */
static char *ctrl_dir(const cg_layout_info *L, int ctrl, const char *path, bool *v1)
{
  int h = L->by_ctrl[ctrl];
  *v1 = h >= 0;
  if (h >= 0)
    return path_join(L->v1[h].mount, path);
  if (L->layout == CG_V2 && L->v2)
    return path_join(L->v2, path);
  return NULL;
}

int cg_stats_collect(const cg_layout_info *L, const char *path, rt_stats *out, berr_t *err)
{
  memset(out, 0, sizeof *out);
  bool v1;
  size_t seen = 0;

  cleanup_free char *cpu = ctrl_dir(L, CG_CPUACCT, path, &v1);
  if (cpu && fs_exists(cpu)) {
    seen++;
    if (v1) {
      read_u64(cpu, "cpuacct.usage", &out->cpu_ns);
    } else {
      cleanup_free char *stat = NULL;
      uint64_t usec = 0;
      if (cg_read(cpu, "cpu.stat", &stat) == 0 && cg_keyed_u64(stat, "usage_usec", &usec))
        out->cpu_ns = usec * 1000;
    }
  }

  cleanup_free char *mem = ctrl_dir(L, CG_MEMORY, path, &v1);
  if (mem && fs_exists(mem)) {
    seen++;
    uint64_t usage = 0, inactive = 0, limit = 0;
    cleanup_free char *stat = NULL;
    read_u64(mem, v1 ? "memory.usage_in_bytes" : "memory.current", &usage);
    read_u64(mem, v1 ? "memory.limit_in_bytes" : "memory.max", &limit);
    /* Like docker: page cache the kernel can drop is not "in use". */
    if (cg_read(mem, "memory.stat", &stat) == 0)
      cg_keyed_u64(stat, v1 ? "total_inactive_file" : "inactive_file", &inactive);
    out->mem_bytes = usage > inactive ? usage - inactive : 0;
    out->mem_limit = limit >= CG_V1_UNLIMITED ? 0 : limit;
  }

  cleanup_free char *pids = ctrl_dir(L, CG_PIDS, path, &v1);
  if (pids && fs_exists(pids)) {
    seen++;
    read_u64(pids, "pids.current", &out->pids);
    read_u64(pids, "pids.max", &out->pids_limit);
  }
  if (!seen)
    return berr_set(err, ENOENT, "stats of cgroup %s", path);
  return 0;
}
