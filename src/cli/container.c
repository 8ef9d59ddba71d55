/* container.c — `berth container VERB`: the dispatcher and the verbs that
 * look at or end containers (ls, logs, inspect, stop, kill, rm, prune,
 * start). run, create, exec and stats live in container_run.c. Everything
 * here parses, calls src/engine/ and prints like docker. */
#include "cli/container.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[]
    = "Usage: berth container COMMAND [OPTIONS] [ARGS…]\n"
      "\n"
      "Run and manage containers made from images (see 'berth image').\n"
      "\n"
      "Commands:\n"
      "  run      create and start a container from an image\n"
      "  create   create a container without starting it\n"
      "  start    start created or exited containers\n"
      "  ls       list containers (alias: ps)\n"
      "  logs     print a container's output\n"
      "  exec     run a command in a running container\n"
      "  stop     stop containers (SIGTERM, then SIGKILL after a grace period)\n"
      "  kill     send a signal to containers\n"
      "  rm       remove containers\n"
      "  prune    remove every container that is not running\n"
      "  inspect  show containers as JSON\n"
      "  stats    show CPU, memory and pids usage\n"
      "\n"
      "A container is named by its id, a unique prefix of it (3 or more characters)\n"
      "or its name. State lives in ROOT/containers (ROOT: --root, $BERTH_ROOT or\n"
      "/var/lib/berth), the state of the processes in ROOT/run, a tmpfs berth mounts:\n"
      "after a reboot, containers that had been started show as exited.\n"
      "Run 'berth container COMMAND --help' for a command's options.\n";

engine *cli_engine_open(cli_ctx *ctx)
{
  engine *e = NULL;
  berr_t err = BERR_INIT;
  if (engine_open(ctx->root, &e, &err) < 0) {
    berr_print(&err);
    return NULL;
  }
  return e;
}

static void cleanup_enginep(engine **e)
{
  engine_close(*e);
}
#define cleanup_engine __attribute__((cleanup(cleanup_enginep)))

/* Calls fn for every container named in argv[optind…]; errors are printed
 * and the others still handled. Returns 0 or 125. */
typedef int (*each_fn)(engine *e, const char *id, void *arg, berr_t *err);

static int for_each_ref(engine *e, char **refs, int n, each_fn fn, void *arg, bool echo)
{
  int rc = 0;
  for (int i = 0; i < n; i++) {
    berr_t err = BERR_INIT;
    cleanup_free char *id = NULL;
    if (engine_lookup(e, refs[i], &id, &err) < 0 || fn(e, id, arg, &err) < 0) {
      berr_print(&err);
      rc = 125;
      continue;
    }
    if (echo)
      puts(refs[i]);
  }
  return rc;
}

/* ---- ls ------------------------------------------------------------------------ */

static const char ls_usage[] = "Usage: berth container ls [OPTIONS]\n"
                               "\n"
                               "List containers, newest first (running ones unless -a).\n"
                               "\n"
                               "  -a, --all        show every container\n"
                               "  -q, --quiet      print ids only\n"
                               "      --no-trunc   do not shorten ids and commands\n";

/* Shortens s to max characters (ending in "…") unless no_trunc. */
static char *trunc_str(const char *s, size_t max, bool no_trunc)
{
  if (no_trunc || strlen(s) <= max)
    return xstrdup(s);
  return xasprintf("%.*s…", (int)(max - 1), s);
}

/* Display width of UTF-8 text: counts characters, not bytes. */
static size_t text_width(const char *s)
{
  size_t n = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xc0) != 0x80)
      n++;
  return n;
}

