/* cgroup-devices.c — which device nodes a container may create and open.
 *
 * Containers keep CAP_MKNOD (Docker's default capability set), so the devices
 * controller is what stops them from creating and opening, say, the host's
 * disk. The rules, in order: deny everything, the OCI linux.resources.devices
 * rules, then the default allowed set (null, zero, full, random, urandom, tty,
 * console, ptmx, pts, tun and mknod of any node) — the order runc and crun use,
 * so the defaults are always allowed.
 *
 * v1 writes the rules to devices.deny/devices.allow. cgroup2 has no devices
 * controller: a BPF_PROG_TYPE_CGROUP_DEVICE program is attached to the cgroup
 * instead, generated here from the same rules and loaded with the raw bpf()
 * system call (no libbpf). */
#include "runtime/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const cg_dev_rule cg_default_devices[] = {
  { true, 'c', -1, -1, CG_ACC_MKNOD }, /* mknod of any character device */
  { true, 'b', -1, -1, CG_ACC_MKNOD }, /* mknod of any block device */
  { true, 'c', 1, 3, CG_ACC_ALL },     /* /dev/null */
  { true, 'c', 1, 5, CG_ACC_ALL },     /* /dev/zero */
  { true, 'c', 1, 7, CG_ACC_ALL },     /* /dev/full */
  { true, 'c', 1, 8, CG_ACC_ALL },     /* /dev/random */
  { true, 'c', 1, 9, CG_ACC_ALL },     /* /dev/urandom */
  { true, 'c', 5, 0, CG_ACC_ALL },     /* /dev/tty */
  { true, 'c', 5, 1, CG_ACC_ALL },     /* /dev/console */
  { true, 'c', 5, 2, CG_ACC_ALL },     /* /dev/ptmx */
  { true, 'c', 136, -1, CG_ACC_ALL },  /* /dev/pts/N */
  { true, 'c', 10, 200, CG_ACC_ALL },  /* /dev/net/tun */
};

static int parse_num(json_t *rule, const char *key, size_t i, int64_t *out, berr_t *err)
{
  json_t *v = json_object_get(rule, key);
  *out = -1;
  if (!v || json_is_null(v))
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > 0xfffff)
    return berr_set(err, EINVAL, "device rule %zu: %s must be an integer (-1 = any)", i, key);
  *out = json_integer_value(v);
  return 0;
}

static int parse_rule(json_t *j, size_t i, cg_dev_rule *r, berr_t *err)
{
  if (!json_is_object(j))
    return berr_set(err, EINVAL, "device rule %zu: not an object", i);
  json_t *allow = json_object_get(j, "allow");
  if (!json_is_boolean(allow))
    return berr_set(err, EINVAL, "device rule %zu: \"allow\" must be true or false", i);
  r->allow = json_is_true(allow);
  const char *type = json_str(j, "type");
  if (!type || !*type)
    type = "a";
  if (strlen(type) != 1 || !strchr("abc", type[0]))
    return berr_set(err, EINVAL, "device rule %zu: invalid type \"%s\" (a, b or c)", i, type);
  r->type = type[0];
  if (parse_num(j, "major", i, &r->major, err) < 0 || parse_num(j, "minor", i, &r->minor, err) < 0)
    return -1;
  const char *access = json_str(j, "access");
  if (!access || !*access)
    access = "rwm";
  r->access = 0;
  for (const char *c = access; *c; c++) {
    unsigned bit = *c == 'r'   ? CG_ACC_READ
                   : *c == 'w' ? CG_ACC_WRITE
                   : *c == 'm' ? CG_ACC_MKNOD
                               : 0;
    if (!bit)
      return berr_set(err, EINVAL, "device rule %zu: invalid access \"%s\" (letters r, w, m)", i,
                      access);
    r->access |= bit;
  }
  return 0;
}

