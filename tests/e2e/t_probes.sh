#!/usr/bin/env bash
# t_probes.sh — container probes and memory-pressure eviction on a real
# `berth agent`, seen through kubectl as a user sees them: an httpGet
# readiness probe on httpd turns the pod Ready, and NotReady again when the
# page goes (404 in the event); an exec liveness probe that starts failing
# restarts the container (Unhealthy and Killing events, restartCount); a
# tcpSocket probe (a listening port is Ready, a closed one is not: the
# connect error in the event); a startup probe holds liveness off; an exec
# probe's timeoutSeconds is honoured; a gRPC probe is reported as not
# supported; the API server refuses bad probes. Then an agent with
# --memory-capacity 300Mi --eviction-hard memory.available<150Mi evicts a
# BestEffort pod that holds memory (Failed, Evicted, the kubelet's message)
# and keeps a Guaranteed one, the Node showing MemoryPressure and the
# memory-pressure taint, then neither.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"

[ "$(id -u)" = 0 ] || { echo "  skipped: needs root"; ok "t_probes skipped (not root)"; exit 0; }

NODE=probes-node
WATCH_PID=
TLS_PID=
cluster_at_exit 'kill $WATCH_PID $TLS_PID 2>/dev/null'
no_pods() { [ -z "$(kc get pods -o name 2>/dev/null)" ]; }

cluster_start

# ---- the agent's flags --------------------------------------------------------------
expect_match "agent --help documents the eviction flags" \
  '--eviction-hard memory.available<QTY.*--memory-capacity QTY.*--housekeeping-interval' \
  "$("$BERTH" agent --help 2>&1 | tr '\n' ' ')"
expect_fail "a bad --eviction-hard" 'invalid eviction threshold "nodefs.available<1Gi"' \
  timeout 20 "$BERTH" agent --server "$URL" --token x --data-dir "$T/bad" --eviction-hard 'nodefs.available<1Gi'
expect_fail "a bad --memory-capacity" 'invalid --memory-capacity "lots"' \
  "$BERTH" agent --server "$URL" --token x --memory-capacity lots

# One agent for the whole file: small memory, so that the eviction case at
# the end has pressure to make; the probe pods use almost none.
cluster_agent $NODE berthp0 10.242.$(($$ % 250)).0/24 --backoff-base 200ms \
  --memory-capacity 300Mi --eviction-hard 'memory.available<150Mi' --housekeeping-interval 1s || exit 1
expect_eq "--memory-capacity is the node's capacity and allocatable" "307200Ki 307200Ki" \
  "$(kc get node $NODE -o jsonpath='{.status.capacity.memory} {.status.allocatable.memory}')"

# ---- validation by the API server ------------------------------------------------------
bad_pod() { # NAME PROBE-YAML… (as the container's fields)
  local n=$1; shift
  printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers:\n  - name: c\n    image: busybox\n%s\n' "$n" "$*" >"$T/$n.yaml"
  kc apply -f "$T/$n.yaml"
}
expect_fail "two handlers in one probe are refused" \
  'spec.containers\[0\].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type' \
  bad_pod two '    livenessProbe: {exec: {command: [true]}, tcpSocket: {port: 80}}'
expect_fail "a probe without a handler is refused" \
  'spec.containers\[0\].readinessProbe: Required value: must specify a handler type' \
  bad_pod none '    readinessProbe: {periodSeconds: 5}'
expect_fail "liveness successThreshold must be 1" \
  'spec.containers\[0\].livenessProbe.successThreshold: Invalid value: 2: must be 1' \
  bad_pod succ '    livenessProbe: {exec: {command: [true]}, successThreshold: 2}'
expect_fail "a negative failureThreshold is refused" \
  'spec.containers\[0\].startupProbe.failureThreshold: Invalid value: -1' \
  bad_pod fail '    startupProbe: {exec: {command: [true]}, failureThreshold: -1}'
expect_fail "an httpGet probe needs a port" \
  'spec.containers\[0\].readinessProbe.httpGet.port: Required value' \
  bad_pod port '    readinessProbe: {httpGet: {path: /}}'
expect_fail "readiness may not set terminationGracePeriodSeconds" \
  'readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes' \
  bad_pod grace '    readinessProbe: {exec: {command: [true]}, terminationGracePeriodSeconds: 5}'
expect_fail "an init container may not have probes" \
  'spec.initContainers\[0\].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always' \
  kc apply -f - <<Y
