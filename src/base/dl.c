/* dl.c — loading a library with dlopen() on first use, for the libraries
 * only some commands need (see src/api/yaml_dl.h, src/net/mnl_dl.h): a
 * missing one is a broken install, so both calls abort with a message that
 * names the package. */
#include "base/base.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static _Noreturn void dl_broken(const char *soname, const char *package)
{
  const char *why = dlerror();
  fprintf(stderr, "berth: cannot load %s (install the %s package): %s\n", soname, package,
          why ? why : "unknown error");
  abort();
}

void *dl_open(const char *soname, const char *package)
{
  /* Never closed: the caller's table points into it until the process ends. */
  void *lib = dlopen(soname, RTLD_LAZY | RTLD_LOCAL);
  if (!lib)
    dl_broken(soname, package);
  log_debug("msg=\"library loaded\" lib=%s", soname);
  return lib;
}

void *dl_sym(void *lib, const char *name, const char *soname, const char *package)
{
  void *f = dlsym(lib, name);
  if (!f)
    dl_broken(soname, package);
  return f;
}
