"""A running programme over 26 weeks, day by day, against the real SMTP server: people join in weeks 3, 8
and 10, two pairs end early (one mentee is rematched), one pair pauses, the rest complete; and a rolling
(evergreen) variant where every pair runs on its own clock. Every figure below is worked out by hand."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

START = date(2026, 1, 5)                       # a Monday
END = START + timedelta(weeks=26)              # 2026-07-06, the planned end of every cohort pair

TEMPLATES = {
    "checkin.md.j2": "Subject: Check-in\n\nHello {{ recipient.name }}: "
                     "{% for c in counterparts %}{{ c.name }} {% endfor %}\n",
    "first-meeting.md.j2": "Subject: Have you met yet?\n\nHello {{ recipient.name }}\n",
    "fit.md.j2": "Subject: Is it a good fit?\n\nGood fit, still deciding, or not a fit?\n",
    "ending.md.j2": "Subject: Ending soon\n\nYour relationship ends in two weeks.\n",
    "digest.md.j2": "Subject: Digest\n\n{% for p in digest.escalated %}{{ p.mentee_id }}-{{ p.mentor_id }} "
                    "{% endfor %}\n",
}


def write(folder: Path, name: str, rows: list[str]) -> None:
    (folder / name).write_text("\n".join(rows) + "\n")


def setup(folder: Path, smtp_server, *, rolling: bool = False) -> Path:
    folder.mkdir(parents=True)
    write(folder, "mentors.csv", ["id,name,email", "M1,Ann,m1@x.org", "M2,Bob,m2@x.org", "M3,Cy,m3@x.org"])
    write(folder, "mentees.csv", ["id,name,email,likes", "E1,Eve,e1@x.org,M1", "E2,Fay,e2@x.org,M2",
                                  "E3,Gil,e3@x.org,M3", "E4,Hal,e4@x.org,M1"])
    write(folder, "activity.csv", ["timestamp,event,mentor_id,mentee_id"])
    (folder / "templates").mkdir()
    for template, text in TEMPLATES.items():
        (folder / "templates" / template).write_text(text)
    intake = "  intake: rolling\n  relationship_length: 12w\n" if rolling else ""
    (folder / "programme.yaml").write_text(f"""
programme:
  name: Lifecycle
  timezone: UTC
  coordinator: {{name: Cora, email: cora@x.org}}
design:
  start_date: {START.isoformat()}
  length_weeks: 26
{intake}rosters: {{mentors: mentors.csv, mentees: mentees.csv}}
matching:
  mentor_capacity: 1
  scoring: [{{name: likes, expr: "mentee.likes == mentor.id"}}]
reminders:
  - {{id: checkin, every: 2w, to: pairs, template: checkin.md.j2}}
  - {{id: first-meeting, after_match: 10d, unless: session, to: pairs, template: first-meeting.md.j2}}
  - {{id: fit, after_first_session: 1d, to: pairs, template: fit.md.j2}}
  - {{id: ending, before_end: 14d, to: pairs, template: ending.md.j2}}
