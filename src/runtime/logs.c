/* logs.c — reading a container's CRI-format log (written by its monitor, see
 * monitor_proto.h) back as the container wrote it: stdout records to one fd,
 * stderr records to another, P fragments joined into their line.
 *
 * The rotated files LOG.N … LOG.1 are read oldest first, then LOG. --tail
 * keeps a ring of the last N lines of that pass. With follow, the current
 * file stays open: inotify on its directory wakes the reader, a rotation is
 * noticed by the path naming another inode (the old file is read to its end
 * first), and the read ends once the container has stopped — the monitor
 * writes exit.json only after the last record, so after that one more pass
 * to EOF is complete. */
#include "runtime/monitor_client.h"
#include "runtime/monitor_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* A formatted line waiting in the --tail ring. */
typedef struct tail_line {
  bool err;
  char *data;
  size_t len;
} tail_line;

typedef struct log_reader {
  const rt_logs_opts *o;
  int fd[2]; /* out_fd, err_fd */
  /* P fragments of a line not ended yet, per stream */
  buf_t frag[2];
  char *frag_ts[2];   /* time of the line's first fragment; "" = dropped by since */
  bool frag_shown[2]; /* the line's start was output already (no time prefix again) */
  /* --tail during the first pass */
  bool tailing;
  tail_line *ring;
  size_t ring_cap, ring_head, ring_n;
  /* output batched per fd; flushed when the target fd changes */
  buf_t out;
  int out_to;
  /* a record cut by an in-flight write, completed by the next read */
  buf_t carry;
} log_reader;

