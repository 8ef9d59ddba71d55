/* import.c — `image import`: a root filesystem (directory or tarball) becomes
 * a one-layer image. The layer is written as a plain tar (hashed: the
 * diff_id), gzip-compressed (hashed: the blob digest), then unpacked through
 * the same checks as any loaded layer before the image is committed.
 *
 * Directory walks are sorted and owners are numeric only, so the same tree
 * with the same mtimes and $SOURCE_DATE_EPOCH gives the same image id; that
 * is what keeps the offline busybox image reproducible. Device nodes and
 * sockets are skipped with a warning: layers may not carry them. */
#include "image/internal.h"

#include "image/archive_dl.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct walk {
  struct archive *w;
  json_t *inodes; /* "dev:ino" -> first path, for hard links */
  int depth;
} walk;

static void cleanup_writep(struct archive **a)
{
  if (*a)
    archive_write_free(*a);
}
static void cleanup_readp(struct archive **a)
{
  if (*a)
    archive_read_free(*a);
}
static void cleanup_entryp(struct archive_entry **e)
{
  if (*e)
    archive_entry_free(*e);
}
#define cleanup_write __attribute__((cleanup(cleanup_writep)))
#define cleanup_read  __attribute__((cleanup(cleanup_readp)))
#define cleanup_entry __attribute__((cleanup(cleanup_entryp)))

static int write_header(struct archive *w, struct archive_entry *e, berr_t *err)
{
  if (archive_write_header(w, e) < ARCHIVE_WARN)
    return berr_set(err, 0, "write %s: %s", archive_entry_pathname(e), archive_error_string(w));
  return 0;
}

static int copy_fd(struct archive *w, int fd, const char *name, berr_t *err)
{
  cleanup_free char *buf = xmalloc(1 << 16);
  for (;;) {
    ssize_t r = read(fd, buf, 1 << 16);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return berr_set(err, errno, "read %s", name);
    if (r == 0)
      return 0;
    if (archive_write_data(w, buf, (size_t)r) != r)
      return berr_set(err, 0, "write %s: %s", name, archive_error_string(w));
  }
}

static int name_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(walk *wk, int dirfd, const char *prefix, berr_t *err);

static int walk_entry(walk *wk, int dirfd, const char *name, const char *rel, berr_t *err)
{
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return berr_set(err, errno, "stat %s", rel);
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode)) {
    log_warn("msg=\"import: skipping device node or socket\" path=%s", rel);
    return 0;
  }
  cleanup_entry struct archive_entry *e = archive_entry_new();
  archive_entry_copy_stat(e, &st);
  archive_entry_set_pathname(e, rel);
  archive_entry_unset_atime(e);
  archive_entry_unset_ctime(e);
  archive_entry_unset_birthtime(e);
  archive_entry_set_nlink(e, 1);
  archive_entry_set_dev(e, 0);
  archive_entry_set_ino(e, 0);

  if (S_ISLNK(st.st_mode)) {
    cleanup_free char *target = xmalloc((size_t)st.st_size + 1);
    ssize_t n = readlinkat(dirfd, name, target, (size_t)st.st_size + 1);
    if (n < 0 || n > st.st_size)
      return berr_set(err, n < 0 ? errno : 0, "readlink %s", rel);
    target[n] = '\0';
    archive_entry_set_symlink(e, target);
    return write_header(wk->w, e, err);
  }
  if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
    cleanup_free char *key
        = xasprintf("%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
    const char *first = json_string_value(json_object_get(wk->inodes, key));
    if (first) {
      archive_entry_set_hardlink(e, first);
      archive_entry_set_size(e, 0);
      return write_header(wk->w, e, err);
    }
    json_object_set_new(wk->inodes, key, json_string(rel));
  }
  if (S_ISREG(st.st_mode)) {
    cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return berr_set(err, errno, "open %s", rel);
    if (write_header(wk->w, e, err) < 0)
      return -1;
    return copy_fd(wk->w, fd, rel, err);
  }
  if (write_header(wk->w, e, err) < 0)
    return -1;
  if (S_ISDIR(st.st_mode)) {
    cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return berr_set(err, errno, "open %s", rel);
    return walk_dir(wk, fd, rel, err);
  }
  return 0; /* fifo */
}

