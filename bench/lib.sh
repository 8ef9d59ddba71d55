# lib.sh — shared by the benchmarks: a bundle, hyperfine side by side, ratios.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BERTH=${BERTH:-$TOP/build/berth}
OUT=${OUT:-$TOP/bench/out}
mkdir -p "$OUT"
W=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/berth-bench.XXXXXX")
# Every mount below $W (the engine's tmpfs at ROOT/run among them), deepest
# first; one still held a moment (a monitor's socket) is detached.
bench_cleanup() {
  local m
  # Pod cgroups an agent stopped while tearing pods down leaves behind
  # (empty: rmdir takes only those; the next agent would remove them too).
  rmdir /sys/fs/cgroup/*/berth-pods/pod* /sys/fs/cgroup/berth-pods/pod* 2>/dev/null || true
  for m in $(findmnt -rn -o TARGET | grep "^$W/" | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$W"
}
trap bench_cleanup EXIT

# make_bundle DIR ARGS_JSON [SPEC_CMD] — a busybox rootfs and a config.json
# written by SPEC_CMD ("$BERTH runtime spec" by default, or "crun spec").
make_bundle() {
  local d=$1 args=$2 spec=${3:-"$BERTH runtime spec"}
  mkdir -p "$d/rootfs/bin" "$d/rootfs/proc" "$d/rootfs/sys" "$d/rootfs/dev" "$d/rootfs/tmp"
  cp /bin/busybox "$d/rootfs/bin/busybox"
  for a in sh true sleep echo cat; do ln -sf busybox "$d/rootfs/bin/$a"; done
  (cd "$d" && $spec)
  python3 - "$d/config.json" "$args" <<'PY'
import json, sys
p, args = sys.argv[1], json.loads(sys.argv[2])
c = json.load(open(p))
c["process"]["args"] = args
c["process"]["terminal"] = False
# Docker's NOFILE of 1048576 needs CAP_SYS_RESOURCE, which some sandboxes lack;
# crun then refuses to start, so both runtimes get what this machine allows.
import resource
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
for r in c["process"].get("rlimits", []):
    if r["type"] == "RLIMIT_NOFILE":
        r["hard"] = r["soft"] = min(r["hard"], hard)
json.dump(c, open(p, "w"), indent=1)
PY
}

# median_ms JSON INDEX — median of one hyperfine result, in ms.
median_ms() {
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]; print("%.2f" % (r["median"]*1000))' "$1" "$2"
}
p95_ms() {
  python3 -c 'import json,sys; t=sorted(json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["times"]); print("%.2f" % (t[int(len(t)*0.95)]*1000))' "$1" "$2"
}
ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
