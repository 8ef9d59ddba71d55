#!/usr/bin/env python3
"""ready_floor.py LIST_JSON — reads a pod watch stream (one JSON event per
line) on stdin that starts at the LIST's resourceVersion, and keeps the
number of Ready pods not being deleted after every event, i.e. at every
revision of the store. Prints "LEAST EVENTS" when stdin ends (least over the
LIST's state and every event after it). Used by bench/workloads.sh and
tests/e2e/t_workloads.sh."""
import json
import sys


def ready(p):
    if p["metadata"].get("deletionTimestamp"):
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in p.get("status", {}).get("conditions", []))


with open(sys.argv[1]) as f:
    pods = {p["metadata"]["uid"]: p for p in json.load(f).get("items", [])}
count = sum(ready(p) for p in pods.values())
least, events = count, 0
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    ev = json.loads(line)
    if ev.get("type") not in ("ADDED", "MODIFIED", "DELETED"):
        continue
    o = ev["object"]
    uid = o["metadata"]["uid"]
    was = uid in pods and ready(pods[uid])
    if ev["type"] == "DELETED":
        pods.pop(uid, None)
    else:
        pods[uid] = o
    count += (ev["type"] != "DELETED" and ready(o)) - was
    least = min(least, count)
    events += 1
print(least, events)
