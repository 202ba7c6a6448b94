"""`mentorctl packs` end to end on the example programme, with a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest
import yaml

MATCHED = 12  # mentees in the test matches file; with their mentors that is MATCHED + 6 people


def write_matches(folder: Path, mentees: int = MATCHED) -> list[dict[str, str]]:
    """A matches file independent of the matcher: mentee i gets mentor i % 6 (two mentees per mentor)."""
    with open(folder / "mentors.csv", encoding="utf-8") as f:
        mentors = list(csv.DictReader(f))[:6]
    with open(folder / "mentees.csv", encoding="utf-8") as f:
        people = list(csv.DictReader(f))[:mentees]
    rows = [{"mentee_id": p["id"], "mentee_name": p["name"], "mentee_email": p["email"],
             "mentor_id": mentors[i % 6]["id"], "mentor_name": mentors[i % 6]["name"],
             "mentor_email": mentors[i % 6]["email"], "score": "4", "skills": "3", "same_site": "1",
             "preference": "0"} for i, p in enumerate(people)]
    save_matches(folder, rows)
    return rows


def save_matches(folder: Path, rows: list[dict[str, str]]) -> None:
    (folder / "out").mkdir(exist_ok=True)
    with open(folder / "out" / "matches.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def programme(example_programme: Path, smtp_server) -> Path:
    """The example programme pointed at the test SMTP server, with a small matches file."""
    path = example_programme / "programme.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["email"]["smtp"] = {"host": smtp_server.host, "port": smtp_server.port, "security": "none",
                             "per_minute": 100000}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    write_matches(example_programme)
    return example_programme


def read_matches_file(folder: Path) -> list[dict[str, str]]:
    with open(folder / "out" / "matches.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def sent_keys(folder: Path) -> list[str]:
    db = sqlite3.connect(folder / ".mentorctl" / "ledger.sqlite")
    return [row[0] for row in db.execute("SELECT key FROM sends WHERE status = 'sent'")]


def test_preview_writes_packs_and_outbox_and_sends_nothing(programme, run_cli, smtp_server):
    result = run_cli("packs", programme)
    assert result.exit_code == 0, result.output
    people = MATCHED + 6
    assert len(list((programme / "out" / "packs").glob("*.html"))) == people
    assert len(list((programme / "out" / "packs").glob("*.md"))) == people
    emls = sorted((programme / "out" / "outbox").glob("*-welcome.eml"))
    assert len(emls) == people and (programme / "out" / "outbox" / "mentee-E0001-welcome.eml") in emls
    assert smtp_server.messages == []
    assert not (programme / ".mentorctl" / "ledger.sqlite").exists()
    assert "Wrote 18 welcome emails" in result.stdout


def test_send_delivers_one_email_per_person_with_everything(programme, run_cli, smtp_server):
    result = run_cli("packs", programme, "--send")
    assert result.exit_code == 0, result.output
    messages = smtp_server.messages
    assert len(messages) == MATCHED + 6
    by_to = {m["To"].addresses[0].addr_spec: m for m in messages}
    rows = read_matches_file(programme)
    first = rows[0]
    mentee_mail = by_to[first["mentee_email"]]
    for header in ("From", "To", "Subject", "Message-ID", "Date", "Reply-To"):
        assert mentee_mail[header], header
    assert mentee_mail["From"].addresses[0].addr_spec == "mentoring@example.org"
    assert "meet your mentor" in mentee_mail["Subject"]
    assert "X-Mentorctl-File" not in mentee_mail
    text = mentee_mail.get_body(("plain",)).get_content()
    html = mentee_mail.get_body(("html",)).get_content()
    assert first["mentor_name"] in text and first["mentor_email"] in text and first["mentor_name"] in html
    other_mentors = {r["mentor_name"] for r in rows} - {first["mentor_name"]}
    assert not any(name in text for name in other_mentors)
    attachments = {a.get_filename(): a for a in mentee_mail.iter_attachments()}
    assert attachments["kickoff.ics"].get_content_type() == "text/calendar"
    assert b"SUMMARY:Programme kick-off" in attachments["kickoff.ics"].get_payload(decode=True)
    assert first["mentor_name"] in attachments[f"welcome-pack-mentee-{first['mentee_id']}.html"].get_payload(
        decode=True).decode()
    mentor_mail = by_to[first["mentor_email"]]
    own = [r["mentee_name"] for r in rows if r["mentor_id"] == first["mentor_id"]]
    assert len(own) == 2 and all(name in mentor_mail.get_body(("plain",)).get_content() for name in own)
    assert len(set(m["Message-ID"] for m in messages)) == len(messages)


def test_two_runs_in_a_row_send_nothing_the_second_time(programme, run_cli, smtp_server):
    assert run_cli("packs", programme, "--send").exit_code == 0
    second = run_cli("packs", programme, "--send")
    assert second.exit_code == 0
    assert len(smtp_server.messages) == MATCHED + 6
    assert "already sent" in second.stdout


def test_refused_fifth_message_is_retried_by_the_next_run_none_twice(programme, run_cli, smtp_server):
    rows = write_matches(programme, mentees=5)
    only = [arg for r in rows for arg in ("--only", r["mentee_id"])]
    smtp_server.refuse_nth(5)
    first = run_cli("packs", programme, "--send", *only)
    assert first.exit_code == 1
    assert len(sent_keys(programme)) == 4 and len(smtp_server.messages) == 4
    assert "Failed:" in first.stderr and "550" in first.stderr
    second = run_cli("packs", programme, "--send", *only)
    assert second.exit_code == 0, second.output
    recipients = [m["To"].addresses[0].addr_spec for m in smtp_server.messages]
    assert sorted(recipients) == sorted(r["mentee_email"] for r in rows)
    assert len(sent_keys(programme)) == 5


def test_refused_address_is_listed_and_the_rest_go(programme, run_cli, smtp_server):
    rows = read_matches_file(programme)
    smtp_server.refuse_address(rows[2]["mentee_email"])
    result = run_cli("packs", programme, "--send")
    assert result.exit_code == 1
    assert len(smtp_server.messages) == MATCHED + 5
    assert rows[2]["mentee_id"] in result.stderr and rows[2]["mentee_email"] in result.stderr


def test_changed_match_sends_only_to_the_people_affected(programme, run_cli, smtp_server):
    assert run_cli("packs", programme, "--send").exit_code == 0
    rows = read_matches_file(programme)
    old_mentor = rows[0]["mentor_id"]
    donor = next(r for r in rows if r["mentor_id"] != old_mentor)
    rows[0] = {**rows[0], **{k: donor[k] for k in ("mentor_id", "mentor_name", "mentor_email")}}
    save_matches(programme, rows)
    smtp_server.reset()
    assert run_cli("packs", programme, "--send").exit_code == 0
    got = sorted(m["To"].addresses[0].addr_spec for m in smtp_server.messages)
    old_email = next(r["mentor_email"] for r in rows if r["mentor_id"] == old_mentor)
    assert got == sorted([rows[0]["mentee_email"], donor["mentor_email"], old_email])


def test_resend_sends_again_on_purpose(programme, run_cli, smtp_server):
    assert run_cli("packs", programme, "--send", "--only", "E0001").exit_code == 0
    assert run_cli("packs", programme, "--send", "--only", "E0001", "--resend").exit_code == 0
    assert len(smtp_server.messages) == 2


def test_template_error_stops_everything_with_exit_2(programme, run_cli, smtp_server):
    (programme / "templates").mkdir(exist_ok=True)
    (programme / "templates" / "welcome-one-to-one.md.j2").write_text(
        "Subject: Hello {{ recipient.name }}\n\nDear {{ recipient.name }},\n{{ recipient.favourite_colour }}\n")
    result = run_cli("packs", programme, "--send")
    assert result.exit_code == 2
    assert "templates/welcome-one-to-one.md.j2, line 4: undefined variable 'recipient.favourite_colour'" \
        in result.stderr
    assert "Traceback" not in result.output
    assert smtp_server.messages == []
    assert not (programme / ".mentorctl" / "ledger.sqlite").exists()


def test_missing_credentials_variable_is_named(programme, run_cli, smtp_server, monkeypatch):
    path = programme / "programme.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["email"]["smtp"].update(username_env="PACKS_TEST_USER", password_env="PACKS_TEST_PASSWORD")
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    monkeypatch.delenv("PACKS_TEST_USER", raising=False)
    result = run_cli("packs", programme, "--send")
    assert result.exit_code == 2
    assert "PACKS_TEST_USER" in result.stderr
    assert smtp_server.messages == []


def test_unknown_only_id_is_bad_input(programme, run_cli):
    result = run_cli("packs", programme, "--only", "NOPE")
    assert result.exit_code == 2 and "NOPE" in result.stderr


def test_example_packs_hide_internal_fields_and_goals_and_show_the_last_day(example_programme, run_cli):
    """On the real example: the matcher's own matches file, cards without internal fields, no KPI goals."""
    assert run_cli("match", example_programme).exit_code == 0
    result = run_cli("packs", example_programme)
    assert result.exit_code == 0, result.output
    packs = example_programme / "out" / "packs"
    texts = {p.name: p.read_text(encoding="utf-8") for p in packs.iterdir()}
    assert len(texts) > 300
    for hidden in ("Preferred mentors", "Manager id", "Utc offset", "Capacity", "Our goals", "Every mentee is matched",
                   "Monday 12 July 2027", "matched you by hand"):
        assert not any(hidden in text for text in texts.values()), hidden
    assert all("to Sunday 11 July 2027" in text for text in texts.values())
    assert all("Help early-career colleagues" in text for text in texts.values())
    # pairs the matcher made with no scoring term in common get the rules wording
    with open(example_programme / "out" / "matches.csv", encoding="utf-8") as f:
        zero = [row for row in csv.DictReader(f) if float(row["score"]) == 0]
    assert zero
    assert "matching rules" in texts[f"mentee-{zero[0]['mentee_id']}.md"]


