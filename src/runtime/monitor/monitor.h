/* monitor.h — the pieces of the per-container monitor program.
 *
 * The monitor is a small static program (plain libc, no berth base library)
 * that berth execs once per managed container: it owns the container's
 * stdio, writes its CRI log, serves the attach socket and records the exit.
 * It must stay small (≤ 1 MiB RSS) and cost no CPU while the container is
 * quiet: it blocks in poll() with no timeout unless something is pending.
 * Static glibc pulls in a lot when asked for time zones or stdio streams, so
 * the monitor formats its own timestamps and writes with write(2).
 *
 * All state lives in one struct mon (main.c); the log writer (logfile.c) is
 * self-contained so that the unit tests can compile it in. */
#ifndef BERTH_RUNTIME_MONITOR_H
#define BERTH_RUNTIME_MONITOR_H

#include "runtime/monitor_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- the CRI log writer (logfile.c) -------------------------------------- */

enum { MLOG_STDOUT = 0, MLOG_STDERR = 1 };

/* "2026-11-21T22:34:11.123456789Z" */
#define MON_TIME_LEN 30

/* Formats ns since the epoch as RFC 3339 UTC with nanoseconds into out
 * (MON_TIME_LEN bytes plus a NUL). */
void mon_format_time(char out[MON_TIME_LEN + 1], int64_t ns);
int64_t mon_now_ns(void);

typedef struct mlog {
  const char *path; /* borrowed; NULL = no log */
  int fd;
  int64_t size;      /* bytes in the current file, buffered records included */
  int64_t max_bytes; /* rotate before passing this; <= 0 never */
  int max_files;     /* rotated files kept */
  size_t olen;       /* records waiting in obuf */
  size_t plen[2];    /* unfinished line per stream */
  char obuf[MON_LOG_LINE_MAX + 4096];
  char partial[2][MON_LOG_LINE_MAX];
} mlog;

/* Opens (appends to) path; returns 0 or -errno. l must be zeroed first. */
int mlog_open(mlog *l, const char *path, int64_t max_bytes, int max_files);
/* Adds output of a stream read at time ts: complete lines become F records,
 * a line reaching MON_LOG_LINE_MAX bytes is cut into P records, the rest
 * waits for its newline. Call mlog_flush afterwards. */
void mlog_output(mlog *l, int stream, const char *data, size_t len, const char *ts);
/* The stream ended: an unfinished line becomes a P record. */
void mlog_end_stream(mlog *l, int stream, const char *ts);
/* Writes the buffered records. */
void mlog_flush(mlog *l);
/* LOG → LOG.1 → … → LOG.max_files, then a fresh LOG (max_files 0: LOG is
 * dropped). Returns 0 or -errno. */
int mlog_rotate(mlog *l);
void mlog_close(mlog *l);

/* ---- the monitor (main.c, attach.c) ----------------------------------------- */

#define MON_MAX_CLIENTS  64
#define MON_MAX_CGROUPS  16
#define MON_DRAIN_MS     2000 /* output still open this long after the exit: give up */
#define MON_RMDIR_TRY_MS 1000 /* cgroup busy after the exit: retry this long */

typedef struct mon_client {
  int fd;              /* -1 = free slot */
  unsigned char *pend; /* a frame the socket did not take yet (the client lags) */
  size_t pend_len;
  int64_t lag_since_ms;
  bool quiet; /* wants only the EXIT frame */
} mon_client;

typedef struct mon {
  const char *id;
  pid_t pid;
  bool tty, stdin_open;
  int out_fd[2]; /* stdout, stderr read ends; with a tty out_fd[0] is the master */
  int in_fd;     /* stdin write end, or the master; -1 when closed */
  int pty_fd;    /* the master, -1 without a tty */
  int listen_fd, sig_fd, report_fd;
  const char *state_dir, *oom_file;
  const char *cg_dirs[MON_MAX_CGROUPS];
  int n_cg;
  bool remove_state_dir;  /* auto-remove: rm -rf state_dir at the very end */
  const char *remove_dir; /* and then this one (the engine's container directory), or NULL */

  mon_client clients[MON_MAX_CLIENTS];
  /* stdin bytes the container has not taken yet; while any wait, clients
   * are not read (the container's stdin pushes back on them) */
  unsigned char stdin_buf[MON_FRAME_MAX];
  size_t stdin_off, stdin_len;
  bool stdin_close_pending;

  bool exited;
  int status; /* waitpid status of the container */
  int64_t drain_deadline_ms;

  unsigned char frame[MON_HDR_SIZE + MON_FRAME_MAX]; /* output read here, sent from here */
  unsigned char rx[MON_HDR_SIZE + MON_FRAME_MAX];    /* client frames */
  mlog log;
} mon;

int64_t mon_mono_ms(void);

/* attach.c: the attach server. */
void mon_accept(mon *m);
/* Sends frame[0..len) to every client; lagging clients keep a copy. */
void mon_broadcast(mon *m, const unsigned char *frame, size_t len);
/* Handles poll results for client slot i. */
void mon_client_event(mon *m, int i, short revents);
/* Writes pending stdin to the container. */
void mon_stdin_flush(mon *m);
bool mon_any_lagging(const mon *m);
/* Disconnects clients that lagged longer than MON_CLIENT_LAG_MS; returns
 * the ms until the next such deadline, or -1. */
int mon_lag_check(mon *m);
/* The container is gone: flush what each client is owed and send EXIT. The
 * connections stay open until the monitor exits, after its clean-up. */
void mon_clients_finish(mon *m, int code, int sig, bool oom);
void mon_client_drop(mon *m, int i);

#endif
