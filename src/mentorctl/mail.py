"""Email: building messages, the SMTP and outbox mailers, calendar invitations, and the one send loop.

Only this module speaks SMTP. `deliver()` is shared by `packs` and `remind`:

- every message has a ledger key; a key already sent is skipped (unless `resend`), so re-runs send only what
  is missing and a crash or an SMTP error mid-batch loses nothing;
- the key is claimed (`sending`) before the message goes out and marked `sent` or `failed` after;
- a recipient the server refuses is recorded as failed and reported at the end; the batch goes on;
- a lost connection or refused login stops the batch (`DeliveryReport.aborted`), leaving the ledger true;
- the outbox mailer (no `--send`) is a preview: it writes `.eml` files and never touches the ledger.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from mentorctl.errors import DeliveryError, Location, ProgrammeError
from mentorctl.files import atomic_write_bytes

if TYPE_CHECKING:
    from mentorctl.ledger import Ledger
    from mentorctl.programme import SmtpSettings


class RecipientRefused(DeliveryError):  # noqa: N818 - named for what happened, as in smtplib
    """The server refused this one message or recipient; the batch goes on."""

    def __init__(self, recipient: str, reason: str):
        self.recipient = recipient
        self.reason = reason
        super().__init__(f"{recipient}: {reason}")


class ConnectionLost(DeliveryError):  # noqa: N818
    """The connection broke while a message was being sent: it may or may not have been delivered."""


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message, e.g. a calendar invitation."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"
    params: Mapping[str, str] = field(default_factory=dict)


def build_message(*, sender: str, to: str | Sequence[str], subject: str, text: str, html: str | None = None,
                  reply_to: str | None = None, attachments: Iterable[Attachment] = (),
                  date: datetime | None = None, message_id: str | None = None,
                  headers: Mapping[str, str] | None = None) -> EmailMessage:
    """A standard email: From/To/Reply-To/Subject/Date/Message-ID, a plain-text body with an HTML
    alternative, then attachments. `to` may be "Name <addr>" strings."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join([to] if isinstance(to, str) else to)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = message_id or make_msgid(domain=_domain(sender))
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text, subtype="plain", charset="utf-8")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8")
    for item in attachments:
        # Bytes keep their exact line endings (an .ics needs CRLF), base64-encoded.
        maintype, _, subtype = item.mime_type.partition("/")
        msg.add_attachment(item.content, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=item.filename, params=dict(item.params))
    return msg


def format_address(name: str | None, email: str) -> str:
    """'Ana Ruiz <ana@example.org>' (quoted and encoded as needed)."""
    return formataddr((name or "", email))


def _domain(address: str) -> str:
    email = parseaddr(address)[1]
    return email.rpartition("@")[2] or "mentorctl.localhost"


def recipients_of(msg: EmailMessage) -> list[str]:
    """Bare addresses of To/Cc/Bcc."""
    found: list[str] = []
    for header in ("To", "Cc", "Bcc"):
        for value in msg.get_all(header, []):
            for address in getattr(value, "addresses", ()):
                if isinstance(address, Address) and address.addr_spec:
                    found.append(address.addr_spec)
    return found


# -- calendar invitations ---------------------------------------------------------------------------------------

def _ics_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n") \
        .replace("\n", "\\n")


