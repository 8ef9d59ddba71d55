/* mhd_dl.c — loads libmicrohttpd and GnuTLS on first use; see mhd_dl.h. */
#define NET_MHD_NO_MACROS
#include "net/mhd_dl.h"

#include "base/base.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t net_mhd_once = PTHREAD_ONCE_INIT;
/* The one piece of process-wide state here: filled once, read-only after. */
static struct net_mhd_fns net_mhd_table;

static _Noreturn void net_mhd_broken(const char *what)
{
  const char *why = dlerror();
  fprintf(stderr, "berth: %s (install the libmicrohttpd12 and libgnutls30 packages): %s\n", what,
          why ? why : "unknown error");
  abort();
}

static void net_mhd_load(void)
{
  /* Never closed: the table points into them until the process ends. */
  void *mhd = dlopen(NET_MHD_SONAME, RTLD_LAZY | RTLD_LOCAL);
  if (!mhd)
    net_mhd_broken("cannot load " NET_MHD_SONAME);
  void *tls = dlopen(NET_GNUTLS_SONAME, RTLD_LAZY | RTLD_LOCAL);
  if (!tls)
    net_mhd_broken("cannot load " NET_GNUTLS_SONAME);
  struct net_mhd_fns *t = &net_mhd_table;
#define NET_MHD_SYM(f)                                                                             \
  if (!(t->f = (__typeof__(t->f))dlsym(mhd, #f)))                                                  \
    net_mhd_broken("cannot load " NET_MHD_SONAME);
#define NET_TLS_SYM(f)                                                                             \
  if (!(t->f = (__typeof__(t->f))dlsym(tls, #f)))                                                  \
    net_mhd_broken("cannot load " NET_GNUTLS_SONAME);
  NET_MHD_FUNCS(NET_MHD_SYM)
  NET_GNUTLS_FUNCS(NET_TLS_SYM)
#undef NET_MHD_SYM
#undef NET_TLS_SYM
  gnutls_free_function *fr = dlsym(tls, "gnutls_free");
  if (!fr || !*fr)
    net_mhd_broken("cannot load " NET_GNUTLS_SONAME);
  t->gnutls_free_fn = *fr;
  log_debug("msg=\"libmicrohttpd loaded\" lib=%s tls=%s", NET_MHD_SONAME, NET_GNUTLS_SONAME);
}

const struct net_mhd_fns *net_mhd_fns(void)
{
  pthread_once(&net_mhd_once, net_mhd_load);
  return &net_mhd_table;
}

void net_mhd_log(void *prefix, const char *fmt, va_list ap)
{
  cleanup_free char *msg = xvasprintf(fmt, ap);
  size_t n = strlen(msg);
  while (n > 0 && msg[n - 1] == '\n')
    msg[--n] = '\0';
  log_debug("msg=\"%s: %s\"", (const char *)prefix, msg);
}
