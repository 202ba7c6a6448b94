"""STARTTLS and implicit TLS against a real aiosmtpd server on 127.0.0.1 with a self-signed certificate that the
test trusts through SSL_CERT_FILE (the mailer uses the system's default verification, never a bypass)."""

from __future__ import annotations

import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from test_mail import make

from mentorctl.ledger import Ledger
from mentorctl.mail import SmtpMailer, deliver
from mentorctl.programme import SmtpSettings
from smtp_server import _free_port


class _Collect:
    def __init__(self) -> None:
        self.tls: list[bool] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 - aiosmtpd's hook name
        self.tls.append(session.ssl is not None)
        return "250 OK"


@pytest.fixture
def certificate(tmp_path, monkeypatch):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out",
                    str(cert)], check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trusted by ssl.create_default_context()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def _serve(**tls):
    handler, port = _Collect(), _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **tls)
    controller.start()
    return controller, handler, port


def test_starttls_upgrades_before_sending(certificate, tmp_path):
    controller, handler, port = _serve(tls_context=certificate, require_starttls=True)
    try:
        settings = SmtpSettings(host="127.0.0.1", port=port, security="starttls", per_minute=100000)
        with Ledger(tmp_path / "l.sqlite") as ledger:
            assert deliver([make(1)], SmtpMailer(settings), ledger).ok
        plain = SmtpSettings(host="127.0.0.1", port=port, security="none", per_minute=100000)
        with Ledger(tmp_path / "m.sqlite") as ledger:
            refused = deliver([make(2)], SmtpMailer(plain), ledger)  # the server insists on STARTTLS
        assert not refused.ok
    finally:
        controller.stop()
    assert handler.tls == [True]


def test_implicit_tls(certificate, tmp_path):
    controller, handler, port = _serve(ssl_context=certificate)
    try:
        settings = SmtpSettings(host="127.0.0.1", port=port, security="ssl", per_minute=100000, timeout_seconds=5)
        with Ledger(tmp_path / "l.sqlite") as ledger:
            assert deliver([make(1)], SmtpMailer(settings), ledger).ok
        plain = SmtpSettings(host="127.0.0.1", port=port, security="none", per_minute=100000, timeout_seconds=5)
        with Ledger(tmp_path / "m.sqlite") as ledger:
            assert not deliver([make(2)], SmtpMailer(plain), ledger).ok  # the port speaks only TLS
    finally:
        controller.stop()
    assert len(handler.tls) == 1  # the message went through the TLS connection
