/* bgthread.c — the server's background threads (the garbage collector, the
 * controller manager): a thread and the eventfd that tells it to stop,
 * which it polls beside its store watch. */
#include "server/internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

int srv_bg_start(srv_bg_t *b, const char *what, void *(*fn)(void *), void *arg, berr_t *err)
{
  b->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (b->stop_fd < 0)
    return berr_set(err, errno, "start the %s", what);
  int rc = pthread_create(&b->thread, NULL, fn, arg);
  if (rc != 0) {
    close(b->stop_fd);
    b->stop_fd = -1;
    return berr_set(err, rc, "start the %s", what);
  }
  return 0;
}

bool srv_bg_stopped(srv_bg_t *b, int timeout_ms)
{
  struct pollfd p = { .fd = b->stop_fd, .events = POLLIN };
  return poll(&p, 1, timeout_ms) > 0;
}

void srv_bg_stop(srv_bg_t *b)
{
  uint64_t one = 1;
  if (write(b->stop_fd, &one, sizeof one) < 0)
    abort(); /* an eventfd write of 1 cannot fail */
  pthread_join(b->thread, NULL);
  close(b->stop_fd);
  b->stop_fd = -1;
}
