/* kube.c — the cluster verbs (placeholder until they land). */
#include "cli/cli.h"

#include <string.h>

bool cli_kube_verb(const char *verb)
{
  (void)verb;
  return false;
}

int cli_kube(cli_ctx *ctx, int argc, char **argv)
{
  (void)ctx;
  (void)argc;
  (void)argv;
  return 2;
}
