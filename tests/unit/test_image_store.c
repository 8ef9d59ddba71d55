/* test_image_store.c — the store as the engine and the CLI use it: load
 * (OCI layout, its tar, docker archive), resolve (names, ids, prefixes,
 * layer order, config), tag, rm, prune with an in-use predicate, save/load
 * round trip, import, and lazy (and concurrent) unpacking. */
#include "test_image_util.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static char *sb, *root;
static img_store *s;
static timg_layer bottom, top;

static void setup(void)
{
  sb = timg_sandbox();
  root = path_join(sb, "root");
  cleanup_free char *b = path_join(sb, "bottom.tar");
  cleanup_free char *t = path_join(sb, "top.tar.zst");
  timg_entry be[] = { { .name = "bin/sh", .data = "#!/bin/true\n", .mode = 0755 },
                      { .name = "etc/motd", .data = "hello\n" } };
  timg_entry te[] = { { .name = "etc/.wh.motd", .data = "" }, { .name = "app", .data = "app!" } };
  bottom = timg_make_layer(b, NULL, be, 2);
  top = timg_make_layer(t, "zstd", te, 2);
  berr_t err = BERR_INIT;
  cr_assert_eq(img_store_open(root, &s, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
  img_store_close(s);
  timg_layer_free(&bottom);
  timg_layer_free(&top);
  timg_cleanup(sb);
  free(sb);
  free(root);
}

TestSuite(image_store, .init = setup, .fini = teardown);

/* Makes a layout named name with both layers (or just the bottom one) and
 * loads it; returns the image id. */
static char *load_image(const char *dirname, const char *name, bool two_layers, json_t *cfg)
{
  cleanup_free char *layout = path_join(sb, dirname);
  timg_layer ls[2] = { bottom, top };
  char *id = timg_make_oci(layout, ls, two_layers ? 2 : 1, name, cfg);
  berr_t err = BERR_INIT;
  char **loaded = NULL;
  cr_assert_eq(img_load(s, layout, &loaded, &err), 0, "%s", err.msg);
  strv_free(loaded);
  return id;
}

static img_image *resolve(const char *ref)
{
  img_image *img = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(img_resolve(s, ref, &img, &err), 0, "%s: %s", ref, err.msg);
  return img;
}

static void expect_unknown(const char *ref)
{
  img_image *img = NULL;
  berr_t err = BERR_INIT;
  cr_assert_lt(img_resolve(s, ref, &img, &err), 0, "%s resolved", ref);
  cleanup_free char *want = xasprintf("unknown image %s", ref);
  cr_expect_str_eq(err.msg, want);
  cr_expect_eq(err.code, ENOENT);
  berr_clear(&err);
}

static bool never(const char *id, void *arg)
{
  return false;
}

static bool is_arg(const char *id, void *arg)
{
  return !strcmp(id, arg);
}

static size_t count_dir(const char *sub)
{
  cleanup_free char *p = xasprintf("%s/images/%s", root, sub);
  DIR *d = opendir(p);
  cr_assert(d, "%s", p);
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    n += de->d_name[0] != '.';
  closedir(d);
  return n;
}

Test(image_store, resolve_gives_layers_bottom_first_and_config)
{
  cleanup_json json_t *cfg
      = json_pack("{s:[s], s:[s], s:[s], s:s, s:s, s:{s:{}}}", "Entrypoint", "/app", "Cmd", "run",
                  "Env", "A=1", "WorkingDir", "/srv", "User", "65534", "ExposedPorts", "80/tcp");
  cleanup_free char *id = load_image("layout", "app:1", true, cfg);
  img_image *img = resolve("app:1");
  cr_expect_str_eq(img->id, id);
  cr_assert_eq(strv_len(img->layer_dirs), 2);
  cleanup_free char *l0 = xasprintf("%s/images/layers/%s", root, img_digest_hex(bottom.diff_id));
  cleanup_free char *l1 = xasprintf("%s/images/layers/%s", root, img_digest_hex(top.diff_id));
  cr_expect_str_eq(img->layer_dirs[0], l0);
  cr_expect_str_eq(img->layer_dirs[1], l1);
  cr_expect_eq(img->layer_dirs[0][0], '/', "layer dirs must be absolute");
  cleanup_free char *wh = path_join(l1, "etc/motd");
  struct stat st;
  cr_assert_eq(lstat(wh, &st), 0);
  cr_expect(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
  cr_expect(json_equal(img->config, cfg), "config differs");
  cr_expect_str_eq(img->names[0], "app:1");
  cr_expect_null(img->names[1]);
  cr_expect_eq(img->size, 12 + 6 + 4);
  cr_expect_eq(img->created_ns, 1577934245LL * 1000000000);
  img_image_free(img);
}

Test(image_store, every_form_of_a_reference_resolves)
{
  cleanup_free char *id = load_image("layout", "docker.io/library/busybox:latest", false, NULL);
  const char *refs[]
      = { "busybox", "busybox:latest", "library/busybox", "docker.io/library/busybox:latest" };
  for (size_t i = 0; i < ARRAY_SIZE(refs); i++) {
    img_image *img = resolve(refs[i]);
    cr_expect_str_eq(img->id, id);
    cr_expect_str_eq(img->names[0], "busybox:latest");
    cr_expect_not_null(img->config);
    cr_expect_eq(json_object_size(img->config), 0);
    img_image_free(img);
  }
  cleanup_free char *prefix = xstrndup(id + 7, 12);
  cleanup_free char *sprefix = xstrndup(id, 7 + 6);
  const char *ids[] = { id, id + 7, prefix, sprefix };
  for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
    img_image *img = resolve(ids[i]);
    cr_expect_str_eq(img->id, id);
    img_image_free(img);
  }
  expect_unknown("busybox:nope");
  expect_unknown("other");
  cleanup_free char *short3 = xstrndup(id + 7, 3);
  expect_unknown(short3);
}

Test(image_store, lazy_and_concurrent_unpacking)
{
  cleanup_free char *id = load_image("layout", "app:1", true, NULL);
  cleanup_free char *layers = xasprintf("%s/images/layers", root);
  berr_t err = BERR_INIT;
  cr_assert_eq(fs_rm_rf(layers, &err), 0);
  cr_assert_eq(fs_mkdir_p(layers, 0700, &err), 0);
  /* Several processes resolve at once: each must get complete layers. */
  pid_t pids[6];
  for (size_t i = 0; i < ARRAY_SIZE(pids); i++) {
    pids[i] = fork();
    if (pids[i] == 0) {
      img_image *img = NULL;
      berr_t e = BERR_INIT;
      if (img_resolve(s, "app:1", &img, &e) < 0)
        _exit(1);
      cleanup_free char *app = path_join(img->layer_dirs[1], "app");
      cleanup_free char *sh = path_join(img->layer_dirs[0], "bin/sh");
      _exit(fs_exists(app) && fs_exists(sh) ? 0 : 2);
    }
  }
  for (size_t i = 0; i < ARRAY_SIZE(pids); i++) {
    int st = 0;
    waitpid(pids[i], &st, 0);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "resolver %zu failed (%d)", i, st);
  }
  cr_expect_eq(count_dir("layers"), 2);
  cr_expect_eq(count_dir("tmp"), 0, "staging left behind");
}

Test(image_store, tag_rm_and_garbage_collection)
{
  cleanup_free char *id = load_image("layout", "app:1", true, NULL);
  berr_t err = BERR_INIT;
  cr_assert_eq(img_tag(s, "app:1", "quay.io/me/app:2", &err), 0, "%s", err.msg);
  img_image *img = resolve("quay.io/me/app:2");
  cr_expect_str_eq(img->id, id);
  cr_expect_eq(strv_len(img->names), 2);
  img_image_free(img);
  cr_expect_lt(img_tag(s, "nope", "x", &err), 0);
  cr_expect_str_eq(err.msg, "unknown image nope");
  berr_clear(&err);
  cr_expect_lt(img_tag(s, "app:1", "Bad:Name", &err), 0);
  cr_expect(strstr(err.msg, "invalid reference format"), "%s", err.msg);
  berr_clear(&err);

  /* By id with two names: needs force. */
  img_removed r = { 0 };
  cr_expect_lt(img_remove(s, id, false, never, NULL, &r, &err), 0);
  cr_expect(strstr(err.msg, "2 names"), "%s", err.msg);
  berr_clear(&err);
  img_removed_free(&r);

  /* By name: untag only. */
  cr_assert_eq(img_remove(s, "app:1", false, never, NULL, &r, &err), 0, "%s", err.msg);
  cr_expect_str_eq(r.untagged[0], "app:1");
  cr_expect_null(r.deleted);
  img_removed_free(&r);
  expect_unknown("app:1");
  cr_expect_eq(count_dir("blobs/sha256"), 4);

  /* Last name: the image and everything only it used goes. */
  cr_assert_eq(img_remove(s, "quay.io/me/app:2", false, never, NULL, &r, &err), 0, "%s", err.msg);
  cr_expect_str_eq(r.deleted[0], id);
  cr_expect_gt(r.reclaimed, 0);
  img_removed_free(&r);
  cr_expect_eq(count_dir("blobs/sha256"), 0);
  cr_expect_eq(count_dir("layers"), 0);
  img_summary *v = NULL;
  size_t n = 9;
  cr_assert_eq(img_list(s, &v, &n, &err), 0);
  cr_expect_eq(n, 0);
  img_summaries_free(v, n);
}

Test(image_store, images_in_use_are_kept)
{
  cleanup_free char *id = load_image("layout", "app:1", true, NULL);
  berr_t err = BERR_INIT;
  img_removed r = { 0 };
  cr_assert_lt(img_remove(s, "app:1", false, is_arg, id, &r, &err), 0);
  cr_expect(strstr(err.msg, "in use"), "%s", err.msg);
  cr_expect_eq(err.code, EBUSY);
  berr_clear(&err);
  img_removed_free(&r);
  /* force: the name goes, the image stays while used */
  cr_assert_eq(img_remove(s, "app:1", true, is_arg, id, &r, &err), 0, "%s", err.msg);
  cr_expect_str_eq(r.untagged[0], "app:1");
  cr_expect_null(r.deleted);
  img_removed_free(&r);
  img_image *img = resolve(id);
  img_image_free(img);
  cr_assert_eq(img_prune(s, true, is_arg, id, &r, &err), 0, "%s", err.msg);
  cr_expect_null(r.deleted);
  img_removed_free(&r);
  cr_assert_eq(img_prune(s, false, never, NULL, &r, &err), 0, "%s", err.msg);
  cr_expect_str_eq(r.deleted[0], id);
  img_removed_free(&r);
  cr_expect_eq(count_dir("layers"), 0);
}

Test(image_store, prune_keeps_shared_layers_and_named_images)
{
  cleanup_free char *one = load_image("l1", "one:1", false, NULL);
  cleanup_free char *two = load_image("l2", "two:1", true, NULL);
  berr_t err = BERR_INIT;
  /* Moving a name makes the other image dangling. */
  cr_assert_eq(img_tag(s, "two:1", "one:1", &err), 0, "%s", err.msg);
  img_removed r = { 0 };
  cr_assert_eq(img_prune(s, false, never, NULL, &r, &err), 0, "%s", err.msg);
  cr_assert_not_null(r.deleted);
  cr_expect_str_eq(r.deleted[0], one);
  cr_expect_null(r.deleted[1]);
  img_removed_free(&r);
  cr_expect_eq(count_dir("layers"), 2, "the shared bottom layer was removed");
  img_image *img = resolve("one:1");
  cr_expect_str_eq(img->id, two);
  img_image_free(img);
  cr_assert_eq(img_prune(s, true, never, NULL, &r, &err), 0, "%s", err.msg);
  cr_expect_eq(strv_len(r.untagged), 2);
  cr_expect_eq(count_dir("layers"), 0);
  cr_expect_eq(count_dir("blobs/sha256"), 0);
  img_removed_free(&r);
}

Test(image_store, save_and_load_round_trip)
{
  cleanup_json json_t *cfg = json_pack("{s:[s]}", "Cmd", "sh");
  cleanup_free char *id = load_image("layout", "app:1", true, cfg);
  berr_t err = BERR_INIT;
  cr_assert_eq(img_tag(s, "app:1", "app:2", &err), 0);
  cleanup_free char *out = path_join(sb, "saved.tar");
  int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  char *refs[] = { "app:1", "app:2", NULL };
  cr_assert_eq(img_save(s, refs, fd, &err), 0, "%s", err.msg);
  close(fd);
  cleanup_free char *list = xasprintf("tar -tf '%s' | sort | tr '\\n' ' '", out);
  FILE *p = popen(list, "r");
  char buf[4096] = { 0 };
  cr_assert(fread(buf, 1, sizeof buf - 1, p) > 0);
  pclose(p);
  cr_expect(strstr(buf, "oci-layout") && strstr(buf, "index.json") && strstr(buf, "manifest.json"),
            "%s", buf);

  cleanup_free char *root2 = path_join(sb, "root2");
  img_store *s2 = NULL;
  cr_assert_eq(img_store_open(root2, &s2, &err), 0);
  char **loaded = NULL;
  cr_assert_eq(img_load(s2, out, &loaded, &err), 0, "%s", err.msg);
  cr_expect_eq(strv_len(loaded), 2);
  strv_free(loaded);
  img_image *img = NULL;
  cr_assert_eq(img_resolve(s2, "app:2", &img, &err), 0, "%s", err.msg);
  cr_expect_str_eq(img->id, id);
  cr_expect(json_equal(img->config, cfg));
  cr_expect_eq(strv_len(img->names), 2);
  img_image_free(img);
  img_store_close(s2);
}

Test(image_store, docker_archive_and_layout_tar_load)
{
  cleanup_free char *darch = path_join(sb, "docker");
  timg_layer ls[2] = { bottom, top };
  cleanup_free char *id = timg_make_docker(darch, ls, 2, "legacy:v1");
  cleanup_free char *tar = path_join(sb, "docker.tar");
  timg_tar_dir(darch, tar);
  berr_t err = BERR_INIT;
  char **loaded = NULL;
  cr_assert_eq(img_load(s, tar, &loaded, &err), 0, "%s", err.msg);
  cr_expect_str_eq(loaded[0], "legacy:v1");
  strv_free(loaded);
  img_image *img = resolve("legacy:v1");
  cr_expect_str_eq(img->id, id);
  cleanup_free char *app = path_join(img->layer_dirs[1], "app");
  cr_expect(fs_exists(app));
  img_image_free(img);

  cleanup_free char *layout = path_join(sb, "oci");
  cleanup_free char *id2 = timg_make_oci(layout, ls, 1, "from-tar:1", NULL);
  cleanup_free char *otar = path_join(sb, "oci.tar.gz");
  cleanup_free char *cmd = xasprintf("tar -C '%s' -czf '%s' .", layout, otar);
  cr_assert_eq(system(cmd), 0);
  cr_assert_eq(img_load(s, otar, &loaded, &err), 0, "%s", err.msg);
  cr_expect_str_eq(loaded[0], "from-tar:1");
  strv_free(loaded);
}

Test(image_store, unnamed_oci_image_loads_dangling)
{
  cleanup_free char *layout = path_join(sb, "layout");
  timg_layer ls[1] = { bottom };
  /* ref.name "latest" alone is a tag, not a name */
  cleanup_free char *id = timg_make_oci(layout, ls, 1, "latest", NULL);
  berr_t err = BERR_INIT;
  char **loaded = NULL;
  cr_assert_eq(img_load(s, layout, &loaded, &err), 0, "%s", err.msg);
  cr_expect_str_eq(loaded[0], id);
  strv_free(loaded);
  img_summary *v = NULL;
  size_t n = 0;
  cr_assert_eq(img_list(s, &v, &n, &err), 0);
  cr_assert_eq(n, 1);
  cr_expect_null(v[0].names[0]);
  img_summaries_free(v, n);
}

static char *import_dir(const char *dir, const char *name)
{
  berr_t err = BERR_INIT;
  char *id = NULL;
  cr_assert_eq(img_import(s, dir, name, &id, &err), 0, "%s", err.msg);
  return id;
}

Test(image_store, import_a_directory)
{
  cleanup_free char *rootfs = path_join(sb, "rootfs");
  cleanup_free char *sh = path_join(rootfs, "bin/busybox");
  timg_write(sh, "#!\n");
  cleanup_free char *link = path_join(rootfs, "bin/sh");
  cr_assert_eq(symlink("/bin/busybox", link), 0);
  cleanup_free char *dev = path_join(rootfs, "dev");
  cr_assert_eq(mkdir(dev, 0755), 0);
  cleanup_free char *null = path_join(rootfs, "dev/null");
  cr_assert_eq(mknod(null, S_IFCHR | 0666, makedev(1, 3)), 0);
  cleanup_free char *id = import_dir(rootfs, "mine:1");
  img_image *img = resolve("mine:1");
  cr_expect_str_eq(img->id, id);
  cr_assert_eq(strv_len(img->layer_dirs), 1);
  json_t *cmd = json_object_get(img->config, "Cmd");
  cr_expect(json_is_array(cmd) && !strcmp(json_string_value(json_array_get(cmd, 0)), "sh"));
  cleanup_free char *ul = path_join(img->layer_dirs[0], "bin/sh");
  char target[64] = { 0 };
  cr_expect_gt(readlink(ul, target, sizeof target - 1), 0);
  cr_expect_str_eq(target, "/bin/busybox");
  cleanup_free char *unull = path_join(img->layer_dirs[0], "dev/null");
  cr_expect(!fs_exists(unull), "device node imported");
  img_image_free(img);

  /* Same tree, same SOURCE_DATE_EPOCH: same id. */
  setenv("SOURCE_DATE_EPOCH", "1000", 1);
  cleanup_free char *a = import_dir(rootfs, NULL);
  cleanup_free char *b = import_dir(rootfs, NULL);
  unsetenv("SOURCE_DATE_EPOCH");
  cr_expect_str_eq(a, b);

  /* No /bin/sh: no Cmd. */
  cleanup_free char *plain = path_join(sb, "plain");
  cleanup_free char *f = path_join(plain, "data/file");
  timg_write(f, "x");
  cleanup_free char *pid = import_dir(plain, "plain:1");
  img_image *p = resolve("plain:1");
  cr_expect_null(json_object_get(p->config, "Cmd"));
  img_image_free(p);

  berr_t err = BERR_INIT;
  char *none = NULL;
  cr_expect_lt(img_import(s, "/nonexistent-dir", "x:1", &none, &err), 0);
  cr_expect(strstr(err.msg, "/nonexistent-dir"), "%s", err.msg);
  berr_clear(&err);
}

Test(image_store, import_a_tarball)
{
  cleanup_free char *blob = path_join(sb, "rootfs.tar.gz");
  timg_entry e[] = { { .name = "./", .type = AE_IFDIR },
                     { .name = "./bin/sh", .data = "#!", .mode = 0755 },
                     { .name = "./dev/console", .type = AE_IFCHR } };
  timg_layer l = timg_make_layer(blob, "gzip", e, 3);
  cleanup_free char *id = import_dir(blob, "tarball:1");
  img_image *img = resolve("tarball:1");
  cleanup_free char *sh = path_join(img->layer_dirs[0], "bin/sh");
  cr_expect(fs_exists(sh));
  cr_expect_not_null(json_object_get(img->config, "Cmd"));
  img_image_free(img);
  timg_layer_free(&l);
}
