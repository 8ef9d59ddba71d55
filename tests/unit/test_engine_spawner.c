/* test_engine_spawner.c — engine_exec through the engine's spawner, against
 * the same exec done in-process (root, real containers).
 *
 * The offline busybox image (build/images/busybox.tar) is loaded into a
 * private engine root and one container (`sleep 3600`) is started for each
 * test. Two handles share the root: one with a spawner (engine_exec hands
 * its work to a child of the spawner) and one without (in-process). Each
 * case compares the two: same output, exit codes and errors. Execs run on a
 * thread of their own, as the agent runs them, and talk through pipes. */
#include "engine/engine.h"
#include "image/image.h"
#include "test_busybox.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static struct {
  char dir[64];
  engine *sp, *local; /* with a spawner; without */
  char *id;           /* the running container */
} T;

static void setup(void)
{
  const char *tar = busybox_require();
  strcpy(T.dir, "/tmp/berth-unit-spawner-XXXXXX");
  cr_assert_not_null(mkdtemp(T.dir));
  busybox_load(T.dir, tar);
  berr_t err = BERR_INIT;
  cr_assert_eq(engine_open(T.dir, &T.sp, &err), 0, "%s", err.msg);
  cr_assert_eq(engine_open(T.dir, &T.local, &err), 0, "%s", err.msg);
  cr_assert_eq(engine_spawner_start(T.sp, &err), 0, "%s", err.msg);
  char *cmd[] = { "sleep", "3600", NULL };
  engine_create_opts o = { .image = "busybox", .cmd = cmd, .init = true };
  cr_assert_eq(engine_create(T.sp, &o, &T.id, NULL, &err), 0, "%s", err.msg);
  cr_assert_eq(engine_start(T.sp, T.id, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
  if (!T.sp)
    return;
  if (T.id)
    engine_remove(T.local, T.id, true, NULL);
  free(T.id);
  T.id = NULL;
  engine_close(T.sp);
  engine_close(T.local);
  T.sp = T.local = NULL;
  char *run = path_join(T.dir, "run");
  umount2(run, MNT_DETACH);
  free(run);
  fs_rm_rf(T.dir, NULL);
}

TestSuite(engine_spawner, .init = setup, .fini = teardown, .timeout = 120);

/* ---- an exec on a thread ----------------------------------------------------------- */

typedef struct run {
  engine *e;
  engine_exec_opts o;
  int in, out, err; /* the process's ends, closed once engine_exec returns */
  int rc, code;
  berr_t error;
  pthread_t t;
} run_t;

static void *run_main(void *arg)
{
  run_t *r = arg;
  r->rc = engine_exec(r->e, T.id, &r->o, r->in, r->out, r->err, &r->code, &r->error);
  int fds[] = { r->in, r->out, r->err };
  for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
    if (fds[i] >= 0)
      close(fds[i]);
  return NULL;
}

static void run_start(run_t *r)
{
  cr_assert_eq(pthread_create(&r->t, NULL, run_main, r), 0);
}

static void run_join(run_t *r)
{
  pthread_join(r->t, NULL);
}

/* Pipes: *mine gets the test's end, the run the other. */
static void pipe_in(run_t *r, int *mine)
{
  int p[2];
  cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
  r->in = p[0];
  *mine = p[1];
}

static void pipe_out(int *theirs, int *mine)
{
  int p[2];
  cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
  *theirs = p[1];
  *mine = p[0];
}

/* Reads fd into b until needle shows up (NULL: until EOF); false at the
 * deadline. */
static bool read_until(int fd, buf_t *b, const char *needle, int timeout_ms)
{
  int64_t until = time_mono_ns() + (int64_t)timeout_ms * 1000000;
  for (;;) {
    if (needle && b->data && memmem(b->data, b->len, needle, strlen(needle)))
      return true;
    int64_t left = (until - time_mono_ns()) / 1000000;
    if (left <= 0)
      return false;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, (int)left) <= 0)
      continue;
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0)
      return needle == NULL;
    buf_append(b, tmp, (size_t)n);
  }
}

/* Runs args (no stdin) and returns its stdout and stderr. */
static void exec_simple(engine *e, char **args, int *rc, int *code, berr_t *err, char **out,
                        char **errs)
{
  run_t r = { .e = e, .o = { .args = args }, .in = -1 };
  int out_r, err_r;
  pipe_out(&r.out, &out_r);
  pipe_out(&r.err, &err_r);
  run_start(&r);
  buf_t ob = { 0 }, eb = { 0 };
  cr_assert(read_until(out_r, &ob, NULL, 30000), "stdout never ended");
  cr_assert(read_until(err_r, &eb, NULL, 30000), "stderr never ended");
  run_join(&r);
  close(out_r);
  close(err_r);
  buf_append(&ob, "", 1);
  buf_append(&eb, "", 1);
  *out = buf_steal(&ob);
  *errs = buf_steal(&eb);
  *rc = r.rc;
  *code = r.code;
  berr_move(err, &r.error);
}

