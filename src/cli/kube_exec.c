/* kube_exec.c — `berth logs` and `berth exec`, the two verbs that reach a
 * container through the API server. logs is one streaming GET. exec is a
 * WebSocket speaking v5.channel.k8s.io: stdin goes out on channel 0 (and
 * [255, 0] closes it), stdout and stderr come back on 1 and 2, the
 * terminal size goes out on 4, and the Status on channel 3 carries the
 * command's exit code, which becomes berth's own (as with kubectl).
 *
 * With -t the local terminal is put in raw mode; a cleanup attribute
 * restores it on every return path, and SIGTERM/SIGHUP/SIGINT only end the
 * relay loop (through a self-pipe) so that the restore always runs. */
#include "cli/kube.h"
#include "net/ws.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

enum { OPT_TAIL = KOPT_FIRST_VERB, OPT_PREVIOUS, OPT_TIMESTAMPS };

/* Fetches the pod; *ctr gets the container to use: the one asked for, else
 * the first (saying so on stderr when there are several, as kubectl). */
static bool has_container(json_t *pod, const char *name)
{
  const char *lists[] = { "spec.containers", "spec.initContainers", "spec.ephemeralContainers" };
  for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
    json_t *c;
    size_t i;
    json_array_foreach(kube_get(pod, lists[l]), i, c)
    {
      const char *n = json_str(c, "name");
      if (n && !strcmp(n, name))
        return true;
    }
  }
  return false;
}

static int pod_container(kube_t *k, const char *pod, const char *want, bool logs, char **ctr)
{
  const kube_res_t *res = kube_resolve(k, "pods");
  if (!res)
    return 1;
  cleanup_free char *path = kube_path(res, k->ns, pod, NULL, NULL);
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "GET", path, NULL, "application/json", NULL, &r) < 0)
    return 1;
  if (r.code == 404 && logs) {
    /* kubectl logs words it its own way. */
    return kube_fail("error from server (NotFound): pods \"%s\" not found in namespace \"%s\"", pod,
                     k->ns);
  }
  if (r.code != 200)
    return kube_reply_fail(&r, NULL);
  if (want) {
    if (logs && !has_container(r.json, want))
      return kube_fail("container %s is not valid for pod %s", want, pod);
    *ctr = xstrdup(want);
    return 0;
  }
  json_t *ctrs = kube_get(r.json, "spec.containers");
  const char *first = json_str(json_array_get(ctrs, 0), "name");
  if (!first)
    return kube_fail("pod %s has no containers", pod);
  if (json_array_size(ctrs) > 1) {
    buf_t all = { 0 };
    json_t *c;
    size_t i;
    json_array_foreach(ctrs, i, c)
        buf_printf(&all, "%s%s", i ? ", " : "", json_str(c, "name") ?: "");
    fprintf(stderr, "Defaulted container \"%s\" out of: %s\n", first, all.data);
    buf_free(&all);
  }
  *ctr = xstrdup(first);
  return 0;
}

/* ---- logs ---------------------------------------------------------------------- */

static const char logs_usage[]
    = "Usage: berth logs POD [OPTIONS]\n"
      "\n"
      "Print the output of a pod's container (the first one unless -c).\n"
      "\n"
      "  -c, --container NAME   the container\n"
      "  -f, --follow           keep printing until the container stops or ^C\n"
      "      --tail N           only the last N lines\n"
      "  -p, --previous         the previous run of a restarted container\n"
      "      --timestamps       prefix every line with its RFC 3339 time\n"
      "      --kubeconfig FILE, -n NS, --server URL, --token T: see 'berth cluster --help'\n";

typedef struct log_sink {
  bool started; /* something was written to stdout */
  buf_t head;   /* the start of the body until it is known not to be a Status */
  bool failed;
} log_sink_t;

/* The body goes to stdout as it comes, except that its first bytes are
 * held until they are clearly not a Status (an error reply on the same
 * callback): a log line never starts with {"kind":"Status". */
static int on_log(void *arg, const char *data, size_t len)
{
  log_sink_t *s = arg;
  if (!s->started) {
    buf_append(&s->head, data, len);
    static const char status[] = "{\"kind\":\"Status\"";
    size_t n = s->head.len < sizeof status - 1 ? s->head.len : sizeof status - 1;
    if (!strncmp(s->head.data, status, n) && s->head.len < 64 * 1024)
      return 0;
    s->started = true;
    fwrite(s->head.data, 1, s->head.len, stdout);
    buf_free(&s->head);
  } else {
    fwrite(data, 1, len, stdout);
  }
  fflush(stdout);
  return 0;
}

