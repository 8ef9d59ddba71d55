#!/usr/bin/env bash
# container.sh — `berth container run --rm busybox true` end to end (image
# lookup, overlay, monitor, log, removal) against crun's plain bundle run.
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-100}
export BERTH_ROOT=$W/root
"$BERTH" image load -i "$TOP/build/images/busybox.tar" >/dev/null
make_bundle "$W/bundle" '["/bin/true"]'
make_bundle "$W/cbundle" '["/bin/true"]' "crun spec"
cat >"$W/inner.sh" <<IN
set -e
mount --make-rprivate /
mount -t tmpfs none /sys/fs/cgroup/unified
hyperfine -N --style none --warmup 10 --runs $RUNS --export-json "$W/c.json" \
  "crun --root $W/rc run --bundle $W/bundle bench-c" \
  "crun --root $W/rc run --bundle $W/cbundle bench-c" >/dev/null
IN
hyperfine -N --style none --warmup 10 --runs "$RUNS" --export-json "$W/b.json" \
  "$BERTH container run --rm busybox true" >/dev/null
unshare -m bash "$W/inner.sh"
b=$(median_ms "$W/b.json" 0); c=$(median_ms "$W/c.json" 0); c2=$(median_ms "$W/c.json" 1)
{
  echo "### \`berth container run --rm busybox true\` vs \`crun run\` of a bundle ($RUNS runs)"
  echo
  echo "| berth container run --rm | crun run, berth's config | ratio | crun run, \`crun spec\` config | ratio |"
  echo "|---|---|---|---|---|"
  echo "| $b ms (p95 $(p95_ms "$W/b.json" 0)) | $c ms (p95 $(p95_ms "$W/c.json" 0)) | $(ratio "$b" "$c") | $c2 ms (p95 $(p95_ms "$W/c.json" 1)) | $(ratio "$b" "$c2") |"
} | tee "$OUT/container.md"
