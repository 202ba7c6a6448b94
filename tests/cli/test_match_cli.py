"""`mentorctl match` and `mentorctl explain` end to end: the example programme, small peer and group
programmes, pins / forbidden / history / --keep, bad input and the edited-file guard."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mentorctl.programme import load_programme
from mentorctl.roster import load_participants
from mentorctl.rules import RuleContext, parse_rule

HEADER = """programme: {{name: Test}}
design: {{type: {type}, start_date: 2027-01-11}}
rosters: {rosters}
matching:
{matching}
"""


def write_programme(folder: Path, matching: str, *, type_: str = "one-to-one",
                    rosters: str = "{mentors: mentors.csv, mentees: mentees.csv}",
                    mentors: str | None = None, mentees: str | None = None, people: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "programme.yaml").write_text(HEADER.format(type=type_, rosters=rosters, matching=matching))
    for name, text in (("mentors.csv", mentors), ("mentees.csv", mentees), ("people.csv", people)):
        if text is not None:
            (folder / name).write_text(text)
    return folder


MENTORS = """id,name,email,dept,site,grade,capacity
M1,Ann,ann@example.org,A,London,5,2
M2,Bob,bob@example.org,B,Paris,5,1
M3,Cy,cy@example.org,A,Paris,2,1
"""
MENTEES = """id,name,email,dept,site,grade
E1,Dee,dee@example.org,B,London,1
E2,Eve,eve@example.org,A,Paris,1
E3,Fay,fay@example.org,B,Paris,1
E4,Gus,gus@example.org,A,London,9
"""
BASIC = """  eligibility: ["mentor.dept != mentee.dept", "mentor.grade >= mentee.grade + 1"]
  scoring:
    - {name: same_site, expr: "mentor.site == mentee.site", weight: 2}
