/* test_engine.c — the engine's pure parts: from an image config and the
 * user's options to an OCI config (command merge, env, user, volumes,
 * limits, annotations), option parsing and its error messages, names,
 * finding containers by name or id prefix, and listing and removing cgroup
 * parents (as root, in real hierarchies). No container is started here;
 * tests/e2e/t_container.sh does that. */
#include "engine/internal.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char tmp[64];

static void mktmp(void)
{
  strcpy(tmp, "/tmp/berth-unit-engine-XXXXXX");
  cr_assert_not_null(mkdtemp(tmp));
}

static void rmtmp(void)
{
  /* engine_open mounted a tmpfs on ROOT/run (when run as root) */
  char *run = path_join(tmp, "run");
  umount2(run, MNT_DETACH);
  free(run);
  fs_rm_rf(tmp, NULL);
}

static void write_file(const char *dir, const char *rel, const char *data)
{
  char *p = path_join(dir, rel);
  char *d = xstrdup(p);
  *strrchr(d, '/') = '\0';
  cr_assert_eq(fs_mkdir_p(d, 0755, NULL), 0);
  cr_assert_eq(fs_write_atomic(p, data, strlen(data), 0644, NULL), 0);
  free(d);
  free(p);
}

static json_t *img_cfg(const char *text)
{
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  cr_assert_not_null(j, "%s", je.text);
  return j;
}

/* Builds a config with the given options; fails the test on error. */
static json_t *build(json_t *cfg, char **layers, const engine_create_opts *o)
{
  berr_t err = BERR_INIT;
  json_t *oci = NULL;
  int r = engine_build_config(cfg, layers, o,
                              "0123456789abcdef0123456789abcdef0123456789abcdef"
                              "0123456789abcdef",
                              "/var/lib/berth/containers/x",
                              "/var/lib/berth/run/containers/x/rootfs", &oci, &err);
  cr_assert_eq(r, 0, "%s", err.msg);
  return oci;
}

static char *build_err(json_t *cfg, char **layers, const engine_create_opts *o)
{
  berr_t err = BERR_INIT;
  json_t *oci = NULL;
  int r = engine_build_config(cfg, layers, o, "0123456789abcdef", "/b", NULL, &oci, &err);
  cr_assert_lt(r, 0);
  cr_assert_null(oci);
  return err.msg;
}

static char *args_of(json_t *oci)
{
  return json_dumps(json_object_get(json_object_get(oci, "process"), "args"), JSON_COMPACT);
}

static bool env_contains(json_t *oci, const char *kv)
{
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(json_object_get(oci, "process"), "env"), i,
                     v) if (!strcmp(json_string_value(v), kv)) return true;
  return false;
}

Test(engine, command_merge)
{
  json_t *cfg = img_cfg("{\"Entrypoint\":[\"/bin/echo\",\"-n\"],\"Cmd\":[\"hi\"]}");
  engine_create_opts o = { .image = "x" };
  json_t *oci = build(cfg, NULL, &o);
  char *a = args_of(oci);
  cr_assert_str_eq(a, "[\"/bin/echo\",\"-n\",\"hi\"]");
  free(a);
  json_decref(oci);

  char *cmd[] = { "bye", "now", NULL };
  o.cmd = cmd;
  oci = build(cfg, NULL, &o);
  a = args_of(oci);
  cr_assert_str_eq(a, "[\"/bin/echo\",\"-n\",\"bye\",\"now\"]", "args replace Cmd: %s", a);
  free(a);
  json_decref(oci);

  /* --entrypoint drops the image's Cmd too. */
  char *ep[] = { "/bin/sh", NULL };
  o.cmd = NULL;
  o.entrypoint = ep;
  oci = build(cfg, NULL, &o);
  a = args_of(oci);
  cr_assert_str_eq(a, "[\"/bin/sh\"]");
  free(a);
  json_decref(oci);
  json_decref(cfg);

  /* Cmd only. */
  cfg = img_cfg("{\"Cmd\":[\"sh\"]}");
  o = (engine_create_opts){ .image = "x" };
  oci = build(cfg, NULL, &o);
  a = args_of(oci);
  cr_assert_str_eq(a, "[\"sh\"]");
  free(a);
  json_decref(oci);
  json_decref(cfg);

  /* Nothing at all. */
  cfg = img_cfg("{}");
  char *msg = build_err(cfg, NULL, &o);
  cr_assert(strstr(msg, "no command specified"), "%s", msg);
  free(msg);
  json_decref(cfg);
}

