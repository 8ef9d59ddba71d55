/* attach.c — the client side of a monitored container's stdio: attaching to
 * its monitor (protocol in monitor_proto.h), relaying an exec's pty, and
 * waiting for the exit.
 *
 * The pty relay also takes size changes from a resize fd (rt_relay_pty_resizing),
 * for a caller whose terminal is not a local one.
 *
 * Both relays keep reading their output side while an input write is
 * pending, so a container that writes without reading its stdin can never
 * deadlock against a client pasting into it. The caller's terminal goes to
 * raw mode only when the container has a terminal of its own, and is
 * restored on every way out. */
#include "runtime/monitor_client.h"
#include "runtime/monitor_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define TERM_VEOF 4 /* ^D: end of input for a terminal in canonical mode */

/* ---- terminals ------------------------------------------------------------- */

typedef struct term_state {
  int fd[2];
  struct termios saved[2];
  sigset_t old_mask;
  int winch_fd; /* signalfd for SIGWINCH, -1 when not watching */
} term_state;

static void term_init(term_state *t)
{
  t->fd[0] = t->fd[1] = -1;
  t->winch_fd = -1;
}

/* Reads what a terminal in canonical mode holds ready: lines typed ahead and
 * an end of input (^D on an empty line; `script` sends one when its own
 * input ends). Left there, a pending end of input would turn into a NUL byte
 * when the terminal goes raw (the line discipline keeps it as '\0' in its
 * buffer) and reach the container as input; taken here, it becomes the
 * container's own ^D. Returns the bytes put in buf. */
static size_t term_take_pending(int fd, char *buf, size_t cap)
{
  size_t n = 0;
  while (n < cap) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN))
      break;
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      break;
    if (r == 0) {
      buf[n++] = TERM_VEOF;
      break;
    }
    n += (size_t)r;
  }
  return n;
}

/* Raw mode for the caller's terminal(s): in_fd and, when it is another
 * terminal, out_fd. Input in_fd held before the switch goes to pend (cap
 * bytes at most; *pend_len gets its length) for the caller to relay. */
static void term_raw(term_state *t, int in_fd, int out_fd, char *pend, size_t cap, size_t *pend_len)
{
  int cand[2] = { in_fd, out_fd };
  for (int i = 0; i < 2; i++) {
    int fd = cand[i];
    if (fd < 0 || !isatty(fd) || tcgetattr(fd, &t->saved[i]) < 0)
      continue;
    if (i == 1 && t->fd[0] >= 0) {
      struct stat a, b;
      if (fstat(t->fd[0], &a) == 0 && fstat(fd, &b) == 0 && a.st_rdev == b.st_rdev)
        continue; /* the same terminal */
    }
    if (i == 0 && (t->saved[i].c_lflag & ICANON))
      *pend_len = term_take_pending(fd, pend, cap);
    struct termios raw = t->saved[i];
    cfmakeraw(&raw);
    if (tcsetattr(fd, TCSADRAIN, &raw) == 0)
      t->fd[i] = fd;
  }
}

/* Follows the terminal's size changes through a signalfd. */
static void term_watch_size(term_state *t)
{
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGWINCH);
  if (pthread_sigmask(SIG_BLOCK, &set, &t->old_mask) != 0)
    return;
  t->winch_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (t->winch_fd < 0)
    pthread_sigmask(SIG_SETMASK, &t->old_mask, NULL);
}

static void term_drain_winch(term_state *t)
{
  struct signalfd_siginfo si;
  while (read(t->winch_fd, &si, sizeof si) == (ssize_t)sizeof si)
    ;
}

static void term_restore(term_state *t)
{
  for (int i = 1; i >= 0; i--)
    if (t->fd[i] >= 0)
      tcsetattr(t->fd[i], TCSADRAIN, &t->saved[i]);
  if (t->winch_fd >= 0) {
    close(t->winch_fd);
    pthread_sigmask(SIG_SETMASK, &t->old_mask, NULL);
  }
  term_init(t);
}

