/* image.h — the OCI image store: content-addressed blobs, unpacked layers
 * shared by every container, and the names that point at images.
 *
 * On disk, under <root>/images/:
 *   blobs/sha256/<hex>   manifests, configs and (compressed) layers, named by
 *                        the sha256 of their bytes; checked on write and on read
 *   layers/<hex>/        one unpacked layer per diff_id (uncompressed digest), an
 *                        overlayfs lowerdir: OCI whiteouts are already converted
 *                        to overlay whiteouts and opaque xattrs
 *   images.json          image id -> manifest, layers, names (atomic rewrite)
 *   lock                 flock: shared while resolving, exclusive while changing
 *   tmp/                 staging; everything becomes visible by rename()
 *
 * An image id is "sha256:<hex>" of its config blob, as in docker. Names are
 * stored in their familiar form: "busybox:latest", "quay.io/x/y:1". */
#ifndef BERTH_IMAGE_H
#define BERTH_IMAGE_H

#include "base/base.h"

typedef struct img_store img_store;

/* root = engine root; the store lives in root/images (created if missing). */
int img_store_open(const char *root, img_store **out, berr_t *err);
void img_store_close(img_store *s);

typedef struct img_image {
  char *id;           /* "sha256:<hex of config digest>" */
  char **names;       /* NULL-terminated, e.g. "busybox:latest" */
  char **layer_dirs;  /* NULL-terminated absolute paths, BOTTOM layer first */
  json_t *config;     /* the config's "config" object; never NULL (maybe empty) */
  int64_t created_ns; /* 0 if unknown */
  int64_t size;       /* unpacked size in bytes */
} img_image;

/* Accepts a name ("busybox", "busybox:latest", "docker.io/library/busybox:1"),
 * a full id or a unique id prefix (>= 4 hex digits, with or without
 * "sha256:"). Unpacks layers that are not unpacked yet. Unknown: "unknown
 * image REF". */
int img_resolve(img_store *s, const char *ref, img_image **out, berr_t *err);
void img_image_free(img_image *img);

/* Tells whether an image id is used by a container (for rm and prune). */
typedef bool (*img_in_use_fn)(const char *image_id, void *arg);

/* ---- listing and inspection -------------------------------------------- */

typedef struct img_summary {
  char *id;
  char **names; /* NULL-terminated, empty for a dangling image */
  int64_t created_ns;
  int64_t size;
} img_summary;

/* All images, newest first. */
int img_list(img_store *s, img_summary **out, size_t *n, berr_t *err);
void img_summaries_free(img_summary *v, size_t n);

/* Docker-style inspect object: Id, RepoTags, Created, Size, Architecture, Os,
 * Config, RootFS, Manifest. Does not unpack anything. */
int img_inspect(img_store *s, const char *ref, json_t **out, berr_t *err);

/* ---- changing the store ------------------------------------------------ */

/* Loads an OCI image layout (directory, or tar of one, any compression) or a
 * `docker save` archive; path "-" reads standard input. Every blob digest,
 * layer diff_id and layer entry is checked before anything becomes visible.
 * *loaded gets the names loaded, or the ids of unnamed images. */
int img_load(img_store *s, const char *path, char ***loaded, berr_t *err);

/* Writes an OCI layout tar (with a docker-compatible manifest.json) of the
 * images refs to fd. */
int img_save(img_store *s, char *const *refs, int fd, berr_t *err);

/* Makes a one-layer image from a root filesystem directory or tarball (any
 * compression; "-" = stdin). name may be NULL (dangling image). Cmd is ["sh"]
 * when /bin/sh exists. $SOURCE_DATE_EPOCH, when set, is the created time. */
int img_import(img_store *s, const char *src, const char *name, char **id_out, berr_t *err);

/* Adds name dst to the image src (moving it away from any other image). */
int img_tag(img_store *s, const char *src, const char *dst, berr_t *err);

typedef struct img_removed {
  char **untagged;   /* names removed */
  char **deleted;    /* image ids removed */
  int64_t reclaimed; /* bytes freed on disk (blobs and layers) */
} img_removed;
void img_removed_free(img_removed *r);

/* `image rm`: a name that is one of several names of its image is untagged;
 * otherwise the image is deleted. Deleting by id an image that has several
 * names needs force. An image in use is never deleted; with force its names
 * are removed. Unreferenced blobs and layers are deleted. */
int img_remove(img_store *s, const char *ref, bool force, img_in_use_fn in_use, void *arg,
               img_removed *out, berr_t *err);

/* Deletes unnamed images (all images with all) that are not in use, then
 * unreferenced blobs, layers and stale staging files. */
int img_prune(img_store *s, bool all, img_in_use_fn in_use, void *arg, img_removed *out,
              berr_t *err);

/* ---- building blocks (public for tests and tools) ---------------------- */

/* "busybox" -> "busybox:latest", "docker.io/library/x:1" -> "x:1",
 * "index.docker.io/a/b" -> "a/b:latest", "quay.io/a/b:2" unchanged.
 * Digest references (NAME@sha256:…) are refused. Error: "invalid reference
 * format: REF". */
int img_ref_normalize(const char *ref, char **out, berr_t *err);
/* The fully qualified form: "busybox:latest" -> "docker.io/library/busybox:latest". */
char *img_ref_qualify(const char *normalized);

/* Unpacks the layer blob at blob_path (tar, gzip or zstd, detected by
 * content) into the new directory dest (must not exist), converting OCI
 * whiteouts to overlay ones. digest and diff_id, when not NULL, are checked
 * against the compressed and uncompressed bytes. Hostile entries (absolute
 * paths, "..", writes through symlinks, hard links out of the layer, device
 * nodes) refuse the whole layer; on any failure dest does not exist
 * afterwards. *size (may be NULL) gets the unpacked size. */
int img_layer_unpack(const char *blob_path, const char *dest, const char *digest,
                     const char *diff_id, int64_t *size, berr_t *err);

#endif