Test(engine, env_override)
{
  json_t *cfg = img_cfg("{\"Cmd\":[\"sh\"],\"Env\":[\"PATH=/opt/bin\",\"A=1\",\"C=keep\"]}");
  char *env[] = { "A=2", "B=3", NULL };
  engine_create_opts o = { .image = "x", .env = env };
  json_t *oci = build(cfg, NULL, &o);
  cr_assert(env_contains(oci, "PATH=/opt/bin"));
  cr_assert(env_contains(oci, "A=2"));
  cr_assert_not(env_contains(oci, "A=1"));
  cr_assert(env_contains(oci, "B=3"));
  cr_assert(env_contains(oci, "C=keep"));
  cr_assert(env_contains(oci, "HOSTNAME=0123456789ab"));
  cr_assert(env_contains(oci, "HOME=/root"));
  cr_assert_not(env_contains(oci, "TERM=xterm"));
  json_decref(oci);
  json_decref(cfg);

  /* PATH default when the image has none; TERM with a tty; -e HOME wins. */
  cfg = img_cfg("{\"Cmd\":[\"sh\"]}");
  char *env2[] = { "HOME=/data", NULL };
  o = (engine_create_opts){ .image = "x", .env = env2, .tty = true, .hostname = "web" };
  oci = build(cfg, NULL, &o);
  cr_assert(env_contains(oci, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  cr_assert(env_contains(oci, "TERM=xterm"));
  cr_assert(env_contains(oci, "HOME=/data"));
  cr_assert(env_contains(oci, "HOSTNAME=web"));
  cr_assert_str_eq(json_str(oci, "hostname"), "web");
  cr_assert(json_is_true(json_object_get(json_object_get(oci, "process"), "terminal")));
  cr_assert_null(json_object_get(json_object_get(oci, "process"), "consoleSize"));
  json_decref(oci);

  /* with a tty of known size, the pty starts with it (docker's ConsoleSize) */
  o.console_rows = 31;
  o.console_cols = 97;
  oci = build(cfg, NULL, &o);
  json_t *size = json_object_get(json_object_get(oci, "process"), "consoleSize");
  cr_assert_eq(json_int(size, "height", 0), 31);
  cr_assert_eq(json_int(size, "width", 0), 97);
  json_decref(oci);

  char *bad[] = { "=x", NULL };
  o = (engine_create_opts){ .image = "x", .env = bad };
  char *msg = build_err(cfg, NULL, &o);
  cr_assert(strstr(msg, "invalid environment variable \"=x\""), "%s", msg);
  free(msg);
  json_decref(cfg);
}

Test(engine, workdir_and_hostname)
{
  json_t *cfg = img_cfg("{\"Cmd\":[\"sh\"],\"WorkingDir\":\"/app\"}");
  engine_create_opts o = { .image = "x" };
  json_t *oci = build(cfg, NULL, &o);
  json_t *p = json_object_get(oci, "process");
  cr_assert_str_eq(json_str(p, "cwd"), "/app");
  cr_assert_str_eq(json_str(oci, "hostname"), "0123456789ab");
  json_decref(oci);
  o.workdir = "/tmp";
  oci = build(cfg, NULL, &o);
  cr_assert_str_eq(json_str(json_object_get(oci, "process"), "cwd"), "/tmp");
  json_decref(oci);
  o.workdir = "relative";
  char *msg = build_err(cfg, NULL, &o);
  cr_assert(strstr(msg, "working directory relative must be absolute"), "%s", msg);
  free(msg);
  json_decref(cfg);
}

Test(engine, user, .init = mktmp, .fini = rmtmp)
{
  cleanup_free char *lower = path_join(tmp, "l1"), *upper = path_join(tmp, "l2");
  write_file(lower, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nold:x:5:5::/old:/bin/sh\n");
  write_file(upper, "etc/passwd",
             "root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1001:Web:/home/web:/bin/sh\n");
  write_file(upper, "etc/group", "root:x:0:\nweb:x:1001:\nstaff:x:50:web,other\nops:x:60:\n");
  char *layers[] = { lower, upper, NULL };
  uint32_t uid, gid;
  char **gids = NULL, *home = NULL;
  berr_t err = BERR_INIT;

  cr_assert_eq(engine_resolve_user(layers, "web", &uid, &gid, &gids, &home, &err), 0, "%s",
               err.msg);
  cr_assert_eq(uid, 1000);
  cr_assert_eq(gid, 1001);
  cr_assert_str_eq(home, "/home/web");
  cr_assert_eq(strv_len(gids), 1);
  cr_assert_str_eq(gids[0], "50");
  strv_free(gids), free(home);

  /* The top layer's passwd wins: "old" is only in the lower one. */
  cr_assert_lt(engine_resolve_user(layers, "old", &uid, &gid, &gids, &home, &err), 0);
  cr_assert(strstr(err.msg, "unable to find user old"), "%s", err.msg);
  berr_clear(&err);

  cr_assert_eq(engine_resolve_user(layers, "1000:1000", &uid, &gid, &gids, &home, &err), 0);
  cr_assert_eq(uid, 1000);
  cr_assert_eq(gid, 1000);
  strv_free(gids), free(home);

  /* A numeric uid unknown to the image is fine; gid 0, HOME /. */
  cr_assert_eq(engine_resolve_user(layers, "4242", &uid, &gid, &gids, &home, &err), 0);
  cr_assert_eq(uid, 4242);
  cr_assert_eq(gid, 0);
  cr_assert_str_eq(home, "/");
  strv_free(gids), free(home);

  cr_assert_eq(engine_resolve_user(layers, "web:ops", &uid, &gid, &gids, &home, &err), 0);
  cr_assert_eq(gid, 60);
  strv_free(gids), free(home);
  cr_assert_lt(engine_resolve_user(layers, "web:nogroup", &uid, &gid, &gids, &home, &err), 0);
  cr_assert(strstr(err.msg, "unable to find group nogroup"), "%s", err.msg);
  berr_clear(&err);
  cr_assert_lt(engine_resolve_user(layers, "web:", &uid, &gid, &gids, &home, &err), 0);
  cr_assert(strstr(err.msg, "invalid user \"web:\""), "%s", err.msg);
  berr_clear(&err);

  /* In the OCI config, with HOME from passwd. */
  json_t *cfg = img_cfg("{\"Cmd\":[\"sh\"],\"User\":\"web\"}");
  engine_create_opts o = { .image = "x" };
  json_t *oci = build(cfg, layers, &o);
  json_t *u = json_object_get(json_object_get(oci, "process"), "user");
  cr_assert_eq(json_int(u, "uid", -1), 1000);
  cr_assert_eq(json_int(u, "gid", -1), 1001);
  cr_assert(env_contains(oci, "HOME=/home/web"));
  json_decref(oci);
  o.user = "0";
  oci = build(cfg, layers, &o);
  cr_assert_eq(json_int(json_object_get(json_object_get(oci, "process"), "user"), "uid", -1), 0);
  json_decref(oci);
  json_decref(cfg);

  /* A whiteout in a higher layer hides the lower passwd. */
  cleanup_free char *top = path_join(tmp, "l3");
  cleanup_free char *wh = path_join(top, "etc/passwd");
  cleanup_free char *top_etc = path_join(top, "etc");
  cr_assert_eq(fs_mkdir_p(top_etc, 0755, NULL), 0);
  cr_assert_eq(mknod(wh, S_IFCHR | 0600, makedev(0, 0)), 0);
  char *layers3[] = { lower, upper, top, NULL };
  cr_assert_lt(engine_resolve_user(layers3, "web", &uid, &gid, &gids, &home, &err), 0);
  berr_clear(&err);

  /* A symlink cannot reach the host's /etc/passwd. */
  cleanup_free char *evil = path_join(tmp, "l4");
  cleanup_free char *evil_etc = path_join(evil, "etc");
  cr_assert_eq(fs_mkdir_p(evil, 0755, NULL), 0);
  cr_assert_eq(symlink("/etc", evil_etc), 0);
  char *layers4[] = { evil, NULL };
  cr_assert_lt(engine_resolve_user(layers4, "root", &uid, &gid, &gids, &home, &err), 0);
  berr_clear(&err);
}

Test(engine, volumes, .init = mktmp, .fini = rmtmp)
{
  engine_bind b;
  berr_t err = BERR_INIT;
  char *spec = xasprintf("%s:/data", tmp);
  cr_assert_eq(engine_parse_bind(spec, &b, &err), 0, "%s", err.msg);
  cr_assert_str_eq(b.host, tmp);
  cr_assert_str_eq(b.ctr, "/data");
  cr_assert_not(b.ro);
  engine_bind_free(&b);
  free(spec);

  spec = xasprintf("%s:/data:ro", tmp);
  cr_assert_eq(engine_parse_bind(spec, &b, &err), 0);
  cr_assert(b.ro);

  engine_create_opts o = { .image = "x", .binds = &b, .n_binds = 1 };
  json_t *cfg = img_cfg("{\"Cmd\":[\"sh\"]}");
  json_t *oci = build(cfg, NULL, &o);
  json_t *mounts = json_object_get(oci, "mounts");
  json_t *last = json_array_get(mounts, json_array_size(mounts) - 1);
  cr_assert_str_eq(json_str(last, "destination"), "/data");
  cr_assert_str_eq(json_str(last, "source"), tmp);
  cr_assert_str_eq(json_str(last, "type"), "bind");
  char *opts = json_dumps(json_object_get(last, "options"), JSON_COMPACT);
  cr_assert(strstr(opts, "\"rbind\"") && strstr(opts, "\"ro\""), "%s", opts);
  free(opts);
  json_decref(oci);
  json_decref(cfg);
  engine_bind_free(&b);
  free(spec);

  struct {
    const char *spec, *msg;
  } bad[] = {
    { "data:/data", "host path data must be absolute" },
    { "/no/such/dir/x:/data", "host path /no/such/dir/x: No such file or directory" },
    { "/tmp:data", "container path data must be absolute" },
    { "/tmp:/data:rx", "unknown mode \"rx\"" },
    { "/tmp", "expected HOST:CONTAINER[:ro]" },
    { "/tmp:/a:ro:x", "expected HOST:CONTAINER[:ro]" },
    { "/tmp:/", "cannot mount over the container's /" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    cr_assert_lt(engine_parse_bind(bad[i].spec, &b, &err), 0, "%s", bad[i].spec);
    cr_assert(strstr(err.msg, bad[i].msg), "%s: %s", bad[i].spec, err.msg);
    cr_assert(strstr(err.msg, bad[i].spec), "error names the volume: %s", err.msg);
    berr_clear(&err);
  }
}

Test(engine, limits)
{
  int64_t v;
  berr_t err = BERR_INIT;
  cr_assert_eq(engine_parse_memory("32m", &v, &err), 0);
  cr_assert_eq(v, 32 << 20);
  cr_assert_lt(engine_parse_memory("4m", &v, &err), 0);
  cr_assert(strstr(err.msg, "--memory 4m is too small: the minimum is 6m"), "%s", err.msg);
  berr_clear(&err);
  cr_assert_lt(engine_parse_memory("lots", &v, &err), 0);
  cr_assert(strstr(err.msg, "invalid size \"lots\""), "%s", err.msg);
  berr_clear(&err);

  cr_assert_eq(engine_parse_cpus("0.5", &v, &err), 0);
  cr_assert_eq(v, 500000000);
  const char *bad[] = { "0", "-1", "abc", "", "1e9", "nan" };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    cr_assert_lt(engine_parse_cpus(bad[i], &v, &err), 0, "%s", bad[i]);
    cr_assert(strstr(err.msg, "--cpus"), "%s", err.msg);
    berr_clear(&err);
  }
  char *many = xasprintf("%ld", sysconf(_SC_NPROCESSORS_ONLN) + 1);
  cr_assert_lt(engine_parse_cpus(many, &v, &err), 0);
  cr_assert(strstr(err.msg, "this machine has only"), "%s", err.msg);
  berr_clear(&err);
  free(many);

  json_t *cfg = img_cfg("{\"Cmd\":[\"sh\"]}");
  engine_create_opts o = { .image = "x",
                           .memory = 32 << 20,
                           .nano_cpus = 500000000,
                           .pids_limit = 20,
                           .read_only = true,
                           .init = true,
                           .auto_remove = true };
  json_t *oci = build(cfg, NULL, &o);
  json_t *res = json_object_get(json_object_get(oci, "linux"), "resources");
  cr_assert_eq(json_int(json_object_get(res, "memory"), "limit", 0), 32 << 20);
  cr_assert_eq(json_int(json_object_get(res, "cpu"), "quota", 0), 50000);
  cr_assert_eq(json_int(json_object_get(res, "cpu"), "period", 0), 100000);
  cr_assert_eq(json_int(json_object_get(res, "pids"), "limit", 0), 20);
  cr_assert(json_is_true(json_object_get(json_object_get(oci, "root"), "readonly")));
  /* The mount point is in the runtime state directory, on the tmpfs. */
  cr_assert_str_eq(json_str(json_object_get(oci, "root"), "path"),
                   "/var/lib/berth/run/containers/x/rootfs");
  json_t *ann = json_object_get(oci, "annotations");
  cr_assert_str_eq(json_str(ann, "berth.init"), "true");
  cr_assert_str_eq(json_str(ann, "berth.autoremove"), "true");
  json_decref(oci);

  o = (engine_create_opts){ .image = "x", .memory = 1 << 20 };
  char *msg = build_err(cfg, NULL, &o);
  cr_assert(strstr(msg, "too small"), "%s", msg);
  free(msg);
  json_decref(cfg);
}

Test(engine, overlay_annotations)
{
  json_t *cfg = img_cfg("{\"Cmd\":[\"sh\"]}");
  char *layers[] = { "/img/layers/bottom", "/img/layers/top", NULL };
  engine_create_opts o = { .image = "x" };
  json_t *oci = build(cfg, layers, &o);
  json_t *ann = json_object_get(oci, "annotations");
  cr_assert_str_eq(json_str(ann, "berth.overlay.lowerdir"), "/img/layers/top:/img/layers/bottom");
  cr_assert_str_eq(json_str(ann, "berth.overlay.upperdir"), "/var/lib/berth/containers/x/upper");
  cr_assert_str_eq(json_str(ann, "berth.overlay.workdir"), "/var/lib/berth/containers/x/work");
  cr_assert_null(json_str(ann, "berth.init"));
  cr_assert_not(json_is_true(json_object_get(json_object_get(oci, "root"), "readonly")));
  json_decref(oci);

  char *colon[] = { "/a:b", NULL };
  char *msg = build_err(cfg, colon, &o);
  cr_assert(strstr(msg, "/a:b"), "%s", msg);
  free(msg);
  json_decref(cfg);
}

Test(engine, names)
{
  berr_t err = BERR_INIT;
  const char *good[] = { "web", "a", "Web-1.test_x", "0abc" };
  for (size_t i = 0; i < ARRAY_SIZE(good); i++)
    cr_assert_eq(engine_name_check(good[i], &err), 0, "%s", good[i]);
  const char *bad[] = { "", "-web", "_x", ".x", "a b", "a/b", "é", "web:1" };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    cr_assert_lt(engine_name_check(bad[i], &err), 0, "%s", bad[i]);
    cr_assert(strstr(err.msg, "invalid container name"), "%s", err.msg);
    cr_assert_eq(err.code, EINVAL);
    berr_clear(&err);
  }
  char *g = engine_name_generate();
  cr_assert_eq(engine_name_check(g, NULL), 0, "%s", g);
  cr_assert(strchr(g, '_'), "%s", g);
  free(g);
  char *a = engine_id_generate(), *b = engine_id_generate();
  cr_assert_eq(strlen(a), 64);
  cr_assert_eq(strspn(a, "0123456789abcdef"), 64);
  cr_assert_str_neq(a, b);
  free(a), free(b);
}

static void fake_container(const char *root, const char *id, const char *name, const char *img)
{
  char *dir = xasprintf("%s/containers/%s", root, id);
  char *meta = xasprintf("{\"id\":\"%s\",\"name\":\"%s\",\"image_id\":\"%s\"}", id, name, img);
  write_file(dir, "meta.json", meta);
  free(dir);
  free(meta);
}

Test(engine, lookup, .init = mktmp, .fini = rmtmp)
{
  engine *e = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(engine_open(tmp, &e, &err), 0);
  const char *id1 = "abc1000000000000000000000000000000000000000000000000000000000000";
  const char *id2 = "abc2000000000000000000000000000000000000000000000000000000000000";
  fake_container(tmp, id1, "web", "sha256:1111");
  fake_container(tmp, id2, "abc1", "sha256:2222");
  char *id = NULL;
  cr_assert_eq(engine_lookup(e, "web", &id, &err), 0);
  cr_assert_str_eq(id, id1);
  free(id);
  cr_assert_eq(engine_lookup(e, "abc2", &id, &err), 0);
  cr_assert_str_eq(id, id2);
  free(id);
  /* A name wins over an id prefix. */
  cr_assert_eq(engine_lookup(e, "abc1", &id, &err), 0);
  cr_assert_str_eq(id, id2);
  free(id);
  cr_assert_eq(engine_lookup(e, id1, &id, &err), 0);
  cr_assert_str_eq(id, id1);
  free(id);
  cr_assert_lt(engine_lookup(e, "abc", &id, &err), 0);
  cr_assert(strstr(err.msg, "ambiguous"), "%s", err.msg);
  berr_clear(&err);
  cr_assert_lt(engine_lookup(e, "ab", &id, &err), 0, "prefixes need 3 characters");
  cr_assert_str_eq(err.msg, "no such container: ab");
  cr_assert_eq(err.code, ENOENT);
  berr_clear(&err);
  cr_assert_lt(engine_lookup(e, "nosuch", &id, &err), 0);
  cr_assert_str_eq(err.msg, "no such container: nosuch");
  berr_clear(&err);

  char *owner = eng_name_owner(e, "web");
  cr_assert_str_eq(owner, id1);
  free(owner);
  cr_assert_null(eng_name_owner(e, "db"));

  cr_assert(engine_image_in_use(tmp, "sha256:2222"));
  cr_assert_not(engine_image_in_use(tmp, "sha256:3333"));
  cr_assert_not(engine_image_in_use("/nonexistent-root", "sha256:2222"));
  engine_close(e);
}

/* ---- ROOT/run: the runtime state on a tmpfs --------------------------------- */

/* How many mounts /proc/self/mountinfo lists at path. */
static int mounts_at(const char *path)
{
  char *text = NULL;
  cr_assert_eq(fs_read_file("/proc/self/mountinfo", 0, &text, NULL, NULL), 0);
  int n = 0;
  for (char *p = text, *line; (line = strsep(&p, "\n"));) {
    char mp[4096];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && !strcmp(mp, path))
      n++;
  }
  free(text);
  return n;
}

static void *open_engine(void *arg)
{
  engine *e = NULL;
  cr_assert_eq(engine_open(arg, &e, NULL), 0);
  engine_close(e);
  return NULL;
}

Test(engine, run_is_one_tmpfs, .init = mktmp, .fini = rmtmp)
{
  if (geteuid() != 0)
    cr_skip_test("mounting needs root");
  /* Eight opens of a fresh root at once: the lock lets one mount. */
  pthread_t t[8];
  for (size_t i = 0; i < ARRAY_SIZE(t); i++)
    cr_assert_eq(pthread_create(&t[i], NULL, open_engine, tmp), 0);
  for (size_t i = 0; i < ARRAY_SIZE(t); i++)
    pthread_join(t[i], NULL);
  char *run = path_join(tmp, "run");
  cr_assert_eq(mounts_at(run), 1);
  struct statfs sf;
  cr_assert_eq(statfs(run, &sf), 0);
  cr_assert_eq(sf.f_type, TMPFS_MAGIC);
  struct stat st;
  cr_assert_eq(stat(run, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0700);
  char *ctrs = path_join(run, "containers");
  cr_assert(fs_exists(ctrs));
  open_engine(tmp);
  cr_assert_eq(mounts_at(run), 1, "a second open mounted again");
  free(ctrs);
  free(run);
}

/* A container whose runtime state is gone, as after a reboot: meta.json
 * only (with "started" when it had been started), and an empty cgroup. */
static void stateless_container(const char *root, const char *id, const char *name, bool started)
{
  char *dir = xasprintf("%s/containers/%s", root, id);
  char *meta = xasprintf("{\"id\":\"%s\",\"name\":\"%s\",\"image\":\"busybox\","
                         "\"created\":1%s}",
                         id, name, started ? ",\"started\":true" : "");
  write_file(dir, "meta.json", meta);
  free(dir);
  free(meta);
}

Test(engine, state_lost_to_a_reboot, .init = mktmp, .fini = rmtmp)
{
  engine *e = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(engine_open(tmp, &e, &err), 0);
  const char *ran = "a000000000000000000000000000000000000000000000000000000000000000";
  const char *never = "b000000000000000000000000000000000000000000000000000000000000000";
  const char *making = "c000000000000000000000000000000000000000000000000000000000000000";
  stateless_container(tmp, ran, "ran", true);
  stateless_container(tmp, never, "never", false);
  stateless_container(tmp, making, "making", true);

  /* Started once: exited, exit code unknown. */
  engine_info i;
  cr_assert_eq(engine_info_get(e, ran, &i, &err), 0, "%s", err.msg);
  cr_assert_eq(i.status, RT_STOPPED);
  cr_assert_eq(i.exit_code, -1);
  cr_assert_not(i.exit_pending);
  char *text = engine_status_text(&i);
  cr_assert_str_eq(text, "Exited (255)");
  free(text);
  engine_info_clear(&i);
  json_t *ins = NULL;
  cr_assert_eq(engine_inspect(e, ran, &ins, &err), 0, "%s", err.msg);
  json_t *state = json_object_get(ins, "State");
  cr_assert_str_eq(json_str(state, "Status"), "exited");
  cr_assert_eq(json_int(state, "ExitCode", 0), ENGINE_EXIT_UNKNOWN);
  json_decref(ins);
  /* Stopping or killing it is what it is for a stopped container. */
  cr_assert_eq(engine_stop(e, ran, 0, 1, &err), 0, "%s", err.msg);
  cr_assert_lt(engine_kill(e, ran, SIGTERM, &err), 0);
  cr_assert_eq(err.code, ESRCH);
  berr_clear(&err);

  /* Never started: created, as before the reboot. */
  cr_assert_eq(engine_info_get(e, never, &i, &err), 0, "%s", err.msg);
  cr_assert_eq(i.status, RT_CREATED);
  text = engine_status_text(&i);
  cr_assert_str_eq(text, "Created");
  free(text);
  engine_info_clear(&i);

  /* Being made by another process (its directory flock'ed until its
   * monitor runs): created, and prune leaves it alone. */
  char *mdir = eng_ctr_dir(e, making);
  int busy = open(mdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cr_assert_geq(busy, 0);
  cr_assert_eq(flock(busy, LOCK_EX), 0);
  rt_status s;
  cr_assert_eq(eng_status(e, making, &s, &err), 0);
  cr_assert_eq(s, RT_CREATED);

  /* rm takes the state directory (what a reboot left of it, here a mount
   * point) with the rest; prune the others. */
  char *sdir = eng_state_dir(e, ran);
  char *rootfs = path_join(sdir, "rootfs");
  cr_assert_eq(fs_mkdir_p(rootfs, 0755, NULL), 0);
  cr_assert_eq(engine_remove(e, ran, false, &err), 0, "%s", err.msg);
  cr_assert_not(fs_exists(sdir));
  char *rdir = eng_ctr_dir(e, ran);
  cr_assert_not(fs_exists(rdir));
  char **removed = NULL;
  cr_assert_eq(engine_prune(e, &removed, &err), 0, "%s", err.msg);
  cr_assert_eq(strv_len(removed), 1);
  cr_assert_str_eq(removed[0], never);
  cr_assert(fs_exists(mdir));
  strv_free(removed);
  close(busy);
  cr_assert_eq(engine_prune(e, &removed, &err), 0, "%s", err.msg);
  cr_assert_eq(strv_len(removed), 1);
  cr_assert_str_eq(removed[0], making);
  strv_free(removed);
  free(rdir);
  free(rootfs);
  free(sdir);
  free(mdir);
  engine_close(e);
}

/* The cgroups under a parent, in every hierarchy, each name once; removing
 * a parent takes the empty one and leaves one that holds a cgroup. */
Test(engine, cgroup_children, .init = mktmp, .fini = rmtmp)
{
  if (getuid() != 0 || !fs_exists("/sys/fs/cgroup/memory") || !fs_exists("/sys/fs/cgroup/pids"))
    cr_skip_test("needs root and the v1 memory and pids hierarchies");
  engine *e = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(engine_open(tmp, &e, &err), 0, "%s", err.msg);
  char *parent = xasprintf("berth-unit-%d", (int)getpid());
  const char *made[] = { "memory/%s/a", "pids/%s/a", "pids/%s/b", "memory/%s/b/busy" };
  for (size_t i = 0; i < ARRAY_SIZE(made); i++) {
    char *rel = xasprintf(made[i], parent), *dir = path_join("/sys/fs/cgroup", rel);
    cr_assert_eq(fs_mkdir_p(dir, 0755, NULL), 0, "%s", dir);
    free(rel);
    free(dir);
  }
  char **names = NULL;
  cr_assert_eq(engine_cgroup_children(e, parent, &names, &err), 0, "%s", err.msg);
  cr_assert_eq(strv_len(names), 2);
  cr_assert_str_eq(names[0], "a");
  cr_assert_str_eq(names[1], "b");
  strv_free(names);
  char *a = xasprintf("%s/a", parent), *b = xasprintf("%s/b", parent);
  cr_assert_eq(engine_cgroup_parent_remove(e, a, &err), 0, "%s", err.msg);
  cr_assert_lt(engine_cgroup_parent_remove(e, b, &err), 0, "b holds a cgroup");
  cr_assert_eq(err.code, EBUSY);
  berr_clear(&err);
  cr_assert_eq(engine_cgroup_children(e, parent, &names, &err), 0, "%s", err.msg);
  cr_assert_eq(strv_len(names), 1);
  cr_assert_str_eq(names[0], "b");
  strv_free(names);
  cr_assert_lt(engine_cgroup_children(e, "../x", &names, &err), 0);
  berr_clear(&err);
  char *busy = xasprintf("%s/b/busy", parent);
  cr_assert_eq(engine_cgroup_parent_remove(e, busy, &err), 0, "%s", err.msg);
  cr_assert_eq(engine_cgroup_parent_remove(e, b, &err), 0, "%s", err.msg);
  cr_assert_eq(engine_cgroup_parent_remove(e, parent, &err), 0, "%s", err.msg);
  free(busy);
  free(a);
  free(b);
  free(parent);
  engine_close(e);
}