reporting: {{activity: [activity.csv], min_group_size: 2}}
{smtp_server.yaml_block()}
""")
    return folder


def sessions(folder: Path, *rows: tuple[date, str, str]) -> None:
    with open(folder / "activity.csv", "a") as handle:
        for day, mentor, mentee in rows:
            handle.write(f"{day.isoformat()} 12:00,session,{mentor},{mentee}\n")


def join(folder: Path, roster: str, *rows: str) -> None:
    with open(folder / roster, "a") as handle:
        handle.write("".join(f"{r}\n" for r in rows))


def pairs(folder: Path) -> set[tuple[str, str]]:
    with open(folder / "out" / "matches.csv", newline="") as handle:
        return {(r["mentee_id"], r["mentor_id"]) for r in csv.DictReader(handle)}


def waitlist(folder: Path) -> list[tuple[str, str, str]]:
    with open(folder / "out" / "unmatched.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("waitlist_position")]
    return [(r["participant_id"], r["waiting_since"], r["waiting_days"]) for r in rows]


def kind(message) -> str:
    if message["X-Mentorctl-Reminder"]:
        return message["X-Mentorctl-Reminder"]
    subject = str(message["Subject"]).lower()
    return "closure" if "relationship" in subject else "welcome"


def inbox(smtp_server) -> dict[str, list[tuple[str, str]]]:
    """person → [(kind, day)] in arrival order (day: the reminder's occurrence, or the Date sent)."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for message in smtp_server.messages:
        person = message["To"].addresses[0].addr_spec.split("@")[0].upper()
        when = message["X-Mentorctl-Occurrence"] or ""
        found[person].append((kind(message), when[:10]))
    return found


def test_a_running_programme_over_26_weeks(tmp_path, smtp_server, run_cli):
    folder = setup(tmp_path / "prog", smtp_server)
    actions: dict[date, list[tuple[str, ...]]] = defaultdict(list)

    def on(day: date, *command: str) -> None:
        actions[day].append(command)

    # before the start: the cohort is matched (E4 is left over: three mentors) and welcomed
    kickoff = START - timedelta(days=3)
    on(kickoff, "match", "--on", kickoff.isoformat())
    on(kickoff, "packs", "--send", "--on", kickoff.isoformat())
    sessions(folder, (START + timedelta(days=2), "M1", "E1"), (START + timedelta(days=3), "M2", "E2"),
             (date(2026, 1, 20), "M3", "E3"), (date(2026, 2, 2), "M4", "E4"), (date(2026, 2, 10), "M2", "E1"),
             (date(2026, 3, 30), "M5", "E6"))
    # week 3: mentor M4 and mentee E5 join; E5 likes M4, but E4 has waited since the start and comes first
    week3 = date(2026, 1, 19)
    on(week3, "join", "mentors.csv", "M4,Dee,m4@x.org")
    on(week3, "join", "mentees.csv", "E5,Ida,e5@x.org,M4")
    on(week3, "match", "--on", week3.isoformat())
    on(week3, "packs", "--send", "--on", week3.isoformat())
    # week 5: E1 – M1 is not a fit (E1 is rematched); E2 moves away (and leaves the roster)
    ended = date(2026, 2, 4)
    on(ended, "end", "E1", "M1", "--reason", "not-a-fit", "--rematch", "--on", ended.isoformat())
    on(ended, "end", "e2", "m2", "--reason", "moved-or-left", "--on", ended.isoformat())
    on(ended, "leave", "E2")
    rematch = date(2026, 2, 5)
    on(rematch, "match", "--on", rematch.isoformat())
    on(rematch, "packs", "--send", "--on", rematch.isoformat())
    # week 8 and 10: E6, then E7, join with no place free; week 12: M5 joins and E6 (longer wait) gets it
    week8, week10, week12 = date(2026, 2, 23), date(2026, 3, 9), date(2026, 3, 23)
    on(week8, "join", "mentees.csv", "E6,Jo,e6@x.org,M1")
    on(week8, "match", "--on", week8.isoformat())
    on(week10, "join", "mentees.csv", "E7,Kit,e7@x.org,M5")
    on(week10, "match", "--on", week10.isoformat())
    on(week12, "join", "mentors.csv", "M5,Eli,m5@x.org")
    on(week12, "match", "--on", week12.isoformat())
    on(week12, "packs", "--send", "--on", week12.isoformat())
    # E3 – M3 pause for four weeks
    on(date(2026, 3, 6), "pause", "E3", "M3", "--on", "2026-03-06")
    on(date(2026, 4, 3), "resume", "E3", "M3", "--on", "2026-04-03")
    # the planned end: every current pair completes
    for mentee, mentor in (("E3", "M3"), ("E4", "M4"), ("E1", "M2"), ("E5", "M1"), ("E6", "M5")):
        on(END, "end", mentee, mentor, "--reason", "completed", "--on", END.isoformat())

    seen: dict[date, dict] = {}
    day = kickoff
    while day <= END + timedelta(days=7):
        for command in actions.get(day, []):
            if command[0] == "join":
                join(folder, command[1], command[2])
                continue
            if command[0] == "leave":
                rows = (folder / "mentees.csv").read_text().splitlines()
                (folder / "mentees.csv").write_text("\n".join(r for r in rows if not r.startswith(command[1] + ","))
                                                    + "\n")
                continue
            result = run_cli(command[0], folder, *command[1:])
            assert result.exit_code == 0, (day, command, result.output)
            if command[0] == "match":
                seen[day] = {"pairs": pairs(folder), "waitlist": waitlist(folder)}
        if day >= START:
            result = run_cli("remind", folder, "--now", f"{day.isoformat()}T10:00", "--send")
            assert result.exit_code == 0, (day, result.output)
        day += timedelta(days=1)

    # who is matched, and the waitlist in order (longest wait first), at each match
    assert seen[kickoff] == {"pairs": {("E1", "M1"), ("E2", "M2"), ("E3", "M3")}, "waitlist": []}
    assert seen[week3] == {"pairs": {("E1", "M1"), ("E2", "M2"), ("E3", "M3"), ("E4", "M4")},
                           "waitlist": [("E5", "2026-01-19", "0")]}
    assert seen[rematch] == {"pairs": {("E3", "M3"), ("E4", "M4"), ("E1", "M2"), ("E5", "M1")}, "waitlist": []}
    assert seen[week8]["waitlist"] == [("E6", "2026-02-23", "0")]
    assert seen[week10]["waitlist"] == [("E6", "2026-02-23", "14"), ("E7", "2026-03-09", "0")]
    assert seen[week12] == {"pairs": {("E3", "M3"), ("E4", "M4"), ("E1", "M2"), ("E5", "M1"), ("E6", "M5")},
                            "waitlist": [("E7", "2026-03-09", "14")]}

    # every message exactly once
    keys = Counter((m["To"].addresses[0].addr_spec, kind(m), m["X-Mentorctl-Occurrence"],
                    m.get_body(("plain",)).get_content()) for m in smtp_server.messages)
    assert max(keys.values()) == 1
    got = inbox(smtp_server)

    def of(person: str, what: str) -> list[str]:
        return [d for k, d in got[person] if k == what]

    # welcome packs: the first cohort, then only the newly matched or rematched
    assert {p for p in got if of(p, "welcome")} == {"E1", "E2", "E3", "M1", "M2", "M3", "E4", "M4", "E5", "E6", "M5"}
    assert {p: len(of(p, "welcome")) for p in ("E1", "M1", "M2")} == {"E1": 2, "M1": 2, "M2": 2}
    assert [len(of(p, "welcome")) for p in ("E3", "M3", "E4", "M4", "E5", "E6", "M5")] == [1] * 7
    # closure messages: both people of each ended pair; M1 and M2 ended two pairs each
    assert {p: len(of(p, "closure")) for p in got if of(p, "closure")} == {
        "E1": 2, "M1": 2, "M2": 2, "E3": 1, "M3": 1, "E4": 1, "M4": 1, "E5": 1, "E6": 1, "M5": 1}
    assert "E2" not in got or of("E2", "closure") == []   # E2 left the roster before the closure could go
    # check-ins every two weeks of the calendar, only while a person's pair is active
    fortnights = [START + timedelta(weeks=2 * k) for k in range(1, 13)]             # 19 Jan … 22 Jun

    def days(*ranges: tuple[date, date]) -> list[str]:
        return [d.isoformat() for d in fortnights if any(a <= d < b for a, b in ranges)]

    assert of("E1", "checkin") == days((START, ended), (rematch, END))               # no pair 4–5 Feb: none due
    assert of("E2", "checkin") == days((START, ended))
    assert of("M2", "checkin") == days((START, END))                               # with E2, then with E1
    assert of("E3", "checkin") == of("M3", "checkin") == days((START, date(2026, 3, 6)), (date(2026, 4, 3), END))
    assert of("E4", "checkin") == of("M4", "checkin") == days((week3, END))
    assert of("E6", "checkin") == of("M5", "checkin") == days((week12, END))
    assert of("E7", "checkin") == []
    # first-meeting nudge 10 days after the start, only for pairs that had not met: E3 – M3 (met on 20 Jan),
    # E4 – M4 (matched 19 Jan, met 2 Feb), E5 – M1 (never met); not E6 – M5 (matched 23 Mar, met 30 Mar);
    # the fit check goes out the day after a pair's first session
    assert {p: of(p, "first-meeting") for p in got if of(p, "first-meeting")} == {
        "E3": ["2026-01-15"], "M3": ["2026-01-15"], "E4": ["2026-01-29"], "M4": ["2026-01-29"],
        "E5": ["2026-02-15"], "M1": ["2026-02-15"]}
    assert {p: of(p, "fit") for p in got if of(p, "fit")} == {
        "E1": ["2026-01-08", "2026-02-11"], "M1": ["2026-01-08"], "E2": ["2026-01-09"], "M2": ["2026-01-09",
                                                                                              "2026-02-11"],
        "E3": ["2026-01-21"], "M3": ["2026-01-21"], "E4": ["2026-02-03"], "M4": ["2026-02-03"],
        "E6": ["2026-03-31"], "M5": ["2026-03-31"]}
    # "ending soon" two weeks before the planned end, to the five pairs still going
    assert {p for p in got if of(p, "ending") == ["2026-06-22"]} == {"E3", "M3", "E4", "M4", "E1", "M2", "E5", "M1",
                                                                     "E6", "M5"}

    # the report's relationships section, as of the last day
    assert run_cli("report", folder, "--period", f"{START.isoformat()}..{END.isoformat()}").exit_code == 0
    section = json.loads((folder / "out" / "report.json").read_text())["relationships"]
    # durations: E1–M1 30 and E2–M2 30 days; E3–M3 182, E4–M4 168, E1–M2 151, E5–M1 151, E6–M5 105
    # → sorted 30 30 105 151 151 168 182: median 151. Five of seven ran to the planned end (6 July).
    # first meetings: 2, 3, 15, 14 and 5 days after the start; E6–M5 7 days; E5–M1 never → median 6.
    # waitlist: E7 since 9 March = 119 days on 6 July.
    assert section == {
        "started": 7, "active": 0, "paused": 0, "ended": 7, "ended_completed": 5, "ended_early": 2,
        "ended_by_reason": {"completed": 5, "moved-or-left": "<2", "not-a-fit": "<2", "no-show": 0, "other": 0},
        "median_duration_days": 151.0, "reached_planned_length": round(5 / 7, 4), "waitlist": 1,
        "median_wait_days": 119.0, "rematches": 1, "median_days_to_first_meeting": 6.0, "follow_up_pairs": 0}
    # the same figures in the page and the workbook (endings under min_group_size 2 hidden there too)
    html = (folder / "out" / "report.html").read_text()
    for label, value in (("Relationships started", "7"), ("Ended", "7 (5 completed, 2 early)"),
                         ("Ended by reason", "completed 5, moved-or-left hidden*, not-a-fit hidden*"),
                         ("Median duration", "151 days"), ("Reached the planned length", "71%"),
                         ("Median days to first meeting", "6 days"), ("Waitlist", "1 (median wait 119 days)"),
                         ("Rematches", "1")):
        assert f'<th scope="row">{label}</th><td>{value}</td>' in html, label
    from openpyxl import load_workbook

    sheet = load_workbook(folder / "out" / "report.xlsx")["Relationships"]
    figures = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]}
    assert (figures["Relationships started"], figures["Ended early"], figures["Median duration (days)"]) == (7, 2, 151)
    assert figures["Reached the planned length"] == round(5 / 7, 4) and figures["Median wait (days)"] == 119
    assert figures["Ended by reason: completed"] == 5 and figures["Ended by reason: not-a-fit"] == "hidden*"


