#!/usr/bin/env bash
# workloads.sh — what the controllers do on real containers, timed on this
# machine with every setting at its default:
#
#   rollout   a Deployment of REPLICAS (50) busybox httpd pods with an
#             httpGet readiness probe is rolled to a new template
#             (maxUnavailable 25 %, maxSurge 25 %, the defaults); a watch
#             follows every pod change the whole time and the ready pods
#             (not being deleted) are counted after each one, i.e. at every
#             revision of the store (bench/ready_floor.py); the least is
#             compared with replicas − maxUnavailable;
#             reported: the time from the template change to `kubectl rollout
#             status` returning, and the least number of ready pods.
#   nodefail  two agents; a Deployment of NODEFAIL_PODS (20) pods all on the
#             first (the second joins after they run); the first agent is
#             killed with SIGKILL; reported: the time until all of them run
#             and are ready on the second node (default grace period 20 s,
#             eviction timeout 30 s, agent heartbeat 10 s).
#
# No peer in the same run: Debian has no kubelet or kube-controller-manager.
# Kubernetes' own defaults for the second figure are 40 s + 300 s.
#
#   bash bench/workloads.sh                 # from the repo, after make build/berth images
#   REPLICAS=20 NODEFAIL_PODS=10 bash bench/workloads.sh
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/api_lib.sh"
REPLICAS=${REPLICAS:-50}
NODEFAIL_PODS=${NODEFAIL_PODS:-20}
KUBECTL=${KUBECTL:-kubectl}
PORT=$(free_port)
DATA=$W/srv
URL=https://127.0.0.1:$PORT
declare -A AROOT

cleanup_all() {
  stop_all
  local n
  for n in "${!AROOT[@]}"; do
    BERTH_ROOT=${AROOT[$n]} "$BERTH" container rm -f \
      $(BERTH_ROOT=${AROOT[$n]} "$BERTH" container ls -aq 2>/dev/null) >/dev/null 2>&1 || true
    umount -l "$W/agent-$n/run" 2>/dev/null || true
  done
  ip link del "bwl1$$" 2>/dev/null || true
  ip link del "bwl2$$" 2>/dev/null || true
  bench_cleanup
}
trap cleanup_all EXIT

# agent NAME INDEX — a real agent with its own engine root, bridge and /24.
agent() {
  local name=$1 i=$2
  AROOT[$name]=$W/root-$name
  mkdir -p "${AROOT[$name]}"
  BERTH_ROOT=${AROOT[$name]} "$BERTH" image load -i "$TOP/build/images/busybox.tar" >/dev/null
  BERTH_ROOT=${AROOT[$name]} bg "$W/agent-$name.log" "$BERTH" agent --server "$URL" \
    --token-file "$DATA/node-token" --data-dir "$W/agent-$name" --listen "127.0.0.1:$(free_port)" \
    --node-name "$name" --node-ip 127.0.0.1 --bridge "bwl$i$$" --pod-cidr "10.253.$i.0/24"
  APID=$BG_PID
}
kc() { "$KUBECTL" --kubeconfig "$DATA/admin.kubeconfig" --cache-dir "$W/kc" "$@"; }
api() { curl -sk -H "Authorization: Bearer $TOKEN" "$URL$1"; }
# ready_on NODE — live Ready pods of app=web on NODE.
ready_on() {
  api "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb" | python3 -c '
import json, sys
node = sys.argv[1]
n = 0
for p in json.load(sys.stdin).get("items", []):
    if p["metadata"].get("deletionTimestamp"): continue
    if p.get("spec", {}).get("nodeName") != node: continue
    if any(c.get("type") == "Ready" and c.get("status") == "True" for c in p.get("status", {}).get("conditions", [])):
        n += 1
print(n)' "$1"
}
deployment() { # NAME REPLICAS VERSION
  cat <<Y
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: $2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: busybox
        env: [{name: VERSION, value: "$3"}]
        command: ["sh", "-c", "mkdir -p /www && echo v\$VERSION > /www/index.html && exec httpd -f -p 8080 -h /www"]
        readinessProbe:
          httpGet: {path: /index.html, port: 8080}
          periodSeconds: 1
Y
}
now_ms() { date +%s%3N; }

