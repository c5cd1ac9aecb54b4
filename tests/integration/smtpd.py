# SPDX-License-Identifier: Apache-2.0
"""smtpd - a real SMTP server for the tests (Debian's python3-aiosmtpd).

Server(dir) makes a self-signed certificate for 127.0.0.1 and localhost
with openssl (its file is the CA file the client must trust), and serves
SMTP on 127.0.0.1 with STARTTLS required before anything else and AUTH
(PLAIN or LOGIN, only over TLS) required before MAIL.  Every message
accepted is kept in .messages as a dict: mail_from, rcpt_tos, data
(bytes), tls (bool), user (who authenticated).  stop() and start() again
keep the port, so a test can take the server down and bring it back.

aiosmtpd is imported from Debian's dist-packages when the Python running
the tests is not Debian's own; available() says whether it can be had.
"""

import logging
import os
import socket
import ssl
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest  # noqa: E402

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
except ImportError:     # a Python of its own (pyenv...): Debian's package
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult
    except ImportError:
        Controller = None


logging.getLogger("mail.log").setLevel(logging.CRITICAL)


def available():
    return Controller is not None


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_DATA(self, srv, session, envelope):
        self.server._keep({
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": bytes(envelope.original_content or envelope.content),
            "tls": session.ssl is not None,
            "user": self.server._user_of(session)})
        return "250 OK"


class Server:
    def __init__(self, directory, user, password):
        self.dir = directory
        self.user = user
        self.password = password
        self.port = fhtest.free_port()
        self.cert = os.path.join(directory, "smtp-cert.pem")
        self.key = os.path.join(directory, "smtp-key.pem")
        self.messages = []
        self.auth_failures = 0
        self.lock = threading.Lock()
        self.controller = None
        self._sessions = {}
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", self.key, "-out", self.cert, "-days", "2",
             "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-addext", "basicConstraints=critical,CA:TRUE"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def _auth(self, server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login == self.user.encode() and
              auth_data.password == self.password.encode())
        with self.lock:
            if ok:
                self._sessions[id(session)] = self.user
            else:
                self.auth_failures += 1
        return AuthResult(success=ok)

    def _user_of(self, session):
        with self.lock:
            return self._sessions.get(id(session))

    def _keep(self, msg):
        with self.lock:
            self.messages.append(msg)

    def start(self):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        self.controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port,
            tls_context=ctx, require_starttls=True,
            authenticator=self._auth, auth_required=True,
            auth_require_tls=True)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def received(self):
        with self.lock:
            return list(self.messages)
