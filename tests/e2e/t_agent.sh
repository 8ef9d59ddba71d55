#!/usr/bin/env bash
# t_agent.sh — `berth agent` against a real `berth server`, real containers:
# joining (bad token, a token pinning another CA, the Node and its Lease
# appear and the Node turns Ready with the machine's facts, the Lease's
# renewTime moves), credentials kept 0600, a pod bound to the node runs
# (podIP, state.running), its logs through the API server and from the
# agent's endpoint directly (401 without the node credential, 404 for an
# unknown container), exec through kubectl (output, exit code, stdin, a
# command that does not exist), a crashing pod's restartCount growing with
# CrashLoopBackOff, events from berth-agent, delete with kubectl (the agent's
# final DELETE removes the pod, nothing stays on the node), and kill -9 of
# the agent while a pod runs: the container keeps running, and the restarted
# agent adopts it (same container, restartCount 0).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"

[ "$(id -u)" = 0 ] || { echo "  skipped: needs root"; ok "t_agent skipped (not root)"; exit 0; }

BR=bt$$
CIDR=10.253.$(($$ % 250)).0/24
P=/api/v1/namespaces/default/pods
NODE=/api/v1/nodes/e2e-node
LEASE=/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/e2e-node

cluster_start
start_agent() { cluster_agent_start e2e-node "$BR" "$CIDR" --backoff-base 200ms; }
cluster_agent_argv e2e-node "$BR" "$CIDR" --backoff-base 200ms
AURL=https://127.0.0.1:$APORT

# ---- flags and joining ------------------------------------------------------------
expect_match "agent --help" 'Usage: berth agent --server URL' "$("$BERTH" agent --help 2>&1)"
expect_fail "agent without --server" '--server is required' "$BERTH" agent --token x
expect_fail "agent with a malformed token" 'invalid join token' \
  timeout 20 "$BERTH" "${AGENT_ARGV[@]}" --data-dir "$T/bad1" --token nonsense
expect_fail "a token pinning another CA is refused" "the server's CA does not match the join token" \
  timeout 20 "$BERTH" "${AGENT_ARGV[@]}" --data-dir "$T/bad2" \
  --token "K10$(printf '0%.0s' {1..64})::node:$(cut -d: -f4- <"$DATA/node-token")"
expect_fail "a bad --node-label" 'invalid --node-label' "$BERTH" "${AGENT_ARGV[@]}" --token x --node-label nolabel
expect_fail "a bad --node-status-report-frequency" 'invalid --node-status-report-frequency "5x"' \
  "$BERTH" "${AGENT_ARGV[@]}" --token x --node-status-report-frequency 5x

start_agent
ready() { cluster_node_ready e2e-node; }
if wait_for 60 ready; then ok "the node registers and turns Ready"; else
  not_ok "node Ready" "$(get $NODE) $(tail -20 "$T/agent.log")"; exit 1; fi
for f in token serving.key password ca.crt; do
  expect_eq "agent's $f is 0600" 600 "$(stat -c %a "$ADATA/$f" 2>&1)"
done
node=$(get $NODE)
expect_eq "capacity cpu is nproc, pods 110, memory in Ki" "$(nproc) 110 Ki" \
  "$(jq_ 'd["status"]["capacity"]["cpu"], d["status"]["capacity"]["pods"], d["status"]["capacity"]["memory"][-2:]' <<<"$node" | tr -d "()',")"
expect_eq "nodeInfo: kubelet, runtime, os, arch" "v1.33.1-berth berth://0.1.0 linux $(dpkg --print-architecture)" \
  "$(jq_ 'd["status"]["nodeInfo"]["kubeletVersion"], d["status"]["nodeInfo"]["containerRuntimeVersion"], d["status"]["nodeInfo"]["operatingSystem"], d["status"]["nodeInfo"]["architecture"]' <<<"$node" | tr -d "()',")"
expect_eq "addresses and the endpoint's port" "127.0.0.1 e2e-node $APORT" \
  "$(jq_ 'd["status"]["addresses"][0]["address"], d["status"]["addresses"][1]["address"], d["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]' <<<"$node" | tr -d "()',")"
