#!/usr/bin/env bash
# t_cli.sh — berth's cluster CLI (get, describe, apply, create, delete, run,
# events, logs, exec) against a real `berth server` on a free port with a
# private data dir, through its admin kubeconfig. Covers kubectl's output
# (tables aligned like kubectl, the empty-list message, -o json|yaml|name|wide,
# -l, -A, --show-labels, -w), client-side apply (created → unchanged →
# configured, the last-applied annotation kept, multi-document files and
# directories), create -f twice (AlreadyExists, rc 1), delete and
# --ignore-not-found, describe of a configmap, a Pending pod (with the
# scheduler's FailedScheduling event: no node yet) and nodes created with
# curl (one with a fresh heartbeat and lease, one long silent that the node
# lifecycle controller turns NotReady and taints unreachable),
# and the errors a user can cause: an unknown type, a
# missing kubeconfig, malformed YAML (line and column, nothing created), bad
# flags (rc 2). As root, an agent joins and logs/exec go through it: output,
# stdin, the command's exit code.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"

cluster_server || { not_ok "server starts" "$(tail -5 "$T/server.log")"; exit 1; }
export KUBECONFIG=$DATA/admin.kubeconfig
export HOME=$T/home # no ~/.berth/config or ~/.kube/config of the machine's
b() { "$BERTH" "$@"; }
# out_err CMD… — "OUT|ERR|RC" of a command.
out_err() { local o e r; o=$("$@" 2>"$T/err"); r=$?; e=$(cat "$T/err"); printf '%s|%s|%s' "$o" "$e" "$r"; }

# ---- help and usage ---------------------------------------------------------------
expect_match "get --help" '^Usage: berth get TYPE' "$(b get --help)"
expect_match "help apply" '^Usage: berth apply -f' "$(b help apply)"
expect_match "cluster --help lists the verbs" 'describe +show objects in detail' "$(b cluster --help)"
r=$(out_err b get); expect_match "get without a type: usage error, rc 2" 'get needs a resource type.*\|2$' "$r"
r=$(out_err b get cm -o foo); expect_match "get -o foo: rc 2" 'unknown output format "foo".*\|2$' "$r"
r=$(out_err b get cm --bogus); expect_match "unknown option: rc 2" 'unknown option --bogus.*\|2$' "$r"

