"""A real SMTP server on 127.0.0.1 for tests (aiosmtpd), shared by the packs and reminders tests.

Use the `smtp_server` fixture (registered for every test by `tests/conftest.py`):

    def test_sends(smtp_server):
        settings = smtp_server.settings()            # a programme.SmtpSettings pointing at the server
        ...
        assert len(smtp_server.messages) == 3        # parsed email.message.EmailMessage objects
        assert smtp_server.envelopes[0].rcpt_tos == ["ana@example.org"]

Failure injection:
    smtp_server.refuse_nth(5)                         # the 5th DATA (counted since start) gets 550
    smtp_server.refuse_address("bob@example.org")    # RCPT TO that address gets 550
    smtp_server.require_auth("user", "secret")       # AUTH PLAIN offered; wrong credentials get 535
    smtp_server.reset()                               # forget messages and injected failures

Only accepted messages are recorded. `attempts` counts every DATA the server saw (accepted or refused).
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Envelope:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)  # type: ignore[return-value]


class _Handler:
    def __init__(self, server: SmtpTestServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802, ANN001
        if address.lower() in self.server.refused_addresses:
            return f"550 5.1.1 <{address}>: recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001
        with self.server.lock:
            self.server.attempts += 1
            number = self.server.attempts
            if number in self.server.refused_numbers:
                return f"550 5.7.1 message {number} refused (test)"
            content = envelope.original_content or envelope.content
            if isinstance(content, str):
                content = content.encode("utf-8")
            self.server.envelopes.append(Envelope(envelope.mail_from, list(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"


class SmtpTestServer:
    """An aiosmtpd server on 127.0.0.1 and a free port, recording what it accepts."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.lock = threading.Lock()
        self.envelopes: list[Envelope] = []
        self.attempts = 0
        self.refused_numbers: set[int] = set()
        self.refused_addresses: set[str] = set()
        self._credentials: tuple[str, str] | None = None
        self._controller: Controller | None = None

    def start(self) -> SmtpTestServer:
        kwargs = {}
        if self._credentials is not None:
            # PLAIN only: one round trip, and smtplib tries it first anyway.
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": False, "auth_required": False,
                      "auth_exclude_mechanism": ["LOGIN"]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "AUTH without TLS": fine on 127.0.0.1 in tests
            self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)
            self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        ok = (isinstance(auth_data, LoginPassword) and self._credentials is not None
              and (auth_data.login.decode(), auth_data.password.decode()) == self._credentials)
        return AuthResult(success=ok, handled=False)

    # -- failure injection -------------------------------------------------------------------------------------
    def refuse_nth(self, *numbers: int) -> None:
        """Refuse the Nth message(s) the server sees (counting every DATA since start or reset), with 550."""
        self.refused_numbers.update(numbers)

    def refuse_address(self, *addresses: str) -> None:
        """Refuse RCPT TO these addresses with 550."""
        self.refused_addresses.update(a.lower() for a in addresses)

    def require_auth(self, username: str, password: str) -> None:
        """Restart the server offering AUTH PLAIN (no TLS) and checking these credentials."""
        self.stop()
        self._credentials = (username, password)
        self.start()

    def reset(self) -> None:
        with self.lock:
            self.envelopes.clear()
            self.attempts = 0
            self.refused_numbers.clear()
            self.refused_addresses.clear()

    # -- what arrived ------------------------------------------------------------------------------------------
    @property
    def messages(self) -> list[EmailMessage]:
        return [e.message for e in self.envelopes]

    def settings(self, **overrides: object):  # noqa: ANN201 - programme.SmtpSettings
        """SmtpSettings for this server: security none, no rate limit worth waiting for."""
        from mentorctl.programme import SmtpSettings

        values: dict[str, object] = {"host": self.host, "port": self.port, "security": "none",
                                     "per_minute": 100000, "timeout_seconds": 10}
        values.update(overrides)
        return SmtpSettings(**values)

    def yaml_block(self, sender: str = "Mentoring Team <mentoring@example.org>") -> str:
        """An `email:` section for programme.yaml pointing at this server."""
        return (f'email:\n  from: "{sender}"\n  reply_to: coordinator@example.org\n  smtp:\n'
                f"    host: {self.host}\n    port: {self.port}\n    security: none\n    per_minute: 100000\n")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A running SMTP server on 127.0.0.1 (stopped after the test)."""
    server = SmtpTestServer().start()
    try:
        yield server
    finally:
        server.stop()
