/* test_ctrl_cron.c — when cron schedules fire (ctrl_cron_next on what
 * api_cron_parse gives, with its bit layout and robfig's errors as the
 * controller sees them; the next time in UTC and across DST in
 * Europe/Berlin; @every), TZif time zones, and the CronJob controller driven
 * by the harness clock. */
#include "ctrl_fixtures.h"

#include <errno.h>
#include <time.h>

#define T2026 1767225600LL /* 2026-01-01T00:00:00Z, a Thursday */

static int64_t ts(const char *rfc3339)
{
  int64_t ns;
  cr_assert_eq(time_parse_rfc3339(rfc3339, &ns), 0, "%s", rfc3339);
  return ns / S_NS;
}

static api_cron_t C(const char *expr)
{
  api_cron_t c;
  berr_t err = BERR_INIT;
  cr_assert_eq(api_cron_parse(expr, &c, &err), 0, "%s: %s", expr, err.msg);
  return c;
}

static void next_is(const char *expr, const ctrl_tz_t *tz, const char *after, const char *want)
{
  api_cron_t c = C(expr);
  int64_t n = ctrl_cron_next(&c, tz, ts(after));
  char *got = time_rfc3339_sec(n * S_NS);
  cr_assert_str_eq(got, want, "%s after %s", expr, after);
  free(got);
}

#define STAR API_CRON_STAR

