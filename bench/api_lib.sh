# shellcheck shell=bash
# api_lib.sh — shared by api.sh, pods.sh and sched.sh (after lib.sh): the
# load generators build/bench-NAME, free ports, starting and stopping the
# servers they measure. Every process started here is recorded and stopped
# on exit.
BENCH_BIN=$TOP/build
BG_PIDS=()

# build_loadgen NAME — builds build/bench-NAME (bench/NAME.c and
# bench/loadgen.c over berth's base and HTTPS client) when it is missing or
# older than its sources: the Makefile's rule, one of BENCH_LG.
build_loadgen() {
  make -C "$TOP" --no-print-directory -s "build/bench-$1" >/dev/null
}

# A TCP port nobody listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bg LOG CMD… — starts CMD in the background, output to LOG; sets BG_PID.
bg() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  BG_PID=$!
  BG_PIDS+=("$BG_PID")
}

# stop_pid PID — SIGTERM, then SIGKILL after 10 s; waits for it.
stop_pid() {
  local pid=$1 _
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stop_all() {
  local p
  for p in "${BG_PIDS[@]}"; do stop_pid "$p"; done
  BG_PIDS=()
}

# wait_url URL PID LOG [CURL_ARGS…] — until URL answers (30 s), or the process
# died (its log is printed).
wait_url() {
  local url=$1 pid=$2 log=$3 _
  shift 3
  for _ in $(seq 300); do
    curl -sf -o /dev/null "$@" "$url" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$(basename "$log" .log) exited before answering $url:" >&2
      tail -20 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "$url did not answer within 30 s; $log:" >&2
  tail -20 "$log" >&2
  return 1
}

# start_berth_server DATA PORT [SERVER_ARGS…] — `berth server`, waits for
# /healthz; sets BG_PID. The engine root is $BERTH_ROOT.
start_berth_server() {
  local data=$1 port=$2
  shift 2
  bg "$data.log" "$BERTH" server --listen "127.0.0.1:$port" --data-dir "$data" "$@"
  wait_url "https://127.0.0.1:$port/healthz" "$BG_PID" "$data.log" -k
}

# mem_json NAME PID — "NAME": {"rss_kib", "hwm_kib", "anon_kib", "file_kib"}
# (VmRSS, VmHWM, RssAnon, RssFile), or "NAME": null when PID is gone.
mem_json() {
  [ -r "/proc/$2/status" ] || { printf '"%s": null' "$1"; return; }
  awk -v n="$1" '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} /^RssAnon/ {a=$2} /^RssFile/ {f=$2}
    END {printf "\"%s\": {\"rss_kib\": %d, \"hwm_kib\": %d, \"anon_kib\": %d, \"file_kib\": %d}", n, r, h, a, f}' \
    "/proc/$2/status"
}
