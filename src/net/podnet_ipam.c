/* podnet_ipam.c — the pod network's addresses: CIDR parsing, and the
 * file-per-address IPAM of podnet.h (STATE/<ip> holds the owning pod's uid,
 * created O_EXCL under STATE/.lock, so a restarted agent or two threads
 * never hand out one address twice). */
#include "net/podnet_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- CIDR ------------------------------------------------------------------ */

uint32_t pn_cidr_mask(const cidr_t *c)
{
  return c->prefix == 0 ? 0 : 0xffffffffu << (32 - c->prefix);
}

uint32_t pn_cidr_bcast(const cidr_t *c)
{
  return c->net | ~pn_cidr_mask(c);
}

bool pn_cidr_contains(const cidr_t *c, uint32_t a)
{
  return (a & pn_cidr_mask(c)) == c->net;
}

void pn_ip_str(uint32_t a, char out[INET_ADDRSTRLEN])
{
  struct in_addr in = { .s_addr = htonl(a) };
  inet_ntop(AF_INET, &in, out, INET_ADDRSTRLEN);
}

/* Strict "A.B.C.D/N": inet_pton takes only four decimal parts, the prefix is
 * 1–2 digits, 8 <= N <= 30 (a /31 or /32 leaves no pod address), and the
 * address must be the network address: a CIDR with host bits set is refused
 * rather than silently normalised, since it usually means a typo. */
int pn_cidr_parse(const char *s, cidr_t *out, berr_t *err)
{
  const char *slash = strchr(s, '/');
  if (!slash)
    return berr_setc(err, EINVAL, "invalid pod CIDR \"%s\": expected A.B.C.D/N", s);
  cleanup_free char *addr = xstrndup(s, (size_t)(slash - s));
  struct in_addr in;
  if (inet_pton(AF_INET, addr, &in) != 1)
    return berr_setc(err, EINVAL, "invalid pod CIDR \"%s\": \"%s\" is not an IPv4 address", s,
                     addr);
  const char *p = slash + 1;
  size_t n = strlen(p);
  if (n == 0 || n > 2 || !isdigit((unsigned char)p[0]) || (n == 2 && !isdigit((unsigned char)p[1])))
    return berr_setc(err, EINVAL, "invalid pod CIDR \"%s\": prefix length \"%s\" is not a number",
                     s, p);
  int prefix = atoi(p);
  if (prefix < 8 || prefix > 30)
    return berr_setc(err, EINVAL, "invalid pod CIDR \"%s\": prefix length %d is outside 8..30", s,
                     prefix);
  cidr_t c = { .net = ntohl(in.s_addr), .prefix = prefix };
  if ((c.net & pn_cidr_mask(&c)) != c.net) {
    char net[INET_ADDRSTRLEN];
    pn_ip_str(c.net & pn_cidr_mask(&c), net);
    return berr_setc(err, EINVAL, "invalid pod CIDR \"%s\": host bits set (the network is %s/%d)",
                     s, net, prefix);
  }
  *out = c;
  return 0;
}

/* ---- IPAM ------------------------------------------------------------------ */

