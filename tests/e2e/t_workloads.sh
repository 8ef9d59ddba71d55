#!/usr/bin/env bash
# t_workloads.sh — the controllers and the scheduler on a real two-node
# cluster (one server, two agents on this machine, each with its own engine
# root, bridge and pod network), driven by the real kubectl and berth's CLI as
# a user would: a Deployment with readiness probes rolled out, updated
# (never fewer ready pods than maxUnavailable allows, checked all along),
# rolled back, scaled, paused; a Job run to completion and one that exceeds
# its backoff limit; a DaemonSet on every node; a CronJob's job made by hand;
# a PodDisruptionBudget holding a drain back; a drain moving pods away; and a
# node whose agent dies: its pods running elsewhere within the grace period
# and the eviction timeout (shortened here to 4 s each).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"

CLUSTER_LOG_LEVEL=info
KC_TIMEOUT=120
cluster_server --node-monitor-grace-period 4s --pod-eviction-timeout 4s ||
  { not_ok "server starts" "$(tail -5 "$T/server.log")"; exit 1; }
# start_agent NAME INDEX — an agent with its own root, bridge and /24.
start_agent() {
  cluster_agent_start --own-root "$1" "bw$2$$" "10.251.$(( ($$ % 120) * 2 + $2 )).0/24" --heartbeat-interval 1s
}
start_agent w1 1
start_agent w2 2

bc() { timeout 120 "$BERTH" --kubeconfig "$DATA/admin.kubeconfig" "$@"; }
TOKEN=$(awk '/token:/ {print $2}' "$DATA/admin.kubeconfig" | head -1)
api() { curl -sk -H "Authorization: Bearer $TOKEN" "$URL$1"; }
nodes_ready() { [ "$(kc get nodes --no-headers 2>/dev/null | grep -c ' Ready ')" = 2 ]; }
if wait_for 60 nodes_ready; then ok "two agents joined: two Ready nodes"
else not_ok "two Ready nodes" "$(kc get nodes 2>&1; tail -5 "$T/server.log")"; exit 1; fi

# pods_of SELECTOR — "name phase ready node terminating" per pod, sorted.
pods_of() {
  api "/api/v1/namespaces/default/pods?labelSelector=$1" | python3 -c '
import json, sys
for p in json.load(sys.stdin).get("items", []):
    st = p.get("status", {})
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions", []))
    print(p["metadata"]["name"], st.get("phase", "-"), "ready" if ready else "notready",
          p.get("spec", {}).get("nodeName", "-"), "deleting" if p["metadata"].get("deletionTimestamp") else "live")'
}
# ready_count SELECTOR — live pods that are Ready.
ready_count() { pods_of "$1" | awk '$3 == "ready" && $5 == "live"' | wc -l; }

# ---- Deployment: roll out, update, undo, scale, pause ------------------------------
cat >"$T/web.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: busybox
        env: [{name: VERSION, value: "1"}]
        command: ["sh", "-c", "mkdir -p /www && echo v$VERSION > /www/index.html && exec httpd -f -p 8080 -h /www"]
        readinessProbe:
          httpGet: {path: /index.html, port: 8080}
          periodSeconds: 1
Y
expect_eq "kubectl apply creates the deployment" "deployment.apps/web created" "$(kc apply -f "$T/web.yaml" 2>&1)"
expect_match "kubectl rollout status follows it to the end" 'deployment "web" successfully rolled out' \
  "$(kc rollout status deploy/web --timeout=90s 2>&1)"
expect_match "kubectl get deploy: 3/3 ready, up to date, available" 'web +3/3 +3 +3 ' "$(kc get deploy web 2>&1)"
expect_eq "three ready pods" 3 "$(ready_count app=web)"
nodes_used=$(pods_of app=web | awk '{print $4}' | sort -u | wc -l)
expect_eq "the scheduler spreads them over both nodes" 2 "$nodes_used"
expect_match "kubectl get rs: the deployment's replicaset with the template hash" 'web-[a-z0-9]+ +3 +3 +3 ' "$(kc get rs 2>&1)"

# floor_watch APP / floor_read APP — a watch follows every change of the
# app's pods from a LIST's revision on; floor_read stops it and sets min
# (the least ready pods at any revision, bench/ready_floor.py) and events.
floor_watch() {
  api "/api/v1/namespaces/default/pods?labelSelector=app%3D$1" >"$T/$1-before.json"
  local rv
  rv=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["resourceVersion"])' "$T/$1-before.json")
  curl -sk -N -H "Authorization: Bearer $TOKEN" \
    "$URL/api/v1/namespaces/default/pods?watch=1&labelSelector=app%3D$1&resourceVersion=$rv&timeoutSeconds=300" \
    >"$T/$1.events" &
  WATCH=$!
}
floor_read() {
  sleep 1 # the last events reach the watch
  kill $WATCH 2>/dev/null; wait $WATCH 2>/dev/null
  read -r min events < <(python3 "$TOP/bench/ready_floor.py" "$T/$1-before.json" <"$T/$1.events")
}

