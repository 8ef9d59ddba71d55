/* test_api_names.c — names, label keys and values, annotations, object
 * metadata and generateName: which inputs pass, and the exact Kubernetes
 * wording of the errors for those that do not. */
#include "api/api.h"

#include <criterion/criterion.h>
#include <string.h>

static char *rep(char c, size_t n)
{
  char *s = xmalloc(n + 1);
  memset(s, c, n);
  s[n] = '\0';
  return s;
}

typedef bool (*check_fn)(const char *, char ***);

static void expect(check_fn fn, const char *s, bool ok, const char *why_substr)
{
  char **why = NULL;
  bool got = fn(s, &why);
  cr_assert_eq(got, ok, "%s: got %d", s, got);
  if (ok) {
    cr_assert_null(why, "%s: reasons given for a valid value", s);
    return;
  }
  cr_assert_not_null(why, "%s: no reason given", s);
  bool found = false;
  for (size_t i = 0; why[i]; i++)
    found = found || strstr(why[i], why_substr);
  cr_assert(found, "%s: \"%s\" not in \"%s\"", s, why_substr, why[0]);
  strv_free(why);
}

Test(api_names, dns1123_label)
{
  const char *good[] = { "a", "0", "my-name", "123-abc", "a-b-c" };
  for (size_t i = 0; i < ARRAY_SIZE(good); i++)
    expect(api_is_dns1123_label, good[i], true, NULL);
  char *max = rep('a', 63), *over = rep('a', 64);
  expect(api_is_dns1123_label, max, true, NULL);
  expect(api_is_dns1123_label, over, false, "must be no more than 63 characters");
  const char *bad[] = { "", "-a", "a-", "A", "a_b", "a b", "é" };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
    expect(api_is_dns1123_label, bad[i], false, "a lowercase RFC 1123 label must consist of");
  expect(api_is_dns1123_label, "a.b", false, "must not contain dots");
  free(max);
  free(over);
}

Test(api_names, dns1123_subdomain_and_1035)
{
  const char *good[] = { "example.com", "a.b-c.d", "web-1", "0.0" };
  for (size_t i = 0; i < ARRAY_SIZE(good); i++)
    expect(api_is_dns1123_subdomain, good[i], true, NULL);
  const char *bad[] = { "", "a..b", ".a", "a.", "Web_1", "a.-b" };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
    expect(api_is_dns1123_subdomain, bad[i], false, "a lowercase RFC 1123 subdomain");
  char *over = rep('a', 254);
  expect(api_is_dns1123_subdomain, over, false, "must be no more than 253 characters");
  free(over);
  expect(api_is_dns1035_label, "web", true, NULL);
  expect(api_is_dns1035_label, "1web", false, "start with an alphabetic character");
}

Test(api_names, label_keys_and_values)
{
  const char *good[] = { "app", "example.com/app", "a.b_c-d", "A1", "k8s.io/x_Y" };
  for (size_t i = 0; i < ARRAY_SIZE(good); i++)
    expect(api_is_label_key, good[i], true, NULL);
  expect(api_is_label_key, "", false, "name part must be non-empty");
  expect(api_is_label_key, "/a", false, "prefix part must be non-empty");
  expect(api_is_label_key, "a/", false, "name part must be non-empty");
  expect(api_is_label_key, "a/b/c", false, "a valid label key must consist of");
  expect(api_is_label_key, "-a", false, "name part must consist of alphanumeric characters");
  expect(api_is_label_key, "Example.com/a", false, "prefix part a lowercase RFC 1123 subdomain");
  char *longname = rep('a', 64);
  expect(api_is_label_key, longname, false, "name part must be no more than 63 characters");

  expect(api_is_label_value, "", true, NULL);
  expect(api_is_label_value, "v1.2_3-x", true, NULL);
  expect(api_is_label_value, "-a", false, "a valid label must be an empty string or consist of");
  expect(api_is_label_value, "a b", false, "a valid label must be");
  expect(api_is_label_value, longname, false, "must be no more than 63 characters");
  free(longname);

  expect(api_is_config_map_key, "key.name", true, NULL);
  expect(api_is_config_map_key, "a/b", false, "a valid config key");
  expect(api_is_config_map_key, "..a", false, "must not start with '..'");
}

