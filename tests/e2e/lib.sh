# lib.sh — sourced by every tests/e2e/t_*.sh. Each test file runs its cases
# against the real (sanitised) berth binary with a private state root, and
# reports each case with `ok NAME` or `not_ok NAME WHY`; run.sh counts them.
# A test that runs a server and agents sources cluster.sh after this file.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BERTH=${BERTH:-$TOP/build/asan/berth}
BUSYBOX_TAR=${BUSYBOX_TAR:-$TOP/build/images/busybox.tar}
RESULTS=${RESULTS:-/dev/stdout}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# A private engine root per test file, removed at exit.
T=$(mktemp -d /tmp/berth-e2e.XXXXXX)
export BERTH_ROOT=$T/root
cleanup_root() {
  # Stop whatever the file left running before removing its state.
  "$BERTH" container rm -f $("$BERTH" container ls -aq 2>/dev/null) >/dev/null 2>&1 || true
  # Pod cgroups left by a killed agent: rmdir only takes empty ones.
  rmdir /sys/fs/cgroup/*/berth-pods/pod* /sys/fs/cgroup/berth-pods/pod* 2>/dev/null || true
  # Every mount below $T (umount -R "$T" alone does nothing: $T is not one),
  # the engine's tmpfs at ROOT/run among them, deepest first. A monitor
  # finishing its clean-up holds ROOT/run (its attach socket) for a moment:
  # such a mount is detached, and goes once the monitor has exited.
  local m
  for m in $(findmnt -rn -o TARGET | grep "^$T/" | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$T"
}
trap cleanup_root EXIT

ok() { echo "ok $*" >>"$RESULTS"; echo "  ok     $*"; }
not_ok() { local n=$1; shift; echo "not_ok $n" >>"$RESULTS"; echo "  FAILED $n: $*"; }

# check NAME CMD… — passes when CMD exits 0.
check() { local n=$1; shift; if out=$("$@" 2>&1); then ok "$n"; else not_ok "$n" "$* -> $out"; fi; }
# expect_eq NAME EXPECTED ACTUAL
expect_eq() { if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "expected [$2] got [$3]"; fi; }
# expect_match NAME REGEX ACTUAL
expect_match() { if [[ "$3" =~ $2 ]]; then ok "$1"; else not_ok "$1" "[$3] does not match /$2/"; fi; }
# expect_fail NAME REGEX CMD… — CMD must fail and print something matching REGEX.
expect_fail() {
  local n=$1 re=$2; shift 2
  if out=$("$@" 2>&1); then not_ok "$n" "succeeded: $out"
  elif [[ "$out" =~ $re ]]; then ok "$n"
  else not_ok "$n" "error [$out] does not match /$re/"; fi
}
# wait_for SECONDS CMD… — polls until CMD succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.05; done
}
# Loads the offline busybox image into this file's root.
load_busybox() { "$BERTH" image load -i "$BUSYBOX_TAR" >/dev/null; }
