#!/usr/bin/env bash
# Runs every benchmark and prints their tables (Markdown) to stdout and bench/out/.
set -euo pipefail
cd "$(dirname "$0")"
for b in start.sh container.sh monitor.sh api.sh pods.sh sched.sh sched_bind.sh workloads.sh; do
  echo "== $b"
  bash "$b"
done