static int write_full(int fd, const char *p, size_t len)
{
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      if (errno == EAGAIN) {
        struct pollfd pf = { .fd = fd, .events = POLLOUT };
        poll(&pf, 1, -1);
        continue;
      }
      return -1;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

static int out_flush(log_reader *r, berr_t *err)
{
  if (r->out.len && r->out_to >= 0 && write_full(r->out_to, r->out.data, r->out.len) < 0)
    return berr_set(err, errno, "write logs");
  r->out.len = 0;
  return 0;
}

static int out_put(log_reader *r, bool is_err, const char *data, size_t len, berr_t *err)
{
  int fd = r->fd[is_err];
  if (fd != r->out_to && out_flush(r, err) < 0)
    return -1;
  r->out_to = fd;
  if (fd < 0)
    return 0;
  buf_append(&r->out, data, len);
  return r->out.len >= 65536 ? out_flush(r, err) : 0;
}

/* A whole line (or a last fragment that never got its end). */
static int emit(log_reader *r, bool is_err, const char *ts, const char *text, size_t len,
                bool newline, berr_t *err)
{
  buf_t line = { 0 };
  buf_puts(&line, "");
  if (r->o->timestamps && ts) {
    buf_puts(&line, ts);
    buf_puts(&line, " ");
  }
  buf_append(&line, text, len);
  if (newline)
    buf_puts(&line, "\n");
  if (!r->tailing) {
    int rc = out_put(r, is_err, line.data, line.len, err);
    buf_free(&line);
    return rc;
  }
  size_t want = (size_t)r->o->tail;
  if (want == 0) {
    buf_free(&line);
    return 0;
  }
  if (r->ring_n < want) {
    if (r->ring_n == r->ring_cap) {
      /* grow only as lines arrive: --tail 1000000 on a short log stays small */
      size_t cap = r->ring_cap ? r->ring_cap * 2 : 64;
      if (cap > want)
        cap = want;
      r->ring = xrealloc(r->ring, cap * sizeof *r->ring);
      r->ring_cap = cap;
    }
    r->ring[r->ring_n++] = (tail_line){ is_err, line.data, line.len };
    return 0;
  }
  tail_line *slot = &r->ring[r->ring_head];
  free(slot->data);
  *slot = (tail_line){ is_err, line.data, line.len };
  r->ring_head = (r->ring_head + 1) % r->ring_n;
  return 0;
}

static int ring_flush(log_reader *r, berr_t *err)
{
  int rc = 0;
  for (size_t i = 0; i < r->ring_n; i++) {
    tail_line *l = &r->ring[(r->ring_head + i) % r->ring_n];
    if (rc == 0)
      rc = out_put(r, l->err, l->data, l->len, err);
    free(l->data);
  }
  free(r->ring);
  r->ring = NULL;
  r->ring_n = r->ring_cap = r->ring_head = 0;
  r->tailing = false;
  return rc;
}

/* One record, without its '\n'. Malformed records are skipped. */
static int record(log_reader *r, char *rec, size_t len, berr_t *err)
{
  rec[len] = '\0';
  char *sp1 = strchr(rec, ' ');
  if (!sp1)
    return 0;
  *sp1 = '\0';
  char *stream = sp1 + 1, *sp2 = strchr(stream, ' ');
  if (!sp2)
    return 0;
  *sp2 = '\0';
  bool is_err;
  if (!strcmp(stream, "stdout"))
    is_err = false;
  else if (!strcmp(stream, "stderr"))
    is_err = true;
  else
    return 0;
  char *tag = sp2 + 1, *text = strchr(tag, ' ');
  bool partial = tag[0] == 'P';
  if (text)
    text++;
  else
    text = rec + len; /* "TS stdout F" with nothing after */
  size_t tlen = len - (size_t)(text - rec);

  buf_t *f = &r->frag[is_err];
  if (!r->frag_ts[is_err] && r->o->since_ns > 0) {
    int64_t ns;
    if (time_parse_rfc3339(rec, &ns) == 0 && ns < r->o->since_ns) {
      if (!partial)
        return 0;
      /* a long line that began before since: dropped whole */
      r->frag_ts[is_err] = xstrdup("");
    }
  }
  if (partial) {
    if (!r->frag_ts[is_err])
      r->frag_ts[is_err] = xstrdup(rec);
    buf_append(f, text, tlen);
    return 0;
  }
  int rc = 0;
  if (r->frag_ts[is_err]) {
    buf_append(f, text, tlen);
    if (*r->frag_ts[is_err])
      rc = emit(r, is_err, r->frag_shown[is_err] ? NULL : r->frag_ts[is_err], f->data, f->len, true,
                err);
    free(r->frag_ts[is_err]);
    r->frag_ts[is_err] = NULL;
    r->frag_shown[is_err] = false;
    f->len = 0;
  } else {
    rc = emit(r, is_err, rec, text, tlen, true, err);
  }
  return rc;
}

/* Outputs the fragments of lines not finished yet (without a newline: the
 * rest follows when the line ends). */
static int show_fragments(log_reader *r, berr_t *err)
{
  for (int s = 0; s < 2; s++) {
    if (!r->frag_ts[s] || !*r->frag_ts[s] || r->frag[s].len == 0)
      continue;
    if (emit(r, s == 1, r->frag_shown[s] ? NULL : r->frag_ts[s], r->frag[s].data, r->frag[s].len,
             false, err)
        < 0)
      return -1;
    r->frag_shown[s] = true;
    r->frag[s].len = 0;
  }
  return 0;
}

/* Reads fd from its position to EOF. A record without its '\n' waits in
 * carry for the rest. */
static int read_to_eof(log_reader *r, int fd, const char *path, berr_t *err)
{
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return berr_set(err, errno, "read %s", path);
    if (n == 0)
      return 0;
    buf_append(&r->carry, chunk, (size_t)n);
    char *start = r->carry.data, *end = r->carry.data + r->carry.len, *nl;
    while ((nl = memchr(start, '\n', (size_t)(end - start)))) {
      if (record(r, start, (size_t)(nl - start), err) < 0)
        return -1;
      start = nl + 1;
    }
    size_t left = (size_t)(end - start);
    memmove(r->carry.data, start, left);
    r->carry.len = left;
    r->carry.data[left] = '\0';
  }
}

static int read_file(log_reader *r, const char *path, berr_t *err)
{
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : berr_set(err, errno, "open %s", path);
  int rc = read_to_eof(r, fd, path, err);
  r->carry.len = 0; /* a rotated file ends at a record boundary */
  return rc;
}

