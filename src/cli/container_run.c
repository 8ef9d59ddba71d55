/* container_run.c — `berth container run|create|exec|stats`: the verbs that
 * start processes or watch them. run parses docker's options, lets the engine
 * build the container, and either prints the id (-d) or stays attached and
 * exits with the container's own exit code; signals the CLI receives while
 * attached are passed on to the container, like docker's --sig-proxy. */
#include "cli/container.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

static const char run_usage[]
    = "Usage: berth container run [OPTIONS] IMAGE [COMMAND [ARG…]]\n"
      "       berth container create [OPTIONS] IMAGE [COMMAND [ARG…]]\n"
      "\n"
      "Create a container from an image and start it (create: only create it).\n"
      "Without -d, berth stays attached and exits with the container's exit code\n"
      "(125 when berth itself fails, 126/127 when the command cannot be run).\n"
      "\n"
      "  -d, --detach            run in the background and print the container id\n"
      "      --rm                remove the container when it exits\n"
      "      --name NAME         name the container ([a-zA-Z0-9][a-zA-Z0-9_.-]*)\n"
      "  -e, --env KEY=VALUE     set an environment variable (-e KEY passes berth's own)\n"
      "  -v, --volume H:C[:ro]   bind-mount host path H (absolute, existing) at C\n"
      "  -w, --workdir DIR       working directory in the container\n"
      "  -u, --user U[:G]        user (name or uid) and group to run as\n"
      "  -h, --hostname NAME     host name (default: first 12 digits of the id)\n"
      "      --entrypoint CMD    replace the image's Entrypoint (and drop its Cmd)\n"
      "  -m, --memory SIZE       memory limit, e.g. 64m (at least 6m)\n"
      "      --cpus N            CPU limit, e.g. 0.5 (at most the number of CPUs)\n"
      "      --pids-limit N      maximum number of processes\n"
      "      --read-only         mount the root filesystem read-only\n"
      "      --init              run a small init as pid 1 that reaps zombies\n"
      "  -i, --interactive       keep stdin open and connect it\n"
      "  -t, --tty               allocate a terminal\n"
      "      --log-opt KEY=VALUE log rotation, as docker's: max-size=SIZE rotates the log\n"
      "                          at SIZE (default 10m), max-file=N keeps N files in all\n"
      "                          (default 2)\n";

enum {
  OPT_RM = 256,
  OPT_NAME,
  OPT_ENTRYPOINT,
  OPT_CPUS,
  OPT_PIDS,
  OPT_RO,
  OPT_INIT,
  OPT_HELP,
  OPT_NO_STREAM,
  OPT_LOG_OPT,
};

/* "-e KEY" takes KEY's value from berth's environment (skipped when unset). */
static void add_env(char ***env, const char *arg)
{
  if (strchr(arg, '=')) {
    strv_push(env, arg);
    return;
  }
  const char *v = getenv(arg);
  if (v) {
    cleanup_free char *kv = xasprintf("%s=%s", arg, v);
    strv_push(env, kv);
  }
}

/* The size of the terminal berth runs in (stdout's, else stdin's): a
 * container's terminal starts with it. Left as it is without one. */
static void caller_terminal_size(uint16_t *rows, uint16_t *cols)
{
  struct winsize ws;
  if ((ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row)
      || (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row)) {
    *rows = ws.ws_row;
    *cols = ws.ws_col;
  }
}

/* ---- signal forwarding while attached ---------------------------------------- */

typedef struct forwarder {
  const char *root;
  const char *id;
  sigset_t set;
} forwarder;

/* Ends the forwarder: a signal of its own rather than pthread_cancel, which
 * unwinds through sigwait and upsets the sanitizers. */
#define FWD_QUIT (SIGRTMIN + 2)

