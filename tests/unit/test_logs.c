/* test_logs.c — the container log: the monitor's CRI writer (compiled in
 * from src/runtime/monitor/logfile.c, the very code the monitor runs) and
 * rt_logs_read reading hand-written and rotated logs back. */
#include "runtime/runtime.h"
#include "runtime/monitor_proto.h"
#include "runtime/monitor/logfile.c"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir(void)
{
  char tmpl[] = "/tmp/berth-test-logs.XXXXXX";
  cr_assert_not_null(mkdtemp(tmpl));
  return xstrdup(tmpl);
}

static void put(const char *path, const char *text)
{
  berr_t err = BERR_INIT;
  cr_assert_eq(fs_write_atomic(path, text, strlen(text), 0644, &err), 0, "%s", err.msg);
}

static char *get(const char *path)
{
  char *data = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(fs_read_file(path, 0, &data, NULL, &err), 0, "%s", err.msg);
  return data;
}

/* What rt_logs_read writes to stdout and stderr. */
typedef struct captured {
  char *out, *err;
} captured;

static char *drain(int fd)
{
  lseek(fd, 0, SEEK_SET);
  buf_t b = { 0 };
  buf_puts(&b, "");
  char chunk[4096];
  ssize_t n;
  while ((n = read(fd, chunk, sizeof chunk)) > 0)
    buf_append(&b, chunk, (size_t)n);
  close(fd);
  return buf_steal(&b);
}

static captured read_logs(const char *path, const rt_logs_opts *o)
{
  int out = memfd_create("out", MFD_CLOEXEC), errfd = memfd_create("err", MFD_CLOEXEC);
  berr_t err = BERR_INIT;
  cr_assert_eq(rt_logs_read(path, o, out, errfd, &err), 0, "%s", err.msg);
  return (captured){ drain(out), drain(errfd) };
}

static rt_logs_opts all_lines(void)
{
  return (rt_logs_opts){ .tail = -1 };
}

static void captured_free(captured *c)
{
  free(c->out);
  free(c->err);
}

/* Three files as the monitor leaves them after two rotations, with a line
 * cut into P fragments and lines interleaved between the streams. */
static char *write_rotated_set(void)
{
  char *dir = tmpdir();
  char *log = path_join(dir, "ctr.log");
  char *f2 = xasprintf("%s.2", log), *f1 = xasprintf("%s.1", log);
  put(f2, "2026-01-01T00:00:01.000000000Z stdout F one\n"
          "2026-01-01T00:00:02.000000000Z stderr F warn one\n");
  put(f1, "2026-01-01T00:00:03.000000000Z stdout P tw\n"
          "2026-01-01T00:00:03.500000000Z stderr F warn two\n"
          "2026-01-01T00:00:04.000000000Z stdout F o\n"
          "2026-01-01T00:00:05.000000000Z stdout F \n");
  put(log, "2026-01-01T00:00:06.000000000Z stdout F three\n"
           "garbage that is not a record\n"
           "2026-01-01T00:00:07.000000000Z stderr F warn three\n"
           "2026-01-01T00:00:08.000000000Z stdout F four\n");
  free(f1);
  free(f2);
  free(dir);
  return log;
}

static void remove_dir_of(const char *path)
{
  char *dir = xstrdup(path);
  *strrchr(dir, '/') = '\0';
  fs_rm_rf(dir, NULL);
  free(dir);
}

Test(logs, reads_rotated_files_oldest_first_and_splits_streams)
{
  char *log = write_rotated_set();
  rt_logs_opts o = all_lines();
  captured c = read_logs(log, &o);
  cr_assert_str_eq(c.out, "one\ntwo\n\nthree\nfour\n");
  cr_assert_str_eq(c.err, "warn one\nwarn two\nwarn three\n");
  captured_free(&c);
  remove_dir_of(log);
  free(log);
}