int kube_cmd_logs(kube_t *k, int argc, char **argv)
{
  static const struct option opts[] = { KUBE_COMMON_OPTS,
                                        { "container", required_argument, NULL, 'c' },
                                        { "follow", no_argument, NULL, 'f' },
                                        { "tail", required_argument, NULL, OPT_TAIL },
                                        { "previous", no_argument, NULL, 'p' },
                                        { "timestamps", no_argument, NULL, OPT_TIMESTAMPS },
                                        { 0 } };
  const char *want = NULL, *tail = NULL;
  bool follow = false, previous = false, stamps = false;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":n:hc:fp", opts, NULL)) != -1) {
    if (kube_common_opt(k, c, optarg))
      continue;
    switch (c) {
    case 'h':
      fputs(logs_usage, stdout);
      return 0;
    case 'c':
      want = optarg;
      break;
    case 'f':
      follow = true;
      break;
    case OPT_TAIL: {
      int64_t n;
      if (parse_int64(optarg, &n, NULL) < 0 || n < -1)
        return cli_usage_error("logs", "invalid --tail \"%s\": want a number of lines", optarg);
      tail = n >= 0 ? optarg : NULL;
      break;
    }
    case 'p':
      previous = true;
      break;
    case OPT_TIMESTAMPS:
      stamps = true;
      break;
    default:
      return cli_bad_option("logs", c, argv, opts);
    }
  }
  if (optind >= argc)
    return cli_usage_error("logs", "logs needs a POD");
  if (argc - optind > 2)
    return cli_usage_error("logs", "logs takes a POD and at most one container name");
  const char *pod = argv[optind];
  if (str_has_prefix(pod, "pod/") || str_has_prefix(pod, "pods/") || str_has_prefix(pod, "po/"))
    pod = strchr(pod, '/') + 1;
  if (argc - optind == 2)
    want = argv[optind + 1];
  if (kube_connect(k) < 0)
    return 1;
  cleanup_free char *ctr = NULL;
  int rc = pod_container(k, pod, want, true, &ctr);
  if (rc)
    return rc;
  buf_t q = { 0 };
  kube_query_add(&q, "container", ctr);
  if (follow)
    kube_query_add(&q, "follow", "true");
  if (previous)
    kube_query_add(&q, "previous", "true");
  if (tail)
    kube_query_add(&q, "tailLines", tail);
  if (stamps)
    kube_query_add(&q, "timestamps", "true");
  cleanup_free char *qs = buf_steal(&q);
  const kube_res_t *res = kube_resolve(k, "pods");
  cleanup_free char *path = kube_path(res, k->ns, pod, "log", qs);
  log_sink_t sink = { 0 };
  long code = 0;
  berr_t err = BERR_INIT;
  if (kc_stream(k->kc, path, "application/json, */*", on_log, &sink, &code, &err) < 0) {
    buf_free(&sink.head);
    kube_transport_fail(k, &err);
    return 1;
  }
  if (code < 200 || code > 299) {
    kube_reply_t r = { .code = code };
    if (sink.head.len) {
      r.json = json_loadb(sink.head.data, sink.head.len, 0, NULL);
      r.raw.body = sink.head;
    }
    rc = kube_reply_fail(&r, NULL);
    json_decref(r.json);
    buf_free(&sink.head);
    return rc;
  }
  if (!sink.started && sink.head.len)
    fwrite(sink.head.data, 1, sink.head.len, stdout);
  buf_free(&sink.head);
  fflush(stdout);
  return 0;
}

/* ---- exec ---------------------------------------------------------------------- */

static const char exec_usage[]
    = "Usage: berth exec [-i] [-t] POD [-c CONTAINER] -- COMMAND [ARGS…]\n"
      "\n"
      "Run a command in a pod's container (the first one unless -c). berth exits with\n"
      "the command's exit code.\n"
      "\n"
      "  -i, --stdin            pass stdin to the command\n"
      "  -t, --tty              allocate a terminal (raw mode here, resizes follow)\n"
      "  -c, --container NAME   the container\n"
      "      --kubeconfig FILE, -n NS, --server URL, --token T: see 'berth cluster --help'\n";

/* The self-pipe: SIGWINCH asks for a resize, the others for the end. A
 * signal handler can reach nothing else, hence the one global. */
static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
  int saved = errno;
  char c = (char)sig;
  if (write(sig_pipe[1], &c, 1) < 0) {
    /* nothing to do: the pipe is full, a wakeup is pending anyway */
  }
  errno = saved;
}

typedef struct raw_term {
  int fd;
  struct termios saved;
} raw_term_t;

