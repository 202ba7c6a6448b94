"""`mentorctl end / pause / resume / extend` and `validate` on the relationships log, end to end."""

from __future__ import annotations

import pytest

MENTORS = "id,name,email\nM1,Ann,m1@x.org\nM2,Bob,m2@x.org\n"
MENTEES = "id,name,email\nE1,Eve,e1@x.org\nE2,Fay,e2@x.org\n"


@pytest.fixture
def programme(small_programme):
    folder = small_programme("rel", MENTORS, MENTEES)
    (folder / "out").mkdir()
    (folder / "out" / "matches.csv").write_text("mentee_id,mentor_id,score\nE1,M1,1\nE2,M2,1\n")
    return folder


def test_end_with_rematch_then_pause_resume_extend(programme, run_cli):
    result = run_cli("end", programme, "e1", "m1", "--reason", "not-a-fit", "--note", "no chemistry",
                     "--on", "2027-04-01", "--rematch")
    assert result.exit_code == 0, result.output
    assert "Ended e1 – m1 on 2027-04-01 (not-a-fit); the mentee will be rematched" in result.stdout
    assert run_cli("pause", programme, "E2", "M2", "--on", "2027-04-02").exit_code == 0
    assert run_cli("resume", programme, "E2", "M2", "--on", "2027-04-09").exit_code == 0
    extended = run_cli("extend", programme, "E2", "M2", "--until", "2027-10-01", "--on", "2027-04-10")
    assert extended.exit_code == 0
    assert "Warning: 2027-10-01 is after the programme's last day (2027-08-29): nothing is sent after it" in \
        " ".join(extended.stderr.split())
    rows = (programme / "relationships.csv").read_text().splitlines()
    assert rows[3:] == ["2027-04-01,end,E1,M1,not-a-fit,,no chemistry", "2027-04-01,rematch,E1,,,,",
                        "2027-04-02,pause,E2,M2,,,", "2027-04-09,resume,E2,M2,,,",
                        "2027-04-10,extend,E2,M2,,2027-10-01,"]
    assert run_cli("validate", programme).exit_code == 0


def test_json_prints_the_pair_after_each_action(programme, run_cli):
    import json

    ended = run_cli("end", programme, "e1", "m1", "--reason", "not-a-fit", "--on", "2027-04-01", "--rematch",
                    "--json")
    assert ended.exit_code == 0, ended.output
    data = json.loads(ended.stdout)                                   # stdout is the JSON document alone
    assert data["action"] == "end" and data["rematch"] is True and data["warnings"] == []
    assert data["relationship"] == {"mentee_id": "E1", "mentor_id": "M1", "start": "2027-03-01",
                                    "planned_end": data["relationship"]["planned_end"], "status": "ended",
                                    "ended_on": "2027-04-01", "end_reason": "not-a-fit", "paused_on": None,
                                    "note": ""}
    assert data["log"].endswith("relationships.csv")
    assert "Ended e1 – m1 on 2027-04-01 (not-a-fit)" in ended.stderr    # the message moves to stderr
    paused = json.loads(run_cli("pause", programme, "E2", "M2", "--on", "2027-04-02", "--json").stdout)
    assert (paused["action"], paused["relationship"]["status"], paused["relationship"]["paused_on"]) == (
        "pause", "paused", "2027-04-02")
    resumed = json.loads(run_cli("resume", programme, "E2", "M2", "--on", "2027-04-09", "--json").stdout)
    assert (resumed["action"], resumed["relationship"]["status"]) == ("resume", "active")
    extended = json.loads(run_cli("extend", programme, "E2", "M2", "--until", "2027-10-01", "--on", "2027-04-10",
                                  "--json").stdout)
    assert (extended["action"], extended["relationship"]["planned_end"]) == ("extend", "2027-10-01")


@pytest.mark.parametrize(("args", "message"), [
    (("end", "E1", "M2", "--reason", "completed", "--on", "2027-04-01"),
     "Error: there is no relationship between mentee E1 and mentor M2"),
    (("end", "E1", "M1", "--reason", "completed", "--on", "2027-02-01"),
     "Error: end on 2027-02-01 is before the pair E1 – M1 started (2027-03-01); give the day it happens with "
     "--on; nothing was written"),
    (("end", "E1", "M1", "--reason", "completed", "--on", "1st April"),
     "Error: --on '1st April' is not a date; write YYYY-MM-DD"),
    (("resume", "E1", "M1", "--on", "2027-04-01"), "Error: the pair E1 – M1 is not paused"),
])
def test_bad_input_exits_2_and_writes_nothing(programme, run_cli, args, message):
    result = run_cli(args[0], programme, *args[1:])
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.output
    assert not (programme / "relationships.csv").exists()


