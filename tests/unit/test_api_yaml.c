/* test_api_yaml.c — YAML: how every scalar form reads, streams of documents,
 * anchors, the errors users see, kubectl's -o yaml layout and quoting, round
 * trips both ways, and hostile input (billion laughs, deep nesting, bad
 * UTF-8, a 1 MB scalar) failing cleanly. */
#include "api/api.h"
#include "server/server.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

static json_t *load(const char *text)
{
  berr_t err = BERR_INIT;
  json_t *docs = api_yaml_load_all(text, strlen(text), &err);
  cr_assert(docs, "%s: %s", text, err.msg);
  cr_assert_null(err.msg);
  return docs;
}

/* The one document of text. */
static json_t *load_one(const char *text)
{
  json_t *docs = load(text);
  cr_assert_eq(json_array_size(docs), 1, "%s: %zu documents", text, json_array_size(docs));
  json_t *v = json_incref(json_array_get(docs, 0));
  json_decref(docs);
  return v;
}

static char *compact(json_t *v)
{
  return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void expect_error(const char *text, size_t len, const char *msg)
{
  berr_t err = BERR_INIT;
  json_t *docs = api_yaml_load_all(text, len, &err);
  cr_assert_null(docs, "%.60s: accepted", text);
  cr_assert(err.msg && strstr(err.msg, msg), "%.60s: got [%s], want [%s]", text, err.msg, msg);
  cr_assert_eq(err.code, EINVAL, "%.60s", text);
  berr_clear(&err);
}

Test(api_yaml, scalars)
{
  static const struct {
    const char *yaml, *json;
  } cases[] = {
    { "~", "null" },
    { "null", "null" },
    { "Null", "null" },
    { "NULL", "null" },
    { "", "null" },
    { "true", "true" },
    { "True", "true" },
    { "TRUE", "true" },
    { "false", "false" },
    { "False", "false" },
    { "FALSE", "false" },
    { "tRUE", "\"tRUE\"" },
    { "yes", "\"yes\"" },
    { "no", "\"no\"" },
    { "on", "\"on\"" },
    { "off", "\"off\"" },
    { "y", "\"y\"" },
    { "0", "0" },
    { "-12", "-12" },
    { "+7", "7" },
    { "0123", "123" },
    { "0x1F", "31" },
    { "0o17", "15" },
    { "-0x10", "-16" },
    { "9223372036854775807", "9223372036854775807" },
    { "-9223372036854775808", "-9223372036854775808" },
    { "9223372036854775808", "9.2233720368547758e18" },
    { "0xFFFFFFFFFFFFFFFF", "1.8446744073709552e19" },
    { "1.5", "1.5" },
    { "-0.25", "-0.25" },
    { "1e3", "1000.0" },
    { "1E-2", "0.01" },
    { ".5", "0.5" },
    { "5.", "5.0" },
    { "+1.5e+2", "150.0" },
    { "1e400", "\"1e400\"" },
    { "1_000", "\"1_000\"" },
    { "0b101", "\"0b101\"" },
    { "0x", "\"0x\"" },
    { "0xZ", "\"0xZ\"" },
    { "0o8", "\"0o8\"" },
    { "1.2.3", "\"1.2.3\"" },
    { "12:30", "\"12:30\"" },
    { "2024-01-01", "\"2024-01-01\"" },
    { "nginx:1.25", "\"nginx:1.25\"" },
    { "a b  c", "\"a b  c\"" },
    { "'3600'", "\"3600\"" },
    { "\"true\"", "\"true\"" },
    { "''", "\"\"" },
    { "\"null\"", "\"null\"" },
    { "'it''s'", "\"it's\"" },
    { "\"\\u00e9\\t\\x41\"", "\"é\\tA\"" },
    { "|\n  x\n  y\n", "\"x\\ny\\n\"" },
    { "|-\n  x\n", "\"x\"" },
    { "|+\n  x\n", "\"x\\n\\n\"" },
    { ">-\n  a\n  b\n", "\"a b\"" },
    { "|\n  123\n", "\"123\\n\"" },
    { "!!str 12", "\"12\"" },
    { "!!str true", "\"true\"" },
    { "! 12", "\"12\"" },
    { "!!int \"12\"", "12" },
    { "!!int 0x10", "16" },
    { "!!float 3", "3.0" },
    { "!!float '2.5'", "2.5" },
    { "!!bool 'true'", "true" },
    { "!!null ''", "null" },
    { "!custom 12", "12" },
    { "!custom '12'", "\"12\"" },
    { "!!binary aGk=", "\"aGk=\"" },
    { "!!timestamp 2024-01-01", "\"2024-01-01\"" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    char *text = xasprintf("v: %s\n", cases[i].yaml);
    json_t *doc = load_one(text);
    char *got = compact(json_object_get(doc, "v"));
    cr_assert_str_eq(got, cases[i].json, "v: %s", cases[i].yaml);
    free(got);
    free(text);
    json_decref(doc);
  }
}

/* Keys are strings: integers in decimal, other scalars as written. */
Test(api_yaml, keys)
{
  json_t *doc = load_one("1: a\n0x10: b\n1.50: c\ntrue: d\n~: e\n'x': f\n.inf: g\n");
  char *got = compact(doc);
  cr_assert_str_eq(got, "{\"1\":\"a\",\"16\":\"b\",\"1.50\":\"c\",\"true\":\"d\",\"null\":\"e\","
                        "\"x\":\"f\",\".inf\":\"g\"}");
  free(got);
  json_decref(doc);
}

Test(api_yaml, flow_block_and_comments)
{
  json_t *doc = load_one("# a comment\n"
                         "a: [1, 'two', {three: 3}]   # trailing comment\n"
                         "b: {c: [], d: {}}\n"
                         "e:\n"
                         "  - f: 1\n"
                         "    g: [x,\n"
                         "        y]\n"
                         "  -\n"
                         "    - nested\n"
                         "h: |\n"
                         "  # not a comment\n"
                         "  line\n"
                         "i: >\n"
                         "  folded\n"
                         "  text\n"
                         "j: \"#no\" # yes\n"
                         "k:\n"
                         "? complex\n"
                         ": key\n");
  char *got = compact(doc);
  cr_assert_str_eq(got, "{\"a\":[1,\"two\",{\"three\":3}],\"b\":{\"c\":[],\"d\":{}},"
                        "\"e\":[{\"f\":1,\"g\":[\"x\",\"y\"]},[\"nested\"]],"
                        "\"h\":\"# not a comment\\nline\\n\",\"i\":\"folded text\\n\","
                        "\"j\":\"#no\",\"k\":null,\"complex\":\"key\"}");
  free(got);
  json_decref(doc);
}

Test(api_yaml, anchors_and_aliases)
{
  json_t *doc = load_one("base: &b {image: busybox, args: [a]}\n"
                         "one: *b\n"
                         "list: [*b, &s scalar, *s]\n"
                         "&k key: v\n"
                         "again: *k\n");
  char *got = compact(doc);
  cr_assert_str_eq(got, "{\"base\":{\"image\":\"busybox\",\"args\":[\"a\"]},"
                        "\"one\":{\"image\":\"busybox\",\"args\":[\"a\"]},"
                        "\"list\":[{\"image\":\"busybox\",\"args\":[\"a\"]},\"scalar\",\"scalar\"],"
                        "\"key\":\"v\",\"again\":\"key\"}");
  /* Each alias is a copy: editing one leaves the others alone. */
  json_object_set_new(json_object_get(doc, "one"), "image", json_string("nginx"));
  cr_assert_str_eq(json_str(json_object_get(doc, "base"), "image"), "busybox");
  free(got);
  json_decref(doc);

  /* A later anchor of the same name wins; anchors do not cross documents. */
  doc = load_one("a: &x 1\nb: &x 2\nc: *x\n");
  cr_assert_eq(json_int(doc, "c", 0), 2);
  json_decref(doc);
  expect_error("a: &x 1\n---\nb: *x\n", 18, "line 3, column 4: unknown anchor 'x' referenced");
}

/* A Deployment and a Service as people write them: comments, a leading and a
 * trailing "---", an empty document between. */
Test(api_yaml, multi_document_manifest)
{
  json_t *docs = load("---\n"
                      "# web tier\n"
                      "apiVersion: apps/v1\n"
                      "kind: Deployment\n"
                      "metadata:\n"
                      "  name: web   # the name\n"
                      "  labels: {app: web}\n"
                      "spec:\n"
                      "  replicas: 2\n"
                      "  selector:\n"
                      "    matchLabels:\n"
                      "      app: web\n"
                      "  template:\n"
                      "    metadata:\n"
                      "      labels:\n"
                      "        app: web\n"
                      "    spec:\n"
                      "      containers:\n"
                      "        - name: nginx\n"
                      "          image: nginx:1.25\n"
                      "          ports:\n"
                      "            - containerPort: 80\n"
                      "          env:\n"
                      "            - name: DEBUG\n"
                      "              value: \"false\"\n"
                      "---\n"
                      "# nothing here\n"
                      "---\n"
                      "apiVersion: v1\n"
                      "kind: Service\n"
                      "metadata:\n"
                      "  name: web\n"
                      "spec:\n"
                      "  selector:\n"
                      "    app: web\n"
                      "  ports:\n"
                      "  - port: 80\n"
                      "    targetPort: 8080\n"
                      "---\n");
  cr_assert_eq(json_array_size(docs), 2);
  json_t *dep = json_array_get(docs, 0), *svc = json_array_get(docs, 1);
  cr_assert_str_eq(json_str(dep, "kind"), "Deployment");
  cr_assert_str_eq(json_str(svc, "kind"), "Service");
  json_t *c
      = json_pack("{s:s, s:s, s:[{s:i}], s:[{s:s, s:s}]}", "name", "nginx", "image", "nginx:1.25",
                  "ports", "containerPort", 80, "env", "name", "DEBUG", "value", "false");
  json_t *got = api_json_pointer_get(dep, "/spec/template/spec/containers/0");
  cr_assert(json_equal(got, c));
  cr_assert_eq(json_integer_value(api_json_pointer_get(svc, "/spec/ports/0/targetPort")), 8080);
  json_decref(c);
  json_decref(docs);

  /* Empty and null documents are skipped; so is a stream of comments. */
  docs = load("# only\n# comments\n");
  cr_assert_eq(json_array_size(docs), 0);
  json_decref(docs);
  docs = load("--- ~\n---\n--- null\n...\n--- 1\n");
  cr_assert_eq(json_array_size(docs), 1);
  json_decref(docs);
  berr_t err = BERR_INIT;
  docs = api_yaml_load_all(NULL, 0, &err);
  cr_assert(docs && json_array_size(docs) == 0);
  json_decref(docs);
}

/* What the server writes to DATA/admin.kubeconfig (srv_kubeconfig), with a
 * CA and a token of the real lengths. */
Test(api_yaml, admin_kubeconfig)
{
  char ca[1025];
  memset(ca, 'Q', sizeof ca - 1);
  ca[sizeof ca - 1] = '\0';
  char *kc = srv_kubeconfig(6443, ca, "0123456789abcdef0123456789abcdef");
  json_t *doc = load_one(kc);
  cr_assert_str_eq(json_str(doc, "current-context"), "berth");
  json_t *cluster = api_json_pointer_get(doc, "/clusters/0/cluster");
  cr_assert_str_eq(json_str(cluster, "server"), "https://127.0.0.1:6443");
  cr_assert_str_eq(json_str(cluster, "certificate-authority-data"), ca);
  cr_assert_str_eq(json_str(api_json_pointer_get(doc, "/users/0/user"), "token"),
                   "0123456789abcdef0123456789abcdef");
  cr_assert_str_eq(json_str(api_json_pointer_get(doc, "/contexts/0/context"), "user"), "admin");
  json_decref(doc);
  free(kc);
}

Test(api_yaml, errors)
{
  static const struct {
    const char *yaml, *msg;
  } cases[] = {
    { "a: 1\nb:\n  c: d: e\n", "yaml: line 3, column 7: mapping values are not allowed in this "
                               "context" },
    { "a: b: c", "yaml: line 1, column 5: mapping values are not allowed in this context" },
    { "a: [1, 2\n", "yaml: line 2, column 1: did not find expected ',' or ']'" },
    { "a: 'open\n", "found unexpected end of stream" },
    { "a:\n\tb: 1\n", "found character that cannot start any token" },
    { "a: 1\nb: 2\na: 3\n", "yaml: line 3: key \"a\" already set in map" },
    { "x:\n  k: 1\n  'k': 2\n", "yaml: line 3: key \"k\" already set in map" },
    { "1: a\n01: b\n", "yaml: line 2: key \"1\" already set in map" },
    { "[a]: 1\n", "yaml: line 1, column 1: a mapping key must be a scalar, not a sequence" },
    { "? {a: 1}\n: 2\n", "a mapping key must be a scalar, not a mapping" },
    { "a: &m {b: 1}\n*m : 2\n", "a mapping key must be a scalar, not a mapping" },
    { "<<: {a: 1}\n", "yaml: line 1, column 1: merge keys (<<) are not supported" },
    { "a: *nope\n", "yaml: line 1, column 4: unknown anchor 'nope' referenced" },
    { "a: &r [1, *r]\n", "anchor 'r' value contains itself" },
    { "a: .inf\n", "\".inf\" is not a finite number" },
    { "a: -.Inf\n", "is not a finite number" },
    { "a: .nan\n", "is not a finite number" },
    { "a: !!int x\n", "yaml: line 1, column 4: cannot read \"x\" as !!int" },
    { "a: !!int 1.5\n", "cannot read \"1.5\" as !!int" },
    { "a: !!bool yes\n", "cannot read \"yes\" as !!bool" },
    { "a: !!float abc\n", "cannot read \"abc\" as !!float" },
    { "a: !!null 0\n", "cannot read \"0\" as !!null" },
    { "a: \"\\uD800\"\n", "found invalid Unicode character escape code" },
    { "%YAML 2.0\n--- a\n", "found incompatible YAML document" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
    expect_error(cases[i].yaml, strlen(cases[i].yaml), cases[i].msg);
}

Test(api_yaml, not_utf8)
{
  expect_error("a: \xff\n", 5,
               "yaml: line 1, column 4: invalid leading UTF-8 octet (0xff): the "
               "input is not UTF-8");
  expect_error("a: b\nc: \xc3\x28\n", 11, "yaml: line 2, column 5: invalid trailing UTF-8 octet");
  expect_error("a: \xe2\x82", 5, "incomplete UTF-8 octet sequence");
  /* UTF-16 is not guessed from its byte order mark. */
  expect_error("\xff\xfe"
               "a\0:\0 \0b\0",
               10, "the input is not UTF-8");
  expect_error("a: b\0c\n", 7, "control characters are not allowed");
  /* A UTF-8 byte order mark is fine. */
  json_t *doc = load_one("\xef\xbb\xbf"
                         "a: é\n");
  cr_assert_str_eq(json_str(doc, "a"), "é");
  json_decref(doc);
}

/* Nine aliases of nine aliases… would be 10⁹ strings. */
Test(api_yaml, billion_laughs)
{
  buf_t b = { 0 };
  buf_puts(&b, "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
  for (char c = 'b'; c <= 'i'; c++) {
    buf_printf(&b, "%c: &%c [", c, c);
    for (int i = 0; i < 9; i++)
      buf_printf(&b, "%s*%c", i ? ", " : "", c - 1);
    buf_puts(&b, "]\n");
  }
  expect_error(b.data, b.len, "aliases expand the document beyond 1000000 nodes");
  buf_free(&b);

  /* Fewer levels are fine: 9⁵ = 59,049 strings. */
  json_t *doc = load_one("a: &a [x, x, x, x, x, x, x, x, x]\n"
                         "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                         "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                         "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n");
  cr_assert_eq(json_array_size(api_json_pointer_get(doc, "/e/8/8/8/8")), 9);
  json_decref(doc);
}

Test(api_yaml, deep_nesting)
{
  for (int form = 0; form < 4; form++) {
    buf_t b = { 0 };
    for (int i = 0; i < 10000; i++)
      buf_puts(&b, form == 0 ? "[" : form == 1 ? "{a: " : form == 2 ? "- " : "a: &x [");
    for (int i = 0; i < 10000 && form != 2; i++)
      buf_puts(&b, form == 1 ? "}" : "]");
    expect_error(b.data, b.len, "collections nested deeper than 1000 levels");
    buf_free(&b);
  }
  /* 1,000 levels load; an alias cannot stack past them. */
  buf_t b = { 0 };
  for (int i = 0; i < 1000; i++)
    buf_puts(&b, "[");
  for (int i = 0; i < 1000; i++)
    buf_puts(&b, "]");
  json_t *doc = load_one(b.data);
  json_decref(doc);
  buf_free(&b);
  buf_puts(&b, "- &a ");
  for (int i = 0; i < 999; i++)
    buf_puts(&b, "[");
  for (int i = 0; i < 999; i++)
    buf_puts(&b, "]");
  buf_puts(&b, "\n- [*a]\n");
  expect_error(b.data, b.len, "line 2, column 4: collections nested deeper than 1000 levels");
  buf_free(&b);
}

Test(api_yaml, big_scalars)
{
  size_t n = 1 << 20;
  for (int form = 0; form < 3; form++) {
    buf_t b = { 0 };
    buf_puts(&b, form == 0 ? "a: " : form == 1 ? "a: \"" : "a: |\n  ");
    for (size_t i = 0; i < n; i++)
      buf_append(&b, form == 0 ? "x" : "9", 1);
    buf_puts(&b, form == 1 ? "\"\n" : "\n");
    json_t *doc = load_one(b.data);
    cr_assert_eq(json_string_length(json_object_get(doc, "a")), n + (form == 2));
    char *y = api_yaml_dump(doc);
    cr_assert(y);
    free(y);
    json_decref(doc);
    buf_free(&b);
  }
  /* A megabyte of digits is too big for a number and stays a string. */
  buf_t b = { 0 };
  buf_puts(&b, "a: ");
  for (size_t i = 0; i < n; i++)
    buf_append(&b, "9", 1);
  json_t *doc = load_one(b.data);
  cr_assert(json_is_string(json_object_get(doc, "a")));
  json_decref(doc);
  buf_free(&b);
}

/* ---- dumping -------------------------------------------------------------- */

static void expect_dump(const char *json, const char *yaml)
{
  json_error_t jerr;
  json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  cr_assert(v, "%s: %s", json, jerr.text);
  char *got = api_yaml_dump(v);
  cr_assert_str_eq(got, yaml, "%s", json);
  free(got);
  json_decref(v);
}

Test(api_yaml, dump_kubectl_layout)
{
  expect_dump("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"labels\":{\"app\":\"web\"},"
              "\"name\":\"web\"},\"spec\":{\"containers\":[{\"image\":\"busybox\",\"name\":\"c\","
              "\"command\":[\"sleep\",\"3600\"]}]}}",
              "apiVersion: v1\n"
              "kind: Pod\n"
              "metadata:\n"
              "  labels:\n"
              "    app: web\n"
              "  name: web\n"
              "spec:\n"
              "  containers:\n"
              "  - image: busybox\n"
              "    name: c\n"
              "    command:\n"
              "    - sleep\n"
              "    - \"3600\"\n");
  expect_dump("{\"a\":{},\"b\":[],\"c\":[{},[]],\"d\":{\"e\":{}}}",
              "a: {}\nb: []\nc:\n- {}\n- []\nd:\n  e: {}\n");
  expect_dump("[[1,2],[[\"x\"]],{\"k\":[true,false,null]}]",
              "- - 1\n  - 2\n- - - x\n- k:\n  - true\n  - false\n  - null\n");
  expect_dump("{\"i\":-42,\"r\":1.5,\"w\":3.0,\"e\":1e300,\"t\":0.1,\"m\":-2.5e-7,\"big\":"
              "9223372036854775807}",
              "i: -42\nr: 1.5\nw: 3.0\ne: 1e+300\nt: 0.1\nm: -2.5e-07\nbig: 9223372036854775807\n");
  expect_dump("\"plain\"", "plain\n");
  expect_dump("\"3600\"", "\"3600\"\n");
  expect_dump("7", "7\n");
  expect_dump("null", "null\n");
  expect_dump("{}", "{}\n");
  expect_dump("[]", "[]\n");
  expect_dump("{\"\":\"empty key\",\"80\":\"http\",\"a b\":\"c\"}",
              "\"\": empty key\n\"80\": http\na b: c\n");
  char *s = api_yaml_dump(NULL);
  cr_assert_str_eq(s, "null\n");
  free(s);
}

Test(api_yaml, dump_quoting)
{
  static const struct {
    const char *in, *out; /* a JSON string, and how it prints */
  } cases[] = {
    { "", "\"\"" },
    { "3600", "\"3600\"" },
    { "true", "\"true\"" },
    { "False", "\"False\"" },
    { "null", "\"null\"" },
    { "~", "\"~\"" },
    { "1e3", "\"1e3\"" },
    { "0x1F", "\"0x1F\"" },
    { "0o17", "\"0o17\"" },
    { "1.5", "\"1.5\"" },
    { ".inf", "\".inf\"" },
    { "-.5", "\"-.5\"" },
    { "0123", "\"0123\"" },
    /* YAML 1.1 readers (kubectl's go-yaml v2) would read these otherwise */
    { "yes", "\"yes\"" },
    { "No", "\"No\"" },
    { "on", "\"on\"" },
    { "OFF", "\"OFF\"" },
    { "y", "\"y\"" },
    { "1_000", "\"1_000\"" },
    { "0b101", "\"0b101\"" },
    { "1:20", "\"1:20\"" },
    { "2024-05-01T10:00:00Z", "\"2024-05-01T10:00:00Z\"" },
    { "2024-5-1", "\"2024-5-1\"" },
    { "<<", "\"<<\"" },
    /* plain YAML cannot hold these: the emitter picks quotes, as kubectl's */
    { ": x", "': x'" },
    { " lead", "' lead'" },
    { "trail ", "'trail '" },
    { "#c", "'#c'" },
    { "- a", "'- a'" },
    { "*x", "'*x'" },
    { "&x", "'&x'" },
    { "!x", "'!x'" },
    { "%x", "'%x'" },
    { "@x", "'@x'" },
    { "`x", "'`x'" },
    { "{", "'{'" },
    { "[", "'['" },
    { ",", "','" },
    { "?", "'?'" },
    { "|", "'|'" },
    { ">", "'>'" },
    { "'", "''''" },
    { "\\\"", "'\"'" },
    { "a: b", "'a: b'" },
    { "a #b", "'a #b'" },
    { "tab\\there", "\"tab\\there\"" },
    { "nul\\u0000", "\"nul\\0\"" },
    { "bell\\u0007", "\"bell\\a\"" },
    /* and these stay plain */
    { "web", "web" },
    { "nginx:1.25", "nginx:1.25" },
    { "1.2.3", "1.2.3" },
    { "a b", "a b" },
    { "25%", "25%" },
    { "/dev/termination-log", "/dev/termination-log" },
    { "https://127.0.0.1:6443", "https://127.0.0.1:6443" },
    { "0b6c1c9e-3f5d", "0b6c1c9e-3f5d" },
    { "a#b", "a#b" },
    { "a:b", "a:b" },
    { "-a", "-a" },
    { "ünïcödé", "ünïcödé" },
    { "Yes please", "Yes please" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    char *json = xasprintf("{\"k\":\"%s\"}", cases[i].in);
    char *yaml = xasprintf("k: %s\n", cases[i].out);
    expect_dump(json, yaml);
    free(json);
    free(yaml);
  }
}

Test(api_yaml, dump_literal_blocks)
{
  expect_dump("{\"a\":\"x\\ny\\n\"}", "a: |\n  x\n  y\n");
  expect_dump("{\"a\":\"x\\ny\"}", "a: |-\n  x\n  y\n");
  expect_dump("{\"a\":\"x\\n\\n\"}", "a: |+\n  x\n\n");
  expect_dump("{\"a\":\"  lead\\nx\\n\"}", "a: |2\n    lead\n  x\n");
  expect_dump("{\"a\":{\"b\":[\"#!/bin/sh\\necho hi\\n\"]}}",
              "a:\n  b:\n  - |\n    #!/bin/sh\n    echo hi\n");
  /* a space before a line break cannot be a block: double quotes */
  expect_dump("{\"a\":\"x \\ny\"}", "a: \"x \\ny\"\n");
  expect_dump("\"x\\ny\"", "|-\n  x\n  y\n");
}

/* kubectl's -o yaml text survives load then dump unchanged. */
Test(api_yaml, round_trip_text)
{
  static const char *const texts[] = {
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata:\n"
    "  annotations:\n"
    "    deployment.kubernetes.io/revision: \"1\"\n"
    "  creationTimestamp: \"2024-05-01T10:00:00Z\"\n"
    "  generation: 1\n"
    "  labels:\n"
    "    app: web\n"
    "  name: web\n"
    "  namespace: default\n"
    "  resourceVersion: \"4242\"\n"
    "  uid: 0b6c1c9e-3f5d-4a8e-9d5e-2f1f7c6a0b1d\n"
    "spec:\n"
    "  progressDeadlineSeconds: 600\n"
    "  replicas: 2\n"
    "  selector:\n"
    "    matchLabels:\n"
    "      app: web\n"
    "  strategy:\n"
    "    rollingUpdate:\n"
    "      maxSurge: 25%\n"
    "      maxUnavailable: 25%\n"
    "    type: RollingUpdate\n"
    "  template:\n"
    "    metadata:\n"
    "      creationTimestamp: null\n"
    "      labels:\n"
    "        app: web\n"
    "    spec:\n"
    "      containers:\n"
    "      - image: nginx:1.25\n"
    "        imagePullPolicy: IfNotPresent\n"
    "        name: nginx\n"
    "        ports:\n"
    "        - containerPort: 80\n"
    "          protocol: TCP\n"
    "        resources:\n"
    "          limits:\n"
    "            cpu: 500m\n"
    "            memory: 128Mi\n"
    "        terminationMessagePath: /dev/termination-log\n"
    "      dnsPolicy: ClusterFirst\n"
    "      restartPolicy: Always\n"
    "      securityContext: {}\n"
    "      terminationGracePeriodSeconds: 30\n"
    "status: {}\n",
    "apiVersion: v1\n"
    "data:\n"
    "  app.properties: |\n"
    "    color=blue\n"
    "    size=10\n"
    "  empty: \"\"\n"
    "  flag: \"true\"\n"
    "  port: \"8080\"\n"
    "  script: |-\n"
    "    #!/bin/sh\n"
    "    echo hi\n"
    "  star: '*'\n"
    "kind: ConfigMap\n"
    "metadata:\n"
    "  name: cfg\n",
    "apiVersion: v1\n"
    "kind: Config\n"
    "clusters:\n"
    "- cluster:\n"
    "    server: https://127.0.0.1:6443\n"
    "  name: berth\n"
    "current-context: berth\n"
    "preferences: {}\n"
    "users: []\n",
  };
  for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
    json_t *doc = load_one(texts[i]);
    char *y = api_yaml_dump(doc);
    cr_assert_str_eq(y, texts[i]);
    free(y);
    json_decref(doc);
  }
}

/* Values survive dump then load unchanged, whatever their strings hold. */
Test(api_yaml, round_trip_values)
{
  static const char *const values[] = {
    "{\"s\":[\"\",\" \",\"3600\",\"true\",\"yes\",\"null\",\"~\",\"1e3\",\"0x1F\",\".inf\","
    "\": x\",\"#\",\"- a\",\"*x\",\"&x\",\"!x\",\"%x\",\"@x\",\"`x\",\"{\",\"}\",\"[\",\"]\","
    "\",\",\"?\",\"|\",\">\",\"'\",\"\\\"\",\"\\\\\",\"a\\nb\",\"a\\n\",\"\\n\",\"\\n\\n\","
    "\" a\\n b \",\"\\t\",\"\\r\\n\",\"\\u0000\",\"\\u0085\",\"\\u2028\",\"\\ufeff\",\"é\","
    "\"---\",\"...\",\"--- a\",\"a\\n---\\nb\",\"a\\n...\\n\",\"0123\",\"-\",\"1:2\"]}",
    "{\"n\":[0,-1,9223372036854775807,-9223372036854775808,1.5,-0.0,1e-300,3.0,1e300]}",
    "{\"\":1,\"3600\":2,\"a\\nb\":3,\"true\":4,\"- x\":5,\"? y\":6,\"~\":7}",
    "[[[[]]],[{}],{\"a\":[{\"b\":[[1]]}]}]",
    "\"\\n\\nx\\n\\n\"",
    "{\"keep\":\"x\\n\\n\",\"after\":1}",
  };
  for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
    json_error_t jerr;
    json_t *v = json_loads(values[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    cr_assert(v, "%s: %s", values[i], jerr.text);
    char *y = api_yaml_dump(v);
    cr_assert(y);
    json_t *back = load_one(y);
    char *a = compact(v), *b = compact(back);
    cr_assert(json_equal(v, back), "%s\n--- dumped as\n%s--- read back as\n%s", a, y, b);
    free(a);
    free(b);
    free(y);
    json_decref(back);
    json_decref(v);
  }
}
