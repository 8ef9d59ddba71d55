/* load.c — `image load`: OCI image layouts and `docker save` archives.
 *
 * A tar input is first extracted (with the same hostile-entry checks as
 * layers) into a staging directory, so both formats are read from a
 * directory fd with openat2(RESOLVE_BENEATH); old docker archives link
 * duplicate layers with in-archive symlinks, which this allows. Detection is
 * by content: "oci-layout" + "index.json" is an OCI layout (docker >= 25
 * writes one, with a manifest.json beside it for names), a lone
 * "manifest.json" is a docker archive (layers as "<id>/layer.tar" or as
 * "blobs/sha256/<hex>").
 *
 * Every blob is copied into the stage while being hashed and compared with
 * its digest, every layer is unpacked into the stage and its diff_id
 * checked; only then, under the store lock, are blobs, layers and names
 * moved into the store. A failed load changes nothing. */
#include "image/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MT_OCI_INDEX    "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST  "application/vnd.docker.distribution.manifest.list.v2+json"
#define ANN_REF_NAME    "org.opencontainers.image.ref.name"
#define ANN_IMAGE_NAME  "io.containerd.image.name"
#define DOCKER_JSON_MAX (16u << 20)

/* One image found in the input, staged. */
typedef struct loaded {
  char *manifest_digest;
  img_manifest m;
  int64_t size;
  char **names;
} loaded;

typedef struct load_ctx {
  img_store *s;
  img_stage st;
  int srcfd;
  loaded *imgs;
  size_t n;
  json_t *docker_names; /* config digest -> [names], from a manifest.json */
} load_ctx;

static int read_beneath(int dirfd, const char *path, size_t max, char **data, size_t *len,
                        berr_t *err)
{
  cleanup_close int fd = img_openat_beneath(dirfd, path, O_RDONLY, 0);
  if (fd < 0)
    return berr_set(err, errno, "open %s", path);
  buf_t b = { 0 };
  char chunk[8192];
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      buf_free(&b);
      return berr_set(err, errno, "read %s", path);
    }
    if (r == 0)
      break;
    if (b.len + (size_t)r > max) {
      buf_free(&b);
      return berr_set(err, EFBIG, "%s is larger than %zu bytes", path, max);
    }
    buf_append(&b, chunk, (size_t)r);
  }
  *len = b.len;
  *data = buf_steal(&b);
  return 0;
}

static bool exists_beneath(int dirfd, const char *path)
{
  int fd = img_openat_beneath(dirfd, path, O_PATH, 0);
  if (fd < 0)
    return false;
  close(fd);
  return true;
}

static loaded *find_loaded(load_ctx *c, const char *manifest_digest)
{
  for (size_t i = 0; i < c->n; i++)
    if (!strcmp(c->imgs[i].manifest_digest, manifest_digest))
      return &c->imgs[i];
  return NULL;
}

static int add_name(char ***names, const char *ref, berr_t *err)
{
  cleanup_free char *n = NULL;
  if (img_ref_normalize(ref, &n, err) < 0)
    return -1;
  for (size_t i = 0; *names && (*names)[i]; i++)
    if (!strcmp((*names)[i], n))
      return 0;
  strv_push(names, n);
  return 0;
}

/* Stages the layers of a parsed manifest (unless blobs_staged: the docker
 * path copies them first to learn their digests), unpacks them, then stages
 * the manifest itself. */
static int stage_image(load_ctx *c, const char *mdigest, const char *mdata, size_t mlen,
                       img_manifest *m, bool blobs_staged, berr_t *err)
{
  int64_t size = 0;
  for (size_t i = 0; m->layers[i]; i++) {
    cleanup_free char *p = xasprintf("blobs/sha256/%s", img_digest_hex(m->layers[i]));
    if (!blobs_staged
        && img_stage_blob_file(&c->st, c->srcfd, p, m->layers[i], m->layer_sizes[i], NULL, err) < 0)
      return -1;
    if (img_stage_layer(c->s, &c->st, m->layers[i], m->diff_ids[i], &size, err) < 0)
      return -1;
  }
  cleanup_free char *got = NULL;
  if (img_stage_blob_data(&c->st, mdata, mlen, &got, err) < 0)
    return -1;
  if (strcmp(got, mdigest) != 0)
    return berr_set(err, 0, "manifest digest mismatch: expected %s, got %s", mdigest, got);
  c->imgs = xrealloc(c->imgs, (c->n + 1) * sizeof *c->imgs);
  loaded *l = &c->imgs[c->n++];
  memset(l, 0, sizeof *l);
  l->manifest_digest = xstrdup(mdigest);
  l->m = *m;
  memset(m, 0, sizeof *m);
  l->size = size;
  l->names = xcalloc(1, sizeof *l->names);
  return 0;
}