# ---- kubeconfig and type errors ---------------------------------------------------
r=$(out_err b get cm --kubeconfig "$T/nope")
expect_match "missing --kubeconfig file: error, rc 1" "^\|error: .*$T/nope.*No such file.*\|1$" "$r"
out=$(env -u KUBECONFIG "$BERTH" --kubeconfig "$DATA/admin.kubeconfig" -n kube-system get ns kube-system 2>&1)
expect_match "--kubeconfig and -n before the verb, as with kubectl" $'^NAME +STATUS +AGE\nkube-system +Active' "$out"
r=$(out_err b --kubeconfig "$DATA/admin.kubeconfig" container ls)
expect_match "... but not before a node command: usage error, rc 2" 'goes with a cluster command.*\|2$' "$r"
r=$(out_err env -u KUBECONFIG "$BERTH" get cm)
expect_match "no kubeconfig anywhere: names the places, rc 1" '^\|error: no kubeconfig: .*\.berth/config.*\|1$' "$r"
r=$(out_err b get cm --server https://127.0.0.1:1)
expect_match "refused connection: kubectl's words, rc 1" '^\|The connection to the server 127.0.0.1:1 was refused.*\|1$' "$r"
expect_eq "unknown type" '|error: the server doesn'"'"'t have a resource type "foos"|1' "$(out_err b get foos)"
expect_eq "describe an unknown type" '|error: the server doesn'"'"'t have a resource type "foos"|1' "$(out_err b describe foos x)"

# ---- get: namespaces, empty lists ----------------------------------------------------
out=$(b get ns)
expect_match "get ns: kubectl's header" $'^NAME +STATUS +AGE\n' "$out"
expect_match "get ns: default Active, columns 3 spaces apart" $'\ndefault {3,}Active {3,}[0-9]+s' "$out"
expect_match "get namespaces by short name, kind and singular" 'default' "$(b get namespace default && b get Namespace default)"
check "create namespace" b create namespace empty
expect_eq "empty list: message on stderr, rc 0" '|No resources found in empty namespace.|0' "$(out_err b get cm -n empty)"
expect_eq "empty list of a cluster-scoped type" '|No resources found|0' "$(out_err b get ns -l nope=1)"
expect_eq "empty list with -A" '|No resources found|0' "$(out_err b get cm -A -l nope=1)"
expect_eq "create namespace again: AlreadyExists, rc 1" \
  '|Error from server (AlreadyExists): namespaces "empty" already exists|1' "$(out_err b create namespace empty)"

# ---- configmaps: create, get in every format ----------------------------------------
expect_eq "create configmap --from-literal" "configmap/web created" \
  "$(b create configmap web --from-literal=color=blue --from-literal=size=2)"
check "create configmap in another namespace" b create configmap other -n empty --from-literal=a=b
"${C[@]}" -X PATCH -H 'Content-Type: application/merge-patch+json' \
  "$URL/api/v1/namespaces/default/configmaps/web" -d '{"metadata":{"labels":{"app":"web","tier":"fe"}}}' >/dev/null
check "create a configmap with a long name" b create configmap a-much-longer-name
out=$(b get cm)
expect_match "get cm: aligned table" $'^NAME {17}AGE\na-much-longer-name {3}[0-9]+s\nweb {18}[0-9]+s$' "$out"
expect_match "get configmaps -A: NAMESPACE first" $'^NAMESPACE +NAME +AGE\n(.*\n)*default +web +[0-9]+s\nempty +other +[0-9]+s' "$(b get configmaps -A)"
expect_match "--show-labels: LABELS last, sorted k=v" $'NAME +AGE +LABELS\na-much-longer-name +[0-9]+s +<none>\nweb +[0-9]+s +app=web,tier=fe' "$(b get cm --show-labels)"
expect_match "-l selects by label" $'^NAME +AGE\nweb +[0-9]+s$' "$(b get cm -l app=web)"
expect_match "--field-selector" $'^NAME +AGE\nweb +[0-9]+s$' "$(b get cm --field-selector metadata.name=web)"
json=$(b get cm web -o json)
expect_match "-o json: one object, 4-space indents, sorted keys" $'^\\{\n    "apiVersion": "v1",\n    "data": \\{\n        "color": "blue",' "$json"
expect_eq "-o json parses" "blue" "$(jq_ 'd["data"]["color"]' <<<"$json")"
json=$(b get cm web a-much-longer-name -o json)
expect_eq "-o json of two: a List" "List 2 " "$(jq_ 'd["kind"]+" "+str(len(d["items"]))+" "+d["metadata"]["resourceVersion"]' <<<"$json")"
expect_eq "-o json of a list: items keep their kind" "ConfigMap" "$(b get cm -o json | jq_ 'd["items"][0]["kind"]')"
expect_match "-o yaml" $'^apiVersion: v1\ndata:\n  color: blue\n  size: "2"\nkind: ConfigMap\nmetadata:\n' "$(b get cm web -o yaml)"
expect_eq "-o name" $'configmap/a-much-longer-name\nconfigmap/web' "$(b get cm -o name)"
expect_eq "TYPE/NAME form" "configmap/web" "$(b get cm/web -o name)"
expect_eq "create secret generic" "secret/s1 created" "$(b create secret generic s1 --from-literal=k=v)"
expect_match "several types: kind/name" $'configmap/web +[0-9]+s\n\nNAME +TYPE +DATA +AGE\nsecret/s1 +Opaque +1 ' \
  "$(b get cm,secrets)"
expect_match "group-qualified type" 'No resources found|NAME' "$(b get leases.coordination.k8s.io 2>&1)"
r=$(out_err b get cm web nope)
expect_match "a missing name among several: table and error, rc 1" $'^NAME +AGE\nweb +[0-9]+s\\|Error from server \\(NotFound\\): configmaps "nope" not found\\|1$' "$r"

# ---- get -w ------------------------------------------------------------------------
b get cm -n empty -w >"$T/watch.out" 2>&1 &
wpid=$!
wait_for 10 grep -q other "$T/watch.out"
b create configmap watched -n empty >/dev/null
"${C[@]}" -X PATCH -H 'Content-Type: application/merge-patch+json' \
  "$URL/api/v1/namespaces/empty/configmaps/watched" -d '{"data":{"x":"1"}}' >/dev/null
watch_rows() { [ "$(grep -c '^watched ' "$T/watch.out")" -ge 2 ]; }
wait_for 10 watch_rows
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
expect_match "get -w: the list, then a row per event, no second header" \
  $'^NAME +AGE\nother +[0-9]+s\nwatched +[0-9]+s\nwatched +[0-9]+s$' "$(cat "$T/watch.out")"

# ---- apply ---------------------------------------------------------------------------
cat >"$T/app.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
  labels: {team: a}
data:
  k1: v1
  k2: v2
Y
expect_eq "apply creates" "configmap/app created" "$(b apply -f "$T/app.yaml")"
ann=$(b get cm app -o json | jq_ 'd["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]')
expect_eq "last-applied is the manifest as compact JSON, as kubectl writes it" \
  '{"apiVersion":"v1","data":{"k1":"v1","k2":"v2"},"kind":"ConfigMap","metadata":{"annotations":{},"labels":{"team":"a"},"name":"app","namespace":"default"}}' "$ann"
expect_eq "apply again: unchanged" "configmap/app unchanged" "$(b apply -f "$T/app.yaml")"
sed -i -e 's/k1: v1/k1: changed/' -e '/k2: v2/d' -e 's/{team: a}/{}/' "$T/app.yaml"
expect_eq "apply a change: configured" "configmap/app configured" "$(b apply -f "$T/app.yaml")"
got=$(b get cm app -o json)
expect_eq "the change is stored, the dropped key and label are gone" "{'k1': 'changed'} {}" \
  "$(jq_ 'str(d["data"])+" "+str(d["metadata"].get("labels",{}))' <<<"$got")"
expect_match "the annotation is kept and updated" '"k1":"changed"' \
  "$(jq_ 'd["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]' <<<"$got")"
