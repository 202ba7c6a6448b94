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
    unmatched = {r["participant_id"]: r["reason"] for r in read_csv(folder / "out" / "unmatched.csv")}
    assert "no valid pick" in unmatched["E6"]
    assert unmatched["E4"].startswith("none of their picks: M1, M3 all filled")
    summary = json.loads((folder / "out" / "match-summary.json").read_text())
    assert summary["choices"]["by_rank"] == {"1": 2, "2": 2, "3": 0}


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
