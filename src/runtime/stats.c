/* stats.c — rt_stats_get(): resource usage of a container, read from the
 * cgroup recorded in its state.json (cgroup.c knows the v1/v2 files). */
#include "runtime/launch.h"

#include <errno.h>
#include <string.h>

int rt_stats_get(const char *root, const char *id, rt_stats *out, berr_t *err)
{
  memset(out, 0, sizeof *out);
  cleanup_json json_t *st = st_load(root && *root ? root : RT_DEFAULT_ROOT, id, err);
  if (!st)
    return -1;
  const char *cgpath = json_str(st, "cgroupPath");
  if (!cgpath)
    return berr_setc(err, ENOENT, "container %s has no cgroup recorded", id);
  if (cg_stats(cgpath, out, err) < 0)
    return berr_wrap(err, "stats of %s", id);
  return 0;
}
