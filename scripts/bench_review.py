#!/usr/bin/env python3
"""Helpers of scripts/bench-review (the review queue under a farming flood).

  configure CONFIG SPOOL
      as scripts/bench_intake.py configure (no rate limits, mail to SPOOL, no hold), with the
      disposable-mail check on: every referral below waits for the operator.
  run URL ADMIN SPOOL N R OUT M PID
      registers and confirms N addresses at a disposable-mail domain (9 in 10 through one
      member), then times the review routes and that member's own referrals list, whole, a
      page and as CSV (the median of R requests each; for the whole lists and the CSV, also how
      far the anonymous memory of the node, process PID, rose), the operator's members list
      with M members, prints the table and writes it as JSON to OUT.
"""
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import bench_intake


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def call(url, method, path, token=None, body=None, form=None):
    """(status, body bytes); a redirect is answered, not followed."""
    headers = {"Authorization": "Bearer " + token} if token else {}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    try:
        with _opener.open(request, timeout=300) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def configure(path, spool):
    bench_intake.configure(path, 4, spool)
    config = json.load(open(path))
    config["referrals"]["flag_disposable_domains"] = True
    open(path, "w").write(json.dumps(config, indent=2) + "\n")


def seed(url, admin, spool, n):
    """Two members; n referrals at mailinator.com waiting for review, 9 in 10 the first's."""
    members = []
    for name in ("Flood KK", "Calm KK"):
        status, body = call(url, "POST", "/api/v1/members", admin, {"name": name})
        assert status in (200, 201), (status, body)
        members.append(json.loads(body))
    links = [urllib.parse.urlparse(m["relay_link"]).path for m in members]

    def register(i):
        form = {"name": "候補者", "email": f"flood{i}@mailinator.com", "job_category": "C",
                "skills": "Excel", "prefecture": "JP-13", "age_band": "35-44",
                "experience_band": "6-10", "consent_region": "yes"}
        return call(url, "POST", links[0] if i % 10 else links[1], form=form)[0]

    with ThreadPoolExecutor(16) as pool:
        registered = list(pool.map(register, range(n))).count(303)
    assert registered == n, f"{registered} of {n} registrations accepted"
    deadline = time.time() + 300
    while len(bench_intake.spooled(spool)) < n and time.time() < deadline:
        time.sleep(0.2)
    paths = []
    for name in bench_intake.spooled(spool):
        paths += bench_intake.confirmation_links(bench_intake.read_mail(spool, name))
    with ThreadPoolExecutor(16) as pool:
        confirmed = list(pool.map(lambda p: call(url, "POST", p)[0], paths)).count(303)
    assert confirmed == n, f"{confirmed} of {n} confirmations accepted"
    return members


def timed(url, admin, path, rounds):
    """The median of `rounds` GETs in ms, the reply's size, and the last reply."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        status, body = call(url, "GET", path, admin)
        times.append((time.perf_counter() - start) * 1000)
        assert status == 200, (path, status, body[:200])
    return statistics.median(times), len(body), json.loads(body)


def anonymous_mib(pid):
    """The node's resident anonymous memory (its heap and stacks; not data.mdb's mapped
    pages, which the map budget gives back), in MiB."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("RssAnon:")) / 1024


def peak_of(pid, get):
    """get()'s result and how far the node's anonymous memory rose above where it was while
    get() ran, in MiB, sampled every millisecond. Memory an earlier reply freed stays
    resident in the allocator and is handed out again unseen, so measure before any other
    large reply."""
    before = anonymous_mib(pid)
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], anonymous_mib(pid))
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = get()
    finally:
        done.set()
        sampler.join()
    return result, max(peak[0], anonymous_mib(pid)) - before


