/* gc.c — deleting images: `image rm`, `image prune` and the garbage
 * collection of blobs and unpacked layers that no image references any more.
 *
 * The index is saved first and files are deleted after, all under the
 * exclusive lock: a crash in between leaves only garbage that the next rm or
 * prune collects, never an image with missing parts. Layer directories are
 * renamed into tmp/ before being deleted for the same reason. Images that a
 * container uses (the caller's predicate says which) are never deleted. */
#include "image/internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Staging directories older than this belong to a load that crashed. */
#define STALE_TMP_SECONDS (24 * 3600)

void img_removed_free(img_removed *r)
{
  strv_free(r->untagged);
  strv_free(r->deleted);
  memset(r, 0, sizeof *r);
}

static void add_refs(json_t *set, json_t *arr)
{
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v)
  {
    if (json_is_string(v))
      json_object_set_new(set, json_string_value(v), json_true());
  }
}

/* Deletes blobs and layers that no image in idx references. */
static int collect_garbage(img_store *s, json_t *idx, int64_t *reclaimed, berr_t *err)
{
  cleanup_json json_t *blobs = json_object();
  cleanup_json json_t *layers = json_object();
  const char *k;
  json_t *e;
  json_object_foreach(json_object_get(idx, "images"), k, e)
  {
    json_object_set_new(blobs, json_str(e, "manifest") ? json_str(e, "manifest") : "", json_true());
    json_object_set_new(blobs, k, json_true());
    add_refs(blobs, json_object_get(e, "layers"));
    add_refs(layers, json_object_get(e, "diff_ids"));
  }

  cleanup_dir DIR *d = opendir(s->blobs);
  if (!d)
    return berr_set(err, errno, "open %s", s->blobs);
  struct dirent *de;
  while ((de = readdir(d))) {
    cleanup_free char *digest = xasprintf("sha256:%s", de->d_name);
    if (!img_digest_valid(digest) || json_object_get(blobs, digest))
      continue;
    struct stat st;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
      *reclaimed += st.st_size;
    if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
      return berr_set(err, errno, "remove blob %s", digest);
    log_debug("msg=\"blob removed\" digest=%s", digest);
  }

  cleanup_dir DIR *l = opendir(s->layers);
  if (!l)
    return berr_set(err, errno, "open %s", s->layers);
  while ((de = readdir(l))) {
    cleanup_free char *digest = xasprintf("sha256:%s", de->d_name);
    if (!img_digest_valid(digest) || json_object_get(layers, digest))
      continue;
    cleanup_free char *path = path_join(s->layers, de->d_name);
    *reclaimed += img_du(path);
    if (img_rm_tree(s, path, err) < 0)
      return berr_wrap(err, "remove layer %s", digest);
    log_debug("msg=\"layer removed\" diff_id=%s", digest);
  }
  return 0;
}

static void untag_all(json_t *entry, img_removed *out)
{
  json_t *names = json_object_get(entry, "names");
  size_t i;
  json_t *v;
  json_array_foreach(names, i, v)
  {
    strv_push(&out->untagged, json_string_value(v));
  }
  json_array_clear(names);
}

int img_remove(img_store *s, const char *ref, bool force, img_in_use_fn in_use, void *arg,
               img_removed *out, berr_t *err)
{
  cleanup_close int lock = img_lock(s, LOCK_EX, err);
  if (lock < 0)
    return -1;
  cleanup_json json_t *idx = NULL;
  const char *found;
  if (img_index_load(s, &idx, err) < 0 || img_index_find(idx, ref, &found, err) < 0)
    return -1;
  cleanup_free char *id = xstrdup(found);
  json_t *images = json_object_get(idx, "images");
  json_t *entry = json_object_get(images, id);
  json_t *names = json_object_get(entry, "names");

  /* A name given is one of the image's names: found by name, not by id. */
  cleanup_free char *name = NULL;
  berr_t ignored = BERR_INIT;
  bool by_name = false;
  if (img_ref_normalize(ref, &name, &ignored) == 0) {
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
      if (!strcmp(json_string_value(v), name))
        by_name = true;
    }
  }
  berr_clear(&ignored);

  if (by_name && json_array_size(names) > 1) {
    img_index_drop_name(idx, name);
    if (img_index_save(s, idx, err) < 0)
      return -1;
    strv_push(&out->untagged, name);
    return 0;
  }
  if (!by_name && json_array_size(names) > 1 && !force)
    return berr_set(err, 0,
                    "unable to delete image %s: it has %zu names (untag them or use --force)", ref,
                    json_array_size(names));
  if (in_use && in_use(id, arg)) {
    if (!force)
      return berr_set(err, EBUSY, "unable to delete image %s: it is in use by a container", ref);
    untag_all(entry, out);
    return img_index_save(s, idx, err);
  }
  untag_all(entry, out);
  json_object_del(images, id);
  if (img_index_save(s, idx, err) < 0)
    return -1;
  strv_push(&out->deleted, id);
  log_info("msg=\"image deleted\" id=%s", id);
  return collect_garbage(s, idx, &out->reclaimed, err);
}

/* Removes staging directories left by crashed operations. */
static void remove_stale_tmp(img_store *s)
{
  cleanup_dir DIR *d = opendir(s->tmp);
  if (!d)
    return;
  int64_t now = time_now_ns() / 1000000000;
  struct dirent *de;
  while ((de = readdir(d))) {
    struct stat st;
    if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0
        || now - st.st_mtime < STALE_TMP_SECONDS)
      continue;
    cleanup_free char *p = path_join(s->tmp, de->d_name);
    berr_t e = BERR_INIT;
    if (fs_rm_rf(p, &e) < 0)
      log_warn("msg=\"cannot remove stale staging directory\" err=\"%s\"", e.msg);
    berr_clear(&e);
  }
}

int img_prune(img_store *s, bool all, img_in_use_fn in_use, void *arg, img_removed *out,
              berr_t *err)
{
  cleanup_close int lock = img_lock(s, LOCK_EX, err);
  if (lock < 0)
    return -1;
  cleanup_json json_t *idx = NULL;
  if (img_index_load(s, &idx, err) < 0)
    return -1;
  json_t *images = json_object_get(idx, "images");
  cleanup_strv char **doomed = NULL;
  const char *k;
  json_t *e;
  json_object_foreach(images, k, e)
  {
    bool dangling = json_array_size(json_object_get(e, "names")) == 0;
    if ((all || dangling) && !(in_use && in_use(k, arg)))
      strv_push(&doomed, k);
  }
  for (size_t i = 0; doomed && doomed[i]; i++) {
    untag_all(json_object_get(images, doomed[i]), out);
    json_object_del(images, doomed[i]);
    strv_push(&out->deleted, doomed[i]);
    log_info("msg=\"image pruned\" id=%s", doomed[i]);
  }
  if (doomed && img_index_save(s, idx, err) < 0)
    return -1;
  remove_stale_tmp(s);
  return collect_garbage(s, idx, &out->reclaimed, err);
}
