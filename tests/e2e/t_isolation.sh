#!/usr/bin/env bash
# t_isolation.sh — what a container started by `berth runtime run` can and
# cannot see or do: namespaces, mounts, capabilities, seccomp, read-only
# and masked paths, no_new_privs, user, rlimits, volumes, cgroups, the init,
# and that berth's own binary is out of reach (CVE-2019-5736). Each case
# that checks a restriction also shows the contrast where one is cheap, so
# that a check that cannot fail does not pass for one.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bundle.sh"

echo "t_isolation: what a container can see and do"
R=("$BERTH" runtime --root "$RT")
check "bundle" make_bundle "$B"
INIT="c['annotations']={'berth.init':'true'}"
NOSECCOMP="del c['linux']['seccomp']"

# ---- namespaces ------------------------------------------------------------------------
expect_eq "pid 1 inside" "1" "$(brun pass sh -c 'echo $$' 2>&1)"
expect_eq "ps shows only the container's processes" "1 sh|2 ps|" \
  "$(brun pass sh -c 'ps -o pid,comm >/tmp/ps; tail -n +2 /tmp/ps' 2>&1 | awk '{printf "%s %s|", $1, $2}')"
expect_eq "own hostname" "iso-host" "$(brun "c['hostname']='iso-host'" hostname 2>&1)"
expect_eq "… and the host keeps its own" "$(hostname)" "$(hostname)"
expect_eq "a fresh network namespace has only lo (ip link)" "lo" \
  "$(brun pass sh -c "ip -o link | awk -F': ' '{print \$2}'" 2>&1)"
expect_eq "… and /proc/net/dev" "lo" \
  "$(brun pass sh -c "tail -n +3 /proc/net/dev | awk -F: '{gsub(/ /,\"\",\$1); print \$1}'" 2>&1)"
host_links=$(ip -o link | wc -l)
expect_eq "without a network namespace: the host's links" "$host_links" \
  "$(brun "c['linux']['namespaces']=[n for n in c['linux']['namespaces'] if n['type']!='network']" \
    sh -c 'ip -o link | wc -l' 2>&1)"
expect_match "own ipc namespace" '^ipc:\[[0-9]+\]$' "$(brun pass readlink /proc/self/ns/ipc 2>&1)"
[ "$(brun pass readlink /proc/self/ns/ipc 2>&1)" != "$(readlink /proc/self/ns/ipc)" ] &&
  ok "… not the host's" || not_ok "… not the host's" "same ipc namespace"
expect_eq "cgroup namespace: the container's cgroup is its root" "0::/" \
  "$(brun pass sh -c 'grep "^0::" /proc/self/cgroup' 2>&1)"

# pods: a second container joins the first one's namespaces by path
d=$(cfg_bundle '["sleep","1000"]' "c['hostname']='pod-a'")
"${R[@]}" run --detach --bundle "$d" poda </dev/null >/dev/null 2>&1
pa=$("${R[@]}" state poda | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
JOIN="del c['hostname']; c['linux']['namespaces']=[n if n['type'] in ('mount','cgroup') else
  {'type':n['type'],'path':'/proc/$pa/ns/'+{'network':'net'}.get(n['type'],n['type'])} for n in c['linux']['namespaces']]"
expect_eq "joined namespaces: uts, net and pid of another container" \
  "pod-a $(readlink /proc/$pa/ns/net) sleep" \
  "$(brun "$JOIN" sh -c 'echo $(hostname) $(readlink /proc/self/ns/net) $(cat /proc/1/comm)' 2>&1)"
"${R[@]}" delete --force poda >/dev/null 2>&1
expect_fail "joining a namespace that is not there" 'join network namespace /proc/999999999/ns/net' \
  brun "c['linux']['namespaces'][1]['path']='/proc/999999999/ns/net'" true

mounts=$(brun pass cat /proc/mounts 2>&1)
if echo "$mounts" | grep -qE " ($TOP|/work|/tmp/berth-e2e|/boot|/home)[ /]"; then
  not_ok "host mounts are invisible" "$mounts"
