#!/usr/bin/env python3
"""Writes the hand-made seed inputs of tests/fuzz/corpus/ (run once; the output is committed).
Crashes found by scripts/fuzz are added next to them as crash-<sha1> files."""
import base64, hashlib, json, pathlib

ROOT = pathlib.Path(__file__).resolve().parent
CORPUS = ROOT / "corpus"
VECTORS = ROOT.parent / "vectors"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# Signed notes and checkpoints: every note of the C2SP/golang vectors.
notes = json.load(open(VECTORS / "signed-note" / "notes.json"))
i = 0
for group in ("verify", "sign", "cosign"):
    for case in notes[group]:
        for key in ("note", "checkpoint", "vkey", "text"):
            if key in case:
                write("note", f"{group}-{i:03d}-{key}", case[key])
        i += 1

# Envelopes and message bodies.
sig = base64.b64encode(bytes(64)).decode()
bodies = {
    "ping": {},
    "handoff.request": {"handoff": "h_1", "ref": "r_abc", "company": "Example KK", "region": "JP-28"},
    "profile.withdraw": {"ref": "r_abc", "seq": 3},
    "profiles.sync": {"seq": 1, "part": 0, "parts": 1, "profiles": []},
    "erasure.request": {"handoff": "h_1"},
    "introduction.outcome": {"handoff": "h_1", "outcome": "hired", "at_ms": 1800000000000},
}
for n, (type_, body) in enumerate(bodies.items()):
    env = {"v": 1, "type": type_, "id": f"m_{n}", "re": "", "from": "kobe", "to": "osaka",
           "ts": 1800000000000, "body": body, "key": "ed25519:abcd", "sig": sig}
    write("envelope", f"envelope-{type_}", canonical(env))
    write("envelope", f"body-{type_}", canonical(body))

# node.json: the annotated example and a minimal one.
example = ROOT.parent.parent / "config" / "examples" / "node.example.jsonc"
write("config", "example.jsonc", example.read_bytes())
write("config", "minimal.json", canonical({"node": {"name": "kobe", "region": "JP-28"}}))

# Registration form bodies.
write("registration_form", "valid",
      "name=%E5%B1%B1%E7%94%B0+%E5%A4%AA%E9%83%8E&email=taro%40example.jp&phone=%2B81+78+555+0100"
      "&job_category=B&skills=python%2C+sre&prefecture=JP-28&age_band=25-34&experience_band=3-5"
      "&desired_roles=backend&consent_region=yes&consent_stats=yes")
write("registration_form", "repeated", "skills=a&skills=b&email=%zz&name=")

# HTTP requests, including framing attacks the server refuses.
write("http_request", "get", "GET /api/v1/members/m_1?x=1 HTTP/1.1\r\nHost: a\r\n"
      "Authorization: Bearer abc\r\n\r\n")
write("http_request", "post-form", "POST /r/m/tok/requests/q_1 HTTP/1.1\r\nHost: a\r\n"
      "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 15\r\n\r\n"
      "decision=accept")
write("http_request", "chunked", "POST /api/v1/members/m_1/credits HTTP/1.1\r\nHost: a\r\n"
      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
write("http_request", "smuggle", "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
write("http_request", "encoded-path", "GET /r/%2e%2e%2F%00x HTTP/1.1\r\nHost: a\r\n\r\n")
write("canonical_json", "nested", canonical({"a": [1, -2, "\u00e9\u2028", {"b": None}], "c": True}))
