/* time.c — clocks and the RFC 3339 timestamps used in state files and logs. */
#include "base/base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t time_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t time_mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

char *time_rfc3339(int64_t ns)
{
  time_t s = (time_t)(ns / 1000000000);
  struct tm tm;
  gmtime_r(&s, &tm);
  return xasprintf("%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(ns % 1000000000));
}

char *time_rfc3339_sec(int64_t ns)
{
  time_t s = (time_t)(ns / 1000000000);
  struct tm tm;
  gmtime_r(&s, &tm);
  return xasprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                   tm.tm_hour, tm.tm_min, tm.tm_sec);
}

char *time_rfc3339_micro(int64_t ns)
{
  time_t s = (time_t)(ns / 1000000000);
  struct tm tm;
  gmtime_r(&s, &tm);
  return xasprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(ns % 1000000000 / 1000));
}

int time_parse_rfc3339(const char *s, int64_t *ns)
{
  struct tm tm = { 0 };
  const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!p)
    return -1;
  int64_t frac = 0;
  if (*p == '.') {
    int digits = 0;
    for (p++; *p >= '0' && *p <= '9'; p++, digits++)
      if (digits < 9)
        frac = frac * 10 + (*p - '0');
    for (; digits < 9; digits++)
      frac *= 10;
  }
  int64_t off = 0;
  if (*p == '+' || *p == '-') {
    int hh = 0, mm = 0;
    if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
      return -1;
    off = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
  } else if (*p != 'Z') {
    return -1;
  }
  *ns = ((int64_t)timegm(&tm) - off) * 1000000000 + frac;
  return 0;
}

char *time_ago(int64_t ns)
{
  int64_t d = (time_now_ns() - ns) / 1000000000;
  if (d < 0)
    d = 0;
  if (d < 60)
    return xasprintf("%lld seconds ago", (long long)d);
  if (d < 3600)
    return xasprintf("%lld minutes ago", (long long)(d / 60));
  if (d < 86400)
    return xasprintf("%lld hours ago", (long long)(d / 3600));
  return xasprintf("%lld days ago", (long long)(d / 86400));
}
