/* test_ctrl_cache.c — the controllers' cache itself: pods packed and
 * unpacked equal to what was put (whatever the JSON holds), fragments
 * shared and freed, the indexes by owner, orphans, node and labels kept
 * right as objects change and go, and what a trim drops. */
#include "ctrl/ctrl.h"
#include "ctrl/pack.h"

#include <criterion/criterion.h>
#include <string.h>

static json_t *J(const char *s)
{
  json_error_t e;
  json_t *j = json_loads(s, JSON_ALLOW_NUL, &e);
  cr_assert(j, "%s: %s", s, e.text);
  return j;
}

/* A pod ns/name (owner uid or NULL, node or NULL, labels app=APP) at rv. */
static json_t *pod(const char *ns, const char *name, const char *owner, const char *node,
                   const char *app, int rv)
{
  json_t *p = json_pack(
      "{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:{s:s}},s:{s:[{s:s,s:s,s:s,s:i}],s:i},s:{s:s,s:[{s:s,s:s}]}}",
      "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "namespace", ns, "uid", name,
      "resourceVersion", "0", "labels", "app", app, "spec", "tolerations", "key",
      "node.kubernetes.io/not-ready", "operator", "Exists", "effect", "NoExecute",
      "tolerationSeconds", 300, "priority", 0, "status", "phase", "Running", "conditions", "type",
      "Ready", "status", "True");
  json_t *md = json_object_get(p, "metadata");
  json_object_set_new(md, "resourceVersion", json_sprintf("%d", rv));
  if (owner)
    json_object_set_new(md, "ownerReferences",
                        json_pack("[{s:s,s:s,s:s,s:s,s:b}]", "apiVersion", "apps/v1", "kind",
                                  "ReplicaSet", "name", "rs", "uid", owner, "controller", 1));
  if (node)
    json_object_set_new(json_object_get(p, "spec"), "nodeName", json_string(node));
  return p;
}

static void put(ctrl_cache_t *c, const char *resource, json_t *obj)
{
  json_decref(ctrl_cache_put(c, resource, obj));
  json_decref(obj);
}

/* The names in an array of objects, comma-separated (freed by the caller). */
static char *names(json_t *arr)
{
  buf_t b = { 0 };
  buf_puts(&b, "");
  size_t i;
  json_t *o;
  json_array_foreach(arr, i, o)
  {
    if (i)
      buf_puts(&b, ",");
    buf_puts(&b, json_str(json_object_get(o, "metadata"), "name") ?: "?");
  }
  json_decref(arr);
  return buf_steal(&b);
}

static void assert_names(json_t *arr, const char *want)
{
  char *got = names(arr);
  cr_assert_str_eq(got, want);
  free(got);
}

Test(ctrl_cache, packed_pods_unpack_equal_to_what_was_put)
{
  ctrl_cache_t *c = ctrl_cache_new();
  /* escapes in keys, a NUL in a value, unicode, reals, big integers, nested
   * containers in spec and status, an empty object and array */
  json_t *p = J("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"odd\","
                "\"namespace\":\"ns\",\"resourceVersion\":\"7\",\"we\\\"ird\\\\key\":\"v\","
                "\"labels\":{\"a\\\"b\\\\c\":"
                "\"\\u00e9\\u2603\",\"tab\\tkey\":\"x\"},\"annotations\":{},\"finalizers\":[]},"
                "\"spec\":{\"containers\":[{\"name\":\"c\",\"args\":[\"nul\\u0000in\",\"\"]}],"
                "\"affinity\":{\"nodeAffinity\":{\"x\":[[1,2.5,-9007199254740993,null,true]]}},"
                "\"priority\":-3,\"weight\":0.1,\"\\u0001\":false},"
                "\"status\":{\"phase\":\"Pending\",\"conditions\":[{\"type\":\"Ready\"}]},"
                "\"extra\":[{\"deep\":{\"er\":{}}}],\"n\":null}");
  json_t *want = json_deep_copy(p);
  put(c, "pods", p);
  ctrl_cache_trim(c, 0);
  json_t *got = ctrl_cache_get(c, "pods", "ns", "odd");
  cr_assert(json_equal(got, want), "unpacked: %s", json_dumps(got, JSON_COMPACT));
  json_t *ctr = json_array_get(json_object_get(json_object_get(got, "spec"), "containers"), 0);
  cr_assert_eq(json_string_length(json_array_get(json_object_get(ctr, "args"), 0)), 6,
               "the NUL is kept");
  cr_assert_eq(ctrl_cache_version(c, "pods", "ns", "odd"), 7);
  json_decref(want);
  ctrl_cache_free(c);
}

