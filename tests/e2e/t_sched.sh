#!/usr/bin/env bash
# t_sched.sh — the scheduler in `berth server`, as a user sees it: a pod
# created before any node exists waits ("no nodes available") and is
# scheduled onto the first node that appears — a real `berth agent`, where
# it runs. Then Node objects created through the API (Ready, capacity,
# labels, zones, a taint; nothing runs their pods, which is fine for
# placement) show each filter placing pods and, when nothing fits, the
# PodScheduled condition and the FailedScheduling event with kube's message
# (kubectl describe shows both, and the event is not repeated on retries):
# resources, nodeSelector, required node affinity, taints and tolerations,
# host ports, a cordoned node, anti-affinity by hostname and by zone,
# topology spread, garbage in a pod's affinity. Pods for another scheduler
# stay Pending. Priority: the higher-priority pod gets the last slot; a
# high-priority pod preempts a low-priority one on the agent's node (the
# victim is deleted gracefully, the preemptor nominated, then bound, then
# running). The server restarted with --scheduler-strategy binpack places
# where spread did not. GET /metrics: the admin's only.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"

[ "$(id -u)" = 0 ] || { echo "  skipped: needs root"; ok "t_sched skipped (not root)"; exit 0; }

AGENT=sched-agent
P=/api/v1/namespaces/default/pods
on_agent() { get "$P?fieldSelector=spec.nodeName%3D$AGENT" | jq_ '" ".join(i["metadata"]["name"] for i in d["items"])'; }

cluster_start

# pod NAME PRIORITY SPEC-EXTRA-JSON [CPU] — a pending pod (sleeps when run);
# a priority other than 0 comes from a PriorityClass "prio-N" (made here), as
# the server's priority admission wants it.
pod() {
  local res="" cls=""
  [ -n "${4:-}" ] && res=",\"resources\":{\"requests\":{\"cpu\":\"$4\"}}"
  if [ "$2" != 0 ]; then
    req POST /apis/scheduling.k8s.io/v1/priorityclasses \
      -d "{\"metadata\":{\"name\":\"prio-$2\"},\"value\":$2}" >/dev/null
    cls="\"priorityClassName\":\"prio-$2\","
  fi
  req POST $P -d "{\"metadata\":{\"name\":\"$1\",\"labels\":{\"name\":\"$1\"}},\"spec\":{$cls\"terminationGracePeriodSeconds\":2,\"containers\":[{\"name\":\"c\",\"image\":\"busybox\",\"command\":[\"sleep\",\"3600\"]$res}]${3:+,$3}}}"
}
node_of() { get "$P/$1" | jq_ 'd["spec"].get("nodeName","")'; }
bound() { [ -n "$(node_of "$1")" ]; }
bound_to() { [ "$(node_of "$1")" = "$2" ]; }
sched_cond() { get "$P/$1" | jq_ '[c["status"]+" "+c.get("reason","")+" "+c.get("message","") for c in d["status"].get("conditions",[]) if c["type"]=="PodScheduled"][0]'; }
unschedulable() { [[ "$(sched_cond "$1")" == "False Unschedulable "* ]]; }
events_of() { # POD REASON — the messages of the pod's events with that reason
  get "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D$1,reason%3D$2" |
    jq_ '"\n".join(e["message"] for e in d["items"])'
}
# expect_unsched NAME POD REGEX — the pod stays unbound; its condition's message matches
expect_unsched() {
  if wait_for 15 unschedulable "$2" && ! bound "$2"; then
    expect_match "$1" "$3" "$(sched_cond "$2")"
  else
    not_ok "$1" "$(get "$P/$2")"
  fi
}

# ---- before any node ------------------------------------------------------------------
pod early 0 >/dev/null
expect_unsched "no node yet: PodScheduled False, Unschedulable" early '^False Unschedulable no nodes available to schedule pods$'
if wait_for 10 test -n "$(events_of early FailedScheduling)"; then
  expect_eq "... a FailedScheduling event says so" "no nodes available to schedule pods" "$(events_of early FailedScheduling)"
