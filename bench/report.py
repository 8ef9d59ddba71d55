#!/usr/bin/env python3
"""report.py — the Markdown tables of bench/api.sh, bench/pods.sh and
bench/sched.sh, from the JSON that build/bench-api (bench/api.c),
build/bench-pods (bench/pods.c), build/bench-sched (bench/sched.c),
build/bench-hollow (bench/hollow.c) and the scripts write.

  python3 bench/report.py api DIR PASSES ETCD_VERSION
  python3 bench/report.py pods DIR RUN…
  python3 bench/report.py sched DIR

Times are in ms, memory in KiB in the JSON, MiB in the tables."""
import json
import os
import sys


def load(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def dist(d):
    if not d or not d.get("n"):
        return "—"
    return "%.2f / %.2f / %.2f / %.2f" % (d["p50"], d["p90"], d["p99"], d["max"])


def mib(kib):
    return "%.1f" % (kib / 1024.0)


def rss(r, hwm=True):
    """VmRSS, with VmHWM and RssAnon (the process's own memory, without the
    pages of its binary and libraries) in parentheses."""
    if not r:
        return "—"
    extra = []
    if hwm:
        extra.append("HWM " + mib(r["hwm_kib"]))
    if r.get("anon_kib", -1) >= 0:
        extra.append("anon " + mib(r["anon_kib"]))
    return "%s (%s)" % (mib(r["rss_kib"]), ", ".join(extra)) if extra else mib(r["rss_kib"])


def ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "—"


def met(ok):
    return "yes" if ok else "**no**"


def api(d, passes, etcd_version):
    first = load(os.path.join(d, "berth1.json"))["create"]
    print("### API server: {:,} pod creates from {} clients, LIST, watch, memory".format(
        first["n"], first["clients"]))
    print()
    if etcd_version == "none":
        peer = ("No etcd on this machine (Debian's etcd-server, installed by `make deps`): berth "
                "alone, the peer's columns are empty.")
    else:
        peer = ("Against etcd %s in the same run: over HTTPS with berth's own serving certificate, "
                "and over plain HTTP." % etcd_version)
    print("berth server over HTTPS. %s Latencies are p50 / p90 / p99 / max in ms; ratio = berth ÷ "
          "etcd (HTTPS), above 1 better for berth in creates/s, worse in times and memory; memory "
          "in MiB: VmRSS (VmHWM, RssAnon)." % peer)
    for p in range(1, passes + 1):
        b = load(os.path.join(d, "berth%d.json" % p))
        e = load(os.path.join(d, "etcd-tls%d.json" % p)) or {}
        h = load(os.path.join(d, "etcd-http%d.json" % p)) or {}
        g = lambda o, *k: _get(o, k)
        print()
        print("Pass %d (pod JSON %d bytes; etcd's put request %s bytes):" %
              (p, b["pod_bytes"], g(e, "create", "request_bytes") or "—"))
        print()
        print("| | berth (HTTPS) | etcd (HTTPS) | ratio | etcd (HTTP) | target | met |")
        print("|---|---|---|---|---|---|---|")
        bc, ec, hc = b["create"], g(e, "create") or {}, g(h, "create") or {}
        f = lambda x: "%.0f" % x if x is not None else "—"
        print("| creates/s | %s | %s | %s | %s | ≥ 5,000 | %s |" % (
            f(bc["per_s"]), f(ec.get("per_s")), ratio(bc["per_s"], ec.get("per_s")),
            f(hc.get("per_s")), met(bc["per_s"] >= 5000)))
        print("| create latency | %s | %s | %s (p99) | %s | p99 ≤ 20 ms | %s |" % (
            dist(bc["latency"]), dist(ec.get("latency")),
            ratio(bc["latency"]["p99"], g(ec, "latency", "p99")), dist(hc.get("latency")),
            met(bc["latency"]["p99"] <= 20)))
        bl, el, hl = b["list"], g(e, "list") or {}, g(h, "list") or {}
        lm = lambda l: "%.1f (%.1f–%.1f)" % (l["median"], l["min"], l["max"]) if l else "—"
        print("| LIST of %d, full JSON: median of %d (min–max) | %s | %s | %s | %s | ≤ 200 ms | %s |" % (
            bl["items"], bl["n"], lm(bl), lm(el), ratio(bl["median"], el.get("median")), lm(hl),
            met(bl["median"] <= 200)))
        mb = lambda l: "%.1f" % (l["bytes"] / 1048576.0) if l else "—"
        print("| LIST reply size (MiB) | %s | %s | | %s | | |" % (mb(bl), mb(el), mb(hl)))
        bt = b.get("list_table")
        if bt:
            print("| LIST as a Table (kubectl get) | %s | — | | — | ≤ 200 ms | %s |" % (
                lm(bt), met(bt["median"] <= 200)))
        bw, ew, hw = b.get("watch") or {}, g(e, "watch") or {}, g(h, "watch") or {}
        if bw:
            print("| watch: create sent → event (%d creates at %d/s) | %s | %s | %s (p99) | %s | p99 ≤ 10 ms | %s |" % (
                bw["n"], bw["rate"], dist(bw["sent_to_event"]), dist(ew.get("sent_to_event")),
                ratio(g(bw, "sent_to_event", "p99"), g(ew, "sent_to_event", "p99")),
                dist(hw.get("sent_to_event")),
                met(bw["received"] == bw["n"] and bw["sent_to_event"]["p99"] <= 10)))
            print("| watch: reply read → event | %s | %s | | %s | | |" % (
                dist(bw["reply_to_event"]), dist(ew.get("reply_to_event")),
                dist(hw.get("reply_to_event"))))
            if bw["received"] != bw["n"]:
                print("| watch events received | %d of %d | | | | | |" % (bw["received"], bw["n"]))
        print("| memory idle at start | %s | %s | | %s | | |" % (
            rss(b["rss_idle"], False), rss(e.get("rss_idle"), False), rss(h.get("rss_idle"), False)))
        print("| memory holding the pods | %s | %s | %s | %s | ≤ 100 MiB | %s |" % (
            rss(b["rss_after_create"]), rss(e.get("rss_after_create")),
            ratio(b["rss_after_create"]["rss_kib"], g(e, "rss_after_create", "rss_kib")),
            rss(h.get("rss_after_create")), met(b["rss_after_create"]["rss_kib"] <= 100 * 1024)))
        print("| memory after the lists | %s | %s | | %s | | |" % (
            rss(b["rss_after_list"]), rss(e.get("rss_after_list")), rss(h.get("rss_after_list"))))


def _get(o, keys):
    for k in keys:
        if not isinstance(o, dict) or k not in o:
            return None
        o = o[k]
    return o


def pods(d, runs, crun=None):
    print("### Pod startup: creation → Running, one node, local busybox image")
    print()
    print("Per pod, from its create request to the watch event with status.phase Running "
          "(bound = the event with spec.nodeName); p50 / p90 / p99 / max in ms. Memory in MiB: "
          "VmRSS (VmHWM, RssAnon) once every pod runs; the agent also once its node is Ready, "
          "before any pod.")
    print()
    print("| run | pods | create → Running | create → bound | bound → Running | "
          "all Running after | agent memory, node Ready | agent memory, pods running | server memory | p50 ≤ 150 ms | p99 ≤ 1 s | agent ≤ 20 MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    notes = []
    for run in runs:
        r = load(os.path.join(d, run + ".json"))
        m = load(os.path.join(d, run + ".mem.json")) or {}
        if not r:
            print("| %s | failed: see below | | | | | | | | | | |" % run)
            err = os.path.join(d, run + ".err")
            if os.path.exists(err):
                notes.append("%s: %s" % (run, open(err).read().strip()[-600:]))
            continue
        tr = r["to_running"]
        ok_all = r["running"] == r["pods"]
        agent = m.get("agent")
        server = m.get("server")
        one = m.get("one_process")
        seq = r.get("one_at_a_time")
        clients = "one at a time" if seq else "%d clients" % r["clients"]
        # the targets are for pods created at once; one at a time, they are only indicative
        target = (lambda ok: "(%s)" % ("yes" if ok else "no")) if seq else met
        print("| %s | %d (%s) | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            run, r["pods"], clients, dist(tr), dist(r["to_bound"]), dist(r["bound_to_running"]),
            "%.0f ms" % r["all_running_ms"] if ok_all else "%d of %d Running" % (r["running"], r["pods"]),
            rss(r.get("mem_ready"), False) + ("" if agent else " server+agent"),
            rss(agent) if agent else ("(one process)" if one else "—"),
            rss(server) if server else (rss(one) + " server+agent" if one else "—"),
            target(ok_all and tr.get("n") and tr["p50"] <= 150),
            target(ok_all and tr.get("n") and tr["p99"] <= 1000),
            met(agent["rss_kib"] <= 20 * 1024) if agent else "—"))
        if r.get("not_running"):
            notes.append("%s: not Running: %s" % (run, "; ".join(r["not_running"])))
        if r.get("watch_error"):
            notes.append("%s: %s" % (run, r["watch_error"]))
        if m.get("deleted_ms") is not None:
            notes.append("%s: deleting the %d pods (grace 0) until the API has none: %.0f ms" % (
                run, r["pods"], m["deleted_ms"]))
    if crun:
        c = load(crun)
        if c:
            t = sorted(c["results"][0]["times"])
            notes.append("peer for the container part: `crun run -d` of a bundle of Debian's static "
                         "busybox (the binary the busybox image is made of) running `sleep 3600` "
                         "(crun's own `crun spec` config, in a "
                         "mount namespace that hides the unified cgroup hierarchy, as bench/start.sh), "
                         "%d runs: median %.2f ms, p95 %.2f ms — one container, against a pod's API "
                         "write, binding, sandbox, network, container and status report" % (
                             len(t), c["results"][0]["median"] * 1000, t[int(len(t) * 0.95)] * 1000))
    if notes:
        print()
        for n in notes:
            print("- " + n)


def sched(d):
    r = load(os.path.join(d, "sched.json"))
    h = load(os.path.join(d, "hollow.json")) or {}
    if not r:
        print("### Scheduling: failed")
        err = os.path.join(d, "sched.err")
        if os.path.exists(err):
            print()
            print("```")
            print(open(err).read().strip()[-1500:])
            print("```")
        return
    what = ("{:,} Deployments of {:,} replicas".format(r["deployments"]["n"], r["deployments"]["replicas"])
            if r.get("deployments") else "{:,} pods".format(r["pods"]))
    print("### Scheduling: {} onto {:,} hollow nodes, through the API".format(what, r["nodes"]))
    print()
    born = ("the first watch event showing the pod" if r.get("deployments")
            else "its create request ({} clients)".format(r["clients"]))
    print("Each pod requests cpu {} and memory {}; per pod, from {} to the watch event that binds "
          "it (spec.nodeName) and to the one where the hollow node reports it Running; p50 / p90 / "
          "p99 / max in ms. Memory in MiB: VmRSS (VmHWM, RssAnon). No peer: Debian ships no "
          "kube-scheduler.".format(r["requests"]["cpu"], r["requests"]["memory"], born))
    print()
    print("| figure | target | berth | met |")
    print("|---|---|---|---|")
    rate = r["bound_per_s"]
    f0 = lambda x: "{:,.0f}".format(x) if x is not None and x >= 0 else "—"
    print("| pods bound per second, first create → last binding | ≥ 10,000 | %s | %s |" % (
        f0(rate), met(rate >= 10000)))
    print("| pods bound per second, steady state (10th–90th percentile of bindings) | | %s | |" %
          f0(r["bound_per_s_steady"]))
    print("| creates per second | | %s | |" % f0(r["creates_per_s"]))
    allb = r["all_bound_ms"]
    print("| all bound / all Running after | | %s / %s | |" % (
        "%.1f s" % (allb / 1000) if allb >= 0 else "%d of %d bound" % (r["bound"], r["pods"]),
        "%.1f s" % (r["all_running_ms"] / 1000) if r["all_running_ms"] >= 0
        else "%d of %d Running" % (r["running"], r["pods"])))
    print("| create → bound | | %s | |" % dist(r["to_bound"]))
    print("| bound → Running (the hollow node's status write) | | %s | |" % dist(r["bound_to_running"]))
    print("| create → Running | | %s | |" % dist(r["to_running"]))
    sd = r.get("scheduler_decision")
    if sd:
        print("| scheduler decision p50 / p99 (mean; decisions), from /metrics | p99 ≤ 5 ms | "
              "%.3f / %.3f ms (%.3f; %d) | %s |" % (sd["p50_ms"], sd["p99_ms"], sd["mean_ms"],
                                                    sd["count"], met(sd["p99_ms"] <= 5)))
    else:
        print("| scheduler decision p50 / p99, from /metrics | p99 ≤ 5 ms | n/a (no %s in "
              "GET /metrics) | n/a |" % "berth_scheduler_decision_duration_seconds")
    print("| server memory, %s nodes Ready | | %s | |" % ("{:,}".format(r["nodes"]), rss(r["mem_nodes"])))
    print("| server memory, every pod Running | reported | %s | |" % rss(r["mem_running"]))
    c = r["cpu"]
    share = lambda s: "%.1f s (%.0f%% of a core)" % (s, 100 * s / c["window_s"]) if s >= 0 and c["window_s"] > 0 else "—"
    print("| CPU from the first create to the last Running (%.1f s): server | | %s | |" % (
        c["window_s"], share(c["server_s"])))
    print("| … the hollow nodes' process | | %s | |" % share(c["hollow_s"]))
    print("| hollow nodes' process memory | | %s | |" % rss(r.get("mem_hollow")))
    if h:
        print("| hollow nodes' work: pod statuses, deletes, node heartbeats (the latest started "
              "late by); failures | | {:,}, {:,}, {:,} ({:.0f} ms); {:,} | |".format(
                  h["pod_statuses"], h["pod_deletes"], h["heartbeats"],
                  h.get("heartbeat_late_max_ms", 0), h["failures"]))
    if r.get("watch_error"):
        print()
        print("- watch: " + r["watch_error"])


if __name__ == "__main__":
    if sys.argv[1] == "api":
        api(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "pods":
        crun = os.path.join(sys.argv[2], "crun.json")
        pods(sys.argv[2], sys.argv[3:], crun if os.path.exists(crun) else None)
    elif sys.argv[1] == "sched":
        sched(sys.argv[2])
    else:
        sys.exit("usage: report.py api DIR PASSES ETCD_VERSION | pods DIR RUN… | sched DIR")
