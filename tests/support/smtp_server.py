#!/usr/bin/python3
"""A real SMTP server on loopback for the mail tests (Debian python3-aiosmtpd).

Each accepted message is written to --maildir as <n>.json (atomically): the envelope sender
and recipients, whether the session used TLS, the authenticated user, the message text, and
the client's port (which connection brought it).
Options: STARTTLS with a certificate (--tls-cert/--tls-key), AUTH required (--auth user:pass,
PLAIN and LOGIN, only over TLS), recipients of some domains deferred with 450 (--defer-domain)
or rejected with 550 (--reject-domain), a connection closed with 421 at the MAIL after its
first N messages (--close-after N), MAIL, RCPT and the end of DATA answered after a delay
(--reply-delay-ms: a slow server), what the client sends handed on N ms late (--latency-ms: a
server across a network, where each round trip costs N however many commands it carries),
PIPELINING offered in the EHLO reply (--pipelining, RFC 2920, as real mail servers offer it). Each message also records how many connections were
open when it arrived, and "reads": how many reads from the socket brought it, from its MAIL to
the end of its DATA (4 when each command waits for its reply, 2 pipelined: MAIL, RCPT and DATA
in one, the text in another). Writes --ready once listening. Stops on SIGTERM.
"""
import argparse
import asyncio
import collections
import json
import os
import signal
import ssl

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--ready", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--auth")
    p.add_argument("--defer-domain", action="append", default=[])
    p.add_argument("--reject-domain", action="append", default=[])
    p.add_argument("--close-after", type=int, default=0)
    p.add_argument("--reply-delay-ms", type=int, default=0)
    p.add_argument("--pipelining", action="store_true")
    p.add_argument("--latency-ms", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.maildir, exist_ok=True)
    counter = [0]
    open_connections = [0]

    async def delay():
        if a.reply_delay_ms:
            await asyncio.sleep(a.reply_delay_ms / 1000)

    class Handler:
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            session.host_name = hostname
            if a.pipelining:
                responses.insert(-1, "250-PIPELINING")
            return responses

        async def handle_MAIL(self, server, session, envelope, address, mail_options):
            session.relay_mail_read = server.relay_reads
            await delay()
            taken = getattr(session, "relay_taken", 0)
            if a.close_after and taken >= a.close_after:
                asyncio.get_running_loop().call_soon(server.transport.close)
                return "421 4.7.0 Too many messages on this connection, closing"
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
            return "250 OK"

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            await delay()
            domain = address.rsplit("@", 1)[-1].lower()
            if domain in a.defer_domain:
                return "450 4.2.0 Mailbox busy, try again later"
            if domain in a.reject_domain:
                return "550 5.1.1 Mailbox unavailable"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            await delay()
            session.relay_taken = getattr(session, "relay_taken", 0) + 1
            counter[0] += 1
            record = {
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "tls": server._tls_protocol is not None,
                "auth": session.auth_data.login.decode() if session.authenticated else None,
                "data": envelope.original_content.decode("utf-8", "replace"),
                "peer": session.peer[1],  # the client's port: one per connection
                "open": open_connections[0],
                "reads": server.relay_reads - session.relay_mail_read + 1,
            }
            tmp = os.path.join(a.maildir, ".%d.tmp" % counter[0])
            with open(tmp, "w") as f:
                json.dump(record, f)
            os.rename(tmp, os.path.join(a.maildir, "%d.json" % counter[0]))
            return "250 Message accepted"

    tls_context = None
    if a.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(a.tls_cert, a.tls_key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = a.auth.split(":", 1)
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        if not ok:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data)

    class CountingSMTP(SMTP):
        relay_reads = 0  # reads from this connection's socket so far

        def connection_made(self, transport):
            open_connections[0] += 1
            super().connection_made(transport)

        relay_closed = False

        def data_received(self, data):
            if not a.latency_ms:
                self.relay_hand_on(data)
                return
            # Handed on in the order it came: each timer takes the oldest chunk waiting.
            if not hasattr(self, "relay_in_flight"):
                self.relay_in_flight = collections.deque()
            self.relay_in_flight.append(data)
            asyncio.get_running_loop().call_later(
                a.latency_ms / 1000, lambda: self.relay_hand_on(self.relay_in_flight.popleft()))

        def relay_hand_on(self, data):
            if self.relay_closed:  # what was on its way when the connection closed
                return
            self.relay_reads += 1
            super().data_received(data)

        def connection_lost(self, exc):
            self.relay_closed = True
            open_connections[0] -= 1
            super().connection_lost(exc)

    def factory():
        return CountingSMTP(Handler(), hostname="localhost", tls_context=tls_context,
                    auth_required=bool(a.auth), auth_require_tls=True,
                    authenticator=authenticator if a.auth else None,
                    decode_data=False)

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(factory, "127.0.0.1", a.port))
    with open(a.ready + ".tmp", "w") as f:
        f.write(str(a.port))
    os.rename(a.ready + ".tmp", a.ready)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.run_forever()
    server.close()


if __name__ == "__main__":
    main()