/* Reads blob digest from the OCI layout, checking digest and size. */
static int oci_blob(load_ctx *c, const char *digest, int64_t size, char **data, size_t *len,
                    berr_t *err)
{
  if (img_digest_check(digest, err) < 0)
    return -1;
  cleanup_free char *path = xasprintf("blobs/sha256/%s", img_digest_hex(digest));
  if (read_beneath(c->srcfd, path, IMG_JSON_MAX, data, len, err) < 0)
    return -1;
  cleanup_free char *got = img_sha256(*data, *len);
  if (strcmp(got, digest) != 0)
    return berr_set(err, 0, "blob %s is corrupt: its content hashes to %s", digest, got);
  if (size >= 0 && (int64_t)*len != size)
    return berr_set(err, 0, "blob %s: size mismatch: expected %lld bytes, found %zu", digest,
                    (long long)size, *len);
  return 0;
}

static int oci_manifest(load_ctx *c, const char *digest, int64_t size, char ***names, berr_t *err)
{
  loaded *l = find_loaded(c, digest);
  if (!l) {
    cleanup_free char *mdata = NULL, *cdata = NULL;
    size_t mlen = 0, clen = 0;
    img_manifest m;
    memset(&m, 0, sizeof m);
    if (oci_blob(c, digest, size, &mdata, &mlen, err) < 0
        || img_manifest_parse(mdata, mlen, &m, err) < 0
        || oci_blob(c, m.config, m.config_size, &cdata, &clen, err) < 0
        || img_manifest_set_config(&m, cdata, clen, err) < 0
        || img_stage_blob_data(&c->st, cdata, clen, NULL, err) < 0
        || stage_image(c, digest, mdata, mlen, &m, false, err) < 0) {
      img_manifest_free(&m);
      return berr_wrap(err, "manifest %s", digest);
    }
    l = &c->imgs[c->n - 1];
    json_t *dn = json_object_get(c->docker_names, l->m.config);
    size_t i;
    json_t *v;
    json_array_foreach(dn, i, v)
    {
      if (add_name(&l->names, json_string_value(v), err) < 0)
        return -1;
    }
  }
  for (size_t i = 0; *names && (*names)[i]; i++)
    if (add_name(&l->names, (*names)[i], err) < 0)
      return -1;
  return 0;
}

/* Names from an index descriptor's annotations. ref.name is, per the OCI
 * spec, usually just a tag ("latest"): it names an image only when it is a
 * whole reference. */
static int descriptor_names(json_t *desc, char ***names, berr_t *err)
{
  json_t *ann = json_object_get(desc, "annotations");
  const char *full = json_str(ann, ANN_IMAGE_NAME);
  const char *ref = json_str(ann, ANN_REF_NAME);
  if (full)
    return add_name(names, full, err);
  if (ref && (strchr(ref, ':') || strchr(ref, '/')))
    return add_name(names, ref, err);
  return 0;
}

static bool platform_matches(json_t *desc)
{
  json_t *p = json_object_get(desc, "platform");
  const char *os = json_str(p, "os"), *arch = json_str(p, "architecture");
  return os && arch && !strcmp(os, "linux") && !strcmp(arch, img_host_arch());
}

static int oci_index(load_ctx *c, json_t *index, char **names, int depth, berr_t *err)
{
  json_t *ms = json_object_get(index, "manifests");
  if (!json_is_array(ms))
    return berr_set(err, 0, "index has no \"manifests\" array");
  if (depth > 4)
    return berr_set(err, 0, "image indexes nested too deep");
  bool nested = depth > 0;
  json_t *pick = NULL;
  size_t i;
  json_t *d;
  json_array_foreach(ms, i, d)
  {
    const char *mt = json_str(d, "mediaType");
    const char *digest = json_str(d, "digest");
    if (img_digest_check(digest, err) < 0)
      return berr_wrap(err, "index entry %zu", i);
    if (nested) { /* a platform list: take ours, below */
      if (platform_matches(d) || (!pick && json_array_size(ms) == 1))
        pick = d;
      continue;
    }
    cleanup_strv char **n = strv_dup(names);
    if (descriptor_names(d, &n, err) < 0)
      return -1;
    if (mt && (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST))) {
      cleanup_free char *data = NULL;
      size_t len = 0;
      if (oci_blob(c, digest, json_int(d, "size", -1), &data, &len, err) < 0)
        return -1;
      cleanup_json json_t *sub = json_loadb(data, len, 0, NULL);
      if (!json_is_object(sub))
        return berr_set(err, 0, "index %s is not a JSON object", digest);
      if (oci_index(c, sub, n, depth + 1, err) < 0)
        return berr_wrap(err, "index %s", digest);
      continue;
    }
    if (oci_manifest(c, digest, json_int(d, "size", -1), &n, err) < 0)
      return -1;
  }
  if (nested) {
    if (!pick)
      return berr_set(err, 0, "no image for linux/%s", img_host_arch());
    cleanup_strv char **n = strv_dup(names);
    return oci_manifest(c, json_str(pick, "digest"), json_int(pick, "size", -1), &n, err);
  }
  return 0;
}