/* The bit layout ctrl_cron_next reads from api_cron_parse. */
Test(ctrl_cron, parse_fields)
{
  api_cron_t c = C("*/15 0-6,22 1 JAN-mar mon-FRI");
  cr_assert_eq(c.minute, 1ULL << 0 | 1ULL << 15 | 1ULL << 30 | 1ULL << 45);
  cr_assert_eq(c.hour, 0x7fu | 1u << 22);
  cr_assert_eq(c.dom, 1u << 1);
  cr_assert_eq(c.month, 1u << 1 | 1u << 2 | 1u << 3);
  cr_assert_eq(c.dow, 0x3eu); /* no star bit in either day field */
  cr_assert_eq(c.every_s, 0);
  c = C("  5/20 * ? * 0 ");
  cr_assert_eq(c.minute, 1ULL << 5 | 1ULL << 25 | 1ULL << 45);
  cr_assert_eq(c.dow, 1u); /* 0 is Sunday (7 is refused, as in Kubernetes) */
  cr_assert_eq(c.dom, 0xfffffffeULL | STAR);
  c = C("0 0 */2 * *");
  cr_assert(!(c.dom & STAR), "a step larger than 1 is not a star (as Kubernetes' parser)");
  cr_assert_eq(c.dom & 0x7, 1u << 1);
  c = C("0 0 * * 5-6,0");
  cr_assert_eq(c.dow, 1u | 1u << 5 | 1u << 6);
  c = C("* * * * *");
  cr_assert_eq(c.minute, ((1ULL << 60) - 1) | STAR);
  cr_assert_eq(c.hour, ((1ULL << 24) - 1) | STAR);
  cr_assert_eq(c.month, 0x1ffeULL | STAR);
  cr_assert_eq(c.dow, 0x7fULL | STAR);
  api_cron_t h = C("@hourly"), h5 = C("0 * * * *");
  cr_assert(!memcmp(&h, &h5, sizeof h));
  const char *descr[][2]
      = { { "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
          { "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" } };
  for (size_t i = 0; i < ARRAY_SIZE(descr); i++) {
    api_cron_t a = C(descr[i][0]), b = C(descr[i][1]);
    cr_assert(!memcmp(&a, &b, sizeof a), "%s", descr[i][0]);
  }
  cr_assert_eq(C("@every 5m").every_s, 300);
  c = C("1,,2 * * * *"); /* robfig drops empty list items */
  cr_assert_eq(c.minute, 1ULL << 1 | 1ULL << 2);
}

/* What the controller's parser refuses, in robfig/cron's words. */
Test(ctrl_cron, parse_errors)
{
  static const struct {
    const char *expr, *msg;
  } cases[] = {
    { "", "empty spec string" },
    { "* * * *", "expected exactly 5 fields, found 4: [* * * *]" },
    { "* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]" },
    { "60 * * * *", "end of range (60) above maximum (59): 60" },
    { "* 24 * * *", "end of range (24) above maximum (23): 24" },
    { "* * 0 * *", "beginning of range (0) below minimum (1): 0" },
    { "* * * 13 *", "end of range (13) above maximum (12): 13" },
    { "* * * * 8", "end of range (8) above maximum (6): 8" },
    { "* * * * 7", "end of range (7) above maximum (6): 7" },
    { "0 0 * * 5-7", "end of range (7) above maximum (6): 5-7" },
    { "* * * foo *",
      "failed to parse int from foo: strconv.Atoi: parsing \"foo\": invalid syntax" },
    { "x * * * *", "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax" },
    { "*/0 * * * *", "step of range should be a positive number: */0" },
    { "*/ * * * *", "failed to parse int from : strconv.Atoi: parsing \"\": invalid syntax" },
    { "1/x * * * *", "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax" },
    { "5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1" },
    { "- * * * *", "failed to parse int from : strconv.Atoi: parsing \"\": invalid syntax" },
    { "99999999999 * * * *", "end of range (99999999999) above maximum (59): 99999999999" },
    { "@every 5d",
      "failed to parse duration @every 5d: time: unknown unit \"d\" in duration \"5d\"" },
    { "@hourly 5", "unrecognized descriptor: @hourly 5" },
    { "@MIDNIGHT", "unrecognized descriptor: @MIDNIGHT" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    api_cron_t c;
    berr_t err = BERR_INIT;
    cr_assert_eq(api_cron_parse(cases[i].expr, &c, &err), -1, "%s", cases[i].expr);
    cr_assert_str_eq(err.msg, cases[i].msg, "%s", cases[i].expr);
    cr_assert_eq(err.code, EINVAL);
    berr_clear(&err);
  }
  api_cron_t c;
  cr_assert_eq(api_cron_parse(NULL, &c, NULL), -1);
}

/* Unix seconds of a UTC wall-clock time. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
  struct tm tm
      = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi };
  return (int64_t)timegm(&tm);
}

Test(ctrl_cron, next_utc)
{
  next_is("@hourly", NULL, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z");
  next_is("@hourly", NULL, "2026-01-01T00:59:59Z", "2026-01-01T01:00:00Z");
  next_is("*/5 * * * *", NULL, "2026-01-01T00:07:30Z", "2026-01-01T00:10:00Z");
  next_is("30 2 * * *", NULL, "2026-01-31T03:00:00Z", "2026-02-01T02:30:00Z");
  next_is("0 0 1 1 *", NULL, "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z");
  next_is("0 0 29 2 *", NULL, "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z");
  next_is("0 12 * * mon", NULL, "2026-01-01T00:00:00Z", "2026-01-05T12:00:00Z");
  /* day of month OR day of week when neither is "*" */
  next_is("0 0 13 * 5", NULL, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z");
  next_is("0 0 13 * *", NULL, "2026-01-01T00:00:00Z", "2026-01-13T00:00:00Z");
  /* AND when one is "*": Friday the 13th is only "13 * fri" with both set... */
  next_is("0 0 * * 5", NULL, "2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z");
  next_is("59 23 31 12 *", NULL, "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z");
  api_cron_t never = C("0 0 30 2 *");
  cr_assert_eq(ctrl_cron_next(&never, NULL, T2026), -1);
  /* (these were api_cron_next's) Friday 2024-03-01 17:50 → Monday 09:00 */
  api_cron_t c = C("*/15 9-17 * * mon-fri");
  cr_assert_eq(ctrl_cron_next(&c, NULL, utc(2024, 3, 1, 17, 50)), utc(2024, 3, 4, 9, 0));
  cr_assert_eq(ctrl_cron_next(&c, NULL, utc(2024, 3, 4, 9, 0)), utc(2024, 3, 4, 9, 15));
  c = C("@monthly");
  cr_assert_eq(ctrl_cron_next(&c, NULL, utc(2024, 1, 31, 12, 0)), utc(2024, 2, 1, 0, 0));
  c = C("0 0 29 2 *"); /* leap day */
  cr_assert_eq(ctrl_cron_next(&c, NULL, utc(2024, 3, 1, 0, 0)), utc(2028, 2, 29, 0, 0));
  c = C("0 0 30 2 *");
  cr_assert_eq(ctrl_cron_next(&c, NULL, utc(2024, 1, 1, 0, 0)), -1);
  /* Both day fields restricted: either matches (1st of the month or a Sunday). */
  c = C("0 12 1 * sun");
  cr_assert_eq(ctrl_cron_next(&c, NULL, utc(2024, 3, 1, 13, 0)), utc(2024, 3, 3, 12, 0));
  cr_assert_eq(ctrl_cron_next(&c, NULL, utc(2024, 3, 1, 11, 59)), utc(2024, 3, 1, 12, 0));
  /* A day field of "*" makes the other one decide alone: not Friday the 1st. */
  c = C("0 12 * * sun");
  cr_assert_eq(ctrl_cron_next(&c, NULL, utc(2024, 3, 1, 11, 59)), utc(2024, 3, 3, 12, 0));
  /* @every: the time plus the interval, in any zone, to the second */
  c = C("@every 1h");
  cr_assert_eq(ctrl_cron_next(&c, NULL, 1000), 4600);
  c = C("@every 90s");
  next_is("@every 90s", NULL, "2026-01-01T00:00:07Z", "2026-01-01T00:01:37Z");
  cr_assert_eq(ctrl_cron_next(&c, NULL, INT64_MAX - 10), -1);
}

Test(ctrl_cron, next_across_dst_berlin)
{
  berr_t err = BERR_INIT;
  ctrl_tz_t *tz = ctrl_tz_load("Europe/Berlin", &err);
  cr_assert(tz, "%s", err.msg);
  cr_assert_eq(ctrl_tz_offset(tz, ts("2026-01-15T12:00:00Z")), 3600);
  cr_assert_eq(ctrl_tz_offset(tz, ts("2026-07-15T12:00:00Z")), 7200);
  cr_assert_eq(ctrl_tz_offset(tz, ts("2026-03-29T00:59:59Z")), 3600);
  cr_assert_eq(ctrl_tz_offset(tz, ts("2026-03-29T01:00:00Z")), 7200);
  cr_assert_eq(ctrl_tz_offset(tz, ts("2026-10-25T00:59:59Z")), 7200);
  cr_assert_eq(ctrl_tz_offset(tz, ts("2026-10-25T01:00:00Z")), 3600);
  cr_assert_eq(ctrl_tz_offset(tz, ts("1990-07-01T00:00:00Z")), 7200);
  cr_assert_eq(ctrl_tz_offset(tz, ts("2099-07-01T00:00:00Z")), 7200); /* the footer's rule */
  cr_assert_eq(ctrl_tz_offset(tz, ts("2099-12-01T00:00:00Z")), 3600);
  /* 09:00 wall clock: 08:00Z in winter, 07:00Z from the day of the change */
  next_is("0 9 * * *", tz, "2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z");
  next_is("0 9 * * *", tz, "2026-03-27T12:00:00Z", "2026-03-28T08:00:00Z");
  /* 02:30 does not exist on 29 March: skipped */
  next_is("30 2 * * *", tz, "2026-03-28T12:00:00Z", "2026-03-30T00:30:00Z");
  /* 02:30 happens twice on 25 October (CEST, then CET): runs twice */
  next_is("30 2 * * *", tz, "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z");
  next_is("30 2 * * *", tz, "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z");
  next_is("30 2 * * *", tz, "2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z");
  /* midnight right after the spring change still exists */
  next_is("0 0 * * *", tz, "2026-03-29T00:00:00Z", "2026-03-29T22:00:00Z");
  next_is("@hourly", tz, "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z");
  next_is("0 0 1 * *", tz, "2026-03-15T00:00:00Z", "2026-03-31T22:00:00Z");
  ctrl_tz_free(tz);
}

Test(ctrl_cron, time_zones)
{
  berr_t err = BERR_INIT;
  ctrl_tz_t *utc = ctrl_tz_load(NULL, &err);
  cr_assert(utc);
  cr_assert_eq(ctrl_tz_offset(utc, T2026), 0);
  ctrl_tz_free(utc);
  ctrl_tz_t *ny = ctrl_tz_load("America/New_York", &err);
  cr_assert(ny, "%s", err.msg);
  cr_assert_eq(ctrl_tz_offset(ny, T2026), -5 * 3600);
  cr_assert_eq(ctrl_tz_offset(ny, ts("2026-07-01T00:00:00Z")), -4 * 3600);
  ctrl_tz_free(ny);
  const char *bad[]
      = { "Mars/Base", "../../etc/passwd", "/etc/passwd", "Local", "Europe", "Europe/Ber lin" };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    cr_assert_null(ctrl_tz_load(bad[i], &err), "%s", bad[i]);
    cr_assert(strstr(err.msg, bad[i]), "%s: %s", bad[i], err.msg);
    berr_clear(&err);
  }
  /* a TZif file cut anywhere, or with its counts corrupted, is refused */
  char *data;
  size_t len;
  cr_assert_eq(fs_read_file("/usr/share/zoneinfo/Europe/Berlin", 0, &data, &len, NULL), 0);
  for (size_t cut = 0; cut < len; cut += 7) {
    ctrl_tz_t *tz = ctrl_tz_parse("cut", (unsigned char *)data, cut, NULL);
    if (tz) /* a file cut in its footer still has all its transitions */
      cr_assert_gt(cut, len / 2);
    ctrl_tz_free(tz);
  }
  for (size_t at = 20; at < 44; at++) {
    char *copy = xmalloc(len);
    memcpy(copy, data, len);
    copy[at] = (char)0xff;
    ctrl_tz_free(ctrl_tz_parse("corrupt", (unsigned char *)copy, len, NULL));
    free(copy);
  }
  free(data);
  cr_assert_null(ctrl_tz_parse("junk", (const unsigned char *)"TZif2junk", 9, &err));
  cr_assert_str_eq(err.msg, "time zone junk: not a valid TZif file");
  berr_clear(&err);
}

/* A TZif v2 file with no transitions, one type (offset off) and footer:
 * everything comes from the footer's POSIX rule. */
static ctrl_tz_t *posix_zone(const char *footer, int32_t off, berr_t *err)
{
  buf_t b = { 0 };
  for (int block = 0; block < 2; block++) {
    unsigned char hdr[44] = { 'T', 'Z', 'i', 'f', '2' };
    hdr[39] = 1; /* typecnt */
    hdr[43] = 4; /* charcnt */
    buf_append(&b, hdr, sizeof hdr);
    unsigned char tt[6] = { (unsigned char)((uint32_t)off >> 24),
                            (unsigned char)((uint32_t)off >> 16),
                            (unsigned char)((uint32_t)off >> 8),
                            (unsigned char)off,
                            0,
                            0 };
    buf_append(&b, tt, sizeof tt);
    buf_append(&b, "XXX", 4);
  }
  buf_printf(&b, "\n%s\n", footer);
  ctrl_tz_t *tz = ctrl_tz_parse("posix", (unsigned char *)b.data, b.len, err);
  buf_free(&b);
  return tz;
}

Test(ctrl_cron, posix_rules)
{
  static const struct {
    const char *footer, *at;
    int64_t off;
  } cases[] = {
    { "CET-1CEST,M3.5.0,M10.5.0/3", "2026-03-29T00:59:59Z", 3600 },
    { "CET-1CEST,M3.5.0,M10.5.0/3", "2026-03-29T01:00:00Z", 7200 },
    { "CET-1CEST,M3.5.0,M10.5.0/3", "2026-10-25T00:59:59Z", 7200 },
    { "CET-1CEST,M3.5.0,M10.5.0/3", "2026-10-25T01:00:00Z", 3600 },
    /* southern hemisphere: DST over the new year */
    { "AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-01-15T00:00:00Z", 11 * 3600 },
    { "AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-07-15T00:00:00Z", 10 * 3600 },
    { "AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-12-31T23:00:00Z", 11 * 3600 },
    /* no rule: the US one; quoted names; no DST */
    { "EST5EDT", "2026-07-01T00:00:00Z", -4 * 3600 },
    { "EST5EDT", "2026-01-01T00:00:00Z", -5 * 3600 },
    { "<+0330>-3:30", "2026-07-01T00:00:00Z", 3 * 3600 + 1800 },
    { "<-03>3", "2026-07-01T00:00:00Z", -3 * 3600 },
    /* Julian days and an explicit DST offset */
    { "AAA3BBB2,J60/0,J300/0", "2026-03-01T02:59:59Z", -3 * 3600 },
    { "AAA3BBB2,J60/0,J300/0", "2026-03-01T03:00:00Z", -2 * 3600 },
    { "AAA3BBB2,59/0,299/0", "2028-02-29T03:00:00Z", -2 * 3600 }, /* 0-based: 29 Feb */
    { "AAA3BBB2,59/0,299/0", "2028-02-29T02:59:59Z", -3 * 3600 },
    { "AAA3BBB2,J60/0,J300/0", "2028-02-29T12:00:00Z", -3 * 3600 }, /* J60: 1 March always */
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    berr_t err = BERR_INIT;
    ctrl_tz_t *tz = posix_zone(cases[i].footer, 0, &err);
    cr_assert(tz, "%s: %s", cases[i].footer, err.msg);
    cr_assert_eq(ctrl_tz_offset(tz, ts(cases[i].at)), cases[i].off, "%s at %s: %lld",
                 cases[i].footer, cases[i].at, (long long)ctrl_tz_offset(tz, ts(cases[i].at)));
    ctrl_tz_free(tz);
  }
  /* an empty footer: the one type */
  ctrl_tz_t *tz = posix_zone("", 5 * 3600, NULL);
  cr_assert(tz);
  cr_assert_eq(ctrl_tz_offset(tz, T2026), 5 * 3600);
  ctrl_tz_free(tz);
  const char *bad[] = { "C",
                        "CET",
                        "CET-1CEST,M13.5.0,M10.5.0",
                        "CET-1CEST,M3.6.0,M10.5.0",
                        "CET-1CEST,M3.5.7,M10.5.0",
                        "CET-1CEST,J0,J5",
                        "CET-1CEST,M3.5.0",
                        "CET-99",
                        "CET-1CEST,M3.5.0/200,M10.5.0",
                        "<AB-1",
                        "CET-1CEST,M3.5.0,M10.5.0x" };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    berr_t err = BERR_INIT;
    cr_assert_null(posix_zone(bad[i], 0, &err), "%s", bad[i]);
    cr_assert_str_eq(err.msg, "time zone posix: not a valid TZif file");
    berr_clear(&err);
  }
}

