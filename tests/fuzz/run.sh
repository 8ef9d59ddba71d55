#!/usr/bin/env bash
# run.sh — the bounded fuzz test CI runs: builds build/asan/fuzz-decode,
# runs every seed of tests/fuzz/corpus and then mutants for SECONDS (default
# 20, or $FUZZ_SECONDS) from SEED (default 1, or $FUZZ_SEED; the same seed
# gives the same inputs). Ends with one line as the e2e tests do:
# "ok fuzz-decode …" or "not_ok fuzz-decode …". A crashing or leaking input
# is saved under build/fuzz/ and the command that replays it is printed.
#
#   tests/fuzz/run.sh [SECONDS [SEED]]
#   FUZZ_SEED=$RANDOM tests/fuzz/run.sh 300     explore further
set -u
cd "$(dirname "$0")/../.."
secs=${1:-${FUZZ_SECONDS:-20}}
seed=${2:-${FUZZ_SEED:-1}}
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}:hard_rss_limit_mb=3072"
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if ! out=$(make --no-print-directory -s build/asan/fuzz-decode 2>&1); then
  echo "$out" | tail -20
  echo "not_ok fuzz-decode: build/asan/fuzz-decode does not build"
  exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
timeout $((${secs%.*} + 300)) build/asan/fuzz-decode -t "$secs" -s "$seed" -c build/fuzz \
  tests/fuzz/corpus 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 0 ]; then
  echo "ok fuzz-decode: $(tail -1 "$log" | sed 's/^fuzz-decode: //')"
else
  saved=$(grep -o 'replay with: .*' "$log" | tail -1)
  echo "not_ok fuzz-decode: seed $seed, exit $rc${saved:+; $saved}"
fi
[ "$rc" -eq 0 ]