# The update, followed at every revision.
floor_watch web
sed -i 's/value: "1"/value: "2"/' "$T/web.yaml"
expect_eq "kubectl apply of a new template" "deployment.apps/web configured" "$(kc apply -f "$T/web.yaml" 2>&1)"
expect_match "the rolling update completes" 'successfully rolled out' "$(kc rollout status deploy/web --timeout=120s 2>&1)"
floor_read web
if [ "${min:-0}" -ge 2 ] && [ "${events:-0}" -ge 9 ]; then ok "never fewer than replicas - maxUnavailable = 2 ready pods (at each of $events pod changes, least $min)"
else not_ok "ready pods during the update" "fell to $min over $events pod changes"; fi
expect_eq "every pod runs the new template" 3 "$(for p in $(pods_of app=web | awk '$5=="live"{print $1}'); do kc exec "$p" -- cat /www/index.html; done 2>/dev/null | grep -c v2)"
expect_match "rollout history: two revisions" $'REVISION +CHANGE-CAUSE\n1 +<none>\n2 +<none>' "$(kc rollout history deploy/web 2>&1)"
expect_match "berth rollout history agrees" $'REVISION +CHANGE-CAUSE\n1 +<none>\n2 +<none>' "$(bc rollout history deploy/web 2>&1)"
expect_eq "kubectl rollout undo" "deployment.apps/web rolled back" "$(kc rollout undo deploy/web 2>&1)"
kc rollout status deploy/web --timeout=120s >/dev/null 2>&1
expect_eq "after the undo every pod runs the first template again" 3 "$(for p in $(pods_of app=web | awk '$5=="live"{print $1}'); do kc exec "$p" -- cat /www/index.html; done 2>/dev/null | grep -c v1)"
expect_match "the undo reused revision 1's replicaset as revision 3" $'\n2 +<none>\n3 +<none>' "$(kc rollout history deploy/web 2>&1)"
expect_eq "berth rollout undo (to the second template again)" "deployment.apps/web rolled back" "$(bc rollout undo deploy/web 2>&1)"
kc rollout status deploy/web --timeout=120s >/dev/null 2>&1
expect_eq "... every pod runs it" 3 "$(for p in $(pods_of app=web | awk '$5=="live"{print $1}'); do kc exec "$p" -- cat /www/index.html; done 2>/dev/null | grep -c v2)"
expect_eq "kubectl scale" "deployment.apps/web scaled" "$(kc scale deploy/web --replicas=5 2>&1)"
five() { [ "$(ready_count app=web)" = 5 ]; }
if wait_for 60 five; then ok "five ready pods after scaling up"; else not_ok "scale up" "$(pods_of app=web)"; fi
expect_eq "berth scale" "deployment.apps/web scaled" "$(bc scale deploy/web --replicas=2 2>&1)"
two() { [ "$(pods_of app=web | grep -c live)" = 2 ]; }
if wait_for 60 two; then ok "two pods after scaling down"; else not_ok "scale down" "$(pods_of app=web)"; fi
expect_eq "berth rollout pause" "deployment.apps/web paused" "$(bc rollout pause deploy/web 2>&1)"
sed -i 's/value: "1"/value: "3"/; s/value: "2"/value: "3"/' "$T/web.yaml"
sed -i 's/replicas: 3/replicas: 2/' "$T/web.yaml"
kc apply -f "$T/web.yaml" >/dev/null 2>&1
sleep 2
expect_eq "paused: the new template is not rolled out" 0 "$(for p in $(pods_of app=web | awk '$5=="live"{print $1}'); do kc exec "$p" -- cat /www/index.html; done 2>/dev/null | grep -c v3)"
expect_eq "berth rollout resume" "deployment.apps/web resumed" "$(bc rollout resume deploy/web 2>&1)"
expect_match "resumed: it rolls out" 'successfully rolled out' "$(bc rollout status deploy/web --timeout 120s 2>&1)"

# ---- Jobs -------------------------------------------------------------------------------
cat >"$T/jobs.yaml" <<'Y'
apiVersion: batch/v1
kind: Job
metadata:
  name: count
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: busybox
        command: ["sh", "-c", "echo done"]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: fails
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: busybox
        command: ["sh", "-c", "exit 3"]
