/* main.c — the per-container monitor: berth execs it with the container
 * already its child (see monitor_proto.h for the argv and docs/monitor.md for
 * the picture).
 *
 * One poll() loop over: the container's output (pipes or the pty master),
 * the attach socket and its clients, the container's stdin when a write is
 * pending, and a signalfd for SIGCHLD. With nothing to do the loop sleeps
 * without a timeout, so an idle container costs no CPU. When the container
 * exits the monitor drains its output, writes exit.json, tells the attached
 * clients, removes the cgroups (and, for an auto-remove container, the whole
 * state directory) and exits; its exit hangs up on the clients. */
#include "runtime/monitor/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <ftw.h>
#include <time.h>
#include <unistd.h>

/* The one context of this process; static so that its big buffers cost
 * memory only once touched. */
static mon M;

int64_t mon_mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_all(int fd, const char *s, size_t n)
{
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    s += w;
    n -= (size_t)w;
  }
}

/* Before the report: tell berth why and leave nothing behind. */
static void __attribute__((noreturn)) fail(mon *m, const char *what, int errnum)
{
  char msg[PATH_MAX + 256];
  int n = snprintf(msg, sizeof msg, MON_REPORT_ERROR "%d monitor: %s%s%s\n", errnum, what,
                   errnum ? ": " : "", errnum ? strerror(errnum) : "");
  if (n > (int)sizeof msg - 1)
    n = (int)sizeof msg - 1;
  if (m->report_fd >= 0)
    write_all(m->report_fd, msg, (size_t)n);
  if (m->pid > 0) {
    kill(m->pid, SIGKILL);
    waitpid(m->pid, NULL, 0);
  }
  _exit(1);
}

static int parse_num(mon *m, const char *opt, const char *v)
{
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (errno || *end || n < 0 || n > INT_MAX)
    fail(m, opt, EINVAL);
  return (int)n;
}

static void parse_args(mon *m, int argc, char **argv, int64_t *max_bytes, int *max_files,
                       const char **log_path)
{
  for (int i = 1; i < argc; i += 2) {
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v)
      fail(m, o, EINVAL);
    if (!strcmp(o, MON_OPT_ID))
      m->id = v;
    else if (!strcmp(o, MON_OPT_PID))
      m->pid = parse_num(m, o, v);
    else if (!strcmp(o, MON_OPT_STDOUT))
      m->out_fd[0] = parse_num(m, o, v);
    else if (!strcmp(o, MON_OPT_STDERR))
      m->out_fd[1] = parse_num(m, o, v);
    else if (!strcmp(o, MON_OPT_STDIN))
      m->in_fd = parse_num(m, o, v);
    else if (!strcmp(o, MON_OPT_PTY))
      m->pty_fd = parse_num(m, o, v);
    else if (!strcmp(o, MON_OPT_STDIN_OPEN))
      m->stdin_open = !strcmp(v, "1");
    else if (!strcmp(o, MON_OPT_ATTACH))
      m->listen_fd = parse_num(m, o, v);
    else if (!strcmp(o, MON_OPT_REPORT))
      m->report_fd = parse_num(m, o, v);
    else if (!strcmp(o, MON_OPT_LOG))
      *log_path = v;
    else if (!strcmp(o, MON_OPT_LOG_MAX))
      *max_bytes = strtoll(v, NULL, 10);
    else if (!strcmp(o, MON_OPT_LOG_FILES))
      *max_files = (int)strtol(v, NULL, 10);
    else if (!strcmp(o, MON_OPT_STATE_DIR))
      m->state_dir = v;
    else if (!strcmp(o, MON_OPT_OOM_FILE))
      m->oom_file = v;
    else if (!strcmp(o, MON_OPT_CGROUP_DIR) && m->n_cg < MON_MAX_CGROUPS)
      m->cg_dirs[m->n_cg++] = v;
    else if (!strcmp(o, MON_OPT_REMOVE_STATE_DIR))
      m->remove_state_dir = !strcmp(v, "1");
    else if (!strcmp(o, MON_OPT_REMOVE_DIR))
      m->remove_dir = v;
    else
      fail(m, o, EINVAL);
  }
  if (m->pid <= 0 || !m->state_dir)
    fail(m, "missing " MON_OPT_PID " or " MON_OPT_STATE_DIR, EINVAL);
  if (m->pty_fd >= 0) {
    m->tty = true;
    m->out_fd[0] = m->pty_fd;
    m->out_fd[1] = -1;
    m->in_fd = m->stdin_open ? m->pty_fd : -1;
  }
}