def test_unknown_reason_is_a_usage_error(programme, run_cli):
    result = run_cli("end", programme, "E1", "M1", "--reason", "bored")
    assert result.exit_code == 2
    assert "completed" in result.stderr and "not-a-fit" in result.stderr
    assert "Value error" not in result.stderr
    assert "Invalid value for '--reason': 'bored' is not one of 'completed'" in result.stderr


def test_pause_of_an_ended_pair(programme, run_cli):
    assert run_cli("end", programme, "E1", "M1", "--reason", "completed", "--on", "2027-04-01").exit_code == 0
    before = (programme / "relationships.csv").read_bytes()
    result = run_cli("pause", programme, "E1", "M1", "--on", "2027-04-05")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: the pair E1 – M1 already ended on 2027-04-01")
    assert (programme / "relationships.csv").read_bytes() == before


def test_validate_reports_bad_log_rows(programme, run_cli):
    (programme / "relationships.csv").write_text("date,action,mentee_id,mentor_id,reason\n"
                                                 "2027-04-01,end,E1,M1,bored\n2027-04-01,start,E7,M1,\n")
    result = run_cli("validate", programme)
    assert result.exit_code == 2
    assert "relationships.csv, row 2, column reason: 'bored' is not a reason for ending" in result.output


def _pairs(folder) -> set[tuple[str, str]]:
    import csv

    with open(folder / "out" / "matches.csv", newline="") as handle:
        return {(row["mentee_id"], row["mentor_id"]) for row in csv.DictReader(handle)}


def _rows(folder, name: str) -> list[dict]:
    import csv

    with open(folder / "out" / name, newline="") as handle:
        return list(csv.DictReader(handle))


def test_match_in_a_running_programme_keeps_pairs_never_repeats_and_serves_the_waitlist(small_programme, run_cli):
    # three mentors with one place each; everyone may pair with anyone; a mentee prefers M1 (score)
    folder = small_programme(
        "running", "id,name,email\nM1,Ann,m1@x.org\nM2,Bob,m2@x.org\nM3,Cy,m3@x.org\n",
        "id,name,email,likes\nE1,Eve,e1@x.org,M1\nE2,Fay,e2@x.org,M2\nE3,Gil,e3@x.org,M3\nE4,Hal,e4@x.org,M1\n",
        matching={"mentor_capacity": 1, "scoring": [{"name": "likes", "expr": "mentee.likes == mentor.id"}]})
    assert run_cli("match", folder, "--on", "2027-02-20").exit_code == 0
    assert _pairs(folder) == {("E1", "M1"), ("E2", "M2"), ("E3", "M3")}   # E4 is left over
    assert not (folder / "relationships.csv").exists()                   # not running yet: plans afresh
    # E1 – M1 ends early (rematch); E5 joins in week 3 and prefers M1 too; the next match keeps E2 and E3,
    # never pairs E1 with M1 again, and gives M1's free place to the longest-waiting mentee: E4 (since the
    # start), ahead of E1 (since 2027-03-10) and newcomer E5
    assert run_cli("end", folder, "E1", "M1", "--reason", "not-a-fit", "--on", "2027-03-10", "--rematch"
                   ).exit_code == 0
    with open(folder / "mentees.csv", "a") as handle:
        handle.write("E5,Ida,e5@x.org,M1\n")
    result = run_cli("match", folder, "--on", "2027-03-15")
    assert result.exit_code == 0, result.output
    assert _pairs(folder) == {("E2", "M2"), ("E3", "M3"), ("E4", "M1")}
    waiting = [(r["participant_id"], r["waiting_since"], r["waitlist_position"]) for r in _rows(folder, "unmatched.csv")
               if r["waitlist_position"]]
    assert waiting == [("E1", "2027-03-10", "1"), ("E5", "2027-03-15", "2")]
    matched_on = {(r["mentee_id"], r["mentor_id"]): r["matched_on"] for r in _rows(folder, "matches.csv")}
    assert matched_on == {("E2", "M2"): "2027-03-01", ("E3", "M3"): "2027-03-01", ("E4", "M1"): "2027-03-15"}
    assert "waitlist" in result.stdout and "E1 (5 d)" in result.stdout
    log = (folder / "relationships.csv").read_text().splitlines()
    assert "2027-03-01,waitlist,E4,,,,from unmatched.csv" in log
    assert "2027-03-15,start,E4,M1,,," in log and "2027-03-15,waitlist,E5,,,," in log
    # M2's mentee completes; the next match gives M2 to E1 (waiting longest), never to E2 again
    assert run_cli("end", folder, "E2", "M2", "--reason", "completed", "--on", "2027-04-01").exit_code == 0
    assert run_cli("match", folder, "--on", "2027-04-02").exit_code == 0
    assert _pairs(folder) == {("E1", "M2"), ("E3", "M3"), ("E4", "M1")}
    unmatched = {r["participant_id"]: r for r in _rows(folder, "unmatched.csv")}
    assert unmatched["E5"]["waitlist_position"] == "1" and unmatched["E5"]["waiting_days"] == "18"
    assert unmatched["E2"]["waitlist_position"] == "" and "ended (completed) on 2027-04-01" in unmatched["E2"]["reason"]


