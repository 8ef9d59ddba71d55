/* test_api_cron.c — CronJob schedules: what parses (fields, ranges, steps,
 * names, descriptors), robfig/cron's error messages for what does not; also
 * the label selector validation the workload kinds share. When a schedule
 * fires (ctrl_cron_next, in UTC and in zones) is tested in test_ctrl_cron.c. */
#include "api/api.h"

#include <criterion/criterion.h>
#include <string.h>

static api_cron_t parse_ok(const char *s)
{
  api_cron_t c;
  berr_t err = BERR_INIT;
  cr_assert_eq(api_cron_parse(s, &c, &err), 0, "%s: %s", s, err.msg);
  return c;
}

static void parse_bad(const char *s, const char *msg)
{
  api_cron_t c;
  berr_t err = BERR_INIT;
  cr_assert_eq(api_cron_parse(s, &c, &err), -1, "%s parsed", s);
  cr_assert_str_eq(err.msg, msg, "%s", s);
  berr_clear(&err);
}

Test(api_cron, fields)
{
  api_cron_t c = parse_ok("*/15 9-17 * * mon-fri");
  cr_assert_eq(c.minute, (1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45));
  for (int h = 0; h < 24; h++)
    cr_assert_eq((c.hour >> h) & 1, h >= 9 && h <= 17, "hour %d", h);
  for (int d = 0; d < 7; d++)
    cr_assert_eq((c.dow >> d) & 1, d >= 1 && d <= 5, "dow %d", d);
  c = parse_ok("5,10-12 0 1 JAN,dec ?");
  cr_assert_eq(c.minute, (1ULL << 5) | (1ULL << 10) | (1ULL << 11) | (1ULL << 12));
  cr_assert_eq(c.month & 0xffff, (1ULL << 1) | (1ULL << 12));
  c = parse_ok("3/20 * * * *"); /* N/step: from N to the maximum */
  cr_assert_eq(c.minute, (1ULL << 3) | (1ULL << 23) | (1ULL << 43));
  parse_ok("  0   0  *  *  0  ");
  parse_ok("0 0 31 12 6");
  const char *descr[] = { "@yearly",   "@annually", "@monthly",     "@weekly",   "@daily",
                          "@midnight", "@hourly",   "@every 1h30m", "@every 90s" };
  for (size_t i = 0; i < ARRAY_SIZE(descr); i++)
    parse_ok(descr[i]);
  cr_assert_eq(parse_ok("@every 1h30m").every_s, 5400);
  cr_assert_eq(parse_ok("@every 100ms").every_s, 1);
  /* robfig's Every: below a second, zero or negative is one second */
  cr_assert_eq(parse_ok("@every 0").every_s, 1);
  cr_assert_eq(parse_ok("@every -5m").every_s, 1);
  cr_assert_eq(parse_ok("@every 1.9s").every_s, 1);
  /* "*" marks its field (bit 63), a step above 1 does not; "?" is "*" */
  cr_assert(parse_ok("0 0 * * 1").dom & API_CRON_STAR);
  cr_assert_not(parse_ok("0 0 * * 1").dow & API_CRON_STAR);
  cr_assert(parse_ok("0 0 ? * */1").dow & API_CRON_STAR);
  cr_assert_not(parse_ok("0 0 */2 * *").dom & API_CRON_STAR);
  /* a step past every value is one value, not a wrapped-around set */
  cr_assert_eq(parse_ok("5/99999999999 * * * *").minute, 1ULL << 5);
  cr_assert_eq(parse_ok("5/4294967295 * * * *").minute, 1ULL << 5);
}

Test(api_cron, errors)
{
  parse_bad("", "empty spec string");
  parse_bad("bad", "expected exactly 5 fields, found 1: [bad]");
  parse_bad("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]");
  parse_bad("60 * * * *", "end of range (60) above maximum (59): 60");
  parse_bad("99999999999 * * * *", "end of range (99999999999) above maximum (59): 99999999999");
  parse_bad("9223372036854775807 * * * *",
            "end of range (9223372036854775807) above maximum (59): 9223372036854775807");
  parse_bad("9223372036854775808 * * * *",
            "failed to parse int from 9223372036854775808: strconv.Atoi: parsing "
            "\"9223372036854775808\": value out of range");
  parse_bad("*/-5 * * * *", "negative number (-5) not allowed: -5");
  parse_bad("-5 * * * *", "failed to parse int from : strconv.Atoi: parsing \"\": invalid syntax");
  parse_bad("* 24 * * *", "end of range (24) above maximum (23): 24");
  parse_bad("* * 0 * *", "beginning of range (0) below minimum (1): 0");
  parse_bad("* * * 13 *", "end of range (13) above maximum (12): 13");
  parse_bad("* * * * 7", "end of range (7) above maximum (6): 7");
  parse_bad("5-2 * * * *", "beginning of range (5) beyond end of range (2): 5-2");
  parse_bad("*/0 * * * *", "step of range should be a positive number: */0");
  parse_bad("x * * * *", "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax");
  parse_bad("1-2-3 * * * *", "too many hyphens: 1-2-3");
  parse_bad("*/2/3 * * * *", "too many slashes: */2/3");
  parse_bad("* * * foo *",
            "failed to parse int from foo: strconv.Atoi: parsing \"foo\": invalid syntax");
  parse_bad("@fortnightly", "unrecognized descriptor: @fortnightly");
  parse_bad("@every 5d",
            "failed to parse duration @every 5d: time: unknown unit \"d\" in duration \"5d\"");
}

static char *selector_errors(const char *json)
{
  json_t *sel = json_loads(json, 0, NULL);
  api_errors_t errs = API_ERRORS_INIT;
  api_validate_label_selector(&errs, "spec.selector", sel);
  char *s = api_errors_string(&errs);
  api_errors_free(&errs);
  json_decref(sel);
  return s;
}

Test(api_cron, label_selector_validation)
{
  char *s = selector_errors("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":"
                            "[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"a\"]}]}");
  cr_assert_str_eq(s, "");
  free(s);
  s = selector_errors("{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\"}]}");
  cr_assert_str_eq(s, "spec.selector.matchExpressions[0].values: Required value: must be "
                      "specified when `operator` is 'In' or 'NotIn'");
  free(s);
  s = selector_errors("{\"matchExpressions\":[{\"key\":\"t\",\"operator\":\"Exists\","
                      "\"values\":[\"a\"]}]}");
  cr_assert_str_eq(s, "spec.selector.matchExpressions[0].values: Forbidden: may not be "
                      "specified when `operator` is 'Exists' or 'DoesNotExist'");
  free(s);
  s = selector_errors("{\"matchExpressions\":[{\"key\":\"t\",\"operator\":\"Near\"}]}");
  cr_assert_str_eq(s, "spec.selector.matchExpressions[0].operator: Invalid value: \"Near\": not "
                      "a valid selector operator");
  free(s);
  s = selector_errors("{\"matchLabels\":{\"app\":\"we b\"}}");
  cr_assert(strstr(s, "spec.selector.matchLabels: Invalid value: \"we b\"") != NULL, "%s", s);
  free(s);
}
