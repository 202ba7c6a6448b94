"""`mentorctl remind / schedule / upcoming` end to end: a 26-week programme simulated day by day against a
real SMTP server on 127.0.0.1, catch-up after a gap, concurrent runs, DST, inactivity, crontab install."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from mentorctl import crontab

START = date(2026, 1, 5)          # a Monday; the UK moves to summer time on 29 March 2026
MENTORS = ["M1", "M2", "M3", "M4"]
MENTEES = ["E1", "E2", "E3", "E4"]
PAIRS = [("M1", "E1"), ("M2", "E2"), ("M3", "E3")]     # M4 and E4 are not matched

TEMPLATES = {
    "checkin.md.j2": "Subject: Check-in week {{ week }}\n\nHello {{ recipient.name }}, "
                     "{% for c in counterparts %}{{ c.name }}{% endfor %}\n",
    "nudge.md.j2": "Subject: Nudge\n\nNo session for {{ reminder.inactive_for }} days with "
                   "{% for c in counterparts %}{{ c.name }} {% endfor %}\n",
    "survey.md.j2": "Subject: Midpoint survey\n\nHello {{ recipient.name }}\n",
    "digest.md.j2": "Subject: Digest {{ occurrence | date('iso') }}\n\n"
                    "not met: {% for p in digest.not_met %}{{ p.mentor_id }}-{{ p.mentee_id }} {% endfor %}\n"
                    "overdue: {% for p in digest.overdue %}{{ p.mentor_id }}-{{ p.mentee_id }} {% endfor %}\n"
                    "sessions: {% for s in digest.upcoming_sessions %}{{ s.title }} {% endfor %}\n",
    "training.md.j2": "Subject: Reminder: {{ session.title }}\n\n{{ session.start | datetime }}\n",
}


def write_programme(folder: Path, smtp_server, *, timezone: str = "Europe/London", activity: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mentors.csv").write_text("id,name,email\n" + "".join(
        f"{m},Mentor {m},{m.lower()}@example.org\n" for m in MENTORS))
    (folder / "mentees.csv").write_text("id,name,email\n" + "".join(
        f"{e},Mentee {e},{e.lower()}@example.org\n" for e in MENTEES))
    (folder / "out").mkdir(exist_ok=True)
    (folder / "out" / "matches.csv").write_text("mentee_id,mentee_name,mentor_id,mentor_name,score\n" + "".join(
        f"{e},Mentee {e},{m},Mentor {m},1\n" for m, e in PAIRS))
    sessions = []
    for week in range(26):                       # M1/E1 meet every Tuesday
        sessions.append((START + timedelta(weeks=week, days=1), "M1", "E1"))
    for week in range(4):                        # M2/E2 meet for four weeks, then stop
        sessions.append((START + timedelta(weeks=week, days=1), "M2", "E2"))
    (folder / "activity.csv").write_text("timestamp,event,mentor_id,mentee_id\n" + "".join(
        f"{d.isoformat()} 12:00,session,{m},{e}\n" for d, m, e in sessions))
    templates = folder / "templates"
    templates.mkdir(exist_ok=True)
    for name, text in TEMPLATES.items():
        (templates / name).write_text(text)
    (folder / "programme.yaml").write_text(f"""
programme:
  name: Time Travel
  timezone: {timezone}
  coordinator: {{name: Cora Ordinator, email: cora@example.org}}
design:
  start_date: {START.isoformat()}
  length_weeks: 26
rosters: {{mentors: mentors.csv, mentees: mentees.csv}}
schedule:
  training:
    - {{title: Mentor training, start: "2026-02-10 14:00", audience: mentors}}
  training_reminders: {{enabled: true, days_before: 2}}
