#!/usr/bin/env python3
"""Helpers of scripts/bench-instructions (relay-node under valgrind's callgrind).

  register URL LINKS N CLIENTS TAG STATS
      POSTs N registration forms, CLIENTS at a time, to the relay links of LINKS in turn, each
      with its own address TAG<i>@example.jp and nonce (consenting to statistics when STATS is
      "yes"); exits 1 unless every answer is a 303 to /r/sent.
  mails SPOOL TAG COUNT TIMEOUT
      waits until the spool holds COUNT mails to TAG's addresses; exits 1 after TIMEOUT s.
  links SPOOL TAG OUT
      writes the confirmation link's path of each mail to TAG's addresses to OUT, one a line.
  confirm URL LINKS CLIENTS
      POSTs each confirmation link of LINKS, CLIENTS at a time; exits 1 unless every answer is
      a 303 to the management page (/r/m/).
  summary OUT REGISTRATIONS CONFIRMATIONS N
      prints instructions per request from the two callgrind dumps, in all and for the node's
      heaviest functions (inclusive), and writes them as JSON to OUT.
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from bench_intake import confirmation_links, read_mail, spooled


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def post(url, body):
    """The Location of a 303 answer, or the status of any other."""
    request = urllib.request.Request(
        url, body, {"Content-Type": "application/x-www-form-urlencoded"})
    try:
        answer = OPENER.open(request, timeout=300)
        return str(answer.status)
    except urllib.error.HTTPError as e:
        return e.headers.get("Location", "") if e.code == 303 else str(e.code)


def run_all(fn, items, clients, accept):
    with ThreadPoolExecutor(int(clients)) as pool:
        answers = list(pool.map(fn, items))
    refused = [a for a in answers if not a.startswith(accept)]
    if refused:
        sys.exit(f"{len(refused)} of {len(answers)} answered otherwise than {accept}: "
                 f"{sorted(set(refused))[:5]}")


def register(url, links_file, n, clients, tag, stats):
    links = open(links_file).read().split()

    def one(i):
        form = {"name": f"候補者 {tag}-{i}", "email": f"{tag}{i}@example.jp",
                "job_category": "ABCDE"[i % 5], "skills": "Excel, SQL, 経理事務",
                "prefecture": "JP-13", "age_band": "35-44", "experience_band": "6-10",
                "consent_region": "yes", "nonce": os.urandom(8).hex()}
        if stats == "yes":
            form["consent_stats"] = "yes"
        return post(url + links[i % len(links)], urllib.parse.urlencode(form).encode())

    run_all(one, range(int(n)), clients, "/r/sent")


def tagged(spool, tag):
    """The spool's mails to TAG's addresses, parsed."""
    parsed = (read_mail(spool, name) for name in spooled(spool))
    return [msg for msg in parsed
            if re.fullmatch(re.escape(tag) + r"\d+@example\.jp", str(msg["To"]).strip().lower())]


def mails(spool, tag, count, timeout):
    deadline = time.time() + float(timeout)
    while len(tagged(spool, tag)) < int(count):
        if time.time() > deadline:
            sys.exit(f"the spool has {len(tagged(spool, tag))} of {count} mails to {tag}*")
        time.sleep(1)


def links(spool, tag, out):
    found = [link for msg in tagged(spool, tag) for link in confirmation_links(msg)]
    with open(out, "w") as f:
        f.write("\n".join(found) + "\n")


def confirm(url, links_file, clients):
    paths = open(links_file).read().split()
    run_all(lambda path: post(url + path, b""), paths, clients, "/r/m/")


def annotate(path):
    """(total instructions, [(inclusive instructions, function)]) of one callgrind dump."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", path], capture_output=True,
                          text=True, check=True).stdout
    total = int(re.search(r"^\s*([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", text, re.M)
                .group(1).replace(",", ""))
    functions = {}
    for count, name in re.findall(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+\S+?:(relay::\S+?)\(", text,
                                  re.M):
        functions.setdefault(name, int(count.replace(",", "")))  # one line each, the first
    return total, sorted(((c, f) for f, c in functions.items()), reverse=True)


def summary(out, registrations, confirmations, n):
    n = int(n)
    result = {"requests": n}
    for phase, path in (("registrations", registrations), ("confirmations", confirmations)):
        total, functions = annotate(path)
        print(f"  {phase}: {total // n:,} instructions a request ({total:,} for {n})")
        for count, name in functions[:12]:
            print(f"    {count // n:>9,}  {name}")
        result[phase] = {"instructions_per_request": total // n,
                         "functions": {name: count // n for count, name in functions[:30]},
                         "callgrind_file": path}
    json.dump(result, open(out, "w"), indent=2)
    print(f"  written to {out}")


if __name__ == "__main__":
    commands = {"register": register, "mails": mails, "links": links, "confirm": confirm,
                "summary": summary}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