"${C[@]}" -X PATCH -H 'Content-Type: application/merge-patch+json' \
  "$URL/api/v1/namespaces/default/configmaps/app" -d '{"data":{"k1":"drifted","extra":"x"}}' >/dev/null
expect_eq "a change made by someone else is put back" "configmap/app configured" "$(b apply -f "$T/app.yaml")"
expect_eq "... and what they added is left alone" "changed x" "$(b get cm app -o json | jq_ 'd["data"]["k1"]+" "+d["data"]["extra"]')"
cat >"$T/multi.yaml" <<'Y'
apiVersion: v1
kind: Namespace
metadata:
  name: multi
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: one
  namespace: multi
data: {a: "1"}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata: {name: two, namespace: multi}
  stringData: {p: w}
Y
expect_eq "apply a multi-document file with a List" \
  $'namespace/multi created\nconfigmap/one created\nsecret/two created' "$(b apply -f "$T/multi.yaml")"
expect_eq "the secret's stringData became data" "dw==" "$(b get secret two -n multi -o json | jq_ 'd["data"]["p"]')"
mkdir -p "$T/dir"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d2}\n' >"$T/dir/b.yaml"
printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d1"}}' >"$T/dir/a.json"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d3}\n' >"$T/dir/c.yml"
printf 'not: a manifest\n' >"$T/dir/notes.txt"
expect_eq "apply a directory: *.json, *.yaml, *.yml in name order" \
  $'configmap/d1 created\nconfigmap/d2 created\nconfigmap/d3 created' "$(b apply -f "$T/dir" -n multi)"
expect_eq "apply from stdin" "configmap/d1 unchanged" \
  "$(printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d1}\n' | b apply -f - -n multi)"
cat >"$T/wrongns.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: x, namespace: multi}
Y
r=$(out_err b apply -f "$T/wrongns.yaml" -n default)
expect_match "a manifest's namespace against -n: refused, rc 1" \
  "^\|error: the namespace from the provided object \"multi\" does not match the namespace \"default\"\. You must pass '--namespace=multi' to perform this operation\.\|1$" "$r"