else
  ok "host mounts are invisible"
fi
expect_match "… /proc/mounts starts at the root filesystem" '^[^ ]+ / ' "$mounts"
expect_eq "minimal /dev" "core fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero" \
  "$(brun pass sh -c 'ls /dev | tr "\n" " " | sed "s/ $//"' 2>&1)"
expect_eq "/dev/null works" "" "$(brun pass sh -c 'echo x >/dev/null; cat /dev/null' 2>&1)"

# ---- capabilities and seccomp ------------------------------------------------------------
expect_fail "no CAP_NET_ADMIN: ip link add fails" 'Operation not permitted' \
  brun pass ip link add x0 type dummy
expect_fail "no CAP_NET_ADMIN: ip link set lo up fails" 'Operation not permitted' \
  brun pass ip link set lo up
expect_eq "… with CAP_NET_ADMIN it works (in the container's netns)" "ok" \
  "$(brun "[c['process']['capabilities'][k].append('CAP_NET_ADMIN') for k in ('bounding','effective','permitted')]" \
    sh -c 'ip link set lo up && echo ok' 2>&1)"
expect_match "the default capability set" '^CapEff:	00000000a80425fb$' \
  "$(brun pass grep CapEff /proc/self/status 2>&1)"
expect_fail "seccomp: unshare -U is denied" 'unshare.*Operation not permitted' \
  brun pass unshare -U true
expect_eq "… allowed without the profile" "ok" "$(brun "$NOSECCOMP" sh -c 'unshare -U true && echo ok' 2>&1)"
SYSADMIN="[c['process']['capabilities'][k].append('CAP_SYS_ADMIN') for k in ('bounding','effective','permitted')]"
expect_fail "seccomp: mount is denied even with CAP_SYS_ADMIN" 'Operation not permitted|permission denied' \
  brun "$SYSADMIN" mount -t tmpfs none /tmp
expect_eq "… allowed with CAP_SYS_ADMIN and no profile" "ok" \
  "$(brun "$SYSADMIN; $NOSECCOMP" sh -c 'mount -t tmpfs none /tmp && echo ok' 2>&1)"
expect_eq "seccomp mode 2 with one filter" "2 1" \
  "$(brun pass sh -c 'echo $(awk "/^Seccomp:/ {print \$2} /^Seccomp_filters:/ {print \$2}" /proc/self/status)' 2>&1)"
expect_eq "no_new_privs" "NoNewPrivs:	1" "$(brun pass grep NoNewPrivs /proc/self/status 2>&1)"
expect_eq "… off when the config says so" "NoNewPrivs:	0" \
  "$(brun "c['process']['noNewPrivileges']=False" grep NoNewPrivs /proc/self/status 2>&1)"

# ---- read-only and masked -----------------------------------------------------------------
expect_fail "root.readonly: touch /x fails" 'Read-only file system' \
  brun "c['root']['readonly']=True" touch /x
expect_eq "… a writable root otherwise" "ok" "$(brun pass sh -c 'touch /x && rm /x && echo ok' 2>&1)"
expect_eq "… /dev/shm stays writable" "ok" \
  "$(brun "c['root']['readonly']=True" sh -c 'touch /dev/shm/x && echo ok' 2>&1)"
expect_fail "/sys is read-only" 'Read-only file system' brun pass touch /sys/kernel/x
expect_fail "/proc/sys is read-only" 'Read-only file system' \
  brun pass sh -c 'echo 1 >/proc/sys/kernel/domainname'
expect_fail "/sys/fs/cgroup is read-only" 'Read-only file system' brun pass mkdir /sys/fs/cgroup/memory/x
for p in /proc/kcore /proc/timer_list /proc/keys; do
  [ -e "$p" ] || continue
  expect_eq "masked: $p reads empty" "0" "$(brun pass sh -c "cat $p | wc -c" 2>&1)"
