"""Only http, https and mailto links; no line breaks in header values; every .ics value escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

ROSTER = "id,name,email\nA,Ann,ann@example.org\n"


def write(small_programme, name: str, **sections) -> Path:
    base = {"programme": {"name": "Links", "coordinator": {"name": "Cora", "email": "cora@example.org"}},
            "email": {"from": "Mentoring <m@example.org>"}}
    for key, value in sections.items():
        base[key] = {**base[key], **value} if isinstance(base.get(key), dict) else value
    return small_programme(name, ROSTER, "id,name,email\nX,Xi,xi@example.org\n", **base)


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "data:text/html,<script>x</script>",
                                 "file:///etc/passwd", "JavaScript:alert(1)", " javascript:alert(1)",
                                 "vbscript:msgbox", "intranet/guide", "https://ok.example.org/a b"])
def test_resource_links_other_than_http_https_mailto_are_validate_errors(small_programme, run_cli, url):
    folder = write(small_programme, "bad", onboarding={"resources": [{"title": "Guide", "url": url}]})
    result = run_cli("validate", folder)
    assert result.exit_code == 2, result.output
    assert "onboarding.resources" in result.output and "not an http, https or mailto link" in result.output
    assert "Traceback" not in result.output
    assert run_cli("packs", folder).exit_code == 2


def test_session_links_are_checked_too(small_programme, run_cli):
    folder = write(small_programme, "bad", schedule={"kickoff": {"title": "Kick-off", "start": "2027-03-01 10:00",
                                                                 "url": "javascript:alert(1)"}})
    result = run_cli("validate", folder)
    assert result.exit_code == 2 and "schedule.kickoff.url" in result.output


@pytest.mark.parametrize("url", ["https://example.org/guide", "http://example.org", "mailto:help@example.org"])
def test_good_links_become_links(small_programme, run_cli, url):
    folder = write(small_programme, "good", onboarding={"resources": [{"title": "Guide", "url": url}]})
    assert run_cli("validate", folder).exit_code == 0
    assert run_cli("match", folder).exit_code == 0
    assert run_cli("packs", folder).exit_code == 0
    html = next((folder / "out" / "packs").glob("mentee-*.html")).read_text(encoding="utf-8")
    assert f'href="{url}"' in html


INJECTIONS = [
    ("programme", {"name": "Pilot\r\nBcc: everyone@example.org"}, "programme.name"),
    ("programme", {"coordinator": {"name": "Cora\nBcc: x@example.org", "email": "cora@example.org"}},
     "programme.coordinator.name"),
    ("email", {"subject_prefix": "[M]\r\nX-Evil: 1"}, "email.subject_prefix"),
    ("email", {"reply_to": "r@example.org\r\nBcc: x@example.org"}, "email.reply_to"),
    ("email", {"from": "M <m@example.org>\nBcc: x@example.org"}, "email.from"),
    ("schedule", {"kickoff": {"title": "Kick-off", "start": "2027-03-01 10:00",
                              "url": "https://meet.example.org/k\r\nATTENDEE:mailto:evil@example.org"}},
     "schedule.kickoff.url"),
]


@pytest.mark.parametrize(("section", "value", "where"), INJECTIONS)
def test_line_breaks_in_header_values_are_validate_errors(small_programme, run_cli, section, value, where):
    folder = write(small_programme, "inject")
    path = folder / "programme.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data[section] = {**data.get(section, {}), **value}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run_cli("validate", folder)
    assert result.exit_code == 2, result.output
    assert where in result.output
    assert "Traceback" not in result.output
    packs = run_cli("packs", folder)
    assert packs.exit_code == 2 and "Traceback" not in packs.output


def test_every_ics_value_is_escaped_and_parses_with_an_independent_parser():
    icalendar = pytest.importorskip("icalendar")
    from mentorctl.mail import build_ics, format_address

    start = datetime(2027, 3, 1, 10, tzinfo=UTC)
    hostile = "Kick-off\r\nATTENDEE:mailto:evil@example.org\nX-EVIL:1\rEND:VEVENT, ; \\ done"
    data = build_ics(uid="kickoff\r\nATTENDEE:mailto:uid@example.org@example.org", start=start,
                     end=start + timedelta(hours=1), summary=hostile, location=hostile, description=hostile,
                     url="https://meet.example.org/k\r\nATTENDEE:mailto:url@example.org",
                     organizer='"Org\r\nATTENDEE:mailto:o@example.org" <org@example.org>',
                     attendees=[format_address('Ann "x"\r\nATTENDEE:mailto:a2@example.org', "ann@example.org")],
                     stamp=start)
    text = data.decode("utf-8")
    lines = text.split("\r\n")
    assert not any(line.startswith(("ATTENDEE:", "X-EVIL", "END:VEVENT,")) for line in lines)
    assert sum(line.startswith("ATTENDEE") for line in lines) == 1
    assert "\n" not in text.replace("\r\n", "")                        # no bare line breaks
    calendar = icalendar.Calendar.from_ical(data)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    attendees = event.get("ATTENDEE")
    assert not isinstance(attendees, list)                              # exactly one attendee
    assert str(attendees).lower().endswith("ann@example.org")
    assert str(event.get("SUMMARY")) == hostile.replace("\r\n", "\n").replace("\r", "\n")
    assert str(event.get("LOCATION")) == str(event.get("SUMMARY"))
    assert "\r" not in str(event.get("URL")) and "\n" not in str(event.get("URL"))
    assert not any(k.startswith("X-EVIL") for k in event)


def test_packs_invitation_parses_and_has_one_attendee(small_programme, run_cli):
    icalendar = pytest.importorskip("icalendar")
    import email
    import email.policy

    folder = write(small_programme, "ics", schedule={"kickoff": {
        "title": "Kick-off; with, commas \\ and more", "start": "2027-03-01 10:00",
        "location": "Room 1, Floor 2; East", "url": "https://meet.example.org/kick?a=1&b=2"}})
    assert run_cli("match", folder).exit_code == 0
    assert run_cli("packs", folder).exit_code == 0
    for eml in (folder / "out" / "outbox").glob("*-welcome.eml"):
        message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        ics = next(p for p in message.iter_attachments() if p.get_content_type() == "text/calendar")
        event = next(iter(icalendar.Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")))
        assert str(event["SUMMARY"]) == "Kick-off; with, commas \\ and more"
        assert str(event["LOCATION"]) == "Room 1, Floor 2; East, https://meet.example.org/kick?a=1&b=2"
        assert not isinstance(event.get("ATTENDEE"), list)
