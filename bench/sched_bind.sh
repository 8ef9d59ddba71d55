#!/usr/bin/env bash
# sched_bind.sh — the scheduler, on its own (bench/sched_lib.c: decisions/s and
# latency at 5,000 nodes and 100,000 pods, one core, no I/O) and inside
# `berth server` (how fast pending pods get bound: each binding is a store
# write, and a Scheduled event another).
#
# The server part: N pods (20,000) are created while every node is
# cordoned, so that they all wait, parked; then the node is uncordoned and
# the time until the last is bound is taken from the server's own
# berth_scheduler_bindings_total (GET /metrics), polled every 50 ms, with
# the Scheduled events the burst dropped (best effort, as in Kubernetes). Pods
# are created by bench/api.c's client (16 connections); nodes are Node
# objects with no agent (nothing runs the pods: this measures placement).
#
#   bash bench/sched_bind.sh                  # from the repo, after make build/berth
#   N=5000 bash bench/sched_bind.sh
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/api_lib.sh"
N=${N:-20000}
NODES=${NODES:-5000}
PODS=${PODS:-100000}
trap 'stop_all; bench_cleanup' EXIT

# ---- the library --------------------------------------------------------------------
# shellcheck disable=SC2046
gcc -O2 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -I"$TOP/src" -D_GNU_SOURCE \
  -o "$W/sched-bench" "$TOP/bench/sched_lib.c" $(find "$TOP/src/base" "$TOP/src/api" "$TOP/src/sched" -name '*.c') \
  $(pkg-config --cflags --libs jansson) -ldl -lm -lpthread
echo "### the library, one core ($NODES nodes, $PODS bound pods)"
echo
[ -n "${SKIP_LIB:-}" ] || "$W/sched-bench" "$NODES" "$PODS" 20000 | tee "$OUT/sched-lib.md"

# ---- in the server --------------------------------------------------------------------
build_loadgen api
port=$(free_port)
data=$W/srv
bg "$W/server.log" "$BERTH" server --listen "127.0.0.1:$port" --data-dir "$data"
spid=$BG_PID
url=https://127.0.0.1:$port
for _ in $(seq 100); do curl -sf --cacert "$data/ca.crt" "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
C=(curl -s --cacert "$data/ca.crt" -H "Authorization: Bearer $(cat "$data/admin-token")")
metric() { "${C[@]}" "$url/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
pending() { metric 'berth_scheduler_pending_pods{queue="unschedulable"}'; }
now_ms() { date +%s%3N; }

for i in 1 2 3 4; do
  "${C[@]}" -X POST "$url/api/v1/nodes" -d "{\"metadata\":{\"name\":\"bench-$i\",\"labels\":{\"kubernetes.io/os\":\"linux\"}},\"spec\":{\"unschedulable\":true},\"status\":{\"capacity\":{\"cpu\":\"1000\",\"memory\":\"4Ti\",\"pods\":\"100000\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}" >/dev/null
done
t0=$(now_ms)
"$BENCH_BIN/bench-api" k8s "$url" "$data" -n "$N" -c 16 -l 1 -w 1 >"$W/create.json" 2>"$W/create.err"
t1=$(now_ms)
# every pod tried once (unschedulable: the nodes are cordoned)
for _ in $(seq 600); do
  [ "$(metric berth_scheduler_unschedulable_total)" -ge "$N" ] 2>/dev/null && break
  sleep 0.1
done
sleep 1.5 # past the first back-off: an uncordon sends them all at once
cpu() { awk '{print $14 + $15}' "/proc/$spid/stat"; } # clock ticks (100/s)
cpu1=$(cpu)
before=$(metric berth_scheduler_bindings_total)
waiting=$(pending) # bench-api's own probe pods are among them
t2=$(now_ms)
for i in 1 2 3 4; do
  "${C[@]}" -X PATCH -H 'Content-Type: application/merge-patch+json' "$url/api/v1/nodes/bench-$i" \
    -d '{"spec":{"unschedulable":false}}' >/dev/null
done
want=$((before + waiting))
last=$before
for _ in $(seq 2400); do
  last=$(metric berth_scheduler_bindings_total)
  [ "$last" -ge "$want" ] && break
  sleep 0.05
done
t3=$(now_ms)
cpu2=$(cpu)
bound=$((last - before))
sleep 2 # the events still queued are written
dropped=$(metric berth_scheduler_events_dropped_total)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$spid/status")
p99=$("${C[@]}" "$url/metrics" | python3 -c '
import sys
b, count = [], 0
for l in sys.stdin:
    if l.startswith("berth_scheduler_decision_duration_seconds_bucket"):
        le = l.split("le=\"")[1].split("\"")[0]; b.append((float("inf") if le == "+Inf" else float(le), int(l.split()[-1])))
    elif l.startswith("berth_scheduler_decision_duration_seconds_count"): count = int(l.split()[-1])
print(next("<= %g ms" % (le * 1000) for le, c in b if c >= 0.99 * count))')
{
  echo
  echo "### in berth server (4 nodes, $N pods pending, then uncordoned)"
  echo
  echo "| pods created | create time | pods bound | bind time | bound/s | Scheduled events dropped | decision p99 | server CPU while binding | server VmHWM |"
  echo "|---|---|---|---|---|---|---|---|---|"
  echo "| $N | $((t1 - t0)) ms | $bound | $((t3 - t2)) ms | $((bound * 1000 / (t3 - t2 + 1))) | $dropped | $p99 | $(((cpu2 - cpu1) * 10)) ms ($(((cpu2 - cpu1) * 10000 / (bound + 1))) µs/pod) | $((rss / 1024)) MiB |"
} | tee "$OUT/sched-server.md"