/* manifest.json: [{"Config": path, "RepoTags": [...], "Layers": [paths]}] */
static int read_docker_manifest(load_ctx *c, json_t **out, berr_t *err)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (read_beneath(c->srcfd, "manifest.json", DOCKER_JSON_MAX, &data, &len, err) < 0)
    return -1;
  json_error_t je;
  json_t *j = json_loadb(data, len, 0, &je);
  if (!json_is_array(j)) {
    json_decref(j);
    return berr_set(err, 0, "manifest.json is not a JSON array");
  }
  *out = j;
  return 0;
}

/* The digest a docker archive path promises: "blobs/sha256/<hex>" or the
 * legacy "<hex>.json" config name; NULL when the path says nothing. */
static char *digest_from_path(const char *path)
{
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  cleanup_free char *hex = xstrdup(base);
  if (str_has_suffix(hex, ".json"))
    hex[strlen(hex) - 5] = '\0';
  char *d = xasprintf("sha256:%s", hex);
  if (!img_digest_valid(d) || (strchr(path, '/') && !str_has_prefix(path, "blobs/sha256/"))) {
    free(d);
    return NULL;
  }
  return d;
}

static int docker_image(load_ctx *c, json_t *e, size_t idx, berr_t *err)
{
  const char *cfg_path = json_str(e, "Config");
  json_t *lp = json_object_get(e, "Layers");
  if (!cfg_path || !json_is_array(lp) || json_array_size(lp) == 0)
    return berr_set(err, 0, "manifest.json entry %zu: needs Config and Layers", idx);
  cleanup_free char *cdata = NULL;
  size_t clen = 0;
  if (read_beneath(c->srcfd, cfg_path, IMG_JSON_MAX, &cdata, &clen, err) < 0)
    return -1;
  cleanup_free char *cdigest = img_sha256(cdata, clen);
  cleanup_free char *promised = digest_from_path(cfg_path);
  if (promised && strcmp(promised, cdigest) != 0)
    return berr_set(err, 0, "%s is corrupt: its content hashes to %s", cfg_path, cdigest);
  if (img_stage_blob_data(&c->st, cdata, clen, NULL, err) < 0)
    return -1;

  size_t n = json_array_size(lp);
  cleanup_strv char **digests = xcalloc(n + 1, sizeof *digests);
  cleanup_strv char **types = xcalloc(n + 1, sizeof *types);
  cleanup_free int64_t *sizes = xcalloc(n, sizeof *sizes);
  for (size_t i = 0; i < n; i++) {
    const char *p = json_string_value(json_array_get(lp, i));
    if (!p)
      return berr_set(err, 0, "manifest.json entry %zu: layer %zu is not a path", idx, i);
    cleanup_free char *want = digest_from_path(p);
    if (img_stage_blob_file(&c->st, c->srcfd, p, want, -1, &digests[i], err) < 0)
      return -1;
    cleanup_free char *staged = img_stage_blob_path(c->s, &c->st, digests[i]);
    struct stat st;
    sizes[i] = stat(staged, &st) == 0 ? st.st_size : 0;
    types[i] = xstrdup(img_layer_media_type(staged));
  }
  cleanup_free char *mdata = img_manifest_build(cdigest, clen, digests, sizes, types);
  cleanup_free char *mdigest = img_sha256(mdata, strlen(mdata));
  img_manifest m;
  if (img_manifest_parse(mdata, strlen(mdata), &m, err) < 0
      || img_manifest_set_config(&m, cdata, clen, err) < 0) {
    img_manifest_free(&m);
    return berr_wrap(err, "%s", cfg_path);
  }
  int rc = stage_image(c, mdigest, mdata, strlen(mdata), &m, true, err);
  img_manifest_free(&m);
  if (rc < 0)
    return -1;
  loaded *l = &c->imgs[c->n - 1];
  size_t i;
  json_t *t;
  json_t *tags = json_object_get(e, "RepoTags");
  json_array_foreach(tags, i, t)
  {
    const char *tag = json_string_value(t);
    if (add_name(&l->names, tag ? tag : "", err) < 0)
      return -1;
  }
  return 0;
}

static int load_docker(load_ctx *c, berr_t *err)
{
  cleanup_json json_t *man = NULL;
  if (read_docker_manifest(c, &man, err) < 0)
    return -1;
  if (json_array_size(man) == 0)
    return berr_set(err, 0, "manifest.json lists no images");
  size_t i;
  json_t *e;
  json_array_foreach(man, i, e)
  {
    if (docker_image(c, e, i, err) < 0)
      return -1;
  }
  return 0;
}