/* ---- the CronJob controller ---------------------------------------------------------- */

static json_t *put_cronjob(ctrl_h *h, const char *name, const char *schedule, const char *extra)
{
  char *text = xasprintf(
      "{'apiVersion':'batch/v1','kind':'CronJob','metadata':{'name':'%s','namespace':'default'},"
      "'spec':{'schedule':'%s','jobTemplate':{'metadata':{'labels':{'app':'%s'}},'spec':{"
      "'template':{'spec':{'restartPolicy':'Never','containers':[{'name':'c','image':'busybox'}]"
      "}}}}%s}}",
      name, schedule, name, extra ? extra : "");
  json_t *o = ctrl_h_put(h, "cronjobs", J(text));
  free(text);
  return o;
}

/* Marks a Job finished (Complete or Failed) at h->now. */
static void finish_job(ctrl_h *h, json_t *job, const char *type)
{
  json_t *j = json_deep_copy(job);
  json_t *st = json_object();
  ctrl_set_condition(st, type, "True", NULL, NULL, h->now);
  json_object_set_new(st, "startTime", json_string(ctrl_f_time(h->now - 60 * S_NS)));
  if (!strcmp(type, "Complete"))
    json_object_set_new(st, "completionTime", json_string(ctrl_f_time(h->now)));
  json_object_set_new(j, "status", st);
  ctrl_h_put(h, "jobs", j);
}

