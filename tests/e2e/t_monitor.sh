#!/usr/bin/env bash
# t_monitor.sh — the per-container monitor through `berth container`: logs
# (streams kept apart, --tail, -f), the monitor's footprint, surviving the
# CLI's death, exit codes and OOM kills, clean-up, attach, log rotation.
source "$(dirname "$0")/lib.sh"

echo "t_monitor: the per-container monitor"
load_busybox

# The monitor owning a running container: the container init's parent.
monitor_of() {
  local pid
  pid=$("$BERTH" container inspect -f '{{.State.Pid}}' "$1") || return 1
  awk '/^PPid:/ {print $2}' "/proc/$pid/status"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
state() { "$BERTH" container inspect -f "$2" "$1" 2>&1; }

# ---- output and logs -----------------------------------------------------------
# $(…) returns only if nothing (the monitor included) keeps the CLI's stdout open.
id=$(timeout 20 "$BERTH" container run -d --name out busybox \
  sh -c 'echo one; echo err-one >&2; sleep 0.2; echo two; echo three; sleep 0.2; echo err-two >&2; sleep 1000')
expect_match "run -d prints the id and returns" '^[0-9a-f]{64}$' "$id"
# (the pipes are read apart: lines of the two streams keep their order in the
# log only when written apart in time)
wait_for 10 sh -c "'$BERTH' container logs out 2>&1 | grep -q err-two"
expect_eq "logs: stdout" $'one\ntwo\nthree' "$("$BERTH" container logs out 2>/dev/null)"
expect_eq "logs: stderr apart" $'err-one\nerr-two' "$("$BERTH" container logs out 2>&1 >/dev/null)"
expect_eq "logs --tail 2" $'three\nerr-two' "$("$BERTH" container logs --tail 2 out 2>&1)"
expect_match "logs --timestamps" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z three$' \
  "$("$BERTH" container logs -t --tail 2 out 2>/dev/null)"

# ---- the monitor's footprint ----------------------------------------------------
mon=$(monitor_of out)
if [ -n "$mon" ] && [ -r "/proc/$mon/status" ]; then
  expect_match "the monitor is berth's monitor" 'berth-monitor' "$(tr '\0' ' ' <"/proc/$mon/cmdline")"
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$mon/status")
  if [ "$rss" -le 1024 ]; then ok "monitor RSS ${rss} kB <= 1024 kB"; else not_ok "monitor RSS" "${rss} kB"; fi
  # out of reach of the terminal berth ran in
  expect_eq "the monitor has a session of its own" "no" \
    "$([ "$(ps -o sid= -p "$mon")" == "$(ps -o sid= -p $$)" ] && echo yes || echo no)"
  t0=$(cpu_ticks "$mon"); sleep 2; t1=$(cpu_ticks "$mon")
  expect_eq "an idle monitor uses no CPU (ticks over 2 s)" "$t0" "$t1"
else
  not_ok "find the monitor" "no parent process for container out"
fi

# A follower of a quiet container sleeps until the monitor says EXIT.
"$BERTH" container logs -f out >"$T/follow.out" 2>&1 &
follower=$!
sleep 1
t0=$(cpu_ticks "$follower"); sleep 2; t1=$(cpu_ticks "$follower")
expect_eq "logs -f on a quiet container uses no CPU" "$t0" "$t1"
check "stop" timeout 20 "$BERTH" container stop -t 1 out
wait_for 10 sh -c "! kill -0 $follower"
expect_eq "logs -f ends with the stop" "no" "$(kill -0 "$follower" 2>/dev/null && echo yes || echo no)"

# ---- logs -f follows until the exit ------------------------------------------------
id=$(timeout 20 "$BERTH" container run -d --name follow busybox \
  sh -c 'for i in 1 2 3; do echo tick$i; sleep 0.4; done; echo bye >&2')
start=$SECONDS
got=$(timeout 20 "$BERTH" container logs -f follow 2>&1); rc=$?
expect_eq "logs -f ends when the container exits" "0" "$rc"
expect_eq "logs -f sees every line" $'tick1\ntick2\ntick3\nbye' "$got"
expect_eq "logs -f of a stopped container returns at once" "bye" \
  "$(timeout 5 "$BERTH" container logs -f --tail 1 follow 2>&1)"

# ---- foreground run, exit codes, clean-up ---------------------------------------------
for i in 1 2 3; do
  # started only once attached: the first bytes are never lost
  got=$(timeout 20 "$BERTH" container run --rm busybox echo first-bytes 2>&1)
  [ "$got" == "first-bytes" ] || break
done
expect_eq "foreground run sees the first bytes" "first-bytes" "$got"
timeout 60 "$BERTH" container run --rm busybox sh -c 'seq 1 200000; seq 1 500 >&2' \
  >"$T/seq.out" 2>"$T/seq.err"
expect_eq "attach: 200000 lines, in order" "ok" "$(seq 1 200000 | cmp -s - "$T/seq.out" && echo ok)"
expect_eq "attach: stderr kept apart" "ok" "$(seq 1 500 | cmp -s - "$T/seq.err" && echo ok)"
timeout 20 "$BERTH" container run --name code busybox sh -c 'echo bye; exit 3' >/dev/null 2>&1
expect_eq "run exits with the container's code" "3" "$?"
expect_eq "inspect: exit code" "3 false exited" \
  "$(state code '{{.State.ExitCode}} {{.State.OOMKilled}} {{.State.Status}}')"
cid=$(state code '{{.Id}}')
expect_match "exit.json written" '^\{"exitCode":3,"signal":0,"oomKilled":false,"finishedAt":"[0-9T:.-]+Z"\}$' \
  "$(cat "$BERTH_ROOT/run/containers/$cid/exit.json" 2>&1)"
left=$(ls -d /sys/fs/cgroup/*/berth/"$cid" /sys/fs/cgroup/berth/"$cid" 2>/dev/null)
expect_eq "the monitor removed the cgroups" "" "$left"
expect_eq "the monitor removed attach.sock" "no" \
  "$([ -e "$BERTH_ROOT/run/containers/$cid/attach.sock" ] && echo yes || echo no)"

got=$(echo hello-stdin | timeout 20 "$BERTH" container run -i --rm busybox sh -c 'cat; echo done')
expect_eq "run -i feeds stdin and closes it at EOF" $'hello-stdin\ndone' "$got"

if command -v script >/dev/null; then
  got=$(timeout 20 script -qec "stty rows 31 cols 97; '$BERTH' container run --rm -t busybox sh -c 'tty; stty size'" /dev/null | tr -d '\r')
  expect_match "run -t: a terminal of the caller's size" $'/dev/pts/[0-9]+\n31 97' "$got"
fi

# ---- the CLI killed during a foreground run ------------------------------------------
"$BERTH" container run --name survivor busybox sh -c 'echo up; while :; do sleep 1; done' \
  >"$T/survivor.out" 2>&1 &
cli=$!
wait_for 20 grep -q up "$T/survivor.out"
kill -9 "$cli"; wait "$cli" 2>/dev/null
sleep 0.3
expect_match "kill -9 of the CLI leaves the container running" '^running$' "$(state survivor '{{.State.Status}}')"
expect_match "… and listed" 'survivor' "$("$BERTH" container ls)"
check "… and stoppable" timeout 20 "$BERTH" container stop -t 1 survivor
expect_match "… with its exit recorded" '^(137|143) exited$' "$(state survivor '{{.State.ExitCode}} {{.State.Status}}')"

# ---- OOM -------------------------------------------------------------------------------
timeout 60 "$BERTH" container run --name oom --memory 32m busybox \
  sh -c 'x=$(head -c 100m /dev/zero | tr "\0" a); echo survived' >/dev/null 2>&1
expect_eq "an OOM kill exits 137" "137" "$?"
expect_eq "inspect: OOMKilled" "137 true" "$(state oom '{{.State.ExitCode}} {{.State.OOMKilled}}')"

# ---- log rotation ----------------------------------------------------------------------
# The monitor program itself (build/monitor, what berth embeds) at a 4 KiB
# limit: python plays berth, its writer child plays the container.
mon_bin=$TOP/build/monitor
rot=$T/rot
mkdir -p "$rot"
python3 - "$mon_bin" "$rot" <<'PY'
import os, socket, sys
mon, d = sys.argv[1], sys.argv[2]
out_r, out_w = os.pipe(); err_r, err_w = os.pipe(); rep_r, rep_w = os.pipe()
pid = os.fork()
if pid == 0:
    os.dup2(out_w, 1); os.dup2(err_w, 2)
    for i in range(400):
        os.write(1, b"line %d of the rotation test\n" % i)
    os.write(2, b"no newline")
    os._exit(7)
os.close(out_w); os.close(err_w)
l = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
l.bind(d + "/attach.sock"); l.listen(4)
if os.fork() == 0:  # reads the report so that the monitor never blocks on it
    os.close(rep_w); open(d + "/report", "wb").write(os.read(rep_r, 100)); os._exit(0)
os.close(rep_r)
fds = [out_r, err_r, l.fileno(), rep_w]
for f in fds: os.set_inheritable(f, True)
os.execv(mon, ["berth-monitor", "--pid", str(pid), "--stdout", str(out_r), "--stderr", str(err_r),
               "--attach", str(l.fileno()), "--report", str(rep_w), "--log", d + "/ctr.log",
               "--log-max-bytes", "4096", "--log-max-files", "2", "--state-dir", d])
PY
wait_for 10 test -e "$rot/exit.json"
expect_match "the monitor reports ok PID" '^ok [0-9]+$' "$(cat "$rot/report")"
log=$rot/ctr.log
expect_eq "rotation: LOG, LOG.1, LOG.2 and no more" "$log $log.1 $log.2" "$(echo $(ls "$log"*))"
big=$(for f in "$log"*; do s=$(stat -c %s "$f"); [ "$s" -gt 4096 ] && echo "$f=$s"; done)
expect_eq "rotation: no file past the limit" "" "$big"
expect_match "rotation: the oldest lines are gone" '^[^ ]+ stdout F line [1-9][0-9]+ of' "$(head -1 "$log.2")"
expect_match "rotation: the last line is in LOG" 'stdout F line 399 of the rotation test' "$(cat "$log")"
expect_match "output without a final newline ends as P" 'stderr P no newline$' "$(tail -1 "$log")"
expect_match "exit.json of the monitor" '^\{"exitCode":7,"signal":0,"oomKilled":false' "$(cat "$rot/exit.json")"
expect_eq "attach.sock removed at the end" "no" "$([ -e "$rot/attach.sock" ] && echo yes || echo no)"

# Through the CLI with docker's --log-opt (max-file counts the current file:
# max-file=3 keeps LOG.1 and LOG.2; max-file=1 only LOG).
# rotated_run NAME MAX_FILE — 400 lines through a 4 KiB log; prints its path.
rotated_run() {
  timeout 20 "$BERTH" container run --name "$1" --log-opt max-size=4k --log-opt max-file="$2" \
    busybox sh -c 'i=0; while [ $i -lt 400 ]; do echo "line $i of the rotation test"; i=$((i+1)); done' >/dev/null 2>&1
  state "$1" '{{.LogPath}}'
}
log=$(rotated_run rot 3)
expect_eq "run --log-opt: LOG, LOG.1, LOG.2" "$log $log.1 $log.2" "$(echo $(ls "$log"*))"
big=$(for f in "$log"*; do s=$(stat -c %s "$f"); [ "$s" -gt 4096 ] && echo "$f=$s"; done)
expect_eq "run --log-opt: no file past max-size" "" "$big"
expect_eq "run --log-opt: logs ends with the last line" "line 399 of the rotation test" \
  "$("$BERTH" container logs --tail 1 rot)"
expect_match "run --log-opt: the oldest lines are gone" '^line [1-9][0-9]+ of' \
  "$("$BERTH" container logs rot | head -1)"
log=$(rotated_run rot1 1)
expect_eq "run --log-opt max-file=1: LOG alone" "$log" "$(echo $(ls "$log"*))"
expect_eq "run --log-opt max-file=1: logs ends with the last line" "line 399 of the rotation test" \
  "$("$BERTH" container logs --tail 1 rot1)"

exit 0