def test_a_rolling_programme_runs_each_pair_on_its_own_clock(tmp_path, smtp_server, run_cli):
    folder = setup(tmp_path / "rolling", smtp_server, rolling=True)
    first, later = START, START + timedelta(days=17)        # E4 waits until M4 joins on day 17
    assert run_cli("match", folder, "--on", first.isoformat()).exit_code == 0
    assert (folder / "relationships.csv").exists()           # a rolling programme runs from its first match
    assert run_cli("packs", folder, "--send", "--on", first.isoformat()).exit_code == 0
    day = first
    while day <= first + timedelta(weeks=16):
        if day == later:
            join(folder, "mentors.csv", "M4,Dee,m4@x.org")
            assert run_cli("match", folder, "--on", day.isoformat()).exit_code == 0
            assert ("E4", "M4") in pairs(folder)
            assert run_cli("packs", folder, "--send", "--on", day.isoformat()).exit_code == 0
        if day == first + timedelta(weeks=12):
            assert run_cli("end", folder, "E1", "M1", "--reason", "completed", "--on", day.isoformat()).exit_code == 0
        assert run_cli("remind", folder, "--now", f"{day.isoformat()}T10:00", "--send").exit_code == 0
        day += timedelta(days=1)
    got = inbox(smtp_server)

    def of(person: str, what: str) -> list[str]:
        return [d for k, d in got[person] if k == what]

    # each pair: check-ins every two weeks from its own start until its own planned end (start + 12 weeks)
    own = [(first + timedelta(weeks=2 * k)).isoformat() for k in range(1, 6)]
    assert of("E1", "checkin") == of("E2", "checkin") == own
    assert of("E4", "checkin") == of("M4", "checkin") == [(later + timedelta(weeks=2 * k)).isoformat()
                                                          for k in range(1, 6) if later + timedelta(weeks=2 * k)
                                                          <= first + timedelta(weeks=16)]
    # "ending soon" 14 days before each pair's own end; the completed pair's closure once
    assert of("E1", "ending") == [(first + timedelta(weeks=10)).isoformat()]
    assert of("E4", "ending") == [(later + timedelta(weeks=10)).isoformat()]
    assert [k for k, _ in got["E1"]].count("closure") == 1 and [k for k, _ in got["E2"]].count("closure") == 0
    assert of("E4", "welcome") and of("M4", "welcome") and len(of("M1", "welcome")) == 1