Test(logs, tail_counts_joined_lines_across_files)
{
  char *log = write_rotated_set();
  rt_logs_opts o = all_lines();
  o.tail = 2;
  captured c = read_logs(log, &o);
  cr_assert_str_eq(c.out, "four\n");
  cr_assert_str_eq(c.err, "warn three\n");
  captured_free(&c);

  o.tail = 6; /* reaches into .1, starting at the joined "two" */
  c = read_logs(log, &o);
  cr_assert_str_eq(c.out, "two\n\nthree\nfour\n");
  cr_assert_str_eq(c.err, "warn two\nwarn three\n");
  captured_free(&c);

  o.tail = 0;
  c = read_logs(log, &o);
  cr_assert_str_eq(c.out, "");
  cr_assert_str_eq(c.err, "");
  captured_free(&c);
  remove_dir_of(log);
  free(log);
}

Test(logs, timestamps_and_since)
{
  char *log = write_rotated_set();
  rt_logs_opts o = all_lines();
  o.timestamps = true;
  o.tail = 3;
  captured c = read_logs(log, &o);
  /* a joined line carries the time of its first fragment */
  cr_assert_str_eq(c.out, "2026-01-01T00:00:06.000000000Z three\n"
                          "2026-01-01T00:00:08.000000000Z four\n");
  cr_assert_str_eq(c.err, "2026-01-01T00:00:07.000000000Z warn three\n");
  captured_free(&c);

  o = all_lines();
  cr_assert_eq(time_parse_rfc3339("2026-01-01T00:00:05Z", &o.since_ns), 0);
  c = read_logs(log, &o);
  cr_assert_str_eq(c.out, "\nthree\nfour\n");
  cr_assert_str_eq(c.err, "warn three\n");
  captured_free(&c);

  /* a line whose first fragment is older than since is left out whole */
  cr_assert_eq(time_parse_rfc3339("2026-01-01T00:00:03.200Z", &o.since_ns), 0);
  c = read_logs(log, &o);
  cr_assert_str_eq(c.out, "\nthree\nfour\n");
  captured_free(&c);
  remove_dir_of(log);
  free(log);
}

Test(logs, unfinished_line_at_the_end_has_no_newline)
{
  char *dir = tmpdir();
  char *log = path_join(dir, "ctr.log");
  put(log, "2026-01-01T00:00:01.000000000Z stdout F done\n"
           "2026-01-01T00:00:02.000000000Z stdout P no newline\n"
           "2026-01-01T00:00:03.000000000Z stderr P half a reco");
  rt_logs_opts o = all_lines();
  captured c = read_logs(log, &o);
  /* the record cut by a write in flight is not data yet */
  cr_assert_str_eq(c.out, "done\nno newline");
  cr_assert_str_eq(c.err, "");
  captured_free(&c);
  fs_rm_rf(dir, NULL);
  free(log);
  free(dir);
}

Test(logs, missing_log_is_empty)
{
  rt_logs_opts o = all_lines();
  captured c = read_logs("/nonexistent/berth/ctr.log", &o);
  cr_assert_str_eq(c.out, "");
  captured_free(&c);
}

Test(logs, time_format)
{
  char ts[MON_TIME_LEN + 1];
  mon_format_time(ts, 0);
  cr_assert_str_eq(ts, "1970-01-01T00:00:00.000000000Z");
  mon_format_time(ts, 1700000000123456789LL);
  cr_assert_str_eq(ts, "2023-11-14T22:13:20.123456789Z");
  mon_format_time(ts, 951782400000000001LL); /* 2000-02-29, a leap day */
  cr_assert_str_eq(ts, "2000-02-29T00:00:00.000000001Z");
  /* agrees with the base library on arbitrary times */
  for (int64_t ns = 1; ns < 4102444800LL * 1000000000; ns += 98765432123457LL) {
    mon_format_time(ts, ns);
    char *want = time_rfc3339(ns);
    cr_assert_str_eq(ts, want);
    free(want);
  }
}

Test(logs, rotation_naming)
{
  char b[64];
  mon_log_rotated_name(b, sizeof b, "/x/ctr.log", 1);
  cr_assert_str_eq(b, "/x/ctr.log.1");
  mon_log_rotated_name(b, sizeof b, "/x/ctr.log", 12);
  cr_assert_str_eq(b, "/x/ctr.log.12");
}

static mlog *new_writer(const char *path, int64_t max_bytes, int max_files)
{
  mlog *l = xcalloc(1, sizeof *l);
  cr_assert_eq(mlog_open(l, path, max_bytes, max_files), 0);
  return l;
}

