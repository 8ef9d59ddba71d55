#!/usr/bin/env bash
# demo.sh BERTH — what `make run` shows until there is a cluster to show:
# one berth binary running containers from the offline busybox image, step
# by step, with a line before each step saying what it does. Uses the
# default engine root (/var/lib/berth, or $BERTH_ROOT) and must run as root.
# Leaves the busybox image loaded and no container behind.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BERTH" >&2
  exit 2
fi
BERTH=$(realpath "$1")
TOP=$(cd "$(dirname "$0")/.." && pwd)
TAR=${BUSYBOX_TAR:-$TOP/build/images/busybox.tar}
NAME=berth-demo

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: berth runs containers with namespaces and cgroups: run as root (sudo make run)" >&2
  exit 1
fi

bold='' plain=''
if [ -t 1 ]; then bold=$(tput bold 2>/dev/null || true) plain=$(tput sgr0 2>/dev/null || true); fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
# show ARGS… — prints the command as one could type it, then runs it.
show() {
  local a line='$ berth'
  for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_./:=@%+-]+$ ]]; then line+=" $a"; else line+=" '${a//\'/\'\\\'\'}'"; fi
  done
  printf '%s\n' "$line"
  "$BERTH" "$@"
}

# A demo container left over from an interrupted run would hold the name.
"$BERTH" container rm -f "$NAME" >/dev/null 2>&1 || true
trap '"$BERTH" container rm -f "$NAME" >/dev/null 2>&1 || true' EXIT

step "berth $("$BERTH" version | awk '{print $3}'), engine root ${BERTH_ROOT:-/var/lib/berth}"

if ! "$BERTH" image inspect busybox >/dev/null 2>&1; then
  step "Load the offline busybox image (an OCI image built from Debian's busybox-static)"
  show image load -i "$TAR"
fi
show image ls

step "Run a container in the foreground; --rm removes it when it exits"
show container run --rm busybox echo "hello from a container: $(uname -n) is not my hostname"

step "Its exit code becomes berth's"
set +e
show container run --rm busybox sh -c 'exit 3'
echo "exit code: $?"
set -e

step "Start a container in the background, limited to 64 MiB of memory and half a CPU"
show container run -d --name "$NAME" --memory 64m --cpus 0.5 busybox \
  sh -c 'trap "exit 0" TERM; echo "started at $(date)"; i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 1; done'
sleep 2

step "List running containers"
show container ls

step "Read its output (the monitor keeps a log even when nobody is attached)"
show container logs --tail 3 "$NAME"

step "Run a second process inside it"
show container exec "$NAME" hostname
show container exec "$NAME" ps

step "Resource usage (two samples a second apart)"
show container stats --no-stream "$NAME"

step "Stop it (SIGTERM: its shell traps it and exits 0; SIGKILL after -t seconds otherwise) and remove it"
show container stop -t 2 "$NAME"
show container ls -a
show container rm "$NAME"
trap - EXIT

cat <<EOF

${bold}Try next${plain} (berth is $1; the state is in ${BERTH_ROOT:-/var/lib/berth})
  berth container run --rm -it busybox sh            a shell in a container
  berth container run --rm -v /tmp:/host:ro busybox ls /host
  berth container run --rm --memory 16m busybox sh -c 'x=a; while :; do x=\$x\$x; done'; echo \$?
                                                       the OOM killer: exit code 137
  berth container --help                             every container command
  berth image --help                                 load, save, import, tag, prune images
  berth runtime --help                               the OCI runtime underneath
EOF
