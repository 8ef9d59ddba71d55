/* test_server_rawjson.c — the scanners that read stored objects without
 * decoding them (src/server/rawjson.c): members and their bytes, nesting,
 * escapes, arrays, and bytes that are not what the server writes. */
#include "server/internal.h"

#include <criterion/criterion.h>
#include <string.h>

typedef struct seen {
  char keys[8][32];
  char vals[8][128];
  int n;
} seen_t;

static int collect(void *arg, const char *key, size_t klen, const char *vs, const char *ve)
{
  seen_t *s = arg;
  if (s->n == 8)
    return 1;
  snprintf(s->keys[s->n], sizeof s->keys[0], "%.*s", (int)klen, key);
  snprintf(s->vals[s->n], sizeof s->vals[0], "%.*s", (int)(ve - vs), vs);
  s->n++;
  return 0;
}

static int members(const char *j, seen_t *s)
{
  memset(s, 0, sizeof *s);
  return srv_rj_members(j, j + strlen(j), collect, s);
}

Test(server_rawjson, members_and_their_bytes)
{
  seen_t s;
  const char *j
      = "{\"a\":1,\"data\":{\"metadata\":{\"x\":\"}\"}},\"s\":\"q\\\"}{,\",\"l\":[1,[2],{}],"
        "\"metadata\":{\"name\":\"n\"},\"t\":true}";
  cr_assert_eq(members(j, &s), 0);
  cr_assert_eq(s.n, 6);
  cr_assert_str_eq(s.keys[1], "data");
  cr_assert_str_eq(s.vals[1], "{\"metadata\":{\"x\":\"}\"}}");
  cr_assert_str_eq(s.vals[2], "\"q\\\"}{,\"");
  cr_assert_str_eq(s.vals[3], "[1,[2],{}]");
  cr_assert_str_eq(s.keys[4], "metadata", "the top-level one, not data's");
  cr_assert_str_eq(s.vals[4], "{\"name\":\"n\"}");
  cr_assert_str_eq(s.vals[5], "true");
  cr_assert_eq(members("{}", &s), 0);
  cr_assert_eq(s.n, 0);
}

Test(server_rawjson, not_an_object_or_cut_short)
{
  seen_t s;
  const char *bad[] = { "",
                        "[]",
                        "x",
                        "{\"a\"",
                        "{\"a\":",
                        "{\"a\":\"unterminated",
                        "{\"a\":{\"b\":1",
                        "{a:1}",
                        "{\"a\":1,\"b\":[1,2" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_eq(members(bad[i], &s), -1, "%s", bad[i]);
  /* a backslash at the very end must not step past it */
  const char cut[] = { '{', '"', 'a', '\\' };
  cr_assert_null(srv_rj_skip(cut + 1, cut + sizeof cut));
}

Test(server_rawjson, array_len)
{
  const char *a[] = { "[]", "[1]", "[{\"a\":[1,2]},\"x,y\",[],null]", "{}", "[1," };
  size_t want[] = { 0, 1, 4, 0, 1 };
  for (size_t i = 0; i < 5; i++)
    cr_assert_eq(srv_rj_array_len(a[i], a[i] + strlen(a[i])), want[i], "%s", a[i]);
}

Test(server_rawjson, path_and_view)
{
  const char *o = "{\"metadata\":{\"labels\":{\"app\":\"web\"},\"name\":\"p\"},\"spec\":{\"x\":{"
                  "\"nodeName\":\"decoy\"},\"nodeName\":\"n1\",\"prio\":7},\"status\":{}}";
  const char *end = o + strlen(o), *vs, *ve;
  cr_assert(srv_rj_path(o, end, "spec.nodeName", &vs, &ve));
  cr_assert_eq(ve - vs, 4);
  cr_assert_eq(strncmp(vs, "\"n1\"", 4), 0, "the member of spec, not of spec.x");
  cr_assert_not(srv_rj_path(o, end, "status.phase", &vs, &ve));
  cr_assert_not(srv_rj_path(o, end, "metadata.name.x", &vs, &ve), "a string has no members");
  const char *paths[] = { "metadata.labels", "spec.nodeName", "spec.prio", "status.phase" };
  json_t *v = srv_rj_view(o, strlen(o), paths, 4);
  json_t *want = json_loads("{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"nodeName\":"
                            "\"n1\",\"prio\":7}}",
                            0, NULL);
  cr_assert(json_equal(v, want), "%s", json_dumps(v, JSON_COMPACT));
  json_decref(v);
  json_decref(want);
  /* bytes that are no object: an empty view, no crash */
  v = srv_rj_view("{\"spec\":", 8, paths, 4);
  cr_assert_eq(json_object_size(v), 0);
  json_decref(v);
}