Y
kc apply -f "$T/jobs.yaml" >/dev/null 2>&1
complete() { kc get job count 2>/dev/null | grep -Eq 'count +Complete +3/3'; }
if wait_for 90 complete; then ok "a job of 3 completions, 2 at a time, completes (kubectl get job: Complete 3/3)"
else not_ok "job completes" "$(kc get job count 2>&1; kc describe job count 2>&1 | tail -8)"; fi
failed() { [ "$(kc get job fails -o jsonpath='{.status.conditions[?(@.type=="Failed")].reason}' 2>/dev/null)" = BackoffLimitExceeded ]; }
if wait_for 120 failed; then ok "a failing job stops at its backoff limit (Failed, BackoffLimitExceeded)"
else not_ok "backoff limit" "$(kc describe job fails 2>&1 | tail -8)"; fi
expect_eq "it made backoffLimit + 1 pods" 2 "$(kc get job fails -o jsonpath='{.status.failed}' 2>&1)"

# podFailurePolicy: an exit code that means "do not retry" fails the job at once.
pfp_job() { # NAME RESTART-POLICY [EXTRA-SPEC-LINE]
  cat <<Y
apiVersion: batch/v1
kind: Job
metadata: {name: $1}
spec:
  backoffLimit: 6
  ${3:-}
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes: {containerName: c, operator: In, values: [42]}
    - action: Ignore
      onPodConditions: [{type: DisruptionTarget}]
  template:
    spec:
      restartPolicy: $2
      containers:
      - {name: c, image: busybox, command: ["sh", "-c", "exit 42"]}
Y
}
pfp_job fatal Never | kc apply -f - >/dev/null 2>&1
pfp_failed() { [ "$(kc get job fatal -o jsonpath='{.status.conditions[?(@.type=="Failed")].reason}' 2>/dev/null)" = PodFailurePolicy ]; }
if wait_for 90 pfp_failed; then ok "podFailurePolicy FailJob on exit code 42: the job fails at once (reason PodFailurePolicy)"
else not_ok "podFailurePolicy" "$(kc describe job fatal 2>&1 | tail -8)"; fi
expect_match "... saying which container and rule" 'Container c for pod default/fatal-[a-z0-9]+ failed with exit code 42 matching FailJob rule at index 0' \
  "$(kc get job fatal -o jsonpath='{.status.conditions[?(@.type=="Failed")].message}' 2>&1)"
expect_eq "... after one pod, not backoffLimit + 1" 1 "$(kc get job fatal -o jsonpath='{.status.failed}' 2>&1)"
expect_fail "podFailurePolicy needs restartPolicy Never" \
  'spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified' \
  kc apply -f - < <(pfp_job onfail OnFailure)
expect_fail "backoffLimitPerIndex needs an Indexed Job" \
  "spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode" \
  kc apply -f - < <(pfp_job perindex Never 'backoffLimitPerIndex: 1')

# ---- a CronJob's job by hand ------------------------------------------------------------
cat >"$T/cron.yaml" <<'Y'
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: c
            image: busybox
            command: ["sh", "-c", "echo nightly"]
Y
kc apply -f "$T/cron.yaml" >/dev/null 2>&1
expect_eq "berth create job --from=cronjob" "job.batch/manual-1 created" "$(bc create job manual-1 --from=cronjob/nightly 2>&1)"
mdone() { kc get job manual-1 2>/dev/null | grep -Eq 'Complete +1/1'; }
if wait_for 60 mdone; then ok "the job made from the cronjob's template completes"
else not_ok "manual job" "$(kc describe job manual-1 2>&1 | tail -5)"; fi
expect_eq "it is marked as made by hand" manual "$(kc get job manual-1 -o jsonpath='{.metadata.annotations.cronjob\.kubernetes\.io/instantiate}' 2>&1)"

# ---- DaemonSet ---------------------------------------------------------------------------
cat >"$T/ds.yaml" <<'Y'
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agentd
spec:
  selector:
    matchLabels: {app: agentd}
  template:
    metadata:
      labels: {app: agentd}
    spec:
      containers:
      - name: d
        image: busybox
        command: ["sleep", "3600"]
Y
kc apply -f "$T/ds.yaml" >/dev/null 2>&1
ds_ready() { kc get ds agentd 2>/dev/null | grep -Eq 'agentd +2 +2 +2 +2 +2 '; }
if wait_for 60 ds_ready; then ok "a daemonset runs one pod on each node (DESIRED 2 … AVAILABLE 2)"
else not_ok "daemonset" "$(kc get ds agentd 2>&1; pods_of app=agentd)"; fi
expect_eq "one on each node" "w1 w2" "$(pods_of app=agentd | awk '{print $4}' | sort | xargs)"
start_agent w3 3
ds_three() { kc get ds agentd 2>/dev/null | grep -Eq 'agentd +3 +3 +3 +3 +3 '; }
if wait_for 60 ds_three; then ok "a node that joins gets its daemon pod (DESIRED 3 … AVAILABLE 3)"
else not_ok "daemonset on node join" "$(kc get ds agentd 2>&1; pods_of app=agentd)"; fi
expect_eq "... on w3" "w1 w2 w3" "$(pods_of app=agentd | awk '$5=="live"{print $4}' | sort | xargs)"
# A surge update: the new pod beside the old one, the old one gone once the
# new one is available, so a node never lacks a ready daemon (watched at
# every revision).
floor_watch agentd
kc patch ds agentd --type=merge -p '{"spec":{"updateStrategy":{"rollingUpdate":{"maxUnavailable":0,"maxSurge":1}},"template":{"spec":{"containers":[{"name":"d","image":"busybox","command":["sleep","3601"]}]}}}}' >/dev/null 2>&1
expect_match "kubectl rollout status ds (maxSurge 1, maxUnavailable 0)" 'successfully rolled out' \
  "$(kc rollout status ds/agentd --timeout=120s 2>&1)"
