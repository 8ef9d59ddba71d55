/* unpack.c — extracting layers (and image archives) without trusting them.
 *
 * A layer is a tar stream, maybe gzip- or zstd-compressed (libarchive tells
 * by content). Two libarchive readers are chained: the outer one only
 * decompresses ("raw" format) and the inner one parses the tar from the
 * outer one's output. That way one pass hashes both the compressed bytes
 * (the blob digest) and the uncompressed ones (the diff_id).
 *
 * Nothing is written through a path the layer controls: every parent
 * directory is opened with openat2(RESOLVE_BENEATH) relative to the layer's
 * own directory fd, and the last component is created with *at() calls that
 * do not follow symlinks (O_EXCL, AT_SYMLINK_NOFOLLOW). Absolute names, ".."
 * components, symlinks leading out, hard links leading out and device nodes
 * refuse the whole layer; the caller removes the half-made directory.
 *
 * OCI whiteouts become overlayfs ones, so each unpacked layer can be an
 * overlay lowerdir as it is: ".wh.NAME" -> character device 0/0 NAME, and
 * ".wh..wh..opq" -> xattr trusted.overlay.opaque=y on its directory. xattrs
 * in the layer itself are applied only for user.* and security.capability:
 * a layer must not be able to set trusted.overlay.* (redirects, metacopy). */
#include "image/internal.h"

#include "image/archive_dl.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CHUNK (1 << 16)

typedef struct unpack {
  enum img_unpack_mode mode;
  int rootfd;
  int fd; /* compressed input */
  struct archive *outer;
  img_hash *zhash; /* compressed stream */
  img_hash *dhash; /* uncompressed stream (diff_id) */
  char *zbuf, *dbuf;
  int64_t size;
  int read_errno;
  /* Directory mtimes, applied at the end: later entries change them. */
  char **dir_paths;
  struct timespec *dir_times;
  size_t ndirs;
} unpack;

static void cleanup_archivep(struct archive **a)
{
  if (*a)
    archive_read_free(*a);
}
#define cleanup_archive __attribute__((cleanup(cleanup_archivep)))

static la_ssize_t outer_read(struct archive *a, void *arg, const void **buf)
{
  unpack *u = arg;
  for (;;) {
    ssize_t r = read(u->fd, u->zbuf, CHUNK);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      u->read_errno = errno;
      archive_set_error(a, errno, "read: %s", strerror(errno));
      return -1;
    }
    img_hash_update(u->zhash, u->zbuf, (size_t)r);
    *buf = u->zbuf;
    return r;
  }
}

static la_ssize_t inner_read(struct archive *a, void *arg, const void **buf)
{
  unpack *u = arg;
  la_ssize_t r = archive_read_data(u->outer, u->dbuf, CHUNK);
  if (r < 0) {
    const char *m = archive_error_string(u->outer);
    archive_set_error(a, archive_errno(u->outer), "%s", m ? m : "decompression failed");
    return -1;
  }
  img_hash_update(u->dhash, u->dbuf, (size_t)r);
  *buf = u->dbuf;
  return r;
}

/* Splits an entry name into components, refusing absolute names and "..". */
static int split_name(const char *raw, char ***out, berr_t *err)
{
  if (raw[0] == '/')
    return berr_set(err, 0, "absolute path leads outside the layer");
  char **comps = NULL;
  const char *p = raw;
  while (*p) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      strv_free(comps);
      return berr_set(err, 0, "\"..\" leads outside the layer");
    }
    if (n > 0 && !(n == 1 && p[0] == '.')) {
      cleanup_free char *c = xstrndup(p, n);
      strv_push(&comps, c);
    }
    p += n;
    if (*p == '/')
      p++;
  }
  *out = comps;
  return 0;
}

static char *join_comps(char **comps, size_t n)
{
  buf_t b = { 0 };
  for (size_t i = 0; i < n; i++) {
    if (i)
      buf_puts(&b, "/");
    buf_puts(&b, comps[i]);
  }
  return buf_steal(&b);
}

static int resolve_error(int e, const char *path, berr_t *err)
{
  if (e == EXDEV || e == ELOOP)
    return berr_set(err, 0, "%s leads outside the layer through a symlink", path);
  if (e == ENOTDIR)
    return berr_set(err, 0, "%s is not a directory", path);
  return berr_set(err, e, "open %s", path);
}

