/* monitor_proto.h — the contract between berth and the per-container monitor
 * (src/runtime/monitor/, a static program embedded in berth). Both sides
 * include this file, so it uses plain C and libc only: no base/, no jansson.
 *
 * Three things are defined here:
 *   1. how berth starts the monitor (argv, inherited fds, the report line);
 *   2. the attach protocol spoken over ROOT/ID/attach.sock;
 *   3. the files the monitor writes: the CRI log and ROOT/ID/exit.json.
 * docs/monitor.md describes the whole picture.
 */
#ifndef BERTH_RUNTIME_MONITOR_PROTO_H
#define BERTH_RUNTIME_MONITOR_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- 1. starting the monitor ---------------------------------------------------
 *
 * berth execs the monitor with "--opt value" pairs (values are separate argv
 * elements). FD options name descriptors the monitor inherits; it closes
 * every other descriptor above 2 when it starts, and its 0, 1, 2 are
 * /dev/null. The container is already the monitor's child (it waits in
 * exec.fifo for rt_start) when the monitor starts. */
#define MON_OPT_ID         "--id"            /* container id (for ps and messages) */
#define MON_OPT_PID        "--pid"           /* the container's init pid, a child of ours */
#define MON_OPT_STDOUT     "--stdout"        /* FD: read end of the container's stdout */
#define MON_OPT_STDERR     "--stderr"        /* FD: read end of the container's stderr */
#define MON_OPT_STDIN      "--stdin"         /* FD: write end of the container's stdin */
#define MON_OPT_PTY        "--pty"           /* FD: pty master (instead of the three above) */
#define MON_OPT_STDIN_OPEN "--stdin-open"    /* 1: attach clients may write stdin */
#define MON_OPT_ATTACH     "--attach"        /* FD: listening SOCK_SEQPACKET socket */
#define MON_OPT_REPORT     "--report"        /* FD: where to write the report line */
#define MON_OPT_LOG        "--log"           /* log file path (optional) */
#define MON_OPT_LOG_MAX    "--log-max-bytes" /* rotate when the log would pass this size */
#define MON_OPT_LOG_FILES  "--log-max-files" /* rotated files kept (LOG.1 … LOG.N) */
#define MON_OPT_STATE_DIR  "--state-dir"     /* ROOT/ID: exit.json and attach.sock */
#define MON_OPT_OOM_FILE   "--oom-file"      /* cgroup file with the "oom_kill N" line */
#define MON_OPT_CGROUP_DIR "--cgroup-dir"    /* repeatable: rmdir'd after the exit */
/* 1: at the very end, rm -rf the state dir (annotation berth.autoremove) */
#define MON_OPT_REMOVE_STATE_DIR "--remove-state-dir"
/* with --remove-state-dir 1: a directory removed too, after the state dir
 * (the engine's container directory, which is elsewhere) */
#define MON_OPT_REMOVE_DIR "--remove-dir"

/* The report line, written once to the report fd and the fd closed:
 *   "ok PID\n"                       the monitor runs and owns container PID
 *   "error ERRNO MSG\n"              nothing was left behind; ERRNO is the root
 *                                    cause's errno (0 if none), MSG one line
 *   "exec-error STATUS ERRNO MSG\n"  the same, because the container's command
 *                                    cannot be executed: STATUS is 127 (not
 *                                    found) or 126 (not executable), the exit
 *                                    status `docker run` gives for it
 * berth waits for it (EOF without a line means the monitor died). Only the
 * launcher (before it becomes the monitor) writes exec-error. */
#define MON_REPORT_OK         "ok "
#define MON_REPORT_ERROR      "error "
#define MON_REPORT_EXEC_ERROR "exec-error "

#define MON_DEFAULT_LOG_MAX_BYTES (10 * 1024 * 1024)
#define MON_DEFAULT_LOG_MAX_FILES 1

