#!/usr/bin/env bash
# t_pods_api.sh — pods and nodes in the API server, without an agent: a node
# created through the API, pod defaults and validation (422 naming the
# field), fieldValidation Strict and Warn, the status subresource (writes to
# the pod keep its status; writes to /status change nothing else), what a
# pod update may change, generation, the binding subresource and the
# scheduler placing pods on Ready nodes that fit (t_sched.sh tests it in
# depth), field selectors on
# spec.nodeName and status.phase, graceful deletion (deletionTimestamp,
# grace 0 finishes it), finalizers, a namespace that turns Terminating, and
# kubectl get/describe of pods and nodes.
source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/cluster.sh"
cluster_server || { not_ok "server starts" "$(tail -5 "$T/server.log")"; exit 1; }

MP=(-H 'Content-Type: application/merge-patch+json')
P=/api/v1/namespaces/default/pods
N=/api/v1/nodes

expect_match "kube-node-lease and kube-system exist" ' 200$' "$(req GET /api/v1/namespaces/kube-node-lease)"
expect_match "discovery lists pods (po), pods/status, pods/log, pods/exec, pods/binding, nodes (no)" \
  '"name":"nodes".*"shortNames":\["no"\].*"name":"nodes/status".*"name":"pods".*"shortNames":\["po"\].*"name":"pods/status".*"name":"pods/binding".*"name":"pods/log".*"name":"pods/exec"' \
  "$(req GET /api/v1)"

# ---- validation and defaults ----------------------------------------------------
out=$(req POST $P -d '{"metadata":{"name":"p0"},"spec":{}}')
expect_match "pod without containers: 422 spec.containers Required" 'Pod \\"p0\\" is invalid: spec.containers: Required value.*"reason":"Invalid".*"field":"spec.containers".* 422$' "$out"
out=$(req POST $P -d '{"metadata":{"name":"p0"},"spec":{"containers":[{"name":"c"}]}}')
expect_match "container without image: 422 naming spec.containers[0].image" 'spec.containers\[0\].image: Required value.* 422$' "$out"
out=$(req POST $P -d '{"metadata":{"name":"p0"},"spec":{"containers":[{"name":"c","image":"busybox","resources":{"limits":{"memory":"64Mx"}}}]}}')
expect_match "bad quantity: 422 naming the field" 'spec.containers\[0\].resources.limits\[memory\]: Invalid value: \\"64Mx\\".* 422$' "$out"
out=$(req POST $P -d '{"metadata":{"name":"p0"},"spec":{"restartPolicy":"Sometimes","containers":[{"name":"c","image":"busybox"}]}}')
expect_match "bad restartPolicy: 422 Unsupported value" 'spec.restartPolicy: Unsupported value: \\"Sometimes\\": supported values: \\"Always\\", \\"OnFailure\\", \\"Never\\".* 422$' "$out"
out=$(req POST $P -d '{"metadata":{"name":"p0"},"spec":{"containers":[{"name":"c","image":"busybox","resources":{"requests":{"cpu":"2"},"limits":{"cpu":"1"}}}]}}')
expect_match "requests above limits: 422" 'must be less than or equal to cpu limit.* 422$' "$out"
out=$(req POST $P -d '{"metadata":{"name":"p0"},"spec":{"containers":[{"name":"c","image":"busybox"},{"name":"c","image":"busybox"}]}}')
expect_match "duplicate container names: 422 Duplicate value" 'spec.containers\[1\].name: Duplicate value: \\"c\\".* 422$' "$out"
expect_match "nothing was created by the bad requests" '"items":\[\]' "$(req GET $P)"

out=$(req POST "$P?fieldValidation=Strict" -d '{"metadata":{"name":"p0"},"spec":{"bogus":1,"containers":[{"name":"c","image":"busybox","imagePullPolicyy":"x"}]}}')
expect_match "fieldValidation=Strict: 400 naming each unknown field" 'strict decoding error: unknown field \\"spec.bogus\\", unknown field \\"spec.containers\[0\].imagePullPolicyy\\".* 400$' "$out"
hdr=$("${C[@]}" -D - -o "$T/warn.json" -X POST "$URL$P?fieldValidation=Warn" -d '{"metadata":{"name":"pw"},"spec":{"bogus":1,"containers":[{"name":"c","image":"busybox:1.36"}]}}')
expect_match "fieldValidation=Warn: 201 with a Warning header" $'Warning: 299 - "unknown field \\\\"spec.bogus\\\\""' "$hdr"
expect_eq "... and the unknown field is dropped" 0 "$(grep -c bogus "$T/warn.json")"
out=$(req GET $P/pw)
expect_eq "defaults: restartPolicy, dnsPolicy, grace period, schedulerName, pull policy, qosClass, phase" \
  "Always ClusterFirst 30 default-scheduler IfNotPresent BestEffort Pending 1" \
  "$(jq_ 'd["spec"]["restartPolicy"],d["spec"]["dnsPolicy"],d["spec"]["terminationGracePeriodSeconds"],d["spec"]["schedulerName"],d["spec"]["containers"][0]["imagePullPolicy"],d["status"]["qosClass"],d["status"]["phase"],d["metadata"]["generation"]' <<<"$out" | tr -d "()',")"

