#!/usr/bin/env python3
"""A local SMTP sink for the alert tests (aiosmtpd).

Usage: smtp-sink.py OUT_FILE [--cert PEM --key KEY] [--user NAME --password SECRET]
Listens on 127.0.0.1 (a free port), prints "ready PORT" on stdout, and appends one JSON line per message
to OUT_FILE: {"from", "to", "data", "tls", "user"}. With --cert it offers STARTTLS and requires it; with --user
it requires AUTH (PLAIN or LOGIN) with those credentials.
"""
import argparse, json, os, signal, socket, ssl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Recorder:
    def __init__(self, path):
        self.path = path

    async def handle_DATA(self, server, session, envelope):
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
            "tls": session.ssl is not None,
            "user": session.auth_data.login.decode() if session.authenticated and isinstance(session.auth_data, LoginPassword) else None,
        }
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        return "250 OK stored"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()

    kwargs = {}
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        kwargs.update(tls_context=context, require_starttls=True)
    if args.user:
        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == args.user and auth_data.password.decode() == args.password
            # handled=False: aiosmtpd answers a failure with 535 itself.
            return AuthResult(success=ok, handled=False, auth_data=auth_data)
        kwargs.update(authenticator=authenticator, auth_require_tls=bool(args.cert), auth_required=True)
    controller = Controller(Recorder(args.out), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    print(f"ready {port}", flush=True)
    # Messages are on disk as soon as they are accepted: nothing to tidy up on the way out.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
