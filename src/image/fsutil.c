/* fsutil.c — the file operations the image store needs beyond base/: opening
 * paths that must stay inside a directory (openat2 RESOLVE_BENEATH), staging
 * directories, hashed copies and tree removal that is safe against crashes. */
#include "image/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int img_openat_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
  struct open_how how = {
    .flags = (uint64_t)(flags | O_CLOEXEC),
    .mode = (flags & O_CREAT) ? mode : 0,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int img_mktemp_dir(img_store *s, const char *prefix, char **out, berr_t *err)
{
  char *p = xasprintf("%s/%sXXXXXX", s->tmp, prefix);
  if (!mkdtemp(p)) {
    int e = errno;
    free(p);
    return berr_set(err, e, "create temporary directory in %s", s->tmp);
  }
  *out = p;
  return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
  const char *p = data;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int img_copy_hashed(int fd, const char *dst, char **digest, int64_t *size, berr_t *err)
{
  cleanup_close int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0)
    return berr_set(err, errno, "create %s", dst);
  cleanup_hash img_hash *h = img_hash_new();
  cleanup_free char *buf = xmalloc(1 << 16);
  int64_t total = 0;
  for (;;) {
    ssize_t r = read(fd, buf, 1 << 16);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return berr_set(err, errno, "read");
    if (r == 0)
      break;
    img_hash_update(h, buf, (size_t)r);
    if (write_all(out, buf, (size_t)r) < 0)
      return berr_set(err, errno, "write %s", dst);
    total += r;
  }
  if (fsync(out) < 0)
    return berr_set(err, errno, "fsync %s", dst);
  *digest = img_hash_final(h);
  if (size)
    *size = total;
  return 0;
}

int img_hash_file(int dirfd, const char *path, char **digest, int64_t *size, berr_t *err)
{
  cleanup_close int fd = dirfd == AT_FDCWD ? open(path, O_RDONLY | O_CLOEXEC)
                                           : img_openat_beneath(dirfd, path, O_RDONLY, 0);
  if (fd < 0)
    return berr_set(err, errno, "open %s", path);
  cleanup_hash img_hash *h = img_hash_new();
  cleanup_free char *buf = xmalloc(1 << 16);
  int64_t total = 0;
  for (;;) {
    ssize_t r = read(fd, buf, 1 << 16);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return berr_set(err, errno, "read %s", path);
    if (r == 0)
      break;
    img_hash_update(h, buf, (size_t)r);
    total += r;
  }
  *digest = img_hash_final(h);
  if (size)
    *size = total;
  return 0;
}

static int64_t du_at(int parent, const char *name, dev_t dev, int depth)
{
  struct stat st;
  if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  if (S_ISREG(st.st_mode))
    return st.st_size;
  if (!S_ISDIR(st.st_mode) || st.st_dev != dev || depth > 512)
    return 0;
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return 0;
  cleanup_dir DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return 0;
  }
  int64_t total = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      total += du_at(dirfd(d), de->d_name, dev, depth + 1);
  return total;
}

int64_t img_du(const char *path)
{
  struct stat st;
  if (lstat(path, &st) < 0)
    return 0;
  return du_at(AT_FDCWD, path, st.st_dev, 0);
}

int img_rm_tree(img_store *s, const char *path, berr_t *err)
{
  cleanup_free char *dead = NULL;
  if (img_mktemp_dir(s, "rm-", &dead, err) < 0)
    return -1;
  cleanup_free char *target = path_join(dead, "x");
  if (rename(path, target) < 0) {
    int e = errno;
    rmdir(dead);
    if (e == ENOENT)
      return 0;
    return berr_set(err, e, "remove %s", path);
  }
  return fs_rm_rf(dead, err);
}

const char *img_host_arch(void)
{
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__i386__)
  return "386";
#elif defined(__arm__)
  return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "ppc64le";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "unknown";
#endif
}
