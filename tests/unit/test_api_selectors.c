/* test_api_selectors.c — label selectors (string and structured forms) and
 * field selectors: parsing, canonical printing, errors, matching. */
#include "api/api.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

static api_label_selector_t *L(const char *s)
{
  api_label_selector_t *sel = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(api_label_selector_parse(s, &sel, &err), 0, "%s: %s", s, err.msg);
  return sel;
}

Test(api_labels, parse_and_print)
{
  static const struct {
    const char *in, *out;
  } cases[] = {
    { "a=b,c!=d,e in (x,y),f notin (z),g,!h", "a=b,c!=d,e in (x,y),f notin (z),g,!h" },
    { "z=1, a in (y, x, x)", "a in (x,y),z=1" },
    { "x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()" },
    { "a==b", "a=b" },
    { "a=", "a=" },
    { "a>5,b<3", "a>5,b<3" },
    { "  app  =  web  ", "app=web" },
    { "example.com/tier in (fe)", "example.com/tier in (fe)" },
    { "v in (in,notin)", "v in (in,notin)" },
    { "", "" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    api_label_selector_t *sel = L(cases[i].in);
    char *s = api_label_selector_string(sel);
    cr_assert_str_eq(s, cases[i].out, "%s", cases[i].in);
    free(s);
    api_label_selector_free(sel);
  }
}

Test(api_labels, parse_errors)
{
  static const struct {
    const char *in, *msg;
  } cases[] = {
    { "a=b=c", "found '=', expected: ',' or 'end of string'" },
    { "a in", "unable to parse requirement: found '' expected: '('" },
    { "a in (x", "found '', expected: ',' or ')'" },
    { "a in (x))", "found ')', expected: ',' or 'end of string'" },
    { ",a", "found ',', expected: !, identifier, or 'end of string'" },
    { "a,", "found '', expected: identifier after ','" },
    { "a b", "found 'b', expected: in, notin, =, ==, !=, gt, lt" },
    { "a=b c", "found 'c', expected: ',' or 'end of string'" },
    { "!!a", "found '!', expected: identifier" },
    { "!a=b", "found '=', expected: ',' or 'end of string'" },
    { "a>x", "for 'Gt', 'Lt' operators, the value must be an integer" },
    { "a=-b", "values[0][a]: Invalid value: \"-b\": a valid label must be" },
    { "Bad_/x=1", "key: Invalid value: \"Bad_/x\": prefix part a lowercase RFC 1123" },
    { "-a", "key: Invalid value: \"-a\": name part must consist of" },
    { "a=(", "found '(', expected: identifier" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    api_label_selector_t *sel = NULL;
    berr_t err = BERR_INIT;
    cr_assert_lt(api_label_selector_parse(cases[i].in, &sel, &err), 0, "%s accepted", cases[i].in);
    cr_assert_null(sel);
    cr_assert(strstr(err.msg, cases[i].msg), "%s: %s", cases[i].in, err.msg);
    cr_assert_eq(err.code, EINVAL);
    berr_clear(&err);
  }
}

Test(api_labels, matching)
{
  json_t *labels = json_pack("{s:s, s:s, s:s}", "app", "web", "tier", "fe", "n", "7");
  static const struct {
    const char *sel;
    bool match, match_none;
  } cases[] = {
    { "app=web", true, false },
    { "app=db", false, false },
    { "app!=db", true, true },
    { "missing!=x", true, true },
    { "app in (web,db)", true, false },
    { "app notin (web)", false, true },
    { "missing notin (z)", true, true }, /* notin is true for a missing label */
    { "app", true, false },
    { "missing", false, false },
    { "!missing", true, true },
    { "!app", false, true },
    { "n>5", true, false },
    { "n<5", false, false },
    { "app>5", false, false },
    { "app=web,tier=be", false, false },
    { "app=web,tier in (fe,be),!x", true, false },
    { "", true, true },
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    api_label_selector_t *sel = L(cases[i].sel);
    cr_assert_eq(api_label_selector_matches(sel, labels), cases[i].match, "%s", cases[i].sel);
    cr_assert_eq(api_label_selector_matches(sel, NULL), cases[i].match_none, "%s (no labels)",
                 cases[i].sel);
    api_label_selector_free(sel);
  }
  json_decref(labels);
}

static api_label_selector_t *S(const char *json, berr_t *err)
{
  json_t *j = json_loads(json, JSON_DECODE_ANY, NULL);
  cr_assert_not_null(j, "%s", json);
  api_label_selector_t *sel = NULL;
  int rc = api_label_selector_from_json(j, &sel, err);
  json_decref(j);
  cr_assert_eq(rc < 0, sel == NULL);
  return sel;
}

Test(api_labels, structured)
{
  api_label_selector_t *sel = S("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":["
                                "{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"fe\",\"be\"]},"
                                "{\"key\":\"x\",\"operator\":\"DoesNotExist\"},"
                                "{\"key\":\"env\",\"operator\":\"NotIn\",\"values\":[\"prod\"]},"
                                "{\"key\":\"app\",\"operator\":\"Exists\"}]}",
                                NULL);
  char *s = api_label_selector_string(sel);
  cr_assert_str_eq(s, "app=web,app,env notin (prod),tier in (be,fe),!x");
  free(s);
  json_t *labels = json_pack("{s:s, s:s}", "app", "web", "tier", "be");
  cr_assert(api_label_selector_matches(sel, labels));
  json_object_set_new(labels, "env", json_string("prod"));
  cr_assert_not(api_label_selector_matches(sel, labels));
  api_label_selector_free(sel);

  sel = S("null", NULL);
  cr_assert_not(api_label_selector_matches(sel, NULL), "a null selector selects nothing");
  cr_assert_not(api_label_selector_is_everything(sel));
  api_label_selector_free(sel);
  sel = S("{}", NULL);
  cr_assert(api_label_selector_matches(sel, labels), "an empty selector selects everything");
  cr_assert(api_label_selector_is_everything(sel));
  api_label_selector_free(sel);
  json_decref(labels);

  static const struct {
    const char *json, *msg;
  } bad[] = {
    { "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Foo\"}]}",
      "\"Foo\" is not a valid label selector operator" },
    { "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}",
      "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty" },
    { "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}",
      "values set must be empty for exists and does not exist" },
    { "{\"matchLabels\":{\"a\":\"not ok\"}}", "values[0][a]: Invalid value: \"not ok\"" },
    { "{\"matchLabels\":{\"a\":1}}", "matchLabels[a]: must be a string" },
    { "{\"matchExpressions\":[{\"operator\":\"In\",\"values\":[\"x\"]}]}",
      "matchExpressions[0].key: Required value" },
    { "[]", "a label selector must be an object" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    berr_t err = BERR_INIT;
    cr_assert_null(S(bad[i].json, &err), "%s accepted", bad[i].json);
    cr_assert(strstr(err.msg, bad[i].msg), "%s: %s", bad[i].json, err.msg);
    berr_clear(&err);
  }
}

static api_field_selector_t *F(const char *s, const char *kind)
{
  api_field_selector_t *sel = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(api_field_selector_parse(s, kind, &sel, &err), 0, "%s: %s", s, err.msg);
  return sel;
}

static bool fmatch(const char *sel_s, const char *kind, const char *obj_json)
{
  api_field_selector_t *sel = F(sel_s, kind);
  json_t *obj = json_loads(obj_json, 0, NULL);
  cr_assert_not_null(obj, "%s", obj_json);
  bool m = api_field_selector_matches(sel, obj);
  json_decref(obj);
  api_field_selector_free(sel);
  return m;
}

Test(api_fields, matching)
{
  const char *pod = "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
                    "\"spec\":{\"nodeName\":\"n1\",\"hostNetwork\":true},"
                    "\"status\":{\"phase\":\"Running\"}}";
  cr_assert(fmatch("metadata.name=web,metadata.namespace!=kube-system,spec.nodeName=n1,"
                   "status.phase=Running",
                   "Pod", pod));
  cr_assert(fmatch("metadata.name==web", "Pod", pod));
  cr_assert_not(fmatch("metadata.name=db", "Pod", pod));
  cr_assert_not(fmatch("metadata.namespace!=default", "Pod", pod));
  cr_assert(fmatch("spec.hostNetwork=true", "Pod", pod));
  cr_assert_not(fmatch("spec.nodeName=", "Pod", pod));
  cr_assert(fmatch("spec.nodeName=", "Pod", "{\"metadata\":{\"name\":\"p\"},\"spec\":{}}"),
            "a missing field is the empty string");
  cr_assert(fmatch("", "Pod", pod));
  cr_assert(fmatch(",,", "Pod", pod));

  const char *ev
      = "{\"involvedObject\":{\"name\":\"web\",\"namespace\":\"default\",\"uid\":\"u1\"},"
        "\"source\":{\"component\":\"kubelet\"},\"type\":\"Normal\"}";
  cr_assert(fmatch("involvedObject.name=web,involvedObject.namespace=default,"
                   "involvedObject.uid=u1",
                   "Event", ev));
  cr_assert_not(fmatch("involvedObject.uid=u2", "Event", ev));
  cr_assert(fmatch("source=kubelet,type=Normal", "Event", ev));
  cr_assert(fmatch("foo.bar=12", NULL, "{\"foo\":{\"bar\":12}}"), "kind NULL: any path");
  cr_assert(fmatch("metadata.name=a\\,b", "Pod", "{\"metadata\":{\"name\":\"a,b\"}}"));
  cr_assert(fmatch("metadata.name=a\\\\b\\=c", "Pod", "{\"metadata\":{\"name\":\"a\\\\b=c\"}}"));

  api_field_selector_t *sel = F("metadata.name=web,spec.nodeName!=n2", "Pod");
  cr_assert_str_eq(api_field_selector_equals(sel, "metadata.name"), "web");
  cr_assert_null(api_field_selector_equals(sel, "spec.nodeName"));
  cr_assert_null(api_field_selector_equals(sel, "status.phase"));
  api_field_selector_free(sel);
}

Test(api_fields, errors)
{
  static const struct {
    const char *in, *kind, *msg;
  } cases[] = {
    { "spec.foo=x", "Pod", "field label not supported: spec.foo" },
    { "involvedObject.name=x", "Pod", "field label not supported: involvedObject.name" },
    { "spec.nodeName=x", "ConfigMap", "field label not supported: spec.nodeName" },
    { "metadata.name", "Pod",
      "invalid selector: 'metadata.name'; can't understand 'metadata.name'" },
    { "a=b,c", NULL, "can't understand 'c'" },
    { "=x", NULL, "can't understand '=x'" },
    { "metadata.name=a\\x", "Pod", "invalid field selector: invalid escape sequence: \\x" },
    { "metadata.name=x\\", "Pod", "invalid field selector: invalid escape sequence: \\" },
    { "metadata.name=a=b", "Pod", "invalid field selector: unescaped character in value: '='" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    api_field_selector_t *sel = NULL;
    berr_t err = BERR_INIT;
    cr_assert_lt(api_field_selector_parse(cases[i].in, cases[i].kind, &sel, &err), 0, "%s accepted",
                 cases[i].in);
    cr_assert_null(sel);
    cr_assert(strstr(err.msg, cases[i].msg), "%s: %s", cases[i].in, err.msg);
    cr_assert_eq(err.code, EINVAL);
    berr_clear(&err);
  }
}