static int cmp_int(const void *a, const void *b)
{
  return *(const int *)a - *(const int *)b;
}

/* Whatever berth's process had open stays out of the monitor. */
static void close_other_fds(mon *m)
{
  int keep[8], n = 0;
  int cand[] = { m->out_fd[0], m->out_fd[1], m->in_fd, m->pty_fd, m->listen_fd, m->report_fd };
  for (size_t i = 0; i < sizeof cand / sizeof cand[0]; i++)
    if (cand[i] > 2)
      keep[n++] = cand[i];
  qsort(keep, (size_t)n, sizeof keep[0], cmp_int);
  unsigned lo = 3;
  for (int i = 0; i < n; i++) {
    if ((unsigned)keep[i] > lo)
      close_range(lo, (unsigned)keep[i] - 1, 0);
    lo = (unsigned)keep[i] + 1;
  }
  close_range(lo, ~0U, 0);
}

static void set_nonblock(int fd)
{
  if (fd >= 0)
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void reap(mon *m)
{
  struct signalfd_siginfo si;
  while (read(m->sig_fd, &si, sizeof si) == (ssize_t)sizeof si)
    ;
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p <= 0)
      return;
    /* Orphans of the container's start reach us as its subreaper: reaped. */
    if (p == m->pid && !m->exited) {
      m->exited = true;
      m->status = st;
      m->drain_deadline_ms = mon_mono_ms() + MON_DRAIN_MS;
    }
  }
}

static void end_stream(mon *m, int s, const char *ts)
{
  mlog_end_stream(&m->log, s, ts);
  if (m->out_fd[s] == m->pty_fd) {
    /* The master is also the container's stdin: done with both. */
    m->in_fd = -1;
    m->stdin_len = m->stdin_off = 0;
  } else if (m->out_fd[s] >= 0) {
    close(m->out_fd[s]);
  }
  m->out_fd[s] = -1;
}

/* One read of a stream: into the log and out to the clients. */
static void read_output(mon *m, int s)
{
  ssize_t n = read(m->out_fd[s], m->frame + MON_HDR_SIZE, MON_FRAME_MAX);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  char ts[MON_TIME_LEN + 1];
  mon_format_time(ts, mon_now_ns());
  if (n <= 0) {
    /* EOF, or EIO from a master whose slave is closed everywhere. */
    end_stream(m, s, ts);
    mlog_flush(&m->log);
    return;
  }
  mlog_output(&m->log, s, (const char *)m->frame + MON_HDR_SIZE, (size_t)n, ts);
  mlog_flush(&m->log);
  mon_put_hdr(m->frame, s == MLOG_STDERR ? MON_MSG_STDERR : MON_MSG_STDOUT, (uint32_t)n);
  mon_broadcast(m, m->frame, MON_HDR_SIZE + (size_t)n);
}

static uint64_t oom_kills(const char *file)
{
  if (!file)
    return 0;
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* memory.events (v2) and memory.oom_control (v1) both have "oom_kill N". */
  for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
    if (!strncmp(p, "oom_kill ", 9))
      return strtoull(p + 9, NULL, 10);
  return 0;
}

