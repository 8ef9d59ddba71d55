/* test_base.c — the base helpers every module leans on. */
#include "base/base.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

Test(base, sizes)
{
  int64_t v;
  cr_assert_eq(parse_size("64m", &v, NULL), 0);
  cr_assert_eq(v, 64 << 20);
  cr_assert_eq(parse_size("1.5g", &v, NULL), 0);
  cr_assert_eq(v, 1536LL << 20);
  cr_assert_eq(parse_size("64Mi", &v, NULL), 0);
  cr_assert_eq(v, 64 << 20);
  cr_assert_eq(parse_size("512", &v, NULL), 0);
  cr_assert_eq(v, 512);
  cr_assert_eq(parse_size("2KB", &v, NULL), 0);
  cr_assert_eq(v, 2048);
  berr_t err = BERR_INIT;
  cr_assert_lt(parse_size("12q", &v, &err), 0);
  cr_assert(strstr(err.msg, "invalid size \"12q\""), "%s", err.msg);
  berr_clear(&err);
  cr_assert_lt(parse_size("-1m", &v, NULL), 0);
  cr_assert_lt(parse_size("", &v, NULL), 0);
  cr_assert_lt(parse_size("m", &v, NULL), 0);
}

Test(base, error_chain)
{
  berr_t err = BERR_INIT;
  cr_assert_eq(berr_set(&err, ENOENT, "open %s", "/x"), -1);
  berr_wrap(&err, "mount volume %s", "data");
  cr_assert_str_eq(err.msg, "mount volume data: open /x: No such file or directory");
  cr_assert_eq(err.code, ENOENT);
  berr_clear(&err);
  cr_assert_null(err.msg);

  /* handing an error over, also to nobody */
  berr_t src = BERR_INIT;
  berr_set(&err, EIO, "old");
  berr_set(&src, EBUSY, "new");
  berr_move(&err, &src);
  cr_assert_str_eq(err.msg, "new: Device or resource busy");
  cr_assert_eq(err.code, EBUSY);
  cr_assert_null(src.msg);
  berr_set(&src, EBUSY, "dropped");
  berr_move(NULL, &src);
  cr_assert_null(src.msg);
  berr_clear(&err);
}

Test(base, time_roundtrip)
{
  int64_t ns = 1795300451123456789LL, back = 0;
  char *s = time_rfc3339(ns);
  cr_assert_str_eq(s, "2026-11-21T22:34:11.123456789Z");
  cr_assert_eq(time_parse_rfc3339(s, &back), 0);
  cr_assert_eq(back, ns);
  free(s);
  cr_assert_eq(time_parse_rfc3339("2026-11-21T23:34:11+01:00", &back), 0);
  cr_assert_eq(back, 1795300451000000000LL);
  cr_assert_lt(time_parse_rfc3339("yesterday", &back), 0);
}

Test(base, files)
{
  char dir[] = "/tmp/berth-unit-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  cleanup_free char *deep = xasprintf("%s/a/b/c", dir);
  cr_assert_eq(fs_mkdir_p(deep, 0755, NULL), 0);
  cr_assert_eq(fs_mkdir_p(deep, 0755, NULL), 0, "mkdir -p of an existing dir succeeds");
  cleanup_free char *f = path_join(deep, "/file");
  cr_assert_eq(fs_write_atomic(f, "hello", 5, 0600, NULL), 0);
  char *data = NULL;
  size_t len = 0;
  cr_assert_eq(fs_read_file(f, 0, &data, &len, NULL), 0);
  cr_assert_eq(len, 5);
  cr_assert_str_eq(data, "hello");
  free(data);
  berr_t err = BERR_INIT;
  cr_assert_lt(fs_read_file(f, 3, &data, &len, &err), 0, "max size is enforced");
  berr_clear(&err);
  struct stat st;
  cr_assert_eq(stat(f, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);
  cleanup_free char *link = xasprintf("%s/a/link", dir);
  cr_assert_eq(symlink("/etc", link), 0);
  cr_assert_eq(fs_rm_rf(dir, NULL), 0);
  cr_assert(!fs_exists(dir));
  cr_assert(fs_exists("/etc/passwd"), "rm -rf must not follow symlinks");
}

Test(base, strv_and_buf)
{
  char **v = NULL;
  strv_push(&v, "a");
  strv_push(&v, "b");
  cr_assert_eq(strv_len(v), 2);
  char **d = strv_dup(v);
  cr_assert_str_eq(d[1], "b");
  json_t *j = strv_to_json(d);
  char **back = NULL;
  cr_assert_eq(json_to_strv(j, &back, NULL), 0);
  cr_assert_str_eq(back[0], "a");
  json_decref(j);
  strv_free(v);
  strv_free(d);
  strv_free(back);
  buf_t b = { 0 };
  for (int i = 0; i < 1000; i++)
    buf_printf(&b, "%d,", i);
  cr_assert(str_has_suffix(b.data, "999,"));
  buf_free(&b);
}

Test(base, proc_identity)
{
  uint64_t st = proc_start_time(getpid());
  cr_assert_gt(st, 0);
  cr_assert(proc_alive(getpid(), st));
  cr_assert(!proc_alive(getpid(), st + 1), "a different start time is a different process");
  cr_assert(!proc_alive(999999999, 0));
}

/* FNV-1a's published values: hash_fnv names interfaces and cache files, so
 * its values must not change. */
Test(base, hash_fnv_values)
{
  cr_assert_eq(hash_str(""), 0xcbf29ce484222325ULL);
  cr_assert_eq(hash_str("a"), 0xaf63dc4c8601ec8cULL);
  cr_assert_eq(hash_str("foobar"), 0x85944171f73967e8ULL);
  cr_assert_eq(hash_fnv(hash_str("foo"), "bar", 3), hash_str("foobar"));
  cr_assert_neq(hash_mix(1), hash_mix(2));
  cr_assert_eq(hash_mix(0), 0);
}

Test(base, strv_sort_unique)
{
  char **v = NULL;
  strv_sort_unique(v); /* NULL and empty vectors are fine */
  const char *in[] = { "pids", "cpu", "memory", "cpu", "pids", "a" };
  for (size_t i = 0; i < ARRAY_SIZE(in); i++)
    strv_push(&v, in[i]);
  strv_sort_unique(v);
  cleanup_free char *all = NULL;
  buf_t b = { 0 };
  for (size_t i = 0; v[i]; i++)
    buf_printf(&b, "%s%s", i ? "," : "", v[i]);
  all = buf_steal(&b);
  cr_assert_str_eq(all, "a,cpu,memory,pids");
  strv_free(v);
}
