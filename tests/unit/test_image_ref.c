/* test_image_ref.c — image name normalisation: the forms docker accepts map
 * to one stored name, and bad names are refused with the name in the error. */
#include "image/image.h"

#include <criterion/criterion.h>
#include <string.h>

static void expect_norm(const char *in, const char *want)
{
  berr_t err = BERR_INIT;
  char *out = NULL;
  cr_assert_eq(img_ref_normalize(in, &out, &err), 0, "%s: %s", in, err.msg);
  cr_expect_str_eq(out, want, "%s -> %s, want %s", in, out, want);
  free(out);
}

static void expect_bad(const char *in)
{
  berr_t err = BERR_INIT;
  char *out = NULL;
  cr_expect_lt(img_ref_normalize(in, &out, &err), 0, "%s accepted as %s", in, out);
  cr_expect(err.msg && strstr(err.msg, "invalid reference format"), "%s: %s", in, err.msg);
  free(out);
  berr_clear(&err);
}

Test(image_ref, docker_hub_forms_are_one_name)
{
  expect_norm("busybox", "busybox:latest");
  expect_norm("busybox:latest", "busybox:latest");
  expect_norm("library/busybox", "busybox:latest");
  expect_norm("docker.io/library/busybox:latest", "busybox:latest");
  expect_norm("docker.io/busybox:1.36", "busybox:1.36");
  expect_norm("index.docker.io/library/busybox", "busybox:latest");
  expect_norm("docker.io/user/app:v2", "user/app:v2");
  expect_norm("user/app", "user/app:latest");
}

Test(image_ref, other_registries_keep_their_domain)
{
  expect_norm("quay.io/coreos/etcd:v3.5", "quay.io/coreos/etcd:v3.5");
  expect_norm("localhost:5000/app", "localhost:5000/app:latest");
  expect_norm("localhost/app:1", "localhost/app:1");
  expect_norm("registry.example.com:443/a/b/c", "registry.example.com:443/a/b/c:latest");
  expect_norm("my-app_x.y__z--w:TAG_1.0-rc", "my-app_x.y__z--w:TAG_1.0-rc");
}

Test(image_ref, bad_names_are_refused)
{
  expect_bad("");
  expect_bad("Busybox");
  expect_bad("busybox:");
  expect_bad("busybox:bad tag");
  expect_bad(":latest");
  expect_bad("busy//box");
  expect_bad("busybox/");
  expect_bad("-busybox");
  expect_bad("busybox@sha256:0123");
  expect_bad("busy..box");
  expect_bad("quay.io/");
  expect_bad("bad_domain_.io/x");
}

Test(image_ref, qualify_gives_the_full_name)
{
  char *q = img_ref_qualify("busybox:latest");
  cr_expect_str_eq(q, "docker.io/library/busybox:latest");
  free(q);
  q = img_ref_qualify("user/app:1");
  cr_expect_str_eq(q, "docker.io/user/app:1");
  free(q);
  q = img_ref_qualify("quay.io/a/b:2");
  cr_expect_str_eq(q, "quay.io/a/b:2");
  free(q);
}