/* ---- 2. the attach protocol ------------------------------------------------------
 *
 * ROOT/ID/attach.sock is an AF_UNIX SOCK_SEQPACKET socket: every message is
 * one frame, sent and received whole. A frame is a 1-byte type, a 4-byte
 * big-endian payload length, then the payload (at most MON_FRAME_MAX bytes;
 * the length must equal the message size minus MON_HDR_SIZE).
 *
 * server → client
 *   HELLO   first frame on every connection: u8 version, u8 flags (MON_HELLO_*)
 *   STDOUT  container output (with a pty, everything is STDOUT)
 *   STDERR  container error output
 *   EXIT    last frame: i32 exit code (128+N for signal N), i32 signal, u8 oomKilled.
 *           The monitor then cleans up (cgroups, attach.sock, and with
 *           MON_OPT_REMOVE_STATE_DIR the whole state directory) and only then
 *           hangs up: a client that reads on to EOF knows the clean-up is done.
 * client → server
 *   STDIN        bytes for the container's stdin (ignored unless stdin is open)
 *   STDIN_CLOSE  close the container's stdin (pipes only; every client's
 *                stdin ends with it, like docker's StdinOnce)
 *   RESIZE       u16 rows, u16 cols: TIOCSWINSZ on the pty master
 *   QUIET        send this client no output, only EXIT (for waiters: an idle
 *                wait then costs nothing, and a waiter never holds output back)
 *
 * Output is sent to every client. A client that does not read holds the
 * container's output back (the pipes fill and the container blocks, as with
 * docker attach) for at most MON_CLIENT_LAG_MS; then it is disconnected. */
#define MON_PROTO_VERSION 1
#define MON_HDR_SIZE      5
#define MON_FRAME_MAX     16384
#define MON_CLIENT_LAG_MS 10000

enum mon_frame_type {
  MON_MSG_HELLO = 0x01,
  MON_MSG_STDOUT = 0x02,
  MON_MSG_STDERR = 0x03,
  MON_MSG_EXIT = 0x04,
  MON_MSG_STDIN = 0x10,
  MON_MSG_STDIN_CLOSE = 0x11,
  MON_MSG_RESIZE = 0x12,
  MON_MSG_QUIET = 0x13,
};

#define MON_HELLO_TTY        0x01 /* the container has a terminal */
#define MON_HELLO_STDIN_OPEN 0x02 /* STDIN frames reach the container */

#define MON_EXIT_PAYLOAD   9
#define MON_RESIZE_PAYLOAD 4

static inline void mon_put_u32(unsigned char *p, uint32_t v)
{
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static inline uint32_t mon_get_u32(const unsigned char *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void mon_put_u16(unsigned char *p, uint16_t v)
{
  p[0] = (unsigned char)(v >> 8);
  p[1] = (unsigned char)v;
}

static inline uint16_t mon_get_u16(const unsigned char *p)
{
  return (uint16_t)(p[0] << 8 | p[1]);
}

/* Writes the 5-byte header of a frame. */
static inline void mon_put_hdr(unsigned char *hdr, int type, uint32_t len)
{
  hdr[0] = (unsigned char)type;
  mon_put_u32(hdr + 1, len);
}

/* ---- 3. files ------------------------------------------------------------------
 *
 * The log (CRI format, as kubelet reads it): one record per line,
 *   <RFC3339Nano UTC> <stdout|stderr> <F|P> <content>\n
 * F ends a line, P is a fragment of a longer one: a line is cut every
 * MON_LOG_LINE_MAX bytes, and output that ends without a newline is written
 * as P when the stream closes. The file rotates before a record would take it
 * past the size limit: LOG.N-1 → LOG.N, …, LOG → LOG.1 (the oldest dropped). */
#define MON_LOG_LINE_MAX 16384

/* LOG.N for rotated file n (n >= 1); returns snprintf's result. */
static inline int mon_log_rotated_name(char *buf, size_t size, const char *log, int n)
{
  return snprintf(buf, size, "%s.%d", log, n);
}

/* In the state directory. exit.json is written atomically (temp + rename)
 * before the EXIT frames go out:
 *   {"exitCode":N,"signal":S,"oomKilled":bool,"finishedAt":"RFC3339Nano"}
 * exitCode is 128+S when the container was killed by signal S (S is 0
 * otherwise); oomKilled is true when the cgroup recorded an OOM kill. */
#define MON_ATTACH_SOCK     "attach.sock"
#define MON_EXIT_FILE       "exit.json"
#define MON_EXIT_CODE       "exitCode"
#define MON_EXIT_SIGNAL     "signal"
#define MON_EXIT_OOM_KILLED "oomKilled"
#define MON_EXIT_FINISHED   "finishedAt"

#endif
