/* ctrl_fixtures.h — small helpers the controller tests share on top of
 * ctrl_harness.h: JSON literals, times, events and objects by owner. */
#ifndef BERTH_TEST_CTRL_FIXTURES_H
#define BERTH_TEST_CTRL_FIXTURES_H

#include "ctrl_harness.h"

#define S_NS 1000000000LL

/* A JSON literal (single quotes stand for double quotes, to keep the tests
 * readable). */
static inline json_t *J(const char *text)
{
  char *s = xstrdup(text);
  for (char *p = s; *p; p++)
    if (*p == '\'')
      *p = '"';
  json_error_t e;
  json_t *v = json_loads(s, 0, &e);
  cr_assert(v, "bad JSON in test: %s: %s", e.text, s);
  free(s);
  return v;
}

/* How many applied events have reason. */
static inline size_t ctrl_f_events(ctrl_h *h, const char *reason)
{
  size_t n = 0, i;
  json_t *e;
  json_array_foreach(h->events, i, e)
  {
    n += !strcmp(json_str(e, "reason"), reason);
  }
  return n;
}

/* How many pending event actions have reason. */
static inline size_t ctrl_f_pending_events(ctrl_h *h, const char *reason)
{
  size_t n = 0;
  for (size_t i = 0; i < h->out.n; i++)
    n += h->out.v[i].op == CTRL_EVENT && !strcmp(h->out.v[i].reason, reason);
  return n;
}

/* The objects of resource owned by the object at resource/ns/name (a new array). */
static inline json_t *ctrl_f_owned(ctrl_h *h, const char *owned, const char *resource,
                                   const char *ns, const char *name)
{
  json_t *o = ctrl_cache_get(h->cache, resource, ns, name);
  cr_assert(o, "%s %s/%s not in the cache", resource, ns, name);
  return ctrl_cache_owned(h->cache, owned, json_str(json_object_get(o, "metadata"), "uid"));
}

/* obj's status (borrowed). */
static inline json_t *ctrl_f_status(ctrl_h *h, const char *resource, const char *ns,
                                    const char *name)
{
  return json_object_get(ctrl_cache_get(h->cache, resource, ns, name), "status");
}

/* A metav1.Time string of ns (static buffer: one per call site use). */
static inline const char *ctrl_f_time(int64_t ns)
{
  static char buf[4][40];
  static int k;
  char *s = time_rfc3339_sec(ns);
  char *out = buf[k++ % 4];
  snprintf(out, 40, "%s", s);
  free(s);
  return out;
}

#endif
