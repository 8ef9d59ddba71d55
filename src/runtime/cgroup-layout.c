/* cgroup-layout.c — where the cgroup hierarchies are and how their files
 * are read and written.
 *
 * The layout (v1, v2 or hybrid, and each hierarchy's mount point) comes from
 * /proc/self/mountinfo rather than from assumed paths, read once per process:
 * about 0.1 ms here, most of it the kernel printing the file. It is the one
 * piece of process-wide state of the cgroup code. A hierarchy that a later
 * mount covers (a tmpfs over /sys/fs/cgroup/unified, as crun's users do on
 * hybrid hosts) is not reachable and does not count. */
#include "runtime/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const cg_ctrl_names[CG_NCTRL]
    = { "cpu", "cpuacct", "memory", "pids", "devices", "cpuset" };

/* ---- layout ------------------------------------------------------------- */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *mountinfo_unescape(const char *s)
{
  size_t n = strlen(s);
  char *out = xmalloc(n + 1), *o = out;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0'
        && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      *o++ = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      *o++ = s[i];
    }
  }
  *o = '\0';
  return out;
}

/* One mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL…] -
 * FSTYPE SOURCE SUPEROPTS". A hierarchy mounted twice keeps the mount of its
 * root (ROOT "/") when there is one. */
static void layout_add_line(cg_layout_info *L, char *line, bool *v2_top, bool top[])
{
  char *sep = strstr(line, " - ");
  if (!sep)
    return;
  *sep = '\0';
  char *f[5], *save = NULL;
  int nf = 0;
  for (char *tok = strtok_r(line, " ", &save); tok && nf < 5; tok = strtok_r(NULL, " ", &save))
    f[nf++] = tok;
  char *fstype = strtok_r(sep + 3, " ", &save);
  char *source = fstype ? strtok_r(NULL, " ", &save) : NULL;
  char *super = source ? strtok_r(NULL, " ", &save) : NULL;
  if (nf < 5 || !super)
    return;
  bool at_top = strcmp(f[3], "/") == 0;

  if (!strcmp(fstype, "cgroup2")) {
    if (L->v2 && (*v2_top || !at_top))
      return;
    free(L->v2);
    L->v2 = mountinfo_unescape(f[4]);
    *v2_top = at_top;
    return;
  }
  if (strcmp(fstype, "cgroup"))
    return;
  unsigned ctrls = 0;
  for (char *opt = strtok_r(super, ",", &save); opt; opt = strtok_r(NULL, ",", &save))
    for (int c = 0; c < CG_NCTRL; c++)
      if (!strcmp(opt, cg_ctrl_names[c]))
        ctrls |= CG_BIT(c);
  if (!ctrls)
    return;
  for (size_t i = 0; i < L->nv1; i++) {
    if (!(L->v1[i].ctrls & ctrls))
      continue;
    if (!top[i] && at_top) {
      free(L->v1[i].mount);
      L->v1[i].mount = mountinfo_unescape(f[4]);
      top[i] = true;
    }
    return;
  }
  if (L->nv1 == CG_NCTRL)
    return;
  top[L->nv1] = at_top;
  L->v1[L->nv1++] = (cg_hier){ .mount = mountinfo_unescape(f[4]), .ctrls = ctrls };
}

/* The mount point (fifth field) of the mountinfo line [line, line+len),
 * unescaped; NULL when the line is too short. */
static char *mountinfo_mount_point(const char *line, size_t len)
{
  const char *p = line, *end = line + len;
  for (int field = 1; field < 5; field++) {
    p = memchr(p, ' ', (size_t)(end - p));
    if (!p)
      return NULL;
    p++;
  }
  const char *sp = memchr(p, ' ', (size_t)(end - p));
  cleanup_free char *raw = xstrndup(p, (size_t)((sp ? sp : end) - p));
  return mountinfo_unescape(raw);
}

/* True when a mount listed after the one at mp (mountinfo lists mounts in
 * the order they were made) sits on mp itself or on a directory above it:
 * then mp is hidden. A mount on "/" is left out, as it does not move the
 * root of the processes already running. */
static bool mountinfo_covered(const char *later, const char *mp)
{
  size_t n = strlen(mp);
  for (const char *line = later; *line;) {
    const char *eol = strchrnul(line, '\n');
    cleanup_free char *other = mountinfo_mount_point(line, (size_t)(eol - line));
    size_t k = other ? strlen(other) : 0;
    if (k > 1 && k <= n && !strncmp(mp, other, k) && (mp[k] == '\0' || mp[k] == '/'))
      return true;
    line = *eol ? eol + 1 : eol;
  }
  return false;
}