else not_ok "FailedScheduling event" "none"; fi

# ---- a real node: the pod goes there and runs ------------------------------------------
CIDR=10.241.$(($$ % 250)).0/24
cluster_agent_start $AGENT berths0 "$CIDR" --node-label topology.kubernetes.io/zone=zagent
if wait_for 60 bound_to early $AGENT; then ok "the node appears: the waiting pod is scheduled there"; else
  not_ok "early scheduled onto the agent" "$(get "$P/early") $(tail -5 "$T/agent.log")"; exit 1; fi
running() { [ "$(get "$P/$1" | jq_ 'd["status"].get("phase")')" = Running ]; }
if wait_for 60 running early; then ok "... and runs there"; else not_ok "early Running" "$(get "$P/early")"; fi
expect_match "... with an address from the node's pod CIDR" "^${CIDR%.0/24}\.[0-9]+$" "$(get "$P/early" | jq_ 'd["status"].get("podIP")')"
expect_eq "... PodScheduled True" "True" "$(sched_cond early | cut -d' ' -f1)"
expect_eq "... event Scheduled" "Successfully assigned default/early to $AGENT" "$(events_of early Scheduled)"
expect_match "kubectl get events: Scheduled from default-scheduler" "Normal +Scheduled +pod/early +Successfully assigned default/early to $AGENT" \
  "$(kc get events --field-selector involvedObject.name=early 2>&1)"

# The agent's node is cordoned for the placement cases (Node objects below).
expect_match "kubectl cordon" "node/$AGENT cordoned" "$(kc cordon $AGENT 2>&1)"

# ---- Node objects ------------------------------------------------------------------------
# node NAME ZONE DISK CPU [SPEC-JSON] [EXTRA-LABELS]
node() {
  req POST /api/v1/nodes -d "{\"metadata\":{\"name\":\"$1\",\"labels\":{\"kubernetes.io/hostname\":\"$1\",\"topology.kubernetes.io/zone\":\"$2\",\"disk\":\"$3\"${6:+,$6}}},\"spec\":${5:-{\}},\"status\":{\"capacity\":{\"cpu\":\"$4\",\"memory\":\"8Gi\",\"pods\":\"110\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}" >/dev/null
}
node n-a za ssd 4
node n-b zb hdd 4
node n-c za hdd 4
node n-gpu zb nvme 8 '{"taints":[{"key":"dedicated","value":"gpu","effect":"NoSchedule"}]}' '"gpu":"true"'
ZONE() { get "/api/v1/nodes/$1" | jq_ 'd["metadata"]["labels"]["topology.kubernetes.io/zone"]'; }

# resources, taints and tolerations
pod big 0 "" 6 >/dev/null
expect_unsched "6 CPUs fit nowhere untainted: the reasons, counted and sorted" big \
  "^False Unschedulable 0/5 nodes are available: 1 node\(s\) had untolerated taint \{dedicated: gpu\}, 1 node\(s\) were unschedulable, 3 Insufficient cpu\. preemption: 0/5 nodes are available: 2 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod\.\.$"
describe=$(kc describe pod big 2>&1)
expect_match "kubectl describe: PodScheduled False" "PodScheduled +False" "$describe"
expect_match "kubectl describe: the FailedScheduling event" "Warning +FailedScheduling +[0-9a-z]+ +default-scheduler +0/5 nodes are available: 1 node\(s\) had untolerated taint \{dedicated: gpu\}" "$describe"
pod big-tol 0 '"tolerations":[{"key":"dedicated","operator":"Equal","value":"gpu","effect":"NoSchedule"}]' 6 >/dev/null
if wait_for 15 bound_to big-tol n-gpu; then ok "tolerating the taint: the 8-CPU tainted node"; else not_ok "big-tol on n-gpu" "$(get "$P/big-tol")"; fi
sleep 3 # big is retried meanwhile: no new event for the same message
expect_eq "the FailedScheduling event is not repeated" 1 "$(events_of big FailedScheduling | grep -c .)"

