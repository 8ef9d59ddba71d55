/* tz.c — UTC offsets of IANA time zones for CronJob's spec.timeZone.
 *
 * localtime_r under a temporarily set TZ would change the whole process'
 * zone while the server's other threads format times, so the zone is read
 * here from its TZif file (RFC 8536): the table of transitions (the 64-bit
 * one of version 2+ files, else the 32-bit one) answers for the past, and
 * the POSIX TZ string of the footer ("CET-1CEST,M3.5.0,M10.5.0/3") for
 * times after the last transition — the only rule a "slim" file has. The
 * file is untrusted input: every count is checked against its length.
 * ctrl_cron_next (cron.c) reads a schedule's wall clock through these. */
#include "ctrl/ctrl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TZ_DIR      "/usr/share/zoneinfo"
#define TZ_FILE_MAX (1u << 20)

/* A POSIX TZ rule date: Jn (1-365, no 29 February), n (0-365) or Mm.w.d. */
typedef struct tz_rule {
  char kind; /* 'J', 'N' or 'M' */
  int m, w, d;
  int n;
  int32_t time; /* seconds after local midnight the change happens (may be < 0 or > 24 h) */
} tz_rule_t;

struct ctrl_tz {
  int64_t *trans; /* transition times, ascending */
  uint8_t *idx;   /* the type in force from each transition */
  size_t ntrans;
  int32_t *offs; /* utoff of each type */
  size_t ntypes;
  /* the footer's rule, for times after the last transition */
  bool has_rule, has_dst;
  int32_t std_off, dst_off; /* seconds east of UTC */
  tz_rule_t start, end;
};

void ctrl_tz_free(ctrl_tz_t *tz)
{
  if (!tz)
    return;
  free(tz->trans);
  free(tz->idx);
  free(tz->offs);
  free(tz);
}

/* ---- civil dates ------------------------------------------------------------ */

/* Days since 1970-01-01 of y-m-d (proleptic Gregorian; Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int64_t year_of_days(int64_t z)
{
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int m = (int)(mp < 10 ? mp + 3 : mp - 9);
  return yoe + era * 400 + (m <= 2);
}

static bool is_leap(int64_t y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
  static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* 0 = Sunday. */
static int weekday(int64_t days)
{
  int64_t w = (days + 4) % 7;
  return (int)(w < 0 ? w + 7 : w);
}

/* ---- the POSIX TZ string ---------------------------------------------------- */

static bool parse_name(const char **p)
{
  const char *s = *p;
  if (*s == '<') {
    const char *e = strchr(s, '>');
    if (!e || e - s < 4)
      return false;
    *p = e + 1;
    return true;
  }
  size_t n = 0;
  while ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z'))
    n++;
  if (n < 3)
    return false;
  *p = s + n;
  return true;
}

/* [+-]hh[:mm[:ss]], hh up to max_h; seconds. */
static bool parse_hms(const char **p, int max_h, int32_t *out)
{
  const char *s = *p;
  int sign = 1;
  if (*s == '+' || *s == '-')
    sign = *s++ == '-' ? -1 : 1;
  int32_t part[3] = { 0, 0, 0 };
  for (int i = 0; i < 3; i++) {
    if (i > 0 && *s != ':')
      break;
    if (i > 0)
      s++;
    if (*s < '0' || *s > '9')
      return false;
    int v = 0, digits = 0;
    while (*s >= '0' && *s <= '9' && digits < 3)
      v = v * 10 + (*s++ - '0'), digits++;
    if ((i == 0 && v > max_h) || (i > 0 && v > 59))
      return false;
    part[i] = v;
  }
  *out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
  *p = s;
  return true;
}

static bool parse_int(const char **p, int lo, int hi, int *out)
{
  const char *s = *p;
  int v = 0, digits = 0;
  while (*s >= '0' && *s <= '9' && digits < 4)
    v = v * 10 + (*s++ - '0'), digits++;
  if (!digits || v < lo || v > hi)
    return false;
  *out = v;
  *p = s;
  return true;
}