static void raw_term_restore(raw_term_t *t)
{
  if (t->fd >= 0)
    tcsetattr(t->fd, TCSADRAIN, &t->saved);
  t->fd = -1;
}
#define cleanup_raw_term __attribute__((cleanup(raw_term_restore)))

static void ws_closep(kc_ws_t **w)
{
  if (*w)
    kc_ws_close(*w);
}
#define cleanup_ws __attribute__((cleanup(ws_closep)))

static int send_channel(kc_ws_t *w, int ch, const void *data, size_t len, berr_t *err)
{
  cleanup_free uint8_t *msg = xmalloc(len + 1);
  msg[0] = (uint8_t)ch;
  if (len)
    memcpy(msg + 1, data, len);
  return kc_ws_send(w, msg, len + 1, err);
}

static int send_size(kc_ws_t *w, berr_t *err)
{
  struct winsize ws;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
    return 0;
  char buf[64];
  int n = snprintf(buf, sizeof buf, "{\"Width\":%u,\"Height\":%u}", ws.ws_col, ws.ws_row);
  return send_channel(w, WS_CH_RESIZE, buf, (size_t)n, err);
}

/* The exit code a channel-3 Status says; -1 with *msg for other failures. */
static int status_code(const char *data, size_t len, char **msg)
{
  cleanup_json json_t *s = json_loadb(data, len, 0, NULL);
  const char *st = json_str(s, "status");
  if (!st || !strcmp(st, "Success"))
    return 0;
  const char *reason = json_str(s, "reason");
  if (reason && !strcmp(reason, "NonZeroExitCode")) {
    json_t *c;
    size_t i;
    json_array_foreach(kube_get(s, "details.causes"), i, c)
    {
      const char *r = json_str(c, "reason"), *m = json_str(c, "message");
      int64_t code;
      if (r && !strcmp(r, "ExitCode") && m && parse_int64(m, &code, NULL) == 0)
        return (int)(code & 0xff);
    }
  }
  const char *m = json_str(s, "message");
  *msg = xstrdup(m ? m : "the command failed");
  return -1;
}

static void write_all(int fd, const void *data, size_t len)
{
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    p += n;
    len -= (size_t)n;
  }
}

/* Relays until the server closes; returns berth's exit code. */
static int relay(kc_ws_t *w, bool in, bool tty)
{
  berr_t err = BERR_INIT;
  bool stdin_open = in, got_status = false;
  int code = 0;
  cleanup_free char *fail = NULL;
  buf_t msg = { 0 };
  if (tty && send_size(w, &err) < 0)
    return kube_fail_err(&err);
  for (;;) {
    if (!kc_ws_pending(w)) {
      struct pollfd p[3] = { { kc_ws_fd(w), POLLIN, 0 },
                             { sig_pipe[0], POLLIN, 0 },
                             { stdin_open ? STDIN_FILENO : -1, POLLIN, 0 } };
      if (poll(p, 3, -1) < 0) {
        if (errno == EINTR)
          continue;
        buf_free(&msg);
        return kube_fail("poll: %s", strerror(errno));
      }
      if (p[1].revents & POLLIN) {
        char sig = 0;
        bool stop = false;
        while (read(sig_pipe[0], &sig, 1) == 1)
          stop = stop || sig != SIGWINCH;
        if (stop) {
          buf_free(&msg);
          return 130;
        }
        if (tty && send_size(w, &err) < 0)
          break;
      }
      if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
        char chunk[32768];
        ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
        if (n > 0) {
          if (send_channel(w, WS_CH_STDIN, chunk, (size_t)n, &err) < 0)
            break;
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
          stdin_open = false;
          uint8_t close_in[2] = { WS_CH_CLOSE, WS_CH_STDIN };
          if (!tty && kc_ws_send(w, close_in, sizeof close_in, &err) < 0)
            break;
        }
      }
      if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
    }
    msg.len = 0;
    int r = kc_ws_recv(w, &msg, -1, &err);
    if (r < 0)
      break;
    if (r == 0) {
      buf_free(&msg);
      if (fail) {
        fprintf(stderr, "error: %s\n", fail);
        return 1;
      }
      if (got_status && code)
        fprintf(stderr, "command terminated with exit code %d\n", code);
      return code;
    }
    if (msg.len < 1)
      continue;
    const uint8_t ch = (uint8_t)msg.data[0];
    if (ch == WS_CH_STDOUT)
      write_all(STDOUT_FILENO, msg.data + 1, msg.len - 1);
    else if (ch == WS_CH_STDERR)
      write_all(STDERR_FILENO, msg.data + 1, msg.len - 1);
    else if (ch == WS_CH_STATUS) {
      got_status = true;
      int c = status_code(msg.data + 1, msg.len - 1, &fail);
      if (c >= 0)
        code = c;
    }
  }
  buf_free(&msg);
  return kube_fail_err(&err);
}