/* The caller's terminal size, from out_fd or in_fd. */
static bool term_size(int in_fd, int out_fd, struct winsize *ws)
{
  return (out_fd >= 0 && ioctl(out_fd, TIOCGWINSZ, ws) == 0 && ws->ws_row)
         || (in_fd >= 0 && ioctl(in_fd, TIOCGWINSZ, ws) == 0 && ws->ws_row);
}

/* ---- plumbing ---------------------------------------------------------------- */

/* Writes everything, waiting when fd is non-blocking. */
static int write_full(int fd, const void *data, size_t len)
{
  const char *p = data;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd pf = { .fd = fd, .events = POLLOUT };
      poll(&pf, 1, -1);
      continue;
    }
    if (w < 0)
      return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

/* Connects to STATE_DIR/attach.sock (through /proc/self/fd, see monitor.c). */
static int connect_monitor(const char *state_dir)
{
  cleanup_close int dfd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return -1;
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0)
    return -1;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/" MON_ATTACH_SOCK, dfd);
  int r;
  do
    r = connect(s, (struct sockaddr *)&sa, sizeof sa);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    int e = errno;
    close(s);
    errno = e;
    return -1;
  }
  return s;
}

/* exit.json's code; 1 found, 0 absent. */
static int read_exit_record(const char *state_dir, int *exit_code)
{
  cleanup_free char *path = path_join(state_dir, MON_EXIT_FILE);
  if (!fs_exists(path))
    return 0;
  cleanup_json json_t *j = json_load_path(path, NULL);
  if (!j)
    return 0;
  *exit_code = (int)json_int(j, MON_EXIT_CODE, -1);
  return 1;
}

/* ---- attach -------------------------------------------------------------------- */

int rt_attach_open(const char *root, const char *id, int *sock, berr_t *err)
{
  cleanup_free char *dir = NULL;
  if (rt_state_dir(root, id, &dir, err) < 0)
    return -1;
  int s = connect_monitor(dir);
  if (s < 0) {
    int e = errno;
    cleanup_free char *state = path_join(dir, "state.json");
    if (!fs_exists(state))
      return berr_setc(err, ENOENT, "container %s does not exist", id);
    if (e == ENOENT || e == ECONNREFUSED)
      return berr_setc(err, ESRCH,
                       "container %s has no running monitor (stopped, or not a managed container)",
                       id);
    return berr_set(err, e, "connect to the monitor of %s", id);
  }
  *sock = s;
  return 0;
}

typedef struct attach_io {
  int sock, in_fd, out_fd, err_fd;
  bool tty, stdin_open, in_eof;
  unsigned char tx[MON_HDR_SIZE + MON_FRAME_MAX]; /* a frame the socket did not take */
  size_t tx_len;
  unsigned char rx[MON_HDR_SIZE + MON_FRAME_MAX];
} attach_io;