cat >"$T/bad.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata:
  name: first-of-bad
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: bad
  labels: [oops
data: {}
Y
r=$(out_err b apply -f "$T/bad.yaml")
expect_match "malformed YAML: the file, line and column, rc 1" "^\|error: error parsing $T/bad.yaml: yaml: line [0-9]+, column [0-9]+: .*\|1$" "$r"
expect_match "... and nothing of the file was created" 'NotFound' "$(b get cm first-of-bad 2>&1)"
r=$(out_err sh -c "printf 'kind: ConfigMap\nmetadata: {name: q}\n' | '$BERTH' apply -f -")
expect_eq "a manifest without apiVersion" '|error: error validating "STDIN": error validating data: apiVersion not set|1' "$r"
r=$(out_err sh -c "printf 'apiVersion: v1\nkind: Foo\nmetadata: {name: q}\n' | '$BERTH' apply -f -")
expect_match "an unknown kind" 'no matches for kind "Foo" in version "v1".*\|1$' "$r"
expect_eq "a missing file" '|error: the path "nope.yaml" does not exist|1' "$(out_err b apply -f nope.yaml)"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: good}\n' >"$T/partly.yaml"
r=$(out_err b apply -f "$T/partly.yaml")
expect_match "an invalid object: kubectl's Invalid message, the others still applied, rc 1" \
  '^configmap/good created\|The configmaps "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": .*\|1$' "$r"

# ---- create -f, delete -----------------------------------------------------------------
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c2\ndata:\n  a: "1"\n' >"$T/c2.yaml"
expect_eq "create -f" "configmap/c2 created" "$(b create -f "$T/c2.yaml")"
expect_eq "create -f again: AlreadyExists, rc 1" \
  "|Error from server (AlreadyExists): error when creating \"$T/c2.yaml\": configmaps \"c2\" already exists|1" \
  "$(out_err b create -f "$T/c2.yaml")"
expect_eq "delete -f" 'configmap "c2" deleted|0' "$(b delete -f "$T/c2.yaml" | tr -d '\n'; echo "|${PIPESTATUS[0]}")"
expect_eq "delete TYPE NAME" 'configmap "a-much-longer-name" deleted' "$(b delete cm a-much-longer-name)"
expect_eq "delete a missing object: NotFound, rc 1" \
  '|Error from server (NotFound): configmaps "a-much-longer-name" not found|1' "$(out_err b delete cm a-much-longer-name)"
expect_eq "delete --ignore-not-found" '||0' "$(out_err b delete cm a-much-longer-name --ignore-not-found)"
expect_eq "delete TYPE/NAME…" $'configmap "d1" deleted\nconfigmap "d2" deleted' "$(b delete cm/d1 configmap/d2 -n multi)"
"${C[@]}" -X PATCH -H 'Content-Type: application/merge-patch+json' \
  "$URL/api/v1/namespaces/multi/configmaps/d3" -d '{"metadata":{"labels":{"gone":"yes"}}}' >/dev/null
expect_eq "delete -l" 'configmap "d3" deleted' "$(b delete cm -l gone=yes -n multi)"
r=$(out_err b delete cm)
expect_match "delete TYPE without a name: usage error" 'no name was specified.*\|2$' "$r"

# ---- pods and nodes: run, describe ---------------------------------------------------------
expect_eq "run" "pod/web created" "$(b run web --image busybox --env A=1 -- sleep 3600)"
pod=$(b get pod web -o json)
expect_eq "run: label run=web, the args, the env" "web ['sleep', '3600'] A=1 busybox" \
  "$(jq_ 'd["metadata"]["labels"]["run"]+" "+str(d["spec"]["containers"][0]["args"])+" "+d["spec"]["containers"][0]["env"][0]["name"]+"="+d["spec"]["containers"][0]["env"][0]["value"]+" "+d["spec"]["containers"][0]["image"]' <<<"$pod")"
