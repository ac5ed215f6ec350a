#!/usr/bin/env python3
"""Helpers of scripts/bench-introductions (the seed is scripts/bench_introductions_seed.py, the
wrk side scripts/bench_introductions.lua).

  verify URL MEMBERS_JSON IDS NODE_RESULT METRICS_BEFORE METRICS_AFTER OUT
      after the node's run: reads each member's account (GET /api/v1/credits) and introductions
      (GET /api/v1/introductions) and checks that every introduction spent exactly one credit:
      per member, credits spent = introductions listed, balance = credits earned - spent,
      nothing refunded, no ref introduced twice, every one still requested; every id wrk got
      with a 201 (IDS) listed once, under the member that asked; the node's own count of 201s
      on POST /api/v1/introductions (/metrics, before and after) = credits spent = introductions
      listed; and no more introductions than 201s plus the requests wrk sent without reading
      their answer (in flight when it stopped). Also the introductions made in each second of
      the run (their requested_ms), to show whether the rate falls as the members' histories
      grow. Writes the outcome as JSON; exits 1 if a check fails.
  settle URL ADMIN OUT
      waits (up to 10 s) until the node has finished what wrk left in flight: its count of 201s
      on POST /api/v1/introductions unchanged over 0.3 s and nothing queued for the Writer;
      then writes /metrics to OUT.
  report WORK OUT CONNECTIONS SECONDS THREADS MEMBERS CREDITS SERVER_CORES SEED_S CLK_TCK
      prints the table from WORK's results and writes them as JSON to OUT.
"""
import json
import os
import sys
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_intake import bare_writer, metric_deltas  # noqa: E402  shared report pieces

ROUTE = 'relay_http_requests_total{method="POST",route="/api/v1/introductions",status="201"}'


def get(url, path, token):
    req = urllib.request.Request(url + path, headers={"Authorization": "Bearer " + token})
    return json.load(urllib.request.urlopen(req, timeout=60))