Test(logs, writer_rotates_and_keeps_max_files)
{
  char *dir = tmpdir();
  char *log = path_join(dir, "ctr.log");
  /* each record is 30+1+6+1+1+1+6+1 = 47 bytes: two per 100-byte file */
  mlog *l = new_writer(log, 100, 2);
  const char *ts = "2026-01-01T00:00:00.000000000Z";
  for (int i = 0; i < 9; i++) {
    char line[32];
    snprintf(line, sizeof line, "line-%d\n", i);
    mlog_output(l, i % 3 == 2 ? MLOG_STDERR : MLOG_STDOUT, line, strlen(line), ts);
    mlog_flush(l);
  }
  mlog_close(l);
  free(l);
  char *f1 = xasprintf("%s.1", log), *f2 = xasprintf("%s.2", log), *f3 = xasprintf("%s.3", log);
  cr_assert(fs_exists(f1) && fs_exists(f2));
  cr_assert(!fs_exists(f3), "only max_files rotated files are kept");
  char *cur = get(log), *one = get(f1), *two = get(f2);
  cr_assert_str_eq(cur, "2026-01-01T00:00:00.000000000Z stderr F line-8\n");
  cr_assert_str_eq(one, "2026-01-01T00:00:00.000000000Z stdout F line-6\n"
                        "2026-01-01T00:00:00.000000000Z stdout F line-7\n");
  cr_assert_str_eq(two, "2026-01-01T00:00:00.000000000Z stdout F line-4\n"
                        "2026-01-01T00:00:00.000000000Z stderr F line-5\n");
  struct stat st;
  cr_assert_eq(stat(f2, &st), 0);
  cr_assert_leq(st.st_size, 100);

  /* the reader sees what was kept, oldest first */
  rt_logs_opts o = all_lines();
  captured c = read_logs(log, &o);
  cr_assert_str_eq(c.out, "line-4\nline-6\nline-7\n");
  cr_assert_str_eq(c.err, "line-5\nline-8\n");
  captured_free(&c);
  free(cur);
  free(one);
  free(two);
  free(f1);
  free(f2);
  free(f3);
  fs_rm_rf(dir, NULL);
  free(log);
  free(dir);
}

/* docker's max-file=1: no rotated file, the log starts afresh (a new file,
 * so that a follower reading the old one sees the switch). */
Test(logs, writer_with_no_rotated_files_starts_a_new_log)
{
  char *dir = tmpdir();
  char *log = path_join(dir, "ctr.log");
  mlog *l = new_writer(log, 100, 0);
  const char *ts = "2026-01-01T00:00:00.000000000Z";
  struct stat before, after;
  for (int i = 0; i < 3; i++) {
    char line[32];
    snprintf(line, sizeof line, "line-%d\n", i);
    if (i == 2)
      cr_assert_eq(stat(log, &before), 0);
    mlog_output(l, MLOG_STDOUT, line, strlen(line), ts);
    mlog_flush(l);
  }
  mlog_close(l);
  free(l);
  cr_assert_eq(stat(log, &after), 0);
  cr_assert_neq(before.st_ino, after.st_ino, "a new file, not a truncated one");
  char *f1 = xasprintf("%s.1", log);
  cr_assert_not(fs_exists(f1));
  char *cur = get(log);
  cr_assert_str_eq(cur, "2026-01-01T00:00:00.000000000Z stdout F line-2\n");
  free(cur);
  free(f1);
  fs_rm_rf(dir, NULL);
  free(log);
  free(dir);
}