def test_a_pair_quiet_beyond_escalate_after_is_in_the_coordinators_digest_once(tmp_path, smtp_server, run_cli):
    # the built-in digest template; E1 – M1 meet every week, E2 – M2 met once on 3 March and then went quiet
    folder = tmp_path / "escalate"
    folder.mkdir()
    write(folder, "mentors.csv", ["id,name,email", "M1,Ann,m1@x.org", "M2,Bob,m2@x.org"])
    write(folder, "mentees.csv", ["id,name,email,likes", "E1,Eve,e1@x.org,M1", "E2,Fay,e2@x.org,M2"])
    write(folder, "activity.csv", ["timestamp,event,mentor_id,mentee_id"])
    start = date(2027, 3, 1)                                   # a Monday
    sessions(folder, *((start + timedelta(weeks=k, days=1), "M1", "E1") for k in range(8)),
             (date(2027, 3, 3), "M2", "E2"))
    (folder / "programme.yaml").write_text(f"""
programme: {{name: Escalation, timezone: UTC, coordinator: {{name: Cora, email: cora@x.org}}}}
design: {{start_date: {start.isoformat()}, length_weeks: 12}}
rosters: {{mentors: mentors.csv, mentees: mentees.csv}}
matching:
  mentor_capacity: 1
  scoring: [{{name: likes, expr: "mentee.likes == mentor.id"}}]
reminders:
  - {{id: nudge, every: 1w, when_inactive_for: 14d, escalate_after: 28d, to: pairs, template: nudge.md.j2}}
  - {{id: digest, cron: "0 9 * * MON", to: coordinator, template: digest.md.j2}}
reporting: {{activity: [activity.csv]}}
{smtp_server.yaml_block()}
""")
    assert run_cli("match", folder, "--on", "2027-02-26").exit_code == 0
    assert pairs(folder) == {("E1", "M1"), ("E2", "M2")}
    day = start
    while day <= date(2027, 4, 12):
        for hour in ("10:00", "18:00"):                       # twice a day: the ledger sends each digest once
            result = run_cli("remind", folder, "--now", f"{day.isoformat()}T{hour}", "--send")
            assert result.exit_code == 0, (day, result.output)
        day += timedelta(days=1)
    digests = {m["X-Mentorctl-Occurrence"][:10]: m.get_body(("plain",)).get_content()
               for m in smtp_server.messages if m["X-Mentorctl-Reminder"] == "digest"}
    assert sum(1 for m in smtp_server.messages if m["X-Mentorctl-Reminder"] == "digest") == len(digests) == 7
    escalated = "Pairs to contact now"
    # 29 March: 26 days without a session (overdue, not yet escalated); 5 April: 33 days, escalated
    assert escalated not in digests["2027-03-29"] and "Bob and Fay: last met 2027-03-03" in digests["2027-03-29"]
    for week, quiet in (("2027-04-05", 33), ("2027-04-12", 40)):
        body = digests[week]
        assert "escalation threshold (1)" in body
        assert f"Bob and Fay: last met 2027-03-03 ({quiet} days without a session)" in body
        assert body.count("Bob and Fay") == 1                 # in the escalated list only, not also overdue
        assert "Ann and Eve" not in body and "Pairs overdue for a session (0)" in body
