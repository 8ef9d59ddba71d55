/* log.c — one line per event, key=value style, on stderr. The level is the
 * only process-wide setting here and is set once at start-up. */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum log_level log_level = LOG_WARN;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level lvl)
{
  log_level = lvl;
}

int log_parse_level(const char *s, enum log_level *out)
{
  for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
    if (!strcmp(s, level_names[i])) {
      *out = (enum log_level)i;
      return 0;
    }
  return -1;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
  if (lvl > log_level)
    return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  char *ts = time_rfc3339(time_now_ns());
  /* One write so that lines from concurrent processes do not interleave. */
  char *line = xasprintf("time=%s level=%s pid=%d %s\n", ts, level_names[lvl], (int)getpid(),
                         msg ? msg : "");
  (void)!write(2, line, strlen(line));
  free(line);
  free(ts);
  free(msg);
}
