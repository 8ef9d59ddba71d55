#!/usr/bin/env bash
# t_server.sh — `berth server` end to end over HTTPS: credentials made on
# first start, 401 without or with a wrong token, discovery, configmap CRUD
# with curl (201, 409, 422 naming the field, 404), secrets (stringData, base64
# checks), events (describe's field selector), leases under
# /apis/coordination.k8s.io/v1, the real kubectl (create
# namespace, get, apply then re-apply through a strategic-merge PATCH, -o
# yaml, get -w seeing an update, delete, --ignore-not-found), and kill -9
# during a stream of creates: every create answered 201 is there after the
# restart. A second server with tiny history retention: a watch from a
# compacted revision gets one 410 Expired ERROR event, a stale continue token
# 410 Expired, and kubectl get -w still works.
source "$(dirname "$0")/lib.sh"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATA=$T/srv
URL=https://127.0.0.1:$PORT
SRV_PID=
start_server() {
  "$BERTH" --log-level debug server --listen 127.0.0.1:$PORT --data-dir "$DATA" >>"$T/server.log" 2>&1 &
  SRV_PID=$!
  wait_for 30 curl -sf --cacert "$DATA/ca.crt" "$URL/healthz"
}
stop_server() {
  [ -n "$SRV_PID" ] && kill -9 "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
  SRV_PID=
}
trap 'stop_server; cleanup_root' EXIT

expect_match "server --help" 'Usage: berth server \[--listen ADDR:PORT\]' "$("$BERTH" server --help 2>&1)"
expect_fail "server with a bad listen address" 'bad port' "$BERTH" server --listen 127.0.0.1:x --data-dir "$T/bad"
start_server || { not_ok "server starts" "$(tail -5 "$T/server.log")"; exit 1; }
ok "server starts and answers /healthz over HTTPS"
for f in ca.key server.key admin-token node-token admin.kubeconfig; do
  expect_eq "$f is 0600" "600" "$(stat -c %a "$DATA/$f")"
done
expect_match "kubeconfig points at 127.0.0.1" "server: https://127.0.0.1:$PORT" "$(cat "$DATA/admin.kubeconfig")"

TOK=$(cat "$DATA/admin-token")
C=(curl -s --cacert "$DATA/ca.crt")
A=(-H "Authorization: Bearer $TOK")
# code METHOD PATH [curl args…] — prints "HTTP-CODE BODY".
req() { local m=$1 p=$2; shift 2; "${C[@]}" -X "$m" -w ' %{http_code}' "$@" "$URL$p"; }

out=$(req GET /api/v1/namespaces)
expect_match "no token: 401 Unauthorized Status" '"reason":"Unauthorized".* 401$' "$out"
out=$(req GET /api/v1/namespaces -H "Authorization: Bearer wrong")
expect_match "wrong token: 401" '"reason":"Unauthorized".* 401$' "$out"
out=$(req GET /version)
expect_match "/version is v1.33.1" '"gitVersion":"v1.33.1".* 200$' "$out"
out=$(req GET /api/v1 "${A[@]}")
expect_match "/api/v1 lists configmaps with shortName cm" '"name":"configmaps".*"shortNames":\["cm"\]' "$out"
out=$(req GET /openapi/v2 "${A[@]}" -o /dev/null)
expect_eq "/openapi/v2 is 200 and empty" " 200" "$out"
expect_match "/openapi/v3 is 404 (kubectl falls back to v2)" ' 404$' "$(req GET /openapi/v3 "${A[@]}")"
expect_match "unknown path: 404" ' 404$' "$(req GET /nope "${A[@]}")"
expect_match "default namespace exists" '"name":"default".* 200$' "$(req GET /api/v1/namespaces/default "${A[@]}")"