static bool parse_rule(const char **p, tz_rule_t *r)
{
  const char *s = *p;
  memset(r, 0, sizeof *r);
  if (*s == 'M') {
    s++;
    r->kind = 'M';
    if (!parse_int(&s, 1, 12, &r->m) || *s++ != '.' || !parse_int(&s, 1, 5, &r->w) || *s++ != '.'
        || !parse_int(&s, 0, 6, &r->d))
      return false;
  } else if (*s == 'J') {
    s++;
    r->kind = 'J';
    if (!parse_int(&s, 1, 365, &r->n))
      return false;
  } else {
    r->kind = 'N';
    if (!parse_int(&s, 0, 365, &r->n))
      return false;
  }
  r->time = 2 * 3600;
  if (*s == '/') {
    s++;
    if (!parse_hms(&s, 167, &r->time))
      return false;
  }
  *p = s;
  return true;
}

static bool parse_posix(ctrl_tz_t *tz, const char *s)
{
  int32_t off;
  if (!parse_name(&s) || !parse_hms(&s, 24, &off))
    return false;
  tz->std_off = -off; /* POSIX offsets are west of Greenwich */
  tz->has_rule = true;
  if (!*s)
    return true;
  if (!parse_name(&s))
    return false;
  tz->has_dst = true;
  tz->dst_off = tz->std_off + 3600;
  if (*s && *s != ',') {
    if (!parse_hms(&s, 24, &off))
      return false;
    tz->dst_off = -off;
  }
  if (!*s) { /* no rule: the US one, as glibc assumes */
    tz->start = (tz_rule_t){ .kind = 'M', .m = 3, .w = 2, .d = 0, .time = 7200 };
    tz->end = (tz_rule_t){ .kind = 'M', .m = 11, .w = 1, .d = 0, .time = 7200 };
    return true;
  }
  if (*s++ != ',' || !parse_rule(&s, &tz->start) || *s++ != ',' || !parse_rule(&s, &tz->end))
    return false;
  return *s == '\0';
}

/* The UTC instant in year y of rule r, which happens at local time r->time
 * under offset off. */
static int64_t rule_instant(const tz_rule_t *r, int64_t y, int32_t off)
{
  int64_t jan1 = days_from_civil(y, 1, 1), day;
  if (r->kind == 'J')
    day = jan1 + r->n - 1 + (is_leap(y) && r->n >= 60);
  else if (r->kind == 'N')
    day = jan1 + r->n;
  else {
    int64_t first = days_from_civil(y, r->m, 1);
    int dom = 1 + (r->d - weekday(first) + 7) % 7 + (r->w - 1) * 7;
    while (dom > days_in_month(y, r->m))
      dom -= 7;
    day = first + dom - 1;
  }
  return day * 86400 + r->time - off;
}

static int64_t rule_offset(const ctrl_tz_t *tz, int64_t t)
{
  if (!tz->has_dst)
    return tz->std_off;
  int64_t y = year_of_days((t + tz->std_off) / 86400 - ((t + tz->std_off) % 86400 < 0));
  int64_t start = rule_instant(&tz->start, y, tz->std_off);
  int64_t end = rule_instant(&tz->end, y, tz->dst_off);
  bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
  return dst ? tz->dst_off : tz->std_off;
}

int64_t ctrl_tz_offset(const ctrl_tz_t *tz, int64_t t)
{
  if (!tz)
    return 0;
  if (tz->ntrans == 0 || t < tz->trans[0]) {
    if (tz->ntrans == 0 && tz->has_rule)
      return rule_offset(tz, t);
    return tz->ntypes ? tz->offs[0] : 0;
  }
  if (t >= tz->trans[tz->ntrans - 1] && tz->has_rule)
    return rule_offset(tz, t);
  size_t lo = 0, hi = tz->ntrans; /* the last transition <= t */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (tz->trans[mid] <= t)
      lo = mid;
    else
      hi = mid;
  }
  return tz->offs[tz->idx[lo]];
}

