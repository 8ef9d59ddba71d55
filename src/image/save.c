/* save.c — `image save`: an OCI image layout as a tar stream, plus the
 * manifest.json that `docker load` reads, so one file serves OCI tools
 * (skopeo oci-archive:, podman) and docker alike. Entries have fixed owners,
 * modes and mtimes, so saving the same images twice gives the same bytes.
 * Blobs are checked against their digests while they are copied out. */
#include "image/internal.h"

#include "image/archive_dl.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MT_OCI_INDEX    "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"

typedef struct saved {
  char *id;
  char **names; /* requested names of this image */
  img_manifest m;
  char *manifest_digest;
  char *manifest; /* bytes */
  size_t manifest_len;
} saved;

static void cleanup_writep(struct archive **a)
{
  if (*a)
    archive_write_free(*a);
}

static int add_entry(struct archive *a, const char *name, mode_t type, int64_t size, berr_t *err)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
  archive_entry_set_size(e, type == AE_IFDIR ? 0 : size);
  archive_entry_set_mtime(e, 0, 0);
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  int r = archive_write_header(a, e);
  archive_entry_free(e);
  if (r != ARCHIVE_OK)
    return berr_set(err, archive_errno(a), "write %s: %s", name, archive_error_string(a));
  return 0;
}

static int add_data(struct archive *a, const char *name, const void *data, size_t len, berr_t *err)
{
  if (add_entry(a, name, AE_IFREG, (int64_t)len, err) < 0)
    return -1;
  if (len && archive_write_data(a, data, len) != (la_ssize_t)len)
    return berr_set(err, archive_errno(a), "write %s: %s", name, archive_error_string(a));
  return 0;
}

/* Copies a stored blob into the archive, checking its digest on the way. */
static int add_blob(img_store *s, struct archive *a, const char *digest, json_t *done, berr_t *err)
{
  if (json_object_get(done, digest))
    return 0;
  json_object_set_new(done, digest, json_true());
  cleanup_free char *path = img_blob_path(s, digest);
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0)
    return berr_set(err, errno, "blob %s", digest);
  cleanup_free char *name = xasprintf("blobs/sha256/%s", img_digest_hex(digest));
  if (add_entry(a, name, AE_IFREG, st.st_size, err) < 0)
    return -1;
  cleanup_hash img_hash *h = img_hash_new();
  cleanup_free char *buf = xmalloc(1 << 16);
  int64_t total = 0;
  for (;;) {
    ssize_t r = read(fd, buf, 1 << 16);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return berr_set(err, errno, "read blob %s", digest);
    if (r == 0)
      break;
    if (total + r > st.st_size)
      return berr_set(err, 0, "blob %s changed while being saved", digest);
    img_hash_update(h, buf, (size_t)r);
    if (archive_write_data(a, buf, (size_t)r) != r)
      return berr_set(err, archive_errno(a), "write %s: %s", name, archive_error_string(a));
    total += r;
  }
  cleanup_free char *got = img_hash_final(h);
  if (total != st.st_size || strcmp(got, digest) != 0)
    return berr_set(err, 0, "blob %s is corrupt: its content hashes to %s", digest, got);
  return 0;
}

static void saved_free(saved *v, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(v[i].id);
    strv_free(v[i].names);
    img_manifest_free(&v[i].m);
    free(v[i].manifest_digest);
    free(v[i].manifest);
  }
  free(v);
}

/* Finds each ref, grouping names by image, and reads manifests and configs. */
static int collect(img_store *s, json_t *idx, char *const *refs, saved **out, size_t *nout,
                   berr_t *err)
{
  saved *v = NULL;
  size_t n = 0;
  for (size_t r = 0; refs[r]; r++) {
    const char *id;
    if (img_index_find(idx, refs[r], &id, err) < 0) {
      saved_free(v, n);
      return -1;
    }
    json_t *entry = json_object_get(json_object_get(idx, "images"), id);
    size_t i = 0;
    while (i < n && strcmp(v[i].id, id))
      i++;
    if (i == n) {
      v = xrealloc(v, (n + 1) * sizeof *v);
      memset(&v[n], 0, sizeof *v);
      v[n].id = xstrdup(id);
      v[n].names = xcalloc(1, sizeof *v[n].names);
      v[n].manifest_digest = xstrdup(json_str(entry, "manifest"));
      n++;
      cleanup_free char *cdata = NULL;
      size_t clen = 0;
      if (img_blob_read(s, v[i].manifest_digest, IMG_JSON_MAX, &v[i].manifest, &v[i].manifest_len,
                        err)
              < 0
          || img_manifest_parse(v[i].manifest, v[i].manifest_len, &v[i].m, err) < 0
          || img_blob_read(s, v[i].m.config, IMG_JSON_MAX, &cdata, &clen, err) < 0
          || img_manifest_set_config(&v[i].m, cdata, clen, err) < 0) {
        saved_free(v, n);
        return berr_wrap(err, "image %s", refs[r]);
      }
    }
    /* A ref that is one of the image's names is saved as that name. */
    cleanup_free char *name = NULL;
    berr_t ignored = BERR_INIT;
    if (img_ref_normalize(refs[r], &name, &ignored) == 0) {
      json_t *names = json_object_get(entry, "names");
      size_t k;
      json_t *nm;
      bool is_name = false, dup = false;
      json_array_foreach(names, k, nm)
      {
        is_name |= !strcmp(json_string_value(nm), name);
      }
      for (size_t j = 0; v[i].names[j]; j++)
        dup |= !strcmp(v[i].names[j], name);
      if (is_name && !dup)
        strv_push(&v[i].names, name);
    }
    berr_clear(&ignored);
  }
  *out = v;
  *nout = n;
  return 0;
}

