/* runtime.c — `berth runtime …`: the OCI runtime command line (as runc and
 * crun have it) over the runtime module. Parses, calls, prints; nothing
 * else. On success only what the OCI command line prints is printed (state
 * JSON, list), so that tools driving an OCI runtime can drive this one. */
#include "cli/cli.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage_text[]
    = "Usage: berth runtime [--root DIR] COMMAND [OPTIONS] ID\n"
      "\n"
      "The OCI runtime: runs an OCI bundle (a directory with config.json and a root\n"
      "filesystem), with the command line of runc and crun.\n"
      "\n"
      "Commands:\n"
      "  create [--bundle DIR] [--pid-file F] [--console-socket SOCK] ID\n"
      "                       create a container; it waits until `start`\n"
      "  start ID             start a created container\n"
      "  state ID             print the OCI state as JSON\n"
      "  kill [--all] ID [SIGNAL]\n"
      "                       send SIGNAL (default TERM) to the init, or with --all to\n"
      "                       every process of the container\n"
      "  delete [--force] ID  remove a stopped container (--force: kill it first)\n"
      "  run [--bundle DIR] [--detach] [--pid-file F] [--console-socket SOCK] ID\n"
      "                       create and start; in the foreground, wait, delete the\n"
      "                       container and exit with its exit code\n"
      "  exec [--tty] [--process FILE] [--detach] [--cwd DIR] [--env K=V]... [--user UID[:GID]]\n"
      "       [--pid-file F] [--console-socket SOCK] ID [CMD ARGS...]\n"
      "                       run a process in a running container\n"
      "  list [--format table|json] [--quiet]\n"
      "                       list the containers\n"
      "  spec [--bundle DIR]  write a default config.json (Docker's security defaults)\n"
      "\n"
      "Options:\n"
      "  --root DIR           state directory (default " RT_DEFAULT_ROOT ")\n"
      "\n"
      "Exit codes: the container's own with run and exec in the foreground (127 when\n"
      "the command is not found, 126 when it cannot be executed); 125 when berth\n"
      "fails; 2 for usage errors.\n";

/* getopt_long over a verb's arguments, stopping at the first operand. */
static int next_opt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
  return getopt_long(argc, argv, shortopts, longopts, NULL);
}

static void reset_getopt(void)
{
  optind = 0; /* glibc: full re-initialisation */
  opterr = 1;
}

static char *abs_path(const char *p)
{
  char *r = realpath(p, NULL);
  return r ? r : xstrdup(p);
}

/* ---- create / run ------------------------------------------------------------------ */