/* Sends a frame now or keeps it for POLLOUT. */
static int send_frame(attach_io *a, int type, const void *payload, size_t len)
{
  mon_put_hdr(a->tx, type, (uint32_t)len);
  if (len)
    memcpy(a->tx + MON_HDR_SIZE, payload, len);
  a->tx_len = MON_HDR_SIZE + len;
  ssize_t w = send(a->sock, a->tx, a->tx_len, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (w == (ssize_t)a->tx_len)
    a->tx_len = 0;
  else if (w >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
    return -1;
  return 0;
}

static void send_size(attach_io *a)
{
  struct winsize ws;
  if (!term_size(a->in_fd, a->out_fd, &ws))
    return;
  unsigned char p[MON_RESIZE_PAYLOAD];
  mon_put_u16(p, ws.ws_row);
  mon_put_u16(p + 2, ws.ws_col);
  /* A resize may replace nothing pending; if stdin is pending, skip it: the
   * next SIGWINCH or the pending frame's flush comes first. */
  if (a->tx_len == 0)
    send_frame(a, MON_MSG_RESIZE, p, sizeof p);
}

/* Waits for the HELLO frame. Returns 1 with it, 0 when the monitor hung up. */
static int read_hello(attach_io *a, berr_t *err)
{
  for (;;) {
    ssize_t n = recv(a->sock, a->rx, sizeof a->rx, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return berr_set(err, errno, "read from the monitor");
    if (n == 0)
      return 0;
    if (n >= MON_HDR_SIZE + 2 && a->rx[0] == MON_MSG_HELLO) {
      a->tty = a->rx[MON_HDR_SIZE + 1] & MON_HELLO_TTY;
      a->stdin_open = a->rx[MON_HDR_SIZE + 1] & MON_HELLO_STDIN_OPEN;
      return 1;
    }
    return berr_set(err, EPROTO, "the monitor did not greet");
  }
}

/* One frame from the monitor. Returns 1 on EXIT, 0 to go on, -1 on error. */
static int handle_frame(attach_io *a, size_t n, int *exit_code, berr_t *err)
{
  if (n < MON_HDR_SIZE || mon_get_u32(a->rx + 1) != n - MON_HDR_SIZE)
    return berr_set(err, EPROTO, "bad frame from the monitor");
  const unsigned char *p = a->rx + MON_HDR_SIZE;
  size_t len = n - MON_HDR_SIZE;
  switch (a->rx[0]) {
  case MON_MSG_STDOUT:
  case MON_MSG_STDERR: {
    int fd = a->rx[0] == MON_MSG_STDOUT ? a->out_fd : a->err_fd;
    if (fd >= 0 && write_full(fd, p, len) < 0)
      return berr_set(err, errno, "write the container's output");
    return 0;
  }
  case MON_MSG_EXIT:
    if (len < MON_EXIT_PAYLOAD)
      return berr_set(err, EPROTO, "bad exit frame from the monitor");
    *exit_code = (int)(int32_t)mon_get_u32(p);
    return 1;
  default:
    return 0;
  }
}

/* After EXIT the monitor cleans up (cgroups, and an auto-remove container's
 * state directory) and then hangs up: once this returns, that is done. */
static void wait_hangup(attach_io *a)
{
  for (;;) {
    ssize_t n = recv(a->sock, a->rx, sizeof a->rx, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
  }
}

static int attach_loop(attach_io *a, term_state *t, int *exit_code, berr_t *err)
{
  for (;;) {
    struct pollfd pf[3];
    int n = 0, i_in = -1, i_w = -1;
    pf[n++] = (struct pollfd){ .fd = a->sock, .events = POLLIN | (a->tx_len ? POLLOUT : 0) };
    if (a->stdin_open && a->in_fd >= 0 && !a->in_eof && !a->tx_len)
      pf[i_in = n++] = (struct pollfd){ .fd = a->in_fd, .events = POLLIN };
    if (t->winch_fd >= 0)
      pf[i_w = n++] = (struct pollfd){ .fd = t->winch_fd, .events = POLLIN };
    if (poll(pf, (nfds_t)n, -1) < 0) {
      if (errno == EINTR)
        continue;
      return berr_set(err, errno, "poll");
    }
    if (pf[0].revents & POLLOUT && a->tx_len) {
      ssize_t w = send(a->sock, a->tx, a->tx_len, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (w == (ssize_t)a->tx_len)
        a->tx_len = 0;
      else if (w >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
        return 0; /* the monitor is gone: the caller falls back to exit.json */
    }
    if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = recv(a->sock, a->rx, sizeof a->rx, MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
        return 0;
      if (r > 0) {
        int h = handle_frame(a, (size_t)r, exit_code, err);
        if (h != 0)
          return h;
      }
    }
    if (i_in >= 0 && pf[i_in].revents) {
      ssize_t r = read(a->in_fd, a->tx + MON_HDR_SIZE, MON_FRAME_MAX);
      if (r < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (r <= 0) {
        a->in_eof = true;
        if (send_frame(a, MON_MSG_STDIN_CLOSE, NULL, 0) < 0)
          return 0;
      } else {
        mon_put_hdr(a->tx, MON_MSG_STDIN, (uint32_t)r);
        a->tx_len = MON_HDR_SIZE + (size_t)r;
        ssize_t w = send(a->sock, a->tx, a->tx_len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w == (ssize_t)a->tx_len)
          a->tx_len = 0;
        else if (w >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
          return 0;
      }
    }
    if (i_w >= 0 && pf[i_w].revents) {
      term_drain_winch(t);
      send_size(a);
    }
  }
}

int rt_attach_io(const char *root, const char *id, int sock, int in_fd, int out_fd, int err_fd,
                 int *exit_code, berr_t *err)
{
  cleanup_close int s = sock;
  cleanup_free char *dir = NULL;
  if (rt_state_dir(root, id, &dir, err) < 0)
    return -1;
  cleanup_free attach_io *a = xcalloc(1, sizeof *a);
  a->sock = s;
  a->in_fd = in_fd;
  a->out_fd = out_fd;
  a->err_fd = err_fd;
  int r = read_hello(a, err);
  if (r < 0)
    return berr_wrap(err, "attach to %s", id);
  if (r == 1) {
    term_state t;
    term_init(&t);
    if (a->tty) {
      size_t pend = 0; /* input the terminal held, in rx until sent */
      if (out_fd >= 0 && isatty(out_fd))
        term_raw(&t, a->stdin_open ? in_fd : -1, out_fd, (char *)a->rx, MON_FRAME_MAX, &pend);
      term_watch_size(&t);
      send_size(a);
      /* A fresh connection takes both frames at once; a failed send shows
       * again in the loop. */
      if (pend && a->tx_len == 0)
        send_frame(a, MON_MSG_STDIN, a->rx, pend);
    }
    r = attach_loop(a, &t, exit_code, err);
    term_restore(&t);
    if (r < 0)
      return berr_wrap(err, "attach to %s", id);
    if (r == 1) {
      wait_hangup(a);
      return 0;
    }
  }
  /* The monitor hung up without an EXIT frame: its record tells the end. */
  if (read_exit_record(dir, exit_code))
    return 0;
  return berr_setc(err, EIO, "container %s: its monitor exited without recording the exit status",
                   id);
}

int rt_attach(const char *root, const char *id, int in_fd, int out_fd, int err_fd, int *exit_code,
              berr_t *err)
{
  int sock = -1;
  berr_t e = BERR_INIT;
  if (rt_attach_open(root, id, &sock, &e) < 0) {
    cleanup_free char *dir = NULL;
    /* Stopped already: nothing to relay, the record has the code. */
    if (e.code == ESRCH && rt_state_dir(root, id, &dir, NULL) == 0
        && read_exit_record(dir, exit_code)) {
      berr_clear(&e);
      return 0;
    }
    berr_move(err, &e);
    return -1;
  }
  return rt_attach_io(root, id, sock, in_fd, out_fd, err_fd, exit_code, err);
}

/* ---- exec -t: relay a pty master ------------------------------------------------- */

static void resize_master(int master, int in_fd, int out_fd)
{
  struct winsize ws;
  if (term_size(in_fd, out_fd, &ws))
    ioctl(master, TIOCSWINSZ, &ws);
}

#define RESIZE_LINE_MAX 16 /* "65535x65535\n" and some slack */

int rt_pty_resize_send(int fd, uint16_t rows, uint16_t cols)
{
  char line[RESIZE_LINE_MAX];
  int n = snprintf(line, sizeof line, "%ux%u\n", (unsigned)rows, (unsigned)cols);
  ssize_t w;
  do
    w = write(fd, line, (size_t)n);
  while (w < 0 && errno == EINTR);
  return w == n ? 0 : -1;
}

/* One line "ROWSxCOLS" (without its newline); false when malformed. */
static bool parse_resize(const char *s, size_t len, struct winsize *ws)
{
  unsigned long v[2] = { 0, 0 };
  size_t i = 0;
  for (int k = 0; k < 2; k++) {
    size_t start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9' && v[k] <= 0xffff)
      v[k] = v[k] * 10 + (unsigned long)(s[i++] - '0');
    if (i == start || v[k] == 0 || v[k] > 0xffff)
      return false;
    if (k == 0 && (i >= len || s[i++] != 'x'))
      return false;
  }
  if (i != len)
    return false;
  *ws = (struct winsize){ .ws_row = (unsigned short)v[0], .ws_col = (unsigned short)v[1] };
  return true;
}

/* The resize messages of a relay: a line may arrive in pieces. */
typedef struct resize_in {
  int fd; /* -1 once it has ended */
  char buf[RESIZE_LINE_MAX];
  size_t len;
  bool skip; /* an overlong line: dropped up to its newline */
} resize_in;

/* Reads what resize_fd has and applies each complete line to the master. */
static void resize_read(resize_in *r, int master)
{
  char tmp[256];
  ssize_t n = read(r->fd, tmp, sizeof tmp);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) {
    r->fd = -1; /* ended: the relay goes on without resizes */
    return;
  }
  for (ssize_t i = 0; i < n; i++) {
    if (tmp[i] != '\n') {
      if (r->len < sizeof r->buf)
        r->buf[r->len++] = tmp[i];
      else
        r->skip = true;
      continue;
    }
    struct winsize ws;
    if (!r->skip && parse_resize(r->buf, r->len, &ws))
      ioctl(master, TIOCSWINSZ, &ws);
    else
      log_debug("msg=\"pty relay: bad resize message skipped\" len=%zu", r->len);
    r->len = 0;
    r->skip = false;
  }
}

int rt_relay_pty(int master, int in_fd, int out_fd, berr_t *err)
{
  return rt_relay_pty_resizing(master, in_fd, out_fd, -1, err);
}

int rt_relay_pty_resizing(int master, int in_fd, int out_fd, int resize_fd, berr_t *err)
{
  int flags = fcntl(master, F_GETFL);
  if (flags < 0)
    return berr_set(err, errno, "pty master");
  fcntl(master, F_SETFL, flags | O_NONBLOCK);
  term_state t;
  term_init(&t);
  bool in_eof = in_fd < 0;
  resize_in rz = { .fd = resize_fd };
  char tx[4096], rx[16384];
  size_t tx_off = 0, tx_len = 0; /* input for the master: what the terminal held first */
  if ((in_fd >= 0 && isatty(in_fd)) || (out_fd >= 0 && isatty(out_fd))) {
    term_raw(&t, in_fd, out_fd, tx, sizeof tx, &tx_len);
    term_watch_size(&t);
    resize_master(master, in_fd, out_fd);
  }
  int rc = 0;
  for (;;) {
    struct pollfd pf[4];
    int n = 0, i_in = -1, i_w = -1, i_rz = -1;
    pf[n++] = (struct pollfd){ .fd = master, .events = POLLIN | (tx_len ? POLLOUT : 0) };
    if (!in_eof && !tx_len)
      pf[i_in = n++] = (struct pollfd){ .fd = in_fd, .events = POLLIN };
    if (t.winch_fd >= 0)
      pf[i_w = n++] = (struct pollfd){ .fd = t.winch_fd, .events = POLLIN };
    if (rz.fd >= 0)
      pf[i_rz = n++] = (struct pollfd){ .fd = rz.fd, .events = POLLIN };
    if (poll(pf, (nfds_t)n, -1) < 0) {
      if (errno == EINTR)
        continue;
      rc = berr_set(err, errno, "poll");
      break;
    }
    /* Sizes first: a resize sent before some input takes effect before the
     * process reads that input. */
    if (i_rz >= 0 && pf[i_rz].revents)
      resize_read(&rz, master);
    if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(master, rx, sizeof rx);
      if (r < 0 && (errno == EAGAIN || errno == EINTR))
        ;
      else if (r <= 0) /* EIO: every slave is closed, the process is done */
        break;
      else if (out_fd >= 0 && write_full(out_fd, rx, (size_t)r) < 0) {
        rc = berr_set(err, errno, "write output");
        break;
      }
    }
    if ((pf[0].revents & POLLOUT) && tx_len) {
      ssize_t w = write(master, tx + tx_off, tx_len - tx_off);
      if (w > 0) {
        tx_off += (size_t)w;
        if (tx_off == tx_len)
          tx_off = tx_len = 0;
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        tx_off = tx_len = 0;
        in_eof = true;
      }
    }
    if (i_in >= 0 && pf[i_in].revents) {
      ssize_t r = read(in_fd, tx, sizeof tx);
      if (r < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      if (r <= 0) {
        in_eof = true;
        /* Input from a file or pipe ended: the line discipline's EOF. */
        if (!isatty(in_fd)) {
          tx[0] = TERM_VEOF;
          tx_len = 1;
        }
      } else {
        tx_len = (size_t)r;
      }
      tx_off = 0;
    }
    if (i_w >= 0 && pf[i_w].revents) {
      term_drain_winch(&t);
      resize_master(master, in_fd, out_fd);
    }
  }
  term_restore(&t);
  fcntl(master, F_SETFL, flags);
  return rc;
}

/* ---- waiting for the exit ------------------------------------------------------ */

int rt_monitor_watch(const char *state_dir)
{
  int s = connect_monitor(state_dir);
  if (s < 0)
    return -1;
  unsigned char f[MON_HDR_SIZE];
  mon_put_hdr(f, MON_MSG_QUIET, 0);
  if (send(s, f, sizeof f, MSG_NOSIGNAL) != (ssize_t)sizeof f) {
    close(s);
    return -1;
  }
  return s;
}

bool rt_monitor_watch_ended(int sock)
{
  unsigned char f[MON_HDR_SIZE + MON_FRAME_MAX];
  for (;;) {
    /* HELLO, and output sent before QUIET arrived: skipped */
    ssize_t n = recv(sock, f, sizeof f, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno != EAGAIN && errno != EWOULDBLOCK;
    if (n == 0 || f[0] == MON_MSG_EXIT)
      return true;
  }
}

/* True when nothing will ever write exit.json: the container's init is gone
 * and no monitor listens (checked only once the state says stopped, since a
 * monitor draining the last output is briefly in that window). */
static bool stopped_without_record(const char *root, const char *id, const char *dir)
{
  rt_state st;
  if (rt_state_get(root, id, &st, NULL) < 0)
    return true; /* removed */
  rt_status s = st.status;
  rt_state_free(&st);
  if (s != RT_STOPPED)
    return false;
  int sock = connect_monitor(dir);
  if (sock >= 0) {
    close(sock);
    return false;
  }
  return true;
}

int rt_wait_stopped(const char *root, const char *id, int timeout_ms, berr_t *err)
{
  cleanup_free char *dir = NULL;
  if (rt_state_dir(root, id, &dir, err) < 0)
    return -1;
  cleanup_free char *exit_path = path_join(dir, MON_EXIT_FILE);
  if (fs_exists(exit_path) || !fs_exists(dir))
    return 1;
  if (timeout_ms == 0)
    return stopped_without_record(root, id, dir) ? 1 : 0;
  /* With a monitor, its EXIT frame (or hang-up) wakes us and nothing else
   * does. Without one (a container of the OCI level, or a killed monitor),
   * inotify sees exit.json appear and the state is rechecked every second. */
  cleanup_close int watch = rt_monitor_watch(dir);
  cleanup_close int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (ifd < 0)
    return berr_set(err, errno, "inotify");
  /* exit.json appears by rename (IN_MOVED_TO); the directory may go away. */
  if (inotify_add_watch(ifd, dir,
                        IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
      < 0) {
    if (errno == ENOENT)
      return 1; /* removed: certainly not running */
    return berr_set(err, errno, "watch %s", dir);
  }
  int64_t deadline = timeout_ms < 0 ? -1 : time_mono_ns() + (int64_t)timeout_ms * 1000000;
  for (;;) {
    if (fs_exists(exit_path) || !fs_exists(dir))
      return 1;
    if (watch < 0 && stopped_without_record(root, id, dir))
      return 1;
    int wait = watch >= 0 ? -1 : 1000;
    if (deadline >= 0) {
      int64_t left = (deadline - time_mono_ns()) / 1000000;
      if (left <= 0)
        return 0;
      if (wait < 0 || left < wait)
        wait = (int)left + 1;
    }
    struct pollfd pf[2] = { { .fd = ifd, .events = POLLIN }, { .fd = watch, .events = POLLIN } };
    if (poll(pf, watch >= 0 ? 2 : 1, wait) < 0 && errno != EINTR)
      return berr_set(err, errno, "poll");
    char ev[4096];
    while (read(ifd, ev, sizeof ev) > 0)
      ;
    if (watch >= 0 && pf[1].revents && rt_monitor_watch_ended(watch)) {
      close(watch);
      watch = -1;
      /* a monitor that died without a record: the fallback takes over */
    }
  }
}
