/* agent.c — `berth agent`: parses its flags and runs src/agent/ until
 * SIGINT or SIGTERM. The pods' containers outlive the agent: the next start
 * adopts them. */
#include "agent/agent.h"
#include "api/api.h"
#include "cli/cli.h"
#include "net/podnet.h"

#include <stdlib.h>
#include <string.h>

static const char usage_text[]
    = "Usage: berth agent --server URL (--token TOKEN | --token-file FILE) [OPTIONS]\n"
      "\n"
      "Joins a berth cluster as a node and runs the pods bound to it. The join token is the\n"
      "server's DATA/node-token; it pins the cluster's CA. The first start registers the node\n"
      "and keeps its credentials in the data directory; the containers keep running when the\n"
      "agent stops, and the next start adopts them. The engine's state (images, containers) is\n"
      "the global --root.\n"
      "\n"
      "Options:\n"
      "  --server URL             the API server (https://HOST:PORT)\n"
      "  --token TOKEN            the join token\n"
      "  --token-file FILE        read the join token from FILE\n"
      "  --data-dir DIR           the agent's state (default " AGENT_DEFAULT_DATA_DIR ")\n"
      "  --node-name NAME         the node's name (default: the hostname, lower-cased)\n"
      "  --node-ip IP             the node's address (default: the default route's interface)\n"
      "  --listen ADDR:PORT       the endpoint for logs and exec (default " AGENT_DEFAULT_LISTEN
      ")\n"
      "  --pod-cidr CIDR          this node's pod addresses (default " PODNET_DEFAULT_CIDR ")\n"
      "  --bridge NAME            the pods' bridge (default " PODNET_DEFAULT_BRIDGE ")\n"
      "  --node-label KEY=VALUE   an extra node label (repeatable)\n"
      "  --max-pods N             the node's pod capacity (default 110)\n"
      "  --backoff-base DURATION  first restart delay of a crashing container (default 10s)\n"
      "  --backoff-max DURATION   longest restart delay (default 5m)\n"
      "  --eviction-hard memory.available<QTY\n"
      "                           memory pressure below this (QTY such as 100Mi, or a percentage\n"
      "                           of the capacity such as 10%); then pods are evicted, one per\n"
      "                           housekeeping interval (default memory.available<100Mi)\n"
      "  --memory-capacity QTY    the node's memory (capacity and allocatable), instead of the\n"
      "                           machine's; memory.available is then QTY minus what the pods use\n"
      "  --housekeeping-interval DURATION\n"
      "                           how often memory is looked at (default 10s)\n"
      "  --heartbeat-interval DURATION\n"
      "                           how often the Lease is renewed and the Node's status compared\n"
      "                           with the node's (default 10s; keep it well under the server's\n"
      "                           --node-monitor-grace-period)\n"
      "  --node-status-report-frequency DURATION\n"
      "                           how often the Node's status is sent while nothing in it\n"
      "                           changes (default 5m; a change is sent on the next heartbeat)\n"
      "\n"
      "DURATION is a number with a unit (ms, s, m, h), or several (1m30s). QTY is a Kubernetes\n"
      "quantity (512Mi, 2Gi, 1G).\n";

/* The first line of FILE, without surrounding whitespace. */
static int read_token_file(const char *path, char **out)
{
  berr_t err = BERR_INIT;
  size_t len;
  if (fs_read_file(path, 64 * 1024, out, &len, &err) < 0) {
    berr_wrap(&err, "token file");
    return cli_fail(&err);
  }
  char *s = *out;
  s[strcspn(s, "\r\n")] = '\0';
  len = strlen(s);
  while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
    s[--len] = '\0';
  size_t lead = strspn(s, " \t");
  memmove(s, s + lead, len - lead + 1);
  return 0;
}