/* Opens the directory made of the first n components, below the layer root
 * and never outside it. create: make missing directories (0755). Returns a
 * new fd, or rootfd's duplicate for n == 0. */
static int open_dir(unpack *u, char **comps, size_t n, bool create, berr_t *err)
{
  if (n == 0) {
    int fd = fcntl(u->rootfd, F_DUPFD_CLOEXEC, 0);
    return fd < 0 ? berr_set(err, errno, "dup") : fd;
  }
  cleanup_free char *full = join_comps(comps, n);
  int fd = img_openat_beneath(u->rootfd, full, O_RDONLY | O_DIRECTORY, 0);
  if (fd >= 0)
    return fd;
  if (errno != ENOENT || !create)
    return resolve_error(errno, full, err);
  /* Walk down, creating what is missing; each step is resolved from the root
   * again so that a symlink never takes us out. */
  int cur = fcntl(u->rootfd, F_DUPFD_CLOEXEC, 0);
  if (cur < 0)
    return berr_set(err, errno, "dup");
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *prefix = join_comps(comps, i + 1);
    int next = img_openat_beneath(u->rootfd, prefix, O_RDONLY | O_DIRECTORY, 0);
    if (next < 0 && errno == ENOENT) {
      if (mkdirat(cur, comps[i], 0755) < 0 && errno != EEXIST) {
        int e = errno;
        close(cur);
        return berr_set(err, e, "mkdir %s", prefix);
      }
      next = img_openat_beneath(u->rootfd, prefix, O_RDONLY | O_DIRECTORY, 0);
    }
    int e = errno;
    close(cur);
    if (next < 0)
      return resolve_error(e, prefix, err);
    cur = next;
  }
  return cur;
}

/* Removes whatever is at parent/name (recursively for directories). */
static int remove_at(int parent, const char *name, int depth)
{
  struct stat st;
  if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : -1;
  if (!S_ISDIR(st.st_mode))
    return unlinkat(parent, name, 0);
  if (depth > 4096) {
    errno = ELOOP;
    return -1;
  }
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  cleanup_dir DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -1;
  }
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")
        && remove_at(dirfd(d), de->d_name, depth + 1) < 0)
      return -1;
  return unlinkat(parent, name, AT_REMOVEDIR);
}

static bool xattr_allowed(const char *name)
{
  return str_has_prefix(name, "user.") || !strcmp(name, "security.capability");
}

static int apply_xattrs(struct archive_entry *e, int fd, berr_t *err)
{
  const char *name;
  const void *value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (!xattr_allowed(name)) {
      log_debug("msg=\"layer xattr ignored\" name=%s", name);
      continue;
    }
    if (fsetxattr(fd, name, value, size, 0) < 0 && errno != ENOTSUP)
      return berr_set(err, errno, "set xattr %s", name);
  }
  return 0;
}

/* Owner, mode, xattrs and times of a file or directory we hold open. */
static int apply_meta_fd(unpack *u, struct archive_entry *e, int fd, bool is_dir, berr_t *err)
{
  if (u->mode == IMG_UNPACK_ARCHIVE)
    return fchmod(fd, is_dir ? 0755 : 0644) < 0 ? berr_set(err, errno, "chmod") : 0;
  int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
  if (uid < 0 || gid < 0 || uid >= UINT32_MAX || gid >= UINT32_MAX)
    return berr_set(err, 0, "owner %lld:%lld out of range", (long long)uid, (long long)gid);
  if (fchown(fd, (uid_t)uid, (gid_t)gid) < 0)
    return berr_set(err, errno, "chown");
  if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
    return berr_set(err, errno, "chmod");
  if (apply_xattrs(e, fd, err) < 0)
    return -1;
  struct timespec ts[2] = { { archive_entry_mtime(e), archive_entry_mtime_nsec(e) },
                            { archive_entry_mtime(e), archive_entry_mtime_nsec(e) } };
  if (futimens(fd, ts) < 0)
    return berr_set(err, errno, "set times");
  return 0;
}

