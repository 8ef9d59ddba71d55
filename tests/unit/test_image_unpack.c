/* test_image_unpack.c — layer unpacking: hostile layers are refused and write
 * nothing outside their directory (checked in a sandbox that has an
 * "outside" directory next to the layer), whiteouts become overlay
 * whiteouts, compressed layers are detected by content, and digests are
 * checked. A hostile layer loaded through the store leaves the store as it
 * was. */
#include "test_image_util.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static char *sb;      /* sandbox: layer blobs are written here */
static char *watched; /* sb/w: nothing may change here but dest */
static char *outside; /* sb/w/outside: must stay as it is */
static char *dest;    /* sb/w/a/b/layer: where layers are unpacked */

static void setup(void)
{
  sb = timg_sandbox();
  watched = path_join(sb, "w");
  outside = path_join(sb, "w/outside");
  dest = path_join(sb, "w/a/b/layer");
  berr_t err = BERR_INIT;
  cr_assert_eq(fs_mkdir_p(outside, 0755, &err), 0);
  cr_assert_eq(fs_mkdir_p(dest, 0755, &err), 0);
  rmdir(dest); /* img_layer_unpack makes it */
}

static void teardown(void)
{
  timg_cleanup(sb);
  free(sb);
  free(watched);
  free(outside);
  free(dest);
}

TestSuite(image_unpack, .init = setup, .fini = teardown);

/* Unpacks entries; returns the error message (NULL on success). */
static char *unpack(const timg_entry *e, size_t n, const char *filter)
{
  cleanup_free char *blob = path_join(sb, "layer.tar");
  unlink(blob);
  timg_layer l = timg_make_layer(blob, filter, e, n);
  berr_t err = BERR_INIT;
  int rc = img_layer_unpack(l.path, dest, l.digest, l.diff_id, NULL, &err);
  timg_layer_free(&l);
  if (rc == 0) {
    cr_assert_null(err.msg);
    return NULL;
  }
  cr_assert(err.msg);
  return err.msg;
}

static void expect_refused(const timg_entry *e, size_t n, const char *entry, const char *why)
{
  cleanup_free char *before = timg_tree(watched);
  cleanup_free char *msg = unpack(e, n, NULL);
  cr_assert(msg, "hostile layer accepted (entry %s)", entry);
  cr_expect(strstr(msg, entry), "error does not name the entry %s: %s", entry, msg);
  cr_expect(strstr(msg, why), "error does not say \"%s\": %s", why, msg);
  cr_expect(!fs_exists(dest), "the layer directory was left behind after: %s", msg);
  cleanup_free char *after = timg_tree(watched);
  cr_expect_str_eq(after, before, "something was written outside the layer:\n%s", after);
}

Test(image_unpack, dotdot_is_refused)
{
  timg_entry e[] = { { .name = "ok" }, { .name = "../../../outside/x", .data = "pwned" } };
  expect_refused(e, 2, "../../../outside/x", "leads outside");
}

Test(image_unpack, dotdot_in_the_middle_is_refused)
{
  timg_entry e[] = { { .name = "d", .type = AE_IFDIR },
                     { .name = "d/../../../../outside/x", .data = "pwned" } };
  expect_refused(e, 2, "d/../../../../outside/x", "leads outside");
}

Test(image_unpack, absolute_path_is_refused)
{
  cleanup_free char *abs = path_join(outside, "x");
  timg_entry e[] = { { .name = abs, .data = "pwned" } };
  expect_refused(e, 1, abs, "absolute path");
  cr_expect(!fs_exists(abs));
}

Test(image_unpack, write_through_symlink_to_root_is_refused)
{
  /* evil -> /, then evil/<sandbox>/outside/x: would land in outside/. */
  cleanup_free char *through = xasprintf("evil%s/x", outside);
  timg_entry e[]
      = { { .name = "evil", .type = AE_IFLNK, .link = "/" }, { .name = through, .data = "pwned" } };
  expect_refused(e, 2, through, "symlink");
}

