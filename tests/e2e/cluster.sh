# cluster.sh — sourced (after lib.sh) by the tests that run a real `berth
# server` and `berth agent`s: starts them on free ports with their data
# under $T, gives the tests curl and kubectl against the server, and at
# exit takes down whatever they started. The pods go first, through the
# API while their agents still run, so that each agent stops its
# containers and takes their network down itself; then the agents (and
# the spawner each forked), the server, the mounts under $T, the engine
# roots and the bridges.
#
#   cluster_start [FLAGS…]       the server (a failed start is a case, and
#                                the end of the file), then busybox loaded
#   cluster_server [FLAGS…]      the server alone: returns 1 if it does not
#                                answer /healthz within 30 s
#   cluster_server_stop [SIG]    SIGTERM by default; returns its exit status
#   cluster_agent [--own-root] NAME BRIDGE CIDR [FLAGS…]
#                                an agent as node NAME, then the case "the
#                                agent's node is Ready" (returns 1 if not)
#   cluster_agent_start …        the same arguments: starts it, no wait
#   cluster_agent_argv …         the same arguments: AGENT_ARGV, its command
#                                line after "$BERTH" (no --token, no log level)
#   cluster_agent_stop NAME [SIG] SIGTERM by default; returns its exit status
#   cluster_node_ready NAME      the Node's Ready condition is True
#   cluster_bridge NAME          a bridge someone else makes (server
#                                --with-agent), deleted at exit
#   cluster_at_exit CMD          eval'd first at exit (a watch to stop …)
#
# The agent a test runs on its own engine root ($BERTH_ROOT) keeps its data
# in $ADATA and logs to $T/agent.log; one of several nodes (--own-root) has
# a root of its own with busybox loaded, $T/agent-NAME and
# $T/agent-NAME.log. An agent restarted under the same NAME keeps its port
# and data dir. The server logs to $T/server.log; both at
# $CLUSTER_LOG_LEVEL (debug unless the test sets it).

CLUSTER_LOG_LEVEL=${CLUSTER_LOG_LEVEL:-debug}
KC_TIMEOUT=${KC_TIMEOUT:-60}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
DATA=$T/srv
URL=https://127.0.0.1:$PORT
ADATA=$T/agent
APORT=
SRV_PID=
declare -A AGENT_PID AGENT_PORT AGENT_DATA AGENT_ROOT AGENT_LOG CLUSTER_BRIDGES
CLUSTER_AT_EXIT=()

