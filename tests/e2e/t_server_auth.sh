#!/usr/bin/env bash
# t_server_auth.sh — `berth server` authentication and node registration
# over real HTTPS with curl and openssl: 401 for missing and garbage tokens,
# /cacerts public and pinned by the K10 join token, registration with the
# join token (a node credential, and a serving certificate that verifies
# against ca.crt with the right SANs), re-registration with the same and
# with another password, what the join token and a node credential may do,
# an old-format node-token replaced at restart while node credentials stay
# valid. Then the ownerReference garbage collector: a dependent goes with
# its owner, a chain goes link by link, an owner uid that never existed gets
# its dependent deleted, and a dependent with two owners stays until both
# are gone.
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
  [ -n "$SRV_PID" ] && kill -TERM "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
  SRV_PID=
}
trap 'stop_server; cleanup_root' EXIT

start_server || { not_ok "server starts" "$(tail -5 "$T/server.log")"; exit 1; }
ok "server starts"

C=(curl -s --cacert "$DATA/ca.crt")
# req METHOD PATH TOKEN [curl args…] — prints "BODY HTTP-CODE".
req() {
  local m=$1 p=$2 t=$3; shift 3
  if [ -n "$t" ]; then "${C[@]}" -X "$m" -w ' %{http_code}' -H "Authorization: Bearer $t" "$@" "$URL$p"
  else "${C[@]}" -X "$m" -w ' %{http_code}' "$@" "$URL$p"; fi
}
ADMIN=$(cat "$DATA/admin-token")
JOIN=$(cat "$DATA/node-token")

# ---- tokens and the CA ------------------------------------------------------------
expect_match "node-token is K10<sha256>::node:<secret>" '^K10[0-9a-f]{64}::node:[0-9a-f]{64}$' "$JOIN"
expect_eq "node-secret is 0600" "600" "$(stat -c %a "$DATA/node-secret")"
expect_eq "node-token is 0600" "600" "$(stat -c %a "$DATA/node-token")"
expect_match "no token: 401" '"reason":"Unauthorized".* 401$' "$(req GET /api/v1/namespaces '')"
for bad in garbage "node:n1:0000" "node:n1:$(printf '%064d' 0)" "K10$(printf '%064d' 0)::node:x" \
  "${ADMIN}x" "${ADMIN:0:20}"; do
  expect_match "garbage token [${bad:0:24}…]: 401" ' 401$' "$(req GET /api/v1/namespaces "$bad")"
done
expect_match "Basic auth: 401" ' 401$' "$(req GET /api/v1/namespaces '' -u admin:admin)"

cacerts=$("${C[@]}" -w '\n%{http_code}' "$URL/cacerts")
expect_eq "/cacerts needs no token" "200" "$(tail -1 <<<"$cacerts")"
"${C[@]}" -o "$T/cacerts.pem" "$URL/cacerts"
expect_eq "/cacerts is ca.crt byte for byte" "$(sha256sum <"$DATA/ca.crt")" "$(sha256sum <"$T/cacerts.pem")"
pin=$(sed -E 's/^K10([0-9a-f]{64})::.*/\1/' <<<"$JOIN")
expect_eq "the join token pins sha256(/cacerts)" "$pin" "$(sha256sum "$T/cacerts.pem" | cut -d' ' -f1)"

# ---- registration --------------------------------------------------------------------
register() { req POST /berth/v1/register "$1" -H 'Content-Type: application/json' -d "$2"; }
out=$(register "$JOIN" '{"node":"n1","password":"pw-one","addresses":["10.1.2.3","fd00::7"]}')
expect_match "register with the join token: 200" ' 200$' "$out"
json=${out% *}
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]], end="")' "$json" "$1"; }
NODE_TOK=$(field token)
field cert >"$T/n1.crt"
field key >"$T/n1.key"
expect_match "the node credential is node:n1:<hmac>" '^node:n1:[0-9a-f]{64}$' "$NODE_TOK"
check "the agent certificate verifies against ca.crt" openssl verify -CAfile "$DATA/ca.crt" "$T/n1.crt"
san=$(openssl x509 -in "$T/n1.crt" -noout -ext subjectAltName 2>&1)
expect_match "SANs: the node name and localhost" 'DNS:n1, DNS:localhost' "$san"
expect_match "SANs: the addresses and 127.0.0.1" 'IP Address:10.1.2.3, IP Address:FD00:0:0:0:0:0:0:7, IP Address:127.0.0.1' "$san"
expect_match "valid for a year" 'notAfter=' "$(openssl x509 -in "$T/n1.crt" -noout -enddate)"
end=$(date -d "$(openssl x509 -in "$T/n1.crt" -noout -enddate | cut -d= -f2)" +%s)
days=$(((end - $(date +%s)) / 86400))
if [ "$days" -ge 363 ] && [ "$days" -le 366 ]; then ok "expires in a year ($days days)"; else not_ok "expires in a year" "$days days"; fi
expect_eq "the key is the certificate's" "$(openssl x509 -in "$T/n1.crt" -noout -pubkey)" \
  "$(openssl pkey -in "$T/n1.key" -pubout)"