expect_match "get pods: kubectl's columns" $'^NAME +READY +STATUS +RESTARTS +AGE\nweb +0/1 +Pending +0 +[0-9]+s$' "$(b get po)"
expect_match "get pods -o wide: the wide columns" $'^NAME +READY +STATUS +RESTARTS +AGE +IP +NODE +NOMINATED NODE +READINESS GATES\n' "$(b get pods -o wide)"
# No node yet: the scheduler says so in an event (as kube-scheduler does).
no_nodes_event() { "${C[@]}" "$URL/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dweb,reason%3DFailedScheduling" | grep -q 'no nodes available to schedule pods'; }
wait_for 15 no_nodes_event
out=$(b describe pod web)
expect_match "describe pod: the head, aligned" $'^Name: +web\nNamespace: +default\n(.*\n)*Node: +<none>\nLabels: +run=web\nAnnotations: +<none>\nStatus: +Pending\n' "$out"
expect_match "describe pod: the container" $'Containers:\n  web:\n    Image: +busybox\n    Port: +<none>\n    Host Port: +<none>\n    Args:\n      sleep\n      3600\n' "$out"
expect_match "describe pod: environment, mounts" $'    Environment:\n      A: +1\n    Mounts: ' "$out"
expect_match "describe pod: QoS, the scheduler's event" $'QoS Class: +BestEffort\nNode-Selectors: +<none>\n(.*\n)*Events:\n  Type +Reason +Age +From +Message\n  ---- +------ +---- +---- +-------\n  Warning +FailedScheduling +[0-9a-z]+ +default-scheduler +no nodes available to schedule pods$' "$out"
uid=$(jq_ 'd["metadata"]["uid"]' <<<"$pod")
"${C[@]}" -X POST "$URL/api/v1/namespaces/default/events" -d "{\"metadata\":{\"name\":\"web.1\"},\"involvedObject\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"name\":\"web\",\"namespace\":\"default\",\"uid\":\"$uid\"},\"reason\":\"Scheduled\",\"message\":\"Successfully assigned default/web\",\"type\":\"Normal\",\"source\":{\"component\":\"default-scheduler\"},\"count\":1,\"firstTimestamp\":\"2026-01-01T00:00:00Z\",\"lastTimestamp\":\"2026-01-01T00:00:00Z\"}" >/dev/null
expect_match "describe pod: its events, oldest first" $'Events:\n  Type +Reason +Age +From +Message\n  ---- +------ +---- +---- +-------\n  Normal +Scheduled +[0-9a-z]+ +default-scheduler +Successfully assigned default/web\n  Warning +FailedScheduling +[0-9a-z]+ +default-scheduler +no nodes available to schedule pods$' \
  "$(b describe pod web)"
