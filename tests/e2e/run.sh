#!/usr/bin/env bash
# Runs every tests/e2e/t_*.sh (or those named) and prints their counts.
cd "$(dirname "$0")"
export RESULTS=$(mktemp)
for t in ${@:-t_*.sh}; do
  echo "== $t"
  before=$(grep -c '' "$RESULTS")
  timeout 300 bash "$t"
  rc=$?
  after=$(grep -c '' "$RESULTS")
  if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then echo "not_ok $t exited $rc" >>"$RESULTS"; echo "  FAILED $t exited $rc"; fi
  [ "$after" = "$before" ] && [ $rc -eq 0 ] && { echo "not_ok $t ran no case" >>"$RESULTS"; echo "  FAILED $t ran no case"; }
done
p=$(grep -c '^ok ' "$RESULTS"); f=$(grep -c '^not_ok ' "$RESULTS")
echo "e2e: $p passed, $f failed"
grep '^not_ok ' "$RESULTS" | sed 's/^not_ok /  failed: /'
rm -f "$RESULTS"
[ "$f" -eq 0 ]