expect_match "an ECDSA P-256 key" 'prime256v1|P-256' "$(openssl x509 -in "$T/n1.crt" -noout -text)"

out=$(register "$JOIN" '{"node":"n1","password":"pw-one","addresses":["10.1.2.3"]}')
expect_match "re-register with the same password: 200, same credential" "\"token\":\"$NODE_TOK\".* 200$" "$out"
out=$(register "$JOIN" '{"node":"n1","password":"pw-two"}')
expect_match "another password: 403" 'node \\"n1\\" is already registered with another password","reason":"Forbidden".* 403$' "$out"
expect_match "a bad node name: 400" 'node: Invalid value: \\"N_1\\".*"reason":"BadRequest".* 400$' \
  "$(register "$JOIN" '{"node":"N_1","password":"p"}')"
expect_match "no password: 400" 'password: Required value.* 400$' "$(register "$JOIN" '{"node":"n2"}')"
expect_match "a bad address: 400" 'addresses\[0\]: Invalid value: \\"nope\\".* 400$' \
  "$(register "$JOIN" '{"node":"n2","password":"p","addresses":["nope"]}')"
expect_match "not JSON: 400" ' 400$' "$(register "$JOIN" 'nope')"
expect_match "GET register: 405" ' 405$' "$(req GET /berth/v1/register "$JOIN")"
expect_match "no token on register: 401" ' 401$' "$(register '' '{"node":"n3","password":"p"}')"

# ---- what each identity may do -------------------------------------------------
out=$(req GET /api/v1/namespaces "$JOIN")
expect_match "join token on /api/v1/namespaces: 403" \
  'namespaces is forbidden: User \\"system:bootstrap\\" cannot list resource \\"namespaces\\" in API group \\"\\" at the cluster scope.* 403$' "$out"
expect_match "join token on a namespaced object: 403" \
  'configmaps \\"x\\" is forbidden: User \\"system:bootstrap\\" cannot get resource \\"configmaps\\" in API group \\"\\" in the namespace \\"default\\".* 403$' \
  "$(req GET /api/v1/namespaces/default/configmaps/x "$JOIN")"
expect_match "join token on discovery: 403" 'cannot get path \\"/api\\".* 403$' "$(req GET /api "$JOIN")"
expect_match "node credential lists namespaces" '"kind":"NamespaceList".* 200$' "$(req GET /api/v1/namespaces "$NODE_TOK")"
expect_match "node credential cannot register" ' 403$' "$(register "$NODE_TOK" '{"node":"n9","password":"p"}')"
last=${NODE_TOK: -1}
[ "$last" = 0 ] && flip=1 || flip=0
expect_match "a tampered node credential: 401" ' 401$' "$(req GET /api/v1/namespaces "${NODE_TOK%?}$flip")"
n2tok=$(sed 's/^node:n1:/node:n2:/' <<<"$NODE_TOK")
expect_match "n1's MAC under n2's name: 401" ' 401$' "$(req GET /api/v1/namespaces "$n2tok")"
expect_match "admin may register a node" ' 200$' "$(register "$ADMIN" '{"node":"n4","password":"p"}')"

# ---- restart: an old node-token is replaced, node credentials survive -------------
stop_server
printf '%s\n' "$(printf '%064x' 42)" >"$DATA/node-token"
start_server || { not_ok "server restarts" "$(tail -5 "$T/server.log")"; exit 1; }
NEWJOIN=$(cat "$DATA/node-token")
expect_match "an old-format node-token is replaced" '^K10[0-9a-f]{64}::node:[0-9a-f]{64}$' "$NEWJOIN"
expect_match "the old-format token is refused" ' 401$' "$(req GET /api/v1/namespaces "$(printf '%064x' 42)")"
expect_match "the new join token registers" ' 200$' "$(register "$NEWJOIN" '{"node":"n1","password":"pw-one"}')"
expect_match "the node credential survives a restart" ' 200$' "$(req GET /api/v1/namespaces "$NODE_TOK")"
expect_match "the password survives a restart" ' 403$' "$(register "$NEWJOIN" '{"node":"n1","password":"pw-two"}')"
stop_server
start_server || { not_ok "server restarts again" "$(tail -5 "$T/server.log")"; exit 1; }
expect_eq "an up-to-date node-token is kept" "$NEWJOIN" "$(cat "$DATA/node-token")"