Test(image_unpack, write_through_relative_symlink_out_is_refused)
{
  timg_entry e[] = { { .name = "evil", .type = AE_IFLNK, .link = "../../../outside" },
                     { .name = "evil/x", .data = "pwned" } };
  expect_refused(e, 2, "evil/x", "symlink");
}

Test(image_unpack, directory_through_symlink_out_is_refused)
{
  timg_entry e[] = { { .name = "evil", .type = AE_IFLNK, .link = outside },
                     { .name = "evil/sub/", .type = AE_IFDIR } };
  expect_refused(e, 2, "evil/sub", "symlink");
}

Test(image_unpack, hardlink_to_absolute_path_is_refused)
{
  timg_entry e[] = { { .name = "pw", .hardlink = true, .link = "/etc/passwd" } };
  expect_refused(e, 1, "pw", "absolute path");
}

Test(image_unpack, hardlink_with_dotdot_is_refused)
{
  cleanup_free char *victim = path_join(outside, "victim");
  timg_write(victim, "secret");
  timg_entry e[] = { { .name = "x", .hardlink = true, .link = "../../../outside/victim" } };
  expect_refused(e, 1, "\"x\"", "leads outside");
}

Test(image_unpack, hardlink_through_symlink_out_is_refused)
{
  cleanup_free char *victim = path_join(outside, "victim");
  timg_write(victim, "secret");
  timg_entry e[] = { { .name = "evil", .type = AE_IFLNK, .link = outside },
                     { .name = "x", .hardlink = true, .link = "evil/victim" } };
  expect_refused(e, 2, "\"x\"", "symlink");
}

Test(image_unpack, char_device_is_refused)
{
  timg_entry e[] = { { .name = "dev", .type = AE_IFDIR }, { .name = "dev/mem", .type = AE_IFCHR } };
  expect_refused(e, 2, "dev/mem", "device");
}

Test(image_unpack, block_device_is_refused)
{
  timg_entry e[] = { { .name = "sda", .type = AE_IFBLK } };
  expect_refused(e, 1, "sda", "device");
}

Test(image_unpack, replacing_a_symlink_does_not_follow_it)
{
  /* A symlink to a file outside, then a regular file of the same name: the
   * file replaces the link, the target is untouched. */
  cleanup_free char *victim = path_join(outside, "victim");
  timg_write(victim, "secret");
  timg_entry e[]
      = { { .name = "f", .type = AE_IFLNK, .link = victim }, { .name = "f", .data = "replaced" } };
  cleanup_free char *msg = unpack(e, 2, NULL);
  cr_assert_null(msg, "%s", msg);
  cleanup_free char *data = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(fs_read_file(victim, 0, &data, NULL, &err), 0);
  cr_expect_str_eq(data, "secret");
  cleanup_free char *f = path_join(dest, "f");
  struct stat st;
  cr_assert_eq(lstat(f, &st), 0);
  cr_expect(S_ISREG(st.st_mode));
}

Test(image_unpack, links_inside_the_layer_work)
{
  timg_entry e[] = {
    { .name = "usr/lib/", .type = AE_IFDIR },
    { .name = "lib", .type = AE_IFLNK, .link = "usr/lib" },
    { .name = "lib/libc.so", .data = "elf" }, /* through an in-layer symlink */
    { .name = "bin/sh", .data = "#!", .mode = 0755 },
    { .name = "bin/ash", .hardlink = true, .link = "bin/sh" },
    { .name = "abs", .type = AE_IFLNK, .link = "/bin/sh" }, /* a target, not a path we use */
    { .name = "run/fifo", .type = AE_IFIFO },
  };
  cleanup_free char *msg = unpack(e, ARRAY_SIZE(e), NULL);
  cr_assert_null(msg, "%s", msg);
  struct stat a, b;
  cleanup_free char *libc = path_join(dest, "usr/lib/libc.so");
  cleanup_free char *sh = path_join(dest, "bin/sh");
  cleanup_free char *ash = path_join(dest, "bin/ash");
  cleanup_free char *fifo = path_join(dest, "run/fifo");
  cr_expect(fs_exists(libc));
  cr_assert_eq(stat(sh, &a), 0);
  cr_assert_eq(stat(ash, &b), 0);
  cr_expect_eq(a.st_ino, b.st_ino, "hard link not made");
  cr_expect_eq(a.st_mode & 07777, 0755);
  cr_assert_eq(lstat(fifo, &a), 0);
  cr_expect(S_ISFIFO(a.st_mode));
}