def test_two_mentors_are_named_in_the_plural(small_programme, run_cli):
    import email
    import email.policy

    folder = small_programme("two", "id,name,email\nA,Ann,ann@example.org\nB,Bob,bob@example.org\n",
                             "id,name,email\nX,Xi,xi@example.org\n", matching={"mentors_per_mentee": 2})
    assert run_cli("match", folder).exit_code == 0
    assert run_cli("packs", folder).exit_code == 0
    message = email.message_from_bytes((folder / "out" / "outbox" / "mentee-X-welcome.eml").read_bytes(),
                                       policy=email.policy.default)
    assert message["Subject"].endswith("meet your mentors")
    assert "Your mentors are" in message.get_body(("plain",)).get_content()


def test_invalid_address_is_warned_like_a_missing_one(small_programme, run_cli):
    folder = small_programme("bad", "id,name,email\nA,Ann,ann@example.org\nB,Bo,bo@example.org\n",
                             "id,name,email\nX,Xi,xi@example.org\nY,Yu,\nZ,Sam Costa,anonymous\n")
    assert run_cli("match", folder).exit_code == 0
    result = run_cli("packs", folder)
    assert result.exit_code == 0
    assert "Warning: Z: 'anonymous' is not an email address; pack written, no email." in result.stderr
    assert "Warning: Y has no email address; pack written, no email." in result.stderr
    outbox = sorted(p.name for p in (folder / "out" / "outbox").glob("*.eml"))
    assert outbox == ["mentee-X-welcome.eml", "mentor-A-welcome.eml", "mentor-B-welcome.eml"]
    assert (folder / "out" / "packs" / "mentee-Z.html").exists()
    assert "<anonymous>" not in "".join(p.read_text() for p in (folder / "out" / "outbox").glob("*.eml"))