static size_t njobs(ctrl_h *h, const char *cj)
{
  json_t *owned = ctrl_f_owned(h, "jobs", "cronjobs", "default", cj);
  size_t n = json_array_size(owned);
  json_decref(owned);
  return n;
}

Test(ctrl_cron, fires_at_the_right_minute)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_cronjob(&h, "report", "30 * * * *", NULL);
  ctrl_h_sync(&h, "cronjob", "default", "report");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 0);
  cr_assert_eq(h.requeue_ns, 30 * 60 * S_NS);
  h.now += 29 * 60 * S_NS + 59 * S_NS;
  ctrl_h_sync(&h, "cronjob", "default", "report");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 0);
  cr_assert_eq(h.requeue_ns, S_NS);
  h.now += S_NS;
  ctrl_h_sync(&h, "cronjob", "default", "report");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 1);
  json_t *job = ctrl_h_action(&h, CTRL_CREATE, "jobs", 0)->obj;
  json_t *md = json_object_get(job, "metadata");
  cr_assert_str_eq(json_str(md, "name"), "report-29453790"); /* minutes since the epoch */
  cr_assert_str_eq(json_str(json_object_get(md, "annotations"),
                            "batch.kubernetes.io/cronjob-scheduled-timestamp"),
                   "2026-01-01T00:30:00Z");
  cr_assert_str_eq(json_str(json_object_get(md, "labels"), "app"), "report");
  json_t *ref = ctrl_controller_ref(job);
  cr_assert_str_eq(json_str(ref, "kind"), "CronJob");
  cr_assert_str_eq(json_str(ref, "name"), "report");
  cr_assert(json_object_get(json_object_get(job, "spec"), "template"));
  cr_assert_eq(h.requeue_ns, 60 * 60 * S_NS);
  ctrl_h_apply(&h);
  cr_assert_eq(ctrl_f_events(&h, "SuccessfulCreate"), 1);
  json_t *st = ctrl_f_status(&h, "cronjobs", "default", "report");
  cr_assert_str_eq(json_str(st, "lastScheduleTime"), "2026-01-01T00:30:00Z");
  /* the next sync lists the job as active and creates nothing */
  ctrl_h_sync(&h, "cronjob", "default", "report");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 0);
  ctrl_h_apply(&h);
  st = ctrl_f_status(&h, "cronjobs", "default", "report");
  cr_assert_eq(json_array_size(json_object_get(st, "active")), 1);
  json_t *a = json_array_get(json_object_get(st, "active"), 0);
  cr_assert_str_eq(json_str(a, "name"), "report-29453790");
  cr_assert_str_eq(json_str(a, "kind"), "Job");
  cr_assert(json_str(a, "uid"));
  /* it completes: out of the active list, lastSuccessfulTime, an event */
  h.now += 60 * S_NS;
  finish_job(&h, ctrl_cache_get(h.cache, "jobs", "default", "report-29453790"), "Complete");
  ctrl_h_sync(&h, "cronjob", "default", "report");
  ctrl_h_apply(&h);
  st = ctrl_f_status(&h, "cronjobs", "default", "report");
  cr_assert_null(json_object_get(st, "active"));
  cr_assert_str_eq(json_str(st, "lastSuccessfulTime"), "2026-01-01T00:31:00Z");
  cr_assert_eq(ctrl_f_events(&h, "SawCompletedJob"), 1);
  ctrl_h_free(&h);
}

