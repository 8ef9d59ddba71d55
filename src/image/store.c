/* store.c — opening the image store, its index (images.json) and the
 * read-side operations: resolve (what the engine calls before a run), list,
 * inspect and tag.
 *
 * The index maps image ids to their manifest, layers and names. It is small,
 * rewritten whole with fs_write_atomic under an exclusive flock, and read
 * without a lock (a rename is atomic). resolve holds the lock shared, so an
 * `image rm` cannot delete layers while a run is being prepared. */
#include "image/internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int img_store_open(const char *root, img_store **out, berr_t *err)
{
  img_store *s = xcalloc(1, sizeof *s);
  s->dir = path_join(root, "images");
  s->blobs = path_join(s->dir, "blobs/sha256");
  s->layers = path_join(s->dir, "layers");
  s->tmp = path_join(s->dir, "tmp");
  s->index = path_join(s->dir, "images.json");
  s->lock = path_join(s->dir, "lock");
  if (fs_mkdir_p(s->dir, 0700, err) < 0 || fs_mkdir_p(s->blobs, 0700, err) < 0
      || fs_mkdir_p(s->layers, 0700, err) < 0 || fs_mkdir_p(s->tmp, 0700, err) < 0) {
    img_store_close(s);
    return berr_wrap(err, "open image store");
  }
  *out = s;
  return 0;
}

void img_store_close(img_store *s)
{
  if (!s)
    return;
  free(s->dir);
  free(s->blobs);
  free(s->layers);
  free(s->tmp);
  free(s->index);
  free(s->lock);
  free(s);
}

int img_lock(img_store *s, int how, berr_t *err)
{
  int fd = open(s->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return berr_set(err, errno, "open %s", s->lock);
  while (flock(fd, how) < 0) {
    if (errno == EINTR)
      continue;
    int e = errno;
    close(fd);
    return berr_set(err, e, "lock %s", s->lock);
  }
  return fd;
}

int img_index_load(img_store *s, json_t **out, berr_t *err)
{
  if (!fs_exists(s->index)) {
    *out = json_pack("{s:i, s:{}}", "version", 1, "images");
    return 0;
  }
  json_t *j = json_load_path(s->index, err);
  if (!j)
    return -1;
  if (!json_is_object(json_object_get(j, "images"))) {
    json_decref(j);
    return berr_set(err, 0, "%s: no \"images\" object", s->index);
  }
  *out = j;
  return 0;
}

int img_index_save(img_store *s, json_t *idx, berr_t *err)
{
  return json_save_atomic(s->index, idx, err);
}

static bool names_contain(json_t *names, const char *name)
{
  size_t i;
  json_t *v;
  json_array_foreach(names, i, v)
  {
    if (!strcmp(json_string_value(v), name))
      return true;
  }
  return false;
}

/* A hex id prefix: "sha256:" optional, then 4 to 64 lowercase hex digits. */
static const char *id_prefix(const char *ref)
{
  const char *p = str_has_prefix(ref, "sha256:") ? ref + 7 : ref;
  size_t n = strlen(p);
  if (n < 4 || n > 64)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (!isxdigit((unsigned char)p[i]) || isupper((unsigned char)p[i]))
      return NULL;
  return p;
}

int img_index_find(json_t *idx, const char *ref, const char **id, berr_t *err)
{
  json_t *images = json_object_get(idx, "images");
  berr_t nerr = BERR_INIT;
  cleanup_free char *name = NULL;
  if (img_ref_normalize(ref, &name, &nerr) == 0) {
    const char *k;
    json_t *v;
    json_object_foreach(images, k, v)
    {
      if (names_contain(json_object_get(v, "names"), name)) {
        *id = k;
        return 0;
      }
    }
  }
  const char *hex = id_prefix(ref);
  if (hex) {
    const char *found = NULL;
    int matches = 0;
    const char *k;
    json_t *v;
    json_object_foreach(images, k, v)
    {
      if (str_has_prefix(k + 7, hex)) {
        found = k;
        matches++;
      }
    }
    if (matches == 1) {
      berr_clear(&nerr);
      *id = found;
      return 0;
    }
    if (matches > 1) {
      berr_clear(&nerr);
      return berr_set(err, 0, "ambiguous image id prefix %s: %d images match", ref, matches);
    }
  }
  if (nerr.msg && !hex) {
    berr_set(err, 0, "%s", nerr.msg);
    berr_clear(&nerr);
    return -1;
  }
  berr_clear(&nerr);
  berr_set(err, 0, "unknown image %s", ref);
  if (err)
    err->code = ENOENT; /* for callers; no strerror in the message */
  return -1;
}

void img_index_drop_name(json_t *idx, const char *name)
{
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(idx, "images"), k, v)
  {
    json_t *names = json_object_get(v, "names");
    for (size_t i = 0; i < json_array_size(names);) {
      if (!strcmp(json_string_value(json_array_get(names, i)), name))
        json_array_remove(names, i);
      else
        i++;
    }
  }
}

