/* scale.c — the scale subresource of Deployments and ReplicaSets
 * (…/deployments/NAME/scale), what `kubectl scale` and autoscalers use.
 *
 * It is a view: an autoscaling/v1 Scale made from the object (its name,
 * namespace, uid, resourceVersion and creationTimestamp; spec.replicas;
 * status.replicas and status.selector, the label selector as a string).
 * GET returns it; PUT and the three PATCH formats change it, and only its
 * spec.replicas goes back into the object, in one read-modify-write of the
 * object (store_guaranteed_update). A PUT (or patch) carrying a
 * resourceVersion that is no longer the object's gets 409 Conflict. */
#include "api/api.h"
#include "server/internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The Scale of o (o's resourceVersion is set). */
static json_t *scale_of(json_t *o)
{
  json_t *meta = json_object_get(o, "metadata"), *spec = json_object_get(o, "spec");
  json_t *m = json_object();
  const char *keys[] = { "name", "namespace", "uid", "resourceVersion", "creationTimestamp" };
  for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
    json_t *v = json_object_get(meta, keys[i]);
    if (v)
      json_object_set(m, keys[i], v);
  }
  json_t *sspec = json_object();
  int64_t want = json_int(spec, "replicas", 0);
  if (want) /* ScaleSpec.replicas is omitempty */
    json_object_set_new(sspec, "replicas", json_integer(want));
  json_t *st = json_pack("{s:I}", "replicas",
                         (json_int_t)json_int(json_object_get(o, "status"), "replicas", 0));
  api_label_selector_t *ls = NULL;
  berr_t err = BERR_INIT;
  if (api_label_selector_from_json(json_object_get(spec, "selector"), &ls, &err) == 0) {
    char *sel = api_label_selector_string(ls);
    if (*sel)
      json_object_set_new(st, "selector", json_string(sel));
    free(sel);
  }
  berr_clear(&err);
  api_label_selector_free(ls);
  return json_pack("{s:s, s:s, s:o, s:o, s:o}", "kind", "Scale", "apiVersion", "autoscaling/v1",
                   "metadata", m, "spec", sspec, "status", st);
}

typedef struct scale_wr {
  srv_req_t *q;
  srv_resp_t *r;
  const srv_kind_t *k;
  const char *ns, *name;
  json_t *body;   /* PUT: the Scale; PATCH: the patch */
  int patch_type; /* -1 PUT, 0 merge, 1 strategic, 2 JSON patch */
  bool responded;
} scale_wr_t;

static int answered(scale_wr_t *w, berr_t *err)
{
  w->responded = true;
  return berr_setc(err, EBADMSG, "answered");
}

/* 422 for a Scale: "Scale.autoscaling \"web\" is invalid: …". */
static void scale_invalid(srv_resp_t *r, const char *name, api_errors_t *errs)
{
  cleanup_free char *msg = api_errors_string(errs);
  json_t *st = srv_status_json(422, "Invalid", "");
  json_object_set_new(st, "message",
                      srv_str_own(xasprintf("Scale.autoscaling \"%s\" is invalid: %s", name, msg)));
  json_object_set_new(st, "details",
                      json_pack("{s:s, s:s, s:s, s:o}", "name", name, "group", "autoscaling",
                                "kind", "Scale", "causes", api_errors_causes(errs)));
  srv_resp_json(r, 422, st);
}

