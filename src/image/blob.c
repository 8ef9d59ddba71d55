/* blob.c — the content-addressed part of the store: blobs named by their
 * sha256 (checked when written and again when read), the staging area that
 * makes a load all-or-nothing, and unpacked layers keyed by diff_id.
 *
 * Everything new is built under images/tmp/ and appears in blobs/ or layers/
 * by rename(), so a directory in layers/ is always a complete, verified layer
 * and two processes unpacking the same layer at once both succeed. */
#include "image/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *img_blob_path(img_store *s, const char *digest)
{
  return path_join(s->blobs, img_digest_hex(digest));
}

int img_blob_read(img_store *s, const char *digest, size_t max, char **data, size_t *len,
                  berr_t *err)
{
  if (img_digest_check(digest, err) < 0)
    return -1;
  cleanup_free char *path = img_blob_path(s, digest);
  cleanup_free char *buf = NULL;
  size_t n = 0;
  if (fs_read_file(path, max, &buf, &n, err) < 0)
    return berr_wrap(err, "blob %s", digest);
  cleanup_free char *got = img_sha256(buf, n);
  if (strcmp(got, digest) != 0)
    return berr_set(err, 0, "blob %s is corrupt: its content hashes to %s", digest, got);
  *data = steal_ptr(buf);
  if (len)
    *len = n;
  return 0;
}

int img_stage_init(img_store *s, const char *prefix, img_stage *st, berr_t *err)
{
  memset(st, 0, sizeof *st);
  if (img_mktemp_dir(s, prefix, &st->dir, err) < 0)
    return -1;
  st->blobs = path_join(st->dir, "blobs");
  st->layers = path_join(st->dir, "layers");
  st->digests = json_object();
  if (mkdir(st->blobs, 0700) < 0 || mkdir(st->layers, 0700) < 0)
    return berr_set(err, errno, "mkdir in %s", st->dir);
  return 0;
}

void img_stage_free(img_stage *st)
{
  if (st->dir) {
    berr_t e = BERR_INIT;
    if (fs_rm_rf(st->dir, &e) < 0)
      log_warn("msg=\"cannot remove staging directory\" err=\"%s\"", e.msg);
    berr_clear(&e);
  }
  free(st->dir);
  free(st->blobs);
  free(st->layers);
  json_decref(st->digests);
  memset(st, 0, sizeof *st);
}

int img_stage_blob_file(img_stage *st, int dirfd, const char *path, const char *digest,
                        int64_t size, char **got, berr_t *err)
{
  if (digest && img_digest_check(digest, err) < 0)
    return berr_wrap(err, "%s", path);
  cleanup_close int fd = img_openat_beneath(dirfd, path, O_RDONLY, 0);
  if (fd < 0)
    return berr_set(err, errno, "open %s", path);
  cleanup_free char *tmp = xasprintf("%s/incoming-%d", st->dir, (int)getpid());
  cleanup_free char *actual = NULL;
  int64_t actual_size = 0;
  unlink(tmp);
  if (img_copy_hashed(fd, tmp, &actual, &actual_size, err) < 0) {
    unlink(tmp);
    return berr_wrap(err, "%s", path);
  }
  if (digest && strcmp(actual, digest) != 0) {
    unlink(tmp);
    return berr_set(err, 0, "%s is corrupt: its content hashes to %s, not %s", path, actual,
                    digest);
  }
  if (size >= 0 && actual_size != size) {
    unlink(tmp);
    return berr_set(err, 0, "%s: size mismatch: expected %lld bytes, found %lld", path,
                    (long long)size, (long long)actual_size);
  }
  if (img_stage_adopt(st, tmp, actual, err) < 0)
    return -1;
  if (got)
    *got = steal_ptr(actual);
  return 0;
}

int img_stage_adopt(img_stage *st, const char *path, const char *digest, berr_t *err)
{
  cleanup_free char *dst = path_join(st->blobs, img_digest_hex(digest));
  if (rename(path, dst) < 0)
    return berr_set(err, errno, "rename %s", path);
  json_object_set_new(st->digests, digest, json_true());
  return 0;
}