def run(url, admin, spool, n, rounds, out, members_n="5000", pid=None):
    n, rounds, members_n = int(n), int(rounds), int(members_n)
    print(f"bench-review: {n} referrals registered and confirmed over HTTP...", flush=True)
    flood, calm = seed(url, admin, spool, n)
    rows = {}
    # How far the node's anonymous memory rises while it sends the flood member's whole list,
    # as JSON, then as CSV, then the operator's whole review queue: a whole list must not need
    # memory in proportion to its length. First, before any other large reply leaves memory for
    # these to reuse unseen; each after one that needed less.
    def csv_once():
        start = time.perf_counter()
        status, body = call(url, "GET", "/api/v1/referrals?format=csv", flood["api_key"])
        assert status == 200, (status, body[:200])
        return (time.perf_counter() - start) * 1000, body
    _, whole_rise = peak_of(pid, lambda: call(url, "GET", "/api/v1/referrals", flood["api_key"]))
    _, csv_rise = peak_of(pid, csv_once)
    _, queue_rise = peak_of(pid, lambda: call(url, "GET", "/api/v1/review", admin))
    whole_ms, whole_bytes, whole = timed(url, admin, "/api/v1/review", max(3, rounds // 5))
    assert whole["waiting"] == n and len(whole["referrals"]) == n, whole["waiting"]
    rows["whole"] = {"ms": whole_ms, "bytes": whole_bytes, "node_rise_mib": queue_rise}
    page_ms, page_bytes, page = timed(url, admin, "/api/v1/review?limit=25", rounds)
    rows["page"] = {"ms": page_ms, "bytes": page_bytes}
    next_ms, _, _ = timed(url, admin, f"/api/v1/review?limit=25&after={page['next']}", rounds)
    rows["next"] = {"ms": next_ms}
    member_ms, _, _ = timed(url, admin, f"/api/v1/review?limit=25&member={calm['id']}", rounds)
    rows["member"] = {"ms": member_ms}
    members_ms, _, counts = timed(url, admin, "/api/v1/review/members", rounds)
    rows["members"] = {"ms": members_ms, "waiting": {c["company"]: c["waiting"]
                                                     for c in counts["members"]}}
    # The flood's member opening its referrals card: every referral (what the console read
    # before it paged) against a page of 25 and the total.
    own_ms, own_bytes, own = timed(url, flood["api_key"], "/api/v1/referrals", max(3, rounds // 5))
    own_n = len(own["referrals"])
    assert own["total"] == own_n, (own["total"], own_n)
    rows["own_whole"] = {"ms": own_ms, "bytes": own_bytes, "referrals": own_n}
    card_ms, card_bytes, card = timed(url, flood["api_key"], "/api/v1/referrals?limit=25", rounds)
    assert card["total"] == own_n and len(card["referrals"]) == 25, card["total"]
    rows["own_page"] = {"ms": card_ms, "bytes": card_bytes, "ratio_to_whole": card_ms / own_ms}
    # What the console's card asks for: the newest 25 first.
    newest_ms, _, newest = timed(url, flood["api_key"], "/api/v1/referrals?limit=25&order=newest",
                                 rounds)
    assert newest["referrals"][0]["id"] == own["referrals"][-1]["id"], newest["referrals"][0]
    rows["own_newest"] = {"ms": newest_ms, "ratio_to_whole": newest_ms / own_ms}
    # The same whole list as the CSV download.
    csv_runs = [csv_once() for _ in range(max(3, rounds // 5))]
    csv_body = csv_runs[-1][1]
    csv_lines = csv_body.decode("utf-8-sig").split("\r\n")
    assert len(csv_lines) == own_n + 2 and csv_lines[-1] == "", (len(csv_lines), own_n)
    rows["own_whole"]["node_rise_mib"] = whole_rise
    rows["own_csv"] = {"ms": statistics.median(r[0] for r in csv_runs), "bytes": len(csv_body),
                       "node_rise_mib": csv_rise}
    # The operator's members card with members_n members: every one (what it read before it
    # paged) against the newest 25 and the total.
    def admit(i):
        return call(url, "POST", "/api/v1/members", admin, {"name": f"Member {i} KK"})[0]
    with ThreadPoolExecutor(16) as pool:
        admitted = list(pool.map(admit, range(members_n - 2))).count(201)
    assert admitted == members_n - 2, f"{admitted} of {members_n - 2} admitted"
    ops_ms, ops_bytes, ops = timed(url, admin, "/api/v1/members", max(3, rounds // 5))
    assert ops["total"] == members_n == len(ops["members"]), ops["total"]
    rows["operator_members_whole"] = {"ms": ops_ms, "bytes": ops_bytes, "members": members_n}
    ops_page_ms, ops_page_bytes, ops_page = timed(url, admin,
                                                  "/api/v1/members?limit=25&order=newest", rounds)
    assert ops_page["members"][0]["id"] == ops["members"][-1]["id"], ops_page["members"][0]
    rows["operator_members_newest"] = {"ms": ops_page_ms, "bytes": ops_page_bytes,
                                       "ratio_to_whole": ops_page_ms / ops_ms}
    # 50 of the calm member's, one request each.
    ones = []
    decided = 0
    while decided < 50:
        status, body = call(url, "GET", f"/api/v1/review?limit=50&member={calm['id']}", admin)
        batch = json.loads(body)["referrals"]
        for item in batch[:50 - decided]:
            start = time.perf_counter()
            status, body = call(url, "POST", "/api/v1/review/" + item["referral"], admin,
                                {"decision": "reject"})
            ones.append((time.perf_counter() - start) * 1000)
            assert status == 200, body
            decided += 1
    rows["one"] = {"ms": statistics.median(ones)}
    flood_waiting = rows["members"]["waiting"]["Flood KK"]
    start = time.perf_counter()
    status, body = call(url, "POST", f"/api/v1/review/members/{flood['id']}", admin,
                        {"decision": "reject"})
    bulk_ms = (time.perf_counter() - start) * 1000
    assert status == 200 and json.loads(body)["decided"] == flood_waiting, body
    rows["bulk"] = {"ms": bulk_ms, "decided": flood_waiting,
                    "ms_per_decision": bulk_ms / flood_waiting}
    left = json.loads(call(url, "GET", "/api/v1/review?limit=1", admin)[1])["waiting"]
    assert left == n - flood_waiting - 50, left

    print(f"review queue with {n} waiting ({flood_waiting} of one member's), median of "
          f"{rounds} requests:")
    print(f"  {'':34} {'ms':>9} {'bytes':>10}  ratio to its raw limit")
    print(f"  {'whole list':34} {whole_ms:9.2f} {whole_bytes:10}  node +{queue_rise:.1f} MiB")
    for key, label in (("page", "a page of 25"), ("next", "the next page"),
                       ("member", "a page of one member's")):
        ms = rows[key]["ms"]
        rows[key]["ratio_to_whole"] = ms / whole_ms
        print(f"  {label:34} {ms:9.2f} {rows[key].get('bytes', ''):>10}  "
              f"{ms / whole_ms:.4f} of the whole list")
    print(f"  {'waiting per member':34} {members_ms:9.2f}")
    print(f"  {'member: its {} referrals'.format(own_n):34} {own_ms:9.2f} {own_bytes:10}")
    print(f"  {'member: its referrals as CSV':34} {rows['own_csv']['ms']:9.2f} "
          f"{rows['own_csv']['bytes']:10}  node +{csv_rise:.1f} MiB "
          f"(JSON whole list: +{whole_rise:.1f} MiB)")
    print(f"  {'member: a page of 25 and the total':34} {card_ms:9.2f} {card_bytes:10}  "
          f"{card_ms / own_ms:.4f} of its whole list")
    print(f"  {'member: the newest 25 (the console)':34} {newest_ms:9.2f} {'':>10}  "
          f"{newest_ms / own_ms:.4f} of its whole list")
    print(f"  {'operator: all {} members'.format(members_n):34} {ops_ms:9.2f} {ops_bytes:10}")
    print(f"  {'operator: the newest 25 (the card)':34} {ops_page_ms:9.2f} {ops_page_bytes:10}  "
          f"{ops_page_ms / ops_ms:.4f} of the whole list")
    per = rows["bulk"]["ms_per_decision"]
    rows["bulk"]["ratio_to_one"] = per / rows["one"]["ms"]
    print(f"  {'one decision alone':34} {rows['one']['ms']:9.2f}")
    print(f"  {'reject all of one member':34} {bulk_ms:9.2f} {'':>10}  {flood_waiting} decided, "
          f"{per:.3f} ms each: {per / rows['one']['ms']:.3f} of one alone")
    with open(out, "w") as f:
        json.dump({"referrals": n, "members": members_n, "rounds": rounds, "rows": rows}, f,
                  indent=2)
    print(f"  written to {out}")


if __name__ == "__main__":
    commands = {"configure": configure, "run": run}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
