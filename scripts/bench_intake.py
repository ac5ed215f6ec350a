#!/usr/bin/env python3
"""Helpers of scripts/bench-intake (the wrk side is scripts/bench_intake.lua).

  configure CONFIG THREADS SPOOL [defaults]
      sets a benchmark node's config (the node.json `relay-node init` wrote): THREADS HTTP
      threads, mail to the spool directory SPOOL, no rate limits, referrals counted at their
      confirmation with the farming checks off. scripts/bench-instructions runs it too. With
      `defaults`: the node's own referral settings (holds, farming checks) and every rate limit
      on, each raised to a million requests a second, so that its bookkeeping runs but never
      refuses (bench-intake --node-defaults).
  members URL ADMIN N OUT
      admits N members over the API and writes their relay links' paths to OUT, one a line.
  peers URL ADMIN N
      adds N peers over the operator API (bench-intake --peers): loopback URLs where nothing
      listens, so each sending attempt is refused at once and backs off, and fingerprints of no
      key (their keys are never learnt).
  drain SPOOL URL ADMIN ACCEPTED T0 T1 SPOOLED_AT_T1 TIMEOUT OUT
      waits until the spool (or an SMTP test server's mail directory) holds ACCEPTED mails and the node's mail queue (/metrics) is empty,
      then writes the mail figures as JSON: mails/s from T0 (start of phase A) to the newest
      mail's mtime, the backlog at T1 (end of phase A), the drain time after T1.
  trickle URL LINKS RATE SECONDS OUT
      registers one candidate at a time, RATE a second for SECONDS (each through the next link
      of LINKS, a new address each), as people arrive at a quiet node rather than as a load;
      writes {"accepted", "duration_s", "p50_ms", "sent": {address: unix time of the 303}}.
  delays MAILDIR TRICKLE_JSON
      prints the seconds from each registration's 303 to its mail's arrival at the SMTP test
      server (the record's mtime) as JSON: {"mails", "p50_s", "p95_s", "max_s"}.
  verify SPOOL TOKENS_OUT OUT PHASE_A_JSON...
      reads every spooled mail (MIME-decoded), checks that each address the registration runs
      (one a round) sent has its mail (every 303 among them), writes the confirmation links'
      paths to TOKENS_OUT and the outcome as JSON; exits 1 if an acknowledged registration has
      no mail.
  report WORK OUT CONNECTIONS SECONDS ROUNDS THREADS LINKS SERVER_CORES
      prints the table from WORK's results (PHASE-WHO-ROUND.json, one a wrk run) and writes
      them as JSON to OUT.
"""
import email
import email.policy
import json
import os
import re
import statistics
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def spooled(spool):
    # The node's spool (.eml), or the mail directory of tests/support/smtp_server.py (.json:
    # scripts/bench-mail).
    return [n for n in os.listdir(spool) if n.endswith((".eml", ".json"))]


def read_mail(spool, name):
    """One spooled mail, MIME-parsed."""
    with open(os.path.join(spool, name), "rb") as f:
        return email.message_from_binary_file(f, policy=email.policy.default)


def confirmation_links(msg):
    """The confirmation link's path in a mail's plain text, as a list of at most one."""
    body = msg.get_body(preferencelist=("plain",))
    return re.findall(r"/r/v/[A-Za-z0-9_.-]+", body.get_content() if body else "")[:1]


def mail_queue(url, admin):
    req = urllib.request.Request(url + "/metrics", headers={"Authorization": "Bearer " + admin})
    text = urllib.request.urlopen(req, timeout=10).read().decode()
    m = re.search(r"^relay_mail_queue_messages (\d+)", text, re.M)
    return int(m.group(1)) if m else None


