/* cron.c — when a CronJob schedule fires: the next time in a time zone's
 * wall clock. Schedules are parsed by api_cron_parse (src/api/cron.c, the
 * parser the server validates spec.schedule with); time zones are read by
 * tz.c.
 *
 * A schedule is five bit sets. The next time is found by walking real time
 * forward and reading the wall clock at each step: a field that does not
 * match jumps to the next wall-clock month, day, hour or minute boundary.
 * Walking real time is what makes DST behave as in Kubernetes: a wall time
 * that the spring change skips is never seen, one the autumn change repeats
 * is seen twice. @every is robfig/cron's constant delay: the time plus the
 * interval, whatever the zone. */
#include "ctrl/ctrl.h"

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

/* As robfig/cron: when either day field was "*", both must match, else
 * either may ("0 0 13 * fri" is every 13th and every Friday). */
static bool day_matches(const api_cron_t *c, const wall_t *w)
{
  bool dom = c->dom >> w->mday & 1, dow = c->dow >> w->wday & 1;
  if ((c->dom & API_CRON_STAR) || (c->dow & API_CRON_STAR))
    return dom && dow;
  return dom || dow;
}

int64_t ctrl_cron_next(const api_cron_t *c, const ctrl_tz_t *tz, int64_t t)
{
  if (c->every_s > 0)
    return t <= INT64_MAX - c->every_s ? t + c->every_s : -1;
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