static void *forwarder_main(void *arg)
{
  forwarder *f = arg;
  for (;;) {
    int sig = 0;
    if (sigwait(&f->set, &sig) != 0)
      continue;
    if (sig == FWD_QUIT)
      return NULL;
    engine *e = NULL;
    berr_t err = BERR_INIT;
    if (engine_open(f->root, &e, &err) == 0)
      engine_kill(e, f->id, sig, &err);
    log_debug("msg=\"forwarded signal\" id=%s sig=%d", f->id, sig);
    berr_clear(&err);
    engine_close(e);
  }
}

static int run_attached(cli_ctx *ctx, engine *e, const char *id, bool interactive)
{
  forwarder f = { .root = ctx->root, .id = id };
  sigemptyset(&f.set);
  int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
  for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
    sigaddset(&f.set, sigs[i]);
  sigaddset(&f.set, FWD_QUIT);
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &f.set, &old);
  pthread_t th;
  bool have_fwd = pthread_create(&th, NULL, forwarder_main, &f) == 0;

  int code = 0;
  berr_t err = BERR_INIT;
  fflush(stdout);
  int r = engine_run_attached(e, id, interactive ? STDIN_FILENO : -1, STDOUT_FILENO, STDERR_FILENO,
                              &code, &err);
  if (have_fwd) {
    pthread_kill(th, FWD_QUIT);
    pthread_join(th, NULL);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (r < 0)
    return cli_fail(&err);
  return code;
}

/* ---- run and create ------------------------------------------------------------- */

/* What run's options become. Everything is owned here (strings from argv
 * are borrowed) and freed by run_args_free on every way out. */
typedef struct run_args {
  engine_create_opts o;
  bool detach;
  char **env, **entrypoint, **log_opts;
  engine_bind *binds;
  size_t n_binds;
} run_args;

static void run_args_free(run_args *a)
{
  strv_free(a->env);
  strv_free(a->entrypoint);
  strv_free(a->log_opts);
  for (size_t i = 0; i < a->n_binds; i++)
    engine_bind_free(&a->binds[i]);
  free(a->binds);
}

/* What parse_run returns when the command goes on. */
#define RUN_GO (-1)

/* Parses run's options up to the image; returns RUN_GO, or the exit code
 * (0 after --help, 2 or 125 after an error, which it has printed). */
