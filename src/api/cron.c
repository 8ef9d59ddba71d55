/* cron.c — CronJob schedules: the standard five-field cron format and the
 * @descriptors, parsed as Kubernetes parses them (github.com/robfig/cron/v3's
 * ParseStandard), with its error messages, so that `spec.schedule: Invalid
 * value: "…": expected exactly 5 fields, found 1: [bad]` reads the same as
 * from a real API server.
 *
 * A field is a comma-separated list of ranges: "*" or "?", N, N-M, with an
 * optional "/STEP" ("N/STEP" means N to the field's maximum); months and
 * weekdays also take names (jan, MON…). Each field becomes a bit set. As in
 * robfig/cron, when either day field is "*" a day must match both fields,
 * otherwise either (classic cron's rule for "1 * * * mon" vs "1 0 1 * mon").
 * This is the one parser of schedules: the server validates spec.schedule
 * with it and the CronJob controller runs what it returns. When a schedule
 * fires (in a time zone's wall clock, across DST) is the controller's:
 * ctrl_cron_next in src/ctrl/cron.c, with the zones of src/ctrl/tz.c.
 */
#include "api/internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct bounds {
  unsigned min, max;
  const char *const *names; /* names[i] is value min+i; NULL: no names */
} bounds_t;

static const char *const month_names[]
    = { "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const dow_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

static const bounds_t b_minute = { 0, 59, NULL }, b_hour = { 0, 23, NULL }, b_dom = { 1, 31, NULL },
                      b_month = { 1, 12, month_names }, b_dow = { 0, 6, dow_names };

/* Go's strconv.Atoi (64-bit int), with robfig's wording around it. */
static int must_parse_int(const char *s, uint64_t *out, berr_t *err)
{
  const char *p = s;
  bool neg = false;
  if (*p == '+' || *p == '-')
    neg = *p++ == '-';
  if (!*p)
    return berr_setc(err, EINVAL,
                     "failed to parse int from %s: strconv.Atoi: parsing \"%s\": invalid syntax", s,
                     s);
  long long v = 0;
  bool range = false;
  for (; *p; p++) {
    if (!isdigit((unsigned char)*p))
      return berr_setc(err, EINVAL,
                       "failed to parse int from %s: strconv.Atoi: parsing \"%s\": invalid syntax",
                       s, s);
    if (range || v > (LLONG_MAX - (*p - '0')) / 10)
      range = true;
    else
      v = v * 10 + (*p - '0');
  }
  if (range)
    return berr_setc(
        err, EINVAL,
        "failed to parse int from %s: strconv.Atoi: parsing \"%s\": value out of range", s, s);
  if (neg && v > 0)
    return berr_setc(err, EINVAL, "negative number (-%lld) not allowed: %s", v, s);
  *out = (uint64_t)v;
  return 0;
}

static int parse_int_or_name(const char *s, const bounds_t *b, uint64_t *out, berr_t *err)
{
  for (size_t i = 0; b->names && b->names[i]; i++)
    if (!strcasecmp(s, b->names[i])) {
      *out = b->min + (unsigned)i;
      return 0;
    }
  return must_parse_int(s, out, err);
}

/* One range of a field ("1-5/2", "*", "mon"): its bits. */
static int get_range(const char *expr, const bounds_t *b, uint64_t *bits, berr_t *err)
{
  cleanup_free char *e = xstrdup(expr);
  char *slash = strchr(e, '/');
  const char *step_s = NULL;
  if (slash) {
    *slash = '\0';
    step_s = slash + 1;
    if (strchr(step_s, '/'))
      return berr_setc(err, EINVAL, "too many slashes: %s", expr);
  }
  char *dash = strchr(e, '-');
  bool single = !dash;
  uint64_t start, end, step = 1;
  uint64_t extra = 0;
  if (!strcmp(e, "*") || !strcmp(e, "?")) {
    start = b->min;
    end = b->max;
    extra = API_CRON_STAR;
  } else {
    if (dash) {
      *dash = '\0';
      if (strchr(dash + 1, '-'))
        return berr_setc(err, EINVAL, "too many hyphens: %s", expr);
    }
    if (parse_int_or_name(e, b, &start, err) < 0)
      return -1;
    end = start;
    if (dash && parse_int_or_name(dash + 1, b, &end, err) < 0)
      return -1;
  }
  if (step_s) {
    if (must_parse_int(step_s, &step, err) < 0)
      return -1;
    if (single) /* "N/step" is "N-max/step" */
      end = b->max;
    if (step > 1)
      extra = 0;
  }
  if (start < b->min)
    return berr_setc(err, EINVAL, "beginning of range (%llu) below minimum (%u): %s",
                     (unsigned long long)start, b->min, expr);
  if (end > b->max)
    return berr_setc(err, EINVAL, "end of range (%llu) above maximum (%u): %s",
                     (unsigned long long)end, b->max, expr);
  if (start > end)
    return berr_setc(err, EINVAL, "beginning of range (%llu) beyond end of range (%llu): %s",
                     (unsigned long long)start, (unsigned long long)end, expr);
  if (step == 0)
    return berr_setc(err, EINVAL, "step of range should be a positive number: %s", expr);
  uint64_t out = 0;
  /* start <= end <= 59 and step < 2^63: i never wraps */
  for (uint64_t i = start; i <= end; i += step)
    out |= 1ULL << i;
  *bits = out | extra;
  return 0;
}

static int get_field(const char *field, const bounds_t *b, uint64_t *bits, berr_t *err)
{
  cleanup_free char *f = xstrdup(field);
  *bits = 0;
  char *save = NULL;
  for (char *r = strtok_r(f, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
    uint64_t one = 0;
    if (get_range(r, b, &one, err) < 0)
      return -1;
    *bits |= one;
  }
  return 0;
}

/* Go's time.ParseDuration, to whole seconds (robfig's Every truncates to
 * the second and makes anything below a second, zero or negative, one). */
static int parse_duration(const char *s, int64_t *secs, berr_t *err)
{
  static const struct {
    const char *unit;
    double ns;
  } units[] = { { "ns", 1 },   { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "\xce\xbcs", 1e3 },
                { "ms", 1e6 }, { "s", 1e9 },  { "m", 60e9 },        { "h", 3600e9 } };
  const char *p = s;
  bool neg = false;
  if (*p == '+' || *p == '-')
    neg = *p++ == '-';
  if (!strcmp(p, "0")) {
    *secs = 1;
    return 0;
  }
  if (!*p)
    return berr_setc(err, EINVAL, "time: invalid duration \"%s\"", s);
  double total = 0;
  while (*p) {
    const char *num = p;
    while (isdigit((unsigned char)*p))
      p++;
    bool digits = p > num;
    if (*p == '.') {
      p++;
      const char *frac = p;
      while (isdigit((unsigned char)*p))
        p++;
      digits = digits || p > frac;
    }
    if (!digits)
      return berr_setc(err, EINVAL, "time: invalid duration \"%s\"", s);
    double v = strtod(num, NULL);
    const char *u = p;
    while (*p && *p != '.' && !isdigit((unsigned char)*p))
      p++;
    if (p == u)
      return berr_setc(err, EINVAL, "time: missing unit in duration \"%s\"", s);
    bool found = false;
    for (size_t i = 0; i < ARRAY_SIZE(units) && !found; i++)
      if (strlen(units[i].unit) == (size_t)(p - u) && !memcmp(u, units[i].unit, (size_t)(p - u))) {
        total += v * units[i].ns;
        found = true;
      }
    if (!found)
      return berr_setc(err, EINVAL, "time: unknown unit \"%.*s\" in duration \"%s\"", (int)(p - u),
                       u, s);
    if (total > 9.2e18)
      return berr_setc(err, EINVAL, "time: invalid duration \"%s\"", s);
  }
  int64_t ns = (int64_t)total;
  if (neg)
    ns = -ns;
  *secs = ns < 1000000000 ? 1 : ns / 1000000000;
  return 0;
}

/* Every value of the field, as "*" gives it. */
static void all_bits(const bounds_t *b, uint64_t *bits)
{
  for (unsigned i = b->min; i <= b->max; i++)
    *bits |= 1ULL << i;
  *bits |= API_CRON_STAR;
}

static int parse_descriptor(const char *d, api_cron_t *c, berr_t *err)
{
  memset(c, 0, sizeof *c);
  if (str_has_prefix(d, "@every ")) {
    if (parse_duration(d + strlen("@every "), &c->every_s, err) < 0)
      return berr_wrap(err, "failed to parse duration %s", d);
    return 0;
  }
  c->minute = 1ULL << 0;
  c->hour = 1ULL << 0;
  c->dom = 1ULL << 1;
  c->month = 1ULL << 1;
  c->dow = 0;
  if (!strcmp(d, "@yearly") || !strcmp(d, "@annually")) {
    all_bits(&b_dow, &c->dow);
  } else if (!strcmp(d, "@monthly")) {
    all_bits(&b_month, &c->month);
    all_bits(&b_dow, &c->dow);
  } else if (!strcmp(d, "@weekly")) {
    all_bits(&b_dom, &c->dom);
    all_bits(&b_month, &c->month);
    c->dow = 1ULL << 0;
  } else if (!strcmp(d, "@daily") || !strcmp(d, "@midnight")) {
    all_bits(&b_dom, &c->dom);
    all_bits(&b_month, &c->month);
    all_bits(&b_dow, &c->dow);
  } else if (!strcmp(d, "@hourly")) {
    all_bits(&b_hour, &c->hour);
    all_bits(&b_dom, &c->dom);
    all_bits(&b_month, &c->month);
    all_bits(&b_dow, &c->dow);
  } else {
    return berr_setc(err, EINVAL, "unrecognized descriptor: %s", d);
  }
  return 0;
}

int api_cron_parse(const char *spec, api_cron_t *out, berr_t *err)
{
  memset(out, 0, sizeof *out);
  if (!spec || !*spec)
    return berr_setc(err, EINVAL, "empty spec string");
  const char *s = spec;
  if (str_has_prefix(s, "TZ=") || str_has_prefix(s, "CRON_TZ=")) {
    /* The zone is the caller's to check (Kubernetes refuses it anyway). */
    const char *sp = strchr(s, ' ');
    if (!sp)
      return berr_setc(err, EINVAL, "provided bad location %s: unknown time zone %s",
                       strchr(s, '=') + 1, strchr(s, '=') + 1);
    s = sp;
    while (*s == ' ' || *s == '\t')
      s++;
  }
  if (*s == '@')
    return parse_descriptor(s, out, err);
  cleanup_free char *copy = xstrdup(s);
  char *fields[6];
  size_t n = 0;
  buf_t list = { 0 };
  buf_puts(&list, "[");
  char *save = NULL;
  for (char *f = strtok_r(copy, " \t\n\r\v\f", &save); f;
       f = strtok_r(NULL, " \t\n\r\v\f", &save)) {
    if (n < ARRAY_SIZE(fields))
      fields[n] = f;
    buf_printf(&list, "%s%s", n ? " " : "", f);
    n++;
  }
  buf_puts(&list, "]");
  if (n != 5) {
    berr_setc(err, EINVAL, "expected exactly 5 fields, found %zu: %s", n, list.data);
    buf_free(&list);
    return -1;
  }
  buf_free(&list);
  if (get_field(fields[0], &b_minute, &out->minute, err) < 0
      || get_field(fields[1], &b_hour, &out->hour, err) < 0
      || get_field(fields[2], &b_dom, &out->dom, err) < 0
      || get_field(fields[3], &b_month, &out->month, err) < 0
      || get_field(fields[4], &b_dow, &out->dow, err) < 0)
    return -1;
  return 0;
}