static bool same_file(int fd, const char *path)
{
  struct stat a, b;
  return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

static int follow(log_reader *r, const char *path, int *fdp, berr_t *err)
{
  const rt_logs_opts *o = r->o;
  cleanup_close int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (ifd < 0)
    return berr_set(err, errno, "inotify");
  cleanup_free char *copy = xstrdup(path);
  const uint32_t mask = IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE_SELF;
  if (inotify_add_watch(ifd, dirname(copy), mask) < 0)
    return berr_set(err, errno, "watch %s", path);
  /* The end comes from the monitor: EXIT (or its hang-up) after the last
   * record. Without a monitor to ask, the state is checked on every wake-up
   * and at least once a second. */
  bool container = o->root && o->id;
  cleanup_free char *state_dir = NULL;
  if (container && rt_state_dir(o->root, o->id, &state_dir, err) < 0)
    return -1;
  int watch = container ? rt_monitor_watch(state_dir) : -1;
  int rc = 0;

  for (;;) {
    /* Decided before the read: once stopped, this read is the last. */
    bool stopped = container && watch < 0 && rt_wait_stopped(o->root, o->id, 0, NULL) != 0;
    if (*fdp >= 0 && (rc = read_to_eof(r, *fdp, path, err)) < 0)
      break;
    if (*fdp < 0 || !same_file(*fdp, path)) {
      /* Rotated (or not there yet): the old file is read; on to the new one. */
      int nfd = open(path, O_RDONLY | O_CLOEXEC);
      if (nfd >= 0) {
        if (*fdp >= 0)
          close(*fdp);
        *fdp = nfd;
        r->carry.len = 0;
        continue;
      }
    }
    if ((rc = show_fragments(r, err)) < 0 || stopped || (rc = out_flush(r, err)) < 0)
      break;
    struct pollfd pf[2] = { { .fd = ifd, .events = POLLIN }, { .fd = watch, .events = POLLIN } };
    int wait = watch >= 0 || !container ? -1 : 1000;
    if (poll(pf, watch >= 0 ? 2 : 1, wait) < 0 && errno != EINTR) {
      rc = berr_set(err, errno, "poll");
      break;
    }
    char ev[4096];
    while (read(ifd, ev, sizeof ev) > 0)
      ;
    /* EXIT or a hang-up: the state decides from now on (exit.json is
     * there after an EXIT, so the next turn is the last). */
    if (watch >= 0 && pf[1].revents && rt_monitor_watch_ended(watch)) {
      close(watch);
      watch = -1;
    }
  }
  if (watch >= 0)
    close(watch);
  return rc;
}

static char *rotated_name(const char *log_path, int n)
{
  int len = mon_log_rotated_name(NULL, 0, log_path, n);
  char *p = xmalloc((size_t)len + 1);
  mon_log_rotated_name(p, (size_t)len + 1, log_path, n);
  return p;
}

int rt_logs_read(const char *log_path, const rt_logs_opts *o, int out_fd, int err_fd, berr_t *err)
{
  log_reader r = { .o = o, .fd = { out_fd, err_fd }, .out_to = -1, .tailing = o->tail >= 0 };
  int rc = 0;
  /* The oldest rotated file is the highest number present. */
  int n = 0;
  for (;; n++) {
    cleanup_free char *p = rotated_name(log_path, n + 1);
    if (!fs_exists(p))
      break;
  }
  for (int i = n; i >= 1 && rc == 0; i--) {
    cleanup_free char *p = rotated_name(log_path, i);
    rc = read_file(&r, p, err);
  }
  cleanup_close int fd = -1;
  if (rc == 0) {
    fd = open(log_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT)
      rc = berr_set(err, errno, "open %s", log_path);
    else if (fd >= 0)
      rc = read_to_eof(&r, fd, log_path, err);
  }
  /* The first pass is over: its last lines are the --tail; a line still
   * unfinished counts as one. */
  if (rc == 0)
    rc = show_fragments(&r, err);
  if (rc == 0)
    rc = ring_flush(&r, err);
  if (rc == 0 && o->follow)
    rc = follow(&r, log_path, &fd, err);
  if (rc == 0)
    rc = out_flush(&r, err);
  if (r.ring)
    ring_flush(&r, NULL);
  for (int s = 0; s < 2; s++) {
    buf_free(&r.frag[s]);
    free(r.frag_ts[s]);
  }
  buf_free(&r.out);
  buf_free(&r.carry);
  return rc;
}
