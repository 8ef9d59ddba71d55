/* test_busybox.h — what the tests that run real containers share: the
 * local busybox image (build/images/busybox.tar, `make images`, or
 * $BUSYBOX_TAR) loaded into an engine root, with berth itself as the
 * container spawner. */
#ifndef BERTH_TEST_BUSYBOX_H
#define BERTH_TEST_BUSYBOX_H

#include "image/image.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <unistd.h>

/* Skips the test unless it runs as root with the image archive at hand
 * (first thing, before the test makes anything); points the engine's
 * spawner at the sanitised berth. Returns the archive. */
static inline const char *busybox_require(void)
{
  if (geteuid() != 0)
    cr_skip_test("needs root");
  const char *tar = getenv("BUSYBOX_TAR") ? getenv("BUSYBOX_TAR") : "build/images/busybox.tar";
  if (!fs_exists(tar))
    cr_skip_test("no %s (make images)", tar);
  /* The spawner is berth itself (engine_spawner_start), not this program. */
  setenv("BERTH_EXE", "build/asan/berth", 0);
  return tar;
}

/* Loads the image archive tar into the store under root. */
static inline void busybox_load(const char *root, const char *tar)
{
  berr_t err = BERR_INIT;
  img_store *s = NULL;
  char **loaded = NULL;
  cr_assert_eq(img_store_open(root, &s, &err), 0, "%s", err.msg);
  cr_assert_eq(img_load(s, tar, &loaded, &err), 0, "%s", err.msg);
  strv_free(loaded);
  img_store_close(s);
}

#endif
