#!/usr/bin/env bash
# t_hollow.sh — hollow nodes (build/bench-hollow, bench/hollow.c: what
# bench/sched.sh measures the scheduler with) against a real `berth server`,
# checked with the real kubectl: 20 nodes Ready with their labels, zones and
# leases, leases renewed, a Node's status sent again only when its
# conditions are not the node's own (as a kubelet with leases), 50 pods created with kubectl placed on them by the
# server's scheduler and reported Running (pod IP from the node's pod CIDR,
# containerID hollow://…), init containers reported Completed, `kubectl
# delete` of the pods completing (the hollow node confirms with grace 0),
# SIGTERM stopping the process cleanly with its summary, --cleanup removing
# the nodes and their leases, and bad options refused with a message naming
# them.
source "$(dirname "$0")/lib.sh"

HOLLOW=${HOLLOW:-$TOP/build/bench-hollow}
[ -x "$HOLLOW" ] || make -C "$TOP" --no-print-directory -s build/bench-hollow >/dev/null ||
  { not_ok "build/bench-hollow builds" "make build/bench-hollow failed"; exit 1; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATA=$T/srv
URL=https://127.0.0.1:$PORT
"$BERTH" server --listen 127.0.0.1:$PORT --data-dir "$DATA" >>"$T/server.log" 2>&1 &
SRV_PID=$!
H_PID=
cleanup() {
  [ -n "$H_PID" ] && kill -9 "$H_PID" 2>/dev/null
  kill -TERM $SRV_PID 2>/dev/null
  wait $SRV_PID 2>/dev/null
  cleanup_root
}
trap cleanup EXIT
wait_for 30 curl -sf --cacert "$DATA/ca.crt" "$URL/healthz" || { not_ok "server starts" "$(tail -5 "$T/server.log")"; exit 1; }
kc() { timeout 60 kubectl --kubeconfig "$DATA/admin.kubeconfig" --cache-dir "$(mktemp -d "$T/kc.XXXXXX")" "$@"; }

# ---- bad options ---------------------------------------------------------------------
expect_fail "-n 0 is refused naming --nodes" 'bench-hollow: --nodes: "0" is not a number from 1 to 65536' \
  "$HOLLOW" "$URL" "$DATA" -n 0
expect_fail "a bad --memory is refused by the server, naming the field" \
  'create node: Error from server \(Invalid\): Node "bad-00000" is invalid: .*status.capacity\[memory\]: Invalid value: "12Gx".*1 of 1 nodes could not be registered' \
  "$HOLLOW" "$URL" "$DATA" -n 1 --prefix bad- --memory 12Gx
expect_fail "no server: a clear error" 'bench-hollow: .*https://127.0.0.1:1/.*Connection refused' \
  "$HOLLOW" "https://127.0.0.1:1" "$DATA" -n 1

# ---- 20 nodes ----------------------------------------------------------------------------
"$HOLLOW" "$URL" "$DATA" -n 20 --zones 4 --interval 1 --report-interval 600 --cpu 4 --memory 8Gi --pods 20 --cleanup \
  >"$T/hollow.json" 2>"$T/hollow.err" &
H_PID=$!
ready_nodes() { kc get nodes --no-headers 2>/dev/null | grep -c ' Ready '; }
twenty_ready() { [ "$(ready_nodes)" = 20 ]; }
if wait_for 30 twenty_ready; then ok "kubectl get nodes: 20 Ready nodes"
else not_ok "20 Ready nodes" "$(kc get nodes 2>&1 | tail -3; cat "$T/hollow.err")"; fi
expect_eq "their names: PREFIX and five digits" "hollow-00000 hollow-00019" \
  "$(kc get nodes -o name | sed 's|node/||' | sort | sed -n '1p;$p' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "spread over 4 zones, 5 nodes each" "5 zone-0 5 zone-1 5 zone-2 5 zone-3" \
  "$(kc get nodes -o jsonpath='{range .items[*]}{.metadata.labels.topology\.kubernetes\.io/zone}{"\n"}{end}' |
    sort | uniq -c | awk '{printf "%s%s %s", (NR>1?" ":""), $1, $2}')"
expect_eq "labels, capacity and allocatable as asked" "hollow-00003 linux 4 8Gi 20 4" \
  "$(kc get node hollow-00003 -o jsonpath='{.metadata.labels.kubernetes\.io/hostname} {.metadata.labels.kubernetes\.io/os} {.status.capacity.cpu} {.status.capacity.memory} {.status.capacity.pods} {.status.allocatable.cpu}')"
expect_eq "a lease per node in kube-node-lease" 20 "$(kc get leases -n kube-node-lease --no-headers | grep -c '^hollow-')"
renew() { kc get lease -n kube-node-lease hollow-00007 -o jsonpath='{.spec.renewTime}'; }
r1=$(renew)
lease_renewed() { [ "$(renew)" != "$r1" ]; }
if wait_for 5 lease_renewed; then ok "leases are renewed (--interval 1)"; else not_ok "lease renewed" "still $r1"; fi
node_rv() { kc get node hollow-00007 -o jsonpath='{.metadata.resourceVersion}'; }
rv1=$(node_rv) r2=$(renew)
renewed_again() { [ "$(renew)" != "$r2" ]; }
wait_for 5 renewed_again && sleep 1.1 # two more beats
expect_eq "the Node is not written on a beat while its conditions are its own" "$rv1" "$(node_rv)"
ready() { kc get node hollow-00007 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'; }
kc patch node hollow-00007 --subresource=status --type=merge \
  -p '{"status":{"conditions":[{"type":"Ready","status":"Unknown","reason":"NodeStatusUnknown"}]}}' >/dev/null
expect_eq "Ready turned Unknown as the node controller does" Unknown "$(ready)"
ready_again() { [ "$(ready)" = True ]; }
if wait_for 5 ready_again; then ok "the next beat sends the status again: Ready"; else
  not_ok "Ready again" "$(kc get node hollow-00007 -o jsonpath='{.status.conditions}')"; fi

# ---- 50 pods -----------------------------------------------------------------------------
for i in $(seq -w 1 50); do
  printf -- '---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: h-%s\n  labels: {app: hollow}\nspec:\n  containers:\n  - name: app\n    image: busybox\n    resources: {requests: {cpu: 100m, memory: 64Mi}}\n' "$i"
done >"$T/pods.yaml"
cat >>"$T/pods.yaml" <<'Y'
---
apiVersion: v1
kind: Pod
metadata:
  name: h-init
  labels: {app: hollow}
spec:
  initContainers:
  - {name: setup, image: busybox}
  containers:
  - {name: app, image: busybox}
  - {name: side, image: busybox}
Y
expect_eq "kubectl create of 51 pods" 51 "$(kc create -f "$T/pods.yaml" 2>&1 | grep -c 'created$')"
running() { kc get pods -l app=hollow --no-headers 2>/dev/null | awk '$3 == "Running"' | wc -l; }
all_running() { [ "$(running)" = 51 ]; }
if wait_for 60 all_running; then ok "all 51 pods Running"; else not_ok "all Running" "$(running) Running: $(kc get pods 2>&1 | grep -v Running | head -5)"; fi
expect_eq "each on a hollow node, READY 1/1 (2/2 for the pod with two containers)" "51" \
  "$(kc get pods -l app=hollow -o wide --no-headers | awk '$7 ~ /^hollow-000[01][0-9]$/ && ($2 == "1/1" || ($1 == "h-init" && $2 == "2/2"))' | wc -l)"
node=$(kc get pod h-07 -o jsonpath='{.spec.nodeName}')
cidr=$(kc get node "$node" -o jsonpath='{.spec.podCIDR}')
ip=$(kc get pod h-07 -o jsonpath='{.status.podIP}')
expect_eq "the pod IP is in its node's pod CIDR" "${cidr%.0/24}" "${ip%.*}"
expect_eq "hostIP is the node's InternalIP" \
  "$(kc get node "$node" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')" \
  "$(kc get pod h-07 -o jsonpath='{.status.hostIP}')"
uid=$(kc get pod h-07 -o jsonpath='{.metadata.uid}')
expect_eq "containerID hollow://UID/NAME, Ready and PodScheduled True" "hollow://$uid/app True True" \
  "$(kc get pod h-07 -o jsonpath='{.status.containerStatuses[0].containerID} {.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="PodScheduled")].status}')"
expect_eq "an init container is reported Completed, both containers running" "Completed true true" \
  "$(kc get pod h-init -o jsonpath='{.status.initContainerStatuses[0].state.terminated.reason} {.status.containerStatuses[0].started} {.status.containerStatuses[1].started}')"

out=$(kc delete pods -l app=hollow 2>&1)
expect_eq "kubectl delete of the 51 pods completes" 51 "$(grep -c 'deleted' <<<"$out")"
expect_match "no pod left" 'No resources found' "$(kc get pods 2>&1)"

# ---- stop ------------------------------------------------------------------------------------
kill -TERM "$H_PID"
stopped() { ! kill -0 "$H_PID" 2>/dev/null; }
if wait_for 15 stopped; then
  wait "$H_PID"
  rc=$?
  H_PID=
  expect_eq "SIGTERM: the hollow process exits 0" 0 "$rc"
else
  not_ok "SIGTERM stops the hollow process" "still running after 15 s: $(tail -3 "$T/hollow.err")"
fi
summary=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["nodes"], d["pod_statuses"], d["pod_deletes"], d["failures"], d["nodes_deleted"], d["heartbeats"] > 0, d["status_reports"])' "$T/hollow.json" 2>&1)
expect_eq "its summary: 20 nodes, 51 statuses, 51 deletes, no failure, 20 nodes deleted, heartbeats, one status sent after registering (the Unknown one)" \
  "20 51 51 0 20 True 1" "$summary"
expect_match "--cleanup: the nodes are gone" 'No resources found' "$(kc get nodes 2>&1)"
expect_match "--cleanup: their leases are gone" 'No resources found' "$(kc get leases -n kube-node-lease 2>&1)"
