/* test_api_smp.c — strategic merge patch: keyed lists, directives, list
 * ordering, replaced lists, the merge-key table, and errors. */
#include "api/api.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

static json_t *J(const char *s)
{
  json_error_t je;
  json_t *j = json_loads(s, JSON_DECODE_ANY, &je);
  cr_assert_not_null(j, "bad test JSON %s: %s", s, je.text);
  return j;
}

/* Applies patch to doc for kind and compares with want (key order ignored,
 * list order not). Also checks that doc and patch are left untouched. */
static void smp(const char *kind, const char *doc, const char *patch, const char *want)
{
  json_t *d = J(doc), *p = J(patch), *w = J(want);
  json_t *d0 = json_deep_copy(d), *p0 = json_deep_copy(p);
  berr_t err = BERR_INIT;
  json_t *out = api_patch_strategic(d, p, kind, &err);
  cr_assert_not_null(out, "%s: %s", patch, err.msg);
  char *g = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
  cr_assert(json_equal(out, w), "patch %s\n got  %s\n want %s", patch, g, want);
  free(g);
  cr_assert(json_equal(d, d0), "doc modified");
  cr_assert(json_equal(p, p0), "patch modified");
  json_decref(out);
  json_decref(d);
  json_decref(p);
  json_decref(w);
  json_decref(d0);
  json_decref(p0);
}

static void smp_fails(const char *kind, const char *doc, const char *patch, const char *msg)
{
  json_t *d = J(doc), *p = J(patch);
  berr_t err = BERR_INIT;
  json_t *out = api_patch_strategic(d, p, kind, &err);
  cr_assert_null(out, "%s succeeded", patch);
  cr_assert(strstr(err.msg, msg), "%s: %s", patch, err.msg);
  cr_assert_eq(err.code, EINVAL);
  berr_clear(&err);
  json_decref(d);
  json_decref(p);
}

#define POD                                                                                        \
  "{\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},"                  \
  "\"finalizers\":[\"a\",\"b\",\"c\"]},"                                                           \
  "\"spec\":{\"containers\":["                                                                     \
  "{\"name\":\"app\",\"image\":\"app:1\",\"args\":[\"x\",\"y\"],"                                  \
  "\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}],"                   \
  "\"ports\":[{\"containerPort\":80,\"name\":\"http\"}],"                                          \
  "\"volumeMounts\":[{\"mountPath\":\"/data\",\"name\":\"data\"}]},"                               \
  "{\"name\":\"side\",\"image\":\"side:1\"}],"                                                     \
  "\"tolerations\":[{\"key\":\"a\"},{\"key\":\"b\"}]}}"

Test(api_smp, containers_merge_by_name)
{
  smp("Pod", POD, "{\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"app:2\"}]}}",
      "{\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},"
      "\"finalizers\":[\"a\",\"b\",\"c\"]},"
      "\"spec\":{\"containers\":["
      "{\"name\":\"app\",\"image\":\"app:2\",\"args\":[\"x\",\"y\"],"
      "\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}],"
      "\"ports\":[{\"containerPort\":80,\"name\":\"http\"}],"
      "\"volumeMounts\":[{\"mountPath\":\"/data\",\"name\":\"data\"}]},"
      "{\"name\":\"side\",\"image\":\"side:1\"}],"
      "\"tolerations\":[{\"key\":\"a\"},{\"key\":\"b\"}]}}");
  /* Without $setElementOrder, upstream puts items the server did not have
   * before the server's own (kubectl always sends the order list). */
  json_t *d = J(POD);
  json_t *p = J("{\"spec\":{\"containers\":[{\"name\":\"new\",\"image\":\"n\"}]}}");
  json_t *out = api_patch_strategic(d, p, "Pod", NULL);
  json_t *cs = json_object_get(json_object_get(out, "spec"), "containers");
  cr_assert_eq(json_array_size(cs), 3);
  cr_assert_str_eq(json_str(json_array_get(cs, 0), "name"), "new");
  cr_assert_str_eq(json_str(json_array_get(cs, 1), "name"), "app");
  cr_assert_str_eq(json_str(json_array_get(cs, 2), "name"), "side");
  json_decref(out);
  json_decref(p);
  json_decref(d);
}

