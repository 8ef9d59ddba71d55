/* internal.h — what the files of src/image/ share with each other and nobody
 * else: the store struct, the index, hashing, blob staging and extraction. */
#ifndef BERTH_IMAGE_INTERNAL_H
#define BERTH_IMAGE_INTERNAL_H

#include "image/image.h"

/* Limits for JSON documents read from images (docker's manifest limit). */
#define IMG_JSON_MAX (4u << 20)

struct img_store {
  char *dir;    /* root/images */
  char *blobs;  /* root/images/blobs/sha256 */
  char *layers; /* root/images/layers */
  char *tmp;    /* root/images/tmp */
  char *index;  /* root/images/images.json */
  char *lock;   /* root/images/lock */
};

/* ---- digest.c ---------------------------------------------------------- */

typedef struct img_hash img_hash;
img_hash *img_hash_new(void);
void img_hash_update(img_hash *h, const void *data, size_t len);
/* Returns "sha256:<hex>"; call once. */
char *img_hash_final(img_hash *h);
void img_hash_free(img_hash *h);
void cleanup_hashp(img_hash **h);
#define cleanup_hash __attribute__((cleanup(cleanup_hashp)))

char *img_sha256(const void *data, size_t len);
/* True for "sha256:" followed by 64 lowercase hex digits. */
bool img_digest_valid(const char *d);
/* "invalid digest D" unless valid; other algorithms are named as unsupported. */
int img_digest_check(const char *d, berr_t *err);
/* The hex part of a valid digest. */
const char *img_digest_hex(const char *d);

/* ---- fsutil.c ---------------------------------------------------------- */

/* openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV): path
 * (relative) may follow symlinks only while they stay below dirfd. Sets errno
 * and returns -1 on failure, like openat. */
int img_openat_beneath(int dirfd, const char *path, int flags, mode_t mode);
/* Makes a fresh directory under the store's tmp dir: "<tmp>/<prefix>XXXXXX". */
int img_mktemp_dir(img_store *s, const char *prefix, char **out, berr_t *err);
/* Copies fd to a new file at dst while hashing; *digest gets the sha256. */
int img_copy_hashed(int fd, const char *dst, char **digest, int64_t *size, berr_t *err);
/* Hashes a whole file (below dirfd, or any path for AT_FDCWD). */
int img_hash_file(int dirfd, const char *path, char **digest, int64_t *size, berr_t *err);
/* Disk usage of a file or tree (apparent sizes of regular files). */
int64_t img_du(const char *path);
/* Removes a tree after renaming it into tmp, so that a crash never leaves a
 * half-deleted layer that looks complete. */
int img_rm_tree(img_store *s, const char *path, berr_t *err);
/* "amd64", "arm64"… for the machine berth was built for. */
const char *img_host_arch(void);

/* ---- store.c: the index ------------------------------------------------ */

/* Takes the store lock (LOCK_SH or LOCK_EX) on a fresh open file
 * description, so threads and processes exclude each other alike; returns
 * the fd that holds it: close it to release. */
int img_lock(img_store *s, int how, berr_t *err);
/* {"version":1,"images":{ID:{manifest,config,layers,diff_ids,names,created,
 * size,loaded}}}; an empty index when the file does not exist. */
int img_index_load(img_store *s, json_t **out, berr_t *err);
int img_index_save(img_store *s, json_t *idx, berr_t *err);
/* Finds the image id for a name, an id or an id prefix (borrowed string). */
int img_index_find(json_t *idx, const char *ref, const char **id, berr_t *err);
/* Removes a (normalised) name from whichever image has it. */
void img_index_drop_name(json_t *idx, const char *name);
/* Adds a (normalised) name to image id, taking it from any other image. */
void img_index_add_name(json_t *idx, const char *id, const char *name);

/* ---- blob.c ------------------------------------------------------------ */

char *img_blob_path(img_store *s, const char *digest);
/* Reads a whole blob and checks its digest: a corrupt blob is refused. */
int img_blob_read(img_store *s, const char *digest, size_t max, char **data, size_t *len,
                  berr_t *err);
