/* main.c — berth: one binary, many verbs. Parses the options every command
 * shares and hands the rest to the verb's file in src/cli/. */
#include "cli/cli.h"
#include "engine/engine.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define BERTH_VERSION "0.1.0"

static void usage(FILE *out)
{
  fputs("Usage: berth [--root DIR] [--log-level LEVEL] COMMAND [ARGS…]\n"
        "\n"
        "Commands:\n"
        "  container   run and manage containers (run, ls, logs, exec, stop, kill, rm, inspect,\n"
        "              stats, prune)\n"
        "  image       manage images (ls, load, save, import, inspect, tag, rm, prune)\n"
        "  runtime     the OCI runtime: run an OCI bundle (create, start, state, kill, delete,\n"
        "              run, exec, list)\n"
        "  server      run the Kubernetes-compatible API server (HTTPS, kubectl works)\n"
        "  agent       join a cluster as a node and run its pods\n"
        "  version     print the version\n"
        "\n"
        "Cluster commands (through a kubeconfig: --kubeconfig, $KUBECONFIG, ~/.berth/config):\n"
        "  get, describe, apply, create, delete, logs, exec, run, events, nodes, scale,\n"
        "  rollout, cordon, uncordon, drain\n"
        "\n"
        "Global options:\n"
        "  --root DIR         engine state (default /var/lib/berth, or $BERTH_ROOT)\n"
        "  --log-level LEVEL  error, warn (default), info or debug\n"
        "\n"
        "Run 'berth COMMAND --help' for a command's options.\n",
        out);
}

static bool kube_global_option(const char *a)
{
  static const char *const opts[] = { "--kubeconfig", "-n", "--namespace", "--server", "--token" };
  for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
    size_t n = strlen(opts[k]);
    if (!strncmp(a, opts[k], n) && (a[n] == '\0' || a[n] == '='))
      return true;
  }
  return false;
}

int main(int argc, char **argv)
{
  cli_ctx ctx = { .root = getenv("BERTH_ROOT"), .prog = "berth" };
  if (!ctx.root || !*ctx.root)
    ctx.root = "/var/lib/berth";

  /* kubectl's habit: `berth --kubeconfig F -n NS get pods`. These options
   * belong to the cluster verbs; they are moved after the verb. */
  cleanup_strv char **moved = NULL;
  cleanup_strv char **v = NULL; /* the verb's argv when options moved */
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--version")) {
      puts("berth version " BERTH_VERSION);
      return 0;
    } else if ((!strcmp(a, "--root") || !strcmp(a, "--log-level")) && i + 1 < argc) {
      if (!strcmp(a, "--root")) {
        ctx.root = argv[++i];
      } else {
        enum log_level lvl;
        if (log_parse_level(argv[++i], &lvl) < 0)
          return cli_usage_error(NULL, "unknown log level \"%s\" (error, warn, info, debug)",
                                 argv[i]);
        log_set_level(lvl);
      }
    } else if (str_has_prefix(a, "--root=")) {
      ctx.root = a + strlen("--root=");
    } else if (kube_global_option(a) && (strchr(a, '=') || i + 1 < argc)) {
      strv_push(&moved, a);
      if (!strchr(a, '='))
        strv_push(&moved, argv[++i]);
    } else {
      return cli_usage_error(NULL, "unknown global option \"%s\"", a);
    }
  }
  if (i >= argc) {
    usage(stderr);
    return 2;
  }
  const char *verb = argv[i];
  int vargc = argc - i;
  char **vargv = argv + i;
  if (moved) {
    if (!cli_kube_verb(verb))
      return cli_usage_error(NULL, "%s goes with a cluster command (get, apply, logs…)", moved[0]);
    /* verb, the moved options, the rest. */
    strv_push(&v, verb);
    for (size_t k = 0; moved[k]; k++)
      strv_push(&v, moved[k]);
    for (int k = 1; k < vargc; k++)
      strv_push(&v, vargv[k]);
    vargc = (int)strv_len(v);
    vargv = v;
  }
  if (!strcmp(verb, "container"))
    return cli_container(&ctx, vargc, vargv);
  if (!strcmp(verb, "image"))
    return cli_image(&ctx, vargc, vargv);
  if (!strcmp(verb, "images")) {
    char *ls[] = { "image", "ls", NULL };
    return cli_image(&ctx, 2, ls);
  }
  if (!strcmp(verb, "runtime"))
    return cli_runtime(&ctx, vargc, vargv);
  if (!strcmp(verb, "server"))
    return cli_server(&ctx, vargc, vargv);
  if (!strcmp(verb, ENGINE_SPAWNER_VERB) && vargc == 2)
    engine_spawner_main(vargv[1]);
  if (!strcmp(verb, "agent"))
    return cli_agent(&ctx, vargc, vargv);
  if (cli_kube_verb(verb))
    return cli_kube(&ctx, vargc, vargv);
  if (!strcmp(verb, "version")) {
    puts("berth version " BERTH_VERSION);
    return 0;
  }
  if (!strcmp(verb, "help")) {
    if (vargc > 1) {
      char *h[] = { vargv[1], "--help", NULL };
      if (!strcmp(vargv[1], "container"))
        return cli_container(&ctx, 2, h);
      if (!strcmp(vargv[1], "image"))
        return cli_image(&ctx, 2, h);
      if (!strcmp(vargv[1], "runtime"))
        return cli_runtime(&ctx, 2, h);
      if (!strcmp(vargv[1], "server"))
        return cli_server(&ctx, 2, h);
      if (!strcmp(vargv[1], "agent"))
        return cli_agent(&ctx, 2, h);
      if (cli_kube_verb(vargv[1]))
        return cli_kube(&ctx, 2, h);
    }
    usage(stdout);
    return 0;
  }
  return cli_usage_error(NULL, "unknown command \"%s\"", verb);
}