int cli_agent(cli_ctx *ctx, int argc, char **argv)
{
  enum {
    O_SERVER = 256,
    O_TOKEN,
    O_TOKEN_FILE,
    O_DATA_DIR,
    O_NODE_NAME,
    O_NODE_IP,
    O_LISTEN,
    O_POD_CIDR,
    O_BRIDGE,
    O_LABEL,
    O_MAX_PODS,
    O_BACKOFF_BASE,
    O_BACKOFF_MAX,
    O_EVICTION_HARD,
    O_MEMORY_CAPACITY,
    O_HOUSEKEEPING,
    O_HEARTBEAT,
    O_STATUS_REPORT,
  };
  static const struct option opts[] = {
    { "server", required_argument, NULL, O_SERVER },
    { "token", required_argument, NULL, O_TOKEN },
    { "token-file", required_argument, NULL, O_TOKEN_FILE },
    { "data-dir", required_argument, NULL, O_DATA_DIR },
    { "node-name", required_argument, NULL, O_NODE_NAME },
    { "node-ip", required_argument, NULL, O_NODE_IP },
    { "listen", required_argument, NULL, O_LISTEN },
    { "pod-cidr", required_argument, NULL, O_POD_CIDR },
    { "bridge", required_argument, NULL, O_BRIDGE },
    { "node-label", required_argument, NULL, O_LABEL },
    { "max-pods", required_argument, NULL, O_MAX_PODS },
    { "backoff-base", required_argument, NULL, O_BACKOFF_BASE },
    { "backoff-max", required_argument, NULL, O_BACKOFF_MAX },
    { "eviction-hard", required_argument, NULL, O_EVICTION_HARD },
    { "memory-capacity", required_argument, NULL, O_MEMORY_CAPACITY },
    { "housekeeping-interval", required_argument, NULL, O_HOUSEKEEPING },
    { "heartbeat-interval", required_argument, NULL, O_HEARTBEAT },
    { "node-status-report-frequency", required_argument, NULL, O_STATUS_REPORT },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  agent_opts_t o = { .data_dir = AGENT_DEFAULT_DATA_DIR,
                     .listen = AGENT_DEFAULT_LISTEN,
                     .engine_root = ctx->root };
  cleanup_strv char **labels = NULL;
  cleanup_free char *file_token = NULL;
  const char *token_file = NULL;
  int64_t v;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
    switch (c) {
    case O_SERVER:
      o.server = optarg;
      break;
    case O_TOKEN:
      o.token = optarg;
      break;
    case O_TOKEN_FILE:
      token_file = optarg;
      break;
    case O_DATA_DIR:
      o.data_dir = optarg;
      break;
    case O_NODE_NAME:
      o.node_name = optarg;
      break;
    case O_NODE_IP:
      o.node_ip = optarg;
      break;
    case O_LISTEN:
      o.listen = optarg;
      break;
    case O_POD_CIDR:
      o.pod_cidr = optarg;
      break;
    case O_BRIDGE:
      o.bridge = optarg;
      break;
    case O_LABEL:
      if (!strchr(optarg, '=') || optarg[0] == '=')
        return cli_usage_error("agent", "invalid --node-label \"%s\": want KEY=VALUE", optarg);
      strv_push(&labels, optarg);
      break;
    case O_MAX_PODS:
      if (parse_int64(optarg, &v, NULL) < 0 || v < 1 || v > 100000)
        return cli_usage_error("agent", "invalid --max-pods \"%s\": want a number from 1 to 100000",
                               optarg);
      o.max_pods = v;
      break;
    case O_BACKOFF_BASE:
    case O_BACKOFF_MAX:
      if (cli_parse_duration("agent", c == O_BACKOFF_BASE ? "--backoff-base" : "--backoff-max",
                             optarg, &v)
          < 0)
        return 2;
      if (v < 1000000)
        return cli_usage_error("agent", "invalid %s \"%s\": want at least 1ms",
                               c == O_BACKOFF_BASE ? "--backoff-base" : "--backoff-max", optarg);
      if (c == O_BACKOFF_BASE)
        o.backoff_base_ms = v / 1000000;
      else
        o.backoff_max_ms = v / 1000000;
      break;
    case O_EVICTION_HARD:
      o.eviction_hard = optarg; /* checked by the agent, which knows the syntax */
      break;
    case O_MEMORY_CAPACITY: {
      api_quantity_t q;
      berr_t qerr = BERR_INIT;
      if (api_quantity_parse(optarg, &q, &qerr) < 0 || api_quantity_value(&q) < 1024 * 1024) {
        cleanup_free char *why = qerr.msg ? xstrdup(qerr.msg) : xstrdup("want at least 1Mi");
        berr_clear(&qerr);
        return cli_usage_error("agent", "invalid --memory-capacity \"%s\": %s", optarg, why);
      }
      o.memory_capacity = api_quantity_value(&q);
      break;
    }
    case O_HOUSEKEEPING:
    case O_HEARTBEAT:
    case O_STATUS_REPORT: {
      const char *flag = c == O_HEARTBEAT       ? "--heartbeat-interval"
                         : c == O_STATUS_REPORT ? "--node-status-report-frequency"
                                                : "--housekeeping-interval";
      if (cli_parse_duration("agent", flag, optarg, &v) < 0)
        return 2;
      if (v < 100000000)
        return cli_usage_error("agent", "invalid %s \"%s\": want at least 100ms", flag, optarg);
      *(c == O_HEARTBEAT       ? &o.heartbeat_ms
        : c == O_STATUS_REPORT ? &o.status_report_ms
                               : &o.housekeeping_ms)
          = v / 1000000;
      break;
    }
    case 'h':
      fputs(usage_text, stdout);
      return 0;
    default:
      return cli_bad_option("agent", c, argv, opts);
    }
  }
  if (optind < argc)
    return cli_usage_error("agent", "unexpected argument \"%s\"", argv[optind]);
  if (!o.server)
    return cli_usage_error("agent", "--server is required");
  if (o.token && token_file)
    return cli_usage_error("agent", "--token and --token-file are exclusive");
  if (token_file) {
    int rc = read_token_file(token_file, &file_token);
    if (rc)
      return rc;
    o.token = file_token;
  }
  if (!o.token || !*o.token)
    return cli_usage_error("agent", "a join token is required (--token or --token-file)");
  o.labels = labels;
  berr_t err = BERR_INIT;
  if (agent_run(&o, &err) < 0)
    return cli_fail(&err);
  return 0;
}
