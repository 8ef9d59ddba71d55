/* ctrl_harness.h — drives the controllers of src/ctrl/ in unit tests: a
 * cache, a clock, and an "API" that applies a sync's actions to the cache the
 * way the server would (names from generateName, uid, resourceVersion,
 * creationTimestamp, metadata.generation for spec changes; deletes remove
 * the object at once). End-to-end tests run the real server; this checks
 * the controllers' decisions one sync at a time.
 *
 *   ctrl_h h; ctrl_h_init(&h);
 *   ctrl_h_put(&h, "replicasets", J("{…}"));   // as if created by a user
 *   ctrl_h_sync(&h, "replicaset", "default", "web");
 *   cr_assert_eq(ctrl_h_count(&h, CTRL_CREATE, "pods"), 3);
 *   ctrl_h_apply(&h);                           // the creates happen
 *   ctrl_h_free(&h);
 */
#ifndef BERTH_TEST_CTRL_HARNESS_H
#define BERTH_TEST_CTRL_HARNESS_H

#include "ctrl/ctrl.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

typedef struct ctrl_h {
  ctrl_cache_t *cache;
  ctrl_config_t cfg;
  int64_t now;        /* the clock the syncs see; tests move it */
  int64_t rv;         /* the last resourceVersion given */
  int64_t seq;        /* for generated names and uids */
  ctrl_actions_t out; /* the last sync's actions, until applied */
  int64_t requeue_ns; /* the last sync's requeue_after_ns */
  json_t *events;     /* every event applied: [{"reason","message","type","name"}] */
  /* the DaemonSet back-off, kept from sync to sync as the manager keeps it */
  ctrl_backoff_t *ds_backoff;
} ctrl_h;

static inline void ctrl_h_init(ctrl_h *h)
{
  memset(h, 0, sizeof *h);
  h->cache = ctrl_cache_new();
  h->cfg = (ctrl_config_t)CTRL_CONFIG_DEFAULT;
  h->now = 1767225600LL * 1000000000LL; /* 2026-01-01T00:00:00Z */
  h->events = json_array();
  h->ds_backoff = ctrl_backoff_new(CTRL_DS_BACKOFF_INITIAL_NS, CTRL_DS_BACKOFF_MAX_NS);
}

static inline void ctrl_h_free(ctrl_h *h)
{
  ctrl_actions_clear(&h->out);
  ctrl_cache_free(h->cache);
  json_decref(h->events);
  ctrl_backoff_free(h->ds_backoff);
}

/* Stores obj (stolen) as the server would on create or update: uid, name
 * from generateName, resourceVersion, creationTimestamp, generation. */
static inline json_t *ctrl_h_put(ctrl_h *h, const char *resource, json_t *obj)
{
  json_t *md = json_object_get(obj, "metadata");
  if (!md) {
    md = json_object();
    json_object_set_new(obj, "metadata", md);
  }
  char buf[64];
  if (!json_str(md, "name")) {
    snprintf(buf, sizeof buf, "%s%05lld", json_str(md, "generateName") ?: "obj-",
             (long long)++h->seq);
    json_object_set_new(md, "name", json_string(buf));
  }
  const char *ns = json_str(md, "namespace") ?: "";
  json_t *old = ctrl_cache_get(h->cache, resource, ns, json_str(md, "name"));
  if (!json_str(md, "uid")) {
    json_t *ouid = json_object_get(json_object_get(old, "metadata"), "uid");
    if (ouid) {
      json_object_set(md, "uid", ouid);
    } else {
      snprintf(buf, sizeof buf, "uid-%lld", (long long)++h->seq);
      json_object_set_new(md, "uid", json_string(buf));
    }
  }
  if (!json_str(md, "creationTimestamp")) {
    char *ts = time_rfc3339_sec(h->now);
    json_object_set_new(md, "creationTimestamp", json_string(ts));
    free(ts);
  }
  json_t *oldmd = json_object_get(old, "metadata");
  int64_t gen = json_integer_value(json_object_get(oldmd, "generation"));
  if (!old || !json_equal(json_object_get(old, "spec"), json_object_get(obj, "spec")))
    gen++;
  if (!gen)
    gen = 1;
  json_object_set_new(md, "generation", json_integer(gen));
  snprintf(buf, sizeof buf, "%lld", (long long)++h->rv);
  json_object_set_new(md, "resourceVersion", json_string(buf));
  /* obj may be refused (a hostile one without a string name): keep what
   * the lookup needs before letting go of it. */
  char *name = json_str(md, "name") ? xstrdup(json_str(md, "name")) : NULL;
  char *nsc = xstrdup(ns);
  json_decref(ctrl_cache_put(h->cache, resource, obj));
  json_decref(obj);
  json_t *stored = ctrl_cache_get(h->cache, resource, nsc, name);
  free(name);
  free(nsc);
  return stored;
}