"""


def _check_rules(folder: Path, pairs: pd.DataFrame) -> None:
    """Every written pair obeys every eligibility rule and every capacity."""
    programme = load_programme(folder)
    people = load_participants(programme)
    mentors = people.mentors.frame
    mentees = people.mentees.frame if not programme.is_peer else mentors
    ctx = RuleContext(mentors, mentees, separator_for=programme.rosters.separator_for)
    e = mentees.reset_index().set_index("id").loc[pairs["mentee_id"], "index"].to_numpy()
    m = mentors.reset_index().set_index("id").loc[pairs["mentor_id"], "index"].to_numpy()
    for text in programme.matching.eligibility:
        rule = parse_rule(text, "test")
        ctx.check(rule)
        assert ctx.evaluate_pairs(rule, e, m).all(), text
    if not programme.is_peer:
        cap_col = "capacity" if "capacity" in mentors.columns else None
        load = pairs["mentor_id"].value_counts()
        for mentor_id, count in load.items():
            cap = mentors.set_index("id").at[mentor_id, cap_col] if cap_col else programme.matching.mentor_capacity
            assert count <= cap


def test_match_example_programme_writes_every_file(example_programme: Path, run_cli) -> None:
    result = run_cli("match", example_programme)
    assert result.exit_code == 0, result.output
    out = example_programme / "out"
    pairs = pd.read_csv(out / "matches.csv", dtype={"mentee_id": str, "mentor_id": str})
    assert list(pairs.columns[:7]) == ["mentee_id", "mentee_name", "mentee_email", "mentor_id", "mentor_name",
                                       "mentor_email", "score"]
    assert {"skills", "same_site", "preference"} <= set(pairs.columns)
    assert np_close(pairs["score"], pairs[["skills", "same_site", "preference"]].sum(axis=1))
    assert pairs["mentee_id"].is_unique
    _check_rules(example_programme, pairs)
    summary = json.loads((out / "match-summary.json").read_text())
    assert summary["status"] == "OPTIMAL" and summary["matched"] == len(pairs)
    assert "proof" in summary["optimality"] and summary["proof"]["proven"]
    assert "department" in summary["report_by"]
    unmatched = pd.read_csv(out / "unmatched.csv")
    assert list(unmatched.columns) == ["participant_id", "name", "email", "role", "reason"]
    assert (out / "matches.xlsx").exists()
    assert "OPTIMAL" in result.stdout


def np_close(a, b) -> bool:
    return bool(((a - b).abs() < 1e-6).all())


def test_match_is_deterministic_and_ignores_row_order(tmp_path: Path, run_cli) -> None:
    first = write_programme(tmp_path / "a", BASIC, mentors=MENTORS, mentees=MENTEES)
    lines = MENTEES.strip().split("\n")
    shuffled = "\n".join([lines[0], *reversed(lines[1:])]) + "\n"
    second = write_programme(tmp_path / "b", BASIC, mentors=MENTORS, mentees=shuffled)
    assert run_cli("match", first).exit_code == 0
    assert run_cli("match", second).exit_code == 0
    assert (first / "out/matches.csv").read_text() == (second / "out/matches.csv").read_text()


def test_pins_forbidden_and_history(tmp_path: Path, run_cli) -> None:
    matching = BASIC + "  pinned: pins.csv\n  forbidden: forbidden.csv\n  history: [old.csv]\n"
    folder = write_programme(tmp_path / "p", matching, mentors=MENTORS, mentees=MENTEES)
    (folder / "pins.csv").write_text("Mentor ID,Mentee ID\nM2,E2\n")
    (folder / "forbidden.csv").write_text("mentor_id,mentee_id\nM1,E1\n")
    (folder / "old.csv").write_text("mentee_id,mentor_id,score\nE3,M1,1\nX9,M1,1\n")
    result = run_cli("match", folder)
    assert result.exit_code == 0, result.output
    pairs = pd.read_csv(folder / "out/matches.csv")
    got = set(zip(pairs["mentor_id"], pairs["mentee_id"], strict=True))
    assert ("M2", "E2") in got
    assert ("M1", "E1") not in got and ("M1", "E3") not in got
    _check_rules(folder, pairs)


def test_pin_breaking_a_rule_is_exit_2(tmp_path: Path, run_cli) -> None:
    folder = write_programme(tmp_path / "p", BASIC + "  pinned: pins.csv\n", mentors=MENTORS, mentees=MENTEES)
    (folder / "pins.csv").write_text("mentor_id,mentee_id\nM1,E2\n")
    result = run_cli("match", folder)
    assert result.exit_code == 2
    assert "pins.csv, row 2" in result.stderr and "mentor.dept != mentee.dept" in result.stderr
    assert "Traceback" not in result.output


def test_pins_over_capacity_are_exit_3_naming_the_pins(tmp_path: Path, run_cli) -> None:
    mentors = MENTORS.replace("A,London,5,2", "A,London,5,1")
    folder = write_programme(tmp_path / "p", BASIC + "  pinned: pins.csv\n", mentors=mentors, mentees=MENTEES)
    (folder / "pins.csv").write_text("mentor_id,mentee_id\nM1,E1\nM1,E3\n")
    result = run_cli("match", folder)
    assert result.exit_code == 3
    assert "M1" in result.stderr and "pins.csv row 2" in result.stderr and "pins.csv row 3" in result.stderr


def test_unknown_id_in_pins_is_exit_2_with_row(tmp_path: Path, run_cli) -> None:
    folder = write_programme(tmp_path / "p", BASIC + "  pinned: pins.csv\n", mentors=MENTORS, mentees=MENTEES)
    (folder / "pins.csv").write_text("mentor_id,mentee_id\nM2,E2\nM9,E3\n")
    result = run_cli("match", folder)
    assert result.exit_code == 2 and "row 3" in result.stderr and "M9" in result.stderr


@pytest.mark.parametrize(("rule", "expected"), [
    ("mentor.colour == mentee.dept", "colour"),
    ("mentor.grade >= = mentee.grade", "matching.eligibility[0]"),
])
def test_bad_rules_are_exit_2(tmp_path: Path, run_cli, rule: str, expected: str) -> None:
    folder = write_programme(tmp_path / "p", f'  eligibility: ["{rule}"]\n', mentors=MENTORS, mentees=MENTEES)
    result = run_cli("match", folder)
    assert result.exit_code == 2
    assert expected in result.stderr and "Traceback" not in result.output


def test_capacity_with_text_is_exit_2(tmp_path: Path, run_cli) -> None:
    mentors = MENTORS.replace("M2,Bob,bob@example.org,B,Paris,5,1", "M2,Bob,bob@example.org,B,Paris,5,two")
    folder = write_programme(tmp_path / "p", BASIC, mentors=mentors, mentees=MENTEES,
                             rosters="{mentors: mentors.csv, mentees: mentees.csv, types: {capacity: text}}")
    result = run_cli("match", folder)
    assert result.exit_code == 2
    assert "capacity" in result.stderr and "two" in result.stderr


def test_empty_roster_is_exit_2(tmp_path: Path, run_cli) -> None:
    folder = write_programme(tmp_path / "p", BASIC, mentors=MENTORS, mentees="id,name,email,dept,site,grade\n")
    result = run_cli("match", folder)
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_edited_matches_are_not_overwritten_without_force(tmp_path: Path, run_cli) -> None:
    folder = write_programme(tmp_path / "p", BASIC, mentors=MENTORS, mentees=MENTEES)
    assert run_cli("match", folder).exit_code == 0
    matches = folder / "out/matches.csv"
    edited = matches.read_text() + "E9,x,,M9,y,,0\n"
    matches.write_text(edited)
    refused = run_cli("match", folder)
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert matches.read_text() == edited
    forced = run_cli("match", folder, "--force")
    assert forced.exit_code == 0
    assert matches.read_text() != edited
    assert any(p.read_text() == edited for p in (folder / "out").glob("matches.edited-*.csv"))


def test_keep_counts_against_capacity_and_matches_the_rest(tmp_path: Path, run_cli) -> None:
    folder = write_programme(tmp_path / "p", BASIC, mentors=MENTORS, mentees=MENTEES)
    keep = tmp_path / "keep.csv"
    keep.write_text("mentee_id,mentor_id\nE3,M1\nE1,M1\n")
    result = run_cli("match", folder, "--keep", keep)
    assert result.exit_code == 0, result.output
    pairs = pd.read_csv(folder / "out/matches.csv")
    assert (pairs["mentor_id"] == "M1").sum() == 2
    assert {("E3", "M1"), ("E1", "M1")} <= set(zip(pairs["mentee_id"], pairs["mentor_id"], strict=True))


def test_min_share_uses_priced_flows_and_holds(tmp_path: Path, run_cli) -> None:
    matching = BASIC + ("  constraints:\n    min_share:\n"
                        "      - {name: cross_site, expr: \"mentor.site != mentee.site\", share: 0.5}\n")
    folder = write_programme(tmp_path / "p", matching, mentors=MENTORS, mentees=MENTEES)
    result = run_cli("match", folder)
    assert result.exit_code == 0, result.output
    pairs = pd.read_csv(folder / "out/matches.csv")
    summary = json.loads((folder / "out/match-summary.json").read_text())
    assert summary["model"].startswith("min-cost flow with a priced min_share") and summary["status"] == "OPTIMAL"
    assert summary["optimality"].startswith("OPTIMAL over all") and summary["global_bound"]["reached"]
    assert (pairs["same_site"] == 0).mean() >= 0.5
    share = summary["min_share"]["cross_site"]
    assert share["required"] == 0.5 and share["achieved"] == round((pairs["same_site"] == 0).mean(), 4)
    assert "share cross_site" in result.stdout


PEOPLE = """id,name,email,team,tz
P1,A,a@example.org,x,0
P2,B,b@example.org,y,0
P3,C,c@example.org,x,1
P4,D,d@example.org,y,9
P5,E,e@example.org,z,1
"""


def test_peer_programme(tmp_path: Path, run_cli) -> None:
    matching = ('  eligibility: ["mentor.team != mentee.team", "abs(mentor.tz - mentee.tz) <= 2"]\n'
                '  scoring: [{name: close, expr: "mentor.tz == mentee.tz", weight: 1}]\n')
    folder = write_programme(tmp_path / "peer", matching, type_="peer", rosters="{participants: people.csv}",
                             people=PEOPLE)
    result = run_cli("match", folder)
    assert result.exit_code == 0, result.output
    pairs = pd.read_csv(folder / "out/matches.csv")
    people = list(pairs["mentee_id"]) + list(pairs["mentor_id"])
    assert len(people) == len(set(people)) == 4  # two pairs, nobody twice; P4 (tz 9) cannot pair
    _check_rules(folder, pairs)
    unmatched = pd.read_csv(folder / "out/unmatched.csv")
    assert list(unmatched["participant_id"]) == ["P4"]


@pytest.mark.parametrize("side", ["mentors", "mentees"])
def test_a_peer_programme_applies_every_design_eligibility_rule_to_everyone(tmp_path: Path, run_cli, side) -> None:
    people = "id,name,email,consent\n" + "".join(f"P{i},N{i},p{i}@example.org,{'No' if i == 2 else 'I agree'}\n"
                                                  for i in range(1, 6))
    folder = write_programme(tmp_path / "peer", "  eligibility: []\n", type_="peer",
                             rosters="{participants: people.csv}", people=people)
    role = side[:-1]   # a rule under either list, written for either side, applies to every participant
    rule = "{" + side + ": ['" + role + '.consent == "I agree"' + "']}"
    yaml_file = folder / "programme.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("start_date: 2027-01-11}",
                                                       f"start_date: 2027-01-11, eligibility: {rule}}}"))
    validated = run_cli("validate", folder)
    assert validated.exit_code == 0, validated.output
    assert "1 participant excluded by design.eligibility (people.csv rows 3)" in " ".join(validated.stderr.split())
    assert run_cli("match", folder).exit_code == 0
    pairs = pd.read_csv(folder / "out/matches.csv")
    assert "P2" not in set(pairs["mentee_id"]) | set(pairs["mentor_id"])
    unmatched = pd.read_csv(folder / "out/unmatched.csv")
    assert unmatched.loc[unmatched["participant_id"] == "P2", "reason"].str.startswith("not eligible").all()


def test_a_hand_edited_peer_file_never_introduces_an_excluded_person_and_flags_a_double_booking(
        tmp_path: Path, run_cli) -> None:
    people = "id,name,email,consent\n" + "".join(f"P{i},N{i},p{i}@example.org,{'No' if i == 2 else 'yes'}\n"
                                                  for i in range(1, 6))
    folder = write_programme(tmp_path / "peer", "  eligibility: []\n", type_="peer",
                             rosters="{participants: people.csv}", people=people)
    yaml_file = folder / "programme.yaml"
    yaml_file.write_text(yaml_file.read_text().replace(
        "start_date: 2027-01-11}", "start_date: 2027-01-11, eligibility: {mentors: ['mentor.consent == \"yes\"']}}"))
    (folder / "out").mkdir()
    (folder / "out" / "matches.csv").write_text("mentee_id,mentor_id,score\nP1,P3,1\nP2,P4,\nP5,P3,\n")
    validated = run_cli("validate", folder)
    out = " ".join((validated.stdout + validated.stderr).split())
    assert validated.exit_code == 2
    assert ("row 3: pair P4 – P2 includes P2, whom design.eligibility keeps out of the programme (not eligible "
            "for the programme: mentor.consent == \"yes\"): packs would introduce them") in out
    assert "P3 is in 2 pairs in the file (a peer has one)" in out
    packs = run_cli("packs", folder)
    assert packs.exit_code == 2 and "no pack was written" in packs.stderr
    assert not (folder / "out" / "packs").exists()


def test_group_programme_with_min_group_size_and_max_per_mentor(tmp_path: Path, run_cli) -> None:
    mentors = "id,name,email\nL1,Lead1,l1@example.org\nL2,Lead2,l2@example.org\n"
    mentees = "id,name,email,dept\n" + "".join(f"G{i},N{i},g{i}@example.org,{'AB'[i % 2]}\n" for i in range(7))
    matching = ("  mentor_capacity: 6\n  min_group_size: 4\n  constraints:\n"
                "    max_per_mentor: [{field: dept, max: 3}]\n")
    folder = write_programme(tmp_path / "g", matching, type_="group", mentors=mentors, mentees=mentees)
    result = run_cli("match", folder)
    assert result.exit_code == 0, result.output
    pairs = pd.read_csv(folder / "out/matches.csv")
    sizes = pairs["mentor_id"].value_counts()
    assert all(s >= 4 for s in sizes) and sizes.sum() <= 12
    dept = dict(zip([f"G{i}" for i in range(7)], ["AB"[i % 2] for i in range(7)], strict=True))
    pairs["dept"] = pairs["mentee_id"].map(dept)
    assert pairs.groupby(["mentor_id", "dept"]).size().max() <= 3


def test_explain_matched_and_unmatched(example_programme: Path, run_cli) -> None:
    assert run_cli("match", example_programme).exit_code == 0
    summary_pairs = pd.read_csv(example_programme / "out/matches.csv", dtype=str)
    mentee = summary_pairs["mentee_id"].iloc[0]
    shown = run_cli("explain", example_programme, mentee)
    assert shown.exit_code == 0, shown.output
    assert f"Matched with {summary_pairs['mentor_id'].iloc[0]}" in shown.stdout
    assert "skills" in shown.stdout and "eligibility rule" in shown.stdout
    unmatched = pd.read_csv(example_programme / "out/unmatched.csv", dtype=str)
    no_mentor = unmatched[unmatched["reason"].str.startswith("no eligible")]["participant_id"]
    if len(no_mentor):
        text = run_cli("explain", example_programme, no_mentor.iloc[0]).stdout
        assert "Not matched" in text and "would be eligible" in text
    missing = run_cli("explain", example_programme, "NOBODY")
    assert missing.exit_code == 2 and "NOBODY" in missing.stderr


def test_group_size_is_named_when_it_leaves_someone_out(small_programme, run_cli):
    import pandas as pd

    folder = small_programme("grp", "id,name,skills,capacity\nG1,Gia,a;b,4\nG2,Gus,a,4\n",
                             "id,name,goals\nE1,E1,a;b\nE2,E2,a;b\nE3,E3,a;b\nE4,E4,a;b\nE5,E5,a\n",
                             design={"type": "group"},
                             matching={"min_group_size": 3,
                                       "scoring": [{"name": "fit", "expr": "overlap(mentor.skills, mentee.goals)"}]})
    assert run_cli("match", folder).exit_code == 0
    pairs = pd.read_csv(folder / "out" / "matches.csv")
    assert len(pairs) == 4 and pairs["mentor_id"].nunique() == 1  # 5 cannot split into two groups of >= 3
    unmatched = pd.read_csv(folder / "out" / "unmatched.csv").set_index("participant_id")
    left_out = [m for m in ("E1", "E2", "E3", "E4", "E5") if m not in set(pairs["mentee_id"])]
    assert len(left_out) == 1
    assert "min_group_size" in unmatched.loc[left_out[0], "reason"]


def test_explain_counts_forbidden_pairs(small_programme, run_cli):
    folder = small_programme("fb", "id,name\nA,Ann\nB,Bob\n", "id,name\nX,Xi\n",
                             matching={"forbidden": "forbidden.csv"})
    (folder / "forbidden.csv").write_text("mentor_id,mentee_id\nA,X\n")
    assert run_cli("match", folder).exit_code == 0
    explained = run_cli("explain", folder, "X")
    assert "Matched with B" in explained.stdout
    assert "matching.forbidden" in explained.stdout


TEAMS_MENTORS = "id,name,capacity\n" + "".join(f"M{k},Mentor {k},1\n" for k in range(1, 5))
TEAMS = "id,name,rank\n" + "".join(f"T{k},Team {k},{9 if k < 3 else 1}\n" for k in range(1, 5))


def test_two_mentors_per_team_cover_every_team_first(tmp_path: Path, run_cli) -> None:
    # 4 teams want 2 mentors, 4 mentors of capacity 1: two teams score far higher, yet every team gets one
    folder = write_programme(tmp_path / "teams", """  mentors_per_mentee: 2
  scoring: [{name: rank, expr: "mentee.rank", weight: 1}]