static const char *created_name(ctrl_h *h)
{
  return json_str(json_object_get(ctrl_h_action(h, CTRL_CREATE, "jobs", 0)->obj, "metadata"),
                  "name");
}

/* @every (which the API server accepts, as Kubernetes does) counts from the
 * last scheduled time, else the creation. */
Test(ctrl_cron, every)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_cronjob(&h, "ev", "@every 90m", NULL);
  ctrl_h_sync(&h, "cronjob", "default", "ev");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 0);
  cr_assert_eq(ctrl_f_pending_events(&h, "UnparseableSchedule"), 0);
  cr_assert_eq(h.requeue_ns, 90 * 60 * S_NS);
  h.now += 90 * 60 * S_NS;
  ctrl_h_sync(&h, "cronjob", "default", "ev");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 1);
  cr_assert_str_eq(created_name(&h), "ev-29453850"); /* 01:30 */
  cr_assert_eq(h.requeue_ns, 90 * 60 * S_NS);
  ctrl_h_apply(&h);
  /* a late sync runs the time the series reached (03:00), not now */
  h.now += 100 * 60 * S_NS;
  ctrl_h_sync(&h, "cronjob", "default", "ev");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 1);
  cr_assert_str_eq(created_name(&h), "ev-29453940");
  cr_assert_eq(h.requeue_ns, 80 * 60 * S_NS); /* 04:30 */
  ctrl_h_apply(&h);
  cr_assert_str_eq(json_str(ctrl_f_status(&h, "cronjobs", "default", "ev"), "lastScheduleTime"),
                   "2026-01-01T03:00:00Z");
  /* with a deadline shorter than the interval it still runs, on time */
  put_cronjob(&h, "evd", "@every 1h", ",'startingDeadlineSeconds':100");
  int64_t t0 = h.now;
  h.now = t0 + 3600 * S_NS;
  ctrl_h_sync(&h, "cronjob", "default", "evd");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 1);
  ctrl_h_apply(&h);
  /* ...and a time older than the deadline is not run; the next one is */
  h.now = t0 + (11 * 3600 + 1800) * S_NS;
  ctrl_h_sync(&h, "cronjob", "default", "evd");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 0);
  cr_assert_eq(h.requeue_ns, 1800 * S_NS);
  ctrl_h_apply(&h);
  h.now = t0 + 12 * 3600 * S_NS;
  ctrl_h_sync(&h, "cronjob", "default", "evd");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 1);
  ctrl_h_free(&h);
}

