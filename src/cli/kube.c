/* kube.c — the cluster verbs' front door: which verbs exist, the options
 * they all take, the kubeconfig and the client. The verbs themselves live
 * in kube_get.c, kube_describe.c, kube_apply.c, kube_create.c, kube_exec.c,
 * kube_rollout.c and kube_node.c; they talk to the API server only through src/net/client.h. */
#include "cli/kube.h"

#include <stdlib.h>
#include <string.h>

static const char kube_usage[]
    = "Cluster commands talk to a berth (or any Kubernetes) API server, the way\n"
      "kubectl does. Each takes:\n"
      "\n"
      "      --kubeconfig FILE   the kubeconfig (default: $KUBECONFIG, ~/.berth/config,\n"
      "                          ~/.kube/config)\n"
      "  -n, --namespace NS      the namespace (default: the context's, or \"default\")\n"
      "      --server URL        the API server, overriding the kubeconfig's\n"
      "      --token TOKEN       the bearer token, overriding the kubeconfig's\n"
      "\n"
      "Commands:\n"
      "  get       list objects or show some (tables, -o json|yaml|name|wide, -w)\n"
      "  describe  show objects in detail, with their events\n"
      "  apply     create or update objects from manifests (client-side apply)\n"
      "  create    create objects from manifests, or a namespace, configmap, secret\n"
      "  delete    delete objects and wait until they are gone\n"
      "  logs      print a pod's container output\n"
      "  exec      run a command in a pod's container\n"
      "  run       create a pod running one image\n"
      "  events    list events, oldest first\n"
      "  nodes     list the nodes (berth get nodes)\n"
      "  scale     set the replicas of a deployment or replicaset\n"
      "  rollout   follow, list, undo, pause, resume or restart a rollout\n"
      "  cordon    mark a node unschedulable (uncordon: schedulable again)\n"
      "  drain     cordon a node and evict its pods\n"
      "\n"
      "Run 'berth COMMAND --help' for a command's options.\n";

static const struct {
  const char *verb;
  int (*fn)(kube_t *k, int argc, char **argv);
} verbs[] = {
  { "get", kube_cmd_get },        { "describe", kube_cmd_describe },
  { "apply", kube_cmd_apply },    { "create", kube_cmd_create },
  { "delete", kube_cmd_delete },  { "logs", kube_cmd_logs },
  { "exec", kube_cmd_exec },      { "run", kube_cmd_run },
  { "events", kube_cmd_events },  { "nodes", NULL /* get nodes */ },
  { "scale", kube_cmd_scale },    { "rollout", kube_cmd_rollout },
  { "cordon", kube_cmd_cordon },  { "uncordon", kube_cmd_uncordon },
  { "drain", kube_cmd_drain },
  { "cluster", NULL /* help */ },
};

bool cli_kube_verb(const char *verb)
{
  for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
    if (!strcmp(verbs[i].verb, verb))
      return true;
  return false;
}

int cli_kube(cli_ctx *ctx, int argc, char **argv)
{
  (void)ctx;
  kube_t k = { .verb = argv[0] };
  int rc = 2;
  if (!strcmp(argv[0], "cluster")) {
    fputs(kube_usage, argc > 1 && strcmp(argv[1], "--help") ? stderr : stdout);
    return argc > 1 && strcmp(argv[1], "--help") ? 2 : 0;
  }
  if (!strcmp(argv[0], "nodes")) {
    /* berth nodes [OPTIONS] = berth get nodes [OPTIONS] */
    char **v = xcalloc((size_t)argc + 2, sizeof *v);
    v[0] = "get";
    v[1] = "nodes";
    for (int i = 1; i < argc; i++)
      v[i + 1] = argv[i];
    k.verb = "get";
    rc = kube_cmd_get(&k, argc + 1, v);
    free(v);
    kube_free(&k);
    return rc;
  }
  for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
    if (verbs[i].fn && !strcmp(verbs[i].verb, argv[0]))
      rc = verbs[i].fn(&k, argc, argv);
  kube_free(&k);
  fflush(stdout);
  return rc;
}

bool kube_common_opt(kube_t *k, int c, const char *arg)
{
  switch (c) {
  case KOPT_KUBECONFIG:
    k->kubeconfig = arg;
    return true;
  case 'n':
    k->ns_flag = arg;
    return true;
  case KOPT_SERVER:
    k->server = arg;
    return true;
  case KOPT_TOKEN:
    k->token = arg;
    return true;
  default:
    return false;
  }
}

int kube_fail(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

int kube_fail_err(berr_t *err)
{
  kube_fail("%s", err->msg ? err->msg : "unknown error");
  berr_clear(err);
  return 1;
}

int kube_connect(kube_t *k)
{
  if (k->kc)
    return 0;
  berr_t err = BERR_INIT;
  kc_config_t cfg = { 0 };
  if (kc_config_load(k->kubeconfig, &cfg, &err) < 0) {
    /* --server alone is enough (with system CAs and --token). */
    if (!k->server || k->kubeconfig) {
      kube_fail_err(&err);
      return -1;
    }
    berr_clear(&err);
  }
  if (k->server) {
    free(cfg.server);
    cfg.server = xstrdup(k->server);
    size_t n = strlen(cfg.server);
    while (n > 0 && cfg.server[n - 1] == '/')
      cfg.server[--n] = '\0';
  }
  if (k->token) {
    free(cfg.token);
    cfg.token = xstrdup(k->token);
  }
  if (!cfg.server || !*cfg.server) {
    kc_config_free(&cfg);
    kube_fail("the kubeconfig names no server; pass --server URL");
    return -1;
  }
  free(k->ns);
  k->ns = xstrdup(k->ns_flag                        ? k->ns_flag
                  : cfg.namespace && *cfg.namespace ? cfg.namespace
                                                    : "default");
  int rc = kc_new(&cfg, &k->kc, &err);
  kc_config_free(&cfg);
  if (rc < 0) {
    kube_fail_err(&err);
    return -1;
  }
  return 0;
}

void kube_free(kube_t *k)
{
  for (size_t i = 0; i < k->n_res; i++) {
    kube_res_t *r = &k->res[i];
    free(r->group);
    free(r->version);
    free(r->resource);
    free(r->singular);
    free(r->kind);
    strv_free(r->short_names);
    strv_free(r->categories);
  }
  free(k->res);
  free(k->ns);
  if (k->kc)
    kc_free(k->kc);
  memset(k, 0, sizeof *k);
}

void kube_split_dash(int argc, char **argv, int *dash_argc, char ***rest, int *n_rest)
{
  *dash_argc = argc;
  *rest = argv + argc;
  *n_rest = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) {
      *dash_argc = i;
      *rest = argv + i + 1;
      *n_rest = argc - i - 1;
      return;
    }
  }
}