def configure(path, threads, spool, mode=""):
    config = json.loads(re.sub(r"^\s*//.*$", "", open(path).read(), flags=re.M))
    config["http"]["threads"] = int(threads)
    config["log"]["level"] = "warn"
    config["mail"]["mailer"] = "spool"
    config["mail"]["spool_dir"] = spool
    # Thousands of registrations a second through 100 links from one address: every limit
    # would answer 429 (scripts/bench-limits measures them). 100 is the most mails a day to one
    # address.
    for rule in ("per_ip", "per_member", "per_link", "per_address"):
        config["limits"][rule]["requests"] = 1000000 if mode == "defaults" else 0
        if mode == "defaults":
            config["limits"][rule]["per_seconds"] = 1
    config["limits"]["confirmation_mails_per_day"] = 100
    if mode == "defaults":
        open(path, "w").write(json.dumps(config, indent=2) + "\n")
        return
    # A referral counts at its confirmation (no hold), and the farming checks, which would flag
    # nearly every one of these look-alike addresses for review, are off: every confirmation
    # runs its whole path, a credit minted every credits.referrals_per_credit referrals of a
    # member.
    config["referrals"].update(holding_days=0, flag_disposable_domains=False, velocity_max=0,
                               same_domain_max=0, similar_max=0)
    open(path, "w").write(json.dumps(config, indent=2) + "\n")


def members(url, admin, n, out):
    paths = []
    for i in range(int(n)):
        req = urllib.request.Request(url + "/api/v1/members", method="POST",
                                     data=json.dumps({"name": f"Bench KK {i}"}).encode(),
                                     headers={"Authorization": "Bearer " + admin,
                                              "Content-Type": "application/json"})
        member = json.load(urllib.request.urlopen(req, timeout=30))
        paths.append(urllib.parse.urlparse(member["relay_link"]).path)
    with open(out, "w") as f:
        f.write("\n".join(paths) + "\n")


