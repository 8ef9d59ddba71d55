#!/usr/bin/env bash
# sched.sh — scheduling at cluster scale, through the API: a fresh `berth
# server`, NODES hollow nodes (bench/hollow.c, build/bench-hollow: one process
# registering the nodes, renewing their leases and reporting every pod bound
# to them Running, without containers), then PODS small pods (cpu 10m, memory
# 16Mi: they all fit) created from CLIENTS clients and followed on a watch
# (bench/sched.c, build/bench-sched): pods bound per second over the whole
# run and in the steady state, create → bound and → Running per pod, the
# scheduler's decision time from its histogram in GET /metrics ("n/a" when
# the server has none), the server's memory with the nodes and with every
# pod, and the CPU the server and the hollow nodes used. Table: bench/report.py.
#
# WORKLOAD=deployments creates PODS / REPLICAS Deployments of REPLICAS pods
# instead, when the server serves apps/v1 deployments (bench-sched checks its
# discovery and stops with a message when it does not).
#
# No peer: Debian ships no kube-scheduler (nor kube-apiserver); kube-scheduler's
# published figures are quoted in docs/benchmarks.md as context only.
#
#   bash bench/sched.sh                               # 5,000 nodes, 100,000 pods
#   NODES=500 PODS=10000 bash bench/sched.sh          # quicker
#   WORKLOAD=deployments REPLICAS=100 bash bench/sched.sh
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/api_lib.sh"
NODES=${NODES:-5000}
PODS=${PODS:-100000}
CLIENTS=${CLIENTS:-16}
WORKLOAD=${WORKLOAD:-pods}
REPLICAS=${REPLICAS:-100}
CONNS=${CONNS:-8}
TIMEOUT=${TIMEOUT:-900}
trap 'stop_all; bench_cleanup' EXIT
build_loadgen hollow
build_loadgen sched

port=$(free_port)
url=https://127.0.0.1:$port
data=$W/server
start_berth_server "$data" "$port"
spid=$BG_PID
# its stdout is the summary it prints when stopped
"$BENCH_BIN/bench-hollow" "$url" "$data" -n "$NODES" --conns "$CONNS" >"$W/hollow.json" 2>"$W/hollow.log" &
hpid=$!
BG_PIDS+=("$hpid")

args=(-N "$NODES" -n "$PODS" -c "$CLIENTS" -t "$TIMEOUT" -p "$spid" -H "$hpid")
[ "$WORKLOAD" = deployments ] && args+=(-D "$REPLICAS")
rc=0
"$BENCH_BIN/bench-sched" "$url" "$data" "${args[@]}" >"$W/sched.json" 2>"$W/sched.err" || rc=$?
[ -s "$W/sched.json" ] || rm -f "$W/sched.json"
if [ "$rc" != 0 ]; then
  {
    echo "bench-sched exit $rc"
    echo "hollow nodes:"
    tail -15 "$W/hollow.log"
    echo "server log:"
    tail -15 "$data.log"
  } >>"$W/sched.err"
fi
stop_pid "$hpid"
stop_pid "$spid"
BG_PIDS=()

mkdir -p "$OUT/sched-raw"
cp "$W"/*.json "$W"/*.err "$W/hollow.log" "$OUT/sched-raw/" 2>/dev/null || true
python3 "$TOP/bench/report.py" sched "$W" | tee "$OUT/sched.md"