int img_stage_blob_data(img_stage *st, const void *data, size_t len, char **digest, berr_t *err)
{
  cleanup_free char *d = img_sha256(data, len);
  cleanup_free char *dst = path_join(st->blobs, img_digest_hex(d));
  if (!json_object_get(st->digests, d)) {
    if (fs_write_atomic(dst, data, len, 0644, err) < 0)
      return -1;
    json_object_set_new(st->digests, d, json_true());
  }
  if (digest)
    *digest = steal_ptr(d);
  return 0;
}

char *img_stage_blob_path(img_store *s, img_stage *st, const char *digest)
{
  if (st && json_object_get(st->digests, digest))
    return path_join(st->blobs, img_digest_hex(digest));
  return img_blob_path(s, digest);
}

int img_stage_layer(img_store *s, img_stage *st, const char *digest, const char *diff_id,
                    int64_t *size, berr_t *err)
{
  if (img_digest_check(digest, err) < 0 || img_digest_check(diff_id, err) < 0)
    return -1;
  cleanup_free char *stored = path_join(s->layers, img_digest_hex(diff_id));
  cleanup_free char *staged = path_join(st->layers, img_digest_hex(diff_id));
  if (fs_exists(stored)) {
    *size += img_du(stored);
    return 0;
  }
  if (fs_exists(staged)) {
    *size += img_du(staged);
    return 0;
  }
  cleanup_free char *blob = img_stage_blob_path(s, st, digest);
  int64_t n = 0;
  if (img_layer_unpack(blob, staged, digest, diff_id, &n, err) < 0)
    return berr_wrap(err, "layer %s", digest);
  *size += n;
  return 0;
}

static int sync_dir(const char *path)
{
  cleanup_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? -1 : fsync(fd);
}

int img_stage_commit(img_store *s, img_stage *st, berr_t *err)
{
  /* Unpacked files are written without fsync; one syncfs makes them durable
   * before they become visible. */
  cleanup_close int fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || syncfs(fd) < 0)
    return berr_set(err, errno, "sync %s", st->dir);
  const char *digest;
  json_t *v;
  json_object_foreach(st->digests, digest, v)
  {
    cleanup_free char *src = path_join(st->blobs, img_digest_hex(digest));
    cleanup_free char *dst = img_blob_path(s, digest);
    if (fs_exists(dst))
      continue;
    if (rename(src, dst) < 0)
      return berr_set(err, errno, "store blob %s", digest);
  }
  sync_dir(s->blobs);
  cleanup_dir DIR *d = opendir(st->layers);
  if (!d)
    return berr_set(err, errno, "open %s", st->layers);
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    cleanup_free char *src = path_join(st->layers, de->d_name);
    cleanup_free char *dst = path_join(s->layers, de->d_name);
    if (rename(src, dst) < 0 && errno != EEXIST && errno != ENOTEMPTY)
      return berr_set(err, errno, "store layer %s", de->d_name);
  }
  sync_dir(s->layers);
  return 0;
}

int img_layer_ensure(img_store *s, const char *digest, const char *diff_id, berr_t *err)
{
  if (img_digest_check(digest, err) < 0 || img_digest_check(diff_id, err) < 0)
    return -1;
  cleanup_free char *dst = path_join(s->layers, img_digest_hex(diff_id));
  if (fs_exists(dst))
    return 0;
  cleanup_free char *tmp = NULL;
  if (img_mktemp_dir(s, "layer-", &tmp, err) < 0)
    return -1;
  cleanup_free char *dir = path_join(tmp, "layer");
  cleanup_free char *blob = img_blob_path(s, digest);
  int rc = img_layer_unpack(blob, dir, digest, diff_id, NULL, err);
  if (rc < 0) {
    berr_wrap(err, "unpack layer %s", digest);
  } else {
    cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
      syncfs(fd);
    if (rename(dir, dst) < 0 && errno != EEXIST && errno != ENOTEMPTY)
      rc = berr_set(err, errno, "store layer %s", dst);
    else
      log_info("msg=\"layer unpacked\" digest=%s diff_id=%s", digest, diff_id);
  }
  berr_t e = BERR_INIT;
  fs_rm_rf(tmp, &e);
  berr_clear(&e);
  return rc;
}

int64_t img_layer_size(img_store *s, const char *diff_id)
{
  cleanup_free char *dir = path_join(s->layers, img_digest_hex(diff_id));
  return img_du(dir);
}
