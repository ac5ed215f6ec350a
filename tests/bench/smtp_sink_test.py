#!/usr/bin/python3
"""smtp_sink_self_test: smtp-sink (scripts/bench-mail's SMTP server) speaks SMTP as a real
client expects, through Python's smtplib and a raw socket that pipelines (RFC 2920), and
writes each accepted message, and only those, as smtp_server.py does; with a certificate and a
login, STARTTLS and AUTH PLAIN, and no mail before both.
  smtp_sink_test.py PATH-TO-smtp-sink
"""
import json
import os
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time


def start(sink, work, *flags):
    maildir, ready = os.path.join(work, "mail"), os.path.join(work, "ready")
    proc = subprocess.Popen([sink, "--port", "0", "--maildir", maildir, "--ready", ready,
                             *flags])
    for _ in range(100):
        if os.path.exists(ready):
            return proc, int(open(ready).read()), maildir
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("smtp-sink did not start")


def stop(proc):
    proc.terminate()
    assert proc.wait(timeout=10) == 0, "smtp-sink did not stop cleanly on SIGTERM"


def messages(maildir):
    names = sorted((n for n in os.listdir(maildir) if n.endswith(".json")),
                   key=lambda n: int(n[:-5]))
    assert not [n for n in os.listdir(maildir) if n.endswith(".tmp")], "a temporary file left"
    return [json.load(open(os.path.join(maildir, n))) for n in names]


def replies(sock, count):
    """Reads until `count` final reply lines have come; returns their codes."""
    data = b""
    while data.count(b"\r\n") < count:
        chunk = sock.recv(4096)
        assert chunk, "the sink closed the connection"
        data += chunk
    return [line[:3].decode() for line in data.split(b"\r\n")[:count]]


def main():
    sink = sys.argv[1]
    with tempfile.TemporaryDirectory() as work:
        proc, port, maildir = start(sink, work, "--pipelining")
        try:
            # smtplib: EHLO's extensions, two messages on one connection, dot-stuffing.
            with smtplib.SMTP("127.0.0.1", port) as s:
                code, _ = s.ehlo("bench.test")
                assert code == 250
                assert s.has_extn("pipelining") and s.has_extn("8bitmime"), s.esmtp_features
                text = "Subject: one\r\n\r\nfirst line\r\n.a line starting with a dot\r\n"
                assert s.sendmail("relay@node.test", ["a@example.jp"], text) == {}
                client_port = s.sock.getsockname()[1]
                s.rset()
                assert s.sendmail("relay@node.test", ["b@example.jp", "c@example.jp"],
                                  "Subject: two\r\n\r\nx\r\n") == {}
            got = messages(maildir)
            assert len(got) == 2, got
            assert got[0]["from"] == "relay@node.test" and got[0]["to"] == ["a@example.jp"]
            assert ".a line starting with a dot\r\n" in got[0]["data"], got[0]["data"]
            assert "\r\n..a line" not in got[0]["data"]
            assert got[0]["peer"] == client_port and got[1]["peer"] == client_port
            assert got[1]["to"] == ["b@example.jp", "c@example.jp"]

            # Pipelined: MAIL, RCPT and DATA in one write, three replies; then the text.
            with socket.create_connection(("127.0.0.1", port)) as sock:
                assert replies(sock, 1) == ["220"]
                sock.sendall(b"EHLO bench.test\r\n")
                assert replies(sock, 3) == ["250", "250", "250"]
                sock.sendall(b"MAIL FROM:<relay@node.test>\r\nRCPT TO:<p@example.jp>\r\nDATA\r\n")
                assert replies(sock, 3) == ["250", "250", "354"]
                time.sleep(0.05)  # the text in a read of its own
                sock.sendall(b"Subject: piped\r\n\r\nbody\r\n.\r\n")
                assert replies(sock, 1) == ["250"]
                # Out of order, malformed or unknown: refused, and nothing written.
                sock.sendall(b"RCPT TO:<q@example.jp>\r\nDATA\r\nMAIL FROM:relay\r\n"
                             b"MAIL FROM:<relay@node.test>\r\nMAIL FROM:<x@node.test>\r\n"
                             b"RCPT TO:<>\r\nDATA\r\nVRFY q\r\nNOOP\r\nQUIT\r\n")
                assert replies(sock, 10) == ["503", "503", "501", "250", "503", "501", "503",
                                             "500", "250", "221"]
                assert sock.recv(16) == b"", "QUIT did not close the connection"
            got = messages(maildir)
            assert len(got) == 3, got
            assert got[2]["to"] == ["p@example.jp"] and got[2]["data"] == \
                "Subject: piped\r\n\r\nbody\r\n", got[2]
            assert got[2]["reads"] == 2, got[2]  # as smtp_server.py counts them
        finally:
            stop(proc)

    with tempfile.TemporaryDirectory() as work:
        proc, port, maildir = start(sink, work)
        try:
            with smtplib.SMTP("127.0.0.1", port) as s:
                s.ehlo("bench.test")
                assert not s.has_extn("pipelining"), "PIPELINING offered without --pipelining"
                s.sendmail("relay@node.test", ["a@example.jp"], "Subject: s\r\n\r\nx\r\n")
            assert len(messages(maildir)) == 1
        finally:
            stop(proc)

    with tempfile.TemporaryDirectory() as work:
        cert, key = os.path.join(work, "sink.crt"), os.path.join(work, "sink.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=sink",
                        "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        proc, port, maildir = start(sink, work, "--pipelining", "--tls-cert", cert,
                                    "--tls-key", key, "--auth", "bench:s3cret")
        try:
            with smtplib.SMTP("127.0.0.1", port) as s:
                s.ehlo("bench.test")
                assert s.has_extn("starttls") and not s.has_extn("auth"), s.esmtp_features
                assert s.mail("relay@node.test")[0] == 530  # no mail in the clear
                s.starttls(context=ssl.create_default_context(cafile=cert))
                s.ehlo("bench.test")
                assert s.has_extn("auth") and not s.has_extn("starttls"), s.esmtp_features
                assert s.mail("relay@node.test")[0] == 530  # nor before the login
                try:
                    s.login("bench", "wrong")
                    raise AssertionError("a wrong password was taken")
                except smtplib.SMTPAuthenticationError as e:
                    assert e.smtp_code == 535, e
                s.login("bench", "s3cret")
                s.sendmail("relay@node.test", ["a@example.jp"], "Subject: t\r\n\r\nx\r\n")
            got = messages(maildir)
            assert len(got) == 1 and got[0]["tls"] is True and got[0]["auth"] == "bench", got
        finally:
            stop(proc)

    for args, says in ((["--port", "0"], "--maildir"),
                       (["--port", "0", "--maildir", "/tmp/x", "--ready", "/tmp/r", "--auth",
                         "u:p"], "--auth needs them"),
                       (["--port", "0", "--maildir", "/tmp/x", "--ready", "/tmp/r", "--auth",
                         "nocolon"], "USER:PASS")):
        bad = subprocess.run([sink, *args], capture_output=True, text=True)
        assert bad.returncode == 2 and says in bad.stderr, bad
    print("smtp-sink self-test: passed")


if __name__ == "__main__":
    main()