static int parse_run(const char *verb, int argc, char **argv, run_args *a)
{
  static const struct option opts[] = { { "detach", no_argument, NULL, 'd' },
                                        { "rm", no_argument, NULL, OPT_RM },
                                        { "name", required_argument, NULL, OPT_NAME },
                                        { "env", required_argument, NULL, 'e' },
                                        { "volume", required_argument, NULL, 'v' },
                                        { "workdir", required_argument, NULL, 'w' },
                                        { "user", required_argument, NULL, 'u' },
                                        { "hostname", required_argument, NULL, 'h' },
                                        { "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
                                        { "memory", required_argument, NULL, 'm' },
                                        { "cpus", required_argument, NULL, OPT_CPUS },
                                        { "pids-limit", required_argument, NULL, OPT_PIDS },
                                        { "read-only", no_argument, NULL, OPT_RO },
                                        { "init", no_argument, NULL, OPT_INIT },
                                        { "interactive", no_argument, NULL, 'i' },
                                        { "tty", no_argument, NULL, 't' },
                                        { "log-opt", required_argument, NULL, OPT_LOG_OPT },
                                        { "help", no_argument, NULL, OPT_HELP },
                                        { 0 } };
  engine_create_opts *o = &a->o;
  berr_t err = BERR_INIT;
  engine_bind b;
  int64_t log_bytes = 0;
  int log_files = 0, c;
  optind = 0;
  while ((c = getopt_long(argc, argv, "+:de:v:w:u:h:m:it", opts, NULL)) != -1) {
    switch (c) {
    case 'd':
      a->detach = true;
      break;
    case OPT_RM:
      o->auto_remove = true;
      break;
    case OPT_NAME:
      o->name = optarg;
      break;
    case 'e':
      add_env(&a->env, optarg);
      break;
    case 'v':
      if (engine_parse_bind(optarg, &b, &err) < 0)
        return cli_fail(&err);
      a->binds = xrealloc(a->binds, (a->n_binds + 1) * sizeof *a->binds);
      a->binds[a->n_binds++] = b;
      break;
    case 'w':
      o->workdir = optarg;
      break;
    case 'u':
      o->user = optarg;
      break;
    case 'h':
      o->hostname = optarg;
      break;
    case OPT_ENTRYPOINT:
      strv_free(a->entrypoint);
      a->entrypoint = xcalloc(1, sizeof *a->entrypoint);
      if (*optarg)
        strv_push(&a->entrypoint, optarg);
      break;
    case 'm':
      if (engine_parse_memory(optarg, &o->memory, &err) < 0)
        return cli_fail(&err);
      break;
    case OPT_CPUS:
      if (engine_parse_cpus(optarg, &o->nano_cpus, &err) < 0)
        return cli_fail(&err);
      break;
    case OPT_PIDS:
      if (parse_int64(optarg, &o->pids_limit, &err) < 0 || o->pids_limit < -1) {
        berr_clear(&err);
        return cli_usage_error(verb, "invalid --pids-limit \"%s\": a number (0 or -1: unlimited)",
                               optarg);
      }
      if (o->pids_limit < 0)
        o->pids_limit = 0;
      break;
    case OPT_RO:
      o->read_only = true;
      break;
    case OPT_INIT:
      o->init = true;
      break;
    case 'i':
      o->stdin_open = true;
      break;
    case 't':
      o->tty = true;
      break;
    case OPT_LOG_OPT: {
      char *one[] = { optarg, NULL };
      if (engine_parse_log_opts(one, &log_bytes, &log_files, &err) < 0)
        return cli_fail(&err);
      strv_push(&a->log_opts, optarg);
      break;
    }
    case OPT_HELP:
      fputs(run_usage, stdout);
      return 0;
    default:
      return cli_bad_option(verb, c, argv, opts);
    }
  }
  if (optind >= argc)
    return cli_usage_error(verb, "%s needs an image", verb);
  if (o->name && engine_name_check(o->name, &err) < 0)
    return cli_fail(&err);
  o->image = argv[optind];
  o->cmd = argc - optind > 1 ? argv + optind + 1 : NULL;
  o->entrypoint = a->entrypoint;
  o->env = a->env;
  o->binds = a->binds;
  o->n_binds = a->n_binds;
  o->log_opts = a->log_opts;
  if (o->tty)
    caller_terminal_size(&o->console_rows, &o->console_cols);
  return RUN_GO;
}

int cli_container_run(cli_ctx *ctx, int argc, char **argv, bool create_only)
{
  const char *verb = create_only ? "container create" : "container run";
  __attribute__((cleanup(run_args_free))) run_args a = { 0 };
  int rc = parse_run(verb, argc, argv, &a);
  if (rc != RUN_GO)
    return rc;
  engine *e = cli_engine_open(ctx);
  if (!e)
    return 125;
  cleanup_free char *id = NULL;
  berr_t err = BERR_INIT;
  int exec_status = 0;
  rc = 0;
  a.o.no_start = create_only;
  if (engine_create(e, &a.o, &id, &exec_status, &err) < 0) {
    rc = cli_fail(&err);
    if (exec_status) /* docker's 126/127: the command cannot be run */
      rc = exec_status;
  } else if (create_only) {
    puts(id);
  } else if (a.detach) {
    if (engine_start(e, id, &err) < 0) {
      rc = cli_fail(&err);
      berr_t rerr = BERR_INIT;
      engine_remove(e, id, true, &rerr);
      berr_clear(&rerr);
    } else {
      puts(id);
    }
  } else {
    rc = run_attached(ctx, e, id, a.o.stdin_open);
  }
  engine_close(e);
  return rc;
}

/* ---- exec ---------------------------------------------------------------------------- */

static const char exec_usage[]
    = "Usage: berth container exec [OPTIONS] CONTAINER COMMAND [ARG…]\n"
      "\n"
      "Run a command in a running container; exits with the command's exit code.\n"
      "\n"
      "  -i, --interactive     connect stdin\n"
      "  -t, --tty             allocate a terminal\n"
      "  -e, --env KEY=VALUE   set an environment variable (-e KEY passes berth's own)\n"
      "  -w, --workdir DIR     working directory\n"
      "  -u, --user U[:G]      user (name or uid) and group\n";

int cli_container_exec(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = { { "interactive", no_argument, NULL, 'i' },
                                        { "tty", no_argument, NULL, 't' },
                                        { "env", required_argument, NULL, 'e' },
                                        { "workdir", required_argument, NULL, 'w' },
                                        { "user", required_argument, NULL, 'u' },
                                        { "help", no_argument, NULL, OPT_HELP },
                                        { 0 } };
  engine_exec_opts xo = { 0 };
  cleanup_strv char **env = NULL;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, "+:ite:w:u:", opts, NULL)) != -1) {
    switch (c) {
    case 'i':
      xo.interactive = true;
      break;
    case 't':
      xo.tty = true;
      break;
    case 'e':
      add_env(&env, optarg);
      break;
    case 'w':
      xo.workdir = optarg;
      break;
    case 'u':
      xo.user = optarg;
      break;
    case OPT_HELP:
      fputs(exec_usage, stdout);
      return 0;
    default:
      return cli_bad_option("container exec", c, argv, opts);
    }
  }
  if (argc - optind < 2)
    return cli_usage_error("container exec", "exec needs a container and a command");
  xo.args = argv + optind + 1;
  xo.env = env;
  if (xo.tty)
    caller_terminal_size(&xo.console_rows, &xo.console_cols);
  engine *e = cli_engine_open(ctx);
  if (!e)
    return 125;
  berr_t err = BERR_INIT;
  cleanup_free char *id = NULL;
  int code = 0;
  fflush(stdout);
  int r = engine_lookup(e, argv[optind], &id, &err);
  if (r == 0)
    r = engine_exec(e, id, &xo, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, &code, &err);
  engine_close(e);
  if (r < 0)
    return cli_fail(&err);
  return code;
}