Test(api_smp, nested_keyed_lists)
{
  json_t *d = J(POD);
  json_t *p = J("{\"spec\":{\"containers\":[{\"name\":\"app\","
                "\"env\":[{\"name\":\"A\",\"$patch\":\"delete\"},{\"name\":\"C\",\"value\":\"3\"}],"
                "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}],"
                "\"volumeMounts\":[{\"mountPath\":\"/data\",\"readOnly\":true}],"
                "\"args\":[\"z\"]}]}}");
  berr_t err = BERR_INIT;
  json_t *out = api_patch_strategic(d, p, "Pod", &err);
  cr_assert_not_null(out, "%s", err.msg);
  json_t *c = json_array_get(json_object_get(json_object_get(out, "spec"), "containers"), 0);
  json_t *want_env = J("[{\"name\":\"C\",\"value\":\"3\"},{\"name\":\"B\",\"value\":\"2\"}]");
  cr_assert(json_equal(json_object_get(c, "env"), want_env), "env: $patch delete + add");
  json_t *want_ports = J("[{\"containerPort\":80,\"name\":\"http\",\"protocol\":\"TCP\"}]");
  cr_assert(json_equal(json_object_get(c, "ports"), want_ports), "ports by containerPort");
  json_t *want_mounts = J("[{\"mountPath\":\"/data\",\"name\":\"data\",\"readOnly\":true}]");
  cr_assert(json_equal(json_object_get(c, "volumeMounts"), want_mounts), "mounts by mountPath");
  json_t *want_args = J("[\"z\"]");
  cr_assert(json_equal(json_object_get(c, "args"), want_args), "args has no key: replaced");
  json_decref(want_env);
  json_decref(want_ports);
  json_decref(want_mounts);
  json_decref(want_args);
  json_decref(out);
  json_decref(p);
  json_decref(d);
}

Test(api_smp, maps_and_null)
{
  smp("Pod", "{\"metadata\":{\"labels\":{\"app\":\"web\",\"tier\":\"fe\"}}}",
      "{\"metadata\":{\"labels\":{\"tier\":null,\"new\":\"x\"}}}",
      "{\"metadata\":{\"labels\":{\"app\":\"web\",\"new\":\"x\"}}}");
  smp("Pod", "{\"a\":{\"b\":1}}", "{\"a\":null,\"c\":null}", "{}");
  smp("Pod", "{\"a\":\"s\"}", "{\"a\":{\"b\":1,\"c\":null}}", "{\"a\":{\"b\":1}}");
  smp("Pod", "{\"a\":[1]}", "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1}}");
}

Test(api_smp, primitive_lists)
{
  smp("Pod", "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
      "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"b\",\"zz\"]}}",
      "{\"metadata\":{\"finalizers\":[\"a\",\"c\"]}}");
  /* a set merge: patch items in patch order, server-only ones where they were */
  smp("Pod", "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
      "{\"metadata\":{\"finalizers\":[\"d\",\"a\"]}}",
      "{\"metadata\":{\"finalizers\":[\"d\",\"a\",\"b\",\"c\"]}}");
  smp("Pod", "{\"metadata\":{}}",
      "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"b\"]}}", "{\"metadata\":{}}");
  smp_fails("Pod", "{\"metadata\":{\"finalizers\":[\"a\"]}}",
            "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":\"a\"}}",
            "metadata.finalizers: invalid patch format of primitive list");
}

Test(api_smp, lists_without_a_key_are_replaced)
{
  smp("Pod", "{\"spec\":{\"tolerations\":[{\"key\":\"a\"},{\"key\":\"b\"}]}}",
      "{\"spec\":{\"tolerations\":[{\"key\":\"c\"}]}}",
      "{\"spec\":{\"tolerations\":[{\"key\":\"c\"}]}}");
  /* Service ports merge by port, but only on a Service */
  const char *svc = "{\"spec\":{\"ports\":[{\"port\":80,\"name\":\"http\"},"
                    "{\"port\":443,\"name\":\"https\"}]}}";
  const char *patch = "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080}]}}";
  smp("Service", svc, patch,
      "{\"spec\":{\"ports\":[{\"port\":80,\"name\":\"http\",\"targetPort\":8080},"
      "{\"port\":443,\"name\":\"https\"}]}}");
  smp("ConfigMap", svc, patch, "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080}]}}");
  smp(NULL, svc, patch, "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080}]}}");
}

