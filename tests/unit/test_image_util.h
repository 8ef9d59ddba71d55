/* test_image_util.h — helpers for the image tests: a sandbox directory, tar
 * layers written with libarchive, and OCI layouts / docker archives built
 * around them, so every test feeds the store real files. */
#ifndef BERTH_TEST_IMAGE_UTIL_H
#define BERTH_TEST_IMAGE_UTIL_H

#include "image/internal.h"

#include "image/archive_dl.h" /* libarchive, loaded as berth loads it */

typedef struct timg_entry {
  const char *name;
  mode_t type;      /* AE_IFREG (default when 0), AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFIFO… */
  const char *data; /* regular files */
  const char *link; /* symlink target, or hard link target when hardlink */
  bool hardlink;
  unsigned mode; /* 0: 0644 for files, 0755 for directories */
} timg_entry;

typedef struct timg_layer {
  char *path;    /* the blob file */
  char *digest;  /* of the blob */
  char *diff_id; /* of the uncompressed tar */
  int64_t size;
} timg_layer;

/* A fresh directory under /tmp; removed by timg_cleanup. */
char *timg_sandbox(void);
void timg_cleanup(const char *dir);

/* Writes a layer of n entries to path, compressed with filter (NULL, "gzip"
 * or "zstd"). */
timg_layer timg_make_layer(const char *path, const char *filter, const timg_entry *e, size_t n);
void timg_layer_free(timg_layer *l);

/* Makes an OCI layout directory holding one image of the given layers, named
 * name (may be NULL), with config "config" object cfg (may be NULL). Returns
 * the config digest (the image id). */
char *timg_make_oci(const char *dir, timg_layer *layers, size_t n, const char *name, json_t *cfg);
/* Same image as a legacy `docker save` archive directory (<id>/layer.tar). */
char *timg_make_docker(const char *dir, timg_layer *layers, size_t n, const char *name);

/* Sorted listing of every path below dir, with types and sizes: equal
 * listings mean nothing was added, removed or resized. */
char *timg_tree(const char *dir);
/* Writes a file (creating parent directories). */
void timg_write(const char *path, const char *data);
/* Tar of a directory (for loading layouts as archives). */
void timg_tar_dir(const char *dir, const char *out);

#endif