static int cmd_ls(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
                                        { "quiet", no_argument, NULL, 'q' },
                                        { "no-trunc", no_argument, NULL, 'T' },
                                        { "help", no_argument, NULL, 'h' },
                                        { 0 } };
  bool all = false, quiet = false, no_trunc = false;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, "+:aqh", opts, NULL)) != -1) {
    switch (c) {
    case 'a':
      all = true;
      break;
    case 'q':
      quiet = true;
      break;
    case 'T':
      no_trunc = true;
      break;
    case 'h':
      fputs(ls_usage, stdout);
      return 0;
    default:
      return cli_bad_option("container ls", c, argv, opts);
    }
  }
  if (optind < argc)
    return cli_usage_error("container ls", "ls takes no arguments (got \"%s\")", argv[optind]);
  cleanup_engine engine *e = cli_engine_open(ctx);
  if (!e)
    return 125;
  engine_info *v = NULL;
  size_t n = 0;
  berr_t err = BERR_INIT;
  if (engine_list(e, all, &v, &n, &err) < 0)
    return cli_fail(&err);
  if (quiet) {
    for (size_t i = 0; i < n; i++)
      printf("%.*s\n", no_trunc ? 64 : 12, v[i].id);
    engine_infos_free(v, n);
    return 0;
  }
  enum { NCOL = 6 };
  static const char *const heads[NCOL]
      = { "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES" };
  char *(*cells)[NCOL] = xcalloc(n + 1, sizeof *cells);
  size_t w[NCOL];
  for (int k = 0; k < NCOL; k++)
    w[k] = strlen(heads[k]);
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *cmd = trunc_str(v[i].command, 20, no_trunc);
    cells[i][0] = xstrndup(v[i].id, no_trunc ? 64 : 12);
    cells[i][1] = xstrdup(v[i].image);
    cells[i][2] = xasprintf("\"%s\"", cmd);
    cells[i][3] = time_ago(v[i].created_ns);
    cells[i][4] = engine_status_text(&v[i]);
    cells[i][5] = xstrdup(v[i].name);
    for (int k = 0; k < NCOL; k++)
      if (text_width(cells[i][k]) > w[k])
        w[k] = text_width(cells[i][k]);
  }
  for (size_t i = 0; i <= n; i++) {
    for (int k = 0; k < NCOL; k++) {
      const char *s = i == 0 ? heads[k] : cells[i - 1][k];
      if (k == NCOL - 1)
        printf("%s\n", s);
      else
        printf("%s%*s", s, (int)(w[k] - text_width(s) + 3), "");
    }
  }
  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < NCOL; k++)
      free(cells[i][k]);
  free(cells);
  engine_infos_free(v, n);
  return 0;
}

/* ---- logs ------------------------------------------------------------------------ */

static const char logs_usage[]
    = "Usage: berth container logs [OPTIONS] CONTAINER\n"
      "\n"
      "Print a container's output (stdout to stdout, stderr to stderr).\n"
      "\n"
      "  -f, --follow       keep printing until the container stops\n"
      "  -n, --tail N       only the last N lines (default: all)\n"
      "  -t, --timestamps   prefix every line with its RFC 3339 time\n";

static int cmd_logs(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = { { "follow", no_argument, NULL, 'f' },
                                        { "tail", required_argument, NULL, 'n' },
                                        { "timestamps", no_argument, NULL, 't' },
                                        { "help", no_argument, NULL, 'h' },
                                        { 0 } };
  rt_logs_opts lo = { .tail = -1 };
  berr_t err = BERR_INIT;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, "+:fn:th", opts, NULL)) != -1) {
    switch (c) {
    case 'f':
      lo.follow = true;
      break;
    case 't':
      lo.timestamps = true;
      break;
    case 'n':
      if (!strcmp(optarg, "all")) {
        lo.tail = -1;
      } else if (parse_int64(optarg, &lo.tail, &err) < 0 || lo.tail < 0) {
        berr_clear(&err);
        return cli_usage_error("container logs", "invalid --tail \"%s\": a number or \"all\"",
                               optarg);
      }
      break;
    case 'h':
      fputs(logs_usage, stdout);
      return 0;
    default:
      return cli_bad_option("container logs", c, argv, opts);
    }
  }
  if (argc - optind != 1)
    return cli_usage_error("container logs", "logs needs exactly one container");
  cleanup_engine engine *e = cli_engine_open(ctx);
  if (!e)
    return 125;
  cleanup_free char *id = NULL;
  fflush(stdout);
  if (engine_lookup(e, argv[optind], &id, &err) < 0
      || engine_logs(e, id, &lo, STDOUT_FILENO, STDERR_FILENO, &err) < 0)
    return cli_fail(&err);
  return 0;
}

