#!/usr/bin/env bash
# pods.sh — pod startup on one node: 100 pods created at once (16 clients)
# running `sleep 3600` from the local busybox image, each followed on a
# watch from its create request to the event where status.phase is Running;
# the agent's memory with the 100 pods. Load generator: bench/pods.c
# (build/bench-pods, built here); table: bench/report.py.
#
# Two setups, PASSES runs each, every run with fresh data dirs; then, in each
# setup, SEQ pods (20) created one at a time, each once the previous one runs
# (the latency of one pod on an idle node, without the queue of 100):
#   agent       `berth server` and a separate `berth agent` (its own bridge
#               and pod CIDR), so that the agent's memory is the agent's;
#   with-agent  `berth server --with-agent`, the single-node mode (the
#               machine's default pod bridge and CIDR); one process.
# The engine root is private ($BERTH_ROOT under the bench's temp dir). After
# each run: the pods deleted (grace 0), the processes stopped, leftover
# containers removed, and the bridges this script created deleted.
#
# No peer: Debian has no kubelet, k3s or other Kubernetes node package. The
# container part alone is compared with crun by bench/start.sh.
#
#   bash bench/pods.sh                     # from the repo, after make build/berth images
#   PASSES=1 MODES=agent N=20 bash bench/pods.sh
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/api_lib.sh"
N=${N:-100}
CLIENTS=${CLIENTS:-16}
PASSES=${PASSES:-2}
SEQ=${SEQ:-20}
MODES=${MODES:-"agent with-agent"}
TIMEOUT=${TIMEOUT:-120}
BRIDGE=${BRIDGE:-berthbench0}
CIDR=${CIDR:-10.234.0.0/16}
export BERTH_ROOT=$W/root

bridges() { ip -o link show type bridge 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1; }
BRIDGES_BEFORE=$(bridges)

# Containers left in the private root, and the bridges that were not there before.
pods_cleanup() {
  local ids b
  ids=$("$BERTH" container ls -aq 2>/dev/null || true)
  # shellcheck disable=SC2086
  [ -z "$ids" ] || "$BERTH" container rm -f $ids >/dev/null 2>&1 || true
  for b in $(bridges); do
    grep -qx "$b" <<<"$BRIDGES_BEFORE" || ip link del "$b" 2>/dev/null || true
  done
  # what an agent that was stopped with pods still there leaves mounted
  findmnt -rn -o TARGET | grep "^$W/" | sort -r | xargs -r umount -l 2>/dev/null || true
}
trap 'stop_all; pods_cleanup; bench_cleanup' EXIT

build_loadgen pods
"$BERTH" image load -i "$TOP/build/images/busybox.tar" >/dev/null

# run_pods MODE NAME [ARGS…] — one run; results in $W/NAME.json, .mem.json, .err.
run_pods() {
  local mode=$1 name=$2 port aport data=$W/$2-server adata=$W/$2-agent spid apid=
  shift 2
  port=$(free_port)
  aport=$(free_port)
  if [ "$mode" = agent ]; then
    start_berth_server "$data" "$port" 2>"$W/$name.err" || return 1
    spid=$BG_PID
    bg "$adata.log" "$BERTH" agent --server "https://127.0.0.1:$port" --token-file "$data/node-token" \
      --data-dir "$adata" --listen "127.0.0.1:$aport" --node-name bench-node \
      --bridge "$BRIDGE" --pod-cidr "$CIDR"
    apid=$BG_PID
  else
    start_berth_server "$data" "$port" --with-agent --agent-data-dir "$adata" \
      --agent-listen "127.0.0.1:$aport" --node-name bench-node 2>"$W/$name.err" || return 1
    spid=$BG_PID
  fi
  local rc=0
  "$BENCH_BIN/bench-pods" startup "https://127.0.0.1:$port" "$data" -t "$TIMEOUT" -p "${apid:-$spid}" "$@" \
    >"$W/$name.json" 2>"$W/$name.err" || rc=$?
  [ -s "$W/$name.json" ] || rm -f "$W/$name.json"
  {
    echo "{"
    if [ -n "$apid" ]; then
      mem_json agent "$apid"
      echo ","
      mem_json server "$spid"
    else
      mem_json one_process "$spid"
    fi
    local del
    del=$("$BENCH_BIN/bench-pods" delete "https://127.0.0.1:$port" "$data" -t 60 2>>"$W/$name.err" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["gone_ms"])' 2>/dev/null || echo null)
    echo ", \"deleted_ms\": $del}"
  } >"$W/$name.mem.json"
  if [ "$rc" != 0 ]; then
    {
      echo "bench-api exit $rc"
      [ -n "$apid" ] && { echo "agent log:"; tail -15 "$adata.log"; }
      echo "server log:"
      tail -15 "$data.log"
    } >>"$W/$name.err"
  fi
  [ -n "$apid" ] && stop_pid "$apid"
  stop_pid "$spid"
  pods_cleanup
}

runs=()
for pass in $(seq "$PASSES"); do
  for mode in $MODES; do
    run_pods "$mode" "$mode-$pass" -n "$N" -c "$CLIENTS" || true
    runs+=("$mode-$pass")
  done
done
if [ "$SEQ" -gt 0 ]; then
  for mode in $MODES; do
    run_pods "$mode" "$mode-one-at-a-time" -n "$SEQ" -1 || true
    runs+=("$mode-one-at-a-time")
  done
fi
# The peer for the container part: crun starting one detached `sleep 3600`
# from the same image's files, where crun works here (see start.sh).
if command -v crun >/dev/null && command -v hyperfine >/dev/null; then
  make_bundle "$W/cbundle" '["/bin/sleep", "3600"]' "crun spec"
  cat >"$W/crun.sh" <<IN
set -e
mount --make-rprivate /
mount -t tmpfs none /sys/fs/cgroup/unified
hyperfine --style none --warmup 3 --runs 30 --export-json "$W/crun.json" \
  --prepare "crun --root $W/rc delete -f bench-c >/dev/null 2>&1; true" \
  "crun --root $W/rc run -d --bundle $W/cbundle bench-c" >/dev/null
crun --root $W/rc delete -f bench-c >/dev/null 2>&1 || true
IN
  unshare -m bash "$W/crun.sh" || echo "pods.sh: the crun comparison failed" >&2
fi

mkdir -p "$OUT/pods-raw"
cp "$W"/*.json "$W"/*.err "$OUT/pods-raw/" 2>/dev/null || true
python3 "$TOP/bench/report.py" pods "$W" "${runs[@]}" | tee "$OUT/pods.md"
