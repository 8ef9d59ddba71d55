#!/usr/bin/env bash
# demo.sh BERTH [--stop] — what `make run` does: starts a single-node berth
# cluster on this machine (`berth server --with-agent`, in the background,
# state under /var/lib/berth or $BERTH_ROOT), makes ~/.berth/config its admin
# kubeconfig, runs a first pod from the offline busybox image and shows it
# working with berth's own CLI (and kubectl when it is installed), then says
# what to type next. Run again: reuses the running cluster. --stop stops it
# (`make stop`); the pods' containers stop with their pods, not with it.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 BERTH [--stop]" >&2
  exit 2
fi
BERTH=$(realpath "$1")
B=$1 # as the user would type it from the repo: build/berth
TOP=$(cd "$(dirname "$0")/.." && pwd)
TAR=${BUSYBOX_TAR:-$TOP/build/images/busybox.tar}
ROOT=${BERTH_ROOT:-/var/lib/berth}
export BERTH_ROOT=$ROOT
PIDFILE=$ROOT/server.pid
LOG=$ROOT/server.log
KCONF=$HOME/.berth/config

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: berth runs containers with namespaces and cgroups: run as root (sudo make run)" >&2
  exit 1
fi

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

if [ "${2:-}" = "--stop" ]; then
  if running; then
    pid=$(cat "$PIDFILE")
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "berth stopped (pid $pid). Pods' containers keep running until their pods are deleted;"
    echo "'make run' starts the cluster again and its agent adopts them."
  else
    echo "berth is not running"
  fi
  rm -f "$PIDFILE"
  exit 0
fi

bold='' plain=''
if [ -t 1 ]; then bold=$(tput bold 2>/dev/null || true) plain=$(tput sgr0 2>/dev/null || true); fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
# show ARGS… — prints the command as one could type it, then runs it.
show() {
  local a line="\$ $B"
  for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_./:=@%+-]+$ ]]; then line+=" $a"; else line+=" '${a//\'/\'\\\'\'}'"; fi
  done
  printf '%s\n' "$line"
  "$BERTH" "$@"
}
wait_for() { # SECONDS CMD…
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}

step "berth $("$BERTH" version | awk '{print $3}'), state in $ROOT"
mkdir -p "$ROOT"
if ! "$BERTH" image inspect busybox >/dev/null 2>&1; then
  step "Load the offline busybox image (an OCI image built from Debian's busybox-static)"
  show image load -i "$TAR"
fi

if running; then
  step "The cluster is already running (pid $(cat "$PIDFILE"))"
else
  step "Start a single-node cluster: the API server (HTTPS :6443) and this machine's agent"
  echo "\$ $B server --with-agent --data-dir $ROOT/server --agent-data-dir $ROOT/agent &"
  setsid "$BERTH" --log-level info server --with-agent --data-dir "$ROOT/server" \
    --agent-data-dir "$ROOT/agent" >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  if ! wait_for 30 test -s "$ROOT/server/admin.kubeconfig" || ! wait_for 30 running; then
    echo "berth did not start; the end of $LOG:" >&2
    tail -20 "$LOG" >&2
    exit 1
  fi
fi

mkdir -p "$(dirname "$KCONF")"
if [ -f "$KCONF" ] && ! cmp -s "$KCONF" "$ROOT/server/admin.kubeconfig"; then
  cp "$KCONF" "$KCONF.bak"
  echo "(your previous $KCONF is saved as $KCONF.bak)"
fi
install -m 600 "$ROOT/server/admin.kubeconfig" "$KCONF"

node_ready() { "$BERTH" get nodes 2>/dev/null | grep -q ' Ready '; }
if ! wait_for 60 node_ready; then
  echo "the node did not become Ready; the end of $LOG:" >&2
  tail -20 "$LOG" >&2
  exit 1
fi
step "The node has registered and is Ready"
show get nodes -o wide

if ! "$BERTH" get pod hello >/dev/null 2>&1; then
  step "Run a pod: berth's CLI reads ~/.berth/config, as kubectl reads ~/.kube/config"
  show run hello --image busybox -- sh -c 'while true; do echo "hello from pod $(hostname), $(date)"; sleep 2; done'
fi
pod_running() { "$BERTH" get pod hello 2>/dev/null | grep -q ' Running '; }
wait_for 60 pod_running || true
show get pods -o wide

step "Its output, kept by the node"
sleep 2
show logs --tail 3 hello

step "Run a command inside it"
show exec hello -- ps

if command -v kubectl >/dev/null 2>&1; then
  step "kubectl works too, unchanged"
  echo "\$ kubectl --kubeconfig $KCONF get pods"
  kubectl --kubeconfig "$KCONF" get pods
fi

cat <<EOF

${bold}berth is running in the background${plain} (pid $(cat "$PIDFILE"); log: $LOG).
Try next (berth's CLI reads ~/.berth/config; copy $B onto your PATH to type just "berth"):
  $B get pods -w                      watch pods change (Ctrl-C to stop)
  $B apply -f examples/web.yaml       a config map and two pods, from YAML
  $B apply -f examples/deployment.yaml   a Deployment of 3 pods with readiness probes
  $B rollout status deploy/hello-web  follow it until every pod is ready (then scale, undo…)
  $B describe pod hello               everything about a pod, with its events
  $B logs -f hello                    follow its output
  $B exec -it hello -- sh             a shell inside it
  $B delete pod hello                 stop and remove it (graceful: SIGTERM first)
  kubectl --kubeconfig ~/.berth/config get nodes
Stop the cluster: make stop
EOF