def peers(url, admin, n):
    for i in range(int(n)):
        body = {"name": f"peer-{i}.bench.example", "url": "http://127.0.0.1:9",
                "fingerprint": os.urandom(32).hex()}
        req = urllib.request.Request(url + "/api/v1/peers", method="POST",
                                     data=json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + admin,
                                              "Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=30).read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


def trickle(url, links, rate, seconds, out):
    paths = [line for line in open(links).read().split() if line]
    opener = urllib.request.build_opener(_NoRedirect)
    interval, end = 1.0 / float(rate), time.monotonic() + float(seconds)
    sent, took, n, start = {}, [], 0, time.time()
    next_at = time.monotonic()
    while next_at < end:
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at += interval
        address = f"t{n}@example.jp"
        body = urllib.parse.urlencode({
            "name": f"候補者 {n}", "email": address, "job_category": "C",
            "skills": "Excel, SQL", "prefecture": "JP-13", "age_band": "35-44",
            "experience_band": "6-10", "consent_region": "yes",
            "nonce": os.urandom(8).hex()}).encode()
        req = urllib.request.Request(url + paths[n % len(paths)], data=body, method="POST")
        t = time.monotonic()
        try:
            opener.open(req, timeout=30)
            status = 200
        except urllib.error.HTTPError as e:
            status = e.code
        took.append(time.monotonic() - t)
        if status == 303:
            sent[address] = time.time()
        n += 1
    took.sort()
    json.dump({"accepted": len(sent), "duration_s": round(time.time() - start, 3),
               "p50_ms": round(took[len(took) // 2] * 1000, 2) if took else None,
               "sent": sent}, open(out, "w"), indent=2)


def delays(maildir, trickle_json):
    sent = json.load(open(trickle_json))["sent"]
    waited = []
    for name in os.listdir(maildir):
        if name.endswith(".json"):
            record = json.load(open(os.path.join(maildir, name)))
            to = record["to"][0]
            if to in sent:
                waited.append(os.stat(os.path.join(maildir, name)).st_mtime - sent[to])
    waited.sort()
    pick = lambda q: round(waited[min(len(waited) - 1, int(q * len(waited)))], 4)
    print(json.dumps({"mails": len(waited), "p50_s": pick(0.5) if waited else None,
                      "p95_s": pick(0.95) if waited else None,
                      "max_s": round(waited[-1], 4) if waited else None}))


def drain(spool, url, admin, accepted, t0, t1, spooled_at_t1, timeout, out):
    accepted, t0, t1 = int(accepted), float(t0), float(t1)
    deadline = time.monotonic() + float(timeout)
    queue = None
    while True:
        names = spooled(spool)
        if len(names) >= accepted:
            queue = mail_queue(url, admin)
            if queue == 0:
                break
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    names = spooled(spool)
    last = max((os.stat(os.path.join(spool, n)).st_mtime for n in names), default=t0)
    result = {
        "accepted": accepted,
        "spooled": len(names),
        "queue_left": queue,
        "timed_out": len(names) < accepted or queue != 0,
        "mails_per_s": round(len(names) / (last - t0), 1) if last > t0 else None,
        "mails_per_s_during_phase_a": round(int(spooled_at_t1) / (t1 - t0), 1),
        "spooled_at_end_of_phase_a": int(spooled_at_t1),
        "backlog_at_end_of_phase_a": max(0, accepted - int(spooled_at_t1)),
        "drain_s": round(max(0.0, last - t1), 2),
    }
    json.dump(result, open(out, "w"), indent=2)


def verify(spool, tokens_out, out, *phase_a):
    runs = [json.load(open(path)) for path in phase_a]
    # bench_intake.lua's addresses: a<thread>n<counter>, r<round>a<thread>n<counter> in rounds.
    sent = {f"{'r' + run['round'] if 'round' in run else ''}a{t}n{i}@example.jp"
            for run in runs for t, count in run["sent"] for i in range(1, count + 1)}
    accepted = sum(run["accepted"] for run in runs)
    mailed, tokens, strangers = set(), [], 0
    for name in spooled(spool):
        msg = read_mail(spool, name)
        to = str(msg["To"]).strip().lower()
        if to not in sent:
            strangers += 1
            continue
        mailed.add(to)
        tokens.extend(confirmation_links(msg))
    with open(tokens_out, "w") as f:
        f.write("\n".join(tokens) + "\n")
    unmailed = len(sent - mailed)
    # Sent but not acknowledged: answered otherwise, or still in flight when wrk stopped.
    unacknowledged = len(sent) - accepted
    result = {"sent": len(sent), "accepted": accepted, "mailed": len(mailed),
              "unmailed": unmailed, "unacknowledged": unacknowledged,
              "mails_to_other_addresses": strangers, "confirmation_links": len(tokens),
              # Every 303 has its mail when every address sent has one; otherwise the count
              # proves a loss only when more lack their mail than were not acknowledged.
              "lost": max(0, unmailed - unacknowledged), "proved": unmailed == 0}
    json.dump(result, open(out, "w"), indent=2)
    sys.exit(1 if result["lost"] else 0)


def metric_deltas(before, after):
    """The Writer's counters in /metrics, if it exposes any (names with writer/batch/commit)."""
    def parse(path):
        values = {}
        if not os.path.exists(path):
            return values
        for line in open(path):
            m = re.match(r"^(relay_[a-z_]*(?:writer|batch|commit)[a-z_]*(?:\{[^}]*\})?) (\S+)$",
                         line)
            if m and not m.group(1).startswith("relay_http_"):
                values[m.group(1)] = float(m.group(2))
        return values
    a, b = parse(before), parse(after)
    return {k: b[k] - a.get(k, 0) for k in b}


def bare_writer(work):
    """bare-intake's group commits, from the line it writes to WORK/bare.err when it stops."""
    path = os.path.join(work, "bare.err")
    if not os.path.exists(path):
        return None
    m = re.search(r"(\d+) records in (\d+) commits", open(path).read())
    if not m:
        return None
    records, commits = int(m.group(1)), int(m.group(2))
    return {"records": records, "commits": commits,
            "per_commit": round(records / commits, 1) if commits else None}


def node_memory(path):
    """The node's VmRSS and VmHWM (MiB) and threads at the end of the run, from its status."""
    if not os.path.exists(path):
        return None
    fields = dict(line.split(":", 1) for line in open(path) if ":" in line)
    try:
        return {"rss_mib": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
                "hwm_mib": round(int(fields["VmHWM"].split()[0]) / 1024, 1),
                "threads": int(fields["Threads"])}
    except (KeyError, ValueError, IndexError):
        return None


def rate(r):
    return r["accepted"] / r["duration_s"] if r and r["duration_s"] > 0 else 0.0


def merge_runs(runs):
    """One server's wrk runs of a phase (one a round) as one: counts and time summed, the
    rounds' median p50 and worst p99 and max."""
    total = {
        "rounds": len(runs),
        "requests": sum(r["requests"] for r in runs),
        "duration_s": round(sum(r["duration_s"] for r in runs), 3),
        "accepted": sum(r["accepted"] for r in runs),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p99_ms": max(r["p99_ms"] for r in runs),
        "max_ms": max(r["max_ms"] for r in runs),
        "statuses": {}, "errors": {},
        "sent": sum(n for r in runs for _, n in r["sent"]),
        "per_s_rounds": [round(rate(r), 1) for r in runs],
    }
    for r in runs:
        for key in ("statuses", "errors"):
            for k, v in r[key].items():
                total[key][k] = total[key].get(k, 0) + v
    total["per_s"] = round(rate(total), 1)
    return total


def report(work, out, connections, seconds, rounds, threads, links, server_cores):
    def load(name):
        path = os.path.join(work, name)
        return json.load(open(path)) if os.path.exists(path) else None

    phases = {}
    for phase in ("registrations", "confirmations"):
        pairs = [(load(f"{phase}-node-{k}.json"), load(f"{phase}-bare-{k}.json"))
                 for k in range(1, int(rounds) + 1)]
        pairs = [(node, bare) for node, bare in pairs if node and bare]
        if not pairs:
            continue
        # Each round's ratio compares figures of the same minute; their median is the figure.
        ratios = [round(rate(node) / rate(bare), 3) for node, bare in pairs if rate(bare)]
        phases[phase] = {
            "node": merge_runs([node for node, _ in pairs]),
            "bare": merge_runs([bare for _, bare in pairs]),
            "ratio": round(statistics.median(ratios), 3) if ratios else None,
            "ratios": ratios,
        }
    # CPU time each server used during a phase (bench-intake's cpu.txt: one line a round), per
    # accepted request over all rounds.
    cpu_path = os.path.join(work, "cpu.txt")
    if os.path.exists(cpu_path):
        tick_ms = 1000.0 / os.sysconf("SC_CLK_TCK")
        spent = {}
        for line in open(cpu_path):
            phase, _, who, ticks, written, switches = line.split()
            t = spent.setdefault((phase, who), [0, 0, 0])
            t[0], t[1], t[2] = t[0] + int(ticks), t[1] + int(written), t[2] + int(switches)
        for (phase, who), (ticks, written, switches) in spent.items():
            if phase in phases and phases[phase][who]["accepted"]:
                accepted = phases[phase][who]["accepted"]
                phases[phase][who]["cpu_ms_per_request"] = round(ticks * tick_ms / accepted, 3)
                phases[phase][who]["written_kb_per_request"] = round(written / 1024 / accepted, 1)
                phases[phase][who]["context_switches_per_request"] = round(switches / accepted, 2)
    mail, verified = load("mail.json"), load("verify.json")
    writer = {
        "registrations": metric_deltas(os.path.join(work, "metrics-0.txt"),
                                       os.path.join(work, "metrics-1.txt")),
        "confirmations": metric_deltas(os.path.join(work, "metrics-2.txt"),
                                       os.path.join(work, "metrics-3.txt")),
    }
    bare_stats = bare_writer(work)
    memory = node_memory(os.path.join(work, "node-status.txt"))

    print(f"intake against bare-intake ({threads} server threads on cores {server_cores}, "
          f"wrk 1 thread x {connections} connections, {links} relay links; {rounds} round(s), "
          f"each of registrations {seconds} s on each server, and of confirmations until each "
          f"of its links is used once; per second over all rounds, p50 the rounds' median, p99 "
          f"the worst round's, ratio the median of the rounds'):")
    print(f"  {'':14s} {'node/s':>8s} {'p50 ms':>7s} {'p99 ms':>7s} {'bare/s':>8s} "
          f"{'p50 ms':>7s} {'p99 ms':>7s} {'ratio':>6s}")
    for phase, p in phases.items():
        n, b = p["node"], p["bare"]
        print(f"  {phase:14s} {n['per_s']:8.0f} {n['p50_ms']:7.2f} {n['p99_ms']:7.2f} "
              f"{b['per_s']:8.0f} {b['p50_ms']:7.2f} {b['p99_ms']:7.2f} {p['ratio'] or 0:6.3f}")
    for phase, p in phases.items():
        print(f"  {phase} each round: node/s {p['node']['per_s_rounds']}, bare/s "
              f"{p['bare']['per_s_rounds']}, ratios {p['ratios']}")
    for phase, p in phases.items():
        n, b = p["node"].get("cpu_ms_per_request"), p["bare"].get("cpu_ms_per_request")
        if n and b:
            print(f"  {phase} CPU (user + system) per accepted request: node {n * 1000:.0f} us, "
                  f"bare {b * 1000:.0f} us, ratio {b / n:.3f}")
        n, b = p["node"].get("written_kb_per_request"), p["bare"].get("written_kb_per_request")
        if n is not None and b is not None:
            print(f"  {phase} written to storage per accepted request (the kernel's write_bytes): "
                  f"node {n:.0f} KB, bare {b:.0f} KB")
        n = p["node"].get("context_switches_per_request")
        b = p["bare"].get("context_switches_per_request")
        if n is not None and b is not None:
            print(f"  {phase} context switches per accepted request: node {n:.2f}, bare {b:.2f}")
    for phase, p in phases.items():
        for who in ("node", "bare"):
            r = p[who]
            errors = {k: v for k, v in r["errors"].items() if v}
            print(f"  {phase} {who}: {r['accepted']} accepted of {r['requests']} answered in "
                  f"{r['duration_s']:.1f} s ({r['rounds']} round(s)); statuses {r['statuses']}"
                  + (f"; socket errors {errors}" if errors else ""))
    if memory:
        print(f"  node memory at the end: {memory['rss_mib']} MiB resident (peak "
              f"{memory['hwm_mib']} MiB), {memory['threads']} threads")
    if mail:
        print(f"  mail: {mail['spooled']} spooled for {mail['accepted']} accepted registrations; "
              f"{mail['mails_per_s']} mails/s from the start of the registrations to the last "
              f"mail ({mail['mails_per_s_during_phase_a']}/s while they ran); at their end "
              f"{mail['spooled_at_end_of_phase_a']} spooled, backlog "
              f"{mail['backlog_at_end_of_phase_a']}, drained {mail['drain_s']} s later"
              + ("  (TIMED OUT)" if mail["timed_out"] else ""))
    if verified:
        if verified["proved"]:
            outcome = "every address sent has its mail, so every 303 has"
        elif verified["lost"]:
            outcome = f"LOST: at least {verified['lost']} acknowledged registrations have no mail"
        else:
            outcome = (f"{verified['unmailed']} sent without a mail, no more than the "
                       f"{verified['unacknowledged']} not acknowledged")
        print(f"  acknowledged: {verified['accepted']} of {verified['sent']} sent; "
              f"{verified['mailed']} mailed: {outcome}")
    for phase, deltas in writer.items():
        if deltas:
            shown = ", ".join(f"{k} +{v:.0f}" for k, v in sorted(deltas.items()))
            print(f"  node writer during {phase} (/metrics): {shown}")
    if not any(writer.values()):
        print("  node writer: /metrics exposes no group-commit counters")
    if bare_stats:
        print(f"  bare-intake writer: {bare_stats['records']} records in {bare_stats['commits']} "
              f"commits ({bare_stats['per_commit']} a commit)")
    json.dump({"connections": int(connections), "seconds": int(seconds), "rounds": int(rounds),
               "threads": int(threads), "links": int(links), "server_cores": server_cores,
               **phases, "mail": mail, "verification": verified, "node_writer": writer,
               "bare_writer": bare_stats, "node_memory": memory}, open(out, "w"), indent=2)
    print(f"  written to {out}")


if __name__ == "__main__":
    commands = {"configure": configure, "members": members, "peers": peers, "trickle": trickle,
                "delays": delays, "drain": drain, "verify": verify, "report": report}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