static int load_oci(load_ctx *c, berr_t *err)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (read_beneath(c->srcfd, "index.json", IMG_JSON_MAX, &data, &len, err) < 0)
    return -1;
  cleanup_json json_t *index = json_loadb(data, len, 0, NULL);
  if (!json_is_object(index))
    return berr_set(err, 0, "index.json is not a JSON object");
  /* docker >= 25 writes manifest.json too: its RepoTags name the images. */
  if (exists_beneath(c->srcfd, "manifest.json")) {
    cleanup_json json_t *man = NULL;
    if (read_docker_manifest(c, &man, err) < 0)
      return -1;
    c->docker_names = json_object();
    size_t i;
    json_t *e;
    json_array_foreach(man, i, e)
    {
      cleanup_free char *d = digest_from_path(json_str(e, "Config") ? json_str(e, "Config") : "");
      if (d && json_is_array(json_object_get(e, "RepoTags")))
        json_object_set(c->docker_names, d, json_object_get(e, "RepoTags"));
    }
  }
  if (oci_index(c, index, NULL, 0, err) < 0)
    return -1;
  if (c->n == 0)
    return berr_set(err, 0, "index.json lists no images");
  return 0;
}

static int open_input(load_ctx *c, const char *path, berr_t *err)
{
  struct stat st;
  bool is_stdin = !strcmp(path, "-");
  if (!is_stdin && stat(path, &st) < 0)
    return berr_set(err, errno, "cannot read it");
  if (!is_stdin && S_ISDIR(st.st_mode)) {
    c->srcfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return c->srcfd < 0 ? berr_set(err, errno, "open %s", path) : 0;
  }
  cleanup_close int fd = is_stdin ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berr_set(err, errno, "open %s", path);
  cleanup_free char *in = path_join(c->st.dir, "in");
  if (mkdir(in, 0700) < 0)
    return berr_set(err, errno, "mkdir %s", in);
  c->srcfd = open(in, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (c->srcfd < 0)
    return berr_set(err, errno, "open %s", in);
  if (img_unpack_fd(fd, c->srcfd, IMG_UNPACK_ARCHIVE, NULL, NULL, NULL, err) < 0)
    return berr_wrap(err, "not an OCI layout or docker archive");
  return 0;
}

static void load_ctx_free(load_ctx *c)
{
  for (size_t i = 0; i < c->n; i++) {
    free(c->imgs[i].manifest_digest);
    img_manifest_free(&c->imgs[i].m);
    strv_free(c->imgs[i].names);
  }
  free(c->imgs);
  json_decref(c->docker_names);
  if (c->srcfd >= 0)
    close(c->srcfd);
  img_stage_free(&c->st);
}

static int load(load_ctx *c, const char *path, char ***out, berr_t *err)
{
  if (img_stage_init(c->s, "load-", &c->st, err) < 0 || open_input(c, path, err) < 0)
    return -1;
  if (exists_beneath(c->srcfd, "oci-layout") && exists_beneath(c->srcfd, "index.json")) {
    if (load_oci(c, err) < 0)
      return -1;
  } else if (exists_beneath(c->srcfd, "manifest.json")) {
    if (load_docker(c, err) < 0)
      return -1;
  } else {
    return berr_set(err, 0,
                    "not an OCI layout or docker archive (no oci-layout and index.json, "
                    "no manifest.json)");
  }

  cleanup_close int lock = img_lock(c->s, LOCK_EX, err);
  if (lock < 0)
    return -1;
  cleanup_json json_t *idx = NULL;
  if (img_index_load(c->s, &idx, err) < 0 || img_stage_commit(c->s, &c->st, err) < 0)
    return -1;
  char **result = xcalloc(1, sizeof *result);
  for (size_t i = 0; i < c->n; i++) {
    loaded *l = &c->imgs[i];
    img_index_put(idx, l->manifest_digest, &l->m, l->size, l->names);
    for (size_t j = 0; l->names[j]; j++)
      strv_push(&result, l->names[j]);
    if (!l->names[0])
      strv_push(&result, l->m.config);
    log_info("msg=\"image loaded\" id=%s manifest=%s", l->m.config, l->manifest_digest);
  }
  if (img_index_save(c->s, idx, err) < 0) {
    strv_free(result);
    return -1;
  }
  *out = result;
  return 0;
}

int img_load(img_store *s, const char *path, char ***loaded_out, berr_t *err)
{
  load_ctx c = { .s = s, .srcfd = -1 };
  char **out = NULL;
  int rc = load(&c, path, &out, err);
  load_ctx_free(&c);
  if (rc < 0)
    return berr_wrap(err, "load %s", !strcmp(path, "-") ? "stdin" : path);
  if (loaded_out)
    *loaded_out = out;
  else
    strv_free(out);
  return 0;
}
