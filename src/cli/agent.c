/* agent.c — `berth agent` (placeholder until src/agent/ lands). */
#include "cli/cli.h"

int cli_agent(cli_ctx *ctx, int argc, char **argv)
{
  (void)ctx;
  (void)argc;
  (void)argv;
  return cli_usage_error("agent", "not built yet");
}