static int scale_fn(void *arg, const store_kv_t *cur, char **out, size_t *out_len, berr_t *err)
{
  scale_wr_t *w = arg;
  cleanup_json json_t *doc = srv_obj_load(cur->value, cur->len, cur->mod_rev);
  cleanup_json json_t *scale = scale_of(doc);
  cleanup_json json_t *n = NULL;
  berr_t perr = BERR_INIT;
  if (w->patch_type < 0)
    n = json_deep_copy(w->body);
  else
    n = srv_patch_apply(scale, w->body, w->patch_type, "Scale", &perr);
  if (!n || !json_is_object(n)) {
    srv_resp_status(w->r, 422, "Invalid", "Scale", w->name, "%s",
                    perr.msg ? perr.msg : "the patch does not apply");
    berr_clear(&perr);
    return answered(w, err);
  }
  json_t *meta = json_object_get(n, "metadata");
  const char *rv = json_str(meta, "resourceVersion"), *bname = json_str(meta, "name");
  const char *kind = json_str(n, "kind");
  if (kind && strcmp(kind, "Scale")) {
    srv_resp_status(w->r, 400, "BadRequest", NULL, NULL, "the body is %s, not a Scale", kind);
    return answered(w, err);
  }
  if (bname && *bname && strcmp(bname, w->name)) {
    srv_resp_status(w->r, 400, "BadRequest", NULL, NULL,
                    "the name of the object (%s) does not match the name on the URL (%s)", bname,
                    w->name);
    return answered(w, err);
  }
  int64_t want_rev;
  if (rv && *rv && (parse_int64(rv, &want_rev, NULL) < 0 || want_rev != cur->mod_rev))
    return berr_setc(err, STORE_ECONFLICT, "stale resourceVersion");
  json_t *replicas = json_object_get(json_object_get(n, "spec"), "replicas");
  api_errors_t errs = API_ERRORS_INIT;
  if (replicas && !json_is_null(replicas)
      && (!json_is_integer(replicas) || json_integer_value(replicas) > INT32_MAX))
    api_errors_add(&errs, API_FERR_INVALID, "spec.replicas", replicas, "must be a 32-bit integer");
  else if (json_is_integer(replicas) && json_integer_value(replicas) < 0)
    api_errors_add(&errs, API_FERR_INVALID, "spec.replicas", replicas,
                   "must be greater than or equal to 0");
  if (errs.n > 0) {
    scale_invalid(w->r, w->name, &errs);
    api_errors_free(&errs);
    return answered(w, err);
  }
  const char *verb = w->patch_type < 0 ? "update" : "patch";
  if (!srv_authorize(w->q, w->r, w->k, verb, w->ns, w->name, "scale", doc, n))
    return answered(w, err);
  json_t *spec = json_object_get(doc, "spec");
  if (!json_is_object(spec))
    return berr_setc(err, EIO, "stored object has no spec");
  json_int_t want = json_is_integer(replicas) ? json_integer_value(replicas) : 0;
  if (json_int(spec, "replicas", -1) == want)
    return STORE_UNCHANGED;
  json_object_set_new(spec, "replicas", json_integer(want));
  json_t *dm = json_object_get(doc, "metadata");
  json_object_set_new(dm, "generation", json_integer(json_int(dm, "generation", 1) + 1));
  json_object_del(dm, "resourceVersion");
  *out = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
  *out_len = strlen(*out);
  return 0;
}

void srv_do_scale(srv_req_t *q, srv_resp_t *r, const srv_kind_t *k, const char *ns,
                  const char *name)
{
  if (!strcmp(q->method, "GET")) {
    json_t *o;
    if (srv_obj_get(q->srv, k, ns, name, &o, NULL, r) < 0)
      return;
    if (srv_authorize(q, r, k, "get", ns, name, "scale", o, NULL))
      srv_resp_json(r, 200, scale_of(o));
    json_decref(o);
    return;
  }
  scale_wr_t w = { .q = q, .r = r, .k = k, .ns = ns, .name = name, .patch_type = -1 };
  if (!strcmp(q->method, "PUT")) {
    if (!(w.body = srv_decode_body(q, r)))
      return;
  } else if (!(w.body = srv_patch_body(q, r, &w.patch_type))) {
    return;
  }
  cleanup_free char *key = srv_obj_key(k, ns, name);
  store_kv_t kv = { 0 };
  berr_t err = BERR_INIT;
  int rc = store_guaranteed_update(q->srv->store, key, false, scale_fn, &w, &kv, &err);
  if (rc < 0 && w.responded) {
    berr_clear(&err);
  } else if (rc < 0) {
    srv_store_error(r, k, name, &err);
  } else {
    json_t *o = srv_obj_load(kv.value, kv.len, kv.mod_rev);
    srv_resp_json(r, 200, scale_of(o));
    json_decref(o);
  }
  store_kv_free(&kv);
  json_decref(w.body);
}