expect_eq "labels" "e2e-node linux" \
  "$(jq_ 'd["metadata"]["labels"]["kubernetes.io/hostname"], d["metadata"]["labels"]["kubernetes.io/os"]' <<<"$node" | tr -d "()',")"
expect_match "kubectl get nodes: e2e-node Ready" 'e2e-node +Ready' "$(kc get nodes 2>&1)"

renew() { get $LEASE | jq_ 'd["spec"]["renewTime"]'; }
node_rv() { get $NODE | jq_ 'd["metadata"]["resourceVersion"]'; }
ready_status() { get $NODE | jq_ '[c["status"] for c in d["status"]["conditions"] if c["type"] == "Ready"][0]'; }
if wait_for 15 renew; then
  r1=$(renew) rv1=$(node_rv)
  expect_match "lease: holder e2e-node, 40 s, MicroTime" 'e2e-node 40 [0-9T:-]+\.[0-9]{6}Z' \
    "$(get $LEASE | jq_ 'd["spec"]["holderIdentity"], d["spec"]["leaseDurationSeconds"], d["spec"]["renewTime"]' | tr -d "()',")"
  lease_moved() { [ "$(renew)" != "$r1" ]; }
  if wait_for 15 lease_moved; then
    ok "the lease is renewed"; else not_ok "lease renewed" "still $r1"; fi
  # As a kubelet with leases: the beat renews the Lease; the Node's status is
  # sent only when it changed (or every 5 min), so the Node is not rewritten.
  expect_eq "an unchanged Node's status is not sent again on a beat" "$rv1" "$(node_rv)"
  # What the node controller does to a silent node: the agent's next beat
  # sees the difference and sends its status.
  req PATCH "$NODE/status" -H 'Content-Type: application/merge-patch+json' \
    -d '{"status":{"conditions":[{"type":"Ready","status":"Unknown","reason":"NodeStatusUnknown","message":"Kubelet stopped posting node status."}]}}' >/dev/null
  expect_eq "the Ready condition turned Unknown by someone else" Unknown "$(ready_status)"
  ready_again() { [ "$(ready_status)" = True ]; }
  if wait_for 15 ready_again; then ok "the next beat sets it back to True"; else
    not_ok "Ready again" "$(get $NODE | jq_ 'd["status"]["conditions"]')"; fi
  # A Node deleted behind the agent's back: the next beat's read finds it
  # gone and registers it again (a new object), Ready, with its Lease.
  uid1=$(get $NODE | jq_ 'd["metadata"]["uid"]')
  expect_match "the Node deleted by someone else" ' 200$' "$(req DELETE $NODE)"
  node_again() {
    local u
    u=$(get $NODE | jq_ 'd.get("metadata", {}).get("uid", "")' 2>/dev/null)
    [ -n "$u" ] && [ "$u" != "$uid1" ] && [ "$(ready_status)" = True ]
  }
  if wait_for 20 node_again; then ok "the next beat registers it again, Ready"; else
    not_ok "Node registered again" "$(get $NODE)"; fi
  lease_back() { [ -n "$(renew)" ]; }
  if wait_for 20 lease_back; then ok "... and its Lease is there"; else
    not_ok "Lease again" "$(get $LEASE)"; fi
else
  not_ok "lease created" "$(get $LEASE)"
fi

# ---- a pod --------------------------------------------------------------------------
pod() { # NAME RESTART-POLICY COMMAND-JSON [ENV-JSON]
  req POST $P -d "{\"metadata\":{\"name\":\"$1\"},\"spec\":{\"nodeName\":\"e2e-node\",\"restartPolicy\":\"$2\",\"terminationGracePeriodSeconds\":2,\"containers\":[{\"name\":\"c\",\"image\":\"busybox\",\"command\":$3,\"env\":${4:-[]}}]}}"
}
req POST /api/v1/namespaces/default/configmaps -d '{"metadata":{"name":"cm1"},"data":{"k":"from-configmap"}}' >/dev/null
req POST /api/v1/namespaces/default/secrets -d '{"metadata":{"name":"s1"},"stringData":{"p":"from-secret"}}' >/dev/null
ENV='[{"name":"A","valueFrom":{"configMapKeyRef":{"name":"cm1","key":"k"}}},{"name":"B","valueFrom":{"secretKeyRef":{"name":"s1","key":"p"}}}]'
expect_match "create pod p1 bound to e2e-node" ' 201$' \
  "$(pod p1 Always '["sh","-c","echo hello-from-p1 $A $B; echo to-stderr >&2; exec sleep 3600"]' "$ENV")"
