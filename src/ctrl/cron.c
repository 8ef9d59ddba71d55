/* cron.c — CronJob schedules: the five-field cron syntax Kubernetes accepts
 * (its cron library's standard parser) and the next time a schedule fires in
 * a time zone's wall clock.
 *
 * A schedule is five bit sets. The next time is found by walking real time
 * forward and reading the wall clock at each step: a field that does not
 * match jumps to the next wall-clock month, day, hour or minute boundary.
 * Walking real time is what makes DST behave as in Kubernetes: a wall time
 * that the spring change skips is never seen, one the autumn change repeats
 * is seen twice. */
#include "ctrl/ctrl.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

typedef struct cron_field {
  const char *name;
  int min, max;
  const char *const *names; /* names of min, min+1… (month, day of week) */
} cron_field_t;

static const char *const month_names[]
    = { "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const dow_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

static const cron_field_t fields[5] = {
  { "minute", 0, 59, NULL },          { "hour", 0, 23, NULL },
  { "day of month", 1, 31, NULL },    { "month", 1, 12, month_names },
  { "day of week", 0, 7, dow_names }, /* 7: Sunday again */
};

static const struct {
  const char *name, *expr;
} descriptors[] = {
  { "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
  { "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
  { "@hourly", "0 * * * *" },
};

/* A number or a name of field f in s[0..len). */
static int parse_value(const cron_field_t *f, const char *s, size_t len, int *out, berr_t *err,
                       const char *part)
{
  if (len == 0)
    return berr_setc(err, EINVAL, "%s: \"%s\": missing value", f->name, part);
  if (isdigit((unsigned char)s[0])) {
    int v = 0;
    for (size_t i = 0; i < len; i++) {
      if (!isdigit((unsigned char)s[i]) || v > 1000)
        return berr_setc(err, EINVAL, "%s: \"%s\": not a number", f->name, part);
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
  }
  for (size_t i = 0; f->names && f->names[i]; i++)
    if (strlen(f->names[i]) == len && !strncasecmp(f->names[i], s, len)) {
      *out = f->min + (int)i;
      return 0;
    }
  return berr_setc(err, EINVAL, "%s: \"%s\": not a number%s", f->name, part,
                   f->names ? " or a name" : "");
}

/* One comma-separated part: "*", "?", "a", "a-b", each with an optional
 * "/step" ("a/step" is "a-max/step"). Sets *star for "*" and "?" without a
 * step larger than 1. */
static int parse_part(const cron_field_t *f, const char *part, uint64_t *bits, bool *star,
                      berr_t *err)
{
  const char *slash = strchr(part, '/');
  size_t rlen = slash ? (size_t)(slash - part) : strlen(part);
  int lo, hi, step = 1;
  bool is_star = false;
  if (rlen == 1 && (part[0] == '*' || part[0] == '?')) {
    lo = f->min;
    hi = f->max == 7 ? 6 : f->max;
    is_star = true;
  } else {
    const char *dash = memchr(part, '-', rlen);
    if (parse_value(f, part, dash ? (size_t)(dash - part) : rlen, &lo, err, part) < 0)
      return -1;
    hi = lo;
    if (dash && parse_value(f, dash + 1, rlen - (size_t)(dash + 1 - part), &hi, err, part) < 0)
      return -1;
    if (!dash && slash)
      hi = f->max == 7 ? 6 : f->max;
  }
  if (slash) {
    const char *s = slash + 1;
    step = 0;
    if (!*s)
      return berr_setc(err, EINVAL, "%s: \"%s\": missing step", f->name, part);
    for (; *s; s++) {
      if (!isdigit((unsigned char)*s) || step > 1000)
        return berr_setc(err, EINVAL, "%s: \"%s\": the step must be a positive number", f->name,
                         part);
      step = step * 10 + (*s - '0');
    }
    if (step == 0)
      return berr_setc(err, EINVAL, "%s: \"%s\": the step must be a positive number", f->name,
                       part);
  }
  if (lo < f->min || lo > f->max || hi < f->min || hi > f->max)
    return berr_setc(err, EINVAL, "%s: \"%s\": out of range %d-%d", f->name, part, f->min, f->max);
  if (lo > hi)
    return berr_setc(err, EINVAL, "%s: \"%s\": the range starts after it ends", f->name, part);
  for (int v = lo; v <= hi; v += step)
    *bits |= 1ULL << (v == 7 && f->max == 7 ? 0 : v);
  if (is_star && step <= 1)
    *star = true;
  return 0;
}

static int parse_field(const cron_field_t *f, const char *text, uint64_t *bits, bool *star,
                       berr_t *err)
{
  cleanup_free char *copy = xstrdup(text);
  char *save = NULL;
  *bits = 0;
  *star = false;
  if (*text == ',' || str_has_suffix(text, ",") || strstr(text, ",,"))
    return berr_setc(err, EINVAL, "%s: \"%s\": empty list item", f->name, text);
  for (char *part = strtok_r(copy, ",", &save); part; part = strtok_r(NULL, ",", &save))
    if (parse_part(f, part, bits, star, err) < 0)
      return -1;
  return 0;
}

int ctrl_cron_parse(const char *expr, ctrl_cron_t *out, berr_t *err)
{
  if (!expr)
    return berr_setc(err, EINVAL, "empty schedule");
  while (isspace((unsigned char)*expr))
    expr++;
  if (!*expr)
    return berr_setc(err, EINVAL, "empty schedule");
  if (!strncmp(expr, "TZ=", 3) || !strncmp(expr, "CRON_TZ=", 8))
    return berr_setc(err, EINVAL, "\"%s\": TZ and CRON_TZ are not supported, use spec.timeZone",
                     expr);
  if (expr[0] == '@') {
    size_t n = strcspn(expr, " \t\n");
    const char *rest = expr + n;
    while (isspace((unsigned char)*rest))
      rest++;
    for (size_t i = 0; i < ARRAY_SIZE(descriptors); i++)
      if (strlen(descriptors[i].name) == n && !strncasecmp(expr, descriptors[i].name, n) && !*rest)
        return ctrl_cron_parse(descriptors[i].expr, out, err);
    return berr_setc(err, EINVAL,
                     "\"%s\": unknown descriptor (use @yearly, @annually, @monthly, @weekly, "
                     "@daily, @midnight or @hourly)",
                     expr);
  }
  cleanup_free char *copy = xstrdup(expr);
  char *f[6] = { 0 }, *save = NULL;
  size_t n = 0;
  for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
    if (n == 5)
      return berr_setc(err, EINVAL, "\"%s\": expected exactly 5 fields, found more", expr);
    f[n++] = w;
  }
  if (n != 5)
    return berr_setc(err, EINVAL, "\"%s\": expected exactly 5 fields, found %zu", expr, n);
  ctrl_cron_t c = { 0 };
  uint64_t bits[5];
  bool star[5];
  for (size_t i = 0; i < 5; i++)
    if (parse_field(&fields[i], f[i], &bits[i], &star[i], err) < 0)
      return -1;
  c.minute = bits[0];
  c.hour = (uint32_t)bits[1];
  c.dom = (uint32_t)bits[2];
  c.month = (uint32_t)bits[3];
  c.dow = (uint32_t)bits[4];
  c.dom_star = star[2];
  c.dow_star = star[4];
  *out = c;
  return 0;
}

/* ---- the next time ------------------------------------------------------------ */

typedef struct wall {
  int64_t days; /* local days since the epoch */
  int64_t sec;  /* local seconds since the epoch */
  int month, mday, wday, hour, minute;
} wall_t;

static void civil(int64_t z, int *m, int *d)
{
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
}

static int64_t floor_div(int64_t a, int64_t b)
{
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static wall_t wall_at(const ctrl_tz_t *tz, int64_t t)
{
  wall_t w;
  w.sec = t + ctrl_tz_offset(tz, t);
  w.days = floor_div(w.sec, 86400);
  int64_t sod = w.sec - w.days * 86400;
  civil(w.days, &w.month, &w.mday);
  int64_t wd = (w.days + 4) % 7;
  w.wday = (int)(wd < 0 ? wd + 7 : wd);
  w.hour = (int)(sod / 3600);
  w.minute = (int)(sod % 3600 / 60);
  return w;
}

/* From t (wall time w.sec) to the wall-clock boundary b: the real time
 * where the wall clock reads b, or the first one after it when b does not
 * exist (a DST gap). */
static int64_t jump(const ctrl_tz_t *tz, int64_t t, const wall_t *w, int64_t b)
{
  int64_t t1 = t + (b - w->sec);
  int64_t l1 = t1 + ctrl_tz_offset(tz, t1);
  if (l1 > b) { /* the offset grew on the way: b may be earlier */
    int64_t t2 = t1 - (l1 - b);
    if (t2 > t && t2 + ctrl_tz_offset(tz, t2) == b)
      return t2;
  }
  return t1;
}

/* The local days since the epoch of the first day of the month after w's:
 * 32 - mday days later is in the next month (day 1 to 4), then back to its
 * first. */
static int64_t next_month_days(const wall_t *w)
{
  int64_t n = w->days + 32 - w->mday;
  int m, d;
  civil(n, &m, &d);
  return n - (d - 1);
}

static bool day_matches(const ctrl_cron_t *c, const wall_t *w)
{
  bool dom = c->dom >> w->mday & 1, dow = c->dow >> w->wday & 1;
  if (c->dom_star || c->dow_star)
    return dom && dow;
  return dom || dow;
}

int64_t ctrl_cron_next(const ctrl_cron_t *c, const ctrl_tz_t *tz, int64_t t)
{
  int64_t limit = t + 5 * 366 * 86400LL;
  t = floor_div(t, 60) * 60 + 60;
  for (int iter = 0; iter < 100000 && t <= limit; iter++) {
    wall_t w = wall_at(tz, t);
    if (!(c->month >> w.month & 1)) {
      t = jump(tz, t, &w, next_month_days(&w) * 86400);
      continue;
    }
    if (!day_matches(c, &w)) {
      t = jump(tz, t, &w, (w.days + 1) * 86400);
      continue;
    }
    if (!(c->hour >> w.hour & 1)) {
      t = jump(tz, t, &w, w.days * 86400 + (w.hour + 1) * 3600);
      continue;
    }
    if (!(c->minute >> w.minute & 1)) {
      int m = w.minute + 1;
      while (m < 60 && !(c->minute >> m & 1))
        m++;
      t = jump(tz, t, &w, w.days * 86400 + w.hour * 3600 + m * 60);
      continue;
    }
    return t;
  }
  return -1;
}
