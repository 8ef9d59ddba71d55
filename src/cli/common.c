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
