#!/usr/bin/env bash
# t_ds_backoff.sh — a DaemonSet whose node keeps failing its pod, on a real
# server and agent: the failed pod stays (with its reason) until its
# Kubernetes per-node back-off ends — at once the first time, then 1 s,
# 2 s, 4 s after the previous replacement — and is then deleted (Warning
# FailedDaemonPod "Found failed daemon pod NS/NAME on node NODE, will try
# to kill it") and replaced, instead of in a hot loop. The node's side is played as a kubelet
# that rejects or evicts a pod plays it: the pod's status is written Failed
# (reason Evicted) through the status subresource as soon as each new
# daemon pod shows up, for 9 s; without the back-off that makes a new pod
# every few tens of milliseconds. Once the node stops failing it, the
# daemon runs again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"

[ "$(id -u)" = 0 ] || { echo "  skipped: needs root"; ok "t_ds_backoff skipped (not root)"; exit 0; }

NODE=ds-backoff-node
cluster_start
cluster_agent $NODE bds0 10.233.0.0/24 || exit 1
TOKEN=$(awk '/token:/ {print $2}' "$DATA/admin.kubeconfig" | head -1)

kc apply -f - >/dev/null <<'Y'
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: crashy}
spec:
  selector:
    matchLabels: {app: crashy}
  template:
    metadata:
      labels: {app: crashy}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: d, image: busybox, command: ["sleep", "3600"]}
Y
ds_ready() { kc get ds crashy 2>/dev/null | grep -Eq 'crashy +1 +1 +1 +1 +1 '; }
if wait_for 60 ds_ready; then ok "the daemon runs on the node (DESIRED 1 … AVAILABLE 1)"
else not_ok "daemon runs" "$(kc get ds crashy 2>&1; kc get pods -o wide 2>&1)"; exit 1; fi

# The failing node: every daemon pod that is not Failed yet is written
# Failed, for 9 s. Prints one line per pod seen: the seconds from the start
# at which it showed up, and its name.
python3 - "$URL" "$TOKEN" 9 >"$T/seen" 2>"$T/failer.err" <<'PY'
import json, ssl, sys, time, urllib.request
url, token, duration = sys.argv[1], sys.argv[2], float(sys.argv[3])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
def call(method, path, body=None, ctype="application/json"):
    req = urllib.request.Request(url + path, method=method, data=body and json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + token, "Content-Type": ctype})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return json.load(r)
seen, t0 = {}, time.monotonic()
while time.monotonic() - t0 < duration:
    for p in call("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dcrashy")["items"]:
        md, st = p["metadata"], p.get("status", {})
        if md["name"] not in seen:
            seen[md["name"]] = time.monotonic() - t0
        if md.get("deletionTimestamp") or st.get("phase") == "Failed":
            continue
        try:
            call("PATCH", "/api/v1/namespaces/default/pods/%s/status" % md["name"],
                 {"status": {"phase": "Failed", "reason": "Evicted",
                             "message": "The node was low on resource: memory."}},
                 "application/merge-patch+json")
        except Exception as e:  # deleted meanwhile
            print("patch %s: %s" % (md["name"], e), file=sys.stderr)
    time.sleep(0.02)
for name, t in sorted(seen.items(), key=lambda kv: kv[1]):
    print("%.2f %s" % (t, name))
PY
n=$(grep -c '' "$T/seen")
if [ "$n" -ge 4 ] && [ "$n" -le 6 ]; then ok "9 s of a node failing every daemon pod: $n pods, not a hot loop ($(awk '{printf "%s ", $1}' "$T/seen")s)"
else not_ok "pods made while the node fails them" "$n pods, the first: $(head -8 "$T/seen" | tr '\n' ' ') $(tail -3 "$T/failer.err")"; fi
# The gaps between pods: the first replacement at once, then 1 s, 2 s, 4 s.
gaps=$(awk 'NR > 1 {printf "%.1f ", $1 - prev} {prev = $1}' "$T/seen")
if python3 -c '
import sys
gaps = [float(g) for g in sys.argv[1].split()]
want = [0, 1, 2, 4][:len(gaps)]
sys.exit(not (len(gaps) >= 3 and gaps[0] < 0.9 and all(w * 0.9 <= g <= w + 1.5 for g, w in zip(gaps[1:], want[1:]))))' "$gaps"
then ok "... replaced at once, then after 1 s, 2 s, 4 s (gaps: ${gaps}s)"
else not_ok "back-off gaps" "gaps ${gaps:0:80}… s: want about 0 1 2 4"; fi
live=$(kc get pods -l app=crashy -o jsonpath='{range .items[*]}{.metadata.name} {.status.phase}{"\n"}{end}' 2>&1)
expect_match "during the back-off the failed pod stays, Failed, and no replacement is made" \
  '^crashy-[a-z0-9]{5} Failed$' "$live"
expect_match "kubectl get events: Warning FailedDaemonPod, the pod and the node named" \
  "Warning FailedDaemonPod Found failed daemon pod default/crashy-[a-z0-9]{5} on node $NODE, will try to kill it" \
  "$(kc get events --field-selector involvedObject.name=crashy -o jsonpath='{range .items[*]}{.type} {.reason} {.message}{"\n"}{end}' 2>&1)"
expect_match "kubectl describe ds lists the failed pods" "Warning +FailedDaemonPod .*Found failed daemon pod default/crashy-" \
  "$(kc describe ds crashy 2>&1 | tr -s '\n' ' ')"
if wait_for 30 ds_ready; then ok "the node no longer fails it: the daemon runs again"
else not_ok "daemon runs again" "$(kc get ds crashy 2>&1; kc get pods 2>&1)"; fi

for f in "$T/server.log" "$T/agent.log"; do
  if grep -q "ERROR: AddressSanitizer\|runtime error:" "$f"; then not_ok "$(basename "$f") has sanitizer reports" "$(grep -m3 'ERROR\|runtime error' "$f")"
  else ok "$(basename "$f"): no sanitizer reports"; fi
done