Test(api_smp, pod_templates_of_workloads)
{
  const char *dep
      = "{\"spec\":{\"replicas\":1,\"strategy\":{\"type\":\"RollingUpdate\","
        "\"rollingUpdate\":{\"maxSurge\":1}},\"template\":{\"spec\":{\"containers\":["
        "{\"name\":\"web\",\"image\":\"nginx:1\"},{\"name\":\"log\",\"image\":\"busybox\"}]}}}}";
  smp("Deployment", dep,
      "{\"spec\":{\"replicas\":3,\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\","
      "\"image\":\"nginx:2\"}]}}}}",
      "{\"spec\":{\"replicas\":3,\"strategy\":{\"type\":\"RollingUpdate\","
      "\"rollingUpdate\":{\"maxSurge\":1}},\"template\":{\"spec\":{\"containers\":["
      "{\"name\":\"web\",\"image\":\"nginx:2\"},{\"name\":\"log\",\"image\":\"busybox\"}]}}}}");
  /* $retainKeys clears what it does not list */
  smp("Deployment", dep,
      "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"Recreate\"}}}",
      "{\"spec\":{\"replicas\":1,\"strategy\":{\"type\":\"Recreate\"},\"template\":{\"spec\":{"
      "\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1\"},{\"name\":\"log\","
      "\"image\":\"busybox\"}]}}}}");
  smp_fails("Deployment", dep,
            "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"rollingUpdate\":{}}}}",
            "spec.strategy: invalid patch format of retainKeys");
  cr_assert_str_eq(api_smp_merge_key("CronJob", "spec.jobTemplate.spec.template.spec.containers"),
                   "name");
  cr_assert_str_eq(api_smp_merge_key("Job", "spec.template.spec.initContainers.env"), "name");
  cr_assert_str_eq(api_smp_merge_key("Pod", "metadata.finalizers"), "");
  cr_assert_null(api_smp_merge_key("Pod", "spec.tolerations"));
  cr_assert_null(api_smp_merge_key("Pod", "spec.xcontainers"), "suffix at a key boundary only");
}

Test(api_smp, patch_directives)
{
  /* $patch: replace on a map */
  smp("Pod", "{\"spec\":{\"nodeSelector\":{\"a\":\"1\",\"b\":\"2\"}}}",
      "{\"spec\":{\"nodeSelector\":{\"$patch\":\"replace\",\"c\":\"3\"}}}",
      "{\"spec\":{\"nodeSelector\":{\"c\":\"3\"}}}");
  /* $patch: delete on a map */
  smp("Pod", "{\"spec\":{\"nodeSelector\":{\"a\":\"1\"},\"x\":1}}",
      "{\"spec\":{\"nodeSelector\":{\"$patch\":\"delete\"}}}",
      "{\"spec\":{\"nodeSelector\":{},\"x\":1}}");
  /* $patch: merge is the default */
  smp("Pod", "{\"spec\":{\"nodeSelector\":{\"a\":\"1\"}}}",
      "{\"spec\":{\"nodeSelector\":{\"$patch\":\"merge\",\"b\":\"2\"}}}",
      "{\"spec\":{\"nodeSelector\":{\"a\":\"1\",\"b\":\"2\"}}}");
  /* $patch: merge on a list element is the default spelled out */
  smp("Pod", "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"1\",\"tty\":true}]}}",
      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"$patch\":\"merge\",\"image\":\"2\"}]}}",
      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"2\",\"tty\":true}]}}");
  /* $patch: replace inside a keyed list */
  smp("Pod", POD,
      "{\"metadata\":null,\"spec\":{\"tolerations\":null,\"containers\":[{\"$patch\":\"replace\"},"
      "{\"name\":\"only\",\"image\":\"o\"}]}}",
      "{\"spec\":{\"containers\":[{\"name\":\"only\",\"image\":\"o\"}]}}");
  smp_fails("Pod", "{\"spec\":{\"nodeSelector\":{\"a\":\"1\"}}}",
            "{\"spec\":{\"nodeSelector\":{\"$patch\":\"frob\"}}}",
            "spec.nodeSelector: unknown patch type");
  smp_fails("Pod", POD, "{\"spec\":{\"containers\":[{\"$patch\":\"frob\",\"name\":\"x\"}]}}",
            "unknown patch type in element 0");
  smp_fails("Pod", POD, "{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}",
            "strategic merge patch: spec.containers: element 0 does not contain declared merge "
            "key \"name\"");
  smp_fails("Pod", POD, "{\"spec\":{\"containers\":[{\"$patch\":\"delete\"}]}}",
            "does not contain declared merge key");
  smp_fails("Pod", POD, "{\"spec\":{\"containers\":[\"x\"]}}",
            "list element types are not identical");
  smp_fails("Pod", POD, "{\"metadata\":{\"finalizers\":[[1]]}}",
            "lists of lists are not supported");
  smp_fails("Pod", POD, "[1]", "the patch must be a JSON object");
}