/* ---- stats ------------------------------------------------------------------------------ */

static const char stats_usage[]
    = "Usage: berth container stats [OPTIONS] [CONTAINER…]\n"
      "\n"
      "Show CPU, memory and process usage of running containers (all of them when\n"
      "none is named), refreshed every second. CPU % is relative to one CPU.\n"
      "\n"
      "      --no-stream   print one table (from two samples a second apart) and exit\n";

/* "1.5MiB" style: docker shows binary units here. */
static char *size_iec(uint64_t b)
{
  static const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
  double v = (double)b;
  size_t i = 0;
  while (v >= 1024 && i + 1 < ARRAY_SIZE(u))
    v /= 1024, i++;
  return i == 0 ? xasprintf("%lluB", (unsigned long long)b) : xasprintf("%.4g%s", v, u[i]);
}

typedef struct stat_row {
  char *id, *name;
  engine_stats a, b;
  bool ok;
} stat_row;

static void sample(engine *e, stat_row *rows, size_t n, bool first)
{
  for (size_t i = 0; i < n; i++) {
    berr_t err = BERR_INIT;
    engine_stats *s = first ? &rows[i].a : &rows[i].b;
    rows[i].ok = engine_stats_get(e, rows[i].id, s, &err) == 0;
    berr_clear(&err);
  }
}