running() { [ "$(get $P/$1 | jq_ 'd["status"].get("phase")')" = Running ]; }
if wait_for 60 running p1; then ok "p1 becomes Running"; else
  not_ok "p1 Running" "$(get $P/p1) $(tail -20 "$T/agent.log")"; exit 1; fi
p1=$(get $P/p1)
expect_match "p1 has a podIP from the node's CIDR" "^${CIDR%.0/24}\.[0-9]+$" "$(jq_ 'd["status"].get("podIP")' <<<"$p1")"
expect_eq "p1's container is running, not restarted" "True 0" \
  "$(jq_ '"running" in d["status"]["containerStatuses"][0]["state"], d["status"]["containerStatuses"][0]["restartCount"]' <<<"$p1" | tr -d "()',")"
expect_match "kubectl get pods: p1 1/1 Running" 'p1 +1/1 +Running' "$(kc get pods 2>&1)"

# ---- logs ---------------------------------------------------------------------------
has_log() { get $P/p1/log | grep -q hello-from-p1; }
wait_for 10 has_log
out=$(get $P/p1/log)
expect_match "logs through the API server" 'hello-from-p1' "$out"
expect_match "... with stderr merged" 'to-stderr' "$out"
expect_match "env from a configmap and a secret (the agent's lookups)" 'hello-from-p1 from-configmap from-secret' "$out"
expect_match "kubectl logs p1" 'hello-from-p1' "$(kc logs p1 2>&1)"
expect_eq "kubectl logs --tail 1" "$(get $P/p1/log | tail -1)" "$(kc logs --tail 1 p1 2>&1)"
expect_match "kubectl logs --timestamps" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[^ ]+Z hello-from-p1' "$(kc logs --timestamps p1 2>&1 | head -1)"
out=$(timeout 3 kubectl --kubeconfig "$DATA/admin.kubeconfig" --cache-dir "$T/kcf" logs -f p1 2>&1)
expect_match "kubectl logs -f streams (stopped after 3 s)" 'hello-from-p1' "$out"
A=(curl -s --cacert "$ADATA/ca.crt" -w ' %{http_code}')
AUTH=(-H "Authorization: Bearer $(cat "$ADATA/token")")
expect_match "agent endpoint: logs with the node credential" 'hello-from-p1.* 200$' \
  "$("${A[@]}" "${AUTH[@]}" "$AURL/containerLogs/default/p1/c")"
expect_match "agent endpoint: no credential, 401" '"reason":"Unauthorized".* 401$' "$("${A[@]}" "$AURL/containerLogs/default/p1/c")"
expect_match "agent endpoint: the admin token is not the node credential, 401" ' 401$' \
  "$("${A[@]}" -H "Authorization: Bearer $(cat "$DATA/admin-token")" "$AURL/containerLogs/default/p1/c")"
expect_match "agent endpoint: unknown container, 404" '"reason":"NotFound".* 404$' \
  "$("${A[@]}" "${AUTH[@]}" "$AURL/containerLogs/default/p1/nope")"
expect_match "agent endpoint: bad tailLines, 400" ' 400$' "$("${A[@]}" "${AUTH[@]}" "$AURL/containerLogs/default/p1/c?tailLines=x")"
expect_match "agent endpoint: exec without a WebSocket, 400" ' 400$' \
  "$("${A[@]}" "${AUTH[@]}" "$AURL/exec/default/p1/c?command=ls&stdout=true")"