""", mentors=TEAMS_MENTORS, mentees=TEAMS)
    result = run_cli("match", folder)
    assert result.exit_code == 0, result.output
    pairs = pd.read_csv(folder / "out/matches.csv")
    assert pairs["mentee_id"].value_counts().to_dict() == {"T1": 1, "T2": 1, "T3": 1, "T4": 1}
    summary = json.loads((folder / "out/match-summary.json").read_text())
    assert summary["coverage"]["by_mentors"] == {"0": 0, "1": 4, "2": 0}
    assert summary["coverage"]["wanted_more"] == 4
    assert "mentees by mentors" in result.output and "4 with 1" in result.output
    explained = run_cli("explain", folder, "T1")
    assert "1 of 2 mentors wanted" in explained.output
    assert "0 with 2, 4 with 1, 0 with 0" in explained.output


def test_balance_spreads_mentees_and_the_summary_shows_the_load(tmp_path: Path, run_cli) -> None:
    mentors = "id,name,capacity,star\n" + "".join(f"M{k},Mentor {k},4,{int(k == 1)}\n" for k in range(1, 5))
    mentees = "id,name\n" + "".join(f"E{k},Mentee {k}\n" for k in range(1, 5))
    matching = '  scoring: [{name: star, expr: "mentor.star", weight: 1}]\n'
    crowded = write_programme(tmp_path / "crowded", matching, mentors=mentors, mentees=mentees)
    assert run_cli("match", crowded).exit_code == 0
    load = json.loads((crowded / "out/match-summary.json").read_text())["mentor_load"]
    assert (load["used"], load["max"]) == (1, 4)
    spread = write_programme(tmp_path / "spread", matching + "  balance: 2\n", mentors=mentors, mentees=mentees)
    result = run_cli("match", spread)
    assert result.exit_code == 0, result.output
    load = json.loads((spread / "out/match-summary.json").read_text())["mentor_load"]
    assert (load["used"], load["max"], load["mean"]) == (4, 1, 1.0)
    assert "mentors used" in result.output and "4 of 4" in result.output


def test_solve_reports_progress_counts_for_an_estimate(example_programme: Path) -> None:
    from mentorctl.matching import solve

    programme = load_programme(example_programme)
    seen: list[tuple[str, int | None, int | None]] = []
    result = solve(programme, load_participants(programme), progress=lambda m, d, t: seen.append((m, d, t)))
    counted = [(d, t) for m, d, t in seen if m == "building candidate pairs"]
    assert counted and counted[-1][0] == counted[-1][1] == result.summary.people
    assert [d for d, _ in counted] == sorted(d for d, _ in counted)  # never goes backwards
    assert any(m.startswith("solving") for m, _, _ in seen)
    assert result.summary.proof.proven and "optimal over all" in result.summary.optimality


@pytest.mark.parametrize("share, reached", [(0.0, True), (1.0, False)])
def test_cpsat_over_pruned_candidates_reports_a_bound_over_every_eligible_pair(tmp_path: Path, run_cli, share,
                                                                               reached) -> None:
    # one candidate per mentee, so CP-SAT sees a pruned model; the bound comes from the relaxed flow over
    # every eligible pair. share 1.0 (every pair cross-site) costs score, so the bound is not reached.
    matching = BASIC + ("  candidates_per_mentee: 1\n  constraints:\n    min_share:\n"
                        f"      - {{name: cross_site, expr: \"mentor.site != mentee.site\", share: {share}}}\n")
    folder = write_programme(tmp_path / "p", matching, mentors=MENTORS, mentees=MENTEES)
    result = run_cli("match", folder)
    assert result.exit_code == 0, result.output
    summary = json.loads((folder / "out/match-summary.json").read_text())
    bound = summary["global_bound"]
    assert bound["proven"] and bound["reached"] is reached
    assert bound["score"] >= summary["objective_value"] - 1e-9
    assert bound["matched"] >= summary["matched"]
    if reached:
        assert summary["optimality"].startswith("OPTIMAL over all")
    else:
        assert bound["gap"] > 0 and "no matching does better than" in summary["optimality"]


def test_peer_programme_over_pruned_candidates_is_bounded_by_the_double_cover(tmp_path: Path, run_cli) -> None:
    matching = ('  eligibility: ["mentor.team != mentee.team", "abs(mentor.tz - mentee.tz) <= 2"]\n'
                '  scoring: [{name: close, expr: "mentor.tz == mentee.tz", weight: 1}]\n'
                '  candidates_per_mentee: 1\n')
    folder = write_programme(tmp_path / "peer", matching, type_="peer", rosters="{participants: people.csv}",
                             people=PEOPLE)
    result = run_cli("match", folder)
    assert result.exit_code == 0, result.output
    summary = json.loads((folder / "out/match-summary.json").read_text())
    bound = summary["global_bound"]
    assert bound["proven"] and bound["matched"] >= 4 and bound["score"] >= summary["objective_value"] - 1e-9


def test_match_writes_a_self_contained_review_page(example_programme, run_cli):
    import re
    from html import escape

    import pandas as pd

    result = run_cli("match", example_programme)
    assert result.exit_code == 0, result.output
    assert "matches.html" in result.stdout
    out = example_programme / "out"
    html = (out / "matches.html").read_text(encoding="utf-8")
    pairs = pd.read_csv(out / "matches.csv", dtype=str)
    unmatched = pd.read_csv(out / "unmatched.csv", dtype=str)
    # no external reference of any kind: no URL, stylesheet, image or script source
    assert not re.search(r"(?i)https?://|<link|\bsrc\s*=|@import|url\(", html)
    assert "187 of 200 matched (93.5%)" in html                          # the summary
    rows = re.findall(r"<tr><td>[^<]*<span class=\"id\">(E\d+)</span></td><td>[^<]*<span class=\"id\">(M\d+)", html)
    assert sorted(rows) == sorted(zip(pairs["mentee_id"], pairs["mentor_id"], strict=True))   # every pair
    first = pairs.iloc[0]
    assert f"{first['mentee_id']}</span></td><td>{first['mentor_name']}" in html
    assert "skills +9</span>: the mentor&#39;s skills match the mentee&#39;s development goals" in html
    for person, reason in zip(unmatched["participant_id"], unmatched["reason"], strict=True):
        assert f'<span class="id">{person}</span></td><td>mentee</td><td>{escape(reason)}</td>' in html
    for field in ("department", "location", "gender"):                   # report_by: a small chart each
        assert f'aria-label="Match rate by {field}"' in html
    assert 'id="filter" type="search"' in html and "addEventListener(\"input\"" in html


def test_breakdown_groups_merge_case_and_space_variants(small_programme, run_cli):
    """'engineering ' is Engineering, as matching sees it: no one-person group hides Law (5 people) too."""
    import json

    mentees = "id,name,email,department\n" + "".join(
        f"E{i},Mentee {i},e{i}@example.org,{dept}\n" for i, dept in enumerate(
            ["Engineering"] * 6 + ['"engineering  "'] + ["Law"] * 5))
    mentors = "id,name,email\n" + "".join(f"M{i},Mentor {i},m{i}@example.org\n" for i in range(12))
    folder = small_programme("spell", mentors, mentees, reporting={"report_by": ["department"]})
    result = run_cli("match", folder)
    assert result.exit_code == 0, result.output
    groups = json.loads((folder / "out" / "match-summary.json").read_text())["report_by"]["department"]
    assert {k: v["people"] for k, v in groups.items()} == {"Engineering": 7, "Law": 5}
    assert "<5" not in result.output


def test_explain_resolves_names_and_emails_and_says_when_a_name_is_shared(small_programme, run_cli):
    folder = small_programme("names", "id,name,email\nA,Ann,ann@x.org\nB,José García,jose.b@x.org\n",
                             "id,name,email\nX,José García,jose.x@x.org\nY,Yu,yu@x.org\n")
    assert run_cli("match", folder).exit_code == 0
    shared = run_cli("explain", folder, "josé  garcía")
    assert shared.exit_code == 2 and "Traceback" not in shared.output
    assert "'josé garcía' is the name of 2 participants (X, B); use the id" in shared.stderr
    assert "no roster" not in shared.stderr
    by_name = run_cli("explain", folder, "yu")
    assert by_name.exit_code == 0 and "mentee Y (Yu)" in by_name.stdout
    by_email = run_cli("explain", folder, "Ann@X.org")
    assert by_email.exit_code == 0 and "mentor A (Ann)" in by_email.stdout
    unknown = run_cli("explain", folder, "Anne")
    assert unknown.exit_code == 2 and "'Anne' matches no participant (did you mean 'Ann'?)" in unknown.stderr


def test_match_loads_only_what_it_uses(example_programme):
    """`match` (a fresh process) loads neither explain nor xml.sax (with urllib, http and ssl): their start-up
    time is paid only by the commands that use them."""
    import subprocess
    import sys

    probe = ("import sys\nfrom mentorctl.cli.main import run\n"
             f"sys.argv = ['mentorctl', 'match', {str(example_programme)!r}]\n"
             "try:\n    run()\nexcept SystemExit:\n    pass\n"
             "import mentorctl.matching\n"
             "sys.stderr.write('LOADED:' + ','.join(m for m in ('mentorctl.matching.explain', 'xml.sax', 'ssl') "
             "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert (example_programme / "out" / "matches.csv").exists(), result.stderr
    assert result.stderr.rpartition("LOADED:")[2].strip() == ""
