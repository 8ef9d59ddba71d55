/* manifest.c — reading and writing the two JSON documents that define an
 * image: the manifest (config + layer descriptors; OCI or docker schema 2,
 * which have the same shape) and the config (rootfs.diff_ids, the runtime
 * "config" object, created). Every digest read here is validated before it
 * can become a path. */
#include "image/internal.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG      "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

static int parse_descriptor(json_t *d, const char *what, char **digest, int64_t *size, berr_t *err)
{
  if (!json_is_object(d))
    return berr_set(err, 0, "%s: descriptor is not an object", what);
  const char *dg = json_str(d, "digest");
  if (img_digest_check(dg, err) < 0)
    return berr_wrap(err, "%s", what);
  json_t *sz = json_object_get(d, "size");
  if (sz && (!json_is_integer(sz) || json_integer_value(sz) < 0))
    return berr_set(err, 0, "%s: invalid size", what);
  *digest = xstrdup(dg);
  *size = sz ? json_integer_value(sz) : -1;
  return 0;
}

int img_manifest_parse(const char *data, size_t len, img_manifest *m, berr_t *err)
{
  memset(m, 0, sizeof *m);
  json_error_t je;
  m->manifest = json_loadb(data, len, 0, &je);
  if (!m->manifest || !json_is_object(m->manifest))
    return berr_set(err, 0, "manifest is not a JSON object: %s", m->manifest ? "" : je.text);
  const char *mt = json_str(m->manifest, "mediaType");
  if (mt && strcmp(mt, MT_OCI_MANIFEST) && strcmp(mt, MT_DOCKER_MANIFEST))
    return berr_set(err, 0, "unsupported manifest media type %s", mt);
  if (json_int(m->manifest, "schemaVersion", 0) != 2)
    return berr_set(err, 0, "unsupported manifest schemaVersion %lld",
                    (long long)json_int(m->manifest, "schemaVersion", 0));
  if (parse_descriptor(json_object_get(m->manifest, "config"), "manifest config", &m->config,
                       &m->config_size, err)
      < 0)
    return -1;
  json_t *layers = json_object_get(m->manifest, "layers");
  if (!json_is_array(layers) || json_array_size(layers) == 0)
    return berr_set(err, 0, "manifest has no layers");
  size_t n = json_array_size(layers);
  m->layers = xcalloc(n + 1, sizeof *m->layers);
  m->layer_sizes = xcalloc(n, sizeof *m->layer_sizes);
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *what = xasprintf("manifest layer %zu", i);
    if (parse_descriptor(json_array_get(layers, i), what, &m->layers[i], &m->layer_sizes[i], err)
        < 0)
      return -1;
  }
  return 0;
}

int img_manifest_set_config(img_manifest *m, const char *data, size_t len, berr_t *err)
{
  json_error_t je;
  json_decref(m->cfg);
  m->cfg = json_loadb(data, len, 0, &je);
  if (!m->cfg || !json_is_object(m->cfg))
    return berr_set(err, 0, "config %s is not a JSON object", m->config);
  json_t *rootfs = json_object_get(m->cfg, "rootfs");
  const char *type = json_str(rootfs, "type");
  if (!type || strcmp(type, "layers"))
    return berr_set(err, 0, "config %s: rootfs.type is not \"layers\"", m->config);
  json_t *ids = json_object_get(rootfs, "diff_ids");
  size_t nl = strv_len(m->layers);
  if (!json_is_array(ids) || json_array_size(ids) != nl)
    return berr_set(err, 0, "config %s lists %zu diff_ids but the manifest has %zu layers",
                    m->config, json_is_array(ids) ? json_array_size(ids) : 0, nl);
  strv_free(m->diff_ids);
  m->diff_ids = xcalloc(nl + 1, sizeof *m->diff_ids);
  for (size_t i = 0; i < nl; i++) {
    const char *d = json_string_value(json_array_get(ids, i));
    if (img_digest_check(d, err) < 0)
      return berr_wrap(err, "config %s: diff_id %zu", m->config, i);
    m->diff_ids[i] = xstrdup(d);
  }
  json_t *c = json_object_get(m->cfg, "config");
  if (c && !json_is_object(c) && !json_is_null(c))
    return berr_set(err, 0, "config %s: \"config\" is not an object", m->config);
  return 0;
}

void img_manifest_free(img_manifest *m)
{
  json_decref(m->manifest);
  json_decref(m->cfg);
  free(m->config);
  strv_free(m->layers);
  strv_free(m->diff_ids);
  free(m->layer_sizes);
  memset(m, 0, sizeof *m);
}

int64_t img_config_created(json_t *cfg)
{
  const char *c = json_str(cfg, "created");
  int64_t ns = 0;
  if (!c || time_parse_rfc3339(c, &ns) < 0 || ns < 0)
    return 0;
  return ns;
}

char *img_manifest_build(const char *config_digest, size_t config_size, char *const *layers,
                         const int64_t *layer_sizes, char *const *media_types)
{
  json_t *ls = json_array();
  for (size_t i = 0; layers[i]; i++)
    json_array_append_new(ls, json_pack("{s:s, s:s, s:I}", "mediaType", media_types[i], "digest",
                                        layers[i], "size", (json_int_t)layer_sizes[i]));
  cleanup_json json_t *m
      = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
                  MT_OCI_MANIFEST, "config", "mediaType", MT_OCI_CONFIG, "digest", config_digest,
                  "size", (json_int_t)config_size, "layers", ls);
  return json_dumps(m, JSON_COMPACT);
}

const char *img_layer_media_type(const char *path)
{
  unsigned char b[4] = { 0 };
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, b, sizeof b);
  if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
    return "application/vnd.oci.image.layer.v1.tar+gzip";
  if (n == 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
    return "application/vnd.oci.image.layer.v1.tar+zstd";
  return "application/vnd.oci.image.layer.v1.tar";
}