void cg_layout_parse(const char *mi, cg_layout_info *L)
{
  memset(L, 0, sizeof *L);
  bool v2_top = false, top[CG_NCTRL] = { false };
  for (const char *line = mi; *line;) {
    const char *eol = strchrnul(line, '\n');
    size_t len = (size_t)(eol - line);
    const char *next = *eol ? eol + 1 : eol;
    if (memmem(line, len, " - cgroup", 9)) {
      cleanup_free char *mp = mountinfo_mount_point(line, len);
      cleanup_free char *copy = xstrndup(line, len);
      if (mp && !mountinfo_covered(next, mp))
        layout_add_line(L, copy, &v2_top, top);
    }
    line = next;
  }
  for (int c = 0; c < CG_NCTRL; c++) {
    L->by_ctrl[c] = -1;
    for (size_t i = 0; i < L->nv1; i++)
      if (L->v1[i].ctrls & CG_BIT(c))
        L->by_ctrl[c] = (int)i;
  }
  L->layout = L->nv1 == 0 ? CG_V2 : L->v2 ? CG_HYBRID : CG_V1;
}

void cg_layout_free(cg_layout_info *L)
{
  free(L->v2);
  for (size_t i = 0; i < L->nv1; i++)
    free(L->v1[i].mount);
  memset(L, 0, sizeof *L);
}

static pthread_once_t cg_layout_once = PTHREAD_ONCE_INIT;
/* The one piece of process-wide state here: the machine's cgroup layout. */
static cg_layout_info cg_layout_ctx;

static void cg_layout_load(void)
{
  cleanup_free char *mi = NULL;
  berr_t err = BERR_INIT;
  if (fs_read_file("/proc/self/mountinfo", 0, &mi, NULL, &err) < 0) {
    log_warn("msg=\"cannot detect the cgroup layout\" err=\"%s\"", err.msg);
    berr_clear(&err);
    mi = xstrdup("");
  }
  cg_layout_parse(mi, &cg_layout_ctx);
  log_debug("msg=\"cgroup layout\" layout=%s cgroup2=%s v1_hierarchies=%zu",
            cg_layout_ctx.layout == CG_V1   ? "v1"
            : cg_layout_ctx.layout == CG_V2 ? "v2"
                                            : "hybrid",
            cg_layout_ctx.v2 ? cg_layout_ctx.v2 : "none", cg_layout_ctx.nv1);
}

const cg_layout_info *cg_info(void)
{
  pthread_once(&cg_layout_once, cg_layout_load);
  return &cg_layout_ctx;
}

cg_layout cg_detect(void)
{
  return cg_info()->layout;
}

/* ---- knob files --------------------------------------------------------- */

int cg_write(const char *dir, const char *knob, const char *value)
{
  cleanup_free char *p = path_join(dir, knob);
  int fd = open(p, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  ssize_t w = write(fd, value, strlen(value));
  int e = w < 0 ? errno : 0;
  close(fd);
  return -e;
}

int cg_read(const char *dir, const char *knob, char **out)
{
  cleanup_free char *p = path_join(dir, knob);
  berr_t err = BERR_INIT;
  if (fs_read_file(p, 0, out, NULL, &err) < 0) {
    int e = err.code ? err.code : EIO;
    berr_clear(&err);
    return -e;
  }
  return 0;
}

int cg_set(const char *dir, const char *knob, const char *value, const char *what,
           const char *shown, berr_t *err)
{
  int r = cg_write(dir, knob, value);
  if (r < 0)
    return berr_set(err, -r, "set %s %s: %s", what, shown, knob);
  return 0;
}

bool cg_keyed_u64(const char *text, const char *key, uint64_t *out)
{
  size_t kl = strlen(key);
  for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
    if (!strncmp(l, key, kl) && l[kl] == ' ') {
      *out = strtoull(l + kl + 1, NULL, 10);
      return true;
    }
  }
  return false;
}

char *cg_size_str(int64_t bytes)
{
  static const char units[] = "kmgt";
  int u = -1;
  int64_t v = bytes;
  while (v != 0 && v % 1024 == 0 && u < 3)
    v /= 1024, u++;
  if (u < 0)
    return xasprintf("%lld", (long long)bytes);
  return xasprintf("%lld%c", (long long)v, units[u]);
}