# nodeSelector and required node affinity
pod sel 0 '"nodeSelector":{"disk":"ssd"}' >/dev/null
if wait_for 15 bound_to sel n-a; then ok "nodeSelector disk=ssd: n-a"; else not_ok "nodeSelector" "$(get "$P/sel")"; fi
pod aff 0 '"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"topology.kubernetes.io/zone","operator":"In","values":["za"]},{"key":"disk","operator":"NotIn","values":["ssd"]}]}]}}}' >/dev/null
if wait_for 15 bound_to aff n-c; then ok "required node affinity (zone In za, disk NotIn ssd): n-c"; else not_ok "node affinity" "$(get "$P/aff")"; fi
pod aff-none 0 '"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"gpu","operator":"DoesNotExist"},{"key":"disk","operator":"In","values":["tape"]}]}]}}}' >/dev/null
expect_unsched "node affinity no node matches" aff-none "0/5 nodes are available: .*3 node\(s\) didn't match Pod's node affinity/selector"

# the cordoned node
pod to-cordoned 0 "\"nodeSelector\":{\"kubernetes.io/hostname\":\"$AGENT\"}" >/dev/null
expect_unsched "a pod only the cordoned node would take" to-cordoned "0/5 nodes are available: .*1 node\(s\) were unschedulable"

# host ports: two pods on the two zone-a nodes, the third finds no free port
for p in hp-1 hp-2 hp-3; do
  req POST $P -d "{\"metadata\":{\"name\":\"$p\"},\"spec\":{\"nodeSelector\":{\"topology.kubernetes.io/zone\":\"za\"},\"containers\":[{\"name\":\"c\",\"image\":\"busybox\",\"ports\":[{\"containerPort\":80,\"hostPort\":9090}]}]}}" >/dev/null
  [ $p = hp-3 ] || wait_for 15 bound $p
done
expect_eq "hostPort 9090: one pod per zone-a node" "n-a n-c" "$(printf '%s\n' "$(node_of hp-1)" "$(node_of hp-2)" | sort | tr '\n' ' ' | sed 's/ $//')"
expect_unsched "... the third: no free port" hp-3 "2 node\(s\) didn't have free ports for the requested pod ports"

# pod anti-affinity by hostname: one per schedulable node, the fourth waits
for i in 1 2 3; do
  req POST $P -d "{\"metadata\":{\"name\":\"web-$i\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"topologyKey\":\"kubernetes.io/hostname\"}]}},\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}" >/dev/null
  wait_for 15 bound web-$i
done
expect_eq "anti-affinity by hostname: three pods on three nodes" "n-a n-b n-c" "$(for i in 1 2 3; do node_of web-$i; done | sort | tr '\n' ' ' | sed 's/ $//')"
req POST $P -d '{"metadata":{"name":"web-4","labels":{"app":"web"}},"spec":{"affinity":{"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"labelSelector":{"matchLabels":{"app":"web"}},"topologyKey":"kubernetes.io/hostname"}]}},"containers":[{"name":"c","image":"busybox"}]}}' >/dev/null
expect_unsched "... the fourth has no node left" web-4 "3 node\(s\) didn't match pod anti-affinity rules"
req POST $P -d '{"metadata":{"name":"web-plain","labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}' >/dev/null
expect_unsched "a pod the others' anti-affinity rejects" web-plain "3 node\(s\) didn't satisfy existing pods anti-affinity rules"

# by zone: two zones, two pods
for i in 1 2 3; do
  req POST $P -d "{\"metadata\":{\"name\":\"zonal-$i\",\"labels\":{\"app\":\"zonal\"}},\"spec\":{\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{\"labelSelector\":{\"matchLabels\":{\"app\":\"zonal\"}},\"topologyKey\":\"topology.kubernetes.io/zone\"}]}},\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}" >/dev/null
  [ $i = 3 ] || wait_for 15 bound zonal-$i
