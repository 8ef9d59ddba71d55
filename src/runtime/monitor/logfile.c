/* logfile.c — the container log in CRI format (what kubelet writes and
 * reads), size-rotated.
 *
 * Records are assembled in a buffer and written with one write(2) per batch,
 * so a reader following the file sees whole records (it still has to cope
 * with a record cut by an in-flight write, see runtime/logs.c). Output of a
 * stream is split at newlines; a line longer than MON_LOG_LINE_MAX becomes P
 * records of that size followed by the F record that ends it. Rotation
 * happens before a record would carry the file past max_bytes, so every file
 * ends at a record boundary. Plain libc only: the unit tests compile this
 * file into the test binary. */
#include "runtime/monitor/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t mon_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void put_digits(char *p, unsigned v, int n)
{
  for (int i = n - 1; i >= 0; i--, v /= 10)
    p[i] = (char)('0' + v % 10);
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm): the
 * monitor avoids gmtime_r, which drags the time zone code into a static
 * binary. */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = (int64_t)yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int)(yy + (*m <= 2));
}

void mon_format_time(char out[MON_TIME_LEN + 1], int64_t ns)
{
  if (ns < 0)
    ns = 0;
  int64_t secs = ns / 1000000000;
  unsigned nsec = (unsigned)(ns % 1000000000);
  int64_t days = secs / 86400;
  unsigned rem = (unsigned)(secs % 86400);
  int y;
  unsigned mo, d;
  civil_from_days(days, &y, &mo, &d);
  /* 2026-11-21T22:34:11.123456789Z */
  put_digits(out, (unsigned)y, 4);
  out[4] = '-';
  put_digits(out + 5, mo, 2);
  out[7] = '-';
  put_digits(out + 8, d, 2);
  out[10] = 'T';
  put_digits(out + 11, rem / 3600, 2);
  out[13] = ':';
  put_digits(out + 14, rem / 60 % 60, 2);
  out[16] = ':';
  put_digits(out + 17, rem % 60, 2);
  out[19] = '.';
  put_digits(out + 20, nsec, 9);
  out[29] = 'Z';
  out[30] = '\0';
}

int mlog_open(mlog *l, const char *path, int64_t max_bytes, int max_files)
{
  l->path = path;
  l->fd = -1;
  l->max_bytes = max_bytes;
  l->max_files = max_files < 0 ? 0 : max_files;
  if (!path)
    return 0;
  l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (l->fd < 0)
    return -errno;
  struct stat st;
  l->size = fstat(l->fd, &st) == 0 ? st.st_size : 0;
  return 0;
}

void mlog_flush(mlog *l)
{
  size_t off = 0;
  while (off < l->olen) {
    ssize_t w = write(l->fd, l->obuf + off, l->olen - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      /* Disk full or similar: the records are lost, the container goes on. */
      l->size -= (int64_t)(l->olen - off);
      break;
    }
    off += (size_t)w;
  }
  l->olen = 0;
}

int mlog_rotate(mlog *l)
{
  if (l->fd < 0)
    return 0;
  mlog_flush(l);
  char from[PATH_MAX], to[PATH_MAX];
  for (int i = l->max_files; i >= 1; i--) {
    if (i == 1)
      snprintf(from, sizeof from, "%s", l->path);
    else
      mon_log_rotated_name(from, sizeof from, l->path, i - 1);
    mon_log_rotated_name(to, sizeof to, l->path, i);
    if (rename(from, to) < 0 && errno != ENOENT && i == 1)
      return -errno; /* keep appending to the file we have */
  }
  /* Nothing kept: a new file all the same (not a truncated one), so that a
   * reader following the log sees another inode and reads the old one out. */
  if (l->max_files == 0 && unlink(l->path) < 0 && errno != ENOENT)
    return -errno;
  int fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0)
    return -errno;
  close(l->fd);
  l->fd = fd;
  l->size = 0;
  return 0;
}

static void record(mlog *l, int stream, char tag, const char *data, size_t n, const char *ts)
{
  if (l->fd < 0)
    return;
  const char *name = stream == MLOG_STDERR ? "stderr" : "stdout";
  size_t reclen = MON_TIME_LEN + 1 + 6 + 1 + 1 + 1 + n + 1;
  if (l->max_bytes > 0 && l->size > 0 && l->size + (int64_t)reclen > l->max_bytes)
    mlog_rotate(l);
  if (l->olen + reclen > sizeof l->obuf)
    mlog_flush(l);
  char *p = l->obuf + l->olen;
  memcpy(p, ts, MON_TIME_LEN);
  p += MON_TIME_LEN;
  *p++ = ' ';
  memcpy(p, name, 6);
  p += 6;
  *p++ = ' ';
  *p++ = tag;
  *p++ = ' ';
  memcpy(p, data, n);
  p += n;
  *p++ = '\n';
  l->olen += reclen;
  l->size += (int64_t)reclen;
}

void mlog_output(mlog *l, int stream, const char *data, size_t len, const char *ts)
{
  char *part = l->partial[stream];
  size_t *plen = &l->plen[stream];
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    size_t seg = nl ? (size_t)(nl - data) : len;
    size_t room = MON_LOG_LINE_MAX - *plen;
    if (nl && seg <= room) {
      /* the line ends here */
      if (*plen == 0) {
        record(l, stream, 'F', data, seg, ts);
      } else {
        memcpy(part + *plen, data, seg);
        record(l, stream, 'F', part, *plen + seg, ts);
        *plen = 0;
      }
      data += seg + 1;
      len -= seg + 1;
      continue;
    }
    size_t take = seg < room ? seg : room;
    memcpy(part + *plen, data, take);
    *plen += take;
    data += take;
    len -= take;
    if (*plen == MON_LOG_LINE_MAX) {
      record(l, stream, 'P', part, *plen, ts);
      *plen = 0;
    }
  }
}

void mlog_end_stream(mlog *l, int stream, const char *ts)
{
  if (l->plen[stream] > 0) {
    record(l, stream, 'P', l->partial[stream], l->plen[stream], ts);
    l->plen[stream] = 0;
  }
}

void mlog_close(mlog *l)
{
  if (l->fd >= 0) {
    mlog_flush(l);
    close(l->fd);
  }
  l->fd = -1;
}