# C: curl as the admin (set once the server made its token); C_ANON: no credential.
C_ANON=(curl -s --cacert "$DATA/ca.crt")
C=("${C_ANON[@]}")
req() { local m=$1 p=$2; shift 2; "${C[@]}" -X "$m" -w ' %{http_code}' "$@" "$URL$p"; }
get() { "${C[@]}" "$URL$1"; }
# jq_ EXPR: evaluates a Python expression over the JSON d read from stdin (a trailing
# " CODE" from req is dropped).
jq_() { python3 -c '
import json,sys
raw=sys.stdin.read().strip()
if raw[-4:-3]==" " and raw[-3:].isdigit(): raw=raw[:-4]
d=json.loads(raw)
print(eval(sys.argv[1]))' "$1"; }
# kubectl as the admin, with a deadline and a cache of its own each time.
kc() { timeout "$KC_TIMEOUT" kubectl --kubeconfig "$DATA/admin.kubeconfig" --cache-dir "$(mktemp -d "$T/kc.XXXXXX")" "$@"; }

cluster_server() {
  "$BERTH" --log-level "$CLUSTER_LOG_LEVEL" server --listen 127.0.0.1:$PORT --data-dir "$DATA" "$@" \
    >>"$T/server.log" 2>&1 &
  SRV_PID=$!
  wait_for 30 curl -sf --cacert "$DATA/ca.crt" "$URL/healthz" || return 1
  C=("${C_ANON[@]}" -H "Authorization: Bearer $(cat "$DATA/admin-token")")
}

cluster_start() {
  cluster_server "$@" || { not_ok "server starts" "$(tail -5 "$T/server.log")"; exit 1; }
  load_busybox || { not_ok load_busybox "image load failed"; exit 1; }
}

cluster_server_stop() {
  local rc=0
  if [ -n "$SRV_PID" ]; then
    kill -"${1:-TERM}" "$SRV_PID" 2>/dev/null
    wait "$SRV_PID" 2>/dev/null
    rc=$?
  fi
  SRV_PID=
  return $rc
}

cluster_agent_argv() {
  local own=
  if [ "$1" = --own-root ]; then own=1; shift; fi
  local name=$1 br=$2 cidr=$3
  shift 3
  if [ -z "${AGENT_PORT[$name]:-}" ]; then
    AGENT_PORT[$name]=$(free_port)
    if [ -n "$own" ]; then AGENT_DATA[$name]=$T/agent-$name; else AGENT_DATA[$name]=$ADATA; fi
  fi
  if [ -z "$own" ]; then APORT=${AGENT_PORT[$name]}; fi
  AGENT_ARGV=(agent --server "$URL" --data-dir "${AGENT_DATA[$name]}" --listen "127.0.0.1:${AGENT_PORT[$name]}"
    --node-ip 127.0.0.1 --node-name "$name" --pod-cidr "$cidr" --bridge "$br" "$@")
}

cluster_agent_start() {
  local own= root=$BERTH_ROOT log=$T/agent.log
  if [ "$1" = --own-root ]; then own=1; shift; fi
  local name=$1 br=$2
  cluster_agent_argv ${own:+--own-root} "$@"
  if [ -n "$own" ]; then
    root=$T/root-$name
    log=$T/agent-$name.log
    if [ ! -d "$root" ]; then
      mkdir -p "$root"
      BERTH_ROOT=$root load_busybox || return 1
    fi
  fi
  AGENT_ROOT[$name]=$root
  AGENT_LOG[$name]=$log
  CLUSTER_BRIDGES[$br]=1
  BERTH_ROOT=$root "$BERTH" --log-level "$CLUSTER_LOG_LEVEL" "${AGENT_ARGV[@]}" \
    --token "$(cat "$DATA/node-token")" >>"$log" 2>&1 &
  AGENT_PID[$name]=$!
}

cluster_node_ready() {
  get "/api/v1/nodes/$1" 2>/dev/null |
    jq_ '[c["status"] for c in d["status"]["conditions"] if c["type"]=="Ready"][0]' 2>/dev/null | grep -qx True
}

cluster_agent() {
  local name=$1
  if [ "$1" = --own-root ]; then name=$2; fi
  cluster_agent_start "$@" || { not_ok "agent starts" "busybox not loaded into its root"; return 1; }
  if wait_for 60 cluster_node_ready "$name"; then
    ok "the agent's node is Ready"
  else
    not_ok "node Ready" "$(kc get nodes 2>&1; tail -20 "${AGENT_LOG[$name]}")"
    return 1
  fi
}

cluster_agent_stop() {
  local pid=${AGENT_PID[$1]:-} rc=0
  if [ -n "$pid" ]; then
    kill -"${2:-TERM}" "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
  fi
  AGENT_PID[$1]=
  return $rc
}

cluster_bridge() { CLUSTER_BRIDGES[$1]=1; }
cluster_at_exit() { CLUSTER_AT_EXIT+=("$1"); }

# Deletes every workload (orphaning its pods, so that no controller makes
# more) and then every pod, at once (grace period 0).
cluster_delete_all() {
  python3 - "$URL" "$DATA/ca.crt" "$(cat "$DATA/admin-token" 2>/dev/null)" <<'PY'
import json, ssl, sys, urllib.request
url, ca, token = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
def call(method, path, body=None):
    req = urllib.request.Request(url + path, method=method, data=body and json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return json.load(r)
orphan, now = {"propagationPolicy": "Orphan"}, {"gracePeriodSeconds": 0}
for group, resource, body in [("/apis/batch/v1", "cronjobs", orphan),
                              ("/apis/apps/v1", "deployments", orphan),
                              ("/apis/batch/v1", "jobs", orphan),
                              ("/apis/apps/v1", "replicasets", orphan),
                              ("/apis/apps/v1", "daemonsets", orphan),
                              ("/api/v1", "pods", now)]:
    try:
        items = call("GET", "%s/%s" % (group, resource))["items"]
    except Exception as e:
        print("list %s: %s" % (resource, e), file=sys.stderr)
        continue
    for o in items:
        md = o["metadata"]
        try:
            call("DELETE", "%s/namespaces/%s/%s/%s" % (group, md["namespace"], resource, md["name"]), body)
        except Exception as e:  # gone meanwhile
            print("delete %s %s: %s" % (resource, md["name"], e), file=sys.stderr)
PY
}

# True when no running agent's engine root has a container left.
cluster_nodes_empty() {
  local n
  for n in "${!AGENT_PID[@]}"; do
    [ -n "${AGENT_PID[$n]}" ] || continue
    [ -z "$(BERTH_ROOT=${AGENT_ROOT[$n]} "$BERTH" container ls -aq 2>/dev/null)" ] || return 1
  done
}

cluster_finish() {
  local cmd n pid c running=
  for cmd in "${CLUSTER_AT_EXIT[@]}"; do eval "$cmd"; done
  for n in "${!AGENT_PID[@]}"; do [ -n "${AGENT_PID[$n]}" ] && running=1; done
  if [ -n "$running" ] && [ -n "$SRV_PID" ]; then
    cluster_delete_all 2>/dev/null
    wait_for 20 cluster_nodes_empty
  fi
  for n in "${!AGENT_PID[@]}"; do
    pid=${AGENT_PID[$n]}
    [ -n "$pid" ] || continue
    # The agent's spawner, or a child that never exec'd, would outlive it.
    for c in $(ps -o pid= --ppid "$pid" 2>/dev/null); do kill -9 "$c" 2>/dev/null; done
    cluster_agent_stop "$n" KILL
  done
  for n in "${!AGENT_DATA[@]}"; do umount -R "${AGENT_DATA[$n]}/run" 2>/dev/null; done
  cluster_server_stop KILL
  for n in "${!AGENT_ROOT[@]}"; do
    [ "${AGENT_ROOT[$n]}" = "$BERTH_ROOT" ] && continue
    BERTH_ROOT=${AGENT_ROOT[$n]} "$BERTH" container rm -f \
      $(BERTH_ROOT=${AGENT_ROOT[$n]} "$BERTH" container ls -aq 2>/dev/null) >/dev/null 2>&1
  done
  cleanup_root # the mounts under $T, the test's own root, $T
  for n in "${!CLUSTER_BRIDGES[@]}"; do ip link del "$n" 2>/dev/null; done
  return 0
}
trap cluster_finish EXIT
trap 'exit 1' TERM INT # run.sh's timeout: clean up all the same
