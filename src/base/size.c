/* size.c — sizes as people type them ("64m", "1.5g", "64Mi") and integers. */
#include "base/base.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int parse_size(const char *s, int64_t *bytes, berr_t *err)
{
  if (!s || !*s)
    return berr_set(err, EINVAL,
                    "invalid size \"\": expected a number with an optional unit "
                    "(b, k, m, g)");
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || v < 0 || !isfinite(v) || isspace((unsigned char)*s))
    goto bad;
  double mult = 1;
  const char *u = end;
  switch (tolower((unsigned char)*u)) {
  case '\0':
    break;
  case 'b':
    u++;
    break;
  case 'k':
    mult = 1024.0, u++;
    break;
  case 'm':
    mult = 1024.0 * 1024, u++;
    break;
  case 'g':
    mult = 1024.0 * 1024 * 1024, u++;
    break;
  case 't':
    mult = 1024.0 * 1024 * 1024 * 1024, u++;
    break;
  default:
    goto bad;
  }
  if (mult > 1 && (*u == 'i' || *u == 'b' || *u == 'B'))
    u++;
  if (*u)
    goto bad;
  double r = v * mult;
  if (r >= 9.2e18)
    goto bad;
  *bytes = (int64_t)r;
  return 0;
bad:
  return berr_set(err, EINVAL,
                  "invalid size \"%s\": expected a number with an optional unit "
                  "(b, k, m, g), e.g. 64m",
                  s);
}

char *format_size(int64_t bytes)
{
  static const char *units[] = { "B", "kB", "MB", "GB", "TB" };
  double v = (double)bytes;
  size_t i = 0;
  while (v >= 1000 && i + 1 < ARRAY_SIZE(units))
    v /= 1000, i++;
  if (i == 0)
    return xasprintf("%lldB", (long long)bytes);
  return xasprintf(v < 10 ? "%.2f%s" : "%.1f%s", v, units[i]);
}

int parse_int64(const char *s, int64_t *out, berr_t *err)
{
  if (!s || !*s)
    return berr_set(err, EINVAL, "invalid number \"\"");
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || isspace((unsigned char)*s))
    return berr_set(err, EINVAL, "invalid number \"%s\"", s);
  *out = v;
  return 0;
}