def test_send_emails_everyone_with_an_address_and_names_who_has_none(small_programme, run_cli, smtp_server):
    import yaml

    folder = small_programme("partly", "id,name,email\nA,Ann,ann@example.org\nB,Bo,bo@example.org\n",
                             "id,name,email\nX,Xi,xi@example.org\nY,Yu,\n")
    data = yaml.safe_load((folder / "programme.yaml").read_text())
    data.update(yaml.safe_load(smtp_server.yaml_block()))
    (folder / "programme.yaml").write_text(yaml.safe_dump(data))
    assert run_cli("match", folder).exit_code == 0
    result = run_cli("packs", folder, "--send")
    assert result.exit_code == 0, result.output
    assert "Warning: Y has no email address; pack written, no email." in result.stderr
    assert "Not emailed (1, no usable address on the roster): Y;" in " ".join(result.stdout.split())
    mentors = {row["mentor_id"] for row in read_matches_file(folder)}
    addresses = {"A": "Ann <ann@example.org>", "B": "Bo <bo@example.org>"}
    assert sorted(m["To"] for m in smtp_server.messages) == sorted([*(addresses[m] for m in mentors),
                                                                    "Xi <xi@example.org>"])
    assert (folder / "out" / "packs" / "mentee-Y.html").exists()


