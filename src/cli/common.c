/* common.c — error printing shared by every verb. */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

int cli_fail(berr_t *err)
{
  berr_print(err);
  return 125;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("berth: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  if (cmd)
    fprintf(stderr, "\nSee 'berth %s --help'.\n", cmd);
  else
    fputs("\nSee 'berth --help'.\n", stderr);
  return 2;
}

int cli_bad_option(const char *cmd, int c, char **argv, const struct option *opts)
{
  /* A long option always ends its argv element, so it is argv[optind-1];
   * a short one may sit inside a cluster such as -dZ: optopt names it. */
  const char *arg = optind > 0 ? argv[optind - 1] : "";
  int len = (int)strcspn(arg, "=");
  if (str_has_prefix(arg, "--")) {
    const struct option *o = opts; /* getopt takes unique abbreviations too */
    while (o->name && strncmp(o->name, arg + 2, (size_t)len - 2))
      o++;
    if (!o->name || optopt == 0)
      return cli_usage_error(cmd, "unknown option %.*s", len, arg);
    if (optopt == o->val)
      return cli_usage_error(
          cmd, c == ':' ? "option %.*s needs a value" : "option %.*s takes no value", len, arg);
  }
  if (c == ':')
    return cli_usage_error(cmd, "option -%c needs a value", optopt);
  return cli_usage_error(cmd, "unknown option -%c", optopt);
}

int cli_parse_duration(const char *cmd, const char *flag, const char *s, int64_t *out)
{
  static const struct {
    const char *unit;
    int64_t ns;
  } units[] = { { "ns", 1 },
                { "us", 1000 },
                { "ms", 1000000 },
                { "s", 1000000000LL },
                { "m", 60 * 1000000000LL },
                { "h", 3600 * 1000000000LL } };
  const char *p = s;
  int64_t total = 0;
  if (!strcmp(s, "0")) {
    *out = 0;
    return 0;
  }
  if (!*p)
    goto bad;
  while (*p) {
    if (*p < '0' || *p > '9')
      goto bad;
    int64_t n = 0;
    while (*p >= '0' && *p <= '9') {
      if (n > (INT64_MAX - 9) / 10)
        goto bad;
      n = n * 10 + (*p++ - '0');
    }
    size_t ul = 0;
    int64_t mul = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
      size_t l = strlen(units[i].unit);
      /* Longest match first: "ms" before "m", "ns"/"us" before "s". */
      if (l > ul && !strncmp(p, units[i].unit, l)) {
        ul = l;
        mul = units[i].ns;
      }
    }
    if (!mul || n > (INT64_MAX - total) / mul)
      goto bad;
    total += n * mul;
    p += ul;
  }
  *out = total;
  return 0;
bad:
  cli_usage_error(cmd, "invalid %s \"%s\": want a duration such as 500ms, 2s or 5m", flag, s);
  return -1;
}
