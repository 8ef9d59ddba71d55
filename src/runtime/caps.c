/* caps.c — process.capabilities: the five capability sets of the container
 * process, through libcap.
 *
 * Order matters and is split in two calls: the bounding set can only be
 * reduced while the process still has CAP_SETPCAP (so before it becomes the
 * container's user), the other sets are set after the user switch (done with
 * PR_SET_KEEPCAPS so that the permitted set survives it). The names were
 * turned into bit masks by spec.c; nothing here allocates from outside data. */
#include "runtime/launch.h"

#include <errno.h>
#include <sys/capability.h>
#include <sys/prctl.h>

int caps_drop_bounding(const rt_caps *c, berr_t *err)
{
  if (!c->set)
    return 0;
  int last = cap_max_bits();
  for (int cap = 0; cap < last && cap < 64; cap++) {
    if (c->bounding & (UINT64_C(1) << cap))
      continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      return berr_set(err, errno, "drop %s from the bounding set", cap_to_name(cap));
  }
  return 0;
}

int caps_apply(const rt_caps *c, berr_t *err)
{
  if (!c->set)
    return 0;
  cap_t t = cap_init();
  if (!t)
    return berr_set(err, errno, "capabilities");
  int last = cap_max_bits();
  static const cap_flag_t flags[] = { CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE };
  const uint64_t masks[] = { c->effective, c->permitted, c->inheritable };
  for (int cap = 0; cap < last && cap < 64; cap++) {
    cap_value_t v = cap;
    for (size_t f = 0; f < ARRAY_SIZE(flags); f++)
      if (masks[f] & (UINT64_C(1) << cap))
        cap_set_flag(t, flags[f], 1, &v, CAP_SET);
  }
  int r = cap_set_proc(t);
  int e = errno;
  cap_free(t);
  if (r < 0)
    return berr_set(err, e, "set capabilities");
  for (int cap = 0; cap < last && cap < 64; cap++) {
    if (!(c->ambient & (UINT64_C(1) << cap)))
      continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      return berr_set(err, errno, "raise ambient capability %s", cap_to_name(cap));
  }
  return 0;
}