done
[ "$(head -c 1 /proc/timer_list | wc -c)" = 1 ] && ok "… while the host's /proc/timer_list has content" ||
  not_ok "… while the host's /proc/timer_list has content" "empty on the host"
expect_eq "… unmasked when the config lists nothing" "yes" \
  "$(brun "c['linux']['maskedPaths']=[]" sh -c 'head -c 1 /proc/timer_list | wc -c | sed "s/1/yes/;s/0/no/"' 2>&1)"
expect_eq "masked: /sys/firmware is an empty directory" "" "$(brun pass ls /sys/firmware 2>&1)"

# ---- user, rlimits, umask, cwd, env ----------------------------------------------------------
expect_eq "process.user: uid 1000" "1000 1000 1000 10 20" \
  "$(brun "c['process']['user']={'uid':1000,'gid':1000,'additionalGids':[10,20]}" \
    sh -c 'echo $(id -u) $(id -g) $(id -G)' 2>&1)"
expect_eq "… with no capabilities left" "CapEff:	0000000000000000" \
  "$(brun "c['process']['user']={'uid':1000,'gid':1000}" grep CapEff /proc/self/status 2>&1)"
expect_fail "… and no root powers" 'Permission denied' \
  brun "c['process']['user']={'uid':1000,'gid':1000}" touch /etc/x
expect_eq "rlimits applied" "1234 1234 77" \
  "$(brun "c['process']['rlimits']=[{'type':'RLIMIT_NOFILE','soft':1234,'hard':1234},{'type':'RLIMIT_NPROC','soft':77,'hard':77}]" \
    sh -c 'echo $(ulimit -n) $(ulimit -Hn) $(ulimit -u)' 2>&1)"
expect_eq "umask and cwd" "0027 /tmp" \
  "$(brun "c['process']['user']['umask']=0o27; c['process']['cwd']='/tmp'" sh -c 'echo $(umask) $(pwd)' 2>&1)"
expect_eq "env as given, HOME from /etc/passwd" "x=1 /root" \
  "$(brun "c['process']['env']=['PATH=/bin','x=1']" sh -c 'echo x=$x $HOME' 2>&1)"

expect_eq "oomScoreAdj" "500" "$(brun "c['process']['oomScoreAdj']=500" cat /proc/self/oom_score_adj 2>&1)"
expect_eq "linux.sysctl (a namespaced one)" "1" \
  "$(brun "c['linux']['sysctl']={'net.ipv4.ip_forward':'1'}" cat /proc/sys/net/ipv4/ip_forward 2>&1)"
expect_eq "… while the host keeps its own" "$(cat /proc/sys/net/ipv4/ip_forward)" "$(cat /proc/sys/net/ipv4/ip_forward)"
expect_eq "linux.devices: a device node" "c 1 3 ok" \
  "$(brun "c['linux']['devices']=[{'path':'/dev/mynull','type':'c','major':1,'minor':3,'fileMode':0o666}]" \
    sh -c 'echo $(stat -c "%F" /dev/mynull | cut -c1) $(stat -c "%t %T" /dev/mynull) $(echo x >/dev/mynull && echo ok)' 2>&1)"

# ---- volumes ------------------------------------------------------------------------------
mkdir -p "$T/vol" && echo from-host >"$T/vol/in"
VOLS="c['mounts']+=[{'destination':'/data','type':'bind','source':'$T/vol','options':['rbind','rw']},
  {'destination':'/ro','type':'bind','source':'$T/vol','options':['rbind','ro']},
  {'destination':'/etc/hostfile','type':'bind','source':'$T/vol/in','options':['bind','ro']}]"
