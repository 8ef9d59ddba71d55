/* server.c — `berth server`: parses its flags and runs src/server/. */
#include "cli/cli.h"
#include "server/server.h"

#include <string.h>

static const char usage_text[]
    = "Usage: berth server [--listen ADDR:PORT] [--data-dir DIR]\n"
      "\n"
      "Runs the Kubernetes-compatible API server over HTTPS. The first start creates a\n"
      "cluster CA, a serving certificate, an admin token, a node join token (DIR/node-token)\n"
      "and DIR/admin.kubeconfig, usable with kubectl --kubeconfig.\n"
      "\n"
      "Options:\n"
      "  --listen ADDR:PORT  where to listen (default " SRV_DEFAULT_LISTEN ")\n"
      "  --data-dir DIR      state: store, keys, kubeconfig (default " SRV_DEFAULT_DATA_DIR ")\n";

int cli_server(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
    { "listen", required_argument, NULL, 'l' },
    { "data-dir", required_argument, NULL, 'd' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  srv_opts_t so = { .listen = SRV_DEFAULT_LISTEN, .data_dir = SRV_DEFAULT_DATA_DIR };
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
    switch (c) {
    case 'l':
      so.listen = optarg;
      break;
    case 'd':
      so.data_dir = optarg;
      break;
    case 'h':
      fputs(usage_text, stdout);
      return 0;
    default:
      return cli_bad_option("server", c, argv, opts);
    }
  }
  if (optind < argc)
    return cli_usage_error("server", "unexpected argument \"%s\"", argv[optind]);
  berr_t err = BERR_INIT;
  if (srv_run(&so, &err) < 0)
    return cli_fail(&err);
  return 0;
}