static int walk_dir(walk *wk, int dirfd, const char *prefix, berr_t *err)
{
  if (wk->depth > 1024)
    return berr_set(err, 0, "%s: directories nested too deep", prefix);
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return berr_set(err, errno, "open %s", *prefix ? prefix : ".");
  cleanup_dir DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return berr_set(err, errno, "open %s", *prefix ? prefix : ".");
  }
  cleanup_strv char **names = xcalloc(1, sizeof *names);
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      strv_push(&names, de->d_name);
  qsort(names, strv_len(names), sizeof *names, name_cmp);
  wk->depth++;
  for (size_t i = 0; names[i]; i++) {
    cleanup_free char *rel = *prefix ? xasprintf("%s/%s", prefix, names[i]) : xstrdup(names[i]);
    if (walk_entry(wk, dirfd, names[i], rel, err) < 0)
      return -1;
  }
  wk->depth--;
  return 0;
}

/* Copies a tarball's entries, leaving out device nodes and sockets. */
static int copy_tarball(struct archive *w, int fd, berr_t *err)
{
  cleanup_read struct archive *r = archive_read_new();
  archive_read_support_filter_all(r);
  archive_read_support_format_tar(r);
  if (archive_read_open_fd(r, fd, 1 << 16) != ARCHIVE_OK)
    return berr_set(err, 0, "not a tar archive: %s", archive_error_string(r));
  struct archive_entry *e;
  int rc;
  while ((rc = archive_read_next_header(r, &e)) != ARCHIVE_EOF) {
    if (rc < ARCHIVE_WARN)
      return berr_set(err, 0, "not a tar archive: %s", archive_error_string(r));
    mode_t t = archive_entry_filetype(e);
    if (!archive_entry_hardlink(e) && (t == AE_IFCHR || t == AE_IFBLK || t == AE_IFSOCK)) {
      log_warn("msg=\"import: skipping device node or socket\" path=%s", archive_entry_pathname(e));
      continue;
    }
    if (write_header(w, e, err) < 0)
      return -1;
    const void *blk;
    size_t len;
    la_int64_t off;
    while ((rc = archive_read_data_block(r, &blk, &len, &off)) == ARCHIVE_OK)
      if (len && archive_write_data(w, blk, len) != (la_ssize_t)len)
        return berr_set(err, 0, "write %s: %s", archive_entry_pathname(e), archive_error_string(w));
    if (rc != ARCHIVE_EOF)
      return berr_set(err, 0, "read %s: %s", archive_entry_pathname(e), archive_error_string(r));
  }
  return 0;
}

/* Writes the layer tar for src to path. */
static int make_tar(const char *src, const char *path, berr_t *err)
{
  cleanup_write struct archive *w = archive_write_new();
  archive_write_set_format_pax_restricted(w);
  if (archive_write_open_filename(w, path) != ARCHIVE_OK)
    return berr_set(err, 0, "create %s: %s", path, archive_error_string(w));
  struct stat st;
  bool is_stdin = !strcmp(src, "-");
  if (!is_stdin && stat(src, &st) < 0)
    return berr_set(err, errno, "%s", src);
  if (!is_stdin && S_ISDIR(st.st_mode)) {
    cleanup_close int fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
      return berr_set(err, errno, "open %s", src);
    cleanup_json json_t *inodes = json_object();
    walk wk = { .w = w, .inodes = inodes };
    if (walk_dir(&wk, fd, "", err) < 0)
      return -1;
  } else {
    cleanup_close int fd = is_stdin ? dup(0) : open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return berr_set(err, errno, "open %s", src);
    if (copy_tarball(w, fd, err) < 0)
      return -1;
  }
  if (archive_write_close(w) != ARCHIVE_OK)
    return berr_set(err, 0, "write %s: %s", path, archive_error_string(w));
  return 0;
}

/* gzip-compresses in into out (libarchive's raw format: one data stream). */
static int gzip_file(const char *in, const char *out, berr_t *err)
{
  cleanup_close int fd = open(in, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0)
    return berr_set(err, errno, "open %s", in);
  cleanup_write struct archive *w = archive_write_new();
  archive_write_add_filter_gzip(w);
  archive_write_set_format_raw(w);
  /* No timestamp in the gzip header: same tree, same blob digest. */
  if (archive_write_set_filter_option(w, "gzip", "timestamp", NULL) < ARCHIVE_WARN)
    return berr_set(err, 0, "gzip: %s", archive_error_string(w));
  if (archive_write_open_filename(w, out) != ARCHIVE_OK)
    return berr_set(err, 0, "create %s: %s", out, archive_error_string(w));
  cleanup_entry struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, "layer.tar");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, st.st_size);
  if (write_header(w, e, err) < 0 || copy_fd(w, fd, in, err) < 0)
    return -1;
  if (archive_write_close(w) != ARCHIVE_OK)
    return berr_set(err, 0, "write %s: %s", out, archive_error_string(w));
  return 0;
}