# A follow whose client goes away: the agent's follower goes too.
timeout 2 curl -s -N --cacert "$ADATA/ca.crt" "${AUTH[@]}" "$AURL/containerLogs/default/p1/c?follow=true" >/dev/null
followers() { pgrep -f -- "--root $BERTH_ROOT --log-level error container logs --follow" | grep -c .; }
no_followers() { [ "$(followers)" = 0 ]; }
if wait_for 5 no_followers; then
  ok "a follow ends when its client goes away"; else not_ok "follow ends" "$(followers) still running"; fi

# ---- exec ---------------------------------------------------------------------------
out=$(kc exec p1 -- sh -c 'echo hi; exit 3' 2>"$T/exec.err")
rc=$?
expect_eq "kubectl exec prints the output" "hi" "$out"
expect_eq "kubectl exec exits with the command's code" 3 "$rc"
expect_eq "kubectl exec of a successful command: rc 0" "ok 0" "$(kc exec p1 -- echo ok 2>&1) $?"
expect_eq "kubectl exec -i feeds stdin" "from-stdin" "$(echo from-stdin | kc exec -i p1 -- cat 2>&1)"
expect_eq "kubectl exec stderr" "err-out" "$(kc exec p1 -- sh -c 'echo err-out >&2' 2>&1 >/dev/null)"
out=$(kc exec p1 -- /no/such/thing 2>&1)
rc=$?
expect_eq "exec of a command that does not exist: rc 127" 127 "$rc"
expect_match "... saying so" 'no/such/thing' "$out"
if command -v script >/dev/null; then
  out=$(script -qec "kubectl --kubeconfig $DATA/admin.kubeconfig --cache-dir $T/kct exec -it p1 -- sh -c 'tty; stty size'" /dev/null </dev/null 2>&1)
  expect_match "kubectl exec -it gets a terminal" '/dev/pts/[0-9]+' "$out"
fi

# ---- a crashing pod ----------------------------------------------------------------------
pod crash Always '["sh","-c","echo crashing; exit 1"]' >/dev/null
restarts() { get $P/crash | jq_ 'd["status"]["containerStatuses"][0]["restartCount"]'; }
seen_backoff=no
for _ in $(seq 1 200); do
  s=$(get $P/crash)
  [[ "$s" =~ CrashLoopBackOff ]] && seen_backoff=yes
  [ "$seen_backoff" = yes ] && [ "$(jq_ 'd["status"]["containerStatuses"][0]["restartCount"]' <<<"$s" 2>/dev/null)" -ge 2 ] 2>/dev/null && break
  sleep 0.1
done
expect_eq "a crashing container shows CrashLoopBackOff" yes "$seen_backoff"
n=$(restarts 2>/dev/null)
if [ "${n:-0}" -ge 2 ] 2>/dev/null; then ok "its restartCount grows ($n)"; else not_ok "restartCount grows" "$(get $P/crash)"; fi
expect_match "kubectl logs --previous crash: the last run's output" 'crashing' "$(kc logs --previous crash 2>&1)"
# Deleted at once: every restart is one more container start.
expect_match "kubectl delete pod crash" 'deleted' "$(kc delete pod crash 2>&1)"
ev=$(get "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dp1")
expect_match "events about p1 come from berth-agent on e2e-node" '"component":"berth-agent","host":"e2e-node"' "$ev"
expect_match "kubectl describe pod p1 lists its events" 'Started|Created' "$(kc describe pod p1 2>&1)"

# ---- delete -------------------------------------------------------------------------------
expect_match "kubectl delete pod p1 (grace 2 s)" 'deleted' "$(kc delete pod p1 2>&1)"
gone() { [ "$(req GET $P/$1 | tail -c 3)" = 404 ]; }
if wait_for 30 gone p1 && wait_for 30 gone crash; then ok "deleted pods disappear after the agent's final DELETE"; else
  not_ok "pods gone" "$(get $P)"; fi
no_containers() { [ -z "$("$BERTH" container ls -aq)" ]; }
if wait_for 10 no_containers; then ok "nothing remains on the node"; else
  not_ok "no containers left" "$("$BERTH" container ls -a)"; fi

