/* common.c — error printing shared by every verb. */
#include "cli/cli.h"

#include <stdlib.h>

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