/* The same exec through the spawner and in-process: equal results. */
static void exec_both(char **args, int want_rc, int want_code_or_errno, const char *want_out,
                      const char *want_err)
{
  engine *es[] = { T.sp, T.local };
  char *msgs[2] = { NULL, NULL };
  for (int i = 0; i < 2; i++) {
    const char *how = i == 0 ? "spawner" : "in-process";
    int rc = 0, code = -1;
    berr_t err = BERR_INIT;
    char *out = NULL, *errs = NULL;
    exec_simple(es[i], args, &rc, &code, &err, &out, &errs);
    cr_assert_eq(rc, want_rc, "%s: %s: rc %d (%s)", how, args[0], rc, err.msg);
    if (rc == 0)
      cr_assert_eq(code, want_code_or_errno, "%s: %s: exit code %d", how, args[0], code);
    else
      cr_assert_eq(err.code, want_code_or_errno, "%s: %s: errno %d (%s)", how, args[0], err.code,
                   err.msg);
    if (want_out)
      cr_assert_str_eq(out, want_out, "%s: %s: stdout", how, args[0]);
    if (want_err)
      cr_assert_str_eq(errs, want_err, "%s: %s: stderr", how, args[0]);
    msgs[i] = err.msg ? xstrdup(err.msg) : NULL;
    berr_clear(&err);
    free(out);
    free(errs);
  }
  if (msgs[0] || msgs[1])
    cr_assert_str_eq(msgs[0] ? msgs[0] : "", msgs[1] ? msgs[1] : "", "same error both ways");
  free(msgs[0]);
  free(msgs[1]);
}

/* ---- cases -------------------------------------------------------------------------- */

Test(engine_spawner, output_and_exit_codes)
{
  char *echo[] = { "sh", "-c", "echo out; echo err >&2", NULL };
  exec_both(echo, 0, 0, "out\n", "err\n");
  char *three[] = { "sh", "-c", "exit 3", NULL };
  exec_both(three, 0, 3, "", "");
  char *sig[] = { "sh", "-c", "kill -TERM $$", NULL };
  exec_both(sig, 0, 128 + SIGTERM, "", "");
}

/* The container runs under the default seccomp filter, which the spawner
 * prepared before forking, and left compiled in the cache for the next
 * spawner (an exec's, the agent's after a restart): one program there. */
Test(engine_spawner, default_seccomp_from_memory)
{
  engine_info info;
  berr_t err = BERR_INIT;
  cr_assert_eq(engine_info_get(T.local, T.id, &info, &err), 0, "%s", err.msg);
  cleanup_free char *status_path = xasprintf("/proc/%d/status", (int)info.pid);
  engine_info_clear(&info);
  cleanup_free char *status = NULL;
  size_t len = 0;
  cr_assert_eq(fs_read_file(status_path, 0, &status, &len, &err), 0, "%s", err.msg);
  cr_assert(strstr(status, "\nSeccomp:\t2\n"), "%s", status);
  cleanup_free char *cache = path_join(T.dir, "run/containers/.seccomp");
  DIR *d = opendir(cache);
  cr_assert_not_null(d, "%s", cache);
  int files = 0;
  for (struct dirent *de; (de = readdir(d));)
    files += de->d_name[0] != '.';
  closedir(d);
  cr_assert_eq(files, 1, "%d programs in %s", files, cache);
}

Test(engine_spawner, command_that_cannot_run)
{
  /* Not found: ENOENT (docker's 127); not executable: EACCES (126). */
  char *missing[] = { "/no/such/thing", NULL };
  exec_both(missing, -1, ENOENT, "", "");
  char *notexec[] = { "/etc/passwd", NULL };
  exec_both(notexec, -1, EACCES, "", "");
  char *badenv[] = { "true", NULL };
  char *env[] = { "NOEQUALS", NULL };
  engine *es[] = { T.sp, T.local };
  for (int i = 0; i < 2; i++) {
    engine_exec_opts o = { .args = badenv, .env = env };
    int code = -1;
    berr_t err = BERR_INIT;
    cr_assert_eq(engine_exec(es[i], T.id, &o, -1, -1, -1, &code, &err), -1);
    cr_assert_eq(err.code, EINVAL, "%s", err.msg);
    berr_clear(&err);
  }
}