void img_index_add_name(json_t *idx, const char *id, const char *name)
{
  img_index_drop_name(idx, name);
  json_t *img = json_object_get(json_object_get(idx, "images"), id);
  json_t *names = json_object_get(img, "names");
  if (!names) {
    names = json_array();
    json_object_set_new(img, "names", names);
  }
  json_array_append_new(names, json_string(name));
}

void img_index_put(json_t *idx, const char *manifest_digest, img_manifest *m, int64_t size,
                   char *const *names)
{
  json_t *images = json_object_get(idx, "images");
  json_t *old = json_object_get(images, m->config);
  json_t *keep = old ? json_incref(json_object_get(old, "names")) : NULL;
  json_t *e = json_pack("{s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:I}", "manifest", manifest_digest,
                        "config", m->config, "layers", strv_to_json(m->layers), "diff_ids",
                        strv_to_json(m->diff_ids), "names", keep ? keep : json_array(), "created",
                        (json_int_t)img_config_created(m->cfg), "size", (json_int_t)size, "loaded",
                        (json_int_t)time_now_ns());
  json_object_set_new(images, m->config, e);
  for (size_t i = 0; names && names[i]; i++)
    img_index_add_name(idx, m->config, names[i]);
}

/* Reads and checks an image's manifest and config blobs. */
static int load_image(img_store *s, const char *id, json_t *entry, img_manifest *m, berr_t *err)
{
  const char *md = json_str(entry, "manifest");
  cleanup_free char *mdata = NULL, *cdata = NULL;
  size_t mlen = 0, clen = 0;
  if (img_blob_read(s, md, IMG_JSON_MAX, &mdata, &mlen, err) < 0
      || img_manifest_parse(mdata, mlen, m, err) < 0)
    return berr_wrap(err, "image %s: manifest", id);
  if (strcmp(m->config, id) != 0)
    return berr_set(err, 0, "image %s: manifest %s names config %s", id, md, m->config);
  if (img_blob_read(s, m->config, IMG_JSON_MAX, &cdata, &clen, err) < 0
      || img_manifest_set_config(m, cdata, clen, err) < 0)
    return berr_wrap(err, "image %s", id);
  return 0;
}

static char **names_of(json_t *entry)
{
  char **v = xcalloc(1, sizeof *v);
  size_t i;
  json_t *n;
  json_array_foreach(json_object_get(entry, "names"), i, n) strv_push(&v, json_string_value(n));
  return v;
}

int img_resolve(img_store *s, const char *ref, img_image **out, berr_t *err)
{
  cleanup_close int lock = img_lock(s, LOCK_SH, err);
  if (lock < 0)
    return -1;
  cleanup_json json_t *idx = NULL;
  const char *id;
  if (img_index_load(s, &idx, err) < 0 || img_index_find(idx, ref, &id, err) < 0)
    return -1;
  json_t *entry = json_object_get(json_object_get(idx, "images"), id);
  img_manifest m;
  if (load_image(s, id, entry, &m, err) < 0) {
    img_manifest_free(&m);
    return -1;
  }
  img_image *img = xcalloc(1, sizeof *img);
  img->id = xstrdup(id);
  img->names = names_of(entry);
  img->created_ns = img_config_created(m.cfg);
  img->size = json_int(entry, "size", 0);
  json_t *c = json_object_get(m.cfg, "config");
  img->config = json_is_object(c) ? json_deep_copy(c) : json_object();
  size_t n = strv_len(m.layers);
  img->layer_dirs = xcalloc(n + 1, sizeof *img->layer_dirs);
  for (size_t i = 0; i < n; i++) {
    if (img_layer_ensure(s, m.layers[i], m.diff_ids[i], err) < 0) {
      img_manifest_free(&m);
      img_image_free(img);
      return berr_wrap(err, "image %s", ref);
    }
    img->layer_dirs[i] = path_join(s->layers, img_digest_hex(m.diff_ids[i]));
  }
  img_manifest_free(&m);
  *out = img;
  return 0;
}