static inline size_t ctrl_h_def(const char *controller)
{
  for (size_t i = 0; i < ctrl_ndefs; i++)
    if (ctrl_defs[i].name && !strcmp(ctrl_defs[i].name, controller))
      return i;
  cr_assert_fail("no controller named %s", controller);
  return 0;
}

/* One sync of controller (ctrl_defs[].name) for ns/name; its actions stay in
 * h->out until ctrl_h_apply (or the next sync, which drops them). */
static inline void ctrl_h_sync(ctrl_h *h, const char *controller, const char *ns, const char *name)
{
  ctrl_actions_clear(&h->out);
  ctrl_cache_trim(h->cache, 0); /* every pod the sync reads is unpacked */
  ctrl_ctx_t x = {
    .cache = h->cache, .cfg = &h->cfg, .now = h->now, .out = &h->out, .ds_backoff = h->ds_backoff
  };
  ctrl_defs[ctrl_h_def(controller)].sync(&x, ns, name);
  h->requeue_ns = x.requeue_after_ns;
}

/* How many of the pending actions are op on resource (NULL: any). */
static inline size_t ctrl_h_count(ctrl_h *h, ctrl_op_t op, const char *resource)
{
  size_t n = 0;
  for (size_t i = 0; i < h->out.n; i++)
    if (h->out.v[i].op == op && (!resource || !strcmp(h->out.v[i].resource, resource)))
      n++;
  return n;
}

/* The i-th pending action that is op on resource, or NULL. */
static inline ctrl_action_t *ctrl_h_action(ctrl_h *h, ctrl_op_t op, const char *resource, size_t i)
{
  for (size_t k = 0; k < h->out.n; k++)
    if (h->out.v[k].op == op && (!resource || !strcmp(h->out.v[k].resource, resource)) && i-- == 0)
      return &h->out.v[k];
  return NULL;
}

/* Applies the pending actions to the cache as the server would. */
static inline void ctrl_h_apply(ctrl_h *h)
{
  for (size_t i = 0; i < h->out.n; i++) {
    ctrl_action_t *a = &h->out.v[i];
    switch (a->op) {
    case CTRL_CREATE:
    case CTRL_UPDATE:
    case CTRL_UPDATE_STATUS:
      ctrl_h_put(h, a->resource, json_deep_copy(a->obj));
      break;
    case CTRL_DELETE:
      json_decref(ctrl_cache_remove(h->cache, a->resource, a->ns, a->name));
      break;
    case CTRL_EVENT:
      json_array_append_new(h->events,
                            json_pack("{s:s,s:s,s:s,s:s}", "type", a->type, "reason", a->reason,
                                      "message", a->message, "name",
                                      json_str(json_object_get(a->obj, "metadata"), "name") ?: ""));
      break;
    }
  }
  ctrl_actions_clear(&h->out);
}

/* Sets a pod's phase and Ready condition (what an agent reports). */
static inline void ctrl_h_pod_status(ctrl_h *h, json_t *pod, const char *phase, bool ready)
{
  json_t *p = json_deep_copy(pod);
  json_t *st = json_pack("{s:s}", "phase", phase);
  ctrl_set_condition(st, "Ready", ready ? "True" : "False", NULL, NULL, h->now);
  json_object_set_new(p, "status", st);
  ctrl_h_put(h, "pods", p);
}

#endif
