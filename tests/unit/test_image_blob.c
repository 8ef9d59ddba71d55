/* test_image_blob.c — the content-addressed store checks digests both ways:
 * a corrupt input is refused before anything is stored, and a blob corrupted
 * on disk afterwards is refused when it is read (resolve, inspect, save,
 * unpack). */
#include "test_image_util.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static char *sb, *root, *layout;
static img_store *s;
static char *id;
static timg_layer layer;

static void setup(void)
{
  sb = timg_sandbox();
  root = path_join(sb, "root");
  layout = path_join(sb, "layout");
  cleanup_free char *blob = path_join(sb, "l.tar.gz");
  timg_entry e[] = { { .name = "bin/sh", .data = "#!/bin/true\n", .mode = 0755 } };
  layer = timg_make_layer(blob, "gzip", e, 1);
  id = timg_make_oci(layout, &layer, 1, "docker.io/library/app:1", NULL);
  berr_t err = BERR_INIT;
  cr_assert_eq(img_store_open(root, &s, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
  img_store_close(s);
  timg_layer_free(&layer);
  timg_cleanup(sb);
  free(sb);
  free(root);
  free(layout);
  free(id);
}

TestSuite(image_blob, .init = setup, .fini = teardown);

static void load_ok(void)
{
  berr_t err = BERR_INIT;
  char **loaded = NULL;
  cr_assert_eq(img_load(s, layout, &loaded, &err), 0, "%s", err.msg);
  cr_assert_str_eq(loaded[0], "app:1");
  strv_free(loaded);
}

/* Flips one byte of a file in place (same size: only the hash can tell). */
static void corrupt(const char *path)
{
  int fd = open(path, O_RDWR);
  cr_assert_geq(fd, 0, "%s", path);
  char c;
  cr_assert_eq(pread(fd, &c, 1, 10), 1);
  c ^= 0x20;
  cr_assert_eq(pwrite(fd, &c, 1, 10), 1);
  close(fd);
}

static char *stored_blob(const char *digest)
{
  return xasprintf("%s/images/blobs/sha256/%s", root, img_digest_hex(digest));
}

Test(image_blob, blobs_are_stored_under_their_digest)
{
  load_ok();
  cleanup_free char *p = stored_blob(layer.digest);
  char *d = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(img_hash_file(AT_FDCWD, p, &d, NULL, &err), 0, "%s", err.msg);
  cr_expect_str_eq(d, layer.digest);
  free(d);
  cleanup_free char *ldir
      = xasprintf("%s/images/layers/%s/bin/sh", root, img_digest_hex(layer.diff_id));
  cr_expect(fs_exists(ldir), "layer not unpacked under its diff_id");
}

Test(image_blob, corrupt_config_on_disk_is_refused_on_read)
{
  load_ok();
  cleanup_free char *p = stored_blob(id);
  corrupt(p);
  berr_t err = BERR_INIT;
  img_image *img = NULL;
  cr_assert_lt(img_resolve(s, "app:1", &img, &err), 0, "corrupt config accepted");
  cr_expect(strstr(err.msg, "is corrupt") && strstr(err.msg, id), "%s", err.msg);
  berr_clear(&err);
  json_t *j = NULL;
  cr_expect_lt(img_inspect(s, "app:1", &j, &err), 0);
  berr_clear(&err);
  cleanup_free char *out = path_join(sb, "out.tar");
  int fd = open(out, O_WRONLY | O_CREAT, 0644);
  char *refs[] = { "app:1", NULL };
  cr_expect_lt(img_save(s, refs, fd, &err), 0);
  cr_expect(strstr(err.msg, "is corrupt"), "%s", err.msg);
  close(fd);
  berr_clear(&err);
}

Test(image_blob, corrupt_layer_on_disk_is_refused_when_unpacked)
{
  load_ok();
  cleanup_free char *p = stored_blob(layer.digest);
  corrupt(p);
  /* Not unpacked yet (as after a crash, or a prune of the layer only). */
  cleanup_free char *ldir = xasprintf("%s/images/layers/%s", root, img_digest_hex(layer.diff_id));
  berr_t err = BERR_INIT;
  cr_assert_eq(fs_rm_rf(ldir, &err), 0);
  img_image *img = NULL;
  cr_assert_lt(img_resolve(s, "app:1", &img, &err), 0, "corrupt layer accepted");
  cr_expect(strstr(err.msg, layer.digest), "%s", err.msg);
  cr_expect(!fs_exists(ldir), "a corrupt layer was unpacked");
  berr_clear(&err);
  /* save re-hashes layers too */
  cleanup_free char *out = path_join(sb, "out.tar");
  int fd = open(out, O_WRONLY | O_CREAT, 0644);
  char *refs[] = { "app:1", NULL };
  cr_expect_lt(img_save(s, refs, fd, &err), 0);
  cr_expect(strstr(err.msg, "is corrupt"), "%s", err.msg);
  close(fd);
  berr_clear(&err);
}

static void expect_load_refused(const char *path, const char *why)
{
  cleanup_free char *before = timg_tree(root);
  berr_t err = BERR_INIT;
  char **loaded = NULL;
  cr_assert_lt(img_load(s, path, &loaded, &err), 0, "bad input loaded");
  cr_expect(strstr(err.msg, why), "error [%s] does not say [%s]", err.msg, why);
  cr_expect(strstr(err.msg, path), "error does not name the input: %s", err.msg);
  cleanup_free char *after = timg_tree(root);
  cr_expect_str_eq(after, before, "a refused load changed the store:\n%s", after);
  berr_clear(&err);
}

Test(image_blob, corrupt_layer_in_layout_is_refused)
{
  cleanup_free char *p = xasprintf("%s/blobs/sha256/%s", layout, img_digest_hex(layer.digest));
  corrupt(p);
  expect_load_refused(layout, "is corrupt");
}

Test(image_blob, corrupt_config_in_layout_is_refused)
{
  cleanup_free char *p = xasprintf("%s/blobs/sha256/%s", layout, img_digest_hex(id));
  corrupt(p);
  expect_load_refused(layout, "is corrupt");
}

Test(image_blob, missing_blob_is_named)
{
  cleanup_free char *p = xasprintf("%s/blobs/sha256/%s", layout, img_digest_hex(layer.digest));
  unlink(p);
  expect_load_refused(layout, img_digest_hex(layer.digest));
}

Test(image_blob, digest_that_is_a_path_is_refused)
{
  cleanup_free char *p = path_join(layout, "index.json");
  timg_write(p, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":"
                "\"sha256:../../../../etc/passwd\",\"size\":10}]}");
  expect_load_refused(layout, "invalid digest");
}

Test(image_blob, not_an_image_is_refused)
{
  cleanup_free char *dir = path_join(sb, "empty");
  berr_t err = BERR_INIT;
  cr_assert_eq(fs_mkdir_p(dir, 0755, &err), 0);
  expect_load_refused(dir, "not an OCI layout or docker archive");
  cleanup_free char *junk = path_join(sb, "junk.tar");
  timg_write(junk, "hello");
  expect_load_refused(junk, "not an OCI layout or docker archive");
}

Test(image_blob, truncated_archive_is_refused)
{
  cleanup_free char *tar = path_join(sb, "layout.tar");
  timg_tar_dir(layout, tar);
  cleanup_free char *cut = xasprintf("%s.cut", tar);
  cleanup_free char *cmd = xasprintf("head -c 3000 '%s' > '%s'", tar, cut);
  cr_assert_eq(system(cmd), 0);
  expect_load_refused(cut, "runcated");
}
