/* sqlite_dl.c — loads SQLite on first use; see sqlite_dl.h for why. */
#define STORE_SQLITE_NO_MACROS
#include "store/sqlite_dl.h"

#include "base/base.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_once_t store_sqlite_once = PTHREAD_ONCE_INIT;
/* The one piece of process-wide state here: filled once, read-only after. */
static struct store_sqlite_fns store_sqlite_table;

static _Noreturn void store_sqlite_broken(void)
{
  const char *why = dlerror();
  fprintf(stderr,
          "berth: cannot load " STORE_SQLITE_SONAME " (install the libsqlite3-0 package): %s\n",
          why ? why : "unknown error");
  abort();
}

static void store_sqlite_load(void)
{
  /* Never closed: the table points into it until the process ends. */
  void *lib = dlopen(STORE_SQLITE_SONAME, RTLD_LAZY | RTLD_LOCAL);
  if (!lib)
    store_sqlite_broken();
  struct store_sqlite_fns *t = &store_sqlite_table;
#define STORE_SQLITE_SYM(f)                                                                        \
  if (!(t->f = (__typeof__(t->f))dlsym(lib, #f)))                                                  \
    store_sqlite_broken();
  STORE_SQLITE_FUNCS(STORE_SQLITE_SYM)
#undef STORE_SQLITE_SYM
  log_debug("msg=\"sqlite loaded\" lib=%s", STORE_SQLITE_SONAME);
}

const struct store_sqlite_fns *store_sqlite_fns(void)
{
  pthread_once(&store_sqlite_once, store_sqlite_load);
  return &store_sqlite_table;
}
