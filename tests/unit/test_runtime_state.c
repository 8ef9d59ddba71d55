/* test_runtime_state.c — signal names (oci.c) and how a container's status
 * is derived from its state directory (state.c): exit.json, a live pid with
 * its start time, exec.fifo. No container is started: the state files are
 * written by hand around processes of the test itself. */
#include "runtime/launch.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

Test(runtime_signal, names_and_numbers)
{
  int sig = 0;
  cr_assert_eq(rt_parse_signal("TERM", &sig, NULL), 0);
  cr_assert_eq(sig, SIGTERM);
  cr_assert_eq(rt_parse_signal("SIGKILL", &sig, NULL), 0);
  cr_assert_eq(sig, SIGKILL);
  cr_assert_eq(rt_parse_signal("sighup", &sig, NULL), 0);
  cr_assert_eq(sig, SIGHUP);
  cr_assert_eq(rt_parse_signal("15", &sig, NULL), 0);
  cr_assert_eq(sig, 15);
  cr_assert_eq(rt_parse_signal("RTMIN+2", &sig, NULL), 0);
  cr_assert_eq(sig, SIGRTMIN + 2);
  cr_assert_eq(rt_parse_signal("SIGRTMAX", &sig, NULL), 0);
  cr_assert_eq(sig, SIGRTMAX);
  berr_t err = BERR_INIT;
  cr_assert_lt(rt_parse_signal("FOO", &sig, &err), 0);
  cr_assert_str_eq(err.msg, "unknown signal \"FOO\"");
  berr_clear(&err);
  cr_assert_lt(rt_parse_signal("0", &sig, &err), 0);
  cr_assert_str_eq(err.msg, "invalid signal \"0\"");
  berr_clear(&err);
  cr_assert_lt(rt_parse_signal("99", &sig, NULL), 0);
  cr_assert_lt(rt_parse_signal("RTMAX+1", &sig, NULL), 0);
  cr_assert_lt(rt_parse_signal("", &sig, NULL), 0);
}

static char root[] = "/tmp/berth-unit-state.XXXXXX";

static void setup(void)
{
  strcpy(root, "/tmp/berth-unit-state.XXXXXX");
  cr_assert_not_null(mkdtemp(root));
}

static void teardown(void)
{
  fs_rm_rf(root, NULL);
}

/* Writes ROOT/ID/state.json for pid (start time read from /proc unless 0). */
static void write_state(const char *id, pid_t pid, uint64_t start)
{
  cleanup_free char *dir = path_join(root, id);
  cr_assert_eq(mkdir(dir, 0711), 0);
  cleanup_json json_t *st = json_pack(
      "{s:s,s:i,s:I,s:s,s:s,s:s,s:{s:s}}", "id", id, "pid", (int)pid, "pidStartTime",
      (json_int_t)(start ? start : proc_start_time(pid)), "bundle", "/b", "created",
      "2026-01-02T03:04:05.000000006Z", "cgroupPath", "/berth/x", "annotations", "k", "v");
  berr_t err = BERR_INIT;
  cr_assert_eq(st_save(root, id, st, &err), 0, "%s", err.msg);
}

Test(runtime_state, ids)
{
  char *dir = NULL;
  berr_t err = BERR_INIT;
  cr_assert_eq(rt_state_dir("/r", "web-1.a_b", &dir, &err), 0);
  cr_assert_str_eq(dir, "/r/web-1.a_b");
  free(dir);
  const char *bad[] = { "", ".hidden", "-x", "a/b", "..", "a b", "ä" };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    cr_assert_lt(rt_state_dir("/r", bad[i], &dir, &err), 0, "accepted \"%s\"", bad[i]);
    cr_assert(strstr(err.msg, "invalid container id"), "%s", err.msg);
    berr_clear(&err);
  }
}

Test(runtime_state, missing_container, .init = setup, .fini = teardown)
{
  rt_state st;
  berr_t err = BERR_INIT;
  cr_assert_lt(rt_state_get(root, "nope", &st, &err), 0);
  cr_assert_str_eq(err.msg, "container nope does not exist");
  cr_assert_eq(err.code, ENOENT);
  berr_clear(&err);
}