/* Owner and times of a symlink or fifo, by name. */
static int apply_meta_at(unpack *u, struct archive_entry *e, int parent, const char *name,
                         bool chmod_too, berr_t *err)
{
  if (u->mode == IMG_UNPACK_ARCHIVE)
    return 0;
  int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
  if (uid < 0 || gid < 0 || uid >= UINT32_MAX || gid >= UINT32_MAX)
    return berr_set(err, 0, "owner %lld:%lld out of range", (long long)uid, (long long)gid);
  if (fchownat(parent, name, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0)
    return berr_set(err, errno, "chown");
  if (chmod_too && fchmodat(parent, name, archive_entry_perm(e) & 07777, 0) < 0)
    return berr_set(err, errno, "chmod");
  struct timespec ts[2] = { { archive_entry_mtime(e), archive_entry_mtime_nsec(e) },
                            { archive_entry_mtime(e), archive_entry_mtime_nsec(e) } };
  if (utimensat(parent, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return berr_set(err, errno, "set times");
  return 0;
}

static int write_data(struct archive *a, int fd, struct archive_entry *e, int64_t *written,
                      berr_t *err)
{
  const void *blk;
  size_t len;
  la_int64_t off;
  int r;
  int64_t total = 0;
  while ((r = archive_read_data_block(a, &blk, &len, &off)) == ARCHIVE_OK) {
    const char *p = blk;
    while (len > 0) {
      ssize_t w = pwrite(fd, p, len, off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return berr_set(err, errno, "write");
      p += w;
      off += w;
      len -= (size_t)w;
      total += w;
    }
  }
  if (r != ARCHIVE_EOF)
    return berr_set(err, 0, "read: %s", archive_error_string(a));
  if (archive_entry_size_is_set(e) && ftruncate(fd, archive_entry_size(e)) < 0)
    return berr_set(err, errno, "truncate");
  *written = archive_entry_size_is_set(e) ? archive_entry_size(e) : total;
  return 0;
}

static int do_whiteout(unpack *u, char **comps, size_t n, berr_t *err)
{
  const char *base = comps[n - 1];
  cleanup_close int parent = open_dir(u, comps, n - 1, true, err);
  if (parent < 0)
    return -1;
  if (!strcmp(base, ".wh..wh..opq")) {
    if (fsetxattr(parent, "trusted.overlay.opaque", "y", 1, 0) < 0)
      return berr_set(err, errno, "mark directory opaque (trusted.overlay.opaque)");
    return 0;
  }
  if (str_has_prefix(base, ".wh..wh.")) {
    log_debug("msg=\"aufs metadata entry ignored\" name=%s", base);
    return 0;
  }
  const char *name = base + 4;
  if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
    return berr_set(err, 0, "invalid whiteout");
  if (remove_at(parent, name, 0) < 0)
    return berr_set(err, errno, "remove %s", name);
  if (mknodat(parent, name, S_IFCHR | 0, makedev(0, 0)) < 0)
    return berr_set(err, errno, "create overlay whiteout %s", name);
  return 0;
}

static int do_hardlink(unpack *u, struct archive_entry *e, int parent, const char *base,
                       berr_t *err)
{
  cleanup_strv char **t = NULL;
  const char *target = archive_entry_hardlink(e);
  if (split_name(target, &t, err) < 0)
    return berr_wrap(err, "hard link to \"%s\"", target);
  size_t tn = strv_len(t);
  if (tn == 0)
    return berr_set(err, 0, "hard link to the layer root");
  cleanup_close int tparent = open_dir(u, t, tn - 1, false, err);
  if (tparent < 0)
    return berr_wrap(err, "hard link to \"%s\"", target);
  struct stat st;
  if (fstatat(tparent, t[tn - 1], &st, AT_SYMLINK_NOFOLLOW) < 0)
    return berr_set(err, errno, "hard link to \"%s\"", target);
  if (S_ISDIR(st.st_mode))
    return berr_set(err, 0, "hard link to directory \"%s\"", target);
  struct stat cur;
  if (fstatat(parent, base, &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_ino == st.st_ino
      && cur.st_dev == st.st_dev)
    return 0; /* a link to itself */
  if (remove_at(parent, base, 0) < 0)
    return berr_set(err, errno, "remove existing entry");
  if (linkat(tparent, t[tn - 1], parent, base, 0) < 0)
    return berr_set(err, errno, "hard link to \"%s\"", target);
  return 0;
}

static int extract_entry(unpack *u, struct archive *a, struct archive_entry *e, berr_t *err)
{
  const char *raw = archive_entry_pathname(e);
  if (!raw || !*raw)
    return berr_set(err, 0, "entry without a name");
  cleanup_strv char **comps = NULL;
  if (split_name(raw, &comps, err) < 0)
    return -1;
  size_t n = strv_len(comps);
  mode_t type = archive_entry_filetype(e);
  bool hardlink = archive_entry_hardlink(e) != NULL;

  if (n == 0) { /* "./": the layer root itself */
    if (type == AE_IFDIR && !hardlink)
      return apply_meta_fd(u, e, u->rootfd, true, err);
    return berr_set(err, 0, "the layer root is not a directory");
  }
  if (u->mode == IMG_UNPACK_LAYER && str_has_prefix(comps[n - 1], ".wh."))
    return do_whiteout(u, comps, n, err);

  if (!hardlink && (type == AE_IFCHR || type == AE_IFBLK))
    return berr_set(err, 0, "device nodes are not allowed in images");
  if (!hardlink && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK && type != AE_IFIFO)
    return berr_set(err, 0, "unsupported file type 0%o", (unsigned)type);
  if (u->mode == IMG_UNPACK_ARCHIVE && type == AE_IFIFO && !hardlink)
    return berr_set(err, 0, "fifos are not allowed in image archives");

  const char *base = comps[n - 1];
  cleanup_close int parent = open_dir(u, comps, n - 1, true, err);
  if (parent < 0)
    return -1;

  if (hardlink)
    return do_hardlink(u, e, parent, base, err);

  if (type == AE_IFDIR) {
    struct stat st;
    if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)
        && unlinkat(parent, base, 0) < 0)
      return berr_set(err, errno, "remove existing entry");
    if (mkdirat(parent, base, 0700) < 0 && errno != EEXIST)
      return berr_set(err, errno, "mkdir");
    cleanup_close int fd = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return berr_set(err, errno, "open directory");
    if (u->mode == IMG_UNPACK_LAYER) {
      u->dir_paths = xrealloc(u->dir_paths, (u->ndirs + 1) * sizeof *u->dir_paths);
      u->dir_times = xrealloc(u->dir_times, (u->ndirs + 1) * sizeof *u->dir_times);
      u->dir_paths[u->ndirs] = join_comps(comps, n);
      u->dir_times[u->ndirs]
          = (struct timespec){ archive_entry_mtime(e), archive_entry_mtime_nsec(e) };
      u->ndirs++;
    }
    return apply_meta_fd(u, e, fd, true, err);
  }

  if (remove_at(parent, base, 0) < 0)
    return berr_set(err, errno, "remove existing entry");

  if (type == AE_IFLNK) {
    const char *target = archive_entry_symlink(e);
    if (!target)
      return berr_set(err, 0, "symlink without a target");
    if (symlinkat(target, parent, base) < 0)
      return berr_set(err, errno, "symlink");
    return apply_meta_at(u, e, parent, base, false, err);
  }
  if (type == AE_IFIFO) {
    if (mknodat(parent, base, S_IFIFO | 0600, 0) < 0)
      return berr_set(err, errno, "mkfifo");
    return apply_meta_at(u, e, parent, base, true, err);
  }

  cleanup_close int fd
      = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return berr_set(err, errno, "create");
  int64_t written = 0;
  if (write_data(a, fd, e, &written, err) < 0)
    return -1;
  u->size += written;
  return apply_meta_fd(u, e, fd, false, err);
}

/* Puts back directory mtimes, deepest last-seen first. Best effort. */
static void restore_dir_times(unpack *u)
{
  for (size_t i = u->ndirs; i-- > 0;) {
    int fd = img_openat_beneath(u->rootfd, u->dir_paths[i], O_RDONLY | O_DIRECTORY, 0);
    if (fd >= 0) {
      struct timespec ts[2] = { u->dir_times[i], u->dir_times[i] };
      futimens(fd, ts);
      close(fd);
    }
  }
}

static void unpack_free(unpack *u)
{
  for (size_t i = 0; i < u->ndirs; i++)
    free(u->dir_paths[i]);
  free(u->dir_paths);
  free(u->dir_times);
}

static int check_digest(img_hash *h, const char *want, const char *what, berr_t *err)
{
  cleanup_free char *got = img_hash_final(h);
  if (want && strcmp(got, want) != 0)
    return berr_set(err, 0, "%s mismatch: expected %s, got %s", what, want, got);
  return 0;
}

static int unpack_run(unpack *u, const char *digest, const char *diff_id, berr_t *err)
{
  img_hash *zh = u->zhash, *dh = u->dhash;
  char *zbuf = u->zbuf, *dbuf = u->dbuf;
  int fd = u->fd;

  cleanup_archive struct archive *outer = archive_read_new();
  archive_read_support_filter_all(outer);
  archive_read_support_format_raw(outer);
  if (archive_read_open(outer, u, NULL, outer_read, NULL) != ARCHIVE_OK)
    return berr_set(err, u->read_errno, "not a tar archive: %s", archive_error_string(outer));
  struct archive_entry *oe;
  int r = archive_read_next_header(outer, &oe);
  if (r == ARCHIVE_EOF)
    return berr_set(err, 0, "empty archive");
  if (r < ARCHIVE_WARN)
    return berr_set(err, 0, "not a tar archive: %s", archive_error_string(outer));
  u->outer = outer;

  cleanup_archive struct archive *inner = archive_read_new();
  archive_read_support_format_tar(inner);
  if (archive_read_open(inner, u, NULL, inner_read, NULL) != ARCHIVE_OK)
    return berr_set(err, 0, "not a tar archive: %s", archive_error_string(inner));
  struct archive_entry *e;
  bool any = false;
  while ((r = archive_read_next_header(inner, &e)) != ARCHIVE_EOF) {
    if (r < ARCHIVE_WARN) {
      if (!any)
        return berr_set(err, 0, "not a tar archive: %s", archive_error_string(inner));
      return berr_set(err, 0, "corrupt archive: %s", archive_error_string(inner));
    }
    any = true;
    if (extract_entry(u, inner, e, err) < 0) {
      const char *name = archive_entry_pathname(e);
      return berr_wrap(err, "entry \"%s\"", name ? name : "");
    }
  }

  /* Hash what the tar reader did not need (end-of-archive padding) and what
   * the decompressor did not need, so both digests cover every byte. */
  la_ssize_t n;
  while ((n = archive_read_data(outer, dbuf, CHUNK)) > 0)
    img_hash_update(dh, dbuf, (size_t)n);
  if (n < 0)
    return berr_set(err, 0, "corrupt archive: %s", archive_error_string(outer));
  ssize_t rn;
  while ((rn = read(fd, zbuf, CHUNK)) != 0) {
    if (rn < 0 && errno == EINTR)
      continue;
    if (rn < 0)
      return berr_set(err, errno, "read");
    img_hash_update(zh, zbuf, (size_t)rn);
  }
  restore_dir_times(u);
  if (check_digest(zh, digest, "digest", err) < 0 || check_digest(dh, diff_id, "diff_id", err) < 0)
    return -1;
  return 0;
}

int img_unpack_fd(int fd, int destfd, enum img_unpack_mode mode, const char *digest,
                  const char *diff_id, int64_t *size, berr_t *err)
{
  cleanup_hash img_hash *zh = img_hash_new();
  cleanup_hash img_hash *dh = img_hash_new();
  cleanup_free char *zbuf = xmalloc(CHUNK);
  cleanup_free char *dbuf = xmalloc(CHUNK);
  unpack u = {
    .mode = mode, .rootfd = destfd, .fd = fd, .zhash = zh, .dhash = dh, .zbuf = zbuf, .dbuf = dbuf
  };
  int rc = unpack_run(&u, digest, diff_id, err);
  unpack_free(&u);
  if (rc == 0 && size)
    *size = u.size;
  return rc;
}

int img_layer_unpack(const char *blob_path, const char *dest, const char *digest,
                     const char *diff_id, int64_t *size, berr_t *err)
{
  if ((digest && img_digest_check(digest, err) < 0)
      || (diff_id && img_digest_check(diff_id, err) < 0))
    return -1;
  cleanup_close int fd = open(blob_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berr_set(err, errno, "open %s", blob_path);
  if (mkdir(dest, 0755) < 0)
    return berr_set(err, errno, "mkdir %s", dest);
  cleanup_close int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0 || img_unpack_fd(fd, dfd, IMG_UNPACK_LAYER, digest, diff_id, size, err) < 0) {
    if (dfd < 0)
      berr_set(err, errno, "open %s", dest);
    berr_t ignored = BERR_INIT;
    fs_rm_rf(dest, &ignored);
    berr_clear(&ignored);
    return -1;
  }
  return 0;
}
