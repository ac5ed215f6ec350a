#!/usr/bin/env python3
"""Seeds a node for scripts/bench-reads over HTTP: admits a "pool" member and a "reader"
member, registers N candidates through the pool member's relay link and 20 through the
reader's (consent to the region, so they are in the pool), confirms every one with the link in
its confirmation mail (the spool), and prints the reader's API key.
usage: bench_reads_seed.py URL ADMIN_TOKEN MAIL_DIR N
       bench_reads_seed.py configure CONFIG THREADS   (first: the node's config for the reads)
"""
import glob
import http.client
import json
import re
import sys
import threading
import time
import urllib.parse



def configure(path, threads):
    """http.threads, warnings only, and no rate limits: one member reads at full speed and
    seeding registers thousands through one link, where the per-member and per-link limits
    would answer 429 (scripts/bench-limits measures them)."""
    config = json.loads(re.sub(r'^\s*//.*$', '', open(path).read(), flags=re.M))
    config["http"]["threads"] = threads
    config["log"]["level"] = "warn"
    for rule in ("per_member", "per_link", "per_address"):
        config["limits"][rule]["requests"] = 0
    open(path, "w").write(json.dumps(config, indent=2) + "\n")


if sys.argv[1:2] == ["configure"]:
    configure(sys.argv[2], int(sys.argv[3]))
    sys.exit(0)

url, admin, mail_dir, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
host = urllib.parse.urlparse(url)


def connect():
    return http.client.HTTPConnection(host.hostname, host.port, timeout=60)


def admit(name):
    conn = connect()
    conn.request("POST", "/api/v1/members", body=json.dumps({"name": name}),
                 headers={"Authorization": "Bearer " + admin, "Content-Type": "application/json"})
    reply = conn.getresponse()
    member = json.loads(reply.read())
    if reply.status != 201 and reply.status != 200:
        sys.exit(f"seed: admitting {name} answered {reply.status}")
    return member["api_key"], urllib.parse.urlparse(member["relay_link"]).path


pool_key, pool_link = admit("Pool KK")
reader_key, reader_link = admit("Reader KK")
categories = ["A", "B", "C", "D", "E"]
prefectures = ["JP-13", "JP-27", "JP-28", "JP-14"]
jobs = [(pool_link, i) for i in range(count)] + [(reader_link, count + i) for i in range(20)]
failures = []


def run(items, work):
    lock = threading.Lock()
    it = iter(items)

    def worker():
        conn = connect()
        while True:
            with lock:
                item = next(it, None)
            if item is None:
                return
            for _ in range(3):
                try:
                    work(conn, item)
                    break
                except (http.client.HTTPException, OSError):
                    conn.close()
                    conn = connect()
            else:
                failures.append(item)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def register(conn, job):
    link, i = job
    body = urllib.parse.urlencode({
        "name": f"候補者 {i}", "email": f"seed{i}@example.jp",
        "job_category": categories[i % len(categories)], "skills": "Excel, SQL",
        "prefecture": prefectures[i % len(prefectures)], "age_band": "35-44",
        "experience_band": "6-10", "consent_region": "yes", "nonce": f"seed-{i}"})
    conn.request("POST", link, body=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    reply = conn.getresponse()
    reply.read()
    if reply.status != 303:
        failures.append((i, reply.status))


run(jobs, register)
if failures:
    sys.exit(f"seed: {len(failures)} registrations failed, e.g. {failures[:3]}")

# The confirmation mails (the mail dispatch writes them to the spool as they are queued).
links = set()
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    links = set()
    for path in glob.glob(mail_dir + "/*.eml"):
        links.update(re.findall(r"/r/v/[A-Za-z0-9_.-]+", open(path, errors="replace").read()))
    if len(links) >= len(jobs):
        break
    time.sleep(0.5)
if len(links) < len(jobs):
    sys.exit(f"seed: {len(links)} confirmation mails of {len(jobs)}")


def confirm(conn, path):
    conn.request("POST", path, body="",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    reply = conn.getresponse()
    reply.read()
    if reply.status not in (200, 303):
        failures.append((path, reply.status))


run(sorted(links), confirm)
if failures:
    sys.exit(f"seed: {len(failures)} confirmations failed, e.g. {failures[:3]}")
print(reader_key)