static void print_stats(stat_row *rows, size_t n)
{
  struct sysinfo si;
  uint64_t host_mem = sysinfo(&si) == 0 ? (uint64_t)si.totalram * si.mem_unit : 0;
  printf("%-15s%-24s%-10s%-24s%-9s%s\n", "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT",
         "MEM %", "PIDS");
  for (size_t i = 0; i < n; i++) {
    stat_row *r = &rows[i];
    if (!r->ok) {
      printf("%-15.12s%-24s%-10s%-24s%-9s%s\n", r->id, r->name, "--", "-- / --", "--", "--");
      continue;
    }
    double wall = (double)(r->b.mono_ns - r->a.mono_ns);
    double cpu = wall > 0 && r->b.rt.cpu_ns >= r->a.rt.cpu_ns
                     ? (double)(r->b.rt.cpu_ns - r->a.rt.cpu_ns) / wall * 100.0
                     : 0.0;
    uint64_t limit = r->b.rt.mem_limit ? r->b.rt.mem_limit : host_mem;
    if (host_mem && limit > host_mem)
      limit = host_mem;
    cleanup_free char *mu = size_iec(r->b.rt.mem_bytes);
    cleanup_free char *ml = size_iec(limit);
    cleanup_free char *mem = xasprintf("%s / %s", mu, ml);
    cleanup_free char *cpus = xasprintf("%.2f%%", cpu);
    cleanup_free char *memp
        = xasprintf("%.2f%%", limit ? (double)r->b.rt.mem_bytes / (double)limit * 100.0 : 0.0);
    printf("%-15.12s%-24s%-10s%-24s%-9s%llu\n", r->id, r->name, cpus, mem, memp,
           (unsigned long long)r->b.rt.pids);
  }
  fflush(stdout);
}

int cli_container_stats(cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = { { "no-stream", no_argument, NULL, OPT_NO_STREAM },
                                        { "help", no_argument, NULL, OPT_HELP },
                                        { 0 } };
  bool stream = true;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
    if (c == OPT_NO_STREAM)
      stream = false;
    else if (c == OPT_HELP)
      return fputs(stats_usage, stdout), 0;
    else
      return cli_bad_option("container stats", c, argv, opts);
  }
  engine *e = cli_engine_open(ctx);
  if (!e)
    return 125;
  berr_t err = BERR_INIT;
  stat_row *rows = NULL;
  size_t n = 0;
  int rc = 0;
  if (optind < argc) {
    rows = xcalloc((size_t)(argc - optind), sizeof *rows);
    for (int i = optind; i < argc; i++) {
      cleanup_free char *id = NULL;
      engine_info info;
      if (engine_lookup(e, argv[i], &id, &err) < 0 || engine_info_get(e, id, &info, &err) < 0) {
        rc = cli_fail(&err);
        goto out;
      }
      if (info.status != RT_RUNNING) {
        fprintf(stderr, "berth: container %s is not running\n", info.name);
        engine_info_clear(&info);
        rc = 125;
        goto out;
      }
      rows[n].id = steal_ptr(info.id);
      rows[n].name = steal_ptr(info.name);
      n++;
      engine_info_clear(&info);
    }
  } else {
    engine_info *v = NULL;
    size_t cnt = 0;
    if (engine_list(e, false, &v, &cnt, &err) < 0) {
      rc = cli_fail(&err);
      goto out;
    }
    rows = xcalloc(cnt + 1, sizeof *rows);
    for (size_t i = 0; i < cnt; i++) {
      rows[n].id = steal_ptr(v[i].id);
      rows[n].name = steal_ptr(v[i].name);
      n++;
    }
    engine_infos_free(v, cnt);
  }
  sample(e, rows, n, true);
  for (;;) {
    struct timespec ts = { 1, 0 };
    nanosleep(&ts, NULL);
    sample(e, rows, n, false);
    if (stream)
      fputs("\033[2J\033[H", stdout);
    print_stats(rows, n);
    if (!stream)
      break;
    for (size_t i = 0; i < n; i++)
      rows[i].a = rows[i].b;
  }
out:
  for (size_t i = 0; i < n; i++) {
    free(rows[i].id);
    free(rows[i].name);
  }
  free(rows);
  engine_close(e);
  return rc;
}
