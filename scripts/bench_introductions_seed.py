#!/usr/bin/env python3
"""Seeds a node for scripts/bench-introductions over its HTTP API, as members and candidates
would (the node runs with credits.referrals_per_credit 1, referrals counted at confirmation and
the farming checks off, so every confirmed referral mints one credit at once):

  1. admits M members (operator token); each gets its relay link and API key;
  2. registers K candidates through each member's relay link (M x K in all, each with its own
     address, consenting to the region so that they are in the pool), then confirms every one
     with the link in its confirmation mail (the spool): M x K confirmed candidates, and K
     credits for each member;
  3. checks every member's balance (GET /api/v1/credits: K);
  4. each member opens one requisition (POST /api/v1/requisitions);
  5. reads the pool's refs (GET /api/v1/pool, one query per job category and age band, so that
     no answer reaches the 500-hit cap) and checks it holds every candidate;
  6. writes the introductions to ask for, one a line "API_KEY REQUISITION NODE REF": member m's
     t-th asks for ref (m x K + t) mod (M x K), so every (member, ref) pair is distinct (no
     already_introduced), every candidate is asked for once, and each member asks for exactly
     K, its balance; the lines take the members in turn. And the members as JSON (id, API key,
     requisition, credits) for the checks afterwards.

usage: bench_introductions_seed.py URL ADMIN_TOKEN MAIL_DIR NODE_NAME M K LIST_OUT MEMBERS_OUT
Prints what it did and how long each step took.
"""
import glob
import http.client
import json
import re
import sys
import threading
import time
import urllib.parse

url, admin, mail_dir, node_name = sys.argv[1:5]
members_n, per_member = int(sys.argv[5]), int(sys.argv[6])
list_out, members_out = sys.argv[7], sys.argv[8]
host = urllib.parse.urlparse(url)
CATEGORIES = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K"]
AGE_BANDS = ["-24", "25-34", "35-44", "45-54", "55-64", "65-"]
PREFECTURES = ["JP-13", "JP-27", "JP-28", "JP-14"]
POOL_CAP = 500  # services::HandoffRequests' max_pool_hits


def connect():
    return http.client.HTTPConnection(host.hostname, host.port, timeout=60)


def call(conn, method, path, token=None, body=None, form=False):
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    if body is not None:
        headers["Content-Type"] = ("application/x-www-form-urlencoded" if form
                                   else "application/json")
        if not form:
            body = json.dumps(body)
    conn.request(method, path, body=body, headers=headers)
    reply = conn.getresponse()
    data = reply.read()
    return reply.status, data


def run(items, work, threads=8):
    """work(conn, item) on `threads` keep-alive connections; returns the failures."""
    lock = threading.Lock()
    it = iter(items)
    failures = []

    def worker():
        conn = connect()
        while True:
            with lock:
                item = next(it, None)
            if item is None:
                conn.close()
                return
            for _ in range(3):
                try:
                    problem = work(conn, item)
                    if problem:
                        failures.append(problem)
                    break
                except (http.client.HTTPException, OSError):
                    conn.close()
                    conn = connect()
            else:
                failures.append((item, "no answer"))

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return failures


