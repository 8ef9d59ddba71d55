/* cli.h — shared pieces of the command line: each verb is a short file that
 * parses arguments, calls a module and prints. Nothing here does real work. */
#ifndef BERTH_CLI_H
#define BERTH_CLI_H

#include "base/base.h"

#include <getopt.h>

/* Options every command accepts before its verb: `berth [--root DIR]
 * [--log-level LVL] VERB …`. */
typedef struct cli_ctx {
  const char *root; /* engine state: images, containers (default /var/lib/berth,
                       or $BERTH_ROOT) */
  const char *prog; /* "berth" */
} cli_ctx;

/* Entry points, one per top-level verb; each returns the process exit code. */
int cli_container(cli_ctx *ctx, int argc, char **argv);
int cli_image(cli_ctx *ctx, int argc, char **argv);
int cli_runtime(cli_ctx *ctx, int argc, char **argv);
int cli_server(cli_ctx *ctx, int argc, char **argv);
int cli_agent(cli_ctx *ctx, int argc, char **argv);
/* The cluster verbs (get, describe, apply, create, delete, logs, exec, run,
 * events, nodes), talking to an API server through a kubeconfig. */
bool cli_kube_verb(const char *verb);
int cli_kube(cli_ctx *ctx, int argc, char **argv);

/* Prints "berth: <msg>" and returns the exit code 125 (docker's "the engine
 * failed", distinct from the container's own codes). */
int cli_fail(berr_t *err);
/* Prints "berth: <fmt…>\nSee 'berth CMD --help'." and returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The usage error for what getopt_long returned as c ('?' or ':'; the
 * short options must start with "+:" so that a missing value is ':' and
 * getopt prints nothing itself): "unknown option --x", "option -e needs a
 * value", "option --rm takes no value". Returns 2. */
/* "500ms", "2s", "5m", "1h30m", "0" → nanoseconds; on a bad value prints
 * the usage error for cmd naming flag and returns -1. */
int cli_parse_duration(const char *cmd, const char *flag, const char *s, int64_t *out);
int cli_bad_option(const char *cmd, int c, char **argv, const struct option *opts);

#endif
