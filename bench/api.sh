#!/usr/bin/env bash
# api.sh — the API server under load, side by side with etcd 3.4 (Debian's
# etcd-server: the store behind every Kubernetes API server) in the same run:
# 10,000 creates of a ~1.6 KB pod from 16 keep-alive clients, LIST of the
# 10,000 (median of 10; berth also as kubectl's Table), create → watch event
# latency for 1,000 creates paced at 200/s, and the server's memory (VmRSS,
# VmHWM, RssAnon) idle, holding the pods and after the lists. The load generator is
# bench/api.c (build/bench-api, built here); the table comes from
# bench/report.py.
#
# Each pass starts a fresh `berth server` (HTTPS) and two fresh etcds whose
# data dirs are beside berth's (the same file system; both fsync every
# commit): one serving HTTPS with berth's own serving certificate (the
# comparison), one plain HTTP (what etcd gives without TLS). etcd gets the
# same pod JSON as a base64 value through its v3 JSON gateway (/v3/kv/put,
# /v3/kv/range, /v3/watch). The API server does more per write than a KV put
# (authentication, decoding, defaulting, validation, a namespace lookup, the
# object encoded back): the ratio prices all of it.
#
#   bash bench/api.sh                     # from the repo, after make build/berth
#   PASSES=1 N=2000 bash bench/api.sh     # quicker
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/api_lib.sh"
N=${N:-10000}
CLIENTS=${CLIENTS:-16}
LISTS=${LISTS:-10}
WATCHED=${WATCHED:-1000}
RATE=${RATE:-200}
PASSES=${PASSES:-2}
trap 'stop_all; bench_cleanup' EXIT
build_loadgen api
ARGS=(-n "$N" -c "$CLIENTS" -l "$LISTS" -w "$WATCHED" -r "$RATE")
ETCD=${ETCD:-etcd}
have_etcd=1
if ! command -v "$ETCD" >/dev/null; then
  have_etcd=0
  echo "api.sh: no $ETCD (Debian's etcd-server, installed by make deps): berth alone" >&2
fi

# run_etcd NAME SCHEME CERT_DIR OUT — one etcd, one bench-api run against it.
run_etcd() {
  local name=$1 scheme=$2 certs=$3 out=$4 cp pp tls=() ca=-
  cp=$(free_port)
  pp=$(free_port)
  if [ "$scheme" = https ]; then
    tls=(--cert-file "$certs/server.crt" --key-file "$certs/server.key")
    ca=$certs/ca.crt
  fi
  bg "$W/$name.log" "$ETCD" --name bench --data-dir "$W/$name" \
    --listen-client-urls "$scheme://127.0.0.1:$cp" --advertise-client-urls "$scheme://127.0.0.1:$cp" \
    --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
    --initial-cluster "bench=http://127.0.0.1:$pp" "${tls[@]}"
  local pid=$BG_PID cacert=()
  [ "$ca" != - ] && cacert=(--cacert "$ca")
  wait_url "$scheme://127.0.0.1:$cp/health" "$pid" "$W/$name.log" "${cacert[@]}"
  "$BENCH_BIN/bench-api" etcd "$scheme://127.0.0.1:$cp" "$ca" "${ARGS[@]}" -p "$pid" >"$out"
  stop_pid "$pid"
}

for pass in $(seq "$PASSES"); do
  port=$(free_port)
  start_berth_server "$W/berth$pass" "$port"
  "$BENCH_BIN/bench-api" k8s "https://127.0.0.1:$port" "$W/berth$pass" "${ARGS[@]}" -p "$BG_PID" \
    >"$W/berth$pass.json"
  stop_pid "$BG_PID"
  if [ "$have_etcd" = 1 ]; then
    run_etcd "etcd-tls$pass" https "$W/berth$pass" "$W/etcd-tls$pass.json"
    run_etcd "etcd-http$pass" http "" "$W/etcd-http$pass.json"
  fi
done

etcd_version=none
[ "$have_etcd" = 1 ] && etcd_version=$("$ETCD" --version | awk '/^etcd Version/ {print $3}')
python3 "$TOP/bench/report.py" api "$W" "$PASSES" "$etcd_version" | tee "$OUT/api.md"
