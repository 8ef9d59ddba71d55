/* test_image_util.c — see test_image_util.h. */
#include "test_image_util.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

char *timg_sandbox(void)
{
  char *p = xstrdup("/tmp/berth-timg-XXXXXX");
  cr_assert(mkdtemp(p), "mkdtemp: %s", strerror(errno));
  return p;
}

void timg_cleanup(const char *dir)
{
  berr_t err = BERR_INIT;
  fs_rm_rf(dir, &err);
  berr_clear(&err);
}

void timg_write(const char *path, const char *data)
{
  cleanup_free char *d = xstrdup(path);
  *strrchr(d, '/') = '\0';
  berr_t err = BERR_INIT;
  cr_assert_eq(fs_mkdir_p(d, 0755, &err), 0, "%s", err.msg);
  cr_assert_eq(fs_write_atomic(path, data, strlen(data), 0644, &err), 0, "%s", err.msg);
}

static void write_tar(const char *path, const char *filter, const timg_entry *es, size_t n)
{
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (filter && !strcmp(filter, "gzip"))
    archive_write_add_filter_gzip(a);
  else if (filter && !strcmp(filter, "zstd"))
    cr_assert_eq(archive_write_add_filter_zstd(a), ARCHIVE_OK, "%s", archive_error_string(a));
  cr_assert_eq(archive_write_open_filename(a, path), ARCHIVE_OK, "%s", archive_error_string(a));
  for (size_t i = 0; i < n; i++) {
    const timg_entry *t = &es[i];
    struct archive_entry *e = archive_entry_new();
    mode_t type = t->type ? t->type : AE_IFREG;
    archive_entry_set_pathname(e, t->name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, t->mode ? t->mode : (type == AE_IFDIR ? 0755 : 0644));
    archive_entry_set_mtime(e, 1000000000, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    if (t->hardlink)
      archive_entry_set_hardlink(e, t->link);
    else if (type == AE_IFLNK)
      archive_entry_set_symlink(e, t->link);
    if (type == AE_IFCHR || type == AE_IFBLK)
      archive_entry_set_rdev(e, makedev(1, 3));
    size_t len = (type == AE_IFREG && !t->hardlink && t->data) ? strlen(t->data) : 0;
    archive_entry_set_size(e, (la_int64_t)len);
    cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK, "%s: %s", t->name,
                 archive_error_string(a));
    if (len)
      cr_assert_eq(archive_write_data(a, t->data, len), (la_ssize_t)len);
    archive_entry_free(e);
  }
  cr_assert_eq(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

static char *file_digest(const char *path, int64_t *size)
{
  char *d = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(img_hash_file(AT_FDCWD, path, &d, size, &err), 0, "%s", err.msg);
  return d;
}

timg_layer timg_make_layer(const char *path, const char *filter, const timg_entry *e, size_t n)
{
  timg_layer l = { 0 };
  cleanup_free char *plain = xasprintf("%s.plain", path);
  write_tar(plain, NULL, e, n);
  l.diff_id = file_digest(plain, NULL);
  unlink(plain);
  write_tar(path, filter, e, n);
  l.path = xstrdup(path);
  l.digest = file_digest(path, &l.size);
  return l;
}

void timg_layer_free(timg_layer *l)
{
  free(l->path);
  free(l->digest);
  free(l->diff_id);
  memset(l, 0, sizeof *l);
}

static char *put_blob(const char *dir, const char *data, size_t *len)
{
  char *d = img_sha256(data, strlen(data));
  cleanup_free char *p = xasprintf("%s/blobs/sha256/%s", dir, img_digest_hex(d));
  timg_write(p, data);
  if (len)
    *len = strlen(data);
  return d;
}

static char *config_json(timg_layer *layers, size_t n, json_t *cfg)
{
  json_t *ids = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(ids, json_string(layers[i].diff_id));
  cleanup_json json_t *c = json_pack("{s:s, s:s, s:s, s:o, s:{s:s, s:o}}", "created",
                                     "2020-01-02T03:04:05Z", "architecture", img_host_arch(), "os",
                                     "linux", "config", cfg ? json_incref(cfg) : json_object(),
                                     "rootfs", "type", "layers", "diff_ids", ids);
  return json_dumps(c, JSON_COMPACT);
}

static void copy(const char *src, const char *dst)
{
  berr_t err = BERR_INIT;
  cleanup_free char *d = xstrdup(dst);
  *strrchr(d, '/') = '\0';
  cr_assert_eq(fs_mkdir_p(d, 0755, &err), 0, "%s", err.msg);
  cr_assert_eq(fs_copy_file(src, dst, 0644, &err), 0, "%s", err.msg);
}

char *timg_make_oci(const char *dir, timg_layer *layers, size_t n, const char *name, json_t *cfg)
{
  cleanup_free char *cdata = config_json(layers, n, cfg);
  size_t clen = 0;
  char *cdigest = put_blob(dir, cdata, &clen);
  char **digests = xcalloc(n + 1, sizeof *digests);
  char **types = xcalloc(n + 1, sizeof *types);
  int64_t *sizes = xcalloc(n + 1, sizeof *sizes);
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *p = xasprintf("%s/blobs/sha256/%s", dir, img_digest_hex(layers[i].digest));
    copy(layers[i].path, p);
    digests[i] = layers[i].digest;
    types[i] = (char *)img_layer_media_type(layers[i].path);
    sizes[i] = layers[i].size;
  }
  cleanup_free char *mdata = img_manifest_build(cdigest, clen, digests, sizes, types);
  free(digests);
  free(types);
  free(sizes);
  size_t mlen = 0;
  cleanup_free char *mdigest = put_blob(dir, mdata, &mlen);
  json_t *desc
      = json_pack("{s:s, s:s, s:I}", "mediaType", "application/vnd.oci.image.manifest.v1+json",
                  "digest", mdigest, "size", (json_int_t)mlen);
  if (name)
    json_object_set_new(desc, "annotations",
                        json_pack("{s:s}", "org.opencontainers.image.ref.name", name));
  cleanup_json json_t *index = json_pack("{s:i, s:[o]}", "schemaVersion", 2, "manifests", desc);
  cleanup_free char *idx = json_dumps(index, JSON_COMPACT);
  cleanup_free char *ip = path_join(dir, "index.json");
  cleanup_free char *lp = path_join(dir, "oci-layout");
  timg_write(ip, idx);
  timg_write(lp, "{\"imageLayoutVersion\":\"1.0.0\"}");
  return cdigest;
}

char *timg_make_docker(const char *dir, timg_layer *layers, size_t n, const char *name)
{
  cleanup_free char *cdata = config_json(layers, n, NULL);
  char *cdigest = img_sha256(cdata, strlen(cdata));
  cleanup_free char *cp = xasprintf("%s/%s.json", dir, img_digest_hex(cdigest));
  timg_write(cp, cdata);
  json_t *lp = json_array();
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *rel = xasprintf("layer%zu/layer.tar", i);
    cleanup_free char *p = path_join(dir, rel);
    copy(layers[i].path, p);
    json_array_append_new(lp, json_string(rel));
  }
  cleanup_free char *cfg_rel = xasprintf("%s.json", img_digest_hex(cdigest));
  cleanup_json json_t *m = json_pack("[{s:s, s:o, s:o}]", "Config", cfg_rel, "RepoTags",
                                     name ? json_pack("[s]", name) : json_null(), "Layers", lp);
  cleanup_free char *ms = json_dumps(m, JSON_COMPACT);
  cleanup_free char *mp = path_join(dir, "manifest.json");
  timg_write(mp, ms);
  return cdigest;
}