/* ---- the TZif file -------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct tzif_counts {
  uint32_t isut, isstd, leap, time, type, chr;
} tzif_counts_t;

static bool read_header(const unsigned char *p, size_t len, tzif_counts_t *c, char *version)
{
  if (len < 44 || memcmp(p, "TZif", 4))
    return false;
  *version = (char)p[4];
  c->isut = be32(p + 20);
  c->isstd = be32(p + 24);
  c->leap = be32(p + 28);
  c->time = be32(p + 32);
  c->type = be32(p + 36);
  c->chr = be32(p + 40);
  /* RFC 8536 3.2; the bounds keep the size arithmetic far from overflow */
  return c->type >= 1 && c->type <= 256 && c->time <= 1000000 && c->leap <= 100000
         && c->chr <= 100000 && (c->isut == 0 || c->isut == c->type)
         && (c->isstd == 0 || c->isstd == c->type);
}

static size_t block_size(const tzif_counts_t *c, size_t tsize)
{
  return (size_t)c->time * tsize + c->time + (size_t)c->type * 6 + c->chr
         + (size_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

ctrl_tz_t *ctrl_tz_parse(const char *name, const unsigned char *data, size_t len, berr_t *err)
{
  tzif_counts_t c;
  char version;
  if (!read_header(data, len, &c, &version))
    goto bad;
  size_t tsize = 4, off = 44;
  if (version >= '2') { /* skip the 32-bit block for the 64-bit one */
    off += block_size(&c, 4);
    if (off > len || !read_header(data + off, len - off, &c, &version))
      goto bad;
    off += 44;
    tsize = 8;
  }
  size_t need = block_size(&c, tsize);
  if (need > len - off)
    goto bad;
  ctrl_tz_t *tz = xcalloc(1, sizeof *tz);
  tz->ntrans = c.time;
  tz->ntypes = c.type;
  tz->trans = xcalloc(c.time + 1, sizeof *tz->trans);
  tz->idx = xcalloc(c.time + 1, 1);
  tz->offs = xcalloc(c.type, sizeof *tz->offs);
  const unsigned char *p = data + off;
  for (size_t i = 0; i < c.time; i++, p += tsize) {
    tz->trans[i] = tsize == 8 ? be64(p) : (int32_t)be32(p);
    if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
      goto bad_free;
  }
  for (size_t i = 0; i < c.time; i++, p++) {
    if (*p >= c.type)
      goto bad_free;
    tz->idx[i] = *p;
  }
  for (size_t i = 0; i < c.type; i++, p += 6) {
    int32_t o = (int32_t)be32(p);
    if (o < -25 * 3600 || o > 26 * 3600)
      goto bad_free;
    tz->offs[i] = o;
  }
  off += need;
  if (tsize == 8 && off < len && data[off] == '\n') { /* the footer: "\nTZ\n" */
    const unsigned char *nl = memchr(data + off + 1, '\n', len - off - 1);
    if (!nl)
      goto bad_free;
    cleanup_free char *footer
        = xstrndup((const char *)data + off + 1, (size_t)(nl - (data + off + 1)));
    if (*footer && !parse_posix(tz, footer))
      goto bad_free;
  }
  return tz;
bad_free:
  ctrl_tz_free(tz);
bad:
  berr_setc(err, EINVAL, "time zone %s: not a valid TZif file", name);
  return NULL;
}

static bool name_ok(const char *name)
{
  if (strlen(name) > 255 || name[0] == '/' || strstr(name, ".."))
    return false;
  for (const char *p = name; *p; p++) {
    char ch = *p;
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
          || ch == '/' || ch == '_' || ch == '-' || ch == '+' || ch == '.'))
      return false;
  }
  return true;
}

ctrl_tz_t *ctrl_tz_load(const char *name, berr_t *err)
{
  if (!name || !*name || !strcmp(name, "UTC"))
    return xcalloc(1, sizeof(ctrl_tz_t));
  if (!strcasecmp(name, "Local") || !name_ok(name)) {
    berr_setc(err, EINVAL, "unknown time zone %s: must be an IANA name such as Europe/Berlin",
              name);
    return NULL;
  }
  cleanup_free char *path = xasprintf("%s/%s", TZ_DIR, name);
  cleanup_free char *data = NULL;
  size_t len;
  berr_t e = BERR_INIT;
  if (fs_read_file(path, TZ_FILE_MAX, &data, &len, &e) < 0) {
    berr_setc(err, e.code ? e.code : ENOENT, "unknown time zone %s", name);
    berr_clear(&e);
    return NULL;
  }
  return ctrl_tz_parse(name, (const unsigned char *)data, len, err);
}
