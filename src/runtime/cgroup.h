/* cgroup.h — what cgroup.c, cgroup-limits.c and cgroup-devices.c share, and
 * what tests/unit/test_cgroup.c reaches into. The runtime's interface to
 * cgroups is the "resources and cgroups" section of internal.h. */
#ifndef BERTH_RUNTIME_CGROUP_H
#define BERTH_RUNTIME_CGROUP_H

#include "runtime/internal.h"

/* The controllers berth uses. */
enum cg_ctrl { CG_CPU, CG_CPUACCT, CG_MEMORY, CG_PIDS, CG_DEVICES, CG_CPUSET, CG_NCTRL };
#define CG_BIT(c) (1u << (c))
/* "cpu", "cpuacct", … by enum cg_ctrl. */
extern const char *const cg_ctrl_names[CG_NCTRL];

/* One mounted v1 hierarchy: a mount point and the controllers bound to it
 * (cpu and cpuacct are often co-mounted, then they share one hierarchy). */
typedef struct cg_hier {
  char *mount;
  unsigned ctrls; /* CG_BIT()s */
} cg_hier;

/* The machine's cgroup layout, found in /proc/self/mountinfo. */
typedef struct cg_layout_info {
  cg_layout layout;
  char *v2;             /* cgroup2 mount: the whole tree (v2) or "unified" (hybrid); NULL if none */
  cg_hier v1[CG_NCTRL]; /* v1 hierarchies holding a controller berth uses */
  size_t nv1;
  int by_ctrl[CG_NCTRL]; /* index into v1[] per controller, -1 when not on v1 */
} cg_layout_info;

/* The process's layout (detected on first use, thread-safe, never freed). */
const cg_layout_info *cg_info(void);
/* Parses mountinfo text; exposed for tests. Free with cg_layout_free. */
void cg_layout_parse(const char *mountinfo, cg_layout_info *out);
void cg_layout_free(cg_layout_info *l);

/* ---- knob files ---------------------------------------------------------- */

/* Writes value to DIR/KNOB; returns 0 or -errno. */
int cg_write(const char *dir, const char *knob, const char *value);
/* Reads DIR/KNOB (NUL-terminated); returns 0 or -errno. */
int cg_read(const char *dir, const char *knob, char **out);
/* cg_write with the error users see: "set WHAT SHOWN: KNOB: strerror". */
int cg_set(const char *dir, const char *knob, const char *value, const char *what,
           const char *shown, berr_t *err);
/* Value of the line "KEY N" in a flat-keyed file (memory.stat, cpu.stat…). */
bool cg_keyed_u64(const char *text, const char *key, uint64_t *out);
/* "64m", "1k", "1g" when exact, else the number of bytes. */
char *cg_size_str(int64_t bytes);

/* ---- limits and stats (cgroup-limits.c) ----------------------------------- */

/* Checks what the kernel would accept only at a later, costlier point. */
int cg_check_resources(const rt_resources *res, berr_t *err);
/* Writes the limits of the controllers in ctrls to the v1 cgroup DIR. */
int cg_v1_apply(unsigned ctrls, const char *dir, const rt_resources *res, berr_t *err);
/* Writes every limit to the v2 cgroup PATH under mount; enables controllers
 * in the ancestors when a knob is missing. */
int cg_v2_apply(const char *mount, const char *path, const rt_resources *res, berr_t *err);
/* Makes the controllers berth needs available to PATH: "+cpu +memory +pids"
 * (and +cpuset with cpuset) in the subtree_control of every ancestor. */
int cg_v2_enable(const char *mount, const char *path, bool cpuset, berr_t *err);
/* Copies cpuset.cpus/mems from the parent into a new v1 cpuset cgroup DIR,
 * unless cpus/mems are given. */
int cg_cpuset_init(const char *dir, const char *cpus, const char *mems, berr_t *err);
int cg_stats_collect(const cg_layout_info *L, const char *path, rt_stats *out, berr_t *err);

/* ---- devices (cgroup-devices.c) ------------------------------------------- */

enum { CG_ACC_MKNOD = 1, CG_ACC_READ = 2, CG_ACC_WRITE = 4, CG_ACC_ALL = 7 };

typedef struct cg_dev_rule {
  bool allow;
  char type;            /* 'a', 'b' or 'c' */
  int64_t major, minor; /* -1 = any */
  unsigned access;      /* CG_ACC_* */
} cg_dev_rule;

/* The rules applied in order: deny everything, then the OCI rules (NULL =
 * none), then berth's default allowed devices (as runc and crun do). */
int cg_dev_rules(json_t *oci, cg_dev_rule **rules, size_t *n, berr_t *err);
/* v1: devices.deny / devices.allow of DIR. */
int cg_dev_apply_v1(const char *dir, const cg_dev_rule *rules, size_t n, berr_t *err);
/* cgroup2: builds a BPF_PROG_TYPE_CGROUP_DEVICE program (the last matching
 * rule decides, no match denies) and attaches it to DIR. */
int cg_dev_apply_bpf(const char *dir, const cg_dev_rule *rules, size_t n, berr_t *err);

#endif