apiVersion: v1
kind: Pod
metadata: {name: initprobe}
spec:
  initContainers:
  - {name: i, image: busybox, livenessProbe: {exec: {command: [true]}}}
  containers:
  - {name: c, image: busybox}
Y

# ---- the probe pods ------------------------------------------------------------------------
cat >"$T/pods.yaml" <<Y
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: busybox
    command: ["sh", "-c", "mkdir -p /www; (sleep 3; echo ok > /www/index.html) & exec httpd -f -p 8080 -h /www"]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /index.html, port: http}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata: {name: live}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "touch /tmp/healthy; sleep 3; rm /tmp/healthy; exec sleep 600"]
    livenessProbe:
      exec: {command: ["cat", "/tmp/healthy"]}
      periodSeconds: 1
      failureThreshold: 2
---
apiVersion: v1
kind: Pod
metadata: {name: tcp}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
  containers:
  - name: open
    image: busybox
    command: ["sh", "-c", "sleep 2; exec httpd -f -p 9000"]
    readinessProbe: {tcpSocket: {port: 9000}, periodSeconds: 1}
  - name: closed
    image: busybox
    command: ["sleep", "600"]
    readinessProbe: {tcpSocket: {port: 9001}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: slow}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "sleep 5; touch /tmp/started; exec sleep 600"]
    startupProbe:
      exec: {command: ["test", "-f", "/tmp/started"]}
      periodSeconds: 1
      failureThreshold: 30
    livenessProbe:
      exec: {command: ["test", "-f", "/tmp/started"]}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata: {name: neverup}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sleep", "600"]
    startupProbe:
      exec: {command: ["false"]}
      periodSeconds: 1
      failureThreshold: 2
---
apiVersion: v1
kind: Pod
metadata: {name: timeout}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sleep", "600"]
    readinessProbe:
      exec: {command: ["sleep", "5"]}
      timeoutSeconds: 1
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: sidecar}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: side
    image: busybox
    restartPolicy: Always
    command: ["sleep", "600"]
    startupProbe: {exec: {command: ["true"]}, periodSeconds: 1}
    readinessProbe: {exec: {command: ["test", "-f", "/tmp/ready"]}, periodSeconds: 1}
  containers:
  - name: main
    image: busybox
    command: ["sleep", "600"]
---
apiVersion: v1
kind: Pod
metadata: {name: grpc}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sleep", "600"]
    readinessProbe: {grpc: {port: 9090}}
Y
kc apply -f "$T/pods.yaml" >/dev/null 2>&1
T0=$SECONDS
phase() { kc get pod "$1" -o jsonpath='{.status.phase}' 2>/dev/null; }
ready() { kc get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null; }
is_ready() { [ "$(ready "$1")" = "$2" ]; }
cstatus() { kc get pod "$1" -o jsonpath="{.status.containerStatuses[?(@.name==\"$2\")].$3}" 2>/dev/null; }
events() { kc get events --field-selector "involvedObject.name=$1" -o jsonpath='{range .items[*]}{.type} {.reason} {.count} {.message}{"\n"}{end}' 2>/dev/null; }
has_event() { events "$1" | grep -qE "$2"; }

running() { [ "$(phase "$1")" = Running ]; }
wait_for 60 running web && wait_for 30 running live && wait_for 30 running slow
expect_eq "slow: running, but neither started nor ready before its startup probe succeeds" \
  "false false" "$(cstatus slow c started) $(cstatus slow c ready)"
expect_eq "probe pods are defaulted by the server (period, timeout, thresholds, path, scheme)" \
  "1 1 1 1 /index.html HTTP" \
  "$(kc get pod web -o jsonpath='{.spec.containers[0].readinessProbe.periodSeconds} {.spec.containers[0].readinessProbe.timeoutSeconds} {.spec.containers[0].readinessProbe.successThreshold} {.spec.containers[0].readinessProbe.failureThreshold} {.spec.containers[0].readinessProbe.httpGet.path} {.spec.containers[0].readinessProbe.httpGet.scheme}')"

# httpGet readiness: Running but not Ready until the page is there.
expect_match "web runs but is not Ready before its page exists" 'web +0/1 +Running' "$(kc get pod web 2>&1)"
if wait_for 20 is_ready web True; then ok "httpGet readiness: Ready once httpd serves the page"
else not_ok "web Ready" "$(kc get pod web -o jsonpath='{.status}') $(events web)"; fi
expect_eq "... containerStatuses ready and ContainersReady" "true True" \
  "$(cstatus web web ready) $(kc get pod web -o jsonpath='{.status.conditions[?(@.type=="ContainersReady")].status}')"