int pn_lock_state(const char *dir, berr_t *err)
{
  if (fs_mkdir_p(dir, 0700, err) < 0)
    return berr_wrap(err, "pod network state");
  cleanup_free char *path = path_join(dir, ".lock");
  cleanup_close int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return berr_set(err, errno, "open %s", path);
  while (flock(fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return berr_set(err, errno, "lock %s", path);
  return steal_fd(fd);
}

/* Unlocked before the close: a child forked meanwhile by another thread
 * shares the open file, and the lock would live as long as its copy. */
void pn_unlock_statep(int *fd)
{
  if (*fd < 0)
    return;
  flock(*fd, LOCK_UN);
  close(*fd);
}

static int cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

typedef struct ipam_scan {
  uint32_t *used; /* addresses inside the CIDR, sorted */
  size_t n, cap;
  uint32_t mine; /* uid's address inside the CIDR, or 0 */
} ipam_scan_t;

/* Reads every address file of dir. Entries whose content is uid are
 * removed when release is set; a file left empty by a crash between create
 * and write is removed too (the caller holds the lock, so no allocation is
 * in progress). With c NULL only the release happens. */
static int ipam_scan(const char *dir, const cidr_t *c, const char *uid, bool release,
                     ipam_scan_t *s, berr_t *err)
{
  cleanup_dir DIR *d = opendir(dir);
  if (!d)
    return berr_set(err, errno, "open %s", dir);
  struct dirent *de;
  while ((errno = 0, de = readdir(d))) {
    struct in_addr in;
    char canon[INET_ADDRSTRLEN];
    if (inet_pton(AF_INET, de->d_name, &in) != 1)
      continue;
    pn_ip_str(ntohl(in.s_addr), canon);
    if (strcmp(canon, de->d_name) != 0)
      continue;
    cleanup_free char *path = path_join(dir, de->d_name);
    cleanup_free char *owner = NULL;
    size_t len = 0;
    berr_t rerr = BERR_INIT;
    bool ours = false;
    if (fs_read_file(path, PODNET_UID_MAX + 2, &owner, &len, &rerr) < 0) {
      int code = rerr.code;
      berr_clear(&rerr);
      if (code == ENOENT)
        continue;
      if (code != EFBIG)
        return berr_set(err, code, "read address file %s", path);
      /* Not written by us: no pod's, but the address stays taken. */
      log_warn("msg=\"oversized address file, address left in use\" path=%s", path);
      len = 1;
    } else {
      while (len > 0 && owner[len - 1] == '\n')
        owner[--len] = '\0';
      ours = strcmp(owner, uid) == 0;
    }
    if (len == 0 || (ours && release)) {
      if (len == 0)
        log_warn("msg=\"removing empty address file\" path=%s", path);
      if (unlink(path) < 0 && errno != ENOENT)
        return berr_set(err, errno, "release address %s: remove %s", de->d_name, path);
      continue;
    }
    uint32_t a = ntohl(in.s_addr);
    if (!c || !pn_cidr_contains(c, a))
      continue;
    if (ours && !s->mine)
      s->mine = a;
    if (s->n == s->cap) {
      s->cap = s->cap ? 2 * s->cap : 64;
      s->used = xrealloc(s->used, s->cap * sizeof(*s->used));
    }
    s->used[s->n++] = a;
  }
  if (errno)
    return berr_set(err, errno, "read directory %s", dir);
  if (s->used)
    qsort(s->used, s->n, sizeof(*s->used), cmp_u32);
  return 0;
}

/* Creates STATE/<ip> with O_EXCL; -EEXIST when it is taken. */
static int ipam_claim(const char *dir, uint32_t a, const char *uid, berr_t *err)
{
  char name[INET_ADDRSTRLEN];
  pn_ip_str(a, name);
  cleanup_free char *path = path_join(dir, name);
  cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      return -EEXIST;
    return berr_set(err, errno, "create address file %s", path);
  }
  /* No fsync: an address lives as long as the kernel's network state. A
   * crashed agent finds the file in the page cache; a crashed machine has
   * lost the pods' namespaces and veths too, and their sandboxes get new
   * addresses. (An fsync here was most of a pod's start in a burst.) */
  size_t n = strlen(uid);
  if (write(fd, uid, n) != (ssize_t)n) {
    int e = errno ? errno : EIO;
    unlink(path);
    return berr_set(err, e, "write address file %s", path);
  }
  return 0;
}

/* uid's address: the one it holds, or the lowest free one after the gateway. */
int pn_ipam_acquire(const char *dir, const cidr_t *c, const char *uid, uint32_t *out, berr_t *err)
{
  ipam_scan_t s = { 0 };
  int r = ipam_scan(dir, c, uid, false, &s, err);
  cleanup_free uint32_t *used = s.used;
  if (r < 0)
    return -1;
  if (s.mine) {
    *out = s.mine;
    return 0;
  }
  size_t i = 0;
  for (uint32_t a = c->net + 2; a < pn_cidr_bcast(c); a++) {
    while (i < s.n && s.used[i] < a)
      i++;
    if (i < s.n && s.used[i] == a)
      continue;
    r = ipam_claim(dir, a, uid, err);
    if (r == 0) {
      *out = a;
      return 0;
    }
    if (r != -EEXIST)
      return -1;
  }
  char net[INET_ADDRSTRLEN];
  pn_ip_str(c->net, net);
  return berr_setc(err, ENOSPC, "no free address in pod CIDR %s/%d (%zu in use)", net, c->prefix,
                   s.n);
}

int pn_ipam_release(const char *dir, const char *uid, berr_t *err)
{
  ipam_scan_t s = { 0 };
  int r = ipam_scan(dir, NULL, uid, true, &s, err);
  free(s.used);
  return r;
}