expect_match "events: kubectl events' table" $'^LAST SEEN +TYPE +REASON +OBJECT +MESSAGE\n[0-9a-z]+ +Normal +Scheduled +Pod/web +Successfully assigned default/web\n[0-9a-z]+ +Warning +FailedScheduling +Pod/web +no nodes available to schedule pods$' "$(b events)"
expect_match "events --for" 'Pod/web' "$(b events --for pod/web)"
expect_eq "events in an empty namespace" '|No events found in empty namespace.|0' "$(out_err b events -n empty)"
out=$(b describe cm web)
expect_match "describe configmap" $'^Name: +web\nNamespace: +default\nLabels: +app=web\n +tier=fe\nAnnotations: +<none>\n\nData\n====\ncolor:\n----\nblue\n\nsize:\n----\n2\n\n\nBinaryData\n====\n\nEvents: +<none>$' "$out"
expect_match "describe by prefix" '^Name: +web' "$(b describe cm we)"
# A node as an agent posts it, its heartbeat fresh: the node lifecycle controller
# leaves it Ready for its grace period (20 s). Its taint keeps the binder off it.
node_json() { # NAME HEARTBEAT
  printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":{"node-role.kubernetes.io/worker":""}},"spec":{"taints":[{"key":"k","value":"v","effect":"NoSchedule"}]},"status":{"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},"allocatable":{"cpu":"4","memory":"8Gi","pods":"110"},"addresses":[{"type":"InternalIP","address":"10.0.0.9"}],"conditions":[{"type":"Ready","status":"True","lastHeartbeatTime":"%s","lastTransitionTime":"2026-01-01T00:00:00Z","reason":"KubeletReady","message":"ready"}],"nodeInfo":{"kernelVersion":"6.1","osImage":"Debian","operatingSystem":"linux","architecture":"amd64","containerRuntimeVersion":"berth://0.1","kubeletVersion":"v1.33.1"}}}' "$1" "$2"
}
"${C[@]}" -X POST "$URL/api/v1/nodes" -d "$(node_json n1 "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" >/dev/null
expect_match "nodes = get nodes" $'^NAME +STATUS +ROLES +AGE +VERSION\nn1 +Ready +worker +[0-9]+s +v1.33.1$' "$(b nodes)"
out=$(b describe node n1)
expect_match "describe node: head" $'^Name: +n1\nRoles: +worker\nLabels: +node-role.kubernetes.io/worker=\nAnnotations: +<none>\nCreationTimestamp: .*\nTaints: +k=v:NoSchedule\nUnschedulable: +false\n' "$out"
expect_match "describe node: no lease yet" 'Lease: +Failed to get lease: leases.coordination.k8s.io "n1" not found' "$out"
expect_match "describe node: conditions table" $'Conditions:\n  Type +Status +LastHeartbeatTime +LastTransitionTime +Reason +Message\n  -+ +-+ +-+ +-+ +-+ +-+\n  Ready +True +.* +KubeletReady +ready\n' "$out"
expect_match "describe node: addresses, capacity, system info" $'Addresses:\n  InternalIP: +10.0.0.9\nCapacity:\n  cpu: +4\n  memory: +8Gi\n  pods: +110\n(.*\n)*System Info:\n(.*\n)*  Kernel Version: +6.1\n' "$out"
expect_match "describe node: pods and allocated resources" $'Non-terminated Pods: +\\(0 in total\\)\n(.*\n)*Allocated resources:\n(.*\n)*  cpu +0 \\(0%\\) +0 \\(0%\\)\n' "$out"
"${C[@]}" -X POST "$URL/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases" \
  -d "{\"metadata\":{\"name\":\"n1\"},\"spec\":{\"holderIdentity\":\"n1\",\"leaseDurationSeconds\":40,\"renewTime\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)\"}}" >/dev/null
expect_match "describe node: its lease, as an agent renews it" $'Unschedulable: +false\nLease:\n  HolderIdentity: +n1\n  AcquireTime: +<unset>\n  RenewTime: +[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} 20[0-9]{2} ' "$(b describe node n1)"
# A node whose agent stopped long ago (an old heartbeat, no lease): the node lifecycle
# controller marks it Unknown and taints it unreachable.
"${C[@]}" -X POST "$URL/api/v1/nodes" -d "$(node_json n2 2026-01-01T00:00:00Z)" >/dev/null
n2_not_ready() { b nodes | grep -Eq '^n2 +NotReady +worker '; }
if wait_for 30 n2_not_ready; then ok "get nodes: a node that stopped posting is NotReady"; else not_ok "get nodes: a node that stopped posting is NotReady" "$(b nodes)"; fi
n2_tainted() { b describe node n2 | grep -q 'node.kubernetes.io/unreachable:NoExecute'; }
wait_for 30 n2_tainted # the taint comes on the sync after the status
out=$(b describe node n2)
expect_match "describe node: the unreachable taint (NoExecute) the controller added" $'\nTaints: +node.kubernetes.io/unreachable:NoExecute\n +k=v:NoSchedule\nUnschedulable: +false\n' "$out"
expect_match "describe node: its conditions turned Unknown" $'\n  Ready +Unknown +.* +NodeStatusUnknown +Kubelet stopped posting node status.\n  MemoryPressure +Unknown +.* +NodeStatusNeverUpdated +Kubelet never posted node status.\n' "$out"
expect_match "describe secret: sizes, not values" $'^Name: +two\nNamespace: +multi\nLabels: +<none>\nAnnotations: +<none>\n\nType: +Opaque\n\nData\n====\np: +1 bytes$' "$(b describe secret two -n multi)"
"${C[@]}" -X POST "$URL/apis/coordination.k8s.io/v1/namespaces/default/leases" \
  -d '{"metadata":{"name":"l1"},"spec":{"holderIdentity":"me","leaseDurationSeconds":40}}' >/dev/null