Test(ctrl_cache, fragments_are_shared_and_freed_with_their_last_user)
{
  ctrl_frags_t *t = ctrl_frags_new();
  ctrl_packed_t *p[3];
  for (int i = 0; i < 3; i++) {
    char name[16];
    snprintf(name, sizeof name, "p%d", i);
    json_t *o = pod("ns", name, "rs-1", i == 2 ? "n2" : "n1", "web", i + 1);
    p[i] = ctrl_pack(t, o);
    json_decref(o);
  }
  /* labels, ownerReferences and tolerations: once for all three */
  cr_assert_eq(ctrl_frags_count(t), 3);
  json_t *l0 = ctrl_packed_labels(p[0]);
  cr_assert_eq(l0, ctrl_packed_labels(p[2]), "one labels object");
  cr_assert_str_eq(json_str(l0, "app"), "web");
  json_t *other = pod("ns", "q", NULL, NULL, "db", 9);
  ctrl_packed_t *q = ctrl_pack(t, other);
  json_decref(other);
  cr_assert_eq(ctrl_frags_count(t), 4, "new labels, no owner, the same tolerations");
  json_t *u = ctrl_unpack(q);
  cr_assert_null(json_object_get(json_object_get(u, "metadata"), "ownerReferences"));
  cr_assert_str_eq(json_str(json_object_get(u, "spec"), "nodeName") ?: "-", "-");
  json_decref(u);
  ctrl_packed_free(t, q);
  cr_assert_eq(ctrl_frags_count(t), 3);
  for (int i = 0; i < 3; i++)
    ctrl_packed_free(t, p[i]);
  cr_assert_eq(ctrl_frags_count(t), 0);
  ctrl_frags_free(t);
}

Test(ctrl_cache, indexes_follow_owner_node_and_labels)
{
  ctrl_cache_t *c = ctrl_cache_new();
  put(c, "pods", pod("b", "p3", "rs-1", "n1", "web", 3));
  put(c, "pods", pod("a", "p2", "rs-1", "n2", "web", 2));
  put(c, "pods", pod("a", "p1", "rs-1", "n1", "web", 1));
  put(c, "pods", pod("a", "o1", NULL, "n1", "web", 4));
  put(c, "pods", pod("a", "o2", NULL, NULL, "db", 5));
  ctrl_cache_trim(c, 0);
  cr_assert_eq(ctrl_cache_count(c, "pods"), 5);
  assert_names(ctrl_cache_list(c, "pods", NULL), "o1,o2,p1,p2,p3");
  assert_names(ctrl_cache_list(c, "pods", "a"), "o1,o2,p1,p2");
  assert_names(ctrl_cache_owned(c, "pods", "rs-1"), "p1,p2,p3");
  assert_names(ctrl_cache_orphans(c, "pods", "a"), "o1,o2");
  assert_names(ctrl_cache_orphans(c, "pods", NULL), "o1,o2");
  assert_names(ctrl_cache_on_node(c, "pods", "n1"), "o1,p1,p3");

  api_label_selector_t *web = NULL;
  cr_assert_eq(api_label_selector_parse("app=web", &web, NULL), 0);
  assert_names(ctrl_cache_list_selected(c, "pods", "a", web), "o1,p1,p2");
  assert_names(ctrl_cache_orphans_selected(c, "pods", "a", web), "o1");
  assert_names(ctrl_cache_orphans_selected(c, "pods", "a", NULL), "");

  /* o1 adopted and moved; p2 released; p3 gone */
  json_t *o1 = pod("a", "o1", "rs-1", "n3", "web", 6);
  json_t *old = ctrl_cache_put(c, "pods", o1);
  cr_assert_str_eq(json_str(json_object_get(old, "spec"), "nodeName"), "n1", "the old one back");
  json_decref(old);
  json_decref(o1);
  put(c, "pods", pod("a", "p2", NULL, "n2", "db", 7));
  json_decref(ctrl_cache_remove(c, "pods", "b", "p3"));
  assert_names(ctrl_cache_owned(c, "pods", "rs-1"), "o1,p1");
  assert_names(ctrl_cache_orphans(c, "pods", "a"), "o2,p2");
  assert_names(ctrl_cache_on_node(c, "pods", "n1"), "p1");
  assert_names(ctrl_cache_on_node(c, "pods", "n3"), "o1");
  assert_names(ctrl_cache_list_selected(c, "pods", NULL, web), "o1,p1");
  assert_names(ctrl_cache_list(c, "pods", "b"), "");
  cr_assert_eq(ctrl_cache_version(c, "pods", "b", "p3"), -1);
  api_label_selector_free(web);

  /* an older version is ignored */
  json_t *stale = pod("a", "p1", NULL, NULL, "x", 0);
  cr_assert_null(ctrl_cache_put(c, "pods", stale));
  json_decref(stale);
  assert_names(ctrl_cache_owned(c, "pods", "rs-1"), "o1,p1");
  ctrl_cache_free(c);
}

