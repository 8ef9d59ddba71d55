/* server.c — `berth server`: parses its flags and runs src/server/. */
#include "cli/cli.h"
#include "server/server.h"

#include <limits.h>
#include <string.h>

static const char usage_text[]
    = "Usage: berth server [--listen ADDR:PORT] [--data-dir DIR] [--compaction-interval DURATION]\n"
      "                    [--history-retention DURATION] [--history-revisions N]\n"
      "\n"
      "Runs the Kubernetes-compatible API server over HTTPS. The first start creates a\n"
      "cluster CA, a serving certificate, an admin token, a node join token (DIR/node-token)\n"
      "and DIR/admin.kubeconfig, usable with kubectl --kubeconfig.\n"
      "\n"
      "Options:\n"
      "  --listen ADDR:PORT              where to listen (default " SRV_DEFAULT_LISTEN ")\n"
      "  --data-dir DIR                  state: store, keys, kubeconfig "
      "(default " SRV_DEFAULT_DATA_DIR ")\n"
      "  --compaction-interval DURATION  how often old history is compacted (default 60s; 0: "
      "never)\n"
      "  --history-retention DURATION    history younger than this is kept (default 5m; 0: no\n"
      "                                  floor by age)\n"
      "  --history-revisions N           the last N revisions are kept (default 10000; 0: no\n"
      "                                  floor by count)\n"
      "\n"
      "History is compacted only when it is both older than --history-retention and not among\n"
      "the last --history-revisions revisions; a watch or a list continue token from compacted\n"
      "history gets 410 Expired. DURATION is a number with a unit (ns, us, ms, s, m, h), or\n"
      "several (1m30s), or 0.\n";

int cli_server(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
    { "listen", required_argument, NULL, 'l' },
    { "data-dir", required_argument, NULL, 'd' },
    { "compaction-interval", required_argument, NULL, 'c' },
    { "history-retention", required_argument, NULL, 'r' },
    { "history-revisions", required_argument, NULL, 'n' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  srv_opts_t so = { .listen = SRV_DEFAULT_LISTEN, .data_dir = SRV_DEFAULT_DATA_DIR };
  optind = 1;
  int c;
  int64_t v;
  while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
    switch (c) {
    case 'l':
      so.listen = optarg;
      break;
    case 'd':
      so.data_dir = optarg;
      break;
    case 'c':
    case 'r':
      if (cli_parse_duration("server", c == 'c' ? "--compaction-interval" : "--history-retention",
                             optarg, &v)
          < 0)
        return 2;
      /* 0 means never / no floor; the store reads 0 as "default", negative as that. */
      if (c == 'c')
        so.compact_interval_ns = v ? v : -1;
      else
        so.retain_ns = v ? v : -1;
      break;
    case 'n':
      if (parse_int64(optarg, &v, NULL) < 0 || v < 0)
        return cli_usage_error(
            "server", "invalid --history-revisions \"%s\": want a whole number >= 0", optarg);
      so.retain_revs = v ? v : -1;
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