Test(api_smp, set_element_order)
{
  const char *doc = "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"1\"},"
                    "{\"name\":\"b\",\"image\":\"2\"}]}}";
  smp("Pod", doc,
      "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"b\"},{\"name\":\"a\"},"
      "{\"name\":\"c\"}],\"containers\":[{\"name\":\"c\",\"image\":\"3\"}]}}",
      "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"2\"},{\"name\":\"a\","
      "\"image\":\"1\"},{\"name\":\"c\",\"image\":\"3\"}]}}");
  /* ordering only */
  smp("Pod", doc,
      "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"b\"},{\"name\":\"a\"}]}}",
      "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"2\"},{\"name\":\"a\","
      "\"image\":\"1\"}]}}");
  smp("Pod", "{\"metadata\":{\"finalizers\":[\"x\",\"y\"]}}",
      "{\"metadata\":{\"$setElementOrder/finalizers\":[\"y\",\"x\"]}}",
      "{\"metadata\":{\"finalizers\":[\"y\",\"x\"]}}");
  smp_fails("Pod", doc,
            "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"a\"},{\"name\":\"b\"}],"
            "\"containers\":[{\"name\":\"b\",\"image\":\"x\"},{\"name\":\"a\",\"image\":\"y\"}]}}",
            "doesn't match its $setElementOrder list");
}

/* kubectl apply dropping a list item: the $patch: delete element comes after
 * the last $setElementOrder item (ownerReferences, containers…). */
Test(api_smp, delete_after_the_order_list)
{
  smp("Pod",
      "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"a\"},"
      "{\"uid\":\"2\",\"name\":\"b\"}]}}",
      "{\"metadata\":{\"$setElementOrder/ownerReferences\":[{\"uid\":\"1\"}],"
      "\"ownerReferences\":[{\"uid\":\"2\",\"$patch\":\"delete\"}]}}",
      "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"a\"}]}}");
  smp("Pod", "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
      "{\"spec\":{\"$setElementOrder/containers\":[],"
      "\"containers\":[{\"name\":\"a\",\"$patch\":\"delete\"},"
      "{\"name\":\"b\",\"$patch\":\"delete\"}]}}",
      "{\"spec\":{\"containers\":[]}}");
}

Test(api_smp, new_values_lose_their_directives)
{
  smp("Pod", "{\"metadata\":{\"name\":\"x\"}}",
      "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"a\"}],"
      "\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"env\":null},"
      "{\"name\":\"gone\",\"$patch\":\"delete\"}],"
      "\"$retainKeys\":[\"containers\"]}}",
      "{\"metadata\":{\"name\":\"x\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}"
      "}");
}

Test(api_smp, kubectl_apply_update)
{
  /* the shape kubectl apply sends when an image changes in a Deployment */
  const char *cur
      = "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
        "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{old}\"},"
        "\"resourceVersion\":\"7\"},\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{"
        "\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
        "\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1\",\"ports\":[{\"containerPort\":80}]"
        ","
        "\"resources\":{}}]}}}}";
  const char *patch
      = "{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
        "\"{new}\"}},\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":"
        "\"web\"}],\"containers\":[{\"image\":\"nginx:2\",\"name\":\"web\"}]}}}}";
  const char *want
      = "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
        "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{new}\"},"
        "\"resourceVersion\":\"7\"},\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{"
        "\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
        "\"containers\":[{\"name\":\"web\",\"image\":\"nginx:2\",\"ports\":[{\"containerPort\":80}]"
        ","
        "\"resources\":{}}]}}}}";
  smp("Deployment", cur, patch, want);
}