Test(ctrl_cache, trim_keeps_the_most_recently_read)
{
  ctrl_cache_t *c = ctrl_cache_new();
  put(c, "pods", pod("a", "p1", NULL, NULL, "web", 1));
  put(c, "pods", pod("a", "p2", NULL, NULL, "web", 2));
  json_t *p1 = ctrl_cache_get(c, "pods", "a", "p1");
  json_t *p2 = ctrl_cache_get(c, "pods", "a", "p2");
  cr_assert_eq(ctrl_cache_get(c, "pods", "a", "p1"), p1, "read again: the same object");
  json_incref(p2);
  ctrl_cache_trim(c, 1); /* p1 was read last */
  cr_assert_eq(ctrl_cache_get(c, "pods", "a", "p1"), p1);
  json_t *again = ctrl_cache_get(c, "pods", "a", "p2");
  cr_assert_neq(again, p2, "unpacked anew");
  cr_assert(json_equal(again, p2));
  json_decref(p2);

  /* objects of other resources are the ones put */
  json_t *node = J("{\"metadata\":{\"name\":\"n1\"}}");
  json_decref(ctrl_cache_put(c, "nodes", node));
  ctrl_cache_trim(c, 0);
  cr_assert_eq(ctrl_cache_get(c, "nodes", "", "n1"), node);
  json_decref(node);
  ctrl_cache_free(c);
}

Test(ctrl_cache, thousands_come_and_go)
{
  ctrl_cache_t *c = ctrl_cache_new();
  char name[32], owner[32];
  for (int i = 0; i < 3000; i++) {
    snprintf(name, sizeof name, "p%04d", i);
    snprintf(owner, sizeof owner, "rs-%d", i % 3);
    put(c, "pods", pod(i % 2 ? "odd" : "even", name, i % 5 ? owner : NULL, "n1", "web", i + 1));
  }
  cr_assert_eq(ctrl_cache_count(c, "pods"), 3000);
  json_t *all = ctrl_cache_list(c, "pods", NULL);
  cr_assert_eq(json_array_size(all), 3000);
  cr_assert_str_eq(json_str(json_object_get(json_array_get(all, 0), "metadata"), "name"), "p0000");
  cr_assert_str_eq(json_str(json_object_get(json_array_get(all, 1500), "metadata"), "name"),
                   "p0001", "odd after even");
  json_decref(all);
  ctrl_cache_trim(c, 0);
  for (int i = 10; i < 3000; i++) {
    snprintf(name, sizeof name, "p%04d", i);
    json_decref(ctrl_cache_remove(c, "pods", i % 2 ? "odd" : "even", name));
  }
  cr_assert_eq(ctrl_cache_count(c, "pods"), 10);
  assert_names(ctrl_cache_on_node(c, "pods", "n1"), "p0000,p0002,p0004,p0006,p0008,p0001,p0003,"
                                                    "p0005,p0007,p0009");
  assert_names(ctrl_cache_owned(c, "pods", "rs-1"), "p0004,p0001,p0007");
  assert_names(ctrl_cache_orphans(c, "pods", NULL), "p0000,p0005");
  ctrl_cache_free(c);
}