/* Whether the unpacked layer has /bin/sh, following its own symlinks as the
 * container would (bin -> usr/bin, sh -> /bin/busybox). */
static bool has_shell(const char *layer_dir)
{
  cleanup_close int root = open(layer_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return false;
  struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
  int fd = (int)syscall(SYS_openat2, root, "bin/sh", &how, sizeof how);
  if (fd < 0)
    return false;
  close(fd);
  return true;
}

static int64_t created_now(void)
{
  const char *sde = getenv("SOURCE_DATE_EPOCH");
  int64_t secs;
  berr_t e = BERR_INIT;
  if (sde && *sde && parse_int64(sde, &secs, &e) == 0 && secs >= 0)
    return secs * 1000000000;
  berr_clear(&e);
  return time_now_ns();
}

static int import(img_store *s, img_stage *st, const char *src, const char *name, char **id_out,
                  berr_t *err)
{
  cleanup_free char *tar = path_join(st->dir, "layer.tar");
  cleanup_free char *gz = path_join(st->dir, "layer.tar.gz");
  cleanup_free char *diff_id = NULL, *digest = NULL;
  int64_t gz_size = 0;
  if (make_tar(src, tar, err) < 0 || img_hash_file(AT_FDCWD, tar, &diff_id, NULL, err) < 0
      || gzip_file(tar, gz, err) < 0 || img_hash_file(AT_FDCWD, gz, &digest, &gz_size, err) < 0)
    return -1;
  unlink(tar);
  if (img_stage_adopt(st, gz, digest, err) < 0)
    return -1;
  int64_t size = 0;
  if (img_stage_layer(s, st, digest, diff_id, &size, err) < 0)
    return -1;
  cleanup_free char *staged = path_join(st->layers, img_digest_hex(diff_id));
  cleanup_free char *stored = path_join(s->layers, img_digest_hex(diff_id));
  bool shell = has_shell(fs_exists(staged) ? staged : stored);

  cleanup_free char *created = time_rfc3339(created_now());
  json_t *rc = json_pack("{s:[s]}", "Env", DEFAULT_PATH);
  if (shell)
    json_object_set_new(rc, "Cmd", json_pack("[s]", "sh"));
  cleanup_json json_t *cfg = json_pack(
      "{s:s, s:s, s:s, s:o, s:{s:s, s:[s]}, s:[{s:s, s:s}]}", "created", created, "architecture",
      img_host_arch(), "os", "linux", "config", rc, "rootfs", "type", "layers", "diff_ids", diff_id,
      "history", "created", created, "created_by", "berth image import");
  cleanup_free char *cdata = json_dumps(cfg, JSON_COMPACT);
  cleanup_free char *cdigest = NULL;
  if (img_stage_blob_data(st, cdata, strlen(cdata), &cdigest, err) < 0)
    return -1;
  char *layers[] = { digest, NULL };
  char *types[] = { "application/vnd.oci.image.layer.v1.tar+gzip", NULL };
  cleanup_free char *mdata = img_manifest_build(cdigest, strlen(cdata), layers, &gz_size, types);
  cleanup_free char *mdigest = NULL;
  if (img_stage_blob_data(st, mdata, strlen(mdata), &mdigest, err) < 0)
    return -1;
  img_manifest m;
  if (img_manifest_parse(mdata, strlen(mdata), &m, err) < 0
      || img_manifest_set_config(&m, cdata, strlen(cdata), err) < 0) {
    img_manifest_free(&m);
    return -1;
  }

  cleanup_close int lock = img_lock(s, LOCK_EX, err);
  cleanup_json json_t *idx = NULL;
  int r = -1;
  if (lock >= 0 && img_index_load(s, &idx, err) == 0 && img_stage_commit(s, st, err) == 0) {
    char *names[] = { (char *)name, NULL };
    img_index_put(idx, mdigest, &m, size, name ? names : NULL);
    r = img_index_save(s, idx, err);
  }
  if (r == 0) {
    log_info("msg=\"image imported\" id=%s name=%s", m.config, name ? name : "");
    if (id_out)
      *id_out = xstrdup(m.config);
  }
  img_manifest_free(&m);
  return r;
}

int img_import(img_store *s, const char *src, const char *name, char **id_out, berr_t *err)
{
  cleanup_free char *norm = NULL;
  if (name && img_ref_normalize(name, &norm, err) < 0)
    return -1;
  img_stage st;
  if (img_stage_init(s, "import-", &st, err) < 0) {
    img_stage_free(&st);
    return -1;
  }
  int rc = import(s, &st, src, norm, id_out, err);
  img_stage_free(&st);
  if (rc < 0)
    return berr_wrap(err, "import %s", src);
  return 0;
}
