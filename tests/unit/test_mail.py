"""Messages, calendar invitations, the SMTP and outbox mailers and the send loop, against a real SMTP server."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from mentorctl.errors import ProgrammeError
from mentorctl.ledger import Ledger, SendStatus
from mentorctl.mail import (
    OutboxMailer,
    OutgoingMessage,
    SmtpMailer,
    build_ics,
    build_message,
    deliver,
    ics_attachment,
)

START = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def make(n: int, *, to: str | None = None) -> OutgoingMessage:
    address = to or f"person{n}@example.org"
    ics = build_ics(uid=f"kickoff-{n}@example.org", start=START, end=START + timedelta(hours=1),
                    summary="Kick-off", organizer="Team <team@example.org>", attendees=[address])
    msg = build_message(sender="Mentoring Team <mentoring@example.org>", to=f"Person {n} <{address}>",
                        subject=f"Welcome {n}", text=f"Hello person {n}", html=f"<p>Hello person {n}</p>",
                        reply_to="coordinator@example.org", attachments=[ics_attachment(ics)])
    return OutgoingMessage(key=f"test:{n}", kind="test", recipient_id=f"p{n}", message=msg)


def test_build_message_has_headers_alternatives_and_attachment():
    msg = make(1).message
    for header in ("From", "To", "Reply-To", "Subject", "Date", "Message-ID"):
        assert msg[header], header
    assert msg["Message-ID"].endswith("@example.org>")
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert parsed.get_body(("plain",)).get_content().strip() == "Hello person 1"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Hello person 1</p>"
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST"
    assert attachment.get_filename() == "invite.ics"
    assert b"\r\nDTSTART:20260115T093000Z\r\n" in attachment.get_payload(decode=True)


def test_ics_lines_are_crlf_folded_at_75_octets_and_escaped():
    ics = build_ics(uid="u@x", start=START, end=START + timedelta(hours=1), summary="Kick-off; café, " + "é" * 80,
                    organizer="A <a@x.org>", location="Room 1, Floor 2", stamp=START)
    text = ics.decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    lines = text.split("\r\n")
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)
    unfolded = text.replace("\r\n ", "")
    assert "SUMMARY:Kick-off\\; café\\, " + "é" * 80 + "\r\n" in unfolded
    assert "LOCATION:Room 1\\, Floor 2\r\n" in unfolded
    assert "DTSTAMP:20260115T093000Z" in unfolded and "UID:u@x" in unfolded
    assert 'ORGANIZER;CN="A":mailto:a@x.org' in unfolded


def read_event(ics: bytes) -> icalendar.Event:
    """The one VEVENT of an invitation, read by an independent parser (icalendar)."""
    calendar = icalendar.Calendar.from_ical(ics)
    assert str(calendar["METHOD"]) == "REQUEST" and str(calendar["VERSION"]) == "2.0"
    [event] = calendar.walk("VEVENT")
    return event


def test_ics_reads_back_with_an_independent_parser():
    summary = "Kick-off; café, " + "é" * 80
    ics = build_ics(uid="u@x", start=START, end=START + timedelta(hours=1), summary=summary,
                    organizer="A <a@x.org>", location="Room 1, Floor 2", description="Line one\nLine two",
                    url="https://meet.example.org/k", attendees=["B <b@x.org>", "c@x.org"], stamp=START)
    event = read_event(ics)
    assert str(event["SUMMARY"]) == summary and str(event["LOCATION"]) == "Room 1, Floor 2"
    assert str(event["DESCRIPTION"]) == "Line one\nLine two"
    assert str(event["URL"]) == "https://meet.example.org/k" and str(event["UID"]) == "u@x"
    assert event.decoded("DTSTART") == START and event.decoded("DTEND") == START + timedelta(hours=1)
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTSTAMP") == START
    assert str(event["ORGANIZER"]) == "mailto:a@x.org" and event["ORGANIZER"].params["CN"] == "A"
    attendees = event["ATTENDEE"]
    assert [str(a) for a in attendees] == ["mailto:b@x.org", "mailto:c@x.org"]
    assert attendees[0].params["CN"] == "B" and attendees[0].params["RSVP"] == "TRUE"


def test_build_ics_rejects_naive_times():
    with pytest.raises(ValueError):
        build_ics(uid="u", start=datetime(2026, 1, 1), end=datetime(2026, 1, 1, 1), summary="s", organizer="a@x")


def test_deliver_sends_everything_once(smtp_server, tmp_path):
    batch = [make(n) for n in range(3)]
    with Ledger(tmp_path / "l.sqlite") as ledger:
        report = deliver(batch, SmtpMailer(smtp_server.settings()), ledger)
        assert report.ok and len(report.sent) == 3
        assert [m["To"] for m in smtp_server.messages] == [f"Person {n} <person{n}@example.org>" for n in range(3)]
        assert [e.rcpt_tos for e in smtp_server.envelopes] == [[f"person{n}@example.org"] for n in range(3)]
        again = deliver(batch, SmtpMailer(smtp_server.settings()), ledger)
        assert again.sent == () and len(again.skipped) == 3
        assert len(smtp_server.messages) == 3
        assert all(r.status is SendStatus.SENT and r.message_id for r in ledger.records())


def test_refused_fifth_message_then_rerun_sends_the_rest_none_twice(smtp_server, tmp_path):
    batch = [make(n) for n in range(8)]
    smtp_server.refuse_nth(5)
    with Ledger(tmp_path / "l.sqlite") as ledger:
        first = deliver(batch, SmtpMailer(smtp_server.settings()), ledger)
        assert len(first.sent) == 7 and [f.recipient_id for f in first.failed] == ["p4"]
        assert "550" in first.failed[0].reason
        assert ledger.status("test:4") is SendStatus.FAILED
        second = deliver(batch, SmtpMailer(smtp_server.settings()), ledger)
        assert second.sent == ("test:4",) and len(second.skipped) == 7
    received = [m["Subject"] for m in smtp_server.messages]
    assert sorted(received) == sorted(f"Welcome {n}" for n in range(8))


def test_refused_address_is_reported_and_the_batch_goes_on(smtp_server, tmp_path):
    smtp_server.refuse_address("person1@example.org")
    with Ledger(tmp_path / "l.sqlite") as ledger:
        report = deliver([make(n) for n in range(3)], SmtpMailer(smtp_server.settings()), ledger)
    assert report.sent == ("test:0", "test:2")
    assert report.failed[0].recipient == "person1@example.org" and "refused" in report.failed[0].reason
    assert not report.ok


def test_credentials_come_from_the_named_environment_variables(smtp_server, tmp_path):
    smtp_server.require_auth("mentor-bot", "s3cret")
    settings = smtp_server.settings(username_env="MY_USER", password_env="MY_PASS")
    with Ledger(tmp_path / "l.sqlite") as ledger:
        report = deliver([make(1)], SmtpMailer(settings, {"MY_USER": "mentor-bot", "MY_PASS": "s3cret"}), ledger)
        assert report.ok and len(smtp_server.messages) == 1
        bad = deliver([make(2)], SmtpMailer(settings, {"MY_USER": "mentor-bot", "MY_PASS": "wrong"}), ledger)
        assert bad.aborted and "refused the login" in bad.aborted and "MY_PASS" in bad.aborted
        assert bad.not_attempted == ("test:2",)
        assert ledger.status("test:2") is SendStatus.FAILED
    assert len(smtp_server.messages) == 1


def test_missing_environment_variable_names_it():
    from mentorctl.programme import SmtpSettings

    settings = SmtpSettings(host="localhost", username_env="MENTORCTL_SMTP_USER", password_env="MENTORCTL_SMTP_PASSWORD")
    with pytest.raises(ProgrammeError, match="MENTORCTL_SMTP_USER") as caught:
        SmtpMailer(settings, {})
    assert caught.value.exit_code == 2


def test_unreachable_server_aborts_without_losing_anything(tmp_path):
    from mentorctl.programme import SmtpSettings

    settings = SmtpSettings(host="127.0.0.1", port=1, security="none", timeout_seconds=2)
    with Ledger(tmp_path / "l.sqlite") as ledger:
        report = deliver([make(1), make(2)], SmtpMailer(settings, {}), ledger)
        assert report.aborted and "cannot connect" in report.aborted
        assert report.not_attempted == ("test:1", "test:2")
        assert ledger.status("test:1") is SendStatus.FAILED  # retried by the next run


def test_rate_limit_spaces_messages(smtp_server, tmp_path):
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    mailer = SmtpMailer(smtp_server.settings(per_minute=30), clock=lambda: now[0], sleep=sleep)
    with Ledger(tmp_path / "l.sqlite") as ledger:
        deliver([make(n) for n in range(4)], mailer, ledger)
    assert waits == [pytest.approx(2.0)] * 3
    assert len(smtp_server.messages) == 4


def test_outbox_writes_eml_files_and_leaves_the_ledger_alone(tmp_path):
    batch = [make(n) for n in range(2)]
    outbox = tmp_path / "out" / "outbox"
    with Ledger(tmp_path / "l.sqlite") as ledger:
        report = deliver(batch, OutboxMailer(outbox, name_for=lambda m: m["Subject"].replace(" ", "-") + ".eml"),
                         ledger)
        assert report.preview and len(report.sent) == 2
        assert ledger.records() == []
    files = sorted(p.name for p in outbox.iterdir())
    assert files == ["Welcome-0.eml", "Welcome-1.eml"]
    parsed = email.message_from_bytes((outbox / "Welcome-1.eml").read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "Person 1 <person1@example.org>"
    assert parsed.get_body(("plain",)).get_content().strip() == "Hello person 1"


def test_progress_reports_each_message(smtp_server, tmp_path):
    seen: list[tuple[int, int, str]] = []
    with Ledger(tmp_path / "l.sqlite") as ledger:
        deliver([make(n) for n in range(2)], SmtpMailer(smtp_server.settings()), ledger,
                on_progress=lambda done, total, item, outcome: seen.append((done, total, outcome)))
    assert seen == [(1, 2, "sent"), (2, 2, "sent")]


def test_interrupted_send_stays_unknown_until_cleared(smtp_server, tmp_path):
    batch = [make(1)]
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.begin("test:1", kind="test", recipient_id="p1")  # a crash after claiming
        report = deliver(batch, SmtpMailer(smtp_server.settings()), ledger)
        assert report.unknown == ("test:1",) and smtp_server.messages == []
        ledger.clear_unknown()
        assert deliver(batch, SmtpMailer(smtp_server.settings()), ledger).sent == ("test:1",)
    assert len(smtp_server.messages) == 1