Test(image_unpack, whiteouts_become_overlay_whiteouts)
{
  timg_entry e[] = {
    { .name = "etc/", .type = AE_IFDIR },       { .name = "etc/.wh.motd", .data = "" },
    { .name = "var/cache/", .type = AE_IFDIR }, { .name = "var/cache/.wh..wh..opq", .data = "" },
    { .name = "var/cache/new", .data = "x" },
  };
  cleanup_free char *msg = unpack(e, ARRAY_SIZE(e), NULL);
  cr_assert_null(msg, "%s", msg);
  cleanup_free char *wh = path_join(dest, "etc/motd");
  cleanup_free char *marker = path_join(dest, "etc/.wh.motd");
  cleanup_free char *cache = path_join(dest, "var/cache");
  cleanup_free char *opq = path_join(dest, "var/cache/.wh..wh..opq");
  struct stat st;
  cr_assert_eq(lstat(wh, &st), 0, "no whiteout for etc/motd");
  cr_expect(S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0,
            "etc/motd is not a 0/0 character device");
  cr_expect(!fs_exists(marker), "the .wh. file itself was extracted");
  cr_expect(!fs_exists(opq), "the opaque marker itself was extracted");
  char v[8] = { 0 };
  cr_expect_eq(lgetxattr(cache, "trusted.overlay.opaque", v, sizeof v), 1, "%s", strerror(errno));
  cr_expect_str_eq(v, "y");
}

Test(image_unpack, layer_xattrs_cannot_set_overlay_attributes)
{
  /* A layer's own trusted.* xattrs are dropped; only whiteouts make them. */
  cleanup_free char *blob = path_join(sb, "x.tar");
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  cr_assert_eq(archive_write_open_filename(a, blob), ARCHIVE_OK);
  struct archive_entry *en = archive_entry_new();
  archive_entry_set_pathname(en, "d");
  archive_entry_set_filetype(en, AE_IFDIR);
  archive_entry_set_perm(en, 0755);
  archive_entry_xattr_add_entry(en, "trusted.overlay.redirect", "/etc", 4);
  archive_entry_xattr_add_entry(en, "user.note", "hi", 2);
  cr_assert_eq(archive_write_header(a, en), ARCHIVE_OK);
  archive_entry_free(en);
  archive_write_close(a);
  archive_write_free(a);
  berr_t err = BERR_INIT;
  cr_assert_eq(img_layer_unpack(blob, dest, NULL, NULL, NULL, &err), 0, "%s", err.msg);
  cleanup_free char *d = path_join(dest, "d");
  char v[16];
  cr_expect_lt(lgetxattr(d, "trusted.overlay.redirect", v, sizeof v), 0);
  cr_expect_eq(lgetxattr(d, "user.note", v, sizeof v), 2);
}

static void unpack_compressed(const char *filter, const char *magic_type)
{
  timg_entry e[] = { { .name = "hello", .data = "compressed layer" } };
  cleanup_free char *blob = path_join(sb, "layer.bin");
  timg_layer l = timg_make_layer(blob, filter, e, 1);
  cr_expect_str_eq(img_layer_media_type(blob), magic_type);
  cr_expect_str_neq(l.digest, l.diff_id);
  berr_t err = BERR_INIT;
  int64_t size = 0;
  cr_assert_eq(img_layer_unpack(l.path, dest, l.digest, l.diff_id, &size, &err), 0, "%s", err.msg);
  cr_expect_eq(size, 16);
  cleanup_free char *f = path_join(dest, "hello");
  cleanup_free char *data = NULL;
  cr_assert_eq(fs_read_file(f, 0, &data, NULL, &err), 0);
  cr_expect_str_eq(data, "compressed layer");
  timg_layer_free(&l);
}