Test(ctrl_cron, time_zone_and_suspend)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_cronjob(&h, "tz", "0 9 * * *", ",'timeZone':'Europe/Berlin'");
  ctrl_h_sync(&h, "cronjob", "default", "tz");
  cr_assert_eq(h.requeue_ns, 8 * 3600 * S_NS); /* 09:00 CET is 08:00Z */
  h.now += 8 * 3600 * S_NS;
  ctrl_h_sync(&h, "cronjob", "default", "tz");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 1);
  json_t *md = json_object_get(ctrl_h_action(&h, CTRL_CREATE, "jobs", 0)->obj, "metadata");
  cr_assert_str_eq(json_str(json_object_get(md, "annotations"),
                            "batch.kubernetes.io/cronjob-scheduled-timestamp"),
                   "2026-01-01T09:00:00+01:00");
  ctrl_h_apply(&h);
  /* suspended: nothing runs, however late */
  put_cronjob(&h, "tz", "0 9 * * *", ",'timeZone':'Europe/Berlin','suspend':true");
  h.now += 24 * 3600 * S_NS;
  ctrl_h_sync(&h, "cronjob", "default", "tz");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 0);
  cr_assert_eq(h.requeue_ns, 0);
  /* a bad zone or schedule: a warning, nothing else */
  put_cronjob(&h, "badtz", "0 9 * * *", ",'timeZone':'Mars/Base'");
  ctrl_h_sync(&h, "cronjob", "default", "badtz");
  cr_assert_eq(ctrl_f_pending_events(&h, "UnknownTimeZone"), 1);
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, NULL), 0);
  put_cronjob(&h, "badsched", "61 * * * *", NULL);
  ctrl_h_sync(&h, "cronjob", "default", "badsched");
  cr_assert_eq(ctrl_f_pending_events(&h, "UnparseableSchedule"), 1);
  cr_assert_str_eq(
      ctrl_h_action(&h, CTRL_EVENT, NULL, 0)->message,
      "unparseable schedule: \"61 * * * *\" : end of range (61) above maximum (59): 61");
  ctrl_h_apply(&h);
  /* a TZ= prefix passes the parser but not the controller, as not the API server */
  put_cronjob(&h, "tzsched", "TZ=UTC 0 9 * * *", NULL);
  ctrl_h_sync(&h, "cronjob", "default", "tzsched");
  cr_assert_eq(ctrl_f_pending_events(&h, "UnparseableSchedule"), 1);
  cr_assert_str_eq(ctrl_h_action(&h, CTRL_EVENT, NULL, 0)->message,
                   "unparseable schedule: \"TZ=UTC 0 9 * * *\" : cannot use TZ or CRON_TZ in "
                   "schedule, use timeZone field instead");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, NULL), 0);
  cr_assert_eq(h.requeue_ns, 0);
  ctrl_h_free(&h);
}

Test(ctrl_cron, forbid_and_replace)
{
  ctrl_h h;
  ctrl_h_init(&h);
  put_cronjob(&h, "f", "* * * * *", ",'concurrencyPolicy':'Forbid'");
  put_cronjob(&h, "r", "* * * * *", ",'concurrencyPolicy':'Replace'");
  h.now += 60 * S_NS;
  ctrl_h_sync(&h, "cronjob", "default", "f");
  ctrl_h_apply(&h);
  ctrl_h_sync(&h, "cronjob", "default", "r");
  ctrl_h_apply(&h);
  cr_assert_eq(njobs(&h, "f"), 1);
  cr_assert_eq(njobs(&h, "r"), 1);
  h.now += 60 * S_NS;
  /* Forbid: the running job holds the next one back */
  ctrl_h_sync(&h, "cronjob", "default", "f");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 0);
  cr_assert_eq(ctrl_f_pending_events(&h, "JobAlreadyActive"), 1);
  ctrl_h_apply(&h);
  /* Replace: the running job is deleted, the new one created */
  ctrl_h_sync(&h, "cronjob", "default", "r");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "jobs"), 1);
  cr_assert_str_eq(ctrl_h_action(&h, CTRL_DELETE, "jobs", 0)->name, "r-29453761");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 1);
  ctrl_h_apply(&h);
  cr_assert_null(ctrl_cache_get(h.cache, "jobs", "default", "r-29453761"));
  cr_assert(ctrl_cache_get(h.cache, "jobs", "default", "r-29453762"));
  /* once the Forbid job ends, the missed minute runs (it is the latest) */
  h.now += 10 * S_NS;
  finish_job(&h, ctrl_cache_get(h.cache, "jobs", "default", "f-29453761"), "Failed");
  ctrl_h_sync(&h, "cronjob", "default", "f");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 1);
  cr_assert_str_eq(
      json_str(json_object_get(ctrl_h_action(&h, CTRL_CREATE, "jobs", 0)->obj, "metadata"), "name"),
      "f-29453762");
  ctrl_h_apply(&h);
  /* a job made by hand from the CronJob does not hold Forbid back */
  h.now += 60 * S_NS;
  finish_job(&h, ctrl_cache_get(h.cache, "jobs", "default", "f-29453762"), "Complete");
  json_t *cj = ctrl_cache_get(h.cache, "cronjobs", "default", "f");
  json_t *manual = J("{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'f-manual',"
                     "'namespace':'default','annotations':{'cronjob.kubernetes.io/instantiate':"
                     "'manual'}},'spec':{}}");
  json_object_set_new(json_object_get(manual, "metadata"), "ownerReferences",
                      json_pack("[o]", ctrl_owner_ref(cj, "batch/v1", "CronJob")));
  ctrl_h_put(&h, "jobs", manual);
  ctrl_h_sync(&h, "cronjob", "default", "f");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 1);
  ctrl_h_apply(&h);
  ctrl_h_sync(&h, "cronjob", "default", "f");
  ctrl_h_apply(&h);
  json_t *active = json_object_get(ctrl_f_status(&h, "cronjobs", "default", "f"), "active");
  cr_assert_eq(json_array_size(active), 1);
  cr_assert_str_eq(json_str(json_array_get(active, 0), "name"), "f-29453763");
  ctrl_h_free(&h);
}