floor_read agentd
if [ "${min:-0}" -ge 3 ] && [ "${events:-0}" -ge 9 ]; then ok "... never fewer than 3 ready daemon pods (at each of $events pod changes)"
else not_ok "daemon pods during the surge" "fell to $min over $events pod changes"; fi
expect_eq "... every node runs the new template" "3601 3601 3601" \
  "$(kc get pods -l app=agentd -o jsonpath='{range .items[?(@.metadata.deletionTimestamp)]}x{end}{range .items[*]}{.spec.containers[0].command[1]} {end}' 2>/dev/null | xargs)"

# ---- PodDisruptionBudget and drain ----------------------------------------------------
kc scale deploy/web --replicas=2 >/dev/null 2>&1
cat >"$T/pdb.yaml" <<'Y'
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 2
  selector:
    matchLabels: {app: web}
Y
kc apply -f "$T/pdb.yaml" >/dev/null 2>&1
pdb_seen() { [ "$(kc get pdb web -o jsonpath='{.status.currentHealthy}' 2>/dev/null)" = 2 ]; }
wait_for 30 pdb_seen
expect_match "kubectl get pdb: no disruption allowed" 'web +2 +N/A +0 ' "$(kc get pdb web 2>&1)"
on_w2=$(pods_of app=web | awk '$4=="w2" && $5=="live"' | wc -l)
if [ "$on_w2" -gt 0 ]; then
  expect_fail "drain is held back by the budget" "disruption budget|global timeout" \
    bc drain w2 --ignore-daemonsets --timeout 8s
else
  ok "drain is held back by the budget (no web pod on w2: nothing to hold)"
fi
kc delete pdb web >/dev/null 2>&1
expect_match "berth drain: evicts, waits, drained" 'node/w2 drained' "$(bc drain w2 --ignore-daemonsets --timeout 90s 2>&1)"
expect_eq "no web pod is left on w2" 0 "$(pods_of app=web | awk '$4=="w2" && $5=="live"' | wc -l)"
both_ready() { [ "$(ready_count app=web)" = 2 ]; }
if wait_for 60 both_ready; then ok "the deployment's pods run again on w1"; else not_ok "pods moved" "$(pods_of app=web)"; fi
expect_match "the drained node is cordoned" 'w2 +Ready,SchedulingDisabled' "$(kc get nodes 2>&1)"
expect_eq "kubectl uncordon" "node/w2 uncordoned" "$(kc uncordon w2 2>&1)"

# ---- a node dies ----------------------------------------------------------------------
kc scale deploy/web --replicas=4 >/dev/null 2>&1
four() { [ "$(ready_count app=web)" = 4 ] && pods_of app=web | awk '$5=="live"{print $4}' | grep -q w2; }
if wait_for 60 four; then ok "four ready pods, some of them on w2"; else not_ok "pods on w2 before it dies" "$(pods_of app=web)"; fi
t0=$SECONDS
cluster_agent_stop w2 KILL
not_ready() { kc get node w2 2>/dev/null | grep -q NotReady; }
if wait_for 30 not_ready; then ok "the dead agent's node turns NotReady after the grace period"; else not_ok "NotReady" "$(kc get nodes 2>&1)"; fi
expect_match "it is tainted unreachable" 'node.kubernetes.io/unreachable' "$(kc get node w2 -o jsonpath='{.spec.taints}' 2>&1)"
moved() { [ "$(pods_of app=web | awk '$2=="Running" && $3=="ready" && $4!="w2" && $5=="live"' | wc -l)" = 4 ]; }
if wait_for 60 moved; then ok "all 4 pods run on the other nodes $((SECONDS - t0)) s after the agent died (≤ 60 s)"
else not_ok "pods replaced" "$(pods_of app=web)"; fi

for f in "$T/server.log" "$T"/agent-*.log; do
  if grep -q "ERROR: AddressSanitizer\|runtime error:" "$f"; then not_ok "$(basename "$f") has sanitizer reports" "$(grep -m3 'ERROR\|runtime error' "$f")"
  else ok "$(basename "$f"): no sanitizer reports"; fi
done