static int cmd_create_run(const char *root, bool run, int argc, char **argv)
{
  static const struct option opts[] = { { "bundle", required_argument, NULL, 'b' },
                                        { "pid-file", required_argument, NULL, 'p' },
                                        { "console-socket", required_argument, NULL, 'c' },
                                        { "detach", no_argument, NULL, 'd' },
                                        { "no-pivot", no_argument, NULL, 'P' },
                                        { "no-new-keyring", no_argument, NULL, 'K' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  const char *cmd = run ? "runtime run" : "runtime create";
  const char *bundle = ".", *pid_file = NULL, *console = NULL;
  bool detach = false;
  int c;
  reset_getopt();
  while ((c = next_opt(argc, argv, "+b:dh", opts)) != -1) {
    switch (c) {
    case 'b':
      bundle = optarg;
      break;
    case 'p':
      pid_file = optarg;
      break;
    case 'c':
      console = optarg;
      break;
    case 'd':
      detach = true;
      break;
    case 'P':
    case 'K':
      break; /* accepted for compatibility with runc's command line */
    case 'h':
      fputs(usage_text, stdout);
      return 0;
    default:
      return cli_usage_error(cmd, "invalid option");
    }
  }
  if (optind + 1 != argc)
    return cli_usage_error(cmd, "%s needs exactly one container ID", run ? "run" : "create");
  if (!run && detach)
    return cli_usage_error(cmd, "create has no --detach (it always returns)");

  berr_t err = BERR_INIT;
  cleanup_free char *bundle_abs = abs_path(bundle);
  cleanup_free char *pid_abs = pid_file ? abs_path(pid_file) : NULL;
  if (pid_file && !pid_abs)
    pid_abs = xstrdup(pid_file);
  rt_create_opts o;
  rt_create_opts_init(&o);
  o.root = root;
  o.id = argv[optind];
  o.bundle = bundle_abs;
  o.pid_file = pid_abs;
  cleanup_close int csock = -1;
  if (console) {
    if (rt_console_connect(console, &csock, &err) < 0)
      return cli_fail(&err);
    o.console_fd = csock;
  }
  if (!run) {
    pid_t pid;
    if (rt_create(&o, &pid, &err) < 0)
      return cli_fail(&err);
    return 0;
  }
  int code = -1;
  if (rt_run(&o, detach, &code, &err) < 0) {
    berr_print(&err);
    return code > 0 ? code : 125;
  }
  return detach ? 0 : code;
}

/* ---- simple verbs ------------------------------------------------------------------- */

static int one_id(const char *cmd, int argc, char **argv, const char **id)
{
  if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    fputs(usage_text, stdout);
    return 0;
  }
  if (argc != 2 || argv[1][0] == '-')
    return cli_usage_error(cmd, "expected one container ID");
  *id = argv[1];
  return -1;
}

static int cmd_start(const char *root, int argc, char **argv)
{
  const char *id;
  int r = one_id("runtime start", argc, argv, &id);
  if (r >= 0)
    return r;
  berr_t err = BERR_INIT;
  return rt_start(root, id, &err) < 0 ? cli_fail(&err) : 0;
}

static json_t *state_to_json(const rt_state *s)
{
  cleanup_free char *created = time_rfc3339(s->created_ns);
  cleanup_free char *rootfs = path_join(s->bundle, "rootfs");
  json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:O}", "ociVersion", "1.0.2", "id", s->id,
                        "status", rt_status_name(s->status), "pid", (int)s->pid, "bundle",
                        s->bundle, "created", created, "annotations", s->annotations);
  if (s->started_ns) {
    cleanup_free char *started = time_rfc3339(s->started_ns);
    json_object_set_new(j, "started", json_string(started));
  }
  if (s->status == RT_STOPPED && s->exit_code >= 0)
    json_object_set_new(j, "exitCode", json_integer(s->exit_code));
  if (s->cgroup_path)
    json_object_set_new(j, "cgroupPath", json_string(s->cgroup_path));
  json_object_set_new(j, "owner", json_string(""));
  return j;
}

static void print_json(json_t *j)
{
  cleanup_free char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  if (s)
    puts(s);
}

static int cmd_state(const char *root, int argc, char **argv)
{
  const char *id;
  int r = one_id("runtime state", argc, argv, &id);
  if (r >= 0)
    return r;
  berr_t err = BERR_INIT;
  rt_state st;
  if (rt_state_get(root, id, &st, &err) < 0)
    return cli_fail(&err);
  cleanup_json json_t *j = state_to_json(&st);
  rt_state_free(&st);
  print_json(j);
  return 0;
}

static int cmd_kill(const char *root, int argc, char **argv)
{
  static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  bool all = false;
  int c;
  reset_getopt();
  while ((c = next_opt(argc, argv, "+ah", opts)) != -1) {
    if (c == 'a')
      all = true;
    else if (c == 'h')
      return fputs(usage_text, stdout), 0;
    else
      return cli_usage_error("runtime kill", "invalid option");
  }
  if (optind >= argc || argc - optind > 2)
    return cli_usage_error("runtime kill", "usage: kill [--all] ID [SIGNAL]");
  berr_t err = BERR_INIT;
  int sig = SIGTERM;
  if (optind + 1 < argc && rt_parse_signal(argv[optind + 1], &sig, &err) < 0)
    return cli_fail(&err);
  return rt_kill(root, argv[optind], sig, all, &err) < 0 ? cli_fail(&err) : 0;
}

