#!/usr/bin/env bash
# Runs every test — Criterion unit tests, the end-to-end tests, then a bounded
# fuzz run (tests/fuzz/run.sh, one test) — and ends with one summary line:
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "tests: run as root (namespaces and cgroups need it)"; exit 1; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
up=0 uf=0
out=$(mktemp) failures=$(mktemp)
echo "== unit tests (build/asan/unit-tests)"
# The engine spawns its container spawner from berth itself (engine_spawner_start).
BERTH_EXE=$PWD/build/asan/berth build/asan/unit-tests -j2 --short-filename 2>&1 | tee "$out"
urc=${PIPESTATUS[0]}
# Criterion: "[====] Synthesis: Tested: 12 | Passing: 11 | Failing: 1 | Crashing: 0"
syn=$(grep 'Synthesis:' "$out" | tail -1)
if [[ $syn =~ Tested:\ ([0-9]+).*Passing:\ ([0-9]+).*Failing:\ ([0-9]+).*Crashing:\ ([0-9]+) ]]; then
  up=${BASH_REMATCH[2]}; uf=$((BASH_REMATCH[3] + BASH_REMATCH[4]))
else
  uf=1; echo "unit tests: no summary (exit $urc)"
fi
[ $urc -ne 0 ] && [ $uf -eq 0 ] && uf=1
# Criterion: "[FAIL] suite::name: (0.12s)", "[----] suite::name: CRASH!", and the assertion's
# "[----] file.c:123: Assertion Failed" lines that come before them.
grep -E '^\[(FAIL|----)\]' "$out" | grep -vE '^\[----\] +$' >>"$failures"

echo "== end-to-end tests (tests/e2e)"
tests/e2e/run.sh 2>&1 | tee "$out"
line=$(grep '^e2e: ' "$out" | tail -1)
ep=0 ef=1
[[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]] && ep=${BASH_REMATCH[1]} ef=${BASH_REMATCH[2]}
awk '/^== t_/ { t = $2 } /^  FAILED / { print t ":" substr($0, 3) }' "$out" >>"$failures"

echo "== fuzz (tests/fuzz/run.sh)"
tests/fuzz/run.sh 2>&1 | tee "$out"
fp=$(grep -c '^ok ' "$out") ff=$(grep -c '^not_ok ' "$out")
[ $((fp + ff)) -eq 0 ] && ff=1
grep '^not_ok ' "$out" >>"$failures"
# What failed, again at the end: a CI log is often read from its tail.
if [ -s "$failures" ]; then echo; echo "== what failed"; head -60 "$failures" | cut -c1-400; fi
rm -f "$out" "$failures"
echo
echo "unit: $up passed, $uf failed; e2e: $ep passed, $ef failed; fuzz: $fp passed, $ff failed"
echo "$((up + ep + fp)) passed, $((uf + ef + ff)) failed"
[ $((uf + ef + ff)) -eq 0 ]