def _ics_fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1), never splitting a UTF-8 character."""
    out: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        limit = 75 if not out else 74  # continuation lines start with a space
        if size + width > limit:
            out.append(current)
            current, size = "", 0
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)


def _ics_utc(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("calendar times must be time-zone aware")
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def build_ics(*, uid: str, start: datetime, end: datetime, summary: str, organizer: str,
              location: str | None = None, description: str | None = None, url: str | None = None,
              attendees: Sequence[str] = (), stamp: datetime | None = None, sequence: int = 0) -> bytes:
    """An RFC 5545 VCALENDAR with one VEVENT (METHOD:REQUEST), times in UTC, CRLF lines folded at
    75 octets. `organizer` and `attendees` are "Name <addr>" or bare addresses."""
    def person(prop: str, value: str, extra: str = "") -> str:
        name, address = parseaddr(value)
        cn = f';CN="{name.replace(chr(34), "")}"' if name else ""
        return f"{prop}{cn}{extra}:mailto:{address}"

    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:-//mentorctl//mentorctl//EN",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{_ics_utc(stamp or datetime.now(UTC))}",
        f"DTSTART:{_ics_utc(start)}",
        f"DTEND:{_ics_utc(end)}",
        f"SEQUENCE:{sequence}",
        f"SUMMARY:{_ics_escape(summary)}",
    ]
    if location:
        lines.append(f"LOCATION:{_ics_escape(location)}")
    if description:
        lines.append(f"DESCRIPTION:{_ics_escape(description)}")
    if url:
        lines.append(f"URL:{url}")
    lines.append(person("ORGANIZER", organizer))
    lines.extend(person("ATTENDEE", a, ";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE")
                 for a in attendees)
    lines += ["STATUS:CONFIRMED", "TRANSP:OPAQUE", "END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(_ics_fold(line) for line in lines) + "\r\n").encode("utf-8")


def ics_attachment(content: bytes, filename: str = "invite.ics") -> Attachment:
    """A calendar invitation as an attachment (text/calendar; method=REQUEST)."""
    return Attachment(filename, content, "text/calendar", {"method": "REQUEST", "charset": "utf-8"})


# -- mailers -----------------------------------------------------------------------------------------------------

@runtime_checkable
class Mailer(Protocol):
    """Something that delivers messages. `preview` mailers (the outbox) do not touch the ledger."""

    preview: bool

    def send(self, msg: EmailMessage) -> str:
        """Deliver one message; return its Message-ID. Raise RecipientRefused for this message only,
        ConnectionLost when the outcome is unknown, DeliveryError when nothing more can be sent."""
        ...

    def close(self) -> None:
        """Release any connection (the mailer may be used again afterwards)."""
        ...


class OutboxMailer:
    """Writes each message as a standard `.eml` file into `folder` (atomically), for checking before sending.
    `name_for(msg)` chooses the file name; by default the `X-Mentorctl-File` header, else the Message-ID."""

    preview = True

    def __init__(self, folder: str | Path, name_for: Callable[[EmailMessage], str] | None = None):
        self.folder = Path(folder)
        self.name_for = name_for or _default_eml_name
        self.written: list[Path] = []

    def send(self, msg: EmailMessage) -> str:
        path = self.folder / self.name_for(msg)
        atomic_write_bytes(path, msg.as_bytes())
        self.written.append(path)
        return str(msg["Message-ID"])

    def close(self) -> None:
        return None


FILE_HEADER = "X-Mentorctl-File"
IDLE_CHECK_SECONDS = 15.0


def _default_eml_name(msg: EmailMessage) -> str:
    name = msg.get(FILE_HEADER) or str(msg["Message-ID"]).strip("<>")
    safe = re.sub(r"[^A-Za-z0-9._@-]+", "_", str(name)).strip("._") or uuid.uuid4().hex
    return safe if safe.endswith(".eml") else safe + ".eml"


class SmtpMailer:
    """Sends through the programme's SMTP server, reusing one connection, at most `per_minute` messages a
    minute. User name and password come from the environment variables NAMED in the settings; the
    connection is opened at the first send (or `connect()`), so nothing is contacted when there is
    nothing to send. `clock`/`sleep` are seams for the rate limit."""

    preview = False

    def __init__(self, settings: SmtpSettings, environ: Mapping[str, str] | None = None, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 local_hostname: str | None = None):
        self.settings = settings
        env = os.environ if environ is None else environ
        self._username = self._secret(env, settings.username_env, "username_env")
        self._password = self._secret(env, settings.password_env, "password_env")
        if (self._username is None) != (self._password is None):
            raise ProgrammeError("email.smtp needs both username_env and password_env, or neither",
                                 location=Location("programme.yaml"))
        self._clock = clock
        self._sleep = sleep
        self._interval = 60.0 / settings.per_minute
        self._last_send: float | None = None
        self._smtp: smtplib.SMTP | None = None
        self._local_hostname = local_hostname

    @staticmethod
    def _secret(env: Mapping[str, str], name: str | None, key: str) -> str | None:
        if not name:
            return None
        value = env.get(name)
        if not value:
            raise ProgrammeError(
                f"email.smtp.{key} names the environment variable {name}, but it is not set; "
                f"set it before sending (export {name}=…), never put secrets in programme.yaml",
                location=Location("programme.yaml"))
        return value

    def connect(self) -> None:
        """Open the connection and log in; DeliveryError (with the server's reason) when that fails."""
        if self._smtp is not None:
            return
        s = self.settings
        where = f"{s.host}:{s.port} ({s.security})"
        try:
            if s.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds,
                                                      local_hostname=self._local_hostname,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds,
                                    local_hostname=self._local_hostname)
            try:
                smtp.ehlo()
                if s.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self._username is not None and self._password is not None:
                    _login(smtp, self._username, self._password)
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as e:
            raise DeliveryError(f"the SMTP server {where} refused the login ({e.smtp_code} {_text(e.smtp_error)}); "
                                f"check the user name and password in {s.username_env} and {s.password_env}") from e
        except smtplib.SMTPNotSupportedError as e:
            raise DeliveryError(f"the SMTP server {where} does not support this: {e}; check email.smtp.security "
                                "(starttls | ssl | none) and port") from e
        except (smtplib.SMTPException, OSError) as e:
            raise DeliveryError(f"cannot connect to the SMTP server {where}: {e}; check email.smtp.host, port "
                                "and security, and your network") from e
        self._smtp = smtp

    def send(self, msg: EmailMessage) -> str:
        self._wait_for_rate_limit()
        self._check_idle_connection()
        self.connect()
        assert self._smtp is not None
        recipient = ", ".join(recipients_of(msg)) or "(no recipient)"
        del msg[FILE_HEADER]  # the outbox's file name is no business of the recipient
        try:
            refused = self._smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as e:
            reasons = "; ".join(f"{code} {_text(text)}" for code, text in e.recipients.values())
            self._reset()
            raise RecipientRefused(recipient, f"address refused by the server ({reasons})") from e
        except smtplib.SMTPDataError as e:
            self._reset()
            raise RecipientRefused(recipient, f"message refused by the server ({e.smtp_code} "
                                              f"{_text(e.smtp_error)})") from e
        except smtplib.SMTPSenderRefused as e:
            self._reset()
            raise DeliveryError(f"the SMTP server refused the sender {e.sender} ({e.smtp_code} "
                                f"{_text(e.smtp_error)}); check email.from") from e
        except (smtplib.SMTPServerDisconnected, OSError) as e:
            self._drop()
            raise ConnectionLost(f"the connection to the SMTP server broke while sending to {recipient}: {e}") from e
        except smtplib.SMTPException as e:
            self._reset()
            raise RecipientRefused(recipient, f"the server did not accept the message ({e})") from e
        finally:
            self._last_send = self._clock()
        if refused:
            reasons = "; ".join(f"{addr}: {code} {_text(text)}" for addr, (code, text) in refused.items())
            raise RecipientRefused(", ".join(refused), f"address refused by the server ({reasons})")
        return str(msg["Message-ID"])

    def _wait_for_rate_limit(self) -> None:
        if self._last_send is None:
            return
        wait = self._last_send + self._interval - self._clock()
        if wait > 0:
            self._sleep(wait)

    def _check_idle_connection(self) -> None:
        """A connection idle for a while may have been closed by the server: check it before a message
        goes out (so a dropped connection is never mistaken for a lost message) and reconnect if needed."""
        if self._smtp is None or self._last_send is None or self._clock() - self._last_send < IDLE_CHECK_SECONDS:
            return
        try:
            code, _ = self._smtp.noop()
        except (smtplib.SMTPException, OSError):
            code = 0
        if code != 250:
            self._drop()

    def _reset(self) -> None:
        """After a refusal, reset the SMTP transaction so the connection can carry the next message."""
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def close(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            self._drop()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# -- the send loop --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutgoingMessage:
    """One message to deliver, under its ledger key."""

    key: str
    kind: str
    recipient_id: str
    message: EmailMessage
    content_hash: str | None = None

    @property
    def recipient_email(self) -> str:
        return ", ".join(recipients_of(self.message))


@dataclass(frozen=True)
class Failure:
    recipient_id: str
    recipient: str
    reason: str


@dataclass(frozen=True)
class DeliveryReport:
    """What `deliver` did. `sent`: keys delivered (or written, in a preview); `skipped`: keys already sent
    earlier; `unknown`: keys left `sending` by an interrupted run (not resent; see `Ledger.clear_unknown`);
    `failed`: per-recipient failures; `aborted`: why the batch stopped early, with `not_attempted` keys."""

    preview: bool
    sent: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    failed: tuple[Failure, ...] = ()
    aborted: str | None = None
    not_attempted: tuple[str, ...] = ()
    already_sent_in_preview: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed and self.aborted is None


ProgressCallback = Callable[[int, int, OutgoingMessage, str], None]


def deliver(outgoing: Sequence[OutgoingMessage], mailer: Mailer, ledger: Ledger | None, *, resend: bool = False,
            on_progress: ProgressCallback | None = None) -> DeliveryReport:
    """Send each message once. `on_progress(done, total, item, outcome)` is called after each message with
    outcome 'sent' | 'skipped' | 'unknown' | 'failed' | 'written'. The mailer is closed at the end.
    With a preview mailer (outbox) every message is written and the ledger is only read (to count what a
    real send would skip)."""
    total = len(outgoing)
    sent: list[str] = []
    skipped: list[str] = []
    unknown: list[str] = []
    failed: list[Failure] = []

    def progress(index: int, item: OutgoingMessage, outcome: str) -> None:
        if on_progress is not None:
            on_progress(index + 1, total, item, outcome)

    try:
        if mailer.preview:
            statuses = ledger.statuses([o.key for o in outgoing]) if ledger is not None else {}
            for index, item in enumerate(outgoing):
                mailer.send(item.message)
                sent.append(item.key)
                progress(index, item, "written")
            already = sum(1 for o in outgoing if str(statuses.get(o.key, "")) == "sent")
            return DeliveryReport(preview=True, sent=tuple(sent), already_sent_in_preview=already)
        if ledger is None:
            raise ValueError("sending needs a ledger")
        for index, item in enumerate(outgoing):
            email = item.recipient_email
            if not ledger.begin(item.key, kind=item.kind, recipient_id=item.recipient_id, recipient_email=email,
                                content_hash=item.content_hash, resend=resend):
                if str(ledger.status(item.key)) == "sending":
                    unknown.append(item.key)
                    progress(index, item, "unknown")
                else:
                    skipped.append(item.key)
                    progress(index, item, "skipped")
                continue
            try:
                message_id = mailer.send(item.message)
            except RecipientRefused as e:
                ledger.mark_failed(item.key, e.reason)
                failed.append(Failure(item.recipient_id, email, e.reason))
                progress(index, item, "failed")
                continue
            except ConnectionLost as e:
                # The message may have been delivered: leave the key 'sending' (at most once).
                unknown.append(item.key)
                return DeliveryReport(False, tuple(sent), tuple(skipped), tuple(unknown), tuple(failed),
                                      aborted=e.plain_message,
                                      not_attempted=tuple(o.key for o in outgoing[index + 1:]))
            except DeliveryError as e:
                ledger.mark_failed(item.key, e.plain_message)
                return DeliveryReport(False, tuple(sent), tuple(skipped), tuple(unknown), tuple(failed),
                                      aborted=e.plain_message,
                                      not_attempted=tuple(o.key for o in outgoing[index:]))
            # Anything else (a bug, Ctrl-C) propagates and leaves the key 'sending': outcome unknown.
            ledger.mark_sent(item.key, message_id)
            sent.append(item.key)
            progress(index, item, "sent")
        return DeliveryReport(False, tuple(sent), tuple(skipped), tuple(unknown), tuple(failed))
    finally:
        mailer.close()



def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """Log in. smtplib sends credentials as ASCII only (a password such as 'pässwörd' raised
    UnicodeEncodeError); non-ASCII credentials go as UTF-8 in AUTH PLAIN, as RFC 4616 defines it."""
    if (username + password).isascii():
        smtp.login(username, password)
        return
    import base64

    smtp.ehlo_or_helo_if_needed()
    if not smtp.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
    if code not in (235, 503):
        raise smtplib.SMTPAuthenticationError(code, reply)