CM=/api/v1/namespaces/default/configmaps
out=$(req POST $CM "${A[@]}" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c1","labels":{"app":"web"}},"data":{"k":"v"}}')
expect_match "create configmap: 201 with a uid" '"uid":"[0-9a-f-]{36}".* 201$' "$out"
expect_match "... and a resourceVersion" '"resourceVersion":"[0-9]+".* 201$' "$out"
expect_match "create again: 409 AlreadyExists" '"reason":"AlreadyExists".* 409$' "$(req POST $CM "${A[@]}" -d '{"metadata":{"name":"c1"}}')"
out=$(req POST $CM "${A[@]}" -d '{"metadata":{"name":"Bad_Name"}}')
expect_match "bad name: 422 Invalid naming metadata.name" '"reason":"Invalid".*"field":"metadata.name".* 422$' "$out"
expect_match "generateName" '"name":"gen-[a-z0-9]{5}".* 201$' "$(req POST $CM "${A[@]}" -d '{"metadata":{"generateName":"gen-"}}')"
expect_match "namespace must exist: 404" '"reason":"NotFound".* 404$' \
  "$(req POST /api/v1/namespaces/nosuch/configmaps "${A[@]}" -d '{"metadata":{"name":"a"}}')"
expect_match "get configmap" '"data":\{"k":"v"\}.* 200$' "$(req GET $CM/c1 "${A[@]}")"
expect_match "list with labelSelector" '"items":\[\{[^]]*"name":"c1"' "$(req GET "$CM?labelSelector=app%3Dweb" "${A[@]}")"
expect_match "list with fieldSelector excludes" '"items":\[\]\} 200$' "$(req GET "$CM?fieldSelector=metadata.name%3Dzz" "${A[@]}")"
expect_match "bad selector: 400" '"reason":"BadRequest".* 400$' "$(req GET "$CM?labelSelector=a%20in" "${A[@]}")"
out=$(req GET "$CM?limit=1" "${A[@]}")
expect_match "limit=1 gives a continue token" '"continue":"[0-9]+\.[0-9a-f]+"' "$out"
cont=$(sed -E 's/.*"continue":"([^"]+)".*/\1/' <<<"$out")
expect_match "continue gives the next page" '"items":\[\{.* 200$' "$(req GET "$CM?limit=1&continue=$cont" "${A[@]}")"
rv=$(req GET $CM/c1 "${A[@]}" | sed -E 's/.*"resourceVersion":"([0-9]+)".*/\1/')
out=$(req PUT $CM/c1 "${A[@]}" -d "{\"metadata\":{\"name\":\"c1\",\"resourceVersion\":\"$rv\"},\"data\":{\"k\":\"v2\"}}")
expect_match "update with current resourceVersion: 200" '"k":"v2".* 200$' "$out"
out=$(req PUT $CM/c1 "${A[@]}" -d "{\"metadata\":{\"name\":\"c1\",\"resourceVersion\":\"$rv\"},\"data\":{\"k\":\"v3\"}}")
expect_match "update with stale resourceVersion: 409 Conflict" '"reason":"Conflict".* 409$' "$out"
out=$(req PATCH $CM/c1 "${A[@]}" -H 'Content-Type: application/merge-patch+json' -d '{"data":{"m":"1"}}')
expect_match "merge patch" '"m":"1".* 200$' "$out"
out=$(req PATCH $CM/c1 "${A[@]}" -H 'Content-Type: application/json-patch+json' -d '[{"op":"remove","path":"/data/m"}]')
expect_match "json patch" '"data":\{"k":"v2"\}.* 200$' "$out"
rv=$(req GET $CM/c1 "${A[@]}" | sed -E 's/.*"resourceVersion":"([0-9]+)".*/\1/')
out=$(req PATCH $CM/c1 "${A[@]}" -H 'Content-Type: application/json-patch+json' \
  -d "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"$rv\"},{\"op\":\"add\",\"path\":\"/data/t\",\"value\":\"1\"}]")
expect_match "json patch testing the current resourceVersion: applied" '"t":"1".* 200$' "$out"
out=$(req PATCH $CM/c1 "${A[@]}" -H 'Content-Type: application/json-patch+json' \
  -d "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"$rv\"},{\"op\":\"remove\",\"path\":\"/data/t\"}]")
expect_match "... testing a stale one: 422, nothing changed" '"reason":"Invalid".* 422$' "$out"
out=$(req PATCH $CM/c1 "${A[@]}" -H 'Content-Type: application/merge-patch+json' \
  -d "{\"metadata\":{\"resourceVersion\":\"$rv\"},\"data\":{\"t\":\"2\"}}")
expect_match "merge patch naming a stale resourceVersion: 409 Conflict" '"reason":"Conflict".* 409$' "$out"
expect_match "... the object kept its data" '"t":"1"' "$(req GET $CM/c1 "${A[@]}")"
req PATCH $CM/c1 "${A[@]}" -H 'Content-Type: application/json-patch+json' -d '[{"op":"remove","path":"/data/t"}]' >/dev/null
head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$T/big"
expect_match "body over 3 MiB: 413" ' 413$' "$(req POST $CM "${A[@]}" --data-binary @"$T/big")"
expect_match "delete: 200" '"name":"c1".* 200$' "$(req DELETE $CM/c1 "${A[@]}")"
expect_match "get after delete: 404 NotFound" '"reason":"NotFound".* 404$' "$(req GET $CM/c1 "${A[@]}")"
# Watch from compacted history: see the second server below;
# a watch from the current state gets ADDED first.
out=$(timeout 5 "${C[@]}" -N "${A[@]}" "$URL$CM?watch=1&timeoutSeconds=1")
expect_match "watch from 0 starts with synthetic ADDED" '^\{"type":"ADDED","object":\{.*"kind":"ConfigMap"' "$out"

rv=$(req POST $CM "${A[@]}" -d '{"metadata":{"name":"w1"}}' | sed -E 's/.*"resourceVersion":"([0-9]+)".*/\1/')
req PATCH $CM/w1 "${A[@]}" -H 'Content-Type: application/merge-patch+json' -d '{"data":{"x":"1"}}' >/dev/null
out=$(timeout 5 "${C[@]}" -N "${A[@]}" "$URL$CM?watch=1&resourceVersion=$rv&timeoutSeconds=1")
expect_match "watch from a revision sends what came after it" '^\{"type":"MODIFIED","object":\{.*"x":"1"' "$out"
expect_match "watch with a bad resourceVersion: 400" ' 400$' \
  "$(req GET "$CM?watch=1&resourceVersion=abc" "${A[@]}")"
out=$(req GET "/api/v1/configmaps?fieldSelector=metadata.namespace%3Ddefault,metadata.name%3Dw1" "${A[@]}")
expect_match "list across namespaces with fieldSelector metadata.namespace" '"items":\[\{[^]]*"name":"w1"' "$out"
req POST /api/v1/namespaces "${A[@]}" -d '{"metadata":{"name":"gone"}}' >/dev/null
req POST /api/v1/namespaces/gone/configmaps "${A[@]}" -d '{"metadata":{"name":"inside"}}' >/dev/null
expect_match "delete namespace: 200" ' 200$' "$(req DELETE /api/v1/namespaces/gone "${A[@]}")"
expect_match "the default namespace cannot be deleted: 403" '"reason":"Forbidden".* 403$' \
  "$(req DELETE /api/v1/namespaces/default "${A[@]}")"
expect_match "its configmaps go with it" ' 404$' "$(req GET /api/v1/namespaces/gone/configmaps/inside "${A[@]}")"

# ---- secrets, events, leases --------------------------------------------------
SEC=/api/v1/namespaces/default/secrets
out=$(req POST $SEC "${A[@]}" -d '{"metadata":{"name":"s1"},"data":{"k":"dg=="},"stringData":{"u":"me"}}')
expect_match "create secret: stringData merged into data, type Opaque" '"data":\{"k":"dg==","u":"bWU="\}.*"type":"Opaque".* 201$' "$out"
expect_eq "stringData is not stored" 0 "$(req GET $SEC/s1 "${A[@]}" | grep -c stringData)"
out=$(req POST $SEC "${A[@]}" -d '{"metadata":{"name":"s2"},"data":{"k":"not base64!"}}')
expect_match "secret data not base64: 422 naming data[k]" '"reason":"Invalid".*illegal base64 data at input byte.*"field":"data\[k\]".* 422$' "$out"
out=$(req POST $SEC "${A[@]}" -d '{"metadata":{"name":"s3"},"type":"kubernetes.io/tls","data":{}}')
expect_match "tls secret without tls.crt: 422 Required" '"field":"data\[tls.crt\]".* 422$' "$out"
out=$(req PATCH $SEC/s1 "${A[@]}" -H 'Content-Type: application/merge-patch+json' -d '{"stringData":{"k":"x"}}')
expect_match "patch with stringData rewrites data" '"k":"eA==".* 200$' "$out"
EV=/api/v1/namespaces/default/events
out=$(req POST $EV "${A[@]}" -d '{"metadata":{"name":"web.1"},"involvedObject":{"kind":"Pod","name":"web","namespace":"default","uid":"u-1"},"reason":"Started","message":"Started container web","type":"Normal","lastTimestamp":"2026-01-01T00:00:00Z"}')
expect_match "create event: 201" '"reason":"Started".* 201$' "$out"
req POST $EV "${A[@]}" -d '{"metadata":{"name":"db.1"},"involvedObject":{"kind":"Pod","name":"db","namespace":"default","uid":"u-2"},"reason":"Pulled","type":"Normal"}' >/dev/null
out=$(req POST $EV "${A[@]}" -d '{"metadata":{"name":"bad.1"},"involvedObject":{"kind":"Pod","name":"x","namespace":"other"}}')
expect_match "event for another namespace: 422" 'does not match event.namespace.*"field":"involvedObject.namespace".* 422$' "$out"
out=$(req GET "$EV?fieldSelector=involvedObject.name%3Dweb%2CinvolvedObject.namespace%3Ddefault%2CinvolvedObject.uid%3Du-1" "${A[@]}")
expect_match "events with describe's field selector: only web's" '"items":\[\{[^]]*"name":"web.1"[^]]*\]' "$out"
expect_eq "... and not db's" 0 "$(grep -c 'db\.1' <<<"$out")"
expect_match "events: a field no row lists is a 400" 'field label not supported: spec.nodeName.* 400$' \
  "$(req GET "$EV?fieldSelector=spec.nodeName%3Dn" "${A[@]}")"
expect_match "/apis lists coordination.k8s.io" '"name":"coordination.k8s.io".*"groupVersion":"coordination.k8s.io/v1"' "$(req GET /apis "${A[@]}")"
expect_match "/apis/coordination.k8s.io/v1 lists leases" '"groupVersion":"coordination.k8s.io/v1".*"name":"leases".*"kind":"Lease"' \
  "$(req GET /apis/coordination.k8s.io/v1 "${A[@]}")"
LEASE=/apis/coordination.k8s.io/v1/namespaces/default/leases
out=$(req POST $LEASE "${A[@]}" -d '{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"node-a"},"spec":{"holderIdentity":"node-a","leaseDurationSeconds":40}}')
expect_match "create lease: 201" '"apiVersion":"coordination.k8s.io/v1".*"holderIdentity":"node-a".* 201$' "$out"
out=$(req POST $LEASE "${A[@]}" -d '{"metadata":{"name":"l2"},"spec":{"leaseDurationSeconds":0}}')
expect_match "lease with leaseDurationSeconds 0: 422" 'must be greater than 0.*"field":"spec.leaseDurationSeconds".* 422$' "$out"
rv=$(req GET $LEASE/node-a "${A[@]}" | sed -E 's/.*"resourceVersion":"([0-9]+)".*/\1/')
out=$(req PUT $LEASE/node-a "${A[@]}" -d "{\"metadata\":{\"name\":\"node-a\",\"resourceVersion\":\"$rv\"},\"spec\":{\"holderIdentity\":\"node-a\",\"leaseDurationSeconds\":40,\"renewTime\":\"2026-01-01T00:00:00.000000Z\"}}")
expect_match "update lease: 200" '"renewTime":.* 200$' "$out"
out=$(timeout 5 "${C[@]}" -N "${A[@]}" "$URL$LEASE?watch=1&resourceVersion=$rv&timeoutSeconds=1")
expect_match "watch leases sees the update" '^\{"type":"MODIFIED","object":\{"apiVersion":"coordination.k8s.io/v1"' "$out"
req POST $SEC "${A[@]}" -d '{"metadata":{"name":"gone"}}' >/dev/null
expect_match "delete secret: 200" '"name":"gone".* 200$' "$(req DELETE $SEC/gone "${A[@]}")"
expect_match "leases are not under /api/v1: 404" ' 404$' "$(req GET /api/v1/namespaces/default/leases "${A[@]}")"

# ---- the real kubectl ---------------------------------------------------------
kc() { kubectl --kubeconfig "$DATA/admin.kubeconfig" --cache-dir "$(mktemp -d "$T/kc.XXXXXX")" "$@"; }
check "kubectl create namespace x" kc create namespace x
expect_match "kubectl get ns" $'x +Active +[0-9]+s' "$(kc get ns 2>&1)"
expect_fail "kubectl create namespace x again" 'AlreadyExists.*already exists' kc create namespace x
cat >"$T/cm.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
  namespace: x
data:
  k1: v1
Y
expect_eq "kubectl apply creates" "configmap/app created" "$(kc apply -f "$T/cm.yaml" 2>&1)"
sed -i 's/k1: v1/k1: v2/' "$T/cm.yaml"
expect_eq "kubectl apply again patches" "configmap/app configured" "$(kc apply -f "$T/cm.yaml" 2>&1)"
y=$(kc get cm app -n x -o yaml 2>&1)
expect_match "get -o yaml shows the change" 'k1: v2' "$y"
expect_match "get -o yaml keeps last-applied" 'last-applied-configuration' "$y"
timeout 8 kubectl --kubeconfig "$DATA/admin.kubeconfig" --cache-dir "$(mktemp -d "$T/kc.XXXXXX")" \
  get cm -n x -w >"$T/watch.out" 2>&1 &
wpid=$!
wait_for 5 grep -q app "$T/watch.out"
check "kubectl label while watching" kc label cm app -n x watched=yes
watch_rows() { [ "$(grep -c '^app ' "$T/watch.out")" -ge 2 ]; }
wait_for 5 watch_rows
expect_match "get -w sees the update" $'app +[0-9]+s\napp +[0-9]+s' "$(cat "$T/watch.out")"
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
expect_eq "kubectl delete cm" 'configmap "app" deleted' "$(kc delete cm app -n x 2>&1)"
expect_eq "delete --ignore-not-found" "" "$(kc delete cm app -n x --ignore-not-found 2>&1)"
expect_fail "delete a missing cm" 'NotFound' kc delete cm app -n x

check "kubectl create secret generic (protobuf body)" kc create secret generic s --from-literal=a=b
expect_eq "kubectl get secret -o jsonpath data.a" "Yg==" "$(kc get secret s -o jsonpath='{.data.a}' 2>&1)"
expect_match "kubectl get secrets: NAME TYPE DATA AGE" $'NAME +TYPE +DATA +AGE\n(.*\n)*s +Opaque +1 +[0-9]+s' "$(kc get secrets 2>&1)"
expect_match "kubectl get leases" $'NAME +HOLDER +AGE\nnode-a +node-a +[0-9]+s' "$(kc get leases 2>&1)"
out=$(kc get events --field-selector involvedObject.name=web 2>&1)
expect_match "kubectl get events with a field selector" $'LAST SEEN +TYPE +REASON +OBJECT +MESSAGE\n[0-9a-z]+ +Normal +Started +pod/web +Started container web$' "$out"

# ---- compacted history: a second server with tiny retention --------------------
expect_fail "server with a bad --compaction-interval" 'invalid --compaction-interval "5x"' \
  "$BERTH" server --compaction-interval 5x --data-dir "$T/bad"
expect_fail "server with a bad --history-revisions" 'invalid --history-revisions "-1"' \
  "$BERTH" server --history-revisions -1 --data-dir "$T/bad"
PORT2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATA2=$T/srv2
URL2=https://127.0.0.1:$PORT2
"$BERTH" --log-level debug server --listen 127.0.0.1:$PORT2 --data-dir "$DATA2" \
  --compaction-interval 200ms --history-retention 0s --history-revisions 1 >>"$T/server2.log" 2>&1 &
SRV2_PID=$!
trap 'stop_server; [ -n "$SRV2_PID" ] && kill -9 "$SRV2_PID" 2>/dev/null; cleanup_root' EXIT
if wait_for 30 curl -sf --cacert "$DATA2/ca.crt" "$URL2/healthz"; then
  ok "a server with --compaction-interval 200ms --history-retention 0s --history-revisions 1 starts"
else
  not_ok "second server starts" "$(tail -5 "$T/server2.log")"
fi
C2=(curl -s --cacert "$DATA2/ca.crt" -H "Authorization: Bearer $(cat "$DATA2/admin-token")")
for i in 1 2 3 4; do
  "${C2[@]}" -o /dev/null -X POST "$URL2$CM" -d "{\"metadata\":{\"name\":\"h$i\"}}"
done
out=$("${C2[@]}" "$URL2$CM?limit=1")
cont2=$(sed -E 's/.*"continue":"([^"]+)".*/\1/' <<<"$out")
expect_match "a continue token before compaction" '^[0-9]+\.[0-9a-f]+$' "$cont2"
# The token's revision is the current one; two more writes let compaction
# (which keeps the last revision) pass it.
for i in 5 7; do
  "${C2[@]}" -o /dev/null -X POST "$URL2$CM" -d "{\"metadata\":{\"name\":\"h$i\"}}"
done
compacted_past_token() {
  "${C2[@]}" -o /dev/null -w '%{http_code}' "$URL2$CM?limit=1&continue=$cont2" | grep -q 410
}
if wait_for 10 compacted_past_token; then ok "compaction happens within seconds"
else not_ok "compaction happens within seconds" "$(tail -5 "$T/server2.log")"; fi
out=$("${C2[@]}" -w ' %{http_code}' "$URL2$CM?limit=1&continue=$cont2")
expect_match "stale continue token: 410 Expired Status" '^\{"kind":"Status","apiVersion":"v1".*"status":"Failure".*"reason":"Expired".*"code":410\} 410$' "$out"
out=$(timeout 10 "${C2[@]}" -N -w ' %{http_code}' "$URL2$CM?watch=1&resourceVersion=1")
rc=$?
expect_match "watch from a compacted revision: one 410 Expired ERROR event" \
  '^\{"type":"ERROR","object":\{"kind":"Status","apiVersion":"v1",.*"status":"Failure","message":"too old resource version: 1 \([0-9]+\)","reason":"Expired","code":410\}\}$' \
  "$(head -1 <<<"$out")"
expect_eq "... and the stream ends at once (200, nothing else)" "0 2 200" "$rc $(wc -l <<<"$out") ${out##* }"
timeout 6 kubectl --kubeconfig "$DATA2/admin.kubeconfig" --cache-dir "$(mktemp -d "$T/kc.XXXXXX")" \
  get cm -w --request-timeout=5s >"$T/watch2.out" 2>&1 &
wpid=$!
wait_for 5 grep -q h5 "$T/watch2.out"
"${C2[@]}" -o /dev/null -X POST "$URL2$CM" -d '{"metadata":{"name":"h6"}}'
wait_for 5 grep -q h6 "$T/watch2.out"
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
out=$(cat "$T/watch2.out")
expect_match "kubectl get cm -w against the compacting server lists and sees a new one" $'h1 +[0-9]+s\n(.*\n)*h6 +[0-9]+s' "$out"
expect_eq "... without errors" 0 "$(grep -ci 'error\|expired' <<<"$out")"
kill -TERM "$SRV2_PID"; wait "$SRV2_PID"; rc=$?; SRV2_PID=
expect_eq "the second server stops cleanly" 0 "$rc"
if grep -q 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error' "$T/server2.log"; then
  not_ok "second server log has no sanitizer reports" "$(grep -m3 -A5 Sanitizer "$T/server2.log")"
else
  ok "second server log has no sanitizer reports"
fi

# ---- kill -9 during a stream of creates -----------------------------------------
rv0=$("${C[@]}" "${A[@]}" "$URL$CM" | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
: >"$T/acked"
(for i in $(seq 1 400); do
   code=$("${C[@]}" -o /dev/null -w '%{http_code}' "${A[@]}" -X POST "$URL$CM" -d "{\"metadata\":{\"name\":\"k$i\"}}" 2>/dev/null)
   [ "$code" = 201 ] && echo "k$i" >>"$T/acked"
 done) &
cpid=$!
acked_at_least() { [ "$(wc -l <"$T/acked")" -ge "$1" ]; }
wait_for 20 acked_at_least 20
kill -9 "$SRV_PID"; wait "$SRV_PID" 2>/dev/null; SRV_PID=
wait "$cpid" 2>/dev/null
n=$(wc -l <"$T/acked")
start_server || not_ok "server restarts" "$(tail -5 "$T/server.log")"
names=$(req GET $CM "${A[@]}" | grep -o '"name":"k[0-9]*"' | sed 's/"name":"//;s/"//')
missing=$(comm -23 <(sort "$T/acked") <(sort <<<"$names"))
expect_eq "every acknowledged create ($n) survives kill -9" "" "$missing"
out=$(timeout 10 "${C[@]}" -N "${A[@]}" "$URL$CM?watch=1&resourceVersion=$rv0&timeoutSeconds=2")
seen=$(grep -o '"type":"ADDED","object":{[^}]*"name":"k[0-9]*"' <<<"$out" | grep -o 'k[0-9]*"$' | tr -d '"')
missing=$(comm -23 <(sort "$T/acked") <(sort <<<"$seen"))
expect_eq "a watch from the resourceVersion before the kill resumes: every acknowledged create is an ADDED event" "" "$missing"
# The kill must land mid-stream for the check above to mean anything.
if [ "$n" -ge 20 ] && [ "$n" -lt 400 ]; then ok "the kill landed mid-stream ($n of 400 acknowledged)"
else not_ok "the kill landed mid-stream" "$n of 400 acknowledged"; fi

# SIGTERM: a clean stop (exit 0, sanitizers quiet).
kill -TERM "$SRV_PID"; wait "$SRV_PID"; rc=$?; SRV_PID=
expect_eq "SIGTERM stops the server cleanly" 0 "$rc"
if grep -q 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error' "$T/server.log"; then
  not_ok "server log has no sanitizer reports" "$(grep -m3 -A5 Sanitizer "$T/server.log")"
else
  ok "server log has no sanitizer reports"
fi