expect_match "kubectl get pod: 1/1" 'web +1/1 +Running' "$(kc get pod web 2>&1)"
kc exec web -- rm /www/index.html >/dev/null 2>&1
if wait_for 15 is_ready web False; then ok "the page removed: NotReady again"
else not_ok "web NotReady" "$(ready web)"; fi
expect_match "... event: Readiness probe failed with the status code" \
  'Warning Unhealthy [0-9]+ Readiness probe failed: HTTP probe failed with statuscode: 404' "$(events web)"
expect_eq "... the container is still running, not restarted" "0" "$(cstatus web web restartCount)"

# readinessGates: Ready also waits for conditions someone else sets; the
# agent's own status writes (strategic merge patches) leave them alone.
kc apply -f - >/dev/null 2>&1 <<Y
apiVersion: v1
kind: Pod
metadata: {name: gated}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
  readinessGates: [{conditionType: example.com/lb-ready}]
  containers:
  - {name: c, image: busybox, command: [sleep, "3600"]}
Y
cond() { kc get pod gated -o jsonpath="{.status.conditions[?(@.type==\"$1\")].$2}" 2>/dev/null; }
containers_ready() { [ "$(cond ContainersReady status)" = True ]; }
wait_for 30 containers_ready
expect_eq "readiness gate without its condition: containers ready, the pod not" \
  "True False ReadinessGatesNotReady" "$(cond ContainersReady status) $(cond Ready status) $(cond Ready reason)"
expect_eq "... with the kubelet's message" \
  'corresponding condition of pod readiness gate "example.com/lb-ready" does not exist.' "$(cond Ready message)"
gate() { kc patch pod gated --subresource=status --type=strategic \
  -p "{\"status\":{\"conditions\":[{\"type\":\"example.com/lb-ready\",\"status\":\"$1\"}]}}" >/dev/null 2>&1; }
gate True
if wait_for 20 is_ready gated True; then ok "the gate's condition set True: Ready"
else not_ok "gated Ready" "$(kc get pod gated -o jsonpath='{.status.conditions}')"; fi
expect_eq "... the gate's condition kept beside the agent's own" True "$(cond example.com/lb-ready status)"
gate False
if wait_for 20 is_ready gated False; then ok "the gate's condition set False: not Ready"
else not_ok "gated not Ready" "$(kc get pod gated -o jsonpath='{.status.conditions}')"; fi
expect_eq "... saying why" 'the status of pod readiness gate "example.com/lb-ready" is not "True", but False' "$(cond Ready message)"
kc delete pod gated --grace-period=0 >/dev/null 2>&1

# httpGet with scheme HTTPS: the kubelet does not verify the certificate. A
# hostNetwork pod probes the node's address, where a TLS server (openssl
# s_server, a self-signed certificate) comes up after the pod runs.
TLSPORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=probe -days 1 -keyout "$T/tls.key" -out "$T/tls.crt" >/dev/null 2>&1
kc apply -f - >/dev/null 2>&1 <<Y
apiVersion: v1
kind: Pod
metadata: {name: tls}
spec:
  nodeName: $NODE
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: [sleep, "3600"]
    readinessProbe:
      httpGet: {path: /, port: $TLSPORT, scheme: HTTPS}
      periodSeconds: 1
Y
if wait_for 20 is_ready tls False && sleep 2 && is_ready tls False; then ok "HTTPS readiness: not Ready while nothing serves TLS there"
else not_ok "tls not ready" "$(ready tls) $(events tls)"; fi
openssl s_server -quiet -www -accept "127.0.0.1:$TLSPORT" -cert "$T/tls.crt" -key "$T/tls.key" >/dev/null 2>&1 &
TLS_PID=$!
if wait_for 20 is_ready tls True; then ok "HTTPS readiness: Ready once a TLS server with a self-signed certificate answers"
else not_ok "tls Ready" "$(ready tls) $(events tls)"; fi
kill $TLS_PID 2>/dev/null; wait $TLS_PID 2>/dev/null
kc delete pod tls --grace-period=0 >/dev/null 2>&1