/* ---- inspect --------------------------------------------------------------------- */

static const char inspect_usage[]
    = "Usage: berth container inspect [OPTIONS] CONTAINER…\n"
      "\n"
      "Show containers as a JSON array (docker's field names).\n"
      "\n"
      "  -f, --format TEMPLATE   print TEMPLATE per container, with {{.Field.Sub}} replaced\n"
      "                          by that field (strings raw, anything else as JSON)\n";

static void print_template(const char *tpl, json_t *obj)
{
  const char *p = tpl;
  while (*p) {
    const char *open = strstr(p, "{{");
    const char *close = open ? strstr(open, "}}") : NULL;
    if (!open || !close) {
      fputs(p, stdout);
      break;
    }
    fwrite(p, 1, (size_t)(open - p), stdout);
    cleanup_free char *expr = xstrndup(open + 2, (size_t)(close - open - 2));
    char *s = expr;
    while (*s == ' ')
      s++;
    for (char *end = s + strlen(s); end > s && end[-1] == ' ';)
      *--end = '\0';
    json_t *v = obj;
    if (strcmp(s, ".")) {
      for (char *q = s, *tok; v && (tok = strsep(&q, "."));)
        if (*tok)
          v = json_object_get(v, tok);
    }
    if (json_is_string(v)) {
      fputs(json_string_value(v), stdout);
    } else if (v) {
      cleanup_free char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
      fputs(d ? d : "", stdout);
    } else {
      fputs("<no value>", stdout);
    }
    p = close + 2;
  }
  putchar('\n');
}

static int cmd_inspect(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[]
      = { { "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, { 0 } };
  const char *format = NULL;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, "+:f:h", opts, NULL)) != -1) {
    if (c == 'f')
      format = optarg;
    else if (c == 'h')
      return fputs(inspect_usage, stdout), 0;
    else
      return cli_bad_option("container inspect", c, argv, opts);
  }
  if (optind >= argc)
    return cli_usage_error("container inspect", "inspect needs at least one container");
  cleanup_engine engine *e = cli_engine_open(ctx);
  if (!e)
    return 125;
  cleanup_json json_t *arr = json_array();
  int rc = 0;
  for (int i = optind; i < argc; i++) {
    berr_t err = BERR_INIT;
    cleanup_free char *id = NULL;
    json_t *o = NULL;
    if (engine_lookup(e, argv[i], &id, &err) < 0 || engine_inspect(e, id, &o, &err) < 0) {
      berr_print(&err);
      rc = 125;
      continue;
    }
    if (format)
      print_template(format, o);
    json_array_append_new(arr, o);
  }
  if (!format) {
    cleanup_free char *s = json_dumps(arr, JSON_INDENT(4));
    puts(s ? s : "[]");
  }
  return rc;
}

/* ---- stop, kill, rm, start, prune ----------------------------------------------- */

static const char stop_usage[]
    = "Usage: berth container stop [OPTIONS] CONTAINER…\n"
      "\n"
      "Send SIGTERM (or the image's StopSignal), wait, then SIGKILL.\n"
      "\n"
      "  -t, --time SEC       seconds to wait before killing (default 10)\n"
      "  -s, --signal SIG     signal to send first (default TERM or the image's)\n";

typedef struct stop_args {
  int sig, timeout;
} stop_args;