static json_t *index_descriptor(saved *sv, const char *name)
{
  json_t *d
      = json_pack("{s:s, s:s, s:I}", "mediaType",
                  json_str(sv->m.manifest, "mediaType") ? json_str(sv->m.manifest, "mediaType")
                                                        : MT_OCI_MANIFEST,
                  "digest", sv->manifest_digest, "size", (json_int_t)sv->manifest_len);
  if (name) {
    cleanup_free char *full = img_ref_qualify(name);
    const char *tag = strrchr(name, ':') + 1;
    json_object_set_new(d, "annotations",
                        json_pack("{s:s, s:s}", "io.containerd.image.name", full,
                                  "org.opencontainers.image.ref.name", tag));
  }
  return d;
}

static int write_layout(img_store *s, saved *v, size_t n, int fd, berr_t *err)
{
  __attribute__((cleanup(cleanup_writep))) struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
    return berr_set(err, archive_errno(a), "%s", archive_error_string(a));
  if (add_entry(a, "blobs/", AE_IFDIR, 0, err) < 0
      || add_entry(a, "blobs/sha256/", AE_IFDIR, 0, err) < 0)
    return -1;

  cleanup_json json_t *done = json_object();
  cleanup_json json_t *manifests = json_array();
  cleanup_json json_t *docker = json_array();
  for (size_t i = 0; i < n; i++) {
    saved *sv = &v[i];
    if (add_blob(s, a, sv->m.config, done, err) < 0)
      return -1;
    json_t *layers = json_array();
    for (size_t l = 0; sv->m.layers[l]; l++) {
      if (add_blob(s, a, sv->m.layers[l], done, err) < 0) {
        json_decref(layers);
        return -1;
      }
      json_array_append_new(layers,
                            json_sprintf("blobs/sha256/%s", img_digest_hex(sv->m.layers[l])));
    }
    if (add_blob(s, a, sv->manifest_digest, done, err) < 0) {
      json_decref(layers);
      return -1;
    }
    if (!sv->names[0])
      json_array_append_new(manifests, index_descriptor(sv, NULL));
    for (size_t k = 0; sv->names[k]; k++)
      json_array_append_new(manifests, index_descriptor(sv, sv->names[k]));
    cleanup_free char *cfg = xasprintf("blobs/sha256/%s", img_digest_hex(sv->m.config));
    json_array_append_new(docker, json_pack("{s:s, s:o, s:o}", "Config", cfg, "RepoTags",
                                            sv->names[0] ? strv_to_json(sv->names) : json_null(),
                                            "Layers", layers));
  }

  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  cleanup_json json_t *index = json_pack("{s:i, s:s, s:O}", "schemaVersion", 2, "mediaType",
                                         MT_OCI_INDEX, "manifests", manifests);
  cleanup_free char *index_s = json_dumps(index, JSON_COMPACT);
  cleanup_free char *docker_s = json_dumps(docker, JSON_COMPACT);
  if (add_data(a, "oci-layout", layout, sizeof layout - 1, err) < 0
      || add_data(a, "index.json", index_s, strlen(index_s), err) < 0
      || add_data(a, "manifest.json", docker_s, strlen(docker_s), err) < 0)
    return -1;
  if (archive_write_close(a) != ARCHIVE_OK)
    return berr_set(err, archive_errno(a), "%s", archive_error_string(a));
  return 0;
}

int img_save(img_store *s, char *const *refs, int fd, berr_t *err)
{
  if (!refs || !refs[0])
    return berr_set(err, 0, "no image to save");
  cleanup_close int lock = img_lock(s, LOCK_SH, err);
  if (lock < 0)
    return -1;
  cleanup_json json_t *idx = NULL;
  if (img_index_load(s, &idx, err) < 0)
    return -1;
  saved *v = NULL;
  size_t n = 0;
  if (collect(s, idx, refs, &v, &n, err) < 0)
    return -1;
  int rc = write_layout(s, v, n, fd, err);
  saved_free(v, n);
  return rc;
}