# exec liveness: healthy for 3 s, then failing twice: killed and restarted.
restarted() { [ "$(cstatus live c restartCount)" -ge 1 ] 2>/dev/null; }
if wait_for 30 restarted; then ok "exec liveness failing: the container is restarted (restartCount 1)"
else not_ok "live restarted" "$(kc get pod live -o jsonpath='{.status}') $(events live)"; fi
ev=$(events live)
expect_match "... Unhealthy event with the command's output" \
  "Warning Unhealthy [0-9]+ Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory" "$ev"
expect_match "... Killing event" 'Normal Killing [0-9]+ Container c failed liveness probe, will be restarted' "$ev"
desc=$(kc describe pod live 2>&1)
expect_match "... kubectl describe shows both, and the probe" \
  'Liveness: +exec \[cat /tmp/healthy\] delay=0s timeout=1s period=1s #success=1 #failure=2.*Warning +Unhealthy .*Liveness probe failed: cat: can.t open' \
  "$(tr '\n' ' ' <<<"$desc")"
expect_match "... (Killing)" 'Normal +Killing .*Container c failed liveness probe, will be restarted' "$desc"
expect_match "... the run before ended (lastState terminated)" '^[0-9]+$' "$(cstatus live c lastState.terminated.exitCode)"
wait_for 10 running live
expect_eq "... and it runs again" "Running" "$(phase live)"

# tcpSocket: the listening container is Ready, the closed port's is not.
open_ready() { [ "$(cstatus tcp open ready)" = true ]; }
if wait_for 20 open_ready; then ok "tcpSocket readiness: a listening port is ready"
else not_ok "tcp open ready" "$(kc get pod tcp -o jsonpath='{.status}')"; fi
expect_eq "... a closed port is not, and so neither is the pod" "false False" "$(cstatus tcp closed ready) $(ready tcp)"
expect_match "... Unhealthy event with the connect error" \
  'Readiness probe failed: dial tcp [0-9.]+:9001: connect: connection refused' "$(events tcp)"
expect_match "kubectl get pod: 1/2" 'tcp +1/2 +Running' "$(kc get pod tcp 2>&1)"

# startup probe: 5 s before it succeeds; liveness (which would fail at once) waits for it.
started() { [ "$(cstatus slow c started)" = true ]; }
if wait_for 30 started; then ok "startup probe succeeds: started true"
else not_ok "slow started" "$(kc get pod slow -o jsonpath='{.status}') $(events slow)"; fi
expect_eq "... liveness held off until then: no restart" "0" "$(cstatus slow c restartCount)"
if wait_for 10 is_ready slow True; then ok "... then Ready"; else not_ok "slow Ready" "$(ready slow)"; fi
expect_match "... startup probe failures were reported while it started" 'Startup probe failed' "$(events slow)"
if has_event slow 'Liveness probe failed'; then not_ok "no liveness failure on slow" "$(events slow)"
else ok "... and no liveness probe failed"; fi

# A startup probe that never succeeds restarts the container like liveness.
neverup_restarted() { [ "$(cstatus neverup c restartCount)" -ge 1 ] 2>/dev/null; }
if wait_for 20 neverup_restarted; then ok "a failed startup probe restarts the container"
else not_ok "neverup restarted" "$(kc get pod neverup -o jsonpath='{.status}') $(events neverup)"; fi
expect_match "... Killing event" 'Normal Killing [0-9]+ Container c failed startup probe, will be restarted' "$(events neverup)"
expect_eq "... and it is never started" "false" "$(cstatus neverup c started)"

# exec probe timeout: `sleep 5` with timeoutSeconds 1 fails after 1 s.
if wait_for 15 has_event timeout 'Readiness probe failed: command "sleep 5" timed out after 1s'; then
  ok "exec probe timeoutSeconds honoured"
else not_ok "exec timeout" "$(events timeout)"; fi
expect_eq "... not Ready" "False" "$(ready timeout)"

# A sidecar's probes: its startup probe lets the main container start; its
# readiness counts for the pod's.
main_running() { [ -n "$(cstatus sidecar main state.running.startedAt)" ]; }
if wait_for 20 main_running; then ok "sidecar started (startup probe): the main container runs"
else not_ok "sidecar main running" "$(kc get pod sidecar -o jsonpath='{.status}')"; fi
expect_eq "... the sidecar is not ready, nor the pod" "false False" \
  "$(kc get pod sidecar -o jsonpath='{.status.initContainerStatuses[0].ready}') $(ready sidecar)"
kc exec sidecar -c side -- touch /tmp/ready >/dev/null 2>&1
if wait_for 10 is_ready sidecar True; then ok "... its readiness probe succeeds: the pod is Ready"
else not_ok "sidecar Ready" "$(kc get pod sidecar -o jsonpath='{.status}')"; fi

