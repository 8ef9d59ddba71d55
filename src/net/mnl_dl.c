/* mnl_dl.c — loads libmnl.so.0 on first use; see mnl_dl.h. */
#define NET_MNL_NO_MACROS
#include "net/mnl_dl.h"

#include "base/base.h"

#include <pthread.h>

static pthread_once_t net_mnl_once = PTHREAD_ONCE_INIT;
/* The one piece of process-wide state here: filled once, read-only after. */
static struct net_mnl_fns net_mnl_table;

static void net_mnl_load(void)
{
  void *lib = dl_open(NET_MNL_SONAME, NET_MNL_PACKAGE);
  struct net_mnl_fns *t = &net_mnl_table;
#define NET_MNL_SYM(f) t->f = (__typeof__(t->f))dl_sym(lib, #f, NET_MNL_SONAME, NET_MNL_PACKAGE);
  NET_MNL_FUNCS(NET_MNL_SYM)
#undef NET_MNL_SYM
}

const struct net_mnl_fns *net_mnl_fns(void)
{
  pthread_once(&net_mnl_once, net_mnl_load);
  return &net_mnl_table;
}
