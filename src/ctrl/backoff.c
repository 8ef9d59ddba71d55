/* backoff.c — an exponential back-off per key, remembered between syncs:
 * the one piece of controller state that is not in the cache. It is what
 * Kubernetes' flowcontrol.Backoff is to its DaemonSet controller
 * (failedPodsBackoff): a daemon pod that keeps failing on a node is
 * replaced later and later instead of in a hot loop.
 *
 * A key's entry holds its delay and the time of its last retry. A retry
 * (ctrl_backoff_next) when the key has no entry, or when its last retry is
 * more than 2 × max ago (it ran fine that long), starts over with the
 * initial delay; otherwise the delay doubles, up to max. A retry must wait
 * until the last one + the delay (ctrl_backoff_wait_until). So failures in
 * a tight loop are retried after 0, 1, 2, 4 … × initial.
 *
 * The table is in memory only: a restarted server starts without back-off,
 * as Kubernetes' controller manager does. It holds only what failed
 * lately: entries idle for 2 × max go (ctrl_backoff_gc), and callers
 * forget the keys of objects that are gone (ctrl_backoff_forget). */
#include "ctrl/ctrl.h"

#include <stdlib.h>
#include <string.h>

#define GC_INTERVAL_NS (60 * 1000000000LL) /* Kubernetes' BackoffGCInterval */

struct ctrl_backoff {
  int64_t initial, max;
  json_t *entries; /* key → [delay ns, last retry ns since the epoch] */
  int64_t next_gc; /* no GC before this */
};

ctrl_backoff_t *ctrl_backoff_new(int64_t initial_ns, int64_t max_ns)
{
  ctrl_backoff_t *b = xcalloc(1, sizeof *b);
  b->initial = initial_ns > 0 ? initial_ns : 1;
  b->max = max_ns > b->initial ? max_ns : b->initial;
  b->entries = json_object();
  return b;
}

void ctrl_backoff_free(ctrl_backoff_t *b)
{
  if (!b)
    return;
  json_decref(b->entries);
  free(b);
}

static int64_t field(json_t *entry, size_t i)
{
  return json_integer_value(json_array_get(entry, i));
}

/* Whether an entry last retried at last has been quiet long enough at now
 * to start over. */
static bool expired(const ctrl_backoff_t *b, int64_t last, int64_t now)
{
  return now - last > 2 * b->max;
}

void ctrl_backoff_next(ctrl_backoff_t *b, const char *key, int64_t now)
{
  json_t *e = json_object_get(b->entries, key);
  int64_t delay = b->initial;
  if (e && !expired(b, field(e, 1), now)) {
    int64_t d = field(e, 0);
    delay = d > b->max / 2 ? b->max : d * 2;
  }
  json_object_set_new(b->entries, key, json_pack("[I,I]", (json_int_t)delay, (json_int_t)now));
}

int64_t ctrl_backoff_wait_until(ctrl_backoff_t *b, const char *key, int64_t now)
{
  json_t *e = json_object_get(b->entries, key);
  if (!e || expired(b, field(e, 1), now))
    return 0;
  int64_t at = field(e, 1) + field(e, 0);
  return at > now ? at : 0;
}

void ctrl_backoff_forget(ctrl_backoff_t *b, const char *prefix,
                         bool (*keep)(const char *rest, void *arg), void *arg)
{
  size_t n = strlen(prefix);
  const char *key;
  json_t *e;
  void *tmp;
  json_object_foreach_safe(b->entries, tmp, key, e)
  {
    if (!strncmp(key, prefix, n) && (!keep || !keep(key + n, arg)))
      json_object_del(b->entries, key);
  }
}

void ctrl_backoff_gc(ctrl_backoff_t *b, int64_t now)
{
  if (now < b->next_gc)
    return;
  b->next_gc = now + GC_INTERVAL_NS;
  const char *key;
  json_t *e;
  void *tmp;
  json_object_foreach_safe(b->entries, tmp, key, e)
  {
    if (expired(b, field(e, 1), now))
      json_object_del(b->entries, key);
  }
}

size_t ctrl_backoff_count(ctrl_backoff_t *b)
{
  return json_object_size(b->entries);
}
