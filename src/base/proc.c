/* proc.c — process identity that survives pid reuse: pid plus start time. */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

/* Returns the state character and start time from /proc/PID/stat. */
static int read_stat(pid_t pid, char *state, uint64_t *start)
{
  char path[64], data[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f)
    return -1;
  size_t n = fread(data, 1, sizeof data - 1, f);
  fclose(f);
  data[n] = '\0';
  /* comm may contain spaces and parentheses: fields resume after the last ')'. */
  char *p = strrchr(data, ')');
  if (!p || p[1] != ' ')
    return -1;
  p += 2;
  *state = *p;
  /* field 3 is the state; the start time is field 22 */
  for (int field = 3; field < 22; field++) {
    p = strchr(p, ' ');
    if (!p)
      return -1;
    p++;
  }
  *start = strtoull(p, NULL, 10);
  return 0;
}

uint64_t proc_start_time(pid_t pid)
{
  char state;
  uint64_t start;
  if (pid <= 0 || read_stat(pid, &state, &start) < 0)
    return 0;
  return start;
}

bool proc_alive(pid_t pid, uint64_t start_time)
{
  char state;
  uint64_t start;
  if (pid <= 0 || read_stat(pid, &state, &start) < 0)
    return false;
  if (state == 'Z' || state == 'X')
    return false;
  return start_time == 0 || start == start_time;
}