# ---- nodes, the scheduler, binding ----------------------------------------------
node() { # NAME CPU MEMORY READY
  req POST $N -d "{\"metadata\":{\"name\":\"$1\",\"labels\":{\"disk\":\"$1\"}},\"status\":{\"capacity\":{\"cpu\":\"$2\",\"memory\":\"$3\",\"pods\":\"110\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"$4\"}],\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.0.0.1\"}],\"nodeInfo\":{\"kubeletVersion\":\"v1.33.1-berth\",\"osImage\":\"Debian\",\"kernelVersion\":\"6.1\",\"containerRuntimeVersion\":\"berth://0.1.0\"}}}"
}
expect_match "create a node through the API: 201, allocatable defaulted from capacity" '"allocatable":\{"cpu":"1".* 201$' "$(node n-small 1 1Gi True)"
expect_match "a node name must be a DNS subdomain" ' 422$' "$(req POST $N -d '{"metadata":{"name":"Bad_Node"}}')"
node n-big 8 16Gi True >/dev/null
node n-down 64 64Gi False >/dev/null
bound() { [ "$(req GET "$P/$1" | jq_ 'd["spec"].get("nodeName","")')" == "$2" ]; }
req POST $P -d '{"metadata":{"name":"fits-small"},"spec":{"containers":[{"name":"c","image":"busybox","resources":{"requests":{"cpu":"500m","memory":"100Mi"}}}]}}' >/dev/null
if wait_for 10 bound fits-small n-big || wait_for 1 bound fits-small n-small; then ok "the scheduler binds a pod to a Ready node"; else not_ok "the scheduler binds a pod" "$(req GET $P/fits-small)"; fi
req POST $P -d '{"metadata":{"name":"needs-4"},"spec":{"containers":[{"name":"c","image":"busybox","resources":{"requests":{"cpu":"4"}}}]}}' >/dev/null
if wait_for 10 bound needs-4 n-big; then ok "a pod needing 4 CPUs goes to the 8-CPU node, never the NotReady one"; else not_ok "4-CPU pod bound to n-big" "$(req GET $P/needs-4)"; fi
req POST $P -d '{"metadata":{"name":"too-big"},"spec":{"containers":[{"name":"c","image":"busybox","resources":{"requests":{"memory":"100Gi"}}}]}}' >/dev/null
req POST $P -d '{"metadata":{"name":"sel"},"spec":{"nodeSelector":{"disk":"n-small"},"containers":[{"name":"c","image":"busybox"}]}}' >/dev/null
if wait_for 10 bound sel n-small; then ok "nodeSelector is honoured"; else not_ok "nodeSelector" "$(req GET $P/sel)"; fi
sleep 0.5
expect_eq "a pod no node fits stays unbound" "" "$(req GET $P/too-big | jq_ 'd["spec"].get("nodeName","")')"
expect_match "PodScheduled condition on bound pods" '"type":"PodScheduled","status":"True"|"status":"True".*"type":"PodScheduled"' "$(req GET $P/needs-4)"
req POST $P -d '{"metadata":{"name":"manual"},"spec":{"schedulerName":"my-scheduler","containers":[{"name":"c","image":"busybox"}]}}' >/dev/null
out=$(req POST $P/manual/binding -d '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"manual"},"target":{"apiVersion":"v1","kind":"Node","name":"n-small"}}')
expect_match "POST pods/NAME/binding: 201 Success" '"status":"Success".* 201$' "$out"
expect_match "... binds it" '"nodeName":"n-small"' "$(req GET $P/manual)"
out=$(req POST $P/manual/binding -d '{"target":{"kind":"Node","name":"n-big"}}')
expect_match "binding a bound pod: 409 Conflict" 'already assigned to node \\"n-small\\".* 409$' "$out"
out=$(req GET "/api/v1/pods?fieldSelector=spec.nodeName%3Dn-small")
expect_match "list pods with fieldSelector spec.nodeName" '"name":"manual"' "$out"
expect_eq "... only that node's" 0 "$(grep -c '"name":"needs-4"' <<<"$out")"
expect_match "fieldSelector status.phase=Pending" '"name":"too-big"' "$(req GET "$P?fieldSelector=status.phase%3DPending")"
# what an agent watches: its node's pods, from the start and then as they come
out=$(timeout 5 "${C[@]}" -N "$URL/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3Dn-small&timeoutSeconds=2" &
  sleep 0.5
  req POST $P -d '{"metadata":{"name":"watched","annotations":{"note":"\"nodeName\":\"n-small\""}},"spec":{"nodeName":"n-small","containers":[{"name":"c","image":"busybox"}]}}' >/dev/null
  req POST $P -d '{"metadata":{"name":"elsewhere","annotations":{"note":"nodeName n-small"}},"spec":{"nodeName":"n-big","containers":[{"name":"c","image":"busybox"}]}}' >/dev/null
  wait)
