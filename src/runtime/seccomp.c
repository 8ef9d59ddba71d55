/* seccomp.c — linux.seccomp of the OCI config, compiled with libseccomp to
 * a classic BPF program in the parent and installed by the child with one
 * seccomp(2) call just before it executes the stub.
 *
 * Compiling Docker's default profile (≈350 rules, three architectures on
 * x86_64, 1208 BPF instructions) takes libseccomp 10-15 ms here — twice a
 * whole container start; crun pays it on every start — while the result
 * depends only on the profile, the architecture and the libseccomp version.
 * Loading it from the cache takes ~50 µs. So the program is cached under
 * ROOT/.seccomp/<hash>.bpf, keyed by a hash of the canonical profile text;
 * the file also holds the full key, compared on load, so a hash collision
 * can never install the wrong filter. The cache lives in the runtime root
 * (root only) and is written by rename, so readers never see half a file.
 *
 * The container spawner also prepares the default profile once, before it
 * forks (sc_preload_default): from the cache, or compiled and cached. Its
 * forks find the program in memory for a profile equal to it, and the
 * first burst of pods on a fresh root does not compile it once per pod
 * that misses the file (~12 ms each). */
#include "runtime/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CACHE_MAGIC "berth-seccomp-bpf-1\n"

static const struct {
  const char *name;
  uint32_t action;
} actions[] = {
  { "SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD },
  { "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD },
  { "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS },
  { "SCMP_ACT_TRAP", SCMP_ACT_TRAP },
  { "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0) },
  { "SCMP_ACT_TRACE", SCMP_ACT_TRACE(0) },
  { "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW },
  { "SCMP_ACT_LOG", SCMP_ACT_LOG },
};

static const struct {
  const char *name;
  enum scmp_compare op;
} operators[] = {
  { "SCMP_CMP_NE", SCMP_CMP_NE },
  { "SCMP_CMP_LT", SCMP_CMP_LT },
  { "SCMP_CMP_LE", SCMP_CMP_LE },
  { "SCMP_CMP_EQ", SCMP_CMP_EQ },
  { "SCMP_CMP_GE", SCMP_CMP_GE },
  { "SCMP_CMP_GT", SCMP_CMP_GT },
  { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

static const struct {
  const char *name;
  unsigned int flag;
} filter_flags[] = {
  { "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
  { "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
  { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
};

/* Action name (+ errnoRet) → libseccomp action. */
static int parse_action(const char *name, json_t *errno_ret, int dflt_errno, const char *field,
                        uint32_t *out, berr_t *err)
{
  for (size_t i = 0; name && i < ARRAY_SIZE(actions); i++) {
    if (strcmp(actions[i].name, name))
      continue;
    *out = actions[i].action;
    if (*out == SCMP_ACT_ERRNO(0) || *out == SCMP_ACT_TRACE(0)) {
      int e = dflt_errno;
      if (json_is_integer(errno_ret))
        e = (int)json_integer_value(errno_ret);
      if (e < 0 || e > 4095)
        return berr_setc(err, EINVAL, "%s: errnoRet %d out of range", field, e);
      *out
          = (*out == SCMP_ACT_ERRNO(0)) ? SCMP_ACT_ERRNO((uint32_t)e) : SCMP_ACT_TRACE((uint32_t)e);
    }
    return 0;
  }
  return berr_setc(err, EINVAL, "%s: unknown action \"%s\"", field, name ? name : "");
}

static int add_arch(scmp_filter_ctx ctx, const char *name, size_t i, berr_t *err)
{
  if (!name || !str_has_prefix(name, "SCMP_ARCH_"))
    return berr_setc(err, EINVAL, "linux.seccomp.architectures[%zu]: unknown \"%s\"", i,
                     name ? name : "");
  char lower[32];
  size_t n = strlen(name + 10);
  if (n >= sizeof lower)
    return berr_setc(err, EINVAL, "linux.seccomp.architectures[%zu]: unknown \"%s\"", i, name);
  for (size_t k = 0; k <= n; k++) {
    char c = name[10 + k];
    lower[k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  uint32_t arch = seccomp_arch_resolve_name(lower);
  if (!arch)
    return berr_setc(err, EINVAL, "linux.seccomp.architectures[%zu]: unknown \"%s\"", i, name);
  int r = seccomp_arch_add(ctx, arch);
  if (r < 0 && r != -EEXIST)
    return berr_set(err, -r, "linux.seccomp.architectures[%zu] (%s)", i, name);
  return 0;
}

static int add_rule(scmp_filter_ctx ctx, json_t *rule, size_t i, uint32_t dflt, berr_t *err)
{
  char field[64];
  snprintf(field, sizeof field, "linux.seccomp.syscalls[%zu]", i);
  uint32_t action;
  if (parse_action(json_str(rule, "action"), json_object_get(rule, "errnoRet"), EPERM, field,
                   &action, err)
      < 0)
    return -1;
  json_t *names = json_object_get(rule, "names"), *args = json_object_get(rule, "args");
  if (!json_is_array(names))
    return berr_setc(err, EINVAL, "%s.names: must be an array of strings", field);
  if (args && !json_is_null(args) && !json_is_array(args))
    return berr_setc(err, EINVAL, "%s.args: must be an array", field);
  size_t nargs = json_array_size(args);
  if (nargs > 6)
    return berr_setc(err, EINVAL, "%s.args: at most 6 conditions", field);
  struct scmp_arg_cmp cmp[6];
  unsigned seen = 0;
  bool same_index = false; /* two conditions on one argument: OR them, as runc does */
  size_t k;
  json_t *a;
  json_array_foreach(args, k, a)
  {
    json_int_t index = json_int(a, "index", -1);
    const char *op = json_str(a, "op");
    if (index < 0 || index > 5)
      return berr_setc(err, EINVAL, "%s.args[%zu].index: must be 0 to 5", field, k);
    int found = -1;
    for (size_t o = 0; op && o < ARRAY_SIZE(operators); o++)
      if (!strcmp(operators[o].name, op))
        found = (int)o;
    if (found < 0)
      return berr_setc(err, EINVAL, "%s.args[%zu].op: unknown \"%s\"", field, k, op ? op : "");
    if (seen & (1u << index))
      same_index = true;
    seen |= 1u << index;
    cmp[k] = (struct scmp_arg_cmp){ .arg = (unsigned)index,
                                    .op = operators[found].op,
                                    .datum_a = (scmp_datum_t)json_int(a, "value", 0),
                                    .datum_b = (scmp_datum_t)json_int(a, "valueTwo", 0) };
  }
  if (action == dflt)
    return 0; /* libseccomp refuses a rule that repeats the default */
  json_t *nm;
  json_array_foreach(names, k, nm)
  {
    const char *name = json_string_value(nm);
    if (!name)
      return berr_setc(err, EINVAL, "%s.names[%zu]: must be a string", field, k);
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
      continue; /* unknown to this libseccomp: as runc and crun, skip it */
    int r = 0;
    if (same_index) {
      for (size_t c = 0; c < nargs && r >= 0; c++)
        r = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[c]);
    } else {
      r = seccomp_rule_add_array(ctx, action, nr, (unsigned)nargs, cmp);
    }
    if (r < 0)
      return berr_set(err, -r, "%s: add rule for %s", field, name);
  }
  return 0;
}

/* Compiles the profile into out->mem/prog. */
static int compile(json_t *sec, sc_filter *out, berr_t *err)
{
  uint32_t dflt;
  if (parse_action(json_str(sec, "defaultAction"), json_object_get(sec, "defaultErrnoRet"), EPERM,
                   "linux.seccomp.defaultAction", &dflt, err)
      < 0)
    return -1;
  scmp_filter_ctx ctx = seccomp_init(dflt);
  if (!ctx)
    return berr_setc(err, EINVAL, "linux.seccomp: cannot initialise libseccomp");
  int rc = -1;
  int mfd = -1;
  /* A binary tree of syscall numbers: a long allow-list costs O(log n)
     comparisons per system call instead of O(n). */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  json_t *arches = json_object_get(sec, "architectures"), *rules = json_object_get(sec, "syscalls");
  size_t i;
  json_t *e;
  json_array_foreach(arches, i, e) if (add_arch(ctx, json_string_value(e), i, err) < 0) goto out;
  if (rules && !json_is_null(rules) && !json_is_array(rules)) {
    berr_setc(err, EINVAL, "linux.seccomp.syscalls: must be an array");
    goto out;
  }
  json_array_foreach(rules, i, e) if (add_rule(ctx, e, i, dflt, err) < 0) goto out;
  mfd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
  if (mfd < 0) {
    berr_set(err, errno, "memfd_create");
    goto out;
  }
  int r = seccomp_export_bpf(ctx, mfd);
  if (r < 0) {
    berr_set(err, -r, "linux.seccomp: compile the filter");
    goto out;
  }
  off_t len = lseek(mfd, 0, SEEK_END);
  if (len <= 0 || len % sizeof(struct sock_filter)) {
    berr_setc(err, EINVAL, "linux.seccomp: libseccomp produced no program");
    goto out;
  }
  out->mem = xmalloc((size_t)len);
  if (pread(mfd, out->mem, (size_t)len, 0) != len) {
    berr_set(err, errno, "linux.seccomp: read the program");
    goto out;
  }
  out->prog.len = (unsigned short)(len / sizeof(struct sock_filter));
  out->prog.filter = out->mem;
  rc = 0;
out:
  if (mfd >= 0)
    close(mfd);
  seccomp_release(ctx);
  return rc;
}

static int parse_flags(json_t *flags, unsigned int *out, berr_t *err)
{
  *out = 0;
  size_t i;
  json_t *f;
  json_array_foreach(flags, i, f)
  {
    const char *name = json_string_value(f);
    size_t k = 0;
    for (; name && k < ARRAY_SIZE(filter_flags); k++)
      if (!strcmp(filter_flags[k].name, name))
        break;
    if (!name || k == ARRAY_SIZE(filter_flags))
      return berr_setc(err, EINVAL, "linux.seccomp.flags[%zu]: unknown flag \"%s\"", i,
                       name ? name : "");
    *out |= filter_flags[k].flag;
  }
  return 0;
}

/* out's program: a copy of plen bytes at prog. */
static void set_prog(sc_filter *out, const void *prog, size_t plen)
{
  out->mem = xmalloc(plen);
  memcpy(out->mem, prog, plen);
  out->prog.len = (unsigned short)(plen / sizeof(struct sock_filter));
  out->prog.filter = out->mem;
}

/* One program kept in memory for the process and its forks, with its
 * profile: a profile equal to it (json_equal, cheaper than the key's
 * canonical text) is that program. */
static struct {
  json_t *profile;
  void *prog;
  size_t plen; /* bytes */
} memo;

int sc_prepare(json_t *sec, const char *root, sc_filter *out, berr_t *err)
{
  memset(out, 0, sizeof *out);
  if (parse_flags(json_object_get(sec, "flags"), &out->flags, err) < 0)
    return -1;
  if (json_object_get(sec, "listenerPath") && json_str(sec, "listenerPath")
      && *json_str(sec, "listenerPath"))
    return berr_setc(err, ENOTSUP, "linux.seccomp.listenerPath: seccomp notify is not supported");

  if (memo.profile && json_equal(memo.profile, sec)) {
    set_prog(out, memo.prog, memo.plen);
    return 0;
  }

  /* The key: everything the program depends on. */
  const struct scmp_version *v = seccomp_version();
  cleanup_free char *profile = json_dumps(sec, JSON_COMPACT | JSON_SORT_KEYS);
  cleanup_free char *key = xasprintf("libseccomp %u.%u.%u arch %u\n%s", v->major, v->minor,
                                     v->micro, seccomp_arch_native(), profile ? profile : "");
  size_t klen = strlen(key);
  cleanup_free char *dir = path_join(root && *root ? root : RT_DEFAULT_ROOT, ".seccomp");
  cleanup_free char *path
      = xasprintf("%s/%016llx.bpf", dir, (unsigned long long)hash_fnv(HASH_FNV_BASIS, key, klen));
  size_t mlen = strlen(CACHE_MAGIC);

  cleanup_free char *data = NULL;
  size_t len = 0;
  if (fs_read_file(path, 0, &data, &len, NULL) == 0 && len > mlen + klen + 1
      && !memcmp(data, CACHE_MAGIC, mlen) && !memcmp(data + mlen, key, klen)
      && data[mlen + klen] == '\0' && (len - mlen - klen - 1) % sizeof(struct sock_filter) == 0) {
    set_prog(out, data + mlen + klen + 1, len - mlen - klen - 1);
    return 0;
  }

  if (compile(sec, out, err) < 0) {
    sc_free(out);
    return -1;
  }
  /* Best effort: a read-only or full root only costs the next start time. */
  size_t plen = out->prog.len * sizeof(struct sock_filter);
  size_t total = mlen + klen + 1 + plen;
  cleanup_free char *file = xmalloc(total);
  memcpy(file, CACHE_MAGIC, mlen);
  memcpy(file + mlen, key, klen + 1);
  memcpy(file + mlen + klen + 1, out->mem, plen);
  if (fs_mkdir_p(dir, 0700, NULL) == 0) {
    cleanup_free char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      bool ok = write(fd, file, total) == (ssize_t)total;
      close(fd);
      if (!ok || rename(tmp, path) < 0)
        unlink(tmp);
    }
  }
  return 0;
}

void sc_preload_default(const char *root)
{
  if (memo.profile)
    return;
  cleanup_json json_t *cfg = rt_default_config();
  json_t *sec = json_object_get(json_object_get(cfg, "linux"), "seccomp");
  sc_filter f = { 0 };
  berr_t err = BERR_INIT;
  if (sc_prepare(sec, root, &f, &err) < 0) {
    log_warn("msg=\"cannot prepare the default seccomp profile ahead\" err=\"%s\"", err.msg);
    berr_clear(&err);
    return;
  }
  memo.profile = json_incref(sec);
  memo.prog = steal_ptr(f.mem);
  memo.plen = f.prog.len * sizeof(struct sock_filter);
}

void sc_free(sc_filter *f)
{
  free(f->mem);
  memset(f, 0, sizeof *f);
}

int sc_load(const sc_filter *f, berr_t *err)
{
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->flags, &f->prog) < 0)
    return berr_set(err, errno, "install the seccomp filter");
  return 0;
}