static int stop_one(engine *e, const char *id, void *arg, berr_t *err)
{
  stop_args *a = arg;
  return engine_stop(e, id, a->sig, a->timeout, err);
}

static int cmd_stop(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = { { "time", required_argument, NULL, 't' },
                                        { "signal", required_argument, NULL, 's' },
                                        { "help", no_argument, NULL, 'h' },
                                        { 0 } };
  stop_args a = { .sig = 0, .timeout = 10 };
  berr_t err = BERR_INIT;
  int64_t v;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, "+:t:s:h", opts, NULL)) != -1) {
    switch (c) {
    case 't':
      if (parse_int64(optarg, &v, &err) < 0 || v < 0 || v > 86400) {
        berr_clear(&err);
        return cli_usage_error("container stop", "invalid --time \"%s\": seconds (0–86400)",
                               optarg);
      }
      a.timeout = (int)v;
      break;
    case 's':
      if (rt_parse_signal(optarg, &a.sig, &err) < 0)
        return cli_fail(&err);
      break;
    case 'h':
      fputs(stop_usage, stdout);
      return 0;
    default:
      return cli_bad_option("container stop", c, argv, opts);
    }
  }
  if (optind >= argc)
    return cli_usage_error("container stop", "stop needs at least one container");
  cleanup_engine engine *e = cli_engine_open(ctx);
  if (!e)
    return 125;
  return for_each_ref(e, argv + optind, argc - optind, stop_one, &a, true);
}

static const char kill_usage[] = "Usage: berth container kill [OPTIONS] CONTAINER…\n"
                                 "\n"
                                 "Send a signal to running containers.\n"
                                 "\n"
                                 "  -s, --signal SIG   signal name or number (default KILL)\n";

static int kill_one(engine *e, const char *id, void *arg, berr_t *err)
{
  return engine_kill(e, id, *(int *)arg, err);
}

static int cmd_kill(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[]
      = { { "signal", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' }, { 0 } };
  int sig = SIGKILL, c;
  berr_t err = BERR_INIT;
  optind = 0;
  while ((c = getopt_long(argc, argv, "+:s:h", opts, NULL)) != -1) {
    if (c == 's') {
      if (rt_parse_signal(optarg, &sig, &err) < 0)
        return cli_fail(&err);
    } else if (c == 'h') {
      fputs(kill_usage, stdout);
      return 0;
    } else {
      return cli_bad_option("container kill", c, argv, opts);
    }
  }
  if (optind >= argc)
    return cli_usage_error("container kill", "kill needs at least one container");
  cleanup_engine engine *e = cli_engine_open(ctx);
  if (!e)
    return 125;
  return for_each_ref(e, argv + optind, argc - optind, kill_one, &sig, true);
}

static const char rm_usage[] = "Usage: berth container rm [OPTIONS] CONTAINER…\n"
                               "\n"
                               "Remove containers: their state, cgroups, logs and writable layer.\n"
                               "\n"
                               "  -f, --force   kill a running container first\n";

static int rm_one(engine *e, const char *id, void *arg, berr_t *err)
{
  return engine_remove(e, id, *(bool *)arg, err);
}

static int cmd_rm(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[]
      = { { "force", no_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, { 0 } };
  bool force = false;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, "+:fh", opts, NULL)) != -1) {
    if (c == 'f')
      force = true;
    else if (c == 'h')
      return fputs(rm_usage, stdout), 0;
    else
      return cli_bad_option("container rm", c, argv, opts);
  }
  if (optind >= argc)
    return cli_usage_error("container rm", "rm needs at least one container");
  cleanup_engine engine *e = cli_engine_open(ctx);
  if (!e)
    return 125;
  return for_each_ref(e, argv + optind, argc - optind, rm_one, &force, true);
}

static const char start_usage[]
    = "Usage: berth container start CONTAINER…\n"
      "\n"
      "Start containers in the background: created ones, and exited ones again (the\n"
      "same writable layer; the log goes on).\n";