Test(logs, writer_cuts_long_lines_and_ends_partial_output)
{
  char *dir = tmpdir();
  char *log = path_join(dir, "ctr.log");
  mlog *l = new_writer(log, 0, 1);
  const char *ts = "2026-01-01T00:00:00.000000000Z";
  size_t big = MON_LOG_LINE_MAX * 2 + 100;
  char *line = xmalloc(big + 1);
  for (size_t i = 0; i < big; i++)
    line[i] = (char)('a' + i % 26);
  line[big] = '\n';
  /* fed in odd-sized pieces, as reads from a pipe come */
  for (size_t off = 0; off < big + 1; off += 5000) {
    size_t n = big + 1 - off < 5000 ? big + 1 - off : 5000;
    mlog_output(l, MLOG_STDOUT, line + off, n, ts);
  }
  mlog_output(l, MLOG_STDERR, "prompt> ", 8, ts);
  mlog_end_stream(l, MLOG_STDERR, ts);
  mlog_close(l);
  free(l);

  char *text = get(log);
  int p = 0, f = 0;
  for (char *s = text; (s = strchr(s, ' ')); s++) {
    if (!strncmp(s, " stdout P ", 10))
      p++;
    if (!strncmp(s, " stdout F ", 10))
      f++;
  }
  cr_assert_eq(p, 2, "a %zu-byte line is two full P records and an F", big);
  cr_assert_eq(f, 1);
  cr_assert(strstr(text, " stderr P prompt> \n"), "output without a newline ends as P");

  rt_logs_opts o = all_lines();
  captured c = read_logs(log, &o);
  cr_assert_eq(strlen(c.out), big + 1);
  cr_assert_eq(memcmp(c.out, line, big + 1), 0);
  cr_assert_str_eq(c.err, "prompt> ");
  captured_free(&c);
  free(text);
  free(line);
  fs_rm_rf(dir, NULL);
  free(log);
  free(dir);
}

/* ---- follow ---------------------------------------------------------------- */

typedef struct writer_arg {
  char *log, *state_dir;
} writer_arg;

/* Plays the monitor: records, a rotation, then exit.json. */
static void *fake_monitor(void *p)
{
  writer_arg *a = p;
  mlog l = { 0 };
  mlog_open(&l, a->log, 0, 1);
  const char *ts = "2026-01-01T00:00:00.000000000Z";
  usleep(100000);
  mlog_output(&l, MLOG_STDOUT, "first\nsec", 9, ts);
  mlog_flush(&l);
  usleep(100000);
  mlog_output(&l, MLOG_STDOUT, "ond\n", 4, ts);
  mlog_output(&l, MLOG_STDERR, "oops\n", 5, ts);
  mlog_flush(&l);
  mlog_rotate(&l);
  usleep(100000);
  mlog_output(&l, MLOG_STDOUT, "after rotation\n", 15, ts);
  mlog_output(&l, MLOG_STDOUT, "tail", 4, ts);
  mlog_end_stream(&l, MLOG_STDOUT, ts);
  mlog_close(&l);
  char *exit_path = path_join(a->state_dir, MON_EXIT_FILE);
  put(exit_path, "{\"exitCode\":0,\"signal\":0,\"oomKilled\":false,"
                 "\"finishedAt\":\"2026-01-01T00:00:01Z\"}");
  free(exit_path);
  return NULL;
}

Test(logs, follow_reads_through_rotation_until_the_exit, .timeout = 20)
{
  char *root = tmpdir();
  char *state_dir = path_join(root, "c1");
  cr_assert_eq(mkdir(state_dir, 0700), 0);
  char *state = path_join(state_dir, "state.json");
  /* "running": the test process plays the container's init */
  char *st = xasprintf("{\"id\":\"c1\",\"pid\":%d,\"pidStartTime\":%llu,\"bundle\":\"/\"}",
                       (int)getpid(), (unsigned long long)proc_start_time(getpid()));
  put(state, st);
  free(st);
  char *log = path_join(state_dir, "ctr.log");
  put(log, "2026-01-01T00:00:00.000000000Z stdout F before\n");

  writer_arg a = { log, state_dir };
  pthread_t th;
  pthread_create(&th, NULL, fake_monitor, &a);
  rt_logs_opts o = { .tail = -1, .follow = true, .root = root, .id = "c1" };
  captured c = read_logs(log, &o);
  pthread_join(th, NULL);
  cr_assert_str_eq(c.out, "before\nfirst\nsecond\nafter rotation\ntail");
  cr_assert_str_eq(c.err, "oops\n");
  captured_free(&c);

  /* following a stopped container returns at once */
  o.tail = 1;
  c = read_logs(log, &o);
  cr_assert_str_eq(c.out, "tail");
  captured_free(&c);
  fs_rm_rf(root, NULL);
  free(log);
  free(state);
  free(state_dir);
  free(root);
}