expect_eq "bind volume: read the host's file" "from-host" "$(brun "$VOLS" cat /data/in 2>&1)"
brun "$VOLS" sh -c 'echo from-ctr >/data/out' >/dev/null 2>&1
expect_eq "bind volume rw: the host sees the write" "from-ctr" "$(cat "$T/vol/out" 2>&1)"
expect_fail "bind volume ro: writes fail" 'Read-only file system' brun "$VOLS" sh -c 'echo x >/ro/x'
expect_eq "a file bind-mounted" "from-host" "$(brun "$VOLS" cat /etc/hostfile 2>&1)"
expect_fail "a missing volume source" 'mount volume /data: /nonexistent: No such file or directory' \
  brun "c['mounts'].append({'destination':'/data','type':'bind','source':'/nonexistent','options':['rbind']})" true
# a symlink planted in the image must not point a mount at the host
ln -sfn /../../../../etc "$B/rootfs/escape"
brun "c['mounts'].append({'destination':'/escape/berth-escape-test','type':'tmpfs','source':'tmpfs'})" true >/dev/null 2>&1
expect_eq "a mount through a symlink stays inside the root" "no" \
  "$([ -d /etc/berth-escape-test ] && echo yes || echo no)"
rm -f "$B/rootfs/escape"
rmdir "$B/rootfs/etc/berth-escape-test" 2>/dev/null

# ---- cgroups ---------------------------------------------------------------------------------
expect_eq "memory and pids limits in the container's cgroup" "67108864 50" \
  "$(brun "c['linux']['resources']={'memory':{'limit':64<<20},'pids':{'limit':50}}" \
    sh -c 'echo $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max) $(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)' 2>&1)"

# ---- the init ---------------------------------------------------------------------------------
expect_eq "--init: the command is pid 2" "2" "$(brun "$INIT" sh -c 'echo $$' 2>&1)"
expect_match "--init: pid 1 is the stub" '^berth-stub --init /bin/sh sh' \
  "$(brun "$INIT" sh -c 'tr "\0" " " </proc/1/cmdline' 2>&1)"
expect_eq "--init forwards signals to the command" "got TERM" \
  "$(brun "$INIT" sh -c 'trap "echo got TERM; exit 0" TERM; kill -TERM 1; sleep 5; echo not forwarded' 2>&1)"
# zombies: an orphan re-parented to pid 1 is reaped by the stub, not by a
# command that does not reap (sleep)
ORPHAN='(sleep 0.2 &); exec sleep 1000'
declare -A z
zombies() { timeout 20 "${R[@]}" exec "$1" sh -c "ps -o stat | grep -c '^Z'" 2>&1; }
for mode in init plain; do
  expr=pass
  [ $mode = init ] && expr=$INIT
  d=$(cfg_bundle "$(args_json sh -c "$ORPHAN")" "$expr")
  "${R[@]}" run --detach --bundle "$d" "z$mode" </dev/null >/dev/null 2>&1
  sleep 0.8
  z[$mode]=$(zombies "z$mode")
  "${R[@]}" delete --force "z$mode" >/dev/null 2>&1
done
expect_eq "--init reaps zombies" "0" "${z[init]}"
expect_eq "… while a plain pid 1 that does not reap leaves one" "1" "${z[plain]}"

# ---- CVE-2019-5736: berth's binary is out of reach -----------------------------------------
expect_match "pid 1 runs from a sealed memfd, not the berth binary" 'memfd:berth-stub' \
  "$(brun "$INIT" readlink /proc/1/exe 2>&1)"
expect_eq "the command's exe is its own" "/bin/busybox" "$(brun pass readlink /proc/self/exe 2>&1)"
d=$(cfg_bundle '["sleep","1000"]' pass)
"${R[@]}" run --detach --bundle "$d" cve </dev/null >/dev/null 2>&1
exes=$(timeout 20 "${R[@]}" exec cve sh -c 'for p in /proc/[0-9]*; do readlink $p/exe; done' 2>&1)
"${R[@]}" delete --force cve >/dev/null 2>&1
if echo "$exes" | grep -q berth; then not_ok "no process in the container runs berth" "$exes"
else ok "no process in the container runs berth"; fi