# ---- the garbage collector ---------------------------------------------------------
CM=/api/v1/namespaces/default/configmaps
mkcm() { # NAME [OWNER-REFS-JSON]
  req POST $CM "$ADMIN" -d "{\"metadata\":{\"name\":\"$1\"${2:+,\"ownerReferences\":$2}}}"
}
uid_of() { req GET $CM/$1 "$ADMIN" | sed -E 's/.*"uid":"([^"]+)".*/\1/'; }
ref() { echo "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"$1\",\"uid\":\"$2\"}"; }
gone() { [[ "$(req GET $CM/$1 "$ADMIN")" =~ \ 404$ ]]; }
present() { [[ "$(req GET $CM/$1 "$ADMIN")" =~ \ 200$ ]]; }
# As kubectl deletes: DeleteOptions with background propagation.
del() { req DELETE $CM/$1 "$ADMIN" -d '{"propagationPolicy":"Background"}' >/dev/null; }

mkcm owner >/dev/null
ou=$(uid_of owner)
expect_match "a dependent with an ownerReference: 201" ' 201$' "$(mkcm dep "[$(ref owner "$ou")]")"
sleep 1
check "a dependent of a live owner stays" present dep
del owner
check "deleting the owner deletes the dependent" wait_for 10 gone dep

mkcm a >/dev/null
mkcm b "[$(ref a "$(uid_of a)")]" >/dev/null
mkcm c "[$(ref b "$(uid_of b)")]" >/dev/null
del a
check "a chain goes link by link (b)" wait_for 10 gone b
check "a chain goes link by link (c)" wait_for 10 gone c

mkcm orphan "[$(ref never 0b0f7e51-0000-4000-8000-000000000000)]" >/dev/null
check "an owner uid that never existed: the dependent is deleted" wait_for 10 gone orphan
mkcm stale >/dev/null
mkcm stale-dep "[$(ref stale 0b0f7e51-1111-4000-8000-000000000000)]" >/dev/null
check "an owner with the right name but another uid counts as gone" wait_for 10 gone stale-dep
check "…and that owner is left alone" present stale

mkcm o1 >/dev/null
mkcm o2 >/dev/null
mkcm both "[$(ref o1 "$(uid_of o1)"),$(ref o2 "$(uid_of o2)")]" >/dev/null
del o1
sleep 1.5
check "two owners: the dependent stays while one is left" present both
del o2
check "two owners: gone once both are" wait_for 10 gone both
# Events (the collector indexes one only once something names it) as owners.
EV=/api/v1/namespaces/default/events
req POST $EV "$ADMIN" -d '{"metadata":{"name":"ev"},"involvedObject":{"kind":"Pod","name":"x","namespace":"default"},"reason":"Test","message":"m","type":"Normal"}' >/dev/null
evu=$(req GET $EV/ev "$ADMIN" | sed -E 's/.*"uid":"([^"]+)".*/\1/')
mkcm ev-dep "[{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"name\":\"ev\",\"uid\":\"$evu\"}]" >/dev/null
sleep 1.5
check "an event written before its dependent is a live owner" present ev-dep
req DELETE $EV/ev "$ADMIN" >/dev/null
check "deleting that event deletes the dependent" wait_for 10 gone ev-dep
unknown='[{"apiVersion":"example.com/v1","kind":"Widget","name":"w","uid":"0b0f7e51-2222-4000-8000-000000000000"}]'
mkcm unverifiable "$unknown" >/dev/null
sleep 1.5
check "an owner of a kind not served cannot be verified: the dependent stays" present unverifiable
expect_match "one log line per deletion" 'msg="gc: deleting" key=/registry/configmaps/default/dep owner=ConfigMap/owner' \
  "$(grep 'gc: deleting' "$T/server.log")"

stop_server
if grep -q Sanitizer "$T/server.log"; then
  not_ok "server log has no sanitizer reports" "$(grep -m3 -A5 Sanitizer "$T/server.log")"
else
  ok "server log has no sanitizer reports"
fi