static int cmd_delete(const char *root, int argc, char **argv)
{
  static const struct option opts[] = { { "force", no_argument, NULL, 'f' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  bool force = false;
  int c;
  reset_getopt();
  while ((c = next_opt(argc, argv, "+fh", opts)) != -1) {
    if (c == 'f')
      force = true;
    else if (c == 'h')
      return fputs(usage_text, stdout), 0;
    else
      return cli_usage_error("runtime delete", "invalid option");
  }
  if (optind + 1 != argc)
    return cli_usage_error("runtime delete", "expected one container ID");
  berr_t err = BERR_INIT;
  return rt_delete(root, argv[optind], force, &err) < 0 ? cli_fail(&err) : 0;
}

static int cmd_list(const char *root, int argc, char **argv)
{
  static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
                                        { "quiet", no_argument, NULL, 'q' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  const char *format = "table";
  bool quiet = false;
  int c;
  reset_getopt();
  while ((c = next_opt(argc, argv, "+f:qh", opts)) != -1) {
    if (c == 'f')
      format = optarg;
    else if (c == 'q')
      quiet = true;
    else if (c == 'h')
      return fputs(usage_text, stdout), 0;
    else
      return cli_usage_error("runtime list", "invalid option");
  }
  if (strcmp(format, "table") && strcmp(format, "json"))
    return cli_usage_error("runtime list", "unknown format \"%s\" (table, json)", format);
  if (optind != argc)
    return cli_usage_error("runtime list", "list takes no arguments");
  berr_t err = BERR_INIT;
  rt_state *v = NULL;
  size_t n = 0;
  if (rt_list(root, &v, &n, &err) < 0)
    return cli_fail(&err);
  if (!strcmp(format, "json")) {
    cleanup_json json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(arr, state_to_json(&v[i]));
    print_json(arr);
  } else if (quiet) {
    for (size_t i = 0; i < n; i++)
      puts(v[i].id);
  } else {
    int w = 2;
    for (size_t i = 0; i < n; i++)
      if ((int)strlen(v[i].id) > w)
        w = (int)strlen(v[i].id);
    printf("%-*s   %-8s   %-10s   %-40s   %s\n", w, "ID", "PID", "STATUS", "BUNDLE", "CREATED");
    for (size_t i = 0; i < n; i++) {
      cleanup_free char *created = time_rfc3339(v[i].created_ns);
      printf("%-*s   %-8d   %-10s   %-40s   %s\n", w, v[i].id, (int)v[i].pid,
             rt_status_name(v[i].status), v[i].bundle, created);
    }
  }
  for (size_t i = 0; i < n; i++)
    rt_state_free(&v[i]);
  free(v);
  return 0;
}

static int cmd_spec(int argc, char **argv)
{
  static const struct option opts[] = { { "bundle", required_argument, NULL, 'b' },
                                        { "rootless", no_argument, NULL, 'r' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  const char *bundle = ".";
  int c;
  reset_getopt();
  while ((c = next_opt(argc, argv, "+b:h", opts)) != -1) {
    if (c == 'b')
      bundle = optarg;
    else if (c == 'r')
      return cli_usage_error("runtime spec", "rootless containers are not supported");
    else if (c == 'h')
      return fputs(usage_text, stdout), 0;
    else
      return cli_usage_error("runtime spec", "invalid option");
  }
  if (optind != argc)
    return cli_usage_error("runtime spec", "spec takes no arguments");
  berr_t err = BERR_INIT;
  cleanup_free char *path = path_join(bundle, "config.json");
  if (fs_exists(path)) {
    berr_set(&err, 0, "%s exists; remove it first", path);
    return cli_fail(&err);
  }
  cleanup_json json_t *cfg = rt_default_config();
  cleanup_free char *s = json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  buf_t b = { 0 };
  buf_puts(&b, s);
  buf_puts(&b, "\n");
  int r = fs_write_atomic(path, b.data, b.len, 0644, &err);
  buf_free(&b);
  return r < 0 ? cli_fail(&err) : 0;
}

/* ---- exec -------------------------------------------------------------------------- */

/* Waits for pid, forwarding the signals we get; returns its exit code. */
static int wait_forwarding(pid_t pid, const sigset_t *fwd)
{
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      break;
    if (r < 0 && errno != EINTR)
      return 125;
    siginfo_t si;
    int sig = sigwaitinfo(fwd, &si);
    if (sig > 0 && sig != SIGCHLD)
      kill(pid, sig);
  }
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

static int cmd_exec(const char *root, int argc, char **argv)
{
  static const struct option opts[] = { { "tty", no_argument, NULL, 't' },
                                        { "process", required_argument, NULL, 'p' },
                                        { "detach", no_argument, NULL, 'd' },
                                        { "cwd", required_argument, NULL, 'w' },
                                        { "env", required_argument, NULL, 'e' },
                                        { "user", required_argument, NULL, 'u' },
                                        { "pid-file", required_argument, NULL, 'P' },
                                        { "console-socket", required_argument, NULL, 'c' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  const char *cmd = "runtime exec";
  const char *process_file = NULL, *cwd = NULL, *user = NULL, *pid_file = NULL, *console = NULL;
  bool tty = false, detach = false;
  cleanup_strv char **env = NULL;
  int c;
  reset_getopt();
  while ((c = next_opt(argc, argv, "+tp:dw:e:u:h", opts)) != -1) {
    switch (c) {
    case 't':
      tty = true;
      break;
    case 'p':
      process_file = optarg;
      break;
    case 'd':
      detach = true;
      break;
    case 'w':
      cwd = optarg;
      break;
    case 'e':
      if (!strchr(optarg, '='))
        return cli_usage_error(cmd, "--env \"%s\": expected NAME=VALUE", optarg);
      strv_push(&env, optarg);
      break;
    case 'u':
      user = optarg;
      break;
    case 'P':
      pid_file = optarg;
      break;
    case 'c':
      console = optarg;
      break;
    case 'h':
      fputs(usage_text, stdout);
      return 0;
    default:
      return cli_usage_error(cmd, "invalid option");
    }
  }
  if (optind >= argc)
    return cli_usage_error(cmd, "expected a container ID");
  const char *id = argv[optind++];
  if (!process_file && optind >= argc)
    return cli_usage_error(cmd, "expected a command (or --process FILE)");

  berr_t err = BERR_INIT;
  cleanup_json json_t *proc = NULL;
  if (process_file) {
    if (!(proc = json_load_path(process_file, &err)))
      return cli_fail(&err);
    if (!json_is_object(proc)) {
      berr_set(&err, 0, "%s: not a JSON object", process_file);
      return cli_fail(&err);
    }
  } else {
    proc = json_object();
  }
  if (optind < argc)
    json_object_set_new(proc, "args", strv_to_json(argv + optind));
  if (tty)
    json_object_set_new(proc, "terminal", json_true());
  if (cwd)
    json_object_set_new(proc, "cwd", json_string(cwd));
  if (env)
    json_object_set_new(proc, "env", strv_to_json(env));
  if (user) {
    char *end;
    unsigned long uid = strtoul(user, &end, 10), gid = 0;
    if (end == user || (*end && *end != ':'))
      return cli_usage_error(cmd, "--user \"%s\": expected UID[:GID]", user);
    if (*end == ':') {
      const char *g = end + 1;
      gid = strtoul(g, &end, 10);
      if (end == g || *end)
        return cli_usage_error(cmd, "--user \"%s\": expected UID[:GID]", user);
    }
    json_object_set_new(proc, "user",
                        json_pack("{s:I,s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid));
  }
  bool terminal = json_bool(proc, "terminal", false);
  if (terminal && detach && !console)
    return cli_usage_error(cmd, "--tty with --detach needs --console-socket");

  rt_exec_opts o;
  rt_exec_opts_init(&o);
  o.process = proc;
  cleanup_free char *pid_abs = pid_file ? abs_path(pid_file) : NULL;
  o.pid_file = pid_abs;
  cleanup_close int csock = -1;
  int sv[2] = { -1, -1 };
  if (console) {
    if (rt_console_connect(console, &csock, &err) < 0)
      return cli_fail(&err);
    o.console_fd = csock;
  } else if (terminal) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
      berr_set(&err, errno, "socketpair");
      return cli_fail(&err);
    }
    o.console_fd = sv[1];
  }

  sigset_t fwd, old;
  sigemptyset(&fwd);
  int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD };
  for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
    sigaddset(&fwd, sigs[i]);
  if (!detach)
    sigprocmask(SIG_BLOCK, &fwd, &old);
  pid_t pid;
  int r = rt_exec(root, id, &o, &pid, &err);
  if (sv[1] >= 0)
    close(sv[1]);
  if (r < 0) {
    if (sv[0] >= 0)
      close(sv[0]);
    return cli_fail(&err);
  }
  if (detach)
    return 0;
  if (sv[0] >= 0) {
    int master = -1;
    if (rt_console_recv(sv[0], &master, &err) == 0) {
      rt_relay_pty(master, 0, 1, &err);
      close(master);
    }
    berr_clear(&err);
    close(sv[0]);
  }
  int code = wait_forwarding(pid, &fwd);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return code;
}

/* ---- dispatch ------------------------------------------------------------------------- */

int cli_runtime(cli_ctx *ctx, int argc, char **argv)
{
  (void)ctx; /* the engine root is not the runtime's */
  const char *root = RT_DEFAULT_ROOT;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(usage_text, stdout);
      return 0;
    } else if (!strcmp(argv[i], "--root") && i + 1 < argc) {
      root = argv[++i];
    } else if (str_has_prefix(argv[i], "--root=")) {
      root = argv[i] + 7;
    } else if (!strcmp(argv[i], "--systemd-cgroup") || !strcmp(argv[i], "--debug")) {
      /* runc's global flags, accepted and ignored */
    } else if ((!strcmp(argv[i], "--log") || !strcmp(argv[i], "--log-format")) && i + 1 < argc) {
      i++;
    } else {
      return cli_usage_error("runtime", "unknown option \"%s\"", argv[i]);
    }
  }
  if (i >= argc) {
    fputs(usage_text, stderr);
    return 2;
  }
  const char *verb = argv[i];
  int vargc = argc - i;
  char **vargv = argv + i;
  if (!strcmp(verb, "create"))
    return cmd_create_run(root, false, vargc, vargv);
  if (!strcmp(verb, "run"))
    return cmd_create_run(root, true, vargc, vargv);
  if (!strcmp(verb, "start"))
    return cmd_start(root, vargc, vargv);
  if (!strcmp(verb, "state"))
    return cmd_state(root, vargc, vargv);
  if (!strcmp(verb, "kill"))
    return cmd_kill(root, vargc, vargv);
  if (!strcmp(verb, "delete") || !strcmp(verb, "rm"))
    return cmd_delete(root, vargc, vargv);
  if (!strcmp(verb, "exec"))
    return cmd_exec(root, vargc, vargv);
  if (!strcmp(verb, "list") || !strcmp(verb, "ls"))
    return cmd_list(root, vargc, vargv);
  if (!strcmp(verb, "spec"))
    return cmd_spec(vargc, vargv);
  return cli_usage_error("runtime", "unknown command \"%s\"", verb);
}