done
expect_eq "anti-affinity by zone: one pod in each zone" "za zb" "$(for i in 1 2; do ZONE "$(node_of zonal-$i)"; done | sort | tr '\n' ' ' | sed 's/ $//')"
expect_unsched "... the third waits" zonal-3 "didn't match pod anti-affinity rules"

# topology spread: 4 pods over the zones, maxSkew 1
for i in 1 2 3 4; do
  req POST $P -d "{\"metadata\":{\"name\":\"spread-$i\",\"labels\":{\"app\":\"spread\"}},\"spec\":{\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"topology.kubernetes.io/zone\",\"whenUnsatisfiable\":\"DoNotSchedule\",\"labelSelector\":{\"matchLabels\":{\"app\":\"spread\"}}}],\"nodeSelector\":{\"disk\":\"hdd\"},\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}" >/dev/null
  wait_for 15 bound spread-$i
done
expect_eq "topology spread (maxSkew 1 over zones): 2 and 2" "za za zb zb" "$(for i in 1 2 3 4; do ZONE "$(node_of spread-$i)"; done | sort | tr '\n' ' ' | sed 's/ $//')"

# garbage in a pod's affinity: unschedulable, with the field named
out=$(req POST $P -d '{"metadata":{"name":"garbage"},"spec":{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"disk","operator":"Sometimes","values":["x"]}]}]}}},"containers":[{"name":"c","image":"busybox"}]}}')
if [[ "$out" == *" 201" ]]; then
  expect_unsched "garbage in affinity: reported, naming the field" garbage \
    'invalid scheduling constraints: spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms\[0\].matchExpressions\[0\].operator: Unsupported value: "Sometimes"'
else
  expect_match "garbage in affinity: refused by validation" ' 422$' "$out"
fi

# another scheduler's pod is left alone
pod other 0 '"schedulerName":"my-scheduler"' >/dev/null
sleep 2
expect_eq "schedulerName my-scheduler: left Pending, unbound, no condition" "Pending  -" \
  "$(get "$P/other" | jq_ 'd["status"].get("phase")+" "+d["spec"].get("nodeName","")+" "+str(len(d["status"].get("conditions",[])) or "-")')"

# ---- priority: the queue takes the higher first ------------------------------------------
pod lo 10 '"nodeSelector":{"role":"prio"}' >/dev/null
pod hi 1000 '"nodeSelector":{"role":"prio"}' >/dev/null
wait_for 15 unschedulable lo
wait_for 15 unschedulable hi
sleep 5 # both tried a few times; the next change makes both due at once
req POST /api/v1/nodes -d '{"metadata":{"name":"n-prio","labels":{"role":"prio"}},"status":{"capacity":{"cpu":"4","memory":"8Gi","pods":"1"},"conditions":[{"type":"Ready","status":"True"}]}}' >/dev/null
if wait_for 15 bound_to hi n-prio; then ok "one slot, two pods: the higher priority (created later) gets it"; else not_ok "hi on n-prio" "$(get "$P/hi") lo: $(node_of lo)"; fi
expect_unsched "... the lower one waits: Too many pods" lo "1 Too many pods"

# ---- preemption on the agent's node --------------------------------------------------------
expect_match "kubectl uncordon" "node/$AGENT uncordoned" "$(kc uncordon $AGENT 2>&1)"
# three quarters of the node's CPU: one such pod fits, not two
half=$(get /api/v1/nodes/$AGENT | jq_ '"%dm" % ((int(c[:-1]) if c.endswith("m") else int(float(c) * 1000)) * 3 // 4) if (c := d["status"]["allocatable"]["cpu"]) else ""')
pod victim 0 "\"nodeSelector\":{\"kubernetes.io/hostname\":\"$AGENT\"}" $half >/dev/null
if wait_for 60 running victim; then ok "a low-priority pod runs on the agent's node"; else not_ok "victim running" "$(get "$P/victim")"; fi
pod vip 1000000 "\"nodeSelector\":{\"kubernetes.io/hostname\":\"$AGENT\"}" $half >/dev/null
vip_uid=$(get "$P/vip" | jq_ 'd["metadata"]["uid"]')
nominated() { [ "$(get "$P/vip" | jq_ 'd["status"].get("nominatedNodeName","")')" = $AGENT ] || bound vip; }
if wait_for 15 nominated; then ok "the high-priority pod is nominated to the node"; else not_ok "vip nominated" "$(get "$P/vip")"; fi
if wait_for 10 test -n "$(events_of victim Preempted)"; then
  expect_eq "the victim: event Preempted" "Preempted by pod $vip_uid on node $AGENT" "$(events_of victim Preempted)"