def test_packs_follow_the_relationships(small_programme, run_cli, smtp_server):
    folder = small_programme(
        "packs", "id,name,email\nM1,Ann,m1@x.org\nM2,Bob,m2@x.org\nM3,Cy,m3@x.org\n",
        "id,name,email,likes\nE1,Eve,e1@x.org,M1\nE2,Fay,e2@x.org,M2\nE3,Gil,e3@x.org,M3\nE4,Hal,e4@x.org,M1\n",
        matching={"mentor_capacity": 1, "scoring": [{"name": "likes", "expr": "mentee.likes == mentor.id"}]})
    with open(folder / "programme.yaml", "a") as handle:
        handle.write(smtp_server.yaml_block())

    def sent() -> list[tuple[str, str]]:
        out = [(m["To"].addresses[0].addr_spec, str(m["Subject"])) for m in smtp_server.messages]
        smtp_server.reset()
        return sorted(out)

    assert run_cli("match", folder, "--on", "2027-02-20").exit_code == 0
    assert run_cli("packs", folder, "--send").exit_code == 0
    assert [to for to, _ in sent()] == ["e1@x.org", "e2@x.org", "e3@x.org", "m1@x.org", "m2@x.org", "m3@x.org"]
    # packs went out: the programme is running, so the next match keeps the pairs without any log yet
    with open(folder / "mentees.csv", "a") as handle:
        handle.write("E5,Ida,e5@x.org,M2\n")
    assert run_cli("end", folder, "E1", "M1", "--reason", "moved-or-left", "--on", "2027-03-20").exit_code == 0
    assert run_cli("match", folder, "--on", "2027-03-21").exit_code == 0
    assert _pairs(folder) == {("E2", "M2"), ("E3", "M3"), ("E4", "M1")}
    result = run_cli("packs", folder, "--send", "--on", "2027-03-21")
    assert result.exit_code == 0, result.output
    assert "1 newly matched" not in result.stdout and "2 newly matched or changed people to welcome, 2 closure" in result.stdout
    messages = sent()
    # welcome packs only for the new pair E4 – M1; the closure message to both people of the ended pair
    assert [to for to, subject in messages if "welcome" in subject.lower()] == ["e4@x.org", "m1@x.org"]
    assert [to for to, subject in messages if "ended" in subject] == ["e1@x.org", "m1@x.org"]
    assert len(messages) == 4
    # nothing twice
    assert run_cli("packs", folder, "--send", "--on", "2027-03-22").exit_code == 0
    assert sent() == []


def test_outbox_preview_counts_only_the_people_whose_pack_changed(small_programme, run_cli):
    folder = small_programme(
        "preview", "id,name,email\nM1,Ann,m1@x.org\nM2,Bob,m2@x.org\nM3,Cy,m3@x.org\n",
        "id,name,email,likes\nE1,Eve,e1@x.org,M1\nE2,Fay,e2@x.org,M2\nE3,Gil,e3@x.org,M3\n",
        design={"intake": "rolling", "relationship_length": "26w"},
        matching={"mentor_capacity": 1, "scoring": [{"name": "likes", "expr": "mentee.likes == mentor.id"}]})
    assert run_cli("match", folder, "--on", "2027-02-20").exit_code == 0
    first = run_cli("packs", folder, "--on", "2027-02-20")
    assert first.exit_code == 0 and "6 newly matched or changed people to welcome" in first.stdout
    assert "0 newly matched or changed people" in run_cli("packs", folder, "--on", "2027-02-20").stdout
    with open(folder / "mentees.csv", "a") as handle:     # a late joiner; nobody was ever sent anything
        handle.write("E4,Hal,e4@x.org,M1\n")
    assert run_cli("end", folder, "E1", "M1", "--reason", "moved-or-left", "--on", "2027-03-20").exit_code == 0
    assert run_cli("match", folder, "--on", "2027-03-21").exit_code == 0
    result = run_cli("packs", folder, "--on", "2027-03-21")
    assert result.exit_code == 0, result.output
    # E4 and M1 (their new pair) changed; the others' packs are as before (no ledger: none was "sent")
    assert "2 newly matched or changed people to welcome, 2 closure messages" in result.stdout