def metric_in(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def metric(path, name):
    return metric_in(open(path).read(), name) if os.path.exists(path) else None


def settle(url, admin, out):
    req = urllib.request.Request(url + "/metrics", headers={"Authorization": "Bearer " + admin})
    deadline = time.monotonic() + 10
    last = None
    while True:
        text = urllib.request.urlopen(req, timeout=10).read().decode()
        now = (metric_in(text, ROUTE), metric_in(text, "relay_writer_queued_requests"))
        if (last is not None and now[0] == last[0] and now[1] == 0) or \
                time.monotonic() > deadline:
            break
        last = now
        time.sleep(0.3)
    with open(out, "w") as f:
        f.write(text)


def verify(url, members_json, ids_path, node_result, before, after, out):
    members = json.load(open(members_json))
    run = json.load(open(node_result))
    got = [line.strip() for line in open(ids_path)] if os.path.exists(ids_path) else []
    problems = []
    listed = {}  # introduction id -> member id
    times = []  # requested_ms of each
    spent_total = 0
    for m in members:
        account = get(url, "/api/v1/credits", m["api_key"])
        intros = get(url, "/api/v1/introductions", m["api_key"])["introductions"]
        spent = account["credits_spent"]
        spent_total += spent
        earned = account["credits_minted"] + account["credits_granted"]
        if spent != len(intros):
            problems.append(f"{m['id']}: {spent} credits spent for {len(intros)} introductions")
        if account["balance"] != earned - spent or earned != m["credits"]:
            problems.append(f"{m['id']}: balance {account['balance']}, earned {earned} "
                            f"(seeded {m['credits']}), spent {spent}")
        if account["credits_refunded"]:
            problems.append(f"{m['id']}: {account['credits_refunded']} refunded")
        refs = [i["candidate_ref"] for i in intros]
        if len(set(refs)) != len(refs):
            problems.append(f"{m['id']}: {len(refs) - len(set(refs))} refs introduced twice")
        for i in intros:
            if i["state"] != "requested" or i["requisition"] != m["requisition"]:
                problems.append(f"{i['id']}: state {i['state']}, requisition {i['requisition']}")
            listed[i["id"]] = m["id"]
            times.append(i["requested_ms"])
    missing = [i for i in got if i not in listed]
    if missing:
        problems.append(f"{len(missing)} introductions answered 201 are not listed, e.g. "
                        f"{missing[:3]}")
    if len(set(got)) != len(got):
        problems.append(f"{len(got) - len(set(got))} ids answered 201 twice")
    if len(got) != run["accepted"]:
        problems.append(f"{run['accepted']} answers 201 but {len(got)} ids read from them")
    sent = sum(n for _, n in run["sent"])
    unanswered = max(0, sent - run["requests"])
    made = len(listed)
    if made < run["accepted"] or made > run["accepted"] + unanswered:
        problems.append(f"{made} introductions made for {run['accepted']} answers 201 and "
                        f"{unanswered} requests without an answer")
    if spent_total != made:
        problems.append(f"{spent_total} credits spent for {made} introductions")
    counted_before, counted_after = metric(before, ROUTE), metric(after, ROUTE)
    node_201 = None
    if counted_before is not None and counted_after is not None:
        node_201 = int(counted_after - counted_before)
        if node_201 != made:
            problems.append(f"the node answered 201 {node_201} times (/metrics) for {made} "
                            "introductions")
    else:
        problems.append("no /metrics before and after the run")
    # Introductions made in each whole second from the first one (the last, partial, second
    # left out).
    per_second = []
    if times:
        first = min(times)
        seconds = int((max(times) - first) // 1000)
        per_second = [0] * seconds
        for t in times:
            k = int((t - first) // 1000)
            if k < seconds:
                per_second[k] += 1
    result = {"introductions_made": made, "per_second": per_second, "credits_spent": spent_total,
              "answered_201": run["accepted"], "ids_read": len(got), "node_201": node_201,
              "sent": sent, "unanswered": unanswered, "problems": problems[:20],
              "proved": not problems}
    json.dump(result, open(out, "w"), indent=2)
    sys.exit(1 if problems else 0)


def report(work, out, connections, seconds, threads, members, credits, server_cores, seed_s,
           clk_tck):
    def load(name):
        path = os.path.join(work, name)
        return json.load(open(path)) if os.path.exists(path) else None

    def rate(r):
        return r["accepted"] / r["duration_s"] if r and r["duration_s"] > 0 else 0.0

    node, bare = load("introductions-node.json"), load("introductions-bare.json")
    verified = load("verify.json")
    runs = {}
    for who, r in (("node", node), ("bare", bare)):
        if r:
            runs[who] = dict(r, per_s=round(rate(r), 1), sent=sum(n for _, n in r["sent"]))
    ratio = round(rate(node) / rate(bare), 3) if node and bare and rate(bare) else None
    writer = metric_deltas(os.path.join(work, "metrics-0.txt"),
                           os.path.join(work, "metrics-1.txt"))
    commits = writer.get("relay_writer_commits_total")
    writes = writer.get("relay_writer_requests_total")
    per_commit = round(writes / commits, 2) if commits and writes is not None else None
    bare_stats = bare_writer(work)
    ledger = None
    health = [load(f"health-{i}.json") for i in (0, 1)]
    if all(health):
        ledger = health[1]["ledger_size"] - health[0]["ledger_size"]

    cpu = {}
    for who in ("node", "bare"):
        ticks = load(f"cpu-{who}.json")
        r = runs.get(who)
        if ticks and r and r["duration_s"] > 0:
            cpu[who] = round((ticks[1] - ticks[0]) / float(clk_tck) / r["duration_s"], 2)

    print(f"introductions against bare-intake ({threads} server threads on cores "
          f"{server_cores}, wrk 1 thread x {connections} connections, up to {seconds} s; "
          f"{members} members with {credits} credits each, {int(members) * int(credits)} "
          f"confirmed candidates, seeded in {float(seed_s):.0f} s):")
    print(f"  {'':14s} {'node/s':>8s} {'p50 ms':>7s} {'p99 ms':>7s} {'bare/s':>8s} "
          f"{'p50 ms':>7s} {'p99 ms':>7s} {'ratio':>6s}")
    if node and bare:
        n, b = runs["node"], runs["bare"]
        print(f"  {'introductions':14s} {n['per_s']:8.0f} {n['p50_ms']:7.2f} {n['p99_ms']:7.2f} "
              f"{b['per_s']:8.0f} {b['p50_ms']:7.2f} {b['p99_ms']:7.2f} {ratio or 0:6.3f}")
    for who, r in runs.items():
        errors = {k: v for k, v in r["errors"].items() if v}
        print(f"  {who}: {r['accepted']} accepted of {r['requests']} answered in "
              f"{r['duration_s']:.1f} s; statuses {r['statuses']}"
              + (f"; socket errors {errors}" if errors else ""))
    if cpu:
        print("  CPU time during the run, in cores: " +
              ", ".join(f"{who} {c:.2f}" for who, c in cpu.items()) +
              f" (the servers have cores {server_cores})")
    if node and node["sent"] and sum(n for _, n in node["sent"]) >= node["listed"]:
        print(f"  node: every one of the {node['listed']} introductions seeded was asked for "
              f"before {seconds} s were up (--credits more for a longer run)")
    if verified:
        if verified["proved"]:
            print(f"  checked: {verified['introductions_made']} introductions made, "
                  f"{verified['credits_spent']} credits spent, {verified['node_201']} answers "
                  f"201 counted by the node, {verified['answered_201']} read by wrk "
                  f"({verified['unanswered']} in flight at the end): every 201 spent exactly one "
                  "credit")
        else:
            print("  CHECK FAILED: " + "; ".join(verified["problems"]))
        if verified.get("per_second"):
            print("  node introductions in each second of the run: " +
                  " ".join(str(n) for n in verified["per_second"]))
    if ledger is not None and verified and verified["introductions_made"]:
        print(f"  ledger: +{ledger} entries during the node's run "
              f"({ledger / verified['introductions_made']:.2f} an introduction)")
    if commits:
        print(f"  node writer during the run (/metrics): {writes:.0f} requests in {commits:.0f} "
              f"commits ({per_commit} a commit; {threads} HTTP threads, {connections} "
              "connections)")
    else:
        print("  node writer: /metrics exposes no group-commit counters")
    if bare_stats:
        print(f"  bare-intake writer: {bare_stats['records']} records in {bare_stats['commits']} "
              f"commits ({bare_stats['per_commit']} a commit)")
    json.dump({"connections": int(connections), "seconds": int(seconds),
               "threads": int(threads), "members": int(members),
               "credits_per_member": int(credits), "server_cores": server_cores,
               "seed_s": round(float(seed_s), 1), "cpu_cores": cpu,
               "introductions": {**runs, "ratio": ratio}, "verification": verified,
               "node_writer": {"deltas": writer, "requests_per_commit": per_commit},
               "ledger_entries": ledger, "bare_writer": bare_stats}, open(out, "w"), indent=2)
    print(f"  written to {out}")


if __name__ == "__main__":
    commands = {"verify": verify, "settle": settle, "report": report}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
