"""Self-matching end to end: `shortlist` (balanced lists, emails through the ledger) and `match` on ranked picks
(mentee-prefers), on a small hand-made programme, with a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

MENTORS = """id,name,email,department,grade,skills,capacity,gender
M1,Ada Mentor,ada@example.org,Finance,5,python;leadership,1,f
M2,Ben Mentor,ben@example.org,Sales,5,python;sales,1,m
M3,Cy Mentor,cy@example.org,Ops,5,leadership;writing,2,x
M4,Di Mentor,di@example.org,Legal,5,law;writing,1,f
"""
MENTEES = """id,name,email,department,grade,goals,gender
E1,Eve One,eve@example.org,Sales,2,python,f
E2,Fay Two,fay@example.org,Finance,2,python;leadership,f
E3,Gus Three,gus@example.org,Ops,2,writing,m
E4,Hal Four,hal@example.org,Legal,2,law,m
E5,Ida Five,ida@example.org,Sales,2,leadership,f
E6,Jo Six,jo@example.org,Sales,9,python,x
"""


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def programme(small_programme, smtp_server):
    def make(**self_matching):
        return small_programme(
            "selfmatch", MENTORS, MENTEES,
            private=["gender"],
            matching={"eligibility": ["mentor.department != mentee.department", "mentor.grade >= mentee.grade"],
                      "scoring": [{"name": "skills", "expr": "overlap(mentor.skills, mentee.goals)", "weight": 2,
                                   "explain": "their skills match your goals"},
                                  {"name": "same_gender", "expr": "mentor.gender == mentee.gender",
                                   "weight": 1}]},
            email={"from": "Mentoring <mentoring@example.org>",
                   "smtp": {"host": smtp_server.host, "port": smtp_server.port, "security": "none",
                            "per_minute": 100000}},
            self_matching={"size": 2, "exposure": 1.5, "form_url": "https://forms.example.org/choose",
                           **self_matching})
    return make


def test_shortlist_is_balanced_and_explains_who_has_none(programme, run_cli, smtp_server):
    folder = programme()
    result = run_cli("shortlist", folder)
    assert result.exit_code == 0, result.output
    rows = read_csv(folder / "out" / "shortlists.csv")
    assert list(rows[0]) == ["mentee_id", "mentee_name", "rank", "mentor_id", "mentor_name", "score", "why"]
    per_mentor: dict[str, int] = {}
    per_mentee: dict[str, list[str]] = {}
    for row in rows:
        per_mentor[row["mentor_id"]] = per_mentor.get(row["mentor_id"], 0) + 1
        per_mentee.setdefault(row["mentee_id"], []).append(row["mentor_id"])
    caps = {"M1": 1, "M2": 1, "M3": 3, "M4": 1}  # ⌊1.5 × capacity⌋, at least the capacity
    assert all(per_mentor[m] <= caps[m] for m in per_mentor)
    assert set(per_mentee) == {"E1", "E2", "E3", "E4", "E5"}       # every eligible mentee has a list
    assert all(len(v) <= 2 for v in per_mentee.values())
    assert sum(len(v) for v in per_mentee.values()) == sum(caps.values())  # as many entries as caps allow
    for mentee, mentor in ((r["mentee_id"], r["mentor_id"]) for r in rows):  # eligibility rules hold
        assert MENTORS.split(mentor + ",")[1].split(",")[2] != MENTEES.split(mentee + ",")[1].split(",")[2]
    assert "gender" not in " ".join(r["why"] for r in rows)
    missing = read_csv(folder / "out" / "no-shortlist.csv")
    assert [(m["participant_id"], m["reason"]) for m in missing] == [("E6", "no eligible mentor")]
    emails = sorted((folder / "out" / "outbox").glob("*-shortlist-*.eml"))
    assert len(emails) == 5 and smtp_server.messages == []
    text = emails[0].read_text()
    assert "https://forms.example.org/choose" in text
    assert "ada@example.org" not in text and "ben@example.org" not in text  # mentors' addresses stay private
    assert "Gender" not in text and "gender" not in text
    assert (folder / "out" / "shortlists.xlsx").exists()
    summary = json.loads((folder / "out" / "shortlist-summary.json").read_text())
    assert summary["proven"] is True and "optimal over all" in result.stdout


def test_shortlist_send_delivers_each_email_once(programme, run_cli, smtp_server):
    folder = programme()
    first = run_cli("shortlist", folder, "--send")
    assert first.exit_code == 0, first.output
    assert len(smtp_server.messages) == 5
    to = sorted(m["To"].addresses[0].addr_spec for m in smtp_server.messages)
    assert to == ["eve@example.org", "fay@example.org", "gus@example.org", "hal@example.org", "ida@example.org"]
    bodies = [m.get_body(("plain",)).get_content() for m in smtp_server.messages]
    assert any("rank up to 2 of them, your favourite first" in b for b in bodies)
    again = run_cli("shortlist", folder, "--send")
    assert again.exit_code == 0, again.output
    assert len(smtp_server.messages) == 5
    assert "5 already sent earlier" in again.stdout


def test_shortlist_warns_by_roster_row_about_missing_and_invalid_addresses(programme, run_cli, smtp_server):
    folder = programme()
    mentees = folder / "mentees.csv"
    mentees.write_text(mentees.read_text().replace("eve@example.org", "eve@example").replace("gus@example.org", ""))
    result = run_cli("shortlist", folder)
    assert result.exit_code == 0, result.output
    err = result.stderr
    assert ("Warning: mentees.csv, row 2, column email: E1: 'eve@example' is not an email address; shortlist "
            "written, no email") in err
    assert "Warning: mentees.csv, row 4, column email: E3: no email address; shortlist written, no email" in err
    listed = {r["mentee_id"] for r in read_csv(folder / "out" / "shortlists.csv")}
    assert {"E1", "E3"} <= listed                                       # still shortlisted
    assert sorted(p.name.split("-shortlist-")[0] for p in (folder / "out" / "outbox").glob("*-shortlist-*.eml")
                  ) == ["E2", "E4", "E5"]
    assert "2 shortlist(s) not emailed (no valid address: E1, E3)" in result.stdout
    assert smtp_server.messages == []
    # --json: one document on stdout (the lines above go to stderr), the unsent mentees listed with their row
    as_json = run_cli("shortlist", folder, "--json")
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert "Shortlisted 5 of 6 mentees" in as_json.stderr and "not emailed" in as_json.stderr
    assert data["summary"]["shortlisted"] == 5 and data["summary"]["proven"] is True
    rows = read_csv(folder / "out" / "shortlists.csv")
    assert [(e["mentee_id"], e["rank"], e["mentor_id"]) for e in data["shortlists"]] == [
        (r["mentee_id"], int(r["rank"]), r["mentor_id"]) for r in rows]
    assert [(m["participant_id"], m["reason"]) for m in data["without_shortlist"]] == [("E6", "no eligible mentor")]
    assert data["not_emailed"] == [
        {"mentee_id": "E1", "address": "eve@example", "reason": "not an email address", "file": "mentees.csv",
         "row": 2, "column": "email"},
        {"mentee_id": "E3", "address": None, "reason": "no email address", "file": "mentees.csv", "row": 4,
         "column": "email"}]
    assert data["delivery"]["preview"] is True and len(data["delivery"]["sent"]) == 3
    assert data["files"]["shortlists"].endswith("shortlists.csv")


CHOICES = """Timestamp,Email,First choice,Second choice,Third choice
2027-02-01 09:00,eve@example.org,M1,M3,
2027-02-01 09:05,FAY@example.org,Ada Mentor,M3,
2027-02-01 09:06,gus@example.org,m1,M2,Nobody Known
2027-02-01 09:07,hal@example.org,M1,M3,
2027-02-01 09:10,ida@example.org,M3,M3,
2027-02-01 09:30,eve@example.org,M1,M2,
2027-02-01 09:40,jo@example.org,M1,,
"""


def choice_settings(**extra):
    return {"mode": "mentee-prefers", "max_picks": 3,
            "choices": {"path": "choices.csv", "mentee": "Email",
                        "picks": ["First choice", "Second choice", "Third choice"], "submitted": "Timestamp"},
            **extra}


def test_match_on_picks_is_rank_maximal_and_reports_every_ignored_pick(programme, run_cli):
    folder = programme(**choice_settings())
    (folder / "choices.csv").write_text(CHOICES)
    result = run_cli("match", folder)
    assert result.exit_code == 0, result.output
    err = result.stderr
    assert "choices.csv, row 2: E1 answered more than once; row 7 counts, row 2 is ignored" in err
    assert "row 4, column Third choice: 'Nobody Known' is not on the mentor roster" in err
    assert "row 6, column Second choice: M3 is picked twice" in err
    assert "row 3, column First choice: M1 is not an eligible mentor for E2 (matching rules)" in err  # Finance
    assert "row 7, column Second choice: M2 is not an eligible mentor for E1" in err                  # Sales
    assert "row 8, column First choice: M1 is not an eligible mentor for E6" in err                   # grade
    assert err.count("Warning:") == 6
    pairs = {(r["mentee_id"], r["mentor_id"]): r["choice_rank"] for r in read_csv(folder / "out" / "matches.csv")}
    # M1 (capacity 1) is the first choice of E1, E3 and E4; M3 (capacity 2) of E5 and the second of E2, E4;
    # M2 the second of E3. At most 2 first choices, then 2 second ones; of those, the best score is:
    assert pairs == {("E1", "M1"): "1", ("E5", "M3"): "1", ("E3", "M2"): "2", ("E2", "M3"): "2"}
    assert "2 their first choice, 2 their second choice, 0 their third choice" in result.stdout
    rows = read_csv(folder / "out" / "unmatched.csv")
    unmatched = {r["participant_id"]: r["reason"] for r in rows}
    assert unmatched["E6"] == "every pick was ignored (see the warnings)"      # E6's one pick is not eligible
    assert unmatched["E4"].startswith("none of their picks: M1, M3 all filled")
    contact = {r["participant_id"]: (r["name"], r["email"]) for r in rows}   # so the coordinator can reach them
    assert contact["E6"] == ("Jo Six", "jo@example.org") and contact["E4"] == ("Hal Four", "hal@example.org")
    (folder / "choices.csv").write_text("\n".join(line for line in CHOICES.splitlines() if "jo@" not in line)
                                        + "\n")
    assert run_cli("match", folder, "--force").exit_code == 0
    unmatched = {r["participant_id"]: r["reason"] for r in read_csv(folder / "out" / "unmatched.csv")}
    assert unmatched["E6"] == "submitted no choices"
    summary = json.loads((folder / "out" / "match-summary.json").read_text())
    assert summary["choices"]["by_rank"] == {"1": 2, "2": 2, "3": 0}
    report = run_cli("report", folder)
    assert report.exit_code == 0, report.output
    funnel = json.loads((folder / "out" / "report.json").read_text())["self_matching"]
    assert funnel["mode"] == "mentee-prefers" and funnel["accepted"] == 4 and funnel["chose"] == 5
    assert funnel["first_choice_share"] == 0.5 and funnel["requests_sent"] is None


def test_pick_not_on_shortlist_is_an_error_when_asked(programme, run_cli):
    folder = programme(**choice_settings(unknown_pick="error"))
    assert run_cli("shortlist", folder).exit_code == 0
    listed = {(r["mentee_id"], r["mentor_id"]) for r in read_csv(folder / "out" / "shortlists.csv")}
    e1 = sorted(m for e, m in listed if e == "E1")
    off = next(m for m in ("M1", "M3", "M4") if m not in e1)
    (folder / "choices.csv").write_text(f"Timestamp,Email,First choice,Second choice,Third choice\n"
                                        f"2027-02-01 09:00,eve@example.org,{off},,\n")
    result = run_cli("match", folder)
    assert result.exit_code == 2
    assert f"choices.csv, row 2, column First choice: {off} is not on E1's shortlist" in result.stderr
    assert "Traceback" not in result.output


def test_two_sided_preferences_blocking_pairs_and_stable(programme, run_cli):
    folder = programme(**choice_settings(mentor_rankings={"path": "rankings.csv", "mentor": "mentor",
                                                          "picks": "ranking"}))
    (folder / "choices.csv").write_text("Timestamp,Email,First choice,Second choice,Third choice\n"
                                        ",fay@example.org,M2,M4,\n,gus@example.org,M2,M4,\n")
    # both want M2 first; M2 prefers E3, M4 prefers E2. Rank-maximal (1 first, 1 second) with the best
    # score is E2–M2 (2) + E3–M4 (2), so E3 and M2 both prefer each other: a blocking pair
    (folder / "rankings.csv").write_text("mentor,ranking\nM2,E3;E2\nM4,E2;E3\n")
    result = run_cli("match", folder)
    assert result.exit_code == 0, result.output
    pairs = {(r["mentee_id"], r["mentor_id"]) for r in read_csv(folder / "out" / "matches.csv")}
    assert pairs == {("E2", "M2"), ("E3", "M4")}
    assert "1 blocking pair(s)" in result.stderr and "E3–M2" in result.stderr
    summary = json.loads((folder / "out" / "match-summary.json").read_text())
    assert summary["blocking_pairs"] == [{"mentee_id": "E3", "mentor_id": "M2"}]
    stable = run_cli("match", folder, "--stable")
    assert stable.exit_code == 0, stable.output
    pairs = {(r["mentee_id"], r["mentor_id"]) for r in read_csv(folder / "out" / "matches.csv")}
    assert pairs == {("E3", "M2"), ("E2", "M4")}
    assert "Stable: no mentee and mentor both prefer each other" in stable.stdout
    summary = json.loads((folder / "out" / "match-summary.json").read_text())
    assert summary["blocking_pairs"] == [] and summary["objective"] == "stable"


# ------------------------------------------------------------------------------------- request mode, end to end

REQUEST_CHOICES = """Timestamp,Email,First choice,Second choice
2027-02-01 12:00,eve@example.org,M1,M3
2027-02-01 12:05,fay@example.org,M4,
2027-02-01 12:10,gus@example.org,M1,M2
2027-02-01 12:15,hal@example.org,M1,
2027-02-01 12:20,ida@example.org,M3,
"""
ANSWERS_DAY_5 = """Submitted,Mentor,Mentee,Answer
2027-02-03 10:00,M1,E1,Accept
2027-02-03 11:00,M3,eve@example.org,accept
2027-02-03 12:00,ada@example.org,E3,Yes
2027-02-04 09:00,M3,E5,accept
2027-02-04 10:00,M2,Gus Three,Decline
"""
ANSWERS_DAY_10 = ANSWERS_DAY_5 + "2027-02-10 08:00,M4,E2,accept\n"


def request_programme(programme):
    folder = programme(mode="request", size=3, exposure=10, max_picks=2,
                       answer_form_url="https://forms.example.org/answer",
                       choices={"path": "choices.csv", "mentee": "Email", "picks": ["First choice", "Second choice"],
                                "submitted": "Timestamp"},
                       answers={"path": "answers.csv", "mentor": "Mentor", "mentee": "Mentee", "answer": "Answer",
                                "submitted": "Submitted"},
                       requests={"send": "all", "max_pending_per_mentee": 3, "max_pending_per_mentor": 5,
                                 "remind_after_days": 3, "expire_after_days": 7})
    mentors = folder / "mentors.csv"   # M4 has room for two: one place stays free while E2's request is open
    mentors.write_text(mentors.read_text().replace("law;writing,1,f", "law;writing,2,f"))
    return folder


def sent(smtp_server, since: int = 0) -> list[tuple[str, str]]:
    return [(m["To"].addresses[0].addr_spec, str(m["Subject"])) for m in smtp_server.messages[since:]]


def test_request_round_end_to_end(programme, run_cli, smtp_server):
    folder = request_programme(programme)
    # day 0: every eligible mentor is on every shortlist (size 3, exposure 10)
    assert run_cli("shortlist", folder, "--send", "--now", "2027-02-01T09:00").exit_code == 0
    assert len(smtp_server.messages) == 5
    (folder / "choices.csv").write_text(REQUEST_CHOICES)

    # day 1: every pick becomes a request to its mentor, all at once
    day1 = run_cli("requests", folder, "--send", "--now", "2027-02-02T09:00")
    assert day1.exit_code == 0, day1.output
    requests = sent(smtp_server, 5)
    assert len(requests) == 7 and all("would like you as their mentor" in s for _, s in requests)
    assert sorted(to for to, _ in requests) == sorted(
        ["ada@example.org"] * 3 + ["cy@example.org"] * 2 + ["di@example.org", "ben@example.org"])
    body = next(m for m in smtp_server.messages[5:] if m["To"].addresses[0].addr_spec == "di@example.org")
    text = body.get_body(("plain",)).get_content()
    assert "https://forms.example.org/answer" in text and "fay@example.org" not in text  # no address yet

    # day 5: answers — M1 accepts E1, then M3 accepts E1 too (second acceptance), M1 accepts E3 while full,
    # M3 accepts E5, M2 declines E3; reminders for the two still unanswered
    (folder / "answers.csv").write_text(ANSWERS_DAY_5)
    before = len(smtp_server.messages)
    day5 = run_cli("requests", folder, "--send", "--now", "2027-02-06T09:00")
    assert day5.exit_code == 0, day5.output
    err = day5.stderr
    assert "answers.csv, row 3: M3 accepted E1's request after E1 was already matched with M1; answer ignored" in err
    assert "answers.csv, row 4: M1 accepted E3 but is already at capacity (1)" in err
    got = sent(smtp_server, before)
    subjects = sorted(s.split(": ", 1)[1] for _, s in got)
    assert subjects == sorted([
        "Ada Mentor is your mentor", "you are mentoring Eve One",        # E1–M1, to both
        "Cy Mentor is your mentor", "you are mentoring Ida Five",        # E5–M3, to both
        "Eve One's request is withdrawn",                                # to M3 (E1 matched with M1)
        "you are already at capacity",                                   # to M1 (accepted E3 while full)
        "reminder — Hal Four is waiting for your answer",               # to M1
        "reminder — Fay Two is waiting for your answer",                # to M4
        "1 mentor suggested for you",                                    # E3: fresh list without M1, M2
    ])
    fresh = [m for m in smtp_server.messages[before:] if "suggested" in str(m["Subject"])][0]
    assert fresh["To"].addresses[0].addr_spec == "gus@example.org"
    assert "Di Mentor" in fresh.get_body(("plain",)).get_content()
    shortlists = read_csv(folder / "out" / "shortlists.csv")
    assert [r["mentor_id"] for r in shortlists if r["mentee_id"] == "E3"] == ["M4"]

    # day 10: M4 answers E2 after the request expired (02-09); E4's request to M1 expired unanswered;
    # E3 picks M4 from the fresh list
    (folder / "answers.csv").write_text(ANSWERS_DAY_10)
    (folder / "choices.csv").write_text(REQUEST_CHOICES + "2027-02-07 10:00,gus@example.org,M4,\n")
    before = len(smtp_server.messages)
    day10 = run_cli("requests", folder, "--send", "--now", "2027-02-11T09:00")
    assert day10.exit_code == 0, day10.output
    assert "answers.csv, row 7: M4 accepted E2's request after the request had expired on 2027-02-09" in day10.stderr
    got = sent(smtp_server, before)
    assert sorted(got) == sorted([
        ("di@example.org", "selfmatch: Gus Three would like you as their mentor"),
        ("fay@example.org", "selfmatch: 2 mentors suggested for you"),   # fresh list without M4
        ("hal@example.org", "selfmatch: 2 mentors suggested for you"),   # fresh list without M1
    ])

    # the same run again sends nothing: every message went exactly once
    again = run_cli("requests", folder, "--send", "--now", "2027-02-11T09:00")
    assert again.exit_code == 0, again.output
    assert len(smtp_server.messages) == before + 3
    everything = sent(smtp_server)
    assert len(everything) == len(set(everything)) == 5 + 7 + 9 + 3

    # nobody over capacity; the accepted pairs are the matches
    pairs = {(r["mentee_id"], r["mentor_id"]) for r in read_csv(folder / "out" / "matches.csv")}
    assert pairs == {("E1", "M1"), ("E5", "M3")}
    status = {(r["mentee_id"], r["mentor_id"]): r["status"] for r in read_csv(folder / "out" / "requests.csv")}
    assert status == {("E1", "M1"): "accepted", ("E1", "M3"): "withdrawn", ("E2", "M4"): "expired",
                      ("E3", "M1"): "full", ("E3", "M2"): "declined", ("E4", "M1"): "expired",
                      ("E5", "M3"): "accepted", ("E3", "M4"): "pending"}

    # the report's self-matching funnel
    report = run_cli("report", folder)
    assert report.exit_code == 0, report.output
    funnel = json.loads((folder / "out" / "report.json").read_text())["self_matching"]
    assert funnel["mode"] == "request"
    assert (funnel["shortlisted"], funnel["requested"], funnel["requests_sent"], funnel["accepted"]) == (5, 5, 8, 2)
    assert (funnel["declined"], funnel["expired"], funnel["withdrawn"], funnel["mentor_full"]) == (1, 2, 1, 1)
    assert (funnel["days_to_match_median"], funnel["days_to_match_max"]) == (2.5, 3.0)  # E1 2 days, E5 3 days
    assert funnel["first_choice_share"] == 1.0 and funnel["by_choice"] == {"1": 2}
    # requests per mentor: M1 3, M3 2, M4 2, M2 1
    assert (funnel["requests_per_mentor_max"], funnel["requests_per_mentor_median"]) == (3, 2.0)
    assert funnel["mentors_requested"] == 4 and funnel["top_decile_share"] == 0.375
    markdown = (folder / "out" / "report.md").read_text()
    assert "## Self-matching" in markdown and "| Requests expired | 2 |" in markdown
    html = (folder / "out" / "report.html").read_text()
    assert "<h2>Self-matching</h2>" in html and "Days to match (median / longest)" in html
    from openpyxl import load_workbook

    book = load_workbook(folder / "out" / "report.xlsx")
    sheet = book["Self-matching"]
    steps = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert {k: steps[k].value for k in ("Mentees shortlisted", "Mentees who sent requests", "Requests sent",
                                        "Mentees matched", "Requests declined", "Requests expired",
                                        "Requests withdrawn (matched elsewhere)",
                                        "Acceptances refused (mentor full)")} == {
        "Mentees shortlisted": 5, "Mentees who sent requests": 5, "Requests sent": 8, "Mentees matched": 2,
        "Requests declined": 1, "Requests expired": 2, "Requests withdrawn (matched elsewhere)": 1,
        "Acceptances refused (mentor full)": 1}
    assert (steps["Days to match (median)"].value, steps["Days to match (longest)"].value) == (2.5, 3.0)
    assert steps["Matched with their first choice"].value == 1.0
    assert steps["Matched with their first choice"].number_format == "0.0%"
    assert (steps["Requests per mentor (most)"].value, steps["Mentors who received requests"].value) == (3, 4)
    assert steps["Share of requests to the busiest 10% of them"].value == 0.375
    titles = [c.title.tx.rich.p[0].r[0].t for c in book["Charts"]._charts]
    assert "Self-matching funnel" in titles


def test_requests_preview_saves_nothing(programme, run_cli, smtp_server):
    folder = request_programme(programme)
    (folder / "choices.csv").write_text(REQUEST_CHOICES)
    result = run_cli("requests", folder, "--now", "2027-02-02T09:00")
    assert result.exit_code == 0, result.output
    assert "Would: request from E1 sent to M1 (choice 1)" in result.stdout
    assert not (folder / ".mentorctl" / "requests.json").exists()
    as_json = run_cli("requests", folder, "--now", "2027-02-02T09:00", "--json")
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["preview"] is True and data["files"] == [] and "Would: request from E1" in as_json.stderr
    assert "request from E1 sent to M1 (choice 1)" in data["events"]
    assert data["counts"]["pending"] == 7 and len(data["requests"]) == 7 and data["matched"] == {}
    assert {(r["id"], r["status"]) for r in data["requests"]} >= {("E1:M1", "pending"), ("E2:M4", "pending")}
    assert len(data["delivery"]["sent"]) == 7
    assert len(list((folder / "out" / "outbox").glob("request-*.eml"))) == 7
    assert smtp_server.messages == []


def test_requests_needs_request_mode(programme, run_cli):
    folder = programme()
    result = run_cli("requests", folder)
    assert result.exit_code == 2
    assert "is for self_matching.mode: request" in result.stderr and "Traceback" not in result.output


def test_cron_line_runs_requests_after_remind(programme, run_cli):
    folder = request_programme(programme)
    result = run_cli("schedule", folder, "--print")
    assert result.exit_code == 0, result.output
    line = result.stdout.strip().splitlines()[0]
    remind, _, rest = line.partition("; ")
    assert " remind " in remind and remind.endswith("remind.log 2>&1")
    assert f" requests {folder.resolve()} --send >> " in rest and rest.split(" 2>&1 ")[0].endswith("remind.log")
    import yaml

    data = yaml.safe_load((folder / "programme.yaml").read_text())
    data["self_matching"]["mode"] = "mentee-prefers"
    (folder / "programme.yaml").write_text(yaml.safe_dump(data))
    plain = run_cli("schedule", folder, "--print")
    assert plain.exit_code == 0 and " requests " not in plain.stdout


def test_match_on_picks_in_a_running_programme_keeps_pairs_and_never_repeats_ended_ones(programme, run_cli):
    folder = programme(**choice_settings())
    (folder / "choices.csv").write_text(CHOICES)
    assert run_cli("match", folder, "--on", "2027-02-20").exit_code == 0
    # as above: E1 – M1, E5 – M3, E3 – M2, E2 – M3; then E1 – M1 is not a fit and E1 is to be rematched
    assert run_cli("end", folder, "E1", "M1", "--reason", "not-a-fit", "--on", "2027-03-10", "--rematch"
                   ).exit_code == 0
    result = run_cli("match", folder, "--on", "2027-03-12")
    assert result.exit_code == 0, result.output
    rows = read_csv(folder / "out" / "matches.csv")
    pairs = {(r["mentee_id"], r["mentor_id"]): (r["choice_rank"], r["matched_on"]) for r in rows}
    # the current pairs are kept where they are; M1's free place goes to E4 (M1 was their first choice); E1's
    # first choice is the ended pair: never repeated, so E1 waits (their other pick, M2, is not eligible)
    assert pairs == {("E5", "M3"): ("1", "2027-03-01"), ("E3", "M2"): ("2", "2027-03-01"),
                     ("E2", "M3"): ("2", "2027-03-01"), ("E4", "M1"): ("1", "2027-03-12")}
    assert "row 7, column First choice: E1 and M1 were matched before and the relationship ended" in result.stderr
    waiting = [(r["participant_id"], r["waitlist_position"]) for r in read_csv(folder / "out" / "unmatched.csv")
               if r["waitlist_position"]]
    assert waiting == [("E6", "1"), ("E1", "2")]      # E6, left over by the first match, has waited longer
    log = (folder / "relationships.csv").read_text().splitlines()
    assert "2027-03-12,start,E4,M1,,," in log and not any(",start,E1,M1,,," in line for line in log[4:])


def test_validate_checks_the_self_matching_exports_by_row_and_column(programme, run_cli):
    folder = programme(**choice_settings(mode="request", max_picks=2,
                                         answers={"path": "answers.csv", "mentor": "Mentor", "mentee": "Mentee",
                                                  "answer": "Answer"}))
    assert run_cli("shortlist", folder).exit_code == 0
    listed = {(r["mentee_id"], r["mentor_id"]) for r in read_csv(folder / "out" / "shortlists.csv")}
    off = next(m for m in ("M1", "M2", "M4") if ("E3", m) not in listed)   # eligible for E3 (Ops)
    (folder / "choices.csv").write_text(
        "Timestamp,Email,First choice,Second choice,Third choice\n"
        "2027-02-01 09:00,eve@example.org,M1,Nobody Known,\n"        # row 2: an unknown mentor
        "2027-02-01 09:05,fay@example.org,M1,M3,M4\n"                # row 3: M1 ineligible (Finance); 3 picks
        f"2027-02-01 09:06,gus@example.org,{off},,\n"                # row 4: not on E3's shortlist
        "2027-02-01 09:07,zed@example.org,M1,,\n")                   # row 5: nobody
    (folder / "answers.csv").write_text("Mentor,Mentee,Answer\nM1,E1,accept\nM4,E1,yes\nM2,E2,perhaps\n")
    result = run_cli("validate", folder)
    out = result.output
    assert "choices.csv, row 2, column Second choice: 'Nobody Known' is not on the mentor roster" in out
    assert "choices.csv, row 3, column First choice: M1 is not an eligible mentor for E2" in out
    assert "choices.csv, row 3, column Third choice: more than 2 picks (self_matching.max_picks)" in out
    assert f"choices.csv, row 4, column First choice: {off} is not on E3's shortlist" in out
    assert "choices.csv, row 5, column Email: 'zed@example.org' is not on the mentee roster" in out
    assert "answers.csv, row 3: M4 answered about E1, who did not pick them" in out
    assert "answers.csv, row 4, column Answer: 'perhaps' is neither accept nor decline" in out
    assert result.exit_code == 2 and "Traceback" not in out
    # without the bad answer only warnings remain (exit 0); with unknown_pick: error the picks are errors
    (folder / "answers.csv").write_text("Mentor,Mentee,Answer\nM1,E1,accept\n")
    assert run_cli("validate", folder).exit_code == 0
    text = (folder / "programme.yaml").read_text().replace("unknown_pick: warning", "unknown_pick: error")
    (folder / "programme.yaml").write_text(text if "unknown_pick: error" in text else
                                           text.replace("mode: request", "mode: request\n  unknown_pick: error"))
    strict = run_cli("validate", folder)
    assert strict.exit_code == 2
    assert f"{off} is not on E3's shortlist; correct the export, or set self_matching.unknown_pick" in strict.output


def _one_pick_request_programme(programme, run_cli):
    """Request mode, shortlists of 3, one pick each, choices and answers exports; shortlists sent on 1 February."""
    folder = programme(mode="request", size=3, exposure=10, max_picks=1,
                       choices={"path": "choices.csv", "mentee": "Email", "picks": ["First choice"]},
                       answers={"path": "answers.csv", "mentor": "Mentor", "mentee": "Mentee", "answer": "Answer"})
    assert run_cli("shortlist", folder, "--send", "--now", "2027-02-01T09:00").exit_code == 0
    return folder


def test_fresh_shortlists_leave_out_mentors_whose_places_are_promised_to_open_requests(programme, run_cli,
                                                                                      smtp_server):
    folder = _one_pick_request_programme(programme, run_cli)
    # E2 asks M4 (room for one); E3 asks M2, who declines: E3's fresh list may hold M1 (free), not M4, whose
    # one place is promised to E2's open request, nor M2
    (folder / "choices.csv").write_text("Email,First choice\nfay@example.org,M4\ngus@example.org,M2\n")
    assert run_cli("requests", folder, "--send", "--now", "2027-02-02T09:00").exit_code == 0
    (folder / "answers.csv").write_text("Mentor,Mentee,Answer\nM2,E3,decline\n")
    result = run_cli("requests", folder, "--send", "--now", "2027-02-03T09:00")
    assert result.exit_code == 0, result.output
    shortlists = read_csv(folder / "out" / "shortlists.csv")
    assert [r["mentor_id"] for r in shortlists if r["mentee_id"] == "E3"] == ["M1"]
    assert "Fresh shortlists for 1 mentee(s) whose requests all closed: E3" in result.stdout


def test_a_fresh_shortlist_that_cannot_be_emailed_is_reported(programme, run_cli, smtp_server):
    """`requests` writes a fresh shortlist for a mentee whose requests all closed; when that mentee's address
    is not an email address the shortlist is still written, and a warning says that this shortlist was not
    emailed, naming the roster cell, as `shortlist` does (before, only the roster's general warning about the
    address said so, and --json did not list it)."""
    import json

    folder = _one_pick_request_programme(programme, run_cli)
    (folder / "choices.csv").write_text("Email,First choice\ngus@example.org,M2\n")
    assert run_cli("requests", folder, "--send", "--now", "2027-02-02T09:00").exit_code == 0
    roster = (folder / "mentees.csv").read_text()
    assert "gus@example.org" in roster
    (folder / "mentees.csv").write_text(roster.replace("gus@example.org", "gus at example"))
    (folder / "answers.csv").write_text("Mentor,Mentee,Answer\nM2,E3,decline\n")
    result = run_cli("requests", folder, "--now", "2027-02-03T09:00", "--json")
    assert result.exit_code == 0, result.output
    assert "Fresh shortlists for 1 mentee(s) whose requests all closed: E3" in result.stderr
    line = next(x for x in result.stderr.splitlines() if "E3: 'gus at example' is not an email address" in x)
    assert "mentees.csv, row 4, column email" in line and "shortlist written, no email" in line
    data = json.loads(result.stdout)
    assert [(u["mentee_id"], u["reason"], u["row"]) for u in data["not_emailed"]] == [
        ("E3", "not an email address", 4)]
    assert not list((folder / "out" / "outbox").glob("E3-shortlist-*.eml"))   # the earlier runs sent, no outbox



def test_shortlist_in_a_running_programme_lists_only_who_match_would_match(programme, run_cli):
    folder = programme()
    assert run_cli("match", folder, "--on", "2027-02-20").exit_code == 0
    # E1 – M1, E2 – M3, E3 – M4, E4 – M2, E5 – M3: every mentor full; E6 has no eligible mentor
    assert run_cli("end", folder, "E1", "M1", "--reason", "not-a-fit", "--on", "2027-03-10", "--rematch"
                   ).exit_code == 0
    assert run_cli("end", folder, "E3", "M4", "--reason", "moved-or-left", "--on", "2027-03-10").exit_code == 0
    with open(folder / "mentees.csv", "a", encoding="utf-8") as f:   # a newcomer
        f.write("E7,Kit Seven,kit@example.org,HR,2,python,x\n")
    result = run_cli("shortlist", folder, "--exposure", "2", "--now", "2027-03-12")
    assert result.exit_code == 0, result.output
    lists: dict[str, list[str]] = {}
    for row in read_csv(folder / "out" / "shortlists.csv"):
        lists.setdefault(row["mentee_id"], []).append(row["mentor_id"])
    # only the rematched E1 and the newcomer E7 need a mentor; M1 and M4 have room, M2 and M3 are full (on none);
    # E1 is never offered M1 again (their pair ended), and M2 is not eligible for E1 (same department)
    assert {k: sorted(v) for k, v in lists.items()} == {"E1": ["M4"], "E7": ["M1", "M4"]}
    reasons = {r["participant_id"]: r["reason"] for r in read_csv(folder / "out" / "no-shortlist.csv")}
    assert set(reasons) == {"E2", "E3", "E4", "E5", "E6"}
    for mentee, mentor in (("E2", "M3"), ("E4", "M2"), ("E5", "M3")):
        assert reasons[mentee] == (f"has a current mentor ({mentor}, active or paused): shortlists are for mentees "
                                   "who need one")
    assert reasons["E3"].startswith("relationship with M4 ended (moved-or-left) on 2027-03-10; to match again")
    assert reasons["E6"] == "no eligible mentor"
    assert "Shortlisted 2 of 3 mentees" in result.stdout      # E1, E6, E7: whom `match` would match
    assert sorted(p.name.split("-shortlist-")[0] for p in (folder / "out" / "outbox").glob("*-shortlist-*.eml")
                  ) == ["E1", "E7"]
    matched = run_cli("match", folder, "--on", "2027-03-12")   # match agrees: it matches these mentees only
    assert matched.exit_code == 0, matched.output
    new = {(r["mentee_id"], r["mentor_id"]) for r in read_csv(folder / "out" / "matches.csv")} - {
        ("E2", "M3"), ("E4", "M2"), ("E5", "M3")}
    assert new == {("E1", "M4"), ("E7", "M1")}


# ------------------------------------------------------------------------ request mode in a running programme

RUNNING_LOG = """date,action,mentee_id,mentor_id,reason,until,note
2027-01-10,start,E2,M3,,,
2027-01-10,start,E3,M1,,,
2027-01-10,start,E1,M4,,,
2027-02-01,end,E1,M4,not-a-fit,,
2027-02-01,rematch,E1,,,,
"""
RUNNING_CHOICES = """Timestamp,Email,First choice,Second choice,Third choice
2027-02-02 10:00,eve@example.org,M4,M1,M3
2027-02-02 10:05,fay@example.org,M2,,
2027-02-02 10:10,hal@example.org,M3,M2,
2027-02-02 10:15,ida@example.org,M3,M4,
"""
RUNNING_ANSWERS = """Submitted,Mentor,Mentee,Answer
2027-02-04 10:00,M3,E4,accept
2027-02-04 11:00,M3,E5,accept
2027-02-04 12:00,M3,E1,accept
2027-02-04 13:00,M4,E5,accept
"""
CAPACITY = {"M1": 1, "M2": 1, "M3": 2, "M4": 1}


def test_requests_in_a_running_programme_count_current_pairs_and_never_repeat_ended_ones(programme, run_cli,
                                                                                         smtp_server):
    folder = programme(mode="request", size=3, exposure=10, max_picks=3,
                       choices={"path": "choices.csv", "mentee": "Email",
                                "picks": ["First choice", "Second choice", "Third choice"], "submitted": "Timestamp"},
                       answers={"path": "answers.csv", "mentor": "Mentor", "mentee": "Mentee", "answer": "Answer",
                                "submitted": "Submitted"},
                       requests={"send": "all", "max_pending_per_mentee": 3, "max_pending_per_mentor": 5,
                                 "remind_after_days": 5, "expire_after_days": 10})
    # current pairs E2 – M3 (M3 has one place left) and E3 – M1 (M1 full); E1 – M4 ended, E1 to be rematched;
    # E4 and E5 are newcomers
    (folder / "relationships.csv").write_text(RUNNING_LOG)
    (folder / "choices.csv").write_text(RUNNING_CHOICES)

    day1 = run_cli("requests", folder, "--send", "--now", "2027-02-03T09:00")
    assert day1.exit_code == 0, day1.output
    err = day1.stderr
    assert ("choices.csv, row 2, column First choice: E1 and M4 were matched before and the relationship ended; "
            "ended pairs never repeat; pick ignored") in err
    assert "choices.csv, row 3, column First choice: E2 has a current mentor (M3, active or paused); pick ignored" in err
    status = {(r["mentee_id"], r["mentor_id"]): r["status"] for r in read_csv(folder / "out" / "requests.csv")}
    # the ended pair is never requested; M1's one place is held by E3 – M1, so E1's request to M1 closes unsent
    assert status == {("E1", "M1"): "full", ("E1", "M3"): "pending", ("E4", "M3"): "pending",
                      ("E4", "M2"): "pending", ("E5", "M3"): "pending", ("E5", "M4"): "pending"}
    asked = sorted((m["To"].addresses[0].addr_spec, str(m["Subject"]).split(": ", 1)[1].split(" would")[0])
                   for m in smtp_server.messages)
    assert asked == [("ben@example.org", "Hal Four"), ("cy@example.org", "Eve One"), ("cy@example.org", "Hal Four"),
                     ("cy@example.org", "Ida Five"), ("di@example.org", "Ida Five")]

    # M3 accepts three mentees but has one place left beside E2; M4 (free again since E1 – M4 ended) accepts E5
    (folder / "answers.csv").write_text(RUNNING_ANSWERS)
    day2 = run_cli("requests", folder, "--send", "--now", "2027-02-05T09:00", "--json")
    assert day2.exit_code == 0, day2.output
    assert "answers.csv, row 3: M3 accepted E5 but is already at capacity (2)" in day2.stderr
    assert "answers.csv, row 4: M3 accepted E1 but is already at capacity (2)" in day2.stderr
    data = json.loads(day2.stdout)
    assert data["preview"] is False and data["matched"] == {"E4": ["M3"], "E5": ["M4"]}
    assert {"level": "warning", "message": "M3 accepted E5 but is already at capacity (2); not matched, the mentor "
            "is told", "file": "answers.csv", "row": 3, "column": None, "line": None} in data["warnings"]
    assert any(f.endswith("relationships.csv") for f in data["files"])
    assert len(data["delivery"]["sent"]) == len(smtp_server.messages) - 5
    status = {(r["mentee_id"], r["mentor_id"]): r["status"] for r in read_csv(folder / "out" / "requests.csv")}
    assert status == {("E1", "M1"): "full", ("E1", "M3"): "full", ("E4", "M3"): "accepted",
                      ("E4", "M2"): "withdrawn", ("E5", "M3"): "full", ("E5", "M4"): "accepted"}
    # matches.csv holds the current pairs and the accepted ones; nobody is over capacity counting both
    rows = read_csv(folder / "out" / "matches.csv")
    pairs = {(r["mentee_id"], r["mentor_id"]): r["matched_on"] for r in rows}
    assert pairs == {("E2", "M3"): "2027-01-10", ("E3", "M1"): "2027-01-10", ("E4", "M3"): "2027-03-01",
                     ("E5", "M4"): "2027-03-01"}
    load: dict[str, int] = {}
    for _, mentor in pairs:
        load[mentor] = load.get(mentor, 0) + 1
    assert all(load[m] <= CAPACITY[m] for m in load) and load["M3"] == 2
    log = (folder / "relationships.csv").read_text().splitlines()
    assert log[:6] == RUNNING_LOG.splitlines()       # the log only grows: the accepted pairs start
    assert sorted(line for line in log[6:]) == ["2027-03-01,start,E4,M3,,,", "2027-03-01,start,E5,M4,,,"]

    # E5 – M4 ends and E5 is to be rematched: E5's old pick of M4 is never requested again, M4 has room again
    assert run_cli("end", folder, "E5", "M4", "--reason", "moved-or-left", "--on", "2027-03-20", "--rematch"
                   ).exit_code == 0
    before = len(smtp_server.messages)
    later = run_cli("requests", folder, "--send", "--now", "2027-03-21T09:00")
    assert later.exit_code == 0, later.output
    assert not any(m["To"].addresses[0].addr_spec == "di@example.org" for m in smtp_server.messages[before:])
    assert "Matched: 1 mentee(s)." in later.stdout          # E4 – M3 only: E5 – M4 ended
    pairs = {(r["mentee_id"], r["mentor_id"]) for r in read_csv(folder / "out" / "matches.csv")}
    assert pairs == {("E2", "M3"), ("E3", "M1"), ("E4", "M3")}


def test_an_answer_counts_only_for_the_request_it_answers(programme, run_cli, smtp_server):
    folder = programme(mode="request", size=3, exposure=10, max_picks=3,
                       choices={"path": "choices.csv", "mentee": "Email",
                                "picks": ["First choice", "Second choice", "Third choice"], "submitted": "Timestamp"},
                       answers={"path": "answers.csv", "mentor": "Mentor", "mentee": "Mentee", "answer": "Answer",
                                "submitted": "Submitted", "request": "Request"},
                       requests={"send": "all", "max_pending_per_mentee": 3, "max_pending_per_mentor": 5,
                                 "remind_after_days": 5, "expire_after_days": 10})
    (folder / "relationships.csv").write_text(RUNNING_LOG)
    (folder / "choices.csv").write_text(RUNNING_CHOICES)
    assert run_cli("requests", folder, "--send", "--now", "2027-02-03T09:00").exit_code == 0
    # E4 asked M3 and M2; M3 accepts, so E4's request to M2 is withdrawn
    (folder / "answers.csv").write_text("Submitted,Mentor,Mentee,Answer,Request\n2027-02-04 10:00,M3,E4,accept,\n")
    assert run_cli("requests", folder, "--send", "--now", "2027-02-05T09:00").exit_code == 0
    # E4 – M3 ends, E4 is to be rematched and picks M2 again: a new request, round 2, with its own reference
    assert run_cli("end", folder, "E4", "M3", "--reason", "moved-or-left", "--on", "2027-03-25", "--rematch"
                   ).exit_code == 0
    with open(folder / "choices.csv", "a", encoding="utf-8") as f:
        f.write("2027-03-26 10:00,hal@example.org,M2,,\n")
    before = len(smtp_server.messages)
    again = run_cli("requests", folder, "--send", "--now", "2027-03-27T09:00")
    assert again.exit_code == 0, again.output
    assert "request from E4 sent to M2 (choice 1)" in again.stdout
    (mail,) = [m for m in smtp_server.messages[before:] if m["To"].addresses[0].addr_spec == "ben@example.org"]
    assert "Request reference: E4:M2#2 (give it with your answer" in mail.get_body(("plain",)).get_content()
    # answers to the first request (by its reference, or sent before the new one existed) never count for the
    # second: reported by row and ignored; the answer naming E4:M2#2 does
    with open(folder / "answers.csv", "a", encoding="utf-8") as f:
        f.write("2027-03-26 18:00,M2,E4,decline,\n2027-03-27 12:00,M2,Hal Four,accept,e4:m2\n"
                "2027-03-27 12:30,M2,E4,Not a fit.,E5:M3\n2027-03-27 13:00,M2,E4,accept,E4:M2#2\n")
    answered = run_cli("requests", folder, "--send", "--now", "2027-03-28T09:00", "--json")
    assert answered.exit_code == 0, answered.output
    err = answered.stderr
    assert ("answers.csv, row 3: M2 declined E4's request after E4 was already matched (it answers request E4:M2; "
            "the newer request is E4:M2#2); answer ignored") in err
    assert ("answers.csv, row 4: M2 accepted E4's request after E4 was already matched (it answers request E4:M2; "
            "the newer request is E4:M2#2); answer ignored") in err
    assert ("answers.csv, row 5: request E5:M3 is E5's request to M3, but the row names E4 and M2; answer ignored"
            in err)
    assert "is neither accept nor decline" not in err          # "Not a fit." is a decline
    data = json.loads(answered.stdout)
    status = {r["id"]: r["status"] for r in data["requests"] if r["mentee"] == "E4"}
    assert status == {"E4:M3": "accepted", "E4:M2": "withdrawn", "E4:M2#2": "accepted"}
    assert data["matched"]["E4"] == ["M2"]
    rows = read_csv(folder / "out" / "requests.csv")
    assert [r["request_id"] for r in rows if r["mentee_id"] == "E4"] == ["E4:M3", "E4:M2", "E4:M2#2"]
    assert ("E4", "M2") in {(r["mentee_id"], r["mentor_id"]) for r in read_csv(folder / "out" / "matches.csv")}