Test(ctrl_cron, history_limits)
{
  ctrl_h h;
  ctrl_h_init(&h);
  json_t *cj = put_cronjob(&h, "hist", "0 0 1 1 *", ",'successfulJobsHistoryLimit':2");
  for (int i = 0; i < 8; i++) {
    char name[32];
    snprintf(name, sizeof name, "hist-%d", i);
    json_t *job = json_pack("{s:s,s:s,s:{s:s,s:s,s:[o]},s:{}}", "apiVersion", "batch/v1", "kind",
                            "Job", "metadata", "name", name, "namespace", "default",
                            "ownerReferences", ctrl_owner_ref(cj, "batch/v1", "CronJob"), "spec");
    h.now += 60 * S_NS;
    json_t *stored = ctrl_h_put(&h, "jobs", job);
    if (i < 7) /* hist-7 still runs */
      finish_job(&h, stored, i % 2 ? "Failed" : "Complete");
    cj = ctrl_cache_get(h.cache, "cronjobs", "default", "hist");
  }
  ctrl_h_sync(&h, "cronjob", "default", "hist");
  /* complete: 0 2 4 6 → keep 4 6; failed: 1 3 5 → keep 5 (default 1) */
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, "jobs"), 4);
  const char *gone[] = { "hist-0", "hist-2", "hist-1", "hist-3" };
  for (size_t i = 0; i < ARRAY_SIZE(gone); i++)
    cr_assert_str_eq(ctrl_h_action(&h, CTRL_DELETE, "jobs", i)->name, gone[i]);
  ctrl_h_apply(&h);
  cr_assert_eq(ctrl_f_events(&h, "SuccessfulDelete"), 4);
  cr_assert_eq(njobs(&h, "hist"), 4);
  ctrl_h_sync(&h, "cronjob", "default", "hist");
  cr_assert_eq(ctrl_h_count(&h, CTRL_DELETE, NULL), 0);
  ctrl_h_free(&h);
}

Test(ctrl_cron, missed_schedules)
{
  ctrl_h h;
  ctrl_h_init(&h);
  /* created two hours ago; the controller was away */
  h.now -= 2 * 3600 * S_NS;
  put_cronjob(&h, "late", "*/10 * * * *", ",'startingDeadlineSeconds':300");
  put_cronjob(&h, "toolate", "*/10 * * * *", ",'startingDeadlineSeconds':60");
  put_cronjob(&h, "many", "* * * * *", NULL);
  h.now += 2 * 3600 * S_NS + 3 * 60 * S_NS; /* 00:03 */
  /* the 00:00 run is 3 minutes late, within 300 s: it runs, only it */
  ctrl_h_sync(&h, "cronjob", "default", "late");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 1);
  cr_assert_str_eq(
      json_str(json_object_get(ctrl_h_action(&h, CTRL_CREATE, "jobs", 0)->obj, "metadata"), "name"),
      "late-29453760");
  cr_assert_eq(h.requeue_ns, 7 * 60 * S_NS);
  /* beyond 60 s: skipped, waits for 00:10 */
  ctrl_h_sync(&h, "cronjob", "default", "toolate");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 0);
  cr_assert_eq(h.requeue_ns, 7 * 60 * S_NS);
  /* 123 missed minutes: a warning and only the latest */
  ctrl_h_sync(&h, "cronjob", "default", "many");
  cr_assert_eq(ctrl_f_pending_events(&h, "TooManyMissedTimes"), 1);
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 1);
  cr_assert_str_eq(
      json_str(json_object_get(ctrl_h_action(&h, CTRL_CREATE, "jobs", 0)->obj, "metadata"), "name"),
      "many-29453763");
  ctrl_h_apply(&h);
  ctrl_h_sync(&h, "cronjob", "default", "many");
  cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "jobs"), 0);
  cr_assert_eq(ctrl_f_pending_events(&h, "TooManyMissedTimes"), 0);
  ctrl_h_free(&h);
}

