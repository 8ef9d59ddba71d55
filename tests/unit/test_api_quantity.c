/* test_api_quantity.c — resource quantities: parsing, exact values, rounding,
 * Kubernetes' canonical form, errors, arithmetic. */
#include "api/api.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

typedef struct good {
  const char *in, *canonical;
  int64_t value, milli;
} good_t;

static const good_t goods[] = {
  { "0", "0", 0, 0 },
  { "-0", "0", 0, 0 },
  { "100m", "100m", 1, 100 },
  { "0.5", "500m", 1, 500 },
  { ".5", "500m", 1, 500 },
  { "1", "1", 1, 1000 },
  { "+1", "1", 1, 1000 },
  { "1.", "1", 1, 1000 },
  { "0001", "1", 1, 1000 },
  { "1.5", "1500m", 2, 1500 },
  { "1.5m", "1500u", 1, 2 }, /* milli rounds up */
  { "1000m", "1", 1, 1000 },
  { "1000", "1k", 1000, 1000000 },
  { "1024", "1024", 1024, 1024000 },
  { "500k", "500k", 500000, 500000000 },
  { "1G", "1G", 1000000000, 1000000000000 },
  { "1E", "1E", 1000000000000000000, INT64_MAX },
  { "1e3", "1e3", 1000, 1000000 },
  { "1E3", "1e3", 1000, 1000000 },
  { "12e6", "12e6", 12000000, 12000000000 },
  { "1e-3", "1e-3", 1, 1 },
  { "1e+3", "1e3", 1000, 1000000 },
  { "64Mi", "64Mi", 67108864, 67108864000 },
  { "1Ki", "1Ki", 1024, 1024000 },
  { "1023Ki", "1023Ki", 1047552, 1047552000 },
  { "1Gi", "1Gi", 1073741824, 1073741824000 },
  { "1.5Gi", "1536Mi", 1610612736, 1610612736000 },
  { "1.5Ki", "1536", 1536, 1536000 },
  { "0.5Ki", "512", 512, 512000 },
  { "7Ei", "7Ei", 8070450532247928832, INT64_MAX },
  { "1.1Mi", "1153433600m", 1153434, 1153433600 }, /* 1153433.6 */
  { "100u", "100u", 1, 1 },
  { "1000000n", "1m", 1, 1 },
  { "0.1n", "1n", 1, 1 }, /* below a nano rounds up to one */
  { "1e-30", "1e-9", 1, 1 },
  { "-1.5", "-1500m", -2, -1500 }, /* away from zero */
  { "-100m", "-100m", -1, -100 },
  { "9223372036854775807", "9223372036854775807", INT64_MAX, INT64_MAX },
  { "12345678901234567890n", "12345678901234567890n", 12345678902, 12345678901235 },
};

Test(api_quantity, good_inputs)
{
  for (size_t i = 0; i < ARRAY_SIZE(goods); i++) {
    api_quantity_t q;
    berr_t err = BERR_INIT;
    cr_assert_eq(api_quantity_parse(goods[i].in, &q, &err), 0, "%s: %s", goods[i].in, err.msg);
    char *s = api_quantity_format(&q);
    cr_assert_str_eq(s, goods[i].canonical, "%s", goods[i].in);
    cr_assert_eq(api_quantity_value(&q), goods[i].value, "%s: value %ld", goods[i].in,
                 (long)api_quantity_value(&q));
    cr_assert_eq(api_quantity_milli(&q), goods[i].milli, "%s: milli %ld", goods[i].in,
                 (long)api_quantity_milli(&q));
    /* the canonical form reads back as the same value and prints the same */
    api_quantity_t back;
    cr_assert_eq(api_quantity_parse(s, &back, NULL), 0, "%s", s);
    cr_assert_eq(api_quantity_cmp(&q, &back), 0, "%s", s);
    char *again = api_quantity_format(&back);
    cr_assert_str_eq(again, s);
    free(again);
    free(s);
  }
}

#define FORMAT_MSG                                                                                 \
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