static void write_exit_json(mon *m, int code, int sig, bool oom)
{
  char ts[MON_TIME_LEN + 1], body[256], path[PATH_MAX], tmp[PATH_MAX];
  mon_format_time(ts, mon_now_ns());
  int n = snprintf(body, sizeof body,
                   "{\"" MON_EXIT_CODE "\":%d,\"" MON_EXIT_SIGNAL "\":%d,\"" MON_EXIT_OOM_KILLED
                   "\":%s,\"" MON_EXIT_FINISHED "\":\"%s\"}\n",
                   code, sig, oom ? "true" : "false", ts);
  snprintf(path, sizeof path, "%s/" MON_EXIT_FILE, m->state_dir);
  snprintf(tmp, sizeof tmp, "%s/." MON_EXIT_FILE ".tmp", m->state_dir);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return; /* the state is gone (removed by force): nobody to tell */
  write_all(fd, body, (size_t)n);
  fsync(fd);
  close(fd);
  if (rename(tmp, path) < 0) {
    unlink(tmp);
    return;
  }
  int dfd = open(m->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
}

/* rmdir a cgroup and whatever sub-cgroups the container made under it. */
static int rmdir_tree(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 0 : -1;
  struct dirent *de;
  char sub[PATH_MAX];
  while ((de = readdir(d)))
    if (de->d_type == DT_DIR && strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
      snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
      rmdir_tree(sub);
    }
  closedir(d);
  if (rmdir(dir) == 0 || errno == ENOENT)
    return 0;
  return -1;
}

static void remove_cgroups(mon *m)
{
  int64_t deadline = mon_mono_ms() + MON_RMDIR_TRY_MS;
  for (int i = 0; i < m->n_cg; i++) {
    /* EBUSY while the kernel finishes tearing down the last tasks. */
    while (rmdir_tree(m->cg_dirs[i]) < 0 && errno == EBUSY && mon_mono_ms() < deadline)
      nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000000 }, NULL);
  }
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
  /* What cannot go (a mount point of another file system, left out by
   * FTW_MOUNT, keeps its parents) stays: the rest is still removed. */
  if (type == FTW_DP || type == FTW_DNR)
    rmdir(path);
  else
    unlink(path);
  return 0;
}

/* rm -rf of the state directory, then of the other directory given: no
 * symlink followed, no mount crossed. The state first: the container is
 * listed until its other directory (the engine's, with meta.json) goes. */