def test_send_stops_when_nobody_has_a_usable_address(small_programme, run_cli, smtp_server):
    import yaml

    folder = small_programme("wrongcolumn", "id,name,email\nA,Ann,1001\n", "id,name,email\nX,Xi,1002\n")
    data = yaml.safe_load((folder / "programme.yaml").read_text())
    data.update(yaml.safe_load(smtp_server.yaml_block()))
    (folder / "programme.yaml").write_text(yaml.safe_dump(data))
    assert run_cli("match", folder).exit_code == 0
    result = run_cli("packs", folder, "--send")
    assert result.exit_code == 2
    assert ("nobody in the packs has a usable email address (A: '1001' is not an email address); check which "
            "column `rosters.columns.email` maps — nothing was sent") in " ".join(result.stderr.split())
    assert smtp_server.messages == []


# -- one sender at a time: packs and remind share the programme's send lock ---------------------------------

def test_retry_unknown_waits_for_a_live_run_and_never_sends_its_messages_twice(programme, run_cli, smtp_server,
                                                                               monkeypatch):
    """A live `packs --send` holds the lock with a message 'sending'; a second `--send --retry-unknown` waits
    (it does not take that message for unknown) and, once the first has recorded it sent, skips it."""
    from contextlib import ExitStack

    import mentorctl.files as files_module
    from mentorctl.ledger import Ledger, send_lock
    from mentorctl.programme import load_programme

    assert run_cli("packs", programme, "--send", "--only", "E0001").exit_code == 0
    sent_key = sent_keys(programme)[0]
    prog = load_programme(programme)
    with Ledger.for_programme(prog) as ledger:      # the live run is "sending" E0001's message again
        ledger.begin(sent_key, kind="pack:welcome", recipient_id="mentee:E0001", resend=True)
    smtp_server.reset()
    live = ExitStack()
    live.enter_context(send_lock(prog.state_dir, "packs --send"))
    waits: list[float] = []

    def first_run_finishes(seconds: float) -> None:      # the live run records its send, then exits
        waits.append(seconds)
        with Ledger.for_programme(prog) as ledger:
            ledger.mark_sent(sent_key, "<live@example.org>")
        live.close()

    monkeypatch.setattr(files_module.time, "sleep", first_run_finishes)
    result = run_cli("packs", programme, "--send", "--retry-unknown", "--only", "E0001")
    assert result.exit_code == 0, result.output
    assert waits == [1.0]
    assert "another mentorctl packs --send is running for this programme (pid" in result.stderr
    assert "waiting for it to finish sending" in result.stderr
    assert smtp_server.messages == []                   # the live run's message is not sent a second time


def test_a_second_sender_gives_up_after_waiting_and_sends_nothing(programme, run_cli, smtp_server, monkeypatch):
    import mentorctl.cli.packs_cmd as packs_cmd
    import mentorctl.files as files_module
    from mentorctl.ledger import send_lock
    from mentorctl.programme import load_programme

    monkeypatch.setattr(packs_cmd, "SEND_LOCK_WAIT_SECONDS", 3)
    monkeypatch.setattr(files_module.time, "sleep", lambda seconds: None)
    with send_lock(load_programme(programme).state_dir, "remind"):
        result = run_cli("packs", programme, "--send")
    assert result.exit_code == 1, result.output
    assert "another mentorctl remind is running for this programme" in result.stderr
    assert "nothing was sent" in result.stderr
    assert smtp_server.messages == []


def test_remind_and_packs_share_one_lock(programme, run_cli, smtp_server):
    from mentorctl.ledger import send_lock
    from mentorctl.programme import load_programme

    with send_lock(load_programme(programme).state_dir, "packs --send"):
        result = run_cli("remind", programme, "--now", "2027-01-25T12:00", "--send")
    assert result.exit_code == 0
    assert "another mentorctl packs --send is running for this programme" in result.stderr
    assert smtp_server.messages == []