int cg_dev_rules(json_t *oci, cg_dev_rule **rules, size_t *n, berr_t *err)
{
  if (oci && !json_is_array(oci))
    return berr_set(err, EINVAL, "linux.resources.devices: not an array");
  size_t noci = oci ? json_array_size(oci) : 0;
  size_t total = 1 + noci + ARRAY_SIZE(cg_default_devices);
  cg_dev_rule *r = xcalloc(total, sizeof *r);
  r[0] = (cg_dev_rule){ false, 'a', -1, -1, CG_ACC_ALL };
  for (size_t i = 0; i < noci; i++) {
    if (parse_rule(json_array_get(oci, i), i, &r[1 + i], err) < 0) {
      free(r);
      return berr_wrap(err, "linux.resources.devices");
    }
  }
  memcpy(&r[1 + noci], cg_default_devices, sizeof cg_default_devices);
  *rules = r;
  *n = total;
  return 0;
}

/* ---- v1 ------------------------------------------------------------------ */

static void rule_str(const cg_dev_rule *r, char *s, size_t size)
{
  if (r->type == 'a') {
    snprintf(s, size, "a");
    return;
  }
  char major[24] = "*", minor[24] = "*", access[4], *a = access;
  if (r->major >= 0)
    snprintf(major, sizeof major, "%lld", (long long)r->major);
  if (r->minor >= 0)
    snprintf(minor, sizeof minor, "%lld", (long long)r->minor);
  if (r->access & CG_ACC_READ)
    *a++ = 'r';
  if (r->access & CG_ACC_WRITE)
    *a++ = 'w';
  if (r->access & CG_ACC_MKNOD)
    *a++ = 'm';
  *a = '\0';
  snprintf(s, size, "%c %s:%s %s", r->type, major, minor, access);
}

int cg_dev_apply_v1(const char *dir, const cg_dev_rule *rules, size_t n, berr_t *err)
{
  /* One open file per knob: the kernel takes each write(2) as one rule. */
  cleanup_free char *deny_path = path_join(dir, "devices.deny");
  cleanup_free char *allow_path = path_join(dir, "devices.allow");
  cleanup_close int deny = open(deny_path, O_WRONLY | O_CLOEXEC);
  if (deny < 0)
    return berr_set(err, errno, "open %s", deny_path);
  cleanup_close int allow = open(allow_path, O_WRONLY | O_CLOEXEC);
  if (allow < 0)
    return berr_set(err, errno, "open %s", allow_path);
  for (size_t i = 0; i < n; i++) {
    char s[80];
    rule_str(&rules[i], s, sizeof s);
    if (write(rules[i].allow ? allow : deny, s, strlen(s)) < 0)
      return berr_set(err, errno, "set device rule \"%s\": %s", s,
                      rules[i].allow ? "devices.allow" : "devices.deny");
  }
  return 0;
}

/* ---- cgroup2: a BPF program ------------------------------------------------ */