names=$(python3 -c 'import json,sys; print(" ".join(e["type"]+":"+e["object"]["metadata"]["name"] for e in map(json.loads, sys.stdin)))' <<<"$out")
expect_match "watch with fieldSelector spec.nodeName: that node's pods, old and new" "ADDED:manual .*ADDED:watched" "$names"
expect_eq "... none of another node's, whatever their annotations say" "" "$(grep -oE 'needs-4|elsewhere' <<<"$names")"
req DELETE "$P/watched?gracePeriodSeconds=0" >/dev/null
req DELETE "$P/elsewhere?gracePeriodSeconds=0" >/dev/null

# ---- status subresource, updates, generation ------------------------------------
out=$(req PATCH $P/manual/status "${MP[@]}" -d '{"status":{"phase":"Running","podIP":"10.88.0.9"},"spec":{"nodeName":"elsewhere"}}')
expect_match "PATCH pods/NAME/status changes the status" '"phase":"Running".*"podIP":"10.88.0.9".* 200$' "$out"
expect_match "... and nothing else" '"nodeName":"n-small"' "$out"
out=$(req PATCH $P/manual "${MP[@]}" -d '{"metadata":{"labels":{"a":"b"}},"status":{"phase":"Failed"}}')
expect_match "PATCH of the pod keeps the stored status" '"phase":"Running".* 200$' "$out"
expect_eq "a label change does not bump generation" 1 "$(jq_ 'd["metadata"]["generation"]' <<<"$out")"
out=$(req PATCH $P/manual -H 'Content-Type: application/strategic-merge-patch+json' -d '{"spec":{"containers":[{"name":"c","image":"busybox:1.36"}]}}')
expect_match "changing a container image (strategic merge patch) is allowed" '"image":"busybox:1.36".* 200$' "$out"
expect_eq "... and bumps generation" 2 "$(jq_ 'd["metadata"]["generation"]' <<<"$out")"
out=$(req PATCH $P/manual "${MP[@]}" -d '{"spec":{"restartPolicy":"Never"}}')
expect_match "other pod spec changes: 422 Forbidden" 'spec: Forbidden: pod updates may not change fields other than.* 422$' "$out"
out=$(req PATCH $N/n-small/status "${MP[@]}" -d '{"status":{"conditions":[{"type":"Ready","status":"False"}]}}')
expect_match "PATCH nodes/NAME/status" '"status":"False".* 200$' "$out"
out=$(kc get nodes 2>&1)
expect_match "kubectl get nodes: NAME STATUS ROLES AGE VERSION" $'NAME +STATUS +ROLES +AGE +VERSION\nn-big +Ready +<none> +[0-9]+s +v1.33.1-berth\nn-down +NotReady' "$out"
out=$(kc get nodes -o wide 2>&1)
expect_match "kubectl get nodes -o wide" 'INTERNAL-IP +EXTERNAL-IP +OS-IMAGE +KERNEL-VERSION +CONTAINER-RUNTIME.*n-big +Ready .* 10.0.0.1 +<none> +Debian +6.1 +berth://0.1.0' "$(tr '\n' ' ' <<<"$out")"
out=$(kc get pods 2>&1)
expect_match "kubectl get pods: NAME READY STATUS RESTARTS AGE" $'NAME +READY +STATUS +RESTARTS +AGE\nfits-small +0/1 +Pending +0 +[0-9]+s' "$out"
out=$(kc get pods -o wide 2>&1)
expect_match "kubectl get pods -o wide shows IP and NODE" 'manual +0/1 +Running +0 +[0-9]+s +10.88.0.9 +n-small +<none> +<none>' "$out"
out=$(kc describe pod manual 2>&1)
expect_match "kubectl describe pod" $'Name: +manual\nNamespace: +default.*Node: +n-small.*Status: +Running.*IP: +10.88.0.9.*Containers:.*c:.*Image: +busybox:1.36' "$(tr '\n' '\a' <<<"$out" | tr '\a' '\n')"
out=$(kc describe node n-big 2>&1)
expect_match "kubectl describe node" 'Name: +n-big' "$out"