Test(engine_spawner, stdin_through_in_fd)
{
  engine *es[] = { T.sp, T.local };
  for (int i = 0; i < 2; i++) {
    char *cat[] = { "cat", NULL };
    run_t r = { .e = es[i], .o = { .args = cat, .interactive = true }, .err = -1 };
    int in_w, out_r;
    pipe_in(&r, &in_w);
    pipe_out(&r.out, &out_r);
    run_start(&r);
    cr_assert_eq(write(in_w, "from-stdin\n", 11), 11);
    close(in_w);
    buf_t b = { 0 };
    cr_assert(read_until(out_r, &b, NULL, 30000));
    run_join(&r);
    close(out_r);
    cr_assert_eq(r.rc, 0, "%s", r.error.msg);
    cr_assert_eq(r.code, 0);
    buf_append(&b, "", 1);
    cr_assert_str_eq(b.data, "from-stdin\n", "%s", i == 0 ? "spawner" : "in-process");
    buf_free(&b);
  }
  /* Interactive without an in_fd: stdin is /dev/null. */
  char *cat[] = { "cat", NULL };
  run_t r = { .e = T.sp, .o = { .args = cat, .interactive = true }, .in = -1, .err = -1 };
  int out_r;
  pipe_out(&r.out, &out_r);
  run_start(&r);
  buf_t b = { 0 };
  cr_assert(read_until(out_r, &b, NULL, 30000));
  run_join(&r);
  close(out_r);
  cr_assert_eq(r.rc, 0, "%s", r.error.msg);
  cr_assert_eq(b.len, 0);
}

Test(engine_spawner, unknown_and_stopped_containers)
{
  engine *es[] = { T.sp, T.local };
  char *args[] = { "true", NULL };
  engine_exec_opts o = { .args = args };
  char *msg[2] = { NULL, NULL };
  for (int i = 0; i < 2; i++) {
    int code = -1;
    berr_t err = BERR_INIT;
    cr_assert_eq(engine_exec(es[i], "0123456789abcdef", &o, -1, -1, -1, &code, &err), -1);
    cr_assert_eq(err.code, ENOENT, "%s", err.msg);
    msg[i] = xstrdup(err.msg);
    berr_clear(&err);
  }
  cr_assert_str_eq(msg[0], msg[1]);
  free(msg[0]);
  free(msg[1]);
  berr_t err = BERR_INIT;
  cr_assert_eq(engine_stop(T.local, T.id, SIGKILL, 5, &err), 0, "%s", err.msg);
  for (int i = 0; i < 2; i++) {
    int code = -1;
    cr_assert_eq(engine_exec(es[i], T.id, &o, -1, -1, -1, &code, &err), -1);
    cr_assert_eq(err.code, ESRCH, "%s", err.msg);
    cr_assert(strstr(err.msg, "not running"), "%s", err.msg);
    msg[i] = xstrdup(err.msg);
    berr_clear(&err);
  }
  cr_assert_str_eq(msg[0], msg[1]);
  free(msg[0]);
  free(msg[1]);
}

