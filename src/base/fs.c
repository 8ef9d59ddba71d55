/* fs.c — file helpers. Anything that must survive a crash is written with
 * fs_write_atomic: temp file, fsync, rename, fsync of the directory. */
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_mkdir_p(const char *path, mode_t mode, berr_t *err)
{
  cleanup_free char *p = xstrdup(path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    if (mkdir(p, mode) < 0 && errno != EEXIST)
      return berr_set(err, errno, "mkdir %s", p);
    *s = '/';
  }
  if (mkdir(p, mode) < 0 && errno != EEXIST)
    return berr_set(err, errno, "mkdir %s", p);
  return 0;
}

void fs_spread_subdirs(const char *dir)
{
  cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int flags;
  if (fd < 0 || ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0 || (flags & FS_TOPDIR_FL))
    return;
  flags |= FS_TOPDIR_FL;
  ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

static int fsync_dir_of(const char *path)
{
  cleanup_free char *d = xstrdup(path);
  cleanup_close int fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  return fsync(fd);
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, berr_t *err)
{
  cleanup_free char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
  cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return berr_set(err, errno, "create %s", tmp);
  const char *p = data;
  size_t left = len;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      int e = errno;
      unlink(tmp);
      return berr_set(err, e, "write %s", tmp);
    }
    p += w;
    left -= (size_t)w;
  }
  if (fsync(fd) < 0 || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return berr_set(err, e, "write %s", path);
  }
  fsync_dir_of(path);
  return 0;
}

int fs_read_file(const char *path, size_t max, char **data, size_t *len, berr_t *err)
{
  if (max == 0)
    max = 64u << 20;
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berr_set(err, errno, "open %s", path);
  buf_t b = { 0 };
  char chunk[8192];
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int e = errno;
      buf_free(&b);
      return berr_set(err, e, "read %s", path);
    }
    if (r == 0)
      break;
    if (b.len + (size_t)r > max) {
      buf_free(&b);
      return berr_set(err, EFBIG, "read %s: larger than %zu bytes", path, max);
    }
    buf_append(&b, chunk, (size_t)r);
  }
  if (len)
    *len = b.len;
  *data = buf_steal(&b);
  return 0;
}

static int rm_rf_at(int parent, const char *name, dev_t dev, berr_t *err)
{
  struct stat st;
  if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : berr_set(err, errno, "stat %s", name);
  if (S_ISDIR(st.st_mode)) {
    if (st.st_dev != dev)
      return berr_set(err, EBUSY, "remove %s: a mount point is still mounted", name);
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) /* ENOENT: removed meanwhile by someone else (a monitor) */
      return errno == ENOENT ? 0 : berr_set(err, errno, "open %s", name);
    cleanup_dir DIR *d = fdopendir(fd);
    if (!d) {
      close(fd);
      return berr_set(err, errno, "open %s", name);
    }
    struct dirent *de;
    while ((de = readdir(d))) {
      if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
        continue;
      if (rm_rf_at(dirfd(d), de->d_name, dev, err) < 0)
        return berr_wrap(err, "%s", name);
    }
    if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
      return berr_set(err, errno, "rmdir %s", name);
    return 0;
  }
  if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
    return berr_set(err, errno, "unlink %s", name);
  return 0;
}

int fs_rm_rf(const char *path, berr_t *err)
{
  struct stat st;
  if (lstat(path, &st) < 0)
    return errno == ENOENT ? 0 : berr_set(err, errno, "stat %s", path);
  if (rm_rf_at(AT_FDCWD, path, st.st_dev, err) < 0)
    return -1;
  return 0;
}

bool fs_exists(const char *path)
{
  return access(path, F_OK) == 0;
}

int fs_write_str(const char *path, const char *s, berr_t *err)
{
  cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return berr_set(err, errno, "open %s", path);
  size_t n = strlen(s);
  ssize_t w = write(fd, s, n);
  if (w < 0)
    return berr_set(err, errno, "write \"%s\" to %s", s, path);
  if ((size_t)w != n)
    return berr_set(err, EIO, "write \"%s\" to %s: short write", s, path);
  return 0;
}

int fs_copy_file(const char *src, const char *dst, mode_t mode, berr_t *err)
{
  cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return berr_set(err, errno, "open %s", src);
  cleanup_close int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (out < 0)
    return berr_set(err, errno, "create %s", dst);
  char chunk[65536];
  for (;;) {
    ssize_t r = read(in, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return berr_set(err, errno, "read %s", src);
    if (r == 0)
      break;
    for (ssize_t off = 0; off < r;) {
      ssize_t w = write(out, chunk + off, (size_t)(r - off));
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return berr_set(err, errno, "write %s", dst);
      off += w;
    }
  }
  return 0;
}

char *path_join(const char *a, const char *b)
{
  size_t la = strlen(a);
  while (la > 1 && a[la - 1] == '/')
    la--;
  while (*b == '/')
    b++;
  return xasprintf("%.*s/%s", (int)la, a, b);
}