def test_not_a_fit_answers_in_the_survey_export_flag_the_pair_for_follow_up(small_programme, run_cli):
    # the fit check's answers come back in the survey export, its columns mapped as in any survey; people
    # are named by email; a later answer replaces an earlier one
    folder = small_programme(
        "fit", "id,name,email\nM1,Ann,m1@x.org\nM2,Bob,m2@x.org\nM3,Cy,m3@x.org\n",
        "id,name,email,likes\nE1,Eve,e1@x.org,M1\nE2,Fay,e2@x.org,M2\nE3,Gil,e3@x.org,M3\n",
        design={"intake": "rolling", "relationship_length": "12w"},
        matching={"mentor_capacity": 1, "scoring": [{"name": "likes", "expr": "mentee.likes == mentor.id"}]},
        reporting={"activity": ["activity.csv"],
                   "survey": {"path": "fit-check.csv",
                              "columns": {"participant_id": "Your email", "pairing_fit": "How is the pairing going?"}}})
    (folder / "activity.csv").write_text("timestamp,event,mentor_id,mentee_id\n2027-03-02 12:00,session,M1,E1\n"
                                         "2027-03-02 12:00,session,M2,E2\n2027-03-03 12:00,session,M3,E3\n")
    (folder / "fit-check.csv").write_text(
        "Timestamp,Your email,How is the pairing going?\n"
        "2027-03-03,e1@x.org,Not a fit\n"           # E1 – M1: flagged
        "2027-03-03,m2@x.org,Not a fit\n"           # M2 first said not a fit …
        "2027-03-05,M2@X.ORG,Good fit\n"            # … then a good fit: E2 – M2 is not flagged
        "2027-03-04,e3@x.org,Still deciding\n"
        "2027-03-04,m3@x.org,not-a-fit.\n")         # E3 – M3: flagged by the mentor
    assert run_cli("match", folder, "--on", "2027-03-01").exit_code == 0
    result = run_cli("report", folder, "--period", "2027-03-01..2027-03-10")
    assert result.exit_code == 0, result.output
    follow = _rows(folder, "follow-up.csv")
    flagged = {(r["mentee_id"], r["mentor_id"]): r["detail"] for r in follow if r["reason"] == "not a fit"}
    assert flagged == {("E1", "M1"): "E1 answered 'not a fit'", ("E3", "M3"): "M3 answered 'not a fit'"}


