#!/usr/bin/env python3
"""Legitimate users for scripts/bench-limits: 4 threads, each from its own rotating client
addresses, for S seconds: one request in four registers a new person through one of 40 members'
links (a 303 is an acknowledged registration: its address goes to the accepted file), the rest
read the member API with a member's key. Prints p50/p99/max latency per kind and every status.

usage: bench_limits_users.py URL MEMBERS_JSON SECONDS ACCEPTED_FILE
"""
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse

url, members_file, seconds, accepted_file = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
members = json.load(open(members_file))[1:]
host = urllib.parse.urlparse(url)
lock = threading.Lock()
latencies = {"register": [], "read": []}
statuses = {}
accepted = []


def user(n):
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    rng = random.Random(n)
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        i += 1
        member = rng.choice(members)
        client = f"100.64.{n}.{rng.randint(1, 254)}"
        if i % 4 == 0:
            email = f"user{n}-{i}-{rng.randint(0, 10**9)}@example.jp"
            body = urllib.parse.urlencode({
                "name": f"利用者 {n}-{i}", "email": email, "job_category": "C",
                "skills": "Excel", "prefecture": "JP-13", "age_band": "35-44",
                "experience_band": "6-10", "consent_region": "yes",
                "nonce": f"u{n}x{i}x{rng.randint(0, 10**9)}"})
            path = urllib.parse.urlparse(member["link"]).path
            kind = "register"
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "X-Forwarded-For": client}
            method = "POST"
        else:
            body, path, kind, method = None, "/api/v1/me", "read", "GET"
            headers = {"Authorization": "Bearer " + member["api_key"], "X-Forwarded-For": client}
        started = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=headers)
            reply = conn.getresponse()
            reply.read()
            status = reply.status
        except (http.client.HTTPException, OSError):
            conn.close()
            conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
            status = 0
        took = (time.monotonic() - started) * 1000
        with lock:
            latencies[kind].append(took)
            statuses[(kind, status)] = statuses.get((kind, status), 0) + 1
            if kind == "register" and status == 303:
                accepted.append(email)
        time.sleep(0.1)


threads = [threading.Thread(target=user, args=(n,)) for n in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] if values else float("nan")


print("legitimate users (4 threads, a request every 100 ms each):")
for kind, values in latencies.items():
    print(f"  {kind:8s} {len(values):5d} requests: p50 {pct(values, 50):.1f} ms, "
          f"p99 {pct(values, 99):.1f} ms, max {max(values) if values else float('nan'):.1f} ms")
print("  statuses: " + ", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(statuses.items())))
with open(accepted_file, "w") as f:
    f.write("\n".join(accepted) + "\n")