Test(runtime_state, running_created_stopped, .init = setup, .fini = teardown)
{
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  write_state("live", child, 0);
  rt_state st;
  berr_t err = BERR_INIT;
  cr_assert_eq(rt_state_get(root, "live", &st, &err), 0, "%s", err.msg);
  cr_assert_eq(st.status, RT_RUNNING);
  cr_assert_eq(st.pid, child);
  cr_assert_str_eq(st.bundle, "/b");
  cr_assert_str_eq(st.cgroup_path, "/berth/x");
  cr_assert_str_eq(json_str(st.annotations, "k"), "v");
  cr_assert_eq(st.created_ns, INT64_C(1767323045000000006));
  rt_state_free(&st);

  /* exec.fifo present: still waiting for start */
  cleanup_free char *fifo = path_join(root, "live/exec.fifo");
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  cr_assert_eq(rt_state_get(root, "live", &st, &err), 0);
  cr_assert_eq(st.status, RT_CREATED);
  rt_state_free(&st);
  unlink(fifo);

  /* the pid is alive but started at another time: a reused pid, not ours */
  write_state("reused", child, proc_start_time(child) + 1);
  cr_assert_eq(rt_state_get(root, "reused", &st, &err), 0);
  cr_assert_eq(st.status, RT_STOPPED);
  cr_assert_eq(st.pid, 0);
  cr_assert_eq(st.exit_code, -1);
  rt_state_free(&st);

  /* a zombie is stopped */
  kill(child, SIGKILL);
  siginfo_t si;
  waitid(P_PID, child, &si, WEXITED | WNOWAIT);
  cr_assert_eq(rt_state_get(root, "live", &st, &err), 0);
  cr_assert_eq(st.status, RT_STOPPED);
  rt_state_free(&st);
  waitpid(child, NULL, 0);

  /* exit.json wins, with the monitor's record */
  cleanup_free char *ex = path_join(root, "live/exit.json");
  const char *rec = "{\"exitCode\":137,\"signal\":9,\"oomKilled\":true,"
                    "\"finishedAt\":\"2026-01-02T03:04:06.5Z\"}";
  cr_assert_eq(st_write_file(ex, rec, &err), 0);
  cr_assert_eq(rt_state_get(root, "live", &st, &err), 0);
  cr_assert_eq(st.status, RT_STOPPED);
  cr_assert_eq(st.exit_code, 137);
  cr_assert_eq(st.exit_signal, 9);
  cr_assert(st.oom_killed);
  cr_assert_eq(st.finished_ns, INT64_C(1767323046500000000));
  rt_state_free(&st);
  cr_assert_str_eq(rt_status_name(RT_STOPPED), "stopped");
}

Test(runtime_state, list_skips_what_is_not_a_container, .init = setup, .fini = teardown)
{
  write_state("b", getpid(), 0);
  write_state("a", getpid(), 0);
  cleanup_free char *lock = path_join(root, ".lock");
  cleanup_free char *empty = path_join(root, "engine-only");
  cr_assert_eq(st_write_file(lock, "", NULL), 0);
  cr_assert_eq(mkdir(empty, 0700), 0);
  rt_state *v = NULL;
  size_t n = 0;
  berr_t err = BERR_INIT;
  cr_assert_eq(rt_list(root, &v, &n, &err), 0, "%s", err.msg);
  cr_assert_eq(n, 2);
  cr_assert_str_eq(v[0].id, "a");
  cr_assert_str_eq(v[1].id, "b");
  for (size_t i = 0; i < n; i++)
    rt_state_free(&v[i]);
  free(v);

  /* st_remove keeps a directory that holds someone else's files */
  cleanup_free char *a = path_join(root, "a");
  cleanup_free char *mine = path_join(root, "a/meta.json");
  cr_assert_eq(st_write_file(mine, "{}", NULL), 0);
  st_remove(a);
  cr_assert(fs_exists(mine));
  cleanup_free char *ast = path_join(root, "a/state.json");
  cr_assert_not(fs_exists(ast));
  cleanup_free char *b = path_join(root, "b");
  st_remove(b);
  cr_assert_not(fs_exists(b));
}

/* base.h: err may be NULL everywhere. These paths set a code beside the
 * message and once dereferenced err without looking. */
Test(runtime_state, errors_without_an_err, .init = setup, .fini = teardown)
{
  /* rt_start of a stopped container */
  write_state("gone", getpid(), 1);
  cr_assert_lt(rt_start(root, "gone", NULL), 0);
  berr_t err = BERR_INIT;
  cr_assert_lt(rt_start(root, "gone", &err), 0);
  cr_assert_eq(err.code, ESRCH);
  cr_assert_str_eq(err.msg, "container gone is stopped, not created");
  berr_clear(&err);

  /* the launcher's sync channel carrying a child's error */
  int sv[2];
  cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  berr_t child = BERR_INIT;
  berr_set(&child, ENOENT, "exec: \"x\"");
  sync_send_error(sv[1], SYNC_EXEC_ERROR, 127, &child);
  sync_send_error(sv[1], SYNC_EXEC_ERROR, 127, &child);
  int status = 0;
  cr_assert_lt(sync_wait(sv[0], true, &status, NULL), 0);
  cr_assert_eq(status, 127);
  cr_assert_lt(sync_wait(sv[0], true, NULL, &err), 0);
  cr_assert_eq(err.code, ENOENT);
  cr_assert_str_eq(err.msg, child.msg);
  berr_clear(&err);
  berr_clear(&child);
  close(sv[0]);
  close(sv[1]);

  /* the attach client, with no monitor to talk to */
  int sock = -1;
  cr_assert_lt(rt_attach_open(root, "gone", &sock, NULL), 0);
  cr_assert_lt(rt_attach_open(root, "nope", &sock, NULL), 0);
}