def test_after_a_rematch_only_survey_answers_about_the_new_pair_flag_it(small_programme, run_cli):
    import json

    # E1 – M1 ends (not a fit) and E1 is rematched with M2; the fit check's export names each answer's pair
    # (the partner by name, email or id). Dates in the past: `report` takes the relationships as of today.
    columns = {"participant_id": "Your email", "pairing_fit": "How is the pairing going?",
               "partner": "Who is your mentor or mentee?"}
    folder = small_programme(
        "refit", "id,name,email\nM1,Ann,m1@x.org\nM2,Bob,m2@x.org\nM3,Cy,m3@x.org\n",
        "id,name,email,likes\nE1,Eve,e1@x.org,M1\nE2,Fay,e2@x.org,M3\n",
        design={"start_date": "2026-03-01", "intake": "rolling", "relationship_length": "12w"},
        matching={"mentor_capacity": 1, "scoring": [{"name": "likes", "expr": "mentee.likes == mentor.id"}]},
        reporting={"survey": {"path": "fit-check.csv", "columns": columns}})
    (folder / "fit-check.csv").write_text(
        "Your email,How is the pairing going?,satisfaction,Who is your mentor or mentee?\n"
        "e1@x.org,Not a fit,2,Ann\n"             # about the ended pair: not applied to E1 – M2
        "m2@x.org,not a fit,,e1@x.org\n"         # about the new pair: flags it
        "e2@x.org,good fit,5,M3\n"
        "m3@x.org,good fit,4,Fay\n"
        "e2@x.org,not a fit,,M03\n")             # unknown partner: a row warning, not applied
    assert run_cli("match", folder, "--on", "2026-03-01").exit_code == 0
    assert run_cli("end", folder, "E1", "M1", "--reason", "not-a-fit", "--on", "2026-04-01",
                   "--rematch").exit_code == 0
    assert run_cli("match", folder, "--on", "2026-04-10").exit_code == 0
    assert "2026-04-10,start,E1,M2" in (folder / "relationships.csv").read_text()

    result = run_cli("report", folder, "--period", "2026-03-01..2026-05-01")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    flagged = sorted((r["mentee_id"], r["mentor_id"], r["detail"]) for r in _rows(folder, "follow-up.csv")
                     if r["reason"] == "not a fit")
    assert flagged == [("E1", "M2", "M2 answered 'not a fit'")]
    assert ("Warning: fit-check.csv, row 6, column Who is your mentor or mentee?: 'M03' matches no person on "
            "the rosters (did you mean 'M3'?)") in result.stderr
    assert ("Warning: 1 survey answer is about an earlier pair and was not applied to follow-ups (fit-check.csv "
            "row 2).") in result.stderr
    kpis = json.loads((folder / "out" / "report.json").read_text())["kpis"]
    validated = run_cli("validate", folder)
    assert "row 6, column Who is your mentor or mentee?: 'M03' matches no person" in validated.output

    # the same answers without the partner mapping: as before this change, each person's latest answer counts
    # for their current pair (and a warning says so); the survey KPIs are the same either way
    import yaml

    data = yaml.safe_load((folder / "programme.yaml").read_text())
    del data["reporting"]["survey"]["columns"]["partner"]
    (folder / "programme.yaml").write_text(yaml.safe_dump(data))
    legacy = run_cli("report", folder, "--period", "2026-03-01..2026-05-01")
    assert legacy.exit_code == 0, legacy.output
    flagged = sorted((r["mentee_id"], r["mentor_id"], r["detail"]) for r in _rows(folder, "follow-up.csv")
                     if r["reason"] == "not a fit")
    assert flagged == [("E1", "M2", "E1 answered 'not a fit'"), ("E1", "M2", "M2 answered 'not a fit'"),
                       ("E2", "M3", "E2 answered 'not a fit'")]
    assert "fit-check.csv has no partner or submitted column, so survey answers cannot be tied to a pair" in (
        legacy.stderr)
    assert json.loads((folder / "out" / "report.json").read_text())["kpis"] == kpis
    assert kpis["satisfaction_mean"] == round((2 + 5 + 4) / 3, 2)       # every answer, the earlier pair's too


def test_a_running_peer_programme_keeps_pairs_and_never_repeats_ended_ones(tmp_path, run_cli):
    import yaml

    folder = tmp_path / "peers"
    folder.mkdir()
    (folder / "participants.csv").write_text(
        "id,name,email,likes\nP1,Ann,p1@x.org,P2\nP2,Bob,p2@x.org,P1\nP3,Cy,p3@x.org,P4\nP4,Dee,p4@x.org,P3\n")
    (folder / "programme.yaml").write_text(yaml.safe_dump({
        "programme": {"name": "peers"}, "design": {"type": "peer", "start_date": "2027-03-01"},
        "rosters": {"participants": "participants.csv"},
        "matching": {"scoring": [{"name": "likes", "expr": "mentee.likes == mentor.id or mentor.likes == mentee.id"}]}}))
    assert run_cli("match", folder, "--on", "2027-02-20").exit_code == 0
    first = {tuple(sorted(p)) for p in _pairs(folder)}
    assert first == {("P1", "P2"), ("P3", "P4")}
    # P1 – P2 end (both to be rematched); P5 and P6 join and like P1 and P2 best
    result = run_cli("end", folder, "P2", "P1", "--reason", "not-a-fit", "--on", "2027-03-10", "--rematch")
    assert result.exit_code == 0, result.output
    with open(folder / "participants.csv", "a") as handle:
        handle.write("P5,Eve,p5@x.org,P1\nP6,Fay,p6@x.org,P2\n")
    result = run_cli("match", folder, "--on", "2027-03-15")
    assert result.exit_code == 0, result.output
    second = {tuple(sorted(p)) for p in _pairs(folder)}
    assert ("P3", "P4") in second                      # kept
    assert ("P1", "P2") not in second                  # never repeated
    assert {p for pair in second for p in pair} == {"P1", "P2", "P3", "P4", "P5", "P6"}
    matched_on = {tuple(sorted((r["mentee_id"], r["mentor_id"]))): r["matched_on"] for r in _rows(folder, "matches.csv")}
    assert matched_on[("P3", "P4")] == "2027-03-01"
    assert set(matched_on.values()) == {"2027-03-01", "2027-03-15"}
    # a third match changes nothing: every current pair is kept, nobody is waiting
    assert run_cli("match", folder, "--on", "2027-03-20").exit_code == 0
    assert {tuple(sorted(p)) for p in _pairs(folder)} == second
    starts = [r for r in (folder / "relationships.csv").read_text().splitlines() if ",start," in r]
    assert starts == ["2027-03-01,start,P1,P2,,,from matches.csv", "2027-03-01,start,P3,P4,,,from matches.csv",
                      "2027-03-15,start,P1,P5,,,", "2027-03-15,start,P2,P6,,,"]
    # P3 – P4 end too, both to be rematched: with nobody else free they wait, and are not paired again
    assert run_cli("end", folder, "P4", "P3", "--reason", "no-show", "--on", "2027-03-21", "--rematch").exit_code == 0
    result = run_cli("match", folder, "--on", "2027-03-22")
    assert result.exit_code == 0, result.output
    assert {tuple(sorted(p)) for p in _pairs(folder)} == {("P1", "P5"), ("P2", "P6")}
    waiting = [(r["participant_id"], r["role"], r["waitlist_position"]) for r in _rows(folder, "unmatched.csv")]
    assert waiting == [("P3", "participant", "1"), ("P4", "participant", "2")]