#define INSN(c, d, s, o, i)                                                                        \
  ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define LDX_W(dst, src, off)    INSN(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define MOV32_REG(dst, src)     INSN(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define ALU32_IMM(op, dst, im)  INSN(BPF_ALU | (op) | BPF_K, dst, 0, 0, im)
#define MOV64_IMM(dst, im)      INSN(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, im)
#define JMP_IMM(op, dst, im, o) INSN(BPF_JMP | (op) | BPF_K, dst, 0, o, im)
#define EXIT_INSN()             INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* Registers: r2 type, r3 access, r4 major, r5 minor (r1 holds the context,
 * struct bpf_cgroup_dev_ctx). */
enum { R_TYPE = 2, R_ACC = 3, R_MAJOR = 4, R_MINOR = 5, R_TMP = 6 };

/* Appends the test of one rule: every failed condition jumps past the
 * block's "return allow". */
static void emit_rule(const cg_dev_rule *r, struct bpf_insn *p, size_t *n)
{
  struct bpf_insn blk[10];
  size_t k = 0;
  if (r->type != 'a')
    blk[k++]
        = JMP_IMM(BPF_JNE, R_TYPE, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0);
  if ((r->access & CG_ACC_ALL) != CG_ACC_ALL) {
    /* allow: the request must lie within the rule's access; deny: it
     * matches when the request asks for any access the rule names. */
    blk[k++] = MOV32_REG(R_TMP, R_ACC);
    blk[k++]
        = ALU32_IMM(BPF_AND, R_TMP, (int32_t)(r->allow ? (~r->access & CG_ACC_ALL) : r->access));
    blk[k++] = JMP_IMM(r->allow ? BPF_JNE : BPF_JEQ, R_TMP, 0, 0);
  }
  if (r->major >= 0)
    blk[k++] = JMP_IMM(BPF_JNE, R_MAJOR, (int32_t)r->major, 0);
  if (r->minor >= 0)
    blk[k++] = JMP_IMM(BPF_JNE, R_MINOR, (int32_t)r->minor, 0);
  blk[k++] = MOV64_IMM(0, r->allow ? 1 : 0);
  blk[k++] = EXIT_INSN();
  for (size_t i = 0; i < k; i++) {
    if (BPF_CLASS(blk[i].code) == BPF_JMP && BPF_OP(blk[i].code) != BPF_EXIT)
      blk[i].off = (int16_t)(k - i - 1);
    p[(*n)++] = blk[i];
  }
}

static long bpf_call(int cmd, union bpf_attr *attr)
{
  return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

int cg_dev_apply_bpf(const char *dir, const cg_dev_rule *rules, size_t n, berr_t *err)
{
  /* The last matching rule decides, as in v1: test the rules backwards and
   * return at the first match; nothing matched denies. */
  cleanup_free struct bpf_insn *prog = xcalloc(6 + n * 10 + 2, sizeof *prog);
  size_t len = 0;
  prog[len++] = LDX_W(R_TYPE, 1, offsetof(struct bpf_cgroup_dev_ctx, access_type));
  prog[len++] = MOV32_REG(R_ACC, R_TYPE);
  prog[len++] = ALU32_IMM(BPF_AND, R_TYPE, 0xffff);
  prog[len++] = ALU32_IMM(BPF_RSH, R_ACC, 16);
  prog[len++] = LDX_W(R_MAJOR, 1, offsetof(struct bpf_cgroup_dev_ctx, major));
  prog[len++] = LDX_W(R_MINOR, 1, offsetof(struct bpf_cgroup_dev_ctx, minor));
  bool decided = false;
  for (size_t i = n; i-- > 0 && !decided;) {
    emit_rule(&rules[i], prog, &len);
    /* a rule that matches everything: the rules before it cannot decide */
    decided = rules[i].type == 'a' && (rules[i].access & CG_ACC_ALL) == CG_ACC_ALL;
  }
  if (!decided) {
    prog[len++] = MOV64_IMM(0, 0);
    prog[len++] = EXIT_INSN();
  }

  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t)(uintptr_t)prog;
  attr.insn_cnt = (uint32_t)len;
  attr.license = (uint64_t)(uintptr_t) "GPL";
  cleanup_close int prog_fd = (int)bpf_call(BPF_PROG_LOAD, &attr);
  if (prog_fd < 0 && errno == EINVAL) {
    /* Load again with the verifier's log, to say why. */
    size_t log_size = 1 << 16;
    cleanup_free char *log = xcalloc(1, log_size);
    attr.log_buf = (uint64_t)(uintptr_t)log;
    attr.log_size = (uint32_t)log_size;
    attr.log_level = 1;
    prog_fd = (int)bpf_call(BPF_PROG_LOAD, &attr);
    if (prog_fd < 0) {
      int e = errno;
      log[strcspn(log, "\n")] = '\0'; /* the first line says what is wrong */
      return berr_set(err, e, "set device rules: load the cgroup device BPF program (%s)", log);
    }
  }
  if (prog_fd < 0)
    return berr_set(err, errno, "set device rules: load the cgroup device BPF program");

  cleanup_close int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0)
    return berr_set(err, errno, "set device rules: open %s", dir);
  memset(&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t)dir_fd;
  attr.attach_bpf_fd = (uint32_t)prog_fd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  /* MULTI: a parent's program (systemd's, say) keeps running as well. The
   * attachment holds the program; it goes with the cgroup. */
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf_call(BPF_PROG_ATTACH, &attr) < 0)
    return berr_set(err, errno, "set device rules: attach the BPF program to %s", dir);
  return 0;
}
