/* container.h — what the files of `berth container` share: each verb is a
 * function taking the verb's own argv (argv[0] = the verb). */
#ifndef BERTH_CLI_CONTAINER_H
#define BERTH_CLI_CONTAINER_H

#include "cli/cli.h"
#include "engine/engine.h"

/* container_run.c */
int cli_container_run(cli_ctx *ctx, int argc, char **argv, bool create_only);
int cli_container_exec(cli_ctx *ctx, int argc, char **argv);
int cli_container_stats(cli_ctx *ctx, int argc, char **argv);

/* container.c */
/* Opens the engine at ctx->root; prints the error and returns NULL. */
engine *cli_engine_open(cli_ctx *ctx);

#endif