void img_image_free(img_image *img)
{
  if (!img)
    return;
  free(img->id);
  strv_free(img->names);
  strv_free(img->layer_dirs);
  json_decref(img->config);
  free(img);
}

static int cmp_summary(const void *a, const void *b)
{
  const img_summary *x = a, *y = b;
  if (x->created_ns != y->created_ns)
    return x->created_ns < y->created_ns ? 1 : -1;
  return strcmp(x->id, y->id);
}

int img_list(img_store *s, img_summary **out, size_t *n, berr_t *err)
{
  cleanup_json json_t *idx = NULL;
  if (img_index_load(s, &idx, err) < 0)
    return -1;
  json_t *images = json_object_get(idx, "images");
  img_summary *v = xcalloc(json_object_size(images) + 1, sizeof *v);
  size_t i = 0;
  const char *k;
  json_t *e;
  json_object_foreach(images, k, e)
  {
    v[i].id = xstrdup(k);
    v[i].names = names_of(e);
    v[i].created_ns = json_int(e, "created", 0);
    v[i].size = json_int(e, "size", 0);
    i++;
  }
  qsort(v, i, sizeof *v, cmp_summary);
  *out = v;
  *n = i;
  return 0;
}

void img_summaries_free(img_summary *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++) {
    free(v[i].id);
    strv_free(v[i].names);
  }
  free(v);
}

int img_inspect(img_store *s, const char *ref, json_t **out, berr_t *err)
{
  cleanup_json json_t *idx = NULL;
  const char *id;
  if (img_index_load(s, &idx, err) < 0 || img_index_find(idx, ref, &id, err) < 0)
    return -1;
  json_t *entry = json_object_get(json_object_get(idx, "images"), id);
  img_manifest m;
  if (load_image(s, id, entry, &m, err) < 0) {
    img_manifest_free(&m);
    return -1;
  }
  json_t *c = json_object_get(m.cfg, "config");
  json_t *names = json_object_get(entry, "names");
  int64_t created = img_config_created(m.cfg);
  cleanup_free char *created_s = time_rfc3339(created);
  json_t *o = json_pack(
      "{s:s, s:o, s:[], s:s, s:s, s:s, s:s, s:o, s:I, s:{s:s, s:o}, s:s}", "Id", id, "RepoTags",
      json_is_array(names) ? json_deep_copy(names) : json_array(), "RepoDigests", "Created",
      json_str(m.cfg, "created") ? json_str(m.cfg, "created") : created_s, "Author",
      json_str(m.cfg, "author") ? json_str(m.cfg, "author") : "", "Architecture",
      json_str(m.cfg, "architecture") ? json_str(m.cfg, "architecture") : "", "Os",
      json_str(m.cfg, "os") ? json_str(m.cfg, "os") : "", "Config",
      json_is_object(c) ? json_deep_copy(c) : json_object(), "Size",
      (json_int_t)json_int(entry, "size", 0), "RootFS", "Type", "layers", "Layers",
      strv_to_json(m.diff_ids), "Manifest", json_str(entry, "manifest"));
  img_manifest_free(&m);
  *out = o;
  return 0;
}

int img_tag(img_store *s, const char *src, const char *dst, berr_t *err)
{
  cleanup_free char *name = NULL;
  if (img_ref_normalize(dst, &name, err) < 0)
    return -1;
  cleanup_close int lock = img_lock(s, LOCK_EX, err);
  if (lock < 0)
    return -1;
  cleanup_json json_t *idx = NULL;
  const char *id;
  if (img_index_load(s, &idx, err) < 0 || img_index_find(idx, src, &id, err) < 0)
    return -1;
  cleanup_free char *idc = xstrdup(id);
  img_index_add_name(idx, idc, name);
  if (img_index_save(s, idx, err) < 0)
    return -1;
  log_info("msg=\"image tagged\" id=%s name=%s", idc, name);
  return 0;
}
