/* yaml_dl.c — loads libyaml-0.so.2 on first use; see yaml_dl.h. */
#define API_YAML_DL_NO_MACROS
#include "api/yaml_dl.h"

#include "base/base.h"

#include <pthread.h>

static pthread_once_t api_yaml_dl_once = PTHREAD_ONCE_INIT;
/* The one piece of process-wide state here: filled once, read-only after. */
static struct api_yaml_dl_fns api_yaml_dl_table;

static void api_yaml_dl_load(void)
{
  void *lib = dl_open(API_YAML_DL_SONAME, API_YAML_DL_PACKAGE);
  struct api_yaml_dl_fns *t = &api_yaml_dl_table;
#define API_YAML_DL_SYM(f)                                                                         \
  t->f = (__typeof__(t->f))dl_sym(lib, #f, API_YAML_DL_SONAME, API_YAML_DL_PACKAGE);
  API_YAML_DL_FUNCS(API_YAML_DL_SYM)
#undef API_YAML_DL_SYM
}

const struct api_yaml_dl_fns *api_yaml_dl_fns(void)
{
  pthread_once(&api_yaml_dl_once, api_yaml_dl_load);
  return &api_yaml_dl_table;
}
