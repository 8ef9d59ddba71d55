/* mhd_dl.c — loads libmicrohttpd and GnuTLS on first use; see mhd_dl.h. */
#define SRV_MHD_NO_MACROS
#include "server/mhd_dl.h"

#include "base/base.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_once_t srv_mhd_once = PTHREAD_ONCE_INIT;
/* The one piece of process-wide state here: filled once, read-only after. */
static struct srv_mhd_fns srv_mhd_table;

static _Noreturn void srv_mhd_broken(const char *what)
{
  const char *why = dlerror();
  fprintf(stderr, "berth: %s (install the libmicrohttpd12 and libgnutls30 packages): %s\n", what,
          why ? why : "unknown error");
  abort();
}

static void srv_mhd_load(void)
{
  /* Never closed: the table points into them until the process ends. */
  void *mhd = dlopen(SRV_MHD_SONAME, RTLD_LAZY | RTLD_LOCAL);
  if (!mhd)
    srv_mhd_broken("cannot load " SRV_MHD_SONAME);
  void *tls = dlopen(SRV_GNUTLS_SONAME, RTLD_LAZY | RTLD_LOCAL);
  if (!tls)
    srv_mhd_broken("cannot load " SRV_GNUTLS_SONAME);
  struct srv_mhd_fns *t = &srv_mhd_table;
#define SRV_MHD_SYM(f)                                                                             \
  if (!(t->f = (__typeof__(t->f))dlsym(mhd, #f)))                                                  \
    srv_mhd_broken("cannot load " SRV_MHD_SONAME);
#define SRV_TLS_SYM(f)                                                                             \
  if (!(t->f = (__typeof__(t->f))dlsym(tls, #f)))                                                  \
    srv_mhd_broken("cannot load " SRV_GNUTLS_SONAME);
  SRV_MHD_FUNCS(SRV_MHD_SYM)
  SRV_GNUTLS_FUNCS(SRV_TLS_SYM)
#undef SRV_MHD_SYM
#undef SRV_TLS_SYM
  gnutls_free_function *fr = dlsym(tls, "gnutls_free");
  if (!fr || !*fr)
    srv_mhd_broken("cannot load " SRV_GNUTLS_SONAME);
  t->gnutls_free_fn = *fr;
  log_debug("msg=\"libmicrohttpd loaded\" lib=%s tls=%s", SRV_MHD_SONAME, SRV_GNUTLS_SONAME);
}

const struct srv_mhd_fns *srv_mhd_fns(void)
{
  pthread_once(&srv_mhd_once, srv_mhd_load);
  return &srv_mhd_table;
}