Test(image_unpack, gzip_layer)
{
  unpack_compressed("gzip", "application/vnd.oci.image.layer.v1.tar+gzip");
}

Test(image_unpack, zstd_layer)
{
  unpack_compressed("zstd", "application/vnd.oci.image.layer.v1.tar+zstd");
}

Test(image_unpack, wrong_diff_id_is_refused)
{
  timg_entry e[] = { { .name = "hello", .data = "x" } };
  cleanup_free char *blob = path_join(sb, "layer.tar.gz");
  timg_layer l = timg_make_layer(blob, "gzip", e, 1);
  berr_t err = BERR_INIT;
  cr_assert_lt(img_layer_unpack(l.path, dest, l.digest, l.digest, NULL, &err), 0);
  cr_expect(strstr(err.msg, "diff_id mismatch"), "%s", err.msg);
  cr_expect(!fs_exists(dest));
  berr_clear(&err);
  cr_assert_lt(img_layer_unpack(l.path, dest, l.diff_id, l.diff_id, NULL, &err), 0);
  cr_expect(strstr(err.msg, "digest mismatch"), "%s", err.msg);
  berr_clear(&err);
  timg_layer_free(&l);
}

Test(image_unpack, not_a_tar_is_refused)
{
  cleanup_free char *blob = path_join(sb, "junk");
  timg_write(blob, "this is not a tar archive, not even close to 512 bytes");
  berr_t err = BERR_INIT;
  cr_assert_lt(img_layer_unpack(blob, dest, NULL, NULL, NULL, &err), 0);
  cr_expect(strstr(err.msg, "not a tar archive"), "%s", err.msg);
  cr_expect(!fs_exists(dest));
  berr_clear(&err);
}

/* Through the store: a hostile layer in an OCI layout changes nothing. */
static void load_refused(const timg_entry *e, size_t n, const char *why)
{
  cleanup_free char *root = path_join(sb, "root");
  cleanup_free char *layout = path_join(sb, "layout");
  cleanup_free char *blob = path_join(sb, "l.tar");
  timg_layer l = timg_make_layer(blob, "gzip", e, n);
  free(timg_make_oci(layout, &l, 1, "evil:latest", NULL));
  img_store *s = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(img_store_open(root, &s, &err), 0, "%s", err.msg);
  cleanup_free char *before = timg_tree(sb);
  char **loaded = NULL;
  cr_assert_lt(img_load(s, layout, &loaded, &err), 0, "hostile layout loaded");
  cr_expect(strstr(err.msg, why), "%s", err.msg);
  cr_expect(strstr(err.msg, l.digest), "error does not name the layer: %s", err.msg);
  cleanup_free char *after = timg_tree(sb);
  cr_expect_str_eq(after, before, "load changed files:\n%s", after);
  img_image *img = NULL;
  berr_clear(&err);
  cr_expect_lt(img_resolve(s, "evil", &img, &err), 0);
  cr_expect(strstr(err.msg, "unknown image evil"), "%s", err.msg);
  berr_clear(&err);
  img_store_close(s);
  timg_layer_free(&l);
}

Test(image_unpack, store_unchanged_after_hostile_dotdot)
{
  timg_entry e[] = { { .name = "bin/ok", .data = "fine" }, { .name = "../../x", .data = "pwned" } };
  load_refused(e, 2, "leads outside");
}

Test(image_unpack, store_unchanged_after_hostile_symlink)
{
  /* evil -> /, then a write through it (aimed at the sandbox, not /etc). */
  cleanup_free char *through = xasprintf("evil%s/x", outside);
  timg_entry e[]
      = { { .name = "evil", .type = AE_IFLNK, .link = "/" }, { .name = through, .data = "pwned" } };
  load_refused(e, 2, "symlink");
}

Test(image_unpack, store_unchanged_after_device_node)
{
  timg_entry e[] = { { .name = "null", .type = AE_IFCHR } };
  load_refused(e, 1, "device");
}