Test(ctrl_cron, keys_and_hostile_objects)
{
  ctrl_h h;
  ctrl_h_init(&h);
  json_t *cj = put_cronjob(&h, "k", "* * * * *", NULL);
  size_t self = ctrl_h_def("cronjob");
  ctrl_ctx_t x = { .cache = h.cache, .cfg = &h.cfg, .now = h.now, .out = &h.out };
  ctrl_keys_t keys = { 0 };
  json_t *job = json_pack("{s:{s:s,s:s,s:[o]}}", "metadata", "name", "k-1", "namespace", "default",
                          "ownerReferences", ctrl_owner_ref(cj, "batch/v1", "CronJob"));
  ctrl_defs[self].keys(&x, self, "jobs", NULL, job, &keys);
  ctrl_defs[self].keys(&x, self, "batch/cronjobs", NULL, cj, &keys);
  ctrl_defs[self].keys(&x, self, "pods", NULL, job, &keys);
  cr_assert_eq(keys.n, 2);
  cr_assert_str_eq(keys.v[0].name, "k");
  cr_assert_str_eq(keys.v[1].name, "k");
  ctrl_keys_clear(&keys);
  json_decref(job);
  const char *hostile[] = {
    "{'metadata':{'name':'h1','namespace':'default','uid':'u1'},'spec':'x'}",
    "{'metadata':{'name':'h2','namespace':'default','uid':'u2'},'spec':{'schedule':5,"
    "'timeZone':7,'jobTemplate':[],'startingDeadlineSeconds':'x','concurrencyPolicy':3},"
    "'status':{'active':'x','lastScheduleTime':'yesterday'}}",
    "{'metadata':{'name':'h3','namespace':'default','uid':'u3','creationTimestamp':3},"
    "'spec':{'schedule':'* * * * *','jobTemplate':{'metadata':'x','spec':5},"
    "'successfulJobsHistoryLimit':-4,'startingDeadlineSeconds':-1},'status':[]}",
    "{'metadata':{'name':'h4','namespace':'default','uid':'u4'},'spec':{'schedule':'@hourly',"
    "'timeZone':'../../../etc/passwd'}}",
    "{'metadata':{'name':'h5','namespace':'default','uid':'u5'},'spec':{'schedule':'*/1000000 "
    "1-2-3 1,,2 --1 */*'}}",
  };
  for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
    json_t *o = J(hostile[i]);
    char name[32];
    snprintf(name, sizeof name, "h%zu", i + 1);
    json_object_set_new(json_object_get(o, "metadata"), "creationTimestamp", json_integer(3));
    ctrl_h_put(&h, "cronjobs", o);
    ctrl_h_sync(&h, "cronjob", "default", name);
    ctrl_h_apply(&h);
  }
  ctrl_h_sync(&h, "cronjob", "default", "absent");
  cr_assert_eq(h.out.n, 0);
  ctrl_h_free(&h);
}

/* Bounded, deterministic fuzzing of the two parsers of untrusted text: a
 * schedule and a TZif file. Whatever parses must give a next time without
 * hanging; whatever fails must say why. */
static uint64_t xorshift(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

Test(ctrl_cron, fuzz)
{
  uint64_t seed = 0x9e3779b97f4a7c15ULL;
  static const char alphabet[] = "0123456789*/-,? @JANmonSunTZ=x";
  for (int round = 0; round < 10000; round++) {
    char expr[40];
    size_t len = xorshift(&seed) % (sizeof expr - 1);
    for (size_t i = 0; i < len; i++)
      expr[i] = alphabet[xorshift(&seed) % (sizeof alphabet - 1)];
    expr[len] = '\0';
    api_cron_t c;
    berr_t err = BERR_INIT;
    if (api_cron_parse(expr, &c, &err) == 0) {
      int64_t n = ctrl_cron_next(&c, NULL, T2026);
      cr_assert(n == -1 || n > T2026, "%s", expr);
    } else {
      cr_assert(err.msg && *err.msg, "%s", expr);
    }
    berr_clear(&err);
  }
  char *data;
  size_t len;
  cr_assert_eq(fs_read_file("/usr/share/zoneinfo/America/Sao_Paulo", 0, &data, &len, NULL), 0);
  for (int round = 0; round < 2000; round++) {
    unsigned char *copy = xmalloc(len);
    memcpy(copy, data, len);
    for (int k = 0; k < 4; k++)
      copy[xorshift(&seed) % len] = (unsigned char)xorshift(&seed);
    ctrl_tz_t *tz = ctrl_tz_parse("fuzz", copy, len, NULL);
    if (tz) {
      api_cron_t c = C("0 3 * * *");
      for (int64_t t = T2026 - 3000000000LL; t < T2026 + 3000000000LL; t += 300000000)
        (void)ctrl_cron_next(&c, tz, t);
    }
    ctrl_tz_free(tz);
    free(copy);
  }
  free(data);
}