reminders:
  - {{id: fortnightly-checkin, every: 2w, to: pairs, template: checkin.md.j2}}
  - {{id: nudge-inactive, every: 1w, to: pairs, when_inactive_for: 21d, template: nudge.md.j2}}
  - {{id: midpoint-survey, at: week 13, to: everyone, template: survey.md.j2}}
  - {{id: monday-digest, cron: "0 9 * * MON", to: coordinator, template: digest.md.j2}}
{"reporting: {activity: [activity.csv]}" if activity else ""}
{smtp_server.yaml_block()}
""")
    return folder


def received(smtp_server) -> dict[str, list[tuple[str, str, str]]]:
    """recipient → [(reminder id, occurrence, subject)] in arrival order."""
    found: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for message in smtp_server.messages:
        to = message["To"].addresses[0].addr_spec
        found[to].append((message["X-Mentorctl-Reminder"], message["X-Mentorctl-Occurrence"],
                          str(message["Subject"])))
    return found


def mondays(first: date, last: date) -> list[date]:
    return [first + timedelta(weeks=k) for k in range((last - first).days // 7 + 1)]


def test_26_week_programme_day_by_day(tmp_path, smtp_server, run_cli):
    folder = write_programme(tmp_path / "prog", smtp_server)
    for day in range(26 * 7 + 7):                       # one week past the end: nothing more goes out
        now = datetime.combine(START + timedelta(days=day), datetime.min.time()).replace(hour=10)
        result = run_cli("remind", folder, "--now", now.isoformat(), "--send")
        assert result.exit_code == 0, result.output

    got = received(smtp_server)
    checkin_days = [START + timedelta(weeks=2 * k) for k in range(1, 13)]            # weeks 2…24
    for person in ("m1", "e1", "m2", "e2", "m3", "e3"):
        checkins = [o for r, o, _ in got[f"{person}@example.org"] if r == "fortnightly-checkin"]
        assert [o[:10] for o in checkins] == [d.isoformat() for d in checkin_days]
        assert {o[10:19] for o in checkins} == {"T09:00:00"}                          # 09:00 local, also after DST
    assert {o[19:] for r, o, _ in got["m1@example.org"] if r == "fortnightly-checkin"} == {"+00:00", "+01:00"}
    for person in ("m4", "e4"):                                                      # unmatched: no pair reminders
        assert {r for r, _, _ in got[f"{person}@example.org"]} <= {"midpoint-survey", "training-mentor-training"}

    # Nudges: M3/E3 never met → every Monday from week 3 (21 days after the start) to the last week;
    # M2/E2 last met on 27 January → from the first Monday 21 days later; M1/E1 meet weekly → never.
    def nudges(person: str) -> list[str]:
        return [o[:10] for r, o, _ in got[f"{person}@example.org"] if r == "nudge-inactive"]

    last_monday = START + timedelta(weeks=25)
    assert nudges("m3") == nudges("e3") == [d.isoformat() for d in mondays(date(2026, 1, 26), last_monday)]
    assert nudges("m2") == nudges("e2") == [d.isoformat() for d in mondays(date(2026, 2, 23), last_monday)]
    assert nudges("m1") == nudges("e1") == []

    # Midpoint survey: week 13 = start + 12 weeks, to all eight rostered people, once.
    for person in [p.lower() for p in MENTORS + MENTEES]:
        surveys = [o for r, o, _ in got[f"{person}@example.org"] if r == "midpoint-survey"]
        assert surveys == ["2026-03-30T09:00:00+01:00"]

    # Training: two days before the mentors' session, to every mentor, once.
    for person in ("m1", "m2", "m3", "m4"):
        training = [(o, s) for r, o, s in got[f"{person}@example.org"] if r == "training-mentor-training"]
        assert training == [("2026-02-08T14:00:00+00:00", "Reminder: Mentor training")]
    assert not any(r == "training-mentor-training" for p in ("e1", "e2", "e3", "e4")
                   for r, _, _ in got[f"{p}@example.org"])

    # Coordinator digest: every Monday of the programme, each exactly once, content from the activity log.
    digests = [(o, s) for r, o, s in got["cora@example.org"] if r == "monday-digest"]
    assert [o[:10] for o, _ in digests] == [d.isoformat() for d in mondays(START, last_monday)]
    assert set(got) == {f"{p.lower()}@example.org" for p in MENTORS + MENTEES} | {"cora@example.org"}
    digest_march = next(m for m in smtp_server.messages if m["X-Mentorctl-Reminder"] == "monday-digest"
                        and m["X-Mentorctl-Occurrence"] == "2026-03-02T09:00:00+00:00")
    body = [line.strip() for line in digest_march.get_body(("plain",)).get_content().splitlines()]
    assert body == ["not met: M3-E3 overdue: M2-E2 sessions:"]    # trim_blocks joins the lines

    # Totals: every message exactly once (no duplicates across 189 daily runs).
    keys = Counter((m["To"].addresses[0].addr_spec, m["X-Mentorctl-Reminder"], m["X-Mentorctl-Occurrence"])
                   for m in smtp_server.messages)
    assert max(keys.values()) == 1
    assert len(smtp_server.messages) == 6 * 12 + 2 * 23 + 2 * 19 + 8 + 4 + 26


def test_week_long_gap_catches_up_once(tmp_path, smtp_server, run_cli):
    folder = write_programme(tmp_path / "prog", smtp_server)
    # cron was down from 1 February to 24 February: checkins of 2 Feb and 16 Feb fell due meanwhile
    assert run_cli("remind", folder, "--now", "2026-01-31T10:00", "--send").exit_code == 0
    smtp_server.reset()
    result = run_cli("remind", folder, "--now", "2026-02-24T10:00", "--send")
    assert result.exit_code == 0, result.output
    checkins = [(m["To"].addresses[0].addr_spec, m["X-Mentorctl-Occurrence"]) for m in smtp_server.messages
                if m["X-Mentorctl-Reminder"] == "fortnightly-checkin"]
    assert sorted(checkins) == sorted((f"{p}@example.org", "2026-02-16T09:00:00+00:00")
                                      for p in ("m1", "e1", "m2", "e2", "m3", "e3"))
    digests = [m["X-Mentorctl-Occurrence"] for m in smtp_server.messages if m["X-Mentorctl-Reminder"] == "monday-digest"]
    assert digests == ["2026-02-23T09:00:00+00:00"]
    assert "older occurrence(s) skipped" in result.output
    # the skipped occurrences never go out later, and the next day nothing is due again
    smtp_server.reset()
    assert run_cli("remind", folder, "--now", "2026-02-25T10:00", "--send").exit_code == 0
    assert smtp_server.messages == []


def test_dry_run_and_outbox_record_nothing(tmp_path, smtp_server, run_cli):
    folder = write_programme(tmp_path / "prog", smtp_server)
    dry = run_cli("remind", folder, "--now", "2026-01-19T10:00", "--dry-run")
    assert dry.exit_code == 0 and "would send" in dry.output
    assert not (folder / "out" / "outbox").exists() and smtp_server.messages == []
    outbox = run_cli("remind", folder, "--now", "2026-01-19T10:00")
    assert outbox.exit_code == 0
    files = sorted(p.name for p in (folder / "out" / "outbox").glob("*.eml"))
    assert len(files) == 7 and "reminder-fortnightly-checkin-2026-01-19-mentor-M1.eml" in files   # 6 checkins + digest
    sent = run_cli("remind", folder, "--now", "2026-01-19T10:00", "--send")
    assert sent.exit_code == 0 and len(smtp_server.messages) == 7


def test_two_concurrent_runs_send_nothing_twice(tmp_path, smtp_server):
    from mentorctl.errors import LockedError
    from mentorctl.mail import SmtpMailer
    from mentorctl.programme import load_programme
    from mentorctl.reminders import RunMode, run_reminders

    folder = write_programme(tmp_path / "prog", smtp_server)
    programme = load_programme(folder)
    now = datetime.fromisoformat("2026-03-30T10:00:00+01:00")
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def one_run() -> None:
        barrier.wait()
        try:
            result = run_reminders(programme, now, mode=RunMode.SEND, mailer=SmtpMailer(smtp_server.settings()))
            outcomes.append(f"ran:{sum(r.outcome == 'sent' for r in result.rows)}")
        except LockedError:
            outcomes.append("locked")

    threads = [threading.Thread(target=one_run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = [(m["To"].addresses[0].addr_spec, m["X-Mentorctl-Reminder"]) for m in smtp_server.messages]
    assert len(keys) == len(set(keys))
    # 6 checkins, 8 surveys, 1 digest, nudges for M2/E2 and M3/E3
    assert len(keys) == 6 + 8 + 1 + 4
    assert sum(int(o.split(":")[1]) for o in outcomes if o.startswith("ran")) == len(keys)


def test_second_run_while_locked_exits_zero_with_a_message(tmp_path, smtp_server, run_cli):
    from mentorctl.programme import load_programme
    from mentorctl.reminders import remind_lock

    folder = write_programme(tmp_path / "prog", smtp_server)
    with remind_lock(load_programme(folder)):
        result = run_cli("remind", folder, "--now", "2026-01-19T10:00", "--send")
    assert result.exit_code == 0
    assert "another mentorctl remind is running for this programme" in result.stderr
    assert smtp_server.messages == []


def test_dst_change_does_not_shift_or_duplicate(tmp_path, smtp_server, run_cli):
    folder = write_programme(tmp_path / "prog", smtp_server)
    # a daily 01:30 digest, with a run every hour from 27 to 30 March (clocks go forward on the 29th)
    text = (folder / "programme.yaml").read_text().replace(
        'cron: "0 9 * * MON"', 'cron: "30 1 * * *"')
    (folder / "programme.yaml").write_text(text)
    assert run_cli("remind", folder, "--now", "2026-03-26T23:00:00+00:00", "--send").exit_code == 0
    smtp_server.reset()                                  # what was due before the window
    moment = datetime.fromisoformat("2026-03-27T00:00:00+00:00")
    while moment < datetime.fromisoformat("2026-03-31T00:00:00+00:00"):
        assert run_cli("remind", folder, "--now", moment.isoformat(), "--send").exit_code == 0
        moment += timedelta(hours=1)
    digests = [m["X-Mentorctl-Occurrence"] for m in smtp_server.messages if m["X-Mentorctl-Reminder"] == "monday-digest"]
    assert digests == ["2026-03-27T01:30:00+00:00", "2026-03-28T01:30:00+00:00",
                       "2026-03-29T02:30:00+01:00",            # 01:30 does not exist that day: moved by the gap
                       "2026-03-30T01:30:00+01:00"]
    checkins = [m["X-Mentorctl-Occurrence"] for m in smtp_server.messages
                if m["X-Mentorctl-Reminder"] == "fortnightly-checkin" and m["To"].addresses[0].username == "m1"]
    assert checkins == ["2026-03-30T09:00:00+01:00"]


def test_fall_back_day_sends_once(tmp_path, smtp_server, run_cli):
    folder = write_programme(tmp_path / "prog", smtp_server, timezone="America/New_York")
    text = (folder / "programme.yaml").read_text().replace('cron: "0 9 * * MON"', 'cron: "30 1 * * *"')
    text = text.replace("length_weeks: 26", "length_weeks: 52")
    (folder / "programme.yaml").write_text(text)
    # 1 November 2026: New York's clocks go back at 02:00, so 01:30 happens twice
    assert run_cli("remind", folder, "--now", "2026-10-31T03:00:00+00:00", "--send").exit_code == 0
    smtp_server.reset()                                  # what was due before the window
    moment = datetime.fromisoformat("2026-10-31T04:00:00+00:00")
    while moment < datetime.fromisoformat("2026-11-02T12:00:00+00:00"):     # hourly: 01:30 EDT and EST both pass
        assert run_cli("remind", folder, "--now", moment.isoformat(), "--send").exit_code == 0
        moment += timedelta(hours=1)
    digests = [m["X-Mentorctl-Occurrence"] for m in smtp_server.messages if m["X-Mentorctl-Reminder"] == "monday-digest"]
    assert digests == ["2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]


def test_failed_send_exits_1_lists_it_and_is_retried(tmp_path, smtp_server, run_cli):
    folder = write_programme(tmp_path / "prog", smtp_server)
    smtp_server.refuse_address("e2@example.org")
    result = run_cli("remind", folder, "--now", "2026-01-19T10:00", "--send")
    assert result.exit_code == 1
    assert "Failed: fortnightly-checkin to Mentee E2 <e2@example.org>" in result.stderr
    assert len(smtp_server.messages) == 6
    smtp_server.reset()
    again = run_cli("remind", folder, "--now", "2026-01-19T11:00", "--send")
    assert again.exit_code == 0
    assert [m["To"].addresses[0].addr_spec for m in smtp_server.messages] == ["e2@example.org"]


def test_inactivity_reminder_without_activity_log_is_a_config_error(tmp_path, smtp_server, run_cli):
    folder = write_programme(tmp_path / "prog", smtp_server, activity=False)
    result = run_cli("remind", folder, "--now", "2026-01-19T10:00", "--send")
    assert result.exit_code == 2
    assert "when_inactive_for" in result.stderr and "reporting.activity" in result.stderr and "Traceback" not in result.output


def test_upcoming_lists_the_next_days(tmp_path, smtp_server, run_cli):
    folder = write_programme(tmp_path / "prog", smtp_server)
    result = run_cli("upcoming", folder, "--days", "7", "--now", "2026-02-03T10:00")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "│" in line or "|" in line]
    text = "\n".join(lines)
    assert "training-mentor-training" in text and "Sun 08 Feb 2026 14:00" in text
    assert "monday-digest" in text and "Mon 09 Feb 2026 09:00" in text
    assert "fortnightly-checkin" not in text          # next one is on 16 February


def test_upcoming_from_a_date_includes_that_days_messages(tmp_path, smtp_server, run_cli):
    folder = write_programme(tmp_path / "prog", smtp_server)
    text = " ".join(run_cli("upcoming", folder, "--days", "1", "--now", "2026-02-09").output.split())
    assert "monday-digest" in text and "Mon 09 Feb 2026 09:00" in text       # 09:00 on the day asked for
    at_nine = " ".join(run_cli("upcoming", folder, "--days", "1", "--now", "2026-02-09T09:00").output.split())
    assert "monday-digest" in at_nine                                        # a message at that very minute
    later = " ".join(run_cli("upcoming", folder, "--days", "1", "--now", "2026-02-09T09:01").output.split())
    assert "monday-digest" not in later


def test_schedule_install_twice_leaves_one_line(tmp_path, smtp_server, run_cli, monkeypatch):
    folder = write_programme(tmp_path / "prog", smtp_server)
    cron_file = tmp_path / "crontab"
    cron_file.write_text("0 3 * * * /usr/local/bin/backup\n")
    monkeypatch.setenv(crontab.CRONTAB_FILE_ENV, str(cron_file))
    printed = run_cli("schedule", folder, "--print")
    assert printed.exit_code == 0
    first = run_cli("schedule", folder, "--install")
    second = run_cli("schedule", folder, "--install")
    assert first.exit_code == second.exit_code == 0
    assert "Already installed" in second.output
    lines = cron_file.read_text().splitlines()
    ours = [line for line in lines if line.endswith(f"# mentorctl:{folder.resolve()}")]
    assert len(ours) == 1 and lines[0] == "0 3 * * * /usr/local/bin/backup"
    assert f"remind {folder.resolve()} --send >> {folder.resolve()}/logs/remind.log 2>&1" in ours[0]
    assert ours[0] == printed.output.strip().replace("\n", "")
    removed = run_cli("schedule", folder, "--uninstall")
    assert removed.exit_code == 0
    assert cron_file.read_text() == "0 3 * * * /usr/local/bin/backup\n"


@pytest.mark.parametrize("command", ["remind", "schedule", "upcoming"])
def test_commands_have_help_with_an_example(run_cli, command):
    result = run_cli(command, "--help")
    assert result.exit_code == 0 and "Example: mentorctl " + command in result.output


def test_example_programme_with_built_in_templates(example_programme, run_cli):
    """Every built-in reminder template renders on the example; private fields never reach a message."""
    import email
    import email.policy

    import pandas as pd

    folder = example_programme
    mentors = pd.read_csv(folder / "mentors.csv", dtype=str)
    mentees = pd.read_csv(folder / "mentees.csv", dtype=str)
    pairs = pd.DataFrame({"mentee_id": mentees["id"], "mentee_name": mentees["name"],
                          "mentor_id": [mentors["id"][i % len(mentors)] for i in range(len(mentees))],
                          "mentor_name": [mentors["name"][i % len(mentors)] for i in range(len(mentees))]})
    (folder / "out").mkdir(exist_ok=True)
    pairs.to_csv(folder / "out" / "matches.csv", index=False)
    # the first half of the pairs met last week; the others never did
    met = pairs.iloc[: len(pairs) // 2]
    pd.DataFrame({"timestamp": "2027-04-06 12:00", "event": "session", "mentor_id": met["mentor_id"],
                  "mentee_id": met["mentee_id"]}).to_csv(folder / "activity.csv", index=False)

    result = run_cli("remind", folder, "--now", "2027-04-11T10:00")
    assert result.exit_code == 0, result.output + result.stderr
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted((folder / "out" / "outbox").glob("reminder-*.eml"))]
    by_reminder = Counter(m["X-Mentorctl-Reminder"] for m in messages)
    matched_people = len(mentees) + pairs["mentor_id"].nunique()
    nudged = {m["X-Mentorctl-Recipient"] for m in messages if m["X-Mentorctl-Reminder"] == "nudge-inactive"}
    assert by_reminder == {
        "fortnightly-checkin": matched_people,
        "nudge-inactive": len(nudged),
        "midpoint-survey": len(mentors) + len(mentees),
        "monday-digest": 1,
        "training-midpoint-masterclass-feedback-that-lands": len(mentors) + len(mentees),
    }
    inactive = pairs.iloc[len(pairs) // 2:]
    assert nudged == {f"mentee:{i}" for i in inactive["mentee_id"]} | {f"mentor:{i}" for i in inactive["mentor_id"]}
    bodies = [m.get_body(("plain",)).get_content() for m in messages]
    assert not any("female" in body.lower() for body in bodies)           # `gender` is private
    digest = next(b for m, b in zip(messages, bodies, strict=True) if m["X-Mentorctl-Reminder"] == "monday-digest")
    assert f"\nPairs that have not met yet ({len(inactive)})\n---" in digest and "##" not in digest


def test_interrupted_send_is_not_repeated_unless_asked(tmp_path, smtp_server, run_cli):
    from mentorctl.ledger import Ledger
    from mentorctl.programme import load_programme
    from mentorctl.reminders import reminder_key

    folder = write_programme(tmp_path / "prog", smtp_server)
    key = reminder_key("fortnightly-checkin", datetime.fromisoformat("2026-01-19T09:00:00+00:00"), "mentor:M1")
    with Ledger.for_programme(load_programme(folder)) as ledger:     # a crash after claiming, before 'sent'
        assert ledger.begin(key, kind="reminder:fortnightly-checkin", recipient_id="mentor:M1")
    result = run_cli("remind", folder, "--now", "2026-01-19T10:00", "--send")
    assert result.exit_code == 0
    assert "m1@example.org" not in [m["To"].addresses[0].addr_spec for m in smtp_server.messages]
    assert "1 reminder(s) were interrupted" in result.stderr
    smtp_server.reset()
    again = run_cli("remind", folder, "--now", "2026-01-19T11:00", "--send", "--retry-unknown")
    assert again.exit_code == 0
    assert [m["To"].addresses[0].addr_spec for m in smtp_server.messages] == ["m1@example.org"]


def test_many_messages_are_summarised_unless_details(example_programme, run_cli):
    assert run_cli("match", example_programme).exit_code == 0
    summary = run_cli("remind", example_programme, "--now", "2027-01-25T10:00", "--dry-run")
    assert summary.exit_code == 0, summary.stdout
    assert "Messages" in summary.stdout and "fortnightly-checkin" in summary.stdout
    assert "@example.org" not in summary.stdout
    import re

    count = re.search(r"fortnightly-checkin\W+would send\W+(\d+)", summary.stdout)
    assert count and int(count.group(1)) > 25
    details = run_cli("remind", example_programme, "--now", "2027-01-25T10:00", "--dry-run", "--details")
    assert details.stdout.count("@example") >= 25


def test_schedule_rejects_a_bad_cron_schedule(tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("MENTORCTL_CRONTAB_FILE", str(tmp_path / "crontab"))
    assert run_cli("init", "p", "--dir", tmp_path).exit_code == 0
    for command in ("--print", "--install"):
        result = run_cli("schedule", tmp_path / "p", command, "--when", "bogus")
        assert result.exit_code == 2 and "is not a cron schedule" in result.stderr
    assert not (tmp_path / "crontab").exists() or "bogus" not in (tmp_path / "crontab").read_text()


def test_recipient_without_email_is_a_warning_not_a_failure(tmp_path, smtp_server, run_cli):
    folder = write_programme(tmp_path / "prog", smtp_server)
    mentees = folder / "mentees.csv"
    mentees.write_text(mentees.read_text().replace("e2@example.org", ""))
    for mode in ("--dry-run", "--send"):
        result = run_cli("remind", folder, "--now", "2026-01-19T10:00", mode)
        assert result.exit_code == 0, (mode, result.output)
        assert "Failed" not in result.stderr and "failed" not in result.stdout
        assert "Warning: fortnightly-checkin to Mentee E2 skipped: no email address" in result.stderr
        assert "6 reminder(s)" in result.stdout and "1 skipped (no email address)" in result.stdout
    assert len(smtp_server.messages) == 6
    data = run_cli("remind", folder, "--now", "2026-01-19T10:00", "--dry-run", "--json")
    assert data.exit_code == 0 and '"no_email": 1' in data.stdout
