/* archive_dl.c — loads libarchive on first use; see archive_dl.h for why. */
#define IMG_ARCHIVE_NO_MACROS
#include "image/archive_dl.h"

#include "base/base.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_once_t img_archive_once = PTHREAD_ONCE_INIT;
/* The one piece of process-wide state here: filled once, read-only after. */
static struct img_archive_fns img_archive_table;

static _Noreturn void img_archive_broken(const char *what)
{
  const char *why = dlerror();
  fprintf(stderr, "berth: %s (install the libarchive13 package): %s\n", what,
          why ? why : "unknown error");
  abort();
}

static void img_archive_load(void)
{
  /* Never closed: the table points into it until the process ends. */
  void *lib = dlopen(IMG_ARCHIVE_SONAME, RTLD_LAZY | RTLD_LOCAL);
  if (!lib)
    img_archive_broken("cannot load " IMG_ARCHIVE_SONAME);
  struct img_archive_fns *t = &img_archive_table;
  /* A missing symbol: dlerror() names it. */
#define IMG_ARCHIVE_SYM(f)                                                                         \
  if (!(t->f = (__typeof__(t->f))dlsym(lib, #f)))                                                  \
    img_archive_broken("cannot load " IMG_ARCHIVE_SONAME);
  IMG_ARCHIVE_FUNCS(IMG_ARCHIVE_SYM)
#undef IMG_ARCHIVE_SYM
  log_debug("msg=\"libarchive loaded\" lib=%s", IMG_ARCHIVE_SONAME);
}

const struct img_archive_fns *img_archive_fns(void)
{
  pthread_once(&img_archive_once, img_archive_load);
  return &img_archive_table;
}
