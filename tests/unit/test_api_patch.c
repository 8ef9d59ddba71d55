/* test_api_patch.c — JSON merge patch against RFC 7386's appendix A, JSON
 * patch against RFC 6902's appendix A plus its error messages. */
#include "api/api.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

static json_t *J(const char *s)
{
  json_error_t je;
  json_t *j = json_loads(s, JSON_DECODE_ANY, &je);
  cr_assert_not_null(j, "bad test JSON %s: %s", s, je.text);
  return j;
}

static void assert_json(json_t *got, const char *want, const char *ctx)
{
  json_t *w = J(want);
  char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
  cr_assert(json_equal(got, w), "%s: got %s, want %s", ctx, g, want);
  free(g);
  json_decref(w);
}

Test(api_patch, merge_rfc7386_appendix)
{
  static const char *cases[][3] = {
    { "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
    { "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
    { "{\"a\":\"b\"}", "{\"a\":null}", "{}" },
    { "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}" },
    { "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
    { "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
    { "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}" },
    { "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}" },
    { "[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]" },
    { "{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]" },
    { "{\"a\":\"foo\"}", "null", "null" },
    { "{\"a\":\"foo\"}", "\"bar\"", "\"bar\"" },
    { "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}" },
    { "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}" },
    { "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    json_t *doc = J(cases[i][0]), *patch = J(cases[i][1]);
    json_t *before = json_deep_copy(doc);
    json_t *out = api_patch_merge(doc, patch);
    assert_json(out, cases[i][2], cases[i][1]);
    cr_assert(json_equal(doc, before), "the input document was modified");
    json_decref(out);
    json_decref(doc);
    json_decref(patch);
    json_decref(before);
  }
}

static json_t *jp(const char *doc, const char *ops, berr_t *err)
{
  json_t *d = J(doc), *o = J(ops);
  json_t *before = json_deep_copy(d);
  json_t *out = api_patch_json(d, o, err);
  cr_assert(json_equal(d, before), "the input document was modified");
  json_decref(before);
  json_decref(d);
  json_decref(o);
  return out;
}

Test(api_patch, json_rfc6902_appendix)
{
  static const char *ok[][3] = {
    /* A.1 */ { "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
                "{\"baz\":\"qux\",\"foo\":\"bar\"}" },
    /* A.2 */
    { "{\"foo\":[\"bar\",\"baz\"]}", "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
      "{\"foo\":[\"bar\",\"qux\",\"baz\"]}" },
    /* A.3 */
    { "{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
      "{\"foo\":\"bar\"}" },
    /* A.4 */
    { "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
      "{\"foo\":[\"bar\",\"baz\"]}" },
    /* A.5 */
    { "{\"baz\":\"qux\",\"foo\":\"bar\"}",
      "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
      "{\"baz\":\"boo\",\"foo\":\"bar\"}" },
    /* A.6 */
    { "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
      "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
      "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}" },
    /* A.7 */
    { "{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
      "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
      "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}" },
    /* A.8 */
    { "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
      "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
      "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
      "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}" },
    /* A.10 */
    { "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
      "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}" },
    /* A.11 */
    { "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
      "{\"foo\":\"bar\",\"baz\":\"qux\"}" },
    /* A.14 */
    { "{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
      "{\"/\":9,\"~1\":10}" },
    /* A.16 */
    { "{\"foo\":[\"bar\"]}", "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
      "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}" },
    /* beyond the appendix */
    { "{\"a\":{\"b\":1}}", "[{\"op\":\"copy\",\"from\":\"/a/b\",\"path\":\"/c\"}]",
      "{\"a\":{\"b\":1},\"c\":1}" },
    { "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"\",\"value\":[1]}]", "[1]" },
    { "{\"a/b\":1}", "[{\"op\":\"replace\",\"path\":\"/a~1b\",\"value\":2}]", "{\"a/b\":2}" },
    { "{\"a\":1.0}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1}]", "{\"a\":1.0}" },
    { "{\"a\":[1,2]}", "[{\"op\":\"replace\",\"path\":\"/a/0\",\"value\":9}]", "{\"a\":[9,2]}" },
    { "{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]",
      "{\"a\":{\"b\":1}}" },
    { "{\"a\":[1]}", "[]", "{\"a\":[1]}" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
    berr_t err = BERR_INIT;
    json_t *out = jp(ok[i][0], ok[i][1], &err);
    cr_assert_not_null(out, "%s: %s", ok[i][1], err.msg);
    assert_json(out, ok[i][2], ok[i][1]);
    json_decref(out);
  }
}

Test(api_patch, json_errors_name_op_and_path)
{
  static const char *bad[][3] = {
    /* A.9 */
    { "{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
      "json patch: operation 0 (test /baz): test failed: value differs" },
    /* A.12 */
    { "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]",
      "json patch: operation 0 (add /baz/bat): path not found (no \"baz\")" },
    /* A.15 */
    { "{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]",
      "test failed" },
    { "{\"a\":1}",
      "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},{\"op\":\"remove\",\"path\":\"/x\"}]",
      "json patch: operation 1 (remove /x): path not found" },
    { "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/x\",\"value\":2}]",
      "operation 0 (replace /x): path not found" },
    { "{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":2}]",
      "operation 0 (add /a/2): array index \"2\" out of range (size 1)" },
    { "{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":2}]", "out of range" },
    { "{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/-\"}]", "path not found" },
    { "{\"a\":{}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b\"}]",
      "cannot move a value into one of its children" },
    { "{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"/nope\",\"path\":\"/b\"}]",
      "\"from\" path /nope not found" },
    { "{\"a\":1}", "[{\"op\":\"frob\",\"path\":\"/a\"}]",
      "operation 0 (frob /a): unknown operation" },
    { "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\"}]", "missing \"value\"" },
    { "{\"a\":1}", "[{\"path\":\"/b\"}]", "missing \"op\"" },
    { "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"b\",\"value\":1}]",
      "JSON pointer must be empty or start with '/'" },
    { "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/~2\",\"value\":1}]", "invalid escape" },
    { "{\"a\":1}", "[1]", "operation 0: not an object" },
    { "{\"a\":1}", "{\"op\":\"add\"}", "must be a JSON array" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    berr_t err = BERR_INIT;
    json_t *out = jp(bad[i][0], bad[i][1], &err);
    cr_assert_null(out, "%s succeeded", bad[i][1]);
    cr_assert(strstr(err.msg, bad[i][2]), "%s: %s", bad[i][1], err.msg);
    cr_assert_eq(err.code, EINVAL);
    berr_clear(&err);
  }
}

Test(api_patch, json_pointer_get)
{
  json_t *d = J("{\"a\":{\"b/c\":[10,20]},\"m~n\":1}");
  cr_assert_eq(json_integer_value(api_json_pointer_get(d, "/a/b~1c/1")), 20);
  cr_assert_eq(json_integer_value(api_json_pointer_get(d, "/m~0n")), 1);
  cr_assert_eq(api_json_pointer_get(d, ""), d);
  cr_assert_null(api_json_pointer_get(d, "/a/b~1c/2"));
  cr_assert_null(api_json_pointer_get(d, "/a/x"));
  cr_assert_null(api_json_pointer_get(d, "a"));
  json_decref(d);
}