def test_a_match_that_fails_writes_nothing_to_the_relationships_log(small_programme, run_cli):
    folder = small_programme(
        "failing", "id,name,email\nM1,Ann,m1@x.org\nM2,Bob,m2@x.org\n",
        "id,name,email\nE1,Eve,e1@x.org\nE2,Fay,e2@x.org\nE3,Gil,e3@x.org\n", matching={"mentor_capacity": 1})
    assert run_cli("match", folder, "--on", "2027-02-20").exit_code == 0    # one mentee left unmatched
    left = {r["participant_id"] for r in _rows(folder, "unmatched.csv")}
    (mentee, mentor), = [(r["mentee_id"], r["mentor_id"]) for r in _rows(folder, "matches.csv")][:1]
    assert run_cli("end", folder, mentee, mentor, "--reason", "no-show", "--on", "2027-03-10").exit_code == 0
    before = (folder / "relationships.csv").read_bytes()
    (folder / "keep.csv").write_text("mentee_id,mentor_id\nE9,M9\n")    # refers to nobody: the match stops
    failed = run_cli("match", folder, "--on", "2027-03-15", "--keep", folder / "keep.csv")
    assert failed.exit_code == 2 and "E9" in failed.output
    assert (folder / "relationships.csv").read_bytes() == before        # no waitlist row carried over
    assert run_cli("match", folder, "--on", "2027-03-15").exit_code == 0
    log = (folder / "relationships.csv").read_text()
    assert all(f"waitlist,{who},,,,from unmatched.csv" in log for who in left)


def test_people_design_eligibility_excludes_are_never_waitlisted_or_reminded(small_programme, run_cli):
    # E2 has not consented: design.eligibility keeps her out; she must not wait, nor get the survey
    folder = small_programme(
        "consent", "id,name,email\nM1,Ann,m1@x.org\nM2,Bob,m2@x.org\n",
        "id,name,email,consent,likes\nE1,Eve,e1@x.org,Yes,M1\nE2,Fay,e2@x.org,No,M1\nE3,Gil,e3@x.org,Yes,M2\n",
        design={"start_date": "2027-03-01", "eligibility": {"mentees": ['mentee.consent == "Yes"']}},
        matching={"mentor_capacity": 1, "scoring": [{"name": "likes", "expr": "mentee.likes == mentor.id"}]},
        reminders=[{"id": "survey", "at": "week 2", "to": "everyone", "template": "survey.md.j2"}],
        email={"from": "coordinator@x.org"})
    note = "1 mentee excluded by design.eligibility (mentees.csv rows 3)"
    validated = run_cli("validate", folder)
    assert validated.exit_code == 0 and validated.stderr.count(note) == 1, validated.output
    first = run_cli("match", folder, "--on", "2027-02-20")
    assert first.exit_code == 0 and note in first.stderr, first.output
    assert _pairs(folder) == {("E1", "M1"), ("E3", "M2")}
    assert run_cli("end", folder, "E1", "M1", "--reason", "not-a-fit", "--on", "2027-03-10", "--rematch"
                   ).exit_code == 0
    result = run_cli("match", folder, "--on", "2027-03-15")
    assert result.exit_code == 0, result.output
    assert _pairs(folder) == {("E3", "M2")}   # E1 may not meet M1 again; E2 is not eligible
    unmatched = {r["participant_id"]: r for r in _rows(folder, "unmatched.csv")}
    assert unmatched["E1"]["waitlist_position"] == "1"
    assert unmatched["E2"]["waitlist_position"] == "" and unmatched["E2"]["waiting_since"] == ""
    assert unmatched["E2"]["reason"].startswith("not eligible for the programme")
    assert ",waitlist,E2," not in (folder / "relationships.csv").read_text()
    remind = run_cli("remind", folder, "--dry-run", "--details", "--now", "2027-03-08T10:00")
    assert remind.exit_code == 0, remind.output
    assert "Eve" in remind.stdout and "Gil" in remind.stdout and "Fay" not in remind.stdout


