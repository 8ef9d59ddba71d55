/* terminal.c — process.terminal: a pty from the container's own devpts
 * instance, its slave as the controlling terminal and stdio of the process,
 * its master handed to whoever holds the console socket (the OCI
 * --console-socket convention: one SCM_RIGHTS message on a unix socket).
 *
 * The slave is opened with TIOCGPTPEER on the master, not by path, so a
 * process already in the container cannot swap /dev/pts/N under us. */
#include "runtime/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int tty_open(const rt_process *p, int *master, int *slave, char **slave_path, berr_t *err)
{
  *master = *slave = -1;
  int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0)
    return berr_set(err, errno, "open /dev/pts/ptmx (is devpts mounted at /dev/pts?)");
  int unlock = 0, n = -1;
  if (ioctl(m, TIOCSPTLCK, &unlock) < 0 || ioctl(m, TIOCGPTN, &n) < 0) {
    int e = errno;
    close(m);
    return berr_set(err, e, "unlock pty");
  }
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) {
    int e = errno;
    close(m);
    return berr_set(err, e, "open the pty slave");
  }
  if (p->console_rows && p->console_cols) {
    struct winsize ws = { .ws_row = p->console_rows, .ws_col = p->console_cols };
    ioctl(m, TIOCSWINSZ, &ws);
  }
  *master = m;
  *slave = s;
  if (slave_path)
    *slave_path = xasprintf("/dev/pts/%d", n);
  return 0;
}

int tty_attach_stdio(int slave, berr_t *err)
{
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    return berr_set(err, errno, "make the pty the controlling terminal");
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0)
      return berr_set(err, errno, "dup2 the pty to %d", fd);
  if (slave > 2)
    close(slave);
  return 0;
}

int tty_send_fd(int sock, int fd, berr_t *err)
{
  char byte = 0;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct msghdr msg = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf
  };
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t r;
  do
    r = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r < 0 ? berr_set(err, errno, "send the pty over the console socket") : 0;
}

int rt_console_recv(int sock, int *fd, berr_t *err)
{
  char byte;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct msghdr msg = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf
  };
  ssize_t r;
  do
    r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return berr_set(err, errno, "receive the pty");
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (r == 0 || !c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
    return berr_setc(err, EPROTO, "receive the pty: no file descriptor came");
  memcpy(fd, CMSG_DATA(c), sizeof *fd);
  return 0;
}

int rt_console_connect(const char *path, int *fd, berr_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (strlen(path) >= sizeof sa.sun_path)
    return berr_set(err, ENAMETOOLONG, "console socket %s", path);
  strcpy(sa.sun_path, path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return berr_set(err, errno, "socket");
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(s);
    return berr_set(err, e, "connect to console socket %s", path);
  }
  *fd = s;
  return 0;
}