static void remove_state_dir(const mon *m)
{
  nftw(m->state_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (m->remove_dir)
    nftw(m->remove_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void __attribute__((noreturn)) finish(mon *m)
{
  char ts[MON_TIME_LEN + 1];
  mon_format_time(ts, mon_now_ns());
  for (int s = 0; s < 2; s++)
    if (m->out_fd[s] >= 0)
      end_stream(m, s, ts);
  for (int s = 0; s < 2; s++)
    mlog_end_stream(&m->log, s, ts);
  mlog_close(&m->log);
  if (m->pty_fd >= 0)
    close(m->pty_fd);

  int code = -1, sig = 0;
  if (WIFEXITED(m->status)) {
    code = WEXITSTATUS(m->status);
  } else if (WIFSIGNALED(m->status)) {
    sig = WTERMSIG(m->status);
    code = 128 + sig;
  }
  bool oom = oom_kills(m->oom_file) > 0;
  write_exit_json(m, code, sig, oom);
  mon_clients_finish(m, code, sig, oom);
  remove_cgroups(m);
  char sock[PATH_MAX];
  snprintf(sock, sizeof sock, "%s/" MON_ATTACH_SOCK, m->state_dir);
  unlink(sock);
  if (m->remove_state_dir)
    remove_state_dir(m);
  _exit(0); /* hangs up on the clients: the clean-up is done */
}

static void loop(mon *m)
{
  struct pollfd pfd[4 + MON_MAX_CLIENTS];
  for (;;) {
    int n = 0, i_sig = -1, i_listen = -1, i_out[2] = { -1, -1 }, i_in = -1, i_cl = 0;
    pfd[i_sig = n++] = (struct pollfd){ .fd = m->sig_fd, .events = POLLIN };
    if (m->listen_fd >= 0)
      pfd[i_listen = n++] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
    /* Drops clients that lagged too long; -1 when none lags. */
    int lag_timeout = mon_lag_check(m);
    bool lagging = lag_timeout >= 0;
    for (int s = 0; s < 2; s++)
      if (m->out_fd[s] >= 0 && !lagging)
        pfd[i_out[s] = n++] = (struct pollfd){ .fd = m->out_fd[s], .events = POLLIN };
    if (m->in_fd >= 0 && m->stdin_len > m->stdin_off)
      pfd[i_in = n++] = (struct pollfd){ .fd = m->in_fd, .events = POLLOUT };
    i_cl = n;
    int slot[MON_MAX_CLIENTS];
    for (int i = 0; i < MON_MAX_CLIENTS; i++) {
      mon_client *c = &m->clients[i];
      if (c->fd < 0)
        continue;
      short ev = (short)((m->stdin_len ? 0 : POLLIN) | (c->pend ? POLLOUT : 0));
      slot[n - i_cl] = i;
      pfd[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
    }

    int timeout = lag_timeout;
    if (m->exited) {
      int64_t left = m->drain_deadline_ms - mon_mono_ms();
      int t = left > 0 ? (int)left : 0;
      timeout = timeout < 0 || t < timeout ? t : timeout;
    }
    if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
      fail(m, "poll", errno);

    /* New clients first: one that connected before the container wrote
     * anything gets every byte. */
    if (i_listen >= 0 && pfd[i_listen].revents)
      mon_accept(m);
    for (int s = 0; s < 2; s++)
      if (i_out[s] >= 0 && pfd[i_out[s]].revents && m->out_fd[s] >= 0 && !mon_any_lagging(m))
        read_output(m, s);
    if (i_in >= 0 && pfd[i_in].revents)
      mon_stdin_flush(m);
    for (int k = i_cl; k < n; k++)
      if (pfd[k].revents)
        mon_client_event(m, slot[k - i_cl], pfd[k].revents);
    if (pfd[i_sig].revents)
      reap(m);

    if (m->exited
        && ((m->out_fd[0] < 0 && m->out_fd[1] < 0) || mon_mono_ms() >= m->drain_deadline_ms))
      finish(m);
  }
}

int main(int argc, char **argv)
{
  mon *m = &M;
  m->out_fd[0] = m->out_fd[1] = m->in_fd = m->pty_fd = -1;
  m->listen_fd = m->sig_fd = m->report_fd = -1;
  for (int i = 0; i < MON_MAX_CLIENTS; i++)
    m->clients[i].fd = -1;
  int64_t max_bytes = MON_DEFAULT_LOG_MAX_BYTES;
  int max_files = MON_DEFAULT_LOG_MAX_FILES;
  const char *log_path = NULL;
  parse_args(m, argc, argv, &max_bytes, &max_files, &log_path);
  close_other_fds(m);

  /* The terminal berth ran in is not ours: its signals must not end us. */
  int ignore[] = { SIGPIPE, SIGHUP, SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU };
  for (size_t i = 0; i < sizeof ignore / sizeof ignore[0]; i++)
    signal(ignore[i], SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, NULL);
  m->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (m->sig_fd < 0)
    fail(m, "signalfd", errno);

  int r = mlog_open(&m->log, log_path, max_bytes, max_files);
  if (r < 0) {
    char what[PATH_MAX + 16];
    snprintf(what, sizeof what, "open %s", log_path);
    fail(m, what, -r);
  }
  set_nonblock(m->out_fd[0]);
  set_nonblock(m->out_fd[1]);
  set_nonblock(m->in_fd);
  set_nonblock(m->listen_fd);

  if (m->report_fd >= 0) {
    char ok[32];
    int n = snprintf(ok, sizeof ok, MON_REPORT_OK "%d\n", (int)m->pid);
    write_all(m->report_fd, ok, (size_t)n);
    close(m->report_fd);
    m->report_fd = -1;
  }
  /* The container may have died before SIGCHLD was blocked. */
  reap(m);
  loop(m);
  return 0;
}