# ---- what a node's credential may do ----------------------------------------------
reg=$(curl -s --cacert "$DATA/ca.crt" -H "Authorization: Bearer $(cat "$DATA/node-token")" \
  -X POST "$URL/berth/v1/register" -d '{"node":"n-auth","password":"pw","addresses":["127.0.0.1"]}')
NT=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["token"])' "$reg" 2>/dev/null)
expect_match "a node registers with the join token" '^node:n-auth:' "$NT"
NC=(curl -s --cacert "$DATA/ca.crt" -H "Authorization: Bearer $NT")
nreq() { local m=$1 p=$2; shift 2; "${NC[@]}" -X "$m" -w ' %{http_code}' "$@" "$URL$p"; }
expect_match "node: create its own Node" ' 201$' "$(nreq POST $N -d '{"metadata":{"name":"n-auth"},"status":{"capacity":{"cpu":"1","memory":"1Gi","pods":"10"}}}')"
expect_match "node: patch its own status" ' 200$' "$(nreq PATCH $N/n-auth/status "${MP[@]}" -d '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}')"
expect_match "node: another node's status is 403 Forbidden" 'nodes \\"n-big\\" is forbidden: User \\"system:node:n-auth\\" cannot patch resource \\"nodes/status\\".* 403$' \
  "$(nreq PATCH $N/n-big/status "${MP[@]}" -d '{"status":{}}')"
expect_match "node: deleting its Node is 403" ' 403$' "$(nreq DELETE $N/n-auth)"
expect_match "node: creating a pod is 403" ' 403$' "$(nreq POST $P -d '{"metadata":{"name":"x"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}')"
req POST /api/v1/namespaces/default/secrets -d '{"metadata":{"name":"used"},"stringData":{"k":"v"}}' >/dev/null
req POST /api/v1/namespaces/default/secrets -d '{"metadata":{"name":"unused"},"stringData":{"k":"v"}}' >/dev/null
req POST $P -d '{"metadata":{"name":"on-auth"},"spec":{"nodeName":"n-auth","containers":[{"name":"c","image":"busybox","env":[{"name":"S","valueFrom":{"secretKeyRef":{"name":"used","key":"k"}}}]}]}}' >/dev/null
expect_match "node: status of a pod bound to it" ' 200$' "$(nreq PATCH $P/on-auth/status "${MP[@]}" -d '{"status":{"phase":"Running"}}')"
expect_match "node: status of a pod bound elsewhere is 403" 'can only update pod status of pods bound to the node.* 403$' \
  "$(nreq PATCH $P/needs-4/status "${MP[@]}" -d '{"status":{"phase":"Running"}}')"