else not_ok "Preempted event" "none: $(get "$P/victim")"; fi
gone() { [ "$(req GET "$P/victim" | tail -c 3)" = 404 ]; }
if wait_for 60 gone; then ok "... deleted gracefully: the agent stopped it"; else not_ok "victim gone" "$(get "$P/victim")"; fi
if wait_for 30 bound_to vip $AGENT && wait_for 60 running vip; then ok "the high-priority pod is bound there and runs"; else
  not_ok "vip running" "$(get "$P/vip")"; fi

# ---- preemption honours a PodDisruptionBudget -----------------------------------------------
# Two low-priority pods fill a node's two pod slots (a tainted node, so that
# no other pending pod of this file lands there); a budget guards one
# (minAvailable 1, so no disruption is allowed). The preemptor must take
# the other one.
req POST /api/v1/nodes -d '{"metadata":{"name":"n-pdb","labels":{"role":"pdb"}},"spec":{"taints":[{"key":"only","value":"pdb","effect":"NoSchedule"}]},"status":{"capacity":{"cpu":"4","memory":"8Gi","pods":"2"},"conditions":[{"type":"Ready","status":"True"}]}}' >/dev/null
req POST /apis/policy/v1/namespaces/default/poddisruptionbudgets \
  -d '{"metadata":{"name":"guard"},"spec":{"minAvailable":1,"selector":{"matchLabels":{"name":"guarded"}}}}' >/dev/null
pod guarded 0 '"nodeSelector":{"role":"pdb"},"tolerations":[{"key":"only","value":"pdb","effect":"NoSchedule"}]' >/dev/null
pod spare 0 '"nodeSelector":{"role":"pdb"},"tolerations":[{"key":"only","value":"pdb","effect":"NoSchedule"}]' >/dev/null
if wait_for 15 bound_to guarded n-pdb && wait_for 15 bound_to spare n-pdb; then ok "two low-priority pods fill n-pdb"
else not_ok "guarded and spare on n-pdb" "$(node_of guarded) $(node_of spare): $(sched_cond spare) on n-pdb: $(get "$P?fieldSelector=spec.nodeName%3Dn-pdb" | jq_ '" ".join(p["metadata"]["name"] for p in d["items"])')"; fi
pdb_seen() { [ "$(get /apis/policy/v1/namespaces/default/poddisruptionbudgets/guard | jq_ 'str(d["status"].get("disruptionsAllowed","-"))+" "+str(d["status"].get("expectedPods","-"))')" = "0 1" ]; }
if wait_for 15 pdb_seen; then ok "the budget allows no disruption of the guarded pod"
else not_ok "PDB status" "$(get /apis/policy/v1/namespaces/default/poddisruptionbudgets/guard)"; fi
pod urgent 1000 '"nodeSelector":{"role":"pdb"},"tolerations":[{"key":"only","value":"pdb","effect":"NoSchedule"}]' >/dev/null
if wait_for 15 test -n "$(events_of spare Preempted)"; then ok "the preemptor evicts the pod no budget guards"
else not_ok "spare preempted" "$(get "$P/spare")"; fi
deleting() { [ -n "$(get "$P/$1" | jq_ 'd["metadata"].get("deletionTimestamp","")')" ]; }
if ! deleting guarded && [ -z "$(events_of guarded Preempted)" ]; then ok "... and leaves the guarded one alone"
else not_ok "guarded kept" "$(get "$P/guarded")"; fi
# nothing runs on n-pdb: finish the victims' deletion as an agent would
req DELETE "$P/spare" -d '{"gracePeriodSeconds":0}' >/dev/null
for x in guarded urgent; do req DELETE "$P/$x" -d '{"gracePeriodSeconds":0}' >/dev/null; done
req DELETE /api/v1/nodes/n-pdb >/dev/null

