#!/usr/bin/env bash
# start.sh — /bin/true from one OCI bundle, start to exit: `berth runtime run`
# against `crun run`, side by side in one run (hyperfine, several passes).
#
# Debian's crun 1.8 refuses this machine's hybrid cgroup layout, so crun runs
# in a private mount namespace where a tmpfs hides /sys/fs/cgroup/unified (its
# only working setup here). berth is measured both as the machine is and in
# that same namespace, so the ratio compares like with like.
#
# Two bundles: berth's default config (Docker's capabilities and seccomp
# profile, which crun compiles on every start while berth caches the compiled
# filter) and crun's own `crun spec` config (no seccomp), so neither runtime
# is measured only on its home ground.
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-300}
PASSES=${PASSES:-3}
make_bundle "$W/bundle" '["/bin/true"]'
make_bundle "$W/cbundle" '["/bin/true"]' "crun spec"
mkdir -p "$W/rb" "$W/rc"

cat >"$W/inner.sh" <<IN
set -e
mount --make-rprivate /
mount -t tmpfs none /sys/fs/cgroup/unified
for pass in \$(seq $PASSES); do
  hyperfine -N --style none --warmup 20 --runs $RUNS --export-json "$W/pass\$pass.json" \
    "$BERTH runtime --root $W/rb run --bundle $W/bundle bench-b" \
    "crun --root $W/rc run --bundle $W/bundle bench-c" >/dev/null
  hyperfine -N --style none --warmup 20 --runs $RUNS --export-json "$W/cpass\$pass.json" \
    "$BERTH runtime --root $W/rb run --bundle $W/cbundle bench-b" \
    "crun --root $W/rc run --bundle $W/cbundle bench-c" >/dev/null
done
IN
# berth as the machine is (hybrid layout), outside the private namespace.
for pass in $(seq "$PASSES"); do
  hyperfine -N --style none --warmup 20 --runs "$RUNS" --export-json "$W/host$pass.json" \
    "$BERTH runtime --root $W/rb run --bundle $W/bundle bench-h" >/dev/null
done
unshare -m bash "$W/inner.sh"

{
  echo "### Container start to exit: /bin/true from one bundle ($RUNS runs × $PASSES passes)"
  echo
  echo "| pass | berth (hybrid, as the machine is) | berth (unified hidden) | crun (unified hidden) | berth/crun (median) |"
  echo "|---|---|---|---|---|"
  for pass in $(seq "$PASSES"); do
    h=$(median_ms "$W/host$pass.json" 0); b=$(median_ms "$W/pass$pass.json" 0); c=$(median_ms "$W/pass$pass.json" 1)
    echo "| $pass | $h ms (p95 $(p95_ms "$W/host$pass.json" 0)) | $b ms (p95 $(p95_ms "$W/pass$pass.json" 0)) | $c ms (p95 $(p95_ms "$W/pass$pass.json" 1)) | $(ratio "$b" "$c") (hybrid: $(ratio "$h" "$c")) |"
  done
  echo
  echo "Same, with crun's own \`crun spec\` config (no seccomp):"
  echo
  echo "| pass | berth (unified hidden) | crun (unified hidden) | berth/crun (median) |"
  echo "|---|---|---|---|"
  for pass in $(seq "$PASSES"); do
    b=$(median_ms "$W/cpass$pass.json" 0); c=$(median_ms "$W/cpass$pass.json" 1)
    echo "| $pass | $b ms (p95 $(p95_ms "$W/cpass$pass.json" 0)) | $c ms (p95 $(p95_ms "$W/cpass$pass.json" 1)) | $(ratio "$b" "$c") |"
  done
} | tee "$OUT/start.md"