static int start_one(engine *e, const char *id, void *arg, berr_t *err)
{
  return engine_start(e, id, err);
}

static int cmd_start(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
    if (c == 'h')
      return fputs(start_usage, stdout), 0;
    return cli_bad_option("container start", c, argv, opts);
  }
  if (optind >= argc)
    return cli_usage_error("container start", "start needs at least one container");
  cleanup_engine engine *e = cli_engine_open(ctx);
  if (!e)
    return 125;
  return for_each_ref(e, argv + optind, argc - optind, start_one, NULL, true);
}

static const char prune_usage[]
    = "Usage: berth container prune [-f]\n"
      "\n"
      "Remove every container that is not running (exited, or created and never\n"
      "started) and print their ids.\n";

static int cmd_prune(cli_ctx *ctx, int argc, char **argv)
{
  /* -f: docker's "do not ask"; berth never asks. */
  static const struct option opts[]
      = { { "force", no_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, { 0 } };
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, "+:fh", opts, NULL)) != -1) {
    if (c == 'h')
      return fputs(prune_usage, stdout), 0;
    if (c != 'f')
      return cli_bad_option("container prune", c, argv, opts);
  }
  if (optind < argc)
    return cli_usage_error("container prune", "prune takes no arguments (got \"%s\")",
                           argv[optind]);
  cleanup_engine engine *e = cli_engine_open(ctx);
  if (!e)
    return 125;
  cleanup_strv char **removed = NULL;
  berr_t err = BERR_INIT;
  int r = engine_prune(e, &removed, &err);
  if (removed && removed[0]) {
    puts("Deleted Containers:");
    for (size_t i = 0; removed[i]; i++)
      puts(removed[i]);
  }
  printf("Total: %zu container%s removed\n", strv_len(removed), strv_len(removed) == 1 ? "" : "s");
  if (r < 0)
    return cli_fail(&err);
  return 0;
}

/* ---- dispatch ------------------------------------------------------------------------ */

int cli_container(cli_ctx *ctx, int argc, char **argv)
{
  if (argc < 2) {
    fputs(usage_text, stderr);
    return 2;
  }
  const char *verb = argv[1];
  int vargc = argc - 1;
  char **vargv = argv + 1;
  if (!strcmp(verb, "--help") || !strcmp(verb, "-h") || !strcmp(verb, "help")) {
    fputs(usage_text, stdout);
    return 0;
  }
  if (!strcmp(verb, "run"))
    return cli_container_run(ctx, vargc, vargv, false);
  if (!strcmp(verb, "create"))
    return cli_container_run(ctx, vargc, vargv, true);
  if (!strcmp(verb, "exec"))
    return cli_container_exec(ctx, vargc, vargv);
  if (!strcmp(verb, "stats"))
    return cli_container_stats(ctx, vargc, vargv);
  if (!strcmp(verb, "ls") || !strcmp(verb, "ps") || !strcmp(verb, "list"))
    return cmd_ls(ctx, vargc, vargv);
  if (!strcmp(verb, "logs"))
    return cmd_logs(ctx, vargc, vargv);
  if (!strcmp(verb, "inspect"))
    return cmd_inspect(ctx, vargc, vargv);
  if (!strcmp(verb, "stop"))
    return cmd_stop(ctx, vargc, vargv);
  if (!strcmp(verb, "kill"))
    return cmd_kill(ctx, vargc, vargv);
  if (!strcmp(verb, "rm") || !strcmp(verb, "remove"))
    return cmd_rm(ctx, vargc, vargv);
  if (!strcmp(verb, "start"))
    return cmd_start(ctx, vargc, vargv);
  if (!strcmp(verb, "prune"))
    return cmd_prune(ctx, vargc, vargv);
  return cli_usage_error("container", "unknown command \"container %s\"", verb);
}