expect_match "node: patching a pod's spec is 403" ' 403$' "$(nreq PATCH $P/on-auth "${MP[@]}" -d '{"metadata":{"labels":{"x":"y"}}}')"
expect_match "node: reads pods" ' 200$' "$(nreq GET "$P?fieldSelector=spec.nodeName%3Dn-auth")"
expect_match "node: get a secret its pod uses" '"name":"used".* 200$' "$(nreq GET /api/v1/namespaces/default/secrets/used)"
expect_match "node: another secret is 403" 'no relationship found between node and this object.* 403$' "$(nreq GET /api/v1/namespaces/default/secrets/unused)"
expect_match "node: listing secrets is 403" ' 403$' "$(nreq GET /api/v1/namespaces/default/secrets)"
LE=/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases
expect_match "node: its Lease" ' 201$' "$(nreq POST $LE -d '{"metadata":{"name":"n-auth"},"spec":{"holderIdentity":"n-auth","leaseDurationSeconds":40}}')"
expect_match "node: another node's Lease is 403" ' 403$' "$(nreq POST $LE -d '{"metadata":{"name":"n-big"},"spec":{"holderIdentity":"n-big"}}')"
expect_match "node: events" ' 201$' "$(nreq POST /api/v1/namespaces/default/events -d '{"metadata":{"name":"e1"},"involvedObject":{"kind":"Pod","name":"on-auth","namespace":"default"},"reason":"Started","type":"Normal"}')"
expect_match "node: a configmap is 403" ' 403$' "$(nreq POST /api/v1/namespaces/default/configmaps -d '{"metadata":{"name":"c"}}')"
expect_match "node: the final DELETE of its pod" ' 200$' "$(nreq DELETE $P/on-auth -d '{"gracePeriodSeconds":0}')"
expect_match "node: deleting another node's pod is 403" ' 403$' "$(nreq DELETE $P/needs-4 -d '{"gracePeriodSeconds":0}')"

# ---- deletion -------------------------------------------------------------------
out=$(req DELETE $P/too-big)
expect_match "an unbound pod is deleted at once" ' 200$' "$out"
expect_match "... gone" ' 404$' "$(req GET $P/too-big)"
out=$(req DELETE $P/manual -d '{"gracePeriodSeconds":30}')
expect_match "a bound pod: DELETE marks it (deletionTimestamp, grace 30)" '"deletionTimestamp":"[0-9TZ:-]+","deletionGracePeriodSeconds":30.* 200$' "$out"
expect_match "... it is still there" ' 200$' "$(req GET $P/manual)"
expect_match "... kubectl shows Terminating" 'manual +0/1 +Terminating' "$(kc get pods 2>&1)"
out=$(req DELETE $P/manual -d '{"gracePeriodSeconds":0,"preconditions":{"uid":"not-its-uid"}}')
expect_match "delete with a wrong uid precondition: 409" 'Precondition failed: UID in precondition.* 409$' "$out"
uid=$(req GET $P/manual | jq_ 'd["metadata"]["uid"]')
req DELETE $P/manual -d "{\"gracePeriodSeconds\":0,\"preconditions\":{\"uid\":\"$uid\"}}" >/dev/null
expect_match "grace 0 (the node is done) removes it" ' 404$' "$(req GET $P/manual)"

CM=/api/v1/namespaces/default/configmaps
req POST $CM -d '{"metadata":{"name":"fin","finalizers":["example.com/hold"]}}' >/dev/null
expect_match "an object with a finalizer: DELETE marks it" '"deletionTimestamp":.* 200$' "$(req DELETE $CM/fin)"
expect_match "... it stays" ' 200$' "$(req GET $CM/fin)"
req PATCH $CM/fin "${MP[@]}" -d '{"metadata":{"finalizers":null}}' >/dev/null
expect_match "removing the last finalizer deletes it" ' 404$' "$(req GET $CM/fin)"

req POST /api/v1/namespaces -d '{"metadata":{"name":"term"}}' >/dev/null
req POST /api/v1/namespaces/term/pods -d '{"metadata":{"name":"p"},"spec":{"nodeName":"n-big","containers":[{"name":"c","image":"busybox"}]}}' >/dev/null
req POST /api/v1/namespaces/term/configmaps -d '{"metadata":{"name":"c"}}' >/dev/null
req DELETE /api/v1/namespaces/term >/dev/null
expect_match "a namespace with a running pod turns Terminating" '"phase":"Terminating"' "$(req GET /api/v1/namespaces/term)"
expect_match "... its configmap is gone already" ' 404$' "$(req GET /api/v1/namespaces/term/configmaps/c)"
expect_match "... nothing new may be created in it: 403" 'because it is being terminated.* 403$' \
  "$(req POST /api/v1/namespaces/term/configmaps -d '{"metadata":{"name":"late"}}')"
req DELETE /api/v1/namespaces/term/pods/p -d '{"gracePeriodSeconds":0}' >/dev/null
expect_match "when its last pod is gone, so is the namespace" ' 404$' "$(req GET /api/v1/namespaces/term)"

cluster_server_stop; rc=$?
expect_eq "server stops cleanly" 0 "$rc"
if grep -q 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error' "$T/server.log"; then
  not_ok "server log has no sanitizer reports" "$(grep -m3 -A5 Sanitizer "$T/server.log")"
else
  ok "server log has no sanitizer reports"
fi