# ---- metrics --------------------------------------------------------------------------------
m=$(get /metrics)
expect_match "GET /metrics: the decision latency histogram" 'berth_scheduler_decision_duration_seconds_bucket\{le="0.001"\} [0-9]+' "$m"
expect_match "... its sum and count" 'berth_scheduler_decision_duration_seconds_sum [0-9.]+.*berth_scheduler_decision_duration_seconds_count [1-9][0-9]*' "$(tr '\n' ' ' <<<"$m")"
expect_match "... bindings and unschedulable counters" 'berth_scheduler_bindings_total [1-9][0-9]* berth_scheduler_unschedulable_total [1-9]' \
  "$(grep -E '^berth_scheduler_(bindings|unschedulable)_total' <<<"$m" | tr '\n' ' ')"
expect_eq "... Prometheus text" "text/plain; version=0.0.4; charset=utf-8" "$("${C[@]}" -o /dev/null -w '%{content_type}' "$URL/metrics")"
expect_eq "/metrics for a node's credential: 403" 403 "$("${C_ANON[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$ADATA/token")" "$URL/metrics")"
expect_eq "/metrics without credentials: 401" 401 "$("${C_ANON[@]}" -o /dev/null -w '%{http_code}' "$URL/metrics")"

# ---- spread, then binpack ------------------------------------------------------------------
node n-busy zs ssd 4 '{}' '"role":"strat"'
node n-idle zs ssd 4 '{}' '"role":"strat"'
req POST $P -d '{"metadata":{"name":"load"},"spec":{"nodeName":"n-busy","containers":[{"name":"c","image":"busybox","resources":{"requests":{"cpu":"2","memory":"2Gi"}}}]}}' >/dev/null
pod s-spread 0 '"nodeSelector":{"role":"strat"}' 500m >/dev/null
if wait_for 15 bound s-spread; then expect_eq "spread (the default): the idle node" n-idle "$(node_of s-spread)"; else not_ok "s-spread bound" "$(get "$P/s-spread")"; fi
cluster_server_stop
expect_fail "--scheduler-strategy must be spread or binpack" 'invalid --scheduler-strategy "fullest": want spread or binpack' \
  "$BERTH" server --listen 127.0.0.1:$PORT --data-dir "$DATA" --scheduler-strategy fullest
cluster_server --scheduler-strategy binpack || { not_ok "server restarts with binpack" "$(tail -5 "$T/server.log")"; exit 1; }
pod s-binpack 0 '"nodeSelector":{"role":"strat"}' 500m >/dev/null
if wait_for 15 bound s-binpack; then expect_eq "binpack: the busy node" n-busy "$(node_of s-binpack)"; else not_ok "s-binpack bound" "$(get "$P/s-binpack")"; fi
expect_match "server --help documents the flag" "--scheduler-strategy S +how the scheduler ranks" "$("$BERTH" server --help)"

# ---- the end ----------------------------------------------------------------------------------
for p in $(on_agent); do req DELETE "$P/$p" -d '{"gracePeriodSeconds":0}' >/dev/null; done
wait_for 20 test -z "$(on_agent)"
cluster_agent_stop $AGENT
cluster_server_stop
ok "server stops cleanly"
if grep -qE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$T/server.log" "$T/agent.log"; then
  not_ok "no sanitizer reports" "$(grep -E -m3 'AddressSanitizer|runtime error|LeakSanitizer' "$T/server.log" "$T/agent.log")"
else ok "server and agent logs have no sanitizer reports"; fi
