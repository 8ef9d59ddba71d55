#!/usr/bin/env bash
# monitor.sh — 200 detached containers started back to back: starts/s, the
# monitors' memory (RSS and PSS) and their CPU use while the containers idle.
source "$(dirname "$0")/lib.sh"
N=${N:-200}
export BERTH_ROOT=$W/root
"$BERTH" image load -i "$TOP/build/images/busybox.tar" >/dev/null
free_before=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
t0=$(date +%s.%N)
for i in $(seq "$N"); do "$BERTH" container run -d busybox sleep 3600 >/dev/null; done
t1=$(date +%s.%N)
sleep 2
free_after=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
mons=$(for d in "$BERTH_ROOT"/run/containers/*/; do python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("monitorPid",0))' "$d/state.json"; done)
rss=0 pss=0 cpu0=0 maxrss=0
for p in $mons; do
  r=$(awk '/VmRSS/ {print $2}' /proc/$p/status); rss=$((rss + r)); [ "$r" -gt "$maxrss" ] && maxrss=$r
  s=$(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup); pss=$((pss + s))
  cpu0=$((cpu0 + $(awk '{print $14 + $15}' /proc/$p/stat)))
done
sleep 5
cpu1=0
for p in $mons; do cpu1=$((cpu1 + $(awk '{print $14 + $15}' /proc/$p/stat))); done
"$BERTH" container rm -f $("$BERTH" container ls -aq) >/dev/null
{
  echo "### $N detached containers started back to back"
  echo
  echo "| starts/s | monitor RSS max | monitors' RSS total | monitors' PSS total | host memory used (MemAvailable drop) | monitors' CPU over 5 s idle |"
  echo "|---|---|---|---|---|---|"
  printf '| %.1f | %d KiB | %d KiB | %d KiB | %d MiB | %d ticks |\n' \
    "$(python3 -c "print($N / ($t1 - $t0))")" "$maxrss" "$rss" "$pss" $(((free_before - free_after) / 1024)) $((cpu1 - cpu0))
} | tee "$OUT/monitor.md"