Test(api_names, message_is_kubernetes_wording)
{
  api_errors_t errs = API_ERRORS_INIT;
  api_validate_name(&errs, "metadata.name", "Web_1", API_NAME_DNS_SUBDOMAIN, false);
  char *s = api_errors_string(&errs);
  cr_assert_str_eq(s, "metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain "
                      "must consist of lower case alphanumeric characters, '-' or '.', and must "
                      "start and end with an alphanumeric character (e.g. 'example.com', regex "
                      "used for validation is "
                      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  free(s);
  api_errors_free(&errs);

  /* the label message, with Kubernetes' two spaces before "or" */
  api_validate_name(&errs, "metadata.name", "a_b", API_NAME_DNS_LABEL, false);
  s = api_errors_string(&errs);
  cr_assert(strstr(s, "(e.g. 'my-name',  or '123-abc', regex used for validation is "
                      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
            "%s", s);
  free(s);
  api_errors_free(&errs);
}

Test(api_names, generate_name_prefix)
{
  api_errors_t errs = API_ERRORS_INIT;
  api_validate_name(&errs, "metadata.generateName", "web-", API_NAME_DNS_SUBDOMAIN, true);
  cr_assert_eq(errs.n, 0);
  api_validate_name(&errs, "metadata.name", "web-", API_NAME_DNS_SUBDOMAIN, false);
  cr_assert_eq(errs.n, 1);
  api_errors_free(&errs);

  char *n = api_generate_name("web-");
  cr_assert_eq(strlen(n), 9);
  cr_assert(str_has_prefix(n, "web-"));
  for (size_t i = 4; i < 9; i++)
    cr_assert(strchr("bcdfghjklmnpqrstvwxz2456789", n[i]), "%s", n);
  cr_assert(api_is_dns1123_subdomain(n, NULL));
  char *m = api_generate_name("web-");
  cr_assert_str_neq(n, m);
  free(n);
  free(m);
  char *base = rep('b', 100);
  n = api_generate_name(base);
  cr_assert_eq(strlen(n), 63);
  cr_assert(api_is_dns1123_label(n, NULL), "%s", n);
  free(n);
  free(base);
}

static char *meta_errors(const char *json, api_name_rule_t rule, bool namespaced)
{
  json_t *meta = json_loads(json, 0, NULL);
  cr_assert_not_null(meta, "%s", json);
  api_errors_t errs = API_ERRORS_INIT;
  api_validate_object_meta(&errs, "metadata", meta, rule, namespaced);
  char *s = api_errors_string(&errs);
  api_errors_free(&errs);
  json_decref(meta);
  return s;
}

Test(api_names, object_meta)
{
  char *s = meta_errors("{\"name\":\"web\",\"namespace\":\"default\",\"labels\":{\"app\":\"web\"},"
                        "\"annotations\":{\"Example.com/Note\":\"x\"}}",
                        API_NAME_DNS_SUBDOMAIN, true);
  cr_assert_str_eq(s, "");
  free(s);

  s = meta_errors("{\"name\":\"Web_1\"}", API_NAME_DNS_SUBDOMAIN, true);
  cr_assert(str_has_prefix(s, "[metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123"),
            "%s", s);
  cr_assert(str_has_suffix(s, ", metadata.namespace: Required value]"), "%s", s);
  free(s);

  s = meta_errors("{}", API_NAME_DNS_LABEL, false);
  cr_assert_str_eq(s, "metadata.name: Required value: name or generateName is required");
  free(s);

  s = meta_errors("{\"name\":\"x\",\"namespace\":\"default\"}", API_NAME_DNS_LABEL, false);
  cr_assert_str_eq(s, "metadata.namespace: Forbidden: not allowed on this type");
  free(s);

  s = meta_errors("{\"name\":\"x\",\"labels\":{\"bad key\":\"v\",\"ok\":\"-v\"}}",
                  API_NAME_DNS_LABEL, false);
  cr_assert(strstr(s, "metadata.labels: Invalid value: \"bad key\": name part must consist of"),
            "%s", s);
  cr_assert(strstr(s, "metadata.labels: Invalid value: \"-v\": a valid label must be"), "%s", s);
  free(s);

  s = meta_errors("{\"name\":\"x\",\"finalizers\":[\"example.com/ok\",\"no good\"]}",
                  API_NAME_DNS_LABEL, false);
  cr_assert(strstr(s, "metadata.finalizers: Invalid value: \"no good\""), "%s", s);
  free(s);
}

Test(api_names, annotations_size_limit)
{
  json_t *a = json_object();
  char *big = rep('v', API_ANNOTATIONS_MAX_BYTES - 1);
  json_object_set_new(a, "k", json_string(big));
  api_errors_t errs = API_ERRORS_INIT;
  api_validate_annotations(&errs, "metadata.annotations", a);
  cr_assert_eq(errs.n, 0, "exactly at the limit is fine");
  json_object_set_new(a, "k2", json_string("x"));
  api_validate_annotations(&errs, "metadata.annotations", a);
  char *s = api_errors_string(&errs);
  cr_assert_str_eq(s, "metadata.annotations: Too long: may not be more than 262144 bytes");
  free(s);
  api_errors_free(&errs);
  json_decref(a);
  free(big);
}

Test(api_names, causes_and_berr)
{
  api_errors_t errs = API_ERRORS_INIT;
  api_errors_add_str(&errs, API_FERR_INVALID, "metadata.name", "a\"b\n\x01", "bad");
  api_errors_add(&errs, API_FERR_REQUIRED, "spec.containers", NULL, "%s", "");
  json_t *c = api_errors_causes(&errs);
  cr_assert_eq(json_array_size(c), 2);
  cr_assert_str_eq(json_str(json_array_get(c, 0), "reason"), "FieldValueInvalid");
  cr_assert_str_eq(json_str(json_array_get(c, 0), "message"),
                   "Invalid value: \"a\\\"b\\n\\x01\": bad");
  cr_assert_str_eq(json_str(json_array_get(c, 0), "field"), "metadata.name");
  cr_assert_str_eq(json_str(json_array_get(c, 1), "message"), "Required value");
  json_decref(c);
  berr_t err = BERR_INIT;
  cr_assert_eq(api_errors_to_berr(&errs, &err), -1);
  cr_assert_str_eq(err.msg, "[metadata.name: Invalid value: \"a\\\"b\\n\\x01\": bad, "
                            "spec.containers: Required value]");
  berr_clear(&err);
  api_errors_free(&errs);
  cr_assert_eq(api_errors_to_berr(&errs, &err), 0);

  /* duplicates are reported once, like Kubernetes' aggregate */
  api_errors_add(&errs, API_FERR_REQUIRED, "a", NULL, "x");
  api_errors_add(&errs, API_FERR_REQUIRED, "a", NULL, "x");
  char *s = api_errors_string(&errs);
  cr_assert_str_eq(s, "a: Required value: x");
  free(s);
  api_errors_free(&errs);
}