def _running_with_edited_matches(small_programme, run_cli, edited: str):
    """A running programme (E1 – M1 ended) whose out/matches.csv the coordinator then replaced by hand."""
    folder = small_programme(
        "edited", "id,name,email\nM1,Ann Lee,m1@x.org\nM2,Bob Ray,m2@x.org\nM3,Cy Zu,m3@x.org\n",
        "id,name,email\nE1,Eve,e1@x.org\nE2,Fay,e2@x.org\nE3,Gil,e3@x.org\n", matching={"mentor_capacity": 1})
    (folder / "out").mkdir()
    (folder / "out" / "matches.csv").write_text("mentee_id,mentor_id,score\nE1,M1,1\nE2,M2,1\n")
    assert run_cli("end", folder, "E1", "M1", "--reason", "not-a-fit", "--on", "2027-03-10").exit_code == 0
    (folder / "out" / "matches.csv").write_text(edited)
    return folder


def test_a_mentor_named_by_name_in_an_edited_matches_file_is_logged_by_id(small_programme, run_cli):
    folder = _running_with_edited_matches(small_programme, run_cli,
                                          "mentee_id,mentor_id,score\nE2,M2,1\nE3, cy zu ,\n")
    result = run_cli("match", folder, "--on", "2027-03-15", "--force")
    assert result.exit_code == 0, result.output
    assert "no longer on the roster" not in result.output
    log = (folder / "relationships.csv").read_text().splitlines()
    assert "2027-03-01,start,E3,M3,,,from matches.csv" in log
    assert not any("cy zu" in row.casefold() for row in log)
    assert ("E3", "M3") in _pairs(folder)
    assert run_cli("validate", folder).exit_code == 0


def test_a_pair_naming_nobody_in_an_edited_matches_file_stops_the_match_and_writes_nothing(small_programme,
                                                                                            run_cli):
    folder = _running_with_edited_matches(small_programme, run_cli,
                                          "mentee_id,mentor_id,score\nE2,M2,1\nE3,M9,\n")
    before = (folder / "relationships.csv").read_bytes()
    result = run_cli("match", folder, "--on", "2027-03-15", "--force")
    assert result.exit_code == 2
    assert ("'M9' is on no roster (the pair E3 – M9 in matches.csv: fix the id there, add the person to the "
            "roster or end the pair") in result.stderr
    assert "Traceback" not in result.output
    assert (folder / "relationships.csv").read_bytes() == before
    assert run_cli("validate", folder).exit_code == 0      # the programme is not left broken


def test_a_mentee_given_another_mentor_by_hand_is_told_to_end_the_old_pair(small_programme, run_cli):
    folder = _running_with_edited_matches(small_programme, run_cli,   # `end` logged E2 – M2's start too
                                          "mentee_id,mentor_id,score\nE2,M3,1\n")
    assert "2027-03-01,start,E2,M2,,,from matches.csv" in (folder / "relationships.csv").read_text()
    result = run_cli("match", folder, "--on", "2027-03-15", "--force")
    assert result.exit_code == 3
    assert ("matches.csv: pair E2 – M3, not in relationships.csv (to give a mentee another mentor, end the old "
            "pair first: `mentorctl end`)") in result.stderr
    assert "relationships.csv: current pair E2 – M2" in result.stderr


def test_closure_messages_name_their_recipient_in_remind_json(programme, run_cli):
    import json

    import yaml

    data = yaml.safe_load((programme / "programme.yaml").read_text())
    data["email"] = {"from": "Mentoring <mentoring@example.org>"}
    (programme / "programme.yaml").write_text(yaml.safe_dump(data))
    assert run_cli("end", programme, "E1", "M1", "--reason", "completed", "--on", "2027-04-01").exit_code == 0
    result = run_cli("remind", programme, "--now", "2027-04-02", "--json")
    assert result.exit_code == 0, result.output
    closures = {m["to"]: m["name"] for m in json.loads(result.stdout)["messages"] if m["reminder"] == "closure"}
    assert closures == {"E1": "Eve", "M1": "Ann"}