start_berth_server "$DATA" "$PORT" 2>"$W/server.err"
TOKEN=$(awk '/token:/ {print $2}' "$DATA/admin.kubeconfig" | head -1)

# ---- rollout -------------------------------------------------------------------
agent n1 1
A1=$APID
for _ in $(seq 300); do kc get nodes 2>/dev/null | grep -q ' Ready ' && break; sleep 0.2; done
deployment web "$REPLICAS" 1 | kc apply -f - >/dev/null
kc rollout status deploy/web --timeout=600s >/dev/null
# Every change of every pod, from the list's revision on: the ready count at
# each revision of the store, not at sampled moments.
api "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb" >"$W/before.json"
rv=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["resourceVersion"])' "$W/before.json")
curl -sk -N -H "Authorization: Bearer $TOKEN" \
  "$URL/api/v1/namespaces/default/pods?watch=1&labelSelector=app%3Dweb&resourceVersion=$rv&timeoutSeconds=900" \
  >"$W/rollout.events" &
WATCH=$!
t0=$(now_ms)
deployment web "$REPLICAS" 2 | kc apply -f - >/dev/null
kc rollout status deploy/web --timeout=900s >/dev/null
t1=$(now_ms)
sleep 1 # the last events reach the watch
kill "$WATCH" 2>/dev/null; wait "$WATCH" 2>/dev/null || true
read -r least events < <(python3 "$TOP/bench/ready_floor.py" "$W/before.json" <"$W/rollout.events")
floor=$((REPLICAS - REPLICAS / 4)) # maxUnavailable 25 % rounds down
rollout_s=$(python3 -c "print(round(($t1 - $t0) / 1000, 1))")
kc delete deploy web --wait=true >/dev/null 2>&1 || true
for _ in $(seq 600); do [ "$(api '/api/v1/namespaces/default/pods' | grep -c '"name":"web-')" = 0 ] && break; sleep 0.2; done

# ---- node failure -------------------------------------------------------------
deployment web "$NODEFAIL_PODS" 1 | kc apply -f - >/dev/null
kc rollout status deploy/web --timeout=600s >/dev/null
agent n2 2
for _ in $(seq 300); do [ "$(kc get nodes 2>/dev/null | grep -c ' Ready ')" = 2 ] && break; sleep 0.2; done
on_n1=$(ready_on n1)
t0=$(now_ms)
kill -9 "$A1"
moved_s=null
for _ in $(seq 1200); do
  if [ "$(ready_on n2)" = "$NODEFAIL_PODS" ]; then
    moved_s=$(python3 -c "print(round(($(now_ms) - $t0) / 1000, 1))")
    break
  fi
  sleep 0.1
done

cat >"$OUT/workloads.md" <<MD
### Controllers on real containers (defaults)

| what | figure | target |
|---|---|---|
| rolling update of $REPLICAS pods with readiness probes (25 % / 25 %), template change → rollout status done | $rollout_s s | reported |
| least ready pods at any revision during it (a watch: $events pod changes) | $least (floor: $floor) | ≥ $floor: $([ "${least:-0}" -ge "$floor" ] && echo yes || echo '**no**') |
| agent hosting $on_n1 pods killed (SIGKILL) → all $NODEFAIL_PODS Running and Ready on the other node | $moved_s s | ≤ 60 s: $([ "$moved_s" != null ] && python3 -c "print('yes' if $moved_s <= 60 else '**no**')" || echo '**no**') |

No peer in the same run (Debian ships no kubelet or kube-controller-manager); Kubernetes' defaults
for the second figure are a 40 s grace period plus a 300 s toleration.
MD
cat "$OUT/workloads.md"