expect_match "describe of another kind: kubectl's generic layout" \
  $'^Name: +l1\nNamespace: +default\nLabels: +<none>\nAnnotations: +<none>\nAPI Version: +coordination.k8s.io/v1\nKind: +Lease\nMetadata:\n  Creation Timestamp: .*\n(.*\n)*Spec:\n  Holder Identity: +me\n  Lease Duration Seconds: +40\nEvents: +<none>$' \
  "$(b describe lease l1)"
expect_eq "delete a pending pod waits until it is gone" 'pod "web" deleted|NotFound' \
  "$(b delete pod web | tr -d '\n'; printf '|'; b get pod web 2>&1 | grep -o NotFound)"

# ---- logs and exec through an agent (root only) ---------------------------------------------
if [ "$(id -u)" != 0 ]; then
  echo "  skipped: logs and exec need an agent, which needs root"
else
  load_busybox || not_ok load_busybox "image load failed"
  cluster_agent_start cli-node bc$$ "10.252.$(($$ % 250)).0/24"
  node_ready() { b get nodes cli-node | grep -q ' Ready '; }
  running() { b get pod talk 2>/dev/null | grep -q ' 2/2 .*Running'; }
  if ! wait_for 60 node_ready; then
    not_ok "an agent joins" "$(tail -5 "$T/agent.log")"
  else
    ok "an agent joins and its node is Ready"
    printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: talk}\nspec:\n  nodeName: cli-node\n  containers:\n  - {name: main, image: "busybox:latest", command: [sh, -c, "echo hello; echo oops >&2; sleep 3600"]}\n  - {name: side, image: "busybox:latest", command: [sleep, "3600"]}\n' >"$T/talk.yaml"
    check "apply a pod bound to the node" b apply -f "$T/talk.yaml"
    if wait_for 60 running; then ok "the pod runs"; else
      not_ok "the pod runs" "$(b describe pod talk; tail -25 "$T/agent.log")"
    fi
  fi
  # logs and exec need the running pod: without it the failure above says it all.
  if running; then
    logs_ready() { b logs talk 2>/dev/null | grep -q hello; }
    wait_for 20 logs_ready
    r=$(out_err b logs talk)
    expect_match "logs: the first container by default, both streams" $'^hello\noops\\|Defaulted container "main" out of: main, side\\|0$' "$r"
    expect_eq "logs --tail 1" "oops" "$(b logs talk -c main --tail 1 2>/dev/null)"
    expect_eq "logs of an unknown container" '|error: container nope is not valid for pod talk|1' "$(out_err b logs talk -c nope)"
    expect_eq "logs of a missing pod" '|error: error from server (NotFound): pods "nope" not found in namespace "default"|1' "$(out_err b logs nope)"
    expect_match "logs -f streams until interrupted" '^hello' "$(timeout 3 "$BERTH" logs -f talk -c main 2>/dev/null)"
    expect_eq "exec: output" "hi there" "$(b exec talk -c main -- echo hi there)"
    expect_eq "exec -i: stdin, closed at EOF" "3" "$(printf 'a\nb\nc\n' | b exec -i talk -c main -- wc -l | tr -d ' ')"
    r=$(out_err b exec talk -c main -- sh -c 'echo out; echo err >&2; exit 3')
    expect_eq "exec: the command's exit code becomes berth's" 'out|err
command terminated with exit code 3|3' "$r"
    r=$(out_err b exec talk -c main -- /no/such/cmd)
    expect_match "exec of a missing command fails" '\|[1-9][0-9]*$' "$r"
    expect_eq "exec in a missing pod" '|Error from server (NotFound): pods "nope" not found|1' "$(out_err b exec nope -- true)"
    r=$(out_err b exec talk -- true)
    expect_eq "exec picks the first container and says so" '|Defaulted container "main" out of: main, side|0' "$r"
    expect_eq "delete a running pod waits for its node" 'pod "talk" deleted|NotFound' \
      "$(b delete pod talk --grace-period=1 | tr -d '\n'; printf '|'; b get pod talk 2>&1 | grep -o NotFound)"
    cluster_agent_stop cli-node
  fi
fi

cluster_server_stop
if grep -q 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error' "$T/server.log"; then
  not_ok "server log has no sanitizer reports" "$(grep -m3 -A5 Sanitizer "$T/server.log")"
else
  ok "server log has no sanitizer reports"
fi