def test_a_closure_greets_by_first_name_as_the_welcome_pack_does(small_programme, run_cli):
    import email
    import email.policy

    folder = small_programme("greet", "id,name,first_name,email\nM1,Ann Lee,Ann,m1@x.org\n",
                             "id,name,first_name,email\nE1,Eve Stone,Eve,e1@x.org\n",
                             email={"from": "Mentoring <mentoring@example.org>"})
    (folder / "out").mkdir()
    (folder / "out" / "matches.csv").write_text("mentee_id,mentor_id,score\nE1,M1,1\n")
    assert run_cli("end", folder, "E1", "M1", "--reason", "completed", "--on", "2027-04-01").exit_code == 0
    assert run_cli("remind", folder, "--now", "2027-04-02").exit_code == 0
    texts = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default).get_body(("plain",)).get_content()
             for p in (folder / "out" / "outbox").glob("*.eml")]
    assert len(texts) == 2
    assert any("Hello Eve," in t for t in texts) and any("Hello Ann," in t for t in texts)
    assert not any("Hello Eve Stone" in t or "Hello Ann Lee" in t for t in texts)


def test_both_people_of_an_ended_peer_pair_get_their_closure_once(tmp_path, run_cli, smtp_server):
    import yaml

    folder = tmp_path / "peers"
    folder.mkdir()
    (folder / "participants.csv").write_text("id,name,email\nP1,Ann,p1@x.org\nP2,Bob,p2@x.org\n")
    data = {"programme": {"name": "peers"}, "design": {"type": "peer", "start_date": "2027-03-01"},
            "rosters": {"participants": "participants.csv"}}
    data.update(yaml.safe_load(smtp_server.yaml_block()))
    (folder / "programme.yaml").write_text(yaml.safe_dump(data))
    assert run_cli("match", folder, "--on", "2027-02-20").exit_code == 0
    (mentee, mentor), = _pairs(folder)
    assert run_cli("end", folder, mentee, mentor, "--reason", "completed", "--on", "2027-04-01").exit_code == 0
    preview = run_cli("remind", folder, "--now", "2027-04-02")
    assert preview.exit_code == 0, preview.output
    assert len(list((folder / "out" / "outbox").glob("closure-*.eml"))) == 2   # one file each, none overwritten
    for _ in range(2):   # a second run sends nothing again
        assert run_cli("remind", folder, "--now", "2027-04-02", "--send").exit_code == 0
    closures = [m["To"] for m in smtp_server.messages if "relationship" in m["Subject"].lower()]
    assert sorted(closures) == ["Ann <p1@x.org>", "Bob <p2@x.org>"]


def test_reminders_greet_by_first_name_as_the_welcome_pack_does(small_programme, run_cli):
    import email
    import email.policy

    folder = small_programme("greet", "id,name,known as,email\nM1,Ann Lee,Annie,m1@x.org\n",
                             "id,name,known as,email\nE1,Siobhán Murphy,Shiv,e1@x.org\n",
                             rosters={"mentors": {"path": "mentors.csv", "columns": {"first_name": "known as"}},
                                      "mentees": {"path": "mentees.csv", "columns": {"first_name": "known as"}}},
                             email={"from": "Mentoring <mentoring@example.org>"},
                             reminders=[{"id": "checkin", "every": "2w", "to": "pairs", "template": "checkin.md.j2"}])
    (folder / "out").mkdir()
    (folder / "out" / "matches.csv").write_text("mentee_id,mentor_id,score\nE1,M1,1\n")
    assert run_cli("remind", folder, "--now", "2027-03-16").exit_code == 0
    texts = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default).get_body(("plain",)).get_content()
             for p in (folder / "out" / "outbox").glob("*.eml")]
    assert len(texts) == 2
    assert any("Hello Shiv," in t for t in texts) and any("Hello Annie," in t for t in texts)


def test_explain_never_offers_a_pair_that_ended(small_programme, run_cli):
    folder = small_programme("ended", "id,name,email\nM1,Ann,m1@x.org\nM2,Bob,m2@x.org\n",
                             "id,name,email\nE1,Eve,e1@x.org\nE2,Fay,e2@x.org\n", matching={"mentor_capacity": 1})
    assert run_cli("match", folder, "--on", "2027-02-20").exit_code == 0
    (mentor,) = [m for e, m in _pairs(folder) if e == "E1"]
    assert run_cli("end", folder, "E1", mentor, "--reason", "not-a-fit", "--on", "2027-03-10",
                   "--rematch").exit_code == 0
    import json

    result = run_cli("explain", folder, "E1", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert mentor not in [a["id"] for a in data["alternatives"]]            # ended pairs never repeat
    assert not any(mentor in s for s in data["suggestions"])
    assert {"rule": "matching.forbidden / matching.history / relationships.csv (pairs not allowed, made before "
                    "or ended)", "removes": 1} in data["rule_removals"]