/* A set of blobs staged in a tmp dir, moved into the store by commit. */
typedef struct img_stage {
  char *dir;       /* <tmp>/load-XXXXXX */
  char *blobs;     /* dir/blobs */
  char *layers;    /* dir/layers */
  json_t *digests; /* object: digest -> true, for blobs staged */
} img_stage;
int img_stage_init(img_store *s, const char *prefix, img_stage *st, berr_t *err);
void img_stage_free(img_stage *st); /* removes what was not committed */
/* Copies file path below dirfd into the stage, checking digest (NULL:
 * unchecked) and size (< 0: unchecked); *got (may be NULL) gets the digest. */
int img_stage_blob_file(img_stage *st, int dirfd, const char *path, const char *digest,
                        int64_t size, char **got, berr_t *err);
/* Moves a file we wrote ourselves into the stage as blob digest. */
int img_stage_adopt(img_stage *st, const char *path, const char *digest, berr_t *err);
/* Stages bytes; *digest (if not NULL) gets their digest. */
int img_stage_blob_data(img_stage *st, const void *data, size_t len, char **digest, berr_t *err);
/* Path of a staged blob, or of the stored one when it is not staged. */
char *img_stage_blob_path(img_store *s, img_stage *st, const char *digest);
/* Unpacks layer blob digest (staged or stored) for diff_id into the stage
 * unless the store has it already; adds its size to *size. */
int img_stage_layer(img_store *s, img_stage *st, const char *digest, const char *diff_id,
                    int64_t *size, berr_t *err);
/* With the lock held: moves staged blobs and layers into the store. */
int img_stage_commit(img_store *s, img_stage *st, berr_t *err);

/* Makes sure layers/<diff_id hex> exists, unpacking blob digest if needed. */
int img_layer_ensure(img_store *s, const char *digest, const char *diff_id, berr_t *err);
/* Size of an unpacked layer (walks it). */
int64_t img_layer_size(img_store *s, const char *diff_id);

/* ---- unpack.c ---------------------------------------------------------- */

enum img_unpack_mode {
  IMG_UNPACK_LAYER,   /* owners, modes, xattrs, whiteouts, fifos */
  IMG_UNPACK_ARCHIVE, /* an image archive: files, dirs, links only; no owners */
};
/* Extracts the (possibly compressed) tar on fd into the existing empty
 * directory destfd. digest/diff_id (may be NULL) are checked against the
 * compressed and uncompressed streams. */
int img_unpack_fd(int fd, int destfd, enum img_unpack_mode mode, const char *digest,
                  const char *diff_id, int64_t *size, berr_t *err);

/* ---- manifest.c -------------------------------------------------------- */

/* A parsed image manifest + config, as the loader and the store see it. */
typedef struct img_manifest {
  json_t *manifest; /* parsed manifest */
  char *config;     /* config digest */
  char **layers;    /* layer blob digests, bottom first */
  char **diff_ids;  /* from the config, same length */
  json_t *cfg;      /* parsed config */
  int64_t config_size;
  int64_t *layer_sizes; /* from the manifest descriptors */
} img_manifest;
/* Parses manifest bytes (OCI or docker v2 schema 2), checking digests'
 * syntax; the config is parsed by img_manifest_set_config. */
int img_manifest_parse(const char *data, size_t len, img_manifest *m, berr_t *err);
int img_manifest_set_config(img_manifest *m, const char *data, size_t len, berr_t *err);
void img_manifest_free(img_manifest *m);
/* Parses the config's "created". */
int64_t img_config_created(json_t *cfg);
/* Builds an OCI manifest for a config and layers. */
char *img_manifest_build(const char *config_digest, size_t config_size, char *const *layers,
                         const int64_t *layer_sizes, char *const *media_types);
/* Layer media type from the first bytes of a blob file. */
const char *img_layer_media_type(const char *path);

/* Registers an image in the (locked, loaded) index. */
void img_index_put(json_t *idx, const char *manifest_digest, img_manifest *m, int64_t size,
                   char *const *names);

#endif
