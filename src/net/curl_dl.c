/* curl_dl.c — loads libcurl on first use and initialises it once; see
 * curl_dl.h. */
#define NET_CURL_NO_MACROS
#include "net/curl_dl.h"

#include "base/base.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_once_t net_curl_once = PTHREAD_ONCE_INIT;
/* The one piece of process-wide state here: filled once, read-only after. */
static struct net_curl_fns net_curl_table;

static _Noreturn void net_curl_broken(const char *what, const char *why)
{
  fprintf(stderr, "berth: %s (install the " NET_CURL_PACKAGE " package): %s\n", what,
          why ? why : "unknown error");
  abort();
}

static void net_curl_load(void)
{
  /* Never closed: the table points into it until the process ends. */
  void *lib = dlopen(NET_CURL_SONAME, RTLD_LAZY | RTLD_LOCAL);
  if (!lib)
    net_curl_broken("cannot load " NET_CURL_SONAME, dlerror());
  struct net_curl_fns *t = &net_curl_table;
#define NET_CURL_SYM(f)                                                                            \
  if (!(t->f = (__typeof__(t->f))dlsym(lib, #f)))                                                  \
    net_curl_broken("cannot load " NET_CURL_SONAME, dlerror());
  NET_CURL_FUNCS(NET_CURL_SYM)
#undef NET_CURL_SYM
  /* Not thread-safe in libcurl itself, hence here under pthread_once. */
  CURLcode rc = t->curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK)
    net_curl_broken("cannot initialise " NET_CURL_SONAME, t->curl_easy_strerror(rc));
  log_debug("msg=\"libcurl loaded\" lib=%s", NET_CURL_SONAME);
}

const struct net_curl_fns *net_curl_fns(void)
{
  pthread_once(&net_curl_once, net_curl_load);
  return &net_curl_table;
}