# gRPC probes are not run, and the user is told.
expect_match "gRPC probe: an event says it is not supported" \
  'Warning ProbeNotSupported [0-9]+ Readiness probe of container c is not run: berth does not support gRPC probes' "$(events grpc)"
if wait_for 10 is_ready grpc True; then ok "... the container is Ready as without the probe"
else not_ok "grpc Ready" "$(ready grpc)"; fi
expect_match "repeated probe failures are one event with a count" \
  'Warning Unhealthy ([2-9]|[1-9][0-9]+) Readiness probe failed: dial tcp' "$(events tcp)"
echo "  (probe cases took $((SECONDS - T0)) s)"

kc delete pods --all --grace-period=0 --wait=false >/dev/null 2>&1
wait_for 30 no_pods || not_ok "probe pods deleted" "$(kc get pods 2>&1)"

# ---- memory-pressure eviction ---------------------------------------------------------------
kc get node $NODE -w -o jsonpath='{.status.conditions[?(@.type=="MemoryPressure")].status} {.status.conditions[?(@.type=="MemoryPressure")].reason} {.spec.taints[*].key}{"\n"}' \
  >"$T/node.watch" 2>&1 &
WATCH_PID=$!
cat >"$T/evict.yaml" <<Y
apiVersion: v1
kind: Pod
metadata: {name: guaranteed}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sleep", "600"]
    resources:
      limits: {memory: 40Mi, cpu: 100m}
---
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "sleep 2; (head -c 180m /dev/zero; sleep 600) | tail"]
Y
kc apply -f "$T/evict.yaml" >/dev/null 2>&1
T0=$SECONDS
hog_failed() { [ "$(phase hog)" = Failed ]; }
if wait_for 60 hog_failed; then ok "the BestEffort pod holding memory is evicted: Failed"
else not_ok "hog evicted" "$(kc get pod hog -o jsonpath='{.status}') $(grep -E 'housekeeping|evict' "$T/agent.log" | tail -5)"; fi
expect_eq "... reason Evicted" "Evicted" "$(kc get pod hog -o jsonpath='{.status.reason}')"
expect_match "... the kubelet's message" \
  '^The node was low on resource: memory\. Threshold quantity: 150Mi, available: [0-9]+(Ki|Mi)?\. Container c was using [0-9]+(Ki|Mi)?, request is 0, has larger consumption of memory\.$' \
  "$(kc get pod hog -o jsonpath='{.status.message}')"
expect_match "... kubectl describe shows Failed, Evicted and why" \
  'Status: +Failed Reason: +Evicted Message: +The node was low on resource: memory' \
  "$(kc describe pod hog 2>&1 | tr -s '\n' ' ')"
expect_match "... event Evicted" 'Warning Evicted 1 The node was low on resource: memory' "$(events hog)"
expect_eq "... DisruptionTarget condition" "True TerminationByKubelet" \
  "$(kc get pod hog -o jsonpath='{.status.conditions[?(@.type=="DisruptionTarget")].status} {.status.conditions[?(@.type=="DisruptionTarget")].reason}')"
expect_eq "the Guaranteed pod within its request still runs" "Running 0" \
  "$(phase guaranteed) $(cstatus guaranteed c restartCount)"
cleared() { [ "$(kc get node $NODE -o jsonpath='{.status.conditions[?(@.type=="MemoryPressure")].status}')" = False ]; }
if wait_for 15 cleared; then ok "MemoryPressure is False again once the memory is back"
else not_ok "pressure cleared" "$(kc get node $NODE -o yaml 2>&1 | grep -A3 MemoryPressure)"; fi
no_taint() { ! kc get node $NODE -o jsonpath='{.spec.taints[*].key}' | grep -q memory-pressure; }
if wait_for 10 no_taint; then ok "... and the memory-pressure taint is gone"
else not_ok "taint removed" "$(kc get node $NODE -o jsonpath='{.spec.taints}')"; fi
sleep 1
kill "$WATCH_PID" 2>/dev/null
WATCH_PID=
expect_match "the Node showed MemoryPressure True with the taint, then False without" \
  'True KubeletHasInsufficientMemory node\.kubernetes\.io/memory-pressure.*False KubeletHasSufficientMemory *$' \
  "$(tr '\n' ' ' <"$T/node.watch" | sed 's/ *$//')"
echo "  (eviction case took $((SECONDS - T0)) s)"
