/* attach.c — the monitor's side of the attach socket (protocol in
 * monitor_proto.h).
 *
 * Clients are non-blocking SOCK_SEQPACKET connections, so a frame is either
 * taken whole by the kernel or not at all. A client whose socket is full keeps
 * that one frame pending and the monitor stops reading the container's output
 * until the client catches up: the container's pipes fill and it blocks, as
 * with docker attach — no unbounded buffering in a process that must stay
 * small. A client that lags for MON_CLIENT_LAG_MS is dropped. Stdin works the
 * same way the other round: while the container has not taken the last STDIN
 * frame, no client is read. */
#include "runtime/monitor/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <termios.h>
#include <unistd.h>

void mon_client_drop(mon *m, int i)
{
  mon_client *c = &m->clients[i];
  if (c->fd >= 0)
    close(c->fd);
  free(c->pend);
  *c = (mon_client){ .fd = -1 };
}

static void send_hello(int fd, const mon *m)
{
  unsigned char f[MON_HDR_SIZE + 2];
  mon_put_hdr(f, MON_MSG_HELLO, 2);
  f[MON_HDR_SIZE] = MON_PROTO_VERSION;
  f[MON_HDR_SIZE + 1]
      = (unsigned char)((m->tty ? MON_HELLO_TTY : 0) | (m->stdin_open ? MON_HELLO_STDIN_OPEN : 0));
  /* A fresh socket has room for 7 bytes. */
  (void)!send(fd, f, sizeof f, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void mon_accept(mon *m)
{
  for (;;) {
    int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return; /* EAGAIN, or a client that went away (ECONNABORTED): try later */
    int slot = -1;
    for (int i = 0; i < MON_MAX_CLIENTS && slot < 0; i++)
      if (m->clients[i].fd < 0)
        slot = i;
    if (slot < 0) {
      close(fd);
      continue;
    }
    m->clients[slot] = (mon_client){ .fd = fd };
    send_hello(fd, m);
  }
}

bool mon_any_lagging(const mon *m)
{
  for (int i = 0; i < MON_MAX_CLIENTS; i++)
    if (m->clients[i].fd >= 0 && m->clients[i].pend)
      return true;
  return false;
}

void mon_broadcast(mon *m, const unsigned char *frame, size_t len)
{
  for (int i = 0; i < MON_MAX_CLIENTS; i++) {
    mon_client *c = &m->clients[i];
    if (c->fd < 0 || c->quiet)
      continue;
    if (c->pend) {
      /* Cannot happen while output waits for laggards; never reorder. */
      mon_client_drop(m, i);
      continue;
    }
    ssize_t w = send(c->fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w == (ssize_t)len)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      c->pend = malloc(len);
      if (!c->pend) {
        mon_client_drop(m, i);
        continue;
      }
      memcpy(c->pend, frame, len);
      c->pend_len = len;
      c->lag_since_ms = mon_mono_ms();
      continue;
    }
    mon_client_drop(m, i);
  }
}

int mon_lag_check(mon *m)
{
  int next = -1;
  int64_t now = mon_mono_ms();
  for (int i = 0; i < MON_MAX_CLIENTS; i++) {
    mon_client *c = &m->clients[i];
    if (c->fd < 0 || !c->pend)
      continue;
    int64_t left = c->lag_since_ms + MON_CLIENT_LAG_MS - now;
    if (left <= 0) {
      mon_client_drop(m, i);
      continue;
    }
    if (next < 0 || left < next)
      next = (int)left;
  }
  return next;
}

static void close_stdin(mon *m)
{
  if (m->in_fd >= 0 && m->in_fd != m->pty_fd)
    close(m->in_fd);
  if (m->in_fd != m->pty_fd)
    m->in_fd = -1;
  m->stdin_len = m->stdin_off = 0;
  m->stdin_close_pending = false;
}

void mon_stdin_flush(mon *m)
{
  while (m->stdin_off < m->stdin_len && m->in_fd >= 0) {
    ssize_t w = write(m->in_fd, m->stdin_buf + m->stdin_off, m->stdin_len - m->stdin_off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (w < 0) {
      /* EPIPE: the container closed its stdin; nobody will read the rest. */
      m->stdin_len = m->stdin_off = 0;
      if (m->in_fd != m->pty_fd)
        close_stdin(m);
      return;
    }
    m->stdin_off += (size_t)w;
  }
  m->stdin_len = m->stdin_off = 0;
  if (m->stdin_close_pending)
    close_stdin(m);
}

static void client_frame(mon *m, int i, const unsigned char *f, size_t n)
{
  if (n < MON_HDR_SIZE || mon_get_u32(f + 1) != n - MON_HDR_SIZE) {
    mon_client_drop(m, i); /* not speaking the protocol */
    return;
  }
  const unsigned char *p = f + MON_HDR_SIZE;
  size_t len = n - MON_HDR_SIZE;
  switch (f[0]) {
  case MON_MSG_STDIN:
    if (!m->stdin_open || m->in_fd < 0 || m->stdin_close_pending || len == 0)
      return;
    memcpy(m->stdin_buf, p, len);
    m->stdin_off = 0;
    m->stdin_len = len;
    mon_stdin_flush(m);
    return;
  case MON_MSG_STDIN_CLOSE:
    /* A terminal has no end of input short of hanging up: ignore. */
    if (!m->stdin_open || m->tty || m->in_fd < 0)
      return;
    if (m->stdin_len > m->stdin_off)
      m->stdin_close_pending = true;
    else
      close_stdin(m);
    return;
  case MON_MSG_RESIZE:
    if (m->tty && m->pty_fd >= 0 && len == MON_RESIZE_PAYLOAD) {
      struct winsize ws = { .ws_row = mon_get_u16(p), .ws_col = mon_get_u16(p + 2) };
      ioctl(m->pty_fd, TIOCSWINSZ, &ws);
    }
    return;
  case MON_MSG_QUIET:
    m->clients[i].quiet = true;
    return;
  default:
    return; /* unknown types are ignored, for newer clients */
  }
}

void mon_client_event(mon *m, int i, short revents)
{
  mon_client *c = &m->clients[i];
  if (c->fd < 0)
    return;
  if (c->pend && (revents & POLLOUT)) {
    ssize_t w = send(c->fd, c->pend, c->pend_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w == (ssize_t)c->pend_len) {
      free(c->pend);
      c->pend = NULL;
      c->pend_len = 0;
    } else if (w >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      mon_client_drop(m, i);
      return;
    }
  }
  /* Read one frame per wake-up, and none while stdin is backed up. */
  if ((revents & POLLIN) && m->stdin_len == 0) {
    ssize_t n = recv(c->fd, m->rx, sizeof m->rx, MSG_DONTWAIT | MSG_TRUNC);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        || n > (ssize_t)sizeof m->rx) {
      mon_client_drop(m, i);
      return;
    }
    if (n > 0)
      client_frame(m, i, m->rx, (size_t)n);
    return;
  }
  /* Gone (frames it still had queued for a backed-up stdin are dropped). */
  if (revents & (POLLHUP | POLLERR))
    mon_client_drop(m, i);
}

void mon_clients_finish(mon *m, int code, int sig, bool oom)
{
  unsigned char f[MON_HDR_SIZE + MON_EXIT_PAYLOAD];
  mon_put_hdr(f, MON_MSG_EXIT, MON_EXIT_PAYLOAD);
  mon_put_u32(f + MON_HDR_SIZE, (uint32_t)code);
  mon_put_u32(f + MON_HDR_SIZE + 4, (uint32_t)sig);
  f[MON_HDR_SIZE + 8] = oom ? 1 : 0;
  /* Late arrivals get a HELLO and the EXIT too. */
  if (m->listen_fd >= 0)
    mon_accept(m);
  struct timeval tv = { .tv_sec = 1 };
  for (int i = 0; i < MON_MAX_CLIENTS; i++) {
    mon_client *c = &m->clients[i];
    if (c->fd < 0)
      continue;
    /* Blocking now, bounded: the exit must not hang on a stuck client. */
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (c->pend && send(c->fd, c->pend, c->pend_len, MSG_NOSIGNAL) != (ssize_t)c->pend_len) {
      mon_client_drop(m, i);
      continue;
    }
    (void)!send(c->fd, f, sizeof f, MSG_NOSIGNAL);
  }
}
