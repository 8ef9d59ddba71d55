/* pod_watch.c — one thread that notices, for every pod at once, what should
 * make a pod's worker look again, without polling:
 *
 *  - a container's end: its monitor writes ENGINE_EXIT_FILE into the
 *    container's directory (temp + rename) after the exit is recorded, so
 *    one inotify instance watching every container directory hears of
 *    every exit when its status can already be read;
 *  - a container's end when its monitor is gone (killed): a pidfd of the
 *    container's process becomes readable; the pod is looked at a moment
 *    later, when a living monitor would have written its file;
 *  - timers: back-offs and grace periods, as each pod's wake_mono.
 *
 * It only queues pods (pod_enqueue_locked); the workers do the rest. */
#include "agent/pod_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

/* How long after a container's process ended its monitor's record is
 * awaited before the pod is looked at anyway. */
#define PIDFD_GRACE_NS (1000LL * 1000000LL)

enum { TAG_INOTIFY = 1, TAG_EVENT = 2, TAG_PIDFD = 3 };
#define EV_DATA(tag, fd) (((uint64_t)(tag) << 32) | (uint32_t)(fd))

typedef struct pod_watch {
  int wd, pidfd;
  char *uid, *id;
} pod_watch;

static void watch_free(pod_watch *w, int epfd, int ifd)
{
  if (w->pidfd >= 0) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, w->pidfd, NULL);
    close(w->pidfd);
  }
  if (w->wd >= 0)
    inotify_rm_watch(ifd, w->wd); /* EINVAL once the directory is gone: fine */
  free(w->uid);
  free(w->id);
}

static pod_watch *watch_by_id(pod_mgr_t *m, const char *id)
{
  for (size_t i = 0; i < m->n_watches; i++)
    if (!strcmp(m->watches[i].id, id))
      return &m->watches[i];
  return NULL;
}

/* Queues the pod of the watch matching (wd or pidfd), m->lock held. */
static void poke_locked(pod_mgr_t *m, int wd, int pidfd, int64_t delay_ns)
{
  for (size_t i = 0; i < m->n_watches; i++) {
    pod_watch *w = &m->watches[i];
    if ((wd >= 0 && w->wd == wd) || (pidfd >= 0 && w->pidfd == pidfd)) {
      pod_t *p = pod_find_locked(m, w->uid);
      if (p && !delay_ns) {
        pod_enqueue_locked(m, p);
      } else if (p) {
        int64_t t = time_mono_ns() + delay_ns;
        if (!p->wake_mono || t < p->wake_mono)
          p->wake_mono = t;
      }
      if (pidfd >= 0) { /* readable for good now */
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, w->pidfd, NULL);
        close(w->pidfd);
        w->pidfd = -1;
      }
      return;
    }
  }
}

static void read_inotify(pod_mgr_t *m)
{
  char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
  for (;;) {
    ssize_t n = read(m->ifd, buf, sizeof buf);
    if (n <= 0)
      return;
    pthread_mutex_lock(&m->lock);
    for (char *p = buf; p < buf + n;) {
      struct inotify_event *ev = (struct inotify_event *)p;
      if (ev->mask & IN_Q_OVERFLOW) /* events were lost: look at every pod */
        for (size_t i = 0; i < m->n_pods; i++)
          pod_enqueue_locked(m, m->pods[i]);
      bool exit_file = ev->len && !strcmp(ev->name, ENGINE_EXIT_FILE);
      if (exit_file || (ev->mask & (IN_DELETE_SELF | IN_IGNORED)))
        poke_locked(m, ev->wd, -1, 0);
      p += sizeof *ev + ev->len;
    }
    pthread_mutex_unlock(&m->lock);
  }
}

/* Queues the pods whose timer is due; returns the next due time (or 0). */
static int64_t run_timers(pod_mgr_t *m)
{
  int64_t now = time_mono_ns(), next = 0;
  pthread_mutex_lock(&m->lock);
  for (size_t i = 0; i < m->n_pods; i++) {
    pod_t *p = m->pods[i];
    if (!p->wake_mono)
      continue;
    if (p->wake_mono <= now) {
      p->wake_mono = 0;
      pod_enqueue_locked(m, p);
    } else if (!next || p->wake_mono < next) {
      next = p->wake_mono;
    }
  }
  pthread_mutex_unlock(&m->lock);
  return next;
}