def step(name, started):
    print(f"  seed: {name} in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return time.monotonic()


began = t = time.monotonic()
conn = connect()
members = []
for m in range(members_n):
    status, data = call(conn, "POST", "/api/v1/members", admin, {"name": f"Bench KK {m}"})
    if status not in (200, 201):
        sys.exit(f"seed: admitting member {m} answered {status}: {data[:200]!r}")
    j = json.loads(data)
    members.append({"id": j["id"], "api_key": j["api_key"],
                    "link": urllib.parse.urlparse(j["relay_link"]).path})
t = step(f"{members_n} members admitted", t)

total = members_n * per_member
jobs = [(members[i % members_n]["link"], i) for i in range(total)]


def register(conn, job):
    link, i = job
    body = urllib.parse.urlencode({
        "name": f"候補者 {i}", "email": f"intro{i}@example.jp",
        "job_category": CATEGORIES[i % len(CATEGORIES)], "skills": "Excel, SQL",
        "prefecture": PREFECTURES[i % len(PREFECTURES)],
        "age_band": AGE_BANDS[(i // len(CATEGORIES)) % len(AGE_BANDS)],
        "experience_band": "6-10", "consent_region": "yes", "nonce": f"intro-{i}"})
    status, _ = call(conn, "POST", link, body=body, form=True)
    return None if status == 303 else (i, status)


failures = run(jobs, register)
if failures:
    sys.exit(f"seed: {len(failures)} registrations failed, e.g. {failures[:3]}")
t = step(f"{total} candidates registered through {members_n} relay links", t)

# The confirmation mails (the mail dispatch writes them to the spool as it sends them).
links = set()
deadline = time.monotonic() + 300
while time.monotonic() < deadline:
    links = set()
    for path in glob.glob(mail_dir + "/*.eml"):
        with open(path, errors="replace") as f:
            links.update(re.findall(r"/r/v/[A-Za-z0-9_.-]+", f.read()))
    if len(links) >= total:
        break
    time.sleep(0.5)
if len(links) < total:
    sys.exit(f"seed: {len(links)} confirmation mails of {total}")
t = step(f"{total} confirmation mails spooled", t)


def confirm(conn, path):
    status, _ = call(conn, "POST", path, body="", form=True)
    return None if status in (200, 303) else (path, status)


failures = run(sorted(links), confirm)
if failures:
    sys.exit(f"seed: {len(failures)} confirmations failed, e.g. {failures[:3]}")
t = step(f"{total} candidates confirmed", t)

conn.close()  # idle through the registrations: the node may have closed it
conn = connect()
for m in members:
    status, data = call(conn, "GET", "/api/v1/credits", m["api_key"])
    account = json.loads(data)
    if status != 200 or account.get("balance") != per_member:
        sys.exit(f"seed: member {m['id']} has {account.get('balance')} credits, not "
                 f"{per_member} ({status}: {data[:300]!r})")
    m["credits"] = per_member

for i, m in enumerate(members):
    status, data = call(conn, "POST", "/api/v1/requisitions", m["api_key"], {
        "title": f"経理スタッフ {i}", "category": CATEGORIES[i % len(CATEGORIES)],
        "required_skills": ["Excel"], "preferred_skills": ["SQL"],
        "prefectures": PREFECTURES, "experience_band": "6-10", "headcount": 3,
        "employment_type": "regular"})
    if status != 201:
        sys.exit(f"seed: member {m['id']}'s requisition answered {status}: {data[:300]!r}")
    m["requisition"] = json.loads(data)["id"]
t = step(f"{members_n} balances of {per_member} checked, {members_n} requisitions opened", t)

refs = set()
for category in CATEGORIES:
    for age in AGE_BANDS:
        query = urllib.parse.urlencode({"job_category": category, "age_band": age})
        status, data = call(conn, "GET", "/api/v1/pool?" + query, members[0]["api_key"])
        page = json.loads(data)
        if status != 200 or page.get("truncated"):
            sys.exit(f"seed: the pool for {category}/{age} answered {status}, truncated "
                     f"{page.get('truncated')} (more than {POOL_CAP} in one query)")
        refs.update(p["ref"] for p in page["profiles"] if p["node"] == node_name)
if len(refs) != total:
    sys.exit(f"seed: the pool lists {len(refs)} of this node's candidates, not {total}")
refs = sorted(refs)
t = step(f"{len(refs)} refs read from the pool", t)

lines = []
for k in range(per_member):
    for m_index, m in enumerate(members):
        ref = refs[(m_index * per_member + k) % total]
        lines.append(f"{m['api_key']} {m['requisition']} {node_name} {ref}")
with open(list_out, "w") as f:
    f.write("\n".join(lines) + "\n")
with open(members_out, "w") as f:
    json.dump([{k: m[k] for k in ("id", "api_key", "requisition", "credits")} for m in members],
              f, indent=2)
print(f"  seed: {len(lines)} introductions to ask for, {total} credits, "
      f"{time.monotonic() - began:.1f} s in all", file=sys.stderr, flush=True)
