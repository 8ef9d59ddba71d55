/* server.c — `berth server`: parses its flags and runs src/server/; with
 * --with-agent it also runs this machine's agent (src/agent/) in the same
 * process: a single-node cluster from one command. */
#include "agent/agent.h"
#include "cli/cli.h"
#include "server/server.h"

#include <limits.h>
#include <string.h>

static const char usage_text[]
    = "Usage: berth server [--listen ADDR:PORT] [--data-dir DIR] [--compaction-interval DURATION]\n"
      "                    [--history-retention DURATION] [--history-revisions N]\n"
      "                    [--node-monitor-grace-period DURATION] [--pod-eviction-timeout "
      "DURATION]\n"
      "                    [--scheduler-strategy spread|binpack]\n"
      "                    [--with-agent [--node-name NAME] [--node-ip IP] [--agent-listen "
      "ADDR:PORT]\n"
      "                     [--pod-cidr CIDR] [--bridge NAME] [--agent-data-dir DIR]]\n"
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
      "  --node-monitor-grace-period DURATION\n"
      "                                  a node silent this long turns NotReady (default 20s)\n"
      "  --pod-eviction-timeout DURATION how long pods stay on a NotReady node before they are\n"
      "                                  evicted, unless they tolerate it longer (default 30s)\n"
      "  --scheduler-strategy S          how the scheduler ranks the nodes a pod fits on:\n"
      "                                  spread (the emptiest first, the default) or binpack\n"
      "                                  (the fullest first, leaving whole nodes free)\n"
      "  --with-agent                    also run this machine's agent: a single-node cluster\n"
      "                                  (the agent's flags below are `berth agent`'s)\n"
      "  --node-name NAME                the node's name (default: the hostname)\n"
      "  --node-ip IP                    the node's address (default: the default route's)\n"
      "  --agent-listen ADDR:PORT        the agent's endpoint (default " AGENT_DEFAULT_LISTEN ")\n"
      "  --pod-cidr CIDR                 pod addresses (default 10.88.0.0/16)\n"
      "  --bridge NAME                   the pods' bridge (default berth0)\n"
      "  --agent-data-dir DIR            the agent's state (default " AGENT_DEFAULT_DATA_DIR ")\n"
      "\n"
      "History is compacted only when it is both older than --history-retention and not among\n"
      "the last --history-revisions revisions; a watch or a list continue token from compacted\n"
      "history gets 410 Expired. DURATION is a number with a unit (ns, us, ms, s, m, h), or\n"
      "several (1m30s), or 0.\n";

/* --with-agent: the agent joins the server it runs beside, with the join
 * token the server just wrote. */
typedef struct with_agent {
  agent_opts_t opts;
  agent_t *agent;
  char *token;
} with_agent_t;

static int agent_ready(void *arg, const char *url, const char *data_dir, berr_t *err)
{
  with_agent_t *w = arg;
  cleanup_free char *path = path_join(data_dir, "node-token");
  size_t len;
  if (fs_read_file(path, 4096, &w->token, &len, err) < 0)
    return berr_wrap(err, "read the join token");
  while (len > 0 && (w->token[len - 1] == '\n' || w->token[len - 1] == ' '))
    w->token[--len] = '\0';
  w->opts.server = url;
  w->opts.token = w->token;
  if (agent_start(&w->opts, &w->agent, err) < 0)
    return berr_wrap(err, "start the agent");
  return 0;
}

static void agent_stopping(void *arg)
{
  with_agent_t *w = arg;
  agent_stop(w->agent);
  w->agent = NULL;
}

int cli_server(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
    { "listen", required_argument, NULL, 'l' },
    { "data-dir", required_argument, NULL, 'd' },
    { "compaction-interval", required_argument, NULL, 'c' },
    { "history-retention", required_argument, NULL, 'r' },
    { "history-revisions", required_argument, NULL, 'n' },
    { "node-monitor-grace-period", required_argument, NULL, 'G' },
    { "pod-eviction-timeout", required_argument, NULL, 'E' },
    { "scheduler-strategy", required_argument, NULL, 'S' },
    { "with-agent", no_argument, NULL, 'A' },
    { "node-name", required_argument, NULL, 'N' },
    { "node-ip", required_argument, NULL, 'I' },
    { "agent-listen", required_argument, NULL, 'L' },
    { "pod-cidr", required_argument, NULL, 'P' },
    { "agent-data-dir", required_argument, NULL, 'D' },
    { "bridge", required_argument, NULL, 'B' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  srv_opts_t so = { .listen = SRV_DEFAULT_LISTEN, .data_dir = SRV_DEFAULT_DATA_DIR };
  with_agent_t wa = { .opts = { .data_dir = AGENT_DEFAULT_DATA_DIR,
                                .listen = AGENT_DEFAULT_LISTEN,
                                .engine_root = ctx->root } };
  bool with_agent = false, agent_flag = false;
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
    case 'G':
    case 'E':
      if (cli_parse_duration("server",
                             c == 'G' ? "--node-monitor-grace-period" : "--pod-eviction-timeout",
                             optarg, &v)
          < 0)
        return 2;
      if (v < 1000000000LL)
        return cli_usage_error("server", "invalid %s \"%s\": want at least 1s",
                               c == 'G' ? "--node-monitor-grace-period" : "--pod-eviction-timeout",
                               optarg);
      *(c == 'G' ? &so.node_grace_ns : &so.eviction_timeout_ns) = v;
      break;
    case 'S':
      if (sched_strategy_parse(optarg, &so.scheduler_strategy) < 0)
        return cli_usage_error(
            "server", "invalid --scheduler-strategy \"%s\": want spread or binpack", optarg);
      break;
    case 'A':
      with_agent = true;
      break;
    case 'N':
    case 'I':
    case 'L':
    case 'P':
    case 'D':
    case 'B':
      agent_flag = true;
      *(c == 'N'   ? &wa.opts.node_name
        : c == 'I' ? &wa.opts.node_ip
        : c == 'L' ? &wa.opts.listen
        : c == 'P' ? &wa.opts.pod_cidr
        : c == 'B' ? &wa.opts.bridge
                   : &wa.opts.data_dir)
          = optarg;
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
  if (agent_flag && !with_agent)
    return cli_usage_error("server", "the agent's flags need --with-agent");
  if (with_agent) {
    so.on_ready = agent_ready;
    so.on_stop = agent_stopping;
    so.hook_arg = &wa;
  }
  berr_t err = BERR_INIT;
  int rc = srv_run(&so, &err);
  free(wa.token);
  if (rc < 0)
    return cli_fail(&err);
  return 0;
}