# ---- kill -9 and adoption ------------------------------------------------------------------
pod p2 Always '["sleep","3600"]' >/dev/null
if wait_for 60 running p2; then ok "p2 becomes Running"; else not_ok "p2 Running" "$(get $P/p2)"; exit 1; fi
cid() { get $P/p2 | jq_ 'd["status"]["containerStatuses"][0].get("containerID")'; }
c1=$(cid)
pid1=$("$BERTH" container ls -q | head -1 | xargs -r "$BERTH" container inspect 2>/dev/null | jq_ 'd[0]["State"]["Pid"]' 2>/dev/null)
cluster_agent_stop e2e-node KILL
sleep 0.5
pid2=$("$BERTH" container ls -q | head -1 | xargs -r "$BERTH" container inspect 2>/dev/null | jq_ 'd[0]["State"]["Pid"]' 2>/dev/null)
expect_match "after kill -9 of the agent the container keeps running" '^[0-9]+$' "$pid2"
expect_eq "... the same process" "$pid1" "$pid2"
# What an agent killed while tearing a pod down leaves: its empty cgroup.
stray=podd0d0d0d0-0000-4000-8000-$(printf '%012d' $$)
p2uid=$(get $P/p2 | jq_ 'd["metadata"]["uid"]')
mkdir -p /sys/fs/cgroup/memory/berth-pods/$stray/0123abcd # with a container's, empty
start_agent
sleep 3
cg_gone() { [ ! -d /sys/fs/cgroup/memory/berth-pods/$stray ]; }
if wait_for 10 cg_gone; then ok "the restarted agent removes the cgroup of a pod it no longer has"; else
  not_ok "stray pod cgroup removed" "still there"; rmdir /sys/fs/cgroup/memory/berth-pods/$stray/* /sys/fs/cgroup/memory/berth-pods/$stray; fi
if ls -d /sys/fs/cgroup/*/berth-pods/pod"$p2uid" >/dev/null 2>&1; then ok "... and keeps p2's"; else
  not_ok "p2's cgroup kept" "gone"; fi
if wait_for 30 running p2; then ok "the restarted agent keeps p2 Running"; else not_ok "p2 Running after restart" "$(get $P/p2)"; fi
expect_eq "p2 adopted: same container, restartCount 0" "$c1 0" \
  "$(get $P/p2 | jq_ 'd["status"]["containerStatuses"][0].get("containerID"), d["status"]["containerStatuses"][0]["restartCount"]' | tr -d "()',")"
pid3=$("$BERTH" container ls -q | head -1 | xargs -r "$BERTH" container inspect 2>/dev/null | jq_ 'd[0]["State"]["Pid"]' 2>/dev/null)
expect_eq "... still the same process" "$pid1" "$pid3"
expect_eq "exec works after the restart" "again" "$(kc exec p2 -- echo again 2>&1)"

# ---- SIGTERM ----------------------------------------------------------------------------------
start=$SECONDS
AG_PID=${AGENT_PID[e2e-node]}
kill -TERM "$AG_PID"
agent_gone() { ! kill -0 "$AG_PID" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$AG_PID/stat" 2>/dev/null)" = Z ]; }
if wait_for 15 agent_gone; then ok "SIGTERM stops the agent ($((SECONDS - start)) s)"; else
  not_ok "SIGTERM stops the agent" "still running: $(tail -5 "$T/agent.log")"; kill -9 "$AG_PID"; fi
cluster_agent_stop e2e-node
expect_eq "... with exit code 0" 0 "$?"
expect_match "... and the container keeps running" '^[0-9]+$' \
  "$("$BERTH" container ls -q | head -1 | xargs -r "$BERTH" container inspect 2>/dev/null | jq_ 'd[0]["State"]["Pid"]' 2>/dev/null)"
start_agent
wait_for 30 ready
expect_match "kubectl delete pod p2 after the restart" 'deleted' "$(kc delete pod p2 2>&1)"
if wait_for 30 gone p2 && wait_for 10 no_containers; then ok "p2 and its container are gone"; else
  not_ok "p2 gone" "$(get $P/p2) $("$BERTH" container ls -a)"; fi
