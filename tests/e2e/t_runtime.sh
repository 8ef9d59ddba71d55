#!/usr/bin/env bash
# t_runtime.sh — `berth runtime`, the OCI runtime command line: a bundle made
# from the busybox image and `berth runtime spec`; run, exit codes, the
# create/start/state/kill/delete life cycle, list, exec, the console socket,
# errors that name what failed, and the same bundle under crun.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bundle.sh"

echo "t_runtime: the OCI runtime command line"
R=("$BERTH" runtime --root "$RT")

# For verbs after which the container lives on: its stdio would hold $(…)
# open, so it goes to a file ($T/NAME.log), shown when the verb fails.
check_bg() {
  local n=$1 log=$T/${1//[^a-z0-9]/_}.log
  shift
  if "$@" </dev/null >"$log" 2>&1; then ok "$n"; else not_ok "$n" "$* -> $(cat "$log")"; fi
}

check "spec writes config.json" make_bundle "$B"
expect_fail "spec refuses to overwrite" 'config.json exists' sh -c "cd '$B' && '$BERTH' runtime spec"
expect_match "the default config has Docker's seccomp profile" '"SCMP_ACT_ERRNO"' "$(cat "$B/config.json")"

# ---- run ---------------------------------------------------------------------------
expect_eq "run echo hello" "hello" "$(brun pass echo hello 2>&1)"
brun pass sh -c 'exit 3' >/dev/null 2>&1
expect_eq "the exit code comes through" 3 $?
brun "c['annotations']={'berth.init':'true'}" sh -c 'kill -KILL $$' >/dev/null 2>&1
expect_eq "death by a signal is 128+N" 137 $?
out=$(brun pass nosuchcommand arg 2>&1)
rc=$?
expect_eq "a missing command exits 127" 127 "$rc"
expect_match "… and says which" 'exec: "nosuchcommand": executable file not found in \$PATH' "$out"
out=$(brun pass /etc/passwd 2>&1)
rc=$?
expect_eq "a file that is not executable exits 126" 126 "$rc"
expect_match "… and says why" 'exec: "/etc/passwd": Permission denied' "$out"
expect_eq "stdin goes to the container" "from-stdin" "$(echo from-stdin | brun pass cat 2>&1)"
expect_eq "process.consoleSize sizes the terminal" "12 34" \
  "$(brun "c['process']['terminal']=True; c['process']['consoleSize']={'height':12,'width':34}" \
    stty size </dev/null 2>&1 | tr -d '\r')"
expect_eq "run leaves nothing behind" "" "$("${R[@]}" list -q 2>&1)"
expect_fail "a bad config names the field" 'process.cwd: "relative" must be an absolute path' \
  brun "c['process']['cwd']='relative'" true
expect_fail "a bad mount names the volume" 'mount volume /data: /nonexistent/x: No such file or directory' \
  brun "c['mounts'].append({'destination':'/data','type':'bind','source':'/nonexistent/x','options':['rbind']})" true
expect_eq "a failed start leaves nothing behind" "" \
  "$("${R[@]}" list -q 2>&1; ls "$RT"; ls -d /sys/fs/cgroup/*/berth/r* 2>/dev/null)"

# signals to a foreground run go to the container (here its init, which
# forwards them to the command)
d=$(cfg_bundle '["sleep","1000"]' "c['annotations']={'berth.init':'true'}")
timeout 30 "${R[@]}" run --bundle "$d" fg </dev/null >/dev/null 2>&1 &
fg=$!
wait_for 10 sh -c "'$BERTH' runtime --root '$RT' state fg | grep -q running"
kill -TERM $fg
wait $fg
expect_eq "run forwards SIGTERM; the exit code is 128+15" 143 $?
expect_fail "… and deletes the container" 'does not exist' "${R[@]}" state fg

# ---- create / start / state / kill / delete ------------------------------------------
life=$(cfg_bundle "$(args_json sh -c 'echo started; echo secret >/tmp/file; trap "exit 0" TERM; while :; do sleep 0.1; done')" \
  "c['hostname']='lifecycle'")
check_bg "create" timeout 20 "${R[@]}" create --bundle "$life" --pid-file "$T/life.pid" life
expect_eq "state: created" "created" "$("${R[@]}" state life | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
pid=$(cat "$T/life.pid" 2>/dev/null)
expect_eq "--pid-file holds the init's pid" "$pid" "$("${R[@]}" state life | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')"
expect_fail "create refuses a second container with the same id" 'container life already exists' \
  "${R[@]}" create --bundle "$life" life
expect_match "list shows it" '^life +[0-9]+ +created' "$("${R[@]}" list | grep '^life')"
check "start" timeout 20 "${R[@]}" start life
wait_for 5 grep -q started "$T/create.log"
expect_eq "the container's output went to create's stdout" "started" "$(cat "$T/create.log")"
expect_eq "state: running" "running" "$("${R[@]}" state life | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
expect_fail "start twice" 'container life is running, not created' "${R[@]}" start life
expect_match "list --format json" '"status": "running"' "$("${R[@]}" list --format json)"
state=$("${R[@]}" state life)
expect_match "state has the OCI fields" '"ociVersion".*"id": "life".*"bundle": "'"$life"'"' "$(echo $state)"

# ---- exec -------------------------------------------------------------------------------
wait_for 5 "${R[@]}" exec life test -f /tmp/file
expect_eq "exec: hostname" "lifecycle" "$(timeout 20 "${R[@]}" exec life hostname 2>&1)"
expect_eq "exec: sees the container's files" "secret" "$(timeout 20 "${R[@]}" exec life cat /tmp/file 2>&1)"
expect_match "exec: in the container's pid namespace (pid 1 is its init)" 'while :' \
  "$(timeout 20 "${R[@]}" exec life sh -c 'tr "\0" " " </proc/1/cmdline' 2>&1)"
timeout 20 "${R[@]}" exec life sh -c 'exit 5'
expect_eq "exec: exit code" 5 $?
expect_eq "exec --env and --cwd" "v1 /tmp" "$(timeout 20 "${R[@]}" exec --env K=v1 --cwd /tmp life sh -c 'echo $K $(pwd)' 2>&1)"
expect_eq "exec --user" "1000:1000" "$(timeout 20 "${R[@]}" exec --user 1000:1000 life sh -c 'echo $(id -u):$(id -g)' 2>&1)"
echo '{"args":["sh","-c","echo from-process-file"],"cwd":"/"}' >"$T/proc.json"
expect_eq "exec --process FILE" "from-process-file" "$(timeout 20 "${R[@]}" exec --process "$T/proc.json" life 2>&1)"
expect_fail "exec of a missing command" 'exec: "nosuch": executable file not found' "${R[@]}" exec life nosuch
expect_eq "exec: same seccomp as the init" "1" \
  "$(timeout 20 "${R[@]}" exec life sh -c 'grep -c "^Seccomp:.2" /proc/self/status' 2>&1)"

expect_fail "delete refuses a running container" 'is running' "${R[@]}" delete life
check "kill (TERM by default)" "${R[@]}" kill life
wait_for 10 sh -c "'$BERTH' runtime --root '$RT' state life | grep -q '\"stopped\"'"
expect_eq "state: stopped after kill" "stopped" "$("${R[@]}" state life | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
expect_fail "kill a stopped container" 'container life is not running' "${R[@]}" kill life KILL
expect_fail "exec into a stopped container" 'container life is stopped, not running' "${R[@]}" exec life true
check "delete" "${R[@]}" delete life
expect_fail "state after delete" 'container life does not exist' "${R[@]}" state life
expect_eq "delete removes the cgroup" "no" "$([ -d /sys/fs/cgroup/memory/berth/life ] && echo yes || echo no)"

# kill KILL, kill --all, delete --force
check_bg "create + start a sleeper" sh -c "'$BERTH' runtime --root '$RT' create --bundle '$(cfg_bundle '["sleep","1000"]' pass)' sl && '$BERTH' runtime --root '$RT' start sl"
check "kill --all KILL" "${R[@]}" kill --all sl KILL
wait_for 10 sh -c "'$BERTH' runtime --root '$RT' state sl | grep -q '\"stopped\"'"
expect_match "stopped by kill --all" '"stopped"' "$("${R[@]}" state sl)"
check "delete after kill" "${R[@]}" delete sl
check_bg "create another" "${R[@]}" create --bundle "$(cfg_bundle '["sleep","1000"]' pass)" sl2
check "delete --force of a created container" "${R[@]}" delete --force sl2
expect_eq "… leaves no process" "" "$(pgrep -f 'sleep 1000' || true)"
expect_fail "kill: unknown signal" 'unknown signal "NOPE"' "${R[@]}" kill sl2 NOPE
expect_fail "an invalid id" 'invalid container id' "${R[@]}" state ../x

# run --detach, then the container is on its own
d=$(cfg_bundle '["sleep","1000"]' pass)
check_bg "run --detach" timeout 20 "${R[@]}" run --detach --bundle "$d" det
expect_match "detached container runs" '"running"' "$("${R[@]}" state det)"
check "delete --force a running container" "${R[@]}" delete --force det

# ---- the console socket (process.terminal) --------------------------------------------
cat >"$T/console.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
_, fds, _, _ = socket.recv_fds(c, 1, 1)
out = b""
while True:
    try:
        d = os.read(fds[0], 4096)
    except OSError:
        break
    if not d:
        break
    out += d
sys.stdout.write(out.decode().replace("\r", ""))
PY
python3 "$T/console.py" "$T/console.sock" >"$T/console.out" &
cons=$!
wait_for 5 test -S "$T/console.sock"
tty=$(cfg_bundle "$(args_json sh -c 'tty; test -t 0 && echo stdin-is-a-tty')" "c['process']['terminal']=True")
check_bg "create --console-socket" timeout 20 "${R[@]}" create --bundle "$tty" --console-socket "$T/console.sock" tty1
check "start the terminal container" timeout 20 "${R[@]}" start tty1
wait_for 10 sh -c "! kill -0 $cons"
expect_eq "the pty master came over the socket" $'/dev/pts/0\nstdin-is-a-tty' "$(cat "$T/console.out")"
"${R[@]}" delete --force tty1 >/dev/null 2>&1
expect_fail "terminal without a console socket" 'no console socket' \
  "${R[@]}" create --bundle "$tty" tty2

# ---- the same bundle under crun --------------------------------------------------------
# (crun needs a private tmpfs over the hybrid host's cgroup2 tree, see
# runtime-facts.md; NOFILE is lowered to what this shell may grant, since
# crun cannot raise a hard limit without CAP_SYS_RESOURCE either)
if command -v crun >/dev/null; then
  hard=$(ulimit -Hn)
  cmp=$(cfg_bundle "$(args_json sh -c 'echo hello; hostname; id -u; ulimit -n; grep NoNewPrivs /proc/self/status; ls /dev | tr "\n" " "')" \
    "c['process']['rlimits'][0]['hard']=$hard; c['process']['rlimits'][0]['soft']=$hard")
  ours=$(timeout 20 "${R[@]}" run --bundle "$cmp" cmp1 2>&1)
  theirs=$(timeout 20 unshare -m sh -c 'mount -t tmpfs none /sys/fs/cgroup/unified &&
    crun --root "$1" run --bundle "$2" cmp1' sh "$T/crun" "$cmp" 2>&1)
  expect_match "crun runs the bundle" '^hello' "$theirs"
  expect_eq "berth and crun give the same output" "$theirs" "$ours"
else
  not_ok "crun runs the bundle" "crun is not installed (make deps)"
fi

# ---- a cgroup2 tree hidden by another mount ----------------------------------------------
# What bench/start.sh does so that crun runs on a hybrid host: a private mount
# namespace with a tmpfs over /sys/fs/cgroup/unified. berth must see that the
# cgroup2 mount is covered and use the v1 hierarchies.
if grep -q ' /sys/fs/cgroup/unified .* - cgroup2 ' /proc/self/mountinfo; then
  hid=$(cfg_bundle "$(args_json echo hello)" pass)
  out=$(timeout 20 unshare -m sh -c 'mount --make-rprivate / && mount -t tmpfs none /sys/fs/cgroup/unified &&
    "$1" runtime --root "$2" run --bundle "$3" hidden1' sh "$BERTH" "$RT" "$hid" 2>&1)
  expect_eq "run with the cgroup2 tree covered by a tmpfs" "hello" "$out"
fi

# ---- clean-up ---------------------------------------------------------------------------
expect_eq "nothing left in the runtime root" "" "$("${R[@]}" list -q 2>&1)"