Test(api_quantity, bad_inputs)
{
  static const struct {
    const char *in, *msg;
  } bad[] = {
    { "", FORMAT_MSG },
    { "abc", FORMAT_MSG },
    { "1x", FORMAT_MSG },
    { "1Mb", FORMAT_MSG },
    { "--1", FORMAT_MSG },
    { "1.2.3", FORMAT_MSG },
    { " 1", FORMAT_MSG },
    { "1 ", FORMAT_MSG },
    { "-", FORMAT_MSG },
    { ".", FORMAT_MSG },
    { "1e3m", FORMAT_MSG },
    { "1K", "unable to parse quantity's suffix" },
    { "1e", "unable to parse quantity's suffix" },
    { "1Ki3", "unable to parse quantity's suffix" },
    { "1mi", "unable to parse quantity's suffix" },
    { "1e+", "unable to parse quantity's suffix" },
    { "9223372036854775808", "quantity is too large" },
    { "8Ei", "quantity is too large" },
    { "-8Ei", "quantity is too large" },
    { "1e19", "quantity is too large" },
    { "1e100000000000", "quantity is too large" },
    { "9223372036854775807.5", "quantity is too large" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    api_quantity_t q;
    berr_t err = BERR_INIT;
    cr_assert_lt(api_quantity_parse(bad[i].in, &q, &err), 0, "%s accepted", bad[i].in);
    cr_assert(strstr(err.msg, bad[i].msg), "%s: %s", bad[i].in, err.msg);
    berr_clear(&err);
  }
  char long_digits[400];
  memset(long_digits, '1', sizeof long_digits - 1);
  long_digits[sizeof long_digits - 1] = '\0';
  api_quantity_t q;
  cr_assert_lt(api_quantity_parse(long_digits, &q, NULL), 0);
  /* many leading zeros are not significant digits */
  char zeros[400];
  memset(zeros, '0', sizeof zeros - 2);
  zeros[sizeof zeros - 2] = '7';
  zeros[sizeof zeros - 1] = '\0';
  cr_assert_eq(api_quantity_parse(zeros, &q, NULL), 0);
  cr_assert_eq(api_quantity_value(&q), 7);
}

Test(api_quantity, json_values_and_validation)
{
  static const struct {
    const char *json, *canonical;
  } cases[] = { { "0.5", "500m" }, { "2", "2" },     { "\"64Mi\"", "64Mi" },
                { "0.1", "100m" }, { "1e3", "1e3" }, { "-3", "-3" } };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
    api_quantity_t q;
    cr_assert_eq(api_quantity_from_json(v, &q, NULL), 0, "%s", cases[i].json);
    char *s = api_quantity_format(&q);
    cr_assert_str_eq(s, cases[i].canonical, "%s", cases[i].json);
    free(s);
    json_decref(v);
  }
  json_t *t = json_true();
  api_quantity_t q;
  cr_assert_lt(api_quantity_from_json(t, &q, NULL), 0);
  json_t *big = json_real(1e20);
  cr_assert_lt(api_quantity_from_json(big, &q, NULL), 0);
  json_decref(big);

  api_errors_t errs = API_ERRORS_INIT;
  json_t *bad = json_string("1K");
  cr_assert_not(api_validate_quantity(&errs, "spec.containers[0].resources.limits.cpu", bad, &q));
  char *s = api_errors_string(&errs);
  cr_assert_str_eq(s, "spec.containers[0].resources.limits.cpu: Invalid value: \"1K\": unable "
                      "to parse quantity's suffix");
  free(s);
  api_errors_free(&errs);
  json_decref(bad);
}

static api_quantity_t Q(const char *s)
{
  api_quantity_t q;
  cr_assert_eq(api_quantity_parse(s, &q, NULL), 0, "%s", s);
  return q;
}

Test(api_quantity, compare_and_arithmetic)
{
  api_quantity_t a = Q("1Gi"), b = Q("1073741824"), c = Q("1"), d = Q("999m");
  cr_assert_eq(api_quantity_cmp(&a, &b), 0);
  cr_assert_gt(api_quantity_cmp(&c, &d), 0);
  cr_assert_lt(api_quantity_cmp(&d, &c), 0);
  api_quantity_t neg = Q("-1n"), zero = Q("0");
  cr_assert_lt(api_quantity_cmp(&neg, &zero), 0);
  cr_assert(api_quantity_is_zero(&zero));

  api_quantity_t sum = Q("100m"), x = Q("1.5");
  cr_assert_eq(api_quantity_add(&sum, &x, NULL), 0);
  char *s = api_quantity_format(&sum);
  cr_assert_str_eq(s, "1600m");
  free(s);
  cr_assert_eq(api_quantity_sub(&sum, &x, NULL), 0);
  cr_assert_eq(api_quantity_milli(&sum), 100);

  api_quantity_t max = Q("9223372036854775807"), one = Q("1n");
  berr_t err = BERR_INIT;
  cr_assert_lt(api_quantity_add(&max, &one, &err), 0);
  cr_assert_eq(err.code, ERANGE);
  berr_clear(&err);
  cr_assert_eq(api_quantity_value(&max), INT64_MAX, "unchanged after a failed add");

  api_quantity_t m = api_quantity_from_milli(1500, API_QTY_DECIMAL_SI);
  s = api_quantity_format(&m);
  cr_assert_str_eq(s, "1500m");
  free(s);
  api_quantity_t k = api_quantity_from_int(2048, API_QTY_BINARY_SI);
  s = api_quantity_format(&k);
  cr_assert_str_eq(s, "2Ki");
  free(s);
  api_quantity_t small = api_quantity_from_int(3, API_QTY_BINARY_SI);
  s = api_quantity_format(&small);
  cr_assert_str_eq(s, "3");
  free(s);
}