/* Children of this process, of all its threads. */
static int count_children(void)
{
  int n = 0;
  DIR *d = opendir("/proc/self/task");
  cr_assert_not_null(d);
  for (struct dirent *de; (de = readdir(d));) {
    if (de->d_name[0] == '.')
      continue;
    char *path = xasprintf("/proc/self/task/%s/children", de->d_name);
    char *text = NULL;
    size_t len = 0;
    if (fs_read_file(path, 4096, &text, &len, NULL) == 0) {
      char *save = NULL;
      for (char *tok = strtok_r(text, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
        n++;
    }
    free(text);
    free(path);
  }
  closedir(d);
  return n;
}

/* `stty size` before and after a resize message sent while it runs. */
static void tty_resize(engine *e, const char *how)
{
  char *args[] = { "sh", "-c", "stty size; read x; stty size", NULL };
  run_t r = {
    .e = e,
    .o = { .args = args, .tty = true, .interactive = true, .console_rows = 24, .console_cols = 80 },
    .err = -1
  };
  int in_w, out_r, rz[2];
  pipe_in(&r, &in_w);
  pipe_out(&r.out, &out_r);
  cr_assert_eq(pipe2(rz, O_CLOEXEC), 0);
  r.o.resize_fd = rz[0];
  run_start(&r);
  buf_t b = { 0 };
  cr_assert(read_until(out_r, &b, "24 80", 30000), "%s: first size: %.*s", how, (int)b.len,
            b.data ? b.data : "");
  /* Through the spawner the process is not ours: our one child is the
   * spawner. In-process, the exec's process is a second one. */
  cr_assert_eq(count_children(), e == T.sp ? 1 : 2, "%s: children", how);
  /* A bad line is skipped; the size that follows applies. */
  cr_assert_eq(write(rz[1], "junk\n", 5), 5);
  cr_assert_eq(rt_pty_resize_send(rz[1], 50, 132), 0);
  cr_assert_eq(write(in_w, "\n", 1), 1);
  cr_assert(read_until(out_r, &b, "50 132", 30000), "%s: second size: %.*s", how, (int)b.len,
            b.data ? b.data : "");
  close(in_w);
  read_until(out_r, &b, NULL, 30000);
  run_join(&r);
  close(out_r);
  close(rz[0]);
  close(rz[1]);
  cr_assert_eq(r.rc, 0, "%s: %s", how, r.error.msg);
  cr_assert_eq(r.code, 0, "%s", how);
  buf_free(&b);
}

Test(engine_spawner, tty_resized_while_running)
{
  tty_resize(T.sp, "spawner");
  tty_resize(T.local, "in-process");
}

/* The caller gives up: it closes its end of the output. */
Test(engine_spawner, abandoned_exec_ends)
{
  char *loop[] = { "sh", "-c", "while :; do echo x; sleep 0.05; done", NULL };
  for (int tty = 0; tty < 2; tty++) {
    run_t r = { .e = T.sp, .o = { .args = loop, .tty = tty }, .in = -1, .err = -1 };
    int out_r;
    pipe_out(&r.out, &out_r);
    run_start(&r);
    buf_t b = { 0 };
    cr_assert(read_until(out_r, &b, "x", 30000));
    buf_free(&b);
    close(out_r);
    run_join(&r);
    if (tty) {
      /* The relay cannot write: it hangs the terminal up (SIGHUP). */
      cr_assert_eq(r.rc, -1);
      cr_assert_eq(r.error.code, EPIPE, "%s", r.error.msg);
    } else {
      /* The process's own write fails: SIGPIPE. */
      cr_assert_eq(r.rc, 0, "%s", r.error.msg);
      cr_assert_eq(r.code, 128 + SIGPIPE);
    }
    berr_clear(&r.error);
  }
}

Test(engine_spawner, timeout_kills_the_command)
{
  engine *es[] = { T.sp, T.local };
  char *slow[] = { "sleep", "30", NULL };
  char *quick[] = { "true", NULL };
  for (int i = 0; i < 2; i++) {
    engine_exec_opts o = { .args = slow, .timeout_ms = 300 };
    int code = -1;
    berr_t err = BERR_INIT;
    int64_t t0 = time_mono_ns();
    cr_assert_eq(engine_exec(es[i], T.id, &o, -1, -1, -1, &code, &err), -1);
    int64_t took_ms = (time_mono_ns() - t0) / 1000000;
    cr_assert_eq(err.code, ETIMEDOUT, "%s", err.msg);
    cr_assert(strstr(err.msg, "did not end within 300ms"), "%s", err.msg);
    cr_assert(took_ms >= 300 && took_ms < 10000, "took %lld ms", (long long)took_ms);
    berr_clear(&err);
    /* A command that ends in time is not affected. */
    engine_exec_opts q = { .args = quick, .timeout_ms = 5000 };
    cr_assert_eq(engine_exec(es[i], T.id, &q, -1, -1, -1, &code, &err), 0, "%s", err.msg);
    cr_assert_eq(code, 0);
  }
  /* The killed sleep is gone from the container. */
  char *ps[] = { "sh", "-c", "ps | grep -c '[s]leep 30'", NULL };
  exec_both(ps, 0, 1, "0\n", "");
}

Test(engine_spawner, begin_and_finish)
{
  int p[2];
  cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
  char *echo[] = { "sh", "-c", "echo begun; exit 4", NULL };
  engine_exec_opts o = { .args = echo };
  int answer = -1, code = -1;
  berr_t err = BERR_INIT;
  cr_assert_eq(engine_exec_begin(T.sp, T.id, &o, -1, p[1], p[1], &answer, &err), 0, "%s", err.msg);
  close(p[1]); /* the caller's copy may go at once */
  struct pollfd pf = { .fd = answer, .events = POLLIN };
  cr_assert_eq(poll(&pf, 1, 30000), 1, "no answer");
  cr_assert_eq(engine_exec_finish(answer, T.id, &code, &err), 0, "%s", err.msg);
  cr_assert_eq(code, 4);
  char buf[32] = "";
  cr_assert_eq(read(p[0], buf, sizeof buf - 1), 6);
  cr_assert_str_eq(buf, "begun\n");
  close(p[0]);
  /* Without a spawner it cannot be done. */
  cr_assert_eq(engine_exec_begin(T.local, T.id, &o, -1, -1, -1, &answer, &err), -1);
  cr_assert_eq(err.code, ENOTSUP, "%s", err.msg);
  cr_assert_eq(answer, -1);
  berr_clear(&err);
  /* Errors come back through finish. */
  cr_assert_eq(engine_exec_begin(T.sp, "0123456789abcdef", &o, -1, -1, -1, &answer, &err), 0);
  cr_assert_eq(engine_exec_finish(answer, "0123456789abcdef", &code, &err), -1);
  cr_assert_eq(err.code, ENOENT, "%s", err.msg);
  berr_clear(&err);
}