static void *watcher_main(void *arg)
{
  pod_mgr_t *m = arg;
  for (;;) {
    pthread_mutex_lock(&m->lock);
    bool stop = m->stopping;
    pthread_mutex_unlock(&m->lock);
    if (stop)
      break;
    int64_t next = run_timers(m);
    int timeout = -1;
    if (next) {
      int64_t ms = (next - time_mono_ns() + 999999) / 1000000;
      timeout = ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
    }
    struct epoll_event evs[32];
    int n = epoll_wait(m->epfd, evs, ARRAY_SIZE(evs), timeout);
    for (int i = 0; i < n; i++) {
      uint32_t tag = (uint32_t)(evs[i].data.u64 >> 32);
      int fd = (int)(uint32_t)evs[i].data.u64;
      if (tag == TAG_INOTIFY) {
        read_inotify(m);
      } else if (tag == TAG_EVENT) {
        uint64_t v;
        while (read(m->efd, &v, sizeof v) < 0 && errno == EINTR)
          ;
      } else if (tag == TAG_PIDFD) {
        pthread_mutex_lock(&m->lock);
        poke_locked(m, -1, fd, PIDFD_GRACE_NS);
        pthread_mutex_unlock(&m->lock);
      }
    }
  }
  return NULL;
}

static int epoll_add(int epfd, int fd, uint64_t data)
{
  struct epoll_event ev = { .events = EPOLLIN, .data.u64 = data };
  return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int pw_open(pod_mgr_t *m, berr_t *err)
{
  m->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (m->ifd < 0)
    return berr_set(err, errno, "inotify");
  m->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (m->efd < 0)
    return berr_set(err, errno, "eventfd");
  m->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (m->epfd < 0)
    return berr_set(err, errno, "epoll");
  if (epoll_add(m->epfd, m->ifd, EV_DATA(TAG_INOTIFY, m->ifd)) < 0
      || epoll_add(m->epfd, m->efd, EV_DATA(TAG_EVENT, m->efd)) < 0)
    return berr_set(err, errno, "epoll");
  int r = pthread_create(&m->watcher, NULL, watcher_main, m);
  if (r)
    return berr_set(err, r, "start the container watcher");
  m->watcher_up = true;
  return 0;
}

void pw_kick(pod_mgr_t *m)
{
  uint64_t one = 1;
  if (m->efd >= 0 && write(m->efd, &one, sizeof one) < 0) {
    /* the counter is full: the watcher has wake-ups pending anyway */
  }
}

void pw_close(pod_mgr_t *m)
{
  if (m->watcher_up) {
    pthread_mutex_lock(&m->lock);
    m->stopping = true;
    pthread_mutex_unlock(&m->lock);
    pw_kick(m);
    pthread_join(m->watcher, NULL);
    m->watcher_up = false;
  }
  for (size_t i = 0; i < m->n_watches; i++)
    watch_free(&m->watches[i], m->epfd, m->ifd);
  free(m->watches);
  m->watches = NULL;
  m->n_watches = m->cap_watches = 0;
  int *fds[] = { &m->ifd, &m->efd, &m->epfd };
  for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
    if (*fds[i] >= 0)
      close(*fds[i]);
    *fds[i] = -1;
  }
}

void pw_add(pod_mgr_t *m, const char *uid, const char *id, pid_t pid)
{
  cleanup_free char *dir = engine_state_dir(m->eng, id);
  int pidfd = -1;
  if (pid > 0) {
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd >= 0 && epoll_add(m->epfd, pidfd, EV_DATA(TAG_PIDFD, pidfd)) < 0) {
      close(pidfd);
      pidfd = -1;
    }
  }
  pthread_mutex_lock(&m->lock);
  pod_watch *w = watch_by_id(m, id);
  if (!w) {
    int wd = inotify_add_watch(m->ifd, dir, IN_MOVED_TO | IN_DELETE_SELF | IN_ONLYDIR);
    if (wd < 0)
      log_warn("msg=\"cannot watch container\" dir=%s errno=%d", dir, errno);
    if (m->n_watches == m->cap_watches) {
      m->cap_watches = m->cap_watches ? 2 * m->cap_watches : 32;
      m->watches = xrealloc(m->watches, m->cap_watches * sizeof *m->watches);
    }
    w = &m->watches[m->n_watches++];
    *w = (pod_watch){ .wd = wd, .pidfd = -1, .uid = xstrdup(uid), .id = xstrdup(id) };
  }
  if (pidfd >= 0) {
    if (w->pidfd >= 0) {
      epoll_ctl(m->epfd, EPOLL_CTL_DEL, w->pidfd, NULL);
      close(w->pidfd);
    }
    w->pidfd = pidfd;
  }
  pthread_mutex_unlock(&m->lock);
}

void pw_del(pod_mgr_t *m, const char *id)
{
  pthread_mutex_lock(&m->lock);
  pod_watch *w = watch_by_id(m, id);
  if (w) {
    watch_free(w, m->epfd, m->ifd);
    *w = m->watches[--m->n_watches];
  }
  pthread_mutex_unlock(&m->lock);
}
