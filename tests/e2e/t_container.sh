#!/usr/bin/env bash
# t_container.sh — `berth container` end to end, with real containers made
# from the offline busybox image: run (foreground, detached, --rm), every
# run option and its limits measured from inside, exec, logs, stop/kill/rm/
# prune, ls, inspect, stats, the error messages and usage errors of every
# verb, a container outliving a killed CLI, auto-remove done by the monitor,
# the runtime state on the tmpfs at ROOT/run and what a reboot (which
# empties it) leaves, and nothing left behind (cgroups, mounts, files)
# after rm.
. "$(dirname "$0")/lib.sh"

C() { "$BERTH" container "$@"; }
# state NAME — the container's State.Status.
state() { C inspect -f '{{.State.Status}}' "$1" 2>/dev/null; }
short() { C inspect -f '{{.Id}}' "$1" | cut -c1-12; }
# gone ID — passes when no trace of the container ID is left on the host.
gone() {
  local id=$1
  [ ! -e "$BERTH_ROOT/containers/$id" ] || { echo "container dir left"; return 1; }
  [ ! -e "$BERTH_ROOT/run/containers/$id" ] || { echo "state dir left"; return 1; }
  ! grep -q "$id" /proc/self/mountinfo || { echo "mount left"; return 1; }
  local d
  for d in /sys/fs/cgroup/*/berth/"$id" /sys/fs/cgroup/berth/"$id"; do
    [ ! -e "$d" ] || { echo "cgroup $d left"; return 1; }
  done
}

load_busybox || { not_ok load_busybox "image load failed"; exit 1; }

# usage_error NAME CMD… — CMD must exit 2 with berth's usage error (and no
# sanitizer report: an unknown option once made run free a bad pointer).
usage_error() {
  local n=$1 out rc; shift
  out=$("$@" 2>&1 </dev/null); rc=$?
  if [ $rc -eq 2 ] && [[ $out =~ ^berth:\ .*$'\n'"See 'berth container" ]] && ! [[ $out =~ Sanitizer ]]
  then ok "$n"; else not_ok "$n" "exit $rc: $out"; fi
}

# ---- help -------------------------------------------------------------------
expect_match help_container 'Usage: berth container COMMAND' "$(C --help)"
expect_match help_run 'Usage: berth container run \[OPTIONS\] IMAGE' "$(C run --help)"
expect_match help_via_berth_help 'Usage: berth container' "$("$BERTH" help container)"

# ---- run basics -------------------------------------------------------------
expect_eq run_rm_echo "hello" "$(C run --rm busybox echo hello)"
expect_eq run_rm_leaves_nothing "" "$(C ls -aq)"
C run --rm busybox sh -c 'exit 7'
expect_eq exit_code_propagates 7 $?
C run --rm busybox /no/such/binary >/dev/null 2>&1
expect_eq exit_code_127_not_found 127 $?
C run --rm busybox nosuchcommand >/dev/null 2>&1
expect_eq exit_code_127_not_in_path 127 $?
C run --rm busybox /etc/passwd >/dev/null 2>&1
expect_eq exit_code_126_not_executable 126 $?
expect_fail not_found_message 'exec: "nosuchcommand": executable file not found' C run --rm busybox nosuchcommand
# 126/127 come from the launcher, not from reading the message: a failing
# working directory whose name looks like an exec error is berth's 125.
C run --rm -w '/exec: "x' busybox true >/dev/null 2>&1
expect_eq exit_code_125_not_an_exec_failure 125 $?
# The first bytes are never lost: run attaches before it starts.
bad=0
for i in $(seq 50); do [ "$(C run --rm busybox echo hello 2>&1)" == hello ] || bad=$((bad + 1)); done
expect_eq run_rm_50_times_all_print_hello 0 "$bad"
expect_eq args_after_image_go_to_container "-l" "$(C run --rm busybox echo -l)"
expect_eq stderr_kept_apart "err" "$(C run --rm busybox sh -c 'echo out; echo err >&2' 2>&1 >/dev/null)"
expect_eq stdin_with_i "piped" "$(echo piped | C run --rm -i busybox cat)"
expect_eq stdin_closed_without_i "" "$(echo piped | C run --rm busybox cat)"

# ---- options ----------------------------------------------------------------
expect_eq env_set "bar" "$(C run --rm -e FOO=bar busybox sh -c 'echo $FOO')"
expect_eq env_from_caller "fromhost" "$(FROMHOST=fromhost C run --rm -e FROMHOST busybox sh -c 'echo $FROMHOST')"
expect_match env_defaults "PATH=/usr/local/sbin.*HOME=/root|HOME=/root.*PATH=/usr/local/sbin" \
  "$(C run --rm busybox env | sort | tr '\n' ' ')"
expect_eq workdir "/tmp" "$(C run --rm -w /tmp busybox pwd)"
expect_eq user_numeric "uid=1000 gid=1000" "$(C run --rm -u 1000:1000 busybox id | cut -d' ' -f1,2 | sed 's/([^)]*)//g')"
expect_match user_name "^uid=65534\(nobody\)" "$(C run --rm -u nobody busybox id)"
expect_fail user_unknown "unable to find user nosuchuser" C run --rm -u nosuchuser busybox id
expect_eq hostname_given "box" "$(C run --rm --hostname box busybox hostname)"
id=$(C run -d busybox sleep 60)
expect_eq hostname_default "${id:0:12}" "$(C exec "$id" hostname)"
C rm -f "$id" >/dev/null

vol=$T/vol; mkdir -p "$vol"
C run --rm -v "$vol:/data" busybox sh -c 'echo written > /data/f'
expect_eq volume_rw "written" "$(cat "$vol/f" 2>&1)"
expect_fail volume_ro_write_fails "Read-only file system" C run --rm -v "$vol:/data:ro" busybox sh -c 'echo x > /data/g'
expect_eq volume_ro_reads "written" "$(C run --rm -v "$vol:/data:ro" busybox cat /data/f)"
expect_fail volume_host_missing "host path /no/such/dir: No such file or directory" \
  C run --rm -v /no/such/dir:/data busybox true
expect_fail volume_host_relative "host path rel must be absolute" C run --rm -v rel:/data busybox true
expect_fail volume_ctr_relative "container path data must be absolute" C run --rm -v "$vol:data" busybox true

expect_fail read_only_root "Read-only file system" C run --rm --read-only busybox touch /x
expect_eq read_only_off_by_default "ok" "$(C run --rm busybox sh -c 'touch /x && echo ok')"

C run --name oom --memory 32m busybox sh -c 'x=aaaaaaaa; while :; do x=$x$x; done' >/dev/null 2>&1
expect_eq memory_oom_exit_137 137 $?
expect_eq memory_oom_killed "true 137" "$(C inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' oom)"
expect_eq memory_in_inspect "33554432" "$(C inspect -f '{{.HostConfig.Memory}}' oom)"
C rm oom >/dev/null

out=$(C run --rm --pids-limit 20 busybox sh -c 'for i in $(seq 100); do sleep 1 & done; wait' 2>&1)
expect_match pids_limit_stops_fork_bomb "can't fork" "$out"

C run -d --name cpu --cpus 0.5 busybox sh -c 'while :; do :; done' >/dev/null
sleep 0.5
cpu=$(C stats --no-stream cpu | awk 'NR==2 {sub("%","",$3); print int($3)}')
if [ -n "$cpu" ] && [ "$cpu" -ge 35 ] && [ "$cpu" -le 65 ]; then ok cpus_half_a_cpu
else not_ok cpus_half_a_cpu "CPU % = [$cpu], want 35–65"; fi
expect_eq cpus_in_inspect "500000000" "$(C inspect -f '{{.HostConfig.NanoCpus}}' cpu)"
expect_match stats_columns "CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +PIDS" \
  "$(C stats --no-stream cpu | head -1)"
C rm -f cpu >/dev/null

expect_match init_is_pid_1 "^ *1 .*berth-stub --init" "$(C run --rm --init busybox ps | sed -n 2p)"
expect_match no_init_cmd_is_pid_1 "^ *1 .* ps$" "$(C run --rm busybox ps | sed -n 2p)"

expect_fail memory_too_small "--memory 1m is too small: the minimum is 6m" C run --rm --memory 1m busybox true
expect_fail memory_bad "invalid size \"lots\"" C run --rm --memory lots busybox true
expect_fail cpus_zero "invalid --cpus 0: must be greater than 0" C run --rm --cpus 0 busybox true
expect_fail cpus_too_many "this machine has only" C run --rm --cpus 999 busybox true
expect_fail bad_name "invalid container name \"-x\"" C run --rm --name -x busybox true
expect_fail unknown_image "unknown image nosuchimage" C run --rm nosuchimage true
expect_fail bad_pids_limit 'invalid --pids-limit "many"' C run --rm --pids-limit many busybox true
expect_fail bad_env 'invalid environment variable "=x"' C run --rm -e =x busybox true
expect_fail run_needs_image "container run needs an image" C run
expect_fail run_unknown_option "unknown option --bogus" C run --bogus busybox true
expect_fail run_unknown_short_option "unknown option -Z" C run -dZ busybox true
expect_fail run_option_needs_value "option --name needs a value" C run --name
expect_fail run_option_short_needs_value "option -e needs a value" C run -e
expect_fail run_option_takes_no_value "option --rm takes no value" C run --rm=yes busybox true
for v in run create start ls logs exec stop kill rm prune inspect stats; do
  usage_error "unknown_option_$v" C $v --bogus x
  usage_error "unknown_short_option_$v" C $v -Z x
done
for v in run create start logs exec stop kill rm inspect; do usage_error "missing_arguments_$v" C $v; done
usage_error exec_needs_a_command C exec x
usage_error logs_takes_one_container C logs x y
usage_error ls_takes_no_arguments C ls x
usage_error prune_takes_no_arguments C prune x
expect_fail log_opt_unknown 'unknown log option "max-age" \(max-size, max-file\)' \
  C run --rm --log-opt max-age=1 busybox true
expect_fail log_opt_not_key_value 'invalid --log-opt "max-size": expected KEY=VALUE' \
  C run --rm --log-opt max-size busybox true
expect_fail log_opt_bad_size 'invalid --log-opt max-size=lots: max-size must be a size greater than 0' \
  C run --rm --log-opt max-size=lots busybox true
expect_fail log_opt_zero_files 'invalid --log-opt max-file=0: max-file must be a number of files from 1' \
  C run --rm --log-opt max-file=0 busybox true
C run --rm --log-opt max-file=x busybox true >/dev/null 2>&1
expect_eq log_opt_error_exit_125 125 $?
expect_fail unknown_verb 'unknown command "container frobnicate"' C frobnicate
expect_fail bad_signal 'invalid signal|unknown signal' C kill -s NOPE x
expect_fail bad_stop_time 'invalid --time "soon"' C stop -t soon x
expect_fail bad_tail 'invalid --tail "x"' C logs --tail x x
expect_fail exec_needs_command "exec needs a container and a command" C exec x
C run --rm nosuchimage true >/dev/null 2>&1
expect_eq berth_error_exit_125 125 $?

# ---- detached containers, exec, logs ---------------------------------------------
C run -d --name web busybox sh -c 'echo one; echo two; echo three >&2; trap "exit 0" TERM; while :; do sleep 0.1; done' >/dev/null
wait_for 5 sh -c "$BERTH container logs web 2>&1 | grep -q three"
expect_eq logs_all "one three two" "$(C logs web 2>&1 | sort | tr '\n' ' ' | sed 's/ $//')"
expect_eq logs_stdout_only "one two" "$(C logs web 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
expect_eq logs_tail "three" "$(C logs --tail 1 web 2>&1)"
expect_match logs_timestamps "^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z one" "$(C logs -t web 2>/dev/null | head -1)"
expect_eq exec_plain "hello" "$(C exec web echo hello)"
C exec web sh -c 'exit 3'
expect_eq exec_exit_code 3 $?
expect_match exec_tty "^/dev/pts/[0-9]+" "$(C exec -t web tty | tr -d '\r')"
expect_eq exec_no_tty "not a tty" "$(C exec web tty)"
expect_eq exec_stdin "piped" "$(echo piped | C exec -i web cat)"
expect_eq exec_env_workdir "v /tmp" "$(C exec -e K=v -w /tmp web sh -c 'echo $K $(pwd)')"
expect_eq exec_user "1000" "$(C exec -u 1000 web id -u)"
if command -v script >/dev/null; then
  # the pty starts with the caller's size (process.consoleSize), before any resize
  got=$(timeout 20 script -qec "stty rows 31 cols 97; '$BERTH' container exec -t web stty size" /dev/null </dev/null)
  expect_eq exec_t_starts_with_the_callers_size "31 97" "$(echo "$got" | tr -d '\r')"
  # script sends ^D when its own input ends; a terminal switched to raw mode
  # with that end of input pending used to give the container a NUL byte,
  # echoed back as "^@".
  for how in "exec -it web" "run --rm -it busybox"; do
    out=$(timeout 20 script -qec "'$BERTH' container $how sh -c 'sleep 0.2; tty'" /dev/null </dev/null |
      od -An -c -v | tr -s ' \n' ' ')
    if [[ $out == *'/ d e v / p t s /'* ]] && [[ $out != *'\0'* ]] && [[ $out != *'^ @'* ]]; then
      ok "${how%% *}_it_under_script_no_nul"
    else
      not_ok "${how%% *}_it_under_script_no_nul" "output: $out"
    fi
  done
fi
expect_match ls_running "web" "$(C ls)"
expect_match ls_status_up "Up " "$(C ls | grep web)"
expect_match ls_quiet "^[0-9a-f]{12}$" "$(C ls -q)"
expect_match ls_no_trunc "^[0-9a-f]{64}$" "$(C ls -q --no-trunc)"
expect_match inspect_json '"Running": true' "$(C inspect web)"
expect_eq lookup_by_prefix "web" "$(C inspect -f '{{.Name}}' "$(short web | cut -c1-5)")"
expect_fail name_in_use "container name web is already in use by $(short web)" C run -d --name web busybox true
expect_fail rm_running_refused "container web is running: stop it first or use rm -f" C rm web
C exec web sh -c 'echo kept > /kept'
start=$SECONDS
C stop web >/dev/null
expect_eq stop_in_grace_period "exited 0" "$(state web) $(C inspect -f '{{.State.ExitCode}}' web)"
[ $((SECONDS - start)) -le 3 ] && ok stop_fast || not_ok stop_fast "took $((SECONDS - start)) s"
expect_match ls_a_exited "Exited \(0\)" "$(C ls -a | grep web)"
expect_eq ls_hides_stopped "" "$(C ls -q)"
expect_fail exec_not_running "container web is not running" C exec web true
expect_fail kill_not_running "container web is not running" C kill web
expect_fail start_running_refused "container running1 cannot be started: it is running" \
  sh -c "$BERTH container run -d --name running1 busybox sleep 30 >/dev/null && $BERTH container start running1"
C rm -f running1 >/dev/null
# docker start: an exited container runs again, with its writable layer and
# its log going on.
expect_eq start_exited_again "web" "$(C start web)"
expect_eq start_exited_runs "running" "$(state web)"
expect_eq start_exited_keeps_its_layer "kept" "$(C exec web cat /kept)"
wait_for 5 sh -c "[ \$($BERTH container logs web 2>/dev/null | grep -c one) -eq 2 ]"
expect_eq start_exited_log_goes_on "one two one two" "$(C logs web 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
C stop web >/dev/null
expect_eq start_exited_then_stopped "exited 0" "$(state web) $(C inspect -f '{{.State.ExitCode}}' web)"

C run -d --name stubborn busybox sh -c "trap '' TERM; while :; do sleep 0.1; done" >/dev/null
start=$(date +%s%N)
C stop -t 1 stubborn >/dev/null
ms=$((($(date +%s%N) - start) / 1000000))
if [ $ms -ge 900 ] && [ $ms -le 5000 ]; then ok stop_kills_after_timeout; else not_ok stop_kills_after_timeout "took $ms ms"; fi
expect_eq stop_sigkill_137 "137" "$(C inspect -f '{{.State.ExitCode}}' stubborn)"

C run -d --name k busybox sleep 300 >/dev/null
C kill k >/dev/null
wait_for 5 sh -c "[ \"\$($BERTH container inspect -f '{{.State.Status}}' k)\" = exited ]"
expect_eq kill_default_sigkill "exited 137" "$(state k) $(C inspect -f '{{.State.ExitCode}}' k)"
C run -d --init --name kt busybox sleep 300 >/dev/null
C kill -s TERM kt >/dev/null
wait_for 5 sh -c "[ \"\$($BERTH container inspect -f '{{.State.Status}}' kt)\" = exited ]"
expect_eq kill_signal_term "143" "$(C inspect -f '{{.State.ExitCode}}' kt)"

C run -d --name running busybox sleep 300 >/dev/null
stopped=$(for n in web stubborn k kt; do C inspect -f '{{.Id}}' $n; done | sort)
pruned=$(C prune)
expect_eq prune_prints_removed "$stopped" "$(echo "$pruned" | grep -E '^[0-9a-f]{64}$' | sort)"
expect_eq prune_keeps_running "running" "$(C ls -a | awk 'NR>1 {print $NF}')"
expect_fail no_such_container "no such container: web" C inspect web

# rm -f of a running container, and nothing is left behind.
rid=$(C inspect -f '{{.Id}}' running)
[ -d "/sys/fs/cgroup/pids/berth/$rid" ] || [ -d "/sys/fs/cgroup/berth/$rid" ] ||
  [ -d "/sys/fs/cgroup/unified/berth/$rid" ] && ok cgroup_exists_while_running ||
  not_ok cgroup_exists_while_running "no cgroup dir for $rid"
expect_eq rm_force "running" "$(C rm -f running)"
check rm_leaves_nothing gone "$rid"
sid=$(C run -d busybox true)
C stop "$sid" >/dev/null; C rm "$sid" >/dev/null
check rm_stopped_leaves_nothing gone "$sid"

# prune also takes containers that were created and never started
never=$(C create --name never busybox true)
expect_eq created_never_started "created" "$(state never)"
expect_match prune_removes_created "$never" "$(C prune)"
check prune_created_leaves_nothing gone "$never"

# --log-opt is recorded and shown as docker's HostConfig.LogConfig
lid=$(C create --log-opt max-size=1m --log-opt max-file=3 busybox true)
expect_eq log_opt_in_inspect '{"Type":"k8s-file","Config":{"max-size":"1m","max-file":"3"}}' \
  "$(C inspect -f '{{.HostConfig.LogConfig}}' "$lid")"
expect_match log_opt_in_meta '"log_opts":\["max-size=1m","max-file=3"\]' \
  "$(cat "$BERTH_ROOT/containers/$lid/meta.json")"
expect_eq log_opt_default_in_inspect '{"Type":"k8s-file","Config":{}}' \
  "$(C inspect -f '{{.HostConfig.LogConfig}}' "$(C create busybox true)")"
C prune >/dev/null

expect_fail no_such_stop "no such container: nosuch" C stop nosuch
expect_fail no_such_rm "no such container: nosuch" C rm nosuch
expect_fail no_such_logs "no such container: nosuch" C logs nosuch

# ---- detached --rm: removed once it exits ----------------------------------------
# The monitor removes it: no process of berth's waits for it.
drm=$(C run -d --rm busybox sleep 0.5)
expect_eq detached_rm_no_reaper_process "" "$(pgrep -x berth-autorm)"
wait_for 10 sh -c "[ ! -e $BERTH_ROOT/containers/$drm ]"
check detached_rm_removed gone "$drm"
# … and a foreground run --rm whose CLI was killed is removed all the same.
# (berth itself in the background, not the function C: $! must be berth)
"$BERTH" container run --rm --name fgrm busybox sleep 1 >/dev/null 2>&1 &
cli=$!
wait_for 10 sh -c "[ \"\$($BERTH container inspect -f '{{.State.Status}}' fgrm 2>/dev/null)\" = running ]"
fgrm=$(C inspect -f '{{.Id}}' fgrm)
kill -9 $cli; wait $cli 2>/dev/null
wait_for 10 sh -c "[ ! -e $BERTH_ROOT/containers/$fgrm ]"
check foreground_rm_cli_killed_removed gone "$fgrm"

# ---- a container outlives a killed foreground CLI ---------------------------------
"$BERTH" container run --name fg busybox sleep 300 >/dev/null 2>&1 &
cli=$!
wait_for 10 sh -c "[ \"\$($BERTH container inspect -f '{{.State.Status}}' fg 2>/dev/null)\" = running ]"
kill -9 $cli; wait $cli 2>/dev/null
sleep 0.3
expect_eq survives_cli_kill "running" "$(state fg)"
expect_match survives_cli_kill_ls "Up .* fg" "$(C ls | grep fg)"
C stop -t 1 fg >/dev/null
expect_eq stop_after_cli_kill "exited" "$(state fg)"
fid=$(C inspect -f '{{.Id}}' fg)
C rm fg >/dev/null
check fg_rm_leaves_nothing gone "$fid"

# ---- the runtime state on a tmpfs, and a reboot -------------------------------------
# ROOT/run is a tmpfs holding the runtime state (state.json, exec.fifo,
# exit.json, attach.sock, the rootfs mount point); ROOT/containers/ID what
# outlives a reboot.
rbr=$(C run -d --name rb-run busybox sh -c 'echo before; sleep 300')
C run --name rb-exited busybox sh -c 'echo exited-before; exit 3' >/dev/null
rbc=$(C create --name rb-created busybox echo created-ran)
rbe=$(C inspect -f '{{.Id}}' rb-exited)
expect_eq run_is_a_tmpfs "tmpfs 700" "$(findmnt -n -o FSTYPE "$BERTH_ROOT/run") $(stat -c %a "$BERTH_ROOT/run")"
expect_eq state_on_the_tmpfs "attach.sock rootfs state.json" "$(ls "$BERTH_ROOT/run/containers/$rbr" | xargs)"
expect_eq state_of_created_on_the_tmpfs "attach.sock exec.fifo rootfs state.json" \
  "$(ls "$BERTH_ROOT/run/containers/$rbc" | xargs)"
expect_eq exit_record_on_the_tmpfs "exit.json rootfs state.json" "$(ls "$BERTH_ROOT/run/containers/$rbe" | xargs)"
expect_eq no_state_beside_the_data "config.json ctr.log meta.json upper work" \
  "$(ls "$BERTH_ROOT/containers/$rbr" | xargs)"
# A reboot: every container's and monitor's process ends, ROOT/run empties.
st_field() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$BERTH_ROOT/run/containers/$1/state.json"; }
pids="$(st_field "$rbr" pid) $(st_field "$rbr" monitorPid) $(st_field "$rbc" pid) $(st_field "$rbc" monitorPid)"
kill -9 $pids
all_dead() { local p; for p in "$@"; do ! kill -0 "$p" 2>/dev/null || return 1; done; }
wait_for 5 all_dead $pids
check reboot_unmount umount "$BERTH_ROOT/run"
ls_a=$(C ls -a)
expect_match reboot_running_one_exited 'Exited \(255\) +rb-run$' "$(grep rb-run <<<"$ls_a")"
expect_match reboot_exited_one_exited 'Exited \(255\) +rb-exited$' "$(grep rb-exited <<<"$ls_a")"
expect_match reboot_created_one_created 'Created +rb-created$' "$(grep rb-created <<<"$ls_a")"
expect_eq reboot_inspect "exited 255" "$(state rb-run) $(C inspect -f '{{.State.ExitCode}}' rb-run)"
expect_eq reboot_tmpfs_mounted_again "1 tmpfs" \
  "$(findmnt -n "$BERTH_ROOT/run" | wc -l) $(findmnt -n -o FSTYPE "$BERTH_ROOT/run")"
expect_eq reboot_start_runs_again "running" "$(C start rb-run >/dev/null; state rb-run)"
wait_for 5 sh -c "[ \$($BERTH container logs rb-run 2>/dev/null | grep -c before) -eq 2 ]"
expect_eq reboot_log_kept "before before" "$(C logs rb-run 2>/dev/null | xargs)"
C start rb-exited >/dev/null
wait_for 5 sh -c "[ \"\$($BERTH container inspect -f '{{.State.Status}}' rb-exited)\" = exited ]"
expect_eq reboot_exited_starts_again "exited 3 exited-before exited-before" \
  "$(state rb-exited) $(C inspect -f '{{.State.ExitCode}}' rb-exited) $(C logs rb-exited | xargs)"
C start rb-created >/dev/null
wait_for 5 sh -c "[ \"\$($BERTH container inspect -f '{{.State.Status}}' rb-created)\" = exited ]"
expect_eq reboot_created_starts "exited 0 created-ran" \
  "$(state rb-created) $(C inspect -f '{{.State.ExitCode}}' rb-created) $(C logs rb-created)"
C rm -f rb-run rb-exited rb-created >/dev/null
for id in $rbr $rbe $rbc; do check "reboot_rm_leaves_nothing_${id:0:6}" gone "$id"; done
expect_eq rm_leaves_run_empty "" "$(ls "$BERTH_ROOT/run/containers")"
# A root opened by several processes at once gets one tmpfs.
fresh=$T/fresh
for i in 1 2 3 4; do BERTH_ROOT=$fresh "$BERTH" container ls >/dev/null & done
wait
expect_eq concurrent_opens_one_tmpfs "1" "$(findmnt -n "$fresh/run" | wc -l)"
umount "$fresh/run"

# ---- names are unique under concurrency -------------------------------------------
for i in 1 2 3 4; do C run -d --name race busybox sleep 30 >/dev/null 2>&1 & done
wait
expect_eq name_race_one_winner "1" "$(C ls -a | awk '$NF == "race"' | wc -l)"
C rm -f race >/dev/null
expect_eq all_clean "" "$(C ls -aq)"
