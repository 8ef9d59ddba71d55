/* test_store_util.h — what the store tests share: a fresh database directory
 * per test and opening the SQLite backend on it. */
#ifndef BERTH_TEST_STORE_UTIL_H
#define BERTH_TEST_STORE_UTIL_H

#include "store/store.h"

#include <criterion/criterion.h>
#include <stdlib.h>

static char *dir, *db;

static inline void setup(void)
{
  char tmpl[] = "/tmp/berth-store-XXXXXX";
  cr_assert_not_null(mkdtemp(tmpl));
  dir = xstrdup(tmpl);
  db = path_join(dir, "store.db");
}

static inline void teardown(void)
{
  fs_rm_rf(dir, NULL);
  free(db);
  free(dir);
}

static inline store_t *open_store(const store_opts_t *opts)
{
  store_t *s = NULL;
  berr_t err = BERR_INIT;
  int rc = store_open_sqlite(db, opts, &s, &err);
  cr_assert_eq(rc, 0, "open: %s", err.msg);
  return s;
}

#endif