int kube_cmd_exec(kube_t *k, int argc, char **argv)
{
  static const struct option opts[] = { KUBE_COMMON_OPTS,
                                        { "stdin", no_argument, NULL, 'i' },
                                        { "tty", no_argument, NULL, 't' },
                                        { "container", required_argument, NULL, 'c' },
                                        { 0 } };
  int dash_argc, n_cmd;
  char **cmd;
  kube_split_dash(argc, argv, &dash_argc, &cmd, &n_cmd);
  const char *want = NULL;
  bool in = false, tty = false;
  int c;
  optind = 0;
  while ((c = getopt_long(dash_argc, argv, ":n:hitc:", opts, NULL)) != -1) {
    if (kube_common_opt(k, c, optarg))
      continue;
    switch (c) {
    case 'h':
      fputs(exec_usage, stdout);
      return 0;
    case 'i':
      in = true;
      break;
    case 't':
      tty = true;
      break;
    case 'c':
      want = optarg;
      break;
    default:
      return cli_bad_option("exec", c, argv, opts);
    }
  }
  if (optind >= dash_argc)
    return cli_usage_error("exec", "exec needs a POD (berth exec POD -- COMMAND)");
  if (dash_argc - optind > 1)
    return cli_usage_error("exec", "exec takes one POD; put the command after \"--\"");
  if (n_cmd == 0)
    return cli_usage_error("exec", "exec needs a COMMAND after \"--\"");
  const char *pod = argv[optind];
  if (str_has_prefix(pod, "pod/") || str_has_prefix(pod, "pods/") || str_has_prefix(pod, "po/"))
    pod = strchr(pod, '/') + 1;
  if (!in)
    tty = false; /* as kubectl: a terminal needs -i to read keys from */
  if (tty && !isatty(STDIN_FILENO)) {
    fputs("Unable to use a TTY - input is not a terminal or the right kind of file\n", stderr);
    tty = false;
  }
  if (kube_connect(k) < 0)
    return 1;
  cleanup_free char *ctr = NULL;
  int rc = pod_container(k, pod, want, false, &ctr);
  if (rc)
    return rc;
  buf_t q = { 0 };
  for (int i = 0; i < n_cmd; i++)
    kube_query_add(&q, "command", cmd[i]);
  kube_query_add(&q, "container", ctr);
  if (in)
    kube_query_add(&q, "stdin", "true");
  kube_query_add(&q, "stdout", "true");
  if (!tty)
    kube_query_add(&q, "stderr", "true");
  if (tty)
    kube_query_add(&q, "tty", "true");
  cleanup_free char *qs = buf_steal(&q);
  const kube_res_t *res = kube_resolve(k, "pods");
  cleanup_free char *path = kube_path(res, k->ns, pod, "exec", qs);
  cleanup_ws kc_ws_t *w = NULL;
  long code = 0;
  berr_t err = BERR_INIT;
  if (kc_ws_open(k->kc, path, "v5.channel.k8s.io", &w, &code, &err) < 0) {
    /* A non-101 reply's message is kubectl's already ("Error from server …"). */
    if (code && err.msg && str_has_prefix(err.msg, "Error from server")) {
      fprintf(stderr, "%s\n", err.msg);
      berr_clear(&err);
      return 1;
    }
    kube_transport_fail(k, &err);
    return 1;
  }
  if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
    return kube_fail("pipe: %s", strerror(errno));
  struct sigaction sa = { .sa_handler = on_signal }, old[4];
  const int sigs[4] = { SIGWINCH, SIGTERM, SIGHUP, SIGINT };
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 4; i++)
    sigaction(sigs[i], &sa, &old[i]);
  int ret;
  {
    cleanup_raw_term raw_term_t term = { .fd = -1 };
    if (tty && tcgetattr(STDIN_FILENO, &term.saved) == 0) {
      struct termios raw = term.saved;
      cfmakeraw(&raw);
      if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0)
        term.fd = STDIN_FILENO;
    }
    ret = relay(w, in, tty);
  }
  for (int i = 0; i < 4; i++)
    sigaction(sigs[i], &old[i], NULL);
  close(sig_pipe[0]);
  close(sig_pipe[1]);
  sig_pipe[0] = sig_pipe[1] = -1;
  return ret;
}