static void tree_at(int parent, const char *name, const char *rel, buf_t *out)
{
  struct stat st;
  if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return;
  buf_printf(out, "%s %o %lld\n", rel, (unsigned)(st.st_mode & S_IFMT),
             S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size);
  if (!S_ISDIR(st.st_mode))
    return;
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return;
  DIR *d = fdopendir(fd);
  char **names = xcalloc(1, sizeof *names);
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      strv_push(&names, de->d_name);
  for (size_t i = 0; names[i]; i++)
    for (size_t j = i + 1; names[j]; j++)
      if (strcmp(names[i], names[j]) > 0) {
        char *t = names[i];
        names[i] = names[j];
        names[j] = t;
      }
  for (size_t i = 0; names[i]; i++) {
    cleanup_free char *r = xasprintf("%s/%s", rel, names[i]);
    tree_at(dirfd(d), names[i], r, out);
  }
  strv_free(names);
  closedir(d);
}

char *timg_tree(const char *dir)
{
  buf_t b = { 0 };
  tree_at(AT_FDCWD, dir, ".", &b);
  return buf_steal(&b);
}

void timg_tar_dir(const char *dir, const char *out)
{
  cleanup_free char *cmd = xasprintf("tar -C '%s' -cf '%s' .", dir, out);
  cr_assert_eq(system(cmd), 0, "%s", cmd);
}
